/* The call plan: the policy and its errors by field path, capacities never exceeded, rows in = rows
 * out with reasons, the exact assignment against brute force (and greedy <= exact), the VICIdial
 * lead layout against the loader's published field order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "contact/contact.h"
#include "plan/plan.h"
#include "testutil.h"

/* A contact model with the default grid and channels home, mobile, office, fitted on a tiny history
 * (its cells do not matter here: the tests give P(connect) themselves); customer "busy" has six
 * attempts, four of them in the last week. */
static prop_contact *small_contact(void) {
  const char *path = tu_path("h.csv");
  tu_write(path, "id,time,channel,outcome\n"
                 "busy,2026-02-02T10:00:00,mobile,0\n"
                 "busy,2026-02-03T10:00:00,home,0\n"
                 "busy,2026-03-02T10:00:00,office,1\n"
                 "busy,2026-03-03T12:00:00,mobile,0\n"
                 "busy,2026-03-04T14:00:00,mobile,1\n"
                 "busy,2026-03-05T16:00:00,home,0\n"
                 "calm,2026-03-05T18:00:00,home,1\n");
  static const char *const names[4] = {"id", "time", "channel", "outcome"};
  static const prop_coltype types[4] = {PROP_COL_ID, PROP_COL_ID, PROP_COL_CATEGORICAL, PROP_COL_CATEGORICAL};
  prop_frame *f = tu_read_declared(path, names, types, 4);
  prop_contact_options o;
  prop_contact_options_default(&o);
  o.id = "id", o.time = "time", o.channel = "channel", o.outcome = "outcome";
  prop_contact *c;
  assert_int_equal(prop_contact_fit(f, NULL, &o, &c), 0);
  prop_frame_free(f);
  remove(path);
  return c;
}

static prop_policy *policy(const prop_contact *c, const char *json) {
  prop_policy *p = NULL;
  int rc = prop_policy_parse(json, "policy.json", c, &p);
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  assert_int_equal(rc, 0);
  return p;
}

/* ---- the policy -------------------------------------------------------------------------------- */
static void expect_policy_error(const prop_contact *c, const char *json, const char *needle) {
  prop_policy *p = NULL;
  tu_expect_rc(prop_policy_parse(json, "policy.json", c, &p), PROP_ERR_RECIPE, needle);
  assert_null(p);
}

static void test_policy(void **state) {
  (void)state;
  prop_contact *c = small_contact();
  prop_policy *p = policy(c, "{\"tiers\": [{\"name\": \"gold\", \"bands\": [6, 7], \"capacity_per_slot\": 5,"
                             " \"channels\": [\"mobile\"], \"acceptance_multiplier\": 1.5},"
                             " {\"name\": \"robot\", \"min_expected_value\": 0.01}],"
                             " \"open_slots\": [\"weekday_10\", \"weekend_20\"], \"max_attempts\": 3,"
                             " \"attempt_window_days\": 7, \"phone_columns\": {\"mobile\": \"cell\"},"
                             " \"vicidial\": {\"list_id\": 2000, \"phone_code\": \"44\"}}");
  assert_int_equal(p->ntiers, 2);
  assert_true(p->tiers[0].bands == (3ull << 5) && p->tiers[0].capacity == 5 && p->tiers[0].mult == 1.5);
  assert_true(p->tiers[0].channels == 2u); /* mobile: channel 1 in byte order */
  assert_true(p->tiers[1].capacity == -1 && p->tiers[1].channels == 7u && p->tiers[1].bands == ~0ull);
  assert_true(p->open[1] && p->open[13] && !p->open[0]);
  assert_string_equal(prop_policy_phone_column(p, 1), "cell");
  assert_null(prop_policy_phone_column(p, 0));
  assert_true(p->list_id == 2000 && strcmp(p->phone_code, "44") == 0 && strcmp(p->source_id, "propensity") == 0);
  prop_policy_free(p);
  expect_policy_error(c, "{\"tiers\": []}", "policy.json: tiers: required");
  expect_policy_error(c, "{\"tierz\": []}", "policy.json: tierz: unknown field");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\", \"capacity_per_slot\": -5}]}",
                      "policy.json: tiers[0].capacity_per_slot: must be an integer in [0, 1000000000], got -5");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\"}, {\"name\": \"b\", \"channels\": [\"fax\"]}]}",
                      "policy.json: tiers[1].channels[0]: must be one of the contact model's channels, got 'fax'");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}", "tiers[1].name: 'a' names two tiers");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\", \"bands\": [0]}]}", "tiers[0].bands[0]: must be a band");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\", \"acceptance_multiplier\": 0}]}",
                      "tiers[0].acceptance_multiplier: must be a number in");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\\tb\"}]}", "tiers[0].name: must not hold a tab");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\"}], \"open_slots\": [\"weekday_09\"]}",
                      "open_slots[0]: must be a slot of the contact model's grid (weekday_08 ... weekend_20), got 'weekday_09'");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\"}], \"attempt_window_days\": 7}",
                      "attempt_window_days: needs max_attempts");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\"}], \"phone_columns\": {\"fax\": \"f\"}}",
                      "phone_columns.fax: is not one of the contact model's channels");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\"}], \"vicidial\": {\"phone_code\": \"+1\"}}",
                      "vicidial.phone_code: must be a string of 1 to 4 digits");
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\"}]", "policy.json:1:");
  prop_contact_free(c);
}

