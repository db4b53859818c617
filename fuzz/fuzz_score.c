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
    FUZZ_CHECK(prop_frame_n_rows(c) >= 1 && prop_frame_n_rows(c) <= 7);
    for (size_t i = 0; i < prop_frame_n_rows(c); i++) {
      FUZZ_CHECK(prop_frame_row_number(c, i) > last);
      last = prop_frame_row_number(c, i);
    }
    fuzz_check_scores(g_model, c, s);
    prop_frame_free(c);
  }
  prop_scorer_free(s);
  prop_reader_free(r);
  return 0;
}
