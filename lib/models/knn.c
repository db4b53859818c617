/* The "knn" member: k nearest neighbours by Euclidean distance on the encoded features.
 *
 * fit: keeps the training rows (a stratified, seeded subsample above max_train_rows), their
 * labels and vote weights.  Nothing else is learnt.
 *
 * The model's fields are in knn_impl.h; the neighbour search of predict, with its description, is
 * in knn_predict.c.
 *
 * contrib: the sampling estimator of sampling_shap.h on the probability, over a background of
 * PP_SAMPLE_BG_ROWS of the kept training rows (each class's share that of the vote-weighted rows),
 * drawn with a fixed seed when the model is fitted or loaded: the rows are in the payload already,
 * so every payload version has contributions. */
#include "models/knn_impl.h"
#include "models/sampling_shap.h"

static const char *const k_keys[] = {"k", "weights", "class_weight", "max_train_rows", NULL};
static const char *const k_weights[] = {"uniform", "distance", NULL};
static const char *const k_cw[] = {"balanced", "none", NULL};

/* ---- parameters ------------------------------------------------------------------------------ */

static int knn_parse_params(const json_t *obj, const char *path, void **out) {
  *out = NULL;
  if (!path) path = "";
  const char *dot = *path ? "." : "";
  PP_TRY(pp_json_check_keys(obj, path, k_keys));
  knn_params p;
  memset(&p, 0, sizeof p);
  PP_TRY(pp_json_int(obj, path, "k", 1, KNN_K_MAX, 50, &p.k));
  PP_TRY(pp_json_enum(obj, path, "weights", k_weights, W_UNIFORM, &p.weights));
  PP_TRY(pp_json_enum(obj, path, "class_weight", k_cw, CW_FOLLOW, &p.class_weight));
  PP_TRY(pp_json_int(obj, path, "max_train_rows", 0, 1000000000L, 0, &p.max_train_rows));
  if (p.max_train_rows > 0 && p.max_train_rows < 10)
    return pp_err(PROP_ERR_RECIPE, "%s%smax_train_rows: must be 0 (no cap) or at least 10, got %ld", path, dot,
                  p.max_train_rows);
  knn_params *q = pp_malloc(sizeof *q);
  if (!q) return PROP_ERR_NOMEM;
  *q = p;
  *out = q;
  return 0;
}

static json_t *knn_params_to_json(const void *params) {
  const knn_params *p = params;
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "k", json_integer(p->k));
  json_object_set_new(o, "weights", json_string(k_weights[p->weights]));
  json_object_set_new(o, "class_weight",
                      p->class_weight == CW_FOLLOW ? json_null() : json_string(k_cw[p->class_weight]));
  json_object_set_new(o, "max_train_rows", json_integer(p->max_train_rows));
  return o;
}

static void knn_free_params(void *params) { free(params); }

/* ---- model ------------------------------------------------------------------------------------- */

static void knn_model_free(knn_model *m) {
  if (!m) return;
  free(m->A);
  free(m->pos);
  free(m->sw);
  free(m->vote);
  free(m->sqy);
  free(m->bstart);
  free(m->blen);
  free(m->dcol);
  free(m->Ad);
  free(m->code);
  free(m->At);
  free(m->Adt);
  free(m->code8p);
  free(m->code16p);
  free(m->bg);
  free(m);
}

/* Column block [t, e) of A (binary columns whose ones sum to n) is one-hot when every row holds
 * exactly one 1 in it. */
static int block_is_onehot(const knn_model *m, size_t t, size_t e) {
  const size_t w = m->d + 1;
  for (size_t j = 0; j < m->n; j++) {
    const float *a = m->A + j * w;
    size_t c = 0;
    for (size_t u = t; u < e; u++) c += a[u] == -2.0f;
    if (c != 1) return 0;
  }
  return 1;
}

/* One-hot blocks, found from the training values alone (so a loaded model finds the same ones):
 * maximal runs are not needed, only groups [t, e) of consecutive columns whose values are all
 * exactly 0 or 1 (A holds 0 or -2) with exactly one 1 per row.  Column sums: a group of binary
 * columns is one-hot iff its ones sum to n and no row holds two of them; for each start t the
 * only candidate end is the smallest e where the sum reaches n (two pointers), and a failed
 * candidate moves t on by one.  The row check is capped at 4 n d reads in all.  Fills nb,
 * bstart, blen, dd, dcol, Ad and code (nothing when no block is found). */
