/* lib/lists: the ranked call list (prop_calllist) against prop_rank on the same scores, rows in = rows
 * out, its one layout, reasons for unscored rows, input order, ranking by value, dense rows, and errors;
 * the rows of a call plan (prop_planlist) added in chunks, empty ones included. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define N 600

static prop_model *g_model;
static prop_frame *g_frame; /* N rows: id, x1, x2, cat, y */

static const char *k_recipe = "{\"seed\": 3, \"cv_folds\": 2, \"members\": [{\"name\": \"logistic\"}],"
                              " \"calibration\": \"platt\"}";

/* The rows: ids "c<i>" (every 97th missing), x1 and x2 numbers, cat one of A/B/C (or an unseen label
 * "Z" in every 101st row when unseen is set), value = 10 + i % 7 (infinite in every 89th row). */
static prop_frame *make_frame(size_t n, int with_target, int unseen, double *value) {
  char (*idbuf)[16] = tu_xmalloc(n * sizeof *idbuf);
  const char **ids = tu_xmalloc(n * sizeof *ids), **cat = tu_xmalloc(n * sizeof *cat), **y = tu_xmalloc(n * sizeof *y);
  double *x1 = tu_xmalloc(n * sizeof *x1), *x2 = tu_xmalloc(n * sizeof *x2);
  uint64_t st = 7;
  static const char *const cats[3] = {"A", "B", "C"};
  for (size_t i = 0; i < n; i++) {
    snprintf(idbuf[i], sizeof idbuf[i], "c%03zu", i);
    ids[i] = i % 97 == 5 ? NULL : idbuf[i];
    x1[i] = tu_normal(&st);
    x2[i] = tu_normal(&st);
    cat[i] = unseen && i % 101 == 7 ? "Z" : cats[i % 3];
    double z = 1.2 * x1[i] - 0.8 * x2[i] + (i % 3 == 0 ? 0.7 : 0.0);
    y[i] = tu_uniform(&st) < 1.0 / (1.0 + exp(-z)) ? "1" : "0";
    if (value) value[i] = i % 89 == 11 ? INFINITY : 10.0 + (double)(i % 7);
  }
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(n, &f), 0);
  assert_int_equal(prop_frame_add_strings(f, "id", PROP_COL_ID, ids), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x1", x1), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x2", x2), 0);
  assert_int_equal(prop_frame_add_strings(f, "cat", PROP_COL_CATEGORICAL, cat), 0);
  if (with_target) assert_int_equal(prop_frame_add_strings(f, "y", PROP_COL_TARGET, y), 0);
  free(idbuf);
  free(ids);
  free(cat);
  free(y);
  free(x1);
  free(x2);
  return f;
}

static int setup(void **state) {
  (void)state;
  prop_frame *f = make_frame(N, 1, 0, NULL);
  /* training needs every id: drop the missing ones by training without the id column */
  prop_recipe *r = NULL;
  assert_int_equal(prop_recipe_parse(k_recipe, "lists", &r), 0);
  prop_train_options o;
  prop_train_options_default(&o);
  o.target = "y";
  o.id = "id";
  o.nthread = 1;
  assert_int_equal(prop_model_train(f, r, &o, &g_model), 0);
  prop_recipe_free(r);
  g_frame = f;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  prop_model_free(g_model);
  prop_frame_free(g_frame);
  return 0;
}

static prop_calllist *new_list(const prop_calllist_options *o) {
  prop_calllist *cl = NULL;
  assert_int_equal(prop_calllist_create(g_model, o, &cl), 0);
  return cl;
}

/* The bytes cl writes (NUL-terminated). */
static char *written_bytes(const prop_calllist *cl) {
  const char *path = tu_path("list.csv");
  prop_writer *w = NULL;
  assert_int_equal(prop_writer_open(path, NULL, &w), 0);
  assert_int_equal(prop_calllist_write(cl, w), 0);
  assert_int_equal(prop_writer_commit(w), 0);
  char *text = tu_read(path, NULL);
  remove(path);
  return text;
}

/* The list's rows read back from the file it wrote (header checked). */
static char **written_rows(const prop_calllist *cl, size_t *nlines, const char *header) {
  char *text = written_bytes(cl);
  size_t cap = 16, n = 0;
  char **lines = tu_xmalloc(cap * sizeof *lines);
  for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (n == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
    lines[n++] = strdup(line);
  }
  free(text);
  assert_true(n >= 1);
  assert_string_equal(lines[0], header);
  *nlines = n;
  return lines;
}

