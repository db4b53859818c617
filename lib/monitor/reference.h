/* lib/monitor: what a model keeps of its training rows so that later months can be compared with them
 * (the reference), and the stability indices that compare them.  Depends on common, data (the schema)
 * and bands.
 *
 * The reference holds counts, not shares, so that the same smoothing applies to both sides:
 *   - the score: deciles of the training rows' out-of-fold calibrated probability (the scores the
 *     model gives rows it was not fitted on), as up to 9 interior edges, and the rows in each bin;
 *   - the bands: the rows in each band;
 *   - each input: numeric, the deciles of its non-missing training values (up to 9 interior edges,
 *     equal edges merged) and a missing bin; categorical, one bin per training category and a missing
 *     bin.  A monitored row's unseen category has a bin of its own with no reference rows.
 * A bin b of edges e holds the values v with e[b-1] < v <= e[b] (the first from -inf, the last to +inf).
 *
 * Stability index (PSI for the score, CSI for an input): sum over bins of (a - e) ln(a / e), where e and
 * a are the reference's and the monitored rows' shares, each smoothed as (count + 0.5) / (n + 0.5 B) over
 * B bins, so an empty bin on either side gives a finite, small term instead of an infinite one. */
#ifndef PP_REFERENCE_H
#define PP_REFERENCE_H

#include "bands/bands.h"
#include "data/frame.h"

#define PP_REF_EDGES 9 /* interior edges: deciles */

typedef struct pp_ref_input {
  int type;                   /* PROP_COL_NUMERIC or PROP_COL_CATEGORICAL */
  size_t nedges;              /* numeric: interior edges (0..9); categorical: 0 */
  double edges[PP_REF_EDGES];
  size_t nbins;               /* value bins: nedges + 1, or the categories; then one missing bin */
  uint64_t *count;            /* nbins + 1 (the last: missing) */
} pp_ref_input;

typedef struct pp_reference {
  uint64_t n;                 /* training rows */
  size_t nscore_edges;
  double score_edges[PP_REF_EDGES];
  uint64_t score_count[PP_REF_EDGES + 1];
  size_t nbands;
  uint64_t band_count[64];
  size_t nfeat;
  pp_ref_input *in;           /* nfeat, in schema order */
} pp_reference;

/* The reference of n training rows: raw (n x s->nfeat, as the binding gives them: values, category
 * codes, NaN missing), their out-of-fold probabilities prob[n] (all in [0, 1]) and the bands b. */
int pp_reference_fit(const pp_schema *s, const double *raw, size_t n, const double *prob, const pp_bands *b,
                     pp_reference **out);
void pp_reference_free(pp_reference *r); /* NULL is a no-op */
/* The REFS payload (u32 version, then the fields above); load checks every count and edge against the
 * schema (input types and categories) and the bands.  Messages name in->what. */
int pp_reference_save(const pp_reference *r, pp_buf *out);
int pp_reference_load(pp_rd *in, const pp_schema *s, size_t nbands, pp_reference **out);

/* The bin of v under edges e[k] (0..k). */
size_t pp_ref_bin(const double *e, size_t k, double v);
/* The bin of a raw input value: numeric values by edges, categories by code, NaN the missing bin
 * (nbins), an unseen category (code -1) the bin after it (nbins + 1). */
size_t pp_ref_input_bin(const pp_ref_input *ri, double v);
/* Stability index of monitored counts got[B] (m rows) against reference counts ref[B] (n rows), both
 * smoothed as above.  0 when both sides are empty. */
double pp_stability_index(const uint64_t *ref, uint64_t n, const uint64_t *got, uint64_t m, size_t B);
#endif
