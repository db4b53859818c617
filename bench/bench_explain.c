/* bench_explain: the error of the svc and knn members' sampled contributions (lib/models/sampling_shap.c)
 * against the exact Shapley values they estimate (interventional, over the member's own background
 * rows, by every subset of the players), on small cases:
 *
 *   bench_explain [--rows 60] [--seed 7]
 *
 *  - synthetic: 1,000 training rows of 8 encoded columns (5 numeric, one 3-column one-hot block), 6
 *    players, the signal an interaction, a linear part and the category;
 *  - demo: the demo campaign (2 months of 1,000 customers), 8 inputs (age, income, card age, past
 *    installments, bill and large-purchase volatility, utilization, card type; income and card age
 *    with missing indicators, card type one-hot), trained through the pipeline with the member alone;
 *    the players are the inputs, as the ensemble's contributions use them.
 * For each case and member, over --rows rows: the mean over rows of sum |estimate - exact| / sum
 * |exact|, the largest |estimate - exact|, the mean |exact|, the share of rows whose largest positive
 * contribution (the first reason) is the same input, and the time of one row's estimate.  Every
 * estimate also adds up exactly (base + sum = the member's probability, checked to 1e-12).  Not a
 * test: run by hand (bench/README.md, "Contributions and reasons"). */
#define _DEFAULT_SOURCE 1
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encode/encoder.h"
#include "models/knn_impl.h"
#include "models/member.h"
#include "models/sampling_shap.h"
#include "models/svc_impl.h"
#include "pipeline/pipeline.h"

#define BENCH_NAME "bench_explain"
#include "bench_util.h"

/* A member, its background and its players. */
typedef struct game {
  const pp_member_ops *ops;
  const void *m;
  const float *bg;
  size_t nbg, d, players;
  const uint32_t *group; /* column -> player */
  float *h;              /* nbg x d */
  double *f;             /* nbg */
} game;

static double value(const game *g, const float *x, unsigned S) {
  for (size_t b = 0; b < g->nbg; b++)
    for (size_t c = 0; c < g->d; c++) g->h[b * g->d + c] = (S >> g->group[c] & 1u) ? x[c] : g->bg[b * g->d + c];
  if (g->ops->predict(g->m, g->h, g->nbg, g->f, NULL, 1)) die("predict");
  double s = 0;
  for (size_t b = 0; b < g->nbg; b++) s += g->f[b];
  return s / (double)g->nbg;
}

/* Exact Shapley values of the players at row x, by every subset. */
static void exact(const game *g, const float *x, double *phi) {
  const unsigned p = (unsigned)g->players, full = 1u << p;
  double *v = xmalloc(full * sizeof *v);
  for (unsigned S = 0; S < full; S++) v[S] = value(g, x, S);
  for (unsigned i = 0; i < p; i++) {
    double s = 0;
    for (unsigned S = 0; S < full; S++) {
      if (S & (1u << i)) continue;
      unsigned k = (unsigned)__builtin_popcount(S);
      double w = 1.0 / (double)p;
      for (unsigned j = 1; j <= k; j++) w *= (double)j / (double)(p - j);
      s += w * (v[S | (1u << i)] - v[S]);
    }
    phi[i] = s;
  }
  free(v);
}

static size_t top_player(const double *phi, size_t p) {
  size_t best = p;
  for (size_t i = 0; i < p; i++)
    if (phi[i] > 0 && (best == p || phi[i] > phi[best])) best = i;
  return best;
}

