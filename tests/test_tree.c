/* The "decision_tree" member (lib/models/tree.c): parameters, known answers (separable data, XOR,
 * class and sample weights, missing values at fit and at predict), importance, info, save/load
 * and crafted payloads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "models/member.h"
#include "testutil.h"

static const pp_member_ops *const OPS = &pp_tree_ops;

/* ---- helpers ------------------------------------------------------------------------------- */

static void *parse(const char *js) { return tu_params(OPS, js); }

static void parse_fails(const char *js, const char *must_contain) {
  tu_expect_recipe_error(OPS, "members[3].params", js, must_contain);
}

static void *fit_w(const char *params_json, const float *X, const float *y, const float *w, size_t n, size_t d,
                   int imbalance) {
  pp_dataset ds = {X, n, d, y, w, NULL, imbalance};
  pp_ctx c = tu_ctx(42, 2, NULL);
  return tu_fit(OPS, params_json, &ds, NULL, &c);
}

static void *fit(const char *params_json, const float *X, const float *y, size_t n, size_t d) {
  return fit_w(params_json, X, y, NULL, n, d, PP_IMB_NONE);
}

static double predict1(const void *model, const float *x) {
  double p = -1;
  assert_int_equal(OPS->predict(model, x, 1, &p, NULL, 1), 0);
  return p;
}

static json_t *info_of(const void *model) {
  json_t *o = OPS->info(model);
  assert_non_null(o);
  return o;
}

static json_int_t info_int(const void *model, const char *key) { return tu_info_int(OPS, model, key); }

/* ---- parameters ------------------------------------------------------------------------------- */

static void test_params_defaults_and_round_trip(void **state) {
  (void)state;
  void *p = parse(NULL);
  json_t *o = OPS->params_to_json(p);
  char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(s, "{\"class_weight\":null,\"criterion\":\"gini\",\"max_bins\":255,\"max_depth\":8,"
                         "\"max_features\":\"all\",\"min_samples_leaf\":20,\"min_samples_split\":2}");
  free(s);
  json_decref(o);
  OPS->free_params(p);
  p = parse("{\"criterion\":\"entropy\",\"max_depth\":0,\"min_samples_split\":10,\"min_samples_leaf\":3,"
            "\"max_features\":0.5,\"max_bins\":16,\"class_weight\":\"balanced\"}");
  o = OPS->params_to_json(p);
  s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(s, "{\"class_weight\":\"balanced\",\"criterion\":\"entropy\",\"max_bins\":16,\"max_depth\":0,"
                         "\"max_features\":0.5,\"min_samples_leaf\":3,\"min_samples_split\":10}");
  /* the canonical JSON parses back to the same canonical JSON */
  void *p2 = NULL;
  assert_int_equal(OPS->parse_params(o, "x", &p2), 0);
  json_t *o2 = OPS->params_to_json(p2);
  char *s2 = json_dumps(o2, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(s, s2);
  free(s);
  free(s2);
  json_decref(o);
  json_decref(o2);
  OPS->free_params(p);
  OPS->free_params(p2);
  p = parse("{\"max_features\":\"log2\",\"class_weight\":\"none\"}");
  OPS->free_params(p);
}

static void test_params_errors_name_the_field(void **state) {
  (void)state;
  parse_fails("{\"max_dept\":3}", "members[3].params.max_dept: unknown field");
  parse_fails("{\"criterion\":\"mse\"}", "members[3].params.criterion");
  parse_fails("{\"max_depth\":-1}", "members[3].params.max_depth");
  parse_fails("{\"max_depth\":2.5}", "members[3].params.max_depth");
  parse_fails("{\"min_samples_split\":1}", "members[3].params.min_samples_split");
  parse_fails("{\"min_samples_leaf\":0}", "members[3].params.min_samples_leaf");
  parse_fails("{\"max_features\":0}", "members[3].params.max_features");
  parse_fails("{\"max_features\":1.5}", "members[3].params.max_features");
  parse_fails("{\"max_features\":\"cube\"}", "members[3].params.max_features");
  parse_fails("{\"max_bins\":1}", "members[3].params.max_bins");
  parse_fails("{\"max_bins\":70000}", "members[3].params.max_bins");
  parse_fails("{\"class_weight\":\"balanced_subsample\"}", "members[3].params.class_weight");
  parse_fails("[1]", "members[3].params: must be an object");
}

/* ---- known answers ------------------------------------------------------------------------------ */

static void test_separable_training_accuracy_one(void **state) {
  (void)state;
  const size_t n = 500, d = 5;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  double *p = tu_xmalloc(n * sizeof *p);
  uint64_t st = 3;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    y[i] = X[i * d + 2] - X[i * d + 4] > 0.1f ? 1.0f : 0.0f;
  }
  void *m = fit("{\"max_depth\":0,\"min_samples_leaf\":1}", X, y, n, d);
  assert_int_equal(OPS->predict(m, X, n, p, NULL, 2), 0);
  for (size_t i = 0; i < n; i++) assert_true(p[i] == (double)y[i]);
  assert_int_equal(info_int(m, "rows"), (json_int_t)n);
  assert_true(info_int(m, "depth") > 2);
  assert_int_equal(info_int(m, "leaves") * 2 - 1, info_int(m, "nodes"));
  /* importance: sums to 1, nearly all on features 2 and 4 (small deep nodes may split on noise
   * that happens to separate their few rows) */
  double imp[5];
  assert_int_equal(OPS->importance(m, imp, d), 0);
  assert_true(fabs(imp[0] + imp[1] + imp[2] + imp[3] + imp[4] - 1.0) < 1e-12);
  assert_true(imp[2] + imp[4] > 0.9);
  OPS->free_model(m);
  /* the default recipe's limits (depth 8, leaves of 20) hold */
  m = fit(NULL, X, y, n, d);
  assert_true(info_int(m, "depth") <= 8);
  OPS->free_model(m);
  free(X);
  free(y);
  free(p);
}

