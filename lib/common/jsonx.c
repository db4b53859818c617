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

void pp_json_error_init(json_error_t *e) { memset(e, 0, sizeof *e); }

int pp_json_out_of_memory(const json_error_t *e) {
  return json_error_code(e) == json_error_out_of_memory || e->text[0] == '\0';
}
