/* The JSON report of prop_compare(): per model its metrics, timing and curves (ROC, cumulative gains,
 * reliability), and around them the machine, the data set and split, the timing method, the recipe, the
 * ensemble's band table and importance and the monthly back-test.  The schema is documented field by
 * field in bench/README.md (schema_version 1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "pipeline/compare_job.h"

#define SCHEMA_VERSION 1
#define RELIABILITY_BINS PP_RELIABILITY_BINS
#define GAINS_POINTS 101

static json_t *jpair(pp_jb *b, double x, double y) {
  json_t *a = json_array();
  pp_jpush(b, a, pp_jnum(x));
  pp_jpush(b, a, pp_jnum(y));
  if (!a) b->failed = 1;
  return a;
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
json_t *pp_compare_model_json(pp_jb *b, const char *name, const char *kind, const double *p, const int *y, size_t n,
                              const pp_timing *t, size_t maxpts) {
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
  PP_TRY(prop_backtest(f, r, o->train, o->min_train_months, &text));
  json_error_t err;
  json_t *root = NULL;
  int rc = pp_json_parse(text, strlen(text), 0, "the back-test report", &root, &err);
  free(text);
  if (rc == PROP_ERR_VALUE) return pp_err(PROP_ERR_STATE, "the back-test report does not parse: %s", err.text);
  if (rc) return rc;
  size_t i;
  json_t *mo;
  json_array_foreach(json_object_get(root, "months"), i, mo) {
    json_t *e = json_object();
    static const char *const copy[][2] = {{"month", "month"},           {"period", "period"},           {"train_rows", "train_rows"},
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

static json_t *machine_json(pp_jb *b, const compare_job *job) {
  char cpu[256];
  pp_cpu_model(cpu, sizeof cpu);
  json_t *mach = json_object();
  pp_jset(b, mach, "cpu_model", pp_jstr(cpu));
  pp_jset(b, mach, "cores", json_integer(pp_logical_cpus()));
  pp_jset(b, mach, "threads_used", json_integer(job->ctx.nthread));
  return mach;
}

static json_t *split_json(pp_jb *b, const compare_job *job) {
  const prop_compare_options *o = job->o;
  json_t *sp = json_object();
  int stratified = !o->test && !o->train->time_col;
  pp_jset(b, sp, "method", pp_jstr(o->test ? "test_data" : o->train->time_col ? "last_month" : "stratified"));
  pp_jset(b, sp, "time_column", pp_jstr(o->train->time_col));
  pp_jset(b, sp, "test_month", pp_jnum(job->test_month));
  pp_jset(b, sp, "test_period", *job->test_period ? pp_jstr(job->test_period) : json_null());
  pp_jset(b, sp, "test_frac", stratified ? pp_jnum(o->test_frac) : json_null());
  pp_jset(b, sp, "seed", stratified ? json_integer((json_int_t)o->seed) : json_null());
  pp_jset(b, sp, "test_path", pp_jstr(o->test ? o->test_data_path : NULL));
  pp_jset(b, sp, "test_sha256", o->test && o->test_data_path ? pp_jstr(job->test_sha) : json_null());
  pp_jset(b, sp, "test_bytes", o->test && o->test_data_path ? json_integer((json_int_t)job->test_bytes) : json_null());
  return sp;
}

static json_t *dataset_json(pp_jb *b, const compare_job *job) {
  const prop_compare_options *o = job->o;
  json_t *ds = json_object();
  pp_jset(b, ds, "path", pp_jstr(o->data_path));
  pp_jset(b, ds, "sha256", o->data_path ? pp_jstr(job->sha) : json_null());
  pp_jset(b, ds, "bytes", o->data_path ? json_integer((json_int_t)job->file_bytes) : json_null());
  pp_jset(b, ds, "target", pp_jstr(o->train->target));
  pp_jset(b, ds, "positive_label", pp_jstr(job->pos_label));
  pp_jset(b, ds, "rows", pp_jsize(job->n));
  pp_jset(b, ds, "train_rows", pp_jsize(job->ntr));
  pp_jset(b, ds, "test_rows", pp_jsize(job->nte));
  pp_jset(b, ds, "positives", pp_jsize(job->npos));
  pp_jset(b, ds, "test_positives", pp_jsize(job->npos_te));
  pp_jset(b, ds, "features", pp_jsize(job->ts.nfeat));
  pp_jset(b, ds, "encoded_columns", pp_jsize(job->d));
  pp_jset(b, ds, "split", split_json(b, job));
  return ds;
}

static json_t *timing_json(pp_jb *b, const prop_compare_options *o) {
  json_t *tm = json_object();
  pp_jset(b, tm, "clock", pp_jstr("wall clock (CLOCK_MONOTONIC)"));
  pp_jset(b, tm, "batch_statistic", pp_jstr("median"));
  pp_jset(b, tm, "batch_runs", pp_jsize(o->batch_runs));
  pp_jset(b, tm, "batch_budget_seconds", pp_jnum(o->batch_budget_seconds));
  pp_jset(b, tm, "latency_statistic", pp_jstr("nearest-rank percentiles"));
  pp_jset(b, tm, "latency_warmup_calls", json_integer(PP_LATENCY_WARMUP));
  return tm;
}

#define CONTRIB_ROWS 1000 /* test rows explained for the report (contributions cost ms per row on a deep forest) */
#define BEESWARM_INPUTS 10
#define BEESWARM_POINTS 300

