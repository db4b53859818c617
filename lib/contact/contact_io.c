/* The contact model file: the model file's container (lib/io/bundle.h: magic, format version,
 * check-summed sections, trailer) with the contact model's own sections:
 *
 *   CNTC  u32 layout (PP_CONTACT_LAYOUT) | i32 tz_minutes | u32 first_hour, block_hours, blocks |
 *         u64 channels, each a string | string id column | string customer id column |
 *         u64 segment columns, each a string
 *   CSEG  u64 segments, each a label string | f64 global cells[K] | f64 segment cells[segments x K]
 *   CCUS  u64 customers | u64 customers with history | u64 attempts | i32 last day |
 *         per customer: string id, i32 segment (-1 none), u32 history row (0xFFFFFFFF none),
 *         u32 attempts | f32 customer cells[with history x K] | i32 attempt days[attempts]
 *   CRPT  the fit report, JSON text
 *
 * The loader checks every count against the bytes present, every index against its range, every
 * probability against [0, 1], the history rows for being a permutation and the ids for repeats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact/contact.h"
#include "io/bundle.h"
#include "write/writer.h"

static void put_strings(pp_buf *b, char *const *s, size_t n) {
  pp_put_u64(b, n);
  for (size_t q = 0; q < n; q++) pp_put_str(b, s[q]);
}

static void put_customers(const prop_contact *c, pp_buf *b) {
  size_t K = pp_grid_ncells(&c->grid);
  pp_put_u64(b, c->ncust);
  pp_put_u64(b, c->nhist);
  pp_put_u64(b, c->att_off[c->ncust]);
  pp_put_i32(b, (int32_t)c->last_day);
  for (size_t i = 0; i < c->ncust; i++) {
    pp_put_str(b, c->id_text + c->id_off[i]);
    pp_put_i32(b, c->cust_seg[i]);
    pp_put_u32(b, c->cust_hist[i]);
    pp_put_u32(b, (uint32_t)(c->att_off[i + 1] - c->att_off[i]));
  }
  pp_put_f32s(b, c->p_cust, c->nhist * K);
  pp_put_i32s(b, c->att_day, c->att_off[c->ncust]);
}

int pp_contact_serialize(const prop_contact *c, pp_buf *out) {
  pp_buf b[4];
  for (int q = 0; q < 4; q++) pp_buf_init(&b[q]);
  size_t K = pp_grid_ncells(&c->grid);
  pp_put_u32(&b[0], PP_CONTACT_LAYOUT);
  pp_put_i32(&b[0], c->tz_minutes);
  pp_put_u32(&b[0], (uint32_t)c->grid.first_hour);
  pp_put_u32(&b[0], (uint32_t)c->grid.block_hours);
  pp_put_u32(&b[0], (uint32_t)c->grid.nblocks);
  put_strings(&b[0], c->grid.channels, c->grid.nchan);
  pp_put_str(&b[0], c->id_col);
  pp_put_str(&b[0], c->customer_id_col);
  put_strings(&b[0], c->seg_cols, c->nseg_cols);
  put_strings(&b[1], c->seg_labels, c->nseg);
  pp_put_f64s(&b[1], c->p_global, K);
  pp_put_f64s(&b[1], c->p_seg, c->nseg * K);
  put_customers(c, &b[2]);
  const char *rep = c->report_json ? c->report_json : "{}";
  pp_put_bytes(&b[3], rep, strlen(rep));
  int rc = 0;
  for (int q = 0; q < 4 && !rc; q++) rc = pp_buf_status(&b[q]);
  if (!rc) {
    pp_section secs[4] = {{"CNTC", b[0].data, b[0].len}, {"CSEG", b[1].data, b[1].len},
                          {"CCUS", b[2].data, b[2].len}, {"CRPT", b[3].data, b[3].len}};
    rc = pp_bundle_write(out, secs, 4);
  }
  for (int q = 0; q < 4; q++) pp_buf_free(&b[q]);
  return rc;
}

int prop_contact_save_to_buffer(const prop_contact *c, unsigned char **data, size_t *len) {
  if (!c || !data || !len) return pp_err(PROP_ERR_ARG, "prop_contact_save_to_buffer: NULL argument");
  *data = NULL;
  *len = 0;
  pp_buf b;
  pp_buf_init(&b);
  int rc = pp_contact_serialize(c, &b);
  if (rc) {
    pp_buf_free(&b);
    return rc;
  }
  *data = b.data;
  *len = b.len;
  return 0;
}

int prop_contact_save(const prop_contact *c, const char *path) {
  if (!c || !path) return pp_err(PROP_ERR_ARG, "prop_contact_save: NULL argument");
  pp_buf b;
  pp_buf_init(&b);
  int rc = pp_contact_serialize(c, &b);
  if (!rc) rc = pp_write_bytes(path, b.data, b.len);
  pp_buf_free(&b);
  return rc;
}

/* ---- loading -------------------------------------------------------------------------------------- */
static int bad(const pp_rd *r, const char *what) {
  return pp_err(PROP_ERR_CORRUPT, "%s: corrupted contact model: %s", r->what, what);
}

