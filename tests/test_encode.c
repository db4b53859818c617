/* lib/encode: imputation, missing indicators, standardisation, one-hot with the unseen bucket and
 * max_categories, ordinal, column names and sources, save/load, crafted payloads, recipe options. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "data/frame.h"
#include "encode/encoder.h"

/* ---- helpers ----------------------------------------------------------------------------------- */

/* A column of the schema: labels NULL = numeric, else '|'-separated categories. */
typedef struct colspec {
  const char *name;
  const char *labels;
} colspec;

/* Schema through a small frame (plus a numeric target "y" that is not a feature). */
static pp_schema *make_schema(const colspec *cols, size_t ncols) {
  size_t nrows = 1;
  for (size_t c = 0; c < ncols; c++)
    if (cols[c].labels) {
      size_t nl = 1;
      for (const char *p = cols[c].labels; *p; p++) nl += *p == '|';
      if (nl > nrows) nrows = nl;
    }
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(nrows, &f), 0);
  double *zeros = calloc(nrows, sizeof *zeros);
  const char **vals = calloc(nrows, sizeof *vals);
  assert_non_null(zeros);
  assert_non_null(vals);
  for (size_t c = 0; c < ncols; c++) {
    if (!cols[c].labels) {
      assert_int_equal(prop_frame_add_numeric(f, cols[c].name, zeros), 0);
      continue;
    }
    char *copy = strdup(cols[c].labels);
    assert_non_null(copy);
    size_t nl = 0;
    for (char *tok = strtok(copy, "|"); tok; tok = strtok(NULL, "|")) vals[nl++] = tok;
    for (size_t i = nl; i < nrows; i++) vals[i] = vals[i % nl];
    assert_int_equal(prop_frame_add_strings(f, cols[c].name, PROP_COL_CATEGORICAL, vals), 0);
    free(copy);
  }
  double *y = calloc(nrows, sizeof *y);
  assert_non_null(y);
  y[0] = 1.0;
  assert_int_equal(prop_frame_add_numeric(f, "y", y), 0);
  prop_train_options opt;
  memset(&opt, 0, sizeof opt); /* not prop_train_options_default: it would pull in the pipeline */
  opt.target = "y";
  pp_schema *s = NULL;
  assert_int_equal(pp_schema_from_frame(f, &opt, &s), 0);
  assert_int_equal(s->nfeat, ncols);
  prop_frame_free(f);
  free(zeros);
  free(vals);
  free(y);
  return s;
}

/* The schema of one numeric feature. */
static pp_schema *numeric_schema(const char *name) {
  const colspec cols[] = {{name, NULL}};
  return make_schema(cols, 1);
}

static pp_encode_opts opts(int impute, int indicator, int standardize, int categorical, long maxcat) {
  pp_encode_opts o;
  pp_encode_opts_default(&o);
  o.impute = impute;
  o.missing_indicator = indicator;
  o.standardize = standardize;
  o.categorical = categorical;
  o.max_categories = maxcat;
  return o;
}

static pp_encoder *fit_ok(const pp_schema *s, const double *raw, size_t n, const pp_encode_opts *o) {
  pp_encoder *e = NULL;
  int rc = pp_encoder_fit(s, raw, n, o, &e);
  if (rc) fprintf(stderr, "fit failed: %s\n", prop_last_error());
  assert_int_equal(rc, 0);
  assert_non_null(e);
  return e;
}

/* Encode one single-feature value and return column c of the result. */
static float enc1(const pp_encoder *e, double v, size_t c) {
  float out[64];
  assert_true(pp_encoder_width(e) <= 64);
  pp_encoder_transform(e, &v, 1, 1, out);
  return out[c];
}

static void assert_names(const pp_encoder *e, const char *const *want, size_t n) {
  assert_int_equal(pp_encoder_width(e), n);
  const char *const *all = pp_encoder_colnames(e);
  for (size_t c = 0; c < n; c++) {
    if (strcmp(pp_encoder_colname(e, c), want[c]) != 0)
      fprintf(stderr, "column %zu: '%s', expected '%s'\n", c, pp_encoder_colname(e, c), want[c]);
    assert_string_equal(pp_encoder_colname(e, c), want[c]);
    assert_ptr_equal(all[c], pp_encoder_colname(e, c));
  }
  assert_null(pp_encoder_colname(e, n));
}

#define NA NAN
#define TOL 1e-6

/* ---- numeric ------------------------------------------------------------------------------------ */

