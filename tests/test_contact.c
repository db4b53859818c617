/* The contact model: timestamps, the shrinkage on data with a known answer, customers and segments,
 * bad history rows named by file, row and column, an empty history, the held-out check, the file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact/contact.h"
#include "io/bundle.h"
#include "testutil.h"

/* ---- simulated histories ------------------------------------------------------------------------- */
typedef struct sim {
  size_t ncust, per;      /* customers and attempts each */
  double sw, su, sv;      /* sd of the customers' intercepts, channel and slot deviations */
  size_t nseg;            /* segments (0: none); segment s shifts every cell's log-odds by shift[s] */
  double shift[4];
  uint64_t seed;
} sim;

/* The base log-odds of cell k (3 channels x 14 slots): channels and hours differ. */
static double base_eta(size_t k) { return -0.6 + 0.4 * ((double)(k % 3) - 1.0) + 0.1 * (double)((k / 3) % 7) - 0.3; }

/* The history frame (id, time, channel, outcome) and, with segments, the customers frame; truth gets
 * every customer's true P(connect) per cell (ncust x 42) when not NULL. */
static prop_frame *sim_history(const sim *s, prop_frame **customers, double *truth) {
  static const char *const chans[3] = {"home", "mobile", "office"};
  size_t n = s->ncust * s->per;
  char **id = malloc(n * sizeof *id), **tm = malloc(n * sizeof *tm), **cid = malloc(s->ncust * sizeof *cid);
  const char **ch = malloc(n * sizeof *ch), **oc = malloc(n * sizeof *oc), **seg = malloc(s->ncust * sizeof *seg);
  uint64_t st = s->seed;
  size_t r = 0;
  for (size_t i = 0; i < s->ncust; i++) {
    double w = s->sw * tu_normal(&st), u[3], v[14];
    size_t sg = s->nseg ? i % s->nseg : 0;
    for (int h = 0; h < 3; h++) u[h] = s->su * tu_normal(&st);
    for (int t = 0; t < 14; t++) v[t] = s->sv * tu_normal(&st);
    char buf[64];
    snprintf(buf, sizeof buf, "c%zu", i);
    cid[i] = strdup(buf);
    static const char *const segname[4] = {"a", "b", "c", "d"};
    seg[i] = segname[sg];
    for (size_t k = 0; truth && k < 42; k++)
      truth[i * 42 + k] = 1 / (1 + exp(-(base_eta(k) + s->shift[sg] + w + u[k % 3] + v[k / 3])));
    for (size_t a = 0; a < s->per; a++, r++) {
      size_t k = (size_t)(tu_uniform(&st) * 42), t = k / 3;
      double eta = base_eta(k) + s->shift[sg] + w + u[k % 3] + v[t];
      int y = tu_uniform(&st) < 1 / (1 + exp(-eta));
      /* 2026-03-02 is a Monday, 2026-03-07 a Saturday; later attempts in later weeks */
      int day = (t >= 7 ? 7 + (int)(a % 2) : 2 + (int)(a % 5)) + 7 * (int)(a / 5 % 4);
      snprintf(buf, sizeof buf, "2026-03-%02dT%02d:%02zu:00", day, 8 + 2 * (int)(t % 7), a % 60);
      id[r] = strdup(cid[i]);
      tm[r] = strdup(buf);
      ch[r] = chans[k % 3];
      oc[r] = y ? "1" : "0";
    }
  }
  prop_frame *f;
  assert_int_equal(prop_frame_create(n, &f), 0);
  assert_int_equal(prop_frame_add_strings(f, "id", PROP_COL_ID, (const char *const *)id), 0);
  assert_int_equal(prop_frame_add_strings(f, "time", PROP_COL_ID, (const char *const *)tm), 0);
  assert_int_equal(prop_frame_add_strings(f, "channel", PROP_COL_CATEGORICAL, ch), 0);
  assert_int_equal(prop_frame_add_strings(f, "outcome", PROP_COL_CATEGORICAL, oc), 0);
  if (customers) {
    assert_int_equal(prop_frame_create(s->ncust, customers), 0);
    assert_int_equal(prop_frame_add_strings(*customers, "id", PROP_COL_ID, (const char *const *)cid), 0);
    assert_int_equal(prop_frame_add_strings(*customers, "segment", PROP_COL_CATEGORICAL, seg), 0);
  }
  for (size_t q = 0; q < n; q++) free(id[q]), free(tm[q]);
  for (size_t i = 0; i < s->ncust; i++) free(cid[i]);
  free(id), free(tm), free(cid), free(ch), free(oc), free(seg);
  return f;
}

