/* lib/io/bundle.c: the model-file container (layout in bundle.h).
 *
 * The reader checks, in this order, so that each kind of damage gets its own status:
 *   1. fewer bytes than a header, or a magic other than "PROPMODL"      -> FORMAT (or TRUNCATED when
 *      the bytes present are a prefix of the magic: a cut-off file of ours)
 *   2. a format version newer than ours (before the header CRC)       -> VERSION
 *   3. header CRC mismatch                                             -> CORRUPT
 *   4. the sections and trailer run past the end of the bytes          -> TRUNCATED
 *   5. a section or trailer CRC mismatch, a bad tag, duplicate tags,
 *      or bytes after the trailer                                      -> CORRUPT
 * Every length is checked against the bytes left before it is used. */
#include <stdlib.h>
#include <string.h>

#include "io/bundle.h"

static const unsigned char MAGIC[8] = {'P', 'R', 'O', 'P', 'M', 'O', 'D', 'L'};
static const unsigned char TRAILER[4] = {'P', 'E', 'N', 'D'};
#define HEADER_BYTES 20u  /* magic 8 + version 4 + count 4 + crc 4 */
#define SECTION_BYTES 20u /* tag 4 + flags 4 + length 8 + crc 4 */
#define TRAILER_BYTES 8u
#define MAX_SECTIONS 4096u

static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int tag_ok(const char *t) {
  for (int i = 0; i < 4; i++)
    if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9'))) return 0;
  return t[4] == '\0';
}

int pp_bundle_write(pp_buf *out, const pp_section *secs, size_t n) {
  if (n > MAX_SECTIONS) return pp_err(PROP_ERR_ARG, "model file: %zu sections exceed the limit %u", n, MAX_SECTIONS);
  for (size_t i = 0; i < n; i++) {
    if (!tag_ok(secs[i].tag)) return pp_err(PROP_ERR_ARG, "model file: bad section tag '%.4s'", secs[i].tag);
    for (size_t j = 0; j < i; j++)
      if (strcmp(secs[i].tag, secs[j].tag) == 0)
        return pp_err(PROP_ERR_ARG, "model file: duplicate section tag '%s'", secs[i].tag);
  }
  size_t start = out->len;
  pp_put_bytes(out, MAGIC, sizeof MAGIC);
  pp_put_u32(out, PP_FORMAT_VERSION);
  pp_put_u32(out, (uint32_t)n);
  PP_TRY(pp_buf_status(out));
  pp_put_u32(out, pp_crc32(out->data + start, 16));
  for (size_t i = 0; i < n; i++) {
    pp_put_bytes(out, secs[i].tag, 4);
    pp_put_u32(out, 0);
    pp_put_u64(out, (uint64_t)secs[i].len);
    pp_put_u32(out, pp_crc32(secs[i].data, secs[i].len));
    pp_put_bytes(out, secs[i].data, secs[i].len);
  }
  PP_TRY(pp_buf_status(out));
  uint32_t crc = pp_crc32(out->data + start, out->len - start);
  pp_put_bytes(out, TRAILER, sizeof TRAILER);
  pp_put_u32(out, crc);
  return pp_buf_status(out);
}

