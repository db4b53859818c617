/* Bounded whole-file reads.  (Every write goes through lib/write's prop_writer.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

/* Up to want bytes into d + *n; stops early only at the end of the file.  0, or -1 with errno. */
static int read_some(int fd, unsigned char *d, size_t *n, size_t want) {
  while (want) {
    ssize_t got = read(fd, d + *n, want);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return -1;
    if (got == 0) break;
    *n += (size_t)got;
    want -= (size_t)got;
  }
  return 0;
}

static const char *kind_of(mode_t m) {
  return S_ISDIR(m) ? "a directory" : S_ISBLK(m) ? "a block device" : "not a regular file, a pipe or a character device";
}

/* The whole file into a buffer grown as it is read (a stream's size is unknown; a regular file's
 * may change), at most max + 1 bytes so that "more than max" can be told. */
static int read_bounded(int fd, const char *path, const char *what, size_t max, size_t hint, const void *magic,
                        size_t magic_len, unsigned char **data, size_t *len) {
  size_t cap = hint < ((size_t)1 << 16) ? (size_t)1 << 16 : hint, n = 0;
  if (cap > max) cap = max + 1;
  unsigned char *d = pp_malloc(cap);
  if (!d) return PROP_ERR_NOMEM;
  for (;;) {
    /* the magic first: a stream of something else (/dev/zero) stops at once */
    size_t want = n < magic_len ? magic_len - n : cap - n;
    size_t before = n;
    if (read_some(fd, d, &n, want) != 0) {
      int e = errno;
      free(d);
      return pp_err(PROP_ERR_IO, "%s: read failed: %s", path, strerror(e));
    }
    if (magic_len && before < magic_len && (n < magic_len || memcmp(d, magic, magic_len) != 0)) break;
    if (n > max) {
      free(d);
      return pp_err(PROP_ERR_IO, "%s: more than %zu bytes: a %s is at most %zu bytes", path, max, what, max);
    }
    if (n - before < want) break; /* the end of the file */
    if (n == cap) {
      size_t ncap = cap > max / 2 ? max + 1 : 2 * cap;
      if (pp_realloc_array(&d, ncap, 1)) {
        free(d);
        return PROP_ERR_NOMEM;
      }
      cap = ncap;
    }
  }
  *data = d;
  *len = n;
  return 0;
}

int pp_read_file(const char *path, size_t max, const char *what, const void *magic, size_t magic_len,
                 unsigned char **data, size_t *len) {
  *data = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pp_err(PROP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) != 0) rc = pp_err(PROP_ERR_IO, "%s: %s", path, strerror(errno));
  else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISSOCK(st.st_mode))
    rc = pp_err(PROP_ERR_IO, "%s: cannot read a %s from %s", path, what, kind_of(st.st_mode));
  else if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max)
    rc = pp_err(PROP_ERR_IO, "%s: %jd bytes: a %s is at most %zu bytes", path, (intmax_t)st.st_size, what, max);
  else
    rc = read_bounded(fd, path, what, max, S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 0, magic, magic_len,
                      data, len);
  close(fd);
  return rc;
}

int pp_read_text(const char *path, size_t max, const char *what, int nul_code, char **text) {
  *text = NULL;
  unsigned char *data;
  size_t len;
  PP_TRY(pp_read_file(path, max, what, NULL, 0, &data, &len));
  char *t = pp_malloc(len + 1);
  if (t) {
    memcpy(t, data, len);
    t[len] = '\0';
  }
  free(data);
  if (!t) return PROP_ERR_NOMEM;
  if (strlen(t) != len) {
    free(t);
    return pp_err(nul_code, "%s: contains a NUL byte", path);
  }
  *text = t;
  return 0;
}

const char *pp_skip_bom(const char *s) { return s && strncmp(s, "\xEF\xBB\xBF", 3) == 0 ? s + 3 : s; }