static void test_median_imputation_and_indicator(void **state) {
  (void)state;
  pp_schema *s = numeric_schema("income");
  pp_encode_opts o = opts(PP_IMPUTE_MEDIAN, 1, 0, PP_CAT_ONEHOT, 50);

  const double odd[] = {1, NA, 3, 10, NA}; /* median of {1, 3, 10} = 3 */
  pp_encoder *e = fit_ok(s, odd, 5, &o);
  const char *names[] = {"income", "income_missing"};
  assert_names(e, names, 2);
  assert_int_equal(pp_encoder_source(e, 0), 0);
  assert_int_equal(pp_encoder_source(e, 1), 0);
  assert_true(pp_encoder_source(e, 2) == SIZE_MAX);
  float out[10];
  pp_encoder_transform(e, odd, 5, 1, out);
  const float want[10] = {1, 0, 3, 1, 3, 0, 10, 0, 3, 1};
  for (int i = 0; i < 10; i++) assert_true(out[i] == want[i]);
  /* +-Inf is treated as missing; an unseen value passes through */
  assert_true(enc1(e, INFINITY, 0) == 3.0f && enc1(e, INFINITY, 1) == 1.0f);
  assert_true(enc1(e, -INFINITY, 0) == 3.0f);
  assert_true(enc1(e, -7.5, 0) == -7.5f && enc1(e, -7.5, 1) == 0.0f);
  pp_encoder_free(e);

  const double even[] = {4, 1, NA, 10, 2}; /* median of {1, 2, 4, 10} = 3 */
  e = fit_ok(s, even, 5, &o);
  assert_true(enc1(e, NA, 0) == 3.0f);
  pp_encoder_free(e);

  const double halves[] = {NA, 0.5, 0.25}; /* median 0.375 */
  e = fit_ok(s, halves, 3, &o);
  assert_true(enc1(e, NA, 0) == 0.375f);
  pp_encoder_free(e);
  pp_schema_free(s);
}

static void test_mean_zero_and_indicator_rules(void **state) {
  (void)state;
  pp_schema *s = numeric_schema("x");
  const double v[] = {1, NA, 3, 11};

  pp_encode_opts o = opts(PP_IMPUTE_MEAN, 1, 0, PP_CAT_ONEHOT, 50);
  pp_encoder *e = fit_ok(s, v, 4, &o);
  assert_true(enc1(e, NA, 0) == 5.0f); /* (1 + 3 + 11) / 3 */
  assert_true(enc1(e, NA, 1) == 1.0f);
  pp_encoder_free(e);

  o = opts(PP_IMPUTE_ZERO, 1, 0, PP_CAT_ONEHOT, 50);
  e = fit_ok(s, v, 4, &o);
  assert_true(enc1(e, NA, 0) == 0.0f);
  assert_true(enc1(e, 11, 0) == 11.0f);
  pp_encoder_free(e);

  /* no indicator without the option */
  o = opts(PP_IMPUTE_MEDIAN, 0, 0, PP_CAT_ONEHOT, 50);
  e = fit_ok(s, v, 4, &o);
  assert_int_equal(pp_encoder_width(e), 1);
  assert_true(enc1(e, NA, 0) == 3.0f);
  pp_encoder_free(e);

  /* no indicator when training had no missing value; missing at scoring time still imputed */
  const double full[] = {2, 4, 9};
  o = opts(PP_IMPUTE_MEDIAN, 1, 0, PP_CAT_ONEHOT, 50);
  e = fit_ok(s, full, 3, &o);
  const char *one[] = {"x"};
  assert_names(e, one, 1);
  assert_true(enc1(e, NA, 0) == 4.0f);
  pp_encoder_free(e);

  /* all missing: fill 0, indicator present (and 1 for every training row) */
  const double none[] = {NA, NA, NA};
  for (int imp = 0; imp < 3; imp++) {
    o = opts(imp, 1, 1, PP_CAT_ONEHOT, 50);
    e = fit_ok(s, none, 3, &o);
    assert_int_equal(pp_encoder_width(e), 2);
    assert_true(enc1(e, NA, 0) == 0.0f && enc1(e, NA, 1) == 1.0f);
    assert_true(enc1(e, 2.5, 0) == 2.5f && enc1(e, 2.5, 1) == 0.0f); /* mean 0, sd 1 */
    pp_encoder_free(e);
  }
  pp_schema_free(s);
}

