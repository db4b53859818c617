/* lib/models/cart_shallow.c: the shallow forest's walk, 64 rows at a time, without gathers (cart.h).
 *
 * Why (measured on an Intel Xeon KVM guest with AVX-512 VBMI, 2026-12; bench/README.md, "The shallow
 * forest"): the compact walk of cart_compact.c pays one gathered element per lane and level, ~8.7 cycles per
 * tree and row on the default recipe's forest (200 trees, max_depth 6).  A tree of depth <= 6 has at most 63
 * internal nodes, and deciding all of them for 64 rows at once, with plain loads, costs less than finding each
 * row's path by gathers.  Layout and walk:
 *  - codes: the block's rows are coded by column (pp_cart_compact_columns: the compact copy's codes, the
 *    number of a feature's distinct thresholds below the value, 255 for NaN), as signed bytes (code - 128):
 *    column f holds the 64 rows' codes of feature f, column d + f the same with NaN as code 0, read by the
 *    nodes that send NaN left (code 255 is above every rank: NaN goes right elsewhere);
 *  - heaps: every tree is a complete heap of 63 nodes (level l at heap positions 2^l - 1 .. 2^(l+1) - 2, the
 *    children of h at 2h + 1 and 2h + 2), built with the compact copy at fit and load, never saved.  A node
 *    is its threshold's rank as a signed byte repeated in a dword (its broadcast is a plain load) and its
 *    column's byte offset.  A row goes right exactly when code > rank, i.e. when the saturated byte
 *    difference (rank - 128) - (code - 128) is negative: one vpsubsb per node gives the 64 rows' sides in the
 *    top bits of a vector.  A leaf above depth 6 is padded: its 2^(6 - depth) copies on the last level carry
 *    its value, so any route below it is right; the padding nodes still compare something (a search tree over
 *    the thresholds of an off-path feature), so that rows spread over every copy and the tests read them all;
 *  - paths: a row's side at level l (B_l) is the side of the level-l node on its path.  The 2^l sides of level
 *    l are reduced by bitwise muxes (vpternlogq: B_(l-1) ? right : left, then by B_(l-2), ..., B_0), 57 per
 *    tree, on the top bits of the 64 bytes;
 *  - leaves: bit 5 - l of a row's leaf index is B_l (6 mask moves and masked byte adds make the index
 *    bytes).  A tree's 64 leaf values are kept as 8 byte planes (plane i: byte i of each value): one vpermb
 *    per plane gives byte i of all 64 rows' values, and 24 unpacks (bytes, words, dwords) put the bytes back
 *    together into 8 vectors of 8 doubles, in a fixed order of the rows (row 16 j + 2 c + q at qword 2 j + q
 *    of vector c), added to 64 double sums held in registers for the whole forest.  Each row's sum starts at
 *    0.0 and adds its leaf of every tree in tree order, as the other walks do (the caller divides by the tree
 *    count), so the bits are theirs.
 * Per tree and 64 rows: 63 broadcasts and byte subtractions, 57 muxes, ~50 instructions for the leaves.
 * Measured (1 thread, CPU time, ~3.5 GHz; bench/README.md): ~360 cycles a row for demo's 200 trees (1.8 per
 * tree and row, the compact walk's 8.7); ~480 on lending_club (124 columns), of which the codes ~29% (a
 * 16-lane gather per column and 16 rows reads the values).  Tried and not kept: the sides as 64-bit masks
 * (vpcmpub into a mask register) stored per node and muxed 8 trees per vector (the masks stored and reloaded
 * as vectors: 11% slower than the byte sides); the leaf values by four two-table permutes (vpermi2pd) and
 * three blends per 8 rows (the planes: 32% faster on demo) or by an 8-lane gather (slower still); the codes
 * row by row (cc_codes, a 16-lane gather per search step) then transposed (half the rate); the values read
 * by a 16 x 16 transposition of the rows instead of gathers (no measurable difference). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/cart.h"

#define SH_DEPTH 6u
#define SH_NODES 63u  /* internal heap nodes of a tree of depth SH_DEPTH */
#define SH_LEAVES 64u

/* A tree's heap: node h's rank as a signed byte (rank - 128, repeated in a dword) and its column's byte offset
 * in the block's columns (64 x column). */
typedef struct sh_tree {
  int32_t rank[SH_NODES];
  uint16_t col[SH_NODES];
  uint16_t pad_;
} sh_tree;

struct pp_cart_shallow {
  size_t n_trees, d;
  sh_tree *tree;   /* n_trees */
  uint8_t *plane;  /* n_trees x 8 x SH_LEAVES (64-byte aligned, in leafmem): byte b of leaf k of tree t (its
                    * double's bytes, little-endian) at 512 t + 64 b + k */
  void *leafmem;
};

