/* The encoders: raw input rows (numeric values, category codes, NaN = missing) -> the dense,
 * finite float matrix the members see.  Everything is learnt from the training rows given to
 * pp_encoder_fit() and saved with the model.
 *
 * Output columns, feature by feature in schema order:
 *
 *  Numeric input "x":
 *    "x"          the value; a missing cell (NaN, and also +-Inf, which is never a usable number)
 *                 gets the fill learnt on the training rows' finite values: their median (the
 *                 mean of the two middle values for an even count), their mean, or 0 (impute
 *                 "zero").  A column with no finite training value gets the fill 0.
 *                 With standardize, the filled value becomes (x - mean) / sd where mean and sd
 *                 are those of the filled training column (missing training cells count as
 *                 the fill), sd the population standard deviation (divided by n, as scikit-learn's
 *                 StandardScaler).  A constant training column gets sd 1 (its mean is its value).
 *    "x_missing"  1 when the cell was missing, else 0; present only when missing_indicator is on
 *                 and the training rows had at least one missing cell in x.  Never standardised.
 *
 *  Categorical input "c", one-hot (the default):
 *    "c=<label>"  one column per kept category, in code (byte) order.  Kept: the categories that
 *                 occur in the training rows, at most max_categories of them, the most frequent
 *                 first (equal counts: the lower code wins).  A schema category that does not
 *                 occur in the training rows (possible when the encoder is fitted on a fold) is
 *                 not kept.
 *    "c=<other>"  always present: unseen codes (-1, anything that is not an integer in
 *                 0..ncats-1) and categories that were not kept.
 *    "c=<missing>" present only when the training rows had a missing label in c; a missing cell
 *                 (NaN) goes there, or to "c=<other>" when the column is absent.
 *    Exactly one column of the block is 1 in every row.
 *
 *  Categorical input "c", ordinal:
 *    "c"          the category's code 0..ncats-1 (byte order of the labels); a missing or unseen
 *                 cell is -1.  With standardize on, the column is standardised like a numeric
 *                 one: (v - mean) / sd over the training rows' values (-1 included).
 *
 * Names are made unique: when a generated name repeats an earlier one (a numeric input "x_missing"
 * beside the indicator of "x", or a category literally called "<other>"), the later column gets
 * "#2", "#3" ... appended.  Values beyond the float range are clamped to +-FLT_MAX, so every output
 * is finite.
 *
 * Payload (layout 1, little-endian):  u32 layout, u8 impute, u8 missing_indicator, u8 standardize,
 * u8 categorical, u32 max_categories, u64 nfeat, u64 width, then per feature a u8 kind and
 *   numeric (0):  u8 indicator, f64 fill, f64 mean, f64 sd
 *   one-hot (1):  u64 ncats, u8 has_missing, u64 nkept, i32 kept codes (strictly increasing)
 *   ordinal (2):  u64 ncats, f64 mean, f64 sd
 * Without standardize, mean is 0 and sd 1.  The loader checks every field against the schema. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "encode/encoder.h"

#define ENC_LAYOUT 1u
#define MAX_CATEGORIES_LIMIT 10000L

enum { K_NUM = 0, K_ONEHOT = 1, K_ORD = 2 };

typedef struct enc_feat {
  int kind;
  size_t col;           /* first output column of this feature */
  size_t ncats;         /* categorical: the schema's category count */
  /* numeric and ordinal */
  double fill, mean, sd;
  int indicator;        /* numeric: has an "_missing" column */
  /* one-hot */
  size_t nkept;
  int32_t *kept;        /* nkept codes, strictly increasing */
  int32_t *slot;        /* ncats entries: offset of the code's column in the block, or -1 (other) */
  int has_missing;      /* a "<missing>" column after "<other>" */
} enc_feat;

struct pp_encoder {
  pp_encode_opts opt;
  size_t nfeat, width;
  enc_feat *f;
  char **names;         /* width entries */
  size_t *src;          /* width entries: input feature of each column */
};

/* ---- options ------------------------------------------------------------------------------- */

static const char *const k_impute[] = {"median", "mean", "zero", NULL};
static const char *const k_catenc[] = {"onehot", "ordinal", NULL};
static const char *const k_keys[] = {"impute", "missing_indicator", "standardize", "categorical", "max_categories",
                                     NULL};