/* A policy file may start with a UTF-8 byte order mark (a Windows editor's), as a recipe may; it is
 * at most 1 MiB, so /dev/zero fails at once; a contact model file is bounded like a model file. */
static void test_policy_file_bom_and_bounds(void **state) {
  (void)state;
  prop_contact *c = small_contact();
  const char *path = tu_path("bom_policy.json");
  tu_write(path, "\xEF\xBB\xBF{\"tiers\": [{\"name\": \"all\"}], \"max_attempts\": 2}");
  prop_policy *p = NULL;
  assert_int_equal(prop_policy_load(path, c, &p), 0);
  assert_int_equal(p->ntiers, 1);
  prop_policy_free(p);
  p = (prop_policy *)1;
  tu_expect_rc(prop_policy_load("/dev/zero", c, &p), PROP_ERR_IO, "/dev/zero: more than 1048576 bytes: a policy is at most");
  assert_null(p);
  expect_policy_error(c, "{\"tiers\": [{\"name\": \"a\"}],\n\xEF\xBB\xBF \"max_attempts\": 2}", "policy.json:2:"); /* only at the start */
  remove(path);
  prop_contact *d = (prop_contact *)1;
  tu_expect_rc(prop_contact_load("/dev/zero", &d), PROP_ERR_FORMAT, "/dev/zero");
  assert_null(d);
  tu_expect_rc(prop_contact_load("/", &d), PROP_ERR_IO, "cannot read a contact model file from a directory");
  prop_contact_free(c);
}

/* ---- random problems ------------------------------------------------------------------------------- */
typedef struct problem {
  size_t n, K;
  char **ids;
  double *prob, *pc, *value;
  int *band;
} problem;

static void problem_make(problem *pr, size_t n, size_t K, uint64_t seed) {
  pr->n = n;
  pr->K = K;
  pr->ids = malloc(n * sizeof *pr->ids);
  pr->prob = malloc(n * sizeof *pr->prob);
  pr->value = malloc(n * sizeof *pr->value);
  pr->band = malloc(n * sizeof *pr->band);
  pr->pc = malloc(n * K * sizeof *pr->pc);
  for (size_t i = 0; i < n; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "r%zu", i);
    pr->ids[i] = strdup(buf);
    pr->prob[i] = tu_uniform(&seed);
    pr->band[i] = 1 + (int)(pr->prob[i] * 7 > 6.999 ? 6 : pr->prob[i] * 7);
    pr->value[i] = 1 + 9 * tu_uniform(&seed);
    for (size_t k = 0; k < K; k++) pr->pc[i * K + k] = tu_uniform(&seed);
  }
}

