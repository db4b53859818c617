/* The voting ensemble: the vote object (apply, save, load) and the fits of its weights. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ensemble/vote.h"
#include "eval/metrics.h"

int pp_vote_create(int kind, size_t n, pp_vote **out) {
  *out = NULL;
  if (kind < PP_VOTE_SOFT || kind > PP_VOTE_LOGIT) return pp_err(PROP_ERR_ARG, "vote: unknown kind %d", kind);
  if (n == 0 || n > PP_VOTE_MAX_MEMBERS)
    return pp_err(PROP_ERR_ARG, "vote: %zu members (1 to %d)", n, PP_VOTE_MAX_MEMBERS);
  pp_vote *v = pp_calloc(1, sizeof *v);
  if (!v) return PROP_ERR_NOMEM;
  v->kind = kind;
  v->n = n;
  v->weight = pp_calloc(n, sizeof *v->weight);
  v->names = pp_calloc(n, sizeof *v->names);
  if (!v->weight || !v->names) {
    pp_vote_free(v);
    return PROP_ERR_NOMEM;
  }
  *out = v;
  return 0;
}

int pp_vote_set_member(pp_vote *v, size_t i, const char *name, double weight) {
  if (i >= v->n || !name) return pp_err(PROP_ERR_ARG, "vote: member %zu of %zu", i, v->n);
  char *copy = pp_strdup(name);
  if (!copy) return PROP_ERR_NOMEM;
  free(v->names[i]);
  v->names[i] = copy;
  v->weight[i] = weight;
  return 0;
}

void pp_vote_free(pp_vote *v) {
  if (!v) return;
  for (size_t i = 0; v->names && i < v->n; i++) free(v->names[i]);
  free(v->names);
  free(v->weight);
  free(v);
}

double pp_vote_logit(double p) { return pp_logit_clamped(p, PP_LOGIT_EPS); }

double pp_vote_term(int kind, double p) {
  if (kind == PP_VOTE_HARD) return p >= 0.5 ? 1.0 : 0.0;
  if (kind == PP_VOTE_LOGIT) return pp_vote_logit(p);
  return p;
}

/* The weighted mean of the members' terms, and whether the weights were positive. */
static double vote_mean(const pp_vote *v, const double *p, int *ok) {
  double s = 0.0, wsum = 0.0;
  for (size_t j = 0; j < v->n; j++) {
    double w = v->weight[j];
    s += w * pp_vote_term(v->kind, p[j]);
    wsum += w;
  }
  *ok = wsum > 0.0;
  return *ok ? s / wsum : 0.0;
}

double pp_vote_apply(const pp_vote *v, const double *p) {
  int ok;
  double r = vote_mean(v, p, &ok);
  if (!ok) return 0.0;
  return v->kind == PP_VOTE_LOGIT ? 1.0 / (1.0 + exp(-r)) : r;
}

double pp_vote_logodds(const pp_vote *v, const double *p) {
  int ok;
  double r = vote_mean(v, p, &ok);
  return v->kind == PP_VOTE_LOGIT && ok ? r : pp_vote_logit(r);
}

int pp_vote_save(const pp_vote *v, pp_buf *out) {
  pp_put_u32(out, (uint32_t)v->kind);
  pp_put_u32(out, (uint32_t)v->n);
  for (size_t j = 0; j < v->n; j++) {
    pp_put_str(out, v->names[j]);
    pp_put_f64(out, v->weight[j]);
  }
  return pp_buf_status(out);
}

