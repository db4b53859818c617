/* The "knn" member's predict (see knn.c for fit and knn_impl.h for the model).
 *
 * predict, per block of up to 96 query rows (brute force, two passes):
 *  1. Float pass.  The model holds each training row y as [-2y, |y|^2] (d + 1 floats), a query x
 *     becomes [x, 1], and pp_dots per tile (models/dots.c, on the transposed rows At) gives
 *     key(x, y) = |y|^2 - 2 x.y, which is |x - y|^2 minus the query's constant |x|^2.  Tiles are
 *     query block x training block (tile_shape), so a tile of C stays in L2.  (An OpenBLAS
 *     sgemm per tile, used before, retried a failed allocation of its buffer forever: under an
 *     address-space limit the prediction hung instead of failing.)  Each query keeps a buffer
 *     of candidates: keys below its threshold are appended (16 at a time with AVX-512
 *     compress-stores where the CPU has them), and a nearly full buffer is cut back to between
 *     kc = k + 8 and 1.25 kc keys by lowering the threshold (bisection on the value, counting
 *     keys below it).  Every row outside the buffer has a key >= the threshold T.  The keys
 *     are only compared with one another, never used as distances, so nothing needs clamping.
 *     One-hot path.  At fit and at load (derived, never saved) the training matrix is searched for
 *     one-hot blocks: runs of consecutive columns whose values are all exactly 0 or 1 with exactly
 *     one 1 per row (found from the data alone, see detect_blocks; the encoder's categorical
 *     blocks, "<other>" and "<missing>" included, are such runs).  The model then also holds each
 *     row's code per block (uint16, block-major) and Ad = [-2 y_dense, |y|^2] over the dd other
 *     columns.  A query whose values in every block are 0 or 1 with exactly one 1 takes this path:
 *     the tiles run on [x_dense, 1] x Ad (width dd + 1 instead of d + 1), and for each training
 *     row the number of blocks where its code equals the query's (an integer count, vectorised
 *     over the tile's rows) is subtracted twice: key = |y|^2 - 2 x_dense.y_dense - 2 count, the
 *     same real number as the full key, since the dot product of two one-hot blocks is 1 when the
 *     categories are equal and 0 otherwise.  Any other query (a block with 0.5, two 1s, no 1, ...)
 *     takes the full path above; the two may share a block of queries.  The error bound B below
 *     holds for both paths (see the comment at the check).
 *     On CPUs with AVX-512 (every width since issue 20; before, only operands of at most 32
 *     floats): no tiles; pp_knn_keys_offer_avx512 (knn_fused.c) computes the keys of four queries
 *     (or one) x 64 training rows in registers with fused multiply-adds from the transposed copy of
 *     A (or Ad), kept in contiguous panels of 64 rows so that a panel stays in L1 while the block's queries go over
 *     it (operands wider than 129 floats in width blocks, the partial keys waiting in a small
 *     buffer), counts the equal category codes (one compare of 64 one-byte codes per block and
 *     query), subtracts the counts and offers the keys to the buffers in the same pass.  Its keys'
 *     last bits differ from pp_dots's (one rounding per step instead of two), not their error
 *     bound B (see the comment at the check), so the candidates may differ, the neighbours do not:
 *     the float pass is only a filter.  Without AVX-512, pp_dots tiles as above, one per panel.
 *  2. Exact pass.  The candidates' squared distances are recomputed in double from the float
 *     inputs, and the k smallest by (distance, training row index) are chosen: ties go to the
 *     lower training row.  A float key is within B = (d + 3) 2^-23 (|x|^2 + 3 max|y|^2) of the
 *     true one (dot-product error bound, for any order of the sums, with or without fused
 *     multiply-adds, with a factor 2 to spare), so when the k-th exact
 *     distance is below |x|^2 + T - B, no row outside the buffer can be among the k nearest.
 *     Otherwise (many rows tied at the k-th distance, e.g. duplicates, or the k-th distance
 *     within B of |x|^2 + T: frequent on lending_club's rows) the query's keys are computed
 *     again (one query row, pp_dots on any CPU) and only the rows with |x|^2 + key - B <= the k-th candidate distance D get an
 *     exact distance (pruned_scan: any other row is farther than D, which is at least the true
 *     k-th distance).  Queries with values above KNN_VALUE_MAX are answered by an exact scan of
 *     all training rows in double.  Either way the k neighbours are the exact ones, so a row's
 *     probability does not depend on the block, the tiling, the path, the CPU variant or the
 *     thread count.
 *
 * Probability: sum of the votes of the positive neighbours over the sum of all k votes.  A
 * row's vote is its sample weight times its class weight (balanced: n / (2 n_c), when
 * class_weight is "balanced" or follows imbalance = weights); with weights = "distance" it is
 * further divided by the distance, and when some neighbours are at distance 0 (exact matches)
 * they alone vote.  Weighted sums run in training-row order, so they are reproducible.
 *
 * Threads: predict parallelises over query blocks with OpenMP (nthread).  A single row runs on
 * the calling thread with the caller's scratch (no allocation). */
#include "models/knn_impl.h"

/* ---- predict: pieces ----------------------------------------------------------------------------- */

/* -- the float pass: candidate buffers ---------------------------------------------------------- */

typedef struct nbr {
  double d2;
  uint32_t idx;
} nbr;

/* Reorder key/idx[0..n) so that [0, k) holds the k smallest keys and [k-1] the k-th (1 <= k <= n). */
static void select_soa(float *key, uint32_t *idx, size_t n, size_t k) {
  size_t lo = 0, hi = n;
#define KNN_SWAP(a, b)          \
  do {                          \
    float tk_ = key[a];         \
    key[a] = key[b];            \
    key[b] = tk_;               \
    uint32_t ti_ = idx[a];      \
    idx[a] = idx[b];            \
    idx[b] = ti_;               \
  } while (0)
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (key[mid] < key[lo]) KNN_SWAP(mid, lo);
    if (key[hi - 1] < key[mid]) KNN_SWAP(hi - 1, mid);
    if (key[mid] < key[lo]) KNN_SWAP(mid, lo);
    KNN_SWAP(mid, hi - 1); /* the median of three is the pivot, at hi - 1 */
    const float piv = key[hi - 1];
    size_t s = lo;
    for (size_t i = lo; i + 1 < hi; i++)
      if (key[i] < piv) {
        KNN_SWAP(i, s);
        s++;
      }
    KNN_SWAP(hi - 1, s);
    if (s == k - 1) break;
    if (s > k - 1) hi = s;
    else lo = s + 1;
  }
#undef KNN_SWAP
}

/* Lower q's threshold so that between lo_cnt and hi_cnt keys stay (q->cnt > hi_cnt >= lo_cnt >= 1):
 * bisection on the threshold value, counting keys below it; when that does not settle (keys
 * piled on one value), an exact selection of lo_cnt keys. */
void pp_knn_shrink(qbuf *q, size_t lo_cnt, size_t hi_cnt, const scan_ops *ops) {
  float a = q->lo, b = q->thr < q->hi ? q->thr : q->hi;
  int ok = ops->count_below(q->key, q->cnt, a) < lo_cnt && ops->count_below(q->key, q->cnt, b) >= lo_cnt;
  for (int it = 0; ok && it < 60; it++) {
    float mid = a + 0.5f * (b - a);
    if (!(mid > a && mid < b)) break;
    size_t c = ops->count_below(q->key, q->cnt, mid);
    if (c < lo_cnt) {
      a = mid;
    } else if (c > hi_cnt) {
      b = mid;
    } else {
      q->cnt = ops->keep_below(q->key, q->idx, q->cnt, mid);
      q->thr = mid;
      return;
    }
  }
  select_soa(q->key, q->idx, q->cnt, lo_cnt);
  q->cnt = lo_cnt;
  q->thr = q->key[lo_cnt - 1];
}

