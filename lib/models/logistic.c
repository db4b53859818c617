/* The "logistic" member: L2-penalised logistic regression fitted by Newton's method.
 *
 * Objective (as scikit-learn's LogisticRegression with penalty "l2"):
 *     minimise  C * sum_i s_i * logloss(y_i, b + beta.x_i)  +  0.5 * |beta|^2
 * over the coefficients beta (d of them) and the intercept b, which is not penalised.  s_i is
 * the sample weight times the class weight (balanced: n / (2 n_c), when class_weight is
 * "balanced" or follows imbalance = weights).
 *
 * fit: Newton's method (iteratively reweighted least squares).  Each iteration makes one pass
 * over the rows for the objective, the gradient g and the Hessian
 *     H = C * sum_i s_i p_i (1 - p_i) [x_i, 1][x_i, 1]^T + diag(1, ..., 1, 0),
 * solves H step = -g by Cholesky (with a growing diagonal shift if H is numerically not
 * positive definite) and backtracks (Armijo) along the step.  It starts from beta = 0 and the
 * intercept at the weighted log-odds of the labels.  Converged when the largest entry of the
 * gradient divided by C * sum_i s_i (the gradient of the mean weighted log-loss) is <= tol.
 * Reaching max_iter or a stalled line search keeps the last iterate with a warning (info()
 * reports converged = false); non-finite values fail with PROP_ERR_TRAIN.  The passes run on
 * nthread threads over a fixed split of the rows, and the partial sums are added in a fixed
 * order: the fit is the same for any thread count.
 *
 * predict: p = 1 / (1 + exp(-(b + beta.x))), the dot product in double with eight partial sums
 * in a fixed order, the sigmoid with a vectorisable exp that never overflows.  The library is
 * built for baseline x86-64; on CPUs with AVX-512 a second copy of the same arithmetic (the eight
 * partial sums as the lanes of one register, the sigmoid loops at eight doubles) runs instead,
 * with the same result bit for bit (tests/test_logistic.c holds the two paths to it).  importance: |beta_j| per encoded column.
 *
 * contrib: exact linear contributions of the score b + beta.x, phi_j = beta_j (x_j - mean_j), base
 * b + sum_j beta_j mean_j, where mean_j is column j's mean over the training rows weighed as the fit
 * weighed them (sample weight x class weight, so with balanced class weights each class counts
 * half, as in the tree members' covers).  They are the Shapley values of the score for a reference
 * population with those means (any population: the score is linear).  The means are kept in the
 * payload since version 2; a version-1 payload loads and predicts as before but has none, and
 * contrib then fails with PROP_ERR_STATE. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/jsonx.h"
#include "models/logistic_internal.h"
#include "models/member.h"

#define LR_FORMAT_VERSION 2u /* 2: the weighted column means (contributions) */
/* Fixed split of the rows for the passes (independent of the thread count). */
#define LR_MAX_CHUNKS 16
#define LR_MIN_CHUNK_ROWS 2048
/* Budget of the per-chunk Hessians. */
#define LR_HESS_BUDGET ((size_t)64 << 20)
/* Batch predict: blocks of rows (scores, then the sigmoid), on several threads from this much
 * work, rows x (columns + 8) (the 8: the sigmoid's share), about 2,000 rows of 22 columns or 500
 * of 124.  Below it waking the second thread costs more than it saves (measured on the demo and
 * lending_club shapes: 2,000 x 22 at 2 threads 339M rows/s against 186M on one; 2,958 x 124 ~90M
 * against ~55M; 1,000 x 22 no gain). */
#define LR_PRED_BLOCK 1024
#define LR_PRED_PAR_WORK 65536

enum { CW_FOLLOW = -1, CW_BALANCED = 0, CW_NONE = 1 };

static const char *const k_keys[] = {"C", "class_weight", "max_iter", "tol", NULL};
static const char *const k_cw[] = {"balanced", "none", NULL};

typedef struct lr_params {
  double C;
  int class_weight; /* CW_* */
  long max_iter;
  double tol;
} lr_params;

typedef struct lr_model {
  size_t d;
  double *beta;     /* d coefficients */
  double b;         /* intercept */
  double C;
  int class_weight; /* resolved: CW_BALANCED or CW_NONE */
  uint32_t iter;    /* Newton steps taken */
  int converged;
  double grad;      /* final max |g| / (C sum s) */
  double *mean;     /* d weighted training means of the columns (contributions), or NULL (a version-1 payload) */
} lr_model;

