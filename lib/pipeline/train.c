/* The training procedure (the bank's method, in the library rather than in the CLI), as named steps
 * over one train_job, each a function of its own:
 *   encode       read the rows: schema, labels, raw input matrix (pp_trainset_read, shared with compare);
 *   out_of_fold  stratified k-fold out-of-fold (OOF) predictions for every member, the encoders
 *                re-fitted on each fold's training rows only;
 *   select       each member's OOF AUC, log-loss and Brier score; the members ordered by OOF AUC and
 *                the recipe's selection (all, or the top k);
 *   weigh        the vote weights (equal, fixed, or fitted on the OOF predictions: non-negative,
 *                summing to one; a member left with weight 0 is dropped) and the OOF vote;
 *   calibrate    the calibrator, fitted on the OOF vote;
 *   reference    what monitoring compares later months with (lib/monitor): the inputs' and the OOF
 *                calibrated probabilities' distributions;
 *   refit        the encoders and the kept members refitted on all training rows;
 *   report       the model's metadata (train_report.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/metrics.h"
#include "pipeline/train_job.h"

void prop_train_options_default(prop_train_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
}

/* Encode the rows idx[0..m) of the training set with enc. */
static int encode_rows(const pp_encoder *enc, const pp_trainset *ts, const size_t *idx, size_t m, float **X) {
  size_t w = pp_encoder_width(enc);
  *X = pp_malloc_array(m ? m : 1, w * sizeof(float));
  if (!*X) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < m; i++) pp_encoder_transform(enc, ts->raw + idx[i] * ts->nfeat, 1, ts->nfeat, *X + i * w);
  return 0;
}

/* An encoder fitted on the rows idx[0..m) of the training set only. */
static int fit_encoder(const pp_trainset *ts, const size_t *idx, size_t m, const pp_encode_opts *o, pp_encoder **enc) {
  double *sub = pp_malloc_array(m ? m : 1, ts->nfeat * sizeof(double));
  if (!sub) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < m; i++) memcpy(sub + i * ts->nfeat, ts->raw + idx[i] * ts->nfeat, ts->nfeat * sizeof(double));
  int rc = pp_encoder_fit(ts->schema, sub, m, o, enc);
  free(sub);
  return rc;
}

int pp_fit_member(const pp_member_spec *spec, const prop_recipe *r, const float *X, const float *y, size_t m,
                  size_t d, const char *const *names, const pp_ctx *ctx, uint64_t seed, void **model) {
  pp_rng rng;
  pp_rng_seed(&rng, seed);
  size_t *keep = pp_malloc_array(m ? m : 1, sizeof *keep);
  if (!keep) return PROP_ERR_NOMEM;
  size_t nk = 0;
  if (r->imbalance == PP_IMB_UNDERSAMPLE) {
    size_t pos = 0;
    for (size_t i = 0; i < m; i++) pos += y[i] > 0.5f;
    int minority = pos * 2 <= m; /* 1 when positives are the minority */
    size_t nmin = minority ? pos : m - pos, nmaj = m - nmin;
    /* keep each majority row with probability nmin / nmaj (reservoir-free, seeded, exact count) */
    size_t need = nmin, left = nmaj;
    for (size_t i = 0; i < m; i++) {
      int is_min = (y[i] > 0.5f) == minority;
      if (is_min) keep[nk++] = i;
      else {
        if (pp_rng_below(&rng, left) < need) {
          keep[nk++] = i;
          need--;
        }
        left--;
      }
    }
  } else {
    for (size_t i = 0; i < m; i++) keep[nk++] = i;
  }
  /* validation hold-out */
  size_t nv = 0;
  unsigned char *is_val = NULL;
  if (r->valid_frac > 0.0 && nk >= 50) {
    int *yk = pp_malloc_array(nk, sizeof *yk);
    is_val = pp_malloc(nk);
    if (!yk || !is_val) {
      free(yk);
      free(is_val);
      free(keep);
      return PROP_ERR_NOMEM;
    }
    for (size_t i = 0; i < nk; i++) yk[i] = y[keep[i]] > 0.5f;
    int rc = pp_split_stratified(yk, nk, r->valid_frac, seed ^ 0x5eedull, is_val);
    free(yk);
    if (rc) {
      free(is_val);
      free(keep);
      return rc;
    }
    for (size_t i = 0; i < nk; i++) nv += is_val[i];
  }
  size_t nt = nk - nv;
  float *Xt = pp_malloc_array(nt ? nt : 1, d * sizeof(float)), *yt = pp_malloc_array(nt ? nt : 1, sizeof(float));
  float *Xv = nv ? pp_malloc_array(nv, d * sizeof(float)) : NULL, *yv = nv ? pp_malloc_array(nv, sizeof(float)) : NULL;
  int rc = 0;
  if (!Xt || !yt || (nv && (!Xv || !yv))) rc = PROP_ERR_NOMEM;
  if (!rc) {
    size_t a = 0, b = 0;
    for (size_t i = 0; i < nk; i++) {
      size_t src = keep[i];
      if (is_val && is_val[i]) {
        memcpy(Xv + b * d, X + src * d, d * sizeof(float));
        yv[b++] = y[src];
      } else {
        memcpy(Xt + a * d, X + src * d, d * sizeof(float));
        yt[a++] = y[src];
      }
    }
    pp_dataset tr = {Xt, nt, d, yt, NULL, names, r->imbalance};
    pp_dataset va = {Xv, nv, d, yv, NULL, names, r->imbalance};
    pp_ctx c2 = *ctx;
    c2.seed = seed;
    rc = spec->ops->fit(spec->params, &tr, nv ? &va : NULL, &c2, model);
  }
  free(Xt);
  free(yt);
  free(Xv);
  free(yv);
  free(is_val);
  free(keep);
  return rc;
}

