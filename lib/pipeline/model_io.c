/* The fitted pipeline as sections of one model file (container: lib/io/bundle.h).
 *
 *   META  metadata JSON (rows, positives, version, creation time, validation report ...)
 *   RCPE  the recipe, canonical JSON
 *   SCHM  schema          ENCD  encoders
 *   ENSM  voting, member names and weights
 *   Mnnn  member nnn's own payload (its family's save/load)
 *   CALB  calibrator      BAND  band edges
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bands/bands.h"
#include "calibrate/calibrate.h"
#include "io/bundle.h"
#include "pipeline/pipeline.h"

#define MAX_MEMBERS 32

static void put_text(pp_buf *b, const char *s) { pp_put_bytes(b, s, strlen(s)); }

int pp_model_serialize(const prop_model *m, pp_buf *out) {
  enum { S_META, S_RCPE, S_SCHM, S_ENCD, S_ENSM, S_CALB, S_BAND, S_FIXED };
  size_t ns = S_FIXED + m->nmem;
  pp_buf *bufs = pp_calloc(ns, sizeof *bufs);
  pp_section *secs = pp_calloc(ns, sizeof *secs);
  int rc = 0;
  if (!bufs || !secs) {
    free(bufs);
    free(secs);
    return PROP_ERR_NOMEM;
  }
  static const char *const tags[S_FIXED] = {"META", "RCPE", "SCHM", "ENCD", "ENSM", "CALB", "BAND"};
  put_text(&bufs[S_META], m->meta_json ? m->meta_json : "{}");
  put_text(&bufs[S_RCPE], m->recipe_json ? m->recipe_json : "{}");
  rc = pp_schema_save(m->schema, &bufs[S_SCHM]);
  if (!rc) rc = pp_encoder_save(m->enc, &bufs[S_ENCD]);
  if (!rc) {
    pp_buf *e = &bufs[S_ENSM];
    pp_put_u32(e, (uint32_t)m->voting);
    pp_put_u32(e, (uint32_t)m->nmem);
    for (size_t j = 0; j < m->nmem; j++) {
      pp_put_str(e, m->mem[j].ops->name);
      pp_put_f64(e, m->mem[j].weight);
    }
    pp_buf *c = &bufs[S_CALB];
    pp_put_u32(c, (uint32_t)m->calibration);
    pp_put_f64(c, m->platt_a);
    pp_put_f64(c, m->platt_b);
    pp_put_u64(c, m->iso_k);
    pp_put_f64s(c, m->iso_x, m->iso_k);
    pp_put_f64s(c, m->iso_v, m->iso_k);
    pp_put_u32(c, (uint32_t)m->iso_ends); /* absent in files written before it existed: FLAT */
    if (m->iso_ends == PP_ISO_ENDS_RANGE) {
      pp_put_f64(c, m->iso_lo);
      pp_put_f64(c, m->iso_hi);
    }
    pp_buf *b = &bufs[S_BAND];
    pp_put_u64(b, m->nbands);
    pp_put_f64s(b, m->edges, m->nbands + 1);
  }
  for (size_t j = 0; j < m->nmem && !rc; j++) rc = m->mem[j].ops->save(m->mem[j].model, &bufs[S_FIXED + j]);
  for (size_t s = 0; s < ns && !rc; s++) rc = pp_buf_status(&bufs[s]);
  if (!rc) {
    for (size_t s = 0; s < ns; s++) {
      if (s < S_FIXED) memcpy(secs[s].tag, tags[s], 5);
      else {
        char tag[16];
        snprintf(tag, sizeof tag, "M%03u", (unsigned)((s - S_FIXED) % 1000));
        memcpy(secs[s].tag, tag, 5);
      }
      secs[s].data = bufs[s].data;
      secs[s].len = bufs[s].len;
    }
    rc = pp_bundle_write(out, secs, ns);
    if (!rc) rc = pp_buf_status(out);
  }
  for (size_t s = 0; s < ns; s++) pp_buf_free(&bufs[s]);
  free(bufs);
  free(secs);
  return rc;
}

static int need(const pp_section *secs, size_t n, const char *tag, const char *source, const pp_section **s) {
  *s = pp_bundle_find(secs, n, tag);
  if (!*s) return pp_err(PROP_ERR_CORRUPT, "%s: required section %s is missing", source, tag);
  return 0;
}

