/* SMO for the C-SVC dual
 *
 *   min_a  1/2 a'Qa - e'a   s.t.  y'a = 0,  0 <= a_i <= C_i,   Q_ij = y_i y_j K_ij,
 *
 * two variables at a time, chosen by the second-order rule of Fan, Chen and Lin (2005): i is the
 * maximal violator of -y_t G_t over I_up, j the member of I_low giving the largest decrease of a
 * second-order model of the objective.  Shrinking (Joachims; the rule of libsvm) sets aside
 * bound variables that cannot move; their gradients are rebuilt from G_bar (the contribution of
 * the variables at their upper bound) before the final check.
 *
 * Positions 0..n-1 are permuted so that the active set is [0, na): the loops of the selection and
 * of the gradient update run over contiguous arrays.  Kernel rows are kept in the original order
 * of their source (the shared full matrix, or the LRU cache) and read through col[p], so that the
 * cache never has to be permuted. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/svc_impl.h"

#define TAU 1e-12
#define NONE ((size_t)-1)

enum { ST_LOW = 0, ST_UP = 1, ST_FREE = 2 };

/* ---- LRU cache of kernel rows (rows mode) --------------------------------------------------- */
typedef struct lru {
  size_t n, nslot;
  float *mem;     /* nslot x n */
  size_t *slot;   /* key -> slot or NONE */
  size_t *key;    /* slot -> key or NONE */
  size_t *prev, *next;
  size_t head, tail; /* head: most recently used */
} lru;

static void lru_free(lru *c) {
  free(c->mem);
  free(c->slot);
  free(c->key);
  free(c->prev);
  free(c->next);
  memset(c, 0, sizeof *c);
}

static int lru_init(lru *c, size_t n, size_t bytes) {
  memset(c, 0, sizeof *c);
  size_t row = n * sizeof(float);
  size_t ns = bytes / (row ? row : 1);
  if (ns < 2) ns = 2; /* rows i and j must be held together */
  if (ns > n) ns = n;
  c->n = n;
  c->nslot = ns;
  c->mem = pp_malloc_array(ns, row);
  c->slot = pp_malloc_array(n, sizeof *c->slot);
  c->key = pp_malloc_array(ns, sizeof *c->key);
  c->prev = pp_malloc_array(ns, sizeof *c->prev);
  c->next = pp_malloc_array(ns, sizeof *c->next);
  if (!c->mem || !c->slot || !c->key || !c->prev || !c->next) {
    lru_free(c);
    return PROP_ERR_NOMEM;
  }
  for (size_t i = 0; i < n; i++) c->slot[i] = NONE;
  for (size_t s = 0; s < ns; s++) {
    c->key[s] = NONE;
    c->prev[s] = s ? s - 1 : NONE;
    c->next[s] = s + 1 < ns ? s + 1 : NONE;
  }
  c->head = 0;
  c->tail = ns - 1;
  return 0;
}

static void lru_to_front(lru *c, size_t s) {
  if (c->head == s) return;
  /* unlink */
  size_t p = c->prev[s], q = c->next[s];
  if (p != NONE) c->next[p] = q;
  if (q != NONE) c->prev[q] = p;
  if (c->tail == s) c->tail = p;
  /* push front */
  c->prev[s] = NONE;
  c->next[s] = c->head;
  c->prev[c->head] = s;
  c->head = s;
}

/* Row of key; *fresh = 1 when the caller must fill it. */
static float *lru_get(lru *c, size_t k, int *fresh) {
  size_t s = c->slot[k];
  *fresh = 0;
  if (s == NONE) {
    s = c->tail;
    if (c->key[s] != NONE) c->slot[c->key[s]] = NONE;
    c->key[s] = k;
    c->slot[k] = s;
    *fresh = 1;
  }
  lru_to_front(c, s);
  return c->mem + s * c->n;
}

