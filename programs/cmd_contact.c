/* propensity contact fit / contact best: the contact model (when and on which channel customers pick
 * up) from the contact history, and each customer's best cell. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "+02:00", "-0530", "+01", "Z" into minutes east of UTC.  -1 when it is none of these. */
static int parse_tz(const char *s, int *minutes) {
  if (strcmp(s, "Z") == 0 || strcmp(s, "UTC") == 0) {
    *minutes = 0;
    return 0;
  }
  int hh = 0, mm = 0, n = 0;
  if ((s[0] != '+' && s[0] != '-') || sscanf(s + 1, "%2d%n", &hh, &n) != 1 || n != 2) return -1;
  const char *p = s + 3;
  if (*p == ':') p++;
  if (*p && (sscanf(p, "%2d%n", &mm, &n) != 1 || n != 2 || p[2])) return -1;
  if (hh > 14 || mm > 59 || hh * 60 + mm > 840) return -1;
  *minutes = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
  return 0;
}

/* "8,2,7": the first block's hour, hours per block, blocks. */
static int parse_hours(const char *s, prop_contact_options *o) {
  int n = 0;
  return sscanf(s, "%d,%d,%d%n", &o->first_hour, &o->block_hours, &o->n_blocks, &n) == 3 && !s[n] ? 0 : -1;
}

static void print_level(const json_t *l) {
  static const char *const label[][2] = {{"global", "global cells"}, {"segment", "segment cells"},
                                         {"customer", "customer"}, {"customer_recalibrated", "customer, recalibrated"}};
  const char *name = json_string_value(json_object_get(l, "level")), *shown = name;
  for (size_t q = 0; name && q < sizeof label / sizeof label[0]; q++)
    if (strcmp(label[q][0], name) == 0) shown = label[q][1];
  printf("%-24s %8.4f %7.4f %7.4f %7.4f %7.4f %10.3f\n", shown ? shown : "?",
         json_number_value(json_object_get(l, "log_loss")), json_number_value(json_object_get(l, "brier")),
         json_number_value(json_object_get(l, "ece")), json_number_value(json_object_get(l, "mean_p")),
         json_number_value(json_object_get(l, "rate")), json_number_value(json_object_get(l, "calibration_slope")));
}

/* The fit report on stdout: counts, shrinkage, the held-out check and the calibration table. */
static void print_report(const char *text) {
  json_t *r = json_loads(text, 0, NULL), *sh = json_object_get(r, "shrinkage"), *h = json_object_get(r, "holdout");
  if (!r) return;
  printf("contact model: %lld attempts (connected %.1f%%), %lld customers (%lld with history), %lld segments, %lld cells\n",
         (long long)json_integer_value(json_object_get(r, "attempts")),
         100 * json_number_value(json_object_get(r, "connect_rate")),
         (long long)json_integer_value(json_object_get(r, "customers")),
         (long long)json_integer_value(json_object_get(r, "customers_with_history")),
         (long long)json_integer_value(json_object_get(r, "segments")),
         (long long)json_integer_value(json_object_get(r, "cells")));
  printf("shrinkage, sd of the log-odds: segment %.3f, customer %.3f, customer x channel %.3f, customer x slot %.3f\n",
         json_number_value(json_object_get(sh, "segment_sd")), json_number_value(json_object_get(sh, "customer_sd")),
         json_number_value(json_object_get(sh, "customer_channel_sd")),
         json_number_value(json_object_get(sh, "customer_slot_sd")));
  if (!json_is_object(h)) {
    printf("held-out check: skipped (%s)\n", json_string_value(json_object_get(r, "holdout_skipped")));
    json_decref(r);
    return;
  }
  printf("\nheld-out check: the latest %.0f%% of the attempts by time (%lld, from %s), fitted on the %lld before\n",
         100 * json_number_value(json_object_get(h, "fraction")),
         (long long)json_integer_value(json_object_get(h, "test_attempts")),
         json_string_value(json_object_get(h, "test_from")),
         (long long)json_integer_value(json_object_get(h, "train_attempts")));
  printf("%-24s %8s %7s %7s %7s %7s %10s\n", "level", "log-loss", "Brier", "ECE", "mean p", "rate", "cal. slope");
  json_t *levels = json_object_get(h, "levels"), *l;
  size_t q;
  json_array_foreach(levels, q, l) print_level(l);
  json_t *last = json_array_get(levels, json_array_size(levels) - 1), *b;
  printf("\ncalibration of the %s level on the held-out attempts:\n", json_string_value(json_object_get(last, "level")));
  printf("  %-9s %9s %7s %7s\n", "p range", "attempts", "mean p", "rate");
  json_array_foreach(json_object_get(last, "bins"), q, b)
    printf("  %.1f-%.1f %10lld %7.3f %7.3f\n", json_number_value(json_object_get(b, "lo")),
           json_number_value(json_object_get(b, "hi")), (long long)json_integer_value(json_object_get(b, "count")),
           json_number_value(json_object_get(b, "mean_p")), json_number_value(json_object_get(b, "rate")));
  json_decref(r);
}

