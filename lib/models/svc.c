/* The "svc" member: a C-SVC with RBF or linear kernel, probabilities by Platt scaling.
 *
 * fit:
 *  1. gamma: "scale" = 1 / (d var(X)) over every entry of the training X (as scikit-learn).
 *  2. Above max_train_rows, a stratified subsample (seeded) is used: the dual solver is
 *     quadratic in the rows, and a few thousand rows carry nearly all of an SVM's ranking power.
 *  3. Per-row bounds C_i = C x class weight x sample weight.
 *  4. Kernel: when the n x n Gram matrix of the used rows fits the cache budget (cache_mb) it is
 *     computed once, in tiles of fixed-order dot products (models/dots.c) on nthread threads, and
 *     shared read-only by every solve below; otherwise each solve computes rows on demand into an
 *     LRU cache of cache_mb.
 *  5. probability_folds stratified folds (shuffled with the seeded RNG): an SVM on each k-1 folds
 *     gives decision values on the held-out fold; Platt's sigmoid is fitted on those out-of-fold
 *     values (as libsvm does), and the final SVM is fitted on all used rows.  The k + 1 solves are
 *     independent and run concurrently when the Gram matrix is shared.
 * predict: decision values in blocks (support vectors x rows, the same dot products), then the
 * sigmoid.
 * contrib: the sampling estimator of sampling_shap.h on the probability, over a background of
 * PP_SAMPLE_BG_ROWS of the rows used (each class's share that of the class-weighted rows), kept in
 * the payload since version 2; a version-1 payload has none (contrib: PROP_ERR_STATE).
 *
 * Sign convention: libsvm takes the first label it meets as its "+1" class, which is why
 * scikit-learn flips signs for some label orders.  Here the positive class (y = 1) is always +1 in
 * the dual, the decision value grows with P(y = 1), and the member returns P(y = 1). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "calibrate/calibrate.h"
#include "common/jsonx.h"
#include "models/member.h"
#include "models/sampling_shap.h"
#include "models/svc_impl.h"

#define SVC_FORMAT_VERSION 2u /* 2: the contributions' background rows */

enum { CW_FOLLOW = -1, CW_BALANCED = 0, CW_NONE = 1 };

static const char *const k_keys[] = {"C",        "kernel",         "gamma",          "class_weight",
                                     "tol",      "cache_mb",       "max_iter",       "max_train_rows",
                                     "probability_folds", "shrinking", NULL};
static const char *const k_kernels[] = {"rbf", "linear", NULL};
static const char *const k_gamma_names[] = {"scale", NULL};
static const char *const k_cw[] = {"balanced", "none", NULL};

typedef struct svc_params {
  double C;
  int kernel;
  int gamma_is_num;
  double gamma;
  int class_weight; /* CW_* */
  double tol;
  long cache_mb;
  long max_iter;
  long max_train_rows; /* 0 = no cap */
  long folds;
  int shrinking;
} svc_params;

/* ---- parameters --------------------------------------------------------------------------- */

static int svc_parse_params(const json_t *obj, const char *path, void **out) {
  *out = NULL;
  if (!path) path = "";
  const char *dot = *path ? "." : "";
  PP_TRY(pp_json_check_keys(obj, path, k_keys));
  svc_params p;
  memset(&p, 0, sizeof p);
  PP_TRY(pp_json_double(obj, path, "C", 0.0, 1e9, 1.0, &p.C));
  if (!(p.C > 0)) return pp_err(PROP_ERR_RECIPE, "%s%sC: must be > 0, got %s", path, dot, PP_G(p.C));
  PP_TRY(pp_json_enum(obj, path, "kernel", k_kernels, PP_SVC_RBF, &p.kernel));
  int choice = 0;
  p.gamma_is_num = 0;
  p.gamma = 0;
  PP_TRY(pp_json_num_or_enum(obj, path, "gamma", 0.0, 1e9, k_gamma_names, &p.gamma_is_num, &p.gamma, &choice));
  if (p.gamma_is_num && !(p.gamma > 0))
    return pp_err(PROP_ERR_RECIPE, "%s%sgamma: must be \"scale\" or a number > 0, got %s", path, dot, PP_G(p.gamma));
  PP_TRY(pp_json_enum(obj, path, "class_weight", k_cw, CW_FOLLOW, &p.class_weight));
  PP_TRY(pp_json_double(obj, path, "tol", 0.0, 1.0, 1e-3, &p.tol));
  if (!(p.tol > 0)) return pp_err(PROP_ERR_RECIPE, "%s%stol: must be > 0, got %s", path, dot, PP_G(p.tol));
  PP_TRY(pp_json_int(obj, path, "cache_mb", 1, 1L << 20, 200, &p.cache_mb));
  PP_TRY(pp_json_int(obj, path, "max_iter", 0, 1000000000000L, 0, &p.max_iter));
  PP_TRY(pp_json_int(obj, path, "max_train_rows", 0, 1000000000L, 5000, &p.max_train_rows));
  if (p.max_train_rows > 0 && p.max_train_rows < 10)
    return pp_err(PROP_ERR_RECIPE, "%s%smax_train_rows: must be 0 (no cap) or at least 10, got %ld", path, dot,
                  p.max_train_rows);
  PP_TRY(pp_json_int(obj, path, "probability_folds", 2, 20, 5, &p.folds));
  PP_TRY(pp_json_bool(obj, path, "shrinking", 1, &p.shrinking));
  svc_params *q = pp_malloc(sizeof *q);
  if (!q) return PROP_ERR_NOMEM;
  *q = p;
  *out = q;
  return 0;
}

