/* The contact model's estimation (the model: contact.h, models/README.md "The contact model").
 *
 * Three steps, none of them iterative over the whole data:
 *  1. Cells and segments, on the marginal scale (what a random customer of the segment does): each
 *     cell's pooled rate, and each segment x cell rate shrunk toward it on the log-odds scale with
 *     the between-segment variance tau2 estimated by DerSimonian and Laird's method of moments,
 *     pooled over the cells.
 *  2. The customers' variances, by pairwise moments.  Two attempts of one customer share its
 *     intercept w, and its channel deviation u when on the same channel, its slot deviation v
 *     when in the same slot.  With the logistic function read as a normal CDF (logistic(x) ~
 *     Phi(x sqrt(pi / 8)): a latent N(0, 8 / pi) noise per attempt), the covariance of two outcomes
 *     with marginal rates Phi(a), Phi(b) and latent correlation r is Phi2(a, b; r) - Phi(a) Phi(b)
 *     = the integral over [0, r] of the bivariate normal density (Plackett's identity).  Over the
 *     pairs of attempts in distinct cells of the same customer, by class (same channel, same slot,
 *     neither), the correlation whose expected sum equals the observed sum of products of the
 *     residuals (y - rate) is found by bisection; the three correlations give sw2, su2, sv2.
 *     (Pairs in the same cell are left out: a customer x cell effect, which the model has not, would
 *     inflate them.)  Being moments, these are not pulled toward zero where each customer has few
 *     attempts, as the Laplace-approximate likelihood is with binary outcomes and small clusters.
 *  3. Each customer with history: the posterior mode of (w, u, v) given those variances and its
 *     segment's cells, by Newton's method on the (log-concave) posterior, and the covariance as the
 *     inverse Hessian at the mode (Laplace's approximation).
 * Predictions integrate the posterior: P = E[logistic(eta)] ~ logistic(mean / sqrt(1 + pi var / 8))
 * (0.3927 = pi / 8 below); the conditional cell offset of a segment is set so that this formula
 * gives back its marginal rate for a customer without history. */
#include <stdlib.h>
#include <string.h>

#include "contact/contact.h"

#define VAR_FLOOR 1e-4
#define PI_8 0.39269908169872414  /* pi / 8 */
#define KAPPA2 2.5464790894703255 /* 8 / pi: the latent noise's variance */
#define MGRID 161                 /* probit scores -4 .. 4 in steps of 0.05 */
#define MSTEP 0.05

static double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)); }

static double clamp_p(double p) { return p < 1e-6 ? 1e-6 : p > 1 - 1e-6 ? 1 - 1e-6 : p; }
static double logit(double p) { return log(clamp_p(p) / (1 - clamp_p(p))); }

/* Phi^-1(p), by Newton's method on erfc from the logistic guess. */
static double probit(double p) {
  p = clamp_p(p);
  double x = logit(p) / 1.5958;
  for (int it = 0; it < 30; it++) {
    double f = 0.5 * erfc(-x / 1.4142135623730951) - p, d = exp(-0.5 * x * x) / 2.5066282746310002;
    if (!(d > 0)) break;
    double step = f / d;
    x -= step;
    if (fabs(step) < 1e-12) break;
  }
  return x;
}

/* ---- the state ------------------------------------------------------------------------------------
 * A customer's parameters: 0 its intercept w, 1 + h its deviation on channel h, 1 + H + t on slot t. */
enum { V_W = 0, V_U = 1, V_V = 2 };

typedef struct state {
  const pp_cdata *d;
  size_t H, T, K, S, P; /* channels, slots, cells, segments, parameters per customer */
  double *rate;         /* (S + 1) x K marginal rates: segment s, and row S for no segment (the cells') */
  double *offs;         /* (S + 1) x K the conditional offsets giving those rates */
  size_t *start;        /* ncust + 1: obs of customer i are obs[start[i] .. start[i+1]) */
  double var[3];        /* sw2, su2, sv2 */
  double tau2;
  int nthread;
} state;

static size_t seg_row(const state *s, size_t i) { return s->d->seg[i] >= 0 ? (size_t)s->d->seg[i] : s->S; }

