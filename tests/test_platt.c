/* Platt scaling (lib/calibrate/platt.c): recovery of known parameters, monotonicity, overflow-free
 * evaluation, degenerate inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate/calibrate.h"
#include "testutil.h"

/* n scores uniform in [-4, 4] with labels drawn from the sigmoid (A, B). */
static void sample(size_t n, double A, double B, uint64_t seed, double *f, float *y) {
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++) {
    f[i] = -4.0 + 8.0 * tu_uniform(&st);
    double p = 1.0 / (1.0 + exp(A * f[i] + B));
    y[i] = tu_uniform(&st) < p ? 1.0f : 0.0f;
  }
}

static void test_recovers_known_parameters(void **state) {
  (void)state;
  const size_t n = 40000;
  double *f = tu_xmalloc(n * sizeof *f);
  float *y = tu_xmalloc(n * sizeof *y);
  const double cases[3][2] = {{-1.5, 0.4}, {-0.5, -1.0}, {2.0, 0.0}};
  for (int c = 0; c < 3; c++) {
    sample(n, cases[c][0], cases[c][1], 11 + (uint64_t)c, f, y);
    double A = 0, B = 0;
    assert_int_equal(pp_platt_fit(f, y, n, &A, &B), 0);
    assert_true(fabs(A - cases[c][0]) < 0.06);
    assert_true(fabs(B - cases[c][1]) < 0.06);
  }
  free(f);
  free(y);
}

static void test_monotone_and_bounded(void **state) {
  (void)state;
  const size_t n = 5000;
  double *f = tu_xmalloc(n * sizeof *f);
  float *y = tu_xmalloc(n * sizeof *y);
  sample(n, -2.0, 0.3, 5, f, y);
  double A, B;
  assert_int_equal(pp_platt_fit(f, y, n, &A, &B), 0);
  assert_true(A < 0); /* higher score, higher P(y=1) */
  double prev = -1;
  for (int k = -400; k <= 400; k++) {
    double p = pp_platt_apply(A, B, k * 0.05);
    assert_true(p >= 0.0 && p <= 1.0);
    assert_true(p >= prev);
    prev = p;
  }
  assert_true(pp_platt_apply(A, B, -20) < pp_platt_apply(A, B, 20));
  free(f);
  free(y);
}

static void test_apply_no_overflow(void **state) {
  (void)state;
  assert_true(pp_platt_apply(-1.0, 0.0, 0.0) == 0.5);
  double extremes[] = {1e300, -1e300, 800, -800, 1e-300};
  for (size_t i = 0; i < sizeof extremes / sizeof *extremes; i++) {
    double p = pp_platt_apply(-3.0, 1.0, extremes[i]);
    assert_false(isnan(p));
    assert_true(p >= 0.0 && p <= 1.0);
  }
  assert_true(pp_platt_apply(-1.0, 0.0, 1e300) == 1.0);
  assert_true(pp_platt_apply(-1.0, 0.0, -1e300) == 0.0);
  /* symmetric: P(f) + P(-f) = 1 for B = 0 */
  assert_true(fabs(pp_platt_apply(-2.0, 0.0, 0.7) + pp_platt_apply(-2.0, 0.0, -0.7) - 1.0) < 1e-15);
}

static void test_separable_scores_stay_finite(void **state) {
  (void)state;
  /* perfectly separated scores: without Platt's smoothed targets A would run to -infinity */
  double f[40];
  float y[40];
  for (int i = 0; i < 40; i++) {
    y[i] = (float)(i % 2);
    f[i] = y[i] > 0.5f ? 1.0 + 0.01 * i : -1.0 - 0.01 * i;
  }
  double A, B;
  assert_int_equal(pp_platt_fit(f, y, 40, &A, &B), 0);
  assert_true(isfinite(A) && isfinite(B));
  assert_true(A < -1.0);
  assert_true(pp_platt_apply(A, B, 1.0) > 0.9);
  assert_true(pp_platt_apply(A, B, -1.0) < 0.1);
  /* the smoothed targets bound the fitted probabilities away from 0 and 1 at the data */
  assert_true(pp_platt_apply(A, B, 1.0) < 1.0);
}

static void test_deterministic(void **state) {
  (void)state;
  const size_t n = 3000;
  double *f = tu_xmalloc(n * sizeof *f);
  float *y = tu_xmalloc(n * sizeof *y);
  sample(n, -1.0, 0.5, 99, f, y);
  double A1, B1, A2, B2;
  assert_int_equal(pp_platt_fit(f, y, n, &A1, &B1), 0);
  assert_int_equal(pp_platt_fit(f, y, n, &A2, &B2), 0);
  assert_memory_equal(&A1, &A2, sizeof A1);
  assert_memory_equal(&B1, &B2, sizeof B1);
  free(f);
  free(y);
}

static void test_errors(void **state) {
  (void)state;
  double f[4] = {0.1, 0.2, 0.3, 0.4};
  float y1[4] = {1, 1, 1, 1}, y0[4] = {0, 0, 0, 0}, y[4] = {0, 1, 0, 1};
  double A = 7, B = 7;
  assert_int_equal(pp_platt_fit(f, y1, 4, &A, &B), PROP_ERR_TRAIN);
  assert_int_equal(pp_platt_fit(f, y0, 4, &A, &B), PROP_ERR_TRAIN);
  assert_int_equal(pp_platt_fit(f, y, 0, &A, &B), PROP_ERR_TRAIN);
  double bad[4] = {0.1, NAN, 0.3, 0.4};
  assert_int_equal(pp_platt_fit(bad, y, 4, &A, &B), PROP_ERR_VALUE);
  assert_int_equal(pp_platt_fit(NULL, y, 4, &A, &B), PROP_ERR_ARG);
  assert_true(A == 7 && B == 7); /* outputs untouched on failure */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_recovers_known_parameters), cmocka_unit_test(test_monotone_and_bounded),
      cmocka_unit_test(test_apply_no_overflow),         cmocka_unit_test(test_separable_scores_stay_finite),
      cmocka_unit_test(test_deterministic),             cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
