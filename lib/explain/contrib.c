/* The ensemble's contributions (contrib.h): from the members' own contributions to the ensemble's
 * uncalibrated log-odds, input by input.
 *
 * For a row, member j gives a base b_j and contributions c_j (one per encoded column) in its space
 * (probability or log-odds, member.h), adding up to its output o_j = b_j + sum c_j.  Per row:
 *  1. Inputs: each member's column contributions are summed per input (the encoder's column -> input
 *     map; one-hot, missing-indicator and <other> columns fall to their input).  Exact.
 *  2. Member -> vote term: the vote adds t_j = T(o_j), T depending on the vote and the member's space
 *     (soft: the probability; hard: 1 when p >= 0.5; logit: the clamped log-odds).  Where T is the
 *     identity (soft vote of a probability member, logit vote of a log-odds member inside the clamp)
 *     nothing changes.  Otherwise every contribution is multiplied by the secant slope
 *     (T(o_j) - T(b_j)) / (o_j - b_j) (T'(b_j) when o_j = b_j): the base becomes T(b_j) and the
 *     contributions add up to T(o_j) - T(b_j) exactly, in the members' proportions.  A mapping, not a
 *     Shapley value of T(f) (which TreeSHAP cannot give), exact at the end points.
 *  3. The rounding remainder: the member's actual term (from its predict: XGBoost's float sigmoid,
 *     the logistic member's fast exp) less T(b_j) less the mapped sum (of the order of 1e-7; under
 *     the hard vote a whole vote when the member's probability is within rounding of 0.5) is shared
 *     among the inputs in proportion to |contribution| (to the unmapped ones when the slope was 0,
 *     evenly when all are 0), so that base + sum is the term the vote really adds.
 *  4. The vote: the weighted mean of the terms (weights w_j / sum w), so the vote's contributions are
 *     the weighted means of the members'.  Exact (the vote is linear in its terms).
 *  5. Vote -> log-odds: the logit vote's mean is already in log-odds; the soft and hard votes are
 *     mapped by pp_vote_logit as in 2 and 3, the remainder taken against pp_vote_logodds of the
 *     members' actual probabilities: base + sum = the ensemble's uncalibrated log-odds up to the
 *     rounding of a sum of inputs doubles.
 * The base is the same for every row: each member's base is, and the maps are fixed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain/contrib.h"

struct pp_contrib_work {
  size_t rows, nf, nmem;
  uint32_t *group; /* width: the input of each encoded column */
  void **scratch;  /* nmem: each member's contrib scratch */
  double *tb;      /* nmem: each member's base mapped into its vote term, T(b_j) */
  double *mbase;   /* nmem: each member's base b_j */
  double *memp;    /* nmem x rows */
  double *phi;     /* rows x width: one member's column contributions */
  double *vote;    /* rows x nf: the vote's contributions */
  double *in;      /* nf: one row's contributions of one member, per input */
  double *abs0;    /* nf: their magnitudes before a map */
  double base_v;   /* the vote's base */
  double base;     /* the log-odds' base */
};

/* ---- the maps ------------------------------------------------------------------------------------ */

static double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)); }