/* After the float pass: at most hi_cnt candidates. */
static void qbuf_finish(qbuf *q, size_t lo_cnt, size_t hi_cnt, const scan_ops *ops) {
  if (q->cnt > hi_cnt) pp_knn_shrink(q, lo_cnt, hi_cnt, ops);
}

/* -- the exact pass: distances in double -------------------------------------------------------- */

/* Squared distance in double between query x and training row a = [-2y, |y|^2]: y = -a/2
 * exactly, so each term is (x_t - y_t)^2 of the float inputs.  Eight partial sums (column t
 * goes to sum t mod 8) added in a fixed order: the result depends only on the two rows, and the
 * loop vectorises to the same arithmetic at any vector width. */
static inline double exact_d2(const float *x, const float *a, size_t d) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t t = 0;
  for (; t + 8 <= d; t += 8)
    for (size_t l = 0; l < 8; l++) {
      double u = (double)x[t + l] + 0.5 * (double)a[t + l];
      s[l] += u * u;
    }
  for (size_t l = 0; t < d; t++, l++) {
    double u = (double)x[t] + 0.5 * (double)a[t];
    s[l] += u * u;
  }
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

/* The exact distances of the cnt training rows idx[] (rows of A, width w) to x, into v[i] =
 * (d2, idx[i]).  The AVX-512 variant (chosen at run time, below) gives the same bits: one
 * 8-lane vector holds the eight partial sums of exact_d2 (lane l = columns t with t mod 8 = l),
 * each lane does exactly exact_d2's operations in its order (a product by 0.5, a sum, a square,
 * a sum: separate roundings, never fused; the build is ISO C, so -ffp-contract is off), the last
 * partial chunk adds +0 in the unused lanes (s + 0 = s for s >= +0), and the final sum pairs the
 * lanes as exact_d2 does. */
static void exact_rows_base(const float *x, const float *A, size_t w, size_t d, const uint32_t *idx, size_t cnt,
                            nbr *v) {
  for (size_t i = 0; i < cnt; i++) {
    if (i + 4 < cnt) { /* the rows are scattered over A: fetch ahead */
      const float *ahead = A + (size_t)idx[i + 4] * w;
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead + w - 1);
    }
    v[i] = (nbr){exact_d2(x, A + (size_t)idx[i] * w, d), idx[i]};
  }
}

#if KNN_HAVE_AVX512
/* ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7)), exact_d2's final sum */
__attribute__((target("avx512f"))) static inline double sum_lanes(__m512d s) {
  __m256d b = _mm256_add_pd(_mm512_castpd512_pd256(s), _mm512_extractf64x4_pd(s, 1));
  __m128d lo = _mm256_castpd256_pd128(b), hi = _mm256_extractf128_pd(b, 1);
  double b0 = _mm_cvtsd_f64(lo), b1 = _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo));
  double b2 = _mm_cvtsd_f64(hi), b3 = _mm_cvtsd_f64(_mm_unpackhi_pd(hi, hi));
  return (b0 + b1) + (b2 + b3);
}

__attribute__((target("avx512f"))) static inline double exact_d2_avx512_inl(const float *x, const float *a,
                                                                           size_t d) {
  const __m512d half = _mm512_set1_pd(0.5);
  __m512d s = _mm512_setzero_pd();
  size_t t = 0;
  for (; t + 8 <= d; t += 8) {
    __m512d xv = _mm512_cvtps_pd(_mm256_loadu_ps(x + t));
    __m512d av = _mm512_cvtps_pd(_mm256_loadu_ps(a + t));
    __m512d u = _mm512_add_pd(xv, _mm512_mul_pd(half, av));
    s = _mm512_add_pd(s, _mm512_mul_pd(u, u));
  }
  if (t < d) {
    __mmask16 m = (__mmask16)((1u << (d - t)) - 1u);
    __m512d xv = _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps(m, x + t)));
    __m512d av = _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps(m, a + t)));
    __m512d u = _mm512_add_pd(xv, _mm512_mul_pd(half, av));
    s = _mm512_add_pd(s, _mm512_mul_pd(u, u));
  }
  return sum_lanes(s);
}

__attribute__((target("avx512f"))) static double exact_d2_avx512(const float *x, const float *a, size_t d) {
  return exact_d2_avx512_inl(x, a, d);
}

/* Four rows at a time: each has its own partial sums (the same operations in the same order as
 * exact_d2_avx512_inl), the four chains interleave so that the additions' latency overlaps. */
__attribute__((target("avx512f"))) static void exact_rows_avx512(const float *x, const float *A, size_t w,
                                                                 size_t d, const uint32_t *idx, size_t cnt,
                                                                 nbr *v) {
  const __m512d half = _mm512_set1_pd(0.5);
  const size_t dt = d & ~(size_t)7;
  const __mmask16 tm = (__mmask16)((1u << (d - dt)) - 1u);
  size_t i = 0;
  for (; i + 4 <= cnt; i += 4) {
    if (i + 8 <= cnt) { /* the rows are scattered over A: fetch the next four */
      for (size_t l = 4; l < 8; l++) {
        const float *ahead = A + (size_t)idx[i + l] * w;
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + w - 1);
      }
    }
    const float *a0 = A + (size_t)idx[i] * w, *a1 = A + (size_t)idx[i + 1] * w;
    const float *a2 = A + (size_t)idx[i + 2] * w, *a3 = A + (size_t)idx[i + 3] * w;
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
#define KNN_D2_STEP(s, a, xv, ld)                                                   \
  do {                                                                              \
    __m512d u_ = _mm512_add_pd(xv, _mm512_mul_pd(half, _mm512_cvtps_pd(ld(a))));    \
    s = _mm512_add_pd(s, _mm512_mul_pd(u_, u_));                                    \
  } while (0)
#define KNN_LD_FULL(a) _mm256_loadu_ps((a) + t)
#define KNN_LD_TAIL(a) _mm512_castps512_ps256(_mm512_maskz_loadu_ps(tm, (a) + t))
    size_t t = 0;
    for (; t < dt; t += 8) {
      __m512d xv = _mm512_cvtps_pd(_mm256_loadu_ps(x + t));
      KNN_D2_STEP(s0, a0, xv, KNN_LD_FULL);
      KNN_D2_STEP(s1, a1, xv, KNN_LD_FULL);
      KNN_D2_STEP(s2, a2, xv, KNN_LD_FULL);
      KNN_D2_STEP(s3, a3, xv, KNN_LD_FULL);
    }
    if (t < d) {
      __m512d xv = _mm512_cvtps_pd(KNN_LD_TAIL(x));
      KNN_D2_STEP(s0, a0, xv, KNN_LD_TAIL);
      KNN_D2_STEP(s1, a1, xv, KNN_LD_TAIL);
      KNN_D2_STEP(s2, a2, xv, KNN_LD_TAIL);
      KNN_D2_STEP(s3, a3, xv, KNN_LD_TAIL);
    }
#undef KNN_D2_STEP
#undef KNN_LD_FULL
#undef KNN_LD_TAIL
    v[i] = (nbr){sum_lanes(s0), idx[i]};
    v[i + 1] = (nbr){sum_lanes(s1), idx[i + 1]};
    v[i + 2] = (nbr){sum_lanes(s2), idx[i + 2]};
    v[i + 3] = (nbr){sum_lanes(s3), idx[i + 3]};
  }
  for (; i < cnt; i++) v[i] = (nbr){exact_d2_avx512_inl(x, A + (size_t)idx[i] * w, d), idx[i]};
}
#endif

