/* Reading XGBoost's JSON model (xgb_json.c), private to lib/models: used by xgb.c when a model is
 * built (fit or load). */
#ifndef PP_XGB_JSON_H
#define PP_XGB_JSON_H

#include <stddef.h>

#include "models/xgb_walk.h"

/* Checks XGBoost's JSON model text txt[len] for what XGBoost 1.7's loader and predictor use without
 * checking (see xgb.c's header): a lexical pass, then the document (one gbtree booster with
 * binary:logistic, num_feature == d, tree ids, child indices reaching each node once, split features < d,
 * no categorical splits), read with jansson but for the trees' per-node arrays of numbers, which the
 * lexical pass reads itself with JSON's grammar (xgb_json.c, "the lexical pass").  PROP_ERR_CORRUPT naming
 * `what` on failure, PROP_ERR_NOMEM.  On success *ntrees_out gets the tree count and *nv_out the trees of
 * our own walk (free with pp_xgb_walk_free), or NULL when the model is outside what the walk reproduces
 * exactly (base_score other than 0.5, a NaN or Infinity token in the text, a number whose float is
 * ambiguous; see xgb.c, "our own walk of the trees").  whole: 1 reads the document whole with jansson, as
 * the reading falls back to when the lexical pass's reading does not apply (tests compare the two). */
int pp_xgb_read_json(const char *txt, size_t len, size_t d, int whole, size_t *ntrees_out, xgb_native **nv_out,
                     const char *what);

#endif
