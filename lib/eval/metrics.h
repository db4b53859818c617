/* lib/eval: metrics, splits and validation helpers.  Depends on common only.
 * Scores are doubles; labels are ints 0/1.  Every function is thread-safe.  Every metric of scores
 * holding a NaN is NaN (no order or bin holds a NaN). */
#ifndef PP_METRICS_H
#define PP_METRICS_H

#include "common/common.h"

/* ROC AUC with ties counted one half (Mann-Whitney).  NaN when only one class is present. */
double pp_auc(const double *s, const int *y, size_t n);
/* Average precision (PR-AUC, step-wise as scikit-learn's average_precision_score, ties grouped). */
double pp_pr_auc(const double *s, const int *y, size_t n);
/* Kolmogorov-Smirnov statistic: max |TPR - FPR| over thresholds (ties grouped). */
double pp_ks(const double *s, const int *y, size_t n);
/* Mean log-loss with p clipped to [1e-15, 1 - 1e-15]. */
double pp_logloss(const double *p, const int *y, size_t n);
/* Mean (p - y)^2. */
double pp_brier(const double *p, const int *y, size_t n);
/* Expected calibration error with nbins equal-width bins on [0,1]: sum over non-empty bins of
 * (bin count / n) * |mean p - mean y|.  Empty bins contribute nothing. */
double pp_ece(const double *p, const int *y, size_t n, size_t nbins);
/* Share of all positives found in the top frac of rows by score (ties broken by index, i.e.
 * stable order), e.g. frac = 0.3 for "top-30% capture".  Lift = capture / frac. */
double pp_capture(const double *s, const int *y, size_t n, double frac);

/* ---- AUC intervals and paired tests (delong.c) ------------------------------------------------ */
/* DeLong et al. (1988): the AUCs of k scores of the same n rows (score[j][i]) into auc[k], and their
 * covariance matrix into cov[k * k] (row-major; cov[j * k + j] is AUC j's variance).  Ties count one
 * half, as pp_auc.  With one class (or a NaN score) every auc and cov entry is NaN; with a single
 * positive or negative the AUCs are computed and cov is NaN (no sample variance).  0, or
 * PROP_ERR_NOMEM / PROP_ERR_ARG.  O(k n log n + k^2 n). */
int pp_delong(const double *const *score, size_t k, const int *y, size_t n, double *auc, double *cov);
/* The 95% interval of an AUC of variance var: auc -+ 1.96 sqrt(var), cut to [0, 1] (NaN when var is). */
void pp_auc_interval(double auc, double var, double *lo, double *hi);
/* A paired comparison of AUC a against AUC b of one pp_delong call (k scores): difference auc[a] -
 * auc[b], its standard error, z, the two-sided p-value of "the AUCs are equal" (normal), and the 95%
 * interval of the difference.  Two scores that order every pair alike have se 0: z 0 and p 1 for an
 * equal AUC.  NaN fields when the inputs are. */
typedef struct pp_auc_test {
  double difference, se, z, p_value, lo, hi;
} pp_auc_test;
void pp_delong_paired(const double *auc, const double *cov, size_t k, size_t a, size_t b, pp_auc_test *t);

/* Index of the first p[i] that is not a probability (NaN, or outside [0, 1]), or n when all are: the check
 * every member's output passes before it reaches a metric or a calibrator. */
size_t pp_first_non_probability(const double *p, size_t n);

/* Stratified split: each row goes to test with probability close to test_frac, exactly
 * round(test_frac * n_c) rows of each class c in test.  is_test[n] gets 0/1. */
int pp_split_stratified(const int *y, size_t n, double test_frac, uint64_t seed, unsigned char *is_test);
/* Stratified k-fold: fold[i] in 0..k-1, class proportions equal across folds (+-1 row). */
int pp_kfold_stratified(const int *y, size_t n, size_t k, uint64_t seed, int *fold);
#endif
