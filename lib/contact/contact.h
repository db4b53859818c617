/* lib/contact: the contact model behind prop_contact_fit(): when and on which channel each customer
 * picks up.  Depends on common, data (frames) and io (the container of its file).
 *
 * The grid: a cell is (day type, time block, channel); day type 0 is a weekday (Monday to Friday),
 * 1 the weekend; block b covers [first_hour + b * block_hours, first_hour + (b + 1) * block_hours).
 * A slot is (day type, block): slot s = day * nblocks + block, cell k = s * nchan + channel.
 *
 * The model (models/README.md, "The contact model"): the log-odds of a connect of customer i in cell
 * k = (slot t, channel h) are
 *     eta_ik = g_k + d_{seg(i),k} + w_i + u_{i,h} + v_{i,t}
 * with global cell effects g, segment deviations d ~ N(0, tau2), and customer deviations: overall
 * w ~ N(0, sw2), by channel u ~ N(0, su2) and by slot v ~ N(0, sv2).  The four variances, which set
 * how far each level is shrunk toward the one above, are estimated from the data by moments
 * (contact_fit.c). */
#ifndef PP_CONTACT_H
#define PP_CONTACT_H

#include "common/common.h"

/* The layout of the contact file's CNTC section; a file with a larger one is PROP_ERR_VERSION. */
#define PP_CONTACT_LAYOUT 1u
#define PP_CONTACT_MAX_CHANNELS 64
#define PP_CONTACT_MAX_CELLS 4096
#define PP_CONTACT_MAX_SEGMENTS 100000

typedef struct pp_grid {
  int first_hour, block_hours, nblocks;
  char **channels; /* nchan names */
  size_t nchan;
} pp_grid;

static inline size_t pp_grid_nslots(const pp_grid *g) { return 2 * (size_t)g->nblocks; }
static inline size_t pp_grid_ncells(const pp_grid *g) { return pp_grid_nslots(g) * g->nchan; }
/* "weekday" or "weekend" */
const char *pp_grid_day_name(int day);
/* The slot's start hour. */
static inline int pp_grid_slot_hour(const pp_grid *g, size_t slot) {
  return g->first_hour + (int)(slot % (size_t)g->nblocks) * g->block_hours;
}
/* Index of channel name, or -1. */
long pp_grid_channel(const pp_grid *g, const char *name);
void pp_grid_free(pp_grid *g);

/* ---- timestamps -----------------------------------------------------------------------------
 * ISO 8601 date and time: YYYY-MM-DDTHH:MM[:SS[.fraction]] with an optional zone Z, +HH, +HHMM or
 * +HH:MM (or -).  The date and hour are taken as written (the local wall-clock time of the zone the
 * offset names), unless tz_minutes is set (not PROP_CONTACT_TZ_AS_WRITTEN): then a time that carries
 * a zone is first moved to UTC + tz_minutes.  A time without a zone is always taken as written. */
typedef struct pp_when {
  int64_t day;    /* days since 1970-01-01 of the local date */
  int minute;     /* minute of the local day, 0..1439 */
  int weekend;    /* Saturday or Sunday */
} pp_when;
/* 0, or -1 with why[] (a short phrase) filled. */
int pp_parse_iso8601(const char *s, int tz_minutes, pp_when *w, char *why, size_t cap);

/* ---- the fitted model ---------------------------------------------------------------------- */
struct prop_contact {
  pp_grid grid;
  int tz_minutes;          /* as in prop_contact_options */
  char *id_col;            /* the history's id column (for messages) */
  char *customer_id_col;   /* the id column a customers frame must have */
  char **seg_cols;         /* segment columns, nseg_cols */
  size_t nseg_cols;
  char **seg_labels;       /* nseg labels: the segment columns' values joined by '|' */
  size_t nseg;
  pp_strmap seg_map;       /* label -> segment */
  double *p_global;        /* ncells: a customer of no known segment and no history */
  double *p_seg;           /* nseg x ncells: a customer of the segment without history */
  /* customers: those of the customers frame and of the history */
  size_t ncust;
  char *id_text;           /* ids, NUL-terminated, at id_text + id_off[i] */
  size_t id_text_len;
  size_t *id_off;
  pp_strmap cust_map;      /* id -> customer */
  int32_t *cust_seg;       /* segment, or -1 */
  uint32_t *cust_hist;     /* row of p_cust, or UINT32_MAX for a customer without history */
  size_t nhist;
  float *p_cust;           /* nhist x ncells */
  size_t *att_off;         /* ncust + 1: attempts of customer i are att_day[att_off[i] .. att_off[i+1]) */
  int32_t *att_day;        /* the days of the attempts (days since 1970-01-01), ascending per customer */
  int64_t last_day;        /* the history's latest day */
  char *report_json;       /* fit report (prop_contact_report_json) */
};

/* Free everything c owns (not c itself). */
void pp_contact_release(prop_contact *c);
/* The customer called id, or -1. */
long pp_contact_find(const prop_contact *c, const char *id);
/* Attempts of customer i on days >= first_day. */
size_t pp_contact_attempts_since(const prop_contact *c, size_t i, int64_t first_day);

