/* prop_compare(): the analyst's model comparison.
 *
 * One split of the rows (the last month held out when there is a time column, else a stratified
 * test_frac; or none, when the caller gives the test rows as a frame of their own); the recipe's
 * encoders fitted on the training rows only; then, on the same encoded rows, every member of the
 * recipe fitted alone and the whole pipeline trained by prop_model_train().  Every model is
 * measured on the same test rows: ranking and probability metrics, curves, fit time, batch
 * throughput and single-row latency.  The report is JSON, its schema documented field by field in
 * bench/README.md (schema_version 1).
 *
 * Timings are wall clock (CLOCK_MONOTONIC).  Batch throughput is the median over up to
 * batch_runs predictions of the whole test set; latency is the nearest-rank p50/p99 of
 * latency_runs one-row calls after a short warm-up, cycling through the test rows (members:
 * their predict with scratch preallocated once; the ensemble: prop_scorer_score). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bands/bands.h"
#include "eval/metrics.h"
#include "pipeline/jsonw.h"
#include "pipeline/pipeline.h"

#define SCHEMA_VERSION 1
#define LATENCY_WARMUP 20
#define RELIABILITY_BINS 10
#define GAINS_POINTS 101

void prop_compare_options_default(prop_compare_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  prop_train_options_default(&opt->train);
  opt->test_frac = 0.3;
  opt->seed = 42;
  opt->batch_runs = 5;
  opt->batch_budget_seconds = 3.0;
  opt->latency_runs = 2000;
  opt->max_curve_points = 200;
  opt->backtest = 1;
  opt->min_train_months = 1;
}

static json_t *jpair(pp_jb *b, double x, double y) {
  json_t *a = json_array();
  pp_jpush(b, a, pp_jnum(x));
  pp_jpush(b, a, pp_jnum(y));
  if (!a) b->failed = 1;
  return a;
}

/* ---- the machine ------------------------------------------------------------------------------ */
/* "model name" of the first processor in /proc/cpuinfo (x86; "Model"/"Hardware" elsewhere). */
static void cpu_model(char *out, size_t n) {
  snprintf(out, n, "unknown");
  FILE *fp = fopen("/proc/cpuinfo", "r");
  if (!fp) return;
  char line[512];
  while (fgets(line, sizeof line, fp)) {
    if (strncmp(line, "model name", 10) != 0 && strncmp(line, "Model", 5) != 0 && strncmp(line, "Hardware", 8) != 0)
      continue;
    char *colon = strchr(line, ':');
    if (!colon) continue;
    colon++;
    while (*colon == ' ' || *colon == '\t') colon++;
    size_t len = strcspn(colon, "\r\n");
    if (len == 0) continue;
    snprintf(out, n, "%.*s", (int)len, colon);
    break;
  }
  fclose(fp);
}

static long logical_cpus(void) {
#ifdef _OPENMP
  return (long)omp_get_num_procs();
#else
  long v = sysconf(_SC_NPROCESSORS_ONLN);
  return v > 0 ? v : 1;
#endif
}

/* ---- rows ------------------------------------------------------------------------------------- */
/* The split: is_test[n]; *test_month gets the held-out month's key and period[24] its name (NaN and ""
 * for a stratified split). */
static int split_rows(const prop_frame *f, const prop_compare_options *o, const int *y, unsigned char *is_test,
                      double *test_month, char *period) {
  size_t n = f->nrows;
  *test_month = NAN;
  *period = '\0';
  const char *tcol = o->train.time_col;
  if (!tcol) return pp_split_stratified(y, n, o->test_frac, o->seed, is_test);
  double *key = pp_malloc_array(n ? n : 1, sizeof *key), last = -INFINITY;
  int format = PROP_PERIOD_INTEGER, rc = key ? pp_frame_periods(f, tcol, key, &format) : PROP_ERR_NOMEM;
  for (size_t i = 0; !rc && i < n; i++)
    if (key[i] > last) last = key[i];
  size_t ntest = 0;
  for (size_t i = 0; !rc && i < n; i++) ntest += (is_test[i] = key[i] == last);
  free(key);
  if (rc) return rc;
  pp_period_name(last, format, period, 24);
  if (ntest == n)
    return pp_err(PROP_ERR_TRAIN, "%s: '%s' has one value only (%s); holding out the last month needs two or more",
                  pp_frame_source(f), tcol, period);
  *test_month = last;
  return 0;
}

/* ---- timing ----------------------------------------------------------------------------------- */
typedef struct timing {
  double fit_seconds;
  double rows_per_second;
  size_t predict_runs;
  double p50_us, p99_us;
  size_t latency_runs;
} timing;

/* Nearest-rank percentile of sorted v[n]. */
static double percentile(const double *v, size_t n, double q) {
  if (n == 0) return NAN;
  double r = ceil(q * (double)n);
  size_t k = r < 1 ? 0 : (size_t)r - 1;
  return v[k < n ? k : n - 1];
}