static void free_lines(char **lines, size_t n) {
  for (size_t i = 0; i < n; i++) free(lines[i]);
  free(lines);
}

/* The N rows of f (make_frame's) as the model's dense inputs (categories by code), N x inputs. */
static double *dense_rows(const prop_frame *f) {
  const size_t k = prop_model_n_inputs(g_model);
  double *X = tu_xmalloc(N * k * sizeof *X);
  for (size_t j = 0; j < k; j++) {
    const char *name = prop_model_input_name(g_model, j);
    long c = prop_frame_find(f, name);
    for (size_t i = 0; i < N; i++) {
      if (prop_model_input_type(g_model, j) == PROP_COL_NUMERIC) {
        double col[N];
        prop_frame_numeric_values(f, (size_t)c, col);
        X[i * k + j] = col[i];
      } else {
        X[i * k + j] = prop_model_category_code(g_model, j, prop_frame_string_value(f, (size_t)c, i));
      }
    }
  }
  return X;
}

/* Two chunks in, one row out per row in; the scored rows ranked exactly as prop_rank ranks the same
 * probabilities; unscored rows kept with their reasons, last. */
static void test_rows_and_ranks(void **state) {
  (void)state;
  prop_frame *f = make_frame(N, 0, 1, NULL);
  prop_predict_options po; /* strict: the unseen category makes its row unscored, with its reason */
  prop_predict_options_default(&po);
  po.unseen = PROP_UNSEEN_ERROR;
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  ro.capacity = 100;
  prop_calllist_options o;
  prop_calllist_options_default(&o);
  o.predict = &po;
  o.rank = &ro;
  o.source = "tonight.csv";
  prop_calllist *cl = new_list(&o);
  assert_int_equal(prop_calllist_add(cl, f, NULL), 0);
  assert_int_equal(prop_calllist_add(cl, f, NULL), 0); /* the same rows again: 2N rows, ids repeated */
  assert_int_equal(prop_calllist_finish(cl), 0);
  assert_int_equal(prop_calllist_finish(cl), 0); /* once */
  const size_t n = 2 * N;
  assert_int_equal(prop_calllist_n_rows(cl), n);
  assert_int_equal(prop_calllist_n_selected(cl), 100);
  size_t *row = tu_xmalloc(n * sizeof *row), *rank = tu_xmalloc(n * sizeof *rank);
  double *prob = tu_xmalloc(n * sizeof *prob);
  int *band = tu_xmalloc(n * sizeof *band), *dialer = tu_xmalloc(n * sizeof *dialer);
  unsigned char *sel = tu_xmalloc(n);
  assert_int_equal(prop_calllist_get(cl, row, prob, band, rank, dialer, sel), 0);
  /* the reference: the model's probabilities, unscored where the id is missing, ranked by prop_rank */
  double *p = tu_xmalloc(n * sizeof *p);
  int *b = tu_xmalloc(n * sizeof *b), *st = tu_xmalloc(n * sizeof *st);
  assert_int_equal(prop_model_predict_frame(g_model, f, p, b, st, &po), 0);
  memcpy(p + N, p, N * sizeof *p);
  memcpy(b + N, b, N * sizeof *b);
  memcpy(st + N, st, N * sizeof *st);
  const char **ids = tu_xmalloc(n * sizeof *ids);
  size_t unscored = 0;
  for (size_t i = 0; i < n; i++) {
    ids[i] = prop_frame_string_value(f, 0, i % N);
    if (!ids[i]) {
      p[i] = NAN;
      b[i] = 0;
      ids[i] = "";
    }
    unscored += p[i] != p[i];
  }
  assert_int_equal(unscored, 2 * 7 + 2 * 6); /* missing ids and unseen categories, in both copies */
  assert_int_equal(prop_calllist_n_unscored(cl), unscored);
  size_t *rrank = tu_xmalloc(n * sizeof *rrank);
  int *rdial = tu_xmalloc(n * sizeof *rdial);
  unsigned char *rsel = tu_xmalloc(n);
  assert_int_equal(prop_rank(p, b, NULL, ids, n, &ro, rrank, rsel, rdial, NULL), 0);
  unsigned char *seen = calloc(n, 1);
  for (size_t k = 0; k < n; k++) {
    size_t i = row[k];
    assert_true(i < n && !seen[i]);
    seen[i] = 1; /* every input row exactly once */
    assert_memory_equal(&prob[k], &p[i], sizeof p[i]);
    assert_int_equal(band[k], b[i]);
    assert_int_equal(rank[k], rrank[i]);
    assert_int_equal(dialer[k], rdial[i]);
    assert_int_equal(sel[k], rsel[i]);
    if (k >= n - unscored) { /* unscored rows last, each with its reason */
      const char *why = prop_calllist_error(cl, k);
      assert_non_null(why);
      assert_true(prob[k] != prob[k] && rank[k] == 0 && !sel[k]);
      if (st[i] == PROP_ERR_CATEGORY) assert_non_null(strstr(why, ":cat: category 'Z' was not seen in training"));
      else assert_non_null(strstr(why, ":id: the id is missing"));
      assert_true(strncmp(why, "tonight.csv:", 12) == 0);
    } else {
      assert_null(prop_calllist_error(cl, k));
      assert_int_equal(rank[k], k + 1);
    }
  }
  /* the written list: the header, then the same rows in the same order */
  size_t nl;
  char **lines = written_rows(cl, &nl, "id,probability,band,rank,error,dialer_rank,selected");
  assert_int_equal(nl, n + 1);
  for (size_t k = 0; k < n; k++) {
    char want[700];
    const char *why = prop_calllist_error(cl, k);
    if (why) snprintf(want, sizeof want, "%s,,0,,%s,0,0", prop_calllist_id(cl, k), why);
    else
      snprintf(want, sizeof want, "%s,%.17g,%d,%zu,,%d,%d", prop_calllist_id(cl, k), prob[k], band[k], rank[k],
               dialer[k], sel[k]);
    assert_string_equal(lines[k + 1], want);
  }
  free_lines(lines, nl);
  free(row), free(rank), free(prob), free(band), free(dialer), free(sel), free(p), free(b), free(st), free(ids);
  free(rrank), free(rdial), free(rsel), free(seen);
  prop_calllist_free(cl);
  prop_frame_free(f);
}