static void test_standardisation_by_hand(void **state) {
  (void)state;
  pp_schema *s = numeric_schema("x");

  /* median 3, filled {1, 3, 3, 5}: mean 3, population sd sqrt(2) */
  const double a[] = {1, NA, 3, 5};
  pp_encode_opts o = opts(PP_IMPUTE_MEDIAN, 1, 1, PP_CAT_ONEHOT, 50);
  pp_encoder *e = fit_ok(s, a, 4, &o);
  float out[8];
  pp_encoder_transform(e, a, 4, 1, out);
  const double r2 = sqrt(2.0);
  assert_true(fabs(out[0] + r2) < TOL && out[1] == 0.0f);
  assert_true(fabs(out[2]) < TOL && out[3] == 1.0f); /* the filled value standardises to 0 */
  assert_true(fabs(out[4]) < TOL && out[5] == 0.0f);
  assert_true(fabs(out[6] - r2) < TOL && out[7] == 0.0f);
  assert_true(fabs(enc1(e, 7, 0) - 2 * r2) < TOL);
  pp_encoder_free(e);

  /* mean 5, filled {2, 5, 4, 6, 8}: mean 5, variance (9+0+1+1+9)/5 = 4, sd 2 */
  const double b[] = {2, NA, 4, 6, 8};
  o = opts(PP_IMPUTE_MEAN, 0, 1, PP_CAT_ONEHOT, 50);
  e = fit_ok(s, b, 5, &o);
  assert_int_equal(pp_encoder_width(e), 1);
  pp_encoder_transform(e, b, 5, 1, out);
  const float wb[5] = {-1.5f, 0.0f, -0.5f, 0.5f, 1.5f};
  for (int i = 0; i < 5; i++) assert_true(fabs(out[i] - wb[i]) < TOL);
  pp_encoder_free(e);

  /* constant column: sd 1, mean = the value */
  const double c[] = {7, 7, 7};
  e = fit_ok(s, c, 3, &o);
  assert_true(enc1(e, 7, 0) == 0.0f);
  assert_true(enc1(e, 9, 0) == 2.0f);
  pp_encoder_free(e);
  /* a constant whose sum rounds (0.1 x 10): still sd 1, not a round-off sd of ~1e-17 */
  double tenth[10];
  for (int i = 0; i < 10; i++) tenth[i] = 0.1;
  e = fit_ok(s, tenth, 10, &o);
  assert_true(enc1(e, 0.1, 0) == 0.0f);
  assert_true(fabs(enc1(e, 1.1, 0) - 1.0) < TOL);
  pp_encoder_free(e);

  /* huge values: no overflow, every output finite */
  const double h[] = {1e300, -1e300, 1e300, 1.7e308, -1.7e308};
  e = fit_ok(s, h, 5, &o);
  pp_encoder_transform(e, h, 5, 1, out);
  for (int i = 0; i < 5; i++) assert_true(isfinite(out[i]));
  assert_true(out[3] > 0 && out[4] < 0);
  assert_true(isfinite(enc1(e, -DBL_MAX, 0)) && isfinite(enc1(e, DBL_MAX, 0)));
  pp_encoder_free(e);
  o = opts(PP_IMPUTE_MEDIAN, 0, 0, PP_CAT_ONEHOT, 50);
  e = fit_ok(s, h, 5, &o);
  assert_true(enc1(e, 1e300, 0) == FLT_MAX); /* clamped to the float range */
  assert_true(enc1(e, -1e300, 0) == -FLT_MAX);
  assert_true(enc1(e, NA, 0) == FLT_MAX);    /* median 1e300 */
  pp_encoder_free(e);
  pp_schema_free(s);
}

/* ---- categorical -------------------------------------------------------------------------------- */

static void test_onehot_unseen_bucket_and_max_categories(void **state) {
  (void)state;
  const colspec cols[] = {{"color", "blue|green|red|white"}}; /* codes 0..3 */
  pp_schema *s = make_schema(cols, 1);
  assert_string_equal(s->feat[0].cats[2], "red");
  /* red x3, blue x2, white x2, green x1, missing x1 */
  const double tr[] = {2, 0, 2, 3, 1, NA, 0, 3, 2};
  pp_encode_opts o = opts(PP_IMPUTE_MEDIAN, 1, 1, PP_CAT_ONEHOT, 2);
  pp_encoder *e = fit_ok(s, tr, 9, &o);
  /* kept: red (3) and blue (2, ties with white: the lower code wins), in code order */
  const char *n2[] = {"color=blue", "color=red", "color=<other>", "color=<missing>"};
  assert_names(e, n2, 4);
  for (size_t c = 0; c < 4; c++) assert_int_equal(pp_encoder_source(e, c), 0);
  const struct {
    double v;
    int hot;
  } cases[] = {{0, 0}, {2, 1}, {1, 2}, {3, 2}, {-1, 2}, {4, 2}, {1.5, 2}, {1e9, 2}, {-0.5, 2},
               {INFINITY, 2}, {-INFINITY, 2}, {NA, 3}};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    float out[4];
    pp_encoder_transform(e, &cases[k].v, 1, 1, out);
    for (int c = 0; c < 4; c++) assert_true(out[c] == (c == cases[k].hot ? 1.0f : 0.0f)); /* never standardised */
  }
  pp_encoder_free(e);

  /* max_categories large: every category seen in training is kept */
  o.max_categories = 50;
  e = fit_ok(s, tr, 9, &o);
  const char *n4[] = {"color=blue", "color=green", "color=red", "color=white", "color=<other>", "color=<missing>"};
  assert_names(e, n4, 6);
  assert_true(enc1(e, 1, 1) == 1.0f && enc1(e, 3, 3) == 1.0f && enc1(e, -1, 4) == 1.0f && enc1(e, NA, 5) == 1.0f);
  pp_encoder_free(e);

  /* no missing in training: no <missing> column, NaN goes to <other>; green never seen: not kept */
  const double tr2[] = {0, 2, 3, 3};
  e = fit_ok(s, tr2, 4, &o);
  const char *n3[] = {"color=blue", "color=red", "color=white", "color=<other>"};
  assert_names(e, n3, 4);
  assert_true(enc1(e, NA, 3) == 1.0f && enc1(e, NA, 0) == 0.0f);
  assert_true(enc1(e, 1, 3) == 1.0f); /* green: <other> */
  assert_true(enc1(e, 3, 2) == 1.0f);
  pp_encoder_free(e);

  /* max_categories 1: only the most frequent (white, 2 of 3) */
  const double tr3[] = {3, 1, 3};
  o.max_categories = 1;
  e = fit_ok(s, tr3, 3, &o);
  const char *n1[] = {"color=white", "color=<other>"};
  assert_names(e, n1, 2);
  assert_true(enc1(e, 1, 1) == 1.0f && enc1(e, 3, 0) == 1.0f);
  pp_encoder_free(e);
  pp_schema_free(s);
}

