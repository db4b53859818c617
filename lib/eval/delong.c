/* AUC confidence intervals and paired comparisons by DeLong's method.
 *
 * DeLong, DeLong and Clarke-Pearson (1988, Biometrics 44:837): the AUC of a score is the mean of
 * psi(x, y) over (positive x, negative y) pairs, psi = 1 when x > y, 1/2 when tied, 0 otherwise.
 * Its structural components are, per positive, the share of negatives it beats (V10) and, per
 * negative, the share of positives that beat it (V01).  For k scores of the same rows, the
 * covariance of their AUCs is S10 / m + S01 / n, S10 and S01 the sample covariance matrices
 * (divisor m - 1, n - 1) of the components over the m positives and the n negatives.
 *
 * The components come from midranks in O(N log N) per score (Sun and Xu 2014, IEEE Signal
 * Processing Letters 21:1389): a positive's rank among all rows minus its rank among the
 * positives counts the negatives below it (ties one half), and likewise for a negative. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"

#define Z975 1.959963984540054 /* the standard normal's 97.5% quantile */

typedef struct keyed {
  double v;
  size_t i;
} keyed;

static int cmp_keyed(const void *a, const void *b) {
  const keyed *x = a, *z = b;
  if (x->v < z->v) return -1;
  if (x->v > z->v) return 1;
  return (x->i > z->i) - (x->i < z->i);
}

/* Midranks (1-based, tied values share the mean of their ranks) of v[0..n) into r; t: scratch. */
static void midranks(const double *v, size_t n, keyed *t, double *r) {
  for (size_t i = 0; i < n; i++) {
    t[i].v = v[i];
    t[i].i = i;
  }
  qsort(t, n, sizeof *t, cmp_keyed);
  for (size_t a = 0; a < n;) {
    size_t b = a;
    while (b < n && t[b].v == t[a].v) b++;
    double mid = 0.5 * (double)(a + 1 + b); /* mean of ranks a+1 .. b */
    for (size_t q = a; q < b; q++) r[t[q].i] = mid;
    a = b;
  }
}

/* Sample covariance matrix (divisor cnt - 1) of k series of cnt values (series j at v + j * cnt,
 * mean mu[j]) into s[k * k]. */
static void sample_cov(const double *v, const double *mu, size_t k, size_t cnt, double *s) {
  for (size_t a = 0; a < k; a++)
    for (size_t b = a; b < k; b++) {
      double acc = 0;
      for (size_t i = 0; i < cnt; i++) acc += (v[a * cnt + i] - mu[a]) * (v[b * cnt + i] - mu[b]);
      s[a * k + b] = s[b * k + a] = acc / (double)(cnt - 1);
    }
}

int pp_delong(const double *const *score, size_t k, const int *y, size_t n, double *auc, double *cov) {
  if (!score || !y || !auc || !cov || k == 0) return pp_err(PROP_ERR_ARG, "pp_delong: NULL argument");
  size_t m = 0;
  for (size_t i = 0; i < n; i++) m += y[i] != 0;
  size_t nn = n - m;
  for (size_t j = 0; j < k * k; j++) cov[j] = NAN;
  for (size_t j = 0; j < k; j++) auc[j] = NAN;
  for (size_t j = 0; j < k; j++)
    for (size_t i = 0; i < n; i++)
      if (isnan(score[j][i])) return 0; /* as every metric of a NaN score */
  if (m == 0 || nn == 0) return 0;
  double *v10 = pp_malloc_array(k * m, sizeof *v10), *v01 = pp_malloc_array(k * nn, sizeof *v01);
  double *xs = pp_malloc_array(n, sizeof *xs), *rz = pp_malloc_array(n, sizeof *rz);
  double *rs = pp_malloc_array(n, sizeof *rs);
  double *s10 = pp_malloc_array(k * k, sizeof *s10), *s01 = pp_malloc_array(k * k, sizeof *s01);
  keyed *t = pp_malloc_array(n, sizeof *t);
  int rc = (!v10 || !v01 || !xs || !rz || !rs || !s10 || !s01 || !t) ? PROP_ERR_NOMEM : 0;
  for (size_t j = 0; j < k && !rc; j++) {
    const double *s = score[j];
    midranks(s, n, t, rz); /* ranks among all rows */
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) /* positives first, then negatives, each in row order */
      if (y[i]) xs[a++] = s[i];
    for (size_t i = 0; i < n; i++)
      if (!y[i]) xs[m + b++] = s[i];
    midranks(xs, m, t, rs);          /* ranks among the positives */
    midranks(xs + m, nn, t, rs + m); /* ranks among the negatives */
    double sum = 0;
    a = b = 0;
    for (size_t i = 0; i < n; i++) {
      if (y[i]) {
        double c = (rz[i] - rs[a]) / (double)nn; /* negatives below this positive, ties one half */
        v10[j * m + a++] = c;
        sum += c;
      } else {
        v01[j * nn + b] = 1.0 - (rz[i] - rs[m + b]) / (double)m; /* positives above this negative */
        b++;
      }
    }
    auc[j] = sum / (double)m;
  }
  if (!rc && m > 1 && nn > 1) {
    sample_cov(v10, auc, k, m, s10); /* both components average to the AUC */
    sample_cov(v01, auc, k, nn, s01);
    for (size_t j = 0; j < k * k; j++) cov[j] = s10[j] / (double)m + s01[j] / (double)nn;
  }
  free(v10);
  free(v01);
  free(xs);
  free(rz);
  free(rs);
  free(s10);
  free(s01);
  free(t);
  return rc;
}

void pp_auc_interval(double auc, double var, double *lo, double *hi) {
  double h = Z975 * sqrt(var);
  *lo = isfinite(h) ? fmax(0.0, auc - h) : NAN;
  *hi = isfinite(h) ? fmin(1.0, auc + h) : NAN;
}

void pp_delong_paired(const double *auc, const double *cov, size_t k, size_t a, size_t b, pp_auc_test *t) {
  t->difference = auc[a] - auc[b];
  double var = cov[a * k + a] + cov[b * k + b] - 2 * cov[a * k + b];
  t->se = var > 0 ? sqrt(var) : 0.0;
  if (!isfinite(t->difference) || !isfinite(var)) {
    t->se = t->z = t->p_value = t->lo = t->hi = NAN;
    return;
  }
  if (t->se > 0) {
    t->z = t->difference / t->se;
    t->p_value = erfc(fabs(t->z) / sqrt(2.0));
  } else { /* the two scores rank every pair alike (or var rounds below 0): no spread */
    t->z = t->difference == 0 ? 0.0 : copysign(INFINITY, t->difference);
    t->p_value = t->difference == 0 ? 1.0 : 0.0;
  }
  t->lo = t->difference - Z975 * t->se;
  t->hi = t->difference + Z975 * t->se;
}
