/* Allocation-failure injection, in the style of SQLite's malloc tests: the n-th allocation of the
 * library fails (pp_alloc_inject, lib/common/alloc.c), for n = 1, 2, ... over each operation a
 * program performs: loading a model, training a small recipe of every member, batch and
 * single-row scoring, the ranked call list (prop_calllist: scoring and ranking), the analyst's
 * comparison, contributions (explain), monitoring, fitting a contact model and a call plan (the
 * policy parsed, the rows scored and planned).  Every run must
 *  - fail with PROP_ERR_NOMEM and a message when an allocation it needed failed (never another
 *    status: "corrupted model file" for a model that is fine misleads an operator),
 *  - succeed with the same result as the run without faults when only an allocation it can do
 *    without failed (pp_alloc_optional: a faster path's scratch),
 *  - never crash, and leak nothing: the ASan build of scripts/test.sh runs this file under
 *    LeakSanitizer, which reports at exit whatever a failed run left behind.
 * A walk ends at the first n past the operation's allocations: the call then succeeds and matches.
 * The gcc release build walks every n (about 1.5 minutes in all on 2 cores; the counts are printed).
 * Under AddressSanitizer, where a run costs several times as much, and in the clang build, walks are
 * dense up to WALK_DENSE (or an operation's own bound) and then step by n / WALK_STEP_DIV: under ASan
 * the point is LeakSanitizer on the failure paths, and the exhaustive walk has checked every status.  (The sampled
 * walk once missed compare's 7,872nd allocation, swallowed by the report's contributions.)  One thread
 * throughout, so that the n-th allocation is the same one in every run.
 *
 * jansson's allocations are counted too (the library routes them through its allocator, see
 * common/jsonx.c); XGBoost's (C++ new) are not: tests/fault_test.sh's ulimit -v sweeps cover those. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#ifndef WALK_DENSE
#if defined(__SANITIZE_ADDRESS__) || defined(__clang__) /* the clang build repeats the gcc build's code paths */
#define WALK_DENSE 500
#else
#define WALK_DENSE UINT64_MAX /* every n */
#endif
#endif
#define WALK_STEP_DIV 25

static prop_frame *g_frame;
static prop_recipe *g_recipe;
static prop_model *g_model;
static char g_model_path[1024];
static size_t g_n;
static double *g_prob;
static int *g_band;
static prop_frame *g_history; /* the demo customers' contact history */
static prop_contact *g_contact;

static void train_opts(prop_train_options *o) { tu_demo_train_options(o, 1); }

static void predict_opts(prop_predict_options *o) {
  prop_predict_options_default(o);
  o->nthread = 1;
}

/* A small table of every member: two folds, a few trees, a handful of support vectors. */
static const char k_recipe[] =
    "{\"name\": \"faults\", \"seed\": 5, \"cv_folds\": 2,"
    " \"members\": [{\"name\": \"xgboost\", \"params\": {\"eta\": 0.3, \"max_depth\": 2, \"rounds\": 3}},"
    "  {\"name\": \"random_forest\", \"params\": {\"n_estimators\": 3, \"min_samples_leaf\": 10}},"
    "  {\"name\": \"svc\", \"params\": {\"max_train_rows\": 40}},"
    "  {\"name\": \"decision_tree\", \"params\": {\"max_depth\": 3, \"min_samples_leaf\": 10}},"
    "  {\"name\": \"knn\", \"params\": {\"k\": 5}},"
    "  {\"name\": \"logistic\", \"params\": {\"C\": 1.0}}],"
    " \"ensemble\": {\"voting\": \"soft\", \"weights\": \"fit\", \"selection\": \"all\"},"
    " \"calibration\": \"isotonic\", \"calibration_min_rows\": 10}";

/* Two tiers, one of them capacitated, an attempt cap: greedy, exact and the cap all run. */
static const char k_policy[] =
    "{\"tiers\": [{\"name\": \"agent\", \"bands\": [4, 5, 6, 7], \"capacity_per_slot\": 2},"
    "  {\"name\": \"robot\", \"channels\": [\"mobile\", \"home\"], \"acceptance_multiplier\": 0.4}],"
    " \"open_slots\": \"all\", \"max_attempts\": 6, \"attempt_window_days\": 30}";

static void contact_opts(prop_contact_options *o) {
  prop_contact_options_default(o);
  o->id = "customer_id", o->time = "time", o->channel = "channel", o->outcome = "outcome";
  o->positive = "connected";
  o->nthread = 1;
}

