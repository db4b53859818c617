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

/* ---- DeLong ------------------------------------------------------------------------------------ */

/* psi of DeLong et al.: 1 when the positive's score is above the negative's, 1/2 when tied. */
static double psi(double x, double z) { return x > z ? 1.0 : x == z ? 0.5 : 0.0; }

/* The same statistics computed directly, O(n^2): per positive the share of negatives it beats, per
 * negative the share of positives beating it, their means and sample covariances. */
static void delong_direct(const double *const *s, size_t k, const int *y, size_t n, double *auc, double *cov) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) m += y[i] != 0;
  size_t nn = n - m;
  double *v10 = tu_xmalloc(k * m * sizeof *v10), *v01 = tu_xmalloc(k * nn * sizeof *v01);
  for (size_t j = 0; j < k; j++) {
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
      double acc = 0;
      for (size_t q = 0; q < n; q++)
        if (y[q] != y[i]) acc += y[i] ? psi(s[j][i], s[j][q]) : psi(s[j][q], s[j][i]);
      if (y[i]) v10[j * m + a++] = acc / (double)nn;
      else v01[j * nn + b++] = acc / (double)m;
    }
    double t = 0;
    for (size_t i = 0; i < m; i++) t += v10[j * m + i];
    auc[j] = t / (double)m;
  }
  for (size_t a = 0; a < k; a++)
    for (size_t b = 0; b < k; b++) {
      double c10 = 0, c01 = 0, ma = 0, mb = 0, na = 0, nb = 0;
      for (size_t i = 0; i < m; i++) ma += v10[a * m + i] / (double)m, mb += v10[b * m + i] / (double)m;
      for (size_t i = 0; i < nn; i++) na += v01[a * nn + i] / (double)nn, nb += v01[b * nn + i] / (double)nn;
      for (size_t i = 0; i < m; i++) c10 += (v10[a * m + i] - ma) * (v10[b * m + i] - mb);
      for (size_t i = 0; i < nn; i++) c01 += (v01[a * nn + i] - na) * (v01[b * nn + i] - nb);
      cov[a * k + b] = c10 / (double)(m - 1) / (double)m + c01 / (double)(nn - 1) / (double)nn;
    }
  free(v10);
  free(v01);
}

static void test_delong_matches_direct(void **state) {
  (void)state;
  uint64_t seed = 11;
  for (int trial = 0; trial < 6; trial++) {
    size_t n = 20 + 23 * (size_t)trial, k = 3;
    int *y = tu_xmalloc(n * sizeof *y);
    double *buf = tu_xmalloc(k * n * sizeof *buf);
    const double *s[3] = {buf, buf + n, buf + 2 * n};
    for (size_t i = 0; i < n; i++) {
      y[i] = tu_uniform(&seed) < 0.35 || i < 2;
      if (i == 2 || i == 3) y[i] = 0;
      double base = tu_normal(&seed) + (y[i] ? 0.8 : 0.0);
      buf[i] = base;
      buf[n + i] = round(4 * (base + tu_normal(&seed))) / 4;     /* many ties, within and across classes */
      buf[2 * n + i] = trial % 2 ? (double)(i % 3) : -buf[i];    /* few levels; or reversed */
    }
    double auc[3], cov[9], auc2[3], cov2[9];
    assert_int_equal(pp_delong(s, k, y, n, auc, cov), 0);
    delong_direct(s, k, y, n, auc2, cov2);
    for (size_t j = 0; j < k; j++) {
      tu_assert_close(auc[j], auc2[j], 1e-12);
      tu_assert_close(auc[j], pp_auc(s[j], y, n), 1e-12);
    }
    for (size_t j = 0; j < 9; j++) tu_assert_close(cov[j], cov2[j], 1e-12);
    pp_auc_test t;
    pp_delong_paired(auc, cov, k, 0, 1, &t);
    double v = cov2[0] + cov2[4] - 2 * cov2[1];
    tu_assert_close(t.difference, auc2[0] - auc2[1], 1e-12);
    tu_assert_close(t.z, (auc2[0] - auc2[1]) / sqrt(v), 1e-9);
    tu_assert_close(t.p_value, erfc(fabs(t.z) / sqrt(2.0)), 1e-15);
    tu_assert_close(t.hi - t.lo, 2 * 1.959963984540054 * sqrt(v), 1e-12);
    free(y);
    free(buf);
  }
}

/* pROC's aSAH data (Turck et al. 2010, Intensive Care Medicine 36:107; shipped with pROC, Robin et
 * al. 2011): 113 patients, outcome poor (1) or good, and three predictors.  The expected figures
 * are those pROC's own test suite asserts for DeLong's method (var, cov, roc.test, ci.auc). */