/* Read a CSV whole with the given columns declared (types: the id-like ones keep their text). */
static int read_declared(const char *path, const char *const *names, const prop_coltype *types, size_t n,
                         prop_frame **out) {
  prop_csv_options co;
  prop_csv_options_default(&co);
  co.declared_names = names;
  co.declared_types = types;
  co.n_declared = n;
  return prop_frame_read_csv(path, &co, out);
}

typedef struct fit_args {
  const char *hist, *out, *data, *segs, *tz, *hours, *chans, *holdout, *threads;
  prop_contact_options o;
} fit_args;

static int fit_usage(args *a, fit_args *f) {
  prop_contact_options_default(&f->o);
  prop_contact_options *o = &f->o;
  f->hist = arg_get(a, "--history");
  o->id = arg_get(a, "--id");
  o->time = arg_get(a, "--time");
  o->channel = arg_get(a, "--channel");
  o->outcome = arg_get(a, "--outcome");
  o->positive = arg_get(a, "--positive");
  f->data = arg_get(a, "--data");
  f->segs = arg_get(a, "--segment-cols");
  f->out = arg_get(a, "--out");
  f->tz = arg_get(a, "--tz");
  f->hours = arg_get(a, "--hours");
  f->chans = arg_get(a, "--channels");
  f->holdout = arg_get(a, "--holdout");
  f->threads = arg_get(a, "--threads");
  const char *cmd = "contact fit";
  if (arg_leftover(a, cmd)) return 1;
  if (!f->hist || !o->id || !o->time || !o->channel || !o->outcome || !f->out || !*f->hist || !*o->id || !*o->time ||
      !*o->channel || !*o->outcome || !*f->out)
    return usage_error(cmd, "--history, --id, --time, --channel, --outcome and --out are required");
  if (f->segs && !f->data) return usage_error(cmd, "--segment-cols needs --data CUSTOMERS.csv");
  if (f->tz && parse_tz(f->tz, &o->tz_minutes)) return usage_error(cmd, "--tz takes an offset such as +02:00, -05:00 or Z");
  if (f->hours && parse_hours(f->hours, o)) return usage_error(cmd, "--hours takes FIRST,HOURS,BLOCKS such as 8,2,7");
  if (f->holdout) {
    char *end;
    o->holdout_fraction = strtod(f->holdout, &end);
    if (*end || !(o->holdout_fraction >= 0 && o->holdout_fraction <= 0.5))
      return usage_error(cmd, "--holdout takes a share from 0 to 0.5");
  }
  return parse_threads(cmd, f->threads, &o->nthread);
}

