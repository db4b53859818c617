/* End-to-end and pipeline tests: recipe, train, save/load, scoring paths, voting, calibration,
 * ranking, bad model files, threads. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bands/bands.h"
#include "calibrate/calibrate.h"
#include "io/bundle.h"
#include "pipeline/pipeline.h"
#include "testutil.h"

/* ---- shared fixture: a small demo data set and a model trained on it once ---------------- */
static prop_model *g_model;
static prop_frame *g_frame;
static char g_csv[1024], g_model_path[1024];

static prop_recipe *small_recipe(void) {
  prop_recipe *r = NULL;
  int rc = prop_recipe_load(PROP_SOURCE_DIR "/tests/recipes/small.json", &r);
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  assert_int_equal(rc, 0);
  return r;
}

static void read_demo(const char *path, prop_frame **f) { *f = tu_read_demo(path); }

static void train_opts(prop_train_options *o) { tu_demo_train_options(o, 2); }

static int setup_model(void **state) {
  (void)state;
  snprintf(g_csv, sizeof g_csv, "%s", tu_path("demo.csv"));
  snprintf(g_model_path, sizeof g_model_path, "%s", tu_path("model.bin"));
  prop_demo_options d;
  prop_demo_options_default(&d);
  d.customers_per_month = 700;
  d.months = 3;
  d.seed = 11;
  if (prop_demo_write_csv(g_csv, &d) != 0) return -1;
  read_demo(g_csv, &g_frame);
  prop_recipe *r = small_recipe();
  prop_train_options o;
  train_opts(&o);
  int rc = prop_model_train(g_frame, r, &o, &g_model);
  if (rc) fprintf(stderr, "train: %s\n", prop_last_error());
  prop_recipe_free(r);
  return rc;
}

static int teardown_model(void **state) {
  (void)state;
  prop_model_free(g_model);
  prop_frame_free(g_frame);
  remove(g_csv);
  remove(g_model_path);
  return 0;
}

/* ---- recipe --------------------------------------------------------------------------------- */
static void test_default_recipe_matches_file(void **state) {
  (void)state;
  prop_recipe *a = NULL, *b = NULL;
  assert_int_equal(prop_recipe_default(&a), 0);
  assert_int_equal(prop_recipe_load(PROP_SOURCE_DIR "/models/installment.json", &b), 0);
  char *ja, *jb;
  assert_int_equal(prop_recipe_to_json(a, &ja), 0);
  assert_int_equal(prop_recipe_to_json(b, &jb), 0);
  assert_string_equal(ja, jb);
  free(ja);
  free(jb);
  prop_recipe_free(a);
  prop_recipe_free(b);
}

static void expect_recipe_error(const char *json, const char *needle) {
  prop_recipe *r = (prop_recipe *)0x1;
  tu_expect_rc(prop_recipe_parse(json, "r.json", &r), PROP_ERR_RECIPE, needle);
  assert_null(r);
}

static void test_bad_recipes_name_the_field(void **state) {
  (void)state;
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\"}], \"colour\": 1}", "colour");
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\"}], \"cv_folds\": 1}", "cv_folds");
  expect_recipe_error("{\"members\": [{\"name\": \"boosted\"}]}", "members[0].name");
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\", \"params\": {\"max_depth\": 0}}]}",
                      "members[0].params.max_depth");
  expect_recipe_error("{\"members\": [{\"name\": \"knn\", \"params\": {\"k\": -3}}]}", "members[0].params.k");
  expect_recipe_error("{\"members\": [{\"name\": \"svc\", \"params\": {\"C\": 0}}]}", "members[0].params.C");
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\"}], \"bands\": [0, 0.5, 0.4, 1]}", "bands");
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\"}], \"ensemble\": {\"selection\": \"top_k\", \"k\": 2}}",
                      "ensemble.k");
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\"}], \"ensemble\": {\"voting\": \"average\"}}",
                      "ensemble.voting");
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\"}], \"calibration\": \"magic\"}", "calibration");
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\"}], \"calibration_min_rows\": 0}", "calibration_min_rows");
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\"}], \"calibration_min_rows\": 2.5}", "calibration_min_rows");
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\"}, {\"name\": \"xgboost\"}]}", "appears twice");
  expect_recipe_error("{\"members\": []}", "members");
  expect_recipe_error("{\"members\": [{\"name\": \"xgboost\"}],\n \"seed\": }", "r.json:2:");
}

/* A recipe written by a Windows editor starts with a UTF-8 byte order mark (refused before, while
 * CSV input accepted one); a recipe file is at most 1 MiB, so /dev/zero fails at once. */
static void test_recipe_bom_and_bound(void **state) {
  (void)state;
  static const char js[] = "\xEF\xBB\xBF{\"name\": \"bom\", \"members\": [{\"name\": \"logistic\"}]}";
  prop_recipe *r = NULL;
  assert_int_equal(prop_recipe_parse(js, "bom.json", &r), 0);
  assert_string_equal(r->name, "bom");
  prop_recipe_free(r);
  const char *p = tu_path("bom.json");
  tu_write(p, js);
  r = NULL;
  assert_int_equal(prop_recipe_load(p, &r), 0);
  assert_int_equal(r->nmembers, 1);
  prop_recipe_free(r);
  /* only at the start */
  expect_recipe_error("{\"name\": \"x\",\n\xEF\xBB\xBF \"members\": [{\"name\": \"logistic\"}]}", "r.json:2:");
  r = (prop_recipe *)1;
  tu_expect_rc(prop_recipe_load("/dev/zero", &r), PROP_ERR_IO, "a recipe is at most 1048576 bytes");
  assert_null(r);
}

static void test_recipe_round_trip_through_model_file(void **state) {
  (void)state;
  unsigned char *buf;
  size_t len;
  assert_int_equal(prop_model_save_to_buffer(g_model, &buf, &len), 0);
  prop_model *m2 = NULL;
  assert_int_equal(prop_model_load_from_buffer(buf, len, &m2), 0);
  prop_recipe *r = small_recipe(), *r2 = NULL;
  char *canon;
  assert_int_equal(prop_recipe_to_json(r, &canon), 0);
  assert_int_equal(prop_recipe_parse(m2->recipe_json, "from model", &r2), 0);
  char *canon2;
  assert_int_equal(prop_recipe_to_json(r2, &canon2), 0);
  assert_string_equal(canon, canon2);
  assert_non_null(strstr(canon2, "\"calibration_min_rows\": 100"));
  /* the calibrator's end rule and range travel with the model; the range is that of the out-of-fold scores, so
   * it holds every knot, and beyond it the map is flat */
  assert_int_equal(g_model->calib->iso_ends, PP_ISO_ENDS_RANGE);
  assert_int_equal(m2->calib->iso_ends, PP_ISO_ENDS_RANGE);
  assert_true(m2->calib->iso_lo == g_model->calib->iso_lo && m2->calib->iso_hi == g_model->calib->iso_hi);
  assert_true(g_model->calib->iso_lo <= g_model->calib->iso_x[0] && g_model->calib->iso_hi >= g_model->calib->iso_x[g_model->calib->iso_k - 1]);
  assert_true(g_model->calib->iso_lo < g_model->calib->iso_hi);
  assert_true(pp_calibrator_apply(g_model->calib, g_model->calib->iso_lo - 0.5) == pp_calibrator_apply(g_model->calib, g_model->calib->iso_lo));
  assert_true(pp_calibrator_apply(g_model->calib, g_model->calib->iso_hi + 0.5) == pp_calibrator_apply(g_model->calib, g_model->calib->iso_hi));
  /* Older files and damaged ones, by rewriting CALB (its tail is: u32 rule, f64 lo, f64 hi):
   *   0: no rule at all (format version 1, written before the rule existed): flat ends, scores as it always did;
   *   1: rule LINEAR without a range (written before RANGE): the end segments continue past the knots;
   *   2: an unknown rule; 3: a range with lo > hi; 4: the range cut short -- each refused, naming the section. */
  pp_section *secs;
  size_t ns;
  assert_int_equal(pp_bundle_parse(buf, len, "t", &secs, &ns), 0);
  size_t ci = ns;
  for (size_t i = 0; i < ns; i++)
    if (!memcmp(secs[i].tag, "CALB", 4)) ci = i;
  assert_true(ci < ns);
  const unsigned char *calb = secs[ci].data;
  size_t calb_len = secs[ci].len;
  unsigned char *mod = malloc(calb_len);
  const double far_lo = g_model->calib->iso_x[0] - 1.0, far_hi = g_model->calib->iso_x[g_model->calib->iso_k - 1] + 1.0;
  for (int variant = 0; variant < 5; variant++) {
    memcpy(mod, calb, calb_len);
    secs[ci].data = mod;
    const size_t tail = calb_len - 20; /* where the rule starts */
    secs[ci].len = variant == 0 ? tail : variant == 1 ? tail + 4 : variant == 4 ? calb_len - 8 : calb_len;
    if (variant == 1) mod[tail] = PP_ISO_ENDS_LINEAR;
    if (variant == 2) mod[tail] = 7;
    if (variant == 3) { /* swap lo and hi */
      memcpy(mod + tail + 4, calb + tail + 12, 8);
      memcpy(mod + tail + 12, calb + tail + 4, 8);
    }
    pp_buf ob;
    pp_buf_init(&ob);
    assert_int_equal(pp_bundle_write(&ob, secs, ns), 0);
    if (variant == 0) { /* written as format version 1 did: version 1, both checksums redone */
      assert_true(ob.len > 28 && !memcmp(ob.data + ob.len - 8, "PEND", 4));
      uint32_t one = 1, crc;
      memcpy(ob.data + 8, &one, 4);
      crc = pp_crc32(ob.data, 16);
      memcpy(ob.data + 16, &crc, 4);
      crc = pp_crc32(ob.data, ob.len - 8);
      memcpy(ob.data + ob.len - 4, &crc, 4);
    }
    prop_model *old = NULL;
    int rc = prop_model_load_from_buffer(ob.data, ob.len, &old);
    if (variant == 0) {
      assert_int_equal(rc, 0);
      assert_int_equal(old->calib->iso_ends, PP_ISO_ENDS_FLAT);
      assert_true(pp_calibrator_apply(old->calib, far_lo) == g_model->calib->iso_v[0]);
      assert_true(pp_calibrator_apply(old->calib, far_hi) == g_model->calib->iso_v[g_model->calib->iso_k - 1]);
      prop_model_free(old);
    } else if (variant == 1) {
      assert_int_equal(rc, 0);
      assert_int_equal(old->calib->iso_ends, PP_ISO_ENDS_LINEAR);
      const double a = pp_isotonic_apply(g_model->calib->iso_x, g_model->calib->iso_v, g_model->calib->iso_k, PP_ISO_ENDS_LINEAR, far_lo),
                   c = pp_isotonic_apply(g_model->calib->iso_x, g_model->calib->iso_v, g_model->calib->iso_k, PP_ISO_ENDS_LINEAR, far_hi);
      assert_true(pp_calibrator_apply(old->calib, far_lo) == a && pp_calibrator_apply(old->calib, far_hi) == c);
      assert_true(a < g_model->calib->iso_v[0] || c > g_model->calib->iso_v[g_model->calib->iso_k - 1]); /* it does extrapolate */
      prop_model_free(old);
    } else {
      assert_int_equal(rc, PROP_ERR_CORRUPT);
      assert_non_null(strstr(prop_last_error(), "CALB"));
    }
    pp_buf_free(&ob);
  }
  free(mod);
  free(secs);
  /* and the metadata says what was trained */
  assert_non_null(strstr(prop_model_metadata_json(m2), "\"rows\": 2100"));
  assert_non_null(strstr(prop_model_metadata_json(m2), "\"library_version\": \"" PROP_VERSION_STRING "\""));
  free(canon);
  free(canon2);
  free(buf);
  prop_recipe_free(r);
  prop_recipe_free(r2);
  prop_model_free(m2);
}

