/* fuzz/common.c: helpers shared by the fuzz targets (see fuzz.h). */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <propensity.h>

#include "fuzz.h"

const char *fuzz_write_temp(const uint8_t *data, size_t size) {
  static char path[64];
  if (!path[0]) snprintf(path, sizeof path, "/tmp/propensity-fuzz-%ld.csv", (long)getpid());
  FILE *fh = fopen(path, "wb");
  if (!fh) return NULL;
  size_t w = size ? fwrite(data, 1, size, fh) : 0;
  if (fclose(fh) != 0 || w != size) return NULL;
  return path;
}

void fuzz_check_status(int rc) {
  FUZZ_CHECK(rc <= PROP_OK && rc >= PROP_ERR_RANGE);
  FUZZ_CHECK(strcmp(prop_strerror(rc), "unknown error") != 0);
  if (rc != PROP_OK) {
    const char *msg = prop_last_error();
    FUZZ_CHECK(msg != NULL && msg[0] != '\0');
  }
}

void fuzz_check_scores(const prop_model *model, const prop_frame *c, prop_scorer *s) {
  size_t n = prop_frame_n_rows(c), d = prop_model_n_inputs(model);
  size_t n1 = n ? n : 1;
  double *p = malloc(n1 * sizeof *p), *X = malloc(n1 * (d ? d : 1) * sizeof *X), *col = malloc(n1 * sizeof *col);
  int *b = malloc(n1 * sizeof *b), *st = malloc(n1 * sizeof *st);
  FUZZ_CHECK(p && X && col && b && st);
  for (size_t i = 0; i < n; i++) p[i] = -7, b[i] = -7, st[i] = -7; /* every row must be written */
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = 1;
  int rc = prop_model_predict_frame(model, c, p, b, st, &po);
  fuzz_check_status(rc);
  FUZZ_CHECK(rc == PROP_OK); /* the model's columns are all in the frame: only rows can fail */
  /* the rows as the scorer takes them: numbers as they are, categories as the model's codes */
  for (size_t j = 0; j < d; j++) {
    long k = prop_frame_find(c, prop_model_input_name(model, j));
    FUZZ_CHECK(k >= 0);
    int cat = prop_model_input_type(model, j) == PROP_COL_CATEGORICAL;
    if (!cat) FUZZ_CHECK(prop_frame_numeric_values(c, (size_t)k, col) == PROP_OK);
    for (size_t i = 0; i < n; i++) {
      const char *v = cat ? prop_frame_string_value(c, (size_t)k, i) : NULL;
      X[i * d + j] = !cat ? col[i] : v ? prop_model_category_code(model, j, v) : NAN;
    }
  }
  size_t nb = prop_model_n_bands(model);
  for (size_t i = 0; i < n; i++) {
    if (st[i] != PROP_OK) {
      FUZZ_CHECK(st[i] < 0 && st[i] >= PROP_ERR_RANGE && isnan(p[i]) && b[i] == 0);
      continue;
    }
    FUZZ_CHECK(p[i] >= 0 && p[i] <= 1 && b[i] >= 1 && (size_t)b[i] <= nb);
    FUZZ_CHECK(prop_frame_row_error(c, i) == NULL);
    double p1;
    int b1;
    FUZZ_CHECK(prop_scorer_score(s, X + i * d, &p1, &b1) == PROP_OK);
    if (memcmp(&p1, &p[i], sizeof p1) != 0 || b1 != b[i])
      fprintf(stderr, "row %zu: batch %.17g band %d, single row %.17g band %d\n", i, p[i], b[i], p1, b1);
    FUZZ_CHECK(memcmp(&p1, &p[i], sizeof p1) == 0 && b1 == b[i]);
  }
  free(p);
  free(X);
  free(col);
  free(b);
  free(st);
}

prop_frame *fuzz_read_table(const uint8_t *data, size_t size, size_t max_rows) {
  if (size < 2) return NULL;
  const char *path = fuzz_write_temp(data + 1, size - 1);
  if (!path) return NULL;
  prop_frame *f = NULL;
  int rc = prop_frame_read_csv(path, NULL, &f);
  fuzz_check_status(rc);
  if (rc) return NULL;
  if (prop_frame_n_columns(f) < 2 || prop_frame_n_rows(f) > max_rows) {
    prop_frame_free(f);
    return NULL;
  }
  return f;
}

prop_recipe *fuzz_small_recipe(uint8_t o, const char *selection) {
  static const char *const vote[3] = {"soft", "logit", "hard"};
  static const char *const calib[3] = {"isotonic", "platt", "none"};
  int v = (o & 3) % 3, cal = ((o >> 2) & 3) % 3;
  char text[1024];
  snprintf(text, sizeof text,
           "{\"name\": \"fuzz\", \"seed\": %d, \"cv_folds\": 2,"
           " \"members\": [{\"name\": \"xgboost\", \"params\": {\"eta\": 0.3, \"max_depth\": 2, \"rounds\": 3}},"
           "  {\"name\": \"random_forest\", \"params\": {\"n_estimators\": 8, \"min_samples_leaf\": 2}},"
           "  {\"name\": \"svc\", \"params\": {\"max_train_rows\": 100}},"
           "  {\"name\": \"decision_tree\", \"params\": {\"max_depth\": 3, \"min_samples_leaf\": 2}},"
           "  {\"name\": \"knn\", \"params\": {\"k\": 3}}, {\"name\": \"logistic\", \"params\": {\"C\": 1.0}}],"
           " \"ensemble\": {\"voting\": \"%s\", \"weights\": \"%s\", %s},"
           " \"calibration\": \"%s\", \"calibration_min_rows\": 5}",
           (o >> 5) & 7, vote[v], v == 2 ? "equal" : "fit", selection, calib[cal]);
  prop_recipe *r = NULL;
  int rc = prop_recipe_parse(text, "fuzz recipe", &r);
  if (rc) fprintf(stderr, "fuzz recipe: %s\n", prop_last_error());
  FUZZ_CHECK(rc == PROP_OK);
  return r;
}
