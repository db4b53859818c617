/* The "decision_tree" member: one CART tree (cart.h) on all training rows.
 *
 * fit:
 *  1. Row weights: sample weight (dataset w, or 1) x class weight ("balanced": n / (2 n_c); the
 *     default follows the recipe's imbalance: PP_IMB_WEIGHTS gives "balanced").
 *  2. The columns are binned once (max_bins quantile bins; fewer distinct values give exact splits).
 *  3. One tree is grown depth-first with the gini or entropy criterion; NaN in X is allowed and
 *     each split learns the side missing values take (cart.h).  max_features below "all" draws the
 *     features of each split from the seeded RNG (ctx->seed).
 * predict: the leaf's weighted share of class 1.  The member is read-only after fit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "models/cart.h"
#include "models/member.h"
#include "models/tree_common.h"

#define TREE_FORMAT_VERSION 1u

enum { CW_FOLLOW = -1, CW_BALANCED = 0, CW_NONE = 1 };

static const char *const k_keys[] = {"criterion",    "max_depth", "min_samples_split", "min_samples_leaf",
                                     "max_features", "max_bins",  "class_weight",      NULL};
static const char *const k_cw[] = {"balanced", "none", NULL};

typedef struct tree_params {
  pp_tree_opts g;
  int class_weight; /* CW_* */
} tree_params;

typedef struct tree_model {
  size_t d;
  int balanced; /* class weights were "balanced" */
  pp_tree_spec s;
  pp_cart_trees trees; /* exactly one tree */
  pp_treeshap shap;    /* contributions of the tree (derived at fit and load, not saved) */
} tree_model;

/* ---- parameters --------------------------------------------------------------------------- */

static int tree_parse_params(const json_t *obj, const char *path, void **out) {
  *out = NULL;
  if (!path) path = "";
  PP_TRY(pp_json_check_keys(obj, path, k_keys));
  tree_params p;
  memset(&p, 0, sizeof p);
  PP_TRY(pp_tree_parse_opts(obj, path, 8, 20, PP_CART_MF_ALL, &p.g));
  PP_TRY(pp_json_enum(obj, path, "class_weight", k_cw, CW_FOLLOW, &p.class_weight));
  tree_params *q = pp_malloc(sizeof *q);
  if (!q) return PROP_ERR_NOMEM;
  *q = p;
  *out = q;
  return 0;
}

static json_t *tree_params_to_json(const void *params) {
  const tree_params *p = params;
  json_t *o = json_object();
  if (!o) return NULL;
  pp_tree_opts_json(o, &p->g, 0);
  json_object_set_new(o, "class_weight",
                      p->class_weight == CW_FOLLOW ? json_null() : json_string(k_cw[p->class_weight]));
  return o;
}

static void tree_free_params(void *params) { free(params); }

/* ---- fit ---------------------------------------------------------------------------------------- */

static void tree_model_free(tree_model *m) {
  if (!m) return;
  pp_treeshap_free(&m->shap);
  pp_cart_trees_free(&m->trees);
  free(m);
}

static int tree_fit(const void *params, const pp_dataset *train, const pp_dataset *valid, const pp_ctx *ctx,
                    void **model) {
  (void)valid;
  *model = NULL;
  tree_params dflt;
  const void *pv;
  PP_TRY(pp_member_params(params, tree_parse_params, &dflt, sizeof dflt, &pv));
  const tree_params *p = pv;
  if (!train || !train->X || !train->y || train->n == 0 || train->d == 0)
    return pp_err(PROP_ERR_ARG, "decision_tree: no training data");
  const size_t n = train->n, d = train->d;
  size_t ncls[2];
  PP_TRY(pp_tree_count_classes(train, "decision_tree", ncls));
  int cw = p->class_weight;
  if (cw == CW_FOLLOW) cw = train->imbalance == PP_IMB_WEIGHTS ? CW_BALANCED : CW_NONE;
  const int nthread = ctx && ctx->nthread > 0 ? ctx->nthread : 1;
  PP_TRY(pp_progress(ctx, "fit:decision_tree", 0, 1));

  double *rw = NULL;
  PP_TRY(pp_tree_check_weights(train, "decision_tree"));
  PP_TRY(pp_tree_row_weights(train, ncls, cw == CW_BALANCED, &rw));

  tree_model *m = pp_calloc(1, sizeof *m);
  pp_cart_bins bins;
  memset(&bins, 0, sizeof bins);
  pp_cart_work *work = NULL;
  int rc = 0;
  if (!m) rc = PROP_ERR_NOMEM;
  if (!rc) {
    pp_cart_trees_init(&m->trees, d);
    m->d = d;
    m->balanced = cw == CW_BALANCED;
    pp_tree_spec_init(&m->s, &p->g, d, n);
    rc = pp_cart_bins_build(train->X, n, d, m->s.max_bins, nthread, &bins);
  }
  if (!rc) rc = pp_cart_work_create(&bins, &work);
  if (!rc) {
    pp_cart_params cp = pp_tree_cart_params(&m->s);
    pp_rng rng;
    pp_rng_seed(&rng, ctx ? ctx->seed : 0);
    rc = pp_cart_grow(&bins, train->y, rw, NULL, &cp, &rng, work, &m->trees);
    if (!rc) rc = pp_cart_pack(&m->trees);
    if (!rc) rc = pp_tree_shap_init(&m->shap, &m->trees, "decision_tree");
  }
  pp_cart_work_free(work);
  pp_cart_bins_free(&bins);
  free(rw);
  if (!rc) rc = pp_progress(ctx, "fit:decision_tree", 1, 1);
  if (rc) {
    if (rc == PROP_ERR_NOMEM) pp_err(rc, "decision_tree: out of memory fitting %zu x %zu rows", n, d);
    tree_model_free(m);
    return rc;
  }
  pp_log(ctx, PROP_LOG_DEBUG, "decision_tree: %zu nodes, depth %zu, %zu leaves", m->trees.n_nodes,
         pp_cart_depth(&m->trees, 0), pp_cart_leaves(&m->trees, 0));
  *model = m;
  return 0;
}

