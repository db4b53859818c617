/* The "knn" member's fused key kernel for CPUs with AVX-512 (the float pass of knn_predict.c, step 1
 * in its top comment; the candidate buffers it fills are knn_predict.c's, declared in knn_impl.h).
 *
 * Fused keys and offer, for operands of any width: instead of a pp_dots tile written to C and read back, the
 * keys of QN query rows (4, or 1 for a single row and a block's last rows) against a panel of 64 training
 * rows are accumulated in registers from the transposed training rows T (in panels, knn_model.At; the
 * one-hot path's Adt, or At): each starts from |y|^2 (the last column, times the query's 1) and takes w - 1
 * fused multiply-adds in column order, one rounding per step.  The keys' last bits differ from pp_dots's
 * (two roundings per step), not their error bound, which holds for any order of the sums with or without
 * fused multiply-adds (see the check in knn_predict.c's predict_block): the float pass is only a filter, and
 * the exact pass gives the same neighbours either way.  The panel (64 x (w - 1) floats, 32 KiB at w = 129)
 * stays in L1 while every query of the block goes over it; wider operands are cut into width blocks of at
 * most KNN_FUSED_WB columns, and the keys of the block's queries wait in part (tq x 64 floats) between width
 * blocks: the same chain of roundings, bit for bit. On the one-hot path the categories are compared as
 * codes, never as columns: for each block, the 64 training rows' codes (one byte each, code8p, or two,
 * code16p, block-major, np per block) are compared with the query's code in one instruction (two for 16-bit
 * codes), and each row's count of equal codes is kept in a byte (16-bit) lane; 2 count is then subtracted,
 * exactly (2 count < 2^17 is exact in float; one rounded subtraction per key).  The keys are compared with
 * the threshold and compress-stored into the buffers as knn_predict.c's offer_tile_avx512 does.  The same
 * keys, bit for bit, whatever QN, the code width and the width blocks, so the same candidates are offered.
 */
#include "models/knn_impl.h"

#if KNN_HAVE_AVX512

/* 2 c as floats, for 16 counts c (exact: c < 2^16). */
static inline __attribute__((always_inline)) KNN_AVX512 __m512 twice_counts(__m512i c) {
  return _mm512_cvtepi32_ps(_mm512_slli_epi32(c, 1));
}

/* The one-hot path's correction of a panel's keys acc (query rows ri[0 .. QN), training rows [j, j + 64)):
 * minus 2 (the number of blocks where the row's code is the query's), exactly. */
static inline __attribute__((always_inline)) KNN_AVX512BW void onehot_sub(__m512 acc[4][4], const fused_op *f,
                                                                          const size_t *ri, size_t j,
                                                                          const size_t QN) {
  const size_t np = f->np, nb = f->nb;
  if (f->code8p) {
    __m512i cnt[4];
#pragma GCC unroll 4
    for (size_t i = 0; i < QN; i++) cnt[i] = _mm512_setzero_si512();
    const __m512i one = _mm512_set1_epi8(1);
    for (size_t b = 0; b < nb; b++) {
      const __m512i y = _mm512_loadu_si512((const void *)(f->code8p + b * np + j));
#pragma GCC unroll 4
      for (size_t i = 0; i < QN; i++) {
        const __mmask64 eq = _mm512_cmpeq_epi8_mask(y, _mm512_set1_epi8((char)f->qcode[ri[i] * nb + b]));
        cnt[i] = _mm512_mask_add_epi8(cnt[i], eq, cnt[i], one);
      }
    }
#pragma GCC unroll 4
    for (size_t i = 0; i < QN; i++) {
      acc[i][0] = _mm512_sub_ps(acc[i][0], twice_counts(_mm512_cvtepu8_epi32(_mm512_castsi512_si128(cnt[i]))));
      acc[i][1] = _mm512_sub_ps(acc[i][1], twice_counts(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(cnt[i], 1))));
      acc[i][2] = _mm512_sub_ps(acc[i][2], twice_counts(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(cnt[i], 2))));
      acc[i][3] = _mm512_sub_ps(acc[i][3], twice_counts(_mm512_cvtepu8_epi32(_mm512_extracti32x4_epi32(cnt[i], 3))));
    }
  } else if (f->code16p) {
    __m512i cnt[4][2];
#pragma GCC unroll 4
    for (size_t i = 0; i < QN; i++) cnt[i][0] = cnt[i][1] = _mm512_setzero_si512();
    const __m512i one = _mm512_set1_epi16(1);
    for (size_t b = 0; b < nb; b++) {
      const __m512i y0 = _mm512_loadu_si512((const void *)(f->code16p + b * np + j));
      const __m512i y1 = _mm512_loadu_si512((const void *)(f->code16p + b * np + j + 32));
#pragma GCC unroll 4
      for (size_t i = 0; i < QN; i++) {
        const __m512i qv = _mm512_set1_epi16((short)f->qcode[ri[i] * nb + b]);
        cnt[i][0] = _mm512_mask_add_epi16(cnt[i][0], _mm512_cmpeq_epi16_mask(y0, qv), cnt[i][0], one);
        cnt[i][1] = _mm512_mask_add_epi16(cnt[i][1], _mm512_cmpeq_epi16_mask(y1, qv), cnt[i][1], one);
      }
    }
#pragma GCC unroll 4
    for (size_t i = 0; i < QN; i++)
#pragma GCC unroll 4
      for (size_t h = 0; h < 4; h++) {
        const __m256i c16 = h & 1 ? _mm512_extracti64x4_epi64(cnt[i][h / 2], 1) : _mm512_castsi512_si256(cnt[i][h / 2]);
        acc[i][h] = _mm512_sub_ps(acc[i][h], twice_counts(_mm512_cvtepu16_epi32(c16)));
      }
  }
}

