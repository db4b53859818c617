#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/member.h"

const pp_member_ops *const pp_member_all[] = {&pp_xgb_ops,  &pp_svc_ops, &pp_tree_ops, &pp_forest_ops,
                                              &pp_knn_ops, &pp_logistic_ops, NULL};

const pp_member_ops *pp_member_find(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; pp_member_all[i]; i++)
    if (strcmp(pp_member_all[i]->name, name) == 0) return pp_member_all[i];
  return NULL;
}

void pp_class_weights(size_t n, size_t npos, int balanced, double *w_neg, double *w_pos) {
  *w_neg = *w_pos = 1.0;
  if (!balanced) return;
  *w_pos = (double)n / (2.0 * (double)npos);
  *w_neg = (double)n / (2.0 * (double)(n - npos));
}

int pp_balanced_weights(const float *y, size_t n, double *w_neg, double *w_pos) {
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) pos += y[i] > 0.5f;
  if (pos == 0 || pos == n)
    return pp_err(PROP_ERR_TRAIN, "the training rows hold only one class (%zu positives of %zu)", pos, n);
  pp_class_weights(n, pos, 1, w_neg, w_pos);
  return 0;
}

void pp_log_row_cap(const pp_ctx *ctx, const char *name, size_t N, size_t n) {
  int round = ctx ? ctx->fit_round : 0;
  pp_log(ctx, round == 0 || round == 1 ? PROP_LOG_INFO : PROP_LOG_DEBUG,
         "%s: %zu training rows above max_train_rows; %s a stratified sample of %zu rows", name, N,
         round == 0 ? "using" : "each fit of this training (every fold, the final refit) uses", n);
}

size_t pp_stratified_cap(const float *y, size_t n, size_t npos, size_t cap, pp_rng *rng, size_t *idx) {
  return pp_stratified_draw(y, n, npos, cap, (double)npos, (double)n, rng, idx);
}

size_t pp_stratified_draw(const float *y, size_t n, size_t npos, size_t cap, double pos_mass, double mass, pp_rng *rng,
                          size_t *idx) {
  if (!cap || n <= cap) {
    for (size_t i = 0; i < n; i++) idx[i] = i;
    return n;
  }
  size_t nneg = n - npos;
  size_t kpos = (size_t)floor((double)cap * pos_mass / mass + 0.5);
  if (kpos < 1) kpos = 1;
  if (kpos > npos) kpos = npos;
  size_t kneg = cap - kpos;
  if (kneg < 1) {
    kneg = 1;
    kpos = cap - 1;
  }
  if (kneg > nneg) {
    kneg = nneg;
    kpos = cap - kneg;
  }
  /* selection sampling (Knuth's algorithm S) within each class keeps the original order */
  size_t need[2] = {kneg, kpos}, left[2] = {nneg, npos}, m = 0;
  for (size_t i = 0; i < n; i++) {
    int c = y[i] > 0.5f;
    if (need[c] && pp_rng_below(rng, left[c]) < need[c]) {
      idx[m++] = i;
      need[c]--;
    }
    left[c]--;
  }
  return m;
}

int pp_member_params(const void *params, int (*parse)(const json_t *, const char *, void **), void *dflt,
                     size_t size, const void **out) {
  *out = params;
  if (params) return 0;
  void *q = NULL;
  PP_TRY(parse(NULL, "", &q));
  memcpy(dflt, q, size);
  free(q);
  *out = dflt;
  return 0;
}

int pp_member_get_version(pp_rd *in, const char *what, const char *family, uint32_t newest, uint32_t *ver) {
  PP_TRY(pp_get_u32(in, ver));
  if (*ver == 0) return pp_err(PROP_ERR_CORRUPT, "%s: invalid %s payload version 0", what, family);
  if (*ver > newest)
    return pp_err(PROP_ERR_VERSION, "%s: %s payload version %u is newer than this library (%u)", what, family, *ver,
                  newest);
  return 0;
}

int pp_member_get_width(pp_rd *in, const char *what, const char *noun, size_t d, size_t max_d) {
  uint64_t dd;
  PP_TRY(pp_get_u64(in, &dd));
  if (dd != d || d == 0 || d > max_d)
    return pp_err(PROP_ERR_CORRUPT, "%s: %s has %llu inputs, the encoder gives %zu", what, noun,
                  (unsigned long long)dd, d);
  return 0;
}

size_t pp_member_no_scratch(const void *model, size_t n) {
  (void)model;
  (void)n;
  return 0;
}
