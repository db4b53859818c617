/* lib/bands: probability bands and band tables.  Depends on common only.
 * The public prop_band_table() lives in bands.c. */
#ifndef PP_BANDS_H
#define PP_BANDS_H

#include "common/common.h"

/* The default seven bands: 0, .1, .2, .3, .4, .5, .7, 1 (8 edges). */
extern const double pp_default_edges[PROP_DEFAULT_NBANDS + 1];

/* Edges must be nbands+1 (2..64 bands), strictly increasing, edges[0] = 0 and edges[nbands] = 1.
 * Errors (PROP_ERR_RECIPE) name `field`. */
int pp_bands_validate(const double *edges, size_t nbands, const char *field);
/* Band (1..nbands) of p: band b holds [edges[b-1], edges[b]); the last band includes 1.
 * p < 0 goes to band 1, p > 1 to the last band; NaN gives 0. */
int pp_band_of(const double *edges, size_t nbands, double p);
/* The pipeline's bands: the edges as one value (no allocation), with their model-file section (BAND). */
typedef struct pp_bands {
  size_t n;          /* bands, 2..64 */
  double edges[65];  /* n + 1 edges, 0 = edges[0] < ... < edges[n] = 1 */
} pp_bands;
/* Bands of edges[n + 1] (checked as pp_bands_validate; errors name field). */
int pp_bands_init(pp_bands *b, const double *edges, size_t n, const char *field);
/* Band of p under b: pp_band_of(b->edges, b->n, p). */
static inline int pp_bands_of(const pp_bands *b, double p) { return pp_band_of(b->edges, b->n, p); }
/* The BAND payload: u64 band count, then the n + 1 edges (f64).  load validates the edges; a bad edge is
 * PROP_ERR_CORRUPT naming in->what. */
int pp_bands_save(const pp_bands *b, pp_buf *out);
int pp_bands_load(pp_rd *in, pp_bands *b);

/* Wilson score interval for k successes in n trials at z (1.96 for 95%); NaN,NaN when n = 0. */
void pp_wilson(size_t k, size_t n, double z, double *lo, double *hi);
#endif
