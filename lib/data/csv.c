/* The CSV reader.  libcsv tokenises (RFC 4180 quoting, CR / LF / CRLF line ends); this file reads
 * the file in fixed blocks, handles the BOM and the header, converts cells to typed columns, infers
 * types for whole-file reads and turns every problem into a message naming file, row and column.
 *
 * How the bytes flow.  A 1 MiB block is read with fread.  It is handed to csv_parse in pieces
 * that end at the first CR or LF (or at the end of the block), so each piece completes at most
 * one record; after every piece we can stop with a full chunk and resume later without queueing
 * rows.  libcsv passes each field to cb_field, which copies it into a per-record arena (fields past
 * the header's count are only counted); cb_row then validates and converts the whole record, so a
 * bad record never leaves half-written cells.  Memory: one block, one record, the chunk's frame.
 *
 * Rows are records: the header is row 0 and data rows count from 1, whether or not a quoted field
 * spans several lines.  Blank lines are skipped by libcsv and not counted.
 *
 * Strict reads fail at the first bad record.  Non-strict reads keep it as a row whose cells are
 * all missing, with the reason in frame->row_err / row_code; only its id cells (PROP_COL_ID
 * columns) are kept when the record's fields line up (a cell that is not a number), so that the
 * row can still be traced to its customer.  A quoting error resynchronises at
 * the next line end (the parser is reset); an unterminated quote runs to the end of the file and
 * is one bad row, whose reason gives the line where the row starts and how many lines it took in
 * (RFC 4180 allows line breaks in quotes, so the reader cannot stop earlier; the operator can see
 * that 3,000 customers went into one bad row).  Lines are counted as the pieces pass: each ends at
 * a CR, an LF or the end of a block, and the LF of a CRLF is not a line of its own.  Fields over
 * 64 MiB or records over 256 MiB fail the read in both modes.
 *
 * Type inference (prop_frame_read_csv, PROP_COL_AUTO columns).  Such a column starts numeric and
 * is stored as doubles.  At the first cell that does not parse as a number (pp_parse_double) it
 * becomes categorical from that row on; the numbers already read lose their spelling ("1.0" vs
 * "1"), so those cells are marked PENDING and filled in by re-reading the file up to that row
 * (typical categorical columns turn at row 1, so nothing is re-read).  Text such as "nan", "inf"
 * or "1e999" reads as a number that is not finite: it keeps the column numeric but is an error
 * (strict: the read fails naming file:row:column; non-strict: a row error), unless the column
 * turns categorical, where it is an ordinary label.  The re-read needs a regular file; reading a
 * pipe works when every column that would need it is declared. */
#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data_internal.h"

#define BLOCK_BYTES ((size_t)1 << 20)
#define MAX_FIELD_BYTES ((size_t)64 << 20)
#define MAX_RECORD_BYTES ((size_t)256 << 20)
#define FIRST_CAP ((size_t)1024)
#define FIELD_STEP ((size_t)4096)
#define CODE_PENDING (-2)

enum { K_SKIP, K_NUM, K_CAT, K_ID, K_AUTO_NUM, K_AUTO_CAT };  /* slot kinds */
enum { M_HEADER, M_ROWS, M_REREAD };                        /* what records are for */
enum { A_OK, A_MISSING, A_FLIP, A_DEFER };                  /* phase-1 verdict on a cell */

typedef struct deferred {
  size_t row;  /* 0-based frame row */
  char *text;  /* excerpt for the message (may be NULL) */
} deferred;

typedef struct slot {
  int kind;
  size_t col;        /* frame column */
  size_t flip_row;   /* K_AUTO_CAT: rows below this may hold CODE_PENDING */
  size_t npending;   /* PENDING cells left */
  int reorder;       /* dictionary to be put back into first-seen order */
  deferred *def;     /* K_AUTO_NUM: non-finite cells, by row */
  size_t ndef, capdef;
} slot;

struct pp_csv {
  char *path;
  FILE *fp;
  int regular;
  struct csv_parser parser;
  int parser_ok;
  unsigned char *buf;
  size_t len, pos;
  size_t cr_at;      /* offset of the next CR at or after pos, len if none, SIZE_MAX if unknown */
  int nul_seen;      /* a block held a NUL byte: fields must be checked for one */
  int eof, bom_checked, skip_eol, done;
  size_t lines;      /* line ends passed (the header's line is line 1) */
  int after_cr;      /* the last piece ended with CR (an LF next ends no line of its own) */
  int mid_line;      /* the last piece ended inside a line */
  size_t rec_line;   /* line on which the record being read starts; 0 before its first byte */
  int failed, rc;
  /* options: owned copies */
  prop_csv_options opt;
  char **na;
  size_t *na_len, nna;
  /* header and types */
  char **names;
  pp_strmap namemap;
  size_t ncols;
  int have_header;
  prop_coltype *types;
  int started, allow_auto;
  slot *slots;
  /* the record being read */
  char *arena;
  size_t arena_len, arena_cap;
  size_t *off, *flen, fcap;
  size_t nfields;    /* fields seen (stored: min(nfields, ncols) once the header is known) */
  size_t nul_field;  /* 1 + index of the first field holding a NUL byte, or 0 */
  double *val;
  unsigned char *aflag;
  /* output */
  int mode;
  prop_frame *f;
  size_t cap, max_rows;
  size_t rows_seen;  /* data records completed, good or bad */
  /* re-read */
  slot *rr_slots;
  size_t rr_limit;
};

static int no_space(unsigned char ch) {
  (void)ch;
  return 0;
}

