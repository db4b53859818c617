/* lib/ensemble: the soft/hard/logit votes against hand computations and the three weight fits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "ensemble/vote.h"
#include "testutil.h"

static void test_vote_by_hand(void **state) {
  (void)state;
  pp_vote *v = NULL;
  assert_int_equal(pp_vote_create(PP_VOTE_SOFT, 3, &v), 0);
  assert_int_equal(pp_vote_set_member(v, 0, "a", 0.5), 0);
  assert_int_equal(pp_vote_set_member(v, 1, "b", 0.3), 0);
  assert_int_equal(pp_vote_set_member(v, 2, "c", 0.2), 0);
  double *w = v->weight;
  const double p[3] = {0.9, 0.4, 0.6};
  v->kind = PP_VOTE_SOFT; /* 0.45 + 0.12 + 0.12 */
  tu_assert_close(pp_vote_apply(v, p), 0.69, 1e-15);
  v->kind = PP_VOTE_HARD; /* votes 1, 0, 1 -> 0.5 + 0.2 */
  tu_assert_close(pp_vote_apply(v, p), 0.7, 1e-15);
  /* unnormalised weights are normalised */
  w[0] = 5;
  w[1] = 3;
  w[2] = 2;
  v->kind = PP_VOTE_SOFT;
  tu_assert_close(pp_vote_apply(v, p), 0.69, 1e-15);
  /* logit: 0.5 ln 9 + 0.3 ln(2/3) + 0.2 ln 1.5 = 1.0580657778572933 -> 1 / (1 + e^-s) = 0.7423207... */
  v->kind = PP_VOTE_LOGIT;
  const double s = 0.5 * 2.1972245773362196 - 0.3 * 0.4054651081081644 + 0.2 * 0.4054651081081644;
  tu_assert_close(pp_vote_apply(v, p), 1.0 / (1.0 + exp(-s)), 1e-15);
  tu_assert_close(pp_vote_apply(v, p), 0.74232074, 1e-8);
  /* members that agree give their common probability; opposite log-odds with equal weight give 1/2 */
  const double same[3] = {0.3, 0.3, 0.3}, opposite[2] = {0.8, 0.2};
  tu_assert_close(pp_vote_apply(v, same), 0.3, 1e-15);
  v->n = 2;
  w[0] = w[1] = 1.0;
  tu_assert_close(pp_vote_apply(v, opposite), 0.5, 1e-15);
  /* 0 and 1 are clamped to PP_LOGIT_EPS: finite log-odds of equal size, so they cancel */
  const double ends[2] = {0.0, 1.0};
  tu_assert_close(pp_vote_logit(0.0), log(PP_LOGIT_EPS / (1.0 - PP_LOGIT_EPS)), 1e-12);
  tu_assert_close(pp_vote_logit(1.0), -pp_vote_logit(0.0), 1e-9);
  tu_assert_close(pp_vote_apply(v, ends), 0.5, 1e-9);
  assert_true(isnan(pp_vote_logit(NAN)));
  v->n = 3;
  pp_vote_free(v);
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

/* The logit-vote fit recovers the weights of the model that made the labels: y ~ logistic(-1 + 1.5 L0 + 0.5 L1)
 * with L0, L1 the log-odds two members report, so w = (0.75, 0.25).  A member of pure noise and one that is
 * the negative of member 0 (anti-informative) get exactly 0; labels of one class are refused. */
static void test_logit_fit_recovers_weights(void **state) {
  (void)state;
  enum { N = 40000, K = 4 };
  double *P = malloc(K * N * sizeof *P);
  int *y = malloc(N * sizeof *y);
  uint64_t st = 21;
  for (size_t i = 0; i < N; i++) {
    const double l0 = 1.2 * tu_normal(&st), l1 = 1.2 * tu_normal(&st);
    y[i] = tu_uniform(&st) < 1.0 / (1.0 + exp(-(-1.0 + 1.5 * l0 + 0.5 * l1)));
    P[i * K + 0] = 1.0 / (1.0 + exp(-l0));
    P[i * K + 1] = 1.0 / (1.0 + exp(-l1));
    P[i * K + 2] = 1.0 / (1.0 + exp(-tu_normal(&st)));
    P[i * K + 3] = 1.0 - P[i * K + 0];
  }
  double w[K];
  assert_int_equal(pp_fit_vote_weights_logit(P, y, N, K, w), 0);
  tu_assert_close(w[0] + w[1] + w[2] + w[3], 1.0, 1e-12);
  tu_assert_close(w[0], 0.75, 0.03);
  tu_assert_close(w[1], 0.25, 0.03);
  assert_true(w[3] == 0.0);
  assert_true(w[2] == 0.0 || w[2] >= PP_VOTE_MIN_WEIGHT); /* never a weight the model would score for nothing */
  assert_true(w[2] < 0.02);
  /* the two informative members alone: the same ratio */
  double *P2 = malloc(2 * N * sizeof *P2), w2[2];
  for (size_t i = 0; i < N; i++) {
    P2[2 * i] = P[i * K + 0];
    P2[2 * i + 1] = P[i * K + 1];
  }
  assert_int_equal(pp_fit_vote_weights_logit(P2, y, N, 2, w2), 0);
  tu_assert_close(w2[0], 0.75, 0.03);
  /* only the anti-informative member: no positive weight exists, so all of it goes to member 0 */
  for (size_t i = 0; i < N; i++) P2[i] = P[i * K + 3];
  assert_int_equal(pp_fit_vote_weights_logit(P2, y, N, 1, w2), 0);
  tu_assert_close(w2[0], 1.0, 0);
  for (size_t i = 0; i < N; i++) y[i] = 0;
  assert_int_equal(pp_fit_vote_weights_logit(P, y, N, K, w), PROP_ERR_TRAIN);
  free(P2);
  free(P);
  free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vote_by_hand),
      cmocka_unit_test(test_auc_fit_ignores_scale),
      cmocka_unit_test(test_logloss_fit_drops_useless_member),
      cmocka_unit_test(test_auc_fit_mixes_complementary_members),
      cmocka_unit_test(test_logit_fit_recovers_weights),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
