/* Whole-file reads.  (Every write goes through lib/write's prop_writer.) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

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
