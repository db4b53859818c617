/*
 * propensity.h: the one public header of libpropensity.
 *
 * libpropensity trains and serves credit-card installment propensity models: which cardholders,
 * if called, are most likely to take an installment plan.  Data flows one way:
 *
 *   CSV / columns -> frame -> encoders -> dense float matrix -> members -> voting ensemble
 *                 -> calibrator -> seven bands -> ranked call list
 *
 * and a fitted pipeline is one read-only object (prop_model), saved to and loaded from one file.
 *
 * Conventions (they hold for every function below unless its comment says otherwise):
 *  - Every exported symbol and type starts with prop_ / PROP_.
 *  - Functions return an int status: PROP_OK (0) or a negative prop_status code.  On failure
 *    prop_last_error() gives a message with context (file, row, column or field).  Outputs are
 *    left untouched or set to NULL on failure.
 *  - Handles are opaque and come in create/free pairs; every *_free accepts NULL.
 *  - Where the output size is known the caller allocates it ("double *prob" of n entries).  Where
 *    the library allocates, the comment names the matching free function.
 *  - The library never prints, never exits and never reads environment variables; messages reach
 *    the caller through the log and progress callbacks in the options structs.
 *  - Memory running out is PROP_ERR_NOMEM from any function, also when XGBoost or jansson ran out.
 *    jansson does not report its failed allocations reliably, so the first call that reads or
 *    writes JSON wraps jansson's allocation functions (json_set_alloc_funcs) around the ones it
 *    finds: a program that sets its own should set them before that call.  The library calls no
 *    BLAS, and starts OpenMP threads only after checking that they can start (an OpenMP runtime
 *    ends the process when one cannot).  README.md, "Reliability", lists the limits.
 *  - Threads: a fitted prop_model is read-only after train or load: any number of threads may
 *    score with one model at once.  Other handles (frame, reader, scorer, band table) are
 *    owned by one thread at a time.  prop_last_error() is thread-local.
 *  - Strings are UTF-8 and NUL-terminated.  Probabilities are doubles in [0,1].
 *  - Bands are numbered 1 (lowest probability) to nbands (highest); 0 means "not scored".
 *  - Option structs: each begins with `size_t struct_size`, set by its prop_..._default() function,
 *    which fills in every default; always start from it, then set the fields you need.  The library
 *    reads struct_size, so that a program built against an older header keeps working with a newer
 *    library (the fields it does not know take their defaults), and one built against a newer header
 *    works with an older library as long as it leaves the newer fields at their defaults (else
 *    PROP_ERR_ARG names the struct).  A struct_size below sizeof(size_t) is PROP_ERR_ARG.
 *  - Ownership: a function returning a pointer says who owns it: "owned by the model/frame" (valid
 *    until that object is freed), "static" (valid forever), or "library-allocated: free with
 *    prop_free()".  Buffers the library allocates for the caller are freed with prop_free().
 */
#ifndef PROPENSITY_H
#define PROPENSITY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Export macro and version
 * ------------------------------------------------------------------------------------------- */
#if defined(PROP_STATIC)
#define PROP_API
#elif defined(PROP_BUILDING_LIBRARY)
#define PROP_API __attribute__((visibility("default")))
#else
#define PROP_API
#endif

#define PROP_VERSION_MAJOR 0
#define PROP_VERSION_MINOR 1
#define PROP_VERSION_PATCH 0
#define PROP_VERSION_NUMBER (PROP_VERSION_MAJOR * 10000 + PROP_VERSION_MINOR * 100 + PROP_VERSION_PATCH)
#define PROP_VERSION_STRING "0.1.0"

/*! prop_version(): the library's version string, e.g. "0.1.0" (static storage, never NULL).
 *  Compare with PROP_VERSION_STRING to detect a header/library mismatch.  Thread-safe. */
PROP_API const char *prop_version(void);

/*! prop_version_number(): PROP_VERSION_NUMBER of the library actually linked.  Thread-safe. */
PROP_API unsigned prop_version_number(void);

/* ---------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------- */
/*! The status codes, as one list from which the enum below, prop_strerror(), prop_status_name() and the
 *  command-line program's exit codes all come: X(name, value, message, exit code).  The values are fixed
 *  forever: bindings may rely on them.  The exit code is what `propensity` returns for the status: 0
 *  success, 1 usage, 2 bad input data or recipe, 3 unusable model file, 4 training failed, 5 I/O
 *  error, 6 other failure (a program embedding the library may use the same mapping). */
#define PROP_STATUS_LIST(X)                                                                                      \
  X(PROP_OK, 0, "ok", 0)                                                                                         \
  X(PROP_ERR_NOMEM, -1, "out of memory", 6)           /* an allocation failed */                                 \
  X(PROP_ERR_ARG, -2, "invalid argument", 1)          /* NULL where a value is required, bad size or option */   \
  X(PROP_ERR_IO, -3, "input/output error", 5)         /* a file could not be opened, read, written or renamed */ \
  X(PROP_ERR_CSV, -4, "malformed CSV", 2)             /* bad quoting, wrong column count, empty file */          \
  X(PROP_ERR_SCHEMA, -5, "schema mismatch", 2)        /* a column is missing, duplicated or of the wrong type */ \
  X(PROP_ERR_VALUE, -6, "invalid value", 2)           /* not a number, or NaN/Inf where a number is needed */    \
  X(PROP_ERR_CATEGORY, -7, "unknown category or label", 2) /* e.g. the positive label, a category */           \
  X(PROP_ERR_RECIPE, -8, "invalid recipe", 2)         /* a recipe field is unknown or out of range */            \
  X(PROP_ERR_FORMAT, -9, "not a propensity model file", 3) /* bad magic */                                     \
  X(PROP_ERR_VERSION, -10, "model file from a newer version", 3) /* written by a newer format version */       \
  X(PROP_ERR_TRUNCATED, -11, "truncated model file", 3) /* the model file or buffer ends early */              \
  X(PROP_ERR_CORRUPT, -12, "corrupted model file", 3) /* checksum mismatch or inconsistent contents */           \
  X(PROP_ERR_TRAIN, -13, "training failed", 4)        /* one class only, too few rows ... */                     \
  X(PROP_ERR_BACKEND, -14, "backend error", 6)        /* XGBoost or another backend reported an error */         \
  X(PROP_ERR_CANCELLED, -15, "cancelled", 6)          /* the progress callback asked to stop */                  \
  X(PROP_ERR_STATE, -16, "invalid state", 6)          /* the call does not fit the object's state */             \
  X(PROP_ERR_RANGE, -17, "index out of range", 6)     /* an index is out of range */

#define PROP_STATUS_ENUM_(name, value, message, exit_code) name = value,
typedef enum prop_status { PROP_STATUS_LIST(PROP_STATUS_ENUM_) } prop_status;
#undef PROP_STATUS_ENUM_

/*! prop_strerror(): a fixed description of a status code (static storage, never NULL; an
 *  unknown code gives "unknown error").  Thread-safe. */
PROP_API const char *prop_strerror(int code);

/*! prop_last_error(): the message of the last failure on the calling thread, with context such
 *  as "demo.csv:12:income: 'abc' is not a number".  Empty string when there was none.  The
 *  pointer stays valid until the next failing call on the same thread.  Thread-local, never NULL. */
PROP_API const char *prop_last_error(void);

/*! prop_last_error_code(): the status of the last failure on the calling thread (0 if none). */
PROP_API int prop_last_error_code(void);

/*! prop_free(): free a buffer the library allocated for the caller (the JSON of prop_recipe_to_json(),
 *  prop_backtest() and prop_compare(), the bytes of prop_model_save_to_buffer()).  NULL is a no-op.  Use
 *  it rather than the C library's free(): a program whose allocator differs from the library's (another
 *  C runtime, a binding) then still frees with the right one.  Thread-safe. */
PROP_API void prop_free(void *p);

/*! prop_status_name(): the name of a status code as the enum spells it ("PROP_ERR_SCHEMA"; static
 *  storage), or NULL for a code that is not in PROP_STATUS_LIST.  Bindings check their own table of
 *  codes against it.  Thread-safe. */
PROP_API const char *prop_status_name(int code);

/*! prop_status_exit_code(): the exit code the command-line program returns for a status (the last
 *  column of PROP_STATUS_LIST; 6 for an unknown code).  Thread-safe. */
PROP_API int prop_status_exit_code(int code);

/*! prop_struct_layout(): the layout of public struct `name` ("prop_train_options", "prop_band_row", ...)
 *  as this library was compiled: with field NULL, the struct's size in *size; else that field's offset
 *  and size.  offset and size may be NULL.  For bindings that declare the structs themselves (Python's
 *  ctypes): they check their copy when they load the library.  PROP_ERR_ARG for an unknown struct or
 *  field.  Thread-safe. */
PROP_API int prop_struct_layout(const char *name, const char *field, size_t *offset, size_t *size);

/*! prop_struct_field(): the name of field i (0-based, in declaration order) of public struct `name` into
 *  *field (static storage); PROP_ERR_RANGE once i is past the last field (*field NULL), PROP_ERR_ARG for
 *  an unknown struct.  With prop_struct_layout(), a binding checks that it declares every field.
 *  Thread-safe. */
PROP_API int prop_struct_field(const char *name, size_t i, const char **field);

/* ---------------------------------------------------------------------------------------------
 * Callbacks: the only way the library talks
 * ------------------------------------------------------------------------------------------- */
typedef enum prop_log_level { PROP_LOG_DEBUG = 0, PROP_LOG_INFO = 1, PROP_LOG_WARN = 2 } prop_log_level;

/*! Log callback: receives one line (no trailing newline).  Called on the thread that called the
 *  library function (training may call it from that thread only, never from worker threads). */
typedef void (*prop_log_fn)(void *user, int level, const char *message);

/*! Progress callback: stage is a short name ("cv", "fit:xgboost", ...), done/total count steps
 *  of that stage.  Return 0 to go on, non-zero to cancel (the call then fails with
 *  PROP_ERR_CANCELLED).  Called on the calling thread. */
typedef int (*prop_progress_fn)(void *user, const char *stage, size_t done, size_t total);

/* ---------------------------------------------------------------------------------------------
 * Frames: typed columns
 * ------------------------------------------------------------------------------------------- */
/*! Column types of a schema. */
typedef enum prop_coltype {
  PROP_COL_AUTO = -1,       /*!< infer: numeric when every non-missing cell parses as a number */
  PROP_COL_NUMERIC = 0,     /*!< a feature; numbers, missing allowed */
  PROP_COL_CATEGORICAL = 1, /*!< a feature; labels, missing allowed */
  PROP_COL_ID = 2,          /*!< the customer id; copied to outputs, never a feature */
  PROP_COL_TARGET = 3,      /*!< the label to learn; never a feature */
  PROP_COL_IGNORE = 4       /*!< read past and dropped */
} prop_coltype;

typedef struct prop_frame prop_frame;

/*! Options of the CSV reader.  Initialise with prop_csv_options_default(). */
typedef struct prop_csv_options {
  size_t struct_size; /*!< set by prop_csv_options_default() (see "Option structs" at the top) */
  char delimiter;              /*!< default ',' */
  const char *const *na_values; /*!< cells meaning "missing", besides the empty cell; NULL = {"NA"} */
  size_t n_na_values;
  /*! Declared column types by name (others are PROP_COL_AUTO).  Arrays of n_declared. */
  const char *const *declared_names;
  const prop_coltype *declared_types;
  size_t n_declared;
  /*! 1 (default): a malformed row is an error naming file and row.  0: the row is kept, its
   *  cells become missing (but its PROP_COL_ID cells when its fields line up with the header, so
   *  that it can be traced to its customer), and prop_frame_row_error() tells why (used for
   *  scoring). */
  int strict;
} prop_csv_options;

