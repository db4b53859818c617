/* Contributions (lib/models/treeshap.c, the members' contrib operations, lib/explain/contrib.c):
 * exact TreeSHAP against brute-force Shapley values (every subset of the columns, with the
 * path-dependent expectation as the value function), XGBoost's own contributions, exact linear
 * contributions, the sampling estimator against exact interventional Shapley values over its
 * background, efficiency on every vote, one-hot summation, and the same bits for any thread count
 * and batch or single row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "models/cart.h"
#include "models/member.h"
#include "models/knn_impl.h"
#include "models/sampling_shap.h"
#include "models/svc_impl.h"
#include "models/tree_common.h"
#include "models/treeshap.h"
#include "models/xgb_internal.h"
#include "pipeline/pipeline.h"
#include "testutil.h"

/* ---- brute force ------------------------------------------------------------------------------- */

/* Shapley weight |S|! (p - |S| - 1)! / p! of a set of s players out of p. */
static double shapley_weight(unsigned s, unsigned p) {
  double w = 1.0 / (double)p;
  for (unsigned k = 1; k <= s; k++) w *= (double)k / (double)(p - k);
  return w;
}

/* Shapley values of p players (p <= 16) of the game v(mask) into phi[p], by every subset. */
static void brute_shapley(unsigned p, double (*v)(unsigned mask, void *u), void *u, double *phi) {
  const unsigned full = 1u << p;
  double *val = tu_xmalloc(full * sizeof *val);
  for (unsigned S = 0; S < full; S++) val[S] = v(S, u);
  for (unsigned i = 0; i < p; i++) {
    double s = 0.0;
    for (unsigned S = 0; S < full; S++) {
      if (S & (1u << i)) continue;
      s += shapley_weight((unsigned)__builtin_popcount(S), p) * (val[S | (1u << i)] - val[S]);
    }
    phi[i] = s;
  }
  free(val);
}

/* The path-dependent value of S for trees t (flat, as cart.h) at row x: at a split on a column in S
 * follow x, else both children weighted by cover; times scale, summed over the trees, plus offset. */
typedef struct tree_game {
  const pp_treeshap *s;
  const float *x;
} tree_game;

static double tree_expect(const pp_treeshap *s, size_t b, int32_t i, const float *x, unsigned S) {
  const pp_cart_node *n = &s->node[b + (size_t)i];
  if (n->feature < 0) return s->value[b + (size_t)i];
  if (S & (1u << n->feature)) {
    float v = x[n->feature];
    int left = v != v ? s->default_left[b + (size_t)i] : (s->strict ? v < n->threshold : v <= n->threshold);
    return tree_expect(s, b, left ? n->left : n->right, x, S);
  }
  const double c = s->cover[b + (size_t)i];
  return s->cover[b + (size_t)n->left] / c * tree_expect(s, b, n->left, x, S) +
         s->cover[b + (size_t)n->right] / c * tree_expect(s, b, n->right, x, S);
}

static double tree_game_value(unsigned S, void *u) {
  const tree_game *g = u;
  double sum = 0.0;
  for (size_t t = 0; t < g->s->ntrees; t++) sum += tree_expect(g->s, g->s->start[t], 0, g->x, S);
  return g->s->offset + g->s->scale * sum;
}

/* pp_treeshap_rows on rows X against the brute force, within tol; also base + sum = the trees'
 * output. */
static void check_treeshap(const pp_treeshap *s, const float *X, size_t n, double tol) {
  const size_t d = s->d;
  double *phi = tu_xmalloc(n * d * sizeof *phi), *ref = tu_xmalloc(d * sizeof *ref);
  void *scratch = tu_xmalloc(pp_treeshap_scratch(s, n));
  pp_treeshap_rows(s, X, n, phi, scratch);
  for (size_t i = 0; i < n; i++) {
    tree_game g = {s, X + i * d};
    brute_shapley((unsigned)d, tree_game_value, &g, ref);
    double sum = s->base, all = tree_game_value((1u << d) - 1, &g), none = tree_game_value(0, &g);
    tu_assert_close(none, s->base, 1e-12 * (1 + fabs(none)));
    for (size_t c = 0; c < d; c++) {
      if (fabs(phi[i * d + c] - ref[c]) > tol)
        fprintf(stderr, "row %zu column %zu: treeshap %.17g, brute force %.17g\n", i, c, phi[i * d + c], ref[c]);
      tu_assert_close(phi[i * d + c], ref[c], tol);
      sum += phi[i * d + c];
    }
    tu_assert_close(sum, all, 1e-12 * (1 + fabs(all)));
  }
  free(phi);
  free(ref);
  free(scratch);
}

/* ---- TreeSHAP on hand-made trees ------------------------------------------------------------------ */

/* One tree over 3 columns with a column split twice on a path, a NaN default and unequal covers:
 *   0: x0 <= 0.5 ? 1 : 2            (cover 10)
 *   1: x1 <= 1.0 ? 3 : 4            (cover 6, NaN right)
 *   2: x0 <= 2.0 ? 5 : 6            (cover 4: x0 again)
 *   3: x0 <= -1 ? 7 : 8             (cover 4: x0 again under x1)
 *   4..8 leaves. */
static void hand_tree(pp_cart_node *nd, uint8_t *dl, double *val, double *cov) {
  static const pp_cart_node k[9] = {{0, 0.5f, 1, 2},  {1, 1.0f, 3, 4},  {0, 2.0f, 5, 6},
                                    {0, -1.0f, 7, 8}, {-1, 0, -1, -1}, {-1, 0, -1, -1},
                                    {-1, 0, -1, -1},  {-1, 0, -1, -1}, {-1, 0, -1, -1}};
  static const uint8_t kd[9] = {1, 0, 1, 0, 0, 0, 0, 0, 0};
  static const double kv[9] = {0, 0, 0, 0, 0.9, 0.2, 0.6, 0.05, 0.4};
  static const double kc[9] = {10, 6, 4, 4, 2, 3, 1, 1.5, 2.5};
  memcpy(nd, k, sizeof k);
  memcpy(dl, kd, sizeof kd);
  memcpy(val, kv, sizeof kv);
  memcpy(cov, kc, sizeof kc);
}

