/* Our own walk of an XGBoost model's trees, with XGBoost's arithmetic (the rules, and the checks that
 * decide when a walk may stand in for XGBoost, are in xgb.c, "our own walk of the trees"): the walk of
 * a few rows, one row at a time over the node arrays, and the batch walk over the trees laid out as
 * complete trees, in portable C or with AVX-512 where the CPU has it.  Nothing here includes XGBoost
 * or reads its JSON: xgb.c builds the node arrays from the checked model and chooses the walk. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "models/xgb_walk.h"

#define XGB_LANES 8                   /* trees walked together by the row walk */
#define XGB_FULL_MAX_DEPTH 8          /* deeper models: no complete layout, batches go to XGBoost */
#define XGB_FULL_MAX_SLOTS (1u << 24) /* ntrees * stride bound of the complete layout (3 x 64 MB) */
#define XGB_SIMD_MAX_DEPTH 8
#define XGB_SIMD_MAX_WIDTH 4096       /* its block is transposed: d x 64 floats per thread */

void pp_xgb_walk_free(xgb_native *nv) {
  if (!nv) return;
  free(nv->start);
  free(nv->node);
  free(nv->dleft);
  free(nv->cover);
  free(nv->fword);
  free(nv->fthr);
  free(nv->fleaf);
  free(nv);
}

/* binary:logistic's probability of a margin, in float as XGBoost computes it. */
static double xgb_sigmoid(float margin) { return (double)(1.0f / (1.0f + expf(-margin))); }

/* The row walk: XGB_LANES trees of one row at a time. */
void pp_xgb_walk_rows(const xgb_native *nv, const float *X, size_t n, size_t d, double *out) {
  for (size_t r = 0; r < n; r++) {
    const float *x = X + r * d;
    int miss = 0;
    for (size_t j = 0; j < d; j++) miss |= x[j] != x[j];
    float margin = 0.0f;
    for (size_t t0 = 0; t0 < nv->ntrees; t0 += XGB_LANES) {
      const size_t L = nv->ntrees - t0 < XGB_LANES ? nv->ntrees - t0 : XGB_LANES;
      const xgb_nnode *nd[XGB_LANES];
      const uint8_t *dl[XGB_LANES];
      int32_t idx[XGB_LANES];
      for (size_t k = 0; k < L; k++) {
        nd[k] = nv->node + nv->start[t0 + k];
        dl[k] = nv->dleft + nv->start[t0 + k];
        idx[k] = 0;
      }
      for (;;) { /* one level of every walk per round; the child is picked with a mask, not a branch */
        int live = 0;
        for (size_t k = 0; k < L; k++) {
          const xgb_nnode *c = nd[k] + idx[k];
          if (c->feature < 0) continue;
          float v = x[c->feature];
          int32_t msk = -(int32_t)(v < c->value);
          if (PP_UNLIKELY(miss) && v != v) msk = -(int32_t)(dl[k][idx[k]] != 0);
          idx[k] = (c->left & msk) | (c->right & ~msk);
          live = 1;
        }
        if (!live) break;
      }
      for (size_t k = 0; k < L; k++) margin += nd[k][idx[k]].value;
    }
    out[r] = xgb_sigmoid(margin);
  }
}

/* ---- the batch walk: complete trees, rows in lanes ---------------------------------------------- *
 *
 * For blocks of rows, a tree whose leaves are all at depth `depth` needs no leaf test and no child
 * pointers: a row at split i goes to 2i+1 (left) or 2i+2 (right), and after `depth` levels its index
 * less 2^depth - 1 is its leaf.  Every tree is padded to the model's depth: below a leaf of depth
 * k < depth, the added splits (feature 0, condition 0) lead whichever way to 2^(depth-k) copies of
 * that leaf's value, so each row gets exactly the leaf it gets in the tree as XGBoost holds it.
 * A block of up to XGB_BLOCK rows walks the trees in order, tree by tree, the rows of the block
 * advancing together one level per round (16 rows per AVX-512 vector, 4 vectors interleaved; 16
 * lanes in the portable C version), and each row's float margin adds its leaf after each tree: the
 * same additions in the same order as the walk above and as XGBoost's, so the same bits. */

