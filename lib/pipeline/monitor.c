/* prop_monitor(): this month's rows against the model's training rows (lib/monitor's reference):
 * the score's PSI, each input's CSI, the band shares, and with outcomes the realised rate per band; with a
 * time column the same per period.  The JSON layout is in README "Monitoring". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "pipeline/jsonw.h"
#include "pipeline/pipeline.h"

#define SCHEMA_VERSION 1

void prop_monitor_options_default(prop_monitor_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
  opt->watch = 0.1;
  opt->act = 0.25;
}

int prop_model_has_reference(const prop_model *m) { return m && m->ref ? 1 : 0; }

static const char *const k_level[3] = {"ok", "watch", "act"};

/* Everything the sections share: the rows bound and scored once. */
typedef struct mon {
  const prop_model *m;
  const pp_reference *ref;
  const prop_monitor_options *o;
  size_t n, nf;
  double *raw;  /* n x nf */
  int *st;      /* n: 0 when the row was read and scored */
  double *prob; /* n */
  int *band;    /* n */
  int *y;       /* n labels, or NULL */
  pp_jb b;
  unsigned mark; /* pp_json_mark() before the report is built */
} mon;

static int level_of(const mon *M, double si) { return si >= M->o->act ? PROP_DRIFT_ACT : si >= M->o->watch; }

static json_t *share_bin(pp_jb *b, const char *label, uint64_t ref, uint64_t rn, uint64_t got, size_t gn) {
  json_t *o = json_object();
  pp_jset(b, o, "bin", pp_jstr(label));
  pp_jset(b, o, "reference_share", pp_jnum(rn ? (double)ref / (double)rn : NAN));
  pp_jset(b, o, "share", pp_jnum(gn ? (double)got / (double)gn : NAN));
  return o;
}

/* The label of bin k of edges e[ne]: "(-inf, e0]", "(e0, e1]", ..., "(e_last, inf)". */
static void edge_label(char *buf, size_t cap, const double *e, size_t ne, size_t k) {
  char lo[40] = "-inf", hi[40] = "inf";
  if (k > 0) snprintf(lo, sizeof lo, "%s", PP_G(e[k - 1]));
  if (k < ne) snprintf(hi, sizeof hi, "%s", PP_G(e[k]));
  snprintf(buf, cap, "(%s, %s%s", lo, hi, k < ne ? "]" : ")");
}

/* The score over rows idx[cnt]: its PSI and bins into *out; the level into *level. */
static double score_part(mon *M, const size_t *idx, size_t cnt, json_t **out, int *level) {
  const pp_reference *r = M->ref;
  uint64_t got[PP_REF_EDGES + 1] = {0};
  for (size_t t = 0; t < cnt; t++) got[pp_ref_bin(r->score_edges, r->nscore_edges, M->prob[idx[t]])]++;
  const size_t B = r->nscore_edges + 1;
  double psi = pp_stability_index(r->score_count, r->n, got, cnt, B);
  *level = level_of(M, psi);
  if (out) {
    *out = json_object();
    pp_jset(&M->b, *out, "psi", pp_jnum(psi));
    pp_jset(&M->b, *out, "status", pp_jstr(k_level[*level]));
    json_t *bins = json_array();
    for (size_t k = 0; k < B; k++) {
      char label[96];
      edge_label(label, sizeof label, r->score_edges, r->nscore_edges, k);
      pp_jpush(&M->b, bins, share_bin(&M->b, label, r->score_count[k], r->n, got[k], cnt));
    }
    pp_jset(&M->b, *out, "bins", bins);
  }
  return psi;
}

/* Input k over rows idx[cnt]: counts per bin (value bins, missing, and for categories unseen). */
static double input_csi(const mon *M, size_t k, const size_t *idx, size_t cnt, uint64_t *got, uint64_t *ref, size_t *B) {
  const pp_ref_input *ri = &M->ref->in[k];
  *B = ri->nbins + 1 + (ri->type == PROP_COL_CATEGORICAL);
  memset(got, 0, *B * sizeof *got);
  memcpy(ref, ri->count, (ri->nbins + 1) * sizeof *ref);
  if (*B > ri->nbins + 1) ref[ri->nbins + 1] = 0; /* no training row had an unseen category */
  for (size_t t = 0; t < cnt; t++) {
    size_t bin = pp_ref_input_bin(ri, M->raw[idx[t] * M->nf + k]);
    if (bin < *B) got[bin]++;
  }
  return pp_stability_index(ref, M->ref->n, got, cnt, *B);
}

