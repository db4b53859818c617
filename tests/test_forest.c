/* The "random_forest" member (lib/models/forest.c): parameters, bit-identical fits for any thread
 * count, the out-of-bag AUC, balanced bootstraps, class weights, the link to the decision tree,
 * save/load with crafted payloads, cancellation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "models/cart.h"
#include "models/member.h"
#include "testutil.h"

static const pp_member_ops *const OPS = &pp_forest_ops;

/* Bytes of the forest payload before pp_cart_save's part (version, width, flags, parameters). */
#define FOREST_HEADER 104u

/* ---- helpers ------------------------------------------------------------------------------- */

static void parse_fails(const char *js, const char *must_contain) {
  tu_expect_recipe_error(OPS, "members[1].params", js, must_contain);
}

static void *fit_full(const pp_member_ops *ops, const char *params_json, const float *X, const float *y,
                      const float *w, size_t n, size_t d, int imbalance, uint64_t seed, int nthread) {
  pp_dataset ds = {X, n, d, y, w, NULL, imbalance};
  pp_ctx c = tu_ctx(seed, nthread, NULL);
  return tu_fit(ops, params_json, &ds, NULL, &c);
}

static void *fit(const char *params_json, const float *X, const float *y, size_t n, size_t d, int nthread) {
  return fit_full(OPS, params_json, X, y, NULL, n, d, PP_IMB_NONE, 42, nthread);
}

static void save(const void *m, pp_buf *b) { tu_save(OPS, m, b); }

/* The trees of a fitted forest, read back from its payload. */
static void trees_of(const void *m, size_t d, pp_cart_trees *t) {
  pp_buf b;
  save(m, &b);
  assert_true(b.len > FOREST_HEADER);
  pp_rd rd;
  pp_rd_init(&rd, b.data + FOREST_HEADER, b.len - FOREST_HEADER, "trees");
  assert_int_equal(pp_cart_load(&rd, d, 100000, t), 0);
  assert_int_equal(pp_rd_end(&rd), 0);
  pp_buf_free(&b);
}

static json_t *info_get(const void *m, const char *key) { return tu_info_get(OPS, m, key); /* caller decrefs */ }

/* A number of info(), NaN for null. */
static double info_real(const void *m, const char *key) { return tu_info_num(OPS, m, key); }

/* A noisy problem with a nonlinear signal; NaN in column 3 on every 13th row. */
static void problem(size_t n, size_t d, double pos_bias, uint64_t seed, float *X, float *y) {
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    if (i % 13 == 0) X[i * d + 3] = NAN;
    double z = X[i * d] * X[i * d + 1] + 0.8 * X[i * d + 2] + 0.7 * tu_normal(&st) + pos_bias;
    y[i] = z > 0 ? 1.0f : 0.0f;
  }
}

/* ---- parameters ------------------------------------------------------------------------------- */

