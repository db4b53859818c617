/* lib/models/cart_shallow.c: the shallow forest's walk, 64 rows at a time, without gathers (cart.h).
 *
 * Why (measured on an Intel Xeon KVM guest with AVX-512, 2026-12; bench/README.md, "The shallow forest"):
 * the compact walk of cart_compact.c pays one gathered element per lane and level, ~8.7 cycles per tree and
 * row on the default recipe's forest (200 trees of depth <= 6).  A tree of depth <= 6 has at most 63
 * internal nodes, so it is cheaper to decide every node for 64 rows at once than to find each row's path:
 *  - a block's codes (cart_compact.c's byte codes, the number of a feature's distinct thresholds below the
 *    value, 255 for NaN) are transposed: column f is the 64 rows' codes of feature f, column d + f the same
 *    with NaN as 0 (read by the nodes that send NaN left);
 *  - every tree is a complete heap of 63 nodes (level l at heap positions 2^l - 1 .. 2^(l+1) - 2).  A node
 *    is a threshold rank (the byte repeated in a dword, so that its broadcast is a plain load) and a column;
 *    a row goes right exactly when its code > rank, so one byte compare of the column against the rank gives
 *    the 64 rows' sides as a 64-bit mask.  A leaf above depth 6 is padded: the nodes below it have rank 255
 *    (no code is above it: every row goes left) and the 2^(6 - depth) leaves below it carry its value;
 *  - level l's side bit of a row, B_l, is the mask of the node at level l on the row's path: the 2^l masks of
 *    level l are reduced by muxes (B_(l-1) ? right : left, then B_(l-2), ...).  The masks of 8 trees are
 *    kept side by side ([node][tree], 8 qwords), so that one vpternlogq muxes 8 trees: 57 per 8 trees;
 *  - the leaf index of a row is B_0 .. B_5 (B_0 the most significant bit); its low four bits pick one of 16
 *    leaves with a two-table permute, four permutes cover the 64 leaves and B_0, B_1 blend them, 8 rows a
 *    vector.  Each row's sum starts at 0.0 and adds its leaf of every tree in tree order, as the other walks
 *    do (the caller divides by the tree count), so the bits are theirs.
 * Built with the compact copy (same codes), for forests whose trees all have depth <= 6. */
#include <stdlib.h>
#include <string.h>

#include "models/cart.h"

#define SH_DEPTH 6u
#define SH_NODES 63u  /* internal heap nodes of a tree of depth SH_DEPTH */
#define SH_LEAVES 64u
#define SH_TREES 8u   /* trees muxed together, one qword each */
#define SH_PAD 0xFFFFFFFFu /* rank 255 repeated: no code is above it */

struct pp_cart_shallow {
  size_t n_trees, n_groups, d; /* groups of SH_TREES trees, the last one padded */
  uint32_t *rank;  /* n_groups x SH_NODES x SH_TREES: node h of tree 8 g + j at [g][h][j], its rank x 0x01010101 */
  uint16_t *col;   /* same layout: its code column (f, or d + f where NaN goes left) */
  double *leaf;    /* n_trees x SH_LEAVES (64-byte aligned, in leafmem) */
  void *leafmem;
};

void pp_cart_shallow_free(pp_cart_shallow *s) {
  if (!s) return;
  free(s->rank);
  free(s->col);
  free(s->leafmem);
  free(s);
}

/* Packed node i of a tree (nd, val) at heap position h of level L into the tree's slots (rank, col at stride
 * SH_TREES; leaf).  Returns 1 when the tree is deeper than SH_DEPTH. */
static int sh_fill(const pp_cart_trees *t, const pp_cart_compact *c, const pp_cart_pnode *nd, const double *val,
                   uint32_t i, unsigned h, unsigned L, uint32_t *rank, uint16_t *col, double *leaf) {
  const uint32_t off = nd[i].meta >> 16;
  if (off) {
    if (L == SH_DEPTH) return 1;
    const uint32_t f = nd[i].meta & 0x7FFFu, dl = (nd[i].meta >> 15) & 1u;
    rank[SH_TREES * h] = 0x01010101u * pp_cart_compact_rank(c, f, nd[i].threshold);
    col[SH_TREES * h] = (uint16_t)(f + (dl ? t->d : 0));
    return sh_fill(t, c, nd, val, i + 1, 2 * h + 1, L + 1, rank, col, leaf) ||
           sh_fill(t, c, nd, val, i + off, 2 * h + 2, L + 1, rank, col, leaf);
  }
  const unsigned p = h - ((1u << L) - 1u), w = 1u << (SH_DEPTH - L); /* place in the level, leaves below */
  for (unsigned k = 0; k < w; k++) leaf[p * w + k] = val[i];
  return 0;
}

