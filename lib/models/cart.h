/* lib/models/cart.h: the CART builder shared by the decision tree (tree.c) and the random forest
 * (forest.c).  It is not a member itself: members do not include each other, so the tree code
 * they share lives here: cart.c grows, stores and (de)serialises the trees, cart_predict.c walks
 * them (prediction copy, predict, importance, shape).
 *
 * Fit (binary classification, y in {0,1}):
 *  1. pp_cart_bins_build() bins every column once into at most max_bins quantile bins (uint16
 *     codes, column-major).  A column with no more distinct values than max_bins gets one bin per
 *     value, so its splits are exactly those of a sort-based CART; NaN gets its own code.  Bin
 *     edges are midpoints between neighbouring distinct values, so a split "bins 0..k left" is the
 *     threshold test x <= edge[k] at predict time.  A forest bins once and shares the codes
 *     read-only between all trees and threads.
 *  2. pp_cart_grow() grows one tree depth-first on the rows with multiplicity > 0 (a bootstrap
 *     sample, or every row).  At each node, features are drawn without replacement until
 *     max_features non-constant ones have been evaluated (constant ones do not count, as in
 *     scikit-learn); per feature a weighted class histogram over the bins (dense when the node is
 *     large, a sorted run list when it is small) is scanned for the best gini / entropy decrease.
 *     Missing values (NaN) are tried on both sides; default_left records the better one (or the
 *     heavier child when the node saw no missing value).  A split needs min_samples_leaf rows on
 *     each side, and a node min_samples_split rows to be split, counting distinct rows of the
 *     sample (a row drawn three times by the bootstrap counts once, as in scikit-learn, where the
 *     bootstrap is a sample weight and min_samples_leaf counts rows; the multiplicity weighs the
 *     impurity and the leaf value); zero-gain splits are allowed, as in
 *     scikit-learn, so that XOR-like structure can be found.
 *  3. Trees are stored flat: the nodes of all trees of a model in one contiguous array, tree t
 *     owning [start[t], start[t+1]); child indices are local to the tree and always point forward,
 *     so a walk ends in at most (tree size) steps.
 *
 * The builder is deterministic: the same input and RNG state give the same tree bit for bit.
 * Nothing here prints or allocates behind the caller's back; every allocation is checked. */
#ifndef PP_CART_H
#define PP_CART_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

enum { PP_CART_GINI = 0, PP_CART_ENTROPY = 1 };

/* Bins per feature: codes are uint16 and code nbins[j] means "missing". */
#define PP_CART_MAX_BINS 65535u
#define PP_CART_DEFAULT_BINS 255u

/* ---- pre-binned training matrix ------------------------------------------------------------- */
typedef struct pp_cart_bins {
  size_t n, d;
  uint16_t *code;   /* d x n column-major: code[j * n + i] = bin of X[i][j]; nbins[j] for NaN */
  uint32_t *nbins;  /* d: bins of column j (>= 1) */
  size_t *eoff;     /* d + 1: the nbins[j] - 1 edges of column j are edge[eoff[j] .. eoff[j+1]) */
  float *edge;      /* edge[k] of a column: upper bound of bin k (x <= edge[k] is in bins 0..k) */
  uint32_t max_nbins;
} pp_cart_bins;

/* Bin X (n x d row-major, NaN allowed, +-Inf treated as ordinary values) into at most max_bins
 * (2 .. PP_CART_MAX_BINS) bins per column.  Columns are binned in parallel (nthread), with a
 * result independent of the thread count.  Free with pp_cart_bins_free(). */
int pp_cart_bins_build(const float *X, size_t n, size_t d, size_t max_bins, int nthread, pp_cart_bins *b);
void pp_cart_bins_free(pp_cart_bins *b);

/* ---- growth parameters ---------------------------------------------------------------------- */
typedef struct pp_cart_params {
  int criterion;            /* PP_CART_GINI or PP_CART_ENTROPY */
  size_t max_depth;         /* 0 = unlimited */
  size_t min_samples_split; /* >= 2 */
  size_t min_samples_leaf;  /* >= 1 */
  size_t max_features;      /* features evaluated per split, 1..d (d = all, no RNG used) */
} pp_cart_params;

/* max_features from a recipe choice: kind 0 = all, 1 = sqrt, 2 = log2, 3 = fraction frac of d.
 * Always in [1, d] (scikit-learn's rounding: floor, at least 1). */
