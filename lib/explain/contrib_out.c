/* The contributions file (`propensity explain`; Python's Model.explain(out=)): its one layout, written
 * through lib/write's prop_writer a chunk at a time,
 *   id,base,logodds,<one column per input>,error
 * one row per input row in input order; a row that cannot be scored keeps its id and its reason. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain/contrib.h"
#include "write/writer.h"

int prop_contributions_header(const prop_model *m, prop_writer *w) {
  if (!m || !w) return pp_err(PROP_ERR_ARG, "prop_contributions_header: NULL argument");
  const size_t nf = m->schema->nfeat;
  const char **cols = pp_malloc_array(nf + 4, sizeof *cols);
  if (!cols) return PROP_ERR_NOMEM;
  cols[0] = "id";
  cols[1] = "base";
  cols[2] = "logodds";
  for (size_t j = 0; j < nf; j++) cols[3 + j] = m->schema->feat[j].name;
  cols[3 + nf] = "error";
  int rc = prop_writer_header(w, cols, nf + 4);
  free(cols);
  return rc;
}

/* Row i of f: its id (the id column's text, or the data row number when the model has none). */
static const char *row_id(const prop_model *m, const prop_frame *f, long idj, size_t i, char *buf, size_t cap) {
  if (!m->schema->id_col) {
    snprintf(buf, cap, "%zu", prop_frame_row_number(f, i));
    return buf;
  }
  return idj >= 0 ? prop_frame_string_value(f, (size_t)idj, i) : NULL;
}

static int write_row(prop_writer *w, const char *id, const char *why, const double *c, size_t nf, double base) {
  PP_TRY(prop_writer_text(w, id));
  if (why) {
    for (size_t j = 0; j < nf + 2; j++) PP_TRY(prop_writer_text(w, NULL));
    PP_TRY(prop_writer_text(w, why));
    return prop_writer_end_row(w);
  }
  double sum = base;
  for (size_t j = 0; j < nf; j++) sum += c[j];
  PP_TRY(prop_writer_number(w, base));
  PP_TRY(prop_writer_number(w, sum));
  for (size_t j = 0; j < nf; j++) PP_TRY(prop_writer_number(w, c[j]));
  PP_TRY(prop_writer_text(w, NULL));
  return prop_writer_end_row(w);
}

int prop_contributions_write(const prop_model *m, const prop_frame *f, const prop_predict_options *opt,
                             const char *source, prop_writer *w, size_t *n_unscored) {
  if (!m || !f || !w) return pp_err(PROP_ERR_ARG, "prop_contributions_write: NULL argument");
  const size_t n = f->nrows, nf = m->schema->nfeat;
  const char *src = source ? source : pp_frame_source(f);
  long idj = m->schema->id_col ? prop_frame_find(f, m->schema->id_col) : -1;
  if (m->schema->id_col && idj < 0)
    return pp_err(PROP_ERR_SCHEMA, "%s: the id column '%s' is missing", src, m->schema->id_col);
  double *C = pp_malloc_array(n ? n : 1, (nf ? nf : 1) * sizeof *C), base = NAN;
  int *status = pp_malloc_array(n ? n : 1, sizeof *status);
  int rc = (!C || !status) ? PROP_ERR_NOMEM : prop_model_contributions_frame(m, f, C, &base, status, opt);
  for (size_t i = 0; !rc && i < n; i++) {
    char num[32], msg[512];
    const char *id = row_id(m, f, idj, i, num, sizeof num), *why = NULL;
    if (!id || !*id) { /* nobody to call, nothing to explain */
      snprintf(msg, sizeof msg, "%s:%zu:%s: the id is missing", src, prop_frame_row_number(f, i), m->schema->id_col);
      why = msg;
    } else if (!status[i] && pp_text_is_formula(id)) {
      char tail[160];
      pp_formula_id_reason(tail, sizeof tail, id);
      snprintf(msg, sizeof msg, "%s:%zu:%s: %s", src, prop_frame_row_number(f, i), m->schema->id_col, tail);
      why = msg;
    } else if (status[i]) {
      why = prop_frame_row_error(f, i);
      if (!why) {
        snprintf(msg, sizeof msg, "%s: row %zu: %s%s", src, prop_frame_row_number(f, i), prop_strerror(status[i]),
                 status[i] == PROP_ERR_CATEGORY ? " (the bucket policy explains it)" : "");
        why = msg;
      }
    }
    if (why && n_unscored) (*n_unscored)++;
    rc = write_row(w, id ? id : "", why, C + i * nf, nf, base);
  }
  free(C);
  free(status);
  return rc;
}