static json_t *svc_params_to_json(const void *params) {
  const svc_params *p = params;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "C", json_real(p->C));
  json_object_set_new(o, "kernel", json_string(k_kernels[p->kernel]));
  json_object_set_new(o, "gamma", p->gamma_is_num ? json_real(p->gamma) : json_string("scale"));
  json_object_set_new(o, "class_weight", p->class_weight == CW_FOLLOW ? json_null() : json_string(k_cw[p->class_weight]));
  json_object_set_new(o, "tol", json_real(p->tol));
  json_object_set_new(o, "cache_mb", json_integer(p->cache_mb));
  json_object_set_new(o, "max_iter", json_integer(p->max_iter));
  json_object_set_new(o, "max_train_rows", json_integer(p->max_train_rows));
  json_object_set_new(o, "probability_folds", json_integer(p->folds));
  json_object_set_new(o, "shrinking", json_boolean(p->shrinking));
  return o;
}

static void svc_free_params(void *params) { free(params); }

/* ---- model ------------------------------------------------------------------------------------ */

void pp_svc_model_free(pp_svc_model *m) {
  if (!m) return;
  free(m->sv);
  free(m->sv_sq);
  free(m->svT);
  free(m->coef);
  free(m->w);
  free(m->bg);
  free(m);
}

/* Derived arrays: squared norms, and the weight vector of a linear model. */
static int model_finish(pp_svc_model *m) {
  size_t ns = m->nsv, d = m->d;
  m->sv_sq = pp_malloc_array(ns ? ns : 1, sizeof(float));
  if (!m->sv_sq) return PROP_ERR_NOMEM;
  pp_svc_sqnorms(m->sv, ns, d, m->sv_sq);
  if (m->kernel == PP_SVC_RBF && ns > 0) {
    m->nsv_pad = (ns + SVC_DOT_COLS - 1) / SVC_DOT_COLS * SVC_DOT_COLS;
    m->svT = pp_calloc(d ? d * m->nsv_pad : 1, sizeof(float));
    if (!m->svT) return PROP_ERR_NOMEM;
    for (size_t s = 0; s < ns; s++)
      for (size_t k = 0; k < d; k++) m->svT[k * m->nsv_pad + s] = m->sv[s * d + k];
  }
  if (m->kernel == PP_SVC_LINEAR) {
    m->w = pp_calloc(d ? d : 1, sizeof(double));
    if (!m->w) return PROP_ERR_NOMEM;
    for (size_t s = 0; s < ns; s++)
      for (size_t k = 0; k < d; k++) m->w[k] += m->coef[s] * (double)m->sv[s * d + k];
  }
  return 0;
}

