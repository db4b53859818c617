/* The contact model's honesty check: fitted on the earlier history, measured on the latest share
 * of it by time, at its three levels (global cells, segment cells, the customer's own), with
 * log-loss, Brier score, calibration (ECE over ten bins, the calibration line, the bins) and the
 * recalibration of the customer level. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "contact/contact.h"

#define MIN_HOLDOUT_ATTEMPTS 20
#define MIN_RECALIBRATION 200 /* held-out attempts of customers with history, per fold */

double pp_contact_recalibrate(double p, double a, double b) {
  double z = a + b * pp_logit_clamped(p, 1e-9);
  return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
}

typedef struct level_stats {
  double ll, brier, sum_p, sum_y;
  size_t n;
  double bin_n[10], bin_p[10], bin_y[10];
} level_stats;

static void stats_add(level_stats *s, double p, int y) {
  double q = p < 1e-15 ? 1e-15 : p > 1 - 1e-15 ? 1 - 1e-15 : p;
  s->ll -= y ? log(q) : log(1 - q);
  s->brier += (p - y) * (p - y);
  s->sum_p += p;
  s->sum_y += y;
  s->n++;
  int b = (int)(p * 10);
  b = b > 9 ? 9 : b < 0 ? 0 : b;
  s->bin_n[b]++;
  s->bin_p[b] += p;
  s->bin_y[b] += y;
}

/* The calibration line y ~ logistic(a + b logit(p)) over the q with use[q] (NULL: all) by Newton's
 * method; a = 0, b = 1 when it cannot be fitted. */
static void calibration_line(const double *p, const uint8_t *y, const uint8_t *use, size_t n, double *a, double *b) {
  *a = 0;
  *b = 1;
  for (int it = 0; it < 50; it++) {
    double g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0;
    for (size_t q = 0; q < n; q++) {
      if (use && !use[q]) continue;
      double x = pp_logit_clamped(p[q], 1e-9), m = pp_contact_recalibrate(p[q], *a, *b), w = m * (1 - m);
      g0 += y[q] - m;
      g1 += (y[q] - m) * x;
      h00 += w;
      h01 += w * x;
      h11 += w * x * x;
    }
    double det = h00 * h11 - h01 * h01;
    if (!(det > 1e-12)) {
      *a = 0;
      *b = 1;
      return;
    }
    double da = (h11 * g0 - h01 * g1) / det, db = (h00 * g1 - h01 * g0) / det;
    *a += da;
    *b += db;
    if (fabs(da) + fabs(db) < 1e-10) break;
  }
  if (!isfinite(*a) || !isfinite(*b)) *a = 0, *b = 1;
}

/* jansson takes v's reference also when it fails (o NULL: out of memory), so nothing leaks. */
static void jset(int *bad, json_t *o, const char *key, json_t *v) {
  if (!v || json_object_set_new(o, key, v)) *bad = 1;
}

static json_t *level_json(const char *name, const double *p, const uint8_t *y, size_t n, int *bad) {
  level_stats s;
  memset(&s, 0, sizeof s);
  for (size_t q = 0; q < n; q++) stats_add(&s, p[q], y[q]);
  double ece = 0, a, b;
  json_t *bins = json_array(), *o = json_object();
  for (int q = 0; q < 10; q++) {
    if (!s.bin_n[q]) continue;
    ece += fabs(s.bin_p[q] - s.bin_y[q]) / (double)n;
    json_t *bin = json_pack("{s:f,s:f,s:I,s:f,s:f}", "lo", q / 10.0, "hi", (q + 1) / 10.0, "count", (json_int_t)s.bin_n[q],
                            "mean_p", s.bin_p[q] / s.bin_n[q], "rate", s.bin_y[q] / s.bin_n[q]);
    if (!bin || json_array_append_new(bins, bin)) *bad = 1; /* takes bin also when bins is NULL */
  }
  calibration_line(p, y, NULL, n, &a, &b);
  jset(bad, o, "level", json_string(name));
  jset(bad, o, "log_loss", json_real(s.ll / (double)n));
  jset(bad, o, "brier", json_real(s.brier / (double)n));
  jset(bad, o, "ece", json_real(ece));
  jset(bad, o, "mean_p", json_real(s.sum_p / (double)n));
  jset(bad, o, "rate", json_real(s.sum_y / (double)n));
  jset(bad, o, "calibration_intercept", json_real(a));
  jset(bad, o, "calibration_slope", json_real(b));
  jset(bad, o, "bins", bins);
  return o;
}

