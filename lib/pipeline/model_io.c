/* The fitted pipeline as sections of one model file (container: lib/io/bundle.h).  This file only
 * assembles: each stage writes and validates its own payload (schema, encoder, vote, calibrator,
 * bands, members).
 *
 *   META  metadata JSON (rows, positives, version, creation time, validation report ...)
 *   RCPE  the recipe, canonical JSON
 *   SCHM  schema          ENCD  encoders
 *   ENSM  voting, member names and weights
 *   Mnnn  member nnn's own payload (its family's save/load)
 *   CALB  calibrator      BAND  band edges
 *   REFS  the training rows' reference for monitoring (lib/monitor; absent in older files)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/bundle.h"
#include "pipeline/pipeline.h"
#include "write/writer.h"

static void put_text(pp_buf *b, const char *s) { pp_put_bytes(b, s, strlen(s)); }

/* The fixed sections, in file order, then one per member. */
enum { S_META, S_RCPE, S_SCHM, S_ENCD, S_ENSM, S_CALB, S_BAND, S_FIXED };
static const char *const k_tags[S_FIXED] = {"META", "RCPE", "SCHM", "ENCD", "ENSM", "CALB", "BAND"};

/* Every stage's payload into bufs[S_FIXED + nmem]. */
static int save_stages(const prop_model *m, pp_buf *bufs) {
  put_text(&bufs[S_META], m->meta_json ? m->meta_json : "{}");
  put_text(&bufs[S_RCPE], m->recipe_json ? m->recipe_json : "{}");
  PP_TRY(pp_schema_save(m->schema, &bufs[S_SCHM]));
  PP_TRY(pp_encoder_save(m->enc, &bufs[S_ENCD]));
  PP_TRY(pp_vote_save(m->vote, &bufs[S_ENSM]));
  PP_TRY(pp_calibrator_save(m->calib, &bufs[S_CALB]));
  PP_TRY(pp_bands_save(&m->bands, &bufs[S_BAND]));
  for (size_t j = 0; j < m->nmem; j++) PP_TRY(m->mem[j].ops->save(m->mem[j].model, &bufs[S_FIXED + j]));
  if (m->ref) PP_TRY(pp_reference_save(m->ref, &bufs[S_FIXED + m->nmem]));
  for (size_t s = 0; s < S_FIXED + m->nmem + (m->ref != NULL); s++) PP_TRY(pp_buf_status(&bufs[s]));
  return 0;
}

