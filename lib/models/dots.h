/* Dot products of rows in one fixed order, shared by the svc member (training's Gram matrix and
 * kernel rows, prediction's decision function) and the knn member (the float pass's keys).
 *
 * The library calls no BLAS.  OpenBLAS, used for these products before, retries a failed
 * allocation of its 128 MiB work buffer forever: under an address-space limit (ulimit -v) an
 * SVC's training or a wide knn's prediction hung instead of failing, and the workers of its
 * pthread build, started when it was loaded, each reserved such a buffer (or spun) and blocked the
 * process's exit.  These loops allocate nothing; the callers' scratch comes from pp_alloc_*. */
#ifndef PP_DOTS_H
#define PP_DOTS_H

#include <stddef.h>
#include <stdint.h>

/* Columns of Bt per tile: a Bt row is read in whole tiles, so its stride and the columns it holds
 * must be padded to a multiple of this (pp_dots_transpose pads with zeros). */
#define PP_DOTS_COLS 32

/* The paths; each gives the same bits. */
enum { PP_DOTS_PORTABLE = 0, PP_DOTS_AVX512 = 1, PP_DOTS_AVX2 = 2 };
/* The fastest path this CPU runs. */
int pp_dots_best_path(void);

/* C[r * ldc + s] = the sum over k = 0, 1, ..., d - 1, in that order, of A[r * lda + k] *
 * Bt[k * ldb + s] in single precision, each product rounded before it is added (no fused
 * multiply-add), for r < m and s < n.  Bt is B transposed (row k holds the k-th value of every
 * row of B); ldb is a multiple of PP_DOTS_COLS and columns n .. ldb - 1 are readable.  Every path
 * and every split of the rows or columns gives the same bits for each pair. */
void pp_dots(const float *A, size_t m, size_t lda, size_t d, const float *Bt, size_t ldb, size_t n, float *C,
             size_t ldc, int path);

/* The nonzero entries of the row x (d floats): their columns, ascending, into idx and their values
 * into val (each room for d); returns how many.  -0 counts as zero. */
size_t pp_dots_nonzeros(const float *x, size_t d, uint32_t *idx, float *val);

/* out[s] for s < n = pp_dots's sum for one row x against Bt's columns (ldb, padding as there), taken
 * over x's nonzero entries only: (idx, val, nnz) from pp_dots_nonzeros.  For finite Bt this is the
 * same bits as pp_dots on x: a zero x[k] adds a product of zero, which leaves a sum that is not -0
 * as it was (and the sum starts at +0, and a sum of + and - rounds an exact zero to +0, so it is
 * never -0).  The cost is nnz instead of d products per column: the rows of one-hot encoded
 * categories hold one nonzero per block. */
void pp_dots_sparse(const uint32_t *idx, const float *val, size_t nnz, const float *Bt, size_t ldb, size_t n,
                    float *out, int path);

/* The padded stride for n columns: n rounded up to a multiple of PP_DOTS_COLS (at least one tile). */
size_t pp_dots_stride(size_t n);
/* Bt[k * ldb + s] = B[s * ldbb + k] for s < n, k < d, and 0 for n <= s < ldb. */
void pp_dots_transpose(const float *B, size_t n, size_t ldbb, size_t d, float *Bt, size_t ldb);

#endif