/* Input order keeps the rows as added, with the same figures as the call order. */
static void test_input_order(void **state) {
  (void)state;
  prop_frame *f = make_frame(N, 0, 0, NULL);
  prop_calllist_options o;
  prop_calllist_options_default(&o);
  prop_calllist *by_rank = new_list(&o);
  o.order = PROP_ORDER_INPUT;
  prop_calllist *by_input = new_list(&o);
  assert_int_equal(prop_calllist_add(by_rank, f, NULL), 0);
  assert_int_equal(prop_calllist_add(by_input, f, NULL), 0);
  assert_int_equal(prop_calllist_finish(by_rank), 0);
  assert_int_equal(prop_calllist_finish(by_input), 0);
  size_t row_r[N], row_i[N], rank_r[N], rank_i[N];
  assert_int_equal(prop_calllist_get(by_rank, row_r, NULL, NULL, rank_r, NULL, NULL), 0);
  assert_int_equal(prop_calllist_get(by_input, row_i, NULL, NULL, rank_i, NULL, NULL), 0);
  size_t rank_of[N];
  for (size_t k = 0; k < N; k++) {
    assert_int_equal(row_i[k], k);
    rank_of[row_r[k]] = rank_r[k];
  }
  for (size_t k = 0; k < N; k++) assert_int_equal(rank_i[k], rank_of[k]);
  prop_calllist_free(by_rank);
  prop_calllist_free(by_input);
  prop_frame_free(f);
}

/* By value: expected value = probability x value; an infinite value leaves the row unscored; band
 * quotas and capacity are kept; the same list from dense rows. */
