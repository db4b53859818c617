/* Internals of the C-SVC member (svc.c, svc_smo.c, svc_kernel.c), visible to tests/test_svc.c.
 *
 *   svc_kernel.c  kernel blocks: the full Gram matrix, kernel rows and the decision function, all
 *                 from dot products of our own in one fixed order (models/dots.c), so a row's
 *                 value is its own and training computes the kernel values prediction does
 *   svc_smo.c     the SMO solver (WSS3 working-set selection, shrinking, per-row bounds C_i,
 *                 an LRU cache of kernel rows when the full matrix does not fit the budget)
 *   svc.c         the member: parameters, row cap, probability folds, Platt, save / load, info
 *
 * Kernel values are single precision (half the memory of libsvm's cache);
 * gradients, alphas and decision sums are double. */
#ifndef PP_SVC_IMPL_H
#define PP_SVC_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

enum { PP_SVC_RBF = 0, PP_SVC_LINEAR = 1 };

/* ---- kernel blocks (svc_kernel.c) --------------------------------------------------------- */

/* Squared norms of n rows of X (stride d) into sq[n] (accumulated in double). */
void pp_svc_sqnorms(const float *X, size_t n, size_t d, float *sq);

/* X (n x d) transposed for pp_dots (d rows of *ldx = pp_dots_stride(n) floats, zero padded),
 * malloc'd; NULL (NOMEM recorded) when out of memory. */
float *pp_svc_transpose(const float *X, size_t n, size_t d, size_t *ldx);

/* out[n] = the rows of X . x, from Xt = pp_svc_transpose(X), on up to nthread threads (the bits
 * do not depend on it, nor on whether x is sparse enough to go through its nonzeros alone).  idx and
 * val are the caller's scratch of d entries each.  Allocates nothing. */
void pp_svc_row_dots(const float *Xt, size_t ldx, size_t n, size_t d, const float *x, float *out, int nthread,
                     uint32_t *idx, float *val);

/* exp(x) for x <= 0 (clamped to [-87, 0]), single precision. */
float pp_svc_expf_neg(float x);

/* 1 when the RBF kernel loops run their AVX-512 copies (built for x86-64 and the CPU has
 * AVX-512F), else 0.  Both copies give the same bits. */
int pp_svc_simd_active(void);

/* Turn a block of dot products into kernel values in place: row r of the block belongs to a row
 * of squared norm sqa[r], column c to sqb[c]; RBF: exp(-gamma * max(0, sqa + sqb - 2 dot)). */
void pp_svc_kernel_transform(float *C, size_t m, size_t n, size_t ldc, const float *sqa, const float *sqb,
                             int kernel, float gamma);
/* The same with the path chosen by the caller: simd = 1 the AVX-512 loop (only when
 * pp_svc_simd_active()), 0 the portable one.  For tests. */
void pp_svc_kernel_transform_path(float *C, size_t m, size_t n, size_t ldc, const float *sqa, const float *sqb,
                                  int kernel, float gamma, int simd);

/* The full n x n Gram matrix of X (row-major, malloc'd into *K), tiles on up to nthread threads;
 * only the upper triangle is computed, the lower is its mirror, so K is exactly symmetric. */
int pp_svc_kernel_full(const float *X, const float *sq, size_t n, size_t d, int kernel, float gamma, int nthread,
                       float **K);

/* ---- the solver (svc_smo.c) ------------------------------------------------------------------ */

/* The dual  min 1/2 a'Qa - e'a  s.t.  y'a = 0, 0 <= a_i <= C_i,  Q_ij = y_i y_j K(x_i, x_j). */
typedef struct pp_svc_problem {
  size_t n;
  const float *y; /* n labels 0/1 (1 = positive class, +1 in the dual) */
  const double *C; /* n upper bounds (> 0) */
  int kernel;
  float gamma;
  /* Kernel source, one of:
   *  full: Kfull (ldk columns) is a precomputed Gram matrix of a larger set; row i of this problem
   *        is row gidx[i] of Kfull (gidx NULL: identity).  Read-only, may be shared by solvers.
   *  rows: X (n x d) with squared norms sq; rows of K are computed on demand (pp_svc_row_dots on a
   *        transposed copy of X the solver makes) and kept in an LRU cache of cache_bytes. */
  const float *Kfull;
  size_t ldk;
  const size_t *gidx;
  const float *X;
  const float *sq;
  size_t d;
} pp_svc_problem;