static void test_params_defaults_and_errors(void **state) {
  (void)state;
  void *p = tu_params(OPS, NULL);
  json_t *o = OPS->params_to_json(p);
  char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(s, "{\"balanced_bootstrap\":false,\"bootstrap\":true,\"class_weight\":null,\"criterion\":"
                         "\"gini\",\"max_bins\":255,\"max_depth\":0,\"max_features\":\"sqrt\",\"max_samples\":1.0,"
                         "\"min_samples_leaf\":1,\"min_samples_split\":2,\"n_estimators\":300,\"oob_score\":true}");
  void *p2 = NULL;
  assert_int_equal(OPS->parse_params(o, "x", &p2), 0); /* canonical JSON parses back */
  json_t *o2 = OPS->params_to_json(p2);
  assert_true(json_equal(o, o2));
  json_decref(o2);
  OPS->free_params(p2);
  free(s);
  json_decref(o);
  OPS->free_params(p);
  p = tu_params(OPS, "{\"n_estimators\":5,\"class_weight\":\"balanced_subsample\",\"max_features\":0.25,"
                     "\"max_samples\":0.5,\"balanced_bootstrap\":true,\"oob_score\":false,\"criterion\":\"entropy\"}");
  OPS->free_params(p);
  parse_fails("{\"trees\":5}", "members[1].params.trees: unknown field");
  parse_fails("{\"n_estimators\":0}", "members[1].params.n_estimators");
  parse_fails("{\"max_features\":\"half\"}", "members[1].params.max_features");
  parse_fails("{\"max_features\":0}", "members[1].params.max_features");
  parse_fails("{\"min_samples_leaf\":0}", "members[1].params.min_samples_leaf");
  parse_fails("{\"min_samples_split\":1}", "members[1].params.min_samples_split");
  parse_fails("{\"max_depth\":-2}", "members[1].params.max_depth");
  parse_fails("{\"bootstrap\":1}", "members[1].params.bootstrap");
  parse_fails("{\"max_samples\":0}", "members[1].params.max_samples");
  parse_fails("{\"max_samples\":1.5}", "members[1].params.max_samples");
  parse_fails("{\"max_samples\":0.5,\"bootstrap\":false}", "members[1].params.max_samples");
  parse_fails("{\"class_weight\":\"subsample\"}", "members[1].params.class_weight");
  parse_fails("{\"balanced_bootstrap\":\"yes\"}", "members[1].params.balanced_bootstrap");
  parse_fails("{\"oob_score\":null,\"criterion\":\"log_loss\"}", "members[1].params.criterion");
  parse_fails("{\"max_bins\":1}", "members[1].params.max_bins");
}

/* ---- determinism ---------------------------------------------------------------------------------- */

static void test_bit_identical_for_any_thread_count(void **state) {
  (void)state;
  const size_t n = 1200, d = 6;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *w = tu_xmalloc(n * sizeof *w);
  problem(n, d, -0.5, 4, X, y);
  for (size_t i = 0; i < n; i++) w[i] = 0.5f + (float)(i % 3);
  double *p1 = tu_xmalloc(n * sizeof *p1), *p2 = tu_xmalloc(n * sizeof *p2);
  const char *cfg[] = {
      "{\"n_estimators\":30,\"min_samples_leaf\":3}",
      "{\"n_estimators\":17,\"class_weight\":\"balanced_subsample\",\"max_samples\":0.7,\"criterion\":\"entropy\"}",
      "{\"n_estimators\":12,\"balanced_bootstrap\":true,\"max_depth\":6,\"max_features\":0.5}",
  };
  for (size_t k = 0; k < 3; k++) {
    pp_buf ref;
    void *m1 = fit_full(OPS, cfg[k], X, y, w, n, d, PP_IMB_WEIGHTS, 7, 1);
    save(m1, &ref);
    assert_int_equal(OPS->predict(m1, X, n, p1, NULL, 1), 0);
    for (int nt = 2; nt <= 3; nt++) {
      void *m = fit_full(OPS, cfg[k], X, y, w, n, d, PP_IMB_WEIGHTS, 7, nt);
      pp_buf b;
      save(m, &b);
      assert_int_equal(b.len, ref.len);
      assert_memory_equal(b.data, ref.data, b.len);
      assert_int_equal(OPS->predict(m, X, n, p2, NULL, nt), 0);
      assert_memory_equal(p1, p2, n * sizeof *p1);
      assert_true(info_real(m, "oob_auc") == info_real(m1, "oob_auc"));
      pp_buf_free(&b);
      OPS->free_model(m);
    }
    /* another seed: another forest */
    void *m3 = fit_full(OPS, cfg[k], X, y, w, n, d, PP_IMB_WEIGHTS, 8, 2);
    pp_buf b3;
    save(m3, &b3);
    assert_true(b3.len != ref.len || memcmp(b3.data, ref.data, ref.len) != 0);
    pp_buf_free(&b3);
    OPS->free_model(m3);
    pp_buf_free(&ref);
    OPS->free_model(m1);
  }
  free(X);
  free(y);
  free(w);
  free(p1);
  free(p2);
}

/* ---- out-of-bag score ---------------------------------------------------------------------------- */

