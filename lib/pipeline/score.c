/* Scoring: batch (frame or dense matrix) and single customer.  All three paths end in
 * pp_score_encoded(), and members compute each row's prediction independently of the rows beside
 * it, so a row gets bit-for-bit the same probability whichever path scores it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "pipeline/pipeline.h"

#define DEFAULT_BLOCK 2048
/* Automatic blocks (threads take whole blocks): at least BLOCKS_PER_THREAD per thread, their count
 * a multiple of the thread count, all of one size (a batch of fewer or uneven blocks leaves a thread
 * idle at the end), not over DEFAULT_BLOCK rows and not under MIN_AUTO_BLOCK. */
#define BLOCKS_PER_THREAD 2
#define MIN_AUTO_BLOCK 64

void prop_predict_options_default(prop_predict_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
  opt->unseen = PROP_UNSEEN_BUCKET;
}

prop_predict_options pp_eval_predict_options(int nthread) {
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = nthread;
  po.unseen = PROP_UNSEEN_BUCKET;
  return po;
}

int pp_score_encoded(const prop_model *m, const float *X, size_t n, double *memp, void *const *scratch, int raw,
                     double *prob, int *band) {
  for (size_t j = 0; j < m->nmem; j++)
    PP_TRY(m->mem[j].ops->predict(m->mem[j].model, X, n, memp + j * n, scratch ? scratch[j] : NULL, 1));
  double p[32];
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < m->nmem; j++) p[j] = memp[j * n + i];
    double v = pp_vote_apply(m->vote, p);
    double q = raw ? v : pp_calibrator_apply(m->calib, v);
    if (prob) prob[i] = q;
    if (band) band[i] = pp_bands_of(&m->bands, q);
  }
  return 0;
}

/* Per-thread working memory of the batch loop: the block's raw rows, their statuses, the encoded rows. */
typedef struct work {
  double *raw;  /* block x nfeat */
  float *X;     /* block x width */
  int *st;
} work;

static void work_free(work *w) {
  free(w->raw);
  free(w->X);
  free(w->st);
  memset(w, 0, sizeof *w);
}

/* A worker's failure: the first one's status into *rc and its message (the worker's own thread-local
 * one) into *first, for the calling thread to restore when the parallel region is over. */
static void keep_first_failure(int lrc, int *rc, pp_err_state *first) {
#pragma omp critical(pp_batch_failure)
  {
    if (!*rc) {
      *rc = lrc;
      pp_err_save(first);
    }
  }
}

static int work_alloc(work *w, const prop_model *m, size_t block) {
  memset(w, 0, sizeof *w);
  w->raw = pp_malloc_array(block, m->schema->nfeat * sizeof(double));
  w->X = pp_malloc_array(block, (m->width ? m->width : 1) * sizeof(float));
  w->st = pp_malloc_array(block, sizeof(int));
  if (!w->raw || !w->X || !w->st) {
    work_free(w);
    return PROP_ERR_NOMEM;
  }
  return 0;
}

/* Checks of one raw input row: numeric inputs finite or NaN; categorical inputs NaN or an
 * integer code in [-1, ncats), -1 (unseen) only with PROP_UNSEEN_BUCKET.  *bad (may be NULL) gets
 * the first offending input. */
static int check_raw_row(const pp_schema *s, const double *row, int unseen, size_t *bad) {
  for (size_t k = 0; k < s->nfeat; k++) {
    double v = row[k];
    int rc = 0;
    if (v != v) continue;
    if (s->feat[k].type == PROP_COL_NUMERIC) {
      if (isinf(v)) rc = PROP_ERR_VALUE;
    } else if (!(v == floor(v) && v >= -1.0 && v < (double)s->feat[k].ncats)) {
      rc = PROP_ERR_VALUE;
    } else if (v == -1.0 && unseen != PROP_UNSEEN_BUCKET) {
      rc = PROP_ERR_CATEGORY;
    }
    if (rc) {
      if (bad) *bad = k;
      return rc;
    }
  }
  return 0;
}

static int unseen_ok(int unseen) { return unseen == PROP_UNSEEN_ERROR || unseen == PROP_UNSEEN_BUCKET; }

/* Threads asked for (0: every core), at least 1. */
static int asked_threads(const prop_predict_options *opt) {
  return pp_threads(opt ? opt->nthread : 0);
}

