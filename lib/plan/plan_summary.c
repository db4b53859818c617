/* The plan's summary (prop_plan_summary_json; fields in models/README.md "The call plan"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/jsonx.h"
#include "plan/plan.h"

/* jansson takes v's reference also when it fails (o NULL: out of memory), so nothing leaks. */
static void jset(int *bad, json_t *o, const char *key, json_t *v) {
  if (!v || json_object_set_new(o, key, v)) *bad = 1;
}

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

typedef struct tier_sum {
  size_t calls;
  double connects, accepts, value;
  size_t *slot_calls; /* per slot */
} tier_sum;

static json_t *tier_json(const prop_plan *p, size_t t, const tier_sum *s, int *bad) {
  json_t *o = json_object(), *slots = json_array();
  jset(bad, o, "name", json_string(p->tier_names[t]));
  jset(bad, o, "calls", json_integer((json_int_t)s->calls));
  jset(bad, o, "expected_connects", json_real(s->connects));
  jset(bad, o, "expected_acceptances", json_real(s->accepts));
  jset(bad, o, "expected_value", json_real(s->value));
  for (size_t slot = 0; slot < 2 * p->nblocks; slot++) {
    if (!s->slot_calls[slot]) continue;
    char name[32];
    snprintf(name, sizeof name, "%s_%02d", pp_grid_day_name(slot >= p->nblocks),
             p->first_hour + (int)(slot % p->nblocks) * p->block_hours);
    json_t *e = json_pack("{s:s,s:I}", "slot", name, "calls", (json_int_t)s->slot_calls[slot]);
    if (!e || json_array_append_new(slots, e)) *bad = 1; /* takes e also when slots is NULL */
  }
  jset(bad, o, "slots", slots);
  return o;
}

static const char *const k_why[] = {"called", "not_scored", "no_id", "attempt_cap", "no_tier_for_band",
                                    "no_phone", "below_minimum_value", "no_capacity"};

int pp_plan_summary(prop_plan *p, const pp_plan_stats *st) {
  size_t ns = 2 * p->nblocks, why_count[8] = {0};
  tier_sum *ts = pp_calloc(p->ntiers, sizeof *ts);
  size_t *slot_store = pp_calloc(p->ntiers * ns + 1, sizeof *slot_store);
  if (!ts || !slot_store) {
    free(ts);
    free(slot_store);
    return PROP_ERR_NOMEM;
  }
  double connects = 0, accepts = 0, value = 0;
  for (size_t t = 0; t < p->ntiers; t++) ts[t].slot_calls = slot_store + t * ns;
  for (size_t i = 0; i < p->n; i++) {
    why_count[p->why[i] < 8 ? p->why[i] : 7]++;
    if (p->tier[i] < 0) continue;
    tier_sum *s = &ts[p->tier[i]];
    double acc = p->pconn[i] * p->prob[i] * p->tier_mult[p->tier[i]];
    s->calls++;
    s->connects += p->pconn[i];
    s->accepts += acc;
    s->value += p->ev[i];
    s->slot_calls[(size_t)p->cell[i] / p->nchan]++;
    connects += p->pconn[i];
    accepts += acc;
    value += p->ev[i];
  }
  int bad = 0;
  const unsigned mark = pp_json_mark(); /* jansson's allocations fail silently: checked when dumped */
  json_t *o = json_object(), *tiers = json_array(), *nc = json_object();
  jset(&bad, o, "rows", json_integer((json_int_t)p->n));
  jset(&bad, o, "called", json_integer((json_int_t)why_count[0]));
  jset(&bad, o, "method", json_string(st->method));
  jset(&bad, o, "greedy_value", json_real(st->greedy));
  jset(&bad, o, "exact_value", jnum(st->exact));
  jset(&bad, o, "gap", jnum(st->exact > 0 ? (st->exact - st->greedy) / st->exact : (st->exact == 0 ? 0.0 : NAN)));
  jset(&bad, o, "competing_rows", json_integer((json_int_t)st->competing));
  jset(&bad, o, "exact_note", st->exact_note ? json_string(st->exact_note) : json_null());
  jset(&bad, o, "expected_connects", json_real(connects));
  jset(&bad, o, "expected_acceptances", json_real(accepts));
  jset(&bad, o, "expected_value", json_real(value));
  for (size_t t = 0; t < p->ntiers; t++) {
    json_t *e = tier_json(p, t, &ts[t], &bad);
    if (!e || json_array_append_new(tiers, e)) bad = 1; /* takes e also when tiers is NULL */
  }
  jset(&bad, o, "tiers", tiers);
  for (int w = 1; w < 8; w++)
    if (why_count[w]) jset(&bad, nc, k_why[w], json_integer((json_int_t)why_count[w]));
  jset(&bad, o, "not_called", nc);
  if (!bad && !(p->summary_json = pp_json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12),
                                                mark, "the plan summary")))
    bad = 2; /* recorded */
  json_decref(o);
  free(ts);
  free(slot_store);
  return bad == 1 ? pp_err(PROP_ERR_NOMEM, "plan summary: out of memory") : bad ? PROP_ERR_NOMEM : 0;
}
