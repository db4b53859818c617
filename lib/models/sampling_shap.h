/* lib/models/sampling_shap.h: the model-agnostic contributions of the svc and knn members (Shapley
 * values estimated by permutation sampling, sampling_shap.c).  Not a member itself: the estimator and
 * the draw of its background are shared here, as members do not include each other.
 *
 * What is estimated.  The interventional Shapley values of the member's probability f with respect to
 * a fixed background sample Z of B training rows kept by the member: the value of a set S of players
 * (columns, or groups of columns such as an input's one-hot block) is the mean over z in Z of
 * f(x_S, z_rest), the row x with the players outside S taken from z.  base is the mean of f over Z,
 * and base + sum of the contributions = f(x) exactly (up to rounding), whatever the sample.
 *
 * How.  For each background row z and each of PP_SAMPLE_PAIRS antithetic pairs, a permutation of the
 * players and its reverse: along each, the players switch from z's values to x's one at a time and
 * each is credited with the change of f when it switches.  Each chain's credits add up to
 * f(x) - f(z), and every z heads as many chains, so the estimate is efficient exactly; its error
 * against the exact values over Z is measured in models/README.md.  The permutations come from a fixed
 * seed, the same for every row: a row's contributions depend on that row only (same bits in a batch
 * or alone, for any thread count).  Cost: 2 PAIRS B (players - 1) + 1 predictions per row, made as
 * one predict call (with 11 players, 1,281), and B per call for the base. */
#ifndef PP_SAMPLING_SHAP_H
#define PP_SAMPLING_SHAP_H

#include <stddef.h>
#include <stdint.h>

#include "models/member.h"

#define PP_SAMPLE_BG_ROWS 32 /* background rows B kept by a member */
#define PP_SAMPLE_PAIRS 2    /* antithetic permutation pairs per background row */
#define PP_SAMPLE_SEED UINT64_C(0x5eed5a3b1e)

/* The background rows of a member trained on n rows with labels y (npos positives, 0 < npos < n):
 * min(n, PP_SAMPLE_BG_ROWS) row indices into idx, increasing, each class's share the class's share of
 * the weighted rows (class weights w_neg, w_pos: with balanced weights, half each), drawn with a fixed
 * seed.  Returns the count. */
size_t pp_sample_background(const float *y, size_t n, size_t npos, double w_neg, double w_pos, size_t *idx);

/* The estimator of the contributions of n rows of X (d columns) into phi (n x d) and *base, for the
 * member model whose predict is given (called with one thread and scratch of pscratch(model, rows)
 * bytes), over the B background rows bg (B x d).  group/ngroups as for the member's contrib (NULL:
 * every column a player).  scratch: NULL or pp_sample_scratch(...) bytes.  A predict failure is
 * returned. */
typedef struct pp_sample_model {
  const void *model;
  int (*predict)(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread);
  size_t (*pscratch)(const void *model, size_t n);
  const float *bg;
  size_t B, d;
} pp_sample_model;

size_t pp_sample_scratch(const pp_sample_model *sm, size_t ngroups);
int pp_sample_contrib(const pp_sample_model *sm, const float *X, size_t n, const uint32_t *group, size_t ngroups,
                      double *phi, double *base, void *scratch);
#endif
