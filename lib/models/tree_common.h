/* lib/models/tree_common.h: what the "decision_tree" (tree.c) and "random_forest" (forest.c)
 * members share around the CART builder (cart.h): the growth settings of the recipe, the checks
 * and row weights of fit, and the settings block of their payloads.  Members do not include each
 * other, so this shared part lives here (tree_common.c). */
#ifndef PP_TREE_COMMON_H
#define PP_TREE_COMMON_H

#include <jansson.h>

#include "models/cart.h"
#include "models/member.h"
#include "models/treeshap.h"

#define PP_TREE_MAX_DEPTH 1000L
#define PP_TREE_MAX_COUNT 1000000000L

/* Recipe names of the criteria (indices PP_CART_GINI, PP_CART_ENTROPY) and of max_features
 * (indices PP_CART_MF_ALL, _SQRT, _LOG2). */
extern const char *const pp_tree_criteria[];
extern const char *const pp_tree_mf_names[];

/* How each tree grows, as the recipe gives it. */
typedef struct pp_tree_opts {
  int criterion;
  long max_depth; /* 0 = unlimited */
  long min_samples_split;
  long min_samples_leaf;
  int mf_kind; /* PP_CART_MF_* */
  double mf_frac;
  long max_bins;
} pp_tree_opts;

/* Reads criterion, max_depth, min_samples_split, min_samples_leaf, max_features and max_bins of
 * obj (in that order; errors name path.key).  The member's defaults: max_depth dflt_depth,
 * min_samples_leaf dflt_leaf, max_features dflt_mf (PP_CART_MF_*); the others gini, 2 and
 * PP_CART_DEFAULT_BINS. */
int pp_tree_parse_opts(const json_t *obj, const char *path, long dflt_depth, long dflt_leaf, int dflt_mf,
                       pp_tree_opts *o);
/* The same six settings into the canonical JSON object o, in the order criterion, max_depth,
 * min_samples_split, min_samples_leaf (swapped when leaf_first), max_features (the fraction or
 * the name), max_bins: the recipe JSON keeps insertion order, so each member keeps its own. */
void pp_tree_opts_json(json_t *o, const pp_tree_opts *g, int leaf_first);

/* The same settings in a fitted model, max_features resolved for its width, with its row count. */
typedef struct pp_tree_spec {
  int criterion;
  int mf_kind;
  double mf_frac;
  size_t max_depth, min_samples_split, min_samples_leaf, max_features, max_bins;
  size_t rows; /* training rows */
} pp_tree_spec;

void pp_tree_spec_init(pp_tree_spec *s, const pp_tree_opts *o, size_t d, size_t rows);
/* The builder's parameters of a spec. */
pp_cart_params pp_tree_cart_params(const pp_tree_spec *s);

/* fit's checks: labels 0 or 1 (PROP_ERR_VALUE naming the row), both classes present
 * (PROP_ERR_TRAIN); ncls[c] = rows of class c.  Messages start with family. */
int pp_tree_count_classes(const pp_dataset *train, const char *family, size_t ncls[2]);
/* Sample weights (when given) finite and > 0, else PROP_ERR_VALUE naming the row. */
int pp_tree_check_weights(const pp_dataset *train, const char *family);
/* Row weights: sample weight (or 1) x class weight (n / (2 n_c) when balanced, else 1) into a
 * new array *rw, or *rw = NULL when every row weighs 1 (no sample weights, not balanced). */
int pp_tree_row_weights(const pp_dataset *train, const size_t ncls[2], int balanced, double **rw);

/* predict of either member: the trees' mean leaf value (PROP_ERR_ARG naming family when t, or X
 * or out with n > 0, is NULL). */
int pp_tree_predict(const pp_cart_trees *t, const char *family, const float *X, size_t n, double *out, int nthread);

/* Payload: max_depth, min_samples_split, min_samples_leaf, max_features, max_bins and rows as
 * u64, in that order. */
void pp_tree_put_sizes(pp_buf *b, const pp_tree_spec *s);
int pp_tree_get_sizes(pp_rd *in, pp_tree_spec *s);
/* Whether every setting of a loaded spec is in range for width d. */
int pp_tree_spec_valid(const pp_tree_spec *s, size_t d);

/* Contributions of either member (exact path-dependent TreeSHAP of the probability, the trees' mean
 * leaf value; covers are the nodes' training weights).  pp_tree_shap_init prepares s for trees t
 * (built after fit or load; t must outlive s): 0, or PROP_ERR_NOMEM; trees it cannot explain (a
 * node of cover 0, from a crafted file) leave s->ntrees 0 and make pp_tree_contrib fail with
 * PROP_ERR_STATE naming family.  Free s with pp_treeshap_free. */
int pp_tree_shap_init(pp_treeshap *s, const pp_cart_trees *t, const char *family);
size_t pp_tree_contrib_scratch(const pp_treeshap *s, size_t n);
int pp_tree_contrib(const pp_treeshap *s, const char *family, const float *X, size_t n, double *phi, double *base,
                    void *scratch);
#endif