static void test_ordinal(void **state) {
  (void)state;
  const colspec cols[] = {{"grade", "a|b|c"}};
  pp_schema *s = make_schema(cols, 1);
  const double tr[] = {0, 1, 2, NA};
  pp_encode_opts o = opts(PP_IMPUTE_MEDIAN, 1, 0, PP_CAT_ORDINAL, 50);
  pp_encoder *e = fit_ok(s, tr, 4, &o);
  const char *nm[] = {"grade"};
  assert_names(e, nm, 1);
  assert_true(enc1(e, 0, 0) == 0.0f && enc1(e, 1, 0) == 1.0f && enc1(e, 2, 0) == 2.0f);
  assert_true(enc1(e, NA, 0) == -1.0f && enc1(e, -1, 0) == -1.0f && enc1(e, 3, 0) == -1.0f);
  assert_true(enc1(e, 0.5, 0) == -1.0f);
  pp_encoder_free(e);

  /* standardised: values {0, 1, 2, -1}: mean 0.5, variance (0.25 + 0.25 + 2.25 + 2.25) / 4 = 1.25 */
  o.standardize = 1;
  e = fit_ok(s, tr, 4, &o);
  const double sd = sqrt(1.25);
  assert_true(fabs(enc1(e, 2, 0) - 1.5 / sd) < TOL);
  assert_true(fabs(enc1(e, 0, 0) + 0.5 / sd) < TOL);
  assert_true(fabs(enc1(e, NA, 0) + 1.5 / sd) < TOL);
  assert_true(fabs(enc1(e, 7, 0) + 1.5 / sd) < TOL);
  pp_encoder_free(e);
  pp_schema_free(s);
}

/* ---- names, sources, strides ----------------------------------------------------------------- */

static const colspec k_mixed[] = {{"age", NULL}, {"color", "blue|red"}, {"income", NULL}, {"grade", "a|b|c"}};

/* 6 training rows of k_mixed: age has a missing cell, color a missing label, income none. */
static const double k_mixed_rows[] = {
    30, 0,  1000, 0,  /**/ NA, 1, 2000, 1,  /**/ 50, 1, 3000, 2, /**/
    40, NA, 1500, NA, /**/ 35, 0, 2500, 0,  /**/ 45, 1, 500,  1,
};

static void test_names_and_sources(void **state) {
  (void)state;
  pp_schema *s = make_schema(k_mixed, 4);
  pp_encode_opts o = opts(PP_IMPUTE_MEDIAN, 1, 1, PP_CAT_ONEHOT, 50);
  pp_encoder *e = fit_ok(s, k_mixed_rows, 6, &o);
  const char *names[] = {"age",     "age_missing", "color=blue", "color=red", "color=<other>", "color=<missing>",
                         "income",  "grade=a",     "grade=b",    "grade=c",   "grade=<other>", "grade=<missing>"};
  assert_names(e, names, 12);
  const size_t src[] = {0, 0, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3};
  for (size_t c = 0; c < 12; c++) assert_int_equal(pp_encoder_source(e, c), src[c]);

  /* stride > nfeat: rows of 6 doubles, the last two ignored */
  double wide[2 * 6] = {30, 0, 1000, 0, 99, 99, /**/ NA, 1, 2000, NA, -5, -5};
  float a[24], b[24];
  pp_encoder_transform(e, wide, 2, 6, a);
  pp_encoder_transform(e, k_mixed_rows, 1, 4, b);
  assert_memory_equal(a, b, 12 * sizeof(float));
  assert_true(a[12 + 1] == 1.0f && a[12 + 3] == 1.0f && a[12 + 11] == 1.0f);
  pp_encoder_free(e);

  o.categorical = PP_CAT_ORDINAL;
  o.missing_indicator = 0;
  e = fit_ok(s, k_mixed_rows, 6, &o);
  const char *n2[] = {"age", "color", "income", "grade"};
  assert_names(e, n2, 4);
  for (size_t c = 0; c < 4; c++) assert_int_equal(pp_encoder_source(e, c), c);
  pp_encoder_free(e);
  pp_schema_free(s);
}

