/* The "knn" member (lib/models/knn.c, knn_predict.c): parameters, neighbours against an exact brute-force
 * reference (random data, duplicates, ties, huge values), distance weights and exact matches,
 * class and sample weights, the row cap, save/load and crafted payloads.
 *
 * The file includes knn.c, knn_predict.c and knn_fused.c themselves (white box) so that it can also
 * check that the two variants of the candidate scan and of the exact distances (portable and AVX-512)
 * make the same decisions, and reach the fused kernel's keys; the member is used through pp_knn_ops
 * as everywhere else. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/knn.c"
#include "models/knn_predict.c"
#include "models/knn_fused.c"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void *parse(const char *js) { return tu_params(&pp_knn_ops, js); }

static void parse_fails(const char *js, const char *must_contain) {
  tu_expect_recipe_error(&pp_knn_ops, "members[4].params", js, must_contain);
}

static void *fit_w(const char *params_json, const float *X, const float *y, const float *w, size_t n, size_t d,
                   int imbalance, uint64_t seed) {
  pp_dataset ds = {X, n, d, y, w, NULL, imbalance};
  pp_ctx c = tu_ctx(seed, 2, NULL);
  return tu_fit(&pp_knn_ops, params_json, &ds, NULL, &c);
}

static double info_num(const void *model, const char *key) { return tu_info_num(&pp_knn_ops, model, key); }

/* Predictions of nq rows three ways (one call on 2 threads, one call on 1 thread, one row at a
 * time with the single-row scratch): all three must agree to the bit. */
static void predict3(const void *m, const float *Q, size_t nq, size_t d, double *out) {
  double *p1 = tu_xmalloc(nq * sizeof *p1), *p2 = tu_xmalloc(nq * sizeof *p2);
  assert_int_equal(pp_knn_ops.predict(m, Q, nq, out, NULL, 2), 0);
  assert_int_equal(pp_knn_ops.predict(m, Q, nq, p1, NULL, 1), 0);
  size_t sb = pp_knn_ops.scratch_bytes(m, 1);
  void *scr = tu_xmalloc(sb);
  for (size_t i = 0; i < nq; i++) assert_int_equal(pp_knn_ops.predict(m, Q + i * d, 1, p2 + i, scr, 1), 0);
  assert_memory_equal(out, p1, nq * sizeof *out);
  assert_memory_equal(out, p2, nq * sizeof *out);
  free(scr);
  free(p1);
  free(p2);
}

/* ---- the exact reference ---------------------------------------------------------------------- */

typedef struct refn {
  double d2;
  size_t i;
} refn;

static int cmp_refn(const void *a, const void *b) {
  const refn *x = a, *y = b;
  if (x->d2 != y->d2) return x->d2 < y->d2 ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

static int cmp_refi(const void *a, const void *b) {
  const refn *x = a, *y = b;
  return (x->i > y->i) - (x->i < y->i);
}

/* All n training rows sorted by (squared distance to q in double, row). */
static refn *ref_sorted(const float *X, size_t n, size_t d, const float *q) {
  refn *v = tu_xmalloc(n * sizeof *v);
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t t = 0; t < d; t++) {
      double u = (double)q[t] - (double)X[i * d + t];
      s += u * u;
    }
    v[i] = (refn){s, i};
  }
  qsort(v, n, sizeof *v, cmp_refn);
  return v;
}

/* P(y = 1) from the sorted rows: the k nearest, votes sw x class weight, distance weights
 * 1 / distance unless some neighbours are exact matches (then only they vote); sums in row
 * order. */
static double ref_vote(const refn *sorted, size_t n, const float *y, const float *sw, size_t k, int distance,
                       double wneg, double wpos) {
  size_t kk = k < n ? k : n, nz = 0;
  refn *v = tu_xmalloc(kk * sizeof *v);
  memcpy(v, sorted, kk * sizeof *v);
  for (size_t i = 0; i < kk; i++) nz += v[i].d2 == 0.0;
  if (distance && nz) {
    size_t z = 0;
    for (size_t i = 0; i < kk; i++)
      if (v[i].d2 == 0.0) v[z++] = v[i];
    kk = z;
  }
  qsort(v, kk, sizeof *v, cmp_refi);
  double a = 0, b = 0;
  for (size_t i = 0; i < kk; i++) {
    int pos = y[v[i].i] > 0.5f;
    double w = (pos ? wpos : wneg) * (sw ? (double)sw[v[i].i] : 1.0);
    if (distance && !nz) w /= sqrt(v[i].d2);
    if (pos) a += w;
    else b += w;
  }
  free(v);
  return a / (a + b);
}

static double ref_prob(const float *X, const float *y, const float *sw, size_t n, size_t d, const float *q, size_t k,
                       int distance, double wneg, double wpos) {
  refn *v = ref_sorted(X, n, d, q);
  double p = ref_vote(v, n, y, sw, k, distance, wneg, wpos);
  free(v);
  return p;
}

/* Sorted neighbours of each of nq queries. */
static refn **ref_all(const float *X, size_t n, size_t d, const float *Q, size_t nq) {
  refn **r = tu_xmalloc(nq * sizeof *r);
  for (size_t i = 0; i < nq; i++) r[i] = ref_sorted(X, n, d, Q + i * d);
  return r;
}

static void ref_free(refn **r, size_t nq) {
  for (size_t i = 0; i < nq; i++) free(r[i]);
  free(r);
}

/* ---- parameters ------------------------------------------------------------------------------- */

static void test_params(void **state) {
  (void)state;
  void *p = parse(NULL);
  json_t *j = pp_knn_ops.params_to_json(p);
  assert_int_equal(json_integer_value(json_object_get(j, "k")), 50);
  assert_string_equal(json_string_value(json_object_get(j, "weights")), "uniform");
  assert_true(json_is_null(json_object_get(j, "class_weight")));
  assert_int_equal(json_integer_value(json_object_get(j, "max_train_rows")), 0);
  char *s = json_dumps(j, JSON_SORT_KEYS);
  void *p2 = parse(s);
  json_t *j2 = pp_knn_ops.params_to_json(p2);
  assert_true(json_equal(j, j2));
  free(s);
  json_decref(j);
  json_decref(j2);
  pp_knn_ops.free_params(p);
  pp_knn_ops.free_params(p2);
  p = parse("{\"k\": 7, \"weights\": \"distance\", \"class_weight\": \"none\", \"max_train_rows\": 100}");
  j = pp_knn_ops.params_to_json(p);
  assert_int_equal(json_integer_value(json_object_get(j, "k")), 7);
  assert_string_equal(json_string_value(json_object_get(j, "weights")), "distance");
  assert_string_equal(json_string_value(json_object_get(j, "class_weight")), "none");
  assert_int_equal(json_integer_value(json_object_get(j, "max_train_rows")), 100);
  json_decref(j);
  pp_knn_ops.free_params(p);

  parse_fails("{\"k\": 0}", "members[4].params.k");
  parse_fails("{\"k\": 10001}", "members[4].params.k");
  parse_fails("{\"k\": 2.5}", "members[4].params.k");
  parse_fails("{\"weights\": \"cosine\"}", "members[4].params.weights");
  parse_fails("{\"class_weight\": \"heavy\"}", "members[4].params.class_weight");
  parse_fails("{\"max_train_rows\": 5}", "members[4].params.max_train_rows");
  parse_fails("{\"max_train_rows\": -1}", "members[4].params.max_train_rows");
  parse_fails("{\"metric\": \"cosine\"}", "members[4].params.metric");
}

/* ---- neighbours ---------------------------------------------------------------------------------- */

/* Fits k neighbours (distance or uniform weights, sample weights w or none) on X, predicts the nq
 * queries Q three ways (predict3) into out and checks every row against the reference ref within
 * tol, and exactly for plain counts (uniform, unweighted) when exact_counts.  Returns the model. */
static void *fit_and_check(const float *X, const float *y, const float *w, size_t n, size_t d, const float *Q,
                           size_t nq, refn *const *ref, size_t k, int dist, double tol, int exact_counts,
                           double *out) {
  char js[128];
  snprintf(js, sizeof js, "{\"k\": %zu, \"weights\": \"%s\"}", k, dist ? "distance" : "uniform");
  void *m = fit_w(js, X, y, w, n, d, PP_IMB_NONE, 1);
  predict3(m, Q, nq, d, out);
  for (size_t i = 0; i < nq; i++) {
    double want = ref_vote(ref[i], n, y, w, k, dist, 1.0, 1.0);
    if (!(fabs(out[i] - want) <= tol)) {
      fprintf(stderr, "k %zu dist %d weighted %d row %zu: %.17g vs %.17g\n", k, dist, w != NULL, i, out[i], want);
      fail();
    }
    if (exact_counts && !dist && !w) assert_true(out[i] == want); /* counts: exact */
  }
  return m;
}

