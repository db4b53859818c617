/* The "xgboost" member (lib/models/xgb.c): parameters, fit quality on a nonlinear problem, sample
 * weights and scale_pos_weight, early stopping, save/load (bit-for-bit, corrupted and crafted
 * payloads), importance, concurrent prediction, silence; our walks of the trees against XGBoost's own
 * prediction (every path, thresholds, missing values, every block size). */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/jsonx.h"
#include "models/member.h"
#include "models/xgb_internal.h"
#include "models/xgb_json.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void *parse(const char *js) { return tu_params(&pp_xgb_ops, js); }

static void parse_fails(const char *js, const char *must_contain) {
  tu_expect_recipe_error(&pp_xgb_ops, "members[0].params", js, must_contain);
}

static pp_ctx make_ctx(uint64_t seed, tu_log *lc) { return tu_ctx(seed, 2, lc); }

/* A nonlinear problem: y = 1 when x0 * x1 > 0 (XOR of signs) or x2 > 1.2, 5% of labels flipped;
 * x3.. are noise.  Uniform inputs on [-2, 2]. */
static void xor_data(size_t n, size_t d, uint64_t seed, float *X, float *y) {
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)(4.0 * tu_uniform(&st) - 2.0);
    const float *x = X + i * d;
    int c = (x[0] * x[1] > 0) || x[2] > 1.2f;
    if (tu_uniform(&st) < 0.05) c = !c;
    y[i] = (float)c;
  }
}

/* A weak-signal problem for early stopping: P(y = 1) = sigmoid(0.6 x0), other columns noise. */
static void noisy_data(size_t n, size_t d, uint64_t seed, float *X, float *y) {
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    double p = 1.0 / (1.0 + exp(-0.6 * X[i * d]));
    y[i] = (float)(tu_uniform(&st) < p);
  }
}

static void *fit(const char *params_js, const float *X, const float *y, const float *w, size_t n, size_t d,
                 int imbalance, const float *Xv, const float *yv, size_t nv, tu_log *lc) {
  pp_dataset tr = {X, n, d, y, w, NULL, imbalance};
  pp_dataset va = {Xv, nv, d, yv, NULL, NULL, imbalance};
  pp_ctx c = make_ctx(11, lc);
  return tu_fit(&pp_xgb_ops, params_js, &tr, Xv ? &va : NULL, &c);
}

static double *predict(const void *model, const float *X, size_t n, int nthread) {
  double *p = tu_xmalloc(n * sizeof *p);
  int rc = pp_xgb_ops.predict(model, X, n, p, NULL, nthread);
  if (rc) fprintf(stderr, "predict: %s\n", prop_last_error());
  assert_int_equal(rc, 0);
  return p;
}

static json_int_t info_int(const void *model, const char *key) { return tu_info_int(&pp_xgb_ops, model, key); }
static double info_real(const void *model, const char *key) { return tu_info_real(&pp_xgb_ops, model, key); }
static int info_bool(const void *model, const char *key) { return tu_info_bool(&pp_xgb_ops, model, key); }

static int load_bytes(const void *data, size_t len, size_t d, void **model) {
  return tu_load(&pp_xgb_ops, data, len, d, model);
}

/* ---- shared fixture: one model on the XOR problem ------------------------------------------- */

#define ND 6
#define NTR 3000
#define NTE 1500

typedef struct fixture {
  float *X, *y, *Xt, *yt;
  void *model;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f) return -1;
  f->X = malloc(NTR * ND * sizeof(float));
  f->y = malloc(NTR * sizeof(float));
  f->Xt = malloc(NTE * ND * sizeof(float));
  f->yt = malloc(NTE * sizeof(float));
  if (!f->X || !f->y || !f->Xt || !f->yt) return -1;
  xor_data(NTR, ND, 1, f->X, f->y);
  xor_data(NTE, ND, 2, f->Xt, f->yt);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (f->model) pp_xgb_ops.free_model(f->model);
  free(f->X);
  free(f->y);
  free(f->Xt);
  free(f->yt);
  free(f);
  return 0;
}

static const char *k_xor_params = "{\"eta\": 0.2, \"max_depth\": 4, \"rounds\": 120, \"subsample\": 0.9, "
                                  "\"colsample\": 1.0, \"min_child_weight\": 1}";

