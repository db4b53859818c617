/* lib/models/cart_compact.c: the forest's compact copy (cart.h) and its walk, trees across the lanes of a
 * vector, a row's values looked up in registers.
 *
 * Why this layout (measured on an Intel Xeon KVM guest with AVX-512 VBMI, 2026-12; bench/README.md, "The
 * compact forest"): the node walk of cart_predict.c puts 16 rows in a vector and gathers, at every level,
 * each lane's node (two 8-lane gathers of 8-byte nodes) and its row's value (a 16-lane gather); a gather
 * costs about as much per element as a load, so a level costs ~2 gathered elements per row.  Here a row's
 * values are byte codes held in two registers: the value of a lane's feature is a byte permute, and a level
 * costs one 4-byte gather per lane.  The 16 lanes hold 16 trees of one row (a chunk), so that the chunk's
 * internal nodes (~30 KiB for 200-tree forests of ~500 internal nodes a tree) stay in L1 while all the rows
 * walk it: a first version that walked 256 trees at once, handing a lane the next tree as soon as its own
 * reached a leaf, gathered from L2 and ran at half the node walk's speed.  The lanes of a chunk walk in lock
 * step, so a row's vector runs until its deepest tree is done (on the demo forest 9.5 of 16 lanes are busy
 * per step); the first CC_TOP levels of every tree are read from registers by permutes.  Four rows walk at
 * once (independent chains of gathers; six were no faster), and a slot whose row is done takes the next.
 * The leaves' values are added afterwards, tree by tree in order, 8 rows per vector. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/cart.h"

#define CC_MAX_D 128u           /* features a node can name (7 bits) */
#define CC_NAN_TABLE_D 64u      /* up to this width the code table's upper half routes NaN left */
#define CC_MAX_THRESHOLDS 254u  /* distinct thresholds per feature: codes 0..254, 255 = NaN */
#define CC_MAX_OFF 0x7FFFu      /* right-child offset (15 bits) */
#define CC_LEFT_LEAF (1u << 7)
#define CC_RIGHT_LEAF (1u << 16)
#define CC_ALWAYS_LEFT (0xFFu << 8 | CC_LEFT_LEAF) /* threshold code 255: every code goes left, to a leaf */
#define CC_LANES 16u
#define CC_TOP 3u               /* levels of each chunk's trees read from registers instead of memory */
#define CC_TOP_WORDS (CC_LANES * ((1u << CC_TOP) - 1u)) /* per chunk: 16 + 32 + 64 node words */

struct pp_cart_compact {
  size_t n_nodes;    /* t->n_nodes when built: growing a tree makes the copy stale */
  size_t d, n_trees, n_chunks; /* chunks of CC_LANES trees */
  uint32_t *node;    /* internal nodes only, each tree's in pre-order, then one per single-leaf tree, then a dummy */
  double *leafv;     /* 2 per internal node: the value of its left (right) child where that child is a leaf */
  uint32_t *root;    /* n_chunks x CC_LANES: each tree's root, then the dummy */
  uint32_t *top;     /* n_chunks x CC_TOP_WORDS: the top levels' nodes, level L at lane << L | path */
  float *thr;        /* each feature's distinct thresholds ascending, padded with +inf (see cc_codes) */
  uint32_t *toff;    /* d rounded up to 16: feature f's thresholds start at thr[toff[f]] */
  uint8_t *steps;    /* per group of 16 features: binary-search steps, 2^steps > the group's largest count */
  uint8_t *fsteps;   /* per feature: search steps s, 2^s > its number of distinct thresholds */
  float *eyt;        /* per feature at toff[f]: its thresholds by search level, level j at [2^j, 2^(j+1)) */
  pp_cart_shallow *shallow; /* the shallow forest's heaps (cart_shallow.c), or NULL */
};

void pp_cart_compact_free(pp_cart_compact *c) {
  if (!c) return;
  pp_cart_shallow_free(c->shallow);
  free(c->node);
  free(c->leafv);
  free(c->root);
  free(c->top);
  free(c->thr);
  free(c->toff);
  free(c->steps);
  free(c->fsteps);
  free(c->eyt);
  free(c);
}