static const char *errno_text(int e, char *buf, size_t n) {
  if (strerror_r(e, buf, n) != 0) snprintf(buf, n, "error %d", e);
  return buf;
}

static int parser_init(pp_csv *c) {
  if (csv_init(&c->parser, CSV_STRICT | CSV_STRICT_FINI) != 0)
    return pp_err(PROP_ERR_NOMEM, "%s: cannot initialise the CSV parser", c->path);
  csv_set_delim(&c->parser, (unsigned char)c->opt.delimiter);
  csv_set_space_func(&c->parser, no_space); /* RFC 4180: spaces are part of the field */
  csv_set_blk_size(&c->parser, FIELD_STEP);
  csv_set_realloc_func(&c->parser, pp_realloc_raw); /* counted, and failed by the fault tests */
  csv_set_free_func(&c->parser, free);
  c->parser_ok = 1;
  return 0;
}

static void reset_record(pp_csv *c) {
  c->rec_line = 0;
  c->nfields = 0;
  c->arena_len = 0;
  c->nul_field = 0;
}

static const char *field(const pp_csv *c, size_t j) { return c->arena + c->off[j]; }

static const char *colname(const pp_csv *c, size_t j) { return j < c->ncols ? c->names[j] : "?"; }

/* Exact powers of ten (all representable in a double). */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* A cell as a number.  Plain decimals ("-12.50") take a fast path: when the digits form an integer
 * m <= 2^53 and there are at most 22 decimals, m / 10^k is one correctly rounded IEEE division of
 * two exact values, so the result is the one strtod gives.  Everything else (spaces, exponents,
 * inf/nan, long mantissas) goes to pp_parse_double, which reads in the C locale and takes no
 * hexadecimal.  0 ok, -1 not a number. */
static int parse_number(const char *s, size_t len, double *out) {
  size_t i = 0;
  int neg = 0;
  if (len && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    i = 1;
  }
  uint64_t m = 0;
  size_t ndig = 0, nfrac = 0;
  int dot = 0;
  for (; i < len; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= '0' && ch <= '9') {
      if (ndig == 19) return pp_parse_double(s, out); /* would overflow m: slow path */
      m = m * 10 + (uint64_t)(ch - '0');
      ndig++;
      nfrac += (size_t)dot;
    } else if (ch == '.' && !dot) {
      dot = 1;
    } else {
      return pp_parse_double(s, out);
    }
  }
  if (ndig == 0 || m > ((uint64_t)1 << 53) || nfrac > 22) return pp_parse_double(s, out);
  double v = (double)m;
  if (nfrac) v /= pow10_exact[nfrac];
  *out = neg ? -v : v;
  return 0;
}

static int is_missing(const pp_csv *c, const char *s, size_t len) {
  if (len == 0) return 1;
  for (size_t k = 0; k < c->nna; k++)
    if (len == c->na_len[k] && memcmp(s, c->na[k], len) == 0) return 1;
  return 0;
}

/* ---- frame rows ------------------------------------------------------------------------------ */

/* Grow every per-row array of the chunk to hold `need` rows. */
static int reserve(pp_csv *c, size_t need) {
  if (need <= c->cap) return 0;
  size_t ncap = c->cap ? c->cap : FIRST_CAP;
  while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : 2 * ncap;
  if (ncap > c->max_rows) ncap = c->max_rows > need ? c->max_rows : need;
  prop_frame *f = c->f;
  PP_TRY(pp_realloc_array(&f->rownum, ncap, sizeof *f->rownum));
  for (size_t j = 0; j < f->ncols; j++) {
    pp_column *col = &f->cols[j];
    if (col->type == PROP_COL_NUMERIC) PP_TRY(pp_realloc_array(&col->num, ncap, sizeof *col->num));
    else if (col->type == PROP_COL_ID) PP_TRY(pp_realloc_array(&col->str, ncap, sizeof *col->str));
    else PP_TRY(pp_realloc_array(&col->code, ncap, sizeof *col->code));
  }
  if (f->row_err) {
    PP_TRY(pp_realloc_array(&f->row_err, ncap, sizeof *f->row_err));
    PP_TRY(pp_realloc_array(&f->row_code, ncap, sizeof *f->row_code));
    memset(f->row_err + c->cap, 0, (ncap - c->cap) * sizeof *f->row_err);
    memset(f->row_code + c->cap, 0, (ncap - c->cap) * sizeof *f->row_code);
  }
  c->cap = ncap;
  return 0;
}

/* Append a row with every cell missing; *i gets its index. */
static int add_row(pp_csv *c, size_t *i) {
  prop_frame *f = c->f;
  PP_TRY(reserve(c, f->nrows + 1));
  size_t r = f->nrows;
  f->rownum[r] = c->rows_seen;
  for (size_t j = 0; j < f->ncols; j++) {
    pp_column *col = &f->cols[j];
    if (col->type == PROP_COL_NUMERIC) col->num[r] = NAN;
    else if (col->type == PROP_COL_ID) col->str[r] = NULL;
    else col->code[r] = -1;
  }
  f->nrows = r + 1;
  *i = r;
  return 0;
}

static int set_row_err(pp_csv *c, size_t i, int code, const char *msg) {
  prop_frame *f = c->f;
  return pp_frame_put_row_error(f, c->cap > f->nrows ? c->cap : f->nrows, i, code, msg);
}

/* Make every cell of row i missing but its ids (used when a row turns out bad after it was
 * written: its fields lined up, so its id is its own). */