static void latency_summary(double *us, size_t n, timing *t) {
  qsort(us, n, sizeof *us, pp_cmp_double);
  t->p50_us = percentile(us, n, 0.50);
  t->p99_us = percentile(us, n, 0.99);
  t->latency_runs = n;
}

/* rows per second from the run times secs[runs] (median run). */
static void batch_summary(double *secs, size_t runs, size_t rows, timing *t) {
  double med = pp_median_inplace(secs, runs);
  t->rows_per_second = med > 0 ? (double)rows / med : NAN;
  t->predict_runs = runs;
}

static int all_finite(const double *p, size_t n, const char *who) {
  const size_t i = pp_first_non_probability(p, n);
  if (i < n) return pp_err(PROP_ERR_BACKEND, "%s: test row %zu got probability %g (not in [0,1])", who, i, p[i]);
  return 0;
}

/* Batch and single-row timing of one member fitted alone; p[nte] gets its probabilities. */
static int measure_member(const pp_member_ops *ops, const void *model, const float *Xte, size_t nte, size_t d,
                          const prop_compare_options *o, int nthread, double *p, double *secs, double *us,
                          timing *t) {
  size_t runs = 0;
  double spent = 0;
  for (size_t k = 0; k < o->batch_runs; k++) {
    double t0 = pp_now_seconds();
    PP_TRY(ops->predict(model, Xte, nte, p, NULL, nthread));
    secs[runs] = pp_now_seconds() - t0;
    spent += secs[runs++];
    if (spent >= o->batch_budget_seconds) break;
  }
  batch_summary(secs, runs, nte, t);
  PP_TRY(all_finite(p, nte, ops->name));
  size_t bytes = ops->scratch_bytes ? ops->scratch_bytes(model, 1) : 0;
  void *scratch = bytes ? pp_malloc(bytes) : NULL;
  if (bytes && !scratch) return PROP_ERR_NOMEM;
  int rc = 0;
  double one;
  for (size_t k = 0; k < LATENCY_WARMUP + o->latency_runs && !rc; k++) {
    const float *row = Xte + (k % nte) * d;
    double t0 = pp_now_seconds();
    rc = ops->predict(model, row, 1, &one, scratch, 1);
    double dt = pp_now_seconds() - t0;
    if (k >= LATENCY_WARMUP) us[k - LATENCY_WARMUP] = 1e6 * dt;
  }
  free(scratch);
  if (rc) return rc;
  latency_summary(us, o->latency_runs, t);
  return 0;
}

/* The ensemble through the public API: prop_model_predict_frame (batch) and prop_scorer_score. */
static int measure_ensemble(const prop_model *m, const prop_frame *fte, const prop_compare_options *o, int nthread,
                            double *p, double *secs, double *us, timing *t) {
  size_t nte = fte->nrows;
  prop_predict_options po = pp_eval_predict_options(nthread);
  size_t runs = 0;
  double spent = 0;
  for (size_t k = 0; k < o->batch_runs; k++) {
    double t0 = pp_now_seconds();
    PP_TRY(prop_model_predict_frame(m, fte, p, NULL, NULL, &po));
    secs[runs] = pp_now_seconds() - t0;
    spent += secs[runs++];
    if (spent >= o->batch_budget_seconds) break;
  }
  batch_summary(secs, runs, nte, t);
  PP_TRY(all_finite(p, nte, "ensemble"));
  /* the raw input rows, as a real-time caller would hold them */
  size_t nf = m->schema->nfeat;
  pp_binding *bind = NULL;
  PP_TRY(pp_binding_create(m->schema, fte, &bind));
  double *raw = pp_malloc_array(nte, nf * sizeof(double));
  prop_scorer *sc = NULL;
  int rc = raw ? prop_scorer_create(m, &sc) : PROP_ERR_NOMEM;
  if (!rc) rc = prop_scorer_set_unseen(sc, PROP_UNSEEN_BUCKET);
  if (!rc) pp_binding_rows(bind, 0, nte, raw, NULL);
  double one;
  int band;
  for (size_t k = 0; k < LATENCY_WARMUP + o->latency_runs && !rc; k++) {
    const double *row = raw + (k % nte) * nf;
    double t0 = pp_now_seconds();
    rc = prop_scorer_score(sc, row, &one, &band);
    double dt = pp_now_seconds() - t0;
    if (k >= LATENCY_WARMUP) us[k - LATENCY_WARMUP] = 1e6 * dt;
  }
  prop_scorer_free(sc);
  free(raw);
  pp_binding_free(bind);
  if (rc) return rc;
  latency_summary(us, o->latency_runs, t);
  return 0;
}

/* ---- metrics and curves ----------------------------------------------------------------------- */
typedef struct ranked {
  double s;
  size_t i;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
  const ranked *x = a, *z = b;
  if (x->s > z->s) return -1;
  if (x->s < z->s) return 1;
  return (x->i > z->i) - (x->i < z->i);
}

/* ROC points (fpr, tpr) from (0,0) to (1,1), one per distinct score, thinned to at most maxpts
 * (first and last kept, evenly spaced in between). */
