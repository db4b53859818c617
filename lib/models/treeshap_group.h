/* lib/models/treeshap_group.h: treeshap.c's grouped walk (the method: treeshap.c, "the grouped pass")
 * for one group width.  Not a header of its own: treeshap.c includes it once per width (hence no
 * include guard), with SHAP_G (rows per group, 4 or 8: a vector of SHAP_G doubles per point) and
 * SHAP_N(x) (x's name for this width) defined; width 4 gives the portable and AVX2 copies of the walk,
 * width 8 the AVX-512 one. */
#define vgd SHAP_N(vgd)
#define vgl SHAP_N(vgl)
#define gmk SHAP_N(gmk)
#define goes_g SHAP_N(goes_g)
#define gpass SHAP_N(gpass)
#define group_layout SHAP_N(group_layout)
#define gcontrib SHAP_N(gcontrib)
#define tree_group SHAP_N(tree_group)
#define walk_chunk SHAP_N(walk_chunk)
#define walk_groups SHAP_N(walk_groups)
#define GROUPS (GROUP_ROWS / SHAP_G) /* groups per chunk */

typedef double vgd __attribute__((vector_size(SHAP_G * sizeof(double))));
typedef int64_t vgl __attribute__((vector_size(SHAP_G * sizeof(int64_t))));
/* The rows' masks (gmk) and the three masked steps, each lane the unmasked step's bits or its old
 * ones: GM_SEL(m, a, b) a's lanes where m, else b's; GM_MUL(m, y, s) y * s where m, else y;
 * GM_MULZ(m, a, b) a * b where m, else +0; GM_IF(b) every lane when b (0 or 1), else none.  Width 4:
 * bitwise selects on lane masks (the portable and AVX2 copies); width 8: AVX-512 mask registers,
 * which the multiply and add take for free (SHAP_TGT: the width's target, for the inline steps). */
#if SHAP_G == 4
#define BC(v) ((vgd){(v), (v), (v), (v)}) /* v (a plain lvalue) in every lane */
typedef vgl gmk;
#define GM_ALL (~(vgl){0})
#define GM_IF(b) ((vgl){0} - (int64_t)(b))
#define GM_SEL(m, a, b) SEL(m, a, b)
#define GM_MUL(m, y, s) SEL(m, (y) * (s), y)
#define GM_MULZ(m, a, b) ((vgd)((vgl)((a) * (b)) & (m)))
#define SHAP_TGT
#elif SHAP_G == 8
#define BC(v) ((vgd){(v), (v), (v), (v), (v), (v), (v), (v)})
typedef __mmask8 gmk;
#define GM_ALL ((gmk)0xff)
#define GM_IF(b) ((gmk)(0u - (unsigned)(b)))
#define GM_SEL(m, a, b) ((vgd)_mm512_mask_blend_pd(m, b, a))
#define GM_MUL(m, y, s) ((vgd)_mm512_mask_mul_pd(y, m, y, s))
#define GM_MULZ(m, a, b) ((vgd)_mm512_maskz_mul_pd(m, a, b))
#define SHAP_TGT __attribute__((target("avx512f")))
#else
#error "treeshap_group.h: SHAP_G must be 4 or 8"
#endif

/* *go: the rows (values *x) that go edge e's way: left (x < or <= the threshold, or missing and
 * default left) unless e is the right edge. */
static inline __attribute__((always_inline)) SHAP_TGT void goes_g(gmk *go, const vgd *x, const gedge *e,
                                                                  const int strict) {
  const double t = e->thr;
  const vgd xv = *x, th = BC(t);
#if SHAP_G == 4
  const vgl lt = strict ? xv < th : xv <= th;
  *go = (lt | ((xv != xv) & GM_IF(e->dleft))) ^ GM_IF(e->right);
#else
  const gmk lt = strict ? _mm512_cmp_pd_mask(xv, th, _CMP_LT_OQ) : _mm512_cmp_pd_mask(xv, th, _CMP_LE_OQ);
  *go = (gmk)((lt | (_mm512_cmp_pd_mask(xv, xv, _CMP_UNORD_Q) & GM_IF(e->dleft))) ^ GM_IF(e->right));
#endif
}