static void blank_row(pp_csv *c, size_t i) {
  for (size_t j = 0; j < c->ncols; j++) {
    slot *s = &c->slots[j];
    if (s->kind == K_SKIP || s->kind == K_ID) continue;
    pp_column *col = &c->f->cols[s->col];
    if (col->type == PROP_COL_NUMERIC) {
      col->num[i] = NAN;
    } else {
      if (col->code[i] == CODE_PENDING) s->npending--;
      col->code[i] = -1;
    }
  }
}

/* Field j of the current record (an id column's, not missing) into row i. */
static int put_id(pp_csv *c, size_t j, size_t i) {
  char **dst = &c->f->cols[c->slots[j].col].str[i];
  if (!(*dst = pp_malloc(c->flen[j] + 1))) return PROP_ERR_NOMEM;
  memcpy(*dst, field(c, j), c->flen[j] + 1);
  return 0;
}

/* The id cells of the current record into row i (its fields line up with the header). */
static int keep_ids(pp_csv *c, size_t i) {
  for (size_t j = 0; j < c->ncols; j++)
    if (c->slots[j].kind == K_ID && !is_missing(c, field(c, j), c->flen[j])) PP_TRY(put_id(c, j, i));
  return 0;
}

/* A bad record (rows_seen already counts it).  Strict: the read fails.  Non-strict: a row with
 * every cell missing and the reason; with ids set, the record's fields line up and its id cells
 * are kept.  While re-reading, the row is already in the frame. */
static void row_fail(pp_csv *c, int ids, int code, const char *fmt, ...) PP_PRINTF(4, 5);
static void row_fail(pp_csv *c, int ids, int code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->opt.strict || !c->have_header) {
    c->rc = pp_err(code, "%s", msg);
    return;
  }
  if (c->mode == M_REREAD) return;
  size_t i;
  int rc = add_row(c, &i);
  if (!rc) rc = set_row_err(c, i, code, msg);
  if (!rc && ids) rc = keep_ids(c, i);
  if (rc) c->rc = rc;
}

/* ---- inference helpers -------------------------------------------------------------------------- */

static int push_deferred(pp_csv *c, slot *s, size_t row, const char *t, size_t len) {
  if (s->ndef == s->capdef) {
    size_t ncap = s->capdef ? 2 * s->capdef : 8;
    PP_TRY(pp_realloc_array(&s->def, ncap, sizeof *s->def));
    s->capdef = ncap;
  }
  deferred *d = &s->def[s->ndef];
  d->row = row;
  d->text = NULL;
  if (!c->opt.strict || s->ndef == 0) { /* strict reads only ever report the first */
    char ex[64];
    pp_cell_excerpt(t, len, ex, sizeof ex);
    if (!(d->text = pp_strdup(ex))) return PROP_ERR_NOMEM;
  }
  s->ndef++;
  return 0;
}

static void free_deferred(slot *s) {
  for (size_t k = 0; k < s->ndef; k++) free(s->def[k].text);
  free(s->def);
  s->def = NULL;
  s->ndef = s->capdef = 0;
}

/* An AUTO column meets its first non-number in row i: it becomes categorical.  Earlier cells that
 * held numbers (or non-finite text) become PENDING, to be re-read as labels. */
static int flip(pp_csv *c, slot *s, size_t i) {
  pp_column *col = &c->f->cols[s->col];
  int32_t *code = pp_malloc_array(c->cap, sizeof *code);
  if (!code) return PROP_ERR_NOMEM;
  size_t d = 0, npend = 0;
  for (size_t r = 0; r < i; r++) {
    int pend = !isnan(col->num[r]);
    if (d < s->ndef && s->def[d].row == r) {
      pend = 1;
      d++;
    }
    code[r] = pend ? CODE_PENDING : -1;
    npend += (size_t)pend;
  }
  code[i] = -1;
  free_deferred(s);
  free(col->num);
  col->num = NULL;
  col->code = code;
  col->type = PROP_COL_CATEGORICAL;
  s->kind = K_AUTO_CAT;
  s->flip_row = i;
  s->npending = npend;
  s->reorder = npend > 0;
  return 0;
}

/* ---- records ----------------------------------------------------------------------------------- */

static void header_row(pp_csv *c) {
  size_t n = c->nfields;
  c->names = pp_calloc(n, sizeof *c->names);
  c->types = pp_malloc_array(n, sizeof *c->types);
  c->slots = pp_calloc(n, sizeof *c->slots);
  c->val = pp_malloc_array(n, sizeof *c->val);
  c->aflag = pp_malloc(n);
  if (!c->names || !c->types || !c->slots || !c->val || !c->aflag) {
    c->rc = PROP_ERR_NOMEM;
    return;
  }
  c->ncols = n; /* names[] entries are freed up to ncols */
  for (size_t j = 0; j < n; j++) {
    c->types[j] = PROP_COL_AUTO;
    if (c->flen[j] == 0) {
      c->rc = pp_err(PROP_ERR_SCHEMA, "%s: header: column %zu has an empty name", c->path, j + 1);
      return;
    }
    if (c->nul_field == j + 1) {
      c->rc = pp_err(PROP_ERR_CSV, "%s: header: NUL byte in the name of column %zu", c->path, j + 1);
      return;
    }
    size_t prev;
    if (pp_strmap_put(&c->namemap, field(c, j), j, &prev)) {
      c->rc = PROP_ERR_NOMEM;
      return;
    }
    if (prev != j) {
      c->rc = pp_err(PROP_ERR_SCHEMA, "%s: header: duplicate column name '%s' (columns %zu and %zu)", c->path,
                     field(c, j), prev + 1, j + 1);
      return;
    }
    if (!(c->names[j] = pp_strdup(field(c, j)))) {
      c->rc = PROP_ERR_NOMEM;
      return;
    }
  }
  c->have_header = 1;
}