static void test_names_made_unique(void **state) {
  (void)state;
  const colspec cols[] = {{"x", NULL}, {"x_missing", NULL}, {"c", "<other>|a"}};
  pp_schema *s = make_schema(cols, 3);
  const double rows[] = {NA, 1, 0, /**/ 2, 3, 1};
  pp_encode_opts o = opts(PP_IMPUTE_MEDIAN, 1, 0, PP_CAT_ONEHOT, 50);
  pp_encoder *e = fit_ok(s, rows, 2, &o);
  const char *names[] = {"x", "x_missing", "x_missing#2", "c=<other>", "c=a", "c=<other>#2"};
  assert_names(e, names, 6);
  const size_t src[] = {0, 0, 1, 2, 2, 2};
  for (size_t c = 0; c < 6; c++) assert_int_equal(pp_encoder_source(e, c), src[c]);
  float out[6];
  const double unseen[] = {NA, 5, -1};
  pp_encoder_transform(e, unseen, 1, 3, out);
  const float want[6] = {2, 1, 5, 0, 0, 1};
  assert_memory_equal(out, want, sizeof want);
  pp_encoder_free(e);
  pp_schema_free(s);
}

static void test_fit_arguments(void **state) {
  (void)state;
  pp_schema *s = make_schema(k_mixed, 4);
  pp_encoder *e = (pp_encoder *)1;
  pp_encode_opts o = opts(PP_IMPUTE_MEDIAN, 1, 1, PP_CAT_ONEHOT, 0);
  assert_int_equal(pp_encoder_fit(s, k_mixed_rows, 6, &o, &e), PROP_ERR_ARG);
  assert_null(e);
  o = opts(3, 1, 1, PP_CAT_ONEHOT, 5);
  assert_int_equal(pp_encoder_fit(s, k_mixed_rows, 6, &o, &e), PROP_ERR_ARG);
  o = opts(PP_IMPUTE_MEDIAN, 1, 1, PP_CAT_ONEHOT, 5);
  assert_int_equal(pp_encoder_fit(NULL, k_mixed_rows, 6, &o, &e), PROP_ERR_ARG);
  assert_int_equal(pp_encoder_fit(s, NULL, 6, &o, &e), PROP_ERR_ARG);
  /* zero rows: a usable encoder (fill 0, sd 1, only the <other> buckets) */
  e = fit_ok(s, NULL, 0, &o);
  assert_int_equal(pp_encoder_width(e), 4);
  float out[4];
  pp_encoder_transform(e, k_mixed_rows, 1, 4, out);
  const float want[4] = {30, 1, 1000, 1};
  assert_memory_equal(out, want, sizeof want);
  pp_encoder_free(e);
  pp_encoder_free(NULL);
  pp_schema_free(s);
}

/* ---- save / load -------------------------------------------------------------------------------- */

static void save(const pp_encoder *e, pp_buf *b) {
  pp_buf_init(b);
  assert_int_equal(pp_encoder_save(e, b), 0);
  assert_true(b->len > 28);
}

static int load(const void *p, size_t len, const pp_schema *s, pp_encoder **out) {
  pp_rd rd;
  pp_rd_init(&rd, p, len, "section ENCD");
  int rc = pp_encoder_load(&rd, s, out);
  if (!rc && pp_rd_end(&rd)) rc = PROP_ERR_CORRUPT;
  return rc;
}

/* Rows exercising every path: training rows plus unseen, missing, odd codes and huge values. */
static const double k_probe[] = {
    30, 0,  1000,  0,  /**/ NA, 1,    NA,      1,  /**/ 1e300, -1, -1e300, 7, /**/
    -3, NA, 0,     NA, /**/ 40, 1.5,  INFINITY, -1, /**/ 35,   2,  2500,   2.5,
};

static void test_save_load_round_trip(void **state) {
  (void)state;
  pp_schema *s = make_schema(k_mixed, 4);
  /* the schema goes through its own round trip too, as in a model file */
  pp_buf sb;
  pp_buf_init(&sb);
  assert_int_equal(pp_schema_save(s, &sb), 0);
  pp_rd srd;
  pp_rd_init(&srd, sb.data, sb.len, "schema");
  pp_schema *s2 = NULL;
  assert_int_equal(pp_schema_load(&srd, &s2), 0);

  for (int cfg = 0; cfg < 4; cfg++) {
    pp_encode_opts o = opts(cfg % 3, cfg & 1, cfg < 2, cfg >= 2 ? PP_CAT_ORDINAL : PP_CAT_ONEHOT, cfg == 0 ? 1 : 50);
    pp_encoder *e = fit_ok(s, k_mixed_rows, 6, &o);
    pp_buf b;
    save(e, &b);
    pp_encoder *l = NULL;
    int rc = load(b.data, b.len, s2, &l);
    if (rc) fprintf(stderr, "load: %s\n", prop_last_error());
    assert_int_equal(rc, 0);
    size_t w = pp_encoder_width(e);
    assert_int_equal(pp_encoder_width(l), w);
    for (size_t c = 0; c < w; c++) {
      assert_string_equal(pp_encoder_colname(l, c), pp_encoder_colname(e, c));
      assert_int_equal(pp_encoder_source(l, c), pp_encoder_source(e, c));
    }
    float *x1 = calloc(6 * w, sizeof *x1), *x2 = calloc(6 * w, sizeof *x2);
    assert_non_null(x1);
    assert_non_null(x2);
    pp_encoder_transform(e, k_probe, 6, 4, x1);
    pp_encoder_transform(l, k_probe, 6, 4, x2);
    assert_memory_equal(x1, x2, 6 * w * sizeof *x1);
    for (size_t k = 0; k < 6 * w; k++) assert_true(isfinite(x1[k]));
    /* saving the loaded encoder gives the same bytes */
    pp_buf b2;
    save(l, &b2);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);
    free(x1);
    free(x2);
    pp_buf_free(&b);
    pp_buf_free(&b2);
    pp_encoder_free(e);
    pp_encoder_free(l);
  }
  pp_schema_free(s2);
  pp_buf_free(&sb);
  pp_schema_free(s);
}

