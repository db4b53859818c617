/* Isotonic regression by pool-adjacent-violators, with an optional minimum block weight, applied
 * by linear interpolation between the block means (so that distinct scores keep distinct
 * calibrated values where the fit allows). */
#include <stdlib.h>
#include <string.h>

#include "calibrate/calibrate.h"

typedef struct {
  double s;
  double y;
  double w;
} iso_pt;

static int cmp_pt(const void *a, const void *b) {
  double x = ((const iso_pt *)a)->s, z = ((const iso_pt *)b)->s;
  return (x > z) - (x < z);
}

int pp_isotonic_fit(const double *s, const float *y, const double *w, size_t n, double min_weight, double **xo,
                    double **vo, size_t *ko) {
  *xo = *vo = NULL;
  *ko = 0;
  if (n == 0) return pp_err(PROP_ERR_TRAIN, "isotonic calibration: no rows");
  for (size_t i = 0; i < n; i++) /* NaN has no place in the order (and would end no tie group) */
    if (s[i] != s[i]) return pp_err(PROP_ERR_VALUE, "isotonic calibration: score %zu is NaN", i);
  iso_pt *pt = pp_malloc_array(n, sizeof *pt);
  /* blocks: mean value, weight, and the weighted mean score (the knot position) */
  double *bv = pp_malloc_array(n, sizeof *bv), *bw = pp_malloc_array(n, sizeof *bw),
         *bs = pp_malloc_array(n, sizeof *bs);
  if (!pt || !bv || !bw || !bs) {
    free(pt);
    free(bv);
    free(bw);
    free(bs);
    return PROP_ERR_NOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    pt[i].s = s[i];
    pt[i].y = y[i];
    pt[i].w = w ? w[i] : 1.0;
  }
  qsort(pt, n, sizeof *pt, cmp_pt);
  size_t nb = 0;
  for (size_t i = 0; i < n;) {
    /* equal scores form one initial block (ties must get one value) */
    double sw = 0, sy = 0, ss = 0;
    size_t j = i;
    while (j < n && pt[j].s == pt[i].s) {
      sw += pt[j].w;
      sy += pt[j].w * pt[j].y;
      ss += pt[j].w * pt[j].s;
      j++;
    }
    bv[nb] = sw > 0 ? sy / sw : 0;
    bw[nb] = sw;
    bs[nb] = sw > 0 ? ss / sw : pt[i].s;
    nb++;
    while (nb > 1 && bv[nb - 2] >= bv[nb - 1]) {
      double tw = bw[nb - 2] + bw[nb - 1];
      bv[nb - 2] = tw > 0 ? (bv[nb - 2] * bw[nb - 2] + bv[nb - 1] * bw[nb - 1]) / tw : bv[nb - 2];
      bs[nb - 2] = tw > 0 ? (bs[nb - 2] * bw[nb - 2] + bs[nb - 1] * bw[nb - 1]) / tw : bs[nb - 2];
      bw[nb - 2] = tw;
      nb--;
    }
    i = j;
  }
  /* Minimum block weight: merge the lightest block below it into its nearer neighbour (by value;
   * the first and last blocks have one neighbour), until none is left below it or two blocks
   * remain.  Two are kept: on weak signal the small end blocks would otherwise fold into the
   * middle one by one down to a constant, which ranks nobody above anybody. */
  while (nb > 2 && min_weight > 0) {
    size_t b = nb;
    double least = min_weight;
    for (size_t i = 0; i < nb; i++)
      if (bw[i] < least) {
        least = bw[i];
        b = i;
      }
    if (b == nb) break;
    size_t a = b == 0 ? 0 : b == nb - 1 ? nb - 2 : (bv[b] - bv[b - 1] <= bv[b + 1] - bv[b] ? b - 1 : b);
    double tw = bw[a] + bw[a + 1];
    if (tw > 0) {
      bv[a] = (bv[a] * bw[a] + bv[a + 1] * bw[a + 1]) / tw;
      bs[a] = (bs[a] * bw[a] + bs[a + 1] * bw[a + 1]) / tw;
    }
    bw[a] = tw;
    memmove(bv + a + 1, bv + a + 2, (nb - a - 2) * sizeof *bv);
    memmove(bs + a + 1, bs + a + 2, (nb - a - 2) * sizeof *bs);
    memmove(bw + a + 1, bw + a + 2, (nb - a - 2) * sizeof *bw);
    nb--;
  }
  free(pt);
  free(bw);
  /* The merged blocks are strictly increasing in value; knot positions are increasing too. */
  *xo = bs;
  *vo = bv;
  *ko = nb;
  return 0;
}

double pp_isotonic_apply(const double *x, const double *v, size_t k, int ends, double s) {
  if (k == 0 || s != s) return s;
  if (s <= x[0] || s >= x[k - 1]) {
    size_t last = s <= x[0] ? 0 : k - 1;
    if (ends != PP_ISO_ENDS_LINEAR || k < 2) return v[last];
    size_t a = last == 0 ? 0 : k - 2; /* the end segment [a, a + 1], continued */
    double r = v[a] + (s - x[a]) / (x[a + 1] - x[a]) * (v[a + 1] - v[a]);
    return r < 0.0 ? 0.0 : r > 1.0 ? 1.0 : r;
  }
  size_t lo = 0, hi = k - 1;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (x[mid] <= s) lo = mid;
    else hi = mid;
  }
  double t = (x[hi] - x[lo]) > 0 ? (s - x[lo]) / (x[hi] - x[lo]) : 0.0;
  return v[lo] + t * (v[hi] - v[lo]);
}

double pp_isotonic_apply_range(const double *x, const double *v, size_t k, double lo, double hi, double s) {
  if (s < lo) s = lo;
  else if (s > hi) s = hi;
  return pp_isotonic_apply(x, v, k, PP_ISO_ENDS_LINEAR, s);
}
