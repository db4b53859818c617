/* lib/models/treeshap_group.h: treeshap.c's grouped walk (the method: treeshap.c, "the grouped pass")
 * for one group width.  Not a header of its own: treeshap.c includes it once per width (hence no
 * include guard), with SHAP_G (rows per group, 4 or 8: a vector of SHAP_G doubles per point) and
 * SHAP_N(x) (x's name for this width) defined; width 4 gives the portable and AVX2 copies of the walk,
 * width 8 the AVX-512 one. */
#define vgd SHAP_N(vgd)
#define vgl SHAP_N(vgl)
#define gmk SHAP_N(gmk)
#define goes_left_g SHAP_N(goes_left_g)
#define gpass SHAP_N(gpass)
#define group_layout SHAP_N(group_layout)
#define gedge SHAP_N(gedge)
#define gcontrib SHAP_N(gcontrib)
#define tree_group SHAP_N(tree_group)
#define rows_group SHAP_N(rows_group)
#define walk_groups SHAP_N(walk_groups)

typedef double vgd __attribute__((vector_size(SHAP_G * sizeof(double))));
typedef int64_t vgl __attribute__((vector_size(SHAP_G * sizeof(int64_t))));
/* The rows' masks (gmk) and the three masked steps, each lane the unmasked step's bits or its old
 * ones: GM_SEL(m, a, b) a's lanes where m, else b's; GM_MUL(m, y, s) y * s where m, else y;
 * GM_ADD(m, a, t) a + t where m, else a.  Width 4: bitwise selects on lane masks (the portable and
 * AVX2 copies); width 8: AVX-512 mask registers, which the multiply and add take for free (SHAP_TGT:
 * the width's target, for the inline steps). */
#if SHAP_G == 4
#define BC(v) ((vgd){(v), (v), (v), (v)}) /* v (a plain lvalue) in every lane */
typedef vgl gmk;
#define GM_ALL (~(vgl){0})
#define GM_SEL(m, a, b) SEL(m, a, b)
#define GM_MUL(m, y, s) SEL(m, (y) * (s), y)
#define GM_ADD(m, a, t) SEL(m, (a) + (t), a)
#define SHAP_TGT
#elif SHAP_G == 8
#define BC(v) ((vgd){(v), (v), (v), (v), (v), (v), (v), (v)})
typedef __mmask8 gmk;
#define GM_ALL ((gmk)0xff)
#define GM_SEL(m, a, b) ((vgd)_mm512_mask_blend_pd(m, b, a))
#define GM_MUL(m, y, s) ((vgd)_mm512_mask_mul_pd(y, m, y, s))
#define GM_ADD(m, a, t) ((vgd)_mm512_mask_add_pd(a, m, a, t))
#define SHAP_TGT __attribute__((target("avx512f")))
#else
#error "treeshap_group.h: SHAP_G must be 4 or 8"
#endif

/* *go: the rows (values *x) that go left at a split of threshold t (default left: dleft). */
static inline __attribute__((always_inline)) SHAP_TGT void goes_left_g(gmk *go, const vgd *x, double t, int dleft,
                                                                       const int strict) {
  const vgd xv = *x, th = BC(t);
#if SHAP_G == 4
  *go = strict ? xv < th : xv <= th;
  if (dleft) *go |= xv != xv;
#else
  *go = strict ? _mm512_cmp_pd_mask(xv, th, _CMP_LT_OQ) : _mm512_cmp_pd_mask(xv, th, _CMP_LE_OQ);
  if (dleft) *go = (gmk)(*go | _mm512_cmp_pd_mask(xv, xv, _CMP_UNORD_Q));
#endif
}

typedef struct gpass {
  gframe *fr;
  v4d *sh;      /* per depth 5 C vectors: a, z (1 - t), 1 / a, D when the row goes, D when not */
  vgd *row;     /* per depth GV(P): P and K at each point, then the masks live and goes */
  vgd *acc;     /* d x P: each column's sums at the points */
  vgd *out;     /* d: the contributions so far */
  vgd *xt;      /* d: the rows' values of each column, as doubles (the same comparisons as floats) */
  int32_t *cur; /* d: frame of each column's last split on the path, or -1 */
} gpass;

/* Group scratch from base (NULL: only the size): the vectors first, 64-byte aligned. */
static size_t group_layout(const pp_treeshap *s, void *base, gpass *w) {
  const size_t F = s->max_depth + 2, P = s->max_pts ? s->max_pts : PP_SHAP_LANES, d = s->d;
  const size_t nv = F * GV(P) + d * P + 2 * d, nsh = F * 5 * (P / PP_SHAP_LANES);
  if (base) {
    w->row = (vgd *)(void *)(((uintptr_t)base + 63) & ~(uintptr_t)63);
    w->acc = w->row + F * GV(P);
    w->out = w->acc + d * P;
    w->xt = w->out + d;
    w->sh = (v4d *)(void *)(w->xt + d);
    w->fr = (gframe *)(void *)(w->sh + nsh);
    w->cur = (int32_t *)(void *)(w->fr + F);
  }
  return 64 + nv * sizeof(vgd) + nsh * sizeof(v4d) + F * sizeof(gframe) + d * sizeof(int32_t);
}

