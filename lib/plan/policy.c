/* The call policy (models/README.md "The call policy"): JSON read with jansson, every bad value named
 * by its field path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "plan/plan.h"

#define MAX_CAPACITY 1000000000L
/* The largest policy file prop_policy_load reads (include/propensity.h, README "Reliability"); the
 * demo's is half a kilobyte. */
#define PP_POLICY_MAX_BYTES ((size_t)1 << 20)

void prop_policy_free(prop_policy *p) {
  if (!p) return;
  for (size_t t = 0; p->tiers && t < p->ntiers; t++) free(p->tiers[t].name);
  free(p->tiers);
  free(p->open);
  for (size_t h = 0; p->phone_cols && h < p->nchan; h++) free(p->phone_cols[h]);
  free(p->phone_cols);
  free(p->phone_code);
  free(p->source_id);
  free(p);
}

const char *prop_policy_phone_column(const prop_policy *p, size_t ch) {
  return p && p->phone_cols && ch < p->nchan ? p->phone_cols[ch] : NULL;
}

static int bad(const char *path, const char *msg) { return pp_err(PROP_ERR_RECIPE, "%s: %s", path, msg); }

/* A name: a non-empty string without tabs, '|' or line breaks (they would break a lead file). */
static int read_name(const json_t *v, const char *path, char **out) {
  if (!json_is_string(v) || !*json_string_value(v)) return bad(path, "must be a non-empty string");
  if (strpbrk(json_string_value(v), "\t|\r\n\""))
    return bad(path, "must not hold a tab, '|', quote or line break");
  return (*out = pp_strdup(json_string_value(v))) ? 0 : PROP_ERR_NOMEM;
}

static int read_bands(const json_t *arr, const char *path, pp_tier *t) {
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return bad(path, "must be a non-empty array of bands (1 is the lowest)");
  t->bands = 0;
  for (size_t q = 0; q < json_array_size(arr); q++) {
    const json_t *v = json_array_get(arr, q);
    char p[256];
    snprintf(p, sizeof p, "%s[%zu]", path, q);
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 64)
      return bad(p, "must be a band, an integer in [1, 64]");
    int b = (int)json_integer_value(v);
    t->bands |= 1ull << (b - 1);
    if (b > t->max_band) t->max_band = b;
  }
  return 0;
}

static int read_channels(const json_t *arr, const char *path, const prop_contact *c, pp_tier *t) {
  if (!arr || json_is_null(arr)) {
    t->channels = c->grid.nchan >= 64 ? ~0ull : (1ull << c->grid.nchan) - 1;
    return 0;
  }
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return bad(path, "must be a non-empty array of channel names");
  for (size_t q = 0; q < json_array_size(arr); q++) {
    const json_t *v = json_array_get(arr, q);
    long h = json_is_string(v) ? pp_grid_channel(&c->grid, json_string_value(v)) : -1;
    if (h < 0) {
      char p[256];
      snprintf(p, sizeof p, "%s[%zu]", path, q);
      return pp_err(PROP_ERR_RECIPE, "%s: must be one of the contact model's channels, got %s%.100s%s", p,
                    json_is_string(v) ? "'" : "", json_is_string(v) ? json_string_value(v) : "a non-string",
                    json_is_string(v) ? "'" : "");
    }
    t->channels |= 1ull << h;
  }
  return 0;
}

