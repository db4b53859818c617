/* lib/common: the status list, the thread-local last error, extensible option structs, the public
 * struct layout table and the byte codec's bounds. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "testutil.h"

/* ---- status codes ------------------------------------------------------------------------------ */
static void test_status_list(void **state) {
  (void)state;
  /* every code of the list has its name, message and exit code; other codes have none */
#define CHECK(name, value, message, exit_code)                    \
  assert_int_equal(name, value);                                  \
  assert_string_equal(prop_status_name(value), #name);            \
  assert_string_equal(prop_strerror(value), message);             \
  assert_int_equal(prop_status_exit_code(value), exit_code);
  PROP_STATUS_LIST(CHECK)
#undef CHECK
  size_t n = 0;
  for (int code = 10; code >= -200; code--) n += prop_status_name(code) != NULL;
  assert_int_equal(n, 18);
  assert_null(prop_status_name(1));
  assert_null(prop_status_name(-18));
  assert_string_equal(prop_strerror(-18), "unknown error");
  assert_int_equal(prop_status_exit_code(-18), 6);
  /* the command-line program's documented classes */
  assert_int_equal(prop_status_exit_code(PROP_OK), 0);
  assert_int_equal(prop_status_exit_code(PROP_ERR_ARG), 1);
  assert_int_equal(prop_status_exit_code(PROP_ERR_CSV), 2);
  assert_int_equal(prop_status_exit_code(PROP_ERR_CORRUPT), 3);
  assert_int_equal(prop_status_exit_code(PROP_ERR_TRAIN), 4);
  assert_int_equal(prop_status_exit_code(PROP_ERR_IO), 5);
  assert_int_equal(prop_status_exit_code(PROP_ERR_NOMEM), 6);
}

/* ---- the last error ------------------------------------------------------------------------------ */
static void *other_thread(void *arg) {
  (void)arg;
  /* a new thread starts with no error, and its failures stay its own */
  int clean = prop_last_error_code() == 0 && prop_last_error()[0] == '\0';
  pp_err(PROP_ERR_IO, "thread error");
  return (void *)(intptr_t)clean;
}

static void test_last_error(void **state) {
  (void)state;
  assert_int_equal(pp_err(PROP_ERR_VALUE, "a.csv:%d:%s: bad", 3, "age"), PROP_ERR_VALUE);
  assert_string_equal(prop_last_error(), "a.csv:3:age: bad");
  assert_int_equal(prop_last_error_code(), PROP_ERR_VALUE);
  assert_int_equal(pp_err_prefix(PROP_ERR_SCHEMA, "loading %s: ", "m"), PROP_ERR_SCHEMA);
  assert_string_equal(prop_last_error(), "loading m: a.csv:3:age: bad");
  pp_err_state saved;
  pp_err_save(&saved);
  pp_err(PROP_ERR_NOMEM, "later");
  pp_err_restore(&saved);
  assert_string_equal(prop_last_error(), "loading m: a.csv:3:age: bad");
  pthread_t t;
  void *clean = NULL;
  assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
  assert_int_equal(pthread_join(t, &clean), 0);
  assert_true((intptr_t)clean == 1);
  assert_string_equal(prop_last_error(), "loading m: a.csv:3:age: bad"); /* not the other thread's */
  /* a message longer than the buffer is cut, never overflows */
  char big[3000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  pp_err(PROP_ERR_ARG, "%s", big);
  assert_true(strlen(prop_last_error()) < sizeof big - 1);
  pp_err_clear();
  assert_string_equal(prop_last_error(), "");
  assert_int_equal(prop_last_error_code(), 0);
}

/* ---- extensible option structs ---------------------------------------------------------------------- */
/* Version 1 of an options struct and its version 2, which adds a field; the library knows v2. */
typedef struct opts_v1 {
  size_t struct_size;
  int a;
  double b;
} opts_v1;
typedef struct opts_v2 {
  size_t struct_size;
  int a;
  double b;
  long c; /* new in v2, default 7 */
} opts_v2;

static void v2_default(opts_v2 *o) {
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->a = 1;
  o->b = 2.5;
  o->c = 7;
}

static void test_options_import(void **state) {
  (void)state;
  opts_v2 lib;
  /* NULL: the defaults */
  v2_default(&lib);
  assert_int_equal(pp_opts_import(&lib, sizeof lib, NULL, "opts"), 0);
  assert_true(lib.a == 1 && lib.b == 2.5 && lib.c == 7);
  /* an older caller: its fields are taken, the field it does not know keeps its default */
  opts_v1 old = {sizeof old, 5, 9.0};
  v2_default(&lib);
  assert_int_equal(pp_opts_import(&lib, sizeof lib, &old, "opts"), 0);
  assert_true(lib.a == 5 && lib.b == 9.0 && lib.c == 7 && lib.struct_size == sizeof lib);
  /* a newer caller (a struct with one more field): accepted while that field is left at zero */
  struct {
    opts_v2 v2;
    long d;
  } newer;
  memset(&newer, 0, sizeof newer);
  newer.v2.struct_size = sizeof newer;
  newer.v2.a = 3;
  newer.v2.c = 11;
  v2_default(&lib);
  assert_int_equal(pp_opts_import(&lib, sizeof lib, &newer, "opts"), 0);
  assert_true(lib.a == 3 && lib.c == 11 && lib.struct_size == sizeof lib);
  newer.d = 1; /* ... and refused once it is set: this library cannot honour it */
  assert_int_equal(pp_opts_import(&lib, sizeof lib, &newer, "opts"), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "opts"));
  assert_non_null(strstr(prop_last_error(), "does not know"));
  /* a struct that was never initialised with its _default(): struct_size 0 */
  opts_v2 zero;
  memset(&zero, 0, sizeof zero);
  assert_int_equal(pp_opts_import(&lib, sizeof lib, &zero, "opts"), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "_default()"));
  /* a public function refuses it too, naming the struct */
  prop_rank_options ro;
  memset(&ro, 0, sizeof ro);
  double p[2] = {0.2, 0.9};
  size_t rank[2];
  assert_int_equal(prop_rank(p, NULL, NULL, NULL, 2, &ro, rank, NULL, NULL, NULL), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "prop_rank_options"));
  prop_rank_options_default(&ro);
  assert_int_equal(ro.struct_size, sizeof ro);
  assert_int_equal(prop_rank(p, NULL, NULL, NULL, 2, &ro, rank, NULL, NULL, NULL), 0);
  assert_true(rank[0] == 2 && rank[1] == 1);
}