/* Rows per block when the caller leaves it to us (see BLOCKS_PER_THREAD): at most max_rows, not under
 * min_rows. */
static size_t auto_block(size_t nrows, int nt, size_t max_rows, size_t min_rows) {
  if (nt <= 1) return max_rows;
  size_t b = pp_even_block_rows(nrows, max_rows, (size_t)nt * BLOCKS_PER_THREAD, (size_t)nt);
  return b < min_rows ? min_rows : b;
}

static void fill_raw(const prop_model *m, const pp_source *src, size_t row0, size_t nb, int unseen, work *w) {
  size_t nf = m->schema->nfeat;
  if (src->bind) {
    pp_binding_rows(src->bind, row0, nb, w->raw, w->st);
  } else {
    for (size_t i = 0; i < nb; i++) {
      size_t r = row0 + i;
      double *dst = w->raw + i * nf;
      if (src->dtype == PROP_FLOAT64) {
        memcpy(dst, (const double *)src->X + r * src->stride, nf * sizeof(double));
      } else {
        const float *s = (const float *)src->X + r * src->stride;
        for (size_t k = 0; k < nf; k++) dst[k] = (double)s[k];
      }
      w->st[i] = 0;
    }
  }
  for (size_t i = 0; i < nb; i++)
    if (!w->st[i]) w->st[i] = check_raw_row(m->schema, w->raw + i * nf, unseen, NULL);
}

/* Rows of a block scored through the bucket, per categorical input: raw code -1 in a row that scored. */
static void count_unseen(const pp_schema *s, const work *w, size_t nb, size_t *counts) {
  for (size_t k = 0; k < s->nfeat; k++) {
    if (s->feat[k].type != PROP_COL_CATEGORICAL) continue;
    size_t c = 0;
    for (size_t i = 0; i < nb; i++) c += !w->st[i] && w->raw[i * s->nfeat + k] == -1.0;
    if (c) {
#pragma omp atomic
      counts[k] += c;
    }
  }
}

int pp_batch_run(const prop_model *m, const pp_source *src, size_t nrows, const prop_predict_options *caller_opt,
                 const pp_block_job *job) {
  prop_predict_options own;
  prop_predict_options_default(&own);
  PP_TRY(pp_opts_import(&own, sizeof own, caller_opt, "prop_predict_options"));
  const prop_predict_options *opt = &own;
  int nt = asked_threads(opt);
  int unseen = opt ? opt->unseen : PROP_UNSEEN_ERROR;
  if (!unseen_ok(unseen)) return pp_err(PROP_ERR_ARG, "predict options: unseen is %d, not a prop_unseen", unseen);
  size_t block = (opt && opt->block_rows) ? opt->block_rows : auto_block(nrows, nt, job->max_block, job->min_block);
  if (block > nrows && nrows > 0) block = nrows; /* work areas for rows that do not exist help nobody */
  size_t nblocks = (nrows + block - 1) / block;
  if ((size_t)nt > nblocks) nt = (int)(nblocks ? nblocks : 1);
  int rc = 0;
  pp_err_state first; /* the first failure's message: it is in the failing thread's slot, not the caller's */
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    work w;
    void *tls = NULL;
    int lrc = work_alloc(&w, m, block);
    if (!lrc) lrc = job->init(job->user, block, &tls);
    if (lrc) keep_first_failure(lrc, &rc, &first);
#pragma omp for schedule(dynamic, 1)
    for (size_t b = 0; b < nblocks; b++) {
      if (lrc) continue;
      size_t row0 = b * block, nb = nrows - row0 < block ? nrows - row0 : block;
      fill_raw(m, src, row0, nb, unseen, &w);
      if (opt->unseen_counts) count_unseen(m->schema, &w, nb, opt->unseen_counts);
      pp_encoder_transform(m->enc, w.raw, nb, m->schema->nfeat, w.X);
      lrc = job->run(job->user, tls, w.X, w.st, row0, nb);
      if (lrc) keep_first_failure(lrc, &rc, &first);
    }
    if (tls) job->fini(tls);
    work_free(&w);
  }
  if (rc) pp_err_restore(&first);
  return rc;
}

/* ---- scoring: the batch loop's job ------------------------------------------------------------ */
typedef struct score_out {
  const prop_model *m;
  int raw; /* the vote before the calibrator */
  double *prob;
  int *band;
  int *status;
} score_out;

