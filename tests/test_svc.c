/* The "svc" member (lib/models/svc*.c): parameters, the SMO solver's optimality conditions, the
 * kernel sources (shared Gram matrix, LRU row cache), probabilities, save/load, row cap. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "models/dots.h"
#include "models/member.h"
#include "models/svc_impl.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void *parse(const char *js) { return tu_params(&pp_svc_ops, js); }

static void parse_fails(const char *js, const char *must_contain) {
  tu_expect_recipe_error(&pp_svc_ops, "members[1].params", js, must_contain);
}

static pp_svc_model *fit(const char *params_json, const float *X, const float *y, size_t n, size_t d, int imbalance,
                         uint64_t seed, int nthread) {
  pp_dataset ds = {X, n, d, y, NULL, NULL, imbalance};
  pp_ctx c = tu_ctx(seed, nthread, NULL);
  return tu_fit(&pp_svc_ops, params_json, &ds, NULL, &c);
}

static double info_num(const void *model, const char *key) { return tu_info_num(&pp_svc_ops, model, key); }

/* ---- kernel pieces ---------------------------------------------------------------------------- */

static void test_fast_exp_accuracy(void **state) {
  (void)state;
  /* every 97th float of [-87, 0] (the exhaustive sweep gives 1.21 ulp at most) */
  double worst = 0;
  size_t k = 0;
  for (float x = 0.0f; x > -87.0f; x = nextafterf(x, -100.0f), k++) {
    if (k % 97 != 0 && x < -1e-6f) continue;
    double ref = exp((double)x);
    float rf = (float)ref;
    double ulp = (double)nextafterf(rf, INFINITY) - (double)rf;
    double e = fabs((double)pp_svc_expf_neg(x) - ref) / ulp;
    if (e > worst) worst = e;
  }
  assert_true(worst <= 2.0);
  assert_true(pp_svc_expf_neg(0.0f) == 1.0f);
  assert_true(pp_svc_expf_neg(-1000.0f) >= 0.0f && pp_svc_expf_neg(-1000.0f) < 1e-37f);
}

static void test_kernel_blocks(void **state) {
  (void)state;
  const size_t n = 70, d = 9;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *sq = tu_xmalloc(n * sizeof *sq);
  tu_blobs(n, d, 0.5, 0.3, 91, X, y);
  pp_svc_sqnorms(X, n, d, sq);
  for (int kernel = 0; kernel < 2; kernel++) {
    float *K = NULL;
    assert_int_equal(pp_svc_kernel_full(X, sq, n, d, kernel, 0.2f, 2, &K), 0);
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++) {
        double dot = 0, d2 = 0;
        for (size_t t = 0; t < d; t++) {
          dot += (double)X[i * d + t] * X[j * d + t];
          d2 += ((double)X[i * d + t] - X[j * d + t]) * ((double)X[i * d + t] - X[j * d + t]);
        }
        double want = kernel == PP_SVC_RBF ? exp(-0.2 * d2) : dot;
        assert_true(fabs(K[i * n + j] - want) <= 1e-5 * (1 + fabs(want)));
      }
    /* a kernel row (the solver's rows mode) is the matrix's row, bit for bit, on any thread count */
    float *row = tu_xmalloc(n * sizeof *row), *row2 = tu_xmalloc(n * sizeof *row2);
    size_t ldx;
    float *Xt = pp_svc_transpose(X, n, d, &ldx);
    assert_non_null(Xt);
    uint32_t nz_idx[9];
    float nz_val[9];
    pp_svc_row_dots(Xt, ldx, n, d, X + 5 * d, row, 1, nz_idx, nz_val);
    pp_svc_kernel_transform(row, 1, n, n, sq + 5, sq, kernel, 0.2f);
    assert_memory_equal(row, K + 5 * n, n * sizeof *row);
    pp_svc_row_dots(Xt, ldx, n, d, X + 5 * d, row2, 2, nz_idx, nz_val);
    pp_svc_kernel_transform(row2, 1, n, n, sq + 5, sq, kernel, 0.2f);
    assert_memory_equal(row, row2, n * sizeof *row);
    free(Xt);
    free(row2);
    free(row);
    free(K);
  }
  free(X);
  free(y);
  free(sq);
}

/* The AVX-512 and the portable RBF loops give the same bits (kernel blocks and decision values, at
 * every tail length of the 16-lane loop), and both agree with a double-precision computation. */
/* The RBF decision value of the row q in double precision: sum over the support vectors X of
 * alpha y exp(-gamma |q - x|^2), minus rho. */
static double rbf_decision_ref(const float *q, const float *X, const float *y, const double *alpha, size_t ns, size_t d,
                               double gamma, double rho) {
  double want = -rho;
  for (size_t i = 0; i < ns; i++) {
    double d2 = 0;
    for (size_t k = 0; k < d; k++) {
      double e = (double)q[k] - X[i * d + k];
      d2 += e * e;
    }
    want += alpha[i] * (y[i] > 0.5f ? 1.0 : -1.0) * exp(-gamma * d2);
  }
  return want;
}

/* Decision values of Q's rows scored in blocks of `blk` rows, one call per block. */
static void decide_in_blocks(const pp_svc_model *m, const float *Q, size_t nq, size_t blk, int simd, double *out) {
  for (size_t i = 0; i < nq; i += blk)
    assert_int_equal(pp_svc_decision_path(m, Q + i * m->d, nq - i < blk ? nq - i : blk, out + i, NULL, 1, simd), 0);
}