/*! Fill *opt with the defaults: ',' delimiter, "NA" as missing, strict. */
PROP_API void prop_csv_options_default(prop_csv_options *opt);

/*! prop_frame_read_csv(): read a whole CSV file with a header row into a new frame.  Handles
 *  quoted fields (RFC 4180), CRLF, a UTF-8 BOM, and empty / NA cells as missing.  Column types
 *  come from opt->declared_* and are otherwise inferred.  Errors name file, row and column.
 *  opt may be NULL (defaults).  On success *out is a new frame: free with prop_frame_free(). */
PROP_API int prop_frame_read_csv(const char *path, const prop_csv_options *opt, prop_frame **out);

/*! prop_frame_create(): an empty frame of nrows rows, to be filled column by column with
 *  prop_frame_add_*().  Free with prop_frame_free(). */
PROP_API int prop_frame_create(size_t nrows, prop_frame **out);

/*! Add a numeric column (values copied; NaN = missing; +-Inf is PROP_ERR_VALUE naming the row). */
PROP_API int prop_frame_add_numeric(prop_frame *f, const char *name, const double *values);

/*! Add a categorical (or id / target, by type) column of strings; NULL entries are missing.
 *  type must be PROP_COL_CATEGORICAL, PROP_COL_ID or PROP_COL_TARGET.  Strings are copied. */
PROP_API int prop_frame_add_strings(prop_frame *f, const char *name, prop_coltype type,
                                    const char *const *values);

/*! Free a frame and everything it owns.  NULL is a no-op. */
PROP_API void prop_frame_free(prop_frame *f);

/*! Rows and columns of a frame (0 for NULL). */
PROP_API size_t prop_frame_n_rows(const prop_frame *f);
PROP_API size_t prop_frame_n_columns(const prop_frame *f);
/*! Name of column j (owned by the frame), or NULL when j is out of range. */
PROP_API const char *prop_frame_column_name(const prop_frame *f, size_t j);
/*! Type of column j, or PROP_COL_AUTO when j is out of range. */
PROP_API prop_coltype prop_frame_column_type(const prop_frame *f, size_t j);
/*! Index of the column called name, or -1. */
PROP_API long prop_frame_find(const prop_frame *f, const char *name);
/*! Why row i (0-based) could not be read (owned by the frame), or NULL when it is fine (only non-strict
 *  reads). */
PROP_API const char *prop_frame_row_error(const prop_frame *f, size_t i);

/*! Copy numeric column j into out[nrows] (caller-allocated; NaN = missing).  PROP_ERR_SCHEMA
 *  when column j is not numeric, PROP_ERR_RANGE when j is out of range. */
PROP_API int prop_frame_numeric_values(const prop_frame *f, size_t j, double *out);
/*! The string in row i of an id, categorical or target column j (owned by the frame), or NULL when
 *  the cell is missing, the column is numeric, or an index is out of range. */
PROP_API const char *prop_frame_string_value(const prop_frame *f, size_t j, size_t i);
/*! Column `name` as 0/1 into y[nrows] (caller-allocated): 1 where the label equals positive
 *  (NULL: labels must be 0/1, and 1 is positive), a label equal as text or as the same number
 *  ("1.0" and "1").  The column holds two labels, the positive and one other (training's rule): a
 *  third is PROP_ERR_CATEGORY naming file, row, column and label.  A missing cell is PROP_ERR_VALUE
 *  naming the row; an absent positive label PROP_ERR_CATEGORY; an absent column PROP_ERR_SCHEMA. */
PROP_API int prop_frame_binary_values(const prop_frame *f, const char *name, const char *positive, int *y);

/*! Streaming CSV reader: reads a file of any size in chunks of rows; memory is bounded by the
 *  chunk size.  Column types come from a model's schema (see prop_reader_open_for_model). */
typedef struct prop_reader prop_reader;

/*! Open path for chunked reading of the input columns of model m (the model's features plus
 *  its id column) and of the columns declared in opt (declared_names / declared_types, e.g. a
 *  numeric value column to rank by); other columns are ignored.  Every feature and the model's id
 *  column (when it has one) must be in the file, else PROP_ERR_SCHEMA naming the first missing
 *  one: a list without ids cannot be dialled.  A declared column must be in the file (else
 *  PROP_ERR_SCHEMA naming it) and have a concrete type (PROP_COL_AUTO is PROP_ERR_ARG: a streamed
 *  read cannot infer one); a declared column the model reads keeps the model's type, and declaring
 *  it with another type (PROP_COL_IGNORE included) is PROP_ERR_SCHEMA.  n_declared with NULL names
 *  or types is PROP_ERR_ARG.  opt may be NULL; its strict flag is ignored.  The read is non-strict: a bad row becomes a row with
 *  prop_frame_row_error() set, never a dropped row.  Free with prop_reader_free(). */
typedef struct prop_model prop_model;
PROP_API int prop_reader_open_for_model(const char *path, const prop_model *m,
                                        const prop_csv_options *opt, prop_reader **out);

/*! Read up to max_rows rows into a new frame *chunk (free it with prop_frame_free()).  At end of
 *  file *chunk is NULL and the status is PROP_OK.  The chunk's rows know their 1-based data row
 *  numbers (prop_frame_row_number). */
PROP_API int prop_reader_next(prop_reader *r, size_t max_rows, prop_frame **chunk);
PROP_API void prop_reader_free(prop_reader *r);

/*! 1-based data row number in the source file of row i of a frame read from CSV (header is row
 *  0); i + 1 for frames built in memory. */
PROP_API size_t prop_frame_row_number(const prop_frame *f, size_t i);

/* ---------------------------------------------------------------------------------------------
 * Recipes: what to train (JSON, documented in models/README.md)
 * ------------------------------------------------------------------------------------------- */
typedef struct prop_recipe prop_recipe;

/*! The built-in default recipe (the bank's method; same content as models/installment.json). */
PROP_API int prop_recipe_default(prop_recipe **out);
/*! Parse a recipe from JSON text; errors name the field ("members[1].params.C: must be > 0")
 *  or the line and column of a JSON syntax error.  source names the text in messages (may be NULL).
 *  A UTF-8 byte order mark at the start of the text is skipped. */
PROP_API int prop_recipe_parse(const char *json, const char *source, prop_recipe **out);
/*! Read and parse a recipe file (a UTF-8 byte order mark at its start is skipped, as by
 *  prop_recipe_parse).  Errors name the file.  A recipe file is at most 1 MiB: a larger regular
 *  file is refused before it is read, a pipe or character device once it gives more (PROP_ERR_IO),
 *  and a directory or another kind of file at once (PROP_ERR_IO). */
PROP_API int prop_recipe_load(const char *path, prop_recipe **out);
/*! The recipe as canonical JSON with every default filled in.  *json is library-allocated: free it with
 *  prop_free(). */
PROP_API int prop_recipe_to_json(const prop_recipe *r, char **json);
PROP_API void prop_recipe_free(prop_recipe *r);

/* ---------------------------------------------------------------------------------------------
 * Training
 * ------------------------------------------------------------------------------------------- */
/*! Options of prop_model_train().  Initialise with prop_train_options_default(). */
typedef struct prop_train_options {
  size_t struct_size; /*!< set by prop_train_options_default() (see "Option structs" at the top) */
  const char *target;          /*!< target column (required) */
  const char *positive;        /*!< positive label; NULL: "1" when the labels are 0/1 */
  const char *id;              /*!< id column or NULL */
  const char *const *ignore;   /*!< columns to leave out of the features: each must be a column of the
                                    frame, or one its CSV read left out (declared PROP_COL_IGNORE) */
  size_t n_ignore;
  const char *connected;       /*!< optional 0/1 column "call connected"; never a feature */
  const char *time_col;        /*!< optional month column; never a feature; its cells must be months as
                                    prop_frame_periods() reads them (else PROP_ERR_VALUE naming the row) */
  int nthread;                 /*!< worker threads; 0 (or less) = all processors; more is capped at them */
  prop_log_fn log;             /*!< may be NULL */
  prop_progress_fn progress;   /*!< may be NULL */
  void *user;                  /*!< passed to log and progress */
} prop_train_options;

PROP_API void prop_train_options_default(prop_train_options *opt);

/*! prop_model_train(): fit the whole pipeline of recipe r (NULL = the default recipe) on frame f:
 *  schema, encoders, members (with out-of-fold validation), ensemble, calibrator and bands.
 *  The model copies what it needs: f and r may be freed afterwards.  Free *out with
 *  prop_model_free().  PROP_ERR_SCHEMA for a named column that is absent (an ignored name
 *  included) or a column given two roles; the target's labels as prop_frame_binary_values()
 *  reads them (two labels: a third is PROP_ERR_CATEGORY naming its row); connected must be 0/1.  On success prop_last_error() is left as it was. */
PROP_API int prop_model_train(const prop_frame *f, const prop_recipe *r, const prop_train_options *opt,
                              prop_model **out);

/*! Free a model.  NULL is a no-op.  No other thread may be using it. */
PROP_API void prop_model_free(prop_model *m);

/* ---------------------------------------------------------------------------------------------
 * Model files
 * ------------------------------------------------------------------------------------------- */
/*! Save m to path atomically (temporary file in the same folder, fsync, rename): a reader never
 *  sees a half-written model.  The file keeps the mode of the one it replaces (a new one gets
 *  0644).  Thread-safe with respect to scoring. */
PROP_API int prop_model_save(const prop_model *m, const char *path);
/*! Load a model file.  Refuses, each with its own code: a file from another program
 *  (PROP_ERR_FORMAT), a newer format (PROP_ERR_VERSION), a truncated file (PROP_ERR_TRUNCATED)
 *  and a corrupted one (PROP_ERR_CORRUPT); memory running out is PROP_ERR_NOMEM, never one of
 *  those.  A model file is at most 4 GiB: a larger regular file is refused before it is read
 *  (PROP_ERR_IO), a directory or another kind of file at once (PROP_ERR_IO); a pipe or character
 *  device is read up to that bound, and stops at its first 8 bytes when they are not a model
 *  file's (PROP_ERR_FORMAT: /dev/zero fails at once).  Free *out with prop_model_free(). */
PROP_API int prop_model_load(const char *path, prop_model **out);
/*! The model file's bytes in memory.  *data is library-allocated: free it with prop_free(). */
PROP_API int prop_model_save_to_buffer(const prop_model *m, unsigned char **data, size_t *len);
/*! Load from bytes (as written by prop_model_save_to_buffer); the bytes are not kept. */
PROP_API int prop_model_load_from_buffer(const void *data, size_t len, prop_model **out);

/* ---------------------------------------------------------------------------------------------
 * Inspecting a model
 * ------------------------------------------------------------------------------------------- */
