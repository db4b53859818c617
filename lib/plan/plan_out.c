/* A plan's rows as fields of its layouts (the plan CSV; VICIdial's list loader), the reasons of
 * rows not called, and the summary JSON.
 *
 * VICIdial: the list loader VICIDIAL_IN_new_leads_file.pl reads tab-delimited lead files; its
 * format "stdrankowner" (--format=stdrankowner) is the standard lead layout with rank and owner
 * added: vendor_lead_code, source_id, list_id, phone_code, phone_number, title, first_name, middle,
 * last_name, address1, address2, address3, city, state, province, postal_code, country, gender,
 * date_of_birth, alt_phone, email, security_phrase, comments, called_count, status, entry_date, rank,
 * owner, multi-alt-entries (the loader's --help, and its parser of that format, in VICIdial's
 * bin/VICIDIAL_IN_new_leads_file.pl, version 2.12 of 2016, read from the public mirror
 * github.com/ccabrerar/vicidial).  The mapping is ours (models/README.md "VICIdial lead files"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "plan/plan.h"
#include "write/writer.h"

size_t prop_plan_n_rows(const prop_plan *p) { return p ? p->n : 0; }
const char *prop_plan_summary_json(const prop_plan *p) { return p && p->summary_json ? p->summary_json : "{}"; }

static size_t slot_of(const prop_plan *p, size_t i) { return (size_t)p->cell[i] / p->nchan; }

/* "a", "a or b", "a, b or c": the tiers of mask. */
static void tier_list(const prop_plan *p, uint32_t mask, char *buf, size_t cap) {
  size_t total = 0, seen = 0, len = 0;
  for (size_t t = 0; t < p->ntiers; t++) total += mask >> t & 1u;
  buf[0] = '\0';
  for (size_t t = 0; t < p->ntiers && len < cap; t++) {
    if (!(mask >> t & 1u)) continue;
    const char *sep = seen == 0 ? "" : seen + 1 == total ? " or " : ", ";
    int w = snprintf(buf + len, cap - len, "%s%s", sep, p->tier_names[t]);
    if (w < 0) break;
    len += (size_t)w;
    seen++;
  }
}

void pp_plan_reason(const prop_plan *p, size_t i, char *buf, size_t cap) {
  char tiers[512];
  tier_list(p, p->detail[i], tiers, sizeof tiers);
  switch (p->why[i]) {
    case PP_WHY_CALLED: buf[0] = '\0'; break;
    case PP_WHY_UNSCORED: snprintf(buf, cap, "%s", p->err_off[i] != SIZE_MAX ? (const char *)p->text.data + p->err_off[i] : "not scored"); break;
    case PP_WHY_NO_ID: snprintf(buf, cap, "the id is missing"); break;
    case PP_WHY_CAP:
      if (p->cap_window)
        snprintf(buf, cap, "attempt cap: %u attempts in the last %ld days (cap %ld)", (unsigned)p->detail[i], p->cap_window,
                 p->cap_max);
      else snprintf(buf, cap, "attempt cap: %u attempts in the history (cap %ld)", (unsigned)p->detail[i], p->cap_max);
      break;
    case PP_WHY_NO_TIER: snprintf(buf, cap, "no tier takes band %d", (int)p->band[i]); break;
    case PP_WHY_NO_PHONE: snprintf(buf, cap, "no phone number on the channels of %s", tiers); break;
    case PP_WHY_BELOW_MIN: snprintf(buf, cap, "expected value below the minimum of %s", tiers); break;
    default: snprintf(buf, cap, "no %s capacity left in any open slot", tiers); break;
  }
}

int prop_plan_row_get(const prop_plan *p, size_t i, prop_plan_row *row) {
  if (!p || !row) return pp_err(PROP_ERR_ARG, "prop_plan_row_get: NULL argument");
  /* a caller built against an older header has a shorter struct: it gets the fields it knows */
  size_t size = row->struct_size;
  if (size < sizeof size)
    return pp_err(PROP_ERR_ARG, "prop_plan_row: struct_size is %zu: set it to sizeof(prop_plan_row)", size);
  if (i >= p->n) return pp_err(PROP_ERR_RANGE, "prop_plan_row_get: row %zu of %zu", i, p->n);
  prop_plan_row own;
  memset(&own, 0, sizeof own);
  int called = p->tier[i] >= 0;
  own.tier = called ? p->tier_names[p->tier[i]] : "";
  own.tier_index = p->tier[i];
  own.cell = called ? p->cell[i] : -1;
  own.slot = called ? slot_of(p, i) : 0;
  own.p_connect = p->pconn[i];
  own.expected_value = p->ev[i];
  own.slot_rank = p->slot_rank[i];
  own.dialer_rank = called ? (p->slot_rank[i] > PROP_DIALER_RANK_MAX ? 1 : PROP_DIALER_RANK_MAX + 1 - (int)p->slot_rank[i]) : 0;
  own.phone = (const char *)p->text.data + p->phone_off[i];
  own.struct_size = size;
  memcpy(row, &own, size < sizeof own ? size : sizeof own);
  return 0;
}

