/* The ranked call list (prop_calllist): rows scored chunk by chunk, ranked once, written in one layout
 * that is defined here only.  What it keeps per row is the output record: the id's characters in one
 * text buffer and their offset, the probability, a one-byte band, the value when ranking by value, and,
 * for the rare rows that cannot be scored, their reason in a side table; ranking adds the call order
 * and the dialer ranks.  Feature columns are held one chunk at a time by the caller.
 *
 * When those records would outgrow options.memory_limit, the rows held so far are sorted and spilled to
 * a temporary file (spill.c) and the list starts again from empty: finishing spills the last rows, counts
 * the selection and the dialer's band runs in one merge of the runs, and writing merges them again (twice
 * with band quotas: selected rows, then the others), then appends the unscored rows in input order.  In
 * input order the call position of each row is found by merges over windows of memory_limit / 8 rows.
 * The merge orders rows as the in-memory sort does (pp_rank_cmp), so both write the same bytes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/contrib.h"
#include "lists/lists.h"
#include "write/writer.h"
#include "pipeline/pipeline.h"

/* The columns of the ranked list, in order; the last two only when ranking by value. */
static const char *const k_columns[] = {"id",          "probability", "band",  "rank",          "error",
                                        "dialer_rank", "selected",    "value", "expected_value"};
#define BASE_COLUMNS 7
#define MAX_REASONS PP_MAX_REASONS
static const char *const k_reason_cols[MAX_REASONS] = {
    "reason_1", "reason_2", "reason_3",  "reason_4",  "reason_5",  "reason_6",  "reason_7",  "reason_8",
    "reason_9", "reason_10", "reason_11", "reason_12", "reason_13", "reason_14", "reason_15", "reason_16"};

typedef struct bad_row {
  size_t row, msg; /* row index; offset of its reason in err_text */
} bad_row;

struct prop_calllist {
  const prop_model *m;
  prop_predict_options po;
  prop_rank_options ro;
  size_t *quota; /* the caller's band quotas, copied */
  char *value_col, *id_col, *source;
  int order, by_value;
  size_t K;             /* reasons per row */
  size_t limit;         /* options.memory_limit (0: none) */
  char *temp_dir;
  /* spilled rows (sp NULL while every row is in memory): rows before the ones held, unscored among them */
  pp_spill *sp;
  size_t base, base_bad, base_scored;
  pp_dialer dial;       /* after finish, when spilled */
  int failed;           /* the status of a spill that failed half-way: the list can only be freed */
  size_t *reason_off;   /* n x K offsets into reason_text, SIZE_MAX where a row has fewer */
  pp_textbuf reason_text;
  /* per row */
  size_t n, cap;
  size_t *id_off;
  pp_textbuf ids;
  double *prob, *value;
  uint8_t *band;
  bad_row *bad;
  size_t nbad, bad_cap;
  pp_textbuf err_text;
  /* after finish */
  int finished;
  size_t *calls; /* rows in call order */
  int *dialer;   /* by call position */
  size_t *pos;   /* ORDER_INPUT: call position of each row */
  size_t n_ranked, n_selected;
  /* scratch of add */
  double *cprob;
  int *cband, *cstatus;
  size_t ccap;
};

void prop_calllist_options_default(prop_calllist_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
  opt->memory_limit = 0; /* in memory: every row readable; the CLI sets its own budget */
}

void prop_calllist_free(prop_calllist *cl) {
  if (!cl) return;
  free(cl->quota);
  free(cl->value_col);
  free(cl->id_col);
  free(cl->source);
  free(cl->temp_dir);
  pp_spill_free(cl->sp);
  pp_dialer_free(&cl->dial);
  free(cl->id_off);
  pp_textbuf_free(&cl->ids);
  free(cl->prob);
  free(cl->value);
  free(cl->band);
  free(cl->bad);
  pp_textbuf_free(&cl->err_text);
  free(cl->calls);
  free(cl->dialer);
  free(cl->pos);
  free(cl->cprob);
  free(cl->cband);
  free(cl->cstatus);
  free(cl->reason_off);
  pp_textbuf_free(&cl->reason_text);
  free(cl);
}

static int dup_opt(const char *s, char **out) {
  *out = NULL;
  if (s && !(*out = pp_strdup(s))) return PROP_ERR_NOMEM;
  return 0;
}

