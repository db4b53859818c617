/* The "xgboost" member: gradient-boosted trees through XGBoost's C API (Debian libxgboost 1.7),
 * tree_method hist, objective binary:logistic.  The only file of the library that includes
 * xgboost/c_api.h.
 *
 * fit:
 *  1. scale_pos_weight: given -> used as is; absent -> (sum of negative weights) / (sum of positive
 *     weights) when the recipe's imbalance is "weights" (neg / pos counts without sample weights),
 *     else 1.
 *  2. A DMatrix of the training rows (labels, sample weights) and, with early stopping, one of the
 *     validation rows; rounds of XGBoosterUpdateOneIter.  With early_stopping_rounds > 0 and a
 *     validation set, each round's validation log-loss (XGBoosterEvalOneIter, weighted when the
 *     validation rows have weights) is compared with the best so far; a strictly lower value is a
 *     new best; training stops after early_stopping_rounds rounds without one.
 *  3. The booster is sliced to the rounds 0..best_iteration (a new booster holding the trees only: the
 *     training state and the training DMatrix caches are released; the trees after the best iteration
 *     are gone, predict and importance see only the kept ones) and saved to XGBoost's JSON format;
 *     the bytes are checked and read for our walk as load does (model_from_blob), and the slice that
 *     wrote them is the model's booster.  Until 2026-12 the booster was re-created from the bytes, as
 *     load does; XGBoost writes its floats so that they read back exactly (load checks that the text
 *     it reads is the text it writes back), so a fitted and a loaded model hold the same trees and
 *     predict bit-for-bit alike (test_fit_auc_and_roundtrip), and the fit no longer pays for XGBoost
 *     parsing its own text (about 10 ms of credit_data's 0.15 s).
 *  4. A cross-validation fold's fit (ctx->transient: the model predicts its held-out rows once and
 *     is freed) skips step 3 and our walk: it keeps the live, sliced booster and predicts with
 *     XGBoosterPredictFromDense.  The same bits, since a kept model's walk is only used when it
 *     agrees with XGBoost and the JSON round trip is exact (test_transient_fit_same_bits); on small
 *     data it halves the fit (german_credit, 700 rows: 5 folds and the refit 0.41-0.55 -> 0.26-0.28 s).
 *     Such a model has no bytes to save and no importance; both calls say so.
 *
 * Model bytes (save/load): our header (format version, d, iterations, scale_pos_weight, ...) then
 * XGBoost's own model in its JSON text format ("format": "json").  JSON rather than UBJSON because
 * XGBoost 1.7's UBJSON reader does not check lengths against the buffer, while its JSON text reader
 * does.  Before XGBoost sees the bytes, load checks (xgb_json.c: jansson for the document, the trees'
 * per-node arrays of numbers read by its lexical pass) what XGBoost 1.7's loader and
 * predictor use without checking, as far as we know them from its source: the nesting depth, one
 * gbtree booster with binary:logistic, num_feature == d, num_trees == the trees and tree_info
 * arrays, tree ids, and in every tree the child indices (each node reached once from the root: no cycle, nothing out of
 * range), split features < d, and no categorical splits.  What XGBoost itself rejects comes back
 * as PROP_ERR_CORRUPT with XGBGetLastError()'s message.
 *
 * predict: when the model passed the checks of "our own walk of the trees" below (made when it is
 * built: fit or load), every call walks the same trees here, with XGBoost's arithmetic, bit-for-bit
 * alike: calls of fewer than XGB_NATIVE_MAX_ROWS rows row by row (XGBoost's fixed cost per call, ~12
 * us, dwarfs such walks), larger calls by blocks of 64 rows over the trees laid out as complete trees
 * (AVX-512 when the CPU has it, chosen at run time, else portable C), when the model's depth is at
 * most XGB_FULL_MAX_DEPTH.  Otherwise (a check failed, or deeper trees for a large call) XGBoost's
 * in-place dense prediction (XGBoosterPredictFromDense) predicts, as it always did.  Tests reach each
 * path through xgb_internal.h.
 *
 * Threads: XGBoost documents that calling only in-place prediction (XGBoosterPredictFromDense) from
 * many threads at once on one booster is safe and lock free; the result buffer it returns lives in
 * storage local to the calling thread and that booster, and we copy it into out[] at once.  After
 * fit/load the booster is configured (one warm-up prediction) and never touched by anything but
 * PredictFromDense until free: save hands out the cached JSON bytes and importance the cached
 * total gains.  So predict takes no mutex and uses no per-thread handles.  predict's nthread: the
 * booster's own nthread is 0, so XGBoost sizes its OpenMP team from the calling thread's
 * omp_get_max_threads(); predict, load and the end of fit (the checks' predictions: on the fit's own
 * nthread) set that (omp_set_num_threads, a per-thread setting, bounded by pp_threads) for the call
 * and restore it (1.7's predict configuration has no nthread
 * field).  Our block walk shares the
 * blocks among nthread OpenMP threads (0: omp_get_max_threads()); the tree layouts are read-only
 * after build and each thread has its own transposed block.
 *
 * Silence: every booster gets verbosity 0.  XGBoost 1.7 keeps its log callback per thread (a
 * message logged on a thread that did not register one goes to stderr), so each thread registers
 * our callback before its first XGBoost call (a thread-local flag makes that once per thread).  The
 * callback forwards to pp_log of the fit in progress on that thread (DEBUG level), else drops. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <xgboost/c_api.h>

#include "common/jsonx.h"
#include "models/member.h"
#include "models/xgb_internal.h"
#include "models/treeshap.h"
#include "models/xgb_json.h"
#include "models/xgb_walk.h"

#define XGB_FORMAT_VERSION 1u
#define XGB_BLOB_JSON 1u
#define XGB_MAX_ROUNDS 100000L
#define XGB_MAX_WIDTH ((size_t)1 << 24)

static const char *const k_keys[] = {"eta",       "max_depth", "rounds", "subsample",
                                     "colsample", "min_child_weight", "lambda", "gamma",
                                     "max_bin",   "scale_pos_weight", "early_stopping_rounds",
                                     "seed",      "nthread", NULL};

typedef struct xgb_params {
  double eta;
  long max_depth;
  long rounds;
  double subsample;
  double colsample;
  double min_child_weight;
  double lambda;
  double gamma;
  long max_bin;
  double scale_pos_weight; /* < 0: automatic */
  long early_stopping_rounds;
  long seed;    /* < 0: ctx->seed */
  long nthread; /* 0: ctx->nthread */
} xgb_params;

