/* Exact path-dependent TreeSHAP by Gauss-Legendre quadrature (what is computed: treeshap.h).
 *
 * Derivation.  Take one tree and a leaf l of value v whose path splits on the distinct columns U
 * (u = |U|); for k in U, z_k is the product of child cover / parent cover over the path's splits on
 * k, and o_k is 1 when x goes every such split's way, else 0.  The value of a set S (treeshap.h) is
 * sum over leaves of v x prod_{k in U} (k in S ? o_k : z_k), so the leaf's part of the Shapley value
 * of i in U is
 *     v (o_i - z_i) sum_{S in U \ i} |S|! (u - 1 - |S|)! / u!  prod_{k in S} o_k  prod_{k not in S} z_k,
 * and since |S|! (u - 1 - |S|)! / u! = integral_0^1 t^|S| (1 - t)^(u - 1 - |S|) dt,
 *     = v (o_i - z_i) integral_0^1 prod_{k in U \ i} a_k(t) dt,    a_k(t) = z_k + (o_k - z_k) t,
 * a polynomial of degree u - 1 under the integral: Gauss-Legendre with P >= u / 2 points is exact.
 *
 * One pass over the tree gives every column's sum over the leaves at the P points at once.  Order the
 * splits on i along a path as j = 1..m and let a_(j) be a_i of the first j of them (a_(0) = 1,
 * o_(0) = z_(0) = 1).  Then (o_i - z_i) / a_i = sum_j D_j with
 *     D_j = (o_(j) - z_(j)) / a_(j) - (o_(j-1) - z_(j-1)) / a_(j-1),
 * which depends on the split j and its ancestors only, and the leaf's part above is
 *     v R_l(t) (o_i - z_i) / a_i(t),   R_l = prod_{k in U} a_k = prod over the path's edges of a_(j) / a_(j-1).
 * So, at the P points: going down, each node's P_n = product of the edge factors a_(j) / a_(j-1) down
 * to it (times the weights and the scale); coming back up, K_n = sum over the leaves below n of
 * v P_leaf; and the edge into n adds D_j x K_n to its column.  A node costs a few operations on P
 * doubles (the walk: "the pass" below).  Only a split's own state matters:
 *  - x goes the split's way (o_(j) = o_(j-1) = 1): a_(j) = z_(j) + (1 - z_(j)) t;
 *  - it does not (o_(j) = 0 after o_(j-1) = 1): a_(j) = z_(j) (1 - t), D_j = -1/(1-t) - (1 - z_(j-1)) / a_(j-1);
 *  - an earlier split on i already failed: the factor is z_(j) / z_(j-1) = the edge's cover fraction,
 *    and D_j = 0.
 * All factors are positive for t in (0, 1) (Gauss-Legendre points are inside), so nothing cancels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/treeshap.h"

/* ---- the quadrature rules ----------------------------------------------------------------------- */

/* Rule of P points at rule + off(P): weights on [0, 1], points t, 1 - t, 1 / (1 - t). */
static size_t rule_offset(size_t P) {
  size_t k = P / PP_SHAP_LANES;
  return 2 * PP_SHAP_LANES * k * (k - 1); /* 4 P' doubles for each smaller multiple P' of the lanes */
}

/* Gauss-Legendre nodes and weights of P points on [0, 1], by Newton's method on the Legendre
 * polynomial from the usual first guesses (converges in a few steps for every point). */
static void gauss_legendre(size_t P, double *w, double *t) {
  const double pi = 3.14159265358979323846;
  for (size_t i = 0; i < P; i++) {
    double x = cos(pi * ((double)i + 0.75) / ((double)P + 0.5)), dp = 1.0;
    for (int it = 0; it < 100; it++) {
      double p0 = 1.0, p1 = x;
      for (size_t j = 2; j <= P; j++) {
        double p2 = ((double)(2 * j - 1) * x * p1 - (double)(j - 1) * p0) / (double)j;
        p0 = p1;
        p1 = p2;
      }
      if (P == 1) p0 = 1.0;
      dp = (double)P * (x * p1 - p0) / (x * x - 1.0);
      double dx = p1 / dp;
      x -= dx;
      if (fabs(dx) <= 1e-16) break;
    }
    w[i] = 1.0 / ((1.0 - x * x) * dp * dp); /* 2 / ((1 - x^2) P'(x)^2), halved for [0, 1] */
    t[i] = 0.5 * (1.0 - x);
  }
}

/* ---- build ---------------------------------------------------------------------------------------- */

