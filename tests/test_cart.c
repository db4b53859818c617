/* The CART builder (lib/models/cart.c): binning, growth with known answers (separable data,
 * XOR, gini vs entropy, missing-value directions, leaf sizes, multiplicities and weights), flat
 * storage, prediction, importance, serialisation and the out-of-bag AUC helper. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/cart.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static pp_cart_params params(int crit, size_t depth, size_t mss, size_t msl, size_t mf) {
  pp_cart_params p = {crit, depth, mss, msl, mf};
  return p;
}

/* Bin X and grow one tree into *t (initialised here). */
static void grow(const float *X, const float *y, const double *rw, const uint32_t *mult, size_t n, size_t d,
                 const pp_cart_params *p, uint64_t seed, pp_cart_trees *t) {
  pp_cart_bins b;
  int rc = pp_cart_bins_build(X, n, d, PP_CART_DEFAULT_BINS, 1, &b);
  assert_int_equal(rc, 0);
  pp_cart_work *w = NULL;
  assert_int_equal(pp_cart_work_create(&b, &w), 0);
  pp_rng rng;
  pp_rng_seed(&rng, seed);
  pp_cart_trees_init(t, d);
  rc = pp_cart_grow(&b, y, rw, mult, p, &rng, w, t);
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  assert_int_equal(rc, 0);
  pp_cart_work_free(w);
  pp_cart_bins_free(&b);
}

static double leaf_value(const pp_cart_trees *t, size_t tree, const float *x) {
  return t->value[pp_cart_leaf(t, tree, x)];
}

/* ---- binning ------------------------------------------------------------------------------- */

static void test_bins_exact_values_and_missing(void **state) {
  (void)state;
  /* column 0: 3 distinct values and a NaN; column 1: all NaN; column 2: +-inf and 0 */
  const float X[] = {3, NAN, -INFINITY, 1, NAN, 0, 2, NAN, INFINITY, 2, NAN, 0, NAN, NAN, -INFINITY, 1, NAN, INFINITY};
  pp_cart_bins b;
  assert_int_equal(pp_cart_bins_build(X, 6, 3, 255, 1, &b), 0);
  assert_int_equal(b.nbins[0], 3);
  assert_int_equal(b.eoff[0], 0);
  assert_int_equal(b.eoff[1], 2);
  assert_true(b.edge[0] == 1.5f && b.edge[1] == 2.5f);
  const uint16_t c0[] = {2, 0, 1, 1, 3, 0};
  for (size_t i = 0; i < 6; i++) assert_int_equal(b.code[i], c0[i]);
  assert_int_equal(b.nbins[1], 1); /* no value: one (empty) bin and the missing code */
  for (size_t i = 0; i < 6; i++) assert_int_equal(b.code[6 + i], 1);
  assert_int_equal(b.nbins[2], 3);
  const uint16_t c2[] = {0, 1, 2, 1, 0, 2};
  for (size_t i = 0; i < 6; i++) assert_int_equal(b.code[12 + i], c2[i]);
  /* the codes agree with the threshold test x <= edge[k] */
  for (size_t i = 0; i < 6; i++) {
    float v = X[i * 3 + 2];
    size_t k = b.code[12 + i];
    const float *e = b.edge + b.eoff[2];
    if (k < b.nbins[2] - 1) assert_true(v <= e[k]);
    if (k > 0) assert_true(v > e[k - 1]);
  }
  assert_int_equal(b.max_nbins, 3);
  pp_cart_bins_free(&b);

  assert_int_equal(pp_cart_bins_build(X, 6, 3, 1, 1, &b), PROP_ERR_ARG);
  assert_int_equal(pp_cart_bins_build(X, 0, 3, 255, 1, &b), PROP_ERR_ARG);
}

static void test_bins_quantiles_and_threads(void **state) {
  (void)state;
  const size_t n = 10000, d = 3;
  float *X = tu_xmalloc(n * d * sizeof *X);
  uint64_t st = 7;
  for (size_t i = 0; i < n; i++) {
    X[i * d + 0] = (float)tu_uniform(&st);                     /* distinct values */
    X[i * d + 1] = i % 10 < 9 ? 0.0f : (float)tu_normal(&st);  /* 90% ties at 0 */
    X[i * d + 2] = i % 7 == 0 ? NAN : (float)(i % 300);       /* 300 values, missing */
  }
  pp_cart_bins a, b;
  assert_int_equal(pp_cart_bins_build(X, n, d, 16, 1, &a), 0);
  assert_int_equal(pp_cart_bins_build(X, n, d, 16, 2, &b), 0);
  assert_int_equal(a.nbins[0], 16);
  assert_true(a.nbins[1] <= 16 && a.nbins[2] <= 16);
  size_t cnt[16] = {0};
  for (size_t i = 0; i < n; i++) cnt[a.code[i]]++;
  for (size_t k = 0; k < 16; k++) assert_true(cnt[k] >= n / 16 - 2 && cnt[k] <= n / 16 + 2);
  for (size_t j = 0; j < d; j++)
    for (size_t i = 0; i < n; i++) {
      float v = X[i * d + j];
      size_t k = a.code[j * n + i];
      const float *e = a.edge + a.eoff[j];
      if (v != v) {
        assert_int_equal(k, a.nbins[j]);
        continue;
      }
      assert_true(k < a.nbins[j]);
      if (k < a.nbins[j] - 1) assert_true(v <= e[k]);
      if (k > 0) assert_true(v > e[k - 1]);
    }
  /* the zeros of column 1 share one bin */
  for (size_t i = 1; i < n; i++)
    if (X[i * d + 1] == 0.0f) assert_int_equal(a.code[n + i], a.code[n]);
  /* independent of the thread count */
  assert_int_equal(a.max_nbins, b.max_nbins);
  assert_memory_equal(a.code, b.code, n * d * sizeof *a.code);
  assert_memory_equal(a.nbins, b.nbins, d * sizeof *a.nbins);
  assert_memory_equal(a.eoff, b.eoff, (d + 1) * sizeof *a.eoff);
  assert_memory_equal(a.edge, b.edge, a.eoff[d] * sizeof *a.edge);
  pp_cart_bins_free(&a);
  pp_cart_bins_free(&b);
  free(X);
}

/* ---- growth: known answers ------------------------------------------------------------------ */

static void test_separable_fits_exactly(void **state) {
  (void)state;
  const size_t n = 400, d = 4;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 11;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    y[i] = X[i * d + 1] + 0.5f * X[i * d + 3] > 0.2f ? 1.0f : 0.0f; /* oblique: needs many splits */
  }
  pp_cart_params p = params(PP_CART_GINI, 0, 2, 1, d);
  pp_cart_trees t;
  grow(X, y, NULL, NULL, n, d, &p, 1, &t);
  assert_int_equal(t.n_trees, 1);
  for (size_t i = 0; i < n; i++) assert_true(leaf_value(&t, 0, X + i * d) == (double)y[i]);
  /* every leaf pure, every split's gain non-negative, children forward */
  for (size_t g = 0; g < t.n_nodes; g++) {
    if (t.node[g].feature < 0) assert_true(t.value[g] == 0.0 || t.value[g] == 1.0);
    else {
      assert_true(t.node[g].left > (int32_t)g && t.node[g].right > (int32_t)g);
      assert_true(t.gain[g] >= 0);
    }
  }
  assert_int_equal(t.count[0], n);
  assert_int_equal(pp_cart_leaves(&t, 0), (t.n_nodes + 1) / 2);
  pp_cart_trees_free(&t);
  free(X);
  free(y);
}

static void test_xor_at_depth_two(void **state) {
  (void)state;
  /* four corners, 100 rows each: class = (x0 > 0) xor (x1 > 0); the root split gains nothing on
   * either feature, yet depth 2 separates the classes */
  const size_t n = 400, d = 2;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  for (size_t i = 0; i < n; i++) {
    int a = (int)(i & 1), c = (int)((i >> 1) & 1);
    X[i * d + 0] = a ? 1.0f : -1.0f;
    X[i * d + 1] = c ? 2.0f : -3.0f;
    y[i] = (float)(a ^ c);
  }
  pp_cart_params p = params(PP_CART_GINI, 2, 2, 1, d);
  pp_cart_trees t;
  grow(X, y, NULL, NULL, n, d, &p, 1, &t);
  assert_int_equal(pp_cart_depth(&t, 0), 2);
  assert_int_equal(t.n_nodes, 7);
  assert_true(t.gain[0] < 1e-9); /* the root split gains nothing, but makes the next ones possible */
  for (size_t i = 0; i < n; i++) assert_true(leaf_value(&t, 0, X + i * d) == (double)y[i]);
  pp_cart_trees_free(&t);
  /* depth 1 cannot: every leaf is half and half */
  p.max_depth = 1;
  grow(X, y, NULL, NULL, n, d, &p, 1, &t);
  assert_int_equal(t.n_nodes, 3);
  assert_true(fabs(t.value[1] - 0.5) < 1e-12 && fabs(t.value[2] - 0.5) < 1e-12);
  pp_cart_trees_free(&t);
  free(X);
  free(y);
}