typedef struct xgb_model {
  BoosterHandle h;
  size_t d;
  uint32_t best_iteration; /* 0-based; the model keeps rounds 0..best_iteration */
  uint32_t rounds_boosted; /* rounds trained before stopping */
  uint32_t rounds_param;   /* rounds asked for */
  uint32_t es_rounds;      /* early_stopping_rounds asked for (0 = off) */
  double spw;              /* scale_pos_weight used */
  int spw_auto;            /* 1 when it was computed, not given */
  int early_stopped;       /* 1 when validation ended training before rounds_param */
  int used_valid;          /* 1 when a validation set was evaluated */
  double best_score;       /* validation log-loss at best_iteration (NaN without validation) */
  char *blob;              /* XGBoost's JSON model */
  size_t blob_len;
  double *imp; /* d total gains */
  struct xgb_native *nat;  /* our own walk of the same trees for few rows, or NULL */
  /* contributions: TreeSHAP of the margin on nat's trees (shap.ntrees 0 when there are none) */
  pp_treeshap shap;
  pp_cart_node *shap_node; /* nat's nodes in cart.h's layout */
  double *shap_value;      /* nat's leaf values */
} xgb_model;

/* ---- XGBoost plumbing ------------------------------------------------------------------------ */

static _Thread_local int tl_log_registered;
static _Thread_local const pp_ctx *tl_log_ctx;

static void xgb_log_cb(const char *msg) {
  if (tl_log_ctx && msg) pp_log(tl_log_ctx, PROP_LOG_DEBUG, "xgboost: %s", msg);
}

/* XGBoost's message without its stack trace, newlines folded, bounded. */
static void xgb_message(char *buf, size_t cap) {
  const char *m = XGBGetLastError();
  if (!m || !*m) m = "unknown error";
  size_t k = 0;
  for (const char *p = m; *p && k + 1 < cap; p++) {
    if (strncmp(p, "Stack trace:", 12) == 0) break;
    char c = *p;
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == ' ' && k > 0 && buf[k - 1] == ' ') continue;
    buf[k++] = c;
  }
  while (k > 0 && buf[k - 1] == ' ') k--;
  buf[k] = '\0';
}

/* XGBoost's C API catches every C++ exception at its boundary and returns -1 with the
 * exception's what(): an allocation that failed inside it reads "std::bad_alloc" (or, for an
 * impossible size, "std::bad_array_new_length").  That is memory running out, not a backend's
 * error (nor a corrupted model). */
static int out_of_memory(const char *msg) { return strstr(msg, "bad_alloc") || strstr(msg, "bad_array_new_length"); }

static int backend_err(const char *what) {
  char msg[640];
  xgb_message(msg, sizeof msg);
  return pp_err(out_of_memory(msg) ? PROP_ERR_NOMEM : PROP_ERR_BACKEND, "xgboost: %s: %s", what, msg);
}

/* Once per thread, before the thread's first XGBoost call. */
static int xgb_thread_init(void) {
  if (tl_log_registered) return 0;
  if (XGBRegisterLogCallback(xgb_log_cb) != 0) return backend_err("registering the log callback");
  tl_log_registered = 1;
  return 0;
}

/* __array_interface__ (version 3) of a row-major float32 matrix, read-only. */
static void array_interface(char *buf, size_t cap, const float *X, size_t n, size_t d) {
  snprintf(buf, cap, "{\"data\":[%ju,true],\"shape\":[%zu,%zu],\"strides\":null,\"typestr\":\"<f4\",\"version\":3}",
           (uintmax_t)(uintptr_t)X, n, d);
}

static int dmatrix_from(const float *X, size_t n, size_t d, const float *y, const float *w, int nthread,
                        DMatrixHandle *out) {
  *out = NULL;
  char ai[256], cfg[64];
  array_interface(ai, sizeof ai, X, n, d);
  snprintf(cfg, sizeof cfg, "{\"missing\":NaN,\"nthread\":%d}", nthread);
  DMatrixHandle m = NULL;
  if (XGDMatrixCreateFromDense(ai, cfg, &m) != 0) return backend_err("creating the DMatrix");
  if (XGDMatrixSetFloatInfo(m, "label", y, (bst_ulong)n) != 0 ||
      (w && XGDMatrixSetFloatInfo(m, "weight", w, (bst_ulong)n) != 0)) {
    int rc = backend_err("setting labels and weights");
    XGDMatrixFree(m);
    return rc;
  }
  *out = m;
  return 0;
}

static int set_param(BoosterHandle h, const char *name, const char *value) {
  if (XGBoosterSetParam(h, name, value) != 0) {
    char what[96];
    snprintf(what, sizeof what, "setting parameter %s=%s", name, value);
    return backend_err(what);
  }
  return 0;
}

static int set_param_f(BoosterHandle h, const char *name, double v) {
  char s[40];
  pp_snprintf_c(s, sizeof s, "%.17g", v); /* XGBoost reads "0.05", whatever the host's locale */
  return set_param(h, name, s);
}

static int set_param_l(BoosterHandle h, const char *name, long v) {
  char s[24];
  snprintf(s, sizeof s, "%ld", v);
  return set_param(h, name, s);
}

/* ---- parameters ------------------------------------------------------------------------------ */

static int positive(const char *path, const char *key, double v) {
  if (v > 0) return 0;
  return pp_err(PROP_ERR_RECIPE, "%s%s%s: must be > 0, got %s", path, *path ? "." : "", key, PP_G(v));
}

