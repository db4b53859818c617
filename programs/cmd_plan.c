/* propensity plan: score a call list, look up each customer's P(connect) per cell in the contact
 * model, and assign the rows to tiers and cells under the policy (the library's prop_plan_create);
 * write the plan CSV, or VICIdial lead files, one per slot. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define CHUNK_ROWS 65536

/* The reader of the call list: the model's columns, the value column, the policy's phone columns
 * and, when the file has them all, the contact model's segment columns. */
static int open_list(const char *data, const prop_model *m, const prop_contact *c, const prop_policy *pol,
                     const char *value_col, size_t H, prop_reader **rd) {
  const char *const *segs;
  size_t nseg = prop_contact_segment_columns(c, &segs), n = 0;
  const char **names = calloc(1 + H + nseg, sizeof *names);
  prop_coltype *types = calloc(1 + H + nseg, sizeof *types);
  if (!names || !types) {
    free(names);
    free(types);
    return PROP_ERR_NOMEM;
  }
  if (value_col) names[n] = value_col, types[n++] = PROP_COL_NUMERIC;
  for (size_t h = 0; h < H; h++)
    if (prop_policy_phone_column(pol, h)) names[n] = prop_policy_phone_column(pol, h), types[n++] = PROP_COL_ID;
  for (size_t q = 0; q < nseg; q++) names[n + q] = segs[q], types[n + q] = PROP_COL_CATEGORICAL;
  prop_csv_options co;
  prop_csv_options_default(&co);
  co.declared_names = names;
  co.declared_types = types;
  co.n_declared = n + nseg;
  int st = prop_reader_open_for_model(data, m, &co, rd);
  if (st == PROP_ERR_SCHEMA && nseg) { /* without the segment columns: unknown customers get the global cells */
    co.n_declared = n;
    st = prop_reader_open_for_model(data, m, &co, rd);
    if (!st) fprintf(stderr, "[info] %s lacks the contact model's segment columns: customers it has no history or "
                             "segment of get the global cells\n", data);
  }
  free(names);
  free(types);
  return st;
}

/* Every chunk of the call list into the plan list. */
static int read_list(const char *data, const prop_model *m, const prop_contact *c, const prop_policy *pol,
                     const char *value_col, size_t H, prop_planlist *pl) {
  prop_reader *rd = NULL;
  int st = open_list(data, m, c, pol, value_col, H, &rd);
  while (!st) {
    prop_frame *chunk = NULL;
    st = prop_reader_next(rd, CHUNK_ROWS, &chunk);
    if (st || !chunk) break;
    st = prop_planlist_add(pl, chunk);
    prop_frame_free(chunk);
  }
  prop_reader_free(rd);
  return st;
}

/* ---- the outputs, written by the library ---------------------------------------------------------- */
static int open_out(const char *path, int lead_file, prop_writer **w) {
  prop_writer_options wo;
  cli_writer_options(&wo);
  if (lead_file) {
    wo.delimiter = '\t';
    wo.no_quoting = 1;
  }
  return cli_writer_open(path, &wo, w);
}

/* --format vicidial: DIR/plan.csv (every row) and DIR/<day>_<HH>.txt for each slot with calls, every
 * file written and synced before the first is renamed into place. */
static int write_vicidial(const char *dir, const prop_plan *p) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "propensity plan: cannot create %s: %s\n", dir, strerror(errno));
    return 5;
  }
  size_t ns = prop_plan_n_slots(p);
  prop_writer **w = calloc(ns + 1, sizeof *w);
  int st = w ? 0 : PROP_ERR_NOMEM;
  char path[4096], name[32];
  for (size_t s = 0; !st && s <= ns; s++) { /* w[ns] is plan.csv */
    if (s < ns && !prop_plan_slot_calls(p, s)) continue;
    if (s < ns && !(st = prop_plan_slot_name(p, s, name, sizeof name))) snprintf(path, sizeof path, "%s/%s.txt", dir, name);
    if (s == ns) snprintf(path, sizeof path, "%s/plan.csv", dir);
    if (!st) st = open_out(path, s < ns, &w[s]);
    if (!st) st = s < ns ? prop_plan_write_slot(p, s, w[s]) : prop_plan_write(p, w[s]);
    if (!st) st = prop_writer_sync(w[s]);
  }
  for (size_t s = 0; w && s <= ns; s++) {
    if (!st && w[s]) st = prop_writer_commit(w[s]);
    else prop_writer_abort(w[s]);
  }
  free(w);
  return st ? fail("plan", st) : 0;
}

static int write_csv(const char *out, const prop_plan *p) {
  prop_writer *w = NULL;
  int st = open_out(out, 0, &w);
  if (!st) st = prop_plan_write(p, w);
  if (!st) st = prop_writer_commit(w);
  else prop_writer_abort(w);
  return st ? fail("plan", st) : 0;
}

