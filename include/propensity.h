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
 *  - Threads: a fitted prop_model is read-only after train or load: any number of threads may
 *    score with one model at once.  Other handles (frame, reader, scorer, band table) are
 *    owned by one thread at a time.  prop_last_error() is thread-local.
 *  - Strings are UTF-8 and NUL-terminated.  Probabilities are doubles in [0,1].
 *  - Bands are numbered 1 (lowest probability) to nbands (highest); 0 means "not scored".
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
/*! Status codes.  The values are fixed forever: bindings may rely on them. */
typedef enum prop_status {
  PROP_OK = 0,
  PROP_ERR_NOMEM = -1,      /*!< an allocation failed */
  PROP_ERR_ARG = -2,        /*!< invalid argument (NULL where a value is required, bad size) */
  PROP_ERR_IO = -3,         /*!< a file could not be opened, read, written or renamed */
  PROP_ERR_CSV = -4,        /*!< malformed CSV: bad quoting, wrong column count, empty file */
  PROP_ERR_SCHEMA = -5,     /*!< a column is missing, duplicated or of the wrong type */
  PROP_ERR_VALUE = -6,      /*!< a cell is not a number, or is NaN/Inf where a number is needed */
  PROP_ERR_CATEGORY = -7,   /*!< a category or label is not known (e.g. the positive label) */
  PROP_ERR_RECIPE = -8,     /*!< a recipe field is unknown or out of range */
  PROP_ERR_FORMAT = -9,     /*!< not a propensity model file (bad magic) */
  PROP_ERR_VERSION = -10,   /*!< model file written by a newer format version */
  PROP_ERR_TRUNCATED = -11, /*!< model file or buffer ends early */
  PROP_ERR_CORRUPT = -12,   /*!< checksum mismatch or inconsistent contents */
  PROP_ERR_TRAIN = -13,     /*!< training impossible: one class only, too few rows ... */
  PROP_ERR_BACKEND = -14,   /*!< XGBoost or another backend reported an error */
  PROP_ERR_CANCELLED = -15, /*!< the progress callback asked to stop */
  PROP_ERR_STATE = -16,     /*!< the call does not fit the object's state */
  PROP_ERR_RANGE = -17      /*!< an index is out of range */
} prop_status;

/*! prop_strerror(): a fixed description of a status code (static storage, never NULL; an
 *  unknown code gives "unknown error").  Thread-safe. */
PROP_API const char *prop_strerror(int code);

/*! prop_last_error(): the message of the last failure on the calling thread, with context such
 *  as "demo.csv:12:income: 'abc' is not a number".  Empty string when there was none.  The
 *  pointer stays valid until the next failing call on the same thread.  Thread-local, never NULL. */
PROP_API const char *prop_last_error(void);

/*! prop_last_error_code(): the status of the last failure on the calling thread (0 if none). */
PROP_API int prop_last_error_code(void);

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

PROP_API size_t prop_frame_nrows(const prop_frame *f);
PROP_API size_t prop_frame_ncols(const prop_frame *f);
/*! Name of column j (owned by the frame), or NULL when j is out of range. */
PROP_API const char *prop_frame_colname(const prop_frame *f, size_t j);
/*! Type of column j, or PROP_COL_AUTO when j is out of range. */
PROP_API prop_coltype prop_frame_coltype(const prop_frame *f, size_t j);
/*! Index of the column called name, or -1. */
PROP_API long prop_frame_find(const prop_frame *f, const char *name);
/*! Why row i (0-based) could not be read, or NULL when it is fine (only non-strict reads). */
PROP_API const char *prop_frame_row_error(const prop_frame *f, size_t i);

/*! Copy numeric column j into out[nrows] (caller-allocated; NaN = missing).  PROP_ERR_SCHEMA
 *  when column j is not numeric, PROP_ERR_RANGE when j is out of range. */
PROP_API int prop_frame_numeric_values(const prop_frame *f, size_t j, double *out);
/*! The string in row i of an id, categorical or target column j (owned by the frame), or NULL when
 *  the cell is missing, the column is numeric, or an index is out of range. */
PROP_API const char *prop_frame_string_value(const prop_frame *f, size_t j, size_t i);
/*! Column `name` as 0/1 into y[nrows] (caller-allocated): 1 where the label equals positive
 *  (NULL: labels must be 0/1, and 1 is positive).  A missing cell is PROP_ERR_VALUE naming the
 *  row; an absent positive label PROP_ERR_CATEGORY; an absent column PROP_ERR_SCHEMA. */
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
 *  or the line and column of a JSON syntax error.  source names the text in messages (may be NULL). */