/* ---- parameters ------------------------------------------------------------------------------ */

static int lr_parse_params(const json_t *obj, const char *path, void **out) {
  *out = NULL;
  if (!path) path = "";
  const char *dot = *path ? "." : "";
  PP_TRY(pp_json_check_keys(obj, path, k_keys));
  lr_params p;
  memset(&p, 0, sizeof p);
  PP_TRY(pp_json_double(obj, path, "C", 0.0, 1e12, 1.0, &p.C));
  if (!(p.C > 0)) return pp_err(PROP_ERR_RECIPE, "%s%sC: must be > 0, got %s", path, dot, PP_G(p.C));
  PP_TRY(pp_json_enum(obj, path, "class_weight", k_cw, CW_FOLLOW, &p.class_weight));
  PP_TRY(pp_json_int(obj, path, "max_iter", 1, 100000, 100, &p.max_iter));
  PP_TRY(pp_json_double(obj, path, "tol", 0.0, 1.0, 1e-6, &p.tol));
  if (!(p.tol > 0)) return pp_err(PROP_ERR_RECIPE, "%s%stol: must be > 0, got %s", path, dot, PP_G(p.tol));
  lr_params *q = pp_malloc(sizeof *q);
  if (!q) return PROP_ERR_NOMEM;
  *q = p;
  *out = q;
  return 0;
}

static json_t *lr_params_to_json(const void *params) {
  const lr_params *p = params;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "C", json_real(p->C));
  json_object_set_new(o, "class_weight",
                      p->class_weight == CW_FOLLOW ? json_null() : json_string(k_cw[p->class_weight]));
  json_object_set_new(o, "max_iter", json_integer(p->max_iter));
  json_object_set_new(o, "tol", json_real(p->tol));
  return o;
}

static void lr_free_params(void *params) { free(params); }

static void lr_model_free(lr_model *m) {
  if (!m) return;
  free(m->beta);
  free(m->mean);
  free(m);
}

/* ---- numerics -------------------------------------------------------------------------------- */

/* b + beta.x with eight partial sums combined in a fixed order: the result depends only on the
 * row (any path, any vector width). */
static inline double lr_dot(const double *beta, double b, const float *x, size_t d) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t j = 0;
  for (; j + 8 <= d; j += 8)
    for (size_t l = 0; l < 8; l++) s[l] += beta[j + l] * (double)x[j + l];
  for (size_t l = 0; j < d; j++, l++) s[l] += beta[j] * (double)x[j];
  return b + (((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])));
}

/* P(y = 1) of a linear score, without overflow. */
static inline double lr_sigmoid(double z) {
  if (z >= 0) return 1.0 / (1.0 + exp(-z));
  double e = exp(z);
  return e / (1.0 + e);
}

/* exp(x) for -708 <= x <= 0 in double, written so that the loop calling it vectorises (libm's
 * exp is a call per element).  x = k ln2 + r with k = round(x / ln2) and a two-part ln2
 * (Cody-Waite), |r| <= ln2 / 2; exp(r) by its Taylor series to r^13 (truncation below 5e-18
 * relative), times 2^k built in the exponent bits.  Within a few ulp of exp(). */