static void test_treeshap_hand_tree(void **state) {
  (void)state;
  pp_cart_node nd[9];
  uint8_t dl[9];
  double val[9], cov[9];
  hand_tree(nd, dl, val, cov);
  size_t start[2] = {0, 9};
  const float X[] = {0.2f, 0.5f, 7.0f,  -3.0f, 2.0f, 0.0f, 1.0f, 1.0f, 1.0f, 3.0f, NAN,  0.0f,
                     NAN,  NAN,  NAN,   0.5f,  1.0f, 0.0f, 2.0f, -5.f, 2.0f, -1.0f, 1.0f, 9.0f};
  for (int strict = 0; strict <= 1; strict++)
    for (size_t min_pts = 0; min_pts <= 15; min_pts += 3) { /* every rule from 4 to 16 points is exact */
      pp_treeshap s;
      assert_int_equal(pp_treeshap_init(&s, 3, 1, start, nd, dl, val, cov, strict, strict ? 0.5 : 1.0, "hand"), 0);
      assert_int_equal(s.max_depth, 3);
      pp_treeshap_free(&s);
      s.offset = strict ? -0.25 : 0.0;
      s.min_pts = min_pts;
      assert_int_equal(pp_treeshap_build(&s, "hand"), 0);
      check_treeshap(&s, X, 8, 1e-13);
      pp_treeshap_free(&s);
    }
  /* a zero cover cannot be explained: the build says so; a member's init leaves no trees to explain
   * and the last error as it was */
  cov[6] = 0.0;
  pp_treeshap s;
  pp_err(PROP_ERR_IO, "an earlier error");
  assert_int_equal(pp_treeshap_init(&s, 3, 1, start, nd, dl, val, cov, 0, 1.0, "hand"), 0);
  assert_int_equal(s.ntrees, 0);
  assert_string_equal(prop_last_error(), "an earlier error");
  s.ntrees = 1;
  tu_expect_rc(pp_treeshap_build(&s, "hand"), PROP_ERR_STATE, "hand: tree 0 node 6 has cover 0");
  pp_treeshap_free(&s);
}

/* ---- the grouped walk against the single-row pass ------------------------------------------------ */

/* Random flat trees for the grouped walk: nodes of tree b onwards in depth-first order. */
typedef struct rand_trees {
  pp_cart_node *nd;
  uint8_t *dl;
  double *val, *cov;
  size_t n;
} rand_trees;

static const float k_grid[5] = {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f}; /* thresholds, and most row values */

/* A node of tree b at depth dep (local index returned): it splits while dep < maxd (below depth 2
 * always, then 4 in 5), on column spine[dep] when spine is given (with a leaf on a random side),
 * else with probability rep on one of the first 4 columns (so that columns repeat on a path), else
 * on any of d. */
static int32_t rand_node(rand_trees *t, uint64_t *st, size_t b, size_t dep, size_t maxd, size_t d, double rep,
                         const int32_t *spine) {
  const size_t i = t->n++;
  t->nd[i] = (pp_cart_node){-1, 0.0f, -1, -1};
  t->dl[i] = (uint8_t)(tu_rand(st) & 1);
  t->val[i] = tu_normal(st);
  t->cov[i] = 0.5 + 4.0 * tu_uniform(st);
  if (dep >= maxd || (!spine && dep >= 2 && tu_uniform(st) < 0.2)) return (int32_t)(i - b);
  int32_t f = spine ? spine[dep] : (int32_t)(tu_rand(st) % (tu_uniform(st) < rep ? 4 : d));
  const float th = k_grid[tu_rand(st) % 5];
  int32_t l, r;
  if (spine && tu_rand(st) & 1) {
    l = rand_node(t, st, b, maxd, maxd, d, rep, spine);
    r = rand_node(t, st, b, dep + 1, maxd, d, rep, spine);
  } else {
    l = rand_node(t, st, b, dep + 1, maxd, d, rep, spine);
    r = rand_node(t, st, b, spine ? maxd : dep + 1, maxd, d, rep, spine);
  }
  t->nd[i] = (pp_cart_node){f, th, l, r};
  return (int32_t)(i - b);
}

/* Batches by the grouped walk, each copy the CPU runs, give every row the single-row pass's bits, and
 * so do the single-row pass's copies (4-double vectors, and 8-double ones for 8 and 16 points): on
 * random trees of 4, 8 and 12 points (a tree of one leaf among them), then all of 16, strict and not,
 * with rows on the thresholds and NaN on both default sides, whole and cut at every offset into groups
 * with a ragged last one (each row in other lanes beside other rows). */