static void test_xor_found_at_depth_two(void **state) {
  (void)state;
  const size_t n = 200, d = 2;
  float X[400], y[200];
  double p[200];
  for (size_t i = 0; i < n; i++) {
    int a = (int)(i & 1), c = (int)((i >> 1) & 1);
    X[i * d] = a ? 5.0f : 1.0f;
    X[i * d + 1] = c ? 0.5f : -0.5f;
    y[i] = (float)(a ^ c);
  }
  void *m = fit("{\"max_depth\":2,\"min_samples_leaf\":1}", X, y, n, d);
  assert_int_equal(OPS->predict(m, X, n, p, NULL, 1), 0);
  for (size_t i = 0; i < n; i++) assert_true(p[i] == (double)y[i]);
  assert_int_equal(info_int(m, "depth"), 2);
  OPS->free_model(m);
}

static void test_class_and_sample_weights(void **state) {
  (void)state;
  /* a single leaf (min_samples_split above n): its value is the weighted class-1 share */
  const size_t n = 100, d = 2;
  float X[200], y[100], w[100];
  double W = 0, W1 = 0;
  for (size_t i = 0; i < n; i++) {
    X[i * d] = (float)i;
    X[i * d + 1] = (float)(i % 7);
    y[i] = i % 5 == 0 ? 1.0f : 0.0f; /* 20 positives */
    w[i] = 1.0f + (float)(i % 3);
    W += w[i];
    W1 += y[i] * w[i];
  }
  const char *leaf = "{\"min_samples_split\":1000}";
  const float x0[2] = {3, 3};
  void *m = fit(leaf, X, y, n, d);
  assert_true(fabs(predict1(m, x0) - 0.2) < 1e-12);
  OPS->free_model(m);
  m = fit_w(leaf, X, y, NULL, n, d, PP_IMB_WEIGHTS); /* follows the recipe: balanced */
  assert_true(fabs(predict1(m, x0) - 0.5) < 1e-12);
  json_t *o = info_of(m);
  assert_string_equal(json_string_value(json_object_get(o, "class_weight")), "balanced");
  json_decref(o);
  OPS->free_model(m);
  m = fit_w("{\"min_samples_split\":1000,\"class_weight\":\"none\"}", X, y, NULL, n, d, PP_IMB_WEIGHTS);
  assert_true(fabs(predict1(m, x0) - 0.2) < 1e-12);
  OPS->free_model(m);
  m = fit_w("{\"min_samples_split\":1000,\"class_weight\":\"balanced\"}", X, y, NULL, n, d, PP_IMB_NONE);
  assert_true(fabs(predict1(m, x0) - 0.5) < 1e-12);
  OPS->free_model(m);
  m = fit_w(leaf, X, y, w, n, d, PP_IMB_NONE);
  assert_true(fabs(predict1(m, x0) - W1 / W) < 1e-12);
  OPS->free_model(m);
}

