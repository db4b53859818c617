/* lib/common: what every stage needs: errors, checked allocation, the seeded RNG, the byte codec
 * used by the model file, atomic file writes, the callback context and a string hash map.
 * Internal: nothing here is exported (hidden visibility); the internal prefix is pp_. */
#ifndef PP_COMMON_H
#define PP_COMMON_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "propensity.h"

#if defined(__GNUC__)
#define PP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define PP_LIKELY(x) __builtin_expect(!!(x), 1)
#define PP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define PP_PRINTF(a, b)
#define PP_LIKELY(x) (x)
#define PP_UNLIKELY(x) (x)
#endif

/* ---- errors --------------------------------------------------------------------------------
 * pp_err() records code and a formatted message in the calling thread's last-error slot and
 * returns code, so failures read:  return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: ...", file, row, col);
 * pp_err_prefix() prepends context to the message already recorded ("loading m.bin: " + old). */
int pp_err(int code, const char *fmt, ...) PP_PRINTF(2, 3);
int pp_err_prefix(int code, const char *fmt, ...) PP_PRINTF(2, 3);
void pp_err_clear(void);
/* The calling thread's last error, saved by a public function that may recover from failures of
 * its own inside (a line search step, a member without importance) and put back when it succeeds:
 * the caller's prop_last_error() then stays as it was, as the header promises. */
typedef struct pp_err_state {
  int code;
  char msg[1024];
} pp_err_state;
void pp_err_save(pp_err_state *s);
void pp_err_restore(const pp_err_state *s);
#define PP_TRY(expr)                 \
  do {                               \
    int pp_rc_ = (expr);             \
    if (PP_UNLIKELY(pp_rc_ != 0)) return pp_rc_; \
  } while (0)

/* ---- allocation: every allocation is checked; on failure these record PROP_ERR_NOMEM ------- */
void *pp_malloc(size_t size);
void *pp_calloc(size_t n, size_t size);              /* zeroed, overflow-checked */
void *pp_malloc_array(size_t n, size_t size);        /* overflow-checked */
int pp_realloc_array(void *pptr, size_t n, size_t size); /* *(void**)pptr grows; 0 or NOMEM */
char *pp_strdup(const char *s);                      /* NULL in -> NULL out (no error) */
char *pp_asprintf(const char *fmt, ...) PP_PRINTF(1, 2);
/* *(void**)pptr holds *cap elements; make room for need, doubling from `first` (capacity is
 * geometric, so n appends cost O(n) copying).  0 or NOMEM (the array and *cap then unchanged). */
int pp_reserve_array(void *pptr, size_t *cap, size_t need, size_t size, size_t first);
/* Without a message, for the caller to report: OpenMP worker threads (whose thread-local message
 * nobody reads), libcsv's buffer (csv_set_realloc_func), the byte codec's sticky flag. */
void *pp_alloc_raw(size_t size);
void *pp_realloc_raw(void *p, size_t size);
/* fn(size), counted and failed by the injection like the others (jansson's allocator, jsonx.c). */
void *pp_alloc_with(void *(*fn)(size_t), size_t size);
/* The calling thread's count of failed allocations that recorded PROP_ERR_NOMEM (the functions
 * above but the raw and optional ones, and jansson's: pp_alloc_note_failure).  A function whose
 * callees may turn a failed allocation into something else (a metric's NaN, jansson's "invalid
 * token", a member dropped) takes a mark first and, when pp_alloc_failed_since(mark), reports
 * PROP_ERR_NOMEM instead of what it got. */
unsigned pp_alloc_mark(void);
int pp_alloc_failed_since(unsigned mark);
void pp_alloc_note_failure(void);
/* An allocation the caller can do without (the scratch of a faster path): NULL changes nothing
 * but speed, never a result. */
void *pp_alloc_optional(size_t size);

/* Allocation-failure injection, for the tests only (alloc.c).  pp_alloc_inject(n, persistent)
 * resets the counts and arms: from then on the allocations above, in every thread, are counted,
 * and the n-th fails (n >= 1; with persistent, every later one too; n = 0 only counts).
 * pp_alloc_inject_stop disarms and reports the counts. */
