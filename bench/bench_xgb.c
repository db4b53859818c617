/* bench_xgb: prediction speed of the xgboost member (lib/models/xgb.c, XGBoost's in-place dense
 * prediction) against XGBoost's own XGBoosterPredictFromDMatrix on the same model.
 *
 *   bench_xgb [rows=100000] [cols=25] [rounds=300] [depth=4] [nthread=2] [runs=5] [single=10000]
 *
 * Data: synthetic rows (standard normal columns, a nonlinear label).  The model: the member fitted
 * with eta 0.1 on those rows.  XGBoost's booster is loaded from the JSON bytes the member saves, so
 * both sides predict with the same trees.  Batch figures are the median of `runs` runs; the
 * DMatrix path creates a fresh DMatrix each run (XGBoost caches predictions per DMatrix), timed
 * separately and together with its prediction.  Single-row latency: `single` calls of the member's
 * predict with one row (nthread 1), p50 and p99. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xgboost/c_api.h>

#include "common/common.h"
#include "models/member.h"

#define BENCH_NAME "bench_xgb"
#include "bench_util.h"

static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double quantile(double *v, size_t n, double q) {
  qsort(v, n, sizeof *v, cmp_double);
  size_t k = (size_t)ceil(q * (double)n);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

static void die_xgb(const char *what) {
  fprintf(stderr, "bench_xgb: %s: %s\n", what, XGBGetLastError());
  exit(1);
}

static long arg(int argc, char **argv, int i, long dflt) { return argc > i ? strtol(argv[i], NULL, 10) : dflt; }

int main(int argc, char **argv) {
  const size_t n = (size_t)arg(argc, argv, 1, 100000), d = (size_t)arg(argc, argv, 2, 25);
  const long rounds = arg(argc, argv, 3, 300), depth = arg(argc, argv, 4, 4);
  const int nthread = (int)arg(argc, argv, 5, 2), runs = (int)arg(argc, argv, 6, 5);
  const size_t single = (size_t)arg(argc, argv, 7, 10000);
  if (n < 10 || d < 3 || rounds < 1 || depth < 1 || nthread < 1 || runs < 1 || single < 1) {
    fprintf(stderr, "usage: bench_xgb [rows] [cols>=3] [rounds] [depth] [nthread] [runs] [single]\n");
    return 2;
  }

  /* data */
  float *X = xmalloc(n * d * sizeof(float)), *y = xmalloc(n * sizeof(float));
  pp_rng rng;
  pp_rng_seed(&rng, 2024);
  for (size_t i = 0; i < n; i++) {
    float *x = X + i * d;
    for (size_t j = 0; j < d; j++) x[j] = (float)pp_rng_normal(&rng);
    double z = 0.8 * x[0] - 0.5 * x[1] * x[2] + 0.4 * (x[3 % d] > 0.5) + 0.3 * sin(2.0 * x[4 % d]);
    y[i] = (float)(pp_rng_uniform(&rng) < 1.0 / (1.0 + exp(-z)));
  }

  /* the member's model */
  char js[256];
  snprintf(js, sizeof js, "{\"eta\": 0.1, \"max_depth\": %ld, \"rounds\": %ld, \"subsample\": 0.8, \"colsample\": 0.8}",
           depth, rounds);
  json_error_t je;
  json_t *jp = json_loads(js, 0, &je);
  void *params = NULL, *model = NULL;
  if (!jp || pp_xgb_ops.parse_params(jp, "bench", &params)) die("params");
  json_decref(jp);
  pp_ctx ctx;
  pp_ctx_init(&ctx, NULL, 42);
  ctx.nthread = nthread;
  pp_dataset tr = {X, n, d, y, NULL, NULL, PP_IMB_NONE};
  double t0 = now();
  if (pp_xgb_ops.fit(params, &tr, NULL, &ctx, &model)) die("fit");
  double t_fit = now() - t0;
  pp_xgb_ops.free_params(params);

  /* XGBoost's booster from the member's saved JSON (header: 57 bytes, JSON length at 49) */
  pp_buf b;
  pp_buf_init(&b);
  if (pp_xgb_ops.save(model, &b)) die("save");
  size_t jlen = b.len - 57;
  double tl[5];
  for (int r = 0; r < 5; r++) {
    pp_rd rd;
    pp_rd_init(&rd, b.data, b.len, "bench");
    void *m2 = NULL;
    t0 = now();
    if (pp_xgb_ops.load(&rd, d, &m2)) die("load");
    tl[r] = now() - t0;
    pp_xgb_ops.free_model(m2);
  }
  BoosterHandle h;
  char nt[16];
  snprintf(nt, sizeof nt, "%d", nthread);
  if (XGBoosterCreate(NULL, 0, &h) || XGBoosterLoadModelFromBuffer(h, b.data + 57, (bst_ulong)jlen) ||
      XGBoosterSetParam(h, "nthread", nt) || XGBoosterSetParam(h, "verbosity", "0"))
    die_xgb("loading the booster");

  double *out = xmalloc(n * sizeof *out);
  double *tm = xmalloc((size_t)runs * sizeof *tm), *tc = xmalloc((size_t)runs * sizeof *tc),
         *tp = xmalloc((size_t)runs * sizeof *tp), *tt = xmalloc((size_t)runs * sizeof *tt);
  float *ref = xmalloc(n * sizeof *ref);

  /* warm-up both paths once */
  if (pp_xgb_ops.predict(model, X, n, out, NULL, nthread)) die("predict");

  for (int r = 0; r < runs; r++) {
    t0 = now();
    if (pp_xgb_ops.predict(model, X, n, out, NULL, nthread)) die("predict");
    tm[r] = now() - t0;
  }

  char ai[256], cfg[64];
  snprintf(ai, sizeof ai, "{\"data\":[%ju,true],\"shape\":[%zu,%zu],\"typestr\":\"<f4\",\"version\":3}",
           (uintmax_t)(uintptr_t)X, n, d);
  snprintf(cfg, sizeof cfg, "{\"missing\":NaN,\"nthread\":%d}", nthread);
  const char *pcfg = "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,\"strict_shape\":false}";
  for (int r = -1; r < runs; r++) { /* r = -1: warm-up */
    DMatrixHandle dm;
    double a = now();
    if (XGDMatrixCreateFromDense(ai, cfg, &dm)) die_xgb("DMatrix");
    double c = now();
    const bst_ulong *shape;
    bst_ulong dim;
    const float *res;
    if (XGBoosterPredictFromDMatrix(h, dm, pcfg, &shape, &dim, &res)) die_xgb("predict from DMatrix");
    double e = now();
    if (r == runs - 1) memcpy(ref, res, n * sizeof *ref);
    XGDMatrixFree(dm);
    if (r >= 0) {
      tc[r] = c - a;
      tp[r] = e - c;
      tt[r] = e - a;
    }
  }
  double maxdiff = 0;
  for (size_t i = 0; i < n; i++) maxdiff = fmax(maxdiff, fabs(out[i] - (double)ref[i]));

  /* single rows through the member */
  double *lat = xmalloc(single * sizeof *lat);
  for (size_t i = 0; i < single; i++) {
    double p;
    const float *row = X + (i % n) * d;
    double a = now();
    if (pp_xgb_ops.predict(model, row, 1, &p, NULL, 1)) die("predict one row");
    lat[i] = now() - a;
    if (p != out[i % n]) {
      fprintf(stderr, "bench_xgb: single-row probability differs from the batch at row %zu\n", i % n);
      return 1;
    }
  }

  double m_member = median(tm, (size_t)runs), m_create = median(tc, (size_t)runs), m_pred = median(tp, (size_t)runs),
         m_total = median(tt, (size_t)runs);
  printf("bench_xgb: %zu rows x %zu columns, %ld rounds depth %ld, nthread %d, median of %d runs\n", n, d, rounds,
         depth, nthread, runs);
  printf("  fit (member, hist)                        %8.2f s\n", t_fit);
  printf("  member load (%zu bytes of JSON: checks + XGBoost) %6.1f ms\n", jlen, 1e3 * median(tl, 5));
  printf("  member predict (in-place dense)           %8.1f ms  %10.0f rows/s\n", 1e3 * m_member,
         (double)n / m_member);
  printf("  XGBoost DMatrix creation                  %8.1f ms\n", 1e3 * m_create);
  printf("  XGBoost PredictFromDMatrix                %8.1f ms  %10.0f rows/s\n", 1e3 * m_pred, (double)n / m_pred);
  printf("  XGBoost DMatrix creation + predict        %8.1f ms  %10.0f rows/s\n", 1e3 * m_total,
         (double)n / m_total);
  printf("  max |member - DMatrix predict|            %8.2g\n", maxdiff);
  printf("  single-row member predict (%zu calls)     p50 %.1f us  p99 %.1f us\n", single,
         1e6 * quantile(lat, single, 0.50), 1e6 * quantile(lat, single, 0.99));

  XGBoosterFree(h);
  pp_xgb_ops.free_model(model);
  pp_buf_free(&b);
  free(X);
  free(y);
  free(out);
  free(ref);
  free(tm);
  free(tc);
  free(tp);
  free(tt);
  free(lat);
  return maxdiff == 0 ? 0 : 1;
}