static prop_contact_options sim_options(int with_segments) {
  static const char *const segcols[1] = {"segment"};
  prop_contact_options o;
  prop_contact_options_default(&o);
  o.id = "id";
  o.time = "time";
  o.channel = "channel";
  o.outcome = "outcome";
  o.nthread = 2;
  if (with_segments) {
    o.segment_cols = segcols;
    o.n_segment_cols = 1;
  }
  return o;
}

static prop_contact *fit_sim(const sim *s, int with_segments, double *truth) {
  prop_frame *cust = NULL, *h = sim_history(s, with_segments ? &cust : NULL, truth);
  prop_contact_options o = sim_options(with_segments);
  prop_contact *c = NULL;
  int rc = prop_contact_fit(h, cust, &o, &c);
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  assert_int_equal(rc, 0);
  prop_frame_free(h);
  prop_frame_free(cust);
  return c;
}

static double report_num(const prop_contact *c, const char *obj, const char *key) {
  json_t *r = tu_json(prop_contact_report_json(c));
  json_t *o = obj ? json_object_get(r, obj) : r;
  assert_true(json_is_number(json_object_get(o, key)));
  double v = json_number_value(json_object_get(o, key));
  json_decref(r);
  return v;
}

/* ---- timestamps ------------------------------------------------------------------------------------- */
static void test_iso8601(void **state) {
  (void)state;
  pp_when w;
  char why[128];
  assert_int_equal(pp_parse_iso8601("2026-03-14T10:37:00", PROP_CONTACT_TZ_AS_WRITTEN, &w, why, sizeof why), 0);
  assert_int_equal(w.day, pp_days_from_civil(2026, 3, 14));
  assert_int_equal(w.minute, 10 * 60 + 37);
  assert_true(w.weekend); /* a Saturday */
  assert_int_equal(pp_parse_iso8601("2026-03-16 09:05", PROP_CONTACT_TZ_AS_WRITTEN, &w, why, sizeof why), 0);
  assert_false(w.weekend);
  assert_int_equal(w.minute, 9 * 60 + 5);
  /* a zone: as written by default; moved to the customers' offset when one is given */
  assert_int_equal(pp_parse_iso8601("2026-03-14T10:37:00+02:00", PROP_CONTACT_TZ_AS_WRITTEN, &w, why, sizeof why), 0);
  assert_int_equal(w.minute, 10 * 60 + 37);
  assert_int_equal(pp_parse_iso8601("2026-03-14T10:37:00Z", 120, &w, why, sizeof why), 0);
  assert_int_equal(w.minute, 12 * 60 + 37);
  assert_int_equal(pp_parse_iso8601("2026-03-14T10:37:00.250+0200", 60, &w, why, sizeof why), 0);
  assert_int_equal(w.minute, 9 * 60 + 37);
  /* across midnight: Sunday 23:30 UTC is Monday 01:30 at +02:00, a weekday */
  assert_int_equal(pp_parse_iso8601("2026-03-15T23:30:00Z", 120, &w, why, sizeof why), 0);
  assert_int_equal(w.day, pp_days_from_civil(2026, 3, 16));
  assert_false(w.weekend);
  /* a time without a zone is never moved */
  assert_int_equal(pp_parse_iso8601("2026-03-15T23:30:00", 120, &w, why, sizeof why), 0);
  assert_true(w.weekend);
  const char *bad[] = {"2026-02-29T10:00:00", "2026-13-01T10:00:00", "2026-03-14T24:00:00", "2026-03-14",
                       "14/03/2026 10:37", "2026-03-14T10:37:00+15:00", "2026-03-14T10:37:00 junk", "", NULL};
  for (size_t q = 0; bad[q]; q++) assert_int_equal(pp_parse_iso8601(bad[q], 0, &w, why, sizeof why), -1);
  assert_int_equal(pp_parse_iso8601("2024-02-29T10:00:00", 0, &w, why, sizeof why), 0); /* a leap day */
  int64_t y;
  int m, d;
  pp_civil_from_days(pp_days_from_civil(2000, 2, 29), &y, &m, &d);
  assert_true(y == 2000 && m == 2 && d == 29);
  assert_int_equal(pp_day_of_week(0), 3); /* 1970-01-01 was a Thursday */
}