/* Random data, several k, both weightings, random sample weights (so that any difference in
 * the neighbour set shows in the probability). */
static void test_matches_brute_force(void **state) {
  (void)state;
  const size_t n = 3000, d = 7, nq = 200;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *w = tu_xmalloc(n * sizeof *w);
  float *Q = tu_xmalloc(nq * d * sizeof *Q), *yq = tu_xmalloc(nq * sizeof *yq);
  tu_blobs(n, d, 0.3, 0.7, 11, X, y);
  tu_blobs(nq, d, 0.3, 0.7, 12, Q, yq);
  refn **ref = ref_all(X, n, d, Q, nq);
  uint64_t st = 5;
  for (size_t i = 0; i < n; i++) w[i] = (float)(0.5 + tu_uniform(&st));
  double *out = tu_xmalloc(nq * sizeof *out);
  const size_t ks[] = {1, 5, 100, 700};
  for (size_t a = 0; a < sizeof ks / sizeof *ks; a++)
    for (int dist = 0; dist < 2; dist++)
      for (int weighted = 0; weighted < 2; weighted++)
        pp_knn_ops.free_model(fit_and_check(X, y, weighted ? w : NULL, n, d, Q, nq, ref, ks[a], dist, 1e-12, 1, out));
  ref_free(ref, nq);
  free(X);
  free(y);
  free(w);
  free(Q);
  free(yq);
  free(out);
}

/* Values on a coarse grid: distances are small integers, computed exactly by both sides, so
 * ties abound (and duplicates: 300 copies of one row).  The neighbours must be the reference's,
 * ties going to the lower row; the exact scan takes over where the float pass cannot decide. */
static void test_ties_and_duplicates(void **state) {
  (void)state;
  const size_t n = 2000, d = 4, nq = 200;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *w = tu_xmalloc(n * sizeof *w);
  float *Q = tu_xmalloc(nq * d * sizeof *Q);
  uint64_t st = 77;
  for (size_t i = 0; i < n; i++) {
    for (size_t t = 0; t < d; t++) X[i * d + t] = (float)(tu_rand(&st) % 4);
    y[i] = (float)(tu_rand(&st) % 3 == 0);
    w[i] = (float)(1 + tu_rand(&st) % 5);
  }
  for (size_t i = 500; i < 800; i++) /* 300 copies of row 500 */
    memcpy(X + i * d, X + 500 * d, d * sizeof *X);
  for (size_t i = 0; i < nq; i++)
    for (size_t t = 0; t < d; t++) Q[i * d + t] = (float)(tu_rand(&st) % 5) - 0.5f * (float)(i % 2);
  memcpy(Q, X + 500 * d, d * sizeof *Q); /* a query on the duplicated row */
  refn **ref = ref_all(X, n, d, Q, nq);
  size_t same[128], nsame = 0; /* rows equal to it, in order (others may match by chance) */
  for (size_t i = 0; i < n && nsame < 128; i++)
    if (memcmp(X + i * d, Q, d * sizeof *Q) == 0) same[nsame++] = i;
  assert_true(nsame == 128 && same[127] < 800);
  double *out = tu_xmalloc(nq * sizeof *out);
  const size_t ks[] = {3, 25, 100};
  for (size_t a = 0; a < 3; a++)
    for (int dist = 0; dist < 2; dist++)
      for (int weighted = 0; weighted < 2; weighted++) {
        void *m = fit_and_check(X, y, weighted ? w : NULL, n, d, Q, nq, ref, ks[a], dist, 1e-13, 0, out);
        /* the query on the duplicated row: its k neighbours are the first k equal rows */
        double num = 0, den = 0;
        for (size_t i = 0; i < ks[a]; i++) {
          double wi = weighted ? w[same[i]] : 1.0;
          den += wi;
          if (y[same[i]] > 0.5f) num += wi;
        }
        assert_true(fabs(out[0] - num / den) <= 1e-15);
        pp_knn_ops.free_model(m);
      }
  ref_free(ref, nq);
  free(X);
  free(y);
  free(w);
  free(Q);
  free(out);
}

/* ---- one-hot blocks ---------------------------------------------------------------------------- */

/* The answer of today's exact scan (every training row in double), for bit comparisons. */
static double exact_answer(const knn_model *m, const float *x) {
  nbr *v = tu_xmalloc(m->kk * sizeof *v);
  exact_scan(m, x, v);
  double p = vote(m, v, m->kk);
  free(v);
  return p;
}

/* Encoded-like rows: numeric columns (small integers, so many ties) between one-hot blocks of
 * several widths (two of them adjacent, one of 300 levels, one with a level no row takes),
 * duplicated rows; queries that are one-hot and queries that are not (0.5, two 1s, all zeros,
 * 2, -1, a huge value, -0 which is 0).  Every answer equals the exact scan's to the bit on the
 * three predict paths, counts equal the brute-force reference, and a reloaded model finds the
 * same blocks and gives the same bits. */
static void test_onehot_blocks(void **state) {
  (void)state;
  /* layout: num | 5 | num num | 40 | 2 | 2 | 300 | num | 6 (level 3 unused) */
  const size_t lev[] = {5, 40, 2, 2, 300, 6};
  const size_t at[] = {1, 8, 48, 50, 52, 353}; /* first column of each block */
  const size_t numc[] = {0, 6, 7, 352};
  const size_t n = 3000, d = 359, nq = 260, nblk = 6;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *w = tu_xmalloc(n * sizeof *w);
  float *Q = tu_xmalloc(nq * d * sizeof *Q);
  uint64_t st = 4242;
  memset(X, 0, n * d * sizeof *X);
  for (size_t i = 0; i < n; i++) {
    float *x = X + i * d;
    for (size_t c = 0; c < 4; c++) x[numc[c]] = (float)(tu_rand(&st) % 3) - 1.0f;
    for (size_t b = 0; b < nblk; b++) {
      size_t l = tu_rand(&st) % lev[b];
      if (b == 1) l = tu_rand(&st) % 4 == 0 ? l : l % 3; /* skewed: many equal codes */
      if (b == 5 && l == 3) l = 4;
      x[at[b] + l] = 1.0f;
    }
    y[i] = (float)(tu_rand(&st) % 3 == 0);
    w[i] = (float)(1 + tu_rand(&st) % 4);
  }
  for (size_t i = 1000; i < 1200; i++) memcpy(X + i * d, X + 999 * d, d * sizeof *X); /* 201 equal rows */
  for (size_t i = 0; i < nq; i++) {
    if (i % 3 == 0) memcpy(Q + i * d, X + (tu_rand(&st) % n) * d, d * sizeof *Q); /* a training row */
    else memcpy(Q + i * d, X + (tu_rand(&st) % n) * d, d * sizeof *Q), Q[i * d] = (float)(tu_rand(&st) % 5) - 2.0f;
    float *q = Q + i * d;
    size_t b = tu_rand(&st) % nblk, c = at[b] + tu_rand(&st) % lev[b];
    switch (i % 13) {
      case 1: q[c] = 0.5f; break;                                     /* not 0 or 1 */
      case 2: q[c] = 1.0f; q[at[b]] = 1.0f; q[at[b] + 1] = 1.0f; break; /* two (or three) 1s */
      case 3: memset(q + at[b], 0, lev[b] * sizeof *q); break;          /* all zeros */
      case 4: q[c] = q[c] == 1.0f ? 2.0f : -1.0f; break;
      case 5: if (q[c] == 0.0f) q[c] = -0.0f; break;                    /* still one-hot */
      case 6: if (i == 6) q[6] = 3e20f; break;                          /* the exact scan */
      default: break;
    }
  }
  memcpy(Q + 3 * d, X + 999 * d, d * sizeof *Q); /* a query on the duplicated row */
  refn **ref = ref_all(X, n, d, Q, nq);
  double *out = tu_xmalloc(nq * sizeof *out);
  const size_t ks[] = {1, 7, 60, 250};
  for (size_t a = 0; a < 4; a++)
    for (int dist = 0; dist < 2; dist++)
      for (int weighted = 0; weighted < 2; weighted++) {
        void *mv = fit_and_check(X, y, weighted ? w : NULL, n, d, Q, nq, ref, ks[a], dist, 1e-12, 1, out);
        const knn_model *m = mv;
        assert_int_equal(m->nb, nblk);
        assert_int_equal(m->dd, 4);
        for (size_t b = 0; b < nblk; b++) {
          assert_int_equal(m->bstart[b], at[b]);
          assert_int_equal(m->blen[b], lev[b]);
        }
        for (size_t i = 0; i < nq; i++) {
          double e = exact_answer(m, Q + i * d);
          if (memcmp(&e, &out[i], sizeof e) != 0) {
            fprintf(stderr, "one-hot: k %zu dist %d weighted %d row %zu: %.17g, exact scan %.17g\n", ks[a], dist,
                    weighted, i, out[i], e);
            fail();
          }
        }
        if (a == 0 && !dist && !weighted) { /* both variants of the correction agree */
          const size_t nt = 1001, j0 = 37;
          float *c1 = tu_xmalloc(nt * sizeof *c1), *c2 = tu_xmalloc(nt * sizeof *c2);
          uint16_t *cn = tu_xmalloc(nt * sizeof *cn), qc[6] = {1, 2, 0, 1, 17, 4};
          for (size_t j = 0; j < nt; j++) c1[j] = c2[j] = 0.37f * (float)j - 100.0f;
          onehot_correct_base(m, qc, j0, nt, cn, c1);
#if KNN_HAVE_AVX512
          if (__builtin_cpu_supports("avx512bw")) onehot_correct_avx512(m, qc, j0, nt, cn, c2);
          else onehot_correct_base(m, qc, j0, nt, cn, c2);
#else
          onehot_correct_base(m, qc, j0, nt, cn, c2);
#endif
          assert_memory_equal(c1, c2, nt * sizeof *c1);
          for (size_t j = 0; j < nt; j++) {
            size_t eq = 0;
            for (size_t b = 0; b < nblk; b++) eq += X[(j0 + j) * d + at[b] + qc[b]] == 1.0f;
            assert_true(c1[j] == (0.37f * (float)j - 100.0f) - 2.0f * (float)eq);
          }
          free(c1);
          free(c2);
          free(cn);
        }
        if (a == 2 && dist && weighted) { /* save/load: same blocks, same bits */
          pp_buf b;
          void *lv = tu_reload(&pp_knn_ops, mv, d, &b);
          const knn_model *l = lv;
          assert_int_equal(l->nb, nblk);
          assert_memory_equal(l->code, m->code, nblk * n * sizeof *m->code);
          double *o2 = tu_xmalloc(nq * sizeof *o2);
          predict3(lv, Q, nq, d, o2);
          assert_memory_equal(out, o2, nq * sizeof *out);
          free(o2);
          pp_knn_ops.free_model(lv);
          pp_buf_free(&b);
        }
        pp_knn_ops.free_model(mv);
      }
  /* a NaN is refused as before */
  void *m = fit_w("{\"k\": 5}", X, y, NULL, n, d, PP_IMB_NONE, 1);
  Q[7 * d + 10] = NAN;
  assert_int_equal(pp_knn_ops.predict(m, Q, nq, out, NULL, 1), PROP_ERR_VALUE);
  pp_knn_ops.free_model(m);
  ref_free(ref, nq);
  free(X);
  free(y);
  free(w);
  free(Q);
  free(out);
}