static inline double lr_exp_neg(double x) {
  const double log2e = 1.4426950408889634074, ln2_hi = 6.93147180369123816490e-01,
               ln2_lo = 1.90821492927058770002e-10;
  const double shifter = 6755399441055744.0; /* 1.5 * 2^52: adding it rounds to an integer */
  double kd = x * log2e + shifter;
  double k = kd - shifter;
  double r = (x - k * ln2_hi) - k * ln2_lo;
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  int64_t bits;
  memcpy(&bits, &kd, sizeof bits);
  bits = (bits - (int64_t)0x4338000000000000LL + 1023) * ((int64_t)1 << 52); /* (k + 1023) << 52, k >= -1022 */
  double scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

/* The scores of n rows: out[i] = lr_dot(row i). */
static void scores_rows(const lr_model *m, const float *X, size_t n, double *out) {
  const size_t d = m->d;
  for (size_t i = 0; i < n; i++) out[i] = lr_dot(m->beta, m->b, X + i * d, d);
}

#if PP_HAVE_AVX512
#define LR_HAVE_AVX512 1
#include <immintrin.h>

/* lr_dot with AVX-512: the eight partial sums are the eight lanes of one register (lane l adds
 * beta[j] * x[j] for j = l mod 8, in the order of j, as lr_dot does); the tail adds only its
 * lanes (a masked add: the other partial sums are left exactly as they are), and the lanes are
 * combined as ((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7)).  Every operation is the one
 * lr_dot performs, in the same order, with contraction off (C11 mode): the same bits. */
__attribute__((target("avx512f"))) static void scores_rows_avx512(const lr_model *m, const float *X, size_t n,
                                                                  double *out) {
  const size_t d = m->d, full = d / 8 * 8;
  const __mmask8 tail = (__mmask8)((1u << (d - full)) - 1u);
  const double *beta = m->beta;
  for (size_t i = 0; i < n; i++) {
    const float *x = X + i * d;
    __m512d s = _mm512_setzero_pd();
    size_t j = 0;
    for (; j < full; j += 8) {
      __m512d xv = _mm512_cvtps_pd(_mm256_loadu_ps(x + j));
      s = _mm512_add_pd(s, _mm512_mul_pd(_mm512_loadu_pd(beta + j), xv));
    }
    if (tail) {
      __m512d xv = _mm512_cvtps_pd(_mm512_castps512_ps256(_mm512_maskz_loadu_ps((__mmask16)tail, x + j)));
      s = _mm512_mask_add_pd(s, tail, s, _mm512_mul_pd(_mm512_maskz_loadu_pd(tail, beta + j), xv));
    }
    __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(s), _mm512_extractf64x4_pd(s, 1)); /* s_l + s_(l+4) */
    __m128d lo = _mm256_castpd256_pd128(h), hi = _mm256_extractf128_pd(h, 1);
    __m128d pr = _mm_add_pd(_mm_unpacklo_pd(lo, hi), _mm_unpackhi_pd(lo, hi)); /* (h0 + h1, h2 + h3) */
    out[i] = m->b + _mm_cvtsd_f64(_mm_add_sd(pr, _mm_unpackhi_pd(pr, pr)));
  }
}
#endif

/* out[i] = P(y = 1) from its score out[i], for n <= LR_PRED_BLOCK rows: 1 / (1 + e^-z) for
 * z >= 0 and e^z / (1 + e^z) below, with e^-|z| clamped at e^-708 (about 3e-308: a probability
 * that small is 0 for every purpose here).  Short separate loops, so that each one vectorises (at
 * the width of the function it is inlined into); a row's result does not depend on its
 * neighbours, nor on the path that computed its score. */
static inline __attribute__((always_inline)) void sigmoid_rows(double *out, size_t n) {
  double t[LR_PRED_BLOCK];
  for (size_t i = 0; i < n; i++) {
    double a = -fabs(out[i]);
    t[i] = a < -708.0 ? -708.0 : a;
  }
  for (size_t i = 0; i < n; i++) t[i] = lr_exp_neg(t[i]);
  for (size_t i = 0; i < n; i++) out[i] = (out[i] < 0 ? t[i] : 1.0) / (1.0 + t[i]);
}

#ifdef LR_HAVE_AVX512
__attribute__((target("avx512f"))) static void predict_rows_avx512(const lr_model *m, const float *X, size_t n,
                                                                   double *out) {
  scores_rows_avx512(m, X, n, out);
  sigmoid_rows(out, n);
}
#endif

/* P(y = 1) of n <= LR_PRED_BLOCK rows, with the AVX-512 copy when simd (the CPU has it). */
static void predict_rows(const lr_model *m, const float *X, size_t n, double *out, int simd) {
#ifdef LR_HAVE_AVX512
  if (simd) {
    predict_rows_avx512(m, X, n, out);
    return;
  }
#endif
  (void)simd;
  scores_rows(m, X, n, out);
  sigmoid_rows(out, n);
}

/* ---- fit ------------------------------------------------------------------------------------- */

typedef struct lr_data {
  const float *X;
  const double *s; /* row weights */
  const unsigned char *y;
  size_t n, d;
  double C;
  size_t nch;      /* chunks */
} lr_data;

/* A row's share of the gradient and of the upper triangle of the Hessian from its nz nonzero
 * entries xd[u] at columns id[u] (ascending, the intercept's 1 last).  Each entry of g and H gets
 * the same products in the same row order as from every column: a zero entry's products are zeros,
 * which leave a sum that starts at +0 as it was.  Its cost is nz^2 / 2 instead of D^2 / 2: one-hot
 * rows hold one nonzero per categorical input. */