static void test_by_value_and_dense(void **state) {
  (void)state;
  double value[N];
  prop_frame *f = make_frame(N, 0, 0, value);
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  ro.by = PROP_RANK_VALUE;
  ro.capacity = 50;
  size_t quota[7] = {0, 5, 5, 5, 5, 5, 5};
  ro.band_quota = quota;
  ro.nbands = prop_model_n_bands(g_model);
  assert_int_equal(ro.nbands, 7);
  prop_calllist_options o;
  prop_calllist_options_default(&o);
  o.rank = &ro;
  prop_calllist *cl = new_list(&o);
  quota[1] = 99; /* copied at create: a later change does not reach the list */
  assert_int_equal(prop_calllist_add(cl, f, NULL), PROP_ERR_ARG); /* no value column named, none given */
  assert_non_null(strstr(prop_last_error(), "value_column"));
  assert_int_equal(prop_calllist_add(cl, f, value), 0);
  assert_int_equal(prop_calllist_finish(cl), 0);
  size_t nl;
  char **lines = written_rows(cl, &nl, "id,probability,band,rank,error,dialer_rank,selected,value,expected_value");
  assert_int_equal(nl, N + 1);
  size_t per_band[8] = {0}, nsel = 0, inf_rows = 0;
  for (size_t k = 1; k < nl; k++) {
    char id[32], rest[600];
    double p, v, ev;
    int bnd, dial, s;
    size_t rk;
    if (sscanf(lines[k], "%31[^,],%lf,%d,%zu,,%d,%d,%lf,%lf", id, &p, &bnd, &rk, &dial, &s, &v, &ev) == 8) {
      assert_true(fabs(ev - p * v) <= 1e-12 * fabs(ev));
      per_band[bnd] += (size_t)s;
      nsel += (size_t)s;
    } else {
      const char *tail = strstr(lines[k], ",,0,,"); /* an unscored row (its id may be empty) */
      assert_non_null(tail);
      snprintf(rest, sizeof rest, "%s", tail);
      inf_rows += strstr(rest, "the value is infinite") != NULL;
    }
  }
  assert_int_equal(inf_rows, 7); /* rows 11, 100, ... 545 of 600 (those with an id) */
  assert_true(nsel <= 50 && nsel == prop_calllist_n_selected(cl));
  for (int bnd = 2; bnd <= 7; bnd++) assert_true(per_band[bnd] <= 5);
  assert_int_equal(per_band[1], 0);
  /* the same rows as a dense matrix give the same scored rows (ids passed, value given) */
  const size_t k = prop_model_n_inputs(g_model);
  double *X = dense_rows(f);
  const char *ids[N];
  for (size_t i = 0; i < N; i++) ids[i] = prop_frame_string_value(f, 0, i);
  quota[1] = 5;
  prop_calllist *dense = new_list(&o);
  assert_int_equal(prop_calllist_add_dense(dense, X, PROP_FLOAT64, N, k, k, ids, NULL), PROP_ERR_ARG);
  assert_int_equal(prop_calllist_add_dense(dense, X, PROP_FLOAT64, N, k, k, ids, value), 0);
  assert_int_equal(prop_calllist_finish(dense), 0);
  double pa[N], pb[N];
  size_t ra[N], rb[N];
  assert_int_equal(prop_calllist_get(cl, ra, pa, NULL, NULL, NULL, NULL), 0);
  assert_int_equal(prop_calllist_get(dense, rb, pb, NULL, NULL, NULL, NULL), 0);
  for (size_t i = 0; i < N; i++) {
    assert_int_equal(ra[i], rb[i]);
    assert_memory_equal(&pa[i], &pb[i], sizeof pa[i]);
  }
  free_lines(lines, nl);
  free(X);
  prop_calllist_free(cl);
  prop_calllist_free(dense);
  prop_frame_free(f);
}

/* Ids a spreadsheet would run as formulas (issue 18): the row is not scored and says why, from a frame and
 * from dense rows; the written id carries the writer's leading '; a negative number is an id like any other. */
