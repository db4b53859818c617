/* Using the trees of cart.c: the prediction copy (pp_cart_pack) and the walks of
 * pp_cart_predict, importance and shape.  See cart.h. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "models/cart.h"

/* =============================================================================================
 * Prediction, importance, shape
 * ============================================================================================= */

#define PRED_BLOCK 64

/* Tree walks are chains of dependent loads (node -> child -> ...), and a forest's nodes do not fit
 * in L2, so one walk at a time waits on memory at every level.  Walks of different rows (or of
 * different trees) are independent: the walks below advance several of them together, one level
 * per round, which keeps that many loads in flight.  The leaf values are then added in tree order,
 * exactly as one walk at a time would add them, so the sums are bit-for-bit the same. */

/* Trees without a prediction copy (rare: see pp_cart_pack): one row at a time, tree after tree,
 * with pp_cart_leaf; the reference the copy's walks are tested against. */
static void node_walk(const pp_cart_trees *t, const float *X, size_t nb, double *acc) {
  for (size_t r = 0; r < nb; r++) {
    double a = 0.0;
    for (size_t tr = 0; tr < t->n_trees; tr++) a += t->value[pp_cart_leaf(t, tr, X + r * t->d)];
    acc[r] = a;
  }
}

/* ---- the prediction copy ------------------------------------------------------------------------
 * Walking the 16-byte nodes touches 24 bytes per level (node, default_left) spread over three
 * arrays, and the walk has to test for a leaf at every step.  The copy puts what a walk reads in
 * one 8-byte node, in pre-order (the left child next to its parent, often on the same cache
 * line), with leaves that hold every row in place: a step is then the same few instructions for
 * every lane, finished or not, and a lane is done when its node's offset is 0. */

#define PK_MAX_FEATURE 0x7FFFu
#define PK_MAX_OFFSET 0xFFFFu

/* Fills heap position h (depth depth) of top from packed node i of tree nd, and the positions below it. */
static int top_fill(pp_cart_top *top, const pp_cart_pnode *nd, size_t d, uint32_t h, uint32_t i, unsigned depth) {
  if (depth == PP_CART_TOP_LEVELS) {
    top->node[h - (1u << PP_CART_TOP_LEVELS)] = i;
    return 1;
  }
  const uint32_t off = nd[i].meta >> 16;
  if (off == 0) { /* a leaf: both sides stay */
    top->col[h] = 0;
    top->thr[h] = 0.0f;
    return top_fill(top, nd, d, 2 * h, i, depth + 1) && top_fill(top, nd, d, 2 * h + 1, i, depth + 1);
  }
  const float th = nd[i].threshold;
  if (th != th) return 0; /* the transposed compare would differ from PK_STEP's for NaN-left rows */
  top->col[h] = (nd[i].meta & PK_MAX_FEATURE) + ((nd[i].meta >> 15 & 1u) ? (uint32_t)d : 0u);
  top->thr[h] = th;
  return top_fill(top, nd, d, 2 * h, i + 1, depth + 1) && top_fill(top, nd, d, 2 * h + 1, i + off, depth + 1);
}

