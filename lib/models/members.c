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

int pp_balanced_weights(const float *y, size_t n, double *w_neg, double *w_pos) {
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) pos += y[i] > 0.5f;
  if (pos == 0 || pos == n)
    return pp_err(PROP_ERR_TRAIN, "the training rows hold only one class (%zu positives of %zu)", pos, n);
  *w_pos = (double)n / (2.0 * (double)pos);
  *w_neg = (double)n / (2.0 * (double)(n - pos));
  return 0;
}
