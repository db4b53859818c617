/* propensity score: stream a CSV of any size through a model and write the ranked call list.
 * Memory grows with rows only by what each output row keeps (id, probability, band, value and
 * the error text of unscorable rows, about 40 bytes plus the id); feature columns are held one
 * chunk at a time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define CHUNK_ROWS 65536

typedef struct out_rows {
  size_t n, cap;
  char **id;
  double *prob, *value;
  int *band;
  char **err; /* NULL when fine */
} out_rows;

static int grow(out_rows *o, size_t need) {
  if (need <= o->cap) return 0;
  size_t cap = o->cap ? o->cap : 4096;
  while (cap < need) cap *= 2;
  void *p;
  if (!(p = realloc(o->id, cap * sizeof *o->id))) return -1;
  o->id = p;
  if (!(p = realloc(o->prob, cap * sizeof *o->prob))) return -1;
  o->prob = p;
  if (!(p = realloc(o->value, cap * sizeof *o->value))) return -1;
  o->value = p;
  if (!(p = realloc(o->band, cap * sizeof *o->band))) return -1;
  o->band = p;
  if (!(p = realloc(o->err, cap * sizeof *o->err))) return -1;
  o->err = p;
  o->cap = cap;
  return 0;
}

static void out_free(out_rows *o) {
  for (size_t i = 0; i < o->n; i++) {
    free(o->id[i]);
    free(o->err[i]);
  }
  free(o->id);
  free(o->prob);
  free(o->value);
  free(o->band);
  free(o->err);
}

/* Write s as one CSV field (quoted when it holds a comma, quote or line break). */
static void csv_field(FILE *fp, const char *s) {
  if (!s) return;
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, fp);
    return;
  }
  fputc('"', fp);
  for (; *s; s++) {
    if (*s == '"') fputc('"', fp);
    fputc(*s, fp);
  }
  fputc('"', fp);
}

static int write_output(const char *path, const out_rows *o, const size_t *rank, const unsigned char *sel,
                        const int *dialer, int by_value, int input_order) {
  /* write to a temporary file next to path, then rename: readers never see half a list */
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) return 6;
  snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    fprintf(stderr, "propensity score: cannot create a temporary file next to %s\n", path);
    free(tmp);
    return 5;
  }
  FILE *fp = fdopen(fd, "w");
  if (!fp) {
    close(fd);
    unlink(tmp);
    free(tmp);
    return 5;
  }
  size_t *order = malloc((o->n ? o->n : 1) * sizeof *order);
  if (!order) {
    fclose(fp);
    unlink(tmp);
    free(tmp);
    return 6;
  }
  if (input_order) {
    for (size_t i = 0; i < o->n; i++) order[i] = i;
  } else {
    /* rank order: ranked rows by rank, then unscored rows in input order */
    size_t nr = 0;
    for (size_t i = 0; i < o->n; i++)
      if (rank[i]) nr++;
    size_t tail = nr;
    for (size_t i = 0; i < o->n; i++) {
      if (rank[i]) order[rank[i] - 1] = i;
      else order[tail++] = i;
    }
  }
  fprintf(fp, "id,probability,band,rank,error,dialer_rank,selected%s\n", by_value ? ",value,expected_value" : "");
  for (size_t k = 0; k < o->n; k++) {
    size_t i = order[k];
    csv_field(fp, o->id[i]);
    if (o->err[i]) {
      fputs(",,0,,", fp);
      csv_field(fp, o->err[i]);
      fputs(",0,0", fp);
      if (by_value) fputs(",,", fp);
    } else {
      fprintf(fp, ",%.17g,%d,%zu,,%d,%d", o->prob[i], o->band[i], rank[i], dialer[i], sel[i]);
      if (by_value) {
        double v = o->value[i] == o->value[i] ? o->value[i] : 0.0;
        fprintf(fp, ",%.17g,%.17g", o->value[i], o->prob[i] * v);
      }
    }
    fputc('\n', fp);
  }
  free(order);
  int bad = ferror(fp) != 0;
  if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) bad = 1;
  if (fclose(fp) != 0) bad = 1;
  if (bad || rename(tmp, path) != 0) {
    fprintf(stderr, "propensity score: cannot write %s\n", path);
    unlink(tmp);
    free(tmp);
    return 5;
  }
  free(tmp);
  return 0;
}

