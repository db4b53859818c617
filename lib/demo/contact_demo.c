/* The demo's contact history (README "Demo data"): planted per-cell connect probabilities for the
 * customers of some months, their past contact attempts, the segment and phone file, and the truth.
 *
 * Planted P(connect) of customer i in cell (day type, block, channel):
 *   logit p = logit(the campaign's P(connect) of i) + pattern(age, day type, block, channel)
 *             + e_channel(i) + e_slot(i) + e_cell(i)
 * with the noise e ~ N(0, 0.5^2), N(0, 0.35^2), N(0, 0.2^2).  The pattern mixes three profiles by
 * age (smoothly: young below about 33, older above about 58): the young pick up their mobile in
 * the evening, working ages their office phone in office hours and their mobile at lunch, the older
 * their home phone in the daytime.  The bank's habit, weekday 10:00 on the mobile, suits nobody
 * in particular.
 *
 * Determinism: month m's customers are those of pp_demo_draw (the campaign files' customers), and
 * their contact data come from a stream of their own, pp_seed_derive(pp_seed_derive(seed,
 * CONTACT_STREAM), m), drawn customer by customer in order; arithmetic and formatting as demo.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"
#include "write/writer.h"

#define CONTACT_STREAM 0x636f6e74616374ull /* "contact" */
#define HISTORY_DAYS 119                   /* the attempts fall in the 17 weeks before the month */

static const char *const k_chan[PP_DEMO_CHANNELS] = {"home", "mobile", "office"}; /* byte order */

const char *pp_demo_channel_name(int ch) { return ch >= 0 && ch < PP_DEMO_CHANNELS ? k_chan[ch] : ""; }

/* Profiles by time block (08 .. 20) per channel, and a weekend shift per channel. */
static const double k_young[PP_DEMO_CHANNELS][PP_DEMO_BLOCKS + 1] = {
    {-1.4, -1.4, -1.2, -1.2, -1.0, -0.4, 0.0, 0.2}, /* home */
    {-0.9, -0.7, 0.0, -0.3, 0.2, 1.0, 1.1, 0.3},    /* mobile */
    {-1.2, -0.3, 0.0, -0.2, -0.3, -1.5, -2.0, -2.0}};
static const double k_middle[PP_DEMO_CHANNELS][PP_DEMO_BLOCKS + 1] = {
    {-0.6, -1.0, -1.0, -1.0, -0.8, 0.2, 0.6, 0.5},
    {-0.3, 0.0, 0.4, 0.0, 0.1, 0.6, 0.3, 0.2},
    {-0.8, 0.6, 0.3, 0.6, 0.4, -1.0, -2.0, -2.0}};
static const double k_older[PP_DEMO_CHANNELS][PP_DEMO_BLOCKS + 1] = {
    {0.3, 1.0, 0.8, 1.0, 0.9, 0.2, -0.6, 0.2},
    {-0.6, -0.4, -0.3, -0.4, -0.5, -0.7, -1.0, -0.2},
    {-1.5, -1.2, -1.2, -1.2, -1.3, -2.0, -2.5, -2.0}};

static double pattern(int age, int weekend, int block, int ch) {
  double wy = pp_demo_sigmoid((33.0 - age) / 4.0), wo = pp_demo_sigmoid((age - 58.0) / 4.0);
  double wm = 1.0 - wy - wo;
  if (wm < 0) wm = 0;
  double v = wy * k_young[ch][block] + wm * k_middle[ch][block] + wo * k_older[ch][block];
  if (weekend) v += wy * k_young[ch][PP_DEMO_BLOCKS] + wm * k_middle[ch][PP_DEMO_BLOCKS] + wo * k_older[ch][PP_DEMO_BLOCKS];
  return v;
}

const char *pp_demo_age_band(int age) {
  return age < 30 ? "18-29" : age < 40 ? "30-39" : age < 50 ? "40-49" : age < 60 ? "50-59" : "60+";
}

