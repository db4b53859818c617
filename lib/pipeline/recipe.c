/* Recipes: what to train.  JSON in, validated field by field; every error names its field.
 * The fields are documented in models/README.md. */
#include <stdlib.h>
#include <string.h>

#include "bands/bands.h"
#include "common/jsonx.h"
#include "pipeline/pipeline.h"

/* The largest recipe file prop_recipe_load reads (include/propensity.h, README "Reliability");
 * models/installment.json is 1.4 KB. */
#define PP_RECIPE_MAX_BYTES ((size_t)1 << 20)

static const char *const k_top_keys[] = {"name",    "description", "seed",        "cv_folds", "imbalance",
                                         "encoders", "members",    "ensemble",    "calibration", "bands",
                                         "validation_fraction", "calibration_min_rows", NULL};
static const char *const k_member_keys[] = {"name", "params", "weight", NULL};
static const char *const k_ensemble_keys[] = {"voting", "weights", "selection", "k", NULL};
static const char *const k_imbalance[] = {"none", "weights", "undersample", NULL};
static const char *const k_voting[] = {"soft", "hard", "logit", NULL};
static const char *const k_weights[] = {"equal", "fixed", "fit", NULL};
static const char *const k_selection[] = {"all", "top_k", NULL};
static const char *const k_calibration[] = {"none", "platt", "isotonic", NULL};

/* The bank's method: compare all families, keep the three best by out-of-fold AUC, vote them
 * on the log-odds scale with fitted weights, calibrate isotonically, seven bands.  Kept in step with
 * models/installment.json by a test. */
static const char k_default_recipe[] =
    "{\n"
    "  \"name\": \"installment\",\n"
    "  \"description\": \"Installment propensity: compare XGBoost, SVC, decision tree, random forest, KNN and "
    "logistic regression; vote the three best by out-of-fold AUC on the log-odds scale, weighted by logistic "
    "stacking; isotonic calibration; seven bands.\",\n"
    "  \"seed\": 42,\n"
    "  \"cv_folds\": 5,\n"
    "  \"imbalance\": \"weights\",\n"
    "  \"validation_fraction\": 0.0,\n"
    "  \"encoders\": {\"impute\": \"median\", \"missing_indicator\": true, \"standardize\": true,\n"
    "               \"categorical\": \"onehot\", \"max_categories\": 50},\n"
    "  \"members\": [\n"
    "    {\"name\": \"xgboost\", \"params\": {\"eta\": 0.05, \"max_depth\": 4, \"rounds\": 300, \"subsample\": 0.8,\n"
    "                                     \"colsample\": 0.8, \"min_child_weight\": 5}},\n"
    "    {\"name\": \"random_forest\", \"params\": {\"n_estimators\": 200, \"max_features\": \"sqrt\",\n"
    "                                           \"max_depth\": 6, \"min_samples_leaf\": 20}},\n"
    "    {\"name\": \"svc\", \"params\": {\"C\": 1.0, \"kernel\": \"rbf\", \"gamma\": \"scale\", \"max_train_rows\": 3000}},\n"
    "    {\"name\": \"decision_tree\", \"params\": {\"max_depth\": 6, \"min_samples_leaf\": 50}},\n"
    "    {\"name\": \"knn\", \"params\": {\"k\": 100, \"weights\": \"uniform\"}},\n"
    "    {\"name\": \"logistic\", \"params\": {\"C\": 1.0}}\n"
    "  ],\n"
    "  \"ensemble\": {\"voting\": \"logit\", \"weights\": \"fit\", \"selection\": \"top_k\", \"k\": 3},\n"
    "  \"calibration\": \"isotonic\", \"calibration_min_rows\": 100,\n"
    "  \"bands\": [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1]\n"
    "}\n";

const char *pp_default_recipe_text(void);
const char *pp_default_recipe_text(void) { return k_default_recipe; }

void prop_recipe_free(prop_recipe *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nmembers; i++)
    if (r->members[i].ops) r->members[i].ops->free_params(r->members[i].params);
  free(r->members);
  free(r->name);
  free(r->description);
  free(r);
}

static int parse_string(const json_t *obj, const char *key, const char *dflt, char **out) {
  const json_t *v = json_object_get(obj, key);
  if (v && !json_is_null(v) && !json_is_string(v)) return pp_err(PROP_ERR_RECIPE, "%s: must be a string", key);
  *out = pp_strdup(v && json_is_string(v) ? json_string_value(v) : dflt);
  return (*out || !dflt) ? 0 : PROP_ERR_NOMEM;
}

