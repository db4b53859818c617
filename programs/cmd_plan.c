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
#define NONE SIZE_MAX

/* What the plan needs of every row, kept while the list streams by. */
typedef struct plan_rows {
  size_t n, cap, K, H;
  int phones;               /* the policy names phone columns */
  text_buf text;            /* ids, phones and reasons */
  size_t *id_off, *err_off; /* err_off: NONE for a scored row */
  size_t *phone_off;        /* n x H, NONE where no phone; NULL without phone columns */
  double *prob, *value, *pconn;
  int *band;
} plan_rows;

static int rows_grow(plan_rows *r, size_t need) {
  if (need <= r->cap) return 0;
  size_t cap = r->cap ? r->cap : 4096;
  while (cap < need) cap *= 2;
  void *q;
#define GROW(field, per)                                                   \
  if (!(q = realloc(r->field, cap * (per) * sizeof *r->field))) return -1; \
  r->field = q;
  GROW(id_off, 1)
  GROW(err_off, 1)
  GROW(prob, 1)
  GROW(value, 1)
  GROW(band, 1)
  GROW(pconn, r->K)
  if (r->phones) {
    GROW(phone_off, r->H)
  }
#undef GROW
  r->cap = cap;
  return 0;
}

static void rows_free(plan_rows *r) {
  free(r->text.p);
  free(r->id_off);
  free(r->err_off);
  free(r->phone_off);
  free(r->prob);
  free(r->value);
  free(r->pconn);
  free(r->band);
}

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

/* Why row i of chunk was not scored, into msg. */
static const char *row_reason(const prop_model *m, const prop_frame *chunk, size_t i, int status, const char *data,
                              char *msg, size_t cap) {
  const char *why = prop_frame_row_error(chunk, i);
  if (!why && status == PROP_ERR_CATEGORY && unseen_reason(m, chunk, i, data, msg, cap)) why = msg;
  if (!why) {
    snprintf(msg, cap, "%s: row %zu: %s", data, prop_frame_row_number(chunk, i), prop_strerror(status));
    why = msg;
  }
  return why;
}

/* One chunk's rows into r. */
static int add_chunk(const prop_model *m, const prop_contact *c, const prop_policy *pol, const prop_frame *chunk,
                     const char *data, const char *value_col, const prop_predict_options *po, int *status,
                     plan_rows *r) {
  size_t n = prop_frame_nrows(chunk), at = r->n;
  const char *idcol = prop_model_id_column(m);
  if (rows_grow(r, at + n)) return PROP_ERR_NOMEM;
  int st = prop_model_predict_frame(m, chunk, r->prob + at, r->band + at, status, po);
  if (!st) st = prop_contact_predict(c, chunk, idcol, r->pconn + at * r->K);
  if (!st && value_col) st = prop_frame_numeric_values(chunk, (size_t)prop_frame_find(chunk, value_col), r->value + at);
  long idj = prop_frame_find(chunk, idcol), *phj = calloc(r->H + 1, sizeof *phj); /* the reader checked the header */
  if (!phj) return PROP_ERR_NOMEM;
  for (size_t h = 0; h < r->H; h++)
    phj[h] = prop_policy_phone_column(pol, h) ? prop_frame_find(chunk, prop_policy_phone_column(pol, h)) : -1;
  for (size_t i = 0; !st && i < n; i++) {
    const char *id = prop_frame_string_value(chunk, (size_t)idj, i);
    char msg[512];
    if (!value_col) r->value[at + i] = 1.0;
    if (text_add(&r->text, id ? id : "", &r->id_off[at + i])) st = PROP_ERR_NOMEM;
    r->err_off[at + i] = NONE;
    if (!st && status[i] &&
        text_add(&r->text, row_reason(m, chunk, i, status[i], data, msg, sizeof msg), &r->err_off[at + i]))
      st = PROP_ERR_NOMEM;
    for (size_t h = 0; !st && r->phones && h < r->H; h++) {
      const char *ph = phj[h] >= 0 ? prop_frame_string_value(chunk, (size_t)phj[h], i) : NULL;
      r->phone_off[(at + i) * r->H + h] = NONE;
      if (ph && text_add(&r->text, ph, &r->phone_off[(at + i) * r->H + h])) st = PROP_ERR_NOMEM;
    }
  }
  free(phj);
  if (!st) r->n = at + n;
  return st;
}