/* ---- training result and file round trip --------------------------------------------------- */
static void test_model_shape(void **state) {
  (void)state;
  assert_int_equal(prop_model_n_members(g_model), 3);
  assert_int_equal(prop_model_n_bands(g_model), 7);
  assert_string_equal(prop_model_id_column(g_model), "customer_id");
  assert_string_equal(prop_model_target(g_model), "accepted");
  assert_string_equal(prop_model_positive_label(g_model), "1");
  /* outcome, time and connected columns never become inputs */
  assert_true(prop_model_input_index(g_model, "connected") < 0);
  assert_true(prop_model_input_index(g_model, "month") < 0);
  assert_true(prop_model_input_index(g_model, "accepted") < 0);
  assert_true(prop_model_input_index(g_model, "installment_amount") < 0);
  assert_true(prop_model_input_index(g_model, "age") >= 0);
  long ct = prop_model_input_index(g_model, "card_type");
  assert_true(ct >= 0);
  assert_int_equal(prop_model_input_type(g_model, (size_t)ct), PROP_COL_CATEGORICAL);
  assert_true(prop_model_category_code(g_model, (size_t)ct, "gold") >= 0);
  assert_true(prop_model_category_code(g_model, (size_t)ct, "titanium") == -1.0);
}

static void test_save_load_identical_probabilities(void **state) {
  (void)state;
  size_t n = prop_frame_n_rows(g_frame);
  double *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2);
  int *b1 = malloc(n * sizeof *b1), *b2 = malloc(n * sizeof *b2);
  assert_int_equal(prop_model_predict_frame(g_model, g_frame, p1, b1, NULL, NULL), 0);
  assert_int_equal(prop_model_save(g_model, g_model_path), 0);
  prop_model *m2 = NULL;
  assert_int_equal(prop_model_load(g_model_path, &m2), 0);
  assert_int_equal(prop_model_predict_frame(m2, g_frame, p2, b2, NULL, NULL), 0);
  assert_memory_equal(p1, p2, n * sizeof *p1);
  assert_memory_equal(b1, b2, n * sizeof *b1);
  for (size_t i = 0; i < n; i++) {
    assert_true(p1[i] >= 0.0 && p1[i] <= 1.0);
    assert_true(b1[i] >= 1 && b1[i] <= 7);
    assert_int_equal(b1[i], prop_model_band_of(g_model, p1[i]));
  }
  /* the model ranks: in-sample AUC well above chance */
  int *y = malloc(n * sizeof *y);
  assert_int_equal(prop_frame_binary_values(g_frame, "accepted", NULL, y), 0);
  double auc;
  assert_int_equal(prop_metric_auc(p1, y, n, &auc), 0);
  assert_true(auc > 0.7);
  free(y);
  free(p1);
  free(p2);
  free(b1);
  free(b2);
  prop_model_free(m2);
}

/* Batch (frame), dense and single-customer scoring agree bit for bit. */
/* The model's raw input rows (n x k, schema order) built by hand from the frame: numbers, or
 * category codes. */
static void frame_raw_rows(double *raw) {
  size_t n = prop_frame_n_rows(g_frame), k = prop_model_n_inputs(g_model);
  for (size_t j = 0; j < k; j++) {
    long fj = prop_frame_find(g_frame, prop_model_input_name(g_model, j));
    assert_true(fj >= 0);
    if (prop_model_input_type(g_model, j) == PROP_COL_NUMERIC) {
      double *col = malloc(n * sizeof *col);
      assert_int_equal(prop_frame_numeric_values(g_frame, (size_t)fj, col), 0);
      for (size_t i = 0; i < n; i++) raw[i * k + j] = col[i];
      free(col);
    } else {
      for (size_t i = 0; i < n; i++) {
        const char *s = prop_frame_string_value(g_frame, (size_t)fj, i);
        raw[i * k + j] = s ? prop_model_category_code(g_model, j, s) : NAN;
      }
    }
  }
}

/* One customer through the scorer gives the batch's probability (bit for bit) and band; mp gets the
 * members' probabilities for that row. */
static void expect_single_matches_batch(prop_scorer *s, const double *row, double p_batch, int b_batch, double *mp) {
  double p;
  int b;
  assert_int_equal(prop_scorer_score(s, row, &p, &b), 0);
  assert_memory_equal(&p, &p_batch, sizeof p);
  assert_int_equal(b, b_batch);
  assert_int_equal(prop_scorer_member_probabilities(s, mp), 0);
}

static void test_batch_dense_single_agree(void **state) {
  (void)state;
  size_t n = prop_frame_n_rows(g_frame), k = prop_model_n_inputs(g_model);
  double *pf = malloc(n * sizeof *pf), *pd = malloc(n * sizeof *pd), *raw = malloc(n * k * sizeof *raw);
  int *bf = malloc(n * sizeof *bf);
  assert_int_equal(prop_model_predict_frame(g_model, g_frame, pf, bf, NULL, NULL), 0);
  frame_raw_rows(raw);
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.block_rows = 97; /* odd block size: results must not depend on blocking */
  po.nthread = 2;
  assert_int_equal(prop_model_predict_dense(g_model, raw, PROP_FLOAT64, n, k, k, pd, NULL, NULL, &po), 0);
  assert_memory_equal(pf, pd, n * sizeof *pf);
  /* uncalibrated: the vote before the calibrator, bit for bit the weighted mean of the members' probabilities,
   * which the calibrator then maps to the calibrated probability */
  double *pu = malloc(n * sizeof *pu);
  po.uncalibrated = 1;
  assert_int_equal(prop_model_predict_dense(g_model, raw, PROP_FLOAT64, n, k, k, pu, NULL, NULL, &po), 0);
  size_t nm = prop_model_n_members(g_model);
  double mp[32];
  assert_true(nm >= 1 && nm <= 32);
  prop_scorer *s = NULL;
  assert_int_equal(prop_scorer_create(g_model, &s), 0);
  size_t differ = 0;
  for (size_t i = 0; i < n; i++) {
    expect_single_matches_batch(s, raw + i * k, pf[i], bf[i], mp);
    double v = pp_vote_apply(g_model->vote, mp);
    assert_memory_equal(&v, &pu[i], sizeof v);
    double c = pp_calibrator_apply(g_model->calib, v);
    assert_memory_equal(&c, &pf[i], sizeof c);
    differ += pu[i] != pf[i];
  }
  assert_true(differ > n / 2); /* the model has a calibrator: the option changes the numbers */
  free(pu);
  /* a bad single row: Inf in a numeric input, an invalid category code */
  double *row = malloc(k * sizeof *row);
  memcpy(row, raw, k * sizeof *row);
  row[prop_model_input_index(g_model, "age")] = INFINITY;
  double p;
  int b;
  assert_int_equal(prop_scorer_score(s, row, &p, &b), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "age"));
  assert_true(isnan(p));
  assert_int_equal(b, 0);
  free(row);
  prop_scorer_free(s);
  prop_scorer_free(NULL);
  free(pf);
  free(pd);
  free(bf);
  free(raw);
}