/* ---- 1. cells and segments ------------------------------------------------------------------------ */
static int cell_rates(state *s) {
  size_t R = s->S + 1;
  double *n = pp_calloc(2 * R * s->K, sizeof *n), tn = 0, ty = 0;
  if (!n) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < s->d->ncust; i++)
    for (size_t o = s->start[i]; o < s->start[i + 1]; o++) {
      const pp_cobs *ob = &s->d->obs[o];
      double *c = n + 2 * (seg_row(s, i) * s->K + ob->cell), *g = n + 2 * (s->S * s->K + ob->cell);
      if (c != g) c[0] += ob->n, c[1] += ob->y;
      g[0] += ob->n;
      g[1] += ob->y;
      tn += ob->n;
      ty += ob->y;
    }
  double overall = (ty + 0.5) / (tn + 1);
  double qsum = 0, csum = 0; /* DerSimonian-Laird, pooled over the cells */
  for (size_t k = 0; k < s->K; k++) {
    const double *g = n + 2 * (s->S * s->K + k);
    s->rate[s->S * s->K + k] = (g[1] + overall) / (g[0] + 1);
    double sw = 0, swl = 0, sww = 0, q = 0;
    size_t m = 0;
    for (size_t seg = 0; seg < s->S; seg++) {
      const double *c = n + 2 * (seg * s->K + k);
      if (c[0] <= 0) continue;
      double l = log((c[1] + 0.5) / (c[0] - c[1] + 0.5)), w = 1.0 / (1.0 / (c[1] + 0.5) + 1.0 / (c[0] - c[1] + 0.5));
      sw += w, swl += w * l, sww += w * w;
      m++;
    }
    for (size_t seg = 0; seg < s->S && m > 1; seg++) {
      const double *c = n + 2 * (seg * s->K + k);
      if (c[0] <= 0) continue;
      double l = log((c[1] + 0.5) / (c[0] - c[1] + 0.5)), w = 1.0 / (1.0 / (c[1] + 0.5) + 1.0 / (c[0] - c[1] + 0.5));
      q += w * (l - swl / sw) * (l - swl / sw);
    }
    if (m > 1) qsum += q - (double)(m - 1), csum += sw - sww / sw;
  }
  s->tau2 = csum > 0 && qsum > 0 ? qsum / csum : 0.0;
  for (size_t seg = 0; seg < s->S; seg++)
    for (size_t k = 0; k < s->K; k++) { /* the segment's log-odds shrunk toward the cell's */
      const double *c = n + 2 * (seg * s->K + k);
      double lg = logit(s->rate[s->S * s->K + k]), v = 1.0 / (c[1] + 0.5) + 1.0 / (c[0] - c[1] + 0.5);
      double l = c[0] > 0 ? log((c[1] + 0.5) / (c[0] - c[1] + 0.5)) : lg, b = s->tau2 / (s->tau2 + v);
      s->rate[seg * s->K + k] = sigmoid(lg + (c[0] > 0 ? b : 0.0) * (l - lg));
    }
  free(n);
  return 0;
}

/* ---- 2. the customers' variances by pairwise moments ---------------------------------------------- */
typedef struct pair_table {
  double *n;        /* 3 x MGRID x MGRID: attempt pairs by class and the two probit scores */
  double resid[3];  /* the sum of (y_a - rate_a)(y_b - rate_b) by class */
  double pairs[3];
} pair_table;

static size_t mbin(double m) {
  double x = floor((m + 4.0) / MSTEP + 0.5);
  return x < 0 ? 0 : x > MGRID - 1 ? MGRID - 1 : (size_t)x;
}

/* Class of a pair of distinct cells: 0 neither channel nor slot shared, 1 same channel, 2 same slot. */
static int pair_class(const state *s, size_t a, size_t b) {
  return a % s->H == b % s->H ? 1 : a / s->H == b / s->H ? 2 : 0;
}

static void pairs_of_customer(const state *s, size_t i, const double *m, pair_table *t) {
  const double *rate = s->rate + seg_row(s, i) * s->K;
  const double *mm = m + seg_row(s, i) * s->K;
  for (size_t o1 = s->start[i]; o1 < s->start[i + 1]; o1++)
    for (size_t o2 = o1 + 1; o2 < s->start[i + 1]; o2++) {
      const pp_cobs *x = &s->d->obs[o1], *y = &s->d->obs[o2];
      int c = pair_class(s, x->cell, y->cell);
      double np = (double)x->n * y->n;
      t->n[((size_t)c * MGRID + mbin(mm[x->cell])) * MGRID + mbin(mm[y->cell])] += np;
      t->resid[c] += ((double)x->y - x->n * rate[x->cell]) * ((double)y->y - y->n * rate[y->cell]);
      t->pairs[c] += np;
    }
}

