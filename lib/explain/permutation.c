/* Permutation importance of the whole pipeline, in original feature names: shuffling one input
 * column (raw values, before encoding) and measuring the drop in AUC. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "pipeline/pipeline.h"

int prop_model_permutation_importance(const prop_model *m, const prop_frame *f, size_t n_repeats, uint64_t seed,
                                      double *imp, double *base_auc) {
  if (!m || !f || !imp) return pp_err(PROP_ERR_ARG, "prop_model_permutation_importance: NULL argument");
  if (n_repeats == 0) return pp_err(PROP_ERR_ARG, "prop_model_permutation_importance: n_repeats must be at least 1");
  size_t n = f->nrows, nf = m->schema->nfeat;
  int *y = NULL, *st = NULL;
  char *pos = NULL;
  double *raw = NULL, *work = NULL, *p = NULL;
  size_t *perm = NULL;
  pp_binding *bind = NULL;
  int rc = pp_frame_binary_column(f, m->schema->target, m->schema->positive, m->schema->negative, &y, &pos, NULL);
  if (rc) return rc;
  raw = pp_malloc_array(n ? n : 1, nf * sizeof(double));
  work = pp_malloc_array(n ? n : 1, nf * sizeof(double));
  p = pp_malloc_array(n ? n : 1, sizeof(double));
  perm = pp_malloc_array(n ? n : 1, sizeof(size_t));
  st = pp_calloc(n ? n : 1, sizeof(int));
  if (!raw || !work || !p || !perm || !st) {
    rc = PROP_ERR_NOMEM;
    goto done;
  }
  if ((rc = pp_binding_create(m->schema, f, &bind))) goto done;
  pp_binding_rows(bind, 0, n, raw, st);
  for (size_t i = 0; i < n; i++)
    if (st[i]) {
      rc = pp_err(st[i], "%s:%zu: row cannot be scored", pp_frame_source(f), prop_frame_row_number(f, i));
      goto done;
    }
  prop_predict_options po = pp_eval_predict_options(0);
  if ((rc = prop_model_predict_dense(m, raw, PROP_FLOAT64, n, nf, nf, p, NULL, NULL, &po))) goto done;
  double base = pp_auc(p, y, n);
  if (base != base) {
    rc = pp_err(PROP_ERR_TRAIN, "%s: permutation importance needs both classes in the target", pp_frame_source(f));
    goto done;
  }
  if (base_auc) *base_auc = base;
  pp_rng rng;
  pp_rng_seed(&rng, seed);
  for (size_t k = 0; k < nf && !rc; k++) {
    double drop = 0.0;
    for (size_t r = 0; r < n_repeats && !rc; r++) {
      memcpy(work, raw, n * nf * sizeof(double));
      for (size_t i = 0; i < n; i++) perm[i] = i;
      pp_rng_shuffle(&rng, perm, n);
      for (size_t i = 0; i < n; i++) work[i * nf + k] = raw[perm[i] * nf + k];
      rc = prop_model_predict_dense(m, work, PROP_FLOAT64, n, nf, nf, p, NULL, NULL, &po);
      if (!rc) drop += base - pp_auc(p, y, n);
    }
    imp[k] = drop / (double)n_repeats;
  }
done:
  pp_binding_free(bind);
  free(y);
  free(pos);
  free(raw);
  free(work);
  free(p);
  free(perm);
  free(st);
  return rc;
}