/* Every batch size and thread count with automatic blocks (block_rows 0: equal blocks, at least two
 * per thread, 64..2048 rows) writes every row once, with the probability and band the whole batch
 * gives that row. */
static void test_batch_sizes_and_threads(void **state) {
  (void)state;
  size_t n = prop_frame_n_rows(g_frame), k = prop_model_n_inputs(g_model);
  double *raw = malloc(n * k * sizeof *raw), *pall = malloc(n * sizeof *pall), *p = malloc(n * sizeof *p);
  int *ball = malloc(n * sizeof *ball), *b = malloc(n * sizeof *b);
  frame_raw_rows(raw);
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = 1;
  po.block_rows = n;
  assert_int_equal(prop_model_predict_dense(g_model, raw, PROP_FLOAT64, n, k, k, pall, ball, NULL, &po), 0);
  const size_t sizes[] = {1, 2, 63, 64, 65, 127, 128, 129, 257, 300, 1025, n - 1, n};
  const int threads[] = {1, 2, 3, 8};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    const size_t m = sizes[si];
    assert_true(m <= n);
    for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++) {
      for (size_t i = 0; i < m; i++) {
        p[i] = -1.0;
        b[i] = -7;
      }
      po.nthread = threads[ti];
      po.block_rows = 0;
      const size_t off = n - m; /* the last m rows */
      assert_int_equal(prop_model_predict_dense(g_model, raw + off * k, PROP_FLOAT64, m, k, k, p, b, NULL, &po), 0);
      assert_memory_equal(p, pall + off, m * sizeof *p);
      assert_memory_equal(b, ball + off, m * sizeof *b);
    }
  }
  free(raw);
  free(pall);
  free(p);
  free(ball);
  free(b);
}

/* A block job whose blocks fail on every thread but the caller's: the failure's message is in that
 * worker's thread-local slot, and pp_batch_run must bring it back to the calling thread (it once
 * returned the status with an empty message). */
typedef struct worker_fail_job {
  pthread_t caller;
  atomic_int worker_ran;
} worker_fail_job;

static int wf_init(void *user, size_t rows, void **tls) {
  (void)user, (void)rows;
  *tls = NULL;
  return 0;
}

static void wf_fini(void *tls) { (void)tls; }

static int wf_run(void *user, void *tls, const float *X, const int *st, size_t row0, size_t nb) {
  (void)tls, (void)X, (void)st;
  worker_fail_job *j = user;
  if (!pthread_equal(pthread_self(), j->caller)) {
    atomic_store(&j->worker_ran, 1);
    return pp_err(PROP_ERR_VALUE, "rows %zu..%zu failed in a worker thread", row0, row0 + nb - 1);
  }
  /* the caller's own blocks wait (up to 2 s) for the other thread to take one */
  const struct timespec ms = {0, 1000000};
  for (int t = 0; t < 2000 && !atomic_load(&j->worker_ran); t++) nanosleep(&ms, NULL);
  return 0;
}

static void test_worker_failure_message(void **state) {
  (void)state;
  const size_t n = 256, k = prop_model_n_inputs(g_model);
  double *raw = malloc(prop_frame_n_rows(g_frame) * k * sizeof *raw);
  frame_raw_rows(raw);
  pp_source src;
  assert_int_equal(pp_dense_source(g_model, raw, PROP_FLOAT64, n, k, k, "test", &src), 0);
  worker_fail_job j = {pthread_self(), 0};
  pp_block_job job = {&j, 16, 1, wf_init, wf_fini, wf_run};
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = 2;
  po.block_rows = 16; /* 16 blocks */
  pp_err_clear();
  int rc = pp_batch_run(g_model, &src, n, &po, &job);
  if (!atomic_load(&j.worker_ran)) {
    printf("# the OpenMP runtime gave one thread: no worker to fail (nothing to check)\n");
    assert_int_equal(rc, 0);
  } else {
    assert_int_equal(rc, PROP_ERR_VALUE);
    assert_non_null(strstr(prop_last_error(), "failed in a worker thread"));
  }
  free(raw);
}

/* ---- frames with problems: unseen categories, missing columns, row errors ------------------ */
static void test_scoring_bad_rows_keeps_them(void **state) {
  (void)state;
  size_t k = prop_model_n_inputs(g_model);
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(3, &f), 0);
  for (size_t j = 0; j < k; j++) {
    const char *name = prop_model_input_name(g_model, j);
    if (prop_model_input_type(g_model, j) == PROP_COL_NUMERIC) {
      double v[3] = {1.0, NAN, 2.0};
      assert_int_equal(prop_frame_add_numeric(f, name, v), 0);
    } else {
      const char *v[3] = {"never-seen", NULL, prop_model_category(g_model, j, 0)};
      assert_int_equal(prop_frame_add_strings(f, name, PROP_COL_CATEGORICAL, v), 0);
    }
  }
  double p[3], pb[3];
  int b[3], st[3];
  /* by default an unseen category is scored through the bucket and counted per input; under the strict
   * policy it is a row error; missing values are scored either way */
  prop_predict_options dflt;
  prop_predict_options_default(&dflt);
  assert_int_equal(dflt.unseen, PROP_UNSEEN_BUCKET);
  size_t *counts = calloc(k, sizeof *counts);
  dflt.unseen_counts = counts;
  assert_int_equal(prop_model_predict_frame(g_model, f, p, b, st, &dflt), 0);
  assert_int_equal(st[0], 0);
  assert_true(p[0] >= 0 && p[0] <= 1 && b[0] >= 1);
  for (size_t j = 0; j < k; j++) assert_int_equal(counts[j], prop_model_input_type(g_model, j) == PROP_COL_CATEGORICAL);
  assert_int_equal(prop_model_predict_frame(g_model, f, p, b, st, &dflt), 0); /* counters add up */
  for (size_t j = 0; j < k; j++) assert_int_equal(counts[j], 2 * (prop_model_input_type(g_model, j) == PROP_COL_CATEGORICAL));
  free(counts);
  prop_predict_options strict;
  prop_predict_options_default(&strict);
  strict.unseen = PROP_UNSEEN_ERROR;
  assert_int_equal(prop_model_predict_frame(g_model, f, p, b, st, &strict), 0);
  assert_int_equal(st[0], PROP_ERR_CATEGORY);
  assert_true(isnan(p[0]) && b[0] == 0);
  for (int i = 1; i < 3; i++) {
    assert_int_equal(st[i], 0);
    assert_true(p[i] >= 0 && p[i] <= 1);
  }
  /* with the bucket policy it is scored, and the other rows do not change */
  prop_predict_options po;
  prop_predict_options_default(&po);
  assert_int_equal(prop_model_predict_frame(g_model, f, pb, b, st, &po), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(st[i], 0);
    assert_true(pb[i] >= 0 && pb[i] <= 1);
  }
  assert_memory_equal(p + 1, pb + 1, 2 * sizeof *p);
  po.unseen = 7;
  assert_int_equal(prop_model_predict_frame(g_model, f, pb, b, st, &po), PROP_ERR_ARG);
  /* the single-row scorer follows its own policy: the bucket by default, strict when asked */
  double row[64], one;
  int band1;
  assert_true(k <= 64);
  for (size_t j = 0; j < k; j++)
    row[j] = prop_model_input_type(g_model, j) == PROP_COL_NUMERIC ? 1.0
                                                                    : prop_model_category_code(g_model, j, "never-seen");
  prop_scorer *sc = NULL;
  assert_int_equal(prop_scorer_create(g_model, &sc), 0);
  assert_int_equal(prop_scorer_score(sc, row, &one, &band1), 0);
  assert_memory_equal(&one, &pb[0], sizeof one);
  assert_int_equal(prop_scorer_set_unseen(sc, PROP_UNSEEN_ERROR), 0);
  assert_int_equal(prop_scorer_score(sc, row, &one, &band1), PROP_ERR_CATEGORY);
  assert_non_null(strstr(prop_last_error(), "unseen in training"));
  assert_true(isnan(one) && band1 == 0);
  assert_int_equal(prop_scorer_set_unseen(sc, 5), PROP_ERR_ARG);
  prop_scorer_free(sc);
  prop_frame_free(f);
  /* a frame without one of the inputs is refused, naming the column */
  assert_int_equal(prop_frame_create(2, &f), 0);
  double v[2] = {30, 40};
  assert_int_equal(prop_frame_add_numeric(f, "age", v), 0);
  assert_int_equal(prop_model_predict_frame(g_model, f, p, b, st, NULL), PROP_ERR_SCHEMA);
  const char *first_missing = NULL;
  for (size_t j = 0; j < k && !first_missing; j++)
    if (strcmp(prop_model_input_name(g_model, j), "age") != 0) first_missing = prop_model_input_name(g_model, j);
  assert_non_null(strstr(prop_last_error(), first_missing));
  prop_frame_free(f);
}