void pp_treeshap_free(pp_treeshap *s) {
  if (!s) return;
  free(s->pts);
  free(s->rule_mem);
  free(s->plan);
  free(s->plan_start);
  s->pts = NULL;
  s->rule = NULL;
  s->rule_mem = NULL;
  s->plan = NULL;
  s->plan_start = NULL;
}

/* Work arrays of tree_facts and plan_tree, each of the largest tree's size (cnt: one per column,
 * zero between trees). */
typedef struct facts_work {
  int32_t *par, *stack;
  uint32_t *dep, *cnt;
  uint16_t *save, *frame;
  uint32_t *post;
  double *ex;
} facts_work;

/* The longest root-to-leaf path of tree t (checked, par[] filled) in distinct columns: a depth-first
 * walk counting each column's splits on the current path (stack entries: ~node when leaving it). */
static size_t longest_distinct(const pp_treeshap *s, size_t t, const facts_work *w) {
  const pp_cart_node *nd = s->node + s->start[t];
  size_t top = 0, uniq = 0, best = 0;
  w->stack[top++] = 0;
  while (top) {
    const int32_t e = w->stack[--top];
    const int32_t i = e >= 0 ? e : ~e, p = w->par[i];
    const int32_t f = p >= 0 ? nd[p].feature : -1;
    if (e < 0) { /* leaving i: its edge's column leaves the path */
      if (f >= 0 && --w->cnt[f] == 0) uniq--;
      continue;
    }
    if (f >= 0 && w->cnt[f]++ == 0) uniq++;
    if (uniq > best) best = uniq;
    w->stack[top++] = ~i;
    if (nd[i].feature >= 0) {
      w->stack[top++] = nd[i].right;
      w->stack[top++] = nd[i].left;
    }
  }
  return best;
}

/* Tree t: structure checks, its depth, its longest path in distinct columns (*uniq) and its
 * cover-weighted mean leaf (*mean). */
static int tree_facts(const pp_treeshap *s, size_t t, const facts_work *w, size_t *depth, size_t *uniq, double *mean,
                      const char *what) {
  const size_t b = s->start[t], S = s->start[t + 1] - b;
  const pp_cart_node *nd = s->node + b;
  int32_t *par = w->par;
  for (size_t i = 0; i < S; i++) par[i] = -1;
  *depth = 0;
  w->dep[0] = 0;
  for (size_t i = 0; i < S; i++) {
    const double c = s->cover[b + i];
    if (i > 0 && par[i] < 0) continue; /* unreachable: never walked */
    if (!(c > 0) || !isfinite(c))
      return pp_err(PROP_ERR_STATE, "%s: tree %zu node %zu has cover %g; its contributions are undefined", what, t, i, c);
    if (nd[i].feature < 0) {
      if (!isfinite(s->value[b + i]))
        return pp_err(PROP_ERR_STATE, "%s: tree %zu leaf %zu has a non-finite value", what, t, i);
      if (w->dep[i] > *depth) *depth = w->dep[i];
      continue;
    }
    const int32_t l = nd[i].left, r = nd[i].right;
    if ((size_t)nd[i].feature >= s->d || l <= (int32_t)i || r <= (int32_t)i || (size_t)l >= S || (size_t)r >= S ||
        l == r || par[l] >= 0 || par[r] >= 0)
      return pp_err(PROP_ERR_STATE, "%s: tree %zu node %zu does not split into two children of its own", what, t, i);
    par[l] = par[r] = (int32_t)i;
    w->dep[l] = w->dep[r] = w->dep[i] + 1;
  }
  *uniq = longest_distinct(s, t, w);
  for (size_t i = S; i-- > 0;) {
    if (i > 0 && par[i] < 0) continue;
    if (nd[i].feature < 0) w->ex[i] = s->value[b + i];
    else {
      const size_t l = (size_t)nd[i].left, r = (size_t)nd[i].right;
      w->ex[i] = s->cover[b + l] / s->cover[b + i] * w->ex[l] + s->cover[b + r] / s->cover[b + i] * w->ex[r];
    }
  }
  *mean = w->ex[0];
  return 0;
}

/* Numbers the edges of tree t (its reachable nodes but the root) in post-order into w->post; returns
 * their count. */
static size_t post_order(const pp_treeshap *s, size_t t, const facts_work *w) {
  const pp_cart_node *nd = s->node + s->start[t];
  size_t top = 0, n = 0;
  w->stack[top++] = 0;
  while (top) {
    const int32_t e = w->stack[--top];
    if (e < 0) { /* leaving ~e */
      w->post[~e] = (uint32_t)n++;
      continue;
    }
    if (e > 0) w->stack[top++] = ~e;
    if (nd[e].feature >= 0) {
      w->stack[top++] = nd[e].right;
      w->stack[top++] = nd[e].left;
    }
  }
  return n;
}

