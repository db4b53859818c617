/* lib/write: the one writer of output files (prop_writer).  A list goes to a temporary file in the
 * target's folder and is renamed over the target at commit, so a reader sees the old file or the whole
 * new one; a character device, a FIFO, a socket or a caller's descriptor is written as a stream.  Fields
 * are formatted here (quoting, numbers in the C locale), so the CLI, Python and a dialer linking the
 * library write the same bytes.
 *
 * Temporary files of open writers are listed in a fixed table that prop_writer_remove_temporaries()
 * walks without locks or allocation, so a signal handler can remove them (the one piece of process-wide
 * state in the library; a writer opened while the table is full is simply not listed). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "write/writer.h"

#define BUF_BYTES 65536
#define SLOTS 64
#define SLOT_PATH 4096

/* ---- the table of temporary files ---------------------------------------------------------------- */
enum { SLOT_FREE = 0, SLOT_CLAIMED = 1, SLOT_LIVE = 2 };
static struct {
  atomic_int state;
  char path[SLOT_PATH];
} g_slots[SLOTS];

static int slot_claim(const char *path) {
  if (strlen(path) >= SLOT_PATH) return -1;
  for (int i = 0; i < SLOTS; i++) {
    int expect = SLOT_FREE;
    if (atomic_compare_exchange_strong(&g_slots[i].state, &expect, SLOT_CLAIMED)) {
      memcpy(g_slots[i].path, path, strlen(path) + 1);
      atomic_store(&g_slots[i].state, SLOT_LIVE); /* the path is complete before a handler can see it */
      return i;
    }
  }
  return -1;
}

static void slot_release(int i) {
  if (i >= 0) atomic_store(&g_slots[i].state, SLOT_FREE);
}

void prop_writer_remove_temporaries(void) {
  for (int i = 0; i < SLOTS; i++)
    if (atomic_load(&g_slots[i].state) == SLOT_LIVE) unlink(g_slots[i].path); /* async-signal-safe */
}

/* ---- the writer ------------------------------------------------------------------------------------ */
struct prop_writer {
  char *name;   /* as given, for messages */
  char *target; /* the file the temporary replaces (a symbolic link's target); NULL when streaming */
  char *tmp;    /* the temporary file; NULL when streaming */
  int fd, own_fd, slot;
  unsigned char *buf;
  size_t len;
  char delim;
  size_t ncols;  /* header fields; 0: no header (yet) */
  size_t nfield; /* fields of the current row */
  size_t rows;   /* data rows ended */
  int raw;       /* bytes were written without a header */
  int quote;     /* 1: RFC 4180 quoting; 0: fields are written as they are */
  int guard;     /* 1: text a spreadsheet would run as a formula gets a leading ' */
  int in_header; /* the row being written is the header */
  int err;       /* sticky status */
  int synced;    /* everything written is on disk (prop_writer_sync) */
};

void prop_writer_options_default(prop_writer_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
  opt->delimiter = ',';
}

static int fail(prop_writer *w, int code, const char *fmt, ...) PP_PRINTF(3, 4);
static int fail(prop_writer *w, int code, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!w->in_header && (w->ncols || w->nfield || w->rows)) pp_err(code, "%s: row %zu: %s", w->name, w->rows + 1, msg);
  else pp_err(code, "%s: %s", w->name, msg);
  w->err = code;
  return code;
}

static int flush(prop_writer *w) {
  size_t done = 0;
  while (done < w->len) {
    ssize_t k = write(w->fd, w->buf + done, w->len - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int e = k < 0 ? errno : EIO;
      w->len = 0;
      return fail(w, PROP_ERR_IO, "write failed: %s", strerror(e));
    }
    done += (size_t)k;
  }
  w->len = 0;
  return 0;
}

static int put(prop_writer *w, const void *p, size_t n) {
  const unsigned char *s = p;
  w->synced = 0;
  while (n) {
    if (w->len == BUF_BYTES) PP_TRY(flush(w));
    size_t k = BUF_BYTES - w->len < n ? BUF_BYTES - w->len : n;
    memcpy(w->buf + w->len, s, k);
    w->len += k;
    s += k;
    n -= k;
  }
  return 0;
}

static void writer_free(prop_writer *w) {
  if (w->own_fd && w->fd >= 0) close(w->fd);
  if (w->tmp) unlink(w->tmp);
  slot_release(w->slot);
  free(w->name);
  free(w->target);
  free(w->tmp);
  free(w->buf);
  free(w);
}

