/* fuzz/fuzz_plan.c: the call plan's own inputs, the contact history and the call policy.  The input
 * is byte 0 (options), a contact history CSV (customer_id,time,channel,outcome, read as `propensity
 * contact fit` reads it), then, after a NUL byte, a policy's JSON (none: a built-in policy).  Options:
 * bit 0 the outcome is 0/1 (else the label "connected"), bit 1 no held-out check, bits 2-3 the time
 * zone (as written, +01:00, -05:00, UTC), bit 4 the channels given (home, mobile, office).
 * Promises, besides memory safety:
 *  - every call returns a status with a message, or succeeds;
 *  - a fitted contact model has cells, predicts a P(connect) in [0, 1] for every row and cell, and
 *    saves, loads and saves again to the same bytes;
 *  - a policy that parses (against that model, or against a fixed one when the history does not
 *    fit) plans 64 rows or fails with a status: one plan row per input row (rows in = rows out), a
 *    called row in a valid cell with P(connect) in [0, 1], a finite expected value and a slot rank,
 *    a row not called in none; every row has its CSV fields, every called row its VICIdial ones;
 *    the summary is JSON; and the plan is the same on one thread and on two. */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include <propensity.h>

#include "fuzz.h"

#define MAX_HISTORY 4000 /* rows, to keep a run short */
#define PLAN_ROWS 64

static const char k_policy[] =
    "{\"tiers\": [{\"name\": \"agent\", \"bands\": [4, 5, 6, 7], \"capacity_per_slot\": 3},"
    " {\"name\": \"robot\", \"acceptance_multiplier\": 0.4}], \"open_slots\": \"all\","
    " \"max_attempts\": 6, \"attempt_window_days\": 30}";

static const char k_history[] = "customer_id,time,channel,outcome\n"
                                "a,2026-02-02T10:00:00,mobile,0\n"
                                "a,2026-02-03T12:00:00,home,1\n"
                                "b,2026-02-04T14:00:00,office,0\n"
                                "b,2026-02-07T18:00:00,mobile,1\n"
                                "c,2026-02-08T09:30:00,home,0\n";

static int read_history(const uint8_t *data, size_t size, prop_frame **out) {
  *out = NULL;
  const char *path = fuzz_write_temp(data, size);
  if (!path) return PROP_ERR_IO;
  static const char *const names[4] = {"customer_id", "time", "channel", "outcome"};
  static const prop_coltype types[4] = {PROP_COL_ID, PROP_COL_ID, PROP_COL_CATEGORICAL, PROP_COL_CATEGORICAL};
  prop_csv_options co;
  prop_csv_options_default(&co);
  co.declared_names = names;
  co.declared_types = types;
  co.n_declared = 4;
  int rc = prop_frame_read_csv(path, &co, out);
  fuzz_check_status(rc);
  return rc;
}

static void contact_options(uint8_t o, prop_contact_options *co) {
  static const char *const chans[3] = {"home", "mobile", "office"};
  static const int tz[4] = {PROP_CONTACT_TZ_AS_WRITTEN, 60, -300, 0};
  prop_contact_options_default(co);
  co->id = "customer_id", co->time = "time", co->channel = "channel", co->outcome = "outcome";
  co->positive = (o & 1) ? NULL : "connected";
  if (o & 2) co->holdout_fraction = 0;
  co->tz_minutes = tz[(o >> 2) & 3];
  if (o & 16) co->channels = chans, co->n_channels = 3;
  co->nthread = 1;
}

/* The fixed contact model policies are parsed against when the input's history does not fit. */
static prop_contact *fallback_contact(void) {
  static prop_contact *c;
  if (c) return c;
  prop_frame *f = NULL;
  FUZZ_CHECK(read_history((const uint8_t *)k_history, sizeof k_history - 1, &f) == PROP_OK);
  prop_contact_options co;
  contact_options(16, &co); /* "connected" is no label here: 0/1 outcomes */
  co.positive = NULL;
  int rc = prop_contact_fit(f, NULL, &co, &c);
  if (rc) fprintf(stderr, "fallback contact model: %s\n", prop_last_error());
  FUZZ_CHECK(rc == PROP_OK);
  prop_frame_free(f);
  return c; /* kept for the process */
}

