/* Kernel blocks for the C-SVC: dot products (OpenBLAS sgemm for training's Gram matrix; our own,
 * in a fixed order, for the decision function of a fitted model), turned into RBF or linear kernel
 * values. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "models/svc_impl.h"

/* OpenBLAS (0.3.x, pthread build) runs a gemm on one thread when m*n*k <= 65536 * 4; above that
 * it wakes its own pool.  Tiles below this size keep the caller in control of the threads. */
#define SVC_BLAS_SINGLE_MNK 262144.0
#define SVC_BLAS_SINGLE_MV 9200.0
/* Rows of a prediction block (scratch is PRED_BLOCK x n_sv floats). */
#define PRED_BLOCK 64

void pp_svc_sqnorms(const float *X, size_t n, size_t d, float *sq) {
  for (size_t i = 0; i < n; i++) {
    const float *x = X + i * d;
    double s = 0;
    for (size_t k = 0; k < d; k++) s += (double)x[k] * (double)x[k];
    sq[i] = (float)s;
  }
}

static void gemm_nt(const float *A, size_t m, const float *B, size_t n, size_t d, float *C, size_t ldc) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)n, (blasint)d, 1.0f, A, (blasint)d, B,
              (blasint)d, 0.0f, C, (blasint)ldc);
}

void pp_svc_gemm_nt(const float *A, size_t m, const float *B, size_t n, size_t d, float *C, size_t ldc,
                    int single_thread) {
  if (m == 0 || n == 0) return;
  if (d == 0) {
    for (size_t i = 0; i < m; i++) memset(C + i * ldc, 0, n * sizeof(float));
    return;
  }
  if (!single_thread || (double)m * (double)n * (double)d <= SVC_BLAS_SINGLE_MNK) {
    gemm_nt(A, m, B, n, d, C, ldc);
    return;
  }
  size_t mt = m < 64 ? m : 64;
  size_t nt = (size_t)(SVC_BLAS_SINGLE_MNK / ((double)mt * (double)d));
  if (nt < 16) nt = 16;
  for (size_t i0 = 0; i0 < m; i0 += mt) {
    size_t mi = m - i0 < mt ? m - i0 : mt;
    for (size_t j0 = 0; j0 < n; j0 += nt) {
      size_t nj = n - j0 < nt ? n - j0 : nt;
      gemm_nt(A + i0 * d, mi, B + j0 * d, nj, d, C + i0 * ldc + j0, ldc);
    }
  }
}

void pp_svc_gemv(const float *X, size_t n, size_t d, const float *x, float *out, int single_thread) {
  if (n == 0) return;
  if (d == 0) {
    memset(out, 0, n * sizeof(float));
    return;
  }
  /* OpenBLAS threads a gemv when m * n >= 2304 * 4 */
  size_t chunk = n;
  if (single_thread) {
    chunk = (size_t)(SVC_BLAS_SINGLE_MV / (double)d);
    if (chunk < 64) chunk = 64;
  }
  for (size_t i0 = 0; i0 < n; i0 += chunk) {
    size_t m = n - i0 < chunk ? n - i0 : chunk;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (blasint)m, (blasint)d, 1.0f, X + i0 * d, (blasint)d, x, 1, 0.0f,
                out + i0, 1);
  }
}

/* exp(x) for x <= 0 in single precision.  x = k ln2 + r with k = round(x / ln2) and a two-part ln2
 * (Cody-Waite), |r| <= ln2/2; exp(r) by its Taylor series to r^7 (truncation below 5e-9 relative),
 * times 2^k built in the exponent bits.  x is first clamped to [-87, 0] (results under 1.6e-38 are
 * exp(-87): a kernel value that small is zero for every purpose here).  Within 2 ulp of the
 * correctly rounded value (checked by tests/test_svc.c).
 *
 * The same sequence of single-precision operations is written twice: here, element by element, and
 * in exp_neg16() below, 16 lanes at a time with AVX-512.  The clamps use the forms a > b ? a : b and
 * a < b ? a : b, which are exactly what vmaxps / vminps compute (NaN and signed zeros included), and
 * the compiler is not allowed to contract a*b+c into an FMA in C11 mode, so both give the same bits
 * (tests/test_svc.c compares them). */
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693145751953125f
#define EXP_LN2_LO 1.42860682030941723e-6f
#define EXP_SHIFTER 12582912.0f /* 1.5 * 2^23: adding it rounds to an integer */

