/* Streaming reads of scoring data for a model: the model's inputs and id column are typed from
 * its schema; every other column of the file is ignored.  Reads are non-strict: a bad row is
 * kept with its reason (prop_frame_row_error), never dropped. */
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

struct prop_reader {
  pp_csv *csv;
};

static const char *coltype_name(prop_coltype t) {
  switch (t) {
    case PROP_COL_NUMERIC: return "numeric";
    case PROP_COL_CATEGORICAL: return "categorical";
    case PROP_COL_ID: return "the id";
    case PROP_COL_TARGET: return "the target";
    case PROP_COL_IGNORE: return "ignored";
    default: return "auto";
  }
}

static int header_has(const pp_csv *csv, const char *name) {
  for (size_t j = 0; j < pp_csv_ncols(csv); j++)
    if (strcmp(pp_csv_colname(csv, j), name) == 0) return 1;
  return 0;
}

int prop_reader_open_for_model(const char *path, const prop_model *m, const prop_csv_options *opt,
                               prop_reader **out) {
  if (!path || !m || !out) return pp_err(PROP_ERR_ARG, "prop_reader_open_for_model: NULL argument");
  *out = NULL;
  prop_csv_options o;
  prop_csv_options_default(&o);
  PP_TRY(pp_opts_import(&o, sizeof o, opt, "prop_csv_options"));
  o.strict = 0;
  const char *const *dnames = o.declared_names;
  const prop_coltype *dtypes = o.declared_types;
  if (o.n_declared && (!dnames || !dtypes))
    return pp_err(PROP_ERR_ARG, "prop_reader_open_for_model: n_declared is %zu but the names or types are NULL",
                  o.n_declared);
  size_t ndecl = o.n_declared;
  for (size_t i = 0; i < ndecl; i++) {
    if (!dnames[i]) return pp_err(PROP_ERR_ARG, "prop_reader_open_for_model: declared column %zu has no name", i);
    if (dtypes[i] == PROP_COL_AUTO)
      return pp_err(PROP_ERR_ARG, "%s: column '%s': a streamed read cannot infer a type; declare it", path, dnames[i]);
  }
  o.declared_names = NULL;
  o.declared_types = NULL;
  o.n_declared = 0;
  prop_reader *r = pp_calloc(1, sizeof *r);
  if (!r) return PROP_ERR_NOMEM;
  int rc = pp_csv_open(path, &o, &r->csv);
  if (rc) {
    free(r);
    return rc;
  }
  size_t nc = pp_csv_ncols(r->csv);
  prop_coltype *types = pp_malloc_array(nc ? nc : 1, sizeof *types);
  if (!types) {
    prop_reader_free(r);
    return PROP_ERR_NOMEM;
  }
  for (size_t j = 0; j < nc; j++) {
    const char *name = pp_csv_colname(r->csv, j);
    types[j] = PROP_COL_IGNORE;
    int used = 0; /* by the model: its type wins */
    if (m->schema->id_col && strcmp(name, m->schema->id_col) == 0) {
      types[j] = PROP_COL_ID;
      used = 1;
    }
    for (size_t k = 0; k < m->schema->nfeat; k++)
      if (strcmp(name, m->schema->feat[k].name) == 0) {
        types[j] = m->schema->feat[k].type;
        used = 1;
      }
    for (size_t i = 0; i < ndecl; i++) {
      if (strcmp(name, dnames[i]) != 0) continue;
      if (!used) {
        types[j] = dtypes[i];
      } else if (dtypes[i] != types[j]) { /* IGNORE too: the model cannot score without it */
        /* the message first: name belongs to the reader, types to us */
        int e = pp_err(PROP_ERR_SCHEMA, "%s: column '%s' is declared %s but the model reads it as %s", path, name,
                       coltype_name(dtypes[i]), coltype_name(types[j]));
        free(types);
        prop_reader_free(r);
        return e;
      }
    }
  }
  /* every column the read needs must be in the header: say which is missing now, not at the first
   * chunk.  The model's id column first: a call list without ids cannot be dialled, and row numbers
   * must never pass for customer ids. */
  enum { M_ID, M_INPUT, M_DECLARED } kind = M_ID;
  const char *missing = NULL;
  if (m->schema->id_col && !header_has(r->csv, m->schema->id_col)) missing = m->schema->id_col;
  for (size_t k = 0; k < m->schema->nfeat && !missing; k++)
    if (!header_has(r->csv, m->schema->feat[k].name)) missing = m->schema->feat[k].name, kind = M_INPUT;
  for (size_t i = 0; i < ndecl && !missing; i++)
    if (!header_has(r->csv, dnames[i])) missing = dnames[i], kind = M_DECLARED;
  if (missing) {
    int e = kind == M_ID      ? pp_err(PROP_ERR_SCHEMA, "%s: the model's id column '%s' is missing", path, missing)
            : kind == M_INPUT ? pp_err(PROP_ERR_SCHEMA, "%s: column '%s' required by the model is missing", path, missing)
                              : pp_err(PROP_ERR_SCHEMA, "%s: declared column '%s' is missing", path, missing);
    free(types);
    prop_reader_free(r);
    return e;
  }
  rc = pp_csv_set_types(r->csv, types);
  free(types);
  if (rc) {
    prop_reader_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

int prop_reader_next(prop_reader *r, size_t max_rows, prop_frame **chunk) {
  if (!r || !chunk) return pp_err(PROP_ERR_ARG, "prop_reader_next: NULL argument");
  if (max_rows == 0) return pp_err(PROP_ERR_ARG, "prop_reader_next: max_rows is 0");
  return pp_csv_next(r->csv, max_rows, chunk);
}

void prop_reader_free(prop_reader *r) {
  if (!r) return;
  pp_csv_free(r->csv);
  free(r);
}