int pp_svc_model_build(const float *X, size_t n, size_t d, const float *y, const double *alpha, double rho,
                       int kernel, double gamma, pp_svc_model **out) {
  *out = NULL;
  pp_svc_model *m = pp_calloc(1, sizeof *m);
  if (!m) return PROP_ERR_NOMEM;
  m->kernel = kernel;
  m->d = d;
  m->gamma = gamma;
  m->rho = rho;
  m->A = -1.0; /* a plain sigmoid of the decision value until Platt is fitted */
  m->B = 0.0;
  size_t ns = 0;
  for (size_t i = 0; i < n; i++) ns += alpha[i] > 0;
  m->nsv = ns;
  m->sv = pp_malloc_array(ns ? ns : 1, d * sizeof(float));
  m->coef = pp_malloc_array(ns ? ns : 1, sizeof(double));
  if (!m->sv || !m->coef) {
    pp_svc_model_free(m);
    return PROP_ERR_NOMEM;
  }
  size_t s = 0;
  for (size_t i = 0; i < n; i++) {
    if (!(alpha[i] > 0)) continue;
    memcpy(m->sv + s * d, X + i * d, d * sizeof(float));
    m->coef[s] = y[i] > 0.5f ? alpha[i] : -alpha[i];
    s++;
  }
  int rc = model_finish(m);
  if (rc) {
    pp_svc_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

/* ---- fit ---------------------------------------------------------------------------------------- */

/* Shared state of the concurrent solves. */
typedef struct fit_shared {
  const pp_ctx *ctx;
  volatile int stop;
  volatile int done;
  int total;
  uint64_t polls;
} fit_shared;

static int poll_cb(void *arg, uint64_t iter) {
  fit_shared *sh = arg;
  (void)iter;
  int stop;
#pragma omp atomic read
  stop = sh->stop;
  if (stop) return 1;
#ifdef _OPENMP
  if (omp_get_thread_num() != 0) return 0; /* callbacks run on the calling thread only */
#endif
  if (++sh->polls % 16 != 0) return 0;
  int done;
#pragma omp atomic read
  done = sh->done;
  if (pp_progress(sh->ctx, "fit:svc", (size_t)done, (size_t)sh->total)) {
#pragma omp atomic write
    sh->stop = 1;
    return 1;
  }
  return 0;
}

/* One solve: task 0 is the final SVM on all rows, task f >= 1 the SVM without fold f-1, which
 * writes decision values of fold f-1's rows into dec. */
typedef struct fit_task {
  int rc;
  int capped;
  uint64_t iter;
  double *alpha; /* task 0: kept for the model */
  double rho;
} fit_task;

typedef struct fit_data {
  const float *X, *sq, *y;
  const double *C;
  size_t n, d;
  int kernel;
  float gamma;
  const float *K; /* full Gram matrix or NULL */
  const int *fold;
  int nfold;
  double *dec;
  pp_svc_opts opt;
} fit_data;

static int run_task(const fit_data *fd, int task, fit_task *out) {
  const size_t n = fd->n, d = fd->d;
  int f = task - 1;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) m += task == 0 || fd->fold[i] != f;
  size_t *gidx = pp_malloc_array(m ? m : 1, sizeof *gidx);
  float *y = pp_malloc_array(m ? m : 1, sizeof *y);
  double *C = pp_malloc_array(m ? m : 1, sizeof *C), *alpha = pp_malloc_array(m ? m : 1, sizeof *alpha);
  float *Xs = NULL, *sqs = NULL;
  int rc = 0;
  if (!gidx || !y || !C || !alpha) rc = PROP_ERR_NOMEM;
  size_t npos = 0;
  pp_svc_result res; /* before the first goto: a fold of one class skips the solve, not the result */
  memset(&res, 0, sizeof res);
  if (!rc) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (task == 0 || fd->fold[i] != f) {
        gidx[k] = i;
        y[k] = fd->y[i];
        C[k] = fd->C[i];
        npos += fd->y[i] > 0.5f;
        k++;
      }
  }
  if (!rc && task > 0 && (npos == 0 || npos == m)) {
    /* The training part holds one class (a class with a single row).  libsvm gives the held-out
     * rows +-1, the one class's side, which on tiny data teaches the sigmoid the wrong direction;
     * 0 says "no information" instead. */
    for (size_t i = 0; i < n; i++)
      if (fd->fold[i] == f) fd->dec[i] = 0.0;
    goto done;
  }
  if (!rc && !fd->K) {
    Xs = pp_malloc_array(m, d * sizeof(float));
    sqs = pp_malloc_array(m, sizeof(float));
    if (!Xs || !sqs) rc = PROP_ERR_NOMEM;
    for (size_t k = 0; !rc && k < m; k++) {
      memcpy(Xs + k * d, fd->X + gidx[k] * d, d * sizeof(float));
      sqs[k] = fd->sq[gidx[k]];
    }
  }
  if (!rc) {
    pp_svc_problem pb;
    memset(&pb, 0, sizeof pb);
    pb.n = m;
    pb.y = y;
    pb.C = C;
    pb.kernel = fd->kernel;
    pb.gamma = fd->gamma;
    if (fd->K) {
      pb.Kfull = fd->K;
      pb.ldk = n;
      pb.gidx = task == 0 ? NULL : gidx;
    } else {
      pb.X = Xs;
      pb.sq = sqs;
      pb.d = d;
    }
    rc = pp_svc_solve(&pb, &fd->opt, alpha, &res);
    if (!rc && res.stopped) rc = PROP_ERR_CANCELLED;
  }
  if (!rc && task > 0) {
    /* decision values of the held-out rows */
    if (fd->K) {
      for (size_t i = 0; i < n; i++) {
        if (fd->fold[i] != f) continue;
        const float *Ki = fd->K + i * n;
        double s = 0;
        for (size_t k = 0; k < m; k++)
          if (alpha[k] > 0) s += (y[k] > 0.5f ? alpha[k] : -alpha[k]) * (double)Ki[gidx[k]];
        fd->dec[i] = s - res.rho;
      }
    } else {
      pp_svc_model *fm = NULL;
      float *Xh = NULL;
      double *dh = NULL;
      size_t nh = n - m;
      rc = pp_svc_model_build(Xs, m, d, y, alpha, res.rho, fd->kernel, fd->gamma, &fm);
      if (!rc) {
        Xh = pp_malloc_array(nh ? nh : 1, d * sizeof(float));
        dh = pp_malloc_array(nh ? nh : 1, sizeof(double));
        if (!Xh || !dh) rc = PROP_ERR_NOMEM;
      }
      if (!rc) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
          if (fd->fold[i] == f) memcpy(Xh + (k++) * d, fd->X + i * d, d * sizeof(float));
        rc = pp_svc_decision(fm, Xh, nh, dh, NULL, 1);
      }
      if (!rc) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
          if (fd->fold[i] == f) fd->dec[i] = dh[k++];
      }
      free(Xh);
      free(dh);
      pp_svc_model_free(fm);
    }
  }