/* Tree t's inner nodes into the plan from s->plan[*k] on (*k advanced), in depth-first order, left
 * child first, from tree_facts' par and post_order's numbers.  The walk keeps in cnt each column's
 * frame of the edge out of its last split on the path (save: what it was before node i's edge, put
 * back when leaving i). */
static void plan_tree(const pp_treeshap *s, size_t t, const facts_work *w, size_t *k) {
  const size_t b = s->start[t];
  const pp_cart_node *nd = s->node + b;
  size_t top = 0;
  if (nd[0].feature < 0) return;
  w->stack[top++] = 0;
  w->frame[0] = 0;
  while (top) {
    const int32_t e = w->stack[--top];
    const int32_t i = e >= 0 ? e : ~e, p = w->par[i];
    if (e < 0) { /* leaving i */
      w->cnt[nd[p].feature] = w->save[i];
      continue;
    }
    if (p >= 0) {
      w->save[i] = (uint16_t)w->cnt[nd[p].feature];
      w->cnt[nd[p].feature] = w->frame[i];
      w->stack[top++] = ~i;
    }
    const int32_t l = nd[i].left, r = nd[i].right;
    pp_shap_node *g = &s->plan[(*k)++];
    g->ze[0] = s->cover[b + (size_t)l] / s->cover[b + (size_t)i];
    g->ze[1] = s->cover[b + (size_t)r] / s->cover[b + (size_t)i];
    g->value[0] = nd[l].feature < 0 ? s->value[b + (size_t)l] : 0.0;
    g->value[1] = nd[r].feature < 0 ? s->value[b + (size_t)r] : 0.0;
    g->threshold = nd[i].threshold;
    g->feature = nd[i].feature;
    g->frame = w->frame[i];
    g->prev = (uint16_t)w->cnt[nd[i].feature];
    g->nan_left = s->default_left[b + (size_t)i] ? 1 : 0;
    g->post[0] = w->post[l];
    g->post[1] = w->post[r];
    w->frame[r] = (uint16_t)(w->frame[i] + 1);
    w->frame[l] = (uint16_t)(w->frame[i] + 2);
    if (nd[r].feature >= 0) w->stack[top++] = r;
    if (nd[l].feature >= 0) w->stack[top++] = l;
  }
}

int pp_treeshap_build(pp_treeshap *s, const char *what) {
  s->pts = NULL;
  s->rule = NULL;
  s->rule_mem = NULL;
  s->plan = NULL;
  s->plan_start = NULL;
  s->max_depth = s->max_pts = s->max_edges = 0;
  s->base = s->offset;
  size_t maxn = 1;
  for (size_t t = 0; t < s->ntrees; t++)
    if (s->start[t + 1] - s->start[t] > maxn) maxn = s->start[t + 1] - s->start[t];
  facts_work w;
  w.par = pp_malloc_array(maxn, sizeof *w.par);
  w.stack = pp_malloc_array(maxn, 2 * sizeof *w.stack);
  w.dep = pp_malloc_array(maxn, sizeof *w.dep);
  w.cnt = pp_calloc(s->d ? s->d : 1, sizeof *w.cnt);
  w.save = pp_malloc_array(maxn, sizeof *w.save);
  w.frame = pp_malloc_array(maxn, sizeof *w.frame);
  w.post = pp_malloc_array(maxn, sizeof *w.post);
  w.ex = pp_malloc_array(maxn, sizeof *w.ex);
  s->pts = pp_calloc(s->ntrees ? s->ntrees : 1, sizeof *s->pts);
  s->plan_start = pp_malloc_array(s->ntrees + 1, sizeof *s->plan_start);
  size_t inner = 0; /* a binary tree of n nodes has (n - 1) / 2 inner ones, at most n / 2 of them reachable */
  for (size_t t = 0; t < s->ntrees; t++) inner += (s->start[t + 1] - s->start[t]) / 2;
  s->plan = pp_malloc_array(inner ? inner : 1, sizeof *s->plan);
  int rc = (!w.par || !w.stack || !w.dep || !w.cnt || !w.save || !w.frame || !w.post || !w.ex || !s->pts ||
            !s->plan_start || !s->plan)
               ? PROP_ERR_NOMEM
               : 0;
  size_t k = 0;
  double sum = 0.0;
  for (size_t t = 0; t < s->ntrees && !rc; t++) {
    size_t depth = 0, uniq = 0;
    double mean = 0.0;
    rc = tree_facts(s, t, &w, &depth, &uniq, &mean, what);
    if (rc) break;
    size_t need = (uniq + 1) / 2; /* points for degree uniq - 1 */
    if (uniq && need < s->min_pts) need = s->min_pts;
    size_t P = (need + PP_SHAP_LANES - 1) / PP_SHAP_LANES * PP_SHAP_LANES;
    if (P > UINT16_MAX || depth > (UINT16_MAX - 3) / 2) { /* frames to 2 depth + 2 */
      rc = pp_err(PROP_ERR_STATE, "%s: tree %zu is too deep to explain", what, t);
      break;
    }
    const size_t edges = post_order(s, t, &w);
    if (edges > s->max_edges) s->max_edges = edges;
    s->plan_start[t] = k;
    plan_tree(s, t, &w, &k);
    s->pts[t] = (uint16_t)P;
    if (depth > s->max_depth) s->max_depth = depth;
    if (P > s->max_pts) s->max_pts = P;
    sum += mean;
  }
  free(w.par);
  free(w.stack);
  free(w.dep);
  free(w.cnt);
  free(w.save);
  free(w.frame);
  free(w.post);
  free(w.ex);
  if (!rc) s->plan_start[s->ntrees] = k;
  if (!rc && s->max_pts) { /* 64-byte aligned for the pass's vectors */
    s->rule_mem = pp_malloc_array(rule_offset(s->max_pts + PP_SHAP_LANES) + 8, sizeof *s->rule);
    if (!s->rule_mem) rc = PROP_ERR_NOMEM;
    else s->rule = (double *)(void *)(((uintptr_t)(void *)s->rule_mem + 63) & ~(uintptr_t)63);
    for (size_t P = PP_SHAP_LANES; !rc && P <= s->max_pts; P += PP_SHAP_LANES) {
      double *r = s->rule + rule_offset(P);
      gauss_legendre(P, r, r + P);
      for (size_t q = 0; q < P; q++) {
        r[2 * P + q] = 1.0 - r[P + q];
        r[3 * P + q] = 1.0 / r[2 * P + q];
      }
    }
  }
  if (rc) {
    pp_treeshap_free(s);
    return rc;
  }
  s->base = s->offset + s->scale * sum;
  return 0;
}