static void *xor_model(fixture *f) {
  if (!f->model) f->model = fit(k_xor_params, f->X, f->y, NULL, NTR, ND, PP_IMB_NONE, NULL, NULL, 0, NULL);
  return f->model;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_params(void **state) {
  (void)state;
  void *p = parse(NULL);
  json_t *j = pp_xgb_ops.params_to_json(p);
  assert_true(fabs(json_real_value(json_object_get(j, "eta")) - 0.1) < 1e-12);
  assert_int_equal(json_integer_value(json_object_get(j, "max_depth")), 6);
  assert_int_equal(json_integer_value(json_object_get(j, "rounds")), 300);
  assert_int_equal(json_integer_value(json_object_get(j, "max_bin")), 256);
  assert_int_equal(json_integer_value(json_object_get(j, "early_stopping_rounds")), 0);
  assert_true(json_is_null(json_object_get(j, "scale_pos_weight")));
  assert_true(json_is_null(json_object_get(j, "seed")));
  json_decref(j);
  pp_xgb_ops.free_params(p);

  p = parse("{\"eta\": 0.05, \"max_depth\": 3, \"rounds\": 50, \"gamma\": 0.5, \"lambda\": 2, \"max_bin\": 64, "
            "\"scale_pos_weight\": 4, \"early_stopping_rounds\": 7, \"seed\": 9, \"colsample\": 0.5}");
  j = pp_xgb_ops.params_to_json(p);
  assert_true(fabs(json_number_value(json_object_get(j, "scale_pos_weight")) - 4.0) < 1e-12);
  assert_true(fabs(json_number_value(json_object_get(j, "gamma")) - 0.5) < 1e-12);
  assert_true(fabs(json_number_value(json_object_get(j, "colsample")) - 0.5) < 1e-12);
  assert_int_equal(json_integer_value(json_object_get(j, "seed")), 9);
  assert_int_equal(json_integer_value(json_object_get(j, "early_stopping_rounds")), 7);
  /* the canonical JSON parses back to the same JSON */
  void *p2 = NULL;
  assert_int_equal(pp_xgb_ops.parse_params(j, "x", &p2), 0);
  json_t *j2 = pp_xgb_ops.params_to_json(p2);
  assert_true(json_equal(j, j2));
  json_decref(j);
  json_decref(j2);
  pp_xgb_ops.free_params(p);
  pp_xgb_ops.free_params(p2);

  parse_fails("{\"max_depth\": 0}", "members[0].params.max_depth");
  parse_fails("{\"max_depth\": 2.5}", "members[0].params.max_depth");
  parse_fails("{\"eta\": 0}", "members[0].params.eta");
  parse_fails("{\"eta\": 1.5}", "members[0].params.eta");
  parse_fails("{\"rounds\": 0}", "members[0].params.rounds");
  parse_fails("{\"subsample\": 0}", "members[0].params.subsample");
  parse_fails("{\"colsample\": 2}", "members[0].params.colsample");
  parse_fails("{\"min_child_weight\": -1}", "members[0].params.min_child_weight");
  parse_fails("{\"lambda\": \"big\"}", "members[0].params.lambda");
  parse_fails("{\"gamma\": -0.1}", "members[0].params.gamma");
  parse_fails("{\"max_bin\": 1}", "members[0].params.max_bin");
  parse_fails("{\"scale_pos_weight\": 0}", "members[0].params.scale_pos_weight");
  parse_fails("{\"early_stopping_rounds\": -3}", "members[0].params.early_stopping_rounds");
  parse_fails("{\"seed\": -1}", "members[0].params.seed");
  parse_fails("{\"colsample_bytree\": 0.5}", "members[0].params.colsample_bytree");
}

static void test_fit_auc_and_roundtrip(void **state) {
  fixture *f = *state;
  void *m = xor_model(f);
  double *p = predict(m, f->Xt, NTE, 2);
  for (size_t i = 0; i < NTE; i++) assert_true(p[i] >= 0.0 && p[i] <= 1.0);
  double auc = tu_auc_ref(p, f->yt, NTE);
  fprintf(stderr, "xgboost held-out AUC on the XOR problem: %.4f\n", auc);
  assert_true(auc > 0.9);
  /* the model keeps every round without early stopping */
  assert_int_equal(info_int(m, "best_iteration"), 119);
  assert_int_equal(info_int(m, "rounds_used"), 120);
  assert_int_equal(info_int(m, "rounds_boosted"), 120);

  /* save -> load: the same probabilities bit for bit, the same importance and facts; saving the
   * loaded model gives the same bytes */
  pp_buf b;
  void *m2 = tu_reload(&pp_xgb_ops, m, ND, &b);
  double *p2 = predict(m2, f->Xt, NTE, 1);
  assert_memory_equal(p, p2, NTE * sizeof *p);
  /* XGBoost's own prediction too: the fitted model keeps the booster that wrote its bytes, the loaded one
   * reads them; the same trees, so the same bits (also with missing values) */
  {
    float *xn = tu_xmalloc(NTE * ND * sizeof *xn);
    memcpy(xn, f->Xt, NTE * ND * sizeof *xn);
    for (size_t i = 0; i < NTE; i += 7) xn[i * ND + i % ND] = NAN;
    double *q1 = tu_xmalloc(NTE * sizeof *q1), *q2 = tu_xmalloc(NTE * sizeof *q2);
    for (int with_nan = 0; with_nan < 2; with_nan++) {
      assert_int_equal(pp_xgb_predict_path(m, with_nan ? xn : f->Xt, NTE, q1, 1, PP_XGB_PATH_BACKEND), 0);
      assert_int_equal(pp_xgb_predict_path(m2, with_nan ? xn : f->Xt, NTE, q2, 1, PP_XGB_PATH_BACKEND), 0);
      assert_memory_equal(q1, q2, NTE * sizeof *q1);
      if (!with_nan) assert_memory_equal(q1, p, NTE * sizeof *q1);
    }
    free(xn);
    free(q1);
    free(q2);
  }
  double i1[ND], i2[ND];
  assert_int_equal(pp_xgb_ops.importance(m, i1, ND), 0);
  assert_int_equal(pp_xgb_ops.importance(m2, i2, ND), 0);
  assert_memory_equal(i1, i2, sizeof i1);
  assert_int_equal(info_int(m2, "best_iteration"), 119);
  /* a loader with another encoded width refuses */
  void *m3 = NULL;
  assert_int_equal(load_bytes(b.data, b.len, ND + 1, &m3), PROP_ERR_CORRUPT);
  assert_non_null(strstr(prop_last_error(), "section MEMB (xgboost)"));

  /* single rows (scratch_bytes 0, no scratch) give the batch's values */
  assert_int_equal(pp_xgb_ops.scratch_bytes(m2, 1), 0);
  for (size_t i = 0; i < 50; i++) {
    double q;
    assert_int_equal(pp_xgb_ops.predict(m2, f->Xt + i * ND, 1, &q, NULL, 1), 0);
    assert_memory_equal(&q, &p[i], sizeof q);
  }
  assert_int_equal(pp_xgb_ops.predict(m2, f->Xt, 0, p2, NULL, 1), 0);
  pp_xgb_ops.free_model(m2);
  pp_buf_free(&b);
  free(p);
  free(p2);
}

/* A cross-validation fold's fit (ctx.transient) keeps the live booster and predicts with XGBoost:
 * the same bits as the kept model (our walk, checked against XGBoost) on every row count, also when
 * early stopping sliced the booster; it cannot be saved and has no importance. */
static void test_transient_fit_same_bits(void **state) {
  fixture *f = *state;
  const size_t nv = 400;
  float *Xv = tu_xmalloc(nv * ND * sizeof(float)), *yv = tu_xmalloc(nv * sizeof(float));
  xor_data(nv, ND, 3, Xv, yv);
  const char *params[] = {k_xor_params, "{\"eta\": 0.3, \"max_depth\": 3, \"rounds\": 300, "
                                        "\"early_stopping_rounds\": 5, \"subsample\": 0.8}"};
  for (int t = 0; t < 2; t++) {
    pp_dataset tr = {f->X, NTR, ND, f->y, NULL, NULL, PP_IMB_NONE};
    pp_dataset va = {Xv, nv, ND, yv, NULL, NULL, PP_IMB_NONE};
    pp_ctx c = make_ctx(11, NULL);
    void *kept = tu_fit(&pp_xgb_ops, params[t], &tr, t ? &va : NULL, &c);
    c.transient = 1;
    void *fold = tu_fit(&pp_xgb_ops, params[t], &tr, t ? &va : NULL, &c);
    if (t) assert_true(info_bool(kept, "early_stopped"));
    assert_int_equal(info_int(fold, "best_iteration"), info_int(kept, "best_iteration"));
    assert_int_equal(info_int(fold, "model_bytes"), 0); /* no JSON round trip */
    const size_t counts[] = {1, 15, 16, 17, 64, NTE};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
      double *pk = predict(kept, f->Xt, counts[k], 2), *pf = predict(fold, f->Xt, counts[k], 2);
      assert_memory_equal(pk, pf, counts[k] * sizeof *pk);
      free(pk);
      free(pf);
    }
    pp_buf b;
    pp_buf_init(&b);
    assert_int_equal(pp_xgb_ops.save(fold, &b), PROP_ERR_ARG);
    assert_non_null(strstr(prop_last_error(), "not kept"));
    pp_buf_free(&b);
    double imp[ND];
    assert_int_equal(pp_xgb_ops.importance(fold, imp, ND), PROP_ERR_ARG);
    pp_xgb_ops.free_model(kept);
    pp_xgb_ops.free_model(fold);
  }
  free(Xv);
  free(yv);
}