/* ---- reading the inputs of a fit (contact_history.c) ------------------------------------------ */
/* Cell j of row i of f as text (numbers in their shortest form, into buf); NULL when missing. */
const char *pp_cell_text(const prop_frame *f, size_t j, size_t i, char buf[32]);
/* The index of column name of f into *j; PROP_ERR_SCHEMA naming the role ("time") when absent. */
int pp_frame_column(const prop_frame *f, const char *name, const char *role, size_t *j);
/* Row i's segment label: the texts of columns cols[0..ncols) joined by '|' ("<missing>" for a missing
 * cell), into buf.  -1 when longer than cap - 1. */
int pp_segment_label(const prop_frame *f, const size_t *cols, size_t ncols, size_t i, char *buf, size_t cap);

/* Customers and segments while fitting. */
typedef struct pp_ctable {
  pp_buf text;           /* ids, NUL-terminated, at text.data + off[i] */
  size_t *off;
  int32_t *seg;          /* segment of each customer, -1 none */
  size_t n, cap_n;
  pp_strmap map;         /* id -> customer */
  char **seg_labels;
  size_t nseg;
  pp_strmap seg_map;     /* label -> segment */
} pp_ctable;
void pp_ctable_free(pp_ctable *t);
int pp_ctable_add(pp_ctable *t, const char *id, int32_t seg, size_t *idx, int *added);
/* The customers frame's ids and segments (a repeated or missing id is PROP_ERR_VALUE naming the row). */
int pp_ctable_read_customers(pp_ctable *t, const prop_frame *f, const char *id_col, const char *const *seg_cols,
                             size_t nseg_cols);

/* One contact attempt of the history. */
typedef struct pp_attempt {
  uint32_t cust;   /* customer of the table */
  uint16_t slot;   /* day type x block */
  uint16_t cell;   /* slot x channels + channel */
  uint8_t y;       /* connected */
  int64_t day;     /* local date, days since 1970-01-01 */
  int64_t minute;  /* local minutes since 1970-01-01 (the order of the held-out split) */
} pp_attempt;
/* Every row of history f as an attempt (*out malloc'd, *nout = rows), customers added to t, the
 * grid's channels set in g (o->channels, else the history's in byte order; o's hours must be set
 * in g by the caller).  A bad row stops it, naming file, row and column. */
int pp_read_history(const prop_frame *f, const prop_contact_options *o, pp_ctable *t, pp_grid *g, pp_attempt **out,
                    size_t *nout);

/* ---- fitting (contact_fit.c) -----------------------------------------------------------------
 * The data of a fit: attempts aggregated by (customer, cell) and sorted by customer. */
typedef struct pp_cobs {
  uint32_t cust;
  uint16_t cell;
  uint32_t n, y; /* attempts and connects */
} pp_cobs;

typedef struct pp_cdata {
  size_t ncust;      /* customers (index space of pp_cobs.cust) */
  const int32_t *seg; /* ncust: segment, or -1 */
  size_t nseg;
  const pp_grid *grid;
  pp_cobs *obs;      /* nobs, sorted by customer then cell */
  size_t nobs;
  int nthread;       /* as prop_contact_options.nthread */
} pp_cdata;

/* What a fit estimated. */
typedef struct pp_cfit {
  double tau2, sw2, su2, sv2; /* the variances of the segment deviations (log-odds, marginal) and of
                               the customers' intercepts, deviations by channel and by slot */
  double *p_global;        /* ncells */
  double *p_seg;           /* nseg x ncells */
  uint32_t *hist_row;      /* ncust: the customer's row of p_cust, UINT32_MAX without attempts */
  size_t nhist;            /* customers with attempts */
  float *p_cust;           /* nhist x ncells */
} pp_cfit;

/* The attempts idx[0..n) (idx NULL: att[0..n)) aggregated by (customer, cell) into d->obs (malloc'd,
 * also on failure). */
int pp_contact_aggregate(const pp_attempt *att, const size_t *idx, size_t n, pp_cdata *d);
/* Estimate the model on d.  *f is filled (its arrays malloc'd: pp_cfit_free). */
int pp_contact_estimate(const pp_cdata *d, pp_cfit *f);
void pp_cfit_free(pp_cfit *f);

/* ---- the held-out check (contact_holdout.c) ----------------------------------------------------
 * Fit on the attempts before the latest share frac (by time) of the n attempts of base's customers
 * and measure the three levels on that share; the report gets "holdout" (or null and
 * "holdout_skipped").  The customer level is recalibrated (logit p' = a + b logit p, fitted on the
 * held-out attempts of customers with earlier history, cross-fitted by customer for the report);
 * *a, *b get the map fitted on all of them (0 and 1: none, with too few such attempts). */
int pp_contact_holdout(const pp_attempt *att, size_t n, const pp_cdata *base, double frac, void *report, double *a,
                       double *b);
/* p' = logistic(a + b logit p) */
double pp_contact_recalibrate(double p, double a, double b);

/* ---- file (contact_io.c) ------------------------------------------------------------------- */
int pp_contact_serialize(const prop_contact *c, pp_buf *out);
int pp_contact_deserialize(const void *data, size_t len, const char *source, prop_contact **out);

/* ---- predictions (contact.c) ------------------------------------------------------------------
 * P(connect) of customer i (or of no known customer: i < 0, with segment seg or -1) in every cell
 * into p[ncells]. */
void pp_contact_cells(const prop_contact *c, long i, long seg, double *p);

#endif