/* ---- the shrinkage, on data with a known answer ---------------------------------------------------- */
/* The customers' variances are recovered from the data: simulated with sd 1.0, 0.5, 0.35. */
static void test_shrinkage_recovers_variances(void **state) {
  (void)state;
  sim s = {3000, 20, 1.0, 0.5, 0.35, 0, {0}, 11};
  prop_contact *c = fit_sim(&s, 0, NULL);
  double sw = report_num(c, "shrinkage", "customer_sd"), su = report_num(c, "shrinkage", "customer_channel_sd"),
         sv = report_num(c, "shrinkage", "customer_slot_sd");
  tu_assert_close(sw, 1.0, 0.15);
  tu_assert_close(su, 0.5, 0.15);
  tu_assert_close(sv, 0.35, 0.15);
  prop_contact_free(c);
}

/* Customers that do not differ: the variances come out near zero and every customer gets about its
 * segment's cells, however its own few attempts went. */
static void test_shrinkage_none(void **state) {
  (void)state;
  sim s = {2000, 15, 0.0, 0.0, 0.0, 2, {-0.5, 0.5}, 12};
  prop_contact *c = fit_sim(&s, 1, NULL);
  assert_true(report_num(c, "shrinkage", "customer_sd") < 0.2);
  assert_true(report_num(c, "shrinkage", "customer_channel_sd") < 0.2);
  assert_true(report_num(c, "shrinkage", "customer_slot_sd") < 0.2);
  size_t K = prop_contact_n_cells(c);
  double *p = malloc(K * sizeof *p), worst = 0;
  for (long i = 0; i < 200; i++) {
    long seg = c->cust_seg[i];
    pp_contact_cells(c, i, -1, p);
    for (size_t k = 0; k < K; k++) worst = fmax(worst, fabs(p[k] - c->p_seg[(size_t)seg * K + k]));
  }
  assert_true(worst < 0.06);
  /* the segment cells are the true ones (4000 attempts a segment over 42 cells) */
  for (size_t seg = 0; seg < 2; seg++) {
    size_t sidx;
    assert_true(pp_strmap_get(&c->seg_map, seg ? "b" : "a", &sidx));
    double err = 0;
    for (size_t k = 0; k < K; k++)
      err += fabs(c->p_seg[sidx * K + k] - 1 / (1 + exp(-(base_eta(k) + (seg ? 0.5 : -0.5))))) / (double)K;
    assert_true(err < 0.04);
  }
  free(p);
  prop_contact_free(c);
}

/* Customers that differ a lot: a customer's cells follow its own history, and are closer to the
 * truth than its segment's. */
static void test_shrinkage_strong(void **state) {
  (void)state;
  sim s = {1500, 40, 1.5, 0.8, 0.3, 0, {0}, 13};
  double *truth = malloc(s.ncust * 42 * sizeof *truth);
  prop_contact *c = fit_sim(&s, 0, truth);
  size_t K = prop_contact_n_cells(c);
  double *p = malloc(K * sizeof *p), e_cust = 0, e_glob = 0;
  for (size_t i = 0; i < s.ncust; i++) {
    pp_contact_cells(c, (long)i, -1, p);
    for (size_t k = 0; k < K; k++) {
      e_cust += fabs(p[k] - truth[i * K + k]);
      e_glob += fabs(c->p_global[k] - truth[i * K + k]);
    }
  }
  assert_true(e_cust < 0.6 * e_glob);
  free(p);
  free(truth);
  prop_contact_free(c);
}