/* Header of our payload: version u32, d u64, best u32, boosted u32, rounds u32, esr u32, spw f64,
 * flags u8, best score f64, format u32, then the JSON length u64 at offset 49 and the JSON. */
#define BLOB_LEN_AT 49
#define BLOB_AT 57

static size_t rebuild(const pp_buf *orig, const char *json, size_t jlen, unsigned char **out) {
  size_t len = BLOB_AT + jlen;
  unsigned char *p = tu_xmalloc(len);
  memcpy(p, orig->data, BLOB_LEN_AT);
  for (int k = 0; k < 8; k++) p[BLOB_LEN_AT + k] = (unsigned char)((uint64_t)jlen >> (8 * k));
  memcpy(p + BLOB_AT, json, jlen);
  *out = p;
  return len;
}

/* Replace, for each k < n, the first occurrence of from[k] after `after` (or anywhere) in the
 * model JSON, then load the result: it must give expect_rc with a message holding must_contain. */
static void load_modified_n(const pp_buf *b, const char *after, size_t n, const char *const *from,
                            const char *const *to, int expect_rc, const char *must_contain) {
  size_t jlen = b->len - BLOB_AT;
  char *js = tu_xmalloc(jlen + 1);
  memcpy(js, b->data + BLOB_AT, jlen);
  js[jlen] = '\0';
  for (size_t k = 0; k < n; k++) {
    char *start = after ? strstr(js, after) : js;
    assert_non_null(start);
    char *at = strstr(start, from[k]);
    assert_non_null(at);
    size_t nl = jlen - strlen(from[k]) + strlen(to[k]);
    char *mod = tu_xmalloc(nl + 1);
    size_t pre = (size_t)(at - js);
    memcpy(mod, js, pre);
    memcpy(mod + pre, to[k], strlen(to[k]));
    memcpy(mod + pre + strlen(to[k]), at + strlen(from[k]), jlen - pre - strlen(from[k]) + 1);
    free(js);
    js = mod;
    jlen = nl;
  }
  unsigned char *bytes = NULL;
  size_t len = rebuild(b, js, jlen, &bytes);
  void *m = NULL;
  int rc = load_bytes(bytes, len, ND, &m);
  if (rc != expect_rc || (must_contain && !strstr(prop_last_error(), must_contain))) {
    fprintf(stderr, "replacing %s by %s: rc %d, message \"%s\" (want %d, \"%s\")\n", from[0], to[0], rc,
            prop_last_error(), expect_rc, must_contain ? must_contain : "");
    fail();
  }
  if (m) pp_xgb_ops.free_model(m);
  free(js);
  free(bytes);
}

static void load_modified(const pp_buf *b, const char *after, const char *from, const char *to, int expect_rc,
                          const char *must_contain) {
  load_modified_n(b, after, 1, &from, &to, expect_rc, must_contain);
}

