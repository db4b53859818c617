/* prop_compare(): the report's schema (checked field by field, as bench/README.md documents it),
 * its numbers against independent computations on the same split, the split rules, the file
 * hash against the FIPS 180-4 test vectors, and the errors. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "pipeline/jsonw.h"
#include "testutil.h"

/* A fast recipe: three families, small settings. */
static const char k_recipe[] =
    "{\"name\": \"compare-test\", \"seed\": 5, \"cv_folds\": 3, \"imbalance\": \"weights\",\n"
    " \"members\": [\n"
    "   {\"name\": \"xgboost\", \"params\": {\"eta\": 0.3, \"max_depth\": 3, \"rounds\": 15}},\n"
    "   {\"name\": \"decision_tree\", \"params\": {\"max_depth\": 4, \"min_samples_leaf\": 20}},\n"
    "   {\"name\": \"logistic\", \"params\": {\"C\": 1.0}}],\n"
    " \"ensemble\": {\"voting\": \"soft\", \"weights\": \"fit\", \"selection\": \"top_k\", \"k\": 2},\n"
    " \"calibration\": \"isotonic\"}";
static const char *const k_members[] = {"xgboost", "decision_tree", "logistic"};
#define NMEM 3
#define LATENCY_RUNS 150

/* ---- synthetic data: x1 carries the signal, cat a little, x2 is noise with missing cells ---- */
typedef struct data {
  size_t n;
  double *x1, *x2, *month, *conn;
  const char **cat, **y;
  int *yi;
} data;

static void data_make(data *d, size_t n, uint64_t seed, int months) {
  static const char *const cats[3] = {"A", "B", "C"};
  d->n = n;
  d->x1 = calloc(n, sizeof(double));
  d->x2 = calloc(n, sizeof(double));
  d->month = calloc(n, sizeof(double));
  d->conn = calloc(n, sizeof(double));
  d->cat = calloc(n, sizeof(char *));
  d->y = calloc(n, sizeof(char *));
  d->yi = calloc(n, sizeof(int));
  assert_non_null(d->yi);
  uint64_t s = seed;
  for (size_t i = 0; i < n; i++) {
    d->x1[i] = tu_normal(&s);
    d->x2[i] = tu_uniform(&s) < 0.05 ? NAN : tu_normal(&s);
    size_t c = (size_t)(tu_uniform(&s) * 3) % 3;
    d->cat[i] = cats[c];
    d->month[i] = (double)(1 + i % (size_t)months);
    d->conn[i] = tu_uniform(&s) < 0.6 ? 1 : 0;
    double z = -1.3 + 1.8 * d->x1[i] + (c == 2 ? 0.8 : 0.0);
    d->yi[i] = tu_uniform(&s) < 1.0 / (1.0 + exp(-z));
    d->y[i] = d->yi[i] ? "yes" : "no";
  }
}

static void data_free(data *d) {
  free(d->x1);
  free(d->x2);
  free(d->month);
  free(d->conn);
  free(d->cat);
  free(d->y);
  free(d->yi);
}

/* A frame of the rows i with keep == NULL or keep[i] == want. */
static prop_frame *data_frame(const data *d, const unsigned char *keep, int want) {
  size_t m = 0;
  for (size_t i = 0; i < d->n; i++) m += !keep || keep[i] == want;
  double *x1 = calloc(m, sizeof(double)), *x2 = calloc(m, sizeof(double)), *mo = calloc(m, sizeof(double)),
         *cn = calloc(m, sizeof(double));
  const char **cat = calloc(m, sizeof(char *)), **y = calloc(m, sizeof(char *));
  assert_non_null(y);
  size_t k = 0;
  for (size_t i = 0; i < d->n; i++) {
    if (keep && keep[i] != want) continue;
    x1[k] = d->x1[i];
    x2[k] = d->x2[i];
    mo[k] = d->month[i];
    cn[k] = d->conn[i];
    cat[k] = d->cat[i];
    y[k++] = d->y[i];
  }
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(m, &f), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x1", x1), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x2", x2), 0);
  assert_int_equal(prop_frame_add_strings(f, "cat", PROP_COL_CATEGORICAL, cat), 0);
  assert_int_equal(prop_frame_add_numeric(f, "month", mo), 0);
  assert_int_equal(prop_frame_add_numeric(f, "connected", cn), 0);
  assert_int_equal(prop_frame_add_strings(f, "y", PROP_COL_TARGET, y), 0);
  free(x1);
  free(x2);
  free(mo);
  free(cn);
  free(cat);
  free(y);
  return f;
}