/* One customer with a lucky 2 of 2 on a cell: shrunk, not believed. */
static void test_shrinkage_small_history(void **state) {
  (void)state;
  sim s = {2000, 15, 0.3, 0.2, 0.2, 0, {0}, 14};
  prop_frame *h = sim_history(&s, NULL, NULL);
  /* add customer "lucky": two connects at weekday 10:00 on the office phone */
  const char *ids[2] = {"lucky", "lucky"}, *tm[2] = {"2026-03-03T10:05:00", "2026-03-10T10:25:00"};
  const char *ch[2] = {"office", "office"}, *oc[2] = {"1", "1"};
  prop_frame *extra;
  assert_int_equal(prop_frame_create(2, &extra), 0);
  assert_int_equal(prop_frame_add_strings(extra, "id", PROP_COL_ID, ids), 0);
  assert_int_equal(prop_frame_add_strings(extra, "time", PROP_COL_ID, tm), 0);
  assert_int_equal(prop_frame_add_strings(extra, "channel", PROP_COL_CATEGORICAL, ch), 0);
  assert_int_equal(prop_frame_add_strings(extra, "outcome", PROP_COL_CATEGORICAL, oc), 0);
  size_t n = prop_frame_n_rows(h), idx[2] = {0, 1};
  prop_contact_options o = sim_options(0);
  o.holdout_fraction = 0;
  prop_contact *c2;
  prop_frame *both; /* the history and the two rows */
  {
    size_t m = n + 2;
    const char **a = malloc(m * sizeof *a), **b = malloc(m * sizeof *b), **cc = malloc(m * sizeof *cc),
               **d = malloc(m * sizeof *d);
    for (size_t q = 0; q < m; q++) {
      const prop_frame *src = q < n ? h : extra;
      size_t row = q < n ? q : idx[q - n];
      a[q] = prop_frame_string_value(src, 0, row);
      b[q] = prop_frame_string_value(src, 1, row);
      cc[q] = prop_frame_string_value(src, 2, row);
      d[q] = prop_frame_string_value(src, 3, row);
    }
    assert_int_equal(prop_frame_create(m, &both), 0);
    assert_int_equal(prop_frame_add_strings(both, "id", PROP_COL_ID, a), 0);
    assert_int_equal(prop_frame_add_strings(both, "time", PROP_COL_ID, b), 0);
    assert_int_equal(prop_frame_add_strings(both, "channel", PROP_COL_CATEGORICAL, cc), 0);
    assert_int_equal(prop_frame_add_strings(both, "outcome", PROP_COL_CATEGORICAL, d), 0);
    free(a), free(b), free(cc), free(d);
  }
  assert_int_equal(prop_contact_fit(both, NULL, &o, &c2), 0);
  long i = pp_contact_find(c2, "lucky");
  assert_true(i >= 0);
  double p[42];
  pp_contact_cells(c2, i, -1, p);
  const char *chn, *day;
  int hour;
  size_t k;
  for (k = 0; k < 42; k++) {
    prop_contact_cell(c2, k, &chn, &day, &hour);
    if (strcmp(chn, "office") == 0 && strcmp(day, "weekday") == 0 && hour == 10) break;
  }
  assert_true(k < 42);
  /* above the everyone's rate of the cell, far below the raw 2/2 */
  assert_true(p[k] > c2->p_global[k] + 0.01);
  assert_true(p[k] < 0.8);
  prop_frame_free(h);
  prop_frame_free(extra);
  prop_frame_free(both);
  prop_contact_free(c2);
}