static void row_sparse(const double *xd, const uint32_t *id, size_t nz, double r, double h, size_t D, double *g,
                       double *H) {
  for (size_t u = 0; u < nz; u++) {
    const size_t a = id[u];
    g[a] += r * xd[u];
    const double ha = h * xd[u];
    double *Ha = H + a * D;
    for (size_t v = u; v < nz; v++) Ha[id[v]] += ha * xd[v];
  }
}

/* One chunk's share of the objective (and, when g != NULL, of the gradient and of the upper
 * triangle of the Hessian, D = d + 1 wide, intercept last).  xd, id: D entries of scratch. */
static void chunk_pass(const lr_data *dt, size_t c, const double *beta, double b, double *f, double *g, double *H,
                       double *xd, uint32_t *id) {
  const size_t d = dt->d, D = d + 1;
  size_t i0 = dt->n * c / dt->nch, i1 = dt->n * (c + 1) / dt->nch;
  double fs = 0;
  if (g) {
    memset(g, 0, D * sizeof(double));
    memset(H, 0, D * D * sizeof(double));
  }
  for (size_t i = i0; i < i1; i++) {
    const float *x = dt->X + i * d;
    double z = lr_dot(beta, b, x, d), yi = dt->y[i], si = dt->s[i];
    fs += si * (pp_softplus(z) - yi * z);
    if (!g) continue;
    double p = lr_sigmoid(z), r = si * (p - yi), h = si * p * (1.0 - p);
    size_t nz = 0;
    for (size_t j = 0; j < d; j++)
      if (x[j] != 0.0f) {
        xd[nz] = x[j];
        id[nz++] = (uint32_t)j;
      }
    xd[nz] = 1.0;
    id[nz++] = (uint32_t)d;
    if (nz * 4 <= D * 3) {
      row_sparse(xd, id, nz, r, h, D, g, H);
      continue;
    }
    for (size_t j = 0; j < d; j++) xd[j] = x[j];
    xd[d] = 1.0;
    for (size_t a = 0; a < D; a++) {
      g[a] += r * xd[a];
      double ha = h * xd[a];
      double *Ha = H + a * D;
      for (size_t e = a; e < D; e++) Ha[e] += ha * xd[e];
    }
  }
  *f = fs;
}

/* Objective (and gradient and Hessian, full and symmetric, when g != NULL) at (beta, b).  The
 * chunks run on nt threads; their sums are added in chunk order.  work: per-chunk buffers. */
static int full_pass(const lr_data *dt, const double *beta, double b, int nt, double *fout, double *g, double *H,
                     double *work_f, double *work_g, double *work_H, double *work_x, uint32_t *work_i) {
  const size_t d = dt->d, D = d + 1, nch = dt->nch;
  int par = nt > 1 && nch > 1 ? (nt < (int)nch ? nt : (int)nch) : 1;
  (void)par;
#pragma omp parallel for schedule(dynamic, 1) num_threads(par) if (par > 1)
  for (size_t c = 0; c < nch; c++)
    chunk_pass(dt, c, beta, b, &work_f[c], g ? work_g + c * D : NULL, g ? work_H + c * D * D : NULL,
               work_x + c * D, work_i + c * D);
  double f = 0;
  for (size_t c = 0; c < nch; c++) f += work_f[c];
  f *= dt->C;
  for (size_t j = 0; j < d; j++) f += 0.5 * beta[j] * beta[j];
  *fout = f;
  if (!isfinite(f)) return pp_err(PROP_ERR_TRAIN, "logistic: the objective is not finite");
  if (!g) return 0;
  memset(g, 0, D * sizeof(double));
  memset(H, 0, D * D * sizeof(double));
  for (size_t c = 0; c < nch; c++) {
    const double *gc = work_g + c * D, *Hc = work_H + c * D * D;
    for (size_t a = 0; a < D; a++) {
      g[a] += gc[a];
      for (size_t e = a; e < D; e++) H[a * D + e] += Hc[a * D + e];
    }
  }
  for (size_t a = 0; a < D; a++) {
    g[a] *= dt->C;
    for (size_t e = a; e < D; e++) {
      H[a * D + e] *= dt->C;
      H[e * D + a] = H[a * D + e];
    }
  }
  for (size_t j = 0; j < d; j++) {
    g[j] += beta[j];
    H[j * D + j] += 1.0;
  }
  for (size_t a = 0; a < D; a++)
    if (!isfinite(g[a])) return pp_err(PROP_ERR_TRAIN, "logistic: the gradient is not finite");
  return 0;
}