typedef struct score_tls {
  double *memp; /* nmem x block */
  double *prob;
  int *band;
} score_tls;

static void score_fini(void *tls) {
  score_tls *t = tls;
  free(t->memp);
  free(t->prob);
  free(t->band);
  free(t);
}

static int score_init(void *user, size_t block, void **tls) {
  const score_out *o = user;
  score_tls *t = pp_calloc(1, sizeof *t);
  if (!t) return PROP_ERR_NOMEM;
  t->memp = pp_malloc_array(block, o->m->nmem * sizeof(double));
  t->prob = pp_malloc_array(block, sizeof(double));
  t->band = pp_malloc_array(block, sizeof(int));
  if (!t->memp || !t->prob || !t->band) {
    score_fini(t);
    return PROP_ERR_NOMEM;
  }
  *tls = t;
  return 0;
}

static int score_run(void *user, void *tls, const float *X, const int *st, size_t row0, size_t nb) {
  const score_out *o = user;
  score_tls *t = tls;
  PP_TRY(pp_score_encoded(o->m, X, nb, t->memp, NULL, o->raw, t->prob, t->band));
  for (size_t i = 0; i < nb; i++) {
    int bad = st[i] != 0;
    if (o->prob) o->prob[row0 + i] = bad ? NAN : t->prob[i];
    if (o->band) o->band[row0 + i] = bad ? 0 : t->band[i];
    if (o->status) o->status[row0 + i] = st[i];
  }
  return 0;
}

static int batch(const prop_model *m, const pp_source *src, size_t nrows, double *prob, int *band, int *status,
                 const prop_predict_options *opt) {
  prop_predict_options own;
  prop_predict_options_default(&own);
  PP_TRY(pp_opts_import(&own, sizeof own, opt, "prop_predict_options"));
  score_out o = {m, own.uncalibrated, prob, band, status};
  pp_block_job job = {&o, DEFAULT_BLOCK, MIN_AUTO_BLOCK, score_init, score_fini, score_run};
  return pp_batch_run(m, src, nrows, opt, &job);
}

int prop_model_predict_frame(const prop_model *m, const prop_frame *f, double *prob, int *band, int *status,
                             const prop_predict_options *opt) {
  if (!m || !f) return pp_err(PROP_ERR_ARG, "prop_model_predict_frame: NULL model or frame");
  pp_binding *bind = NULL;
  PP_TRY(pp_binding_create(m->schema, f, &bind));
  pp_source src = {bind, NULL, PROP_FLOAT64, 0};
  int rc = batch(m, &src, f->nrows, prob, band, status, opt);
  pp_binding_free(bind);
  return rc;
}

int pp_dense_source(const prop_model *m, const void *X, prop_dtype dtype, size_t nrows, size_t ncols,
                    size_t row_stride, const char *fn, pp_source *src) {
  if (!m || (!X && nrows)) return pp_err(PROP_ERR_ARG, "%s: NULL model or matrix", fn);
  if (ncols != m->schema->nfeat)
    return pp_err(PROP_ERR_SCHEMA, "%s: the model has %zu inputs, the matrix %zu columns", fn, m->schema->nfeat,
                  ncols);
  if (row_stride < ncols) return pp_err(PROP_ERR_ARG, "%s: row_stride %zu < ncols %zu", fn, row_stride, ncols);
  if (dtype != PROP_FLOAT32 && dtype != PROP_FLOAT64) return pp_err(PROP_ERR_ARG, "%s: unknown dtype %d", fn, (int)dtype);
  pp_source s = {NULL, X, dtype, row_stride};
  *src = s;
  return 0;
}

int prop_model_predict_dense(const prop_model *m, const void *X, prop_dtype dtype, size_t nrows, size_t ncols,
                             size_t row_stride, double *prob, int *band, int *status,
                             const prop_predict_options *opt) {
  pp_source src;
  PP_TRY(pp_dense_source(m, X, dtype, nrows, ncols, row_stride, "prop_model_predict_dense", &src));
  return batch(m, &src, nrows, prob, band, status, opt);
}