static int cmp_float(const void *a, const void *b) {
  const float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* The distinct thresholds of every feature (internal nodes of the packed copy), sorted, into c->thr with
 * c->toff and c->steps.  Returns 0, 1 when some feature has more than CC_MAX_THRESHOLDS, or NOMEM. */
static int cc_thresholds(const pp_cart_trees *t, pp_cart_compact *c) {
  const size_t d = t->d, groups = (d + 15) / 16;
  size_t *cnt = pp_calloc(d + 1, sizeof *cnt), *at = pp_calloc(d + 1, sizeof *at);
  float *all = pp_malloc_array(t->n_nodes ? t->n_nodes : 1, sizeof *all);
  c->toff = pp_calloc(groups * 16, sizeof *c->toff);
  c->steps = pp_calloc(groups, sizeof *c->steps);
  int rc = (!cnt || !at || !all || !c->toff || !c->steps) ? PROP_ERR_NOMEM : 0;
  for (size_t i = 0; !rc && i < t->n_nodes; i++)
    if (t->pk_node[i].meta >> 16) cnt[(t->pk_node[i].meta & 0x7FFFu) + 1]++;
  for (size_t f = 0; !rc && f < d; f++) cnt[f + 1] += cnt[f]; /* cnt[f]: start of feature f in all[] */
  for (size_t f = 0; !rc && f <= d; f++) at[f] = cnt[f];
  for (size_t i = 0; !rc && i < t->n_nodes; i++)
    if (t->pk_node[i].meta >> 16) {
      const float th = t->pk_node[i].threshold;
      if (th != th) rc = 1; /* never in a valid model; no rank for it */
      all[at[t->pk_node[i].meta & 0x7FFFu]++] = th;
    }
  size_t total = 0;
  for (size_t f = 0; !rc && f < d; f++) { /* sort and keep the distinct ones: at[f] = their number */
    float *a = all + cnt[f];
    const size_t k = cnt[f + 1] - cnt[f];
    qsort(a, k, sizeof *a, cmp_float);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
      if (u == 0 || a[i] != a[u - 1]) a[u++] = a[i];
    at[f] = u;
    if (u > CC_MAX_THRESHOLDS) rc = 1;
  }
  for (size_t g = 0; !rc && g < groups; g++) { /* every feature of a group padded to 2^steps entries */
    size_t most = 0;
    for (size_t f = 16 * g; f < 16 * g + 16 && f < d; f++)
      if (at[f] > most) most = at[f];
    unsigned s = 0;
    while (((size_t)1 << s) <= most) s++;
    c->steps[g] = (uint8_t)s;
    for (size_t f = 16 * g; f < 16 * g + 16; f++) {
      c->toff[f] = (uint32_t)total;
      total += (size_t)1 << s;
    }
  }
  if (!rc && !(c->thr = pp_malloc_array(total ? total : 1, sizeof *c->thr))) rc = PROP_ERR_NOMEM;
  for (size_t g = 0; !rc && g < groups; g++)
    for (size_t f = 16 * g; f < 16 * g + 16; f++) {
      const size_t k = f < d ? at[f] : 0, room = (size_t)1 << c->steps[g];
      for (size_t i = 0; i < room; i++) c->thr[c->toff[f] + i] = i < k ? all[cnt[f] + i] : INFINITY;
    }
  c->fsteps = pp_calloc(d ? d : 1, sizeof *c->fsteps);
  c->eyt = pp_calloc(total + 32, sizeof *c->eyt); /* + 32: a level's 16-float loads may read past the last */
  if (!rc && (!c->fsteps || !c->eyt)) rc = PROP_ERR_NOMEM;
  for (size_t f = 0; !rc && f < d; f++) { /* level j, entry q: the sorted threshold (2 q + 1) 2^(s-1-j) - 1 */
    unsigned s = 0;
    while (((size_t)1 << s) <= at[f]) s++;
    c->fsteps[f] = (uint8_t)s;
    for (unsigned j = 0; j < s; j++)
      for (size_t q = 0; q < ((size_t)1 << j); q++)
        c->eyt[c->toff[f] + ((size_t)1 << j) + q] = c->thr[c->toff[f] + (2 * q + 1) * ((size_t)1 << (s - 1 - j)) - 1];
  }
  free(cnt);
  free(at);
  free(all);
  return rc;
}

/* Index of threshold v among feature f's distinct thresholds (it is one of them). */
static uint32_t cc_code_of(const pp_cart_compact *c, size_t f, float v) {
  const float *a = c->thr + c->toff[f];
  uint32_t lo = 0;
  while (a[lo] < v) lo++; /* at most CC_MAX_THRESHOLDS steps, once per node at build */
  return lo;
}

/* The node word of packed position i of tree nd (internal; in[] maps packed positions to internal indices). */
static uint32_t cc_word(const pp_cart_trees *t, const pp_cart_compact *c, const pp_cart_pnode *nd, const uint32_t *in,
                        uint32_t i, int *fits) {
  const uint32_t off = nd[i].meta >> 16, f = nd[i].meta & 0x7FFFu, dl = (nd[i].meta >> 15) & 1u;
  const int ll = (nd[i + 1].meta >> 16) == 0, rl = (nd[i + off].meta >> 16) == 0;
  const uint32_t roff = rl ? 0u : in[i + off] - in[i];
  if (roff > CC_MAX_OFF) *fits = 0;
  return (t->d <= CC_NAN_TABLE_D ? f | dl << 6 : f) | cc_code_of(c, f, nd[i].threshold) << 8 | roff << 17 |
         (ll ? CC_LEFT_LEAF : 0u) | (rl ? CC_RIGHT_LEAF : 0u);
}

/* Lane lane's entries of level L of a chunk's top, below packed position i of tree nd reached by path p. */
static void cc_top_fill(pp_cart_compact *c, uint32_t *top, const pp_cart_pnode *nd, const uint32_t *in,
                        unsigned lane, unsigned L, uint32_t p, uint32_t i) {
  uint32_t *level = top + CC_LANES * ((1u << L) - 1u);
  level[lane << L | p] = c->node[in[i]];
  const uint32_t off = nd[i].meta >> 16;
  if (L + 1 == CC_TOP) return;
  if (nd[i + 1].meta >> 16) cc_top_fill(c, top, nd, in, lane, L + 1, 2 * p, i + 1);
  if (nd[i + off].meta >> 16) cc_top_fill(c, top, nd, in, lane, L + 1, 2 * p + 1, i + off);
}

/* The internal nodes, leaf values, roots and tops from the packed copy.  0, 1 when some right-child offset
 * does not fit, or NOMEM. */
static int cc_nodes(const pp_cart_trees *t, pp_cart_compact *c) {
  const size_t N = t->n_nodes, T = t->n_trees;
  size_t inner = 0, single = 0, maxn = 0;
  for (size_t i = 0; i < N; i++) inner += (t->pk_node[i].meta >> 16) != 0;
  for (size_t tr = 0; tr < T; tr++) {
    single += t->start[tr + 1] - t->start[tr] == 1;
    if (t->start[tr + 1] - t->start[tr] > maxn) maxn = t->start[tr + 1] - t->start[tr];
  }
  const size_t total = inner + single + 1;
  if (total > (size_t)INT32_MAX / 2) return 1; /* 2 x index + side must fit a 32-bit gather index */
  c->n_chunks = (T + CC_LANES - 1) / CC_LANES;
  c->node = pp_malloc_array(total, sizeof *c->node);
  c->leafv = pp_calloc(2 * total, sizeof *c->leafv);
  c->root = pp_malloc_array(c->n_chunks * CC_LANES, sizeof *c->root);
  c->top = pp_calloc(c->n_chunks * CC_TOP_WORDS, sizeof *c->top);
  uint32_t *in = pp_malloc_array(maxn, sizeof *in);
  int rc = (!c->node || !c->leafv || !c->root || !c->top || !in) ? PROP_ERR_NOMEM : 0, fits = 1;
  uint32_t k = 0, x = (uint32_t)(inner + single);
  if (!rc) c->node[x] = CC_ALWAYS_LEFT; /* the dummy: lanes past the last tree start there, inactive */
  for (size_t tr = 0; !rc && fits && tr < c->n_chunks * CC_LANES; tr++) {
    if (tr >= T) {
      c->root[tr] = x;
      continue;
    }
    const pp_cart_pnode *nd = t->pk_node + t->start[tr];
    const double *val = t->pk_value + t->start[tr];
    const size_t n = t->start[tr + 1] - t->start[tr];
    if (n == 1) { /* a single leaf: an always-left node in front of it */
      const uint32_t s = (uint32_t)(inner + --single);
      c->node[s] = CC_ALWAYS_LEFT;
      c->leafv[2 * (size_t)s] = val[0];
      c->root[tr] = s;
    } else {
      for (size_t i = 0; i < n; i++) in[i] = (nd[i].meta >> 16) ? k++ : UINT32_MAX;
      c->root[tr] = in[0];
      for (size_t i = 0; i < n; i++) {
        if (!(nd[i].meta >> 16)) continue;
        const uint32_t off = nd[i].meta >> 16;
        c->node[in[i]] = cc_word(t, c, nd, in, (uint32_t)i, &fits);
        if (!(nd[i + 1].meta >> 16)) c->leafv[2 * (size_t)in[i]] = val[i + 1];
        if (!(nd[i + off].meta >> 16)) c->leafv[2 * (size_t)in[i] + 1] = val[i + off];
      }
    }
    uint32_t *top = c->top + (tr / CC_LANES) * CC_TOP_WORDS;
    if (n == 1) top[tr % CC_LANES] = CC_ALWAYS_LEFT;
    else cc_top_fill(c, top, nd, in, (unsigned)(tr % CC_LANES), 0, 0, 0);
  }
  for (size_t tr = T; !rc && tr < c->n_chunks * CC_LANES; tr++) c->top[(tr / CC_LANES) * CC_TOP_WORDS + tr % CC_LANES] = CC_ALWAYS_LEFT;
  free(in);
  return rc ? rc : fits ? 0 : 1;
}

int pp_cart_compact_build(pp_cart_trees *t) {
  pp_cart_compact_free(t->pk_compact);
  t->pk_compact = NULL;
  if (!t->pk_node || t->pk_nodes != t->n_nodes || t->n_nodes == 0 || t->n_trees == 0 || t->d > CC_MAX_D ||
      !pp_cart_compact_usable())
    return 0; /* no memory spent on a copy this CPU cannot walk */
  pp_cart_compact *c = pp_calloc(1, sizeof *c);
  if (!c) return PROP_ERR_NOMEM;
  c->d = t->d;
  c->n_nodes = t->n_nodes;
  c->n_trees = t->n_trees;
  int rc = cc_thresholds(t, c);
  if (!rc) rc = cc_nodes(t, c);
  if (!rc) rc = pp_cart_shallow_build(t, c, &c->shallow);
  if (rc) {
    pp_cart_compact_free(c);
    return rc == 1 ? 0 : rc; /* 1: the forest does not fit the copy: the other walks serve it */
  }
  t->pk_compact = c;
  return 0;
}

int pp_cart_compact_ready(const pp_cart_trees *t) {
  return t->pk_compact && t->pk_compact->n_nodes == t->n_nodes && t->pk_compact->n_trees == t->n_trees;
}

uint32_t pp_cart_compact_rank(const pp_cart_compact *c, size_t f, float threshold) { return cc_code_of(c, f, threshold); }

const pp_cart_shallow *pp_cart_compact_shallow(const pp_cart_compact *c) { return c->shallow; }

int pp_cart_shallow_ready(const pp_cart_trees *t) { return pp_cart_compact_ready(t) && t->pk_compact->shallow; }

#define CC_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi")))
#define CC_SLOTS 4 /* rows walked together, one vector each */

size_t pp_cart_compact_work_bytes(size_t nb) {
  const size_t m = nb < PP_CART_CC_ROWS ? nb : PP_CART_CC_ROWS;
  const size_t rows = m ? m : 1, items = rows < CC_SLOTS ? (CC_SLOTS + rows - 1) / rows * rows : rows;
  return rows * 128 + items * CC_LANES * sizeof(uint32_t); /* code tables, then the items' leaf codes */
}

#if PP_HAVE_AVX512
#include <immintrin.h>

/* The code table of one row (2 x 64 bytes): byte f is feature f's code (the number of its distinct
 * thresholds below the value, 255 for NaN); with d <= 64, byte 64 + f is the same with NaN as 0 (so that
 * a node whose NaN goes left reads it there).  Returns 1 when the row has a NaN the table cannot route. */
static CC_TARGET int cc_codes(const pp_cart_compact *c, const float *x, uint8_t *tab) {
  const size_t d = c->d;
  const int nan_table = d <= CC_NAN_TABLE_D;
  int lost = 0;
  for (size_t f0 = 0; f0 < d; f0 += 16) {
    const __mmask16 m = d - f0 >= 16 ? 0xFFFF : (__mmask16)((1u << (d - f0)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + f0);
    const __m512i base = _mm512_loadu_si512((const void *)(c->toff + f0));
    __m512i pos = _mm512_setzero_si512();
    for (unsigned s = c->steps[f0 / 16]; s-- > 0;) { /* pos + 2^s - 1 < the feature's padded room */
      const __m512i cand = _mm512_add_epi32(pos, _mm512_set1_epi32(1 << s));
      const __m512 th = _mm512_i32gather_ps(_mm512_add_epi32(base, _mm512_sub_epi32(cand, _mm512_set1_epi32(1))),
                                            c->thr, 4);
      pos = _mm512_mask_mov_epi32(pos, _mm512_cmp_ps_mask(th, v, _CMP_LT_OQ), cand);
    }
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & m;
    _mm_storeu_si128((__m128i *)(tab + f0), _mm512_cvtepi32_epi8(_mm512_mask_mov_epi32(pos, nan, _mm512_set1_epi32(255))));
    if (nan_table) _mm_storeu_si128((__m128i *)(tab + 64 + f0), _mm512_cvtepi32_epi8(pos)); /* NaN: pos is 0 */
    else lost |= nan != 0;
  }
  return lost;
}

/* Entries pos (< 2^j, 16 lanes) of level j >= 4 of a feature's search levels e. */
static inline __attribute__((always_inline)) CC_TARGET __m512 cc_level_entry(const float *e, unsigned j, __m512i pos) {
  const float *l = e + ((size_t)1 << j);
  if (j == 4) return _mm512_permutexvar_ps(pos, _mm512_loadu_ps(l));
  __m512 v = _mm512_permutex2var_ps(_mm512_loadu_ps(l), pos, _mm512_loadu_ps(l + 16));
  const __m512i hi = _mm512_srli_epi32(pos, 5);
  for (unsigned p = 1; p < (1u << (j - 5)); p++)
    v = _mm512_mask_mov_ps(v, _mm512_cmpeq_epi32_mask(hi, _mm512_set1_epi32((int)p)),
                           _mm512_permutex2var_ps(_mm512_loadu_ps(l + 32 * p), pos, _mm512_loadu_ps(l + 32 * p + 16)));
  return v;
}

CC_TARGET void pp_cart_compact_columns(const pp_cart_compact *c, const float *X, size_t m, uint8_t *cols) {
  const size_t d = c->d;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), one = _mm512_set1_epi32(1);
  const __m512i rows = _mm512_mullo_epi32(lane, _mm512_set1_epi32((int)d)), flip = _mm512_set1_epi32(128);
  for (size_t f = 0; f < d; f++) {
    const unsigned s = c->fsteps[f];
    const float *e = c->eyt + c->toff[f];
    const __m512 top = _mm512_loadu_ps(e); /* levels 0..3 at 1, 2, 4, 8 */
    for (size_t r0 = 0; r0 < 64; r0 += 16) {
      const __mmask16 mk = r0 >= m ? 0 : m - r0 >= 16 ? 0xFFFF : (__mmask16)((1u << (m - r0)) - 1u);
      const __m512 x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, rows, X + (mk ? r0 * d + f : 0), 4);
      __m512i pos = _mm512_setzero_si512(); /* the path so far: entry of the level; finally the code */
      for (unsigned j = 0; j < s; j++) {
        const __m512 th = j < 4 ? _mm512_permutexvar_ps(_mm512_add_epi32(pos, _mm512_set1_epi32(1 << j)), top)
                                : cc_level_entry(e, j, pos);
        pos = _mm512_mask_add_epi32(_mm512_add_epi32(pos, pos), _mm512_cmp_ps_mask(th, x, _CMP_LT_OQ),
                                    _mm512_add_epi32(pos, pos), one);
      }
      const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q); /* pos is 0 there */
      _mm_store_si128((__m128i *)(void *)(cols + 64 * f + r0),
                      _mm512_cvtepi32_epi8(_mm512_xor_si512(_mm512_mask_mov_epi32(pos, nan, _mm512_set1_epi32(255)), flip)));
      _mm_store_si128((__m128i *)(void *)(cols + 64 * (d + f) + r0), _mm512_cvtepi32_epi8(_mm512_xor_si512(pos, flip)));
    }
  }
}