int pp_cart_shallow_build(const pp_cart_trees *t, const pp_cart_compact *c, pp_cart_shallow **out) {
  *out = NULL;
  if (!t->pk_node || t->pk_nodes != t->n_nodes || t->n_trees == 0 || 2 * t->d > UINT16_MAX) return 0;
  pp_cart_shallow *s = pp_calloc(1, sizeof *s);
  if (!s) return PROP_ERR_NOMEM;
  s->n_trees = t->n_trees;
  s->n_groups = (t->n_trees + SH_TREES - 1) / SH_TREES;
  s->d = t->d;
  const size_t slots = s->n_groups * SH_NODES * SH_TREES;
  s->rank = pp_malloc_array(slots, sizeof *s->rank);
  s->col = pp_calloc(slots, sizeof *s->col);
  s->leafmem = pp_malloc_array(t->n_trees * SH_LEAVES + 8, sizeof *s->leaf);
  if (!s->rank || !s->col || !s->leafmem) {
    pp_cart_shallow_free(s);
    return PROP_ERR_NOMEM;
  }
  s->leaf = (double *)(void *)((char *)s->leafmem + (64 - (uintptr_t)s->leafmem % 64) % 64);
  for (size_t k = 0; k < slots; k++) s->rank[k] = SH_PAD;
  int deep = 0;
  for (size_t tr = 0; !deep && tr < t->n_trees; tr++) {
    const size_t g = tr / SH_TREES, j = tr % SH_TREES, at = g * SH_NODES * SH_TREES + j;
    deep = sh_fill(t, c, t->pk_node + t->start[tr], t->pk_value + t->start[tr], 0, 0, 0, s->rank + at, s->col + at,
                   s->leaf + tr * SH_LEAVES);
  }
  if (deep) { /* the compact walk serves it */
    pp_cart_shallow_free(s);
    return 0;
  }
  *out = s;
  return 0;
}

size_t pp_cart_shallow_work_bytes(size_t d) {
  return 64 + PP_CART_SH_ROWS * 128 + 2 * d * PP_CART_SH_ROWS + (SH_NODES + SH_DEPTH) * SH_TREES * sizeof(uint64_t);
}

#if PP_HAVE_AVX512
#include <immintrin.h>

#define SH_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi")))

/* The codes of rows X[0..m) (m <= 64; the others 0) transposed into cols: column f at cols + 64 f, and at
 * cols + 64 (d + f) with NaN as 0.  tab: the rows' code tables (64 x 128 bytes). */
static SH_TARGET void sh_columns(const pp_cart_compact *c, size_t d, const float *X, size_t m, uint8_t *tab,
                                 uint8_t *cols) {
  pp_cart_compact_codes(c, X, m, tab);
  if (m < PP_CART_SH_ROWS) memset(tab + m * 128, 0, (PP_CART_SH_ROWS - m) * 128);
  for (size_t f = 0; f < d; f++) {
    uint8_t *a = cols + 64 * f, *b = cols + 64 * (d + f);
    for (size_t r = 0; r < PP_CART_SH_ROWS; r++) a[r] = tab[r * 128 + f];
    const __m512i v = _mm512_load_si512((const void *)a);
    _mm512_store_si512((void *)b, _mm512_maskz_mov_epi8(_mm512_cmpneq_epi8_mask(v, _mm512_set1_epi8(-1)), v));
  }
}

/* The side masks of group g's nodes for the block's 64 rows: K[8 h + j] = the rows that node h of the
 * group's tree j sends right. */
static SH_TARGET void sh_masks(const pp_cart_shallow *s, size_t g, const uint8_t *cols, uint64_t *K) {
  const uint32_t *rk = s->rank + g * SH_NODES * SH_TREES;
  const uint16_t *cl = s->col + g * SH_NODES * SH_TREES;
  for (size_t k = 0; k < SH_NODES * SH_TREES; k++)
    _store_mask64((__mmask64 *)(K + k), _mm512_cmplt_epu8_mask(_mm512_set1_epi32((int)rk[k]),
                                                                _mm512_load_si512((const void *)(cols + 64 * (size_t)cl[k]))));
}

