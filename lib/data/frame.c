/* Frames: typed columns, built in memory (prop_frame_create + prop_frame_add_*) or by the CSV
 * reader (csv.c).  Also the 0/1 view of a label column (pp_frame_binary_column). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

/* ---- columns --------------------------------------------------------------------------------- */

void pp_column_release(pp_column *c, size_t nrows) {
  free(c->name);
  free(c->num);
  free(c->code);
  if (c->dict)
    for (size_t k = 0; k < c->ndict; k++) free(c->dict[k]);
  free(c->dict);
  pp_strmap_free(&c->map);
  if (c->str)
    for (size_t i = 0; i < nrows; i++) free(c->str[i]);
  free(c->str);
  memset(c, 0, sizeof *c);
}

static int stored_type(prop_coltype t) {
  return t == PROP_COL_NUMERIC || t == PROP_COL_CATEGORICAL || t == PROP_COL_ID || t == PROP_COL_TARGET;
}

int pp_frame_add_column_ex(prop_frame *f, const char *name, prop_coltype t, int check_dup, size_t *j) {
  if (!f || !name) return pp_err(PROP_ERR_ARG, "pp_frame_add_column: NULL argument");
  if (!*name) return pp_err(PROP_ERR_SCHEMA, "%s: a column name is empty", pp_frame_source(f));
  if (!stored_type(t))
    return pp_err(PROP_ERR_ARG, "%s: column '%s': type %d cannot be stored in a frame", pp_frame_source(f), name,
                  (int)t);
  int known = prop_frame_find(f, name) >= 0;
  if (check_dup && known) return pp_err(PROP_ERR_SCHEMA, "%s: duplicate column name '%s'", pp_frame_source(f), name);
  PP_TRY(pp_reserve_array(&f->cols, &f->cap_cols, f->ncols + 1, sizeof *f->cols, 8));
  if (!known) PP_TRY(pp_strmap_set(&f->colmap, name, f->ncols));
  pp_column c;
  memset(&c, 0, sizeof c);
  pp_strmap_init(&c.map);
  c.type = t;
  c.name = pp_strdup(name);
  int ok = c.name != NULL;
  size_t n = f->nrows;
  if (ok && t == PROP_COL_NUMERIC) {
    ok = (c.num = pp_malloc_array(n, sizeof *c.num)) != NULL;
    for (size_t i = 0; ok && i < n; i++) c.num[i] = NAN;
  } else if (ok && t == PROP_COL_ID) {
    ok = (c.str = pp_calloc(n, sizeof *c.str)) != NULL;
  } else if (ok) {
    ok = (c.code = pp_malloc_array(n, sizeof *c.code)) != NULL;
    for (size_t i = 0; ok && i < n; i++) c.code[i] = -1;
  }
  if (!ok) {
    pp_column_release(&c, 0);
    return PROP_ERR_NOMEM;
  }
  f->cols[f->ncols] = c;
  if (j) *j = f->ncols;
  f->ncols++;
  return 0;
}

int pp_frame_add_column(prop_frame *f, const char *name, prop_coltype t, size_t *j) {
  return pp_frame_add_column_ex(f, name, t, 1, j);
}

/* The dictionary grows by doubling: its allocated size is 4 for up to 4 labels, else the next
 * power of two, so a reallocation is due exactly when ndict is 0 or a power of two >= 4. */
int pp_column_intern(pp_column *c, const char *label, int32_t *code) {
  size_t v;
  if (pp_strmap_get(&c->map, label, &v)) {
    *code = (int32_t)v;
    return 0;
  }
  size_t n = c->ndict;
  if (n >= (size_t)INT32_MAX)
    return pp_err(PROP_ERR_RANGE, "column '%s': more than %d distinct labels", c->name, INT32_MAX);
  if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) PP_TRY(pp_realloc_array(&c->dict, n ? 2 * n : 4, sizeof *c->dict));
  char *d = pp_strdup(label);
  if (!d) return PROP_ERR_NOMEM;
  if (pp_strmap_put(&c->map, label, n, NULL)) {
    free(d);
    return PROP_ERR_NOMEM;
  }
  c->dict[n] = d;
  c->ndict = n + 1;
  *code = (int32_t)n;
  return 0;
}

