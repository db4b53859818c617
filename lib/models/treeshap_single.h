/* lib/models/treeshap_single.h: treeshap.c's single-row pass (the method: treeshap.c, "the pass") for
 * one vector width.  Not a header of its own: treeshap.c includes it once per width (hence no include
 * guard), with SHAP_W (doubles per vector: 4, or 8 for trees of a multiple of 8 points) and SHAP_N(x)
 * (x's name for this width) defined; width 4 gives the portable and AVX2 copies, width 8 the AVX-512
 * one.  Each point is one lane whatever the width, so every copy gives the same bits. */
#define vsd SHAP_N(vsd)
#define vsl SHAP_N(vsl)
#define tree_plan SHAP_N(tree_plan)

typedef double vsd __attribute__((vector_size(SHAP_W * sizeof(double))));
typedef int64_t vsl __attribute__((vector_size(SHAP_W * sizeof(int64_t))));

/* Tree t for row x at SHAP_W C points: adds each column's sums at the points into w->acc.  First a
 * loop over the tree's inner nodes (s->plan): a node whose edge is frame q computes both children's
 * edges from its P and from the frame of its column's previous split (k; frame 0 stands for none:
 * 1 / a = 1, z = 1, passed, so that dividing by it changes no bit): P and 1 / a into their frames,
 * and D, K (v P for a leaf, 0 P for an inner node) and where they add to under their post-order
 * numbers.  The child x goes to gets its frame by address (q + 2 - g: g = 0 left, 1 right), the other
 * the other one, so that no branch depends on the row; a dead edge (an earlier split on the column
 * failed) carries its cover fraction only and adds to column d.  Then the edges in post-order, each
 * (its subtree's done) adding D K to its sums and K to its parent's K: the additions of the walk that
 * closes each edge when it leaves its child, in its order. */
static inline __attribute__((always_inline)) void tree_plan(const pp_treeshap *s, size_t t, const float *x,
                                                             const pass *w, const size_t C, const int strict) {
  const size_t V = 2 * C;
  const vsd *R = (const vsd *)(const void *)(s->rule + rule_offset(SHAP_W * C));
  const vsd *T = R + C, *OMT = R + 2 * C, *IOMT = R + 3 * C;
  frame *fr = w->fr;
  sedge *ed = w->ed;
  vsd *vec = (vsd *)(void *)w->vec, *edv = (vsd *)(void *)w->edv;
  for (size_t c = 0; c < C; c++) {
    vec[c] = R[c] * s->scale;         /* P: the weights and the scale */
    vec[C + c] = R[c] * 0.0 + 1.0;    /* 1 / a */
  }
  fr[0].zm = 1.0;
  fr[0].pass = 1;
  double *const accd = w->acc + s->d * SHAP_W * C; /* the dead edges' column */
  const pp_shap_node *g = s->plan + s->plan_start[t], *end = s->plan + s->plan_start[t + 1];
  const size_t E = 2 * (size_t)(end - g);
  for (; g < end; g++) {
    const size_t q = g->frame, k = g->prev;
    const float xv = x[g->feature];
    const int lt = strict ? xv < g->threshold : xv <= g->threshold;
    const size_t gi = (size_t)!(lt | ((xv != xv) & g->nan_left)); /* 0: x goes left, 1: right */
    const frame *pk = &fr[k];
    const int dead = !pk->pass;
    const double zprev = pk->zm, zg = zprev * g->ze[gi], zn = zprev * g->ze[1 - gi], c1 = 1.0 - zg, c0 = 1.0 - zprev;
    const vsl dm = (vsl){0} - (int64_t)dead;
    const vsd *Pp = vec + q * V, *ip = vec + k * V + C;
    vsd *Vg = vec + (q + 2 - gi) * V, *Vn = vec + (q + 1 + gi) * V;
    const size_t eg = g->post[gi], en = g->post[1 - gi];
    vsd *Eg = edv + eg * V, *En = edv + en * V;
    const double zeg = g->ze[gi], zen = g->ze[1 - gi], vg = g->value[gi], vn = g->value[1 - gi];
    for (size_t c = 0; c < C; c++) { /* every load before the stores: they do not alias */
      const vsd pp = Pp[c], ipc = ip[c], a = zg + c1 * T[c], inv = 1.0 / a, c0i = c0 * ipc;
      const vsd pg = pp * a * ipc, pn = pp * (zn * OMT[c]) * ipc, dn = -IOMT[c] - c0i;
      const vsd xg = pp * zeg, xn = pp * zen; /* dead: the cover fractions */
      const vsd Pg = (vsd)(((vsl)xg & dm) | ((vsl)pg & ~dm)), Pn = (vsd)(((vsl)xn & dm) | ((vsl)pn & ~dm));
      Vg[c] = Pg;
      Vn[c] = Pn;
      Vg[C + c] = inv; /* the other child's 1 / a and z are never read: it failed, so below it the column is dead */
      Eg[c] = c1 * inv - c0i;
      En[c] = dn;
      Eg[C + c] = vg * Pg;
      En[C + c] = vn * Pn;
    }
    fr[q + 2 - gi].zm = zg;
    fr[q + 2 - gi].pass = (uint8_t)!dead;
    fr[q + 1 + gi].pass = 0;
    double *const cols[2] = {w->acc + (size_t)g->feature * SHAP_W * C, accd}; /* by index: no branch */
    ed[eg].acc = ed[en].acc = cols[dead];
    ed[eg].up = ed[en].up = (size_t)g->post[1] + 1;
  }
  for (size_t e = 0; e < E; e++) {
    const vsd *De = edv + e * V;
    vsd *acc = (vsd *)(void *)ed[e].acc, *ku = edv + ed[e].up * V + C;
    for (size_t c = 0; c < C; c++) acc[c] += De[c] * De[C + c];
    for (size_t c = 0; c < C; c++) ku[c] += De[C + c];
  }
}

#undef vsd
#undef vsl
#undef tree_plan