/* ---- bad model files ------------------------------------------------------------------------ */
static void test_bad_model_files(void **state) {
  (void)state;
  unsigned char *buf;
  size_t len;
  assert_int_equal(prop_model_save_to_buffer(g_model, &buf, &len), 0);
  const char *path = tu_path("bad.bin");
  prop_model *m = NULL;
  /* truncated at several places */
  size_t cuts[] = {3, 10, 24, len / 3, len / 2, len - 5, len - 1};
  for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
    tu_write_bytes(path, buf, cuts[c]);
    int rc = prop_model_load(path, &m);
    assert_int_equal(rc, PROP_ERR_TRUNCATED);
    assert_null(m);
    assert_non_null(strstr(prop_last_error(), path));
  }
  /* a corrupted byte in the middle */
  unsigned char *bad = malloc(len);
  memcpy(bad, buf, len);
  bad[len / 2] ^= 0x5A;
  tu_write_bytes(path, bad, len);
  assert_int_equal(prop_model_load(path, &m), PROP_ERR_CORRUPT);
  /* another program's file */
  static const char zip[] = "PK\x03\x04 this is a zip file, not a model";
  tu_write_bytes(path, (const unsigned char *)zip, sizeof zip - 1);
  assert_int_equal(prop_model_load(path, &m), PROP_ERR_FORMAT);
  /* a newer format version (the version follows the 8-byte magic) */
  memcpy(bad, buf, len);
  bad[8] = 99;
  tu_write_bytes(path, bad, len);
  assert_int_equal(prop_model_load(path, &m), PROP_ERR_VERSION);
  /* a missing file */
  assert_int_equal(prop_model_load(tu_path("does-not-exist.bin"), &m), PROP_ERR_IO);
  assert_null(m);
  free(bad);
  free(buf);
  remove(path);
}

/* ---- voting and calibration ------------------------------------------------------------------ */
/* (the arithmetic of the vote: test_ensemble) */
static void test_vote_weights_fit(void **state) {
  (void)state;
  /* member 0 is informative, member 1 is noise: the fitted weight goes to member 0 */
  size_t n = 2000;
  double *P = malloc(n * 2 * sizeof *P);
  int *y = malloc(n * sizeof *y);
  uint64_t st = 3;
  for (size_t i = 0; i < n; i++) {
    y[i] = tu_uniform(&st) < 0.3;
    P[2 * i] = y[i] ? 0.55 + 0.4 * tu_uniform(&st) : 0.05 + 0.4 * tu_uniform(&st);
    P[2 * i + 1] = tu_uniform(&st);
  }
  double w[2];
  assert_int_equal(pp_fit_vote_weights(P, y, n, 2, w), 0);
  tu_assert_close(w[0] + w[1], 1.0, 1e-9);
  assert_true(w[0] >= 0 && w[1] >= 0);
  assert_true(w[0] > 0.9);
  free(P);
  free(y);
}

/* A model with the logit vote: the recipe field and the vote travel through the model file, batch and
 * single-customer scoring agree bit for bit, and the uncalibrated score is the logistic function of the
 * weighted mean of the members' log-odds, computed here by hand. */
static void test_logit_vote_model(void **state) {
  (void)state;
  prop_recipe *r = small_recipe(), *rl = NULL;
  char *js;
  assert_int_equal(prop_recipe_to_json(r, &js), 0);
  const char *soft = "\"voting\": \"soft\"";
  char *at = strstr(js, soft);
  assert_non_null(at);
  char *jl = malloc(strlen(js) + 8);
  sprintf(jl, "%.*s\"voting\": \"logit\"%s", (int)(at - js), js, at + strlen(soft));
  assert_int_equal(prop_recipe_parse(jl, "logit.json", &rl), 0);
  char *hard = malloc(strlen(js) + 8);
  sprintf(hard, "%.*s\"voting\": \"hard\"%s", (int)(at - js), js, at + strlen(soft));
  expect_recipe_error(hard, "ensemble.weights");
  prop_train_options o;
  train_opts(&o);
  prop_model *m = NULL, *m2 = NULL;
  assert_int_equal(prop_model_train(g_frame, rl, &o, &m), 0);
  assert_int_equal(m->vote->kind, PP_VOTE_LOGIT);
  double wsum = 0.0;
  for (size_t j = 0; j < m->nmem; j++) {
    assert_true(m->vote->weight[j] > 0.0);
    wsum += m->vote->weight[j];
  }
  tu_assert_close(wsum, 1.0, 1e-12);
  assert_non_null(strstr(m->recipe_json, "\"voting\": \"logit\""));
  unsigned char *buf;
  size_t len;
  assert_int_equal(prop_model_save_to_buffer(m, &buf, &len), 0);
  assert_int_equal(prop_model_load_from_buffer(buf, len, &m2), 0);
  assert_int_equal(m2->vote->kind, PP_VOTE_LOGIT);
  const size_t n = prop_frame_n_rows(g_frame), k = prop_model_n_inputs(m);
  double *pf = malloc(n * sizeof *pf), *pf2 = malloc(n * sizeof *pf2), *pu = malloc(n * sizeof *pu),
         *raw = malloc(n * k * sizeof *raw);
  int *bf = malloc(n * sizeof *bf);
  assert_int_equal(prop_model_predict_frame(m, g_frame, pf, bf, NULL, NULL), 0);
  assert_int_equal(prop_model_predict_frame(m2, g_frame, pf2, NULL, NULL, NULL), 0);
  assert_memory_equal(pf, pf2, n * sizeof *pf);
  frame_raw_rows(raw);
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.uncalibrated = 1;
  assert_int_equal(prop_model_predict_dense(m, raw, PROP_FLOAT64, n, k, k, pu, NULL, NULL, &po), 0);
  prop_scorer *sc = NULL;
  assert_int_equal(prop_scorer_create(m, &sc), 0);
  double mp[32];
  for (size_t i = 0; i < n; i++) {
    expect_single_matches_batch(sc, raw + i * k, pf[i], bf[i], mp);
    double z = 0.0;
    for (size_t j = 0; j < m->nmem; j++) {
      double q = mp[j] < 1e-6 ? 1e-6 : (mp[j] > 1.0 - 1e-6 ? 1.0 - 1e-6 : mp[j]);
      z += m->vote->weight[j] * log(q / (1.0 - q));
    }
    tu_assert_close(pu[i], 1.0 / (1.0 + exp(-z / wsum)), 1e-12);
  }
  prop_scorer_free(sc);
  free(buf);
  free(pf);
  free(pf2);
  free(pu);
  free(raw);
  free(bf);
  free(js);
  free(jl);
  free(hard);
  prop_model_free(m);
  prop_model_free(m2);
  prop_recipe_free(r);
  prop_recipe_free(rl);
}

static void test_calibrators_monotone(void **state) {
  (void)state;
  size_t n = 3000;
  double *s = malloc(n * sizeof *s);
  float *y = malloc(n * sizeof *y);
  uint64_t st = 9;
  for (size_t i = 0; i < n; i++) {
    s[i] = tu_uniform(&st);
    y[i] = tu_uniform(&st) < s[i] * s[i] ? 1.0f : 0.0f; /* true P = s^2: miscalibrated scores */
  }
  double *x, *v;
  size_t k;
  assert_int_equal(pp_isotonic_fit(s, y, NULL, n, 0, &x, &v, &k), 0);
  assert_true(k > 3);
  double prev = -1;
  for (int g = 0; g <= 1000; g++) {
    double q = pp_isotonic_apply(x, v, k, PP_ISO_ENDS_FLAT, g / 1000.0);
    assert_true(q >= prev);
    assert_true(q >= 0 && q <= 1);
    prev = q;
  }
  /* it learns the square: at s = 0.5 the calibrated value is near 0.25 */
  assert_true(fabs(pp_isotonic_apply(x, v, k, PP_ISO_ENDS_FLAT, 0.5) - 0.25) < 0.08);
  free(x);
  free(v);
  double A, B;
  assert_int_equal(pp_platt_fit(s, y, n, &A, &B), 0);
  prev = -1;
  for (int g = 0; g <= 100; g++) {
    double q = pp_platt_apply(A, B, g / 100.0);
    assert_true(q >= prev);
    prev = q;
  }
  free(s);
  free(y);
}

/* The minimum block size and the end rules, on a case worked by hand.  Scores 1..10 with labels
 * 0 0 1 0 1 1 0 1 1 1: PAV gives blocks {1,2} 0, {3,4} 0.5, {5,6,7} 2/3, {8,9,10} 1 (knots at the
 * blocks' mean scores 1.5, 3.5, 6, 9).  With at least 3 rows per block, {1,2} (the lightest, and
 * first) joins its only neighbour: {1..4} 0.25 at knot 2.5. */
