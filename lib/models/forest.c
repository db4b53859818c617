/* The "random_forest" member: n_estimators CART trees (cart.h) on bootstrap samples, averaged.
 *
 * fit:
 *  1. The columns are binned once and the codes shared read-only by every tree and thread.
 *  2. Tree t draws everything random (its sample, the features of each split) from its own RNG,
 *     seeded with pp_seed_derive(seed, t), and is grown into its own flat part; the parts are
 *     concatenated in tree order.  So the model is bit-identical for any thread count.
 *  3. Samples: bootstrap draws max_samples x n rows with replacement (multiplicities, not copies);
 *     balanced_bootstrap draws the same number from each class (max_samples x the minority count,
 *     with replacement; without bootstrap: every minority row and as many majority rows without
 *     replacement), i.e. the balanced random forest of Chen, Liaw and Breiman (2004).
 *  4. Row weights: sample weight x class weight.  "balanced" uses the class counts of all rows,
 *     "balanced_subsample" those of each tree's sample (multiplicity counted).  The default
 *     follows the recipe's imbalance (PP_IMB_WEIGHTS: "balanced"), except with balanced_bootstrap,
 *     whose samples are balanced already (then "none").
 *  5. oob_score: each row is scored by the trees whose sample left it out; the AUC over the rows
 *     that were out of bag at least once is reported by info().  Tree order fixes the sums.
 * predict: mean over the trees of the leaf's weighted share of class 1 (pp_cart_predict). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/jsonx.h"
#include "models/cart.h"
#include "models/member.h"
#include "models/tree_common.h"

#define FOREST_FORMAT_VERSION 1u
#define FOREST_MAX_TREES 100000L

enum { CW_FOLLOW = -1, CW_BALANCED = 0, CW_NONE = 1, CW_SUBSAMPLE = 2 };

static const char *const k_keys[] = {"n_estimators",      "criterion",        "max_depth",    "min_samples_leaf",
                                     "min_samples_split", "max_features",     "max_bins",     "bootstrap",
                                     "max_samples",       "class_weight",     "balanced_bootstrap", "oob_score",
                                     NULL};
static const char *const k_cw[] = {"balanced", "none", "balanced_subsample", NULL};

typedef struct forest_params {
  long n_estimators;
  pp_tree_opts g;
  int bootstrap;
  double max_samples; /* fraction of the rows (of the minority class with balanced_bootstrap) */
  int class_weight;   /* CW_* */
  int balanced_bootstrap;
  int oob_score;
} forest_params;

typedef struct forest_model {
  size_t d;
  int class_weight; /* resolved: CW_BALANCED, CW_NONE or CW_SUBSAMPLE */
  int bootstrap, balanced_bootstrap, oob_score;
  double max_samples;
  size_t n_estimators;
  pp_tree_spec s;   /* growth of each tree; s.rows: training rows */
  size_t oob_rows; /* rows out of bag at least once (0 when not computed) */
  double oob_auc;  /* NaN when not computed or undefined */
  pp_cart_trees trees;
  pp_treeshap shap; /* contributions of the trees (derived at fit and load, not saved) */
} forest_model;

/* ---- parameters --------------------------------------------------------------------------- */

static int forest_parse_params(const json_t *obj, const char *path, void **out) {
  *out = NULL;
  if (!path) path = "";
  const char *dot = *path ? "." : "";
  PP_TRY(pp_json_check_keys(obj, path, k_keys));
  forest_params p;
  memset(&p, 0, sizeof p);
  PP_TRY(pp_json_int(obj, path, "n_estimators", 1, FOREST_MAX_TREES, 300, &p.n_estimators));
  PP_TRY(pp_tree_parse_opts(obj, path, 0, 1, PP_CART_MF_SQRT, &p.g));
  PP_TRY(pp_json_bool(obj, path, "bootstrap", 1, &p.bootstrap));
  PP_TRY(pp_json_double(obj, path, "max_samples", 0.0, 1.0, 1.0, &p.max_samples));
  if (!(p.max_samples > 0))
    return pp_err(PROP_ERR_RECIPE, "%s%smax_samples: must be a fraction in (0, 1], got %s", path, dot, PP_G(p.max_samples));
  if (p.max_samples < 1.0 && !p.bootstrap)
    return pp_err(PROP_ERR_RECIPE, "%s%smax_samples: applies only with bootstrap true (got %s with bootstrap false)",
                  path, dot, PP_G(p.max_samples));
  PP_TRY(pp_json_enum(obj, path, "class_weight", k_cw, CW_FOLLOW, &p.class_weight));
  PP_TRY(pp_json_bool(obj, path, "balanced_bootstrap", 0, &p.balanced_bootstrap));
  PP_TRY(pp_json_bool(obj, path, "oob_score", 1, &p.oob_score));
  forest_params *q = pp_malloc(sizeof *q);
  if (!q) return PROP_ERR_NOMEM;
  *q = p;
  *out = q;
  return 0;
}

