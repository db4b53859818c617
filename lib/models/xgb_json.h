/* Reading XGBoost's JSON model (xgb_json.c), private to lib/models: used by xgb.c when a model is
 * built (fit or load). */
#ifndef PP_XGB_JSON_H
#define PP_XGB_JSON_H

#include <stddef.h>

#include "common/jsonx.h"
#include "models/xgb_walk.h"

/* Checks XGBoost's JSON model text txt[len] for what XGBoost 1.7's loader and predictor use without
 * checking (see xgb.c's header): a lexical pass, then the document with jansson (one gbtree booster
 * with binary:logistic, num_feature == d, tree ids, child indices reaching each node once, split
 * features < d, no categorical splits).  PROP_ERR_CORRUPT naming `what` on failure.  On success
 * *ntrees_out gets the tree count, *root_out (may be NULL) the parsed document (json_decref it) and
 * *replaced whether NaN / Infinity tokens were replaced for jansson (their numbers are then not the
 * model's). */
int pp_xgb_check_json(const char *txt, size_t len, size_t d, size_t *ntrees_out, json_t **root_out, int *replaced,
                      const char *what);

/* The trees of our own walk from the checked document root (ntrees trees over d columns), or *out
 * NULL when the model is outside what the walk reproduces exactly (base_score other than 0.5, a
 * number whose float is ambiguous; see xgb.c, "our own walk of the trees").  Fails only on memory. */
int pp_xgb_native_from_json(const json_t *root, size_t d, size_t ntrees, xgb_native **out);

#endif