/* Estimates against the exact values over rows of X; prints one line. */
static void measure(const char *label, game *g, const float *X, size_t rows) {
  const size_t d = g->d, p = g->players;
  g->h = xmalloc(g->nbg * d * sizeof *g->h);
  g->f = xmalloc(g->nbg * sizeof *g->f);
  double *est = xmalloc(d * sizeof *est), *ex = xmalloc(p * sizeof *ex), *col = xmalloc(p * sizeof *col);
  size_t *first = xmalloc(p * sizeof *first);
  for (size_t q = 0; q < p; q++) first[q] = d;
  for (size_t c = d; c-- > 0;) first[g->group[c]] = c;
  double rel = 0, worst = 0, mag = 0, secs = 0;
  size_t agree = 0;
  for (size_t i = 0; i < rows; i++) {
    const float *x = X + i * d;
    double base, prob, a = now();
    if (g->ops->contrib(g->m, x, 1, g->group, p, est, &base, NULL)) die("contributions");
    secs += now() - a;
    if (g->ops->predict(g->m, x, 1, &prob, NULL, 1)) die("predict");
    exact(g, x, ex);
    double e = 0, s = 0, sum = base;
    for (size_t q = 0; q < p; q++) {
      col[q] = est[first[q]];
      sum += col[q];
      e += fabs(col[q] - ex[q]);
      s += fabs(ex[q]);
      if (fabs(col[q] - ex[q]) > worst) worst = fabs(col[q] - ex[q]);
    }
    if (fabs(sum - prob) > 1e-12) die("the estimate does not add up");
    rel += s > 0 ? e / s : 0;
    mag += s / (double)p;
    agree += top_player(col, p) == top_player(ex, p);
  }
  printf("  %-10s %-6s rows %3zu  players %zu  mean rel. error %.4f  max |error| %.5f  mean |phi| %.5f  "
         "first reason same %5.1f%%  %.2f ms/row\n",
         label, g->ops->name, rows, p, rel / (double)rows, worst, mag / (double)rows, 100.0 * (double)agree / (double)rows,
         1e3 * secs / (double)rows);
  free(g->h);
  free(g->f);
  free(est);
  free(ex);
  free(col);
  free(first);
}

static const float *background_of(const pp_member_ops *ops, const void *m, size_t *nbg) {
  if (ops == &pp_svc_ops) {
    *nbg = ((const pp_svc_model *)m)->nbg;
    return ((const pp_svc_model *)m)->bg;
  }
  *nbg = ((const knn_model *)m)->nbg;
  return ((const knn_model *)m)->bg;
}

/* ---- case 1: synthetic ------------------------------------------------------------------------- */

static void synthetic(size_t rows, uint64_t seed) {
  enum { N = 1000, D = 8, P = 6 };
  static const uint32_t group[D] = {0, 1, 2, 3, 4, 4, 4, 5};
  float *X = xmalloc(N * D * sizeof *X), *y = xmalloc(N * sizeof *y);
  pp_rng r;
  pp_rng_seed(&r, seed);
  for (size_t i = 0; i < N; i++) {
    float *x = X + i * D;
    for (size_t j = 0; j < 4; j++) x[j] = (float)pp_rng_normal(&r);
    size_t cat = (size_t)pp_rng_below(&r, 3);
    for (size_t j = 0; j < 3; j++) x[4 + j] = j == cat ? 1.0f : 0.0f;
    x[7] = (float)pp_rng_normal(&r);
    double z = x[0] * x[1] + 0.8 * x[2] + (cat == 2 ? 1.0 : -0.3) + 0.4 * x[7] + 0.5 * pp_rng_normal(&r) - 0.5;
    y[i] = z > 0 ? 1.0f : 0.0f;
  }
  const pp_member_ops *ops[2] = {&pp_svc_ops, &pp_knn_ops};
  for (int v = 0; v < 2; v++) {
    pp_dataset ds = {X, N, D, y, NULL, NULL, PP_IMB_WEIGHTS};
    pp_ctx c;
    pp_ctx_init(&c, NULL, seed);
    c.nthread = 1;
    void *params = NULL, *m = NULL;
    if (ops[v]->parse_params(NULL, "", &params) || ops[v]->fit(params, &ds, NULL, &c, &m)) die("fit");
    ops[v]->free_params(params);
    game g = {ops[v], m, NULL, 0, D, P, group, NULL, NULL};
    g.bg = background_of(ops[v], m, &g.nbg);
    measure("synthetic", &g, X + (N - rows) * D, rows);
    ops[v]->free_model(m);
  }
  free(X);
  free(y);
}