/*! Number of input features (columns the model reads, in schema order). */
PROP_API size_t prop_model_n_inputs(const prop_model *m);
/*! Name of input j (owned by the model) or NULL. */
PROP_API const char *prop_model_input_name(const prop_model *m, size_t j);
/*! PROP_COL_NUMERIC or PROP_COL_CATEGORICAL for input j; PROP_COL_AUTO when out of range. */
PROP_API prop_coltype prop_model_input_type(const prop_model *m, size_t j);
/*! Index of the input called name, or -1. */
PROP_API long prop_model_input_index(const prop_model *m, const char *name);
/*! Number of training categories of categorical input j (0 for numeric inputs). */
PROP_API size_t prop_model_n_categories(const prop_model *m, size_t j);
/*! Label of category k of input j (owned by the model: valid until prop_model_free()), or NULL. */
PROP_API const char *prop_model_category(const prop_model *m, size_t j, size_t k);
/*! Code of label for categorical input j: its index, or -1 when unseen in training (see
 *  prop_unseen: a row error by default).  Use the code as the input value in dense rows.  NaN
 *  when j is out of range or not categorical, or label is NULL (a missing cell is NaN too). */
PROP_API double prop_model_category_code(const prop_model *m, size_t j, const char *label);
/*! The id column's name (owned by the model), or NULL when the model has none. */
PROP_API const char *prop_model_id_column(const prop_model *m);
/*! The training options' connected and time columns (owned by the model), or NULL when training had none.
 *  They are never inputs: a scorer may pass them through or drop them.  Thread-safe. */
PROP_API const char *prop_model_connected_column(const prop_model *m);
PROP_API const char *prop_model_time_column(const prop_model *m);
/*! The target column's name and positive label (owned by the model). */
PROP_API const char *prop_model_target(const prop_model *m);
PROP_API const char *prop_model_positive_label(const prop_model *m);
/*! The label the training rows carried besides the positive one ("0" for 0/1 labels; owned by the
 *  model).  NULL only for a model file older than this function (model format 3) or one trained
 *  before the two-label rule on several other labels: evaluating with it reads every label but the
 *  positive one as negative. */
PROP_API const char *prop_model_negative_label(const prop_model *m);
/*! The outcomes of a labelled frame as the model's training read its target: y[i] (nrows entries,
 *  caller-allocated) is 1 for the positive label and 0 for the negative one, a label equal as text
 *  or as the same number ("1.0" and "1").  column: NULL for the model's target column.  When the
 *  model has a negative label, any third label is PROP_ERR_CATEGORY naming the file, row, column
 *  and label (a typo such as "yes" in a 0/1 column is never counted as a 0); a missing label is
 *  PROP_ERR_VALUE naming the row.  Every row may have the same outcome.  Thread-safe. */
PROP_API int prop_model_target_values(const prop_model *m, const prop_frame *f, const char *column, int *y);
/*! Number of bands and their edges (owned by the model; NULL for a NULL model): edges has nbands+1
 *  entries, edges[0]=0, edges[nbands]=1; band b (1-based) is [edges[b-1], edges[b]), the last one
 *  closed. */
PROP_API size_t prop_model_n_bands(const prop_model *m);
PROP_API const double *prop_model_band_edges(const prop_model *m);
/*! The model's metadata as JSON (rows, positives, version, creation time, recipe, per-member
 *  validation report, importances).  Owned by the model; valid until prop_model_free(). */
PROP_API const char *prop_model_metadata_json(const prop_model *m);
/*! Number of members kept in the ensemble and member i's name ("xgboost", "svc", ...; static storage),
 *  or NULL beyond them. */
PROP_API size_t prop_model_n_members(const prop_model *m);
PROP_API const char *prop_model_member_name(const prop_model *m, size_t i);

/* ---------------------------------------------------------------------------------------------
 * Scoring
 * ------------------------------------------------------------------------------------------- */
/*! What scoring does with a category its model never saw in training (a label with no code, or
 *  code -1 in a dense row).  The default is the bucket, as XGBoost, LightGBM and H2O score such a row:
 *  one rare new label must not take a customer off tonight's list.  prop_predict_options.unseen_counts
 *  tells how many rows needed it, per input. */
typedef enum prop_unseen {
  PROP_UNSEEN_ERROR = 0, /*!< strict: the row is not scored; its status is PROP_ERR_CATEGORY */
  PROP_UNSEEN_BUCKET = 1 /*!< default: the row is scored, the category through the encoder's `<other>`
                              bucket (with one-hot encoding, the column the rarest training categories
                              share; a new label lands among them; with ordinal encoding an unseen
                              category is encoded as a missing one, code -1) */
} prop_unseen;

/*! Options of the batch scoring functions.  Initialise with prop_predict_options_default(). */
typedef struct prop_predict_options {
  size_t struct_size; /*!< set by prop_predict_options_default() (see "Option structs" at the top) */
  int nthread;        /*!< worker threads; 0 (or less) = all processors; more than the processors is
                           capped at them */
  size_t block_rows;  /*!< rows encoded and scored together (threads take whole blocks; capped at the
                           batch's rows); 0 = automatic: equal blocks of at most 2048 rows (not under 64),
                           at least two per thread, their count a multiple of the thread count */
  int uncalibrated;   /*!< 0 (default): the calibrated probability.  1: the ensemble's vote before the
                           calibrator (the weighted mean of the members' probabilities; the vote share
                           for hard voting; the logistic function of the weighted mean of their log-odds
                           for the logit vote), and bands cut from that score: for diagnostics such as the
                           calibration error before and after calibration, not for call lists. */
  int unseen;         /*!< prop_unseen; default PROP_UNSEEN_BUCKET */
  size_t *unseen_counts; /*!< NULL (default), or prop_model_n_inputs() counters (caller-allocated): the
                           rows scored through the bucket are added, per input, to the counter of each
                           categorical input whose category they did not know (numeric inputs stay
                           untouched; the counters are not reset, so several calls add up) */
} prop_predict_options;

PROP_API void prop_predict_options_default(prop_predict_options *opt);

/*! Score every row of f: calibrated probability into prob[i] and band (1..nbands) into band[i]
 *  (either output may be NULL; both caller-allocated with prop_frame_n_rows(f) entries).  Columns
 *  are matched by name; other columns are ignored; a missing input column is PROP_ERR_SCHEMA.
 *  A row that cannot be scored (a read error recorded in the frame, a non-finite number, a
 *  category unseen in training under the default opt->unseen) gets prob NaN and band 0, and
 *  status[i] (if status is non-NULL) gets its prop_status code (PROP_ERR_CATEGORY for an unseen
 *  category: prop_model_category_code() tells which); the call itself still succeeds.  opt may be NULL.  Read-only on m: thread-safe. */
PROP_API int prop_model_predict_frame(const prop_model *m, const prop_frame *f, double *prob, int *band,
                                      int *status, const prop_predict_options *opt);

/*! Element type of a dense matrix. */
typedef enum prop_dtype { PROP_FLOAT32 = 0, PROP_FLOAT64 = 1 } prop_dtype;

/*! Score a dense row-major matrix of nrows rows whose ncols == prop_model_n_inputs(m) columns are
 *  the model's inputs in schema order.  Numeric inputs hold values (NaN = missing); categorical
 *  inputs hold prop_model_category_code() codes (NaN = missing, -1 = unseen, handled as opt->unseen says; any other value that
 *  is not a valid code is a row error PROP_ERR_VALUE).  row_stride is in elements (>= ncols).
 *  X is read in place, never copied whole.  Outputs and status as for prop_model_predict_frame.
 *  Thread-safe. */
PROP_API int prop_model_predict_dense(const prop_model *m, const void *X, prop_dtype dtype, size_t nrows,
                                      size_t ncols, size_t row_stride, double *prob, int *band, int *status,
                                      const prop_predict_options *opt);

/*! A reusable single-customer scoring context for real-time use: created once per thread, it
 *  owns all scratch memory, so prop_scorer_score() does not allocate in libpropensity.  The
 *  model must outlive the scorer.  One scorer per thread; many scorers may share one model. */
typedef struct prop_scorer prop_scorer;
PROP_API int prop_scorer_create(const prop_model *m, prop_scorer **out);
PROP_API void prop_scorer_free(prop_scorer *s);
/*! Score one row given as prop_model_n_inputs() doubles (see prop_model_predict_dense).  Gives
 *  exactly the same probability and band as the batch functions for the same row and the same
 *  unseen-category policy; a row they would not score fails with the row's status (prob NaN, band
 *  0) and a message naming the input. */
PROP_API int prop_scorer_score(prop_scorer *s, const double *row, double *prob, int *band);
/*! The scorer's unseen-category policy (prop_unseen; PROP_UNSEEN_BUCKET when created).  Any other
 *  value is PROP_ERR_ARG. */
PROP_API int prop_scorer_set_unseen(prop_scorer *s, int unseen);

/*! Band (1..nbands) of a probability under m's edges; 0 for NaN or a value outside [0, 1]. */
PROP_API int prop_model_band_of(const prop_model *m, double p);

/*! The scorer's member probabilities of the last prop_scorer_score() call: out[i] for member i
 *  (prop_model_n_members entries, caller-allocated), before voting and calibration; NaN after a
 *  call that failed (never the previous customer's). */
PROP_API int prop_scorer_member_probabilities(const prop_scorer *s, double *out);

/* ---------------------------------------------------------------------------------------------
 * Ranking: the call list
 * ------------------------------------------------------------------------------------------- */
typedef enum prop_rank_by {
  PROP_RANK_PROBABILITY = 0, /*!< by calibrated probability */
  PROP_RANK_VALUE = 1        /*!< by expected value: probability x value (e.g. installment amount) */
} prop_rank_by;

/*! Options of prop_rank() and prop_rank_order().  Initialise with prop_rank_options_default(). */
typedef struct prop_rank_options {
  size_t struct_size; /*!< set by prop_rank_options_default() (see "Option structs" at the top) */
  int by;                   /*!< prop_rank_by; default PROP_RANK_PROBABILITY */
  size_t capacity;          /*!< call at most this many rows; 0 = no limit */
  const size_t *band_quota; /*!< NULL, or nbands entries: at most band_quota[b-1] rows from band b */
  size_t nbands;            /*!< entries of band_quota */
} prop_rank_options;

PROP_API void prop_rank_options_default(prop_rank_options *opt);

/*! The largest dialer rank.  VICIdial's list rank is a signed SMALLINT and higher is called first;
 *  dialer ranks are 1..PROP_DIALER_RANK_MAX for selected rows and 0 otherwise (never negative, so
 *  never VICIdial's -9999). */
#define PROP_DIALER_RANK_MAX 32767

/*! prop_rank(): order rows into a call list.  Scored rows (prob not NaN) are sorted by key
 *  (probability, or probability x value[i] with NaN value counted as 0) descending (a NaN key,
 *  i.e. probability 0 times an infinite value, after every other), ties broken by ids ascending
 *  (byte order; NULL ids: by row index), then by row index.  Walking that order,
 *  a row is selected while capacity and its band's quota allow.  Outputs (caller-allocated, n
 *  entries each, any may be NULL):
 *   - rank[i]: 1-based call order: selected rows first (in key order), then unselected scored
 *     rows; 0 for unscored rows;
 *   - selected[i]: 1 when the row is in the call list;
 *   - dialer_rank[i]: 1..32767 for selected rows, higher called first, 0 otherwise.  Each run of
 *     equal bands in call order gets its own range, so a higher band never shares a dialer rank
 *     with a lower one; within a band the order is kept (strictly while the list has at most
 *     32767 rows, non-increasing beyond).
 *  *n_selected (may be NULL) gets the number of selected rows.  A probability outside [0, 1]
 *  (NaN aside) is PROP_ERR_VALUE naming its index; band quotas need 1..64 nbands (PROP_ERR_ARG).
 *  Thread-safe. */