/* One level of the walk of one row's 16 lanes from node words nd: each lane walking (act) compares its
 * feature's code with the node's threshold code, and either moves to its child (idx) or, where that child
 * is a leaf, records 2 x node + side in res and stops.  Returns the side taken (1 = right) per lane. */
static inline __attribute__((always_inline)) CC_TARGET __mmask16 cc_level(__m512i nd, __m512i t0, __m512i t1,
                                                                         __m512i *idx, __m512i *res, __mmask16 *act) {
  const __m512i code = _mm512_maskz_permutex2var_epi8(0x1111111111111111ull, t0, nd, t1);
  const __mmask16 left = _mm512_cmple_epu32_mask(code, _mm512_and_si512(_mm512_srli_epi32(nd, 8), _mm512_set1_epi32(0xFF)));
  const __mmask16 done = _mm512_mask_test_epi32_mask(
      *act, nd, _mm512_mask_mov_epi32(_mm512_set1_epi32((int)CC_RIGHT_LEAF), left, _mm512_set1_epi32((int)CC_LEFT_LEAF)));
  *res = _mm512_mask_add_epi32(*res, done, _mm512_slli_epi32(*idx, 1), _mm512_maskz_mov_epi32((__mmask16)~left, _mm512_set1_epi32(1)));
  *act = (__mmask16)(*act & ~done);
  *idx = _mm512_mask_add_epi32(*idx, *act, *idx, _mm512_mask_mov_epi32(_mm512_srli_epi32(nd, 17), left, _mm512_set1_epi32(1)));
  return (__mmask16)~left;
}

