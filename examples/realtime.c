/* Real-time scoring of one inbound caller: load the model once, keep a scorer per thread, and
 * score a customer given as name=value pairs.
 *
 *   realtime MODEL age=41 gender=F income=5200 card_type=gold ...
 *
 * Inputs not given are missing (the model imputes them).  A category never seen in training is
 * refused with its input named (PROP_ERR_CATEGORY); a dialer that would rather score such a caller
 * through the model's <other> bucket calls prop_scorer_set_unseen(s, PROP_UNSEEN_BUCKET). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <propensity.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL name=value ...\n", argv[0]);
    return 1;
  }
  prop_model *m = NULL;
  if (prop_model_load(argv[1], &m) != PROP_OK) {
    fprintf(stderr, "cannot load %s: %s\n", argv[1], prop_last_error());
    return 1;
  }
  size_t k = prop_model_n_inputs(m);
  double *row = malloc(k * sizeof *row);
  for (size_t j = 0; j < k; j++) row[j] = NAN;
  for (int a = 2; a < argc; a++) {
    char *eq = strchr(argv[a], '=');
    if (!eq) continue;
    *eq = '\0';
    long j = prop_model_input_index(m, argv[a]);
    if (j < 0) {
      fprintf(stderr, "the model has no input '%s'\n", argv[a]);
      continue;
    }
    if (prop_model_input_type(m, (size_t)j) == PROP_COL_CATEGORICAL) row[j] = prop_model_category_code(m, (size_t)j, eq + 1);
    else {
      char *end = NULL;
      row[j] = strtod(eq + 1, &end);
      if (end == eq + 1 || *end != '\0') {
        fprintf(stderr, "input '%s': '%s' is not a number\n", argv[a], eq + 1);
        return 1;
      }
    }
  }
  prop_scorer *s = NULL;
  double p;
  int band;
  if (prop_scorer_create(m, &s) != PROP_OK || prop_scorer_score(s, row, &p, &band) != PROP_OK) {
    fprintf(stderr, "scoring failed: %s\n", prop_last_error());
    return 1;
  }
  const double *e = prop_model_band_edges(m);
  printf("probability %.4f  band %d of %zu  [%.0f%%, %.0f%%)\n", p, band, prop_model_n_bands(m), 100 * e[band - 1],
         100 * e[band]);
  prop_scorer_free(s);
  prop_model_free(m);
  free(row);
  return 0;
}