static void test_corrupt_payloads(void **state) {
  fixture *f = *state;
  void *m = fit("{\"eta\": 0.3, \"max_depth\": 3, \"rounds\": 12}", f->X, f->y, NULL, NTR, ND, PP_IMB_NONE, NULL, NULL,
                0, NULL);
  pp_buf b;
  tu_save(&pp_xgb_ops, m, &b);
  assert_true(b.len > BLOB_AT + 100);
  assert_memory_equal(b.data + BLOB_AT, "{\"learner\"", 10); /* XGBoost's JSON text */
  void *x = NULL;

  /* the unmodified bytes load (sanity of the rebuild helper) */
  load_modified(&b, NULL, "\"learner\"", "\"learner\"", 0, NULL);

  /* truncated anywhere: an error, never a crash */
  for (size_t cut = 0; cut < b.len; cut += (cut < BLOB_AT + 64 ? 1 : 97)) {
    int rc = load_bytes(b.data, cut, ND, &x);
    assert_true(rc == PROP_ERR_CORRUPT || rc == PROP_ERR_TRUNCATED);
  }
  /* a JSON length that claims more than is present */
  unsigned char *bad = tu_xmalloc(b.len);
  memcpy(bad, b.data, b.len);
  bad[BLOB_LEN_AT] ^= 0x40;
  bad[BLOB_LEN_AT + 2] = 0x7f;
  assert_int_equal(load_bytes(bad, b.len, ND, &x), PROP_ERR_CORRUPT);
  /* the JSON cut short inside (length adjusted to match) */
  unsigned char *cutb = NULL;
  size_t cl = rebuild(&b, (const char *)b.data + BLOB_AT, (b.len - BLOB_AT) / 2, &cutb);
  assert_int_equal(load_bytes(cutb, cl, ND, &x), PROP_ERR_CORRUPT);
  free(cutb);
  /* header facts out of range: version from the future, best iteration beyond the rounds */
  memcpy(bad, b.data, b.len);
  bad[0] = 9;
  assert_int_equal(load_bytes(bad, b.len, ND, &x), PROP_ERR_VERSION);
  memcpy(bad, b.data, b.len);
  bad[12] = 200; /* best_iteration */
  assert_int_equal(load_bytes(bad, b.len, ND, &x), PROP_ERR_CORRUPT);

  /* crafted JSON that XGBoost would trust: caught before XGBoost sees it */
  load_modified(&b, "\"left_children\":[", "\"left_children\":[1", "\"left_children\":[99999", PROP_ERR_CORRUPT,
                "children");
  load_modified(&b, NULL, "\"left_children\":[1", "\"left_children\":[0", PROP_ERR_CORRUPT, "children 0, 2");
  /* tree 0 is full (15 nodes, children of node k at 2k+1, 2k+2): node 1 -> 2 makes node 2 a child twice */
  load_modified(&b, NULL, "\"left_children\":[1,3,", "\"left_children\":[1,2,", PROP_ERR_CORRUPT,
                "parents array disagrees with node 1");
  {
    const char *from[2] = {"\"left_children\":[1,3,", "\"parents\":"}, *to[2] = {"\"left_children\":[1,2,", "\"p\":"};
    load_modified_n(&b, NULL, 2, from, to, PROP_ERR_CORRUPT, "reached twice"); /* the same without "parents" */
  }
  /* a leaf whose right child is the root: XGBoost's feature scores then walked in a circle until
   * memory ran out (found by fuzz/fuzz_model) */
  load_modified(&b, NULL, "\"right_children\":[2,4,6,8,10,12,14,-1,", "\"right_children\":[2,4,6,8,10,12,14,0,",
                PROP_ERR_CORRUPT, "node 7 has children -1, 0");
  /* a node nobody reaches (the tree says one is deleted, none is), parents that disagree */
  load_modified(&b, NULL, "\"num_deleted\":\"0\"", "\"num_deleted\":\"1\"", PROP_ERR_CORRUPT,
                "15 of its 15 nodes are reachable and 1 deleted");
  load_modified(&b, NULL, "\"parents\":[2147483647,0,0,", "\"parents\":[2147483647,0,1,", PROP_ERR_CORRUPT,
                "parents array disagrees with node 0");
  load_modified(&b, NULL, "\"parents\":[2147483647,", "\"parents\":[5,", PROP_ERR_CORRUPT, "bad parents");
  load_modified(&b, NULL, "\"split_indices\":[", "\"split_indices\":[4000000000,", PROP_ERR_CORRUPT,
                "not of");
  load_modified(&b, NULL, "\"split_indices\":[", "\"split_indices\":[7", PROP_ERR_CORRUPT, "splits on feature");
  load_modified(&b, NULL, "\"num_trees\":\"12\"", "\"num_trees\":\"13\"", PROP_ERR_CORRUPT, "tree count");
  load_modified(&b, "\"learner_model_param\"", "\"num_feature\":\"6\"", "\"num_feature\":\"7\"", PROP_ERR_CORRUPT,
                "num_feature");
  load_modified(&b, NULL, "\"id\":0", "\"id\":1", PROP_ERR_CORRUPT, "wrong id");
  load_modified(&b, NULL, "\"split_type\":[0", "\"split_type\":[1", PROP_ERR_CORRUPT, "categorical");
  load_modified(&b, NULL, "\"learner\"", "\"lear\\u006eer\"", PROP_ERR_CORRUPT, "in a string");
  load_modified(&b, NULL, "{\"learner\":",
                "{\"zz\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],\"learner\":",
                PROP_ERR_CORRUPT, "nests deeper");
  load_modified(&b, NULL, "{\"learner\"", "{L\"learner\"", PROP_ERR_CORRUPT, "JSON");
  /* a gain that is not a finite float: the importances would be infinite (found by fuzz/fuzz_model) */
  {
    char key[96];
    const char *at = strstr((const char *)b.data + BLOB_AT, "\"loss_changes\":[");
    assert_non_null(at);
    size_t kl = strcspn(at, ",]");
    assert_true(kl < sizeof key);
    memcpy(key, at, kl);
    key[kl] = '\0';
    const char *to[2] = {"\"loss_changes\":[1E39", "\"loss_changes\":[NaN"}, *from = key;
    for (int k = 0; k < 2; k++) load_modified_n(&b, NULL, 1, &from, &to[k], PROP_ERR_CORRUPT, "loss_changes are damaged");
  }
  /* structurally sound for us, rejected by XGBoost: its message is passed on */
  load_modified(&b, NULL, "\"loss_changes\"", "\"loss_chXnges\"", PROP_ERR_CORRUPT, "XGBoost rejected the model");
  load_modified(&b, NULL, "\"sum_hessian\"", "\"sum_hXssian\"", PROP_ERR_CORRUPT, "XGBoost rejected the model");
  /* the per-node statistics our checks do not read are blanked for jansson when they hold numbers only
   * (xgb_json.c, k_unread): a malformed number there is left to XGBoost, which refuses it; an array with
   * anything else in it is parsed by jansson as before (and refused by XGBoost) */
  load_modified(&b, NULL, "\"base_weights\":[", "\"base_weights\":[1.2.3,", PROP_ERR_CORRUPT,
                "XGBoost rejected the model");
  load_modified(&b, NULL, "\"sum_hessian\":[", "\"sum_hessian\":[{\"num_feature\":\"7\"},", PROP_ERR_CORRUPT,
                "XGBoost rejected the model");
  load_modified(&b, NULL, "\"loss_changes\":[", "\"loss_changes\":[\"x\",", PROP_ERR_CORRUPT, NULL);

  /* random byte flips anywhere: an error or a model, never a crash (ASan watches our side) */
  uint64_t st = 99;
  for (int k = 0; k < 150; k++) {
    memcpy(bad, b.data, b.len);
    int flips = 1 + (int)(tu_rand(&st) % 3);
    for (int q = 0; q < flips; q++) bad[tu_rand(&st) % b.len] ^= (unsigned char)(1u << (tu_rand(&st) % 8));
    int rc = load_bytes(bad, b.len, ND, &x);
    if (rc == 0) {
      double p;
      assert_int_equal(pp_xgb_ops.predict(x, f->Xt, 1, &p, NULL, 1), 0);
      pp_xgb_ops.free_model(x);
    } else {
      assert_true(rc == PROP_ERR_CORRUPT || rc == PROP_ERR_TRUNCATED || rc == PROP_ERR_VERSION);
    }
  }
  free(bad);
  pp_buf_free(&b);
  pp_xgb_ops.free_model(m);
}

/* ---- the reading of XGBoost's JSON (xgb_json.c) --------------------------------------------- */

/* One number token respelled (how: 0 the same double in 17 significant digits with an exponent, 1 with
 * white space around it, 2 the integers 0 / 1 as false / true, 3 the same double in "%.17g", which writes
 * whole numbers as integers) into out; its length. */
static size_t respell_one(char *out, size_t cap, const char *tok, int how) {
  int w = 0;
  if (how == 0) w = snprintf(out, cap, "%.16e", strtod(tok, NULL));
  else if (how == 1) w = snprintf(out, cap, "\t\r\n%s \n", tok);
  else if (how == 2)
    w = snprintf(out, cap, "%s", strcmp(tok, "0") == 0 ? "false" : strcmp(tok, "1") == 0 ? "true" : tok);
  else w = snprintf(out, cap, "%.17g", strtod(tok, NULL));
  assert_true(w > 0 && (size_t)w < cap);
  return (size_t)w;
}

/* txt[len] with every number of the arrays under key respelled (respell_one); *out_len its length. */
static char *respell(const char *txt, size_t len, const char *key, int how, size_t *out_len) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":[", key);
  char *src = tu_xmalloc(len + 1), *o = tu_xmalloc(26 * len + 64);
  memcpy(src, txt, len);
  src[len] = '\0';
  const char *p = src, *hit;
  size_t n = 0, hits = 0;
  while ((hit = strstr(p, pat)) != NULL) {
    hits++;
    hit += strlen(pat);
    memcpy(o + n, p, (size_t)(hit - p));
    n += (size_t)(hit - p);
    for (p = hit;; p++) {
      const char *q = p + strcspn(p, ",]");
      char tok[64];
      assert_true((size_t)(q - p) < sizeof tok);
      memcpy(tok, p, (size_t)(q - p));
      tok[q - p] = '\0';
      if (q > p) n += respell_one(o + n, 64, tok, how);
      p = q;
      if (*p == ']') break;
      o[n++] = ',';
    }
  }
  assert_true(hits > 0);
  memcpy(o + n, p, strlen(p));
  n += strlen(p);
  free(src);
  *out_len = n;
  return o;
}

