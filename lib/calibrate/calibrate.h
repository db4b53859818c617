/* lib/calibrate: map scores to calibrated probabilities.  Depends on common only.
 * The pipeline's calibrator is a pp_calibrator (fit, apply, save, load: the model file's CALB section);
 * members may use the Platt fit alone (SVC turns decision values into probabilities with it). */
#ifndef PP_CALIBRATE_H
#define PP_CALIBRATE_H

#include "common/common.h"

/* Platt scaling: fit P(y=1|f) = 1 / (1 + exp(A f + B)) on decision values f[n] and labels
 * y[n] (0/1), with the smoothed targets of Platt (1999) and the Newton method with backtracking
 * line search of Lin, Lin and Weng (2007).  Deterministic.  PROP_ERR_TRAIN on one class. */
int pp_platt_fit(const double *f, const float *y, size_t n, double *A, double *B);
/* 1 / (1 + exp(A f + B)), computed without overflow. */
double pp_platt_apply(double A, double B, double f);

/* Isotonic regression (pool adjacent violators) of y on score s with weights w (NULL = 1).
 * Result: knots x[k] (increasing; each the weighted mean score of its block) with values v[k]
 * (strictly increasing, each the block's weighted mean of y); *x and *v are malloc'd, *k their
 * length.  min_weight > 0 asks that every block weigh at least that much (with w = NULL: hold at
 * least that many rows): after PAV, the lightest block below it is merged into the neighbour
 * whose value is nearer, until none is left below it or two blocks remain (one block would be a
 * constant, which ranks nobody; PAV itself still gives one when the scores carry no order).  Merging
 * neighbours of an increasing sequence keeps it increasing; a probability is then never claimed
 * on the evidence of a handful of rows. */
int pp_isotonic_fit(const double *s, const float *y, const double *w, size_t n, double min_weight, double **x,
                    double **v, size_t *k); /* a NaN score: PROP_ERR_VALUE naming it */
/* How scores outside the knots [x[0], x[k-1]] are treated: FLAT and LINEAR by pp_isotonic_apply,
 * RANGE by pp_isotonic_apply_range. */
enum { PP_ISO_ENDS_FLAT = 0, PP_ISO_ENDS_LINEAR = 1, PP_ISO_ENDS_RANGE = 2 };
/* Linear interpolation between knots.  Outside them: FLAT holds the end values (every score
 * beyond a knot ties); LINEAR continues the end segments, clamped to [0, 1], so that the map stays
 * strictly increasing (the ranking, and so the AUC, of the scores is kept).  NaN gives NaN. */
double pp_isotonic_apply(const double *x, const double *v, size_t k, int ends, double s);
/* RANGE: LINEAR for scores inside [lo, hi], the range of the scores the calibrator was fitted on, and
 * the value at lo or hi beyond it.  The map is strictly increasing over the whole fitted range (the
 * ranking of every score seen in fitting is kept), and it never claims a probability beyond the one
 * it gives the most extreme fitted score: a new score past every training score ties with it
 * instead of being extrapolated into a band no training row reached.  NaN gives NaN. */
double pp_isotonic_apply_range(const double *x, const double *v, size_t k, double lo, double hi, double s);

/* ---- the pipeline's calibrator: one object, its own model-file section -------------------------- */
/* The kinds of calibrator (fixed values: they are stored in model files). */
enum { PP_CALIB_NONE = 0, PP_CALIB_PLATT = 1, PP_CALIB_ISOTONIC = 2 };

typedef struct pp_calibrator {
  int kind;               /* PP_CALIB_* */
  double platt_a, platt_b; /* PLATT: 1 / (1 + exp(a logit(s) + b)), logit with s clamped to [1e-9, 1 - 1e-9] */
  double *iso_x, *iso_v;  /* ISOTONIC: iso_k knots and values (pp_isotonic_fit) */
  size_t iso_k;
  int iso_ends;           /* PP_ISO_ENDS_*: RANGE when fitted now; LINEAR or FLAT in older model files */
  double iso_lo, iso_hi;  /* RANGE: the lowest and highest score the calibrator was fitted on */
} pp_calibrator;

/* Fit a calibrator of the given kind on scores s[n] (the out-of-fold ensemble scores, in [0, 1]) and
 * labels y[n].  Isotonic: every level holds at least min_rows rows (see pp_isotonic_fit) and the ends
 * follow the RANGE rule over the scores' range.  NONE fits nothing.  Free *out with pp_calibrator_free. */
int pp_calibrator_fit(int kind, const double *s, const float *y, size_t n, double min_rows, pp_calibrator **out);
/* The calibrated probability of score s (NONE: s itself).  Thread-safe (reads c only). */
double pp_calibrator_apply(const pp_calibrator *c, double s);
void pp_calibrator_free(pp_calibrator *c); /* NULL is a no-op */
/* The CALB payload: u32 kind, f64 a, f64 b, u64 knots, the knots' x and v (f64 each), u32 end rule, and
 * with RANGE the f64 range.  Files written before the end rule existed stop after the knots (FLAT).  load
 * checks the kind, the knot count against the bytes present, every knot (x increasing, v in [0, 1]) and
 * the range; messages name in->what. */
int pp_calibrator_save(const pp_calibrator *c, pp_buf *out);
int pp_calibrator_load(pp_rd *in, pp_calibrator **out);
#endif
