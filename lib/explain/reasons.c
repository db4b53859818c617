/* Reason codes: the inputs that raise a customer's probability most, from the contributions
 * (contrib.h).  The calibrator is increasing, so an input whose contribution to the uncalibrated
 * log-odds is positive raises the probability. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain/contrib.h"

int prop_model_reasons(const prop_model *m, const double *contrib, const double *row, size_t k, prop_reason *reasons,
                       size_t *n_reasons) {
  if (n_reasons) *n_reasons = 0;
  if (!m || !contrib || !row || (k && !reasons))
    return pp_err(PROP_ERR_ARG, "prop_model_reasons: NULL argument");
  const pp_schema *s = m->schema;
  size_t n = 0;
  /* insertion into the k best so far: contribution descending, then input ascending (k is small) */
  for (size_t j = 0; j < s->nfeat; j++) {
    const double c = contrib[j];
    if (!(c > 0)) continue;
    size_t at = n;
    while (at > 0 && reasons[at - 1].contribution < c) at--;
    if (at >= k) continue;
    if (n < k) n++;
    memmove(reasons + at + 1, reasons + at, (n - 1 - at) * sizeof *reasons);
    reasons[at].input = j;
    reasons[at].contribution = c;
  }
  for (size_t r = 0; r < n; r++) {
    const size_t j = reasons[r].input;
    const double v = row[j];
    reasons[r].value = v;
    reasons[r].label = NULL;
    if (s->feat[j].type == PROP_COL_CATEGORICAL && v == floor(v) && v >= 0 && v < (double)s->feat[j].ncats)
      reasons[r].label = s->feat[j].cats[(size_t)v];
  }
  if (n_reasons) *n_reasons = n;
  return 0;
}

/* A scorer's work for reasons, attached to it on first use. */
typedef struct reasons_work {
  pp_contrib_work *w;
  double *contrib; /* inputs */
} reasons_work;

static void reasons_work_free(void *p) {
  reasons_work *r = p;
  if (!r) return;
  pp_contrib_work_free(r->w);
  free(r->contrib);
  free(r);
}

static int reasons_work_of(prop_scorer *s, reasons_work **out) {
  *out = pp_scorer_attachment(s);
  if (*out) return 0;
  const prop_model *m = pp_scorer_model(s);
  reasons_work *r = pp_calloc(1, sizeof *r);
  if (!r) return PROP_ERR_NOMEM;
  int rc = pp_contrib_work_create(m, 1, &r->w);
  if (!rc && !(r->contrib = pp_malloc_array(m->schema->nfeat ? m->schema->nfeat : 1, sizeof *r->contrib)))
    rc = PROP_ERR_NOMEM;
  if (rc) {
    reasons_work_free(r);
    return rc == PROP_ERR_STATE ? pp_err_prefix(rc, "prop_scorer_reasons: ") : rc;
  }
  pp_scorer_attach(s, r, reasons_work_free);
  *out = r;
  return 0;
}

int prop_scorer_reasons(prop_scorer *s, const double *row, size_t k, prop_reason *reasons, size_t *n_reasons,
                        double *prob, int *band) {
  if (n_reasons) *n_reasons = 0;
  if (!s || !row || (k && !reasons)) return pp_err(PROP_ERR_ARG, "prop_scorer_reasons: NULL argument");
  reasons_work *r;
  PP_TRY(reasons_work_of(s, &r));
  PP_TRY(prop_scorer_score(s, row, prob, band));
  const prop_model *m = pp_scorer_model(s);
  PP_TRY(pp_contrib_rows(m, pp_scorer_encoded(s), 1, pp_scorer_member_probs(s), r->w, r->contrib));
  return prop_model_reasons(m, r->contrib, row, k, reasons, n_reasons);
}
