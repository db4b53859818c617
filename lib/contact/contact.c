/* prop_contact_fit() and the contact model's accessors and predictions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/jsonx.h"
#include "contact/contact.h"
#include "data/frame.h"


void prop_contact_options_default(prop_contact_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
  opt->first_hour = 8;
  opt->block_hours = 2;
  opt->n_blocks = 7;
  opt->tz_minutes = PROP_CONTACT_TZ_AS_WRITTEN;
  opt->holdout_fraction = 0.2;
}

const char *pp_grid_day_name(int day) { return day ? "weekend" : "weekday"; }

long pp_grid_channel(const pp_grid *g, const char *name) {
  for (size_t h = 0; h < g->nchan; h++)
    if (strcmp(g->channels[h], name) == 0) return (long)h;
  return -1;
}

void pp_grid_free(pp_grid *g) {
  for (size_t h = 0; h < g->nchan; h++) free(g->channels[h]);
  free(g->channels);
  memset(g, 0, sizeof *g);
}

static int check_options(const prop_contact_options *o) {
  const char *need[4] = {o->id, o->time, o->channel, o->outcome};
  static const char *const what[4] = {"id", "time", "channel", "outcome"};
  for (int q = 0; q < 4; q++)
    if (!need[q] || !*need[q]) return pp_err(PROP_ERR_ARG, "contact options: the %s column is required", what[q]);
  if (o->block_hours < 1 || o->n_blocks < 1 || o->first_hour < 0 ||
      o->first_hour + (long)o->n_blocks * o->block_hours > 24)
    return pp_err(PROP_ERR_ARG, "contact grid: blocks of %d hours from %d:00, %d of them, must end by 24:00",
                  o->block_hours, o->first_hour, o->n_blocks);
  if (!(o->holdout_fraction >= 0.0 && o->holdout_fraction <= 0.5))
    return pp_err(PROP_ERR_ARG, "contact options: holdout_fraction must be in [0, 0.5], got %s", PP_G(o->holdout_fraction));
  if (o->tz_minutes != PROP_CONTACT_TZ_AS_WRITTEN && (o->tz_minutes < -840 || o->tz_minutes > 840))
    return pp_err(PROP_ERR_ARG, "contact options: tz_minutes must be within -840..840, got %d", o->tz_minutes);
  if ((o->n_segment_cols && !o->segment_cols) || (o->n_channels && !o->channels))
    return pp_err(PROP_ERR_ARG, "contact options: a count is given without its array");
  return 0;
}

/* ---- aggregation -------------------------------------------------------------------------------- */
static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}


int pp_contact_aggregate(const pp_attempt *att, const size_t *idx, size_t n, pp_cdata *d) {
  uint64_t *key = pp_malloc_array(n + 1, sizeof *key);
  d->obs = pp_malloc_array(n + 1, sizeof *d->obs);
  d->nobs = 0;
  if (!key || !d->obs) {
    free(key);
    return PROP_ERR_NOMEM;
  }
  for (size_t q = 0; q < n; q++) {
    const pp_attempt *a = &att[idx ? idx[q] : q];
    key[q] = (uint64_t)a->cust << 32 | (uint64_t)a->cell << 1 | a->y;
  }
  qsort(key, n, sizeof *key, cmp_u64);
  for (size_t q = 0; q < n; q++) {
    uint32_t cust = (uint32_t)(key[q] >> 32), cell = (uint32_t)(key[q] >> 1) & 0x7fffffffu;
    pp_cobs *last = d->nobs ? &d->obs[d->nobs - 1] : NULL;
    if (!last || last->cust != cust || last->cell != cell) {
      last = &d->obs[d->nobs++];
      last->cust = cust;
      last->cell = (uint16_t)cell;
      last->n = last->y = 0;
    }
    last->n++;
    last->y += (uint32_t)(key[q] & 1u);
  }
  free(key);
  return 0;
}

/* ---- assembling the model ------------------------------------------------------------------------ */
static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return x < y ? -1 : x > y;
}