int pp_cart_pack(pp_cart_trees *t) {
  pp_cart_compact_free(t->pk_compact);
  t->pk_compact = NULL;
  free(t->pk_node);
  free(t->pk_value);
  free(t->pk_top);
  t->pk_top = NULL;
  t->pk_node = NULL;
  t->pk_value = NULL;
  t->pk_nodes = 0;
  if (t->n_nodes == 0 || t->d > PK_MAX_FEATURE + 1) return 0;
  size_t maxn = 0;
  for (size_t tr = 0; tr < t->n_trees; tr++)
    if (t->start[tr + 1] - t->start[tr] > maxn) maxn = t->start[tr + 1] - t->start[tr];
  pp_cart_pnode *pn = pp_malloc_array(t->n_nodes, sizeof *pn);
  double *pv = pp_malloc_array(t->n_nodes, sizeof *pv);
  int32_t *stack = pp_malloc_array(maxn, sizeof *stack), *at = pp_malloc_array(maxn, sizeof *at);
  if (!pn || !pv || !stack || !at) {
    free(pn);
    free(pv);
    free(stack);
    free(at);
    return PROP_ERR_NOMEM;
  }
  int fits = 1;
  for (size_t tr = 0; tr < t->n_trees && fits; tr++) {
    const size_t base = t->start[tr], tn = t->start[tr + 1] - base;
    const pp_cart_node *nd = t->node + base;
    /* pre-order: at[old] = new index; a node's right child is placed when its left subtree is done.
     * A loaded file may be crafted: a node reached twice, or never, leaves the trees unpacked. */
    for (size_t i = 0; i < tn; i++) at[i] = -1;
    size_t sp = 0, next = 0;
    stack[sp++] = 0;
    while (sp && fits) {
      int32_t i = stack[--sp];
      if (at[i] >= 0 || sp + 2 > maxn) {
        fits = 0;
        break;
      }
      at[i] = (int32_t)next++;
      if (nd[i].feature >= 0) {
        stack[sp++] = nd[i].right; /* popped after the whole left subtree */
        stack[sp++] = nd[i].left;
      }
    }
    if (!fits || next != tn) {
      fits = 0;
      break;
    }
    for (size_t i = 0; i < tn; i++) {
      const pp_cart_node *c = nd + i;
      pp_cart_pnode *q = pn + base + (size_t)at[i];
      pv[base + (size_t)at[i]] = t->value[base + i];
      if (c->feature < 0) {
        q->threshold = NAN;
        q->meta = 0;
        continue;
      }
      size_t off = (size_t)(at[c->right] - at[i]);
      if (off > PK_MAX_OFFSET || at[c->left] != at[i] + 1) {
        fits = 0;
        break;
      }
      q->threshold = c->threshold;
      q->meta = (uint32_t)c->feature | (uint32_t)(t->default_left[base + i] != 0) << 15 | (uint32_t)off << 16;
    }
  }
  free(stack);
  free(at);
  if (!fits) {
    free(pn);
    free(pv);
    return 0;
  }
  t->pk_node = pn;
  t->pk_value = pv;
  t->pk_nodes = t->n_nodes;
  t->pk_top_nan_left = 0;
  /* the top levels' copy only speeds the AVX-512 walk up: without it (NULL) the walk reads pk_node */
  if (2 * t->d <= UINT32_MAX && t->n_trees <= SIZE_MAX / sizeof *t->pk_top &&
      (t->pk_top = pp_alloc_optional(t->n_trees * sizeof *t->pk_top)) != NULL)
    for (size_t tr = 0; tr < t->n_trees; tr++) {
      pp_cart_top *top = t->pk_top + tr;
      top->col[0] = (uint32_t)top_fill(top, pn + t->start[tr], t->d, 1, 0, 0);
      for (unsigned h = 1; top->col[0] && h < (1u << PP_CART_TOP_LEVELS); h++)
        if (top->col[h] >= t->d) t->pk_top_nan_left = 1;
    }
  return pp_cart_compact_build(t);
}

/* One step of a walk on the copy: idx moves to the child of its node for row x (a leaf keeps it);
 * live collects the offsets, nonzero while some lane is not at its leaf. */
#define PK_STEP(nd, x, idx, live)                                                                  \
  do {                                                                                             \
    const pp_cart_pnode c_ = (nd)[idx];                                                            \
    const uint32_t off_ = c_.meta >> 16;                                                           \
    const float v_ = (x)[c_.meta & PK_MAX_FEATURE];                                                \
    const uint32_t l_ = (uint32_t)(v_ <= c_.threshold) | ((uint32_t)(v_ != v_) & (c_.meta >> 15)); \
    (live) |= off_;                                                                                \
    (idx) += (l_ & 1u) ? 1u : off_;                                                                \
  } while (0)

#define PK_LANES 8

/* Whether t has a current prediction copy (growing a tree makes it stale). */
static inline int pk_ready(const pp_cart_trees *t) { return t->pk_node && t->pk_nodes == t->n_nodes; }

