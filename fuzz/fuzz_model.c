/* fuzz/fuzz_model.c: model files.  The input is a model file whose checksums are first made right
 * (fix_checksums), so that damaged contents reach the section loaders instead of stopping at a
 * checksum, which test_io already covers byte by byte.  Promises for any bytes: a status and a
 * message on failure; a model that loads answers every accessor, scores rows in batch and one at a
 * time with the same bits (a probability in [0, 1], or NaN with a status), and saves to bytes that
 * load again and score the same bits. */
#include <math.h>
#include <string.h>

#include <zlib.h>

#include <propensity.h>

#include "fuzz.h"

static uint64_t rd(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
static void wr32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t crc(const uint8_t *p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) { /* zlib's length is a uInt */
    uInt k = n > 0x40000000u ? 0x40000000u : (uInt)n;
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return (uint32_t)c;
}

/* The layout of lib/io/bundle.h: header (magic 8, version 4, count 4, crc of the 16 bytes before
 * it), sections (tag 4, flags 4, length 8, crc of the data, data), trailer ("PEND", crc of all
 * bytes before the trailer).  Fixes what fits in the bytes; leaves the rest for the loader. */
static void fix_checksums(uint8_t *p, size_t len) {
  if (len < 20) return;
  wr32(p + 16, crc(p, 16));
  uint64_t count = rd(p + 12, 4);
  size_t pos = 20;
  for (uint64_t i = 0; i < count && i < 4096; i++) {
    if (len - pos < 20) return;
    uint64_t slen = rd(p + pos + 8, 8);
    if (slen > len - pos - 20) return;
    wr32(p + pos + 16, crc(p + pos + 20, (size_t)slen));
    pos += 20 + (size_t)slen;
  }
  if (len - pos < 8) return;
  memcpy(p + pos, "PEND", 4);
  wr32(p + pos + 4, crc(p, pos));
}

#define NROWS 8

static int same(double a, double b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0; }

/* Scores NROWS probe rows in batch; checks the scorer agrees.  prob/band/status: NROWS entries. */
static void score(const prop_model *m, double *prob, int *band, int *status) {
  size_t d = prop_model_n_inputs(m);
  double *X = calloc(NROWS * d + 1, sizeof *X), *row;
  if (!X) return;
  for (size_t j = 0; j < d; j++) {
    int cat = prop_model_input_type(m, j) == PROP_COL_CATEGORICAL;
    size_t nc = cat ? prop_model_n_categories(m, j) : 0;
    const double probe[NROWS] = {0, NAN, 1, -1, cat ? (double)(nc ? nc - 1 : 0) : 1e6, cat ? 0 : -3.5,
                                 cat ? (double)nc / 2 : 0.25, cat ? 2 : 1e-300};
    for (size_t i = 0; i < NROWS; i++) X[i * d + j] = probe[i];
  }
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = 1;
  int rc = prop_model_predict_dense(m, X, PROP_FLOAT64, NROWS, d, d, prob, band, status, &po);
  fuzz_check_status(rc);
  if (rc != PROP_OK) {
    for (size_t i = 0; i < NROWS; i++) prob[i] = NAN, band[i] = 0, status[i] = -1;
    free(X);
    return;
  }
  size_t nb = prop_model_n_bands(m);
  for (size_t i = 0; i < NROWS; i++) {
    if (status[i] == PROP_OK) {
      FUZZ_CHECK(prob[i] >= 0 && prob[i] <= 1);
      FUZZ_CHECK(band[i] >= 1 && (size_t)band[i] <= nb);
    } else {
      FUZZ_CHECK(isnan(prob[i]) && band[i] == 0);
    }
  }
  prop_scorer *s = NULL;
  rc = prop_scorer_create(m, &s);
  fuzz_check_status(rc);
  if (s) {
    size_t nm = prop_model_n_members(m);
    double *mp = malloc((nm ? nm : 1) * sizeof *mp);
    for (size_t i = 0; i < NROWS; i++) {
      double p1;
      int b1;
      row = X + i * d;
      rc = prop_scorer_score(s, row, &p1, &b1);
      fuzz_check_status(rc);
      FUZZ_CHECK((rc == PROP_OK) == (status[i] == PROP_OK));
      if (rc == PROP_OK) {
        FUZZ_CHECK(same(p1, prob[i]) && b1 == band[i]);
        if (mp) fuzz_check_status(prop_scorer_member_probabilities(s, mp));
      }
    }
    free(mp);
    prop_scorer_free(s);
  }
  free(X);
}

static void exercise(const prop_model *m) {
  size_t d = prop_model_n_inputs(m);
  for (size_t j = 0; j < d; j++) {
    const char *name = prop_model_input_name(m, j);
    FUZZ_CHECK(name != NULL);
    FUZZ_CHECK(prop_model_input_index(m, name) >= 0);
    size_t nc = prop_model_n_categories(m, j);
    for (size_t k = 0; k < nc && k < 64; k++) {
      const char *c = prop_model_category(m, j, k);
      FUZZ_CHECK(c != NULL);
      FUZZ_CHECK(prop_model_category_code(m, j, c) == (double)k);
    }
  }
  FUZZ_CHECK(prop_model_metadata_json(m) != NULL);
  FUZZ_CHECK(prop_model_target(m) != NULL);
  size_t nb = prop_model_n_bands(m);
  const double *e = prop_model_band_edges(m);
  FUZZ_CHECK(nb >= 1 && e != NULL);
  for (size_t b = 0; b < nb; b++) FUZZ_CHECK(e[b] < e[b + 1]);
  for (size_t i = 0; i < prop_model_n_members(m); i++) FUZZ_CHECK(prop_model_member_name(m, i) != NULL);
  double *imp = malloc((d ? d : 1) * sizeof *imp);
  if (imp) {
    const char *who = NULL;
    int rc = prop_model_importance(m, imp, &who);
    fuzz_check_status(rc);
    for (size_t j = 0; rc == PROP_OK && j < d; j++) {
      if (!isfinite(imp[j])) fprintf(stderr, "importance of input %zu from %s: %g\n", j, who ? who : "?", imp[j]);
      FUZZ_CHECK(isfinite(imp[j]));
    }
    free(imp);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *p = malloc(size ? size : 1);
  if (!p) return 0;
  memcpy(p, data, size);
  fix_checksums(p, size);
  prop_model *m = NULL;
  int rc = prop_model_load_from_buffer(p, size, &m);
  fuzz_check_status(rc);
  FUZZ_CHECK((rc == PROP_OK) == (m != NULL));
  free(p);
  if (!m) return 0;
  if (prop_model_n_inputs(m) > 100000) { /* scoring probe rows would only measure the allocator */
    prop_model_free(m);
    return 0;
  }
  exercise(m);
  double p1[NROWS], p2[NROWS];
  int b1[NROWS], b2[NROWS], s1[NROWS], s2[NROWS];
  score(m, p1, b1, s1);
  unsigned char *buf = NULL;
  size_t len = 0;
  rc = prop_model_save_to_buffer(m, &buf, &len);
  fuzz_check_status(rc);
  FUZZ_CHECK(rc == PROP_OK);
  prop_model *m2 = NULL;
  rc = prop_model_load_from_buffer(buf, len, &m2);
  if (rc != PROP_OK) fprintf(stderr, "reload: %s\n", prop_last_error());
  FUZZ_CHECK(rc == PROP_OK);
  score(m2, p2, b2, s2);
  for (size_t i = 0; i < NROWS; i++) FUZZ_CHECK(same(p1[i], p2[i]) && b1[i] == b2[i] && s1[i] == s2[i]);
  free(buf);
  prop_model_free(m2);
  prop_model_free(m);
  return 0;
}
