/* bench_knn_gemm: how close the knn member's distance blocks come to OpenBLAS's sgemm peak.
 *
 *   bench_knn_gemm [--train N] [--queries Q] [--d D[,D...]] [--runs R] [--threads T] [--onehot]
 *
 * --onehot: data shaped like lending_club's encoding instead of normal data at each width: 10
 * normal columns and 14 one-hot blocks of 51, 14, 12, 7, 6, 4, 3, 3, 3, 3, 2, 2, 2, 2 levels (124
 * columns; levels drawn with skewed frequencies, so rows repeat categories), the --d list ignored.
 * The knn member then takes its one-hot path (the big gemm still times a full-width gemm, and the
 * float pass and predict percentages still count full-width flops, so they can pass 100%).  Each
 * width also prints an FNV-1a hash of the probabilities, to compare two builds bit for bit.
 *
 * For each width d (default 22, the demo's encoded width, and 124, lending_club's), on N training
 * rows and Q query rows of seeded normal data, one run in one process:
 *  peak      cblas_sgemm of 2048 x 2048 x 2048 (OpenBLAS picks its own blocking), on 1 thread and on T;
 *  big       one cblas_sgemm of the whole distance problem, Q x N x (d + 1), on 1 thread: what the
 *            float pass would cost as a single call;
 *  keys      the float pass's distance kernel alone (pp_knn_key_pass), 1 thread: the same kernel making the
 *            same keys bit for bit, each query's keys reduced to their minimum (one vector min per 16
 *            keys) instead of offered to the candidate buffers: what the distance arithmetic costs;
 *  float     the knn member's float pass alone, as its predict runs it (pp_knn_float_pass), 1 thread:
 *            the queries' set-up, the distance kernel AND the offer of every key to the candidate
 *            buffers (the kernel writes no key matrix: it compares each key with its query's
 *            threshold as it makes it, so the two cannot be timed apart); on AVX-512 CPUs the fused
 *            FMA kernel at every width, elsewhere pp_dots tiles (the line above the table names it);
 *  predict   the knn member's whole predict (k = 100) of the Q rows: float pass, candidate buffers,
 *            exact re-rank and votes, on 1 thread and on T.
 * GFLOP/s count 2 m n k flops per gemm; for the keys, the float pass and predict, the float pass's
 * 2 Q N (d + 1) flops over their time.
 * Every figure is the median of R runs.  OpenBLAS's thread count is set with
 * openblas_set_num_threads (a benchmark may; the library never does). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "models/member.h"

#define BENCH_NAME "bench_knn_gemm"
#include "bench_util.h"

extern void openblas_set_num_threads(int num_threads);
extern char *openblas_get_corename(void);

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const size_t k_levels[] = {51, 14, 12, 7, 6, 4, 3, 3, 3, 3, 2, 2, 2, 2};
#define ONEHOT_NUMERIC 10

/* rows x 124 of lending_club's shape: ONEHOT_NUMERIC normal columns, then the k_levels blocks;
 * level l of a block drawn with probability proportional to 1 / (l + 1). */
static float *onehot_matrix(size_t rows, size_t *cols, uint64_t seed) {
  size_t d = ONEHOT_NUMERIC;
  for (size_t b = 0; b < sizeof k_levels / sizeof *k_levels; b++) d += k_levels[b];
  float *M = calloc(rows * d, sizeof *M);
  if (!M) die("malloc");
  pp_rng g;
  pp_rng_seed(&g, seed);
  for (size_t i = 0; i < rows; i++) {
    float *x = M + i * d;
    for (size_t t = 0; t < ONEHOT_NUMERIC; t++) x[t] = (float)pp_rng_normal(&g);
    size_t c = ONEHOT_NUMERIC;
    for (size_t b = 0; b < sizeof k_levels / sizeof *k_levels; b++) {
      double tot = 0, u;
      for (size_t l = 0; l < k_levels[b]; l++) tot += 1.0 / (double)(l + 1);
      u = pp_rng_uniform(&g) * tot;
      size_t l = 0;
      while (l + 1 < k_levels[b] && (u -= 1.0 / (double)(l + 1)) > 0) l++;
      x[c + l] = 1.0f;
      c += k_levels[b];
    }
  }
  *cols = d;
  return M;
}

static float *normal_matrix(size_t rows, size_t cols, uint64_t seed) {
  float *M = malloc(rows * cols * sizeof *M);
  if (!M) die("malloc");
  pp_rng g;
  pp_rng_seed(&g, seed);
  for (size_t i = 0; i < rows * cols; i++) M[i] = (float)pp_rng_normal(&g);
  return M;
}