void pp_encode_opts_default(pp_encode_opts *o) {
  if (!o) return;
  o->impute = PP_IMPUTE_MEDIAN;
  o->missing_indicator = 1;
  o->standardize = 1;
  o->categorical = PP_CAT_ONEHOT;
  o->max_categories = 50;
}

int pp_encode_opts_parse(const json_t *obj, const char *path, pp_encode_opts *o) {
  if (!o) return pp_err(PROP_ERR_ARG, "pp_encode_opts_parse: NULL argument");
  const char *p = path ? path : "";
  pp_encode_opts t;
  pp_encode_opts_default(&t);
  if (obj) {
    PP_TRY(pp_json_check_keys(obj, p, k_keys));
    PP_TRY(pp_json_enum(obj, p, "impute", k_impute, t.impute, &t.impute));
    PP_TRY(pp_json_bool(obj, p, "missing_indicator", t.missing_indicator, &t.missing_indicator));
    PP_TRY(pp_json_bool(obj, p, "standardize", t.standardize, &t.standardize));
    PP_TRY(pp_json_enum(obj, p, "categorical", k_catenc, t.categorical, &t.categorical));
    PP_TRY(pp_json_int(obj, p, "max_categories", 1, MAX_CATEGORIES_LIMIT, t.max_categories, &t.max_categories));
  }
  *o = t;
  return 0;
}

json_t *pp_encode_opts_to_json(const pp_encode_opts *o) {
  pp_encode_opts d;
  if (!o) {
    pp_encode_opts_default(&d);
    o = &d;
  }
  json_t *j = json_object();
  if (!j) return NULL;
  int imp = (o->impute >= 0 && o->impute <= PP_IMPUTE_ZERO) ? o->impute : PP_IMPUTE_MEDIAN;
  int cat = (o->categorical == PP_CAT_ORDINAL) ? PP_CAT_ORDINAL : PP_CAT_ONEHOT;
  json_object_set_new(j, "impute", json_string(k_impute[imp]));
  json_object_set_new(j, "missing_indicator", json_boolean(o->missing_indicator));
  json_object_set_new(j, "standardize", json_boolean(o->standardize));
  json_object_set_new(j, "categorical", json_string(k_catenc[cat]));
  json_object_set_new(j, "max_categories", json_integer((json_int_t)o->max_categories));
  return j;
}

static int opts_valid(const pp_encode_opts *o) {
  return o->impute >= PP_IMPUTE_MEDIAN && o->impute <= PP_IMPUTE_ZERO && (o->missing_indicator == 0 ||
         o->missing_indicator == 1) && (o->standardize == 0 || o->standardize == 1) &&
         (o->categorical == PP_CAT_ONEHOT || o->categorical == PP_CAT_ORDINAL) && o->max_categories >= 1 &&
         o->max_categories <= MAX_CATEGORIES_LIMIT;
}

/* ---- the encoder object ---------------------------------------------------------------------- */

void pp_encoder_free(pp_encoder *e) {
  if (!e) return;
  if (e->f)
    for (size_t j = 0; j < e->nfeat; j++) {
      free(e->f[j].kept);
      free(e->f[j].slot);
    }
  free(e->f);
  if (e->names)
    for (size_t c = 0; c < e->width; c++) free(e->names[c]);
  free(e->names);
  free(e->src);
  free(e);
}

size_t pp_encoder_width(const pp_encoder *e) { return e ? e->width : 0; }

const char *pp_encoder_colname(const pp_encoder *e, size_t j) {
  return (e && j < e->width) ? e->names[j] : NULL;
}

const char *const *pp_encoder_colnames(const pp_encoder *e) { return e ? (const char *const *)e->names : NULL; }

/* SIZE_MAX when j is out of range. */
size_t pp_encoder_source(const pp_encoder *e, size_t j) { return (e && j < e->width) ? e->src[j] : SIZE_MAX; }

static size_t block_width(const enc_feat *f) {
  switch (f->kind) {
    case K_NUM: return 1 + (size_t)(f->indicator != 0);
    case K_ONEHOT: return f->nkept + 1 + (size_t)(f->has_missing != 0);
    default: return 1;
  }
}