/* The attempt days per customer (the attempt cap reads them), ascending. */
static int attempt_days(prop_contact *c, const pp_attempt *att, size_t n) {
  c->att_off = pp_calloc(c->ncust + 1, sizeof *c->att_off);
  c->att_day = pp_malloc_array(n + 1, sizeof *c->att_day);
  if (!c->att_off || !c->att_day) return PROP_ERR_NOMEM;
  for (size_t q = 0; q < n; q++) c->att_off[att[q].cust + 1]++;
  for (size_t i = 0; i < c->ncust; i++) c->att_off[i + 1] += c->att_off[i];
  size_t *fill = pp_malloc_array(c->ncust + 1, sizeof *fill);
  if (!fill) return PROP_ERR_NOMEM;
  memcpy(fill, c->att_off, c->ncust * sizeof *fill);
  c->last_day = INT32_MIN;
  for (size_t q = 0; q < n; q++) {
    int64_t d = att[q].day < INT32_MIN ? INT32_MIN : att[q].day > INT32_MAX ? INT32_MAX : att[q].day;
    c->att_day[fill[att[q].cust]++] = (int32_t)d;
    if (d > c->last_day) c->last_day = d;
  }
  free(fill);
  for (size_t i = 0; i < c->ncust; i++)
    qsort(c->att_day + c->att_off[i], c->att_off[i + 1] - c->att_off[i], sizeof *c->att_day, cmp_i32);
  return 0;
}

static char **copy_strings(const char *const *s, size_t n, int *rc) {
  char **out = pp_calloc(n + 1, sizeof *out);
  if (!out) *rc = PROP_ERR_NOMEM;
  for (size_t q = 0; out && q < n; q++)
    if (!(out[q] = pp_strdup(s[q]))) *rc = PROP_ERR_NOMEM;
  return out;
}

/* Move the table, the grid and the fit into c (they are left empty). */
static int assemble(prop_contact *c, pp_ctable *t, pp_grid *g, pp_cfit *f, const prop_contact_options *o) {
  int rc = 0;
  c->grid = *g;
  memset(g, 0, sizeof *g);
  c->tz_minutes = o->tz_minutes;
  c->id_col = pp_strdup(o->id);
  c->customer_id_col = pp_strdup(o->customer_id ? o->customer_id : o->id);
  c->nseg_cols = o->n_segment_cols;
  c->seg_cols = copy_strings(o->segment_cols, o->n_segment_cols, &rc);
  if (!c->id_col || !c->customer_id_col) rc = PROP_ERR_NOMEM;
  c->seg_labels = t->seg_labels;
  c->nseg = t->nseg;
  c->seg_map = t->seg_map;
  c->ncust = t->n;
  c->id_text = (char *)t->text.data;
  c->id_text_len = t->text.len;
  c->id_off = t->off;
  c->cust_map = t->map;
  c->cust_seg = t->seg;
  memset(t, 0, sizeof *t);
  c->p_global = f->p_global;
  c->p_seg = f->p_seg;
  c->cust_hist = f->hist_row;
  c->nhist = f->nhist;
  c->p_cust = f->p_cust;
  memset(f, 0, sizeof *f);
  return rc;
}

static json_t *report_base(const prop_contact *c, size_t nattempts, size_t connects, const pp_cfit *f) {
  json_t *r = json_object(), *ch = json_array(), *sc = json_array(), *sh = json_object();
  for (size_t h = 0; h < c->grid.nchan; h++) json_array_append_new(ch, json_string(c->grid.channels[h]));
  for (size_t q = 0; q < c->nseg_cols; q++) json_array_append_new(sc, json_string(c->seg_cols[q]));
  json_object_set_new(r, "attempts", json_integer((json_int_t)nattempts));
  json_object_set_new(r, "connect_rate", json_real(nattempts ? (double)connects / (double)nattempts : 0.0));
  json_object_set_new(r, "customers", json_integer((json_int_t)c->ncust));
  json_object_set_new(r, "customers_with_history", json_integer((json_int_t)c->nhist));
  json_object_set_new(r, "segments", json_integer((json_int_t)c->nseg));
  json_object_set_new(r, "segment_columns", sc);
  json_object_set_new(r, "channels", ch);
  json_object_set_new(r, "first_hour", json_integer(c->grid.first_hour));
  json_object_set_new(r, "block_hours", json_integer(c->grid.block_hours));
  json_object_set_new(r, "blocks", json_integer(c->grid.nblocks));
  json_object_set_new(r, "cells", json_integer((json_int_t)pp_grid_ncells(&c->grid)));
  json_object_set_new(sh, "segment_sd", json_real(sqrt(f->tau2)));
  json_object_set_new(sh, "customer_sd", json_real(sqrt(f->sw2)));
  json_object_set_new(sh, "customer_channel_sd", json_real(sqrt(f->su2)));
  json_object_set_new(sh, "customer_slot_sd", json_real(sqrt(f->sv2)));
  json_object_set_new(r, "shrinkage", sh);
  return r;
}