/* The held-out predictions of the levels: pl[0..3) global, segment, customer; hist[q]: the customer
 * had history in the fit; fold[q]: its customer's parity. */
typedef struct held {
  double *pl[4]; /* and pl[3]: the customer level recalibrated by the other fold's line */
  uint8_t *y, *hist, *fold;
} held;

static void held_free(held *h) {
  for (int l = 0; l < 4; l++) free(h->pl[l]);
  free(h->y);
  free(h->hist);
  free(h->fold);
}

static int held_fill(held *h, const pp_attempt *att, const size_t *test, size_t n, const int32_t *seg,
                     const pp_cfit *f, size_t K) {
  memset(h, 0, sizeof *h);
  for (int l = 0; l < 4; l++)
    if (!(h->pl[l] = pp_malloc_array(n, sizeof(double)))) return PROP_ERR_NOMEM;
  h->y = pp_malloc_array(n, 1);
  h->hist = pp_malloc_array(n, 1);
  h->fold = pp_malloc_array(n, 1);
  if (!h->y || !h->hist || !h->fold) return PROP_ERR_NOMEM;
  for (size_t q = 0; q < n; q++) {
    const pp_attempt *a = &att[test[q]];
    int32_t s = seg[a->cust];
    uint32_t row = f->hist_row[a->cust];
    h->pl[0][q] = f->p_global[a->cell];
    h->pl[1][q] = s >= 0 ? f->p_seg[(size_t)s * K + a->cell] : h->pl[0][q];
    h->pl[2][q] = row != UINT32_MAX ? (double)f->p_cust[(size_t)row * K + a->cell] : h->pl[1][q];
    h->y[q] = a->y;
    h->hist[q] = row != UINT32_MAX;
    h->fold[q] = (uint8_t)(a->cust & 1u);
  }
  return 0;
}

/* The recalibration of the customer level: each fold's customers through the other fold's line
 * (pl[3]), and the line of all into *a, *b.  Identity with too few attempts of customers with
 * history in either fold. */
static int recalibrate(held *h, size_t n, double *a, double *b, size_t *used) {
  uint8_t *use = pp_malloc_array(n, 1);
  if (!use) return PROP_ERR_NOMEM;
  double fa[2] = {0, 0}, fb[2] = {1, 1};
  size_t cnt[2] = {0, 0};
  for (size_t q = 0; q < n; q++) cnt[h->fold[q]] += h->hist[q];
  int fit = cnt[0] >= MIN_RECALIBRATION && cnt[1] >= MIN_RECALIBRATION;
  for (int f = 0; f < 2 && fit; f++) {
    for (size_t q = 0; q < n; q++) use[q] = h->hist[q] && h->fold[q] == f;
    calibration_line(h->pl[2], h->y, use, n, &fa[f], &fb[f]);
  }
  for (size_t q = 0; q < n; q++) {
    int other = !h->fold[q];
    h->pl[3][q] = h->hist[q] ? pp_contact_recalibrate(h->pl[2][q], fa[other], fb[other]) : h->pl[2][q];
    use[q] = h->hist[q];
  }
  *a = 0;
  *b = 1;
  if (fit) calibration_line(h->pl[2], h->y, use, n, a, b);
  *used = fit ? cnt[0] + cnt[1] : 0;
  free(use);
  return 0;
}

typedef struct timed {
  int64_t minute;
  size_t idx;
} timed;

