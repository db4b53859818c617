/* The reference of a model's training rows and the stability index (see reference.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/reference.h"

#define REF_VERSION 1u

void pp_reference_free(pp_reference *r) {
  if (!r) return;
  for (size_t k = 0; r->in && k < r->nfeat; k++) free(r->in[k].count);
  free(r->in);
  free(r);
}

size_t pp_ref_bin(const double *e, size_t k, double v) {
  size_t lo = 0, hi = k; /* the first edge >= v */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (e[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

size_t pp_ref_input_bin(const pp_ref_input *ri, double v) {
  if (v != v) return ri->nbins;
  if (ri->type == PROP_COL_NUMERIC) return pp_ref_bin(ri->edges, ri->nedges, v);
  return v >= 0 && v < (double)ri->nbins ? (size_t)v : ri->nbins + 1;
}

/* Nearest-rank deciles of sorted v[m] into e (strictly increasing: equal edges merged); their count. */
static size_t decile_edges(const double *v, size_t m, double *e) {
  size_t k = 0;
  for (size_t q = 1; q <= PP_REF_EDGES && m; q++) {
    double r = ceil((double)q * (double)m / (PP_REF_EDGES + 1.0));
    double x = v[(r < 1 ? 1 : (size_t)r) - 1];
    if (k == 0 || x > e[k - 1]) e[k++] = x;
  }
  return k;
}

double pp_stability_index(const uint64_t *ref, uint64_t n, const uint64_t *got, uint64_t m, size_t B) {
  if (B == 0) return 0.0;
  const double dn = (double)n + 0.5 * (double)B, dm = (double)m + 0.5 * (double)B;
  double s = 0.0;
  for (size_t b = 0; b < B; b++) {
    const double e = ((double)ref[b] + 0.5) / dn, a = ((double)got[b] + 0.5) / dm;
    s += (a - e) * log(a / e);
  }
  return s;
}

static int fit_input(const pp_feature *f, const double *raw, size_t n, size_t nfeat, size_t k, double *scratch,
                     pp_ref_input *ri) {
  ri->type = f->type;
  if (f->type == PROP_COL_NUMERIC) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      if (raw[i * nfeat + k] == raw[i * nfeat + k]) scratch[m++] = raw[i * nfeat + k];
    qsort(scratch, m, sizeof *scratch, pp_cmp_double);
    ri->nedges = decile_edges(scratch, m, ri->edges);
    ri->nbins = ri->nedges + 1;
  } else {
    ri->nbins = f->ncats;
  }
  if (!(ri->count = pp_calloc(ri->nbins + 1, sizeof *ri->count))) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < n; i++) {
    size_t b = pp_ref_input_bin(ri, raw[i * nfeat + k]);
    if (b <= ri->nbins) ri->count[b]++; /* training rows know every category they hold */
  }
  return 0;
}

static int fit_score(pp_reference *r, const double *prob, size_t n, const pp_bands *bands, double *scratch) {
  memcpy(scratch, prob, n * sizeof *prob);
  qsort(scratch, n, sizeof *scratch, pp_cmp_double);
  r->nscore_edges = decile_edges(scratch, n, r->score_edges);
  r->nbands = bands->n;
  for (size_t i = 0; i < n; i++) {
    r->score_count[pp_ref_bin(r->score_edges, r->nscore_edges, prob[i])]++;
    int b = pp_bands_of(bands, prob[i]);
    if (b >= 1) r->band_count[b - 1]++;
  }
  return 0;
}

