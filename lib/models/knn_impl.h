/* Internals of the "knn" member shared by knn.c (parameters, fit, one-hot blocks, transposed
 * copies, save / load), knn_predict.c (the neighbour search and the vote) and knn_fused.c (the
 * float pass's fused AVX-512 key kernel), and seen by tests/test_knn.c, which includes the three .c
 * files to reach their static kernels. */
#ifndef PP_KNN_IMPL_H
#define PP_KNN_IMPL_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include "common/common.h"

#ifndef KNN_HAVE_AVX512
#define KNN_HAVE_AVX512 PP_HAVE_AVX512
#endif
#if KNN_HAVE_AVX512
#include <immintrin.h>
#endif

#include "common/jsonx.h"
#include "models/dots.h"
#include "models/member.h"

#define KNN_FORMAT_VERSION 1u
#define KNN_K_MAX 10000
/* Query rows per block. */
#ifndef KNN_QBLOCK
#define KNN_QBLOCK 96
#endif
/* Largest tile of C (floats): 64 KB. */
#define KNN_TILE_FLOATS 16384
/* Training rows per key tile of a single query row (a multiple of KNN_PANEL). */
#define KNN_ROW_TILE 2048
/* Feature values (training and query) up to this magnitude go through the float pass; larger
 * ones could overflow it.  Training values beyond it are refused; such queries use the exact
 * scan. */
#define KNN_VALUE_MAX 1e15
/* Training rows per panel of the transposed copies At and Adt (a multiple of PP_DOTS_COLS; the fused
 * kernel's registers hold 64 keys of a query). */
#define KNN_PANEL 64
/* Bytes of training panels the fused kernel keeps in the L1 cache while the block's queries go over them. */
#define KNN_FUSED_L1 32768
/* Columns per width block of the fused key kernel (besides the last, |y|^2): a panel of 64 training
 * rows of that many columns (32 KiB) stays in the L1 cache while the block's queries go over it. */
#ifndef KNN_FUSED_WB
#define KNN_FUSED_WB 128
#endif

enum { W_UNIFORM = 0, W_DISTANCE = 1 };
enum { CW_FOLLOW = -1, CW_BALANCED = 0, CW_NONE = 1 };


typedef struct knn_params {
  long k;
  int weights;
  int class_weight; /* CW_* */
  long max_train_rows;
} knn_params;

typedef struct knn_model {
  size_t n, d;          /* training rows kept, encoded width */
  size_t k;             /* as asked */
  int weights;          /* W_* */
  int class_weight;     /* resolved: CW_BALANCED or CW_NONE */
  double w_neg, w_pos;  /* class weights of the votes */
  float *A;             /* n x (d + 1): [-2 y, |y|^2]; y = -A/2 exactly */
  unsigned char *pos;   /* n labels 0/1 */
  float *sw;            /* n sample weights, or NULL when all 1 */
  size_t rows_in, max_rows;
  int capped;
  /* derived */
  double *vote;         /* n: sample weight x class weight */
  double sq_max;        /* max |y|^2 (slightly rounded up) */
  float *sqy;           /* n: |y|^2 of each row, the floats of A's last column */
  size_t kk;            /* neighbours used: min(k, n) */
  size_t kc;            /* candidates of the float pass: min(n, kk + margin) */
  size_t kmax;          /* the float pass keeps between kc and kmax candidates */
  size_t bc;            /* candidate buffer of a query */
  /* derived: one-hot blocks of the training rows (detect_blocks), built at fit and at load */
  size_t nb;            /* blocks (0: none; then the fields below are NULL) */
  size_t *bstart, *blen; /* nb blocks: first column, width */
  size_t dd;            /* columns outside the blocks */
  size_t *dcol;         /* their indices, increasing */
  float *Ad;            /* n x (dd + 1): [-2 y_dense, |y|^2] (the same |y|^2 floats as A) */
  uint16_t *code;       /* nb x n: code[b n + j] = column of block b where row j holds its 1 */
  /* derived: transposed copies for the key tiles (pp_dots) and the fused key kernel
   * (pp_knn_keys_offer_avx512, knn_fused.c), in panels of KNN_PANEL training rows, each w x KNN_PANEL floats and
   * contiguous (the fused kernel walks a panel's columns: pages in a row, not one per column):
   * At[p w + t KNN_PANEL + (j - p)] = A[j w + t] for the panel p = j rounded down to KNN_PANEL
   * (t < w = d + 1), Adt likewise from Ad (width dd + 1, when nb); np = n rounded up to KNN_PANEL
   * (a multiple of PP_DOTS_COLS), the padding rows hold 0 and |y|^2 = +inf (key +inf, never a
   * candidate). */
  size_t np;
  float *At, *Adt;
  /* with nb, the codes block-major, nb x np, padded with zeros to np rows per block: one byte each when
   * every block has at most 256 columns and there are at most 255 blocks (a row's count of equal codes
   * fits a byte), else two */
  uint8_t *code8p;
  uint16_t *code16p;
  /* derived: the background rows of the contributions (sampling_shap.h), nbg x d, drawn from the rows
   * kept at fit and at load alike (nothing more is saved) */
  float *bg;
  size_t nbg;
} knn_model;