int pp_frame_subset(const prop_frame *f, const size_t *idx, size_t n, prop_frame **out) {
  prop_frame *g = NULL;
  PP_TRY(prop_frame_create(n, &g));
  int rc = 0;
  if (f->source && !(g->source = pp_strdup(f->source))) rc = PROP_ERR_NOMEM;
  if (!rc && !(g->rownum = pp_malloc_array(n ? n : 1, sizeof *g->rownum))) rc = PROP_ERR_NOMEM;
  for (size_t i = 0; i < n && !rc; i++) g->rownum[i] = prop_frame_row_number(f, idx[i]);
  for (size_t k = 0; k < f->ndropped && !rc; k++) rc = pp_frame_add_dropped(g, f->dropped[k]);
  for (size_t i = 0; i < n && !rc && f->row_err; i++) /* rows that could not be read stay so */
    if (f->row_err[idx[i]]) rc = pp_frame_put_row_error(g, n, i, f->row_code[idx[i]], f->row_err[idx[i]]);
  for (size_t j = 0; j < f->ncols && !rc; j++) {
    const pp_column *c = &f->cols[j];
    size_t gj;
    if ((rc = pp_frame_add_column(g, c->name, c->type, &gj))) break;
    pp_column *d = &g->cols[gj];
    if (c->type == PROP_COL_NUMERIC) {
      for (size_t i = 0; i < n; i++) d->num[i] = c->num[idx[i]];
    } else if (c->type == PROP_COL_ID) {
      for (size_t i = 0; i < n && !rc; i++)
        if (c->str[idx[i]] && !(d->str[i] = pp_strdup(c->str[idx[i]]))) rc = PROP_ERR_NOMEM;
    } else {
      for (size_t k = 0; k < c->ndict && !rc; k++) {
        int32_t code;
        rc = pp_column_intern(d, c->dict[k], &code);
      }
      for (size_t i = 0; i < n; i++) d->code[i] = c->code[idx[i]];
    }
  }
  if (rc) {
    prop_frame_free(g);
    return rc;
  }
  *out = g;
  return 0;
}

int pp_frame_set_row_error(prop_frame *f, size_t i, int code, const char *msg) {
  if (!f) return pp_err(PROP_ERR_ARG, "pp_frame_set_row_error: NULL frame");
  if (i >= f->nrows) return pp_err(PROP_ERR_RANGE, "%s: row %zu out of range", pp_frame_source(f), i);
  return pp_frame_put_row_error(f, f->nrows, i, code, msg ? msg : prop_strerror(code));
}

int pp_frame_put_row_error(prop_frame *f, size_t cap, size_t i, int code, const char *msg) {
  if (!f->row_err) {
    char **e = pp_calloc(cap, sizeof *e);
    int *k = pp_calloc(cap, sizeof *k);
    if (!e || !k) {
      free(e);
      free(k);
      return PROP_ERR_NOMEM;
    }
    f->row_err = e;
    f->row_code = k;
  }
  char *m = pp_strdup(msg);
  if (!m) return PROP_ERR_NOMEM;
  free(f->row_err[i]);
  f->row_err[i] = m;
  f->row_code[i] = code;
  return 0;
}

const char *pp_frame_source(const prop_frame *f) { return (f && f->source) ? f->source : "<frame>"; }

int pp_frame_first_row_error(const prop_frame *f) {
  if (!f || !f->row_err) return 0;
  for (size_t i = 0; i < f->nrows; i++) {
    const char *msg = f->row_err[i];
    if (!msg) continue;
    int code = f->row_code[i] ? f->row_code[i] : PROP_ERR_CSV;
    const char *src = pp_frame_source(f);
    size_t len = strlen(src);
    if (strncmp(msg, src, len) == 0 && msg[len] == ':') return pp_err(code, "%s", msg);
    return pp_err(code, "%s:%zu: %s", src, prop_frame_row_number(f, i), msg);
  }
  return 0;
}

void pp_cell_excerpt(const char *s, size_t len, char *out, size_t outsz) {
  size_t max = outsz > 4 ? outsz - 4 : 0;
  if (max > 40) max = 40;
  size_t n = len < max ? len : max;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[k++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
  }
  if (n < len && outsz >= 4) {
    memcpy(out + k, "...", 3);
    k += 3;
  }
  if (outsz) out[k < outsz ? k : outsz - 1] = '\0';
}

/* ---- public API -------------------------------------------------------------------------------- */

int prop_frame_create(size_t nrows, prop_frame **out) {
  if (!out) return pp_err(PROP_ERR_ARG, "prop_frame_create: NULL out");
  *out = NULL;
  prop_frame *f = pp_calloc(1, sizeof *f);
  if (!f) return PROP_ERR_NOMEM;
  f->nrows = nrows;
  *out = f;
  return 0;
}

