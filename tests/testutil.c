#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tu_path(const char *name) {
  static char slots[8][1024];
  static int next;
  const char *base = getenv("PROP_TEST_TMP");
  if (!base || !*base) base = "/tmp";
  mkdir(base, 0755);
  char *p = slots[next++ % 8];
  snprintf(p, 1024, "%s/t%ld_%s", base, (long)getpid(), name);
  return p;
}

void tu_write(const char *path, const char *text) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  size_t n = strlen(text);
  assert_int_equal(fwrite(text, 1, n, fp), n);
  assert_int_equal(fclose(fp), 0);
}

char *tu_read(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (!s || fread(s, 1, (size_t)n, fp) != (size_t)n) {
    free(s);
    fclose(fp);
    return NULL;
  }
  s[n] = '\0';
  fclose(fp);
  if (len) *len = (size_t)n;
  return s;
}

uint64_t tu_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double tu_uniform(uint64_t *state) { return (double)(tu_rand(state) >> 11) * 0x1.0p-53; }

double tu_normal(uint64_t *state) {
  double u1 = tu_uniform(state), u2 = tu_uniform(state);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void tu_blobs(size_t n, size_t d, double pos_frac, double sep, uint64_t seed, float *X, float *y) {
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++) {
    int c = tu_uniform(&st) < pos_frac;
    y[i] = (float)c;
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)(tu_normal(&st) + (c ? sep : 0.0));
  }
}

double tu_auc_ref(const double *s, const float *y, size_t n) {
  double num = 0, np = 0, nn = 0;
  for (size_t i = 0; i < n; i++) {
    if (y[i] > 0.5f) np++;
    else nn++;
  }
  for (size_t i = 0; i < n; i++) {
    if (y[i] <= 0.5f) continue;
    for (size_t j = 0; j < n; j++) {
      if (y[j] > 0.5f) continue;
      num += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
    }
  }
  return num / (np * nn);
}