/* The nq answers of model mv on the three predict paths (predict3) with the fused kernel equal those with
 * sgemm tiles (knn_no_fused) and the exact scan's, bit for bit; o1, o2 hold nq doubles; label names the
 * model in a failure. */
static void fused_is_exact(void *mv, const float *Q, size_t nq, size_t d, double *o1, double *o2, const char *label) {
  predict3(mv, Q, nq, d, o1);
  knn_no_fused = 1;
  predict3(mv, Q, nq, d, o2);
  knn_no_fused = 0;
  assert_memory_equal(o1, o2, nq * sizeof *o1);
  for (size_t i = 0; i < nq; i++) {
    double e = exact_answer(mv, Q + i * d);
    if (memcmp(&e, &o1[i], sizeof e) != 0) {
      fprintf(stderr, "fused (%s): row %zu: %.17g, exact scan %.17g\n", label, i, o1[i], e);
      fail();
    }
  }
}

/* Narrow operands take the fused key kernel (pp_knn_keys_offer_avx512 on At and Adt, where the CPU has
 * AVX-512): 3 dense columns and one-hot blocks of 4, 3 and 5 (d = 15), n not a multiple of 32
 * (padding rows), queries on both float passes (one-hot and not), duplicates.  Every answer is
 * the exact scan's, and the same bits as with the kernel turned off (pp_dots tiles). */
static void test_fused_narrow(void **state) {
  (void)state;
  const size_t lev[] = {4, 3, 5}, at[] = {2, 6, 10}, numc[] = {0, 1, 9};
  const size_t n = 2501, d = 15, nq = 230;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *Q = tu_xmalloc(nq * d * sizeof *Q);
  uint64_t st = 77;
  memset(X, 0, n * d * sizeof *X);
  for (size_t i = 0; i < n; i++) {
    float *x = X + i * d;
    for (size_t c = 0; c < 3; c++) x[numc[c]] = c == 2 ? (float)(tu_rand(&st) % 3) : (float)tu_normal(&st);
    for (size_t b = 0; b < 3; b++) x[at[b] + tu_rand(&st) % lev[b]] = 1.0f;
    y[i] = (float)(tu_rand(&st) % 3 == 0);
  }
  for (size_t i = 500; i < 700; i++) memcpy(X + i * d, X + 499 * d, d * sizeof *X); /* 201 equal rows */
  for (size_t i = 0; i < nq; i++) {
    float *q = Q + i * d;
    memcpy(q, X + (tu_rand(&st) % n) * d, d * sizeof *q);
    if (i % 4 == 1) q[0] += (float)tu_normal(&st) * 0.1f;
    if (i % 7 == 2) q[at[1] + tu_rand(&st) % 3] = 0.5f; /* the full path */
    if (i % 11 == 3) q[9] = 1e6f;                        /* far away */
  }
  memcpy(Q + 5 * d, X + 499 * d, d * sizeof *Q);
  double *o1 = tu_xmalloc(nq * sizeof *o1), *o2 = tu_xmalloc(nq * sizeof *o2);
  const size_t ks[] = {1, 7, 60, 250};
  for (size_t a = 0; a < 4; a++)
    for (int dist = 0; dist < 2; dist++) {
      char js[128];
      snprintf(js, sizeof js, "{\"k\": %zu, \"weights\": \"%s\"}", ks[a], dist ? "distance" : "uniform");
      void *mv = fit_w(js, X, y, NULL, n, d, PP_IMB_NONE, 1);
      const knn_model *m = mv;
      assert_int_equal(m->nb, 3);
      assert_int_equal(m->dd, 3);
      assert_non_null(m->At);
      assert_non_null(m->Adt);
      assert_int_equal(m->np, 2560);
      fused_is_exact(mv, Q, nq, d, o1, o2, js);
      pp_knn_ops.free_model(mv);
    }
  free(X);
  free(y);
  free(Q);
  free(o1);
  free(o2);
}

/* The fused kernel compares categories as codes: one byte each for wide survey-like rows (90 blocks of 2 to
 * 10 levels and 2 numeric columns: code8p), two bytes when a block has more than 256 columns (code16p).
 * Queries in blocks of 4, then single ones (nq = 4 k + 1..3 and one row at a time), rows tied on many
 * categories, queries that leave a block (the full path): every answer is the exact scan's and the same
 * bits as with pp_dots tiles and the counting loop of the one-hot path. */
static void test_fused_codes(void **state) {
  (void)state;
  const size_t n = 1203, nq = 103;
  float *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 91;
  for (int wide16 = 0; wide16 < 2; wide16++) {
    const size_t nblk = wide16 ? 3 : 90;
    size_t lev[90], d = 2;
    for (size_t b = 0; b < nblk; b++) {
      lev[b] = wide16 && b == 1 ? 300 : 2 + b % 9;
      d += lev[b];
    }
    float *X = tu_xmalloc(n * d * sizeof *X), *Q = tu_xmalloc(nq * d * sizeof *Q);
    memset(X, 0, n * d * sizeof *X);
    for (size_t i = 0; i < n; i++) {
      float *x = X + i * d;
      x[0] = (float)(tu_rand(&st) % 4); /* small integers: ties */
      x[1] = (float)tu_normal(&st);
      size_t at = 2, same = tu_rand(&st) % 3; /* a third of the rows share their first categories */
      for (size_t b = 0; b < nblk; b++) {
        const size_t c = same == 0 && b < nblk / 2 ? 0 : (b == 1 && wide16 ? 255 + tu_rand(&st) % 45 : tu_rand(&st) % lev[b]);
        x[at + c] = 1.0f;
        at += lev[b];
      }
      y[i] = (float)((x[2] > 0.5f) ^ (tu_rand(&st) % 4 == 0));
    }
    for (size_t i = 0; i < nq; i++) {
      float *q = Q + i * d;
      memcpy(q, X + (tu_rand(&st) % n) * d, d * sizeof *q);
      if (i % 3 == 1) q[1] += 0.25f;
      if (i % 10 == 7) q[2] = 0.5f; /* the full path */
    }
    double *o1 = tu_xmalloc(nq * sizeof *o1), *o2 = tu_xmalloc(nq * sizeof *o2);
    const size_t ks[] = {5, 100};
    for (size_t a = 0; a < 2; a++)
      for (int dist = 0; dist < 2; dist++) {
        char js[128];
        snprintf(js, sizeof js, "{\"k\": %zu, \"weights\": \"%s\"}", ks[a], dist ? "distance" : "uniform");
        void *mv = fit_w(js, X, y, NULL, n, d, PP_IMB_NONE, 1);
        const knn_model *m = mv;
        assert_int_equal(m->nb, nblk);
        assert_int_equal(m->dd, 2);
        assert_non_null(m->Adt);
        assert_true(wide16 ? m->code16p != NULL && m->code8p == NULL : m->code8p != NULL && m->code16p == NULL);
        char label[160];
        snprintf(label, sizeof label, "%s, %s codes", js, wide16 ? "16-bit" : "byte");
        fused_is_exact(mv, Q, nq, d, o1, o2, label); /* 103 rows: 4 at a time, then 3 single ones; one at a time */
        pp_knn_ops.free_model(mv);
      }
    free(o1);
    free(o2);
    free(X);
    free(Q);
  }
  free(y);
}