typedef struct pp_alloc_counts {
  uint64_t calls;           /* allocations counted */
  uint64_t reallocs;        /* of which reallocations */
  uint64_t realloc_bytes;   /* the sizes the reallocations asked for, summed */
  uint64_t failed;          /* allocations the hook failed */
  uint64_t failed_optional; /* of pp_alloc_optional, which the hook failed */
} pp_alloc_counts;
void pp_alloc_inject(uint64_t fail_at, int persistent);
void pp_alloc_inject_stop(pp_alloc_counts *out);

/* ---- extensible option structs ------------------------------------------------------------
 * Every public options struct begins with `size_t struct_size`, which its _default() sets to the size
 * of the struct the caller was compiled against.  A public function copies the caller's struct into a
 * library-side one that already holds this library's defaults:
 *     prop_x_options o;  prop_x_options_default(&o);  PP_TRY(pp_opts_import(&o, sizeof o, opt, "prop_x_options"));
 * The first min(struct_size, sizeof o) bytes are the caller's.  A caller built against an older header
 * (a smaller struct) gets the defaults for the fields it does not know; one built against a newer header
 * (a larger struct) is accepted when every byte beyond what this library knows is zero, i.e. it left
 * the newer fields at their defaults (the rule of Linux's extensible system calls, copy_struct_from_user),
 * and refused with PROP_ERR_ARG otherwise, as is a struct_size too small to be one (a struct that was not
 * initialised with its _default()).  src NULL: dst keeps the defaults. */
int pp_opts_import(void *dst, size_t dst_size, const void *src, const char *name);

/* ---- RNG: xoshiro256** seeded by splitmix64.  Never rand(). -------------------------------- */
typedef struct pp_rng {
  uint64_t s[4];
} pp_rng;
void pp_rng_seed(pp_rng *r, uint64_t seed);
uint64_t pp_rng_next(pp_rng *r);
double pp_rng_uniform(pp_rng *r);               /* [0,1) with 53 random bits */
uint64_t pp_rng_below(pp_rng *r, uint64_t n);   /* uniform in [0,n), unbiased; 0 when n == 0 */
double pp_rng_normal(pp_rng *r);                /* standard normal */
void pp_rng_shuffle(pp_rng *r, size_t *a, size_t n);
/* An independent stream for (master seed, index): e.g. tree t of a forest gets
 * pp_seed_derive(seed, t), so results do not depend on the thread count. */
uint64_t pp_seed_derive(uint64_t master, uint64_t index);

/* ---- callback context passed down the pipeline -------------------------------------------- */
typedef struct pp_ctx {
  prop_log_fn log;
  prop_progress_fn progress;
  void *user;
  int nthread;   /* >= 1 after pp_ctx_init */
  uint64_t seed;
  /* 1: the model being fitted predicts once and is freed (a cross-validation fold); it is never
   * saved, loaded, inspected or scored row by row, so a member may skip work only a kept model
   * needs.  Its predictions must be the same bits as a kept model's.  0 after pp_ctx_init. */
  int transient;
  /* Where the fit sits in a training, so that a member says what every fit of it shares once per
   * training, not once per fit: 0 a fit of its own (compare's members alone), k >= 1 the fit of
   * cross-validation fold k, -1 the final refit after the folds.  0 after pp_ctx_init. */
  int fit_round;
} pp_ctx;
void pp_ctx_init(pp_ctx *c, const prop_train_options *opt, uint64_t seed);
/* Threads to use for a caller's nthread: 0 (or less) means every processor, and more than the
 * processors is capped at them (more never runs faster), or at the threads that can start: the
 * OpenMP runtimes end the process when a parallel region cannot start one (libgomp exits, libomp
 * aborts), so the first time a thread asks for more than it ran before, they are started here,
 * after a check, and later regions of up to that many reuse them.  At least 1.  Every parallel
 * region of the library, and XGBoost's (through omp_set_num_threads), is sized from it. */
int pp_threads(int requested);
void pp_log(const pp_ctx *c, int level, const char *fmt, ...) PP_PRINTF(3, 4);
/* Returns 0, or PROP_ERR_CANCELLED (with message) when the callback asks to stop. */
int pp_progress(const pp_ctx *c, const char *stage, size_t done, size_t total);

