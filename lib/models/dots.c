/* Dot products of rows in one fixed order (see dots.h): a portable loop and AVX2 and AVX-512 copies
 * (target attributes on a baseline build, chosen at run time) that give the same bits.  Each keeps,
 * for every pair, k ascending with the product rounded before it is added: the vector copies hold
 * one pair per lane and broadcast A's value, so no tile, block or thread changes a sum. */
#include <string.h>

#include "common/common.h"
#include "models/dots.h"

size_t pp_dots_stride(size_t n) { return n ? (n + PP_DOTS_COLS - 1) / PP_DOTS_COLS * PP_DOTS_COLS : PP_DOTS_COLS; }

void pp_dots_transpose(const float *B, size_t n, size_t ldbb, size_t d, float *Bt, size_t ldb) {
  for (size_t k = 0; k < d; k++) {
    float *t = Bt + k * ldb;
    for (size_t s = 0; s < n; s++) t[s] = B[s * ldbb + k];
    if (ldb > n) memset(t + n, 0, (ldb - n) * sizeof *t);
  }
}

static void dots_portable(const float *A, size_t m, size_t lda, size_t d, const float *Bt, size_t ldb, size_t n,
                          float *C, size_t ldc) {
  for (size_t r = 0; r < m; r++) {
    const float *x = A + r * lda;
    for (size_t s0 = 0; s0 < n; s0 += PP_DOTS_COLS) {
      float acc[PP_DOTS_COLS] = {0};
      for (size_t k = 0; k < d; k++) {
        const float *t = Bt + k * ldb + s0;
        const float xk = x[k];
        for (size_t l = 0; l < PP_DOTS_COLS; l++) acc[l] = acc[l] + xk * t[l];
      }
      size_t w = n - s0 < PP_DOTS_COLS ? n - s0 : PP_DOTS_COLS;
      memcpy(C + r * ldc + s0, acc, w * sizeof(float));
    }
  }
}

size_t pp_dots_nonzeros(const float *x, size_t d, uint32_t *idx, float *val) {
  size_t nnz = 0;
  for (size_t k = 0; k < d; k++)
    if (x[k] != 0.0f) {
      idx[nnz] = (uint32_t)k;
      val[nnz++] = x[k];
    }
  return nnz;
}

static void sparse_portable(const uint32_t *idx, const float *val, size_t nnz, const float *Bt, size_t ldb, size_t n,
                            float *out) {
  for (size_t s0 = 0; s0 < n; s0 += PP_DOTS_COLS) {
    float acc[PP_DOTS_COLS] = {0};
    for (size_t j = 0; j < nnz; j++) {
      const float *t = Bt + (size_t)idx[j] * ldb + s0;
      const float xk = val[j];
      for (size_t l = 0; l < PP_DOTS_COLS; l++) acc[l] = acc[l] + xk * t[l];
    }
    size_t w = n - s0 < PP_DOTS_COLS ? n - s0 : PP_DOTS_COLS;
    memcpy(out + s0, acc, w * sizeof(float));
  }
}

#if PP_HAVE_AVX512
#include <immintrin.h>

/* The first `left` lanes of a 16-lane mask (all 16 from 16 on). */
static inline __mmask16 tail_mask(size_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u); }

/* Four rows by 16 columns in registers, a row at a time for the last rows. */
__attribute__((target("avx2"))) static void dots_avx2(const float *A, size_t m, size_t lda, size_t d, const float *Bt,
                                                      size_t ldb, size_t n, float *C, size_t ldc) {
  float tmp[16];
  size_t r = 0;
  for (; r + 4 <= m; r += 4) {
    const float *x = A + r * lda;
    for (size_t s0 = 0; s0 < n; s0 += 16) {
      __m256 a[4][2];
      for (int i = 0; i < 4; i++) a[i][0] = a[i][1] = _mm256_setzero_ps();
      for (size_t k = 0; k < d; k++) {
        const float *t = Bt + k * ldb + s0;
        const __m256 t0 = _mm256_loadu_ps(t), t1 = _mm256_loadu_ps(t + 8);
        for (int i = 0; i < 4; i++) {
          const __m256 b = _mm256_set1_ps(x[(size_t)i * lda + k]);
          a[i][0] = _mm256_add_ps(a[i][0], _mm256_mul_ps(b, t0));
          a[i][1] = _mm256_add_ps(a[i][1], _mm256_mul_ps(b, t1));
        }
      }
      size_t w = n - s0 < 16 ? n - s0 : 16;
      for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(tmp, a[i][0]);
        _mm256_storeu_ps(tmp + 8, a[i][1]);
        memcpy(C + (r + (size_t)i) * ldc + s0, tmp, w * sizeof(float));
      }
    }
  }
  for (; r < m; r++) {
    const float *x = A + r * lda;
    for (size_t s0 = 0; s0 < n; s0 += 16) {
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      for (size_t k = 0; k < d; k++) {
        const float *t = Bt + k * ldb + s0;
        const __m256 b = _mm256_set1_ps(x[k]);
        a0 = _mm256_add_ps(a0, _mm256_mul_ps(b, _mm256_loadu_ps(t)));
        a1 = _mm256_add_ps(a1, _mm256_mul_ps(b, _mm256_loadu_ps(t + 8)));
      }
      size_t w = n - s0 < 16 ? n - s0 : 16;
      _mm256_storeu_ps(tmp, a0);
      _mm256_storeu_ps(tmp + 8, a1);
      memcpy(C + r * ldc + s0, tmp, w * sizeof(float));
    }
  }
}