/* Make names[c] unique among names[0..c]: append "#k" for the smallest free k >= 2. */
static int unique_name(pp_strmap *seen, char **name, size_t c) {
  size_t prev;
  PP_TRY(pp_strmap_put(seen, *name, c, &prev));
  if (prev == c) return 0;
  for (size_t k = 2;; k++) {
    char *alt = pp_asprintf("%s#%zu", *name, k);
    if (!alt) return PROP_ERR_NOMEM;
    if (pp_strmap_get(seen, alt, &prev)) {
      free(alt);
      continue;
    }
    int rc = pp_strmap_put(seen, alt, c, NULL);
    if (rc) {
      free(alt);
      return rc;
    }
    free(*name);
    *name = alt;
    return 0;
  }
}

/* Given every feature's fitted or loaded parameters: column offsets, the width, names, sources
 * and the one-hot slot tables. */
static int layout(pp_encoder *e, const pp_schema *s) {
  size_t w = 0;
  for (size_t j = 0; j < e->nfeat; j++) {
    e->f[j].col = w;
    w += block_width(&e->f[j]);
  }
  if (!(e->names = pp_calloc(w ? w : 1, sizeof *e->names))) return PROP_ERR_NOMEM;
  if (!(e->src = pp_calloc(w ? w : 1, sizeof *e->src))) return PROP_ERR_NOMEM;
  e->width = w; /* names[] is zeroed: pp_encoder_free copes with a partial fill */
  for (size_t j = 0; j < e->nfeat; j++) {
    enc_feat *f = &e->f[j];
    const pp_feature *sf = &s->feat[j];
    size_t c = f->col, bw = block_width(f);
    for (size_t k = 0; k < bw; k++) e->src[c + k] = j;
    if (f->kind == K_NUM) {
      if (!(e->names[c] = pp_strdup(sf->name))) return PROP_ERR_NOMEM;
      if (f->indicator && !(e->names[c + 1] = pp_asprintf("%s_missing", sf->name))) return PROP_ERR_NOMEM;
    } else if (f->kind == K_ORD) {
      if (!(e->names[c] = pp_strdup(sf->name))) return PROP_ERR_NOMEM;
    } else {
      for (size_t k = 0; k < f->nkept; k++)
        if (!(e->names[c + k] = pp_asprintf("%s=%s", sf->name, sf->cats[f->kept[k]]))) return PROP_ERR_NOMEM;
      if (!(e->names[c + f->nkept] = pp_asprintf("%s=<other>", sf->name))) return PROP_ERR_NOMEM;
      if (f->has_missing && !(e->names[c + f->nkept + 1] = pp_asprintf("%s=<missing>", sf->name)))
        return PROP_ERR_NOMEM;
      if (!(f->slot = pp_malloc_array(f->ncats ? f->ncats : 1, sizeof *f->slot))) return PROP_ERR_NOMEM;
      for (size_t k = 0; k < f->ncats; k++) f->slot[k] = -1;
      for (size_t k = 0; k < f->nkept; k++) f->slot[f->kept[k]] = (int32_t)k;
    }
  }
  pp_strmap seen;
  pp_strmap_init(&seen);
  int rc = 0;
  for (size_t c = 0; c < w && !rc; c++) rc = unique_name(&seen, &e->names[c], c);
  pp_strmap_free(&seen);
  return rc;
}

/* ---- fitting --------------------------------------------------------------------------------- */

/* Power-of-two exponent that brings |values| <= max_abs into [0, 1] when they are large enough to
 * overflow sums or squares; 0 otherwise.  Scaling by a power of two is exact. */
static int scale_exponent(double max_abs) {
  if (!(max_abs > 1e150)) return 0;
  int e;
  frexp(max_abs, &e);
  return e;
}

/* Mean and population sd of v[0..n) (all finite); constant or empty: sd 1. */
static void mean_sd(const double *v, size_t n, double *mean, double *sd) {
  *mean = 0.0;
  *sd = 1.0;
  if (n == 0) return;
  double lo = v[0], hi = v[0], amax = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
    if (fabs(v[i]) > amax) amax = fabs(v[i]);
  }
  if (lo == hi) {
    *mean = lo;
    return;
  }
  int ex = scale_exponent(amax);
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) sum += ldexp(v[i], -ex);
  double m = sum / (double)n, ss = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = ldexp(v[i], -ex) - m;
    ss += d * d;
  }
  double s = sqrt(ss / (double)n);
  m = ldexp(m, ex);
  s = ldexp(s, ex);
  if (m < lo) m = lo; /* rounding can never move the mean outside the data */
  if (m > hi) m = hi;
  *mean = m;
  *sd = (s > 0.0 && isfinite(s)) ? s : 1.0;
}