static void test_isotonic_min_rows_and_ends(void **state) {
  (void)state;
  const double s[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const float y[10] = {0, 0, 1, 0, 1, 1, 0, 1, 1, 1};
  double *x, *v;
  size_t k;
  double sn[10];
  memcpy(sn, s, sizeof sn);
  sn[6] = NAN; /* a NaN score is refused, naming it (it used to end no tie group: the fit never returned) */
  assert_int_equal(pp_isotonic_fit(sn, y, NULL, 10, 0, &x, &v, &k), PROP_ERR_VALUE);
  assert_null(x);
  assert_non_null(strstr(prop_last_error(), "score 6 is NaN"));
  assert_int_equal(pp_isotonic_fit(s, y, NULL, 10, 0, &x, &v, &k), 0);
  assert_int_equal(k, 4);
  const double x4[4] = {1.5, 3.5, 6, 9}, v4[4] = {0, 0.5, 2.0 / 3.0, 1};
  for (size_t i = 0; i < 4; i++) {
    tu_assert_close(x[i], x4[i], 1e-15);
    tu_assert_close(v[i], v4[i], 1e-15);
  }
  free(x);
  free(v);
  assert_int_equal(pp_isotonic_fit(s, y, NULL, 10, 3, &x, &v, &k), 0);
  assert_int_equal(k, 3);
  const double x3[3] = {2.5, 6, 9}, v3[3] = {0.25, 2.0 / 3.0, 1};
  for (size_t i = 0; i < 3; i++) {
    tu_assert_close(x[i], x3[i], 1e-15);
    tu_assert_close(v[i], v3[i], 1e-15);
  }
  /* inside the knots both rules interpolate; outside, FLAT holds the end value and LINEAR continues the
   * end segment, clamped to [0, 1] */
  tu_assert_close(pp_isotonic_apply(x, v, k, PP_ISO_ENDS_FLAT, 4.25), 0.25 + (4.25 - 2.5) / 3.5 * (2.0 / 3.0 - 0.25),
                  1e-15);
  tu_assert_close(pp_isotonic_apply(x, v, k, PP_ISO_ENDS_LINEAR, 4.25),
                  pp_isotonic_apply(x, v, k, PP_ISO_ENDS_FLAT, 4.25), 0);
  tu_assert_close(pp_isotonic_apply(x, v, k, PP_ISO_ENDS_FLAT, 1.0), 0.25, 0);
  tu_assert_close(pp_isotonic_apply(x, v, k, PP_ISO_ENDS_LINEAR, 1.0), 0.25 - 1.5 / 3.5 * (2.0 / 3.0 - 0.25), 1e-15);
  tu_assert_close(pp_isotonic_apply(x, v, k, PP_ISO_ENDS_LINEAR, 0.0), 0.0, 0); /* clamped */
  tu_assert_close(pp_isotonic_apply(x, v, k, PP_ISO_ENDS_LINEAR, 9.5), 1.0, 0);  /* clamped */
  tu_assert_close(pp_isotonic_apply(x, v, k, PP_ISO_ENDS_FLAT, 9.5), 1.0, 0);
  assert_true(isnan(pp_isotonic_apply(x, v, k, PP_ISO_ENDS_LINEAR, NAN)));
  /* RANGE with the fitted scores' range [1, 10]: LINEAR inside it, the value at 1 below it (not the clamp
   * at 0 that LINEAR reaches at 0) */
  tu_assert_close(pp_isotonic_apply_range(x, v, k, 1.0, 10.0, 4.25), pp_isotonic_apply(x, v, k, PP_ISO_ENDS_LINEAR, 4.25), 0);
  tu_assert_close(pp_isotonic_apply_range(x, v, k, 1.0, 10.0, 1.0), 0.25 - 1.5 / 3.5 * (2.0 / 3.0 - 0.25), 1e-15);
  tu_assert_close(pp_isotonic_apply_range(x, v, k, 1.0, 10.0, 0.0), 0.25 - 1.5 / 3.5 * (2.0 / 3.0 - 0.25), 1e-15);
  tu_assert_close(pp_isotonic_apply_range(x, v, k, 1.0, 10.0, -5.0), 0.25 - 1.5 / 3.5 * (2.0 / 3.0 - 0.25), 1e-15);
  assert_true(isnan(pp_isotonic_apply_range(x, v, k, 1.0, 10.0, NAN)));
  free(x);
  free(v);
  /* a minimum of 6 rows: {1..4} 0.25 stays (merging stops at two blocks), {5,6,7} joins {8,9,10}, its
   * nearer neighbour in value: 5/6 at knot 7.5 */
  assert_int_equal(pp_isotonic_fit(s, y, NULL, 10, 6, &x, &v, &k), 0);
  assert_int_equal(k, 2);
  tu_assert_close(x[0], 2.5, 1e-15);
  tu_assert_close(v[0], 0.25, 1e-15);
  tu_assert_close(x[1], 7.5, 1e-15);
  tu_assert_close(v[1], 5.0 / 6.0, 1e-15);
  /* RANGE [1, 8] at the top: LINEAR reaches 1.0 at 9.5, RANGE holds the value at 8, 0.25 + 5.5 / 5 * (5/6 - 1/4) */
  tu_assert_close(pp_isotonic_apply(x, v, k, PP_ISO_ENDS_LINEAR, 9.5), 1.0, 0);
  tu_assert_close(pp_isotonic_apply_range(x, v, k, 1.0, 8.0, 9.5), 0.25 + 5.5 / 5.0 * (5.0 / 6.0 - 0.25), 1e-15);
  tu_assert_close(pp_isotonic_apply_range(x, v, k, 1.0, 8.0, 1e300), 0.25 + 5.5 / 5.0 * (5.0 / 6.0 - 0.25), 1e-15);
  free(x);
  free(v);
  /* random data: every block holds >= 100 rows (counted from the knots' positions is not possible, so
   * through the values: with 3,000 rows at most 30 blocks), and LINEAR is strictly increasing away from
   * the clamps, so it keeps the order of the scores */
  const size_t n = 3000;
  double *sr = malloc(n * sizeof *sr);
  float *yr = malloc(n * sizeof *yr);
  uint64_t st = 5;
  for (size_t i = 0; i < n; i++) {
    sr[i] = tu_uniform(&st);
    yr[i] = tu_uniform(&st) < sr[i] * sr[i] ? 1.0f : 0.0f;
  }
  assert_int_equal(pp_isotonic_fit(sr, yr, NULL, n, 100, &x, &v, &k), 0);
  assert_true(k >= 3 && k <= 30);
  double prev = -1;
  for (int g = 0; g <= 1000; g++) {
    double q = pp_isotonic_apply(x, v, k, PP_ISO_ENDS_LINEAR, g / 1000.0);
    assert_true(q >= 0 && q <= 1);
    if (q > 0 && q < 1) assert_true(q > prev);
    else assert_true(q >= prev);
    prev = q;
  }
  free(x);
  free(v);
  free(sr);
  free(yr);
}

/* ---- ranking --------------------------------------------------------------------------------- */
static void test_rank_ties_deterministic(void **state) {
  (void)state;
  double p[6] = {0.5, 0.9, 0.5, NAN, 0.5, 0.1};
  int band[6] = {6, 7, 6, 0, 6, 2};
  const char *ids[6] = {"c", "z", "a", "q", "b", "y"};
  size_t rank[6];
  unsigned char sel[6];
  int dr[6];
  size_t ns;
  assert_int_equal(prop_rank(p, band, NULL, ids, 6, NULL, rank, sel, dr, &ns), 0);
  /* order: z (0.9), then ties at 0.5 by id a, b, c, then y; q unscored */
  assert_int_equal(rank[1], 1);
  assert_int_equal(rank[2], 2);
  assert_int_equal(rank[4], 3);
  assert_int_equal(rank[0], 4);
  assert_int_equal(rank[5], 5);
  assert_int_equal(rank[3], 0);
  assert_int_equal(ns, 5);
  assert_int_equal(sel[3], 0);
  assert_int_equal(dr[3], 0);
  assert_true(dr[1] > dr[2] && dr[2] > dr[4] && dr[4] > dr[0] && dr[0] > dr[5] && dr[5] >= 1);
  assert_true(dr[1] <= PROP_DIALER_RANK_MAX);
  /* capacity 2 selects z and a; the others are ranked after */
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  ro.capacity = 2;
  assert_int_equal(prop_rank(p, band, NULL, ids, 6, &ro, rank, sel, dr, &ns), 0);
  assert_int_equal(ns, 2);
  assert_true(sel[1] && sel[2] && !sel[0] && !sel[4] && !sel[5]);
  assert_int_equal(dr[0], 0);
  /* band quotas: at most one row from band 6 */
  size_t q[7] = {10, 10, 10, 10, 10, 1, 10};
  ro.capacity = 0;
  ro.band_quota = q;
  ro.nbands = 7;
  assert_int_equal(prop_rank(p, band, NULL, ids, 6, &ro, rank, sel, dr, &ns), 0);
  assert_int_equal(ns, 3); /* z, a, y */
  assert_true(sel[1] && sel[2] && sel[5] && !sel[0] && !sel[4]);
  assert_int_equal(rank[5], 3);
  /* by value: expected value p * v reorders */
  double v[6] = {100, 1, 10, 5, 50, 1000};
  prop_rank_options_default(&ro);
  ro.by = PROP_RANK_VALUE;
  assert_int_equal(prop_rank(p, band, v, ids, 6, &ro, rank, sel, dr, &ns), 0);
  assert_int_equal(rank[5], 1); /* 0.1 * 1000 = 100 */
  assert_int_equal(rank[0], 2); /* 0.5 * 100 = 50 */
  assert_int_equal(rank[4], 3); /* 25 */
}

static void test_dialer_rank_large_lists(void **state) {
  (void)state;
  size_t n = 100000;
  double *p = malloc(n * sizeof *p);
  int *band = malloc(n * sizeof *band), *dr = malloc(n * sizeof *dr);
  size_t *rank = malloc(n * sizeof *rank);
  uint64_t st = 5;
  for (size_t i = 0; i < n; i++) {
    p[i] = tu_uniform(&st);
    band[i] = pp_band_of(pp_default_edges, 7, p[i]);
  }
  assert_int_equal(prop_rank(p, band, NULL, NULL, n, NULL, rank, NULL, dr, NULL), 0);
  size_t *order = malloc(n * sizeof *order);
  for (size_t i = 0; i < n; i++) order[rank[i] - 1] = i;
  for (size_t k = 0; k < n; k++) {
    int d = dr[order[k]];
    assert_true(d >= 1 && d <= PROP_DIALER_RANK_MAX);
    if (k) {
      int dprev = dr[order[k - 1]];
      assert_true(d <= dprev); /* call order kept */
      if (band[order[k]] != band[order[k - 1]]) assert_true(d < dprev); /* bands never share a rank */
    }
  }
  free(order);
  free(p);
  free(band);
  free(dr);
  free(rank);
}

/* The ranking of commit df404fc (qsort of 24-byte items, per-row outputs), kept verbatim as the
 * reference: prop_rank and prop_rank_order must reproduce it exactly whenever no key is NaN. */
typedef struct ref_item {
  double key;
  const char *id;
  size_t row;
} ref_item;

static int ref_cmp(const void *a, const void *b) {
  const ref_item *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  if (x->id && y->id) {
    int c = strcmp(x->id, y->id);
    if (c) return c;
  } else if (x->id || y->id) {
    return x->id ? -1 : 1;
  }
  return (x->row > y->row) - (x->row < y->row);
}

static void ref_dialer(const size_t *order_sel, size_t ns, const int *band, int *dialer) {
  if (ns == 0) return;
  size_t nruns = 1;
  for (size_t i = 1; i < ns; i++) nruns += band[order_sel[i]] != band[order_sel[i - 1]];
  const size_t R = PROP_DIALER_RANK_MAX;
  if (ns <= R) {
    for (size_t i = 0; i < ns; i++) dialer[order_sel[i]] = (int)(R - i);
    return;
  }
  if (nruns > R) {
    for (size_t i = 0; i < ns; i++) dialer[order_sel[i]] = (int)(R - (i * R) / ns);
    return;
  }
  size_t spare = R - nruns, top = R, i = 0;
  while (i < ns) {
    size_t j = i + 1;
    while (j < ns && band[order_sel[j]] == band[order_sel[i]]) j++;
    size_t len = j - i;
    size_t vals = 1 + (size_t)((double)spare * (double)len / (double)ns);
    if (vals > top) vals = top;
    for (size_t k = 0; k < len; k++) dialer[order_sel[i + k]] = (int)(top - (k * vals) / len);
    top -= vals;
    if (top == 0) top = 1;
    i = j;
  }
}

static void ref_rank(const double *prob, const int *band, const double *value, const char *const *ids, size_t n,
                     const prop_rank_options *opt, size_t *rank, unsigned char *selected, int *dialer_rank,
                     size_t *n_selected) {
  ref_item *items = malloc((n ? n : 1) * sizeof *items);
  size_t *sel_order = malloc((n ? n : 1) * sizeof *sel_order);
  size_t *quota_used = calloc(opt->nbands + 1, sizeof *quota_used);
  unsigned char *is_sel = calloc(n ? n : 1, 1);
  int *bands0 = calloc(n ? n : 1, sizeof *bands0);
  assert_non_null(items);
  assert_non_null(sel_order);
  assert_non_null(quota_used);
  assert_non_null(is_sel);
  assert_non_null(bands0);
  size_t ns = 0;
  for (size_t i = 0; i < n; i++) {
    if (prob[i] != prob[i]) continue;
    double key = prob[i];
    if (opt->by == PROP_RANK_VALUE) key = prob[i] * (value[i] == value[i] ? value[i] : 0.0);
    items[ns].key = key;
    items[ns].id = ids ? ids[i] : NULL;
    items[ns].row = i;
    ns++;
  }
  qsort(items, ns, sizeof *items, ref_cmp);
  size_t nsel = 0, cap = opt->capacity ? opt->capacity : (size_t)-1;
  for (size_t k = 0; k < ns && nsel < cap; k++) {
    size_t r = items[k].row;
    if (opt->band_quota) {
      int b = band[r];
      if (b < 1 || (size_t)b > opt->nbands || quota_used[b] >= opt->band_quota[b - 1]) continue;
      quota_used[b]++;
    }
    is_sel[r] = 1;
    sel_order[nsel++] = r;
  }
  for (size_t i = 0; i < n; i++) rank[i] = 0;
  size_t pos = 1;
  for (size_t k = 0; k < ns; k++)
    if (is_sel[items[k].row]) rank[items[k].row] = pos++;
  for (size_t k = 0; k < ns; k++)
    if (!is_sel[items[k].row]) rank[items[k].row] = pos++;
  memcpy(selected, is_sel, n);
  for (size_t i = 0; i < n; i++) dialer_rank[i] = 0;
  ref_dialer(sel_order, nsel, band ? band : bands0, dialer_rank);
  *n_selected = nsel;
  free(bands0);
  free(items);
  free(sel_order);
  free(quota_used);
  free(is_sel);
}

/* prop_rank and prop_rank_order against the reference: sizes around the sort's thresholds, many
 * ties in probability and id, NaN probabilities and values, capacities and band quotas. */
static void test_rank_order_matches_reference(void **state) {
  (void)state;
  const size_t sizes[] = {0, 1, 2, 3, 16, 17, 18, 33, 100, 1000, 40000};
  uint64_t st = 11;
  for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
    size_t n = sizes[si];
    size_t m = n ? n : 1;
    double *p = malloc(m * sizeof *p), *v = malloc(m * sizeof *v);
    int *band = malloc(m * sizeof *band);
    uint8_t *band8 = malloc(m);
    char *text = malloc(m * 16);
    size_t *off = malloc(m * sizeof *off), *rank = malloc(m * sizeof *rank), *rrank = malloc(m * sizeof *rrank);
    size_t *order = malloc(m * sizeof *order);
    const char **ids = malloc(m * sizeof *ids);
    unsigned char *sel = malloc(m), *rsel = malloc(m);
    int *dr = malloc(m * sizeof *dr), *rdr = malloc(m * sizeof *rdr), *dpos = malloc(m * sizeof *dpos);
    assert_true(p && v && band && band8 && text && off && rank && rrank && order && ids && sel && rsel && dr && rdr &&
                dpos);
    for (int variant = 0; variant < 6; variant++) {
      size_t len = 0;
      for (size_t i = 0; i < n; i++) {
        /* few distinct probabilities in some variants: long runs of ties broken by id, then row */
        double u = tu_uniform(&st);
        p[i] = variant % 2 ? floor(u * 20.0) / 20.0 : u;
        if (tu_uniform(&st) < 0.05) p[i] = NAN;
        band[i] = pp_band_of(pp_default_edges, 7, p[i]);
        band8[i] = (uint8_t)band[i];
        v[i] = tu_uniform(&st) < 0.1 ? NAN : floor(tu_uniform(&st) * 5.0) * 100.0;
        off[i] = len;
        len += (size_t)snprintf(text + len, 16, "c%llu", (unsigned long long)(tu_rand(&st) % (n / 4 + 2))) + 1;
      }
      for (size_t i = 0; i < n; i++) ids[i] = text + off[i];
      size_t quota[7] = {5, 0, 30, 100, 7, n / 3, 3};
      prop_rank_options ro;
      prop_rank_options_default(&ro);
      ro.by = variant >= 4 ? PROP_RANK_VALUE : PROP_RANK_PROBABILITY;
      ro.capacity = variant == 2 ? n / 2 : variant == 5 ? n / 10 + 1 : 0;
      if (variant == 3 || variant == 5) {
        ro.band_quota = quota;
        ro.nbands = 7;
      }
      for (int with_ids = 0; with_ids < 2; with_ids++) {
        const char *const *pid = with_ids ? ids : NULL;
        size_t rns = 0, ns = 0, nr = 0, ns2 = 0;
        ref_rank(p, band, v, pid, n, &ro, rrank, rsel, rdr, &rns);
        assert_int_equal(prop_rank(p, band, v, pid, n, &ro, rank, sel, dr, &ns), 0);
        assert_int_equal(ns, rns);
        for (size_t i = 0; i < n; i++) {
          assert_int_equal(rank[i], rrank[i]);
          assert_int_equal(sel[i], rsel[i]);
          assert_int_equal(dr[i], rdr[i]);
        }
        assert_int_equal(prop_rank_order(p, band8, v, with_ids ? text : NULL, with_ids ? off : NULL, n, &ro, order,
                                         dpos, &nr, &ns2),
                         0);
        assert_int_equal(ns2, rns);
        size_t unscored = 0;
        for (size_t k = 0; k < n; k++) {
          size_t i = order[k];
          assert_true(i < n);
          assert_int_equal(k < nr ? k + 1 : 0, rrank[i]);
          assert_int_equal(k < ns2, rsel[i]);
          assert_int_equal(dpos[k], rdr[i]);
          if (k >= nr) { /* unscored rows in input order */
            assert_true(p[i] != p[i]);
            if (unscored) assert_true(i > order[k - 1]);
            unscored++;
          }
        }
        assert_int_equal(nr + unscored, n);
      }
    }
    free(p);
    free(v);
    free(band);
    free(band8);
    free(text);
    free(off);
    free(rank);
    free(rrank);
    free(order);
    free(ids);
    free(sel);
    free(rsel);
    free(dr);
    free(rdr);
    free(dpos);
  }
}