static void test_min_samples_leaf_and_split(void **state) {
  (void)state;
  const size_t n = 600, d = 3;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint32_t *mult = tu_xmalloc(n * sizeof *mult);
  uint64_t st = 9;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    y[i] = tu_uniform(&st) < 0.3 + 0.2 * (X[i * d] > 0) ? 1.0f : 0.0f; /* noisy: grows deep */
    mult[i] = (uint32_t)(tu_rand(&st) % 3);
  }
  const size_t msls[] = {1, 7, 40};
  for (size_t k = 0; k < 3; k++) {
    for (int use_mult = 0; use_mult < 2; use_mult++) {
      pp_cart_params p = params(PP_CART_GINI, 0, 2, msls[k], d);
      pp_cart_trees t;
      grow(X, y, NULL, use_mult ? mult : NULL, n, d, &p, 3, &t);
      uint64_t total = 0, expect = 0;
      for (size_t i = 0; i < n; i++) expect += use_mult ? (mult[i] > 0) : 1; /* distinct rows of the sample */
      for (size_t g = 0; g < t.n_nodes; g++) {
        if (t.node[g].feature >= 0) {
          assert_int_equal(t.count[g], t.count[(size_t)t.node[g].left] + t.count[(size_t)t.node[g].right]);
          continue;
        }
        assert_true(t.count[g] >= msls[k]);
        total += t.count[g];
      }
      assert_int_equal(total, expect);
      assert_int_equal(t.count[0], expect);
      if (msls[k] == 1) assert_true(t.n_nodes > 50);
      pp_cart_trees_free(&t);
    }
  }
  /* min_samples_split: a node of fewer rows is a leaf */
  pp_cart_params p = params(PP_CART_GINI, 0, 100, 1, d);
  pp_cart_trees t;
  grow(X, y, NULL, NULL, n, d, &p, 3, &t);
  for (size_t g = 0; g < t.n_nodes; g++)
    if (t.node[g].feature >= 0) assert_true(t.count[g] >= 100);
  pp_cart_trees_free(&t);
  p = params(PP_CART_GINI, 0, n + 1, 1, d);
  grow(X, y, NULL, NULL, n, d, &p, 3, &t);
  assert_int_equal(t.n_nodes, 1);
  pp_cart_trees_free(&t);
  free(X);
  free(y);
  free(mult);
}

static void test_gini_and_entropy_choose_differently(void **state) {
  (void)state;
  /* 16 rows, 8 per class.  Feature 0 (B) puts 3 positives alone on its low side:
   *   B: {0 neg, 3 pos} | {8 neg, 5 pos}: weighted gini 0 + 2*8*5/13 = 6.1538, entropy 12.4961 bits
   * feature 1 (A):
   *   A: {2 neg, 6 pos} | {6 neg, 2 pos}: weighted gini 3 + 3 = 6.0000,        entropy 12.9804 bits
   * Gini prefers A (6.00 < 6.15), entropy prefers B (12.50 < 12.98). */
  const size_t n = 16, d = 2;
  float X[32], y[16];
  for (size_t i = 0; i < n; i++) {
    int pos = i >= 8;
    size_t r = pos ? i - 8 : i; /* rank within the class */
    y[i] = (float)pos;
    X[i * d + 0] = (pos && r < 3) ? 0.0f : 1.0f;
    X[i * d + 1] = pos ? (r < 6 ? 0.0f : 1.0f) : (r < 2 ? 0.0f : 1.0f);
  }
  pp_cart_params p = params(PP_CART_GINI, 1, 2, 1, d);
  pp_cart_trees t;
  grow(X, y, NULL, NULL, n, d, &p, 1, &t);
  assert_int_equal(t.node[0].feature, 1);
  assert_true(fabs(t.gain[0] - (8.0 - 6.0)) < 1e-9); /* parent: 2*8*8/16 = 8 */
  assert_true(t.node[0].threshold == 0.5f);
  assert_true(fabs(t.value[t.node[0].left] - 0.75) < 1e-12);
  pp_cart_trees_free(&t);
  p.criterion = PP_CART_ENTROPY;
  grow(X, y, NULL, NULL, n, d, &p, 1, &t);
  assert_int_equal(t.node[0].feature, 0);
  double hr = -8 * log2(8.0 / 13) - 5 * log2(5.0 / 13); /* 13 rows x H(8/13) = 12.4961 bits */
  assert_true(fabs(t.gain[0] - (16.0 - hr)) < 1e-9);      /* parent: 16 rows x 1 bit */
  assert_true(t.value[t.node[0].left] == 1.0);
  pp_cart_trees_free(&t);
}

static void test_missing_direction_is_learned(void **state) {
  (void)state;
  /* x0 < 1 -> class 0, x0 in [2,3) -> class 1, NaN -> class c: the best split sends NaN with c */
  const size_t n = 90, d = 2;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  for (int c = 0; c < 2; c++) {
    uint64_t st = 21;
    for (size_t i = 0; i < n; i++) {
      int grp = (int)(i % 3); /* 0: low, 1: high, 2: missing */
      X[i * d + 0] = grp == 0 ? (float)tu_uniform(&st) : grp == 1 ? (float)(2 + tu_uniform(&st)) : NAN;
      X[i * d + 1] = (float)tu_normal(&st); /* noise */
      y[i] = grp == 0 ? 0.0f : grp == 1 ? 1.0f : (float)c;
    }
    pp_cart_params p = params(PP_CART_GINI, 1, 2, 1, d);
    pp_cart_trees t;
    grow(X, y, NULL, NULL, n, d, &p, 1, &t);
    assert_int_equal(t.node[0].feature, 0);
    assert_true(t.node[0].threshold > 1.0f && t.node[0].threshold < 2.0f);
    assert_int_equal(t.default_left[0], c == 0); /* class 0 lives on the left */
    float xm[2] = {NAN, 0.0f};
    assert_true(leaf_value(&t, 0, xm) == (double)c);
    for (size_t i = 0; i < n; i++) assert_true(leaf_value(&t, 0, X + i * d) == (double)y[i]);
    pp_cart_trees_free(&t);
  }
  /* presence itself is the signal: every present value class 0, missing class 1 */
  for (size_t i = 0; i < n; i++) {
    X[i * d + 0] = i % 2 ? NAN : (float)i;
    X[i * d + 1] = 0.0f;
    y[i] = (float)(i % 2);
  }
  pp_cart_params p = params(PP_CART_GINI, 1, 2, 1, d);
  pp_cart_trees t;
  grow(X, y, NULL, NULL, n, d, &p, 1, &t);
  assert_int_equal(t.node[0].feature, 0);
  assert_true(isinf(t.node[0].threshold) && t.node[0].threshold > 0);
  assert_int_equal(t.default_left[0], 0);
  float big[2] = {1e30f, 0}, miss[2] = {NAN, 0};
  assert_true(leaf_value(&t, 0, big) == 0.0 && leaf_value(&t, 0, miss) == 1.0);
  pp_cart_trees_free(&t);
  /* no missing value in training: NaN follows the heavier child (here the left, 60 of 90 rows) */
  for (size_t i = 0; i < n; i++) {
    X[i * d + 0] = (float)i;
    y[i] = i < 60 ? 0.0f : 1.0f;
  }
  grow(X, y, NULL, NULL, n, d, &p, 1, &t);
  assert_int_equal(t.default_left[0], 1);
  assert_true(leaf_value(&t, 0, miss) == 0.0);
  pp_cart_trees_free(&t);
  free(X);
  free(y);
}

/* min_samples_leaf counts distinct rows of the sample, not bootstrap draws (scikit-learn's meaning): rows 0 and 3
 * drawn twice each would make two leaves of 2 draws, but each holds one row, so with min_samples_leaf 2 the tree is
 * one leaf; with 1 it splits. */
static void test_leaf_limit_counts_distinct_rows(void **state) {
  (void)state;
  const float X[4] = {0, 1, 2, 3}, y[4] = {0, 0, 1, 1};
  const uint32_t mult[4] = {2, 0, 0, 2};
  pp_cart_params p = params(PP_CART_GINI, 0, 2, 2, 1);
  pp_cart_trees t;
  grow(X, y, NULL, mult, 4, 1, &p, 1, &t);
  assert_int_equal(t.n_nodes, 1);
  assert_int_equal(t.count[0], 2);
  assert_true(t.value[0] == 0.5);
  pp_cart_trees_free(&t);
  p = params(PP_CART_GINI, 0, 2, 1, 1);
  grow(X, y, NULL, mult, 4, 1, &p, 1, &t);
  assert_int_equal(t.n_nodes, 3);
  pp_cart_trees_free(&t);
}