/* Builds the complete layout of nv's trees, or leaves it NULL (too deep or too big).  Memory only. */
static int build_full(xgb_native *nv) {
  size_t maxn = 0;
  for (size_t t = 0; t < nv->ntrees; t++)
    if (nv->start[t + 1] - nv->start[t] > maxn) maxn = nv->start[t + 1] - nv->start[t];
  /* stack entries: (local node, heap position, depth); a checked tree pushes each node once */
  size_t *st = pp_malloc_array(maxn ? maxn : 1, 3 * sizeof *st);
  if (!st) return PROP_ERR_NOMEM;
  int depth = 0;
  for (size_t t = 0; t < nv->ntrees && depth <= XGB_FULL_MAX_DEPTH; t++) {
    const xgb_nnode *nd = nv->node + nv->start[t];
    size_t top = 0;
    st[top++] = 0;
    st[top++] = 0;
    while (top && depth <= XGB_FULL_MAX_DEPTH) {
      size_t k = st[--top], i = st[--top];
      if ((int)k > depth) depth = (int)k;
      if (nd[i].feature < 0) continue;
      st[top++] = (size_t)nd[i].left;
      st[top++] = k + 1;
      st[top++] = (size_t)nd[i].right;
      st[top++] = k + 1;
    }
  }
  const size_t full = (size_t)1 << (depth <= XGB_FULL_MAX_DEPTH ? depth : 0);
  const size_t S = full < 16 ? 16 : full;
  if (depth > XGB_FULL_MAX_DEPTH || nv->ntrees > XGB_FULL_MAX_SLOTS / S) {
    free(st);
    return 0;
  }
  nv->fword = pp_calloc(nv->ntrees * S, sizeof *nv->fword);
  nv->fthr = pp_calloc(nv->ntrees * S, sizeof *nv->fthr);
  nv->fleaf = pp_calloc(nv->ntrees * S, sizeof *nv->fleaf);
  if (!nv->fword || !nv->fthr || !nv->fleaf) {
    free(st);
    return PROP_ERR_NOMEM;
  }
  for (size_t t = 0; t < nv->ntrees; t++) {
    const xgb_nnode *nd = nv->node + nv->start[t];
    const uint8_t *dl = nv->dleft + nv->start[t];
    uint32_t *w = nv->fword + t * S;
    float *thr = nv->fthr + t * S, *leaf = nv->fleaf + t * S;
    size_t top = 0;
    st[top++] = 0; /* node */
    st[top++] = 0; /* heap position */
    st[top++] = 0; /* depth */
    while (top) {
      size_t k = st[--top], pos = st[--top], i = st[--top];
      if (nd[i].feature >= 0) {
        w[pos] = (uint32_t)nd[i].feature | (dl[i] ? UINT32_C(0x80000000) : 0);
        thr[pos] = nd[i].value;
        st[top++] = (size_t)nd[i].left;
        st[top++] = 2 * pos + 1;
        st[top++] = k + 1;
        st[top++] = (size_t)nd[i].right;
        st[top++] = 2 * pos + 2;
        st[top++] = k + 1;
      } else { /* the splits below stay (feature 0, condition 0): all 2^(depth-k) leaves get this value */
        size_t first = ((pos + 1) << (depth - (int)k)) - 1 - (full - 1), cnt = (size_t)1 << (depth - (int)k);
        for (size_t j = 0; j < cnt; j++) leaf[first + j] = nd[i].value;
      }
    }
  }
  free(st);
  nv->depth = depth;
  nv->stride = S;
  return 0;
}

#define XGB_SLANES 16