/* The means of the n x d columns of X weighed by s (summing to S), in row order, into a new *mean. */
static int weighted_means(const float *X, const double *s, size_t n, size_t d, double S, double **mean) {
  double *mu = pp_calloc(d, sizeof *mu);
  if (!mu) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++) mu[j] += s[i] * (double)X[i * d + j];
  for (size_t j = 0; j < d; j++) mu[j] /= S;
  *mean = mu;
  return 0;
}

/* The training rows checked: data present, both classes (*npos positives), every value finite. */
static int lr_check(const pp_dataset *train, size_t *npos) {
  if (!train || !train->X || !train->y || train->d == 0 || train->n == 0)
    return pp_err(PROP_ERR_ARG, "logistic: no training data");
  const size_t n = train->n, d = train->d;
  if (d + 1 > 1u << 15) return pp_err(PROP_ERR_TRAIN, "logistic: %zu encoded columns are too many", d);
  *npos = 0;
  for (size_t i = 0; i < n; i++) *npos += train->y[i] > 0.5f;
  if (*npos == 0 || *npos == n)
    return pp_err(PROP_ERR_TRAIN, "logistic: the training rows hold only one class (%zu positives of %zu)", *npos,
                  n);
  for (size_t i = 0; i < n * d; i++)
    if (!isfinite(train->X[i])) {
      size_t col = i % d;
      const char *name = train->colnames && train->colnames[col] ? train->colnames[col] : "?";
      return pp_err(PROP_ERR_VALUE, "logistic: training row %zu, column %zu (%s) is not finite", i / d, col, name);
    }
  return 0;
}

/* The Newton method's state and work arrays (D = d + 1 parameters, nch chunks of the data pass). */
typedef struct lr_newton {
  double *beta, *nbeta, *g, *step, *H, *L, *wf, *wg, *wH, *wx;
  uint32_t *wi;
  double bias, f, gmax;
  uint32_t iter;
  int converged;
  const char *stop;
} lr_newton;

static void newton_free(lr_newton *w) {
  free(w->beta), free(w->nbeta), free(w->g), free(w->step), free(w->H), free(w->L);
  free(w->wf), free(w->wg), free(w->wH), free(w->wx), free(w->wi);
}

static int newton_alloc(lr_newton *w, size_t D, size_t nch) {
  memset(w, 0, sizeof *w);
  w->beta = pp_calloc(D, sizeof *w->beta), w->nbeta = pp_malloc_array(D, sizeof *w->nbeta);
  w->g = pp_malloc_array(D, sizeof *w->g), w->step = pp_malloc_array(D, sizeof *w->step);
  w->H = pp_malloc_array(D, D * sizeof *w->H), w->L = pp_malloc_array(D, D * sizeof *w->L);
  w->wf = pp_malloc_array(nch, sizeof *w->wf), w->wg = pp_malloc_array(nch, D * sizeof *w->wg);
  w->wH = pp_malloc_array(nch, D * D * sizeof *w->wH), w->wx = pp_malloc_array(nch, D * sizeof *w->wx);
  w->wi = pp_malloc_array(nch, D * sizeof *w->wi);
  return w->beta && w->nbeta && w->g && w->step && w->H && w->L && w->wf && w->wg && w->wH && w->wx && w->wi ? 0
                                                                                                     : PROP_ERR_NOMEM;
}

/* The Newton direction into w->step: -H^-1 g by Cholesky, the diagonal shifted when H is numerically not
 * positive definite. */
static int newton_direction(lr_newton *w, size_t D) {
  double dmax = 0;
  for (size_t a = 0; a < D; a++)
    if (w->H[a * D + a] > dmax) dmax = w->H[a * D + a];
  int fact = pp_cholesky(w->H, D, 0.0, w->L);
  for (int k = 0; fact && k < 12; k++) fact = pp_cholesky(w->H, D, (dmax > 0 ? dmax : 1.0) * 1e-12 * pow(10.0, k), w->L);
  if (fact) return pp_err(PROP_ERR_TRAIN, "logistic: the Hessian is not positive definite at iteration %u", w->iter + 1);
  for (size_t a = 0; a < D; a++) w->step[a] = -w->g[a];
  pp_chol_solve(w->L, D, w->step);
  return 0;
}

