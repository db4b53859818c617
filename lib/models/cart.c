/* The CART builder shared by tree.c and forest.c: binning, growth, flat storage and
 * (de)serialisation.  Using the trees (the prediction copy, the walks, importance and shape) is in
 * cart_predict.c.  See cart.h for the method. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "models/cart.h"

#define CC_LO(x) ((uint32_t)((x) & 0xFFFFFFFFu)) /* distinct rows of the sample */
#define CC_HI(x) ((uint32_t)((x) >> 32))         /* of which class 1 */
#define MAX_ROWS ((size_t)0x3FFFFFFF)            /* keeps node indices in int32 */
#define NODE_BYTES 45u                           /* one serialised node */

/* =============================================================================================
 * Binning
 * ============================================================================================= */

/* Order-preserving map of a float onto uint32 (negatives reversed). */
static inline uint32_t f2key(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
static inline float key2f(uint32_t k) {
  uint32_t u = (k & 0x80000000u) ? (k & 0x7FFFFFFFu) : ~k;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* LSD radix sort of a[n] (3 passes of 11 bits); tmp has n entries.  Result in a. */
static void radix_sort_u32(uint32_t *a, uint32_t *tmp, size_t n) {
  size_t cnt[2048];
  uint32_t *src = a, *dst = tmp;
  for (int pass = 0; pass < 3; pass++) {
    int shift = pass * 11;
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++) cnt[(src[i] >> shift) & 2047u]++;
    size_t sum = 0;
    for (size_t k = 0; k < 2048; k++) {
      size_t c = cnt[k];
      cnt[k] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) dst[cnt[(src[i] >> shift) & 2047u]++] = src[i];
    uint32_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
}

/* A threshold strictly between a < b, as close to the midpoint as float allows: x <= it holds for
 * a and fails for b. */
static float midpoint(float a, float b) {
  float m = (float)(((double)a + (double)b) * 0.5);
  if (!(m < b)) m = a;
  if (!(m >= a)) m = a; /* cannot happen for finite a < b; keeps -inf/+inf pairs sane */
  return m;
}

/* Bin one column: sorted non-missing values give the edges; edge has room for max_bins - 1. */
static uint32_t bin_column(const float *X, size_t n, size_t d, size_t j, size_t max_bins, uint32_t *keys,
                           uint32_t *tmp, float *edge, uint16_t *code) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    float v = X[i * d + j];
    if (v == v) keys[m++] = f2key(v);
  }
  radix_sort_u32(keys, tmp, m);
  float *vals = (float *)tmp; /* reuse: same size as keys */
  size_t distinct = 0;
  for (size_t i = 0; i < m; i++) {
    vals[i] = key2f(keys[i]);
    if (i == 0 || vals[i - 1] < vals[i]) distinct++;
  }
  size_t nedge = 0;
  if (distinct <= max_bins) {
    for (size_t i = 1; i < m; i++)
      if (vals[i - 1] < vals[i]) edge[nedge++] = midpoint(vals[i - 1], vals[i]);
  } else {
    /* quantile cuts at ranks q m / B, each moved forward to the next change of value */
    size_t prev = 0;
    for (size_t q = 1; q < max_bins; q++) {
      size_t pos = (size_t)(((uint64_t)q * (uint64_t)m) / (uint64_t)max_bins);
      size_t p = pos > prev ? pos : prev + 1;
      while (p < m && !(vals[p - 1] < vals[p])) p++;
      if (p >= m) break;
      edge[nedge++] = midpoint(vals[p - 1], vals[p]);
      prev = p;
    }
  }
  const uint32_t nb = (uint32_t)nedge + 1;
  for (size_t i = 0; i < n; i++) {
    float v = X[i * d + j];
    if (v != v) {
      code[i] = (uint16_t)nb;
      continue;
    }
    size_t lo = 0, hi = nedge;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (edge[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    code[i] = (uint16_t)lo;
  }
  return nb;
}

void pp_cart_bins_free(pp_cart_bins *b) {
  if (!b) return;
  free(b->code);
  free(b->nbins);
  free(b->eoff);
  free(b->edge);
  memset(b, 0, sizeof *b);
}

int pp_cart_bins_build(const float *X, size_t n, size_t d, size_t max_bins, int nthread, pp_cart_bins *b) {
  memset(b, 0, sizeof *b);
  if (!X || n == 0 || d == 0) return pp_err(PROP_ERR_ARG, "cart: empty training matrix");
  if (n > MAX_ROWS) return pp_err(PROP_ERR_ARG, "cart: %zu rows exceed the limit %zu", n, MAX_ROWS);
  if (max_bins < 2 || max_bins > PP_CART_MAX_BINS)
    return pp_err(PROP_ERR_ARG, "cart: max_bins must be in [2, %u], got %zu", PP_CART_MAX_BINS, max_bins);
  size_t stride = (max_bins < n ? max_bins : n) - 1; /* most edges a column can have */
  if (stride == 0) stride = 1;
  b->n = n;
  b->d = d;
  b->code = pp_malloc_array(n, d * sizeof *b->code);
  b->nbins = pp_malloc_array(d, sizeof *b->nbins);
  b->eoff = pp_malloc_array(d + 1, sizeof *b->eoff);
  b->edge = pp_malloc_array(d, stride * sizeof *b->edge);
  if (!b->code || !b->nbins || !b->eoff || !b->edge || d > SIZE_MAX / stride) {
    pp_cart_bins_free(b);
    return pp_err(PROP_ERR_NOMEM, "cart: out of memory binning %zu x %zu values", n, d);
  }
  int nt = nthread > 0 ? nthread : 1;
  if ((size_t)nt > d) nt = (int)d;
  int fail = 0;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    uint32_t *keys = pp_alloc_raw(n * sizeof *keys), *tmp = pp_alloc_raw(n * sizeof *tmp);
    if (!keys || !tmp) {
#pragma omp atomic write
      fail = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (size_t j = 0; j < d; j++) {
      if (!keys || !tmp) continue;
      b->nbins[j] = bin_column(X, n, d, j, max_bins, keys, tmp, b->edge + j * stride, b->code + j * n);
    }
    free(keys);
    free(tmp);
  }
  if (fail) {
    pp_cart_bins_free(b);
    return pp_err(PROP_ERR_NOMEM, "cart: out of memory binning %zu x %zu values", n, d);
  }
  /* compact the edges (in column order: independent of the thread count) */
  size_t off = 0;
  b->max_nbins = 1;
  for (size_t j = 0; j < d; j++) {
    size_t ne = b->nbins[j] - 1;
    if (ne) memmove(b->edge + off, b->edge + j * stride, ne * sizeof *b->edge);
    b->eoff[j] = off;
    off += ne;
    if (b->nbins[j] > b->max_nbins) b->max_nbins = b->nbins[j];
  }
  b->eoff[d] = off;
  return 0;
}

/* =============================================================================================
 * Flat trees
 * ============================================================================================= */

void pp_cart_trees_init(pp_cart_trees *t, size_t d) {
  memset(t, 0, sizeof *t);
  t->d = d;
}

void pp_cart_trees_free(pp_cart_trees *t) {
  if (!t) return;
  free(t->start);
  free(t->node);
  free(t->default_left);
  free(t->value);
  free(t->weight);
  free(t->gain);
  free(t->count);
  free(t->pk_node);
  free(t->pk_value);
  free(t->pk_top);
  pp_cart_compact_free(t->pk_compact);
  size_t d = t->d;
  memset(t, 0, sizeof *t);
  t->d = d;
}

/* Room for need nodes.  On failure the arrays stay valid (some maybe larger) and cap unchanged. */
static int trees_reserve(pp_cart_trees *t, size_t need) {
  if (need <= t->cap) return 0;
  size_t cap = t->cap ? t->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 4 ? need : cap * 2;
  PP_TRY(pp_realloc_array(&t->node, cap, sizeof *t->node));
  PP_TRY(pp_realloc_array(&t->default_left, cap, sizeof *t->default_left));
  PP_TRY(pp_realloc_array(&t->value, cap, sizeof *t->value));
  PP_TRY(pp_realloc_array(&t->weight, cap, sizeof *t->weight));
  PP_TRY(pp_realloc_array(&t->gain, cap, sizeof *t->gain));
  PP_TRY(pp_realloc_array(&t->count, cap, sizeof *t->count));
  t->cap = cap;
  return 0;
}

/* Room for one more tree in start[]. */
static int trees_reserve_tree(pp_cart_trees *t) {
  PP_TRY(pp_realloc_array(&t->start, t->n_trees + 2, sizeof *t->start));
  if (t->n_trees == 0) t->start[0] = 0;
  return 0;
}

int pp_cart_trees_concat(pp_cart_trees *const *parts, size_t k, pp_cart_trees *out) {
  size_t T = 0, N = 0;
  for (size_t i = 0; i < k; i++) {
    T += parts[i]->n_trees;
    N += parts[i]->n_nodes;
  }
  pp_cart_trees r;
  pp_cart_trees_init(&r, out->d);
  r.start = pp_malloc_array(T + 1, sizeof *r.start);
  if (!r.start || trees_reserve(&r, N ? N : 1)) {
    pp_cart_trees_free(&r);
    return PROP_ERR_NOMEM;
  }
  r.start[0] = 0;
  for (size_t i = 0; i < k; i++) {
    const pp_cart_trees *p = parts[i];
    size_t o = r.n_nodes;
    memcpy(r.node + o, p->node, p->n_nodes * sizeof *r.node);
    memcpy(r.default_left + o, p->default_left, p->n_nodes * sizeof *r.default_left);
    memcpy(r.value + o, p->value, p->n_nodes * sizeof *r.value);
    memcpy(r.weight + o, p->weight, p->n_nodes * sizeof *r.weight);
    memcpy(r.gain + o, p->gain, p->n_nodes * sizeof *r.gain);
    memcpy(r.count + o, p->count, p->n_nodes * sizeof *r.count);
    for (size_t t = 0; t < p->n_trees; t++) r.start[r.n_trees + t + 1] = o + p->start[t + 1];
    r.n_trees += p->n_trees;
    r.n_nodes += p->n_nodes;
  }
  pp_cart_trees_free(out);
  *out = r;
  return 0;
}

/* =============================================================================================
 * Growth
 * ============================================================================================= */

typedef struct hist_t {
  double w, w1; /* weight, weight of class 1 */
  uint64_t cc;  /* rows | rows of class 1 << 32 */
} hist_t;

typedef struct run_t {
  double w, w1;
  uint64_t cc;
  uint32_t bin;
} run_t;

typedef struct rowp_t { /* the payload of a sample position, moved along with its row index */
  double w, wy;
  uint64_t cc;
} rowp_t;

typedef struct entry_t { /* a node waiting to be grown */
  uint32_t start, end, depth;
  int32_t parent; /* local index, -1 for the root */
  int side;       /* 0: left child of parent, 1: right */
  double w, w1;
  uint64_t cc;
} entry_t;

struct pp_cart_work {
  size_t n, d;
  uint32_t max_nbins;
  uint32_t *idx, *tidx;
  rowp_t *rp, *trp;
  uint64_t *keys;
  hist_t *hist; /* max_nbins + 1 entries, kept zeroed between uses */
  run_t *runs;  /* max_nbins + 1 */
  uint32_t *perm;
  entry_t *stack;
  size_t stack_cap;
};

void pp_cart_work_free(pp_cart_work *w) {
  if (!w) return;
  free(w->idx);
  free(w->tidx);
  free(w->rp);
  free(w->trp);
  free(w->keys);
  free(w->hist);
  free(w->runs);
  free(w->perm);
  free(w->stack);
  free(w);
}

int pp_cart_work_create(const pp_cart_bins *b, pp_cart_work **out) {
  *out = NULL;
  pp_cart_work *w = pp_calloc(1, sizeof *w);
  if (!w) return PROP_ERR_NOMEM;
  w->n = b->n;
  w->d = b->d;
  w->max_nbins = b->max_nbins;
  size_t n = b->n ? b->n : 1;
  w->idx = pp_malloc_array(n, sizeof *w->idx);
  w->tidx = pp_malloc_array(n, sizeof *w->tidx);
  w->rp = pp_malloc_array(n, sizeof *w->rp);
  w->trp = pp_malloc_array(n, sizeof *w->trp);
  w->keys = pp_malloc_array(n, sizeof *w->keys);
  w->hist = pp_calloc((size_t)b->max_nbins + 1, sizeof *w->hist);
  w->runs = pp_malloc_array((size_t)b->max_nbins + 1, sizeof *w->runs);
  w->perm = pp_malloc_array(b->d ? b->d : 1, sizeof *w->perm);
  w->stack_cap = 64;
  w->stack = pp_malloc_array(w->stack_cap, sizeof *w->stack);
  if (!w->idx || !w->tidx || !w->rp || !w->trp || !w->keys || !w->hist || !w->runs || !w->perm || !w->stack) {
    pp_cart_work_free(w);
    return PROP_ERR_NOMEM;
  }
  *out = w;
  return 0;
}

static inline double xlogx(double x) { return x > 0 ? x * log(x) : 0.0; }

/* Weighted impurity (node weight x impurity) of a node with weight w of which w1 is class 1. */
static inline double wimp(int crit, double w, double w1) {
  if (!(w > 0)) return 0.0;
  double w0 = w - w1;
  if (w0 < 0) w0 = 0;
  if (w1 < 0) w1 = 0;
  if (crit == PP_CART_GINI) return 2.0 * w1 * w0 / w;
  return (xlogx(w) - xlogx(w1) - xlogx(w0)) * 1.4426950408889634; /* bits */
}

typedef struct split_t {
  int found;
  double crit; /* weighted impurity of the two children (lower is better) */
  uint32_t feature;
  uint32_t a, b; /* last bin on the left, first bin on the right (b = nbins: missing-only split) */
  int dl;        /* 1: missing rows go left */
  int saw_missing;
  double lw, lw1, rw, rw1;
  uint64_t lcc, rcc;
} split_t;

static inline void consider(split_t *s, const pp_cart_params *p, uint32_t f, uint32_t a, uint32_t b, int dl,
                            int saw_missing, double lw, double lw1, uint64_t lcc, double rw, double rw1,
                            uint64_t rcc) {
  if (CC_LO(lcc) < p->min_samples_leaf || CC_LO(rcc) < p->min_samples_leaf) return;
  double c = wimp(p->criterion, lw, lw1) + wimp(p->criterion, rw, rw1);
  if (s->found && !(c < s->crit)) return;
  s->found = 1;
  s->crit = c;
  s->feature = f;
  s->a = a;
  s->b = b;
  s->dl = dl;
  s->saw_missing = saw_missing;
  s->lw = lw;
  s->lw1 = lw1;
  s->lcc = lcc;
  s->rw = rw;
  s->rw1 = rw1;
  s->rcc = rcc;
}

static int cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return (a > b) - (a < b);
}

/* The non-empty bins of feature f over positions [s, e) as runs in bin order, and the missing
 * rows' totals in *miss.  Returns the number of runs. */
static size_t collect(pp_cart_work *w, const pp_cart_bins *b, uint32_t f, size_t s, size_t e, hist_t *miss) {
  const uint16_t *col = b->code + (size_t)f * b->n;
  const uint32_t nb = b->nbins[f];
  const uint32_t *idx = w->idx;
  const rowp_t *rp = w->rp;
  const size_t m = e - s;
  run_t *runs = w->runs;
  size_t nr = 0;
  miss->w = miss->w1 = 0;
  miss->cc = 0;
  if ((uint64_t)m * 8 <= nb) {
    /* small node, many bins: sort the positions by bin */
    uint64_t *keys = w->keys;
    for (size_t k = 0; k < m; k++) keys[k] = ((uint64_t)col[idx[s + k]] << 32) | (uint64_t)k;
    if (m <= 48) {
      for (size_t i = 1; i < m; i++) {
        uint64_t v = keys[i];
        size_t j = i;
        while (j > 0 && keys[j - 1] > v) {
          keys[j] = keys[j - 1];
          j--;
        }
        keys[j] = v;
      }
    } else {
      qsort(keys, m, sizeof *keys, cmp_u64);
    }
    for (size_t k = 0; k < m; k++) {
      uint32_t bin = (uint32_t)(keys[k] >> 32);
      const rowp_t *r = rp + s + (size_t)(uint32_t)keys[k];
      if (bin == nb) {
        miss->w += r->w;
        miss->w1 += r->wy;
        miss->cc += r->cc;
        continue;
      }
      if (nr == 0 || runs[nr - 1].bin != bin) {
        runs[nr].w = runs[nr].w1 = 0;
        runs[nr].cc = 0;
        runs[nr].bin = bin;
        nr++;
      }
      runs[nr - 1].w += r->w;
      runs[nr - 1].w1 += r->wy;
      runs[nr - 1].cc += r->cc;
    }
    return nr;
  }
  /* dense histogram over all bins of the feature */
  hist_t *h = w->hist;
  for (size_t k = s; k < e; k++) {
    hist_t *x = h + col[idx[k]];
    x->w += rp[k].w;
    x->w1 += rp[k].wy;
    x->cc += rp[k].cc;
  }
  for (uint32_t bin = 0; bin < nb; bin++) {
    if (h[bin].cc) {
      runs[nr].w = h[bin].w;
      runs[nr].w1 = h[bin].w1;
      runs[nr].cc = h[bin].cc;
      runs[nr].bin = bin;
      nr++;
      memset(h + bin, 0, sizeof *h);
    }
  }
  *miss = h[nb];
  memset(h + nb, 0, sizeof *h);
  return nr;
}

/* Scan the runs of feature f for the best split of this node. */
static void scan(const run_t *runs, size_t nr, const hist_t *miss, uint32_t f, uint32_t nb,
                 const pp_cart_params *p, split_t *best) {
  double nw = 0, nw1 = 0;
  uint64_t ncc = 0;
  for (size_t r = 0; r < nr; r++) {
    nw += runs[r].w;
    nw1 += runs[r].w1;
    ncc += runs[r].cc;
  }
  const int has_m = CC_LO(miss->cc) != 0;
  double lw = 0, lw1 = 0;
  uint64_t lcc = 0;
  for (size_t r = 0; r + 1 < nr; r++) {
    lw += runs[r].w;
    lw1 += runs[r].w1;
    lcc += runs[r].cc;
    double rw = nw - lw, rw1 = nw1 - lw1;
    uint64_t rcc = ncc - lcc;
    uint32_t a = runs[r].bin, b = runs[r + 1].bin;
    consider(best, p, f, a, b, 0, has_m, lw, lw1, lcc, rw + miss->w, rw1 + miss->w1, rcc + miss->cc);
    if (has_m)
      consider(best, p, f, a, b, 1, 1, lw + miss->w, lw1 + miss->w1, lcc + miss->cc, rw, rw1, rcc);
  }
  if (has_m && nr >= 1) /* every present value left, missing right */
    consider(best, p, f, nb - 1, nb, 0, 1, nw, nw1, ncc, miss->w, miss->w1, miss->cc);
}

static int push(pp_cart_work *w, size_t *sp, const entry_t *e) {
  if (*sp == w->stack_cap) {
    size_t cap = w->stack_cap * 2;
    PP_TRY(pp_realloc_array(&w->stack, cap, sizeof *w->stack));
    w->stack_cap = cap;
  }
  w->stack[(*sp)++] = *e;
  return 0;
}

int pp_cart_grow(const pp_cart_bins *b, const float *y, const double *rw, const uint32_t *mult,
                 const pp_cart_params *p, pp_rng *rng, pp_cart_work *w, pp_cart_trees *out) {
  const size_t n = b->n, d = b->d;
  if (w->n != n || w->d != d || w->max_nbins < b->max_nbins || out->d != d)
    return pp_err(PROP_ERR_ARG, "cart: work space or output does not match the binned matrix");
  if (p->min_samples_leaf < 1 || p->min_samples_split < 2)
    return pp_err(PROP_ERR_ARG, "cart: min_samples_leaf must be >= 1 and min_samples_split >= 2");
  /* the sample: positions 0..m-1, rows ascending */
  size_t m = 0;
  uint64_t ctot = 0;
  double W = 0, W1 = 0;
  uint64_t CC = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t c = mult ? mult[i] : 1u;
    if (!c) continue;
    double wt = (rw ? rw[i] : 1.0) * (double)c;
    int pos = y[i] > 0.5f;
    w->idx[m] = (uint32_t)i;
    w->rp[m].w = wt;
    w->rp[m].wy = pos ? wt : 0.0;
    w->rp[m].cc = 1u | (pos ? (uint64_t)1 << 32 : 0); /* counts distinct rows; the weight carries c */
    W += w->rp[m].w;
    W1 += w->rp[m].wy;
    CC += w->rp[m].cc;
    ctot += c;
    m++;
  }
  if (m == 0) return pp_err(PROP_ERR_ARG, "cart: the sample holds no row");
  if (ctot > 0xFFFFFFFFu) return pp_err(PROP_ERR_ARG, "cart: the sample multiplicities exceed 2^32");
  PP_TRY(trees_reserve_tree(out));
  const size_t base = out->n_nodes;
  const size_t mtry = (p->max_features == 0 || p->max_features > d) ? d : p->max_features;
  const int use_rng = mtry < d;
  for (size_t j = 0; j < d; j++) w->perm[j] = (uint32_t)j;

  size_t sp = 0;
  entry_t root = {0, (uint32_t)m, 0, -1, 0, W, W1, CC};
  w->stack[sp++] = root;
  int rc = 0;
  while (sp > 0 && !rc) {
    entry_t e = w->stack[--sp];
    const size_t id = out->n_nodes - base, g = out->n_nodes;
    if ((rc = trees_reserve(out, g + 1))) break;
    out->n_nodes++;
    if (e.parent >= 0) {
      if (e.side == 0) out->node[base + (size_t)e.parent].left = (int32_t)id;
      else out->node[base + (size_t)e.parent].right = (int32_t)id;
    }
    const uint32_t c = CC_LO(e.cc), c1 = CC_HI(e.cc);
    out->node[g].feature = -1;
    out->node[g].threshold = 0.0f;
    out->node[g].left = -1;
    out->node[g].right = -1;
    out->default_left[g] = 0;
    out->value[g] = c1 == 0 ? 0.0 : (c1 == c ? 1.0 : e.w1 / e.w);
    out->weight[g] = e.w;
    out->gain[g] = 0.0;
    out->count[g] = c;
    if (c < p->min_samples_split || (uint64_t)c < 2 * (uint64_t)p->min_samples_leaf ||
        (p->max_depth && e.depth >= p->max_depth) || c1 == 0 || c1 == c)
      continue;

    /* ---- best split over the drawn features ---- */
    split_t best;
    memset(&best, 0, sizeof best);
    size_t visited = 0;
    for (size_t k = 0; k < d && visited < mtry; k++) {
      if (use_rng) {
        size_t j = k + (size_t)pp_rng_below(rng, d - k);
        uint32_t t = w->perm[k];
        w->perm[k] = w->perm[j];
        w->perm[j] = t;
      }
      uint32_t f = w->perm[k];
      hist_t miss;
      size_t nr = collect(w, b, f, e.start, e.end, &miss);
      if (nr + (CC_LO(miss.cc) ? 1 : 0) < 2) continue; /* constant here: does not count */
      visited++;
      scan(w->runs, nr, &miss, f, b->nbins[f], p, &best);
    }
    if (!best.found) continue;

    /* ---- threshold and default direction ---- */
    const uint32_t f = best.feature, nb = b->nbins[f];
    uint32_t sb; /* codes <= sb go left */
    float thr;
    if (best.b == nb) {
      sb = nb - 1;
      thr = INFINITY;
    } else {
      sb = (best.a + best.b - 1) / 2;
      thr = b->edge[b->eoff[f] + sb];
    }
    int dl = best.saw_missing ? best.dl : (best.lw >= best.rw);

    /* ---- stable partition of [start, end) ---- */
    const uint16_t *col = b->code + (size_t)f * n;
    size_t keep = e.start, nrt = 0;
    for (size_t k = e.start; k < e.end; k++) {
      uint32_t code = col[w->idx[k]];
      int left = code <= sb || (code == nb && dl);
      if (left) {
        w->idx[keep] = w->idx[k];
        w->rp[keep] = w->rp[k];
        keep++;
      } else {
        w->tidx[nrt] = w->idx[k];
        w->trp[nrt] = w->rp[k];
        nrt++;
      }
    }
    memcpy(w->idx + keep, w->tidx, nrt * sizeof *w->idx);
    memcpy(w->rp + keep, w->trp, nrt * sizeof *w->rp);
    if (keep == e.start || keep == e.end) { /* cannot happen: both sides hold >= 1 row */
      rc = pp_err(PROP_ERR_TRAIN, "cart: internal error, empty child");
      break;
    }

    out->node[g].feature = (int32_t)f;
    out->node[g].threshold = thr;
    out->default_left[g] = (uint8_t)dl;
    double gain = wimp(p->criterion, e.w, e.w1) - best.crit;
    out->gain[g] = gain > 0 ? gain : 0.0;
    entry_t r = {(uint32_t)keep, e.end, e.depth + 1, (int32_t)id, 1, best.rw, best.rw1, best.rcc};
    entry_t l = {e.start, (uint32_t)keep, e.depth + 1, (int32_t)id, 0, best.lw, best.lw1, best.lcc};
    if ((rc = push(w, &sp, &r))) break;
    if ((rc = push(w, &sp, &l))) break;
  }
  if (rc) {
    out->n_nodes = base;
    return rc;
  }
  out->start[out->n_trees + 1] = out->n_nodes;
  out->n_trees++;
  return 0;
}

