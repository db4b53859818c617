/* lib/monitor and prop_monitor(): the stability index against a hand computation, empty bins, unseen
 * categories in a bin of their own, the reference a trained model keeps (and a file without one), the
 * report's sections, a missing input named, the thresholds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/bundle.h"
#include "monitor/reference.h"
#include "pipeline/pipeline.h"
#include "testutil.h"

/* ---- the index itself ----------------------------------------------------------------------------- */
static void test_index_by_hand(void **state) {
  (void)state;
  /* reference 100 rows in 3 bins (50, 30, 20); monitored 200 rows (60, 80, 60).  Smoothed shares:
   * e = (c + 0.5) / (100 + 1.5), a = (d + 0.5) / (200 + 1.5); the index is sum (a - e) ln(a / e). */
  const uint64_t ref[3] = {50, 30, 20}, got[3] = {60, 80, 60};
  double want = 0;
  for (int b = 0; b < 3; b++) {
    double e = (ref[b] + 0.5) / 101.5, a = (got[b] + 0.5) / 201.5;
    want += (a - e) * log(a / e);
  }
  tu_assert_close(pp_stability_index(ref, 100, got, 200, 3), want, 1e-15);
  tu_assert_close(want, 0.16681, 5e-5);
  /* by hand, unsmoothed: shares (.5, .3, .2) then (.3, .4, .3):
   * -0.2 ln 0.6 + 0.1 ln(4/3) + 0.1 ln 1.5 = 0.10217 + 0.02877 + 0.04055 = 0.17149; the smoothing moves it
   * by half a row per bin only */
  tu_assert_close(want, 0.17149, 0.005);
  /* the same distribution gives 0; an index is never negative */
  const uint64_t same[3] = {100, 60, 40};
  tu_assert_close(pp_stability_index(ref, 100, same, 200, 3), 0.0, 1e-4);
  assert_true(pp_stability_index(ref, 100, same, 200, 3) >= 0);
  /* empty bins on either side stay finite: the smoothing */
  const uint64_t empty_ref[3] = {100, 0, 0}, spread[3] = {0, 50, 50};
  double psi = pp_stability_index(empty_ref, 100, spread, 100, 3);
  assert_true(isfinite(psi) && psi > 5);
  const uint64_t none[3] = {0, 0, 0};
  assert_true(isfinite(pp_stability_index(ref, 100, none, 0, 3)));
  tu_assert_close(pp_stability_index(none, 0, none, 0, 3), 0.0, 1e-15);
  tu_assert_close(pp_stability_index(ref, 100, got, 200, 0), 0.0, 0);
}

static void test_bins(void **state) {
  (void)state;
  const double e[3] = {1.0, 2.0, 5.0};
  assert_int_equal(pp_ref_bin(e, 3, 0.5), 0);
  assert_int_equal(pp_ref_bin(e, 3, 1.0), 0); /* (-inf, 1] */
  assert_int_equal(pp_ref_bin(e, 3, 1.5), 1);
  assert_int_equal(pp_ref_bin(e, 3, 5.0), 2);
  assert_int_equal(pp_ref_bin(e, 3, 9.0), 3); /* (5, inf) */
  pp_ref_input cat = {PROP_COL_CATEGORICAL, 0, {0}, 3, NULL};
  assert_int_equal(pp_ref_input_bin(&cat, 2.0), 2);
  assert_int_equal(pp_ref_input_bin(&cat, NAN), 3);  /* missing */
  assert_int_equal(pp_ref_input_bin(&cat, -1.0), 4); /* unseen: a bin of its own */
}

/* ---- a trained model's reference and the report --------------------------------------------------- */
static prop_model *g_model;

/* n rows: x ~ N(shift, 1), cat A/B/C (D with unseen), y from both. */
static prop_frame *frame(size_t n, double shift, int unseen, uint64_t seed) {
  double *x = tu_xmalloc(n * sizeof *x), *mon = tu_xmalloc(n * sizeof *mon);
  const char **cat = tu_xmalloc(n * sizeof *cat), **y = tu_xmalloc(n * sizeof *y);
  static const char *const cats[3] = {"A", "B", "C"};
  for (size_t i = 0; i < n; i++) {
    x[i] = tu_normal(&seed) + shift;
    cat[i] = unseen && i % 10 == 0 ? "D" : cats[i % 3];
    y[i] = tu_uniform(&seed) < 1.0 / (1.0 + exp(-(1.5 * x[i] + (i % 3 == 0)))) ? "1" : "0";
    mon[i] = (double)(1 + i % 2);
  }
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(n, &f), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x", x), 0);
  assert_int_equal(prop_frame_add_strings(f, "cat", PROP_COL_CATEGORICAL, cat), 0);
  assert_int_equal(prop_frame_add_strings(f, "y", PROP_COL_TARGET, y), 0);
  assert_int_equal(prop_frame_add_numeric(f, "month", mon), 0);
  free(x), free(mon), free(cat), free(y);
  return f;
}

