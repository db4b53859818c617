/* Reading a contact fit's inputs: the customers frame (ids and segments) and the history (one
 * attempt per row), every bad row named by file, row and column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact/contact.h"
#include "data/frame.h"

/* ---- cells as text ------------------------------------------------------------------------------ */
const char *pp_cell_text(const prop_frame *f, size_t j, size_t i, char buf[32]) {
  const pp_column *c = &f->cols[j];
  switch (c->type) {
    case PROP_COL_ID: return c->str[i];
    case PROP_COL_NUMERIC:
      if (c->num[i] != c->num[i]) return NULL;
      return pp_shortest(buf, c->num[i]);
    default: return c->code[i] >= 0 ? c->dict[c->code[i]] : NULL;
  }
}

int pp_frame_column(const prop_frame *f, const char *name, const char *role, size_t *j) {
  long c = name ? prop_frame_find(f, name) : -1;
  if (c < 0)
    return pp_err(PROP_ERR_SCHEMA, "%s: the %s column '%s' is missing", pp_frame_source(f), role, name ? name : "");
  *j = (size_t)c;
  return 0;
}

/* ---- the customer table ------------------------------------------------------------------------- */
void pp_ctable_free(pp_ctable *t) {
  pp_buf_free(&t->text);
  free(t->off);
  free(t->seg);
  pp_strmap_free(&t->map);
  for (size_t s = 0; s < t->nseg; s++) free(t->seg_labels[s]);
  free(t->seg_labels);
  pp_strmap_free(&t->seg_map);
  memset(t, 0, sizeof *t);
}

/* Customer id (new: appended with segment seg); *idx gets its index, *added whether it is new. */
int pp_ctable_add(pp_ctable *t, const char *id, int32_t seg, size_t *idx, int *added) {
  size_t found;
  *added = 0;
  if (pp_strmap_get(&t->map, id, &found)) {
    *idx = found;
    return 0;
  }
  if (t->n >= UINT32_MAX - 1) return pp_err(PROP_ERR_ARG, "contact model: more than 2^32 customers");
  if (t->n == t->cap_n) {
    size_t cap = t->cap_n ? 2 * t->cap_n : 1024;
    PP_TRY(pp_realloc_array(&t->off, cap, sizeof *t->off));
    PP_TRY(pp_realloc_array(&t->seg, cap, sizeof *t->seg));
    t->cap_n = cap;
  }
  t->off[t->n] = t->text.len;
  pp_put_bytes(&t->text, id, strlen(id) + 1);
  PP_TRY(pp_buf_status(&t->text));
  t->seg[t->n] = seg;
  PP_TRY(pp_strmap_put(&t->map, id, t->n, NULL));
  *idx = t->n++;
  *added = 1;
  return 0;
}

/* The segment label of row i: the segment columns' texts joined by '|' (a missing cell reads
 * "<missing>"), into buf (cap bytes).  -1 when it does not fit. */
int pp_segment_label(const prop_frame *f, const size_t *cols, size_t ncols, size_t i, char *buf, size_t cap) {
  size_t len = 0;
  for (size_t q = 0; q < ncols; q++) {
    char tmp[32];
    const char *s = pp_cell_text(f, cols[q], i, tmp);
    int w = snprintf(buf + len, cap - len, "%s%s", q ? "|" : "", s ? s : "<missing>");
    if (w < 0 || (size_t)w >= cap - len) return -1;
    len += (size_t)w;
  }
  return 0;
}

static int segment_of(pp_ctable *t, const char *label, int32_t *seg) {
  size_t found;
  if (pp_strmap_get(&t->seg_map, label, &found)) {
    *seg = (int32_t)found;
    return 0;
  }
  if (t->nseg >= PP_CONTACT_MAX_SEGMENTS)
    return pp_err(PROP_ERR_VALUE, "the segment columns make more than %d segments", PP_CONTACT_MAX_SEGMENTS);
  PP_TRY(pp_realloc_array(&t->seg_labels, t->nseg + 1, sizeof *t->seg_labels));
  if (!(t->seg_labels[t->nseg] = pp_strdup(label))) return PROP_ERR_NOMEM;
  PP_TRY(pp_strmap_put(&t->seg_map, label, t->nseg, NULL));
  *seg = (int32_t)t->nseg++;
  return 0;
}