/* The fitted model: cells, P(connect) of every row, and a file that loads to the same bytes. */
static void check_contact(const prop_contact *c, const prop_frame *hist) {
  const size_t K = prop_contact_n_cells(c), n = prop_frame_n_rows(hist);
  FUZZ_CHECK(K > 0);
  double *p = malloc((n ? n : 1) * K * sizeof *p);
  FUZZ_CHECK(p);
  int rc = prop_contact_predict(c, hist, "customer_id", p);
  fuzz_check_status(rc);
  for (size_t q = 0; rc == PROP_OK && q < n * K; q++) FUZZ_CHECK(p[q] >= 0 && p[q] <= 1);
  free(p);
  unsigned char *b1 = NULL, *b2 = NULL;
  size_t n1 = 0, n2 = 0;
  FUZZ_CHECK(prop_contact_save_to_buffer(c, &b1, &n1) == PROP_OK);
  const char *path = fuzz_write_temp(b1, n1);
  prop_contact *c2 = NULL;
  if (path) {
    rc = prop_contact_load(path, &c2);
    if (rc) fprintf(stderr, "reload: %s\n", prop_last_error());
    FUZZ_CHECK(rc == PROP_OK);
    FUZZ_CHECK(prop_contact_save_to_buffer(c2, &b2, &n2) == PROP_OK);
    FUZZ_CHECK(n1 == n2 && memcmp(b1, b2, n1) == 0);
  }
  prop_contact_free(c2);
  prop_free(b1);
  prop_free(b2);
}

/* One row of the plan in the CSV layout, into buf. */
static void row_text(const prop_plan *pl, size_t i, char *buf, size_t cap) {
  const char *const *cols;
  const size_t nc = prop_plan_columns(PROP_PLAN_CSV, &cols);
  const char *fields[32];
  char fb[4096];
  FUZZ_CHECK(nc <= 32 && prop_plan_row_fields(pl, i, PROP_PLAN_CSV, fields, fb, sizeof fb) == PROP_OK);
  size_t len = 0;
  buf[0] = '\0';
  for (size_t k = 0; k < nc && len < cap; k++) len += (size_t)snprintf(buf + len, cap - len, "%s,", fields[k]);
}

static void check_plan(const prop_plan *pl, const prop_plan *pl2, const prop_contact *c, size_t n) {
  FUZZ_CHECK(prop_plan_n_rows(pl) == n && prop_plan_n_rows(pl2) == n);
  const size_t K = prop_contact_n_cells(c);
  for (size_t i = 0; i < n; i++) {
    prop_plan_row r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    FUZZ_CHECK(prop_plan_row_get(pl, i, &r) == PROP_OK);
    if (r.tier_index >= 0) {
      FUZZ_CHECK(r.cell >= 0 && (size_t)r.cell < K && r.p_connect >= 0 && r.p_connect <= 1);
      FUZZ_CHECK(isfinite(r.expected_value) && r.expected_value >= 0 && r.slot_rank >= 1 && r.tier[0]);
      const char *fields[64];
      char fb[4096];
      FUZZ_CHECK(prop_plan_row_fields(pl, i, PROP_PLAN_VICIDIAL, fields, fb, sizeof fb) == PROP_OK);
    } else {
      FUZZ_CHECK(r.tier_index == -1 && r.cell == -1 && r.slot_rank == 0 && r.dialer_rank == 0);
    }
    char a[8192], b[8192];
    row_text(pl, i, a, sizeof a);
    row_text(pl2, i, b, sizeof b);
    FUZZ_CHECK(strcmp(a, b) == 0); /* the same plan on one thread and on two */
  }
  json_t *s = json_loads(prop_plan_summary_json(pl), 0, NULL);
  FUZZ_CHECK(s != NULL && json_is_object(s));
  json_decref(s);
  FUZZ_CHECK(strcmp(prop_plan_summary_json(pl), prop_plan_summary_json(pl2)) == 0);
}