static int detect_blocks(knn_model *m) {
  const size_t n = m->n, d = m->d, w = d + 1;
  size_t *ones = pp_calloc(d, sizeof *ones), *bs = pp_malloc_array(d, sizeof *bs), *bl = pp_malloc_array(d, sizeof *bl);
  unsigned char *bin = pp_malloc(d);
  int rc = 0;
  if (!ones || !bs || !bl || !bin) {
    rc = PROP_ERR_NOMEM;
    goto out;
  }
  memset(bin, 1, d);
  for (size_t j = 0; j < n; j++) {
    const float *a = m->A + j * w;
    for (size_t t = 0; t < d; t++) {
      ones[t] += a[t] == -2.0f;
      bin[t] &= (unsigned char)(a[t] == -2.0f || a[t] == 0.0f);
    }
  }
  size_t nb = 0, inblk = 0, budget = 4 * n * d, sum = 0, e = 0;
  for (size_t t = 0; t < d && nb < 65535;) {
    if (!bin[t]) {
      t++;
      e = t;
      sum = 0;
      continue;
    }
    while (e < d && bin[e] && sum < n && e - t < 65536) sum += ones[e++];
    if (sum == n && n * (e - t) <= budget) {
      budget -= n * (e - t);
      if (block_is_onehot(m, t, e)) {
        bs[nb] = t;
        bl[nb++] = e - t;
        inblk += e - t;
        t = e;
        sum = 0;
        continue;
      }
    }
    sum -= ones[t++];
    if (e < t) {
      e = t;
      sum = 0;
    }
  }
  if (nb == 0) goto out;
  const size_t dd = d - inblk, wr = dd + 1;
  m->dcol = pp_malloc_array(dd ? dd : 1, sizeof *m->dcol);
  m->Ad = pp_malloc_array(n, wr * sizeof(float));
  m->code = pp_malloc_array(nb, n * sizeof(uint16_t));
  m->bstart = pp_malloc_array(nb, sizeof *m->bstart);
  m->blen = pp_malloc_array(nb, sizeof *m->blen);
  if (!m->dcol || !m->Ad || !m->code || !m->bstart || !m->blen) {
    rc = PROP_ERR_NOMEM;
    goto out;
  }
  memcpy(m->bstart, bs, nb * sizeof *bs);
  memcpy(m->blen, bl, nb * sizeof *bl);
  for (size_t b = 0, t = 0, i = 0; t < d; t++) {
    if (b < nb && t == bs[b]) {
      t += bl[b++] - 1;
      continue;
    }
    m->dcol[i++] = t;
  }
  for (size_t j = 0; j < n; j++) {
    const float *a = m->A + j * w;
    float *r = m->Ad + j * wr;
    for (size_t i = 0; i < dd; i++) r[i] = a[m->dcol[i]];
    r[dd] = a[d];
    for (size_t b = 0; b < nb; b++) {
      size_t c = 0;
      while (a[bs[b] + c] != -2.0f) c++;
      m->code[b * n + j] = (uint16_t)c;
    }
  }
  m->nb = nb;
  m->dd = dd;
out:
  free(ones);
  free(bs);
  free(bl);
  free(bin);
  return rc;
}

/* Columns [0, w) of the n rows of M (row stride w) into T in panels of KNN_PANEL rows (np / KNN_PANEL
 * panels of w x KNN_PANEL floats, see knn_model.At). */
static float *transpose_rows(const float *M, size_t n, size_t w, size_t np) {
  float *T = pp_malloc_array(w, np * sizeof(float));
  if (!T) return NULL;
  for (size_t p = 0; p < np; p += KNN_PANEL)
    for (size_t t = 0; t < w; t++) {
      float *r = T + p * w + t * KNN_PANEL;
      for (size_t j = p; j < p + KNN_PANEL; j++) r[j - p] = j < n ? M[j * w + t] : t + 1 == w ? INFINITY : 0.0f;
    }
  return T;
}