/* ---- customers and segments ----------------------------------------------------------------------- */
static void test_customers_and_segments(void **state) {
  (void)state;
  sim s = {600, 12, 0.5, 0.3, 0.3, 2, {-1.0, 1.0}, 15};
  prop_frame *cust, *h = sim_history(&s, &cust, NULL);
  /* customers c600 (segment b) and c601 (no history, segment a) only in the customers frame */
  size_t n = prop_frame_n_rows(cust) + 2;
  const char **ids = malloc(n * sizeof *ids), **segs = malloc(n * sizeof *segs);
  for (size_t i = 0; i < n - 2; i++) {
    ids[i] = prop_frame_string_value(cust, 0, i);
    segs[i] = prop_frame_string_value(cust, 1, i);
  }
  ids[n - 2] = "c600", segs[n - 2] = "b";
  ids[n - 1] = "c601", segs[n - 1] = "a";
  prop_frame *cust2;
  assert_int_equal(prop_frame_create(n, &cust2), 0);
  assert_int_equal(prop_frame_add_strings(cust2, "id", PROP_COL_ID, ids), 0);
  assert_int_equal(prop_frame_add_strings(cust2, "segment", PROP_COL_CATEGORICAL, segs), 0);
  prop_contact_options o = sim_options(1);
  prop_contact *c;
  assert_int_equal(prop_contact_fit(h, cust2, &o, &c), 0);
  assert_string_equal(prop_contact_customer_id_column(c), "id");
  const char *const *sc;
  assert_int_equal(prop_contact_segment_columns(c, &sc), 1);
  assert_string_equal(sc[0], "segment");
  size_t K = prop_contact_n_cells(c), sb, sa;
  assert_true(pp_strmap_get(&c->seg_map, "b", &sb) && pp_strmap_get(&c->seg_map, "a", &sa));
  /* segment b connects more than segment a, cell by cell */
  for (size_t k = 0; k < K; k++) assert_true(c->p_seg[sb * K + k] > c->p_seg[sa * K + k]);
  /* predictions for: c600 (known, no history: segment b), c5 (history), x1 with segment a (unknown:
   * the frame's segment), x2 without a segment (global), a missing id (global) */
  const char *pid[5] = {"c600", "c5", "x1", "x2", NULL}, *pseg[5] = {"a", "a", "a", NULL, "b"};
  prop_frame *f;
  assert_int_equal(prop_frame_create(5, &f), 0);
  assert_int_equal(prop_frame_add_strings(f, "id", PROP_COL_ID, pid), 0);
  assert_int_equal(prop_frame_add_strings(f, "segment", PROP_COL_CATEGORICAL, pseg), 0);
  double *p = malloc(5 * K * sizeof *p), *own = malloc(K * sizeof *own);
  assert_int_equal(prop_contact_predict(c, f, NULL, p), 0);
  pp_contact_cells(c, pp_contact_find(c, "c5"), -1, own);
  for (size_t k = 0; k < K; k++) {
    tu_assert_close(p[0 * K + k], c->p_seg[sb * K + k], 1e-12); /* its own segment, not the frame's */
    tu_assert_close(p[1 * K + k], own[k], 1e-12);
    tu_assert_close(p[2 * K + k], c->p_seg[sa * K + k], 1e-12);
    tu_assert_close(p[3 * K + k], c->p_global[k], 1e-12);
    tu_assert_close(p[4 * K + k], c->p_seg[sb * K + k], 1e-12); /* a missing id: the row's segment */
  }
  size_t best[5];
  double bp[5];
  assert_int_equal(prop_contact_best(c, f, "id", best, bp), 0);
  for (size_t i = 0; i < 5; i++) {
    for (size_t k = 0; k < K; k++) assert_true(p[i * K + k] <= bp[i]);
    assert_true(p[i * K + best[i]] == bp[i]);
  }
  /* the same best cells through the writer: the id's text (empty when missing), the cell, p in full */
  const char *path = tu_path("best.csv");
  prop_writer *w = NULL;
  assert_int_equal(prop_writer_open(path, NULL, &w), 0);
  assert_int_equal(prop_contact_write_best(c, f, NULL, w), 0);
  assert_int_equal(prop_writer_commit(w), 0);
  char want[2048], *got = tu_read(path, NULL);
  size_t len = (size_t)snprintf(want, sizeof want, "id,channel,day,hour,p_connect\n");
  for (size_t i = 0; i < 5; i++) {
    const char *ch, *day;
    int hour;
    assert_int_equal(prop_contact_cell(c, best[i], &ch, &day, &hour), 0);
    len += (size_t)snprintf(want + len, sizeof want - len, "%s,%s,%s,%d,%.17g\n", pid[i] ? pid[i] : "", ch, day, hour, bp[i]);
  }
  assert_string_equal(got, want);
  free(got);
  assert_int_equal(prop_writer_open(path, NULL, &w), 0);
  tu_expect_rc(prop_contact_write_best(c, f, "customer", w), PROP_ERR_SCHEMA, "the customer id column 'customer' is missing");
  prop_writer_abort(w);
  /* a frame without the id column; a customers frame with a repeated id */
  assert_int_equal(prop_contact_predict(c, f, "customer", p), PROP_ERR_SCHEMA);
  ids[3] = ids[1];
  prop_frame *dup;
  assert_int_equal(prop_frame_create(n, &dup), 0);
  assert_int_equal(prop_frame_add_strings(dup, "id", PROP_COL_ID, ids), 0);
  assert_int_equal(prop_frame_add_strings(dup, "segment", PROP_COL_CATEGORICAL, segs), 0);
  prop_contact *c2 = NULL;
  tu_expect_rc(prop_contact_fit(h, dup, &o, &c2), PROP_ERR_VALUE, "<frame>:4:id: customer 'c1' is listed twice");
  assert_null(c2);
  free(ids), free(segs), free(p), free(own);
  prop_frame_free(f), prop_frame_free(dup), prop_frame_free(h), prop_frame_free(cust), prop_frame_free(cust2);
  prop_contact_free(c);
}