typedef double (*exact_d2_fn)(const float *x, const float *a, size_t d);
typedef void (*exact_rows_fn)(const float *x, const float *A, size_t w, size_t d, const uint32_t *idx, size_t cnt,
                              nbr *v);

static double exact_d2_base(const float *x, const float *a, size_t d) { return exact_d2(x, a, d); }

/* -- offering a tile's keys to the buffers: portable -------------------------------------------- */

/* Offering the keys of a tile (rows r < nq with ok[r], stride ldc, nt keys each, of training
 * rows base..) to the query buffers.  Two variants with the same results: a portable one (SSE2
 * compares on x86-64, then the set bits one by one), and on x86-64 CPUs with AVX-512 (chosen at
 * run time) compress-stores that append 16 keys at a time without branches. */

static size_t count_below_base(const float *key, size_t n, float t) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += key[i] < t;
  return c;
}

static size_t keep_below_base(float *key, uint32_t *idx, size_t n, float t) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    float k = key[i];
    key[o] = k;
    idx[o] = idx[i];
    o += k < t;
  }
  return o;
}

/* Bit i of the result: c[i] < thr, for i < 16. */
static inline unsigned below16_base(const float *c, float thr) {
#if defined(__SSE2__)
  __m128 t = _mm_set1_ps(thr);
  return (unsigned)_mm_movemask_ps(_mm_cmplt_ps(_mm_loadu_ps(c), t)) |
         ((unsigned)_mm_movemask_ps(_mm_cmplt_ps(_mm_loadu_ps(c + 4), t)) << 4) |
         ((unsigned)_mm_movemask_ps(_mm_cmplt_ps(_mm_loadu_ps(c + 8), t)) << 8) |
         ((unsigned)_mm_movemask_ps(_mm_cmplt_ps(_mm_loadu_ps(c + 12), t)) << 12);
#else
  unsigned mask = 0;
  for (unsigned i = 0; i < 16; i++) mask |= (unsigned)(c[i] < thr) << i;
  return mask;
#endif
}

static const scan_ops k_scan_base = {count_below_base, keep_below_base};

/* The buffers hold bc entries; a chunk appends at most 16, and the buffer is cut back after a
 * chunk that leaves fewer than 16 free (the AVX-512 variant stores 16 at a time). */
static void offer_tile_base(qbuf *qb, const unsigned char *ok, size_t nq, size_t bc, size_t kc, size_t kmax,
                            const float *C, size_t ldc, size_t nt, uint32_t base) {
  for (size_t r = 0; r < nq; r++) {
    if (!ok[r]) continue;
    qbuf *q = &qb[r];
    const float *c = C + r * ldc;
    for (size_t j = 0; j < nt; j += 16) {
      unsigned mask = 0;
      if (nt - j >= 16) {
        mask = below16_base(c + j, q->thr);
      } else {
        for (size_t i = j; i < nt; i++) mask |= (unsigned)(c[i] < q->thr) << (i - j);
      }
      while (mask) {
        size_t i = j + (size_t)__builtin_ctz(mask);
        mask &= mask - 1;
        q->key[q->cnt] = c[i];
        q->idx[q->cnt++] = base + (uint32_t)i;
      }
      if (q->cnt + 16 > bc) pp_knn_shrink(q, kc, kmax, &k_scan_base);
    }
  }
}

/* -- the same with AVX-512, and the fused keys of narrow operands ------------------------------- */

#if KNN_HAVE_AVX512

KNN_AVX512 static inline __mmask16 lanes(size_t left) {
  return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

/* Two vectors of lane counts over the whole chunks (no mask, no popcount in the loop: shrink's
 * bisection calls this some ten times per cut), then the last, partial chunk. */
KNN_AVX512 static size_t count_below_avx512(const float *key, size_t n, float t) {
  const __m512 tv = _mm512_set1_ps(t);
  const __m512i one = _mm512_set1_epi32(1);
  __m512i c0 = _mm512_setzero_si512(), c1 = c0;
  size_t j = 0;
  for (; j + 32 <= n; j += 32) {
    c0 = _mm512_mask_add_epi32(c0, _mm512_cmp_ps_mask(_mm512_loadu_ps(key + j), tv, _CMP_LT_OQ), c0, one);
    c1 = _mm512_mask_add_epi32(c1, _mm512_cmp_ps_mask(_mm512_loadu_ps(key + j + 16), tv, _CMP_LT_OQ), c1, one);
  }
  size_t c = (size_t)_mm512_reduce_add_epi32(_mm512_add_epi32(c0, c1));
  for (; j < n; j += 16) {
    __mmask16 lm = lanes(n - j);
    c += (size_t)__builtin_popcount(_mm512_mask_cmp_ps_mask(lm, _mm512_maskz_loadu_ps(lm, key + j), tv, _CMP_LT_OQ));
  }
  return c;
}

KNN_AVX512 static size_t keep_below_avx512(float *key, uint32_t *idx, size_t n, float t) {
  const __m512 tv = _mm512_set1_ps(t);
  size_t o = 0;
  for (size_t j = 0; j < n; j += 16) {
    __mmask16 lm = lanes(n - j);
    __m512 k = _mm512_maskz_loadu_ps(lm, key + j);
    __m512i ix = _mm512_maskz_loadu_epi32(lm, idx + j);
    __mmask16 m = _mm512_mask_cmp_ps_mask(lm, k, tv, _CMP_LT_OQ);
    /* compress in a register, then a masked store of the popcount(m) low lanes (o <= j: writes
     * only what was read).  Not the compress-store to memory: on AMD Zen 4 it is microcoded and
     * took 15% of lending_club's predict. */
    unsigned cnt = (unsigned)__builtin_popcount(m);
    __mmask16 sm = (__mmask16)((1u << cnt) - 1u);
    _mm512_mask_storeu_ps(key + o, sm, _mm512_maskz_compress_ps(m, k));
    _mm512_mask_storeu_epi32(idx + o, sm, _mm512_maskz_compress_epi32(m, ix));
    o += cnt;
  }
  return o;
}

const scan_ops pp_knn_scan_avx512 = {count_below_avx512, keep_below_avx512};

/* Keys below the threshold and their rows are compress-stored 16 at a time (the buffer has room
 * for a whole store); the inner loop runs as many chunks as surely fit, so that it holds no call
 * and no check. */
KNN_AVX512 static void offer_tile_avx512(qbuf *qb, const unsigned char *ok, size_t nq, size_t bc, size_t kc,
                                         size_t kmax, const float *C, size_t ldc, size_t nt, uint32_t base) {
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i sixteen = _mm512_set1_epi32(16);
  for (size_t r = 0; r < nq; r++) {
    if (!ok[r]) continue;
    qbuf *q = &qb[r];
    const float *c = C + r * ldc;
    size_t j = 0;
    __m512i id = _mm512_add_epi32(_mm512_set1_epi32((int)base), iota);
    while (j < nt) {
      if (q->cnt + 16 > bc) pp_knn_shrink(q, kc, kmax, &pp_knn_scan_avx512);
      float *kb = q->key;
      uint32_t *ib = q->idx;
      size_t cnt = q->cnt, jend = j + 16 * ((bc - cnt) / 16);
      if (jend > nt) jend = nt;
      const __m512 tv = _mm512_set1_ps(q->thr);
      for (; j < jend; j += 16) {
        __mmask16 lm = lanes(nt - j);
        __m512 v = _mm512_maskz_loadu_ps(lm, c + j);
        __mmask16 m = _mm512_mask_cmp_ps_mask(lm, v, tv, _CMP_LT_OQ);
        _mm512_storeu_ps(kb + cnt, _mm512_maskz_compress_ps(m, v));
        _mm512_storeu_si512((void *)(ib + cnt), _mm512_maskz_compress_epi32(m, id));
        id = _mm512_add_epi32(id, sixteen);
        cnt += (size_t)__builtin_popcount(m);
      }
      q->cnt = cnt;
    }
  }
}

#endif

typedef void (*offer_fn)(qbuf *qb, const unsigned char *ok, size_t nq, size_t bc, size_t kc, size_t kmax,
                         const float *C, size_t ldc, size_t nt, uint32_t base);

/* -- the k nearest: selection, exact scan, vote ------------------------------------------------- */

static inline int nbr_less(const nbr *a, const nbr *b) { return a->d2 < b->d2 || (a->d2 == b->d2 && a->idx < b->idx); }

/* Reorder v[0..n) so that v[0..k) are the k smallest by (d2, idx) and v[k-1] the k-th. */
static void select_k(nbr *v, size_t n, size_t k) {
  size_t lo = 0, hi = n;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    nbr t;
    if (nbr_less(&v[mid], &v[lo])) { t = v[lo]; v[lo] = v[mid]; v[mid] = t; }
    if (nbr_less(&v[hi - 1], &v[mid])) { t = v[mid]; v[mid] = v[hi - 1]; v[hi - 1] = t; }
    if (nbr_less(&v[mid], &v[lo])) { t = v[lo]; v[lo] = v[mid]; v[mid] = t; }
    t = v[mid]; v[mid] = v[hi - 1]; v[hi - 1] = t;
    const nbr piv = v[hi - 1];
    size_t s = lo;
    for (size_t i = lo; i + 1 < hi; i++)
      if (nbr_less(&v[i], &piv)) {
        t = v[i];
        v[i] = v[s];
        v[s] = t;
        s++;
      }
    v[hi - 1] = v[s];
    v[s] = piv;
    if (s == k - 1) return;
    if (s > k - 1) hi = s;
    else lo = s + 1;
  }
}