void pp_cart_shallow_free(pp_cart_shallow *s) {
  if (!s) return;
  free(s->tree);
  free(s->leafmem);
  free(s);
}

/* A node's rank as the walk compares it: the signed byte rank - 128, repeated. */
static int32_t sh_rank(uint32_t rank) { return (int32_t)(0x01010101u * (uint8_t)(rank - 128u)); }

/* Leaf k of tree tr := v, byte by byte into the planes. */
static void sh_set_leaf(const pp_cart_shallow *s, size_t tr, unsigned k, double v) {
  uint8_t b[8];
  memcpy(b, &v, sizeof b);
  for (unsigned i = 0; i < 8; i++) s->plane[tr * 8 * SH_LEAVES + i * SH_LEAVES + k] = b[i];
}

/* What the heap fill needs besides the node: the tree's column count, the compact copy (ranks), each
 * feature's number of distinct thresholds, and the features on the path to the node. */
typedef struct sh_ctx {
  const pp_cart_compact *c;
  size_t d;
  const uint32_t *count;
  uint32_t path[SH_DEPTH];
} sh_ctx;

/* The padding below a leaf at heap position h of level L < SH_DEPTH: any side gives the leaf's value, so
 * the nodes compare something real, so that rows spread over all the leaf's copies and a wrong copy would
 * show (the tests): a search tree over the thresholds of the feature with the most of them that is not on
 * the path to the leaf (rows that reached the leaf vary most there). */
static void sh_pad(const sh_ctx *x, unsigned h, unsigned L, sh_tree *tr) {
  size_t best = 0;
  int found = 0;
  for (size_t f = 0; f < x->d; f++) {
    int on = 0;
    for (unsigned l = 0; l < L; l++) on |= x->path[l] == f;
    if (!on && (!found || x->count[f] > x->count[best])) best = f, found = 1;
  }
  const uint32_t cnt = x->count[best];
  for (unsigned j = 0, k = h; k < SH_NODES; j++, k = 2 * k + 1) /* level j below h: 2^j nodes from k */
    for (unsigned q = 0; q < (1u << j); q++) {
      const uint32_t r = (uint32_t)(((2 * q + 1) * (uint64_t)cnt) >> (j + 1));
      tr->rank[k + q] = sh_rank(cnt ? (r < cnt ? r : cnt - 1) : 0);
      tr->col[k + q] = (uint16_t)(64 * best);
    }
}

/* Packed node i of a tree (nd, val) at heap position h of level L into the tree's heap.  Returns 1 when the
 * tree is deeper than SH_DEPTH. */
static int sh_fill(sh_ctx *x, const pp_cart_pnode *nd, const double *val, uint32_t i, unsigned h, unsigned L,
                   sh_tree *tr, double *leaf) {
  const uint32_t off = nd[i].meta >> 16;
  if (off) {
    if (L == SH_DEPTH) return 1;
    const uint32_t f = nd[i].meta & 0x7FFFu, dl = (nd[i].meta >> 15) & 1u;
    tr->rank[h] = sh_rank(pp_cart_compact_rank(x->c, f, nd[i].threshold));
    tr->col[h] = (uint16_t)(64 * (f + (dl ? x->d : 0)));
    x->path[L] = f;
    return sh_fill(x, nd, val, i + 1, 2 * h + 1, L + 1, tr, leaf) ||
           sh_fill(x, nd, val, i + off, 2 * h + 2, L + 1, tr, leaf);
  }
  if (L < SH_DEPTH) sh_pad(x, h, L, tr);
  const unsigned p = h - ((1u << L) - 1u), w = 1u << (SH_DEPTH - L); /* place in the level, leaves below */
  for (unsigned k = 0; k < w; k++) leaf[p * w + k] = val[i];
  return 0;
}