static void test_multiplicity_equals_duplicated_rows(void **state) {
  (void)state;
  const size_t n = 300, d = 3;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint32_t *mult = tu_xmalloc(n * sizeof *mult);
  uint64_t st = 13;
  size_t N = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)(int)(tu_normal(&st) * 10); /* ties */
    y[i] = tu_uniform(&st) < (X[i * d] > 0 ? 0.7 : 0.2) ? 1.0f : 0.0f;
    mult[i] = 1 + (uint32_t)(tu_rand(&st) % 3);
    N += mult[i];
  }
  float *XD = tu_xmalloc(N * d * sizeof *XD), *yD = tu_xmalloc(N * sizeof *yD);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    for (uint32_t c = 0; c < mult[i]; c++) {
      memcpy(XD + k * d, X + i * d, d * sizeof *X);
      yD[k++] = y[i];
    }
  /* min_samples_leaf 1, min_samples_split 2: the row-count limits cannot tell a row drawn c times from c copies
   * (copies have equal features, so a node of copies of one row is constant either way) */
  pp_cart_params p = params(PP_CART_ENTROPY, 6, 2, 1, d);
  pp_cart_trees a, b;
  grow(X, y, NULL, mult, n, d, &p, 1, &a);
  grow(XD, yD, NULL, NULL, N, d, &p, 1, &b);
  assert_int_equal(a.n_nodes, b.n_nodes);
  for (size_t g = 0; g < a.n_nodes; g++) {
    assert_int_equal(a.node[g].feature, b.node[g].feature);
    assert_true(a.node[g].threshold == b.node[g].threshold);
    assert_true(a.count[g] <= b.count[g] && a.count[g] >= 1); /* distinct rows vs copies */
    assert_true(fabs(a.value[g] - b.value[g]) < 1e-12);
    assert_true(fabs(a.gain[g] - b.gain[g]) < 1e-9 * (1 + b.gain[g]));
  }
  pp_cart_trees_free(&a);
  pp_cart_trees_free(&b);
  /* row weights w: leaf values are weighted shares (a single leaf: min_samples_split > n) */
  double *rw = tu_xmalloc(n * sizeof *rw);
  double W = 0, W1 = 0;
  for (size_t i = 0; i < n; i++) {
    rw[i] = 0.5 + (double)(i % 4);
    W += rw[i] * mult[i];
    W1 += y[i] == 1.0f ? rw[i] * mult[i] : 0;
  }
  p = params(PP_CART_GINI, 0, 100000, 1, d);
  grow(X, y, rw, mult, n, d, &p, 1, &a);
  assert_int_equal(a.n_nodes, 1);
  assert_true(fabs(a.value[0] - W1 / W) < 1e-12);
  assert_true(fabs(a.weight[0] - W) < 1e-9);
  pp_cart_trees_free(&a);
  /* an empty sample is refused and leaves the output unchanged */
  memset(mult, 0, n * sizeof *mult);
  pp_cart_bins bb;
  assert_int_equal(pp_cart_bins_build(X, n, d, 255, 1, &bb), 0);
  pp_cart_work *w = NULL;
  assert_int_equal(pp_cart_work_create(&bb, &w), 0);
  pp_rng rng;
  pp_rng_seed(&rng, 1);
  pp_cart_trees_init(&a, d);
  assert_int_equal(pp_cart_grow(&bb, y, NULL, mult, &p, &rng, w, &a), PROP_ERR_ARG);
  assert_int_equal(a.n_trees, 0);
  assert_int_equal(a.n_nodes, 0);
  pp_cart_trees_free(&a);
  pp_cart_work_free(w);
  pp_cart_bins_free(&bb);
  free(rw);
  free(X);
  free(y);
  free(XD);
  free(yD);
  free(mult);
}

static void test_threshold_in_the_middle_of_the_gap(void **state) {
  (void)state;
  /* x0 = 0..13 (one bin each); the sample leaves out 4..9, so the node sees the gap 3 | 10 and the
   * threshold is the middle bin's edge 6.5 (as the midpoint (3 + 10) / 2 a sort-based CART takes),
   * not 3.5 next to the left values */
  const size_t n = 140, d = 1;
  float X[140], y[140];
  uint32_t mult[140];
  for (size_t i = 0; i < n; i++) {
    X[i] = (float)(i % 14);
    y[i] = X[i] >= 10 ? 1.0f : 0.0f;
    mult[i] = (X[i] >= 4 && X[i] <= 9) ? 0 : 1;
  }
  pp_cart_params p = params(PP_CART_GINI, 0, 2, 1, d);
  pp_cart_trees t;
  grow(X, y, NULL, mult, n, d, &p, 1, &t);
  assert_int_equal(t.n_nodes, 3);
  assert_true(t.node[0].threshold == 6.5f);
  const float x6 = 6.0f, x7 = 7.0f;
  assert_true(leaf_value(&t, 0, &x6) == 0.0 && leaf_value(&t, 0, &x7) == 1.0);
  pp_cart_trees_free(&t);
}

static void test_max_features_and_rng(void **state) {
  (void)state;
  assert_int_equal(pp_cart_max_features(PP_CART_MF_SQRT, 0, 25), 5);
  assert_int_equal(pp_cart_max_features(PP_CART_MF_SQRT, 0, 24), 4);
  assert_int_equal(pp_cart_max_features(PP_CART_MF_LOG2, 0, 25), 4);
  assert_int_equal(pp_cart_max_features(PP_CART_MF_LOG2, 0, 1), 1);
  assert_int_equal(pp_cart_max_features(PP_CART_MF_FRACTION, 0.33, 10), 3);
  assert_int_equal(pp_cart_max_features(PP_CART_MF_FRACTION, 0.01, 10), 1);
  assert_int_equal(pp_cart_max_features(PP_CART_MF_ALL, 0, 17), 17);
  /* max_features 1: each split looks at one random non-constant feature; different seeds give
   * different trees, the same seed the same tree */
  const size_t n = 500, d = 6;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 17;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    X[i * d + 4] = 1.0f; /* constant: never counts as a drawn feature */
    y[i] = X[i * d] + X[i * d + 1] > 0 ? 1.0f : 0.0f;
  }
  pp_cart_params p = params(PP_CART_GINI, 4, 2, 1, 1);
  pp_cart_trees a, b, c;
  grow(X, y, NULL, NULL, n, d, &p, 1, &a);
  grow(X, y, NULL, NULL, n, d, &p, 1, &b);
  grow(X, y, NULL, NULL, n, d, &p, 2, &c);
  assert_int_equal(a.n_nodes, b.n_nodes);
  assert_memory_equal(a.node, b.node, a.n_nodes * sizeof *a.node);
  int differ = a.n_nodes != c.n_nodes;
  for (size_t g = 0; !differ && g < a.n_nodes; g++) differ = a.node[g].feature != c.node[g].feature;
  assert_true(differ);
  for (size_t g = 0; g < a.n_nodes; g++) assert_true(a.node[g].feature != 4);
  pp_cart_trees_free(&a);
  pp_cart_trees_free(&b);
  pp_cart_trees_free(&c);
  /* a constant feature drawn first does not use up max_features = 1: the root always splits on
   * the informative one, whatever the seed */
  for (size_t i = 0; i < n; i++) {
    X[i * 2] = 3.0f;
    X[i * 2 + 1] = (float)i;
    y[i] = i >= n / 2 ? 1.0f : 0.0f;
  }
  for (uint64_t seed = 1; seed <= 16; seed++) {
    grow(X, y, NULL, NULL, n, 2, &p, seed, &a);
    assert_int_equal(a.n_nodes, 3);
    assert_int_equal(a.node[0].feature, 1);
    pp_cart_trees_free(&a);
  }
  free(X);
  free(y);
}

/* ---- use: prediction, importance, shape, concatenation ------------------------------------- */