/* The top CC_TOP levels of one row's walk of a chunk from its top words tp (level L of lane l at path p:
 * tp[16 (2^L - 1) + (l << L | p)], read with permutes instead of gathers); the sides taken make the path. */
static inline __attribute__((always_inline)) CC_TARGET void cc_top(const uint32_t *tp, __m512i t0, __m512i t1,
                                                                  __m512i *idx, __m512i *res, __mmask16 *act) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), one = _mm512_set1_epi32(1);
  const __m512i *w = (const __m512i *)(const void *)tp;
  __mmask16 right = cc_level(_mm512_loadu_si512(w), t0, t1, idx, res, act);
  __m512i p = _mm512_maskz_mov_epi32(right, one);
  const __m512i i1 = _mm512_add_epi32(_mm512_slli_epi32(lane, 1), p);
  right = cc_level(_mm512_permutex2var_epi32(_mm512_loadu_si512(w + 1), i1, _mm512_loadu_si512(w + 2)), t0, t1, idx,
                   res, act);
  p = _mm512_mask_add_epi32(_mm512_slli_epi32(p, 1), right, _mm512_slli_epi32(p, 1), one);
  const __m512i i2 = _mm512_add_epi32(_mm512_slli_epi32(lane, 2), p);
  const __m512i lo = _mm512_permutex2var_epi32(_mm512_loadu_si512(w + 3), i2, _mm512_loadu_si512(w + 4)),
                hi = _mm512_permutex2var_epi32(_mm512_loadu_si512(w + 5), i2, _mm512_loadu_si512(w + 6));
  cc_level(_mm512_mask_mov_epi32(lo, _mm512_test_epi32_mask(i2, _mm512_set1_epi32(32)), hi), t0, t1, idx, res, act);
}

