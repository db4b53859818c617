/* bench_members: the batch rate and single-row latency of each member of a trained model file, on the
 * encoded rows of any CSV file (the model's encoders applied first; encoding is not timed).
 *
 *   bench_members MODEL.bin DATA.csv [--member NAME[,NAME...]] [--threads 1] [--runs 7]
 *                 [--rows N] [--calls 2000] [--cpu-time]
 *
 * bench_speed measures every member on the demo's call list; this measures a model trained on any data
 * set (lending_club, the wide categorical set of bench/wide.py, ...), e.g. with a recipe that keeps all
 * members (`"selection": "all"`).  The rows are the file's (the first N with --rows; a file shorter than
 * N is repeated).  Throughput: one warm-up call, then `runs` timed runs, each repeating the call on all
 * rows until it lasts >= 20 ms; the minimum and the median run are printed as rows/s.  Latency: `calls`
 * single-row calls with the member's scratch allocated once (after 50 warm-up calls), nearest-rank
 * p50 / p99.  Every single-row result is compared with the batch result of its row, and the batch
 * output's FNV-1a fingerprint is printed, so that two builds can be checked for the same bits.  --cpu-time
 * times with the process's CPU clock instead of the wall clock (use it with --threads 1 on a shared
 * machine: it leaves out the time the process waited for a core, not the slowdown of sharing one).
 *
 * Benchmarks are not tests: this program is not registered with ctest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "data/frame.h"
#include "encode/encoder.h"
#include "models/member.h"
#include "pipeline/pipeline.h"

#define BENCH_NAME "bench_members"
#include "bench_util.h"

#define MIN_RUN_S 0.02

/* CLOCK_MONOTONIC, or with --cpu-time the process's CPU time: on a machine shared with other jobs, a
 * one-thread run's CPU time leaves out the time it waited for a core. */
static clockid_t g_clock = CLOCK_MONOTONIC;

/* The encoded rows of path for model m: n x m->width floats, n = max_rows (0: the file's rows). */
static float *encode_file(const prop_model *m, const char *path, size_t max_rows, size_t *n_out) {
  const size_t nf = m->schema->nfeat, w = m->width;
  size_t cap = 65536, n = 0;
  double *raw = xmalloc(cap * nf * sizeof *raw);
  int *st = xmalloc(65536 * sizeof *st);
  prop_reader *rd = NULL;
  if (prop_reader_open_for_model(path, m, NULL, &rd)) die(path);
  for (;;) {
    prop_frame *chunk = NULL;
    if (prop_reader_next(rd, 65536, &chunk)) die(path);
    if (!chunk) break;
    const size_t cn = prop_frame_n_rows(chunk);
    while (n + cn > cap) {
      cap *= 2;
      raw = realloc(raw, cap * nf * sizeof *raw);
      if (!raw) die("realloc");
    }
    pp_binding *b = NULL;
    if (pp_binding_create(m->schema, chunk, &b)) die(path);
    pp_binding_rows(b, 0, cn, raw + n * nf, st);
    size_t kept = 0;
    for (size_t i = 0; i < cn; i++) /* rows that cannot be scored are left out of the timing set */
      if (!st[i]) memmove(raw + (n + kept++) * nf, raw + (n + i) * nf, nf * sizeof *raw);
    n += kept;
    pp_binding_free(b);
    prop_frame_free(chunk);
  }
  prop_reader_free(rd);
  if (n == 0) die("no scorable rows");
  const size_t rows = max_rows ? max_rows : n;
  float *X = xmalloc(rows * w * sizeof *X), *tmp = xmalloc(n * w * sizeof *tmp);
  pp_encoder_transform(m->enc, raw, n, nf, tmp);
  for (size_t i = 0; i < rows; i++) memcpy(X + i * w, tmp + (i % n) * w, w * sizeof *X);
  free(tmp);
  free(raw);
  free(st);
  *n_out = rows;
  return X;
}

static int wanted(const char *list, const char *name) {
  if (!list) return 1;
  const size_t k = strlen(name);
  for (const char *p = list; (p = strstr(p, name)) != NULL; p += k)
    if ((p == list || p[-1] == ',') && (p[k] == ',' || p[k] == '\0')) return 1;
  return 0;
}