/* Fit on all attempts, then the report (with the held-out check) and the model. */
static int fit_all(pp_ctable *t, pp_grid *g, pp_attempt *att, size_t n, const prop_contact_options *o,
                   prop_contact *c) {
  pp_cdata d = {t->n, t->seg, t->nseg, g, NULL, 0, o->nthread};
  pp_cfit f;
  json_t *report = NULL;
  const unsigned mark = pp_json_mark(); /* jansson's allocations fail silently: checked when dumped */
  size_t connects = 0;
  for (size_t q = 0; q < n; q++) connects += att[q].y;
  int rc = pp_contact_aggregate(att, NULL, n, &d);
  if (!rc) rc = pp_contact_estimate(&d, &f);
  free(d.obs);
  if (rc) return rc;
  pp_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.log = o->log;
  ctx.user = o->user;
  pp_log(&ctx, PROP_LOG_INFO, "contact model: %zu attempts of %zu customers, %zu segments; shrinkage sd: segment %.3f, customer %.3f, customer x channel %.3f, customer x slot %.3f",
           n, t->n, t->nseg, sqrt(f.tau2), sqrt(f.sw2), sqrt(f.su2), sqrt(f.sv2));
  report = json_object();
  d.obs = NULL;
  double ca = 0, cb = 1;
  rc = report ? pp_contact_holdout(att, n, &d, o->holdout_fraction, report, &ca, &cb)
              : pp_err(PROP_ERR_NOMEM, "out of memory while writing the contact model's report");
  for (size_t q = 0; !rc && q < f.nhist * pp_grid_ncells(g); q++)
    f.p_cust[q] = (float)pp_contact_recalibrate(f.p_cust[q], ca, cb);
  pp_cfit scalars = f; /* assemble() takes f's arrays; the report needs its variances */
  if (!rc) rc = assemble(c, t, g, &f, o);
  if (!rc) rc = attempt_days(c, att, n);
  if (!rc) {
    json_t *base = report_base(c, n, connects, &scalars);
    if (!base || json_object_update(base, report))
      rc = pp_err(PROP_ERR_NOMEM, "out of memory while writing the contact model's report");
    else if (!(c->report_json = pp_json_dumps(base, JSON_INDENT(2) | JSON_REAL_PRECISION(10) | JSON_PRESERVE_ORDER,
                                              mark, "the contact model's report")))
      rc = PROP_ERR_NOMEM;
    json_decref(base);
  }
  json_decref(report);
  pp_cfit_free(&f);
  return rc;
}

