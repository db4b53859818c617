/* propensity monitor: this month's rows against the model's training rows (prop_monitor), the JSON
 * report and its HTML page, a summary on stdout, and an exit status a nightly job can stop on. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define EXIT_DRIFT 7

static const char *const k_level[3] = {"ok", "watch", "act"};

/* The rows, read with the model's inputs typed as it knows them (a text cell in a numeric input is named),
 * the id column kept as an id and the target as a target. */
static int read_rows(const char *data, const prop_model *m, const char *target, prop_frame **f) {
  size_t k = prop_model_n_inputs(m), nd = 0;
  const char **names = calloc(k + 2, sizeof *names);
  prop_coltype *types = calloc(k + 2, sizeof *types);
  if (!names || !types) {
    free(names), free(types);
    return PROP_ERR_NOMEM;
  }
  for (size_t j = 0; j < k; j++) {
    names[nd] = prop_model_input_name(m, j);
    types[nd++] = prop_model_input_type(m, j);
  }
  if (prop_model_id_column(m)) names[nd] = prop_model_id_column(m), types[nd++] = PROP_COL_ID;
  if (target) names[nd] = target, types[nd++] = PROP_COL_TARGET;
  prop_csv_options co;
  prop_csv_options_default(&co);
  co.declared_names = names;
  co.declared_types = types;
  co.n_declared = nd;
  int st = prop_frame_read_csv(data, &co, f);
  free(names), free(types);
  return st;
}

static void print_summary(const char *text) {
  json_error_t e;
  json_t *root = json_loads(text, 0, &e);
  if (!root) return;
  json_t *inputs = json_object_get(root, "inputs");
  printf("score PSI %.4f (%s); %lld rows, %lld unscored\n", json_real_value(json_object_get(root, "score_psi")),
         json_string_value(json_object_get(root, "score_status")),
         (long long)json_integer_value(json_object_get(root, "rows")),
         (long long)json_integer_value(json_object_get(root, "unscored_rows")));
  printf("%-28s %8s  %s\n", "input", "CSI", "status");
  size_t i;
  json_t *in;
  json_array_foreach(inputs, i, in) {
    if (i == 10) {
      printf("... %zu more in the report\n", json_array_size(inputs) - 10);
      break;
    }
    printf("%-28s %8.4f  %s\n", json_string_value(json_object_get(in, "name")),
           json_real_value(json_object_get(in, "csi")), json_string_value(json_object_get(in, "status")));
  }
  json_t *out = json_object_get(root, "outcome");
  if (json_is_object(out)) printf("AUC %.4f on %lld rows with outcomes\n", json_number_value(json_object_get(out, "auc")),
                                  (long long)json_integer_value(json_object_get(out, "rows")));
  json_decref(root);
}

/* --watch / --act: a positive number. */
static int parse_level(const char *s, double *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end || !(v > 0) || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

static int options(args *a, prop_monitor_options *o, int *fail_on) {
  const char *w = arg_get(a, "--watch"), *act = arg_get(a, "--act"), *fo = arg_get(a, "--fail-on"),
             *threads = arg_get(a, "--threads");
  if (w && parse_level(w, &o->watch)) return usage_error("monitor", "--watch takes a positive number");
  if (act && parse_level(act, &o->act)) return usage_error("monitor", "--act takes a positive number");
  if (o->watch > o->act) return usage_error("monitor", "--watch must not exceed --act");
  *fail_on = 3; /* never */
  if (fo && strcmp(fo, "watch") == 0) *fail_on = PROP_DRIFT_WATCH;
  else if (fo && strcmp(fo, "act") == 0) *fail_on = PROP_DRIFT_ACT;
  else if (fo) return usage_error("monitor", "--fail-on takes watch or act");
  return parse_threads("monitor", threads, &o->nthread);
}

/* The report and its page, both or neither. */
static int write_outputs(const char *json, const char *html, const char *report) {
  size_t page_len = 0;
  char *page = html ? monitor_html(report, &page_len) : NULL;
  if (html && !page) {
    fprintf(stderr, "propensity monitor: out of memory writing %s\n", html);
    return 6;
  }
  const char *paths[2] = {json, html};
  const char *text[2] = {report, page};
  size_t len[2] = {strlen(report), page_len};
  int ec = write_atomic_n("monitor", html ? 2 : 1, paths, text, len);
  free(page);
  return ec;
}

int cmd_monitor(args *a) {
  const char *model_path = arg_get(a, "--model"), *data = arg_get(a, "--data"), *json = arg_get(a, "--json"),
             *html = arg_get(a, "--html");
  prop_monitor_options o;
  prop_monitor_options_default(&o);
  o.target = arg_get(a, "--target");
  o.positive = arg_get(a, "--positive");
  o.time_col = arg_get(a, "--time-col");
  int fail_on = 3; /* never */
  if (options(a, &o, &fail_on)) return 1;
  if (arg_leftover(a, "monitor")) return 1;
  if (!model_path || !data || !json || !*model_path || !*data || !*json)
    return usage_error("monitor", "--model, --data and --json are required");
  if (o.positive && !o.target) return usage_error("monitor", "--positive needs --target");
  prop_model *m = NULL;
  int st = prop_model_load(model_path, &m);
  if (st) return fail("monitor", st);
  prop_frame *f = NULL;
  char *report = NULL;
  int worst = PROP_DRIFT_OK;
  o.data_path = data;
  st = read_rows(data, m, o.target, &f);
  if (!st) st = prop_monitor(m, f, &o, &report, &worst);
  int ec = st ? fail("monitor", st) : write_outputs(json, html, report);
  if (!ec) {
    print_summary(report);
    printf("worst level: %s; wrote %s%s%s\n", k_level[worst], json, html ? " and " : "", html ? html : "");
    if (worst >= fail_on) {
      fprintf(stderr, "propensity monitor: drift at level %s (--fail-on %s)\n", k_level[worst], k_level[fail_on]);
      ec = EXIT_DRIFT;
    }
  }
  prop_free(report);
  prop_frame_free(f);
  prop_model_free(m);
  return ec;
}
