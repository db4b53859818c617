/* lib/pipeline: the fitted pipeline object (prop_model), the recipe, the training procedure,
 * scoring, ranking and back-testing.  It sits on top of every other stage and is the only place
 * that knows how they fit together.  Model-file sections are assembled in model_io.c through
 * lib/io's container. */
#ifndef PP_PIPELINE_H
#define PP_PIPELINE_H

#include <jansson.h>

#include "common/common.h"
#include "data/frame.h"
#include "encode/encoder.h"
#include "models/member.h"

enum { PP_VOTE_SOFT = 0, PP_VOTE_HARD = 1, PP_VOTE_LOGIT = 2 };
enum { PP_WEIGHTS_EQUAL = 0, PP_WEIGHTS_FIXED = 1, PP_WEIGHTS_FIT = 2 };
enum { PP_SELECT_ALL = 0, PP_SELECT_TOPK = 1 };
enum { PP_CALIB_NONE = 0, PP_CALIB_PLATT = 1, PP_CALIB_ISOTONIC = 2 };

typedef struct pp_member_spec {
  const pp_member_ops *ops;
  void *params;
  double weight; /* used when weights are "fixed" */
} pp_member_spec;

struct prop_recipe {
  char *name;
  char *description;
  uint64_t seed;
  long cv_folds;
  int imbalance; /* pp_imbalance */
  pp_encode_opts enc;
  pp_member_spec *members;
  size_t nmembers;
  int voting, weights, selection;
  long top_k;
  int calibration;
  long calibration_min_rows; /* isotonic: rows every calibrated level must hold (capped at n / 5 when fitting) */
  double edges[65];
  size_t nbands;
  double valid_frac; /* share of training rows held out for early stopping (0 = none) */
};

/* The recipe as a canonical JSON object (new reference). */
json_t *pp_recipe_json(const prop_recipe *r);
int pp_recipe_copy(const prop_recipe *r, prop_recipe **out);

typedef struct pp_fitted_member {
  const pp_member_ops *ops;
  void *model;
  double weight;
} pp_fitted_member;

struct prop_model {
  pp_schema *schema;
  pp_encoder *enc;
  size_t width; /* encoded columns */
  pp_fitted_member *mem;
  size_t nmem;
  int voting;
  int calibration;
  double platt_a, platt_b;
  double *iso_x, *iso_v;
  size_t iso_k;
  int iso_ends; /* PP_ISO_ENDS_*: RANGE for models trained now; LINEAR or FLAT in older files */
  double iso_lo, iso_hi; /* RANGE: the lowest and highest out-of-fold ensemble score */
  double edges[65];
  size_t nbands;
  char *recipe_json;
  char *meta_json;
};

/* Ensemble score of member probabilities p[nmem] (soft: weighted mean; hard: weighted share of
 * members with p >= 0.5; logit: the logistic function of the weighted mean of the members' log-odds,
 * pp_vote_logit), before calibration. */
double pp_ensemble_combine(const prop_model *m, const double *p);
/* Log-odds of a member probability for the logit vote, with p clamped to [PP_LOGIT_EPS, 1 - PP_LOGIT_EPS]
 * (a member that says exactly 0 or 1, such as a pure leaf or k neighbours of one class, adds a finite
 * log-odds of about -/+13.8); NaN stays NaN. */
#define PP_LOGIT_EPS 1e-6
double pp_vote_logit(double p);
/* A member's term in the vote of kind voting (PP_VOTE_*): its probability (soft), 1 or 0 (hard: p >= 0.5),
 * pp_vote_logit(p) (logit); pp_ensemble_combine's weighted mean is over these. */
double pp_vote_term(int voting, double p);
/* The ensemble's uncalibrated log-odds of member probabilities p[nmem]: for the logit vote the weighted
 * mean of the members' log-odds (the vote before its logistic function), for the soft and hard votes
 * pp_vote_logit of the vote (clamped at PP_LOGIT_EPS).  The contributions add up to it. */
double pp_ensemble_logodds(const prop_model *m, const double *p);
/* Calibrated probability of an ensemble score. */
double pp_calibrate_apply(const prop_model *m, double s);
/* Fit one member (spec) on the encoded rows X (m x d) with labels y, as training fits it: the recipe's
 * imbalance strategy (under-sampling happens here, seeded by seed; class weights inside the member) and
 * its validation hold-out for early stopping.  prop_compare fits its members alone with it, so that they
 * are the members prop_model_train would fit on the same rows. */