/* Backtracking (Armijo) along w->step with slope; 1 when a step was taken. */
static int line_search(const lr_data *dt, lr_newton *w, int nt, double slope) {
  const size_t d = dt->d;
  double t = 1.0, fnew = w->f;
  for (int ls = 0; ls < 50; ls++) {
    for (size_t j = 0; j < d; j++) w->nbeta[j] = w->beta[j] + t * w->step[j];
    double nb = w->bias + t * w->step[d];
    if (full_pass(dt, w->nbeta, nb, nt, &fnew, NULL, NULL, w->wf, w->wg, w->wH, w->wx, w->wi)) {
      pp_err_clear();
      t *= 0.5;
      continue;
    }
    if (fnew <= w->f + 1e-4 * t * slope) {
      memcpy(w->beta, w->nbeta, d * sizeof(double));
      w->bias = nb;
      return 1;
    }
    t *= 0.5;
  }
  return 0;
}

/* Newton iterations from beta = 0 and the intercept bias until the scaled gradient is within tol or
 * max_iter steps; w holds the last iterate and why it stopped. */
static int newton(const lr_data *dt, const lr_params *p, double scale, int nt, const pp_ctx *ctx, lr_newton *w) {
  const size_t D = dt->d + 1;
  w->stop = "max_iter";
  for (;;) {
    PP_TRY(full_pass(dt, w->beta, w->bias, nt, &w->f, w->g, w->H, w->wf, w->wg, w->wH, w->wx, w->wi));
    w->gmax = 0;
    for (size_t a = 0; a < D; a++)
      if (fabs(w->g[a]) > w->gmax) w->gmax = fabs(w->g[a]);
    w->gmax /= scale;
    if (w->gmax <= p->tol) {
      w->converged = 1;
      return 0;
    }
    if (w->iter >= (uint32_t)p->max_iter) return 0;
    PP_TRY(newton_direction(w, D));
    double slope = 0;
    for (size_t a = 0; a < D; a++) slope += w->g[a] * w->step[a];
    if (!(slope < 0)) {
      w->stop = "no descent direction";
      return 0;
    }
    int moved = line_search(dt, w, nt, slope);
    w->iter++;
    if (!moved) {
      w->stop = "line search stalled";
      return 0;
    }
    PP_TRY(pp_progress(ctx, "fit:logistic", w->iter, (size_t)p->max_iter));
  }
}

/* Each row's weight (sample weight x class weight) into s[n] and labels y[n]; *S and *Spos their sums. */
static int row_weights(const pp_dataset *train, double w_pos, double w_neg, double *s, unsigned char *y, double *S,
                       double *Spos) {
  *S = 0, *Spos = 0;
  for (size_t i = 0; i < train->n; i++) {
    y[i] = train->y[i] > 0.5f;
    double sw = train->w ? (double)train->w[i] : 1.0;
    if (!(sw > 0) || !isfinite(sw))
      return pp_err(PROP_ERR_VALUE, "logistic: sample weight of row %zu must be > 0, got %g", i, sw);
    s[i] = sw * (y[i] ? w_pos : w_neg);
    *S += s[i];
    if (y[i]) *Spos += s[i];
  }
  return 0;
}

