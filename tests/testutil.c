#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *tu_path(const char *name) {
  static char slots[8][1024];
  static int next;
  const char *base = getenv("PROP_TEST_TMP");
  if (!base || !*base) base = "/tmp";
  mkdir(base, 0755);
  char *p = slots[next++ % 8];
  snprintf(p, 1024, "%s/t%ld_%s", base, (long)getpid(), name);
  return p;
}

void tu_write_bytes(const char *path, const void *data, size_t n) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(data, 1, n, fp), n);
  assert_int_equal(fclose(fp), 0);
}

void tu_write(const char *path, const char *text) { tu_write_bytes(path, text, strlen(text)); }

char *tu_read(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (!s || fread(s, 1, (size_t)n, fp) != (size_t)n) {
    free(s);
    fclose(fp);
    return NULL;
  }
  s[n] = '\0';
  fclose(fp);
  if (len) *len = (size_t)n;
  return s;
}

uint64_t tu_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double tu_uniform(uint64_t *state) { return (double)(tu_rand(state) >> 11) * 0x1.0p-53; }

double tu_normal(uint64_t *state) {
  double u1 = tu_uniform(state), u2 = tu_uniform(state);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void tu_blobs(size_t n, size_t d, double pos_frac, double sep, uint64_t seed, float *X, float *y) {
  uint64_t st = seed;
  for (size_t i = 0; i < n; i++) {
    int c = tu_uniform(&st) < pos_frac;
    y[i] = (float)c;
    for (size_t j = 0; j < d; j++) X[i * d + j] = (float)(tu_normal(&st) + (c ? sep : 0.0));
  }
}

void tu_blobs_alloc(size_t n, size_t d, double pos_frac, double sep, uint64_t seed, float **X, float **y) {
  *X = tu_xmalloc(n * d * sizeof **X);
  *y = tu_xmalloc(n * sizeof **y);
  tu_blobs(n, d, pos_frac, sep, seed, *X, *y);
}

double tu_auc_ref(const double *s, const float *y, size_t n) {
  double num = 0, np = 0, nn = 0;
  for (size_t i = 0; i < n; i++) {
    if (y[i] > 0.5f) np++;
    else nn++;
  }
  for (size_t i = 0; i < n; i++) {
    if (y[i] <= 0.5f) continue;
    for (size_t j = 0; j < n; j++) {
      if (y[j] > 0.5f) continue;
      num += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
    }
  }
  return num / (np * nn);
}

void *tu_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  assert_non_null(p);
  return p;
}

json_t *tu_json(const char *text) {
  if (!text) return NULL;
  json_error_t e;
  json_t *o = json_loads(text, JSON_DECODE_ANY, &e);
  if (!o) fprintf(stderr, "bad JSON in a test: %s: %s\n", e.text, text);
  assert_non_null(o);
  return o;
}

void tu_expect_rc(int rc, int want, const char *needle) {
  if (rc != want || (needle && !strstr(prop_last_error(), needle)))
    fprintf(stderr, "status %d (want %d), message \"%s\" (want \"%s\")\n", rc, want, prop_last_error(),
            needle ? needle : "");
  assert_int_equal(rc, want);
  if (needle) assert_non_null(strstr(prop_last_error(), needle));
}

/* ---- payload fuzzing ---------------------------------------------------------------------- */

static int load_copy(const void *data, size_t len, size_t flip, unsigned char mask, tu_loader load, void *user) {
  unsigned char *c = tu_xmalloc(len);
  if (len) memcpy(c, data, len);
  if (flip != SIZE_MAX) c[flip] ^= mask;
  int rc = load(c, len, flip, user);
  free(c);
  return rc;
}

void tu_each_truncation(const void *data, size_t len, tu_loader load, void *user) {
  for (size_t cut = 0; cut < len; cut++) {
    int rc = load_copy(data, cut, SIZE_MAX, 0, load, user);
    if (rc != PROP_ERR_CORRUPT) fprintf(stderr, "payload cut to %zu of %zu bytes: status %d\n", cut, len, rc);
    assert_int_equal(rc, PROP_ERR_CORRUPT);
  }
}

size_t tu_each_flip(const void *data, size_t len, const unsigned char *masks, size_t nmask, tu_loader load,
                    void *user) {
  size_t refused = 0;
  for (size_t pos = 0; pos < len; pos++)
    for (size_t k = 0; k < nmask; k++) refused += load_copy(data, len, pos, masks[k], load, user) != 0;
  return refused;
}