static void put_f64_at(unsigned char *p, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(u >> (8 * i));
}

/* Load of a modified copy must fail with PROP_ERR_CORRUPT and leave *out NULL. */
static void assert_corrupt(const unsigned char *p, size_t len, const pp_schema *s, const char *needle) {
  pp_encoder *l = (pp_encoder *)1;
  tu_expect_rc(load(p, len, s, &l), PROP_ERR_CORRUPT, needle);
  assert_true(l == NULL || l == (pp_encoder *)1);
  if (l == (pp_encoder *)1) l = NULL;
  pp_encoder_free(l);
}

typedef struct enc_fuzz {
  const pp_schema *s;
  const unsigned char *orig;
} enc_fuzz;

/* Loads a changed payload of k_mixed's encoder: a failure must be PROP_ERR_CORRUPT (loading
 * nothing); only bytes whose every value is legal (impute, max_categories and the doubles of the
 * numeric features age [30, 54) and income [82, 106)) may load, and then give finite outputs. */
static int enc_loader(const unsigned char *p, size_t len, size_t pos, void *user) {
  const enc_fuzz *f = user;
  pp_encoder *l = NULL;
  int rc = load(p, len, f->s, &l);
  if (rc) {
    assert_int_equal(rc, PROP_ERR_CORRUPT);
    assert_null(l);
    return rc;
  }
  int may_pass = pos == 4 || (pos >= 8 && pos < 12) || (pos >= 30 && pos < 54) || (pos >= 82 && pos < 106);
  if (!may_pass) fprintf(stderr, "byte %zu ^ 0x%02x accepted\n", pos, pos < len ? p[pos] ^ f->orig[pos] : 0);
  assert_true(may_pass);
  float out[6 * 64];
  assert_int_equal(pp_encoder_width(l), 12);
  pp_encoder_transform(l, k_probe, 6, 4, out);
  for (size_t k = 0; k < 6 * 12; k++) assert_true(isfinite(out[k]));
  pp_encoder_free(l);
  return 0;
}

static void test_crafted_payloads_rejected(void **state) {
  (void)state;
  pp_schema *s = make_schema(k_mixed, 4);
  pp_encode_opts o = opts(PP_IMPUTE_MEDIAN, 1, 1, PP_CAT_ONEHOT, 50);
  pp_encoder *e = fit_ok(s, k_mixed_rows, 6, &o);
  pp_buf b;
  save(e, &b);
  assert_int_equal(b.len, 136); /* the offsets below depend on it */
  unsigned char *p = tu_xmalloc(b.len);

  /* every truncation fails cleanly; every single-byte change is rejected, except where enc_loader
   * allows it */
  enc_fuzz fz = {s, b.data};
  tu_each_truncation(b.data, b.len, enc_loader, &fz);
  const unsigned char masks[] = {0x01, 0x10, 0x80, 0xFF};
  tu_each_flip(b.data, b.len, masks, sizeof masks, enc_loader, &fz);

  /* header: layout 0..3, impute 4, indicator 5, standardize 6, categorical 7, max_categories 8..11,
   * nfeat 12..19, width 20..27; feature 0 (age, numeric): kind 28, indicator 29, fill 30..37,
   * mean 38..45, sd 46..53; feature 1 (color, one-hot): kind 54, ncats 55..62, has_missing 63,
   * nkept 64..71, kept codes 72..79 */
  struct {
    size_t pos;
    unsigned char val;
    const char *needle;
  } edits[] = {{0, 2, "layout"},         {4, 3, "options"},      {5, 2, "missing_indicator"},
               {7, 2, "options"},        {8, 0, "options"},      {12, 5, "features"},
               {20, 13, "width"},        {28, 1, "kind"},        {29, 0, "width"},
               {54, 2, "kind"},          {55, 3, "categories"},  {63, 0, "width"},
               {64, 3, "kept category"}, {72, 2, "kept category"}, {76, 0, "kept category"}};
  for (size_t k = 0; k < sizeof edits / sizeof *edits; k++) {
    memcpy(p, b.data, b.len);
    p[edits[k].pos] = edits[k].val;
    assert_corrupt(p, b.len, s, edits[k].needle);
  }
  const double bad[] = {NAN, INFINITY, -INFINITY};
  for (int k = 0; k < 3; k++) {
    for (size_t at = 30; at <= 46; at += 8) {
      memcpy(p, b.data, b.len);
      put_f64_at(p + at, bad[k]);
      assert_corrupt(p, b.len, s, at == 30 ? "fill" : "sd");
    }
  }
  memcpy(p, b.data, b.len);
  put_f64_at(p + 46, 0.0);
  assert_corrupt(p, b.len, s, "sd");
  memcpy(p, b.data, b.len);
  put_f64_at(p + 46, -1.0);
  assert_corrupt(p, b.len, s, "sd");

  /* a schema that does not match: other category count, other feature count, other types */
  const colspec other_cats[] = {{"age", NULL}, {"color", "blue|green|red"}, {"income", NULL}, {"grade", "a|b|c"}};
  const colspec fewer[] = {{"age", NULL}, {"color", "blue|red"}, {"income", NULL}};
  const colspec types[] = {{"age", "p|q"}, {"color", "blue|red"}, {"income", NULL}, {"grade", "a|b|c"}};
  pp_schema *s2 = make_schema(other_cats, 4), *s3 = make_schema(fewer, 3), *s4 = make_schema(types, 4);
  assert_corrupt(b.data, b.len, s2, "categories");
  assert_corrupt(b.data, b.len, s3, "features");
  assert_corrupt(b.data, b.len, s4, "kind");
  pp_schema_free(s2);
  pp_schema_free(s3);
  pp_schema_free(s4);

  /* trailing bytes are left for the caller's pp_rd_end */
  memcpy(p, b.data, b.len);
  pp_rd rd;
  pp_rd_init(&rd, b.data, b.len - 1, "x");
  pp_encoder *l = NULL;
  assert_int_equal(pp_encoder_load(&rd, s, &l), PROP_ERR_CORRUPT);
  assert_null(l);

  free(p);
  pp_buf_free(&b);
  pp_encoder_free(e);
  pp_schema_free(s);
}