static json_t *forest_params_to_json(const void *params) {
  const forest_params *p = params;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "n_estimators", json_integer(p->n_estimators));
  pp_tree_opts_json(o, &p->g, 1);
  json_object_set_new(o, "bootstrap", json_boolean(p->bootstrap));
  json_object_set_new(o, "max_samples", json_real(p->max_samples));
  json_object_set_new(o, "class_weight",
                      p->class_weight == CW_FOLLOW ? json_null() : json_string(k_cw[p->class_weight]));
  json_object_set_new(o, "balanced_bootstrap", json_boolean(p->balanced_bootstrap));
  json_object_set_new(o, "oob_score", json_boolean(p->oob_score));
  return o;
}

static void forest_free_params(void *params) { free(params); }

/* ---- fit ---------------------------------------------------------------------------------------- */

static void forest_model_free(forest_model *m) {
  if (!m) return;
  pp_treeshap_free(&m->shap);
  pp_cart_trees_free(&m->trees);
  free(m);
}

/* Read-only inputs shared by every tree. */
typedef struct forest_job {
  const forest_model *m;
  const pp_cart_bins *bins;
  const float *y;
  const float *sw;        /* sample weights or NULL */
  const double *rw;       /* row weights (CW_BALANCED / CW_NONE) or NULL for all ones */
  const uint32_t *cls[2]; /* row indices of class 0 and class 1 */
  size_t ncls[2];
  uint64_t seed;
  pp_cart_params cp;
} forest_job;

/* Rows drawn with replacement: k draws out of idx[0..len) (or out of 0..len when idx is NULL). */
static void draw_with(pp_rng *rng, const uint32_t *idx, size_t len, size_t k, uint32_t *mult) {
  for (size_t s = 0; s < k; s++) {
    size_t r = (size_t)pp_rng_below(rng, len);
    mult[idx ? idx[r] : r]++;
  }
}

/* k of idx[0..len) without replacement, in order (selection sampling). */
static void draw_without(pp_rng *rng, const uint32_t *idx, size_t len, size_t k, uint32_t *mult) {
  size_t need = k;
  for (size_t r = 0; r < len && need; r++)
    if (pp_rng_below(rng, len - r) < need) {
      mult[idx[r]]++;
      need--;
    }
}

static size_t rounded_count(double frac, size_t n) {
  double k = floor(frac * (double)n + 0.5);
  if (k < 1) k = 1;
  if (k > (double)n) k = (double)n;
  return (size_t)k;
}

/* The sample of tree t: the RNG is seeded for the tree and first used here (then by the growth).
 * Returns 1 when mult was filled, 0 when every row is used once (mult untouched). */
static int draw_sample(const forest_job *job, size_t t, pp_rng *rng, uint32_t *mult) {
  const forest_model *m = job->m;
  const size_t n = m->s.rows;
  pp_rng_seed(rng, pp_seed_derive(job->seed, t));
  if (!m->bootstrap && !m->balanced_bootstrap) return 0;
  memset(mult, 0, n * sizeof *mult);
  if (m->balanced_bootstrap) {
    int minc = job->ncls[1] <= job->ncls[0] ? 1 : 0, majc = 1 - minc;
    size_t nmin = job->ncls[minc];
    if (m->bootstrap) {
      size_t k = rounded_count(m->max_samples, nmin);
      draw_with(rng, job->cls[minc], nmin, k, mult);
      draw_with(rng, job->cls[majc], job->ncls[majc], k, mult);
    } else {
      for (size_t s = 0; s < nmin; s++) mult[job->cls[minc][s]] = 1;
      draw_without(rng, job->cls[majc], job->ncls[majc], nmin, mult);
    }
  } else {
    draw_with(rng, NULL, n, rounded_count(m->max_samples, n), mult);
  }
  return 1;
}