/* ---- members ------------------------------------------------------------------------------ */

void *tu_params(const pp_member_ops *ops, const char *js) {
  json_t *o = tu_json(js);
  void *params = NULL;
  int rc = ops->parse_params(o, "params", &params);
  if (rc) fprintf(stderr, "%s params: %s\n", ops->name, prop_last_error());
  assert_int_equal(rc, 0);
  json_decref(o);
  return params;
}

void tu_expect_recipe_error(const pp_member_ops *ops, const char *path, const char *js, const char *needle) {
  json_t *o = tu_json(js);
  void *params = NULL;
  int rc = ops->parse_params(o, path, &params);
  json_decref(o);
  tu_expect_rc(rc, PROP_ERR_RECIPE, needle);
  assert_null(params);
}

static void log_fn(void *user, int level, const char *msg) {
  tu_log *lg = user;
  lg->lines++;
  snprintf(lg->last, sizeof lg->last, "%s", msg);
  if (level == PROP_LOG_WARN) {
    lg->warns++;
    snprintf(lg->last_warn, sizeof lg->last_warn, "%s", msg);
  }
}

pp_ctx tu_ctx(uint64_t seed, int nthread, tu_log *log) {
  pp_ctx c;
  pp_ctx_init(&c, NULL, seed);
  c.nthread = nthread;
  if (log) {
    c.log = log_fn;
    c.user = log;
  }
  return c;
}

void *tu_fit(const pp_member_ops *ops, const char *params_js, const pp_dataset *train, const pp_dataset *valid,
             const pp_ctx *ctx) {
  void *params = tu_params(ops, params_js);
  void *model = NULL;
  int rc = ops->fit(params, train, valid, ctx, &model);
  if (rc) fprintf(stderr, "%s fit: %s\n", ops->name, prop_last_error());
  assert_int_equal(rc, 0);
  assert_non_null(model);
  ops->free_params(params);
  return model;
}

json_t *tu_info_get(const pp_member_ops *ops, const void *model, const char *key) {
  json_t *o = ops->info(model);
  assert_non_null(o);
  json_t *v = json_object_get(o, key);
  if (!v) fprintf(stderr, "%s info has no \"%s\"\n", ops->name, key);
  assert_non_null(v);
  json_incref(v);
  json_decref(o);
  return v;
}

/* info()[key] as a number (a boolean 0 or 1, null NaN; *iv its integer value when not NULL); its
 * JSON type must be one of the bits (1 << json_type) of types. */
static double info_scalar(const pp_member_ops *ops, const void *model, const char *key, unsigned types,
                          json_int_t *iv) {
  json_t *v = tu_info_get(ops, model, key);
  unsigned t = 1u << json_typeof(v);
  if (!(types & t)) fprintf(stderr, "%s info \"%s\" has JSON type %d\n", ops->name, key, (int)json_typeof(v));
  assert_true(types & t);
  double x = json_is_boolean(v) ? (double)json_is_true(v) : json_is_null(v) ? NAN : json_number_value(v);
  if (iv) *iv = json_is_integer(v) ? json_integer_value(v) : 0;
  json_decref(v);
  return x;
}

#define TYPE(t) (1u << (t))
#define NUMBER (TYPE(JSON_INTEGER) | TYPE(JSON_REAL))
#define BOOLEAN (TYPE(JSON_TRUE) | TYPE(JSON_FALSE))

double tu_info_num(const pp_member_ops *ops, const void *model, const char *key) {
  return info_scalar(ops, model, key, NUMBER | BOOLEAN | TYPE(JSON_NULL), NULL);
}

double tu_info_real(const pp_member_ops *ops, const void *model, const char *key) {
  return info_scalar(ops, model, key, NUMBER, NULL);
}

json_int_t tu_info_int(const pp_member_ops *ops, const void *model, const char *key) {
  json_int_t x = 0;
  info_scalar(ops, model, key, TYPE(JSON_INTEGER), &x);
  return x;
}

int tu_info_bool(const pp_member_ops *ops, const void *model, const char *key) {
  return info_scalar(ops, model, key, BOOLEAN, NULL) != 0;
}

void tu_save(const pp_member_ops *ops, const void *model, pp_buf *b) {
  pp_buf_init(b);
  assert_int_equal(ops->save(model, b), 0);
}

