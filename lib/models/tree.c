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

#define TREE_FORMAT_VERSION 1u
#define TREE_MAX_DEPTH 1000L
#define TREE_MAX_COUNT 1000000000L

enum { CW_FOLLOW = -1, CW_BALANCED = 0, CW_NONE = 1 };

static const char *const k_keys[] = {"criterion",    "max_depth", "min_samples_split", "min_samples_leaf",
                                     "max_features", "max_bins",  "class_weight",      NULL};
static const char *const k_criteria[] = {"gini", "entropy", NULL};
static const char *const k_mf[] = {"all", "sqrt", "log2", NULL}; /* indices = PP_CART_MF_* */
static const char *const k_cw[] = {"balanced", "none", NULL};

typedef struct tree_params {
  int criterion;
  long max_depth; /* 0 = unlimited */
  long min_samples_split;
  long min_samples_leaf;
  int mf_kind; /* PP_CART_MF_* */
  double mf_frac;
  long max_bins;
  int class_weight; /* CW_* */
} tree_params;

typedef struct tree_model {
  size_t d;
  int criterion;
  int balanced; /* class weights were "balanced" */
  int mf_kind;
  double mf_frac;
  size_t max_depth, min_samples_split, min_samples_leaf, max_features, max_bins;
  size_t rows;
  pp_cart_trees trees; /* exactly one tree */
} tree_model;

/* ---- parameters --------------------------------------------------------------------------- */

static int tree_parse_params(const json_t *obj, const char *path, void **out) {
  *out = NULL;
  if (!path) path = "";
  const char *dot = *path ? "." : "";
  PP_TRY(pp_json_check_keys(obj, path, k_keys));
  tree_params p;
  memset(&p, 0, sizeof p);
  PP_TRY(pp_json_enum(obj, path, "criterion", k_criteria, PP_CART_GINI, &p.criterion));
  PP_TRY(pp_json_int(obj, path, "max_depth", 0, TREE_MAX_DEPTH, 8, &p.max_depth));
  PP_TRY(pp_json_int(obj, path, "min_samples_split", 2, TREE_MAX_COUNT, 2, &p.min_samples_split));
  PP_TRY(pp_json_int(obj, path, "min_samples_leaf", 1, TREE_MAX_COUNT, 20, &p.min_samples_leaf));
  int is_num = 0, choice = PP_CART_MF_ALL;
  double frac = 1.0;
  PP_TRY(pp_json_num_or_enum(obj, path, "max_features", 0.0, 1.0, k_mf, &is_num, &frac, &choice));
  if (is_num && !(frac > 0))
    return pp_err(PROP_ERR_RECIPE, "%s%smax_features: must be \"all\", \"sqrt\", \"log2\" or a fraction in (0, 1], got %g",
                  path, dot, frac);
  p.mf_kind = is_num ? PP_CART_MF_FRACTION : choice;
  p.mf_frac = is_num ? frac : 1.0;
  PP_TRY(pp_json_int(obj, path, "max_bins", 2, (long)PP_CART_MAX_BINS, (long)PP_CART_DEFAULT_BINS, &p.max_bins));
  PP_TRY(pp_json_enum(obj, path, "class_weight", k_cw, CW_FOLLOW, &p.class_weight));
  tree_params *q = pp_malloc(sizeof *q);
  if (!q) return PROP_ERR_NOMEM;
  *q = p;
  *out = q;
  return 0;
}

static json_t *mf_json(int kind, double frac) {
  return kind == PP_CART_MF_FRACTION ? json_real(frac) : json_string(k_mf[kind]);
}

static json_t *tree_params_to_json(const void *params) {
  const tree_params *p = params;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "criterion", json_string(k_criteria[p->criterion]));
  json_object_set_new(o, "max_depth", json_integer(p->max_depth));
  json_object_set_new(o, "min_samples_split", json_integer(p->min_samples_split));
  json_object_set_new(o, "min_samples_leaf", json_integer(p->min_samples_leaf));
  json_object_set_new(o, "max_features", mf_json(p->mf_kind, p->mf_frac));
  json_object_set_new(o, "max_bins", json_integer(p->max_bins));
  json_object_set_new(o, "class_weight",
                      p->class_weight == CW_FOLLOW ? json_null() : json_string(k_cw[p->class_weight]));
  return o;
}

static void tree_free_params(void *params) { free(params); }

/* ---- fit ---------------------------------------------------------------------------------------- */

static void tree_model_free(tree_model *m) {
  if (!m) return;
  pp_cart_trees_free(&m->trees);
  free(m);
}

