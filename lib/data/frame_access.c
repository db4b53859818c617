/* Public read access to frame cells (used by the CLI and the bindings). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/frame.h"

int prop_frame_numeric_values(const prop_frame *f, size_t j, double *out) {
  if (!f || !out) return pp_err(PROP_ERR_ARG, "prop_frame_numeric_values: NULL argument");
  if (j >= f->ncols) return pp_err(PROP_ERR_RANGE, "%s: column %zu out of range", pp_frame_source(f), j);
  const pp_column *c = &f->cols[j];
  if (c->type != PROP_COL_NUMERIC)
    return pp_err(PROP_ERR_SCHEMA, "%s: column '%s' is not numeric", pp_frame_source(f), c->name);
  memcpy(out, c->num, f->nrows * sizeof(double));
  return 0;
}

const char *prop_frame_string_value(const prop_frame *f, size_t j, size_t i) {
  if (!f || j >= f->ncols || i >= f->nrows) return NULL;
  const pp_column *c = &f->cols[j];
  if (c->type == PROP_COL_ID) return c->str[i];
  if (c->type == PROP_COL_CATEGORICAL || c->type == PROP_COL_TARGET) {
    int32_t k = c->code[i];
    return (k >= 0 && (size_t)k < c->ndict) ? c->dict[k] : NULL;
  }
  return NULL;
}

int prop_frame_binary_values(const prop_frame *f, const char *name, const char *positive, int *y) {
  if (!f || !name || !y) return pp_err(PROP_ERR_ARG, "prop_frame_binary_values: NULL argument");
  int *tmp = NULL;
  char *pos = NULL, *neg = NULL; /* asking for the negative label applies training's two-label rule */
  PP_TRY(pp_frame_binary_column(f, name, positive, NULL, &tmp, &pos, &neg));
  memcpy(y, tmp, f->nrows * sizeof *y);
  free(tmp);
  free(pos);
  free(neg);
  return 0;
}