static prop_recipe *recipe(void) {
  prop_recipe *r = NULL;
  int rc = prop_recipe_parse(k_recipe, "compare-test", &r);
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  assert_int_equal(rc, 0);
  return r;
}

static const char *const k_ignore_month[] = {"month"};

/* The comparison's options and the training options they point to. */
typedef struct copts {
  prop_compare_options c;
  prop_train_options t;
} copts;

static void options(copts *o) {
  prop_compare_options_default(&o->c);
  prop_train_options_default(&o->t);
  o->c.train = &o->t;
  o->t.target = "y";
  o->t.positive = "yes";
  o->t.connected = "connected";
  o->t.nthread = 2;
  o->c.latency_runs = LATENCY_RUNS;
  o->c.batch_runs = 2;
}

static json_t *run(const prop_frame *f, const prop_compare_options *o) {
  prop_recipe *r = recipe();
  char *text = NULL;
  int rc = prop_compare(f, r, o, &text);
  if (rc) fprintf(stderr, "prop_compare: %s\n", prop_last_error());
  assert_int_equal(rc, 0);
  assert_non_null(text);
  json_error_t err;
  json_t *root = json_loads(text, 0, &err);
  if (!root) fprintf(stderr, "JSON: %s at line %d\n", err.text, err.line);
  assert_non_null(root);
  free(text);
  prop_recipe_free(r);
  return root;
}

/* ---- the schema, field by field ---------------------------------------------------------------- */
static const json_t *field(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  if (!v) fprintf(stderr, "missing field: %s\n", key);
  assert_non_null(v);
  return v;
}

static double number(const json_t *o, const char *key) {
  const json_t *v = field(o, key);
  if (!json_is_number(v)) fprintf(stderr, "field %s is not a number\n", key);
  assert_true(json_is_number(v));
  return json_number_value(v);
}

static long long integer(const json_t *o, const char *key) {
  const json_t *v = field(o, key);
  if (!json_is_integer(v)) fprintf(stderr, "field %s is not an integer\n", key);
  assert_true(json_is_integer(v));
  return (long long)json_integer_value(v);
}

static const char *string(const json_t *o, const char *key) {
  const json_t *v = field(o, key);
  assert_true(json_is_string(v));
  return json_string_value(v);
}

static void in_unit(const json_t *o, const char *key) {
  double v = number(o, key);
  if (!(v >= 0.0 && v <= 1.0)) fprintf(stderr, "%s = %g is not in [0, 1]\n", key, v);
  assert_true(v >= 0.0 && v <= 1.0);
}

/* [[x, y], ...] with x and y in [0,1], both non-decreasing, from (0,0) to (1,1). */
static size_t check_curve(const json_t *pts, size_t max_points) {
  assert_true(json_is_array(pts));
  size_t k = json_array_size(pts);
  assert_true(k >= 2 && k <= max_points);
  double px = -1, py = -1;
  for (size_t i = 0; i < k; i++) {
    const json_t *pt = json_array_get(pts, i);
    assert_true(json_is_array(pt) && json_array_size(pt) == 2);
    double x = json_number_value(json_array_get(pt, 0)), y = json_number_value(json_array_get(pt, 1));
    assert_true(x >= 0 && x <= 1 && y >= 0 && y <= 1);
    assert_true(x >= px && y >= py);
    px = x;
    py = y;
  }
  assert_true(json_number_value(json_array_get(json_array_get(pts, 0), 0)) == 0.0);
  assert_true(json_number_value(json_array_get(json_array_get(pts, 0), 1)) == 0.0);
  assert_true(px == 1.0 && py == 1.0);
  return k;
}

