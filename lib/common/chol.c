/* The Cholesky factor of a small dense symmetric matrix and the solves with it (the logistic member's
 * Newton steps, the contact model's customers' posteriors). */
#include "common.h"

int pp_cholesky(const double *H, size_t D, double shift, double *L) {
  for (size_t i = 0; i < D; i++) {
    for (size_t j = 0; j <= i; j++) {
      double s = H[i * D + j] + (i == j ? shift : 0.0);
      const double *Li = L + i * D, *Lj = L + j * D;
      for (size_t k = 0; k < j; k++) s -= Li[k] * Lj[k];
      if (i == j) {
        if (!(s > 0) || !isfinite(s)) return -1;
        L[i * D + i] = sqrt(s);
      } else {
        L[i * D + j] = s / L[j * D + j];
      }
    }
  }
  return 0;
}

void pp_chol_back(const double *L, size_t D, double *x) {
  for (size_t i = D; i-- > 0;) {
    double s = x[i];
    for (size_t k = i + 1; k < D; k++) s -= L[k * D + i] * x[k];
    x[i] = s / L[i * D + i];
  }
}

void pp_chol_solve(const double *L, size_t D, double *x) {
  for (size_t i = 0; i < D; i++) {
    double s = x[i];
    for (size_t k = 0; k < i; k++) s -= L[i * D + k] * x[k];
    x[i] = s / L[i * D + i];
  }
  pp_chol_back(L, D, x);
}