static int read_list(const char *data, const prop_model *m, const prop_contact *c, const prop_policy *pol,
                     const char *value_col, const prop_predict_options *po, plan_rows *r) {
  prop_reader *rd = NULL;
  int st = open_list(data, m, c, pol, value_col, r->H, &rd), *status = NULL;
  while (!st) {
    prop_frame *chunk = NULL;
    st = prop_reader_next(rd, CHUNK_ROWS, &chunk);
    if (st || !chunk) break;
    int *s = realloc(status, (prop_frame_nrows(chunk) + 1) * sizeof *s);
    if (!s) st = PROP_ERR_NOMEM;
    else st = add_chunk(m, c, pol, chunk, data, value_col, po, status = s, r);
    prop_frame_free(chunk);
  }
  free(status);
  prop_reader_free(rd);
  return st;
}

/* ---- the outputs: one small function per kind of file ----------------------------------------------- */
static int write_row(FILE *fp, const prop_plan *p, size_t i, int format, const char **f, char *buf, size_t cap) {
  size_t nf = prop_plan_columns(format, NULL);
  int st = prop_plan_row_fields(p, i, format, f, buf, cap);
  for (size_t k = 0; !st && k < nf; k++) {
    if (k) fputc(format == PROP_PLAN_CSV ? ',' : '\t', fp);
    if (format == PROP_PLAN_CSV) csv_field(fp, f[k]);
    else fputs(f[k], fp);
  }
  fputc('\n', fp);
  return st;
}

/* The plan CSV: a header and one row per input row, in input order. */
static int write_plan_csv(out_file *of, const prop_plan *p) {
  const char *const *names, *f[16];
  char buf[4096];
  size_t nf = prop_plan_columns(PROP_PLAN_CSV, &names);
  for (size_t k = 0; k < nf; k++) fprintf(of->fp, "%s%s", k ? "," : "", names[k]);
  fputc('\n', of->fp);
  for (size_t i = 0; i < prop_plan_n_rows(p); i++)
    if (write_row(of->fp, p, i, PROP_PLAN_CSV, f, buf, sizeof buf)) return fail("plan", prop_last_error_code());
  return 0;
}

/* One VICIdial lead file: the rows called in slot, in slot_rank order (by[] lists them). */
static int write_lead_file(out_file *of, const prop_plan *p, const size_t *by, size_t n) {
  const char *f[32];
  char buf[4096];
  for (size_t q = 0; q < n; q++)
    if (write_row(of->fp, p, by[q], PROP_PLAN_VICIDIAL, f, buf, sizeof buf)) return fail("plan", prop_last_error_code());
  return 0;
}

/* --format vicidial: DIR/plan.csv (every row) and DIR/<day>_<HH>.txt for each slot with calls, all
 * complete on disk before the first is renamed into place. */
static int write_vicidial(const char *dir, const prop_plan *p, const prop_contact *c, size_t H) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "propensity plan: cannot create %s: %s\n", dir, strerror(errno));
    return 5;
  }
  size_t n = prop_plan_n_rows(p), ns = prop_contact_n_cells(c) / H, *count = calloc(ns + 1, sizeof *count);
  size_t *by = malloc((n + 1) * sizeof *by), *start = calloc(ns + 1, sizeof *start);
  out_file *of = calloc(ns + 1, sizeof *of);
  prop_plan_row r = {.struct_size = sizeof r};
  int ec = count && by && start && of ? 0 : 6;
  for (size_t i = 0; !ec && i < n; i++)
    if (!prop_plan_row_get(p, i, &r) && r.tier_index >= 0) count[r.slot]++;
  for (size_t s = 1; !ec && s < ns; s++) start[s] = start[s - 1] + count[s - 1];
  for (size_t i = 0; !ec && i < n; i++)
    if (!prop_plan_row_get(p, i, &r) && r.tier_index >= 0) by[start[r.slot] + r.slot_rank - 1] = i;
  char path[4096];
  for (size_t s = 0; !ec && s <= ns; s++) { /* of[ns] is plan.csv */
    const char *day;
    int hour;
    if (s < ns && !count[s]) continue;
    if (s < ns) prop_contact_cell(c, s * H, NULL, &day, &hour);
    if (s < ns) snprintf(path, sizeof path, "%s/%s_%02d.txt", dir, day, hour);
    else snprintf(path, sizeof path, "%s/plan.csv", dir);
    char *copy = strdup(path);
    if (!copy || out_open(&of[s], "plan", copy)) {
      free(copy);
      ec = 5;
    }
    else ec = s < ns ? write_lead_file(&of[s], p, by + start[s], count[s]) : write_plan_csv(&of[s], p);
    if (!ec && out_finish(&of[s])) ec = 5;
  }
  for (size_t s = 0; s <= ns && of; s++) {
    if (!ec && of[s].tmp && out_commit(&of[s])) ec = 5;
    if (of[s].tmp) out_abort(&of[s]);
    free((char *)of[s].path);
  }
  free(count);
  free(by);
  free(start);
  free(of);
  return ec;
}