/* Phi2(a, b; r) - Phi(a) Phi(b): the bivariate normal density integrated over [0, r] (16-point
 * Gauss-Legendre). */
static double cov_probit(double a, double b, double r) {
  static const double x[8] = {0.0950125098376374, 0.2816035507792589, 0.4580167776572274, 0.6178762444026438,
                              0.7554044083550030, 0.8656312023878318, 0.9445750230732326, 0.9894009349916499};
  static const double w[8] = {0.1894506104550685, 0.1826034150449236, 0.1691565193950025, 0.1495959888165767,
                              0.1246289712555339, 0.0951585116824928, 0.0622535239386479, 0.0271524594117541};
  double sum = 0;
  for (int q = 0; q < 16; q++) {
    double t = 0.5 * r * (1.0 + (q < 8 ? -x[7 - q] : x[q - 8])), wt = q < 8 ? w[7 - q] : w[q - 8];
    double om = 1.0 - t * t;
    sum += wt * exp(-(a * a - 2 * t * a * b + b * b) / (2 * om)) / (6.283185307179586 * sqrt(om));
  }
  return 0.5 * r * sum;
}

/* The latent correlation of class c whose expected residual products match the observed ones. */
static double solve_rho(const pair_table *t, int c) {
  double lo = -0.9, hi = 0.95;
  const double *n = t->n + (size_t)c * MGRID * MGRID;
  for (int it = 0; it < 40; it++) {
    double r = 0.5 * (lo + hi), sum = 0;
    for (size_t ia = 0; ia < MGRID; ia++)
      for (size_t ib = 0; ib < MGRID; ib++)
        if (n[ia * MGRID + ib] > 0) sum += n[ia * MGRID + ib] * cov_probit(ia * MSTEP - 4.0, ib * MSTEP - 4.0, r);
    if (sum < t->resid[c]) lo = r;
    else hi = r;
  }
  return 0.5 * (lo + hi);
}

static int customer_variances(state *s) {
  size_t R = s->S + 1;
  pair_table t;
  memset(&t, 0, sizeof t);
  double *m = pp_malloc_array(R * s->K, sizeof *m);
  t.n = pp_calloc(3 * MGRID * MGRID, sizeof *t.n);
  if (!m || !t.n) {
    free(m);
    free(t.n);
    return PROP_ERR_NOMEM;
  }
  for (size_t q = 0; q < R * s->K; q++) m[q] = probit(s->rate[q]);
  for (size_t i = 0; i < s->d->ncust; i++) pairs_of_customer(s, i, m, &t);
  double rho[3];
  int have[3];
  for (int c = 0; c < 3; c++) {
    have[c] = t.pairs[c] > 0;
    rho[c] = have[c] ? solve_rho(&t, c) : 0.0;
  }
  /* a class without pairs: its variance cannot be told apart from the intercept's, which takes it */
  if (!have[0]) rho[0] = have[1] && have[2] ? fmin(rho[1], rho[2]) : have[1] ? rho[1] : have[2] ? rho[2] : 0.0;
  if (!have[1]) rho[1] = rho[0];
  if (!have[2]) rho[2] = rho[0];
  double r = rho[1] + rho[2] - rho[0];
  if (r > 0.95) r = 0.95;
  double total = r > 0 ? r * KAPPA2 / (1 - r) : 0.0, scale = KAPPA2 + total;
  s->var[V_W] = fmax(rho[0] * scale, VAR_FLOOR);
  s->var[V_U] = fmax((rho[1] - rho[0]) * scale, VAR_FLOOR);
  s->var[V_V] = fmax((rho[2] - rho[0]) * scale, VAR_FLOOR);
  double v = s->var[V_W] + s->var[V_U] + s->var[V_V];
  for (size_t q = 0; q < R * s->K; q++) s->offs[q] = logit(s->rate[q]) * sqrt(1.0 + PI_8 * v);
  free(m);
  free(t.n);
  return 0;
}