int tu_load(const pp_member_ops *ops, const void *data, size_t len, size_t d, void **model) {
  char what[64];
  snprintf(what, sizeof what, "section MEMB (%s)", ops->name);
  unsigned char *c = tu_xmalloc(len);
  if (len) memcpy(c, data, len);
  pp_rd rd;
  pp_rd_init(&rd, c, len, what);
  *model = NULL;
  int rc = ops->load(&rd, d, model);
  free(c);
  if (rc) assert_null(*model);
  else assert_non_null(*model);
  return rc;
}

void *tu_reload(const pp_member_ops *ops, const void *model, size_t d, pp_buf *b) {
  tu_save(ops, model, b);
  pp_rd rd;
  pp_rd_init(&rd, b->data, b->len, "reload");
  void *l = NULL;
  int rc = ops->load(&rd, d, &l);
  if (rc) fprintf(stderr, "%s load: %s\n", ops->name, prop_last_error());
  assert_int_equal(rc, 0);
  assert_non_null(l);
  assert_int_equal(pp_rd_end(&rd), 0);
  pp_buf b2;
  tu_save(ops, l, &b2);
  assert_int_equal(b2.len, b->len);
  assert_memory_equal(b2.data, b->data, b->len);
  pp_buf_free(&b2);
  return l;
}

int tu_load_check(const pp_member_ops *ops, const void *data, size_t len, size_t d, const float *X, size_t nx) {
  void *m = NULL;
  int rc = tu_load(ops, data, len, d, &m);
  if (rc) return rc;
  double *p = tu_xmalloc(nx * sizeof *p);
  assert_int_equal(ops->predict(m, X, nx, p, NULL, 1), 0);
  for (size_t i = 0; i < nx; i++) assert_true(p[i] >= 0 && p[i] <= 1);
  free(p);
  if (ops->info) json_decref(ops->info(m));
  ops->free_model(m);
  return 0;
}

typedef struct member_fuzz {
  const pp_member_ops *ops;
  size_t d, nx;
  const float *X;
} member_fuzz;

static int member_loader(const unsigned char *p, size_t len, size_t flipped, void *user) {
  const member_fuzz *f = user;
  int rc = tu_load_check(f->ops, p, len, f->d, f->X, f->nx);
  if (flipped != SIZE_MAX && rc) assert_true(rc == PROP_ERR_CORRUPT || rc == PROP_ERR_VERSION);
  return rc;
}

size_t tu_fuzz_member(const pp_member_ops *ops, const void *data, size_t len, size_t d, const unsigned char *masks,
                      size_t nmask, const float *X, size_t nx) {
  member_fuzz f = {ops, d, nx, X};
  tu_each_truncation(data, len, member_loader, &f);
  return tu_each_flip(data, len, masks, nmask, member_loader, &f);
}

prop_frame *tu_read_declared(const char *path, const char *const *names, const prop_coltype *types, size_t n) {
  prop_csv_options co;
  prop_csv_options_default(&co);
  co.declared_names = names;
  co.declared_types = types;
  co.n_declared = n;
  prop_frame *f = NULL;
  int rc = prop_frame_read_csv(path, &co, &f);
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  assert_int_equal(rc, 0);
  return f;
}

/* ---- the demo campaign ------------------------------------------------------------------------- */

prop_frame *tu_read_demo(const char *path) {
  static const char *const names[] = {"accepted", "customer_id", "installment_amount"};
  static const prop_coltype types[] = {PROP_COL_TARGET, PROP_COL_ID, PROP_COL_IGNORE};
  return tu_read_declared(path, names, types, 3);
}

prop_frame *tu_demo_frame(size_t customers, size_t months, uint64_t seed) {
  const char *path = tu_path("demo_frame.csv");
  prop_demo_options d;
  prop_demo_options_default(&d);
  d.customers_per_month = customers;
  d.months = months;
  d.seed = seed;
  assert_int_equal(prop_demo_write_csv(path, &d), 0);
  prop_frame *f = tu_read_demo(path);
  remove(path);
  return f;
}

void tu_demo_train_options(prop_train_options *o, int nthread) {
  prop_train_options_default(o);
  o->target = "accepted";
  o->id = "customer_id";
  o->connected = "connected";
  o->time_col = "month";
  o->nthread = nthread;
}