PROP_API int prop_rank(const double *prob, const int *band, const double *value, const char *const *ids, size_t n,
                       const prop_rank_options *opt, size_t *rank, unsigned char *selected, int *dialer_rank,
                       size_t *n_selected);

/*! prop_rank_order(): the same call list as prop_rank() (same keys, ties, selection and dialer
 *  ranks), in a layout for callers that hold millions of rows (`propensity score`): narrower
 *  inputs, and one order instead of per-row outputs.  Inputs: prob and value as in prop_rank();
 *  band NULL or one byte per row (bands are 0..64); ids NULL, or row i's id is the NUL-terminated
 *  string at id_text + id_offset[i] (id_text and id_offset both NULL: ties by row index).
 *  Outputs (caller-allocated):
 *   - order (n entries, required): the rows in call order.  Its first *n_ranked entries are the
 *     scored rows, order[k] having rank k + 1, and the first *n_selected of those are selected;
 *     the unscored rows follow in input order (prop_rank()'s rank 0);
 *   - dialer_rank (NULL or n entries): by call position, dialer_rank[k] is the dialer rank of row
 *     order[k] (0 from *n_selected on);
 *   - *n_ranked, *n_selected: may be NULL.
 *  Besides order and dialer_rank it allocates nothing per row without band quotas, and at most
 *  n / 2 indices with them.  Thread-safe. */
PROP_API int prop_rank_order(const double *prob, const uint8_t *band, const double *value, const char *id_text,
                             const size_t *id_offset, size_t n, const prop_rank_options *opt, size_t *order,
                             int *dialer_rank, size_t *n_ranked, size_t *n_selected);

/* ---------------------------------------------------------------------------------------------
 * Output files: the one writer of every list (ranked lists, plans, contributions) and report
 * ------------------------------------------------------------------------------------------- */
/*! A writer of one output file.  A path that names a regular file (or nothing yet) is written to a
 *  temporary file in the same folder and renamed over it at prop_writer_commit(), so a reader sees the
 *  old file or the whole new one, never half a list; a symbolic link keeps pointing where it did (its
 *  target is replaced).  A path that names a character device, a FIFO or a socket (/dev/stdout, a
 *  pipe) is written as a stream, as is a descriptor given to prop_writer_open_fd(): a failure there
 *  cannot be undone, but it is reported.  Fields are CSV (RFC 4180: quoted when they hold the
 *  delimiter, a quote or a line break) with numbers in the C locale.  After any failure the writer
 *  only reports it again: abort it.  One thread at a time per writer; writers are independent. */
typedef struct prop_writer prop_writer;

/*! Options of prop_writer_open().  Initialise with prop_writer_options_default(). */
typedef struct prop_writer_options {
  size_t struct_size; /*!< set by prop_writer_options_default() (see "Option structs" at the top) */
  char delimiter;     /*!< field separator; default ',' (not '"', CR, LF or NUL) */
  const char *const *inputs; /*!< paths this output must not replace (the data, the model): compared by
                                  device and inode, not by name; PROP_ERR_ARG names both */
  size_t n_inputs;
  unsigned mode;      /*!< permissions of a new file; 0 = 0644.  A file replaced keeps its own mode. */
  int no_quoting;     /*!< 0 (default): RFC 4180 quoting.  1: fields are written as they are (a lead file
                           for a loader that splits on tabs); a field holding the delimiter or a line
                           break is then PROP_ERR_VALUE naming the file, row and field */
  int keep_formulas;  /*!< 0 (default): a text field that a spreadsheet would run as a formula - one that
                           begins with '=', '+', '-', '@', a tab or a carriage return and is not a plain
                           decimal number such as "-12" or "+3.5e2" - is written with a leading ' (the
                           OWASP defence against CSV injection; the header's names too).  Numbers written
                           with prop_writer_number()/_integer() are never changed.  1: every field as it
                           is (a file only a program will read, whose fields must stay byte for byte). */
} prop_writer_options;

PROP_API void prop_writer_options_default(prop_writer_options *opt);

/*! prop_writer_open(): a writer of path (opt may be NULL).  PROP_ERR_IO (naming the path) when the
 *  temporary file cannot be created or the stream opened, PROP_ERR_ARG when path is one of opt->inputs.
 *  Free with prop_writer_commit() or prop_writer_abort(). */
PROP_API int prop_writer_open(const char *path, const prop_writer_options *opt, prop_writer **out);
/*! prop_writer_open_fd(): a writer of an open descriptor (e.g. 1 for standard output), written as a
 *  stream and never closed by the writer; name (may be NULL: "<stream>") is used in messages. */
PROP_API int prop_writer_open_fd(int fd, const char *name, const prop_writer_options *opt, prop_writer **out);
/*! The header row: n column names.  Every later row must have n fields (else PROP_ERR_ARG naming the
 *  file and row; in a file without a header the first row sets the count).  Only as the first output
 *  (else PROP_ERR_STATE).  Rows are numbered from 1 after the header. */
PROP_API int prop_writer_header(prop_writer *w, const char *const *names, size_t n);
/*! One field of the current row: text (NULL is an empty field), a number ("%.17g" in the C locale; NaN
 *  is an empty field) or an integer. */
PROP_API int prop_writer_text(prop_writer *w, const char *s);
PROP_API int prop_writer_number(prop_writer *w, double v);
PROP_API int prop_writer_integer(prop_writer *w, int64_t v);
/*! End the current row (its field count checked against the header's). */
PROP_API int prop_writer_end_row(prop_writer *w);
/*! A whole row of text fields (NULL entries are empty), ended. */
PROP_API int prop_writer_row(prop_writer *w, const char *const *fields, size_t n);
/*! Raw bytes (a JSON or HTML report): only in a file without a header or rows (else PROP_ERR_STATE). */
PROP_API int prop_writer_bytes(prop_writer *w, const void *data, size_t len);
/*! Data rows ended so far (the header not counted); the name given at open (owned by the writer). */
PROP_API size_t prop_writer_rows(const prop_writer *w);
PROP_API const char *prop_writer_name(const prop_writer *w);
/*! prop_writer_sync(): write what is buffered and fsync the temporary file, so that only the rename is
 *  left for prop_writer_commit(): a program writing several files syncs them all before it commits
 *  any, and a failure leaves every target as it was.  PROP_ERR_IO naming the file. */
PROP_API int prop_writer_sync(prop_writer *w);
/*! prop_writer_commit(): write what is buffered, fsync and rename the temporary file over the target
 *  (a stream: flush only).  PROP_ERR_IO naming the file and row on failure (the temporary file is then
 *  removed and the target left as it was), PROP_ERR_STATE in the middle of a row, or the status of an
 *  earlier failure.  Frees w whatever the outcome. */
PROP_API int prop_writer_commit(prop_writer *w);
/*! prop_writer_abort(): remove the temporary file (the target stays as it was) and free w.  NULL is a
 *  no-op. */
PROP_API void prop_writer_abort(prop_writer *w);
/*! prop_writer_remove_temporaries(): remove the temporary file of every writer of this process not yet
 *  committed or aborted (at most 64 open at once are tracked).  Async-signal-safe: call it from a
 *  handler of SIGTERM, SIGINT, SIGHUP or SIGXFSZ before the process ends, so that a killed job leaves no
 *  `OUT.tmp.XXXXXX` behind (the targets keep their old contents).  Those writers can then only be
 *  aborted. */
PROP_API void prop_writer_remove_temporaries(void);

/* ---------------------------------------------------------------------------------------------
 * The ranked call list: scored, ranked and written by the library (the CLI's `score` and Python's
 * Model.rank are this object)
 * ------------------------------------------------------------------------------------------- */
/*! Rows of a call list, scored chunk by chunk with one model (so a file larger than memory is read a
 *  chunk at a time), then ranked once and written in one layout:
 *    id,probability,band,rank,error,dialer_rank,selected            (and value,expected_value by value,
 *                                                                    reason_1..reason_K with reasons)
 *  one row per input row.  id: the id column's text, or the 1-based data row number when the model has
 *  no id column (a row with an empty id is nobody to call: unscored, "the id is missing").  A row that
 *  cannot be scored keeps its row with an empty probability and rank, band 0, dialer_rank 0, selected 0
 *  and its reason in error (prop_calllist_get gives its rank as 0) ("calllist.csv:4:age: 'abc' is not a number").  rank, dialer_rank and
 *  selected are prop_rank()'s.  Per row it keeps the id's characters and about 30 bytes (8 more by
 *  value) in memory, up to options.memory_limit, then spills sorted runs to a temporary file.  One thread at a time per list; the model must outlive it. */
typedef struct prop_calllist prop_calllist;

/*! The order rows are written in. */
typedef enum prop_list_order {
  PROP_ORDER_RANK = 0, /*!< call order: selected rows, then the other scored rows, then unscored rows */
  PROP_ORDER_INPUT = 1 /*!< the input's order */
} prop_list_order;

/*! Options of prop_calllist_create().  Initialise with prop_calllist_options_default(). */
typedef struct prop_calllist_options {
  size_t struct_size; /*!< set by prop_calllist_options_default() (see "Option structs" at the top) */
  const prop_predict_options *predict; /*!< scoring (threads, unseen categories); NULL: defaults */
  const prop_rank_options *rank;       /*!< ranking (key, capacity, band quotas, copied); NULL: defaults */
  const char *value_column; /*!< ranking by value: the numeric column of values (required then by
                                 prop_calllist_add; prop_calllist_add_dense takes the values themselves); an
                                 infinite value leaves its row unscored, a missing one counts as 0 */
  const char *id_column;    /*!< NULL: the model's id column (required in every chunk when the model has
                                 one); a model without one numbers the rows */
  int order;                /*!< prop_list_order; default PROP_ORDER_RANK */
  const char *source;       /*!< the data's name in row reasons; NULL: each chunk's own (its file) */
  size_t reasons;           /*!< 0 (default), or the number K (1..16) of reasons per row: the list gains columns
                                 reason_1..reason_K, each "input=value" (the value as the row gave it: the
                                 category's label, the number in its shortest exact form, <missing>), the inputs that
                                 raise the row's probability most (prop_model_reasons).  Computing them costs
                                 the rows' contributions: milliseconds per row with a deep forest */
  size_t memory_limit;      /*!< bytes the list may hold in memory; default 0: no limit, every row stays
                                 readable (prop_calllist_get); `propensity score` sets 128 MiB (--memory-mb).
                                 Past it, the rows held so far are sorted and spilled as a run to one
                                 temporary file, and prop_calllist_write merges the runs: the same bytes
                                 as in memory, in about this much memory (plus a 64 KiB buffer per run)
                                 whatever the number of rows.  A list that spilled can only be written:
                                 prop_calllist_get() is PROP_ERR_STATE and _id/_error/_reason are NULL (so a
                                 program that reads rows back keeps the default: a limit that works on
                                 small test lists would otherwise fail on the first large one) */
  const char *temp_dir;     /*!< folder of that temporary file; NULL: "/tmp".  The file is unlinked as soon
                                 as it is created, so no exit, error or signal leaves it behind; it takes
                                 about 40 bytes per row plus the ids and reasons (on a tmpfs, in memory) */
} prop_calllist_options;