static json_t *roc_json(pp_jb *b, const ranked *t, const int *y, size_t n, size_t P, size_t maxpts) {
  json_t *arr = json_array();
  size_t N = n - P;
  if (P == 0 || N == 0) return arr; /* NULL (out of memory) is caught by jset */
  double *fx = pp_malloc_array(n + 1, sizeof *fx), *fy = pp_malloc_array(n + 1, sizeof *fy);
  if (!fx || !fy) {
    b->failed = 1;
    free(fx);
    free(fy);
    return arr;
  }
  size_t k = 0, tp = 0, fp = 0;
  fx[k] = 0;
  fy[k++] = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && t[j].s == t[i].s) {
      if (y[t[j].i]) tp++;
      else fp++;
      j++;
    }
    fx[k] = (double)fp / (double)N;
    fy[k++] = (double)tp / (double)P;
    i = j;
  }
  size_t keep = k < maxpts ? k : maxpts;
  for (size_t q = 0; q < keep; q++) {
    size_t src = keep == 1 ? 0 : (size_t)llround((double)q * (double)(k - 1) / (double)(keep - 1));
    pp_jpush(b, arr, jpair(b, fx[src], fy[src]));
  }
  free(fx);
  free(fy);
  return arr;
}

/* Cumulative gains: (share of rows called, share of positives found), the list in score order
 * (ties by row, as pp_capture), at 0%, 1%, ..., 100% of the rows. */
static json_t *gains_json(pp_jb *b, const ranked *t, const int *y, size_t n, size_t P) {
  json_t *arr = json_array();
  if (P == 0) return arr;
  size_t pts = n + 1 < GAINS_POINTS ? n + 1 : GAINS_POINTS, done = 0, found = 0;
  for (size_t q = 0; q < pts; q++) {
    size_t upto = (size_t)llround((double)q * (double)n / (double)(pts - 1));
    while (done < upto) found += (size_t)(y[t[done++].i] != 0);
    pp_jpush(b, arr, jpair(b, (double)upto / (double)n, (double)found / (double)P));
  }
  return arr;
}

/* Reliability diagram: 10 equal-width bins of predicted probability; the non-empty ones. */
static json_t *reliability_json(pp_jb *b, const double *p, const int *y, size_t n) {
  double ps[RELIABILITY_BINS] = {0}, ys[RELIABILITY_BINS] = {0};
  size_t cnt[RELIABILITY_BINS] = {0};
  for (size_t i = 0; i < n; i++) {
    size_t k = (size_t)(p[i] * RELIABILITY_BINS);
    if (k >= RELIABILITY_BINS) k = RELIABILITY_BINS - 1;
    ps[k] += p[i];
    ys[k] += y[i] != 0;
    cnt[k]++;
  }
  json_t *arr = json_array();
  for (size_t k = 0; k < RELIABILITY_BINS; k++) {
    if (!cnt[k]) continue;
    json_t *o = json_object();
    pp_jset(b, o, "lo", pp_jnum((double)k / RELIABILITY_BINS));
    pp_jset(b, o, "hi", pp_jnum((double)(k + 1) / RELIABILITY_BINS));
    pp_jset(b, o, "count", pp_jsize(cnt[k]));
    pp_jset(b, o, "mean_predicted", pp_jnum(ps[k] / (double)cnt[k]));
    pp_jset(b, o, "fraction_positive", pp_jnum(ys[k] / (double)cnt[k]));
    pp_jset(b, o, "few_rows", json_boolean(cnt[k] < PP_FEW_ROWS));
    pp_jpush(b, arr, o);
  }
  return arr;
}

