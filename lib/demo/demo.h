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
const char *pp_demo_education_name(int education);

#endif
