/* Out-of-time validation: train on months 1..k, score month k+1, for each k. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "pipeline/jsonw.h"
#include "pipeline/pipeline.h"

int prop_backtest(const prop_frame *f, const prop_recipe *r, const prop_train_options *opt, size_t min_train_months,
                  char **json) {
  if (!f || !opt || !json) return pp_err(PROP_ERR_ARG, "prop_backtest: NULL argument");
  *json = NULL;
  prop_train_options own;
  prop_train_options_default(&own);
  PP_TRY(pp_opts_import(&own, sizeof own, opt, "prop_train_options"));
  opt = &own;
  if (!opt->time_col) return pp_err(PROP_ERR_ARG, "prop_backtest: options.time_col is required");
  size_t n = f->nrows;
  if (min_train_months < 1) return pp_err(PROP_ERR_ARG, "prop_backtest: min_train_months must be at least 1");
  /* key[i]: row i's period (lib/data/period.c); months: the distinct ones, in order */
  double *months = pp_malloc_array(n ? n : 1, sizeof *months), *key = pp_malloc_array(n ? n : 1, sizeof *key);
  int format = PROP_PERIOD_INTEGER;
  int rc0 = !months || !key ? PROP_ERR_NOMEM : pp_frame_periods(f, opt->time_col, key, &format);
  if (rc0) {
    free(months);
    free(key);
    return rc0;
  }
  if (n) memcpy(months, key, n * sizeof *months);
  qsort(months, n, sizeof *months, pp_cmp_double);
  size_t nu = 0;
  for (size_t i = 0; i < n; i++)
    if (nu == 0 || months[i] != months[nu - 1]) months[nu++] = months[i];
  if (nu <= min_train_months) {
    free(months);
    free(key);
    return pp_err(PROP_ERR_TRAIN, "%s: '%s' has %zu distinct values; back-testing needs more than %zu",
                  pp_frame_source(f), opt->time_col, nu, min_train_months);
  }
  size_t *idx_tr = pp_malloc_array(n ? n : 1, sizeof *idx_tr), *idx_te = pp_malloc_array(n ? n : 1, sizeof *idx_te);
  const unsigned mark = pp_json_mark(); /* jansson's allocations fail silently: checked at the end */
  json_t *root = json_object(), *arr = json_array();
  int rc = (!idx_tr || !idx_te) ? PROP_ERR_NOMEM : 0;
  pp_ctx ctx;
  pp_ctx_init(&ctx, opt, 0);
  for (size_t k = min_train_months; k < nu && !rc; k++) {
    size_t ntr = 0, nte = 0;
    char period[24];
    pp_period_name(months[k], format, period, sizeof period);
    for (size_t i = 0; i < n; i++) {
      if (key[i] < months[k]) idx_tr[ntr++] = i;
      else if (key[i] == months[k]) idx_te[nte++] = i;
    }
    prop_frame *ftr = NULL, *fte = NULL;
    prop_model *model = NULL;
    double *p = NULL;
    int *band = NULL, *y = NULL, *conn = NULL, *st = NULL;
    char *pos = NULL, *cpos = NULL;
    if ((rc = pp_progress(&ctx, "backtest", k - min_train_months, nu - min_train_months))) break;
    rc = pp_frame_subset(f, idx_tr, ntr, &ftr);
    if (!rc) rc = pp_frame_subset(f, idx_te, nte, &fte);
    if (!rc) {
      prop_train_options o2 = *opt;
      o2.progress = NULL; /* progress is reported per month here */
      rc = prop_model_train(ftr, r, &o2, &model);
      if (rc) pp_err_prefix(rc, "training on months before %s: ", period);
    }
    if (!rc) {
      p = pp_malloc_array(nte ? nte : 1, sizeof *p);
      band = pp_malloc_array(nte ? nte : 1, sizeof *band);
      st = pp_malloc_array(nte ? nte : 1, sizeof *st);
      if (!p || !band || !st) rc = PROP_ERR_NOMEM;
    }
    prop_predict_options po = pp_eval_predict_options(opt->nthread);
    if (!rc) rc = prop_model_predict_frame(model, fte, p, band, st, &po);
    for (size_t i = 0; !rc && i < nte; i++) /* a month's metrics are over all its rows, or none */
      if (st[i]) {
        const char *why = prop_frame_row_error(fte, i);
        rc = pp_err(st[i], "%s:%zu: month %s: the row cannot be scored (%s)", pp_frame_source(fte),
                    prop_frame_row_number(fte, i), period, why ? why : "an infinite number");
      }
    if (!rc) rc = pp_frame_binary_column(fte, model->schema->target, model->schema->positive, model->schema->negative, &y,
                                           &pos, NULL);
    if (!rc && opt->connected && prop_frame_find(fte, opt->connected) >= 0)
      rc = pp_frame_binary_column(fte, opt->connected, NULL, NULL, &conn, &cpos, NULL);
    if (!rc) {
      prop_band_row rows[64];
      rc = prop_band_table(p, y, conn, nte, model->bands.edges, model->bands.n, rows, NULL); /* every row scored */
      if (!rc) {
        size_t npos = 0;
        for (size_t i = 0; i < nte; i++) npos += (size_t)y[i];
        json_t *o = json_object();
        json_object_set_new(o, "month", json_real(months[k]));
        json_object_set_new(o, "period", json_string(period));
        json_object_set_new(o, "train_rows", json_integer((json_int_t)ntr));
        json_object_set_new(o, "rows", json_integer((json_int_t)nte));
        json_object_set_new(o, "positives", json_integer((json_int_t)npos));
        double auc = pp_auc(p, y, nte); /* NaN (null) when the month has one class only */
        json_object_set_new(o, "auc", pp_jnum(auc));
        json_object_set_new(o, "ece", pp_jnum(pp_ece(p, y, nte, 10)));
        json_object_set_new(o, "capture_top10", pp_jnum(pp_capture(p, y, nte, 0.1)));
        json_object_set_new(o, "capture_top20", pp_jnum(pp_capture(p, y, nte, 0.2)));
        json_object_set_new(o, "capture_top30", pp_jnum(pp_capture(p, y, nte, 0.3)));
        pp_jb jb = {0};
        json_object_set_new(o, "bands", pp_band_rows_json(&jb, rows, model->bands.n, conn != NULL));
        if (jb.failed) rc = pp_err(PROP_ERR_NOMEM, "out of memory while writing the back-test report");
        json_t *mem = json_array();
        for (size_t j = 0; j < model->nmem; j++) json_array_append_new(mem, json_string(model->mem[j].ops->name));
        json_object_set_new(o, "members", mem);
        json_array_append_new(arr, o);
        pp_log(&ctx, PROP_LOG_INFO, "month %s: AUC %.4f on %zu rows", period, auc, nte);
      }
    }
    prop_frame_free(ftr);
    prop_frame_free(fte);
    prop_model_free(model);
    free(p);
    free(band);
    free(st);
    free(y);
    free(pos);
    free(conn);
    free(cpos);
  }
  if (!rc) {
    json_object_set_new(root, "time_column", json_string(opt->time_col));
    json_object_set_new(root, "target", json_string(opt->target));
    json_object_set_new(root, "months", arr);
    arr = NULL;
    *json = pp_json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10), mark,
                          "the back-test report");
    if (!*json) rc = PROP_ERR_NOMEM;
  }
  json_decref(arr);
  json_decref(root);
  free(months);
  free(key);
  free(idx_tr);
  free(idx_te);
  return rc;
}