float pp_svc_expf_neg(float x) {
  x = x > -87.0f ? x : -87.0f;
  x = x < 0.0f ? x : 0.0f;
  float k = (x * EXP_LOG2E + EXP_SHIFTER) - EXP_SHIFTER;
  float r = (x - k * EXP_LN2_HI) - k * EXP_LN2_LO;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = ((int32_t)k + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* One RBF kernel value from a dot product c and the two squared norms: exp(ng * max(0, a + b - 2c)). */
static inline float rbf_value(float a, float b, float c, float ng) {
  float d2 = a + b - 2.0f * c;
  d2 = d2 > 0.0f ? d2 : 0.0f;
  return pp_svc_expf_neg(ng * d2);
}

/* Decision sums use 16 double partial sums, lane = column mod 16 (the columns past the last one, up
 * to a multiple of 16, add coefficient 0 x kernel 0), then the 16 lanes are added in order.  That is
 * the order the AVX-512 loop has naturally; the portable loop follows it so that both paths give
 * the same bits. */
#define DEC_LANES 16

static double lanes_sum(const double *lane) {
  double s = 0;
  for (int l = 0; l < DEC_LANES; l++) s += lane[l];
  return s;
}

static void transform_rows_portable(float *C, size_t m, size_t n, size_t ldc, const float *sqa, const float *sqb,
                                    float ng) {
  for (size_t i = 0; i < m; i++) {
    float *c = C + i * ldc;
    const float a = sqa[i];
    for (size_t j = 0; j < n; j++) c[j] = rbf_value(a, sqb[j], c[j], ng);
  }
}

static double dec_row_portable(const float *c, size_t n, float a, const float *sqb, const double *coef, float ng) {
  double lane[DEC_LANES] = {0};
  size_t j = 0;
  for (; j < n; j++) lane[j % DEC_LANES] += coef[j] * (double)rbf_value(a, sqb[j], c[j], ng);
  for (; j % DEC_LANES; j++) lane[j % DEC_LANES] += 0.0 * 0.0;
  return lanes_sum(lane);
}

/* ---- dot products for prediction -------------------------------------------------------------
 * D[r * nsv + s] = the sum over k = 0, 1, ..., d - 1, in that order, of x_r[k] * sv_s[k] in single
 * precision, each product rounded before it is added (no fused multiply-add).  Both paths below
 * keep that order for every pair, whatever the tile, the block or the thread, so a row's kernel
 * values never depend on the rows scored with it.  sgemm's did: OpenBLAS chooses its kernels by
 * the shape of the product, and fuzz/fuzz_train found a model (one-hot inputs, 63 columns) whose
 * rows got other bits in blocks of 1, 7 or 33 rows than in blocks of 64, so batch scoring
 * depended on the block size and thread count and disagreed with the single-row scorer. */
static void dots_portable(const pp_svc_model *m, const float *Xb, size_t nb, float *D) {
  const size_t ns = m->nsv, d = m->d, nsp = m->nsv_pad;
  for (size_t r = 0; r < nb; r++) {
    const float *x = Xb + r * d;
    for (size_t s0 = 0; s0 < ns; s0 += SVC_DOT_COLS) {
      float acc[SVC_DOT_COLS] = {0};
      for (size_t k = 0; k < d; k++) {
        const float *t = m->svT + k * nsp + s0;
        const float xk = x[k];
        for (size_t l = 0; l < SVC_DOT_COLS; l++) acc[l] = acc[l] + xk * t[l];
      }
      size_t w = ns - s0 < SVC_DOT_COLS ? ns - s0 : SVC_DOT_COLS;
      memcpy(D + r * ns + s0, acc, w * sizeof(float));
    }
  }
}

#if PP_HAVE_AVX512
#include <immintrin.h>

/* The first `left` lanes of a 16-lane mask (all 16 from 16 on): the values left at a row's end. */
static inline __mmask16 tail_mask(size_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u); }

/* The same sums with AVX2 (CPUs without AVX-512): four rows by 16 support vectors in registers,
 * a row at a time for the last rows of a block. */
__attribute__((target("avx2"))) static void dots_avx2(const pp_svc_model *m, const float *Xb, size_t nb, float *D) {
  const size_t ns = m->nsv, d = m->d, nsp = m->nsv_pad;
  float tmp[16];
  size_t r = 0;
  for (; r + 4 <= nb; r += 4) {
    const float *x = Xb + r * d;
    for (size_t s0 = 0; s0 < ns; s0 += 16) {
      __m256 a[4][2];
      for (int i = 0; i < 4; i++) a[i][0] = a[i][1] = _mm256_setzero_ps();
      for (size_t k = 0; k < d; k++) {
        const float *t = m->svT + k * nsp + s0;
        const __m256 t0 = _mm256_loadu_ps(t), t1 = _mm256_loadu_ps(t + 8);
        for (int i = 0; i < 4; i++) {
          const __m256 b = _mm256_set1_ps(x[(size_t)i * d + k]);
          a[i][0] = _mm256_add_ps(a[i][0], _mm256_mul_ps(b, t0));
          a[i][1] = _mm256_add_ps(a[i][1], _mm256_mul_ps(b, t1));
        }
      }
      size_t w = ns - s0 < 16 ? ns - s0 : 16;
      for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(tmp, a[i][0]);
        _mm256_storeu_ps(tmp + 8, a[i][1]);
        memcpy(D + (r + (size_t)i) * ns + s0, tmp, w * sizeof(float));
      }
    }
  }
  for (; r < nb; r++) {
    const float *x = Xb + r * d;
    for (size_t s0 = 0; s0 < ns; s0 += 16) {
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      for (size_t k = 0; k < d; k++) {
        const float *t = m->svT + k * nsp + s0;
        const __m256 b = _mm256_set1_ps(x[k]);
        a0 = _mm256_add_ps(a0, _mm256_mul_ps(b, _mm256_loadu_ps(t)));
        a1 = _mm256_add_ps(a1, _mm256_mul_ps(b, _mm256_loadu_ps(t + 8)));
      }
      size_t w = ns - s0 < 16 ? ns - s0 : 16;
      _mm256_storeu_ps(tmp, a0);
      _mm256_storeu_ps(tmp + 8, a1);
      memcpy(D + r * ns + s0, tmp, w * sizeof(float));
    }
  }
}
#define SVC_HAVE_AVX512 1

