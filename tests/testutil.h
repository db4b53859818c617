/* Shared helpers for the cmocka suites: temporary paths, small synthetic data sets. */
#ifndef PROP_TESTUTIL_H
#define PROP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the three above first */
#include <cmocka.h>

#include "propensity.h"

/* A fresh path under $PROP_TEST_TMP (or /tmp) unique to this process: tu_path("a.csv").
 * Returns a static buffer rotated among 8 slots. */
const char *tu_path(const char *name);
/* Write text to path (aborts the test on failure). */
void tu_write(const char *path, const char *text);
/* Read a whole file as a NUL-terminated malloc'd string (NULL on failure). */
char *tu_read(const char *path, size_t *len);

/* Two-class data: n rows, d features, row-major float X and 0/1 float y.  Class 1 has share
 * pos_frac; its mean is shifted by `sep` in every feature.  Deterministic in seed. */
void tu_blobs(size_t n, size_t d, double pos_frac, double sep, uint64_t seed, float *X, float *y);
/* Simple deterministic generator for tests (splitmix64). */
uint64_t tu_rand(uint64_t *state);
double tu_uniform(uint64_t *state);
double tu_normal(uint64_t *state);
/* AUC of scores against labels (independent reference: O(n^2) pair count, ties = 1/2). */
double tu_auc_ref(const double *s, const float *y, size_t n);
/* |a - b| <= eps (Debian 12's cmocka 1.1.5 has no assert_double_equal). */
#define tu_assert_close(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))
#endif
