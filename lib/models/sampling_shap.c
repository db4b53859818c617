/* Contributions by permutation sampling over a fixed background (what and how: sampling_shap.h). */
#include <stdlib.h>
#include <string.h>

#include "models/sampling_shap.h"

size_t pp_sample_background(const float *y, size_t n, size_t npos, double w_neg, double w_pos, size_t *idx) {
  pp_rng rng;
  pp_rng_seed(&rng, PP_SAMPLE_SEED);
  const double pos = (double)npos * w_pos, all = pos + (double)(n - npos) * w_neg;
  return pp_stratified_draw(y, n, npos, PP_SAMPLE_BG_ROWS, pos, all, &rng, idx);
}

/* Chains per background row: each pair is a permutation and its reverse. */
#define CHAINS (2 * PP_SAMPLE_PAIRS)

/* The scratch, for at most d players: the players' columns, the permutations, the rows to predict
 * (the chains of one row x, then x) and their predictions, the background's predictions, predict's own. */
typedef struct sample_work {
  size_t *col;   /* d: columns ordered by player */
  size_t *first; /* players + 1: player k owns col[first[k] .. first[k + 1]) */
  size_t *perm;  /* B x PP_SAMPLE_PAIRS x players */
  float *H;      /* rows x d */
  double *f;     /* rows */
  double *fz;    /* B */
  void *ps;      /* predict's scratch for rows */
} sample_work;

static size_t rows_for(size_t B, size_t players) { return B * CHAINS * (players ? players - 1 : 0) + 1; }

size_t pp_sample_scratch(const pp_sample_model *sm, size_t ngroups) {
  (void)ngroups; /* sized for the most players a call can have: every column alone */
  const size_t d = sm->d, R = rows_for(sm->B, d), ps = sm->pscratch ? sm->pscratch(sm->model, R) : 0;
  size_t r = R > sm->B ? R : sm->B;
  return (2 * d + 1 + sm->B * PP_SAMPLE_PAIRS * d) * sizeof(size_t) + R * d * sizeof(float) +
         (r + sm->B) * sizeof(double) + ps + 64;
}

static void work_split(const pp_sample_model *sm, void *scratch, sample_work *w) {
  const size_t d = sm->d, R = rows_for(sm->B, d);
  char *p = scratch;
  w->col = (size_t *)(void *)p;
  w->first = w->col + d;
  w->perm = w->first + d + 1;
  p = (char *)(w->perm + sm->B * PP_SAMPLE_PAIRS * d);
  w->f = (double *)(void *)p;
  w->fz = w->f + (R > sm->B ? R : sm->B);
  w->H = (float *)(void *)(w->fz + sm->B);
  const uintptr_t end = (uintptr_t)(void *)(w->H + R * d);
  w->ps = sm->pscratch && sm->pscratch(sm->model, R) ? (void *)((end + 63) & ~(uintptr_t)63) : NULL;
}

/* The players: the groups that own a column (every column alone without groups), their columns in
 * w->col, in group order.  Returns their count. */
static size_t players_of(size_t d, const uint32_t *group, size_t ngroups, sample_work *w) {
  if (!group) {
    for (size_t c = 0; c <= d; c++) w->first[c] = c;
    for (size_t c = 0; c < d; c++) w->col[c] = c;
    return d;
  }
  size_t g = 0, k = 0;
  for (size_t q = 0; q < ngroups; q++) { /* d is small: one scan per group keeps the order */
    size_t start = k;
    for (size_t c = 0; c < d; c++)
      if (group[c] == q) w->col[k++] = c;
    if (k > start) w->first[g++] = start;
  }
  w->first[g] = k;
  return g;
}

/* The chains' rows of x: chain (b, r, dir) starts from background row b and switches the players to
 * x's values in the order of permutation r of b (reversed when dir is 1); its rows after each switch
 * but the last (which is x) are stored in turn.  x itself is the last row. */
static void fill_rows(const pp_sample_model *sm, const float *x, size_t g, const sample_work *w) {
  const size_t d = sm->d;
  float *h = w->H;
  for (size_t b = 0; b < sm->B; b++)
    for (size_t c = 0; c < CHAINS; c++) {
      const size_t *pi = w->perm + (b * PP_SAMPLE_PAIRS + c / 2) * g;
      const float *z = sm->bg + b * d;
      for (size_t k = 0; k + 1 < g; k++) {
        memcpy(h, k ? h - d : z, d * sizeof *h);
        const size_t p = pi[c % 2 ? g - 1 - k : k];
        for (size_t j = w->first[p]; j < w->first[p + 1]; j++) h[w->col[j]] = x[w->col[j]];
        h += d;
      }
    }
  memcpy(h, x, d * sizeof *h);
}

int pp_sample_contrib(const pp_sample_model *sm, const float *X, size_t n, const uint32_t *group, size_t ngroups,
                      double *phi, double *base, void *scratch) {
  const size_t d = sm->d, B = sm->B;
  void *own = scratch ? NULL : pp_malloc(pp_sample_scratch(sm, ngroups));
  if (!scratch && !own) return PROP_ERR_NOMEM;
  sample_work w;
  work_split(sm, scratch ? scratch : own, &w);
  int rc = sm->predict(sm->model, sm->bg, B, w.fz, w.ps, 1);
  double b0 = 0.0;
  for (size_t b = 0; b < B; b++) b0 += w.fz[b];
  b0 /= (double)B;
  if (base) *base = b0;
  const size_t g = players_of(d, group, ngroups, &w), R = rows_for(B, g);
  for (size_t c = 0; c < B * PP_SAMPLE_PAIRS; c++) { /* the same permutations for every row */
    pp_rng rng;
    pp_rng_seed(&rng, pp_seed_derive(PP_SAMPLE_SEED, c));
    size_t *pi = w.perm + c * g;
    for (size_t k = 0; k < g; k++) pi[k] = k;
    pp_rng_shuffle(&rng, pi, g);
  }
  const double chains = (double)(B * CHAINS);
  for (size_t i = 0; i < n && !rc; i++) {
    const float *x = X + i * d;
    double *out = phi + i * d;
    fill_rows(sm, x, g, &w);
    rc = sm->predict(sm->model, w.H, R, w.f, w.ps, 1);
    if (rc) break;
    memset(out, 0, d * sizeof *out);
    const double *f = w.f;
    for (size_t b = 0; b < B; b++)
      for (size_t c = 0; c < CHAINS; c++) {
        const size_t *pi = w.perm + (b * PP_SAMPLE_PAIRS + c / 2) * g;
        double prev = w.fz[b];
        for (size_t k = 0; k < g; k++) {
          const double cur = k + 1 < g ? *f++ : w.f[R - 1];
          out[w.col[w.first[pi[c % 2 ? g - 1 - k : k]]]] += cur - prev;
          prev = cur;
        }
      }
    for (size_t j = 0; j < d; j++) out[j] /= chains;
  }
  free(own);
  return rc;
}