done:
  out->rc = rc;
  out->capped = res.capped;
  out->iter = res.iter;
  out->rho = res.rho;
  if (!rc && task == 0) {
    out->alpha = alpha; /* indexed like the used rows (gidx is the identity) */
    alpha = NULL;
  }
  free(gidx);
  free(y);
  free(C);
  free(alpha);
  free(Xs);
  free(sqs);
  return rc;
}

/* The background rows of the contributions: rows of X (n x d, labels y, npos positives) drawn as
 * pp_sample_background says, copied into m. */
static int svc_background(pp_svc_model *m, const float *X, const float *y, size_t n, size_t npos, double wneg,
                          double wpos) {
  size_t idx[PP_SAMPLE_BG_ROWS];
  const size_t d = m->d, k = pp_sample_background(y, n, npos, wneg, wpos, idx);
  m->bg = pp_malloc_array(k, d * sizeof *m->bg);
  if (!m->bg) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < k; i++) memcpy(m->bg + i * d, X + idx[i] * d, d * sizeof *m->bg);
  m->nbg = k;
  return 0;
}

/* The RBF kernel's gamma: the number given, or "scale", 1 / (d x the variance of every value of X). */
static double svc_gamma(const svc_params *p, const pp_dataset *train) {
  if (p->kernel == PP_SVC_LINEAR) return 0;
  if (p->gamma_is_num) return p->gamma;
  const size_t N = train->n, d = train->d;
  double mean = 0, m2 = 0;
  size_t cnt = 0;
  for (size_t i = 0; i < N * d; i++) { /* Welford: one pass, stable */
    double x = train->X[i], delta = x - mean;
    cnt++;
    mean += delta / (double)cnt;
    m2 += delta * (x - mean);
  }
  double var = m2 / (double)cnt;
  return var > 0 ? 1.0 / ((double)d * var) : 1.0;
}

/* Stratified folds of the n rows for the Platt step: fold[k] in 0..nfold-1 (order: n scratch entries);
 * returns the folds used (at most n). */
static int svc_folds(const float *y, size_t n, int nfold, pp_rng *rng, size_t *order, int *fold) {
  size_t a = 0;
  for (size_t k = 0; k < n; k++)
    if (y[k] > 0.5f) order[a++] = k;
  pp_rng_shuffle(rng, order, a);
  size_t b = a;
  for (size_t k = 0; k < n; k++)
    if (!(y[k] > 0.5f)) order[b++] = k;
  pp_rng_shuffle(rng, order + a, n - a);
  if ((size_t)nfold > n) nfold = (int)n;
  for (size_t k = 0; k < n; k++) fold[order[k]] = (int)(k % (size_t)nfold);
  return nfold;
}

/* The ntask solves (the final one, then one per fold) on par threads: with a shared Gram matrix they only
 * read it and run side by side (the final one first, it is the largest); otherwise one after another,
 * each with the whole row cache.  Errors are reported here, on the calling thread (a worker's message
 * stays in its own thread slot). */