static int read_tier(const json_t *o, size_t q, const prop_contact *c, prop_policy *p) {
  static const char *const keys[] = {"name", "bands", "min_expected_value", "capacity_per_slot", "channels",
                                     "acceptance_multiplier", "description", NULL};
  char path[64], sub[128];
  snprintf(path, sizeof path, "tiers[%zu]", q);
  if (!json_is_object(o)) return bad(path, "must be an object");
  PP_TRY(pp_json_check_keys(o, path, keys));
  pp_tier *t = &p->tiers[q];
  snprintf(sub, sizeof sub, "%s.name", path);
  PP_TRY(read_name(json_object_get(o, "name"), sub, &t->name));
  for (size_t r = 0; r < q; r++)
    if (strcmp(p->tiers[r].name, t->name) == 0)
      return pp_err(PROP_ERR_RECIPE, "%s: '%s' names two tiers", sub, t->name);
  t->bands = ~0ull;
  const json_t *b = json_object_get(o, "bands");
  snprintf(sub, sizeof sub, "%s.bands", path);
  if (b && !json_is_null(b)) PP_TRY(read_bands(b, sub, t));
  PP_TRY(pp_json_double(o, path, "min_expected_value", 0.0, 1e300, 0.0, &t->min_ev));
  const json_t *cap = json_object_get(o, "capacity_per_slot");
  t->capacity = -1;
  if (cap && !json_is_null(cap)) {
    long v;
    PP_TRY(pp_json_int(o, path, "capacity_per_slot", 0, MAX_CAPACITY, 0, &v));
    t->capacity = v;
  }
  snprintf(sub, sizeof sub, "%s.channels", path);
  PP_TRY(read_channels(json_object_get(o, "channels"), sub, c, t));
  PP_TRY(pp_json_double(o, path, "acceptance_multiplier", 1e-9, 10.0, 1.0, &t->mult));
  const json_t *d = json_object_get(o, "description");
  snprintf(sub, sizeof sub, "%s.description", path);
  if (d && !json_is_null(d) && !json_is_string(d)) return bad(sub, "must be a string");
  return 0;
}

/* "weekday_10": the slot of that day type and block start hour, or -1. */
static long slot_of(const prop_contact *c, const char *s) {
  for (size_t slot = 0; slot < pp_grid_nslots(&c->grid); slot++) {
    char name[32];
    snprintf(name, sizeof name, "%s_%02d", pp_grid_day_name(slot >= (size_t)c->grid.nblocks),
             pp_grid_slot_hour(&c->grid, slot));
    if (strcmp(name, s) == 0) return (long)slot;
  }
  return -1;
}

static int read_slots(const json_t *v, const prop_contact *c, prop_policy *p) {
  size_t ns = pp_grid_nslots(&c->grid);
  if (!v || json_is_null(v) || (json_is_string(v) && strcmp(json_string_value(v), "all") == 0)) {
    memset(p->open, 1, ns);
    return 0;
  }
  if (!json_is_array(v) || json_array_size(v) == 0)
    return bad("open_slots", "must be \"all\" or a non-empty array of slots such as \"weekday_10\"");
  for (size_t q = 0; q < json_array_size(v); q++) {
    const json_t *e = json_array_get(v, q);
    long s = json_is_string(e) ? slot_of(c, json_string_value(e)) : -1;
    if (s < 0)
      return pp_err(PROP_ERR_RECIPE, "open_slots[%zu]: must be a slot of the contact model's grid (weekday_%02d ... weekend_%02d), got %s%.60s%s",
                    q, c->grid.first_hour, pp_grid_slot_hour(&c->grid, ns - 1), json_is_string(e) ? "'" : "",
                    json_is_string(e) ? json_string_value(e) : "a non-string", json_is_string(e) ? "'" : "");
    p->open[s] = 1;
  }
  return 0;
}

static int read_phones(const json_t *v, const prop_contact *c, prop_policy *p) {
  if (!v || json_is_null(v)) return 0;
  if (!json_is_object(v)) return bad("phone_columns", "must be an object: channel -> column");
  const char *key;
  json_t *col;
  json_object_foreach((json_t *)v, key, col) {
    long h = pp_grid_channel(&c->grid, key);
    char path[160];
    snprintf(path, sizeof path, "phone_columns.%.100s", key);
    if (h < 0) return bad(path, "is not one of the contact model's channels");
    PP_TRY(read_name(col, path, &p->phone_cols[h]));
  }
  return 0;
}

static int read_vicidial(const json_t *v, prop_policy *p) {
  static const char *const keys[] = {"list_id", "phone_code", "source_id", NULL};
  p->list_id = 1000;
  if (v && !json_is_null(v)) {
    if (!json_is_object(v)) return bad("vicidial", "must be an object");
    PP_TRY(pp_json_check_keys(v, "vicidial", keys));
    PP_TRY(pp_json_int(v, "vicidial", "list_id", 100, 99999999L - 64, 1000, &p->list_id));
  }
  const json_t *pc = v ? json_object_get(v, "phone_code") : NULL, *si = v ? json_object_get(v, "source_id") : NULL;
  const char *code = pc && json_is_string(pc) ? json_string_value(pc) : "1";
  const char *src = si && json_is_string(si) ? json_string_value(si) : "propensity";
  size_t len = strlen(code);
  if ((pc && !json_is_null(pc) && !json_is_string(pc)) || len < 1 || len > 4 || strspn(code, "0123456789") != len)
    return bad("vicidial.phone_code", "must be a string of 1 to 4 digits");
  if ((si && !json_is_null(si) && !json_is_string(si)) || strlen(src) > 50 || strpbrk(src, "\t|\r\n\""))
    return bad("vicidial.source_id", "must be a string of at most 50 characters without tabs or '|'");
  p->phone_code = pp_strdup(code);
  p->source_id = pp_strdup(src);
  return p->phone_code && p->source_id ? 0 : PROP_ERR_NOMEM;
}

