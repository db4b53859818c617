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
  /* column name -> index, so that finding a column (and refusing a duplicate name when a column
   * is added) costs O(1), not a scan: frames of 200,000 columns are built column by column.  An
   * entry may be stale (a column added and then taken back on failure): prop_frame_find checks
   * the column at the index.  Holds the first column of a name when the CSV reader, which checks
   * names itself, adds a duplicate. */
  pp_strmap colmap;
  size_t *rownum;     /* 1-based source data row numbers (header = row 0), or NULL: i + 1 */
  char **row_err;     /* NULL, or nrows entries: why the row could not be read (NULL = fine) */
  int *row_code;      /* NULL, or nrows prop_status codes (0 = fine) */
  char *source;       /* file name for messages, or NULL for frames built in memory */
  char **dropped;     /* names of the columns the CSV reader left out (declared PROP_COL_IGNORE) */
  size_t ndropped, cap_dropped;
  pp_strmap dropmap;  /* the dropped names (values unused) */
};
/* Record that the reader left column `name` out (training then accepts it as an ignored name). */
int pp_frame_add_dropped(prop_frame *f, const char *name);
/* Was column `name` left out by the reader? */
int pp_frame_was_dropped(const prop_frame *f, const char *name);

/* Add an empty column of type t (arrays allocated for nrows); returns its index via *j. */
int pp_frame_add_column(prop_frame *f, const char *name, prop_coltype t, size_t *j);
/* Append label to a categorical/target column's dictionary if new; *code gets its index. */
int pp_column_intern(pp_column *c, const char *label, int32_t *code);
/* A new frame (*out) holding rows idx[0..n) of f, in that order: all columns, the same dictionaries (so the
 * same category codes), the same source, source row numbers and row read errors. */
int pp_frame_subset(const prop_frame *f, const size_t *idx, size_t n, prop_frame **out);
/* Record that row i could not be read (non-strict reads). */
int pp_frame_set_row_error(prop_frame *f, size_t i, int code, const char *msg);
/* "file.csv" or "<frame>" */
const char *pp_frame_source(const prop_frame *f);
/* The first row the reader could not read, as a failure (its status and a message that names the
 * file and row once: the reader's own messages start with them); 0 when every row is fine. */
int pp_frame_first_row_error(const prop_frame *f);

/* Labels of the target column as 0/1: y[i] = (label == positive).  positive NULL means the
 * labels must be a subset of {"0","1"} (also "0.0"/"1.0") and "1" is positive.  A missing
 * target cell is PROP_ERR_VALUE naming the row.
 * Matching: a label equals positive (or negative) when the strings are equal or both read as the
 * same finite number ("1" and "1.0").  With positive given:
 *   - negative NULL (training): every other label is 0, and positive must occur (categorical
 *     columns: else PROP_ERR_CATEGORY listing the labels); with neg_label asked for, the other
 *     labels must be one (the two-label rule of training and prop_frame_binary_values: a third is
 *     PROP_ERR_CATEGORY naming file, row, column and label, and the row of the negative);
 *     without it (evaluating under a model file older than the negative label) every other
 *     label reads as 0;
 *   - negative given (evaluation under a model that learnt one negative label): every label must
 *     be one of the two, else PROP_ERR_CATEGORY naming file, row, column and label; rows may all
 *     be negative.
 * With positive NULL negative is ignored; a label that is not 0/1 is PROP_ERR_CATEGORY naming it.
 * Numeric columns: positive (and negative) must read as finite numbers (else PROP_ERR_CATEGORY).
 * An id column is PROP_ERR_SCHEMA.
 * *y is malloc'd (nrows entries).  *pos_label gets the positive label used (malloc'd): positive
 * itself, or "1".  neg_label (may be NULL) gets the one label of the rows read as 0 (malloc'd;
 * numbers as "%.17g"), or NULL when there are none. */
int pp_frame_binary_column(const prop_frame *f, const char *col, const char *positive, const char *negative, int **y,
                           char **pos_label, char **neg_label);

/* ---- time columns (period.c) ------------------------------------------------------------ */
/* The periods of time column col, one per row: key[i] (nrows entries, may be NULL) orders them (the
 * integer itself; year x 100 + month for YYYYMM, YYYY-MM and dates, a date read as its month);
 * *format (may be NULL) gets the column's prop_period_format.  Cells: an integer (a whole number in
 * a numeric column, or text reading as one), YYYY-MM or YYYY-MM-DD, one format per column; integers
 * that are all six digits with a month 01..12 are PROP_PERIOD_YYYYMM.  PROP_ERR_SCHEMA when the
 * column is absent; PROP_ERR_VALUE naming file, row and column for a missing cell, one that is no
 * period, or one of another format than the column's first row (named too). */
int pp_frame_periods(const prop_frame *f, const char *col, double *key, int *format);
/* The name of a period in outputs: "2026-06" for the month formats, the integer ("6") otherwise;
 * into buf of n bytes (24 are enough). */
void pp_period_name(double key, int format, char *buf, size_t n);
/* Is key a six-digit YYYYMM with a month 01..12 (year 1000 or later)? */
int pp_period_is_yyyymm(double key);

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
  char *negative;     /* the one label read as 0 in training; NULL: a layout-1 model, or one trained
                         before the two-label rule with several other labels */
  char *connected;    /* may be NULL */
  char *time_col;     /* may be NULL */
} pp_schema;