/* 1 when member a goes after member b: a lower OOF AUC (or one that is not above b's, NaN included),
 * or an equal AUC and a later place in the recipe. */
static int after(const pp_member_report *rep, size_t a, size_t b) {
  double x = rep[a].auc, z = rep[b].auc;
  if (x != z) return !(x > z);
  return a > b;
}

/* Members ordered best first by OOF AUC (ties by recipe order).  qsort_r is not C11; an insertion sort
 * over at most 32 members is plenty. */
static void sort_members(size_t *order, size_t k, const pp_member_report *rep) {
  for (size_t i = 1; i < k; i++) {
    size_t v = order[i], j = i;
    while (j > 0 && after(rep, order[j - 1], v)) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }
}

/* ---- out_of_fold --------------------------------------------------------------------------------- */
/* Fit every member on the fold's training rows and predict its held-out rows into job->oof. */
static int fold_members(train_job *job, size_t k, const float *Xtr, const float *ytr, size_t ntr, const float *Xva,
                        const size_t *idx_va, size_t nva, size_t d, const char *const *names, double *pva) {
  const prop_recipe *r = job->r;
  const size_t M = r->nmembers;
  for (size_t j = 0; j < M; j++) {
    char stage[64];
    snprintf(stage, sizeof stage, "cv:%s", r->members[j].ops->name);
    PP_TRY(pp_progress(&job->ctx, stage, k, job->K));
    void *model = NULL;
    double t0 = pp_now_seconds();
    pp_ctx fold_ctx = job->ctx; /* the fold's model predicts its held-out rows once */
    fold_ctx.transient = 1;
    fold_ctx.fit_round = (int)k + 1;
    int rc = pp_fit_member(&r->members[j], r, Xtr, ytr, ntr, d, names, &fold_ctx,
                           pp_seed_derive(r->seed, 1000 * (k + 1) + j), &model);
    if (!rc) rc = r->members[j].ops->predict(model, Xva, nva, pva, NULL, job->ctx.nthread);
    job->rep[j].fit_seconds += pp_now_seconds() - t0;
    if (model) r->members[j].ops->free_model(model);
    if (rc) return pp_err_prefix(rc, "fold %zu, member %s: ", k + 1, r->members[j].ops->name);
    const size_t bad = pp_first_non_probability(pva, nva); /* a member's bug must not reach the metrics */
    if (bad < nva)
      return pp_err(PROP_ERR_BACKEND, "%s:%zu: fold %zu, member %s: probability %g (not in [0, 1])",
                    pp_frame_source(job->ts.f), prop_frame_row_number(job->ts.f, idx_va[bad]), k + 1,
                    r->members[j].ops->name, pva[bad]);
    for (size_t i = 0; i < nva; i++) job->oof[idx_va[i] * M + j] = pva[i];
  }
  return 0;
}

