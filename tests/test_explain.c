/* Contributions (lib/models/treeshap.c, the members' contrib operations, lib/explain/contrib.c):
 * exact TreeSHAP against brute-force Shapley values (every subset of the columns, with the
 * path-dependent expectation as the value function), XGBoost's own contributions, exact linear
 * contributions, the sampling estimator against exact interventional Shapley values over its
 * background, efficiency on every vote, one-hot summation, and the same bits for any thread count
 * and batch or single row. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "models/cart.h"
#include "models/member.h"
#include "models/treeshap.h"
#include "testutil.h"

/* ---- brute force ------------------------------------------------------------------------------- */

/* Shapley weight |S|! (p - |S| - 1)! / p! of a set of s players out of p. */
static double shapley_weight(unsigned s, unsigned p) {
  double w = 1.0 / (double)p;
  for (unsigned k = 1; k <= s; k++) w *= (double)k / (double)(p - k);
  return w;
}

/* Shapley values of p players (p <= 16) of the game v(mask) into phi[p], by every subset. */
static void brute_shapley(unsigned p, double (*v)(unsigned mask, void *u), void *u, double *phi) {
  const unsigned full = 1u << p;
  double *val = tu_xmalloc(full * sizeof *val);
  for (unsigned S = 0; S < full; S++) val[S] = v(S, u);
  for (unsigned i = 0; i < p; i++) {
    double s = 0.0;
    for (unsigned S = 0; S < full; S++) {
      if (S & (1u << i)) continue;
      s += shapley_weight((unsigned)__builtin_popcount(S), p) * (val[S | (1u << i)] - val[S]);
    }
    phi[i] = s;
  }
  free(val);
}

/* The path-dependent value of S for trees t (flat, as cart.h) at row x: at a split on a column in S
 * follow x, else both children weighted by cover; times scale, summed over the trees, plus offset. */
typedef struct tree_game {
  const pp_treeshap *s;
  const float *x;
} tree_game;

static double tree_expect(const pp_treeshap *s, size_t b, int32_t i, const float *x, unsigned S) {
  const pp_cart_node *n = &s->node[b + (size_t)i];
  if (n->feature < 0) return s->value[b + (size_t)i];
  if (S & (1u << n->feature)) {
    float v = x[n->feature];
    int left = v != v ? s->default_left[b + (size_t)i] : (s->strict ? v < n->threshold : v <= n->threshold);
    return tree_expect(s, b, left ? n->left : n->right, x, S);
  }
  const double c = s->cover[b + (size_t)i];
  return s->cover[b + (size_t)n->left] / c * tree_expect(s, b, n->left, x, S) +
         s->cover[b + (size_t)n->right] / c * tree_expect(s, b, n->right, x, S);
}

static double tree_game_value(unsigned S, void *u) {
  const tree_game *g = u;
  double sum = 0.0;
  for (size_t t = 0; t < g->s->ntrees; t++) sum += tree_expect(g->s, g->s->start[t], 0, g->x, S);
  return g->s->offset + g->s->scale * sum;
}

/* pp_treeshap_rows on rows X against the brute force, within tol; also base + sum = the trees'
 * output. */
static void check_treeshap(const pp_treeshap *s, const float *X, size_t n, double tol) {
  const size_t d = s->d;
  double *phi = tu_xmalloc(n * d * sizeof *phi), *ref = tu_xmalloc(d * sizeof *ref);
  void *scratch = tu_xmalloc(pp_treeshap_scratch(s));
  pp_treeshap_rows(s, X, n, phi, scratch);
  for (size_t i = 0; i < n; i++) {
    tree_game g = {s, X + i * d};
    brute_shapley((unsigned)d, tree_game_value, &g, ref);
    double sum = s->base, all = tree_game_value((1u << d) - 1, &g), none = tree_game_value(0, &g);
    tu_assert_close(none, s->base, 1e-12 * (1 + fabs(none)));
    for (size_t c = 0; c < d; c++) {
      if (fabs(phi[i * d + c] - ref[c]) > tol)
        fprintf(stderr, "row %zu column %zu: treeshap %.17g, brute force %.17g\n", i, c, phi[i * d + c], ref[c]);
      tu_assert_close(phi[i * d + c], ref[c], tol);
      sum += phi[i * d + c];
    }
    tu_assert_close(sum, all, 1e-12 * (1 + fabs(all)));
  }
  free(phi);
  free(ref);
  free(scratch);
}

