/* propensity score: stream a CSV of any size through a model and write the ranked call list.
 * Memory grows with rows only by what each output row keeps: the id's characters in one text
 * buffer plus its offset, the probability, a one-byte band, the value with --rank-by value, and,
 * for the rare unscorable rows, their reason in a side table; ranking then adds the call order
 * and the dialer ranks (about 30 bytes per row plus the id in all).  Feature columns are held
 * one chunk at a time. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define CHUNK_ROWS 65536

/* A growing buffer of NUL-terminated strings, addressed by offset. */
typedef struct text_buf {
  char *p;
  size_t len, cap;
} text_buf;

static int text_add(text_buf *t, const char *s, size_t *off) {
  size_t l = strlen(s) + 1;
  if (l > SIZE_MAX - t->len) return -1;
  if (t->len + l > t->cap) {
    size_t cap = t->cap ? t->cap : 65536;
    while (cap < t->len + l) {
      if (cap > SIZE_MAX / 2) {
        cap = t->len + l;
        break;
      }
      cap *= 2;
    }
    char *p = realloc(t->p, cap);
    if (!p) return -1;
    t->p = p;
    t->cap = cap;
  }
  memcpy(t->p + t->len, s, l);
  *off = t->len;
  t->len += l;
  return 0;
}

/* A row that could not be scored and the offset of its reason in out_rows.err_text. */
typedef struct bad_row {
  size_t row, msg;
} bad_row;

typedef struct out_rows {
  size_t n, cap;
  size_t *id_off; /* row i's id is ids.p + id_off[i] */
  text_buf ids;
  double *prob;
  double *value; /* only with --rank-by value */
  uint8_t *band;
  bad_row *bad; /* in row order */
  size_t nbad, bad_cap;
  text_buf err_text;
} out_rows;

static int grow(out_rows *o, size_t need, int with_value) {
  if (need <= o->cap) return 0;
  size_t cap = o->cap ? o->cap : 4096;
  while (cap < need) cap *= 2;
  void *p;
  if (!(p = realloc(o->id_off, cap * sizeof *o->id_off))) return -1;
  o->id_off = p;
  if (!(p = realloc(o->prob, cap * sizeof *o->prob))) return -1;
  o->prob = p;
  if (with_value) {
    if (!(p = realloc(o->value, cap * sizeof *o->value))) return -1;
    o->value = p;
  }
  if (!(p = realloc(o->band, cap * sizeof *o->band))) return -1;
  o->band = p;
  o->cap = cap;
  return 0;
}

static int add_bad(out_rows *o, size_t row, const char *why) {
  if (o->nbad == o->bad_cap) {
    size_t cap = o->bad_cap ? 2 * o->bad_cap : 64;
    bad_row *p = realloc(o->bad, cap * sizeof *p);
    if (!p) return -1;
    o->bad = p;
    o->bad_cap = cap;
  }
  if (text_add(&o->err_text, why, &o->bad[o->nbad].msg)) return -1;
  o->bad[o->nbad++].row = row;
  return 0;
}

/* The reason row i could not be scored, or NULL. */
static const char *bad_reason(const out_rows *o, size_t i) {
  size_t lo = 0, hi = o->nbad;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (o->bad[mid].row < i) lo = mid + 1;
    else hi = mid;
  }
  return lo < o->nbad && o->bad[lo].row == i ? o->err_text.p + o->bad[lo].msg : NULL;
}

static void out_free(out_rows *o) {
  free(o->id_off);
  free(o->ids.p);
  free(o->prob);
  free(o->value);
  free(o->band);
  free(o->bad);
  free(o->err_text.p);
}

/* Turn the permutation a[0..n) into its inverse in place (cycle by cycle; the top bit marks the
 * entries already written). */
static void invert_permutation(size_t *a, size_t n) {
  const size_t mark = ~(SIZE_MAX >> 1);
  for (size_t i = 0; i < n; i++) {
    if (a[i] & mark) continue;
    size_t prev = i, cur = a[i];
    while (cur != i) {
      size_t next = a[cur];
      a[cur] = prev | mark;
      prev = cur;
      cur = next;
    }
    a[i] = prev | mark;
  }
  for (size_t i = 0; i < n; i++) a[i] &= ~mark;
}

/* order: the rows in call order from prop_rank_order (n_ranked ranked, the first n_selected of
 * them selected), dialer by call position.  With input_order, order is inverted in place. */