/* The options' predict and rank parts imported, the strings and quotas copied. */
static int import_options(prop_calllist *cl, const prop_calllist_options *o) {
  prop_predict_options_default(&cl->po);
  PP_TRY(pp_opts_import(&cl->po, sizeof cl->po, o->predict, "prop_predict_options"));
  prop_rank_options_default(&cl->ro);
  PP_TRY(pp_opts_import(&cl->ro, sizeof cl->ro, o->rank, "prop_rank_options"));
  if (cl->ro.band_quota) {
    if (cl->ro.nbands != cl->m->bands.n)
      return pp_err(PROP_ERR_ARG, "call list: %zu band quotas for a model of %zu bands", cl->ro.nbands,
                    cl->m->bands.n);
    if (!(cl->quota = pp_malloc_array(cl->ro.nbands, sizeof *cl->quota))) return PROP_ERR_NOMEM;
    memcpy(cl->quota, cl->ro.band_quota, cl->ro.nbands * sizeof *cl->quota);
    cl->ro.band_quota = cl->quota;
  }
  cl->by_value = cl->ro.by == PROP_RANK_VALUE;
  if (o->order != PROP_ORDER_RANK && o->order != PROP_ORDER_INPUT)
    return pp_err(PROP_ERR_ARG, "call list: order is %d, not a prop_list_order", o->order);
  cl->order = o->order;
  if (o->reasons > MAX_REASONS) return pp_err(PROP_ERR_ARG, "call list: %zu reasons per row (at most %d)", o->reasons,
                                              MAX_REASONS);
  cl->K = o->reasons;
  PP_TRY(dup_opt(cl->by_value ? o->value_column : NULL, &cl->value_col));
  PP_TRY(dup_opt(o->id_column ? o->id_column : cl->m->schema->id_col, &cl->id_col));
  cl->limit = o->memory_limit;
  PP_TRY(dup_opt(o->temp_dir ? o->temp_dir : "/tmp", &cl->temp_dir));
  return dup_opt(o->source, &cl->source);
}

int prop_calllist_create(const prop_model *m, const prop_calllist_options *opt, prop_calllist **out) {
  if (!out) return pp_err(PROP_ERR_ARG, "prop_calllist_create: out is NULL");
  *out = NULL;
  if (!m) return pp_err(PROP_ERR_ARG, "prop_calllist_create: NULL model");
  prop_calllist_options o;
  prop_calllist_options_default(&o);
  PP_TRY(pp_opts_import(&o, sizeof o, opt, "prop_calllist_options"));
  prop_calllist *cl = pp_calloc(1, sizeof *cl);
  if (!cl) return PROP_ERR_NOMEM;
  cl->m = m;
  int rc = import_options(cl, &o);
  if (rc) {
    prop_calllist_free(cl);
    return rc;
  }
  *out = cl;
  return 0;
}

/* ---- adding rows ------------------------------------------------------------------------------------ */
/* The bytes a row held in memory costs besides its texts: id offset, probability, band, value, reason
 * offsets, and at ranking the call order and dialer rank (and the call position in input order). */
static size_t row_bytes(const prop_calllist *cl) {
  return 2 * sizeof(size_t) + sizeof(double) + 1 + (cl->by_value ? sizeof(double) : 0) + cl->K * sizeof(size_t) +
         sizeof(int) + (cl->order == PROP_ORDER_INPUT ? sizeof(size_t) : 0);
}

static int grow_rows(prop_calllist *cl, size_t need) {
  if (need <= cl->cap) return 0;
  size_t cap = cl->cap ? cl->cap : 4096;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  const size_t most = cl->limit / row_bytes(cl); /* under a budget, no doubling past it */
  if (cl->limit && cap > most) cap = most > need ? most : need;
  PP_TRY(pp_realloc_array(&cl->id_off, cap, sizeof *cl->id_off));
  PP_TRY(pp_realloc_array(&cl->prob, cap, sizeof *cl->prob));
  if (cl->by_value) PP_TRY(pp_realloc_array(&cl->value, cap, sizeof *cl->value));
  if (cl->K) PP_TRY(pp_realloc_array(&cl->reason_off, cap, cl->K * sizeof *cl->reason_off));
  PP_TRY(pp_realloc_array(&cl->band, cap, sizeof *cl->band));
  cl->cap = cap;
  return 0;
}

static int grow_scratch(prop_calllist *cl, size_t n) {
  if (n <= cl->ccap) return 0;
  PP_TRY(pp_realloc_array(&cl->cprob, n, sizeof *cl->cprob));
  PP_TRY(pp_realloc_array(&cl->cband, n, sizeof *cl->cband));
  PP_TRY(pp_realloc_array(&cl->cstatus, n, sizeof *cl->cstatus));
  cl->ccap = n;
  return 0;
}

static int add_bad(prop_calllist *cl, size_t row, const char *why) {
  if (cl->nbad == cl->bad_cap) {
    size_t cap = cl->bad_cap ? 2 * cl->bad_cap : 64;
    PP_TRY(pp_realloc_array(&cl->bad, cap, sizeof *cl->bad));
    cl->bad_cap = cap;
  }
  PP_TRY(pp_textbuf_add(&cl->err_text, why, &cl->bad[cl->nbad].msg));
  cl->bad[cl->nbad++].row = row;
  return 0;
}

/* The reason of a row refused for a category its model never saw: file:row:column and the label.  0 when
 * no input of the row is such a category (the generic reason is used then). */
static int unseen_reason(const prop_calllist *cl, const prop_frame *f, size_t i, const char *src, char *msg,
                         size_t cap) {
  const pp_schema *s = cl->m->schema;
  for (size_t j = 0; j < s->nfeat; j++) {
    if (s->feat[j].type != PROP_COL_CATEGORICAL) continue;
    long c = prop_frame_find(f, s->feat[j].name);
    const char *label = c >= 0 ? prop_frame_string_value(f, (size_t)c, i) : NULL;
    if (label && pp_schema_code(s, j, label) < 0) {
      snprintf(msg, cap, "%s:%zu:%s: category '%.200s' was not seen in training (--unseen bucket scores it)", src,
               prop_frame_row_number(f, i), s->feat[j].name, label);
      return 1;
    }
  }
  return 0;
}