static void test_crafted_without_standardize(void **state) {
  (void)state;
  pp_schema *s = numeric_schema("x");
  const double v[] = {1, 2, NA};
  pp_encode_opts o = opts(PP_IMPUTE_ZERO, 1, 0, PP_CAT_ONEHOT, 50);
  pp_encoder *e = fit_ok(s, v, 3, &o);
  pp_buf b;
  save(e, &b);
  assert_int_equal(b.len, 54);
  unsigned char p[54];
  memcpy(p, b.data, 54);
  put_f64_at(p + 30, 1.5); /* impute zero with a non-zero fill */
  assert_corrupt(p, 54, s, "fill");
  memcpy(p, b.data, 54);
  put_f64_at(p + 38, 0.5); /* a mean without standardisation */
  assert_corrupt(p, 54, s, "standardisation");
  memcpy(p, b.data, 54);
  p[5] = 0; /* an indicator column although indicators are off */
  assert_corrupt(p, 54, s, "indicator");
  pp_buf_free(&b);
  pp_encoder_free(e);
  pp_schema_free(s);
}

/* ---- through a frame binding (raw rows as the pipeline makes them) --------------------------- */

static void test_from_binding(void **state) {
  (void)state;
  const char *tr_color[] = {"red", "blue", NULL, "red"};
  const double tr_inc[] = {10, NAN, 30, 20}, y[] = {0, 1, 0, 1};
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(4, &f), 0);
  assert_int_equal(prop_frame_add_strings(f, "color", PROP_COL_CATEGORICAL, tr_color), 0);
  assert_int_equal(prop_frame_add_numeric(f, "income", tr_inc), 0);
  assert_int_equal(prop_frame_add_numeric(f, "y", y), 0);
  prop_train_options opt;
  memset(&opt, 0, sizeof opt); /* not prop_train_options_default: it would pull in the pipeline */
  opt.target = "y";
  pp_schema *s = NULL;
  assert_int_equal(pp_schema_from_frame(f, &opt, &s), 0);
  pp_binding *bd = NULL;
  assert_int_equal(pp_binding_create(s, f, &bd), 0);
  double raw[8];
  pp_binding_rows(bd, 0, 4, raw, NULL);
  pp_encode_opts o = opts(PP_IMPUTE_MEDIAN, 1, 0, PP_CAT_ONEHOT, 50);
  pp_encoder *e = fit_ok(s, raw, 4, &o);
  const char *names[] = {"color=blue", "color=red", "color=<other>", "color=<missing>", "income", "income_missing"};
  assert_names(e, names, 6);
  pp_binding_free(bd);

  /* a scoring frame with an unseen label */
  const char *sc_color[] = {"green", NULL};
  const double sc_inc[] = {NAN, 5};
  prop_frame *g = NULL;
  assert_int_equal(prop_frame_create(2, &g), 0);
  assert_int_equal(prop_frame_add_strings(g, "color", PROP_COL_CATEGORICAL, sc_color), 0);
  assert_int_equal(prop_frame_add_numeric(g, "income", sc_inc), 0);
  assert_int_equal(pp_binding_create(s, g, &bd), 0);
  pp_binding_rows(bd, 0, 2, raw, NULL);
  float out[12];
  pp_encoder_transform(e, raw, 2, 2, out);
  const float want[12] = {0, 0, 1, 0, 20, 1, /**/ 0, 0, 0, 1, 5, 0};
  assert_memory_equal(out, want, sizeof want);
  pp_binding_free(bd);
  prop_frame_free(g);
  pp_encoder_free(e);
  pp_schema_free(s);
  prop_frame_free(f);
}