static int write_output(const char *path, const out_rows *o, size_t *order, const int *dialer, size_t n_ranked,
                        size_t n_selected, int by_value, int input_order) {
  /* write to a temporary file next to path, then rename: readers never see half a list */
  out_file of;
  if (out_open(&of, "score", path)) return 5;
  FILE *fp = of.fp;
  if (input_order) invert_permutation(order, o->n); /* order[i]: call position of row i */
  fprintf(fp, "id,probability,band,rank,error,dialer_rank,selected%s\n", by_value ? ",value,expected_value" : "");
  for (size_t j = 0; j < o->n; j++) {
    size_t i = input_order ? j : order[j], k = input_order ? order[j] : j;
    csv_field(fp, o->ids.p + o->id_off[i]);
    const char *err = bad_reason(o, i);
    if (err) {
      fputs(",,0,,", fp);
      csv_field(fp, err);
      fputs(",0,0", fp);
      if (by_value) fputs(",,", fp);
    } else {
      size_t rank = k < n_ranked ? k + 1 : 0;
      int sel = k < n_selected, d = sel ? dialer[k] : 0;
      fprintf(fp, ",%.17g,%d,%zu,,%d,%d", o->prob[i], (int)o->band[i], rank, d, sel);
      if (by_value) {
        double v = o->value[i] == o->value[i] ? o->value[i] : 0.0;
        fprintf(fp, ",%.17g,%.17g", o->value[i], o->prob[i] * v);
      }
    }
    fputc('\n', fp);
  }
  return out_commit(&of) ? 5 : 0;
}

/* The reason of a row refused for a category its model never saw: file:row:column and the label.
 * 0 when no input of the row is such a category (then the generic reason is used). */
static int unseen_reason(const prop_model *m, const prop_frame *chunk, size_t i, const char *data, char *msg,
                         size_t cap) {
  for (size_t j = 0; j < prop_model_n_inputs(m); j++) {
    if (prop_model_input_type(m, j) != PROP_COL_CATEGORICAL) continue;
    const char *name = prop_model_input_name(m, j);
    long c = prop_frame_find(chunk, name);
    const char *label = c >= 0 ? prop_frame_string_value(chunk, (size_t)c, i) : NULL;
    if (label && prop_model_category_code(m, j, label) < 0) {
      snprintf(msg, cap, "%s:%zu:%s: category '%.200s' was not seen in training (--unseen bucket scores it)", data,
               prop_frame_row_number(chunk, i), name, label);
      return 1;
    }
  }
  return 0;
}

