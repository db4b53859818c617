/* fuzz/fuzz_train.c: training on any small table.  The input is a CSV file (read strictly, as
 * `propensity train` reads it) whose last column is the target; the first byte picks the vote and
 * the calibrator.  A small recipe of every member trains on it (2 folds, one thread).  Promises:
 * training fails with a status and a message (one class only, too few rows, a bad target ...) or
 * gives a model that scores its own training rows (every row a probability and a band, or a
 * status; batch and single-row scorer agree), saves, and loads again to the same bits. */
#include <math.h>
#include <string.h>

#include "fuzz.h"

static const char *const k_vote[3] = {"soft", "logit", "hard"};
static const char *const k_calib[3] = {"isotonic", "platt", "none"};

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
  if (nc < 2 || prop_frame_nrows(f) > 400) { /* keep each run short */
    prop_frame_free(f);
    return 0;
  }
  const char *target = prop_frame_colname(f, nc - 1);
  const char *pos = prop_frame_coltype(f, nc - 1) == PROP_COL_NUMERIC ? NULL : prop_frame_string_value(f, nc - 1, 0);
  char recipe[1024];
  int vote = (o & 3) % 3, calib = ((o >> 2) & 3) % 3;
  snprintf(recipe, sizeof recipe,
           "{\"name\": \"fuzz-train\", \"seed\": %d, \"cv_folds\": 2,"
           " \"members\": [{\"name\": \"xgboost\", \"params\": {\"eta\": 0.3, \"max_depth\": 2, \"rounds\": 3}},"
           "  {\"name\": \"random_forest\", \"params\": {\"n_estimators\": 8, \"min_samples_leaf\": 2}},"
           "  {\"name\": \"svc\", \"params\": {\"max_train_rows\": 100}},"
           "  {\"name\": \"decision_tree\", \"params\": {\"max_depth\": 3, \"min_samples_leaf\": 2}},"
           "  {\"name\": \"knn\", \"params\": {\"k\": 3}}, {\"name\": \"logistic\", \"params\": {\"C\": 1.0}}],"
           " \"ensemble\": {\"voting\": \"%s\", \"weights\": \"%s\", \"selection\": \"all\"},"
           " \"calibration\": \"%s\", \"calibration_min_rows\": 5}",
           (o >> 4) & 7, k_vote[vote], vote == 2 ? "equal" : "fit", k_calib[calib]);
  prop_recipe *r = NULL;
  rc = prop_recipe_parse(recipe, "fuzz-train recipe", &r);
  if (rc) fprintf(stderr, "recipe: %s\n", prop_last_error());
  FUZZ_CHECK(rc == PROP_OK);
  prop_train_options to;
  prop_train_options_default(&to);
  to.target = target;
  to.positive = pos;
  to.nthread = 1;
  prop_model *m = NULL;
  rc = prop_model_train(f, r, &to, &m);
  fuzz_check_status(rc);
  FUZZ_CHECK((rc == PROP_OK) == (m != NULL));
  if (m) {
    prop_scorer *s = NULL;
    FUZZ_CHECK(prop_scorer_create(m, &s) == PROP_OK);
    fuzz_check_scores(m, f, s);
    prop_scorer_free(s);
    unsigned char *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(prop_model_save_to_buffer(m, &buf, &len) == PROP_OK);
    prop_model *m2 = NULL;
    rc = prop_model_load_from_buffer(buf, len, &m2);
    if (rc) fprintf(stderr, "reload: %s\n", prop_last_error());
    FUZZ_CHECK(rc == PROP_OK);
    size_t n = prop_frame_nrows(f);
    double *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
    FUZZ_CHECK(p1 && p2);
    FUZZ_CHECK(prop_model_predict_frame(m, f, p1, NULL, NULL, NULL) == PROP_OK);
    FUZZ_CHECK(prop_model_predict_frame(m2, f, p2, NULL, NULL, NULL) == PROP_OK);
    for (size_t i = 0; i < n; i++) FUZZ_CHECK((isnan(p1[i]) && isnan(p2[i])) || memcmp(&p1[i], &p2[i], sizeof *p1) == 0);
    free(p1);
    free(p2);
    free(buf);
    prop_model_free(m2);
    prop_model_free(m);
  }
  prop_recipe_free(r);
  prop_frame_free(f);
  return 0;
}