/* Offer a panel's keys acc (query rows r0 + i, i < QN, training rows [j, j + 64)) to the buffers of the
 * rows with ok[]: compared with the threshold and compress-stored, 16 at a time. */
static inline __attribute__((always_inline)) KNN_AVX512 void offer_panel(qbuf *qb, const unsigned char *ok, size_t nq,
                                                                         size_t bc, size_t kc, size_t kmax,
                                                                         __m512 acc[4][4], const size_t *ri,
                                                                         size_t r0, size_t j, const size_t QN) {
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  /* the offer: the buffers first get room for 64 keys each (bc >= kmax + 64), then the stores run
   * without a check or a call between them, the queries' chains interleaved */
  float *kb[4];
  uint32_t *ib[4];
  size_t cnt[4];
  __m512 tv[4];
  int live[4];
#pragma GCC unroll 4
  for (size_t i = 0; i < QN; i++) {
    live[i] = r0 + i < nq && ok[r0 + i];
    qbuf *q = &qb[ri[i]];
    if (live[i] && q->cnt + 64 > bc) pp_knn_shrink(q, kc, kmax, &pp_knn_scan_avx512);
    kb[i] = q->key;
    ib[i] = q->idx;
    cnt[i] = q->cnt;
    tv[i] = _mm512_set1_ps(q->thr);
  }
#pragma GCC unroll 4
  for (size_t h = 0; h < 4; h++) {
    const __m512i id = _mm512_add_epi32(_mm512_set1_epi32((int)(j + 16 * h)), iota);
#pragma GCC unroll 4
    for (size_t i = 0; i < QN; i++) {
      if (!live[i]) continue;
      const __mmask16 mk = _mm512_cmp_ps_mask(acc[i][h], tv[i], _CMP_LT_OQ);
      _mm512_storeu_ps(kb[i] + cnt[i], _mm512_maskz_compress_ps(mk, acc[i][h]));
      _mm512_storeu_si512((void *)(ib[i] + cnt[i]), _mm512_maskz_compress_epi32(mk, id));
      cnt[i] += (size_t)__builtin_popcount(mk);
    }
  }
#pragma GCC unroll 4
  for (size_t i = 0; i < QN; i++)
    if (live[i]) qb[ri[i]].cnt = cnt[i];
}

/* Columns [t0, t1) of the keys of query rows r0 .. r0 + QN - 1 against training rows [j0, j1), panel by
 * panel; the last width block (t1 = w - 1) adds the codes' correction and offers the keys. */
static inline __attribute__((always_inline)) KNN_AVX512BW void keys_offer_body(
    qbuf *qb, const unsigned char *ok, size_t nq, size_t bc, size_t kc, size_t kmax, const fused_op *f,
    size_t r0, size_t j0, size_t j1, size_t t0, size_t t1, const size_t QN, const int SINK) {
  const size_t w = f->w;
  size_t ri[4];
  const float *qp[4];
  int any = 0;
#pragma GCC unroll 4
  for (size_t i = 0; i < QN; i++) {
    ri[i] = r0 + i < nq ? r0 + i : nq - 1;
    any |= r0 + i < nq && ok[r0 + i];
    qp[i] = f->Q + ri[i] * w;
  }
  if (!any) return;
  for (size_t j = j0; j < j1; j += KNN_PANEL) {
    const float *P = f->T + j * w; /* the panel: w x KNN_PANEL */
    __m512 acc[4][4];
    if (t0 == 0) {
      const float *last = P + (w - 1) * KNN_PANEL; /* |y|^2 times the query's 1: the sums start from it */
#pragma GCC unroll 4
      for (size_t h = 0; h < 4; h++) {
        const __m512 l = _mm512_loadu_ps(last + 16 * h);
#pragma GCC unroll 4
        for (size_t i = 0; i < QN; i++) acc[i][h] = l;
      }
    } else {
#pragma GCC unroll 4
      for (size_t i = 0; i < QN; i++)
#pragma GCC unroll 4
        for (size_t h = 0; h < 4; h++) acc[i][h] = _mm512_loadu_ps(f->part + ri[i] * 64 + 16 * h);
    }
    const float *tc = P + t0 * KNN_PANEL;
    for (size_t t = t0; t < t1; t++, tc += KNN_PANEL) {
      __m512 v[4];
#pragma GCC unroll 4
      for (size_t h = 0; h < 4; h++) v[h] = _mm512_loadu_ps(tc + 16 * h);
#pragma GCC unroll 4
      for (size_t i = 0; i < QN; i++) {
        const __m512 b = _mm512_set1_ps(qp[i][t]);
#pragma GCC unroll 4
        for (size_t h = 0; h < 4; h++) acc[i][h] = _mm512_fmadd_ps(b, v[h], acc[i][h]);
      }
    }
    if (t1 + 1 < w) { /* not the last width block: the partial keys wait in part */
#pragma GCC unroll 4
      for (size_t i = 0; i < QN; i++)
#pragma GCC unroll 4
        for (size_t h = 0; h < 4; h++) _mm512_storeu_ps(f->part + ri[i] * 64 + 16 * h, acc[i][h]);
      continue;
    }
    if (f->nb) onehot_sub(acc, f, ri, j, QN);
    if (!SINK) {
      offer_panel(qb, ok, nq, bc, kc, kmax, acc, ri, r0, j, QN);
    } else { /* the key pass: the keys' lane-wise minimum instead of the offer */
#pragma GCC unroll 4
      for (size_t i = 0; i < QN; i++) {
        if (!(r0 + i < nq && ok[r0 + i])) continue; /* a padding row, or one on the other path */
        float *km = f->kmin + ri[i] * 16;
        const __m512 m01 = _mm512_min_ps(acc[i][0], acc[i][1]), m23 = _mm512_min_ps(acc[i][2], acc[i][3]);
        _mm512_storeu_ps(km, _mm512_min_ps(_mm512_loadu_ps(km), _mm512_min_ps(m01, m23)));
      }
    }
  }
}