/* ---- 3. each customer's posterior ------------------------------------------------------------------ */
#define IS_DRAWS 64
#define IS_SCALE 1.2

typedef struct work {
  long *slot_of;      /* P: a parameter's position among the active ones, or -1 */
  size_t *active;     /* the active parameters */
  double *theta, *grad, *hess, *fac, *col;
  double *draws, *lw; /* IS_DRAWS x P posterior draws and their weights */
} work;

static int work_init(work *w, size_t cap) {
  memset(w, 0, sizeof *w);
  w->slot_of = pp_malloc_array(cap, sizeof *w->slot_of);
  w->active = pp_malloc_array(cap, sizeof *w->active);
  w->theta = pp_malloc_array(cap, sizeof(double));
  w->grad = pp_malloc_array(cap, sizeof(double));
  w->col = pp_malloc_array(cap, sizeof(double));
  w->hess = pp_malloc_array(cap * cap, sizeof(double));
  w->fac = pp_malloc_array(cap * cap, sizeof(double));
  w->draws = pp_malloc_array(IS_DRAWS * cap, sizeof(double));
  w->lw = pp_malloc_array(IS_DRAWS, sizeof(double));
  if (!w->slot_of || !w->active || !w->theta || !w->grad || !w->col || !w->hess || !w->fac || !w->draws ||
      !w->lw)
    return PROP_ERR_NOMEM;
  for (size_t j = 0; j < cap; j++) w->slot_of[j] = -1;
  return 0;
}

static void work_free(work *w) {
  free(w->slot_of);
  free(w->active);
  free(w->theta);
  free(w->grad);
  free(w->col);
  free(w->hess);
  free(w->fac);
  free(w->draws);
  free(w->lw);
}

static int par_class(const state *s, size_t q) { return q == 0 ? V_W : q <= s->H ? V_U : V_V; }

/* The three parameters of cell k. */
static void cell_pars(const state *s, size_t k, size_t par[3]) {
  par[0] = 0;
  par[1] = 1 + k % s->H;
  par[2] = 1 + s->H + k / s->H;
}

/* Collect customer i's active parameters into w (positions in w->slot_of). */
static size_t customer_active(const state *s, size_t i, work *w) {
  size_t m = 0, par[3];
  for (size_t o = s->start[i]; o < s->start[i + 1]; o++) {
    cell_pars(s, s->d->obs[o].cell, par);
    for (int q = 0; q < 3; q++)
      if (w->slot_of[par[q]] < 0) {
        w->slot_of[par[q]] = (long)m;
        w->active[m++] = par[q];
      }
  }
  return m;
}

/* Gradient and Hessian (of minus the log-posterior) of customer i at w->theta; the factor in
 * w->fac.  -1 when the Hessian cannot be factored (the prior makes it positive definite). */
static int customer_newton_system(const state *s, size_t i, size_t m, work *w) {
  const double *offs = s->offs + seg_row(s, i) * s->K;
  for (size_t a = 0; a < m; a++) {
    double prior = s->var[par_class(s, w->active[a])];
    w->grad[a] = -w->theta[a] / prior;
    for (size_t b = 0; b < m; b++) w->hess[a * m + b] = a == b ? 1.0 / prior : 0.0;
  }
  size_t par[3], pos[3];
  for (size_t o = s->start[i]; o < s->start[i + 1]; o++) {
    const pp_cobs *ob = &s->d->obs[o];
    cell_pars(s, ob->cell, par);
    double eta = offs[ob->cell];
    for (int q = 0; q < 3; q++) {
      pos[q] = (size_t)w->slot_of[par[q]];
      eta += w->theta[pos[q]];
    }
    double p = sigmoid(eta), r = (double)ob->y - (double)ob->n * p, wt = (double)ob->n * p * (1.0 - p);
    for (int q = 0; q < 3; q++) {
      w->grad[pos[q]] += r;
      for (int q2 = 0; q2 < 3; q2++) w->hess[pos[q] * m + pos[q2]] += wt;
    }
  }
  return pp_cholesky(w->hess, m, 0.0, w->fac);
}

