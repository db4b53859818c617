/* lib/data: frames (typed columns), the CSV reader and the mapping of a frame onto a model's
 * schema.  Depends on common only. */
#ifndef PP_FRAME_H
#define PP_FRAME_H

#include "common/common.h"

typedef struct pp_column {
  char *name;
  prop_coltype type;  /* NUMERIC, CATEGORICAL, ID or TARGET (IGNORE columns are not stored) */
  double *num;        /* NUMERIC: nrows values, NaN = missing */
  int32_t *code;      /* CATEGORICAL / TARGET: nrows indices into dict, -1 = missing */
  char **dict;        /* CATEGORICAL / TARGET: this frame's distinct labels, first-seen order */
  size_t ndict;
  pp_strmap map;      /* label -> index into dict */
  char **str;         /* ID: nrows strings (NULL = missing) */
} pp_column;

struct prop_frame {
  size_t nrows, ncols, cap_cols;
  pp_column *cols;
  size_t *rownum;     /* 1-based source data row numbers (header = row 0), or NULL: i + 1 */
  char **row_err;     /* NULL, or nrows entries: why the row could not be read (NULL = fine) */
  int *row_code;      /* NULL, or nrows prop_status codes (0 = fine) */
  char *source;       /* file name for messages, or NULL for frames built in memory */
};

/* Add an empty column of type t (arrays allocated for nrows); returns its index via *j. */
int pp_frame_add_column(prop_frame *f, const char *name, prop_coltype t, size_t *j);
/* Append label to a categorical/target column's dictionary if new; *code gets its index. */
int pp_column_intern(pp_column *c, const char *label, int32_t *code);
/* Record that row i could not be read (non-strict reads). */
int pp_frame_set_row_error(prop_frame *f, size_t i, int code, const char *msg);
/* "file.csv" or "<frame>" */
const char *pp_frame_source(const prop_frame *f);

/* Labels of the target column as 0/1: y[i] = (label == positive).  positive NULL means the
 * labels must be a subset of {"0","1"} (also "0.0"/"1.0") and "1" is positive.  A missing
 * target cell is PROP_ERR_VALUE naming the row; an absent positive label PROP_ERR_CATEGORY.
 * *y is malloc'd (nrows entries).  *pos_label gets the positive label actually used (malloc'd). */
int pp_frame_binary_column(const prop_frame *f, const char *col, const char *positive, int **y, char **pos_label);

/* ---- schema: the model's input features, fixed at training ---------------------------- */
typedef struct pp_feature {
  char *name;
  prop_coltype type;  /* PROP_COL_NUMERIC or PROP_COL_CATEGORICAL */
  char **cats;        /* CATEGORICAL: training categories, sorted by byte order */
  size_t ncats;
  pp_strmap map;      /* category -> index */
} pp_feature;

typedef struct pp_schema {
  pp_feature *feat;
  size_t nfeat;
  char *id_col;       /* may be NULL */
  char *target;
  char *positive;
  char *connected;    /* may be NULL */
  char *time_col;     /* may be NULL */
} pp_schema;

/* Build the schema from a training frame: every NUMERIC / CATEGORICAL column that is not the
 * target, id, connected, time column or ignored becomes an input, in frame order.  Columns named
 * in opt that are absent from the frame are PROP_ERR_SCHEMA naming them. */
int pp_schema_from_frame(const prop_frame *f, const prop_train_options *opt, pp_schema **out);
void pp_schema_free(pp_schema *s);
int pp_schema_save(const pp_schema *s, pp_buf *out);
int pp_schema_load(pp_rd *in, pp_schema **out);
/* Code of a label in categorical feature j: index or -1 when unseen. */
double pp_schema_code(const pp_schema *s, size_t j, const char *label);

/* A frame bound to a schema: column positions and category re-coding computed once. */
typedef struct pp_binding pp_binding;
/* Fails with PROP_ERR_SCHEMA naming the first input column missing from f, or one whose type
 * cannot serve (a categorical column where a number is needed is PROP_ERR_SCHEMA; a numeric
 * frame column for a categorical feature is accepted and matched by its printed value). */
int pp_binding_create(const pp_schema *s, const prop_frame *f, pp_binding **out);
void pp_binding_free(pp_binding *b);
/* Input rows row0 .. row0+n-1 of the frame as n x nfeat doubles (row-major, raw: numeric
 * values, category codes, NaN missing, -1 unseen).  status[i] (may be NULL) gets 0 or the row's
 * error code (frame row errors; +-Inf in a numeric cell is PROP_ERR_VALUE). */
void pp_binding_rows(const pp_binding *b, size_t row0, size_t n, double *raw, int *status);

/* ---- CSV ------------------------------------------------------------------------------- */
/* Low-level chunked reader: header handling, quotes, CRLF, BOM, NA values, column typing.
 * types[] (ncols of the file, known after open) gives each column's type; AUTO columns are
 * typed by prop_frame_read_csv from the whole file.  See csv.c. */
typedef struct pp_csv pp_csv;
int pp_csv_open(const char *path, const prop_csv_options *opt, pp_csv **out);
size_t pp_csv_ncols(const pp_csv *c);
const char *pp_csv_colname(const pp_csv *c, size_t j);
/* Set the type of every file column before reading (IGNORE columns are skipped). */
int pp_csv_set_types(pp_csv *c, const prop_coltype *types);
/* Read up to max_rows rows into a new frame (NULL at end of file). */
int pp_csv_next(pp_csv *c, size_t max_rows, prop_frame **chunk);
void pp_csv_free(pp_csv *c);
#endif
