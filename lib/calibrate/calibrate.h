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
 * Result: a non-decreasing step function given by knots x[k] (increasing) and values v[k];
 * *x and *v are malloc'd, *k their length. */
int pp_isotonic_fit(const double *s, const float *y, const double *w, size_t n, double **x, double **v, size_t *k);
/* Linear interpolation between knots, clamped at the ends. */
double pp_isotonic_apply(const double *x, const double *v, size_t k, double s);
#endif
