/* lib/eval/metrics.c: ranking and probability metrics, stratified splits and folds.
 *
 * The ranking metrics sort (score, label, index) triples once by score descending and walk groups of
 * tied scores, so ties are handled exactly: AUC counts a tied positive/negative pair as one half, PR-AUC
 * and KS evaluate thresholds only between distinct scores (as scikit-learn does). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"

typedef struct {
  double s;
  int y;
  size_t i;
} triple;

/* Score descending, then index ascending: a total order, so the result does not depend on qsort. */
static int cmp_desc(const void *a, const void *b) {
  const triple *x = a, *y = b;
  if (x->s > y->s) return -1;
  if (x->s < y->s) return 1;
  return (x->i > y->i) - (x->i < y->i);
}

/* NULL when allocation fails or a score is NaN (no order holds it: it would tie with nothing, not even
 * itself, and break the sort's comparisons). */
static triple *sorted(const double *s, const int *y, size_t n, size_t *npos) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != s[i]) return NULL;
  triple *t = pp_malloc_array(n ? n : 1, sizeof *t);
  if (!t) return NULL;
  size_t p = 0;
  for (size_t i = 0; i < n; i++) {
    t[i].s = s[i];
    t[i].y = y[i] != 0;
    t[i].i = i;
    p += (size_t)t[i].y;
  }
  qsort(t, n, sizeof *t, cmp_desc);
  *npos = p;
  return t;
}

/* sorted(), or NULL (the metric is NaN) when allocation fails, a score is NaN, there is no positive,
 * or need_neg and there is no negative. */
static triple *sorted_classes(const double *s, const int *y, size_t n, int need_neg, size_t *npos) {
  triple *t = sorted(s, y, n, npos);
  if (t && (*npos == 0 || (need_neg && *npos == n))) {
    free(t);
    return NULL;
  }
  return t;
}

/* The run of scores tied with t[i]: returns its end j (t[i..j) tie) and counts its positives
 * into *gp and negatives into *gn. */
static size_t tie_group(const triple *t, size_t n, size_t i, size_t *gp, size_t *gn) {
  size_t j = i, p = 0, q = 0;
  while (j < n && t[j].s == t[i].s) {
    p += (size_t)t[j].y;
    q += (size_t)!t[j].y;
    j++;
  }
  *gp = p;
  *gn = q;
  return j;
}

double pp_auc(const double *s, const int *y, size_t n) {
  size_t P;
  triple *t = sorted_classes(s, y, n, 1, &P);
  if (!t) return NAN;
  size_t N = n - P;
  /* Walk from the top: each negative group gains (positives above) + half (positives tied). */
  double wins = 0.0;
  size_t pos_above = 0;
  for (size_t i = 0, gp, gn; i < n;) {
    i = tie_group(t, n, i, &gp, &gn);
    wins += (double)gn * ((double)pos_above + 0.5 * (double)gp);
    pos_above += gp;
  }
  free(t);
  return wins / ((double)P * (double)N);
}

double pp_pr_auc(const double *s, const int *y, size_t n) {
  size_t P;
  triple *t = sorted_classes(s, y, n, 0, &P);
  if (!t) return NAN;
  /* Average precision: sum over thresholds of (recall step) x precision at that threshold. */
  double ap = 0.0, prev_recall = 0.0;
  size_t tp = 0, fp = 0;
  for (size_t i = 0, gp, gn; i < n;) {
    i = tie_group(t, n, i, &gp, &gn);
    tp += gp;
    fp += gn;
    double recall = (double)tp / (double)P, precision = (double)tp / (double)(tp + fp);
    ap += (recall - prev_recall) * precision;
    prev_recall = recall;
  }
  free(t);
  return ap;
}

double pp_ks(const double *s, const int *y, size_t n) {
  size_t P;
  triple *t = sorted_classes(s, y, n, 1, &P);
  if (!t) return NAN;
  size_t N = n - P;
  double ks = 0.0;
  size_t tp = 0, fp = 0;
  for (size_t i = 0, gp, gn; i < n;) {
    i = tie_group(t, n, i, &gp, &gn);
    tp += gp;
    fp += gn;
    double d = fabs((double)tp / (double)P - (double)fp / (double)N);
    if (d > ks) ks = d;
  }
  free(t);
  return ks;
}

double pp_logloss(const double *p, const int *y, size_t n) {
  if (n == 0) return NAN;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    double q = p[i] < 1e-15 ? 1e-15 : (p[i] > 1.0 - 1e-15 ? 1.0 - 1e-15 : p[i]);
    sum -= y[i] ? log(q) : log1p(-q);
  }
  return sum / (double)n;
}

double pp_brier(const double *p, const int *y, size_t n) {
  if (n == 0) return NAN;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    double e = p[i] - (y[i] ? 1.0 : 0.0);
    sum += e * e;
  }
  return sum / (double)n;
}