static void data_row(pp_csv *c) {
  size_t rowno = ++c->rows_seen;
  if (c->nfields != c->ncols) {
    row_fail(c, 0, PROP_ERR_CSV, "%s:%zu: expected %zu fields, found %zu", c->path, rowno, c->ncols, c->nfields);
    return;
  }
  if (c->nul_field) { /* the fields line up: the row keeps its ids, unless the NUL is in one */
    row_fail(c, c->slots[c->nul_field - 1].kind != K_ID, PROP_ERR_CSV, "%s:%zu:%s: NUL byte in field", c->path, rowno,
             colname(c, c->nul_field - 1));
    return;
  }
  /* phase 1: check every cell; nothing is written yet */
  for (size_t j = 0; j < c->ncols; j++) {
    int kind = c->slots[j].kind;
    if (kind == K_SKIP) continue;
    const char *t = field(c, j);
    size_t len = c->flen[j];
    if (is_missing(c, t, len)) {
      c->aflag[j] = A_MISSING;
      continue;
    }
    c->aflag[j] = A_OK;
    if (kind != K_NUM && kind != K_AUTO_NUM) continue;
    double v;
    int unparsed = parse_number(t, len, &v) != 0;
    if (unparsed || !isfinite(v)) { /* an auto column turns to text, or decides on +-Inf later */
      if (kind == K_AUTO_NUM) {
        c->aflag[j] = unparsed ? A_FLIP : A_DEFER;
        continue;
      }
      char ex[64];
      pp_cell_excerpt(t, len, ex, sizeof ex);
      row_fail(c, 1, PROP_ERR_VALUE, "%s:%zu:%s: '%s' is not a %snumber", c->path, rowno, c->names[j], ex,
               unparsed ? "" : "finite ");
      return;
    }
    c->val[j] = v;
  }
  /* phase 2: write */
  size_t i;
  int rc = add_row(c, &i);
  for (size_t j = 0; j < c->ncols && !rc; j++) {
    slot *s = &c->slots[j];
    if (s->kind == K_SKIP || c->aflag[j] == A_MISSING) continue;
    pp_column *col = &c->f->cols[s->col];
    const char *t = field(c, j);
    switch (s->kind) {
    case K_NUM: col->num[i] = c->val[j]; break;
    case K_AUTO_NUM:
      if (c->aflag[j] == A_OK) col->num[i] = c->val[j];
      else if (c->aflag[j] == A_DEFER) rc = push_deferred(c, s, i, t, c->flen[j]);
      else if (!(rc = flip(c, s, i))) rc = pp_column_intern(col, t, &col->code[i]);
      break;
    case K_CAT:
    case K_AUTO_CAT: rc = pp_column_intern(col, t, &col->code[i]); break;
    case K_ID: rc = put_id(c, j, i); break;
    default: break;
    }
  }
  if (rc) c->rc = rc;
}

static void file_changed(pp_csv *c) {
  c->rc = pp_err(PROP_ERR_IO, "%s: the file changed while it was being read", c->path);
}

/* Second pass of a whole-file read: fill the PENDING cells of columns that turned categorical. */
static void reread_row(pp_csv *c) {
  size_t i = c->rows_seen++;
  if (i >= c->rr_limit || c->nfields != c->ncols) return; /* bad rows hold nothing pending */
  for (size_t j = 0; j < c->ncols && !c->rc; j++) {
    slot *s = &c->rr_slots[j];
    if (s->kind != K_AUTO_CAT || !s->npending || i >= s->flip_row) continue;
    pp_column *col = &c->f->cols[s->col];
    if (col->code[i] != CODE_PENDING) continue;
    const char *t = field(c, j);
    if (is_missing(c, t, c->flen[j]) || c->nul_field) {
      file_changed(c);
      return;
    }
    int rc = pp_column_intern(col, t, &col->code[i]);
    if (rc) c->rc = rc;
    s->npending--;
  }
}

/* ---- libcsv callbacks ---------------------------------------------------------------------------- */

static void cb_field(void *s, size_t len, void *data) {
  pp_csv *c = data;
  if (c->rc) return;
  size_t idx = c->nfields++;
  if (c->have_header && idx >= c->ncols) return; /* count only */
  if (len > MAX_RECORD_BYTES - 1 - c->arena_len) {
    c->rc = pp_err(PROP_ERR_CSV, "%s:%zu: record longer than %zu MiB", c->path, c->rows_seen + 1,
                   MAX_RECORD_BYTES >> 20);
    return;
  }
  if (idx == c->fcap) {
    size_t ncap = c->fcap ? 2 * c->fcap : 64;
    if (pp_realloc_array(&c->off, ncap, sizeof *c->off) || pp_realloc_array(&c->flen, ncap, sizeof *c->flen)) {
      c->rc = PROP_ERR_NOMEM;
      return;
    }
    c->fcap = ncap;
  }
  size_t need = c->arena_len + len + 1;
  if (need > c->arena_cap) {
    size_t ncap = c->arena_cap ? c->arena_cap : 4096;
    while (ncap < need) ncap *= 2;
    if (pp_realloc_array(&c->arena, ncap, 1)) {
      c->rc = PROP_ERR_NOMEM;
      return;
    }
    c->arena_cap = ncap;
  }
  char *dst = c->arena + c->arena_len;
  if (len) {
    memcpy(dst, s, len);
    if (c->nul_seen && !c->nul_field && memchr(dst, 0, len)) c->nul_field = idx + 1;
  }
  dst[len] = '\0';
  c->off[idx] = c->arena_len;
  c->flen[idx] = len;
  c->arena_len = need;
}