static void test_formula_ids(void **state) {
  (void)state;
  enum { M = 6 };
  const char *ids[M] = {"=HYPERLINK(\"http://x\",\"y\")", "-12", "+cmd|' /C calc'!A0", "@SUM(1)", "\tx", "ok"};
  const int refused[M] = {1, 0, 1, 1, 1, 0};
  const char *cat[M] = {"A", "B", "C", "A", "B", "C"};
  double x1[M] = {0.1, -0.2, 0.3, -0.4, 0.5, -0.6}, x2[M] = {1, 2, 3, 4, 5, 6};
  prop_frame *f = NULL;
  assert_int_equal(prop_frame_create(M, &f), 0);
  assert_int_equal(prop_frame_add_strings(f, "id", PROP_COL_ID, ids), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x1", x1), 0);
  assert_int_equal(prop_frame_add_numeric(f, "x2", x2), 0);
  assert_int_equal(prop_frame_add_strings(f, "cat", PROP_COL_CATEGORICAL, cat), 0);
  prop_calllist_options o;
  prop_calllist_options_default(&o);
  o.order = PROP_ORDER_INPUT;
  o.source = "ids.csv";
  prop_calllist *cl = new_list(&o);
  assert_int_equal(prop_calllist_add(cl, f, NULL), 0);
  assert_int_equal(prop_calllist_finish(cl), 0);
  size_t nl;
  char **lines = written_rows(cl, &nl, "id,probability,band,rank,error,dialer_rank,selected");
  assert_int_equal(nl, M + 1);
  for (size_t i = 0; i < M; i++) {
    const char *e = prop_calllist_error(cl, i);
    if (refused[i]) {
      assert_non_null(e);
      assert_non_null(strstr(e, "ids.csv:"));
      assert_non_null(strstr(e, ":id: the id '"));
      assert_non_null(strstr(e, "which a spreadsheet would run as a formula: not scored"));
      assert_true(lines[1 + i][0] == '\'' || (lines[1 + i][0] == '"' && lines[1 + i][1] == '\''));
    } else {
      assert_null(e);
      assert_memory_equal(lines[1 + i], ids[i], strlen(ids[i]));
    }
  }
  free_lines(lines, nl);
  /* the same rows as dense rows: the same verdicts */
  const size_t k = prop_model_n_inputs(g_model);
  double X[M * 3];
  assert_true(k == 3);
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < k; j++) {
      const char *name = prop_model_input_name(g_model, j);
      X[i * k + j] = strcmp(name, "x1") == 0   ? x1[i]
                     : strcmp(name, "x2") == 0 ? x2[i]
                                               : prop_model_category_code(g_model, j, cat[i]);
    }
  prop_calllist *dense = new_list(&o);
  assert_int_equal(prop_calllist_add_dense(dense, X, PROP_FLOAT64, M, k, k, ids, NULL), 0);
  assert_int_equal(prop_calllist_finish(dense), 0);
  for (size_t i = 0; i < M; i++) {
    const char *e = prop_calllist_error(dense, i);
    assert_int_equal(e != NULL, refused[i]);
    if (e) assert_non_null(strstr(e, "would run as a formula"));
  }
  prop_calllist_free(dense);
  prop_calllist_free(cl);
  prop_frame_free(f);
}

/* ---- a list past its memory budget: sorted runs spilled and merged, the same bytes ------------------------ */
/* The entries of folder dir besides . and .. */
static size_t dir_entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

typedef struct spill_case {
  int order, by_value, dense;
  size_t capacity, reasons, limit;
  const size_t *quota; /* 7 bands, or NULL */
} spill_case;

#define DENSE_ROWS 40000
#define DENSE_CHUNK 5000

/* The case's rows into cl.  Frames: make_frame's N rows (unseen categories refused, missing ids and infinite
 * values: unscored rows) added four times, so ids tie and the row decides.  Dense: DENSE_ROWS rows repeating
 * the N rows' inputs under new ids (every 13th missing), in chunks, so probabilities tie and the id decides;
 * more than 32767 selected rows share the dialer's ranks by band run. */
static void fill_case(prop_calllist *cl, const spill_case *c, const prop_frame *f, const double *value,
                      const double *X) {
  if (!c->dense) {
    for (int r = 0; r < 4; r++) assert_int_equal(prop_calllist_add(cl, f, c->by_value ? value : NULL), 0);
    return;
  }
  const size_t k = prop_model_n_inputs(g_model);
  double *Xd = tu_xmalloc(DENSE_CHUNK * k * sizeof *Xd), vd[DENSE_CHUNK];
  char (*idbuf)[16] = tu_xmalloc(DENSE_CHUNK * sizeof *idbuf);
  const char **ids = tu_xmalloc(DENSE_CHUNK * sizeof *ids);
  for (size_t first = 0; first < DENSE_ROWS; first += DENSE_CHUNK) {
    for (size_t i = 0; i < DENSE_CHUNK; i++) {
      const size_t g = first + i, src = (g * 7) % N;
      memcpy(Xd + i * k, X + src * k, k * sizeof *Xd);
      vd[i] = value[src];
      snprintf(idbuf[i], sizeof idbuf[i], "d%zu", (g * 7919) % DENSE_ROWS);
      ids[i] = g % 13 == 4 ? NULL : idbuf[i];
    }
    assert_int_equal(prop_calllist_add_dense(cl, Xd, PROP_FLOAT64, DENSE_CHUNK, k, k, ids, c->by_value ? vd : NULL), 0);
  }
  free(Xd);
  free(idbuf);
  free(ids);
}