double pp_ece(const double *p, const int *y, size_t n, size_t nbins) {
  if (n == 0 || nbins == 0) return NAN;
  for (size_t i = 0; i < n; i++)
    if (p[i] != p[i]) return NAN; /* no bin holds it */
  double *ps = pp_calloc(nbins, sizeof *ps), *ys = pp_calloc(nbins, sizeof *ys);
  size_t *cnt = pp_calloc(nbins, sizeof *cnt);
  if (!ps || !ys || !cnt) {
    free(ps);
    free(ys);
    free(cnt);
    return NAN;
  }
  for (size_t i = 0; i < n; i++) {
    double q = p[i] < 0.0 ? 0.0 : (p[i] > 1.0 ? 1.0 : p[i]);
    size_t b = (size_t)(q * (double)nbins);
    if (b >= nbins) b = nbins - 1; /* p = 1 goes to the last bin */
    ps[b] += p[i];
    ys[b] += y[i] ? 1.0 : 0.0;
    cnt[b]++;
  }
  double ece = 0.0;
  for (size_t b = 0; b < nbins; b++) {
    if (!cnt[b]) continue;
    double c = (double)cnt[b];
    ece += (c / (double)n) * fabs(ps[b] / c - ys[b] / c);
  }
  free(ps);
  free(ys);
  free(cnt);
  return ece;
}

double pp_capture(const double *s, const int *y, size_t n, double frac) {
  size_t P;
  if (!(frac >= 0.0)) return NAN;
  triple *t = sorted_classes(s, y, n, 0, &P);
  if (!t) return NAN;
  size_t top = (size_t)llround(frac * (double)n);
  if (top > n) top = n;
  size_t got = 0;
  for (size_t i = 0; i < top; i++) got += (size_t)t[i].y;
  free(t);
  return (double)got / (double)P;
}

size_t pp_first_non_probability(const double *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!(p[i] >= 0.0 && p[i] <= 1.0)) return i;
  return n;
}

PROP_API int prop_metric_auc(const double *score, const int *y, size_t n, double *auc) {
  if (!auc || ((!score || !y) && n)) return pp_err(PROP_ERR_ARG, "prop_metric_auc: NULL argument");
  size_t P = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(score[i])) return pp_err(PROP_ERR_VALUE, "prop_metric_auc: score %zu is NaN", i);
    if (y[i] != 0 && y[i] != 1) return pp_err(PROP_ERR_VALUE, "prop_metric_auc: label %zu is %d, not 0 or 1", i, y[i]);
    P += (size_t)y[i];
  }
  if (P == 0 || P == n)
    return pp_err(PROP_ERR_TRAIN, "prop_metric_auc: the labels hold one class only (%zu positives of %zu)", P, n);
  double a = pp_auc(score, y, n);
  if (isnan(a)) return PROP_ERR_NOMEM;
  *auc = a;
  return 0;
}

/* ---- splits ------------------------------------------------------------------------------- */
/* Indices of class c, shuffled with rng.  *m gets their count. */
static size_t *class_rows(const int *y, size_t n, int c, pp_rng *rng, size_t *m) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += (y[i] != 0) == c;
  size_t *idx = pp_malloc_array(k ? k : 1, sizeof *idx);
  if (!idx) return NULL;
  size_t j = 0;
  for (size_t i = 0; i < n; i++)
    if ((y[i] != 0) == c) idx[j++] = i;
  pp_rng_shuffle(rng, idx, k);
  *m = k;
  return idx;
}

int pp_split_stratified(const int *y, size_t n, double test_frac, uint64_t seed, unsigned char *is_test) {
  if (!(test_frac > 0.0 && test_frac < 1.0))
    return pp_err(PROP_ERR_ARG, "test fraction must be in (0, 1), got %g", test_frac);
  pp_rng rng;
  pp_rng_seed(&rng, seed);
  memset(is_test, 0, n);
  for (int c = 0; c <= 1; c++) {
    size_t m;
    size_t *idx = class_rows(y, n, c, &rng, &m);
    if (!idx) return PROP_ERR_NOMEM;
    size_t take = (size_t)llround(test_frac * (double)m);
    for (size_t i = 0; i < take; i++) is_test[idx[i]] = 1;
    free(idx);
  }
  return 0;
}

int pp_kfold_stratified(const int *y, size_t n, size_t k, uint64_t seed, int *fold) {
  if (k < 2) return pp_err(PROP_ERR_ARG, "cross-validation needs at least 2 folds, got %zu", k);
  if (n < k) return pp_err(PROP_ERR_TRAIN, "%zu rows are too few for %zu folds", n, k);
  pp_rng rng;
  pp_rng_seed(&rng, seed);
  /* Deal each class's shuffled rows round-robin; the negatives continue where the positives stopped, so
   * fold sizes differ by at most one row overall and class counts by at most one per fold. */
  size_t next = 0;
  for (int c = 1; c >= 0; c--) {
    size_t m;
    size_t *idx = class_rows(y, n, c, &rng, &m);
    if (!idx) return PROP_ERR_NOMEM;
    for (size_t i = 0; i < m; i++) fold[idx[i]] = (int)((next + i) % k);
    next = (next + m) % k;
    free(idx);
  }
  return 0;
}
