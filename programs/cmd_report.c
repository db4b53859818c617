/* propensity bands / info / importance, the back-test printer and the demo writer. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int cmp_key(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The months the rows cover, when the model has a time column and the file holds it: their names
 * in time order into periods (a JSON array) and ", month 2026-06" or ", months 2026-01 to 2026-06"
 * into text (empty otherwise).  A time column that holds no periods is an error naming the row. */
static int bands_periods(const prop_model *m, const prop_frame *f, json_t *periods, char *text, size_t tn) {
  const char *tc = prop_model_time_column(m);
  size_t n = prop_frame_n_rows(f);
  *text = '\0';
  if (!tc || prop_frame_find(f, tc) < 0 || n == 0) return 0;
  double *key = malloc(n * sizeof *key);
  int format = 0, st = key ? prop_frame_periods(f, tc, key, &format) : PROP_ERR_NOMEM;
  char first[24] = "", last[24] = "";
  size_t nu = 0;
  if (!st) {
    qsort(key, n, sizeof *key, cmp_key);
    for (size_t i = 0; i < n; i++) {
      if (i && key[i] == key[i - 1]) continue;
      prop_period_name(key[i], format, last, sizeof last);
      if (!nu++) snprintf(first, sizeof first, "%s", last);
      json_array_append_new(periods, json_string(last));
    }
    if (nu == 1) snprintf(text, tn, ", month %s", first);
    else snprintf(text, tn, ", months %s to %s", first, last);
  }
  free(key);
  return st;
}

int cmd_bands(args *a) {
  const char *model_path = arg_get(a, "--model"), *data = arg_get(a, "--data"), *target = arg_get(a, "--target"),
             *conn = arg_get(a, "--connected"), *json = arg_get(a, "--json");
  if (arg_leftover(a, "bands")) return 1;
  if (!model_path || !data || !*model_path || !*data) return usage_error("bands", "--model and --data are required");
  prop_model *m = NULL;
  int st = prop_model_load(model_path, &m);
  if (st) return fail("bands", st);
  if (!target) target = prop_model_target(m);
  prop_frame *f = NULL;
  prop_csv_options co; /* the id column is not needed here: a file may lack it */
  prop_csv_options_default(&co);
  const char *names[1] = {target};
  prop_coltype types[1] = {PROP_COL_TARGET};
  co.declared_names = names;
  co.declared_types = types;
  co.n_declared = 1;
  st = prop_frame_read_csv(data, &co, &f);
  size_t n = f ? prop_frame_n_rows(f) : 0;
  double *prob = malloc((n ? n : 1) * sizeof *prob);
  int *y = malloc((n ? n : 1) * sizeof *y), *c = NULL;
  if (!st && (!prob || !y)) st = PROP_ERR_NOMEM;
  prop_predict_options po; /* labelled rows, evaluated as compare and backtest do: a new category is bucketed */
  prop_predict_options_default(&po);
  size_t *unseen_rows = calloc(prop_model_n_inputs(m) + 1, sizeof *unseen_rows);
  po.unseen_counts = unseen_rows;
  if (!st && !unseen_rows) st = PROP_ERR_NOMEM;
  if (!st) st = prop_model_predict_frame(m, f, prob, NULL, NULL, &po);
  if (!st) report_unseen(m, unseen_rows);
  free(unseen_rows);
  if (!st) st = prop_model_target_values(m, f, target, y); /* the model's two labels, no third */
  if (!st && conn) {
    c = malloc((n ? n : 1) * sizeof *c);
    st = c ? prop_frame_binary_values(f, conn, NULL, c) : PROP_ERR_NOMEM;
  }
  prop_band_row rows[64];
  size_t unscored = 0, nb = prop_model_n_bands(m);
  if (!st) st = prop_band_table(prob, y, c, n, prop_model_band_edges(m), nb, rows, &unscored);
  json_t *periods = json_array();
  char when[64] = "";
  if (!st) st = periods ? bands_periods(m, f, periods, when, sizeof when) : PROP_ERR_NOMEM;
  int ec = 0;
  if (st) ec = fail("bands", st);
  else {
    printf("band table of %s (%zu rows%s%s) under %s\n", data, n, when, unscored ? ", some unscored" : "",
           model_path);
    print_band_table(stdout, rows, nb, c != NULL);
    double auc;
    if (prop_metric_auc(prob, y, n, &auc) == 0) printf("AUC %.4f\n", auc);
    if (unscored) printf("%zu rows could not be scored (see propensity score for reasons)\n", unscored);
    if (json) {
      json_t *arr = json_array();
      for (size_t b = 0; b < nb; b++) {
        json_t *o = json_pack("{s:i,s:f,s:f,s:I,s:I}", "band", rows[b].band, "lo", rows[b].lo, "hi", rows[b].hi, "count",
                              (json_int_t)rows[b].count, "positives", (json_int_t)rows[b].positives);
        json_object_set_new(o, "success_rate", rows[b].count ? json_real(rows[b].success_rate) : json_null());
        json_object_set_new(o, "success_lo", rows[b].count ? json_real(rows[b].success_lo) : json_null());
        json_object_set_new(o, "success_hi", rows[b].count ? json_real(rows[b].success_hi) : json_null());
        json_object_set_new(o, "lift", rows[b].count ? json_real(rows[b].lift) : json_null());
        json_object_set_new(o, "connect_rate", c && rows[b].count ? json_real(rows[b].connect_rate) : json_null());
        json_object_set_new(o, "success_among_connected",
                            c && rows[b].connected ? json_real(rows[b].success_connected) : json_null());
        json_array_append_new(arr, o);
      }
      json_t *root = json_pack("{s:s,s:I,s:O,s:o}", "data", data, "rows", (json_int_t)n, "periods", periods, "bands",
                               arr);
      char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
      if (!text) fprintf(stderr, "propensity bands: out of memory writing %s\n", json);
      if (!text) ec = 6;
      else if (!ec) ec = write_atomic("bands", json, text, strlen(text));
      free(text);
      json_decref(root);
    }
  }
  json_decref(periods);
  free(prob);
  free(y);
  free(c);
  prop_frame_free(f);
  prop_model_free(m);
  return ec;
}