static json_t *input_json(mon *M, size_t k, double csi, const uint64_t *got, const uint64_t *ref, size_t B, size_t cnt) {
  const pp_feature *f = &M->m->schema->feat[k];
  const pp_ref_input *ri = &M->ref->in[k];
  json_t *o = json_object();
  pp_jset(&M->b, o, "name", pp_jstr(f->name));
  pp_jset(&M->b, o, "type", pp_jstr(f->type == PROP_COL_NUMERIC ? "numeric" : "categorical"));
  pp_jset(&M->b, o, "csi", pp_jnum(csi));
  pp_jset(&M->b, o, "status", pp_jstr(k_level[level_of(M, csi)]));
  json_t *bins = json_array();
  for (size_t j = 0; j < B; j++) {
    char label[96];
    if (j == ri->nbins) snprintf(label, sizeof label, "missing");
    else if (j > ri->nbins) snprintf(label, sizeof label, "unseen");
    else if (f->type == PROP_COL_NUMERIC) edge_label(label, sizeof label, ri->edges, ri->nedges, j);
    else snprintf(label, sizeof label, "%.90s", f->cats[j]);
    pp_jpush(&M->b, bins, share_bin(&M->b, label, ref[j], M->ref->n, got[j], cnt));
  }
  pp_jset(&M->b, o, "bins", bins);
  return o;
}

/* Every input over rows idx[cnt]: a JSON array sorted by CSI descending (when arr is wanted), the worst
 * input's index and CSI. */
static int inputs_part(mon *M, const size_t *idx, size_t cnt, json_t **arr, size_t *worst_k, double *worst_csi) {
  size_t maxb = 2;
  for (size_t k = 0; k < M->nf; k++)
    if (M->ref->in[k].nbins + 2 > maxb) maxb = M->ref->in[k].nbins + 2;
  uint64_t *got = pp_malloc_array(maxb, sizeof *got), *ref = pp_malloc_array(maxb, sizeof *ref);
  double *csi = pp_malloc_array(M->nf ? M->nf : 1, sizeof *csi);
  size_t *ord = pp_malloc_array(M->nf ? M->nf : 1, sizeof *ord);
  json_t **items = arr ? pp_calloc(M->nf ? M->nf : 1, sizeof *items) : NULL;
  int rc = (!got || !ref || !csi || !ord || (arr && !items)) ? PROP_ERR_NOMEM : 0;
  *worst_k = M->nf;
  *worst_csi = -1;
  for (size_t k = 0; k < M->nf && !rc; k++) {
    size_t B;
    csi[k] = input_csi(M, k, idx, cnt, got, ref, &B);
    if (items) items[k] = input_json(M, k, csi[k], got, ref, B, cnt);
    if (csi[k] > *worst_csi) *worst_csi = csi[k], *worst_k = k;
  }
  if (!rc && arr) {
    for (size_t k = 0; k < M->nf; k++) ord[k] = k;
    for (size_t i = 1; i < M->nf; i++) { /* insertion sort by CSI descending, stable */
      size_t v = ord[i], j = i;
      while (j > 0 && csi[ord[j - 1]] < csi[v]) ord[j] = ord[j - 1], j--;
      ord[j] = v;
    }
    *arr = json_array();
    for (size_t i = 0; i < M->nf; i++) pp_jpush(&M->b, *arr, items[ord[i]]);
  }
  free(got), free(ref), free(csi), free(ord), free(items);
  return rc;
}

/* Band shares over rows idx[cnt] against the training's. */
static json_t *bands_part(mon *M, const size_t *idx, size_t cnt) {
  const pp_bands *bd = &M->m->bands;
  uint64_t got[64] = {0};
  for (size_t t = 0; t < cnt; t++)
    if (M->band[idx[t]] >= 1) got[M->band[idx[t]] - 1]++;
  json_t *arr = json_array();
  for (size_t b = 0; b < bd->n; b++) {
    json_t *o = json_object();
    pp_jset(&M->b, o, "band", json_integer((json_int_t)b + 1));
    pp_jset(&M->b, o, "lo", pp_jnum(bd->edges[b]));
    pp_jset(&M->b, o, "hi", pp_jnum(bd->edges[b + 1]));
    pp_jset(&M->b, o, "reference_share", pp_jnum((double)M->ref->band_count[b] / (double)M->ref->n));
    pp_jset(&M->b, o, "share", pp_jnum(cnt ? (double)got[b] / (double)cnt : NAN));
    pp_jpush(&M->b, arr, o);
  }
  return arr;
}