/* Build the schema from a training frame: every NUMERIC / CATEGORICAL column that is not the
 * target, id, connected, time column or ignored becomes an input, in frame order.  Columns named
 * in opt that are absent from the frame are PROP_ERR_SCHEMA naming them, except ignored names
 * (the CSV reader drops PROP_COL_IGNORE columns, so they are usually absent).  The categories of
 * a categorical input are the labels that occur in at least one row (a subset frame may carry
 * unused dictionary entries), sorted by strcmp.  The target's labels are training's to check
 * (pp_frame_binary_column); an id-typed target is PROP_ERR_SCHEMA.  The time column must read as
 * periods (pp_frame_periods).
 * s->positive is a copy of opt->positive (may be NULL; training sets the label actually used). */
int pp_schema_from_frame(const prop_frame *f, const prop_train_options *opt, pp_schema **out);
void pp_schema_free(pp_schema *s);
int pp_schema_save(const pp_schema *s, pp_buf *out);
int pp_schema_load(pp_rd *in, pp_schema **out);
/* Code of a label in categorical feature j: index or -1 when unseen. */
double pp_schema_code(const pp_schema *s, size_t j, const char *label);

/* A frame bound to a schema: column positions and category re-coding computed once. */
typedef struct pp_binding pp_binding;
/* Fails with PROP_ERR_SCHEMA naming the first input column missing from f, or one whose type
 * cannot serve (a categorical column where a number is needed is PROP_ERR_SCHEMA, and so is an
 * id column for any input; a numeric frame column for a categorical feature is accepted).
 * Categorical frame columns are re-coded by label through a remap array built once over the
 * frame's dictionary.  A numeric cell for a categorical feature is matched by value: it gets
 * the code of the training category whose label reads as the same finite number
 * (pp_parse_double; "3", "3.0" and "03" all match 3.0; if several labels read as that number, the
 * first in byte order), or -1 when none does.  The binding keeps pointers into s and f, which
 * must outlive it; it is read-only after creation (pp_binding_rows may run on many threads). */
int pp_binding_create(const pp_schema *s, const prop_frame *f, pp_binding **out);
void pp_binding_free(pp_binding *b);
/* Input rows row0 .. row0+n-1 of the frame as n x nfeat doubles (row-major, raw: numeric
 * values, category codes, NaN missing, -1 unseen).  status[i] (may be NULL) gets 0 or the row's
 * error code (frame row errors; +-Inf in a numeric cell is PROP_ERR_VALUE). */
void pp_binding_rows(const pp_binding *b, size_t row0, size_t n, double *raw, int *status);

/* ---- CSV ------------------------------------------------------------------------------- */
/* Low-level chunked reader: header handling, quotes, CRLF, BOM, NA values, column typing.
 * types[] (ncols of the file, known after open) gives each column's type; AUTO columns are
 * typed by prop_frame_read_csv from the whole file.  See csv.c for the details.
 *  - pp_csv_open reads the header (PROP_ERR_CSV "f.csv: empty file (no header)"; an empty or
 *    duplicate name is PROP_ERR_SCHEMA "f.csv: header: duplicate column name 'age' (columns 2
 *    and 5)") and applies opt->declared_* (a declared name absent from the header is
 *    PROP_ERR_SCHEMA naming it); other columns start as PROP_COL_AUTO.  IO errors name the file.
 *  - Rows are data records numbered from 1 (header = 0), also across quoted line breaks.
 *  - Messages: "f.csv:12:income: 'abc' is not a number", "f.csv:12:income: 'inf' is not a
 *    finite number" (PROP_ERR_VALUE), "f.csv:7: expected 11 fields, found 10", "f.csv:3:
 *    unterminated quoted field (column 'b')", "f.csv:3:b: bad quoting (...)" (PROP_ERR_CSV).
 *    Strict: the read fails with that message.  Non-strict: the row is kept with every cell
 *    missing and the message in row_err (a quoting error resynchronises at the next line end).
 *  - Cells are not trimmed (RFC 4180); numbers may carry spaces (pp_parse_double).  Empty cells
 *    and na_values are missing in every column type (an id cell "NA" is a missing id). */
typedef struct pp_csv pp_csv;
int pp_csv_open(const char *path, const prop_csv_options *opt, pp_csv **out);
size_t pp_csv_ncols(const pp_csv *c);
const char *pp_csv_colname(const pp_csv *c, size_t j);
/* Set the type of every file column before reading (IGNORE columns are skipped). */
int pp_csv_set_types(pp_csv *c, const prop_coltype *types);
/* Read up to max_rows (>= 1) rows into a new frame (NULL at end of file).  Every chunk has its
 * own dictionaries, frame->rownum and frame->source.  All types must be known: an AUTO column is
 * PROP_ERR_STATE.  After an error the reader only returns PROP_ERR_STATE. */
int pp_csv_next(pp_csv *c, size_t max_rows, prop_frame **chunk);
void pp_csv_free(pp_csv *c);
#endif