enum { PP_CART_MF_ALL = 0, PP_CART_MF_SQRT = 1, PP_CART_MF_LOG2 = 2, PP_CART_MF_FRACTION = 3 };
size_t pp_cart_max_features(int kind, double frac, size_t d);

/* ---- flat trees ------------------------------------------------------------------------------- */
typedef struct pp_cart_node {
  int32_t feature;   /* column, or -1 for a leaf */
  float threshold;   /* x <= threshold goes left, x > threshold right, NaN by default_left */
  int32_t left;      /* child indices local to the tree, > own index; -1 for a leaf */
  int32_t right;
} pp_cart_node;

/* The prediction copy of a node (8 bytes, built by pp_cart_pack): each tree's nodes in depth-first
 * pre-order, so that a node's left child is the next node and only the right one needs an offset.
 * meta = feature | default_left << 15 | (right child - own index) << 16.  A leaf is a node that
 * sends every row to itself: threshold NaN (no comparison holds), default_left 0, offset 0. */
typedef struct pp_cart_pnode {
  float threshold;
  uint32_t meta;
} pp_cart_pnode;

/* The top levels of one tree for the AVX-512 walk (pp_cart_pack): heap positions h = 1 .. 2^L - 1
 * (root 1, children 2h and 2h + 1) with the column each compares in a transposed block (the feature, plus
 * d when NaN goes left) and its threshold; a leaf above depth L repeats itself below.  node[] is the
 * packed index reached at depth L.  col[0] is 1 when the table is usable. */
#define PP_CART_TOP_LEVELS 4
typedef struct pp_cart_top {
  uint32_t col[1u << PP_CART_TOP_LEVELS];
  float thr[1u << PP_CART_TOP_LEVELS];
  uint32_t node[1u << PP_CART_TOP_LEVELS];
} pp_cart_top;

/* The compact copy (cart_compact.c), built after the prediction copy at fit and load and never saved. */
typedef struct pp_cart_compact pp_cart_compact;

typedef struct pp_cart_trees {
  size_t d;            /* columns the trees read */
  size_t n_trees;
  size_t n_nodes;      /* over all trees */
  size_t cap;          /* allocated nodes (growth) */
  size_t *start;       /* n_trees + 1 entries */
  pp_cart_node *node;  /* n_nodes: hot part, read by predict */
  uint8_t *default_left; /* n_nodes: 1 when NaN goes left */
  double *value;       /* n_nodes: weighted share of class 1 among the node's training rows */
  double *weight;      /* n_nodes: weighted training rows (sample x class weight x multiplicity) */
  double *gain;        /* n_nodes: weighted impurity decrease of the split (0 for leaves) */
  uint32_t *count;     /* n_nodes: distinct training rows of the sample reaching the node */
  /* prediction copy (pp_cart_pack), tree t at [start[t], start[t+1]) as above; used only while
   * pk_nodes == n_nodes (growing a tree makes it stale) */
  pp_cart_pnode *pk_node;
  double *pk_value;    /* leaf value of each packed node (internal nodes: their own value) */
  size_t pk_nodes;
  pp_cart_top *pk_top; /* n_trees, or NULL */
  int pk_top_nan_left;  /* some usable top reads the NaN-as-minus-infinity columns (col >= d) */
  pp_cart_compact *pk_compact; /* or NULL (see pp_cart_compact_build) */
} pp_cart_trees;

void pp_cart_trees_init(pp_cart_trees *t, size_t d);
void pp_cart_trees_free(pp_cart_trees *t);
/* Concatenate parts[0..k) (each any number of trees, same d) into *out, in order; the parts are
 * left intact. */
int pp_cart_trees_concat(pp_cart_trees *const *parts, size_t k, pp_cart_trees *out);

/* Per-thread scratch of the builder, sized for one pp_cart_bins. */
typedef struct pp_cart_work pp_cart_work;
int pp_cart_work_create(const pp_cart_bins *b, pp_cart_work **out);
void pp_cart_work_free(pp_cart_work *w);

/* Grow one tree and append it to *out (out->d == b->d).
 *  y[n]: labels 0/1;  rw[n]: row weights > 0 (sample weight x class weight), NULL = all 1;
 *  mult[n]: multiplicity of each row in the sample (0 = not used), NULL = every row once.
 *  rng is used only when max_features < d.  Fails (NOMEM, or ARG when no row is used or n does
 *  not fit in 32 bits) with out unchanged. */
int pp_cart_grow(const pp_cart_bins *b, const float *y, const double *rw, const uint32_t *mult,
                 const pp_cart_params *p, pp_rng *rng, pp_cart_work *w, pp_cart_trees *out);