/* The contact history of the demo frame's last month's customers (the demo options of tu_demo_frame). */
static prop_frame *read_history(void) {
  const char *hist = tu_path("faults_history.csv"), *cust = tu_path("faults_customers.csv");
  const char *truth = tu_path("faults_truth.csv");
  prop_demo_options d;
  prop_demo_options_default(&d);
  d.customers_per_month = 60;
  d.first_month = 3;
  d.months = 1;
  d.seed = 17;
  assert_int_equal(prop_demo_write_contacts(hist, cust, truth, &d), 0);
  static const char *const names[4] = {"customer_id", "time", "channel", "outcome"};
  static const prop_coltype types[4] = {PROP_COL_ID, PROP_COL_ID, PROP_COL_CATEGORICAL, PROP_COL_CATEGORICAL};
  prop_frame *f = tu_read_declared(hist, names, types, 4);
  remove(hist);
  remove(cust);
  remove(truth);
  return f;
}

static int setup(void **state) {
  (void)state;
  snprintf(g_model_path, sizeof g_model_path, "%s", tu_path("faults.model"));
  g_frame = tu_demo_frame(60, 3, 17);
  g_history = read_history();
  prop_train_options o;
  train_opts(&o);
  prop_predict_options po;
  predict_opts(&po);
  prop_contact_options co;
  contact_opts(&co);
  int rc = prop_recipe_parse(k_recipe, "faults recipe", &g_recipe);
  if (!rc) rc = prop_model_train(g_frame, g_recipe, &o, &g_model);
  if (!rc) rc = prop_model_save(g_model, g_model_path);
  if (!rc) {
    g_n = prop_frame_n_rows(g_frame);
    g_prob = tu_xmalloc(g_n * sizeof *g_prob);
    g_band = tu_xmalloc(g_n * sizeof *g_band);
    rc = prop_model_predict_frame(g_model, g_frame, g_prob, g_band, NULL, &po);
  }
  if (!rc) rc = prop_contact_fit(g_history, NULL, &co, &g_contact);
  if (rc) fprintf(stderr, "setup: %s\n", prop_last_error());
  return rc;
}

static int teardown(void **state) {
  (void)state;
  prop_model_free(g_model);
  prop_recipe_free(g_recipe);
  prop_frame_free(g_frame);
  prop_frame_free(g_history);
  prop_contact_free(g_contact);
  free(g_prob);
  free(g_band);
  remove(g_model_path);
  return 0;
}

/* The model scores the frame to the reference bits. */
static void scores_like_reference(const prop_model *m) {
  double *p = tu_xmalloc(g_n * sizeof *p);
  int *b = tu_xmalloc(g_n * sizeof *b);
  prop_predict_options po;
  predict_opts(&po);
  assert_int_equal(prop_model_predict_frame(m, g_frame, p, b, NULL, &po), 0);
  assert_memory_equal(p, g_prob, g_n * sizeof *p);
  assert_memory_equal(b, g_band, g_n * sizeof *b);
  free(p);
  free(b);
}

/* One operation under the walk: runs with the hook armed (the caller arms and disarms), returns
 * its status; check (called after disarming, only when it succeeded) compares what it made with
 * the run without faults (the reference, made first) and frees it. */
typedef struct op {
  const char *name;
  int (*run)(void **made);
  void (*check)(void *made);
  uint64_t dense; /* sampled walks: every n up to this (0: WALK_DENSE), then steps of n / WALK_STEP_DIV */
} op;

static void walk(const op *o) {
  uint64_t n = 1, runs = 0, nomem = 0, optional = 0, total = 0;
  const uint64_t dense = WALK_DENSE == UINT64_MAX || !o->dense ? WALK_DENSE : o->dense;
  const double t0 = pp_now_seconds();
  for (;; runs++) {
    void *made = NULL;
    pp_err_clear();
    pp_alloc_inject(n, 0);
    int rc = o->run(&made);
    pp_alloc_counts k;
    pp_alloc_inject_stop(&k);
    if (k.failed) {
      if (rc != PROP_ERR_NOMEM)
        fprintf(stderr, "%s: allocation %llu failed, status %d (%s): %s\n", o->name, (unsigned long long)n, rc,
                prop_strerror(rc), prop_last_error());
      assert_int_equal(rc, PROP_ERR_NOMEM);
      if (!prop_last_error()[0]) fprintf(stderr, "%s: allocation %llu failed: no message\n", o->name, (unsigned long long)n);
      assert_true(prop_last_error()[0] != '\0');
      nomem++;
    } else {
      if (rc) fprintf(stderr, "%s: n = %llu: %s\n", o->name, (unsigned long long)n, prop_last_error());
      assert_int_equal(rc, 0);
    }
    if (!rc) o->check(made);
    if (!k.failed && !k.failed_optional) {
      total = k.calls;
      break;
    }
    optional += k.failed_optional != 0;
    n += n < dense ? 1 : n / WALK_STEP_DIV;
  }
  char how[64] = "every n";
  if (dense != UINT64_MAX)
    snprintf(how, sizeof how, "every n up to %llu, then steps of n/%d", (unsigned long long)dense, WALK_STEP_DIV);
  printf("# %s: %llu allocations; %llu runs (%s): %llu NOMEM, %llu optional; %.1f s\n", o->name,
         (unsigned long long)total, (unsigned long long)runs, how, (unsigned long long)nomem,
         (unsigned long long)optional, pp_now_seconds() - t0);
}