/* Two readings gave the same trees for our walk, covers included. */
static void same_trees(const xgb_native *a, const xgb_native *b) {
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(a->ntrees, b->ntrees);
  assert_memory_equal(a->start, b->start, (a->ntrees + 1) * sizeof *a->start);
  const size_t total = a->start[a->ntrees];
  for (size_t i = 0; i < total; i++) {
    assert_int_equal(a->node[i].feature, b->node[i].feature);
    assert_int_equal(a->node[i].left, b->node[i].left);
    assert_int_equal(a->node[i].right, b->node[i].right);
    assert_memory_equal(&a->node[i].value, &b->node[i].value, sizeof(float));
  }
  assert_memory_equal(a->dleft, b->dleft, total);
  assert_non_null(a->cover);
  assert_non_null(b->cover);
  assert_memory_equal(a->cover, b->cover, total * sizeof *a->cover);
}

/* The text read by the lexical pass (its spans) and whole by jansson: the same trees, also with the
 * numbers spelled otherwise; a text jansson refuses gives the same error both ways (the reading falls
 * back to jansson's, whose byte positions are the text's). */
static void test_json_reading(void **state) {
  fixture *f = *state;
  pp_buf b;
  tu_save(&pp_xgb_ops, xor_model(f), &b);
  const char *txt = (const char *)b.data + BLOB_AT;
  const size_t len = b.len - BLOB_AT;
  size_t nt = 0, nt2 = 0;
  xgb_native *fast = NULL, *whole = NULL, *x = NULL;
  assert_int_equal(pp_xgb_read_json(txt, len, ND, 0, &nt, &fast, "t"), 0);
  assert_int_equal(pp_xgb_read_json(txt, len, ND, 1, &nt2, &whole, "t"), 0);
  assert_int_equal(nt, 120);
  assert_int_equal(nt2, 120);
  same_trees(fast, whole);
  static const struct {
    const char *key;
    int how;
  } k_respelled[] = {{"split_conditions", 0}, {"sum_hessian", 0}, {"split_conditions", 3}, {"sum_hessian", 3},
                     {"left_children", 1},    {"split_indices", 1}, {"parents", 1},         {"default_left", 2},
                     {"split_type", 1},       {"base_weights", 1}};
  for (size_t k = 0; k < sizeof k_respelled / sizeof k_respelled[0]; k++) {
    size_t tl = 0;
    char *t = respell(txt, len, k_respelled[k].key, k_respelled[k].how, &tl);
    for (int w = 0; w < 2; w++) {
      assert_int_equal(pp_xgb_read_json(t, tl, ND, w, &nt, &x, "t"), 0);
      assert_int_equal(nt, 120);
      same_trees(fast, x);
      pp_xgb_walk_free(x);
    }
    free(t);
  }
  /* refused: the same status and message read either way */
  static const char *const k_bad[][2] = {
      {"\"left_children\":[1,", "\"left_children\":[1,,"},
      {"\"left_children\":[1,", "\"left_children\":[01,"},
      {"\"split_indices\":[", "\"split_indices\":[99999999999999999999,"},
      {"\"split_conditions\":[", "\"split_conditions\":[1e999,"},
      {"\"split_conditions\":[", "\"split_conditions\":[1.,"},
      {"\"split_conditions\":[", "\"split_conditions\":[-,"},
      {"\"sum_hessian\":[", "\"sum_hessian\":[1e5e5,"},
      {"\"parents\":[", "\"parents\":[1 2,"},
      {"\"parents\":[", "\"parents\":[\"\\u00012\","},
      {"\"left_children\":[", "\"left_children\":[1],\"left_children\":["},
      {"\"left_children\":[1,", "\"left_children\":[1.0,"},
  };
  for (size_t k = 0; k < sizeof k_bad / sizeof k_bad[0]; k++) {
    char *src = tu_xmalloc(len + 1);
    memcpy(src, txt, len);
    src[len] = '\0';
    const char *at = strstr(src, k_bad[k][0]);
    assert_non_null(at);
    const size_t pre = (size_t)(at - src), fl = strlen(k_bad[k][0]), tl = strlen(k_bad[k][1]);
    char *t = tu_xmalloc(len - fl + tl);
    memcpy(t, src, pre);
    memcpy(t + pre, k_bad[k][1], tl);
    memcpy(t + pre + tl, at + fl, len - pre - fl);
    char msg[2][512];
    for (int w = 0; w < 2; w++) {
      assert_int_equal(pp_xgb_read_json(t, len - fl + tl, ND, w, &nt, &x, "t"), PROP_ERR_CORRUPT);
      assert_null(x);
      snprintf(msg[w], sizeof msg[w], "%s", prop_last_error());
    }
    if (strcmp(msg[0], msg[1]) != 0) fprintf(stderr, "%s: \"%s\" against \"%s\"\n", k_bad[k][1], msg[0], msg[1]);
    assert_string_equal(msg[0], msg[1]);
    free(t);
    free(src);
  }
  pp_xgb_walk_free(fast);
  pp_xgb_walk_free(whole);
  pp_buf_free(&b);
}

static void test_importance(void **state) {
  fixture *f = *state;
  /* y depends on column 0 only; column 3 is constant and can never be split on */
  const size_t n = 2000, d = 5;
  float *X = tu_xmalloc(n * d * sizeof(float)), *y = tu_xmalloc(n * sizeof(float));
  uint64_t st = 5;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    X[i * d + 3] = 1.0f;
    y[i] = (float)(X[i * d] + 0.3 * tu_normal(&st) > 0.2);
  }
  void *m = fit("{\"eta\": 0.3, \"max_depth\": 3, \"rounds\": 40, \"colsample\": 1}", X, y, NULL, n, d, PP_IMB_NONE,
                NULL, NULL, 0, NULL);
  double imp[5];
  assert_int_equal(pp_xgb_ops.importance(m, imp, d), 0);
  for (size_t j = 0; j < d; j++) assert_true(imp[j] >= 0.0);
  assert_true(imp[3] == 0.0);
  for (size_t j = 1; j < d; j++) assert_true(imp[0] > 10.0 * imp[j]);
  assert_int_equal(pp_xgb_ops.importance(m, imp, d + 1), PROP_ERR_ARG);
  pp_xgb_ops.free_model(m);
  /* on the XOR problem the two XOR columns and x2 carry the gain, not the noise columns */
  double ix[ND];
  assert_int_equal(pp_xgb_ops.importance(xor_model(f), ix, ND), 0);
  for (size_t j = 3; j < ND; j++) {
    assert_true(ix[0] > ix[j]);
    assert_true(ix[1] > ix[j]);
    assert_true(ix[2] > ix[j]);
  }
  free(X);
  free(y);
}

