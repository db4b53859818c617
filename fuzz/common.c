/* fuzz/common.c: helpers shared by the fuzz targets (see fuzz.h). */
#include <string.h>
#include <unistd.h>

#include <propensity.h>

#include "fuzz.h"

const char *fuzz_write_temp(const uint8_t *data, size_t size) {
  static char path[64];
  if (!path[0]) snprintf(path, sizeof path, "/tmp/propensity-fuzz-%ld.csv", (long)getpid());
  FILE *fh = fopen(path, "wb");
  if (!fh) return NULL;
  size_t w = size ? fwrite(data, 1, size, fh) : 0;
  if (fclose(fh) != 0 || w != size) return NULL;
  return path;
}

void fuzz_check_status(int rc) {
  FUZZ_CHECK(rc <= PROP_OK && rc >= PROP_ERR_RANGE);
  FUZZ_CHECK(strcmp(prop_strerror(rc), "unknown error") != 0);
  if (rc != PROP_OK) {
    const char *msg = prop_last_error();
    FUZZ_CHECK(msg != NULL && msg[0] != '\0');
  }
}