/* The library's plan of the rows read. */
static int make_plan(const plan_rows *r, const prop_policy *pol, const prop_contact *c, const prop_model *m,
                     const prop_plan_options *pl, int with_value, prop_plan **out) {
  size_t n = r->n;
  const char **ids = malloc((n + 1) * sizeof *ids), **errs = malloc((n + 1) * sizeof *errs);
  const char **phones = r->phones ? malloc((n * r->H + 1) * sizeof *phones) : NULL;
  int st = ids && errs && (phones || !r->phones) ? 0 : PROP_ERR_NOMEM;
  for (size_t i = 0; !st && i < n; i++) {
    ids[i] = r->text.p + r->id_off[i];
    errs[i] = r->err_off[i] == NONE ? NULL : r->text.p + r->err_off[i];
    for (size_t h = 0; phones && h < r->H; h++) {
      size_t off = r->phone_off[i * r->H + h];
      phones[i * r->H + h] = off == NONE ? NULL : r->text.p + off;
    }
  }
  if (!st) {
    prop_plan_input in;
    prop_plan_input_default(&in);
    in.n = n;
    in.ids = ids;
    in.probability = r->prob;
    in.band = r->band;
    in.nbands = prop_model_n_bands(m);
    in.value = with_value ? r->value : NULL;
    in.p_connect = r->pconn;
    in.row_error = errs;
    in.phones = phones;
    st = prop_plan_create(pol, c, &in, pl, out);
  }
  free(ids);
  free(errs);
  free(phones);
  return st;
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
  prop_plan_options pl;
  prop_plan_options_default(&pl);
  if (parse_threads("plan", threads, &po.nthread)) return 1;
  pl.nthread = po.nthread;
  if (unseen && strcmp(unseen, "bucket") == 0) po.unseen = PROP_UNSEEN_BUCKET;
  else if (unseen && strcmp(unseen, "error") != 0) return usage_error("plan", "--unseen takes error or bucket");
  if (exact && parse_size(exact, &pl.exact_max_rows)) return usage_error("plan", "--exact-max-rows takes a whole number");
  prop_model *m = NULL;
  prop_contact *c = NULL;
  prop_policy *pol = NULL;
  prop_plan *p = NULL;
  plan_rows r;
  memset(&r, 0, sizeof r);
  int st = prop_model_load(model_path, &m);
  if (!st) st = prop_contact_load(contact, &c);
  if (!st) st = prop_policy_load(policy, c, &pol);
  if (!st && !prop_model_id_column(m)) {
    prop_model_free(m);
    prop_contact_free(c);
    prop_policy_free(pol);
    fprintf(stderr, "propensity plan: error: %s has no id column: a plan needs customer ids\n", model_path);
    return 2;
  }
  if (!st) {
    r.K = prop_contact_n_cells(c);
    const char *ch0, *ch;
    prop_contact_cell(c, 0, &ch0, NULL, NULL);
    for (r.H = 1; r.H < r.K && !prop_contact_cell(c, r.H, &ch, NULL, NULL) && strcmp(ch, ch0) != 0; r.H++) {
    }
    for (size_t h = 0; h < r.H; h++) r.phones |= prop_policy_phone_column(pol, h) != NULL;
    st = read_list(data, m, c, pol, value_col, &po, &r);
  }
  if (!st) st = make_plan(&r, pol, c, m, &pl, value_col != NULL, &p);
  int ec = st ? fail("plan", st) : 0;
  if (!ec && vicidial) ec = write_vicidial(out, p, c, r.H);
  else if (!ec) {
    out_file of;
    ec = out_open(&of, "plan", out) ? 5 : write_plan_csv(&of, p);
    if (!ec && out_commit(&of)) ec = 5;
    if (ec && of.tmp) out_abort(&of);
  }
  if (!ec) print_summary(p, out);
  prop_plan_free(p);
  rows_free(&r);
  prop_policy_free(pol);
  prop_contact_free(c);
  prop_model_free(m);
  return ec;
}