static void test_early_stopping(void **state) {
  (void)state;
  const size_t n = 1500, nv = 600, d = 8;
  float *X = tu_xmalloc(n * d * sizeof(float)), *y = tu_xmalloc(n * sizeof(float));
  float *Xv = tu_xmalloc(nv * d * sizeof(float)), *yv = tu_xmalloc(nv * sizeof(float));
  noisy_data(n, d, 21, X, y);
  noisy_data(nv, d, 22, Xv, yv);
  const char *js = "{\"eta\": 0.1, \"max_depth\": 4, \"rounds\": 200, \"early_stopping_rounds\": 10, "
                   "\"subsample\": 0.8, \"seed\": 5}";
  void *m = fit(js, X, y, NULL, n, d, PP_IMB_NONE, Xv, yv, nv, NULL);
  json_int_t best = info_int(m, "best_iteration");
  fprintf(stderr, "early stopping: best iteration %lld, boosted %lld, valid log-loss %.5f\n", (long long)best,
          (long long)info_int(m, "rounds_boosted"), info_real(m, "best_valid_logloss"));
  assert_true(best < 199);
  assert_true(info_bool(m, "early_stopped"));
  assert_int_equal(info_int(m, "rounds_boosted"), best + 1 + 10);
  assert_int_equal(info_int(m, "rounds_used"), best + 1);
  double ll = info_real(m, "best_valid_logloss");
  assert_true(ll > 0.3 && ll < 0.7);

  /* the model predicts with the best iteration: the same as a model trained for best + 1 rounds */
  char js2[256];
  snprintf(js2, sizeof js2, "{\"eta\": 0.1, \"max_depth\": 4, \"rounds\": %lld, \"subsample\": 0.8, \"seed\": 5}",
           (long long)best + 1);
  void *m2 = fit(js2, X, y, NULL, n, d, PP_IMB_NONE, NULL, NULL, 0, NULL);
  double *p = predict(m, Xv, nv, 2), *p2 = predict(m2, Xv, nv, 2);
  assert_memory_equal(p, p2, nv * sizeof *p);
  /* and its validation log-loss is the one reported (XGBoost's float sigmoid: 1e-5) */
  double s = 0;
  for (size_t i = 0; i < nv; i++) {
    double q = p[i] < 1e-15 ? 1e-15 : (p[i] > 1 - 1e-15 ? 1 - 1e-15 : p[i]);
    s -= yv[i] > 0.5f ? log(q) : log(1 - q);
  }
  assert_true(fabs(s / (double)nv - ll) < 1e-5);
  /* ... which the model after save/load keeps */
  pp_buf b;
  tu_save(&pp_xgb_ops, m, &b);
  void *m3 = NULL;
  assert_int_equal(load_bytes(b.data, b.len, d, &m3), 0);
  double *p3 = predict(m3, Xv, nv, 1);
  assert_memory_equal(p, p3, nv * sizeof *p);
  assert_int_equal(info_int(m3, "best_iteration"), best);
  assert_true(info_bool(m3, "early_stopped"));

  /* early stopping asked for without a validation set: a warning, every round trained */
  tu_log lc;
  memset(&lc, 0, sizeof lc);
  void *m4 = fit("{\"rounds\": 15, \"early_stopping_rounds\": 3}", X, y, NULL, n, d, PP_IMB_NONE, NULL, NULL, 0, &lc);
  assert_int_equal(lc.warns, 1);
  assert_non_null(strstr(lc.last, "validation"));
  assert_int_equal(info_int(m4, "best_iteration"), 14);
  assert_false(info_bool(m4, "early_stopped"));

  pp_buf_free(&b);
  pp_xgb_ops.free_model(m);
  pp_xgb_ops.free_model(m2);
  pp_xgb_ops.free_model(m3);
  pp_xgb_ops.free_model(m4);
  free(p);
  free(p2);
  free(p3);
  free(X);
  free(y);
  free(Xv);
  free(yv);
}

static void test_weights_and_scale_pos_weight(void **state) {
  (void)state;
  const size_t n = 800, d = 3;
  float *X = tu_xmalloc(n * d * sizeof(float)), *y = tu_xmalloc(n * sizeof(float)), *w = tu_xmalloc(n * sizeof(float));
  uint64_t st = 3;
  for (size_t i = 0; i < n; i++) {
    y[i] = (float)(i % 4 == 0); /* 200 positives, 600 negatives */
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)(tu_normal(&st) + 0.5 * y[i]);
    w[i] = y[i] > 0.5f ? 2.0f : 1.0f;
  }
  const char *js = "{\"rounds\": 30, \"max_depth\": 3, \"eta\": 0.3}";
  void *a = fit(js, X, y, NULL, n, d, PP_IMB_WEIGHTS, NULL, NULL, 0, NULL);
  assert_true(fabs(info_real(a, "scale_pos_weight") - 3.0) < 1e-12);
  assert_true(info_bool(a, "scale_pos_weight_auto"));
  void *b = fit(js, X, y, w, n, d, PP_IMB_WEIGHTS, NULL, NULL, 0, NULL);
  assert_true(fabs(info_real(b, "scale_pos_weight") - 1.5) < 1e-12); /* 600 / (200 x 2) */
  void *c = fit(js, X, y, NULL, n, d, PP_IMB_NONE, NULL, NULL, 0, NULL);
  assert_true(info_real(c, "scale_pos_weight") == 1.0);
  void *e = fit("{\"rounds\": 10, \"max_depth\": 3, \"scale_pos_weight\": 2.5}", X, y, NULL, n, d, PP_IMB_WEIGHTS, NULL,
                NULL, 0, NULL);
  assert_true(info_real(e, "scale_pos_weight") == 2.5);
  assert_false(info_bool(e, "scale_pos_weight_auto"));
  /* weights and scale_pos_weight act.  Near convergence the weighted mean of the probabilities
   * matches the weighted share of positives (the gradient of the leaf weights sums to ~0). */
  double *pa = predict(a, X, n, 1), *pb = predict(b, X, n, 1), *pc = predict(c, X, n, 1);
  /* spw 3, or weight 2 x spw 1.5: every positive counts 3 (not bit-identical models: hist's
   * quantile sketch uses the sample weights) */
  void *g = fit(js, X, y, w, n, d, PP_IMB_NONE, NULL, NULL, 0, NULL);
  double *pg = predict(g, X, n, 1);
  double sa = 0, swa = 0, sb = 0, sc = 0, sg = 0, swg = 0;
  for (size_t i = 0; i < n; i++) {
    double wa = y[i] > 0.5f ? 3.0 : 1.0;
    sa += wa * pa[i];
    sb += wa * pb[i];
    swa += wa;
    sc += pc[i];
    sg += w[i] * pg[i];
    swg += w[i];
  }
  fprintf(stderr, "weighted mean probability: spw 3 %.4f, 2 x 1.5 %.4f (0.5), none %.4f (0.25), weights 2 %.4f (0.4)\n",
          sa / swa, sb / swa, sc / (double)n, sg / swg);
  assert_true(fabs(sa / swa - 0.5) < 0.02);
  assert_true(fabs(sb / swa - 0.5) < 0.02);
  assert_true(fabs(sc / (double)n - 0.25) < 0.02);
  assert_true(fabs(sg / swg - 0.4) < 0.02);

  /* one class, bad labels, bad weights */
  void *params = parse(js), *model = NULL;
  pp_ctx cx = make_ctx(1, NULL);
  float *y1 = tu_xmalloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) y1[i] = 0.0f;
  pp_dataset ds = {X, n, d, y1, NULL, NULL, 0};
  assert_int_equal(pp_xgb_ops.fit(params, &ds, NULL, &cx, &model), PROP_ERR_TRAIN);
  y1[5] = 0.5f;
  assert_int_equal(pp_xgb_ops.fit(params, &ds, NULL, &cx, &model), PROP_ERR_VALUE);
  w[7] = 0.0f;
  pp_dataset dw = {X, n, d, y, w, NULL, 0};
  assert_int_equal(pp_xgb_ops.fit(params, &dw, NULL, &cx, &model), PROP_ERR_VALUE);
  assert_null(model);
  pp_xgb_ops.free_params(params);

  pp_xgb_ops.free_model(a);
  pp_xgb_ops.free_model(b);
  pp_xgb_ops.free_model(c);
  pp_xgb_ops.free_model(e);
  pp_xgb_ops.free_model(g);
  free(pa);
  free(pb);
  free(pc);
  free(pg);
  free(X);
  free(y);
  free(y1);
  free(w);
}

