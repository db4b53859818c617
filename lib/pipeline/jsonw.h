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

/* The band table as a JSON array, one object per band with every field of prop_band_row (the
 * fields, their meaning and nulls are in bench/README.md, "bands[]"); "connected" is null unless
 * with_connected. */
json_t *pp_band_rows_json(pp_jb *b, const prop_band_row *rows, size_t nb, int with_connected);

#endif