static void cb_row(int term, void *data) {
  pp_csv *c = data;
  (void)term;
  if (!c->rc) {
    if (!c->have_header) header_row(c);
    else if (c->mode == M_REREAD) reread_row(c);
    else data_row(c);
  }
  reset_record(c);
}

/* ---- the pump -------------------------------------------------------------------------------------- */

static void read_block(pp_csv *c) {
  size_t n = fread(c->buf, 1, BLOCK_BYTES, c->fp);
  if (n < BLOCK_BYTES) {
    if (ferror(c->fp)) {
      char eb[128];
      c->rc = pp_err(PROP_ERR_IO, "%s: read error: %s", c->path, errno_text(errno, eb, sizeof eb));
      return;
    }
    c->eof = 1;
  }
  c->len = n;
  c->pos = 0;
  c->cr_at = SIZE_MAX;
  if (n && memchr(c->buf, 0, n)) c->nul_seen = 1; /* sticky: a field may span blocks */
  if (!c->bom_checked) {
    c->bom_checked = 1;
    if (n >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0) c->pos = 3;
  }
}

/* Quoting error at the current byte: the record being read is bad. */
static void bad_quote(pp_csv *c) {
  if (!c->have_header) {
    c->rc = pp_err(PROP_ERR_CSV, "%s: header: bad quoting in column %zu", c->path, c->nfields + 1);
    return;
  }
  size_t rowno = ++c->rows_seen;
  row_fail(c, 0, PROP_ERR_CSV, "%s:%zu:%s: bad quoting (a quote inside an unquoted field, or text after a closing quote)",
           c->path, rowno, colname(c, c->nfields));
  reset_record(c);
  csv_free(&c->parser);
  c->parser_ok = 0;
  if (!c->rc) c->rc = parser_init(c);
}

static void at_eof(pp_csv *c) {
  c->done = 1;
  int r = csv_fini(&c->parser, cb_field, cb_row, c);
  if (c->rc || r == 0) return;
  if (csv_error(&c->parser) != CSV_EPARSE) {
    c->rc = pp_err(PROP_ERR_NOMEM, "%s: out of memory while parsing", c->path);
    return;
  }
  if (!c->have_header) {
    c->rc = pp_err(PROP_ERR_CSV, "%s: header: unterminated quoted field", c->path);
    return;
  }
  size_t rowno = ++c->rows_seen, last = c->lines + (size_t)c->mid_line, first = c->rec_line ? c->rec_line : last;
  row_fail(c, 0, PROP_ERR_CSV,
           "%s:%zu: unterminated quoted field (column '%s'): the row starts on line %zu and took in every line to "
           "the end of the file, %zu lines (%zu to %zu)",
           c->path, rowno, colname(c, c->nfields), first, last - first + 1, first, last);
  reset_record(c);
}

static int want_more(const pp_csv *c) {
  if (!c->have_header) return 1;
  if (c->mode == M_ROWS) return c->f && c->f->nrows < c->max_rows;
  if (c->mode == M_REREAD) return c->rows_seen < c->rr_limit;
  return 0;
}

/* Length of the next piece: through the first CR or LF, or everything left in the block.  The
 * position of the next CR is cached, so LF-only files scan each block for CR once. */
static size_t line_piece(pp_csv *c) {
  const unsigned char *p = c->buf + c->pos;
  size_t n = c->len - c->pos;
  if (c->cr_at == SIZE_MAX || c->cr_at < c->pos) {
    const unsigned char *cr = memchr(p, '\r', n);
    c->cr_at = cr ? c->pos + (size_t)(cr - p) : c->len;
  }
  size_t lim = c->cr_at - c->pos; /* bytes before the next CR (or all of them) */
  const unsigned char *lf = memchr(p, '\n', lim);
  if (lf) return (size_t)(lf - p) + 1;
  return lim < n ? lim + 1 : n;
}

/* Line counting, after a piece whose last byte is `last`. */
static void count_line(pp_csv *c, size_t piece, unsigned char last) {
  int crlf_tail = last == '\n' && piece == 1 && c->after_cr;
  if (last == '\r' || (last == '\n' && !crlf_tail)) c->lines++;
  c->after_cr = last == '\r';
  c->mid_line = last != '\r' && last != '\n';
}