/* The same sums, four rows by 32 support vectors in registers (a row at a time for the last
 * rows of a block): per k, two loads of the transposed support vectors, a broadcast per row, and
 * a multiply and an add per register. */
__attribute__((target("avx512f"))) static void dots_avx512(const pp_svc_model *m, const float *Xb, size_t nb,
                                                           float *D) {
  const size_t ns = m->nsv, d = m->d, nsp = m->nsv_pad;
  size_t r = 0;
  for (; r + 4 <= nb; r += 4) {
    const float *x = Xb + r * d;
    for (size_t s0 = 0; s0 < ns; s0 += SVC_DOT_COLS) {
      __m512 a[4][2];
      for (int i = 0; i < 4; i++) a[i][0] = a[i][1] = _mm512_setzero_ps();
      for (size_t k = 0; k < d; k++) {
        const float *t = m->svT + k * nsp + s0;
        const __m512 t0 = _mm512_loadu_ps(t), t1 = _mm512_loadu_ps(t + 16);
        for (int i = 0; i < 4; i++) {
          const __m512 b = _mm512_set1_ps(x[(size_t)i * d + k]);
          a[i][0] = _mm512_add_ps(a[i][0], _mm512_mul_ps(b, t0));
          a[i][1] = _mm512_add_ps(a[i][1], _mm512_mul_ps(b, t1));
        }
      }
      size_t w = ns - s0; /* support vectors left; the tile stores at most 32 */
      __mmask16 k0 = tail_mask(w), k1 = w > 16 ? tail_mask(w - 16) : 0;
      for (int i = 0; i < 4; i++) {
        float *o = D + (r + (size_t)i) * ns + s0;
        _mm512_mask_storeu_ps(o, k0, a[i][0]);
        _mm512_mask_storeu_ps(o + 16, k1, a[i][1]);
      }
    }
  }
  for (; r < nb; r++) {
    const float *x = Xb + r * d;
    for (size_t s0 = 0; s0 < ns; s0 += SVC_DOT_COLS) {
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
      for (size_t k = 0; k < d; k++) {
        const float *t = m->svT + k * nsp + s0;
        const __m512 b = _mm512_set1_ps(x[k]);
        a0 = _mm512_add_ps(a0, _mm512_mul_ps(b, _mm512_loadu_ps(t)));
        a1 = _mm512_add_ps(a1, _mm512_mul_ps(b, _mm512_loadu_ps(t + 16)));
      }
      size_t w = ns - s0; /* support vectors left; the tile stores at most 32 */
      __mmask16 k0 = tail_mask(w), k1 = w > 16 ? tail_mask(w - 16) : 0;
      _mm512_mask_storeu_ps(D + r * ns + s0, k0, a0);
      _mm512_mask_storeu_ps(D + r * ns + s0 + 16, k1, a1);
    }
  }
}

