/* fuzz/fuzz_train.c: training on any small table.  The input is a CSV file (read strictly, as
 * `propensity train` reads it) whose last column is the target; the first byte picks the vote,
 * the calibrator and the seed of a small recipe of every member (fuzz_small_recipe: 2 folds, one
 * thread).  Promises: training fails with a status and a message (one class only, too few rows, a
 * bad target ...) or gives a model that scores its own training rows (every row a probability and
 * a band, or a status; batch and single-row scorer agree), saves, and loads again to the same
 * bits. */
#include <math.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  prop_frame *f = fuzz_read_table(data, size, 400);
  if (!f) return 0;
  size_t nc = prop_frame_n_columns(f);
  const char *target = prop_frame_column_name(f, nc - 1);
  const char *pos = prop_frame_column_type(f, nc - 1) == PROP_COL_NUMERIC ? NULL : prop_frame_string_value(f, nc - 1, 0);
  prop_recipe *r = fuzz_small_recipe(data[0], "\"selection\": \"all\"");
  prop_train_options to;
  prop_train_options_default(&to);
  to.target = target;
  to.positive = pos;
  to.nthread = 1;
  prop_model *m = NULL;
  int rc = prop_model_train(f, r, &to, &m);
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
    size_t n = prop_frame_n_rows(f);
    double *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
    FUZZ_CHECK(p1 && p2);
    FUZZ_CHECK(prop_model_predict_frame(m, f, p1, NULL, NULL, NULL) == PROP_OK);
    FUZZ_CHECK(prop_model_predict_frame(m2, f, p2, NULL, NULL, NULL) == PROP_OK);
    for (size_t i = 0; i < n; i++)
      FUZZ_CHECK((isnan(p1[i]) && isnan(p2[i])) || memcmp(&p1[i], &p2[i], sizeof *p1) == 0);
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