/* The text an operation made, compared with its reference's. */
static char *g_ref_text;

static void check_text(void *made) {
  assert_string_equal(made, g_ref_text);
  free(made);
}

/* Walks op o after making its reference text with the hook off. */
static void walk_text(const op *o) {
  void *ref = NULL;
  assert_int_equal(o->run(&ref), 0);
  g_ref_text = ref;
  walk(o);
  free(g_ref_text);
  g_ref_text = NULL;
}

/* A growing text (for an operation's result in one string), asserting memory. */
typedef struct text {
  char *s;
  size_t len, cap;
} text;

static void text_add(text *t, const char *s) {
  size_t l = strlen(s);
  if (t->len + l + 1 > t->cap) {
    t->cap = 2 * (t->len + l + 1);
    t->s = realloc(t->s, t->cap);
    assert_non_null(t->s);
  }
  memcpy(t->s + t->len, s, l + 1);
  t->len += l;
}

/* ---- the operations ----------------------------------------------------------------------------- */

static int run_load(void **made) { return prop_model_load(g_model_path, (prop_model **)made); }
static void check_model(void *made) {
  scores_like_reference(made);
  prop_model_free(made);
}

static int run_train(void **made) {
  prop_train_options o;
  train_opts(&o);
  return prop_model_train(g_frame, g_recipe, &o, (prop_model **)made);
}

/* Two arrays of g_n entries made by an operation (probabilities and bands), for check_scored to
 * compare and free. */
typedef struct made2 {
  void *a, *b;
} made2;

static made2 *made2_new(size_t size_a, size_t size_b) {
  made2 *m = tu_xmalloc(sizeof *m);
  m->a = tu_xmalloc(g_n * size_a);
  m->b = tu_xmalloc(g_n * size_b);
  return m;
}

static void made2_free(made2 *m) {
  free(m->a);
  free(m->b);
  free(m);
}

/* rc, handing m to *made when it is 0 and freeing it otherwise. */
static int made2_hand(int rc, made2 *m, void **made) {
  if (rc) made2_free(m);
  else *made = m;
  return rc;
}

static void check_scored(void *made) {
  made2 *s = made;
  assert_memory_equal(s->a, g_prob, g_n * sizeof *g_prob);
  assert_memory_equal(s->b, g_band, g_n * sizeof *g_band);
  made2_free(s);
}

static int run_batch(void **made) {
  made2 *s = made2_new(sizeof(double), sizeof(int));
  prop_predict_options po;
  predict_opts(&po);
  return made2_hand(prop_model_predict_frame(g_model, g_frame, s->a, s->b, NULL, &po), s, made);
}

/* The frame's rows as the scorer takes them (model inputs in schema order, categories as codes). */
static double *g_rows;

static int run_scorer(void **made) {
  prop_scorer *sc = NULL;
  PP_TRY(prop_scorer_create(g_model, &sc));
  const size_t d = prop_model_n_inputs(g_model);
  made2 *s = made2_new(sizeof(double), sizeof(int));
  double *p = s->a;
  int *b = s->b;
  for (size_t i = 0; i < g_n; i++) {
    int rc = prop_scorer_score(sc, g_rows + i * d, &p[i], &b[i]);
    assert_true(rc == 0 || rc == PROP_ERR_CATEGORY); /* the scorer allocates nothing: no NOMEM here */
  }
  prop_scorer_free(sc);
  *made = s;
  return 0;
}

/* The ranked call list of the frame (prop_calllist: scored, ranked, half the rows selected) as text:
 * per output row its input row, id, probability, band, rank, dialer rank, selection and reason. */
