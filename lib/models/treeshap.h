/* lib/models/treeshap.h: exact path-dependent TreeSHAP (Lundberg et al. 2018's value function) for the
 * tree members: the decision tree and the random forest (their CART trees, cart.h) and the xgboost
 * member (XGBoost's trees as our own walk reads them, xgb_walk.h).  Not a member itself: members do
 * not include each other, so the algorithm they share lives here (treeshap.c).
 *
 * What is computed.  For a tree f and a row x, the value of a set S of columns is the expectation of
 * f when the columns in S are x's and the others follow the training rows: at a split on a column in
 * S the row goes x's way, at any other split both ways, weighted by the children's covers (training
 * weights of the CART trees, hessian sums of XGBoost's).  The contributions are the exact Shapley
 * values of that game, phi[c] for each column c, and base = f's value of the empty set (the
 * cover-weighted mean leaf), so that base + sum phi = f(x) (up to rounding).  For a sum of trees times
 * a scale (the forest's mean, XGBoost's margin) they are the sums of the trees' values times the
 * scale; XGBoost's contributions (pred_contribs) are these on its margin.
 *
 * How (treeshap.c has the derivation).  Along a leaf's path, a column k that splits there has a cover
 * fraction z_k (the product over its splits of child cover / parent cover) and o_k = 1 when x goes
 * every one of its splits' ways, else 0.  The Shapley value of column i from that leaf is
 *     value x (o_i - z_i) x integral over [0, 1] of prod over the path's other columns of
 *     (z_k + (o_k - z_k) t) dt,
 * the integral of a polynomial of degree (columns on the path - 1).  Gauss-Legendre quadrature with
 * P points is exact for degrees below 2P, so each tree is evaluated at P >= half its longest path's
 * distinct columns (rounded up to PP_SHAP_LANES) points, in one depth-first pass over the tree's nodes:
 * per node a few operations on P doubles, whatever the depth (the original algorithm costs the
 * path length squared per leaf).  The cost of a row is about (nodes of all trees) x P.  A batch lays
 * each tree out once per chunk of up to 128 rows (its edges in the walk's order, with everything that
 * does not depend on the row: the bookkeeping and the divisions), then walks that list once per group
 * of rows (8 with AVX-512, else 4), each (row, point) a vector lane; a row's lanes do the single-row
 * pass's operations, with its bits.
 *
 * Everything is read-only after pp_treeshap_build: many threads may explain with one at once, each
 * with its own scratch.  A row's contributions depend on that row only, never on the rows beside it. */
#ifndef PP_TREESHAP_H
#define PP_TREESHAP_H

#include <stddef.h>
#include <stdint.h>

#include "models/cart.h"

#define PP_SHAP_LANES 4 /* quadrature points come in groups of this many (a vector of doubles) */

/* One inner node of a tree's walk plan (pp_treeshap_build; the single-row pass reads it): each tree's
 * inner nodes in depth-first order (left child first), with what the walk needs of them and of their
 * two children that does not depend on the row, so that a row's walk is a loop over them.  The walk
 * keeps the path on a stack of frames (the root's is 0; a node whose edge is frame q puts its right
 * child's edge at q + 1 and its left child's at q + 2), so that a node's frame, and that of the edge
 * out of its column's previous split on the path, are known in advance; and each edge's contribution
 * by its number in post-order (left subtree, right subtree, the node), the order they are added in.
 * 56 bytes an inner node. */
typedef struct pp_shap_node {
  double ze[2];     /* the children's covers / the node's: left, right */
  double value[2];  /* the children's values when they are leaves, else 0 */
  float threshold;
  int32_t feature;
  uint16_t frame;   /* the frame of the edge into the node (the root's: 0) */
  uint16_t prev;    /* frame of the edge out of the column's previous split on the path, 0: none */
  uint8_t nan_left; /* a missing value (NaN) goes left */
  uint32_t post[2]; /* the children's edges in post-order (the node's own: post[1] + 1; the root's:
                       the tree's edge count) */
} pp_shap_node;