/* Four rows by 32 columns in registers (a row at a time for the last rows): per k, two loads of
 * Bt, a broadcast per row, and a multiply and an add per register. */
__attribute__((target("avx512f"))) static void dots_avx512(const float *A, size_t m, size_t lda, size_t d,
                                                           const float *Bt, size_t ldb, size_t n, float *C, size_t ldc) {
  size_t r = 0;
  for (; r + 4 <= m; r += 4) {
    const float *x = A + r * lda;
    for (size_t s0 = 0; s0 < n; s0 += PP_DOTS_COLS) {
      __m512 a[4][2];
      for (int i = 0; i < 4; i++) a[i][0] = a[i][1] = _mm512_setzero_ps();
      for (size_t k = 0; k < d; k++) {
        const float *t = Bt + k * ldb + s0;
        const __m512 t0 = _mm512_loadu_ps(t), t1 = _mm512_loadu_ps(t + 16);
        for (int i = 0; i < 4; i++) {
          const __m512 b = _mm512_set1_ps(x[(size_t)i * lda + k]);
          a[i][0] = _mm512_add_ps(a[i][0], _mm512_mul_ps(b, t0));
          a[i][1] = _mm512_add_ps(a[i][1], _mm512_mul_ps(b, t1));
        }
      }
      size_t w = n - s0; /* columns left; the tile stores at most 32 */
      __mmask16 k0 = tail_mask(w), k1 = w > 16 ? tail_mask(w - 16) : 0;
      for (int i = 0; i < 4; i++) {
        float *o = C + (r + (size_t)i) * ldc + s0;
        _mm512_mask_storeu_ps(o, k0, a[i][0]);
        _mm512_mask_storeu_ps(o + 16, k1, a[i][1]);
      }
    }
  }
  for (; r < m; r++) {
    const float *x = A + r * lda;
    for (size_t s0 = 0; s0 < n; s0 += PP_DOTS_COLS) {
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
      for (size_t k = 0; k < d; k++) {
        const float *t = Bt + k * ldb + s0;
        const __m512 b = _mm512_set1_ps(x[k]);
        a0 = _mm512_add_ps(a0, _mm512_mul_ps(b, _mm512_loadu_ps(t)));
        a1 = _mm512_add_ps(a1, _mm512_mul_ps(b, _mm512_loadu_ps(t + 16)));
      }
      size_t w = n - s0;
      __mmask16 k0 = tail_mask(w), k1 = w > 16 ? tail_mask(w - 16) : 0;
      _mm512_mask_storeu_ps(C + r * ldc + s0, k0, a0);
      _mm512_mask_storeu_ps(C + r * ldc + s0 + 16, k1, a1);
    }
  }
}

/* One row's nonzeros against nv registers of columns from s0 (nv a constant at each call, so that
 * the sums stay in registers): per nonzero, a broadcast, and a load, a multiply and an add per
 * register.  Eight registers keep eight sums in flight. */
__attribute__((target("avx2"), always_inline)) static inline void sparse_tile_avx2(const uint32_t *idx, const float *val,
                                                                                   size_t nnz, const float *Bt, size_t ldb,
                                                                                   size_t s0, size_t nv, float *tmp) {
  __m256 a[8];
  for (size_t v = 0; v < nv; v++) a[v] = _mm256_setzero_ps();
  for (size_t j = 0; j < nnz; j++) {
    const float *t = Bt + (size_t)idx[j] * ldb + s0;
    const __m256 b = _mm256_set1_ps(val[j]);
    for (size_t v = 0; v < nv; v++) a[v] = _mm256_add_ps(a[v], _mm256_mul_ps(b, _mm256_loadu_ps(t + 8 * v)));
  }
  for (size_t v = 0; v < nv; v++) _mm256_storeu_ps(tmp + 8 * v, a[v]);
}