static void problem_free(problem *pr) {
  for (size_t i = 0; i < pr->n; i++) free(pr->ids[i]);
  free(pr->ids), free(pr->prob), free(pr->value), free(pr->band), free(pr->pc);
}

static prop_plan *make_plan(const problem *pr, const prop_policy *pol, const prop_contact *c, size_t exact_rows,
                            const char *const *errors, const char *const *phones) {
  prop_plan_input in;
  prop_plan_input_default(&in);
  in.n = pr->n;
  in.ids = (const char *const *)pr->ids;
  in.probability = pr->prob;
  in.band = pr->band;
  in.value = pr->value;
  in.p_connect = pr->pc;
  in.row_error = errors;
  in.phones = phones;
  prop_plan_options o;
  prop_plan_options_default(&o);
  o.exact_max_rows = exact_rows;
  prop_plan *p = NULL;
  int rc = prop_plan_create(pol, c, &in, &o, &p);
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  assert_int_equal(rc, 0);
  return p;
}

static double summary_num(const prop_plan *p, const char *key) {
  json_t *s = tu_json(prop_plan_summary_json(p));
  double v = json_is_number(json_object_get(s, key)) ? json_number_value(json_object_get(s, key)) : NAN;
  json_decref(s);
  return v;
}

/* Calls per tier and slot never above the tier's capacity; every called row's option is allowed. */
static void check_capacities(const prop_plan *p, const prop_policy *pol, const problem *pr, size_t nslot) {
  size_t *load = calloc(pol->ntiers * nslot, sizeof *load);
  prop_plan_row r = {.struct_size = sizeof r};
  double total = 0;
  for (size_t i = 0; i < pr->n; i++) {
    assert_int_equal(prop_plan_row_get(p, i, &r), 0);
    if (r.tier_index < 0) continue;
    const pp_tier *t = &pol->tiers[r.tier_index];
    assert_true(pol->open[r.slot]);
    assert_true(t->bands >> (pr->band[i] - 1) & 1u);
    assert_true(t->channels >> ((size_t)r.cell % 3) & 1u);
    tu_assert_close(r.expected_value, pr->pc[i * pr->K + (size_t)r.cell] * pr->prob[i] * pr->value[i] * t->mult, 1e-12);
    assert_true(r.expected_value >= t->min_ev);
    load[(size_t)r.tier_index * nslot + r.slot]++;
    total += r.expected_value;
  }
  for (size_t t = 0; t < pol->ntiers; t++)
    for (size_t s = 0; s < nslot && pol->tiers[t].capacity >= 0; s++)
      assert_true(load[t * nslot + s] <= (size_t)pol->tiers[t].capacity);
  tu_assert_close(total, summary_num(p, "expected_value"), 1e-6 * (1 + total));
  free(load);
}

static const char k_policy[] =
    "{\"tiers\": [{\"name\": \"gold_agent\", \"bands\": [5, 6, 7], \"capacity_per_slot\": 7, \"acceptance_multiplier\": 1.3},"
    " {\"name\": \"agent\", \"bands\": [3, 4, 5, 6, 7], \"capacity_per_slot\": 20, \"channels\": [\"mobile\", \"office\"]},"
    " {\"name\": \"robot\", \"channels\": [\"mobile\", \"home\"], \"acceptance_multiplier\": 0.4,"
    "  \"min_expected_value\": 0.05}]}";

static void test_capacities(void **state) {
  (void)state;
  prop_contact *c = small_contact();
  prop_policy *pol = policy(c, k_policy);
  problem pr;
  problem_make(&pr, 3000, 42, 21);
  for (int exact = 0; exact < 2; exact++) {
    prop_plan *p = make_plan(&pr, pol, c, exact ? 100000 : 0, NULL, NULL);
    assert_int_equal(prop_plan_n_rows(p), pr.n); /* rows in = rows out */
    check_capacities(p, pol, &pr, 14);
    json_t *s = tu_json(prop_plan_summary_json(p));
    assert_string_equal(json_string_value(json_object_get(s, "method")), exact ? "exact" : "greedy");
    if (exact) assert_true(json_number_value(json_object_get(s, "greedy_value")) <=
                           json_number_value(json_object_get(s, "exact_value")) + 1e-9);
    else assert_string_equal(json_string_value(json_object_get(s, "exact_note")), "more competing rows than exact_max_rows");
    json_decref(s);
    prop_plan_free(p);
  }
  problem_free(&pr);
  prop_policy_free(pol);
  prop_contact_free(c);
}

