/* Writing the JSON reports (compare, back-test, the model's metadata) with jansson, with a sticky failure
 * flag: jansson returns NULL or -1 when memory runs out, and every builder below records that in the
 * pp_jb instead of checking at each call; the caller checks b->failed once at the end. */
#ifndef PP_JSONW_H
#define PP_JSONW_H

#include <jansson.h>
#include <math.h>

#include "propensity.h"

typedef struct pp_jb {
  int failed;
} pp_jb;

/* A finite number, else null (JSON has no NaN or infinity). */
static inline json_t *pp_jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }
static inline json_t *pp_jsize(size_t v) { return json_integer((json_int_t)v); }
static inline json_t *pp_jstr(const char *s) { return s ? json_string(s) : json_null(); }

/* Both take v over (freed if it cannot be added); a NULL obj, arr or v records the failure. */
static inline void pp_jset(pp_jb *b, json_t *obj, const char *key, json_t *v) {
  if (!v || !obj || json_object_set_new(obj, key, v) != 0) {
    if (!obj) json_decref(v);
    b->failed = 1;
  }
}

static inline void pp_jpush(pp_jb *b, json_t *arr, json_t *v) {
  if (!v || !arr || json_array_append_new(arr, v) != 0) {
    if (!arr) json_decref(v);
    b->failed = 1;
  }
}

/* A band or a reliability bin with fewer rows than this is flagged "few_rows" in the reports (and
 * muted in compare's HTML): its rate is too uncertain to read (one row shows a rate of 0 or 1). */
#define PP_FEW_ROWS 30

/* The band table as a JSON array, one object per band with every field of prop_band_row (the
 * fields, their meaning and nulls are in bench/README.md, "bands[]"); "connected" is null unless
 * with_connected; "few_rows" is true for a band of 1 to PP_FEW_ROWS - 1 rows. */
json_t *pp_band_rows_json(pp_jb *b, const prop_band_row *rows, size_t nb, int with_connected);

/* compare's verdict (verdict.c): DeLong's 95% interval of every model's AUC ("auc_se", "auc_ci_low",
 * "auc_ci_high" added to each entry of models), each member's paired DeLong test against the
 * ensemble ("vs_ensemble"), and the returned "recommendation" object (fields in bench/README.md).
 * models holds the M members in order, then the ensemble, whose test probabilities are
 * member_p[j * n + i] and ens_p[i] against labels y[n]; fit_seconds and latency_p99_us are read
 * from the entries; cv_folds (the recipe's) is what a recipe of one member would cost to train.
 * Failures (out of memory) are recorded in b. */
json_t *pp_compare_verdict(pp_jb *b, json_t *models, const double *member_p, size_t M, const double *ens_p,
                           const int *y, size_t n, long cv_folds);

#endif