static void test_treeshap_groups_bit_for_bit(void **state) {
  (void)state;
  /* N: rows in three chunks of the grouped walk (128 rows each), ragged groups checked among the first R */
  enum { D = 20, NT = 8, N = 300, R = 37, MAXN = 5000 }; /* a tree of depth m has at most 2^(m+1) - 1 nodes: 4,647 */
  rand_trees t = {tu_xmalloc(MAXN * sizeof *t.nd), tu_xmalloc(MAXN), tu_xmalloc(MAXN * sizeof(double)),
                  tu_xmalloc(MAXN * sizeof(double)), 0};
  size_t start[NT + 1];
  int32_t spine[19];
  for (int32_t k = 0; k < 19; k++) spine[k] = (k * 7) % D; /* 19 distinct columns: 12 points */
  uint64_t st = 2026;
  static const size_t maxd[NT] = {0, 5, 6, 6, 5, 10, 10, 19};
  for (size_t k = 0; k < NT; k++) {
    start[k] = t.n;
    rand_node(&t, &st, t.n, 0, maxd[k], D, maxd[k] > 6 ? 0.1 : 0.6, k == NT - 1 ? spine : NULL);
  }
  start[NT] = t.n;
  assert_true(t.n < MAXN);
  float *X = tu_xmalloc(N * D * sizeof *X);
  for (size_t i = 0; i < N * D; i++) {
    const double u = tu_uniform(&st);
    X[i] = u < 0.2 ? NAN : u < 0.7 ? k_grid[tu_rand(&st) % 5] : (float)tu_normal(&st);
  }
  double *ref = tu_xmalloc(N * D * sizeof *ref), *phi = tu_xmalloc(N * D * sizeof *phi);
  for (int run = 0; run < 4; run++) {
    const int strict = run & 1, all16 = run >> 1;
    pp_treeshap s;
    assert_int_equal(pp_treeshap_init(&s, D, NT, start, t.nd, t.dl, t.val, t.cov, strict, strict ? 1.0 : 0.125, "r"), 0);
    assert_int_equal(s.ntrees, NT);
    if (all16) {
      pp_treeshap_free(&s);
      s.min_pts = 16;
      assert_int_equal(pp_treeshap_build(&s, "r"), 0);
    }
    assert_int_equal(s.pts[0], 0); /* the tree of one leaf */
    assert_int_equal(s.pts[1], all16 ? 16 : 4);
    assert_int_equal(s.pts[5], all16 ? 16 : 8);
    assert_int_equal(s.pts[NT - 1], all16 ? 16 : 12);
    void *scratch = tu_xmalloc(pp_treeshap_scratch(&s, N)), *one = tu_xmalloc(pp_treeshap_scratch(&s, 1));
    assert_true(pp_treeshap_scratch(&s, 1) < pp_treeshap_scratch(&s, 2)); /* a row alone: no edge lists */
    for (size_t i = 0; i < N; i++) /* in the scratch of one row (ASan: no more is touched) */
      assert_int_equal(pp_treeshap_rows_path(&s, X + i * D, 1, ref + i * D, one, PP_SHAP_BEST), PP_SHAP_SINGLE);
    free(one);
    assert_int_equal(pp_treeshap_rows_path(&s, X, N, phi, scratch, PP_SHAP_SINGLE), PP_SHAP_SINGLE);
    assert_memory_equal(phi, ref, N * D * sizeof *phi);
    const int avx2 = pp_cpu_avx2() ? PP_SHAP_AVX2 : PP_SHAP_PORTABLE;
    const int avx512 = PP_HAVE_AVX512 && pp_cpu_avx512f() ? PP_SHAP_AVX512 : PP_SHAP_PORTABLE;
    /* the single-row copies, each asked for and the one that must run it, against the fastest */
    const int s2 = avx2 == PP_SHAP_AVX2 ? PP_SHAP_SINGLE_AVX2 : PP_SHAP_SINGLE_PORTABLE;
    const int s512 =
        avx512 == PP_SHAP_AVX512 && s2 == PP_SHAP_SINGLE_AVX2 ? PP_SHAP_SINGLE_AVX512 : PP_SHAP_SINGLE_PORTABLE;
    const int singles[3][2] = {{PP_SHAP_SINGLE_PORTABLE, PP_SHAP_SINGLE_PORTABLE},
                               {PP_SHAP_SINGLE_AVX2, s2},
                               {PP_SHAP_SINGLE_AVX512, s512}};
    for (size_t v = 0; v < 3; v++) {
      memset(phi, 0xff, N * D * sizeof *phi);
      assert_int_equal(pp_treeshap_rows_path(&s, X, N, phi, scratch, singles[v][0]), singles[v][1]);
      assert_memory_equal(phi, ref, N * D * sizeof *phi);
    }
    /* each path asked for, and the copy that must run it */
    const int paths[4][2] = {{PP_SHAP_PORTABLE, PP_SHAP_PORTABLE},
                             {PP_SHAP_AVX2, avx2},
                             {PP_SHAP_AVX512, avx512},
                             {PP_SHAP_BEST, avx512 == PP_SHAP_AVX512 ? avx512 : avx2}};
    for (size_t v = 0; v < 4; v++) {
      const int p = paths[v][0];
      memset(phi, 0xff, N * D * sizeof *phi);
      assert_int_equal(pp_treeshap_rows_path(&s, X, N, phi, scratch, p), paths[v][1]);
      assert_memory_equal(phi, ref, N * D * sizeof *phi);
      for (size_t i0 = 0; i0 < 9; i0++)
        for (size_t m = 2; i0 + m <= R; m += 3) {
          memset(phi, 0xff, m * D * sizeof *phi);
          pp_treeshap_rows_path(&s, X + i0 * D, m, phi, scratch, p);
          assert_memory_equal(phi, ref + i0 * D, m * D * sizeof *phi);
        }
      static const size_t big[][2] = {{5, 129}, {3, 130}, {1, 257}, {7, 258}, {0, N - 1}}; /* {offset, rows} */
      for (size_t k = 0; k < sizeof big / sizeof big[0]; k++) {
        const size_t i0 = big[k][0], m = big[k][1];
        memset(phi, 0xff, m * D * sizeof *phi);
        pp_treeshap_rows_path(&s, X + i0 * D, m, phi, scratch, p);
        assert_memory_equal(phi, ref + i0 * D, m * D * sizeof *phi);
      }
    }
    free(scratch);
    pp_treeshap_free(&s);
  }
  free(X);
  free(ref);
  free(phi);
  free(t.nd);
  free(t.dl);
  free(t.val);
  free(t.cov);
}