size_t pp_cart_max_features(int kind, double frac, size_t d) {
  double k;
  switch (kind) {
  case PP_CART_MF_SQRT: k = floor(sqrt((double)d)); break;
  case PP_CART_MF_LOG2: k = floor(log2((double)d)); break;
  case PP_CART_MF_FRACTION: k = floor(frac * (double)d); break;
  default: k = (double)d; break;
  }
  if (k < 1) k = 1;
  if (k > (double)d) k = (double)d;
  return (size_t)k;
}

/* =============================================================================================
 * Serialisation
 * ============================================================================================= */

void pp_cart_save(const pp_cart_trees *t, pp_buf *b) {
  pp_put_u64(b, t->n_trees);
  pp_put_u64(b, t->n_nodes);
  for (size_t i = 1; i <= t->n_trees; i++) pp_put_u64(b, t->start[i]);
  for (size_t g = 0; g < t->n_nodes; g++) {
    pp_put_i32(b, t->node[g].feature);
    pp_put_f32(b, t->node[g].threshold);
    pp_put_i32(b, t->node[g].left);
    pp_put_i32(b, t->node[g].right);
    pp_put_u8(b, t->default_left[g]);
    pp_put_f64(b, t->value[g]);
    pp_put_f64(b, t->weight[g]);
    pp_put_f64(b, t->gain[g]);
    pp_put_u32(b, t->count[g]);
  }
}

