#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "models/tree_common.h"

const char *const pp_tree_criteria[] = {"gini", "entropy", NULL};
const char *const pp_tree_mf_names[] = {"all", "sqrt", "log2", NULL};

int pp_tree_parse_opts(const json_t *obj, const char *path, long dflt_depth, long dflt_leaf, int dflt_mf,
                       pp_tree_opts *o) {
  if (!path) path = "";
  PP_TRY(pp_json_enum(obj, path, "criterion", pp_tree_criteria, PP_CART_GINI, &o->criterion));
  PP_TRY(pp_json_int(obj, path, "max_depth", 0, PP_TREE_MAX_DEPTH, dflt_depth, &o->max_depth));
  PP_TRY(pp_json_int(obj, path, "min_samples_split", 2, PP_TREE_MAX_COUNT, 2, &o->min_samples_split));
  PP_TRY(pp_json_int(obj, path, "min_samples_leaf", 1, PP_TREE_MAX_COUNT, dflt_leaf, &o->min_samples_leaf));
  int is_num = 0, choice = dflt_mf;
  double frac = 1.0;
  PP_TRY(pp_json_num_or_enum(obj, path, "max_features", 0.0, 1.0, pp_tree_mf_names, &is_num, &frac, &choice));
  if (is_num && !(frac > 0))
    return pp_err(PROP_ERR_RECIPE,
                  "%s%smax_features: must be \"all\", \"sqrt\", \"log2\" or a fraction in (0, 1], got %s", path,
                  *path ? "." : "", PP_G(frac));
  o->mf_kind = is_num ? PP_CART_MF_FRACTION : choice;
  o->mf_frac = is_num ? frac : 1.0;
  PP_TRY(pp_json_int(obj, path, "max_bins", 2, (long)PP_CART_MAX_BINS, (long)PP_CART_DEFAULT_BINS, &o->max_bins));
  return 0;
}

void pp_tree_opts_json(json_t *o, const pp_tree_opts *g, int leaf_first) {
  json_object_set_new(o, "criterion", json_string(pp_tree_criteria[g->criterion]));
  json_object_set_new(o, "max_depth", json_integer(g->max_depth));
  json_t *split = json_integer(g->min_samples_split), *leaf = json_integer(g->min_samples_leaf);
  json_object_set_new(o, leaf_first ? "min_samples_leaf" : "min_samples_split", leaf_first ? leaf : split);
  json_object_set_new(o, leaf_first ? "min_samples_split" : "min_samples_leaf", leaf_first ? split : leaf);
  json_object_set_new(o, "max_features", g->mf_kind == PP_CART_MF_FRACTION ? json_real(g->mf_frac)
                                                                            : json_string(pp_tree_mf_names[g->mf_kind]));
  json_object_set_new(o, "max_bins", json_integer(g->max_bins));
}

void pp_tree_spec_init(pp_tree_spec *s, const pp_tree_opts *o, size_t d, size_t rows) {
  s->criterion = o->criterion;
  s->mf_kind = o->mf_kind;
  s->mf_frac = o->mf_frac;
  s->max_depth = (size_t)o->max_depth;
  s->min_samples_split = (size_t)o->min_samples_split;
  s->min_samples_leaf = (size_t)o->min_samples_leaf;
  s->max_features = pp_cart_max_features(o->mf_kind, o->mf_frac, d);
  s->max_bins = (size_t)o->max_bins;
  s->rows = rows;
}

pp_cart_params pp_tree_cart_params(const pp_tree_spec *s) {
  pp_cart_params cp = {s->criterion, s->max_depth, s->min_samples_split, s->min_samples_leaf, s->max_features};
  return cp;
}

int pp_tree_count_classes(const pp_dataset *train, const char *family, size_t ncls[2]) {
  const size_t n = train->n;
  ncls[0] = ncls[1] = 0;
  for (size_t i = 0; i < n; i++) {
    float yi = train->y[i];
    if (!(yi == 0.0f || yi == 1.0f))
      return pp_err(PROP_ERR_VALUE, "%s: label of row %zu must be 0 or 1, got %g", family, i, (double)yi);
    ncls[yi == 1.0f]++;
  }
  if (ncls[0] == 0 || ncls[1] == 0)
    return pp_err(PROP_ERR_TRAIN, "%s: the training rows hold only one class (%zu positives of %zu)", family,
                  ncls[1], n);
  return 0;
}