static int new_writer(const char *name, const prop_writer_options *opt, prop_writer **out) {
  *out = NULL;
  unsigned char d = (unsigned char)opt->delimiter;
  if (d == '\0' || d == '"' || d == '\r' || d == '\n')
    return pp_err(PROP_ERR_ARG, "%s: invalid delimiter (code %u)", name, (unsigned)d);
  prop_writer *w = pp_calloc(1, sizeof *w);
  if (!w) return PROP_ERR_NOMEM;
  w->fd = -1;
  w->slot = -1;
  w->delim = (char)d;
  w->quote = !opt->no_quoting;
  w->guard = !opt->keep_formulas;
  w->name = pp_strdup(name);
  w->buf = pp_malloc(BUF_BYTES);
  if (!w->name || !w->buf) {
    writer_free(w);
    return PROP_ERR_NOMEM;
  }
  *out = w;
  return 0;
}

/* The output must not be one of the inputs (the same device and inode, whatever the names). */
static int check_inputs(const char *path, const struct stat *out_st, const prop_writer_options *opt) {
  if (opt->n_inputs && !opt->inputs) return pp_err(PROP_ERR_ARG, "%s: n_inputs is %zu but inputs is NULL", path,
                                                   opt->n_inputs);
  for (size_t i = 0; i < opt->n_inputs; i++) {
    struct stat in;
    if (opt->inputs[i] && stat(opt->inputs[i], &in) == 0 && in.st_dev == out_st->st_dev && in.st_ino == out_st->st_ino)
      return pp_err(PROP_ERR_ARG, "%s is the same file as the input %s: refusing to write over it", path,
                    opt->inputs[i]);
  }
  return 0;
}

/* The name of a temporary file next to target: target.tmp. and six letters or digits drawn from the
 * process id, the clock and a counter (mixed by pp_seed_derive), like mkstemp's names. */
static char *temporary_name(const char *target) {
  static atomic_uint_fast64_t counter;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t z = pp_seed_derive(((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20),
                              atomic_fetch_add(&counter, 1));
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  char suffix[7];
  for (int i = 0; i < 6; i++, z /= 62) suffix[i] = abc[z % 62];
  suffix[6] = '\0';
  return pp_asprintf("%s.tmp.%s", target, suffix);
}

/* A temporary file next to target, with the mode of the file it replaces (else opt->mode or 0644).
 * Its name is listed for the signal handlers before the file is created (open with O_EXCL, as mkstemp
 * does), never after: a signal that arrives as the file appears finds it listed and removes it. */
static int open_temporary(prop_writer *w, const char *target, const prop_writer_options *opt) {
  if (!(w->target = pp_strdup(target))) return PROP_ERR_NOMEM;
  int e = EEXIST;
  for (int attempt = 0; attempt < 100 && e == EEXIST; attempt++) {
    if (!(w->tmp = temporary_name(target))) return PROP_ERR_NOMEM;
    w->slot = slot_claim(w->tmp);
    w->fd = open(w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w->fd >= 0) break;
    e = errno;
    slot_release(w->slot);
    w->slot = -1;
    free(w->tmp);
    w->tmp = NULL;
  }
  if (w->fd < 0) return pp_err(PROP_ERR_IO, "%s: cannot create a temporary file next to it: %s", w->name, strerror(e));
  w->own_fd = 1;
  struct stat st;
  mode_t mode = opt->mode ? (mode_t)opt->mode : 0644;
  if (stat(target, &st) == 0) mode = st.st_mode & 07777;
  if (fchmod(w->fd, mode) != 0) return pp_err(PROP_ERR_IO, "%s: cannot set its mode: %s", w->name, strerror(errno));
  return 0;
}

/* Where path leads: its own name, or a symbolic link's target (the link itself is kept). */
static int resolve(const char *path, char **target) {
  struct stat lst;
  if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
    char *real = realpath(path, NULL);
    if (real) {
      *target = real;
      return 0;
    }
  }
  *target = pp_strdup(path);
  return *target ? 0 : PROP_ERR_NOMEM;
}

