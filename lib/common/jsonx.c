#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"

static const char *at(const char *path) { return (path && *path) ? "." : ""; }

int pp_json_check_keys(const json_t *obj, const char *path, const char *const *allowed) {
  if (!obj || json_is_null(obj)) return 0;
  if (!json_is_object(obj)) return pp_err(PROP_ERR_RECIPE, "%s: must be an object", (path && *path) ? path : "recipe");
  const char *key;
  json_t *val;
  json_object_foreach((json_t *)obj, key, val) {
    int ok = 0;
    for (const char *const *a = allowed; *a; a++)
      if (strcmp(*a, key) == 0) ok = 1;
    if (!ok) {
      char list[512] = "";
      for (const char *const *a = allowed; *a; a++) {
        if (strlen(list) + strlen(*a) + 3 >= sizeof list) break;
        if (list[0]) strcat(list, ", ");
        strcat(list, *a);
      }
      return pp_err(PROP_ERR_RECIPE, "%s%s%s: unknown field (known: %s)", path ? path : "", at(path), key, list);
    }
  }
  return 0;
}

static const json_t *get(const json_t *obj, const char *key) {
  if (!obj || !json_is_object(obj)) return NULL;
  const json_t *v = json_object_get(obj, key);
  return (v && !json_is_null(v)) ? v : NULL;
}

int pp_json_double(const json_t *obj, const char *path, const char *key, double lo, double hi, double dflt,
                   double *out) {
  const json_t *v = get(obj, key);
  if (!v) {
    *out = dflt;
    return 0;
  }
  if (!json_is_number(v))
    return pp_err(PROP_ERR_RECIPE, "%s%s%s: must be a number in [%g, %g]", path, at(path), key, lo, hi);
  double x = json_number_value(v);
  if (!(x >= lo && x <= hi))
    return pp_err(PROP_ERR_RECIPE, "%s%s%s: must be a number in [%g, %g], got %s", path, at(path), key, lo, hi, PP_G(x));
  *out = x;
  return 0;
}

int pp_json_int(const json_t *obj, const char *path, const char *key, long lo, long hi, long dflt, long *out) {
  const json_t *v = get(obj, key);
  if (!v) {
    *out = dflt;
    return 0;
  }
  if (!json_is_integer(v))
    return pp_err(PROP_ERR_RECIPE, "%s%s%s: must be an integer in [%ld, %ld]", path, at(path), key, lo, hi);
  json_int_t x = json_integer_value(v);
  if (x < lo || x > hi)
    return pp_err(PROP_ERR_RECIPE, "%s%s%s: must be an integer in [%ld, %ld], got %lld", path, at(path), key, lo,
                  hi, (long long)x);
  *out = (long)x;
  return 0;
}

int pp_json_bool(const json_t *obj, const char *path, const char *key, int dflt, int *out) {
  const json_t *v = get(obj, key);
  if (!v) {
    *out = dflt;
    return 0;
  }
  if (!json_is_boolean(v)) return pp_err(PROP_ERR_RECIPE, "%s%s%s: must be true or false", path, at(path), key);
  *out = json_is_true(v);
  return 0;
}

static int enum_error(const char *path, const char *key, const char *const *choices, const char *got,
                      const char *extra) {
  char list[512] = "";
  for (const char *const *c = choices; *c; c++) {
    if (strlen(list) + strlen(*c) + 5 >= sizeof list) break;
    if (list[0]) strcat(list, ", ");
    strcat(list, "\"");
    strcat(list, *c);
    strcat(list, "\"");
  }
  if (got)
    return pp_err(PROP_ERR_RECIPE, "%s%s%s: must be %s%s, got \"%s\"", path, at(path), key, extra, list, got);
  return pp_err(PROP_ERR_RECIPE, "%s%s%s: must be %s%s", path, at(path), key, extra, list);
}