int prop_frame_add_numeric(prop_frame *f, const char *name, const double *values) {
  if (!f || !name || (!values && f->nrows))
    return pp_err(PROP_ERR_ARG, "prop_frame_add_numeric: NULL argument");
  for (size_t i = 0; i < f->nrows; i++)
    if (isinf(values[i]))
      return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: %s is not a finite number", pp_frame_source(f),
                    prop_frame_row_number(f, i), name, values[i] > 0 ? "inf" : "-inf");
  size_t j;
  PP_TRY(pp_frame_add_column(f, name, PROP_COL_NUMERIC, &j));
  if (f->nrows) memcpy(f->cols[j].num, values, f->nrows * sizeof *values);
  return 0;
}

int prop_frame_add_strings(prop_frame *f, const char *name, prop_coltype type, const char *const *values) {
  if (!f || !name || (!values && f->nrows))
    return pp_err(PROP_ERR_ARG, "prop_frame_add_strings: NULL argument");
  if (type != PROP_COL_CATEGORICAL && type != PROP_COL_ID && type != PROP_COL_TARGET)
    return pp_err(PROP_ERR_ARG, "prop_frame_add_strings: column '%s': type must be categorical, id or target", name);
  size_t j;
  PP_TRY(pp_frame_add_column(f, name, type, &j));
  pp_column *c = &f->cols[j];
  int rc = 0;
  for (size_t i = 0; i < f->nrows && !rc; i++) {
    if (!values[i]) continue;
    if (type == PROP_COL_ID) {
      if (!(c->str[i] = pp_strdup(values[i]))) rc = PROP_ERR_NOMEM;
    } else {
      rc = pp_column_intern(c, values[i], &c->code[i]);
    }
  }
  if (rc) {
    pp_column_release(c, f->nrows);
    f->ncols--;
  }
  return rc;
}

void prop_frame_free(prop_frame *f) {
  if (!f) return;
  for (size_t j = 0; j < f->ncols; j++) pp_column_release(&f->cols[j], f->nrows);
  free(f->cols);
  free(f->rownum);
  if (f->row_err)
    for (size_t i = 0; i < f->nrows; i++) free(f->row_err[i]);
  free(f->row_err);
  free(f->row_code);
  free(f->source);
  for (size_t k = 0; k < f->ndropped; k++) free(f->dropped[k]);
  free(f->dropped);
  pp_strmap_free(&f->colmap);
  pp_strmap_free(&f->dropmap);
  free(f);
}

int pp_frame_add_dropped(prop_frame *f, const char *name) {
  PP_TRY(pp_reserve_array(&f->dropped, &f->cap_dropped, f->ndropped + 1, sizeof *f->dropped, 8));
  if (!(f->dropped[f->ndropped] = pp_strdup(name))) return PROP_ERR_NOMEM;
  if (pp_strmap_put(&f->dropmap, name, f->ndropped, NULL)) {
    free(f->dropped[f->ndropped]);
    return PROP_ERR_NOMEM;
  }
  f->ndropped++;
  return 0;
}

int pp_frame_was_dropped(const prop_frame *f, const char *name) {
  return f && name && pp_strmap_get(&f->dropmap, name, NULL);
}

size_t prop_frame_n_rows(const prop_frame *f) { return f ? f->nrows : 0; }
size_t prop_frame_n_columns(const prop_frame *f) { return f ? f->ncols : 0; }

const char *prop_frame_column_name(const prop_frame *f, size_t j) {
  return (f && j < f->ncols) ? f->cols[j].name : NULL;
}

prop_coltype prop_frame_column_type(const prop_frame *f, size_t j) {
  return (f && j < f->ncols) ? f->cols[j].type : PROP_COL_AUTO;
}

/* The deprecated spellings (the header marks them); the library itself never calls them. */
size_t prop_frame_nrows(const prop_frame *f) { return prop_frame_n_rows(f); }
size_t prop_frame_ncols(const prop_frame *f) { return prop_frame_n_columns(f); }
const char *prop_frame_colname(const prop_frame *f, size_t j) { return prop_frame_column_name(f, j); }
prop_coltype prop_frame_coltype(const prop_frame *f, size_t j) { return prop_frame_column_type(f, j); }

long prop_frame_find(const prop_frame *f, const char *name) {
  size_t j;
  if (!f || !name || !pp_strmap_get(&f->colmap, name, &j)) return -1;
  return j < f->ncols && strcmp(f->cols[j].name, name) == 0 ? (long)j : -1;
}