int pp_vote_load(pp_rd *in, size_t max_members, pp_vote **out) {
  *out = NULL;
  uint32_t kind, n;
  PP_TRY(pp_get_u32(in, &kind));
  PP_TRY(pp_get_u32(in, &n));
  if (kind > PP_VOTE_LOGIT || n == 0 || n > max_members || n > PP_VOTE_MAX_MEMBERS)
    return pp_err(PROP_ERR_CORRUPT, "%s: invalid voting (%u) or member count (%u)", in->what, kind, n);
  pp_vote *v = NULL;
  PP_TRY(pp_vote_create((int)kind, n, &v));
  int rc = 0;
  for (uint32_t j = 0; j < n && !rc; j++) {
    rc = pp_get_str(in, &v->names[j]);
    if (!rc && !v->names[j]) rc = pp_err(PROP_ERR_CORRUPT, "%s: member %u has no name", in->what, j);
    if (!rc) rc = pp_get_f64(in, &v->weight[j]);
    if (!rc && !(v->weight[j] >= 0 && v->weight[j] <= 1e6))
      rc = pp_err(PROP_ERR_CORRUPT, "%s: member %u has an invalid weight", in->what, j);
  }
  if (rc) {
    pp_vote_free(v);
    return rc;
  }
  *out = v;
  return 0;
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
  const unsigned mark = pp_alloc_mark(); /* pp_auc is NaN when its allocation fails, too */
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
        return pp_alloc_failed_since(mark) ? PROP_ERR_NOMEM
                                           : pp_err(PROP_ERR_TRAIN, "fit vote weights: the out-of-fold labels hold one class only");
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

/* ---- weights of the logit vote: logistic stacking ---------------------------------------------------
 * The parameters are theta = (v_0 .. v_{k-1}, a): the loss is the mean log-loss of logistic(a + L_i . v) with
 * L_i the row's member log-odds, convex in theta.  Projected Newton: a v_j at 0 whose gradient pushes it
 * below 0 is held at 0; the others (and a) take the Newton step of their block of the Hessian, cut in half
 * until the loss drops, and the v are projected back onto v >= 0.  A few iterations suffice (k <= 32). */

#define LG_MAX_IT 100

static double lg_loss(const double *L, const int *y, size_t n, size_t k, const double *th, const unsigned char *on) {
  double loss = 0.0;
  for (size_t i = 0; i < n; i++) {
    double z = th[k];
    for (size_t j = 0; j < k; j++)
      if (on[j]) z += th[j] * L[i * k + j];
    loss += pp_softplus(z) - (y[i] ? z : 0.0);
  }
  return loss / (double)n;
}

/* Gradient g[k+1] and Hessian H[(k+1)^2] of the mean loss at th (members with on[j] == 0 get zero rows). */
static void lg_derivs(const double *L, const int *y, size_t n, size_t k, const double *th, const unsigned char *on,
                      double *g, double *H, double *x) {
  const size_t K = k + 1;
  memset(g, 0, K * sizeof *g);
  memset(H, 0, K * K * sizeof *H);
  for (size_t i = 0; i < n; i++) {
    double z = th[k];
    for (size_t j = 0; j < k; j++) {
      x[j] = on[j] ? L[i * k + j] : 0.0;
      z += th[j] * x[j];
    }
    x[k] = 1.0;
    const double p = 1.0 / (1.0 + exp(-z)), r = p - (y[i] ? 1.0 : 0.0), h = p * (1.0 - p);
    for (size_t a = 0; a < K; a++) {
      g[a] += r * x[a];
      for (size_t b = 0; b <= a; b++) H[a * K + b] += h * x[a] * x[b];
    }
  }
  for (size_t a = 0; a < K; a++) {
    g[a] /= (double)n;
    for (size_t b = 0; b <= a; b++) H[b * K + a] = H[a * K + b] /= (double)n;
  }
}

/* Solve A_II x = b, A_II the symmetric positive (semi)definite block of A (row stride K) on the rows and
 * columns idx[0..m), by Cholesky with a small ridge: the factor goes to Lc (m x m), b is overwritten with
 * x, A is only read.  Returns 0, or -1 when the block is not usable. */
static int lg_solve(const double *A, size_t K, const size_t *idx, size_t m, double *b, double *Lc) {
  double tr = 0.0;
  for (size_t a = 0; a < m; a++) tr += A[idx[a] * K + idx[a]];
  const double ridge = 1e-10 * (tr > 0 ? tr / (double)m : 1.0) + 1e-300;
  for (size_t a = 0; a < m; a++)
    for (size_t c = 0; c <= a; c++) {
      double v = A[idx[a] * K + idx[c]] + (a == c ? ridge : 0.0);
      for (size_t t = 0; t < c; t++) v -= Lc[a * m + t] * Lc[c * m + t];
      if (a == c) {
        if (!(v > 0.0)) return -1;
        Lc[a * m + a] = sqrt(v);
      } else Lc[a * m + c] = v / Lc[c * m + c];
    }
  for (size_t a = 0; a < m; a++) { /* forward */
    double v = b[a];
    for (size_t t = 0; t < a; t++) v -= Lc[a * m + t] * b[t];
    b[a] = v / Lc[a * m + a];
  }
  for (size_t a = m; a-- > 0;) { /* backward */
    double v = b[a];
    for (size_t t = a + 1; t < m; t++) v -= Lc[t * m + a] * b[t];
    b[a] = v / Lc[a * m + a];
  }
  return 0;
}

/* Minimise over the members with on[j] (the others stay at 0); th holds the start and gets the optimum.
 * work: 2 (k+1)^2 + 5 (k+1) doubles; idx: k + 1 entries. */
static void lg_fit(const double *L, const int *y, size_t n, size_t k, const unsigned char *on, double *th,
                   double *work, size_t *idx) {
  const size_t K = k + 1;
  double *g = work, *H = g + K, *x = H + K * K, *d = x + K, *Lc = d + K, *cand = Lc + K * K;
  double loss = lg_loss(L, y, n, k, th, on);
  for (int it = 0; it < LG_MAX_IT; it++) {
    lg_derivs(L, y, n, k, th, on, g, H, x);
    size_t m = 0;
    for (size_t j = 0; j < k; j++)
      if (on[j] && (th[j] > 0.0 || g[j] < 0.0)) idx[m++] = j;
    idx[m++] = k; /* the intercept is free */
    for (size_t a = 0; a < m; a++) d[a] = -g[idx[a]];
    if (lg_solve(H, K, idx, m, d, Lc) != 0)
      for (size_t a = 0; a < m; a++) d[a] = -g[idx[a]]; /* gradient step if the block is singular */
    double t = 1.0, l2 = loss;
    int moved = 0;
    for (int h = 0; h < 40; h++, t *= 0.5) {
      memcpy(cand, th, K * sizeof *cand);
      for (size_t a = 0; a < m; a++) {
        double v = th[idx[a]] + t * d[a];
        cand[idx[a]] = idx[a] < k && v < 0.0 ? 0.0 : v;
      }
      l2 = lg_loss(L, y, n, k, cand, on);
      if (l2 < loss) {
        moved = 1;
        break;
      }
    }
    if (!moved) break;
    const double gain = loss - l2;
    memcpy(th, cand, K * sizeof *th);
    loss = l2;
    if (gain < 1e-13) break;
  }
}

int pp_fit_vote_weights_logit(const double *P, const int *y, size_t n, size_t k, double *w) {
  if (k == 0 || n == 0) return pp_err(PROP_ERR_ARG, "fit vote weights: empty input");
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) pos += y[i] != 0;
  if (pos == 0 || pos == n) return pp_err(PROP_ERR_TRAIN, "fit vote weights: the out-of-fold labels hold one class only");
  const size_t K = k + 1;
  double *L = pp_malloc_array(n, k * sizeof *L);
  double *work = pp_malloc_array(2 * K * K + 5 * K, sizeof *work);
  double *th = pp_malloc_array(K, sizeof *th);
  size_t *idx = pp_malloc_array(K, sizeof *idx);
  unsigned char *on = pp_malloc_array(k, 1);
  if (!L || !work || !th || !idx || !on) {
    free(L);
    free(work);
    free(th);
    free(idx);
    free(on);
    return PROP_ERR_NOMEM;
  }
  for (size_t i = 0; i < n * k; i++) L[i] = pp_vote_logit(P[i]);
  for (size_t j = 0; j < k; j++) {
    on[j] = 1;
    th[j] = 1.0 / (double)k;
  }
  th[k] = 0.0;
  lg_fit(L, y, n, k, on, th, work, idx);
  double sum = 0.0;
  for (size_t j = 0; j < k; j++) sum += th[j];
  size_t dropped = 0;
  if (sum > 0.0)
    for (size_t j = 0; j < k; j++)
      if (th[j] / sum < PP_VOTE_MIN_WEIGHT) {
        on[j] = 0;
        th[j] = 0.0;
        dropped++;
      }
  if (sum > 0.0 && dropped) { /* the optimum with the tiny weights held at 0 */
    lg_fit(L, y, n, k, on, th, work, idx);
    sum = 0.0;
    for (size_t j = 0; j < k; j++) sum += on[j] ? th[j] : 0.0;
  }
  if (sum > 0.0)
    for (size_t j = 0; j < k; j++) w[j] = on[j] ? th[j] / sum : 0.0;
  else
    for (size_t j = 0; j < k; j++) w[j] = j == 0 ? 1.0 : 0.0;
  free(L);
  free(work);
  free(th);
  free(idx);
  free(on);
  return 0;
}
