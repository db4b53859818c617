/* bench_plan: the call plan against the bank's habit and against the oracle, and the plan's speed.
 *
 *   bench_plan compare --dir DIR [--plan PLAN.csv]
 *   bench_plan speed [--customers 1000000] [--threads 2] [--runs 3] [--exact-rows 100000]
 *
 * compare: DIR holds what `propensity gen` wrote (contact_truth.csv: the planted P(connect) of every
 * cell and the true P(accept | connected) of each customer; policy.json), the contact model
 * DIR/contact.model and the plan of the latest month (DIR/plan.csv by default) that `propensity plan`
 * made from them (scripts/plan_demo.sh runs the steps).  Every figure is an expectation under the
 * planted truth, for the same rows:
 *  - plan: each called row at its planned cell and tier;
 *  - habitual: the same rows and tiers, every call at the bank's habitual slot, weekday 10:00 on the
 *    mobile (so the comparison is the choice of the cell, nothing else);
 *  - oracle: prop_plan_create() on the planted probabilities (P(connect) and P(accept | connected)),
 *    with the same policy, bands and attempt caps: the best plan any model could make.
 * The target of issue 16: the plan's mean true P(connect) per call at least 1.25 x the habitual's.
 *
 * speed: plans N customers x 42 cells (the demo's grid): P(connect) drawn as the demo plants it for
 * N customers of month 7, their true P(accept | connected) as the probability, the demo policy with
 * capacities scaled to N.  Times (median of --runs, wall clock) prop_contact_predict() for the N ids
 * (most unknown to the model: segment or global cells) and prop_plan_create() (greedy; the exact
 * assignment is off above --exact-rows competing rows), then runs the exact one on the first
 * --exact-rows customers and reports its time and the gap to greedy.  Peak RSS from getrusage.
 *
 * Not a test: not registered with ctest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/common.h"
#include "contact/contact.h"
#include "data/frame.h"
#include "demo/demo.h"
#include "plan/plan.h"

#define BENCH_NAME "bench_plan"
#include "bench_util.h"

static void usage(void) {
  fprintf(stderr, "usage: bench_plan compare --dir DIR [--plan PLAN.csv]\n"
                  "       bench_plan speed [--customers N] [--threads N] [--runs N] [--exact-rows N]\n");
  exit(2);
}

/* ---- compare --------------------------------------------------------------------------------------- */
static prop_frame *read_declared(const char *path, const char *const *names, const prop_coltype *types, size_t n) {
  prop_csv_options co;
  prop_csv_options_default(&co);
  co.declared_names = names;
  co.declared_types = types;
  co.n_declared = n;
  prop_frame *f;
  if (prop_frame_read_csv(path, &co, &f)) die(path);
  return f;
}

typedef struct truth {
  prop_frame *f;
  pp_strmap map;    /* id -> row */
  long *col;        /* K: the truth column of each contact cell */
  long p_accept;
} truth;

static void truth_load(truth *t, const char *path, const prop_contact *c) {
  const char *names[1] = {"customer_id"};
  prop_coltype types[1] = {PROP_COL_ID};
  t->f = read_declared(path, names, types, 1);
  pp_strmap_init(&t->map);
  long idj = prop_frame_find(t->f, "customer_id");
  for (size_t i = 0; i < prop_frame_n_rows(t->f); i++)
    if (pp_strmap_put(&t->map, prop_frame_string_value(t->f, (size_t)idj, i), i, NULL)) die("memory");
  size_t K = prop_contact_n_cells(c);
  t->col = malloc(K * sizeof *t->col);
  for (size_t k = 0; k < K; k++) {
    const char *ch, *day;
    int hour;
    char name[64];
    prop_contact_cell(c, k, &ch, &day, &hour);
    snprintf(name, sizeof name, "%s_%02d_%s", day, hour, ch);
    if ((t->col[k] = prop_frame_find(t->f, name)) < 0) die("contact_truth.csv lacks a cell column");
  }
  t->p_accept = prop_frame_find(t->f, "p_accept");
}

