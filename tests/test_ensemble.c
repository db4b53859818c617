/* lib/ensemble: the soft/hard vote against hand computations and the two weight fits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "pipeline/pipeline.h"
#include "testutil.h"

static void test_vote_by_hand(void **state) {
  (void)state;
  pp_fitted_member mem[3] = {{NULL, NULL, 0.5}, {NULL, NULL, 0.3}, {NULL, NULL, 0.2}};
  prop_model m;
  memset(&m, 0, sizeof m);
  m.mem = mem;
  m.nmem = 3;
  const double p[3] = {0.9, 0.4, 0.6};
  m.voting = PP_VOTE_SOFT; /* 0.45 + 0.12 + 0.12 */
  tu_assert_close(pp_ensemble_combine(&m, p), 0.69, 1e-15);
  m.voting = PP_VOTE_HARD; /* votes 1, 0, 1 -> 0.5 + 0.2 */
  tu_assert_close(pp_ensemble_combine(&m, p), 0.7, 1e-15);
  /* unnormalised weights are normalised */
  mem[0].weight = 5;
  mem[1].weight = 3;
  mem[2].weight = 2;
  m.voting = PP_VOTE_SOFT;
  tu_assert_close(pp_ensemble_combine(&m, p), 0.69, 1e-15);
}

/* Member 0 ranks perfectly but its probabilities all sit in [0.90, 0.95]; member 1 is noise centred on the
 * base rate.  The AUC fit gives member 0 all the weight; the log-loss fit prefers the well-scaled noise. */
static void test_auc_fit_ignores_scale(void **state) {
  (void)state;
  enum { N = 2000 };
  double *P = malloc(2 * N * sizeof *P);
  int *y = malloc(N * sizeof *y);
  uint64_t st = 3;
  for (size_t i = 0; i < N; i++) {
    y[i] = tu_uniform(&st) < 0.1;
    P[2 * i] = 0.90 + 0.05 * (y[i] ? 0.5 + 0.5 * tu_uniform(&st) : 0.5 * tu_uniform(&st));
    P[2 * i + 1] = 0.1 + 0.02 * (tu_uniform(&st) - 0.5);
  }
  double w[2];
  assert_int_equal(pp_fit_vote_weights_auc(P, y, N, 2, 25, w), 0);
  tu_assert_close(w[0], 1.0, 0);
  tu_assert_close(w[1], 0.0, 0);
  assert_int_equal(pp_fit_vote_weights(P, y, N, 2, w), 0);
  assert_true(w[1] > w[0]); /* why the log-loss fit is wrong when a calibrator follows */
  tu_assert_close(w[0] + w[1], 1.0, 1e-12);
  free(P);
  free(y);
}

/* Member 0 is informative but under-confident (it says 0.6 / 0.05 where the rates are 0.65 / 0.04); member 1 is
 * constant 0.5.  Moving weight to member 1 makes the vote less confident still, so the log-loss optimum is the
 * corner w = (1, 0) with a non-zero gradient there.  Exponentiated gradient only approaches that corner; the fit
 * must put exactly 0 on member 1 (so the model does not score it) and 1 on member 0.  With a second useful
 * member, both keep weights above the threshold.  (Were member 0 perfectly calibrated, every mixture direction
 * would be flat to first order at the corner and the test would not say much.) */
static void test_logloss_fit_drops_useless_member(void **state) {
  (void)state;
  enum { N = 4000 };
  double *P = malloc(2 * N * sizeof *P);
  int *y = malloc(N * sizeof *y);
  uint64_t st = 11;
  for (size_t i = 0; i < N; i++) {
    int hi = tu_uniform(&st) < 0.3;
    y[i] = tu_uniform(&st) < (hi ? 0.65 : 0.04);
    P[2 * i] = hi ? 0.6 : 0.05;
    P[2 * i + 1] = 0.5;
  }
  double w[2];
  assert_int_equal(pp_fit_vote_weights(P, y, N, 2, w), 0);
  assert_true(w[1] == 0.0);
  assert_true(w[0] == 1.0);
  /* member 1 now an independent, equally good view: both kept, each above the threshold */
  for (size_t i = 0; i < N; i++) P[2 * i + 1] = P[2 * i] * (0.9 + 0.2 * tu_uniform(&st));
  assert_int_equal(pp_fit_vote_weights(P, y, N, 2, w), 0);
  assert_true(w[0] >= PP_VOTE_MIN_WEIGHT && w[1] >= PP_VOTE_MIN_WEIGHT);
  tu_assert_close(w[0] + w[1], 1.0, 1e-12);
  free(P);
  free(y);
}

/* Two members with independent noise around the same signal: the vote of both ranks better than either, and the
 * greedy fit finds a mixture whose AUC is at least the best single member's. */
static void test_auc_fit_mixes_complementary_members(void **state) {
  (void)state;
  enum { N = 4000, K = 3 };
  double *P = malloc(K * N * sizeof *P), col[N], mix[N];
  int *y = malloc(N * sizeof *y);
  uint64_t st = 11;
  for (size_t i = 0; i < N; i++) {
    double z = tu_normal(&st);
    y[i] = tu_uniform(&st) < 1.0 / (1.0 + exp(-(2.0 * z - 2.0)));
    P[i * K + 0] = 1.0 / (1.0 + exp(-(z + tu_normal(&st))));
    P[i * K + 1] = 1.0 / (1.0 + exp(-(z + tu_normal(&st))));
    P[i * K + 2] = tu_uniform(&st); /* useless */
  }
  double w[K], best = 0.0;
  assert_int_equal(pp_fit_vote_weights_auc(P, y, N, K, 25, w), 0);
  double sum = 0.0;
  for (size_t j = 0; j < K; j++) {
    assert_true(w[j] >= 0.0);
    sum += w[j];
    for (size_t i = 0; i < N; i++) col[i] = P[i * K + j];
    double a = pp_auc(col, y, N);
    if (a > best) best = a;
  }
  tu_assert_close(sum, 1.0, 1e-12);
  assert_true(w[0] > 0.2 && w[1] > 0.2);
  assert_true(w[2] < 0.1);
  for (size_t i = 0; i < N; i++) {
    mix[i] = 0.0;
    for (size_t j = 0; j < K; j++) mix[i] += w[j] * P[i * K + j];
  }
  assert_true(pp_auc(mix, y, N) > best + 0.01);
  /* one class only is refused */
  int *ones = malloc(N * sizeof *ones);
  for (size_t i = 0; i < N; i++) ones[i] = 1;
  assert_int_equal(pp_fit_vote_weights_auc(P, ones, N, K, 25, w), PROP_ERR_TRAIN);
  free(ones);
  free(P);
  free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vote_by_hand),
      cmocka_unit_test(test_auc_fit_ignores_scale),
      cmocka_unit_test(test_logloss_fit_drops_useless_member),
      cmocka_unit_test(test_auc_fit_mixes_complementary_members),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