/* Rows for the wide fused kernel: n rows of d columns, normal values, small integers in column 3
 * (ties), rows 100..160 copies of row 10 (tied duplicates); with big >= 1, column 2 at 1e6 plus noise
 * (cancellation in the keys); with big = 2, column 1 also at one of three values near KNN_VALUE_MAX
 * (rows sharing it differ by less than the keys' error bound, so the float pass cannot order them and
 * the exact pass must); with onehot, columns 4..8 and 9..11 are one-hot blocks. */
static void wide_rows(float *X, size_t n, size_t d, int onehot, int big, uint64_t *st) {
  for (size_t i = 0; i < n; i++) {
    float *x = X + i * d;
    for (size_t t = 0; t < d; t++) x[t] = (float)tu_normal(st);
    if (big == 2) x[1] = (float)(KNN_VALUE_MAX * (0.5 + 0.25 * (double)(tu_rand(st) % 3)));
    if (big >= 1) x[2] = 1e6f + (float)tu_normal(st);
    x[3] = (float)(tu_rand(st) % 3);
    if (onehot) {
      memset(x + 4, 0, 8 * sizeof *x);
      x[4 + tu_rand(st) % 5] = 1.0f;
      x[9 + tu_rand(st) % 3] = 1.0f;
    }
  }
  for (size_t i = 100; i < 161 && i < n; i++) memcpy(X + i * d, X + 10 * d, d * sizeof *X);
}

/* Queries for wide_rows: copies of training rows (some moved a little), the duplicated row, a value
 * of exactly KNN_VALUE_MAX (still the float pass) and one beyond it (the exact scan). */
static void wide_queries(float *Q, size_t nq, const float *X, size_t n, size_t d, uint64_t *st) {
  for (size_t i = 0; i < nq; i++) {
    float *q = Q + i * d;
    memcpy(q, X + (tu_rand(st) % n) * d, d * sizeof *q);
    if (i % 3 == 1)
      for (size_t t = 12; t < d; t += 7) q[t] += 0.3f * (float)tu_normal(st);
  }
  memcpy(Q + 4 * d, X + 10 * d, d * sizeof *Q);
  Q[5 * d + 1] = (float)KNN_VALUE_MAX; /* the float pass */
  Q[6 * d + 20] = 3e15f;               /* the exact scan */
}

/* The fused kernel at widths 33 to 200 (d + 1; 129 is one width block of 128 columns, 130 and more
 * two), on n = 645 rows (not a multiple of the panel's 64) of wide_rows' three kinds (plain, where
 * the float keys decide, and with values around 1e6 and near KNN_VALUE_MAX, where the keys' error
 * bound does), duplicates, on both float passes (the one-hot path's dense part is
 * wider than 32 too): every answer, with uniform and distance weights and random sample weights (so
 * that another set of neighbours would give another probability), is the exact scan's and the
 * same bits as with pp_dots tiles (knn_no_fused), on the three predict paths (47 rows: 4 at a
 * time, then 3 single ones; one at a time). */
static void test_fused_wide(void **state) {
  (void)state;
  const size_t ds[] = {32, 46, 63, 64, 99, 128, 129, 160, 199}, n = 645, nq = 47;
  uint64_t st = 2026;
  for (size_t a = 0; a < sizeof ds / sizeof *ds; a++)
    for (int kind = 0; kind < 6; kind++) {
      const size_t d = ds[a];
      const int onehot = kind % 2, big = kind / 2;
      float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *sw = tu_xmalloc(n * sizeof *sw);
      float *Q = tu_xmalloc(nq * d * sizeof *Q);
      double *o1 = tu_xmalloc(nq * sizeof *o1), *o2 = tu_xmalloc(nq * sizeof *o2);
      wide_rows(X, n, d, onehot, big, &st);
      for (size_t i = 0; i < n; i++) {
        y[i] = (float)((X[i * d] > 0) ^ (tu_rand(&st) % 5 == 0));
        sw[i] = 0.5f + (float)(tu_rand(&st) % 1000) / 1000.0f;
      }
      wide_queries(Q, nq, X, n, d, &st);
      const char *js[] = {"{\"k\": 1}", "{\"k\": 9, \"weights\": \"distance\"}", "{\"k\": 70}"};
      for (size_t c = 0; c < 3; c++) {
        void *mv = fit_w(js[c], X, y, c == 2 ? sw : NULL, n, d, PP_IMB_NONE, 1);
        const knn_model *m = mv;
        assert_int_equal(m->nb, onehot ? 2 : 0);
        assert_int_equal(m->np, 704);
        char label[160];
        snprintf(label, sizeof label, "d %zu, %s, big %d, %s", d, onehot ? "one-hot" : "dense", big, js[c]);
        fused_is_exact(mv, Q, nq, d, o1, o2, label);
        pp_knn_ops.free_model(mv);
      }
      free(X);
      free(y);
      free(sw);
      free(Q);
      free(o1);
      free(o2);
    }
}

#if KNN_HAVE_AVX512
/* Every key of the fused kernel (pp_knn_keys_offer_avx512 called directly, threshold +inf and room for all
 * rows, so each training row is offered once) for the nq rows Q (of its width, [x, 1] or
 * [x_dense, 1] with the codes qc) into keys[i n + j]. */
static void fused_keys(const knn_model *m, int onehot, const float *Q, const uint16_t *qc, size_t nq, float *keys) {
  const size_t n = m->n, bc = m->np + 64;
  qbuf *qb = tu_xmalloc(nq * sizeof *qb);
  float *kb = tu_xmalloc(nq * bc * sizeof *kb), *part = tu_xmalloc(nq * 64 * sizeof *part);
  uint32_t *ib = tu_xmalloc(nq * bc * sizeof *ib);
  unsigned char *ok = tu_xmalloc(nq), *seen = tu_xmalloc(n);
  for (size_t i = 0; i < nq; i++) {
    qb[i] = (qbuf){kb + i * bc, ib + i * bc, 0, INFINITY, -INFINITY, INFINITY};
    ok[i] = 1;
  }
  const fused_op f = {onehot ? m->Adt : m->At, m->np, onehot ? m->dd + 1 : m->d + 1, Q, onehot ? m->code8p : NULL,
                      onehot ? m->code16p : NULL, qc, onehot ? m->nb : 0, part, NULL};
  pp_knn_keys_offer_avx512(qb, ok, nq, bc, m->kc, m->kmax, &f);
  for (size_t i = 0; i < nq; i++) {
    assert_int_equal(qb[i].cnt, n); /* the padding rows' keys are +inf: never offered */
    memset(seen, 0, n);
    for (size_t c = 0; c < n; c++) {
      const uint32_t j = qb[i].idx[c];
      assert_true(j < n && !seen[j]);
      seen[j] = 1;
      keys[i * n + j] = qb[i].key[c];
    }
  }
  free(qb);
  free(kb);
  free(part);
  free(ib);
  free(ok);
  free(seen);
}
#endif

/* The error bound that predict_block relies on, for the fused kernel's keys: each key is within
 * B = (d + 3) 2^-23 (|x|^2 + 3 |y|^2) of |y|^2 - 2 x.y computed in double from the same float
 * inputs (y = -A / 2 exactly), on rows of wide_rows' three kinds (plain, where B is small and a
 * wrong term would show; cancellation around 1e6; values near KNN_VALUE_MAX) at widths 33 to 200,
 * on the full path and the one-hot path (whose key is the same real number).  The keys are not all
 * exact (the bound is not met trivially by equal arithmetic). */
