/* One model shared by 16 threads (the header's promise: a fitted model is read-only, any number of
 * threads may score with it at once): each thread scores the same rows through batch scoring of a
 * frame and of a dense matrix (on 1 or 2 OpenMP threads of its own, with different block sizes),
 * a single-row scorer of its own with member probabilities and reasons, ranking (prop_rank), a
 * call list of its own (prop_calllist: scored, ranked, capacity), contributions (explain) of the
 * first rows, and permutation importance, twice, and every result must be the serial run's, bit
 * for bit.  The model has every member.
 *
 * scripts/test.sh also runs this file under ThreadSanitizer (a clang build with
 * PROP_SANITIZE_THREAD; OpenMP through clang's libomp, whose fork, join and barriers TSan
 * understands): a data race anywhere on these paths fails it even when the bits come out right. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define NTHREADS 16
#define ROUNDS 2
#define NCONTRIB 24 /* rows whose contributions each thread computes (the sampled ones are slow) */

static prop_frame *g_frame;
static prop_model *g_model;
static size_t g_n, g_d;
static double *g_rows; /* the frame's rows as model inputs (codes for categories) */
static const char **g_ids;
/* the serial run */
static double *g_prob, *g_imp, g_base_auc;
static int *g_band, *g_status;
static size_t *g_rank;
static int *g_dialer;
static double *g_member_p; /* g_n x members, from the scorer */
static double *g_contrib, g_base; /* NCONTRIB x g_d contributions and their base */
static prop_reason g_reasons[NCONTRIB][3];
static size_t g_nreasons[NCONTRIB];
static char *g_list; /* the call list, as text */

static const char k_recipe[] =
    "{\"name\": \"shared\", \"seed\": 9, \"cv_folds\": 2,"
    " \"members\": [{\"name\": \"xgboost\", \"params\": {\"eta\": 0.3, \"max_depth\": 3, \"rounds\": 8}},"
    "  {\"name\": \"random_forest\", \"params\": {\"n_estimators\": 8, \"min_samples_leaf\": 5}},"
    "  {\"name\": \"svc\", \"params\": {\"max_train_rows\": 150}},"
    "  {\"name\": \"decision_tree\", \"params\": {\"max_depth\": 4, \"min_samples_leaf\": 10}},"
    "  {\"name\": \"knn\", \"params\": {\"k\": 9}},"
    "  {\"name\": \"logistic\", \"params\": {\"C\": 1.0}}],"
    " \"ensemble\": {\"voting\": \"logit\", \"weights\": \"equal\", \"selection\": \"all\"},"
    " \"calibration\": \"isotonic\", \"calibration_min_rows\": 10}";

static void rank_opts(prop_rank_options *o) {
  prop_rank_options_default(o);
  o->capacity = g_n / 3;
}

/* The call list of the frame (prop_calllist, one of the thread's own) as text, or NULL on failure. */
static char *calllist_text(int nthread) {
  prop_rank_options ro;
  rank_opts(&ro);
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = nthread;
  prop_calllist_options o;
  prop_calllist_options_default(&o);
  o.rank = &ro;
  o.predict = &po;
  prop_calllist *cl = NULL;
  char *text = NULL;
  size_t *row = malloc(g_n * sizeof *row), *rank = malloc(g_n * sizeof *rank);
  int *dialer = malloc(g_n * sizeof *dialer);
  double *p = malloc(g_n * sizeof *p);
  size_t len = 0, cap = g_n * 96 + 1;
  char *buf = malloc(cap);
  int rc = row && rank && dialer && p && buf ? prop_calllist_create(g_model, &o, &cl) : PROP_ERR_NOMEM;
  if (!rc) rc = prop_calllist_add(cl, g_frame, NULL);
  if (!rc) rc = prop_calllist_finish(cl);
  if (!rc) rc = prop_calllist_get(cl, row, p, NULL, rank, dialer, NULL);
  for (size_t k = 0; !rc && k < g_n; k++) {
    int w = snprintf(buf + len, cap - len, "%zu %s %a %zu %d\n", row[k], prop_calllist_id(cl, k), p[k], rank[k],
                     dialer[k]);
    if (w < 0 || (size_t)w >= cap - len) rc = -1;
    else len += (size_t)w;
  }
  if (!rc) text = buf;
  else free(buf);
  prop_calllist_free(cl);
  free(row), free(rank), free(dialer), free(p);
  return text;
}