typedef struct gpass {
  glay lay;     /* the chunk's edge lists (treeshap.c) */
  vgd *row;     /* per depth GV(P): P and K at each point, then the masks live and goes */
  vgd *acc;     /* d x P: each column's sums at the points */
  vgd *out;     /* GROUPS x d: each group's contributions so far */
  vgd *xt;      /* GROUPS x d: each group's values of each column, as doubles (the same comparisons) */
  int32_t *ei;  /* per depth: the edge into the frame */
} gpass;

/* Group scratch from base (NULL: only the size): the vectors first, 64-byte aligned. */
static size_t group_layout(const pp_treeshap *s, void *base, gpass *w) {
  const size_t F = s->max_depth + 2, P = s->max_pts ? s->max_pts : PP_SHAP_LANES, d = s->d, C = P / PP_SHAP_LANES;
  const size_t E = s->max_edges ? s->max_edges : 1, nv = F * GV(P) + d * P + 2 * GROUPS * d, n4 = F * C + E * 5 * C;
  const size_t ints = 2 * d + F; /* cur, cols, ei */
  if (base) {
    w->row = (vgd *)(void *)(((uintptr_t)base + 63) & ~(uintptr_t)63);
    w->acc = w->row + F * GV(P);
    w->out = w->acc + d * P;
    w->xt = w->out + GROUPS * d;
    w->lay.inv = (v4d *)(void *)(w->xt + GROUPS * d);
    w->lay.sv = w->lay.inv + F * C;
    w->lay.ed = (gedge *)(void *)(w->lay.sv + E * 5 * C);
    w->lay.fr = (gframe *)(void *)(w->lay.ed + E);
    w->lay.cur = (int32_t *)(void *)(w->lay.fr + F);
    w->lay.cols = w->lay.cur + d;
    w->ei = w->lay.cols + d;
    w->lay.seen = (uint8_t *)(void *)(w->ei + F);
  }
  return 64 + nv * sizeof(vgd) + n4 * sizeof(v4d) + E * sizeof(gedge) + F * sizeof(gframe) + ints * sizeof(int32_t) + d;
}

/* Frame j done: D K at each point into its live rows' sums of its column, and K into its parent's.
 * The other rows add +0, which leaves their sums' bits as they are: a sum starts at +0 and so is
 * never -0 (x + y is -0 only for two -0's), and x + 0 = x otherwise (a NaN keeps its bits).  A full
 * store, not a masked one: the next load of the sums need not wait for it. */
static inline __attribute__((always_inline)) SHAP_TGT void gcontrib(const gpass *w, const size_t C, size_t j) {
  const size_t P = 4 * C, i = (size_t)w->ei[j];
  vgd *rj = w->row + j * GV(P), *rq = rj - GV(P);
  const gmk *mk = (const gmk *)(const void *)(rj + 2 * P);
  const gmk live = mk[0], goes = mk[1];
  const double *Dg = (const double *)(const void *)(w->lay.sv + i * 5 * C + 3 * C), *Dn = Dg + P;
  vgd *acc = w->acc + (size_t)w->lay.ed[i].feat * P;
  for (size_t q = 0; q < P; q++) acc[q] = acc[q] + GM_MULZ(live, GM_SEL(goes, BC(Dg[q]), BC(Dn[q])), rj[P + q]);
  for (size_t q = 0; q < P; q++) rq[P + q] += rj[P + q];
}

/* The tree of the ne edges laid out in w->lay, at P = 4 C points, for group g: each column's sums at
 * the points into w->acc.  Per edge: the child's masks, P (the parent's times the row's factor, as
 * the pass takes it) and K = m P; then the frames done (a leaf's at once). */