/* Margins of nb <= XGB_BLOCK rows of X (d columns) into margin[nb], portable C. */
static void full_margins_scalar(const xgb_native *nv, const float *X, size_t nb, size_t d, float *margin) {
  const size_t S = nv->stride;
  const int D = nv->depth;
  const uint32_t first_leaf = (UINT32_C(1) << D) - 1;
  for (size_t r = 0; r < nb; r++) margin[r] = 0.0f;
  for (size_t t = 0; t < nv->ntrees; t++) {
    const uint32_t *w = nv->fword + t * S;
    const float *thr = nv->fthr + t * S, *leaf = nv->fleaf + t * S;
    for (size_t r0 = 0; r0 < nb; r0 += XGB_SLANES) {
      const size_t L = nb - r0 < XGB_SLANES ? nb - r0 : XGB_SLANES;
      const float *x = X + r0 * d;
      uint32_t idx[XGB_SLANES];
      for (size_t k = 0; k < L; k++) idx[k] = 0;
      for (int l = 0; l < D; l++)
        for (size_t k = 0; k < L; k++) {
          const uint32_t wk = w[idx[k]];
          const float v = x[k * d + (wk & UINT32_C(0x7fffffff))];
          const uint32_t left = (uint32_t)(v < thr[idx[k]]) | ((uint32_t)(v != v) & (wk >> 31));
          idx[k] = 2 * idx[k] + 2 - left;
        }
      for (size_t k = 0; k < L; k++) margin[r0 + k] += leaf[idx[k] - first_leaf];
    }
  }
}

#if PP_HAVE_AVX512
#define XGB_HAVE_SIMD 1
#include <immintrin.h>

/* The AVX-512 walk reads the block transposed, xt[f * XGB_BLOCK + r] (rows nb.. of the last vector
 * zero): the root's and its children's values are then plain loads (every row has the same one or
 * two candidates), deeper ones gathers from a few cache lines. */

/* Lanes whose row goes left at a split: x < condition, or x missing (NaN) and default left. */
#define XGB_V_LEFT(xv, tk, dlm) \
  ((__mmask16)(_mm512_cmp_ps_mask(xv, tk, _CMP_LT_OQ) | (_mm512_cmp_ps_mask(xv, xv, _CMP_UNORD_Q) & (dlm))))

/* Level 1 of vector k: the root sent each lane to node 1 or 2 (right0[k]). */
#define XGB_V_LEVEL1(k)                                                                                    \
  do {                                                                                                     \
    const __m512 xv_ = _mm512_mask_blend_ps(right0[k], _mm512_loadu_ps(c1 + 16 * (k)),                    \
                                            _mm512_loadu_ps(c2 + 16 * (k)));                              \
    const __m512 tk_ = _mm512_mask_blend_ps(right0[k], t1, t2);                                            \
    const __mmask16 left_ = XGB_V_LEFT(xv_, tk_, (__mmask16)((right0[k] & dl2) | (~right0[k] & dl1)));     \
    idx[k] = _mm512_add_epi32(_mm512_add_epi32(idx[k], idx[k]), one);                                      \
    idx[k] = _mm512_mask_add_epi32(idx[k], (__mmask16)~left_, idx[k], one);                                \
  } while (0)

/* A deeper level of vector k: split word and condition of each lane's node (permuted from registers
 * when the tree has at most 32 slots, else gathered), the row's value gathered. */
#define XGB_V_STEP(k, SMALL)                                                                               \
  do {                                                                                                     \
    __m512i wk_;                                                                                           \
    __m512 tk_;                                                                                            \
    if (SMALL) {                                                                                           \
      wk_ = _mm512_permutex2var_epi32(w_lo, idx[k], w_hi);                                                 \
      tk_ = _mm512_permutex2var_ps(t_lo, idx[k], t_hi);                                                    \
    } else {                                                                                               \
      wk_ = _mm512_i32gather_epi32(idx[k], (const void *)w, 4);                                            \
      tk_ = _mm512_i32gather_ps(idx[k], (const void *)thr, 4);                                             \
    }                                                                                                      \
    const __m512i gi_ = _mm512_add_epi32(roff[k], _mm512_slli_epi32(_mm512_and_epi32(wk_, fmask), 6));    \
    const __m512 xv_ = _mm512_i32gather_ps(gi_, (const void *)xt, 4);                                      \
    const __mmask16 left_ = XGB_V_LEFT(xv_, tk_, _mm512_test_epi32_mask(wk_, sign));                       \
    idx[k] = _mm512_add_epi32(_mm512_add_epi32(idx[k], idx[k]), one);                                      \
    idx[k] = _mm512_mask_add_epi32(idx[k], (__mmask16)~left_, idx[k], one);                                \
  } while (0)