/* ---- solver state ------------------------------------------------------------------------------ */
typedef struct smo {
  size_t n, na;
  double *a, *G, *Gbar, *ys, *C, *QD;
  unsigned char *st;
  size_t *orig, *col;
  const pp_svc_problem *pb;
  lru cache;
  int rows_mode, shrinking, nthread, unshrunk;
  float *Xt; /* rows mode: pb->X transposed (pp_svc_transpose), ldx floats a row */
  size_t ldx;
  uint32_t *nz_idx; /* rows mode: a row's nonzeros (pp_svc_row_dots's scratch), d each */
  float *nz_val;
  double tol;
} smo;

static void smo_free(smo *s) {
  free(s->a);
  free(s->G);
  free(s->Gbar);
  free(s->ys);
  free(s->C);
  free(s->QD);
  free(s->st);
  free(s->orig);
  free(s->col);
  free(s->Xt);
  free(s->nz_idx);
  free(s->nz_val);
  lru_free(&s->cache);
}

/* Kernel row of the variable at position p, indexed by col[]. */
static const float *krow(smo *s, size_t p) {
  const pp_svc_problem *pb = s->pb;
  if (!s->rows_mode) return pb->Kfull + s->col[p] * pb->ldk;
  size_t k = s->orig[p];
  int fresh;
  float *row = lru_get(&s->cache, k, &fresh);
  if (fresh) {
    pp_svc_row_dots(s->Xt, s->ldx, s->n, pb->d, pb->X + k * pb->d, row, s->nthread, s->nz_idx, s->nz_val);
    pp_svc_kernel_transform(row, 1, s->n, s->n, pb->sq + k, pb->sq, pb->kernel, pb->gamma);
  }
  return row;
}

static unsigned char status_of(double a, double C) { return a >= C ? ST_UP : (a <= 0 ? ST_LOW : ST_FREE); }

static void swap_pos(smo *s, size_t p, size_t q) {
#define SWP(T, arr)    \
  do {                 \
    T tmp_ = arr[p];   \
    arr[p] = arr[q];   \
    arr[q] = tmp_;     \
  } while (0)
  SWP(double, s->a);
  SWP(double, s->G);
  SWP(double, s->Gbar);
  SWP(double, s->ys);
  SWP(double, s->C);
  SWP(double, s->QD);
  SWP(unsigned char, s->st);
  SWP(size_t, s->orig);
  SWP(size_t, s->col);
#undef SWP
}

/* Rebuild G of the inactive variables: G_t = G_bar_t - 1 + sum over free j of a_j Q_tj.  Every
 * free variable is active (only bound variables are shrunk). */
static void reconstruct_gradient(smo *s) {
  const size_t n = s->n, na = s->na;
  if (na == n) return;
  for (size_t t = na; t < n; t++) s->G[t] = s->Gbar[t] - 1.0;
  for (size_t j = 0; j < na; j++) {
    if (s->st[j] != ST_FREE) continue;
    const float *Kj = krow(s, j);
    const double c = s->ys[j] * s->a[j];
    for (size_t t = na; t < n; t++) s->G[t] += s->ys[t] * c * Kj[s->col[t]];
  }
}