static int setup(void **state) {
  (void)state;
  prop_frame *f = frame(1000, 0.0, 0, 5);
  prop_recipe *r = NULL;
  assert_int_equal(prop_recipe_parse("{\"cv_folds\": 2, \"members\": [{\"name\": \"logistic\"}]}", "r", &r), 0);
  prop_train_options o;
  prop_train_options_default(&o);
  o.target = "y";
  o.time_col = "month";
  o.nthread = 1;
  assert_int_equal(prop_model_train(f, r, &o, &g_model), 0);
  prop_recipe_free(r);
  prop_frame_free(f);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  prop_model_free(g_model);
  return 0;
}

static json_t *run(const prop_frame *f, const prop_monitor_options *o, int *worst) {
  char *text = NULL;
  assert_int_equal(prop_monitor(g_model, f, o, &text, worst), 0);
  json_t *root = tu_json(text);
  prop_free(text);
  return root;
}

static const json_t *input_named(const json_t *root, const char *name) {
  size_t i;
  const json_t *in;
  json_array_foreach(json_object_get(root, "inputs"), i, in) if (!strcmp(json_string_value(json_object_get(in, "name")), name)) return in;
  fail_msg("no input %s", name);
  return NULL;
}

static void test_reference_kept(void **state) {
  (void)state;
  assert_int_equal(prop_model_has_reference(g_model), 1);
  const pp_reference *r = g_model->ref;
  assert_int_equal(r->n, 1000);
  assert_int_equal(r->nfeat, 2);
  /* the score's deciles hold a tenth of the rows each (give or take ties) */
  uint64_t sum = 0;
  for (size_t b = 0; b <= r->nscore_edges; b++) {
    sum += r->score_count[b];
    assert_true(r->score_count[b] >= 95 && r->score_count[b] <= 105);
  }
  assert_int_equal(sum, 1000);
  assert_int_equal(r->in[1].nbins, 3); /* A, B, C */
  /* saved and loaded with the model; a file without the section loads and has no reference */
  unsigned char *buf;
  size_t len;
  assert_int_equal(prop_model_save_to_buffer(g_model, &buf, &len), 0);
  prop_model *back = NULL;
  assert_int_equal(prop_model_load_from_buffer(buf, len, &back), 0);
  assert_int_equal(prop_model_has_reference(back), 1);
  assert_memory_equal(back->ref->score_edges, r->score_edges, r->nscore_edges * sizeof(double));
  assert_memory_equal(back->ref->in[0].count, r->in[0].count, (r->in[0].nbins + 1) * sizeof(uint64_t));
  pp_reference *keep = back->ref;
  back->ref = NULL; /* as a model written before monitoring existed */
  unsigned char *old;
  size_t old_len;
  assert_int_equal(prop_model_save_to_buffer(back, &old, &old_len), 0);
  back->ref = keep;
  prop_model *older = NULL;
  assert_int_equal(prop_model_load_from_buffer(old, old_len, &older), 0);
  assert_int_equal(prop_model_has_reference(older), 0);
  prop_frame *f = frame(100, 0.0, 0, 9);
  char *text = NULL;
  tu_expect_rc(prop_monitor(older, f, NULL, &text, NULL), PROP_ERR_STATE, "train it again");
  assert_null(text);
  /* a damaged reference is refused, naming its section: counts above its row count, a cut payload */
  pp_section *secs;
  size_t ns, ri = 0;
  assert_int_equal(pp_bundle_parse(buf, len, "t", &secs, &ns), 0);
  while (ri < ns && memcmp(secs[ri].tag, "REFS", 4)) ri++;
  assert_true(ri < ns);
  unsigned char *mod = tu_xmalloc(secs[ri].len);
  for (int variant = 0; variant < 2; variant++) {
    memcpy(mod, secs[ri].data, secs[ri].len);
    const unsigned char *orig = secs[ri].data;
    size_t orig_len = secs[ri].len;
    if (variant == 0) mod[4] = 5, memset(mod + 5, 0, 7); /* n = 5 rows */
    secs[ri].data = mod;
    secs[ri].len = variant == 1 ? orig_len - 3 : orig_len;
    pp_buf ob;
    pp_buf_init(&ob);
    assert_int_equal(pp_bundle_write(&ob, secs, ns), 0);
    prop_model *bad = NULL;
    int rc = prop_model_load_from_buffer(ob.data, ob.len, &bad);
    assert_int_equal(rc, PROP_ERR_CORRUPT);
    assert_non_null(strstr(prop_last_error(), "REFS"));
    assert_null(bad);
    pp_buf_free(&ob);
    secs[ri].data = orig;
    secs[ri].len = orig_len;
  }
  free(mod);
  free(secs);
  prop_frame_free(f);
  prop_model_free(older);
  prop_model_free(back);
  free(buf);
  free(old);
}

