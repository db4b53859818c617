/* fuzz/fuzz_score.c: scoring a call list.  A small model of every member is trained once, on demo
 * rows (about a second); the input is the call list CSV, read in chunks by the streaming reader
 * for that model, as `propensity score` reads it.  Promises: the reader fails with a status and a
 * message, or hands out rows whose numbers increase by at least one; scoring a chunk gives every
 * row a probability in [0, 1] and a band, or NaN, band 0 and a status, never a skipped row; a row
 * without a read error and with only finite numbers is scored, and the single-row scorer agrees. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <propensity.h>

#include "fuzz.h"

static prop_model *g_model;

static const char k_recipe[] =
    "{\"name\": \"fuzz-score\", \"seed\": 3, \"cv_folds\": 3,"
    " \"members\": [{\"name\": \"xgboost\", \"params\": {\"eta\": 0.3, \"max_depth\": 2, \"rounds\": 4}},"
    "  {\"name\": \"random_forest\", \"params\": {\"n_estimators\": 9, \"min_samples_leaf\": 20}},"
    "  {\"name\": \"svc\", \"params\": {\"max_train_rows\": 60}},"
    "  {\"name\": \"decision_tree\", \"params\": {\"max_depth\": 3, \"min_samples_leaf\": 20}},"
    "  {\"name\": \"knn\", \"params\": {\"k\": 5}}, {\"name\": \"logistic\", \"params\": {\"C\": 1.0}}],"
    " \"ensemble\": {\"voting\": \"logit\", \"weights\": \"equal\", \"selection\": \"all\"},"
    " \"calibration\": \"isotonic\"}";

static prop_model *train_once(void) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/propensity-fuzz-train-%ld.csv", (long)getpid());
  prop_demo_options d;
  prop_demo_options_default(&d);
  d.customers_per_month = 200;
  d.months = 2;
  prop_frame *f = NULL;
  prop_recipe *r = NULL;
  prop_model *m = NULL;
  static const char *const ignore[] = {"month", "connected", "installment_amount"};
  prop_train_options to;
  prop_train_options_default(&to);
  to.target = "accepted";
  to.id = "customer_id";
  to.ignore = ignore;
  to.n_ignore = 3;
  to.nthread = 1;
  if (prop_demo_write_csv(path, &d) || prop_frame_read_csv(path, NULL, &f) ||
      prop_recipe_parse(k_recipe, "fuzz-score recipe", &r) || prop_model_train(f, r, &to, &m)) {
    fprintf(stderr, "fuzz_score: cannot train its model: %s\n", prop_last_error());
    abort();
  }
  remove(path);
  prop_frame_free(f);
  prop_recipe_free(r);
  return m;
}

static void score_chunk(const prop_frame *c, prop_scorer *s) {
  size_t n = prop_frame_nrows(c), d = prop_model_n_inputs(g_model);
  double *p = malloc(n * sizeof *p), *row = malloc(d * sizeof *row), *col = malloc(n * sizeof *col);
  int *b = malloc(n * sizeof *b), *st = malloc(n * sizeof *st);
  FUZZ_CHECK(p && row && col && b && st);
  for (size_t i = 0; i < n; i++) p[i] = -7, b[i] = -7, st[i] = -7; /* every row must be written */
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = 1;
  int rc = prop_model_predict_frame(g_model, c, p, b, st, &po);
  fuzz_check_status(rc);
  FUZZ_CHECK(rc == PROP_OK); /* the model's columns are all in the frame: only rows can fail */
  size_t nb = prop_model_n_bands(g_model);
  for (size_t i = 0; i < n; i++) {
    if (st[i] == PROP_OK) {
      FUZZ_CHECK(p[i] >= 0 && p[i] <= 1 && b[i] >= 1 && (size_t)b[i] <= nb);
    } else {
      FUZZ_CHECK(st[i] < 0 && st[i] >= PROP_ERR_RANGE && isnan(p[i]) && b[i] == 0);
    }
  }
  /* rows the scorer can take: numbers as they are, categories as the model's codes */
  for (size_t i = 0; i < n; i++) {
    if (st[i] != PROP_OK) continue;
    FUZZ_CHECK(prop_frame_row_error(c, i) == NULL);
    for (size_t j = 0; j < d; j++) {
      long k = prop_frame_find(c, prop_model_input_name(g_model, j));
      FUZZ_CHECK(k >= 0);
      if (prop_model_input_type(g_model, j) == PROP_COL_CATEGORICAL) {
        const char *v = prop_frame_string_value(c, (size_t)k, i);
        row[j] = v ? prop_model_category_code(g_model, j, v) : NAN;
      } else {
        FUZZ_CHECK(prop_frame_numeric_values(c, (size_t)k, col) == PROP_OK);
        row[j] = col[i];
      }
    }
    double p1;
    int b1;
    FUZZ_CHECK(prop_scorer_score(s, row, &p1, &b1) == PROP_OK);
    FUZZ_CHECK(memcmp(&p1, &p[i], sizeof p1) == 0 && b1 == b[i]);
  }
  free(p);
  free(row);
  free(col);
  free(b);
  free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_model) g_model = train_once();
  const char *path = fuzz_write_temp(data, size);
  if (!path) return 0;
  prop_reader *r = NULL;
  int rc = prop_reader_open_for_model(path, g_model, NULL, &r);
  fuzz_check_status(rc);
  FUZZ_CHECK((rc == PROP_OK) == (r != NULL));
  if (!r) return 0;
  prop_scorer *s = NULL;
  FUZZ_CHECK(prop_scorer_create(g_model, &s) == PROP_OK);
  size_t last = 0;
  for (;;) {
    prop_frame *c = NULL;
    rc = prop_reader_next(r, 7, &c); /* small chunks: rows cross chunk boundaries */
    fuzz_check_status(rc);
    if (rc != PROP_OK || !c) {
      FUZZ_CHECK(c == NULL);
      break;
    }
    FUZZ_CHECK(prop_frame_nrows(c) >= 1 && prop_frame_nrows(c) <= 7);
    for (size_t i = 0; i < prop_frame_nrows(c); i++) {
      FUZZ_CHECK(prop_frame_row_number(c, i) > last);
      last = prop_frame_row_number(c, i);
    }
    score_chunk(c, s);
    prop_frame_free(c);
  }
  prop_scorer_free(s);
  prop_reader_free(r);
  return 0;
}
