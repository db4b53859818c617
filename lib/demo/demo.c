/* The synthetic installment campaign (README "Demo data").
 *
 * Determinism: month m is drawn from its own stream, pp_seed_derive(seed, m), with a fixed number
 * of draws per customer, so a month's rows do not depend on which months (or columns, or missing
 * rate) are written.  The data path uses only IEEE-754 basic operations (+ - * / and the exact
 * floor/ldexp): the normal deviates are Irwin-Hall sums and exp() is our own series, so the bytes
 * do not depend on the platform's libm.  Numbers are formatted by hand from integers, never with
 * "%f", so the C locale of the host program (LC_NUMERIC) cannot change the decimal point; the
 * library never calls setlocale(). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "demo/demo.h"
#include "write/writer.h"

/* ---- exact-arithmetic helpers ---------------------------------------------------------------- */

/* exp(x): Cody-Waite reduction by ln 2 and a degree-14 Taylor series on |r| <= 0.35 (relative error
 * well under 1e-15); identical results on every IEEE-754 machine. */
double pp_demo_exp(double x) {
  if (x > 700.0) x = 700.0;
  if (x < -700.0) x = -700.0;
  double k = floor(x * 1.4426950408889634 + 0.5);
  double r = x - k * 6.93147180369123816490e-01 - k * 1.90821492927058770002e-10;
  double term = 1.0, sum = 1.0;
  for (int i = 1; i <= 14; i++) {
    term = term * r / (double)i;
    sum += term;
  }
  return ldexp(sum, (int)k);
}

double pp_demo_sigmoid(double z) { return 1.0 / (1.0 + pp_demo_exp(-z)); }

/* Approximately standard normal: Irwin-Hall sum of 12 uniforms (bounded by +-6). */
double pp_demo_normal(pp_rng *r) {
  double s = 0.0;
  for (int i = 0; i < 12; i++) s += pp_rng_uniform(r);
  return s - 6.0;
}

static double round_to(double x, double unit) { return floor(x / unit + 0.5) * unit; }
static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* ---- the generating story ------------------------------------------------------------------- */

static const char *const k_card[3] = {"classic", "gold", "platinum"};
static const char *const k_edu[4] = {"high_school", "bachelor", "master", "doctorate"};

const char *pp_demo_card_name(int card_type) {
  return card_type >= 0 && card_type < 3 ? k_card[card_type] : "";
}
const char *pp_demo_education_name(int education) {
  return education >= 0 && education < 4 ? k_edu[education] : "";
}

/* Mild seasonality of the campaign (logit shift by calendar month, month 1 = January): the
 * November-December shopping season converts better, mid-summer worse. */
static const double k_season[12] = {0.00, -0.06, 0.03, 0.05, -0.02, -0.05,
                                    -0.10, -0.04, 0.02, 0.06, 0.10, 0.16};

void pp_demo_month_rng(pp_rng *r, uint64_t seed, size_t month) {
  pp_rng_seed(r, pp_seed_derive(seed, (uint64_t)month));
}

void pp_demo_draw(pp_rng *r, size_t month, size_t index, size_t per_month, double missing_rate,
                  pp_demo_customer *c) {
  pp_demo_draw_drift(r, month, index, per_month, missing_rate, 0, c);
}