int cmd_info(args *a) {
  const char *model_path = arg_get(a, "--model");
  if (arg_leftover(a, "info")) return 1;
  if (!model_path || !*model_path) return usage_error("info", "--model is required");
  prop_model *m = NULL;
  int st = prop_model_load(model_path, &m);
  if (st) return fail("info", st);
  printf("%s\n", prop_model_metadata_json(m));
  prop_model_free(m);
  return 0;
}

int cmd_importance(args *a) {
  const char *model_path = arg_get(a, "--model"), *data = arg_get(a, "--data"), *rep = arg_get(a, "--repeats");
  if (arg_leftover(a, "importance")) return 1;
  if (!model_path || !*model_path) return usage_error("importance", "--model is required");
  size_t repeats = 3;
  if (rep && (parse_size(rep, &repeats) || repeats == 0))
    return usage_error("importance", "--repeats takes a whole number of at least 1");
  prop_model *m = NULL;
  int st = prop_model_load(model_path, &m);
  if (st) return fail("importance", st);
  size_t k = prop_model_n_inputs(m);
  double *gain = calloc(k ? k : 1, sizeof *gain), *perm = calloc(k ? k : 1, sizeof *perm);
  const char *member = NULL;
  int have_gain = prop_model_importance(m, gain, &member) == 0;
  prop_frame *f = NULL;
  double base = NAN;
  if (data) {
    prop_csv_options co;
    prop_csv_options_default(&co);
    st = prop_frame_read_csv(data, &co, &f);
    if (!st) st = prop_model_permutation_importance(m, f, repeats, 0, perm, &base);
  }
  int ec = 0;
  if (st) ec = fail("importance", st);
  else {
    double tot = 0;
    for (size_t j = 0; j < k; j++) tot += gain[j];
    printf("%-28s %14s%s\n", "feature", have_gain ? "gain share" : "", data ? "   AUC drop (permutation)" : "");
    for (size_t j = 0; j < k; j++) {
      printf("%-28s ", prop_model_input_name(m, j));
      if (have_gain) printf("%13.1f%%", tot > 0 ? 100.0 * gain[j] / tot : 0.0);
      else printf("%14s", "");
      if (data) printf("   %+.4f", perm[j]);
      printf("\n");
    }
    if (have_gain) printf("gain importance from the %s member\n", member);
    if (data) printf("permutation importance on %s: base AUC %.4f, %zu repeats\n", data, base, repeats);
  }
  free(gain);
  free(perm);
  prop_frame_free(f);
  prop_model_free(m);
  return ec;
}

/* The number of v (as a percentage with pct) in width columns with decimals decimals, or "-" there
 * when v is null or missing; then two spaces. */
static void print_number(const json_t *v, int pct, int width, int decimals) {
  if (json_is_number(v)) printf("%*.*f%s  ", width - pct, decimals, (pct ? 100 : 1) * json_number_value(v), pct ? "%" : "");
  else printf("%*s  ", width, "-");
}