/* Fit numeric feature j; tmp has room for n doubles. */
static void fit_numeric(enc_feat *f, const pp_encode_opts *o, const double *raw, size_t n, size_t stride, size_t j,
                        double *tmp) {
  size_t m = 0;
  double amax = 0.0;
  for (size_t i = 0; i < n; i++) {
    double x = raw[i * stride + j];
    if (isfinite(x)) {
      tmp[m++] = x;
      if (fabs(x) > amax) amax = fabs(x);
    }
  }
  double fill = 0.0;
  if (m > 0 && o->impute == PP_IMPUTE_MEDIAN) {
    int ex = scale_exponent(amax);
    if (ex)
      for (size_t i = 0; i < m; i++) tmp[i] = ldexp(tmp[i], -ex);
    fill = ldexp(pp_median_inplace(tmp, m), ex);
  } else if (m > 0 && o->impute == PP_IMPUTE_MEAN) {
    double sd;
    mean_sd(tmp, m, &fill, &sd);
  }
  if (!isfinite(fill)) fill = 0.0; /* cannot happen with finite inputs; keeps the output finite */
  f->kind = K_NUM;
  f->fill = fill;
  f->indicator = o->missing_indicator && m < n;
  f->mean = 0.0;
  f->sd = 1.0;
  if (o->standardize) {
    for (size_t i = 0; i < n; i++) {
      double x = raw[i * stride + j];
      tmp[i] = isfinite(x) ? x : fill;
    }
    mean_sd(tmp, n, &f->mean, &f->sd);
  }
}

static int valid_code(double v, size_t ncats, size_t *k) {
  if (!(v >= 0.0 && v < (double)ncats) || v != floor(v)) return 0;
  *k = (size_t)v;
  return 1;
}

typedef struct cat_count {
  size_t count;
  int32_t code;
} cat_count;