int cmd_contact_fit(args *a) {
  fit_args f;
  int ec = fit_usage(a, &f);
  if (ec) return ec;
  prop_contact_options *o = &f.o;
  size_t nseg = 0, nch = 0;
  char *seg_store = NULL, *ch_store = NULL;
  char **segs = split_list(f.segs, &nseg, &seg_store), **chans = split_list(f.chans, &nch, &ch_store);
  o->segment_cols = (const char *const *)segs;
  o->n_segment_cols = nseg;
  o->channels = (const char *const *)chans;
  o->n_channels = nch;
  o->log = cli_log;
  const char *hnames[4] = {o->id, o->time, o->channel, o->outcome};
  prop_coltype htypes[4] = {PROP_COL_ID, PROP_COL_ID, PROP_COL_CATEGORICAL, PROP_COL_CATEGORICAL};
  prop_frame *hist = NULL, *cust = NULL;
  prop_contact *c = NULL;
  int st = read_declared(f.hist, hnames, htypes, 4, &hist);
  if (!st && f.data) {
    const char **cn = calloc(nseg + 1, sizeof *cn);
    prop_coltype *ct = calloc(nseg + 1, sizeof *ct);
    if (!cn || !ct) st = PROP_ERR_NOMEM;
    for (size_t q = 0; !st && q <= nseg; q++) {
      cn[q] = q ? segs[q - 1] : o->id;
      ct[q] = q ? PROP_COL_CATEGORICAL : PROP_COL_ID;
    }
    if (!st) st = read_declared(f.data, cn, ct, nseg + 1, &cust);
    free(cn);
    free(ct);
  }
  if (!st) st = prop_contact_fit(hist, cust, o, &c);
  unsigned char *bytes = NULL;
  size_t nbytes = 0;
  if (!st) st = prop_contact_save_to_buffer(c, &bytes, &nbytes);
  if (!st) st = cli_write_bytes(f.out, bytes, nbytes);
  prop_free(bytes);
  if (st) ec = fail("contact fit", st);
  else {
    print_report(prop_contact_report_json(c));
    fprintf(stderr, "[info] contact model written to %s\n", f.out);
  }
  prop_contact_free(c);
  prop_frame_free(hist);
  prop_frame_free(cust);
  free(segs);
  free(seg_store);
  free(chans);
  free(ch_store);
  return ec;
}

/* The best cell of every customer: id,channel,day,hour,p_connect, one row per input row, written by the
 * library through the program's writer (atomically). */
static int write_best_csv(const char *path, const prop_contact *c, const prop_frame *f, const char *id_col) {
  prop_writer *w = NULL;
  int st = cli_writer_open(path, NULL, &w);
  if (!st) st = prop_contact_write_best(c, f, id_col, w);
  if (!st) st = prop_writer_commit(w);
  else prop_writer_abort(w);
  return st ? fail("contact best", st) : 0;
}

int cmd_contact_best(args *a) {
  const char *model = arg_get(a, "--contact"), *data = arg_get(a, "--data"), *out = arg_get(a, "--out");
  const char *id = arg_get(a, "--id");
  if (arg_leftover(a, "contact best")) return 1;
  if (!model || !data || !out || !*model || !*data || !*out)
    return usage_error("contact best", "--contact, --data and --out are required");
  prop_contact *c = NULL;
  prop_frame *f = NULL;
  int st = prop_contact_load(model, &c), ec = 0;
  /* the id column is the model's customer id column unless --id names another */
  const char *idcol = id ? id : st ? NULL : prop_contact_customer_id_column(c);
  prop_coltype t = PROP_COL_ID;
  if (!st) st = read_declared(data, &idcol, &t, 1, &f);
  if (st) ec = fail("contact best", st);
  else {
    ec = write_best_csv(out, c, f, idcol);
    if (!ec) fprintf(stderr, "[info] best cells of %zu customers written to %s\n", prop_frame_n_rows(f), out);
  }
  prop_frame_free(f);
  prop_contact_free(c);
  return ec;
}