/* With outcomes: the AUC and per band the observed rate, its Wilson interval and how it sits against the
 * band's range ("within" while the interval meets the range). */
static int outcome_part(mon *M, const size_t *idx, size_t cnt, json_t **out, double *auc) {
  double *p = pp_malloc_array(cnt ? cnt : 1, sizeof *p);
  int *y = pp_malloc_array(cnt ? cnt : 1, sizeof *y);
  if (!p || !y) {
    free(p), free(y);
    return PROP_ERR_NOMEM;
  }
  size_t rows[64] = {0}, pos[64] = {0}, npos = 0;
  for (size_t t = 0; t < cnt; t++) {
    p[t] = M->prob[idx[t]];
    y[t] = M->y[idx[t]];
    npos += (size_t)y[t];
    int b = M->band[idx[t]];
    if (b >= 1) rows[b - 1]++, pos[b - 1] += (size_t)y[t];
  }
  *auc = pp_auc(p, y, cnt);
  free(p), free(y);
  if (!out) return 0;
  *out = json_object();
  pp_jset(&M->b, *out, "rows", pp_jsize(cnt));
  pp_jset(&M->b, *out, "positives", pp_jsize(npos));
  pp_jset(&M->b, *out, "auc", pp_jnum(*auc));
  json_t *arr = json_array();
  const pp_bands *bd = &M->m->bands;
  for (size_t b = 0; b < bd->n; b++) {
    double lo, hi, rate = rows[b] ? (double)pos[b] / (double)rows[b] : NAN;
    pp_wilson(pos[b], rows[b], 1.96, &lo, &hi);
    const char *check = !rows[b] ? "no rows" : hi < bd->edges[b] ? "below" : lo > bd->edges[b + 1] ? "above" : "within";
    json_t *o = json_object();
    pp_jset(&M->b, o, "band", json_integer((json_int_t)b + 1));
    pp_jset(&M->b, o, "lo", pp_jnum(bd->edges[b]));
    pp_jset(&M->b, o, "hi", pp_jnum(bd->edges[b + 1]));
    pp_jset(&M->b, o, "rows", pp_jsize(rows[b]));
    pp_jset(&M->b, o, "positives", pp_jsize(pos[b]));
    pp_jset(&M->b, o, "rate", pp_jnum(rate));
    pp_jset(&M->b, o, "rate_lo", pp_jnum(lo));
    pp_jset(&M->b, o, "rate_hi", pp_jnum(hi));
    pp_jset(&M->b, o, "check", pp_jstr(check));
    pp_jpush(&M->b, arr, o);
  }
  pp_jset(&M->b, *out, "bands", arr);
  return 0;
}

/* ---- the rows ------------------------------------------------------------------------------------- */
static void mon_free(mon *M) {
  free(M->raw), free(M->st), free(M->prob), free(M->band), free(M->y);
}

/* The rows bound to the model's inputs (a missing input is PROP_ERR_SCHEMA naming it), scored, and the
 * outcomes read as the model's training read its target. */
static int mon_read(mon *M, const prop_frame *f) {
  M->n = f->nrows;
  M->nf = M->m->schema->nfeat;
  const size_t n1 = M->n ? M->n : 1;
  M->raw = pp_malloc_array(n1, (M->nf ? M->nf : 1) * sizeof *M->raw);
  M->st = pp_calloc(n1, sizeof *M->st);
  M->prob = pp_malloc_array(n1, sizeof *M->prob);
  M->band = pp_malloc_array(n1, sizeof *M->band);
  if (!M->raw || !M->st || !M->prob || !M->band) return PROP_ERR_NOMEM;
  pp_binding *bind = NULL;
  PP_TRY(pp_binding_create(M->m->schema, f, &bind));
  pp_binding_rows(bind, 0, M->n, M->raw, M->st);
  pp_binding_free(bind);
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = M->o->nthread;
  int *st2 = pp_malloc_array(n1, sizeof *st2);
  if (!st2) return PROP_ERR_NOMEM;
  int rc = prop_model_predict_frame(M->m, f, M->prob, M->band, st2, &po);
  for (size_t i = 0; !rc && i < M->n; i++)
    if (!M->st[i]) M->st[i] = st2[i];
  free(st2);
  PP_TRY(rc);
  if (!M->o->target) return 0;
  if (!(M->y = pp_malloc_array(n1, sizeof *M->y))) return PROP_ERR_NOMEM;
  if (M->o->positive) {
    char *pos = NULL;
    int *y = NULL;
    rc = pp_frame_binary_column(f, M->o->target, M->o->positive, NULL, &y, &pos, NULL);
    if (!rc) memcpy(M->y, y, M->n * sizeof *y);
    free(y), free(pos);
    return rc;
  }
  return prop_model_target_values(M->m, f, M->o->target, M->y);
}