/* ---- bad rows, an empty history ---------------------------------------------------------------------- */
static prop_frame *read_history(const char *path) {
  static const char *const names[4] = {"id", "time", "channel", "outcome"};
  static const prop_coltype types[4] = {PROP_COL_ID, PROP_COL_ID, PROP_COL_CATEGORICAL, PROP_COL_CATEGORICAL};
  return tu_read_declared(path, names, types, 4);
}

/* A history whose third data row is `row`: the fit fails with code, naming needle. */
static void expect_bad_row(const char *row, const char *positive, const char *const *channels, int code,
                           const char *needle) {
  char text[1024];
  snprintf(text, sizeof text,
           "id,time,channel,outcome\n"
           "a,2026-03-02T10:00:00,mobile,yes\n"
           "b,2026-03-02T12:30:00+01:00,home,no\n"
           "%s\n"
           "c,2026-03-07T20:59:59,mobile,yes\n",
           row);
  const char *path = tu_path("hist.csv");
  tu_write(path, text);
  prop_frame *f = read_history(path);
  prop_contact_options o = sim_options(0);
  o.positive = positive;
  o.channels = channels;
  o.n_channels = channels ? 2 : 0;
  prop_contact *c = NULL;
  int rc = prop_contact_fit(f, NULL, &o, &c);
  char full[512];
  snprintf(full, sizeof full, "%s:%s", path, needle);
  tu_expect_rc(rc, code, full);
  assert_null(c);
  prop_frame_free(f);
  remove(path);
}

static void test_bad_history_rows(void **state) {
  (void)state;
  const char *const two[2] = {"mobile", "home"};
  expect_bad_row("c,2026-02-30T10:00:00,mobile,no", "yes", NULL, PROP_ERR_VALUE,
                 "3:time: '2026-02-30T10:00:00' is not a time: no such date");
  expect_bad_row("c,yesterday,mobile,no", "yes", NULL, PROP_ERR_VALUE, "3:time: 'yesterday' is not a time");
  expect_bad_row("c,2026-03-02T07:45:00,mobile,no", "yes", NULL, PROP_ERR_VALUE,
                 "3:time: 07:45 (from '2026-03-02T07:45:00') is outside the grid's hours 08:00 to 22:00");
  expect_bad_row("c,2026-03-02T22:00:00,mobile,no", "yes", NULL, PROP_ERR_VALUE, "3:time: 22:00");
  expect_bad_row("c,2026-03-02T10:00:00,mobile,maybe", "yes", NULL, PROP_ERR_CATEGORY,
                 "3:outcome: unknown outcome label 'maybe' (connected is 'yes', not connected 'no')");
  expect_bad_row("c,2026-03-02T10:00:00,mobile,yes", NULL, NULL, PROP_ERR_CATEGORY,
                 "1:outcome: outcome label 'yes' is not 0 or 1");
  expect_bad_row("c,2026-03-02T10:00:00,mobile,", "yes", NULL, PROP_ERR_VALUE, "3:outcome: the outcome is missing");
  expect_bad_row(",2026-03-02T10:00:00,mobile,no", "yes", NULL, PROP_ERR_VALUE, "3:id: the customer id is missing");
  expect_bad_row("c,2026-03-02T10:00:00,,no", "yes", NULL, PROP_ERR_VALUE, "3:channel: the channel is missing");
  expect_bad_row("c,2026-03-02T10:00:00,fax,no", "yes", two, PROP_ERR_VALUE,
                 "3:channel: channel 'fax' is not one of the grid's channels");
}