/* ---- the public struct layout table ----------------------------------------------------------------- */
static void check_struct(const char *name) {
  size_t total = 0, end = 0, n = 0;
  assert_int_equal(prop_struct_layout(name, NULL, NULL, &total), 0);
  const char *field = NULL;
  while (prop_struct_field(name, n, &field) == 0) {
    size_t off = 0, size = 0;
    assert_int_equal(prop_struct_layout(name, field, &off, &size), 0);
    /* fields in declaration order, no overlap, and no gap a field could hide in (padding is below 8) */
    assert_true(off >= end && off - end < 8);
    end = off + size;
    n++;
  }
  assert_null(field);
  assert_int_equal(prop_last_error_code(), PROP_ERR_RANGE);
  assert_true(n >= 3 && end <= total && total - end < 8); /* nothing left out at the end either */
}

static void test_struct_layout(void **state) {
  (void)state;
  static const char *const names[] = {"prop_csv_options", "prop_train_options", "prop_predict_options",
                                      "prop_rank_options", "prop_calllist_options", "prop_writer_options", "prop_monitor_options", "prop_band_row", "prop_demo_options",
                                      "prop_compare_options", "prop_contact_options", "prop_plan_input",
                                      "prop_plan_options", "prop_plan_row", "prop_planlist_options"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) check_struct(names[i]);
  size_t off = 99, size = 0;
  assert_int_equal(prop_struct_layout("prop_train_options", "time_col", &off, &size), 0);
  assert_int_equal(off, offsetof(prop_train_options, time_col));
  assert_int_equal(size, sizeof(const char *));
  assert_int_equal(prop_struct_layout("prop_train_options", NULL, NULL, &size), 0);
  assert_int_equal(size, sizeof(prop_train_options));
  assert_int_equal(prop_struct_layout("prop_nothing", NULL, NULL, &size), PROP_ERR_ARG);
  assert_int_equal(prop_struct_layout("prop_train_options", "no_field", NULL, &size), PROP_ERR_ARG);
  const char *f = NULL;
  assert_int_equal(prop_struct_field("prop_nothing", 0, &f), PROP_ERR_ARG);
  assert_int_equal(prop_struct_field("prop_train_options", 0, &f), 0);
  assert_string_equal(f, "struct_size");
}

/* ---- the byte codec never reads past its bytes -------------------------------------------------------- */
static void test_codec_bounds(void **state) {
  (void)state;
  pp_buf b;
  pp_buf_init(&b);
  pp_put_u32(&b, 7);
  pp_put_str(&b, "abc");
  pp_put_f64(&b, -0.5);
  pp_put_str(&b, NULL);
  assert_int_equal(pp_buf_status(&b), 0);
  pp_rd r;
  pp_rd_init(&r, b.data, b.len, "test section");
  uint32_t u;
  char *s = NULL, *s2 = (char *)1;
  double d;
  assert_int_equal(pp_get_u32(&r, &u), 0);
  assert_int_equal(pp_get_str(&r, &s), 0);
  assert_int_equal(pp_get_f64(&r, &d), 0);
  assert_int_equal(pp_get_str(&r, &s2), 0);
  assert_true(u == 7 && d == -0.5 && s2 == NULL);
  assert_string_equal(s, "abc");
  free(s);
  assert_int_equal(pp_rd_end(&r), 0);
  assert_int_equal(pp_get_u32(&r, &u), PROP_ERR_CORRUPT); /* past the end */
  assert_non_null(strstr(prop_last_error(), "test section"));
  /* a string whose length runs past the bytes, and a count larger than the bytes could hold */
  for (size_t cut = 5; cut < 7; cut++) {
    pp_rd_init(&r, b.data, cut, "cut");
    assert_int_equal(pp_get_u32(&r, &u), 0);
    assert_int_equal(pp_get_str(&r, &s), PROP_ERR_CORRUPT);
  }
  pp_buf c;
  pp_buf_init(&c);
  pp_put_u64(&c, (uint64_t)1 << 40);
  pp_rd_init(&r, c.data, c.len, "count");
  size_t n;
  assert_int_equal(pp_get_count(&r, &n, 1000, "rows"), PROP_ERR_CORRUPT);
  assert_non_null(strstr(prop_last_error(), "rows"));
  pp_rd_init(&r, c.data, c.len, "array");
  double *v = NULL;
  assert_int_equal(pp_get_f64s(&r, &v, 1000000), PROP_ERR_CORRUPT); /* checked before allocating */
  assert_null(v);
  pp_buf_free(&b);
  pp_buf_free(&c);
}