static int xgb_parse_params(const json_t *obj, const char *path, void **out) {
  *out = NULL;
  if (!path) path = "";
  PP_TRY(pp_json_check_keys(obj, path, k_keys));
  xgb_params p;
  memset(&p, 0, sizeof p);
  PP_TRY(pp_json_double(obj, path, "eta", 0.0, 1.0, 0.1, &p.eta));
  PP_TRY(positive(path, "eta", p.eta));
  PP_TRY(pp_json_int(obj, path, "max_depth", 1, 64, 6, &p.max_depth));
  PP_TRY(pp_json_int(obj, path, "rounds", 1, XGB_MAX_ROUNDS, 300, &p.rounds));
  PP_TRY(pp_json_double(obj, path, "subsample", 0.0, 1.0, 0.8, &p.subsample));
  PP_TRY(positive(path, "subsample", p.subsample));
  PP_TRY(pp_json_double(obj, path, "colsample", 0.0, 1.0, 0.8, &p.colsample));
  PP_TRY(positive(path, "colsample", p.colsample));
  PP_TRY(pp_json_double(obj, path, "min_child_weight", 0.0, 1e9, 1.0, &p.min_child_weight));
  PP_TRY(pp_json_double(obj, path, "lambda", 0.0, 1e9, 1.0, &p.lambda));
  PP_TRY(pp_json_double(obj, path, "gamma", 0.0, 1e9, 0.0, &p.gamma));
  PP_TRY(pp_json_int(obj, path, "max_bin", 2, 65536, 256, &p.max_bin));
  PP_TRY(pp_json_double(obj, path, "scale_pos_weight", 0.0, 1e9, -1.0, &p.scale_pos_weight));
  if (p.scale_pos_weight >= 0) PP_TRY(positive(path, "scale_pos_weight", p.scale_pos_weight));
  PP_TRY(pp_json_int(obj, path, "early_stopping_rounds", 0, XGB_MAX_ROUNDS, 0, &p.early_stopping_rounds));
  PP_TRY(pp_json_int(obj, path, "seed", 0, 2147483647L, -1, &p.seed));
  PP_TRY(pp_json_int(obj, path, "nthread", 0, 1024, 0, &p.nthread));
  xgb_params *q = pp_malloc(sizeof *q);
  if (!q) return PROP_ERR_NOMEM;
  *q = p;
  *out = q;
  return 0;
}

static json_t *xgb_params_to_json(const void *params) {
  const xgb_params *p = params;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "eta", json_real(p->eta));
  json_object_set_new(o, "max_depth", json_integer(p->max_depth));
  json_object_set_new(o, "rounds", json_integer(p->rounds));
  json_object_set_new(o, "subsample", json_real(p->subsample));
  json_object_set_new(o, "colsample", json_real(p->colsample));
  json_object_set_new(o, "min_child_weight", json_real(p->min_child_weight));
  json_object_set_new(o, "lambda", json_real(p->lambda));
  json_object_set_new(o, "gamma", json_real(p->gamma));
  json_object_set_new(o, "max_bin", json_integer(p->max_bin));
  json_object_set_new(o, "scale_pos_weight", p->scale_pos_weight < 0 ? json_null() : json_real(p->scale_pos_weight));
  json_object_set_new(o, "early_stopping_rounds", json_integer(p->early_stopping_rounds));
  json_object_set_new(o, "seed", p->seed < 0 ? json_null() : json_integer(p->seed));
  json_object_set_new(o, "nthread", json_integer(p->nthread));
  return o;
}

static void xgb_free_params(void *params) { free(params); }

/* ---- the model ------------------------------------------------------------------------------- */

static void xgb_free_model(void *model) {
  xgb_model *m = model;
  if (!m) return;
  pp_treeshap_free(&m->shap);
  free(m->shap_node);
  free(m->shap_value);
  pp_xgb_walk_free(m->nat);
  if (m->h) XGBoosterFree(m->h);
  free(m->blob);
  free(m->imp);
  free(m);
}

/* Fixed predict configuration: values (type 0), every tree of the (sliced) model, NaN = missing. */
static const char k_predict_cfg[] = "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
                                    "\"strict_shape\":false,\"cache_id\":0,\"missing\":NaN}";

/* PredictFromDense of n rows into out[n]; copies XGBoost's thread-local buffer at once. */
static int predict_raw(BoosterHandle h, const float *X, size_t n, size_t d, double *out) {
  char ai[256];
  array_interface(ai, sizeof ai, X, n, d);
  const bst_ulong *shape = NULL;
  bst_ulong dim = 0;
  const float *res = NULL;
  if (XGBoosterPredictFromDense(h, ai, k_predict_cfg, NULL, &shape, &dim, &res) != 0)
    return backend_err("in-place prediction");
  size_t total = 1;
  for (bst_ulong k = 0; k < dim; k++) total *= (size_t)shape[k];
  if (dim < 1 || dim > 2 || total != n || (size_t)shape[0] != n || !res)
    return pp_err(PROP_ERR_BACKEND, "xgboost: in-place prediction gave %zu values for %zu rows", total, n);
  for (size_t i = 0; i < n; i++) out[i] = (double)res[i];
  return 0;
}

/* ---- our own walk of the trees (the walks: xgb_walk.c) ---------------------------------------- *
 *
 * XGBoosterPredictFromDense costs about 12 us per call whatever the row count (it parses two JSON
 * texts, builds a proxy DMatrix, ...), several times the walk of 300 depth-4 trees, and its walk of
 * many rows is one row and one node at a time.  predict walks the trees itself (fewer than
 * XGB_NATIVE_MAX_ROWS rows: pp_xgb_walk_rows; more: pp_xgb_walk_batch over the complete-tree
 * layout; both in xgb_walk.c), with XGBoost's arithmetic, so that a row gets bit-for-bit the probability XGBoost gives it:
 *  - a split sends x < split_condition left, x >= right, and a missing value (NaN; only looked at
 *    when the row has one) to the default child; a node is a leaf when its left child is -1;
 *  - the margin is the float sum of the leaves in tree order (the base margin, logit(0.5) = 0, adds
 *    nothing), and the probability the float 1 / (1 + expf(-margin)), as binary:logistic does.
 * The trees come from the JSON document model_from_blob has already parsed and checked (xgb_json.c).  The path is
 * used only when every check below passes (otherwise XGBoost predicts every call, as before):
 *  - base_score is exactly 0.5, no NaN / Infinity token was in the text;
 *  - every split condition and leaf value converts from the JSON number's double to the float XGBoost
 *    holds without double rounding (the double is not within one double ulp of a float midpoint),
 *    and XGBoost writes the loaded model back to exactly the same text (so the floats it holds are
 *    the ones the text denotes);
 *  - on XGB_NATIVE_PROBES probe rows built from the model's own thresholds (each value a threshold,
 *    the float just below or above it, or a normal draw; some rows with a missing value), the walk
 *    and XGBoost agree bit for bit, and so do the batch walks (portable and, where it runs, AVX-512)
 *    on all the probes and on row counts that leave partial vectors and blocks. */
#define XGB_NATIVE_MAX_ROWS 16
#define XGB_NATIVE_PROBES 256

/* The remaining checks on the booster itself: XGBoost writes back the very text it loaded (not asked of
 * the booster that wrote the text: written, a fitted model's blob is that booster's own text), and the
 * walk agrees with it on the probe rows.  0 and *ok, or an error from XGBoost or memory. */