int prop_contact_fit(const prop_frame *history, const prop_frame *customers, const prop_contact_options *opt,
                     prop_contact **out) {
  if (!history || !opt || !out) return pp_err(PROP_ERR_ARG, "prop_contact_fit: NULL argument");
  *out = NULL;
  prop_contact_options own;
  prop_contact_options_default(&own);
  PP_TRY(pp_opts_import(&own, sizeof own, opt, "prop_contact_options"));
  opt = &own;
  PP_TRY(check_options(opt));
  if (history->nrows == 0)
    return pp_err(PROP_ERR_TRAIN, "%s: the history has no attempts: there is nothing to estimate connect rates from",
                  pp_frame_source(history));
  pp_ctable t;
  pp_grid g = {opt->first_hour, opt->block_hours, opt->n_blocks, NULL, 0};
  pp_attempt *att = NULL;
  size_t n = 0;
  memset(&t, 0, sizeof t);
  int rc = 0;
  if (customers)
    rc = pp_ctable_read_customers(&t, customers, opt->customer_id ? opt->customer_id : opt->id, opt->segment_cols,
                                  opt->n_segment_cols);
  if (!rc) rc = pp_read_history(history, opt, &t, &g, &att, &n);
  prop_contact *c = rc ? NULL : pp_calloc(1, sizeof *c);
  if (!rc && !c) rc = PROP_ERR_NOMEM;
  if (!rc) rc = fit_all(&t, &g, att, n, opt, c);
  free(att);
  pp_ctable_free(&t);
  pp_grid_free(&g);
  if (rc) {
    prop_contact_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

/* ---- the fitted model ---------------------------------------------------------------------------- */
void pp_contact_release(prop_contact *c) {
  pp_grid_free(&c->grid);
  free(c->id_col);
  free(c->customer_id_col);
  for (size_t q = 0; c->seg_cols && q < c->nseg_cols; q++) free(c->seg_cols[q]);
  free(c->seg_cols);
  for (size_t s = 0; c->seg_labels && s < c->nseg; s++) free(c->seg_labels[s]);
  free(c->seg_labels);
  pp_strmap_free(&c->seg_map);
  free(c->p_global);
  free(c->p_seg);
  free(c->id_text);
  free(c->id_off);
  pp_strmap_free(&c->cust_map);
  free(c->cust_seg);
  free(c->cust_hist);
  free(c->p_cust);
  free(c->att_off);
  free(c->att_day);
  free(c->report_json);
  memset(c, 0, sizeof *c);
}

void prop_contact_free(prop_contact *c) {
  if (!c) return;
  pp_contact_release(c);
  free(c);
}

size_t prop_contact_n_cells(const prop_contact *c) { return c ? pp_grid_ncells(&c->grid) : 0; }

int prop_contact_cell(const prop_contact *c, size_t k, const char **channel, const char **day, int *hour) {
  if (!c) return pp_err(PROP_ERR_ARG, "prop_contact_cell: NULL model");
  if (k >= pp_grid_ncells(&c->grid))
    return pp_err(PROP_ERR_RANGE, "prop_contact_cell: cell %zu of %zu", k, pp_grid_ncells(&c->grid));
  size_t slot = k / c->grid.nchan;
  if (channel) *channel = c->grid.channels[k % c->grid.nchan];
  if (day) *day = pp_grid_day_name(slot >= (size_t)c->grid.nblocks);
  if (hour) *hour = pp_grid_slot_hour(&c->grid, slot);
  return 0;
}

size_t prop_contact_segment_columns(const prop_contact *c, const char *const **names) {
  if (names) *names = c ? (const char *const *)c->seg_cols : NULL;
  return c ? c->nseg_cols : 0;
}

const char *prop_contact_customer_id_column(const prop_contact *c) { return c ? c->customer_id_col : NULL; }

const char *prop_contact_report_json(const prop_contact *c) { return c && c->report_json ? c->report_json : "{}"; }

long pp_contact_find(const prop_contact *c, const char *id) {
  size_t i;
  return id && pp_strmap_get(&c->cust_map, id, &i) ? (long)i : -1;
}

size_t pp_contact_attempts_since(const prop_contact *c, size_t i, int64_t first_day) {
  size_t lo = c->att_off[i], hi = c->att_off[i + 1], end = hi;
  while (lo < hi) { /* the first attempt on or after first_day */
    size_t mid = lo + (hi - lo) / 2;
    if (c->att_day[mid] < first_day) lo = mid + 1;
    else hi = mid;
  }
  return end - lo;
}

void pp_contact_cells(const prop_contact *c, long i, long seg, double *p) {
  size_t K = pp_grid_ncells(&c->grid);
  if (i >= 0 && c->cust_hist[i] != UINT32_MAX) {
    const float *row = c->p_cust + (size_t)c->cust_hist[i] * K;
    for (size_t k = 0; k < K; k++) p[k] = row[k];
    return;
  }
  if (i >= 0) seg = c->cust_seg[i];
  memcpy(p, seg >= 0 ? c->p_seg + (size_t)seg * K : c->p_global, K * sizeof *p);
}

/* Each row's customer (or -1) and segment (or -1), as prop_contact_predict() finds them. */
static int row_customers(const prop_contact *c, const prop_frame *f, const char *id_col, long *cust, long *seg) {
  size_t jid = 0, *cols = pp_malloc_array(c->nseg_cols + 1, sizeof *cols);
  if (!cols) return PROP_ERR_NOMEM;
  int rc = pp_frame_column(f, id_col ? id_col : c->customer_id_col, "customer id", &jid), have_segs = c->nseg_cols > 0;
  for (size_t q = 0; q < c->nseg_cols && have_segs; q++) {
    long j = prop_frame_find(f, c->seg_cols[q]);
    if (j < 0) have_segs = 0;
    else cols[q] = (size_t)j;
  }
  char tmp[32], label[1024];
  for (size_t i = 0; i < f->nrows && !rc; i++) {
    cust[i] = pp_contact_find(c, pp_cell_text(f, jid, i, tmp));
    size_t s;
    seg[i] = -1;
    if (cust[i] < 0 && have_segs && pp_segment_label(f, cols, c->nseg_cols, i, label, sizeof label) == 0 &&
        pp_strmap_get(&c->seg_map, label, &s))
      seg[i] = (long)s;
  }
  free(cols);
  return rc;
}

/* Both predictions: the whole matrix (p: nrows x K) or the best cell (best, bestp). */
static int predict_rows(const prop_contact *c, const prop_frame *f, const char *id_col, double *p, size_t *best,
                        double *bestp) {
  if (!c || !f) return pp_err(PROP_ERR_ARG, "prop_contact_predict: NULL argument");
  size_t n = f->nrows, K = pp_grid_ncells(&c->grid);
  long *cust = pp_malloc_array(n + 1, sizeof *cust), *seg = pp_malloc_array(n + 1, sizeof *seg);
  double *tmp = pp_malloc_array(K, sizeof *tmp);
  int rc = cust && seg && tmp ? row_customers(c, f, id_col, cust, seg) : PROP_ERR_NOMEM;
  for (size_t i = 0; i < n && !rc; i++) {
    double *row = p ? p + i * K : tmp;
    pp_contact_cells(c, cust[i], seg[i], row);
    size_t kb = 0;
    for (size_t k = 1; k < K; k++)
      if (row[k] > row[kb]) kb = k;
    if (best) best[i] = kb;
    if (bestp) bestp[i] = row[kb];
  }
  free(cust);
  free(seg);
  free(tmp);
  return rc;
}

int prop_contact_predict(const prop_contact *c, const prop_frame *f, const char *id_col, double *p) {
  if (!p) return pp_err(PROP_ERR_ARG, "prop_contact_predict: NULL output");
  return predict_rows(c, f, id_col, p, NULL, NULL);
}

int prop_contact_best(const prop_contact *c, const prop_frame *f, const char *id_col, size_t *cell, double *p) {
  return predict_rows(c, f, id_col, NULL, cell, p);
}

int prop_contact_write_best(const prop_contact *c, const prop_frame *f, const char *id_col, prop_writer *w) {
  static const char *const cols[] = {"id", "channel", "day", "hour", "p_connect"};
  if (!c || !f || !w) return pp_err(PROP_ERR_ARG, "prop_contact_write_best: NULL argument");
  size_t n = f->nrows, jid = 0;
  const char *idc = id_col ? id_col : c->customer_id_col;
  PP_TRY(pp_frame_column(f, idc, "customer id", &jid));
  size_t *cell = pp_malloc_array(n + 1, sizeof *cell);
  double *p = pp_malloc_array(n + 1, sizeof *p);
  int rc = cell && p ? predict_rows(c, f, idc, NULL, cell, p) : PROP_ERR_NOMEM;
  if (!rc) rc = prop_writer_header(w, cols, sizeof cols / sizeof cols[0]);
  char tmp[32];
  for (size_t i = 0; i < n && !rc; i++) {
    const char *ch = NULL, *day = NULL;
    int hour = 0;
    prop_contact_cell(c, cell[i], &ch, &day, &hour);
    rc = prop_writer_text(w, pp_cell_text(f, jid, i, tmp)); /* a missing id: an empty field */
    if (!rc) rc = prop_writer_text(w, ch);
    if (!rc) rc = prop_writer_text(w, day);
    if (!rc) rc = prop_writer_integer(w, hour);
    if (!rc) rc = prop_writer_number(w, p[i]);
    if (!rc) rc = prop_writer_end_row(w);
  }
  free(cell);
  free(p);
  return rc;
}