__attribute__((target("avx512f"))) static inline __m512 exp_neg16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  x = _mm512_min_ps(x, _mm512_setzero_ps());
  const __m512 sh = _mm512_set1_ps(EXP_SHIFTER);
  __m512 k = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(EXP_LOG2E)), sh), sh);
  __m512 r = _mm512_sub_ps(_mm512_sub_ps(x, _mm512_mul_ps(k, _mm512_set1_ps(EXP_LN2_HI))),
                           _mm512_mul_ps(k, _mm512_set1_ps(EXP_LN2_LO)));
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(0.5f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
  p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.0f));
  __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(k), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

/* rbf_value() of 16 columns (lanes past the mask read nothing and are left as computed from 0). */
__attribute__((target("avx512f"))) static inline __m512 rbf16(__mmask16 mk, __m512 a, const float *sqb, const float *c,
                                                              __m512 ng) {
  __m512 b = _mm512_maskz_loadu_ps(mk, sqb), cv = _mm512_maskz_loadu_ps(mk, c);
  __m512 d2 = _mm512_sub_ps(_mm512_add_ps(a, b), _mm512_mul_ps(_mm512_set1_ps(2.0f), cv));
  d2 = _mm512_max_ps(d2, _mm512_setzero_ps());
  return exp_neg16(_mm512_mul_ps(ng, d2));
}


__attribute__((target("avx512f"))) static void transform_rows_avx512(float *C, size_t m, size_t n, size_t ldc,
                                                                     const float *sqa, const float *sqb, float ng) {
  const __m512 ngv = _mm512_set1_ps(ng);
  for (size_t i = 0; i < m; i++) {
    float *c = C + i * ldc;
    const __m512 a = _mm512_set1_ps(sqa[i]);
    for (size_t j = 0; j < n; j += 16) {
      __mmask16 mk = tail_mask(n - j);
      _mm512_mask_storeu_ps(c + j, mk, rbf16(mk, a, sqb + j, c + j, ngv));
    }
  }
}