/* Few rows: each row walks PK_LANES trees at a time (leaf values added in tree order). */
static void pk_rows_by_trees(const pp_cart_trees *t, const float *X, size_t nb, double *acc) {
  const size_t d = t->d, T = t->n_trees;
  for (size_t r = 0; r < nb; r++) {
    const float *x = X + r * d;
    double a = 0.0;
    for (size_t t0 = 0; t0 < T; t0 += PK_LANES) {
      const size_t L = T - t0 < PK_LANES ? T - t0 : PK_LANES;
      const pp_cart_pnode *nd[PK_LANES];
      uint32_t idx[PK_LANES];
      for (size_t k = 0; k < L; k++) {
        nd[k] = t->pk_node + t->start[t0 + k];
        idx[k] = 0;
      }
      for (;;) {
        uint32_t live = 0;
        for (size_t k = 0; k < L; k++) PK_STEP(nd[k], x, idx[k], live);
        if (!live) break;
      }
      for (size_t k = 0; k < L; k++) a += t->pk_value[t->start[t0 + k] + idx[k]];
    }
    acc[r] = a;
  }
}

/* Rows [r0, r1) of a block walk one tree (nodes nd, leaf values val), PK_LANES at a time; each
 * row's leaf value is added to its sum. */
static void pk_tree_rows(const pp_cart_pnode *nd, const double *val, const float *X, size_t d, size_t r0, size_t r1,
                         double *acc) {
  for (; r0 + PK_LANES <= r1; r0 += PK_LANES) {
    uint32_t idx[PK_LANES] = {0};
    const float *x = X + r0 * d;
    for (;;) {
      uint32_t live = 0;
      for (size_t k = 0; k < PK_LANES; k++) PK_STEP(nd, x + k * d, idx[k], live);
      if (!live) break;
    }
    for (size_t k = 0; k < PK_LANES; k++) acc[r0 + k] += val[idx[k]];
  }
  if (r0 < r1) {
    const size_t L = r1 - r0;
    uint32_t idx[PK_LANES] = {0};
    for (;;) {
      uint32_t live = 0;
      for (size_t k = 0; k < L; k++) PK_STEP(nd, X + (r0 + k) * d, idx[k], live);
      if (!live) break;
    }
    for (size_t k = 0; k < L; k++) acc[r0 + k] += val[idx[k]];
  }
}

/* A block of rows: tree by tree (the tree stays in cache for the whole block). */
static void pk_trees_by_rows(const pp_cart_trees *t, const float *X, size_t nb, double *acc) {
  for (size_t r = 0; r < nb; r++) acc[r] = 0.0;
  for (size_t tr = 0; tr < t->n_trees; tr++)
    pk_tree_rows(t->pk_node + t->start[tr], t->pk_value + t->start[tr], X, t->d, 0, nb, acc);
}

#if PP_HAVE_AVX512
#define PK_HAVE_AVX512 1
#define PKV 4 /* vectors of 16 rows walked together (measured: 1 to 8; 4 is fastest) */
/* The vector walk only for models of this many trees or more.  Its gathers wait on every cache miss:
 * on rows not yet in cache (a single tree reads each row once) it runs at half the scalar walk's
 * speed (decision tree, 1M rows of 22 columns, 1 thread: 41M against 79M rows/s), while a forest
 * reads the block's rows again for every tree after the first, from cache. */
#define PK_SIMD_MIN_TREES 8
#include <immintrin.h>

