/* The "logistic" member (lib/models/logistic.c): parameters, coefficients against closed forms
 * and an independent gradient-descent solve, weights, separable data, the iteration limit,
 * thread-count invariance, save/load and crafted payloads; the predict paths (portable and
 * AVX-512) bit for bit, and against the sigmoid of the coefficients computed here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "models/logistic_internal.h"
#include "models/member.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void *parse(const char *js) { return tu_params(&pp_logistic_ops, js); }

static void parse_fails(const char *js, const char *must_contain) {
  tu_expect_recipe_error(&pp_logistic_ops, "members[5].params", js, must_contain);
}

static void *fit_full(const char *params_json, const float *X, const float *y, const float *w, size_t n, size_t d,
                      int imbalance, int nthread, tu_log *lg) {
  pp_dataset ds = {X, n, d, y, w, NULL, imbalance};
  pp_ctx c = tu_ctx(1, nthread, lg);
  return tu_fit(&pp_logistic_ops, params_json, &ds, NULL, &c);
}

static void *fit(const char *params_json, const float *X, const float *y, size_t n, size_t d) {
  return fit_full(params_json, X, y, NULL, n, d, PP_IMB_NONE, 2, NULL);
}

static double info_num(const void *model, const char *key) { return tu_info_num(&pp_logistic_ops, model, key); }

/* Coefficients and intercept of a model, read back from its saved payload
 * (u32 version, u64 d, u8 class_weight, u8 converged, u32 iterations, f64 C, f64 gradient,
 * f64 intercept, f64 beta[d], f64 mean[d]). */
static void coefs(const void *m, size_t d, double *beta, double *b) {
  pp_buf buf;
  tu_save(&pp_logistic_ops, m, &buf);
  assert_int_equal(buf.len, 42 + 16 * d);
  memcpy(b, buf.data + 34, 8);
  memcpy(beta, buf.data + 42, 8 * d);
  pp_buf_free(&buf);
}

/* ---- parameters ------------------------------------------------------------------------------- */

static void test_params(void **state) {
  (void)state;
  void *p = parse(NULL);
  json_t *j = pp_logistic_ops.params_to_json(p);
  assert_true(json_number_value(json_object_get(j, "C")) == 1.0);
  assert_true(json_is_null(json_object_get(j, "class_weight")));
  assert_int_equal(json_integer_value(json_object_get(j, "max_iter")), 100);
  assert_true(json_number_value(json_object_get(j, "tol")) == 1e-6);
  char *s = json_dumps(j, JSON_SORT_KEYS);
  void *p2 = parse(s);
  json_t *j2 = pp_logistic_ops.params_to_json(p2);
  assert_true(json_equal(j, j2));
  free(s);
  json_decref(j);
  json_decref(j2);
  pp_logistic_ops.free_params(p);
  pp_logistic_ops.free_params(p2);
  parse_fails("{\"C\": 0}", "members[5].params.C");
  parse_fails("{\"C\": -2}", "members[5].params.C");
  parse_fails("{\"C\": \"big\"}", "members[5].params.C");
  parse_fails("{\"max_iter\": 0}", "members[5].params.max_iter");
  parse_fails("{\"tol\": 0}", "members[5].params.tol");
  parse_fails("{\"tol\": 3}", "members[5].params.tol");
  parse_fails("{\"class_weight\": \"auto\"}", "members[5].params.class_weight");
  parse_fails("{\"penalty\": \"l1\"}", "members[5].params.penalty");
}

/* ---- known answers ---------------------------------------------------------------------------- */

/* One binary feature: the unpenalised maximum-likelihood fit (C huge) has the intercept at the
 * log-odds of group 0 and the coefficient at the log-odds ratio of the groups; with weights,
 * the weighted counts take the place of the counts. */
