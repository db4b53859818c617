/* propensity explain: every row's contributions (prop_model_contributions_frame), streamed in chunks
 * from a CSV of any size to a CSV written atomically: one output row per input row, in input order.
 * The file's layout is written by write_explain_header / write_explain_rows alone, so that it can move
 * to the library's list writer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define EXPLAIN_CHUNK_ROWS 4096 /* rows cost milliseconds each: small chunks keep the memory flat */

/* id,base,logodds,<one column per input>,error */
static void write_explain_header(FILE *fp, const prop_model *m) {
  fputs("id,base,logodds", fp);
  for (size_t j = 0; j < prop_model_n_inputs(m); j++) {
    fputc(',', fp);
    csv_field(fp, prop_model_input_name(m, j));
  }
  fputs(",error\n", fp);
}

/* Rows [0, n) of a chunk: the id (ids[i], or the data row number when ids is NULL), the base, the
 * log-odds base + sum, the contributions; an unscored row (err[i] set) has only its id and reason. */
static void write_explain_rows(FILE *fp, const prop_model *m, const prop_frame *chunk, const char *const *ids,
                               const char *const *err, const double *C, double base, size_t n) {
  const size_t nf = prop_model_n_inputs(m);
  for (size_t i = 0; i < n; i++) {
    if (ids) csv_field(fp, ids[i]);
    else fprintf(fp, "%zu", prop_frame_row_number(chunk, i));
    if (err[i]) {
      fputs(",,", fp);
      for (size_t j = 0; j < nf; j++) fputc(',', fp);
      fputc(',', fp);
      csv_field(fp, err[i]);
    } else {
      double sum = base;
      for (size_t j = 0; j < nf; j++) sum += C[i * nf + j];
      fprintf(fp, ",%.17g,%.17g", base, sum);
      for (size_t j = 0; j < nf; j++) fprintf(fp, ",%.17g", C[i * nf + j]);
      fputc(',', fp);
    }
    fputc('\n', fp);
  }
}

/* One chunk: contributions, ids and reasons, written.  *bad counts the unscored rows. */
static int explain_chunk(FILE *fp, const prop_model *m, prop_frame *chunk, const char *data,
                         const prop_predict_options *po, size_t *bad) {
  const size_t n = prop_frame_nrows(chunk), nf = prop_model_n_inputs(m);
  const char *idcol = prop_model_id_column(m);
  long idj = idcol ? prop_frame_find(chunk, idcol) : -1;
  double *C = malloc((n ? n : 1) * (nf ? nf : 1) * sizeof *C), base = NAN;
  int *status = malloc((n ? n : 1) * sizeof *status);
  const char **ids = idj >= 0 ? malloc((n ? n : 1) * sizeof *ids) : NULL;
  const char **err = calloc(n ? n : 1, sizeof *err);
  char *msgs = malloc((n ? n : 1) * 256);
  int st = (!C || !status || (idj >= 0 && !ids) || !err || !msgs) ? PROP_ERR_NOMEM : 0;
  if (!st) st = prop_model_contributions_frame(m, chunk, C, &base, status, po);
  for (size_t i = 0; !st && i < n; i++) {
    if (ids) ids[i] = prop_frame_string_value(chunk, (size_t)idj, i);
    if (ids && !ids[i]) {
      ids[i] = "";
      if (!status[i]) status[i] = PROP_ERR_VALUE;
    }
    if (!status[i]) continue;
    char *msg = msgs + i * 256;
    const char *why = prop_frame_row_error(chunk, i);
    if (!why) {
      snprintf(msg, 256, "%s: row %zu: %s%s", data, prop_frame_row_number(chunk, i),
               ids && !*ids[i] ? "the id is missing" : prop_strerror(status[i]),
               status[i] == PROP_ERR_CATEGORY ? " (--unseen bucket explains it)" : "");
      why = msg;
    }
    err[i] = why;
    (*bad)++;
  }
  if (!st) write_explain_rows(fp, m, chunk, ids, err, C, base, n);
  free(C);
  free(status);
  free(ids);
  free(err);
  free(msgs);
  return st;
}

int cmd_explain(args *a) {
  const char *model_path = arg_get(a, "--model"), *data = arg_get(a, "--data"), *out = arg_get(a, "--out");
  const char *threads = arg_get(a, "--threads"), *unseen = arg_get(a, "--unseen");
  if (arg_leftover(a, "explain")) return 1;
  if (!model_path || !data || !out || !*model_path || !*data || !*out)
    return usage_error("explain", "--model, --data and --out are required");
  prop_predict_options po;
  prop_predict_options_default(&po);
  if (parse_threads("explain", threads, &po.nthread)) return 1;
  if (unseen && strcmp(unseen, "bucket") == 0) po.unseen = PROP_UNSEEN_BUCKET;
  else if (unseen && strcmp(unseen, "error") != 0) return usage_error("explain", "--unseen takes error or bucket");
  prop_model *m = NULL;
  int st = prop_model_load(model_path, &m);
  if (st) return fail("explain", st);
  prop_reader *rd = NULL;
  st = prop_reader_open_for_model(data, m, NULL, &rd);
  out_file of;
  memset(&of, 0, sizeof of);
  if (!st && out_open(&of, "explain", out)) {
    prop_reader_free(rd);
    prop_model_free(m);
    return 5;
  }
  if (!st) write_explain_header(of.fp, m);
  size_t rows = 0, bad = 0;
  while (!st) {
    prop_frame *chunk = NULL;
    st = prop_reader_next(rd, EXPLAIN_CHUNK_ROWS, &chunk);
    if (st || !chunk) break;
    rows += prop_frame_nrows(chunk);
    st = explain_chunk(of.fp, m, chunk, data, &po, &bad);
    prop_frame_free(chunk);
  }
  prop_reader_free(rd);
  int ec = 0;
  if (st) {
    if (of.fp) out_abort(&of);
    ec = fail("explain", st);
  } else if (out_commit(&of)) {
    ec = 5;
  } else {
    fprintf(stderr, "[info] explained %zu rows (%zu could not be scored, kept with their reason); written to %s\n",
            rows, bad, out);
  }
  prop_model_free(m);
  return ec;
}