/* The k-th smallest of a[0..n) (1 <= k <= n; a is reordered). */
static double kth_smallest(double *a, size_t n, size_t k) {
  size_t lo = 0, hi = n;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    double t;
    if (a[mid] < a[lo]) { t = a[lo]; a[lo] = a[mid]; a[mid] = t; }
    if (a[hi - 1] < a[mid]) { t = a[mid]; a[mid] = a[hi - 1]; a[hi - 1] = t; }
    if (a[mid] < a[lo]) { t = a[lo]; a[lo] = a[mid]; a[mid] = t; }
    t = a[mid]; a[mid] = a[hi - 1]; a[hi - 1] = t;
    const double piv = a[hi - 1];
    size_t s = lo;
    /* branch-free partition: [lo, s) < piv <= [s, i] (the swap when a[i] >= piv keeps it; the
     * comparisons go either way at random, and a branch on them mispredicted half the time) */
    for (size_t i = lo; i + 1 < hi; i++) {
      t = a[i];
      a[i] = a[s];
      a[s] = t;
      s += t < piv;
    }
    a[hi - 1] = a[s];
    a[s] = piv;
    if (s == k - 1) return piv;
    if (s > k - 1) hi = s;
    else lo = s + 1;
  }
  return a[k - 1];
}

/* Max-heap of nbr by (d2, idx), for the exact scan. */
static void nheap_push(nbr *h, size_t n, nbr c) {
  size_t i = n;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (!nbr_less(&h[up], &c)) break;
    h[i] = h[up];
    i = up;
  }
  h[i] = c;
}

static void nheap_replace_top(nbr *h, size_t n, nbr c) {
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1;
    if (l >= n) break;
    size_t r = l + 1, big = (r < n && nbr_less(&h[l], &h[r])) ? r : l;
    if (!nbr_less(&c, &h[big])) break;
    h[i] = h[big];
    i = big;
  }
  h[i] = c;
}

/* exact_d2 of the CPU variant (the same bits either way). */
static exact_d2_fn pick_exact_d2(void) {
#if KNN_HAVE_AVX512
  if (__builtin_cpu_supports("avx512f")) return exact_d2_avx512;
#endif
  return exact_d2_base;
}

/* The kk nearest training rows of x by an exact scan (in v[0..kk), any order). */
static void exact_scan(const knn_model *m, const float *x, nbr *v) {
  const size_t n = m->n, d = m->d, w = d + 1, kk = m->kk;
  const exact_d2_fn d2 = pick_exact_d2();
  size_t hn = 0;
  for (size_t j = 0; j < n; j++) {
    nbr c = {d2(x, m->A + j * w, d), (uint32_t)j};
    if (hn < kk) nheap_push(v, hn++, c);
    else if (nbr_less(&c, &v[0])) nheap_replace_top(v, kk, c);
  }
}

/* Sort v[0..n) by idx, in place (heapsort: glibc's qsort may allocate, and predict must not). */
static void sift_idx(nbr *v, size_t i, size_t n) {
  nbr c = v[i];
  for (;;) {
    size_t l = 2 * i + 1;
    if (l >= n) break;
    size_t big = (l + 1 < n && v[l + 1].idx > v[l].idx) ? l + 1 : l;
    if (v[big].idx <= c.idx) break;
    v[i] = v[big];
    i = big;
  }
  v[i] = c;
}

static void sort_by_idx(nbr *v, size_t n) {
  for (size_t i = n / 2; i-- > 0;) sift_idx(v, i, n);
  for (size_t e = n; e-- > 1;) {
    nbr t = v[0];
    v[0] = v[e];
    v[e] = t;
    sift_idx(v, 0, e);
  }
}

/* Probability from the kk neighbours v[0..kk) (reordered). */
static double vote(const knn_model *m, nbr *v, size_t kk) {
  size_t nzero = 0;
  if (m->weights == W_DISTANCE) {
    for (size_t i = 0; i < kk; i++) nzero += v[i].d2 == 0.0;
    if (nzero) { /* exact matches take all the weight */
      size_t z = 0;
      for (size_t i = 0; i < kk; i++)
        if (v[i].d2 == 0.0) v[z++] = v[i];
      kk = z;
    }
  }
  if (!m->sw && (m->weights == W_UNIFORM || nzero)) { /* counts: exact in any order */
    size_t np = 0;
    for (size_t i = 0; i < kk; i++) np += m->pos[v[i].idx];
    double a = (double)np * m->w_pos, b = (double)(kk - np) * m->w_neg;
    return a / (a + b);
  }
  sort_by_idx(v, kk); /* sums in training-row order */
  double a = 0, b = 0;
  for (size_t i = 0; i < kk; i++) {
    double wv = m->vote[v[i].idx];
    if (m->weights == W_DISTANCE && !nzero) wv /= sqrt(v[i].d2);
    if (m->pos[v[i].idx]) a += wv;
    else b += wv;
  }
  return a / (a + b);
}

/* ---- predict: blocks ----------------------------------------------------------------------------- */

