/* lib/models: one file per model family behind this one small interface.
 *
 * Rules: a member sees only the encoded dense float matrix (row-major, n x d, no NaN: the
 * encoders impute), labels in {0,1} and optional sample weights.  Members do not include each
 * other; shared tree code lives in cart.h (the builder) and tree_common.h (the settings, checks
 * and payload fields the decision tree and the forest share), other shared helpers in members.c
 * (below).  Only xgb.c includes xgboost/c_api.h.  Members never print: messages go through
 * pp_log(ctx, ...).  A fitted member is read-only: predict may run on many threads at once. */
#ifndef PP_MEMBER_H
#define PP_MEMBER_H

#include <jansson.h>

#include "common/common.h"

/* How the recipe asks members to treat an imbalanced target. */
typedef enum pp_imbalance {
  PP_IMB_NONE = 0,       /* no correction */
  PP_IMB_WEIGHTS = 1,    /* "balanced" class weights (xgboost: scale_pos_weight = neg/pos) */
  PP_IMB_UNDERSAMPLE = 2 /* the pipeline under-samples the majority before fit; members do nothing */
} pp_imbalance;

typedef struct pp_dataset {
  const float *X;               /* n x d, row-major, finite */
  size_t n, d;
  const float *y;               /* n labels, 0.0f or 1.0f */
  const float *w;               /* n sample weights (> 0) or NULL for all ones */
  const char *const *colnames;  /* d encoded column names (for messages and importance) */
  int imbalance;                /* pp_imbalance: members honour PP_IMB_WEIGHTS themselves */
} pp_dataset;

typedef struct pp_member_ops {
  const char *name; /* "xgboost", "svc", "decision_tree", "random_forest", "knn", "logistic" */

  /* Parse and validate hyperparameters from a JSON object (json_t*, or NULL for all defaults).
   * Unknown keys and out-of-range values fail with PROP_ERR_RECIPE naming path.key (use the
   * pp_json_* helpers of common/jsonx.h).  *params is owned by the caller: free_params(). */
  int (*parse_params)(const json_t *obj, const char *path, void **params);
  /* Canonical JSON of params with every default filled in (new reference). */
  json_t *(*params_to_json)(const void *params);
  void (*free_params)(void *params);

  /* Fit on train.  valid (may be NULL) is a held-out split for early stopping where the member
   * supports it.  ctx gives seed, nthread, log and progress.  The model copies what it keeps:
   * it never points into train. */
  int (*fit)(const void *params, const pp_dataset *train, const pp_dataset *valid, const pp_ctx *ctx,
             void **model);

  /* Bytes of scratch predict needs for n rows (may be 0).  The single-customer scorer
   * preallocates scratch_bytes(model, 1) so that scoring one row does not allocate. */
  size_t (*scratch_bytes)(const void *model, size_t n);
  /* P(y = 1) of n rows of X (row-major, d columns as at fit) into out[n].  scratch is NULL (the
   * member allocates what it needs) or scratch_bytes(model, n) bytes.  Read-only on model:
   * thread-safe.  Uses at most nthread threads for large n (0 = library default). */
  int (*predict)(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread);

  /* Serialise into out / restore from in.  load validates every count, size and index against
   * d (the encoded width) and the bytes present: a crafted file fails with PROP_ERR_CORRUPT,
   * never reads out of bounds. */
  int (*save)(const void *model, pp_buf *out);
  int (*load)(pp_rd *in, size_t d, void **model);
  void (*free_model)(void *model);

  /* Optional (NULL when unsupported): importance of each of the d encoded columns into imp[d]
   * (xgboost: total gain; trees: impurity decrease). */
  int (*importance)(const void *model, double *imp, size_t d);
  /* Optional: facts worth reporting after fit (support vectors, rows cap applied, oob score,
   * best iteration ...) as a new JSON object, or NULL. */
  json_t *(*info)(const void *model);
  /* Optional: the name of a parameter set in params that needs a validation hold-out (the
   * recipe's validation_fraction > 0), e.g. "early_stopping_rounds"; NULL when none does.  A
   * recipe asking for it without a hold-out is refused naming the parameter. */
  const char *(*needs_validation)(const void *params);

  /* Optional (contrib NULL when the family has none): contributions.  For each of n rows of X,
   * phi[i * d + c] for every encoded column c and one base (the same for every row: a property of
   * the model) such that base + sum_c phi[i * d + c] is the member's output for row i in the space
   * contrib_space names (pp_contrib_space), up to rounding.  Which Shapley values they are, exact or
   * estimated, is the family's to say (models/README.md, "Contributions").  group (NULL: every
   * column alone) maps each column to one of ngroups players: estimators that perturb columns treat
   * a group (an input's one-hot columns) as one player and put its contribution on the group's
   * first column, 0 on the others; exact tree and linear contributions ignore it.  scratch is NULL
   * (the member allocates) or contrib_scratch(model, n) bytes.  With n == 0 only *base is set: the
   * call then says whether the model can explain (0) or not (PROP_ERR_STATE, e.g. a payload
   * written before the member stored what it needs).  A row's contributions depend on that row
   * only, never on the rows beside it or the thread count.  Read-only on model: thread-safe. */
  int contrib_space;
  size_t (*contrib_scratch)(const void *model, size_t n);
  int (*contrib)(const void *model, const float *X, size_t n, const uint32_t *group, size_t ngroups, double *phi,
                 double *base, void *scratch);
} pp_member_ops;