static int setup(void **state) {
  (void)state;
  g_frame = tu_demo_frame(120, 3, 23);
  prop_recipe *r = NULL;
  prop_train_options o;
  tu_demo_train_options(&o, 2);
  int rc = prop_recipe_parse(k_recipe, "shared recipe", &r);
  if (!rc) rc = prop_model_train(g_frame, r, &o, &g_model);
  prop_recipe_free(r);
  if (rc) {
    fprintf(stderr, "setup: %s\n", prop_last_error());
    return rc;
  }
  g_n = prop_frame_n_rows(g_frame);
  g_d = prop_model_n_inputs(g_model);
  const size_t k = prop_model_n_members(g_model);
  g_rows = tu_xmalloc(g_n * g_d * sizeof *g_rows);
  double *col = tu_xmalloc(g_n * sizeof *col);
  for (size_t j = 0; j < g_d; j++) {
    long c = prop_frame_find(g_frame, prop_model_input_name(g_model, j));
    int numeric = prop_model_input_type(g_model, j) == PROP_COL_NUMERIC;
    if (c < 0 || (numeric && prop_frame_numeric_values(g_frame, (size_t)c, col))) return -1;
    for (size_t i = 0; i < g_n; i++) {
      const char *label = numeric ? NULL : prop_frame_string_value(g_frame, (size_t)c, i);
      g_rows[i * g_d + j] = numeric ? col[i] : label ? prop_model_category_code(g_model, j, label) : NAN;
    }
  }
  free(col);
  long idc = prop_frame_find(g_frame, "customer_id");
  if (idc < 0) return -1;
  g_ids = tu_xmalloc(g_n * sizeof *g_ids);
  for (size_t i = 0; i < g_n; i++) g_ids[i] = prop_frame_string_value(g_frame, (size_t)idc, i);
  /* the serial run */
  g_prob = tu_xmalloc(g_n * sizeof *g_prob);
  g_band = tu_xmalloc(g_n * sizeof *g_band);
  g_status = tu_xmalloc(g_n * sizeof *g_status);
  g_rank = tu_xmalloc(g_n * sizeof *g_rank);
  g_dialer = tu_xmalloc(g_n * sizeof *g_dialer);
  g_imp = tu_xmalloc(g_d * sizeof *g_imp);
  g_member_p = tu_xmalloc(g_n * k * sizeof *g_member_p);
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = 1;
  prop_rank_options ro;
  rank_opts(&ro);
  rc = prop_model_predict_frame(g_model, g_frame, g_prob, g_band, g_status, &po);
  if (!rc) rc = prop_rank(g_prob, g_band, NULL, g_ids, g_n, &ro, g_rank, NULL, g_dialer, NULL);
  if (!rc) rc = prop_model_permutation_importance(g_model, g_frame, 1, 77, g_imp, &g_base_auc);
  prop_scorer *s = NULL;
  if (!rc) rc = prop_scorer_create(g_model, &s);
  for (size_t i = 0; i < g_n && !rc; i++) {
    double p;
    int b;
    int src = prop_scorer_score(s, g_rows + i * g_d, &p, &b);
    if (src != g_status[i]) rc = -1;
    if (!src) rc = prop_scorer_member_probabilities(s, g_member_p + i * k);
  }
  for (size_t i = 0; i < NCONTRIB && !rc; i++) {
    double p;
    int b;
    if (!g_status[i]) rc = prop_scorer_reasons(s, g_rows + i * g_d, 3, g_reasons[i], &g_nreasons[i], &p, &b);
  }
  prop_scorer_free(s);
  g_contrib = tu_xmalloc(NCONTRIB * g_d * sizeof *g_contrib);
  if (!rc) rc = prop_model_contributions_dense(g_model, g_rows, PROP_FLOAT64, NCONTRIB, g_d, g_d, g_contrib, &g_base,
                                               NULL, &po);
  if (!rc && !(g_list = calllist_text(1))) rc = -1;
  if (rc) fprintf(stderr, "serial run: %s\n", prop_last_error());
  return rc;
}

static int teardown(void **state) {
  (void)state;
  prop_model_free(g_model);
  prop_frame_free(g_frame);
  free(g_rows);
  free(g_ids);
  free(g_prob);
  free(g_band);
  free(g_status);
  free(g_rank);
  free(g_dialer);
  free(g_imp);
  free(g_member_p);
  free(g_contrib);
  free(g_list);
  return 0;
}

/* ---- one thread's work: no cmocka assertion here (they may not run off the main thread) --------- */
typedef struct worker {
  int t;
  int rc;           /* a call that failed */
  char what[160];   /* the first difference from the serial run, or the failed call */
  size_t calls;
} worker;

static void differs(worker *w, const char *what) {
  if (!w->what[0]) snprintf(w->what, sizeof w->what, "thread %d: %s", w->t, what);
}

static void check_scores(worker *w, const char *what, const double *p, const int *b, const int *st) {
  if (memcmp(p, g_prob, g_n * sizeof *p) || memcmp(b, g_band, g_n * sizeof *b) ||
      (st && memcmp(st, g_status, g_n * sizeof *st)))
    differs(w, what);
}