static void check_model(const json_t *m, const char *name, size_t test_rows) {
  assert_string_equal(string(m, "name"), name);
  assert_string_equal(string(m, "kind"), strcmp(name, "ensemble") == 0 ? "ensemble" : "member");
  static const char *const unit[] = {"auc", "pr_auc", "ks", "brier", "ece", "capture_10", "capture_20", "capture_30"};
  for (size_t k = 0; k < sizeof unit / sizeof unit[0]; k++) in_unit(m, unit[k]);
  assert_true(number(m, "logloss") > 0.0);
  /* x1 carries a strong signal: every model ranks well above chance */
  assert_true(number(m, "auc") > 0.75);
  double c10 = number(m, "capture_10"), c20 = number(m, "capture_20"), c30 = number(m, "capture_30");
  assert_true(c10 <= c20 && c20 <= c30);
  assert_true(fabs(number(m, "lift_10") - c10 / 0.1) < 1e-6);
  assert_true(fabs(number(m, "lift_20") - c20 / 0.2) < 1e-6);
  assert_true(fabs(number(m, "lift_30") - c30 / 0.3) < 1e-6);
  assert_true(number(m, "fit_seconds") > 0.0);
  assert_true(number(m, "predict_rows_per_second") > 0.0);
  long long runs = integer(m, "predict_runs");
  assert_true(runs >= 1 && runs <= 2);
  double p50 = number(m, "latency_p50_us"), p99 = number(m, "latency_p99_us");
  assert_true(p50 > 0.0 && p50 <= p99);
  assert_int_equal(integer(m, "latency_runs"), LATENCY_RUNS);

  const json_t *cv = field(m, "curves");
  check_curve(field(cv, "roc"), 200);
  const json_t *gains = field(cv, "gains");
  assert_int_equal(check_curve(gains, 101), 101);
  /* the gains curve at 10/20/30% of the list is the capture reported */
  assert_true(fabs(json_number_value(json_array_get(json_array_get(gains, 10), 1)) - c10) < 1e-9);
  assert_true(fabs(json_number_value(json_array_get(json_array_get(gains, 30), 1)) - c30) < 1e-9);
  const json_t *rel = field(cv, "reliability");
  assert_true(json_is_array(rel) && json_array_size(rel) >= 1 && json_array_size(rel) <= 10);
  long long cnt = 0;
  size_t i;
  const json_t *b;
  json_array_foreach(rel, i, b) {
    double lo = number(b, "lo"), hi = number(b, "hi"), mp = number(b, "mean_predicted");
    assert_true(fabs(hi - lo - 0.1) < 1e-12);
    assert_true(mp >= lo - 1e-12 && mp <= hi + 1e-12);
    in_unit(b, "fraction_positive");
    cnt += integer(b, "count");
  }
  assert_int_equal(cnt, (long long)test_rows);
}

/* Everything the schema requires; returns the models array. */
static const json_t *check_report(const json_t *root, size_t rows) {
  assert_int_equal(integer(root, "schema_version"), 1);
  assert_string_equal(string(root, "tool"), "propensity compare");
  assert_string_equal(string(root, "library_version"), PROP_VERSION_STRING);
  const char *when = string(root, "created_at");
  assert_int_equal(strlen(when), 20);
  assert_true(when[4] == '-' && when[10] == 'T' && when[19] == 'Z');
  integer(root, "seed");
  const json_t *mach = field(root, "machine");
  assert_true(strlen(string(mach, "cpu_model")) > 0);
  assert_true(integer(mach, "cores") >= 1);
  assert_int_equal(integer(mach, "threads_used"), 2);

  const json_t *ds = field(root, "dataset");
  field(ds, "path");
  field(ds, "sha256");
  assert_string_equal(string(ds, "target"), "y");
  assert_string_equal(string(ds, "positive_label"), "yes");
  assert_int_equal(integer(ds, "rows"), (long long)rows);
  long long tr = integer(ds, "train_rows"), te = integer(ds, "test_rows");
  assert_int_equal(tr + te, (long long)rows);
  assert_true(integer(ds, "test_positives") <= integer(ds, "positives"));
  assert_int_equal(integer(ds, "features"), 3); /* x1, x2, cat */
  /* x1, x2, x2_missing, cat one-hot (A, B, C, unseen) */
  assert_true(integer(ds, "encoded_columns") >= 3);
  const json_t *sp = field(ds, "split");
  string(sp, "method");

  const json_t *tm = field(root, "timing");
  assert_string_equal(string(tm, "batch_statistic"), "median");
  assert_int_equal(integer(tm, "batch_runs"), 2);
  assert_true(json_is_object(field(root, "recipe")));

  const json_t *models = field(root, "models");
  assert_true(json_is_array(models));
  assert_int_equal(json_array_size(models), NMEM + 1);
  for (size_t j = 0; j < NMEM; j++) check_model(json_array_get(models, j), k_members[j], (size_t)te);
  const json_t *ens = json_array_get(models, NMEM);
  check_model(ens, "ensemble", (size_t)te);
  const json_t *mem = field(ens, "members");
  /* top_k = 2; a member whose fitted weight is 0 is left out of the model */
  assert_true(json_array_size(mem) >= 1 && json_array_size(mem) <= 2);
  double wsum = 0;
  size_t i;
  const json_t *e;
  json_array_foreach(mem, i, e) {
    string(e, "name");
    wsum += number(e, "weight");
  }
  assert_true(fabs(wsum - 1.0) < 1e-9);

  const json_t *bands = field(root, "bands");
  assert_int_equal(json_array_size(bands), PROP_DEFAULT_NBANDS);
  long long cnt = 0, pos = 0;
  json_array_foreach(bands, i, e) {
    assert_int_equal(integer(e, "band"), (long long)i + 1);
    number(e, "lo");
    number(e, "hi");
    cnt += integer(e, "count");
    pos += integer(e, "positives");
    static const char *const keys[] = {"share", "success_rate", "success_lo", "success_hi", "lift",
                                       "mean_probability", "connected", "connect_rate", "success_among_connected"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) field(e, keys[k]);
    if (integer(e, "count") > 0) {
      double lo = number(e, "success_lo"), sr = number(e, "success_rate"), hi = number(e, "success_hi");
      assert_true(lo <= sr && sr <= hi);
      in_unit(e, "connect_rate");
      /* the bands are cut from the ensemble's calibrated probabilities: each band's mean lies in its range */
      double mp = number(e, "mean_probability");
      assert_true(mp >= number(e, "lo") && mp <= number(e, "hi"));
    }
  }
  assert_int_equal(cnt, te);
  assert_int_equal(pos, integer(ds, "test_positives"));

  string(root, "importance_member");
  const json_t *imp = field(root, "importance");
  assert_int_equal(json_array_size(imp), 3);
  double share = 0, prev = INFINITY;
  json_array_foreach(imp, i, e) {
    string(e, "feature");
    double v = number(e, "importance");
    assert_true(v >= 0 && v <= prev);
    prev = v;
    share += number(e, "share");
  }
  assert_true(fabs(share - 1.0) < 1e-9);
  /* the signal is in x1 */
  assert_string_equal(string(json_array_get(imp, 0), "feature"), "x1");
  assert_true(json_is_array(field(root, "months")));
  return models;
}

