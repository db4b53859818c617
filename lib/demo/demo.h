/* lib/demo: the synthetic installment-campaign generator behind prop_demo_write_csv().
 * Depends on common only.  Internal: the tests use pp_demo_draw() to see the true generating
 * probabilities (the "oracle" a model can at best reach). */
#ifndef PP_DEMO_H
#define PP_DEMO_H

#include "common/common.h"

enum { PP_DEMO_CLASSIC = 0, PP_DEMO_GOLD = 1, PP_DEMO_PLATINUM = 2 };

/* One customer called in one month.  Numbers hold exactly the values written to the CSV (already
 * rounded); the probabilities are computed from those values. */
typedef struct pp_demo_customer {
  uint64_t id;
  size_t month;
  int age;
  int female;
  int education;         /* index into pp_demo_education_name() */
  double income;         /* monthly, whole currency units */
  int income_missing;    /* the cell is written empty */
  double credit_limit;
  int card_age_months;
  int card_age_missing;  /* the cell is written empty */
  int card_type;         /* PP_DEMO_CLASSIC ... */
  int past_installments;
  double bill_volatility, large_purchase_volatility, utilization;
  double z_connect;      /* its log-odds */
  double p_connect;      /* true P(connected) */
  double p_accept;       /* true P(accepted | connected) */
  int connected, accepted;
  double installment_amount; /* > 0 when accepted, else 0 */
} pp_demo_customer;

/* Month m's stream: pp_rng seeded with pp_seed_derive(seed, m). */
void pp_demo_month_rng(pp_rng *r, uint64_t seed, size_t month);
/* Draw the index-th customer of `month` (index 0, 1, ... in order from the month's stream).  The
 * number of random draws per customer is fixed, so rows never depend on missing_rate or on which
 * columns are written. */
void pp_demo_draw(pp_rng *r, size_t month, size_t index, size_t per_month, double missing_rate,
                  pp_demo_customer *c);
/* The same draws with the monitoring demo's planted drift when drift != 0: incomes up by about 57%
 * (log-income + 0.45) and the card mix moved further to platinum (card score + 0.35). */
void pp_demo_draw_drift(pp_rng *r, size_t month, size_t index, size_t per_month, double missing_rate, int drift,
                        pp_demo_customer *c);
const char *pp_demo_card_name(int card_type);
/* The generator's arithmetic, the same bits on every IEEE-754 machine: exp() by our own series, the
 * logistic function, an approximately normal deviate (Irwin-Hall sum of 12 uniforms). */
double pp_demo_exp(double x);
double pp_demo_sigmoid(double z);
double pp_demo_normal(pp_rng *r);
/* Text without printf (no locale can change a decimal point): append s, v, or v >= 0 with exactly
 * dec decimals, at p; each returns the end. */
char *pp_demo_put_str(char *p, const char *s);
char *pp_demo_put_u64(char *p, uint64_t v);
char *pp_demo_put_fixed(char *p, double v, int dec);
const char *pp_demo_education_name(int education);

/* ---- the contact history (contact_demo.c) ---------------------------------------------------- */
#define PP_DEMO_CHANNELS 3  /* home, mobile, office: the contact model's order (byte order) */
#define PP_DEMO_BLOCKS 7    /* 08:00 .. 20:00, two hours each */
#define PP_DEMO_CELLS (2 * PP_DEMO_BLOCKS * PP_DEMO_CHANNELS)
#define PP_DEMO_MAX_ATTEMPTS 20
/* A customer's planted P(connect) per cell, k = (day type x 7 + block) x 3 + channel (the contact
 * model's default grid and cell order), and past attempts. */
typedef struct pp_demo_contact {
  double p[PP_DEMO_CELLS];
  int nattempts;
  struct {
    int cell;
    int64_t day;    /* days since 1970-01-01 */
    int second;     /* of the day */
    int connected;
  } att[PP_DEMO_MAX_ATTEMPTS];
} pp_demo_contact;
/* Draw customer c's contact data from r (its month's contact stream); month_start is the first day
 * of the campaign month (pp_demo_month_start), before which the attempts fall. */
void pp_demo_contact_draw(pp_rng *r, const pp_demo_customer *c, int64_t month_start, pp_demo_contact *out);
/* The contact stream of month m. */
void pp_demo_contact_rng(pp_rng *r, uint64_t seed, size_t month);
/* Days since 1970-01-01 of the first day of demo month m (month 1 = January 2025). */
int64_t pp_demo_month_start(size_t month);
const char *pp_demo_channel_name(int ch);
const char *pp_demo_age_band(int age);

#endif
