/* Isotonic regression by pool-adjacent-violators, applied by linear interpolation between the
 * block means (so that distinct scores keep distinct calibrated values where the fit allows). */
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

int pp_isotonic_fit(const double *s, const float *y, const double *w, size_t n, double **xo, double **vo, size_t *ko) {
  *xo = *vo = NULL;
  *ko = 0;
  if (n == 0) return pp_err(PROP_ERR_TRAIN, "isotonic calibration: no rows");
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
  free(pt);
  free(bw);
  /* The merged blocks are strictly increasing in value; knot positions are increasing too. */
  *xo = bs;
  *vo = bv;
  *ko = nb;
  return 0;
}

double pp_isotonic_apply(const double *x, const double *v, size_t k, double s) {
  if (k == 0 || s != s) return s;
  if (s <= x[0]) return v[0];
  if (s >= x[k - 1]) return v[k - 1];
  size_t lo = 0, hi = k - 1;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (x[mid] <= s) lo = mid;
    else hi = mid;
  }
  double t = (x[hi] - x[lo]) > 0 ? (s - x[lo]) / (x[hi] - x[lo]) : 0.0;
  return v[lo] + t * (v[hi] - v[lo]);
}