int pp_bundle_parse(const void *data, size_t len, const char *source, pp_section **secs, size_t *n) {
  const unsigned char *p = data;
  const char *src = source ? source : "<buffer>";
  *secs = NULL;
  *n = 0;
  if (!p && len) return pp_err(PROP_ERR_ARG, "%s: NULL data", src);
  size_t m = len < sizeof MAGIC ? len : sizeof MAGIC;
  if (memcmp(p, MAGIC, m) != 0 || len == 0)
    return pp_err(len == 0 ? PROP_ERR_TRUNCATED : PROP_ERR_FORMAT,
                  len == 0 ? "%s: empty file, not a complete propensity model"
                           : "%s: not a propensity model file (bad magic)",
                  src);
  /* The version is read before the header checksum: a future format may lay out the rest of its header
   * differently, and its reader must still be told "newer version", not "corrupted". */
  if (len >= 12 && rd32(p + 8) > PP_FORMAT_VERSION)
    return pp_err(PROP_ERR_VERSION,
                  "%s: model file format version %u is newer than this library reads (%u); upgrade libpropensity",
                  src, rd32(p + 8), PP_FORMAT_VERSION);
  if (len < HEADER_BYTES)
    return pp_err(PROP_ERR_TRUNCATED, "%s: truncated model file: %zu bytes, the header alone is %u", src, len,
                  HEADER_BYTES);
  if (pp_crc32(p, 16) != rd32(p + 16))
    return pp_err(PROP_ERR_CORRUPT, "%s: corrupted model file: header checksum mismatch", src);
  uint32_t version = rd32(p + 8), count = rd32(p + 12);
  if (version == 0) return pp_err(PROP_ERR_CORRUPT, "%s: corrupted model file: format version 0", src);
  if (count > MAX_SECTIONS)
    return pp_err(PROP_ERR_CORRUPT, "%s: corrupted model file: %u sections exceed the limit %u", src, count,
                  MAX_SECTIONS);
  pp_section *s = pp_calloc(count ? count : 1, sizeof *s);
  if (!s) return PROP_ERR_NOMEM;
  size_t pos = HEADER_BYTES;
  int rc = 0;
  for (uint32_t i = 0; i < count && !rc; i++) {
    if (len - pos < SECTION_BYTES) {
      rc = pp_err(PROP_ERR_TRUNCATED, "%s: truncated model file: section %u of %u header cut off at byte %zu", src,
                  i + 1, count, len);
      break;
    }
    memcpy(s[i].tag, p + pos, 4);
    s[i].tag[4] = '\0';
    uint32_t flags = rd32(p + pos + 4);
    uint64_t slen = rd64(p + pos + 8);
    uint32_t crc = rd32(p + pos + 16);
    pos += SECTION_BYTES;
    if (!tag_ok(s[i].tag) || flags != 0) {
      rc = pp_err(PROP_ERR_CORRUPT, "%s: corrupted model file: section %u has a bad tag or flags", src, i + 1);
      break;
    }
    if (slen > len - pos) {
      rc = pp_err(PROP_ERR_TRUNCATED, "%s: truncated model file: section %s needs %llu bytes, %zu present", src,
                  s[i].tag, (unsigned long long)slen, len - pos);
      break;
    }
    s[i].data = p + pos;
    s[i].len = (size_t)slen;
    pos += (size_t)slen;
    if (pp_crc32(s[i].data, s[i].len) != crc) {
      rc = pp_err(PROP_ERR_CORRUPT, "%s: corrupted model file: section %s checksum mismatch", src, s[i].tag);
      break;
    }
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(s[i].tag, s[j].tag) == 0) {
        rc = pp_err(PROP_ERR_CORRUPT, "%s: corrupted model file: duplicate section %s", src, s[i].tag);
        break;
      }
  }
  if (!rc && len - pos < TRAILER_BYTES)
    rc = pp_err(PROP_ERR_TRUNCATED, "%s: truncated model file: the trailer is missing (%zu bytes)", src, len);
  if (!rc && memcmp(p + pos, TRAILER, 4) != 0)
    rc = pp_err(PROP_ERR_CORRUPT, "%s: corrupted model file: bad trailer", src);
  if (!rc && pp_crc32(p, pos) != rd32(p + pos + 4))
    rc = pp_err(PROP_ERR_CORRUPT, "%s: corrupted model file: file checksum mismatch", src);
  if (!rc && pos + TRAILER_BYTES != len)
    rc = pp_err(PROP_ERR_CORRUPT, "%s: corrupted model file: %zu unexpected bytes after the trailer", src,
                len - pos - TRAILER_BYTES);
  if (rc) {
    free(s);
    return rc;
  }
  *secs = s;
  *n = count;
  return 0;
}

const pp_section *pp_bundle_find(const pp_section *secs, size_t n, const char *tag) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(secs[i].tag, tag) == 0) return &secs[i];
  return NULL;
}
