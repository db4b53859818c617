/* Voting ensemble: combination of member probabilities and the fit of soft-vote weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

double pp_ensemble_combine(const prop_model *m, const double *p) {
  double s = 0.0, wsum = 0.0;
  for (size_t j = 0; j < m->nmem; j++) {
    double w = m->mem[j].weight;
    s += w * (m->voting == PP_VOTE_HARD ? (p[j] >= 0.5 ? 1.0 : 0.0) : p[j]);
    wsum += w;
  }
  return wsum > 0.0 ? s / wsum : 0.0;
}

static double clampp(double p) { return p < 1e-12 ? 1e-12 : (p > 1.0 - 1e-12 ? 1.0 - 1e-12 : p); }

static double vote_loss(const double *P, const int *y, size_t n, size_t k, const double *w, double *grad) {
  double loss = 0.0;
  if (grad) memset(grad, 0, k * sizeof *grad);
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t j = 0; j < k; j++) s += w[j] * P[i * k + j];
    double q = clampp(s);
    loss -= y[i] ? log(q) : log(1.0 - q);
    if (grad) {
      double g = y[i] ? -1.0 / q : 1.0 / (1.0 - q);
      for (size_t j = 0; j < k; j++) grad[j] += g * P[i * k + j];
    }
  }
  if (grad)
    for (size_t j = 0; j < k; j++) grad[j] /= (double)n;
  return loss / (double)n;
}

/* Exponentiated-gradient descent on the simplex (mirror descent): weights stay non-negative and
 * sum to one by construction; a backtracking step keeps the loss decreasing. */
int pp_fit_vote_weights(const double *P, const int *y, size_t n, size_t k, double *w) {
  if (k == 0 || n == 0) return pp_err(PROP_ERR_ARG, "fit vote weights: empty input");
  double *g = pp_malloc_array(k, sizeof *g), *cand = pp_malloc_array(k, sizeof *cand);
  if (!g || !cand) {
    free(g);
    free(cand);
    return PROP_ERR_NOMEM;
  }
  for (size_t j = 0; j < k; j++) w[j] = 1.0 / (double)k;
  double loss = vote_loss(P, y, n, k, w, g);
  double step = 1.0;
  for (int it = 0; it < 500 && step > 1e-10; it++) {
    double z = 0.0;
    for (size_t j = 0; j < k; j++) {
      cand[j] = w[j] * exp(-step * g[j]);
      z += cand[j];
    }
    for (size_t j = 0; j < k; j++) cand[j] /= z;
    double l2 = vote_loss(P, y, n, k, cand, NULL);
    if (l2 < loss - 1e-12) {
      double improvement = loss - l2;
      memcpy(w, cand, k * sizeof *w);
      loss = vote_loss(P, y, n, k, w, g);
      step *= 1.5;
      if (improvement < 1e-10) break;
    } else {
      step *= 0.5;
    }
  }
  free(g);
  free(cand);
  return 0;
}