int cmd_score(args *a) {
  const char *model_path = arg_get(a, "--model"), *data = arg_get(a, "--data"), *out = arg_get(a, "--out");
  const char *by = arg_get(a, "--rank-by"), *value_col = arg_get(a, "--value-col"), *cap = arg_get(a, "--capacity");
  const char *quota = arg_get(a, "--band-quota"), *order = arg_get(a, "--order"), *threads = arg_get(a, "--threads");
  const char *unseen = arg_get(a, "--unseen");
  if (arg_leftover(a, "score")) return 1;
  if (!model_path || !data || !out || !*model_path || !*data || !*out)
    return usage_error("score", "--model, --data and --out are required");
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  if (by && strcmp(by, "value") == 0) ro.by = PROP_RANK_VALUE;
  else if (by && strcmp(by, "probability") != 0) return usage_error("score", "--rank-by takes probability or value");
  if (ro.by == PROP_RANK_VALUE && (!value_col || !*value_col))
    return usage_error("score", "--rank-by value needs --value-col COLUMN");
  if (cap && parse_size(cap, &ro.capacity)) return usage_error("score", "--capacity takes a whole number");
  int input_order = 0;
  if (order && strcmp(order, "input") == 0) input_order = 1;
  else if (order && strcmp(order, "rank") != 0) return usage_error("score", "--order takes rank or input");
  prop_predict_options po;
  prop_predict_options_default(&po);
  if (parse_threads("score", threads, &po.nthread)) return 1;
  if (unseen && strcmp(unseen, "bucket") == 0) po.unseen = PROP_UNSEEN_BUCKET;
  else if (unseen && strcmp(unseen, "error") != 0) return usage_error("score", "--unseen takes error or bucket");

  prop_model *m = NULL;
  int st = prop_model_load(model_path, &m);
  if (st) return fail("score", st);
  size_t nb = prop_model_n_bands(m), *quotas = NULL;
  if (quota) {
    char *storage;
    size_t nq;
    char **parts = split_list(quota, &nq, &storage);
    if (nq != nb) {
      free(parts);
      free(storage);
      prop_model_free(m);
      return usage_error("score", "--band-quota needs one number per band, lowest band first");
    }
    quotas = calloc(nb, sizeof *quotas);
    for (size_t b = 0; quotas && b < nb; b++)
      if (parse_size(parts[b], &quotas[b])) {
        free(parts);
        free(storage);
        free(quotas);
        prop_model_free(m);
        return usage_error("score", "--band-quota takes whole numbers");
      }
    free(parts);
    free(storage);
    ro.band_quota = quotas;
    ro.nbands = nb;
  }
  /* the value column is declared, so that the reader refuses a file without it before any row (it
   * refuses one without the model's id column by itself) */
  const char *idcol = prop_model_id_column(m);
  const char *vnames[1] = {value_col};
  prop_coltype vtypes[1] = {PROP_COL_NUMERIC};
  prop_csv_options co;
  prop_csv_options_default(&co);
  if (ro.by == PROP_RANK_VALUE) {
    co.declared_names = vnames;
    co.declared_types = vtypes;
    co.n_declared = 1;
  }
  prop_reader *rd = NULL;
  st = prop_reader_open_for_model(data, m, &co, &rd);
  out_rows o;
  memset(&o, 0, sizeof o);
  size_t rows_seen = 0, bad_rows = 0;
  double *prob = NULL;
  int *band = NULL, *status = NULL;
  while (!st) {
    prop_frame *chunk = NULL;
    st = prop_reader_next(rd, CHUNK_ROWS, &chunk);
    if (st || !chunk) break;
    size_t n = prop_frame_nrows(chunk);
    prob = realloc(prob, (n ? n : 1) * sizeof *prob);
    band = realloc(band, (n ? n : 1) * sizeof *band);
    status = realloc(status, (n ? n : 1) * sizeof *status);
    if (!prob || !band || !status || grow(&o, o.n + n, ro.by == PROP_RANK_VALUE)) {
      prop_frame_free(chunk);
      st = PROP_ERR_NOMEM;
      break;
    }
    st = prop_model_predict_frame(m, chunk, prob, band, status, &po);
    long idj = idcol ? prop_frame_find(chunk, idcol) : -1; /* present: the reader checked the header */
    long vj = ro.by == PROP_RANK_VALUE ? prop_frame_find(chunk, value_col) : -1;
    double *vals = NULL;
    if (!st && vj >= 0) {
      vals = malloc((n ? n : 1) * sizeof *vals);
      if (!vals) st = PROP_ERR_NOMEM;
      else {
        /* read the value column through a one-column frame view: the reader stored it numeric */
        st = prop_frame_numeric_values(chunk, (size_t)vj, vals);
      }
    }
    for (size_t i = 0; !st && i < n; i++) {
      size_t k = o.n++;
      char buf[32];
      const char *id = idj >= 0 ? prop_frame_string_value(chunk, (size_t)idj, i) : NULL;
      const char *why = status[i] ? prop_frame_row_error(chunk, i) : NULL;
      char msg[512];
      if (idj < 0) { /* the model has no id column: the data row number is the id */
        snprintf(buf, sizeof buf, "%zu", prop_frame_row_number(chunk, i));
        id = buf;
      } else if (!id) { /* an empty id, or a row whose fields did not line up: nobody to call */
        id = "";
        if (!status[i]) {
          snprintf(msg, sizeof msg, "%s:%zu:%s: the id is missing", data, prop_frame_row_number(chunk, i), idcol);
          why = msg;
          status[i] = PROP_ERR_VALUE;
          prob[i] = NAN;
          band[i] = 0;
        }
      }
      if (text_add(&o.ids, id, &o.id_off[k])) {
        st = PROP_ERR_NOMEM;
        break;
      }
      o.prob[k] = prob[i];
      if (band[i] < 0 || band[i] > UINT8_MAX) { /* bands are 0..64 */
        st = PROP_ERR_RANGE;
        break;
      }
      o.band[k] = (uint8_t)band[i];
      if (o.value) o.value[k] = vals ? vals[i] : NAN;
      if (status[i] == PROP_ERR_CATEGORY && !why && unseen_reason(m, chunk, i, data, msg, sizeof msg)) why = msg;
      if (status[i]) {
        if (!why) {
          snprintf(msg, sizeof msg, "%s: row %zu: %s", data, prop_frame_row_number(chunk, i), prop_strerror(status[i]));
          why = msg;
        }
        if (add_bad(&o, k, why)) st = PROP_ERR_NOMEM;
        bad_rows++;
      }
    }
    free(vals);
    rows_seen += n;
    prop_frame_free(chunk);
  }
  prop_reader_free(rd);
  free(prob);
  free(band);
  free(status);
  int ec = 0;
  if (st) {
    ec = fail("score", st);
  } else {
    /* the call order (row indices) and the dialer rank of each call position */
    size_t *calls = malloc((o.n ? o.n : 1) * sizeof *calls);
    int *dialer = malloc((o.n ? o.n : 1) * sizeof *dialer);
    size_t nranked = 0, nsel = 0;
    if (!calls || !dialer) ec = 6;
    else {
      st = prop_rank_order(o.prob, o.band, o.value, o.ids.p, o.id_off, o.n, &ro, calls, dialer, &nranked, &nsel);
      if (st) ec = fail("score", st);
      else ec = write_output(out, &o, calls, dialer, nranked, nsel, ro.by == PROP_RANK_VALUE, input_order);
    }
    if (!ec)
      fprintf(stderr, "[info] scored %zu rows (%zu could not be scored, kept with their reason); %zu selected; "
              "written to %s\n", rows_seen, bad_rows, nsel, out);
    free(calls);
    free(dialer);
  }
  out_free(&o);
  free(quotas);
  prop_model_free(m);
  return ec;
}