/* One entry of "models": metrics, timing and curves of probabilities p[n] against y. */
static json_t *model_json(pp_jb *b, const char *name, const char *kind, const double *p, const int *y, size_t n,
                          const timing *t, size_t maxpts) {
  json_t *o = json_object();
  pp_jset(b, o, "name", pp_jstr(name));
  pp_jset(b, o, "kind", pp_jstr(kind));
  pp_jset(b, o, "auc", pp_jnum(pp_auc(p, y, n)));
  pp_jset(b, o, "pr_auc", pp_jnum(pp_pr_auc(p, y, n)));
  pp_jset(b, o, "ks", pp_jnum(pp_ks(p, y, n)));
  pp_jset(b, o, "logloss", pp_jnum(pp_logloss(p, y, n)));
  pp_jset(b, o, "brier", pp_jnum(pp_brier(p, y, n)));
  pp_jset(b, o, "ece", pp_jnum(pp_ece(p, y, n, RELIABILITY_BINS)));
  static const char *const cap_keys[3] = {"capture_10", "capture_20", "capture_30"};
  static const char *const lift_keys[3] = {"lift_10", "lift_20", "lift_30"};
  double cap[3];
  for (int k = 0; k < 3; k++) pp_jset(b, o, cap_keys[k], pp_jnum(cap[k] = pp_capture(p, y, n, 0.1 * (k + 1))));
  for (int k = 0; k < 3; k++) pp_jset(b, o, lift_keys[k], pp_jnum(cap[k] / (0.1 * (k + 1))));
  pp_jset(b, o, "fit_seconds", pp_jnum(t->fit_seconds));
  pp_jset(b, o, "predict_rows_per_second", pp_jnum(t->rows_per_second));
  pp_jset(b, o, "predict_runs", pp_jsize(t->predict_runs));
  pp_jset(b, o, "latency_p50_us", pp_jnum(t->p50_us));
  pp_jset(b, o, "latency_p99_us", pp_jnum(t->p99_us));
  pp_jset(b, o, "latency_runs", pp_jsize(t->latency_runs));
  ranked *r = pp_malloc_array(n ? n : 1, sizeof *r);
  json_t *curves = json_object();
  if (!r) {
    b->failed = 1;
  } else {
    size_t P = 0;
    for (size_t i = 0; i < n; i++) {
      r[i].s = p[i];
      r[i].i = i;
      P += (size_t)(y[i] != 0);
    }
    qsort(r, n, sizeof *r, cmp_ranked);
    pp_jset(b, curves, "roc", roc_json(b, r, y, n, P, maxpts));
    pp_jset(b, curves, "gains", gains_json(b, r, y, n, P));
    pp_jset(b, curves, "reliability", reliability_json(b, p, y, n));
    free(r);
  }
  pp_jset(b, o, "curves", curves);
  return o;
}

/* Importance per input feature, largest first, with its share of the total. */
static json_t *importance_json(pp_jb *b, const prop_model *m, const char **member) {
  json_t *arr = json_array();
  size_t k = m->schema->nfeat;
  double *imp = pp_calloc(k, sizeof *imp);
  size_t *ord = pp_malloc_array(k, sizeof *ord);
  *member = NULL;
  if (!imp || !ord) {
    b->failed = 1;
  } else if (prop_model_importance(m, imp, member) == 0) {
    double tot = 0;
    for (size_t j = 0; j < k; j++) {
      ord[j] = j;
      tot += imp[j];
    }
    for (size_t i = 1; i < k; i++) { /* insertion sort, descending, stable */
      size_t v = ord[i], j = i;
      while (j > 0 && imp[ord[j - 1]] < imp[v]) {
        ord[j] = ord[j - 1];
        j--;
      }
      ord[j] = v;
    }
    for (size_t i = 0; i < k; i++) {
      json_t *o = json_object();
      pp_jset(b, o, "feature", pp_jstr(m->schema->feat[ord[i]].name));
      pp_jset(b, o, "importance", pp_jnum(imp[ord[i]]));
      pp_jset(b, o, "share", pp_jnum(tot > 0 ? imp[ord[i]] / tot : 0.0));
      pp_jpush(b, arr, o);
    }
  } else {
    pp_err_clear(); /* no member reports importance: an empty list, not a failure */
  }
  free(imp);
  free(ord);
  return arr;
}

/* The back-test series: one entry per back-tested month, from prop_backtest()'s report. */
static int months_json(pp_jb *b, const prop_frame *f, const prop_recipe *r, const prop_compare_options *o, json_t *arr) {
  char *text = NULL;
  PP_TRY(prop_backtest(f, r, &o->train, o->min_train_months, &text));
  json_error_t err;
  json_t *root = json_loads(text, 0, &err);
  free(text);
  if (!root) return pp_err(PROP_ERR_NOMEM, "reading the back-test report: %s", err.text);
  size_t i;
  json_t *mo;
  json_array_foreach(json_object_get(root, "months"), i, mo) {
    json_t *e = json_object();
    static const char *const copy[][2] = {{"month", "month"},           {"period", "period"},
                                          {"train_rows", "train_rows"},
                                          {"rows", "rows"},             {"positives", "positives"},
                                          {"auc", "auc"},               {"ece", "ece"},
                                          {"capture_top10", "capture_10"}, {"capture_top20", "capture_20"},
                                          {"capture_top30", "capture_30"}, {"members", "members"}};
    for (size_t k = 0; k < sizeof copy / sizeof copy[0]; k++) {
      json_t *v = json_object_get(mo, copy[k][0]);
      pp_jset(b, e, copy[k][1], v ? json_incref(v) : json_null());
    }
    pp_jpush(b, arr, e);
  }
  json_decref(root);
  return 0;
}

/* The ensemble's training reports progress as "ensemble/<stage>" and keeps its "done" to itself,
 * so that a progress bar sees one comparison.  Log lines pass through unchanged. */
typedef struct relay {
  const prop_train_options *to;
} relay;

static void relay_log(void *user, int level, const char *msg) {
  const relay *rl = user;
  if (rl->to->log) rl->to->log(rl->to->user, level, msg);
}

static int relay_progress(void *user, const char *stage, size_t done, size_t total) {
  const relay *rl = user;
  if (!rl->to->progress || strcmp(stage, "done") == 0) return 0;
  char name[96];
  snprintf(name, sizeof name, "ensemble/%s", stage);
  return rl->to->progress(rl->to->user, name, done, total);
}