static int calllist_text(const prop_calllist *cl, char **out) {
  const size_t n = prop_calllist_n_rows(cl);
  size_t *row = tu_xmalloc(n * sizeof *row), *rank = tu_xmalloc(n * sizeof *rank);
  double *p = tu_xmalloc(n * sizeof *p);
  int *band = tu_xmalloc(n * sizeof *band), *dialer = tu_xmalloc(n * sizeof *dialer);
  unsigned char *sel = tu_xmalloc(n);
  int rc = prop_calllist_get(cl, row, p, band, rank, dialer, sel);
  text t = {0};
  text_add(&t, "");
  for (size_t k = 0; k < n && !rc; k++) {
    char line[512];
    const char *err = prop_calllist_error(cl, k);
    snprintf(line, sizeof line, "%zu,%s,%.17g,%d,%zu,%d,%d,%s\n", row[k], prop_calllist_id(cl, k), p[k], band[k],
             rank[k], dialer[k], sel[k], err ? err : "");
    text_add(&t, line);
  }
  free(row);
  free(rank);
  free(p);
  free(band);
  free(dialer);
  free(sel);
  if (rc) free(t.s);
  else *out = t.s;
  return rc;
}

static int run_calllist(void **made) {
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  ro.capacity = g_n / 2;
  prop_predict_options po;
  predict_opts(&po);
  prop_calllist_options o;
  prop_calllist_options_default(&o);
  o.rank = &ro;
  o.predict = &po;
  prop_calllist *cl = NULL;
  int rc = prop_calllist_create(g_model, &o, &cl);
  if (!rc) rc = prop_calllist_add(cl, g_frame, NULL);
  if (!rc) rc = prop_calllist_finish(cl);
  if (!rc) rc = calllist_text(cl, (char **)made);
  prop_calllist_free(cl);
  return rc;
}

static int run_compare(void **made) {
  prop_train_options to;
  train_opts(&to);
  prop_compare_options co;
  prop_compare_options_default(&co);
  co.train = &to;
  co.batch_runs = 1;
  co.batch_budget_seconds = 0;
  co.latency_runs = 3;
  co.max_curve_points = 5;
  co.backtest = 0;
  return prop_compare(g_frame, g_recipe, &co, (char **)made);
}

/* compare's report holds timings: it must parse and name its models */
static void check_compare(void *made) {
  json_error_t e;
  json_t *root = json_loads(made, 0, &e);
  assert_non_null(root);
  assert_int_equal(json_array_size(json_object_get(root, "models")), 7); /* six members alone, the ensemble */
  json_decref(root);
  prop_free(made);
}

/* The contributions of every row (explain) as text: base, then each row's status and values. */
static int run_explain(void **made) {
  const size_t d = prop_model_n_inputs(g_model);
  double *c = tu_xmalloc(g_n * d * sizeof *c), base = 0;
  int *st = tu_xmalloc(g_n * sizeof *st);
  prop_predict_options po;
  predict_opts(&po);
  int rc = prop_model_contributions_frame(g_model, g_frame, c, &base, st, &po);
  if (!rc) {
    text t = {0};
    char buf[64];
    snprintf(buf, sizeof buf, "%a\n", base);
    text_add(&t, buf);
    for (size_t i = 0; i < g_n; i++) {
      snprintf(buf, sizeof buf, "%d", st[i]);
      text_add(&t, buf);
      for (size_t j = 0; j < d && !st[i]; j++) {
        snprintf(buf, sizeof buf, " %a", c[i * d + j]);
        text_add(&t, buf);
      }
      text_add(&t, "\n");
    }
    *made = t.s;
  }
  free(c);
  free(st);
  return rc;
}

static int run_monitor(void **made) {
  prop_monitor_options o;
  prop_monitor_options_default(&o);
  o.target = "accepted";
  o.time_col = "month";
  o.nthread = 1;
  char *json = NULL;
  int worst = -1;
  int rc = prop_monitor(g_model, g_frame, &o, &json, &worst);
  if (!rc) { /* as malloc'd text for check_text (prop_free and free are one) */
    *made = json;
    assert_true(worst >= 0);
  }
  return rc;
}

