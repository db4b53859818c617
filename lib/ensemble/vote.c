/* Voting ensemble: combination of member probabilities and the fit of soft-vote weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
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

/* Exponentiated-gradient descent on the simplex (mirror descent) from the weights in w: they stay
 * non-negative and sum to one by construction, a weight of 0 stays 0 (the update is multiplicative),
 * and a backtracking step keeps the loss decreasing. */
static void eg_descend(const double *P, const int *y, size_t n, size_t k, double *w, double *g, double *cand) {
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
}

/* Log-loss weights.  Exponentiated gradient only approaches a face of the simplex: a member the vote
 * does not want ends with a weight like 1e-15, not 0, yet scoring would pay for it in full.  So weights
 * below PP_VOTE_MIN_WEIGHT are set to exactly 0 and the descent is run again from there: the remaining
 * weights are the optimum on that face, and the zero-weight members are left out of the model. */
int pp_fit_vote_weights(const double *P, const int *y, size_t n, size_t k, double *w) {
  if (k == 0 || n == 0) return pp_err(PROP_ERR_ARG, "fit vote weights: empty input");
  double *g = pp_malloc_array(k, sizeof *g), *cand = pp_malloc_array(k, sizeof *cand);
  if (!g || !cand) {
    free(g);
    free(cand);
    return PROP_ERR_NOMEM;
  }
  for (size_t j = 0; j < k; j++) w[j] = 1.0 / (double)k;
  eg_descend(P, y, n, k, w, g, cand);
  double kept = 0.0, best = 0.0;
  size_t dropped = 0, arg = 0;
  for (size_t j = 0; j < k; j++) {
    if (w[j] > best) {
      best = w[j];
      arg = j;
    }
    if (w[j] < PP_VOTE_MIN_WEIGHT) dropped++;
    else kept += w[j];
  }
  if (dropped == k) { /* cannot happen for weights summing to 1 with k < 1000; keep the largest */
    memset(w, 0, k * sizeof *w);
    w[arg] = 1.0;
  } else if (dropped) {
    for (size_t j = 0; j < k; j++) w[j] = w[j] < PP_VOTE_MIN_WEIGHT ? 0.0 : w[j] / kept;
    eg_descend(P, y, n, k, w, g, cand);
  }
  free(g);
  free(cand);
  return 0;
}

/* Greedy forward selection with replacement (Caruana et al., "Ensemble selection from libraries of models",
 * ICML 2004): start from nothing; at each of at most `rounds` steps add one more vote to the member whose
 * extra vote gives the highest AUC of the weighted mean (ties: the lower index); stop when no extra vote
 * improves the AUC.  Weights are the vote counts over their sum, so they are non-negative and sum to one.
 * Used when a calibrator follows the vote: the calibrator fixes the scale, so the weights need only rank
 * well, and members whose raw probabilities are badly scaled (class-weighted boosting) are not penalised
 * for their scale as they are by the log-loss fit. */
int pp_fit_vote_weights_auc(const double *P, const int *y, size_t n, size_t k, size_t rounds, double *w) {
  if (k == 0 || n == 0) return pp_err(PROP_ERR_ARG, "fit vote weights: empty input");
  double *sum = pp_calloc(n, sizeof *sum), *cand = pp_malloc_array(n, sizeof *cand);
  size_t *count = pp_calloc(k, sizeof *count);
  if (!sum || !cand || !count) {
    free(sum);
    free(cand);
    free(count);
    return PROP_ERR_NOMEM;
  }
  double best_auc = -1.0;
  size_t votes = 0;
  for (size_t t = 0; t < rounds; t++) {
    size_t pick = k;
    double pick_auc = best_auc;
    for (size_t j = 0; j < k; j++) {
      for (size_t i = 0; i < n; i++) cand[i] = sum[i] + P[i * k + j];
      double a = pp_auc(cand, y, n);
      if (isnan(a)) {
        free(sum);
        free(cand);
        free(count);
        return pp_err(PROP_ERR_TRAIN, "fit vote weights: the out-of-fold labels hold one class only");
      }
      if (a > pick_auc + 1e-12) {
        pick = j;
        pick_auc = a;
      }
    }
    if (pick == k) break; /* no extra vote helps */
    for (size_t i = 0; i < n; i++) sum[i] += P[i * k + pick];
    count[pick]++;
    votes++;
    best_auc = pick_auc;
  }
  for (size_t j = 0; j < k; j++) w[j] = votes ? (double)count[j] / (double)votes : 1.0 / (double)k;
  free(sum);
  free(cand);
  free(count);
  return 0;
}