static char *section_text(const pp_section *s) {
  char *t = pp_malloc(s->len + 1);
  if (!t) return NULL;
  memcpy(t, s->data, s->len);
  t[s->len] = '\0';
  return t;
}

static int load_body(const pp_section *secs, size_t ns, const char *source, prop_model *m) {
  const pp_section *s;
  pp_rd rd;
  char what[96];
  PP_TRY(need(secs, ns, "META", source, &s));
  if (!(m->meta_json = section_text(s))) return PROP_ERR_NOMEM;
  PP_TRY(need(secs, ns, "RCPE", source, &s));
  if (!(m->recipe_json = section_text(s))) return PROP_ERR_NOMEM;

  PP_TRY(need(secs, ns, "SCHM", source, &s));
  snprintf(what, sizeof what, "%s: section SCHM", source);
  pp_rd_init(&rd, s->data, s->len, what);
  PP_TRY(pp_schema_load(&rd, &m->schema));
  PP_TRY(pp_rd_end(&rd));

  PP_TRY(need(secs, ns, "ENCD", source, &s));
  snprintf(what, sizeof what, "%s: section ENCD", source);
  pp_rd_init(&rd, s->data, s->len, what);
  PP_TRY(pp_encoder_load(&rd, m->schema, &m->enc));
  PP_TRY(pp_rd_end(&rd));
  m->width = pp_encoder_width(m->enc);

  PP_TRY(need(secs, ns, "ENSM", source, &s));
  snprintf(what, sizeof what, "%s: section ENSM", source);
  pp_rd_init(&rd, s->data, s->len, what);
  uint32_t voting, nmem;
  PP_TRY(pp_get_u32(&rd, &voting));
  PP_TRY(pp_get_u32(&rd, &nmem));
  if (voting > PP_VOTE_LOGIT || nmem == 0 || nmem > MAX_MEMBERS)
    return pp_err(PROP_ERR_CORRUPT, "%s: invalid voting (%u) or member count (%u)", what, voting, nmem);
  m->voting = (int)voting;
  if (!(m->mem = pp_calloc(nmem, sizeof *m->mem))) return PROP_ERR_NOMEM;
  m->nmem = nmem;
  for (uint32_t j = 0; j < nmem; j++) {
    char *name = NULL;
    PP_TRY(pp_get_str(&rd, &name));
    m->mem[j].ops = pp_member_find(name);
    if (!m->mem[j].ops) {
      int rc = pp_err(PROP_ERR_CORRUPT, "%s: unknown member family \"%s\"", what, name ? name : "(null)");
      free(name);
      return rc;
    }
    free(name);
    PP_TRY(pp_get_f64(&rd, &m->mem[j].weight));
    if (!(m->mem[j].weight >= 0 && m->mem[j].weight <= 1e6))
      return pp_err(PROP_ERR_CORRUPT, "%s: member %u has an invalid weight", what, j);
  }
  PP_TRY(pp_rd_end(&rd));
  for (uint32_t j = 0; j < nmem; j++) {
    char tag[16];
    snprintf(tag, sizeof tag, "M%03u", j % 1000u);
    PP_TRY(need(secs, ns, tag, source, &s));
    snprintf(what, sizeof what, "%s: section %s (%s)", source, tag, m->mem[j].ops->name);
    pp_rd_init(&rd, s->data, s->len, what);
    PP_TRY(m->mem[j].ops->load(&rd, m->width, &m->mem[j].model));
    PP_TRY(pp_rd_end(&rd));
  }

  PP_TRY(need(secs, ns, "CALB", source, &s));
  snprintf(what, sizeof what, "%s: section CALB", source);
  pp_rd_init(&rd, s->data, s->len, what);
  uint32_t cal;
  PP_TRY(pp_get_u32(&rd, &cal));
  if (cal > PP_CALIB_ISOTONIC) return pp_err(PROP_ERR_CORRUPT, "%s: unknown calibrator %u", what, cal);
  m->calibration = (int)cal;
  PP_TRY(pp_get_f64(&rd, &m->platt_a));
  PP_TRY(pp_get_f64(&rd, &m->platt_b));
  PP_TRY(pp_get_count(&rd, &m->iso_k, s->len / 16, "knots"));
  PP_TRY(pp_get_f64s(&rd, &m->iso_x, m->iso_k));
  PP_TRY(pp_get_f64s(&rd, &m->iso_v, m->iso_k));
  m->iso_ends = PP_ISO_ENDS_FLAT;
  if (rd.pos < rd.len) {
    uint32_t ends;
    PP_TRY(pp_get_u32(&rd, &ends));
    if (ends > PP_ISO_ENDS_RANGE) return pp_err(PROP_ERR_CORRUPT, "%s: unknown isotonic end rule %u", what, ends);
    m->iso_ends = (int)ends;
    if (ends == PP_ISO_ENDS_RANGE) {
      PP_TRY(pp_get_f64(&rd, &m->iso_lo));
      PP_TRY(pp_get_f64(&rd, &m->iso_hi));
      if (!(m->iso_lo <= m->iso_hi)) return pp_err(PROP_ERR_CORRUPT, "%s: invalid isotonic range", what);
    }
  }
  PP_TRY(pp_rd_end(&rd));
  if (cal == PP_CALIB_ISOTONIC && m->iso_k == 0) return pp_err(PROP_ERR_CORRUPT, "%s: isotonic calibrator without knots", what);
  for (size_t k = 0; k < m->iso_k; k++)
    if (!(m->iso_v[k] >= 0 && m->iso_v[k] <= 1) || m->iso_x[k] != m->iso_x[k] || (k && !(m->iso_x[k] > m->iso_x[k - 1])))
      return pp_err(PROP_ERR_CORRUPT, "%s: invalid knot %zu", what, k);

  PP_TRY(need(secs, ns, "BAND", source, &s));
  snprintf(what, sizeof what, "%s: section BAND", source);
  pp_rd_init(&rd, s->data, s->len, what);
  PP_TRY(pp_get_count(&rd, &m->nbands, 64, "band count"));
  for (size_t b = 0; b <= m->nbands; b++) PP_TRY(pp_get_f64(&rd, &m->edges[b]));
  PP_TRY(pp_rd_end(&rd));
  int rc = pp_bands_validate(m->edges, m->nbands, "BAND");
  if (rc) return pp_err_prefix(PROP_ERR_CORRUPT, "%s: ", source);
  return 0;
}