PROP_API int prop_recipe_parse(const char *json, const char *source, prop_recipe **out);
/*! Read and parse a recipe file.  Errors name the file. */
PROP_API int prop_recipe_load(const char *path, prop_recipe **out);
/*! The recipe as canonical JSON with every default filled in.  *json is malloc'd: free() it. */
PROP_API int prop_recipe_to_json(const prop_recipe *r, char **json);
PROP_API void prop_recipe_free(prop_recipe *r);

/* ---------------------------------------------------------------------------------------------
 * Training
 * ------------------------------------------------------------------------------------------- */
/*! Options of prop_model_train().  Initialise with prop_train_options_default(). */
typedef struct prop_train_options {
  const char *target;          /*!< target column (required) */
  const char *positive;        /*!< positive label; NULL: "1" when the labels are 0/1 */
  const char *id;              /*!< id column or NULL */
  const char *const *ignore;   /*!< columns to leave out of the features: each must be a column of the
                                    frame, or one its CSV read left out (declared PROP_COL_IGNORE) */
  size_t n_ignore;
  const char *connected;       /*!< optional 0/1 column "call connected"; never a feature */
  const char *time_col;        /*!< optional month column; never a feature */
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
 *  reads them; connected must be 0/1.  On success prop_last_error() is left as it was. */
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
 *  and a corrupted one (PROP_ERR_CORRUPT).  Free *out with prop_model_free(). */
PROP_API int prop_model_load(const char *path, prop_model **out);
/*! The model file's bytes in memory.  *data is malloc'd: free() it. */
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
/*! Label of category k of input j, or NULL. */
PROP_API const char *prop_model_category(const prop_model *m, size_t j, size_t k);
/*! Code of label for categorical input j: its index, or -1 when unseen in training (see
 *  prop_unseen: a row error by default).  Use the code as the input value in dense rows.  NaN
 *  when j is out of range or not categorical, or label is NULL (a missing cell is NaN too). */
PROP_API double prop_model_category_code(const prop_model *m, size_t j, const char *label);
/*! The id column's name, or NULL when the model has none. */
PROP_API const char *prop_model_id_column(const prop_model *m);
/*! The training options' connected and time columns (owned by the model), or NULL when training had none.
 *  They are never inputs: a scorer may pass them through or drop them.  Thread-safe. */
PROP_API const char *prop_model_connected_column(const prop_model *m);
PROP_API const char *prop_model_time_column(const prop_model *m);
/*! The target column's name and positive label (owned by the model). */
PROP_API const char *prop_model_target(const prop_model *m);
PROP_API const char *prop_model_positive_label(const prop_model *m);
/*! The one label the training rows carried besides the positive one ("0" for 0/1 labels; owned
 *  by the model), or NULL when they carried several (with a positive label given: all of them
 *  read as negative) or the model file is older than this function (model format 3). */
PROP_API const char *prop_model_negative_label(const prop_model *m);
/*! The outcomes of a labelled frame as the model's training read its target: y[i] (nrows entries,
 *  caller-allocated) is 1 for the positive label and 0 for the negative one, a label equal as text
 *  or as the same number ("1.0" and "1").  column: NULL for the model's target column.  When the
 *  model has a negative label, any third label is PROP_ERR_CATEGORY naming the file, row, column
 *  and label (a typo such as "yes" in a 0/1 column is never counted as a 0); a missing label is
 *  PROP_ERR_VALUE naming the row.  Every row may have the same outcome.  Thread-safe. */
PROP_API int prop_model_target_values(const prop_model *m, const prop_frame *f, const char *column, int *y);
/*! Number of bands and their edges: edges has nbands+1 entries, edges[0]=0, edges[nbands]=1;
 *  band b (1-based) is [edges[b-1], edges[b]), the last one closed. */
PROP_API size_t prop_model_n_bands(const prop_model *m);
PROP_API const double *prop_model_band_edges(const prop_model *m);
/*! The model's metadata as JSON (rows, positives, version, creation time, recipe, per-member
 *  validation report, importances).  Owned by the model; valid until prop_model_free(). */
PROP_API const char *prop_model_metadata_json(const prop_model *m);
/*! Number of members kept in the ensemble and member i's name ("xgboost", "svc", ...). */
PROP_API size_t prop_model_n_members(const prop_model *m);
PROP_API const char *prop_model_member_name(const prop_model *m, size_t i);

/* ---------------------------------------------------------------------------------------------
 * Scoring
 * ------------------------------------------------------------------------------------------- */
/*! What scoring does with a category its model never saw in training (a label with no code, or
 *  code -1 in a dense row). */
typedef enum prop_unseen {
  PROP_UNSEEN_ERROR = 0, /*!< default: the row is not scored; its status is PROP_ERR_CATEGORY */
  PROP_UNSEEN_BUCKET = 1 /*!< the row is scored, the category through the encoder's `<other>` bucket
                              (with one-hot encoding, the column the rarest training categories share;
                              a new label lands among them; with ordinal encoding an unseen category
                              is encoded as a missing one, code -1) */
} prop_unseen;

/*! Options of the batch scoring functions.  Initialise with prop_predict_options_default(). */
typedef struct prop_predict_options {
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
  int unseen;         /*!< prop_unseen; default PROP_UNSEEN_ERROR */
} prop_predict_options;

PROP_API void prop_predict_options_default(prop_predict_options *opt);

/*! Score every row of f: calibrated probability into prob[i] and band (1..nbands) into band[i]
 *  (either output may be NULL; both caller-allocated with prop_frame_nrows(f) entries).  Columns
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
/*! The scorer's unseen-category policy (prop_unseen; PROP_UNSEEN_ERROR when created).  Any other
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
/*! prop_backtest(): for each month k+1 of opt->time_col (sorted numerically), train recipe r on
 *  months 1..k and score month k+1 (starting after min_train_months months; 0 is PROP_ERR_ARG).  For
 *  each scored month: rows, positives, AUC, the band table, calibration error (ECE, 10 bins) and
 *  the share of acceptances captured in the top 10/20/30% of the list.  *json (malloc'd, free())
 *  gets the report (schema in README "Back-testing").  Progress goes to opt->progress.  A row
 *  that cannot be used (a read error of a non-strict read, an infinite number) is an error
 *  naming its source row, in a training month as in a scored one: no month's figures leave a row
 *  out. */
PROP_API int prop_backtest(const prop_frame *f, const prop_recipe *r, const prop_train_options *opt,
                           size_t min_train_months, char **json);

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
  uint64_t seed;          /*!< default 42 */
  size_t customers_per_month; /*!< default 4000; at most 10^8 */
  size_t months;          /*!< default 6; at most 1200, and at most 10^9 rows in all */
  double missing_rate;    /*!< share of missing cells in income / card age; default 0.03 */
  size_t first_month;     /*!< number of the first month written; default 1.  Month m's customers are
                               the same whatever range is written, so files split by month agree. */
  int with_outcomes;      /*!< 1 (default): write connected, accepted, installment_amount; 0: a call
                               list to score (no outcome columns) */
} prop_demo_options;