/* ---- exact against brute force ------------------------------------------------------------------ */
/* The best total by enumeration: each row takes one (capacitated tier, open slot) at its best
 * channel, or its best call in an unlimited tier, or none. */
static double brute(const problem *pr, const prop_policy *pol, const size_t *open, size_t nopen) {
  size_t n = pr->n, R = 0, res_tier[64], res_slot[64];
  for (size_t t = 0; t < pol->ntiers; t++)
    for (size_t q = 0; pol->tiers[t].capacity >= 0 && q < nopen; q++) res_tier[R] = t, res_slot[R++] = open[q];
  double ev[8][66];
  for (size_t i = 0; i < n; i++) {
    for (size_t o = 0; o < R + 2; o++) ev[i][o] = -1; /* -1: not allowed; option R: unlimited, R + 1: none */
    ev[i][R + 1] = 0;
    for (size_t t = 0; t < pol->ntiers; t++) {
      const pp_tier *tr = &pol->tiers[t];
      if (!(tr->bands >> (pr->band[i] - 1) & 1u)) continue;
      for (size_t q = 0; q < nopen; q++)
        for (size_t h = 0; h < 3; h++) {
          double e = pr->pc[i * pr->K + open[q] * 3 + h] * pr->prob[i] * pr->value[i] * tr->mult;
          if (!(tr->channels >> h & 1u) || e < tr->min_ev) continue;
          size_t o = R;
          for (size_t r = 0; r < R; r++)
            if (res_tier[r] == t && res_slot[r] == open[q]) o = r;
          if (e > ev[i][o]) ev[i][o] = e;
        }
    }
  }
  size_t choice[8] = {0}, combos = 1;
  for (size_t i = 0; i < n; i++) combos *= R + 2;
  double best = 0;
  for (size_t c = 0; c < combos; c++) {
    size_t x = c, load[64] = {0};
    double tot = 0;
    int okay = 1;
    for (size_t i = 0; i < n && okay; i++) {
      choice[i] = x % (R + 2);
      x /= R + 2;
      if (ev[i][choice[i]] < 0) okay = 0;
      else if (choice[i] < R && ++load[choice[i]] > (size_t)pol->tiers[res_tier[choice[i]]].capacity) okay = 0;
      else tot += ev[i][choice[i]];
    }
    if (okay && tot > best) best = tot;
  }
  return best;
}

static void test_exact_against_brute_force(void **state) {
  (void)state;
  prop_contact *c = small_contact();
  uint64_t seed = 31;
  size_t exact_wins = 0;
  for (int trial = 0; trial < 150; trial++) {
    size_t n = 2 + tu_rand(&seed) % 5;
    int c1 = (int)(tu_rand(&seed) % 3), c2 = (int)(tu_rand(&seed) % 3);
    char json[512];
    snprintf(json, sizeof json,
             "{\"tiers\": [{\"name\": \"gold\", \"bands\": [4, 5, 6, 7], \"capacity_per_slot\": %d, \"acceptance_multiplier\": 1.5},"
             " {\"name\": \"agent\", \"capacity_per_slot\": %d, \"channels\": [\"mobile\", \"office\"]},"
             " {\"name\": \"robot\", \"channels\": [\"home\"], \"acceptance_multiplier\": 0.3, \"min_expected_value\": 0.3}],"
             " \"open_slots\": [\"weekday_10\", \"weekend_18\"]}",
             c1, c2);
    prop_policy *pol = policy(c, json);
    problem pr;
    problem_make(&pr, n, 42, tu_rand(&seed));
    prop_plan *p = make_plan(&pr, pol, c, 1000, NULL, NULL);
    size_t open[2] = {1, 12};
    double want = brute(&pr, pol, open, 2), got = summary_num(p, "exact_value"), greedy = summary_num(p, "greedy_value");
    tu_assert_close(got, want, 1e-9 * (1 + want));
    tu_assert_close(summary_num(p, "expected_value"), want, 1e-9 * (1 + want));
    assert_true(greedy <= got + 1e-12);
    exact_wins += greedy < got - 1e-9;
    check_capacities(p, pol, &pr, 14);
    prop_plan_free(p);
    problem_free(&pr);
    prop_policy_free(pol);
  }
  assert_true(exact_wins > 0); /* the problems are hard enough for greedy to miss sometimes */
  prop_contact_free(c);
}

