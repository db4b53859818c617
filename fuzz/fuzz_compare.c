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
  prop_frame *f = fuzz_read_table(data, size, 300);
  if (!f) return 0;
  uint8_t o = data[0];
  size_t nc = prop_frame_n_columns(f);
  prop_recipe *r = fuzz_small_recipe(o, "\"selection\": \"top_k\", \"k\": 3");
  prop_compare_options co;
  prop_compare_options_default(&co);
  prop_train_options to;
  prop_train_options_default(&to);
  co.train = &to;
  to.target = prop_frame_column_name(f, nc - 1);
  to.positive = prop_frame_column_type(f, nc - 1) == PROP_COL_NUMERIC ? NULL : prop_frame_string_value(f, nc - 1, 0);
  to.nthread = 1;
  if ((o & 16) && prop_frame_find(f, "month") >= 0 && (size_t)prop_frame_find(f, "month") != nc - 1)
    to.time_col = "month";
  co.batch_runs = 1;
  co.latency_runs = 3;
  co.max_curve_points = 10;
  char *json = NULL;
  int rc = prop_compare(f, r, &co, &json);
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
