/* The setup that training and comparison share: the recipe and callback context of a job, and the
 * training rows read once (schema, labels, raw input matrix). */
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

int pp_job_recipe(const prop_recipe *r, const prop_train_options *opt, prop_recipe **own, const prop_recipe **use,
                  pp_ctx *ctx) {
  *own = NULL;
  if (!r) PP_TRY(prop_recipe_default(own));
  *use = r ? r : *own;
  pp_ctx_init(ctx, opt, (*use)->seed);
  return 0;
}

int pp_rows_read(const pp_schema *s, const prop_frame *f, const char *purpose, double **raw) {
  size_t n = f->nrows;
  *raw = NULL;
  double *x = pp_malloc_array(n ? n : 1, (s->nfeat ? s->nfeat : 1) * sizeof *x);
  int *st = pp_calloc(n ? n : 1, sizeof *st);
  pp_binding *bind = NULL;
  int rc = (!x || !st) ? PROP_ERR_NOMEM : pp_binding_create(s, f, &bind);
  if (!rc) pp_binding_rows(bind, 0, n, x, st);
  for (size_t i = 0; !rc && i < n; i++)
    if (st[i])
      rc = pp_err(st[i], "%s:%zu: row cannot be used for %s (non-finite value)", pp_frame_source(f),
                  prop_frame_row_number(f, i), purpose);
  pp_binding_free(bind);
  free(st);
  if (rc) {
    free(x);
    return rc;
  }
  *raw = x;
  return 0;
}

/* The target's labels into ts (and the labels used into the schema); connected checked as 0/1. */
static int read_labels(const prop_frame *f, const prop_train_options *opt, pp_trainset *ts) {
  char *pos_label = NULL;
  PP_TRY(pp_frame_binary_column(f, opt->target, opt->positive, NULL, &ts->y, &pos_label, &ts->schema->negative));
  free(ts->schema->positive);
  ts->schema->positive = pos_label;
  if (opt->connected) { /* a 0/1 flag, read as the band tables will read it: say now which row is not */
    int *cy = NULL;
    char *cp = NULL;
    int rc = pp_frame_binary_column(f, opt->connected, NULL, NULL, &cy, &cp, NULL);
    free(cy);
    free(cp);
    PP_TRY(rc);
  }
  for (size_t i = 0; i < ts->n; i++) ts->npos += (size_t)ts->y[i];
  return 0;
}

int pp_trainset_read(const prop_frame *f, const prop_train_options *opt, size_t min_per_class, pp_trainset *ts) {
  memset(ts, 0, sizeof *ts);
  ts->f = f;
  ts->n = f->nrows;
  PP_TRY(pp_frame_first_row_error(f));
  PP_TRY(pp_schema_from_frame(f, opt, &ts->schema));
  ts->nfeat = ts->schema->nfeat;
  if (ts->nfeat == 0)
    return pp_err(PROP_ERR_SCHEMA, "%s: no feature columns left after target, id and ignored columns",
                  pp_frame_source(f));
  PP_TRY(read_labels(f, opt, ts));
  if (ts->npos < min_per_class || ts->n - ts->npos < min_per_class)
    return pp_err(PROP_ERR_TRAIN, "%s: target '%s' has %zu positive and %zu negative rows; need at least %zu of each "
                  "for %zu-fold validation", pp_frame_source(f), opt->target, ts->npos, ts->n - ts->npos,
                  min_per_class, min_per_class);
  PP_TRY(pp_rows_read(ts->schema, f, "training", &ts->raw));
  if (!(ts->yf = pp_malloc_array(ts->n ? ts->n : 1, sizeof *ts->yf))) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < ts->n; i++) ts->yf[i] = (float)ts->y[i];
  return 0;
}

void pp_trainset_free(pp_trainset *ts) {
  pp_schema_free(ts->schema);
  free(ts->raw);
  free(ts->y);
  free(ts->yf);
  memset(ts, 0, sizeof *ts);
}