static void test_binary_feature_closed_form(void **state) {
  (void)state;
  const size_t n0 = 50, n1 = 70;
  const size_t r0 = 12, r1 = 40; /* positives per group */
  const size_t n = n0 + n1;
  float *X = tu_xmalloc(n * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *w = tu_xmalloc(n * sizeof *w);
  for (size_t i = 0; i < n; i++) {
    int g = i >= n0;
    size_t k = g ? i - n0 : i;
    X[i] = (float)g;
    y[i] = (float)(k < (g ? r1 : r0));
    w[i] = (float)(1 + i % 3);
  }
  double beta, b;
  void *m = fit("{\"C\": 1e9, \"tol\": 1e-10}", X, y, n, 1);
  coefs(m, 1, &beta, &b);
  double lo0 = log((double)r0 / (double)(n0 - r0)), lo1 = log((double)r1 / (double)(n1 - r1));
  assert_true(fabs(b - lo0) < 1e-6);
  assert_true(fabs(beta - (lo1 - lo0)) < 1e-6);
  assert_true(info_num(m, "converged") == 1);
  pp_logistic_ops.free_model(m);
  /* sample weights */
  double sp[2] = {0, 0}, sn[2] = {0, 0};
  for (size_t i = 0; i < n; i++) {
    int g = X[i] > 0.5f;
    if (y[i] > 0.5f) sp[g] += w[i];
    else sn[g] += w[i];
  }
  m = fit_full("{\"C\": 1e9, \"tol\": 1e-10}", X, y, w, n, 1, PP_IMB_NONE, 1, NULL);
  coefs(m, 1, &beta, &b);
  assert_true(fabs(b - log(sp[0] / sn[0])) < 1e-6);
  assert_true(fabs(beta - (log(sp[1] / sn[1]) - log(sp[0] / sn[0]))) < 1e-6);
  pp_logistic_ops.free_model(m);
  /* balanced class weights (imbalance = weights): positives count n / (2 npos), negatives n / (2 nneg) */
  double npos = (double)(r0 + r1), wp = (double)n / (2 * npos), wn = (double)n / (2 * ((double)n - npos));
  m = fit_full("{\"C\": 1e9, \"tol\": 1e-10}", X, y, NULL, n, 1, PP_IMB_WEIGHTS, 1, NULL);
  coefs(m, 1, &beta, &b);
  double c0 = log((double)r0 * wp / ((double)(n0 - r0) * wn)), c1 = log((double)r1 * wp / ((double)(n1 - r1) * wn));
  assert_true(fabs(b - c0) < 1e-6);
  assert_true(fabs(beta - (c1 - c0)) < 1e-6);
  json_t *info = pp_logistic_ops.info(m);
  assert_string_equal(json_string_value(json_object_get(info, "class_weight")), "balanced");
  json_decref(info);
  pp_logistic_ops.free_model(m);
  /* "none" overrides the recipe's imbalance */
  m = fit_full("{\"C\": 1e9, \"tol\": 1e-10, \"class_weight\": \"none\"}", X, y, NULL, n, 1, PP_IMB_WEIGHTS, 1, NULL);
  coefs(m, 1, &beta, &b);
  assert_true(fabs(b - lo0) < 1e-6);
  pp_logistic_ops.free_model(m);
  free(X);
  free(y);
  free(w);
}

/* Objective and gradient of C * sum logloss + 0.5 |beta|^2 (intercept last, unpenalised). */
static double gd_grad(const float *X, const float *y, size_t n, size_t d, double C, const double *t, double *g) {
  double f = 0;
  memset(g, 0, (d + 1) * sizeof *g);
  for (size_t i = 0; i < n; i++) {
    double z = t[d];
    for (size_t j = 0; j < d; j++) z += t[j] * X[i * d + j];
    double p = 1.0 / (1.0 + exp(-z));
    f += C * (log1p(exp(-fabs(z))) + (z > 0 ? z : 0) - y[i] * z);
    for (size_t j = 0; j < d; j++) g[j] += C * (p - y[i]) * X[i * d + j];
    g[d] += C * (p - y[i]);
  }
  for (size_t j = 0; j < d; j++) {
    f += 0.5 * t[j] * t[j];
    g[j] += t[j];
  }
  return f;
}

/* The Newton fit agrees with a plain gradient descent run to convergence. */
static void test_matches_gradient_descent(void **state) {
  (void)state;
  const size_t n = 80, d = 3;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.4, 0.9, 21, &X, &y);
  const double Cs[] = {1.0, 0.05};
  for (int c = 0; c < 2; c++) {
    double C = Cs[c];
    double L = 1.0; /* Lipschitz constant of the gradient: C sum |[x, 1]|^2 / 4 + 1 */
    for (size_t i = 0; i < n; i++) {
      double s = 1;
      for (size_t j = 0; j < d; j++) s += (double)X[i * d + j] * X[i * d + j];
      L += C * s / 4;
    }
    double t[4] = {0, 0, 0, 0}, g[4];
    for (int it = 0; it < 200000; it++) {
      gd_grad(X, y, n, d, C, t, g);
      double gm = 0;
      for (size_t j = 0; j <= d; j++) gm = fmax(gm, fabs(g[j]));
      if (gm < 1e-12) break;
      for (size_t j = 0; j <= d; j++) t[j] -= g[j] / L;
    }
    char js[64];
    snprintf(js, sizeof js, "{\"C\": %g, \"tol\": 1e-10}", C);
    void *m = fit(js, X, y, n, d);
    double beta[3], b;
    coefs(m, d, beta, &b);
    for (size_t j = 0; j < d; j++) assert_true(fabs(beta[j] - t[j]) < 1e-8);
    assert_true(fabs(b - t[d]) < 1e-8);
    assert_true(info_num(m, "converged") == 1);
    assert_true(info_num(m, "iterations") >= 2 && info_num(m, "iterations") <= 20);
    assert_true(info_num(m, "gradient") <= 1e-10);
    /* importance is |beta| */
    double imp[3];
    assert_int_equal(pp_logistic_ops.importance(m, imp, d), 0);
    for (size_t j = 0; j < d; j++) assert_true(imp[j] == fabs(beta[j]));
    assert_int_equal(pp_logistic_ops.importance(m, imp, d + 1), PROP_ERR_ARG);
    /* predictions: the sigmoid of the linear score, the same on every path */
    double p[80], q[80];
    assert_int_equal(pp_logistic_ops.predict(m, X, n, p, NULL, 2), 0);
    assert_int_equal(pp_logistic_ops.scratch_bytes(m, 1), 0);
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(pp_logistic_ops.predict(m, X + i * d, 1, &q[i], NULL, 1), 0);
      if (i < 3) continue; /* their scores cancel terms of 1e30: the order of the sum decides them */
      double z = b;
      for (size_t j = 0; j < d; j++) z += beta[j] * X[i * d + j];
      assert_true(fabs(p[i] - 1.0 / (1.0 + exp(-z))) <= 1e-15);
    }
    assert_memory_equal(p, q, sizeof p);
    pp_logistic_ops.free_model(m);
  }
  free(X);
  free(y);
}