static void test_fused_key_bound(void **state) {
  (void)state;
#if KNN_HAVE_AVX512
  if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("popcnt")))
    skip();
  const size_t ds[] = {32, 99, 128, 129, 199}, n = 645, nq = 23;
  uint64_t st = 4711;
  for (size_t a = 0; a < sizeof ds / sizeof *ds; a++)
    for (int kind = 0; kind < 6; kind++) {
      const size_t d = ds[a];
      const int onehot = kind % 2, big = kind / 2;
      float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *Q = tu_xmalloc(nq * d * sizeof *Q);
      wide_rows(X, n, d, onehot, big, &st);
      for (size_t i = 0; i < n; i++) y[i] = (float)(i % 2);
      wide_queries(Q, nq, X, n, d, &st);
      Q[6 * d + 20] = 0.5f; /* within KNN_VALUE_MAX: the kernel takes every query here */
      knn_model *m = fit_w("{\"k\": 3}", X, y, NULL, n, d, PP_IMB_NONE, 1);
      assert_int_equal(m->nb, onehot ? 2 : 0);
      const size_t w = onehot ? m->dd + 1 : d + 1;
      float *Qw = tu_xmalloc(nq * w * sizeof *Qw), *keys = tu_xmalloc(nq * n * sizeof *keys);
      uint16_t *qc = tu_xmalloc(nq * 2 * sizeof *qc);
      for (size_t i = 0; i < nq; i++) {
        const float *x = Q + i * d;
        if (onehot) {
          assert_true(query_onehot(m, x, qc + i * 2));
          for (size_t t = 0; t < m->dd; t++) Qw[i * w + t] = x[m->dcol[t]];
        } else {
          memcpy(Qw + i * w, x, d * sizeof *x);
        }
        Qw[i * w + w - 1] = 1.0f;
      }
      fused_keys(m, onehot, Qw, qc, nq, keys);
      double worst = 0;
      size_t inexact = 0;
      for (size_t i = 0; i < nq; i++)
        for (size_t j = 0; j < n; j++) {
          const float *x = Q + i * d, *aj = m->A + j * (d + 1);
          double xx = 0, yy = 0, xy = 0;
          for (size_t t = 0; t < d; t++) {
            const double yt = -0.5 * (double)aj[t];
            xx += (double)x[t] * (double)x[t];
            yy += yt * yt;
            xy += (double)x[t] * yt;
          }
          const double truth = yy - 2.0 * xy, B = (double)(d + 3) * 0x1p-23 * (xx + 3.0 * yy);
          const double err = fabs((double)keys[i * n + j] - truth);
          if (!(err <= B)) {
            fprintf(stderr, "d %zu %s big %d: query %zu row %zu: key %.9g, in double %.17g, bound %.3g\n", d,
                    onehot ? "one-hot" : "dense", big, i, j, (double)keys[i * n + j], truth, B);
            fail();
          }
          if (err / B > worst) worst = err / B;
          inexact += err > 0;
        }
      assert_true(inexact > 0 && worst > 0);
      pp_knn_ops.free_model(m);
      free(X);
      free(y);
      free(Q);
      free(Qw);
      free(keys);
      free(qc);
    }
#else
  skip();
#endif
}

/* pp_knn_key_pass, the float pass's distance kernel alone (for bench_knn_gemm): each row's smallest key
 * is within the keys' error bound of the smallest |y|^2 - 2 x.y in double, with the fused kernel and
 * with pp_dots tiles (knn_no_fused), on the full path, the one-hot path and a block mixing both (a row
 * with 0.5 in a one-hot block; a wrong path's keys would miss by far more than the bound); with the
 * fused kernel it is the smallest of the very keys the float pass offers (fused_keys), bit for bit.  A row
 * beyond KNN_VALUE_MAX gets NAN; a NaN input fails naming its row. */
static void test_key_pass(void **state) {
  (void)state;
  const size_t ds[] = {22, 61, 199}, n = 645, nq = 23;
  uint64_t st = 77;
  for (size_t a = 0; a < sizeof ds / sizeof *ds; a++)
    for (int onehot = 0; onehot < 2; onehot++) {
      const size_t d = ds[a];
      float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *Q = tu_xmalloc(nq * d * sizeof *Q);
      float *kmin = tu_xmalloc(nq * sizeof *kmin);
      wide_rows(X, n, d, onehot, 0, &st);
      for (size_t i = 0; i < n; i++) y[i] = (float)(i % 2);
      wide_queries(Q, nq, X, n, d, &st);
      Q[6 * d + 20] = 0.5f; /* no row for the exact scan here (see below) */
      if (onehot) {
        /* rows 7 (on the full path: 0.5 in a block) and 8 (one-hot path) with every key above the smallest
         * |y|^2 (column 3 of the rows moved to 1..3, the queries' -5, their other numeric columns 0): the
         * keys of a zero query, which each pass makes for the other path's rows, must not reach them */
        for (size_t i = 0; i < n; i++) X[i * d + 3] += 1.0f;
        for (size_t i = 7; i <= 8; i++)
          for (size_t t = 0; t < d; t++)
            if (t < 4 || t >= 12) Q[i * d + t] = t == 3 ? -5.0f : 0.0f;
        Q[7 * d + 4] = 0.5f;
      }
      knn_model *m = fit_w("{\"k\": 3}", X, y, NULL, n, d, PP_IMB_NONE, 1);
      assert_int_equal(m->nb, onehot ? 2 : 0);
      double yymax = 0;
      for (size_t j = 0; j < n; j++) {
        double yy = 0;
        for (size_t t = 0; t < d; t++) yy += 0.25 * (double)m->A[j * (d + 1) + t] * (double)m->A[j * (d + 1) + t];
        if (yy > yymax) yymax = yy;
      }
      for (int fused = 0; fused < 2; fused++) {
        knn_no_fused = !fused;
        memset(kmin, 0, nq * sizeof *kmin);
        assert_int_equal(pp_knn_key_pass(m, Q, nq, kmin), 0);
        knn_no_fused = 0;
        for (size_t i = 0; i < nq; i++) {
          const float *x = Q + i * d;
          double xx = 0, best = INFINITY;
          for (size_t t = 0; t < d; t++) xx += (double)x[t] * (double)x[t];
          for (size_t j = 0; j < n; j++) {
            double yy = 0, xy = 0;
            for (size_t t = 0; t < d; t++) {
              const double yt = -0.5 * (double)m->A[j * (d + 1) + t];
              yy += yt * yt;
              xy += (double)x[t] * yt;
            }
            if (yy - 2.0 * xy < best) best = yy - 2.0 * xy;
          }
          const double B = (double)(d + 3) * 0x1p-23 * (xx + 3.0 * yymax);
          if (!(fabs((double)kmin[i] - best) <= B)) {
            fprintf(stderr, "d %zu %s %s: row %zu: smallest key %.9g, in double %.17g, bound %.3g\n", d,
                    onehot ? "one-hot" : "dense", fused ? "fused" : "tiles", i, (double)kmin[i], best, B);
            fail();
          }
        }
#if KNN_HAVE_AVX512
        kernels kn;
        pick_kernels(&kn);
        if (fused && kn.fused) {
          const size_t w = onehot ? m->dd + 1 : d + 1;
          float *Qw = tu_xmalloc(nq * w * sizeof *Qw), *keys = tu_xmalloc(nq * n * sizeof *keys);
          uint16_t *qc = tu_xmalloc(nq * 2 * sizeof *qc);
          for (size_t i = 0; i < nq; i++) {
            const float *x = Q + i * d;
            if (onehot && query_onehot(m, x, qc + i * 2)) {
              for (size_t t = 0; t < m->dd; t++) Qw[i * w + t] = x[m->dcol[t]];
            } else if (onehot) { /* row 7: on the full path, checked by the bound only */
              assert_int_equal(i, 7);
              memset(Qw + i * w, 0, w * sizeof *Qw);
            } else {
              memcpy(Qw + i * w, x, d * sizeof *x);
            }
            Qw[i * w + w - 1] = 1.0f;
          }
          fused_keys(m, onehot, Qw, qc, nq, keys);
          for (size_t i = 0; i < nq; i++) {
            if (onehot && i == 7) continue;
            float lo = INFINITY;
            for (size_t j = 0; j < n; j++) lo = keys[i * n + j] < lo ? keys[i * n + j] : lo;
            assert_true(kmin[i] == lo);
          }
          free(Qw);
          free(keys);
          free(qc);
        }
#endif
      }
      /* beyond KNN_VALUE_MAX: no key (the exact scan answers it in predict); NaN: an error naming the row */
      Q[6 * d + 20] = 3e15f;
      assert_int_equal(pp_knn_key_pass(m, Q, nq, kmin), 0);
      assert_true(isnan(kmin[6]) && !isnan(kmin[5]));
      Q[9 * d + 3] = NAN;
      assert_int_equal(pp_knn_key_pass(m, Q, nq, kmin), PROP_ERR_VALUE);
      assert_non_null(strstr(prop_last_error(), "row 9 "));
      assert_int_equal(pp_knn_key_pass(m, NULL, nq, kmin), PROP_ERR_ARG);
      pp_knn_ops.free_model(m);
      free(X);
      free(y);
      free(Q);
      free(kmin);
    }
}