/* ---- tests ------------------------------------------------------------------------------------- */
static void test_stratified_split_report(void **state) {
  (void)state;
  data d;
  data_make(&d, 1500, 7, 3);
  prop_frame *f = data_frame(&d, NULL, 0);
  const char *hash_path = tu_path("abc.txt");
  tu_write(hash_path, "abc");
  copts o;
  options(&o);
  o.t.ignore = k_ignore_month;
  o.t.n_ignore = 1;
  o.c.data_path = hash_path;
  json_t *root = run(f, &o.c);
  const json_t *models = check_report(root, d.n);
  const json_t *ds = json_object_get(root, "dataset");
  /* FIPS 180-4 example: SHA-256("abc") */
  assert_string_equal(string(ds, "sha256"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_int_equal(integer(ds, "bytes"), 3);
  assert_string_equal(string(ds, "path"), hash_path);
  const json_t *sp = json_object_get(ds, "split");
  assert_string_equal(string(sp, "method"), "stratified");
  assert_true(fabs(number(sp, "test_frac") - 0.3) < 1e-12);
  assert_int_equal(integer(sp, "seed"), 42);
  assert_int_equal(json_array_size(json_object_get(root, "months")), 0);

  /* The split is pp_split_stratified's (exactly round(0.3 n_c) of each class), and the ensemble's
   * AUC is that of prop_model_train on those training rows, scored on those test rows. */
  size_t P = 0;
  for (size_t i = 0; i < d.n; i++) P += (size_t)d.yi[i];
  assert_int_equal(integer(ds, "positives"), (long long)P);
  assert_int_equal(integer(ds, "test_rows"), llround(0.3 * (double)P) + llround(0.3 * (double)(d.n - P)));
  assert_int_equal(integer(ds, "test_positives"), llround(0.3 * (double)P));
  unsigned char *is_test = malloc(d.n);
  assert_int_equal(pp_split_stratified(d.yi, d.n, 0.3, 42, is_test), 0);
  prop_frame *ftr = data_frame(&d, is_test, 0), *fte = data_frame(&d, is_test, 1);
  prop_recipe *r = recipe();
  prop_model *m = NULL;
  assert_int_equal(prop_model_train(ftr, r, &o.t, &m), 0);
  size_t nte = prop_frame_n_rows(fte);
  double *prob = malloc(nte * sizeof *prob);
  float *yf = malloc(nte * sizeof *yf);
  int *yi = malloc(nte * sizeof *yi);
  assert_int_equal(prop_model_predict_frame(m, fte, prob, NULL, NULL, NULL), 0);
  for (size_t i = 0, k = 0; i < d.n; i++)
    if (is_test[i]) {
      yi[k] = d.yi[i];
      yf[k++] = (float)d.yi[i];
    }
  double auc = tu_auc_ref(prob, yf, nte);
  const json_t *ens = json_array_get(models, NMEM);
  assert_true(fabs(number(ens, "auc") - auc) < 1e-8);
  assert_true(fabs(number(ens, "capture_30") - pp_capture(prob, yi, nte, 0.3)) < 1e-8);
  assert_true(fabs(number(ens, "brier") - pp_brier(prob, yi, nte)) < 1e-8);

  /* The same rows given as two frames (options.test): no split, the same training and test rows,
   * so every model gets the same numbers.  The time column given with a test frame only keeps
   * "month" out of the inputs (check_report counts 3 features). */
  copts o2;
  options(&o2);
  o2.c.test = fte;
  o2.c.test_data_path = hash_path;
  o2.c.test_frac = 7.0; /* unused with a test frame */
  o2.t.time_col = "month";
  o2.c.backtest = 0;
  json_t *root2 = run(ftr, &o2.c);
  const json_t *models2 = check_report(root2, d.n);
  const json_t *ds2 = json_object_get(root2, "dataset");
  assert_int_equal(integer(ds2, "train_rows"), (long long)prop_frame_n_rows(ftr));
  assert_int_equal(integer(ds2, "test_rows"), (long long)nte);
  assert_int_equal(integer(ds2, "positives"), (long long)P);
  assert_int_equal(integer(ds2, "test_positives"), integer(ds, "test_positives"));
  assert_true(json_is_null(json_object_get(ds2, "path")));
  const json_t *sp2 = json_object_get(ds2, "split");
  assert_string_equal(string(sp2, "method"), "test_data");
  assert_string_equal(string(sp2, "time_column"), "month");
  assert_true(json_is_null(json_object_get(sp2, "test_month")));
  assert_true(json_is_null(json_object_get(sp2, "test_frac")));
  assert_true(json_is_null(json_object_get(sp2, "seed")));
  assert_string_equal(string(sp2, "test_path"), hash_path);
  assert_string_equal(string(sp2, "test_sha256"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_int_equal(integer(sp2, "test_bytes"), 3);
  assert_true(json_is_null(json_object_get(sp, "test_path")));
  assert_true(json_is_null(json_object_get(sp, "test_sha256")));
  for (size_t j = 0; j <= NMEM; j++) {
    const json_t *a = json_array_get(models, j), *b2 = json_array_get(models2, j);
    assert_string_equal(string(a, "name"), string(b2, "name"));
    assert_true(fabs(number(a, "auc") - number(b2, "auc")) < 1e-12);
    assert_true(fabs(number(a, "brier") - number(b2, "brier")) < 1e-12);
    assert_true(fabs(number(a, "capture_30") - number(b2, "capture_30")) < 1e-12);
  }
  assert_true(fabs(number(json_array_get(models2, NMEM), "auc") - auc) < 1e-8);
  json_decref(root2);
  free(prob);
  free(yf);
  free(yi);
  free(is_test);
  prop_model_free(m);
  prop_recipe_free(r);
  prop_frame_free(ftr);
  prop_frame_free(fte);
  json_decref(root);
  prop_frame_free(f);
  data_free(&d);
  remove(hash_path);
}

static void test_time_split_and_backtest(void **state) {
  (void)state;
  data d;
  data_make(&d, 1500, 21, 3);
  prop_frame *f = data_frame(&d, NULL, 0);
  /* FIPS 180-4 two-block example (56 bytes: the padding spills into a second block) */
  const char *hash_path = tu_path("abcdb.txt");
  tu_write(hash_path, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
  copts o;
  options(&o);
  o.t.time_col = "month";
  o.c.data_path = hash_path;
  json_t *root = run(f, &o.c);
  const json_t *models = check_report(root, d.n);
  const json_t *ds = json_object_get(root, "dataset");
  assert_string_equal(string(ds, "sha256"), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const json_t *sp = json_object_get(ds, "split");
  assert_string_equal(string(sp, "method"), "last_month");
  assert_string_equal(string(sp, "time_column"), "month");
  assert_true(number(sp, "test_month") == 3.0);
  assert_true(json_is_null(json_object_get(sp, "test_frac")));
  assert_int_equal(integer(ds, "test_rows"), 500); /* month = 1 + i % 3 */

  /* back-test: months 2 and 3, each trained on the months before */
  const json_t *months = json_object_get(root, "months");
  assert_int_equal(json_array_size(months), 2);
  for (size_t k = 0; k < 2; k++) {
    const json_t *mo = json_array_get(months, k);
    assert_true(number(mo, "month") == (double)(k + 2));
    assert_int_equal(integer(mo, "train_rows"), 500 * (long long)(k + 1));
    assert_int_equal(integer(mo, "rows"), 500);
    integer(mo, "positives");
    in_unit(mo, "auc");
    in_unit(mo, "ece");
    in_unit(mo, "capture_10");
    in_unit(mo, "capture_20");
    in_unit(mo, "capture_30");
    assert_true(json_is_array(field(mo, "members")));
  }
  /* the last back-tested month is the comparison's own split, trained the same way */
  const json_t *last = json_array_get(months, 1), *ens = json_array_get(models, NMEM);
  assert_true(fabs(number(last, "auc") - number(ens, "auc")) < 1e-8);
  assert_true(fabs(number(last, "capture_30") - number(ens, "capture_30")) < 1e-8);

  /* without the back-test the months list is empty */
  o.c.backtest = 0;
  o.c.data_path = NULL;
  json_t *root2 = run(f, &o.c);
  assert_int_equal(json_array_size(json_object_get(root2, "months")), 0);
  assert_true(json_is_null(json_object_get(json_object_get(root2, "dataset"), "sha256")));
  json_decref(root2);
  json_decref(root);
  prop_frame_free(f);
  data_free(&d);
  remove(hash_path);
}

static int g_calls;
static int cancel_at_ensemble(void *user, const char *stage, size_t done, size_t total) {
  (void)user;
  (void)done;
  (void)total;
  g_calls++;
  return strcmp(stage, "compare:ensemble") == 0;
}

static void expect_error(const prop_frame *f, const prop_compare_options *o, int code, const char *needle) {
  prop_recipe *r = recipe();
  char *text = (char *)0x1;
  int rc = prop_compare(f, r, o, &text);
  if (rc != code || !strstr(prop_last_error(), needle))
    fprintf(stderr, "got %d '%s', wanted %d with '%s'\n", rc, prop_last_error(), code, needle);
  assert_int_equal(rc, code);
  assert_null(text);
  assert_non_null(strstr(prop_last_error(), needle));
  prop_recipe_free(r);
}

static void test_errors(void **state) {
  (void)state;
  copts o;
  prop_compare_options_default(&o.c);
  assert_true(o.c.struct_size == sizeof o.c && o.c.train == NULL);
  assert_true(o.c.test_frac == 0.3 && o.c.seed == 42 && o.c.latency_runs == 2000 && o.c.batch_runs == 5);
  assert_true(o.c.max_curve_points == 200 && o.c.backtest == 1 && o.c.min_train_months == 1);

  data d;
  data_make(&d, 300, 3, 3);
  prop_frame *f = data_frame(&d, NULL, 0);
  char *text = NULL;
  options(&o);
  assert_int_equal(prop_compare(f, NULL, &o.c, NULL), PROP_ERR_ARG);
  assert_int_equal(prop_compare(NULL, NULL, &o.c, &text), PROP_ERR_ARG);
  assert_null(text);
  o.c.train = NULL;
  expect_error(f, &o.c, PROP_ERR_ARG, "options.train");
  o.c.train = &o.t;
  o.t.target = NULL;
  expect_error(f, &o.c, PROP_ERR_ARG, "target");
  options(&o);
  o.c.test_frac = 1.0;
  expect_error(f, &o.c, PROP_ERR_ARG, "test_frac");
  options(&o);
  o.c.max_curve_points = 1;
  expect_error(f, &o.c, PROP_ERR_ARG, "max_curve_points");
  options(&o);
  o.t.time_col = "week";
  expect_error(f, &o.c, PROP_ERR_SCHEMA, "week");
  options(&o);
  o.t.time_col = "cat"; /* labels that are no months: the first row named */
  expect_error(f, &o.c, PROP_ERR_VALUE, "<frame>:1:cat: 'B' is not a period (an integer, YYYYMM, YYYY-MM or YYYY-MM-DD)");
  options(&o);
  o.t.positive = "maybe";
  expect_error(f, &o.c, PROP_ERR_CATEGORY, "maybe");
  options(&o);
  o.c.data_path = tu_path("no-such-file.csv");
  expect_error(f, &o.c, PROP_ERR_IO, "no-such-file.csv");
  options(&o);
  o.t.connected = "dialled";
  expect_error(f, &o.c, PROP_ERR_SCHEMA, "dialled");

  /* an explicit test frame: it needs the inputs and the target, and rows */
  {
    double x1[2] = {0.5, -1.0};
    const char *cat[2] = {"A", "B"}, *lab[2] = {"yes", "no"};
    prop_frame *no_x2 = NULL, *no_y = NULL, *empty = NULL;
    assert_int_equal(prop_frame_create(2, &no_x2), 0);
    assert_int_equal(prop_frame_add_numeric(no_x2, "x1", x1), 0);
    assert_int_equal(prop_frame_add_strings(no_x2, "cat", PROP_COL_CATEGORICAL, cat), 0);
    assert_int_equal(prop_frame_add_numeric(no_x2, "connected", x1), 0);
    assert_int_equal(prop_frame_add_strings(no_x2, "y", PROP_COL_TARGET, lab), 0);
    assert_int_equal(prop_frame_create(2, &no_y), 0);
    assert_int_equal(prop_frame_add_numeric(no_y, "x1", x1), 0);
    assert_int_equal(prop_frame_create(0, &empty), 0);
    options(&o);
    o.t.ignore = k_ignore_month;
    o.t.n_ignore = 1;
    o.t.connected = NULL;
    o.c.test = no_x2;
    expect_error(f, &o.c, PROP_ERR_SCHEMA, "x2");
    o.c.test = no_y;
    expect_error(f, &o.c, PROP_ERR_SCHEMA, "'y' not found");
    o.c.test = empty;
    expect_error(f, &o.c, PROP_ERR_TRAIN, "0 test rows");
    o.c.test = f;
    o.c.test_data_path = tu_path("no-such-test.csv");
    expect_error(f, &o.c, PROP_ERR_IO, "no-such-test.csv");
    prop_frame_free(no_x2);
    prop_frame_free(no_y);
    prop_frame_free(empty);
  }

  /* one month only: nothing to hold out */
  data one;
  data_make(&one, 300, 4, 1);
  prop_frame *g = data_frame(&one, NULL, 0);
  options(&o);
  o.t.time_col = "month";
  expect_error(g, &o.c, PROP_ERR_TRAIN, "one value");

  /* the progress callback can stop it */
  options(&o);
  o.t.ignore = k_ignore_month;
  o.t.n_ignore = 1;
  o.t.progress = cancel_at_ensemble;
  g_calls = 0;
  expect_error(f, &o.c, PROP_ERR_CANCELLED, "compare:ensemble");
  assert_true(g_calls >= NMEM + 1);

  prop_frame_free(g);
  data_free(&one);
  prop_frame_free(f);
  data_free(&d);
}

/* ---- the verdict: DeLong fields and the recommendation's rules -------------------------------- */

/* models[] entries as compare writes them (name and the two costs the verdict reads). */
static json_t *verdict_models(const double *p99, const char *const *names, size_t k) {
  json_t *arr = json_array();
  for (size_t j = 0; j < k; j++)
    json_array_append_new(arr, json_pack("{s:s,s:f,s:f}", "name", names[j], "fit_seconds", 1.0 + (double)j,
                                         "latency_p99_us", p99[j]));
  return arr;
}

/* The verdict on member scores a, b and ensemble scores e; returns the recommendation (checked for
 * the fields every verdict has) and leaves the annotated models in *out. */
static json_t *verdict(const double *a, const double *b, const double *e, const int *y, size_t n,
                       const double *p99, json_t **out) {
  static const char *const names[3] = {"a", "b", "ensemble"};
  double *mem = tu_xmalloc(2 * n * sizeof *mem);
  memcpy(mem, a, n * sizeof *mem);
  memcpy(mem + n, b, n * sizeof *mem);
  json_t *models = verdict_models(p99, names, 3);
  pp_jb jb = {0};
  json_t *rec = pp_compare_verdict(&jb, models, mem, 2, e, y, n, 3);
  assert_false(jb.failed);
  assert_non_null(rec);
  assert_true(json_is_string(json_object_get(rec, "text")) && json_is_string(json_object_get(rec, "rule")));
  assert_true(json_is_array(json_object_get(rec, "not_worse_than_ensemble")));
  free(mem);
  *out = models;
  return rec;
}

static const char *rec_str(const json_t *rec, const char *key) { return json_string_value(json_object_get(rec, key)); }

static void test_verdict_rules(void **state) {
  (void)state;
  const size_t n = 400;
  int *y = tu_xmalloc(n * sizeof *y);
  double *good = tu_xmalloc(n * sizeof *good), *noise = tu_xmalloc(n * sizeof *noise),
         *noise2 = tu_xmalloc(n * sizeof *noise2), *perfect = tu_xmalloc(n * sizeof *perfect);
  uint64_t seed = 3;
  for (size_t i = 0; i < n; i++) {
    y[i] = tu_uniform(&seed) < 0.3;
    good[i] = 1 / (1 + exp(-(1.5 * y[i] + tu_normal(&seed)))); /* AUC about 0.85 */
    noise[i] = tu_uniform(&seed);                                /* about 0.5 */
    noise2[i] = tu_uniform(&seed);
    perfect[i] = 0.1 + 0.8 * y[i] + 0.01 * tu_uniform(&seed); /* 1 */
  }
  json_t *models = NULL;
  /* a scores as the ensemble (not worse) and runs faster; b is noise (worse) */
  const double fast[3] = {1.0, 2.0, 10.0};
  json_t *rec = verdict(good, noise, good, y, n, fast, &models);
  assert_string_equal(rec_str(rec, "rule"), "member_not_worse");
  assert_string_equal(rec_str(rec, "model"), "a");
  assert_string_equal(rec_str(rec, "kind"), "member");
  assert_int_equal(json_array_size(json_object_get(rec, "not_worse_than_ensemble")), 1);
  assert_non_null(strstr(rec_str(rec, "text"), "Use a alone."));
  assert_non_null(strstr(rec_str(rec, "text"), "p99 latency 1 µs against the ensemble's 10 µs"));
  for (size_t j = 0; j < 3; j++) { /* every model's interval holds its AUC; members have their test */
    const json_t *m = json_array_get(models, j);
    double lo = json_number_value(json_object_get(m, "auc_ci_low"));
    double hi = json_number_value(json_object_get(m, "auc_ci_high"));
    double auc = j == 1 ? pp_auc(noise, y, n) : pp_auc(good, y, n);
    assert_true(lo < auc && auc < hi && hi - lo < 0.2);
    const json_t *t = json_object_get(m, "vs_ensemble");
    assert_true(j == 2 ? t == NULL : json_is_object(t));
  }
  const json_t *ta = json_object_get(json_array_get(models, 0), "vs_ensemble");
  assert_true(json_number_value(json_object_get(ta, "auc_difference")) == 0);
  assert_true(json_number_value(json_object_get(ta, "p_value")) == 1);
  const json_t *tb = json_object_get(json_array_get(models, 1), "vs_ensemble");
  tu_assert_close(json_number_value(json_object_get(tb, "auc_difference")), pp_auc(good, y, n) - pp_auc(noise, y, n),
                  1e-12);
  assert_true(json_number_value(json_object_get(tb, "p_value")) < 1e-6);
  json_decref(rec);
  json_decref(models);
  /* the same, but a runs slower than the ensemble: nothing to gain, the ensemble */
  const double slow[3] = {20.0, 2.0, 10.0};
  rec = verdict(good, noise, good, y, n, slow, &models);
  assert_string_equal(rec_str(rec, "rule"), "ensemble_not_slower");
  assert_string_equal(rec_str(rec, "model"), "ensemble");
  assert_non_null(strstr(rec_str(rec, "text"), "the best of them, a,"));
  json_decref(rec);
  json_decref(models);
  /* both members worse */
  rec = verdict(noise2, noise, good, y, n, fast, &models);
  assert_string_equal(rec_str(rec, "rule"), "ensemble_better");
  assert_string_equal(rec_str(rec, "model"), "ensemble");
  assert_int_equal(json_array_size(json_object_get(rec, "not_worse_than_ensemble")), 0);
  json_decref(rec);
  json_decref(models);
  /* a member better than the ensemble */
  rec = verdict(noise, perfect, good, y, n, slow, &models);
  assert_string_equal(rec_str(rec, "rule"), "member_better");
  assert_string_equal(rec_str(rec, "model"), "b");
  json_decref(rec);
  json_decref(models);
  /* one class: no AUC, no recommendation */
  for (size_t i = 0; i < n; i++) y[i] = 0;
  rec = verdict(good, noise, good, y, n, fast, &models);
  assert_string_equal(rec_str(rec, "rule"), "none");
  assert_true(json_is_null(json_object_get(rec, "model")));
  assert_true(json_is_null(json_object_get(json_array_get(models, 0), "auc_ci_low")));
  json_decref(rec);
  json_decref(models);
  free(y);
  free(good);
  free(noise);
  free(noise2);
  free(perfect);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_stratified_split_report),
      cmocka_unit_test(test_time_split_and_backtest),
      cmocka_unit_test(test_verdict_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