static void test_simd_and_portable_paths_agree(void **state) {
  (void)state;
  const int simd = pp_svc_simd_active();
  /* widths: a few numbers, and one-hot-sized ones (63 columns is where sgemm, used before,
   * gave a row other bits in a block of 1, 7 or 33 rows than in a block of 64) */
  const size_t dims[] = {5, 63, 130};
  for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
    const size_t d = dims[di], nq = 70; /* 70 queries: a full block of 64 and a tail */
    const size_t nsvs[] = {1, 2, 7, 15, 16, 17, 31, 32, 33, 100};
    float *Q, *yq;
    tu_blobs_alloc(nq, d, 0.5, 0.8, 41, &Q, &yq);
    float *sq = tu_xmalloc(nq * sizeof *sq);
    pp_svc_sqnorms(Q, nq, d, sq);
    const double gamma = 1.5 / (double)d;
    for (size_t t = 0; t < sizeof nsvs / sizeof nsvs[0]; t++) {
      const size_t ns = nsvs[t];
      float *X, *y;
      tu_blobs_alloc(ns, d, 0.5, 0.8, 100 + t, &X, &y);
      double *alpha = tu_xmalloc(ns * sizeof *alpha);
      for (size_t i = 0; i < ns; i++) alpha[i] = 0.05 + 0.9 * (double)((i * 37 + t) % 23) / 23.0;
      pp_svc_model *m = NULL;
      assert_int_equal(pp_svc_model_build(X, ns, d, y, alpha, 0.125, PP_SVC_RBF, gamma, &m), 0);
      assert_int_equal(m->nsv, ns);
      double *dp = tu_xmalloc(nq * sizeof *dp), *dv = tu_xmalloc(nq * sizeof *dv);
      assert_int_equal(pp_svc_decision_path(m, Q, nq, dp, NULL, 1, 0), 0);
      for (size_t q = 0; q < nq; q++) {
        double want = rbf_decision_ref(Q + q * d, X, y, alpha, ns, d, gamma, 0.125);
        assert_true(fabs(dp[q] - want) <= 1e-5 * (1.0 + fabs(want)));
      }
      /* a row's value does not depend on the rows scored with it, on any path */
      const size_t blocks[] = {1, 4, 7, 33};
      const int paths[3] = {PP_SVC_PATH_PORTABLE, pp_cpu_avx2() ? PP_SVC_PATH_AVX2 : -1, simd ? PP_SVC_PATH_AVX512 : -1};
      for (int p = 0; p < 3; p++)
        for (size_t b = 0; paths[p] >= 0 && b < sizeof blocks / sizeof blocks[0]; b++) {
          decide_in_blocks(m, Q, nq, blocks[b], paths[p], dv);
          assert_memory_equal(dp, dv, nq * sizeof *dp);
        }
      if (simd) {
        assert_int_equal(pp_svc_decision_path(m, Q, nq, dv, NULL, 2, 1), 0);
        assert_memory_equal(dp, dv, nq * sizeof *dp);
      }
      /* kernel blocks of width ns, from dot products that include d2 < 0 (clamped) and far rows */
      float *Cp = tu_xmalloc(nq * ns * sizeof *Cp), *Cv = tu_xmalloc(nq * ns * sizeof *Cv);
      size_t ldx;
      float *Xt = pp_svc_transpose(X, ns, d, &ldx);
      assert_non_null(Xt);
      pp_dots(Q, nq, d, d, Xt, ldx, ns, Cp, ns, pp_dots_best_path());
      free(Xt);
      Cp[0] = 0.5f * (sq[0] + m->sv_sq[0]) + 10.0f; /* a + b - 2c = -20 */
      if (ns > 1) Cp[1] = -400.0f;
      memcpy(Cv, Cp, nq * ns * sizeof *Cp);
      pp_svc_kernel_transform_path(Cp, nq, ns, ns, sq, m->sv_sq, PP_SVC_RBF, 0.3f, 0);
      assert_true(Cp[0] == 1.0f); /* a negative squared distance counts as 0 */
      if (ns > 1) assert_true(Cp[1] >= 0.0f && Cp[1] < 1e-37f);
      if (simd) {
        pp_svc_kernel_transform_path(Cv, nq, ns, ns, sq, m->sv_sq, PP_SVC_RBF, 0.3f, 1);
        assert_memory_equal(Cp, Cv, nq * ns * sizeof *Cp);
      }
      free(Cp);
      free(Cv);
      free(dp);
      free(dv);
      free(alpha);
      free(X);
      free(y);
      pp_svc_model_free(m);
    }
    free(Q);
    free(yq);
    free(sq);
  }
}

/* ---- parameters ----------------------------------------------------------------------------- */

/* Rows of one-hot blocks and a few numbers, as the encoders give an SVC: row i has a value in each
 * of nblk blocks of `lev` columns (all zero, or -0, for every fourth block: a missing category) and
 * `dense` numeric columns in front; rows 3 and 4 of every five are fully dense. */
static void onehot_rows(float *X, size_t n, size_t dense, size_t nblk, size_t lev, uint64_t seed) {
  const size_t d = dense + nblk * lev;
  uint64_t r = seed;
  for (size_t i = 0; i < n; i++) {
    float *x = X + i * d;
    for (size_t k = 0; k < d; k++) {
      r = r * 6364136223846793005ULL + 1442695040888963407ULL;
      const float u = (float)((r >> 40) & 0xFFFFFF) / 16777216.0f - 0.5f;
      x[k] = (i % 5 >= 3 || k < dense) ? u * 3.0f : (k % 7 == 3 ? -0.0f : 0.0f);
    }
    if (i % 5 >= 3) continue;
    for (size_t b = 0; b < nblk; b++)
      if ((b + i) % 4) x[dense + b * lev + (i * 7 + b * 3) % lev] = 1.0f;
  }
}

/* pp_dots_sparse (a row's nonzeros only) gives pp_dots's bits, on every path and width: the tails
 * of its 128-, 64- and 32-column tiles included. */