/* ---- members ------------------------------------------------------------------------------------ */

/* n rows of d columns, a nonlinear signal with interactions; NaN in column 1 on every 11th row when
 * nan is set. */
static void problem(size_t n, size_t d, int nan, uint64_t seed, float *X, float *y) {
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++) {
    float *x = X + i * d;
    for (size_t j = 0; j < d; j++) x[j] = (float)tu_normal(&st);
    double z = x[0] * x[1] + 0.8 * x[2] - 0.5 * (x[3] > 0.3f) + 0.6 * tu_normal(&st) - 0.4;
    if (nan && i % 11 == 0) x[1] = NAN;
    y[i] = z > 0 ? 1.0f : 0.0f;
  }
}

static void *fit_member(const pp_member_ops *ops, const char *params, const float *X, const float *y, size_t n,
                        size_t d) {
  pp_dataset ds = {X, n, d, y, NULL, NULL, PP_IMB_WEIGHTS};
  pp_ctx c = tu_ctx(7, 2, NULL);
  return tu_fit(ops, params, &ds, NULL, &c);
}

/* The member's contributions of n rows (phi n x d) and base, through the member's own scratch or
 * none, checked to be the same bits either way and row by row. */
static void member_contrib(const pp_member_ops *ops, const void *m, const float *X, size_t n, size_t d,
                           const uint32_t *group, size_t ngroups, double *phi, double *base) {
  assert_int_equal(ops->contrib(m, X, n, group, ngroups, phi, base, NULL), 0);
  double *one = tu_xmalloc(d * sizeof *one), b1 = NAN;
  void *scratch = tu_xmalloc(ops->contrib_scratch(m, 1));
  for (size_t i = 0; i < n; i += 1 + n / 7) {
    assert_int_equal(ops->contrib(m, X + i * d, 1, group, ngroups, one, &b1, scratch), 0);
    assert_memory_equal(one, phi + i * d, d * sizeof *one);
    assert_memory_equal(&b1, base, sizeof b1);
  }
  free(one);
  free(scratch);
}

/* The trees of a fitted decision tree or forest, read back from its payload after its header. */
static void member_trees(const pp_member_ops *ops, const void *m, size_t header, size_t d, pp_cart_trees *t) {
  pp_buf b;
  tu_save(ops, m, &b);
  pp_rd rd;
  pp_rd_init(&rd, b.data + header, b.len - header, "trees");
  assert_int_equal(pp_cart_load(&rd, d, 100000, t), 0);
  assert_int_equal(pp_rd_end(&rd), 0);
  pp_buf_free(&b);
}

/* A fitted decision tree and forest on 6 columns (NaN included): the member's contributions are the
 * brute-force Shapley values of its own trees, and base + sum is its probability. */
static void test_tree_members_against_brute_force(void **state) {
  (void)state;
  enum { N = 600, D = 6, NX = 12 };
  float *X = tu_xmalloc(N * D * sizeof *X), *y = tu_xmalloc(N * sizeof *y);
  problem(N, D, 1, 11, X, y);
  static const struct {
    const pp_member_ops *ops;
    const char *params;
    size_t header; /* payload bytes before pp_cart_save's part */
  } k[] = {{&pp_tree_ops, "{\"max_depth\": 0, \"min_samples_leaf\": 3}", 71},
           {&pp_forest_ops, "{\"n_estimators\": 7, \"min_samples_leaf\": 2}", 104}};
  for (size_t v = 0; v < 2; v++) {
    void *m = fit_member(k[v].ops, k[v].params, X, y, N, D);
    double phi[NX * D], base, prob[NX];
    member_contrib(k[v].ops, m, X, NX, D, NULL, 0, phi, &base);
    assert_int_equal(k[v].ops->predict(m, X, NX, prob, NULL, 1), 0);
    pp_cart_trees t;
    member_trees(k[v].ops, m, k[v].header, D, &t);
    pp_treeshap s;
    assert_int_equal(pp_tree_shap_init(&s, &t, "test"), 0);
    assert_true(s.max_depth > 6); /* columns repeat along the paths */
    for (size_t i = 0; i < NX; i++) {
      double ref[D], sum = base;
      tree_game g = {&s, X + i * D};
      brute_shapley(D, tree_game_value, &g, ref);
      for (size_t c = 0; c < D; c++) {
        tu_assert_close(phi[i * D + c], ref[c], 1e-12);
        sum += phi[i * D + c];
      }
      tu_assert_close(sum, prob[i], 1e-12);
    }
    tu_assert_close(base, tree_game_value(0, &(tree_game){&s, X}), 1e-14);
    pp_treeshap_free(&s);
    pp_cart_trees_free(&t);
    k[v].ops->free_model(m);
  }
  free(X);
  free(y);
}

/* The xgboost member's contributions are XGBoost's own (pred_contribs) within 1e-5, base its bias,
 * and base + sum its margin, on 10 columns with missing values and depth-6 trees. */
