/* lib/models/treeshap_single.h: treeshap.c's single-row pass (the method: treeshap.c, "the pass") for
 * one vector width.  Not a header of its own: treeshap.c includes it once per width (hence no include
 * guard), with SHAP_W (doubles per vector: 4, or 8 for trees of a multiple of 8 points) and SHAP_N(x)
 * (x's name for this width) defined; width 4 gives the portable and AVX2 copies, width 8 the AVX-512
 * one.  Each point is one lane whatever the width, so every copy gives the same bits. */
#define vsd SHAP_N(vsd)
#define vsl SHAP_N(vsl)
#define sclose SHAP_N(sclose)
#define tree_plan SHAP_N(tree_plan)

typedef double vsd __attribute__((vector_size(SHAP_W * sizeof(double))));
typedef int64_t vsl __attribute__((vector_size(SHAP_W * sizeof(int64_t))));

/* Frame j is done (the walk has left its child): D K into its column's sums (a dead edge's column is
 * d, whose sums are not read), and K into its parent's K. */
static inline __attribute__((always_inline)) void sclose(const pass *w, const size_t C, size_t j) {
  const frame *p = &w->fr[j];
  const vsd *vp = (const vsd *)(const void *)w->vec + j * 4 * C;
  vsd *acc = (vsd *)(void *)p->acc, *ku = (vsd *)(void *)p->kup;
  for (size_t q = 0; q < C; q++) acc[q] += vp[2 * C + q] * vp[C + q];
  for (size_t q = 0; q < C; q++) ku[q] += vp[C + q];
}

/* Tree t for row x at SHAP_W C points: adds each column's sums at the points into w->acc.  A loop
 * over the tree's inner nodes (s->plan): a node whose edge is frame q first closes the frames above q
 * (the walk has left them), then computes both children's edges from its P and from the frame of its
 * column's previous split (k; frame 0 stands for none: 1 / a = 1, z = 1, passed, so that dividing by
 * it changes no bit).  The child x goes to gets its frame by address (q + 2 - g: g = 0 left, 1 right),
 * the other the other one, so that no branch depends on the row.  A dead edge (an earlier split on the
 * column failed) carries its cover fraction only and adds to column d. */
static inline __attribute__((always_inline)) void tree_plan(const pp_treeshap *s, size_t t, const float *x,
                                                             const pass *w, const size_t C, const int strict) {
  const size_t V = 4 * C;
  const vsd *R = (const vsd *)(const void *)(s->rule + rule_offset(SHAP_W * C));
  const vsd *T = R + C, *OMT = R + 2 * C, *IOMT = R + 3 * C;
  frame *fr = w->fr;
  vsd *vec = (vsd *)(void *)w->vec;
  for (size_t c = 0; c < C; c++) {
    vec[c] = R[c] * s->scale;         /* P: the weights and the scale */
    vec[C + c] = R[c] * 0.0;          /* K */
    vec[3 * C + c] = R[c] * 0.0 + 1.0; /* 1 / a */
  }
  fr[0].zm = 1.0;
  fr[0].pass = 1;
  size_t top = 0;
  double *const accd = w->acc + s->d * SHAP_W * C; /* the dead edges' column */
  vsd *const kdum = vec + (w->nframes - 1) * V + C;  /* a K not read (the last frame's: never an edge) */
  const pp_shap_node *g = s->plan + s->plan_start[t], *end = s->plan + s->plan_start[t + 1];
  for (; g < end; g++) {
    const size_t q = g->frame, k = g->prev;
    while (top > q) sclose(w, C, top--);
    const float xv = x[g->feature];
    const int lt = strict ? xv < g->threshold : xv <= g->threshold;
    const size_t gi = (size_t)!(lt | ((xv != xv) & (g->flags & PP_SHAP_NAN_LEFT))); /* 0: x goes left, 1: right */
    const frame *pk = &fr[k];
    const int dead = !pk->pass;
    const double zprev = pk->zm, zg = zprev * g->ze[gi], zn = zprev * g->ze[1 - gi], c1 = 1.0 - zg, c0 = 1.0 - zprev;
    const vsl dm = (vsl){0} - (int64_t)dead;
    const vsd *Pp = vec + q * V, *ip = vec + k * V + 3 * C;
    vsd *Vg = vec + (q + 2 - gi) * V, *Vn = vec + (q + 1 + gi) * V;
    const double zeg = g->ze[gi], zen = g->ze[1 - gi], vg = g->value[gi], vn = g->value[1 - gi];
    for (size_t c = 0; c < C; c++) { /* every load before the stores: they do not alias */
      const vsd pp = Pp[c], ipc = ip[c], a = zg + c1 * T[c], inv = 1.0 / a, c0i = c0 * ipc;
      const vsd pg = pp * a * ipc, pn = pp * (zn * OMT[c]) * ipc, dn = -IOMT[c] - c0i;
      const vsd xg = pp * zeg, xn = pp * zen; /* dead: the cover fractions */
      const vsd Pg = (vsd)(((vsl)xg & dm) | ((vsl)pg & ~dm)), Pn = (vsd)(((vsl)xn & dm) | ((vsl)pn & ~dm));
      Vg[c] = Pg;
      Vn[c] = Pn;
      Vg[C + c] = vg * Pg; /* K: v P of a leaf, 0 P of an inner node */
      Vn[C + c] = vn * Pn;
      Vg[2 * C + c] = c1 * inv - c0i;
      Vn[2 * C + c] = dn;
      Vg[3 * C + c] = inv;
      Vn[3 * C + c] = inv;
    }
    frame *fg = &fr[q + 2 - gi], *fn = &fr[q + 1 + gi];
    fg->zm = zg;
    fn->zm = zn;
    double *const cols[2] = {w->acc + (size_t)g->feature * SHAP_W * C, accd}; /* by index: no branch */
    fg->acc = fn->acc = cols[dead];
    fg->pass = (uint8_t)!dead;
    fn->pass = 0;
    fg->kup = fn->kup = (double *)(void *)(vec + q * V + C);
    /* a left leaf is done at once, and so is a right one after a left leaf: their frames' closing here
     * (the same operations in the same order), by addresses, into column d's sums and a K not read
     * when the child is not such a leaf (its K is 0 then, and the sums' bits are another's) */
    const size_t ll = (g->flags & PP_SHAP_LEAF_LEFT) != 0, bl = ll & ((g->flags & PP_SHAP_LEAF_RIGHT) != 0);
    vsd *const kt[2] = {kdum, vec + q * V + C};
    double *const at[2] = {accd, cols[dead]};
    vsd *kl = kt[ll], *kr = kt[bl], *al = (vsd *)(void *)at[ll], *ar = (vsd *)(void *)at[bl];
    const vsd *Vl = vec + (q + 2) * V, *Vr = vec + (q + 1) * V;
    for (size_t c = 0; c < C; c++) {
      al[c] += Vl[2 * C + c] * Vl[C + c];
      kl[c] += Vl[C + c];
      ar[c] += Vr[2 * C + c] * Vr[C + c];
      kr[c] += Vr[C + c];
    }
    top = q + 2 - ll - bl;
  }
  while (top > 0) sclose(w, C, top--);
}

#undef vsd
#undef vsl
#undef sclose
#undef tree_plan
