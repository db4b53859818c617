/* The pipeline's calibrator: Platt scaling on the vote's log-odds, or isotonic regression of the vote,
 * as one object with its own model-file section (CALB). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate/calibrate.h"

/* The Platt calibrator's input: the vote's log-odds. */
static double platt_input(double s) { return pp_logit_clamped(s, 1e-9); }

void pp_calibrator_free(pp_calibrator *c) {
  if (!c) return;
  free(c->iso_x);
  free(c->iso_v);
  free(c);
}

static int fit_platt(pp_calibrator *c, const double *s, const float *y, size_t n) {
  double *lg = pp_malloc_array(n ? n : 1, sizeof *lg);
  if (!lg) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) lg[i] = platt_input(s[i]);
  int rc = pp_platt_fit(lg, y, n, &c->platt_a, &c->platt_b);
  free(lg);
  return rc;
}

static int fit_isotonic(pp_calibrator *c, const double *s, const float *y, size_t n, double min_rows) {
  PP_TRY(pp_isotonic_fit(s, y, NULL, n, min_rows, &c->iso_x, &c->iso_v, &c->iso_k));
  c->iso_ends = PP_ISO_ENDS_RANGE;
  c->iso_lo = INFINITY;
  c->iso_hi = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < c->iso_lo) c->iso_lo = s[i];
    if (s[i] > c->iso_hi) c->iso_hi = s[i];
  }
  return 0;
}

int pp_calibrator_fit(int kind, const double *s, const float *y, size_t n, double min_rows, pp_calibrator **out) {
  *out = NULL;
  if (kind < PP_CALIB_NONE || kind > PP_CALIB_ISOTONIC) return pp_err(PROP_ERR_ARG, "calibrator: unknown kind %d", kind);
  pp_calibrator *c = pp_calloc(1, sizeof *c);
  if (!c) return PROP_ERR_NOMEM;
  c->kind = kind;
  int rc = 0;
  if (kind == PP_CALIB_PLATT) rc = fit_platt(c, s, y, n);
  else if (kind == PP_CALIB_ISOTONIC) rc = fit_isotonic(c, s, y, n, min_rows);
  if (rc) {
    pp_calibrator_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

double pp_calibrator_apply(const pp_calibrator *c, double s) {
  switch (c->kind) {
  case PP_CALIB_PLATT: return pp_platt_apply(c->platt_a, c->platt_b, platt_input(s));
  case PP_CALIB_ISOTONIC:
    return c->iso_ends == PP_ISO_ENDS_RANGE ? pp_isotonic_apply_range(c->iso_x, c->iso_v, c->iso_k, c->iso_lo, c->iso_hi, s)
                                            : pp_isotonic_apply(c->iso_x, c->iso_v, c->iso_k, c->iso_ends, s);
  default: return s;
  }
}

int pp_calibrator_save(const pp_calibrator *c, pp_buf *out) {
  pp_put_u32(out, (uint32_t)c->kind);
  pp_put_f64(out, c->platt_a);
  pp_put_f64(out, c->platt_b);
  pp_put_u64(out, c->iso_k);
  pp_put_f64s(out, c->iso_x, c->iso_k);
  pp_put_f64s(out, c->iso_v, c->iso_k);
  pp_put_u32(out, (uint32_t)c->iso_ends); /* absent in files written before it existed: FLAT */
  if (c->iso_ends == PP_ISO_ENDS_RANGE) {
    pp_put_f64(out, c->iso_lo);
    pp_put_f64(out, c->iso_hi);
  }
  return pp_buf_status(out);
}

/* The end rule and range, present since model format 2. */
static int load_ends(pp_rd *in, pp_calibrator *c) {
  c->iso_ends = PP_ISO_ENDS_FLAT;
  if (in->pos >= in->len) return 0;
  uint32_t ends;
  PP_TRY(pp_get_u32(in, &ends));
  if (ends > PP_ISO_ENDS_RANGE) return pp_err(PROP_ERR_CORRUPT, "%s: unknown isotonic end rule %u", in->what, ends);
  c->iso_ends = (int)ends;
  if (ends == PP_ISO_ENDS_RANGE) {
    PP_TRY(pp_get_f64(in, &c->iso_lo));
    PP_TRY(pp_get_f64(in, &c->iso_hi));
    if (!(c->iso_lo <= c->iso_hi)) return pp_err(PROP_ERR_CORRUPT, "%s: invalid isotonic range", in->what);
  }
  return 0;
}

static int load_body(pp_rd *in, pp_calibrator *c) {
  uint32_t kind;
  PP_TRY(pp_get_u32(in, &kind));
  if (kind > PP_CALIB_ISOTONIC) return pp_err(PROP_ERR_CORRUPT, "%s: unknown calibrator %u", in->what, kind);
  c->kind = (int)kind;
  PP_TRY(pp_get_f64(in, &c->platt_a));
  PP_TRY(pp_get_f64(in, &c->platt_b));
  PP_TRY(pp_get_count(in, &c->iso_k, in->len / 16, "knots"));
  PP_TRY(pp_get_f64s(in, &c->iso_x, c->iso_k));
  PP_TRY(pp_get_f64s(in, &c->iso_v, c->iso_k));
  PP_TRY(load_ends(in, c));
  if (kind == PP_CALIB_ISOTONIC && c->iso_k == 0)
    return pp_err(PROP_ERR_CORRUPT, "%s: isotonic calibrator without knots", in->what);
  for (size_t k = 0; k < c->iso_k; k++)
    if (!(c->iso_v[k] >= 0 && c->iso_v[k] <= 1) || c->iso_x[k] != c->iso_x[k] || (k && !(c->iso_x[k] > c->iso_x[k - 1])))
      return pp_err(PROP_ERR_CORRUPT, "%s: invalid knot %zu", in->what, k);
  return 0;
}

int pp_calibrator_load(pp_rd *in, pp_calibrator **out) {
  *out = NULL;
  pp_calibrator *c = pp_calloc(1, sizeof *c);
  if (!c) return PROP_ERR_NOMEM;
  int rc = load_body(in, c);
  if (rc) {
    pp_calibrator_free(c);
    return rc;
  }
  *out = c;
  return 0;
}