/* Rows of one-hot blocks (most of their values zero) take the Hessian's sparse pass, the others its
 * dense one: a mix of both fits the same optimum as gradient descent, in Newton's few steps (a wrong
 * sum in either pass would move the optimum or stall the steps). */
static void test_sparse_rows_match_gradient_descent(void **state) {
  (void)state;
  const size_t n = 120, nblk = 3, lev = 3, d = 1 + nblk * lev;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint64_t r = 77;
  for (size_t i = 0; i < n; i++) {
    float *x = X + i * d;
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    x[0] = (float)((r >> 40) & 0xFFFF) / 65536.0f * 2.0f - 1.0f;
    double z = 0.8 * x[0] - 0.3;
    for (size_t b = 0; b < nblk; b++) {
      const size_t hot = (i * (b + 2) + b) % lev;
      for (size_t l = 0; l < lev; l++) x[1 + b * lev + l] = l == hot ? 1.0f : (i % 4 == 3 ? 0.25f : 0.0f);
      z += hot == 0 ? 0.7 : -0.4;
    }
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    y[i] = (float)((double)((r >> 40) & 0xFFFF) / 65536.0 < 1.0 / (1.0 + exp(-z)));
  }
  double L = 1.0, t[11] = {0}, g[11];
  for (size_t i = 0; i < n; i++) {
    double sq = 1;
    for (size_t j = 0; j < d; j++) sq += (double)X[i * d + j] * X[i * d + j];
    L += sq / 4;
  }
  for (int it = 0; it < 400000; it++) {
    gd_grad(X, y, n, d, 1.0, t, g);
    double gm = 0;
    for (size_t j = 0; j <= d; j++) gm = fmax(gm, fabs(g[j]));
    if (gm < 1e-12) break;
    for (size_t j = 0; j <= d; j++) t[j] -= g[j] / L;
  }
  void *m = fit("{\"C\": 1.0, \"tol\": 1e-10}", X, y, n, d);
  double beta[10], b;
  coefs(m, d, beta, &b);
  for (size_t j = 0; j < d; j++) assert_true(fabs(beta[j] - t[j]) < 1e-8);
  assert_true(fabs(b - t[d]) < 1e-8);
  assert_true(info_num(m, "converged") == 1);
  assert_true(info_num(m, "iterations") <= 12);
  pp_logistic_ops.free_model(m);
  free(X);
  free(y);
}