static int pump(pp_csv *c) {
  while (!c->rc && !c->done && want_more(c)) {
    if (c->pos == c->len) {
      if (c->eof) at_eof(c);
      else read_block(c);
      continue;
    }
    const unsigned char *p = c->buf + c->pos;
    size_t piece = line_piece(c);
    unsigned char last = p[piece - 1];
    int ends_line = last == '\n' || last == '\r';
    if (c->skip_eol) { /* resynchronising after a quoting error */
      c->pos += piece;
      c->skip_eol = !ends_line;
      count_line(c, piece, last);
      continue;
    }
    if (!c->rec_line && !(piece == 1 && ends_line)) c->rec_line = c->lines + 1; /* not a blank line */
    /* libcsv grows its field buffer by a fixed step (blk_size): 4 KiB steps make a 16 MiB field
     * 4,096 reallocations of a growing buffer, quadratic wherever realloc copies (AddressSanitizer's
     * always does).  A step of at least the buffer's size and the piece's makes it double. */
    size_t step = c->parser.entry_size > piece ? c->parser.entry_size : piece;
    csv_set_blk_size(&c->parser, step > FIELD_STEP ? step : FIELD_STEP);
    size_t used = csv_parse(&c->parser, p, piece, cb_field, cb_row, c);
    if (c->rc) break;
    if (used < piece) {
      if (csv_error(&c->parser) != CSV_EPARSE) {
        c->rc = pp_err(PROP_ERR_NOMEM, "%s: out of memory while parsing", c->path);
        break;
      }
      bad_quote(c);
      c->skip_eol = !ends_line;
    } else if (c->parser.entry_pos > MAX_FIELD_BYTES) {
      c->rc = pp_err(PROP_ERR_CSV, "%s:%zu:%s: field longer than %zu MiB (unterminated quote? the row starts on line %zu)",
                     c->path, c->rows_seen + (c->have_header ? 1 : 0), c->have_header ? colname(c, c->nfields) : "header",
                     MAX_FIELD_BYTES >> 20, c->rec_line);
    }
    c->pos += piece;
    count_line(c, piece, last);
  }
  return c->rc;
}

/* ---- chunks ---------------------------------------------------------------------------------------- */

static int new_chunk(pp_csv *c, size_t max_rows) {
  prop_frame *f = NULL;
  PP_TRY(prop_frame_create(0, &f));
  int rc = 0;
  if (!(f->source = pp_strdup(c->path)) || !(f->rownum = pp_malloc(sizeof *f->rownum))) rc = PROP_ERR_NOMEM;
  for (size_t j = 0; j < c->ncols && !rc; j++) {
    slot *s = &c->slots[j];
    free_deferred(s);
    memset(s, 0, sizeof *s);
    prop_coltype t = c->types[j];
    switch (t) {
    case PROP_COL_IGNORE:
      s->kind = K_SKIP;
      rc = pp_frame_add_dropped(f, c->names[j]);
      continue;
    case PROP_COL_NUMERIC: s->kind = K_NUM; break;
    case PROP_COL_ID: s->kind = K_ID; break;
    case PROP_COL_AUTO:
      s->kind = K_AUTO_NUM;
      t = PROP_COL_NUMERIC;
      break;
    default: s->kind = K_CAT; break;
    }
    rc = pp_frame_add_column_ex(f, c->names[j], t, 0, &s->col);
  }
  if (rc) {
    prop_frame_free(f);
    return rc;
  }
  c->f = f;
  c->cap = 0;
  c->max_rows = max_rows;
  c->mode = M_ROWS;
  return 0;
}

/* Plain realloc, not pp_realloc_raw: it only shrinks, and failing keeps the larger block. */
static void shrink_to(void *pptr, size_t n, size_t size) {
  void **pp = pptr;
  if (!*pp) return;
  void *q = realloc(*pp, (n ? n : 1) * size);
  if (q) *pp = q;
}

/* Give back the unused tail of the chunk's arrays (failure to shrink is harmless). */
static void shrink_chunk(pp_csv *c) {
  prop_frame *f = c->f;
  size_t n = f->nrows;
  if (n == c->cap) return;
  shrink_to(&f->rownum, n, sizeof *f->rownum);
  for (size_t j = 0; j < f->ncols; j++) {
    shrink_to(&f->cols[j].num, n, sizeof(double));
    shrink_to(&f->cols[j].code, n, sizeof(int32_t));
    shrink_to(&f->cols[j].str, n, sizeof(char *));
  }
  shrink_to(&f->row_err, n, sizeof *f->row_err);
  shrink_to(&f->row_code, n, sizeof *f->row_code);
  c->cap = n;
}

/* ---- whole-file reads: finishing inferred columns ------------------------------------------------ */

static int reread(pp_csv *c, size_t limit);

/* Put a dictionary back into the order in which its labels first occur in the rows. */
static int reorder_first_seen(pp_column *col, size_t nrows) {
  size_t nd = col->ndict;
  if (nd < 2) return 0;
  size_t *newidx = pp_malloc_array(nd, sizeof *newidx);
  char **tmp = pp_malloc_array(nd, sizeof *tmp);
  if (!newidx || !tmp) {
    free(newidx);
    free(tmp);
    return PROP_ERR_NOMEM;
  }
  for (size_t k = 0; k < nd; k++) newidx[k] = SIZE_MAX;
  size_t next = 0;
  for (size_t i = 0; i < nrows; i++) {
    int32_t k = col->code[i];
    if (k >= 0 && newidx[k] == SIZE_MAX) newidx[k] = next++;
  }
  for (size_t k = 0; k < nd; k++)
    if (newidx[k] == SIZE_MAX) newidx[k] = next++;
  memcpy(tmp, col->dict, nd * sizeof *tmp);
  for (size_t k = 0; k < nd; k++) col->dict[newidx[k]] = tmp[k];
  for (size_t i = 0; i < nrows; i++)
    if (col->code[i] >= 0) col->code[i] = (int32_t)newidx[col->code[i]];
  free(newidx);
  free(tmp);
  pp_strmap_free(&col->map);
  pp_strmap_init(&col->map);
  for (size_t k = 0; k < nd; k++) PP_TRY(pp_strmap_put(&col->map, col->dict[k], k, NULL));
  return 0;
}