/* The same walk with AVX-512, in two phases after a gather-free top.
 *
 * Top: the first PP_CART_TOP_LEVELS (4) levels of a tree are decided without gathers (pk_top_walk): the
 * block is transposed once (a column's rows contiguous), each of the top's 15 nodes compares its column's
 * 16 rows per vector with plain loads, and each lane follows its bits down.  That is 15 compares where the
 * gather walk takes 4 levels of 3 gathers (~13 ns each level and vector); the compares are wasted on nodes
 * no row visits, so deeper tops gain less (5 levels: the same, 6: less, 8: slower than none).  Demo
 * forest, side by side (best of 15 calls, medians of 5 alternating processes): 1,000 rows, 1 thread 365k
 * -> 420k rows/s; 4,000 rows, 2 threads 771k -> 927k; 100k rows 384k -> 437k (1 thread), 760k -> 850k (2).
 * The top reads a transposed copy of the block's rows (two copies where some top node sends NaN left: the
 * second has NaN as -inf); without memory for them the gathers walk from the root.
 *
 * Phase 1: PKV vectors of 16 rows walk a tree in lock step, each step gathering the lanes' 8-byte nodes
 * (two 8-lane gathers of threshold and meta together, split by two permutes: the gathers' cost grows with
 * the elements they load, and this loads 16 per vector instead of the 32 of two 16-lane gathers, 1.3x
 * faster on the demo forest), then their rows' values (lanes already at a leaf load nothing), and moving
 * each lane by 1 or its offset: the same comparisons as PK_STEP, so the same leaves.  The upper levels
 * are cheap in lock step (the lanes share nodes), but a vector walks until its deepest row is at a leaf:
 * on the demo forest the mean path is 11.3 levels and the deepest of 64 rows' 20.0.
 *
 * Phase 2: so phase 1 stops after PK_PHASE1 levels.  Rows at a leaf by then add their leaf value; the
 * others are compacted, (row, node), into pend and walked on, 16 to a vector whatever their block
 * position, until every one is at a leaf (the row values gathered through each lane's own row offset).
 * Each row still adds exactly one leaf value per tree, trees in order, so the sums are the scalar walk's
 * bits.  Demo forest against the lock-step walk alone, 1 thread: 1,000 rows 278k -> 309k rows/s, 4,000
 * rows 286k -> 342k, 100k rows 291k -> 355k (bench/README.md).  Cutting at 10, 12 or 16 levels, or
 * compacting again every few levels, was no better.  pend = NULL (no memory for it) walks phase 1 to the
 * end.  Row offsets fit an int32: blocks hold at most about 1 MiB of rows (pk_block_rows).  The block's last
 * group of 16 PKV rows may be partial: its missing lanes are masked off (they gather and store nothing). */
#define PK_PHASE1 14

/* PKV vectors walk tree nd in lock step for at most max_levels levels, or until every lane in mk is at a
 * leaf.  Lane l of vector v reads its row's values at xb[v] + off[v][l]; iv holds the lanes' nodes, and
 * live gets the lanes (of mk) not yet at a leaf. */
static inline __attribute__((always_inline, target("avx512f"))) void pk_walk(const pp_cart_pnode *nd,
                                                                             const float *const *xb,
                                                                             const __m512i *off, const __mmask16 *mk,
                                                                             int max_levels, __m512i *iv,
                                                                             __mmask16 *live) {
  const __m512i one = _mm512_set1_epi32(1), fmask = _mm512_set1_epi32((int)PK_MAX_FEATURE),
                dlbit = _mm512_set1_epi32(1 << 15);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
                odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int level = 0;; level++) {
    __m512 tv[PKV];
    __m512i mv[PKV], ov[PKV];
    __mmask16 any = 0;
    for (size_t v = 0; v < PKV; v++) {
      const __m512i qlo = _mm512_i32gather_epi64(_mm512_castsi512_si256(iv[v]), (const void *)nd, 8);
      const __m512i qhi = _mm512_i32gather_epi64(_mm512_extracti64x4_epi64(iv[v], 1), (const void *)nd, 8);
      tv[v] = _mm512_castsi512_ps(_mm512_permutex2var_epi32(qlo, even, qhi));
      mv[v] = _mm512_permutex2var_epi32(qlo, odd, qhi);
      ov[v] = _mm512_srli_epi32(mv[v], 16);
      live[v] = _mm512_test_epi32_mask(ov[v], ov[v]) & mk[v];
      any |= live[v];
    }
    if (!any || level == max_levels) return;
    for (size_t v = 0; v < PKV; v++) {
      const __m512i f = _mm512_add_epi32(off[v], _mm512_and_si512(mv[v], fmask));
      const __m512 x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live[v], f, xb[v], 4);
      const __mmask16 g = _mm512_cmp_ps_mask(x, tv[v], _CMP_LE_OQ) |
                          (_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q) & _mm512_test_epi32_mask(mv[v], dlbit));
      iv[v] = _mm512_mask_add_epi32(iv[v], live[v], iv[v], _mm512_mask_blend_epi32(g, ov[v], one));
    }
  }
}