static int run_solves(const fit_data *fd, fit_shared *sh, int ntask, int par, fit_task *tasks) {
  (void)par;
#pragma omp parallel for schedule(dynamic, 1) num_threads(par) if (par > 1)
  for (int t = 0; t < ntask; t++) {
    int stop;
#pragma omp atomic read
    stop = sh->stop;
    if (stop) {
      tasks[t].rc = PROP_ERR_CANCELLED;
      continue;
    }
    if (run_task(fd, t, &tasks[t]) != 0) {
#pragma omp atomic write
      sh->stop = 1;
    }
#pragma omp atomic update
    sh->done++;
  }
  for (int t = 0; t < ntask; t++) {
    int rc = tasks[t].rc;
    if (rc == 0 || rc == PROP_ERR_CANCELLED) continue;
    if (rc == PROP_ERR_NOMEM) return pp_err(rc, "svc: out of memory in solve %d of %d", t + 1, ntask);
    return pp_err(rc, "svc: solve %d of %d failed", t + 1, ntask);
  }
  for (int t = 0; t < ntask; t++)
    if (tasks[t].rc == PROP_ERR_CANCELLED) return pp_err(PROP_ERR_CANCELLED, "svc: cancelled by the progress callback");
  return 0;
}

/* Platt's sigmoid on the out-of-fold decision values dec[n].  When they do not rank (tiny or degenerate
 * data), a sigmoid fitted on them would be flat or reverse the SVM's order: fall back to the final SVM's
 * own training values. */
static int svc_platt(pp_svc_model *m, const float *X, const float *y, size_t n, double *dec, int nfold, int nthread,
                     const pp_ctx *ctx) {
  PP_TRY(pp_platt_fit(dec, y, n, &m->A, &m->B));
  if (m->A < 0) return 0;
  PP_TRY(pp_svc_decision(m, X, n, dec, NULL, nthread));
  PP_TRY(pp_platt_fit(dec, y, n, &m->A, &m->B));
  pp_log(ctx, PROP_LOG_WARN, "svc: the %d-fold decision values do not rank the rows; Platt fitted on the training values",
         nfold);
  return 0;
}

