/* Time columns: the period of each row, as train, compare and backtest read their time column.
 *
 * A cell is one of four formats, one format per column:
 *   - an integer (1, 2, ... or 202606; a numeric cell with a whole value, or text reading as one);
 *   - YYYY-MM (2026-06);
 *   - an ISO date YYYY-MM-DD (2026-06-15), read as its month: the back-tests are monthly.
 * A column of integers that are all six digits with a month 01..12 is YYYYMM.  The key of a period
 * orders the periods: the integer itself, or year x 100 + month for the other formats (so 202606,
 * 2026-06 and 2026-06-15 share a key).  Outputs name a period "6" for an integer, "2026-06" for the
 * others. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

#define PERIODS_READ "an integer, YYYYMM, YYYY-MM or YYYY-MM-DD"
#define MAX_EXACT 9007199254740992.0 /* 2^53: integers beyond it are not exact in a double */

enum { CELL_INTEGER = 0, CELL_YEAR_MONTH = 1, CELL_DATE = 2 }; /* a cell's own format */
static const char *const k_cell_name[3] = {"an integer", "YYYY-MM", "a date YYYY-MM-DD"};

static int digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

static int number_of(const char *s, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) v = 10 * v + (s[i] - '0');
  return v;
}

static int days_in_month(int y, int m) {
  static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d[m - 1] + (m == 2 && leap);
}

static int whole(double v) { return isfinite(v) && v == floor(v) && fabs(v) <= MAX_EXACT; }

/* One text cell: *cell its format, *key its key.  0, or -1 when it is none of the formats. */
static int read_cell(const char *s, int *cell, double *key) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if ((n == 7 || n == 10) && digits(s, 4) && s[4] == '-' && digits(s + 5, 2)) {
    int y = number_of(s, 4), m = number_of(s + 5, 2);
    if (y < 1000 || m < 1 || m > 12) return -1;
    if (n == 10) {
      if (s[7] != '-' || !digits(s + 8, 2)) return -1;
      int d = number_of(s + 8, 2);
      if (d < 1 || d > days_in_month(y, m)) return -1;
    }
    *cell = n == 7 ? CELL_YEAR_MONTH : CELL_DATE;
    *key = 100.0 * y + m;
    return 0;
  }
  char buf[64];
  double v;
  if (n >= sizeof buf) return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (pp_parse_double(buf, &v) != 0 || !whole(v)) return -1;
  *cell = CELL_INTEGER;
  *key = v + 0.0;
  return 0;
}

int pp_period_is_yyyymm(double key) {
  if (!(key >= 100001 && key <= 999912) || key != floor(key)) return 0;
  int m = (int)fmod(key, 100.0);
  return m >= 1 && m <= 12;
}

/* The text of row i of column c (NULL when missing); numbers into buf. */
static const char *cell_text(const pp_column *c, size_t i, char *buf) {
  if (c->type == PROP_COL_NUMERIC) return isnan(c->num[i]) ? NULL : strcpy(buf, PP_G(c->num[i]));
  if (c->type == PROP_COL_ID) return c->str[i];
  return c->code[i] < 0 ? NULL : c->dict[c->code[i]];
}

static int not_a_period(const prop_frame *f, size_t i, const char *col, const char *s) {
  char shown[64];
  pp_cell_excerpt(s, strlen(s), shown, sizeof shown);
  return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: '%s' is not a period (" PERIODS_READ ")", pp_frame_source(f),
                prop_frame_row_number(f, i), col, shown);
}

int pp_frame_periods(const prop_frame *f, const char *col, double *key, int *format) {
  if (!f || !col) return pp_err(PROP_ERR_ARG, "pp_frame_periods: NULL argument");
  long j = prop_frame_find(f, col);
  if (j < 0) return pp_err(PROP_ERR_SCHEMA, "%s: time column '%s' not found", pp_frame_source(f), col);
  const pp_column *c = &f->cols[j];
  int first_cell = -1, all_yyyymm = 1;
  size_t first = 0;
  char text[40];
  for (size_t i = 0; i < f->nrows; i++) {
    const char *s = cell_text(c, i, text);
    int cell = CELL_INTEGER;
    double k = 0;
    if (!s)
      return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: missing time value", pp_frame_source(f), prop_frame_row_number(f, i),
                    col);
    if (c->type == PROP_COL_NUMERIC) {
      if (!whole(c->num[i])) return not_a_period(f, i, col, s);
      k = c->num[i] + 0.0; /* -0 reads as 0 */
    } else if (read_cell(s, &cell, &k) != 0) {
      return not_a_period(f, i, col, s);
    }
    if (first_cell < 0) {
      first_cell = cell;
      first = i;
    } else if (cell != first_cell) {
      char shown[64], was[64], tmp[40];
      const char *w = cell_text(c, first, tmp);
      pp_cell_excerpt(s, strlen(s), shown, sizeof shown);
      pp_cell_excerpt(w, strlen(w), was, sizeof was);
      return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: '%s' is %s, but row %zu has '%s', %s: one format per time column",
                    pp_frame_source(f), prop_frame_row_number(f, i), col, shown, k_cell_name[cell],
                    prop_frame_row_number(f, first), was, k_cell_name[first_cell]);
    }
    all_yyyymm &= pp_period_is_yyyymm(k);
    if (key) key[i] = k;
  }
  if (format)
    *format = first_cell == CELL_YEAR_MONTH ? PROP_PERIOD_YEAR_MONTH
              : first_cell == CELL_DATE     ? PROP_PERIOD_DATE
              : all_yyyymm && first_cell == CELL_INTEGER ? PROP_PERIOD_YYYYMM
                                                         : PROP_PERIOD_INTEGER;
  return 0;
}

void pp_period_name(double key, int format, char *buf, size_t n) {
  if (!buf || !n) return;
  if (format != PROP_PERIOD_INTEGER && pp_period_is_yyyymm(key)) {
    long v = (long)key;
    snprintf(buf, n, "%04ld-%02ld", v / 100, v % 100);
  } else if (whole(key)) {
    snprintf(buf, n, "%.0f", key);
  } else {
    snprintf(buf, n, "%s", PP_G(key));
  }
}

/* ---- public ------------------------------------------------------------------------------------ */
int prop_frame_periods(const prop_frame *f, const char *name, double *key, int *format) {
  if (!f || !name) return pp_err(PROP_ERR_ARG, "prop_frame_periods: NULL argument");
  return pp_frame_periods(f, name, key, format);
}

int prop_period_name(double key, int format, char *buf, size_t n) {
  if (!buf || n < 2 || format < PROP_PERIOD_INTEGER || format > PROP_PERIOD_DATE)
    return pp_err(PROP_ERR_ARG, "prop_period_name: a buffer of at least 2 bytes and a prop_period_format are needed");
  pp_period_name(key, format, buf, n);
  return 0;
}