__attribute__((target("avx512f"))) static double dec_row_avx512(const float *c, size_t n, float a, const float *sqb,
                                                                const double *coef, float ng) {
  const __m512 av = _mm512_set1_ps(a), ngv = _mm512_set1_ps(ng);
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (size_t j = 0; j < n; j += 16) {
    __mmask16 mk = tail_mask(n - j);
    __m512 k = _mm512_maskz_mov_ps(mk, rbf16(mk, av, sqb + j, c + j, ngv));
    __m512d klo = _mm512_cvtps_pd(_mm512_castps512_ps256(k));
    __m512d khi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(k), 1)));
    __m512d clo = _mm512_maskz_loadu_pd((__mmask8)(mk & 0xFF), coef + j);
    __m512d chi = _mm512_maskz_loadu_pd((__mmask8)(mk >> 8), coef + j + 8);
    lo = _mm512_add_pd(lo, _mm512_mul_pd(clo, klo));
    hi = _mm512_add_pd(hi, _mm512_mul_pd(chi, khi));
  }
  double lane[DEC_LANES];
  _mm512_storeu_pd(lane, lo);
  _mm512_storeu_pd(lane + 8, hi);
  return lanes_sum(lane);
}
#else
#define SVC_HAVE_AVX512 0
#endif

int pp_svc_simd_active(void) { return pp_cpu_avx512f(); }

void pp_svc_kernel_transform_path(float *C, size_t m, size_t n, size_t ldc, const float *sqa, const float *sqb,
                                  int kernel, float gamma, int simd) {
  if (kernel != PP_SVC_RBF) return; /* linear: the dot product is the kernel */
#if SVC_HAVE_AVX512
  if (simd) {
    transform_rows_avx512(C, m, n, ldc, sqa, sqb, -gamma);
    return;
  }
#else
  (void)simd;
#endif
  transform_rows_portable(C, m, n, ldc, sqa, sqb, -gamma);
}

void pp_svc_kernel_transform(float *C, size_t m, size_t n, size_t ldc, const float *sqa, const float *sqb,
                             int kernel, float gamma) {
  pp_svc_kernel_transform_path(C, m, n, ldc, sqa, sqb, kernel, gamma, kernel == PP_SVC_RBF && pp_svc_simd_active());
}

int pp_svc_kernel_full(const float *X, const float *sq, size_t n, size_t d, int kernel, float gamma, int nthread,
                       float **Kout) {
  *Kout = NULL;
  if (n == 0) return pp_err(PROP_ERR_ARG, "svc: empty kernel matrix");
  if (n > SIZE_MAX / sizeof(float) / n) return pp_err(PROP_ERR_NOMEM, "svc: kernel matrix of %zu rows is too large", n);
  float *K = pp_malloc(n * n * sizeof(float));
  if (!K) return PROP_ERR_NOMEM;
  /* square tiles T x T with T*T*d under the single-thread threshold of OpenBLAS */
  size_t T = (size_t)sqrt(SVC_BLAS_SINGLE_MNK / (double)(d ? d : 1));
  T = T / 8 * 8;
  if (T < 32) T = 32;
  if (T > 512) T = 512;
  size_t nb = (n + T - 1) / T, ntile = nb * (nb + 1) / 2;
  int nt = nthread > 0 ? nthread : 1;
  (void)nt;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (nt > 1 && ntile > 1)
  for (size_t t = 0; t < ntile; t++) {
    /* tile t -> (bi, bj) with bi <= bj, row-major over the upper triangle */
    size_t bi = 0, left = t;
    while (left >= nb - bi) {
      left -= nb - bi;
      bi++;
    }
    size_t bj = bi + left;
    size_t i0 = bi * T, j0 = bj * T;
    size_t mi = n - i0 < T ? n - i0 : T, nj = n - j0 < T ? n - j0 : T;
    float *C = K + i0 * n + j0;
    gemm_nt(X + i0 * d, mi, X + j0 * d, nj, d, C, n);
    pp_svc_kernel_transform(C, mi, nj, n, sq + i0, sq + j0, kernel, gamma);
    if (bi == bj) {
      for (size_t a = 0; a < mi; a++)
        for (size_t b = 0; b < a; b++) C[a * n + b] = C[b * n + a];
    } else {
      float *Ct = K + j0 * n + i0;
      for (size_t a = 0; a < mi; a++)
        for (size_t b = 0; b < nj; b++) Ct[b * n + a] = C[a * n + b];
    }
  }
  *Kout = K;
  return 0;
}

/* ---- decision function ---------------------------------------------------------------------- */

