/* The spilled call list: when a list outgrows its memory budget, its rows go to one temporary file as
 * segments of two kinds: sorted runs (the scored rows of one batch in call order) and rows in input order
 * (the unscored rows, or every row when the list is written in input order).  Reading merges the runs
 * with a heap of their heads (pp_rank_cmp, the in-memory sort's own order, so the bytes written are the
 * same), or reads the input-order segments one after the other.  The file is unlinked as soon as it is
 * created: it disappears with the descriptor whatever ends the process.
 *
 * A record: u32 length, u32 band | has_error << 8 | reasons << 16, u64 row, f64 probability, f64 value,
 * then the id, the error (when it has one) and each reason as NUL-terminated text ("" for none). */
#define _GNU_SOURCE /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lists/lists.h"

#define HEAD_BYTES 32
#define WRITE_BUF (1u << 20)
#define READ_BUF (64u << 10)

typedef struct segment {
  uint64_t start, end;
} segment;

typedef struct seglist {
  segment *s;
  size_t n, cap;
} seglist;

struct pp_spill {
  int fd;
  char *dir;
  unsigned char *buf; /* write buffer */
  size_t blen;
  uint64_t written;   /* bytes in the file and the buffer */
  int open_kind;      /* -1, or the kind of the segment being written */
  uint64_t open_start;
  seglist kind[2];    /* [0] input order, [1] sorted runs */
};

static int io_fail(const pp_spill *sp, const char *what) {
  return pp_err(PROP_ERR_IO, "call list: temporary file in %s: %s: %s", sp->dir, what, strerror(errno));
}

int pp_spill_create(const char *dir, pp_spill **out) {
  *out = NULL;
  pp_spill *sp = pp_calloc(1, sizeof *sp);
  if (!sp) return PROP_ERR_NOMEM;
  sp->fd = -1;
  sp->open_kind = -1;
  size_t len = strlen(dir);
  char *path = pp_malloc(len + 32);
  sp->dir = pp_strdup(dir);
  sp->buf = pp_malloc(WRITE_BUF);
  if (!path || !sp->dir || !sp->buf) {
    free(path);
    pp_spill_free(sp);
    return PROP_ERR_NOMEM;
  }
  int rc = 0;
#ifdef O_TMPFILE
  /* a file without a name: nothing to remove, whenever a signal comes */
  sp->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  if (sp->fd < 0) { /* no O_TMPFILE here, or the folder's file system has none: named, then unlinked */
    snprintf(path, len + 32, "%s/propensity-list.XXXXXX", dir);
    sp->fd = mkstemp(path);
    rc = sp->fd < 0 ? io_fail(sp, "cannot create it") : unlink(path) ? io_fail(sp, "cannot unlink it") : 0;
  }
  free(path);
  if (rc) {
    pp_spill_free(sp);
    return rc;
  }
  *out = sp;
  return 0;
}

void pp_spill_free(pp_spill *sp) {
  if (!sp) return;
  if (sp->fd >= 0) close(sp->fd);
  free(sp->dir);
  free(sp->buf);
  free(sp->kind[0].s);
  free(sp->kind[1].s);
  free(sp);
}

size_t pp_spill_bytes(const pp_spill *sp) { return (size_t)sp->written; }