/* One case: the list kept in memory and the list spilled under c->limit write the same bytes, count the
 * same rows, and the spilled one leaves no file in its folder. */
static void check_spill_case(const spill_case *c, const prop_frame *f, const double *value, const double *X) {
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.unseen = PROP_UNSEEN_ERROR;
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  ro.by = c->by_value ? PROP_RANK_VALUE : PROP_RANK_PROBABILITY;
  ro.capacity = c->capacity;
  ro.band_quota = c->quota;
  ro.nbands = c->quota ? 7 : 0;
  char dir[512];
  snprintf(dir, sizeof dir, "%s", tu_path("spill_dir"));
  mkdir(dir, 0700);
  prop_calllist_options o;
  prop_calllist_options_default(&o);
  assert_int_equal(o.memory_limit, 0); /* the documented default: in memory, every row readable */
  o.predict = &po;
  o.rank = &ro;
  o.order = c->order;
  o.reasons = c->reasons;
  o.value_column = NULL;
  o.memory_limit = 0;
  prop_calllist *mem = new_list(&o);
  o.memory_limit = c->limit;
  o.temp_dir = dir;
  prop_calllist *sp = new_list(&o);
  fill_case(mem, c, f, value, X);
  fill_case(sp, c, f, value, X);
  assert_int_equal(dir_entries(dir), 0); /* the spill file was unlinked as soon as it was made */
  assert_int_equal(prop_calllist_finish(mem), 0);
  assert_int_equal(prop_calllist_finish(sp), 0);
  assert_int_equal(prop_calllist_n_rows(sp), prop_calllist_n_rows(mem));
  assert_int_equal(prop_calllist_n_selected(sp), prop_calllist_n_selected(mem));
  assert_int_equal(prop_calllist_n_unscored(sp), prop_calllist_n_unscored(mem));
  assert_true(prop_calllist_n_unscored(mem) > 0 && prop_calllist_n_selected(mem) > 0);
  /* it did spill: only writing reads it now */
  size_t r1[1];
  assert_int_equal(prop_calllist_get(sp, r1, NULL, NULL, NULL, NULL, NULL), PROP_ERR_STATE);
  assert_null(prop_calllist_id(sp, 0));
  char *a = written_bytes(mem), *b = written_bytes(sp);
  assert_string_equal(a, b);
  free(a);
  free(b);
  prop_calllist_free(mem);
  prop_calllist_free(sp);
  assert_int_equal(dir_entries(dir), 0);
  rmdir(dir);
}