/* Three trees on bootstrap-like samples of a noisy problem. */
/* ntree trees, each on a bootstrap sample (seeded from seed), into *out (initialised here). */
static void grow_forest(const float *X, const float *y, size_t n, size_t d, size_t ntree, size_t bins,
                        const pp_cart_params *p, uint64_t seed, pp_cart_trees *out) {
  pp_cart_bins b;
  assert_int_equal(pp_cart_bins_build(X, n, d, bins, 2, &b), 0);
  pp_cart_work *w = NULL;
  assert_int_equal(pp_cart_work_create(&b, &w), 0);
  uint32_t *mult = tu_xmalloc(n * sizeof *mult);
  pp_cart_trees_init(out, d);
  for (size_t t = 0; t < ntree; t++) {
    pp_rng rng;
    pp_rng_seed(&rng, pp_seed_derive(seed, t));
    memset(mult, 0, n * sizeof *mult);
    for (size_t k = 0; k < n; k++) mult[pp_rng_below(&rng, n)]++;
    assert_int_equal(pp_cart_grow(&b, y, NULL, mult, p, &rng, w, out), 0);
  }
  free(mult);
  pp_cart_work_free(w);
  pp_cart_bins_free(&b);
}

static void small_forest(const float *X, const float *y, size_t n, size_t d, size_t ntree, pp_cart_trees *out) {
  pp_cart_params p = params(PP_CART_GINI, 5, 2, 3, 2);
  grow_forest(X, y, n, d, ntree, 64, &p, 99, out);
}

static void noisy_data(size_t n, size_t d, uint64_t seed, float *X, float *y) {
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    if (i % 11 == 0) X[i * d + 2] = NAN;
    double z = X[i * d] - 0.5 * X[i * d + 1] + 0.3 * tu_normal(&st);
    y[i] = z > 0.3 ? 1.0f : 0.0f;
  }
}

/* ref[i]: the mean leaf value of row i over t's trees, one row and one tree at a time (pp_cart_leaf). */
static void ref_means(const pp_cart_trees *t, const float *X, size_t n, double *ref) {
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t k = 0; k < t->n_trees; k++) s += leaf_value(t, k, X + i * t->d);
    ref[i] = s / (double)t->n_trees;
  }
}

/* Trees deeper than the vector walk's first phase (14 levels): random labels, leaves of one row.  The walk's
 * second phase (rows still walking after 14 levels, compacted) must reach the same leaves as one row at a
 * time, in blocks and on threads, with NaNs going their nodes' default ways. */
static void test_predict_deep_trees(void **state) {
  (void)state;
  const size_t n = 3000, d = 4, T = 9;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 17;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    if (i % 13 == 0) X[i * d + 1] = NAN;
    y[i] = tu_uniform(&st) < 0.5 ? 1.0f : 0.0f;
  }
  pp_cart_trees t;
  pp_cart_params p = params(PP_CART_GINI, 0, 2, 1, 2);
  grow_forest(X, y, n, d, T, PP_CART_DEFAULT_BINS, &p, 5, &t);
  size_t deepest = 0;
  for (size_t k = 0; k < T; k++)
    if (pp_cart_depth(&t, k) > deepest) deepest = pp_cart_depth(&t, k);
  assert_true(deepest > 20); /* many rows walk past the first phase */
  double *ref = tu_xmalloc(n * sizeof *ref), *p2 = tu_xmalloc(n * sizeof *p2);
  ref_means(&t, X, n, ref);
  assert_int_equal(pp_cart_pack(&t), 0);
  assert_non_null(t.pk_node);
  for (int nt = 1; nt <= 3; nt++) {
    pp_cart_predict(&t, X, n, p2, nt);
    assert_memory_equal(ref, p2, n * sizeof *ref);
  }
  const size_t sizes[] = {64, 65, 127, 1000, 2999};
  for (size_t q = 0; q < sizeof sizes / sizeof *sizes; q++) {
    pp_cart_predict(&t, X + 1 * d, sizes[q], p2, 1);
    assert_memory_equal(ref + 1, p2, sizes[q] * sizeof *ref);
  }
  pp_cart_trees_free(&t);
  free(ref);
  free(p2);
  free(X);
  free(y);
}

/* The AVX-512 walk decides the top PP_CART_TOP_LEVELS levels by comparing whole columns of a transposed block,
 * with NaN-left nodes reading a copy where NaN is -inf.  Missing values steer both ways at the top (NaN rows of
 * column 0 are mostly positive, those of column 1 mostly negative), trees both deeper and shallower than the
 * top (leaves above its last level), a single-leaf tree: every row reaches the leaves of one row at a time. */
static void test_predict_top_levels(void **state) {
  (void)state;
  const size_t n = 2000, d = 4, T = 12;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 29;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    const double u = tu_uniform(&st);
    y[i] = (X[i * d] < 0.0f) ^ (u < 0.1) ? 1.0f : 0.0f;
    if (i % 5 == 0) {
      X[i * d] = NAN;
      y[i] = u < 0.9 ? 1.0f : 0.0f;
    } else if (i % 7 == 0) {
      X[i * d + 1] = NAN;
      y[i] = u < 0.2 ? 1.0f : 0.0f;
    }
  }
  double *ref = tu_xmalloc(n * sizeof *ref), *got = tu_xmalloc(n * sizeof *got);
  const size_t depths[] = {0, 2};
  for (size_t q = 0; q < 2; q++) {
    pp_cart_trees t;
    pp_cart_params p = params(PP_CART_GINI, depths[q], 2, 1, 2);
    grow_forest(X, y, n, d, T, PP_CART_DEFAULT_BINS, &p, 11, &t);
    if (q == 1) { /* one more tree of a single leaf: every label the same */
      float *y1 = tu_xmalloc(n * sizeof *y1);
      for (size_t i = 0; i < n; i++) y1[i] = 1.0f;
      pp_cart_trees one;
      grow_forest(X, y1, n, d, 1, PP_CART_DEFAULT_BINS, &p, 3, &one);
      assert_int_equal(one.n_nodes, 1);
      pp_cart_trees *parts[2] = {&t, &one}, all;
      pp_cart_trees_init(&all, d);
      assert_int_equal(pp_cart_trees_concat(parts, 2, &all), 0);
      pp_cart_trees_free(&t);
      pp_cart_trees_free(&one);
      free(y1);
      t = all;
    }
    const size_t nt = t.n_trees;
    ref_means(&t, X, n, ref);
    assert_int_equal(pp_cart_pack(&t), 0);
    assert_non_null(t.pk_top);
    size_t usable = 0;
    for (size_t k = 0; k < nt; k++) usable += t.pk_top[k].col[0];
    assert_int_equal(usable, nt);
    assert_true(t.pk_top_nan_left); /* the NaN-as-minus-infinity columns are read */
    for (int th = 1; th <= 2; th++) {
      pp_cart_predict(&t, X, n, got, th);
      assert_memory_equal(ref, got, n * sizeof *ref);
    }
    pp_cart_predict(&t, X + 3 * d, 130, got, 1);
    assert_memory_equal(ref + 3, got, 130 * sizeof *ref);
    pp_cart_trees_free(&t);
  }
  free(ref);
  free(got);
  free(X);
  free(y);
}

static void test_predict_mean_blocks_and_threads(void **state) {
  (void)state;
  const size_t n = 700, d = 5, T = 9; /* >= 8 trees: blocks of 64+ rows take the vector walk where there is one */
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  noisy_data(n, d, 3, X, y);
  pp_cart_trees t;
  small_forest(X, y, n, d, T, &t);
  assert_int_equal(t.n_trees, T);
  double *p1 = tu_xmalloc(n * sizeof *p1), *p2 = tu_xmalloc(n * sizeof *p2), *p3 = tu_xmalloc(n * sizeof *p3);
  pp_cart_predict(&t, X, n, p1, 1);
  pp_cart_predict(&t, X, n, p2, 2);
  pp_cart_predict(&t, X, n, p3, 3);
  assert_memory_equal(p1, p2, n * sizeof *p1);
  assert_memory_equal(p1, p3, n * sizeof *p1);
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t k = 0; k < T; k++) s += leaf_value(&t, k, X + i * d);
    assert_true(p1[i] == s / (double)T);
    double one;
    pp_cart_predict(&t, X + i * d, 1, &one, 1); /* single row: same value */
    assert_true(one == p1[i]);
  }
  /* the prediction copy (grown trees have none until packed) walks to the same leaves: the same
   * bits, in blocks, on threads, one row at a time and for the few-row path */
  assert_null(t.pk_node);
  assert_int_equal(pp_cart_pack(&t), 0);
  assert_non_null(t.pk_node);
  for (int nt = 1; nt <= 3; nt++) {
    pp_cart_predict(&t, X, n, p2, nt);
    assert_memory_equal(p1, p2, n * sizeof *p1);
  }
  for (size_t i = 0; i < n; i++) {
    double one;
    pp_cart_predict(&t, X + i * d, 1, &one, 1);
    assert_memory_equal(&one, &p1[i], sizeof one);
  }
  pp_cart_predict(&t, X, 5, p2, 1);
  assert_memory_equal(p1, p2, 5 * sizeof *p1);
  /* concatenation: the trees in parts give the same forest */
  pp_cart_trees a, b, c;
  pp_cart_trees_init(&a, d);
  pp_cart_trees_init(&b, d);
  pp_cart_trees_init(&c, d);
  pp_cart_trees *parts[2] = {&a, &b}, *whole[1] = {&t};
  assert_int_equal(pp_cart_trees_concat(whole, 1, &a), 0);
  assert_int_equal(pp_cart_trees_concat(whole, 1, &b), 0);
  assert_int_equal(pp_cart_trees_concat(parts, 2, &c), 0);
  assert_int_equal(c.n_trees, 2 * T);
  assert_int_equal(c.n_nodes, 2 * t.n_nodes);
  pp_cart_predict(&c, X, n, p2, 2);
  for (size_t i = 0; i < n; i++) assert_true(fabs(p2[i] - p1[i]) < 1e-12);
  for (size_t k = 0; k < T; k++) {
    assert_int_equal(c.start[T + k + 1] - c.start[T + k], t.start[k + 1] - t.start[k]);
    assert_int_equal(pp_cart_depth(&c, T + k), pp_cart_depth(&t, k));
  }
  pp_cart_trees_free(&a);
  pp_cart_trees_free(&b);
  pp_cart_trees_free(&c);
  /* an empty model predicts NaN */
  pp_cart_trees e;
  pp_cart_trees_init(&e, d);
  pp_cart_predict(&e, X, 2, p3, 1);
  assert_true(isnan(p3[0]) && isnan(p3[1]));
  pp_cart_trees_free(&t);
  free(p1);
  free(p2);
  free(p3);
  free(X);
  free(y);
}