static int write_all(pp_spill *sp, const unsigned char *p, size_t n) {
  while (n) {
    ssize_t k = write(sp->fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return io_fail(sp, "cannot write it");
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static int flush(pp_spill *sp) {
  int rc = write_all(sp, sp->buf, sp->blen);
  sp->blen = 0;
  return rc;
}

/* Through the buffer, or straight to the file when longer than it. */
static int put_bytes(pp_spill *sp, const void *p, size_t n) {
  if (sp->blen + n > WRITE_BUF) PP_TRY(flush(sp));
  if (n > WRITE_BUF) return write_all(sp, p, n);
  memcpy(sp->buf + sp->blen, p, n);
  sp->blen += n;
  return 0;
}

static size_t text_len(const char *s) { return (s ? strlen(s) : 0) + 1; }

static int put_text(pp_spill *sp, const char *s) { return put_bytes(sp, s ? s : "", text_len(s)); }

int pp_spill_put(pp_spill *sp, int ordered, const pp_row_view *r) {
  if (sp->open_kind != ordered) {
    if (sp->open_kind >= 0) return pp_err(PROP_ERR_STATE, "call list: two spill segments written at once");
    sp->open_kind = ordered;
    sp->open_start = sp->written;
  }
  size_t len = HEAD_BYTES + text_len(r->id) + (r->err ? text_len(r->err) : 0);
  for (size_t q = 0; q < r->nreasons; q++) len += text_len(r->reason[q]);
  if (len > UINT32_MAX || r->nreasons > PP_MAX_REASONS || r->band < 0 || r->band > 255)
    return pp_err(PROP_ERR_VALUE, "call list: row %zu is too long to spill (%zu bytes)", r->row + 1, len);
  unsigned char head[HEAD_BYTES];
  uint32_t l32 = (uint32_t)len, meta = (uint32_t)r->band | (uint32_t)(r->err != NULL) << 8 | (uint32_t)r->nreasons << 16;
  uint64_t row = r->row;
  memcpy(head, &l32, 4);
  memcpy(head + 4, &meta, 4);
  memcpy(head + 8, &row, 8);
  memcpy(head + 16, &r->prob, 8);
  memcpy(head + 24, &r->value, 8);
  PP_TRY(put_bytes(sp, head, sizeof head));
  PP_TRY(put_text(sp, r->id));
  if (r->err) PP_TRY(put_text(sp, r->err));
  for (size_t q = 0; q < r->nreasons; q++) PP_TRY(put_text(sp, r->reason[q]));
  sp->written += len;
  return 0;
}

int pp_spill_end(pp_spill *sp, int ordered) {
  if (sp->open_kind != ordered) return 0; /* nothing written: no segment */
  PP_TRY(flush(sp));
  seglist *l = &sp->kind[ordered];
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    PP_TRY(pp_realloc_array(&l->s, cap, sizeof *l->s));
    l->cap = cap;
  }
  l->s[l->n].start = sp->open_start;
  l->s[l->n++].end = sp->written;
  sp->open_kind = -1;
  return 0;
}

/* ---- reading ------------------------------------------------------------------------------------------- */
typedef struct cursor {
  uint64_t pos, end;    /* the part of the segment not yet read into buf */
  unsigned char *buf;
  size_t blen, bpos, bcap, cur; /* bytes in buf, start of the current record, its length */
  int live;
  double key;
  pp_row_view v;
} cursor;

struct pp_merge {
  const pp_spill *sp;
  int ordered, by_value;
  cursor *c;
  size_t nc, *heap, nheap; /* ordered: a heap of cursors by their heads; else nheap is the cursor read */
  int started;
};

void pp_merge_free(pp_merge *mg) {
  if (!mg) return;
  for (size_t i = 0; i < mg->nc; i++) free(mg->c[i].buf);
  free(mg->c);
  free(mg->heap);
  free(mg);
}

static int corrupt(const pp_merge *mg) {
  return pp_err(PROP_ERR_IO, "call list: temporary file in %s: a record is cut short", mg->sp->dir);
}

/* At least need bytes of the segment from bpos on in buf. */
static int ensure(const pp_merge *mg, cursor *g, size_t need) {
  if (g->blen - g->bpos >= need) return 0;
  memmove(g->buf, g->buf + g->bpos, g->blen - g->bpos);
  g->blen -= g->bpos;
  g->bpos = 0;
  if (need > g->bcap) {
    PP_TRY(pp_realloc_array(&g->buf, need, 1));
    g->bcap = need;
  }
  while (g->blen < need && g->pos < g->end) {
    size_t want = g->bcap - g->blen;
    if (want > g->end - g->pos) want = (size_t)(g->end - g->pos);
    ssize_t k = pread(mg->sp->fd, g->buf + g->blen, want, (off_t)g->pos);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return k < 0 ? io_fail(mg->sp, "cannot read it") : corrupt(mg);
    g->blen += (size_t)k;
    g->pos += (uint64_t)k;
  }
  return g->blen >= need ? 0 : corrupt(mg);
}

/* The next NUL-terminated text of the record, from *at on, before end. */
static const char *take_text(const unsigned char *rec, size_t *at, size_t end) {
  const unsigned char *nul = memchr(rec + *at, 0, end - *at);
  if (!nul) return NULL;
  const char *s = (const char *)rec + *at;
  *at = (size_t)(nul - rec) + 1;
  return s;
}

/* The cursor's next record into its view (live 0 at the end of its segment). */
static int advance(const pp_merge *mg, cursor *g) {
  g->bpos += g->cur;
  g->cur = 0;
  if (g->bpos == g->blen && g->pos == g->end) {
    g->live = 0;
    return 0;
  }
  uint32_t len, meta;
  PP_TRY(ensure(mg, g, HEAD_BYTES));
  memcpy(&len, g->buf + g->bpos, 4);
  if (len < HEAD_BYTES + 1) return corrupt(mg);
  PP_TRY(ensure(mg, g, len));
  const unsigned char *rec = g->buf + g->bpos;
  uint64_t row;
  memcpy(&meta, rec + 4, 4);
  memcpy(&row, rec + 8, 8);
  memcpy(&g->v.prob, rec + 16, 8);
  memcpy(&g->v.value, rec + 24, 8);
  g->v.row = (size_t)row;
  g->v.band = (int)(meta & 0xff);
  g->v.nreasons = meta >> 16;
  size_t at = HEAD_BYTES;
  g->v.id = take_text(rec, &at, len);
  g->v.err = meta & 0x100 ? take_text(rec, &at, len) : NULL;
  if (!g->v.id || ((meta & 0x100) && !g->v.err) || g->v.nreasons > PP_MAX_REASONS) return corrupt(mg);
  for (size_t q = 0; q < g->v.nreasons; q++) {
    const char *t = take_text(rec, &at, len);
    if (!t) return corrupt(mg);
    g->v.reason[q] = *t ? t : NULL;
  }
  g->key = pp_rank_key(g->v.prob, mg->by_value ? &g->v.value : NULL);
  g->cur = len;
  g->live = 1;
  return 0;
}

static inline int head_before(const pp_merge *mg, size_t a, size_t b) {
  const cursor *x = &mg->c[a], *y = &mg->c[b];
  return pp_rank_cmp(x->key, x->v.id, x->v.row, y->key, y->v.id, y->v.row) < 0;
}

static void heap_down(pp_merge *mg, size_t i) {
  size_t *h = mg->heap, n = mg->nheap, v = h[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && head_before(mg, h[c + 1], h[c])) c++;
    if (!head_before(mg, h[c], v)) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = v;
}

int pp_merge_open(const pp_spill *sp, int ordered, int by_value, pp_merge **out) {
  *out = NULL;
  pp_merge *mg = pp_calloc(1, sizeof *mg);
  if (!mg) return PROP_ERR_NOMEM;
  const seglist *l = &sp->kind[ordered ? 1 : 0];
  mg->sp = sp;
  mg->ordered = ordered != 0;
  mg->by_value = by_value;
  mg->nc = l->n;
  mg->c = pp_calloc(l->n ? l->n : 1, sizeof *mg->c);
  mg->heap = pp_malloc_array(l->n ? l->n : 1, sizeof *mg->heap);
  int rc = mg->c && mg->heap ? 0 : PROP_ERR_NOMEM;
  for (size_t i = 0; !rc && i < l->n; i++) {
    cursor *g = &mg->c[i];
    g->pos = l->s[i].start;
    g->end = l->s[i].end;
    /* input order reads one segment at a time: its buffer is allocated when it is reached */
    if (mg->ordered) rc = (g->buf = pp_malloc(g->bcap = READ_BUF)) ? advance(mg, g) : PROP_ERR_NOMEM;
    if (!rc && g->live) mg->heap[mg->nheap++] = i;
  }
  for (size_t i = mg->nheap / 2; !rc && i-- > 0;) heap_down(mg, i);
  if (rc) {
    pp_merge_free(mg);
    return rc;
  }
  if (!mg->ordered) mg->nheap = 0; /* the segment being read */
  *out = mg;
  return 0;
}

/* Input order: the next record of the current segment, or of the next one. */
static int next_in_order(pp_merge *mg, pp_row_view *r) {
  while (mg->nheap < mg->nc) {
    cursor *g = &mg->c[mg->nheap];
    if (!g->buf && !(g->buf = pp_malloc(g->bcap = READ_BUF))) return PROP_ERR_NOMEM;
    PP_TRY(advance(mg, g));
    if (g->live) {
      *r = g->v;
      return 1;
    }
    free(g->buf);
    g->buf = NULL;
    mg->nheap++;
  }
  return 0;
}

int pp_merge_next(pp_merge *mg, pp_row_view *r) {
  if (!mg->ordered) return next_in_order(mg, r);
  if (mg->started && mg->nheap) { /* the row given last time: its run moves on */
    cursor *g = &mg->c[mg->heap[0]];
    PP_TRY(advance(mg, g));
    if (!g->live) mg->heap[0] = mg->heap[--mg->nheap];
    if (mg->nheap) heap_down(mg, 0);
  }
  mg->started = 1;
  if (!mg->nheap) return 0;
  *r = mg->c[mg->heap[0]].v;
  return 1;
}