/* Keys that make NaN (probability 0 times an infinite value) are ranked after every other key, and
 * argument errors are reported, not crashed on. */
static void test_rank_order_edges(void **state) {
  (void)state;
  double p[4] = {0.0, 0.5, 0.0, 0.2};
  double v[4] = {INFINITY, 2.0, 1.0, -INFINITY};
  uint8_t band[4] = {1, 3, 1, 2};
  const char text[] = "a\0b\0c\0d";
  size_t off[4] = {0, 2, 4, 6}, order[4], nr, ns;
  int dr[4];
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  ro.by = PROP_RANK_VALUE;
  assert_int_equal(prop_rank_order(p, band, v, text, off, 4, &ro, order, dr, &nr, &ns), 0);
  /* keys: NaN, 1, 0, -inf */
  assert_int_equal(order[0], 1);
  assert_int_equal(order[1], 2);
  assert_int_equal(order[2], 3);
  assert_int_equal(order[3], 0);
  assert_int_equal(nr, 4);
  assert_int_equal(ns, 4);
  assert_int_equal(prop_rank_order(p, band, NULL, text, off, 4, &ro, order, dr, &nr, &ns), PROP_ERR_ARG);
  ro.by = PROP_RANK_PROBABILITY;
  assert_int_equal(prop_rank_order(p, band, NULL, text, off, 4, &ro, NULL, dr, &nr, &ns), PROP_ERR_ARG);
  assert_int_equal(prop_rank_order(p, band, NULL, text, NULL, 4, &ro, order, dr, &nr, &ns), PROP_ERR_ARG);
  size_t q[3] = {1, 1, 1};
  ro.band_quota = q;
  ro.nbands = 3;
  assert_int_equal(prop_rank_order(p, NULL, NULL, text, off, 4, &ro, order, dr, &nr, &ns), PROP_ERR_ARG);
  assert_int_equal(prop_rank_order(p, band, NULL, NULL, NULL, 4, &ro, order, NULL, NULL, &ns), 0);
  assert_int_equal(ns, 3); /* one row of each band: 0.5 (3), 0.2 (2), the first 0.0 (1) */
  assert_int_equal(order[0], 1);
  assert_int_equal(order[1], 3);
  assert_int_equal(order[2], 0);
  assert_int_equal(order[3], 2);
  assert_int_equal(prop_rank_order(NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, &nr, &ns), 0);
  assert_int_equal(nr, 0);
  assert_int_equal(ns, 0);
}

