/* The Cholesky factor of a small dense symmetric matrix and the solves with it (the logistic member's
 * Newton steps, the contact model's customers' posteriors). */
#include "common.h"

/* Rows of L computed together.  Row i's entries left of its block are sums over k < j whose terms
 * are ready before the block starts, so the block's rows run their sums side by side: each entry
 * still adds its products in k order (the same bits as one row at a time), but eight chains of
 * additions are in flight instead of one, each waiting on its own previous addition. */
#define CHOL_ROWS 8

/* Entries j < i0 of the rows i0 .. i0 + nr - 1 (nr <= CHOL_ROWS), off the diagonal. */
static void chol_left(const double *H, size_t D, double *L, size_t i0, size_t nr) {
  for (size_t j = 0; j < i0; j++) {
    const double *Lj = L + j * D;
    double s[CHOL_ROWS];
    for (size_t r = 0; r < nr; r++) s[r] = H[(i0 + r) * D + j] + 0.0;
    if (nr == CHOL_ROWS) { /* a constant count keeps the eight sums in registers (logistic fit on 723
                              parameters: 2.02 s of CPU against 2.14 s with the general loop alone) */
      for (size_t k = 0; k < j; k++)
        for (size_t r = 0; r < CHOL_ROWS; r++) s[r] -= L[(i0 + r) * D + k] * Lj[k];
    } else {
      for (size_t k = 0; k < j; k++)
        for (size_t r = 0; r < nr; r++) s[r] -= L[(i0 + r) * D + k] * Lj[k];
    }
    for (size_t r = 0; r < nr; r++) L[(i0 + r) * D + j] = s[r] / Lj[j];
  }
}

int pp_cholesky(const double *H, size_t D, double shift, double *L) {
  for (size_t i0 = 0; i0 < D; i0 += CHOL_ROWS) {
    const size_t nr = D - i0 < CHOL_ROWS ? D - i0 : CHOL_ROWS;
    chol_left(H, D, L, i0, nr);
    for (size_t i = i0; i < i0 + nr; i++) {
      for (size_t j = i0; j <= i; j++) {
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