/* ---- single customer ------------------------------------------------------------------------ */
struct prop_scorer {
  const prop_model *m;
  int unseen; /* prop_unseen */
  double *raw;
  float *X;
  double *memp;
  void **scratch;
  void *ext; /* lib/explain's work for reasons, freed by ext_free */
  void (*ext_free)(void *);
};

const prop_model *pp_scorer_model(const prop_scorer *s) { return s->m; }
const float *pp_scorer_encoded(const prop_scorer *s) { return s->X; }
const double *pp_scorer_member_probs(const prop_scorer *s) { return s->memp; }
void *pp_scorer_attachment(const prop_scorer *s) { return s->ext; }
void pp_scorer_attach(prop_scorer *s, void *p, void (*free_fn)(void *)) {
  if (s->ext && s->ext_free) s->ext_free(s->ext);
  s->ext = p;
  s->ext_free = free_fn;
}

void prop_scorer_free(prop_scorer *s) {
  if (!s) return;
  if (s->ext && s->ext_free) s->ext_free(s->ext);
  if (s->scratch)
    for (size_t j = 0; j < s->m->nmem; j++) free(s->scratch[j]);
  free(s->scratch);
  free(s->raw);
  free(s->X);
  free(s->memp);
  free(s);
}

int prop_scorer_create(const prop_model *m, prop_scorer **out) {
  if (!m || !out) return pp_err(PROP_ERR_ARG, "prop_scorer_create: NULL argument");
  *out = NULL;
  prop_scorer *s = pp_calloc(1, sizeof *s);
  if (!s) return PROP_ERR_NOMEM;
  s->m = m;
  s->unseen = PROP_UNSEEN_BUCKET;
  s->raw = pp_calloc(m->schema->nfeat ? m->schema->nfeat : 1, sizeof(double));
  s->X = pp_calloc(m->width ? m->width : 1, sizeof(float));
  s->memp = pp_calloc(m->nmem, sizeof(double));
  s->scratch = pp_calloc(m->nmem, sizeof(void *));
  if (!s->raw || !s->X || !s->memp || !s->scratch) {
    prop_scorer_free(s);
    return PROP_ERR_NOMEM;
  }
  for (size_t j = 0; j < m->nmem; j++) {
    size_t bytes = m->mem[j].ops->scratch_bytes ? m->mem[j].ops->scratch_bytes(m->mem[j].model, 1) : 0;
    if (bytes && !(s->scratch[j] = pp_malloc(bytes))) {
      prop_scorer_free(s);
      return PROP_ERR_NOMEM;
    }
  }
  *out = s;
  return 0;
}

int prop_scorer_score(prop_scorer *s, const double *row, double *prob, int *band) {
  if (!s || !row) return pp_err(PROP_ERR_ARG, "prop_scorer_score: NULL argument");
  const prop_model *m = s->m;
  size_t k = 0;
  int rc = check_raw_row(m->schema, row, s->unseen, &k);
  if (rc) {
    if (prob) *prob = NAN;
    if (band) *band = 0;
    for (size_t i = 0; i < m->nmem; i++) s->memp[i] = NAN; /* this customer has none */
    if (rc == PROP_ERR_CATEGORY)
      return pp_err(rc, "input %zu (%s): a category unseen in training (code -1)", k, m->schema->feat[k].name);
    return pp_err(rc, "input %zu (%s): invalid value %g", k, m->schema->feat[k].name, row[k]);
  }
  pp_encoder_transform(m->enc, row, 1, m->schema->nfeat, s->X);
  return pp_score_encoded(m, s->X, 1, s->memp, s->scratch, 0, prob, band);
}

int prop_scorer_set_unseen(prop_scorer *s, int unseen) {
  if (!s) return pp_err(PROP_ERR_ARG, "prop_scorer_set_unseen: NULL scorer");
  if (!unseen_ok(unseen)) return pp_err(PROP_ERR_ARG, "prop_scorer_set_unseen: %d is not a prop_unseen", unseen);
  s->unseen = unseen;
  return 0;
}

int prop_scorer_member_probabilities(const prop_scorer *s, double *out) {
  if (!s || !out) return pp_err(PROP_ERR_ARG, "prop_scorer_member_probabilities: NULL argument");
  memcpy(out, s->memp, s->m->nmem * sizeof(double));
  return 0;
}