static void test_xgboost_against_xgboost(void **state) {
  (void)state;
  enum { N = 800, D = 10, NX = 64 };
  float *X = tu_xmalloc(N * D * sizeof *X), *y = tu_xmalloc(N * sizeof *y);
  problem(N, D, 1, 23, X, y);
  void *m = fit_member(&pp_xgb_ops, "{\"rounds\": 60, \"max_depth\": 6, \"eta\": 0.3}", X, y, N, D);
  double *phi = tu_xmalloc(NX * D * sizeof *phi), *ref = tu_xmalloc(NX * (D + 1) * sizeof *ref), base, prob[NX];
  member_contrib(&pp_xgb_ops, m, X, NX, D, NULL, 0, phi, &base);
  assert_int_equal(pp_xgb_backend_contribs(m, X, NX, ref), 0);
  assert_int_equal(pp_xgb_ops.predict(m, X, NX, prob, NULL, 1), 0);
  double worst = 0;
  for (size_t i = 0; i < NX; i++) {
    double sum = base;
    for (size_t c = 0; c < D; c++) {
      double e = fabs(phi[i * D + c] - ref[i * (D + 1) + c]);
      if (e > worst) worst = e;
      sum += phi[i * D + c];
    }
    tu_assert_close(base, ref[i * (D + 1) + D], 1e-5);
    tu_assert_close(sum, log(prob[i] / (1 - prob[i])), 1e-5);
  }
  assert_true(worst <= 1e-5);
  assert_true(worst > 0 || NX == 0); /* computed here, in double: not XGBoost's floats */
  free(phi);
  free(ref);
  pp_xgb_ops.free_model(m);
  free(X);
  free(y);
}

/* ---- logistic: exact linear contributions; old payloads ------------------------------------------- */

typedef struct member_game {
  const pp_member_ops *ops;
  const void *m;
  const float *x, *bg; /* the row, the background rows (nbg x d) */
  size_t nbg, d;
  const uint32_t *group; /* players: column -> player, or NULL (each column) */
  int logodds;           /* the game on the log-odds of predict */
} member_game;

/* Interventional value of S: the mean over the background of f(x on S's players, background elsewhere). */
static double member_game_value(unsigned S, void *u) {
  const member_game *g = u;
  float *h = tu_xmalloc(g->nbg * g->d * sizeof *h);
  double *f = tu_xmalloc(g->nbg * sizeof *f), sum = 0.0;
  for (size_t b = 0; b < g->nbg; b++)
    for (size_t c = 0; c < g->d; c++) {
      unsigned player = g->group ? g->group[c] : (unsigned)c;
      h[b * g->d + c] = (S >> player & 1u) ? g->x[c] : g->bg[b * g->d + c];
    }
  assert_int_equal(g->ops->predict(g->m, h, g->nbg, f, NULL, 1), 0);
  for (size_t b = 0; b < g->nbg; b++) sum += g->logodds ? log(f[b] / (1 - f[b])) : f[b];
  free(h);
  free(f);
  return sum / (double)g->nbg;
}

/* A payload of version 1 (the saved bytes b of m, the version set to 1, cut to len1 bytes) loads,
 * predicts rows X[nx] as m does, has no contributions (PROP_ERR_STATE) and saves back as it was. */
static void check_version_1(const pp_member_ops *ops, const void *m, const pp_buf *b, size_t len1, size_t d,
                            const float *X, size_t nx) {
  unsigned char *v1 = tu_xmalloc(b->len);
  memcpy(v1, b->data, b->len);
  v1[0] = 1;
  void *old = NULL;
  assert_int_equal(tu_load(ops, v1, len1, d, &old), 0);
  double *p0 = tu_xmalloc(nx * sizeof *p0), *p1 = tu_xmalloc(nx * sizeof *p1), *phi = tu_xmalloc(d * sizeof *phi);
  assert_int_equal(ops->predict(m, X, nx, p0, NULL, 1), 0);
  assert_int_equal(ops->predict(old, X, nx, p1, NULL, 1), 0);
  assert_memory_equal(p0, p1, nx * sizeof *p0);
  tu_expect_rc(ops->contrib(old, X, 1, NULL, 0, phi, NULL, NULL), PROP_ERR_STATE, "version 1");
  pp_buf b1;
  tu_save(ops, old, &b1);
  assert_int_equal(b1.len, len1);
  assert_memory_equal(b1.data, v1, len1);
  pp_buf_free(&b1);
  free(v1);
  free(p0);
  free(p1);
  free(phi);
  ops->free_model(old);
}

/* The logistic member's contributions are the Shapley values of its log-odds for a reference row at
 * its weighted column means (any background with those means gives the same, the score being
 * linear); its payload of version 1 (before the means) still loads and predicts, has no
 * contributions (PROP_ERR_STATE) and saves back as it was. */
static void test_logistic_linear_and_version_1(void **state) {
  (void)state;
  enum { N = 500, D = 5, NX = 6 };
  float *X = tu_xmalloc(N * D * sizeof *X), *y = tu_xmalloc(N * sizeof *y);
  problem(N, D, 0, 5, X, y);
  void *m = fit_member(&pp_logistic_ops, NULL, X, y, N, D);
  double phi[NX * D], base, prob[NX];
  member_contrib(&pp_logistic_ops, m, X, NX, D, NULL, 0, phi, &base);
  assert_int_equal(pp_logistic_ops.predict(m, X, NX, prob, NULL, 1), 0);
  pp_buf b;
  tu_save(&pp_logistic_ops, m, &b);
  assert_int_equal(b.len, 42 + 16 * D);
  float mean[D]; /* the reference row: the means, as a background of one row */
  for (size_t c = 0; c < D; c++) {
    double v;
    memcpy(&v, b.data + 42 + 8 * D + 8 * c, 8);
    mean[c] = (float)v;
  }
  for (size_t i = 0; i < NX; i++) {
    double sum = base, ref[D];
    member_game g = {&pp_logistic_ops, m, X + i * D, mean, 1, D, NULL, 1};
    brute_shapley(D, member_game_value, &g, ref);
    for (size_t c = 0; c < D; c++) {
      tu_assert_close(phi[i * D + c], ref[c], 1e-6); /* the float reference row and predict's exp */
      sum += phi[i * D + c];
    }
    tu_assert_close(sum, log(prob[i] / (1 - prob[i])), 1e-9);
  }
  check_version_1(&pp_logistic_ops, m, &b, b.len - 8 * D, D, X, NX); /* the same bytes without the means */
  pp_buf_free(&b);
  pp_logistic_ops.free_model(m);
  free(X);
  free(y);
}

