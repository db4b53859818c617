/* The last step of training: the model's metadata (rows, labels, inputs, every member's out-of-fold
 * report, the ensemble's out-of-fold metrics and band table, importance, recipe) as JSON. */
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "io/bundle.h"
#include "pipeline/jsonw.h"
#include "pipeline/train_job.h"

static json_t *band_table_json(const double *prob, const int *y, size_t n, const pp_bands *bands) {
  prop_band_row rows[64];
  if (prop_band_table(prob, y, NULL, n, bands->edges, bands->n, rows, NULL) != 0) return json_null();
  pp_jb jb = {0};
  json_t *arr = pp_band_rows_json(&jb, rows, bands->n, 0);
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

static json_t *inputs_json(const pp_schema *s) {
  json_t *inputs = json_array();
  for (size_t k = 0; k < s->nfeat; k++) {
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(s->feat[k].name));
    json_object_set_new(o, "type", json_string(s->feat[k].type == PROP_COL_NUMERIC ? "numeric" : "categorical"));
    json_array_append_new(inputs, o);
  }
  return inputs;
}

static json_t *members_json(const train_job *job) {
  json_t *mr = json_array();
  for (size_t j = 0; j < job->r->nmembers; j++) {
    const pp_member_report *rep = &job->rep[j];
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(job->r->members[j].ops->name));
    json_object_set_new(o, "oof_auc", json_real(rep->auc));
    json_object_set_new(o, "oof_logloss", json_real(rep->logloss));
    json_object_set_new(o, "oof_brier", json_real(rep->brier));
    json_object_set_new(o, "cv_fit_seconds", json_real(rep->fit_seconds));
    json_object_set_new(o, "selected", json_boolean(rep->selected));
    json_object_set_new(o, "weight", json_real(rep->weight));
    if (rep->info) json_object_set(o, "info", rep->info);
    json_array_append_new(mr, o);
  }
  return mr;
}

static json_t *ensemble_json(const train_job *job) {
  const double *score = job->score, *cal = job->cal;
  const int *y = job->ts.y;
  const size_t n = job->ts.n;
  json_t *ens = json_object();
  json_object_set_new(ens, "oof_auc", json_real(pp_auc(score, y, n)));
  json_object_set_new(ens, "oof_auc_calibrated", json_real(pp_auc(cal, y, n)));
  json_object_set_new(ens, "oof_ece_before_calibration", json_real(pp_ece(score, y, n, 10)));
  json_object_set_new(ens, "oof_ece_after_calibration", json_real(pp_ece(cal, y, n, 10)));
  json_object_set_new(ens, "oof_logloss", json_real(pp_logloss(cal, y, n)));
  json_object_set_new(ens, "oof_brier", json_real(pp_brier(cal, y, n)));
  json_object_set_new(ens, "oof_top30_capture", json_real(pp_capture(cal, y, n, 0.3)));
  json_object_set_new(ens, "oof_band_table", band_table_json(cal, y, n, &job->m->bands));
  return ens;
}

/* The text of j (NULL with PROP_ERR_NOMEM when jansson ran out of memory since the training began,
 * which may have left j short); takes j. */
static char *dump(json_t *j, int precision, unsigned mark, const char *what) {
  char *text = pp_json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(precision), mark, what);
  json_decref(j);
  return text;
}

int pp_train_report(train_job *job) {
  prop_model *m = job->m;
  const size_t n = job->ts.n;
  char when[32];
  pp_utc_now_iso8601(when, sizeof when);
  json_t *meta = json_object();
  json_object_set_new(meta, "library_version", json_string(PROP_VERSION_STRING));
  json_object_set_new(meta, "format_version", json_integer(PP_FORMAT_VERSION));
  json_object_set_new(meta, "created", json_string(when));
  json_object_set_new(meta, "source", json_string(pp_frame_source(job->ts.f)));
  json_object_set_new(meta, "rows", json_integer((json_int_t)n));
  json_object_set_new(meta, "positives", json_integer((json_int_t)job->ts.npos));
  json_object_set_new(meta, "base_rate", json_real((double)job->ts.npos / (double)n));
  json_object_set_new(meta, "target", json_string(m->schema->target));
  json_object_set_new(meta, "positive_label", json_string(m->schema->positive));
  json_object_set_new(meta, "negative_label", m->schema->negative ? json_string(m->schema->negative) : json_null());
  json_object_set_new(meta, "inputs", inputs_json(m->schema));
  json_object_set_new(meta, "members", members_json(job));
  json_object_set_new(meta, "ensemble", ensemble_json(job));
  json_object_set_new(meta, "importance", importance_json(m));
  json_object_set_new(meta, "recipe", pp_recipe_json(job->r));
  json_object_set_new(meta, "train_seconds", json_real(pp_now_seconds() - job->t_start));
  m->meta_json = dump(meta, 10, job->mark, "the model's metadata");
  m->recipe_json = dump(pp_recipe_json(job->r), 17, job->mark, "the model's recipe");
  if (!m->meta_json || !m->recipe_json) return PROP_ERR_NOMEM;
  return 0;
}