/* ---- case 2: the demo campaign, 8 inputs, through the pipeline ----------------------------------- */

static void demo(size_t rows, uint64_t seed) {
  const char *csv = "/tmp/bench_explain_demo.csv";
  prop_demo_options d;
  prop_demo_options_default(&d);
  d.customers_per_month = 1000;
  d.months = 2;
  d.seed = seed;
  if (prop_demo_write_csv(csv, &d)) die("demo");
  const char *names[] = {"accepted", "customer_id", "installment_amount", "gender", "education", "credit_limit"};
  prop_coltype types[] = {PROP_COL_TARGET, PROP_COL_ID, PROP_COL_IGNORE, PROP_COL_IGNORE, PROP_COL_IGNORE,
                          PROP_COL_IGNORE};
  prop_csv_options co;
  prop_csv_options_default(&co);
  co.declared_names = names;
  co.declared_types = types;
  co.n_declared = 6;
  prop_frame *f = NULL;
  if (prop_frame_read_csv(csv, &co, &f)) die("reading the demo");
  remove(csv);
  static const char *const members[2] = {"{\"name\": \"svc\"}", "{\"name\": \"knn\", \"params\": {\"k\": 50}}"};
  for (int v = 0; v < 2; v++) {
    char js[512];
    snprintf(js, sizeof js,
             "{\"seed\": 3, \"cv_folds\": 2, \"members\": [%s], \"ensemble\": {\"voting\": \"soft\", \"weights\": "
             "\"equal\"}}",
             members[v]);
    prop_recipe *r = NULL;
    prop_model *m = NULL;
    prop_train_options o;
    prop_train_options_default(&o);
    o.target = "accepted";
    o.id = "customer_id";
    o.connected = "connected";
    o.time_col = "month";
    if (prop_recipe_parse(js, "bench", &r) || prop_model_train(f, r, &o, &m)) die("training");
    prop_recipe_free(r);
    const size_t nf = m->schema->nfeat, w = m->width, n = prop_frame_n_rows(f);
    uint32_t *group = xmalloc(w * sizeof *group);
    for (size_t c = 0; c < w; c++) group[c] = (uint32_t)pp_encoder_source(m->enc, c);
    double *raw = xmalloc(n * nf * sizeof *raw);
    int *st = xmalloc(n * sizeof *st);
    float *X = xmalloc(rows * w * sizeof *X);
    pp_binding *b = NULL;
    if (pp_binding_create(m->schema, f, &b)) die("binding");
    pp_binding_rows(b, 0, n, raw, st);
    pp_binding_free(b);
    pp_encoder_transform(m->enc, raw + (n - rows) * nf, rows, nf, X);
    game g = {m->mem[0].ops, m->mem[0].model, NULL, 0, w, nf, group, NULL, NULL};
    g.bg = background_of(g.ops, g.m, &g.nbg);
    measure("demo", &g, X, rows);
    free(group);
    free(raw);
    free(st);
    free(X);
    prop_model_free(m);
  }
  prop_frame_free(f);
}

int main(int argc, char **argv) {
  size_t rows = 60;
  uint64_t seed = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--rows") == 0) rows = (size_t)strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
    else {
      fprintf(stderr, "usage: bench_explain [--rows N] [--seed S]\n");
      return 2;
    }
  }
  if (rows < 1 || rows > 1000) rows = 60;
  printf("bench_explain: sampled contributions (%d background rows, %d antithetic pair(s) per row) against the "
         "exact values over the same background\n",
         PP_SAMPLE_BG_ROWS, PP_SAMPLE_PAIRS);
  synthetic(rows, seed);
  demo(rows, seed);
  return 0;
}
