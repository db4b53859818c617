#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "common.h"

int pp_cpu_avx512f(void) {
#if PP_HAVE_AVX512
  __builtin_cpu_init(); /* idempotent; needed only before libgcc's own constructor has run */
  return __builtin_cpu_supports("avx512f") != 0;
#else
  return 0;
#endif
}

int pp_cpu_avx2(void) {
#if PP_HAVE_AVX512
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
#else
  return 0;
#endif
}

double pp_logit_clamped(double p, double eps) {
  if (p < eps) p = eps;
  else if (p > 1.0 - eps) p = 1.0 - eps;
  return log(p / (1.0 - p));
}

size_t pp_even_block_rows(size_t n, size_t max_rows, size_t min_blocks, size_t nt) {
  if (max_rows == 0) max_rows = 1;
  if (nt == 0) nt = 1;
  size_t nblk = (n + max_rows - 1) / max_rows;
  if (nblk < min_blocks) nblk = min_blocks;
  nblk = (nblk + nt - 1) / nt * nt;
  return nblk ? (n + nblk - 1) / nblk : 0;
}

double pp_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void pp_utc_now_iso8601(char *buf, size_t n) {
  time_t t = time(NULL);
  struct tm tmv;
  gmtime_r(&t, &tmv);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tmv);
}

uint32_t pp_crc32(const void *data, size_t len) {
  uLong c = crc32(0L, Z_NULL, 0);
  const unsigned char *p = data;
  while (len > 0) {
    uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
    c = crc32(c, p, chunk);
    p += chunk;
    len -= chunk;
  }
  return (uint32_t)c;
}

/* ---- numbers, whatever the host program's locale ----------------------------------------------
 * strtod and printf follow LC_NUMERIC, and a program embedding the library may have set it to a
 * locale whose decimal point is a comma (setlocale(LC_ALL, "") in a German session).  Then "1.5"
 * would read as 1 and 0.05 would be written "0,05" for XGBoost, which reads parameters in the C
 * locale.  The library never calls setlocale(); it switches its own thread to the C locale
 * (uselocale, POSIX 2008: thread-local, so other threads are not affected) around the calls. */
static locale_t c_locale_obj;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void make_c_locale(void) { c_locale_obj = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

/* The thread's locale before the switch; (locale_t)0 when nothing was switched. */
static locale_t enter_c_locale(void) {
  pthread_once(&c_locale_once, make_c_locale);
  return c_locale_obj ? uselocale(c_locale_obj) : (locale_t)0;
}
static void leave_c_locale(locale_t old) {
  if (old) uselocale(old);
}

static int ascii_ieq(const char *s, const char *word, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((s[i] | 0x20) != word[i]) return 0;
  return 1;
}

/* Length of the number at s: [digits][.digits][(e|E)[sign]digits] with at least one digit before the
 * exponent, or inf / infinity / nan (any case); 0 when s does not start with one.  No hexadecimal
 * ("0x1A" is text in a data file, not 26), no "nan(...)". */
static size_t number_length(const char *s) {
  size_t i = 0, digits = 0;
  if (ascii_ieq(s, "infinity", 8)) return 8;
  if (ascii_ieq(s, "inf", 3) || ascii_ieq(s, "nan", 3)) return 3;
  while (s[i] >= '0' && s[i] <= '9') i++, digits++;
  if (s[i] == '.') {
    i++;
    while (s[i] >= '0' && s[i] <= '9') i++, digits++;
  }
  if (!digits) return 0;
  if (s[i] == 'e' || s[i] == 'E') {
    size_t j = i + 1;
    if (s[j] == '+' || s[j] == '-') j++;
    if (s[j] < '0' || s[j] > '9') return 0;
    while (s[j] >= '0' && s[j] <= '9') j++;
    i = j;
  }
  return i;
}

int pp_parse_double(const char *s, double *out) {
  if (!s) return -1;
  while (*s == ' ' || *s == '\t') s++;
  const char *p = s + (*s == '+' || *s == '-');
  size_t len = number_length(p);
  if (!len) return -1;
  const char *end = p + len;
  while (*end == ' ' || *end == '\t') end++;
  if (*end) return -1;
  locale_t old = enter_c_locale();
  char *stop;
  double v = strtod(s, &stop);
  leave_c_locale(old);
  if (stop != p + len) return -1; /* cannot happen: the grammar is strtod's own, less hexadecimal */
  *out = v;
  return 0;
}

double pp_strtod_c(const char *s, char **end) {
  locale_t old = enter_c_locale();
  double v = strtod(s, end);
  leave_c_locale(old);
  return v;
}

int pp_snprintf_c(char *buf, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  locale_t old = enter_c_locale();
  int r = vsnprintf(buf, n, fmt, ap);
  leave_c_locale(old);
  va_end(ap);
  return r;
}

const char *pp_shortest(char *buf, double v) {
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, 32, "%.*g", p, v);
    if (strtod(buf, NULL) == v) break;
  }
  return buf;
}

