/* ISO 8601 timestamps of the contact history (dates by common's calendar arithmetic: no time zone
 * database, no libc time functions, so the host's TZ cannot change a cell). */
#include <stdio.h>
#include <string.h>

#include "contact/contact.h"

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int64_t y, int m) {
  static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* n decimal digits at *p into *out; advances *p.  0, or -1 when a digit is missing. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if ((*p)[i] < '0' || (*p)[i] > '9') return -1;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int fail(char *why, size_t cap, const char *msg) {
  snprintf(why, cap, "%s", msg);
  return -1;
}

/* The zone after the time: none, Z, +HH, +HHMM, +HH:MM.  *has gets 1 with one, *off its minutes. */
static int parse_zone(const char *p, int *has, int *off, char *why, size_t cap) {
  *has = 0;
  *off = 0;
  if (*p == '\0') return 0;
  if (*p == 'Z' || *p == 'z') {
    *has = 1;
    return p[1] == '\0' ? 0 : fail(why, cap, "unexpected text after the zone");
  }
  if (*p != '+' && *p != '-') return fail(why, cap, "unexpected text after the time");
  int sign = *p == '-' ? -1 : 1, hh, mm = 0;
  p++;
  if (digits(&p, 2, &hh)) return fail(why, cap, "the zone offset must be +HH, +HHMM or +HH:MM");
  if (*p == ':') p++;
  if (*p && digits(&p, 2, &mm)) return fail(why, cap, "the zone offset must be +HH, +HHMM or +HH:MM");
  if (*p) return fail(why, cap, "unexpected text after the zone");
  if (hh > 14 || mm > 59 || hh * 60 + mm > 14 * 60) return fail(why, cap, "the zone offset is beyond +-14:00");
  *has = 1;
  *off = sign * (hh * 60 + mm);
  return 0;
}

int pp_parse_iso8601(const char *s, int tz_minutes, pp_when *w, char *why, size_t cap) {
  if (!s) return fail(why, cap, "the time is missing");
  const char *p = s;
  int y, mo, d, hh, mi, ss = 0;
  if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
    return fail(why, cap, "not an ISO 8601 date and time (YYYY-MM-DDTHH:MM:SS)");
  if (*p != 'T' && *p != 't' && *p != ' ') return fail(why, cap, "not an ISO 8601 date and time (YYYY-MM-DDTHH:MM:SS)");
  p++;
  if (digits(&p, 2, &hh) || *p++ != ':' || digits(&p, 2, &mi))
    return fail(why, cap, "not an ISO 8601 date and time (YYYY-MM-DDTHH:MM:SS)");
  if (*p == ':') {
    p++;
    if (digits(&p, 2, &ss)) return fail(why, cap, "the seconds must be two digits");
    if (*p == '.' || *p == ',') {
      p++;
      if (*p < '0' || *p > '9') return fail(why, cap, "a decimal point without digits");
      while (*p >= '0' && *p <= '9') p++;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo)) return fail(why, cap, "no such date");
  if (hh > 23 || mi > 59 || ss > 60) return fail(why, cap, "no such time of day");
  int has_zone, off;
  if (parse_zone(p, &has_zone, &off, why, cap)) return -1;
  int64_t minutes = pp_days_from_civil(y, mo, d) * 1440 + hh * 60 + mi;
  if (has_zone && tz_minutes != PROP_CONTACT_TZ_AS_WRITTEN) minutes += (int64_t)tz_minutes - off;
  int64_t day = minutes >= 0 ? minutes / 1440 : -((-minutes + 1439) / 1440);
  w->day = day;
  w->minute = (int)(minutes - day * 1440);
  w->weekend = pp_day_of_week(day) >= 5;
  return 0;
}
