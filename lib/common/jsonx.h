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

/* pp_alloc_mark(), after making sure jansson's allocations go through the library's allocator and
 * count (see jsonx.c): pp_alloc_failed_since(mark) is then 1 when one of them failed since.  Take
 * a mark before building or reading JSON, check it after: jansson's own results do not tell. */
unsigned pp_json_mark(void);
/* Parse len bytes of JSON text into *root (a new reference).  Returns 0; PROP_ERR_NOMEM with a
 * message naming `what` when one of jansson's allocations failed (whatever it returned: it may
 * call the text invalid, or cut a token short and succeed); or PROP_ERR_VALUE, with no message
 * recorded and *e describing the bad text for the caller's own message and status. */
int pp_json_parse(const char *text, size_t len, size_t flags, const char *what, json_t **root, json_error_t *e);
/* json_dumps of root (NULL gives NULL), or NULL with PROP_ERR_NOMEM naming `what` when it fails or
 * when one of jansson's allocations failed since mark (a builder dropped what it could not store,
 * so the text would be incomplete).  free() the text. */
char *pp_json_dumps(const json_t *root, size_t flags, unsigned mark, const char *what);
#endif