/* pp_plan_exact alone: three rows, one seat; the greedy choice (row 0's 10) is not the best pair. */
static void test_exact_small(void **state) {
  (void)state;
  /* two resources of one seat each: row 0 gains 10 or 9, row 1 gains 8 or nothing */
  const double gain[4] = {10, 9, 8, -INFINITY};
  const long cap[2] = {1, 1};
  long assign[2];
  assert_int_equal(pp_plan_exact(gain, 2, 2, cap, assign), 0);
  assert_int_equal(assign[0], 1);
  assert_int_equal(assign[1], 0);
}

/* ---- rows, reasons, layouts ------------------------------------------------------------------------ */
static void test_reasons_and_csv(void **state) {
  (void)state;
  prop_contact *c = small_contact();
  prop_policy *pol = policy(c, "{\"tiers\": [{\"name\": \"gold_agent\", \"bands\": [7], \"capacity_per_slot\": 1,"
                               " \"channels\": [\"mobile\"]},"
                               " {\"name\": \"agent\", \"bands\": [6, 7], \"capacity_per_slot\": 0},"
                               " {\"name\": \"robot\", \"bands\": [2, 3], \"channels\": [\"home\"], \"min_expected_value\": 0.2}],"
                               " \"open_slots\": [\"weekday_10\"], \"max_attempts\": 4, \"attempt_window_days\": 7}");
  problem pr;
  problem_make(&pr, 9, 42, 41);
  for (size_t i = 0; i < 9; i++) pr.value[i] = 1;
  /* 0, 1: band 7 (one seat between them); 2: not scored; 3: no id; 4: over the attempt cap;
   * 5: band 1; 6: band 2 without a home phone; 7: band 3, EV below robot's minimum; 8: band 7 */
  int bands[9] = {7, 7, 0, 7, 7, 1, 2, 3, 7};
  double probs[9] = {0.9, 0.8, NAN, 0.9, 0.9, 0.05, 0.15, 0.25, 0.75};
  for (size_t i = 0; i < 9; i++) pr.band[i] = bands[i], pr.prob[i] = probs[i];
  for (size_t k = 0; k < 42; k++) pr.pc[7 * 42 + k] = 0.1;
  free(pr.ids[3]);
  pr.ids[3] = strdup("");
  free(pr.ids[4]);
  pr.ids[4] = strdup("busy");
  const char *errors[9] = {NULL, NULL, "calllist.csv:4:age: 'abc' is not a number"};
  const char *phones[27] = {0};
  for (size_t i = 0; i < 9; i++)
    for (size_t h = 0; h < 3; h++) phones[i * 3 + h] = i == 6 && h == 0 ? NULL : "0123\t456";
  prop_plan *p = make_plan(&pr, pol, c, 1000, errors, phones);
  assert_int_equal(prop_plan_n_rows(p), 9);
  const char *const *names;
  assert_int_equal(prop_plan_columns(PROP_PLAN_CSV, &names), 11);
  static const char *const want_cols[11] = {"id", "probability", "band", "tier", "channel", "day", "hour",
                                            "p_connect", "expected_value", "slot_rank", "error"};
  for (size_t k = 0; k < 11; k++) assert_string_equal(names[k], want_cols[k]);
  const char *f[32];
  char buf[4096];
  static const char *const why[9] = {
      "", "no gold_agent or agent capacity left in any open slot", "calllist.csv:4:age: 'abc' is not a number",
      "the id is missing", "attempt cap: 4 attempts in the last 7 days (cap 4)", "no tier takes band 1",
      "no phone number on the channels of robot", "expected value below the minimum of robot",
      "no gold_agent or agent capacity left in any open slot"};
  for (size_t i = 0; i < 9; i++) {
    assert_int_equal(prop_plan_row_fields(p, i, PROP_PLAN_CSV, f, buf, sizeof buf), 0);
    assert_string_equal(f[10], why[i]);
    assert_string_equal(f[0], pr.ids[i]);
    assert_string_equal(f[3], i == 0 ? "gold_agent" : "");
  }
  /* the called row: mobile (the tier's one channel), weekday 10:00, first in its slot */
  assert_int_equal(prop_plan_row_fields(p, 0, PROP_PLAN_CSV, f, buf, sizeof buf), 0);
  assert_string_equal(f[4], "mobile");
  assert_string_equal(f[5], "weekday");
  assert_string_equal(f[6], "10");
  assert_string_equal(f[9], "1");
  assert_string_equal(f[1], "0.90000000000000002");
  assert_string_equal(f[2], "7");
  assert_string_equal(f[2 + 0], "7");
  /* unscored: empty probability, band 0 */
  assert_int_equal(prop_plan_row_fields(p, 2, PROP_PLAN_CSV, f, buf, sizeof buf), 0);
  assert_string_equal(f[1], "");
  assert_string_equal(f[2], "0");
  assert_int_equal(prop_plan_row_fields(p, 9, PROP_PLAN_CSV, f, buf, sizeof buf), PROP_ERR_RANGE);
  assert_int_equal(prop_plan_row_fields(p, 0, PROP_PLAN_CSV, f, buf, 16), PROP_ERR_ARG);
  json_t *s = tu_json(prop_plan_summary_json(p)), *nc = json_object_get(s, "not_called");
  assert_int_equal(json_integer_value(json_object_get(s, "called")), 1);
  assert_int_equal(json_integer_value(json_object_get(nc, "no_capacity")), 2);
  assert_int_equal(json_integer_value(json_object_get(nc, "attempt_cap")), 1);
  json_decref(s);
  prop_plan_free(p);
  /* a band beyond the model's, a probability outside [0, 1]: named */
  prop_plan_input in;
  prop_plan_input_default(&in);
  in.n = 9, in.ids = (const char *const *)pr.ids, in.probability = pr.prob, in.band = pr.band, in.p_connect = pr.pc;
  in.nbands = 5;
  tu_expect_rc(prop_plan_create(pol, c, &in, NULL, &p), PROP_ERR_RECIPE, "tiers[0].bands: band 7 is beyond the model's 5 bands");
  in.nbands = 7;
  pr.prob[1] = 1.5;
  tu_expect_rc(prop_plan_create(pol, c, &in, NULL, &p), PROP_ERR_VALUE, "row 2: probability 1.5 is outside [0, 1]");
  in.struct_size = 4;
  tu_expect_rc(prop_plan_create(pol, c, &in, NULL, &p), PROP_ERR_ARG, "struct_size");
  problem_free(&pr);
  prop_policy_free(pol);
  prop_contact_free(c);
}