static inline __attribute__((always_inline)) SHAP_TGT void tree_group(const pp_treeshap *s, const gpass *w,
                                                                       size_t ne, size_t g, const size_t C,
                                                                       const int strict) {
  const size_t P = 4 * C, V = GV(P);
  const double *Rw = (const double *)(const void *)rule_of(s, P);
  const vgd *xt = w->xt + g * s->d;
  for (size_t q = 0; q < P; q++) {
    const double p0 = Rw[q] * s->scale, k0 = Rw[q] * 0.0;
    w->row[q] = BC(p0);
    w->row[P + q] = BC(k0);
  }
  gmk *root = (gmk *)(void *)(w->row + 2 * P); /* the root's frame: every row live and going */
  root[0] = root[1] = GM_ALL;
  for (size_t i = 0; i < ne; i++) {
    const gedge *e = &w->lay.ed[i];
    const size_t j = (size_t)e->depth;
    const double *a = (const double *)(const void *)(w->lay.sv + i * 5 * C), *bz = a + P, *ip = a + 2 * P;
    vgd *rp = w->row + (j - 1) * V, *rc = rp + V;
    gmk go, *mk = (gmk *)(void *)(rc + 2 * P);
    goes_g(&go, xt + e->feat, e, strict);
    const gmk live = ((const gmk *)(const void *)(w->row + (size_t)e->k * V + 2 * P))[1], goes = live & go;
    mk[0] = live;
    mk[1] = goes;
    const double ze = e->ze, m = e->m;
    const vgd zv = BC(ze);
    if (!e->npop) { /* an inner node: its frame */
      for (size_t q = 0; q < P; q++) {
        const vgd y = rp[q] * GM_SEL(live, GM_SEL(goes, BC(a[q]), BC(bz[q])), zv), x = GM_MUL(live, y, BC(ip[q]));
        rc[q] = x;
        rc[P + q] = x * m;
      }
      w->ei[j] = (int32_t)i;
      continue;
    }
    /* a leaf: K = m P into the sums (as gcontrib) and the parent's K at once, then the ancestors done */
    const double *Dg = a + 3 * P, *Dn = a + 4 * P;
    vgd *acc = w->acc + (size_t)e->feat * P;
    for (size_t q = 0; q < P; q++) {
      const vgd y = rp[q] * GM_SEL(live, GM_SEL(goes, BC(a[q]), BC(bz[q])), zv), x = GM_MUL(live, y, BC(ip[q]));
      const vgd kk = x * m;
      acc[q] = acc[q] + GM_MULZ(live, GM_SEL(goes, BC(Dg[q]), BC(Dn[q])), kk);
      rp[P + q] += kk;
    }
    for (int32_t u = 1; u < e->npop; u++) gcontrib(w, C, j - (size_t)u);
  }
}

/* Tree laid out in w->lay (ne edges, P points, nc columns) for group g: its sums at the points, then
 * added to the group's contributions (in the single-row pass's order), with the point count known at
 * compile time for the usual ones.  The columns the tree does not split on would add +0 to theirs:
 * skipped, the same bits (a contribution starts at +0 and so is never -0). */
#define TREE_GROUP_ANY(name, attr)                                                                         \
  static attr void name(const pp_treeshap *s, const gpass *w, size_t ne, size_t nc, size_t P, size_t g) { \
    const size_t C = P / PP_SHAP_LANES;                                                                    \
    for (size_t k = 0; k < nc; k++) memset(w->acc + (size_t)w->lay.cols[k] * P, 0, P * sizeof(vgd));      \
    if (s->strict) {                                                                            \
      if (C == 1) tree_group(s, w, ne, g, 1, 1);                                                \
      else if (C == 2) tree_group(s, w, ne, g, 2, 1);                                           \
      else tree_group(s, w, ne, g, C, 1);                                                       \
    } else {                                                                                    \
      if (C == 1) tree_group(s, w, ne, g, 1, 0);                                                \
      else if (C == 2) tree_group(s, w, ne, g, 2, 0);                                           \
      else tree_group(s, w, ne, g, C, 0);                                                       \
    }                                                                                           \
    vgd *out = w->out + g * s->d;                                                                          \
    for (size_t k = 0; k < nc; k++) {                                                                      \
      const size_t f = (size_t)w->lay.cols[k];                                                             \
      vgd a = BC(0.0);                                                                                     \
      for (size_t q = 0; q < P; q++) a += w->acc[f * P + q];                                               \
      out[f] += a;                                                                                         \
    }                                                                                                      \
  }