/* The top PP_CART_TOP_LEVELS levels of tree tp for PKV vectors of 16 rows, rows r0.. of the transposed
 * block xt (column c at xt + c * nbp), without gathers: every node of the top compares its threshold with
 * its column's 16 rows (plain loads), setting bit h of each lane's word where the row goes left; each lane
 * then follows its own bits down the heap (h -> 2h or 2h + 1), and the heap position at depth
 * PP_CART_TOP_LEVELS (16..31, of which the low 4 bits index node[]) gives the packed node reached.
 * PK_STEP's comparisons: x <= threshold, NaN going left only where the column is the NaN-as-minus-infinity
 * copy. */
static inline __attribute__((always_inline, target("avx512f"))) void pk_top_walk(const pp_cart_top *tp,
                                                                                 const float *xt, size_t nbp,
                                                                                 size_t r0, __m512i *iv) {
  __m512i w[PKV];
  for (size_t v = 0; v < PKV; v++) w[v] = _mm512_setzero_si512();
  for (unsigned h = 1; h < (1u << PP_CART_TOP_LEVELS); h++) {
    const float *c = xt + (size_t)tp->col[h] * nbp + r0;
    const __m512 th = _mm512_set1_ps(tp->thr[h]);
    const __m512i bit = _mm512_set1_epi32((int)(1u << h));
    for (size_t v = 0; v < PKV; v++)
      w[v] = _mm512_mask_or_epi32(w[v], _mm512_cmp_ps_mask(_mm512_loadu_ps(c + 16 * v), th, _CMP_LE_OQ), w[v], bit);
  }
  const __m512i one = _mm512_set1_epi32(1), map = _mm512_loadu_si512((const void *)tp->node);
  for (size_t v = 0; v < PKV; v++) {
    __m512i h = one;
    for (unsigned L = 0; L < PP_CART_TOP_LEVELS; L++)
      h = _mm512_or_si512(_mm512_slli_epi32(h, 1), _mm512_andnot_si512(_mm512_srlv_epi32(w[v], h), one));
    iv[v] = _mm512_permutexvar_epi32(h, map);
  }
}

/* Rows of a block rounded up to whole groups of 16 PKV (the last group may be partial): the transposed
 * copy's column length. */
static inline size_t pk_padded_rows(size_t nb) { return (nb + 16 * PKV - 1) / (16 * PKV) * (16 * PKV); }

/* The block's sums into acc; pend (2 nb entries) holds phase 2's rows, xt (pk_padded_rows(nb) x d floats,
 * twice that with pk_top_nan_left) the transposed block; either may be NULL (no memory): see above. */