int cmd_score(args *a) {
  const char *model_path = arg_get(a, "--model"), *data = arg_get(a, "--data"), *out = arg_get(a, "--out");
  const char *by = arg_get(a, "--rank-by"), *value_col = arg_get(a, "--value-col"), *cap = arg_get(a, "--capacity");
  const char *quota = arg_get(a, "--band-quota"), *order = arg_get(a, "--order"), *threads = arg_get(a, "--threads");
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
  size_t nt = 0;
  if (threads && parse_size(threads, &nt)) return usage_error("score", "--threads takes a whole number");
  po.nthread = (int)nt;

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
  prop_csv_options co;
  prop_csv_options_default(&co);
  const char *vnames[1] = {value_col};
  prop_coltype vtypes[1] = {PROP_COL_NUMERIC};
  if (ro.by == PROP_RANK_VALUE) {
    co.declared_names = vnames;
    co.declared_types = vtypes;
    co.n_declared = 1;
  }
  prop_reader *rd = NULL;
  st = prop_reader_open_for_model(data, m, &co, &rd);
  out_rows o;
  memset(&o, 0, sizeof o);
  const char *idcol = prop_model_id_column(m);
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
    if (!prob || !band || !status || grow(&o, o.n + n)) {
      prop_frame_free(chunk);
      st = PROP_ERR_NOMEM;
      break;
    }
    st = prop_model_predict_frame(m, chunk, prob, band, status, &po);
    long idj = idcol ? prop_frame_find(chunk, idcol) : -1;
    long vj = ro.by == PROP_RANK_VALUE ? prop_frame_find(chunk, value_col) : -1;
    if (!st && ro.by == PROP_RANK_VALUE && vj < 0) {
      fprintf(stderr, "propensity score: %s: value column '%s' not found\n", data, value_col);
      prop_frame_free(chunk);
      st = PROP_ERR_SCHEMA;
      break;
    }
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
      if (!id) {
        snprintf(buf, sizeof buf, "%zu", prop_frame_row_number(chunk, i));
        id = buf;
      }
      o.id[k] = strdup(id);
      o.prob[k] = prob[i];
      o.band[k] = band[i];
      o.value[k] = vals ? vals[i] : NAN;
      o.err[k] = NULL;
      if (status[i]) {
        const char *why = prop_frame_row_error(chunk, i);
        char msg[512];
        if (!why) {
          snprintf(msg, sizeof msg, "%s: row %zu: %s", data, prop_frame_row_number(chunk, i), prop_strerror(status[i]));
          why = msg;
        }
        o.err[k] = strdup(why);
        bad_rows++;
      }
      if (!o.id[k]) st = PROP_ERR_NOMEM;
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
    size_t *rank = malloc((o.n ? o.n : 1) * sizeof *rank);
    unsigned char *sel = malloc(o.n ? o.n : 1);
    int *dialer = malloc((o.n ? o.n : 1) * sizeof *dialer);
    size_t nsel = 0;
    if (!rank || !sel || !dialer) ec = 6;
    else {
      st = prop_rank(o.prob, o.band, ro.by == PROP_RANK_VALUE ? o.value : NULL, (const char *const *)o.id, o.n, &ro,
                     rank, sel, dialer, &nsel);
      if (st) ec = fail("score", st);
      else ec = write_output(out, &o, rank, sel, dialer, ro.by == PROP_RANK_VALUE, input_order);
    }
    if (!ec)
      fprintf(stderr, "[info] scored %zu rows (%zu could not be scored, kept with their reason); %zu selected; "
              "written to %s\n", rows_seen, bad_rows, nsel, out);
    free(rank);
    free(sel);
    free(dialer);
  }
  out_free(&o);
  free(quotas);
  prop_model_free(m);
  return ec;
}
