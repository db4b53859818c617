/* prop_compare(): the analyst's model comparison, as named steps over one compare_job:
 *
 *   split     one split of the rows: the last month held out when there is a time column, else a
 *             stratified test_frac; or none, when the caller gives the test rows as a frame of their own;
 *   encode    the training rows read as training reads them (pp_trainset_read), the recipe's encoders
 *             fitted on them only, training and test rows encoded;
 *   members   every member of the recipe fitted alone on the encoded training rows (as training fits
 *             it) and measured on the test rows;
 *   ensemble  the whole pipeline trained by prop_model_train() on the training rows and measured through
 *             the public scoring calls;
 *   report    the JSON report (compare_report.c; schema in bench/README.md).
 *
 * Every model is measured on the same test rows: ranking and probability metrics, curves, fit time, batch
 * throughput and single-row latency (compare_measure.c, the harness). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "pipeline/compare_job.h"

void prop_compare_options_default(prop_compare_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
  opt->test_frac = 0.3;
  opt->seed = 42;
  opt->batch_runs = 5;
  opt->batch_budget_seconds = 3.0;
  opt->latency_runs = 2000;
  opt->max_curve_points = 200;
  opt->backtest = 1;
  opt->min_train_months = 1;
}

/* ---- rows ------------------------------------------------------------------------------------- */
/* The split: is_test[n]; *test_month gets the held-out month's key and period[24] its name (NaN and ""
 * for a stratified split). */