static int parse_members(const json_t *arr, prop_recipe *r) {
  if (!arr || !json_is_array(arr) || json_array_size(arr) == 0)
    return pp_err(PROP_ERR_RECIPE, "members: must be a non-empty array of {\"name\": ..., \"params\": {...}}");
  size_t n = json_array_size(arr);
  if (n > 32) return pp_err(PROP_ERR_RECIPE, "members: at most 32 members, got %zu", n);
  r->members = pp_calloc(n, sizeof *r->members);
  if (!r->members) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    const json_t *m = json_array_get(arr, i);
    char path[64];
    snprintf(path, sizeof path, "members[%zu]", i);
    if (!json_is_object(m)) return pp_err(PROP_ERR_RECIPE, "%s: must be an object", path);
    PP_TRY(pp_json_check_keys(m, path, k_member_keys));
    const json_t *name = json_object_get(m, "name");
    if (!name || !json_is_string(name)) return pp_err(PROP_ERR_RECIPE, "%s.name: required string", path);
    const pp_member_ops *ops = pp_member_find(json_string_value(name));
    if (!ops)
      return pp_err(PROP_ERR_RECIPE,
                    "%s.name: unknown member \"%s\" (known: xgboost, svc, decision_tree, random_forest, knn, logistic)",
                    path, json_string_value(name));
    for (size_t j = 0; j < i; j++)
      if (r->members[j].ops == ops)
        return pp_err(PROP_ERR_RECIPE, "%s.name: member \"%s\" appears twice", path, ops->name);
    char ppath[80];
    snprintf(ppath, sizeof ppath, "%s.params", path);
    const json_t *params = json_object_get(m, "params");
    if (params && !json_is_null(params) && !json_is_object(params))
      return pp_err(PROP_ERR_RECIPE, "%s: must be an object", ppath);
    PP_TRY(ops->parse_params(params, ppath, &r->members[i].params));
    r->members[i].ops = ops;
    r->nmembers = i + 1;
    const char *needs = ops->needs_validation ? ops->needs_validation(r->members[i].params) : NULL;
    if (needs && r->valid_frac <= 0)
      return pp_err(PROP_ERR_RECIPE, "%s.%s: needs a validation hold-out; set validation_fraction above 0", ppath, needs);
    PP_TRY(pp_json_double(m, path, "weight", 0.0, 1e6, 1.0, &r->members[i].weight));
  }
  return 0;
}

static int parse_bands(const json_t *arr, prop_recipe *r) {
  if (!arr || json_is_null(arr)) return pp_bands_init(&r->bands, pp_default_edges, PROP_DEFAULT_NBANDS, "bands");
  if (!json_is_array(arr) || json_array_size(arr) < 3 || json_array_size(arr) > 65)
    return pp_err(PROP_ERR_RECIPE, "bands: must be an array of 3 to 65 edges from 0 to 1");
  size_t n = json_array_size(arr);
  double edges[65];
  for (size_t i = 0; i < n; i++) {
    const json_t *v = json_array_get(arr, i);
    if (!json_is_number(v)) return pp_err(PROP_ERR_RECIPE, "bands[%zu]: must be a number", i);
    edges[i] = json_number_value(v);
  }
  return pp_bands_init(&r->bands, edges, n - 1, "bands");
}

static int parse_obj(const json_t *root, prop_recipe *r) {
  if (!json_is_object(root)) return pp_err(PROP_ERR_RECIPE, "recipe: the top level must be an object");
  PP_TRY(pp_json_check_keys(root, "", k_top_keys));
  PP_TRY(parse_string(root, "name", "recipe", &r->name));
  PP_TRY(parse_string(root, "description", "", &r->description));
  long seed, folds;
  PP_TRY(pp_json_int(root, "", "seed", 0, 2147483647L, 42, &seed));
  r->seed = (uint64_t)seed;
  PP_TRY(pp_json_int(root, "", "cv_folds", 2, 20, 5, &folds));
  r->cv_folds = folds;
  PP_TRY(pp_json_enum(root, "", "imbalance", k_imbalance, PP_IMB_WEIGHTS, &r->imbalance));
  PP_TRY(pp_json_double(root, "", "validation_fraction", 0.0, 0.5, 0.0, &r->valid_frac));
  const json_t *enc = json_object_get(root, "encoders");
  if (enc && !json_is_null(enc) && !json_is_object(enc)) return pp_err(PROP_ERR_RECIPE, "encoders: must be an object");
  PP_TRY(pp_encode_opts_parse(enc && json_is_object(enc) ? enc : NULL, "encoders", &r->enc));
  PP_TRY(parse_members(json_object_get(root, "members"), r));
  const json_t *ens = json_object_get(root, "ensemble");
  if (ens && !json_is_null(ens) && !json_is_object(ens)) return pp_err(PROP_ERR_RECIPE, "ensemble: must be an object");
  PP_TRY(pp_json_check_keys(ens, "ensemble", k_ensemble_keys));
  PP_TRY(pp_json_enum(ens, "ensemble", "voting", k_voting, PP_VOTE_SOFT, &r->voting));
  PP_TRY(pp_json_enum(ens, "ensemble", "weights", k_weights, PP_WEIGHTS_FIT, &r->weights));
  PP_TRY(pp_json_enum(ens, "ensemble", "selection", k_selection, PP_SELECT_ALL, &r->selection));
  PP_TRY(pp_json_int(ens, "ensemble", "k", 1, 32, 3, &r->top_k));
  if (r->selection == PP_SELECT_TOPK && (size_t)r->top_k > r->nmembers)
    return pp_err(PROP_ERR_RECIPE, "ensemble.k: %ld exceeds the %zu members", r->top_k, r->nmembers);
  if (r->voting == PP_VOTE_HARD && r->weights == PP_WEIGHTS_FIT)
    return pp_err(PROP_ERR_RECIPE, "ensemble.weights: \"fit\" needs soft or logit voting; use \"equal\" or \"fixed\" with hard voting");
  PP_TRY(pp_json_enum(root, "", "calibration", k_calibration, PP_CALIB_ISOTONIC, &r->calibration));
  PP_TRY(pp_json_int(root, "", "calibration_min_rows", 1, 1000000000L, 100, &r->calibration_min_rows));
  return parse_bands(json_object_get(root, "bands"), r);
}