static void test_oob_auc_close_to_held_out_auc(void **state) {
  (void)state;
  const size_t n = 2000, nt = 4000, d = 8;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  float *Xt = tu_xmalloc(nt * d * sizeof *Xt), *yt = tu_xmalloc(nt * sizeof *yt);
  double *pt = tu_xmalloc(nt * sizeof *pt);
  problem(n, d, 0.0, 100, X, y);
  problem(nt, d, 0.0, 200, Xt, yt);
  void *m = fit("{\"n_estimators\":100,\"min_samples_leaf\":5}", X, y, n, d, 2);
  assert_int_equal(OPS->predict(m, Xt, nt, pt, NULL, 2), 0);
  double test_auc = tu_auc_ref(pt, yt, nt), oob = info_real(m, "oob_auc");
  fprintf(stderr, "OOB AUC %.4f, held-out AUC %.4f\n", oob, test_auc);
  assert_true(test_auc > 0.8);
  assert_true(fabs(oob - test_auc) < 0.03);
  json_t *v = info_get(m, "oob_rows");
  assert_int_equal(json_integer_value(v), (json_int_t)n); /* (1 - 0.368)^100: every row was out once */
  json_decref(v);
  /* the in-bag training fit is much more optimistic than the out-of-bag estimate */
  double *ptr = tu_xmalloc(n * sizeof *ptr);
  assert_int_equal(OPS->predict(m, X, n, ptr, NULL, 2), 0);
  assert_true(tu_auc_ref(ptr, y, n) > oob + 0.05);
  free(ptr);
  OPS->free_model(m);
  /* oob_score false: not computed */
  m = fit("{\"n_estimators\":3,\"oob_score\":false}", X, y, n, d, 2);
  assert_true(isnan(info_real(m, "oob_auc")));
  OPS->free_model(m);
  free(X);
  free(y);
  free(Xt);
  free(yt);
  free(pt);
}

/* ---- samples and weights --------------------------------------------------------------------------- */

static void test_balanced_bootstrap_sees_equal_classes(void **state) {
  (void)state;
  const size_t n = 900, d = 5;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  problem(n, d, -2.2, 9, X, y);
  size_t npos = 0;
  for (size_t i = 0; i < n; i++) npos += y[i] == 1.0f;
  assert_true(npos > 20 && npos < n / 5);
  struct {
    const char *cfg;
    size_t per_class;
    int imbalance;
  } cases[] = {
      {"{\"n_estimators\":20,\"balanced_bootstrap\":true}", npos, PP_IMB_NONE},
      {"{\"n_estimators\":20,\"balanced_bootstrap\":true}", npos, PP_IMB_WEIGHTS}, /* follow: no extra weights */
      {"{\"n_estimators\":20,\"balanced_bootstrap\":true,\"max_samples\":0.5}", (size_t)floor(0.5 * npos + 0.5),
       PP_IMB_NONE},
      {"{\"n_estimators\":20,\"balanced_bootstrap\":true,\"bootstrap\":false}", npos, PP_IMB_NONE},
  };
  for (size_t k = 0; k < 4; k++) {
    void *m = fit_full(OPS, cases[k].cfg, X, y, NULL, n, d, cases[k].imbalance, 3, 2);
    pp_cart_trees t;
    trees_of(m, d, &t);
    assert_int_equal(t.n_trees, 20);
    for (size_t tr = 0; tr < t.n_trees; tr++) {
      size_t root = t.start[tr];
      /* count: distinct rows drawn (with bootstrap, repeats make it fewer than the draws); the root's value
       * weighs the draws: exactly half of them positive */
      if (k < 3) assert_true(t.count[root] >= cases[k].per_class && t.count[root] < 2 * cases[k].per_class);
      else assert_int_equal(t.count[root], 2 * cases[k].per_class);
      assert_true(t.value[root] == 0.5);
    }
    json_t *cw = info_get(m, "class_weight");
    assert_string_equal(json_string_value(cw), "none");
    json_decref(cw);
    if (k < 3) {
      assert_true(info_real(m, "oob_auc") > 0.8);
    } else {
      /* without bootstrap every tree holds every minority row: only majority rows are ever out of
       * bag, so the AUC is undefined; each majority row is left out by some tree */
      assert_true(isnan(info_real(m, "oob_auc")));
      json_t *v = info_get(m, "oob_rows");
      assert_int_equal(json_integer_value(v), (json_int_t)(n - npos));
      json_decref(v);
    }
    pp_cart_trees_free(&t);
    OPS->free_model(m);
  }
  /* the ordinary bootstrap: max_samples x n rows per tree */
  void *m = fit("{\"n_estimators\":5,\"max_samples\":0.3}", X, y, n, d, 2);
  pp_cart_trees t;
  trees_of(m, d, &t);
  for (size_t tr = 0; tr < t.n_trees; tr++) { /* 270 draws (the root's weight), fewer distinct rows (its count) */
    assert_true(t.weight[t.start[tr]] == 270.0);
    assert_true(t.count[t.start[tr]] > 180 && t.count[t.start[tr]] < 270);
  }
  pp_cart_trees_free(&t);
  OPS->free_model(m);
  free(X);
  free(y);
}