static int get_strings(pp_rd *r, char ***s, size_t *n, size_t max, const char *field) {
  PP_TRY(pp_get_count(r, n, max, field));
  if (*n > (r->len - r->pos) / 4) return bad(r, "a string count exceeds the bytes present");
  *s = pp_calloc(*n + 1, sizeof **s);
  if (!*s) return PROP_ERR_NOMEM;
  for (size_t q = 0; q < *n; q++) {
    PP_TRY(pp_get_str(r, &(*s)[q]));
    if (!(*s)[q]) return bad(r, "a NULL string where a name is needed");
  }
  return 0;
}

static int check_probs(const pp_rd *r, const double *p, size_t n) {
  for (size_t q = 0; q < n; q++)
    if (!(p[q] >= 0.0 && p[q] <= 1.0)) return bad(r, "a probability outside [0, 1]");
  return 0;
}

static int load_header(pp_rd *r, prop_contact *c) {
  uint32_t layout, fh, bh, nb;
  int32_t tz;
  PP_TRY(pp_get_u32(r, &layout));
  if (layout == 0) return bad(r, "layout 0");
  if (layout > PP_CONTACT_LAYOUT)
    return pp_err(PROP_ERR_VERSION, "%s: contact model layout %u is newer than this library reads (%u); upgrade libpropensity",
                  r->what, layout, PP_CONTACT_LAYOUT);
  PP_TRY(pp_get_i32(r, &tz));
  PP_TRY(pp_get_u32(r, &fh));
  PP_TRY(pp_get_u32(r, &bh));
  PP_TRY(pp_get_u32(r, &nb));
  if (bh < 1 || nb < 1 || fh > 23 || fh + (uint64_t)nb * bh > 24) return bad(r, "the grid's hours");
  if (tz != PROP_CONTACT_TZ_AS_WRITTEN && (tz < -840 || tz > 840)) return bad(r, "the time zone offset");
  c->tz_minutes = tz;
  c->grid.first_hour = (int)fh;
  c->grid.block_hours = (int)bh;
  c->grid.nblocks = (int)nb;
  PP_TRY(get_strings(r, &c->grid.channels, &c->grid.nchan, PP_CONTACT_MAX_CHANNELS, "channels"));
  if (c->grid.nchan == 0 || pp_grid_ncells(&c->grid) > PP_CONTACT_MAX_CELLS) return bad(r, "the number of cells");
  PP_TRY(pp_get_str(r, &c->id_col));
  PP_TRY(pp_get_str(r, &c->customer_id_col));
  if (!c->id_col || !c->customer_id_col) return bad(r, "a NULL column name");
  PP_TRY(get_strings(r, &c->seg_cols, &c->nseg_cols, 1024, "segment columns"));
  return pp_rd_end(r);
}