static void test_importance_known(void **state) {
  (void)state;
  /* y depends on feature 2 only, and one split separates it: all importance on feature 2 */
  const size_t n = 200, d = 3;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 23;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(&st);
    y[i] = X[i * d + 2] > 0 ? 1.0f : 0.0f;
  }
  pp_cart_params p = params(PP_CART_GINI, 0, 2, 1, d);
  pp_cart_trees t;
  grow(X, y, NULL, NULL, n, d, &p, 1, &t);
  assert_int_equal(t.n_nodes, 3);
  double imp[3];
  assert_int_equal(pp_cart_importance(&t, imp, d), 0);
  assert_true(imp[0] == 0 && imp[1] == 0 && imp[2] == 1.0);
  assert_int_equal(pp_cart_importance(&t, imp, 2), PROP_ERR_ARG);
  pp_cart_trees_free(&t);
  /* two levels, by hand: y = 1 when x0 = 1, else y = x1; x1 = 1 on a quarter of the rows.
   * root: 200 rows, 125 positive: weighted gini 2*125*75/200 = 93.75.
   *   split on x0: {x0=1: 100 pos} 0 + {x0=0: 25 pos of 100} 2*25*75/100 = 37.5  -> gain 56.25
   *   split on x1: {x1=1: 50 pos} 0 + {x1=0: 75 pos of 150} 75                    -> gain 18.75
   * then x1 splits the x0=0 node into pure children: gain 37.5.  Shares 56.25/93.75 = 0.6, 0.4. */
  for (size_t i = 0; i < n; i++) {
    X[i * d + 0] = (float)(i % 2);
    X[i * d + 1] = (i / 2) % 4 == 0 ? 1.0f : 0.0f;
    X[i * d + 2] = 0.0f;
    y[i] = (i % 2) ? 1.0f : X[i * d + 1];
  }
  grow(X, y, NULL, NULL, n, d, &p, 1, &t);
  assert_int_equal(pp_cart_importance(&t, imp, d), 0);
  assert_int_equal(t.node[0].feature, 0);
  assert_true(fabs(t.gain[0] - 56.25) < 1e-9);
  assert_true(fabs(imp[0] - 0.6) < 1e-12 && fabs(imp[1] - 0.4) < 1e-12 && imp[2] == 0);
  /* several trees: each tree's shares count alike, however large its gains.  Tree A (200 rows)
   * splits on x0 only, tree B (20 rows, far smaller gains) on x1 only: [0.5, 0.5, 0] */
  pp_cart_trees ta, tb, both;
  for (size_t i = 0; i < n; i++) y[i] = X[i * d + 0] > 0.5f ? 1.0f : 0.0f;
  grow(X, y, NULL, NULL, n, d, &p, 1, &ta);
  for (size_t i = 0; i < 20; i++) {
    X[i * d + 0] = 0.0f;
    X[i * d + 1] = (float)i;
    y[i] = i >= 10 ? 1.0f : 0.0f;
  }
  grow(X, y, NULL, NULL, 20, d, &p, 1, &tb);
  assert_int_equal(ta.node[0].feature, 0);
  assert_int_equal(tb.node[0].feature, 1);
  assert_true(ta.gain[0] > 5 * tb.gain[0]);
  pp_cart_trees *parts[2] = {&ta, &tb};
  pp_cart_trees_init(&both, d);
  assert_int_equal(pp_cart_trees_concat(parts, 2, &both), 0);
  assert_int_equal(pp_cart_importance(&both, imp, d), 0);
  assert_true(fabs(imp[0] - 0.5) < 1e-12 && fabs(imp[1] - 0.5) < 1e-12 && imp[2] == 0);
  pp_cart_trees_free(&ta);
  pp_cart_trees_free(&tb);
  pp_cart_trees_free(&both);
  pp_cart_trees_free(&t);
  free(X);
  free(y);
}

/* ---- serialisation ------------------------------------------------------------------------------ */

typedef struct cart_fuzz {
  size_t d;
  const float *X; /* 50 rows */
} cart_fuzz;

/* Loads the trees: a failure must be PROP_ERR_CORRUPT; loaded trees must walk in bounds. */
static int cart_loader(const unsigned char *p, size_t len, size_t flipped, void *user) {
  (void)flipped;
  const cart_fuzz *f = user;
  pp_rd rd;
  pp_rd_init(&rd, p, len, "test trees");
  pp_cart_trees u;
  int rc = pp_cart_load(&rd, f->d, 10, &u);
  if (rc) {
    assert_int_equal(rc, PROP_ERR_CORRUPT);
    return rc;
  }
  /* 50 rows (the walk of few rows) and the same rows four times over (blocks, and the vector walk where
   * the CPU has it) */
  enum { R = 200 };
  float Xr[R * 8];
  assert_true(f->d <= 8);
  for (size_t i = 0; i < R; i++) memcpy(Xr + i * f->d, f->X + (i % 50) * f->d, f->d * sizeof(float));
  double pr[R], imp[64];
  pp_cart_predict(&u, Xr, R, pr, 1);
  for (size_t i = 0; i < R; i++) {
    assert_true(pr[i] >= 0 && pr[i] <= 1);
    double s = 0; /* the node walk: the prediction copy (when the file gave one) must agree */
    for (size_t k = 0; k < u.n_trees; k++) s += leaf_value(&u, k, Xr + i * f->d);
    assert_true(pr[i] == s / (double)u.n_trees);
  }
  pp_cart_predict(&u, f->X, 50, pr, 1);
  for (size_t i = 0; i < 50; i++) assert_true(pr[i] == pr[i + 50] || (pr[i] != pr[i] && pr[i + 50] != pr[i + 50]));
  assert_true(f->d <= 64);
  assert_int_equal(pp_cart_importance(&u, imp, f->d), 0);
  for (size_t k = 0; k < u.n_trees; k++) assert_true(pp_cart_depth(&u, k) < u.start[k + 1] - u.start[k]);
  pp_cart_trees_free(&u);
  return 0;
}