static void test_sparse_dots_same_bits(void **state) {
  (void)state;
  const size_t dense = 3, nblk = 11, lev = 6, d = dense + nblk * lev, nq = 10;
  const size_t widths[] = {1, 17, 31, 32, 33, 63, 64, 65, 96, 97, 127, 128, 129, 200};
  const int paths[3] = {PP_DOTS_PORTABLE, pp_cpu_avx2() ? PP_DOTS_AVX2 : -1, pp_cpu_avx512f() ? PP_DOTS_AVX512 : -1};
  float *Q = tu_xmalloc(nq * d * sizeof *Q), *B = tu_xmalloc(200 * d * sizeof *B);
  onehot_rows(Q, nq, dense, nblk, lev, 5);
  onehot_rows(B, 200, dense, nblk, lev, 6);
  uint32_t idx[3 + 11 * 6];
  float val[3 + 11 * 6];
  size_t sparse_rows = 0;
  for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
    const size_t n = widths[w], ldb = pp_dots_stride(n);
    float *Bt = tu_xmalloc(d * ldb * sizeof *Bt), *want = tu_xmalloc(n * sizeof *want), *got = tu_xmalloc(n * sizeof *got);
    pp_dots_transpose(B, n, d, d, Bt, ldb);
    for (size_t q = 0; q < nq; q++) {
      const size_t nnz = pp_dots_nonzeros(Q + q * d, d, idx, val);
      sparse_rows += nnz < d / 2;
      for (size_t k = 1; k < nnz; k++) assert_true(idx[k] > idx[k - 1] && val[k] != 0.0f);
      for (int p = 0; p < 3; p++) {
        if (paths[p] < 0) continue;
        pp_dots(Q + q * d, 1, d, d, Bt, ldb, n, want, n, paths[p]);
        memset(got, 0xA5, n * sizeof *got);
        pp_dots_sparse(idx, val, nnz, Bt, ldb, n, got, paths[p]);
        assert_memory_equal(got, want, n * sizeof *got);
      }
    }
    free(Bt);
    free(want);
    free(got);
  }
  assert_true(sparse_rows > 0);
  free(Q);
  free(B);
}

/* The decision function takes sparse rows through their nonzeros and runs of dense rows through
 * pp_dots: a block mixing both gives each row the value it has alone, on every path, and the same
 * value as the exact formula. */
static void test_sparse_rows_in_blocks(void **state) {
  (void)state;
  const size_t dense = 2, nblk = 20, lev = 5, d = dense + nblk * lev, nq = 70, ns = 45;
  float *Q = tu_xmalloc(nq * d * sizeof *Q), *X = tu_xmalloc(ns * d * sizeof *X), *y = tu_xmalloc(ns * sizeof *y);
  onehot_rows(Q, nq, dense, nblk, lev, 11);
  onehot_rows(X, ns, dense, nblk, lev, 12);
  double *alpha = tu_xmalloc(ns * sizeof *alpha);
  for (size_t i = 0; i < ns; i++) {
    y[i] = (float)(i % 3 == 0);
    alpha[i] = 0.1 + 0.8 * (double)(i % 9) / 9.0;
  }
  const double gamma = 0.05;
  pp_svc_model *m = NULL;
  assert_int_equal(pp_svc_model_build(X, ns, d, y, alpha, 0.25, PP_SVC_RBF, gamma, &m), 0);
  double *all = tu_xmalloc(nq * sizeof *all), *one = tu_xmalloc(nq * sizeof *one);
  const int paths[3] = {PP_SVC_PATH_PORTABLE, pp_cpu_avx2() ? PP_SVC_PATH_AVX2 : -1,
                        pp_svc_simd_active() ? PP_SVC_PATH_AVX512 : -1};
  double first[70];
  for (int p = 0; p < 3; p++) {
    if (paths[p] < 0) continue;
    assert_int_equal(pp_svc_decision_path(m, Q, nq, all, NULL, 1, paths[p]), 0);
    decide_in_blocks(m, Q, nq, 1, paths[p], one);
    assert_memory_equal(all, one, nq * sizeof *all);
    if (p == 0) memcpy(first, all, sizeof first);
    assert_memory_equal(all, first, sizeof first);
  }
  for (size_t q = 0; q < nq; q++) {
    double want = rbf_decision_ref(Q + q * d, X, y, alpha, ns, d, gamma, 0.25);
    assert_true(fabs(all[q] - want) <= 1e-4 * (1.0 + fabs(want)));
  }
  pp_svc_model_free(m);
  free(all);
  free(one);
  free(alpha);
  free(Q);
  free(X);
  free(y);
}

static void test_params_defaults(void **state) {
  (void)state;
  void *p = parse(NULL);
  json_t *j = pp_svc_ops.params_to_json(p);
  assert_non_null(j);
  assert_true(json_number_value(json_object_get(j, "C")) == 1.0);
  assert_string_equal(json_string_value(json_object_get(j, "kernel")), "rbf");
  assert_string_equal(json_string_value(json_object_get(j, "gamma")), "scale");
  assert_true(json_is_null(json_object_get(j, "class_weight")));
  assert_true(json_number_value(json_object_get(j, "tol")) == 1e-3);
  assert_int_equal(json_integer_value(json_object_get(j, "cache_mb")), 200);
  assert_int_equal(json_integer_value(json_object_get(j, "max_iter")), 0);
  assert_int_equal(json_integer_value(json_object_get(j, "max_train_rows")), 5000);
  assert_int_equal(json_integer_value(json_object_get(j, "probability_folds")), 5);
  assert_true(json_is_true(json_object_get(j, "shrinking")));
  /* the canonical JSON parses back to the same thing */
  char *s = json_dumps(j, JSON_SORT_KEYS);
  void *p2 = parse(s);
  json_t *j2 = pp_svc_ops.params_to_json(p2);
  assert_true(json_equal(j, j2));
  free(s);
  json_decref(j);
  json_decref(j2);
  pp_svc_ops.free_params(p);
  pp_svc_ops.free_params(p2);

  p = parse("{\"C\": 3.5, \"kernel\": \"linear\", \"gamma\": 0.25, \"class_weight\": \"balanced\", \"tol\": 0.01,"
            " \"cache_mb\": 16, \"max_iter\": 500, \"max_train_rows\": 0, \"probability_folds\": 3,"
            " \"shrinking\": false}");
  j = pp_svc_ops.params_to_json(p);
  assert_true(json_number_value(json_object_get(j, "gamma")) == 0.25);
  assert_string_equal(json_string_value(json_object_get(j, "class_weight")), "balanced");
  assert_true(json_is_false(json_object_get(j, "shrinking")));
  json_decref(j);
  pp_svc_ops.free_params(p);
}