/* The body's four instances: four query rows or one, offering the keys or (key pass) keeping their minimum. */
#define KNN_KEYS_FN(name, QN, SINK)                                                                                \
  KNN_AVX512BW static void name(qbuf *qb, const unsigned char *ok, size_t nq, size_t bc, size_t kc, size_t kmax, \
                                const fused_op *f, size_t r0, size_t j0, size_t j1, size_t t0, size_t t1) {      \
    keys_offer_body(qb, ok, nq, bc, kc, kmax, f, r0, j0, j1, t0, t1, QN, SINK);                                  \
  }
KNN_KEYS_FN(keys_offer4_avx512, 4, 0)
KNN_KEYS_FN(keys_offer1_avx512, 1, 0)
KNN_KEYS_FN(keys_min4_avx512, 4, 1)
KNN_KEYS_FN(keys_min1_avx512, 1, 1)
#undef KNN_KEYS_FN

/* The fused kernel over training rows [0, np) for the nq queries with ok[]: panel by panel of 64
 * training rows, width block by width block (balanced, at most KNN_FUSED_WB columns each), the
 * queries four at a time, then one at a time.  With f->kmin (the key pass), the same keys go to
 * the lane-wise minimum instead of the buffers. */
KNN_AVX512BW void pp_knn_keys_offer_avx512(qbuf *qb, const unsigned char *ok, size_t nq, size_t bc, size_t kc,
                                           size_t kmax, const fused_op *f) {
  const size_t nt = f->w - 1, nwb = (nt + KNN_FUSED_WB - 1) / KNN_FUSED_WB;
  const size_t wb = nwb > 1 ? (nt + nwb - 1) / nwb : KNN_FUSED_WB;
  size_t rows = KNN_PANEL; /* per pass of the queries: the panels that fit the L1 budget */
  if (nwb == 1 && KNN_FUSED_L1 / (f->w * sizeof(float)) > rows)
    rows = KNN_FUSED_L1 / (f->w * sizeof(float)) / KNN_PANEL * KNN_PANEL;
  for (size_t j0 = 0; j0 < f->np; j0 += rows) {
    const size_t j1 = f->np - j0 < rows ? f->np : j0 + rows;
    for (size_t t0 = 0, t1;; t0 = t1) {
      t1 = nt - t0 < wb ? nt : t0 + wb;
      size_t r0 = 0;
      if (!f->kmin) {
        for (; r0 + 4 <= nq; r0 += 4) keys_offer4_avx512(qb, ok, nq, bc, kc, kmax, f, r0, j0, j1, t0, t1);
        for (; r0 < nq; r0++) keys_offer1_avx512(qb, ok, nq, bc, kc, kmax, f, r0, j0, j1, t0, t1);
      } else {
        for (; r0 + 4 <= nq; r0 += 4) keys_min4_avx512(qb, ok, nq, bc, kc, kmax, f, r0, j0, j1, t0, t1);
        for (; r0 < nq; r0++) keys_min1_avx512(qb, ok, nq, bc, kc, kmax, f, r0, j0, j1, t0, t1);
      }
      if (t1 == nt) break; /* that block offered the keys */
    }
  }
}
#else
typedef int pp_knn_fused_none; /* no AVX-512 in this compiler: nothing here (ISO C wants a declaration) */
#endif