int print_backtest(const char *report, const char *json_path) {
  json_error_t err;
  json_t *root = json_loads(report, 0, &err);
  if (!root) return 6;
  json_t *months = json_object_get(root, "months");
  printf("  month  train rows   rows  accepted    AUC     ECE  top10%%  top20%%  top30%%  members\n");
  size_t i;
  json_t *mo;
  json_array_foreach(months, i, mo) {
    printf("%7s  %10lld  %5lld  %8lld  ", json_string_value(json_object_get(mo, "period")),
           (long long)json_integer_value(json_object_get(mo, "train_rows")),
           (long long)json_integer_value(json_object_get(mo, "rows")),
           (long long)json_integer_value(json_object_get(mo, "positives")));
    /* null (e.g. the AUC of a month with one class) prints as "-", never as 0 */
    print_number(json_object_get(mo, "auc"), 0, 6, 4);
    print_number(json_object_get(mo, "ece"), 0, 6, 4);
    print_number(json_object_get(mo, "capture_top10"), 1, 6, 1);
    print_number(json_object_get(mo, "capture_top20"), 1, 6, 1);
    print_number(json_object_get(mo, "capture_top30"), 1, 6, 1);
    size_t j;
    json_t *name;
    json_array_foreach(json_object_get(mo, "members"), j, name) printf("%s%s", j ? "," : "", json_string_value(name));
    printf("\n");
  }
  json_array_foreach(months, i, mo) {
    printf("\nmonth %s band table (success rate per band):\n", json_string_value(json_object_get(mo, "period")));
    size_t b;
    json_t *bo;
    printf("band  rows  accepted  success  connect  success|conn\n");
    json_array_foreach(json_object_get(mo, "bands"), b, bo) {
      json_t *sr = json_object_get(bo, "success_rate"), *cr = json_object_get(bo, "connect_rate"),
             *sc = json_object_get(bo, "success_among_connected");
      printf("%4lld  %4lld  %8lld  ", (long long)json_integer_value(json_object_get(bo, "band")),
             (long long)json_integer_value(json_object_get(bo, "count")),
             (long long)json_integer_value(json_object_get(bo, "positives")));
      if (json_is_number(sr)) printf("%6.1f%%", 100 * json_number_value(sr));
      else printf("%7s", "-");
      if (json_is_number(cr)) printf("  %6.1f%%", 100 * json_number_value(cr));
      else printf("  %7s", "-");
      if (json_is_number(sc)) printf("  %11.1f%%\n", 100 * json_number_value(sc));
      else printf("  %12s\n", "-");
    }
  }
  int ec = 0;
  if (json_path) ec = write_atomic("backtest", json_path, report, strlen(report));
  json_decref(root);
  return ec;
}

/* The demo's call policy (models/README.md "The call policy"): gold agents take the two top bands,
 * agents the middle ones, a robot calls anyone on the mobile or at home. */
static const char k_demo_policy[] =
    "{\n"
    "  \"description\": \"The demo call centre: per two-hour slot, 12 calls by gold agents and 40 by agents; a robot for the rest\",\n"
    "  \"tiers\": [\n"
    "    {\"name\": \"gold_agent\", \"bands\": [5, 6, 7], \"capacity_per_slot\": 12, \"acceptance_multiplier\": 1.3},\n"
    "    {\"name\": \"agent\", \"bands\": [3, 4, 5, 6, 7], \"capacity_per_slot\": 40},\n"
    "    {\"name\": \"robot\", \"channels\": [\"mobile\", \"home\"], \"acceptance_multiplier\": 0.4}\n"
    "  ],\n"
    "  \"open_slots\": \"all\",\n"
    "  \"max_attempts\": 6,\n"
    "  \"attempt_window_days\": 30\n"
    "}\n";

/* The demo: history.csv (months 1..M-1, outcomes known), latest.csv (month M, outcomes known:
 * the month the band table is shown for), calllist.csv (month M+1, no outcomes: tonight's list),
 * with_drift drift.csv (month M+2, outcomes known, a planted drift for monitor); for the customers of
 * months M and M+1 their contact history, their segments and phones, the planted truth; and the call
 * policy. */
int gen_files(const char *dir, const prop_demo_options *base, int with_drift) {
  char path[4096];
  prop_demo_options o = *base;
  size_t months = base->months;
  struct {
    const char *name;
    size_t first, count;
    int outcomes, drift;
  } files[4] = {{"history.csv", 1, months - 1, 1, 0},
                {"latest.csv", months, 1, 1, 0},
                {"calllist.csv", months + 1, 1, 0, 0},
                {"drift.csv", months + 2, 1, 1, 1}}; /* a later month with a planted drift, for `monitor` */
  for (int i = 0; i < 3 + (with_drift != 0); i++) {
    o.first_month = files[i].first;
    o.months = files[i].count;
    o.with_outcomes = files[i].outcomes;
    o.drift = files[i].drift;
    snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
    int st = prop_demo_write_csv(path, &o);
    if (st) return fail("gen", st);
    fprintf(stderr, "[info] wrote %s (months %zu..%zu, %zu customers a month%s)\n", path, files[i].first,
            files[i].first + files[i].count - 1, o.customers_per_month,
            files[i].drift ? ", drifted: richer, more platinum" : files[i].outcomes ? "" : ", no outcomes");
  }
  char hist[4096], cust[4096], truth[4096];
  snprintf(hist, sizeof hist, "%s/contact_history.csv", dir);
  snprintf(cust, sizeof cust, "%s/customers.csv", dir);
  snprintf(truth, sizeof truth, "%s/contact_truth.csv", dir);
  o.first_month = months;
  o.months = 2;
  int st = prop_demo_write_contacts(hist, cust, truth, &o);
  if (st) return fail("gen", st);
  snprintf(path, sizeof path, "%s/policy.json", dir);
  int ec = write_atomic("gen", path, k_demo_policy, sizeof k_demo_policy - 1);
  if (ec) return ec;
  fprintf(stderr, "[info] wrote %s, %s, %s (the customers of months %zu..%zu) and %s\n", hist, cust, truth, months,
          months + 1, path);
  return 0;
}