/* The edge from frame top to its child for column f (cover fraction ze; go: the rows x goes there):
 * the shared vectors, the child's masks, and its P and K = 0 (an inner node) or, for a leaf of value
 * v (leaf set), K = v P added at once to the live rows' sums (gcontrib's) and to the parent's K. */
static inline __attribute__((always_inline)) SHAP_TGT void gedge(const gpass *w, const v4d *R, const size_t C,
                                                                  size_t top, double ze, gmk go, int32_t f, int leaf,
                                                                  double v) {
  const size_t P = 4 * C;
  const v4d *T = R + C, *OMT = R + 2 * C, *IOMT = R + 3 * C;
  v4d *A = w->sh + (top + 1) * 5 * C, *B = A + C, *inv = A + 2 * C, *Dg = A + 3 * C, *Dn = A + 4 * C;
  const int32_t k = w->cur[f];
  gframe *e = &w->fr[top + 1];
  const double zprev = k >= 0 ? w->fr[k].zm : 1.0, zj = zprev * ze, c1 = 1.0 - zj;
  e->feat = f;
  e->prev = k;
  e->zm = zj;
  for (size_t c = 0; c < C; c++) {
    const v4d a = zj + c1 * T[c];
    A[c] = a;
    inv[c] = 1.0 / a;
    Dg[c] = c1 * inv[c];
    B[c] = zj * OMT[c];
    Dn[c] = -IOMT[c];
  }
  vgd *rp = w->row + top * GV(P), *rc = rp + GV(P), *acc = w->acc + (size_t)f * P;
  gmk *mk = (gmk *)(void *)(rc + 2 * P);
  const double *a = (const double *)(const void *)A, *bz = (const double *)(const void *)B;
  const double *dg = (const double *)(const void *)Dg, *dn = (const double *)(const void *)Dn;
  const vgd zv = BC(ze);
  if (k < 0) { /* the column's first split: live for every row */
    mk[0] = GM_ALL;
    mk[1] = go;
    for (size_t q = 0; q < P; q++) {
      const vgd x = rp[q] * GM_SEL(go, BC(a[q]), BC(bz[q]));
      if (leaf) {
        const vgd kk = v * x;
        acc[q] = acc[q] + GM_SEL(go, BC(dg[q]), BC(dn[q])) * kk;
        rp[P + q] += kk;
      } else {
        rc[q] = x;
        rc[P + q] = x * 0.0;
      }
    }
    return;
  }
  const gmk live = ((const gmk *)(const void *)(w->row + (size_t)k * GV(P) + 2 * P))[1], goes = live & go;
  mk[0] = live;
  mk[1] = goes;
  const v4d *ip = w->sh + (size_t)k * 5 * C + 2 * C; /* 1 / a_(j-1), the passing rows' */
  const double c0 = 1.0 - zprev, *ipd = (const double *)(const void *)ip;
  for (size_t c = 0; c < C; c++) {
    Dg[c] = Dg[c] - c0 * ip[c];
    Dn[c] = Dn[c] - c0 * ip[c];
  }
  for (size_t q = 0; q < P; q++) {
    const vgd y = rp[q] * GM_SEL(live, GM_SEL(goes, BC(a[q]), BC(bz[q])), zv), x = GM_MUL(live, y, BC(ipd[q]));
    if (leaf) {
      const vgd kk = v * x;
      acc[q] = GM_ADD(live, acc[q], GM_SEL(goes, BC(dg[q]), BC(dn[q])) * kk);
      rp[P + q] += kk;
    } else {
      rc[q] = x;
      rc[P + q] = x * 0.0;
    }
  }
}

/* Adds D K at each point to the live rows' sums of column f (frame j's edge; K at k). */
static inline __attribute__((always_inline)) SHAP_TGT void gcontrib(const gpass *w, const size_t C, size_t j,
                                                                     int32_t f, const vgd *k) {
  const size_t P = 4 * C;
  const gmk *mk = (const gmk *)(const void *)(w->row + j * GV(P) + 2 * P);
  const gmk live = mk[0], goes = mk[1];
  const double *Dg = (const double *)(const void *)(w->sh + j * 5 * C + 3 * C), *Dn = Dg + P;
  vgd *acc = w->acc + (size_t)f * P;
  for (size_t q = 0; q < P; q++) acc[q] = GM_ADD(live, acc[q], GM_SEL(goes, BC(Dg[q]), BC(Dn[q])) * k[q]);
}