/* Row i of chunk f (scored: prob, band, status) appended as row k of the list. */
static int add_row(prop_calllist *cl, const prop_frame *f, size_t i, long idj, const double *vals, const char *src) {
  const size_t k = cl->n;
  char num[32], msg[512];
  const char *id = idj >= 0 ? prop_frame_string_value(f, (size_t)idj, i) : NULL;
  int status = cl->cstatus[i];
  const char *why = status ? prop_frame_row_error(f, i) : NULL;
  if (idj < 0) { /* no id column: the data row number is the id */
    snprintf(num, sizeof num, "%zu", prop_frame_row_number(f, i));
    id = num;
  } else if (!id) { /* an empty id, or a row whose fields did not line up: nobody to call */
    id = "";
    if (!status) {
      snprintf(msg, sizeof msg, "%s:%zu:%s: the id is missing", src, prop_frame_row_number(f, i), cl->id_col);
      why = msg;
      status = PROP_ERR_VALUE;
    }
  }
  if (!status && pp_text_is_formula(id)) {
    char tail[160];
    pp_formula_id_reason(tail, sizeof tail, id);
    snprintf(msg, sizeof msg, "%s:%zu:%s: %s", src, prop_frame_row_number(f, i), cl->id_col, tail);
    why = msg;
    status = PROP_ERR_VALUE;
  }
  PP_TRY(pp_textbuf_add(&cl->ids, id, &cl->id_off[k]));
  cl->prob[k] = status ? NAN : cl->cprob[i];
  cl->band[k] = status ? 0 : (uint8_t)cl->cband[i]; /* bands are 0..64 */
  if (cl->value) cl->value[k] = vals ? vals[i] : NAN;
  if (!status && vals && isinf(vals[i])) { /* an infinite value: no expected value to rank by */
    snprintf(msg, sizeof msg, "%s:%zu:%s: the value is infinite", src, prop_frame_row_number(f, i),
             cl->value_col ? cl->value_col : "value");
    why = msg;
    status = PROP_ERR_VALUE;
    cl->prob[k] = NAN;
    cl->band[k] = 0;
  }
  if (status == PROP_ERR_CATEGORY && !why && unseen_reason(cl, f, i, src, msg, sizeof msg)) why = msg;
  if (status) {
    if (!why) {
      snprintf(msg, sizeof msg, "%s: row %zu: %s", src, prop_frame_row_number(f, i), prop_strerror(status));
      why = msg;
    }
    PP_TRY(add_bad(cl, k, why));
  }
  cl->n++;
  return 0;
}

/* "input=value": a category by its label, a number in its shortest exact form. */
static void reason_text(const pp_schema *s, const prop_reason *r, char *buf, size_t cap) {
  const char *name = s->feat[r->input].name;
  if (r->label) snprintf(buf, cap, "%s=%s", name, r->label);
  else if (r->value != r->value) snprintf(buf, cap, "%s=<missing>", name);
  else if (s->feat[r->input].type == PROP_COL_CATEGORICAL) snprintf(buf, cap, "%s=<unseen>", name);
  else snprintf(buf, cap, "%s=%s", name, PP_G(r->value));
}

/* Rows first..first+n of the list: the K inputs that raise each scored row's probability most, from its
 * contributions C (n x nf) and raw inputs raw (n x nf).  Rows the list did not score get none. */
static int store_reasons(prop_calllist *cl, size_t first, size_t n, const double *C, const double *raw) {
  const size_t nf = cl->m->schema->nfeat, K = cl->K;
  int rc = 0;
  for (size_t i = 0; !rc && i < n; i++) {
    prop_reason r[MAX_REASONS];
    size_t nr = 0, *off = cl->reason_off + (first + i) * K;
    for (size_t q = 0; q < K; q++) off[q] = SIZE_MAX;
    if (cl->prob[first + i] != cl->prob[first + i]) continue; /* not scored: no reasons */
    rc = prop_model_reasons(cl->m, C + i * nf, raw + i * nf, K, r, &nr);
    for (size_t q = 0; !rc && q < nr; q++) {
      char buf[512];
      reason_text(cl->m->schema, &r[q], buf, sizeof buf);
      rc = pp_textbuf_add(&cl->reason_text, buf, &off[q]);
    }
  }
  return rc;
}

