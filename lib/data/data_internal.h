/* lib/data private helpers shared by frame.c, csv.c and schema.c.  Not used outside lib/data. */
#ifndef PP_DATA_INTERNAL_H
#define PP_DATA_INTERNAL_H

#include "data/frame.h"

/* pp_frame_add_column; check_dup = 0 skips the O(ncols) duplicate-name scan (the CSV reader has
 * already checked the header with a hash map). */
int pp_frame_add_column_ex(prop_frame *f, const char *name, prop_coltype t, int check_dup, size_t *j);
/* Free everything column c owns (nrows: how many str[] entries to free) and zero it. */
void pp_column_release(pp_column *c, size_t nrows);
/* Store a copy of msg as the error of row i (code), replacing any earlier one; the per-row arrays
 * are allocated for cap rows (cap > i) on first use.  0 or PROP_ERR_NOMEM. */
int pp_frame_put_row_error(prop_frame *f, size_t cap, size_t i, int code, const char *msg);
/* Short printable form of a cell for error messages: at most ~40 bytes, "..." when cut. */
void pp_cell_excerpt(const char *s, size_t len, char *out, size_t outsz);

#endif
