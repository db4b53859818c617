/* lib/eval: metrics against hand-computed values (ties, empty bins), splits and folds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "testutil.h"

#define EPS 1e-12

static void test_auc_hand_values(void **state) {
  (void)state;
  /* Perfect, reversed and a hand example with a tie across classes. */
  const double s1[] = {0.9, 0.8, 0.3, 0.1};
  const int y1[] = {1, 1, 0, 0};
  assert_true(fabs(pp_auc(s1, y1, 4) - 1.0) < EPS);
  const int y2[] = {0, 0, 1, 1};
  assert_true(fabs(pp_auc(s1, y2, 4) - 0.0) < EPS);
  /* pairs (pos,neg): P={0.8,0.5}, N={0.5,0.2,0.9}.  0.8: beats 0.5,0.2 = 2; 0.5: tie 0.5 (.5) + 0.2 = 1.5.
   * total 3.5 / 6 */
  const double s3[] = {0.8, 0.5, 0.5, 0.2, 0.9};
  const int y3[] = {1, 1, 0, 0, 0};
  assert_true(fabs(pp_auc(s3, y3, 5) - 3.5 / 6.0) < EPS);
  /* all scores tied: 0.5 */
  const double s4[] = {0.3, 0.3, 0.3, 0.3};
  const int y4[] = {1, 0, 1, 0};
  assert_true(fabs(pp_auc(s4, y4, 4) - 0.5) < EPS);
  /* one class: NaN; the public function refuses it */
  const int y5[] = {1, 1, 1, 1};
  assert_true(isnan(pp_auc(s4, y5, 4)));
  double a = 0;
  assert_int_equal(prop_metric_auc(s4, y5, 4, &a), PROP_ERR_TRAIN);
  assert_int_equal(prop_metric_auc(s3, y3, 5, &a), 0);
  assert_true(fabs(a - 3.5 / 6.0) < EPS);
  const double bad[] = {0.1, NAN};
  const int yb[] = {0, 1};
  assert_int_equal(prop_metric_auc(bad, yb, 2, &a), PROP_ERR_VALUE);
}

static void test_auc_matches_pair_count(void **state) {
  (void)state;
  uint64_t st = 5;
  enum { N = 700 };
  double s[N];
  int y[N];
  float yf[N];
  for (size_t i = 0; i < N; i++) {
    s[i] = floor(tu_uniform(&st) * 20.0) / 20.0; /* many ties */
    y[i] = tu_uniform(&st) < 0.3 + 0.4 * s[i];
    yf[i] = (float)y[i];
  }
  assert_true(fabs(pp_auc(s, y, N) - tu_auc_ref(s, yf, N)) < 1e-12);
}

static void test_pr_auc_and_ks(void **state) {
  (void)state;
  /* Ranked: 1 0 1 0 (distinct scores).  AP = 1*(1/2) + (2/3)*(1/2) = 0.8333... */
  const double s[] = {0.9, 0.8, 0.7, 0.6};
  const int y[] = {1, 0, 1, 0};
  assert_true(fabs(pp_pr_auc(s, y, 4) - (0.5 + (2.0 / 3.0) * 0.5)) < EPS);
  /* KS: thresholds after each: TPR-FPR = .5-0, .5-.5, 1-.5, 1-1 -> 0.5 */
  assert_true(fabs(pp_ks(s, y, 4) - 0.5) < EPS);
  /* Ties grouped: scores {0.9 (1), 0.5 (1), 0.5 (0), 0.1 (0)}.  AP: after 0.9: r=.5 p=1; after 0.5 group:
   * r=1 p=2/3 -> .5 + .5*2/3.  KS: .5-0=.5, 1-.5=.5, 1-1=0 -> .5 */
  const double s2[] = {0.9, 0.5, 0.5, 0.1};
  const int y2[] = {1, 1, 0, 0};
  assert_true(fabs(pp_pr_auc(s2, y2, 4) - (0.5 + 0.5 * 2.0 / 3.0)) < EPS);
  assert_true(fabs(pp_ks(s2, y2, 4) - 0.5) < EPS);
  /* Perfect separation: KS 1 */
  const int y3[] = {1, 1, 0, 0};
  assert_true(fabs(pp_ks(s, y3, 4) - 1.0) < EPS);
}

static void test_logloss_brier(void **state) {
  (void)state;
  const double p[] = {0.8, 0.3, 0.0, 1.0};
  const int y[] = {1, 0, 0, 1};
  double ll = -(log(0.8) + log(0.7) + log1p(-1e-15) + log(1.0 - 1e-15)) / 4.0;
  assert_true(fabs(pp_logloss(p, y, 4) - ll) < 1e-12);
  assert_true(fabs(pp_brier(p, y, 4) - (0.04 + 0.09) / 4.0) < EPS);
  /* A confident wrong answer is clipped, not infinite */
  const int yw[] = {0, 0, 1, 0};
  assert_true(isfinite(pp_logloss(p, yw, 4)));
}

static void test_ece_with_empty_bins(void **state) {
  (void)state;
  /* 10 bins; rows in bins 0 and 9 only (8 bins empty).
   * bin 0: p = .05,.05 y = 0,1 -> |.05-.5| = .45, weight 2/5
   * bin 9: p = .95,.95,1.0 y = 1,1,1 -> mean p .9666.., |.9666-1| = .0333.., weight 3/5 */
  const double p[] = {0.05, 0.05, 0.95, 0.95, 1.0};
  const int y[] = {0, 1, 1, 1, 1};
  double want = 0.4 * 0.45 + 0.6 * (1.0 - (0.95 + 0.95 + 1.0) / 3.0);
  assert_true(fabs(pp_ece(p, y, 5, 10) - want) < 1e-12);
  /* perfectly calibrated bins give 0 */
  const double p2[] = {0.5, 0.5};
  const int y2[] = {0, 1};
  assert_true(fabs(pp_ece(p2, y2, 2, 10)) < EPS);
}