int pp_json_enum(const json_t *obj, const char *path, const char *key, const char *const *choices, int dflt,
                 int *out) {
  const json_t *v = get(obj, key);
  if (!v) {
    *out = dflt;
    return 0;
  }
  if (!json_is_string(v)) return enum_error(path, key, choices, NULL, "one of ");
  const char *s = json_string_value(v);
  for (int i = 0; choices[i]; i++)
    if (strcmp(choices[i], s) == 0) {
      *out = i;
      return 0;
    }
  return enum_error(path, key, choices, s, "one of ");
}

int pp_json_num_or_enum(const json_t *obj, const char *path, const char *key, double lo, double hi,
                        const char *const *choices, int *is_num, double *num, int *choice) {
  const json_t *v = get(obj, key);
  if (!v) return 0; /* caller's defaults stay */
  if (json_is_number(v)) {
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
      return pp_err(PROP_ERR_RECIPE, "%s%s%s: must be a number in [%g, %g] or a name, got %s", path, at(path), key,
                    lo, hi, PP_G(x));
    *is_num = 1;
    *num = x;
    return 0;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    for (int i = 0; choices[i]; i++)
      if (strcmp(choices[i], s) == 0) {
        *is_num = 0;
        *choice = i;
        return 0;
      }
    return enum_error(path, key, choices, s, "a number or one of ");
  }
  return enum_error(path, key, choices, NULL, "a number or one of ");
}

/* ---- jansson's allocations ---------------------------------------------------------------------
 * jansson reports a failed allocation badly: its parser returns NULL with no message, its lexer
 * calls the token invalid ("invalid token", "string or '}' expected"), and a failure to grow the
 * buffer of the token being read is ignored, so the token is silently cut ("learner" read as
 * "learne": a model file that is fine refused as corrupted); builders (json_object_set_new ...)
 * drop what they could not store.  So the first time the library uses jansson, it wraps the
 * allocation functions jansson has (its defaults or the host program's, json_get_alloc_funcs):
 * the wrapper counts a failure on the calling thread (and lets the fault tests fail an
 * allocation), and calls the functions it wrapped, so the host program's objects are allocated and
 * freed as before.  A caller takes pp_json_mark() before its jansson work and asks
 * pp_alloc_failed_since() after: any failure in between is PROP_ERR_NOMEM, whatever jansson
 * returned. */
static json_malloc_t g_malloc;
static json_free_t g_free;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void *tracked_malloc(size_t n) {
  void *p = pp_alloc_with(g_malloc, n);
  if (!p) pp_alloc_note_failure();
  return p;
}

static void tracked_free(void *p) { g_free(p); }

static void install(void) {
  json_get_alloc_funcs(&g_malloc, &g_free);
  if (!g_malloc || !g_free) {
    g_malloc = malloc;
    g_free = free;
  }
  json_set_alloc_funcs(tracked_malloc, tracked_free);
}

unsigned pp_json_mark(void) {
  pthread_once(&g_once, install);
  return pp_alloc_mark();
}

/* jansson leaves the error's code unset on some paths: start from json_error_unknown */
static json_t *load(const char *text, size_t len, size_t flags, json_error_t *e) {
  memset(e, 0, sizeof *e);
  return json_loadb(text, len, flags, e);
}

int pp_json_parse(const char *text, size_t len, size_t flags, const char *what, json_t **root, json_error_t *e) {
  unsigned mark = pp_json_mark();
  *root = load(text, len, flags, e);
  if (pp_alloc_failed_since(mark)) {
    json_decref(*root);
    *root = NULL;
    return pp_err(PROP_ERR_NOMEM, "%s: out of memory reading JSON", what);
  }
  return *root ? 0 : PROP_ERR_VALUE;
}

char *pp_json_dumps(const json_t *root, size_t flags, unsigned mark, const char *what) {
  char *s = root ? json_dumps(root, flags) : NULL;
  if (s && !pp_alloc_failed_since(mark)) return s;
  free(s);
  pp_err(PROP_ERR_NOMEM, "out of memory while writing %s", what);
  return NULL;
}