/* The output space of a member's contributions. */
typedef enum pp_contrib_space {
  PP_SPACE_PROB = 0,   /* the probability predict gives */
  PP_SPACE_LOGODDS = 1 /* the log-odds whose logistic function predict gives (xgboost's margin, the
                          logistic member's linear score) */
} pp_contrib_space;

extern const pp_member_ops pp_xgb_ops;
extern const pp_member_ops pp_svc_ops;
extern const pp_member_ops pp_tree_ops;
extern const pp_member_ops pp_forest_ops;
extern const pp_member_ops pp_knn_ops;
extern const pp_member_ops pp_logistic_ops;

/* For bench/: the knn model's float pass alone (step 1 of its predict: the queries' set-up, their keys
 * and the offer to the candidate buffers; no exact pass, no vote), over n rows X in blocks as predict
 * runs them, on the calling thread.  *kernel (when not NULL) names the key kernel this CPU runs.
 * Returns 0, PROP_ERR_NOMEM or PROP_ERR_VALUE. */
int pp_knn_float_pass(const void *model, const float *X, size_t n, const char **kernel);
/* For bench/ and tests: the float pass's distance kernel alone.  The same kernel as the float pass above,
 * making the same keys bit for bit (the fused AVX-512 kernel, or pp_dots tiles where that does not run),
 * but each query's keys are reduced to their minimum instead of being offered to the candidate
 * buffers: kmin[i] = the smallest key of row i over all training rows (NAN for a row that skips the
 * float pass: a value above KNN_VALUE_MAX).  Returns 0, PROP_ERR_NOMEM or PROP_ERR_VALUE. */
int pp_knn_key_pass(const void *model, const float *X, size_t n, float *kmin);

/* The member family called name, or NULL. */
const pp_member_ops *pp_member_find(const char *name);
/* NULL-terminated list of all families, in the order reports show them. */
extern const pp_member_ops *const pp_member_all[];

/* Helpers shared by members (members.c). */
/* Class weights for "balanced": w_c = n / (2 n_c).  Fails with PROP_ERR_TRAIN on one class. */
int pp_balanced_weights(const float *y, size_t n, double *w_neg, double *w_pos);
/* The class weights of n rows of which npos are positive (0 < npos < n): n / (2 n_c) when
 * balanced, else 1 and 1. */
void pp_class_weights(size_t n, size_t npos, int balanced, double *w_neg, double *w_pos);
/* The rows a member trains on, as indices in increasing order into idx (room for min(n, cap)):
 * all n when cap is 0 or n <= cap (rng untouched), else a stratified sample of cap rows drawn
 * with rng: each class keeps its share of cap (rounded, at least one row of each; npos of the n
 * labels y are positive, 0 < npos < n), chosen by selection sampling within the class so the
 * row order is kept.  Returns the count. */
size_t pp_stratified_cap(const float *y, size_t n, size_t npos, size_t cap, pp_rng *rng, size_t *idx);
/* Log that member `name` trains on a stratified sample of n of its N rows (max_train_rows): at INFO
 * once per training (a fit of its own, or a training's first cross-validation fold, ctx->fit_round
 * 0 or 1), at DEBUG for the other folds and the final refit. */
void pp_log_row_cap(const pp_ctx *ctx, const char *name, size_t N, size_t n);
/* The same with the positives' share of cap given as pos_mass / mass (pp_stratified_cap: npos / n),
 * e.g. their share of the class-weighted rows. */
size_t pp_stratified_draw(const float *y, size_t n, size_t npos, size_t cap, double pos_mass, double mass, pp_rng *rng,
                          size_t *idx);
/* fit's parameters: params itself, or (params NULL) the defaults that parse gives for no JSON,
 * copied into dflt (size bytes).  *out points at one of the two. */
int pp_member_params(const void *params, int (*parse)(const json_t *, const char *, void **), void *dflt,
                     size_t size, const void **out);
/* The u32 format version that opens a member payload: 0 fails with PROP_ERR_CORRUPT, one above
 * newest with PROP_ERR_VERSION; messages name what (the section) and family. */
int pp_member_get_version(pp_rd *in, const char *what, const char *family, uint32_t newest, uint32_t *ver);
/* The u64 encoded width of a payload: it must be d, with 0 < d <= max_d, else PROP_ERR_CORRUPT
 * ("<what>: <noun> has N inputs, the encoder gives d"). */
int pp_member_get_width(pp_rd *in, const char *what, const char *noun, size_t d, size_t max_d);
/* scratch_bytes of a member that needs none. */
size_t pp_member_no_scratch(const void *model, size_t n);
#endif
