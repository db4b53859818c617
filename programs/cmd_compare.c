/* propensity compare: every member of a recipe alone and the whole ensemble on one held-out split
 * (made here, or an explicit --test-data file); a JSON report (schema in bench/README.md), a
 * self-contained HTML report and a table on stdout. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static double jnum(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static void cell(double v, int width, int decimals) {
  if (isfinite(v)) printf(" %*.*f", width, decimals, v);
  else printf(" %*s", width, "-");
}

/* text after a blank line, the first line led by lead, wrapped at 100 columns. */
static void print_wrapped(const char *lead, const char *text) {
  if (!text) return;
  printf("\n%s", lead);
  size_t col = strlen(lead);
  int line_start = 1; /* no word on this line yet */
  while (*text) {
    size_t w = strcspn(text, " ");
    if (!line_start && col + 1 + w > 100) {
      printf("\n");
      col = 0;
      line_start = 1;
    }
    if (!line_start) {
      putchar(' ');
      col++;
    }
    printf("%.*s", (int)w, text);
    col += w;
    line_start = 0;
    text += w;
    while (*text == ' ') text++;
  }
  printf("\n");
}

/* The compact table on stdout. */
static void print_table(const char *report) {
  json_error_t err;
  json_t *root = json_loads(report, 0, &err);
  if (!root) return;
  const json_t *ds = json_object_get(root, "dataset"), *sp = json_object_get(ds, "split");
  const char *held = json_string_value(json_object_get(sp, "test_period"));
  printf("test rows %lld (%lld positive) of %lld; split %s%s%s%s\n", (long long)jnum(ds, "test_rows"),
         (long long)jnum(ds, "test_positives"), (long long)jnum(ds, "rows"),
         json_string_value(json_object_get(sp, "method")), held ? " (month " : "", held ? held : "", held ? ")" : "");
  printf("%-14s %7s %7s %6s %8s %7s %7s %6s %6s %6s %8s %11s %9s %9s\n", "model", "AUC", "PR-AUC", "KS", "logloss",
         "Brier", "ECE", "top10", "top20", "top30", "fit s", "rows/s", "p50 us", "p99 us");
  size_t i;
  const json_t *m;
  json_array_foreach(json_object_get(root, "models"), i, m) {
    printf("%-14s", json_string_value(json_object_get(m, "name")));
    cell(jnum(m, "auc"), 7, 4);
    cell(jnum(m, "pr_auc"), 7, 4);
    cell(jnum(m, "ks"), 6, 3);
    cell(jnum(m, "logloss"), 8, 4);
    cell(jnum(m, "brier"), 7, 4);
    cell(jnum(m, "ece"), 7, 4);
    cell(jnum(m, "capture_10"), 6, 3);
    cell(jnum(m, "capture_20"), 6, 3);
    cell(jnum(m, "capture_30"), 6, 3);
    cell(jnum(m, "fit_seconds"), 8, 3);
    cell(jnum(m, "predict_rows_per_second"), 11, 0);
    cell(jnum(m, "latency_p50_us"), 9, 2);
    cell(jnum(m, "latency_p99_us"), 9, 2);
    printf("\n");
  }
  print_wrapped("recommendation: ", json_string_value(json_object_get(json_object_get(root, "recommendation"), "text")));
  json_decref(root);
}