/* Numeric values of one input over m rows as ranks in [0, 1] (NaN stays NaN), the beeswarm's colours. */
static void value_ranks(const double *raw, size_t nf, size_t k, size_t m, double *out) {
  size_t valid = 0;
  for (size_t i = 0; i < m; i++) valid += raw[i * nf + k] == raw[i * nf + k];
  for (size_t i = 0; i < m; i++) {
    double v = raw[i * nf + k];
    if (v != v) {
      out[i] = NAN;
      continue;
    }
    size_t below = 0, equal = 0;
    for (size_t t = 0; t < m; t++) {
      double u = raw[t * nf + k];
      below += u < v;
      equal += u == v;
    }
    out[i] = valid > 1 ? ((double)below + 0.5 * (double)(equal - 1)) / (double)(valid - 1) : 0.5;
  }
}

/* The beeswarm of input k: up to BEESWARM_POINTS [contribution, colour] pairs (colour null for a
 * categorical input or a missing value). */
static json_t *swarm(pp_jb *b, const prop_model *m, const double *C, const double *raw, size_t rows, size_t k,
                     double *rank) {
  const size_t nf = m->schema->nfeat, step = rows > BEESWARM_POINTS ? (rows + BEESWARM_POINTS - 1) / BEESWARM_POINTS : 1;
  const int numeric = m->schema->feat[k].type == PROP_COL_NUMERIC;
  if (numeric) value_ranks(raw, nf, k, rows, rank);
  json_t *pts = json_array();
  for (size_t i = 0; i < rows; i += step) {
    if (C[i * nf + k] != C[i * nf + k]) continue;
    json_t *pt = json_array();
    pp_jpush(b, pt, pp_jnum(C[i * nf + k]));
    pp_jpush(b, pt, numeric ? pp_jnum(rank[i]) : json_null());
    pp_jpush(b, pts, pt);
  }
  return pts;
}

/* The ensemble's mean |contribution| per input over (up to CONTRIB_ROWS, evenly spaced) test rows, largest
 * first with its share, and the beeswarm of the top inputs, into *json; null when a member cannot explain
 * itself (PROP_ERR_STATE: an older model file).  Any other failure (out of memory) is the report's. */
static int contributions_json(pp_jb *b, const prop_model *m, const prop_frame *fte, int nthread, json_t **json) {
  const size_t n = fte->nrows, rows = n < CONTRIB_ROWS ? n : CONTRIB_ROWS, nf = m->schema->nfeat;
  size_t *idx = pp_malloc_array(rows ? rows : 1, sizeof *idx);
  double *C = pp_malloc_array(rows ? rows : 1, nf * sizeof *C), *raw = NULL, *mean = pp_calloc(nf, sizeof *mean);
  double *rank = pp_malloc_array(rows ? rows : 1, sizeof *rank);
  size_t *ord = pp_malloc_array(nf, sizeof *ord);
  prop_frame *sub = NULL;
  double base;
  json_t *out = NULL;
  int rc = (!idx || !C || !mean || !rank || !ord) ? PROP_ERR_NOMEM : 0;
  for (size_t i = 0; !rc && i < rows; i++) idx[i] = (size_t)((double)i * (double)n / (double)rows);
  if (!rc) rc = pp_frame_subset(fte, idx, rows, &sub);
  prop_predict_options po = pp_eval_predict_options(nthread); /* the caller's threads, as every step of compare */
  if (!rc) rc = prop_model_contributions_frame(m, sub, C, &base, NULL, &po);
  if (!rc) rc = pp_rows_read(m->schema, sub, "testing", &raw);
  if (rc == PROP_ERR_STATE) { /* no contributions (a member without them): the report says null */
    pp_err_clear();
    rc = 0;
  } else if (!rc) {
    size_t used = 0;
    for (size_t i = 0; i < rows; i++) {
      if (C[i * nf] != C[i * nf]) continue;
      used++;
      for (size_t k = 0; k < nf; k++) mean[k] += fabs(C[i * nf + k]);
    }
    double tot = 0;
    for (size_t k = 0; k < nf; k++) tot += mean[k] /= used ? (double)used : 1.0;
    for (size_t k = 0; k < nf; k++) ord[k] = k;
    for (size_t i = 1; i < nf; i++) { /* insertion sort, descending, stable */
      size_t v = ord[i], j = i;
      while (j > 0 && mean[ord[j - 1]] < mean[v]) ord[j] = ord[j - 1], j--;
      ord[j] = v;
    }
    out = json_object();
    pp_jset(b, out, "rows", pp_jsize(used));
    pp_jset(b, out, "base", pp_jnum(base));
    json_t *inputs = json_array();
    for (size_t i = 0; i < nf; i++) {
      json_t *e = json_object();
      pp_jset(b, e, "feature", pp_jstr(m->schema->feat[ord[i]].name));
      pp_jset(b, e, "mean_abs", pp_jnum(mean[ord[i]]));
      pp_jset(b, e, "share", pp_jnum(tot > 0 ? mean[ord[i]] / tot : 0.0));
      if (i < BEESWARM_INPUTS) pp_jset(b, e, "points", swarm(b, m, C, raw, rows, ord[i], rank));
      pp_jpush(b, inputs, e);
    }
    pp_jset(b, out, "inputs", inputs);
  }
  prop_frame_free(sub);
  free(idx), free(C), free(raw), free(mean), free(rank), free(ord);
  *json = out ? out : json_null();
  return rc;
}

