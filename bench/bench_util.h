/* bench/bench_util.h: the few helpers the benchmark programs share.  A benchmark, unlike the
 * library, may print and exit: die() reports what failed with the library's last error and ends the
 * program.  Define BENCH_NAME (the program's name, for messages) before including this header. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "propensity.h"

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench_util.h"
#endif

/* Seconds on clock c: CLOCK_MONOTONIC for wall time, CLOCK_PROCESS_CPUTIME_ID for the process's CPU. */
static inline double bench_seconds(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Wall-clock seconds. */
static inline double now(void) { return bench_seconds(CLOCK_MONOTONIC); }

/* qsort's ascending order of doubles. */
static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static inline void die(const char *what) {
  fprintf(stderr, BENCH_NAME ": %s: %s\n", what, prop_last_error());
  exit(1);
}

static inline void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("out of memory");
  return p;
}

#endif