static int svc_fit(const void *params, const pp_dataset *train, const pp_dataset *valid, const pp_ctx *ctx,
                   void **model) {
  (void)valid;
  *model = NULL;
  svc_params dflt;
  const void *pv;
  PP_TRY(pp_member_params(params, svc_parse_params, &dflt, sizeof dflt, &pv));
  const svc_params *p = pv;
  if (!train || !train->X || !train->y || train->d == 0)
    return pp_err(PROP_ERR_ARG, "svc: no training data");
  const size_t N = train->n, d = train->d;
  size_t npos_all = 0;
  for (size_t i = 0; i < N; i++) npos_all += train->y[i] > 0.5f;
  if (N < 2 || npos_all == 0 || npos_all == N)
    return pp_err(PROP_ERR_TRAIN, "svc: the training rows hold only one class (%zu positives of %zu)", npos_all, N);

  const double gamma = svc_gamma(p, train);

  /* rows used */
  pp_rng rng;
  pp_rng_seed(&rng, ctx ? ctx->seed : 0);
  size_t cap = p->max_train_rows > 0 ? (size_t)p->max_train_rows : 0;
  int capped = cap && N > cap;
  size_t n = capped ? cap : N;
  size_t *idx = pp_malloc_array(n, sizeof *idx);
  float *X = pp_malloc_array(n, d * sizeof(float)), *y = pp_malloc_array(n, sizeof(float));
  float *sq = pp_malloc_array(n, sizeof(float));
  double *C = pp_malloc_array(n, sizeof(double)), *dec = pp_malloc_array(n, sizeof(double));
  int *fold = pp_malloc_array(n, sizeof(int));
  size_t *order = pp_malloc_array(n, sizeof(size_t));
  float *K = NULL;
  fit_task *tasks = NULL;
  pp_svc_model *m = NULL;
  int rc = 0;
  if (!idx || !X || !y || !sq || !C || !dec || !fold || !order) {
    rc = PROP_ERR_NOMEM;
    goto out;
  }
  n = pp_stratified_cap(train->y, N, npos_all, cap, &rng, idx);
  size_t npos = 0;
  for (size_t k = 0; k < n; k++) {
    memcpy(X + k * d, train->X + idx[k] * d, d * sizeof(float));
    y[k] = train->y[idx[k]] > 0.5f ? 1.0f : 0.0f;
    npos += y[k] > 0.5f;
  }
  if (capped) pp_log_row_cap(ctx, "svc", N, n); /* once per training, not once per fold */

  /* bounds */
  int cw = p->class_weight;
  if (cw == CW_FOLLOW) cw = train->imbalance == PP_IMB_WEIGHTS ? CW_BALANCED : CW_NONE;
  double wneg, wpos;
  pp_class_weights(n, npos, cw == CW_BALANCED, &wneg, &wpos);
  for (size_t k = 0; k < n; k++) {
    double sw = train->w ? (double)train->w[idx[k]] : 1.0;
    if (!(sw > 0) || !isfinite(sw)) {
      rc = pp_err(PROP_ERR_VALUE, "svc: sample weight of row %zu must be > 0, got %g", idx[k], sw);
      goto out;
    }
    C[k] = p->C * (y[k] > 0.5f ? wpos : wneg) * sw;
  }
  pp_svc_sqnorms(X, n, d, sq);

  const int nfold = svc_folds(y, n, (int)p->folds, &rng, order, fold);

  /* kernel source */
  int nthread = ctx && ctx->nthread > 0 ? ctx->nthread : 1;
  size_t budget = (size_t)p->cache_mb << 20;
  int full = (double)n * (double)n * sizeof(float) <= (double)budget;
  if (full && (rc = pp_svc_kernel_full(X, sq, n, d, p->kernel, (float)gamma, nthread, &K))) goto out;
  if ((rc = pp_progress(ctx, "fit:svc", 0, (size_t)nfold + 1))) goto out;

  int ntask = nfold + 1;
  tasks = pp_calloc((size_t)ntask, sizeof *tasks);
  if (!tasks) {
    rc = PROP_ERR_NOMEM;
    goto out;
  }
  fit_shared sh;
  memset(&sh, 0, sizeof sh);
  sh.ctx = ctx;
  sh.total = ntask;
  fit_data fd;
  memset(&fd, 0, sizeof fd);
  fd.X = X;
  fd.sq = sq;
  fd.y = y;
  fd.C = C;
  fd.n = n;
  fd.d = d;
  fd.kernel = p->kernel;
  fd.gamma = (float)gamma;
  fd.K = K;
  fd.fold = fold;
  fd.nfold = nfold;
  fd.dec = dec;
  fd.opt.tol = p->tol;
  fd.opt.cache_bytes = budget;
  fd.opt.max_iter = (uint64_t)p->max_iter;
  fd.opt.shrinking = p->shrinking;
  fd.opt.nthread = nthread;
  fd.opt.poll = poll_cb;
  fd.opt.poll_arg = &sh;
  if ((rc = run_solves(&fd, &sh, ntask, full && nthread > 1 ? (nthread < ntask ? nthread : ntask) : 1, tasks)))
    goto out;
  int ncapped = 0;
  for (int t = 0; t < ntask; t++) ncapped += tasks[t].capped;
  if (ncapped)
    pp_log(ctx, PROP_LOG_WARN, "svc: %d of %d solves stopped at the iteration limit before reaching tol %g", ncapped,
           ntask, p->tol);
  if ((rc = pp_svc_model_build(X, n, d, y, tasks[0].alpha, tasks[0].rho, p->kernel, gamma, &m))) goto out;
  if ((rc = svc_platt(m, X, y, n, dec, nfold, nthread, ctx))) goto out;
  m->iter = tasks[0].iter;
  m->rows_used = n;
  m->rows_in = N;
  m->max_rows = cap;
  m->capped = capped;
  m->iter_capped = tasks[0].capped;
  m->full_matrix = full;
  if ((rc = svc_background(m, X, y, n, npos, wneg, wpos))) goto out;
  pp_log(ctx, PROP_LOG_DEBUG, "svc: %zu support vectors of %zu rows, %llu iterations, gamma %g, Platt A %g B %g",
         m->nsv, n, (unsigned long long)m->iter, gamma, m->A, m->B);
  rc = pp_progress(ctx, "fit:svc", (size_t)ntask, (size_t)ntask);

out:
  if (tasks)
    for (int t = 0; t < nfold + 1; t++) free(tasks[t].alpha);
  free(tasks);
  free(K);
  free(idx);
  free(X);
  free(y);
  free(sq);
  free(C);
  free(dec);
  free(fold);
  free(order);
  if (rc) {
    pp_svc_model_free(m);
    return rc;
  }
  *model = m;
  return 0;
}

/* ---- predict ------------------------------------------------------------------------------------ */

static size_t svc_scratch_bytes(const void *model, size_t n) { return pp_svc_scratch(model, n); }