static void test_class_weights(void **state) {
  (void)state;
  const size_t n = 800, d = 5;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  problem(n, d, -1.5, 10, X, y);
  size_t npos = 0;
  for (size_t i = 0; i < n; i++) npos += y[i] == 1.0f;
  /* balanced_subsample: each tree's root is half class 1 by weight */
  void *m = fit("{\"n_estimators\":10,\"class_weight\":\"balanced_subsample\"}", X, y, n, d, 2);
  pp_cart_trees t;
  trees_of(m, d, &t);
  for (size_t tr = 0; tr < t.n_trees; tr++) assert_true(fabs(t.value[t.start[tr]] - 0.5) < 1e-12);
  pp_cart_trees_free(&t);
  OPS->free_model(m);
  /* without bootstrap every tree sees all rows: "balanced" and the recipe's weights give 0.5 at the
   * root, "none" the class share */
  const char *cfg[] = {"{\"n_estimators\":3,\"bootstrap\":false,\"class_weight\":\"balanced\"}",
                       "{\"n_estimators\":3,\"bootstrap\":false}",
                       "{\"n_estimators\":3,\"bootstrap\":false,\"class_weight\":\"none\"}"};
  const double root[] = {0.5, 0.5, (double)npos / (double)n};
  for (size_t k = 0; k < 3; k++) {
    m = fit_full(OPS, cfg[k], X, y, NULL, n, d, PP_IMB_WEIGHTS, 1, 2);
    trees_of(m, d, &t);
    for (size_t tr = 0; tr < t.n_trees; tr++) {
      assert_true(fabs(t.value[t.start[tr]] - root[k]) < 1e-12);
      assert_int_equal(t.count[t.start[tr]], n);
    }
    assert_true(isnan(info_real(m, "oob_auc"))); /* no row is ever out of bag */
    pp_cart_trees_free(&t);
    OPS->free_model(m);
  }
  /* sample weights: the root of a full-data tree is the weighted share */
  float *w = tu_xmalloc(n * sizeof *w);
  double W = 0, W1 = 0;
  for (size_t i = 0; i < n; i++) {
    w[i] = (float)(1 + i % 4);
    W += w[i];
    W1 += y[i] * w[i];
  }
  m = fit_full(OPS, cfg[2], X, y, w, n, d, PP_IMB_NONE, 1, 2);
  trees_of(m, d, &t);
  assert_true(fabs(t.value[0] - W1 / W) < 1e-12);
  pp_cart_trees_free(&t);
  OPS->free_model(m);
  free(w);
  free(X);
  free(y);
}