int pp_cart_shallow_build(const pp_cart_trees *t, const pp_cart_compact *c, pp_cart_shallow **out) {
  *out = NULL;
  if (!t->pk_node || t->pk_nodes != t->n_nodes || t->n_trees == 0 || t->d == 0 || 128 * t->d > UINT16_MAX) return 0;
  pp_cart_shallow *s = pp_calloc(1, sizeof *s);
  if (!s) return PROP_ERR_NOMEM;
  s->n_trees = t->n_trees;
  s->d = t->d;
  s->tree = pp_calloc(t->n_trees, sizeof *s->tree);
  s->leafmem = pp_malloc_array(t->n_trees * SH_LEAVES + 8, sizeof(double));
  uint32_t *count = pp_malloc_array(t->d, sizeof *count);
  if (!s->tree || !s->leafmem || !count) {
    free(count);
    pp_cart_shallow_free(s);
    return PROP_ERR_NOMEM;
  }
  for (size_t f = 0; f < t->d; f++) count[f] = pp_cart_compact_rank(c, f, INFINITY); /* the finite ones */
  sh_ctx x = {c, t->d, count, {0}};
  s->plane = (uint8_t *)s->leafmem + (64 - (uintptr_t)s->leafmem % 64) % 64;
  int deep = 0;
  for (size_t tr = 0; !deep && tr < t->n_trees; tr++) {
    double leaf[SH_LEAVES];
    deep = sh_fill(&x, t->pk_node + t->start[tr], t->pk_value + t->start[tr], 0, 0, 0, s->tree + tr, leaf);
    for (unsigned k = 0; !deep && k < SH_LEAVES; k++) sh_set_leaf(s, tr, k, leaf[k]);
  }
  free(count);
  if (deep) { /* the compact walk serves it */
    pp_cart_shallow_free(s);
    return 0;
  }
  *out = s;
  return 0;
}

double pp_cart_shallow_leaf(const pp_cart_trees *t, size_t tree, unsigned k) {
  const pp_cart_shallow *s = pp_cart_compact_shallow(t->pk_compact);
  uint8_t b[8];
  for (unsigned i = 0; i < 8; i++) b[i] = s->plane[tree * 8 * SH_LEAVES + i * SH_LEAVES + k];
  double v;
  memcpy(&v, b, sizeof v);
  return v;
}

void pp_cart_shallow_set_leaf(const pp_cart_trees *t, size_t tree, unsigned k, double v) {
  sh_set_leaf(pp_cart_compact_shallow(t->pk_compact), tree, k, v);
}

size_t pp_cart_shallow_work_bytes(size_t d) {
  return 64 + 2 * d * PP_CART_SH_ROWS + PP_CART_SH_ROWS * sizeof(double);
}

#if PP_HAVE_AVX512
#include <immintrin.h>

#define SH_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi")))

/* Node h of tree tr for the block's 64 rows: the top bit of byte r is set where row r goes right (the signed
 * rank minus its signed code is negative: code > rank; saturated, the sign is kept). */
static inline __attribute__((always_inline)) SH_TARGET __m512i sh_node(const sh_tree *tr, const uint8_t *cols,
                                                                      unsigned h) {
  return _mm512_subs_epi8(_mm512_set1_epi32(tr->rank[h]), _mm512_load_si512((const void *)(cols + tr->col[h])));
}

/* acc[c] += the leaf values of tree tr (its planes lp) reached by the block's rows; acc[c] holds rows
 * 16 j + 2 c + q at qword 2 j + q (j < 4, q < 2: the order the byte transposition leaves them in). */