int pp_fit_member(const pp_member_spec *spec, const prop_recipe *r, const float *X, const float *y, size_t m,
                  size_t d, const char *const *names, const pp_ctx *ctx, uint64_t seed, void **model);

/* Predict options of the evaluation paths (compare, backtest, permutation importance): labelled
 * held-out rows, where a category the training rows lacked (a later month's new card type, a rare
 * state) is scored through the <other> bucket rather than refused, so that every row counts. */
prop_predict_options pp_eval_predict_options(int nthread);

/* Score n encoded rows X (n x width) into prob/band; scratch per member may be NULL; raw != 0 gives the
 * vote before the calibrator. */
int pp_score_encoded(const prop_model *m, const float *X, size_t n, double *memp /* n x nmem */,
                     void *const *scratch, int raw, double *prob, int *band);

/* The batch loop of scoring, shared with lib/explain: the rows of a frame (bind) or of a dense matrix
 * (X, dtype, stride in elements), in blocks shared among opt's threads; each block's raw rows are read
 * and checked (a status per row: a read error, a bad value, an unseen category under opt->unseen),
 * encoded, and handed to the job.  Every row is handed over once, with its status. */
typedef struct pp_source {
  const pp_binding *bind;
  const void *X;
  prop_dtype dtype;
  size_t stride;
} pp_source;

typedef struct pp_block_job {
  void *user;
  size_t max_block, min_block; /* automatic blocks (opt->block_rows 0): at most / at least this many rows */
  /* per thread: what run needs for blocks of at most `rows` rows (0 or PROP_ERR_NOMEM), and its free */
  int (*init)(void *user, size_t rows, void **tls);
  void (*fini)(void *tls);
  /* one block: nb encoded rows X (width columns) from row row0 on, st[i] the status of row row0 + i
   * (rows with st != 0 are encoded but must not be reported as scored) */
  int (*run)(void *user, void *tls, const float *X, const int *st, size_t row0, size_t nb);
} pp_block_job;

int pp_batch_run(const prop_model *m, const pp_source *src, size_t nrows, const prop_predict_options *opt,
                 const pp_block_job *job);
/* The dense source of the public functions' arguments, checked (fn names the function in messages):
 * PROP_ERR_ARG for NULL, a short stride or an unknown dtype, PROP_ERR_SCHEMA when ncols is not the
 * model's input count. */
int pp_dense_source(const prop_model *m, const void *X, prop_dtype dtype, size_t nrows, size_t ncols,
                    size_t row_stride, const char *fn, pp_source *src);

/* For lib/explain's reasons on a scorer: its model, its unseen policy, the encoded row and the
 * member probabilities of its last prop_scorer_score(), and one attachment (work of its own, created
 * on first use and freed with the scorer by free_fn). */
const prop_model *pp_scorer_model(const prop_scorer *s);
const float *pp_scorer_encoded(const prop_scorer *s);
const double *pp_scorer_member_probs(const prop_scorer *s);
void *pp_scorer_attachment(const prop_scorer *s);
void pp_scorer_attach(prop_scorer *s, void *p, void (*free_fn)(void *));

/* Fit the soft-vote weights: non-negative, summing to 1, minimising the log-loss of the weighted
 * mean of P (n x k, row-major) against y.  w[k] out. */
int pp_fit_vote_weights(const double *P, const int *y, size_t n, size_t k, double *w);
/* Fitted log-loss weights below this are set to exactly 0 (the member is left out) and the rest refitted. */
#define PP_VOTE_MIN_WEIGHT 1e-3
/* Weights for a vote that a calibrator follows: greedy forward selection with replacement maximising the
 * AUC of the weighted mean (at most `rounds` votes); non-negative, summing to 1.  See vote.c. */
int pp_fit_vote_weights_auc(const double *P, const int *y, size_t n, size_t k, size_t rounds, double *w);
/* Weights for the logit vote: the non-negative v and free intercept a maximising the likelihood of
 * y ~ logistic(a + sum_j v_j logit(P_ij)) (logistic stacking on the members' log-odds, by projected
 * Newton), then w = v / sum(v), with weights below PP_VOTE_MIN_WEIGHT set to 0 and the rest refitted.
 * When no member gets a positive weight, w is all on member 0 (callers order the members best first).
 * PROP_ERR_TRAIN when y holds one class only.  See vote.c. */
int pp_fit_vote_weights_logit(const double *P, const int *y, size_t n, size_t k, double *w);

/* Model serialisation (model_io.c). */
int pp_model_serialize(const prop_model *m, pp_buf *out);
int pp_model_deserialize(const void *data, size_t len, const char *source, prop_model **out);
#endif