static void test_capture(void **state) {
  (void)state;
  /* 10 rows, 4 positives; top 30% = 3 rows (0.95, 0.9, 0.9 by index) hold 2 positives -> 0.5 */
  const double s[] = {0.1, 0.9, 0.9, 0.2, 0.95, 0.3, 0.4, 0.5, 0.6, 0.05};
  const int y[] = {1, 0, 1, 0, 1, 0, 0, 0, 1, 0};
  assert_true(fabs(pp_capture(s, y, 10, 0.3) - 0.5) < EPS);
  assert_true(fabs(pp_capture(s, y, 10, 1.0) - 1.0) < EPS);
  assert_true(fabs(pp_capture(s, y, 10, 0.0)) < EPS);
}

/* A NaN score makes every metric NaN, and returns (its tie group used to be empty: AUC looped forever). */
static void test_nan_scores(void **state) {
  (void)state;
  const double s[] = {0.9, NAN, 0.4, 0.4, 0.1, 0.7};
  const int y[] = {1, 0, 1, 0, 0, 1};
  const size_t n = 6;
  assert_true(isnan(pp_auc(s, y, n)));
  assert_true(isnan(pp_pr_auc(s, y, n)));
  assert_true(isnan(pp_ks(s, y, n)));
  assert_true(isnan(pp_capture(s, y, n, 0.3)));
  assert_true(isnan(pp_ece(s, y, n, 10)));
  assert_true(isnan(pp_logloss(s, y, n)));
  assert_true(isnan(pp_brier(s, y, n)));
  double auc = -1.0;
  assert_int_equal(prop_metric_auc(s, y, n, &auc), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "score 1 is NaN"));
  /* without the NaN, the same rows have a metric */
  assert_false(isnan(pp_auc(s + 2, y + 2, 4)));
}

static void test_first_non_probability(void **state) {
  (void)state;
  const double ok[] = {0.0, 0.5, 1.0}, nan_at_1[] = {0.2, NAN, 2.0}, big_at_2[] = {0.2, 0.3, 1.0000001},
               neg_at_0[] = {-0.0 - 1e-300, 0.5}, inf_at_1[] = {0.1, INFINITY};
  assert_int_equal(pp_first_non_probability(ok, 3), 3);
  assert_int_equal(pp_first_non_probability(nan_at_1, 3), 1);
  assert_int_equal(pp_first_non_probability(big_at_2, 3), 2);
  assert_int_equal(pp_first_non_probability(neg_at_0, 2), 0);
  assert_int_equal(pp_first_non_probability(inf_at_1, 2), 1);
  assert_int_equal(pp_first_non_probability(ok, 0), 0);
}

static void test_split_and_folds(void **state) {
  (void)state;
  enum { N = 1003 };
  int y[N];
  size_t pos = 0;
  for (size_t i = 0; i < N; i++) {
    y[i] = (i % 7) == 0;
    pos += (size_t)y[i];
  }
  unsigned char t[N], t2[N];
  assert_int_equal(pp_split_stratified(y, N, 0.3, 9, t), 0);
  size_t tp = 0, tn = 0;
  for (size_t i = 0; i < N; i++) {
    tp += t[i] && y[i];
    tn += t[i] && !y[i];
  }
  assert_int_equal(tp, (size_t)llround(0.3 * (double)pos));
  assert_int_equal(tn, (size_t)llround(0.3 * (double)(N - pos)));
  assert_int_equal(pp_split_stratified(y, N, 0.3, 9, t2), 0);
  assert_memory_equal(t, t2, N); /* deterministic in the seed */
  assert_int_equal(pp_split_stratified(y, N, 1.5, 9, t2), PROP_ERR_ARG);

  int fold[N];
  const size_t K = 5;
  assert_int_equal(pp_kfold_stratified(y, N, K, 3, fold), 0);
  size_t fp[5] = {0}, fa[5] = {0};
  for (size_t i = 0; i < N; i++) {
    assert_true(fold[i] >= 0 && fold[i] < (int)K);
    fa[fold[i]]++;
    fp[fold[i]] += (size_t)y[i];
  }
  for (size_t k = 0; k < K; k++) {
    assert_true(fa[k] >= N / K && fa[k] <= N / K + 1);
    assert_true(fp[k] >= pos / K && fp[k] <= pos / K + 1);
  }
  assert_int_equal(pp_kfold_stratified(y, N, 1, 3, fold), PROP_ERR_ARG);
  assert_int_equal(pp_kfold_stratified(y, 3, 5, 3, fold), PROP_ERR_TRAIN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_auc_hand_values), cmocka_unit_test(test_auc_matches_pair_count),
      cmocka_unit_test(test_pr_auc_and_ks),   cmocka_unit_test(test_logloss_brier),
      cmocka_unit_test(test_ece_with_empty_bins), cmocka_unit_test(test_capture),
      cmocka_unit_test(test_nan_scores),
      cmocka_unit_test(test_first_non_probability),
      cmocka_unit_test(test_split_and_folds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