static int finish_auto(pp_csv *c) {
  prop_frame *f = c->f;
  /* 1. non-finite text in columns that stayed numeric */
  const slot *first = NULL;
  for (size_t j = 0; j < c->ncols; j++) {
    slot *s = &c->slots[j];
    if (s->kind != K_AUTO_NUM || !s->ndef) continue;
    if (c->opt.strict) {
      if (!first || s->def[0].row < first->def[0].row) first = s;
      continue;
    }
    for (size_t k = 0; k < s->ndef; k++) {
      size_t i = s->def[k].row;
      if (f->row_err && f->row_err[i]) continue; /* keep the first reason */
      char msg[512];
      snprintf(msg, sizeof msg, "%s:%zu:%s: '%s' is not a finite number", c->path, f->rownum[i],
               f->cols[s->col].name, s->def[k].text ? s->def[k].text : "");
      blank_row(c, i);
      PP_TRY(set_row_err(c, i, PROP_ERR_VALUE, msg));
    }
  }
  if (first)
    return pp_err(PROP_ERR_VALUE, "%s:%zu:%s: '%s' is not a finite number", c->path, f->rownum[first->def[0].row],
                  f->cols[first->col].name, first->def[0].text ? first->def[0].text : "");
  for (size_t j = 0; j < c->ncols; j++) free_deferred(&c->slots[j]);
  /* 2. labels of cells first read as numbers */
  size_t limit = 0;
  for (size_t j = 0; j < c->ncols; j++)
    if (c->slots[j].kind == K_AUTO_CAT && c->slots[j].npending && c->slots[j].flip_row > limit)
      limit = c->slots[j].flip_row;
  if (limit) PP_TRY(reread(c, limit));
  /* 3. dictionaries in first-seen order */
  for (size_t j = 0; j < c->ncols; j++)
    if (c->slots[j].kind == K_AUTO_CAT && c->slots[j].reorder)
      PP_TRY(reorder_first_seen(&f->cols[c->slots[j].col], f->nrows));
  return 0;
}

/* ---- public-internal API ---------------------------------------------------------------------------- */

void prop_csv_options_default(prop_csv_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
  opt->delimiter = ',';
  opt->na_values = NULL;
  opt->n_na_values = 0;
  opt->strict = 1;
}

static int apply_declared(pp_csv *c, const prop_csv_options *opt) {
  if (opt->n_declared && (!opt->declared_names || !opt->declared_types))
    return pp_err(PROP_ERR_ARG, "%s: n_declared is %zu but the declared arrays are NULL", c->path, opt->n_declared);
  for (size_t k = 0; k < opt->n_declared; k++) {
    const char *name = opt->declared_names[k];
    prop_coltype t = opt->declared_types[k];
    if (!name) return pp_err(PROP_ERR_ARG, "%s: declared column %zu has a NULL name", c->path, k);
    if (t < PROP_COL_AUTO || t > PROP_COL_IGNORE)
      return pp_err(PROP_ERR_ARG, "%s: declared column '%s' has an invalid type %d", c->path, name, (int)t);
    size_t j;
    if (!pp_strmap_get(&c->namemap, name, &j))
      return pp_err(PROP_ERR_SCHEMA, "%s: declared column '%s' is not in the header", c->path, name);
    c->types[j] = t;
  }
  return 0;
}