/* Scratch of a block of tq query rows. */
typedef struct layout {
  size_t tq, tn;   /* query rows per block, training rows per tile */
  size_t gv;       /* rows per tile of one query row */
  size_t tnr, gvr; /* the same for the one-hot path's operand Ad (width dd + 1) */
  size_t off_q;    /* tq x (d + 1) floats: [x, 1] */
  size_t off_qr;   /* tq x (dd + 1) floats: [x_dense, 1] (one-hot path) */
  size_t off_qc;   /* tq x nb uint16: the query's code in each block (one-hot path) */
  size_t off_cnt;  /* max(tnr, gvr) uint16: equal codes per training row of a tile */
  size_t off_c;    /* max(tq x tn, gv, tq x tnr, gvr) floats: keys of one tile */
  size_t off_x2;   /* tq doubles: |x|^2 */
  size_t off_ok;   /* tq bytes: 1 when the row takes the float pass on A */
  size_t off_okr;  /* tq bytes: 1 when the row takes the float pass on Ad (one-hot path) */
  size_t off_qb;   /* tq qbuf */
  size_t off_key;  /* tq x bc floats */
  size_t off_idx;  /* tq x bc uint32 */
  size_t off_v;    /* kmax nbr */
  size_t off_lu;   /* 3 x kmax doubles: the candidates' distance bounds (low, high) and a copy */
  size_t off_part; /* tq x 64 floats: the fused kernel's keys between width blocks */
  size_t bytes;
} layout;

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

/* The key tile of a block of nq query rows against n training rows: tq query rows by tn training
 * rows, tn a multiple of KNN_PANEL (every tile then starts on a panel of the transposed rows)
 * with tq x tn at most KNN_TILE_FLOATS (C stays in L2), KNN_ROW_TILE rows for a single query; at
 * most n.  The width does not matter: the dot products keep no operand but C and a broadcast. */
static void tile_shape(size_t d, size_t n, size_t nq, size_t *tq_out, size_t *tn_out) {
  (void)d;
  size_t tq = nq < KNN_QBLOCK ? nq : KNN_QBLOCK;
  if (tq == 0) tq = 1;
  size_t tn = tq == 1 ? KNN_ROW_TILE : KNN_TILE_FLOATS / tq / KNN_PANEL * KNN_PANEL;
  if (tn < KNN_PANEL) tn = KNN_PANEL;
  if (tn > n) tn = n;
  *tq_out = tq;
  *tn_out = tn;
}

static size_t gemv_rows(size_t w) {
  (void)w;
  return KNN_ROW_TILE;
}

static void make_layout(const knn_model *m, size_t nq, layout *L) {
  const size_t w = m->d + 1, wr = m->dd + 1, nb = m->nb;
  size_t tq, tn, tqr, tnr;
  tile_shape(m->d, m->n, nq, &tq, &tn);
  tile_shape(m->dd, m->n, tq, &tqr, &tnr); /* wr <= w: tqr == tq */
  if (tq == 1) tnr = gemv_rows(wr);               /* as tile_shape gives for one row */
  size_t gv = gemv_rows(w), gvr = gemv_rows(wr);
  L->tq = tq;
  L->tn = tn;
  L->gv = gv;
  L->tnr = tnr;
  L->gvr = gvr;
  size_t cmax = tq * tn > gv ? tq * tn : gv;
  if (nb && tq * tnr > cmax) cmax = tq * tnr;
  if (nb && gvr > cmax) cmax = gvr;
  size_t o = 0;
  L->off_q = o;
  o = align64(o + tq * w * sizeof(float));
  L->off_qr = o;
  o = align64(o + (nb ? tq * wr * sizeof(float) : 0));
  L->off_qc = o;
  o = align64(o + tq * nb * sizeof(uint16_t));
  L->off_cnt = o;
  o = align64(o + (nb ? (tnr > gvr ? tnr : gvr) * sizeof(uint16_t) : 0));
  L->off_c = o;
  o = align64(o + cmax * sizeof(float));
  L->off_x2 = o;
  o = align64(o + tq * sizeof(double));
  L->off_ok = o;
  o = align64(o + tq);
  L->off_okr = o;
  o = align64(o + tq);
  L->off_qb = o;
  o = align64(o + tq * sizeof(qbuf));
  L->off_key = o;
  o = align64(o + tq * m->bc * sizeof(float));
  L->off_idx = o;
  o = align64(o + tq * m->bc * sizeof(uint32_t));
  L->off_v = o;
  o = align64(o + m->kmax * sizeof(nbr));
  L->off_lu = o;
  o = align64(o + 3 * m->kmax * sizeof(double));
  L->off_part = o;
  o = align64(o + (m->d + 1 > KNN_FUSED_WB + 1 ? tq * 64 * sizeof(float) : 0));
  L->bytes = o + 64; /* room to align the base */
}

/* Keys of the block's query rows Q (nq rows of w) against training rows [j0, j0 + nt) into C (row
 * stride ldc; unused for one row), from the transposed rows T (in panels of KNN_PANEL rows): one
 * pp_dots per panel, which allocates nothing (an sgemm tile did: OpenBLAS's buffer, whose failed
 * allocation it retries forever); each key is the same bits at any split.  j0 is a multiple of
 * KNN_PANEL. */
static void tile_keys(const float *T, size_t w, const float *Q, size_t nq, size_t j0, size_t nt, float *C, size_t ldc,
                      int path) {
  for (size_t j = j0; j < j0 + nt; j += KNN_PANEL) {
    const size_t cols = j0 + nt - j < KNN_PANEL ? j0 + nt - j : KNN_PANEL;
    pp_dots(Q, nq, w, w, T + j * w, KNN_PANEL, cols, C + (j - j0), nq == 1 ? nt : ldc, path);
  }
}

/* The one-hot correction of a tile: c[j] -= 2 (number of blocks b where training row j0 + j has
 * the query's code qc[b]), for j < nt.  The count is an exact integer (at most nb < 2^16) and
 * 2 count is exact in float, so this adds one rounded subtraction per key (the same result at any
 * vector width, with or without a fused multiply-add).  KNN_ONEHOT_BODY is compiled twice: for
 * the base target and, on x86-64, for AVX-512BW (chosen at run time), where it vectorises to 32
 * codes per compare. */
#define KNN_ONEHOT_BODY                                                                   \
  const size_t n = m->n, nb = m->nb;                                                      \
  const uint16_t *cb = m->code + j0, v0 = qc[0];                                          \
  for (size_t j = 0; j < nt; j++) cnt[j] = (uint16_t)(cb[j] == v0);                       \
  for (size_t b = 1; b < nb; b++) {                                                       \
    const uint16_t *cbb = cb + b * n, v = qc[b];                                          \
    for (size_t j = 0; j < nt; j++) cnt[j] = (uint16_t)(cnt[j] + (cbb[j] == v));          \
  }                                                                                       \
  for (size_t j = 0; j < nt; j++) c[j] -= 2.0f * (float)cnt[j];

static void onehot_correct_base(const knn_model *m, const uint16_t *qc, size_t j0, size_t nt, uint16_t *cnt,
                                float *c) {
  KNN_ONEHOT_BODY
}

#if KNN_HAVE_AVX512
__attribute__((target("avx512f,avx512bw"))) static void onehot_correct_avx512(const knn_model *m, const uint16_t *qc,
                                                                             size_t j0, size_t nt, uint16_t *cnt,
                                                                             float *c) {
  KNN_ONEHOT_BODY
}
#endif

/* The key pass's reduction of a tile (instead of the offer): kminv[r 16] = min(itself, row r's keys). */
static void tile_min(float *kminv, const unsigned char *ok, size_t nq, const float *C, size_t ldc, size_t nt) {
  for (size_t r = 0; r < nq; r++) {
    if (!ok[r]) continue;
    const float *c = C + r * ldc;
    float v = kminv[r * 16];
    for (size_t j = 0; j < nt; j++) v = c[j] < v ? c[j] : v;
    kminv[r * 16] = v;
  }
}