/* ---- the sampling estimator --------------------------------------------------------------------------- */

/* An additive "model": f(x) = sum_c g_c(x_c); its interventional Shapley values are exact for any
 * permutations: phi_c = g_c(x_c) - mean_b g_c(z_bc).  Checks the estimator's bookkeeping. */
static double additive_g(size_t c, float v) { return (double)(c + 1) * sin((double)v) + 0.1 * (double)c * v * v; }

static int additive_predict(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread) {
  (void)scratch;
  (void)nthread;
  const size_t d = *(const size_t *)model;
  for (size_t i = 0; i < n; i++) {
    out[i] = 0.0;
    for (size_t c = 0; c < d; c++) out[i] += additive_g(c, X[i * d + c]);
  }
  return 0;
}

static void test_sampling_exact_on_additive(void **state) {
  (void)state;
  enum { D = 7, B = 5, NX = 4 };
  size_t d = D;
  uint64_t st = 3;
  float bg[B * D], X[NX * D];
  for (size_t i = 0; i < B * D; i++) bg[i] = (float)tu_normal(&st);
  for (size_t i = 0; i < NX * D; i++) X[i] = (float)tu_normal(&st);
  pp_sample_model sm = {&d, additive_predict, NULL, bg, B, D};
  const uint32_t group[D] = {0, 1, 1, 2, 3, 3, 3}; /* players 0..3, their contributions on 0, 1, 3, 4 */
  for (int grouped = 0; grouped <= 1; grouped++) {
    double phi[NX * D], base, one[D], b1;
    assert_int_equal(pp_sample_contrib(&sm, X, NX, grouped ? group : NULL, 4, phi, &base, NULL), 0);
    for (size_t i = 0; i < NX; i++) {
      double want[D] = {0}, sum = base, fx;
      for (size_t c = 0; c < D; c++) {
        double m = 0;
        for (size_t b = 0; b < B; b++) m += additive_g(c, bg[b * D + c]);
        size_t to = grouped ? (size_t[]){0, 1, 1, 3, 4, 4, 4}[c] : c;
        want[to] += additive_g(c, X[i * D + c]) - m / B;
      }
      for (size_t c = 0; c < D; c++) {
        tu_assert_close(phi[i * D + c], want[c], 1e-12);
        sum += phi[i * D + c];
      }
      additive_predict(&d, X + i * D, 1, &fx, NULL, 1);
      tu_assert_close(sum, fx, 1e-12);
      void *scratch = tu_xmalloc(pp_sample_scratch(&sm, 4));
      assert_int_equal(pp_sample_contrib(&sm, X + i * D, 1, grouped ? group : NULL, 4, one, &b1, scratch), 0);
      assert_memory_equal(one, phi + i * D, sizeof one);
      free(scratch);
    }
  }
}

/* 8 columns: 4 numeric, a 3-column one-hot block, 1 numeric. */
static void onehot_problem(size_t n, uint64_t seed, float *X, float *y) {
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++) {
    float *x = X + i * 8;
    for (size_t j = 0; j < 4; j++) x[j] = (float)tu_normal(&st);
    size_t cat = (size_t)(tu_uniform(&st) * 3);
    for (size_t j = 0; j < 3; j++) x[4 + j] = j == cat ? 1.0f : 0.0f;
    x[7] = (float)tu_normal(&st);
    double z = x[0] * x[1] + 0.8 * x[2] + (cat == 2 ? 1.0 : -0.3) + 0.4 * x[7] + 0.5 * tu_normal(&st) - 0.5;
    y[i] = z > 0 ? 1.0f : 0.0f;
  }
}

/* svc and knn: the estimate against the exact interventional Shapley values over the member's own
 * background, by every subset of 6 players (5 numeric columns and the one-hot block as one);
 * efficiency exact.  The error bound asserted is loose (about 0.1 here); the measured errors are in
 * models/README.md. */
static void test_sampling_members_against_exact(void **state) {
  (void)state;
  enum { N = 400, D = 8, P = 6, NX = 5 };
  static const uint32_t group[D] = {0, 1, 2, 3, 4, 4, 4, 5};
  float *X = tu_xmalloc(N * D * sizeof *X), *y = tu_xmalloc(N * sizeof *y);
  onehot_problem(N, 9, X, y);
  const pp_member_ops *ops[2] = {&pp_svc_ops, &pp_knn_ops};
  for (int v = 0; v < 2; v++) {
    void *m = fit_member(ops[v], v ? "{\"k\": 15}" : NULL, X, y, N, D);
    const float *bg = v ? ((const knn_model *)m)->bg : ((const pp_svc_model *)m)->bg;
    size_t nbg = v ? ((const knn_model *)m)->nbg : ((const pp_svc_model *)m)->nbg;
    assert_int_equal(nbg, PP_SAMPLE_BG_ROWS);
    double phi[NX * D], base, prob[NX], err = 0, mag = 0;
    member_contrib(ops[v], m, X, NX, D, group, P, phi, &base);
    assert_int_equal(ops[v]->predict(m, X, NX, prob, NULL, 1), 0);
    for (size_t i = 0; i < NX; i++) {
      member_game g = {ops[v], m, X + i * D, bg, nbg, D, group, 0};
      double ref[P], sum = base;
      brute_shapley(P, member_game_value, &g, ref);
      tu_assert_close(base, member_game_value(0, &g), 1e-12);
      for (size_t q = 0; q < P; q++) {
        static const size_t col[P] = {0, 1, 2, 3, 4, 7};
        err += fabs(phi[i * D + col[q]] - ref[q]);
        mag += fabs(ref[q]);
        sum += phi[i * D + col[q]];
      }
      assert_true(phi[i * D + 5] == 0.0 && phi[i * D + 6] == 0.0); /* the group's contribution is on column 4 */
      tu_assert_close(sum, prob[i], 1e-12);
    }
    assert_true(err <= 0.35 * mag); /* mean absolute error within a third of the mean |phi| */
    ops[v]->free_model(m);
  }
  free(X);
  free(y);
}