static void test_save_load_and_crafted_files(void **state) {
  (void)state;
  const size_t n = 300, d = 4;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  noisy_data(n, d, 8, X, y);
  pp_cart_trees t;
  enum { NT = 9 }; /* >= 8 trees: the fuzzed files' 200-row predictions take the vector walk where there is one */
  small_forest(X, y, n, d, NT, &t);
  pp_buf b;
  pp_buf_init(&b);
  pp_cart_save(&t, &b);
  assert_int_equal(pp_buf_status(&b), 0);
  assert_int_equal(b.len, 16 + 8 * NT + 45 * t.n_nodes);
  pp_rd rd;
  pp_rd_init(&rd, b.data, b.len, "test trees");
  pp_cart_trees u;
  assert_int_equal(pp_cart_load(&rd, d, 10, &u), 0);
  assert_int_equal(pp_rd_end(&rd), 0);
  pp_buf b2;
  pp_buf_init(&b2);
  pp_cart_save(&u, &b2);
  assert_int_equal(b2.len, b.len);
  assert_memory_equal(b2.data, b.data, b.len);
  pp_buf_free(&b2);
  pp_cart_trees_free(&u);
  /* limits: wrong width, too many trees */
  int32_t maxf = 0;
  for (size_t g = 0; g < t.n_nodes; g++)
    if (t.node[g].feature > maxf) maxf = t.node[g].feature;
  pp_rd_init(&rd, b.data, b.len, "test trees");
  assert_int_equal(pp_cart_load(&rd, (size_t)maxf, 10, &u), PROP_ERR_CORRUPT); /* feature maxf out of range */
  pp_rd_init(&rd, b.data, b.len, "test trees");
  assert_int_equal(pp_cart_load(&rd, d, 2, &u), PROP_ERR_CORRUPT);
  pp_rd_init(&rd, b.data, b.len, "test trees");
  assert_int_equal(pp_cart_load(&rd, 0, 10, &u), PROP_ERR_CORRUPT);
  /* every truncation fails cleanly; every byte flipped fails with CORRUPT, or loads a model whose
   * walks stay in bounds */
  cart_fuzz fz = {d, X};
  tu_each_truncation(b.data, b.len, cart_loader, &fz);
  const unsigned char masks[] = {0x01, 0xFF};
  size_t rejected = tu_each_flip(b.data, b.len, masks, 2, cart_loader, &fz);
  assert_true(rejected > b.len / 4);
  unsigned char *c = tu_xmalloc(b.len);
  /* hand-made: a child pointing back to its parent (a cycle) */
  assert_true(t.node[0].feature >= 0);
  memcpy(c, b.data, b.len);
  size_t node0 = 16 + 8 * NT;          /* first node of tree 0, its root: a split */
  int32_t back = 0;
  memcpy(c + node0 + 8, &back, 4);    /* left child := 0 (itself) */
  pp_rd_init(&rd, c, b.len, "test trees");
  assert_int_equal(pp_cart_load(&rd, d, 10, &u), PROP_ERR_CORRUPT);
  assert_non_null(strstr(prop_last_error(), "test trees"));
  free(c);
  pp_buf_free(&b);
  pp_cart_trees_free(&t);
  free(X);
  free(y);
}

/* Trees the prediction copy cannot hold keep none, and predict walks the nodes: a comb whose root's
 * left subtree has 70,001 nodes (the right child's offset does not fit in 16 bits), and a loaded
 * file where two splits share a child (the loader accepts it: every child points forward). */
static void test_pack_fallbacks(void **state) {
  (void)state;
  const size_t K = 70000, N = 2 * K + 1;
  pp_cart_trees t;
  pp_cart_trees_init(&t, 1);
  t.start = tu_xmalloc(2 * sizeof *t.start);
  t.node = tu_xmalloc(N * sizeof *t.node);
  t.default_left = tu_xmalloc(N);
  t.value = tu_xmalloc(N * sizeof *t.value);
  t.weight = tu_xmalloc(N * sizeof *t.weight);
  t.gain = tu_xmalloc(N * sizeof *t.gain);
  t.count = tu_xmalloc(N * sizeof *t.count);
  t.start[0] = 0;
  t.start[1] = N;
  t.n_trees = 1;
  t.n_nodes = t.cap = N;
  for (size_t k = 0; k < N; k++) {
    t.node[k].feature = -1;
    t.node[k].left = t.node[k].right = -1;
    t.node[k].threshold = 0;
    t.default_left[k] = 0;
    t.value[k] = (double)k / (double)N;
    t.weight[k] = 1;
    t.gain[k] = 0;
    t.count[k] = 1;
  }
  for (size_t k = 0; k < K; k++) { /* split k: x <= K - k - 0.5 goes on down the comb */
    t.node[k].feature = 0;
    t.node[k].threshold = (float)K - (float)k - 0.5f;
    t.node[k].left = (int32_t)(k + 1);
    t.node[k].right = (int32_t)(K + 1 + k);
  }
  assert_int_equal(pp_cart_pack(&t), 0);
  assert_null(t.pk_node);
  const float xs[5] = {3.0f, 0.0f, (float)K, 69999.0f, NAN};
  double pr[5];
  pp_cart_predict(&t, xs, 5, pr, 1);
  for (size_t i = 0; i < 5; i++) assert_true(pr[i] == leaf_value(&t, 0, xs + i));
  assert_true(pr[0] == t.value[K + 1 + (K - 3)]);
  pp_cart_trees_free(&t);

  /* a shared child, through the loader (which packs) */
  const size_t n = 300, d = 4;
  float *X = tu_xmalloc(n * d * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  noisy_data(n, d, 8, X, y);
  pp_cart_trees f;
  small_forest(X, y, n, d, 3, &f);
  size_t s0 = f.start[1] - f.start[0];
  assert_true(s0 >= 5 && f.node[0].feature >= 0);
  pp_buf b;
  pp_buf_init(&b);
  pp_cart_save(&f, &b);
  pp_rd rd;
  pp_rd_init(&rd, b.data, b.len, "test trees");
  pp_cart_trees u;
  assert_int_equal(pp_cart_load(&rd, d, 10, &u), 0);
  assert_non_null(u.pk_node); /* an ordinary file is packed */
  pp_cart_trees_free(&u);
  /* tree 0: find a split whose two children are both splits; point the left one's right child at
   * the right one's left child (forward, in range, different from its own left child) */
  int32_t a = -1;
  for (size_t i = 0; i < s0 && a < 0; i++)
    if (f.node[i].feature >= 0 && f.node[f.node[i].left].feature >= 0 && f.node[f.node[i].right].feature >= 0)
      a = (int32_t)i;
  assert_true(a >= 0);
  int32_t L = f.node[a].left, R = f.node[a].right;
  int32_t target = f.node[R].left;
  if (target > L && target != f.node[L].left) {
    unsigned char *c = tu_xmalloc(b.len);
    memcpy(c, b.data, b.len);
    memcpy(c + 16 + 8 * 3 + 45 * (size_t)L + 12, &target, 4); /* node L's right child */
    pp_rd_init(&rd, c, b.len, "test trees");
    assert_int_equal(pp_cart_load(&rd, d, 10, &u), 0);
    assert_null(u.pk_node);
    double *p = tu_xmalloc(n * sizeof *p);
    pp_cart_predict(&u, X, n, p, 2);
    for (size_t i = 0; i < n; i++) {
      double sum = 0;
      for (size_t k = 0; k < u.n_trees; k++) sum += leaf_value(&u, k, X + i * d);
      assert_true(p[i] == sum / (double)u.n_trees);
    }
    free(p);
    pp_cart_trees_free(&u);
    free(c);
  } else {
    fprintf(stderr, "note: tree 0 has no shape for the shared-child case (%d %d %d)\n", (int)L, (int)R, (int)target);
    fail();
  }
  pp_buf_free(&b);
  pp_cart_trees_free(&f);
  free(X);
  free(y);
}

/* ---- the compact copy ---------------------------------------------------------------------------- */

/* pp_cart_predict on X (n rows) against one row and one tree at a time, bit for bit: the whole set on 1 and 2
 * threads, and windows of sizes that fill 1 to 4 vectors, a sub-block and more.  Where the compact walk runs,
 * its sums (before the division by the tree count) are the same as adding the leaves one tree at a time,
 * and it reports the rows it leaves to the caller (a NaN it cannot route) as lost. */
static void check_compact(const pp_cart_trees *t, const float *X, size_t n, size_t want_lost) {
  const size_t d = t->d;
  double *ref = tu_xmalloc(n * sizeof *ref), *got = tu_xmalloc(n * sizeof *got);
  ref_means(t, X, n, ref);
  for (int th = 1; th <= 2; th++) {
    pp_cart_predict(t, X, n, got, th);
    assert_memory_equal(ref, got, n * sizeof *ref);
  }
  const size_t sizes[] = {1, 2, 3, 4, 5, 7, 17, 255, 256, 257};
  for (size_t q = 0; q < sizeof sizes / sizeof *sizes; q++)
    for (size_t at = 0; at + sizes[q] <= n && at < 40; at += 13) {
      pp_cart_predict(t, X + at * d, sizes[q], got, 1);
      assert_memory_equal(ref + at, got, sizes[q] * sizeof *ref);
    }
  if (t->pk_compact && pp_cart_compact_usable()) {
    void *work = tu_xmalloc(pp_cart_compact_work_bytes(n));
    uint8_t *lost = tu_xmalloc(n);
    assert_int_equal(pp_cart_compact_walk(t, X, n, got, lost, work), want_lost);
    size_t nlost = 0;
    for (size_t i = 0; i < n; i++) {
      nlost += lost[i];
      if (lost[i]) continue;
      double s = 0;
      for (size_t k = 0; k < t->n_trees; k++) s += leaf_value(t, k, X + i * d);
      assert_memory_equal(&s, &got[i], sizeof s);
    }
    assert_int_equal(nlost, want_lost);
    free(work);
    free(lost);
  }
  free(ref);
  free(got);
}

/* Rows whose values sit on the trees' thresholds and next to them (the floats just below and above), at
 * -0.0 and +-inf: the codes must order them as the float comparisons do. */
static void put_edge_values(const pp_cart_trees *t, float *X, size_t n, uint64_t seed) {
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++) {
    const size_t g = (size_t)(tu_uniform(&st) * (double)t->n_nodes), f = (size_t)(tu_uniform(&st) * (double)t->d);
    const pp_cart_node *nd = t->node + g;
    const double u = tu_uniform(&st);
    if (nd->feature < 0) X[i * t->d + f] = u < 0.3 ? -0.0f : u < 0.6 ? INFINITY : -INFINITY;
    else {
      const float th = nd->threshold;
      X[i * t->d + (size_t)nd->feature] = u < 0.4 ? th : u < 0.7 ? nextafterf(th, INFINITY) : nextafterf(th, -INFINITY);
    }
  }
}