/* PLAN_ROWS rows (ids from the history when it has them, one missing, one unscored) planned under
 * the policy text. */
static void plan_rows(const char *policy, const prop_contact *c, const prop_frame *hist) {
  prop_policy *pol = NULL;
  int rc = prop_policy_parse(policy, "fuzz policy", c, &pol);
  fuzz_check_status(rc);
  FUZZ_CHECK((rc == PROP_OK) == (pol != NULL));
  if (!pol) return;
  const size_t K = prop_contact_n_cells(c), nh = hist ? prop_frame_n_rows(hist) : 0;
  const long idc = hist ? prop_frame_find(hist, "customer_id") : -1;
  const char *ids[PLAN_ROWS];
  double prob[PLAN_ROWS], *pc = malloc(PLAN_ROWS * K * sizeof *pc);
  int band[PLAN_ROWS];
  FUZZ_CHECK(pc);
  for (size_t i = 0; i < PLAN_ROWS; i++) {
    ids[i] = idc >= 0 && nh ? prop_frame_string_value(hist, (size_t)idc, i % nh) : (i % 3 ? "x" : "y");
    prob[i] = (double)((i * 37) % 100) / 100.0;
    band[i] = 1 + (int)((i * 5) % 7);
    for (size_t k = 0; k < K; k++) pc[i * K + k] = (double)((i * 13 + k * 7) % 50) / 50.0;
  }
  ids[PLAN_ROWS - 1] = NULL; /* a missing id */
  prob[PLAN_ROWS - 2] = NAN, band[PLAN_ROWS - 2] = 0; /* an unscored row */
  prop_plan_input in;
  prop_plan_input_default(&in);
  in.n = PLAN_ROWS;
  in.ids = ids;
  in.probability = prob;
  in.band = band;
  in.nbands = 7;
  in.p_connect = pc;
  prop_plan_options po;
  prop_plan_options_default(&po);
  po.nthread = 1;
  prop_plan *pl = NULL, *pl2 = NULL;
  rc = prop_plan_create(pol, c, &in, &po, &pl);
  fuzz_check_status(rc);
  if (rc == PROP_OK) {
    po.nthread = 2;
    FUZZ_CHECK(prop_plan_create(pol, c, &in, &po, &pl2) == PROP_OK);
    check_plan(pl, pl2, c, PLAN_ROWS);
  }
  prop_plan_free(pl);
  prop_plan_free(pl2);
  prop_policy_free(pol);
  free(pc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t o = data[0];
  const uint8_t *h = data + 1;
  const uint8_t *nul = memchr(h, '\0', size - 1);
  const size_t hlen = nul ? (size_t)(nul - h) : size - 1;
  char *policy = NULL;
  if (nul) {
    const size_t plen = size - 1 - hlen - 1;
    policy = malloc(plen + 1);
    if (!policy) return 0;
    memcpy(policy, nul + 1, plen);
    policy[plen] = '\0';
  }
  prop_frame *hist = NULL;
  prop_contact *c = NULL;
  if (read_history(h, hlen, &hist) == PROP_OK && prop_frame_n_rows(hist) <= MAX_HISTORY) {
    prop_contact_options co;
    contact_options(o, &co);
    int rc = prop_contact_fit(hist, NULL, &co, &c);
    fuzz_check_status(rc);
    FUZZ_CHECK((rc == PROP_OK) == (c != NULL));
    if (c) check_contact(c, hist);
  }
  plan_rows(policy ? policy : k_policy, c ? c : fallback_contact(), c ? hist : NULL);
  prop_contact_free(c);
  prop_frame_free(hist);
  free(policy);
  return 0;
}
