/* The state one run of the training procedure carries from step to step (train.c), and its last
 * step, the report (train_report.c). */
#ifndef PP_TRAIN_JOB_H
#define PP_TRAIN_JOB_H

#include <jansson.h>

#include "pipeline/pipeline.h"

/* What out-of-fold validation found for one member of the recipe. */
typedef struct pp_member_report {
  double auc, logloss, brier, fit_seconds;
  int selected;
  double weight;
  json_t *info; /* the refitted member's facts (its ops->info), or NULL; owned */
} pp_member_report;

typedef struct train_job {
  const prop_recipe *r;
  const prop_train_options *opt;
  pp_ctx ctx;
  double t_start;
  size_t K;                   /* folds */
  pp_trainset ts;             /* encode */
  double *oof;                /* out_of_fold: n x nmembers probabilities */
  pp_member_report *rep;      /* out_of_fold, select, weigh, refit: one per recipe member */
  size_t order[32], nsel;     /* select: members best first, the first nsel selected; weigh: the kept */
  double *score;              /* weigh: the OOF vote of each row */
  double *cal;                /* calibrate: its calibrated probability */
  prop_model *m;              /* weigh (vote), calibrate (calibrator), refit (encoder, members) */
  unsigned mark;              /* pp_json_mark() at the start: a failed allocation since makes it NOMEM */
} train_job;

/* report: the model's metadata and recipe JSON (m->meta_json, m->recipe_json) from the job. */
int pp_train_report(train_job *job);
#endif
