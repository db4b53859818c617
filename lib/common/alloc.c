/* Checked allocation, and the allocation-failure injection of the fault tests.
 *
 * Every allocation the library makes itself goes through one of the functions of this file, so a
 * test can make the n-th of them fail (tests/test_faults.c walks n = 1, 2, ... over load,
 * training, scoring, the call list, comparison, explain, monitoring, contact fit and plan,
 * SQLite-style).  The deliberate exceptions, each commented where it is: a realloc that only
 * shrinks (data/csv.c, shrink_to: failing keeps the larger block) and the allocations made inside
 * XGBoost (C++) and the OpenMP runtime (tests/fault_test.sh's ulimit -v sweeps cover those).
 * libcsv's field buffer comes here through csv_set_realloc_func, jansson's allocations through the
 * functions common/jsonx.c installs (pp_json_mark).
 *
 * The injection is off unless a test arms it: then each call costs one relaxed atomic load. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void prop_free(void *p) { free(p); }

/* Failed allocations of the calling thread that recorded PROP_ERR_NOMEM (pp_alloc_mark). */
static _Thread_local unsigned tl_nomem;

unsigned pp_alloc_mark(void) { return tl_nomem; }
int pp_alloc_failed_since(unsigned mark) { return tl_nomem != mark; }
void pp_alloc_note_failure(void) { tl_nomem++; }

static atomic_int g_armed;
static atomic_int g_persistent;
static _Atomic uint64_t g_fail_at, g_calls, g_reallocs, g_realloc_bytes, g_failed, g_failed_optional;

void pp_alloc_inject(uint64_t fail_at, int persistent) {
  atomic_store(&g_armed, 0);
  atomic_store(&g_calls, 0);
  atomic_store(&g_reallocs, 0);
  atomic_store(&g_realloc_bytes, 0);
  atomic_store(&g_failed, 0);
  atomic_store(&g_failed_optional, 0);
  atomic_store(&g_fail_at, fail_at);
  atomic_store(&g_persistent, persistent);
  atomic_store(&g_armed, 1);
}

void pp_alloc_inject_stop(pp_alloc_counts *out) {
  atomic_store(&g_armed, 0);
  if (!out) return;
  out->calls = atomic_load(&g_calls);
  out->reallocs = atomic_load(&g_reallocs);
  out->realloc_bytes = atomic_load(&g_realloc_bytes);
  out->failed = atomic_load(&g_failed);
  out->failed_optional = atomic_load(&g_failed_optional);
}

/* 1 when the hook fails this allocation.  Counts it while armed. */
static int injected(int optional) {
  if (PP_LIKELY(!atomic_load_explicit(&g_armed, memory_order_relaxed))) return 0;
  uint64_t k = atomic_fetch_add(&g_calls, 1) + 1, at = atomic_load(&g_fail_at);
  if (at == 0 || k < at || (k > at && !atomic_load(&g_persistent))) return 0;
  atomic_fetch_add(optional ? &g_failed_optional : &g_failed, 1);
  return 1;
}

static void count_realloc(size_t bytes) {
  if (PP_LIKELY(!atomic_load_explicit(&g_armed, memory_order_relaxed))) return;
  atomic_fetch_add(&g_reallocs, 1);
  atomic_fetch_add(&g_realloc_bytes, bytes);
}

void *pp_alloc_raw(size_t size) { return injected(0) ? NULL : malloc(size ? size : 1); }

void *pp_alloc_with(void *(*fn)(size_t), size_t size) { return injected(0) ? NULL : fn(size); }

void *pp_alloc_optional(size_t size) { return injected(1) ? NULL : malloc(size ? size : 1); }

void *pp_realloc_raw(void *p, size_t size) {
  if (injected(0)) return NULL;
  count_realloc(size);
  return realloc(p, size ? size : 1);
}

void *pp_malloc(size_t size) {
  void *p = pp_alloc_raw(size);
  if (!p) {
    tl_nomem++;
    pp_err(PROP_ERR_NOMEM, "out of memory (allocating %zu bytes)", size);
  }
  return p;
}

void *pp_calloc(size_t n, size_t size) {
  void *p = injected(0) ? NULL : calloc(n ? n : 1, size ? size : 1);
  if (!p) {
    tl_nomem++;
    pp_err(PROP_ERR_NOMEM, "out of memory (allocating %zu x %zu bytes)", n, size);
  }
  return p;
}

void *pp_malloc_array(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) {
    tl_nomem++;
    pp_err(PROP_ERR_NOMEM, "out of memory (array of %zu x %zu bytes overflows)", n, size);
    return NULL;
  }
  return pp_malloc(n * size);
}

int pp_realloc_array(void *pptr, size_t n, size_t size) {
  void **pp = (void **)pptr;
  if (size && n > SIZE_MAX / size) {
    tl_nomem++;
    return pp_err(PROP_ERR_NOMEM, "out of memory (array of %zu x %zu bytes overflows)", n, size);
  }
  void *q = pp_realloc_raw(*pp, n * size);
  if (!q) {
    tl_nomem++;
    return pp_err(PROP_ERR_NOMEM, "out of memory (growing to %zu bytes)", n * size);
  }
  *pp = q;
  return 0;
}

int pp_reserve_array(void *pptr, size_t *cap, size_t need, size_t size, size_t first) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : (first ? first : 1);
  while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : 2 * ncap;
  PP_TRY(pp_realloc_array(pptr, ncap, size));
  *cap = ncap;
  return 0;
}

char *pp_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = pp_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

char *pp_asprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    pp_err(PROP_ERR_ARG, "bad format");
    return NULL;
  }
  char *s = pp_malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}