PROP_API void prop_calllist_options_default(prop_calllist_options *opt);
/*! A new, empty call list for model m.  PROP_ERR_ARG for band quotas that do not match m's bands.  Free
 *  with prop_calllist_free(). */
PROP_API int prop_calllist_create(const prop_model *m, const prop_calllist_options *opt, prop_calllist **out);
/*! Score the rows of f (a chunk from prop_reader_next(), or any frame with the model's inputs and id
 *  column) and append them.  Ranking by value: value holds f's values (nrows entries), or is NULL to read
 *  them from f's options.value_column; otherwise value is ignored.  Rows that cannot be scored are kept with their reason; the call fails
 *  only for the frame as a whole (a missing id, value or input column: PROP_ERR_SCHEMA) or out of
 *  memory.  PROP_ERR_STATE after prop_calllist_finish(). */
PROP_API int prop_calllist_add(prop_calllist *cl, const prop_frame *f, const double *value);
/*! Score nrows dense rows (as prop_model_predict_dense() takes them) and append them: ids[i] is row i's
 *  id (NULL: the rows are numbered from 1 in the order added; a NULL or empty id leaves its row unscored),
 *  value[i] its value when ranking by value (required then).  A row that cannot be scored is kept with
 *  "<source>: row N: <why>" as its reason. */
PROP_API int prop_calllist_add_dense(prop_calllist *cl, const void *X, prop_dtype dtype, size_t nrows, size_t ncols,
                                     size_t row_stride, const char *const *ids, const double *value);
/*! Rank the list (once; later calls do nothing). */
PROP_API int prop_calllist_finish(prop_calllist *cl);
/*! Rows added, rows selected (after finish) and rows that could not be scored. */
PROP_API size_t prop_calllist_n_rows(const prop_calllist *cl);
PROP_API size_t prop_calllist_n_selected(const prop_calllist *cl);
PROP_API size_t prop_calllist_n_unscored(const prop_calllist *cl);
/*! The list's columns: their number and column j's name (static), NULL beyond them. */
PROP_API size_t prop_calllist_n_columns(const prop_calllist *cl);
PROP_API const char *prop_calllist_column(const prop_calllist *cl, size_t j);
/*! The list as arrays in output order (after finish; n_rows entries each, caller-allocated, any may be
 *  NULL): the input row (0-based, in the order rows were added), probability (NaN unscored), band, rank,
 *  dialer rank and selected (0/1). */
PROP_API int prop_calllist_get(const prop_calllist *cl, size_t *input_row, double *prob, int *band, size_t *rank,
                               int *dialer_rank, unsigned char *selected);
/*! Output row k's id and its reason (NULL when it was scored); owned by the list, valid until it is
 *  freed.  NULL before finish or beyond the rows. */
PROP_API const char *prop_calllist_id(const prop_calllist *cl, size_t k);
PROP_API const char *prop_calllist_error(const prop_calllist *cl, size_t k);
/*! Output row k's reason q (0-based, below options.reasons) as "input=value", or NULL when it has fewer
 *  (an unscored row has none); owned by the list. */
PROP_API const char *prop_calllist_reason(const prop_calllist *cl, size_t k, size_t q);
/*! Write the header and every row to w (after finish); w is not committed: the caller commits or
 *  aborts it. */
PROP_API int prop_calllist_write(const prop_calllist *cl, prop_writer *w);
PROP_API void prop_calllist_free(prop_calllist *cl);

/* ---------------------------------------------------------------------------------------------
 * Explanation
 * ------------------------------------------------------------------------------------------- */
/*! Gain importance per input feature (prop_model_n_inputs entries into imp, caller-allocated),
 *  taken from the XGBoost member when the model has one, else from the first member that reports
 *  importance (impurity decrease for trees, |coefficient| for logistic).  One-hot columns are summed
 *  back onto their original feature.  *member (may be NULL) gets the member's name (static).
 *  PROP_ERR_STATE when no member reports importance. */
PROP_API int prop_model_importance(const prop_model *m, double *imp, const char **member);

/*! Permutation importance of the whole pipeline on labelled rows f (held out from training):
 *  for each input feature, the mean drop in AUC over n_repeats shuffles of that feature's column
 *  (seeded; n_repeats >= 1, else PROP_ERR_ARG).  imp[prop_model_n_inputs] (caller-allocated);
 *  *base_auc (may be NULL) gets the unshuffled AUC.  The target column is the model's, its labels
 *  read as prop_model_target_values() reads them.  Thread-safe. */
PROP_API int prop_model_permutation_importance(const prop_model *m, const prop_frame *f, size_t n_repeats,
                                               uint64_t seed, double *imp, double *base_auc);

/* ---------------------------------------------------------------------------------------------
 * Out-of-time validation
 * ------------------------------------------------------------------------------------------- */
/*! prop_backtest(): for each month k+1 of opt->time_col (read by prop_frame_periods(), in time
 *  order), train recipe r on months 1..k and score month k+1 (starting after min_train_months
 *  months; 0 is PROP_ERR_ARG); each month is named in the report and messages by prop_period_name().  For
 *  each scored month: rows, positives, AUC, the band table, calibration error (ECE, 10 bins) and
 *  the share of acceptances captured in the top 10/20/30% of the list.  *json (library-allocated: free it with
 *  prop_free()) gets the report (schema in README "Back-testing").  Progress goes to opt->progress.  A row
 *  that cannot be used (a read error of a non-strict read, an infinite number) is an error
 *  naming its source row, in a training month as in a scored one: no month's figures leave a row
 *  out. */
PROP_API int prop_backtest(const prop_frame *f, const prop_recipe *r, const prop_train_options *opt,
                           size_t min_train_months, char **json);

/* ---------------------------------------------------------------------------------------------
 * Monitoring: does the model still hold for this month's rows?
 * ------------------------------------------------------------------------------------------- */
/*! Levels of drift, from the stability indices (thresholds in prop_monitor_options). */
typedef enum prop_drift_level {
  PROP_DRIFT_OK = 0,    /*!< below the watch threshold (default 0.1) */
  PROP_DRIFT_WATCH = 1, /*!< from the watch threshold to below the act threshold (default 0.25) */
  PROP_DRIFT_ACT = 2    /*!< at or above the act threshold */
} prop_drift_level;

/*! Options of prop_monitor().  Initialise with prop_monitor_options_default(). */
typedef struct prop_monitor_options {
  size_t struct_size;   /*!< set by prop_monitor_options_default() (see "Option structs" at the top) */
  const char *target;   /*!< NULL (default): no outcomes.  Else the outcome column: the report adds the
                             AUC and, per band, the observed rate against the band's range */
  const char *positive; /*!< the positive label of target; NULL: the model's */
  const char *time_col; /*!< NULL (default), or a column of periods: the report adds one entry per period
                             (in sorted order), for a trend */
  double watch, act;    /*!< drift thresholds of the stability indices; defaults 0.1 and 0.25 (0 <
                             watch <= act, else PROP_ERR_ARG) */
  int nthread;          /*!< scoring threads; 0 = all processors */
  const char *data_path; /*!< the file f came from, recorded in the report (may be NULL) */
} prop_monitor_options;

PROP_API void prop_monitor_options_default(prop_monitor_options *opt);
/*! 1 when model m keeps a reference of its training rows (models trained by this version and later),
 *  0 when it does not (older model files), for prop_monitor(). */
PROP_API int prop_model_has_reference(const prop_model *m);
/*! prop_monitor(): compare the rows of f with model m's training rows.  The report (*json,
 *  library-allocated: free it with prop_free()) holds the score's population stability index
 *  (score_psi, over the training scores' deciles), each input's characteristic stability index
 *  (inputs[], sorted by csi descending, each with its status ok, watch or act), the band shares against
 *  the training's, and with opt->target the AUC and each band's observed rate with its Wilson 95%
 *  interval against the band's range; with opt->time_col the same per period.  The schema is in
 *  README "Monitoring".  Bins and smoothing: a stability index is sum (a - e) ln(a / e) over bins whose
 *  shares are smoothed as (count + 0.5) / (rows + 0.5 bins), so empty bins stay finite; an unseen
 *  category has a bin of its own.  *worst (may be NULL) gets the highest prop_drift_level of the
 *  score and the inputs over all rows.  PROP_ERR_STATE for a model without a reference
 *  (prop_model_has_reference()), PROP_ERR_SCHEMA naming an input (or the target, or the time
 *  column) missing from f.  Rows that cannot be read or scored are left out and counted
 *  (unscored_rows).  Thread-safe. */
PROP_API int prop_monitor(const prop_model *m, const prop_frame *f, const prop_monitor_options *opt, char **json,
                          int *worst);

/* ---------------------------------------------------------------------------------------------
 * Bands and band tables
 * ------------------------------------------------------------------------------------------- */
/*! The seven default edges: 0, .1, .2, .3, .4, .5, .7, 1. */
#define PROP_DEFAULT_NBANDS 7

/*! One row of a band table. */
typedef struct prop_band_row {
  int band;              /*!< 1..nbands */
  double lo, hi;         /*!< the band's range of probability */
  size_t count;          /*!< rows in the band */
  double share;          /*!< count / scored rows (rows with a NaN probability are left out) */
  size_t positives;      /*!< rows with target = positive */
  double success_rate;   /*!< positives / count (NaN when count = 0) */
  double success_lo, success_hi; /*!< Wilson 95% interval of success_rate */
  double lift;           /*!< success_rate / base rate of the scored rows */
  double mean_prob;      /*!< mean predicted probability in the band */
  size_t connected;      /*!< rows with connected = 1 (0 when no connected column) */
  double connect_rate;   /*!< connected / count (NaN when no connected column) */
  double success_connected; /*!< positives among connected / connected (NaN when none) */
} prop_band_row;

/*! Compute a band table from probabilities prob[n], labels y[n] (0/1) and optional connected[n]
 *  (0/1, NULL when absent) with edges[nbands+1].  Rows with NaN prob are skipped and counted in
 *  *n_unscored (may be NULL); any other value outside [0, 1] is PROP_ERR_VALUE naming its index,
 *  and edges that are not 0 < ... < 1 (2 to 64 bands) are PROP_ERR_ARG.  rows must hold nbands entries (caller-allocated).  Thread-safe. */
PROP_API int prop_band_table(const double *prob, const int *y, const int *connected, size_t n,
                             const double *edges, size_t nbands, prop_band_row *rows, size_t *n_unscored);

/* ---------------------------------------------------------------------------------------------
 * Metrics (all thread-safe; NaN entries of score are an error)
 * ------------------------------------------------------------------------------------------- */
/*! Area under the ROC curve (ties count one half).  PROP_ERR_TRAIN when y has one class. */
PROP_API int prop_metric_auc(const double *score, const int *y, size_t n, double *auc);

/* ---------------------------------------------------------------------------------------------
 * Demo data
 * ------------------------------------------------------------------------------------------- */