/* The reasons of the rows of frame f, appended to the list from row first on. */
static int add_reasons(prop_calllist *cl, const prop_frame *f, size_t first) {
  const size_t n = f->nrows, nf = cl->m->schema->nfeat;
  double *C = pp_malloc_array(n ? n : 1, (nf ? nf : 1) * sizeof *C);
  double *raw = pp_malloc_array(n ? n : 1, (nf ? nf : 1) * sizeof *raw);
  pp_binding *bind = NULL;
  double base;
  int rc = (!C || !raw) ? PROP_ERR_NOMEM : pp_binding_create(cl->m->schema, f, &bind);
  if (!rc) pp_binding_rows(bind, 0, n, raw, cl->cstatus);
  if (!rc) rc = prop_model_contributions_frame(cl->m, f, C, &base, cl->cstatus, &cl->po);
  if (!rc) rc = store_reasons(cl, first, n, C, raw);
  pp_binding_free(bind);
  free(C);
  free(raw);
  return rc;
}

/* The reasons of n dense rows (prop_model_predict_dense's layout), appended from row first on. */
static int add_dense_reasons(prop_calllist *cl, const void *X, prop_dtype dtype, size_t n, size_t stride, size_t first) {
  const size_t nf = cl->m->schema->nfeat;
  double *C = pp_malloc_array(n ? n : 1, (nf ? nf : 1) * sizeof *C);
  double *raw = pp_malloc_array(n ? n : 1, (nf ? nf : 1) * sizeof *raw);
  double base;
  int rc = (!C || !raw) ? PROP_ERR_NOMEM : 0;
  for (size_t i = 0; !rc && i < n; i++)
    for (size_t j = 0; j < nf; j++)
      raw[i * nf + j] = dtype == PROP_FLOAT64 ? ((const double *)X)[i * stride + j] : ((const float *)X)[i * stride + j];
  if (!rc) rc = prop_model_contributions_dense(cl->m, X, dtype, n, nf, stride, C, &base, cl->cstatus, &cl->po);
  if (!rc) rc = store_reasons(cl, first, n, C, raw);
  free(C);
  free(raw);
  return rc;
}

/* The value column of f as numbers into a new *vals (NULL when not ranking by value). */
static int read_values(const prop_calllist *cl, const prop_frame *f, double **vals) {
  *vals = NULL;
  if (!cl->by_value) return 0;
  if (!cl->value_col)
    return pp_err(PROP_ERR_ARG, "prop_calllist_add: ranking by value needs options.value_column, the values' column");
  long vj = prop_frame_find(f, cl->value_col);
  if (vj < 0) return pp_err(PROP_ERR_SCHEMA, "%s: value column '%s' not found", pp_frame_source(f), cl->value_col);
  if (!(*vals = pp_malloc_array(f->nrows ? f->nrows : 1, sizeof **vals))) return PROP_ERR_NOMEM;
  int rc = prop_frame_numeric_values(f, (size_t)vj, *vals);
  if (rc) {
    free(*vals);
    *vals = NULL;
    return pp_err_prefix(rc, "%s: value column '%s': ", pp_frame_source(f), cl->value_col);
  }
  return 0;
}

/* ---- spilling ------------------------------------------------------------------------------------------ */
/* The reason row i could not be scored, or NULL (binary search of the side table, in row order). */
static const char *reason_of(const prop_calllist *cl, size_t i) {
  size_t lo = 0, hi = cl->nbad;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cl->bad[mid].row < i) lo = mid + 1;
    else hi = mid;
  }
  return lo < cl->nbad && cl->bad[lo].row == i ? cl->err_text.p + cl->bad[lo].msg : NULL;
}

/* Row i held in memory as it is written (full 0: only what ordering reads). */
static void view_of(const prop_calllist *cl, size_t i, int full, pp_row_view *v) {
  v->row = cl->base + i;
  v->prob = cl->prob[i];
  v->value = cl->value ? cl->value[i] : NAN;
  v->band = cl->band[i];
  v->id = cl->ids.p + cl->id_off[i];
  v->err = full ? reason_of(cl, i) : NULL;
  v->nreasons = full ? cl->K : 0;
  for (size_t q = 0; q < v->nreasons; q++) {
    size_t off = cl->reason_off[i * cl->K + q];
    v->reason[q] = off == SIZE_MAX ? NULL : cl->reason_text.p + off;
  }
}

/* The rows held: their scored rows as one sorted run, the rows written in input order (the unscored
 * ones, or all of them in input order) as one segment; then the list holds none. */
static int spill_rows(prop_calllist *cl, const size_t *order, size_t nr) {
  const int all = cl->order == PROP_ORDER_INPUT;
  pp_row_view v;
  for (size_t k = 0; k < nr; k++) {
    view_of(cl, order[k], !all, &v); /* in input order the runs only order the rows */
    PP_TRY(pp_spill_put(cl->sp, 1, &v));
  }
  PP_TRY(pp_spill_end(cl->sp, 1));
  for (size_t k = all ? 0 : nr; k < cl->n; k++) {
    view_of(cl, all ? k : order[k], 1, &v);
    PP_TRY(pp_spill_put(cl->sp, 0, &v));
  }
  return pp_spill_end(cl->sp, 0);
}