/* The band table of the ensemble's test probabilities (job->p), its importance and the back-test. */
static int ensemble_parts(pp_jb *b, compare_job *job, size_t steps, json_t *root) {
  const prop_model *ens = job->ens;
  prop_band_row rows[64];
  size_t unscored = 0;
  PP_TRY(prop_band_table(job->p, job->y_te, job->conn, job->nte, ens->bands.edges, ens->bands.n, rows, &unscored));
  pp_jset(b, root, "bands", pp_band_rows_json(b, rows, ens->bands.n, job->conn != NULL));
  const char *imp_member = NULL;
  json_t *imp = importance_json(b, ens, &imp_member);
  pp_jset(b, root, "importance_member", pp_jstr(imp_member));
  pp_jset(b, root, "importance", imp);
  json_t *contrib = NULL;
  PP_TRY(contributions_json(b, ens, job->fte, job->ctx.nthread, &contrib));
  pp_jset(b, root, "contributions", contrib);
  json_t *months = json_array();
  int rc = 0;
  const prop_compare_options *o = job->o;
  if (o->backtest && o->train->time_col) {
    if (!(rc = pp_progress(&job->ctx, "compare:backtest", job->r->nmembers + 1, steps)) &&
        (rc = months_json(b, job->f, job->r, o, months)))
      pp_err_prefix(rc, "compare, back-test: ");
  }
  pp_jset(b, root, "months", months); /* takes the reference, also on failure */
  return rc;
}

int pp_compare_report(compare_job *job, size_t steps, char **json) {
  pp_jb b = {0};
  char when[32];
  pp_utc_now_iso8601(when, sizeof when);
  json_t *root = json_object();
  pp_jset(&b, root, "schema_version", json_integer(SCHEMA_VERSION));
  pp_jset(&b, root, "tool", pp_jstr("propensity compare"));
  pp_jset(&b, root, "library_version", pp_jstr(PROP_VERSION_STRING));
  pp_jset(&b, root, "created_at", pp_jstr(when));
  pp_jset(&b, root, "seed", json_integer((json_int_t)job->o->seed));
  pp_jset(&b, root, "machine", machine_json(&b, job));
  pp_jset(&b, root, "dataset", dataset_json(&b, job));
  pp_jset(&b, root, "timing", timing_json(&b, job->o));
  pp_jset(&b, root, "recipe", pp_recipe_json(job->r));
  /* job->p: the ensemble's calibrated test probabilities (its "auc"), as the band table below */
  pp_jset(&b, root, "recommendation", pp_compare_verdict(&b, job->models, job->p_mem, job->r->nmembers, job->p,
                                                         job->y_te, job->nte, job->r->cv_folds));
  pp_jset(&b, root, "min_rows", pp_jsize(PP_FEW_ROWS));
  pp_jset(&b, root, "models", job->models);
  job->models = NULL;
  int rc = ensemble_parts(&b, job, steps, root);
  if (!rc && b.failed) rc = pp_err(PROP_ERR_NOMEM, "out of memory while writing the comparison report");
  if (!rc) {
    pp_progress(&job->ctx, "done", steps, steps);
    *json = pp_json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10), job->mark,
                          "the comparison report");
    if (!*json) rc = PROP_ERR_NOMEM;
  }
  json_decref(root);
  return rc;
}
