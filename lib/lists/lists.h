/* lib/lists: the lists a call centre works from, built by the library so that a dialer linking it, the
 * CLI and Python get the same bytes: ranking (rank.c: prop_rank, prop_rank_order) and the ranked call
 * list (calllist.c: prop_calllist, scored chunk by chunk, ranked once, written through lib/write), and the
 * rows of a call plan gathered the same way (planlist.c: prop_planlist, for lib/plan's assignment).
 * Depends on common, data, pipeline (the model and its scoring), contact, plan and write. */
#ifndef PP_LISTS_H
#define PP_LISTS_H

#include <string.h>

#include "common/common.h"

/* The rows a call list holds (plan building reads them without copying): n rows, in the order added;
 * row i's id is text + id_off[i], its band band[i] (0 unscored), its value value[i] (NULL when the list
 * does not rank by value).  Valid until the list is freed or more rows are added. */
typedef struct pp_calllist_rows {
  size_t n;
  const char *text;
  const size_t *id_off;
  const double *prob, *value;
  const uint8_t *band;
} pp_calllist_rows;
void pp_calllist_rows_get(const prop_calllist *cl, pp_calllist_rows *r);
/* The reason row i (in the order added) was not scored, or NULL. */
const char *pp_calllist_reason(const prop_calllist *cl, size_t i);

/* ---- the call order, shared by rank.c and the spilled list's merge (spill.c) ---------------------------- */
/* A row's ranking key: its probability, or probability x value (a missing value counting as 0). */
static inline double pp_rank_key(double p, const double *v) { return v ? p * (*v == *v ? *v : 0.0) : p; }

/* <0 when row x (key kx, id ix) is called before row y: key descending (a NaN key, possible only from
 * an infinite value times probability 0, after every number), then id ascending (rows with an id
 * before rows without), then row ascending. */
static inline int pp_rank_cmp(double kx, const char *ix, size_t x, double ky, const char *iy, size_t y) {
  int nx = kx != kx, ny = ky != ky;
  if (nx || ny) {
    if (nx != ny) return nx ? 1 : -1;
  } else if (kx != ky) {
    return kx > ky ? -1 : 1;
  }
  if (ix && iy) {
    int c = strcmp(ix, iy);
    if (c) return c;
  } else if (ix || iy) {
    return ix ? -1 : 1;
  }
  return (x > y) - (x < y);
}

/* Whether the next scored row in call order (its band) is selected, nsel rows being selected already
 * (capacity cap, opt's band quotas counted in used[0..nbands]). */
int pp_rank_take(const prop_rank_options *opt, size_t *used, size_t cap, size_t nsel, int band);

/* The dialer ranks of ns selected rows whose bands form nruns runs in call order (run_len[r] rows in run
 * r; run_len may be NULL when ns <= PROP_DIALER_RANK_MAX or nruns > PROP_DIALER_RANK_MAX, which need no
 * lengths).  Each run gets a share of 32767..1 proportional to its length, at least one value. */
typedef struct pp_dialer {
  size_t ns, nruns;
  size_t *start, *top, *vals; /* per run, only when the shares are by run */
} pp_dialer;
int pp_dialer_init(pp_dialer *d, size_t ns, const size_t *run_len, size_t nruns);
/* The dialer rank of selected position i (< ns). */
int pp_dialer_at(const pp_dialer *d, size_t i);
void pp_dialer_free(pp_dialer *d);

/* ---- the spilled list (spill.c): sorted runs and input-order rows in one unlinked temporary file -------- */
#define PP_MAX_REASONS 16
/* One row of a call list as it is written. */
typedef struct pp_row_view {
  size_t row;          /* 0-based, in the order added */
  double prob, value;  /* prob NaN: unscored; value NaN without one */
  int band;
  const char *id, *err; /* err NULL when scored */
  size_t nreasons;
  const char *reason[PP_MAX_REASONS]; /* NULL where a row has fewer */
} pp_row_view;

typedef struct pp_spill pp_spill;
/* A spill file in folder dir, without a name (O_TMPFILE) where the file system allows it, else created
 * with mkstemp and unlinked at once, so that no exit, error or signal leaves it behind (but a signal
 * between those two calls).  PROP_ERR_IO naming the folder. */
int pp_spill_create(const char *dir, pp_spill **out);
void pp_spill_free(pp_spill *sp);
/* Append row r to the current segment of kind `ordered` (1: a sorted run, 0: rows in input order). */
int pp_spill_put(pp_spill *sp, int ordered, const pp_row_view *r);
/* Close the current segment of that kind (an empty one is dropped). */
int pp_spill_end(pp_spill *sp, int ordered);
/* Bytes written so far. */
size_t pp_spill_bytes(const pp_spill *sp);

/* A reader of the spill: the sorted runs merged into call order (ordered 1, by_value: keys are probability x
 * value), or the input-order segments one after the other (ordered 0). */
typedef struct pp_merge pp_merge;
int pp_merge_open(const pp_spill *sp, int ordered, int by_value, pp_merge **out);
/* The next row into *r (valid until the next call): 1, 0 at the end, or a status. */
int pp_merge_next(pp_merge *mg, pp_row_view *r);
void pp_merge_free(pp_merge *mg);
#endif