static int tree_fit(const void *params, const pp_dataset *train, const pp_dataset *valid, const pp_ctx *ctx,
                    void **model) {
  (void)valid;
  *model = NULL;
  const tree_params *p = params;
  tree_params dflt;
  if (!p) {
    void *q = NULL;
    PP_TRY(tree_parse_params(NULL, "", &q));
    dflt = *(tree_params *)q;
    free(q);
    p = &dflt;
  }
  if (!train || !train->X || !train->y || train->n == 0 || train->d == 0)
    return pp_err(PROP_ERR_ARG, "decision_tree: no training data");
  const size_t n = train->n, d = train->d;
  size_t npos = 0;
  for (size_t i = 0; i < n; i++) {
    float yi = train->y[i];
    if (!(yi == 0.0f || yi == 1.0f))
      return pp_err(PROP_ERR_VALUE, "decision_tree: label of row %zu must be 0 or 1, got %g", i, (double)yi);
    npos += yi == 1.0f;
  }
  if (npos == 0 || npos == n)
    return pp_err(PROP_ERR_TRAIN, "decision_tree: the training rows hold only one class (%zu positives of %zu)", npos,
                  n);
  int cw = p->class_weight;
  if (cw == CW_FOLLOW) cw = train->imbalance == PP_IMB_WEIGHTS ? CW_BALANCED : CW_NONE;
  double wneg = 1.0, wpos = 1.0;
  if (cw == CW_BALANCED) { /* n / (2 n_c) as pp_balanced_weights */
    wpos = (double)n / (2.0 * (double)npos);
    wneg = (double)n / (2.0 * (double)(n - npos));
  }
  const int nthread = ctx && ctx->nthread > 0 ? ctx->nthread : 1;
  PP_TRY(pp_progress(ctx, "fit:decision_tree", 0, 1));

  double *rw = NULL;
  if (train->w || cw == CW_BALANCED) {
    rw = pp_malloc_array(n, sizeof *rw);
    if (!rw) return PROP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
      double sw = train->w ? (double)train->w[i] : 1.0;
      if (!(sw > 0) || !isfinite(sw)) {
        free(rw);
        return pp_err(PROP_ERR_VALUE, "decision_tree: sample weight of row %zu must be > 0, got %g", i, sw);
      }
      rw[i] = sw * (train->y[i] == 1.0f ? wpos : wneg);
    }
  }

  tree_model *m = pp_calloc(1, sizeof *m);
  pp_cart_bins bins;
  memset(&bins, 0, sizeof bins);
  pp_cart_work *work = NULL;
  int rc = 0;
  if (!m) rc = PROP_ERR_NOMEM;
  if (!rc) {
    pp_cart_trees_init(&m->trees, d);
    m->d = d;
    m->criterion = p->criterion;
    m->balanced = cw == CW_BALANCED;
    m->mf_kind = p->mf_kind;
    m->mf_frac = p->mf_frac;
    m->max_depth = (size_t)p->max_depth;
    m->min_samples_split = (size_t)p->min_samples_split;
    m->min_samples_leaf = (size_t)p->min_samples_leaf;
    m->max_features = pp_cart_max_features(p->mf_kind, p->mf_frac, d);
    m->max_bins = (size_t)p->max_bins;
    m->rows = n;
    rc = pp_cart_bins_build(train->X, n, d, m->max_bins, nthread, &bins);
  }
  if (!rc) rc = pp_cart_work_create(&bins, &work);
  if (!rc) {
    pp_cart_params cp = {p->criterion, m->max_depth, m->min_samples_split, m->min_samples_leaf, m->max_features};
    pp_rng rng;
    pp_rng_seed(&rng, ctx ? ctx->seed : 0);
    rc = pp_cart_grow(&bins, train->y, rw, NULL, &cp, &rng, work, &m->trees);
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

static size_t tree_scratch_bytes(const void *model, size_t n) {
  (void)model;
  (void)n;
  return 0;
}

static int tree_predict(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread) {
  (void)scratch;
  const tree_model *m = model;
  if (!m || (n && (!X || !out))) return pp_err(PROP_ERR_ARG, "decision_tree predict: NULL argument");
  pp_cart_predict(&m->trees, X, n, out, nthread);
  return 0;
}

/* ---- save / load -------------------------------------------------------------------------------- */

static int tree_save(const void *model, pp_buf *b) {
  const tree_model *m = model;
  pp_put_u32(b, TREE_FORMAT_VERSION);
  pp_put_u64(b, m->d);
  pp_put_u8(b, (uint8_t)m->criterion);
  pp_put_u8(b, (uint8_t)m->balanced);
  pp_put_u8(b, (uint8_t)m->mf_kind);
  pp_put_f64(b, m->mf_frac);
  pp_put_u64(b, m->max_depth);
  pp_put_u64(b, m->min_samples_split);
  pp_put_u64(b, m->min_samples_leaf);
  pp_put_u64(b, m->max_features);
  pp_put_u64(b, m->max_bins);
  pp_put_u64(b, m->rows);
  pp_cart_save(&m->trees, b);
  return pp_buf_status(b);
}

static int tree_load(pp_rd *in, size_t d, void **out) {
  *out = NULL;
  const char *what = in->what ? in->what : "decision_tree";
  uint32_t ver;
  uint64_t dd, depth, mss, msl, mf, bins, rows;
  uint8_t crit, bal, kind;
  double frac;
  PP_TRY(pp_get_u32(in, &ver));
  if (ver == 0) return pp_err(PROP_ERR_CORRUPT, "%s: invalid decision_tree payload version 0", what);
  if (ver > TREE_FORMAT_VERSION)
    return pp_err(PROP_ERR_VERSION, "%s: decision_tree payload version %u is newer than this library (%u)", what, ver,
                  TREE_FORMAT_VERSION);
  PP_TRY(pp_get_u64(in, &dd));
  if (dd != d || d == 0)
    return pp_err(PROP_ERR_CORRUPT, "%s: decision_tree has %llu inputs, the encoder gives %zu", what,
                  (unsigned long long)dd, d);
  PP_TRY(pp_get_u8(in, &crit));
  PP_TRY(pp_get_u8(in, &bal));
  PP_TRY(pp_get_u8(in, &kind));
  PP_TRY(pp_get_f64(in, &frac));
  PP_TRY(pp_get_u64(in, &depth));
  PP_TRY(pp_get_u64(in, &mss));
  PP_TRY(pp_get_u64(in, &msl));
  PP_TRY(pp_get_u64(in, &mf));
  PP_TRY(pp_get_u64(in, &bins));
  PP_TRY(pp_get_u64(in, &rows));
  if (crit > PP_CART_ENTROPY || bal > 1 || kind > PP_CART_MF_FRACTION || !(frac > 0 && frac <= 1) ||
      depth > (uint64_t)TREE_MAX_DEPTH || mss < 2 || mss > (uint64_t)TREE_MAX_COUNT || msl < 1 ||
      msl > (uint64_t)TREE_MAX_COUNT || mf < 1 || mf > d || bins < 2 || bins > PP_CART_MAX_BINS || rows == 0)
    return pp_err(PROP_ERR_CORRUPT, "%s: decision_tree parameters out of range", what);
  tree_model *m = pp_calloc(1, sizeof *m);
  if (!m) return PROP_ERR_NOMEM;
  m->d = d;
  m->criterion = crit;
  m->balanced = bal;
  m->mf_kind = kind;
  m->mf_frac = frac;
  m->max_depth = (size_t)depth;
  m->min_samples_split = (size_t)mss;
  m->min_samples_leaf = (size_t)msl;
  m->max_features = (size_t)mf;
  m->max_bins = (size_t)bins;
  m->rows = (size_t)rows;
  int rc = pp_cart_load(in, d, 1, &m->trees);
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

static json_t *tree_info(const void *model) {
  const tree_model *m = model;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "nodes", json_integer((json_int_t)m->trees.n_nodes));
  json_object_set_new(o, "leaves", json_integer((json_int_t)pp_cart_leaves(&m->trees, 0)));
  json_object_set_new(o, "depth", json_integer((json_int_t)pp_cart_depth(&m->trees, 0)));
  json_object_set_new(o, "rows", json_integer((json_int_t)m->rows));
  json_object_set_new(o, "criterion", json_string(k_criteria[m->criterion]));
  json_object_set_new(o, "max_features", json_integer((json_int_t)m->max_features));
  json_object_set_new(o, "class_weight", json_string(m->balanced ? "balanced" : "none"));
  return o;
}

const pp_member_ops pp_tree_ops = {
    .name = "decision_tree",
    .parse_params = tree_parse_params,
    .params_to_json = tree_params_to_json,
    .free_params = tree_free_params,
    .fit = tree_fit,
    .scratch_bytes = tree_scratch_bytes,
    .predict = tree_predict,
    .save = tree_save,
    .load = tree_load,
    .free_model = tree_free_model,
    .importance = tree_importance,
    .info = tree_info,
};