static int load_segments(pp_rd *r, prop_contact *c) {
  size_t K = pp_grid_ncells(&c->grid);
  PP_TRY(get_strings(r, &c->seg_labels, &c->nseg, PP_CONTACT_MAX_SEGMENTS, "segments"));
  for (size_t s = 0; s < c->nseg; s++) {
    size_t dup;
    if (pp_strmap_get(&c->seg_map, c->seg_labels[s], &dup)) return bad(r, "a segment listed twice");
    PP_TRY(pp_strmap_put(&c->seg_map, c->seg_labels[s], s, NULL));
  }
  PP_TRY(pp_get_f64s(r, &c->p_global, K));
  if (c->nseg && (r->len - r->pos) / 8 / K < c->nseg) return bad(r, "segment cells exceed the bytes present");
  PP_TRY(pp_get_f64s(r, &c->p_seg, c->nseg * K));
  PP_TRY(check_probs(r, c->p_global, K));
  PP_TRY(check_probs(r, c->p_seg, c->nseg * K));
  return pp_rd_end(r);
}

/* One customer's fixed fields; *seen marks the history rows used. */
static int load_customer(pp_rd *r, prop_contact *c, size_t i, unsigned char *seen, size_t *natt) {
  char *id;
  int32_t seg;
  uint32_t row, n;
  PP_TRY(pp_get_str(r, &id));
  if (!id) return bad(r, "a NULL customer id");
  size_t l = strlen(id) + 1, dup;
  /* id_text was allocated for the whole section: the ids read from it cannot outgrow it */
  memcpy(c->id_text + c->id_text_len, id, l);
  c->id_off[i] = c->id_text_len;
  c->id_text_len += l;
  int rc = pp_strmap_get(&c->cust_map, id, &dup) ? bad(r, "a customer listed twice") : pp_strmap_put(&c->cust_map, id, i, NULL);
  free(id);
  PP_TRY(rc);
  PP_TRY(pp_get_i32(r, &seg));
  PP_TRY(pp_get_u32(r, &row));
  PP_TRY(pp_get_u32(r, &n));
  if (seg < -1 || (seg >= 0 && (size_t)seg >= c->nseg)) return bad(r, "a customer's segment out of range");
  if (row != UINT32_MAX && (row >= c->nhist || seen[row]++)) return bad(r, "a customer's history row");
  if (n > *natt) return bad(r, "more attempts than the history holds");
  c->cust_seg[i] = seg;
  c->cust_hist[i] = row;
  c->att_off[i + 1] = c->att_off[i] + n;
  *natt -= n;
  return 0;
}

static int load_customers(pp_rd *r, prop_contact *c) {
  size_t K = pp_grid_ncells(&c->grid), natt;
  int32_t last;
  PP_TRY(pp_get_count(r, &c->ncust, (r->len - r->pos) / 16, "customers"));
  PP_TRY(pp_get_count(r, &c->nhist, c->ncust, "customers with history"));
  PP_TRY(pp_get_count(r, &natt, (r->len - r->pos) / 4, "attempts"));
  PP_TRY(pp_get_i32(r, &last));
  c->last_day = last;
  c->id_off = pp_malloc_array(c->ncust + 1, sizeof *c->id_off);
  c->cust_seg = pp_malloc_array(c->ncust + 1, sizeof *c->cust_seg);
  c->cust_hist = pp_malloc_array(c->ncust + 1, sizeof *c->cust_hist);
  c->att_off = pp_calloc(c->ncust + 1, sizeof *c->att_off);
  c->id_text = pp_malloc(r->len - r->pos + 1);
  unsigned char *seen = pp_calloc(c->nhist + 1, 1);
  int rc = c->id_off && c->cust_seg && c->cust_hist && c->att_off && c->id_text && seen ? 0 : PROP_ERR_NOMEM;
  size_t left = natt;
  for (size_t i = 0; i < c->ncust && !rc; i++) rc = load_customer(r, c, i, seen, &left);
  for (size_t h = 0; h < c->nhist && !rc; h++)
    if (!seen[h]) rc = bad(r, "a history row no customer owns");
  free(seen);
  PP_TRY(rc);
  if (left) return bad(r, "attempts no customer owns");
  if (c->nhist && (r->len - r->pos) / 4 / K < c->nhist) return bad(r, "customer cells exceed the bytes present");
  PP_TRY(pp_get_f32s(r, &c->p_cust, c->nhist * K));
  for (size_t q = 0; q < c->nhist * K; q++)
    if (!(c->p_cust[q] >= 0.0f && c->p_cust[q] <= 1.0f)) return bad(r, "a probability outside [0, 1]");
  PP_TRY(pp_get_i32s(r, &c->att_day, natt));
  for (size_t i = 0; i < c->ncust; i++)
    for (size_t q = c->att_off[i]; q < c->att_off[i + 1]; q++)
      if ((q > c->att_off[i] && c->att_day[q] < c->att_day[q - 1]) || c->att_day[q] > last)
        return bad(r, "attempt days out of order");
  return pp_rd_end(r);
}