/* ---- use ---------------------------------------------------------------------------------------- */
/* Leaf index (global) reached by row x (d floats) in tree t. */
static inline size_t pp_cart_leaf(const pp_cart_trees *t, size_t tree, const float *x) {
  const size_t base = t->start[tree];
  const pp_cart_node *nd = t->node + base;
  int32_t i = 0;
  while (nd[i].feature >= 0) {
    const pp_cart_node *c = nd + i;
    float v = x[c->feature];
    if (v <= c->threshold) i = c->left;
    else if (v > c->threshold) i = c->right;
    else i = t->default_left[base + (size_t)i] ? c->left : c->right; /* NaN */
  }
  return base + (size_t)i;
}

/* Builds the prediction copy of the trees (pk_*, replacing an older one), with each tree's top for the
 * AVX-512 walk (pk_top; a tree whose top holds a NaN threshold keeps none).  Trees whose width
 * (d > 32767) or shape (a left subtree of 65535 nodes or more) does not fit the 8-byte node keep
 * no copy, and predict walks the nodes themselves: same results, slower.  PROP_ERR_NOMEM. */
int pp_cart_pack(pp_cart_trees *t);

/* Mean over all trees of the leaf value, for n rows of X (row-major, t->d columns) into out[n].
 * Rows are processed in blocks, each block walking every tree in order (the sum is the same for
 * any thread count); nthread threads (0 = OpenMP default). */
void pp_cart_predict(const pp_cart_trees *t, const float *X, size_t n, double *out, int nthread);

/* ---- the compact copy (cart_compact.c) ----------------------------------------------------------
 * Trees are binned at fit, so a feature's thresholds are few (at most max_bins - 1 distinct values over
 * the whole forest).  The copy replaces every threshold by its rank among its feature's distinct
 * thresholds, and a row's value by its code, the number of those thresholds below it: x <= threshold
 * exactly when code <= rank, so the walk reaches the leaves of the float comparisons.  A row's codes are
 * one byte each, so for d <= 128 a row fits in two vector registers and a lane finds its feature's code
 * with a byte permute instead of a load.  The walk puts 16 trees (a chunk) in the 16 lanes of a vector for
 * one row.  Nodes are 4 bytes, internal ones only (a chunk's nodes stay in L1 while many rows walk it):
 *   bits 0-6 feature (with d <= 64: bit 6 set where NaN goes left, which reads codes with NaN as 0),
 *   bit 7 the left child is a leaf, bits 8-15 threshold rank, bit 16 the right child is a leaf,
 *   bits 17-31 the right child's offset (the left child is the next node);
 * a lane that reaches a leaf stops with 2 x node + side, which indexes the leaf values.  The first three
 * levels of each chunk are kept as node words by path, read with permutes.  Built only for d <= 128, at
 * most 254 distinct thresholds per feature and right-child offsets below 2^15; otherwise t->pk_compact
 * stays NULL and the other walks serve the forest (same results).  PROP_ERR_NOMEM. */
#define PP_CART_CC_ROWS 256 /* rows per sub-block of pp_cart_compact_walk (their code tables: 32 KiB) */
int pp_cart_compact_build(pp_cart_trees *t);
void pp_cart_compact_free(pp_cart_compact *c);
/* 1 when t has a current compact copy. */
int pp_cart_compact_ready(const pp_cart_trees *t);
/* 1 when the CPU runs the compact walk (AVX-512 F, BW, VL and VBMI; x86-64 with GCC or clang). */
int pp_cart_compact_usable(void);
/* Bytes of work memory pp_cart_compact_walk needs for nb rows. */
size_t pp_cart_compact_work_bytes(size_t nb);
/* The sums over all trees, in tree order, of the leaf values of rows X[0..nb) into acc[nb] (the same bits
 * as adding one tree at a time), with work of pp_cart_compact_work_bytes(nb) bytes.  lost[r] is set to 1
 * for a row whose NaN the codes cannot route (d > 64), whose acc[r] the caller must compute otherwise;
 * returns their number.  Requires pp_cart_compact_ready(t) and pp_cart_compact_usable(). */
size_t pp_cart_compact_walk(const pp_cart_trees *t, const float *X, size_t nb, double *acc, uint8_t *lost,
                            void *work);