/* One section of the report over rows idx[cnt] (all rows, or a period's): score, inputs, bands, outcome;
 * *level gets the worst of the score and the inputs. */
static int section(mon *M, const size_t *idx, size_t cnt, json_t *into, int full, int *level) {
  json_t *score = NULL, *inputs = NULL, *outcome = NULL;
  int ls;
  double psi = score_part(M, idx, cnt, full ? &score : NULL, &ls);
  size_t wk;
  double wcsi;
  int rc = inputs_part(M, idx, cnt, full ? &inputs : NULL, &wk, &wcsi);
  if (rc) {
    json_decref(score);
    return rc;
  }
  int li = wk < M->nf ? level_of(M, wcsi) : PROP_DRIFT_OK;
  *level = ls > li ? ls : li;
  pp_jset(&M->b, into, "rows", pp_jsize(cnt));
  pp_jset(&M->b, into, "score_psi", pp_jnum(psi));
  pp_jset(&M->b, into, "score_status", pp_jstr(k_level[ls]));
  pp_jset(&M->b, into, "worst_input", pp_jstr(wk < M->nf ? M->m->schema->feat[wk].name : NULL));
  pp_jset(&M->b, into, "worst_csi", pp_jnum(wk < M->nf ? wcsi : NAN));
  pp_jset(&M->b, into, "status", pp_jstr(k_level[*level]));
  if (full) {
    pp_jset(&M->b, into, "score", score);
    pp_jset(&M->b, into, "inputs", inputs);
    pp_jset(&M->b, into, "bands", bands_part(M, idx, cnt));
  }
  double auc = NAN;
  if (M->y) PP_TRY(outcome_part(M, idx, cnt, full ? &outcome : NULL, &auc));
  if (full) pp_jset(&M->b, into, "outcome", M->y ? outcome : json_null());
  else pp_jset(&M->b, into, "auc", M->y ? pp_jnum(auc) : json_null());
  return 0;
}

/* ---- periods -------------------------------------------------------------------------------------- */
typedef struct period_row {
  const char *label; /* text periods */
  double v;          /* numeric periods */
  size_t i;
} period_row;

static int cmp_period(const void *a, const void *b) {
  const period_row *x = a, *y = b;
  int c = x->label ? strcmp(x->label, y->label) : (x->v > y->v) - (x->v < y->v);
  return c ? c : (x->i > y->i) - (x->i < y->i);
}

static int same_period(const period_row *x, const period_row *y) {
  return x->label ? strcmp(x->label, y->label) == 0 : x->v == y->v;
}

