/* lib/models/xgb.c, internal: which of its prediction paths a call takes, for the tests (and
 * benchmarks) that compare them.  Not part of the member interface; predict uses PP_XGB_PATH_AUTO. */
#ifndef PP_XGB_INTERNAL_H
#define PP_XGB_INTERNAL_H

#include <stddef.h>

enum {
  PP_XGB_PATH_AUTO = 0,    /* what predict does */
  PP_XGB_PATH_BACKEND = 1, /* XGBoost's own XGBoosterPredictFromDense */
  PP_XGB_PATH_ROWS = 2,    /* our walk, one row at a time over the nodes (predict's path for few rows) */
  PP_XGB_PATH_SCALAR = 3,  /* our walk over complete trees, rows in lanes, portable C */
  PP_XGB_PATH_SIMD = 4     /* the same walk with AVX-512 (x86-64 CPUs that have it) */
};

/* Bit (1 << path) set for each path the xgboost member model can take on this CPU (BACKEND always;
 * the walks only when the model passed the checks of xgb.c's "our own walk of the trees"). */
unsigned pp_xgb_paths(const void *model);

/* The member's predict through the given path; PROP_ERR_ARG when the path is not available. */
int pp_xgb_predict_path(const void *model, const float *X, size_t n, double *out, int nthread, int path);

/* XGBoost's own contributions (XGBoosterPredictFromDMatrix, pred_contribs) of n rows of X into
 * out[n x (d + 1)]: d columns then the bias, on the margin.  For the tests that hold the member's
 * own TreeSHAP to them; the member never calls it. */
int pp_xgb_backend_contribs(const void *model, const float *X, size_t n, double *out);

#endif