#define XGB_V_ALL(STEP)     \
  do {                      \
    STEP(0);                \
    if (nvec > 1) STEP(1);  \
    if (nvec > 2) STEP(2);  \
    if (nvec > 3) STEP(3);  \
  } while (0)

static inline __attribute__((always_inline, target("avx512f"))) void
full_margins_avx512_impl(const xgb_native *nv, const float *xt, size_t nb, float *margin, const int small) {
  const size_t S = nv->stride;
  const int D = nv->depth, nvec = (int)((nb + 15) / 16);
  const __m512i one = _mm512_set1_epi32(1), two = _mm512_set1_epi32(2), fmask = _mm512_set1_epi32(0x7fffffff),
                sign = _mm512_set1_epi32((int)0x80000000u), first_leaf = _mm512_set1_epi32((1 << D) - 1);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  __m512i roff[4], idx[4];
  __m512 acc[4];
  __mmask16 right0[4];
  for (int k = 0; k < 4; k++) {
    roff[k] = _mm512_add_epi32(iota, _mm512_set1_epi32(16 * k));
    acc[k] = _mm512_setzero_ps();
    idx[k] = _mm512_setzero_si512();
    right0[k] = 0;
  }
  for (size_t t = 0; t < nv->ntrees; t++) {
    const uint32_t *w = nv->fword + t * S;
    const float *thr = nv->fthr + t * S, *leaf = nv->fleaf + t * S;
    __m512i w_lo = _mm512_setzero_si512(), w_hi = w_lo;
    __m512 t_lo = _mm512_setzero_ps(), t_hi = t_lo, l_lo = t_lo, l_hi = t_lo;
    if (small) {
      w_lo = _mm512_loadu_si512((const void *)w);
      t_lo = _mm512_loadu_ps(thr);
      l_lo = _mm512_loadu_ps(leaf);
      w_hi = S > 16 ? _mm512_loadu_si512((const void *)(w + 16)) : w_lo;
      t_hi = S > 16 ? _mm512_loadu_ps(thr + 16) : t_lo;
      l_hi = S > 16 ? _mm512_loadu_ps(leaf + 16) : l_lo;
    }
    if (D >= 1) { /* the root: one split for every row */
      const float *c0 = xt + (size_t)(w[0] & 0x7fffffffu) * XGB_BLOCK;
      const __m512 t0 = _mm512_set1_ps(thr[0]);
      const __mmask16 dl0 = (__mmask16)(w[0] >> 31 ? 0xffff : 0);
#define XGB_V_LEVEL0(k)                                                        \
  do {                                                                         \
    const __m512 xv_ = _mm512_loadu_ps(c0 + 16 * (k));                         \
    right0[k] = (__mmask16)~XGB_V_LEFT(xv_, t0, dl0);                          \
    idx[k] = _mm512_mask_blend_epi32(right0[k], one, two);                     \
  } while (0)
      XGB_V_ALL(XGB_V_LEVEL0);
#undef XGB_V_LEVEL0
    }
    if (D >= 2) { /* its children: two candidates */
      const float *c1 = xt + (size_t)(w[1] & 0x7fffffffu) * XGB_BLOCK, *c2 = xt + (size_t)(w[2] & 0x7fffffffu) * XGB_BLOCK;
      const __m512 t1 = _mm512_set1_ps(thr[1]), t2 = _mm512_set1_ps(thr[2]);
      const __mmask16 dl1 = (__mmask16)(w[1] >> 31 ? 0xffff : 0), dl2 = (__mmask16)(w[2] >> 31 ? 0xffff : 0);
      XGB_V_ALL(XGB_V_LEVEL1);
    }
    for (int l = 2; l < D; l++) {
#define XGB_V_STEP_S(k) XGB_V_STEP(k, small)
      XGB_V_ALL(XGB_V_STEP_S);
#undef XGB_V_STEP_S
    }
    for (int k = 0; k < 4; k++) {
      if (k >= nvec) break;
      const __m512i slot = _mm512_sub_epi32(idx[k], first_leaf);
      const __m512 v = small ? _mm512_permutex2var_ps(l_lo, slot, l_hi) : _mm512_i32gather_ps(slot, (const void *)leaf, 4);
      acc[k] = _mm512_add_ps(acc[k], v);
    }
  }
  float tmp[XGB_BLOCK];
  for (int k = 0; k < 4; k++) _mm512_storeu_ps(tmp + 16 * k, acc[k]);
  for (size_t r = 0; r < nb; r++) margin[r] = tmp[r];
}