/* ---- layouts ------------------------------------------------------------------------------------- */
static const char *const k_csv[] = {"id", "probability", "band", "tier", "channel", "day", "hour",
                                    "p_connect", "expected_value", "slot_rank", "error"};
static const char *const k_vici[] = {"vendor_lead_code", "source_id", "list_id", "phone_code", "phone_number", "title",
                                     "first_name", "middle", "last_name", "address1", "address2", "address3", "city",
                                     "state", "province", "postal_code", "country", "gender", "date_of_birth",
                                     "alt_phone", "email", "security_phrase", "comments", "called_count", "status",
                                     "entry_date", "rank", "owner", "multi_alt_entries"};
#define N_CSV (sizeof k_csv / sizeof k_csv[0])
#define N_VICI (sizeof k_vici / sizeof k_vici[0])

size_t prop_plan_columns(int format, const char *const **names) {
  if (format == PROP_PLAN_CSV) {
    if (names) *names = k_csv;
    return N_CSV;
  }
  if (format == PROP_PLAN_VICIDIAL) {
    if (names) *names = k_vici;
    return N_VICI;
  }
  if (names) *names = NULL;
  return 0;
}

typedef struct outbuf {
  char *buf;
  size_t cap, len;
  int full;
} outbuf;

/* Append a formatted field to b; returns its start (or "" when it did not fit: b->full is set). */
static const char *put(outbuf *b, const char *fmt, ...) PP_PRINTF(2, 3);
static const char *put(outbuf *b, const char *fmt, ...) {
  char tmp[1200];
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (w < 0 || (size_t)w >= sizeof tmp || b->len + (size_t)w + 1 > b->cap) {
    b->full = 1;
    return "";
  }
  char *s = b->buf + b->len;
  memcpy(s, tmp, (size_t)w + 1);
  b->len += (size_t)w + 1;
  return s;
}

/* A number in the C locale (round trip). */
static const char *num(outbuf *b, double v) {
  char tmp[40];
  pp_snprintf_c(tmp, sizeof tmp, "%.17g", v);
  return put(b, "%s", tmp);
}

/* A lead file's field: no tab, '|' or line break. */
static const char *clean(char *s) {
  for (char *q = s; *q; q++)
    if (*q == '\t' || *q == '|' || *q == '\r' || *q == '\n') *q = ' ';
  return s;
}

static void csv_fields(const prop_plan *p, size_t i, const char **f, outbuf *b) {
  int called = p->tier[i] >= 0, scored = p->prob[i] == p->prob[i];
  char why[1100];
  f[0] = (const char *)p->text.data + p->id_off[i];
  f[1] = scored ? num(b, p->prob[i]) : "";
  f[2] = put(b, "%d", (int)p->band[i]);
  f[3] = called ? p->tier_names[p->tier[i]] : "";
  f[4] = called ? p->chan_names[(size_t)p->cell[i] % p->nchan] : "";
  f[5] = called ? pp_grid_day_name(slot_of(p, i) >= p->nblocks) : "";
  f[6] = called ? put(b, "%d", p->first_hour + (int)(slot_of(p, i) % p->nblocks) * p->block_hours) : "";
  f[7] = called ? num(b, p->pconn[i]) : "";
  f[8] = called ? num(b, p->ev[i]) : "";
  f[9] = called ? put(b, "%u", (unsigned)p->slot_rank[i]) : "";
  pp_plan_reason(p, i, why, sizeof why);
  f[10] = put(b, "%s", why);
}

static void vici_fields(const prop_plan *p, size_t i, const char **f, outbuf *b) {
  prop_plan_row r = {sizeof r, NULL, 0, 0, 0, 0, 0, 0, 0, NULL};
  prop_plan_row_get(p, i, &r);
  size_t slot = slot_of(p, i);
  char c1[40], c2[40], c3[40];
  pp_snprintf_c(c1, sizeof c1, "%.4f", r.p_connect);
  pp_snprintf_c(c2, sizeof c2, "%.4f", p->prob[i]);
  pp_snprintf_c(c3, sizeof c3, "%.6g", r.expected_value);
  for (size_t k = 0; k < N_VICI; k++) f[k] = "";
  f[0] = clean((char *)put(b, "%s", (const char *)p->text.data + p->id_off[i]));
  f[1] = p->source_id;
  f[2] = put(b, "%ld", p->list_id + (long)slot);
  f[3] = p->phone_code;
  f[4] = clean((char *)put(b, "%s", r.phone));
  f[22] = clean((char *)put(b, "tier=%s channel=%s slot=%s_%02d p_connect=%s p_accept=%s expected_value=%s band=%d", r.tier,
                            p->chan_names[(size_t)p->cell[i] % p->nchan], pp_grid_day_name(slot >= p->nblocks),
                            p->first_hour + (int)(slot % p->nblocks) * p->block_hours, c1, c2, c3, (int)p->band[i]));
  f[26] = put(b, "%d", r.dialer_rank);
  f[27] = p->tier_names[p->tier[i]];
}

