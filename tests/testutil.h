/* Shared helpers for the cmocka suites: temporary paths, small synthetic data sets. */
#ifndef PROP_TESTUTIL_H
#define PROP_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the three above first */
#include <cmocka.h>

#include "models/member.h"
#include "propensity.h"

/* A fresh path under $PROP_TEST_TMP (or /tmp) unique to this process: tu_path("a.csv").
 * Returns a static buffer rotated among 8 slots. */
const char *tu_path(const char *name);
/* Write text (or n bytes of data) to path (aborts the test on failure). */
void tu_write(const char *path, const char *text);
void tu_write_bytes(const char *path, const void *data, size_t n);
/* Read a whole file as a NUL-terminated malloc'd string (NULL on failure). */
char *tu_read(const char *path, size_t *len);

/* Two-class data: n rows, d features, row-major float X and 0/1 float y.  Class 1 has share
 * pos_frac; its mean is shifted by `sep` in every feature.  Deterministic in seed. */
void tu_blobs(size_t n, size_t d, double pos_frac, double sep, uint64_t seed, float *X, float *y);
/* The same into new arrays *X (n x d) and *y (n), to free(). */
void tu_blobs_alloc(size_t n, size_t d, double pos_frac, double sep, uint64_t seed, float **X, float **y);
/* Simple deterministic generator for tests (splitmix64). */
uint64_t tu_rand(uint64_t *state);
double tu_uniform(uint64_t *state);
double tu_normal(uint64_t *state);
/* AUC of scores against labels (independent reference: O(n^2) pair count, ties = 1/2). */
double tu_auc_ref(const double *s, const float *y, size_t n);
/* |a - b| <= eps (Debian 12's cmocka 1.1.5 has no assert_double_equal). */
#define tu_assert_close(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

/* prop_frame_read_csv of path with n columns declared (names[i] of types[i]), asserting success. */
prop_frame *tu_read_declared(const char *path, const char *const *names, const prop_coltype *types, size_t n);
/* A demo CSV read as the program reads it (accepted the target, customer_id the id,
 * installment_amount left out), asserting success. */
prop_frame *tu_read_demo(const char *path);
/* The demo campaign of `customers` a month over `months` months from seed, written and read back. */
prop_frame *tu_demo_frame(size_t customers, size_t months, uint64_t seed);
/* Training options for a demo frame: target accepted, id customer_id, connected, time column month. */
void tu_demo_train_options(prop_train_options *o, int nthread);
/* malloc of n bytes (at least 1), asserting success. */
void *tu_xmalloc(size_t n);
/* JSON text parsed (a new reference; NULL for NULL text), asserting that it parses. */
json_t *tu_json(const char *text);
/* rc is want and, when needle is not NULL, the last error message contains it (the message is
 * printed when not). */
void tu_expect_rc(int rc, int want, const char *needle);

/* ---- payload fuzzing ------------------------------------------------------------------------
 * A loader under test gets a private copy of exactly len bytes (so that ASan reports any read past
 * the end), with byte `flipped` changed (SIZE_MAX for a truncated copy).  It loads, checks what
 * loaded (if anything), frees it and returns the load's status. */
typedef int (*tu_loader)(const unsigned char *p, size_t len, size_t flipped, void *user);
/* Every proper prefix of data[0..len) fails to load with PROP_ERR_CORRUPT. */
void tu_each_truncation(const void *data, size_t len, tu_loader load, void *user);
/* Every byte of data[0..len) XORed with each of masks[0..nmask) is loaded (the loader asserts what
 * is allowed); returns how many of those loads failed. */
size_t tu_each_flip(const void *data, size_t len, const unsigned char *masks, size_t nmask, tu_loader load,
                    void *user);

/* ---- members (models/member.h) -------------------------------------------------------------- */
/* ops->parse_params of JSON text (NULL: all defaults), asserting success. */
void *tu_params(const pp_member_ops *ops, const char *js);
/* ops->parse_params of js at path fails with PROP_ERR_RECIPE, leaves the params NULL and names
 * needle (e.g. the field's path) in its message. */
void tu_expect_recipe_error(const pp_member_ops *ops, const char *path, const char *js, const char *needle);

/* What a log callback of tu_ctx saw: lines of any level, warnings, the last line and the last
 * warning. */
typedef struct tu_log {
  int lines, warns;
  char last[512], last_warn[512];
} tu_log;
/* A context: seed, nthread threads, logging into log when not NULL. */
pp_ctx tu_ctx(uint64_t seed, int nthread, tu_log *log);
/* ops->fit on train (valid may be NULL) with the params of JSON text (NULL: defaults) and ctx
 * (may be NULL), asserting success; the params are freed. */
void *tu_fit(const pp_member_ops *ops, const char *params_js, const pp_dataset *train, const pp_dataset *valid,
             const pp_ctx *ctx);

/* ops->info(model)[key] (which must be present) as a new reference. */
json_t *tu_info_get(const pp_member_ops *ops, const void *model, const char *key);
/* ... as a number: a boolean gives 0 or 1, null NaN; any other type fails. */
double tu_info_num(const pp_member_ops *ops, const void *model, const char *key);
/* ... which must be a number, an integer, a boolean. */
double tu_info_real(const pp_member_ops *ops, const void *model, const char *key);
json_int_t tu_info_int(const pp_member_ops *ops, const void *model, const char *key);
int tu_info_bool(const pp_member_ops *ops, const void *model, const char *key);

/* ops->save into *b (initialised here), asserting success. */
void tu_save(const pp_member_ops *ops, const void *model, pp_buf *b);
/* ops->load for width d of a private copy of len bytes of data, read as "section MEMB (<name>)".
 * Failure leaves *model NULL, success non-NULL.  Returns the load's status. */
int tu_load(const pp_member_ops *ops, const void *data, size_t len, size_t d, void **model);
/* Saves model into *b, loads the payload back (every byte consumed) and checks that saving the
 * loaded model gives the same bytes; returns the loaded model. */
void *tu_reload(const pp_member_ops *ops, const void *model, size_t d, pp_buf *b);
/* tu_load; when it succeeds, the model must predict the nx rows of X (width d) with probabilities
 * in [0, 1] and give its info (if the member has one); it is freed.  Returns the load's status. */
int tu_load_check(const pp_member_ops *ops, const void *data, size_t len, size_t d, const float *X, size_t nx);
/* A member payload (ops->save of a model of width d): every truncation fails with
 * PROP_ERR_CORRUPT, and every byte XORed with each of masks[0..nmask) (none when nmask is 0) fails
 * with PROP_ERR_CORRUPT or PROP_ERR_VERSION, or loads a model that passes tu_load_check's checks
 * on X[nx].  Returns how many of the flipped payloads were refused. */
size_t tu_fuzz_member(const pp_member_ops *ops, const void *data, size_t len, size_t d, const unsigned char *masks,
                      size_t nmask, const float *X, size_t nx);
#endif