/* For the shallow walk: the rank of threshold th among feature f's distinct thresholds (th is one of them),
 * and the codes of rows X[0..m) (m <= 64) by column as signed bytes (code - 128): column f (64 bytes at
 * cols + 64 f, 64-byte aligned) with NaN as code 255, column d + f with NaN as code 0; rows m..63 hold the
 * codes of 0.0.  The same codes as the compact walk's (a search of the same thresholds, 16 rows of one
 * feature at a time, its levels read by permutes).  The codes need pp_cart_compact_usable(). */
uint32_t pp_cart_compact_rank(const pp_cart_compact *c, size_t f, float threshold);
void pp_cart_compact_columns(const pp_cart_compact *c, const float *X, size_t m, uint8_t *cols);

/* ---- the shallow forest (cart_shallow.c) ---------------------------------------------------------
 * Where every tree has depth <= 6, the compact copy keeps a second, gather-free one: each tree a complete
 * heap of 63 nodes (threshold rank and code column; a leaf above depth 6 padded, its value repeated on the
 * leaves below it).  The walk decides all 63 nodes of a tree for 64 rows at once (a byte subtraction of the
 * rows' codes of the node's feature from its rank: the sign is the side), finds each row's path bits by
 * muxing the sides level by level (vpternlogq), and reads the leaf values from byte planes by permutes.
 * The sums are the other walks' bits (each row adds its leaves in tree order from 0.0).  Built by
 * pp_cart_compact_build with the compact copy (fit and load), never saved. */
typedef struct pp_cart_shallow pp_cart_shallow;
#define PP_CART_SH_ROWS 64 /* rows per block of the shallow walk */
/* *out = the shallow copy of t (whose compact copy c is being built), or NULL when some tree is deeper than
 * 6 levels.  0 or PROP_ERR_NOMEM. */
int pp_cart_shallow_build(const pp_cart_trees *t, const pp_cart_compact *c, pp_cart_shallow **out);
void pp_cart_shallow_free(pp_cart_shallow *s);
const pp_cart_shallow *pp_cart_compact_shallow(const pp_cart_compact *c);
/* 1 when t has a current compact copy with a shallow one. */
int pp_cart_shallow_ready(const pp_cart_trees *t);
/* Leaf k (of the heap's last level, 0..63) of tree tree in the shallow copy, read and written; for the tests. */
double pp_cart_shallow_leaf(const pp_cart_trees *t, size_t tree, unsigned k);
void pp_cart_shallow_set_leaf(const pp_cart_trees *t, size_t tree, unsigned k, double v);
/* Bytes of work memory pp_cart_shallow_walk needs for a forest of d columns (any number of rows). */
size_t pp_cart_shallow_work_bytes(size_t d);
/* The sums over all trees, in tree order, of the leaf values of rows X[0..nb) into acc[nb] (the same bits as
 * adding one tree at a time).  Requires pp_cart_shallow_ready(t) and pp_cart_compact_usable(). */
void pp_cart_shallow_walk(const pp_cart_trees *t, const float *X, size_t nb, double *acc, void *work);

/* Importance per column (imp[d]): per tree, the impurity decrease of its splits summed per column
 * and divided by the tree's total (trees without a split are skipped), then averaged over trees
 * and normalised to sum to 1 (all zeros when no tree has a split).  As scikit-learn's
 * feature_importances_. */
int pp_cart_importance(const pp_cart_trees *t, double *imp, size_t d);

/* Depth (edges from root to deepest leaf) of tree t, and its number of leaves. */
size_t pp_cart_depth(const pp_cart_trees *t, size_t tree);
size_t pp_cart_leaves(const pp_cart_trees *t, size_t tree);

/* ---- serialisation ----------------------------------------------------------------------------- */
/* Writes n_trees, n_nodes, tree starts and the node arrays (no d: the member writes it). */
void pp_cart_save(const pp_cart_trees *t, pp_buf *b);
/* Reads what pp_cart_save wrote and validates it against d: tree starts increasing, every tree
 * non-empty, features < d, children in range and pointing forward inside their tree (so walks
 * terminate), leaves marked consistently, thresholds not NaN, values in [0,1], weights and gains
 * finite; counts are checked against the bytes present before anything is allocated.
 * max_trees bounds the tree count.  Fails with PROP_ERR_CORRUPT naming in->what. */
int pp_cart_load(pp_rd *in, size_t d, size_t max_trees, pp_cart_trees *t);

/* ROC AUC of s[n] against y[n] (0/1), ties one half, into *auc (NaN when a class is missing or a score is NaN).
 * Used for the out-of-bag score (members may not depend on lib/eval).  0 or PROP_ERR_NOMEM. */
int pp_cart_auc(const double *s, const float *y, size_t n, double *auc);
#endif