/* Median seconds of R runs of C = A B^T, A m x k, B n x k. */
static double time_gemm(const float *A, const float *B, float *C, size_t m, size_t n, size_t k, int runs) {
  double t[64];
  for (int r = 0; r < runs; r++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)n, (blasint)k, 1.0f, A, (blasint)k, B,
                (blasint)k, 0.0f, C, (blasint)n);
    t[r] = now() - t0;
  }
  return median(t, runs);
}

/* Median seconds of the knn model's key pass over the nq rows Xq (kmin: nq floats), or with kmin NULL of
 * its float pass, after one warm-up run. */
static double time_pass(const void *model, const float *Xq, size_t nq, float *kmin, int runs) {
  double t[64];
  for (int r = -1; r < runs; r++) {
    double t0 = now();
    if (kmin ? pp_knn_key_pass(model, Xq, nq, kmin) : pp_knn_float_pass(model, Xq, nq, NULL))
      die(kmin ? "key pass" : "float pass");
    if (r >= 0) t[r] = now() - t0;
  }
  return median(t, runs);
}

static double peak_gflops(int threads, int runs) {
  const size_t s = 2048;
  float *A = normal_matrix(s, s, 1), *B = normal_matrix(s, s, 2), *C = malloc(s * s * sizeof *C);
  if (!C) die("malloc");
  openblas_set_num_threads(threads);
  time_gemm(A, B, C, s, s, s, 1); /* warm-up */
  double sec = time_gemm(A, B, C, s, s, s, runs);
  free(A);
  free(B);
  free(C);
  return 2.0 * (double)s * (double)s * (double)s / sec * 1e-9;
}