int pp_csv_open(const char *path, const prop_csv_options *opt, pp_csv **out) {
  if (!path || !out) return pp_err(PROP_ERR_ARG, "pp_csv_open: NULL argument");
  *out = NULL;
  prop_csv_options own;
  prop_csv_options_default(&own);
  PP_TRY(pp_opts_import(&own, sizeof own, opt, "prop_csv_options"));
  opt = &own;
  unsigned char d = (unsigned char)opt->delimiter;
  if (d == '\0' || d == '"' || d == '\r' || d == '\n')
    return pp_err(PROP_ERR_ARG, "%s: invalid delimiter (code %u)", path, (unsigned)d);
  if (opt->n_na_values && !opt->na_values)
    return pp_err(PROP_ERR_ARG, "%s: n_na_values is %zu but na_values is NULL", path, opt->n_na_values);
  pp_csv *c = pp_calloc(1, sizeof *c);
  if (!c) return PROP_ERR_NOMEM;
  pp_strmap_init(&c->namemap);
  int rc = 0;
  static const char *const default_na[] = {"NA"};
  const char *const *na = opt->na_values ? opt->na_values : default_na;
  size_t nna = opt->na_values ? opt->n_na_values : 1;
  if (!(c->path = pp_strdup(path)) || !(c->na = pp_calloc(nna, sizeof *c->na)) ||
      !(c->na_len = pp_calloc(nna, sizeof *c->na_len)))
    rc = PROP_ERR_NOMEM;
  for (size_t k = 0; k < nna && !rc; k++) {
    if (!na[k]) rc = pp_err(PROP_ERR_ARG, "%s: na_values[%zu] is NULL", path, k);
    else if (!(c->na[k] = pp_strdup(na[k]))) rc = PROP_ERR_NOMEM;
    else {
      c->na_len[k] = strlen(na[k]);
      c->nna = k + 1;
    }
  }
  if (!rc) {
    c->opt = *opt;
    c->opt.na_values = (const char *const *)c->na;
    c->opt.n_na_values = c->nna;
    c->opt.declared_names = NULL;
    c->opt.declared_types = NULL;
    c->opt.n_declared = 0;
    c->opt.strict = opt->strict != 0;
    c->fp = fopen(path, "rb");
    if (!c->fp) {
      char eb[128];
      rc = pp_err(PROP_ERR_IO, "%s: cannot open: %s", path, errno_text(errno, eb, sizeof eb));
    }
  }
  if (!rc) {
    struct stat st;
    c->regular = fstat(fileno(c->fp), &st) == 0 && S_ISREG(st.st_mode);
    if (!(c->buf = pp_malloc(BLOCK_BYTES))) rc = PROP_ERR_NOMEM;
  }
  if (!rc) rc = parser_init(c);
  if (!rc) {
    c->mode = M_HEADER;
    rc = pump(c);
  }
  if (!rc && !c->have_header) rc = pp_err(PROP_ERR_CSV, "%s: empty file (no header)", path);
  if (!rc) rc = apply_declared(c, opt);
  if (rc) {
    pp_csv_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

size_t pp_csv_ncols(const pp_csv *c) { return c ? c->ncols : 0; }

const char *pp_csv_colname(const pp_csv *c, size_t j) { return (c && j < c->ncols) ? c->names[j] : NULL; }

int pp_csv_set_types(pp_csv *c, const prop_coltype *types) {
  if (!c || !types) return pp_err(PROP_ERR_ARG, "pp_csv_set_types: NULL argument");
  if (c->started) return pp_err(PROP_ERR_STATE, "%s: column types must be set before reading rows", c->path);
  for (size_t j = 0; j < c->ncols; j++)
    if (types[j] < PROP_COL_AUTO || types[j] > PROP_COL_IGNORE)
      return pp_err(PROP_ERR_ARG, "%s: column '%s': invalid type %d", c->path, c->names[j], (int)types[j]);
  memcpy(c->types, types, c->ncols * sizeof *types);
  return 0;
}

int pp_csv_next(pp_csv *c, size_t max_rows, prop_frame **chunk) {
  if (!c || !chunk) return pp_err(PROP_ERR_ARG, "pp_csv_next: NULL argument");
  *chunk = NULL;
  if (max_rows == 0) return pp_err(PROP_ERR_ARG, "%s: max_rows is 0", c->path);
  if (c->failed) return pp_err(PROP_ERR_STATE, "%s: the reader stopped at an earlier error", c->path);
  if (!c->allow_auto)
    for (size_t j = 0; j < c->ncols; j++)
      if (c->types[j] == PROP_COL_AUTO)
        return pp_err(PROP_ERR_STATE, "%s: column '%s' has no type: streamed reads need pp_csv_set_types", c->path,
                      c->names[j]);
  c->started = 1;
  if (c->done) return 0;
  int rc = new_chunk(c, max_rows);
  if (!rc) rc = pump(c);
  if (rc) {
    c->failed = rc;
    prop_frame_free(c->f);
    c->f = NULL;
    return rc;
  }
  if (c->f->nrows == 0) {
    prop_frame_free(c->f);
    c->f = NULL;
    return 0;
  }
  shrink_chunk(c);
  *chunk = c->f;
  c->f = NULL;
  return 0;
}

void pp_csv_free(pp_csv *c) {
  if (!c) return;
  if (c->fp) fclose(c->fp);
  if (c->parser_ok) csv_free(&c->parser);
  free(c->buf);
  free(c->path);
  for (size_t k = 0; k < c->nna; k++) free(c->na[k]);
  free(c->na);
  free(c->na_len);
  if (c->names)
    for (size_t j = 0; j < c->ncols; j++) free(c->names[j]);
  free(c->names);
  pp_strmap_free(&c->namemap);
  free(c->types);
  if (c->slots)
    for (size_t j = 0; j < c->ncols; j++) free_deferred(&c->slots[j]);
  free(c->slots);
  free(c->arena);
  free(c->off);
  free(c->flen);
  free(c->val);
  free(c->aflag);
  prop_frame_free(c->f);
  free(c);
}

static int reread(pp_csv *c, size_t limit) {
  const char *which = "?";
  for (size_t j = 0; j < c->ncols; j++)
    if (c->slots[j].kind == K_AUTO_CAT && c->slots[j].npending) which = c->names[j];
  if (!c->regular)
    return pp_err(PROP_ERR_IO,
                  "%s: column '%s' turned out to be categorical after numeric rows; reading it again needs a "
                  "regular file (declare the column's type to read from a pipe)",
                  c->path, which);
  pp_csv *c2 = NULL;
  PP_TRY(pp_csv_open(c->path, &c->opt, &c2));
  int same = c2->ncols == c->ncols;
  for (size_t j = 0; j < c->ncols && same; j++) same = strcmp(c2->names[j], c->names[j]) == 0;
  int rc = 0;
  if (same) {
    c2->mode = M_REREAD;
    c2->f = c->f; /* borrowed */
    c2->rr_slots = c->slots;
    c2->rr_limit = limit;
    rc = pump(c2);
    c2->f = NULL;
    for (size_t j = 0; j < c->ncols; j++)
      if (c->slots[j].kind == K_AUTO_CAT && c->slots[j].npending) same = 0;
    if (c2->rows_seen < limit) same = 0;
  }
  if (!rc && !same) {
    file_changed(c2);
    rc = c2->rc;
  }
  pp_csv_free(c2);
  return rc;
}

int prop_frame_read_csv(const char *path, const prop_csv_options *opt, prop_frame **out) {
  if (!path || !out) return pp_err(PROP_ERR_ARG, "prop_frame_read_csv: NULL argument");
  *out = NULL;
  pp_csv *c = NULL;
  PP_TRY(pp_csv_open(path, opt, &c));
  c->allow_auto = 1;
  c->started = 1;
  int rc = new_chunk(c, SIZE_MAX);
  if (!rc) rc = pump(c);
  if (!rc) rc = finish_auto(c);
  if (!rc) {
    shrink_chunk(c);
    *out = c->f;
    c->f = NULL;
  }
  pp_csv_free(c);
  return rc;
}