/* Tree t for the group's rows at P = 4 C points: adds each column's sums at the points into w->acc. */
static inline __attribute__((always_inline)) SHAP_TGT void tree_group(const pp_treeshap *s, size_t t,
                                                                       const gpass *w, const size_t C,
                                                                       const int strict) {
  const size_t b = s->start[t], P = 4 * C, V = GV(P);
  const pp_cart_node *nd = s->node + b;
  const double *cov = s->cover + b, *val = s->value + b;
  const uint8_t *dl = s->default_left + b;
  const v4d *R = rule_of(s, P);
  const double *Rw = (const double *)(const void *)R;
  gframe *fr = w->fr;
  fr[0].node = 0;
  fr[0].phase = 0;
  for (size_t q = 0; q < P; q++) {
    const double p0 = Rw[q] * s->scale, k0 = Rw[q] * 0.0;
    w->row[q] = BC(p0);
    w->row[P + q] = BC(k0);
  }
  size_t top = 0;
  for (;;) {
    gframe *p = &fr[top];
    vgd *rp = w->row + top * V;
    if (p->phase < 2) {
      const int32_t n = p->node;
      const pp_cart_node *nn = &nd[n];
      const int right = p->phase++;
      const int32_t c = right ? nn->right : nn->left, f = nn->feature;
      const double th = nn->threshold;
      gmk go;
      goes_left_g(&go, &w->xt[f], th, dl[n], strict);
      if (right) go = (gmk)~go;
      if (nd[c].feature < 0) { /* a leaf: K = v P, back at once */
        gedge(w, R, C, top, cov[c] / cov[n], go, f, 1, val[c]);
        continue;
      }
      gedge(w, R, C, top, cov[c] / cov[n], go, f, 0, 0.0);
      fr[top + 1].node = c;
      fr[top + 1].phase = 0;
      w->cur[f] = (int32_t)(top + 1);
      top++;
      continue;
    }
    if (top == 0) break;
    gcontrib(w, C, top, p->feat, rp + P);
    w->cur[p->feat] = p->prev;
    vgd *rq = rp - V; /* the parent's */
    for (size_t q = 0; q < P; q++) rq[P + q] += rp[P + q];
    top--;
  }
}

/* Tree t for the group: its sums at the points, then added to the rows' contributions (in the
 * single-row pass's order), with the point count known at compile time for the usual ones. */
#define TREE_GROUP_ANY(name, attr)                                                           \
  static attr void name(const pp_treeshap *s, size_t t, const gpass *w, size_t P) {          \
    const size_t C = P / PP_SHAP_LANES, d = s->d;                                            \
    memset(w->acc, 0, d * P * sizeof(vgd));                                                  \
    if (s->strict) {                                                                         \
      if (C == 1) tree_group(s, t, w, 1, 1);                                                 \
      else if (C == 2) tree_group(s, t, w, 2, 1);                                            \
      else tree_group(s, t, w, C, 1);                                                        \
    } else {                                                                                 \
      if (C == 1) tree_group(s, t, w, 1, 0);                                                 \
      else if (C == 2) tree_group(s, t, w, 2, 0);                                            \
      else tree_group(s, t, w, C, 0);                                                        \
    }                                                                                        \
    for (size_t f = 0; f < d; f++) {                                                         \
      vgd a = BC(0.0);                                                                       \
      for (size_t q = 0; q < P; q++) a += w->acc[f * P + q];                                 \
      w->out[f] += a;                                                                        \
    }                                                                                        \
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

/* Rows i0 .. i0 + m - 1 (2 <= m <= SHAP_G) of X in one group; the lanes past m repeat the last
 * row (their results are not kept). */
static void rows_group(const pp_treeshap *s, const float *X, size_t i0, size_t m, double *phi, const gpass *w,
                       void (*tree)(const pp_treeshap *, size_t, const gpass *, size_t)) {
  const size_t d = s->d;
  for (size_t f = 0; f < d; f++) {
    double *xf = (double *)(void *)(w->xt + f), *o = (double *)(void *)(w->out + f);
    for (size_t r = 0; r < SHAP_G; r++) {
      xf[r] = (double)X[(i0 + (r < m ? r : m - 1)) * d + f];
      o[r] = 0.0;
    }
  }
  for (size_t t = 0; t < s->ntrees; t++)
    if (s->pts[t]) tree(s, t, w, s->pts[t]);
  for (size_t r = 0; r < m; r++)
    for (size_t f = 0; f < d; f++) phi[(i0 + r) * d + f] = ((const double *)(const void *)(w->out + f))[r];
}

/* The rows of X in groups while two or more are left, by the copy tree; returns the rows done. */
static size_t walk_groups(const pp_treeshap *s, const float *X, size_t n, double *phi, void *scratch,
                          void (*tree)(const pp_treeshap *, size_t, const gpass *, size_t)) {
  gpass w;
  group_layout(s, scratch, &w);
  for (size_t f = 0; f < s->d; f++) w.cur[f] = -1;
  size_t i = 0;
  while (n - i >= 2) {
    const size_t m = n - i < SHAP_G ? n - i : SHAP_G;
    rows_group(s, X, i, m, phi, &w, tree);
    i += m;
  }
  return i;
}

#undef BC
#undef GM_ALL
#undef GM_SEL
#undef GM_MUL
#undef GM_ADD
#undef SHAP_TGT
#undef vgd
#undef vgl
#undef gmk
#undef goes_left_g
#undef gpass
#undef group_layout
#undef gedge
#undef gcontrib
#undef tree_group
#undef rows_group
#undef walk_groups
