/* Atomic file writes (temporary file in the same folder, fsync, rename) and whole-file reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

int pp_atomic_open(pp_atomic_file *af, const char *path) {
  memset(af, 0, sizeof *af);
  if (!path || !*path) return pp_err(PROP_ERR_ARG, "empty output path");
  af->path = pp_strdup(path);
  af->tmp_path = pp_asprintf("%s.tmp.XXXXXX", path);
  if (!af->path || !af->tmp_path) {
    pp_atomic_abort(af);
    return PROP_ERR_NOMEM;
  }
  int fd = mkstemp(af->tmp_path);
  if (fd < 0) {
    int e = errno;
    pp_err(PROP_ERR_IO, "%s: cannot create temporary file: %s", path, strerror(e));
    free(af->tmp_path);
    af->tmp_path = NULL;
    pp_atomic_abort(af);
    return PROP_ERR_IO;
  }
  /* the mode of the file replaced, else 0644 (the umask cannot be read without changing it, which
   * would race with other threads creating files) */
  struct stat st;
  fchmod(fd, stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (st.st_mode & 07777) : 0644);
  FILE *fp = fdopen(fd, "wb");
  if (!fp) {
    int e = errno;
    close(fd);
    pp_err(PROP_ERR_IO, "%s: %s", path, strerror(e));
    pp_atomic_abort(af);
    return PROP_ERR_IO;
  }
  af->fp = fp;
  return 0;
}

void pp_atomic_abort(pp_atomic_file *af) {
  if (af->fp) fclose((FILE *)af->fp);
  if (af->tmp_path) unlink(af->tmp_path);
  free(af->tmp_path);
  free(af->path);
  memset(af, 0, sizeof *af);
}

int pp_atomic_commit(pp_atomic_file *af) {
  FILE *fp = (FILE *)af->fp;
  int bad = ferror(fp) || fflush(fp) != 0 || fsync(fileno(fp)) != 0;
  int e = errno;
  if (fclose(fp) != 0) {
    bad = 1;
    e = errno;
  }
  af->fp = NULL;
  if (bad) {
    pp_err(PROP_ERR_IO, "%s: write failed: %s", af->path, strerror(e));
    pp_atomic_abort(af);
    return PROP_ERR_IO;
  }
  if (rename(af->tmp_path, af->path) != 0) {
    e = errno;
    pp_err(PROP_ERR_IO, "%s: rename failed: %s", af->path, strerror(e));
    pp_atomic_abort(af);
    return PROP_ERR_IO;
  }
  free(af->tmp_path);
  free(af->path);
  memset(af, 0, sizeof *af);
  return 0;
}

int pp_write_file_atomic(const char *path, const void *data, size_t len) {
  pp_atomic_file af;
  PP_TRY(pp_atomic_open(&af, path));
  if (len && fwrite(data, 1, len, (FILE *)af.fp) != len) {
    int e = errno;
    pp_atomic_abort(&af);
    return pp_err(PROP_ERR_IO, "%s: write failed: %s", path, strerror(e));
  }
  return pp_atomic_commit(&af);
}

int pp_read_file(const char *path, unsigned char **data, size_t *len) {
  *data = NULL;
  *len = 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return pp_err(PROP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  unsigned char *d = pp_malloc(cap);
  if (!d) {
    fclose(fp);
    return PROP_ERR_NOMEM;
  }
  for (;;) {
    if (n == cap) {
      if (pp_realloc_array(&d, cap * 2, 1) != 0) {
        free(d);
        fclose(fp);
        return PROP_ERR_NOMEM;
      }
      cap *= 2;
    }
    size_t got = fread(d + n, 1, cap - n, fp);
    n += got;
    if (got == 0) break;
  }
  int err = ferror(fp);
  fclose(fp);
  if (err) {
    free(d);
    return pp_err(PROP_ERR_IO, "%s: read failed", path);
  }
  *data = d;
  *len = n;
  return 0;
}