static int svc_predict(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread) {
  const pp_svc_model *m = model;
  if (!m || (!X && n) || (!out && n)) return pp_err(PROP_ERR_ARG, "svc predict: NULL argument");
  PP_TRY(pp_svc_decision(m, X, n, out, scratch, nthread));
  for (size_t i = 0; i < n; i++) out[i] = pp_platt_apply(m->A, m->B, out[i]);
  return 0;
}

/* ---- save / load -------------------------------------------------------------------------------- */

static int svc_save(const void *model, pp_buf *b) {
  const pp_svc_model *m = model;
  pp_put_u32(b, m->bg ? SVC_FORMAT_VERSION : 1u); /* a version-1 model is saved as it was loaded */
  pp_put_u32(b, (uint32_t)m->kernel);
  pp_put_u64(b, m->d);
  pp_put_f64(b, m->gamma);
  pp_put_f64(b, m->rho);
  pp_put_f64(b, m->A);
  pp_put_f64(b, m->B);
  pp_put_u64(b, m->iter);
  pp_put_u64(b, m->rows_used);
  pp_put_u64(b, m->rows_in);
  pp_put_u64(b, m->max_rows);
  pp_put_u8(b, (uint8_t)((m->capped ? 1 : 0) | (m->iter_capped ? 2 : 0) | (m->full_matrix ? 4 : 0)));
  pp_put_u64(b, m->nsv);
  pp_put_f64s(b, m->coef, m->nsv);
  pp_put_f32s(b, m->sv, m->nsv * m->d);
  if (m->bg) {
    pp_put_u64(b, m->nbg);
    pp_put_f32s(b, m->bg, m->nbg * m->d);
  }
  return pp_buf_status(b);
}

/* Version 2's background rows: a count (1..PP_SAMPLE_BG_ROWS) and the finite rows. */
static int load_background(pp_rd *in, pp_svc_model *m, const char *what) {
  uint64_t k;
  PP_TRY(pp_get_u64(in, &k));
  if (k < 1 || k > PP_SAMPLE_BG_ROWS) return pp_err(PROP_ERR_CORRUPT, "%s: svc has %llu background rows", what,
                                                    (unsigned long long)k);
  PP_TRY(pp_get_f32s(in, &m->bg, (size_t)k * m->d));
  m->nbg = (size_t)k;
  for (size_t i = 0; i < m->nbg * m->d; i++)
    if (!isfinite(m->bg[i])) return pp_err(PROP_ERR_CORRUPT, "%s: svc background row %zu is not finite", what, i / m->d);
  return 0;
}