/* ---- predict ------------------------------------------------------------------------------------ */

static int tree_predict(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread) {
  (void)scratch;
  const tree_model *m = model;
  return pp_tree_predict(m ? &m->trees : NULL, "decision_tree", X, n, out, nthread);
}

/* ---- save / load -------------------------------------------------------------------------------- */

static int tree_save(const void *model, pp_buf *b) {
  const tree_model *m = model;
  pp_put_u32(b, TREE_FORMAT_VERSION);
  pp_put_u64(b, m->d);
  pp_put_u8(b, (uint8_t)m->s.criterion);
  pp_put_u8(b, (uint8_t)m->balanced);
  pp_put_u8(b, (uint8_t)m->s.mf_kind);
  pp_put_f64(b, m->s.mf_frac);
  pp_tree_put_sizes(b, &m->s);
  pp_cart_save(&m->trees, b);
  return pp_buf_status(b);
}

static int tree_load(pp_rd *in, size_t d, void **out) {
  *out = NULL;
  const char *what = in->what ? in->what : "decision_tree";
  uint32_t ver;
  uint8_t crit, bal, kind;
  pp_tree_spec s;
  PP_TRY(pp_member_get_version(in, what, "decision_tree", TREE_FORMAT_VERSION, &ver));
  PP_TRY(pp_member_get_width(in, what, "decision_tree", d, SIZE_MAX));
  PP_TRY(pp_get_u8(in, &crit));
  PP_TRY(pp_get_u8(in, &bal));
  PP_TRY(pp_get_u8(in, &kind));
  PP_TRY(pp_get_f64(in, &s.mf_frac));
  PP_TRY(pp_tree_get_sizes(in, &s));
  s.criterion = crit;
  s.mf_kind = kind;
  if (bal > 1 || !pp_tree_spec_valid(&s, d))
    return pp_err(PROP_ERR_CORRUPT, "%s: decision_tree parameters out of range", what);
  tree_model *m = pp_calloc(1, sizeof *m);
  if (!m) return PROP_ERR_NOMEM;
  m->d = d;
  m->balanced = bal;
  m->s = s;
  int rc = pp_cart_load(in, d, 1, &m->trees);
  if (!rc) rc = pp_tree_shap_init(&m->shap, &m->trees, "decision_tree");
  if (rc) {
    tree_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static void tree_free_model(void *model) { tree_model_free(model); }

static int tree_importance(const void *model, double *imp, size_t d) {
  const tree_model *m = model;
  return pp_cart_importance(&m->trees, imp, d);
}

static size_t tree_contrib_scratch(const void *model, size_t n) {
  return pp_tree_contrib_scratch(&((const tree_model *)model)->shap, n);
}

static int tree_contrib(const void *model, const float *X, size_t n, const uint32_t *group, size_t ngroups,
                        double *phi, double *base, void *scratch) {
  (void)group;
  (void)ngroups;
  return pp_tree_contrib(&((const tree_model *)model)->shap, "decision_tree", X, n, phi, base, scratch);
}

static json_t *tree_info(const void *model) {
  const tree_model *m = model;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "nodes", json_integer((json_int_t)m->trees.n_nodes));
  json_object_set_new(o, "leaves", json_integer((json_int_t)pp_cart_leaves(&m->trees, 0)));
  json_object_set_new(o, "depth", json_integer((json_int_t)pp_cart_depth(&m->trees, 0)));
  json_object_set_new(o, "rows", json_integer((json_int_t)m->s.rows));
  json_object_set_new(o, "criterion", json_string(pp_tree_criteria[m->s.criterion]));
  json_object_set_new(o, "max_features", json_integer((json_int_t)m->s.max_features));
  json_object_set_new(o, "class_weight", json_string(m->balanced ? "balanced" : "none"));
  return o;
}

const pp_member_ops pp_tree_ops = {
    .name = "decision_tree",
    .parse_params = tree_parse_params,
    .params_to_json = tree_params_to_json,
    .free_params = tree_free_params,
    .fit = tree_fit,
    .scratch_bytes = pp_member_no_scratch,
    .predict = tree_predict,
    .save = tree_save,
    .load = tree_load,
    .free_model = tree_free_model,
    .importance = tree_importance,
    .info = tree_info,
    .contrib_space = PP_SPACE_PROB,
    .contrib_scratch = tree_contrib_scratch,
    .contrib = tree_contrib,
};