/* ---- TreeSHAP on hand-made trees ------------------------------------------------------------------ */

/* One tree over 3 columns with a column split twice on a path, a NaN default and unequal covers:
 *   0: x0 <= 0.5 ? 1 : 2            (cover 10)
 *   1: x1 <= 1.0 ? 3 : 4            (cover 6, NaN right)
 *   2: x0 <= 2.0 ? 5 : 6            (cover 4: x0 again)
 *   3: x0 <= -1 ? 7 : 8             (cover 4: x0 again under x1)
 *   4..8 leaves. */
static void hand_tree(pp_cart_node *nd, uint8_t *dl, double *val, double *cov) {
  static const pp_cart_node k[9] = {{0, 0.5f, 1, 2},  {1, 1.0f, 3, 4},  {0, 2.0f, 5, 6},
                                    {0, -1.0f, 7, 8}, {-1, 0, -1, -1}, {-1, 0, -1, -1},
                                    {-1, 0, -1, -1},  {-1, 0, -1, -1}, {-1, 0, -1, -1}};
  static const uint8_t kd[9] = {1, 0, 1, 0, 0, 0, 0, 0, 0};
  static const double kv[9] = {0, 0, 0, 0, 0.9, 0.2, 0.6, 0.05, 0.4};
  static const double kc[9] = {10, 6, 4, 4, 2, 3, 1, 1.5, 2.5};
  memcpy(nd, k, sizeof k);
  memcpy(dl, kd, sizeof kd);
  memcpy(val, kv, sizeof kv);
  memcpy(cov, kc, sizeof kc);
}

static void test_treeshap_hand_tree(void **state) {
  (void)state;
  pp_cart_node nd[9];
  uint8_t dl[9];
  double val[9], cov[9];
  hand_tree(nd, dl, val, cov);
  size_t start[2] = {0, 9};
  const float X[] = {0.2f, 0.5f, 7.0f,  -3.0f, 2.0f, 0.0f, 1.0f, 1.0f, 1.0f, 3.0f, NAN,  0.0f,
                     NAN,  NAN,  NAN,   0.5f,  1.0f, 0.0f, 2.0f, -5.f, 2.0f, -1.0f, 1.0f, 9.0f};
  for (int strict = 0; strict <= 1; strict++)
    for (size_t min_pts = 0; min_pts <= 9; min_pts += 3) { /* every rule from 4 to 12 points is exact */
      pp_treeshap s;
      memset(&s, 0, sizeof s);
      s.d = 3;
      s.ntrees = 1;
      s.start = start;
      s.node = nd;
      s.default_left = dl;
      s.value = val;
      s.cover = cov;
      s.strict = strict;
      s.scale = strict ? 0.5 : 1.0;
      s.offset = strict ? -0.25 : 0.0;
      s.min_pts = min_pts;
      assert_int_equal(pp_treeshap_build(&s, "hand"), 0);
      assert_int_equal(s.max_depth, 3);
      check_treeshap(&s, X, 8, 1e-13);
      pp_treeshap_free(&s);
    }
  /* a zero cover cannot be explained, and says so */
  cov[6] = 0.0;
  pp_treeshap s;
  memset(&s, 0, sizeof s);
  s.d = 3;
  s.ntrees = 1;
  s.start = start;
  s.node = nd;
  s.default_left = dl;
  s.value = val;
  s.cover = cov;
  s.scale = 1.0;
  tu_expect_rc(pp_treeshap_build(&s, "hand"), PROP_ERR_STATE, "hand: tree 0 node 6 has cover 0");
  pp_treeshap_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_treeshap_hand_tree),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