/* n rows of d >= 6 normal columns, the label from columns 0 and 1 (wavy: sin(4 x0), and column 4) with 15%
 * flipped; NaN in column 2 of every sixth row (mostly positive) and in column 3 of every ninth (mostly negative), so that splits send NaN both ways. */
static void narrow_data(float *X, float *y, size_t n, size_t d, uint64_t *st, int wavy) {
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)tu_normal(st);
    const double u = tu_uniform(st);
    const float a = wavy ? sinf(4.0f * X[i * d]) - 0.3f * X[i * d + 4] : X[i * d];
    y[i] = (a + 0.5f * X[i * d + 1] > 0.2f) ^ (u < 0.15) ? 1.0f : 0.0f;
    if (i % 6 == 0) {
      X[i * d + 2] = NAN;
      y[i] = u < 0.8 ? 1.0f : 0.0f;
    } else if (i % 9 == 0) {
      X[i * d + 3] = NAN;
      y[i] = u < 0.1 ? 1.0f : 0.0f;
    }
  }
}

/* n rows of 90 columns: 12 normal ones carrying the signal, the rest 0/1 flags; NaN in column 1 of every tenth
 * row; 17 trees of max_depth depth (0: any) grown on them and packed.  Returns the rows with a NaN. */
static size_t wide_forest(float *X, float *y, size_t n, size_t depth, uint64_t *st, pp_cart_trees *t) {
  const size_t d = 90;
  size_t with_nan = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) X[i * d + j] = j < 12 ? (float)tu_normal(st) : (tu_uniform(st) < 0.3 ? 1.0f : 0.0f);
    y[i] = X[i * d] - X[i * d + 12] + 0.4f * (float)tu_normal(st) > 0.0f ? 1.0f : 0.0f;
    if (i % 10 == 3) {
      X[i * d + 1] = NAN;
      with_nan++;
    }
  }
  pp_cart_params p = params(PP_CART_ENTROPY, depth, 2, 2, 9);
  grow_forest(X, y, n, d, 17, PP_CART_DEFAULT_BINS, &p, 9, t);
  assert_int_equal(pp_cart_pack(t), 0);
  return with_nan;
}

/* The compact copy walks to the same leaves and adds them in the same order as the node walk, bit for bit:
 * a narrow forest (d <= 64: NaN routed by the code table's second half, both ways) with single-leaf trees in
 * a partial last chunk of 16; a wide one (d > 64: rows with NaN are left to the other walk); values on and
 * next to every kind of threshold; and a forest whose feature has more distinct thresholds than a byte code
 * holds keeps no compact copy, with the same results. */
static void test_predict_compact(void **state) {
  (void)state;
  const size_t n = 900;
  /* narrow: 6 columns, NaN in two of them steering both ways, 21 + 2 single-leaf trees */
  size_t d = 6;
  float *X = tu_xmalloc(n * 100 * sizeof *X), *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 41;
  narrow_data(X, y, n, d, &st, 0);
  pp_cart_trees t, one;
  pp_cart_params p = params(PP_CART_GINI, 0, 2, 1, 3);
  grow_forest(X, y, n, d, 21, PP_CART_DEFAULT_BINS, &p, 7, &t);
  float *y1 = tu_xmalloc(n * sizeof *y1);
  for (size_t i = 0; i < n; i++) y1[i] = 0.0f;
  grow_forest(X, y1, n, d, 2, PP_CART_DEFAULT_BINS, &p, 3, &one);
  pp_cart_trees *parts[3] = {&t, &one, &t}, all;
  pp_cart_trees_init(&all, d);
  assert_int_equal(pp_cart_trees_concat(parts, 3, &all), 0); /* 44 trees: the last chunk holds 12 */
  assert_int_equal(pp_cart_pack(&all), 0);
  assert_non_null(all.pk_compact);
  size_t dl = 0;
  for (size_t g = 0; g < all.n_nodes; g++) dl += all.node[g].feature >= 0 && all.default_left[g];
  assert_true(dl > 0); /* some splits send NaN left */
  check_compact(&all, X, n, 0);
  put_edge_values(&all, X, n, 5);
  check_compact(&all, X, n, 0);
  pp_cart_trees_free(&all);
  pp_cart_trees_free(&one);
  pp_cart_trees_free(&t);

  /* wide: 90 columns of which 12 carry the signal and the rest are 0/1 flags; NaN in column 1 */
  d = 90;
  const size_t with_nan = wide_forest(X, y, n, 0, &st, &t);
  assert_non_null(t.pk_compact);
  check_compact(&t, X, n, with_nan);
  put_edge_values(&t, X, n, 6);
  size_t lost = 0;
  for (size_t i = 0; i < n; i++) {
    int any = 0;
    for (size_t j = 0; j < d; j++) any |= X[i * d + j] != X[i * d + j];
    lost += (size_t)any;
  }
  check_compact(&t, X, n, lost);
  pp_cart_trees_free(&t);

  /* a feature with 1000 distinct thresholds (bins of 2000 values): no compact copy */
  d = 2;
  for (size_t i = 0; i < n; i++) {
    X[i * d] = (float)i;
    X[i * d + 1] = (float)tu_normal(&st);
    y[i] = tu_uniform(&st) < 0.5 ? 1.0f : 0.0f; /* noise: many splits on column 0 */
  }
  p = params(PP_CART_GINI, 0, 2, 1, 2);
  grow_forest(X, y, n, d, 12, 2000, &p, 13, &t);
  assert_int_equal(pp_cart_pack(&t), 0);
  assert_non_null(t.pk_node);
  assert_null(t.pk_compact);
  check_compact(&t, X, n, 0);
  pp_cart_trees_free(&t);
  free(y1);
  free(X);
  free(y);
}

/* ---- the shallow forest ---------------------------------------------------------------------------- */

/* got[i] against the sum of row i's leaves, one tree at a time, for every row; returns the rows that differ. */
static size_t shallow_diff(const pp_cart_trees *t, const float *X, size_t n, const double *got) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    double s = 0;
    for (size_t k = 0; k < t->n_trees; k++) s += leaf_value(t, k, X + i * t->d);
    bad += memcmp(&s, &got[i], sizeof s) != 0;
  }
  return bad;
}

/* The shallow walk on windows of X (partial and whole blocks of 64, several blocks) against one tree at a
 * time, bit for bit, besides pp_cart_predict's checks (check_compact: whole set, 1 and 2 threads, windows). */
static void check_shallow(const pp_cart_trees *t, const float *X, size_t n, size_t compact_lost) {
  assert_true(pp_cart_shallow_ready(t));
  check_compact(t, X, n, compact_lost);
  if (!pp_cart_compact_usable()) return;
  void *work = tu_xmalloc(pp_cart_shallow_work_bytes(t->d));
  double *got = tu_xmalloc(n * sizeof *got);
  const size_t sizes[] = {1, 5, 63, 64, 65, 128, 191, n};
  for (size_t q = 0; q < sizeof sizes / sizeof *sizes; q++)
    for (size_t at = 0; at + sizes[q] <= n && at < 30; at += 29) {
      pp_cart_shallow_walk(t, X + at * t->d, sizes[q], got, work);
      assert_int_equal(shallow_diff(t, X + at * t->d, sizes[q], got), 0);
    }
  free(got);
  free(work);
}

/* Every one of the 64 leaf values the shallow copy keeps for tree tr, made wrong in turn, shows in some row's
 * sum: the padded copies of a shallow leaf are all read (the padding nodes spread the rows).  Returns the
 * number of copies whose change showed. */