static int parse_root(const json_t *root, const prop_contact *c, prop_policy *p) {
  static const char *const keys[] = {"tiers", "open_slots", "max_attempts", "attempt_window_days", "phone_columns",
                                     "vicidial", "description", NULL};
  if (!json_is_object(root)) return bad("policy", "must be a JSON object");
  PP_TRY(pp_json_check_keys(root, "", keys));
  const json_t *tiers = json_object_get(root, "tiers");
  if (!json_is_array(tiers) || json_array_size(tiers) == 0 || json_array_size(tiers) > PP_PLAN_MAX_TIERS)
    return bad("tiers", "required: an array of 1 to 32 tiers, in order");
  p->ntiers = json_array_size(tiers);
  if (!(p->tiers = pp_calloc(p->ntiers, sizeof *p->tiers))) return PROP_ERR_NOMEM;
  for (size_t q = 0; q < p->ntiers; q++) PP_TRY(read_tier(json_array_get(tiers, q), q, c, p));
  PP_TRY(read_slots(json_object_get(root, "open_slots"), c, p));
  PP_TRY(pp_json_int(root, "", "max_attempts", 1, 1000000, 0, &p->max_attempts));
  PP_TRY(pp_json_int(root, "", "attempt_window_days", 1, 100000, 0, &p->window_days));
  if (p->window_days && !p->max_attempts)
    return bad("attempt_window_days", "needs max_attempts");
  PP_TRY(read_phones(json_object_get(root, "phone_columns"), c, p));
  PP_TRY(read_vicidial(json_object_get(root, "vicidial"), p));
  const json_t *d = json_object_get(root, "description");
  if (d && !json_is_null(d) && !json_is_string(d)) return bad("description", "must be a string");
  return 0;
}

int prop_policy_parse(const char *json, const char *source, const prop_contact *c, prop_policy **out) {
  if (!json || !c || !out) return pp_err(PROP_ERR_ARG, "prop_policy_parse: NULL argument");
  *out = NULL;
  const char *src = source ? source : "policy";
  json_error_t jerr;
  json_t *root = NULL;
  json = pp_skip_bom(json);
  int prc = pp_json_parse(json, strlen(json), JSON_REJECT_DUPLICATES, src, &root, &jerr);
  if (prc == PROP_ERR_VALUE) return pp_err(PROP_ERR_RECIPE, "%s:%d:%d: %s", src, jerr.line, jerr.column, jerr.text);
  if (prc) return prc;
  prop_policy *p = pp_calloc(1, sizeof *p);
  int rc = p ? 0 : PROP_ERR_NOMEM;
  if (!rc) {
    p->first_hour = c->grid.first_hour;
    p->block_hours = c->grid.block_hours;
    p->nblocks = c->grid.nblocks;
    p->nchan = c->grid.nchan;
    p->open = pp_calloc(pp_grid_nslots(&c->grid), 1);
    p->phone_cols = pp_calloc(c->grid.nchan, sizeof *p->phone_cols);
    rc = p->open && p->phone_cols ? parse_root(root, c, p) : PROP_ERR_NOMEM;
  }
  json_decref(root);
  if (rc) {
    if (rc != PROP_ERR_NOMEM) pp_err_prefix(rc, "%s: ", src);
    prop_policy_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

int prop_policy_load(const char *path, const prop_contact *c, prop_policy **out) {
  if (!path || !out) return pp_err(PROP_ERR_ARG, "prop_policy_load: NULL argument");
  *out = NULL;
  char *text;
  PP_TRY(pp_read_text(path, PP_POLICY_MAX_BYTES, "policy", PROP_ERR_RECIPE, &text));
  int rc = prop_policy_parse(text, path, c, out);
  free(text);
  return rc;
}