/* The loader's published field order (VICIdial's bin/VICIDIAL_IN_new_leads_file.pl --help, format
 * stdrankowner: the standard lead layout plus rank and owner, then the multi-alt-entries). */
static const char *const k_loader_fields[29] = {
    "vendor_lead_code", "source_id", "list_id", "phone_code", "phone_number", "title", "first_name", "middle",
    "last_name", "address1", "address2", "address3", "city", "state", "province", "postal_code", "country", "gender",
    "date_of_birth", "alt_phone", "email", "security_phrase", "comments", "called_count", "status", "entry_date",
    "rank", "owner", "multi_alt_entries"};

static void test_vicidial_layout(void **state) {
  (void)state;
  prop_contact *c = small_contact();
  prop_policy *pol = policy(c, "{\"tiers\": [{\"name\": \"agent\", \"capacity_per_slot\": 2}, {\"name\": \"robot\","
                               " \"bands\": [1]}], \"open_slots\": [\"weekday_10\", \"weekend_14\"],"
                               " \"phone_columns\": {\"mobile\": \"m\", \"home\": \"h\", \"office\": \"o\"},"
                               " \"vicidial\": {\"list_id\": 5000, \"phone_code\": \"44\", \"source_id\": \"demo\"}}");
  problem pr;
  problem_make(&pr, 7, 42, 51);
  pr.band[6] = 2; /* not called: agent seats run out, robot takes band 1 only */
  for (size_t i = 0; i < 6; i++) pr.band[i] = 5;
  const char *phones[21];
  for (size_t q = 0; q < 21; q++) phones[q] = "+44 7700|900\t123";
  prop_plan *p = make_plan(&pr, pol, c, 1000, NULL, phones);
  const char *const *names;
  assert_int_equal(prop_plan_columns(PROP_PLAN_VICIDIAL, &names), 29);
  for (size_t k = 0; k < 29; k++) assert_string_equal(names[k], k_loader_fields[k]);
  assert_int_equal(prop_plan_columns(99, &names), 0);
  const char *f[29];
  char buf[4096];
  prop_plan_row r = {.struct_size = sizeof r};
  size_t called = 0, rank_seen[14][8] = {{0}};
  for (size_t i = 0; i < 7; i++) {
    assert_int_equal(prop_plan_row_get(p, i, &r), 0);
    if (r.tier_index < 0) {
      assert_int_equal(prop_plan_row_fields(p, i, PROP_PLAN_VICIDIAL, f, buf, sizeof buf), PROP_ERR_STATE);
      continue;
    }
    called++;
    /* a caller built against an older header (a row struct without phone) gets the fields it knows */
    prop_plan_row old;
    memset(&old, 0xAB, sizeof old);
    old.struct_size = offsetof(prop_plan_row, phone);
    assert_int_equal(prop_plan_row_get(p, i, &old), 0);
    assert_int_equal(old.struct_size, offsetof(prop_plan_row, phone));
    assert_int_equal(old.slot_rank, r.slot_rank);
    assert_int_equal(old.dialer_rank, r.dialer_rank);
    const unsigned char *tail = (const unsigned char *)&old + offsetof(prop_plan_row, phone);
    for (size_t b = 0; b < sizeof old.phone; b++) assert_int_equal(tail[b], 0xAB);
    assert_int_equal(prop_plan_row_fields(p, i, PROP_PLAN_VICIDIAL, f, buf, sizeof buf), 0);
    for (size_t k = 0; k < 29; k++) assert_null(strpbrk(f[k], "\t|\r\n"));
    assert_string_equal(f[0], pr.ids[i]);               /* vendor_lead_code: our id */
    assert_string_equal(f[1], "demo");                   /* source_id */
    char want[32];
    snprintf(want, sizeof want, "%zu", 5000 + r.slot);   /* list_id: one list per slot */
    assert_string_equal(f[2], want);
    assert_string_equal(f[3], "44");                     /* phone_code */
    assert_string_equal(f[4], "+44 7700 900 123");       /* phone_number, tabs and '|' removed */
    assert_non_null(strstr(f[22], "tier=agent"));        /* comments */
    snprintf(want, sizeof want, "%d", 32768 - (int)r.slot_rank);
    assert_string_equal(f[26], want);                    /* rank: higher is called first */
    assert_int_equal(r.dialer_rank, 32768 - (int)r.slot_rank);
    assert_string_equal(f[27], "agent");                 /* owner: the tier */
    for (size_t k = 5; k < 22; k++) assert_string_equal(f[k], "");
    assert_string_equal(f[23], "");
    assert_string_equal(f[24], "");
    rank_seen[r.slot][r.slot_rank]++;
  }
  assert_int_equal(called, 4); /* two seats in each of two slots */
  for (size_t s = 0; s < 14; s++)
    for (size_t k = 1; k < 8; k++) assert_true(rank_seen[s][k] <= 1); /* ranks are distinct within a slot */
  prop_plan_free(p);
  problem_free(&pr);
  prop_policy_free(pol);
  prop_contact_free(c);
}