int pp_cart_load(pp_rd *in, size_t d, size_t max_trees, pp_cart_trees *out) {
  pp_cart_trees_init(out, d);
  const char *what = in->what ? in->what : "trees";
  if (d == 0 || d > (size_t)INT32_MAX) return pp_err(PROP_ERR_CORRUPT, "%s: invalid width %zu", what, d);
  size_t left = in->len - in->pos, T, N;
  size_t tmax = left / 8;
  if (tmax > max_trees) tmax = max_trees;
  PP_TRY(pp_get_count(in, &T, tmax, "n_trees"));
  if (T == 0) return pp_err(PROP_ERR_CORRUPT, "%s: no tree", what);
  left = in->len - in->pos;
  size_t nmax = left >= 8 + 8 * T ? (left - 8 - 8 * T) / NODE_BYTES : 0;
  PP_TRY(pp_get_count(in, &N, nmax, "n_nodes"));
  if (N < T) return pp_err(PROP_ERR_CORRUPT, "%s: %zu nodes cannot hold %zu trees", what, N, T);
  pp_cart_trees t;
  pp_cart_trees_init(&t, d);
  int rc = 0;
  t.start = pp_malloc_array(T + 1, sizeof *t.start);
  if (!t.start || trees_reserve(&t, N)) rc = PROP_ERR_NOMEM;
  if (!rc) {
    t.start[0] = 0;
    for (size_t i = 1; i <= T && !rc; i++) {
      uint64_t s;
      if ((rc = pp_get_u64(in, &s))) break;
      if (s <= t.start[i - 1] || s > N || s - t.start[i - 1] > (uint64_t)INT32_MAX)
        rc = pp_err(PROP_ERR_CORRUPT, "%s: tree %zu has an invalid node range", what, i - 1);
      else t.start[i] = (size_t)s;
    }
    if (!rc && t.start[T] != N)
      rc = pp_err(PROP_ERR_CORRUPT, "%s: the trees hold %zu nodes, %zu declared", what, t.start[T], N);
  }
  for (size_t tr = 0; tr < T && !rc; tr++) {
    const size_t base = t.start[tr], S = t.start[tr + 1] - base;
    for (size_t i = 0; i < S && !rc; i++) {
      const size_t g = base + i;
      int32_t f, l, r;
      float thr;
      uint8_t dl;
      double v, wt, gn;
      uint32_t cnt;
      if ((rc = pp_get_i32(in, &f)) || (rc = pp_get_f32(in, &thr)) || (rc = pp_get_i32(in, &l)) ||
          (rc = pp_get_i32(in, &r)) || (rc = pp_get_u8(in, &dl)) || (rc = pp_get_f64(in, &v)) ||
          (rc = pp_get_f64(in, &wt)) || (rc = pp_get_f64(in, &gn)) || (rc = pp_get_u32(in, &cnt)))
        break;
      int ok;
      if (f == -1) ok = l == -1 && r == -1;
      else
        ok = f >= 0 && (size_t)f < d && l > (int32_t)i && r > (int32_t)i && (size_t)l < S && (size_t)r < S &&
             l != r && thr == thr;
      if (!ok) {
        rc = pp_err(PROP_ERR_CORRUPT, "%s: tree %zu node %zu is invalid (feature %d, children %d/%d)", what, tr, i,
                    (int)f, (int)l, (int)r);
        break;
      }
      if (dl > 1 || !(v >= 0.0 && v <= 1.0) || !(wt >= 0.0) || !isfinite(wt) || !(gn >= 0.0) || !isfinite(gn)) {
        rc = pp_err(PROP_ERR_CORRUPT, "%s: tree %zu node %zu has values out of range", what, tr, i);
        break;
      }
      t.node[g].feature = f;
      t.node[g].threshold = thr;
      t.node[g].left = l;
      t.node[g].right = r;
      t.default_left[g] = dl;
      t.value[g] = v;
      t.weight[g] = wt;
      t.gain[g] = gn;
      t.count[g] = cnt;
    }
  }
  if (rc) {
    pp_cart_trees_free(&t);
    return rc;
  }
  t.n_trees = T;
  t.n_nodes = N;
  if (pp_cart_pack(&t)) {
    pp_cart_trees_free(&t);
    return pp_err(PROP_ERR_NOMEM, "%s: out of memory for the trees' prediction copy", what);
  }
  *out = t;
  return 0;
}