static void bench_member(const pp_fitted_member *fm, const float *X, size_t n, size_t w, int threads, int runs,
                         size_t calls) {
  const pp_member_ops *ops = fm->ops;
  double *out = xmalloc(n * sizeof *out);
  if (ops->predict(fm->model, X, n, out, NULL, threads)) die(ops->name); /* warm-up */
  double t0 = bench_seconds(g_clock);
  if (ops->predict(fm->model, X, n, out, NULL, threads)) die(ops->name);
  const double est = bench_seconds(g_clock) - t0;
  const size_t reps = est >= MIN_RUN_S ? 1 : (size_t)ceil(MIN_RUN_S / (est > 1e-7 ? est : 1e-7));
  double *t = xmalloc((size_t)runs * sizeof *t);
  for (int r = 0; r < runs; r++) {
    const double a = bench_seconds(g_clock);
    for (size_t k = 0; k < reps; k++)
      if (ops->predict(fm->model, X, n, out, NULL, threads)) die(ops->name);
    t[r] = (bench_seconds(g_clock) - a) / (double)reps;
  }
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  uint64_t h = 1469598103934665603ull;
  const unsigned char *b = (const unsigned char *)out;
  for (size_t i = 0; i < n * sizeof *out; i++) h = (h ^ b[i]) * 1099511628211ull;

  const size_t sb = ops->scratch_bytes ? ops->scratch_bytes(fm->model, 1) : 0;
  void *scratch = sb ? xmalloc(sb) : NULL;
  double *lat = xmalloc(calls * sizeof *lat), p;
  size_t differ = 0;
  for (size_t k = 0; k < 50 + calls; k++) {
    const size_t i = k % n;
    const double a = bench_seconds(g_clock);
    if (ops->predict(fm->model, X + i * w, 1, &p, scratch, 1)) die(ops->name);
    const double e = bench_seconds(g_clock) - a;
    if (k >= 50) lat[k - 50] = e * 1e6;
    differ += memcmp(&p, &out[i], sizeof p) != 0;
  }
  qsort(lat, calls, sizeof *lat, cmp_double);
  const size_t i50 = (calls * 50 + 99) / 100, i99 = (calls * 99 + 99) / 100;
  printf("%-14s %7zu rows %d thr  min %10.0f  median %10.0f rows/s   p50 %7.2f us  p99 %7.2f us  "
         "fnv %016llx  single!=batch %zu\n",
         ops->name, n, threads, (double)n / t[0], (double)n / t[runs / 2], lat[i50 ? i50 - 1 : 0],
         lat[i99 ? i99 - 1 : 0], (unsigned long long)h, differ);
  free(lat);
  free(scratch);
  free(t);
  free(out);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: bench_members MODEL.bin DATA.csv [--member a,b] [--threads T] [--runs R] [--rows N] "
                    "[--calls C] [--cpu-time]\n");
    return 2;
  }
  const char *members = NULL;
  int threads = 1, runs = 7;
  size_t rows = 0, calls = 2000;
  for (int i = 3; i < argc; i += 2) {
    if (!strcmp(argv[i], "--cpu-time")) {
      g_clock = CLOCK_PROCESS_CPUTIME_ID;
      i--;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "bench_members: %s needs a value\n", argv[i]);
      return 2;
    }
    if (!strcmp(argv[i], "--member")) members = argv[i + 1];
    else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--runs")) runs = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--rows")) rows = (size_t)strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--calls")) calls = (size_t)strtoull(argv[i + 1], NULL, 10);
    else {
      fprintf(stderr, "bench_members: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (runs < 1) runs = 1;
  if (calls < 1) calls = 1;
  prop_model *m = NULL;
  if (prop_model_load(argv[1], &m)) die(argv[1]);
  size_t n = 0;
  float *X = encode_file(m, argv[2], rows, &n);
  for (size_t j = 0; j < m->nmem; j++)
    if (wanted(members, m->mem[j].ops->name)) bench_member(&m->mem[j], X, n, m->width, threads, runs, calls);
  free(X);
  prop_model_free(m);
  return 0;
}