/* Block detection: only groups with exactly one 1 per row. */
static void test_onehot_detection(void **state) {
  (void)state;
  const size_t n = 50, d = 8;
  float X[50 * 8], y[50];
  for (size_t i = 0; i < n; i++) {
    float *x = X + i * d;
    memset(x, 0, d * sizeof *x);
    x[i % 3] = 1.0f;                 /* columns 0-2: a block */
    x[3] = (float)(i % 2);           /* 3-4: multi-hot (row 0 holds two 1s) */
    x[4] = (float)(i % 5 == 0);
    x[5 + i % 2] = i == 7 ? 0.0f : 1.0f; /* 5-6: row 7 holds no 1 */
    x[7] = 0.25f * (float)i;
    y[i] = (float)(i % 2);
  }
  knn_model *m = fit_w("{\"k\": 3}", X, y, NULL, n, d, PP_IMB_NONE, 1);
  assert_int_equal(m->nb, 1);
  assert_int_equal(m->bstart[0], 0);
  assert_int_equal(m->blen[0], 3);
  assert_int_equal(m->dd, 5);
  pp_knn_ops.free_model(m);
  for (size_t i = 0; i < n; i++) X[i * d + 1] = X[i * d + 1] == 1.0f ? 0.999f : 0.0f; /* not 0/1 */
  m = fit_w("{\"k\": 3}", X, y, NULL, n, d, PP_IMB_NONE, 1);
  assert_int_equal(m->nb, 0);
  assert_true(m->Ad == NULL && m->code == NULL);
  pp_knn_ops.free_model(m);
}

/* Wide rows (300 columns: the fused kernel's three width blocks where the CPU has AVX-512, else
 * dot-product tiles), one column, and query values too large for the float pass. */
static void test_shapes_and_huge_values(void **state) {
  (void)state;
  const size_t shapes[][3] = {{600, 300, 20}, {500, 1, 50}, {40, 3, 10}};
  for (size_t s = 0; s < 3; s++) {
    size_t n = shapes[s][0], d = shapes[s][1], nq = shapes[s][2];
    float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *Q = tu_xmalloc(nq * d * sizeof *Q);
    float *yq = tu_xmalloc(nq * sizeof *yq);
    tu_blobs(n, d, 0.4, 0.5, 100 + s, X, y);
    tu_blobs(nq, d, 0.4, 0.5, 200 + s, Q, yq);
    Q[0] = 3e20f;  /* beyond the float pass: answered by the exact scan */
    Q[d] = -1e30f;
    void *m = fit_w("{\"k\": 15}", X, y, NULL, n, d, PP_IMB_NONE, 1);
    double *out = tu_xmalloc(nq * sizeof *out);
    predict3(m, Q, nq, d, out);
    for (size_t i = 0; i < nq; i++)
      assert_true(out[i] == ref_prob(X, y, NULL, n, d, Q + i * d, 15, 0, 1.0, 1.0));
    pp_knn_ops.free_model(m);
    free(X);
    free(y);
    free(Q);
    free(yq);
    free(out);
  }
}

/* With distance weights an exact match takes all the weight; otherwise 1 / distance. */
static void test_distance_weights(void **state) {
  (void)state;
  const size_t d = 2;
  float X[] = {0, 0, 1, 0, 0, 2, 5, 5, 1, 0, 1, 0, 3, 3};
  float y[] = {0, 1, 0, 1, 0, 1, 0};
  const size_t n = 7;
  void *m = fit_w("{\"k\": 5, \"weights\": \"distance\"}", X, y, NULL, n, d, PP_IMB_NONE, 1);
  double p;
  /* (1, 0) is rows 1 (y 1), 4 (y 0) and 5 (y 1): only they vote */
  float q1[] = {1, 0};
  assert_int_equal(pp_knn_ops.predict(m, q1, 1, &p, NULL, 1), 0);
  assert_true(p == 2.0 / 3.0);
  /* (0, 0) matches row 0 alone (y 0) */
  float q0[] = {0, 0};
  assert_int_equal(pp_knn_ops.predict(m, q0, 1, &p, NULL, 1), 0);
  assert_true(p == 0.0);
  /* (0, 1): distances 1 (row 0), sqrt2 (rows 1, 4, 5), 1 (row 2); k = 5 takes rows 0, 2, 1, 4, 5 */
  float qh[] = {0, 1};
  assert_int_equal(pp_knn_ops.predict(m, qh, 1, &p, NULL, 1), 0);
  double r2 = 1.0 / sqrt(2.0), want = (r2 + r2) / (1.0 + 1.0 + r2 + r2 + r2);
  assert_true(fabs(p - want) <= 1e-15);
  /* uniform: (1, 0) with k = 3 counts rows 1, 4, 5 */
  pp_knn_ops.free_model(m);
  m = fit_w("{\"k\": 3}", X, y, NULL, n, d, PP_IMB_NONE, 1);
  assert_int_equal(pp_knn_ops.predict(m, q1, 1, &p, NULL, 1), 0);
  assert_true(p == 2.0 / 3.0);
  pp_knn_ops.free_model(m);
}

/* Class weights: with k = n every row votes; balanced weights make the classes equal. */
static void test_class_weights(void **state) {
  (void)state;
  const size_t n = 40, d = 3;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.25, 1.0, 31, &X, &y);
  size_t npos = 0;
  for (size_t i = 0; i < n; i++) npos += y[i] > 0.5f;
  assert_true(npos > 0 && npos < n);
  float q[] = {0.1f, -0.2f, 0.3f};
  double p;
  void *m = fit_w("{\"k\": 40}", X, y, NULL, n, d, PP_IMB_WEIGHTS, 1);
  assert_int_equal(pp_knn_ops.predict(m, q, 1, &p, NULL, 1), 0);
  assert_true(fabs(p - 0.5) <= 1e-15);
  pp_knn_ops.free_model(m);
  m = fit_w("{\"k\": 40, \"class_weight\": \"none\"}", X, y, NULL, n, d, PP_IMB_WEIGHTS, 1);
  assert_int_equal(pp_knn_ops.predict(m, q, 1, &p, NULL, 1), 0);
  assert_true(p == (double)npos / (double)n);
  pp_knn_ops.free_model(m);
  /* k above n is clamped and reported */
  m = fit_w("{\"k\": 100, \"class_weight\": \"balanced\"}", X, y, NULL, n, d, PP_IMB_NONE, 1);
  assert_int_equal(pp_knn_ops.predict(m, q, 1, &p, NULL, 1), 0);
  assert_true(fabs(p - 0.5) <= 1e-15);
  assert_true(info_num(m, "k") == 100);
  assert_true(info_num(m, "k_used") == 40);
  pp_knn_ops.free_model(m);
  free(X);
  free(y);
}

/* Above max_train_rows a stratified, seeded subsample is kept and reported. */
static void test_row_cap(void **state) {
  (void)state;
  const size_t n = 5000, d = 3;
  float *X, *y;
  tu_blobs_alloc(n, d, 0.2, 1.0, 41, &X, &y);
  size_t npos = 0;
  for (size_t i = 0; i < n; i++) npos += y[i] > 0.5f;
  void *m1 = fit_w("{\"k\": 10, \"max_train_rows\": 1000}", X, y, NULL, n, d, PP_IMB_NONE, 9);
  void *m2 = fit_w("{\"k\": 10, \"max_train_rows\": 1000}", X, y, NULL, n, d, PP_IMB_NONE, 9);
  void *m3 = fit_w("{\"k\": 10, \"max_train_rows\": 1000}", X, y, NULL, n, d, PP_IMB_NONE, 10);
  assert_true(info_num(m1, "rows_used") == 1000);
  assert_true(info_num(m1, "rows_available") == 5000);
  assert_true(info_num(m1, "max_train_rows") == 1000);
  assert_true(info_num(m1, "cap_applied") == 1);
  assert_true(info_num(m1, "stored_bytes") == 1000.0 * 3 * 4 + 1000.0 * 4);
  const knn_model *km = m1;
  size_t kpos = 0;
  for (size_t j = 0; j < km->n; j++) kpos += km->pos[j];
  assert_true(fabs((double)kpos - 1000.0 * (double)npos / (double)n) <= 1.0);
  pp_buf b1, b2, b3;
  tu_save(&pp_knn_ops, m1, &b1);
  tu_save(&pp_knn_ops, m2, &b2);
  tu_save(&pp_knn_ops, m3, &b3);
  assert_int_equal(b1.len, b2.len);
  assert_memory_equal(b1.data, b2.data, b1.len); /* same seed, same sample */
  assert_true(b1.len == b3.len && memcmp(b1.data, b3.data, b1.len) != 0);
  pp_buf_free(&b1);
  pp_buf_free(&b2);
  pp_buf_free(&b3);
  void *m4 = fit_w("{\"k\": 10}", X, y, NULL, n, d, PP_IMB_NONE, 9);
  assert_true(info_num(m4, "cap_applied") == 0);
  assert_true(info_num(m4, "rows_used") == 5000);
  pp_knn_ops.free_model(m1);
  pp_knn_ops.free_model(m2);
  pp_knn_ops.free_model(m3);
  pp_knn_ops.free_model(m4);
  free(X);
  free(y);
}