/* Posterior mode of customer i's m active parameters, and the factor of the Hessian there (w->fac). */
static size_t customer_fit(const state *s, size_t i, work *w) {
  size_t m = customer_active(s, i, w);
  for (size_t a = 0; a < m; a++) w->theta[a] = 0;
  for (int it = 0; it < 50; it++) {
    if (customer_newton_system(s, i, m, w)) break;
    memcpy(w->col, w->grad, m * sizeof *w->col);
    pp_chol_solve(w->fac, m, w->col);
    double step = 0;
    for (size_t a = 0; a < m; a++) step = fmax(step, fabs(w->col[a]));
    double scale = step > 3.0 ? 3.0 / step : 1.0; /* damped: the first steps from far away */
    for (size_t a = 0; a < m; a++) w->theta[a] += scale * w->col[a];
    if (step < 1e-10) break;
  }
  customer_newton_system(s, i, m, w); /* the Hessian's factor at the mode, for the draws */
  return m;
}

/* The log-posterior of customer i at th (active parameters), up to a constant. */
static double log_post(const state *s, size_t i, const work *w, const double *th, size_t m) {
  const double *offs = s->offs + seg_row(s, i) * s->K;
  double lp = 0;
  size_t par[3];
  for (size_t a = 0; a < m; a++) lp -= 0.5 * th[a] * th[a] / s->var[par_class(s, w->active[a])];
  for (size_t o = s->start[i]; o < s->start[i + 1]; o++) {
    const pp_cobs *ob = &s->d->obs[o];
    cell_pars(s, ob->cell, par);
    double eta = offs[ob->cell];
    for (int q = 0; q < 3; q++) eta += th[w->slot_of[par[q]]];
    lp += (double)ob->y * eta - (double)ob->n * pp_softplus(eta);
  }
  return lp;
}

/* Draws from the posterior of customer i by importance sampling: IS_DRAWS points of the Laplace
 * normal (covariance widened by IS_SCALE^2, antithetic pairs) weighted by posterior / proposal.  The
 * posterior of a customer with a handful of binary outcomes is skewed (a long tail toward the side
 * its outcomes point to), and its mode, Laplace's centre, sits short of its mean: the weights move
 * the predictions back, where the mode alone would leave them too close to the segment's.  Into
 * w->draws (IS_DRAWS x m) and w->lw (normalised weights). */
static void posterior_draws(const state *s, size_t i, work *w, size_t m) {
  pp_rng r;
  pp_rng_seed(&r, pp_seed_derive(0x636f6e74616374ull, i));
  double lp0 = log_post(s, i, w, w->theta, m), top = -HUGE_VAL;
  for (size_t j = 0; j < IS_DRAWS; j += 2) {
    double zz = 0;
    for (size_t a = 0; a < m; a++) {
      w->col[a] = pp_rng_normal(&r);
      zz += w->col[a] * w->col[a];
    }
    pp_chol_back(w->fac, m, w->col);
    for (int sign = 0; sign < 2; sign++) {
      double *th = w->draws + (j + (size_t)sign) * m;
      for (size_t a = 0; a < m; a++) th[a] = w->theta[a] + (sign ? -IS_SCALE : IS_SCALE) * w->col[a];
      w->lw[j + (size_t)sign] = log_post(s, i, w, th, m) - lp0 + 0.5 * zz;
      top = fmax(top, w->lw[j + (size_t)sign]);
    }
  }
  double sum = 0;
  for (size_t j = 0; j < IS_DRAWS; j++) sum += (w->lw[j] = exp(w->lw[j] - top));
  for (size_t j = 0; j < IS_DRAWS; j++) w->lw[j] /= sum;
}

/* Customer i's cells: the posterior mean of P(connect) over the draws, each draw's parameters the
 * customer has no data on integrated over their prior.  The slots of w are cleared. */
static void predict_customer(const state *s, size_t i, work *w, size_t m, float *out) {
  const double *offs = s->offs + seg_row(s, i) * s->K;
  size_t par[3];
  posterior_draws(s, i, w, m);
  for (size_t k = 0; k < s->K; k++) {
    double var = 0, p = 0;
    long pos[3];
    cell_pars(s, k, par);
    for (int q = 0; q < 3; q++)
      if ((pos[q] = w->slot_of[par[q]]) < 0) var += s->var[par_class(s, par[q])];
    double scale = 1.0 / sqrt(1.0 + PI_8 * var);
    for (size_t j = 0; j < IS_DRAWS; j++) {
      const double *th = w->draws + j * m;
      double mu = offs[k];
      for (int q = 0; q < 3; q++)
        if (pos[q] >= 0) mu += th[pos[q]];
      p += w->lw[j] * sigmoid(mu * scale);
    }
    out[k] = (float)p;
  }
  for (size_t a = 0; a < m; a++) w->slot_of[w->active[a]] = -1;
}