static int split_rows(const prop_frame *f, const prop_compare_options *o, const int *y, unsigned char *is_test,
                      double *test_month, char *period) {
  size_t n = f->nrows;
  *test_month = NAN;
  *period = '\0';
  const char *tcol = o->train->time_col;
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

/* ---- split ------------------------------------------------------------------------------------------ */
/* The explicit test frame: f trains, o->test is measured, its labels read under the training rows' two. */
static int split_given(compare_job *job, const int *y, const char *neg_label) {
  const prop_compare_options *o = job->o;
  job->ftr = job->f;
  job->fte = o->test;
  job->ntr = job->f->nrows;
  job->nte = job->fte->nrows;
  if (job->nte == 0 || job->ntr == 0)
    return pp_err(PROP_ERR_TRAIN, "%s: %zu training and %zu test rows: both sides need rows", pp_frame_source(job->f),
                  job->ntr, job->nte);
  char *pos = NULL;
  int rc = pp_frame_binary_column(job->fte, o->train->target, o->train->positive, neg_label, &job->y_te, &pos, NULL);
  free(pos); /* the same label as job->pos_label */
  PP_TRY(rc);
  for (size_t i = 0; i < job->ntr; i++) job->npos += (size_t)y[i];
  return 0;
}

/* A split of f itself: by month or stratified. */
static int split_own(compare_job *job, const int *y) {
  const size_t n = job->n;
  unsigned char *is_test = pp_malloc(n ? n : 1);
  size_t *idx_tr = pp_malloc_array(n ? n : 1, sizeof *idx_tr), *idx_te = pp_malloc_array(n ? n : 1, sizeof *idx_te);
  int rc = (!is_test || !idx_tr || !idx_te) ? PROP_ERR_NOMEM
                                             : split_rows(job->f, job->o, y, is_test, &job->test_month, job->test_period);
  for (size_t i = 0; !rc && i < n; i++) {
    job->npos += (size_t)y[i];
    if (is_test[i]) idx_te[job->nte++] = i;
    else idx_tr[job->ntr++] = i;
  }
  if (!rc && (job->nte == 0 || job->ntr == 0))
    rc = pp_err(PROP_ERR_TRAIN, "%s: %zu rows are too few to hold out a test set", pp_frame_source(job->f), n);
  if (!rc) rc = pp_frame_subset(job->f, idx_tr, job->ntr, &job->own_tr);
  if (!rc) rc = pp_frame_subset(job->f, idx_te, job->nte, &job->own_te);
  if (!rc && !(job->y_te = pp_malloc_array(job->nte, sizeof *job->y_te))) rc = PROP_ERR_NOMEM;
  for (size_t i = 0; !rc && i < job->nte; i++) job->y_te[i] = y[idx_te[i]];
  job->ftr = job->own_tr;
  job->fte = job->own_te;
  free(is_test);
  free(idx_tr);
  free(idx_te);
  return rc;
}

static int step_split(compare_job *job) {
  const prop_compare_options *o = job->o;
  int *y = NULL;
  char *neg_label = NULL;
  int rc = pp_frame_binary_column(job->f, o->train->target, o->train->positive, NULL, &y, &job->pos_label, &neg_label);
  if (!rc) rc = o->test ? split_given(job, y, neg_label) : split_own(job, y);
  free(y);
  free(neg_label);
  PP_TRY(rc);
  for (size_t i = 0; i < job->nte; i++) job->npos_te += (size_t)job->y_te[i];
  job->npos += job->npos_te * (o->test != NULL);
  if (o->train->connected) {
    char *cpos = NULL;
    rc = pp_frame_binary_column(job->fte, o->train->connected, NULL, NULL, &job->conn, &cpos, NULL);
    free(cpos);
    PP_TRY(rc);
  }
  pp_log(&job->ctx, PROP_LOG_INFO, "compare: %zu training rows, %zu test rows (%zu positive)%s", job->ntr, job->nte,
         job->npos_te, o->test ? ", from the test file" : o->train->time_col ? ", the last month held out" : "");
  return 0;
}

/* ---- encode ----------------------------------------------------------------------------------------- */
static int step_encode(compare_job *job) {
  PP_TRY(pp_trainset_read(job->ftr, job->o->train, (size_t)job->r->cv_folds, &job->ts));
  double *raw_te = NULL;
  PP_TRY(pp_rows_read(job->ts.schema, job->fte, "testing", &raw_te));
  int rc = pp_encoder_fit(job->ts.schema, job->ts.raw, job->ntr, &job->r->enc, &job->enc);
  if (!rc) {
    job->d = pp_encoder_width(job->enc);
    job->Xtr = pp_malloc_array(job->ntr, (job->d ? job->d : 1) * sizeof(float));
    job->Xte = pp_malloc_array(job->nte, (job->d ? job->d : 1) * sizeof(float));
    if (!job->Xtr || !job->Xte) rc = PROP_ERR_NOMEM;
  }
  if (!rc) {
    pp_encoder_transform(job->enc, job->ts.raw, job->ntr, job->ts.nfeat, job->Xtr);
    pp_encoder_transform(job->enc, raw_te, job->nte, job->ts.nfeat, job->Xte);
  }
  free(raw_te);
  return rc;
}

/* ---- members ---------------------------------------------------------------------------------------- */
static int one_member(compare_job *job, size_t j, pp_jb *b) {
  const pp_member_spec *spec = &job->r->members[j];
  pp_timing t;
  memset(&t, 0, sizeof t);
  void *model = NULL;
  double t0 = pp_now_seconds();
  int rc = pp_fit_member(spec, job->r, job->Xtr, job->ts.yf, job->ntr, job->d, pp_encoder_colnames(job->enc),
                         &job->ctx, pp_seed_derive(job->r->seed, j), &model);
  t.fit_seconds = pp_now_seconds() - t0;
  if (!rc) rc = pp_measure_member(spec->ops, model, job->Xte, job->nte, job->d, &job->ms, job->p, &t);
  if (model) spec->ops->free_model(model);
  if (rc) return pp_err_prefix(rc, "compare, member %s: ", spec->ops->name);
  pp_jpush(b, job->models,
           pp_compare_model_json(b, spec->ops->name, "member", job->p, job->y_te, job->nte, &t, job->o->max_curve_points));
  memcpy(job->p_mem + j * job->nte, job->p, job->nte * sizeof *job->p); /* for the paired tests */
  pp_log(&job->ctx, PROP_LOG_INFO, "compare: %-14s AUC %.4f  fit %.2f s  %.0f rows/s  p50 %.1f us", spec->ops->name,
         pp_auc(job->p, job->y_te, job->nte), t.fit_seconds, t.rows_per_second, t.p50_us);
  return 0;
}

static int step_members(compare_job *job, size_t steps, pp_jb *b) {
  for (size_t j = 0; j < job->r->nmembers; j++) {
    char stage[64];
    snprintf(stage, sizeof stage, "compare:%s", job->r->members[j].ops->name);
    PP_TRY(pp_progress(&job->ctx, stage, j, steps));
    PP_TRY(one_member(job, j, b));
  }
  return 0;
}

/* ---- ensemble --------------------------------------------------------------------------------------- */
/* The same model's vote before its calibrator (what the calibration changed) and its members and weights
 * into e (job->p keeps the calibrated probabilities: the band table is cut from them). */
static int ensemble_extras(compare_job *job, pp_jb *b, json_t *e) {
  prop_predict_options po = pp_eval_predict_options(job->ctx.nthread);
  po.uncalibrated = 1;
  double *vote = pp_malloc_array(job->nte, sizeof *vote);
  int rc = vote ? prop_model_predict_frame(job->ens, job->fte, vote, NULL, NULL, &po) : PROP_ERR_NOMEM;
  const size_t bad = rc ? 0 : pp_first_non_probability(vote, job->nte);
  if (!rc && bad < job->nte)
    rc = pp_err(PROP_ERR_BACKEND, "ensemble vote: test row %zu got probability %g (not in [0,1])", bad, vote[bad]);
  if (!rc) {
    pp_jset(b, e, "auc_uncalibrated", pp_jnum(pp_auc(vote, job->y_te, job->nte)));
    pp_jset(b, e, "ece_uncalibrated", pp_jnum(pp_ece(vote, job->y_te, job->nte, PP_RELIABILITY_BINS)));
    json_t *mem = json_array();
    for (size_t s = 0; s < job->ens->nmem; s++) {
      json_t *mo = json_object();
      pp_jset(b, mo, "name", pp_jstr(job->ens->mem[s].ops->name));
      pp_jset(b, mo, "weight", pp_jnum(job->ens->vote->weight[s]));
      pp_jpush(b, mem, mo);
    }
    pp_jset(b, e, "members", mem);
  }
  free(vote);
  return rc;
}

static int step_ensemble(compare_job *job, size_t steps, pp_jb *b) {
  PP_TRY(pp_progress(&job->ctx, "compare:ensemble", job->r->nmembers, steps));
  pp_timing t;
  memset(&t, 0, sizeof t);
  relay rl = {job->o->train};
  prop_train_options to = *job->o->train;
  to.log = relay_log;
  to.progress = relay_progress;
  to.user = &rl;
  double t0 = pp_now_seconds();
  int rc = prop_model_train(job->ftr, job->r, &to, &job->ens);
  t.fit_seconds = pp_now_seconds() - t0;
  if (!rc) rc = pp_measure_ensemble(job->ens, job->fte, &job->ms, job->p, &t);
  if (rc) return pp_err_prefix(rc, "compare, ensemble: ");
  json_t *e = pp_compare_model_json(b, "ensemble", "ensemble", job->p, job->y_te, job->nte, &t, job->o->max_curve_points);
  if ((rc = ensemble_extras(job, b, e))) {
    json_decref(e);
    return pp_err_prefix(rc, "compare, ensemble: ");
  }
  pp_jpush(b, job->models, e);
  pp_log(&job->ctx, PROP_LOG_INFO, "compare: %-14s AUC %.4f  fit %.2f s  %.0f rows/s  p50 %.1f us", "ensemble",
         pp_auc(job->p, job->y_te, job->nte), t.fit_seconds, t.rows_per_second, t.p50_us);
  return 0;
}

/* ---- the comparison --------------------------------------------------------------------------------- */
static int check_options(const prop_frame *f, const prop_compare_options *o) {
  if (!o->train) return pp_err(PROP_ERR_ARG, "prop_compare: options.train is required");
  if (!o->train->target) return pp_err(PROP_ERR_ARG, "prop_compare: options.train.target is required");
  if (!o->test && !o->train->time_col && !(o->test_frac > 0.0 && o->test_frac < 1.0))
    return pp_err(PROP_ERR_ARG, "prop_compare: options.test_frac must be in (0, 1), got %g", o->test_frac);
  if (o->batch_runs < 1 || o->latency_runs < 1)
    return pp_err(PROP_ERR_ARG, "prop_compare: options.batch_runs and options.latency_runs must be >= 1");
  if (o->max_curve_points < 2 || o->max_curve_points > 10000)
    return pp_err(PROP_ERR_ARG, "prop_compare: options.max_curve_points must be in [2, 10000], got %zu",
                  o->max_curve_points);
  PP_TRY(pp_frame_first_row_error(f)); /* rows the reader could not read */
  return pp_frame_first_row_error(o->test);
}

static int job_start(compare_job *job) {
  const prop_compare_options *o = job->o;
  if (o->data_path) PP_TRY(pp_sha256_file(o->data_path, job->sha, &job->file_bytes));
  if (o->test && o->test_data_path) PP_TRY(pp_sha256_file(o->test_data_path, job->test_sha, &job->test_bytes));
  job->ms.batch_runs = o->batch_runs;
  job->ms.latency_runs = o->latency_runs;
  job->ms.batch_budget_seconds = o->batch_budget_seconds;
  job->ms.nthread = job->ctx.nthread;
  job->ms.secs = pp_malloc_array(o->batch_runs, sizeof *job->ms.secs);
  job->ms.us = pp_malloc_array(o->latency_runs, sizeof *job->ms.us);
  if (!job->ms.secs || !job->ms.us) return PROP_ERR_NOMEM;
  if (!(job->models = json_array())) return pp_err(PROP_ERR_NOMEM, "out of memory while writing the comparison report");
  return 0;
}

static void job_free(compare_job *job) {
  prop_frame_free(job->own_tr);
  prop_frame_free(job->own_te);
  free(job->y_te);
  free(job->conn);
  free(job->pos_label);
  pp_trainset_free(&job->ts);
  pp_encoder_free(job->enc);
  free(job->Xtr);
  free(job->Xte);
  free(job->p);
  free(job->p_mem);
  free(job->ms.secs);
  free(job->ms.us);
  json_decref(job->models);
  prop_model_free(job->ens);
}

static int run_steps(compare_job *job, char **json) {
  const size_t steps = job->r->nmembers + 1 + (job->o->backtest && job->o->train->time_col ? 1 : 0);
  pp_jb b = {0};
  PP_TRY(job_start(job));
  PP_TRY(step_split(job));
  PP_TRY(step_encode(job));
  job->p = pp_malloc_array(job->nte, sizeof *job->p);
  job->p_mem = pp_malloc_array(job->r->nmembers ? job->r->nmembers : 1, job->nte * sizeof *job->p_mem);
  if (!job->p || !job->p_mem) return PROP_ERR_NOMEM;
  PP_TRY(step_members(job, steps, &b));
  PP_TRY(step_ensemble(job, steps, &b));
  if (b.failed) return pp_err(PROP_ERR_NOMEM, "out of memory while writing the comparison report");
  return pp_compare_report(job, steps, json);
}

int prop_compare(const prop_frame *f, const prop_recipe *recipe, const prop_compare_options *o, char **json) {
  if (!json) return pp_err(PROP_ERR_ARG, "prop_compare: json is NULL");
  *json = NULL;
  if (!f || !o) return pp_err(PROP_ERR_ARG, "prop_compare: frame and options are required");
  compare_job job;
  memset(&job, 0, sizeof job);
  prop_compare_options_default(&job.opt);
  PP_TRY(pp_opts_import(&job.opt, sizeof job.opt, o, "prop_compare_options"));
  prop_train_options_default(&job.train);
  if (job.opt.train) PP_TRY(pp_opts_import(&job.train, sizeof job.train, job.opt.train, "prop_train_options"));
  PP_TRY(check_options(f, &job.opt));
  job.opt.train = &job.train;
  o = job.o = &job.opt;
  pp_err_state caller_err; /* put back on success */
  pp_err_save(&caller_err);
  job.f = f;
  job.n = f->nrows + (o->test ? o->test->nrows : 0); /* all rows used */
  job.test_month = NAN;
  prop_recipe *own = NULL;
  PP_TRY(pp_job_recipe(recipe, o->train, &own, &job.r, &job.ctx));
  job.mark = pp_json_mark(); /* jansson's allocations fail silently: checked when the report is written */
  int rc = run_steps(&job, json);
  if (rc && rc != PROP_ERR_NOMEM && pp_alloc_failed_since(job.mark))
    rc = pp_err_prefix(PROP_ERR_NOMEM, "out of memory during the comparison, which then failed: ");
  if (!rc) pp_err_restore(&caller_err);
  job_free(&job);
  prop_recipe_free(own);
  return rc;
}
