/* xoshiro256** (Blackman and Vigna) seeded through splitmix64. */
#include "common.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void pp_rng_seed(pp_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t pp_rng_next(pp_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double pp_rng_uniform(pp_rng *r) { return (double)(pp_rng_next(r) >> 11) * 0x1.0p-53; }

uint64_t pp_rng_below(pp_rng *r, uint64_t n) {
  if (n == 0) return 0;
  /* Lemire's nearly-divisionless method would need 128-bit products; rejection is simple and
   * unbiased. */
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = pp_rng_next(r);
  while (x >= limit);
  return x % n;
}

double pp_rng_normal(pp_rng *r) {
  double u1, u2;
  do u1 = pp_rng_uniform(r);
  while (u1 <= 0.0);
  u2 = pp_rng_uniform(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void pp_rng_shuffle(pp_rng *r, size_t *a, size_t n) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)pp_rng_below(r, i);
    size_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
  }
}

uint64_t pp_seed_derive(uint64_t master, uint64_t index) {
  uint64_t x = master ^ (index * 0xD1B54A32D192ED03ull);
  splitmix64(&x);
  return splitmix64(&x);
}
