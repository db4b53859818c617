/* lib/bands: probability bands, Wilson intervals and band tables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bands/bands.h"

const double pp_default_edges[PROP_DEFAULT_NBANDS + 1] = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0};

int pp_bands_validate(const double *edges, size_t nbands, const char *field) {
  if (nbands < 2 || nbands > 64)
    return pp_err(PROP_ERR_RECIPE, "%s: must hold 3 to 65 edges (2 to 64 bands), got %zu edges", field, nbands + 1);
  for (size_t b = 0; b <= nbands; b++)
    if (!isfinite(edges[b]))
      return pp_err(PROP_ERR_RECIPE, "%s[%zu]: must be a finite number", field, b);
  if (edges[0] != 0.0) return pp_err(PROP_ERR_RECIPE, "%s[0]: the first edge must be 0, got %s", field, PP_G(edges[0]));
  if (edges[nbands] != 1.0)
    return pp_err(PROP_ERR_RECIPE, "%s[%zu]: the last edge must be 1, got %s", field, nbands, PP_G(edges[nbands]));
  for (size_t b = 1; b <= nbands; b++)
    if (!(edges[b] > edges[b - 1]))
      return pp_err(PROP_ERR_RECIPE, "%s[%zu]: edges must increase strictly (%s after %s)", field, b, PP_G(edges[b]),
                    PP_G(edges[b - 1]));
  return 0;
}

int pp_band_of(const double *edges, size_t nbands, double p) {
  if (isnan(p)) return 0;
  /* The largest b in 1..nbands with edges[b-1] <= p: binary search over the inner edges. */
  size_t lo = 1, hi = nbands; /* answer in [lo, hi] */
  while (lo < hi) {
    size_t mid = lo + (hi - lo + 1) / 2;
    if (edges[mid - 1] <= p) lo = mid;
    else hi = mid - 1;
  }
  return (int)lo;
}

int pp_bands_init(pp_bands *b, const double *edges, size_t n, const char *field) {
  PP_TRY(pp_bands_validate(edges, n, field));
  b->n = n;
  memcpy(b->edges, edges, (n + 1) * sizeof *edges);
  return 0;
}

int pp_bands_save(const pp_bands *b, pp_buf *out) {
  pp_put_u64(out, b->n);
  pp_put_f64s(out, b->edges, b->n + 1);
  return pp_buf_status(out);
}

int pp_bands_load(pp_rd *in, pp_bands *b) {
  PP_TRY(pp_get_count(in, &b->n, 64, "band count"));
  for (size_t k = 0; k <= b->n; k++) PP_TRY(pp_get_f64(in, &b->edges[k]));
  if (pp_bands_validate(b->edges, b->n, "BAND")) return pp_err_prefix(PROP_ERR_CORRUPT, "%s: ", in->what);
  return 0;
}

void pp_wilson(size_t k, size_t n, double z, double *lo, double *hi) {
  if (n == 0) {
    *lo = *hi = NAN;
    return;
  }
  double nn = (double)n, ph = (double)k / nn, z2 = z * z;
  double denom = 1.0 + z2 / nn;
  double centre = (ph + z2 / (2.0 * nn)) / denom;
  double half = z * sqrt(ph * (1.0 - ph) / nn + z2 / (4.0 * nn * nn)) / denom;
  *lo = k == 0 ? 0.0 : fmax(0.0, centre - half);
  *hi = k == n ? 1.0 : fmin(1.0, centre + half);
}

PROP_API int prop_band_table(const double *prob, const int *y, const int *connected, size_t n, const double *edges,
                             size_t nbands, prop_band_row *rows, size_t *n_unscored) {
  if ((!prob || !y) && n) return pp_err(PROP_ERR_ARG, "prop_band_table: NULL prob or labels");
  if (!edges || !rows) return pp_err(PROP_ERR_ARG, "prop_band_table: NULL edges or rows");
  if (pp_bands_validate(edges, nbands, "band edges")) /* the caller's array, not a recipe */
    return pp_err_prefix(PROP_ERR_ARG, "prop_band_table: ");
  for (size_t i = 0; i < n; i++) {
    if (prob[i] == prob[i] && !(prob[i] >= 0.0 && prob[i] <= 1.0))
      return pp_err(PROP_ERR_VALUE, "prop_band_table: prob[%zu] is %g, not a probability in [0, 1]", i, prob[i]);
    if (y[i] != 0 && y[i] != 1) return pp_err(PROP_ERR_VALUE, "prop_band_table: label %zu is %d, not 0 or 1", i, y[i]);
    if (connected && connected[i] != 0 && connected[i] != 1)
      return pp_err(PROP_ERR_VALUE, "prop_band_table: connected %zu is %d, not 0 or 1", i, connected[i]);
  }
  memset(rows, 0, nbands * sizeof *rows);
  double *psum = pp_calloc(nbands, sizeof *psum);
  size_t *pos_conn = pp_calloc(nbands, sizeof *pos_conn);
  if (!psum || !pos_conn) {
    free(psum);
    free(pos_conn);
    return PROP_ERR_NOMEM;
  }
  size_t scored = 0, unscored = 0, all_pos = 0;
  for (size_t i = 0; i < n; i++) {
    int b = pp_band_of(edges, nbands, prob[i]);
    if (b == 0) {
      unscored++;
      continue;
    }
    prop_band_row *r = &rows[b - 1];
    r->count++;
    r->positives += (size_t)y[i];
    psum[b - 1] += prob[i];
    if (connected && connected[i]) {
      r->connected++;
      pos_conn[b - 1] += (size_t)y[i];
    }
    scored++;
    all_pos += (size_t)y[i];
  }
  double base = scored ? (double)all_pos / (double)scored : NAN;
  for (size_t b = 0; b < nbands; b++) {
    prop_band_row *r = &rows[b];
    r->band = (int)b + 1;
    r->lo = edges[b];
    r->hi = edges[b + 1];
    r->share = scored ? (double)r->count / (double)scored : NAN;
    r->success_rate = r->count ? (double)r->positives / (double)r->count : NAN;
    pp_wilson(r->positives, r->count, 1.959963984540054, &r->success_lo, &r->success_hi);
    r->lift = (r->count && base > 0) ? r->success_rate / base : NAN;
    r->mean_prob = r->count ? psum[b] / (double)r->count : NAN;
    r->connect_rate = (connected && r->count) ? (double)r->connected / (double)r->count : NAN;
    r->success_connected = (connected && r->connected) ? (double)pos_conn[b] / (double)r->connected : NAN;
  }
  free(psum);
  free(pos_conn);
  if (n_unscored) *n_unscored = unscored;
  return 0;
}