static int native_agrees(const xgb_model *m, const xgb_native *nv, int wrote_blob, int *ok) {
  *ok = 0;
  bst_ulong len = 0;
  const char *bytes = NULL;
  if (!wrote_blob) {
    if (XGBoosterSaveModelToBuffer(m->h, "{\"format\":\"json\"}", &len, &bytes) != 0) return backend_err("saving the model");
    if ((size_t)len != m->blob_len || memcmp(bytes, m->blob, m->blob_len) != 0) return 0;
  }
  const size_t d = m->d, P = XGB_NATIVE_PROBES;
  float *X = pp_malloc_array(P, d * sizeof(float));
  double *a = pp_malloc_array(P, sizeof(double)), *b = pp_malloc_array(P, sizeof(double));
  int rc = (!X || !a || !b) ? PROP_ERR_NOMEM : 0;
  if (!rc) {
    pp_rng g;
    pp_rng_seed(&g, 0x6b8b4567u);
    size_t total = nv->start[nv->ntrees];
    for (size_t i = 0; i < P; i++) {
      float *x = X + i * d;
      for (size_t j = 0; j < d; j++) x[j] = (float)pp_rng_normal(&g);
      for (size_t k = 0; k < 2 * d; k++) { /* thresholds of random split nodes, exactly or one float off */
        const xgb_nnode *c = nv->node + pp_rng_below(&g, total);
        if (c->feature < 0) continue;
        uint64_t how = pp_rng_below(&g, 3);
        x[c->feature] = how == 0 ? c->value : nextafterf(c->value, how == 1 ? -INFINITY : INFINITY);
      }
      if (i % 8 == 7) x[pp_rng_below(&g, d)] = NAN;
    }
    rc = predict_raw(m->h, X, P, d, b);
    pp_xgb_walk_rows(nv, X, P, d, a);
    if (!rc) *ok = memcmp(a, b, P * sizeof *a) == 0;
    /* the batch walks too: partial vectors and blocks, then all probes (several blocks) */
    static const size_t k_counts[] = {1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, XGB_BLOCK, XGB_NATIVE_PROBES};
    if (!rc && *ok && nv->fword) {
      for (int simd = 0; simd <= nv->simd && *ok; simd++)
        for (size_t k = 0; k < sizeof k_counts / sizeof k_counts[0] && *ok; k++) {
          const size_t n = k_counts[k];
          rc = pp_xgb_walk_batch(nv, X + (P - n) * d, n, d, a, 1, simd);
          *ok = !rc && memcmp(a, b + (P - n), n * sizeof *a) == 0;
        }
    }
  }
  free(X);
  free(a);
  free(b);
  return rc;
}

/* ---- contributions ------------------------------------------------------------------------------ *
 *
 * TreeSHAP of the margin (treeshap.h) on the trees of our own walk, with XGBoost's covers (the nodes'
 * sum_hessian) and split rule (x < condition goes left, a missing value to the default child): the
 * values XGBoost's pred_contribs gives, without calling XGBoost.  The base is the covers' mean leaf
 * sum plus the base margin (0 for base_score 0.5, which the walk requires).  A model without our
 * walk (a check of "our own walk" failed, a cross-validation fold's model) or without covers in its
 * JSON has no contributions. */

/* Builds m->shap from m->nat when it has covers; otherwise leaves shap.ntrees 0.  Memory only. */
static int shap_build(xgb_model *m) {
  const xgb_native *nv = m->nat;
  memset(&m->shap, 0, sizeof m->shap);
  if (!nv || !nv->cover) return 0;
  const size_t total = nv->start[nv->ntrees];
  m->shap_node = pp_malloc_array(total ? total : 1, sizeof *m->shap_node);
  m->shap_value = pp_malloc_array(total ? total : 1, sizeof *m->shap_value);
  if (!m->shap_node || !m->shap_value) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < total; i++) {
    const xgb_nnode *c = nv->node + i;
    m->shap_node[i].feature = c->feature;
    m->shap_node[i].threshold = c->feature >= 0 ? c->value : 0.0f;
    m->shap_node[i].left = c->left;
    m->shap_node[i].right = c->right;
    m->shap_value[i] = (double)c->value;
  }
  /* the base margin of base_score 0.5 is 0: no offset */
  return pp_treeshap_init(&m->shap, m->d, nv->ntrees, nv->start, m->shap_node, nv->dleft, m->shap_value, nv->cover, 1,
                          1.0, "xgboost");
}

static size_t xgb_contrib_scratch(const void *model, size_t n) {
  return pp_treeshap_scratch(&((const xgb_model *)model)->shap, n);
}

static int xgb_contrib(const void *model, const float *X, size_t n, const uint32_t *group, size_t ngroups,
                       double *phi, double *base, void *scratch) {
  (void)group;
  (void)ngroups;
  const xgb_model *m = model;
  if (!m->shap.ntrees)
    return pp_err(PROP_ERR_STATE, "xgboost: this model has no contributions (they need the model's trees as our own "
                                  "walk reads them, with their covers; a cross-validation fold's model has none)");
  return pp_treeshap_contrib(&m->shap, X, n, phi, base, scratch);
}

int pp_xgb_backend_contribs(const void *model, const float *X, size_t n, double *out) {
  const xgb_model *m = model;
  PP_TRY(xgb_thread_init());
  char ai[256];
  array_interface(ai, sizeof ai, X, n, m->d);
  DMatrixHandle dm = NULL;
  if (XGDMatrixCreateFromDense(ai, "{\"missing\":NaN,\"nthread\":1}", &dm) != 0)
    return backend_err("creating the DMatrix");
  const bst_ulong *shape = NULL;
  bst_ulong dim = 0;
  const float *res = NULL;
  int rc = 0;
  if (XGBoosterPredictFromDMatrix(m->h, dm, "{\"type\":2,\"training\":false,\"iteration_begin\":0,"
                                            "\"iteration_end\":0,\"strict_shape\":false}",
                                  &shape, &dim, &res) != 0)
    rc = backend_err("contributions");
  else if (dim != 2 || shape[0] != n || shape[1] != m->d + 1)
    rc = pp_err(PROP_ERR_BACKEND, "xgboost: contributions of an unexpected shape");
  else
    for (size_t i = 0; i < n * (m->d + 1); i++) out[i] = (double)res[i];
  XGDMatrixFree(dm);
  return rc;
}

/* ---- model from XGBoost's JSON bytes (shared by fit and load) ----------------------------------- */