/* acc[r] += the leaf values of rows [0, m) in the chunk's trees, in tree order: res[r * 16 + lane] is the code
 * (2 x node + side) of row r's leaf in the chunk's tree lane; 8 rows per vector. */
static CC_TARGET void cc_add(const double *leafv, const uint32_t *res, size_t m, size_t trees, double *acc) {
  const __m256i stride = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
  for (size_t r0 = 0; r0 < m; r0 += 8) {
    const __mmask8 rows = m - r0 >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << (m - r0)) - 1u);
    __m512d a = _mm512_maskz_loadu_pd(rows, acc + r0);
    for (size_t l = 0; l < trees; l++) {
      const __m256i code = _mm256_mmask_i32gather_epi32(_mm256_setzero_si256(), rows, stride,
                                                        (const int *)(res + r0 * 16 + l), 4);
      a = _mm512_add_pd(a, _mm512_mask_i32gather_pd(_mm512_setzero_pd(), rows, code, leafv, 8));
    }
    _mm512_mask_storeu_pd(acc + r0, rows, a);
  }
}

/* The lanes of chunk ch that hold trees. */
static inline __mmask16 cc_lanes(const pp_cart_compact *c, size_t ch) {
  const size_t trees = c->n_trees - ch * CC_LANES;
  return trees >= CC_LANES ? (__mmask16)0xFFFF : (__mmask16)((1u << trees) - 1u);
}