int prop_plan_row_fields(const prop_plan *p, size_t i, int format, const char **fields, char *buf, size_t cap) {
  if (!p || !fields || !buf) return pp_err(PROP_ERR_ARG, "prop_plan_row_fields: NULL argument");
  if (i >= p->n) return pp_err(PROP_ERR_RANGE, "prop_plan_row_fields: row %zu of %zu", i, p->n);
  outbuf b = {buf, cap, 0, 0};
  if (format == PROP_PLAN_CSV) csv_fields(p, i, fields, &b);
  else if (format == PROP_PLAN_VICIDIAL) {
    if (p->tier[i] < 0) return pp_err(PROP_ERR_STATE, "prop_plan_row_fields: row %zu is not called: it has no lead", i);
    vici_fields(p, i, fields, &b);
  } else return pp_err(PROP_ERR_ARG, "prop_plan_row_fields: unknown format %d", format);
  if (b.full) return pp_err(PROP_ERR_ARG, "prop_plan_row_fields: row %zu needs more than %zu bytes", i, cap);
  return 0;
}

/* ---- writing: the plan CSV and one lead file per slot, through the library's writer ---------------- */
int prop_plan_write(const prop_plan *p, prop_writer *w) {
  if (!p || !w) return pp_err(PROP_ERR_ARG, "prop_plan_write: NULL argument");
  PP_TRY(prop_writer_header(w, k_csv, N_CSV));
  const char *f[N_CSV];
  char buf[4096];
  for (size_t i = 0; i < p->n; i++) {
    PP_TRY(prop_plan_row_fields(p, i, PROP_PLAN_CSV, f, buf, sizeof buf));
    PP_TRY(prop_writer_row(w, f, N_CSV));
  }
  return 0;
}

size_t prop_plan_n_slots(const prop_plan *p) { return p ? 2 * p->nblocks : 0; }

size_t prop_plan_slot_calls(const prop_plan *p, size_t slot) {
  size_t n = 0;
  for (size_t i = 0; p && i < p->n; i++) n += p->tier[i] >= 0 && slot_of(p, i) == slot;
  return n;
}

int prop_plan_slot_name(const prop_plan *p, size_t slot, char *buf, size_t cap) {
  if (!p || !buf) return pp_err(PROP_ERR_ARG, "prop_plan_slot_name: NULL argument");
  if (slot >= 2 * p->nblocks) return pp_err(PROP_ERR_RANGE, "prop_plan_slot_name: slot %zu of %zu", slot, 2 * p->nblocks);
  int w = snprintf(buf, cap, "%s_%02d", pp_grid_day_name(slot >= p->nblocks),
                   p->first_hour + (int)(slot % p->nblocks) * p->block_hours);
  return w < 0 || (size_t)w >= cap ? pp_err(PROP_ERR_ARG, "prop_plan_slot_name: %zu bytes are too few", cap) : 0;
}

int prop_plan_write_slot(const prop_plan *p, size_t slot, prop_writer *w) {
  if (!p || !w) return pp_err(PROP_ERR_ARG, "prop_plan_write_slot: NULL argument");
  if (slot >= 2 * p->nblocks) return pp_err(PROP_ERR_RANGE, "prop_plan_write_slot: slot %zu of %zu", slot, 2 * p->nblocks);
  size_t n = prop_plan_slot_calls(p, slot);
  size_t *by = pp_malloc_array(n ? n : 1, sizeof *by);
  if (!by) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < p->n; i++) /* slot ranks are 1..n within the slot */
    if (p->tier[i] >= 0 && slot_of(p, i) == slot) by[p->slot_rank[i] - 1] = i;
  const char *f[N_VICI];
  char buf[4096];
  int rc = 0;
  for (size_t q = 0; q < n && !rc; q++) {
    rc = prop_plan_row_fields(p, by[q], PROP_PLAN_VICIDIAL, f, buf, sizeof buf);
    if (!rc) rc = prop_writer_row(w, f, N_VICI);
  }
  free(by);
  return rc;
}
