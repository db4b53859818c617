/* prop_compare() in parts: compare.c runs the named steps (split, encode, members, ensemble, report),
 * compare_measure.c is the measurement harness (batch throughput and single-row latency) and
 * compare_report.c writes the JSON report. */
#ifndef PP_COMPARE_JOB_H
#define PP_COMPARE_JOB_H

#include <jansson.h>

#include "pipeline/jsonw.h"
#include "pipeline/pipeline.h"

/* ---- the measurement harness (compare_measure.c) ------------------------------------------------- */
typedef struct pp_timing {
  double fit_seconds;
  double rows_per_second; /* median over the batch runs */
  size_t predict_runs;
  double p50_us, p99_us;  /* nearest-rank percentiles of single-row calls */
  size_t latency_runs;
} pp_timing;

/* Scratch of the harness: secs[batch_runs], us[latency_runs]. */
typedef struct pp_measure {
  size_t batch_runs, latency_runs;
  double batch_budget_seconds;
  int nthread;
  double *secs, *us;
} pp_measure;
#define PP_LATENCY_WARMUP 20
/* Equal-width bins of the reliability diagram and of the calibration error (ECE). */
#define PP_RELIABILITY_BINS 10

/* Batch and single-row timing of one member fitted alone on the encoded test rows Xte (nte x d);
 * p[nte] gets its probabilities (checked to be probabilities). */
int pp_measure_member(const pp_member_ops *ops, const void *model, const float *Xte, size_t nte, size_t d,
                      const pp_measure *ms, double *p, pp_timing *t);
/* The whole pipeline through the public API: prop_model_predict_frame (batch) and prop_scorer_score,
 * unseen categories through the bucket; p[nrows of fte] gets its probabilities. */
int pp_measure_ensemble(const prop_model *m, const prop_frame *fte, const pp_measure *ms, double *p, pp_timing *t);
/* "model name" of the first processor in /proc/cpuinfo (x86; "Model"/"Hardware" elsewhere). */
void pp_cpu_model(char *out, size_t n);
long pp_logical_cpus(void);

/* ---- the job ------------------------------------------------------------------------------------- */
typedef struct compare_job {
  const prop_frame *f;
  const prop_compare_options *o; /* &opt: this library's copy of the caller's options */
  prop_compare_options opt;
  prop_train_options train;      /* opt.train points here */
  const prop_recipe *r;
  pp_ctx ctx;
  pp_measure ms;
  /* split */
  prop_frame *own_tr, *own_te;
  const prop_frame *ftr, *fte; /* the training and test rows: own_* or f and o->test */
  size_t n, ntr, nte, npos, npos_te;
  int *y_te, *conn;            /* test labels; connected flags of the test rows (or NULL) */
  char *pos_label;
  double test_month;           /* the held-out month's key, or NaN */
  char test_period[24];        /* its name ("2026-06"), or "" */
  char sha[65], test_sha[65];
  uint64_t file_bytes, test_bytes;
  /* encode */
  pp_trainset ts;              /* the training rows */
  pp_encoder *enc;
  size_t d;                    /* encoded width */
  float *Xtr, *Xte;
  /* members, ensemble */
  double *p;                   /* nte probabilities of the model being measured */
  double *p_mem;               /* nmembers x nte: every member's test probabilities, for the paired tests */
  json_t *models;              /* one entry per model */
  prop_model *ens;
  unsigned mark;               /* pp_json_mark() at the start: jansson's failed allocations since */
} compare_job;

/* ---- the report (compare_report.c) --------------------------------------------------------------- */
/* One entry of "models": metrics, timing and curves of probabilities p[n] against y. */
json_t *pp_compare_model_json(pp_jb *b, const char *name, const char *kind, const double *p, const int *y, size_t n,
                              const pp_timing *t, size_t maxpts);
/* The whole report as JSON text (malloc'd) into *json: machine, data set and split, timing method,
 * recipe, models (moved out of job->models), the ensemble's band table and importance, the back-test. */
int pp_compare_report(compare_job *job, size_t steps, char **json);
#endif