PROP_API void prop_demo_options_default(prop_demo_options *opt);
/*! Write the demo CSV atomically to path.  Same options give the same bytes on every machine. */
PROP_API int prop_demo_write_csv(const char *path, const prop_demo_options *opt);

/* ---------------------------------------------------------------------------------------------
 * Model comparison: every member alone and the ensemble, on one held-out split
 * ------------------------------------------------------------------------------------------- */
/*! Options of prop_compare().  Initialise with prop_compare_options_default(). */
typedef struct prop_compare_options {
  /*! Columns, threads and callbacks, as for training: target (required), positive, id, ignore,
   *  connected (adds connect rates to the band table), time_col, nthread, log, progress, user. */
  prop_train_options train;
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
 *  column the back-test series.  *json (malloc'd, free()) gets the report, documented field by
 *  field in bench/README.md (schema_version 1).  Timings are wall-clock on this machine. */
PROP_API int prop_compare(const prop_frame *f, const prop_recipe *r, const prop_compare_options *opt, char **json);

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
 *  automatic blocks of at most 64 rows), unseen; uncalibrated is ignored.  Rows are independent:
 *  the same bits for any thread count, block size, and for one row alone.  PROP_ERR_STATE when a
 *  member cannot explain: a model file whose logistic or svc member was written before contributions
 *  existed (retrain it).  Thread-safe. */
PROP_API int prop_model_contributions_dense(const prop_model *m, const void *X, prop_dtype dtype, size_t nrows,
                                            size_t ncols, size_t row_stride, double *contrib, double *base,
                                            int *status, const prop_predict_options *opt);

/*! prop_model_contributions_frame(): the same for every row of f (columns matched by name, as
 *  prop_model_predict_frame()); contrib has prop_frame_nrows(f) x prop_model_n_inputs(m) entries. */
PROP_API int prop_model_contributions_frame(const prop_model *m, const prop_frame *f, double *contrib, double *base,
                                            int *status, const prop_predict_options *opt);

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

#ifdef __cplusplus
}
#endif
#endif /* PROPENSITY_H */