static int cmp_timed(const void *a, const void *b) {
  const timed *x = a, *y = b;
  if (x->minute != y->minute) return x->minute < y->minute ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The attempts in time order (ties in row order) into order[n]. */
static int time_order(const pp_attempt *att, size_t n, size_t *order) {
  timed *t = pp_malloc_array(n, sizeof *t);
  if (!t) return PROP_ERR_NOMEM;
  for (size_t q = 0; q < n; q++) t[q] = (timed){att[q].minute, q};
  qsort(t, n, sizeof *t, cmp_timed);
  for (size_t q = 0; q < n; q++) order[q] = t[q].idx;
  free(t);
  return 0;
}

static void time_text(int64_t minute, char *buf, size_t cap) {
  int64_t y, day = minute >= 0 ? minute / 1440 : -((-minute + 1439) / 1440);
  int m, d, mod = (int)(minute - day * 1440);
  pp_civil_from_days(day, &y, &m, &d);
  snprintf(buf, cap, "%04lld-%02d-%02dT%02d:%02d", (long long)y, m, d, mod / 60, mod % 60);
}

/* The "holdout" object of the measured test attempts. */
static int holdout_object(const pp_attempt *att, const size_t *order, size_t n, size_t ntest, held *h, double frac,
                          double *a, double *b, json_t *report) {
  size_t used;
  PP_TRY(recalibrate(h, ntest, a, b, &used));
  int bad = 0;
  json_t *o = json_object(), *levels = json_array(), *rc = json_object();
  static const char *const names[4] = {"global", "segment", "customer", "customer_recalibrated"};
  for (int l = 0; l < 4; l++) {
    json_t *lv = level_json(names[l], h->pl[l], h->y, ntest, &bad);
    if (!lv || json_array_append_new(levels, lv)) bad = 1; /* takes lv also when levels is NULL */
  }
  char from[32];
  time_text(att[order[n - ntest]].minute, from, sizeof from);
  jset(&bad, o, "fraction", json_real(frac));
  jset(&bad, o, "train_attempts", json_integer((json_int_t)(n - ntest)));
  jset(&bad, o, "test_attempts", json_integer((json_int_t)ntest));
  jset(&bad, o, "test_from", json_string(from));
  jset(&bad, o, "levels", levels);
  jset(&bad, rc, "intercept", json_real(*a));
  jset(&bad, rc, "slope", json_real(*b));
  jset(&bad, rc, "attempts", json_integer((json_int_t)used));
  jset(&bad, o, "recalibration", rc);
  jset(&bad, report, "holdout", o);
  return bad ? pp_err(PROP_ERR_NOMEM, "contact model: out of memory") : 0;
}

int pp_contact_holdout(const pp_attempt *att, size_t n, const pp_cdata *base, double frac, void *report_v, double *a,
                       double *b) {
  json_t *report = report_v;
  size_t ntest = (size_t)ceil(frac * (double)n);
  *a = 0;
  *b = 1;
  if (frac <= 0 || n < MIN_HOLDOUT_ATTEMPTS || ntest == 0 || ntest >= n) {
    int bad = 0;
    jset(&bad, report, "holdout", json_null());
    jset(&bad, report, "holdout_skipped",
         json_string(frac <= 0 ? "holdout_fraction is 0" : "fewer than 20 attempts"));
    return bad ? pp_err(PROP_ERR_NOMEM, "contact model: out of memory") : 0;
  }
  size_t *order = pp_malloc_array(n, sizeof *order);
  if (!order) return PROP_ERR_NOMEM;
  pp_cdata d = *base;
  pp_cfit f;
  held h;
  memset(&h, 0, sizeof h);
  int rc = time_order(att, n, order);
  if (!rc) rc = pp_contact_aggregate(att, order, n - ntest, &d);
  if (!rc) rc = pp_contact_estimate(&d, &f);
  free(d.obs);
  if (!rc) {
    rc = held_fill(&h, att, order + (n - ntest), ntest, base->seg, &f, pp_grid_ncells(base->grid));
    if (!rc) rc = holdout_object(att, order, n, ntest, &h, frac, a, b, report);
    pp_cfit_free(&f);
  }
  held_free(&h);
  free(order);
  return rc;
}