/*! Parameters of the synthetic installment-campaign generator (see README "Demo data"). */
typedef struct prop_demo_options {
  size_t struct_size; /*!< set by prop_demo_options_default() (see "Option structs" at the top) */
  uint64_t seed;          /*!< default 42 */
  size_t customers_per_month; /*!< default 4000; at most 10^8 */
  size_t months;          /*!< default 6; at most 1200, and at most 10^9 rows in all */
  double missing_rate;    /*!< share of missing cells in income / card age; default 0.03 */
  size_t first_month;     /*!< number of the first month written; default 1.  Month m's customers are
                               the same whatever range is written, so files split by month agree. */
  int with_outcomes;      /*!< 1 (default): write connected, accepted, installment_amount; 0: a call
                               list to score (no outcome columns) */
  int drift;              /*!< 0 (default).  1: the customers drift from the story (monitoring's demo): a
                               richer intake (incomes about 57% higher) and a card mix moved to platinum */
} prop_demo_options;

PROP_API void prop_demo_options_default(prop_demo_options *opt);
/*! Write the demo CSV atomically to path.  Same options give the same bytes on every machine. */
PROP_API int prop_demo_write_csv(const char *path, const prop_demo_options *opt);

/* ---------------------------------------------------------------------------------------------
 * Model comparison: every member alone and the ensemble, on one held-out split
 * ------------------------------------------------------------------------------------------- */
/*! Options of prop_compare().  Initialise with prop_compare_options_default(). */
typedef struct prop_compare_options {
  size_t struct_size; /*!< set by prop_compare_options_default() (see "Option structs" at the top) */
  /*! Columns, threads and callbacks, as for training (required): target (required), positive, id, ignore,
   *  connected (adds connect rates to the band table), time_col, nthread, log, progress, user.  A
   *  pointer, so that either struct can grow on its own. */
  const prop_train_options *train;
  /*! With train.time_col: the last month (largest value) is the test set.  Without: a stratified
   *  split putting test_frac of each class in the test set (default 0.3, in (0,1)).  Both are
   *  unused when test is given. */
  double test_frac;
  uint64_t seed;             /*!< seed of the stratified split (default 42); members use the recipe's seed */
  size_t batch_runs;         /*!< batch predictions of the test rows per model (default 5); the median
                                  rate is reported */
  double batch_budget_seconds; /*!< stop repeating a model's batch runs once they took this long
                                  (default 3; at least one run is always made) */
  size_t latency_runs;       /*!< single-row calls timed per model (default 2000) */
  size_t max_curve_points;   /*!< ROC curve points kept per model, 2..10000 (default 200) */
  int backtest;              /*!< 1 (default): with train.time_col, add prop_backtest()'s monthly series */
  size_t min_train_months;   /*!< months before the first back-tested month (default 1) */
  const char *data_path;     /*!< the CSV the frame came from, or NULL: recorded with its SHA-256 */
  /*! NULL (default): split f as above.  Otherwise the held-out rows, with the same columns as f
   *  (the target, the inputs, connected when given; labels matched by name, categories by label):
   *  no split is made, every row of f trains and every row of test is measured, so another tool
   *  can use exactly the same rows.  train.time_col then only keeps that column out of the
   *  inputs, and the back-test (when on) runs over f's months. */
  const prop_frame *test;
  const char *test_data_path; /*!< the CSV test came from, or NULL: recorded with its SHA-256 */
} prop_compare_options;

PROP_API void prop_compare_options_default(prop_compare_options *opt);

/*! prop_compare(): the analyst's model comparison.  Splits f into training and test rows (see
 *  prop_compare_options; or takes the test rows from opt->test), fits the recipe's encoders on the training rows only, then for every
 *  member of recipe r (NULL = the default recipe) fits that member alone on the encoded training
 *  rows and measures it on the test rows; then trains the whole pipeline with prop_model_train()
 *  on the training rows and measures it through prop_model_predict_frame() and prop_scorer.  Per
 *  model: AUC, PR-AUC, KS, log-loss, Brier, ECE, capture and lift at 10/20/30%, fit time, batch
 *  rows/s, single-row latency p50/p99 and curves (ROC, cumulative gains, reliability); for the
 *  ensemble also the band table of the test rows and the importance per input; with a time
 *  column the back-test series.  Every AUC gets its DeLong 95% interval, every member a paired
 *  DeLong test against the ensemble, and the report a recommendation (which model, why, at what
 *  cost in p99 latency and fit time); bands and reliability bins under 30 rows are flagged.  *json
 *  (library-allocated: free it with prop_free()) gets the report, documented field by
 *  field in bench/README.md (schema_version 1).  Timings are wall-clock on this machine. */
PROP_API int prop_compare(const prop_frame *f, const prop_recipe *r, const prop_compare_options *opt, char **json);

/* ---------------------------------------------------------------------------------------------
 * Time columns: how train, compare, backtest, bands and monitor read the month column
 * ------------------------------------------------------------------------------------------- */
/*! How a time column writes its periods.  One format per column. */
typedef enum prop_period_format {
  PROP_PERIOD_INTEGER = 0,    /*!< whole numbers (1, 2, ...); named as the number, "6" */
  PROP_PERIOD_YYYYMM = 1,     /*!< whole numbers that are all six digits with a month 01..12 (202606);
                                   named "2026-06" */
  PROP_PERIOD_YEAR_MONTH = 2, /*!< text YYYY-MM (2026-06); named "2026-06" */
  PROP_PERIOD_DATE = 3        /*!< ISO dates YYYY-MM-DD (2026-06-15), each read as its month; named "2026-06" */
} prop_period_format;

/*! prop_frame_periods(): column `name` of f read as a time column, one period per row.  A cell is a
 *  whole number (a numeric cell, or text reading as one: "6", "202606"), YYYY-MM or an ISO date
 *  YYYY-MM-DD (read as its month: back-tests are monthly); spaces around the text are ignored.
 *  key[i] (nrows entries, caller-allocated; may be NULL to only check the column) gets a number that
 *  orders the periods: the number itself, or year x 100 + month for the other formats (so 202606,
 *  "2026-06" and "2026-06-15" share the key 202606).  *format (may be NULL) gets the column's
 *  prop_period_format.  Errors: PROP_ERR_SCHEMA when the column is absent; PROP_ERR_VALUE naming
 *  file, row and column for a missing cell, a cell that is no period ("2026-13", "June", 2.5), and
 *  a cell of another format than the column's first row (both rows named).  Thread-safe on a frame
 *  no thread modifies. */
PROP_API int prop_frame_periods(const prop_frame *f, const char *name, double *key, int *format);

/*! prop_period_name(): the name outputs give a period: "2026-06" for the month formats, the number
 *  ("6") for PROP_PERIOD_INTEGER.  Writes a NUL-terminated string of at most n bytes into buf (24
 *  bytes are enough).  PROP_ERR_ARG when buf is NULL, n < 2 or format is not a prop_period_format.
 *  Thread-safe. */
PROP_API int prop_period_name(double key, int format, char *buf, size_t n);
/* ---------------------------------------------------------------------------------------------
 * Contact model and call plan
 *
 * When, on which channel and by whom each customer is called.  prop_contact_fit() learns from
 * past contact attempts each customer's P(connect) in every cell of a grid (day type x 2-hour
 * block x channel, models/README.md "The contact model"); a policy (JSON, models/README.md "The
 * call policy") says which tiers of callers there are, what they take and how many calls each
 * makes per slot; prop_plan_create() assigns every row of a scored call list to a tier and a cell
 * so that the total expected value P(connect) x P(accept | connected) x multiplier x value is the
 * largest the capacities allow.
 * ------------------------------------------------------------------------------------------- */
/*! A fitted contact model.  Read-only after fit or load: any number of threads may use one. */
typedef struct prop_contact prop_contact;

/*! prop_contact_options.tz_minutes: read each timestamp's date and hour as written. */
#define PROP_CONTACT_TZ_AS_WRITTEN (-100000)

/*! Options of prop_contact_fit().  Initialise with prop_contact_options_default(). */
typedef struct prop_contact_options {
  size_t struct_size;          /*!< set by prop_contact_options_default() (see "Option structs" at the top) */
  const char *id;              /*!< history: the customer id column (required) */
  const char *time;            /*!< history: the ISO 8601 timestamp column (required), e.g.
                                    2026-03-14T10:37:00, 2026-03-14T10:37:00Z, 2026-03-14T10:37:00+02:00 */
  const char *channel;         /*!< history: the channel column (required), e.g. mobile, home */
  const char *outcome;         /*!< history: the outcome column (required): connected or not */
  const char *positive;        /*!< the outcome label meaning connected; NULL: labels are 0/1 and 1
                                    is connected.  With a label given, the column may hold one
                                    other label (the first seen is "not connected"); a third label
                                    is PROP_ERR_CATEGORY naming file, row, column and label */
  const char *customer_id;     /*!< the customers frame's id column; NULL: the same name as id */
  const char *const *segment_cols; /*!< the customers frame's segment columns (e.g. an age band);
                                    a segment is one combination of their labels */
  size_t n_segment_cols;
  const char *const *channels; /*!< the grid's channels, in order; NULL: every channel of the
                                    history, in byte order.  Given, a history row on another
                                    channel is PROP_ERR_VALUE naming file, row and column */
  size_t n_channels;
  int first_hour;              /*!< the first block's start hour; default 8 */
  int block_hours;             /*!< hours per block; default 2 */
  int n_blocks;                /*!< blocks per day; default 7 (08:00 to 22:00).  The blocks must
                                    end by 24:00.  A history time outside them is PROP_ERR_VALUE */
  int tz_minutes;              /*!< PROP_CONTACT_TZ_AS_WRITTEN (default): a timestamp's date and
                                    hour are taken as written, zone or not (the local time of the
                                    zone its offset names).  Else the customers' UTC offset in
                                    minutes (-840..840): a timestamp with a zone (Z, +02:00) is
                                    moved to that offset first; one without stays as written */
  double holdout_fraction;     /*!< share of the history, the latest by time, held out for the
                                    honesty check (default 0.2; 0 = none; at most 0.5) */
  int nthread;                 /*!< threads (0 = all processors); the fit is the same for any count */
  prop_log_fn log;             /*!< may be NULL */
  void *user;                  /*!< passed to log */
} prop_contact_options;

PROP_API void prop_contact_options_default(prop_contact_options *opt);

/*! prop_contact_fit(): fit the contact model on history (one row per contact attempt: opt->id,
 *  opt->time, opt->channel, opt->outcome; string columns, e.g. read with prop_frame_read_csv()
 *  declaring them PROP_COL_ID or PROP_COL_CATEGORICAL; a 0/1 numeric outcome is accepted) and the
 *  optional customers frame (opt->customer_id and opt->segment_cols; may be NULL, then there are no
 *  segments).  A customer of the customers frame without history gets its segment's cells; a
 *  history customer missing from the customers frame belongs to no segment.  Every bad history row
 *  stops the fit with PROP_ERR_VALUE (or PROP_ERR_CATEGORY for an outcome label) naming the frame's
 *  file, the row and the column: a missing id, a time that is not ISO 8601, a time outside the
 *  grid, a channel outside opt->channels, an unknown outcome label.  An empty history is
 *  PROP_ERR_TRAIN.  A missing column is PROP_ERR_SCHEMA; a duplicate customer id in the customers
 *  frame is PROP_ERR_VALUE naming its row.  With opt->holdout_fraction > 0 (and at least 20
 *  attempts) the model is first fitted on the earlier attempts and measured on the latest ones
 *  (prop_contact_report_json), then refitted on all of them.  Free *out with prop_contact_free().
 *  Deterministic; thread-safe on distinct outputs. */
PROP_API int prop_contact_fit(const prop_frame *history, const prop_frame *customers,
                              const prop_contact_options *opt, prop_contact **out);