static int total_gain(xgb_model *m) {
  m->imp = pp_calloc(m->d, sizeof *m->imp);
  if (!m->imp) return PROP_ERR_NOMEM;
  bst_ulong nfeat = 0, dim = 0;
  const char **names = NULL;
  const bst_ulong *shape = NULL;
  const float *scores = NULL;
  if (XGBoosterFeatureScore(m->h, "{\"importance_type\":\"total_gain\"}", &nfeat, &names, &dim, &shape, &scores) != 0)
    return backend_err("feature scores");
  for (bst_ulong k = 0; k < nfeat; k++) {
    const char *s = names[k];
    size_t j = 0;
    int ok = s && s[0] == 'f' && s[1] >= '0' && s[1] <= '9';
    for (const char *p = s ? s + 1 : NULL; ok && *p; p++) {
      if (*p < '0' || *p > '9' || j > XGB_MAX_WIDTH) ok = 0;
      else j = j * 10 + (size_t)(*p - '0');
    }
    if (!ok || j >= m->d)
      return pp_err(PROP_ERR_BACKEND, "xgboost: feature score for an unknown feature \"%s\"", s ? s : "(null)");
    m->imp[j] += (double)scores[k];
  }
  /* gains come from the file's loss_changes, which XGBoost does not check */
  for (size_t j = 0; j < m->d; j++)
    if (!isfinite(m->imp[j]) || m->imp[j] < 0)
      return pp_err(PROP_ERR_CORRUPT, "xgboost: the total gain of feature %zu is %g; the model's loss_changes are damaged",
                    j, m->imp[j]);
  return 0;
}

/* XGBoost sizes the OpenMP teams of a booster whose nthread is 0 (loading the model, predicting) from
 * this thread's omp_get_max_threads(): bound_threads sets that to pp_threads(nthread, or the
 * setting's own value when 0) for the calls (pp_threads has started that many: an OpenMP runtime
 * ends the process when it cannot start a thread), and returns the setting to put back. */
static int bound_threads(int nthread) {
#ifdef _OPENMP
  int saved = omp_get_max_threads(), want = pp_threads(nthread > 0 ? nthread : saved);
  if (want != saved) omp_set_num_threads(want);
  return saved;
#else
  (void)nthread;
  return 0;
#endif
}

static void restore_threads(int saved) {
#ifdef _OPENMP
  if (omp_get_max_threads() != saved) omp_set_num_threads(saved);
#else
  (void)saved;
#endif
}

static int model_from_blob_bounded(char *blob, size_t len, size_t d, uint32_t kept, BoosterHandle live,
                                   xgb_model **out, const char *what);

/* Takes ownership of blob (and of live, when not NULL).  Validates the blob, loads it into a new booster (or,
 * at fit, takes the live booster that wrote it: the same trees, without XGBoost parsing the text again),
 * checks the booster against d and kept rounds, configures it with one warm-up prediction and caches the
 * importances; on XGBoost's thread count bounded (bound_threads: the fit's nthread, 0 at load).  At fit the
 * bound is the fit's own: a fit asked for one thread has XGBoost predict its probe rows on one thread too,
 * not on a team of every processor whose idle threads spin between the calls (credit_data, 1 thread: ~28
 * ms of the fit's process CPU time). */
static int model_from_blob(char *blob, size_t len, size_t d, uint32_t kept, BoosterHandle live, int nthread,
                           xgb_model **out, const char *what) {
  int saved = bound_threads(nthread);
  int rc = model_from_blob_bounded(blob, len, d, kept, live, out, what);
  restore_threads(saved);
  return rc;
}

static int model_from_blob_bounded(char *blob, size_t len, size_t d, uint32_t kept, BoosterHandle live,
                                   xgb_model **out, const char *what) {
  *out = NULL;
  xgb_model *m = pp_calloc(1, sizeof *m);
  if (!m) {
    free(blob);
    if (live) XGBoosterFree(live);
    return PROP_ERR_NOMEM;
  }
  m->h = live;
  m->blob = blob;
  m->blob_len = len;
  m->d = d;
  size_t ntrees = 0;
  xgb_native *nv = NULL; /* our walk of the trees, kept once native_agrees() below says so */
  int rc = pp_xgb_read_json(blob, len, d, 0, &ntrees, &nv, what);
  if (!rc && nv) rc = pp_xgb_walk_layout(nv, d);
  if (!rc && ntrees != kept)
    rc = pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model has %zu trees, the header says %u rounds", what, ntrees, kept);
  if (!rc && !live && XGBoosterCreate(NULL, 0, &m->h) != 0) rc = backend_err("creating a booster");
  if (!rc && !live && XGBoosterLoadModelFromBuffer(m->h, blob, (bst_ulong)len) != 0) {
    char msg[640];
    xgb_message(msg, sizeof msg);
    rc = out_of_memory(msg) ? pp_err(PROP_ERR_NOMEM, "%s: XGBoost ran out of memory loading the model: %s", what, msg)
                            : pp_err(PROP_ERR_CORRUPT, "%s: XGBoost rejected the model: %s", what, msg);
  }
  /* nthread 0: XGBoost follows the calling thread's OpenMP setting, which predict sets */
  if (!rc) rc = set_param(m->h, "verbosity", "0");
  if (!rc) rc = set_param(m->h, "nthread", "0");
  if (!rc) {
    bst_ulong nf = 0;
    int rounds = 0;
    if (XGBoosterGetNumFeature(m->h, &nf) != 0) rc = backend_err("reading the feature count");
    else if ((size_t)nf != d)
      rc = pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model has %llu features, the encoder gives %zu", what,
                  (unsigned long long)nf, d);
    else if (XGBoosterBoostedRounds(m->h, &rounds) != 0) rc = backend_err("reading the boosted rounds");
    else if (rounds < 0 || (uint32_t)rounds != kept)
      rc = pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model has %d rounds, the header says %u", what, rounds, kept);
  }
  if (!rc) {
    /* warm-up: XGBoost configures the booster on its first prediction; do it here, on one thread */
    float *zero = pp_calloc(d, sizeof(float));
    double p;
    if (!zero) rc = PROP_ERR_NOMEM;
    else rc = predict_raw(m->h, zero, 1, d, &p);
    free(zero);
  }
  if (!rc) rc = total_gain(m);
  if (!rc && nv) {
    int ok = 0;
    rc = native_agrees(m, nv, live != NULL, &ok);
    if (!rc && ok) {
      m->nat = nv;
      nv = NULL;
    }
  }
  if (!rc) rc = shap_build(m);
  pp_xgb_walk_free(nv);
  if (rc) {
    xgb_free_model(m);
    return rc;
  }
  *out = m;
  return 0;
}

/* ---- fit ------------------------------------------------------------------------------------- */