static int spill(prop_calllist *cl) {
  if (!cl->n) return 0;
  int rc = cl->sp ? 0 : pp_spill_create(cl->temp_dir, &cl->sp);
  size_t *order = rc ? NULL : pp_malloc_array(cl->n, sizeof *order), nr = 0;
  if (!rc && !order) rc = PROP_ERR_NOMEM;
  if (rc) return cl->failed = rc;
  prop_rank_options ro; /* the key only: selection is made once all rows are in */
  prop_rank_options_default(&ro);
  ro.by = cl->ro.by;
  rc = prop_rank_order(cl->prob, cl->band, cl->value, cl->ids.p, cl->id_off, cl->n, &ro, order, NULL, &nr, NULL);
  if (!rc) rc = spill_rows(cl, order, nr);
  free(order);
  if (rc) return cl->failed = rc;
  cl->base += cl->n;
  cl->base_bad += cl->nbad;
  cl->base_scored += nr;
  cl->n = cl->nbad = cl->ids.len = cl->reason_text.len = cl->err_text.len = 0;
  return 0;
}

/* Spill the rows held once they take more than the budget. */
static int keep_in_budget(prop_calllist *cl, int rc) {
  if (rc || !cl->limit) return rc;
  size_t held = cl->n * row_bytes(cl) + cl->ids.len + cl->reason_text.len + cl->err_text.len + cl->nbad * sizeof(bad_row);
  return held > cl->limit ? spill(cl) : 0;
}

static int check_open(const prop_calllist *cl, const char *fn) {
  if (cl->finished) return pp_err(PROP_ERR_STATE, "%s: the list is already ranked", fn);
  if (cl->failed) return pp_err(cl->failed, "%s: the list could not spill its rows earlier", fn);
  return 0;
}

int prop_calllist_add(prop_calllist *cl, const prop_frame *f, const double *value) {
  if (!cl || !f) return pp_err(PROP_ERR_ARG, "prop_calllist_add: NULL argument");
  PP_TRY(check_open(cl, "prop_calllist_add"));
  const size_t n = f->nrows;
  long idj = -1;
  if (cl->id_col && (idj = prop_frame_find(f, cl->id_col)) < 0)
    return pp_err(PROP_ERR_SCHEMA, "%s: the id column '%s' is missing (row numbers would pass for customer ids)",
                  pp_frame_source(f), cl->id_col);
  PP_TRY(grow_scratch(cl, n ? n : 1));
  PP_TRY(grow_rows(cl, cl->n + n));
  PP_TRY(prop_model_predict_frame(cl->m, f, cl->cprob, cl->cband, cl->cstatus, &cl->po));
  double *own = NULL;
  if (cl->by_value && !value) PP_TRY(read_values(cl, f, &own));
  const double *vals = cl->by_value ? (value ? value : own) : NULL;
  const char *src = cl->source ? cl->source : pp_frame_source(f);
  const size_t first = cl->n;
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) rc = add_row(cl, f, i, idj, vals, src);
  free(own);
  if (!rc && cl->K) rc = add_reasons(cl, f, first);
  return keep_in_budget(cl, rc);
}

/* Row i of a dense batch appended: id ids[i] (NULL: its row number), the value and the scores of scratch. */
static int add_dense_row(prop_calllist *cl, size_t i, const char *const *ids, const double *value) {
  const size_t k = cl->n;
  char num[32], msg[256];
  const char *id = ids ? ids[i] : NULL;
  int status = cl->cstatus[i];
  const char *why = NULL;
  if (!ids) {
    snprintf(num, sizeof num, "%zu", cl->base + k + 1);
    id = num;
  } else if (!id || !*id) {
    id = "";
    if (!status) status = PROP_ERR_VALUE, why = "the id is missing";
  }
  if (!status && value && isinf(value[i])) status = PROP_ERR_VALUE, why = "the value is infinite";
  char tail[160];
  if (!status && pp_text_is_formula(id)) {
    pp_formula_id_reason(tail, sizeof tail, id);
    status = PROP_ERR_VALUE, why = tail;
  }
  PP_TRY(pp_textbuf_add(&cl->ids, id, &cl->id_off[k]));
  cl->prob[k] = status ? NAN : cl->cprob[i];
  cl->band[k] = status ? 0 : (uint8_t)cl->cband[i];
  if (cl->value) cl->value[k] = value ? value[i] : NAN;
  if (status) {
    snprintf(msg, sizeof msg, "%s: row %zu: %s", cl->source ? cl->source : "<rows>", cl->base + k + 1,
             why ? why : status == PROP_ERR_CATEGORY ? "a category unseen in training (code -1)" : prop_strerror(status));
    PP_TRY(add_bad(cl, k, msg));
  }
  cl->n++;
  return 0;
}

int prop_calllist_add_dense(prop_calllist *cl, const void *X, prop_dtype dtype, size_t nrows, size_t ncols,
                            size_t row_stride, const char *const *ids, const double *value) {
  if (!cl) return pp_err(PROP_ERR_ARG, "prop_calllist_add_dense: NULL list");
  PP_TRY(check_open(cl, "prop_calllist_add_dense"));
  if (cl->by_value && !value && nrows) return pp_err(PROP_ERR_ARG, "prop_calllist_add_dense: ranking by value needs values");
  PP_TRY(grow_scratch(cl, nrows ? nrows : 1));
  PP_TRY(grow_rows(cl, cl->n + nrows));
  PP_TRY(prop_model_predict_dense(cl->m, X, dtype, nrows, ncols, row_stride, cl->cprob, cl->cband, cl->cstatus,
                                  &cl->po));
  const size_t first = cl->n;
  for (size_t i = 0; i < nrows; i++) PP_TRY(add_dense_row(cl, i, ids, cl->by_value ? value : NULL));
  return keep_in_budget(cl, cl->K ? add_dense_reasons(cl, X, dtype, nrows, row_stride, first) : 0);
}