/* The svc payload of version 1 (before the background) still loads and predicts, has no
 * contributions and saves back as it was. */
static void test_svc_version_1(void **state) {
  (void)state;
  enum { N = 200, D = 8 };
  float *X = tu_xmalloc(N * D * sizeof *X), *y = tu_xmalloc(N * sizeof *y);
  onehot_problem(N, 4, X, y);
  void *m = fit_member(&pp_svc_ops, NULL, X, y, N, D);
  pp_buf b;
  tu_save(&pp_svc_ops, m, &b);
  const size_t nbg = ((const pp_svc_model *)m)->nbg;
  check_version_1(&pp_svc_ops, m, &b, b.len - 8 - 4 * nbg * D, D, X, 4); /* without the background */
  pp_buf_free(&b);
  pp_svc_ops.free_model(m);
  free(X);
  free(y);
}

/* ---- the ensemble ----------------------------------------------------------------------------------------- */

static prop_frame *g_frame;
static char g_csv[512];

static int setup_demo(void **state) {
  (void)state;
  snprintf(g_csv, sizeof g_csv, "%s", tu_path("demo.csv"));
  prop_demo_options d;
  prop_demo_options_default(&d);
  d.customers_per_month = 260;
  d.months = 2;
  d.seed = 5;
  if (prop_demo_write_csv(g_csv, &d) != 0) return -1;
  const char *names[] = {"accepted", "customer_id", "installment_amount"};
  prop_coltype types[] = {PROP_COL_TARGET, PROP_COL_ID, PROP_COL_IGNORE};
  prop_csv_options co;
  prop_csv_options_default(&co);
  co.declared_names = names;
  co.declared_types = types;
  co.n_declared = 3;
  return prop_frame_read_csv(g_csv, &co, &g_frame);
}

static int teardown_demo(void **state) {
  (void)state;
  prop_frame_free(g_frame);
  remove(g_csv);
  return 0;
}

static const char k_all_members[] =
    "{\"name\": \"xgboost\", \"params\": {\"eta\": 0.3, \"max_depth\": 3, \"rounds\": 20}},"
    "{\"name\": \"random_forest\", \"params\": {\"n_estimators\": 10, \"min_samples_leaf\": 3}},"
    "{\"name\": \"svc\", \"params\": {\"max_train_rows\": 300}},"
    "{\"name\": \"decision_tree\", \"params\": {\"max_depth\": 5, \"min_samples_leaf\": 10}},"
    "{\"name\": \"knn\", \"params\": {\"k\": 15}},"
    "{\"name\": \"logistic\"}";

/* The demo frame's model with members (JSON array items) voting as voting, equal weights. */
static prop_model *train_demo(const char *voting, const char *members) {
  char js[4096];
  snprintf(js, sizeof js,
           "{\"name\": \"t\", \"seed\": 3, \"cv_folds\": 2, \"members\": [%s], \"ensemble\": {\"voting\": "
           "\"%s\", \"weights\": \"equal\", \"selection\": \"all\"}, \"calibration\": \"isotonic\"}",
           members, voting);
  prop_recipe *r = NULL;
  assert_int_equal(prop_recipe_parse(js, "test", &r), 0);
  prop_train_options o;
  prop_train_options_default(&o);
  o.target = "accepted";
  o.id = "customer_id";
  o.connected = "connected";
  o.time_col = "month";
  o.nthread = 2;
  prop_model *m = NULL;
  int rc = prop_model_train(g_frame, r, &o, &m);
  if (rc) fprintf(stderr, "train: %s\n", prop_last_error());
  assert_int_equal(rc, 0);
  prop_recipe_free(r);
  return m;
}

/* The first n rows of the demo frame as the model's dense input rows (n x inputs). */
static double *demo_rows(const prop_model *m, size_t n) {
  const size_t nf = prop_model_n_inputs(m);
  double *raw = tu_xmalloc(n * nf * sizeof *raw);
  int *st = tu_xmalloc(n * sizeof *st);
  pp_binding *b = NULL;
  assert_int_equal(pp_binding_create(m->schema, g_frame, &b), 0);
  pp_binding_rows(b, 0, n, raw, st);
  for (size_t i = 0; i < n; i++) assert_int_equal(st[i], 0);
  pp_binding_free(b);
  free(st);
  return raw;
}

/* Efficiency on every vote with all six members: base + sum = the ensemble's uncalibrated log-odds
 * within 1e-9 (relative above 1), themselves the vote before its calibrator; an unscorable row gets
 * NaN and its status; the same bits for 1 or 2 threads, any block, a row alone; reasons of the
 * scorer are those of the batch row. */