static void test_empty_history(void **state) {
  (void)state;
  const char *path = tu_path("empty.csv");
  tu_write(path, "id,time,channel,outcome\n");
  prop_frame *f = read_history(path);
  prop_contact_options o = sim_options(0);
  prop_contact *c = NULL;
  char needle[512];
  snprintf(needle, sizeof needle, "%s: the history has no attempts", path);
  tu_expect_rc(prop_contact_fit(f, NULL, &o, &c), PROP_ERR_TRAIN, needle);
  assert_null(c);
  /* a history without one of the columns */
  o.outcome = "connected";
  tu_expect_rc(prop_contact_fit(f, NULL, &o, &c), PROP_ERR_TRAIN, NULL); /* empty first */
  prop_frame_free(f);
  tu_write(path, "id,time,channel,outcome\na,2026-03-02T10:00:00,mobile,1\n");
  f = read_history(path);
  tu_expect_rc(prop_contact_fit(f, NULL, &o, &c), PROP_ERR_SCHEMA, "the outcome column 'connected' is missing");
  /* options that cannot be */
  o = sim_options(0);
  o.n_blocks = 9;
  tu_expect_rc(prop_contact_fit(f, NULL, &o, &c), PROP_ERR_ARG, "must end by 24:00");
  o = sim_options(0);
  o.struct_size = 4; /* below sizeof(size_t): not initialised by its default */
  tu_expect_rc(prop_contact_fit(f, NULL, &o, &c), PROP_ERR_ARG, "struct_size");
  /* one attempt is enough to fit (no held-out check) */
  o = sim_options(0);
  assert_int_equal(prop_contact_fit(f, NULL, &o, &c), 0);
  json_t *r = tu_json(prop_contact_report_json(c));
  assert_true(json_is_null(json_object_get(r, "holdout")));
  assert_string_equal(json_string_value(json_object_get(r, "holdout_skipped")), "fewer than 20 attempts");
  json_decref(r);
  prop_contact_free(c);
  prop_frame_free(f);
  remove(path);
}

/* ---- the held-out check -------------------------------------------------------------------------- */
static void test_holdout_report(void **state) {
  (void)state;
  sim s = {3000, 16, 0.9, 0.5, 0.3, 3, {-0.8, 0.0, 0.8}, 16};
  prop_contact *c = fit_sim(&s, 1, NULL);
  json_t *r = tu_json(prop_contact_report_json(c)), *h = json_object_get(r, "holdout");
  assert_true(json_is_object(h));
  json_t *lv = json_object_get(h, "levels");
  assert_int_equal(json_array_size(lv), 4);
  static const char *const names[4] = {"global", "segment", "customer", "customer_recalibrated"};
  double ll[4], ece[4];
  for (size_t l = 0; l < 4; l++) {
    json_t *o = json_array_get(lv, l);
    assert_string_equal(json_string_value(json_object_get(o, "level")), names[l]);
    ll[l] = json_number_value(json_object_get(o, "log_loss"));
    ece[l] = json_number_value(json_object_get(o, "ece"));
  }
  /* each level beats the one above it, and the probabilities are calibrated */
  assert_true(ll[1] < ll[0] && ll[2] < ll[1] - 0.02);
  assert_true(ece[2] < 0.03 && ece[3] < 0.03);
  tu_assert_close(json_integer_value(json_object_get(h, "test_attempts")), 0.2 * 3000 * 16, 1);
  json_decref(r);
  prop_contact_free(c);
}