void pp_demo_draw_drift(pp_rng *r, size_t month, size_t index, size_t per_month, double missing_rate, int drift,
                        pp_demo_customer *c) {
  memset(c, 0, sizeof *c);
  c->id = (uint64_t)(month - 1) * (uint64_t)per_month + (uint64_t)index + 1;
  c->month = month;
  double season = k_season[(month - 1) % 12];

  /* Every draw below happens for every customer, in this order. */
  double z_age = pp_demo_normal(r), u_sex = pp_rng_uniform(r), u_edu = pp_rng_uniform(r);
  double z_inc = pp_demo_normal(r), z_card = pp_demo_normal(r), z_lim = pp_demo_normal(r);
  double u_tenure = pp_rng_uniform(r), u_past = pp_rng_uniform(r);
  double z_bill = pp_demo_normal(r), z_large = pp_demo_normal(r), z_util = pp_demo_normal(r);
  double u_transactor = pp_rng_uniform(r), u_tutil = pp_rng_uniform(r);
  double u_miss_inc = pp_rng_uniform(r), u_miss_age = pp_rng_uniform(r);
  double u_conn = pp_rng_uniform(r), u_acc = pp_rng_uniform(r), z_amt = pp_demo_normal(r);

  /* who is called */
  c->age = (int)clampd(round_to(41.0 + 12.0 * z_age, 1.0), 21.0, 75.0);
  c->female = u_sex < 0.5;
  c->education = u_edu < 0.35 ? 0 : u_edu < 0.75 ? 1 : u_edu < 0.95 ? 2 : 3;
  static const double edu_bonus[4] = {0.0, 0.25, 0.45, 0.60};
  double years = (double)(c->age - 21);
  /* the planted drift (monitoring's demo): a richer intake, and a card mix that moves to platinum beyond
   * what the richer incomes alone would give */
  double log_inc = 7.78 + edu_bonus[c->education] + 0.02 * (years < 25.0 ? years : 25.0) -
                   (c->age > 62 ? 0.25 : 0.0) + 0.35 * z_inc + (drift ? 0.45 : 0.0);
  c->income = clampd(round_to(pp_demo_exp(log_inc), 10.0), 500.0, 60000.0);
  double card_score = log_inc + 0.25 * z_card + (drift ? 0.35 : 0.0);
  c->card_type = card_score < 8.19 ? PP_DEMO_CLASSIC : card_score < 8.78 ? PP_DEMO_GOLD : PP_DEMO_PLATINUM;
  static const double limit_mult[3] = {1.5, 2.5, 4.0};
  c->credit_limit =
      clampd(round_to(c->income * limit_mult[c->card_type] * pp_demo_exp(0.25 * z_lim), 100.0), 500.0, 200000.0);
  double max_tenure = (double)(c->age - 20) * 12.0;
  if (max_tenure > 300.0) max_tenure = 300.0;
  c->card_age_months = 1 + (int)floor(u_tenure * max_tenure);
  /* past installment plans: geometric, more likely for long-standing gold customers */
  double q = 0.30 + (c->card_age_months >= 36 ? 0.12 : 0.0) + (c->card_type == PP_DEMO_GOLD ? 0.06 : 0.0);
  double tail = q;
  int k = 0;
  while (k < 9 && u_past < tail) {
    k++;
    tail *= q;
  }
  c->past_installments = k;
  c->bill_volatility = clampd(round_to(pp_demo_exp(-1.20 + 0.55 * z_bill), 0.001), 0.0, 2.5);
  c->large_purchase_volatility =
      clampd(round_to(pp_demo_exp(-0.92 + 0.6 * (0.3 * z_bill + 0.954 * z_large)), 0.001), 0.0, 3.0);
  double util;
  if (u_transactor < 0.15) {
    util = 0.08 * u_tutil; /* pays in full every month */
  } else {
    util = 0.36 + (c->income < 3000.0 ? 0.10 : 0.0) + (c->age < 30 ? 0.08 : 0.0) -
           (c->card_type == PP_DEMO_PLATINUM ? 0.10 : 0.0) + 0.01 * (double)((month - 1) % 12) +
           0.08 * z_bill + 0.20 * z_util;
  }
  c->utilization = clampd(round_to(util, 0.001), 0.0, 1.05);
  c->income_missing = u_miss_inc < missing_rate;
  c->card_age_missing = u_miss_age < missing_rate;

  /* does the customer pick up? older customers and those who already know the product do */
  double zc = -1.25 + 0.025 * (double)(c->age - 40) + 0.9 * (c->past_installments >= 1) +
              2.2 * (c->past_installments >= 2) - 0.3 * (c->age < 30) + 0.5 * season;
  /* does a connected customer accept?  thresholds and interactions, not a linear score */
  int util_high = c->utilization > 0.6, bill_high = c->bill_volatility > 0.45;
  static const double card_eff[3] = {0.0, 0.35, -0.5};
  double za = -3.5 + 1.8 * (c->past_installments >= 1) + 1.0 * (c->past_installments >= 2) +
              1.6 * (util_high && bill_high) + 1.0 * (c->large_purchase_volatility > 0.65) +
              1.8 * (c->past_installments >= 2 && c->large_purchase_volatility > 0.65) +
              0.9 * (c->age < 30 && c->income < 3000.0) + card_eff[c->card_type] -
              1.0 * (c->utilization < 0.1) - 1.2 * (c->utilization > 0.9) + 0.1 * c->female + season;
  c->z_connect = zc;
  c->p_connect = pp_demo_sigmoid(zc);
  c->p_accept = pp_demo_sigmoid(za);
  c->connected = u_conn < c->p_connect;
  c->accepted = c->connected && u_acc < c->p_accept;
  double amount = c->credit_limit * (0.12 + 0.18 * clampd(c->large_purchase_volatility, 0.0, 1.5)) *
                  pp_demo_exp(0.25 * z_amt);
  amount = clampd(amount, 100.0, 0.9 * c->credit_limit);
  c->installment_amount = c->accepted ? round_to(amount, 0.01) : 0.0;
}

/* ---- CSV writing -------------------------------------------------------------------------- */

char *pp_demo_put_str(char *p, const char *s) {
  size_t n = strlen(s);
  memcpy(p, s, n);
  return p + n;
}