int prop_writer_open(const char *path, const prop_writer_options *caller_opt, prop_writer **out) {
  if (!out) return pp_err(PROP_ERR_ARG, "prop_writer_open: out is NULL");
  *out = NULL;
  if (!path || !*path) return pp_err(PROP_ERR_ARG, "prop_writer_open: empty output path");
  prop_writer_options opt;
  prop_writer_options_default(&opt);
  PP_TRY(pp_opts_import(&opt, sizeof opt, caller_opt, "prop_writer_options"));
  prop_writer *w;
  PP_TRY(new_writer(path, &opt, &w));
  char *target = NULL;
  int rc = resolve(path, &target);
  struct stat st;
  int exists = !rc && stat(target, &st) == 0;
  if (!rc && exists) rc = check_inputs(path, &st, &opt);
  if (!rc && exists && S_ISDIR(st.st_mode)) rc = pp_err(PROP_ERR_IO, "%s: is a directory", path);
  if (!rc && exists && !S_ISREG(st.st_mode)) { /* a device, FIFO or socket: written as a stream */
    w->fd = open(target, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (w->fd < 0) rc = pp_err(PROP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    w->own_fd = 1;
  } else if (!rc) {
    rc = open_temporary(w, target, &opt);
  }
  free(target);
  if (rc) {
    writer_free(w);
    return rc;
  }
  *out = w;
  return 0;
}

int prop_writer_open_fd(int fd, const char *name, const prop_writer_options *caller_opt, prop_writer **out) {
  if (!out) return pp_err(PROP_ERR_ARG, "prop_writer_open_fd: out is NULL");
  *out = NULL;
  if (fd < 0) return pp_err(PROP_ERR_ARG, "prop_writer_open_fd: bad descriptor %d", fd);
  prop_writer_options opt;
  prop_writer_options_default(&opt);
  PP_TRY(pp_opts_import(&opt, sizeof opt, caller_opt, "prop_writer_options"));
  prop_writer *w;
  PP_TRY(new_writer(name ? name : "<stream>", &opt, &w));
  struct stat st;
  int rc = fstat(fd, &st) == 0 ? check_inputs(w->name, &st, &opt) : 0;
  if (rc) {
    writer_free(w);
    return rc;
  }
  w->fd = fd;
  *out = w;
  return 0;
}

static int usable(prop_writer *w, const char *fn) {
  if (!w) return pp_err(PROP_ERR_ARG, "%s: NULL writer", fn);
  if (w->err) return pp_err(w->err, "%s: an earlier write failed; abort the writer", w->name);
  return 0;
}

/* [+-]digits[.digits][e[+-]digits] (at least one digit before the exponent), all of s. */
static int plain_number(const char *s) {
  size_t i = s[0] == '+' || s[0] == '-', digits = 0;
  while (s[i] >= '0' && s[i] <= '9') i++, digits++;
  if (s[i] == '.')
    for (i++; s[i] >= '0' && s[i] <= '9'; i++) digits++;
  if (!digits) return 0;
  if (s[i] == 'e' || s[i] == 'E') {
    i += 1 + (s[i + 1] == '+' || s[i + 1] == '-');
    if (!(s[i] >= '0' && s[i] <= '9')) return 0;
    while (s[i] >= '0' && s[i] <= '9') i++;
  }
  return s[i] == '\0';
}

int pp_text_is_formula(const char *s) {
  if (!s || !*s || !strchr("=+-@\t\r", s[0])) return 0;
  return !plain_number(s);
}

void pp_formula_id_reason(char *msg, size_t cap, const char *id) {
  char first[3] = {id[0], 0, 0};
  if (id[0] == '\t' || id[0] == '\r') first[0] = '\\', first[1] = id[0] == '\t' ? 't' : 'r';
  snprintf(msg, cap, "the id '%.60s' begins with '%s', which a spreadsheet would run as a formula: not scored", id,
           first);
}

/* One field: quoted when it holds the delimiter, a quote or a line break (RFC 4180); text a spreadsheet
 * would run as a formula prefixed with ' (guard). */
static int field(prop_writer *w, const char *s, size_t n, int text) {
  if (w->raw) return fail(w, PROP_ERR_STATE, "fields after raw bytes");
  if (w->ncols && w->nfield >= w->ncols)
    return fail(w, PROP_ERR_ARG, "more fields than the header's %zu", w->ncols);
  if (w->nfield) PP_TRY(put(w, &w->delim, 1));
  w->nfield++;
  int quote = 0;
  for (size_t i = 0; i < n && !quote; i++)
    quote = s[i] == w->delim || s[i] == '\r' || s[i] == '\n' || (s[i] == '"' && w->quote);
  if (quote && !w->quote)
    return fail(w, PROP_ERR_VALUE, "field %zu holds the delimiter or a line break, which this file cannot quote",
                w->nfield);
  int prefix = text && w->guard && pp_text_is_formula(s);
  if (quote) PP_TRY(put(w, "\"", 1));
  if (prefix) PP_TRY(put(w, "'", 1));
  if (!quote) return put(w, s, n);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') PP_TRY(put(w, "\"", 1));
    PP_TRY(put(w, s + i, 1));
  }
  return put(w, "\"", 1);
}

int prop_writer_text(prop_writer *w, const char *s) {
  PP_TRY(usable(w, "prop_writer_text"));
  return field(w, s ? s : "", s ? strlen(s) : 0, 1);
}

int prop_writer_number(prop_writer *w, double v) {
  PP_TRY(usable(w, "prop_writer_number"));
  if (v != v) return field(w, "", 0, 0);
  char buf[40];
  int n = pp_snprintf_c(buf, sizeof buf, "%.17g", v);
  return field(w, buf, (size_t)n, 0);
}

int prop_writer_integer(prop_writer *w, int64_t v) {
  PP_TRY(usable(w, "prop_writer_integer"));
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
  return field(w, buf, (size_t)n, 0);
}

int prop_writer_end_row(prop_writer *w) {
  PP_TRY(usable(w, "prop_writer_end_row"));
  if (w->ncols && w->nfield != w->ncols)
    return fail(w, PROP_ERR_ARG, "%zu fields, the header has %zu", w->nfield, w->ncols);
  if (!w->ncols && !w->nfield) return fail(w, PROP_ERR_STATE, "a row without fields");
  PP_TRY(put(w, "\n", 1));
  if (!w->in_header) w->rows++;
  w->ncols = w->nfield; /* a file without a header: its first row sets the count */
  w->in_header = 0;
  w->nfield = 0;
  return 0;
}

int prop_writer_header(prop_writer *w, const char *const *names, size_t n) {
  PP_TRY(usable(w, "prop_writer_header"));
  if (w->ncols || w->nfield || w->raw || w->rows) return fail(w, PROP_ERR_STATE, "a header after other output");
  if (!names || n == 0) return fail(w, PROP_ERR_ARG, "a header needs at least one column");
  w->in_header = 1;
  for (size_t j = 0; j < n; j++) PP_TRY(prop_writer_text(w, names[j]));
  return prop_writer_end_row(w);
}

int prop_writer_row(prop_writer *w, const char *const *fields, size_t n) {
  PP_TRY(usable(w, "prop_writer_row"));
  if (n && !fields) return fail(w, PROP_ERR_ARG, "NULL fields");
  for (size_t j = 0; j < n; j++) PP_TRY(prop_writer_text(w, fields[j]));
  return prop_writer_end_row(w);
}

int prop_writer_bytes(prop_writer *w, const void *data, size_t len) {
  PP_TRY(usable(w, "prop_writer_bytes"));
  if (w->ncols || w->nfield) return fail(w, PROP_ERR_STATE, "raw bytes in a file with rows");
  if (len && !data) return fail(w, PROP_ERR_ARG, "NULL data");
  w->raw = 1;
  return put(w, data, len);
}

size_t prop_writer_rows(const prop_writer *w) { return w ? w->rows : 0; }
const char *prop_writer_name(const prop_writer *w) { return w ? w->name : NULL; }

void prop_writer_abort(prop_writer *w) {
  if (w) writer_free(w);
}

static int sync_out(prop_writer *w) {
  if (w->nfield) return fail(w, PROP_ERR_STATE, "commit in the middle of a row");
  PP_TRY(flush(w));
  if (w->tmp && !w->synced && fsync(w->fd) != 0) return fail(w, PROP_ERR_IO, "fsync failed: %s", strerror(errno));
  w->synced = 1;
  return 0;
}

int prop_writer_sync(prop_writer *w) {
  PP_TRY(usable(w, "prop_writer_sync"));
  return sync_out(w);
}

static int finish(prop_writer *w) {
  PP_TRY(sync_out(w));
  if (w->own_fd) {
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0 && errno != EINTR) return fail(w, PROP_ERR_IO, "close failed: %s", strerror(errno));
  }
  if (w->tmp) {
    if (rename(w->tmp, w->target) != 0) return fail(w, PROP_ERR_IO, "cannot replace it: %s", strerror(errno));
    free(w->tmp);
    w->tmp = NULL; /* renamed: nothing left to remove */
  }
  return 0;
}

int prop_writer_commit(prop_writer *w) {
  int rc = usable(w, "prop_writer_commit");
  if (!rc) rc = finish(w);
  if (w) writer_free(w);
  return rc;
}

int pp_write_bytes(const char *path, const void *data, size_t len) {
  prop_writer *w = NULL;
  PP_TRY(prop_writer_open(path, NULL, &w));
  int rc = prop_writer_bytes(w, data, len);
  if (rc) {
    prop_writer_abort(w);
    return rc;
  }
  return prop_writer_commit(w);
}