typedef void (*onehot_fn)(const knn_model *m, const uint16_t *qc, size_t j0, size_t nt, uint16_t *cnt, float *c);

/* The loops of one CPU variant, chosen once per predict call (all variants give the same bits). */
typedef struct kernels {
  offer_fn offer;
  const scan_ops *ops;
  onehot_fn onehot;
  exact_d2_fn d2;
  exact_rows_fn rows;
  int fused; /* pp_knn_keys_offer_avx512 instead of pp_dots tiles and offer */
  int dots;  /* pp_dots's path */
} kernels;

/* Test hook (tests/test_knn.c includes this file): 1 turns the fused key kernel off, so that both
 * float passes can be checked on the same shapes.  Never set by the library. */
static int knn_no_fused;

static void pick_kernels(kernels *k) {
  k->offer = offer_tile_base;
  k->ops = &k_scan_base;
  k->onehot = onehot_correct_base;
  k->d2 = exact_d2_base;
  k->rows = exact_rows_base;
  k->fused = 0;
  k->dots = pp_dots_best_path();
#if KNN_HAVE_AVX512
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt")) {
    k->offer = offer_tile_avx512;
    k->ops = &pp_knn_scan_avx512;
  }
  if (__builtin_cpu_supports("avx512bw")) k->onehot = onehot_correct_avx512;
  if (__builtin_cpu_supports("avx512f")) {
    k->d2 = exact_d2_avx512;
    k->rows = exact_rows_avx512;
  }
  k->fused = !knn_no_fused && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("popcnt");
#endif
}

/* The query x takes the one-hot path when, in every block, its values are exactly 0 or 1 with
 * exactly one 1 (then qc gets the codes); otherwise it takes the full path. */
static int query_onehot(const knn_model *m, const float *x, uint16_t *qc) {
  for (size_t b = 0; b < m->nb; b++) {
    const float *xb = x + m->bstart[b];
    size_t one = SIZE_MAX;
    for (size_t c = 0; c < m->blen[b]; c++) {
      if (xb[c] == 1.0f) {
        if (one != SIZE_MAX) return 0;
        one = c;
      } else if (xb[c] != 0.0f) {
        return 0;
      }
    }
    if (one == SIZE_MAX) return 0;
    qc[b] = (uint16_t)one;
  }
  return 1;
}

/* The kk nearest training rows of x (in v[0..kk), any order), for a query of the float pass whose
 * check failed: the keys are computed again, gv rows at a time (qrow = [x, 1] on A,
 * or with qc = the codes, [x_dense, 1] on Ad plus the one-hot correction), and only the rows with
 * key <= cut get an exact distance.  With cut = D - x2 + B, D the k-th exact distance among the
 * candidates (>= the true k-th), every row skipped has a distance >= x2 + key - B > D, so the
 * result is exact_scan's.  *done = 0 when fewer than kk rows passed (which the inequality rules
 * out; the caller then runs exact_scan). */
static void pruned_scan(const knn_model *m, const kernels *kn, const float *x, const float *qrow, const uint16_t *qc,
                        double cut, size_t gv, float *C, uint16_t *cnt, nbr *v, int *done) {
  const size_t n = m->n, d = m->d, w = d + 1, kk = m->kk;
  size_t hn = 0;
  for (size_t j0 = 0; j0 < n; j0 += gv) {
    size_t nt = n - j0 < gv ? n - j0 : gv;
    if (qc) {
      tile_keys(m->Adt, m->dd + 1, qrow, 1, j0, nt, C, 0, kn->dots);
      kn->onehot(m, qc, j0, nt, cnt, C);
    } else {
      tile_keys(m->At, w, qrow, 1, j0, nt, C, 0, kn->dots);
    }
    for (size_t i = 0; i < nt; i++) {
      if (!((double)C[i] <= cut)) continue;
      size_t j = j0 + i;
      nbr c = {kn->d2(x, m->A + j * w, d), (uint32_t)j};
      if (hn < kk) nheap_push(v, hn++, c);
      else if (nbr_less(&c, &v[0])) nheap_replace_top(v, kk, c);
    }
  }
  *done = hn == kk; /* the candidates themselves pass the cut; if not, the caller scans all rows */
}

/* The kk nearest candidates of q for a uniform vote into v (see the comment inside), exact distances only
 * where the bounds cannot decide; returns D, at least the kk-th smallest exact distance among them. */
static double uniform_nearest(const knn_model *m, const kernels *kn, const float *x, double xx, double c, qbuf *q,
                              nbr *v, double *lob, double *hib, double *tmp) {
  const size_t d = m->d, w = d + 1, kk = m->kk, nc = q->cnt;
  double D;
  /* Uniform votes need the k nearest rows, not their distances.  A candidate whose hi is
   * below the (kk+1)-th smallest lo has at most kk - 1 others that can come before it: it
   * is among the kk nearest of the candidates (sure in).  One whose lo is above the kk-th
   * smallest hi has kk candidates before it (sure out).  Only the others get an exact
   * distance, and the rest of the kk is chosen among them by (distance, row): the kk
   * nearest of the candidates, as if all had been computed. */
  for (size_t i = 0; i < nc; i++) {
    double kv = xx + (double)q->key[i];
    double bj = c * (xx + 3.0 * ((double)m->sqy[q->idx[i]] * (1.0 + 1e-6))) + 1e-30;
    lob[i] = kv - bj;
    hib[i] = kv + bj;
  }
  memcpy(tmp, hib, nc * sizeof *tmp);
  const double hk = kth_smallest(tmp, nc, kk);
  memcpy(tmp, lob, nc * sizeof *tmp);
  const double lk1 = kth_smallest(tmp, nc, kk + 1);
  size_t nin = 0, nund = 0;
  D = -INFINITY;
  for (size_t i = 0; i < nc; i++) {
    if (hib[i] < lk1) {
      v[nin++] = (nbr){hib[i], q->idx[i]}; /* d2 unused by uniform votes; hi bounds it */
      if (hib[i] > D) D = hib[i];
    } else if (!(lob[i] > hk)) {
      q->idx[nund++] = q->idx[i]; /* nund <= i: in place */
    }
  }
  kn->rows(x, m->A, w, d, q->idx, nund, v + nin);
  if (nin < kk) {
    select_k(v + nin, nund, kk - nin);
    if (v[kk - 1].d2 > D) D = v[kk - 1].d2;
  }
  return D;
}

/* The float pass of a block of nq query rows set up by predict_block in its scratch (base): the one-hot
 * path (rows with okr) on Ad plus the code equality, the full path (rows with ok, nfull of them; nred
 * with okr) on A; the fused kernel where it runs, else a single row in tiles of gv rows, a block in tiles
 * of tn rows.  The keys go to the candidate buffers, or with kminv (the key pass) to the lane-wise
 * minima kminv[r 16 ..]. */