/* The progress callback sees every round and can cancel the fit. */
typedef struct progcap {
  size_t calls, last_done, total, stop_at;
} progcap;

static int prog_fn(void *user, const char *stage, size_t done, size_t total) {
  progcap *pc = user;
  assert_string_equal(stage, "fit:xgboost");
  pc->calls++;
  pc->last_done = done;
  pc->total = total;
  return pc->stop_at && done >= pc->stop_at;
}

static void test_progress_cancel(void **state) {
  fixture *f = *state;
  void *params = parse("{\"rounds\": 8, \"max_depth\": 2}");
  pp_dataset tr = {f->X, 600, ND, f->y, NULL, NULL, PP_IMB_NONE};
  progcap pc;
  memset(&pc, 0, sizeof pc);
  pp_ctx c = make_ctx(1, NULL);
  c.progress = prog_fn;
  c.user = &pc;
  void *model = NULL;
  assert_int_equal(pp_xgb_ops.fit(params, &tr, NULL, &c, &model), 0);
  assert_int_equal(pc.calls, 9); /* 0 of 8, then after each round */
  assert_int_equal(pc.last_done, 8);
  assert_int_equal(pc.total, 8);
  pp_xgb_ops.free_model(model);
  model = NULL;
  memset(&pc, 0, sizeof pc);
  pc.stop_at = 3;
  assert_int_equal(pp_xgb_ops.fit(params, &tr, NULL, &c, &model), PROP_ERR_CANCELLED);
  assert_null(model);
  assert_int_equal(pc.last_done, 3);
  pp_xgb_ops.free_params(params);
}

/* ---- threads ----------------------------------------------------------------------------------- */

typedef struct job {
  const void *model;
  const float *X;
  size_t n;
  double *out;
  int rc;
} job;

static void *job_run(void *arg) {
  job *j = arg;
  /* batches, then single rows, then batches again: every call on the shared model */
  for (int rep = 0; rep < 3 && !j->rc; rep++) {
    if (rep == 1) {
      for (size_t i = 0; i < j->n && !j->rc; i++)
        j->rc = pp_xgb_ops.predict(j->model, j->X + i * ND, 1, j->out + i, NULL, 1);
    } else {
      j->rc = pp_xgb_ops.predict(j->model, j->X, j->n, j->out, NULL, rep == 0 ? 1 : 2);
    }
  }
  return NULL;
}

static void test_threads(void **state) {
  fixture *f = *state;
  void *m = xor_model(f);
  double *ref = predict(m, f->Xt, NTE, 1);
  enum { NT = 8 };
  pthread_t th[NT];
  job jobs[NT];
  for (int t = 0; t < NT; t++) {
    jobs[t].model = m;
    jobs[t].X = f->Xt;
    jobs[t].n = NTE;
    jobs[t].out = tu_xmalloc(NTE * sizeof(double));
    jobs[t].rc = 0;
    assert_int_equal(pthread_create(&th[t], NULL, job_run, &jobs[t]), 0);
  }
  for (int t = 0; t < NT; t++) {
    assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_int_equal(jobs[t].rc, 0);
    assert_memory_equal(jobs[t].out, ref, NTE * sizeof(double));
    free(jobs[t].out);
  }
  free(ref);
}

/* ---- our walks of the trees against XGBoost ------------------------------------------------- */

/* The split conditions of the model's trees (with their features), from the JSON it saves. */
static size_t model_splits(const void *m, int **feat, float **cond) {
  pp_buf b;
  pp_buf_init(&b);
  assert_int_equal(pp_xgb_ops.save(m, &b), 0);
  json_error_t e;
  json_t *root = json_loadb((const char *)b.data + 57, b.len - 57, 0, &e);
  assert_non_null(root);
  json_t *trees = json_object_get(json_object_get(json_object_get(json_object_get(root, "learner"),
                                                                  "gradient_booster"), "model"), "trees");
  assert_true(json_is_array(trees));
  size_t cap = 0, n = 0;
  for (size_t t = 0; t < json_array_size(trees); t++)
    cap += json_array_size(json_object_get(json_array_get(trees, t), "left_children"));
  *feat = tu_xmalloc((cap + 1) * sizeof **feat);
  *cond = tu_xmalloc((cap + 1) * sizeof **cond);
  for (size_t t = 0; t < json_array_size(trees); t++) {
    const json_t *tr = json_array_get(trees, t);
    const json_t *L = json_object_get(tr, "left_children"), *F = json_object_get(tr, "split_indices"),
                 *C = json_object_get(tr, "split_conditions");
    for (size_t i = 0; i < json_array_size(L); i++) {
      if (json_integer_value(json_array_get(L, i)) == -1) continue;
      (*feat)[n] = (int)json_integer_value(json_array_get(F, i));
      (*cond)[n] = (float)json_number_value(json_array_get(C, i));
      n++;
    }
  }
  json_decref(root);
  pp_buf_free(&b);
  return n;
}

/* n rows of d columns: normal draws, then about half the values set to a split condition of the
 * model on that column, exactly or one float below / above, and some missing (NaN) or infinite. */
static float *threshold_rows(const void *m, size_t n, size_t d, uint64_t seed) {
  int *feat;
  float *cond;
  size_t ns = model_splits(m, &feat, &cond);
  assert_true(ns > 0);
  float *X = tu_xmalloc(n * d * sizeof *X);
  uint64_t st = seed;
  for (size_t i = 0; i < n * d; i++) X[i] = (float)tu_normal(&st);
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < d; k++) {
      size_t s = (size_t)(tu_uniform(&st) * (double)ns) % ns;
      double u = tu_uniform(&st);
      float *x = X + i * d + (size_t)feat[s];
      if (u < 0.25) *x = cond[s];
      else if (u < 0.35) *x = nextafterf(cond[s], -INFINITY);
      else if (u < 0.45) *x = nextafterf(cond[s], INFINITY);
      else if (u < 0.52) X[i * d + k] = NAN;
      else if (u < 0.53) X[i * d + k] = u < 0.525 ? INFINITY : -INFINITY;
    }
  for (size_t k = 0; k < d; k++) X[7 * d + k] = NAN; /* a row with nothing known */
  free(feat);
  free(cond);
  return X;
}