static void test_spill_same_bytes(void **state) {
  (void)state;
  double value[N];
  prop_frame *f = make_frame(N, 0, 1, value);
  double *X = dense_rows(f);
  static const size_t quota[7] = {0, 40, 40, 40, 40, 40, 300}, big_quota[7] = {0, 3000, 3000, 0, 9000, 20000, 20000};
  const spill_case cases[] = {
      /* order, by value, dense, capacity, reasons, limit (bytes; each add outgrows it), quotas */
      {PROP_ORDER_RANK, 0, 0, 0, 0, 4096, NULL},
      {PROP_ORDER_INPUT, 0, 0, 0, 0, 4096, NULL}, /* call positions found in windows of 512 rows */
      {PROP_ORDER_RANK, 1, 0, 700, 0, 4096, quota},
      {PROP_ORDER_INPUT, 1, 0, 700, 0, 4096, quota},
      {PROP_ORDER_RANK, 0, 0, 100, 2, 4096, NULL},
      {PROP_ORDER_INPUT, 0, 0, 0, 3, 1, NULL}, /* windows of one row */
      {PROP_ORDER_RANK, 0, 1, 0, 0, 65536, NULL},
      {PROP_ORDER_RANK, 1, 1, 0, 0, 65536, big_quota},
      {PROP_ORDER_INPUT, 1, 1, 35000, 0, 65536, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_spill_case(&cases[i], f, value, X);
  free(X);
  prop_frame_free(f);
}

/* A folder that cannot hold the spill file: PROP_ERR_IO naming it, and the list refuses to go on. */
static void test_spill_errors(void **state) {
  (void)state;
  prop_calllist_options o;
  prop_calllist_options_default(&o);
  o.memory_limit = 1;
  o.temp_dir = "/nonexistent/folder";
  prop_calllist *cl = new_list(&o);
  assert_int_equal(prop_calllist_add(cl, g_frame, NULL), PROP_ERR_IO);
  assert_non_null(strstr(prop_last_error(), "/nonexistent/folder"));
  assert_int_equal(prop_calllist_add(cl, g_frame, NULL), PROP_ERR_IO);
  assert_int_equal(prop_calllist_finish(cl), PROP_ERR_IO);
  prop_calllist_free(cl);
}

static void test_errors(void **state) {
  (void)state;
  prop_calllist *cl = NULL;
  assert_int_equal(prop_calllist_create(NULL, NULL, &cl), PROP_ERR_ARG);
  assert_int_equal(prop_calllist_create(g_model, NULL, NULL), PROP_ERR_ARG);
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  size_t quota[3] = {1, 2, 3};
  ro.band_quota = quota;
  ro.nbands = 3; /* the model has 7 bands */
  prop_calllist_options o;
  prop_calllist_options_default(&o);
  o.rank = &ro;
  assert_int_equal(prop_calllist_create(g_model, &o, &cl), PROP_ERR_ARG);
  assert_non_null(strstr(prop_last_error(), "band quotas"));
  o.rank = NULL;
  o.order = 5;
  assert_int_equal(prop_calllist_create(g_model, &o, &cl), PROP_ERR_ARG);
  prop_calllist_options_default(&o);
  cl = new_list(&o);
  /* a frame without the model's id column */
  double x[2] = {0.1, 0.2};
  const char *c2[2] = {"A", "B"};
  prop_frame *no_id = NULL;
  assert_int_equal(prop_frame_create(2, &no_id), 0);
  assert_int_equal(prop_frame_add_numeric(no_id, "x1", x), 0);
  assert_int_equal(prop_frame_add_numeric(no_id, "x2", x), 0);
  assert_int_equal(prop_frame_add_strings(no_id, "cat", PROP_COL_CATEGORICAL, c2), 0);
  assert_int_equal(prop_calllist_add(cl, no_id, NULL), PROP_ERR_SCHEMA);
  assert_non_null(strstr(prop_last_error(), "'id' is missing"));
  size_t r[1];
  assert_int_equal(prop_calllist_get(cl, r, NULL, NULL, NULL, NULL, NULL), PROP_ERR_STATE); /* before finish */
  assert_null(prop_calllist_id(cl, 0));
  prop_writer *w = NULL;
  assert_int_equal(prop_writer_open(tu_path("never.csv"), NULL, &w), 0);
  assert_int_equal(prop_calllist_write(cl, w), PROP_ERR_STATE);
  prop_writer_abort(w);
  assert_int_equal(prop_calllist_finish(cl), 0);
  assert_int_equal(prop_calllist_n_rows(cl), 0);
  assert_int_equal(prop_calllist_add(cl, g_frame, NULL), PROP_ERR_STATE); /* after finish */
  assert_int_equal(prop_calllist_n_columns(cl), 7);
  assert_string_equal(prop_calllist_column(cl, 4), "error");
  assert_null(prop_calllist_column(cl, 7));
  size_t nl;
  char **lines = written_rows(cl, &nl, "id,probability,band,rank,error,dialer_rank,selected");
  assert_int_equal(nl, 1); /* an empty list is a header */
  free_lines(lines, nl);
  prop_calllist_free(cl);
  prop_calllist_free(NULL);
  prop_frame_free(no_id);
}

/* ---- the rows of a call plan --------------------------------------------------------------------- */
/* A contact model of the frame's customers c000..c059 (four attempts each on two channels). */
static prop_contact *small_contact(void) {
  enum { NC = 60, PER = 4 };
  char (*idbuf)[16] = tu_xmalloc(NC * PER * sizeof *idbuf), (*tbuf)[32] = tu_xmalloc(NC * PER * sizeof *tbuf);
  const char *id[NC * PER], *tm[NC * PER], *ch[NC * PER], *oc[NC * PER];
  for (size_t i = 0; i < NC * PER; i++) {
    snprintf(idbuf[i], sizeof idbuf[i], "c%03zu", i / PER);
    snprintf(tbuf[i], sizeof tbuf[i], "2026-03-%02zuT%02zu:15:00", 2 + i % 7, 8 + 2 * (i % 7));
    id[i] = idbuf[i], tm[i] = tbuf[i], ch[i] = i % 2 ? "mobile" : "home", oc[i] = i % 3 ? "0" : "1";
  }
  prop_frame *h = NULL;
  assert_int_equal(prop_frame_create(NC * PER, &h), 0);
  assert_int_equal(prop_frame_add_strings(h, "id", PROP_COL_ID, id), 0);
  assert_int_equal(prop_frame_add_strings(h, "time", PROP_COL_ID, tm), 0);
  assert_int_equal(prop_frame_add_strings(h, "channel", PROP_COL_CATEGORICAL, ch), 0);
  assert_int_equal(prop_frame_add_strings(h, "outcome", PROP_COL_CATEGORICAL, oc), 0);
  prop_contact_options o;
  prop_contact_options_default(&o);
  o.id = "id", o.time = "time", o.channel = "channel", o.outcome = "outcome";
  o.holdout_fraction = 0;
  o.nthread = 1;
  prop_contact *c = NULL;
  assert_int_equal(prop_contact_fit(h, NULL, &o, &c), 0);
  prop_frame_free(h);
  free(idbuf);
  free(tbuf);
  return c;
}

/* The plan CSV of the rows of frames[0..n) added in turn. */
static char *plan_text(const prop_contact *c, const prop_policy *pol, prop_frame *const *frames, size_t n) {
  prop_planlist *pl = NULL;
  prop_plan *p = NULL;
  assert_int_equal(prop_planlist_create(g_model, c, pol, NULL, &pl), 0);
  size_t rows = 0;
  for (size_t q = 0; q < n; q++) {
    assert_int_equal(prop_planlist_add(pl, frames[q]), 0);
    rows += prop_frame_n_rows(frames[q]);
  }
  assert_int_equal(prop_planlist_n_rows(pl), rows);
  assert_int_equal(prop_planlist_plan(pl, NULL, &p), 0);
  assert_int_equal(prop_plan_n_rows(p), rows);
  const char *path = tu_path("plan.csv");
  prop_writer *w = NULL;
  assert_int_equal(prop_writer_open(path, NULL, &w), 0);
  assert_int_equal(prop_plan_write(p, w), 0);
  assert_int_equal(prop_writer_commit(w), 0);
  prop_plan_free(p);
  prop_planlist_free(pl);
  return tu_read(path, NULL);
}

static void test_planlist_empty_chunks(void **state) {
  (void)state;
  prop_contact *c = small_contact();
  prop_policy *pol = NULL;
  assert_int_equal(prop_policy_parse("{\"tiers\": [{\"name\": \"agent\", \"capacity_per_slot\": 5}, {\"name\": \"robot\"}]}",
                                     "lists", c, &pol), 0);
  prop_frame *empty = make_frame(0, 0, 0, NULL);
  /* an empty chunk (a list that is only a header, or a reader's last) adds nothing and breaks nothing */
  char *alone = plan_text(c, pol, (prop_frame *const[]){empty}, 1);
  assert_string_equal(alone, "id,probability,band,tier,channel,day,hour,p_connect,expected_value,slot_rank,error\n");
  char *one = plan_text(c, pol, (prop_frame *const[]){g_frame}, 1);
  char *around = plan_text(c, pol, (prop_frame *const[]){empty, g_frame, empty}, 3);
  assert_string_equal(one, around);
  free(alone), free(one), free(around);
  prop_frame_free(empty);
  prop_policy_free(pol);
  prop_contact_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows_and_ranks),
      cmocka_unit_test(test_input_order),
      cmocka_unit_test(test_by_value_and_dense),
      cmocka_unit_test(test_formula_ids), cmocka_unit_test(test_errors),
      cmocka_unit_test(test_planlist_empty_chunks),
      cmocka_unit_test(test_spill_same_bytes), cmocka_unit_test(test_spill_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