static double num_at(const prop_frame *f, long col, size_t row) { return f->cols[col].num[row]; }

/* One line of the table: calls, expected connects and acceptances under the truth. */
typedef struct line {
  size_t calls;
  double connects, accepts;
} line;

static void line_add(line *l, double pc, double pa, double mult) {
  l->calls++;
  l->connects += pc;
  l->accepts += pc * pa * mult;
}

static void print_line(const char *name, const line *l, double habitual_mean) {
  double mean = l->calls ? l->connects / (double)l->calls : NAN;
  printf("%-34s %7zu %10.1f %8.3f %7.2fx %12.1f\n", name, l->calls, l->connects, mean, mean / habitual_mean, l->accepts);
}

/* The plan CSV's rows: id, probability, band, tier and cell (-1 when not called). */
typedef struct plan_csv {
  prop_frame *f;
  size_t n;
  long *cell;
  long id, prob, band, tier;
} plan_csv;

static void plan_load(plan_csv *p, const char *path, const prop_contact *c) {
  const char *names[5] = {"id", "tier", "channel", "day", "error"};
  prop_coltype types[5] = {PROP_COL_ID, PROP_COL_CATEGORICAL, PROP_COL_CATEGORICAL, PROP_COL_CATEGORICAL, PROP_COL_ID};
  p->f = read_declared(path, names, types, 5);
  p->n = prop_frame_n_rows(p->f);
  p->id = prop_frame_find(p->f, "id");
  p->prob = prop_frame_find(p->f, "probability");
  p->band = prop_frame_find(p->f, "band");
  p->tier = prop_frame_find(p->f, "tier");
  long ch = prop_frame_find(p->f, "channel"), day = prop_frame_find(p->f, "day"), hour = prop_frame_find(p->f, "hour");
  if (p->prob < 0 || p->band < 0 || p->tier < 0 || ch < 0 || day < 0 || hour < 0) die("plan columns");
  p->cell = malloc((p->n + 1) * sizeof *p->cell);
  for (size_t i = 0; i < p->n; i++) {
    const char *tn = prop_frame_string_value(p->f, (size_t)p->tier, i), *cn = prop_frame_string_value(p->f, (size_t)ch, i);
    const char *dn = prop_frame_string_value(p->f, (size_t)day, i);
    p->cell[i] = -1;
    for (size_t k = 0; tn && cn && dn && k < prop_contact_n_cells(c); k++) {
      const char *kc, *kd;
      int kh;
      prop_contact_cell(c, k, &kc, &kd, &kh);
      if (strcmp(kc, cn) == 0 && strcmp(kd, dn) == 0 && kh == (int)num_at(p->f, hour, i)) p->cell[i] = (long)k;
    }
  }
}

static long tier_index(const prop_policy *pol, const char *name) {
  for (size_t t = 0; name && t < pol->ntiers; t++)
    if (strcmp(pol->tiers[t].name, name) == 0) return (long)t;
  return -1;
}

/* The oracle: the library's plan from the planted probabilities. */
static prop_plan *oracle(const plan_csv *p, const truth *t, const size_t *trow, const prop_policy *pol,
                         const prop_contact *c) {
  size_t n = p->n, K = prop_contact_n_cells(c);
  const char **ids = malloc((n + 1) * sizeof *ids);
  double *prob = malloc((n + 1) * sizeof *prob), *pc = malloc((n * K + 1) * sizeof *pc);
  int *band = malloc((n + 1) * sizeof *band);
  for (size_t i = 0; i < n; i++) {
    ids[i] = prop_frame_string_value(p->f, (size_t)p->id, i);
    double model_p = num_at(p->f, p->prob, i);
    prob[i] = model_p == model_p ? num_at(t->f, t->p_accept, trow[i]) : NAN;
    band[i] = (int)num_at(p->f, p->band, i);
    for (size_t k = 0; k < K; k++) pc[i * K + k] = num_at(t->f, t->col[k], trow[i]);
  }
  prop_plan_input in;
  prop_plan_input_default(&in);
  in.n = n;
  in.ids = ids;
  in.probability = prob;
  in.band = band;
  in.p_connect = pc;
  prop_plan *out = NULL;
  if (prop_plan_create(pol, c, &in, NULL, &out)) die("oracle plan");
  free(ids);
  free(prob);
  free(pc);
  free(band);
  return out;
}