size_t pp_svc_scratch(const pp_svc_model *m, size_t n) {
  if (!m || m->kernel == PP_SVC_LINEAR || m->nsv == 0 || n == 0) return 0;
  size_t nb = n < PRED_BLOCK ? n : PRED_BLOCK;
  return nb * (m->nsv + 1) * sizeof(float);
}

/* RBF decision values of rows [0, nb) of Xb into dec; work holds nb x (nsv + 1) floats: the dot
 * products (dots_*), then per row the kernel values (as in training, rbf_value()) summed with
 * the coefficients without being stored. */
static void rbf_block(const pp_svc_model *m, const float *Xb, size_t nb, float *work, double *dec, int path) {
  const size_t ns = m->nsv, d = m->d;
  const float ng = -(float)m->gamma;
  float *D = work, *sx = work + nb * ns;
#if SVC_HAVE_AVX512
  if (path == PP_SVC_PATH_AVX512) dots_avx512(m, Xb, nb, D);
  else if (path == PP_SVC_PATH_AVX2) dots_avx2(m, Xb, nb, D);
  else
#endif
    dots_portable(m, Xb, nb, D);
  pp_svc_sqnorms(Xb, nb, d, sx);
  for (size_t r = 0; r < nb; r++) {
    double s;
#if SVC_HAVE_AVX512
    if (path == PP_SVC_PATH_AVX512)
      s = dec_row_avx512(D + r * ns, ns, sx[r], m->sv_sq, m->coef, ng);
    else
#endif
      s = dec_row_portable(D + r * ns, ns, sx[r], m->sv_sq, m->coef, ng);
    dec[r] = s - m->rho;
  }
}

int pp_svc_decision_path(const pp_svc_model *m, const float *X, size_t n, double *dec, void *scratch, int nthread,
                         int path) {
  if (n == 0) return 0;
  const size_t d = m->d;
  if (m->kernel == PP_SVC_LINEAR || m->nsv == 0) {
    for (size_t i = 0; i < n; i++) {
      double s = 0;
      if (m->w)
        for (size_t k = 0; k < d; k++) s += m->w[k] * (double)X[i * d + k];
      dec[i] = s - m->rho;
    }
    return 0;
  }
  size_t nblk = (n + PRED_BLOCK - 1) / PRED_BLOCK;
  int nt = nthread > 0 ? nthread : 1;
  if ((size_t)nt > nblk) nt = (int)nblk;
  if (nt <= 1) {
    float *D = scratch;
    if (!D && !(D = pp_malloc(pp_svc_scratch(m, n)))) return PROP_ERR_NOMEM;
    for (size_t b = 0; b < nblk; b++) {
      size_t i0 = b * PRED_BLOCK, nb = n - i0 < PRED_BLOCK ? n - i0 : PRED_BLOCK;
      rbf_block(m, X + i0 * d, nb, D, dec + i0, path);
    }
    if (D != scratch) free(D);
    return 0;
  }
  int nomem = 0;
#pragma omp parallel num_threads(nt)
  {
    float *D = pp_alloc_raw((size_t)PRED_BLOCK * (m->nsv + 1) * sizeof(float));
    if (!D) {
#pragma omp atomic write
      nomem = 1;
    }
#pragma omp for schedule(dynamic, 4)
    for (size_t b = 0; b < nblk; b++) {
      if (!D) continue;
      size_t i0 = b * PRED_BLOCK, nb = n - i0 < PRED_BLOCK ? n - i0 : PRED_BLOCK;
      rbf_block(m, X + i0 * d, nb, D, dec + i0, path);
    }
    free(D);
  }
  if (nomem) return pp_err(PROP_ERR_NOMEM, "svc: out of memory for prediction scratch");
  return 0;
}

int pp_svc_decision(const pp_svc_model *m, const float *X, size_t n, double *dec, void *scratch, int nthread) {
  int path = pp_svc_simd_active() ? PP_SVC_PATH_AVX512 : pp_cpu_avx2() ? PP_SVC_PATH_AVX2 : PP_SVC_PATH_PORTABLE;
  return pp_svc_decision_path(m, X, n, dec, scratch, nthread, path);
}