static void test_without_randomness_every_tree_is_the_decision_tree(void **state) {
  (void)state;
  const size_t n = 600, d = 5;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  problem(n, d, 0.0, 11, X, y);
  double *pf = tu_xmalloc(n * sizeof *pf), *pt = tu_xmalloc(n * sizeof *pt);
  void *f = fit("{\"n_estimators\":4,\"bootstrap\":false,\"max_features\":\"all\",\"max_depth\":5,"
                "\"min_samples_leaf\":7,\"criterion\":\"entropy\"}",
                X, y, n, d, 2);
  void *t = fit_full(&pp_tree_ops, "{\"max_depth\":5,\"min_samples_leaf\":7,\"criterion\":\"entropy\"}", X, y, NULL,
                     n, d, PP_IMB_NONE, 99, 1);
  assert_int_equal(OPS->predict(f, X, n, pf, NULL, 2), 0);
  assert_int_equal(pp_tree_ops.predict(t, X, n, pt, NULL, 1), 0);
  for (size_t i = 0; i < n; i++) assert_true(fabs(pf[i] - pt[i]) < 1e-12);
  double fi[5], ti[5];
  assert_int_equal(OPS->importance(f, fi, d), 0);
  assert_int_equal(pp_tree_ops.importance(t, ti, d), 0);
  for (size_t j = 0; j < d; j++) assert_true(fabs(fi[j] - ti[j]) < 1e-12);
  /* signal features 0, 1 and 2 carry the importance */
  assert_true(fi[0] + fi[1] + fi[2] > 0.8);
  OPS->free_model(f);
  pp_tree_ops.free_model(t);
  free(X);
  free(y);
  free(pf);
  free(pt);
}

/* ---- errors, cancellation ------------------------------------------------------------------------- */

typedef struct cancel_state {
  int calls, limit;
  size_t last_done;
} cancel_state;

static int cancel_after(void *user, const char *stage, size_t done, size_t total) {
  cancel_state *cs = user;
  assert_string_equal(stage, "fit:random_forest");
  assert_int_equal(total, 50);
  assert_true(done <= total);
  if (cs->calls) assert_true(done > cs->last_done);
  cs->last_done = done;
  return ++cs->calls >= cs->limit;
}

static void test_errors_and_cancel(void **state) {
  (void)state;
  const size_t n = 300, d = 4;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *w = tu_xmalloc(n * sizeof *w);
  problem(n, d, 0.0, 12, X, y);
  void *params = tu_params(OPS, "{\"n_estimators\":50}");
  pp_ctx c;
  pp_ctx_init(&c, NULL, 1);
  c.nthread = 2;
  void *m = NULL;
  pp_dataset ds = {X, n, d, y, NULL, NULL, PP_IMB_NONE};
  c.progress = cancel_after;
  /* one thread: called at 0 and after every tree; the 4th call (3 trees done) stops the fit */
  cancel_state cs = {0, 4, 0};
  c.user = &cs;
  c.nthread = 1;
  assert_int_equal(OPS->fit(params, &ds, NULL, &c, &m), PROP_ERR_CANCELLED);
  assert_null(m);
  assert_int_equal(cs.calls, 4);
  assert_int_equal(cs.last_done, 3);
  assert_non_null(strstr(prop_last_error(), "cancelled"));
  /* two threads: the calling thread reports the trees it finishes, and the end */
  cancel_state cs2 = {0, 2, 0};
  c.user = &cs2;
  c.nthread = 2;
  assert_int_equal(OPS->fit(params, &ds, NULL, &c, &m), PROP_ERR_CANCELLED);
  assert_null(m);
  assert_int_equal(cs2.calls, 2);
  /* not cancelled: the last call reports every tree */
  cancel_state cs3 = {0, 1000, 0};
  c.user = &cs3;
  assert_int_equal(OPS->fit(params, &ds, NULL, &c, &m), 0);
  assert_int_equal(cs3.last_done, 50);
  OPS->free_model(m);
  m = NULL;
  c.progress = NULL;
  for (size_t i = 0; i < n; i++) w[i] = 1.0f;
  w[17] = -1.0f;
  ds.w = w;
  assert_int_equal(OPS->fit(params, &ds, NULL, &c, &m), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "row 17"));
  ds.w = NULL;
  for (size_t i = 0; i < n; i++) w[i] = 1.0f;
  ds.y = w; /* one class */
  assert_int_equal(OPS->fit(params, &ds, NULL, &c, &m), PROP_ERR_TRAIN);
  ds.y = y;
  assert_int_equal(OPS->fit(NULL, &ds, NULL, NULL, &m), 0); /* defaults: 300 trees, one thread */
  json_t *v = info_get(m, "n_estimators");
  assert_int_equal(json_integer_value(v), 300);
  json_decref(v);
  OPS->free_model(m);
  /* tiny and degenerate: two rows, a column that is all NaN, a constant column */
  const float X2[6] = {NAN, 1.0f, 0.0f, NAN, 1.0f, 1.0f}, y2[2] = {0.0f, 1.0f};
  pp_dataset tiny = {X2, 2, 3, y2, NULL, NULL, PP_IMB_WEIGHTS};
  assert_int_equal(OPS->fit(params, &tiny, NULL, &c, &m), 0);
  double p2[2];
  assert_int_equal(OPS->predict(m, X2, 2, p2, NULL, 1), 0);
  assert_true(p2[0] >= 0 && p2[0] < 0.5 && p2[1] > 0.5 && p2[1] <= 1);
  OPS->free_model(m);
  OPS->free_params(params);
  free(X);
  free(y);
  free(w);
}