static void one_round(worker *w, double *p, int *b, int *st, size_t *rank, int *dialer, double *imp, double *mp,
                      double *contrib) {
  const size_t k = prop_model_n_members(g_model);
  prop_predict_options po;
  prop_predict_options_default(&po);
  po.nthread = 1 + w->t % 2;
  po.block_rows = (size_t)(w->t % 3) * 64; /* 0: automatic */
  int rc = prop_model_predict_frame(g_model, g_frame, p, b, st, &po);
  if (rc) w->rc = rc;
  else check_scores(w, "batch scoring of the frame", p, b, st);
  rc = prop_model_predict_dense(g_model, g_rows, PROP_FLOAT64, g_n, g_d, g_d, p, b, st, &po);
  if (rc) w->rc = rc;
  else check_scores(w, "batch scoring of the dense rows", p, b, st);
  prop_scorer *s = NULL;
  if ((rc = prop_scorer_create(g_model, &s))) w->rc = rc;
  for (size_t i = 0; s && i < g_n; i++) {
    if (prop_scorer_score(s, g_rows + i * g_d, &p[i], &b[i]) != g_status[i]) differs(w, "a single-row status");
    if (!g_status[i] && (prop_scorer_member_probabilities(s, mp) || memcmp(mp, g_member_p + i * k, k * sizeof *mp)))
      differs(w, "a single-row member probability");
  }
  for (size_t i = 0; s && i < NCONTRIB; i++) {
    prop_reason rs[3];
    size_t nr = 0;
    double pr;
    int br;
    if (!g_status[i] && (prop_scorer_reasons(s, g_rows + i * g_d, 3, rs, &nr, &pr, &br) || nr != g_nreasons[i] ||
                         memcmp(rs, g_reasons[i], nr * sizeof *rs)))
      differs(w, "a single-row reason");
  }
  prop_scorer_free(s);
  check_scores(w, "single-row scoring", p, b, NULL);
  prop_rank_options ro;
  rank_opts(&ro);
  if ((rc = prop_rank(p, b, NULL, g_ids, g_n, &ro, rank, NULL, dialer, NULL))) w->rc = rc;
  else if (memcmp(rank, g_rank, g_n * sizeof *rank) || memcmp(dialer, g_dialer, g_n * sizeof *dialer))
    differs(w, "ranking");
  char *list = calllist_text(1 + w->t % 2);
  if (!list) w->rc = -1;
  else if (strcmp(list, g_list)) differs(w, "the call list");
  free(list);
  double base;
  if ((rc = prop_model_contributions_dense(g_model, g_rows, PROP_FLOAT64, NCONTRIB, g_d, g_d, contrib, &base, NULL,
                                           &po)))
    w->rc = rc;
  else if (memcmp(contrib, g_contrib, NCONTRIB * g_d * sizeof *contrib) || memcmp(&base, &g_base, sizeof base))
    differs(w, "contributions");
  double auc;
  if ((rc = prop_model_permutation_importance(g_model, g_frame, 1, 77, imp, &auc))) w->rc = rc;
  else if (memcmp(imp, g_imp, g_d * sizeof *imp) || memcmp(&auc, &g_base_auc, sizeof auc))
    differs(w, "permutation importance");
  w->calls += 7 + g_n;
}

static void *work(void *arg) {
  worker *w = arg;
  double *p = malloc(g_n * sizeof *p), *imp = malloc(g_d * sizeof *imp);
  double *mp = malloc((prop_model_n_members(g_model) + 1) * sizeof *mp);
  int *b = malloc(g_n * sizeof *b), *st = malloc(g_n * sizeof *st), *dialer = malloc(g_n * sizeof *dialer);
  size_t *rank = malloc(g_n * sizeof *rank);
  double *contrib = malloc(NCONTRIB * g_d * sizeof *contrib);
  if (!p || !imp || !mp || !b || !st || !dialer || !rank || !contrib) w->rc = PROP_ERR_NOMEM;
  for (int r = 0; r < ROUNDS && !w->rc; r++) one_round(w, p, b, st, rank, dialer, imp, mp, contrib);
  if (w->rc) snprintf(w->what, sizeof w->what, "thread %d: status %d: %s", w->t, w->rc, prop_last_error());
  free(p);
  free(imp);
  free(mp);
  free(b);
  free(st);
  free(dialer);
  free(rank);
  free(contrib);
  return NULL;
}

static void test_sixteen_threads_share_one_model(void **state) {
  (void)state;
  pthread_t th[NTHREADS];
  worker w[NTHREADS];
  memset(w, 0, sizeof w);
  for (int t = 0; t < NTHREADS; t++) {
    w[t].t = t;
    assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
  }
  for (int t = 0; t < NTHREADS; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
  for (int t = 0; t < NTHREADS; t++) {
    if (w[t].what[0]) fprintf(stderr, "%s\n", w[t].what);
    assert_int_equal(w[t].rc, 0);
    assert_true(w[t].what[0] == '\0');
    assert_int_equal(w[t].calls, (size_t)ROUNDS * (7 + g_n));
  }
  /* the serial run itself scored something of every band it could */
  size_t scored = 0;
  for (size_t i = 0; i < g_n; i++) scored += g_status[i] == 0;
  assert_true(scored > g_n / 2);
  assert_int_equal(prop_model_n_members(g_model), 6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sixteen_threads_share_one_model),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