int pp_model_deserialize(const void *data, size_t len, const char *source, prop_model **out) {
  *out = NULL;
  pp_section *secs = NULL;
  size_t ns = 0;
  PP_TRY(pp_bundle_parse(data, len, source, &secs, &ns));
  prop_model *m = pp_calloc(1, sizeof *m);
  if (!m) {
    free(secs);
    return PROP_ERR_NOMEM;
  }
  int rc = load_body(secs, ns, source, m);
  free(secs);
  if (rc) {
    prop_model_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

int prop_model_save_to_buffer(const prop_model *m, unsigned char **data, size_t *len) {
  if (!m || !data || !len) return pp_err(PROP_ERR_ARG, "prop_model_save_to_buffer: NULL argument");
  *data = NULL;
  *len = 0;
  pp_buf b;
  pp_buf_init(&b);
  int rc = pp_model_serialize(m, &b);
  if (rc) {
    pp_buf_free(&b);
    return rc;
  }
  *data = b.data;
  *len = b.len;
  return 0;
}

int prop_model_save(const prop_model *m, const char *path) {
  if (!m || !path) return pp_err(PROP_ERR_ARG, "prop_model_save: NULL argument");
  pp_buf b;
  pp_buf_init(&b);
  int rc = pp_model_serialize(m, &b);
  if (!rc) rc = pp_write_file_atomic(path, b.data, b.len);
  pp_buf_free(&b);
  return rc;
}

int prop_model_load_from_buffer(const void *data, size_t len, prop_model **out) {
  if (!out) return pp_err(PROP_ERR_ARG, "prop_model_load_from_buffer: out is NULL");
  *out = NULL;
  if (!data && len) return pp_err(PROP_ERR_ARG, "prop_model_load_from_buffer: data is NULL");
  return pp_model_deserialize(data ? data : "", len, "<buffer>", out);
}

int prop_model_load(const char *path, prop_model **out) {
  if (!path || !out) return pp_err(PROP_ERR_ARG, "prop_model_load: NULL argument");
  *out = NULL;
  unsigned char *data;
  size_t len;
  PP_TRY(pp_read_file(path, &data, &len));
  int rc = pp_model_deserialize(data, len, path, out);
  free(data);
  return rc;
}