static double clampd(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* The vote's term of a member output o in space `space` under voting, and its derivative. */
static double term_of(int space, int voting, double o) {
  if (space != PP_SPACE_LOGODDS) return pp_vote_term(voting, o);
  if (voting == PP_VOTE_HARD) return o >= 0 ? 1.0 : 0.0;
  if (voting == PP_VOTE_LOGIT) return clampd(o, pp_vote_logit(0.0), pp_vote_logit(1.0));
  return sigmoid(o);
}

static double term_slope(int space, int voting, double o) {
  if (voting == PP_VOTE_HARD) return 0.0;
  if (space == PP_SPACE_LOGODDS) {
    if (voting == PP_VOTE_LOGIT) return o > pp_vote_logit(0.0) && o < pp_vote_logit(1.0) ? 1.0 : 0.0;
    double p = sigmoid(o);
    return p * (1.0 - p);
  }
  if (voting == PP_VOTE_LOGIT) return o > PP_LOGIT_EPS && o < 1.0 - PP_LOGIT_EPS ? 1.0 / (o * (1.0 - o)) : 0.0;
  return 1.0;
}

/* Steps 2 and 3 on v[nk] (contributions adding up to o - b): multiplied by the secant slope of the
 * map from b (mapped: tb, derivative there slope_b) to o (mapped: to), then target - tb - sum shared
 * out.  abs0[nk]: work. */
static void map_secant(double *v, size_t nk, double tb, double to, double slope_b, double target, double *abs0) {
  double sum = 0.0, a0 = 0.0;
  for (size_t k = 0; k < nk; k++) {
    sum += v[k];
    abs0[k] = fabs(v[k]);
    a0 += abs0[k];
  }
  const double s = sum != 0.0 ? (to - tb) / sum : slope_b;
  double got = tb, a1 = 0.0;
  for (size_t k = 0; k < nk; k++) {
    v[k] *= s;
    got += v[k];
    a1 += fabs(v[k]);
  }
  const double r = target - got;
  if (r == 0.0 || nk == 0) return;
  for (size_t k = 0; k < nk; k++) {
    double share = a1 > 0 ? fabs(v[k]) / a1 : (a0 > 0 ? abs0[k] / a0 : 1.0 / (double)nk);
    v[k] += r * share;
  }
}

/* ---- work ------------------------------------------------------------------------------------------ */

void pp_contrib_work_free(pp_contrib_work *w) {
  if (!w) return;
  if (w->scratch)
    for (size_t j = 0; j < w->nmem; j++) free(w->scratch[j]);
  free(w->scratch);
  free(w->group);
  free(w->tb);
  free(w->mbase);
  free(w->memp);
  free(w->phi);
  free(w->vote);
  free(w->in);
  free(w->abs0);
  free(w);
}

/* The final map (step 5): the vote's value v into log-odds. */
static double vote_to_logodds(int voting, double v) { return voting == PP_VOTE_LOGIT ? v : pp_vote_logit(v); }

static double vote_slope(int voting, double v) {
  if (voting == PP_VOTE_LOGIT) return 1.0;
  return v > PP_LOGIT_EPS && v < 1.0 - PP_LOGIT_EPS ? 1.0 / (v * (1.0 - v)) : 0.0;
}

/* The weights' sum (the vote divides by it). */
static double weight_sum(const prop_model *m) {
  double W = 0.0;
  for (size_t j = 0; j < m->nmem; j++) W += m->vote->weight[j];
  return W;
}

int pp_contrib_work_create(const prop_model *m, size_t rows, pp_contrib_work **out) {
  *out = NULL;
  pp_contrib_work *w = pp_calloc(1, sizeof *w);
  if (!w) return PROP_ERR_NOMEM;
  const size_t nf = m->schema->nfeat, width = m->width ? m->width : 1, nm = m->nmem;
  w->rows = rows ? rows : 1;
  w->nf = nf;
  w->nmem = nm;
  w->group = pp_malloc_array(width, sizeof *w->group);
  w->scratch = pp_calloc(nm ? nm : 1, sizeof *w->scratch);
  w->tb = pp_calloc(nm ? nm : 1, sizeof *w->tb);
  w->mbase = pp_calloc(nm ? nm : 1, sizeof *w->mbase);
  w->memp = pp_malloc_array(w->rows, (nm ? nm : 1) * sizeof *w->memp);
  w->phi = pp_malloc_array(w->rows, width * sizeof *w->phi);
  w->vote = pp_malloc_array(w->rows, (nf ? nf : 1) * sizeof *w->vote);
  w->in = pp_malloc_array(nf ? nf : 1, sizeof *w->in);
  w->abs0 = pp_malloc_array(nf ? nf : 1, sizeof *w->abs0);
  int rc = (!w->group || !w->scratch || !w->tb || !w->mbase || !w->memp || !w->phi || !w->vote || !w->in || !w->abs0)
               ? PROP_ERR_NOMEM
               : 0;
  for (size_t c = 0; !rc && c < m->width; c++) w->group[c] = (uint32_t)pp_encoder_source(m->enc, c);
  const double W = weight_sum(m);
  for (size_t j = 0; !rc && j < nm; j++) {
    const pp_member_ops *ops = m->mem[j].ops;
    if (!ops->contrib) {
      rc = pp_err(PROP_ERR_STATE, "member %s has no contributions", ops->name);
      break;
    }
    rc = ops->contrib(m->mem[j].model, NULL, 0, NULL, 0, NULL, &w->mbase[j], NULL);
    if (rc) break;
    w->tb[j] = term_of(ops->contrib_space, m->vote->kind, w->mbase[j]);
    if (W > 0) w->base_v += m->vote->weight[j] / W * w->tb[j];
    size_t bytes = ops->contrib_scratch ? ops->contrib_scratch(m->mem[j].model, w->rows) : 0;
    if (bytes && !(w->scratch[j] = pp_malloc(bytes))) rc = PROP_ERR_NOMEM;
  }
  if (rc) {
    pp_contrib_work_free(w);
    return rc;
  }
  w->base = W > 0 ? vote_to_logodds(m->vote->kind, w->base_v) : pp_vote_logit(0.0);
  *out = w;
  return 0;
}

double pp_contrib_base(const pp_contrib_work *w) { return w->base; }

/* Steps 1 to 4 for member j and the rows' column contributions in w->phi: added to w->vote. */
static void add_member(const prop_model *m, size_t j, size_t nb, const double *memp, double wj, pp_contrib_work *w) {
  const size_t nf = w->nf, width = m->width;
  const int space = m->mem[j].ops->contrib_space, voting = m->vote->kind;
  const double b = w->mbase[j], tb = w->tb[j], slope_b = term_slope(space, voting, b);
  for (size_t i = 0; i < nb; i++) {
    const double *ph = w->phi + i * width;
    double *in = w->in, o = b;
    memset(in, 0, nf * sizeof *in);
    for (size_t c = 0; c < width; c++) in[w->group[c]] += ph[c];
    for (size_t k = 0; k < nf; k++) o += in[k];
    const double target = pp_vote_term(voting, memp[j * nb + i]);
    map_secant(in, nf, tb, term_of(space, voting, o), slope_b, target, w->abs0);
    double *v = w->vote + i * nf;
    for (size_t k = 0; k < nf; k++) v[k] += wj * in[k];
  }
}

int pp_contrib_rows(const prop_model *m, const float *X, size_t nb, const double *memp, pp_contrib_work *w,
                    double *out) {
  const size_t nf = w->nf;
  if (nb > w->rows) return pp_err(PROP_ERR_ARG, "contributions: %zu rows in a block of %zu", nb, w->rows);
  if (!memp) {
    for (size_t j = 0; j < m->nmem; j++)
      PP_TRY(m->mem[j].ops->predict(m->mem[j].model, X, nb, w->memp + j * nb, NULL, 1));
    memp = w->memp;
  }
  memset(w->vote, 0, nb * nf * sizeof *w->vote);
  const double W = weight_sum(m);
  for (size_t j = 0; j < m->nmem && W > 0; j++) {
    const double wj = m->vote->weight[j] / W;
    if (!(wj > 0)) continue; /* the vote adds nothing of it */
    PP_TRY(m->mem[j].ops->contrib(m->mem[j].model, X, nb, w->group, nf, w->phi, NULL, w->scratch[j]));
    add_member(m, j, nb, memp, wj, w);
  }
  double p[32];
  for (size_t i = 0; i < nb; i++) {
    double *v = w->vote + i * nf, sum = w->base_v;
    for (size_t k = 0; k < nf; k++) sum += v[k];
    for (size_t j = 0; j < m->nmem; j++) p[j] = memp[j * nb + i];
    const double target = pp_vote_logodds(m->vote, p);
    map_secant(v, nf, w->base, vote_to_logodds(m->vote->kind, sum), vote_slope(m->vote->kind, w->base_v), target, w->abs0);
    memcpy(out + i * nf, v, nf * sizeof *v);
  }
  return 0;
}

/* ---- the public batch calls: the scoring loop with the contributions as its job -------------------- */

/* Automatic blocks: a batch's TreeSHAP lays each tree out once per chunk of 128 rows (treeshap.c,
 * GROUP_ROWS), so a block of that many pays for it once; rows cost 0.1 to 0.5 ms each. */
#define CONTRIB_BLOCK 128

typedef struct contrib_job {
  const prop_model *m;
  double *contrib; /* nrows x inputs */
  int *status;
} contrib_job;

static int contrib_init(void *user, size_t rows, void **tls) {
  const contrib_job *o = user;
  return pp_contrib_work_create(o->m, rows, (pp_contrib_work **)tls);
}

static void contrib_fini(void *tls) { pp_contrib_work_free(tls); }

static int contrib_run(void *user, void *tls, const float *X, const int *st, size_t row0, size_t nb) {
  const contrib_job *o = user;
  const size_t nf = o->m->schema->nfeat;
  double *out = o->contrib + row0 * nf;
  PP_TRY(pp_contrib_rows(o->m, X, nb, NULL, tls, out));
  for (size_t i = 0; i < nb; i++) {
    if (st[i])
      for (size_t k = 0; k < nf; k++) out[i * nf + k] = NAN;
    if (o->status) o->status[row0 + i] = st[i];
  }
  return 0;
}

/* The base (and whether every member can explain), then the loop over the rows. */
static int contributions(const prop_model *m, const pp_source *src, size_t nrows, double *contrib, double *base,
                         int *status, const prop_predict_options *opt, const char *fn) {
  if (nrows && !contrib) return pp_err(PROP_ERR_ARG, "%s: NULL contributions", fn);
  pp_contrib_work *w = NULL;
  int rc = pp_contrib_work_create(m, 1, &w);
  if (rc == PROP_ERR_STATE) return pp_err_prefix(rc, "%s: ", fn);
  if (rc) return rc;
  if (base) *base = pp_contrib_base(w);
  pp_contrib_work_free(w);
  contrib_job o = {m, contrib, status};
  pp_block_job job = {&o, CONTRIB_BLOCK, 1, contrib_init, contrib_fini, contrib_run};
  return pp_batch_run(m, src, nrows, opt, &job);
}

int prop_model_contributions_dense(const prop_model *m, const void *X, prop_dtype dtype, size_t nrows, size_t ncols,
                                   size_t row_stride, double *contrib, double *base, int *status,
                                   const prop_predict_options *opt) {
  static const char fn[] = "prop_model_contributions_dense";
  pp_source src;
  PP_TRY(pp_dense_source(m, X, dtype, nrows, ncols, row_stride, fn, &src));
  return contributions(m, &src, nrows, contrib, base, status, opt, fn);
}

int prop_model_contributions_frame(const prop_model *m, const prop_frame *f, double *contrib, double *base,
                                   int *status, const prop_predict_options *opt) {
  static const char fn[] = "prop_model_contributions_frame";
  if (!m || !f) return pp_err(PROP_ERR_ARG, "%s: NULL model or frame", fn);
  pp_binding *bind = NULL;
  PP_TRY(pp_binding_create(m->schema, f, &bind));
  pp_source src = {bind, NULL, PROP_FLOAT64, 0};
  int rc = contributions(m, &src, prop_frame_n_rows(f), contrib, base, status, opt, fn);
  pp_binding_free(bind);
  return rc;
}