static const int asah_poor[113] = {
    0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1,
    1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1,
    1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0,
    0, 1, 0, 0, 0,
};
static const double asah_wfns[113] = {
    1, 1, 1, 1, 3, 2, 5, 4, 1, 2, 5, 2, 5, 5, 1, 2, 5, 2, 2, 5, 2, 1, 1, 1, 1, 2, 1, 2, 1, 1, 3, 4, 2, 1, 4, 5,
    4, 1, 4, 2, 5, 5, 1, 1, 2, 4, 1, 1, 2, 5, 5, 2, 1, 2, 5, 1, 2, 2, 2, 1, 5, 1, 1, 2, 5, 2, 1, 4, 5, 2, 4, 4,
    1, 4, 1, 2, 1, 4, 2, 1, 2, 3, 2, 4, 2, 1, 4, 5, 1, 1, 5, 4, 2, 2, 1, 1, 1, 3, 1, 2, 5, 2, 2, 5, 5, 5, 2, 4,
    4, 5, 1, 1, 1,
};
static const double asah_s100b[113] = {
    0.13, 0.14, 0.1, 0.04, 0.13, 0.1, 0.47, 0.16, 0.18, 0.1, 0.12, 0.1, 0.44, 0.71, 0.04, 0.08, 0.49, 0.04,
    0.07, 0.33, 0.09, 0.09, 0.07, 0.11, 0.07, 0.17, 0.07, 0.11, 0.13, 0.19, 0.05, 0.16, 0.41, 0.14, 0.34, 0.35,
    0.48, 0.09, 0.96, 0.25, 0.5, 0.46, 0.16, 0.07, 0.43, 0.45, 0.11, 0.08, 0.09, 0.86, 0.52, 0.08, 0.06, 0.13,
    2.07, 0.1, 0.14, 0.15, 0.07, 0.06, 0.77, 0.05, 0.09, 0.3, 0.03, 0.09, 0.04, 0.23, 0.7, 0.09, 0.27, 0.71,
    0.08, 0.26, 0.08, 0.16, 0.09, 0.13, 0.1, 0.08, 0.11, 0.33, 0.11, 0.28, 0.07, 0.1, 0.32, 0.22, 0.07, 0.05,
    0.24, 0.38, 0.1, 0.15, 0.08, 0.14, 0.1, 0.07, 0.04, 0.19, 0.56, 0.14, 0.58, 0.32, 0.82, 0.74, 0.15, 0.47,
    0.17, 0.44, 0.15, 0.5, 0.48,
};
static const double asah_ndka[113] = {
    3.01, 8.54, 8.09, 10.42, 17.4, 12.75, 6.0, 13.2, 15.54, 6.01, 15.96, 17.86, 5.18, 8.9,
    13.41, 20.75, 11.6, 16.11, 32.37, 54.82, 32.41, 49.94, 40.34, 9.47, 6.29, 12.53, 6.54, 6.3,
    80.3, 12.8, 9.8, 9.81, 9.85, 18.21, 5.03, 14.04, 21.93, 8.02, 7.42, 8.38, 6.59, 9.63,
    13.12, 7.96, 14.34, 41.43, 7.63, 7.06, 12.59, 13.56, 3.87, 9.44, 7.66, 12.98, 419.19, 27.19,
    22.27, 9.95, 21.22, 11.73, 10.4, 58.83, 6.39, 11.09, 12.22, 13.67, 17.21, 22.63, 12.9, 9.7,
    21.57, 8.23, 72.57, 15.54, 10.51, 10.6, 14.57, 5.19, 9.63, 4.61, 21.48, 17.3, 12.71, 9.44,
    11.07, 19.46, 10.83, 5.37, 11.97, 7.75, 9.83, 10.55, 28.49, 8.53, 12.57, 12.9, 46.83, 11.68,
    12.67, 9.01, 9.57, 34.06, 11.72, 14.26, 47.61, 11.67, 24.58, 10.33, 13.87, 15.89, 22.43, 6.79,
    13.45,
};

