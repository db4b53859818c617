/* Kernel blocks for the C-SVC: dot products of our own in one fixed order (models/dots.c), the
 * same for training's Gram matrix and kernel rows as for the decision function of a fitted model,
 * turned into RBF or linear kernel values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "models/dots.h"
#include "models/svc_impl.h"

/* Rows of a prediction block (scratch is PRED_BLOCK x (n_sv + 1) floats and a row's nonzeros). */
#define PRED_BLOCK 64
/* Rows and columns of a tile of the Gram matrix (a multiple of PP_DOTS_COLS). */
#define GRAM_TILE 128
/* Columns of a kernel row per thread. */
#define ROW_CHUNK 4096

void pp_svc_sqnorms(const float *X, size_t n, size_t d, float *sq) {
  for (size_t i = 0; i < n; i++) {
    const float *x = X + i * d;
    double s = 0;
    for (size_t k = 0; k < d; k++) s += (double)x[k] * (double)x[k];
    sq[i] = (float)s;
  }
}

float *pp_svc_transpose(const float *X, size_t n, size_t d, size_t *ldx) {
  *ldx = pp_dots_stride(n);
  float *Xt = pp_malloc_array(d ? d : 1, *ldx * sizeof(float));
  if (Xt) pp_dots_transpose(X, n, d, d, Xt, *ldx);
  return Xt;
}

/* A row with at most this share of nonzeros takes pp_dots_sparse: its cost is a load, a multiply and
 * an add per nonzero and 16 columns, against pp_dots's multiply and add per column and half a load
 * (four rows share a load). */
static int row_is_sparse(size_t nnz, size_t d) { return nnz * 4 <= d * 3; }

void pp_svc_row_dots(const float *Xt, size_t ldx, size_t n, size_t d, const float *x, float *out, int nthread,
                     uint32_t *idx, float *val) {
  const int path = pp_dots_best_path();
  const size_t nnz = pp_dots_nonzeros(x, d, idx, val);
  const int sparse = row_is_sparse(nnz, d);
  const size_t nchunk = (n + ROW_CHUNK - 1) / ROW_CHUNK;
  int nt = nthread > 1 && (size_t)nthread <= nchunk ? nthread : nthread > 1 ? (int)nchunk : 1;
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (size_t c = 0; c < nchunk; c++) {
    size_t c0 = c * ROW_CHUNK, nc = n - c0 < ROW_CHUNK ? n - c0 : ROW_CHUNK;
    if (sparse)
      pp_dots_sparse(idx, val, nnz, Xt + c0, ldx, nc, out + c0, path);
    else
      pp_dots(x, 1, d, d, Xt + c0, ldx, nc, out + c0, nc, path);
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

#if PP_HAVE_AVX512
#include <immintrin.h>

/* The first `left` lanes of a 16-lane mask (all 16 from 16 on): the values left at a row's end. */
static inline __mmask16 tail_mask(size_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u); }

#define SVC_HAVE_AVX512 1

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
  size_t ldx;
  float *K = pp_malloc(n * n * sizeof(float)), *Xt = K ? pp_svc_transpose(X, n, d, &ldx) : NULL;
  if (!Xt) {
    free(K);
    return PROP_ERR_NOMEM;
  }
  const size_t T = GRAM_TILE; /* a multiple of PP_DOTS_COLS: every tile's columns start one */
  const int path = pp_dots_best_path();
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
    pp_dots(X + i0 * d, mi, d, d, Xt + j0, ldx, nj, C, n, path);
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
  free(Xt);
  *Kout = K;
  return 0;
}

/* ---- decision function ---------------------------------------------------------------------- */

size_t pp_svc_scratch(const pp_svc_model *m, size_t n) {
  if (!m || m->kernel == PP_SVC_LINEAR || m->nsv == 0 || n == 0) return 0;
  size_t nb = n < PRED_BLOCK ? n : PRED_BLOCK;
  return nb * (m->nsv + 1) * sizeof(float) + 2 * (m->d ? m->d : 1) * sizeof(float);
}

/* RBF decision values of rows [0, nb) of Xb into dec; work holds nb x (nsv + 1) floats: the dot
 * products (pp_dots on the transposed support vectors), then per row the kernel values (as in
 * training, rbf_value()) summed with the coefficients without being stored.
 *
 * The dot products are pp_dots's: one fixed order for every pair, whatever the tile, the block or
 * the thread, so a row's kernel values never depend on the rows scored with it.  sgemm's, used
 * before, did: OpenBLAS chooses its kernels by the shape of the product, and fuzz/fuzz_train found
 * a model (one-hot inputs, 63 columns) whose rows got other bits in blocks of 1, 7 or 33 rows than
 * in blocks of 64, so batch scoring depended on the block size and thread count and disagreed with
 * the single-row scorer. */
static void rbf_block(const pp_svc_model *m, const float *Xb, size_t nb, float *work, double *dec, int path) {
  const size_t ns = m->nsv, d = m->d;
  const float ng = -(float)m->gamma;
  float *D = work, *sx = work + nb * ns, *val = sx + nb;
  uint32_t *idx = (uint32_t *)(val + (d ? d : 1));
  /* sparse rows one at a time, runs of dense rows [r0, r) through pp_dots: the same bits either way */
  size_t r0 = 0;
  for (size_t r = 0; r < nb; r++) {
    size_t nnz = pp_dots_nonzeros(Xb + r * d, d, idx, val);
    if (!row_is_sparse(nnz, d)) continue;
    if (r0 < r) pp_dots(Xb + r0 * d, r - r0, d, d, m->svT, m->nsv_pad, ns, D + r0 * ns, ns, path);
    pp_dots_sparse(idx, val, nnz, m->svT, m->nsv_pad, ns, D + r * ns, path);
    r0 = r + 1;
  }
  if (r0 < nb) pp_dots(Xb + r0 * d, nb - r0, d, d, m->svT, m->nsv_pad, ns, D + r0 * ns, ns, path);
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
    float *D = pp_alloc_raw(pp_svc_scratch(m, PRED_BLOCK));
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