/* ---- ranking and reading the list --------------------------------------------------------------------- */
/* The call positions of the scored rows as a merge of the runs gives them (in call order). */
typedef struct call_pos {
  size_t *used; /* band quotas taken */
  size_t got, other, cap;
} call_pos;

static int call_pos_init(const prop_calllist *cl, call_pos *p) {
  memset(p, 0, sizeof *p);
  p->cap = cl->ro.capacity ? cl->ro.capacity : SIZE_MAX;
  if (cl->ro.band_quota && !(p->used = pp_calloc(cl->ro.nbands + 1, sizeof *p->used))) return PROP_ERR_NOMEM;
  return 0;
}

/* The next row in key order (its band): whether it is selected, and its call position *c (selected rows
 * first, then the others, each in key order: prop_rank's). */
static int call_next(const prop_calllist *cl, call_pos *p, int band, size_t *c) {
  int sel = pp_rank_take(&cl->ro, p->used, p->cap, p->got, band);
  *c = sel ? p->got++ : cl->n_selected + p->other++;
  return sel;
}

/* Spilled: the rows selected and the band runs among them, from one merge of the runs (only the count
 * when neither band quotas nor the dialer's shares need it). */
static int count_selection(prop_calllist *cl) {
  const size_t ns = cl->base_scored, R = PROP_DIALER_RANK_MAX;
  cl->n_ranked = ns;
  const size_t cap = cl->ro.capacity ? cl->ro.capacity : SIZE_MAX;
  cl->n_selected = ns < cap ? ns : cap;
  if (!cl->ro.band_quota && cl->n_selected <= R) return pp_dialer_init(&cl->dial, cl->n_selected, NULL, 1);
  call_pos p = {0};
  pp_merge *mg = NULL;
  size_t *len = pp_calloc(R, sizeof *len), nruns = 0, c;
  int rc = len ? call_pos_init(cl, &p) : PROP_ERR_NOMEM, last = -1;
  if (!rc) rc = pp_merge_open(cl->sp, 1, cl->by_value, &mg);
  pp_row_view v;
  while (!rc && (rc = pp_merge_next(mg, &v)) == 1) {
    rc = 0;
    if (!call_next(cl, &p, v.band, &c)) {
      if (!cl->ro.band_quota) break; /* no quotas: the selected rows are a prefix */
      continue;
    }
    nruns += v.band != last;
    last = v.band;
    if (nruns <= R) len[nruns - 1]++;
  }
  if (!rc) {
    cl->n_selected = p.got;
    rc = pp_dialer_init(&cl->dial, p.got, nruns <= R ? len : NULL, nruns);
  }
  pp_merge_free(mg);
  free(p.used);
  free(len);
  return rc;
}

/* The rows held in memory are no longer needed once spilled. */
static void drop_rows(prop_calllist *cl) {
  free(cl->id_off);
  free(cl->prob);
  free(cl->value);
  free(cl->band);
  free(cl->reason_off);
  free(cl->bad);
  cl->id_off = cl->reason_off = NULL;
  cl->prob = cl->value = NULL;
  cl->band = NULL;
  cl->bad = NULL;
  cl->cap = cl->bad_cap = 0;
  pp_textbuf_free(&cl->ids);
  pp_textbuf_free(&cl->reason_text);
  pp_textbuf_free(&cl->err_text);
}

int prop_calllist_finish(prop_calllist *cl) {
  if (!cl) return pp_err(PROP_ERR_ARG, "prop_calllist_finish: NULL list");
  if (cl->finished) return 0;
  if (cl->failed) return pp_err(cl->failed, "prop_calllist_finish: the list could not spill its rows earlier");
  if (cl->sp) {
    PP_TRY(spill(cl));
    drop_rows(cl);
    PP_TRY(count_selection(cl));
    cl->finished = 1;
    return 0;
  }
  const size_t n = cl->n ? cl->n : 1;
  cl->calls = pp_malloc_array(n, sizeof *cl->calls);
  cl->dialer = pp_malloc_array(n, sizeof *cl->dialer);
  if (!cl->calls || !cl->dialer) return PROP_ERR_NOMEM;
  PP_TRY(prop_rank_order(cl->prob, cl->band, cl->value, cl->ids.p, cl->id_off, cl->n, &cl->ro, cl->calls, cl->dialer,
                         &cl->n_ranked, &cl->n_selected));
  if (cl->order == PROP_ORDER_INPUT) {
    if (!(cl->pos = pp_malloc_array(n, sizeof *cl->pos))) return PROP_ERR_NOMEM;
    for (size_t k = 0; k < cl->n; k++) cl->pos[cl->calls[k]] = k;
  }
  cl->finished = 1;
  return 0;
}

