/* lib/pipeline: the fitted pipeline object (prop_model), the recipe, the training procedure,
 * scoring, ranking and back-testing.  It sits on top of every other stage and is the only place
 * that knows how they fit together.  Model-file sections are assembled in model_io.c through
 * lib/io's container. */
#ifndef PP_PIPELINE_H
#define PP_PIPELINE_H

#include <jansson.h>

#include "common/common.h"
#include "common/jsonx.h"
#include "data/frame.h"
#include "bands/bands.h"
#include "calibrate/calibrate.h"
#include "encode/encoder.h"
#include "ensemble/vote.h"
#include "models/member.h"
#include "monitor/reference.h"

/* How a recipe picks and weighs its vote's members (the vote kinds are lib/ensemble's PP_VOTE_*, the
 * calibrators lib/calibrate's PP_CALIB_*). */
enum { PP_WEIGHTS_EQUAL = 0, PP_WEIGHTS_FIXED = 1, PP_WEIGHTS_FIT = 2 };
enum { PP_SELECT_ALL = 0, PP_SELECT_TOPK = 1 };

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
  pp_bands bands;
  double valid_frac; /* share of training rows held out for early stopping (0 = none) */
};

/* The recipe as a canonical JSON object (new reference). */
json_t *pp_recipe_json(const prop_recipe *r);
int pp_recipe_copy(const prop_recipe *r, prop_recipe **out);

/* A fitted member: its family and its model (member i of the model is member i of the vote). */
typedef struct pp_fitted_member {
  const pp_member_ops *ops;
  void *model;
} pp_fitted_member;

/* The fitted pipeline: each stage owns its state and its model-file section (model_io.c assembles
 * them).  Read-only once trained or loaded. */
struct prop_model {
  pp_schema *schema;      /* data: inputs, id, target and labels   (SCHM) */
  pp_encoder *enc;        /* encode                                 (ENCD) */
  size_t width;           /* encoded columns */
  pp_fitted_member *mem;  /* models: vote->n members                (Mnnn) */
  size_t nmem;
  pp_vote *vote;          /* ensemble                               (ENSM) */
  pp_calibrator *calib;   /* calibrate                              (CALB) */
  pp_bands bands;         /* bands                                  (BAND) */
  pp_reference *ref;      /* monitor: the training rows' reference  (REFS; NULL in older files) */
  char *recipe_json;      /*                                        (RCPE) */
  char *meta_json;        /*                                        (META) */
};
/* Fit one member (spec) on the encoded rows X (m x d) with labels y, as training fits it: the recipe's
 * imbalance strategy (under-sampling happens here, seeded by seed; class weights inside the member) and
 * its validation hold-out for early stopping.  prop_compare fits its members alone with it, so that they
 * are the members prop_model_train would fit on the same rows. */
int pp_fit_member(const pp_member_spec *spec, const prop_recipe *r, const float *X, const float *y, size_t m,
                  size_t d, const char *const *names, const pp_ctx *ctx, uint64_t seed, void **model);

/* ---- the training rows, read once (trainset.c): the setup that training and comparison share ------ */
typedef struct pp_trainset {
  const prop_frame *f;
  pp_schema *schema; /* owned; training moves it into the model */
  size_t n, nfeat, npos;
  double *raw;       /* n x nfeat raw input rows (values and category codes, NaN = missing) */
  int *y;            /* n labels, 1 = positive */
  float *yf;         /* the same as floats, as members take them */
} pp_trainset;

/* Read the training rows of f as opt names its columns: no row read error, the schema (at least one
 * input), the target's labels (the positive label and, when the rows carry one other, the negative one
 * go into the schema), the connected flag checked as 0/1, at least min_per_class rows of each class, and
 * every row's inputs finite or missing (else PROP_ERR_VALUE naming file and row).  Free with
 * pp_trainset_free (also after a failure). */
int pp_trainset_read(const prop_frame *f, const prop_train_options *opt, size_t min_per_class, pp_trainset *ts);
void pp_trainset_free(pp_trainset *ts);
/* The raw input rows of f under schema s into a new *raw (nrows x s->nfeat; malloc'd): a row that cannot
 * be used (an infinite number) is an error naming file and row, "row cannot be used for <purpose>". */
int pp_rows_read(const pp_schema *s, const prop_frame *f, const char *purpose, double **raw);
/* The recipe to use (r, or the default one, which *own then holds: free it with prop_recipe_free) and
 * the callback context of opt with the recipe's seed. */
int pp_job_recipe(const prop_recipe *r, const prop_train_options *opt, prop_recipe **own, const prop_recipe **use,
                  pp_ctx *ctx);

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

/* Model serialisation (model_io.c). */
int pp_model_serialize(const prop_model *m, pp_buf *out);
int pp_model_deserialize(const void *data, size_t len, const char *source, prop_model **out);
#endif