/* WSS3.  Returns 1 when the active problem is optimal within tol, else 0 with *pi, *pj. */
static int select_pair(smo *s, size_t *pi, size_t *pj) {
  const size_t na = s->na;
  const double *G = s->G, *ys = s->ys;
  const unsigned char *st = s->st;
  double Gmax = -INFINITY;
  size_t i = NONE;
  for (size_t t = 0; t < na; t++) {
    if (ys[t] > 0) {
      if (st[t] != ST_UP && -G[t] >= Gmax) {
        Gmax = -G[t];
        i = t;
      }
    } else if (st[t] != ST_LOW && G[t] >= Gmax) {
      Gmax = G[t];
      i = t;
    }
  }
  if (i == NONE) return 1;
  const float *Ki = krow(s, i);
  const size_t *col = s->col;
  const double QDi = s->QD[i];
  double Gmax2 = -INFINITY, best = INFINITY;
  size_t j = NONE;
  for (size_t t = 0; t < na; t++) {
    double v, diff;
    if (ys[t] > 0) {
      if (st[t] == ST_LOW) continue;
      v = G[t];
      diff = Gmax + G[t];
    } else {
      if (st[t] == ST_UP) continue;
      v = -G[t];
      diff = Gmax - G[t];
    }
    if (v >= Gmax2) Gmax2 = v;
    if (diff > 0) {
      double quad = QDi + s->QD[t] - 2.0 * (double)Ki[col[t]];
      if (quad <= 0) quad = TAU;
      double obj = -(diff * diff) / quad;
      if (obj <= best) {
        best = obj;
        j = t;
      }
    }
  }
  if (Gmax + Gmax2 < s->tol || j == NONE) return 1;
  *pi = i;
  *pj = j;
  return 0;
}

/* The step delta clipped to [lo, hi] (hi raised to lo when below it); *hit becomes hlo or hhi
 * when a bound clips it. */
static double clip_step(double delta, double lo, double hi, int hlo, int hhi, int *hit) {
  if (hi < lo) hi = lo;
  if (delta <= lo) {
    *hit = hlo;
    return lo;
  }
  if (delta >= hi) {
    *hit = hhi;
    return hi;
  }
  return delta;
}

/* Solve the two-variable subproblem for (i, j) and update G (and G_bar). */
static void update_pair(smo *s, size_t i, size_t j) {
  const float *Ki = krow(s, i);
  const float *Kj = krow(s, j); /* Ki stays valid: the cache holds at least two rows */
  const size_t *col = s->col;
  const double Ci = s->C[i], Cj = s->C[j], ai = s->a[i], aj = s->a[j];
  double quad = s->QD[i] + s->QD[j] - 2.0 * (double)Ki[col[j]];
  if (quad <= 0) quad = TAU;
  double nai, naj;
  /* which variable a clipped step puts on which bound: 0 none, 1 i->0, 2 i->C, 3 j->0, 4 j->C */
  int hit = 0;
  if (s->ys[i] != s->ys[j]) { /* a_i + delta, a_j + delta */
    double delta = (-s->G[i] - s->G[j]) / quad;
    double lo = -ai, hi = Ci - ai;
    int hlo = 1, hhi = 2;
    if (-aj > lo) {
      lo = -aj;
      hlo = 3;
    }
    if (Cj - aj < hi) {
      hi = Cj - aj;
      hhi = 4;
    }
    delta = clip_step(delta, lo, hi, hlo, hhi, &hit);
    nai = ai + delta;
    naj = aj + delta;
  } else { /* a_i + delta, a_j - delta */
    double delta = (s->G[j] - s->G[i]) / quad;
    double lo = -ai, hi = Ci - ai;
    int hlo = 1, hhi = 2;
    if (aj - Cj > lo) {
      lo = aj - Cj;
      hlo = 4;
    }
    if (aj < hi) {
      hi = aj;
      hhi = 3;
    }
    delta = clip_step(delta, lo, hi, hlo, hhi, &hit);
    nai = ai + delta;
    naj = aj - delta;
  }
  switch (hit) {
  case 1: nai = 0; break;
  case 2: nai = Ci; break;
  case 3: naj = 0; break;
  case 4: naj = Cj; break;
  default: break;
  }
  nai = nai < 0 ? 0 : (nai > Ci ? Ci : nai);
  naj = naj < 0 ? 0 : (naj > Cj ? Cj : naj);
  const double dai = nai - ai, daj = naj - aj;
  s->a[i] = nai;
  s->a[j] = naj;

  const double ci = s->ys[i] * dai, cj = s->ys[j] * daj;
  double *G = s->G;
  const double *ys = s->ys;
  for (size_t t = 0; t < s->na; t++) G[t] += ys[t] * (ci * (double)Ki[col[t]] + cj * (double)Kj[col[t]]);

  unsigned char oi = s->st[i], oj = s->st[j];
  s->st[i] = status_of(nai, Ci);
  s->st[j] = status_of(naj, Cj);
  if (!s->shrinking) return;
  /* G_bar_t = sum over upper-bound s of C_s Q_ts, over all n variables */
  const size_t n = s->n;
  if ((oi == ST_UP) != (s->st[i] == ST_UP)) {
    const float *K = krow(s, i);
    const double c = (oi == ST_UP ? -Ci : Ci) * ys[i];
    for (size_t t = 0; t < n; t++) s->Gbar[t] += c * ys[t] * (double)K[col[t]];
  }
  if ((oj == ST_UP) != (s->st[j] == ST_UP)) {
    const float *K = krow(s, j);
    const double c = (oj == ST_UP ? -Cj : Cj) * ys[j];
    for (size_t t = 0; t < n; t++) s->Gbar[t] += c * ys[t] * (double)K[col[t]];
  }
}

