#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void prop_free(void *p) { free(p); }

void *pp_malloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p) pp_err(PROP_ERR_NOMEM, "out of memory (allocating %zu bytes)", size);
  return p;
}

void *pp_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) pp_err(PROP_ERR_NOMEM, "out of memory (allocating %zu x %zu bytes)", n, size);
  return p;
}

void *pp_malloc_array(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) {
    pp_err(PROP_ERR_NOMEM, "out of memory (array of %zu x %zu bytes overflows)", n, size);
    return NULL;
  }
  return pp_malloc(n * size);
}

int pp_realloc_array(void *pptr, size_t n, size_t size) {
  void **pp = (void **)pptr;
  if (size && n > SIZE_MAX / size)
    return pp_err(PROP_ERR_NOMEM, "out of memory (array of %zu x %zu bytes overflows)", n, size);
  size_t bytes = n * size;
  void *q = realloc(*pp, bytes ? bytes : 1);
  if (!q) return pp_err(PROP_ERR_NOMEM, "out of memory (growing to %zu bytes)", n * size);
  *pp = q;
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