static void test_params_bad_fields_are_named(void **state) {
  (void)state;
  parse_fails("{\"C\": -1}", "members[1].params.C");
  parse_fails("{\"C\": 0}", "members[1].params.C");
  parse_fails("{\"kernel\": \"poly\"}", "members[1].params.kernel");
  parse_fails("{\"gamma\": -2}", "members[1].params.gamma");
  parse_fails("{\"gamma\": 0}", "members[1].params.gamma");
  parse_fails("{\"gamma\": \"auto\"}", "members[1].params.gamma");
  parse_fails("{\"class_weight\": \"heavy\"}", "members[1].params.class_weight");
  parse_fails("{\"tol\": 0}", "members[1].params.tol");
  parse_fails("{\"cache_mb\": 0}", "members[1].params.cache_mb");
  parse_fails("{\"max_iter\": -3}", "members[1].params.max_iter");
  parse_fails("{\"max_train_rows\": 5}", "members[1].params.max_train_rows");
  parse_fails("{\"probability_folds\": 1}", "members[1].params.probability_folds");
  parse_fails("{\"shrinking\": 1}", "members[1].params.shrinking");
  parse_fails("{\"degree\": 3}", "members[1].params.degree");
  parse_fails("[1]", "members[1].params");
}

/* ---- the solver ---------------------------------------------------------------------------- */

/* Check the KKT conditions of a solution through the model's own decision function:
 * a_i = 0 -> y f >= 1 - tol;  0 < a_i < C_i -> |y f - 1| <= tol;  a_i = C_i -> y f <= 1 + tol,
 * and sum a_i y_i = 0.  slack covers single-precision kernel values. */
static void check_kkt(const float *X, const float *y, const double *C, size_t n, size_t d, const double *alpha,
                      double rho, int kernel, double gamma, double tol, double slack) {
  pp_svc_model *m = NULL;
  assert_int_equal(pp_svc_model_build(X, n, d, y, alpha, rho, kernel, gamma, &m), 0);
  double *f = tu_xmalloc(n * sizeof *f);
  assert_int_equal(pp_svc_decision(m, X, n, f, NULL, 1), 0);
  double sum = 0, asum = 0;
  size_t nfree = 0;
  for (size_t i = 0; i < n; i++) {
    double yi = y[i] > 0.5f ? 1 : -1, yf = yi * f[i];
    assert_true(alpha[i] >= 0 && alpha[i] <= C[i]);
    sum += yi * alpha[i];
    asum += alpha[i];
    if (alpha[i] == 0) {
      if (!(yf >= 1 - tol - slack)) fprintf(stderr, "row %zu: a=0, y f = %.6f\n", i, yf);
      assert_true(yf >= 1 - tol - slack);
    } else if (alpha[i] == C[i]) {
      if (!(yf <= 1 + tol + slack)) fprintf(stderr, "row %zu: a=C, y f = %.6f\n", i, yf);
      assert_true(yf <= 1 + tol + slack);
    } else {
      nfree++;
      if (!(fabs(yf - 1) <= tol + slack)) fprintf(stderr, "row %zu: free, y f = %.6f\n", i, yf);
      assert_true(fabs(yf - 1) <= tol + slack);
    }
  }
  assert_true(fabs(sum) <= 1e-9 * (asum + 1));
  assert_true(nfree > 0);
  free(f);
  pp_svc_model_free(m);
}

typedef struct solved {
  double *alpha;
  pp_svc_result res;
} solved;

static solved solve(const float *X, const float *y, const double *C, size_t n, size_t d, int kernel, float gamma,
                    const float *K, size_t cache_rows, int shrinking, double tol) {
  float *sq = tu_xmalloc(n * sizeof *sq);
  pp_svc_sqnorms(X, n, d, sq);
  pp_svc_problem pb;
  memset(&pb, 0, sizeof pb);
  pb.n = n;
  pb.y = y;
  pb.C = C;
  pb.kernel = kernel;
  pb.gamma = gamma;
  if (K) {
    pb.Kfull = K;
    pb.ldk = n;
  } else {
    pb.X = X;
    pb.sq = sq;
    pb.d = d;
  }
  pp_svc_opts o;
  memset(&o, 0, sizeof o);
  o.tol = tol;
  o.cache_bytes = cache_rows * n * sizeof(float);
  o.shrinking = shrinking;
  o.nthread = 1;
  solved s;
  s.alpha = tu_xmalloc(n * sizeof(double));
  assert_int_equal(pp_svc_solve(&pb, &o, s.alpha, &s.res), 0);
  assert_false(s.res.capped);
  free(sq);
  return s;
}

static void test_kkt_all_kernel_sources(void **state) {
  (void)state;
  const size_t n = 500, d = 4;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *sq = tu_xmalloc(n * sizeof *sq);
  double *C = tu_xmalloc(n * sizeof *C);
  tu_blobs(n, d, 0.35, 0.9, 7, X, y); /* overlapping: many bound and free support vectors */
  uint64_t st = 3;
  for (size_t i = 0; i < n; i++) C[i] = 0.5 + 1.5 * tu_uniform(&st); /* per-row bounds */
  const float gamma = 0.3f;
  pp_svc_sqnorms(X, n, d, sq);
  float *K = NULL;
  assert_int_equal(pp_svc_kernel_full(X, sq, n, d, PP_SVC_RBF, gamma, 2, &K), 0);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++) assert_true(K[i * n + j] == K[j * n + i]);

  const double tol = 1e-3;
  solved a = solve(X, y, C, n, d, PP_SVC_RBF, gamma, K, 0, 1, tol);    /* full matrix, shrinking */
  solved b = solve(X, y, C, n, d, PP_SVC_RBF, gamma, NULL, 3, 1, tol); /* 3-row LRU cache */
  solved c = solve(X, y, C, n, d, PP_SVC_RBF, gamma, NULL, 40, 0, tol); /* no shrinking */
  check_kkt(X, y, C, n, d, a.alpha, a.res.rho, PP_SVC_RBF, gamma, tol, 1e-4);
  check_kkt(X, y, C, n, d, b.alpha, b.res.rho, PP_SVC_RBF, gamma, tol, 1e-4);
  check_kkt(X, y, C, n, d, c.alpha, c.res.rho, PP_SVC_RBF, gamma, tol, 1e-4);
  /* the three reach the same optimum (within what tol allows) */
  assert_true(a.res.obj < 0);
  assert_true(fabs(a.res.obj - b.res.obj) <= 1e-3 * fabs(a.res.obj));
  assert_true(fabs(a.res.obj - c.res.obj) <= 1e-3 * fabs(a.res.obj));
  assert_true(fabs(a.res.rho - b.res.rho) < 0.01);
  free(a.alpha);
  free(b.alpha);
  free(c.alpha);
  free(K);
  free(X);
  free(y);
  free(sq);
  free(C);
}