int pp_tree_check_weights(const pp_dataset *train, const char *family) {
  if (train->w)
    for (size_t i = 0; i < train->n; i++)
      if (!(train->w[i] > 0) || !isfinite(train->w[i]))
        return pp_err(PROP_ERR_VALUE, "%s: sample weight of row %zu must be > 0, got %g", family, i,
                      (double)train->w[i]);
  return 0;
}

int pp_tree_row_weights(const pp_dataset *train, const size_t ncls[2], int balanced, double **rw) {
  *rw = NULL;
  if (!train->w && !balanced) return 0;
  const size_t n = train->n;
  double cw[2];
  pp_class_weights(n, ncls[1], balanced, &cw[0], &cw[1]);
  double *w = pp_malloc_array(n, sizeof *w);
  if (!w) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) w[i] = (train->w ? (double)train->w[i] : 1.0) * cw[train->y[i] == 1.0f];
  *rw = w;
  return 0;
}

int pp_tree_predict(const pp_cart_trees *t, const char *family, const float *X, size_t n, double *out, int nthread) {
  if (!t || (n && (!X || !out))) return pp_err(PROP_ERR_ARG, "%s predict: NULL argument", family);
  pp_cart_predict(t, X, n, out, nthread);
  return 0;
}

void pp_tree_put_sizes(pp_buf *b, const pp_tree_spec *s) {
  pp_put_u64(b, s->max_depth);
  pp_put_u64(b, s->min_samples_split);
  pp_put_u64(b, s->min_samples_leaf);
  pp_put_u64(b, s->max_features);
  pp_put_u64(b, s->max_bins);
  pp_put_u64(b, s->rows);
}

int pp_tree_get_sizes(pp_rd *in, pp_tree_spec *s) {
  uint64_t v[6];
  for (int k = 0; k < 6; k++) PP_TRY(pp_get_u64(in, &v[k]));
  s->max_depth = (size_t)v[0];
  s->min_samples_split = (size_t)v[1];
  s->min_samples_leaf = (size_t)v[2];
  s->max_features = (size_t)v[3];
  s->max_bins = (size_t)v[4];
  s->rows = (size_t)v[5];
  return 0;
}

int pp_tree_spec_valid(const pp_tree_spec *s, size_t d) {
  return s->criterion >= 0 && s->criterion <= PP_CART_ENTROPY && s->mf_kind >= 0 &&
         s->mf_kind <= PP_CART_MF_FRACTION && s->mf_frac > 0 && s->mf_frac <= 1 &&
         s->max_depth <= (size_t)PP_TREE_MAX_DEPTH && s->min_samples_split >= 2 &&
         s->min_samples_split <= (size_t)PP_TREE_MAX_COUNT && s->min_samples_leaf >= 1 &&
         s->min_samples_leaf <= (size_t)PP_TREE_MAX_COUNT && s->max_features >= 1 && s->max_features <= d &&
         s->max_bins >= 2 && s->max_bins <= PP_CART_MAX_BINS && s->rows != 0;
}

int pp_tree_shap_init(pp_treeshap *s, const pp_cart_trees *t, const char *family) {
  return pp_treeshap_init(s, t->d, t->n_trees, t->start, t->node, t->default_left, t->value, t->weight, 0,
                          t->n_trees ? 1.0 / (double)t->n_trees : 1.0, family);
}

size_t pp_tree_contrib_scratch(const pp_treeshap *s, size_t n) {
  return pp_treeshap_scratch(s, n);
}

int pp_tree_contrib(const pp_treeshap *s, const char *family, const float *X, size_t n, double *phi, double *base,
                    void *scratch) {
  if (!s->ntrees)
    return pp_err(PROP_ERR_STATE, "%s: a node of the trees has no training weight; contributions are undefined",
                  family);
  return pp_treeshap_contrib(s, X, n, phi, base, scratch);
}