__attribute__((target("avx512f"))) static void pk_trees_by_rows_avx512(const pp_cart_trees *t, const float *X,
                                                                       size_t nb, double *acc, uint32_t *pend,
                                                                       float *xt) {
  const size_t d = t->d, nbp = pk_padded_rows(nb);
  for (size_t r = 0; r < nb; r++) acc[r] = 0.0;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i dv = _mm512_set1_epi32((int)d);
  const int phase1 = pend ? PK_PHASE1 : INT_MAX;
  __m512i lane_off[PKV];
  for (size_t v = 0; v < PKV; v++) lane_off[v] = _mm512_mullo_epi32(lane, dv);
  if (!t->pk_top) xt = NULL;
  if (xt) { /* the block transposed (rows nb..nbp zero): column f, then (if read) column f with NaN as -inf */
    for (size_t r = 0; r < nb; r++)
      for (size_t f = 0; f < d; f++) xt[f * nbp + r] = X[r * d + f];
    for (size_t f = 0; f < d; f++)
      for (size_t r = nb; r < nbp; r++) xt[f * nbp + r] = 0.0f;
    if (t->pk_top_nan_left)
      for (size_t i = 0; i < d * nbp; i++) xt[d * nbp + i] = xt[i] != xt[i] ? -INFINITY : xt[i];
  }
  for (size_t tr = 0; tr < t->n_trees; tr++) {
    const pp_cart_pnode *nd = t->pk_node + t->start[tr];
    const double *val = t->pk_value + t->start[tr];
    uint32_t *prow = pend, *pnode = pend ? pend + nb : NULL;
    size_t np = 0;
    for (size_t r0 = 0; r0 < nbp; r0 += 16 * PKV) {
      const float *xv[PKV];
      __m512i iv[PKV];
      __mmask16 lv[PKV], mk[PKV]; /* mk: the lanes holding rows of the block */
      for (size_t v = 0; v < PKV; v++) {
        const size_t s0 = r0 + 16 * v;
        mk[v] = s0 >= nb ? 0 : nb - s0 >= 16 ? 0xFFFF : (__mmask16)((1u << (nb - s0)) - 1u);
        xv[v] = mk[v] ? X + s0 * d : X; /* a vector past the block's end reads nothing */
        iv[v] = _mm512_setzero_si512();
      }
      if (xt && t->pk_top[tr].col[0]) {
        pk_top_walk(t->pk_top + tr, xt, nbp, r0, iv);
        pk_walk(nd, xv, lane_off, mk, phase1 - PP_CART_TOP_LEVELS, iv, lv); /* phase 1 counts the top's levels */
      } else
        pk_walk(nd, xv, lane_off, mk, phase1, iv, lv);
      for (size_t h = 0; h < PKV; h++) {
        if (!mk[h]) break;
        double *a = acc + r0 + 16 * h;
        const __mmask16 done = (__mmask16)(~lv[h] & mk[h]);
        const __mmask8 dlo = (__mmask8)done, dhi = (__mmask8)(done >> 8);
        const __m512d lo = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), dlo, _mm512_castsi512_si256(iv[h]), val, 8);
        const __m512d hi = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), dhi, _mm512_extracti64x4_epi64(iv[h], 1), val, 8);
        _mm512_mask_storeu_pd(a, dlo, _mm512_add_pd(_mm512_maskz_loadu_pd(dlo, a), lo));
        _mm512_mask_storeu_pd(a + 8, dhi, _mm512_add_pd(_mm512_maskz_loadu_pd(dhi, a + 8), hi));
        if (lv[h]) { /* only with pend: phase 1 stopped early */
          const __m512i rows = _mm512_add_epi32(lane, _mm512_set1_epi32((int)(r0 + 16 * h)));
          const unsigned cnt = (unsigned)__builtin_popcount(lv[h]);
          const __mmask16 head = (__mmask16)((1u << cnt) - 1u);
          _mm512_mask_storeu_epi32(prow + np, head, _mm512_maskz_compress_epi32(lv[h], rows));
          _mm512_mask_storeu_epi32(pnode + np, head, _mm512_maskz_compress_epi32(lv[h], iv[h]));
          np += cnt;
        }
      }
    }
    /* phase 2: the rows still walking, 16 to a vector, PKV vectors together, until all are at a leaf */
    const float *xall[PKV];
    for (size_t v = 0; v < PKV; v++) xall[v] = X;
    for (size_t c = 0; c < np; c += 16 * PKV) {
      __m512i iv[PKV], ro[PKV];
      __mmask16 mk[PKV], lv[PKV];
      for (size_t v = 0; v < PKV; v++) {
        const size_t s0 = c + 16 * v, k = s0 >= np ? 0 : (np - s0 < 16 ? np - s0 : 16);
        mk[v] = (__mmask16)((1u << k) - 1u);
        iv[v] = _mm512_maskz_loadu_epi32(mk[v], pnode + (s0 < np ? s0 : 0));
        ro[v] = _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(mk[v], prow + (s0 < np ? s0 : 0)), dv);
      }
      pk_walk(nd, xall, ro, mk, INT_MAX, iv, lv);
      for (size_t v = 0; v < PKV; v++) {
        uint32_t node[16];
        _mm512_storeu_si512(node, iv[v]);
        const size_t s0 = c + 16 * v;
        for (size_t k = 0; k < 16 && s0 + k < np; k++) acc[prow[s0 + k]] += val[node[k]];
      }
    }
  }
}
#endif