static void test_missing_values_at_fit_and_predict(void **state) {
  (void)state;
  /* at fit: missing x0 goes with class 1 (it is mostly class 1) */
  const size_t n = 300, d = 2;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 8;
  for (size_t i = 0; i < n; i++) {
    float v = (float)tu_normal(&st);
    if (i % 4 == 0) { /* missing: 9 in 10 of these rows are class 1 */
      X[i * d] = NAN;
      y[i] = i % 40 == 0 ? 0.0f : 1.0f;
    } else {
      X[i * d] = v;
      y[i] = v > 0.5f ? 1.0f : 0.0f;
    }
    X[i * d + 1] = (float)tu_normal(&st);
  }
  void *m = fit("{\"max_depth\":2,\"min_samples_leaf\":1}", X, y, n, d);
  const float xm[2] = {NAN, 0.0f}, xlo[2] = {-1.0f, 0.0f};
  assert_true(predict1(m, xm) > 0.8);
  assert_true(predict1(m, xlo) < 0.1);
  OPS->free_model(m);
  /* at predict only: fit on complete data, NaN follows the heavier child of each split */
  for (size_t i = 0; i < n; i++) {
    X[i * d] = (float)i;
    X[i * d + 1] = 0.0f;
    y[i] = i >= 200 ? 1.0f : 0.0f;
  }
  m = fit("{\"max_depth\":1,\"min_samples_leaf\":1}", X, y, n, d);
  assert_true(predict1(m, xm) == 0.0); /* 200 rows left, 100 right */
  float xall[4] = {NAN, NAN, 250.0f, NAN};
  double p2[2];
  assert_int_equal(OPS->predict(m, xall, 2, p2, NULL, 1), 0);
  assert_true(p2[0] == 0.0 && p2[1] == 1.0);
  OPS->free_model(m);
  free(X);
  free(y);
}

static void test_fit_errors(void **state) {
  (void)state;
  float X[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[4] = {0, 0, 0, 0}, w[4] = {1, 1, 0, 1};
  void *params = parse(NULL);
  pp_ctx c;
  pp_ctx_init(&c, NULL, 1);
  void *m = NULL;
  pp_dataset ds = {X, 4, 2, y, NULL, NULL, PP_IMB_NONE};
  assert_int_equal(OPS->fit(params, &ds, NULL, &c, &m), PROP_ERR_TRAIN);
  assert_null(m);
  y[1] = 1;
  ds.w = w;
  assert_int_equal(OPS->fit(params, &ds, NULL, &c, &m), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "row 2"));
  ds.w = NULL;
  y[2] = 0.5f;
  assert_int_equal(OPS->fit(params, &ds, NULL, &c, &m), PROP_ERR_VALUE);
  y[2] = 0;
  ds.n = 0;
  assert_int_equal(OPS->fit(params, &ds, NULL, &c, &m), PROP_ERR_ARG);
  ds.n = 4;
  assert_int_equal(OPS->fit(NULL, &ds, NULL, NULL, &m), 0); /* all defaults, no context */
  double p[4];
  assert_int_equal(OPS->predict(m, X, 4, p, NULL, 0), 0);
  assert_int_equal(OPS->predict(m, NULL, 4, p, NULL, 0), PROP_ERR_ARG);
  assert_int_equal(OPS->scratch_bytes(m, 1), 0);
  OPS->free_model(m);
  OPS->free_params(params);
}