typedef struct pp_treeshap {
  /* the trees, borrowed (they must outlive this): as cart.h's flat trees */
  size_t d, ntrees;
  const size_t *start;          /* ntrees + 1 */
  const pp_cart_node *node;     /* children local to the tree, after their parent */
  const uint8_t *default_left;  /* where a missing value (NaN) goes */
  const double *value;          /* leaf values (internal nodes' entries are not read) */
  const double *cover;          /* every node's cover, > 0 */
  int strict;                   /* 1: x < threshold goes left (XGBoost); 0: x <= threshold (CART) */
  double scale;                 /* each tree's output is multiplied by this */
  double offset;                /* added to the sum (XGBoost's base margin) */
  size_t min_pts;               /* 0, or at least this many points per tree (tests: every rule is exact) */
  /* derived by pp_treeshap_build (owned) */
  uint16_t *pts;                /* ntrees: quadrature points of the tree (0: a single leaf) */
  size_t max_depth, max_pts, max_edges; /* max_edges: the largest tree's reachable edges (both passes' scratch) */
  double *rule;                 /* per multiple P of PP_SHAP_LANES up to max_pts: 4 x P doubles (see .c) */
  void *rule_mem;               /* rule's allocation */
  double base;                  /* offset + scale x sum over trees of the cover-weighted mean leaf */
  pp_shap_node *plan;           /* the walk plan: each tree's reachable inner nodes */
  size_t *plan_start;           /* ntrees + 1: tree t's are plan[plan_start[t] .. plan_start[t + 1]) */
} pp_treeshap;

/* Fills the derived fields of s, whose borrowed fields are set.  Checks what the pass relies on:
 * children inside their tree and after their parent, features < d, covers finite and > 0, values
 * finite; a failure is PROP_ERR_STATE naming what (the trees cannot be explained; nothing else is
 * wrong with them for predict).  PROP_ERR_NOMEM.  Free with pp_treeshap_free (also after a failure). */
int pp_treeshap_build(pp_treeshap *s, const char *what);
void pp_treeshap_free(pp_treeshap *s);

/* A member's trees as s (fields as above; the member keeps them alive), built: trees it cannot explain
 * (pp_treeshap_build's PROP_ERR_STATE) leave s->ntrees 0, so that the member's contrib says so, and
 * the thread's last error as it was: predict is not concerned.  0, or PROP_ERR_NOMEM. */
int pp_treeshap_init(pp_treeshap *s, size_t d, size_t ntrees, const size_t *start, const pp_cart_node *node,
                     const uint8_t *default_left, const double *value, const double *cover, int strict, double scale,
                     const char *what);

/* Bytes of scratch pp_treeshap_rows needs for calls of up to n rows (n <= 1: the single-row pass's
 * only; n >= 2: any number, the grouped walk's edge lists included). */
size_t pp_treeshap_scratch(const pp_treeshap *s, size_t n);
/* Contributions of n rows of X (d floats each) into phi (n x d, overwritten); scratch is
 * pp_treeshap_scratch(s, n) bytes or more, 16-byte aligned (malloc's).  base + sum phi[i] = s's output for row i
 * (offset + scale x sum of the leaves x reaches). */
void pp_treeshap_rows(const pp_treeshap *s, const float *X, size_t n, double *phi, void *scratch);
/* The passes of pp_treeshap_rows (tests): rows one at a time (the single-row pass's fastest copy this
 * CPU runs, or its portable, AVX2 or AVX-512 copy), or the grouped walk (treeshap.c) in its portable,
 * AVX2 or AVX-512 copy; each gives every row the same bits.  PP_SHAP_BEST: the grouped walk's fastest
 * copy, a row alone one at a time (what pp_treeshap_rows does). */
enum {
  PP_SHAP_BEST = 0,
  PP_SHAP_SINGLE = 1,
  PP_SHAP_PORTABLE = 2,
  PP_SHAP_AVX2 = 3,
  PP_SHAP_AVX512 = 4,
  PP_SHAP_SINGLE_PORTABLE = 5,
  PP_SHAP_SINGLE_AVX2 = 6,
  PP_SHAP_SINGLE_AVX512 = 7
};
/* pp_treeshap_rows by the pass path; one the CPU (or the compiler) lacks is the portable copy.
 * Returns the grouped copy used (PP_SHAP_PORTABLE, _AVX2 or _AVX512), PP_SHAP_SINGLE when no
 * group was walked, or for PP_SHAP_SINGLE_* the single-row copy used (every row by it). */
int pp_treeshap_rows_path(const pp_treeshap *s, const float *X, size_t n, double *phi, void *scratch, int path);
/* A member's contrib on s: *base (may be NULL) = s->base, then (n > 0) pp_treeshap_rows with scratch,
 * or with scratch of its own when it is NULL (PROP_ERR_NOMEM). */
int pp_treeshap_contrib(const pp_treeshap *s, const float *X, size_t n, double *phi, double *base, void *scratch);

#endif