/* ---- byte codec: little-endian, used by every section of the model file ------------------- */
typedef struct pp_buf {
  unsigned char *data;
  size_t len, cap;
  int failed; /* sticky: an allocation failed; pp_buf_status() reports it */
} pp_buf;
void pp_buf_init(pp_buf *b);
void pp_buf_free(pp_buf *b);
int pp_buf_status(const pp_buf *b); /* 0 or PROP_ERR_NOMEM */
void pp_put_bytes(pp_buf *b, const void *p, size_t n);
void pp_put_u8(pp_buf *b, uint8_t v);
void pp_put_u32(pp_buf *b, uint32_t v);
void pp_put_u64(pp_buf *b, uint64_t v);
void pp_put_i32(pp_buf *b, int32_t v);
void pp_put_f32(pp_buf *b, float v);
void pp_put_f64(pp_buf *b, double v);
void pp_put_str(pp_buf *b, const char *s);            /* u32 length + bytes; NULL as 0xFFFFFFFF */
void pp_put_f32s(pp_buf *b, const float *v, size_t n);  /* no length prefix */
void pp_put_f64s(pp_buf *b, const double *v, size_t n);
void pp_put_i32s(pp_buf *b, const int32_t *v, size_t n);

/* A growing buffer of NUL-terminated strings addressed by offset (ids and messages of millions of rows
 * without a pointer and an allocation each).  Zero-initialise; free with pp_textbuf_free. */
typedef struct pp_textbuf {
  char *p;
  size_t len, cap;
} pp_textbuf;
/* Append s with its NUL; *off gets its offset.  0 or PROP_ERR_NOMEM (the buffer is unchanged then). */
int pp_textbuf_add(pp_textbuf *t, const char *s, size_t *off);
void pp_textbuf_free(pp_textbuf *t);

/* Bounds-checked reader: every get fails with PROP_ERR_CORRUPT naming `what` and the offset
 * rather than reading past the end.  Loaders must also validate counts, sizes and indices. */
typedef struct pp_rd {
  const unsigned char *p;
  size_t len, pos;
  const char *what; /* e.g. "section MEMB[0] (random_forest)" */
} pp_rd;
void pp_rd_init(pp_rd *r, const void *p, size_t len, const char *what);
int pp_get_bytes(pp_rd *r, void *out, size_t n);
int pp_get_u8(pp_rd *r, uint8_t *v);
int pp_get_u32(pp_rd *r, uint32_t *v);
int pp_get_u64(pp_rd *r, uint64_t *v);
int pp_get_i32(pp_rd *r, int32_t *v);
int pp_get_f32(pp_rd *r, float *v);
int pp_get_f64(pp_rd *r, double *v);
int pp_get_str(pp_rd *r, char **s);  /* malloc'd copy; NULL for a NULL string */
/* Arrays: count is checked against the bytes left before allocating (a crafted count cannot
 * make us allocate gigabytes).  *v is malloc'd (NULL when n == 0). */
int pp_get_f32s(pp_rd *r, float **v, size_t n);
int pp_get_f64s(pp_rd *r, double **v, size_t n);
int pp_get_i32s(pp_rd *r, int32_t **v, size_t n);
/* A u64 count that must be <= max; error names `field`. */
int pp_get_count(pp_rd *r, size_t *n, size_t max, const char *field);
int pp_rd_end(const pp_rd *r); /* PROP_ERR_CORRUPT when bytes are left over */

/* ---- files --------------------------------------------------------------------------------- */
/* Read a whole file of at most max bytes into *data (malloc'd) and *len.  The type is checked
 * first (fstat of the open file): a regular file larger than max fails before anything is read,
 * a pipe, character device or socket is read with the same bound, anything else (a directory)
 * fails at once; each with PROP_ERR_IO naming the file and `what` ("recipe").  With magic_len >
 * 0 the reading stops as soon as the first bytes differ from magic (a stream such as /dev/zero
 * ends at once), and what was read is returned for the caller's own check to refuse. */
int pp_read_file(const char *path, size_t max, const char *what, const void *magic, size_t magic_len,
                 unsigned char **data, size_t *len);
/* A whole text file (a recipe, a policy) as a NUL-terminated string (malloc'd), read by pp_read_file
 * with its bound; a NUL byte inside is status nul_code naming the file. */
int pp_read_text(const char *path, size_t max, const char *what, int nul_code, char **text);
/* s past a UTF-8 byte order mark at its start (Windows editors write one), else s. */
const char *pp_skip_bom(const char *s);

