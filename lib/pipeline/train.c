/* The training procedure (the bank's method, in the library rather than in the CLI):
 *   1. stratified k-fold out-of-fold (OOF) predictions for every member, with the encoders
 *      re-fitted on each fold's training rows only;
 *   2. each member's OOF AUC, log-loss and Brier score;
 *   3. member selection (all, or top k by OOF AUC) and the vote weights (equal, fixed, or
 *      fitted on the OOF predictions: non-negative, summing to one);
 *   4. the calibrator, fitted on the OOF ensemble scores;
 *   5. the encoders and the selected members refitted on all training rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bands/bands.h"
#include "calibrate/calibrate.h"
#include "eval/metrics.h"
#include "io/bundle.h"
#include "pipeline/jsonw.h"
#include "pipeline/pipeline.h"

void prop_train_options_default(prop_train_options *opt) {
  if (opt) memset(opt, 0, sizeof *opt);
}

/* Everything one fit needs, gathered once. */
typedef struct train_data {
  const pp_schema *schema;
  const double *raw; /* n x nfeat */
  size_t n, nfeat;
  const int *y;
  const float *yf;
} train_data;

/* Encode the rows idx[0..m) with an encoder fitted on fit_idx (may equal idx). */
static int encode_rows(const pp_encoder *enc, const train_data *td, const size_t *idx, size_t m, float **X) {
  size_t w = pp_encoder_width(enc);
  *X = pp_malloc_array(m ? m : 1, w * sizeof(float));
  if (!*X) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < m; i++) pp_encoder_transform(enc, td->raw + idx[i] * td->nfeat, 1, td->nfeat, *X + i * w);
  return 0;
}

static int fit_encoder(const train_data *td, const size_t *idx, size_t m, const pp_encode_opts *o, pp_encoder **enc) {
  double *sub = pp_malloc_array(m ? m : 1, td->nfeat * sizeof(double));
  if (!sub) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < m; i++) memcpy(sub + i * td->nfeat, td->raw + idx[i] * td->nfeat, td->nfeat * sizeof(double));
  int rc = pp_encoder_fit(td->schema, sub, m, o, enc);
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

typedef struct member_report {
  double auc, logloss, brier, fit_seconds;
  int selected;
  double weight;
} member_report;

static int cmp_auc_desc(const void *a, const void *b, void *ctx) {
  const member_report *rep = ctx;
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  double x = rep[i].auc, z = rep[j].auc;
  if (x != z) return x > z ? -1 : 1;
  return (i > j) - (i < j);
}

/* qsort_r is not C11; an insertion sort over at most 32 members is plenty. */
static void sort_members(size_t *order, size_t k, const member_report *rep) {
  for (size_t i = 1; i < k; i++) {
    size_t v = order[i], j = i;
    while (j > 0 && cmp_auc_desc(&order[j - 1], &v, (void *)rep) > 0) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }
}

/* The Platt calibrator's input: the vote's log-odds. */
static double logit(double p) { return pp_logit_clamped(p, 1e-9); }

double pp_calibrate_apply(const prop_model *m, double s) {
  switch (m->calibration) {
  case PP_CALIB_PLATT: return pp_platt_apply(m->platt_a, m->platt_b, logit(s));
  case PP_CALIB_ISOTONIC:
    return m->iso_ends == PP_ISO_ENDS_RANGE ? pp_isotonic_apply_range(m->iso_x, m->iso_v, m->iso_k, m->iso_lo, m->iso_hi, s)
                                            : pp_isotonic_apply(m->iso_x, m->iso_v, m->iso_k, m->iso_ends, s);
  default: return s;
  }
}

static json_t *band_table_json(const double *prob, const int *y, size_t n, const double *edges, size_t nbands) {
  prop_band_row rows[64];
  if (prop_band_table(prob, y, NULL, n, edges, nbands, rows, NULL) != 0) return json_null();
  pp_jb jb = {0};
  json_t *arr = pp_band_rows_json(&jb, rows, nbands, 0);
  if (!jb.failed) return arr;
  json_decref(arr);
  return json_null();
}