/* ---- threads: one model, many scoring threads -------------------------------------------- */
typedef struct thr {
  const prop_model *m;
  const prop_frame *f;
  double *p;
  int rc;
} thr;

static void *score_thread(void *arg) {
  thr *t = arg;
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = 1;
  for (int rep = 0; rep < 3 && !t->rc; rep++) t->rc = prop_model_predict_frame(t->m, t->f, t->p, NULL, NULL, &po);
  return NULL;
}

static void test_threads_share_one_model(void **state) {
  (void)state;
  size_t n = prop_frame_n_rows(g_frame);
  double *ref = malloc(n * sizeof *ref);
  assert_int_equal(prop_model_predict_frame(g_model, g_frame, ref, NULL, NULL, NULL), 0);
  enum { T = 6 };
  pthread_t th[T];
  thr t[T];
  for (int i = 0; i < T; i++) {
    t[i] = (thr){g_model, g_frame, malloc(n * sizeof(double)), 0};
    assert_int_equal(pthread_create(&th[i], NULL, score_thread, &t[i]), 0);
  }
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(t[i].rc, 0);
    assert_memory_equal(t[i].p, ref, n * sizeof *ref);
    free(t[i].p);
  }
  free(ref);
}

/* ---- training errors ------------------------------------------------------------------------ */
static void test_training_errors(void **state) {
  (void)state;
  prop_train_options o;
  train_opts(&o);
  prop_model *m = NULL;
  o.target = "no_such_column";
  assert_int_equal(prop_model_train(g_frame, NULL, &o, &m), PROP_ERR_SCHEMA);
  assert_non_null(strstr(prop_last_error(), "no_such_column"));
  assert_null(m);
  /* one class only */
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(50, &f), 0);
  double x[50];
  const char *yv[50];
  for (int i = 0; i < 50; i++) {
    x[i] = i;
    yv[i] = "0";
  }
  assert_int_equal(prop_frame_add_numeric(f, "x", x), 0);
  assert_int_equal(prop_frame_add_strings(f, "y", PROP_COL_TARGET, yv), 0);
  prop_train_options_default(&o);
  o.target = "y";
  assert_int_equal(prop_model_train(f, NULL, &o, &m), PROP_ERR_TRAIN);
  assert_null(m);
  /* a positive label that does not occur */
  o.positive = "yes";
  assert_int_equal(prop_model_train(f, NULL, &o, &m), PROP_ERR_CATEGORY);
  prop_frame_free(f);

  /* one rule for labels: a target holds two.  Three labels are refused by training (it once read
   * every label but the positive as negative), by compare and by prop_frame_binary_values, naming the
   * first row of the third label and the row of the negative one */
  const char *three[50];
  for (int i = 0; i < 50; i++) three[i] = i % 5 == 0 ? "accepted" : i == 37 ? "no_answer" : "declined";
  assert_int_equal(prop_frame_create(50, &f), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x", x), 0);
  assert_int_equal(prop_frame_add_strings(f, "status", PROP_COL_TARGET, three), 0);
  prop_train_options_default(&o);
  o.target = "status";
  o.positive = "accepted";
  const char *want = "<frame>:38:status: label 'no_answer' is a third label besides the positive 'accepted' and "
                     "'declined' (row 2): a target holds two labels";
  tu_expect_rc(prop_model_train(f, NULL, &o, &m), PROP_ERR_CATEGORY, want);
  assert_null(m);
  prop_compare_options co;
  prop_compare_options_default(&co);
  co.train = &o;
  char *json = NULL;
  tu_expect_rc(prop_compare(f, NULL, &co, &json), PROP_ERR_CATEGORY, want);
  assert_null(json);
  int y[50];
  tu_expect_rc(prop_frame_binary_values(f, "status", "accepted", y), PROP_ERR_CATEGORY, want);
  /* mapped to two labels first, it trains; the model keeps the negative label */
  three[37] = "declined";
  prop_frame_free(f);
  assert_int_equal(prop_frame_create(50, &f), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x", x), 0);
  assert_int_equal(prop_frame_add_strings(f, "status", PROP_COL_TARGET, three), 0);
  prop_recipe *r = small_recipe();
  assert_int_equal(prop_model_train(f, r, &o, &m), 0);
  assert_string_equal(prop_model_negative_label(m), "declined");
  prop_model_free(m);
  prop_recipe_free(r);
  prop_frame_free(f);
}

/* The contracts a C caller relies on (found missing by an audit of the header, 2026-12-06). */
static void test_api_contracts(void **state) {
  (void)state;
  const prop_model *m = g_model;
  /* a successful call leaves the thread's last error as it was */
  prop_frame *nf = NULL;
  assert_int_equal(prop_frame_read_csv(tu_path("no-such-file.csv"), NULL, &nf), PROP_ERR_IO);
  char before[512];
  snprintf(before, sizeof before, "%s", prop_last_error());
  prop_recipe *r = small_recipe();
  prop_train_options o;
  train_opts(&o);
  prop_model *m2 = NULL;
  assert_int_equal(prop_model_train(g_frame, r, &o, &m2), 0);
  assert_int_equal(prop_last_error_code(), PROP_ERR_IO);
  assert_string_equal(prop_last_error(), before);
  prop_model_free(m2);
  m2 = NULL;
  /* a misspelt ignored column is an error, not an input kept by mistake */
  const char *typo[] = {"installment_amont"};
  o.ignore = typo;
  o.n_ignore = 1;
  tu_expect_rc(prop_model_train(g_frame, r, &o, &m2), PROP_ERR_SCHEMA, "ignored column 'installment_amont' is not in the data");
  /* the reader left installment_amount out (declared PROP_COL_IGNORE): naming it is fine */
  const char *dropped[] = {"installment_amount"};
  o.ignore = dropped;
  assert_int_equal(prop_model_train(g_frame, r, &o, &m2), 0);
  prop_model_free(m2);
  m2 = NULL;
  o.n_ignore = 0;
  /* one column, one role; connected must be 0/1 */
  o.id = "accepted";
  tu_expect_rc(prop_model_train(g_frame, r, &o, &m2), PROP_ERR_SCHEMA, "both the target and the id column");
  o.id = "customer_id";
  o.connected = "past_installments";
  tu_expect_rc(prop_model_train(g_frame, r, &o, &m2), PROP_ERR_CATEGORY, ":past_installments: label");
  assert_null(m2);
  prop_recipe_free(r);

  /* the scorer's member probabilities after a failed call are NaN, not the last customer's */
  prop_scorer *s = NULL;
  assert_int_equal(prop_scorer_create(m, &s), 0);
  size_t k = prop_model_n_inputs(m), nm = prop_model_n_members(m);
  double *row = tu_xmalloc(k * sizeof *row), *mp = tu_xmalloc(nm * sizeof *mp), p;
  int band;
  long cat = -1;
  for (size_t j = 0; j < k; j++) {
    row[j] = prop_model_input_type(m, j) == PROP_COL_CATEGORICAL ? 0.0 : 1.0;
    if (cat < 0 && prop_model_input_type(m, j) == PROP_COL_CATEGORICAL) cat = (long)j;
  }
  assert_true(cat >= 0);
  assert_int_equal(prop_scorer_score(s, row, &p, &band), 0);
  assert_int_equal(prop_scorer_member_probabilities(s, mp), 0);
  for (size_t i = 0; i < nm; i++) assert_true(mp[i] >= 0 && mp[i] <= 1);
  row[cat] = -1.0; /* unseen: scored through the bucket by default, refused under the strict policy */
  assert_int_equal(prop_scorer_score(s, row, &p, &band), 0);
  assert_int_equal(prop_scorer_set_unseen(s, PROP_UNSEEN_ERROR), 0);
  assert_int_equal(prop_scorer_score(s, row, &p, &band), PROP_ERR_CATEGORY);
  assert_int_equal(prop_scorer_member_probabilities(s, mp), 0);
  for (size_t i = 0; i < nm; i++) assert_true(isnan(mp[i]));
  prop_scorer_free(s);
  free(row);
  free(mp);

  /* probabilities outside [0, 1] are refused where they are inputs */
  assert_int_equal(prop_model_band_of(m, 1.5), 0);
  assert_int_equal(prop_model_band_of(m, -0.1), 0);
  assert_int_equal(prop_model_band_of(m, 1.0), (int)prop_model_n_bands(m));
  const double pr[3] = {0.2, INFINITY, NAN};
  const int bd[3] = {2, 7, 0};
  size_t rank[3];
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  tu_expect_rc(prop_rank(pr, bd, NULL, NULL, 3, &ro, rank, NULL, NULL, NULL), PROP_ERR_VALUE, "prob[1] is inf");
  const double pr_ok[3] = {0.2, 0.9, NAN};
  const size_t quota[1] = {5};
  ro.band_quota = quota;
  ro.nbands = 0;
  tu_expect_rc(prop_rank(pr_ok, bd, NULL, NULL, 3, &ro, rank, NULL, NULL, NULL), PROP_ERR_ARG, "nbands from 1 to 64");
  prop_rank_options_default(&ro);
  const int bd_bad[3] = {2, 70, 0};
  tu_expect_rc(prop_rank(pr_ok, bd_bad, NULL, NULL, 3, &ro, rank, NULL, NULL, NULL), PROP_ERR_VALUE, "band[1] is 70");
  assert_int_equal(prop_rank(pr_ok, bd, NULL, NULL, 3, &ro, rank, NULL, NULL, NULL), 0);
  assert_true(rank[1] == 1 && rank[0] == 2 && rank[2] == 0);

  /* zero counts are errors, not silently 1 */
  double imp[64];
  assert_true(prop_model_n_inputs(m) <= 64);
  tu_expect_rc(prop_model_permutation_importance(m, g_frame, 0, 1, imp, NULL), PROP_ERR_ARG, "n_repeats");
  char *json = NULL;
  train_opts(&o);
  tu_expect_rc(prop_backtest(g_frame, NULL, &o, 0, &json), PROP_ERR_ARG, "min_train_months");
  assert_null(json);

  /* absurd thread counts and block sizes are capped, not attempted */
  size_t n = prop_frame_n_rows(g_frame);
  double *p1 = tu_xmalloc(n * sizeof *p1), *p2 = tu_xmalloc(n * sizeof *p2);
  prop_predict_options po;
  prop_predict_options_default(&po);
  assert_int_equal(prop_model_predict_frame(m, g_frame, p1, NULL, NULL, &po), 0);
  po.nthread = 100000;
  po.block_rows = (size_t)1 << 40;
  assert_int_equal(prop_model_predict_frame(m, g_frame, p2, NULL, NULL, &po), 0);
  assert_memory_equal(p1, p2, n * sizeof *p1);
  free(p1);
  free(p2);

  /* the streaming reader: the model's id column is required; declarations are checked */
  prop_reader *rd = NULL;
  const char *noid = tu_path("noid.csv");
  FILE *fp = fopen(noid, "w");
  assert_non_null(fp);
  for (size_t j = 0; j < k; j++) fprintf(fp, "%s%s", j ? "," : "", prop_model_input_name(m, j));
  fprintf(fp, "\n");
  fclose(fp);
  tu_expect_rc(prop_reader_open_for_model(noid, m, NULL, &rd), PROP_ERR_SCHEMA, "the model's id column 'customer_id' is missing");
  assert_null(rd);
  prop_csv_options co;
  prop_csv_options_default(&co);
  co.n_declared = 2;
  tu_expect_rc(prop_reader_open_for_model(g_csv, m, &co, &rd), PROP_ERR_ARG, "n_declared is 2");
  const char *dn[1] = {prop_model_input_name(m, 0)};
  const prop_coltype dt[1] = {PROP_COL_IGNORE};
  co.declared_names = dn;
  co.declared_types = dt;
  co.n_declared = 1;
  tu_expect_rc(prop_reader_open_for_model(g_csv, m, &co, &rd), PROP_ERR_SCHEMA, "is declared ignored but the model reads it");
  assert_null(rd);
  remove(noid);

  /* a row the reader could not read is named once: "short.csv:2: expected ..." (it was "short.csv:2:
   * short.csv:2: ...") */
  const char *shortp = tu_path("short.csv");
  tu_write(shortp, "x,y\n1,0\n2\n3,1\n");
  prop_csv_options_default(&co);
  co.strict = 0;
  prop_frame *sf = NULL;
  assert_int_equal(prop_frame_read_csv(shortp, &co, &sf), 0);
  prop_train_options so;
  prop_train_options_default(&so);
  so.target = "y";
  assert_int_equal(prop_model_train(sf, NULL, &so, &m2), PROP_ERR_CSV);
  char once[1100];
  snprintf(once, sizeof once, "%s:2: expected 2 fields, found 1", shortp);
  assert_string_equal(prop_last_error(), once);
  prop_frame_free(sf);
  remove(shortp);
}

/* ---- back-test ------------------------------------------------------------------------------ */
static void test_backtest(void **state) {
  (void)state;
  prop_recipe *r = small_recipe();
  prop_train_options o;
  train_opts(&o);
  char *json = NULL;
  int rc = prop_backtest(g_frame, r, &o, 1, &json);
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  assert_int_equal(rc, 0);
  assert_non_null(json);
  /* 3 months: months 2 and 3 are scored */
  assert_non_null(strstr(json, "\"month\": 2"));
  assert_non_null(strstr(json, "\"month\": 3"));
  assert_null(strstr(json, "\"month\": 1,"));
  assert_non_null(strstr(json, "capture_top30"));
  free(json);
  /* a row the reader could not read stays unreadable in every month's frames: the back-test refuses it,
   * naming its source row, instead of training on its missing cells */
  const size_t n = prop_frame_n_rows(g_frame), bad = 5;
  size_t *all = malloc(n * sizeof *all);
  assert_non_null(all);
  for (size_t i = 0; i < n; i++) all[i] = i;
  prop_frame *f = NULL, *one = NULL;
  assert_int_equal(pp_frame_subset(g_frame, all, n, &f), 0);
  assert_int_equal(pp_frame_set_row_error(f, bad, PROP_ERR_VALUE, "income: not a number"), 0);
  assert_int_equal(pp_frame_subset(f, &bad, 1, &one), 0);
  assert_string_equal(prop_frame_row_error(one, 0), "income: not a number");
  assert_int_equal(prop_frame_row_number(one, 0), prop_frame_row_number(g_frame, bad));
  json = NULL;
  assert_int_equal(prop_backtest(f, r, &o, 1, &json), PROP_ERR_VALUE);
  assert_null(json);
  char where[96];
  snprintf(where, sizeof where, ":%zu: income: not a number", prop_frame_row_number(g_frame, bad));
  assert_non_null(strstr(prop_last_error(), where));
  prop_frame_free(one);
  prop_frame_free(f);
  /* the same in a row of the last month, which is scored and never trained on */
  const prop_frame *g = g_frame;
  const double *month = NULL;
  for (size_t j = 0; j < g->ncols; j++)
    if (!strcmp(g->cols[j].name, "month")) month = g->cols[j].num;
  assert_non_null(month);
  size_t late = 0;
  for (size_t i = 0; i < n; i++)
    if (month[i] > month[late]) late = i;
  assert_int_equal(pp_frame_subset(g_frame, all, n, &f), 0);
  assert_int_equal(pp_frame_set_row_error(f, late, PROP_ERR_CSV, "age: 'abc' is not a number"), 0);
  assert_int_equal(prop_backtest(f, r, &o, 1, &json), PROP_ERR_CSV);
  assert_null(json);
  snprintf(where, sizeof where, ":%zu: month %g: the row cannot be scored (age: 'abc' is not a number)",
           prop_frame_row_number(g_frame, late), month[late]);
  assert_non_null(strstr(prop_last_error(), where));
  prop_frame_free(f);
  free(all);
  prop_recipe_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_recipe_matches_file),
      cmocka_unit_test(test_bad_recipes_name_the_field),
      cmocka_unit_test(test_recipe_bom_and_bound),
      cmocka_unit_test(test_vote_weights_fit),
      cmocka_unit_test(test_calibrators_monotone),
      cmocka_unit_test(test_isotonic_min_rows_and_ends),
      cmocka_unit_test(test_rank_ties_deterministic),
      cmocka_unit_test(test_dialer_rank_large_lists),
      cmocka_unit_test(test_rank_order_matches_reference),
      cmocka_unit_test(test_rank_order_edges),
      cmocka_unit_test(test_model_shape),
      cmocka_unit_test(test_recipe_round_trip_through_model_file),
      cmocka_unit_test(test_save_load_identical_probabilities),
      cmocka_unit_test(test_batch_dense_single_agree),
      cmocka_unit_test(test_logit_vote_model),
      cmocka_unit_test(test_batch_sizes_and_threads), cmocka_unit_test(test_worker_failure_message),
      cmocka_unit_test(test_scoring_bad_rows_keeps_them),
      cmocka_unit_test(test_bad_model_files),
      cmocka_unit_test(test_threads_share_one_model),
      cmocka_unit_test(test_training_errors),
      cmocka_unit_test(test_api_contracts),
      cmocka_unit_test(test_backtest),
  };
  return cmocka_run_group_tests(tests, setup_model, teardown_model);
}
