/* Our own walk of an XGBoost model's trees (xgb_walk.c), private to lib/models: the node arrays that
 * xgb.c builds from XGBoost's checked JSON model, the row walk and the batch walk over complete trees.
 * Every walk gives a row bit for bit the probability XGBoost gives it, on a model that passed xgb.c's
 * checks.  Read-only once built: many threads may walk one model at once. */
#ifndef PP_XGB_WALK_H
#define PP_XGB_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define XGB_BLOCK 64 /* rows per block of the batch walk (4 vectors of 16) */

typedef struct xgb_nnode {
  int32_t feature; /* -1: leaf */
  float value;     /* split condition, or the leaf value */
  int32_t left, right;
} xgb_nnode;

typedef struct xgb_native {
  size_t ntrees;
  size_t *start;   /* ntrees + 1: tree t owns nodes [start[t], start[t+1]); children are local */
  xgb_nnode *node;
  uint8_t *dleft;  /* 1 when a missing value goes left */
  double *cover;   /* each node's cover (XGBoost's sum_hessian), or NULL when the JSON lacks it; for
                      the contributions (treeshap.h), not read by the walks */
  /* The same trees as complete trees of depth `depth` (NULL when deeper than XGB_FULL_MAX_DEPTH or
   * too big): tree t's split i (heap order, children of i at 2i+1 and 2i+2) at fword/fthr[t * stride
   * + i], its leaf k at fleaf[t * stride + k]. */
  int depth;
  size_t stride;   /* max(2^depth, 16) */
  uint32_t *fword; /* split feature | 1 << 31 when a missing value goes left */
  float *fthr;     /* split condition */
  float *fleaf;    /* leaf values */
  int simd;        /* the AVX-512 walk can run here (CPU has it, depth <= XGB_SIMD_MAX_DEPTH) */
} xgb_native;

/* Frees nv and its arrays; NULL is fine. */
void pp_xgb_walk_free(xgb_native *nv);
/* Rows [0, n) of X (d columns) into out[n], one row at a time over the node arrays (no allocation). */
void pp_xgb_walk_rows(const xgb_native *nv, const float *X, size_t n, size_t d, double *out);
/* Builds the complete-tree layout of nv (left NULL when the trees are deeper than 8 or too many) and
 * sets nv->simd for inputs of d columns.  Fails only on memory. */
int pp_xgb_walk_layout(xgb_native *nv, size_t d);
/* Rows [0, n) into out[n] by the complete-tree walk (needs the layout; simd: the AVX-512 one, only
 * where nv->simd), blocks of XGB_BLOCK rows shared among nthread threads (0: the OpenMP default).
 * Fails only on memory. */
int pp_xgb_walk_batch(const xgb_native *nv, const float *X, size_t n, size_t d, double *out, int nthread,
                      int simd);
#endif