static int build_transposed(knn_model *m) {
  m->np = (m->n + KNN_PANEL - 1) / KNN_PANEL * KNN_PANEL;
  if (!(m->At = transpose_rows(m->A, m->n, m->d + 1, m->np))) return PROP_ERR_NOMEM;
  if (m->nb && !(m->Adt = transpose_rows(m->Ad, m->n, m->dd + 1, m->np))) return PROP_ERR_NOMEM;
  if (m->nb) { /* the fused kernel's codes */
    int bytes = m->nb <= 255;
    for (size_t b = 0; b < m->nb; b++) bytes &= m->blen[b] <= 256;
    if (bytes) {
      if (!(m->code8p = pp_calloc(m->nb, m->np))) return PROP_ERR_NOMEM;
      for (size_t b = 0; b < m->nb; b++)
        for (size_t j = 0; j < m->n; j++) m->code8p[b * m->np + j] = (uint8_t)m->code[b * m->n + j];
    } else {
      if (!(m->code16p = pp_calloc(m->nb, m->np * sizeof(uint16_t)))) return PROP_ERR_NOMEM;
      for (size_t b = 0; b < m->nb; b++) memcpy(m->code16p + b * m->np, m->code + b * m->n, m->n * sizeof(uint16_t));
    }
  }
  return 0;
}

/* The background rows of the contributions, from the kept rows (row j is -A[j] / 2, exactly). */
static int draw_background(knn_model *m) {
  const size_t n = m->n, d = m->d, w = d + 1;
  float *y = pp_malloc_array(n, sizeof *y);
  if (!y) return PROP_ERR_NOMEM;
  size_t npos = 0, idx[PP_SAMPLE_BG_ROWS];
  for (size_t j = 0; j < n; j++) npos += (y[j] = m->pos[j] ? 1.0f : 0.0f) > 0.5f;
  size_t k = n;
  if (npos > 0 && npos < n) k = pp_sample_background(y, n, npos, m->w_neg, m->w_pos, idx);
  else /* a crafted payload of one class: the first rows */
    for (size_t j = 0; j < PP_SAMPLE_BG_ROWS && j < n; j++) idx[j] = j;
  if (k > PP_SAMPLE_BG_ROWS) k = PP_SAMPLE_BG_ROWS;
  free(y);
  m->bg = pp_malloc_array(k, d * sizeof *m->bg);
  if (!m->bg) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < k; i++)
    for (size_t t = 0; t < d; t++) m->bg[i * d + t] = -0.5f * m->A[idx[i] * w + t];
  m->nbg = k;
  return 0;
}

/* Derived state from A, pos, sw and the class weights. */
static int model_finish(knn_model *m) {
  const size_t n = m->n, d = m->d, w = d + 1;
  m->vote = pp_malloc_array(n, sizeof *m->vote);
  m->sqy = pp_malloc_array(n, sizeof *m->sqy);
  if (!m->vote || !m->sqy) return PROP_ERR_NOMEM;
  double mx = 0;
  for (size_t j = 0; j < n; j++) {
    double v = m->pos[j] ? m->w_pos : m->w_neg;
    m->vote[j] = m->sw ? v * (double)m->sw[j] : v;
    m->sqy[j] = m->A[j * w + d];
    if ((double)m->A[j * w + d] > mx) mx = m->A[j * w + d];
  }
  m->sq_max = mx * (1.0 + 1e-6);
  m->kk = m->k < n ? m->k : n;
  m->kc = m->kk + 8 < n ? m->kk + 8 : n; /* 8 spare candidates for the exactness check */
  m->kmax = m->kc + m->kc / 4;
  m->bc = 4 * m->kc > m->kmax + 64 ? 4 * m->kc : m->kmax + 64; /* room for a panel of the fused kernel */
  m->dd = d;
  PP_TRY(detect_blocks(m));
  PP_TRY(draw_background(m));
  return build_transposed(m);
}

/* Row j of A from a feature row y. */
static void fill_row(float *a, const float *y, size_t d) {
  double s = 0;
  for (size_t t = 0; t < d; t++) {
    a[t] = -2.0f * y[t];
    s += (double)y[t] * (double)y[t];
  }
  a[d] = (float)s;
}

/* ---- fit ----------------------------------------------------------------------------------------- */