static int cmp_count_desc(const void *a, const void *b) {
  const cat_count *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return (x->code > y->code) - (x->code < y->code);
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static int fit_onehot(enc_feat *f, const pp_encode_opts *o, const double *raw, size_t n, size_t stride, size_t j) {
  cat_count *cc = pp_calloc(f->ncats ? f->ncats : 1, sizeof *cc);
  if (!cc) return PROP_ERR_NOMEM;
  for (size_t k = 0; k < f->ncats; k++) cc[k].code = (int32_t)k;
  size_t nmiss = 0, k;
  for (size_t i = 0; i < n; i++) {
    double v = raw[i * stride + j];
    if (isnan(v)) nmiss++;
    else if (valid_code(v, f->ncats, &k)) cc[k].count++;
  }
  qsort(cc, f->ncats, sizeof *cc, cmp_count_desc);
  size_t nk = 0;
  while (nk < f->ncats && nk < (size_t)o->max_categories && cc[nk].count > 0) nk++;
  f->kind = K_ONEHOT;
  f->has_missing = nmiss > 0;
  f->nkept = nk;
  if (nk) {
    if (!(f->kept = pp_malloc_array(nk, sizeof *f->kept))) {
      free(cc);
      return PROP_ERR_NOMEM;
    }
    for (size_t t = 0; t < nk; t++) f->kept[t] = cc[t].code;
    qsort(f->kept, nk, sizeof *f->kept, cmp_i32);
  }
  free(cc);
  return 0;
}

static void fit_ordinal(enc_feat *f, const pp_encode_opts *o, const double *raw, size_t n, size_t stride, size_t j,
                        double *tmp) {
  f->kind = K_ORD;
  f->mean = 0.0;
  f->sd = 1.0;
  if (!o->standardize) return;
  size_t k;
  for (size_t i = 0; i < n; i++) tmp[i] = valid_code(raw[i * stride + j], f->ncats, &k) ? (double)k : -1.0;
  mean_sd(tmp, n, &f->mean, &f->sd);
}

int pp_encoder_fit(const pp_schema *s, const double *raw, size_t n, const pp_encode_opts *o, pp_encoder **out) {
  if (out) *out = NULL;
  if (!s || !o || !out || (n && !raw) || (s->nfeat && !s->feat))
    return pp_err(PROP_ERR_ARG, "pp_encoder_fit: NULL argument");
  if (!opts_valid(o))
    return pp_err(PROP_ERR_ARG, "pp_encoder_fit: invalid encoder options (impute %d, categorical %d, "
                  "max_categories %ld)", o->impute, o->categorical, o->max_categories);
  for (size_t j = 0; j < s->nfeat; j++) {
    const pp_feature *sf = &s->feat[j];
    if (sf->type != PROP_COL_NUMERIC && sf->type != PROP_COL_CATEGORICAL)
      return pp_err(PROP_ERR_ARG, "pp_encoder_fit: feature %zu has an invalid type %d", j, (int)sf->type);
    if (!sf->name || (sf->type == PROP_COL_CATEGORICAL && ((sf->ncats && !sf->cats) || sf->ncats > INT32_MAX)))
      return pp_err(PROP_ERR_ARG, "pp_encoder_fit: feature %zu of the schema is incomplete", j);
  }
  pp_encoder *e = pp_calloc(1, sizeof *e);
  if (!e) return PROP_ERR_NOMEM;
  e->opt = *o;
  double *tmp = NULL;
  int rc = 0;
  if (!(e->f = pp_calloc(s->nfeat ? s->nfeat : 1, sizeof *e->f))) rc = PROP_ERR_NOMEM;
  else e->nfeat = s->nfeat;
  if (!rc && !(tmp = pp_malloc_array(n ? n : 1, sizeof *tmp))) rc = PROP_ERR_NOMEM;
  for (size_t j = 0; j < s->nfeat && !rc; j++) {
    enc_feat *f = &e->f[j];
    const pp_feature *sf = &s->feat[j];
    if (sf->type == PROP_COL_NUMERIC) {
      fit_numeric(f, o, raw, n, s->nfeat, j, tmp);
    } else {
      f->ncats = sf->ncats;
      if (o->categorical == PP_CAT_ONEHOT) rc = fit_onehot(f, o, raw, n, s->nfeat, j);
      else fit_ordinal(f, o, raw, n, s->nfeat, j, tmp);
    }
  }
  free(tmp);
  if (!rc) rc = layout(e, s);
  if (rc) {
    pp_encoder_free(e);
    return rc;
  }
  *out = e;
  return 0;
}

/* ---- transform ------------------------------------------------------------------------------- */

static float to_float(double v) {
  if (v > (double)FLT_MAX) return FLT_MAX;
  if (v < -(double)FLT_MAX) return -FLT_MAX;
  if (v != v) return 0.0f;
  return (float)v;
}

void pp_encoder_transform(const pp_encoder *e, const double *raw, size_t n, size_t stride, float *out) {
  if (!e || !raw || !out || n == 0) return;
  if (stride < e->nfeat) { /* a broken precondition: never read past a short row; output zeros */
    memset(out, 0, n * e->width * sizeof *out);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    const double *row = raw + i * stride;
    float *o = out + i * e->width;
    for (size_t j = 0; j < e->nfeat; j++) {
      const enc_feat *f = &e->f[j];
      double v = row[j];
      float *dst = o + f->col;
      size_t k;
      if (f->kind == K_NUM) {
        int miss = !isfinite(v);
        dst[0] = to_float(((miss ? f->fill : v) - f->mean) / f->sd);
        if (f->indicator) dst[1] = miss ? 1.0f : 0.0f;
      } else if (f->kind == K_ORD) {
        double c = valid_code(v, f->ncats, &k) ? (double)k : -1.0;
        dst[0] = to_float((c - f->mean) / f->sd);
      } else {
        size_t bw = f->nkept + 1 + (size_t)(f->has_missing != 0), hot = f->nkept; /* <other> */
        for (size_t t = 0; t < bw; t++) dst[t] = 0.0f;
        if (isnan(v)) {
          if (f->has_missing) hot = f->nkept + 1;
        } else if (valid_code(v, f->ncats, &k) && f->slot[k] >= 0) {
          hot = (size_t)f->slot[k];
        }
        dst[hot] = 1.0f;
      }
    }
  }
}

/* ---- save / load ----------------------------------------------------------------------------- */

int pp_encoder_save(const pp_encoder *e, pp_buf *out) {
  if (!e || !out) return pp_err(PROP_ERR_ARG, "pp_encoder_save: NULL argument");
  pp_put_u32(out, ENC_LAYOUT);
  pp_put_u8(out, (uint8_t)e->opt.impute);
  pp_put_u8(out, (uint8_t)e->opt.missing_indicator);
  pp_put_u8(out, (uint8_t)e->opt.standardize);
  pp_put_u8(out, (uint8_t)e->opt.categorical);
  pp_put_u32(out, (uint32_t)e->opt.max_categories);
  pp_put_u64(out, (uint64_t)e->nfeat);
  pp_put_u64(out, (uint64_t)e->width);
  for (size_t j = 0; j < e->nfeat; j++) {
    const enc_feat *f = &e->f[j];
    pp_put_u8(out, (uint8_t)f->kind);
    if (f->kind == K_NUM) {
      pp_put_u8(out, (uint8_t)f->indicator);
      pp_put_f64(out, f->fill);
      pp_put_f64(out, f->mean);
      pp_put_f64(out, f->sd);
    } else if (f->kind == K_ONEHOT) {
      pp_put_u64(out, (uint64_t)f->ncats);
      pp_put_u8(out, (uint8_t)f->has_missing);
      pp_put_u64(out, (uint64_t)f->nkept);
      pp_put_i32s(out, f->kept, f->nkept);
    } else {
      pp_put_u64(out, (uint64_t)f->ncats);
      pp_put_f64(out, f->mean);
      pp_put_f64(out, f->sd);
    }
  }
  return pp_buf_status(out);
}

static const char *what_of(const pp_rd *in) { return in->what ? in->what : "encoders"; }

static int get_flag(pp_rd *in, const char *field, const char *fname, int *v) {
  uint8_t b = 0;
  PP_TRY(pp_get_u8(in, &b));
  if (b > 1)
    return pp_err(PROP_ERR_CORRUPT, "%s: encoder %s%s%s is %u, expected 0 or 1", what_of(in), fname ? fname : "",
                  fname ? ": " : "", field, (unsigned)b);
  *v = b;
  return 0;
}

/* mean and sd of a standardised column: finite, sd > 0; exactly 0 and 1 without standardize. */
static int get_scale(pp_rd *in, const pp_encode_opts *o, const char *fname, enc_feat *f) {
  PP_TRY(pp_get_f64(in, &f->mean));
  PP_TRY(pp_get_f64(in, &f->sd));
  if (!isfinite(f->mean) || !isfinite(f->sd) || !(f->sd > 0.0))
    return pp_err(PROP_ERR_CORRUPT, "%s: encoder of '%s': invalid mean %g or sd %g", what_of(in), fname, f->mean,
                  f->sd);
  if (!o->standardize && (f->mean != 0.0 || f->sd != 1.0))
    return pp_err(PROP_ERR_CORRUPT, "%s: encoder of '%s': mean %g and sd %g without standardisation", what_of(in),
                  fname, f->mean, f->sd);
  return 0;
}

static int load_feature(pp_rd *in, const pp_encode_opts *o, const pp_feature *sf, size_t j, enc_feat *f) {
  if (!sf->name || (sf->type != PROP_COL_NUMERIC && sf->type != PROP_COL_CATEGORICAL) ||
      (sf->type == PROP_COL_CATEGORICAL && sf->ncats && !sf->cats))
    return pp_err(PROP_ERR_ARG, "pp_encoder_load: feature %zu of the schema is incomplete", j);
  uint8_t kind = 0;
  PP_TRY(pp_get_u8(in, &kind));
  int want = sf->type == PROP_COL_NUMERIC ? K_NUM : (o->categorical == PP_CAT_ONEHOT ? K_ONEHOT : K_ORD);
  if (kind != want)
    return pp_err(PROP_ERR_CORRUPT, "%s: encoder of feature '%s' has kind %u, expected %d", what_of(in), sf->name,
                  (unsigned)kind, want);
  f->kind = want;
  if (want == K_NUM) {
    PP_TRY(get_flag(in, "missing indicator", sf->name, &f->indicator));
    if (f->indicator && !o->missing_indicator)
      return pp_err(PROP_ERR_CORRUPT, "%s: encoder of '%s' has a missing indicator although they are off",
                    what_of(in), sf->name);
    PP_TRY(pp_get_f64(in, &f->fill));
    if (!isfinite(f->fill) || (o->impute == PP_IMPUTE_ZERO && f->fill != 0.0))
      return pp_err(PROP_ERR_CORRUPT, "%s: encoder of '%s': invalid fill value %g", what_of(in), sf->name, f->fill);
    return get_scale(in, o, sf->name, f);
  }
  size_t ncats = 0;
  PP_TRY(pp_get_count(in, &ncats, SIZE_MAX, "category count"));
  if (ncats != sf->ncats || ncats > INT32_MAX)
    return pp_err(PROP_ERR_CORRUPT, "%s: encoder of '%s' has %zu categories, the schema %zu", what_of(in), sf->name,
                  ncats, sf->ncats);
  f->ncats = ncats;
  if (want == K_ORD) return get_scale(in, o, sf->name, f);
  PP_TRY(get_flag(in, "missing column", sf->name, &f->has_missing));
  size_t maxk = ncats < (size_t)o->max_categories ? ncats : (size_t)o->max_categories;
  PP_TRY(pp_get_count(in, &f->nkept, maxk, "kept category count"));
  PP_TRY(pp_get_i32s(in, &f->kept, f->nkept));
  for (size_t k = 0; k < f->nkept; k++)
    if (f->kept[k] < 0 || (size_t)f->kept[k] >= ncats || (k && f->kept[k] <= f->kept[k - 1]))
      return pp_err(PROP_ERR_CORRUPT, "%s: encoder of '%s': kept category codes out of range or out of order",
                    what_of(in), sf->name);
  return 0;
}

int pp_encoder_load(pp_rd *in, const pp_schema *s, pp_encoder **out) {
  if (out) *out = NULL;
  if (!in || !s || !out || (s->nfeat && !s->feat)) return pp_err(PROP_ERR_ARG, "pp_encoder_load: NULL argument");
  uint32_t lay = 0, maxc = 0;
  uint8_t imp = 0, cat = 0;
  int ind = 0, stdz = 0;
  size_t nfeat = 0, width = 0;
  PP_TRY(pp_get_u32(in, &lay));
  if (lay != ENC_LAYOUT) return pp_err(PROP_ERR_CORRUPT, "%s: unknown encoder layout %u", what_of(in), (unsigned)lay);
  PP_TRY(pp_get_u8(in, &imp));
  PP_TRY(get_flag(in, "missing_indicator", NULL, &ind));
  PP_TRY(get_flag(in, "standardize", NULL, &stdz));
  PP_TRY(pp_get_u8(in, &cat));
  PP_TRY(pp_get_u32(in, &maxc));
  pp_encode_opts o = {.impute = imp, .missing_indicator = ind, .standardize = stdz, .categorical = cat,
                      .max_categories = (long)maxc};
  if (!opts_valid(&o))
    return pp_err(PROP_ERR_CORRUPT, "%s: invalid encoder options (impute %u, categorical %u, max_categories %u)",
                  what_of(in), (unsigned)imp, (unsigned)cat, (unsigned)maxc);
  PP_TRY(pp_get_count(in, &nfeat, SIZE_MAX, "feature count"));
  if (nfeat != s->nfeat)
    return pp_err(PROP_ERR_CORRUPT, "%s: the encoders have %zu features, the schema %zu", what_of(in), nfeat,
                  s->nfeat);
  PP_TRY(pp_get_count(in, &width, SIZE_MAX, "width"));
  pp_encoder *e = pp_calloc(1, sizeof *e);
  if (!e) return PROP_ERR_NOMEM;
  e->opt = o;
  int rc = 0;
  if (!(e->f = pp_calloc(nfeat ? nfeat : 1, sizeof *e->f))) rc = PROP_ERR_NOMEM;
  else e->nfeat = nfeat; /* zeroed entries: pp_encoder_free copes with a partial load */
  for (size_t j = 0; j < nfeat && !rc; j++) rc = load_feature(in, &o, &s->feat[j], j, &e->f[j]);
  if (!rc) {
    size_t w = 0;
    for (size_t j = 0; j < nfeat; j++) w += block_width(&e->f[j]);
    if (w != width)
      rc = pp_err(PROP_ERR_CORRUPT, "%s: encoder width %zu does not match its features (%zu columns)", what_of(in),
                  width, w);
  }
  if (!rc) rc = layout(e, s);
  if (rc) {
    pp_encoder_free(e);
    return rc;
  }
  *out = e;
  return 0;
}