int prop_recipe_parse(const char *json, const char *source, prop_recipe **out) {
  if (!out) return pp_err(PROP_ERR_ARG, "prop_recipe_parse: out is NULL");
  *out = NULL;
  if (!json) return pp_err(PROP_ERR_ARG, "prop_recipe_parse: json is NULL");
  const char *src = source ? source : "recipe";
  json = pp_skip_bom(json);
  json_error_t jerr;
  json_t *root = NULL;
  int prc = pp_json_parse(json, strlen(json), JSON_REJECT_DUPLICATES, src, &root, &jerr);
  if (prc == PROP_ERR_VALUE) return pp_err(PROP_ERR_RECIPE, "%s:%d:%d: %s", src, jerr.line, jerr.column, jerr.text);
  if (prc) return prc;
  prop_recipe *r = pp_calloc(1, sizeof *r);
  if (!r) {
    json_decref(root);
    return PROP_ERR_NOMEM;
  }
  int rc = parse_obj(root, r);
  json_decref(root);
  if (rc) {
    prop_recipe_free(r);
    return pp_err_prefix(rc, "%s: ", src);
  }
  *out = r;
  return 0;
}

int prop_recipe_default(prop_recipe **out) { return prop_recipe_parse(k_default_recipe, "default recipe", out); }

int prop_recipe_load(const char *path, prop_recipe **out) {
  if (!path || !out) return pp_err(PROP_ERR_ARG, "prop_recipe_load: NULL argument");
  *out = NULL;
  char *text;
  PP_TRY(pp_read_text(path, PP_RECIPE_MAX_BYTES, "recipe", PROP_ERR_RECIPE, &text));
  int rc = prop_recipe_parse(text, path, out);
  free(text);
  return rc;
}

json_t *pp_recipe_json(const prop_recipe *r) {
  json_t *root = json_object();
  json_object_set_new(root, "name", json_string(r->name ? r->name : ""));
  json_object_set_new(root, "description", json_string(r->description ? r->description : ""));
  json_object_set_new(root, "seed", json_integer((json_int_t)r->seed));
  json_object_set_new(root, "cv_folds", json_integer(r->cv_folds));
  json_object_set_new(root, "imbalance", json_string(k_imbalance[r->imbalance]));
  json_object_set_new(root, "validation_fraction", json_real(r->valid_frac));
  json_object_set_new(root, "encoders", pp_encode_opts_to_json(&r->enc));
  json_t *mem = json_array();
  for (size_t i = 0; i < r->nmembers; i++) {
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(r->members[i].ops->name));
    json_object_set_new(o, "params", r->members[i].ops->params_to_json(r->members[i].params));
    json_object_set_new(o, "weight", json_real(r->members[i].weight));
    json_array_append_new(mem, o);
  }
  json_object_set_new(root, "members", mem);
  json_t *ens = json_object();
  json_object_set_new(ens, "voting", json_string(k_voting[r->voting]));
  json_object_set_new(ens, "weights", json_string(k_weights[r->weights]));
  json_object_set_new(ens, "selection", json_string(k_selection[r->selection]));
  json_object_set_new(ens, "k", json_integer(r->top_k));
  json_object_set_new(root, "ensemble", ens);
  json_object_set_new(root, "calibration", json_string(k_calibration[r->calibration]));
  json_object_set_new(root, "calibration_min_rows", json_integer(r->calibration_min_rows));
  json_t *b = json_array();
  for (size_t i = 0; i <= r->bands.n; i++) json_array_append_new(b, json_real(r->bands.edges[i]));
  json_object_set_new(root, "bands", b);
  return root;
}

int prop_recipe_to_json(const prop_recipe *r, char **json) {
  if (!r || !json) return pp_err(PROP_ERR_ARG, "prop_recipe_to_json: NULL argument");
  unsigned mark = pp_json_mark();
  json_t *root = pp_recipe_json(r);
  *json = pp_json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17), mark, "the recipe");
  json_decref(root);
  return *json ? 0 : PROP_ERR_NOMEM;
}

int pp_recipe_copy(const prop_recipe *r, prop_recipe **out) {
  char *text;
  PP_TRY(prop_recipe_to_json(r, &text));
  int rc = prop_recipe_parse(text, "recipe copy", out);
  free(text);
  return rc;
}