/* Fold k: the encoder fitted on the other folds' rows, then every member. */
static int one_fold(train_job *job, size_t k, const int *fold, size_t *idx_tr, size_t *idx_va) {
  const pp_trainset *ts = &job->ts;
  size_t ntr = 0, nva = 0;
  for (size_t i = 0; i < ts->n; i++) {
    if (fold[i] == (int)k) idx_va[nva++] = i;
    else idx_tr[ntr++] = i;
  }
  pp_encoder *enc = NULL;
  float *Xtr = NULL, *Xva = NULL, *ytr = NULL;
  double *pva = NULL;
  int rc = fit_encoder(ts, idx_tr, ntr, &job->r->enc, &enc);
  if (!rc) rc = encode_rows(enc, ts, idx_tr, ntr, &Xtr);
  if (!rc) rc = encode_rows(enc, ts, idx_va, nva, &Xva);
  if (!rc) {
    ytr = pp_malloc_array(ntr ? ntr : 1, sizeof *ytr);
    pva = pp_malloc_array(nva ? nva : 1, sizeof *pva);
    if (!ytr || !pva) rc = PROP_ERR_NOMEM;
  }
  if (!rc) {
    for (size_t i = 0; i < ntr; i++) ytr[i] = ts->yf[idx_tr[i]];
    rc = fold_members(job, k, Xtr, ytr, ntr, Xva, idx_va, nva, pp_encoder_width(enc), pp_encoder_colnames(enc), pva);
  }
  pp_encoder_free(enc);
  free(Xtr);
  free(Xva);
  free(ytr);
  free(pva);
  return rc;
}

static int step_out_of_fold(train_job *job) {
  const pp_trainset *ts = &job->ts;
  const size_t n = ts->n, M = job->r->nmembers;
  int *fold = pp_malloc_array(n, sizeof *fold);
  size_t *idx_tr = pp_malloc_array(n, sizeof *idx_tr), *idx_va = pp_malloc_array(n, sizeof *idx_va);
  job->oof = pp_malloc_array(n, M * sizeof(double));
  job->rep = pp_calloc(M, sizeof *job->rep);
  int rc = (!fold || !idx_tr || !idx_va || !job->oof || !job->rep) ? PROP_ERR_NOMEM : 0;
  if (!rc) rc = pp_kfold_stratified(ts->y, n, job->K, job->r->seed, fold);
  if (!rc)
    pp_log(&job->ctx, PROP_LOG_INFO, "training on %zu rows (%zu positive, %.1f%%), %zu inputs, %zu members, %zu folds",
           n, ts->npos, 100.0 * (double)ts->npos / (double)n, ts->nfeat, M, job->K);
  for (size_t k = 0; k < job->K && !rc; k++) rc = one_fold(job, k, fold, idx_tr, idx_va);
  free(fold);
  free(idx_tr);
  free(idx_va);
  return rc;
}

/* ---- select ----------------------------------------------------------------------------------------- */
static int step_select(train_job *job) {
  const pp_trainset *ts = &job->ts;
  const size_t n = ts->n, M = job->r->nmembers;
  double *col = pp_malloc_array(n, sizeof *col);
  if (!col) return PROP_ERR_NOMEM;
  for (size_t j = 0; j < M; j++) {
    for (size_t i = 0; i < n; i++) col[i] = job->oof[i * M + j];
    job->rep[j].auc = pp_auc(col, ts->y, n);
    job->rep[j].logloss = pp_logloss(col, ts->y, n);
    job->rep[j].brier = pp_brier(col, ts->y, n);
    pp_log(&job->ctx, PROP_LOG_INFO, "member %-14s OOF AUC %.4f  log-loss %.4f  Brier %.4f  (%.1f s)",
           job->r->members[j].ops->name, job->rep[j].auc, job->rep[j].logloss, job->rep[j].brier,
           job->rep[j].fit_seconds);
  }
  free(col);
  for (size_t j = 0; j < M; j++) job->order[j] = j;
  sort_members(job->order, M, job->rep);
  job->nsel = M;
  if (job->r->selection == PP_SELECT_TOPK && (size_t)job->r->top_k < M) job->nsel = (size_t)job->r->top_k;
  return 0;
}

/* ---- weigh ------------------------------------------------------------------------------------------ */
/* The recipe's weights of the selected members into w (sum > 0). */
static int fit_weights(const train_job *job, double *w) {
  const prop_recipe *r = job->r;
  const size_t n = job->ts.n, M = r->nmembers, nsel = job->nsel;
  if (r->weights != PP_WEIGHTS_FIT) {
    for (size_t s = 0; s < nsel; s++) w[s] = r->weights == PP_WEIGHTS_FIXED ? r->members[job->order[s]].weight : 1.0;
    return 0;
  }
  double *P = pp_malloc_array(n, nsel * sizeof(double));
  if (!P) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < n; i++)
    for (size_t s = 0; s < nsel; s++) P[i * nsel + s] = job->oof[i * M + job->order[s]];
  int rc;
  if (r->voting == PP_VOTE_LOGIT) rc = pp_fit_vote_weights_logit(P, job->ts.y, n, nsel, w);
  else if (r->calibration == PP_CALIB_NONE) rc = pp_fit_vote_weights(P, job->ts.y, n, nsel, w);
  else rc = pp_fit_vote_weights_auc(P, job->ts.y, n, nsel, 25, w);
  free(P);
  return rc;
}