/* Perfectly separable data: L2 keeps the coefficients finite and the fit converges. */
static void test_separable(void **state) {
  (void)state;
  const size_t n = 200, d = 2;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 8;
  for (size_t i = 0; i < n; i++) {
    double a = tu_normal(&st), c = tu_normal(&st);
    X[i * d] = (float)a;
    X[i * d + 1] = (float)c;
    y[i] = a + c > 0.1 ? 1.0f : 0.0f;
  }
  const char *cs[] = {"{\"C\": 1}", "{\"C\": 1e4}", "{\"C\": 1e8, \"max_iter\": 200}"};
  double prev = 0;
  for (int k = 0; k < 3; k++) {
    void *m = fit(cs[k], X, y, n, d);
    double beta[2], b;
    coefs(m, d, beta, &b);
    assert_true(isfinite(beta[0]) && isfinite(beta[1]) && isfinite(b));
    assert_true(info_num(m, "converged") == 1);
    double norm = hypot(beta[0], beta[1]);
    assert_true(norm > prev); /* weaker penalty, larger coefficients */
    prev = norm;
    assert_true(fabs(beta[0] - beta[1]) < 0.2 * norm); /* along the separating direction */
    double p[200];
    assert_int_equal(pp_logistic_ops.predict(m, X, n, p, NULL, 1), 0);
    for (size_t i = 0; i < n; i++) {
      assert_true(p[i] >= 0 && p[i] <= 1);
      if (k > 0) assert_true((p[i] > 0.5) == (y[i] > 0.5f));
    }
    pp_logistic_ops.free_model(m);
  }
  free(X);
  free(y);
}

/* max_iter reached: the last iterate is kept, with a warning and converged = false. */
static void test_iteration_limit(void **state) {
  (void)state;
  const size_t n = 300, d = 4;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.3, 1.0, 33, &X, &y);
  tu_log lc;
  memset(&lc, 0, sizeof lc);
  void *m = fit_full("{\"max_iter\": 1, \"tol\": 1e-12}", X, y, NULL, n, d, PP_IMB_NONE, 1, &lc);
  assert_true(info_num(m, "converged") == 0);
  assert_true(info_num(m, "iterations") == 1);
  assert_true(info_num(m, "gradient") > 1e-12);
  assert_int_equal(lc.warns, 1);
  assert_non_null(strstr(lc.last_warn, "max_iter"));
  double p[300];
  assert_int_equal(pp_logistic_ops.predict(m, X, n, p, NULL, 1), 0);
  assert_true(tu_auc_ref(p, y, n) > 0.8);
  pp_logistic_ops.free_model(m);
  free(X);
  free(y);
}