/* The summary on stdout: totals, the greedy and exact values, each tier, the rows not called. */
static void print_summary(const prop_plan *p, const char *out) {
  json_t *s = json_loads(prop_plan_summary_json(p), 0, NULL), *t, *v;
  if (!s) return;
  printf("plan: %lld rows, %lld called; %s assignment (greedy %.4f", (long long)json_integer_value(json_object_get(s, "rows")),
         (long long)json_integer_value(json_object_get(s, "called")), json_string_value(json_object_get(s, "method")),
         json_number_value(json_object_get(s, "greedy_value")));
  if (json_is_number(json_object_get(s, "exact_value")))
    printf(", exact %.4f, gap %.3f%%", json_number_value(json_object_get(s, "exact_value")),
           100 * json_number_value(json_object_get(s, "gap")));
  else printf(", exact not run: %s", json_string_value(json_object_get(s, "exact_note")));
  printf(")\n%-16s %8s %14s %17s %14s\n", "tier", "calls", "exp. connects", "exp. acceptances", "exp. value");
  size_t q;
  json_array_foreach(json_object_get(s, "tiers"), q, t)
    printf("%-16s %8lld %14.2f %17.2f %14.2f\n", json_string_value(json_object_get(t, "name")),
           (long long)json_integer_value(json_object_get(t, "calls")),
           json_number_value(json_object_get(t, "expected_connects")),
           json_number_value(json_object_get(t, "expected_acceptances")),
           json_number_value(json_object_get(t, "expected_value")));
  printf("%-16s %8lld %14.2f %17.2f %14.2f\n", "all", (long long)json_integer_value(json_object_get(s, "called")),
         json_number_value(json_object_get(s, "expected_connects")),
         json_number_value(json_object_get(s, "expected_acceptances")),
         json_number_value(json_object_get(s, "expected_value")));
  const char *key;
  json_object_foreach(json_object_get(s, "not_called"), key, v)
    printf("not called: %lld (%s)\n", (long long)json_integer_value(v), key);
  fprintf(stderr, "[info] plan written to %s\n", out);
  json_decref(s);
}

int cmd_plan(args *a) {
  const char *model_path = arg_get(a, "--model"), *contact = arg_get(a, "--contact"), *data = arg_get(a, "--data");
  const char *policy = arg_get(a, "--policy"), *out = arg_get(a, "--out"), *format = arg_get(a, "--format");
  const char *value_col = arg_get(a, "--value-col"), *unseen = arg_get(a, "--unseen"), *threads = arg_get(a, "--threads");
  const char *exact = arg_get(a, "--exact-max-rows");
  if (arg_leftover(a, "plan")) return 1;
  if (!model_path || !contact || !data || !policy || !out || !*model_path || !*contact || !*data || !*policy || !*out)
    return usage_error("plan", "--model, --contact, --data, --policy and --out are required");
  int vicidial = format && strcmp(format, "vicidial") == 0;
  if (format && !vicidial && strcmp(format, "csv") != 0) return usage_error("plan", "--format takes csv or vicidial");
  if (value_col && !*value_col) return usage_error("plan", "--value-col takes a column name");
  prop_predict_options po;
  prop_predict_options_default(&po);
  prop_plan_options plo;
  prop_plan_options_default(&plo);
  if (parse_threads("plan", threads, &po.nthread)) return 1;
  plo.nthread = po.nthread;
  if (unseen && strcmp(unseen, "error") == 0) po.unseen = PROP_UNSEEN_ERROR;
  else if (unseen && strcmp(unseen, "bucket") != 0) return usage_error("plan", "--unseen takes bucket or error");
  if (exact && parse_size(exact, &plo.exact_max_rows)) return usage_error("plan", "--exact-max-rows takes a whole number");
  prop_model *m = NULL;
  prop_contact *c = NULL;
  prop_policy *pol = NULL;
  prop_planlist *pl = NULL;
  prop_plan *p = NULL;
  prop_planlist_options lo;
  prop_planlist_options_default(&lo);
  lo.predict = &po;
  lo.value_column = value_col;
  lo.source = data;
  int st = prop_model_load(model_path, &m);
  if (!st) st = prop_contact_load(contact, &c);
  if (!st) st = prop_policy_load(policy, c, &pol);
  if (!st) st = prop_planlist_create(m, c, pol, &lo, &pl);
  if (!st) {
    size_t H = 1, K = prop_contact_n_cells(c); /* the channels: the cells of the first slot */
    const char *ch0, *ch;
    prop_contact_cell(c, 0, &ch0, NULL, NULL);
    while (H < K && !prop_contact_cell(c, H, &ch, NULL, NULL) && strcmp(ch, ch0) != 0) H++;
    st = read_list(data, m, c, pol, value_col, H, pl);
  }
  if (!st) st = prop_planlist_plan(pl, &plo, &p);
  int ec = st ? fail("plan", st) : vicidial ? write_vicidial(out, p) : write_csv(out, p);
  if (!ec) print_summary(p, out);
  prop_plan_free(p);
  prop_planlist_free(pl);
  prop_policy_free(pol);
  prop_contact_free(c);
  prop_model_free(m);
  return ec;
}
