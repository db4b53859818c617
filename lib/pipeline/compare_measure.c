/* The measurement harness of prop_compare(): batch throughput and single-row latency of a model, and
 * the facts about the machine that the report records with them.
 *
 * Timings are wall clock (CLOCK_MONOTONIC).  Batch throughput is the median over up to batch_runs
 * predictions of the whole test set (stopping once batch_budget_seconds are spent; one run at least);
 * latency is the nearest-rank p50/p99 of latency_runs one-row calls after PP_LATENCY_WARMUP calls,
 * cycling through the test rows (members: their predict with scratch preallocated once; the ensemble:
 * prop_scorer_score). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "eval/metrics.h"
#include "pipeline/compare_job.h"

void pp_cpu_model(char *out, size_t n) {
  snprintf(out, n, "unknown");
  FILE *fp = fopen("/proc/cpuinfo", "r");
  if (!fp) return;
  char line[512];
  while (fgets(line, sizeof line, fp)) {
    if (strncmp(line, "model name", 10) != 0 && strncmp(line, "Model", 5) != 0 && strncmp(line, "Hardware", 8) != 0)
      continue;
    char *colon = strchr(line, ':');
    if (!colon) continue;
    colon++;
    while (*colon == ' ' || *colon == '\t') colon++;
    size_t len = strcspn(colon, "\r\n");
    if (len == 0) continue;
    snprintf(out, n, "%.*s", (int)len, colon);
    break;
  }
  fclose(fp);
}

long pp_logical_cpus(void) {
#ifdef _OPENMP
  return (long)omp_get_num_procs();
#else
  long v = sysconf(_SC_NPROCESSORS_ONLN);
  return v > 0 ? v : 1;
#endif
}

/* Nearest-rank percentile of sorted v[n]. */
static double percentile(const double *v, size_t n, double q) {
  if (n == 0) return NAN;
  double r = ceil(q * (double)n);
  size_t k = r < 1 ? 0 : (size_t)r - 1;
  return v[k < n ? k : n - 1];
}

static void latency_summary(double *us, size_t n, pp_timing *t) {
  qsort(us, n, sizeof *us, pp_cmp_double);
  t->p50_us = percentile(us, n, 0.50);
  t->p99_us = percentile(us, n, 0.99);
  t->latency_runs = n;
}

/* rows per second from the run times secs[runs] (median run). */
static void batch_summary(double *secs, size_t runs, size_t rows, pp_timing *t) {
  double med = pp_median_inplace(secs, runs);
  t->rows_per_second = med > 0 ? (double)rows / med : NAN;
  t->predict_runs = runs;
}

static int all_probabilities(const double *p, size_t n, const char *who) {
  const size_t i = pp_first_non_probability(p, n);
  if (i < n) return pp_err(PROP_ERR_BACKEND, "%s: test row %zu got probability %g (not in [0,1])", who, i, p[i]);
  return 0;
}

/* One batch prediction of the test rows, timed, as many times as the harness allows. */
typedef int (*batch_fn)(const void *ctx, double *p);

static int time_batches(const pp_measure *ms, batch_fn run, const void *ctx, size_t rows, double *p, pp_timing *t) {
  size_t runs = 0;
  double spent = 0;
  for (size_t k = 0; k < ms->batch_runs; k++) {
    double t0 = pp_now_seconds();
    PP_TRY(run(ctx, p));
    ms->secs[runs] = pp_now_seconds() - t0;
    spent += ms->secs[runs++];
    if (spent >= ms->batch_budget_seconds) break;
  }
  batch_summary(ms->secs, runs, rows, t);
  return 0;
}

typedef struct member_batch {
  const pp_member_ops *ops;
  const void *model;
  const float *X;
  size_t n;
  int nthread;
} member_batch;

static int run_member_batch(const void *ctx, double *p) {
  const member_batch *mb = ctx;
  return mb->ops->predict(mb->model, mb->X, mb->n, p, NULL, mb->nthread);
}

int pp_measure_member(const pp_member_ops *ops, const void *model, const float *Xte, size_t nte, size_t d,
                      const pp_measure *ms, double *p, pp_timing *t) {
  member_batch mb = {ops, model, Xte, nte, ms->nthread};
  PP_TRY(time_batches(ms, run_member_batch, &mb, nte, p, t));
  PP_TRY(all_probabilities(p, nte, ops->name));
  size_t bytes = ops->scratch_bytes ? ops->scratch_bytes(model, 1) : 0;
  void *scratch = bytes ? pp_malloc(bytes) : NULL;
  if (bytes && !scratch) return PROP_ERR_NOMEM;
  int rc = 0;
  double one;
  for (size_t k = 0; k < PP_LATENCY_WARMUP + ms->latency_runs && !rc; k++) {
    const float *row = Xte + (k % nte) * d;
    double t0 = pp_now_seconds();
    rc = ops->predict(model, row, 1, &one, scratch, 1);
    double dt = pp_now_seconds() - t0;
    if (k >= PP_LATENCY_WARMUP) ms->us[k - PP_LATENCY_WARMUP] = 1e6 * dt;
  }
  free(scratch);
  if (rc) return rc;
  latency_summary(ms->us, ms->latency_runs, t);
  return 0;
}

typedef struct ensemble_batch {
  const prop_model *m;
  const prop_frame *f;
  prop_predict_options po;
} ensemble_batch;

static int run_ensemble_batch(const void *ctx, double *p) {
  const ensemble_batch *eb = ctx;
  return prop_model_predict_frame(eb->m, eb->f, p, NULL, NULL, &eb->po);
}

int pp_measure_ensemble(const prop_model *m, const prop_frame *fte, const pp_measure *ms, double *p, pp_timing *t) {
  size_t nte = fte->nrows, nf = m->schema->nfeat;
  ensemble_batch eb = {m, fte, pp_eval_predict_options(ms->nthread)};
  PP_TRY(time_batches(ms, run_ensemble_batch, &eb, nte, p, t));
  PP_TRY(all_probabilities(p, nte, "ensemble"));
  double *raw = NULL; /* the raw input rows, as a real-time caller would hold them */
  PP_TRY(pp_rows_read(m->schema, fte, "testing", &raw));
  prop_scorer *sc = NULL;
  int rc = prop_scorer_create(m, &sc);
  if (!rc) rc = prop_scorer_set_unseen(sc, PROP_UNSEEN_BUCKET);
  double one;
  int band;
  for (size_t k = 0; k < PP_LATENCY_WARMUP + ms->latency_runs && !rc; k++) {
    const double *row = raw + (k % nte) * nf;
    double t0 = pp_now_seconds();
    rc = prop_scorer_score(sc, row, &one, &band);
    double dt = pp_now_seconds() - t0;
    if (k >= PP_LATENCY_WARMUP) ms->us[k - PP_LATENCY_WARMUP] = 1e6 * dt;
  }
  prop_scorer_free(sc);
  free(raw);
  if (rc) return rc;
  latency_summary(ms->us, ms->latency_runs, t);
  return 0;
}