/* The contact model fitted on the demo's history, as its file's bytes (hex). */
static int run_contact_fit(void **made) {
  prop_contact_options o;
  contact_opts(&o);
  prop_contact *c = NULL;
  int rc = prop_contact_fit(g_history, NULL, &o, &c);
  unsigned char *bytes = NULL;
  size_t len = 0;
  if (!rc) rc = prop_contact_save_to_buffer(c, &bytes, &len);
  prop_contact_free(c);
  if (!rc) {
    char *hex = tu_xmalloc(2 * len + 1);
    for (size_t i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
    *made = hex;
  }
  prop_free(bytes);
  return rc;
}

/* The call plan of the frame: the policy parsed, the rows scored with their P(connect) (prop_planlist)
 * and planned; as text: the summary and every row in the plan CSV's layout. */
static int run_plan(void **made) {
  prop_policy *pol = NULL;
  prop_planlist *pl = NULL;
  prop_plan *plan = NULL;
  prop_predict_options po;
  predict_opts(&po);
  prop_planlist_options lo;
  prop_planlist_options_default(&lo);
  lo.predict = &po;
  prop_plan_options o;
  prop_plan_options_default(&o);
  o.nthread = 1;
  int rc = prop_policy_parse(k_policy, "faults policy", g_contact, &pol);
  if (!rc) rc = prop_planlist_create(g_model, g_contact, pol, &lo, &pl);
  if (!rc) rc = prop_planlist_add(pl, g_frame);
  if (!rc) rc = prop_planlist_plan(pl, &o, &plan);
  if (!rc) {
    text t = {0};
    text_add(&t, prop_plan_summary_json(plan));
    const char *const *cols;
    const size_t nc = prop_plan_columns(PROP_PLAN_CSV, &cols);
    const char **fields = tu_xmalloc(nc * sizeof *fields);
    char buf[4096];
    for (size_t i = 0; i < prop_plan_n_rows(plan); i++) {
      assert_int_equal(prop_plan_row_fields(plan, i, PROP_PLAN_CSV, fields, buf, sizeof buf), 0);
      for (size_t k = 0; k < nc; k++) {
        text_add(&t, k ? "," : "\n");
        text_add(&t, fields[k]);
      }
    }
    free(fields);
    *made = t.s;
  }
  prop_plan_free(plan);
  prop_planlist_free(pl);
  prop_policy_free(pol);
  return rc;
}

static void test_load(void **state) {
  (void)state;
  const op o = {"model load", run_load, check_model, 1000}; /* cheap: every allocation */
  walk(&o);
}

static void test_train(void **state) {
  (void)state;
  const op o = {"training (every member)", run_train, check_model, 0};
  walk(&o);
}

static void test_batch(void **state) {
  (void)state;
  const op o = {"batch scoring", run_batch, check_scored, 0};
  walk(&o);
}

static void test_scorer(void **state) {
  (void)state;
  const size_t d = prop_model_n_inputs(g_model);
  g_rows = tu_xmalloc(g_n * d * sizeof *g_rows);
  double *col = tu_xmalloc(g_n * sizeof *col);
  for (size_t j = 0; j < d; j++) {
    long c = prop_frame_find(g_frame, prop_model_input_name(g_model, j));
    assert_true(c >= 0);
    int numeric = prop_model_input_type(g_model, j) == PROP_COL_NUMERIC;
    if (numeric) assert_int_equal(prop_frame_numeric_values(g_frame, (size_t)c, col), 0);
    for (size_t i = 0; i < g_n; i++) {
      const char *label = numeric ? NULL : prop_frame_string_value(g_frame, (size_t)c, i);
      g_rows[i * d + j] = numeric ? col[i] : label ? prop_model_category_code(g_model, j, label) : NAN;
    }
  }
  free(col);
  const op o = {"single-row scoring", run_scorer, check_scored, 0};
  walk(&o);
  free(g_rows);
}

static void test_calllist(void **state) {
  (void)state;
  const op o = {"ranked call list", run_calllist, check_text, 0};
  walk_text(&o);
}

static void test_compare(void **state) {
  (void)state;
  const op o = {"compare", run_compare, check_compare, 0};
  walk(&o);
}

static void test_explain(void **state) {
  (void)state;
  const op o = {"contributions", run_explain, check_text, 0};
  walk_text(&o);
}

static void test_monitor(void **state) {
  (void)state;
  const op o = {"monitoring", run_monitor, check_text, 0};
  walk_text(&o);
}

static void test_contact_fit(void **state) {
  (void)state;
  /* its estimation costs the same in every run that gets there, and most allocations come after it */
  const op o = {"contact fit", run_contact_fit, check_text, 150};
  walk_text(&o);
}

static void test_plan(void **state) {
  (void)state;
  const op o = {"call plan", run_plan, check_text, 0};
  walk_text(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load),     cmocka_unit_test(test_train),   cmocka_unit_test(test_batch),
      cmocka_unit_test(test_scorer),   cmocka_unit_test(test_calllist), cmocka_unit_test(test_compare),
      cmocka_unit_test(test_explain),  cmocka_unit_test(test_monitor), cmocka_unit_test(test_contact_fit),
      cmocka_unit_test(test_plan),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