int pp_treeshap_init(pp_treeshap *s, size_t d, size_t ntrees, const size_t *start, const pp_cart_node *node,
                     const uint8_t *default_left, const double *value, const double *cover, int strict, double scale,
                     const char *what) {
  memset(s, 0, sizeof *s);
  s->d = d;
  s->ntrees = ntrees;
  s->start = start;
  s->node = node;
  s->default_left = default_left;
  s->value = value;
  s->cover = cover;
  s->strict = strict;
  s->scale = scale;
  pp_err_state saved;
  pp_err_save(&saved);
  int rc = pp_treeshap_build(s, what);
  if (rc == PROP_ERR_STATE) {
    s->ntrees = 0;
    pp_err_restore(&saved);
    return 0;
  }
  return rc;
}

/* ---- the pass -------------------------------------------------------------------------------------- *
 *
 * The P points are handled as vectors of 4 doubles, or of 8 in the AVX-512 copy when P is a multiple
 * of 8 (GCC's vector extension: elementwise IEEE operations, the same bits whatever instructions
 * carry them and however the points are cut into vectors; no fused multiply-adds).  What a row's walk
 * does not depend on is in the plan that pp_treeshap_build makes (pp_shap_node): each tree's inner
 * nodes in depth-first order, each with its children's cover fractions and leaf values, the frame of
 * its edge on the walk's stack, the frame of its column's previous split on the path, and its
 * children's numbers in post-order.  What does depend on the row is which way x goes at each split,
 * so per edge one of three cases (x goes there, it does not, or an earlier split on the column
 * failed); the walk takes them by addresses and bit masks, without a branch.  It computes every
 * edge's P, D and K going down, then adds the D K and the K up in post-order, the order in which a
 * recursive walk adds them as it leaves each node (treeshap_single.h).  Costs per row: the plan's 56
 * bytes per inner node read once (5.3 MB for the demo's default forest of 190,472 nodes, streamed from
 * L3 at about 35 GB/s here: 0.15 ms; the plan is kept with the trees, 28 bytes per node beside their
 * 33), and scratch of 2 P doubles per frame and 2 P doubles and 16 bytes per edge of the largest tree.
 * The pass is compiled for P = 4 and P = 8 (and 16 in the AVX-512 copy) with the count known, and any
 * P: portable, with 256-bit instructions where the CPU has AVX2, and with 512-bit ones where it has
 * AVX-512. */

typedef double v4d __attribute__((vector_size(PP_SHAP_LANES * sizeof(double))));