/*! Save c to path atomically (versioned and check-summed: the model file's container with the
 *  contact model's own sections). */
PROP_API int prop_contact_save(const prop_contact *c, const char *path);
/*! The contact model file's bytes in memory (for a caller writing them itself, e.g. through a
 *  prop_writer that refuses to replace an input).  *data is library-allocated: free with prop_free(). */
PROP_API int prop_contact_save_to_buffer(const prop_contact *c, unsigned char **data, size_t *len);
/*! Load a contact model file.  Refuses, each with its own code, another program's file
 *  (PROP_ERR_FORMAT; a propensity model file too), a newer layout (PROP_ERR_VERSION), a truncated
 *  file (PROP_ERR_TRUNCATED) and a corrupted one (PROP_ERR_CORRUPT: every count and index is
 *  checked).  It is read with prop_model_load's bounds (at most 4 GiB; a stream stops at its first
 *  8 bytes when they are not this container's).  Free *out with prop_contact_free(). */
PROP_API int prop_contact_load(const char *path, prop_contact **out);
/*! Free a contact model.  NULL is a no-op. */
PROP_API void prop_contact_free(prop_contact *c);

/*! Number of cells of c's grid (2 day types x blocks x channels). */
PROP_API size_t prop_contact_n_cells(const prop_contact *c);
/*! Cell k: its channel name and day type ("weekday" or "weekend"; both owned by c, valid until
 *  prop_contact_free) and its block's start hour.  Any output may be NULL.  PROP_ERR_RANGE when k
 *  is out of range.  Cells are ordered by day type, then block, then channel. */
PROP_API int prop_contact_cell(const prop_contact *c, size_t k, const char **channel, const char **day, int *hour);
/*! The segment columns (owned by c) into *names; returns their count (0: no segments). */
PROP_API size_t prop_contact_segment_columns(const prop_contact *c, const char *const **names);
/*! The column a customers frame's ids are in (the customers frame's id column at fit; owned by c). */
PROP_API const char *prop_contact_customer_id_column(const prop_contact *c);
/*! The fit report as JSON (owned by c, valid until prop_contact_free): counts, the estimated
 *  shrinkage, and the held-out check (log-loss, Brier, calibration of the global-only and
 *  segment-only baselines and of the whole model; schema in models/README.md). */
PROP_API const char *prop_contact_report_json(const prop_contact *c);

/*! prop_contact_predict(): P(connect) of every row of f in every cell into p (nrows x n_cells,
 *  row-major, caller-allocated).  A row's customer is looked up by the id in column id_col (NULL:
 *  c's customer id column): a customer with history gets its own cells; one known from the
 *  customers frame at fit gets its segment's; any other gets the segment named by f's segment
 *  columns when f has them all and the segment is known, else the global cells.  A missing id is
 *  an unknown customer.  PROP_ERR_SCHEMA when f lacks id_col.  Thread-safe. */
PROP_API int prop_contact_predict(const prop_contact *c, const prop_frame *f, const char *id_col, double *p);

/*! prop_contact_best(): each row's best cell (the first of the largest P(connect), in cell order)
 *  into cell[nrows] and its P(connect) into p[nrows] (either may be NULL; caller-allocated).  Rows
 *  and customers as for prop_contact_predict().  Thread-safe. */
PROP_API int prop_contact_best(const prop_contact *c, const prop_frame *f, const char *id_col, size_t *cell,
                               double *p);

/*! A call policy: tiers, open slots, attempt cap, phone columns (models/README.md "The call
 *  policy").  Read-only once parsed. */
typedef struct prop_policy prop_policy;

/*! Parse a policy from JSON text against contact model c (its channels and slots).  Every bad
 *  value is PROP_ERR_RECIPE naming the field by its path, after source (may be NULL):
 *  "policy.json: tiers[1].capacity_per_slot: must be an integer in [0, 1000000000], got -5"; a
 *  JSON syntax error names its line and column.  A UTF-8 byte order mark at the start of the text
 *  is skipped.  Free *out with prop_policy_free(). */
PROP_API int prop_policy_parse(const char *json, const char *source, const prop_contact *c, prop_policy **out);
/*! Read and parse a policy file (errors name the file).  A policy file is at most 1 MiB, read with
 *  prop_recipe_load's bounds (PROP_ERR_IO otherwise); a NUL byte in it is PROP_ERR_RECIPE. */
PROP_API int prop_policy_load(const char *path, const prop_contact *c, prop_policy **out);
PROP_API void prop_policy_free(prop_policy *p);
/*! The call list's column holding the phone number for channel ch (an index of c's channels,
 *  owned by p), or NULL when the policy maps none. */
PROP_API const char *prop_policy_phone_column(const prop_policy *p, size_t ch);

/*! The rows to plan.  Initialise with prop_plan_input_default(); every array has n entries
 *  (p_connect n x prop_contact_n_cells), owned by the caller and only read during
 *  prop_plan_create(). */
typedef struct prop_plan_input {
  size_t struct_size;             /*!< set by prop_plan_input_default() (see "Option structs" at the top) */
  size_t n;                       /*!< rows */
  const char *const *ids;         /*!< customer ids (required; a NULL or empty entry: a missing id,
                                       not called), for the attempt cap and the output */
  const double *probability;      /*!< P(accept | connected) of each row (required): a model
                                       trained on connected calls.  NaN: the row was not scored */
  const int *band;                /*!< bands 1..nbands, 0 for unscored rows (required) */
  size_t nbands;                  /*!< the model's number of bands (1..64) */
  const double *value;            /*!< value of an acceptance (e.g. an amount), NaN counted as 0; NULL: 1 */
  const double *p_connect;        /*!< P(connect) per row and cell (required), e.g. from
                                       prop_contact_predict() */
  const char *const *row_error;   /*!< NULL, or why a row was not scored (kept as its reason) */
  const char *const *phones;      /*!< NULL, or n x channels phone numbers (row-major; NULL or
                                       empty: the customer cannot be called on that channel) */
} prop_plan_input;

PROP_API void prop_plan_input_default(prop_plan_input *in);

/*! Options of prop_plan_create().  Initialise with prop_plan_options_default(). */
typedef struct prop_plan_options {
  size_t struct_size;      /*!< set by prop_plan_options_default() (see "Option structs" at the top) */
  size_t exact_max_rows;   /*!< the exact assignment runs when the rows that compete for capacity
                                (whose best call in a capacitated tier beats their best without a
                                limit) are at most this many (default 50000, about 3 s; its time grows
                                with their square; 0 = never); the greedy one always runs, and the plan
                                is the exact one when it ran */
  int nthread;             /*!< threads (0 = all processors) */
} prop_plan_options;

PROP_API void prop_plan_options_default(prop_plan_options *opt);

/*! A computed call plan (one entry per input row).  Read-only. */
typedef struct prop_plan prop_plan;

/*! prop_plan_create(): assign each row of in to at most one (tier, cell) under policy pol and
 *  contact model c, maximising the total expected value P(connect at cell) x probability x the
 *  tier's acceptance multiplier x value, within each tier's capacity per slot.  Greedy (the best
 *  expected value first) is the baseline; the exact optimum (successive shortest paths on the
 *  min-cost flow of rows to tier-slots) is computed too when small enough, and the plan is the
 *  exact one then; prop_plan_summary_json reports both and the gap.  Rows not called keep their
 *  row with an empty tier and the reason (not scored, attempt cap, no tier takes the band, no
 *  capacity left in any open slot of the tiers that take it, no phone).  A tier band beyond
 *  in->nbands is PROP_ERR_RECIPE naming the field; a probability or P(connect) outside [0, 1]
 *  (NaN probability aside) is PROP_ERR_VALUE naming the row.  Deterministic (ties by row order),
 *  the same for every thread count.  Free *out with prop_plan_free(). */
PROP_API int prop_plan_create(const prop_policy *pol, const prop_contact *c, const prop_plan_input *in,
                              const prop_plan_options *opt, prop_plan **out);
PROP_API void prop_plan_free(prop_plan *p);

/*! One row of a plan (prop_plan_row).  Strings are owned by the plan (valid until
 *  prop_plan_free), "" when absent. */
typedef struct prop_plan_row {
  size_t struct_size;      /*!< set by the caller to sizeof(prop_plan_row) */
  const char *tier;        /*!< the tier's name, "" when the row is not called */
  long tier_index;         /*!< index of the tier in the policy, -1 when not called */
  long cell;               /*!< the cell (prop_contact_cell), -1 when not called */
  size_t slot;             /*!< the slot (day type x block: cell / channels) when called */
  double p_connect;        /*!< P(connect) at the cell; NaN when not called */
  double expected_value;   /*!< the call's expected value; NaN when not called */
  size_t slot_rank;        /*!< 1 = called first in its slot (by expected value); 0 when not called */
  int dialer_rank;         /*!< VICIdial rank in its slot's list (higher first): 32768 - slot_rank,
                                at least 1; 0 when not called */
  const char *phone;       /*!< the number to call on the cell's channel, "" without phones */
} prop_plan_row;

/*! Row i of p into *row.  row->struct_size must be set to sizeof(prop_plan_row): a caller built
 *  against an older, shorter prop_plan_row gets the fields it knows (the extensible-struct rule).
 *  PROP_ERR_RANGE when i >= the rows. */
PROP_API int prop_plan_row_get(const prop_plan *p, size_t i, prop_plan_row *row);
/*! Number of rows of p. */
PROP_API size_t prop_plan_n_rows(const prop_plan *p);
/*! The plan's summary as JSON (owned by p): the method used, the greedy and exact totals and the
 *  gap, calls and expected connects, acceptances and value per tier, loads per tier and slot,
 *  rows not called by reason. */
PROP_API const char *prop_plan_summary_json(const prop_plan *p);

/*! Output layouts of a plan. */
typedef enum prop_plan_format {
  PROP_PLAN_CSV = 0,      /*!< one row per input row: id,probability,band,tier,channel,day,hour,
                               p_connect,expected_value,slot_rank,error */
  PROP_PLAN_VICIDIAL = 1  /*!< VICIdial's list loader, format "stdrankowner" (29 tab-separated
                               fields, no header), one file per slot, called rows only: mapping
                               in models/README.md "VICIdial lead files" */
} prop_plan_format;

/*! The layout's column names (static storage) into *names; returns their count (0 for an unknown
 *  format). */
PROP_API size_t prop_plan_columns(int format, const char *const **names);
/*! Row i's fields in layout format: fields[k] (prop_plan_columns entries, caller-allocated) point
 *  into buf (cap bytes) or static strings, in the C locale.  VICIdial fields never hold a tab, a
 *  '|' or a line break (replaced by spaces).  PROP_ERR_RANGE for i out of range, PROP_ERR_ARG for
 *  an unknown format or a buffer too small (4096 bytes always suffice for ids and reasons of up to
 *  1000 bytes); PROP_ERR_STATE for a VICIdial row that is not called.  Thread-safe. */
PROP_API int prop_plan_row_fields(const prop_plan *p, size_t i, int format, const char **fields, char *buf,
                                  size_t cap);

/*! prop_plan_write(): the plan CSV (a header, then one row per input row in input order: the
 *  PROP_PLAN_CSV layout) through writer w, which the caller commits or aborts.  The CLI's `plan` and
 *  Python's Model.plan write plans with it. */