static int knn_fit(const void *params, const pp_dataset *train, const pp_dataset *valid, const pp_ctx *ctx,
                   void **model) {
  (void)valid;
  *model = NULL;
  knn_params dflt;
  const void *pv;
  PP_TRY(pp_member_params(params, knn_parse_params, &dflt, sizeof dflt, &pv));
  const knn_params *p = pv;
  if (!train || !train->X || !train->y || train->d == 0 || train->n == 0)
    return pp_err(PROP_ERR_ARG, "knn: no training data");
  const size_t N = train->n, d = train->d;
  if (N >= UINT32_MAX) return pp_err(PROP_ERR_TRAIN, "knn: %zu training rows exceed the limit of 2^32 - 1", N);
  if (d > ((size_t)1 << 24)) return pp_err(PROP_ERR_TRAIN, "knn: %zu encoded columns are too many", d);
  size_t npos_all = 0;
  for (size_t i = 0; i < N; i++) npos_all += train->y[i] > 0.5f;
  if (npos_all == 0 || npos_all == N)
    return pp_err(PROP_ERR_TRAIN, "knn: the training rows hold only one class (%zu positives of %zu)", npos_all, N);
  PP_TRY(pp_progress(ctx, "fit:knn", 0, 1));

  size_t cap = p->max_train_rows > 0 ? (size_t)p->max_train_rows : 0;
  int capped = cap && N > cap;
  size_t n = capped ? cap : N;
  size_t *idx = pp_malloc_array(n, sizeof *idx);
  knn_model *m = pp_calloc(1, sizeof *m);
  int rc = 0;
  if (!idx || !m) {
    rc = PROP_ERR_NOMEM;
    goto out;
  }
  pp_rng rng;
  pp_rng_seed(&rng, ctx ? ctx->seed : 0);
  n = pp_stratified_cap(train->y, N, npos_all, cap, &rng, idx);
  if (capped) pp_log_row_cap(ctx, "knn", N, n); /* once per training, not once per fold */
  m->n = n;
  m->d = d;
  m->k = (size_t)p->k;
  m->weights = p->weights;
  m->rows_in = N;
  m->max_rows = cap;
  m->capped = capped;
  m->A = pp_malloc_array(n, (d + 1) * sizeof(float));
  m->pos = pp_malloc(n);
  if (train->w) m->sw = pp_malloc_array(n, sizeof(float));
  if (!m->A || !m->pos || (train->w && !m->sw)) {
    rc = PROP_ERR_NOMEM;
    goto out;
  }
  size_t npos = 0;
  for (size_t r = 0; r < n; r++) {
    size_t i = idx[r];
    const float *x = train->X + i * d;
    for (size_t t = 0; t < d; t++)
      if (!(fabsf(x[t]) <= (float)KNN_VALUE_MAX)) {
        const char *col = train->colnames && train->colnames[t] ? train->colnames[t] : "?";
        rc = pp_err(PROP_ERR_VALUE, "knn: training row %zu, column %zu (%s): value %g is not finite or above %g in "
                    "magnitude", i, t, col, (double)x[t], KNN_VALUE_MAX);
        goto out;
      }
    fill_row(m->A + r * (d + 1), x, d);
    m->pos[r] = train->y[i] > 0.5f;
    npos += m->pos[r];
    if (m->sw) {
      float w = train->w[i];
      if (!(w > 0) || !isfinite(w)) {
        rc = pp_err(PROP_ERR_VALUE, "knn: sample weight of row %zu must be > 0, got %g", i, (double)w);
        goto out;
      }
      m->sw[r] = w;
    }
  }
  int cw = p->class_weight;
  if (cw == CW_FOLLOW) cw = train->imbalance == PP_IMB_WEIGHTS ? CW_BALANCED : CW_NONE;
  m->class_weight = cw;
  pp_class_weights(n, npos, cw == CW_BALANCED, &m->w_neg, &m->w_pos); /* on the rows kept */
  if ((rc = model_finish(m))) goto out;
  if (m->kk < m->k)
    pp_log(ctx, PROP_LOG_WARN, "knn: k = %zu but only %zu training rows; using k = %zu", m->k, n, m->kk);
  rc = pp_progress(ctx, "fit:knn", 1, 1);

out:
  free(idx);
  if (rc) {
    knn_model_free(m);
    return rc;
  }
  *model = m;
  return 0;
}