static size_t shallow_copies_read(const pp_cart_trees *t, size_t tr, const float *X, size_t n) {
  if (!pp_cart_compact_usable()) return 64;
  void *work = tu_xmalloc(pp_cart_shallow_work_bytes(t->d));
  double *got = tu_xmalloc(n * sizeof *got), *ref = tu_xmalloc(n * sizeof *ref);
  pp_cart_shallow_walk(t, X, n, ref, work);
  assert_int_equal(shallow_diff(t, X, n, ref), 0);
  size_t shown = 0;
  for (unsigned k = 0; k < 64; k++) {
    const double keep = pp_cart_shallow_leaf(t, tr, k);
    pp_cart_shallow_set_leaf(t, tr, k, keep + 0.25);
    pp_cart_shallow_walk(t, X, n, got, work);
    shown += memcmp(got, ref, n * sizeof *ref) != 0;
    pp_cart_shallow_set_leaf(t, tr, k, keep);
  }
  free(ref);
  free(got);
  free(work);
  return shown;
}

/* Distinct thresholds of feature f over the forest. */
static size_t distinct_thresholds(const pp_cart_trees *t, int32_t f) {
  float *v = tu_xmalloc((t->n_nodes + 1) * sizeof *v);
  size_t k = 0, u = 0;
  for (size_t g = 0; g < t->n_nodes; g++)
    if (t->node[g].feature == f) v[k++] = t->node[g].threshold;
  for (size_t i = 0; i < k; i++) {
    size_t j = 0;
    while (j < i && v[j] != v[i]) j++;
    u += j == i;
  }
  free(v);
  return u;
}

/* The shallow walk (trees of depth <= 6) reaches the same leaves and adds them in the same order as one tree at
 * a time, bit for bit: leaves above depth 6 (min_samples_leaf), single-leaf trees, NaN sent both ways, a
 * feature with over a hundred distinct thresholds, values on and next to the thresholds, 900 rows (not a
 * multiple of 64), a wide forest (d > 64, NaN); every padded copy of a shallow tree's leaves is read; a
 * forest one level deeper keeps no shallow copy and gives the same bits. */
static void test_predict_shallow(void **state) {
  (void)state;
  const size_t n = 900;
  size_t d = 6;
  float *X = tu_xmalloc(n * 90 * sizeof *X), *y = tu_xmalloc(n * sizeof *y), *y0 = tu_xmalloc(n * sizeof *y0);
  uint64_t st = 77;
  narrow_data(X, y, n, d, &st, 1);
  for (size_t i = 0; i < n; i++) y0[i] = 0.0f;
  pp_cart_trees t, one, all;
  pp_cart_params p = params(PP_CART_GINI, 6, 2, 8, 2);
  grow_forest(X, y, n, d, 40, PP_CART_DEFAULT_BINS, &p, 21, &t);
  grow_forest(X, y0, n, d, 2, PP_CART_DEFAULT_BINS, &p, 5, &one); /* single leaves */
  pp_cart_trees *parts[3] = {&t, &one, &t};
  pp_cart_trees_init(&all, d);
  assert_int_equal(pp_cart_trees_concat(parts, 3, &all), 0);
  assert_int_equal(pp_cart_pack(&all), 0);
  if (pp_cart_compact_usable()) assert_true(pp_cart_shallow_ready(&all));
  size_t dl = 0, shallow_leaf_tree = SIZE_MAX, many = 0;
  for (size_t g = 0; g < all.n_nodes; g++) dl += all.node[g].feature >= 0 && all.default_left[g];
  assert_true(dl > 0); /* some splits send NaN left, others right */
  for (size_t k = 0; k < t.n_trees && shallow_leaf_tree == SIZE_MAX; k++)
    if (pp_cart_depth(&all, k) == 6 && pp_cart_leaves(&all, k) < 40) shallow_leaf_tree = k;
  assert_true(shallow_leaf_tree != SIZE_MAX); /* a full-depth tree with leaves above depth 6 */
  assert_int_equal(all.start[t.n_trees + 1] - all.start[t.n_trees], 1);
  for (int32_t f = 0; f < (int32_t)d; f++)
    if (distinct_thresholds(&all, f) > many) many = distinct_thresholds(&all, f);
  assert_true(many > 100);
  if (pp_cart_compact_usable()) {
    check_shallow(&all, X, n, 0);
    const size_t nf = 20000; /* fresh rows, so that a shallow leaf sees enough of them */
    float *F = tu_xmalloc(nf * d * sizeof *F);
    for (size_t i = 0; i < nf * d; i++) F[i] = i % 97 == 5 ? NAN : (float)tu_normal(&st);
    assert_int_equal(shallow_copies_read(&all, shallow_leaf_tree, F, nf), 64);
    assert_int_equal(shallow_copies_read(&all, t.n_trees, F, nf), 64); /* a single leaf's 64 copies */
    free(F);
    put_edge_values(&all, X, n, 8);
    check_shallow(&all, X, n, 0);
  }
  pp_cart_trees_free(&all);
  pp_cart_trees_free(&one);
  pp_cart_trees_free(&t);

  /* the same data, one level deeper: no shallow copy, the compact walk, the same bits */
  p = params(PP_CART_GINI, 7, 2, 1, 3);
  grow_forest(X, y, n, d, 12, PP_CART_DEFAULT_BINS, &p, 22, &t);
  assert_int_equal(pp_cart_pack(&t), 0);
  size_t deepest = 0;
  for (size_t k = 0; k < t.n_trees; k++) deepest = pp_cart_depth(&t, k) > deepest ? pp_cart_depth(&t, k) : deepest;
  assert_int_equal(deepest, 7);
  assert_false(pp_cart_shallow_ready(&t));
  check_compact(&t, X, n, 0);
  pp_cart_trees_free(&t);

  /* wide: 90 columns, NaN in column 1 (the compact walk leaves those rows to the node walk; this one not) */
  const size_t with_nan = wide_forest(X, y, n, 5, &st, &t);
  if (pp_cart_compact_usable()) check_shallow(&t, X, n, with_nan);
  pp_cart_trees_free(&t);
  free(X);
  free(y);
  free(y0);
}

/* ---- AUC ---------------------------------------------------------------------------------------- */

static void test_auc_matches_reference(void **state) {
  (void)state;
  const size_t n = 500;
  double *s = tu_xmalloc(n * sizeof *s);
  float *y = tu_xmalloc(n * sizeof *y);
  uint64_t st = 31;
  for (size_t i = 0; i < n; i++) {
    y[i] = tu_uniform(&st) < 0.3 ? 1.0f : 0.0f;
    s[i] = floor((tu_uniform(&st) + 0.3 * y[i]) * 20) / 20; /* many ties */
  }
  double auc;
  assert_int_equal(pp_cart_auc(s, y, n, &auc), 0);
  assert_true(fabs(auc - tu_auc_ref(s, y, n)) < 1e-12);
  const double s4[] = {0.1, 0.4, 0.35, 0.8};
  const float y4[] = {0, 0, 1, 1};
  assert_int_equal(pp_cart_auc(s4, y4, 4, &auc), 0);
  assert_true(fabs(auc - 0.75) < 1e-15);
  const float y0[] = {0, 0, 0, 0};
  assert_int_equal(pp_cart_auc(s4, y0, 4, &auc), 0);
  assert_true(isnan(auc));
  const double s4n[] = {0.1, NAN, 0.35, 0.8}; /* a NaN score: NaN, and it returns */
  auc = 0.5;
  assert_int_equal(pp_cart_auc(s4n, y4, 4, &auc), 0);
  assert_true(isnan(auc));
  free(s);
  free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bins_exact_values_and_missing),
      cmocka_unit_test(test_bins_quantiles_and_threads),
      cmocka_unit_test(test_separable_fits_exactly),
      cmocka_unit_test(test_xor_at_depth_two),
      cmocka_unit_test(test_min_samples_leaf_and_split),
      cmocka_unit_test(test_gini_and_entropy_choose_differently),
      cmocka_unit_test(test_missing_direction_is_learned),
      cmocka_unit_test(test_leaf_limit_counts_distinct_rows),
      cmocka_unit_test(test_multiplicity_equals_duplicated_rows),
      cmocka_unit_test(test_threshold_in_the_middle_of_the_gap),
      cmocka_unit_test(test_max_features_and_rng),
      cmocka_unit_test(test_predict_mean_blocks_and_threads),
      cmocka_unit_test(test_predict_deep_trees),
      cmocka_unit_test(test_predict_top_levels),
      cmocka_unit_test(test_predict_compact),
      cmocka_unit_test(test_predict_shallow),
      cmocka_unit_test(test_importance_known),
      cmocka_unit_test(test_save_load_and_crafted_files),
      cmocka_unit_test(test_pack_fallbacks),
      cmocka_unit_test(test_auc_matches_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