void pp_demo_contact_draw(pp_rng *r, const pp_demo_customer *c, int64_t month_start, pp_demo_contact *out) {
  double base = c->z_connect, ech[PP_DEMO_CHANNELS], eslot[2 * PP_DEMO_BLOCKS];
  for (int h = 0; h < PP_DEMO_CHANNELS; h++) ech[h] = 0.5 * pp_demo_normal(r);
  for (int t = 0; t < 2 * PP_DEMO_BLOCKS; t++) eslot[t] = 0.35 * pp_demo_normal(r);
  for (int k = 0; k < PP_DEMO_CELLS; k++) {
    int h = k % PP_DEMO_CHANNELS, t = k / PP_DEMO_CHANNELS;
    double z = base + pattern(c->age, t >= PP_DEMO_BLOCKS, t % PP_DEMO_BLOCKS, h) + ech[h] + eslot[t] +
               0.2 * pp_demo_normal(r);
    out->p[k] = pp_demo_sigmoid(z);
  }
  double u = pp_rng_uniform(r);
  out->nattempts = u < 0.12 ? 0 : 4 + (int)(pp_rng_uniform(r) * 17.0); /* 12% new customers, else 4 to 20 */
  int64_t first = month_start - HISTORY_DAYS - 1;
  first -= pp_day_of_week(first); /* the Monday on or before */
  for (int a = 0; a < out->nattempts; a++) {
    double uc = pp_rng_uniform(r), uk = pp_rng_uniform(r), uw = pp_rng_uniform(r), ud = pp_rng_uniform(r);
    double um = pp_rng_uniform(r), uo = pp_rng_uniform(r);
    /* the bank's habit: 40% at weekday 10:00 on the mobile, the rest anywhere */
    int k = uc < 0.4 ? 1 * PP_DEMO_CHANNELS + 1 : (int)(uk * PP_DEMO_CELLS);
    int t = k / PP_DEMO_CHANNELS, weekend = t >= PP_DEMO_BLOCKS;
    int dow = weekend ? 5 + (int)(ud * 2.0) : (int)(ud * 5.0);
    out->att[a].cell = k;
    out->att[a].day = first + 7 * (int64_t)(uw * 17.0) + dow;
    out->att[a].second = (8 + 2 * (t % PP_DEMO_BLOCKS)) * 3600 + (int)(um * 7200.0);
    out->att[a].connected = uo < out->p[k];
  }
}

int64_t pp_demo_month_start(size_t month) {
  return pp_days_from_civil(2025 + (int64_t)((month - 1) / 12), (int)((month - 1) % 12) + 1, 1);
}

void pp_demo_contact_rng(pp_rng *r, uint64_t seed, size_t month) {
  pp_rng_seed(r, pp_seed_derive(pp_seed_derive(seed, CONTACT_STREAM), (uint64_t)month));
}

/* ---- the files ------------------------------------------------------------------------------------ */
typedef struct hist_row {
  int64_t second; /* since 1970-01-01, local */
  uint64_t id;
  uint8_t cell, connected;
} hist_row;

static int cmp_hist(const void *a, const void *b) {
  const hist_row *x = a, *y = b;
  if (x->second != y->second) return x->second < y->second ? -1 : 1;
  if (x->id != y->id) return x->id < y->id ? -1 : 1;
  return (x->cell > y->cell) - (x->cell < y->cell);
}

static char *put_2(char *p, int v) {
  *p++ = (char)('0' + v / 10 % 10);
  *p++ = (char)('0' + v % 10);
  return p;
}

/* "YYYY-MM-DDTHH:MM:SS" */
static char *put_time(char *p, int64_t second) {
  int64_t day = second / 86400, y;
  int s = (int)(second - day * 86400), m, d;
  pp_civil_from_days(day, &y, &m, &d);
  p = pp_demo_put_u64(p, (uint64_t)y);
  *p++ = '-';
  p = put_2(p, m);
  *p++ = '-';
  p = put_2(p, d);
  *p++ = 'T';
  p = put_2(p, s / 3600);
  *p++ = ':';
  p = put_2(p, s / 60 % 60);
  *p++ = ':';
  return put_2(p, s % 60);
}

/* A phone number: prefix and nine digits drawn from the id. */
static char *put_phone(char *p, const char *prefix, uint64_t id, uint64_t mult) {
  p = pp_demo_put_str(p, prefix);
  uint64_t v = (id * mult) % 1000000000u;
  for (uint64_t d = 100000000u; d; d /= 10) *p++ = (char)('0' + v / d % 10);
  return p;
}

typedef struct contact_files {
  prop_writer *f[3]; /* history, customers, truth */
  int open;
  hist_row *rows;
  size_t nrows, cap;
} contact_files;

/* Text written as it is (the demo formats its own lines). */
static int put_text(prop_writer *w, const char *s) { return prop_writer_bytes(w, s, strlen(s)); }
static int put_line(prop_writer *w, const char *line, const char *end) { return prop_writer_bytes(w, line, (size_t)(end - line)); }

static int write_headers(contact_files *cf) {
  prop_writer *h = cf->f[0], *c = cf->f[1], *t = cf->f[2];
  int bad = put_text(h, "customer_id,time,channel,outcome\n") ||
            put_text(c, "customer_id,age_band,plans,mobile_phone,home_phone,office_phone\n") ||
            put_text(t, "customer_id,p_accept");
  for (int k = 0; k < PP_DEMO_CELLS && !bad; k++) {
    int slot = k / PP_DEMO_CHANNELS;
    char name[64], *p = name;
    p = pp_demo_put_str(p, slot >= PP_DEMO_BLOCKS ? ",weekend_" : ",weekday_");
    p = put_2(p, 8 + 2 * (slot % PP_DEMO_BLOCKS));
    *p++ = '_';
    p = pp_demo_put_str(p, k_chan[k % PP_DEMO_CHANNELS]);
    *p = '\0';
    bad = put_text(t, name);
  }
  return bad || put_text(t, "\n");
}