int pp_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double select_kth(double *v, size_t n, size_t k) {
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    double pivot = v[lo + (hi - lo) / 2];
    size_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        if (j == 0) break;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return v[k];
  }
  return v[k];
}

double pp_median_inplace(double *v, size_t n) {
  if (n == 0) return NAN;
  double hi = select_kth(v, n, n / 2);
  if (n % 2) return hi;
  double lo = select_kth(v, n, n / 2 - 1);
  return 0.5 * (lo + hi);
}

/* ---- string map: open addressing with linear probing, FNV-1a ---- */
static uint64_t fnv1a(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

void pp_strmap_init(pp_strmap *m) { memset(m, 0, sizeof *m); }

void pp_strmap_free(pp_strmap *m) {
  if (m->keys)
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

int pp_strmap_get(const pp_strmap *m, const char *key, size_t *val) {
  if (!m->cap) return 0;
  size_t mask = m->cap - 1;
  for (size_t i = (size_t)fnv1a(key) & mask;; i = (i + 1) & mask) {
    if (!m->keys[i]) return 0;
    if (strcmp(m->keys[i], key) == 0) {
      if (val) *val = m->vals[i];
      return 1;
    }
  }
}

static int grow(pp_strmap *m) {
  size_t ncap = m->cap ? m->cap * 2 : 16;
  char **nk = pp_calloc(ncap, sizeof *nk);
  size_t *nv = pp_calloc(ncap, sizeof *nv);
  if (!nk || !nv) {
    free(nk);
    free(nv);
    return PROP_ERR_NOMEM;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i]) continue;
    size_t j = (size_t)fnv1a(m->keys[i]) & (ncap - 1);
    while (nk[j]) j = (j + 1) & (ncap - 1);
    nk[j] = m->keys[i];
    nv[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  m->keys = nk;
  m->vals = nv;
  m->cap = ncap;
  return 0;
}

int pp_strmap_set(pp_strmap *m, const char *key, size_t val) {
  if (m->cap) {
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)fnv1a(key) & mask; m->keys[i]; i = (i + 1) & mask)
      if (strcmp(m->keys[i], key) == 0) {
        m->vals[i] = val;
        return 0;
      }
  }
  return pp_strmap_put(m, key, val, NULL);
}

int pp_strmap_put(pp_strmap *m, const char *key, size_t val, size_t *existing) {
  if ((m->count + 1) * 2 > m->cap) PP_TRY(grow(m));
  size_t mask = m->cap - 1;
  size_t i = (size_t)fnv1a(key) & mask;
  for (; m->keys[i]; i = (i + 1) & mask) {
    if (strcmp(m->keys[i], key) == 0) {
      if (existing) *existing = m->vals[i];
      return 0;
    }
  }
  m->keys[i] = pp_strdup(key);
  if (!m->keys[i]) return PROP_ERR_NOMEM;
  m->vals[i] = val;
  m->count++;
  if (existing) *existing = val;
  return 0;
}