/* Rows per block of the copy's walk.  Each block streams every tree through the cache once, so
 * blocks should be large (the cost of a tree's cache misses is shared by more rows), while the
 * block's rows stay in L2: up to about 1 MiB of them, at least PRED_BLOCK.  The blocks are then
 * made equal and their number a multiple of the thread count, so no thread waits for another's
 * extra block. */
#define PK_BLOCK_BYTES ((size_t)1 << 20)
static size_t pk_block_rows(size_t n, size_t d, size_t nt) {
  size_t target = PK_BLOCK_BYTES / (d * sizeof(float) + 1);
  if (target < PRED_BLOCK) target = PRED_BLOCK;
  size_t r = pp_even_block_rows(n, target, 0, nt);
  r = (r + PK_LANES - 1) / PK_LANES * PK_LANES;
  return r < PRED_BLOCK ? PRED_BLOCK : r;
}

/* The compact walk (cart_compact.c) for forests of this many trees or more: a row's 16 lanes walk 16 trees. */
#define CC_MIN_TREES 8

/* The block's sums by the compact walk; 0 when it cannot run (no memory for its work). */
static int compact_block(const pp_cart_trees *t, const float *X, size_t nb, double *out) {
  _Alignas(64) unsigned char small[2048];
  const size_t need = pp_cart_compact_work_bytes(nb) + nb;
  unsigned char *w = need <= sizeof small ? small : pp_alloc_optional(need); /* NULL: the other walks */
  if (!w) return 0;
  uint8_t *lost = w + (need - nb);
  if (pp_cart_compact_walk(t, X, nb, out, lost, w))
    for (size_t r = 0; r < nb; r++) /* rows with a NaN the codes cannot route */
      if (lost[r]) pk_rows_by_trees(t, X + r * t->d, 1, out + r);
  if (w != small) free(w);
  return 1;
}

/* The block's sums by the shallow walk (cart_shallow.c); 0 when it cannot run (no memory for its work). */
static int shallow_block(const pp_cart_trees *t, const float *X, size_t nb, double *out) {
  void *w = pp_alloc_optional(pp_cart_shallow_work_bytes(t->d)); /* NULL: the other walks */
  if (!w) return 0;
  pp_cart_shallow_walk(t, X, nb, out, w);
  free(w);
  return 1;
}

/* The block's sums by the walks of the prediction copy, or of the nodes without one. */
static void pk_block(const pp_cart_trees *t, const float *X, size_t nb, double *out) {
  if (pk_ready(t)) {
    if (nb < PK_LANES) pk_rows_by_trees(t, X, nb, out);
#ifdef PK_HAVE_AVX512
    else if (nb >= 16 * PKV && t->n_trees >= PK_SIMD_MIN_TREES && pp_cpu_avx512f()) {
      uint32_t *pend = pp_alloc_optional(2 * nb * sizeof *pend); /* NULL: the walk does without phase 2 */
      float *xt = t->pk_top ? pp_alloc_optional((t->pk_top_nan_left ? 2 : 1) * t->d * pk_padded_rows(nb) * sizeof *xt) : NULL;
      pk_trees_by_rows_avx512(t, X, nb, out, pend, xt);
      free(xt);
      free(pend);
    }
#endif
    else pk_trees_by_rows(t, X, nb, out);
  } else node_walk(t, X, nb, out);
}