static void test_delong_published_example(void **state) {
  (void)state;
  const double *s[3] = {asah_wfns, asah_s100b, asah_ndka};
  double auc[3], cov[9];
  assert_int_equal(pp_delong(s, 3, asah_poor, 113, auc, cov), 0);
  tu_assert_close(auc[0], 0.823678861788618, 1e-12);
  tu_assert_close(auc[2], 0.611957994579946, 1e-12);
  tu_assert_close(cov[0], 0.00146991470882363, 1e-15);       /* var(wfns) */
  tu_assert_close(cov[4], 0.00266868245717244, 1e-15);       /* var(s100b) */
  tu_assert_close(cov[8], 0.0031908105493913, 1e-15);        /* var(ndka) */
  tu_assert_close(cov[0 * 3 + 2], -0.000532967856762438, 1e-15); /* cov(wfns, ndka) */
  tu_assert_close(cov[2 * 3 + 1], -0.000756164938056579, 1e-15); /* cov(ndka, s100b) */
  tu_assert_close(cov[1 * 3 + 0], 0.00119615567376754, 1e-15);   /* cov(s100b, wfns) */
  pp_auc_test t;
  pp_delong_paired(auc, cov, 3, 0, 1, &t); /* roc.test(wfns, s100b) */
  tu_assert_close(t.z, 2.20898359144091, 1e-11);
  tu_assert_close(t.p_value, 0.0271757822291882, 1e-13);
  tu_assert_close(t.lo, 0.0104061769564846, 1e-12);
  tu_assert_close(t.hi, 0.174214419249478, 1e-12);
  pp_delong_paired(auc, cov, 3, 0, 2, &t); /* roc.test(wfns, ndka) */
  tu_assert_close(t.z, 2.79777591868904, 1e-11);
  tu_assert_close(t.p_value, 0.00514557970691098, 1e-13);
  pp_delong_paired(auc, cov, 3, 2, 1, &t); /* roc.test(ndka, s100b) */
  tu_assert_close(t.z, -1.39077002573558, 1e-11);
  tu_assert_close(t.p_value, 0.164295175223054, 1e-12);
  double lo, hi;
  pp_auc_interval(auc[2], cov[8], &lo, &hi); /* ci.auc(ndka) */
  tu_assert_close(lo, 0.501244999271703, 1e-12);
  tu_assert_close(hi, 0.722670989888189, 1e-12);
}

static void test_delong_edges(void **state) {
  (void)state;
  const double a[] = {0.1, 0.4, 0.35, 0.8, 0.8}, b[] = {0.2, 0.5, 0.45, 0.9, 0.9};
  const double *s[2] = {a, b};
  double auc[2], cov[4];
  const int one[] = {1, 1, 1, 1, 1};
  assert_int_equal(pp_delong(s, 2, one, 5, auc, cov), 0); /* one class: NaN */
  assert_true(isnan(auc[0]) && isnan(cov[0]));
  const int single[] = {0, 0, 1, 0, 0};
  assert_int_equal(pp_delong(s, 2, single, 5, auc, cov), 0); /* one positive: an AUC, no variance */
  tu_assert_close(auc[0], 0.25, 1e-15); /* 0.35 beats one of four negatives */
  assert_true(isnan(cov[0]) && isnan(cov[3]));
  const int y[] = {0, 0, 1, 1, 0};
  assert_int_equal(pp_delong(s, 2, y, 5, auc, cov), 0);
  /* b = a + 0.1 orders every pair alike: no spread between them, z 0 and p 1 */
  pp_auc_test t;
  pp_delong_paired(auc, cov, 2, 0, 1, &t);
  assert_true(t.difference == 0 && t.z == 0 && t.p_value == 1 && t.lo == 0 && t.hi == 0);
  double lo, hi;
  pp_auc_interval(0.99, 0.01, &lo, &hi); /* cut to [0, 1] */
  assert_true(hi == 1.0 && lo > 0.7);
  pp_auc_interval(0.9, NAN, &lo, &hi);
  assert_true(isnan(lo) && isnan(hi));
  const double nan_s[] = {0.1, NAN, 0.3, 0.4, 0.5};
  const double *sn[1] = {nan_s};
  assert_int_equal(pp_delong(sn, 1, y, 5, auc, cov), 0);
  assert_true(isnan(auc[0]));
  assert_int_equal(pp_delong(NULL, 1, y, 5, auc, cov), PROP_ERR_ARG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_auc_hand_values), cmocka_unit_test(test_auc_matches_pair_count),
      cmocka_unit_test(test_pr_auc_and_ks),   cmocka_unit_test(test_logloss_brier),
      cmocka_unit_test(test_ece_with_empty_bins), cmocka_unit_test(test_capture),
      cmocka_unit_test(test_nan_scores),
      cmocka_unit_test(test_first_non_probability),
      cmocka_unit_test(test_split_and_folds),
      cmocka_unit_test(test_delong_matches_direct),
      cmocka_unit_test(test_delong_published_example),
      cmocka_unit_test(test_delong_edges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