int pp_model_serialize(const prop_model *m, pp_buf *out) {
  size_t ns = S_FIXED + m->nmem + (m->ref != NULL); /* the reference last, when the model has one */
  pp_buf *bufs = pp_calloc(ns, sizeof *bufs);
  pp_section *secs = pp_calloc(ns, sizeof *secs);
  int rc = (!bufs || !secs) ? PROP_ERR_NOMEM : save_stages(m, bufs);
  if (!rc) {
    for (size_t s = 0; s < ns; s++) {
      if (s < S_FIXED) memcpy(secs[s].tag, k_tags[s], 5);
      else if (s == S_FIXED + m->nmem) memcpy(secs[s].tag, "REFS", 5);
      else snprintf(secs[s].tag, sizeof secs[s].tag, "M%03u", (unsigned)((s - S_FIXED) % 1000));
      secs[s].data = bufs[s].data;
      secs[s].len = bufs[s].len;
    }
    rc = pp_bundle_write(out, secs, ns);
    if (!rc) rc = pp_buf_status(out);
  }
  for (size_t s = 0; bufs && s < ns; s++) pp_buf_free(&bufs[s]);
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

/* One section read by a stage's loader: the reader names the section, and every byte must be used. */
typedef struct section_reader {
  const pp_section *secs;
  size_t ns;
  const char *source;
  pp_rd rd;
  char what[96];
} section_reader;

static int open_section(section_reader *sr, const char *tag, const char *label) {
  const pp_section *s;
  PP_TRY(need(sr->secs, sr->ns, tag, sr->source, &s));
  if (label) snprintf(sr->what, sizeof sr->what, "%s: section %s (%s)", sr->source, tag, label);
  else snprintf(sr->what, sizeof sr->what, "%s: section %s", sr->source, tag);
  pp_rd_init(&sr->rd, s->data, s->len, sr->what);
  return 0;
}

/* The members named by the vote, each from its own section. */
static int load_members(section_reader *sr, prop_model *m) {
  if (!(m->mem = pp_calloc(m->vote->n, sizeof *m->mem))) return PROP_ERR_NOMEM;
  m->nmem = m->vote->n;
  for (size_t j = 0; j < m->nmem; j++) {
    m->mem[j].ops = pp_member_find(m->vote->names[j]);
    if (!m->mem[j].ops)
      return pp_err(PROP_ERR_CORRUPT, "%s: section ENSM: unknown member family \"%s\"", sr->source, m->vote->names[j]);
  }
  for (size_t j = 0; j < m->nmem; j++) {
    char tag[16];
    snprintf(tag, sizeof tag, "M%03u", (unsigned)(j % 1000u));
    PP_TRY(open_section(sr, tag, m->mem[j].ops->name));
    PP_TRY(m->mem[j].ops->load(&sr->rd, m->width, &m->mem[j].model));
    PP_TRY(pp_rd_end(&sr->rd));
  }
  return 0;
}

static int load_body(const pp_section *secs, size_t ns, const char *source, prop_model *m) {
  section_reader sr = {secs, ns, source, {0}, ""};
  const pp_section *s;
  PP_TRY(need(secs, ns, "META", source, &s));
  if (!(m->meta_json = section_text(s))) return PROP_ERR_NOMEM;
  PP_TRY(need(secs, ns, "RCPE", source, &s));
  if (!(m->recipe_json = section_text(s))) return PROP_ERR_NOMEM;
  PP_TRY(open_section(&sr, "SCHM", NULL));
  PP_TRY(pp_schema_load(&sr.rd, &m->schema));
  PP_TRY(pp_rd_end(&sr.rd));
  PP_TRY(open_section(&sr, "ENCD", NULL));
  PP_TRY(pp_encoder_load(&sr.rd, m->schema, &m->enc));
  PP_TRY(pp_rd_end(&sr.rd));
  m->width = pp_encoder_width(m->enc);
  PP_TRY(open_section(&sr, "ENSM", NULL));
  PP_TRY(pp_vote_load(&sr.rd, PP_VOTE_MAX_MEMBERS, &m->vote));
  PP_TRY(pp_rd_end(&sr.rd));
  PP_TRY(load_members(&sr, m));
  PP_TRY(open_section(&sr, "CALB", NULL));
  PP_TRY(pp_calibrator_load(&sr.rd, &m->calib));
  PP_TRY(pp_rd_end(&sr.rd));
  PP_TRY(open_section(&sr, "BAND", NULL));
  PP_TRY(pp_bands_load(&sr.rd, &m->bands));
  PP_TRY(pp_rd_end(&sr.rd));
  if (!pp_bundle_find(secs, ns, "REFS")) return 0; /* written before monitoring existed */
  PP_TRY(open_section(&sr, "REFS", NULL));
  PP_TRY(pp_reference_load(&sr.rd, m->schema, m->bands.n, &m->ref));
  return pp_rd_end(&sr.rd);
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
  if (!rc) rc = pp_write_bytes(path, b.data, b.len);
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
  PP_TRY(pp_read_file(path, PP_BUNDLE_MAX_BYTES, "model file", PP_BUNDLE_MAGIC, PP_BUNDLE_MAGIC_LEN, &data, &len));
  int rc = pp_model_deserialize(data, len, path, out);
  free(data);
  return rc;
}
