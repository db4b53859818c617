/* propensity train / backtest / gen */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* Options shared by train and backtest; the CSV read declares target, id and ignored columns. */
typedef struct train_setup {
  prop_train_options topt;
  prop_csv_options copt;
  const char *names[256];
  prop_coltype types[256];
  char **ignore;
  char *ignore_storage;
  prop_recipe *recipe;
  prop_frame *frame;
} train_setup;

static void setup_free(train_setup *s) {
  prop_frame_free(s->frame);
  prop_recipe_free(s->recipe);
  free(s->ignore);
  free(s->ignore_storage);
}

static int declare(train_setup *s, const char *name, prop_coltype t) {
  if (!name) return 0;
  if (s->copt.n_declared >= 256) return -1;
  s->names[s->copt.n_declared] = name;
  s->types[s->copt.n_declared] = t;
  s->copt.n_declared++;
  return 0;
}

static int setup(args *a, const char *cmd, train_setup *s, const char **data) {
  memset(s, 0, sizeof *s);
  prop_train_options_default(&s->topt);
  prop_csv_options_default(&s->copt);
  *data = arg_get(a, "--data");
  s->topt.target = arg_get(a, "--target");
  s->topt.positive = arg_get(a, "--positive");
  s->topt.id = arg_get(a, "--id");
  s->topt.connected = arg_get(a, "--connected");
  s->topt.time_col = arg_get(a, "--time-col");
  const char *ign = arg_get(a, "--ignore"), *recipe = arg_get(a, "--recipe"), *threads = arg_get(a, "--threads");
  if (!*data || !**data) return usage_error(cmd, "--data is required");
  if (!s->topt.target || !*s->topt.target) return usage_error(cmd, "--target is required");
  if (parse_threads(cmd, threads, &s->topt.nthread)) return 1;
  s->ignore = split_list(ign, &s->topt.n_ignore, &s->ignore_storage);
  s->topt.ignore = (const char *const *)s->ignore;
  s->topt.log = cli_log;
  s->topt.progress = cli_progress;
  declare(s, s->topt.target, PROP_COL_TARGET);
  declare(s, s->topt.id, PROP_COL_ID);
  for (size_t i = 0; i < s->topt.n_ignore; i++)
    if (declare(s, s->ignore[i], PROP_COL_IGNORE)) return usage_error(cmd, "too many --ignore columns");
  s->copt.declared_names = s->names;
  s->copt.declared_types = s->types;
  int rc = recipe ? prop_recipe_load(recipe, &s->recipe) : prop_recipe_default(&s->recipe);
  if (rc) return fail(cmd, rc);
  return -1; /* go on */
}

int cmd_train(args *a) {
  train_setup s;
  const char *data;
  int rc = setup(a, "train", &s, &data);
  const char *out = arg_get(a, "--out");
  if (rc == -1 && (!out || !*out)) rc = usage_error("train", "--out MODEL is required");
  if (rc == -1 && arg_leftover(a, "train")) rc = 1;
  if (rc != -1) {
    setup_free(&s);
    return rc;
  }
  prop_model *m = NULL;
  int st = prop_frame_read_csv(data, &s.copt, &s.frame);
  if (!st) st = prop_model_train(s.frame, s.recipe, &s.topt, &m);
  cli_progress_end();
  unsigned char *bytes = NULL;
  size_t nbytes = 0;
  if (!st) st = prop_model_save_to_buffer(m, &bytes, &nbytes);
  if (!st) st = cli_write_bytes(out, bytes, nbytes);
  prop_free(bytes);
  if (st) {
    prop_model_free(m);
    setup_free(&s);
    return fail("train", st);
  }
  fprintf(stderr, "[info] model written to %s (%zu members:", out, prop_model_n_members(m));
  for (size_t j = 0; j < prop_model_n_members(m); j++) fprintf(stderr, " %s", prop_model_member_name(m, j));
  fprintf(stderr, ")\n");
  prop_model_free(m);
  setup_free(&s);
  return 0;
}

int cmd_backtest(args *a) {
  train_setup s;
  const char *data;
  int rc = setup(a, "backtest", &s, &data);
  const char *json = arg_get(a, "--json"), *minm = arg_get(a, "--min-train-months");
  size_t min_months = 1;
  if (rc == -1 && (!s.topt.time_col || !*s.topt.time_col)) rc = usage_error("backtest", "--time-col is required");
  if (rc == -1 && minm && parse_size(minm, &min_months)) rc = usage_error("backtest", "--min-train-months takes a number");
  if (rc == -1 && arg_leftover(a, "backtest")) rc = 1;
  if (rc != -1) {
    setup_free(&s);
    return rc;
  }
  char *report = NULL;
  int st = prop_frame_read_csv(data, &s.copt, &s.frame);
  if (!st) st = prop_backtest(s.frame, s.recipe, &s.topt, min_months, &report);
  cli_progress_end();
  if (st) {
    setup_free(&s);
    return fail("backtest", st);
  }
  int ec = print_backtest(report, json);
  prop_free(report);
  setup_free(&s);
  return ec;
}

int cmd_gen(args *a) {
  const char *dir = arg_get(a, "--out-dir"), *seed = arg_get(a, "--seed"), *cust = arg_get(a, "--customers"),
             *months = arg_get(a, "--months");
  int drift = arg_flag(a, "--drift");
  if (arg_leftover(a, "gen")) return 1;
  if (!dir || !*dir) return usage_error("gen", "--out-dir DIR is required");
  prop_demo_options o;
  prop_demo_options_default(&o);
  size_t v;
  if (seed) {
    if (parse_size(seed, &v)) return usage_error("gen", "--seed takes a whole number");
    o.seed = v;
  }
  if (cust) {
    if (parse_size(cust, &v) || v == 0) return usage_error("gen", "--customers takes a positive number");
    o.customers_per_month = v;
  }
  if (months) {
    if (parse_size(months, &v) || v < 2) return usage_error("gen", "--months takes a number >= 2");
    o.months = v;
  }
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "propensity gen: cannot create %s: %s\n", dir, strerror(errno));
    return 5;
  }
  return gen_files(dir, &o, drift);
}