/* Gain (or impurity) importance of the first fitted member that reports one, summed per input. */
static json_t *importance_json(const prop_model *m) {
  for (size_t j = 0; j < m->nmem; j++) {
    if (!m->mem[j].ops->importance) continue;
    double *imp = pp_calloc(m->width, sizeof *imp);
    double *agg = pp_calloc(m->schema->nfeat, sizeof *agg);
    json_t *o = NULL;
    if (imp && agg && m->mem[j].ops->importance(m->mem[j].model, imp, m->width) == 0) {
      for (size_t c = 0; c < m->width; c++) agg[pp_encoder_source(m->enc, c)] += imp[c];
      o = json_object();
      json_object_set_new(o, "member", json_string(m->mem[j].ops->name));
      json_t *f = json_object();
      for (size_t k = 0; k < m->schema->nfeat; k++) json_object_set_new(f, m->schema->feat[k].name, json_real(agg[k]));
      json_object_set_new(o, "features", f);
    }
    free(imp);
    free(agg);
    if (o) return o;
  }
  return json_null();
}

int prop_model_train(const prop_frame *f, const prop_recipe *recipe, const prop_train_options *opt, prop_model **out) {
  if (!out) return pp_err(PROP_ERR_ARG, "prop_model_train: out is NULL");
  *out = NULL;
  if (!f || !opt) return pp_err(PROP_ERR_ARG, "prop_model_train: frame and options are required");
  if (!opt->target) return pp_err(PROP_ERR_ARG, "prop_model_train: options.target is required");
  pp_err_state caller_err; /* put back on success: members may fail and recover inside */
  pp_err_save(&caller_err);

  prop_recipe *own_recipe = NULL;
  if (!recipe) {
    PP_TRY(prop_recipe_default(&own_recipe));
    recipe = own_recipe;
  }
  const prop_recipe *r = recipe;
  pp_ctx ctx;
  pp_ctx_init(&ctx, opt, r->seed);
  double t_start = pp_now_seconds();

  int rc = 0;
  prop_model *m = NULL;
  pp_schema *schema = NULL;
  pp_binding *bind = NULL;
  int *y = NULL, *fold = NULL, *st = NULL;
  char *pos_label = NULL;
  float *yf = NULL;
  double *raw = NULL, *oof = NULL;
  size_t *idx_tr = NULL, *idx_va = NULL, *all = NULL;
  member_report *rep = NULL;
  size_t n = f->nrows;
  json_t *meta = NULL;

  if ((rc = pp_frame_first_row_error(f))) goto done;
  if ((rc = pp_schema_from_frame(f, opt, &schema))) goto done;
  if (schema->nfeat == 0) {
    rc = pp_err(PROP_ERR_SCHEMA, "%s: no feature columns left after target, id and ignored columns",
                pp_frame_source(f));
    goto done;
  }
  if ((rc = pp_frame_binary_column(f, opt->target, opt->positive, NULL, &y, &pos_label, &schema->negative))) goto done;
  free(schema->positive);
  schema->positive = pos_label;
  pos_label = NULL;
  if (opt->connected) { /* a 0/1 flag, read as the band tables will read it: say now which row is not */
    int *cy = NULL;
    char *cp = NULL;
    rc = pp_frame_binary_column(f, opt->connected, NULL, NULL, &cy, &cp, NULL);
    free(cy);
    free(cp);
    if (rc) goto done;
  }
  size_t npos = 0;
  for (size_t i = 0; i < n; i++) npos += (size_t)y[i];
  if (npos < (size_t)r->cv_folds || n - npos < (size_t)r->cv_folds) {
    rc = pp_err(PROP_ERR_TRAIN, "%s: target '%s' has %zu positive and %zu negative rows; need at least %ld of each "
                "for %ld-fold validation", pp_frame_source(f), opt->target, npos, n - npos, r->cv_folds, r->cv_folds);
    goto done;
  }
  size_t nfeat = schema->nfeat;
  raw = pp_malloc_array(n, nfeat * sizeof(double));
  st = pp_calloc(n, sizeof *st);
  yf = pp_malloc_array(n, sizeof *yf);
  if (!raw || !st || !yf) {
    rc = PROP_ERR_NOMEM;
    goto done;
  }
  if ((rc = pp_binding_create(schema, f, &bind))) goto done;
  pp_binding_rows(bind, 0, n, raw, st);
  for (size_t i = 0; i < n; i++) {
    if (st[i]) {
      rc = pp_err(st[i], "%s:%zu: row cannot be used for training (non-finite value)", pp_frame_source(f),
                  prop_frame_row_number(f, i));
      goto done;
    }
    yf[i] = (float)y[i];
  }
  train_data td = {schema, raw, n, nfeat, y, yf};

  /* ---- 1. out-of-fold predictions ---------------------------------------------------------- */
  size_t M = r->nmembers, K = (size_t)r->cv_folds;
  fold = pp_malloc_array(n, sizeof *fold);
  oof = pp_malloc_array(n, M * sizeof(double));
  idx_tr = pp_malloc_array(n, sizeof *idx_tr);
  idx_va = pp_malloc_array(n, sizeof *idx_va);
  rep = pp_calloc(M, sizeof *rep);
  if (!fold || !oof || !idx_tr || !idx_va || !rep) {
    rc = PROP_ERR_NOMEM;
    goto done;
  }
  if ((rc = pp_kfold_stratified(y, n, K, r->seed, fold))) goto done;
  pp_log(&ctx, PROP_LOG_INFO, "training on %zu rows (%zu positive, %.1f%%), %zu inputs, %zu members, %zu folds", n,
         npos, 100.0 * (double)npos / (double)n, nfeat, M, K);
  for (size_t k = 0; k < K && !rc; k++) {
    size_t ntr = 0, nva = 0;
    for (size_t i = 0; i < n; i++) {
      if (fold[i] == (int)k) idx_va[nva++] = i;
      else idx_tr[ntr++] = i;
    }
    pp_encoder *enc = NULL;
    float *Xtr = NULL, *Xva = NULL, *ytr = NULL;
    double *pva = NULL;
    rc = fit_encoder(&td, idx_tr, ntr, &r->enc, &enc);
    if (!rc) rc = encode_rows(enc, &td, idx_tr, ntr, &Xtr);
    if (!rc) rc = encode_rows(enc, &td, idx_va, nva, &Xva);
    if (!rc) {
      ytr = pp_malloc_array(ntr, sizeof *ytr);
      pva = pp_malloc_array(nva ? nva : 1, sizeof *pva);
      if (!ytr || !pva) rc = PROP_ERR_NOMEM;
    }
    if (!rc) {
      for (size_t i = 0; i < ntr; i++) ytr[i] = yf[idx_tr[i]];
      size_t d = pp_encoder_width(enc);
      for (size_t j = 0; j < M && !rc; j++) {
        char stage[64];
        snprintf(stage, sizeof stage, "cv:%s", r->members[j].ops->name);
        if ((rc = pp_progress(&ctx, stage, k, K))) break;
        void *model = NULL;
        double t0 = pp_now_seconds();
        pp_ctx fold_ctx = ctx; /* the fold's model predicts its held-out rows once */
        fold_ctx.transient = 1;
        fold_ctx.fit_round = (int)k + 1;
        rc = pp_fit_member(&r->members[j], r, Xtr, ytr, ntr, d, pp_encoder_colnames(enc), &fold_ctx,
                           pp_seed_derive(r->seed, 1000 * (k + 1) + j), &model);
        if (!rc) rc = r->members[j].ops->predict(model, Xva, nva, pva, NULL, ctx.nthread);
        rep[j].fit_seconds += pp_now_seconds() - t0;
        if (model) r->members[j].ops->free_model(model);
        if (rc) {
          pp_err_prefix(rc, "fold %zu, member %s: ", k + 1, r->members[j].ops->name);
          break;
        }
        const size_t bad = pp_first_non_probability(pva, nva); /* a member's bug must not reach the metrics */
        if (bad < nva) {
          rc = pp_err(PROP_ERR_BACKEND, "%s:%zu: fold %zu, member %s: probability %g (not in [0, 1])",
                      pp_frame_source(f), prop_frame_row_number(f, idx_va[bad]), k + 1, r->members[j].ops->name,
                      pva[bad]);
          break;
        }
        for (size_t i = 0; i < nva; i++) oof[idx_va[i] * M + j] = pva[i];
      }
    }
    pp_encoder_free(enc);
    free(Xtr);
    free(Xva);
    free(ytr);
    free(pva);
  }
  if (rc) goto done;

  /* ---- 2. per-member OOF metrics ------------------------------------------------------------ */
  {
    double *col = pp_malloc_array(n, sizeof *col);
    if (!col) {
      rc = PROP_ERR_NOMEM;
      goto done;
    }
    for (size_t j = 0; j < M; j++) {
      for (size_t i = 0; i < n; i++) col[i] = oof[i * M + j];
      rep[j].auc = pp_auc(col, y, n);
      rep[j].logloss = pp_logloss(col, y, n);
      rep[j].brier = pp_brier(col, y, n);
      pp_log(&ctx, PROP_LOG_INFO, "member %-14s OOF AUC %.4f  log-loss %.4f  Brier %.4f  (%.1f s)",
             r->members[j].ops->name, rep[j].auc, rep[j].logloss, rep[j].brier, rep[j].fit_seconds);
    }
    free(col);
  }

  /* ---- 3. selection and weights ------------------------------------------------------------ */
  size_t order[32], nsel = M;
  for (size_t j = 0; j < M; j++) order[j] = j;
  sort_members(order, M, rep);
  if (r->selection == PP_SELECT_TOPK && (size_t)r->top_k < M) nsel = (size_t)r->top_k;
  double w[32];
  double *P = pp_malloc_array(n, nsel * sizeof(double));
  double *score = pp_malloc_array(n, sizeof(double));
  if (!P || !score) {
    free(P);
    free(score);
    rc = PROP_ERR_NOMEM;
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t s = 0; s < nsel; s++) P[i * nsel + s] = oof[i * M + order[s]];
  if (r->weights == PP_WEIGHTS_FIT && r->voting == PP_VOTE_LOGIT) rc = pp_fit_vote_weights_logit(P, y, n, nsel, w);
  else if (r->weights == PP_WEIGHTS_FIT)
    rc = r->calibration == PP_CALIB_NONE ? pp_fit_vote_weights(P, y, n, nsel, w)
                                         : pp_fit_vote_weights_auc(P, y, n, nsel, 25, w);
  else
    for (size_t s = 0; s < nsel; s++) w[s] = r->weights == PP_WEIGHTS_FIXED ? r->members[order[s]].weight : 1.0;
  double wsum = 0;
  for (size_t s = 0; s < nsel; s++) wsum += w[s];
  if (!rc && !(wsum > 0)) rc = pp_err(PROP_ERR_RECIPE, "members: the selected members' weights sum to 0");
  if (rc) {
    free(P);
    free(score);
    goto done;
  }
  /* A member whose fitted weight is 0 adds nothing to the vote: it is left out of the model (and reported as
   * not selected), so scoring does not pay for it. */
  size_t kept = 0;
  for (size_t s = 0; s < nsel; s++) {
    if (!(w[s] > 0.0)) continue;
    order[kept] = order[s];
    w[kept] = w[s] / wsum;
    rep[order[kept]].selected = 1;
    rep[order[kept]].weight = w[kept];
    kept++;
  }
  nsel = kept;

  /* ---- the model object (members filled in step 5) ----------------------------------------- */
  m = pp_calloc(1, sizeof *m);
  if (!m || !(m->mem = pp_calloc(nsel, sizeof *m->mem))) {
    free(P);
    free(score);
    rc = PROP_ERR_NOMEM;
    goto done;
  }
  m->schema = schema;
  schema = NULL;
  m->voting = r->voting;
  m->nbands = r->nbands;
  memcpy(m->edges, r->edges, (r->nbands + 1) * sizeof(double));
  m->nmem = nsel;
  for (size_t s = 0; s < nsel; s++) {
    m->mem[s].ops = r->members[order[s]].ops;
    m->mem[s].weight = w[s];
  }
  for (size_t i = 0; i < n; i++) {
    double pk[32];
    for (size_t s = 0; s < nsel; s++) pk[s] = oof[i * M + order[s]];
    score[i] = pp_ensemble_combine(m, pk);
  }
  free(P);

  /* ---- 4. calibrator on OOF ensemble scores ------------------------------------------------- */
  m->calibration = r->calibration;
  if (r->calibration == PP_CALIB_PLATT) {
    double *lg = pp_malloc_array(n, sizeof *lg);
    if (!lg) rc = PROP_ERR_NOMEM;
    else {
      for (size_t i = 0; i < n; i++) lg[i] = logit(score[i]);
      rc = pp_platt_fit(lg, yf, n, &m->platt_a, &m->platt_b);
      free(lg);
    }
  } else if (r->calibration == PP_CALIB_ISOTONIC) {
    /* every level backed by calibration_min_rows out-of-fold rows, but at most n / 5 of them, so that
     * small training sets keep at least five possible levels */
    double minw = (double)r->calibration_min_rows;
    if (minw > (double)(n / 5)) minw = (double)(n / 5);
    rc = pp_isotonic_fit(score, yf, NULL, n, minw, &m->iso_x, &m->iso_v, &m->iso_k);
    m->iso_ends = PP_ISO_ENDS_RANGE;
    m->iso_lo = INFINITY;
    m->iso_hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      if (score[i] < m->iso_lo) m->iso_lo = score[i];
      if (score[i] > m->iso_hi) m->iso_hi = score[i];
    }
  }
  if (rc) {
    free(score);
    goto done;
  }
  double *cal = pp_malloc_array(n, sizeof *cal);
  if (!cal) {
    free(score);
    rc = PROP_ERR_NOMEM;
    goto done;
  }
  for (size_t i = 0; i < n; i++) cal[i] = pp_calibrate_apply(m, score[i]);

  meta = json_object();
  {
    char when[32];
    pp_utc_now_iso8601(when, sizeof when);
    json_object_set_new(meta, "library_version", json_string(PROP_VERSION_STRING));
    json_object_set_new(meta, "format_version", json_integer(PP_FORMAT_VERSION));
    json_object_set_new(meta, "created", json_string(when));
    json_object_set_new(meta, "source", json_string(pp_frame_source(f)));
    json_object_set_new(meta, "rows", json_integer((json_int_t)n));
    json_object_set_new(meta, "positives", json_integer((json_int_t)npos));
    json_object_set_new(meta, "base_rate", json_real((double)npos / (double)n));
    json_object_set_new(meta, "target", json_string(m->schema->target));
    json_object_set_new(meta, "positive_label", json_string(m->schema->positive));
    json_object_set_new(meta, "negative_label", m->schema->negative ? json_string(m->schema->negative) : json_null());
    json_t *inputs = json_array();
    for (size_t k = 0; k < nfeat; k++) {
      json_t *o = json_object();
      json_object_set_new(o, "name", json_string(m->schema->feat[k].name));
      json_object_set_new(o, "type",
                          json_string(m->schema->feat[k].type == PROP_COL_NUMERIC ? "numeric" : "categorical"));
      json_array_append_new(inputs, o);
    }
    json_object_set_new(meta, "inputs", inputs);
    json_t *mr = json_array();
    for (size_t j = 0; j < M; j++) {
      json_t *o = json_object();
      json_object_set_new(o, "name", json_string(r->members[j].ops->name));
      json_object_set_new(o, "oof_auc", json_real(rep[j].auc));
      json_object_set_new(o, "oof_logloss", json_real(rep[j].logloss));
      json_object_set_new(o, "oof_brier", json_real(rep[j].brier));
      json_object_set_new(o, "cv_fit_seconds", json_real(rep[j].fit_seconds));
      json_object_set_new(o, "selected", json_boolean(rep[j].selected));
      json_object_set_new(o, "weight", json_real(rep[j].weight));
      json_array_append_new(mr, o);
    }
    json_object_set_new(meta, "members", mr);
    json_t *ens = json_object();
    json_object_set_new(ens, "oof_auc", json_real(pp_auc(score, y, n)));
    json_object_set_new(ens, "oof_auc_calibrated", json_real(pp_auc(cal, y, n)));
    json_object_set_new(ens, "oof_ece_before_calibration", json_real(pp_ece(score, y, n, 10)));
    json_object_set_new(ens, "oof_ece_after_calibration", json_real(pp_ece(cal, y, n, 10)));
    json_object_set_new(ens, "oof_logloss", json_real(pp_logloss(cal, y, n)));
    json_object_set_new(ens, "oof_brier", json_real(pp_brier(cal, y, n)));
    json_object_set_new(ens, "oof_top30_capture", json_real(pp_capture(cal, y, n, 0.3)));
    json_object_set_new(ens, "oof_band_table", band_table_json(cal, y, n, m->edges, m->nbands));
    json_object_set_new(meta, "ensemble", ens);
  }
  free(score);
  free(cal);

  /* ---- 5. refit encoders and selected members on all rows ---------------------------------- */
  all = pp_malloc_array(n, sizeof *all);
  if (!all) {
    rc = PROP_ERR_NOMEM;
    goto done;
  }
  for (size_t i = 0; i < n; i++) all[i] = i;
  td.schema = m->schema;
  if ((rc = fit_encoder(&td, all, n, &r->enc, &m->enc))) goto done;
  m->width = pp_encoder_width(m->enc);
  {
    float *X = NULL;
    if ((rc = encode_rows(m->enc, &td, all, n, &X))) goto done;
    for (size_t s = 0; s < nsel && !rc; s++) {
      char stage[64];
      snprintf(stage, sizeof stage, "fit:%s", m->mem[s].ops->name);
      if ((rc = pp_progress(&ctx, stage, s, nsel))) break;
      double t0 = pp_now_seconds();
      pp_ctx refit_ctx = ctx;
      refit_ctx.fit_round = -1; /* the folds have said what every fit shares */
      rc = pp_fit_member(&r->members[order[s]], r, X, yf, n, m->width, pp_encoder_colnames(m->enc), &refit_ctx,
                         pp_seed_derive(r->seed, order[s]), &m->mem[s].model);
      if (rc) pp_err_prefix(rc, "final fit of %s: ", m->mem[s].ops->name);
      pp_log(&ctx, PROP_LOG_INFO, "refit %s on all rows (%.1f s)", m->mem[s].ops->name, pp_now_seconds() - t0);
      json_t *info = (!rc && m->mem[s].ops->info) ? m->mem[s].ops->info(m->mem[s].model) : NULL;
      if (info) {
        json_t *arr = json_object_get(meta, "members");
        json_object_set_new(json_array_get(arr, order[s]), "info", info);
      }
    }
    free(X);
    if (rc) goto done;
  }
  pp_progress(&ctx, "done", 1, 1);
  json_object_set_new(meta, "importance", importance_json(m));
  json_object_set_new(meta, "recipe", pp_recipe_json(r));
  json_object_set_new(meta, "train_seconds", json_real(pp_now_seconds() - t_start));
  m->meta_json = json_dumps(meta, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  {
    json_t *rj = pp_recipe_json(r);
    m->recipe_json = json_dumps(rj, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(rj);
  }
  if (!m->meta_json || !m->recipe_json) {
    rc = pp_err(PROP_ERR_NOMEM, "out of memory while writing metadata");
    goto done;
  }
  *out = m;
  m = NULL;
  pp_err_restore(&caller_err);

done:
  if (m) prop_model_free(m);
  json_decref(meta);
  pp_schema_free(schema);
  pp_binding_free(bind);
  free(y);
  free(pos_label);
  free(yf);
  free(raw);
  free(st);
  free(fold);
  free(oof);
  free(idx_tr);
  free(idx_va);
  free(all);
  free(rep);
  prop_recipe_free(own_recipe);
  return rc;
}

void prop_model_free(prop_model *m) {
  if (!m) return;
  for (size_t j = 0; j < m->nmem; j++)
    if (m->mem[j].ops && m->mem[j].model) m->mem[j].ops->free_model(m->mem[j].model);
  free(m->mem);
  pp_schema_free(m->schema);
  pp_encoder_free(m->enc);
  free(m->iso_x);
  free(m->iso_v);
  free(m->recipe_json);
  free(m->meta_json);
  free(m);
}