/* ---- string -> index hash map (open addressing, keys copied) ------------------------------ */
typedef struct pp_strmap {
  char **keys;
  size_t *vals;
  size_t cap, count;
} pp_strmap;
void pp_strmap_init(pp_strmap *m);
void pp_strmap_free(pp_strmap *m);
/* Returns 1 and sets *val when found, 0 when absent. */
int pp_strmap_get(const pp_strmap *m, const char *key, size_t *val);
/* Insert key -> val if absent; *existing (may be NULL) gets the stored value.  0 or NOMEM. */
int pp_strmap_put(pp_strmap *m, const char *key, size_t val, size_t *existing);
/* Insert key -> val, or overwrite the value of a key present.  0 or NOMEM. */
int pp_strmap_set(pp_strmap *m, const char *key, size_t val);

/* ---- small numeric helpers ---------------------------------------------------------------- */
uint32_t pp_crc32(const void *data, size_t len);
/* 1 where the members' AVX-512 kernels are compiled (x86-64 with GCC or clang, through target
 * attributes on a baseline build), else 0; whether they run is pp_cpu_avx512f()'s answer. */
#if defined(__x86_64__) && defined(__GNUC__)
#define PP_HAVE_AVX512 1
#else
#define PP_HAVE_AVX512 0
#endif
/* 1 when the CPU runs AVX-512F (x86-64 with GCC or clang), else 0: the members' vector kernels are
 * compiled for it with target attributes and chosen at run time on this answer. */
int pp_cpu_avx512f(void);
/* 1 when the CPU runs AVX2 (same conditions), for kernels that also have an AVX2 copy. */
int pp_cpu_avx2(void);
/* Rows per block when n rows are cut into blocks that threads take whole: at least
 * ceil(n / max_rows) blocks and at least min_blocks, their number rounded up to a multiple of nt
 * (so no thread waits for another's extra block), all of the same size ceil(n / blocks). */
size_t pp_even_block_rows(size_t n, size_t max_rows, size_t min_blocks, size_t nt);
/* log(1 + e^z) without overflow (the logistic log-loss is pp_softplus(z) - y z). */
static inline double pp_softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }
/* log(p / (1 - p)) with p clamped to [eps, 1 - eps]; NaN stays NaN. */
double pp_logit_clamped(double p, double eps);
/* SHA-256 of the file's bytes as 64 lowercase hex digits into hex[65]; *size gets the byte count.
 * PROP_ERR_IO naming the file when it cannot be opened or read. */
int pp_sha256_file(const char *path, char hex[65], uint64_t *size);
/* Cholesky factor L (lower, row-major, in L; the upper part is not written) of the D x D symmetric
 * matrix H + shift I: 0, or -1 when a pivot is not positive (or not finite).  pp_chol_solve() solves
 * L L' x = b, pp_chol_back() L' x = b, in place (x holds b). */
int pp_cholesky(const double *H, size_t D, double shift, double *L);
void pp_chol_solve(const double *L, size_t D, double *x);
void pp_chol_back(const double *L, size_t D, double *x);
/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12, d 1..31), and back; the day of
 * the week of such a day, 0 = Monday .. 6 = Sunday. */
int64_t pp_days_from_civil(int64_t y, int m, int d);
void pp_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int pp_day_of_week(int64_t days);
/* Seconds on the monotonic clock (for durations). */
double pp_now_seconds(void);
/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ" into buf (n >= 21). */
void pp_utc_now_iso8601(char *buf, size_t n);
/* A decimal number (optional sign, digits with an optional '.', an optional exponent) or
 * inf / infinity / nan, with spaces or tabs around it; the whole string must be one.  Read in the C
 * locale whatever the host program set (the decimal point is '.').  Hexadecimal is not a number
 * here.  0 ok, -1 not a number. */
int pp_parse_double(const char *s, double *out);
/* snprintf in the C locale (the decimal point is '.'), for numbers written for other programs
 * (XGBoost's parameters, labels stored in a model). */
int pp_snprintf_c(char *buf, size_t n, const char *fmt, ...) PP_PRINTF(3, 4);
/* strtod in the C locale, for text other programs wrote (XGBoost's evaluation log). */
double pp_strtod_c(const char *s, char **end);
/* v in the fewest significant digits (1..17) that read back as v, into buf (32 bytes): messages
 * then show 1.0000001 as itself where %g would print 1.  Returns buf. */
const char *pp_shortest(char *buf, double v);
#define PP_G(v) pp_shortest((char[32]){0}, (v))
int pp_cmp_double(const void *a, const void *b);
double pp_median_inplace(double *v, size_t n); /* reorders v; NaN when n == 0 */

#endif