/* A bound variable that cannot be part of a violating pair while the extremes stay as they are. */
static int can_shrink(const smo *s, size_t t, double Gmax1, double Gmax2) {
  double g = s->G[t];
  if (s->st[t] == ST_UP) return s->ys[t] > 0 ? -g > Gmax1 : -g > Gmax2;
  if (s->st[t] == ST_LOW) return s->ys[t] > 0 ? g > Gmax2 : g > Gmax1;
  return 0;
}

static void do_shrinking(smo *s) {
  double Gmax1 = -INFINITY; /* max over I_up of -y G */
  double Gmax2 = -INFINITY; /* max over I_low of y G */
  for (size_t t = 0; t < s->na; t++) {
    double g = s->G[t];
    if (s->ys[t] > 0) {
      if (s->st[t] != ST_UP && -g > Gmax1) Gmax1 = -g;
      if (s->st[t] != ST_LOW && g > Gmax2) Gmax2 = g;
    } else {
      if (s->st[t] != ST_UP && -g > Gmax2) Gmax2 = -g;
      if (s->st[t] != ST_LOW && g > Gmax1) Gmax1 = g;
    }
  }
  /* near the end, bring every variable back once so that early mistakes are undone */
  if (!s->unshrunk && Gmax1 + Gmax2 <= s->tol * 10) {
    s->unshrunk = 1;
    reconstruct_gradient(s);
    s->na = s->n;
  }
  for (size_t t = 0; t < s->na; t++) {
    if (!can_shrink(s, t, Gmax1, Gmax2)) continue;
    s->na--;
    while (s->na > t) {
      if (!can_shrink(s, s->na, Gmax1, Gmax2)) {
        swap_pos(s, t, s->na);
        break;
      }
      s->na--;
    }
  }
}

static double compute_rho(const smo *s) {
  double ub = INFINITY, lb = -INFINITY, sum = 0;
  size_t nfree = 0;
  for (size_t t = 0; t < s->n; t++) {
    double yg = s->ys[t] * s->G[t];
    if (s->st[t] == ST_UP) {
      if (s->ys[t] < 0) ub = yg < ub ? yg : ub;
      else lb = yg > lb ? yg : lb;
    } else if (s->st[t] == ST_LOW) {
      if (s->ys[t] > 0) ub = yg < ub ? yg : ub;
      else lb = yg > lb ? yg : lb;
    } else {
      nfree++;
      sum += yg;
    }
  }
  if (nfree) return sum / (double)nfree;
  if (isfinite(ub) && isfinite(lb)) return (ub + lb) / 2;
  if (isfinite(ub)) return ub;
  if (isfinite(lb)) return lb;
  return 0;
}