static void test_linear_separable_hard_margin(void **state) {
  (void)state;
  const size_t n = 300, d = 3;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 21;
  /* two classes on either side of the plane x0 + 0.5 x1 - 0.25 x2 = 0, gap of 0.4 */
  for (size_t i = 0; i < n;) {
    double v[3];
    for (size_t k = 0; k < d; k++) v[k] = 4 * tu_uniform(&st) - 2;
    double s = v[0] + 0.5 * v[1] - 0.25 * v[2];
    if (fabs(s) < 0.4) continue;
    for (size_t k = 0; k < d; k++) X[i * d + k] = (float)v[k];
    y[i] = s > 0 ? 1.0f : 0.0f;
    i++;
  }
  pp_svc_model *m = fit("{\"kernel\": \"linear\", \"C\": 1000, \"tol\": 1e-4, \"class_weight\": \"none\"}", X, y, n,
                        d, PP_IMB_NONE, 1, 1);
  double *f = tu_xmalloc(n * sizeof *f), *p = tu_xmalloc(n * sizeof *p);
  assert_int_equal(pp_svc_decision(m, X, n, f, NULL, 1), 0);
  assert_int_equal(pp_svc_ops.predict(m, X, n, p, NULL, 1), 0);
  size_t correct = 0;
  for (size_t i = 0; i < n; i++) {
    double yi = y[i] > 0.5f ? 1 : -1;
    assert_true(yi * f[i] >= 1 - 1e-3); /* no margin errors */
    correct += (f[i] > 0) == (y[i] > 0.5f);
    assert_true((p[i] > 0.5) == (y[i] > 0.5f));
  }
  assert_int_equal(correct, n);
  /* the hard-margin plane is close to the generating one: w proportional to (1, 0.5, -0.25) */
  assert_non_null(m->w);
  assert_true(m->w[0] > 0 && fabs(m->w[1] / m->w[0] - 0.5) < 0.1 && fabs(m->w[2] / m->w[0] + 0.25) < 0.1);
  assert_true(m->nsv < n / 4);
  free(f);
  free(p);
  pp_svc_ops.free_model(m);
  free(X);
  free(y);
}

/* ---- the member ------------------------------------------------------------------------------ */

static void test_rbf_blobs_auc_and_probabilities(void **state) {
  (void)state;
  const size_t n = 800, nt = 1000, d = 5;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.3, 1.2, 1, &X, &y);
  float *Xt, *yt;
  tu_blobs_alloc(nt, d, 0.3, 1.2, 2, &Xt, &yt);
  pp_svc_model *m = fit(NULL, X, y, n, d, PP_IMB_WEIGHTS, 5, 2);
  double *p = tu_xmalloc(nt * sizeof *p);
  assert_int_equal(pp_svc_ops.predict(m, Xt, nt, p, NULL, 2), 0);
  double mean = 0, ymean = 0;
  for (size_t i = 0; i < nt; i++) {
    assert_true(p[i] >= 0.0 && p[i] <= 1.0);
    mean += p[i];
    ymean += yt[i];
  }
  double auc = tu_auc_ref(p, yt, nt);
  assert_true(auc > 0.95);
  /* Platt on out-of-fold values: calibrated on average */
  assert_true(fabs(mean / nt - ymean / nt) < 0.05);
  assert_true(m->A < 0);
  assert_true(info_num(m, "n_sv") > 0 && info_num(m, "n_sv") < n);
  assert_true(info_num(m, "gamma") > 0);
  assert_true(info_num(m, "rows_used") == n);
  assert_true(info_num(m, "cap_applied") == 0);
  free(p);
  pp_svc_ops.free_model(m);
  free(X);
  free(y);
  free(Xt);
  free(yt);
}

static void test_gamma_scale(void **state) {
  (void)state;
  const size_t n = 200, d = 3;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.5, 1.0, 4, &X, &y);
  double mean = 0, m2 = 0;
  for (size_t i = 0; i < n * d; i++) mean += X[i];
  mean /= (double)(n * d);
  for (size_t i = 0; i < n * d; i++) m2 += (X[i] - mean) * (X[i] - mean);
  double want = 1.0 / ((double)d * m2 / (double)(n * d));
  pp_svc_model *m = fit(NULL, X, y, n, d, PP_IMB_NONE, 1, 1);
  assert_true(fabs(m->gamma - want) < 1e-9 * want);
  pp_svc_ops.free_model(m);
  m = fit("{\"gamma\": 0.125}", X, y, n, d, PP_IMB_NONE, 1, 1);
  assert_true(m->gamma == 0.125);
  pp_svc_ops.free_model(m);
  free(X);
  free(y);
}