static int svc_load(pp_rd *in, size_t d, void **out) {
  *out = NULL;
  const char *what = in->what ? in->what : "svc";
  uint32_t ver, kernel;
  uint64_t iter, used, rows_in, max_rows;
  double gamma, rho, A, B;
  uint8_t flags;
  PP_TRY(pp_member_get_version(in, what, "svc", SVC_FORMAT_VERSION, &ver));
  PP_TRY(pp_get_u32(in, &kernel));
  if (kernel != PP_SVC_RBF && kernel != PP_SVC_LINEAR)
    return pp_err(PROP_ERR_CORRUPT, "%s: unknown svc kernel %u", what, kernel);
  PP_TRY(pp_member_get_width(in, what, "svc model", d, SIZE_MAX));
  PP_TRY(pp_get_f64(in, &gamma));
  PP_TRY(pp_get_f64(in, &rho));
  PP_TRY(pp_get_f64(in, &A));
  PP_TRY(pp_get_f64(in, &B));
  /* gamma is used in single precision: beyond FLT_MAX it would become Inf, and Inf x 0 a NaN kernel value */
  if (!isfinite(gamma) || gamma < 0 || gamma > FLT_MAX || (kernel == PP_SVC_RBF && !(gamma > 0)) || !isfinite(rho) || !isfinite(A) ||
      !isfinite(B))
    return pp_err(PROP_ERR_CORRUPT, "%s: svc parameters are not finite or out of range", what);
  PP_TRY(pp_get_u64(in, &iter));
  PP_TRY(pp_get_u64(in, &used));
  PP_TRY(pp_get_u64(in, &rows_in));
  PP_TRY(pp_get_u64(in, &max_rows));
  PP_TRY(pp_get_u8(in, &flags));
  if (flags > 7 || used > rows_in) return pp_err(PROP_ERR_CORRUPT, "%s: inconsistent svc training facts", what);
  /* each support vector takes 8 + 4 d bytes */
  if (d > (SIZE_MAX - 8) / 4) return pp_err(PROP_ERR_CORRUPT, "%s: svc width %zu is too large", what, d);
  size_t left = in->pos <= in->len ? in->len - in->pos : 0, nsv;
  PP_TRY(pp_get_count(in, &nsv, (left >= 8 ? left - 8 : 0) / (8 + 4 * d), "n_sv"));
  pp_svc_model *m = pp_calloc(1, sizeof *m);
  if (!m) return PROP_ERR_NOMEM;
  m->kernel = (int)kernel;
  m->d = d;
  m->gamma = gamma;
  m->rho = rho;
  m->A = A;
  m->B = B;
  m->iter = iter;
  m->rows_used = (size_t)used;
  m->rows_in = (size_t)rows_in;
  m->max_rows = (size_t)max_rows;
  m->capped = flags & 1;
  m->iter_capped = (flags >> 1) & 1;
  m->full_matrix = (flags >> 2) & 1;
  m->nsv = nsv;
  int rc = 0;
  if (nsv) {
    rc = pp_get_f64s(in, &m->coef, nsv);
    if (!rc) rc = pp_get_f32s(in, &m->sv, nsv * d);
  } else {
    m->coef = pp_malloc(sizeof(double));
    m->sv = pp_malloc(d * sizeof(float));
    if (!m->coef || !m->sv) rc = PROP_ERR_NOMEM;
  }
  for (size_t s = 0; !rc && s < nsv; s++)
    if (!isfinite(m->coef[s])) rc = pp_err(PROP_ERR_CORRUPT, "%s: svc coefficient %zu is not finite", what, s);
  for (size_t i = 0; !rc && i < nsv * d; i++)
    if (!isfinite(m->sv[i]))
      rc = pp_err(PROP_ERR_CORRUPT, "%s: svc support vector %zu has a non-finite value", what, i / d);
  if (!rc && ver >= 2) rc = load_background(in, m, what);
  if (!rc) rc = model_finish(m);
  if (rc) {
    pp_svc_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static void svc_free_model(void *model) { pp_svc_model_free(model); }

/* The estimator's view of the model. */
static pp_sample_model svc_sampler(const pp_svc_model *m) {
  pp_sample_model sm = {m, svc_predict, svc_scratch_bytes, m->bg, m->nbg, m->d};
  return sm;
}

static size_t svc_contrib_scratch(const void *model, size_t n) {
  (void)n;
  const pp_svc_model *m = model;
  if (!m->bg) return 0;
  pp_sample_model sm = svc_sampler(m);
  return pp_sample_scratch(&sm, m->d);
}

static int svc_contrib(const void *model, const float *X, size_t n, const uint32_t *group, size_t ngroups,
                       double *phi, double *base, void *scratch) {
  const pp_svc_model *m = model;
  if (!m->bg)
    return pp_err(PROP_ERR_STATE, "svc: this model was saved before members kept what contributions need "
                                  "(svc payload version 1); train it again to explain it");
  pp_sample_model sm = svc_sampler(m);
  return pp_sample_contrib(&sm, X, n, group, ngroups, phi, base, scratch);
}

static json_t *svc_info(const void *model) {
  const pp_svc_model *m = model;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "n_sv", json_integer((json_int_t)m->nsv));
  json_object_set_new(o, "iterations", json_integer((json_int_t)m->iter));
  json_object_set_new(o, "iteration_limit_hit", json_boolean(m->iter_capped));
  json_object_set_new(o, "rows_used", json_integer((json_int_t)m->rows_used));
  json_object_set_new(o, "rows_available", json_integer((json_int_t)m->rows_in));
  json_object_set_new(o, "max_train_rows", json_integer((json_int_t)m->max_rows));
  json_object_set_new(o, "cap_applied", json_boolean(m->capped));
  json_object_set_new(o, "kernel", json_string(k_kernels[m->kernel]));
  if (m->kernel == PP_SVC_RBF) json_object_set_new(o, "gamma", json_real(m->gamma));
  json_object_set_new(o, "kernel_matrix", json_string(m->full_matrix ? "full" : "row cache"));
  json_object_set_new(o, "platt_a", json_real(m->A));
  json_object_set_new(o, "platt_b", json_real(m->B));
  return o;
}

const pp_member_ops pp_svc_ops = {
    .name = "svc",
    .parse_params = svc_parse_params,
    .params_to_json = svc_params_to_json,
    .free_params = svc_free_params,
    .fit = svc_fit,
    .scratch_bytes = svc_scratch_bytes,
    .predict = svc_predict,
    .save = svc_save,
    .load = svc_load,
    .free_model = svc_free_model,
    .importance = NULL,
    .info = svc_info,
    .contrib_space = PP_SPACE_PROB,
    .contrib_scratch = svc_contrib_scratch,
    .contrib = svc_contrib,
};