static int section(const pp_section *secs, size_t n, const char *tag, const char *source, pp_rd *r, char *what,
                   size_t cap) {
  const pp_section *s = pp_bundle_find(secs, n, tag);
  if (!s) return pp_err(PROP_ERR_CORRUPT, "%s: corrupted contact model: section %s is missing", source, tag);
  snprintf(what, cap, "%s: section %s", source, tag);
  pp_rd_init(r, s->data, s->len, what);
  return 0;
}

static int load_sections(const pp_section *secs, size_t n, const char *source, prop_contact *c) {
  pp_rd r;
  char what[256];
  PP_TRY(section(secs, n, "CNTC", source, &r, what, sizeof what));
  PP_TRY(load_header(&r, c));
  PP_TRY(section(secs, n, "CSEG", source, &r, what, sizeof what));
  PP_TRY(load_segments(&r, c));
  PP_TRY(section(secs, n, "CCUS", source, &r, what, sizeof what));
  PP_TRY(load_customers(&r, c));
  const pp_section *s = pp_bundle_find(secs, n, "CRPT");
  if (!s) return pp_err(PROP_ERR_CORRUPT, "%s: corrupted contact model: section CRPT is missing", source);
  if (!(c->report_json = pp_malloc(s->len + 1))) return PROP_ERR_NOMEM;
  memcpy(c->report_json, s->data, s->len);
  c->report_json[s->len] = '\0';
  return 0;
}

int pp_contact_deserialize(const void *data, size_t len, const char *source, prop_contact **out) {
  pp_section *secs = NULL;
  size_t n = 0;
  *out = NULL;
  PP_TRY(pp_bundle_parse(data, len, source, &secs, &n));
  int rc = 0;
  if (!pp_bundle_find(secs, n, "CNTC"))
    rc = pp_err(PROP_ERR_FORMAT, "%s: not a contact model file (no CNTC section%s)", source,
                pp_bundle_find(secs, n, "SCHM") ? ": a propensity model" : "");
  prop_contact *c = rc ? NULL : pp_calloc(1, sizeof *c);
  if (!rc && !c) rc = PROP_ERR_NOMEM;
  if (!rc) rc = load_sections(secs, n, source, c);
  free(secs);
  if (rc) {
    prop_contact_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

int prop_contact_load(const char *path, prop_contact **out) {
  if (!path || !out) return pp_err(PROP_ERR_ARG, "prop_contact_load: NULL argument");
  *out = NULL;
  unsigned char *data = NULL;
  size_t len = 0;
  PP_TRY(pp_read_file(path, PP_BUNDLE_MAX_BYTES, "contact model file", PP_BUNDLE_MAGIC, PP_BUNDLE_MAGIC_LEN, &data,
                      &len));
  int rc = pp_contact_deserialize(data, len, path, out);
  free(data);
  return rc;
}