static double *predict_path(const void *m, const float *X, size_t n, int nthread, int path) {
  double *p = tu_xmalloc((n ? n : 1) * sizeof *p);
  int rc = pp_xgb_predict_path(m, X, n, p, nthread, path);
  if (rc) fprintf(stderr, "predict path %d: %s\n", path, prop_last_error());
  assert_int_equal(rc, 0);
  return p;
}

/* Every walk of ours gives XGBoost's probabilities bit for bit: on models of depth 1 to 7 (complete
 * trees of 16, 32 and more slots, trees padded below shallow leaves), trained with and without
 * missing values (default directions both ways), on rows at and next to the split conditions, with
 * missing and infinite values, for every row count of a block and several blocks, on 1 and 2 threads. */
static void test_walks_match_xgboost(void **state) {
  fixture *f = *state;
  enum { NR = 3001 };
  static const struct {
    int depth, rounds;
    int nan_train;
  } cases[] = {{4, 120, 0}, {1, 30, 0}, {2, 40, 1}, {5, 60, 1}, {7, 40, 1}, {3, 50, 0}};
  int simd_seen = 0;
  float *Xn = tu_xmalloc(NTR * ND * sizeof *Xn);
  memcpy(Xn, f->X, NTR * ND * sizeof *Xn);
  uint64_t st = 99;
  for (size_t i = 0; i < (size_t)NTR * ND; i++)
    if (tu_uniform(&st) < 0.1) Xn[i] = NAN;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    char js[160];
    snprintf(js, sizeof js, "{\"eta\": 0.3, \"max_depth\": %d, \"rounds\": %d, \"subsample\": 0.8, \"colsample\": 0.9}",
             cases[c].depth, cases[c].rounds);
    void *m = fit(js, cases[c].nan_train ? Xn : f->X, f->y, NULL, NTR, ND, PP_IMB_NONE, NULL, NULL, 0, NULL);
    unsigned paths = pp_xgb_paths(m);
    /* the model passed the checks: our walks are on */
    assert_true(paths & (1u << PP_XGB_PATH_ROWS));
    assert_true(paths & (1u << PP_XGB_PATH_SCALAR));
    assert_true(paths & (1u << PP_XGB_PATH_BACKEND));
    simd_seen |= (paths >> PP_XGB_PATH_SIMD) & 1u;
    float *X = threshold_rows(m, NR, ND, 1000 + c);
    double *ref = predict_path(m, X, NR, 2, PP_XGB_PATH_BACKEND);
    for (int path = PP_XGB_PATH_AUTO; path <= PP_XGB_PATH_SIMD; path++) {
      if (!(paths >> path & 1u) && path != PP_XGB_PATH_AUTO) continue;
      for (int nt = 1; nt <= 2; nt++) {
        double *p = predict_path(m, X, NR, nt, path);
        for (size_t i = 0; i < NR; i++)
          if (memcmp(&p[i], &ref[i], sizeof p[i]) != 0)
            fail_msg("depth %d, path %d, %d threads, row %zu: %.17g, XGBoost %.17g", cases[c].depth, path, nt, i, p[i],
                     ref[i]);
        free(p);
      }
      /* every count of rows up to two blocks and a bit, from an odd offset */
      for (size_t n = 1; n <= 140; n++) {
        const size_t off = (n * 37) % (NR - n);
        double *p = predict_path(m, X + off * ND, n, 1, path);
        if (memcmp(p, ref + off, n * sizeof *p) != 0)
          fail_msg("depth %d, path %d, %zu rows from row %zu differ from XGBoost", cases[c].depth, path, n, off);
        free(p);
      }
    }
    free(ref);
    free(X);
    pp_xgb_ops.free_model(m);
  }
  free(Xn);
  if (!simd_seen) fprintf(stderr, "note: no AVX-512 here, the SIMD walk was not tested\n");
  /* a path the model cannot take is refused */
  void *m = xor_model(f);
  double q;
  assert_int_equal(pp_xgb_predict_path(m, f->Xt, 1, &q, 1, 99), PROP_ERR_ARG);
  if (!(pp_xgb_paths(m) >> PP_XGB_PATH_SIMD & 1u))
    assert_int_equal(pp_xgb_predict_path(m, f->Xt, 1, &q, 1, PP_XGB_PATH_SIMD), PROP_ERR_ARG);
}

/* Nothing reaches stdout or stderr while fitting, predicting, saving and loading, on the main
 * thread and on a new one (XGBoost keeps its log callback per thread). */
static void *fit_thread(void *arg) {
  fixture *f = arg;
  void *params = parse("{\"rounds\": 5, \"max_depth\": 2, \"early_stopping_rounds\": 2}");
  pp_dataset tr = {f->X, 500, ND, f->y, NULL, NULL, PP_IMB_WEIGHTS};
  pp_dataset va = {f->Xt, 300, ND, f->yt, NULL, NULL, PP_IMB_WEIGHTS};
  pp_ctx c = make_ctx(3, NULL);
  void *model = NULL;
  int rc = pp_xgb_ops.fit(params, &tr, &va, &c, &model);
  pp_xgb_ops.free_params(params);
  if (!rc) {
    double p[10];
    rc = pp_xgb_ops.predict(model, f->Xt, 10, p, NULL, 2);
    pp_xgb_ops.free_model(model);
  }
  return rc ? (void *)f : NULL;
}

static void test_silence(void **state) {
  fixture *f = *state;
  const char *path = tu_path("xgb_out.txt");
  fflush(stdout);
  fflush(stderr);
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  assert_true(fd >= 0);
  int o1 = dup(1), o2 = dup(2);
  dup2(fd, 1);
  dup2(fd, 2);
  void *r1 = fit_thread(f);
  pthread_t t;
  void *r2 = f;
  if (pthread_create(&t, NULL, fit_thread, f) == 0) pthread_join(t, &r2);
  fflush(stdout);
  fflush(stderr);
  dup2(o1, 1);
  dup2(o2, 2);
  close(o1);
  close(o2);
  close(fd);
  assert_null(r1);
  assert_null(r2);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  if (sb.st_size != 0) {
    char *s = tu_read(path, NULL);
    fprintf(stderr, "printed: %s\n", s ? s : "?");
    free(s);
  }
  assert_int_equal(sb.st_size, 0);
  unlink(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_params),
      cmocka_unit_test(test_fit_auc_and_roundtrip),
      cmocka_unit_test(test_transient_fit_same_bits),
      cmocka_unit_test(test_corrupt_payloads),
      cmocka_unit_test(test_json_reading),
      cmocka_unit_test(test_importance),
      cmocka_unit_test(test_early_stopping),
      cmocka_unit_test(test_weights_and_scale_pos_weight),
      cmocka_unit_test(test_progress_cancel),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_walks_match_xgboost),
      cmocka_unit_test(test_silence),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