/* ---- the file ------------------------------------------------------------------------------------ */
static void test_file(void **state) {
  (void)state;
  sim s = {300, 10, 0.5, 0.3, 0.3, 2, {-0.3, 0.3}, 17};
  prop_contact *c = fit_sim(&s, 1, NULL), *back = NULL;
  const char *path = tu_path("c.model");
  assert_int_equal(prop_contact_save(c, path), 0);
  assert_int_equal(prop_contact_load(path, &back), 0);
  size_t K = prop_contact_n_cells(c);
  double a[42], b[42];
  for (long i = 0; i < (long)c->ncust; i++) {
    pp_contact_cells(c, i, -1, a);
    pp_contact_cells(back, i, -1, b);
    assert_memory_equal(a, b, K * sizeof *a);
    assert_int_equal(pp_contact_attempts_since(c, (size_t)i, INT64_MIN), pp_contact_attempts_since(back, (size_t)i, INT64_MIN));
  }
  assert_string_equal(prop_contact_report_json(c), prop_contact_report_json(back));
  /* every truncation and every flipped byte of the file is refused, or loads a valid model */
  size_t len;
  char *data = tu_read(path, &len);
  for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
    prop_contact *x = NULL;
    assert_int_not_equal(pp_contact_deserialize(data, cut, "cut", &x), 0);
    assert_null(x);
  }
  size_t refused = 0;
  for (size_t q = 0; q < len; q += 1 + q / 128) {
    data[q] ^= 0x5a;
    prop_contact *x = NULL;
    int rc = pp_contact_deserialize(data, len, "flip", &x);
    refused += rc != 0;
    assert_true(rc == 0 ? x != NULL : x == NULL);
    prop_contact_free(x);
    data[q] ^= 0x5a;
  }
  assert_true(refused > 0);
  /* a propensity model file is another kind of file */
  pp_section sec = {"SCHM", (const unsigned char *)"x", 1};
  pp_buf b2;
  pp_buf_init(&b2);
  assert_int_equal(pp_bundle_write(&b2, &sec, 1), 0);
  prop_contact *x = NULL;
  tu_expect_rc(pp_contact_deserialize(b2.data, b2.len, "m.model", &x), PROP_ERR_FORMAT, "a propensity model");
  pp_buf_free(&b2);
  free(data);
  remove(path);
  prop_contact_free(c);
  prop_contact_free(back);
}

/* The same bits whatever the thread count. */
static void test_threads(void **state) {
  (void)state;
  sim s = {800, 12, 0.8, 0.4, 0.3, 2, {-0.2, 0.2}, 18};
  prop_frame *cust, *h = sim_history(&s, &cust, NULL);
  prop_contact_options o = sim_options(1);
  prop_contact *c1, *c2;
  o.nthread = 1;
  assert_int_equal(prop_contact_fit(h, cust, &o, &c1), 0);
  o.nthread = 3;
  assert_int_equal(prop_contact_fit(h, cust, &o, &c2), 0);
  assert_int_equal(c1->nhist, c2->nhist);
  assert_memory_equal(c1->p_cust, c2->p_cust, c1->nhist * prop_contact_n_cells(c1) * sizeof *c1->p_cust);
  assert_string_equal(prop_contact_report_json(c1), prop_contact_report_json(c2));
  prop_frame_free(h);
  prop_frame_free(cust);
  prop_contact_free(c1);
  prop_contact_free(c2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_iso8601),
      cmocka_unit_test(test_shrinkage_recovers_variances),
      cmocka_unit_test(test_shrinkage_none),
      cmocka_unit_test(test_shrinkage_strong),
      cmocka_unit_test(test_shrinkage_small_history),
      cmocka_unit_test(test_customers_and_segments),
      cmocka_unit_test(test_bad_history_rows),
      cmocka_unit_test(test_empty_history),
      cmocka_unit_test(test_holdout_report),
      cmocka_unit_test(test_file),
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