typedef struct pp_svc_opts {
  double tol;         /* stopping tolerance on the maximal violating pair (libsvm's eps) */
  size_t cache_bytes; /* kernel row cache (rows mode) */
  uint64_t max_iter;  /* 0 = unlimited (a safety cap of max(1e7, 100 n) still applies) */
  int shrinking;
  int nthread;        /* rows mode: threads for a kernel row */
  /* Polled every 1000 iterations; a non-zero return stops the solver (result->stopped). */
  int (*poll)(void *arg, uint64_t iter);
  void *poll_arg;
} pp_svc_opts;

typedef struct pp_svc_result {
  double rho;     /* decision f(x) = sum_i a_i y_i K(x_i, x) - rho */
  uint64_t iter;
  int capped;     /* stopped by max_iter (or the safety cap) before the tolerance was met */
  int stopped;    /* stopped by poll() */
  double obj;     /* dual objective at the end */
} pp_svc_result;

/* Solve; alpha[n] (caller-allocated) receives the solution in problem order.  0, NOMEM or ARG
 * (message recorded on the calling thread). */
int pp_svc_solve(const pp_svc_problem *pb, const pp_svc_opts *opt, double *alpha, pp_svc_result *res);

/* ---- the fitted model (svc.c) ---------------------------------------------------------------- */
#define SVC_DOT_COLS 32 /* support vectors per tile of the prediction dot products */
typedef struct pp_svc_model {
  int kernel;
  size_t d;
  double gamma, rho, A, B;
  size_t nsv;
  float *sv;     /* nsv x d, copied */
  float *sv_sq;  /* nsv squared norms */
  float *svT;    /* RBF: the support vectors transposed, d x nsv_pad, zero padded (derived, not saved) */
  size_t nsv_pad; /* nsv rounded up to SVC_DOT_COLS */
  double *coef;  /* nsv dual coefficients a_i y_i (y in {-1, +1}) */
  double *w;     /* linear kernel: d weights sum_i coef_i sv_i (derived, not saved) */
  float *bg;     /* nbg x d background rows of the contributions (sampling_shap.h), or NULL (a version-1 payload) */
  size_t nbg;
  /* facts for info() */
  uint64_t iter;
  size_t rows_used, rows_in, max_rows;
  int capped, iter_capped, full_matrix;
} pp_svc_model;

/* A model from a solution: the rows of X (n x d) with alpha > 0 become support vectors. */
int pp_svc_model_build(const float *X, size_t n, size_t d, const float *y, const double *alpha, double rho,
                       int kernel, double gamma, pp_svc_model **out);
void pp_svc_model_free(pp_svc_model *m);
/* Bytes of scratch pp_svc_decision() needs for n rows on one thread. */
size_t pp_svc_scratch(const pp_svc_model *m, size_t n);
/* Decision values of n rows of X (d columns) into dec[n].  scratch: NULL or pp_svc_scratch(m, n)
 * bytes (used when one thread runs).  Each row's value depends on that row only. */
int pp_svc_decision(const pp_svc_model *m, const float *X, size_t n, double *dec, void *scratch, int nthread);
/* The same with the path chosen by the caller: PP_SVC_PATH_AVX512 (dot products and kernel
 * loop with AVX-512), PP_SVC_PATH_AVX2 (dot products with AVX2, the portable kernel loop) or
 * PP_SVC_PATH_PORTABLE; all three give the same bits.  pp_svc_decision() takes the best the CPU
 * runs.  For tests. */
enum { PP_SVC_PATH_PORTABLE = 0, PP_SVC_PATH_AVX512 = 1, PP_SVC_PATH_AVX2 = 2 }; /* = PP_DOTS_* */
int pp_svc_decision_path(const pp_svc_model *m, const float *X, size_t n, double *dec, void *scratch, int nthread,
                         int path);

#endif
