/* Platt scaling: P(y=1|f) = 1 / (1 + exp(A f + B)).
 *
 * The fit minimises the cross-entropy against Platt's smoothed targets
 *   t+ = (N+ + 1) / (N+ + 2) for positives,  t- = 1 / (N- + 2) for negatives
 * (a Bayes prior that keeps A, B finite on separable scores), by Newton's method on (A, B) with a
 * tiny ridge on the Hessian and a backtracking (Armijo) line search, the procedure analysed by
 * Lin, Lin and Weng (2007).  Every logistic term is evaluated on the side where exp() cannot
 * overflow. */
#include <math.h>
#include <stdlib.h>

#include "calibrate/calibrate.h"

#define PLATT_MAX_ITER 100
#define PLATT_MIN_STEP 1e-10
#define PLATT_RIDGE 1e-12 /* keeps the Hessian positive definite */
#define PLATT_GTOL 1e-5
#define PLATT_ARMIJO 1e-4

/* log(1 + exp(-|z|)) style evaluation of one term t*z' of the objective:
 *   -[t log p + (1-t) log(1-p)]  with p = 1/(1+exp(z)),  z = A f + B
 * = t z + log(1 + exp(-z))   (z >= 0)
 * = (t - 1) z + log(1 + exp(z))   (z < 0). */
static double term(double t, double z) {
  if (z >= 0) return t * z + log1p(exp(-z));
  return (t - 1.0) * z + log1p(exp(z));
}

static double objective(const double *f, const double *t, size_t n, double A, double B) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += term(t[i], A * f[i] + B);
  return s;
}

double pp_platt_apply(double A, double B, double f) {
  double z = A * f + B;
  if (z != z) return NAN;
  if (z >= 0) {
    double e = exp(-z); /* in (0, 1] */
    return e / (1.0 + e);
  }
  return 1.0 / (1.0 + exp(z));
}

int pp_platt_fit(const double *f, const float *y, size_t n, double *A, double *B) {
  if (!f || !y || !A || !B) return pp_err(PROP_ERR_ARG, "platt: NULL argument");
  size_t npos = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(f[i])) return pp_err(PROP_ERR_VALUE, "platt: score %zu is not finite", i);
    npos += y[i] > 0.5f;
  }
  size_t nneg = n - npos;
  if (npos == 0 || nneg == 0)
    return pp_err(PROP_ERR_TRAIN, "platt: the scores hold only one class (%zu positives of %zu)", npos, n);

  double *t = pp_malloc_array(n, sizeof *t);
  if (!t) return PROP_ERR_NOMEM;
  const double hi = ((double)npos + 1.0) / ((double)npos + 2.0);
  const double lo = 1.0 / ((double)nneg + 2.0);
  for (size_t i = 0; i < n; i++) t[i] = y[i] > 0.5f ? hi : lo;

  double a = 0.0, b = log(((double)nneg + 1.0) / ((double)npos + 1.0));
  double fval = objective(f, t, n, a, b);

  for (int it = 0; it < PLATT_MAX_ITER; it++) {
    /* gradient and Hessian of the objective at (a, b) */
    double h11 = PLATT_RIDGE, h22 = PLATT_RIDGE, h21 = 0, g1 = 0, g2 = 0;
    for (size_t i = 0; i < n; i++) {
      double z = a * f[i] + b, p, q; /* p = P(y=1) = 1/(1+e^z), q = 1 - p */
      if (z >= 0) {
        double e = exp(-z);
        p = e / (1.0 + e);
        q = 1.0 / (1.0 + e);
      } else {
        double e = exp(z);
        p = 1.0 / (1.0 + e);
        q = e / (1.0 + e);
      }
      double w = p * q, r = t[i] - p;
      h11 += f[i] * f[i] * w;
      h22 += w;
      h21 += f[i] * w;
      g1 += f[i] * r;
      g2 += r;
    }
    if (fabs(g1) < PLATT_GTOL && fabs(g2) < PLATT_GTOL) break;

    /* Newton direction: solve H d = -g (2x2, positive definite) */
    double det = h11 * h22 - h21 * h21;
    if (!(det > 0)) break;
    double da = -(h22 * g1 - h21 * g2) / det;
    double db = -(-h21 * g1 + h11 * g2) / det;
    double gd = g1 * da + g2 * db; /* directional derivative: < 0 */

    double step = 1.0;
    int moved = 0;
    while (step >= PLATT_MIN_STEP) {
      double na = a + step * da, nb = b + step * db;
      double nf = objective(f, t, n, na, nb);
      if (nf < fval + PLATT_ARMIJO * step * gd) {
        a = na;
        b = nb;
        fval = nf;
        moved = 1;
        break;
      }
      step *= 0.5;
    }
    if (!moved) break; /* line search failed: (a, b) is as good as floating point allows */
  }
  free(t);
  *A = a;
  *B = b;
  return 0;
}