static void test_single_row_scratch_and_threads_agree(void **state) {
  (void)state;
  const size_t n = 600, nt = 300, d = 6;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.4, 0.6, 8, &X, &y);
  float *Xt, *yt;
  tu_blobs_alloc(nt, d, 0.4, 0.6, 9, &Xt, &yt);
  pp_svc_model *m = fit(NULL, X, y, n, d, PP_IMB_NONE, 3, 2);
  double *pb = tu_xmalloc(nt * sizeof *pb), *p2 = tu_xmalloc(nt * sizeof *p2), p1;
  assert_int_equal(pp_svc_ops.predict(m, Xt, nt, pb, NULL, 1), 0);
  assert_int_equal(pp_svc_ops.predict(m, Xt, nt, p2, NULL, 2), 0);
  assert_memory_equal(pb, p2, nt * sizeof *pb);
  size_t sb = pp_svc_ops.scratch_bytes(m, 1);
  assert_true(sb > 0);
  void *scratch = tu_xmalloc(sb);
  for (size_t i = 0; i < nt; i++) {
    assert_int_equal(pp_svc_ops.predict(m, Xt + i * d, 1, &p1, scratch, 1), 0);
    assert_memory_equal(&p1, &pb[i], sizeof p1); /* a row's probability does not depend on its batch */
  }
  /* batch with caller scratch */
  void *big = tu_xmalloc(pp_svc_ops.scratch_bytes(m, nt));
  assert_int_equal(pp_svc_ops.predict(m, Xt, nt, p2, big, 1), 0);
  assert_memory_equal(pb, p2, nt * sizeof *pb);
  free(big);
  free(scratch);

  /* the fit does not depend on the thread count; it does on the seed (folds) */
  pp_svc_model *m1 = fit(NULL, X, y, n, d, PP_IMB_NONE, 3, 1);
  assert_int_equal(pp_svc_ops.predict(m1, Xt, nt, p2, NULL, 1), 0);
  assert_memory_equal(pb, p2, nt * sizeof *pb);
  pp_svc_model *m3 = fit(NULL, X, y, n, d, PP_IMB_NONE, 4, 2);
  assert_true(m3->A != m->A || m3->B != m->B);
  assert_true(m3->rho == m->rho); /* the final SVM uses every row whatever the folds */
  pp_svc_ops.free_model(m1);
  pp_svc_ops.free_model(m3);
  free(pb);
  free(p2);
  pp_svc_ops.free_model(m);
  free(X);
  free(y);
  free(Xt);
  free(yt);
}

static void test_row_cache_mode(void **state) {
  (void)state;
  /* 1200 rows: the Gram matrix (5.5 MiB) does not fit cache_mb = 1, rows go through the LRU */
  const size_t n = 1200, nt = 500, d = 4;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.3, 0.8, 12, &X, &y);
  float *Xt, *yt;
  tu_blobs_alloc(nt, d, 0.3, 0.8, 13, &Xt, &yt);
  pp_svc_model *a = fit("{\"cache_mb\": 1}", X, y, n, d, PP_IMB_NONE, 1, 2);
  pp_svc_model *b = fit(NULL, X, y, n, d, PP_IMB_NONE, 1, 2);
  json_t *o = pp_svc_ops.info(a);
  assert_string_equal(json_string_value(json_object_get(o, "kernel_matrix")), "row cache");
  json_decref(o);
  o = pp_svc_ops.info(b);
  assert_string_equal(json_string_value(json_object_get(o, "kernel_matrix")), "full");
  json_decref(o);
  double *pa = tu_xmalloc(nt * sizeof *pa), *pb = tu_xmalloc(nt * sizeof *pb);
  assert_int_equal(pp_svc_ops.predict(a, Xt, nt, pa, NULL, 1), 0);
  assert_int_equal(pp_svc_ops.predict(b, Xt, nt, pb, NULL, 1), 0);
  for (size_t i = 0; i < nt; i++) assert_true(fabs(pa[i] - pb[i]) < 0.01);
  assert_true(fabs(tu_auc_ref(pa, yt, nt) - tu_auc_ref(pb, yt, nt)) < 0.005);
  free(pa);
  free(pb);
  pp_svc_ops.free_model(a);
  pp_svc_ops.free_model(b);
  free(X);
  free(y);
  free(Xt);
  free(yt);
}

static void test_max_train_rows_cap(void **state) {
  (void)state;
  const size_t n = 1500, d = 3;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.2, 1.0, 31, &X, &y);
  pp_svc_model *m = fit("{\"max_train_rows\": 300}", X, y, n, d, PP_IMB_NONE, 2, 2);
  assert_true(info_num(m, "cap_applied") == 1);
  assert_true(info_num(m, "rows_used") == 300);
  assert_true(info_num(m, "rows_available") == n);
  assert_true(info_num(m, "max_train_rows") == 300);
  assert_true(m->nsv <= 300);
  pp_svc_ops.free_model(m);
  m = fit("{\"max_train_rows\": 0}", X, y, n, d, PP_IMB_NONE, 2, 2);
  assert_true(info_num(m, "cap_applied") == 0);
  assert_true(info_num(m, "rows_used") == n);
  pp_svc_ops.free_model(m);
  free(X);
  free(y);
}

static void test_class_weights_and_sample_weights(void **state) {
  (void)state;
  const size_t n = 400, d = 3;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *w = tu_xmalloc(n * sizeof *w);
  tu_blobs(n, d, 0.15, 0.7, 41, X, y);
  pp_svc_model *none = fit("{\"class_weight\": \"none\"}", X, y, n, d, PP_IMB_WEIGHTS, 1, 1);
  pp_svc_model *bal = fit("{\"class_weight\": \"balanced\"}", X, y, n, d, PP_IMB_NONE, 1, 1);
  pp_svc_model *follow = fit(NULL, X, y, n, d, PP_IMB_WEIGHTS, 1, 1);
  /* balanced weights move the threshold towards the minority (positive) class */
  assert_true(-bal->rho > -none->rho);
  assert_true(follow->rho == bal->rho && follow->nsv == bal->nsv);
  /* sample weights: all 2.0 equals C doubled */
  for (size_t i = 0; i < n; i++) w[i] = 2.0f;
  void *params = parse("{\"class_weight\": \"none\"}");
  pp_dataset ds = {X, n, d, y, w, NULL, PP_IMB_NONE};
  pp_ctx c = tu_ctx(1, 1, NULL);
  void *mw = NULL;
  assert_int_equal(pp_svc_ops.fit(params, &ds, NULL, &c, &mw), 0);
  pp_svc_model *c2 = fit("{\"class_weight\": \"none\", \"C\": 2}", X, y, n, d, PP_IMB_NONE, 1, 1);
  assert_true(((pp_svc_model *)mw)->nsv == c2->nsv);
  assert_true(fabs(((pp_svc_model *)mw)->rho - c2->rho) < 1e-12);
  pp_svc_ops.free_params(params);
  pp_svc_ops.free_model(mw);
  pp_svc_ops.free_model(c2);
  pp_svc_ops.free_model(none);
  pp_svc_ops.free_model(bal);
  pp_svc_ops.free_model(follow);
  free(X);
  free(y);
  free(w);
}