/* One frame of the single-row pass: an edge on the path (the root's: frame 0, see pp_shap_node). */
typedef struct frame {
  double zm;    /* live edges: the column's cover fraction z_(j) along the path */
  uint8_t pass; /* x goes this way and every earlier split on the column (so the edge is live) */
} frame;

/* An edge's contribution, added in post-order once the tree's walk is done. */
typedef struct sedge {
  double *acc; /* the sums it adds to: its column's, or column d's when it is dead (an earlier split on
                  the column failed) */
  size_t up;   /* its parent's edge (post-order number; the root's: the edge count) */
} sedge;

/* Frames of the single-row pass: to 2 depth + 2 (pp_shap_node). */
static size_t single_frames(const pp_treeshap *s) { return 2 * s->max_depth + 3; }

/* Scratch (pass's fields, in this order): frames; edges (max_edges + 1); then 64-byte aligned, for each
 * frame P and 1 / a at the points, for each edge D and K, and the per-column sums ((d + 1) x max_pts:
 * the last for the dead edges). */
static size_t single_scratch(const pp_treeshap *s) {
  const size_t F = single_frames(s), E = s->max_edges + 1, P = s->max_pts ? s->max_pts : PP_SHAP_LANES;
  return F * sizeof(frame) + E * sizeof(sedge) + 64 + (2 * F + 2 * E + s->d + 1) * P * sizeof(double);
}

typedef struct pass {
  frame *fr;
  sedge *ed;
  double *vec; /* 2 P doubles per frame: P and 1 / a */
  double *edv; /* 2 P doubles per edge: D and K */
  double *acc; /* (d + 1) x P: each column's sums at the points */
} pass;

/* The rule of P points as vectors: weights, t, 1 - t, 1 / (1 - t) (rule is 64-byte aligned, see
 * pp_treeshap_build). */
static const v4d *rule_of(const pp_treeshap *s, size_t P) { return (const v4d *)(const void *)(s->rule + rule_offset(P)); }

/* The single pass for 4 and 8 doubles a vector (tree_plan_4, tree_plan_8). */
#define SHAP_W 4
#define SHAP_N(x) x##_4
#include "models/treeshap_single.h"
#undef SHAP_W
#undef SHAP_N
#if PP_HAVE_AVX512
#define SHAP_W 8
#define SHAP_N(x) x##_8
#include "models/treeshap_single.h"
#undef SHAP_W
#undef SHAP_N
#endif

/* Tree t by tree_plan_W with the usual point counts known at compile time (the loops become a vector
 * operation or two), else any P (a multiple of W). */
#define TREE_PLAN_ANY(name, attr, W)                                                                \
  static attr void name(const pp_treeshap *s, size_t t, const float *x, const pass *w, size_t P) { \
    const size_t C = P / (W);                                                                       \
    if (s->strict) {                                                                                \
      if (C == 1) tree_plan_##W(s, t, x, w, 1, 1);                                                  \
      else if (C == 2) tree_plan_##W(s, t, x, w, 2, 1);                                             \
      else tree_plan_##W(s, t, x, w, C, 1);                                                         \
    } else {                                                                                        \
      if (C == 1) tree_plan_##W(s, t, x, w, 1, 0);                                                  \
      else if (C == 2) tree_plan_##W(s, t, x, w, 2, 0);                                             \
      else tree_plan_##W(s, t, x, w, C, 0);                                                         \
    }                                                                                               \
  }
TREE_PLAN_ANY(tree_row_base, , 4)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
TREE_PLAN_ANY(tree_row_avx2, __attribute__((target("avx2"))), 4)
#define SHAP_HAVE_AVX2 1
#else
#define SHAP_HAVE_AVX2 0
#endif
#if PP_HAVE_AVX512
TREE_PLAN_ANY(tree_row_avx512_8, __attribute__((target("avx512f"))), 8)
/* The AVX-512 copy: trees of a multiple of 8 points by 8-double vectors, the others by the AVX2 copy
 * (every CPU with AVX-512F has AVX2). */
static void tree_row_avx512(const pp_treeshap *s, size_t t, const float *x, const pass *w, size_t P) {
  if (P % 8) tree_row_avx2(s, t, x, w, P);
  else tree_row_avx512_8(s, t, x, w, P);
}
#endif
#undef TREE_PLAN_ANY

typedef void (*tree_row_fn)(const pp_treeshap *, size_t, const float *, const pass *, size_t);

/* The single pass's copy for path (PP_SHAP_SINGLE_*; any other: the fastest this CPU runs), the one
 * used into *used. */
