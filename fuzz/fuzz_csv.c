/* fuzz/fuzz_csv.c: the CSV reader.  The first byte chooses the options (delimiter, strict or not,
 * an extra missing-value marker, a declared column type); the rest is the file.  Promises: a
 * status and a message for every failure; on success every cell can be read, every row has a
 * row number, a strict read has no row errors, and a non-strict read keeps every data row (one
 * frame row per record the strict read would have seen, checked by row numbers increasing). */
#include <math.h>
#include <string.h>

#include <propensity.h>

#include "fuzz.h"

static void walk_frame(const prop_frame *f, int strict) {
  size_t n = prop_frame_n_rows(f), c = prop_frame_n_columns(f);
  double *v = malloc((n ? n : 1) * sizeof *v);
  if (!v) return;
  for (size_t j = 0; j < c; j++) {
    FUZZ_CHECK(prop_frame_column_name(f, j) != NULL);
    FUZZ_CHECK(prop_frame_find(f, prop_frame_column_name(f, j)) >= 0);
    prop_coltype t = prop_frame_column_type(f, j);
    if (t == PROP_COL_NUMERIC) {
      fuzz_check_status(prop_frame_numeric_values(f, j, v));
      for (size_t i = 0; i < n; i++) FUZZ_CHECK(!isinf(v[i])); /* frames refuse infinities */
    } else {
      for (size_t i = 0; i < n; i++) {
        const char *s = prop_frame_string_value(f, j, i);
        if (s) FUZZ_CHECK(strlen(s) < (size_t)1 << 30);
      }
    }
  }
  size_t last = 0;
  for (size_t i = 0; i < n; i++) {
    size_t r = prop_frame_row_number(f, i);
    FUZZ_CHECK(r > last);
    last = r;
    if (strict) FUZZ_CHECK(prop_frame_row_error(f, i) == NULL);
  }
  if (c > 0 && n > 0) {
    int *y = malloc(n * sizeof *y);
    const char *pos = prop_frame_column_type(f, c - 1) == PROP_COL_NUMERIC ? "1" : prop_frame_string_value(f, c - 1, 0);
    if (y) fuzz_check_status(prop_frame_binary_values(f, prop_frame_column_name(f, c - 1), pos ? pos : "x", y));
    free(y);
  }
  free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t o = data[0];
  const char *path = fuzz_write_temp(data + 1, size - 1);
  if (!path) return 0;
  prop_csv_options opt;
  prop_csv_options_default(&opt);
  static const char delims[4] = {',', ';', '\t', '|'};
  opt.delimiter = delims[o & 3];
  opt.strict = (o >> 2) & 1;
  const char *na[2] = {"NA", "?"};
  if (o & 8) {
    opt.na_values = na;
    opt.n_na_values = 2;
  }
  const char *names[1] = {"a"};
  prop_coltype types[1] = {(o & 16) ? PROP_COL_CATEGORICAL : PROP_COL_NUMERIC};
  if (o & 32) {
    opt.declared_names = names;
    opt.declared_types = types;
    opt.n_declared = 1;
  }
  prop_frame *f = NULL;
  int rc = prop_frame_read_csv(path, &opt, &f);
  fuzz_check_status(rc);
  FUZZ_CHECK((rc == PROP_OK) == (f != NULL));
  if (f) {
    walk_frame(f, opt.strict);
    prop_frame_free(f);
  }
  return 0;
}