int cmd_compare(args *a) {
  const char *data = arg_get(a, "--data"), *target = arg_get(a, "--target"), *positive = arg_get(a, "--positive"),
             *id = arg_get(a, "--id"), *ign = arg_get(a, "--ignore"), *conn = arg_get(a, "--connected"),
             *tcol = arg_get(a, "--time-col"), *tfrac = arg_get(a, "--test-frac"), *recipe = arg_get(a, "--recipe"),
             *seed = arg_get(a, "--seed"), *threads = arg_get(a, "--threads"), *json = arg_get(a, "--json"),
             *html = arg_get(a, "--html"), *lruns = arg_get(a, "--latency-runs"), *test = arg_get(a, "--test-data");
  int no_backtest = arg_flag(a, "--no-backtest");
  if (arg_leftover(a, "compare")) return 1;
  if (!data || !*data) return usage_error("compare", "--data is required");
  if (!target || !*target) return usage_error("compare", "--target is required");
  if (!json || !*json || !html || !*html) return usage_error("compare", "--json OUT.json and --html OUT.html are required");
  if (tcol && tfrac) return usage_error("compare", "--time-col and --test-frac exclude each other");
  if (tcol && !*tcol) return usage_error("compare", "--time-col takes a column name");
  if (test && !*test) return usage_error("compare", "--test-data takes a file name");
  if (test && tfrac) return usage_error("compare", "--test-data and --test-frac exclude each other");

  prop_compare_options o;
  prop_compare_options_default(&o);
  prop_train_options to;
  prop_train_options_default(&to);
  o.train = &to;
  to.target = target;
  to.positive = positive;
  to.id = id;
  to.connected = conn;
  to.time_col = tcol;
  to.log = cli_log;
  to.progress = cli_progress;
  o.data_path = data;
  o.test_data_path = test;
  o.backtest = !no_backtest;
  size_t v;
  if (tfrac) {
    char *end;
    errno = 0;
    double f = strtod(tfrac, &end);
    if (*end || errno || !(f > 0 && f < 1)) return usage_error("compare", "--test-frac takes a number in (0, 1)");
    o.test_frac = f;
  }
  if (seed) {
    if (parse_size(seed, &v) || v > (size_t)INT64_MAX)
      return usage_error("compare", "--seed takes a whole number below 2^63");
    o.seed = v;
  }
  if (threads && parse_threads("compare", threads, &to.nthread)) return 1;
  if (lruns) {
    if (parse_size(lruns, &v) || v == 0 || v > 10000000) return usage_error("compare", "--latency-runs takes a number >= 1");
    o.latency_runs = v;
  }

  char *ign_storage = NULL;
  char **ignore = split_list(ign, &to.n_ignore, &ign_storage);
  to.ignore = (const char *const *)ignore;
  const char **names = calloc(to.n_ignore + 2, sizeof *names);
  prop_coltype *types = calloc(to.n_ignore + 2, sizeof *types);
  if (!names || !types || (ign && *ign && !ignore)) {
    free(names);
    free(types);
    free(ignore);
    free(ign_storage);
    return fail("compare", PROP_ERR_NOMEM);
  }
  prop_csv_options co;
  prop_csv_options_default(&co);
  names[co.n_declared] = target;
  types[co.n_declared++] = PROP_COL_TARGET;
  if (id) {
    names[co.n_declared] = id;
    types[co.n_declared++] = PROP_COL_ID;
  }
  for (size_t i = 0; i < to.n_ignore; i++) {
    names[co.n_declared] = ignore[i];
    types[co.n_declared++] = PROP_COL_IGNORE;
  }
  co.declared_names = names;
  co.declared_types = types;

  prop_recipe *r = NULL;
  prop_frame *f = NULL, *tf = NULL;
  char *report = NULL, *page = NULL;
  size_t page_len = 0;
  int st = recipe ? prop_recipe_load(recipe, &r) : prop_recipe_default(&r);
  if (!st) st = prop_frame_read_csv(data, &co, &f);
  if (!st && test) { /* the held-out rows: same declared columns, typed by their own file */
    st = prop_frame_read_csv(test, &co, &tf);
    o.test = tf;
  }
  if (!st) st = prop_compare(f, r, &o, &report);
  cli_progress_end();
  int ec = 0;
  if (st) ec = fail("compare", st);
  if (!ec && !(page = report_html(report, &page_len))) {
    fprintf(stderr, "propensity compare: error: cannot render the HTML report (out of memory)\n");
    ec = 6;
  }
  if (!ec) { /* both reports or neither */
    const char *paths[2] = {json, html}, *text[2] = {report, page};
    size_t len[2] = {strlen(report), page_len};
    ec = write_atomic_n("compare", 2, paths, text, len);
  }
  if (!ec) {
    print_table(report);
    printf("wrote %s and %s\n", json, html);
  }
  free(page);
  prop_free(report);
  prop_frame_free(f);
  prop_frame_free(tf);
  prop_recipe_free(r);
  free(names);
  free(types);
  free(ignore);
  free(ign_storage);
  return ec;
}