/* The fit does not depend on the thread count (fixed split of the rows, fixed order of sums). */
static void test_thread_invariance(void **state) {
  (void)state;
  const size_t n = 9000, d = 6;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.2, 0.5, 44, &X, &y);
  void *m1 = fit_full(NULL, X, y, NULL, n, d, PP_IMB_WEIGHTS, 1, NULL);
  void *m2 = fit_full(NULL, X, y, NULL, n, d, PP_IMB_WEIGHTS, 2, NULL);
  void *m3 = fit_full(NULL, X, y, NULL, n, d, PP_IMB_WEIGHTS, 3, NULL);
  pp_buf b1, b2, b3;
  tu_save(&pp_logistic_ops, m1, &b1);
  tu_save(&pp_logistic_ops, m2, &b2);
  tu_save(&pp_logistic_ops, m3, &b3);
  assert_int_equal(b1.len, b2.len);
  assert_memory_equal(b1.data, b2.data, b1.len);
  assert_memory_equal(b1.data, b3.data, b1.len);
  pp_buf_free(&b1);
  pp_buf_free(&b2);
  pp_buf_free(&b3);
  pp_logistic_ops.free_model(m1);
  pp_logistic_ops.free_model(m2);
  pp_logistic_ops.free_model(m3);
  free(X);
  free(y);
}

static void test_fit_errors(void **state) {
  (void)state;
  const size_t n = 10, d = 2;
  float X[20], y[10], w[10];
  for (size_t i = 0; i < n; i++) {
    X[2 * i] = (float)i;
    X[2 * i + 1] = 1;
    y[i] = 1;
    w[i] = 1;
  }
  void *params = parse(NULL), *model = NULL;
  pp_ctx c;
  pp_ctx_init(&c, NULL, 1);
  pp_dataset ds = {X, n, d, y, NULL, NULL, PP_IMB_NONE};
  assert_int_equal(pp_logistic_ops.fit(params, &ds, NULL, &c, &model), PROP_ERR_TRAIN);
  y[0] = 0;
  X[7] = NAN;
  assert_int_equal(pp_logistic_ops.fit(params, &ds, NULL, &c, &model), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "row 3, column 1"));
  X[7] = 1;
  w[4] = -1;
  ds.w = w;
  assert_int_equal(pp_logistic_ops.fit(params, &ds, NULL, &c, &model), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "row 4"));
  assert_null(model);
  pp_logistic_ops.free_params(params);
}

/* ---- predict paths ------------------------------------------------------------------------------ */

/* Every column count from 1 to 40 (each tail length of the eight-lane dot product, with and
 * without full chunks) and 124: predict (whichever path this CPU takes, batch and one row at a
 * time) equals the portable path bit for bit, and (rows of ordinary size) lies within 1e-13 of
 * the sigmoid of the model's own coefficients computed here with libm. */
static void test_predict_paths(void **state) {
  (void)state;
  size_t dims[41];
  for (size_t i = 0; i < 40; i++) dims[i] = i + 1;
  dims[40] = 124;
  const size_t n = 1100; /* more than one predict block of 1024 rows */
  uint64_t rng = 77;
  for (size_t di = 0; di < 41; di++) {
    const size_t d = dims[di];
    float *X, *y;
    tu_blobs_alloc(n, d, 0.3, 0.8, 100 + d, &X, &y);
    /* a few rows far out, so that both branches of the sigmoid and the clamp at e^-708 are hit */
    for (size_t j = 0; j < d; j++) {
      X[0 * d + j] = 1e30f;
      X[1 * d + j] = -1e30f;
      X[2 * d + j] = (float)(tu_normal(&rng) * 50.0);
    }
    void *m = fit(NULL, X, y, n, d);
    double *pa = tu_xmalloc(n * sizeof *pa), *pp = tu_xmalloc(n * sizeof *pp), *beta = tu_xmalloc(d * sizeof *beta);
    double b;
    coefs(m, d, beta, &b);
    assert_int_equal(pp_logistic_ops.predict(m, X, n, pa, NULL, 2), 0);
    assert_int_equal(pp_logistic_predict_portable(m, X, n, pp), 0);
    assert_memory_equal(pa, pp, n * sizeof *pa);
    for (size_t i = 0; i < n; i++) {
      double one;
      assert_int_equal(pp_logistic_ops.predict(m, X + i * d, 1, &one, NULL, 1), 0);
      assert_memory_equal(&one, &pa[i], sizeof one);
      if (i < 3) continue; /* their scores cancel terms of 1e30: the order of the sum decides them */
      double z = b;
      for (size_t j = 0; j < d; j++) z += beta[j] * (double)X[i * d + j];
      double ref = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
      if (!(fabs(pa[i] - ref) <= 1e-13 * (ref > 1e-300 ? ref : 1.0) + 1e-300)) {
        fprintf(stderr, "d=%zu row %zu: predict %.17g, reference %.17g\n", d, i, pa[i], ref);
        fail();
      }
    }
    free(pa);
    free(pp);
    free(beta);
    pp_logistic_ops.free_model(m);
    free(X);
    free(y);
  }
  if (!pp_logistic_simd_active()) fprintf(stderr, "note: no AVX-512 on this CPU; predict took the portable path\n");
}