/* Every customer with history, on the state's threads (each customer on its own, so the cells do not
 * depend on the thread count). */
static int customers_predict(const state *s, pp_cfit *f) {
  size_t row = 0;
  for (size_t i = 0; i < s->d->ncust; i++)
    f->hist_row[i] = s->start[i] == s->start[i + 1] ? UINT32_MAX : (uint32_t)row++;
  int rc = 0;
#pragma omp parallel num_threads(s->nthread) reduction(| : rc)
  {
    work w;
    rc = work_init(&w, s->P);
#pragma omp for schedule(dynamic, 256)
    for (size_t i = 0; i < s->d->ncust; i++) {
      if (rc || f->hist_row[i] == UINT32_MAX) continue;
      size_t m = customer_fit(s, i, &w);
      predict_customer(s, i, &w, m, f->p_cust + (size_t)f->hist_row[i] * s->K);
    }
    work_free(&w);
  }
  return rc ? pp_err(PROP_ERR_NOMEM, "contact model: out of memory") : 0;
}

/* ---- the driver ------------------------------------------------------------------------------------ */
void pp_cfit_free(pp_cfit *f) {
  free(f->hist_row);
  free(f->p_global);
  free(f->p_seg);
  free(f->p_cust);
  memset(f, 0, sizeof *f);
}

static void state_free(state *s) {
  free(s->rate);
  free(s->offs);
  free(s->start);
}

static int state_init(state *s, const pp_cdata *d) {
  memset(s, 0, sizeof *s);
  s->d = d;
  s->H = d->grid->nchan;
  s->T = pp_grid_nslots(d->grid);
  s->K = pp_grid_ncells(d->grid);
  s->S = d->nseg;
  s->P = 1 + s->H + s->T;
  s->nthread = pp_threads(d->nthread);
  s->rate = pp_calloc((s->S + 1) * s->K, sizeof *s->rate);
  s->offs = pp_calloc((s->S + 1) * s->K, sizeof *s->offs);
  s->start = pp_calloc(d->ncust + 1, sizeof *s->start);
  if (!s->rate || !s->offs || !s->start) return PROP_ERR_NOMEM;
  for (size_t o = 0; o < d->nobs; o++) s->start[d->obs[o].cust + 1]++;
  for (size_t i = 0; i < d->ncust; i++) s->start[i + 1] += s->start[i];
  return 0;
}

int pp_contact_estimate(const pp_cdata *d, pp_cfit *f) {
  memset(f, 0, sizeof *f);
  state s;
  int rc = state_init(&s, d);
  if (!rc) {
    for (size_t i = 0; i < d->ncust; i++) f->nhist += s.start[i + 1] > s.start[i];
    f->p_global = pp_malloc_array(s.K, sizeof *f->p_global);
    f->p_seg = pp_malloc_array(s.S * s.K + 1, sizeof *f->p_seg);
    f->p_cust = pp_malloc_array(f->nhist * s.K + 1, sizeof *f->p_cust);
    f->hist_row = pp_malloc_array(d->ncust + 1, sizeof *f->hist_row);
    if (!f->p_global || !f->p_seg || !f->p_cust || !f->hist_row) rc = PROP_ERR_NOMEM;
  }
  if (!rc) rc = cell_rates(&s);
  if (!rc) rc = customer_variances(&s);
  if (!rc) rc = customers_predict(&s, f);
  if (!rc) {
    f->tau2 = s.S ? s.tau2 : 0.0;
    f->sw2 = s.var[V_W];
    f->su2 = s.var[V_U];
    f->sv2 = s.var[V_V];
    memcpy(f->p_global, s.rate + s.S * s.K, s.K * sizeof *f->p_global);
    memcpy(f->p_seg, s.rate, s.S * s.K * sizeof *f->p_seg);
  }
  state_free(&s);
  if (rc) pp_cfit_free(f);
  return rc;
}