/* 64 columns at a time, then 32 (Bt's padding covers 32). */
__attribute__((target("avx2"))) static void sparse_avx2(const uint32_t *idx, const float *val, size_t nnz,
                                                        const float *Bt, size_t ldb, size_t n, float *out) {
  float tmp[64];
  for (size_t s0 = 0; s0 < n;) {
    const size_t wide = n - s0 > 32 ? 64 : 32;
    if (wide == 64)
      sparse_tile_avx2(idx, val, nnz, Bt, ldb, s0, 8, tmp);
    else
      sparse_tile_avx2(idx, val, nnz, Bt, ldb, s0, 4, tmp);
    size_t w = n - s0 < wide ? n - s0 : wide;
    memcpy(out + s0, tmp, w * sizeof(float));
    s0 += wide;
  }
}

__attribute__((target("avx512f"), always_inline)) static inline void sparse_tile_avx512(const uint32_t *idx,
                                                                                       const float *val, size_t nnz,
                                                                                       const float *Bt, size_t ldb,
                                                                                       size_t s0, size_t nv, size_t n,
                                                                                       float *out) {
  __m512 a[8];
  for (size_t v = 0; v < nv; v++) a[v] = _mm512_setzero_ps();
  for (size_t j = 0; j < nnz; j++) {
    const float *t = Bt + (size_t)idx[j] * ldb + s0;
    const __m512 b = _mm512_set1_ps(val[j]);
    for (size_t v = 0; v < nv; v++) a[v] = _mm512_add_ps(a[v], _mm512_mul_ps(b, _mm512_loadu_ps(t + 16 * v)));
  }
  for (size_t v = 0; v < nv; v++) {
    size_t c = s0 + 16 * v;
    if (c < n) _mm512_mask_storeu_ps(out + c, tail_mask(n - c), a[v]);
  }
}

/* As sparse_avx2 with 16-float registers: 128 columns at a time, then 32. */
__attribute__((target("avx512f"))) static void sparse_avx512(const uint32_t *idx, const float *val, size_t nnz,
                                                             const float *Bt, size_t ldb, size_t n, float *out) {
  for (size_t s0 = 0; s0 < n;) {
    if (n - s0 > 96) {
      sparse_tile_avx512(idx, val, nnz, Bt, ldb, s0, 8, n, out);
      s0 += 128;
    } else {
      sparse_tile_avx512(idx, val, nnz, Bt, ldb, s0, 2, n, out);
      s0 += 32;
    }
  }
}
#endif

int pp_dots_best_path(void) {
  return pp_cpu_avx512f() ? PP_DOTS_AVX512 : pp_cpu_avx2() ? PP_DOTS_AVX2 : PP_DOTS_PORTABLE;
}

void pp_dots(const float *A, size_t m, size_t lda, size_t d, const float *Bt, size_t ldb, size_t n, float *C,
             size_t ldc, int path) {
  if (m == 0 || n == 0) return;
#if PP_HAVE_AVX512
  if (path == PP_DOTS_AVX512) {
    dots_avx512(A, m, lda, d, Bt, ldb, n, C, ldc);
    return;
  }
  if (path == PP_DOTS_AVX2) {
    dots_avx2(A, m, lda, d, Bt, ldb, n, C, ldc);
    return;
  }
#else
  (void)path;
#endif
  dots_portable(A, m, lda, d, Bt, ldb, n, C, ldc);
}

void pp_dots_sparse(const uint32_t *idx, const float *val, size_t nnz, const float *Bt, size_t ldb, size_t n,
                    float *out, int path) {
  if (n == 0) return;
#if PP_HAVE_AVX512
  if (path == PP_DOTS_AVX512) {
    sparse_avx512(idx, val, nnz, Bt, ldb, n, out);
    return;
  }
  if (path == PP_DOTS_AVX2) {
    sparse_avx2(idx, val, nnz, Bt, ldb, n, out);
    return;
  }
#else
  (void)path;
#endif
  sparse_portable(idx, val, nnz, Bt, ldb, n, out);
}
