/* lib/encode: encoders fitted on training rows only and saved with the model.
 * Input: raw rows (n x nfeat doubles from pp_binding_rows: numeric values, category codes,
 * NaN = missing, -1 = unseen).  Output: the dense float matrix the members see (n x width,
 * row-major, finite).  Depends on common and data (schema). */
#ifndef PP_ENCODER_H
#define PP_ENCODER_H

#include <jansson.h>

#include "common/common.h"
#include "data/frame.h"

typedef enum { PP_IMPUTE_MEDIAN = 0, PP_IMPUTE_MEAN = 1, PP_IMPUTE_ZERO = 2 } pp_impute;
typedef enum { PP_CAT_ONEHOT = 0, PP_CAT_ORDINAL = 1 } pp_catenc;

typedef struct pp_encode_opts {
  int impute;            /* pp_impute, default median */
  int missing_indicator; /* add "<name>_missing" 0/1 column for numeric inputs with missing
                            values in training; default 1 */
  int standardize;       /* (x - mean) / sd after imputation; default 1 */
  int categorical;       /* pp_catenc, default one-hot */
  long max_categories;   /* one-hot keeps the most frequent; rarer ones go to the unseen bucket;
                            default 50 */
} pp_encode_opts;

void pp_encode_opts_default(pp_encode_opts *o);
/* From the recipe's "encoders" object (NULL = defaults); errors name path.field. */
int pp_encode_opts_parse(const json_t *obj, const char *path, pp_encode_opts *o);
json_t *pp_encode_opts_to_json(const pp_encode_opts *o);

typedef struct pp_encoder pp_encoder;

/* Fit on n training raw rows (row-major, schema->nfeat columns). */
int pp_encoder_fit(const pp_schema *s, const double *raw, size_t n, const pp_encode_opts *o, pp_encoder **out);
void pp_encoder_free(pp_encoder *e);
/* Number of output columns. */
size_t pp_encoder_width(const pp_encoder *e);
/* Name of output column j: "income", "income_missing", "gender=F", "gender=<other>" ... */
const char *pp_encoder_colname(const pp_encoder *e, size_t j);
/* The encoder's column names as an array (width entries, owned by e). */
const char *const *pp_encoder_colnames(const pp_encoder *e);
/* Input feature index behind output column j (to sum importances per original feature). */
size_t pp_encoder_source(const pp_encoder *e, size_t j);
/* Encode n raw rows (each `stride` doubles apart, stride >= nfeat) into out (n x width floats).
 * Never allocates; read-only on e, thread-safe.  Unseen category codes (-1, or any code outside
 * the training range) go to the unseen bucket; NaN to the imputed value / missing bucket. */
void pp_encoder_transform(const pp_encoder *e, const double *raw, size_t n, size_t stride, float *out);
int pp_encoder_save(const pp_encoder *e, pp_buf *out);
/* Validates against s (feature count and category counts). */
int pp_encoder_load(pp_rd *in, const pp_schema *s, pp_encoder **out);
#endif