__attribute__((target("avx512f"))) static void full_margins_avx512_small(const xgb_native *nv, const float *xt,
                                                                           size_t nb, float *margin) {
  full_margins_avx512_impl(nv, xt, nb, margin, 1);
}

__attribute__((target("avx512f"))) static void full_margins_avx512_big(const xgb_native *nv, const float *xt, size_t nb,
                                                                         float *margin) {
  full_margins_avx512_impl(nv, xt, nb, margin, 0);
}
#else
#define XGB_HAVE_SIMD 0
#endif

/* Rows [0, n) into out[n] by the complete-tree walk (simd: the AVX-512 one), blocks of XGB_BLOCK rows
 * shared among nthread threads (0: the OpenMP default).  Fails only on memory (the SIMD walk's
 * transposed block, d x XGB_BLOCK floats per thread). */
int pp_xgb_walk_batch(const xgb_native *nv, const float *X, size_t n, size_t d, double *out, int nthread, int simd) {
  const size_t nblk = (n + XGB_BLOCK - 1) / XGB_BLOCK;
  int nt = nthread > 0 ? pp_threads(nthread) : pp_threads(omp_get_max_threads());
  if ((size_t)nt > nblk) nt = (int)nblk;
#if !XGB_HAVE_SIMD
  simd = 0;
#endif
  int failed = 0;
#pragma omp parallel num_threads(nt) if (nt > 1) reduction(| : failed)
  {
    float *xt = simd ? pp_malloc_array(d, XGB_BLOCK * sizeof(float)) : NULL;
    if (simd && !xt) failed = 1;
#pragma omp for schedule(static)
    for (size_t bi = 0; bi < nblk; bi++) {
      if (failed) continue;
      const size_t r0 = bi * XGB_BLOCK, nb = n - r0 < XGB_BLOCK ? n - r0 : XGB_BLOCK;
      const float *xb = X + r0 * d;
      float mg[XGB_BLOCK];
#if XGB_HAVE_SIMD
      if (simd) {
        const size_t padded = (nb + 15) / 16 * 16;
        for (size_t j = 0; j < d; j++) {
          float *col = xt + j * XGB_BLOCK;
          for (size_t r = 0; r < nb; r++) col[r] = xb[r * d + j];
          for (size_t r = nb; r < padded; r++) col[r] = 0.0f;
        }
        if (nv->stride <= 32) full_margins_avx512_small(nv, xt, nb, mg);
        else full_margins_avx512_big(nv, xt, nb, mg);
      } else
#endif
        full_margins_scalar(nv, xb, nb, d, mg);
      for (size_t r = 0; r < nb; r++) out[r0 + r] = xgb_sigmoid(mg[r]);
    }
    free(xt);
  }
  return failed ? PROP_ERR_NOMEM : 0;
}

int pp_xgb_walk_layout(xgb_native *nv, size_t d) {
  PP_TRY(build_full(nv));
  nv->simd = nv->fword && nv->depth <= XGB_SIMD_MAX_DEPTH && d <= XGB_SIMD_MAX_WIDTH && pp_cpu_avx512f();
  return 0;
}