static void block_keys(const knn_model *m, const kernels *kn, const layout *L, unsigned char *base, size_t nq,
                       size_t nfull, size_t nred, float *kminv) {
  const size_t w = m->d + 1, n = m->n, kc = m->kc, kmax = m->kmax, bc = m->bc, nb = m->nb, wr = m->dd + 1;
  float *Q = (float *)(base + L->off_q), *C = (float *)(base + L->off_c), *Qr = (float *)(base + L->off_qr);
  uint16_t *qcode = (uint16_t *)(base + L->off_qc), *cnt = (uint16_t *)(base + L->off_cnt);
  const unsigned char *ok = base + L->off_ok, *okr = base + L->off_okr;
  qbuf *qb = (qbuf *)(base + L->off_qb);
  float *part = (float *)(base + L->off_part);
  const offer_fn offer = kn->offer;
#if KNN_HAVE_AVX512
  if (nred && kn->fused) {
    const fused_op f = {m->Adt, m->np, wr, Qr, m->code8p, m->code16p, qcode, nb, part, kminv};
    pp_knn_keys_offer_avx512(qb, okr, nq, bc, kc, kmax, &f);
    nred = 0;
  }
  if (nfull && kn->fused) {
    const fused_op f = {m->At, m->np, w, Q, NULL, NULL, NULL, 0, part, kminv};
    pp_knn_keys_offer_avx512(qb, ok, nq, bc, kc, kmax, &f);
    nfull = 0;
  }
#endif
  if (nred) {
    const size_t step = nq == 1 ? L->gvr : L->tnr, ldc = nq == 1 ? 0 : L->tnr;
    for (size_t j0 = 0; j0 < n; j0 += step) {
      size_t nt = n - j0 < step ? n - j0 : step;
      tile_keys(m->Adt, wr, Qr, nq, j0, nt, C, ldc, kn->dots);
      for (size_t r = 0; r < nq; r++)
        if (okr[r]) kn->onehot(m, qcode + r * nb, j0, nt, cnt, C + r * ldc);
      if (kminv) tile_min(kminv, okr, nq, C, ldc, nt);
      else offer(qb, okr, nq, bc, kc, kmax, C, ldc, nt, (uint32_t)j0);
    }
  }
  if (nfull) {
    const size_t step = nq == 1 ? L->gv : L->tn, ldc = nq == 1 ? 0 : L->tn;
    for (size_t j0 = 0; j0 < n; j0 += step) {
      size_t nt = n - j0 < step ? n - j0 : step;
      tile_keys(m->At, w, Q, nq, j0, nt, C, ldc, kn->dots);
      if (kminv) tile_min(kminv, ok, nq, C, ldc, nt);
      else offer(qb, ok, nq, bc, kc, kmax, C, ldc, nt, (uint32_t)j0);
    }
  }
}

/* The keys' error bound, whichever kernel made them (checked again for the fused multiply-adds of
 * pp_knn_keys_offer_avx512, issue 20): a key is within c (|x|^2 + 3 |y|^2), c = (d + 3) 2^-23, of the true
 * |y|^2 - 2 x.y.  With u = 2^-24, a key sums d + 1 terms: A's |y|^2 (a float within about u |y|^2 of
 * the true one: fill_row sums in double, then rounds) and the d products x_t (-2 y_t) of exact
 * operands.  A dot product of n terms computed in ANY order, with each product rounded before it is
 * added (pp_dots) or fused with the addition (one rounding per step), is within gamma_n = n u /
 * (1 - n u) times the sum of the terms' absolute values (Higham, Accuracy and Stability of Numerical
 * Algorithms, sec. 3.1), here |y|^2 + 2 sum |x_t y_t| <= |x|^2 + 2 |y|^2.  So the error is at most
 * 1.07 (d + 1) u (|x|^2 + 2 |y|^2) + u |y|^2 for any d < 2^20, under c (|x|^2 + 3 |y|^2) with nearly a
 * factor 2 to spare: the keys' last bits depend on the kernel, the bound and hence the neighbours do
 * not (test_fused_key_bound measures each fused key against it: at most 4% of it on its data).
 *
 * Predict nq <= L->tq rows (mode PB_FLOAT: the float pass only, out unused, for bench/; PB_KEYS: the key
 * pass, kmin[r] = row r's smallest key, out unused).  Returns 0, or PROP_ERR_VALUE with *bad = the
 * offending row. */
