/* lib/io: the model file container.  Only io knows the file format:
 *
 *   header   magic "PROPMODL" | u32 format version | u32 section count | u32 CRC-32 of the
 *            preceding 16 bytes
 *   section  4-byte tag | u32 flags (0) | u64 payload length | u32 CRC-32 of payload | payload
 *   trailer  "PEND" | u32 CRC-32 of everything before the trailer
 *
 * All integers little-endian.  A reader refuses: another program's file (magic), a newer format
 * version, a file that ends early (truncated), a CRC mismatch or trailing bytes (corrupted). */
#ifndef PP_BUNDLE_H
#define PP_BUNDLE_H

#include "common/common.h"

/* 2: the CALB section ends with the isotonic end rule (u32).  Version 1 files are still read (their
 * calibrator keeps flat ends); a library that reads only version 1 refuses version 2 as "newer".
 * 3: the SCHM section (schema layout 2) holds the target's negative label.  Versions 1 and 2 are
 * still read (no negative label: any label but the positive one reads as negative); a library
 * that reads up to version 2 refuses version 3 as "newer" instead of calling its schema corrupt. */
#define PP_FORMAT_VERSION 3u
/* The first bytes of every model file (a reader of a stream stops at once when they differ). */
#define PP_BUNDLE_MAGIC "PROPMODL"
#define PP_BUNDLE_MAGIC_LEN 8u
/* The largest file of this container a loader reads (prop_model_load, prop_contact_load; README
 * "Reliability"): a forest of 200 trees grown on a million rows is a few hundred MB. */
#define PP_BUNDLE_MAX_BYTES ((size_t)4 << 30)

typedef struct pp_section {
  char tag[5];                /* NUL-terminated 4-character tag, e.g. "SCHM", "MEM0" */
  const unsigned char *data;  /* points into the caller's bytes (parse) or payload (write) */
  size_t len;
} pp_section;

/* Serialise sections into out (appends). */
int pp_bundle_write(pp_buf *out, const pp_section *secs, size_t n);
/* Parse a whole file image.  source names it in messages.  *secs is malloc'd; its data pointers
 * point into `data`, which must outlive them. */
int pp_bundle_parse(const void *data, size_t len, const char *source, pp_section **secs, size_t *n);
/* The section called tag, or NULL. */
const pp_section *pp_bundle_find(const pp_section *secs, size_t n, const char *tag);
#endif