/* ---- the float pass's candidate buffers (knn_predict.c) and fused key kernel (knn_fused.c) ---- */

/* Candidate buffer of one query, as two arrays so that 16 keys are compared and stored at a
 * time.  Keys below thr are appended; when the buffer is nearly full it keeps only the keys
 * below a new, lower thr, chosen so that between kc and kmax of them remain.  Invariant: every
 * training row outside the buffer has a key >= thr. */
typedef struct qbuf {
  float *key;
  uint32_t *idx;
  size_t cnt;
  float thr;
  float lo, hi; /* bracket of the keys, for the bisection */
} qbuf;

/* The variant-specific loops over a buffer (portable and AVX-512, knn_predict.c). */
typedef struct scan_ops {
  size_t (*count_below)(const float *key, size_t n, float t);
  size_t (*keep_below)(float *key, uint32_t *idx, size_t n, float t);
} scan_ops;

/* Lower q's threshold so that between lo_cnt and hi_cnt keys stay (q->cnt > hi_cnt >= lo_cnt >= 1). */
void pp_knn_shrink(qbuf *q, size_t lo_cnt, size_t hi_cnt, const scan_ops *ops);

#if KNN_HAVE_AVX512
#define KNN_AVX512 __attribute__((target("avx512f,popcnt")))
#define KNN_AVX512BW __attribute__((target("avx512f,avx512bw,popcnt")))

/* The AVX-512 loops over a buffer (knn_predict.c). */
extern const scan_ops pp_knn_scan_avx512;

/* An operand of the fused key kernel (knn_fused.c, where the kernel is described). */
typedef struct fused_op {
  const float *T;          /* transposed rows, in panels (knn_model.At) */
  size_t np, w;
  const float *Q;          /* nq x w: [x, 1] */
  const uint8_t *code8p;   /* one-hot path: codes (one of the two), else both NULL */
  const uint16_t *code16p;
  const uint16_t *qcode;   /* nq x nb: the queries' codes */
  size_t nb;
  float *part;             /* nq x 64: keys between width blocks */
  float *kmin;             /* the key pass (pp_knn_key_pass): nq x 16, each query's lane-wise smallest key */
} fused_op;

/* The fused kernel over every training row for the nq queries with ok[]: their keys offered to the buffers
 * qb (room for bc keys each, cut back to between kc and kmax), or with f->kmin kept as lane-wise minima.
 * Only on CPUs with AVX-512F, AVX-512BW and POPCNT. */
KNN_AVX512BW void pp_knn_keys_offer_avx512(qbuf *qb, const unsigned char *ok, size_t nq, size_t bc, size_t kc,
                                           size_t kmax, const fused_op *f);
#endif

/* knn_predict.c: the member's scratch_bytes and predict operations. */
size_t pp_knn_scratch_bytes(const void *model, size_t n);
int pp_knn_predict(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread);

#endif