int pp_ctable_read_customers(pp_ctable *t, const prop_frame *f, const char *id_col, const char *const *seg_cols,
                             size_t nseg_cols) {
  size_t jid = 0, *cols = pp_malloc_array(nseg_cols + 1, sizeof *cols);
  if (!cols) return PROP_ERR_NOMEM;
  int rc = pp_frame_column(f, id_col, "customer id", &jid);
  for (size_t q = 0; q < nseg_cols && !rc; q++) rc = pp_frame_column(f, seg_cols[q], "segment", &cols[q]);
  if (!rc) rc = pp_frame_first_row_error(f);
  char label[1024], tmp[32];
  for (size_t i = 0; i < f->nrows && !rc; i++) {
    const char *id = pp_cell_text(f, jid, i, tmp);
    int32_t seg = -1;
    if (!id || !*id) {
      rc = pp_err(PROP_ERR_VALUE, "%s:%zu:%s: the customer id is missing", pp_frame_source(f), prop_frame_row_number(f, i),
                  id_col);
      break;
    }
    if (pp_segment_label(f, cols, nseg_cols, i, label, sizeof label)) {
      rc = pp_err(PROP_ERR_VALUE, "%s:%zu: the segment label is longer than %zu bytes", pp_frame_source(f),
                  prop_frame_row_number(f, i), sizeof label - 1);
      break;
    }
    if (nseg_cols && (rc = segment_of(t, label, &seg))) break;
    size_t idx;
    int added;
    if ((rc = pp_ctable_add(t, id, seg, &idx, &added))) break;
    if (!added)
      rc = pp_err(PROP_ERR_VALUE, "%s:%zu:%s: customer '%.200s' is listed twice", pp_frame_source(f),
                  prop_frame_row_number(f, i), id_col, id);
  }
  free(cols);
  return rc;
}

/* ---- the history ---------------------------------------------------------------------------------- */
typedef struct hist_cols {
  size_t id, time, channel, outcome;
} hist_cols;

/* The outcome of row i: 1 connected, 0 not.  neg (malloc'd on first use) is the one other label
 * allowed with a positive label. */
static int read_outcome(const prop_frame *f, const hist_cols *hc, const prop_contact_options *o, size_t i, char **neg,
                        uint8_t *y) {
  char tmp[32];
  const char *s = pp_cell_text(f, hc->outcome, i, tmp);
  const char *src = pp_frame_source(f);
  size_t row = prop_frame_row_number(f, i);
  if (!s) return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: the outcome is missing", src, row, o->outcome);
  if (!o->positive) {
    double v;
    if (pp_parse_double(s, &v) == 0 && (v == 0.0 || v == 1.0)) {
      *y = v == 1.0;
      return 0;
    }
    return pp_err(PROP_ERR_CATEGORY, "%s:%zu:%s: outcome label '%.100s' is not 0 or 1 (give the positive label)", src,
                  row, o->outcome, s);
  }
  if (strcmp(s, o->positive) == 0) {
    *y = 1;
    return 0;
  }
  if (!*neg && !(*neg = pp_strdup(s))) return PROP_ERR_NOMEM;
  if (strcmp(s, *neg) == 0) {
    *y = 0;
    return 0;
  }
  return pp_err(PROP_ERR_CATEGORY, "%s:%zu:%s: unknown outcome label '%.100s' (connected is '%.100s', not connected '%.100s')",
                src, row, o->outcome, s, o->positive, *neg);
}

/* The slot of row i's time (day type x block) and its day and minute. */
static int read_time(const prop_frame *f, const hist_cols *hc, const prop_contact_options *o, size_t i,
                     pp_attempt *a) {
  char tmp[32], why[128];
  const char *s = pp_cell_text(f, hc->time, i, tmp);
  const char *src = pp_frame_source(f);
  size_t row = prop_frame_row_number(f, i);
  pp_when w;
  if (!s) return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: the time is missing", src, row, o->time);
  if (pp_parse_iso8601(s, o->tz_minutes, &w, why, sizeof why))
    return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: '%.60s' is not a time: %s", src, row, o->time, s, why);
  int lo = o->first_hour * 60, hi = (o->first_hour + o->n_blocks * o->block_hours) * 60;
  if (w.minute < lo || w.minute >= hi)
    return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: %02d:%02d (from '%.60s') is outside the grid's hours %02d:00 to %02d:00", src,
                  row, o->time, w.minute / 60, w.minute % 60, s, o->first_hour, hi / 60);
  int block = (w.minute - lo) / (o->block_hours * 60);
  a->slot = (uint16_t)(w.weekend * o->n_blocks + block);
  a->day = w.day;
  a->minute = w.day * 1440 + w.minute;
  return 0;
}

static int read_channel(const prop_frame *f, const hist_cols *hc, const prop_contact_options *o, size_t i,
                        pp_strmap *chans, char ***names, size_t *nnames, pp_attempt *a) {
  char tmp[32];
  const char *s = pp_cell_text(f, hc->channel, i, tmp);
  size_t idx;
  if (!s || !*s)
    return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: the channel is missing", pp_frame_source(f), prop_frame_row_number(f, i),
                  o->channel);
  if (!pp_strmap_get(chans, s, &idx)) {
    if (o->channels)
      return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: channel '%.100s' is not one of the grid's channels", pp_frame_source(f),
                    prop_frame_row_number(f, i), o->channel, s);
    if (*nnames >= PP_CONTACT_MAX_CHANNELS)
      return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: more than %d channels", pp_frame_source(f), prop_frame_row_number(f, i),
                    o->channel, PP_CONTACT_MAX_CHANNELS);
    PP_TRY(pp_realloc_array(names, *nnames + 1, sizeof **names));
    if (!((*names)[*nnames] = pp_strdup(s))) return PROP_ERR_NOMEM;
    idx = (*nnames)++; /* counted at once: the caller frees the names it counts */
    PP_TRY(pp_strmap_put(chans, s, idx, NULL));
  }
  a->cell = (uint16_t)idx; /* the channel for now: the cell once the channels are final */
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The grid's channels: the options' in order, else those of the history in byte order; attempts'
 * channel indices become cells. */