static void test_fit_and_predict_errors(void **state) {
  (void)state;
  const size_t n = 30, d = 2;
  float X[60], y[30], w[30];
  for (size_t i = 0; i < n; i++) {
    X[2 * i] = (float)i;
    X[2 * i + 1] = (float)(i % 3);
    y[i] = 0;
    w[i] = 1;
  }
  void *params = parse(NULL), *model = NULL;
  pp_ctx c;
  pp_ctx_init(&c, NULL, 1);
  pp_dataset ds = {X, n, d, y, NULL, NULL, PP_IMB_NONE};
  assert_int_equal(pp_knn_ops.fit(params, &ds, NULL, &c, &model), PROP_ERR_TRAIN); /* one class */
  y[3] = 1;
  X[5] = INFINITY;
  assert_int_equal(pp_knn_ops.fit(params, &ds, NULL, &c, &model), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "row 2"));
  X[5] = 1;
  w[7] = 0;
  ds.w = w;
  assert_int_equal(pp_knn_ops.fit(params, &ds, NULL, &c, &model), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "row 7"));
  assert_null(model);
  ds.w = NULL;
  assert_int_equal(pp_knn_ops.fit(params, &ds, NULL, &c, &model), 0);
  float q[6] = {1, 2, 3, NAN, 5, 6};
  double p[3];
  assert_int_equal(pp_knn_ops.predict(model, q, 3, p, NULL, 2), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "row 1"));
  /* on the threaded path (several blocks) the first bad row is named */
  float *qq = tu_xmalloc(400 * d * sizeof *qq);
  double *pp = tu_xmalloc(400 * sizeof *pp);
  for (size_t i = 0; i < 400 * d; i++) qq[i] = (float)(i % 7);
  qq[333 * d + 1] = -INFINITY;
  qq[250 * d] = NAN;
  assert_int_equal(pp_knn_ops.predict(model, qq, 400, pp, NULL, 2), PROP_ERR_VALUE);
  assert_non_null(strstr(prop_last_error(), "row 250 "));
  free(qq);
  free(pp);
  pp_knn_ops.free_model(model);
  pp_knn_ops.free_params(params);
}

/* ---- the two scan variants ---------------------------------------------------------------------- */

static void run_variant(int avx, const float *C, size_t nq, size_t ldc, size_t nt, size_t ntile, size_t bc,
                        size_t kc, size_t kmax, float *keys, uint32_t *idx, qbuf *qb) {
  unsigned char ok[8];
  for (size_t r = 0; r < nq; r++) {
    ok[r] = (unsigned char)(r != 2); /* row 2 takes the exact scan: untouched */
    qb[r].key = keys + r * bc;
    qb[r].idx = idx + r * bc;
    qb[r].cnt = 0;
    qb[r].thr = INFINITY;
    qb[r].lo = -100.0f;
    qb[r].hi = 100.0f;
  }
  for (size_t t = 0; t < ntile; t++) {
#if KNN_HAVE_AVX512
    if (avx) offer_tile_avx512(qb, ok, nq, bc, kc, kmax, C + t * nq * ldc, ldc, nt, (uint32_t)(t * nt));
    else
#endif
      offer_tile_base(qb, ok, nq, bc, kc, kmax, C + t * nq * ldc, ldc, nt, (uint32_t)(t * nt));
  }
  for (size_t r = 0; r < nq; r++)
    if (ok[r]) qbuf_finish(&qb[r], kc, kmax, &k_scan_base);
  (void)avx;
}

static void test_scan_variants_agree(void **state) {
  (void)state;
#if KNN_HAVE_AVX512
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("popcnt")) {
    skip();
    return;
  }
  const size_t nq = 5, ldc = 45, nt = 37, ntile = 60, kc = 20, kmax = 25, bc = 80;
  float *C = tu_xmalloc(ntile * nq * ldc * sizeof *C);
  uint64_t st = 3;
  for (size_t i = 0; i < ntile * nq * ldc; i++) C[i] = (float)(tu_normal(&st) * 10.0);
  for (size_t i = 0; i < 200; i++) C[tu_rand(&st) % (ntile * nq * ldc)] = -5.0f; /* ties */
  float *k1 = tu_xmalloc(nq * bc * sizeof *k1), *k2 = tu_xmalloc(nq * bc * sizeof *k2);
  uint32_t *i1 = tu_xmalloc(nq * bc * sizeof *i1), *i2 = tu_xmalloc(nq * bc * sizeof *i2);
  qbuf q1[5], q2[5];
  run_variant(0, C, nq, ldc, nt, ntile, bc, kc, kmax, k1, i1, q1);
  run_variant(1, C, nq, ldc, nt, ntile, bc, kc, kmax, k2, i2, q2);
  for (size_t r = 0; r < nq; r++) {
    assert_int_equal(q1[r].cnt, q2[r].cnt);
    assert_true(q1[r].thr == q2[r].thr);
    assert_memory_equal(q1[r].key, q2[r].key, q1[r].cnt * sizeof(float));
    assert_memory_equal(q1[r].idx, q2[r].idx, q1[r].cnt * sizeof(uint32_t));
    if (r == 2) {
      assert_int_equal(q1[r].cnt, 0);
      continue;
    }
    /* the invariant: every key left out is >= thr, every key kept is below it (or the kc-th) */
    assert_true(q1[r].cnt >= kc && q1[r].cnt <= kmax);
    unsigned char *in = calloc(ntile * nt, 1);
    assert_non_null(in);
    for (size_t i = 0; i < q1[r].cnt; i++) in[q1[r].idx[i]] = 1;
    for (size_t t = 0; t < ntile; t++)
      for (size_t j = 0; j < nt; j++) {
        float v = C[t * nq * ldc + r * ldc + j];
        if (!in[t * nt + j]) assert_true(v >= q1[r].thr);
        else assert_true(v <= q1[r].thr);
      }
    free(in);
  }
  free(C);
  free(k1);
  free(k2);
  free(i1);
  free(i2);
#else
  skip();
#endif
}

/* The exact distances of both variants (portable and AVX-512) agree to the bit: every width from
 * 1 to 40 (partial last chunks) and 124, values of mixed magnitudes, one-hot zeros and ones,
 * subnormals, -0 and values near KNN_VALUE_MAX; single rows (exact_d2_*) and the candidate loop
 * (exact_rows_*). */
static void test_exact_variants_agree(void **state) {
  (void)state;
#if KNN_HAVE_AVX512
  if (!__builtin_cpu_supports("avx512f")) {
    skip();
    return;
  }
  uint64_t st = 11;
  const size_t nrow = 40, dmax = 124;
  float *A = tu_xmalloc(nrow * (dmax + 1) * sizeof *A), *x = tu_xmalloc(dmax * sizeof *x), *y = tu_xmalloc(dmax * sizeof *y);
  uint32_t idx[40];
  nbr v1[40], v2[40];
  for (size_t d = 1; d <= dmax; d = d < 40 ? d + 1 : dmax) {
    for (int trial = 0; trial < 4; trial++) {
      for (size_t j = 0; j < nrow; j++) {
        for (size_t t = 0; t < d; t++) {
          unsigned kind = (unsigned)(tu_rand(&st) % 8);
          double g = tu_normal(&st);
          y[t] = kind == 0 ? (float)(tu_rand(&st) % 2) : kind == 1 ? 1e-40f * (float)g : kind == 2 ? -0.0f
                 : kind == 3 ? (float)(g * 1e14) : (float)(g * (trial + 1));
        }
        fill_row(A + j * (d + 1), y, d);
        idx[j] = (uint32_t)((j * 7) % nrow);
      }
      for (size_t t = 0; t < d; t++) {
        double g = tu_normal(&st);
        x[t] = t % 5 == 0 ? (float)(tu_rand(&st) % 2) : t % 7 == 0 ? 3e-39f * (float)g : (float)(g * 3.0);
      }
      for (size_t j = 0; j < nrow; j++) {
        double a = exact_d2_base(x, A + j * (d + 1), d), b = exact_d2_avx512(x, A + j * (d + 1), d);
        assert_memory_equal(&a, &b, sizeof a);
      }
      const size_t cnt = nrow - (size_t)trial; /* the four-row loop and its remainder */
      exact_rows_base(x, A, d + 1, d, idx, cnt, v1);
      exact_rows_avx512(x, A, d + 1, d, idx, cnt, v2);
      for (size_t j = 0; j < cnt; j++) {
        assert_memory_equal(&v1[j].d2, &v2[j].d2, sizeof(double));
        assert_int_equal(v1[j].idx, v2[j].idx);
      }
    }
    if (d == dmax) break;
  }
  free(A);
  free(x);
  free(y);
#else
  skip();
#endif
}