/* The model of a trained booster h (taken: kept by the model or freed) that keeps rounds 0..kept - 1 of the
 * boosted ones.  A kept model's booster is a slice even when it keeps every round: a new booster with the
 * trees only, without the training state (gradients, histograms, the caches of the training rows); its
 * JSON is checked and read for our walk as load does (model_from_blob), which keeps the slice.  A fold's
 * model (transient) predicts its held-out rows once: it keeps the live booster (sliced after early
 * stopping) and predicts with XGBoost itself, without the JSON, our walk and its checks (about half the
 * fit on small data).  The bits are the same: a kept model's walk is only used when it agrees with
 * XGBoost's predict, and XGBoost's JSON reads back exactly (checked when a model is loaded). */
static int model_from_booster(BoosterHandle h, size_t d, uint32_t kept, uint32_t boosted, int transient, int nthread,
                              xgb_model **out) {
  *out = NULL;
  BoosterHandle hs = NULL;
  int rc = 0;
  if ((kept < boosted || !transient) && XGBoosterSlice(h, 0, (int)kept, 1, &hs) != 0)
    rc = backend_err("keeping the rounds up to the best iteration");
  if (!rc && transient) {
    xgb_model *m = pp_calloc(1, sizeof *m);
    if (!m) {
      rc = PROP_ERR_NOMEM;
    } else {
      BoosterHandle *live = hs ? &hs : &h; /* the sliced booster when there is one */
      m->d = d;
      m->h = *live;
      *live = NULL;
      rc = set_param(m->h, "nthread", "0"); /* as a loaded booster: predict sets the threads */
      if (rc) xgb_free_model(m);
      else *out = m;
    }
  } else if (!rc) {
    bst_ulong blen = 0;
    const char *bytes = NULL;
    char *blob = NULL;
    if (XGBoosterSaveModelToBuffer(hs, "{\"format\":\"json\"}", &blen, &bytes) != 0) rc = backend_err("saving the model");
    else if (!(blob = pp_malloc(blen ? (size_t)blen : 1))) rc = PROP_ERR_NOMEM;
    if (!rc) {
      memcpy(blob, bytes, (size_t)blen);
      XGBoosterFree(h); /* before the checks: only the slice is needed now */
      h = NULL;
      rc = model_from_blob(blob, (size_t)blen, d, kept, hs, nthread, out, "xgboost fit"); /* takes blob and hs */
      hs = NULL;
      if (rc == PROP_ERR_CORRUPT) rc = pp_err_prefix(PROP_ERR_BACKEND, "xgboost: the trained model does not check: ");
    }
  }
  if (hs) XGBoosterFree(hs);
  if (h) XGBoosterFree(h);
  return rc;
}

/* The value after "valid-logloss:" in XGBoosterEvalOneIter's text. */
static int parse_eval(const char *s, double *v) {
  const char *k = s ? strstr(s, "valid-logloss:") : NULL;
  if (!k) return -1;
  char *end = NULL;
  *v = pp_strtod_c(k + 14, &end);
  return end == k + 14 || isnan(*v) ? -1 : 0;
}

static int check_rows(const pp_dataset *ds, const char *which, double *sw_neg, double *sw_pos,
                      size_t *npos) {
  *sw_neg = *sw_pos = 0;
  *npos = 0;
  for (size_t i = 0; i < ds->n; i++) {
    float y = ds->y[i];
    if (y != 0.0f && y != 1.0f)
      return pp_err(PROP_ERR_VALUE, "xgboost: %s label of row %zu must be 0 or 1, got %g", which, i, (double)y);
    double w = ds->w ? (double)ds->w[i] : 1.0;
    if (!(w > 0) || !isfinite(w))
      return pp_err(PROP_ERR_VALUE, "xgboost: %s sample weight of row %zu must be > 0, got %g", which, i, w);
    if (y == 1.0f) {
      *sw_pos += w;
      (*npos)++;
    } else {
      *sw_neg += w;
    }
  }
  return 0;
}

