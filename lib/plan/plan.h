/* lib/plan: the call policy (policy.c), the assignment of a scored call list to tiers and cells
 * (assign.c: greedy and exact) and the plan's layouts (plan_out.c).  Depends on common and contact. */
#ifndef PP_PLAN_H
#define PP_PLAN_H

#include "common/common.h"
#include "contact/contact.h"

#define PP_PLAN_MAX_TIERS 32

typedef struct pp_tier {
  char *name;
  uint64_t bands;     /* bit b - 1 for band b; all ones when the tier takes every band */
  int max_band;       /* the largest band named, 0 when none is */
  double min_ev;      /* the least expected value of a call it takes */
  long capacity;      /* calls per open slot, -1 for no limit */
  uint64_t channels;  /* bit h for channel h of the grid */
  double mult;        /* the acceptance multiplier */
} pp_tier;

struct prop_policy {
  pp_tier *tiers;
  size_t ntiers;
  /* the grid it was read against (a plan checks that its contact model has the same) */
  int first_hour, block_hours, nblocks;
  size_t nchan;
  unsigned char *open;   /* 2 x nblocks: slot open */
  long max_attempts;     /* 0: no cap */
  long window_days;      /* 0: the whole history */
  char **phone_cols;     /* nchan entries, NULL where none */
  long list_id;          /* VICIdial list of slot s: list_id + s */
  char *phone_code, *source_id;
};

/* Why a row is not called. */
enum {
  PP_WHY_CALLED = 0,
  PP_WHY_UNSCORED,   /* the row's own error (or "not scored") */
  PP_WHY_NO_ID,
  PP_WHY_CAP,        /* detail: attempts in the window */
  PP_WHY_NO_TIER,    /* no tier takes the band */
  PP_WHY_NO_PHONE,   /* tiers: those that take the band */
  PP_WHY_BELOW_MIN,  /* tiers: those that take the band */
  PP_WHY_NO_CAPACITY /* tiers: those that would take the call */
};

struct prop_plan {
  size_t n, K, nchan, nblocks;
  int first_hour, block_hours;
  char **tier_names;   /* ntiers */
  size_t ntiers;
  char **chan_names;   /* nchan */
  double *tier_mult;
  long list_id;
  char *phone_code, *source_id;
  /* per row */
  pp_buf text;         /* ids, phones and row errors, NUL-terminated */
  size_t *id_off, *phone_off, *err_off; /* err_off: SIZE_MAX when none */
  double *prob, *pconn, *ev;
  uint8_t *band;
  int8_t *tier;        /* -1: not called */
  int16_t *cell;
  uint32_t *slot_rank;
  uint8_t *why;
  uint32_t *detail;    /* PP_WHY_CAP: attempts; NO_PHONE, BELOW_MIN, NO_CAPACITY: a tier mask */
  long cap_window, cap_max;
  char *summary_json;
};

/* ---- assign.c: the assignment ---------------------------------------------------------------------
 * The options of the rows that compete for capacity, as gains over their best call without a
 * limit: gain[j * R + r] of row rows[j] in resource r (a capacitated tier x open slot), -INFINITY when
 * not allowed.  pp_plan_exact() maximises the total gain with at most cap[r] rows in resource r and
 * at most one resource per row; assign[j] gets r or -1.  Successive shortest paths: rows are
 * inserted one by one along a shortest augmenting path through the resources (Bellman-Ford on the
 * R + 1 resource nodes, the arc r -> r' costing the least loss of moving one of r's rows to r'),
 * which keeps the assignment optimal after each row. */
int pp_plan_exact(const double *gain, size_t m, size_t R, const long *cap, long *assign);

/* What the assignment did, for the summary. */
typedef struct pp_plan_stats {
  double greedy, exact;  /* the totals of the two (exact NaN when it did not run) */
  const char *method;    /* "greedy" or "exact" */
  const char *exact_note; /* why the exact one was not used, or NULL */
  size_t competing;      /* rows with an option better than their unlimited one */
} pp_plan_stats;
/* p->summary_json from the plan's rows and st. */
int pp_plan_summary(prop_plan *p, const pp_plan_stats *st);

/* ---- plan_out.c: the rows' text ----------------------------------------------------------------- */
/* Row i's reason (why it is not called) into buf. */
void pp_plan_reason(const prop_plan *p, size_t i, char *buf, size_t cap);

#endif
