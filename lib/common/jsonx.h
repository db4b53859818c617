/* Validated reading of recipe JSON (jansson).  Every error names the field by its path, e.g.
 * "members[2].params.max_depth: must be an integer in [1, 64], got 0".  `path` is the JSON path
 * of obj itself ("members[2].params"); pass "" at the top level. */
#ifndef PP_JSONX_H
#define PP_JSONX_H

#include <jansson.h>

#include "common/common.h"

/* Fail with PROP_ERR_RECIPE when obj has a key not in allowed (NULL-terminated list). */
int pp_json_check_keys(const json_t *obj, const char *path, const char *const *allowed);
/* Each getter leaves *out = dflt when the key is absent or null. */
int pp_json_double(const json_t *obj, const char *path, const char *key, double lo, double hi, double dflt,
                   double *out);
int pp_json_int(const json_t *obj, const char *path, const char *key, long lo, long hi, long dflt, long *out);
int pp_json_bool(const json_t *obj, const char *path, const char *key, int dflt, int *out);
/* A string that must be one of choices (NULL-terminated); *out is its index. */
int pp_json_enum(const json_t *obj, const char *path, const char *key, const char *const *choices, int dflt,
                 int *out);
/* Either a number in [lo,hi] (*is_num = 1) or one of choices (*is_num = 0, *choice set).  For
 * parameters like gamma ("scale" or a number) and max_features ("sqrt" or a fraction). */
int pp_json_num_or_enum(const json_t *obj, const char *path, const char *key, double lo, double hi,
                        const char *const *choices, int *is_num, double *num, int *choice);

/* Telling a failed json_load* that ran out of memory from bad text: jansson says so with
 * json_error_out_of_memory on some paths, and with no message at all on most (its allocations
 * inside the parser return NULL without one), while every syntax error has a message.  Call
 * pp_json_error_init on the error before loading (jansson leaves the code unset on some paths);
 * after a failure pp_json_out_of_memory is 1 for the allocation failures. */
void pp_json_error_init(json_error_t *e);
int pp_json_out_of_memory(const json_error_t *e);
#endif