/* ---- the seeded generator: fixed streams, independent of anything else ----------------------------- */
static void test_rng_streams(void **state) {
  (void)state;
  pp_rng a, b;
  pp_rng_seed(&a, 42);
  pp_rng_seed(&b, 42);
  for (int i = 0; i < 1000; i++) assert_true(pp_rng_next(&a) == pp_rng_next(&b));
  assert_true(pp_seed_derive(42, 1) != pp_seed_derive(42, 2));
  assert_true(pp_seed_derive(42, 1) == pp_seed_derive(42, 1));
  pp_rng_seed(&a, 1);
  size_t counts[5] = {0};
  for (int i = 0; i < 50000; i++) counts[pp_rng_below(&a, 5)]++;
  for (int k = 0; k < 5; k++) assert_true(counts[k] > 9500 && counts[k] < 10500);
  assert_int_equal(pp_rng_below(&a, 0), 0);
}

/* The Cholesky factor as the textbook computes it, one entry at a time, row by row, each sum in
 * k order: pp_cholesky computes eight rows side by side and must give these bits. */
static int chol_reference(const double *H, size_t D, double shift, double *L) {
  for (size_t i = 0; i < D; i++)
    for (size_t j = 0; j <= i; j++) {
      double s = H[i * D + j] + (i == j ? shift : 0.0);
      for (size_t k = 0; k < j; k++) s -= L[i * D + k] * L[j * D + k];
      if (i == j) {
        if (!(s > 0) || !isfinite(s)) return -1;
        L[i * D + i] = sqrt(s);
      } else {
        L[i * D + j] = s / L[j * D + j];
      }
    }
  return 0;
}

static void test_cholesky_rows_side_by_side(void **state) {
  (void)state;
  pp_rng g;
  pp_rng_seed(&g, 9);
  const size_t sizes[] = {1, 2, 7, 8, 9, 16, 17, 30, 63};
  for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
    const size_t D = sizes[t], m = D + 3;
    double *A = tu_xmalloc(m * D * sizeof *A), *H = tu_xmalloc(D * D * sizeof *H);
    double *L = tu_xmalloc(D * D * sizeof *L), *R = tu_xmalloc(D * D * sizeof *R);
    for (size_t i = 0; i < m * D; i++) A[i] = pp_rng_uniform(&g) - 0.5;
    for (size_t i = 0; i < D; i++) /* H = A'A + 0.01 I: positive definite, with rounding in every sum */
      for (size_t j = 0; j < D; j++) {
        double s = i == j ? 0.01 : 0.0;
        for (size_t r = 0; r < m; r++) s += A[r * D + i] * A[r * D + j];
        H[i * D + j] = s;
      }
    assert_int_equal(pp_cholesky(H, D, 1e-9, L), 0);
    assert_int_equal(chol_reference(H, D, 1e-9, R), 0);
    for (size_t i = 0; i < D; i++) assert_memory_equal(L + i * D, R + i * D, (i + 1) * sizeof *L);
    double err = 0; /* and it is the factor: L L' = H + shift I */
    for (size_t i = 0; i < D; i++)
      for (size_t j = 0; j <= i; j++) {
        double s = 0;
        for (size_t k = 0; k <= j; k++) s += L[i * D + k] * L[j * D + k];
        err = fmax(err, fabs(s - H[i * D + j] - (i == j ? 1e-9 : 0.0)));
      }
    assert_true(err < 1e-12 * (double)D);
    /* not positive definite: the last diagonal entry made negative fails, as the reference does */
    if (D > 1) {
      H[D * D - 1] = -1.0;
      assert_int_equal(pp_cholesky(H, D, 0.0, L), -1);
      assert_int_equal(chol_reference(H, D, 0.0, R), -1);
    }
    free(A);
    free(H);
    free(L);
    free(R);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_list),  cmocka_unit_test(test_last_error),  cmocka_unit_test(test_options_import),
      cmocka_unit_test(test_struct_layout), cmocka_unit_test(test_codec_bounds), cmocka_unit_test(test_rng_streams),
      cmocka_unit_test(test_cholesky_rows_side_by_side),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