#if SHAP_G == 4
TREE_GROUP_ANY(tree_group_base, )
#if SHAP_HAVE_AVX2
TREE_GROUP_ANY(tree_group_avx2, __attribute__((target("avx2"))))
#endif
#else
TREE_GROUP_ANY(tree_group_avx512, __attribute__((target("avx512f"))))
#endif
#undef TREE_GROUP_ANY

/* Rows i0 .. i0 + m - 1 of X (2 <= m <= GROUP_ROWS) in groups of SHAP_G, the last with lanes to spare
 * (they repeat its last row; their results are not kept): each tree is laid out once, then walked by
 * each group. */
static void walk_chunk(const pp_treeshap *s, const float *X, size_t i0, size_t m, double *phi, const gpass *w,
                       void (*tree)(const pp_treeshap *, const gpass *, size_t, size_t, size_t, size_t),
                       edges_fn edges) {
  const size_t d = s->d, ng = (m + SHAP_G - 1) / SHAP_G;
  for (size_t g = 0; g < ng; g++)
    for (size_t f = 0; f < d; f++) {
      double *xf = (double *)(void *)(w->xt + g * d + f), *o = (double *)(void *)(w->out + g * d + f);
      for (size_t r = 0, rg = g * SHAP_G; r < SHAP_G; r++) {
        const size_t row = i0 + (rg + r < m ? rg + r : m - 1);
        xf[r] = (double)X[row * d + f];
        o[r] = 0.0;
      }
    }
  for (size_t t = 0; t < s->ntrees; t++) {
    if (!s->pts[t]) continue;
    size_t nc = 0;
    const size_t ne = edges(s, t, s->pts[t], &w->lay, &nc);
    for (size_t g = 0; g < ng; g++) tree(s, w, ne, nc, s->pts[t], g);
  }
  for (size_t r = 0; r < m; r++)
    for (size_t f = 0; f < d; f++)
      phi[(i0 + r) * d + f] = ((const double *)(const void *)(w->out + (r / SHAP_G) * d + f))[r % SHAP_G];
}

/* The rows of X in chunks while two or more are left, by the copies tree and edges; returns the rows
 * done. */
static size_t walk_groups(const pp_treeshap *s, const float *X, size_t n, double *phi, void *scratch,
                          void (*tree)(const pp_treeshap *, const gpass *, size_t, size_t, size_t, size_t),
                          edges_fn edges) {
  gpass w;
  memset(&w, 0, sizeof w); /* group_layout sets every field; gcc cannot always see it */
  group_layout(s, scratch, &w);
  for (size_t f = 0; f < s->d; f++) {
    w.lay.cur[f] = 0;
    w.lay.seen[f] = 0;
  }
  size_t i = 0;
  while (n - i >= 2) {
    const size_t m = n - i < GROUP_ROWS ? n - i : GROUP_ROWS;
    walk_chunk(s, X, i, m, phi, &w, tree, edges);
    i += m;
  }
  return i;
}

#undef BC
#undef GM_ALL
#undef GM_IF
#undef GM_SEL
#undef GM_MUL
#undef GM_MULZ
#undef SHAP_TGT
#undef GROUPS
#undef vgd
#undef vgl
#undef gmk
#undef goes_g
#undef gpass
#undef group_layout
#undef gcontrib
#undef tree_group
#undef walk_chunk
#undef walk_groups