PROP_API int prop_plan_write(const prop_plan *p, prop_writer *w);
/*! The plan's slots (day types x blocks: a cell's slot is its index / channels) and the calls in slot s. */
PROP_API size_t prop_plan_n_slots(const prop_plan *p);
PROP_API size_t prop_plan_slot_calls(const prop_plan *p, size_t s);
/*! Slot s's name, e.g. "weekday_10" (its day type and start hour), into buf (cap bytes; 16 suffice). */
PROP_API int prop_plan_slot_name(const prop_plan *p, size_t s, char *buf, size_t cap);
/*! prop_plan_write_slot(): slot s's VICIdial lead file (its called rows in slot_rank order, the
 *  PROP_PLAN_VICIDIAL layout, no header) through w, which should be opened with a tab delimiter and
 *  no_quoting (VICIdial's loader splits on tabs and keeps quotes). */
PROP_API int prop_plan_write_slot(const prop_plan *p, size_t s, prop_writer *w);

/*! The rows of a call plan gathered chunk by chunk, as prop_calllist gathers a call list: each row
 *  scored with the model (ids, probabilities, bands, values and the reasons of rows that cannot be
 *  scored, exactly as `score` keeps them), its P(connect) in every cell of the contact model, and
 *  its phone numbers in the policy's phone columns; then planned.  The model, contact model and policy
 *  must outlive the list.  One thread at a time per list. */
typedef struct prop_planlist prop_planlist;

/*! Options of prop_planlist_create().  Initialise with prop_planlist_options_default(). */
typedef struct prop_planlist_options {
  size_t struct_size;                  /*!< set by prop_planlist_options_default() */
  const prop_predict_options *predict; /*!< scoring (threads, unseen categories); NULL: defaults */
  const char *value_column;            /*!< the value of an acceptance (numeric); NULL: 1 for every row */
  const char *source;                  /*!< the data's name in row reasons; NULL: each chunk's own */
} prop_planlist_options;

PROP_API void prop_planlist_options_default(prop_planlist_options *opt);
/*! A new, empty plan list.  PROP_ERR_SCHEMA when the model has no id column (a plan needs customer ids).
 *  Free with prop_planlist_free(). */
PROP_API int prop_planlist_create(const prop_model *m, const prop_contact *c, const prop_policy *pol,
                                  const prop_planlist_options *opt, prop_planlist **out);
/*! Score the rows of f and append them with their P(connect) per cell and their phones: f needs the
 *  model's inputs and id column, the value column when one is named and the policy's phone columns
 *  (PROP_ERR_SCHEMA naming a missing one); the contact model's segment columns are used when f has them
 *  (prop_contact_predict()). */
PROP_API int prop_planlist_add(prop_planlist *pl, const prop_frame *f);
/*! The plan of the rows added (prop_plan_create() with opt; free *out with prop_plan_free()). */
PROP_API int prop_planlist_plan(const prop_planlist *pl, const prop_plan_options *opt, prop_plan **out);
PROP_API size_t prop_planlist_n_rows(const prop_planlist *pl);
PROP_API void prop_planlist_free(prop_planlist *pl);

/*! prop_demo_write_contacts(): the demo's contact data for the customers of months
 *  opt->first_month .. first_month + months - 1 (the customers prop_demo_write_csv() writes for those
 *  months; opt->customers_per_month at most 10^7, months at most 120), each file atomically:
 *   - history_path: customer_id,time,channel,outcome: each customer's past attempts (none for 12%,
 *     else 4 to 20) in the 17 weeks before its month, in time order; channels home, mobile, office;
 *     outcome connected or no_answer;
 *   - customers_path: customer_id,age_band,plans,mobile_phone,home_phone,office_phone (plans:
 *     none, one or several past installment plans);
 *   - truth_path: customer_id,p_accept and the planted P(connect) of each of the 42 cells of the
 *     default grid (weekday_08_home ... weekend_20_office, the contact model's cell order).
 *  The same options give the same bytes on every machine (README "Demo data"). */
PROP_API int prop_demo_write_contacts(const char *history_path, const char *customers_path, const char *truth_path,
                                      const prop_demo_options *opt);

/* ---------------------------------------------------------------------------------------------
 * Contributions and reasons
 * ------------------------------------------------------------------------------------------- */
/*! prop_model_contributions_dense(): why the model scores each row as it does.  For every row of a
 *  dense matrix (the layout of prop_model_predict_dense(): ncols == prop_model_n_inputs(m) inputs in
 *  schema order, numbers and category codes, row_stride in elements), one contribution per input into
 *  contrib[i * ncols + j] (caller-allocated, nrows x ncols), and one base into *base (may be NULL;
 *  the same for every row), such that base + the row's contributions = the ensemble's uncalibrated
 *  log-odds of the row: for the logit vote the weighted mean of the members' log-odds, for the soft
 *  and hard votes the log-odds of the vote (its probability clamped to [1e-6, 1 - 1e-6]), before the
 *  calibrator (which is increasing, so a positive contribution raises the probability).  Exact to
 *  within 1e-9 of the log-odds.  The encoded columns of an input (one-hot, missing indicator,
 *  <other>) are summed into it.  Which parts are exact Shapley values (the tree members' TreeSHAP,
 *  the logistic member's linear terms), which are mappings (a member whose space differs from the
 *  vote's) and which are estimates (svc and knn, by permutation sampling over a background of
 *  training rows): models/README.md, "Contributions".  The cost is high: about the nodes of all the
 *  trees times a few operations per row for the tree members, and hundreds of predictions per row
 *  for svc and knn (bench/README.md has the figures).  A row that cannot be scored (see
 *  prop_model_predict_dense) gets NaN contributions and its status in status[i] (status may be
 *  NULL); the call itself succeeds.  opt (may be NULL) as for prediction: threads, block_rows (0:
 *  automatic blocks of at most 128 rows), unseen; uncalibrated is ignored.  Rows are independent:
 *  the same bits for any thread count, block size, and for one row alone.  PROP_ERR_STATE when a
 *  member cannot explain: a model file whose logistic or svc member was written before contributions
 *  existed (retrain it).  Thread-safe. */
PROP_API int prop_model_contributions_dense(const prop_model *m, const void *X, prop_dtype dtype, size_t nrows,
                                            size_t ncols, size_t row_stride, double *contrib, double *base,
                                            int *status, const prop_predict_options *opt);

/*! prop_model_contributions_frame(): the same for every row of f (columns matched by name, as
 *  prop_model_predict_frame()); contrib has prop_frame_n_rows(f) x prop_model_n_inputs(m) entries. */
PROP_API int prop_model_contributions_frame(const prop_model *m, const prop_frame *f, double *contrib, double *base,
                                            int *status, const prop_predict_options *opt);

/*! The contributions file, as `propensity explain` writes it: prop_contributions_header() writes its
 *  header to w (id,base,logodds, one column per input, error); prop_contributions_write() scores the rows
 *  of f (a chunk, or a whole frame) and writes one row each, in input order: the id (the model's id
 *  column, or the data row number when it has none), the base, the log-odds base + sum, the
 *  contributions; a row that cannot be scored (or has no id) keeps its id and its reason, naming source
 *  (NULL: the frame's) and the row.  *n_unscored (may be NULL) is incremented per such row.  w is
 *  committed or aborted by the caller. */
PROP_API int prop_contributions_header(const prop_model *m, prop_writer *w);
PROP_API int prop_contributions_write(const prop_model *m, const prop_frame *f, const prop_predict_options *opt,
                                      const char *source, prop_writer *w, size_t *n_unscored);

/*! One reason: an input that raises the customer's probability. */
typedef struct prop_reason {
  size_t input;        /*!< the input's index (prop_model_input_name() names it) */
  double contribution; /*!< its contribution to the uncalibrated log-odds, > 0 */
  double value;        /*!< the input's value in the row as given: the number, or the category code;
                            NaN when missing */
  const char *label;   /*!< a categorical input's category label (owned by the model); NULL for a
                            numeric input, a missing value or an unseen category (code -1) */
} prop_reason;

/*! prop_model_reasons(): the at most k inputs of one row with the largest positive contributions,
 *  largest first (ties: lower input index first), into reasons[0 .. *n_reasons) (caller-allocated, k
 *  entries).  contrib: the row's prop_model_n_inputs(m) contributions (a row of
 *  prop_model_contributions_dense() or _frame()); row: its inputs as given to them (for value and
 *  label).  Fewer than k when fewer inputs raise the probability; none for a row of NaN
 *  contributions.  Allocates nothing.  Thread-safe. */
PROP_API int prop_model_reasons(const prop_model *m, const double *contrib, const double *row, size_t k,
                                prop_reason *reasons, size_t *n_reasons);

/*! prop_scorer_reasons(): scores one customer as prop_scorer_score() does (prob, band: same bits;
 *  either may be NULL) and gives its reasons as prop_model_reasons() does, from the same
 *  contributions prop_model_contributions_dense() gives the row.  The first call on a scorer
 *  allocates its explanation work (kept until prop_scorer_free()); later calls allocate nothing.  A
 *  row that cannot be scored fails as in prop_scorer_score(), with *n_reasons 0; PROP_ERR_STATE as for
 *  prop_model_contributions_dense().  One scorer per thread. */
PROP_API int prop_scorer_reasons(prop_scorer *s, const double *row, size_t k, prop_reason *reasons,
                                 size_t *n_reasons, double *prob, int *band);

/* ---------------------------------------------------------------------------------------------
 * Deprecated names, kept for one release (0.2) and then removed
 * ------------------------------------------------------------------------------------------- */
/* One naming rule now holds: a count is prop_<object>_n_<things>() and a column accessor
 * prop_<object>_column_<what>(), as prop_model_n_inputs() and prop_model_input_name() always were.
 * These old spellings call the new functions; the compiler warns where they are still used. */
#if defined(__GNUC__)
#define PROP_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define PROP_DEPRECATED(msg)
#endif
PROP_API PROP_DEPRECATED("use prop_frame_n_rows") size_t prop_frame_nrows(const prop_frame *f);
PROP_API PROP_DEPRECATED("use prop_frame_n_columns") size_t prop_frame_ncols(const prop_frame *f);
PROP_API PROP_DEPRECATED("use prop_frame_column_name") const char *prop_frame_colname(const prop_frame *f, size_t j);
PROP_API PROP_DEPRECATED("use prop_frame_column_type") prop_coltype prop_frame_coltype(const prop_frame *f, size_t j);

/* ---------------------------------------------------------------------------------------------
 * Python bindings of the call plan (issue 16 part 4): the best cells, written by the library
 * ------------------------------------------------------------------------------------------- */
/*! prop_contact_write_best(): each row's best cell (prop_contact_best(); rows and customers as for
 *  prop_contact_predict()) through writer w, which the caller commits or aborts: a header, then one row
 *  per row of f in its order, id,channel,day,hour,p_connect (id: the text of f's column id_col, NULL for
 *  c's customer id column, empty when missing; p_connect as prop_writer_number() writes it).  The CLI's
 *  `contact best` and Python's ContactModel.best write with it.  PROP_ERR_SCHEMA when f lacks the id
 *  column; the writer's errors as it reports them.  Thread-safe on distinct writers. */
PROP_API int prop_contact_write_best(const prop_contact *c, const prop_frame *f, const char *id_col, prop_writer *w);

#ifdef __cplusplus
}
#endif
#endif /* PROPENSITY_H */