static void test_fit_errors_and_limits(void **state) {
  (void)state;
  const size_t n = 300, d = 2;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.5, 0.5, 51, &X, &y);
  void *params = parse(NULL);
  pp_ctx c = tu_ctx(1, 1, NULL);
  void *model = NULL;
  /* one class */
  float *y1 = tu_xmalloc(n * sizeof *y1);
  for (size_t i = 0; i < n; i++) y1[i] = 1.0f;
  pp_dataset ds1 = {X, n, d, y1, NULL, NULL, PP_IMB_NONE};
  assert_int_equal(pp_svc_ops.fit(params, &ds1, NULL, &c, &model), PROP_ERR_TRAIN);
  assert_null(model);
  /* bad sample weight */
  float *w = tu_xmalloc(n * sizeof *w);
  for (size_t i = 0; i < n; i++) w[i] = 1.0f;
  w[7] = 0.0f;
  pp_dataset dsw = {X, n, d, y, w, NULL, PP_IMB_NONE};
  assert_int_equal(pp_svc_ops.fit(params, &dsw, NULL, &c, &model), PROP_ERR_VALUE);
  assert_null(model);
  pp_svc_ops.free_params(params);

  /* max_iter: the solves stop early, with a warning, and the model still scores */
  tu_log lc;
  memset(&lc, 0, sizeof lc);
  params = parse("{\"max_iter\": 5}");
  pp_ctx cl = tu_ctx(1, 2, &lc);
  pp_dataset ds = {X, n, d, y, NULL, NULL, PP_IMB_NONE};
  assert_int_equal(pp_svc_ops.fit(params, &ds, NULL, &cl, &model), 0);
  assert_true(lc.warns >= 1);
  assert_true(info_num(model, "iteration_limit_hit") == 1);
  assert_true(info_num(model, "iterations") == 5);
  double p[3];
  assert_int_equal(pp_svc_ops.predict(model, X, 3, p, NULL, 1), 0);
  for (int i = 0; i < 3; i++) assert_true(p[i] >= 0 && p[i] <= 1);
  pp_svc_ops.free_model(model);
  pp_svc_ops.free_params(params);
  free(y1);
  free(w);
  free(X);
  free(y);
}

static void test_degenerate_data(void **state) {
  (void)state;
  double p[20];
  /* two rows, one per class: every probability fold trains on one class */
  float X2[2] = {-1.0f, 1.0f}, y2[2] = {0.0f, 1.0f};
  tu_log lg;
  memset(&lg, 0, sizeof lg);
  pp_dataset ds2 = {X2, 2, 1, y2, NULL, NULL, PP_IMB_NONE};
  pp_ctx c2 = tu_ctx(1, 2, &lg);
  pp_svc_model *m = tu_fit(&pp_svc_ops, NULL, &ds2, NULL, &c2);
  /* the folds skip their solves: none of them stopped at the iteration limit (their results were read
   * uninitialised before, which UBSan once caught as an overflow in the count of such solves) */
  assert_int_equal(lg.warns, 1); /* only this one: */
  assert_non_null(strstr(lg.last_warn, "decision values do not rank the rows"));
  assert_int_equal(pp_svc_ops.predict(m, X2, 2, p, NULL, 1), 0);
  assert_true(p[1] > p[0]);
  pp_svc_ops.free_model(m);
  /* identical rows with both labels: the kernel matrix is all ones */
  float X[20 * 2], y[20];
  for (int i = 0; i < 20; i++) {
    X[2 * i] = 0.5f;
    X[2 * i + 1] = -0.5f;
    y[i] = (float)(i % 3 == 0);
  }
  m = fit(NULL, X, y, 20, 2, PP_IMB_NONE, 1, 1);
  assert_int_equal(pp_svc_ops.predict(m, X, 20, p, NULL, 1), 0);
  for (int i = 0; i < 20; i++) assert_true(p[i] >= 0 && p[i] <= 1 && p[i] == p[0]);
  pp_svc_ops.free_model(m);
  /* a class with a single row among many */
  const size_t n = 60;
  float *Xb, *yb;
  tu_blobs_alloc(n, 3, 0.5, 1.0, 81, &Xb, &yb);
  for (size_t i = 0; i < n; i++) yb[i] = i == 17 ? 1.0f : 0.0f;
  m = fit("{\"class_weight\": \"balanced\"}", Xb, yb, n, 3, PP_IMB_NONE, 1, 2);
  assert_int_equal(pp_svc_ops.predict(m, Xb, 20, p, NULL, 1), 0);
  for (int i = 0; i < 20; i++) assert_true(p[i] >= 0 && p[i] <= 1);
  pp_svc_ops.free_model(m);
  free(Xb);
  free(yb);
}

static int cancel_cb(void *user, const char *stage, size_t done, size_t total) {
  (void)stage;
  (void)done;
  (void)total;
  int *calls = user;
  return ++*calls >= 2;
}

static void test_cancel(void **state) {
  (void)state;
  const size_t n = 300, d = 2;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.5, 0.5, 52, &X, &y);
  void *params = parse(NULL);
  int calls = 0;
  pp_ctx c = tu_ctx(1, 2, NULL);
  c.progress = cancel_cb;
  c.user = &calls;
  void *model = NULL;
  pp_dataset ds = {X, n, d, y, NULL, NULL, PP_IMB_NONE};
  assert_int_equal(pp_svc_ops.fit(params, &ds, NULL, &c, &model), PROP_ERR_CANCELLED);
  assert_null(model);
  pp_svc_ops.free_params(params);
  free(X);
  free(y);
}