static int xgb_fit(const void *params, const pp_dataset *train, const pp_dataset *valid, const pp_ctx *ctx,
                   void **model) {
  *model = NULL;
  xgb_params dflt;
  const xgb_params *p = params;
  if (!p) {
    void *q = NULL;
    PP_TRY(xgb_parse_params(NULL, "", &q));
    dflt = *(xgb_params *)q;
    free(q);
    p = &dflt;
  }
  if (!train || !train->X || !train->y || train->d == 0 || train->n == 0)
    return pp_err(PROP_ERR_ARG, "xgboost: no training data");
  const size_t n = train->n, d = train->d;
  if (d > XGB_MAX_WIDTH) return pp_err(PROP_ERR_ARG, "xgboost: %zu columns is too many", d);
  double swn, swp;
  size_t npos;
  PP_TRY(check_rows(train, "training", &swn, &swp, &npos));
  if (npos == 0 || npos == n)
    return pp_err(PROP_ERR_TRAIN, "xgboost: the training rows hold only one class (%zu positives of %zu)", npos, n);
  int use_valid = p->early_stopping_rounds > 0 && valid && valid->n > 0;
  if (use_valid) {
    if (!valid->X || !valid->y || valid->d != d)
      return pp_err(PROP_ERR_ARG, "xgboost: the validation set has %zu columns, the training set %zu", valid->d, d);
    double a, b;
    size_t c;
    PP_TRY(check_rows(valid, "validation", &a, &b, &c));
  } else if (p->early_stopping_rounds > 0) {
    pp_log(ctx, PROP_LOG_WARN,
           "xgboost: early_stopping_rounds is set but there is no validation set (validation_fraction); "
           "training all %ld rounds",
           p->rounds);
  }
  double spw = p->scale_pos_weight;
  int spw_auto = spw < 0;
  if (spw_auto) spw = train->imbalance == PP_IMB_WEIGHTS ? swn / swp : 1.0;
  int nthread = pp_threads(p->nthread > 0 ? (int)p->nthread : (ctx && ctx->nthread > 0 ? ctx->nthread : 1));
  long seed = p->seed >= 0 ? p->seed : (long)((ctx ? ctx->seed : 0) & 0x7fffffffu);

  PP_TRY(xgb_thread_init());
  const pp_ctx *saved_ctx = tl_log_ctx;
  tl_log_ctx = ctx;
  DMatrixHandle dtrain = NULL, dvalid = NULL;
  BoosterHandle h = NULL;
  int rc = dmatrix_from(train->X, n, d, train->y, train->w, nthread, &dtrain);
  if (!rc && use_valid) rc = dmatrix_from(valid->X, valid->n, d, valid->y, valid->w, nthread, &dvalid);
  if (!rc) {
    DMatrixHandle cache[2] = {dtrain, dvalid};
    if (XGBoosterCreate(cache, use_valid ? 2 : 1, &h) != 0) rc = backend_err("creating the booster");
  }
  if (!rc) rc = set_param(h, "verbosity", "0");
  if (!rc) rc = set_param(h, "booster", "gbtree");
  if (!rc) rc = set_param(h, "tree_method", "hist");
  if (!rc) rc = set_param(h, "objective", "binary:logistic");
  if (!rc) rc = set_param(h, "eval_metric", "logloss");
  if (!rc) rc = set_param_f(h, "eta", p->eta);
  if (!rc) rc = set_param_l(h, "max_depth", p->max_depth);
  if (!rc) rc = set_param_f(h, "subsample", p->subsample);
  if (!rc) rc = set_param_f(h, "colsample_bytree", p->colsample);
  if (!rc) rc = set_param_f(h, "min_child_weight", p->min_child_weight);
  if (!rc) rc = set_param_f(h, "lambda", p->lambda);
  if (!rc) rc = set_param_f(h, "gamma", p->gamma);
  if (!rc) rc = set_param_l(h, "max_bin", p->max_bin);
  if (!rc) rc = set_param_f(h, "scale_pos_weight", spw);
  if (!rc) rc = set_param_l(h, "seed", seed);
  if (!rc) rc = set_param_l(h, "nthread", nthread);

  uint32_t boosted = 0, best = 0;
  double best_score = NAN;
  const uint32_t rounds = (uint32_t)p->rounds, esr = (uint32_t)p->early_stopping_rounds;
  int stopped = 0;
  if (!rc) rc = pp_progress(ctx, "fit:xgboost", 0, rounds);
  for (uint32_t it = 0; !rc && it < rounds; it++) {
    if (XGBoosterUpdateOneIter(h, (int)it, dtrain) != 0) {
      rc = backend_err("boosting a round");
      break;
    }
    boosted = it + 1;
    if (use_valid) {
      const char *names[1] = {"valid"};
      const char *res = NULL;
      double v;
      DMatrixHandle ev[1] = {dvalid};
      if (XGBoosterEvalOneIter(h, (int)it, ev, names, 1, &res) != 0) {
        rc = backend_err("evaluating the validation set");
        break;
      }
      if (parse_eval(res, &v) != 0) {
        rc = pp_err(PROP_ERR_BACKEND, "xgboost: cannot read the validation log-loss from \"%.80s\"", res ? res : "");
        break;
      }
      if (it == 0 || v < best_score) {
        best_score = v;
        best = it;
      } else if (it - best >= esr) {
        stopped = 1;
      }
    } else {
      best = it;
    }
    rc = pp_progress(ctx, "fit:xgboost", boosted, rounds);
    if (stopped) break;
  }
  const uint32_t kept = best + 1;
  if (dtrain) XGDMatrixFree(dtrain); /* the booster does not need them any more */
  if (dvalid) XGDMatrixFree(dvalid);
  xgb_model *m = NULL;
  if (!rc) {
    rc = model_from_booster(h, d, kept, boosted, ctx && ctx->transient, nthread, &m);
    h = NULL;
  }
  if (h) XGBoosterFree(h);
  tl_log_ctx = saved_ctx;
  if (rc) return rc;
  m->best_iteration = best;
  m->rounds_boosted = boosted;
  m->rounds_param = rounds;
  m->es_rounds = esr;
  m->spw = spw;
  m->spw_auto = spw_auto;
  m->early_stopped = stopped;
  m->used_valid = use_valid;
  m->best_score = use_valid ? best_score : NAN;
  if (use_valid)
    pp_log(ctx, PROP_LOG_DEBUG, "xgboost: best iteration %u of %u boosted (validation log-loss %.6g)%s", best, boosted,
           best_score, stopped ? ", stopped early" : "");
  *model = m;
  return 0;
}

/* ---- predict --------------------------------------------------------------------------------- */

static size_t xgb_scratch_bytes(const void *model, size_t n) {
  (void)model;
  (void)n;
  return 0; /* XGBoost allocates its own (thread-local) output buffer */
}

unsigned pp_xgb_paths(const void *model) {
  const xgb_model *m = model;
  unsigned p = 1u << PP_XGB_PATH_BACKEND;
  if (m && m->nat) {
    p |= 1u << PP_XGB_PATH_ROWS;
    if (m->nat->fword) p |= 1u << PP_XGB_PATH_SCALAR;
    if (m->nat->fword && m->nat->simd) p |= 1u << PP_XGB_PATH_SIMD;
  }
  return p;
}

int pp_xgb_predict_path(const void *model, const float *X, size_t n, double *out, int nthread, int path) {
  const xgb_model *m = model;
  if (!m || (!X && n) || (!out && n)) return pp_err(PROP_ERR_ARG, "xgboost predict: NULL argument");
  if (path != PP_XGB_PATH_AUTO && (path < 0 || path > PP_XGB_PATH_SIMD || !(pp_xgb_paths(m) >> path & 1u)))
    return pp_err(PROP_ERR_ARG, "xgboost predict: path %d is not available for this model", path);
  if (n == 0) return 0;
  const xgb_native *nv = m->nat;
  if (path == PP_XGB_PATH_AUTO && nv) { /* our walks, bit-identical to XGBoost's */
    if (n < XGB_NATIVE_MAX_ROWS) path = PP_XGB_PATH_ROWS;
    else if (!nv->fword) path = PP_XGB_PATH_BACKEND; /* no complete layout (deep trees) */
    else path = nv->simd ? PP_XGB_PATH_SIMD : PP_XGB_PATH_SCALAR;
  }
  if (path == PP_XGB_PATH_ROWS) {
    pp_xgb_walk_rows(nv, X, n, m->d, out);
    return 0;
  }
  if (path == PP_XGB_PATH_SCALAR || path == PP_XGB_PATH_SIMD) {
    return pp_xgb_walk_batch(nv, X, n, m->d, out, nthread, path == PP_XGB_PATH_SIMD);
  }
  PP_TRY(xgb_thread_init());
  /* The booster's nthread is 0, so XGBoost takes its thread count from this thread's OpenMP
   * setting: set it for the call and put it back. */
  int saved = bound_threads(nthread);
  int rc = predict_raw(m->h, X, n, m->d, out);
  restore_threads(saved);
  return rc;
}

static int xgb_predict(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread) {
  (void)scratch;
  return pp_xgb_predict_path(model, X, n, out, nthread, PP_XGB_PATH_AUTO);
}

/* ---- save / load ----------------------------------------------------------------------------- */

