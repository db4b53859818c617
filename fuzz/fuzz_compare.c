/* fuzz/fuzz_compare.c: the analyst's comparison on any small table.  The input is a CSV file
 * (read strictly); its last column is the target, and a column named "month", when present, is
 * the time column (the last month held out, and the back-test on).  The first byte picks the vote,
 * the calibrator and whether a month column is used.  A small recipe of every member runs with
 * few timing runs.  Promises: compare fails with a status and a message, or writes JSON that
 * parses, has schema_version and a non-empty models array whose entries name a model and give
 * every number as a number or null. */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"

static void check_numbers(const json_t *v, int depth) {
  FUZZ_CHECK(depth < 64);
  if (json_is_real(v)) FUZZ_CHECK(isfinite(json_real_value(v)));
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) check_numbers(x, depth + 1);
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) check_numbers(x, depth + 1);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uint8_t o = data[0];
  const char *path = fuzz_write_temp(data + 1, size - 1);
  if (!path) return 0;
  prop_frame *f = NULL;
  int rc = prop_frame_read_csv(path, NULL, &f);
  fuzz_check_status(rc);
  if (rc) return 0;
  size_t nc = prop_frame_ncols(f);
  if (nc < 2 || prop_frame_nrows(f) > 300) {
    prop_frame_free(f);
    return 0;
  }
  static const char *const vote[3] = {"soft", "logit", "hard"};
  static const char *const calib[3] = {"isotonic", "platt", "none"};
  int v = (o & 3) % 3, cal = ((o >> 2) & 3) % 3;
  char recipe[1024];
  snprintf(recipe, sizeof recipe,
           "{\"name\": \"fuzz-compare\", \"seed\": 1, \"cv_folds\": 2,"
           " \"members\": [{\"name\": \"xgboost\", \"params\": {\"eta\": 0.3, \"max_depth\": 2, \"rounds\": 3}},"
           "  {\"name\": \"random_forest\", \"params\": {\"n_estimators\": 8, \"min_samples_leaf\": 2}},"
           "  {\"name\": \"svc\", \"params\": {\"max_train_rows\": 100}},"
           "  {\"name\": \"decision_tree\", \"params\": {\"max_depth\": 3, \"min_samples_leaf\": 2}},"
           "  {\"name\": \"knn\", \"params\": {\"k\": 3}}, {\"name\": \"logistic\", \"params\": {\"C\": 1.0}}],"
           " \"ensemble\": {\"voting\": \"%s\", \"weights\": \"%s\", \"selection\": \"top_k\", \"k\": 3},"
           " \"calibration\": \"%s\", \"calibration_min_rows\": 5}",
           vote[v], v == 2 ? "equal" : "fit", calib[cal]);
  prop_recipe *r = NULL;
  FUZZ_CHECK(prop_recipe_parse(recipe, "fuzz-compare recipe", &r) == PROP_OK);
  prop_compare_options co;
  prop_compare_options_default(&co);
  co.train.target = prop_frame_colname(f, nc - 1);
  co.train.positive = prop_frame_coltype(f, nc - 1) == PROP_COL_NUMERIC ? NULL : prop_frame_string_value(f, nc - 1, 0);
  co.train.nthread = 1;
  if ((o & 16) && prop_frame_find(f, "month") >= 0 && (size_t)prop_frame_find(f, "month") != nc - 1)
    co.train.time_col = "month";
  co.batch_runs = 1;
  co.latency_runs = 3;
  co.max_curve_points = 10;
  char *json = NULL;
  rc = prop_compare(f, r, &co, &json);
  fuzz_check_status(rc);
  if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "compare: %s\n", rc ? prop_last_error() : "ok");
  FUZZ_CHECK((rc == PROP_OK) == (json != NULL));
  if (json) {
    json_error_t e;
    json_t *root = json_loads(json, 0, &e);
    if (!root) fprintf(stderr, "compare JSON does not parse: %s\n", e.text);
    FUZZ_CHECK(root != NULL);
    FUZZ_CHECK(json_is_integer(json_object_get(root, "schema_version")));
    const json_t *models = json_object_get(root, "models");
    FUZZ_CHECK(json_is_array(models) && json_array_size(models) > 0);
    size_t i;
    json_t *mo;
    json_array_foreach(models, i, mo) FUZZ_CHECK(json_is_string(json_object_get(mo, "name")));
    check_numbers(root, 0);
    json_decref(root);
    free(json);
  }
  prop_recipe_free(r);
  prop_frame_free(f);
  return 0;
}