/* One customer: its customers and truth rows, and its attempts kept for the sorted history. */
static int write_customer(contact_files *cf, const pp_demo_customer *c, const pp_demo_contact *ct) {
  char line[1024], *p = line;
  p = pp_demo_put_u64(p, c->id);
  *p++ = ',';
  p = pp_demo_put_str(p, pp_demo_age_band(c->age));
  p = pp_demo_put_str(p, c->past_installments == 0 ? ",none" : c->past_installments == 1 ? ",one" : ",several");
  p = put_phone(p, ",+447", c->id, 2654435761u);
  p = put_phone(p, ",+441", c->id, 40503u);
  p = put_phone(p, ",+442", c->id, 2246822519u);
  *p++ = '\n';
  if (put_line(cf->f[1], line, p)) return -1;
  p = line;
  p = pp_demo_put_u64(p, c->id);
  *p++ = ',';
  p = pp_demo_put_fixed(p, c->p_accept, 6);
  for (int k = 0; k < PP_DEMO_CELLS; k++) {
    *p++ = ',';
    p = pp_demo_put_fixed(p, ct->p[k], 6);
  }
  *p++ = '\n';
  if (put_line(cf->f[2], line, p)) return -1;
  if (cf->nrows + PP_DEMO_MAX_ATTEMPTS > cf->cap) {
    size_t cap = cf->cap ? 2 * cf->cap : 65536;
    if (pp_realloc_array(&cf->rows, cap, sizeof *cf->rows)) return -2;
    cf->cap = cap;
  }
  for (int a = 0; a < ct->nattempts; a++)
    cf->rows[cf->nrows++] = (hist_row){ct->att[a].day * 86400 + ct->att[a].second, c->id, (uint8_t)ct->att[a].cell,
                                       (uint8_t)ct->att[a].connected};
  return 0;
}

static int write_history(contact_files *cf) {
  qsort(cf->rows, cf->nrows, sizeof *cf->rows, cmp_hist);
  char line[128];
  for (size_t q = 0; q < cf->nrows; q++) {
    char *p = pp_demo_put_u64(line, cf->rows[q].id);
    *p++ = ',';
    p = put_time(p, cf->rows[q].second);
    *p++ = ',';
    p = pp_demo_put_str(p, k_chan[cf->rows[q].cell % PP_DEMO_CHANNELS]);
    p = pp_demo_put_str(p, cf->rows[q].connected ? ",connected\n" : ",no_answer\n");
    if (put_line(cf->f[0], line, p)) return -1;
  }
  return 0;
}

int prop_demo_write_contacts(const char *history_path, const char *customers_path, const char *truth_path,
                             const prop_demo_options *opt) {
  if (!history_path || !customers_path || !truth_path || !opt)
    return pp_err(PROP_ERR_ARG, "demo contacts: NULL argument");
  if (opt->customers_per_month == 0 || opt->months == 0 || opt->first_month == 0 ||
      opt->customers_per_month > 10000000u || opt->months > 120u)
    return pp_err(PROP_ERR_ARG, "demo contacts: %zu customers a month for %zu months from month %zu (1..10^7 a month, 1..120 months)",
                  opt->customers_per_month, opt->months, opt->first_month);
  contact_files cf;
  memset(&cf, 0, sizeof cf);
  const char *paths[3] = {history_path, customers_path, truth_path};
  int rc = 0;
  for (; cf.open < 3 && !rc; cf.open++)
    if ((rc = prop_writer_open(paths[cf.open], NULL, &cf.f[cf.open]))) break;
  int bad = rc ? 0 : write_headers(&cf);
  for (size_t m = opt->first_month; !rc && !bad && m < opt->first_month + opt->months; m++) {
    pp_rng rng, crng;
    pp_demo_month_rng(&rng, opt->seed, m);
    pp_demo_contact_rng(&crng, opt->seed, m);
    int64_t start = pp_demo_month_start(m);
    for (size_t i = 0; !bad && i < opt->customers_per_month; i++) {
      pp_demo_customer c;
      pp_demo_contact ct;
      pp_demo_draw(&rng, m, i, opt->customers_per_month, opt->missing_rate, &c);
      pp_demo_contact_draw(&crng, &c, start, &ct);
      bad = write_customer(&cf, &c, &ct);
    }
  }
  if (!rc && !bad) bad = write_history(&cf);
  free(cf.rows);
  if (!rc && bad) rc = bad == -2 ? PROP_ERR_NOMEM : prop_last_error_code(); /* the writer named file and cause */
  for (int q = 0; q < 3 && !rc; q++) rc = prop_writer_sync(cf.f[q]); /* all on disk before any is renamed */
  for (int q = 0; q < 3; q++) {
    if (!rc) rc = prop_writer_commit(cf.f[q]);
    else prop_writer_abort(cf.f[q]);
  }
  return rc;
}