/* ---- save / load --------------------------------------------------------------------------------- */

static void test_save_load(void **state) {
  (void)state;
  const size_t n = 500, d = 9;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.3, 0.6, 55, &X, &y);
  void *m = fit(NULL, X, y, n, d);
  pp_buf b;
  void *l = tu_reload(&pp_logistic_ops, m, d, &b);
  double *p1 = tu_xmalloc(n * sizeof *p1), *p2 = tu_xmalloc(n * sizeof *p2);
  assert_int_equal(pp_logistic_ops.predict(m, X, n, p1, NULL, 1), 0);
  assert_int_equal(pp_logistic_ops.predict(l, X, n, p2, NULL, 2), 0);
  assert_memory_equal(p1, p2, n * sizeof *p1);
  assert_true(info_num(l, "iterations") == info_num(m, "iterations"));
  assert_true(info_num(l, "converged") == 1);
  pp_logistic_ops.free_model(l);
  l = NULL;
  /* every truncation fails; every byte flipped fails cleanly or loads a model that predicts */
  const unsigned char mask = 0x90;
  tu_fuzz_member(&pp_logistic_ops, b.data, b.len, d, &mask, 1, X, 10);
  /* crafted fields */
  unsigned char *c = tu_xmalloc(b.len);
  pp_rd rd;
  pp_rd_init(&rd, b.data, b.len, "width");
  assert_int_equal(pp_logistic_ops.load(&rd, d + 1, &l), PROP_ERR_CORRUPT);
  memcpy(c, b.data, b.len);
  c[0] = 7;
  pp_rd_init(&rd, c, b.len, "version");
  assert_int_equal(pp_logistic_ops.load(&rd, d, &l), PROP_ERR_VERSION);
  memcpy(c, b.data, b.len);
  c[12] = 5; /* class weight */
  pp_rd_init(&rd, c, b.len, "cw");
  assert_int_equal(pp_logistic_ops.load(&rd, d, &l), PROP_ERR_CORRUPT);
  double bad = -1;
  memcpy(c, b.data, b.len);
  memcpy(c + 18, &bad, 8); /* C */
  pp_rd_init(&rd, c, b.len, "C");
  assert_int_equal(pp_logistic_ops.load(&rd, d, &l), PROP_ERR_CORRUPT);
  bad = NAN;
  memcpy(c, b.data, b.len);
  memcpy(c + 42 + 8 * 4, &bad, 8); /* beta[4] */
  pp_rd_init(&rd, c, b.len, "beta");
  assert_int_equal(pp_logistic_ops.load(&rd, d, &l), PROP_ERR_CORRUPT);
  assert_non_null(strstr(prop_last_error(), "coefficient 4"));
  memcpy(c, b.data, b.len);
  memcpy(c + 34, &bad, 8); /* intercept */
  pp_rd_init(&rd, c, b.len, "intercept");
  assert_int_equal(pp_logistic_ops.load(&rd, d, &l), PROP_ERR_CORRUPT);
  assert_null(l);
  free(c);
  free(p1);
  free(p2);
  pp_buf_free(&b);
  pp_logistic_ops.free_model(m);
  free(X);
  free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_params),
      cmocka_unit_test(test_binary_feature_closed_form),
      cmocka_unit_test(test_matches_gradient_descent),
      cmocka_unit_test(test_sparse_rows_match_gradient_descent),
      cmocka_unit_test(test_separable),
      cmocka_unit_test(test_iteration_limit),
      cmocka_unit_test(test_thread_invariance),
      cmocka_unit_test(test_fit_errors),
      cmocka_unit_test(test_save_load),
      cmocka_unit_test(test_predict_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