static int compare(const char *dir, const char *plan_path) {
  char path[4096];
  prop_contact *c;
  prop_policy *pol;
  truth t;
  plan_csv p;
  snprintf(path, sizeof path, "%s/contact.model", dir);
  if (prop_contact_load(path, &c)) die(path);
  snprintf(path, sizeof path, "%s/policy.json", dir);
  if (prop_policy_load(path, c, &pol)) die(path);
  snprintf(path, sizeof path, "%s/contact_truth.csv", dir);
  truth_load(&t, path, c);
  snprintf(path, sizeof path, "%s/plan.csv", dir);
  plan_load(&p, plan_path ? plan_path : path, c);
  size_t *trow = malloc((p.n + 1) * sizeof *trow), habit = 0;
  for (size_t i = 0; i < p.n; i++)
    if (!pp_strmap_get(&t.map, prop_frame_string_value(p.f, (size_t)p.id, i), &trow[i])) die("a plan row has no truth");
  for (size_t k = 0; k < prop_contact_n_cells(c); k++) {
    const char *ch, *day;
    int hour;
    prop_contact_cell(c, k, &ch, &day, &hour);
    if (strcmp(ch, "mobile") == 0 && strcmp(day, "weekday") == 0 && hour == 10) habit = k;
  }
  prop_plan *o = oracle(&p, &t, trow, pol, c);
  line lp = {0}, lh = {0}, lo = {0};
  prop_plan_row r = {.struct_size = sizeof r};
  for (size_t i = 0; i < p.n; i++) {
    double pa = num_at(t.f, t.p_accept, trow[i]);
    long tier = tier_index(pol, prop_frame_string_value(p.f, (size_t)p.tier, i));
    if (p.cell[i] >= 0 && tier >= 0) {
      line_add(&lp, num_at(t.f, t.col[p.cell[i]], trow[i]), pa, pol->tiers[tier].mult);
      line_add(&lh, num_at(t.f, t.col[habit], trow[i]), pa, pol->tiers[tier].mult);
    }
    if (!prop_plan_row_get(o, i, &r) && r.tier_index >= 0)
      line_add(&lo, num_at(t.f, t.col[r.cell], trow[i]), pa, pol->tiers[r.tier_index].mult);
  }
  double hm = lh.connects / (double)lh.calls;
  printf("%-34s %7s %10s %8s %8s %12s\n", "plan of the latest month", "calls", "connects", "mean P", "vs habit",
         "acceptances");
  print_line("habitual: weekday 10:00, mobile", &lh, hm);
  print_line("plan (contact model)", &lp, hm);
  print_line("oracle (planted probabilities)", &lo, hm);
  double ratio = lp.connects / (double)lp.calls / hm;
  printf("(expectations under the planted probabilities; habitual = the plan's rows and tiers at weekday 10:00 on the "
         "mobile)\ntarget: plan mean P(connect) >= 1.25 x habitual: %.2fx, %s\n", ratio, ratio >= 1.25 ? "met" : "NOT met");
  prop_plan_free(o);
  prop_policy_free(pol);
  prop_contact_free(c);
  return ratio >= 1.25 ? 0 : 3;
}