size_t prop_calllist_n_rows(const prop_calllist *cl) { return cl ? cl->base + cl->n : 0; }
size_t prop_calllist_n_selected(const prop_calllist *cl) { return cl && cl->finished ? cl->n_selected : 0; }
size_t prop_calllist_n_unscored(const prop_calllist *cl) { return cl ? cl->base_bad + cl->nbad : 0; }
size_t prop_calllist_n_columns(const prop_calllist *cl) {
  return cl ? BASE_COLUMNS + 2 * (size_t)cl->by_value + cl->K : 0;
}
const char *prop_calllist_column(const prop_calllist *cl, size_t j) {
  if (j >= prop_calllist_n_columns(cl)) return NULL;
  const size_t fixed = BASE_COLUMNS + 2 * (size_t)cl->by_value;
  return j < fixed ? k_columns[j] : k_reason_cols[j - fixed];
}

/* Output position k: the input row and its call position. */
static void at(const prop_calllist *cl, size_t k, size_t *row, size_t *call) {
  *row = cl->order == PROP_ORDER_INPUT ? k : cl->calls[k];
  *call = cl->order == PROP_ORDER_INPUT ? cl->pos[k] : k;
}

/* Whether output row k can be read: the list is ranked, in memory, and has the row. */
static int readable(const prop_calllist *cl, size_t k) { return cl && cl->finished && !cl->sp && k < cl->n; }

int prop_calllist_get(const prop_calllist *cl, size_t *input_row, double *prob, int *band, size_t *rank,
                      int *dialer_rank, unsigned char *selected) {
  if (!cl) return pp_err(PROP_ERR_ARG, "prop_calllist_get: NULL list");
  if (!cl->finished) return pp_err(PROP_ERR_STATE, "prop_calllist_get: call prop_calllist_finish first");
  if (cl->sp)
    return pp_err(PROP_ERR_STATE, "prop_calllist_get: the list outgrew options.memory_limit and was spilled to a "
                  "temporary file: only prop_calllist_write reads it");
  for (size_t k = 0; k < cl->n; k++) {
    size_t i, c;
    at(cl, k, &i, &c);
    const int sel = c < cl->n_selected;
    if (input_row) input_row[k] = i;
    if (prob) prob[k] = cl->prob[i];
    if (band) band[k] = cl->band[i];
    if (rank) rank[k] = c < cl->n_ranked ? c + 1 : 0;
    if (dialer_rank) dialer_rank[k] = sel ? cl->dialer[c] : 0;
    if (selected) selected[k] = (unsigned char)sel;
  }
  return 0;
}

void pp_calllist_rows_get(const prop_calllist *cl, pp_calllist_rows *r) {
  r->n = cl->n;
  r->text = cl->ids.p;
  r->id_off = cl->id_off;
  r->prob = cl->prob;
  r->value = cl->value;
  r->band = cl->band;
}

const char *pp_calllist_reason(const prop_calllist *cl, size_t i) { return i < cl->n ? reason_of(cl, i) : NULL; }

const char *prop_calllist_reason(const prop_calllist *cl, size_t k, size_t q) {
  if (!readable(cl, k) || q >= cl->K) return NULL;
  size_t i, c;
  at(cl, k, &i, &c);
  size_t off = cl->reason_off[i * cl->K + q];
  return off == SIZE_MAX ? NULL : cl->reason_text.p + off;
}

const char *prop_calllist_id(const prop_calllist *cl, size_t k) {
  if (!readable(cl, k)) return NULL;
  size_t i, c;
  at(cl, k, &i, &c);
  return cl->ids.p + cl->id_off[i];
}

const char *prop_calllist_error(const prop_calllist *cl, size_t k) {
  if (!readable(cl, k)) return NULL;
  size_t i, c;
  at(cl, k, &i, &c);
  return reason_of(cl, i);
}

/* One output row: a scored row's figures at call position c with its dialer rank, or an unscored row's
 * reason. */
static int write_row(const prop_calllist *cl, prop_writer *w, const pp_row_view *v, size_t c, int dialer) {
  PP_TRY(prop_writer_text(w, v->id));
  if (v->err) {
    const char *rest[] = {"", "0", "", v->err, "0", "0", "", ""};
    for (size_t j = 0; j < 6 + 2 * (size_t)cl->by_value; j++) PP_TRY(prop_writer_text(w, rest[j]));
    for (size_t q = 0; q < cl->K; q++) PP_TRY(prop_writer_text(w, NULL));
    return prop_writer_end_row(w);
  }
  const int sel = c < cl->n_selected;
  PP_TRY(prop_writer_number(w, v->prob));
  PP_TRY(prop_writer_integer(w, v->band));
  PP_TRY(prop_writer_integer(w, c < cl->n_ranked ? (int64_t)(c + 1) : 0));
  PP_TRY(prop_writer_text(w, NULL));
  PP_TRY(prop_writer_integer(w, sel ? dialer : 0));
  PP_TRY(prop_writer_integer(w, sel));
  if (cl->by_value) { /* a missing value counts as 0 in the expected value */
    const double x = v->value;
    PP_TRY(prop_writer_number(w, x));
    PP_TRY(prop_writer_number(w, v->prob * (x == x ? x : 0.0)));
  }
  for (size_t q = 0; q < cl->K; q++) PP_TRY(prop_writer_text(w, q < v->nreasons ? v->reason[q] : NULL));
  return prop_writer_end_row(w);
}