const char *prop_frame_row_error(const prop_frame *f, size_t i) {
  return (f && f->row_err && i < f->nrows) ? f->row_err[i] : NULL;
}

size_t prop_frame_row_number(const prop_frame *f, size_t i) {
  if (!f || i >= f->nrows) return 0;
  return f->rownum ? f->rownum[i] : i + 1;
}

/* ---- 0/1 labels ------------------------------------------------------------------------------- */

static int is_zero_one_label(const char *s, int *v) {
  if (!strcmp(s, "0") || !strcmp(s, "0.0")) {
    *v = 0;
    return 1;
  }
  if (!strcmp(s, "1") || !strcmp(s, "1.0")) {
    *v = 1;
    return 1;
  }
  return 0;
}

/* Does label (a cell's text) name the same outcome as want: equal strings, or both read as the same
 * finite number ("1" and "1.0")?  wnum/wv: want read as a number. */
static int same_label(const char *label, const char *want, int wnum, double wv) {
  double v;
  return strcmp(label, want) == 0 || (wnum && pp_parse_double(label, &v) == 0 && isfinite(v) && v == wv);
}

static int read_label_number(const char *s, double *v) { return s && pp_parse_double(s, v) == 0 && isfinite(*v); }

static int unexpected_label(const prop_frame *f, const pp_column *c, size_t i, const char *label,
                            const char *positive, const char *negative) {
  if (!positive)
    return pp_err(PROP_ERR_CATEGORY, "%s:%zu:%s: label '%s' is not 0 or 1 (give the positive label)",
                  pp_frame_source(f), prop_frame_row_number(f, i), c->name, label);
  return pp_err(PROP_ERR_CATEGORY, "%s:%zu:%s: label '%s' is neither the positive label '%s' nor the negative '%s'",
                pp_frame_source(f), prop_frame_row_number(f, i), c->name, label, positive, negative);
}

/* The y vector of a numeric label column. */
static int binary_numeric(const prop_frame *f, const pp_column *c, const char *positive, const char *negative,
                          int *y) {
  double pv = 1.0, nv = 0.0;
  if (positive && !read_label_number(positive, &pv))
    return pp_err(PROP_ERR_CATEGORY, "%s:%s: positive label '%s' is not a number, but the column is numeric",
                  pp_frame_source(f), c->name, positive);
  int strict = !positive || negative; /* every value must be the positive or the negative one */
  if (negative && !read_label_number(negative, &nv))
    return pp_err(PROP_ERR_CATEGORY, "%s:%s: negative label '%s' is not a number, but the column is numeric",
                  pp_frame_source(f), c->name, negative);
  for (size_t i = 0; i < f->nrows; i++) {
    double v = c->num[i];
    if (isnan(v))
      return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: missing label", pp_frame_source(f), prop_frame_row_number(f, i),
                    c->name);
    if (strict && v != pv && v != nv) return unexpected_label(f, c, i, PP_G(v), positive, negative);
    y[i] = v == pv;
  }
  return 0;
}

/* The y vector of a categorical / target label column. */
static int binary_labels(const prop_frame *f, const pp_column *c, const char *positive, const char *negative,
                         int *y) {
  size_t nd = c->ndict;
  signed char *is_pos = pp_malloc(nd ? nd : 1);
  if (!is_pos) return PROP_ERR_NOMEM;
  int rc = 0;
  if (!positive) {
    for (size_t k = 0; k < nd; k++) {
      int v;
      is_pos[k] = is_zero_one_label(c->dict[k], &v) ? (signed char)v : -1; /* -1: not a 0/1 label */
    }
  } else {
    double pv = 0, nv = 0;
    int pnum = read_label_number(positive, &pv), nnum = read_label_number(negative, &nv);
    size_t hits = 0;
    for (size_t k = 0; k < nd; k++) {
      int eq = same_label(c->dict[k], positive, pnum, pv);
      /* -1: neither of the two labels a model was trained with */
      is_pos[k] = (signed char)(eq ? 1 : (!negative || same_label(c->dict[k], negative, nnum, nv)) ? 0 : -1);
      hits += (size_t)eq;
    }
    if (!hits && !negative) { /* naming the labels is for training; evaluated rows may all be negative */
      char list[256];
      size_t len = 0;
      list[0] = '\0';
      for (size_t k = 0; k < nd && k < 8 && len < sizeof list; k++) {
        int w = snprintf(list + len, sizeof list - len, "%s'%s'", k ? ", " : "", c->dict[k]);
        if (w < 0) break;
        len += (size_t)w;
      }
      rc = pp_err(PROP_ERR_CATEGORY, "%s:%s: positive label '%s' not found among the labels (%s%s)",
                  pp_frame_source(f), c->name, positive, nd ? list : "none", nd > 8 ? ", ..." : "");
    }
  }
  for (size_t i = 0; i < f->nrows && !rc; i++) {
    int32_t k = c->code[i];
    if (k < 0)
      rc = pp_err(PROP_ERR_VALUE, "%s:%zu:%s: missing label", pp_frame_source(f), prop_frame_row_number(f, i),
                  c->name);
    else if (is_pos[k] < 0)
      rc = unexpected_label(f, c, i, c->dict[k], positive, negative);
    else
      y[i] = is_pos[k];
  }
  free(is_pos);
  return rc;
}