/* ---- save / load ----------------------------------------------------------------------------------- */

static int knn_save(const void *model, pp_buf *b) {
  const knn_model *m = model;
  const size_t n = m->n, d = m->d, w = d + 1;
  pp_put_u32(b, KNN_FORMAT_VERSION);
  pp_put_u64(b, d);
  pp_put_u64(b, m->k);
  pp_put_u8(b, (uint8_t)m->weights);
  pp_put_u8(b, (uint8_t)m->class_weight);
  pp_put_u8(b, (uint8_t)((m->capped ? 1 : 0) | (m->sw ? 2 : 0)));
  pp_put_f64(b, m->w_neg);
  pp_put_f64(b, m->w_pos);
  pp_put_u64(b, m->rows_in);
  pp_put_u64(b, m->max_rows);
  pp_put_u64(b, n);
  for (size_t j = 0; j < n; j++)
    for (size_t t = 0; t < d; t++) pp_put_f32(b, -0.5f * m->A[j * w + t]); /* exact */
  for (size_t j = 0; j < n; j++) pp_put_f32(b, m->pos[j] ? 1.0f : 0.0f);
  if (m->sw) pp_put_f32s(b, m->sw, n);
  return pp_buf_status(b);
}

static int knn_load(pp_rd *in, size_t d, void **out) {
  *out = NULL;
  const char *what = in->what ? in->what : "knn";
  uint32_t ver;
  uint64_t k, rows_in, max_rows;
  uint8_t weights, cw, flags;
  double w_neg, w_pos;
  PP_TRY(pp_member_get_version(in, what, "knn", KNN_FORMAT_VERSION, &ver));
  PP_TRY(pp_member_get_width(in, what, "knn model", d, (size_t)1 << 24));
  PP_TRY(pp_get_u64(in, &k));
  PP_TRY(pp_get_u8(in, &weights));
  PP_TRY(pp_get_u8(in, &cw));
  PP_TRY(pp_get_u8(in, &flags));
  if (k < 1 || k > KNN_K_MAX || weights > W_DISTANCE || cw > CW_NONE || flags > 3)
    return pp_err(PROP_ERR_CORRUPT, "%s: knn settings out of range (k %llu, weights %u, class_weight %u, flags %u)",
                  what, (unsigned long long)k, weights, cw, flags);
  PP_TRY(pp_get_f64(in, &w_neg));
  PP_TRY(pp_get_f64(in, &w_pos));
  if (!(w_neg > 0) || !(w_pos > 0) || !isfinite(w_neg) || !isfinite(w_pos))
    return pp_err(PROP_ERR_CORRUPT, "%s: knn class weights are not finite and positive", what);
  PP_TRY(pp_get_u64(in, &rows_in));
  PP_TRY(pp_get_u64(in, &max_rows));
  int has_sw = (flags & 2) != 0;
  size_t left = in->pos <= in->len ? in->len - in->pos : 0, n;
  size_t per_row = 4 * d + 4 + (has_sw ? 4 : 0);
  PP_TRY(pp_get_count(in, &n, (left >= 8 ? left - 8 : 0) / per_row, "n_train"));
  if (n == 0 || n >= UINT32_MAX || rows_in < n || ((flags & 1) && (max_rows == 0 || max_rows < n)))
    return pp_err(PROP_ERR_CORRUPT, "%s: inconsistent knn row counts (%zu kept, %llu available, cap %llu)", what, n,
                  (unsigned long long)rows_in, (unsigned long long)max_rows);
  knn_model *m = pp_calloc(1, sizeof *m);
  if (!m) return PROP_ERR_NOMEM;
  m->n = n;
  m->d = d;
  m->k = (size_t)k;
  m->weights = weights;
  m->class_weight = cw;
  m->w_neg = w_neg;
  m->w_pos = w_pos;
  m->rows_in = (size_t)rows_in;
  m->max_rows = (size_t)max_rows;
  m->capped = flags & 1;
  int rc = 0;
  const size_t w = d + 1;
  m->A = pp_malloc_array(n, w * sizeof(float));
  m->pos = pp_malloc(n);
  if (has_sw) m->sw = pp_malloc_array(n, sizeof(float));
  if (!m->A || !m->pos || (has_sw && !m->sw)) rc = PROP_ERR_NOMEM;
  float *row = rc ? NULL : pp_malloc_array(d, sizeof(float));
  if (!rc && !row) rc = PROP_ERR_NOMEM;
  for (size_t j = 0; !rc && j < n; j++) {
    for (size_t t = 0; !rc && t < d; t++) {
      rc = pp_get_f32(in, &row[t]);
      if (!rc && !(fabsf(row[t]) <= (float)KNN_VALUE_MAX))
        rc = pp_err(PROP_ERR_CORRUPT, "%s: knn training row %zu has a value out of range", what, j);
    }
    if (!rc) fill_row(m->A + j * w, row, d);
  }
  free(row);
  for (size_t j = 0; !rc && j < n; j++) {
    float yv;
    rc = pp_get_f32(in, &yv);
    if (!rc && yv != 0.0f && yv != 1.0f) rc = pp_err(PROP_ERR_CORRUPT, "%s: knn label %zu is not 0 or 1", what, j);
    if (!rc) m->pos[j] = yv == 1.0f;
  }
  for (size_t j = 0; !rc && has_sw && j < n; j++) {
    rc = pp_get_f32(in, &m->sw[j]);
    if (!rc && (!(m->sw[j] > 0) || !isfinite(m->sw[j])))
      rc = pp_err(PROP_ERR_CORRUPT, "%s: knn sample weight %zu is not finite and positive", what, j);
  }
  if (!rc) rc = model_finish(m);
  if (rc) {
    knn_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

static void knn_free_model(void *model) { knn_model_free(model); }

/* The estimator's view of the model. */
static pp_sample_model knn_sampler(const knn_model *m) {
  pp_sample_model sm = {m, pp_knn_predict, pp_knn_scratch_bytes, m->bg, m->nbg, m->d};
  return sm;
}

static size_t knn_contrib_scratch(const void *model, size_t n) {
  (void)n;
  pp_sample_model sm = knn_sampler(model);
  return pp_sample_scratch(&sm, ((const knn_model *)model)->d);
}

static int knn_contrib(const void *model, const float *X, size_t n, const uint32_t *group, size_t ngroups,
                       double *phi, double *base, void *scratch) {
  pp_sample_model sm = knn_sampler(model);
  return pp_sample_contrib(&sm, X, n, group, ngroups, phi, base, scratch);
}

static json_t *knn_info(const void *model) {
  const knn_model *m = model;
  json_t *o = json_object();
  if (!o) return NULL;
  size_t bytes = m->n * m->d * 4 + m->n * (m->sw ? 8 : 4); /* training payload of the model file */
  json_object_set_new(o, "k", json_integer((json_int_t)m->k));
  json_object_set_new(o, "k_used", json_integer((json_int_t)m->kk));
  json_object_set_new(o, "weights", json_string(k_weights[m->weights]));
  json_object_set_new(o, "class_weight", json_string(k_cw[m->class_weight]));
  json_object_set_new(o, "rows_used", json_integer((json_int_t)m->n));
  json_object_set_new(o, "rows_available", json_integer((json_int_t)m->rows_in));
  json_object_set_new(o, "max_train_rows", json_integer((json_int_t)m->max_rows));
  json_object_set_new(o, "cap_applied", json_boolean(m->capped));
  json_object_set_new(o, "stored_bytes", json_integer((json_int_t)bytes));
  return o;
}

const pp_member_ops pp_knn_ops = {
    .name = "knn",
    .parse_params = knn_parse_params,
    .params_to_json = knn_params_to_json,
    .free_params = knn_free_params,
    .fit = knn_fit,
    .scratch_bytes = pp_knn_scratch_bytes,
    .predict = pp_knn_predict,
    .save = knn_save,
    .load = knn_load,
    .free_model = knn_free_model,
    .importance = NULL,
    .info = knn_info,
    .contrib_space = PP_SPACE_PROB,
    .contrib_scratch = knn_contrib_scratch,
    .contrib = knn_contrib,
};