/* =============================================================================================
 * AUC (out-of-bag score)
 * ============================================================================================= */

typedef struct sy_t {
  double s;
  int y;
} sy_t;

static int cmp_sy(const void *a, const void *b) {
  double x = ((const sy_t *)a)->s, y = ((const sy_t *)b)->s;
  return (x > y) - (x < y);
}

int pp_cart_auc(const double *s, const float *y, size_t n, double *auc) {
  *auc = NAN;
  for (size_t i = 0; i < n; i++)
    if (s[i] != s[i]) return 0; /* no order holds a NaN: the AUC is NaN */
  sy_t *v = pp_malloc_array(n ? n : 1, sizeof *v);
  if (!v) return PROP_ERR_NOMEM;
  size_t np = 0;
  for (size_t i = 0; i < n; i++) {
    v[i].s = s[i];
    v[i].y = y[i] > 0.5f;
    np += (size_t)v[i].y;
  }
  size_t nn = n - np;
  if (np && nn) {
    qsort(v, n, sizeof *v, cmp_sy);
    double rsum = 0; /* sum of the (1-based, tie-averaged) ranks of the positives */
    for (size_t i = 0; i < n;) {
      size_t j = i, pos = 0;
      while (j < n && v[j].s == v[i].s) pos += (size_t)v[j++].y;
      double rank = ((double)(i + 1) + (double)j) * 0.5;
      rsum += rank * (double)pos;
      i = j;
    }
    *auc = (rsum - (double)np * ((double)np + 1) * 0.5) / ((double)np * (double)nn);
  }
  free(v);
  return 0;
}