/* "balanced_subsample": row weights from the class counts of the sample. */
static void subsample_weights(const forest_job *job, const uint32_t *mult, double *rw) {
  const size_t n = job->m->s.rows;
  double c[2] = {0, 0};
  for (size_t i = 0; i < n; i++) c[job->y[i] == 1.0f] += mult ? (double)mult[i] : 1.0;
  double tot = c[0] + c[1];
  double cw[2];
  for (int k = 0; k < 2; k++) cw[k] = c[k] > 0 ? tot / (2.0 * c[k]) : 1.0;
  for (size_t i = 0; i < n; i++) rw[i] = (job->sw ? (double)job->sw[i] : 1.0) * cw[job->y[i] == 1.0f];
}

/* Shared state of the parallel loop. */
typedef struct forest_shared {
  int stop;
  int cancelled;
  size_t done;
  int fail_rc;
  size_t fail_tree;
  char fail_msg[256];
} forest_shared;

static void record_failure(forest_shared *sh, size_t t, int rc, const char *msg) {
#pragma omp critical
  {
    if (!sh->fail_rc || t < sh->fail_tree) {
      sh->fail_rc = rc;
      sh->fail_tree = t;
      snprintf(sh->fail_msg, sizeof sh->fail_msg, "%s", msg ? msg : "");
    }
  }
#pragma omp atomic write
  sh->stop = 1;
}

/* Grow every tree into parts[t].  oob (NULL: not wanted) gets T bitmaps of nbytes: bit i of
 * bitmap t is set when row i is out of tree t's sample. */
static void grow_all(const forest_job *job, const pp_ctx *ctx, int nt, pp_cart_trees *parts, uint8_t *oob,
                     size_t nbytes, forest_shared *sh) {
  const size_t T = job->m->n_estimators, n = job->m->s.rows;
  const int subsample = job->m->class_weight == CW_SUBSAMPLE;
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    pp_cart_work *w = NULL;
    uint32_t *mult = pp_alloc_raw(n * sizeof *mult);
    double *rwt = subsample ? pp_alloc_raw(n * sizeof *rwt) : NULL;
    int setup = (!mult || (subsample && !rwt)) ? PROP_ERR_NOMEM : pp_cart_work_create(job->bins, &w);
    int master = 1;
#ifdef _OPENMP
    master = omp_get_thread_num() == 0;
#endif
#pragma omp for schedule(dynamic, 1)
    for (size_t t = 0; t < T; t++) {
      int stop;
#pragma omp atomic read
      stop = sh->stop;
      if (stop) continue;
      if (setup) {
        record_failure(sh, t, PROP_ERR_NOMEM, "out of memory for the tree builder's work space");
        continue;
      }
      pp_rng rng;
      int used = draw_sample(job, t, &rng, mult);
      if (oob && used) {
        uint8_t *bits = oob + t * nbytes;
        for (size_t i = 0; i < n; i++)
          if (!mult[i]) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
      }
      const double *rw = job->rw;
      if (subsample) {
        subsample_weights(job, used ? mult : NULL, rwt);
        rw = rwt;
      }
      int rc = pp_cart_grow(job->bins, job->y, rw, used ? mult : NULL, &job->cp, &rng, w, &parts[t]);
      if (rc) {
        record_failure(sh, t, rc, prop_last_error());
        continue;
      }
      size_t done;
#pragma omp atomic capture
      done = ++sh->done;
      if (master && done < T && pp_progress(ctx, "fit:random_forest", done, T)) {
#pragma omp atomic write
        sh->cancelled = 1;
#pragma omp atomic write
        sh->stop = 1;
      }
    }
    pp_cart_work_free(w);
    free(mult);
    free(rwt);
  }
}

/* Out-of-bag AUC from the bitmaps of grow_all.  Blocks of rows in parallel, each block walking the
 * trees in order (a tree's nodes stay in cache for the block's rows): every row sums its trees in
 * tree order, the same for any thread count. */