/* ---- speed ---------------------------------------------------------------------------------------- */
static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, pp_cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A contact model fitted on the demo's contact history of months 6 and 7 (4000 customers a month). */
static prop_contact *demo_contact(void) {
  char dir[] = "/tmp/bench_plan.XXXXXX", h[256], cu[256], tr[256];
  if (!mkdtemp(dir)) die("mkdtemp");
  snprintf(h, sizeof h, "%s/h.csv", dir);
  snprintf(cu, sizeof cu, "%s/c.csv", dir);
  snprintf(tr, sizeof tr, "%s/t.csv", dir);
  prop_demo_options o;
  prop_demo_options_default(&o);
  o.first_month = 6;
  o.months = 2;
  if (prop_demo_write_contacts(h, cu, tr, &o)) die("demo contacts");
  const char *hn[4] = {"customer_id", "time", "channel", "outcome"}, *cn[3] = {"customer_id", "age_band", "plans"};
  prop_coltype ht[4] = {PROP_COL_ID, PROP_COL_ID, PROP_COL_CATEGORICAL, PROP_COL_CATEGORICAL};
  prop_coltype ct[3] = {PROP_COL_ID, PROP_COL_CATEGORICAL, PROP_COL_CATEGORICAL};
  prop_frame *hf = read_declared(h, hn, ht, 4), *cf = read_declared(cu, cn, ct, 3);
  prop_contact_options opt;
  prop_contact_options_default(&opt);
  opt.id = "customer_id", opt.time = "time", opt.channel = "channel", opt.outcome = "outcome";
  opt.positive = "connected";
  opt.segment_cols = cn + 1, opt.n_segment_cols = 2;
  opt.holdout_fraction = 0;
  prop_contact *c;
  if (prop_contact_fit(hf, cf, &opt, &c)) die("contact fit");
  prop_frame_free(hf);
  prop_frame_free(cf);
  remove(h), remove(cu), remove(tr), remove(dir);
  return c;
}

/* N customers of month 8 (none has history in the model): ids, segments, planted cells, P(accept). */
typedef struct rows {
  size_t n;
  char **ids, **age, **plans;
  double *prob, *pc;
  int *band;
} rows;

static void make_rows(rows *r, size_t n) {
  static const double edges[8] = {0, .1, .2, .3, .4, .5, .7, 1};
  r->n = n;
  r->ids = malloc(n * sizeof *r->ids);
  r->age = malloc(n * sizeof *r->age);
  r->plans = malloc(n * sizeof *r->plans);
  r->prob = malloc(n * sizeof *r->prob);
  r->band = malloc(n * sizeof *r->band);
  r->pc = malloc(n * PP_DEMO_CELLS * sizeof *r->pc);
  pp_rng rng, crng;
  pp_demo_month_rng(&rng, 42, 8);
  pp_demo_contact_rng(&crng, 42, 8);
  for (size_t i = 0; i < n; i++) {
    pp_demo_customer c;
    pp_demo_contact ct;
    pp_demo_draw(&rng, 8, i, n, 0.03, &c);
    pp_demo_contact_draw(&crng, &c, pp_demo_month_start(8), &ct);
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)c.id);
    r->ids[i] = strdup(buf);
    r->age[i] = (char *)pp_demo_age_band(c.age);
    r->plans[i] = c.past_installments == 0 ? "none" : c.past_installments == 1 ? "one" : "several";
    r->prob[i] = c.p_accept;
    r->band[i] = 1;
    while (r->band[i] < 7 && c.p_accept >= edges[r->band[i]]) r->band[i]++;
    memcpy(r->pc + i * PP_DEMO_CELLS, ct.p, sizeof ct.p);
  }
}

static prop_policy *scaled_policy(const prop_contact *c, size_t n) {
  char json[1024];
  snprintf(json, sizeof json,
           "{\"tiers\": [{\"name\": \"gold_agent\", \"bands\": [5, 6, 7], \"capacity_per_slot\": %zu, \"acceptance_multiplier\": 1.3},"
           "{\"name\": \"agent\", \"bands\": [3, 4, 5, 6, 7], \"capacity_per_slot\": %zu},"
           "{\"name\": \"robot\", \"channels\": [\"mobile\", \"home\"], \"acceptance_multiplier\": 0.4}]}",
           (12 * n + 2000) / 4000, (40 * n + 2000) / 4000);
  prop_policy *p;
  if (prop_policy_parse(json, "scaled demo policy", c, &p)) die("policy");
  return p;
}