static int finish_channels(pp_grid *g, char **names, size_t nnames, pp_attempt *att, size_t n, int given) {
  size_t *remap = pp_malloc_array(nnames + 1, sizeof *remap);
  if (!remap) return PROP_ERR_NOMEM;
  char **sorted = names;
  if (!given) {
    char **copy = pp_malloc_array(nnames + 1, sizeof *copy);
    if (!copy) {
      free(remap);
      return PROP_ERR_NOMEM;
    }
    memcpy(copy, names, nnames * sizeof *names);
    qsort(copy, nnames, sizeof *copy, cmp_str);
    for (size_t a = 0; a < nnames; a++)
      for (size_t b = 0; b < nnames; b++)
        if (copy[b] == names[a]) remap[a] = b;
    memcpy(names, copy, nnames * sizeof *names);
    free(copy);
  } else {
    for (size_t a = 0; a < nnames; a++) remap[a] = a;
  }
  g->channels = sorted;
  g->nchan = nnames;
  for (size_t i = 0; i < n; i++) att[i].cell = (uint16_t)(att[i].slot * nnames + remap[att[i].cell]);
  free(remap);
  return 0;
}

int pp_read_history(const prop_frame *f, const prop_contact_options *o, pp_ctable *t, pp_grid *g, pp_attempt **out,
                    size_t *nout) {
  hist_cols hc = {0, 0, 0, 0};
  PP_TRY(pp_frame_column(f, o->id, "id", &hc.id));
  PP_TRY(pp_frame_column(f, o->time, "time", &hc.time));
  PP_TRY(pp_frame_column(f, o->channel, "channel", &hc.channel));
  PP_TRY(pp_frame_column(f, o->outcome, "outcome", &hc.outcome));
  PP_TRY(pp_frame_first_row_error(f));
  pp_strmap chans;
  pp_strmap_init(&chans);
  char **names = NULL, *neg = NULL, tmp[32];
  size_t nnames = 0;
  int rc = 0;
  for (size_t q = 0; q < o->n_channels && !rc; q++) {
    size_t dup;
    if (!o->channels[q] || !*o->channels[q] || pp_strmap_get(&chans, o->channels[q], &dup))
      rc = pp_err(PROP_ERR_ARG, "contact options: channels[%zu] is empty or repeated", q);
    else if (!(rc = pp_realloc_array(&names, nnames + 1, sizeof *names)) && !(names[nnames] = pp_strdup(o->channels[q])))
      rc = PROP_ERR_NOMEM;
    if (!rc) rc = pp_strmap_put(&chans, o->channels[q], nnames++, NULL);
  }
  pp_attempt *att = rc ? NULL : pp_malloc_array(f->nrows + 1, sizeof *att);
  if (!rc && !att) rc = PROP_ERR_NOMEM;
  for (size_t i = 0; i < f->nrows && !rc; i++) {
    const char *id = pp_cell_text(f, hc.id, i, tmp);
    if (!id || !*id) {
      rc = pp_err(PROP_ERR_VALUE, "%s:%zu:%s: the customer id is missing", pp_frame_source(f), prop_frame_row_number(f, i),
                  o->id);
      break;
    }
    size_t idx;
    int added;
    rc = read_time(f, &hc, o, i, &att[i]);
    if (!rc) rc = read_channel(f, &hc, o, i, &chans, &names, &nnames, &att[i]);
    if (!rc) rc = read_outcome(f, &hc, o, i, &neg, &att[i].y);
    if (!rc) rc = pp_ctable_add(t, id, -1, &idx, &added);
    if (!rc) att[i].cust = (uint32_t)idx;
  }
  if (!rc) rc = finish_channels(g, names, nnames, att, f->nrows, o->channels != NULL);
  if (!rc && pp_grid_ncells(g) > PP_CONTACT_MAX_CELLS)
    rc = pp_err(PROP_ERR_ARG, "contact grid: %zu cells exceed the limit %d", pp_grid_ncells(g), PP_CONTACT_MAX_CELLS);
  if (rc) {
    for (size_t q = 0; q < nnames && names != g->channels; q++) free(names[q]);
    if (names != g->channels) free(names);
    free(att);
    att = NULL;
  }
  pp_strmap_free(&chans);
  free(neg);
  *out = att;
  *nout = rc ? 0 : f->nrows;
  return rc;
}