/* The vote of the members with a positive weight (normalised), and its OOF score.  A member whose weight
 * is 0 adds nothing to the vote: it is left out of the model (and reported as not selected), so scoring
 * does not pay for it. */
static int step_weigh(train_job *job) {
  double w[32];
  PP_TRY(fit_weights(job, w));
  double wsum = 0;
  for (size_t s = 0; s < job->nsel; s++) wsum += w[s];
  if (!(wsum > 0)) return pp_err(PROP_ERR_RECIPE, "members: the selected members' weights sum to 0");
  size_t kept = 0;
  for (size_t s = 0; s < job->nsel; s++) {
    if (!(w[s] > 0.0)) continue;
    job->order[kept] = job->order[s];
    w[kept] = w[s] / wsum;
    job->rep[job->order[kept]].selected = 1;
    job->rep[job->order[kept]].weight = w[kept];
    kept++;
  }
  job->nsel = kept;
  pp_vote *v = NULL;
  PP_TRY(pp_vote_create(job->r->voting, kept, &v));
  job->m->vote = v;
  for (size_t s = 0; s < kept; s++) PP_TRY(pp_vote_set_member(v, s, job->r->members[job->order[s]].ops->name, w[s]));
  const size_t n = job->ts.n, M = job->r->nmembers;
  if (!(job->score = pp_malloc_array(n, sizeof *job->score))) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    double pk[32];
    for (size_t s = 0; s < kept; s++) pk[s] = job->oof[i * M + job->order[s]];
    job->score[i] = pp_vote_apply(v, pk);
  }
  return 0;
}

/* ---- calibrate -------------------------------------------------------------------------------------- */
static int step_calibrate(train_job *job) {
  const size_t n = job->ts.n;
  /* isotonic: every level backed by calibration_min_rows out-of-fold rows, but at most n / 5 of them, so
   * that small training sets keep at least five possible levels */
  double minw = (double)job->r->calibration_min_rows;
  if (minw > (double)(n / 5)) minw = (double)(n / 5);
  PP_TRY(pp_calibrator_fit(job->r->calibration, job->score, job->ts.yf, n, minw, &job->m->calib));
  if (!(job->cal = pp_malloc_array(n, sizeof *job->cal))) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) job->cal[i] = pp_calibrator_apply(job->m->calib, job->score[i]);
  return 0;
}

/* ---- reference -------------------------------------------------------------------------------------- */
/* What monitoring compares later months with: the training rows' inputs and their out-of-fold calibrated
 * probabilities (the scores of rows the model was not fitted on, as next month's rows will be). */
static int step_reference(train_job *job) {
  return pp_reference_fit(job->ts.schema, job->ts.raw, job->ts.n, job->cal, &job->m->bands, &job->m->ref);
}

/* ---- refit ------------------------------------------------------------------------------------------ */
static int refit_members(train_job *job, const float *X) {
  prop_model *m = job->m;
  for (size_t s = 0; s < m->nmem; s++) {
    char stage[64];
    snprintf(stage, sizeof stage, "fit:%s", m->mem[s].ops->name);
    PP_TRY(pp_progress(&job->ctx, stage, s, m->nmem));
    double t0 = pp_now_seconds();
    const size_t j = job->order[s];
    pp_ctx refit_ctx = job->ctx;
    refit_ctx.fit_round = -1; /* the folds have said what every fit shares */
    int rc = pp_fit_member(&job->r->members[j], job->r, X, job->ts.yf, job->ts.n, m->width, pp_encoder_colnames(m->enc),
                           &refit_ctx, pp_seed_derive(job->r->seed, j), &m->mem[s].model);
    if (rc) return pp_err_prefix(rc, "final fit of %s: ", m->mem[s].ops->name);
    pp_log(&job->ctx, PROP_LOG_INFO, "refit %s on all rows (%.1f s)", m->mem[s].ops->name, pp_now_seconds() - t0);
    if (m->mem[s].ops->info) job->rep[j].info = m->mem[s].ops->info(m->mem[s].model);
  }
  return 0;
}