#define OOB_BLOCK 64
static int oob_score(const float *X, const float *y, const uint8_t *oob, size_t nbytes, int nt, forest_model *m) {
  const size_t n = m->s.rows, d = m->d, T = m->trees.n_trees;
  double *sum = pp_calloc(n, sizeof *sum);
  uint32_t *cnt = pp_calloc(n, sizeof *cnt);
  float *ys = pp_malloc_array(n, sizeof *ys);
  int rc = 0;
  if (!sum || !cnt || !ys) rc = PROP_ERR_NOMEM;
  if (!rc) {
    const pp_cart_trees *tr = &m->trees;
    const size_t nblk = (n + OOB_BLOCK - 1) / OOB_BLOCK;
#pragma omp parallel for schedule(dynamic, 4) num_threads(nt) if (nt > 1 && nblk > 8)
    for (size_t bi = 0; bi < nblk; bi++) {
      const size_t r0 = bi * OOB_BLOCK, r1 = r0 + OOB_BLOCK < n ? r0 + OOB_BLOCK : n;
      for (size_t t = 0; t < T; t++) {
        const uint8_t *bits = oob + t * nbytes;
        for (size_t i = r0; i < r1; i++)
          if (bits[i >> 3] & (1u << (i & 7))) {
            sum[i] += tr->value[pp_cart_leaf(tr, t, X + i * d)];
            cnt[i]++;
          }
      }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (cnt[i]) {
        sum[k] = sum[i] / (double)cnt[i];
        ys[k] = y[i];
        k++;
      }
    m->oob_rows = k;
    m->oob_auc = NAN;
    if (k) rc = pp_cart_auc(sum, ys, k, &m->oob_auc);
  }
  free(sum);
  free(cnt);
  free(ys);
  return rc;
}

static int forest_fit(const void *params, const pp_dataset *train, const pp_dataset *valid, const pp_ctx *ctx,
                      void **model) {
  (void)valid;
  *model = NULL;
  forest_params dflt;
  const void *pv;
  PP_TRY(pp_member_params(params, forest_parse_params, &dflt, sizeof dflt, &pv));
  const forest_params *p = pv;
  if (!train || !train->X || !train->y || train->n == 0 || train->d == 0)
    return pp_err(PROP_ERR_ARG, "random_forest: no training data");
  const size_t n = train->n, d = train->d;
  if (n > (size_t)UINT32_MAX) return pp_err(PROP_ERR_ARG, "random_forest: %zu rows exceed the limit", n);
  size_t ncls[2];
  PP_TRY(pp_tree_count_classes(train, "random_forest", ncls));
  PP_TRY(pp_tree_check_weights(train, "random_forest"));
  int cw = p->class_weight;
  if (cw == CW_FOLLOW)
    cw = (train->imbalance == PP_IMB_WEIGHTS && !p->balanced_bootstrap) ? CW_BALANCED : CW_NONE;
  const int nthread = ctx && ctx->nthread > 0 ? ctx->nthread : 1;
  PP_TRY(pp_progress(ctx, "fit:random_forest", 0, (size_t)p->n_estimators));

  forest_model *m = pp_calloc(1, sizeof *m);
  if (!m) return PROP_ERR_NOMEM;
  pp_cart_trees_init(&m->trees, d);
  m->d = d;
  m->class_weight = cw;
  m->bootstrap = p->bootstrap;
  m->balanced_bootstrap = p->balanced_bootstrap;
  m->oob_score = p->oob_score;
  m->max_samples = p->max_samples;
  m->n_estimators = (size_t)p->n_estimators;
  pp_tree_spec_init(&m->s, &p->g, d, n);
  m->oob_auc = NAN;

  const size_t T = m->n_estimators;
  pp_cart_bins bins;
  memset(&bins, 0, sizeof bins);
  double *rw = NULL;
  uint32_t *cls = pp_malloc_array(n, sizeof *cls);
  pp_cart_trees *parts = pp_malloc_array(T, sizeof *parts);
  pp_cart_trees **pp = pp_malloc_array(T, sizeof *pp);
  const size_t nbytes = (n + 7) / 8;
  uint8_t *oob = m->oob_score ? pp_calloc(T, nbytes) : NULL;
  int rc = 0;
  if (!cls || !parts || !pp || (m->oob_score && !oob)) rc = PROP_ERR_NOMEM;
  if (parts)
    for (size_t t = 0; t < T; t++) pp_cart_trees_init(&parts[t], d);
  if (!rc) rc = pp_tree_row_weights(train, ncls, cw == CW_BALANCED, &rw);
  if (!rc) rc = pp_cart_bins_build(train->X, n, d, m->s.max_bins, nthread, &bins);

  forest_job job;
  memset(&job, 0, sizeof job);
  if (!rc) {
    size_t a = 0, b = ncls[0];
    for (size_t i = 0; i < n; i++) cls[train->y[i] == 1.0f ? b++ : a++] = (uint32_t)i;
    job.m = m;
    job.bins = &bins;
    job.y = train->y;
    job.sw = train->w;
    job.rw = rw;
    job.cls[0] = cls;
    job.cls[1] = cls + ncls[0];
    job.ncls[0] = ncls[0];
    job.ncls[1] = ncls[1];
    job.seed = ctx ? ctx->seed : 0;
    job.cp = pp_tree_cart_params(&m->s);

    int nt = nthread;
    if ((size_t)nt > T) nt = (int)T;
    forest_shared sh;
    memset(&sh, 0, sizeof sh);
    grow_all(&job, ctx, nt, parts, oob, nbytes, &sh);
    /* report on the calling thread: a worker's message stays in its own thread's slot */
    if (sh.cancelled) rc = pp_err(PROP_ERR_CANCELLED, "random_forest: cancelled by the progress callback");
    else if (sh.fail_rc)
      rc = pp_err(sh.fail_rc, "random_forest: tree %zu of %zu: %s", sh.fail_tree + 1, T, sh.fail_msg);
    else
      rc = pp_progress(ctx, "fit:random_forest", T, T);
  }
  pp_cart_bins_free(&bins);
  free(rw);
  if (!rc) {
    for (size_t t = 0; t < T; t++) pp[t] = &parts[t];
    rc = pp_cart_trees_concat(pp, T, &m->trees);
    if (!rc) rc = pp_cart_pack(&m->trees);
    if (!rc) rc = pp_tree_shap_init(&m->shap, &m->trees, "random_forest");
    if (rc == PROP_ERR_NOMEM) pp_err(rc, "random_forest: out of memory joining %zu trees", T);
  }
  if (parts)
    for (size_t t = 0; t < T; t++) pp_cart_trees_free(&parts[t]);
  free(parts);
  free(pp);
  if (!rc && m->oob_score) {
    rc = oob_score(train->X, train->y, oob, nbytes, nthread, m);
    if (rc == PROP_ERR_NOMEM) pp_err(rc, "random_forest: out of memory for the out-of-bag score");
  }
  free(oob);
  free(cls);
  if (rc) {
    forest_model_free(m);
    return rc;
  }
  pp_log(ctx, PROP_LOG_DEBUG, "random_forest: %zu trees, %zu nodes, out-of-bag AUC %.4f over %zu rows",
         m->trees.n_trees, m->trees.n_nodes, m->oob_auc, m->oob_rows);
  *model = m;
  return 0;
}

/* ---- predict ------------------------------------------------------------------------------------ */

static int forest_predict(const void *model, const float *X, size_t n, double *out, void *scratch, int nthread) {
  (void)scratch;
  const forest_model *m = model;
  return pp_tree_predict(m ? &m->trees : NULL, "random_forest", X, n, out, nthread);
}

/* ---- save / load -------------------------------------------------------------------------------- */

static int forest_save(const void *model, pp_buf *b) {
  const forest_model *m = model;
  pp_put_u32(b, FOREST_FORMAT_VERSION);
  pp_put_u64(b, m->d);
  pp_put_u8(b, (uint8_t)m->s.criterion);
  pp_put_u8(b, (uint8_t)m->class_weight);
  pp_put_u8(b, (uint8_t)m->s.mf_kind);
  pp_put_u8(b, (uint8_t)((m->bootstrap ? 1 : 0) | (m->balanced_bootstrap ? 2 : 0) | (m->oob_score ? 4 : 0)));
  pp_put_f64(b, m->s.mf_frac);
  pp_put_f64(b, m->max_samples);
  pp_put_u64(b, m->n_estimators);
  pp_tree_put_sizes(b, &m->s);
  pp_put_u64(b, m->oob_rows);
  pp_put_f64(b, m->oob_auc);
  pp_cart_save(&m->trees, b);
  return pp_buf_status(b);
}

static int forest_load(pp_rd *in, size_t d, void **out) {
  *out = NULL;
  const char *what = in->what ? in->what : "random_forest";
  uint32_t ver;
  uint64_t ntrees, oob_rows;
  uint8_t crit, cw, kind, flags;
  double ms, auc;
  pp_tree_spec s;
  PP_TRY(pp_member_get_version(in, what, "random_forest", FOREST_FORMAT_VERSION, &ver));
  PP_TRY(pp_member_get_width(in, what, "random_forest", d, SIZE_MAX));
  PP_TRY(pp_get_u8(in, &crit));
  PP_TRY(pp_get_u8(in, &cw));
  PP_TRY(pp_get_u8(in, &kind));
  PP_TRY(pp_get_u8(in, &flags));
  PP_TRY(pp_get_f64(in, &s.mf_frac));
  PP_TRY(pp_get_f64(in, &ms));
  PP_TRY(pp_get_u64(in, &ntrees));
  PP_TRY(pp_tree_get_sizes(in, &s));
  PP_TRY(pp_get_u64(in, &oob_rows));
  PP_TRY(pp_get_f64(in, &auc));
  s.criterion = crit;
  s.mf_kind = kind;
  if (cw > CW_SUBSAMPLE || flags > 7 || !(ms > 0 && ms <= 1) || ntrees < 1 || ntrees > (uint64_t)FOREST_MAX_TREES ||
      !pp_tree_spec_valid(&s, d) || oob_rows > s.rows || !(isnan(auc) || (auc >= 0 && auc <= 1)))
    return pp_err(PROP_ERR_CORRUPT, "%s: random_forest parameters out of range", what);
  forest_model *m = pp_calloc(1, sizeof *m);
  if (!m) return PROP_ERR_NOMEM;
  m->d = d;
  m->class_weight = cw;
  m->bootstrap = flags & 1;
  m->balanced_bootstrap = (flags >> 1) & 1;
  m->oob_score = (flags >> 2) & 1;
  m->max_samples = ms;
  m->n_estimators = (size_t)ntrees;
  m->s = s;
  m->oob_rows = (size_t)oob_rows;
  m->oob_auc = auc;
  int rc = pp_cart_load(in, d, (size_t)ntrees, &m->trees);
  if (!rc && m->trees.n_trees != m->n_estimators)
    rc = pp_err(PROP_ERR_CORRUPT, "%s: random_forest holds %zu trees, %zu declared", what, m->trees.n_trees,
                m->n_estimators);
  if (!rc) rc = pp_tree_shap_init(&m->shap, &m->trees, "random_forest");
  if (rc) {
    forest_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static void forest_free_model(void *model) { forest_model_free(model); }

static int forest_importance(const void *model, double *imp, size_t d) {
  const forest_model *m = model;
  return pp_cart_importance(&m->trees, imp, d);
}

static size_t forest_contrib_scratch(const void *model, size_t n) {
  return pp_tree_contrib_scratch(&((const forest_model *)model)->shap, n);
}

static int forest_contrib(const void *model, const float *X, size_t n, const uint32_t *group, size_t ngroups,
                          double *phi, double *base, void *scratch) {
  (void)group;
  (void)ngroups;
  return pp_tree_contrib(&((const forest_model *)model)->shap, "random_forest", X, n, phi, base, scratch);
}

static json_t *forest_info(const void *model) {
  const forest_model *m = model;
  json_t *o = json_object();
  if (!o) return NULL;
  size_t T = m->trees.n_trees, maxdep = 0;
  double sdep = 0, sleaf = 0;
  for (size_t t = 0; t < T; t++) {
    size_t dep = pp_cart_depth(&m->trees, t);
    if (dep > maxdep) maxdep = dep;
    sdep += (double)dep;
    sleaf += (double)pp_cart_leaves(&m->trees, t);
  }
  json_object_set_new(o, "n_estimators", json_integer((json_int_t)T));
  json_object_set_new(o, "nodes", json_integer((json_int_t)m->trees.n_nodes));
  json_object_set_new(o, "mean_depth", json_real(T ? sdep / (double)T : 0.0));
  json_object_set_new(o, "max_depth_reached", json_integer((json_int_t)maxdep));
  json_object_set_new(o, "mean_leaves", json_real(T ? sleaf / (double)T : 0.0));
  json_object_set_new(o, "rows", json_integer((json_int_t)m->s.rows));
  json_object_set_new(o, "max_features", json_integer((json_int_t)m->s.max_features));
  json_object_set_new(o, "class_weight", json_string(k_cw[m->class_weight]));
  json_object_set_new(o, "bootstrap", json_boolean(m->bootstrap));
  json_object_set_new(o, "balanced_bootstrap", json_boolean(m->balanced_bootstrap));
  json_object_set_new(o, "oob_auc", isnan(m->oob_auc) ? json_null() : json_real(m->oob_auc));
  json_object_set_new(o, "oob_rows", json_integer((json_int_t)m->oob_rows));
  return o;
}

const pp_member_ops pp_forest_ops = {
    .name = "random_forest",
    .parse_params = forest_parse_params,
    .params_to_json = forest_params_to_json,
    .free_params = forest_free_params,
    .fit = forest_fit,
    .scratch_bytes = pp_member_no_scratch,
    .predict = forest_predict,
    .save = forest_save,
    .load = forest_load,
    .free_model = forest_free_model,
    .importance = forest_importance,
    .info = forest_info,
    .contrib_space = PP_SPACE_PROB,
    .contrib_scratch = forest_contrib_scratch,
    .contrib = forest_contrib,
};