static tree_row_fn single_copy(int path, int *used) {
  *used = PP_SHAP_SINGLE_PORTABLE;
  const int any = path < PP_SHAP_SINGLE_PORTABLE;
#if PP_HAVE_AVX512
  if ((any || path == PP_SHAP_SINGLE_AVX512) && pp_cpu_avx512f() && pp_cpu_avx2()) {
    *used = PP_SHAP_SINGLE_AVX512;
    return tree_row_avx512;
  }
#endif
#if SHAP_HAVE_AVX2
  if ((any || path == PP_SHAP_SINGLE_AVX2) && pp_cpu_avx2()) {
    *used = PP_SHAP_SINGLE_AVX2;
    return tree_row_avx2;
  }
#endif
  return tree_row_base;
}

/* Rows one at a time (the single-row pass) by the copy row. */
static void rows_single(const pp_treeshap *s, const float *X, size_t n, double *phi, void *scratch, tree_row_fn row) {
  const size_t F = single_frames(s), E = s->max_edges + 1, Pm = s->max_pts ? s->max_pts : PP_SHAP_LANES, d = s->d;
  pass w;
  w.fr = scratch;
  w.ed = (sedge *)(void *)(w.fr + F);
  w.vec = (double *)(void *)(((uintptr_t)(void *)(w.ed + E) + 63) & ~(uintptr_t)63);
  w.edv = w.vec + 2 * F * Pm;
  w.acc = w.edv + 2 * E * Pm;
  /* frames a row reads without their being written (a failed edge's 1 / a and z: tree_plan) hold
   * zeros rather than whatever the scratch held */
  memset(w.fr, 0, F * sizeof *w.fr);
  memset(w.vec, 0, 2 * F * Pm * sizeof(double));
  const double *acc = w.acc;
  for (size_t i = 0; i < n; i++) {
    const float *x = X + i * d;
    double *out = phi + i * d;
    memset(out, 0, d * sizeof *out);
    /* trees in order; each tree's sums at its points are added to the columns once it is done */
    for (size_t t = 0; t < s->ntrees; t++) {
      const size_t P = s->pts[t];
      if (!P) continue;
      memset(w.acc, 0, (d + 1) * P * sizeof(double));
      row(s, t, x, &w, P);
      for (size_t f = 0; f < d; f++) {
        double a = 0.0;
        for (size_t q = 0; q < P; q++) a += acc[f * P + q];
        out[f] += a;
      }
    }
  }
}

/* ---- the grouped pass ------------------------------------------------------------------------------ *
 *
 * A batch walks each tree once for a group of rows (4, or 8 with AVX-512) instead of once per row: the
 * walk's order, its frames and the column -> frame map do not depend on the row, only which way each row
 * goes does, so the bookkeeping is paid once per group.
 * Every (row, point) value is a lane (per point a vector of the group's rows) and does the single-row
 * pass's double operations in its order, so each row gets the single-row pass's bits whatever its group,
 * its lane or the copy.  What depends on the row is little: on a live edge, zprev (so a, 1 / a and D) is
 * the same for every row the edge is live for, since a row is live there only when it went every earlier
 * split on the column's way, so its last live split is the column's previous split on the path, the same
 * for all; and 1 / a of that split is its passing rows' (the failing rows are dead below it).  So per
 * edge the factors a (the row goes), z (1 - t) (it does not) and the cover fraction (dead) and the two
 * D's are computed once (the divisions too), and each row's lanes take (bitwise, no arithmetic) the one
 * the single-row pass computes for it; a row's lanes that a step does not concern keep their bits
 * (with AVX-512 the selects are mask registers, which the multiplies take for free).
 *
 * None of that per edge depends on the rows at all: neither the walk's order nor an edge's column,
 * threshold, shared factors, previous split on its column or the frames that complete after it.  So a
 * tree is first laid out as its edges in the walk's order (tree_edges, once per tree for a chunk of up
 * to GROUP_ROWS rows), and each group of the chunk then runs down that list (treeshap_group.h, compiled
 * once per group width), with no bookkeeping and no divisions of its own: per edge the rows' masks and
 * the lane arithmetic, and for a leaf the frames it completes.  The column's first split on a path
 * reads the root's frame as its previous one (every row live and going, 1 / a = 1, zprev = 1): x 1.0
 * leaves the bits as they are, so the first splits need no case of their own in the walk.  Two more
 * steps add +0 where the single-row pass adds nothing, which leaves the bits too since those sums
 * start at +0 and so are never -0: a dead row's D K into its column, and a tree's zero sums into the
 * columns it does not split on (skipped: only its own columns are cleared and added). */

#define GROUP_ROWS 128 /* rows per chunk: the edge lists are laid out once for this many */

/* The lanes of a where m is set, else b's (bits only). */
#define SEL(m, a, b) ((vgd)((((vgl)(a)) & (m)) | (((vgl)(b)) & ~(m))))
#define GV(P) (2 * (P) + 2) /* vectors per depth in gpass.row */

