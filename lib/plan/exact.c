/* The exact assignment of rows to capacitated resources (plan.h, pp_plan_exact): successive shortest
 * augmenting paths on the min-cost flow rows -> resources -> sink, with the rows' unlimited
 * alternative (their best call without a capacity, or no call) as a node F of infinite capacity and
 * gain 0.  Row j is inserted by the cheapest path: j enters node n1 (cost -gain), then one row of
 * n1 moves on to n2 (cost: its gain in n1 less its gain in n2), ... until a node with room.  The arc
 * r -> r' costs the least loss over r's rows, kept per pair: a row entering r updates r's arcs, a
 * row leaving r rescans only the arcs it was the cheapest mover of.
 * After each insertion the assignment is optimal for the rows inserted (no negative cycle is ever
 * created), so after the last it is optimal: the LP of this transportation problem has integral
 * vertices, and this is its optimum. */
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"

typedef struct flow {
  const double *gain;
  size_t m, R, N;  /* rows, resources, nodes (R + 1: F last) */
  const long *cap;
  size_t **mem;    /* mem[r]: the rows in resource r */
  size_t *nmem;
  size_t *pos;     /* pos[j]: j's place in mem[assign[j]] */
  long *assign;
  double *arc;     /* R x N */
  long *who;       /* R x N: the row that moves along the arc, -1 for none */
  double *dist;
  long *pred, *mover;
} flow;

static double g_of(const flow *f, size_t j, size_t node) { return node == f->R ? 0.0 : f->gain[j * f->R + node]; }

/* The arc r -> v from scratch over r's rows. */
static void refresh_arc(flow *f, size_t r, size_t v) {
  double best = INFINITY;
  long who = -1;
  for (size_t q = 0; q < f->nmem[r]; q++) {
    size_t x = f->mem[r][q];
    double there = g_of(f, x, v);
    if (there == -INFINITY) continue;
    double c = g_of(f, x, r) - there;
    if (c < best || (c == best && (long)x < who)) {
      best = c;
      who = (long)x;
    }
  }
  f->arc[r * f->N + v] = best;
  f->who[r * f->N + v] = who;
}

static void leave(flow *f, size_t x) {
  long r = f->assign[x];
  if (r < 0) return;
  size_t last = f->mem[r][--f->nmem[r]];
  f->mem[r][f->pos[x]] = last;
  f->pos[last] = f->pos[x];
  f->assign[x] = -1;
  for (size_t v = 0; v < f->N; v++) /* the arcs x was the cheapest mover of */
    if (f->who[(size_t)r * f->N + v] == (long)x) refresh_arc(f, (size_t)r, v);
}

static void enter(flow *f, size_t x, size_t node) {
  if (node == f->R) return;
  f->pos[x] = f->nmem[node];
  f->mem[node][f->nmem[node]++] = x;
  f->assign[x] = (long)node;
  double here = g_of(f, x, node);
  for (size_t v = 0; v < f->N; v++) {
    double there = g_of(f, x, v), *arc = &f->arc[node * f->N + v];
    long *who = &f->who[node * f->N + v];
    if (v == node || there == -INFINITY) continue;
    double c = here - there;
    if (c < *arc || (c == *arc && (long)x < *who)) {
      *arc = c;
      *who = (long)x;
    }
  }
}

/* Bellman-Ford from row j over the N nodes; returns the terminal (a node with room) of least cost. */
static size_t shortest(flow *f, size_t j) {
  for (size_t v = 0; v < f->N; v++) {
    double gj = g_of(f, j, v);
    f->dist[v] = gj == -INFINITY ? INFINITY : -gj;
    f->pred[v] = gj == -INFINITY ? -1 : -2;
  }
  for (size_t pass = 0; pass < f->N; pass++) {
    int changed = 0;
    for (size_t r = 0; r < f->R; r++) {
      if (!f->nmem[r] || f->dist[r] == INFINITY) continue;
      const double *arc = f->arc + r * f->N;
      const long *who = f->who + r * f->N;
      for (size_t v = 0; v < f->N; v++) {
        if (who[v] < 0 || v == r) continue;
        double nd = f->dist[r] + arc[v];
        if (nd < f->dist[v] - 1e-12 * (1.0 + fabs(nd))) {
          f->dist[v] = nd;
          f->pred[v] = (long)r;
          f->mover[v] = who[v];
          changed = 1;
        }
      }
    }
    if (!changed) break;
  }
  size_t best = f->R;
  for (size_t r = 0; r < f->R; r++)
    if ((long)f->nmem[r] < f->cap[r] && f->dist[r] < f->dist[best] - 1e-12 * (1.0 + fabs(f->dist[best]))) best = r;
  return best;
}

/* Insert row j along the shortest path (the arcs follow each move). */
static int insert(flow *f, size_t j) {
  size_t v = shortest(f, j), steps = 0;
  while (f->pred[v] != -2) {
    if (f->pred[v] < 0 || ++steps > f->N)
      return pp_err(PROP_ERR_STATE, "plan: the exact assignment found no consistent path (rounding); the greedy one is used");
    size_t u = (size_t)f->pred[v], x = (size_t)f->mover[v];
    leave(f, x);
    enter(f, x, v);
    v = u;
  }
  enter(f, j, v);
  return 0;
}

int pp_plan_exact(const double *gain, size_t m, size_t R, const long *cap, long *assign) {
  flow f;
  memset(&f, 0, sizeof f);
  f.gain = gain;
  f.m = m;
  f.R = R;
  f.N = R + 1;
  f.cap = cap;
  f.assign = assign;
  size_t slots = 0;
  for (size_t r = 0; r < R; r++) slots += (size_t)cap[r] < m ? (size_t)cap[r] : m;
  size_t *store = pp_malloc_array(slots + 1, sizeof *store);
  f.mem = pp_malloc_array(R + 1, sizeof *f.mem);
  f.nmem = pp_calloc(R + 1, sizeof *f.nmem);
  f.pos = pp_malloc_array(m + 1, sizeof *f.pos);
  f.arc = pp_malloc_array(R * f.N + 1, sizeof *f.arc);
  f.who = pp_malloc_array(R * f.N + 1, sizeof *f.who);
  f.dist = pp_malloc_array(f.N, sizeof *f.dist);
  f.pred = pp_malloc_array(f.N, sizeof *f.pred);
  f.mover = pp_malloc_array(f.N, sizeof *f.mover);
  int rc = store && f.mem && f.nmem && f.pos && f.arc && f.who && f.dist && f.pred && f.mover ? 0 : PROP_ERR_NOMEM;
  if (!rc) {
    size_t off = 0;
    for (size_t r = 0; r < R; r++) {
      f.mem[r] = store + off;
      off += (size_t)cap[r] < m ? (size_t)cap[r] : m;
      for (size_t v = 0; v < f.N; v++) {
        f.arc[r * f.N + v] = INFINITY;
        f.who[r * f.N + v] = -1;
      }
    }
    for (size_t j = 0; j < m; j++) assign[j] = -1;
    for (size_t j = 0; j < m && !rc; j++) rc = insert(&f, j);
  }
  free(store);
  free(f.mem);
  free(f.nmem);
  free(f.pos);
  free(f.arc);
  free(f.who);
  free(f.dist);
  free(f.pred);
  free(f.mover);
  return rc;
}