static int step_refit(train_job *job) {
  prop_model *m = job->m;
  const size_t n = job->ts.n;
  if (!(m->mem = pp_calloc(job->nsel, sizeof *m->mem))) return PROP_ERR_NOMEM;
  m->nmem = job->nsel;
  for (size_t s = 0; s < m->nmem; s++) m->mem[s].ops = job->r->members[job->order[s]].ops;
  size_t *all = pp_malloc_array(n, sizeof *all);
  if (!all) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) all[i] = i;
  float *X = NULL;
  int rc = fit_encoder(&job->ts, all, n, &job->r->enc, &m->enc);
  if (!rc) {
    m->width = pp_encoder_width(m->enc);
    rc = encode_rows(m->enc, &job->ts, all, n, &X);
  }
  if (!rc) rc = refit_members(job, X);
  free(X);
  free(all);
  return rc;
}

/* ---- the procedure ---------------------------------------------------------------------------------- */
static void job_free(train_job *job) {
  pp_trainset_free(&job->ts);
  free(job->oof);
  for (size_t j = 0; job->rep && j < job->r->nmembers; j++) json_decref(job->rep[j].info);
  free(job->rep);
  free(job->score);
  free(job->cal);
  prop_model_free(job->m);
}

static int run_steps(train_job *job, const prop_frame *f) {
  PP_TRY(pp_trainset_read(f, job->opt, job->K, &job->ts));
  PP_TRY(step_out_of_fold(job));
  PP_TRY(step_select(job));
  if (!(job->m = pp_calloc(1, sizeof *job->m))) return PROP_ERR_NOMEM;
  job->m->bands = job->r->bands;
  PP_TRY(step_weigh(job));
  PP_TRY(step_calibrate(job));
  PP_TRY(step_reference(job));
  PP_TRY(step_refit(job));
  job->m->schema = job->ts.schema; /* the model owns the schema from here */
  job->ts.schema = NULL;
  pp_progress(&job->ctx, "done", 1, 1);
  return pp_train_report(job);
}

int prop_model_train(const prop_frame *f, const prop_recipe *recipe, const prop_train_options *opt, prop_model **out) {
  if (!out) return pp_err(PROP_ERR_ARG, "prop_model_train: out is NULL");
  *out = NULL;
  if (!f || !opt) return pp_err(PROP_ERR_ARG, "prop_model_train: frame and options are required");
  prop_train_options own_opt;
  prop_train_options_default(&own_opt);
  PP_TRY(pp_opts_import(&own_opt, sizeof own_opt, opt, "prop_train_options"));
  opt = &own_opt;
  if (!opt->target) return pp_err(PROP_ERR_ARG, "prop_model_train: options.target is required");
  pp_err_state caller_err; /* put back on success: members may fail and recover inside */
  pp_err_save(&caller_err);
  train_job job;
  memset(&job, 0, sizeof job);
  prop_recipe *own = NULL;
  PP_TRY(pp_job_recipe(recipe, opt, &own, &job.r, &job.ctx));
  job.opt = opt;
  job.t_start = pp_now_seconds();
  job.K = (size_t)job.r->cv_folds;
  /* an allocation that fails where the result is only a NaN metric, a dropped member or JSON that
   * jansson left short makes the training fail with PROP_ERR_NOMEM, not succeed or fail otherwise */
  job.mark = pp_json_mark();
  int rc = run_steps(&job, f);
  if (rc && rc != PROP_ERR_NOMEM && pp_alloc_failed_since(job.mark))
    rc = pp_err_prefix(PROP_ERR_NOMEM, "out of memory during training, which then failed: ");
  if (!rc) {
    *out = job.m;
    job.m = NULL;
    pp_err_restore(&caller_err);
  }
  job_free(&job);
  prop_recipe_free(own);
  return rc;
}

void prop_model_free(prop_model *m) {
  if (!m) return;
  for (size_t j = 0; j < m->nmem; j++)
    if (m->mem[j].ops && m->mem[j].model) m->mem[j].ops->free_model(m->mem[j].model);
  free(m->mem);
  pp_schema_free(m->schema);
  pp_encoder_free(m->enc);
  pp_vote_free(m->vote);
  pp_calibrator_free(m->calib);
  pp_reference_free(m->ref);
  free(m->recipe_json);
  free(m->meta_json);
  free(m);
}