/* ---- save / load -------------------------------------------------------------------------------- */

static void test_save_load_and_crafted_payloads(void **state) {
  (void)state;
  const size_t n = 400, d = 4;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  double *p1 = tu_xmalloc(n * sizeof *p1), *p2 = tu_xmalloc(n * sizeof *p2);
  uint64_t st = 12;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    y[i] = tu_uniform(&st) < (X[i * d] > 0 ? 0.8 : 0.2) ? 1.0f : 0.0f;
  }
  void *m = fit("{\"max_depth\":4,\"min_samples_leaf\":10,\"criterion\":\"entropy\",\"max_features\":\"sqrt\"}", X,
                y, n, d);
  pp_buf b;
  void *m2 = tu_reload(OPS, m, d, &b);
  assert_int_equal(OPS->predict(m, X, n, p1, NULL, 1), 0);
  assert_int_equal(OPS->predict(m2, X, n, p2, NULL, 2), 0);
  assert_memory_equal(p1, p2, n * sizeof *p1);
  json_t *i1 = info_of(m), *i2 = info_of(m2);
  assert_true(json_equal(i1, i2));
  json_decref(i1);
  json_decref(i2);
  OPS->free_model(m2);
  m2 = NULL;
  /* wrong width, newer version */
  pp_rd rd;
  pp_rd_init(&rd, b.data, b.len, "t");
  assert_int_equal(OPS->load(&rd, d + 1, &m2), PROP_ERR_CORRUPT);
  assert_null(m2);
  unsigned char *c = tu_xmalloc(b.len);
  memcpy(c, b.data, b.len);
  c[0] = 9;
  pp_rd_init(&rd, c, b.len, "t");
  assert_int_equal(OPS->load(&rd, d, &m2), PROP_ERR_VERSION);
  /* truncations and byte flips fail cleanly or load a usable model */
  const unsigned char mask = 0xA5;
  tu_fuzz_member(OPS, b.data, b.len, d, &mask, 1, X, 20);
  /* two trees where one is allowed: the header, then the tree twice */
  {
    size_t nn = (size_t)info_int(m, "nodes"), cart = 16 + 8 + 45 * nn, head = b.len - cart;
    pp_buf t2;
    pp_buf_init(&t2);
    pp_put_bytes(&t2, b.data, head);
    pp_put_u64(&t2, 2);
    pp_put_u64(&t2, 2 * nn);
    pp_put_u64(&t2, nn);
    pp_put_u64(&t2, 2 * nn);
    pp_put_bytes(&t2, b.data + head + 24, 45 * nn);
    pp_put_bytes(&t2, b.data + head + 24, 45 * nn);
    pp_rd_init(&rd, t2.data, t2.len, "t");
    assert_int_equal(OPS->load(&rd, d, &m2), PROP_ERR_CORRUPT);
    assert_null(m2);
    /* the same bytes with one tree declared load */
    pp_buf t1;
    pp_buf_init(&t1);
    pp_put_bytes(&t1, b.data, head);
    pp_put_u64(&t1, 1);
    pp_put_u64(&t1, nn);
    pp_put_u64(&t1, nn);
    pp_put_bytes(&t1, b.data + head + 24, 45 * nn);
    assert_int_equal(t1.len, b.len);
    pp_rd_init(&rd, t1.data, t1.len, "t");
    assert_int_equal(OPS->load(&rd, d, &m2), 0);
    OPS->free_model(m2);
    pp_buf_free(&t1);
    pp_buf_free(&t2);
  }
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
      cmocka_unit_test(test_params_defaults_and_round_trip),
      cmocka_unit_test(test_params_errors_name_the_field),
      cmocka_unit_test(test_separable_training_accuracy_one),
      cmocka_unit_test(test_xor_found_at_depth_two),
      cmocka_unit_test(test_class_and_sample_weights),
      cmocka_unit_test(test_missing_values_at_fit_and_predict),
      cmocka_unit_test(test_fit_errors),
      cmocka_unit_test(test_save_load_and_crafted_payloads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
