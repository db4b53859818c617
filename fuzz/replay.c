/* fuzz/replay.c: runs a fuzz target on the files (or every file of the directories) named on the
 * command line, once each, without libFuzzer: the regression corpus under any compiler and
 * sanitizer.  Exits 0 when every input ran (a broken promise aborts), 2 on a usage or I/O error. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path) {
  FILE *fh = fopen(path, "rb");
  if (!fh) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 2;
  }
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + len, 1, cap - len, fh)) > 0;) {
    len += got;
    if (len == cap) {
      uint8_t *nb = realloc(buf, cap *= 2);
      if (!nb) free(buf);
      buf = nb;
    }
  }
  int bad = ferror(fh) || !buf;
  fclose(fh);
  if (bad) {
    free(buf);
    fprintf(stderr, "replay: cannot read %s\n", path);
    return 2;
  }
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  size_t ran = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i])) return 2;
      ran++;
      continue;
    }
    struct dirent **ents;
    int n = scandir(argv[i], &ents, NULL, alphasort);
    if (n < 0) {
      fprintf(stderr, "replay: cannot list %s\n", argv[i]);
      return 2;
    }
    int rc = 0;
    for (int k = 0; k < n; k++) {
      char p[4096];
      if (!rc && ents[k]->d_name[0] != '.' &&
          (size_t)snprintf(p, sizeof p, "%s/%s", argv[i], ents[k]->d_name) < sizeof p) {
        rc = run_file(p);
        ran++;
      }
      free(ents[k]);
    }
    free(ents);
    if (rc) return rc;
  }
  printf("replay: %zu inputs ran\n", ran);
  return ran ? 0 : 2;
}