/* Greedy takes the best expected value first, ties by row; the plan does not depend on threads. */
static void test_greedy_and_threads(void **state) {
  (void)state;
  prop_contact *c = small_contact();
  prop_policy *pol = policy(c, "{\"tiers\": [{\"name\": \"agent\", \"capacity_per_slot\": 1}],"
                               " \"open_slots\": [\"weekday_10\"]}");
  problem pr;
  problem_make(&pr, 3, 42, 61);
  for (size_t i = 0; i < 3; i++) {
    pr.prob[i] = 0.5, pr.band[i] = 4, pr.value[i] = 1;
    for (size_t k = 0; k < 42; k++) pr.pc[i * 42 + k] = 0.5;
  }
  pr.pc[2 * 42 + 3] = 0.6; /* row 2, weekday 10:00 on home: the best */
  prop_plan *p = make_plan(&pr, pol, c, 0, NULL, NULL);
  prop_plan_row r = {.struct_size = sizeof r};
  assert_int_equal(prop_plan_row_get(p, 2, &r), 0);
  assert_int_equal(r.cell, 3);
  assert_int_equal(prop_plan_row_get(p, 0, &r), 0);
  assert_int_equal(r.tier_index, -1);
  prop_plan_free(p);
  pr.pc[2 * 42 + 3] = 0.5; /* a tie: the first row */
  p = make_plan(&pr, pol, c, 0, NULL, NULL);
  assert_int_equal(prop_plan_row_get(p, 0, &r), 0);
  assert_int_equal(r.tier_index, 0);
  assert_int_equal(r.cell, 3); /* and the first channel in the grid's order */
  prop_plan_free(p);
  problem_free(&pr);
  prop_policy_free(pol);
  /* threads */
  pol = policy(c, k_policy);
  problem_make(&pr, 2000, 42, 62);
  prop_plan_input in;
  prop_plan_input_default(&in);
  in.n = pr.n, in.ids = (const char *const *)pr.ids, in.probability = pr.prob, in.band = pr.band, in.p_connect = pr.pc;
  prop_plan_options o;
  prop_plan_options_default(&o);
  prop_plan *a, *b;
  o.nthread = 1;
  assert_int_equal(prop_plan_create(pol, c, &in, &o, &a), 0);
  o.nthread = 2;
  assert_int_equal(prop_plan_create(pol, c, &in, &o, &b), 0);
  assert_string_equal(prop_plan_summary_json(a), prop_plan_summary_json(b));
  for (size_t i = 0; i < pr.n; i++) {
    const char *fa[11], *fb[11];
    char ba[4096], bb[4096];
    assert_int_equal(prop_plan_row_fields(a, i, PROP_PLAN_CSV, fa, ba, sizeof ba), 0);
    assert_int_equal(prop_plan_row_fields(b, i, PROP_PLAN_CSV, fb, bb, sizeof bb), 0);
    for (size_t k = 0; k < 11; k++) assert_string_equal(fa[k], fb[k]);
  }
  prop_plan_free(a);
  prop_plan_free(b);
  problem_free(&pr);
  prop_policy_free(pol);
  prop_contact_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_policy),
      cmocka_unit_test(test_policy_file_bom_and_bounds),
      cmocka_unit_test(test_capacities),
      cmocka_unit_test(test_exact_against_brute_force),
      cmocka_unit_test(test_exact_small),
      cmocka_unit_test(test_reasons_and_csv),
      cmocka_unit_test(test_vicidial_layout),
      cmocka_unit_test(test_greedy_and_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