/* One edge of a tree as the grouped walk reads it; its vectors (A, B, 1 / a_(j-1), D when the row
 * goes, D when not: P doubles each) are at edge index x 5 P in the chunk's vector list. */
typedef struct gedge {
  double ze;     /* the edge's cover fraction (the dead rows' factor) */
  double m;      /* K of the child = m P: the leaf's value, or 0 for an inner node (P x 0, as the pass) */
  int32_t feat;  /* the split's column */
  float thr;     /* its threshold */
  int32_t depth; /* frame of the child (its parent's + 1) */
  int32_t k;     /* frame of the column's previous split on the path (0: none, the root's frame) */
  int32_t npop;  /* frames done after it: 0 for an inner child, for a leaf 1 + the ancestors done */
  uint8_t dleft, right;
} gedge;

/* A frame of tree_edges' walk. */
typedef struct gframe {
  int32_t node, feat, prev;
  uint8_t phase;
  double zm;
} gframe;

/* Work of tree_edges: frames and 1 / a of each frame's edge (C vectors each, max_depth + 2 frames),
 * the column -> frame map (d, all 0 between trees), the edges with their vectors (5 C each), and the
 * columns the tree splits on (cols, d; seen: d flags, all 0 between trees). */
typedef struct glay {
  gframe *fr;
  v4d *inv;
  int32_t *cur;
  gedge *ed;
  v4d *sv;
  int32_t *cols;
  uint8_t *seen;
} glay;

/* Tree t at P = 4 C points as its edges in the walk's order (the single-row pass's shared factors,
 * computed as it does), and its columns in g->cols (*ncols of them); returns the edges' count. */
static inline __attribute__((always_inline)) size_t tree_edges(const pp_treeshap *s, size_t t, const size_t C,
                                                               const glay *g, size_t *ncols) {
  const size_t b = s->start[t];
  const pp_cart_node *nd = s->node + b;
  const double *cov = s->cover + b, *val = s->value + b;
  const uint8_t *dl = s->default_left + b;
  const v4d *R = rule_of(s, 4 * C), *T = R + C, *OMT = R + 2 * C, *IOMT = R + 3 * C;
  gframe *fr = g->fr;
  fr[0].node = 0;
  fr[0].phase = 0;
  fr[0].zm = 1.0;
  for (size_t c = 0; c < C; c++) g->inv[c] = R[c] * 0.0 + 1.0;
  size_t top = 0, ne = 0, nc = 0;
  for (;;) {
    gframe *p = &fr[top];
    if (p->phase == 2) {
      if (top == 0) break;
      g->cur[p->feat] = p->prev;
      g->ed[ne - 1].npop++;
      top--;
      continue;
    }
    const pp_cart_node *nn = &nd[p->node];
    const int right = p->phase++;
    const int32_t n = p->node, c = right ? nn->right : nn->left, f = nn->feature, k = g->cur[f];
    const double ze = cov[c] / cov[n], zprev = fr[k].zm, zj = zprev * ze, c1 = 1.0 - zj, c0 = 1.0 - zprev;
    v4d *A = g->sv + ne * 5 * C, *B = A + C, *ip = A + 2 * C, *Dg = A + 3 * C, *Dn = A + 4 * C;
    v4d *inv = g->inv + (top + 1) * C;
    const v4d *iprev = g->inv + (size_t)k * C;
    for (size_t q = 0; q < C; q++) {
      const v4d a = zj + c1 * T[q];
      A[q] = a;
      inv[q] = 1.0 / a;
      Dg[q] = c1 * inv[q];
      B[q] = zj * OMT[q];
      Dn[q] = -IOMT[q];
      ip[q] = iprev[q];
      if (k) { /* divide by the previous split's factor, as the pass */
        Dg[q] = Dg[q] - c0 * iprev[q];
        Dn[q] = Dn[q] - c0 * iprev[q];
      }
    }
    if (!g->seen[f]) {
      g->seen[f] = 1;
      g->cols[nc++] = f;
    }
    const int leaf = nd[c].feature < 0;
    gedge *e = &g->ed[ne++];
    e->ze = ze;
    e->m = leaf ? val[c] : 0.0;
    e->feat = f;
    e->thr = nn->threshold;
    e->depth = (int32_t)(top + 1);
    e->k = k;
    e->npop = leaf;
    e->dleft = dl[n];
    e->right = (uint8_t)right;
    if (leaf) continue;
    gframe *q = &fr[++top];
    q->node = c;
    q->phase = 0;
    q->feat = f;
    q->prev = k;
    q->zm = zj;
    g->cur[f] = (int32_t)top;
  }
  for (size_t k = 0; k < nc; k++) g->seen[g->cols[k]] = 0;
  *ncols = nc;
  return ne;
}