enum { PB_PREDICT, PB_FLOAT, PB_KEYS };
static int predict_block(const knn_model *m, const kernels *kn, const layout *L, const float *X, size_t nq,
                         double *out, void *scratch, size_t *bad, int mode, float *kmin) {
  const size_t d = m->d, w = d + 1, kc = m->kc, kmax = m->kmax, kk = m->kk, bc = m->bc;
  const size_t nb = m->nb, dd = m->dd, wr = dd + 1;
  unsigned char *base = (unsigned char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
  float *Q = (float *)(base + L->off_q), *C = (float *)(base + L->off_c), *Qr = (float *)(base + L->off_qr);
  uint16_t *qcode = (uint16_t *)(base + L->off_qc), *cnt = (uint16_t *)(base + L->off_cnt);
  double *x2 = (double *)(base + L->off_x2);
  unsigned char *ok = base + L->off_ok, *okr = base + L->off_okr;
  qbuf *qb = (qbuf *)(base + L->off_qb);
  float *keys = (float *)(base + L->off_key);
  uint32_t *idxs = (uint32_t *)(base + L->off_idx);
  nbr *v = (nbr *)(base + L->off_v);
  double *lob = (double *)(base + L->off_lu), *hib = lob + kmax, *tmp = hib + kmax;
  float *kminv = mode == PB_KEYS ? keys : NULL; /* the key pass: nq x 16 lane-wise minima (bc >= 16) */
  const scan_ops *ops = kn->ops;
  size_t nfull = 0, nred = 0;
  for (size_t r = 0; r < nq; r++) {
    const float *x = X + r * d;
    double s = 0;
    int fast = 1;
    for (size_t t = 0; t < d; t++) {
      if (!isfinite(x[t])) {
        *bad = r;
        return PROP_ERR_VALUE;
      }
      if (!(fabsf(x[t]) <= (float)KNN_VALUE_MAX)) fast = 0;
      s += (double)x[t] * (double)x[t];
    }
    x2[r] = s;
    int red = fast && nb && query_onehot(m, x, qcode + r * nb);
    ok[r] = (unsigned char)(fast && !red);
    okr[r] = (unsigned char)red;
    nfull += ok[r];
    nred += okr[r];
    if (ok[r]) {
      memcpy(Q + r * w, x, d * sizeof(float));
      Q[r * w + d] = 1.0f;
    } else { /* another path answers this row; keep the float pass finite */
      memset(Q + r * w, 0, w * sizeof(float));
    }
    if (nb) {
      float *qr = Qr + r * wr;
      if (red) {
        for (size_t i = 0; i < dd; i++) qr[i] = x[m->dcol[i]];
        qr[dd] = 1.0f;
      } else {
        memset(qr, 0, wr * sizeof(float));
      }
    }
    qb[r].key = keys + r * bc;
    qb[r].idx = idxs + r * bc;
    qb[r].cnt = 0;
    qb[r].thr = INFINITY;
    /* keys lie in [-|x|^2, max|y|^2 + 2 |x| max|y|] up to rounding (a wrong bracket only costs
     * the exact selection) */
    qb[r].lo = (float)(-s * (1.0 + 1e-3) - 1e-30);
    qb[r].hi = (float)((m->sq_max + 2.0 * sqrt(s * m->sq_max)) * (1.0 + 1e-3) + 1e-30);
  }
  if (kminv)
    for (size_t i = 0; i < nq * 16; i++) kminv[i] = INFINITY;
  /* 1. float pass */
  block_keys(m, kn, L, base, nq, nfull, nred, kminv);
  if (mode == PB_KEYS) {
    for (size_t r = 0; r < nq; r++) {
      float km = NAN;
      if (ok[r] || okr[r]) {
        km = kminv[r * 16];
        for (size_t l = 1; l < 16; l++) km = kminv[r * 16 + l] < km ? kminv[r * 16 + l] : km;
      }
      kmin[r] = km;
    }
  }
  if (mode != PB_PREDICT) return 0;
  /* 2. exact pass */
  for (size_t r = 0; r < nq; r++) {
    const float *x = X + r * d;
    int exact = 0;
    if (ok[r] || okr[r]) {
      qbuf *q = &qb[r];
      qbuf_finish(q, kc, kmax, ops);
      /* Error bounds (see the check below, and above predict_block): a key is within c (|x|^2 +
       * 3 |y|^2) of the true |y|^2 - 2 x.y, whichever kernel made it, so each candidate's exact
       * distance lies in [lo, hi] = x2 + key -+ B_j with
       * its own |y_j|^2 (sqy, rounded up), and every row left out of the buffer (key >= thr) is at
       * distance >= lb_out: either with max |y|^2, or with |y_j|^2 <= (|x| + |x - y_j|)^2 <=
       * 2 |x|^2 + 2 dist_j, which gives dist_j (1 + 6c) >= x2 (1 - 7c) + key_j. */
      const double c = (double)(d + 3) * 0x1p-23, xx = x2[r];
      const double bound = c * (xx + 3.0 * m->sq_max) + 1e-30;
      const double lb_out = q->thr == INFINITY ? INFINITY
                                               : fmax(xx + (double)q->thr - bound,
                                                      (xx * (1.0 - 7.0 * c) + (double)q->thr) / (1.0 + 6.0 * c));
      double D; /* >= the k-th smallest exact distance of the candidates */
      const size_t nc = q->cnt;
      if (m->weights == W_UNIFORM && nc > kk) {
        D = uniform_nearest(m, kn, x, xx, c, q, v, lob, hib, tmp);
      } else {
        kn->rows(x, m->A, w, d, q->idx, nc, v);
        select_k(v, nc, kk);
        D = v[kk - 1].d2;
      }
      if (q->thr == INFINITY) {
        exact = 1; /* no row was ever dropped: every training row is a candidate */
      } else {
        /* every other row has a key >= thr, hence a squared distance >= lb_out.  The bound also
         * holds for the one-hot path: its key |y|^2 - 2 x_dense.y_dense - 2 count is the same
         * real number as the full one (x and y are one-hot in every block, so x_b.y_b =
         * [code_x = code_y]); its terms have the same absolute sum (the one-hot products are >= 0
         * and sum to count); and it is rounded in at most dd + 2 <= d + 1 operations (dd + 1
         * products and sums in the dot product, one subtraction of the exact 2 count), no more
         * than the full one's d + 1, with or without fused multiply-adds. */
        exact = D < lb_out;
        if (!exact) { /* by the same inequalities, only rows with x2 + key - bound <= D and
                       * x2 (1 - 7c) + key <= D (1 + 6c) can be among the k nearest */
          double cut = fmin(D - xx + bound, D * (1.0 + 6.0 * c) - xx * (1.0 - 7.0 * c));
          pruned_scan(m, kn, x, okr[r] ? Qr + r * wr : Q + r * w, okr[r] ? qcode + r * nb : NULL, cut,
                      okr[r] ? L->gvr : L->gv, C, cnt, v, &exact);
        }
      }
    }
    if (!exact) exact_scan(m, x, v);
    out[r] = vote(m, v, kk);
  }
  return 0;
}

size_t pp_knn_scratch_bytes(const void *model, size_t n) {
  const knn_model *m = model;
  if (!m || n == 0) return 0;
  layout L;
  make_layout(m, n, &L);
  return L.bytes;
}

int pp_knn_predict(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread) {
  const knn_model *m = model;
  if (!m || (!X && n) || (!out && n)) return pp_err(PROP_ERR_ARG, "knn predict: NULL argument");
  if (n == 0) return 0;
  layout L;
  make_layout(m, n, &L);
  kernels kn;
  pick_kernels(&kn);
  const size_t d = m->d, nblk = (n + L.tq - 1) / L.tq;
  int nt = pp_threads(nthread);
  if ((size_t)nt > nblk) nt = (int)nblk;
  size_t bad_row = 0;
  int rc = 0;
  if (nt <= 1) {
    void *ws = scratch;
    if (!ws && !(ws = pp_malloc(L.bytes))) return PROP_ERR_NOMEM;
    for (size_t b = 0; b < nblk && !rc; b++) {
      size_t i0 = b * L.tq, nb = n - i0 < L.tq ? n - i0 : L.tq, bad = 0;
      rc = predict_block(m, &kn, &L, X + i0 * d, nb, out + i0, ws, &bad, PB_PREDICT, NULL);
      if (rc) bad_row = i0 + bad;
    }
    if (ws != scratch) free(ws);
  } else {
#pragma omp parallel num_threads(nt)
    {
      void *ws = pp_alloc_raw(L.bytes);
      if (!ws) {
#pragma omp critical
        rc = PROP_ERR_NOMEM;
      }
#pragma omp for schedule(dynamic, 1)
      for (size_t b = 0; b < nblk; b++) {
        if (!ws) continue;
        size_t i0 = b * L.tq, nb = n - i0 < L.tq ? n - i0 : L.tq, bad = 0;
        if (predict_block(m, &kn, &L, X + i0 * d, nb, out + i0, ws, &bad, PB_PREDICT, NULL)) {
#pragma omp critical
          {
            if (rc == 0 || (rc == PROP_ERR_VALUE && i0 + bad < bad_row)) {
              bad_row = i0 + bad;
              rc = PROP_ERR_VALUE;
            }
          }
        }
      }
      free(ws);
    }
  }
  if (rc == PROP_ERR_NOMEM) return pp_err(rc, "knn: out of memory for prediction scratch");
  if (rc) return pp_err(rc, "knn: row %zu has a non-finite value", bad_row);
  return 0;
}

/* The float pass (mode PB_FLOAT) or the key pass (PB_KEYS, kmin) of n rows, block by block on the calling thread. */
static int float_pass(const knn_model *m, const float *X, size_t n, int mode, float *kmin) {
  kernels kn;
  pick_kernels(&kn);
  layout L;
  make_layout(m, n, &L);
  void *ws = pp_malloc(L.bytes);
  if (!ws) return PROP_ERR_NOMEM;
  int rc = 0;
  size_t i0 = 0, bad = 0;
  for (; i0 < n && !rc; i0 += L.tq) {
    size_t nb = n - i0 < L.tq ? n - i0 : L.tq;
    rc = predict_block(m, &kn, &L, X + i0 * m->d, nb, NULL, ws, &bad, mode, kmin ? kmin + i0 : NULL);
    if (rc) bad += i0;
  }
  free(ws);
  return rc ? pp_err(rc, "knn: row %zu has a non-finite value", bad) : 0;
}

int pp_knn_float_pass(const void *model, const float *X, size_t n, const char **kernel) {
  if (kernel) {
    kernels kn;
    pick_kernels(&kn);
    *kernel = kn.fused ? "fused FMA keys + offer (AVX-512)" : "pp_dots tiles + offer";
  }
  if (!model || !X || n == 0) return 0;
  return float_pass(model, X, n, PB_FLOAT, NULL);
}

int pp_knn_key_pass(const void *model, const float *X, size_t n, float *kmin) {
  if (!model || (!X && n) || (!kmin && n)) return pp_err(PROP_ERR_ARG, "knn key pass: NULL argument");
  if (n == 0) return 0;
  return float_pass(model, X, n, PB_KEYS, kmin);
}