int pp_svc_solve(const pp_svc_problem *pb, const pp_svc_opts *opt, double *alpha, pp_svc_result *res) {
  memset(res, 0, sizeof *res);
  if (!pb || !opt || !alpha || pb->n == 0 || !pb->y || !pb->C)
    return pp_err(PROP_ERR_ARG, "svc solver: empty or incomplete problem");
  if (!pb->Kfull && (!pb->X || !pb->sq || pb->d == 0))
    return pp_err(PROP_ERR_ARG, "svc solver: no kernel source");
  const size_t n = pb->n;
  smo s;
  memset(&s, 0, sizeof s);
  s.n = s.na = n;
  s.pb = pb;
  s.rows_mode = pb->Kfull == NULL;
  s.shrinking = opt->shrinking;
  s.nthread = opt->nthread;
  s.tol = opt->tol > 0 ? opt->tol : 1e-3;
  s.a = pp_malloc_array(n, sizeof(double));
  s.G = pp_malloc_array(n, sizeof(double));
  s.Gbar = pp_calloc(n, sizeof(double));
  s.ys = pp_malloc_array(n, sizeof(double));
  s.C = pp_malloc_array(n, sizeof(double));
  s.QD = pp_malloc_array(n, sizeof(double));
  s.st = pp_malloc(n);
  s.orig = pp_malloc_array(n, sizeof(size_t));
  s.col = pp_malloc_array(n, sizeof(size_t));
  if (!s.a || !s.G || !s.Gbar || !s.ys || !s.C || !s.QD || !s.st || !s.orig || !s.col ||
      (s.rows_mode && (lru_init(&s.cache, n, opt->cache_bytes) || !(s.Xt = pp_svc_transpose(pb->X, n, pb->d, &s.ldx)) ||
                       !(s.nz_idx = pp_malloc_array(pb->d ? pb->d : 1, sizeof *s.nz_idx)) ||
                       !(s.nz_val = pp_malloc_array(pb->d ? pb->d : 1, sizeof *s.nz_val))))) {
    smo_free(&s);
    return PROP_ERR_NOMEM;
  }
  for (size_t t = 0; t < n; t++) {
    s.a[t] = 0;
    s.G[t] = -1.0;
    s.ys[t] = pb->y[t] > 0.5f ? 1.0 : -1.0;
    s.C[t] = pb->C[t];
    s.st[t] = status_of(0.0, pb->C[t]);
    s.orig[t] = t;
    s.col[t] = (!s.rows_mode && pb->gidx) ? pb->gidx[t] : t;
    if (!s.rows_mode) s.QD[t] = pb->Kfull[s.col[t] * pb->ldk + s.col[t]];
    else s.QD[t] = pb->kernel == PP_SVC_RBF ? 1.0 : (double)pb->sq[t];
  }

  uint64_t cap = opt->max_iter;
  if (cap == 0) {
    cap = 100 * (uint64_t)n;
    if (cap < 10000000u) cap = 10000000u;
  }
  const size_t interval = n < 1000 ? n : 1000;
  size_t counter = interval + 1;
  uint64_t iter = 0;
  for (;;) {
    if (iter >= cap) {
      res->capped = 1;
      break;
    }
    if (--counter == 0) {
      counter = interval;
      if (s.shrinking) do_shrinking(&s);
      if (opt->poll && opt->poll(opt->poll_arg, iter)) {
        res->stopped = 1;
        break;
      }
    }
    size_t i, j;
    if (select_pair(&s, &i, &j)) {
      if (s.na == n) break;
      /* optimal on the active set: check on all variables */
      reconstruct_gradient(&s);
      s.na = n;
      if (select_pair(&s, &i, &j)) break;
      counter = 1; /* shrink again at the next iteration */
    }
    iter++;
    update_pair(&s, i, j);
  }
  reconstruct_gradient(&s);
  s.na = n;

  res->rho = compute_rho(&s);
  res->iter = iter;
  double obj = 0;
  for (size_t t = 0; t < n; t++) {
    obj += s.a[t] * (s.G[t] - 1.0);
    alpha[s.orig[t]] = s.a[t];
  }
  res->obj = obj / 2;
  smo_free(&s);
  return 0;
}