/* ---- save / load --------------------------------------------------------------------------------- */

static void test_save_load(void **state) {
  (void)state;
  const size_t n = 700, d = 5, nq = 100;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *w = tu_xmalloc(n * sizeof *w);
  float *Q = tu_xmalloc(nq * d * sizeof *Q), *yq = tu_xmalloc(nq * sizeof *yq);
  tu_blobs(n, d, 0.3, 0.6, 51, X, y);
  tu_blobs(nq, d, 0.3, 0.6, 52, Q, yq);
  X[3] = 1e-40f; /* a subnormal survives the [-2y, |y|^2] form exactly */
  for (size_t i = 0; i < n; i++) w[i] = (float)(1 + i % 3);
  for (int weighted = 0; weighted < 2; weighted++) {
    void *m = fit_w("{\"k\": 30, \"weights\": \"distance\", \"max_train_rows\": 600}", X, y, weighted ? w : NULL, n,
                    d, PP_IMB_WEIGHTS, 4);
    pp_buf b;
    void *l = tu_reload(&pp_knn_ops, m, d, &b);
    double *p1 = tu_xmalloc(nq * sizeof *p1), *p2 = tu_xmalloc(nq * sizeof *p2);
    predict3(m, Q, nq, d, p1);
    predict3(l, Q, nq, d, p2);
    assert_memory_equal(p1, p2, nq * sizeof *p1);
    assert_true(info_num(l, "rows_used") == 600);
    assert_true(info_num(l, "cap_applied") == 1);
    assert_true(info_num(l, "stored_bytes") == 600.0 * d * 4 + 600.0 * (weighted ? 8 : 4));
    assert_true(b.len == 63 + (size_t)info_num(l, "stored_bytes"));
    free(p1);
    free(p2);
    pp_knn_ops.free_model(l);
    pp_knn_ops.free_model(m);
    pp_buf_free(&b);
  }
  /* a subnormal value comes back exactly */
  void *m = fit_w("{\"k\": 3}", X, y, NULL, n, d, PP_IMB_NONE, 4);
  pp_buf b;
  tu_save(&pp_knn_ops, m, &b);
  float x3;
  memcpy(&x3, b.data + 63 + 12, 4);
  assert_true(x3 == 1e-40f);
  pp_buf_free(&b);
  pp_knn_ops.free_model(m);
  free(X);
  free(y);
  free(w);
  free(Q);
  free(yq);
}

/* Whatever loads must predict without reading out of bounds. */
static int load_rc(const unsigned char *data, size_t len, size_t d) {
  static const float q[4] = {0.5f, -1, 2, 0};
  return tu_load_check(&pp_knn_ops, data, len, d, q, 1);
}

static void test_load_rejects_crafted(void **state) {
  (void)state;
  const size_t n = 60, d = 4;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *w = tu_xmalloc(n * sizeof *w);
  tu_blobs(n, d, 0.4, 0.8, 71, X, y);
  for (size_t i = 0; i < n; i++) w[i] = 2.0f;
  void *m = fit_w("{\"k\": 5}", X, y, w, n, d, PP_IMB_NONE, 1);
  pp_buf b;
  tu_save(&pp_knn_ops, m, &b);
  assert_int_equal(load_rc(b.data, b.len, d), 0);
  /* every truncation fails; every byte flipped fails cleanly or loads a model that predicts */
  const unsigned char mask = 0x81;
  tu_fuzz_member(&pp_knn_ops, b.data, b.len, d, &mask, 1, X, 5);
  unsigned char *c = tu_xmalloc(b.len);
  /* layout: u32 version, u64 d, u64 k, u8 weights, u8 class_weight, u8 flags, f64 w_neg, f64 w_pos,
   * u64 rows_in, u64 max_rows, u64 n, f32 X[n d], f32 y[n], f32 w[n] */
  const size_t off_k = 12, off_weights = 20, off_flags = 22, off_wneg = 23, off_rows = 39, off_n = 55, off_x = 63;
  const size_t off_y = off_x + n * d * 4, off_w = off_y + n * 4;
  assert_int_equal(load_rc(b.data, b.len, d + 1), PROP_ERR_CORRUPT);
  memcpy(c, b.data, b.len);
  c[0] = 9;
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_VERSION);
  uint64_t big = 0;
  memcpy(c, b.data, b.len);
  memcpy(c + off_k, &big, 8); /* k = 0 */
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_CORRUPT);
  memcpy(c, b.data, b.len);
  c[off_weights] = 2;
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_CORRUPT);
  memcpy(c, b.data, b.len);
  c[off_flags] = 0; /* claims no sample weights: bytes left over, but that is the caller's check */
  pp_rd rd;
  pp_rd_init(&rd, c, b.len, "flags");
  void *l = NULL;
  assert_int_equal(pp_knn_ops.load(&rd, d, &l), 0);
  assert_int_equal(pp_rd_end(&rd), PROP_ERR_CORRUPT);
  pp_knn_ops.free_model(l);
  double bad = -1.0;
  memcpy(c, b.data, b.len);
  memcpy(c + off_wneg, &bad, 8);
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_CORRUPT);
  memcpy(c, b.data, b.len);
  big = 1;
  memcpy(c + off_rows, &big, 8); /* fewer rows available than kept */
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_CORRUPT);
  big = UINT64_MAX / 2;
  memcpy(c, b.data, b.len);
  memcpy(c + off_n, &big, 8);
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_CORRUPT);
  big = 0;
  memcpy(c, b.data, b.len);
  memcpy(c + off_n, &big, 8);
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_CORRUPT);
  float f = NAN;
  memcpy(c, b.data, b.len);
  memcpy(c + off_x + 8, &f, 4);
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_CORRUPT);
  f = 3e38f;
  memcpy(c, b.data, b.len);
  memcpy(c + off_x + 8, &f, 4);
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_CORRUPT);
  f = 0.5f;
  memcpy(c, b.data, b.len);
  memcpy(c + off_y + 4, &f, 4);
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_CORRUPT);
  f = 0.0f;
  memcpy(c, b.data, b.len);
  memcpy(c + off_w + 4, &f, 4);
  assert_int_equal(load_rc(c, b.len, d), PROP_ERR_CORRUPT);
  /* random corruption: fails cleanly or loads something that predicts */
  uint64_t st = 99;
  for (int t = 0; t < 300; t++) {
    memcpy(c, b.data, b.len);
    for (int k = 0; k < 3; k++) c[tu_rand(&st) % off_x] ^= (unsigned char)(1u << (tu_rand(&st) % 8));
    (void)load_rc(c, b.len, d);
  }
  free(c);
  pp_buf_free(&b);
  pp_knn_ops.free_model(m);
  free(X);
  free(y);
  free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_params),
      cmocka_unit_test(test_matches_brute_force),
      cmocka_unit_test(test_ties_and_duplicates),
      cmocka_unit_test(test_onehot_blocks),
      cmocka_unit_test(test_fused_narrow),
      cmocka_unit_test(test_fused_codes),
      cmocka_unit_test(test_fused_wide),
      cmocka_unit_test(test_fused_key_bound),
      cmocka_unit_test(test_key_pass),
      cmocka_unit_test(test_onehot_detection),
      cmocka_unit_test(test_shapes_and_huge_values),
      cmocka_unit_test(test_distance_weights),
      cmocka_unit_test(test_class_weights),
      cmocka_unit_test(test_row_cap),
      cmocka_unit_test(test_fit_and_predict_errors),
      cmocka_unit_test(test_scan_variants_agree),
      cmocka_unit_test(test_exact_variants_agree),
      cmocka_unit_test(test_save_load),
      cmocka_unit_test(test_load_rejects_crafted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