int pp_reference_fit(const pp_schema *s, const double *raw, size_t n, const double *prob, const pp_bands *b,
                     pp_reference **out) {
  *out = NULL;
  pp_reference *r = pp_calloc(1, sizeof *r);
  double *scratch = pp_malloc_array(n ? n : 1, sizeof *scratch);
  int rc = (!r || !scratch) ? PROP_ERR_NOMEM : 0;
  if (!rc) {
    r->n = n;
    r->nfeat = s->nfeat;
    if (!(r->in = pp_calloc(s->nfeat ? s->nfeat : 1, sizeof *r->in))) rc = PROP_ERR_NOMEM;
  }
  if (!rc) rc = fit_score(r, prob, n, b, scratch);
  for (size_t k = 0; k < s->nfeat && !rc; k++) rc = fit_input(&s->feat[k], raw, n, s->nfeat, k, scratch, &r->in[k]);
  free(scratch);
  if (rc) {
    pp_reference_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

int pp_reference_save(const pp_reference *r, pp_buf *out) {
  pp_put_u32(out, REF_VERSION);
  pp_put_u64(out, r->n);
  pp_put_u64(out, r->nscore_edges);
  pp_put_f64s(out, r->score_edges, r->nscore_edges);
  for (size_t b = 0; b <= r->nscore_edges; b++) pp_put_u64(out, r->score_count[b]);
  pp_put_u64(out, r->nbands);
  for (size_t b = 0; b < r->nbands; b++) pp_put_u64(out, r->band_count[b]);
  pp_put_u64(out, r->nfeat);
  for (size_t k = 0; k < r->nfeat; k++) {
    const pp_ref_input *ri = &r->in[k];
    pp_put_u64(out, ri->nedges);
    pp_put_f64s(out, ri->edges, ri->nedges);
    pp_put_u64(out, ri->nbins);
    for (size_t b = 0; b <= ri->nbins; b++) pp_put_u64(out, ri->count[b]);
  }
  return pp_buf_status(out);
}

/* Edges e[k] read and checked: finite and strictly increasing. */
static int load_edges(pp_rd *in, double *e, size_t k, const char *field) {
  for (size_t j = 0; j < k; j++) {
    PP_TRY(pp_get_f64(in, &e[j]));
    if (!isfinite(e[j]) || (j && !(e[j] > e[j - 1])))
      return pp_err(PROP_ERR_CORRUPT, "%s: %s edge %zu is not above the one before", in->what, field, j);
  }
  return 0;
}

/* Counts c[k] that must add up to n. */
static int load_counts(pp_rd *in, uint64_t *c, size_t k, uint64_t n, const char *field) {
  uint64_t sum = 0;
  for (size_t j = 0; j < k; j++) {
    PP_TRY(pp_get_u64(in, &c[j]));
    if (c[j] > n - sum) return pp_err(PROP_ERR_CORRUPT, "%s: %s counts exceed the %llu rows", in->what, field,
                                      (unsigned long long)n);
    sum += c[j];
  }
  return 0;
}

static int load_input(pp_rd *in, const pp_feature *f, uint64_t n, pp_ref_input *ri) {
  ri->type = f->type;
  PP_TRY(pp_get_count(in, &ri->nedges, f->type == PROP_COL_NUMERIC ? PP_REF_EDGES : 0, "input edges"));
  PP_TRY(load_edges(in, ri->edges, ri->nedges, f->name));
  PP_TRY(pp_get_count(in, &ri->nbins, f->type == PROP_COL_NUMERIC ? ri->nedges + 1 : f->ncats, "input bins"));
  if (ri->nbins != (f->type == PROP_COL_NUMERIC ? ri->nedges + 1 : f->ncats))
    return pp_err(PROP_ERR_CORRUPT, "%s: input '%s' has %zu bins, its schema another number", in->what, f->name,
                  ri->nbins);
  if (!(ri->count = pp_calloc(ri->nbins + 1, sizeof *ri->count))) return PROP_ERR_NOMEM;
  return load_counts(in, ri->count, ri->nbins + 1, n, f->name);
}

static int load_body(pp_rd *in, const pp_schema *s, size_t nbands, pp_reference *r) {
  uint32_t ver;
  PP_TRY(pp_get_u32(in, &ver));
  if (ver == 0 || ver > REF_VERSION)
    return pp_err(ver ? PROP_ERR_VERSION : PROP_ERR_CORRUPT, "%s: reference version %u (this library reads up to %u)",
                  in->what, ver, REF_VERSION);
  PP_TRY(pp_get_u64(in, &r->n));
  PP_TRY(pp_get_count(in, &r->nscore_edges, PP_REF_EDGES, "score edges"));
  PP_TRY(load_edges(in, r->score_edges, r->nscore_edges, "score"));
  PP_TRY(load_counts(in, r->score_count, r->nscore_edges + 1, r->n, "score"));
  PP_TRY(pp_get_count(in, &r->nbands, 64, "bands"));
  if (r->nbands != nbands) return pp_err(PROP_ERR_CORRUPT, "%s: %zu bands, the model %zu", in->what, r->nbands, nbands);
  PP_TRY(load_counts(in, r->band_count, r->nbands, r->n, "band"));
  PP_TRY(pp_get_count(in, &r->nfeat, s->nfeat, "inputs"));
  if (r->nfeat != s->nfeat) return pp_err(PROP_ERR_CORRUPT, "%s: %zu inputs, the schema %zu", in->what, r->nfeat, s->nfeat);
  if (!(r->in = pp_calloc(r->nfeat ? r->nfeat : 1, sizeof *r->in))) return PROP_ERR_NOMEM;
  for (size_t k = 0; k < r->nfeat; k++) PP_TRY(load_input(in, &s->feat[k], r->n, &r->in[k]));
  return 0;
}

int pp_reference_load(pp_rd *in, const pp_schema *s, size_t nbands, pp_reference **out) {
  *out = NULL;
  pp_reference *r = pp_calloc(1, sizeof *r);
  if (!r) return PROP_ERR_NOMEM;
  int rc = load_body(in, s, nbands, r);
  if (rc) {
    pp_reference_free(r);
    return rc;
  }
  *out = r;
  return 0;
}
