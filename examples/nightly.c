/* Nightly batch: stream a call list of any size through the model, chunk by chunk, and count the
 * customers per band.  Memory stays bounded by the chunk size.
 *
 *   nightly MODEL CALLLIST.csv */
#include <stdio.h>
#include <stdlib.h>

#include <propensity.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL CALLLIST.csv\n", argv[0]);
    return 1;
  }
  prop_model *m = NULL;
  prop_reader *r = NULL;
  if (prop_model_load(argv[1], &m) || prop_reader_open_for_model(argv[2], m, NULL, &r)) {
    fprintf(stderr, "%s\n", prop_last_error());
    return 1;
  }
  size_t per_band[65] = {0}, unscored = 0, total = 0;
  prop_frame *chunk;
  int rc;
  while ((rc = prop_reader_next(r, 50000, &chunk)) == PROP_OK && chunk) {
    size_t n = prop_frame_n_rows(chunk);
    double *p = malloc(n * sizeof *p);
    int *band = malloc(n * sizeof *band);
    rc = prop_model_predict_frame(m, chunk, p, band, NULL, NULL);
    for (size_t i = 0; rc == PROP_OK && i < n; i++) {
      if (band[i] == 0) unscored++;
      else per_band[band[i]]++;
    }
    total += n;
    free(p);
    free(band);
    prop_frame_free(chunk);
    if (rc) break;
  }
  if (rc) fprintf(stderr, "%s\n", prop_last_error());
  printf("%zu customers read\n", total);
  for (size_t b = prop_model_n_bands(m); b >= 1; b--) printf("band %zu: %zu\n", b, per_band[b]);
  /* unreadable rows, non-finite numbers, categories unseen in training: `propensity score` writes
   * each one's reason */
  if (unscored) printf("not scored: %zu\n", unscored);
  prop_reader_free(r);
  prop_model_free(m);
  return rc ? 1 : 0;
}
