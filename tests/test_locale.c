/* The host program's locale: a program that embeds the library may call setlocale() with a locale
 * whose decimal point is a comma.  Reading numbers, the parameters the library hands to XGBoost and
 * so training and scoring must not change.  The test builds a German locale with localedef (Debian's
 * `locales` package has its source) into its own folder and points LOCPATH at it. */
#include "testutil.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

static const char *k_locale = "de_DE.UTF-8";

/* Builds the locale into a temporary folder (LOCPATH); 0 when setlocale can then select it. */
static int use_comma_locale(void) {
  static char dir[1024];
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "%s", tu_path("locales"));
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && localedef -i de_DE -f UTF-8 '%s/%s' >/dev/null 2>&1", dir, dir,
             k_locale);
    if (system(cmd) != 0) {
      print_error("localedef could not build %s (is Debian's locales package installed?)\n", k_locale);
      return -1;
    }
    setenv("LOCPATH", dir, 1);
  }
  if (!setlocale(LC_ALL, k_locale)) {
    print_error("setlocale(LC_ALL, \"%s\") failed with LOCPATH=%s\n", k_locale, dir);
    return -1;
  }
  return 0;
}

static void test_parse_numbers(void **state) {
  (void)state;
  assert_int_equal(use_comma_locale(), 0);
  assert_string_equal(localeconv()->decimal_point, ","); /* the hazard is real in this process */
  double v;
  assert_int_equal(pp_parse_double("1.5", &v), 0);
  assert_true(v == 1.5);
  assert_int_equal(pp_parse_double(" -2.5e3 ", &v), 0);
  assert_true(v == -2500.0);
  assert_int_equal(pp_parse_double(".5", &v), 0);
  assert_true(v == 0.5);
  assert_int_equal(pp_parse_double("5.", &v), 0);
  assert_true(v == 5.0);
  assert_int_equal(pp_parse_double("+1E-2", &v), 0);
  assert_true(v == 0.01);
  assert_int_equal(pp_parse_double("Infinity", &v), 0);
  assert_true(isinf(v) && v > 0);
  assert_int_equal(pp_parse_double("-inf", &v), 0);
  assert_true(isinf(v) && v < 0);
  assert_int_equal(pp_parse_double("NaN", &v), 0);
  assert_true(isnan(v));
  const char *not_numbers[] = {"1,5", "0x1A", "0X1p3", "nan(1)", "e5", "1e", "1e+", ".", "-", "", "  ", "1.5x",
                               "1 5", "infinit", "--1"};
  for (size_t i = 0; i < sizeof not_numbers / sizeof *not_numbers; i++) {
    if (pp_parse_double(not_numbers[i], &v) == 0) print_error("'%s' read as %g\n", not_numbers[i], v);
    assert_int_equal(pp_parse_double(not_numbers[i], &v), -1);
  }
  char buf[64];
  pp_snprintf_c(buf, sizeof buf, "%.17g", 0.05);
  assert_string_equal(buf, "0.050000000000000003");
  char *end;
  assert_true(pp_strtod_c("0.25 rest", &end) == 0.25);
  assert_string_equal(end, " rest");
  setlocale(LC_ALL, "C");
}

/* A CSV of n rows: x1 with decimals, x2 in exponent form, a category, a 0/1 target. */
static const char *write_data(size_t n) {
  const char *p = tu_path("decimals.csv");
  FILE *fp = fopen(p, "w");
  assert_non_null(fp);
  fprintf(fp, "x1,x2,c,y\n");
  uint64_t st = 11;
  for (size_t i = 0; i < n; i++) {
    double a = tu_normal(&st), b = tu_normal(&st);
    int y = a + 0.5 * b + 0.7 * tu_normal(&st) > 0.3;
    /* decimals written by hand: the C library's %f would follow the locale, and this is the C one */
    fprintf(fp, "%.4f,%.3e,%s,%d\n", a, b, (i % 3) ? "p" : "q", y);
  }
  fclose(fp);
  return p;
}

/* Read, train (xgboost with a fractional eta, logistic, isotonic calibration) and predict. */
static double *train_and_predict(const char *path, size_t n) {
  prop_csv_options co;
  prop_csv_options_default(&co);
  prop_frame *f = NULL;
  tu_expect_rc(prop_frame_read_csv(path, &co, &f), 0, NULL);
  assert_int_equal(prop_frame_column_type(f, (size_t)prop_frame_find(f, "x1")), PROP_COL_NUMERIC);
  assert_int_equal(prop_frame_column_type(f, (size_t)prop_frame_find(f, "x2")), PROP_COL_NUMERIC);
  prop_recipe *r = NULL;
  tu_expect_rc(prop_recipe_parse("{\"cv_folds\": 3, \"members\": ["
                                 "{\"name\": \"xgboost\", \"params\": {\"eta\": 0.3, \"rounds\": 20, \"max_depth\": 3,"
                                 " \"subsample\": 0.8}},"
                                 "{\"name\": \"logistic\", \"params\": {\"C\": 0.5}}],"
                                 " \"ensemble\": {\"selection\": \"all\"}, \"calibration\": \"isotonic\"}",
                                 "locale recipe", &r),
               0, NULL);
  prop_train_options t;
  prop_train_options_default(&t);
  t.target = "y";
  t.nthread = 1;
  prop_model *m = NULL;
  tu_expect_rc(prop_model_train(f, r, &t, &m), 0, NULL);
  double *p = tu_xmalloc(n * sizeof *p);
  tu_expect_rc(prop_model_predict_frame(m, f, p, NULL, NULL, NULL), 0, NULL);
  prop_model_free(m);
  prop_recipe_free(r);
  prop_frame_free(f);
  return p;
}

static void test_training_is_locale_free(void **state) {
  (void)state;
  const size_t n = 600;
  setlocale(LC_ALL, "C"); /* the test writes its file with fprintf */
  const char *path = write_data(n);
  double *p_c = train_and_predict(path, n);
  assert_int_equal(use_comma_locale(), 0);
  double *p_de = train_and_predict(path, n);
  setlocale(LC_ALL, "C");
  assert_memory_equal(p_c, p_de, n * sizeof *p_c); /* the same bits */
  double lo = 1, hi = 0;
  for (size_t i = 0; i < n; i++) {
    lo = fmin(lo, p_c[i]);
    hi = fmax(hi, p_c[i]);
  }
  assert_true(hi - lo > 0.5); /* a model that learnt something (eta read as 0 would not) */
  free(p_c);
  free(p_de);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_numbers),
      cmocka_unit_test(test_training_is_locale_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