int main(int argc, char **argv) {
  size_t ntrain = 20000, nq = 4000;
  int runs = 5, threads = 2, onehot = 0;
  char dlist[256] = "22,124";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--onehot")) {
      onehot = 1;
      snprintf(dlist, sizeof dlist, "124");
      continue;
    }
    if (!v) {
      fprintf(stderr, "usage: bench_knn_gemm [--train N] [--queries Q] [--d D[,D...]] [--runs R] [--threads T] "
                      "[--onehot]\n");
      return 2;
    }
    if (!strcmp(a, "--train")) ntrain = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--queries")) nq = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--d")) snprintf(dlist, sizeof dlist, "%s", v);
    else if (!strcmp(a, "--runs")) runs = atoi(v);
    else if (!strcmp(a, "--threads")) threads = atoi(v);
    else {
      fprintf(stderr, "bench_knn_gemm: unknown option %s\n", a);
      return 2;
    }
    i++;
  }
  if (runs < 1 || runs > 64 || threads < 1 || ntrain < 200 || nq < 1) {
    fprintf(stderr, "bench_knn_gemm: --runs 1..64, --threads >= 1, --train >= 200, --queries >= 1\n");
    return 2;
  }
  double peak1 = peak_gflops(1, runs), peakT = peak_gflops(threads, runs);
  /* OpenBLAS picks its kernels by the CPU it recognises: one it does not know gets old ones (on a
   * family 6 model 207 Xeon, 0.3.21 says Prescott: SSE3, a fifth of the AVX-512 peak), and a "peak"
   * that says nothing; OPENBLAS_CORETYPE=SkylakeX then sets the kernels (bench/README) */
  printf("sgemm peak (2048^3, OpenBLAS kernels for %s): %.1f GFLOP/s on 1 thread, %.1f on %d threads\n",
         openblas_get_corename(), peak1, peakT, threads);
  const char *kname = NULL;
  pp_knn_float_pass(NULL, NULL, 0, &kname);
  printf("float pass: %s\n", kname);
  printf("%5s %7s %7s | %-22s %-22s %-24s | %-24s %-24s\n", "d", "train", "queries", "big gemm, 1 thr",
         "keys alone, 1 thr", "float pass+offer, 1 thr", "predict, 1 thr", "predict, T thr");
  openblas_set_num_threads(1);
  for (char *tok = strtok(dlist, ","); tok; tok = strtok(NULL, ",")) {
    size_t d = strtoul(tok, NULL, 10), w = d + 1;
    if (d < 1) continue;
    float *Xtr, *Xq;
    if (onehot) {
      Xtr = onehot_matrix(ntrain, &d, 10 + d);
      Xq = onehot_matrix(nq, &d, 20 + d);
      w = d + 1;
    } else {
      Xtr = normal_matrix(ntrain, d, 10 + d);
      Xq = normal_matrix(nq, d, 20 + d);
    }
    float *y = malloc(ntrain * sizeof *y);
    if (!y) die("malloc");
    pp_rng g;
    pp_rng_seed(&g, 30 + d);
    for (size_t i = 0; i < ntrain; i++) y[i] = (float)(pp_rng_uniform(&g) < 1.0 / (1.0 + exp(-Xtr[i * d])));
    const double flops = 2.0 * (double)nq * (double)ntrain * (double)w;

    /* big: one gemm of the whole problem, on [x, 1] x [-2y, |y|^2] shaped operands */
    float *Q = normal_matrix(nq, w, 40 + d), *A = normal_matrix(ntrain, w, 50 + d);
    float *C = malloc(nq * ntrain * sizeof *C);
    if (!C) die("malloc");
    time_gemm(Q, A, C, nq, ntrain, w, 1);
    double big = flops / time_gemm(Q, A, C, nq, ntrain, w, runs) * 1e-9;

    double t[64];

    /* predict: the member itself */
    json_error_t je;
    json_t *jp = json_loads("{\"k\": 100}", 0, &je);
    void *params = NULL, *model = NULL;
    if (!jp || pp_knn_ops.parse_params(jp, "bench", &params)) die("params");
    json_decref(jp);
    pp_ctx ctx;
    pp_ctx_init(&ctx, NULL, 42);
    ctx.nthread = 1;
    pp_dataset tr = {Xtr, ntrain, d, y, NULL, NULL, PP_IMB_NONE};
    if (pp_knn_ops.fit(params, &tr, NULL, &ctx, &model)) die("fit");
    pp_knn_ops.free_params(params);
    double *out = malloc(nq * sizeof *out);
    if (!out) die("malloc");
    float *kmin = malloc(nq * sizeof *kmin);
    if (!kmin) die("malloc");
    double kpass = flops / time_pass(model, Xq, nq, kmin, runs) * 1e-9;
    double fpass = flops / time_pass(model, Xq, nq, NULL, runs) * 1e-9;
    free(kmin);
    double pr[2];
    int thr[2] = {1, threads};
    for (int v = 0; v < 2; v++) {
      if (pp_knn_ops.predict(model, Xq, nq, out, NULL, thr[v])) die("predict");
      for (int r = 0; r < runs; r++) {
        double t0 = now();
        if (pp_knn_ops.predict(model, Xq, nq, out, NULL, thr[v])) die("predict");
        t[r] = now() - t0;
      }
      pr[v] = median(t, runs);
    }
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the probabilities: equal across builds iff same bits */
    for (size_t i = 0; i < nq * sizeof *out; i++) h = (h ^ ((const unsigned char *)out)[i]) * 1099511628211ull;
    printf("d %zu: probabilities' FNV-1a hash %016llx\n", d, (unsigned long long)h);
    char c1[32], c0[32], c2[32], c3[32], c4[32];
    snprintf(c1, sizeof c1, "%.1f GF/s (%.0f%%)", big, 100.0 * big / peak1);
    snprintf(c0, sizeof c0, "%.1f GF/s (%.0f%%)", kpass, 100.0 * kpass / peak1);
    snprintf(c2, sizeof c2, "%.1f GF/s (%.0f%%)", fpass, 100.0 * fpass / peak1);
    snprintf(c3, sizeof c3, "%.0f rows/s, %.0f%%", nq / pr[0], 100.0 * flops / pr[0] * 1e-9 / peak1);
    snprintf(c4, sizeof c4, "%.0f rows/s, %.0f%%", nq / pr[1], 100.0 * flops / pr[1] * 1e-9 / peakT);
    printf("%5zu %7zu %7zu | %-22s %-22s %-24s | %-24s %-24s\n", d, ntrain, nq, c1, c0, c2, c3, c4);
    pp_knn_ops.free_model(model);
    free(out);
    free(Xtr);
    free(Xq);
    free(y);
    free(Q);
    free(A);
    free(C);
  }
  if (onehot)
    printf("(--onehot: lending_club-shaped data, 10 numeric columns and 14 one-hot blocks; the keys', the float\n"
           " pass's and predict's GF/s and %% count the full width's flops, which the one-hot path does not do: they\n"
           " can pass 100%%)\n");
  printf("(%% of the 1-thread sgemm peak; predict on T threads: %% of the T-thread peak; medians of %d runs)\n", runs);
  return 0;
}