static void test_report(void **state) {
  (void)state;
  prop_monitor_options o;
  prop_monitor_options_default(&o);
  assert_true(o.watch == 0.1 && o.act == 0.25);
  /* rows like the training's: every index small, nothing flagged */
  prop_frame *same = frame(2000, 0.0, 0, 77);
  int worst = -1;
  json_t *root = run(same, &o, &worst);
  assert_int_equal(worst, PROP_DRIFT_OK);
  assert_true(json_real_value(json_object_get(root, "score_psi")) < 0.05);
  assert_string_equal(json_string_value(json_object_get(root, "status")), "ok");
  assert_true(json_is_null(json_object_get(root, "outcome")));
  assert_int_equal(json_array_size(json_object_get(root, "bands")), 7);
  json_decref(root);
  /* a shifted input with an unseen category: flagged, the unseen share in its own bin, inputs sorted */
  prop_frame *moved = frame(2000, 1.5, 1, 78);
  o.target = "y";
  o.time_col = "month";
  root = run(moved, &o, &worst);
  assert_int_equal(worst, PROP_DRIFT_ACT);
  const json_t *x = input_named(root, "x"), *cat = input_named(root, "cat");
  assert_string_equal(json_string_value(json_object_get(x, "status")), "act");
  const json_t *bins = json_object_get(cat, "bins");
  const json_t *unseen = json_array_get(bins, json_array_size(bins) - 1);
  assert_string_equal(json_string_value(json_object_get(unseen, "bin")), "unseen");
  tu_assert_close(json_real_value(json_object_get(unseen, "share")), 0.1, 1e-12);
  tu_assert_close(json_real_value(json_object_get(unseen, "reference_share")), 0.0, 0);
  double c0 = json_real_value(json_object_get(json_array_get(json_object_get(root, "inputs"), 0), "csi"));
  double c1 = json_real_value(json_object_get(json_array_get(json_object_get(root, "inputs"), 1), "csi"));
  assert_true(c0 >= c1);
  /* with outcomes: the AUC and a check per band; with the time column: one entry per month */
  const json_t *out = json_object_get(root, "outcome");
  assert_true(json_is_object(out));
  assert_true(json_real_value(json_object_get(out, "auc")) > 0.6);
  assert_int_equal(json_array_size(json_object_get(out, "bands")), 7);
  const json_t *periods = json_object_get(root, "periods");
  assert_int_equal(json_array_size(periods), 2);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(periods, 0), "rows")), 1000);
  assert_true(json_is_number(json_object_get(json_array_get(periods, 1), "auc")));
  json_decref(root);
  /* thresholds are options: with act above every index nothing is at act */
  o.watch = 50;
  o.act = 100;
  root = run(moved, &o, &worst);
  assert_int_equal(worst, PROP_DRIFT_OK);
  json_decref(root);
  o.watch = 0.3;
  o.act = 0.2;
  char *text = NULL;
  tu_expect_rc(prop_monitor(g_model, moved, &o, &text, NULL), PROP_ERR_ARG, "watch <= act");
  prop_frame_free(same);
  prop_frame_free(moved);
}

/* A month without one of the inputs is refused, naming it. */
static void test_missing_input(void **state) {
  (void)state;
  double v[2] = {1, 2};
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(2, &f), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x", v), 0);
  char *text = NULL;
  tu_expect_rc(prop_monitor(g_model, f, NULL, &text, NULL), PROP_ERR_SCHEMA, "cat");
  prop_monitor_options o;
  prop_monitor_options_default(&o);
  o.target = "outcome";
  prop_frame_free(f);
  f = frame(50, 0.0, 0, 3);
  tu_expect_rc(prop_monitor(g_model, f, &o, &text, NULL), PROP_ERR_SCHEMA, "outcome");
  o.target = NULL;
  o.time_col = "week";
  tu_expect_rc(prop_monitor(g_model, f, &o, &text, NULL), PROP_ERR_SCHEMA, "week");
  prop_frame_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_index_by_hand),  cmocka_unit_test(test_bins),
      cmocka_unit_test(test_reference_kept), cmocka_unit_test(test_report),
      cmocka_unit_test(test_missing_input),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