/* Rows [0, m) (code tables tab) walk chunks [ch0, ch1) of 16 trees each, the work items (chunk, row) in
 * chunk-major order.  CC_SLOTS items at a time, each one vector whose lanes walk the chunk's trees in lock step:
 * the top levels from the chunk's top words, then one 4-byte gather per level and lane (a chunk's nodes stay in
 * L1 for all its rows); a slot whose item is at its leaves takes the next item.  Item i's leaf codes go to
 * resb[16 i ..], and their values are then added to the rows' sums chunk by chunk, in tree order (cc_add).
 * A single row walks several chunks at once (the caller passes more than one when m < CC_SLOTS). */
static CC_TARGET void cc_walk_chunks(const pp_cart_compact *c, size_t ch0, size_t ch1, const uint8_t *tab, size_t m,
                                     uint32_t *resb, double *acc) {
  const uint32_t *node = c->node;
  const size_t items = (ch1 - ch0) * m;
  size_t next = 0;
  unsigned busy = 0;
#define CC_SLOT_DECL(S)                                                                      \
  __m512i t0##S = _mm512_setzero_si512(), t1##S = t0##S, idx##S = t0##S, res##S = t0##S; \
  __mmask16 act##S = 0;                                                                      \
  size_t item##S = 0
#define CC_SLOT_START(S)                                                            \
  do {                                                                              \
    item##S = next++;                                                               \
    const size_t ch_ = ch0 + item##S / m, r_ = item##S % m;                         \
    t0##S = _mm512_loadu_si512((const void *)(tab + r_ * 128));                     \
    t1##S = _mm512_loadu_si512((const void *)(tab + r_ * 128 + 64));                \
    idx##S = _mm512_loadu_si512((const void *)(c->root + ch_ * CC_LANES));          \
    res##S = _mm512_setzero_si512();                                                \
    act##S = cc_lanes(c, ch_);                                                      \
    busy |= 1u << (S);                                                              \
    cc_top(c->top + ch_ * CC_TOP_WORDS, t0##S, t1##S, &idx##S, &res##S, &act##S);   \
  } while (0)
#define CC_SLOT_STEP(S)                                                                        \
  do {                                                                                         \
    if (act##S) {                                                                              \
      const __m512i nd = _mm512_mask_i32gather_epi32(idx##S, act##S, idx##S, node, 4);         \
      cc_level(nd, t0##S, t1##S, &idx##S, &res##S, &act##S);                                  \
    } else if (busy >> (S) & 1u) { /* the item is at its leaves: the slot takes the next one */ \
      _mm512_storeu_si512((void *)(resb + item##S * CC_LANES), res##S);                        \
      if (next < items) CC_SLOT_START(S);                                                      \
      else busy &= ~(1u << (S));                                                               \
    }                                                                                          \
  } while (0)
  CC_SLOT_DECL(0);
  CC_SLOT_DECL(1);
  CC_SLOT_DECL(2);
  CC_SLOT_DECL(3);
  if (next < items) CC_SLOT_START(0);
  if (next < items) CC_SLOT_START(1);
  if (next < items) CC_SLOT_START(2);
  if (next < items) CC_SLOT_START(3);
  while (busy) {
    CC_SLOT_STEP(0);
    CC_SLOT_STEP(1);
    CC_SLOT_STEP(2);
    CC_SLOT_STEP(3);
  }
#undef CC_SLOT_DECL
#undef CC_SLOT_START
#undef CC_SLOT_STEP
  for (size_t ch = ch0; ch < ch1; ch++)
    cc_add(c->leafv, resb + (ch - ch0) * m * CC_LANES, m, (size_t)__builtin_popcount(cc_lanes(c, ch)), acc);
}

size_t pp_cart_compact_walk(const pp_cart_trees *t, const float *X, size_t nb, double *acc, uint8_t *lost,
                            void *work) {
  const pp_cart_compact *c = t->pk_compact;
  const size_t d = t->d;
  uint8_t *tab = work;
  uint32_t *resb = (uint32_t *)(tab + (nb < PP_CART_CC_ROWS ? nb : PP_CART_CC_ROWS) * 128);
  size_t nlost = 0;
  for (size_t r = 0; r < nb; r++) acc[r] = 0.0;
  for (size_t r0 = 0; r0 < nb; r0 += PP_CART_CC_ROWS) {
    const size_t m = nb - r0 < PP_CART_CC_ROWS ? nb - r0 : PP_CART_CC_ROWS;
    for (size_t r = 0; r < m; r++) {
      lost[r0 + r] = (uint8_t)cc_codes(c, X + (r0 + r) * d, tab + r * 128);
      nlost += lost[r0 + r];
    }
    const size_t per = (CC_SLOTS + m - 1) / m; /* chunks walked at once: at least CC_SLOTS items */
    for (size_t ch = 0; ch < c->n_chunks; ch += per)
      cc_walk_chunks(c, ch, ch + per < c->n_chunks ? ch + per : c->n_chunks, tab, m, resb, acc + r0);
  }
  return nlost;
}

int pp_cart_compact_usable(void) {
  __builtin_cpu_init(); /* idempotent, as in pp_cpu_avx512f; no cached answer to race on between threads */
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi");
}
#else
int pp_cart_compact_usable(void) { return 0; }
void pp_cart_compact_columns(const pp_cart_compact *c, const float *X, size_t m, uint8_t *cols) {
  (void)c, (void)X, (void)m, (void)cols;
}
size_t pp_cart_compact_walk(const pp_cart_trees *t, const float *X, size_t nb, double *acc, uint8_t *lost,
                            void *work) {
  (void)t, (void)X, (void)nb, (void)acc, (void)lost, (void)work;
  return 0;
}
#endif