static prop_plan *plan_rows(const rows *r, size_t n, const prop_policy *pol, const prop_contact *c, size_t exact,
                            int threads, double *secs) {
  prop_plan_input in;
  prop_plan_input_default(&in);
  in.n = n;
  in.ids = (const char *const *)r->ids;
  in.probability = r->prob;
  in.band = r->band;
  in.p_connect = r->pc;
  prop_plan_options o;
  prop_plan_options_default(&o);
  o.exact_max_rows = exact;
  o.nthread = threads;
  prop_plan *p;
  double t0 = now();
  if (prop_plan_create(pol, c, &in, &o, &p)) die("plan");
  *secs = now() - t0;
  return p;
}

static int speed(size_t n, int threads, int runs, size_t exact_rows) {
  prop_contact *c = demo_contact();
  rows r;
  make_rows(&r, n);
  prop_policy *pol = scaled_policy(c, n);
  prop_frame *f;
  prop_frame_create(n, &f);
  prop_frame_add_strings(f, "customer_id", PROP_COL_ID, (const char *const *)r.ids);
  prop_frame_add_strings(f, "age_band", PROP_COL_CATEGORICAL, (const char *const *)r.age);
  prop_frame_add_strings(f, "plans", PROP_COL_CATEGORICAL, (const char *const *)r.plans);
  double *pred = malloc(n * prop_contact_n_cells(c) * sizeof *pred), *tp = malloc(runs * sizeof *tp),
         *tl = malloc(runs * sizeof *tl);
  for (int q = 0; q < runs; q++) {
    double t0 = now();
    if (prop_contact_predict(c, f, NULL, pred)) die("predict");
    tp[q] = now() - t0;
    prop_plan_free(plan_rows(&r, n, pol, c, 0, threads, &tl[q]));
  }
  printf("plan of %zu customers x %zu cells, %d threads, median of %d runs (wall clock, shared machine):\n", n,
         prop_contact_n_cells(c), threads, runs);
  printf("  contact model lookup (prop_contact_predict, %zu ids): %.3f s\n", n, median(tp, (size_t)runs));
  printf("  assignment, greedy (prop_plan_create):              %.3f s\n", median(tl, (size_t)runs));
  size_t m = exact_rows < n ? exact_rows : n;
  prop_policy *pol_m = scaled_policy(c, m);
  double tg, te;
  prop_plan *g = plan_rows(&r, m, pol_m, c, 0, threads, &tg), *e = plan_rows(&r, m, pol_m, c, m, threads, &te);
  printf("  %zu customers: greedy %.3f s, with the exact assignment %.3f s\n", m, tg, te);
  printf("  %zu customers, summary with the exact assignment:\n%s\n", m, prop_plan_summary_json(e));
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("  peak RSS %.0f MB\n", (double)ru.ru_maxrss / 1024.0);
  prop_plan_free(g);
  prop_plan_free(e);
  prop_policy_free(pol_m);
  prop_policy_free(pol);
  prop_frame_free(f);
  prop_contact_free(c);
  free(pred);
  free(tp);
  free(tl);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) usage();
  const char *dir = NULL, *plan = NULL;
  size_t n = 1000000, exact_rows = 100000;
  int threads = 2, runs = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    const char *a = argv[i], *v = argv[i + 1];
    if (strcmp(a, "--dir") == 0) dir = v;
    else if (strcmp(a, "--plan") == 0) plan = v;
    else if (strcmp(a, "--customers") == 0) n = strtoull(v, NULL, 10);
    else if (strcmp(a, "--threads") == 0) threads = atoi(v);
    else if (strcmp(a, "--runs") == 0) runs = atoi(v);
    else if (strcmp(a, "--exact-rows") == 0) exact_rows = strtoull(v, NULL, 10);
    else usage();
  }
  if (argc % 2) usage();
  if (strcmp(argv[1], "compare") == 0 && dir) return compare(dir, plan);
  if (strcmp(argv[1], "speed") == 0 && n > 0 && runs > 0) return speed(n, threads, runs, exact_rows);
  usage();
  return 2;
}