/* The block's sums are accumulated in out itself (no buffer: any block size, no stack to spare): by the
 * shallow walk for blocks of 64 rows or more where the compact copy has a shallow one, else by the compact
 * walk where the forest has a compact copy and the CPU runs it, else by pk_block. */
static void predict_block(const pp_cart_trees *t, const float *X, size_t nb, double *out) {
  const int compact = pk_ready(t) && t->n_trees >= CC_MIN_TREES && pp_cart_compact_ready(t) && pp_cart_compact_usable();
  const int shallow = compact && nb >= PP_CART_SH_ROWS && pp_cart_shallow_ready(t);
  if (!(shallow && shallow_block(t, X, nb, out)) && !(compact && compact_block(t, X, nb, out))) pk_block(t, X, nb, out);
  const double T = (double)t->n_trees;
  for (size_t r = 0; r < nb; r++) out[r] /= T;
}

void pp_cart_predict(const pp_cart_trees *t, const float *X, size_t n, double *out, int nthread) {
  if (n == 0) return;
  if (t->n_trees == 0) {
    for (size_t i = 0; i < n; i++) out[i] = NAN;
    return;
  }
  const size_t d = t->d;
  int nt = nthread > 0 ? pp_threads(nthread) : pp_threads(omp_get_max_threads());
  size_t blk = pk_ready(t) ? pk_block_rows(n, d, (size_t)nt) : PRED_BLOCK;
  const size_t nblk = (n + blk - 1) / blk;
  if ((size_t)nt > nblk) nt = (int)nblk;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (size_t bi = 0; bi < nblk; bi++) {
    size_t r0 = bi * blk, nb = n - r0 < blk ? n - r0 : blk;
    predict_block(t, X + r0 * d, nb, out + r0);
  }
}

int pp_cart_importance(const pp_cart_trees *t, double *imp, size_t d) {
  if (d != t->d) return pp_err(PROP_ERR_ARG, "cart importance: %zu columns requested, the model has %zu", d, t->d);
  double *tmp = pp_calloc(d ? d : 1, sizeof *tmp);
  if (!tmp) return PROP_ERR_NOMEM;
  for (size_t j = 0; j < d; j++) imp[j] = 0.0;
  size_t used = 0;
  for (size_t tr = 0; tr < t->n_trees; tr++) {
    double tot = 0;
    for (size_t j = 0; j < d; j++) tmp[j] = 0.0;
    for (size_t g = t->start[tr]; g < t->start[tr + 1]; g++) {
      if (t->node[g].feature < 0) continue;
      tmp[t->node[g].feature] += t->gain[g];
      tot += t->gain[g];
    }
    if (t->start[tr + 1] - t->start[tr] <= 1) continue;
    used++;
    if (tot > 0)
      for (size_t j = 0; j < d; j++) imp[j] += tmp[j] / tot;
  }
  free(tmp);
  double s = 0;
  for (size_t j = 0; j < d; j++) s += imp[j];
  if (used && s > 0)
    for (size_t j = 0; j < d; j++) imp[j] /= s;
  return 0;
}

size_t pp_cart_leaves(const pp_cart_trees *t, size_t tree) {
  size_t k = 0;
  for (size_t g = t->start[tree]; g < t->start[tree + 1]; g++) k += t->node[g].feature < 0;
  return k;
}

size_t pp_cart_depth(const pp_cart_trees *t, size_t tree) {
  const size_t base = t->start[tree], S = t->start[tree + 1] - base;
  uint32_t *dep = pp_calloc(S ? S : 1, sizeof *dep);
  if (!dep) return 0;
  size_t mx = 0;
  for (size_t i = 0; i < S; i++) { /* children point forward: parents are done first */
    const pp_cart_node *c = t->node + base + i;
    if (dep[i] > mx) mx = dep[i];
    if (c->feature < 0) continue;
    dep[c->left] = dep[i] + 1;
    dep[c->right] = dep[i] + 1;
  }
  free(dep);
  return mx;
}