/* Spilled, call order: the runs merged (selected rows, then with band quotas a second merge for the
 * others), then the unscored rows in input order. */
static int write_spilled_ranked(const prop_calllist *cl, prop_writer *w) {
  int rc = 0;
  pp_row_view v;
  size_t c;
  for (int phase = 0; !rc && phase < (cl->ro.band_quota ? 2 : 1); phase++) {
    call_pos p;
    pp_merge *mg = NULL;
    rc = call_pos_init(cl, &p);
    if (!rc) rc = pp_merge_open(cl->sp, 1, cl->by_value, &mg);
    while (!rc && (rc = pp_merge_next(mg, &v)) == 1) {
      int sel = call_next(cl, &p, v.band, &c);
      rc = cl->ro.band_quota && sel != (phase == 0) ? 0 : write_row(cl, w, &v, c, sel ? pp_dialer_at(&cl->dial, c) : 0);
    }
    pp_merge_free(mg);
    free(p.used);
  }
  pp_merge *in = NULL;
  if (!rc) rc = pp_merge_open(cl->sp, 0, cl->by_value, &in);
  while (!rc && (rc = pp_merge_next(in, &v)) == 1) rc = write_row(cl, w, &v, SIZE_MAX, 0);
  pp_merge_free(in);
  return rc;
}

/* The call positions of rows first..first+n-1 into pos (SIZE_MAX for an unscored row): one merge. */
static int window_positions(const prop_calllist *cl, size_t first, size_t n, size_t *pos) {
  for (size_t i = 0; i < n; i++) pos[i] = SIZE_MAX;
  call_pos p;
  pp_merge *mg = NULL;
  pp_row_view v;
  size_t c;
  int rc = call_pos_init(cl, &p);
  if (!rc) rc = pp_merge_open(cl->sp, 1, cl->by_value, &mg);
  while (!rc && (rc = pp_merge_next(mg, &v)) == 1) {
    rc = 0;
    call_next(cl, &p, v.band, &c);
    if (v.row >= first && v.row - first < n) pos[v.row - first] = c;
  }
  pp_merge_free(mg);
  free(p.used);
  return rc;
}

/* Spilled, input order: the rows read back in order, their call positions found a window of
 * memory_limit / 8 rows at a time. */
static int write_spilled_input(const prop_calllist *cl, prop_writer *w) {
  const size_t total = prop_calllist_n_rows(cl);
  size_t win = cl->limit / sizeof(size_t);
  if (win < 1) win = 1;
  if (win > total) win = total ? total : 1;
  size_t *pos = pp_malloc_array(win, sizeof *pos);
  pp_merge *in = NULL;
  int rc = pos ? pp_merge_open(cl->sp, 0, cl->by_value, &in) : PROP_ERR_NOMEM;
  for (size_t first = 0; !rc && first < total; first += win) {
    const size_t n = total - first < win ? total - first : win;
    rc = window_positions(cl, first, n, pos);
    for (size_t i = 0; !rc && i < n; i++) {
      pp_row_view v;
      rc = pp_merge_next(in, &v);
      if (rc == 1 && v.row != first + i) rc = 0;
      if (rc != 1) {
        rc = rc < 0 ? rc : pp_err(PROP_ERR_IO, "call list: temporary file in %s: row %zu is missing", cl->temp_dir,
                                  first + i + 1);
        break;
      }
      const size_t c = pos[i];
      rc = write_row(cl, w, &v, c, c < cl->n_selected ? pp_dialer_at(&cl->dial, c) : 0);
    }
  }
  pp_merge_free(in);
  free(pos);
  return rc;
}

int prop_calllist_write(const prop_calllist *cl, prop_writer *w) {
  if (!cl || !w) return pp_err(PROP_ERR_ARG, "prop_calllist_write: NULL argument");
  if (!cl->finished) return pp_err(PROP_ERR_STATE, "prop_calllist_write: call prop_calllist_finish first");
  const char *names[BASE_COLUMNS + 2 + MAX_REASONS];
  const size_t nc = prop_calllist_n_columns(cl);
  for (size_t j = 0; j < nc; j++) names[j] = prop_calllist_column(cl, j);
  PP_TRY(prop_writer_header(w, names, nc));
  if (cl->sp) return cl->order == PROP_ORDER_INPUT ? write_spilled_input(cl, w) : write_spilled_ranked(cl, w);
  for (size_t k = 0; k < cl->n; k++) {
    size_t i, c;
    pp_row_view v;
    at(cl, k, &i, &c);
    view_of(cl, i, 1, &v);
    PP_TRY(write_row(cl, w, &v, c, c < cl->n_selected ? cl->dialer[c] : 0));
  }
  return 0;
}
