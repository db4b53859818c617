/* lib/calibrate: map scores to calibrated probabilities.  Depends on common only.
 * Members may use the Platt fit (SVC turns decision values into probabilities with it). */
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
#endif