static void test_ensemble_efficiency_every_vote(void **state) {
  (void)state;
  enum { R = 24 };
  static const char *const votes[] = {"soft", "hard", "logit"};
  for (size_t v = 0; v < 3; v++) {
    prop_model *m = train_demo(votes[v], k_all_members);
    assert_int_equal(prop_model_n_members(m), 6);
    const size_t nf = prop_model_n_inputs(m);
    double *raw = demo_rows(m, R), *C = tu_xmalloc(R * nf * sizeof *C), *C2 = tu_xmalloc(R * nf * sizeof *C2);
    raw[(R - 1) * nf + (size_t)prop_model_input_index(m, "card_type")] = -1.0; /* unseen: not scored */
    int st[R];
    double base = NAN, base2 = NAN, vote[R];
    prop_predict_options po;
    prop_predict_options_default(&po);
    po.nthread = 2;
    po.unseen = PROP_UNSEEN_ERROR; /* strict: the unseen row is not explained */
    assert_int_equal(prop_model_contributions_dense(m, raw, PROP_FLOAT64, R, nf, nf, C, &base, st, &po), 0);
    po.uncalibrated = 1;
    assert_int_equal(prop_model_predict_dense(m, raw, PROP_FLOAT64, R, nf, nf, vote, NULL, NULL, &po), 0);
    prop_scorer *s = NULL;
    assert_int_equal(prop_scorer_create(m, &s), 0);
    for (size_t i = 0; i < R; i++) {
      double p[6], sum = base, prob;
      int band;
      if (i == R - 1) {
        assert_int_equal(st[i], PROP_ERR_CATEGORY);
        for (size_t k = 0; k < nf; k++) assert_true(isnan(C[i * nf + k]));
        continue;
      }
      assert_int_equal(st[i], 0);
      assert_int_equal(prop_scorer_score(s, raw + i * nf, &prob, &band), 0);
      assert_int_equal(prop_scorer_member_probabilities(s, p), 0);
      const double L = pp_vote_logodds(m->vote, p);
      if (v == 2) tu_assert_close(1.0 / (1.0 + exp(-L)), vote[i], 1e-15);
      else assert_true(L == pp_vote_logit(vote[i]));
      for (size_t k = 0; k < nf; k++) sum += C[i * nf + k];
      tu_assert_close(sum, L, 1e-9 * (fabs(L) > 1 ? fabs(L) : 1.0));
      /* reasons: the scorer's are the batch row's */
      prop_reason a[3], b[3];
      size_t na = 9, nb = 9;
      double prob2;
      assert_int_equal(prop_scorer_reasons(s, raw + i * nf, 3, a, &na, &prob2, &band), 0);
      assert_true(prob2 == prob);
      assert_int_equal(prop_model_reasons(m, C + i * nf, raw + i * nf, 3, b, &nb), 0);
      assert_int_equal(na, nb);
      assert_memory_equal(a, b, na * sizeof *a);
      double one[64];
      assert_int_equal(prop_model_contributions_dense(m, raw + i * nf, PROP_FLOAT64, 1, nf, nf, one, &base2, NULL,
                                                      NULL), 0);
      assert_memory_equal(one, C + i * nf, nf * sizeof *one);
    }
    po.uncalibrated = 0;
    po.nthread = 1;
    po.block_rows = 5;
    assert_int_equal(prop_model_contributions_dense(m, raw, PROP_FLOAT64, R, nf, nf, C2, &base2, NULL, &po), 0);
    assert_memory_equal(C2, C, R * nf * sizeof *C);
    assert_memory_equal(&base2, &base, sizeof base);
    prop_scorer_free(s);
    free(raw);
    free(C);
    free(C2);
    prop_model_free(m);
  }
}

/* One-hot, missing-indicator and <other> columns add up to their input: with one member under the
 * logit vote (no map), the ensemble's contribution of each input is the sum of the member's over
 * the input's encoded columns (logistic: to rounding; xgboost: to the float sigmoid's remainder). */
static void test_inputs_sum_their_columns(void **state) {
  (void)state;
  enum { R = 16 };
  static const char *const one[] = {"{\"name\": \"logistic\"}",
                                    "{\"name\": \"xgboost\", \"params\": {\"max_depth\": 4, \"rounds\": 30}}"};
  for (size_t v = 0; v < 2; v++) {
    prop_model *m = train_demo("logit", one[v]);
    const size_t nf = prop_model_n_inputs(m), w = m->width;
    assert_true(w > nf + 4); /* one-hot and missing-indicator columns */
    double *raw = demo_rows(m, R), *C = tu_xmalloc(R * nf * sizeof *C), *phi = tu_xmalloc(R * w * sizeof *phi);
    float *X = tu_xmalloc(R * w * sizeof *X);
    double base, mbase;
    assert_int_equal(prop_model_contributions_frame(m, g_frame, NULL, &base, NULL, NULL), PROP_ERR_ARG);
    assert_int_equal(prop_model_contributions_dense(m, raw, PROP_FLOAT64, R, nf, nf, C, &base, NULL, NULL), 0);
    pp_encoder_transform(m->enc, raw, R, nf, X);
    assert_int_equal(m->mem[0].ops->contrib(m->mem[0].model, X, R, NULL, 0, phi, &mbase, NULL), 0);
    tu_assert_close(base, mbase, 1e-12);
    for (size_t i = 0; i < R; i++) {
      double want[64] = {0};
      for (size_t c = 0; c < w; c++) want[pp_encoder_source(m->enc, c)] += phi[i * w + c];
      for (size_t k = 0; k < nf; k++) tu_assert_close(C[i * nf + k], want[k], v ? 1e-5 : 1e-9);
    }
    free(raw);
    free(C);
    free(phi);
    free(X);
    prop_model_free(m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_treeshap_hand_tree),
      cmocka_unit_test(test_treeshap_groups_bit_for_bit),
      cmocka_unit_test(test_tree_members_against_brute_force),
      cmocka_unit_test(test_xgboost_against_xgboost),
      cmocka_unit_test(test_logistic_linear_and_version_1),
      cmocka_unit_test(test_sampling_exact_on_additive),
      cmocka_unit_test(test_sampling_members_against_exact),
      cmocka_unit_test(test_svc_version_1),
  };
  const struct CMUnitTest ensemble[] = {
      cmocka_unit_test(test_ensemble_efficiency_every_vote),
      cmocka_unit_test(test_inputs_sum_their_columns),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  return failed + cmocka_run_group_tests(ensemble, setup_demo, teardown_demo);
}