/* tree_edges with the point count known at compile time for the usual ones, portable and AVX2. */
#define TREE_EDGES_ANY(name, attr)                                                                   \
  static attr size_t name(const pp_treeshap *s, size_t t, size_t P, const glay *g, size_t *nc) {   \
    const size_t C = P / PP_SHAP_LANES;                                                              \
    return C == 1 ? tree_edges(s, t, 1, g, nc) : C == 2 ? tree_edges(s, t, 2, g, nc) : tree_edges(s, t, C, g, nc); \
  }
TREE_EDGES_ANY(tree_edges_base, )
#if SHAP_HAVE_AVX2
TREE_EDGES_ANY(tree_edges_avx2, __attribute__((target("avx2"))))
#endif
#undef TREE_EDGES_ANY
typedef size_t (*edges_fn)(const pp_treeshap *, size_t, size_t, const glay *, size_t *);

/* Groups of 4 rows (the portable and AVX2 copies), and of 8 (AVX-512). */
#define SHAP_G 4
#define SHAP_N(x) x##_4
#include "models/treeshap_group.h"
#undef SHAP_G
#undef SHAP_N
#if PP_HAVE_AVX512
#include <immintrin.h>
#define SHAP_G 8
#define SHAP_N(x) x##_8
#include "models/treeshap_group.h"
#undef SHAP_G
#undef SHAP_N
#endif

/* Scratch: the single-row pass's layout or a grouped one's, at the same place. */
size_t pp_treeshap_scratch(const pp_treeshap *s, size_t n) {
  size_t a = single_scratch(s), b = n >= 2 ? group_layout_4(s, NULL, NULL) : 0;
#if PP_HAVE_AVX512
  if (n >= 2 && group_layout_8(s, NULL, NULL) > b) b = group_layout_8(s, NULL, NULL);
#endif
  return a > b ? a : b;
}

/* Batches go in chunks of up to GROUP_ROWS rows, each in groups (8 rows with AVX-512, else 4), a last
 * group of fewer rows with lanes to spare; a single row (alone, or the batch's last) takes the
 * single-row pass, which costs less than a group. */
int pp_treeshap_rows_path(const pp_treeshap *s, const float *X, size_t n, double *phi, void *scratch, int path) {
  size_t i = 0;
  int used = PP_SHAP_SINGLE, single;
  tree_row_fn row = single_copy(path, &single);
  if (path >= PP_SHAP_SINGLE_PORTABLE) {
    rows_single(s, X, n, phi, scratch, row);
    return single;
  }
  if (n >= 2 && path != PP_SHAP_SINGLE) {
    used = PP_SHAP_PORTABLE;
#if PP_HAVE_AVX512
    if ((path == PP_SHAP_BEST || path == PP_SHAP_AVX512) && pp_cpu_avx512f()) used = PP_SHAP_AVX512;
#endif
#if SHAP_HAVE_AVX2
    if (used == PP_SHAP_PORTABLE && (path == PP_SHAP_BEST || path == PP_SHAP_AVX2) && pp_cpu_avx2())
      used = PP_SHAP_AVX2;
    if (used == PP_SHAP_AVX2) i = walk_groups_4(s, X, n, phi, scratch, tree_group_avx2, tree_edges_avx2);
#endif
#if PP_HAVE_AVX512
    if (used == PP_SHAP_AVX512) i = walk_groups_8(s, X, n, phi, scratch, tree_group_avx512, tree_edges_avx2);
#endif
    if (used == PP_SHAP_PORTABLE) i = walk_groups_4(s, X, n, phi, scratch, tree_group_base, tree_edges_base);
  }
  if (i < n) rows_single(s, X + i * s->d, n - i, phi + i * s->d, scratch, row);
  return used;
}

void pp_treeshap_rows(const pp_treeshap *s, const float *X, size_t n, double *phi, void *scratch) {
  pp_treeshap_rows_path(s, X, n, phi, scratch, PP_SHAP_BEST);
}

int pp_treeshap_contrib(const pp_treeshap *s, const float *X, size_t n, double *phi, double *base, void *scratch) {
  if (base) *base = s->base;
  if (!n) return 0;
  void *own = scratch ? NULL : pp_malloc(pp_treeshap_scratch(s, n));
  if (!scratch && !own) return PROP_ERR_NOMEM;
  pp_treeshap_rows(s, X, n, phi, scratch ? scratch : own);
  free(own);
  return 0;
}