/* The scored rows grouped by the time column's value, in sorted order: one entry each. */
static int periods_part(mon *M, const prop_frame *f, json_t *arr) {
  long tc = prop_frame_find(f, M->o->time_col);
  if (tc < 0) return pp_err(PROP_ERR_SCHEMA, "%s: time column '%s' not found", pp_frame_source(f), M->o->time_col);
  const int numeric = prop_frame_column_type(f, (size_t)tc) == PROP_COL_NUMERIC;
  double *num = numeric ? pp_malloc_array(M->n ? M->n : 1, sizeof *num) : NULL;
  period_row *pr = pp_malloc_array(M->n ? M->n : 1, sizeof *pr);
  size_t *idx = pp_malloc_array(M->n ? M->n : 1, sizeof *idx), m = 0;
  int rc = (!pr || !idx || (numeric && !num)) ? PROP_ERR_NOMEM : 0;
  if (!rc && numeric) rc = prop_frame_numeric_values(f, (size_t)tc, num);
  for (size_t i = 0; !rc && i < M->n; i++) {
    if (M->st[i]) continue;
    period_row p = {numeric ? NULL : prop_frame_string_value(f, (size_t)tc, i), numeric ? num[i] : 0, i};
    if (numeric ? p.v != p.v : !p.label)
      rc = pp_err(PROP_ERR_VALUE, "%s:%zu:%s: missing period", pp_frame_source(f), prop_frame_row_number(f, i),
                  M->o->time_col);
    pr[m++] = p;
  }
  if (!rc) qsort(pr, m, sizeof *pr, cmp_period);
  for (size_t a = 0; !rc && a < m;) {
    size_t b = a, cnt = 0;
    while (b < m && same_period(&pr[a], &pr[b])) idx[cnt++] = pr[b++].i;
    json_t *o = json_object();
    pp_jset(&M->b, o, "period", numeric ? pp_jnum(pr[a].v) : pp_jstr(pr[a].label));
    int level;
    rc = section(M, idx, cnt, o, 0, &level);
    pp_jpush(&M->b, arr, o);
    a = b;
  }
  free(num), free(pr), free(idx);
  return rc;
}

/* ---- the report ------------------------------------------------------------------------------------ */
static int report(mon *M, const prop_frame *f, char **json, int *worst) {
  size_t *idx = pp_malloc_array(M->n ? M->n : 1, sizeof *idx), cnt = 0;
  if (!idx) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < M->n; i++)
    if (!M->st[i]) idx[cnt++] = i;
  json_t *root = json_object();
  pp_jset(&M->b, root, "schema_version", json_integer(SCHEMA_VERSION));
  pp_jset(&M->b, root, "tool", pp_jstr("propensity monitor"));
  pp_jset(&M->b, root, "library_version", pp_jstr(PROP_VERSION_STRING));
  pp_jset(&M->b, root, "data", pp_jstr(M->o->data_path));
  pp_jset(&M->b, root, "reference_rows", json_integer((json_int_t)M->ref->n));
  pp_jset(&M->b, root, "unscored_rows", pp_jsize(M->n - cnt));
  json_t *th = json_object();
  pp_jset(&M->b, th, "watch", pp_jnum(M->o->watch));
  pp_jset(&M->b, th, "act", pp_jnum(M->o->act));
  pp_jset(&M->b, root, "thresholds", th);
  int level = PROP_DRIFT_OK;
  int rc = section(M, idx, cnt, root, 1, &level);
  free(idx);
  json_t *periods = json_array();
  if (!rc && M->o->time_col) rc = periods_part(M, f, periods);
  pp_jset(&M->b, root, "periods", periods);
  if (!rc && M->b.failed) rc = pp_err(PROP_ERR_NOMEM, "out of memory while writing the monitoring report");
  if (!rc && !(*json = pp_json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10), M->mark,
                                     "the monitoring report")))
    rc = PROP_ERR_NOMEM;
  json_decref(root);
  if (!rc && worst) *worst = level;
  return rc;
}

int prop_monitor(const prop_model *m, const prop_frame *f, const prop_monitor_options *opt, char **json, int *worst) {
  if (!json) return pp_err(PROP_ERR_ARG, "prop_monitor: json is NULL");
  *json = NULL;
  if (!m || !f) return pp_err(PROP_ERR_ARG, "prop_monitor: NULL model or frame");
  prop_monitor_options o;
  prop_monitor_options_default(&o);
  PP_TRY(pp_opts_import(&o, sizeof o, opt, "prop_monitor_options"));
  if (!(o.watch > 0 && o.watch <= o.act && isfinite(o.act)))
    return pp_err(PROP_ERR_ARG, "prop_monitor: thresholds must satisfy 0 < watch <= act, got %s and %s", PP_G(o.watch),
                  PP_G(o.act));
  if (!m->ref)
    return pp_err(PROP_ERR_STATE, "the model keeps no reference of its training rows (it was trained before "
                  "monitoring existed): train it again to monitor it");
  mon M;
  memset(&M, 0, sizeof M);
  M.mark = pp_json_mark();
  M.m = m;
  M.ref = m->ref;
  M.o = &o;
  int rc = mon_read(&M, f);
  if (!rc) rc = report(&M, f, json, worst);
  mon_free(&M);
  return rc;
}