static int xgb_save(const void *model, pp_buf *b) {
  const xgb_model *m = model;
  if (!m->blob) return pp_err(PROP_ERR_ARG, "xgboost save: a cross-validation fold's model is not kept");
  pp_put_u32(b, XGB_FORMAT_VERSION);
  pp_put_u64(b, m->d);
  pp_put_u32(b, m->best_iteration);
  pp_put_u32(b, m->rounds_boosted);
  pp_put_u32(b, m->rounds_param);
  pp_put_u32(b, m->es_rounds);
  pp_put_f64(b, m->spw);
  pp_put_u8(b, (uint8_t)((m->spw_auto ? 1 : 0) | (m->early_stopped ? 2 : 0) | (m->used_valid ? 4 : 0)));
  pp_put_f64(b, m->best_score);
  pp_put_u32(b, XGB_BLOB_JSON);
  pp_put_u64(b, m->blob_len);
  pp_put_bytes(b, m->blob, m->blob_len);
  return pp_buf_status(b);
}

static int xgb_load(pp_rd *in, size_t d, void **out) {
  *out = NULL;
  const char *what = in->what ? in->what : "xgboost";
  uint32_t ver, best, boosted, rparam, esr, fmt;
  uint64_t dd, blen;
  double spw, best_score;
  uint8_t flags;
  PP_TRY(pp_get_u32(in, &ver));
  if (ver == 0) return pp_err(PROP_ERR_CORRUPT, "%s: invalid xgboost payload version 0", what);
  if (ver > XGB_FORMAT_VERSION)
    return pp_err(PROP_ERR_VERSION, "%s: xgboost payload version %u is newer than this library (%u)", what, ver,
                  XGB_FORMAT_VERSION);
  PP_TRY(pp_get_u64(in, &dd));
  if (dd != d || d == 0 || d > XGB_MAX_WIDTH)
    return pp_err(PROP_ERR_CORRUPT, "%s: xgboost model has %llu inputs, the encoder gives %zu", what,
                  (unsigned long long)dd, d);
  PP_TRY(pp_get_u32(in, &best));
  PP_TRY(pp_get_u32(in, &boosted));
  PP_TRY(pp_get_u32(in, &rparam));
  PP_TRY(pp_get_u32(in, &esr));
  PP_TRY(pp_get_f64(in, &spw));
  PP_TRY(pp_get_u8(in, &flags));
  PP_TRY(pp_get_f64(in, &best_score));
  if (rparam < 1 || rparam > XGB_MAX_ROUNDS || boosted < 1 || boosted > rparam || best >= boosted ||
      esr > XGB_MAX_ROUNDS || !(spw > 0) || !isfinite(spw) || flags > 7 || isinf(best_score))
    return pp_err(PROP_ERR_CORRUPT, "%s: inconsistent xgboost training facts", what);
  PP_TRY(pp_get_u32(in, &fmt));
  if (fmt != XGB_BLOB_JSON) return pp_err(PROP_ERR_CORRUPT, "%s: unknown XGBoost model format %u", what, fmt);
  PP_TRY(pp_get_u64(in, &blen));
  size_t left = in->pos <= in->len ? in->len - in->pos : 0;
  if (blen < 2 || blen > left)
    return pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model claims %llu bytes, %zu are present", what,
                  (unsigned long long)blen, left);
  PP_TRY(xgb_thread_init());
  char *blob = pp_malloc((size_t)blen);
  if (!blob) return PROP_ERR_NOMEM;
  int rc = pp_get_bytes(in, blob, (size_t)blen);
  if (rc) {
    free(blob);
    return rc;
  }
  xgb_model *m = NULL;
  PP_TRY(model_from_blob(blob, (size_t)blen, d, best + 1, NULL, 0, &m, what));
  m->best_iteration = best;
  m->rounds_boosted = boosted;
  m->rounds_param = rparam;
  m->es_rounds = esr;
  m->spw = spw;
  m->spw_auto = flags & 1;
  m->early_stopped = (flags >> 1) & 1;
  m->used_valid = (flags >> 2) & 1;
  m->best_score = best_score;
  *out = m;
  return 0;
}

/* ---- explanation ----------------------------------------------------------------------------- */

static int xgb_importance(const void *model, double *imp, size_t d) {
  const xgb_model *m = model;
  if (!m || !imp) return pp_err(PROP_ERR_ARG, "xgboost importance: NULL argument");
  if (d != m->d) return pp_err(PROP_ERR_ARG, "xgboost importance: asked for %zu columns, the model has %zu", d, m->d);
  if (!m->imp) return pp_err(PROP_ERR_ARG, "xgboost importance: a cross-validation fold's model has none");
  memcpy(imp, m->imp, d * sizeof *imp);
  return 0;
}

static json_t *xgb_info(const void *model) {
  const xgb_model *m = model;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "best_iteration", json_integer(m->best_iteration));
  json_object_set_new(o, "rounds_used", json_integer((json_int_t)m->best_iteration + 1));
  json_object_set_new(o, "rounds_boosted", json_integer(m->rounds_boosted));
  json_object_set_new(o, "rounds", json_integer(m->rounds_param));
  json_object_set_new(o, "early_stopping_rounds", json_integer(m->es_rounds));
  json_object_set_new(o, "early_stopped", json_boolean(m->early_stopped));
  json_object_set_new(o, "best_valid_logloss", m->used_valid && isfinite(m->best_score) ? json_real(m->best_score)
                                                                                     : json_null());
  json_object_set_new(o, "scale_pos_weight", json_real(m->spw));
  json_object_set_new(o, "scale_pos_weight_auto", json_boolean(m->spw_auto));
  json_object_set_new(o, "model_bytes", json_integer((json_int_t)m->blob_len));
  return o;
}

static const char *xgb_needs_validation(const void *params) {
  return ((const xgb_params *)params)->early_stopping_rounds > 0 ? "early_stopping_rounds" : NULL;
}

const pp_member_ops pp_xgb_ops = {
    .name = "xgboost",
    .parse_params = xgb_parse_params,
    .params_to_json = xgb_params_to_json,
    .free_params = xgb_free_params,
    .fit = xgb_fit,
    .scratch_bytes = xgb_scratch_bytes,
    .predict = xgb_predict,
    .save = xgb_save,
    .load = xgb_load,
    .free_model = xgb_free_model,
    .importance = xgb_importance,
    .info = xgb_info,
    .needs_validation = xgb_needs_validation,
    .contrib_space = PP_SPACE_LOGODDS,
    .contrib_scratch = xgb_contrib_scratch,
    .contrib = xgb_contrib,
};
