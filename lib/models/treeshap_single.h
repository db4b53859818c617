/* lib/models/treeshap_single.h: treeshap.c's single-row pass (the method: treeshap.c, "the pass") for
 * one vector width.  Not a header of its own: treeshap.c includes it once per width (hence no include
 * guard), with SHAP_W (doubles per vector: 4, or 8 for trees of a multiple of 8 points) and SHAP_N(x)
 * (x's name for this width) defined; width 4 gives the portable and AVX2 copies, width 8 the AVX-512
 * one.  Each point is one lane whatever the width, so every copy gives the same bits. */
#define vsd SHAP_N(vsd)
#define sclose SHAP_N(sclose)
#define tree_plan SHAP_N(tree_plan)

typedef double vsd __attribute__((vector_size(SHAP_W * sizeof(double))));

/* Frame j is done (the walk has left its node): its K into its column's sums when its edge is live,
 * and into its parent's K. */
static inline __attribute__((always_inline)) void sclose(const pass *w, const size_t C, size_t j) {
  const frame *p = &w->fr[j];
  vsd *vp = (vsd *)(void *)w->vec + j * 4 * C, *vq = vp - 4 * C;
  if (p->live) {
    vsd *acc = (vsd *)(void *)w->acc + (size_t)p->feat * C;
    for (size_t q = 0; q < C; q++) acc[q] += vp[2 * C + q] * vp[C + q];
  }
  for (size_t q = 0; q < C; q++) vq[C + q] += vp[C + q];
}

/* Tree t for row x at SHAP_W C points: adds each column's sums at the points into w->acc.  A loop
 * over the tree's plan: an edge into depth h first closes the frames at h and below it (the walk
 * has left them), then computes its child's frame from its parent's (h - 1) and, when the column
 * split before on the path, that split's (g->prev). */
static inline __attribute__((always_inline)) void tree_plan(const pp_treeshap *s, size_t t, const float *x,
                                                             const pass *w, const size_t C, const int strict) {
  const size_t V = 4 * C;
  const vsd *R = (const vsd *)(const void *)(s->rule + rule_offset(SHAP_W * C));
  const vsd *T = R + C, *OMT = R + 2 * C, *IOMT = R + 3 * C;
  frame *fr = w->fr;
  vsd *vec = (vsd *)(void *)w->vec, *acc = (vsd *)(void *)w->acc;
  for (size_t c = 0; c < C; c++) {
    vec[c] = R[c] * s->scale; /* P: the weights and the scale */
    vec[C + c] = R[c] * 0.0;  /* K */
  }
  size_t top = 0;
  const pp_shap_edge *g = s->plan + s->plan_start[t], *end = s->plan + s->plan_start[t + 1];
  for (; g < end; g++) {
    const size_t h = g->depth, k = g->prev;
    while (top >= h) sclose(w, C, top--);
    const float xv = x[g->feature];
    const int lt = strict ? xv < g->threshold : xv <= g->threshold;
    const int go = (lt | ((xv != xv) & ((g->flags & PP_SHAP_NAN_LEFT) != 0))) ^ (g->flags & PP_SHAP_RIGHT);
    const vsd *Pp = vec + (h - 1) * V;
    vsd *Pc = vec + h * V, *D = Pc + 2 * C, *inv = Pc + 3 * C;
    frame *e = &fr[h];
    const double ze = g->ze;
    if (k && !fr[k].pass) { /* an earlier split on the column failed: the edge only carries its cover fraction */
      e->live = 0;
      e->pass = 0;
      for (size_t c = 0; c < C; c++) Pc[c] = Pp[c] * ze;
    } else {
      const double zprev = k ? fr[k].zm : 1.0, zj = zprev * ze;
      e->live = 1;
      e->pass = (uint8_t)go;
      e->zm = zj;
      if (go) {
        const double c1 = 1.0 - zj;
        for (size_t c = 0; c < C; c++) {
          const vsd a = zj + c1 * T[c];
          inv[c] = 1.0 / a;
          Pc[c] = Pp[c] * a;
          D[c] = c1 * inv[c];
        }
      } else {
        for (size_t c = 0; c < C; c++) {
          Pc[c] = Pp[c] * (zj * OMT[c]);
          D[c] = -IOMT[c];
        }
      }
      if (k) { /* divide by the previous split's factor: 1 / a_(j-1) is its frame's */
        const vsd *ip = vec + k * V + 3 * C;
        const double c0 = 1.0 - zprev;
        for (size_t c = 0; c < C; c++) {
          Pc[c] = Pc[c] * ip[c];
          D[c] = D[c] - c0 * ip[c];
        }
      }
    }
    if (g->flags & PP_SHAP_LEAF) { /* K = v P, into the parent's K at once */
      const double v = g->value;
      vsd *Kp = vec + (h - 1) * V + C, *af = acc + (size_t)g->feature * C;
      for (size_t q = 0; q < C; q++) Pc[C + q] = v * Pc[q];
      if (e->live)
        for (size_t q = 0; q < C; q++) af[q] += D[q] * Pc[C + q];
      for (size_t q = 0; q < C; q++) Kp[q] += Pc[C + q];
      continue;
    }
    for (size_t q = 0; q < C; q++) Pc[C + q] = Pc[q] * 0.0;
    e->feat = g->feature;
    top = h;
  }
  while (top > 0) sclose(w, C, top--);
}

#undef vsd
#undef sclose
#undef tree_plan