/* The fitted model of the Newton result (beta moved out of w). */
static int lr_model_of(const pp_dataset *train, const lr_params *p, int cw, const double *s, double S, lr_newton *w,
                       lr_model **out) {
  const size_t d = train->d;
  for (size_t j = 0; j < d; j++)
    if (!isfinite(w->beta[j])) return pp_err(PROP_ERR_TRAIN, "logistic: coefficient %zu is not finite", j);
  if (!isfinite(w->bias)) return pp_err(PROP_ERR_TRAIN, "logistic: the intercept is not finite");
  lr_model *m = pp_calloc(1, sizeof *m);
  if (!m) return PROP_ERR_NOMEM;
  m->d = d;
  m->beta = w->beta;
  w->beta = NULL;
  m->b = w->bias;
  m->C = p->C;
  m->class_weight = cw;
  m->iter = w->iter;
  m->converged = w->converged;
  m->grad = w->gmax;
  int rc = weighted_means(train->X, s, train->n, d, S, &m->mean);
  if (rc) {
    lr_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static int lr_fit(const void *params, const pp_dataset *train, const pp_dataset *valid, const pp_ctx *ctx,
                  void **model) {
  (void)valid;
  *model = NULL;
  lr_params dflt;
  const void *pv;
  PP_TRY(pp_member_params(params, lr_parse_params, &dflt, sizeof dflt, &pv));
  const lr_params *p = pv;
  size_t npos = 0;
  PP_TRY(lr_check(train, &npos));
  const size_t n = train->n, d = train->d, D = d + 1;
  PP_TRY(pp_progress(ctx, "fit:logistic", 0, (size_t)p->max_iter));
  int cw = p->class_weight;
  if (cw == CW_FOLLOW) cw = train->imbalance == PP_IMB_WEIGHTS ? CW_BALANCED : CW_NONE;
  double w_pos, w_neg;
  pp_class_weights(n, npos, cw == CW_BALANCED, &w_neg, &w_pos);
  int nt = ctx && ctx->nthread > 0 ? ctx->nthread : 1;
  size_t nch = n / LR_MIN_CHUNK_ROWS;
  if (nch > LR_MAX_CHUNKS) nch = LR_MAX_CHUNKS;
  size_t hmax = LR_HESS_BUDGET / (D * D * sizeof(double));
  if (nch > hmax) nch = hmax;
  if (nch < 1) nch = 1;
  double *s = pp_malloc_array(n, sizeof *s), S, Spos;
  unsigned char *y = pp_malloc(n);
  lr_newton w;
  lr_model *m = NULL;
  int rc = newton_alloc(&w, D, nch);
  if (!rc && (!s || !y)) rc = PROP_ERR_NOMEM;
  if (!rc) rc = row_weights(train, w_pos, w_neg, s, y, &S, &Spos);
  lr_data dt = {train->X, s, y, n, d, p->C, nch};
  w.bias = rc ? 0 : log(Spos / (S - Spos)); /* the optimum for beta = 0 */
  if (!rc) rc = newton(&dt, p, p->C * S, nt, ctx, &w);
  if (!rc && !w.converged)
    pp_log(ctx, PROP_LOG_WARN,
           "logistic: stopped after %u Newton steps (%s) with gradient %.3g above tol %g; keeping the last iterate",
           w.iter, w.stop, w.gmax, p->tol);
  if (!rc) pp_log(ctx, PROP_LOG_DEBUG, "logistic: %u Newton steps, gradient %.3g, objective %.10g", w.iter, w.gmax, w.f);
  if (!rc) rc = lr_model_of(train, p, cw, s, S, &w, &m);
  if (!rc) rc = pp_progress(ctx, "fit:logistic", (size_t)p->max_iter, (size_t)p->max_iter);
  free(s);
  free(y);
  newton_free(&w);
  if (rc) {
    lr_model_free(m);
    return rc;
  }
  *model = m;
  return 0;
}

/* ---- predict ----------------------------------------------------------------------------------- */

int pp_logistic_simd_active(void) { return pp_cpu_avx512f(); }

/* predict on nthread threads (0 = all), through the AVX-512 copy when simd. */
static int predict_path(const void *model, const float *X, size_t n, double *out, int nthread, int simd) {
  const lr_model *m = model;
  if (!m || (!X && n) || (!out && n)) return pp_err(PROP_ERR_ARG, "logistic predict: NULL argument");
  const size_t d = m->d, nblk = (n + LR_PRED_BLOCK - 1) / LR_PRED_BLOCK;
  int nt = pp_threads(nthread);
  if (n * (d + 8) < LR_PRED_PAR_WORK) nt = 1;
  if ((size_t)nt > nblk) nt = (int)nblk;
  (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
  for (size_t b = 0; b < nblk; b++) {
    size_t i0 = b * LR_PRED_BLOCK, nb = n - i0 < LR_PRED_BLOCK ? n - i0 : LR_PRED_BLOCK;
    predict_rows(m, X + i0 * d, nb, out + i0, simd);
  }
  return 0;
}

static int lr_predict(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread) {
  (void)scratch;
  return predict_path(model, X, n, out, nthread, pp_logistic_simd_active());
}

int pp_logistic_predict_portable(const void *model, const float *X, size_t n, double *out) {
  return predict_path(model, X, n, out, 1, 0);
}

/* ---- save / load ------------------------------------------------------------------------------- */

static int lr_save(const void *model, pp_buf *b) {
  const lr_model *m = model;
  pp_put_u32(b, m->mean ? LR_FORMAT_VERSION : 1u); /* a version-1 model is saved as it was loaded */
  pp_put_u64(b, m->d);
  pp_put_u8(b, (uint8_t)m->class_weight);
  pp_put_u8(b, (uint8_t)(m->converged ? 1 : 0));
  pp_put_u32(b, m->iter);
  pp_put_f64(b, m->C);
  pp_put_f64(b, m->grad);
  pp_put_f64(b, m->b);
  pp_put_f64s(b, m->beta, m->d);
  if (m->mean) pp_put_f64s(b, m->mean, m->d);
  return pp_buf_status(b);
}

static int lr_load(pp_rd *in, size_t d, void **out) {
  *out = NULL;
  const char *what = in->what ? in->what : "logistic";
  uint32_t ver, iter;
  uint8_t cw, conv;
  double C, grad, bias;
  PP_TRY(pp_member_get_version(in, what, "logistic", LR_FORMAT_VERSION, &ver));
  PP_TRY(pp_member_get_width(in, what, "logistic model", d, SIZE_MAX));
  PP_TRY(pp_get_u8(in, &cw));
  PP_TRY(pp_get_u8(in, &conv));
  PP_TRY(pp_get_u32(in, &iter));
  PP_TRY(pp_get_f64(in, &C));
  PP_TRY(pp_get_f64(in, &grad));
  PP_TRY(pp_get_f64(in, &bias));
  if (cw > CW_NONE || conv > 1 || !(C > 0) || !isfinite(C) || !(grad >= 0) || !isfinite(bias))
    return pp_err(PROP_ERR_CORRUPT, "%s: logistic settings out of range", what);
  size_t left = in->pos <= in->len ? in->len - in->pos : 0;
  if (d > left / 8)
    return pp_err(PROP_ERR_CORRUPT, "%s: logistic model of %zu coefficients needs %zu bytes, %zu are left", what, d,
                  d * 8, left);
  lr_model *m = pp_calloc(1, sizeof *m);
  if (!m) return PROP_ERR_NOMEM;
  m->d = d;
  m->b = bias;
  m->C = C;
  m->class_weight = cw;
  m->converged = conv;
  m->iter = iter;
  m->grad = grad;
  int rc = pp_get_f64s(in, &m->beta, d);
  for (size_t j = 0; !rc && j < d; j++)
    if (!isfinite(m->beta[j])) rc = pp_err(PROP_ERR_CORRUPT, "%s: logistic coefficient %zu is not finite", what, j);
  if (!rc && ver >= 2) rc = pp_get_f64s(in, &m->mean, d);
  for (size_t j = 0; !rc && m->mean && j < d; j++)
    if (!isfinite(m->mean[j])) rc = pp_err(PROP_ERR_CORRUPT, "%s: logistic column mean %zu is not finite", what, j);
  if (rc) {
    lr_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static void lr_free_model(void *model) { lr_model_free(model); }

static int lr_importance(const void *model, double *imp, size_t d) {
  const lr_model *m = model;
  if (!m || !imp || d != m->d) return pp_err(PROP_ERR_ARG, "logistic importance: %zu columns, the model has %zu", d,
                                             m ? m->d : 0);
  for (size_t j = 0; j < d; j++) imp[j] = fabs(m->beta[j]);
  return 0;
}

static int lr_contrib(const void *model, const float *X, size_t n, const uint32_t *group, size_t ngroups, double *phi,
                      double *base, void *scratch) {
  (void)group;
  (void)ngroups;
  (void)scratch;
  const lr_model *m = model;
  if (!m->mean)
    return pp_err(PROP_ERR_STATE, "logistic: this model was saved before members kept what contributions need "
                                  "(logistic payload version 1); train it again to explain it");
  const size_t d = m->d;
  double b0 = m->b;
  for (size_t j = 0; j < d; j++) b0 += m->beta[j] * m->mean[j];
  if (base) *base = b0;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++) phi[i * d + j] = m->beta[j] * ((double)X[i * d + j] - m->mean[j]);
  return 0;
}

static json_t *lr_info(const void *model) {
  const lr_model *m = model;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "iterations", json_integer((json_int_t)m->iter));
  json_object_set_new(o, "converged", json_boolean(m->converged));
  json_object_set_new(o, "gradient", json_real(m->grad));
  json_object_set_new(o, "C", json_real(m->C));
  json_object_set_new(o, "class_weight", json_string(k_cw[m->class_weight]));
  json_object_set_new(o, "intercept", json_real(m->b));
  return o;
}

const pp_member_ops pp_logistic_ops = {
    .name = "logistic",
    .parse_params = lr_parse_params,
    .params_to_json = lr_params_to_json,
    .free_params = lr_free_params,
    .fit = lr_fit,
    .scratch_bytes = pp_member_no_scratch,
    .predict = lr_predict,
    .save = lr_save,
    .load = lr_load,
    .free_model = lr_free_model,
    .importance = lr_importance,
    .info = lr_info,
    .contrib_space = PP_SPACE_LOGODDS,
    .contrib_scratch = pp_member_no_scratch,
    .contrib = lr_contrib,
};