char *pp_demo_put_u64(char *p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

/* v >= 0 with exactly `dec` decimals, '.' as the decimal point whatever the locale. */
char *pp_demo_put_fixed(char *p, double v, int dec) {
  uint64_t scale = 1;
  for (int i = 0; i < dec; i++) scale *= 10;
  if (!(v >= 0.0)) v = 0.0;
  uint64_t units = (uint64_t)floor(v * (double)scale + 0.5);
  p = pp_demo_put_u64(p, units / scale);
  if (dec > 0) {
    *p++ = '.';
    uint64_t frac = units % scale;
    for (uint64_t d = scale / 10; d; d /= 10) *p++ = (char)('0' + (frac / d) % 10);
  }
  return p;
}

void prop_demo_options_default(prop_demo_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
  opt->seed = 42;
  opt->customers_per_month = 4000;
  opt->months = 6;
  opt->missing_rate = 0.03;
  opt->first_month = 1;
  opt->with_outcomes = 1;
}

static const char k_header[] =
    "customer_id,month,age,gender,education,income,credit_limit,card_age_months,card_type,"
    "past_installments,bill_volatility,large_purchase_volatility,utilization";

int prop_demo_write_csv(const char *path, const prop_demo_options *opt) {
  if (!path || !*path) return pp_err(PROP_ERR_ARG, "demo: empty output path");
  if (!opt) return pp_err(PROP_ERR_ARG, "demo: options are NULL");
  prop_demo_options own;
  prop_demo_options_default(&own);
  PP_TRY(pp_opts_import(&own, sizeof own, opt, "prop_demo_options"));
  opt = &own;
  if (opt->customers_per_month == 0)
    return pp_err(PROP_ERR_ARG, "demo: customers_per_month must be at least 1");
  if (opt->months == 0) return pp_err(PROP_ERR_ARG, "demo: months must be at least 1");
  /* a demo, not a disk filler: a wrapped negative count (2^64 - 1) would write until the disk is full */
  if (opt->customers_per_month > 100000000u || opt->months > 1200u ||
      (uint64_t)opt->customers_per_month * (uint64_t)opt->months > 1000000000u)
    return pp_err(PROP_ERR_ARG, "demo: %zu customers a month for %zu months is more than the 10^9 rows a demo may have",
                  opt->customers_per_month, opt->months);
  if (opt->first_month == 0) return pp_err(PROP_ERR_ARG, "demo: first_month must be at least 1");
  if (!(opt->missing_rate >= 0.0 && opt->missing_rate <= 1.0))
    return pp_err(PROP_ERR_ARG, "demo: missing_rate must be in [0, 1], got %g", opt->missing_rate);
  if (opt->months - 1 > SIZE_MAX - opt->first_month)
    return pp_err(PROP_ERR_ARG, "demo: first_month + months overflows");
  size_t last = opt->first_month + opt->months - 1;
  if ((uint64_t)last > UINT64_MAX / (uint64_t)opt->customers_per_month)
    return pp_err(PROP_ERR_ARG, "demo: %zu months of %zu customers overflow the customer ids", last,
                  opt->customers_per_month);

  prop_writer *w = NULL;
  PP_TRY(prop_writer_open(path, NULL, &w));
  const char *tail = opt->with_outcomes ? ",connected,accepted,installment_amount\n" : "\n";
  int bad = prop_writer_bytes(w, k_header, sizeof k_header - 1) || prop_writer_bytes(w, tail, strlen(tail));
  char line[512];
  for (size_t m = opt->first_month; !bad && m <= last; m++) {
    pp_rng rng;
    pp_demo_month_rng(&rng, opt->seed, m);
    for (size_t i = 0; !bad && i < opt->customers_per_month; i++) {
      pp_demo_customer c;
      pp_demo_draw_drift(&rng, m, i, opt->customers_per_month, opt->missing_rate, opt->drift, &c);
      char *p = line;
      p = pp_demo_put_u64(p, c.id);
      *p++ = ',';
      p = pp_demo_put_u64(p, (uint64_t)m);
      *p++ = ',';
      p = pp_demo_put_u64(p, (uint64_t)c.age);
      p = pp_demo_put_str(p, c.female ? ",F," : ",M,");
      p = pp_demo_put_str(p, pp_demo_education_name(c.education));
      *p++ = ',';
      if (!c.income_missing) p = pp_demo_put_fixed(p, c.income, 0);
      *p++ = ',';
      p = pp_demo_put_fixed(p, c.credit_limit, 0);
      *p++ = ',';
      if (!c.card_age_missing) p = pp_demo_put_u64(p, (uint64_t)c.card_age_months);
      *p++ = ',';
      p = pp_demo_put_str(p, pp_demo_card_name(c.card_type));
      *p++ = ',';
      p = pp_demo_put_u64(p, (uint64_t)c.past_installments);
      *p++ = ',';
      p = pp_demo_put_fixed(p, c.bill_volatility, 3);
      *p++ = ',';
      p = pp_demo_put_fixed(p, c.large_purchase_volatility, 3);
      *p++ = ',';
      p = pp_demo_put_fixed(p, c.utilization, 3);
      if (opt->with_outcomes) {
        p = pp_demo_put_str(p, c.connected ? ",1" : ",0");
        p = pp_demo_put_str(p, c.accepted ? ",1," : ",0,");
        p = pp_demo_put_fixed(p, c.installment_amount, 2);
      }
      *p++ = '\n';
      bad = prop_writer_bytes(w, line, (size_t)(p - line));
    }
  }
  if (bad) { /* the writer named the file and the cause */
    int rc = prop_last_error_code();
    prop_writer_abort(w);
    return rc;
  }
  return prop_writer_commit(w);
}