/* ---- accessors -------------------------------------------------------------------------------- */
int prop_model_band_of(const prop_model *m, double p) {
  return (m && p >= 0.0 && p <= 1.0) ? pp_bands_of(&m->bands, p) : 0; /* NaN and non-probabilities: 0 */
}
size_t prop_model_n_inputs(const prop_model *m) { return m ? m->schema->nfeat : 0; }
const char *prop_model_input_name(const prop_model *m, size_t j) {
  return (m && j < m->schema->nfeat) ? m->schema->feat[j].name : NULL;
}
prop_coltype prop_model_input_type(const prop_model *m, size_t j) {
  return (m && j < m->schema->nfeat) ? m->schema->feat[j].type : PROP_COL_AUTO;
}
long prop_model_input_index(const prop_model *m, const char *name) {
  if (!m || !name) return -1;
  for (size_t j = 0; j < m->schema->nfeat; j++)
    if (strcmp(m->schema->feat[j].name, name) == 0) return (long)j;
  return -1;
}
size_t prop_model_n_categories(const prop_model *m, size_t j) {
  return (m && j < m->schema->nfeat) ? m->schema->feat[j].ncats : 0;
}
const char *prop_model_category(const prop_model *m, size_t j, size_t k) {
  return (m && j < m->schema->nfeat && k < m->schema->feat[j].ncats) ? m->schema->feat[j].cats[k] : NULL;
}
double prop_model_category_code(const prop_model *m, size_t j, const char *label) {
  if (!m || j >= m->schema->nfeat || !label) return NAN;
  return pp_schema_code(m->schema, j, label);
}
const char *prop_model_id_column(const prop_model *m) { return m ? m->schema->id_col : NULL; }
const char *prop_model_connected_column(const prop_model *m) { return m ? m->schema->connected : NULL; }
const char *prop_model_time_column(const prop_model *m) { return m ? m->schema->time_col : NULL; }
const char *prop_model_target(const prop_model *m) { return m ? m->schema->target : NULL; }
const char *prop_model_positive_label(const prop_model *m) { return m ? m->schema->positive : NULL; }
const char *prop_model_negative_label(const prop_model *m) { return m ? m->schema->negative : NULL; }

int prop_model_target_values(const prop_model *m, const prop_frame *f, const char *column, int *y) {
  if (!m || !f || !y) return pp_err(PROP_ERR_ARG, "prop_model_target_values: NULL argument");
  int *v = NULL;
  char *pos = NULL;
  PP_TRY(pp_frame_binary_column(f, column ? column : m->schema->target, m->schema->positive, m->schema->negative, &v,
                                &pos, NULL));
  memcpy(y, v, prop_frame_n_rows(f) * sizeof *y);
  free(v);
  free(pos);
  return 0;
}
size_t prop_model_n_bands(const prop_model *m) { return m ? m->bands.n : 0; }
const double *prop_model_band_edges(const prop_model *m) { return m ? m->bands.edges : NULL; }
const char *prop_model_metadata_json(const prop_model *m) { return m ? m->meta_json : NULL; }
size_t prop_model_n_members(const prop_model *m) { return m ? m->nmem : 0; }
const char *prop_model_member_name(const prop_model *m, size_t i) {
  return (m && i < m->nmem) ? m->mem[i].ops->name : NULL;
}

int prop_model_importance(const prop_model *m, double *imp, const char **member) {
  if (!m || !imp) return pp_err(PROP_ERR_ARG, "prop_model_importance: NULL argument");
  size_t pick = m->nmem;
  for (size_t j = 0; j < m->nmem; j++)
    if (m->mem[j].ops == &pp_xgb_ops) pick = j;
  for (size_t j = 0; j < m->nmem && pick == m->nmem; j++)
    if (m->mem[j].ops->importance) pick = j;
  if (pick == m->nmem) return pp_err(PROP_ERR_STATE, "no member of this model reports importance");
  double *col = pp_calloc(m->width ? m->width : 1, sizeof *col);
  if (!col) return PROP_ERR_NOMEM;
  int rc = m->mem[pick].ops->importance(m->mem[pick].model, col, m->width);
  if (!rc) {
    memset(imp, 0, m->schema->nfeat * sizeof *imp);
    for (size_t c = 0; c < m->width; c++) imp[pp_encoder_source(m->enc, c)] += col[c];
    if (member) *member = m->mem[pick].ops->name;
  }
  free(col);
  return rc;
}