/* ---- save / load ----------------------------------------------------------------------------------- */

static void test_save_load_and_crafted_payloads(void **state) {
  (void)state;
  const size_t n = 300, d = 4;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  double *p1 = tu_xmalloc(n * sizeof *p1), *p2 = tu_xmalloc(n * sizeof *p2);
  problem(n, d, 0.0, 13, X, y);
  void *m = fit("{\"n_estimators\":4,\"max_depth\":3,\"min_samples_leaf\":5}", X, y, n, d, 2);
  pp_buf b;
  void *m2 = tu_reload(OPS, m, d, &b);
  assert_int_equal(OPS->predict(m, X, n, p1, NULL, 2), 0);
  assert_int_equal(OPS->predict(m2, X, n, p2, NULL, 1), 0);
  assert_memory_equal(p1, p2, n * sizeof *p1);
  assert_true(info_real(m, "oob_auc") == info_real(m2, "oob_auc"));
  double i1[4], i2[4];
  assert_int_equal(OPS->importance(m, i1, d), 0);
  assert_int_equal(OPS->importance(m2, i2, d), 0);
  assert_memory_equal(i1, i2, sizeof i1);
  OPS->free_model(m2);
  m2 = NULL;
  /* wrong width */
  assert_int_equal(tu_load(OPS, b.data, b.len, d - 1, &m2), PROP_ERR_CORRUPT);
  /* every truncation, every byte flipped (two patterns) */
  const unsigned char masks[] = {0x5A, 0x80};
  size_t rejected = tu_fuzz_member(OPS, b.data, b.len, d, masks, 2, X, 30);
  assert_true(rejected > b.len / 2);
  unsigned char *c = tu_xmalloc(b.len);
  /* n_estimators says 5, the payload holds 4 trees */
  memcpy(c, b.data, b.len);
  uint64_t five = 5;
  memcpy(c + 32, &five, 8); /* after version 4, width 8, flags 4, two doubles 16: n_estimators */
  assert_int_equal(tu_load(OPS, c, b.len, d, &m2), PROP_ERR_CORRUPT);
  free(c);
  pp_buf_free(&b);
  OPS->free_model(m);
  free(X);
  free(y);
  free(p1);
  free(p2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_params_defaults_and_errors),
      cmocka_unit_test(test_bit_identical_for_any_thread_count),
      cmocka_unit_test(test_oob_auc_close_to_held_out_auc),
      cmocka_unit_test(test_balanced_bootstrap_sees_equal_classes),
      cmocka_unit_test(test_class_weights),
      cmocka_unit_test(test_without_randomness_every_tree_is_the_decision_tree),
      cmocka_unit_test(test_errors_and_cancel),
      cmocka_unit_test(test_save_load_and_crafted_payloads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