/* The level bits of the group's 8 trees: B[8 l + j] = the rows whose path in tree j goes right at level l. */
static SH_TARGET void sh_paths(const uint64_t *K, uint64_t *B) {
  __m512i b[SH_DEPTH];
  b[0] = _mm512_load_si512((const void *)K);
  for (unsigned L = 1; L < SH_DEPTH; L++) {
    __m512i v[1u << (SH_DEPTH - 1)];
    const unsigned base = (1u << L) - 1u;
    for (unsigned i = 0; i < (1u << L); i++) v[i] = _mm512_load_si512((const void *)(K + SH_TREES * (base + i)));
    for (unsigned k = L; k-- > 0;) /* by level k's bit: b[k] ? right : left */
      for (unsigned i = 0; i < (1u << k); i++) v[i] = _mm512_ternarylogic_epi64(b[k], v[2 * i + 1], v[2 * i], 0xCA);
    b[L] = v[0];
  }
  for (unsigned L = 0; L < SH_DEPTH; L++) _mm512_store_si512((void *)(B + SH_TREES * L), b[L]);
}

/* acc[r] (rows 8 r .. 8 r + 7) += the leaf values of tree lv reached by the rows whose level bits are
 * B[8 l] (l = 0..5). */
static inline __attribute__((always_inline)) SH_TARGET void sh_add(const double *lv, const uint64_t *B,
                                                                  __m512d *acc) {
  __m512i idx = _mm512_maskz_mov_epi8(_load_mask64((__mmask64 *)(B + SH_TREES * 2)), _mm512_set1_epi8(8));
  idx = _mm512_mask_add_epi8(idx, _load_mask64((__mmask64 *)(B + SH_TREES * 3)), idx, _mm512_set1_epi8(4));
  idx = _mm512_mask_add_epi8(idx, _load_mask64((__mmask64 *)(B + SH_TREES * 4)), idx, _mm512_set1_epi8(2));
  idx = _mm512_mask_add_epi8(idx, _load_mask64((__mmask64 *)(B + SH_TREES * 5)), idx, _mm512_set1_epi8(1));
  __m512d T[8];
  for (unsigned q = 0; q < 8; q++) T[q] = _mm512_load_pd(lv + 8 * q);
  const uint8_t *b0 = (const uint8_t *)B, *b1 = (const uint8_t *)(B + SH_TREES);
  const __m512i lane = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
  for (unsigned r = 0; r < 8; r++) {
    const __m512i ix = _mm512_permutexvar_epi8(_mm512_add_epi64(lane, _mm512_set1_epi64(8 * r)), idx);
    const __mmask8 m0 = b0[r], m1 = b1[r];
    const __m512d q0 = _mm512_permutex2var_pd(T[0], ix, T[1]), q1 = _mm512_permutex2var_pd(T[2], ix, T[3]);
    const __m512d q2 = _mm512_permutex2var_pd(T[4], ix, T[5]), q3 = _mm512_permutex2var_pd(T[6], ix, T[7]);
    const __m512d v = _mm512_mask_blend_pd(m0, _mm512_mask_blend_pd(m1, q0, q1), _mm512_mask_blend_pd(m1, q2, q3));
    acc[r] = _mm512_add_pd(acc[r], v);
  }
}

SH_TARGET void pp_cart_shallow_walk(const pp_cart_trees *t, const float *X, size_t nb, double *acc, void *work) {
  const pp_cart_compact *c = t->pk_compact;
  const pp_cart_shallow *s = pp_cart_compact_shallow(c);
  const size_t d = t->d;
  uint8_t *tab = (uint8_t *)work + (64 - (uintptr_t)work % 64) % 64, *cols = tab + PP_CART_SH_ROWS * 128;
  uint64_t *K = (uint64_t *)(void *)(cols + 2 * d * PP_CART_SH_ROWS), *B = K + SH_NODES * SH_TREES;
  for (size_t r0 = 0; r0 < nb; r0 += PP_CART_SH_ROWS) {
    const size_t m = nb - r0 < PP_CART_SH_ROWS ? nb - r0 : PP_CART_SH_ROWS;
    sh_columns(c, d, X + r0 * d, m, tab, cols);
    __m512d a[8];
    for (unsigned r = 0; r < 8; r++) a[r] = _mm512_setzero_pd();
    for (size_t g = 0; g < s->n_groups; g++) {
      sh_masks(s, g, cols, K);
      sh_paths(K, B);
      const size_t trees = s->n_trees - g * SH_TREES < SH_TREES ? s->n_trees - g * SH_TREES : SH_TREES;
      for (size_t j = 0; j < trees; j++) sh_add(s->leaf + (g * SH_TREES + j) * SH_LEAVES, B + j, a);
    }
    for (unsigned r = 0; r < 8 && 8 * r < m; r++) {
      const __mmask8 k = m - 8 * r >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (m - 8 * r)) - 1u);
      _mm512_mask_storeu_pd(acc + r0 + 8 * r, k, a[r]);
    }
  }
}
#else
void pp_cart_shallow_walk(const pp_cart_trees *t, const float *X, size_t nb, double *acc, void *work) {
  (void)t, (void)X, (void)nb, (void)acc, (void)work;
}
#endif