/* ---- the comparison --------------------------------------------------------------------------- */
int prop_compare(const prop_frame *f, const prop_recipe *recipe, const prop_compare_options *o, char **json) {
  if (!json) return pp_err(PROP_ERR_ARG, "prop_compare: json is NULL");
  *json = NULL;
  if (!f || !o) return pp_err(PROP_ERR_ARG, "prop_compare: frame and options are required");
  if (!o->train.target) return pp_err(PROP_ERR_ARG, "prop_compare: options.train.target is required");
  if (!o->test && !o->train.time_col && !(o->test_frac > 0.0 && o->test_frac < 1.0))
    return pp_err(PROP_ERR_ARG, "prop_compare: options.test_frac must be in (0, 1), got %g", o->test_frac);
  if (o->batch_runs < 1 || o->latency_runs < 1)
    return pp_err(PROP_ERR_ARG, "prop_compare: options.batch_runs and options.latency_runs must be >= 1");
  if (o->max_curve_points < 2 || o->max_curve_points > 10000)
    return pp_err(PROP_ERR_ARG, "prop_compare: options.max_curve_points must be in [2, 10000], got %zu",
                  o->max_curve_points);
  PP_TRY(pp_frame_first_row_error(f)); /* rows the reader could not read */
  PP_TRY(pp_frame_first_row_error(o->test));
  pp_err_state caller_err; /* put back on success */
  pp_err_save(&caller_err);
  const size_t n = f->nrows + (o->test ? o->test->nrows : 0); /* all rows used */

  prop_recipe *own_recipe = NULL;
  if (!recipe) {
    PP_TRY(prop_recipe_default(&own_recipe));
    recipe = own_recipe;
  }
  const prop_recipe *r = recipe;
  pp_ctx ctx;
  pp_ctx_init(&ctx, &o->train, r->seed);
  const size_t M = r->nmembers;
  const size_t steps = M + 1 + (o->backtest && o->train.time_col ? 1 : 0);

  int rc = 0;
  pp_jb b = {0};
  json_t *root = NULL, *models = NULL;
  int *y = NULL, *y_te = NULL, *conn = NULL, *st = NULL;
  char *pos_label = NULL, *neg_label = NULL, *conn_label = NULL;
  unsigned char *is_test = NULL;
  size_t *idx_tr = NULL, *idx_te = NULL;
  prop_frame *own_tr = NULL, *own_te = NULL;
  const prop_frame *ftr = NULL, *fte = NULL; /* the training and test rows: own_* or f and o->test */
  pp_schema *schema = NULL;
  pp_binding *bind_tr = NULL, *bind_te = NULL;
  double *raw_tr = NULL, *raw_te = NULL, *p = NULL, *secs = NULL, *us = NULL;
  double *p_mem = NULL; /* every member's test probabilities, for the paired tests */
  float *Xtr = NULL, *Xte = NULL, *ytr = NULL;
  pp_encoder *enc = NULL;
  prop_model *ens = NULL;
  size_t ntr = 0, nte = 0, npos = 0, npos_te = 0;
  double test_month = NAN;
  char test_period[24] = "";
  char sha[65] = "", test_sha[65] = "";
  uint64_t file_bytes = 0, test_bytes = 0;

  if (o->data_path && (rc = pp_sha256_file(o->data_path, sha, &file_bytes))) goto done;
  if (o->test && o->test_data_path && (rc = pp_sha256_file(o->test_data_path, test_sha, &test_bytes))) goto done;

  /* ---- split ------------------------------------------------------------------------------- */
  if ((rc = pp_frame_binary_column(f, o->train.target, o->train.positive, NULL, &y, &pos_label, &neg_label))) goto done;
  if (o->test) {
    /* an explicit test frame: f trains, test is measured; the labels under the same positive */
    ftr = f;
    fte = o->test;
    ntr = f->nrows;
    nte = fte->nrows;
    if (nte == 0 || ntr == 0) {
      rc = pp_err(PROP_ERR_TRAIN, "%s: %zu training and %zu test rows: both sides need rows", pp_frame_source(f),
                  ntr, nte);
      goto done;
    }
    /* the test rows' labels must be the two of the training rows (when these had one negative) */
    if ((rc = pp_frame_binary_column(fte, o->train.target, o->train.positive, neg_label, &y_te,
                                     &conn_label, NULL)))
      goto done;
    free(conn_label); /* the same label as pos_label */
    conn_label = NULL;
    for (size_t i = 0; i < ntr; i++) npos += (size_t)y[i];
  } else {
    is_test = pp_malloc(n ? n : 1);
    idx_tr = pp_malloc_array(n ? n : 1, sizeof *idx_tr);
    idx_te = pp_malloc_array(n ? n : 1, sizeof *idx_te);
    if (!is_test || !idx_tr || !idx_te) {
      rc = PROP_ERR_NOMEM;
      goto done;
    }
    if ((rc = split_rows(f, o, y, is_test, &test_month, test_period))) goto done;
    for (size_t i = 0; i < n; i++) {
      npos += (size_t)y[i];
      if (is_test[i]) idx_te[nte++] = i;
      else idx_tr[ntr++] = i;
    }
    if (nte == 0 || ntr == 0) {
      rc = pp_err(PROP_ERR_TRAIN, "%s: %zu rows are too few to hold out a test set", pp_frame_source(f), n);
      goto done;
    }
    if ((rc = pp_frame_subset(f, idx_tr, ntr, &own_tr)) || (rc = pp_frame_subset(f, idx_te, nte, &own_te))) goto done;
    ftr = own_tr;
    fte = own_te;
    if (!(y_te = pp_malloc_array(nte, sizeof *y_te))) {
      rc = PROP_ERR_NOMEM;
      goto done;
    }
    for (size_t i = 0; i < nte; i++) y_te[i] = y[idx_te[i]];
  }
  if (!(ytr = pp_malloc_array(ntr, sizeof *ytr))) {
    rc = PROP_ERR_NOMEM;
    goto done;
  }
  for (size_t i = 0; i < nte; i++) npos_te += (size_t)y_te[i];
  npos += npos_te * (o->test != NULL);
  for (size_t i = 0; i < ntr; i++) ytr[i] = (float)(o->test ? y[i] : y[idx_tr[i]]);
  if (o->train.connected &&
      (rc = pp_frame_binary_column(fte, o->train.connected, NULL, NULL, &conn, &conn_label, NULL)))
    goto done;
  pp_log(&ctx, PROP_LOG_INFO, "compare: %zu training rows, %zu test rows (%zu positive)%s", ntr, nte, npos_te,
         o->test ? ", from the test file" : o->train.time_col ? ", the last month held out" : "");

  /* ---- encoders fitted on the training rows only ------------------------------------------- */
  if ((rc = pp_schema_from_frame(ftr, &o->train, &schema))) goto done;
  if (schema->nfeat == 0) {
    rc = pp_err(PROP_ERR_SCHEMA, "%s: no feature columns left after target, id and ignored columns",
                pp_frame_source(f));
    goto done;
  }
  size_t nf = schema->nfeat;
  raw_tr = pp_malloc_array(ntr, nf * sizeof(double));
  raw_te = pp_malloc_array(nte, nf * sizeof(double));
  st = pp_malloc_array(ntr > nte ? ntr : nte, sizeof *st);
  if (!raw_tr || !raw_te || !st) {
    rc = PROP_ERR_NOMEM;
    goto done;
  }
  if ((rc = pp_binding_create(schema, ftr, &bind_tr)) || (rc = pp_binding_create(schema, fte, &bind_te))) goto done;
  for (int part = 0; part < 2; part++) {
    const prop_frame *g = part ? fte : ftr;
    size_t m = g->nrows;
    pp_binding_rows(part ? bind_te : bind_tr, 0, m, part ? raw_te : raw_tr, st);
    for (size_t i = 0; i < m; i++)
      if (st[i]) {
        rc = pp_err(st[i], "%s:%zu: row cannot be used (non-finite value)", pp_frame_source(g),
                    prop_frame_row_number(g, i));
        goto done;
      }
  }
  if ((rc = pp_encoder_fit(schema, raw_tr, ntr, &r->enc, &enc))) goto done;
  size_t d = pp_encoder_width(enc);
  Xtr = pp_malloc_array(ntr, (d ? d : 1) * sizeof(float));
  Xte = pp_malloc_array(nte, (d ? d : 1) * sizeof(float));
  p = pp_malloc_array(nte, sizeof *p);
  p_mem = pp_malloc_array(M ? M : 1, nte * sizeof *p_mem);
  secs = pp_malloc_array(o->batch_runs, sizeof *secs);
  us = pp_malloc_array(o->latency_runs, sizeof *us);
  if (!Xtr || !Xte || !p || !p_mem || !secs || !us) {
    rc = PROP_ERR_NOMEM;
    goto done;
  }
  pp_encoder_transform(enc, raw_tr, ntr, nf, Xtr);
  pp_encoder_transform(enc, raw_te, nte, nf, Xte);

  root = json_object();
  models = json_array();
  if (!root || !models) {
    rc = PROP_ERR_NOMEM;
    goto done;
  }

  /* ---- every member alone ------------------------------------------------------------------ */
  for (size_t j = 0; j < M; j++) {
    const pp_member_spec *spec = &r->members[j];
    char stage[64];
    snprintf(stage, sizeof stage, "compare:%s", spec->ops->name);
    if ((rc = pp_progress(&ctx, stage, j, steps))) goto done;
    timing t;
    memset(&t, 0, sizeof t);
    void *model = NULL;
    double t0 = pp_now_seconds();
    rc = pp_fit_member(spec, r, Xtr, ytr, ntr, d, pp_encoder_colnames(enc), &ctx, pp_seed_derive(r->seed, j), &model);
    t.fit_seconds = pp_now_seconds() - t0;
    if (!rc) rc = measure_member(spec->ops, model, Xte, nte, d, o, ctx.nthread, p, secs, us, &t);
    if (model) spec->ops->free_model(model);
    if (rc) {
      pp_err_prefix(rc, "compare, member %s: ", spec->ops->name);
      goto done;
    }
    pp_jpush(&b, models, model_json(&b, spec->ops->name, "member", p, y_te, nte, &t, o->max_curve_points));
    memcpy(p_mem + j * nte, p, nte * sizeof *p);
    pp_log(&ctx, PROP_LOG_INFO, "compare: %-14s AUC %.4f  fit %.2f s  %.0f rows/s  p50 %.1f us", spec->ops->name,
           pp_auc(p, y_te, nte), t.fit_seconds, t.rows_per_second, t.p50_us);
  }

  /* ---- the ensemble: the whole pipeline on the training rows -------------------------------- */
  if ((rc = pp_progress(&ctx, "compare:ensemble", M, steps))) goto done;
  {
    timing t;
    memset(&t, 0, sizeof t);
    relay rl = {&o->train};
    prop_train_options to = o->train;
    to.log = relay_log;
    to.progress = relay_progress;
    to.user = &rl;
    double t0 = pp_now_seconds();
    rc = prop_model_train(ftr, r, &to, &ens);
    t.fit_seconds = pp_now_seconds() - t0;
    if (rc) {
      pp_err_prefix(rc, "compare, ensemble: ");
      goto done;
    }
    if ((rc = measure_ensemble(ens, fte, o, ctx.nthread, p, secs, us, &t))) {
      pp_err_prefix(rc, "compare, ensemble: ");
      goto done;
    }
    json_t *e = model_json(&b, "ensemble", "ensemble", p, y_te, nte, &t, o->max_curve_points);
    /* the same model's vote before its calibrator: what the calibration changed (p keeps the calibrated
     * probabilities: the band table below is cut from them) */
    prop_predict_options po = pp_eval_predict_options(ctx.nthread);
    po.uncalibrated = 1;
    double *vote = pp_malloc_array(nte, sizeof *vote);
    rc = vote ? prop_model_predict_frame(ens, fte, vote, NULL, NULL, &po) : PROP_ERR_NOMEM;
    if (!rc) rc = all_finite(vote, nte, "ensemble vote");
    if (rc) {
      free(vote);
      json_decref(e);
      pp_err_prefix(rc, "compare, ensemble: ");
      goto done;
    }
    pp_jset(&b, e, "auc_uncalibrated", pp_jnum(pp_auc(vote, y_te, nte)));
    pp_jset(&b, e, "ece_uncalibrated", pp_jnum(pp_ece(vote, y_te, nte, RELIABILITY_BINS)));
    free(vote);
    json_t *mem = json_array();
    for (size_t s = 0; s < ens->nmem; s++) {
      json_t *mo = json_object();
      pp_jset(&b, mo, "name", pp_jstr(ens->mem[s].ops->name));
      pp_jset(&b, mo, "weight", pp_jnum(ens->mem[s].weight));
      pp_jpush(&b, mem, mo);
    }
    pp_jset(&b, e, "members", mem);
    pp_jpush(&b, models, e);
    pp_log(&ctx, PROP_LOG_INFO, "compare: %-14s AUC %.4f  fit %.2f s  %.0f rows/s  p50 %.1f us", "ensemble",
           pp_auc(p, y_te, nte), t.fit_seconds, t.rows_per_second, t.p50_us);
  }

  /* ---- the report --------------------------------------------------------------------------- */
  {
    char when[32], cpu[256];
    pp_utc_now_iso8601(when, sizeof when);
    cpu_model(cpu, sizeof cpu);
    pp_jset(&b, root, "schema_version", json_integer(SCHEMA_VERSION));
    pp_jset(&b, root, "tool", pp_jstr("propensity compare"));
    pp_jset(&b, root, "library_version", pp_jstr(PROP_VERSION_STRING));
    pp_jset(&b, root, "created_at", pp_jstr(when));
    pp_jset(&b, root, "seed", json_integer((json_int_t)o->seed));
    json_t *mach = json_object();
    pp_jset(&b, mach, "cpu_model", pp_jstr(cpu));
    pp_jset(&b, mach, "cores", json_integer(logical_cpus()));
    pp_jset(&b, mach, "threads_used", json_integer(ctx.nthread));
    pp_jset(&b, root, "machine", mach);

    json_t *ds = json_object();
    pp_jset(&b, ds, "path", pp_jstr(o->data_path));
    pp_jset(&b, ds, "sha256", o->data_path ? pp_jstr(sha) : json_null());
    pp_jset(&b, ds, "bytes", o->data_path ? json_integer((json_int_t)file_bytes) : json_null());
    pp_jset(&b, ds, "target", pp_jstr(o->train.target));
    pp_jset(&b, ds, "positive_label", pp_jstr(pos_label));
    pp_jset(&b, ds, "rows", pp_jsize(n));
    pp_jset(&b, ds, "train_rows", pp_jsize(ntr));
    pp_jset(&b, ds, "test_rows", pp_jsize(nte));
    pp_jset(&b, ds, "positives", pp_jsize(npos));
    pp_jset(&b, ds, "test_positives", pp_jsize(npos_te));
    pp_jset(&b, ds, "features", pp_jsize(nf));
    pp_jset(&b, ds, "encoded_columns", pp_jsize(d));
    json_t *sp = json_object();
    int stratified = !o->test && !o->train.time_col;
    pp_jset(&b, sp, "method", pp_jstr(o->test ? "test_data" : o->train.time_col ? "last_month" : "stratified"));
    pp_jset(&b, sp, "time_column", pp_jstr(o->train.time_col));
    pp_jset(&b, sp, "test_month", pp_jnum(test_month));
    pp_jset(&b, sp, "test_period", *test_period ? pp_jstr(test_period) : json_null());
    pp_jset(&b, sp, "test_frac", stratified ? pp_jnum(o->test_frac) : json_null());
    pp_jset(&b, sp, "seed", stratified ? json_integer((json_int_t)o->seed) : json_null());
    pp_jset(&b, sp, "test_path", pp_jstr(o->test ? o->test_data_path : NULL));
    pp_jset(&b, sp, "test_sha256", o->test && o->test_data_path ? pp_jstr(test_sha) : json_null());
    pp_jset(&b, sp, "test_bytes", o->test && o->test_data_path ? json_integer((json_int_t)test_bytes) : json_null());
    pp_jset(&b, ds, "split", sp);
    pp_jset(&b, root, "dataset", ds);

    json_t *tm = json_object();
    pp_jset(&b, tm, "clock", pp_jstr("wall clock (CLOCK_MONOTONIC)"));
    pp_jset(&b, tm, "batch_statistic", pp_jstr("median"));
    pp_jset(&b, tm, "batch_runs", pp_jsize(o->batch_runs));
    pp_jset(&b, tm, "batch_budget_seconds", pp_jnum(o->batch_budget_seconds));
    pp_jset(&b, tm, "latency_statistic", pp_jstr("nearest-rank percentiles"));
    pp_jset(&b, tm, "latency_warmup_calls", json_integer(LATENCY_WARMUP));
    pp_jset(&b, root, "timing", tm);
    pp_jset(&b, root, "recipe", pp_recipe_json(r));
    /* p: the ensemble's calibrated test probabilities (its "auc"), as the band table below */
    pp_jset(&b, root, "recommendation", pp_compare_verdict(&b, models, p_mem, M, p, y_te, nte, r->cv_folds));
    pp_jset(&b, root, "min_rows", pp_jsize(PP_FEW_ROWS));
    pp_jset(&b, root, "models", models);
    models = NULL;

    prop_band_row rows[64];
    size_t unscored = 0;
    if ((rc = prop_band_table(p, y_te, conn, nte, ens->edges, ens->nbands, rows, &unscored))) goto done;
    pp_jset(&b, root, "bands", pp_band_rows_json(&b, rows, ens->nbands, conn != NULL));
    const char *imp_member = NULL;
    json_t *imp = importance_json(&b, ens, &imp_member);
    pp_jset(&b, root, "importance_member", pp_jstr(imp_member));
    pp_jset(&b, root, "importance", imp);

    json_t *months = json_array();
    if (o->backtest && o->train.time_col) {
      if (!(rc = pp_progress(&ctx, "compare:backtest", M + 1, steps)) && (rc = months_json(&b, f, r, o, months)))
        pp_err_prefix(rc, "compare, back-test: ");
    }
    pp_jset(&b, root, "months", months); /* takes the reference, also on failure */
    if (rc) goto done;
  }
  pp_progress(&ctx, "done", steps, steps);
  if (b.failed) {
    rc = pp_err(PROP_ERR_NOMEM, "out of memory while writing the comparison report");
    goto done;
  }
  *json = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  if (!*json) rc = pp_err(PROP_ERR_NOMEM, "out of memory while writing the comparison report");
  else pp_err_restore(&caller_err);

done:
  json_decref(root);
  json_decref(models);
  free(y);
  free(y_te);
  free(conn);
  free(st);
  free(pos_label);
  free(neg_label);
  free(conn_label);
  free(is_test);
  free(idx_tr);
  free(idx_te);
  prop_frame_free(own_tr);
  prop_frame_free(own_te);
  pp_binding_free(bind_tr);
  pp_binding_free(bind_te);
  pp_schema_free(schema);
  free(raw_tr);
  free(raw_te);
  free(p);
  free(p_mem);
  free(secs);
  free(us);
  free(Xtr);
  free(Xte);
  free(ytr);
  pp_encoder_free(enc);
  prop_model_free(ens);
  prop_recipe_free(own_recipe);
  return rc;
}