/* ---- save / load ------------------------------------------------------------------------------ */

static void test_save_load_bitwise(void **state) {
  (void)state;
  const size_t n = 400, nt = 200, d = 4;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.3, 0.8, 61, &X, &y);
  float *Xt, *yt;
  tu_blobs_alloc(nt, d, 0.3, 0.8, 62, &Xt, &yt);
  for (int kernel = 0; kernel < 2; kernel++) {
    pp_svc_model *m = fit(kernel ? "{\"kernel\": \"linear\"}" : NULL, X, y, n, d, PP_IMB_NONE, 1, 2);
    pp_buf b;
    void *l = tu_reload(&pp_svc_ops, m, d, &b);
    double *p1 = tu_xmalloc(nt * sizeof *p1), *p2 = tu_xmalloc(nt * sizeof *p2);
    assert_int_equal(pp_svc_ops.predict(m, Xt, nt, p1, NULL, 1), 0);
    assert_int_equal(pp_svc_ops.predict(l, Xt, nt, p2, NULL, 1), 0);
    assert_memory_equal(p1, p2, nt * sizeof *p1);
    /* info survives */
    assert_true(info_num(l, "n_sv") == (double)m->nsv);
    assert_true(info_num(l, "rows_used") == n);
    free(p1);
    free(p2);
    pp_svc_ops.free_model(l);
    pp_svc_ops.free_model(m);
    pp_buf_free(&b);
  }
  free(X);
  free(y);
  free(Xt);
  free(yt);
}

static void test_load_rejects_bad_payloads(void **state) {
  (void)state;
  const size_t n = 150, d = 3;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.4, 0.8, 71, &X, &y);
  pp_svc_model *m = fit(NULL, X, y, n, d, PP_IMB_NONE, 1, 1);
  pp_buf b;
  tu_save(&pp_svc_ops, m, &b);
  void *l = NULL;
  /* every truncation and every byte flip fails cleanly or loads a model with probabilities in [0, 1]
   * (a gamma flipped beyond single precision used to load and predict NaN) */
  const unsigned char masks[2] = {0x80, 0x01};
  tu_fuzz_member(&pp_svc_ops, b.data, b.len, d, masks, 2, X, 10);
  /* wrong width */
  assert_int_equal(tu_load(&pp_svc_ops, b.data, b.len, d + 1, &l), PROP_ERR_CORRUPT);
  unsigned char *c = tu_xmalloc(b.len);
  /* newer version */
  memcpy(c, b.data, b.len);
  c[0] = 99;
  assert_int_equal(tu_load(&pp_svc_ops, c, b.len, d, &l), PROP_ERR_VERSION);
  /* unknown kernel */
  memcpy(c, b.data, b.len);
  c[4] = 7;
  assert_int_equal(tu_load(&pp_svc_ops, c, b.len, d, &l), PROP_ERR_CORRUPT);
  /* layout: u32 ver, u32 kernel, u64 d, f64 gamma rho A B, u64 x4, u8 flags, u64 nsv, ... */
  const size_t off_gamma = 16, off_nsv = 16 + 32 + 32 + 1, off_coef = off_nsv + 8;
  /* NaN gamma */
  memcpy(c, b.data, b.len);
  double nan = NAN;
  memcpy(c + off_gamma, &nan, 8);
  assert_int_equal(tu_load(&pp_svc_ops, c, b.len, d, &l), PROP_ERR_CORRUPT);
  /* huge support-vector count */
  memcpy(c, b.data, b.len);
  uint64_t huge = (uint64_t)1 << 60;
  memcpy(c + off_nsv, &huge, 8);
  assert_int_equal(tu_load(&pp_svc_ops, c, b.len, d, &l), PROP_ERR_CORRUPT);
  assert_non_null(strstr(prop_last_error(), "n_sv"));
  /* non-finite coefficient */
  memcpy(c, b.data, b.len);
  double inf = INFINITY;
  memcpy(c + off_coef, &inf, 8);
  assert_int_equal(tu_load(&pp_svc_ops, c, b.len, d, &l), PROP_ERR_CORRUPT);
  /* non-finite support vector entry (the last float of the payload) */
  memcpy(c, b.data, b.len);
  float fnan = NAN;
  memcpy(c + b.len - 4, &fnan, 4);
  assert_int_equal(tu_load(&pp_svc_ops, c, b.len, d, &l), PROP_ERR_CORRUPT);
  /* the untouched payload still loads */
  memcpy(c, b.data, b.len);
  assert_int_equal(tu_load(&pp_svc_ops, c, b.len, d, &l), 0);
  pp_svc_ops.free_model(l);
  free(c);
  pp_buf_free(&b);
  pp_svc_ops.free_model(m);
  free(X);
  free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fast_exp_accuracy),
      cmocka_unit_test(test_kernel_blocks),
      cmocka_unit_test(test_simd_and_portable_paths_agree),
      cmocka_unit_test(test_sparse_dots_same_bits),
      cmocka_unit_test(test_sparse_rows_in_blocks),
      cmocka_unit_test(test_params_defaults),
      cmocka_unit_test(test_params_bad_fields_are_named),
      cmocka_unit_test(test_kkt_all_kernel_sources),
      cmocka_unit_test(test_linear_separable_hard_margin),
      cmocka_unit_test(test_rbf_blobs_auc_and_probabilities),
      cmocka_unit_test(test_gamma_scale),
      cmocka_unit_test(test_single_row_scratch_and_threads_agree),
      cmocka_unit_test(test_row_cache_mode),
      cmocka_unit_test(test_max_train_rows_cap),
      cmocka_unit_test(test_class_weights_and_sample_weights),
      cmocka_unit_test(test_fit_errors_and_limits),
      cmocka_unit_test(test_degenerate_data),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_save_load_bitwise),
      cmocka_unit_test(test_load_rejects_bad_payloads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