/* *out: the one label of the rows with y = 0 (malloc'd; NULL when there are none).  Training's rule: a
 * target holds two labels, so a second label among those rows (a third in the column; labels equal
 * as text or as the same number are one) is PROP_ERR_CATEGORY naming its row, column and label. */
static int negative_label(const prop_frame *f, const pp_column *c, const int *y, const char *positive, char **out) {
  *out = NULL;
  size_t first = f->nrows;
  double fv = 0;
  int fnum = 0;
  char text[32];
  for (size_t i = 0; i < f->nrows; i++) {
    if (y[i]) continue;
    if (first == f->nrows) {
      first = i;
      fnum = c->type != PROP_COL_NUMERIC && read_label_number(c->dict[c->code[i]], &fv);
      continue;
    }
    int same = c->type == PROP_COL_NUMERIC ? c->num[i] == c->num[first]
                                           : c->code[i] == c->code[first] ||
                                                 same_label(c->dict[c->code[i]], c->dict[c->code[first]], fnum, fv);
    if (same) continue;
    const char *lab = c->type == PROP_COL_NUMERIC ? PP_G(c->num[i]) : c->dict[c->code[i]];
    const char *neg = c->type == PROP_COL_NUMERIC ? strcpy(text, PP_G(c->num[first])) : c->dict[c->code[first]];
    return pp_err(PROP_ERR_CATEGORY,
                  "%s:%zu:%s: label '%s' is a third label besides the positive '%s' and '%s' (row %zu): a target "
                  "holds two labels; map the others to one of them first",
                  pp_frame_source(f), prop_frame_row_number(f, i), c->name, lab, positive ? positive : "1", neg,
                  prop_frame_row_number(f, first));
  }
  if (first == f->nrows) return 0;
  if (c->type == PROP_COL_NUMERIC) pp_snprintf_c(text, sizeof text, "%.17g", c->num[first]); /* kept in the model */
  *out = pp_strdup(c->type == PROP_COL_NUMERIC ? text : c->dict[c->code[first]]);
  return *out ? 0 : PROP_ERR_NOMEM;
}

int pp_frame_binary_column(const prop_frame *f, const char *col, const char *positive, const char *negative, int **y,
                           char **pos_label, char **neg_label) {
  if (!f || !col || !y || !pos_label) return pp_err(PROP_ERR_ARG, "pp_frame_binary_column: NULL argument");
  *y = NULL;
  *pos_label = NULL;
  if (neg_label) *neg_label = NULL;
  long j = prop_frame_find(f, col);
  if (j < 0) return pp_err(PROP_ERR_SCHEMA, "%s: column '%s' not found", pp_frame_source(f), col);
  const pp_column *c = &f->cols[j];
  if (c->type == PROP_COL_ID)
    return pp_err(PROP_ERR_SCHEMA, "%s: column '%s' is an id column, not a label", pp_frame_source(f), col);
  if (!positive) negative = NULL; /* labels 0/1: strict already */
  int *v = pp_malloc_array(f->nrows, sizeof *v);
  if (!v) return PROP_ERR_NOMEM;
  int rc = c->type == PROP_COL_NUMERIC ? binary_numeric(f, c, positive, negative, v)
                                       : binary_labels(f, c, positive, negative, v);
  char *p = NULL, *n = NULL;
  if (!rc && !(p = pp_strdup(positive ? positive : "1"))) rc = PROP_ERR_NOMEM;
  if (!rc && neg_label) rc = negative_label(f, c, v, positive, &n);
  if (rc) {
    free(v);
    free(p);
    return rc;
  }
  *y = v;
  *pos_label = p;
  if (neg_label) *neg_label = n;
  return 0;
}