/* ---- recipe options ----------------------------------------------------------------------------- */

static void parse_fails(const char *json, const char *needle) {
  json_t *j = tu_json(json);
  pp_encode_opts o = opts(PP_IMPUTE_MEAN, 0, 0, PP_CAT_ORDINAL, 9);
  tu_expect_rc(pp_encode_opts_parse(j, "encoders", &o), PROP_ERR_RECIPE, needle);
  assert_int_equal(o.impute, PP_IMPUTE_MEAN); /* untouched on failure */
  assert_int_equal(o.max_categories, 9);
  json_decref(j);
}

static void test_recipe_options(void **state) {
  (void)state;
  pp_encode_opts o;
  memset(&o, 0x5A, sizeof o);
  assert_int_equal(pp_encode_opts_parse(NULL, "encoders", &o), 0);
  assert_int_equal(o.impute, PP_IMPUTE_MEDIAN);
  assert_int_equal(o.missing_indicator, 1);
  assert_int_equal(o.standardize, 1);
  assert_int_equal(o.categorical, PP_CAT_ONEHOT);
  assert_int_equal(o.max_categories, 50);

  json_t *j = tu_json("{\"impute\": \"mean\", \"missing_indicator\": false, \"standardize\": false,"
                       " \"categorical\": \"ordinal\", \"max_categories\": 7}");
  assert_int_equal(pp_encode_opts_parse(j, "encoders", &o), 0);
  json_decref(j);
  assert_int_equal(o.impute, PP_IMPUTE_MEAN);
  assert_int_equal(o.missing_indicator, 0);
  assert_int_equal(o.standardize, 0);
  assert_int_equal(o.categorical, PP_CAT_ORDINAL);
  assert_int_equal(o.max_categories, 7);

  /* canonical JSON, and back */
  j = pp_encode_opts_to_json(&o);
  char *txt = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(txt, "{\"categorical\":\"ordinal\",\"impute\":\"mean\",\"max_categories\":7,"
                           "\"missing_indicator\":false,\"standardize\":false}");
  free(txt);
  pp_encode_opts back;
  assert_int_equal(pp_encode_opts_parse(j, "encoders", &back), 0);
  assert_memory_equal(&back, &o, sizeof o);
  json_decref(j);
  pp_encode_opts_default(&o);
  j = pp_encode_opts_to_json(&o);
  txt = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
  assert_string_equal(txt, "{\"categorical\":\"onehot\",\"impute\":\"median\",\"max_categories\":50,"
                           "\"missing_indicator\":true,\"standardize\":true}");
  free(txt);
  json_decref(j);
  /* null values keep the defaults */
  j = tu_json("{\"impute\": null}");
  assert_int_equal(pp_encode_opts_parse(j, "encoders", &o), 0);
  assert_int_equal(o.impute, PP_IMPUTE_MEDIAN);
  json_decref(j);

  parse_fails("{\"impute\": \"mode\"}", "encoders.impute");
  parse_fails("{\"impute\": 1}", "encoders.impute");
  parse_fails("{\"categorical\": \"target\"}", "encoders.categorical");
  parse_fails("{\"standardize\": \"yes\"}", "encoders.standardize");
  parse_fails("{\"missing_indicator\": 1}", "encoders.missing_indicator");
  parse_fails("{\"max_categories\": 0}", "encoders.max_categories");
  parse_fails("{\"max_categories\": 10001}", "encoders.max_categories");
  parse_fails("{\"max_categories\": 2.5}", "encoders.max_categories");
  parse_fails("{\"imputer\": \"mean\"}", "encoders.imputer: unknown field");
  parse_fails("[1]", "encoders: must be an object");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_median_imputation_and_indicator),
      cmocka_unit_test(test_mean_zero_and_indicator_rules),
      cmocka_unit_test(test_standardisation_by_hand),
      cmocka_unit_test(test_onehot_unseen_bucket_and_max_categories),
      cmocka_unit_test(test_ordinal),
      cmocka_unit_test(test_names_and_sources),
      cmocka_unit_test(test_names_made_unique),
      cmocka_unit_test(test_fit_arguments),
      cmocka_unit_test(test_save_load_round_trip),
      cmocka_unit_test(test_crafted_payloads_rejected),
      cmocka_unit_test(test_crafted_without_standardize),
      cmocka_unit_test(test_from_binding),
      cmocka_unit_test(test_recipe_options),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