static inline __attribute__((always_inline)) SH_TARGET void sh_tree_add(const sh_tree *tr, const uint8_t *lp,
                                                                       const uint8_t *cols, __m512d *acc) {
  /* b[l]: the top bit of byte r is set where row r goes right at level l: level l's nodes muxed by the sides
   * already known, the deepest first (SH_Tk: the 2^k nodes from heap position h, by sides s0 .. s(k-1)) */
#define SH_N(h) sh_node(tr, cols, h)
#define SH_M(s, l, r) _mm512_ternarylogic_epi64(l, s, r, 0xB8) /* s ? r : l, bit by bit; l is overwritten */
#define SH_T1(h, s0) SH_M(s0, SH_N(h), SH_N((h) + 1))
#define SH_T2(h, s0, s1) SH_M(s0, SH_T1(h, s1), SH_T1((h) + 2, s1))
#define SH_T3(h, s0, s1, s2) SH_M(s0, SH_T2(h, s1, s2), SH_T2((h) + 4, s1, s2))
#define SH_T4(h, s0, s1, s2, s3) SH_M(s0, SH_T3(h, s1, s2, s3), SH_T3((h) + 8, s1, s2, s3))
#define SH_T5(h, s0, s1, s2, s3, s4) SH_M(s0, SH_T4(h, s1, s2, s3, s4), SH_T4((h) + 16, s1, s2, s3, s4))
  __m512i b[SH_DEPTH];
  b[0] = SH_N(0);
  b[1] = SH_T1(1, b[0]);
  b[2] = SH_T2(3, b[0], b[1]);
  b[3] = SH_T3(7, b[0], b[1], b[2]);
  b[4] = SH_T4(15, b[0], b[1], b[2], b[3]);
  b[5] = SH_T5(31, b[0], b[1], b[2], b[3], b[4]);
#undef SH_N
#undef SH_M
#undef SH_T1
#undef SH_T2
#undef SH_T3
#undef SH_T4
#undef SH_T5
  /* the leaf index: bit 5 - l set where the row goes right at level l */
  __m512i idx = _mm512_maskz_mov_epi8(_mm512_movepi8_mask(b[0]), _mm512_set1_epi8(32));
  idx = _mm512_mask_add_epi8(idx, _mm512_movepi8_mask(b[1]), idx, _mm512_set1_epi8(16));
  idx = _mm512_mask_add_epi8(idx, _mm512_movepi8_mask(b[2]), idx, _mm512_set1_epi8(8));
  idx = _mm512_mask_add_epi8(idx, _mm512_movepi8_mask(b[3]), idx, _mm512_set1_epi8(4));
  idx = _mm512_mask_add_epi8(idx, _mm512_movepi8_mask(b[4]), idx, _mm512_set1_epi8(2));
  idx = _mm512_mask_add_epi8(idx, _mm512_movepi8_mask(b[5]), idx, _mm512_set1_epi8(1));
  /* byte i of every row's leaf value by one permute of plane i; then the bytes transposed back into doubles */
  __m512i p[8];
  for (unsigned i = 0; i < 8; i++) p[i] = _mm512_permutexvar_epi8(idx, _mm512_load_si512((const void *)(lp + 64 * i)));
  const __m512i l01 = _mm512_unpacklo_epi8(p[0], p[1]), h01 = _mm512_unpackhi_epi8(p[0], p[1]);
  const __m512i l23 = _mm512_unpacklo_epi8(p[2], p[3]), h23 = _mm512_unpackhi_epi8(p[2], p[3]);
  const __m512i l45 = _mm512_unpacklo_epi8(p[4], p[5]), h45 = _mm512_unpackhi_epi8(p[4], p[5]);
  const __m512i l67 = _mm512_unpacklo_epi8(p[6], p[7]), h67 = _mm512_unpackhi_epi8(p[6], p[7]);
  const __m512i w[8] = {_mm512_unpacklo_epi16(l01, l23), _mm512_unpackhi_epi16(l01, l23),  /* rows 0-3, 4-7 */
                        _mm512_unpacklo_epi16(h01, h23), _mm512_unpackhi_epi16(h01, h23),  /* 8-11, 12-15 */
                        _mm512_unpacklo_epi16(l45, l67), _mm512_unpackhi_epi16(l45, l67),
                        _mm512_unpacklo_epi16(h45, h67), _mm512_unpackhi_epi16(h45, h67)};
  for (unsigned c = 0; c < 4; c++) { /* of each lane of 16 rows: rows 4 c + {0, 1} and 4 c + {2, 3} */
    acc[2 * c] = _mm512_add_pd(acc[2 * c], _mm512_castsi512_pd(_mm512_unpacklo_epi32(w[c], w[c + 4])));
    acc[2 * c + 1] = _mm512_add_pd(acc[2 * c + 1], _mm512_castsi512_pd(_mm512_unpackhi_epi32(w[c], w[c + 4])));
  }
}

SH_TARGET void pp_cart_shallow_walk(const pp_cart_trees *t, const float *X, size_t nb, double *acc, void *work) {
  const pp_cart_compact *c = t->pk_compact;
  const pp_cart_shallow *s = pp_cart_compact_shallow(c);
  const size_t d = t->d;
  uint8_t *cols = (uint8_t *)work + (64 - (uintptr_t)work % 64) % 64;
  double *sums = (double *)(void *)(cols + 2 * d * PP_CART_SH_ROWS);
  for (size_t r0 = 0; r0 < nb; r0 += PP_CART_SH_ROWS) {
    const size_t m = nb - r0 < PP_CART_SH_ROWS ? nb - r0 : PP_CART_SH_ROWS;
    pp_cart_compact_columns(c, X + r0 * d, m, cols);
    __m512d a[8];
    for (unsigned r = 0; r < 8; r++) a[r] = _mm512_setzero_pd();
    for (size_t tr = 0; tr < s->n_trees; tr++) sh_tree_add(s->tree + tr, s->plane + tr * 8 * SH_LEAVES, cols, a);
    for (unsigned k = 0; k < 8; k++) _mm512_store_pd(sums + 8 * k, a[k]);
    for (size_t r = 0; r < m; r++) /* row 16 j + 2 c + q at a[c], qword 2 j + q */
      acc[r0 + r] = sums[8 * ((r % 16) / 2) + 2 * (r / 16) + r % 2];
  }
}
#else
void pp_cart_shallow_walk(const pp_cart_trees *t, const float *X, size_t nb, double *acc, void *work) {
  (void)t, (void)X, (void)nb, (void)acc, (void)work;
}
#endif
