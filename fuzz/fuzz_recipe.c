/* fuzz/fuzz_recipe.c: recipe JSON.  Any bytes either parse or fail with a status and a message;
 * a recipe that parses prints as JSON that parses again to the same text. */
#include <string.h>

#include <propensity.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  prop_recipe *r = NULL;
  int rc = prop_recipe_parse(text, "fuzz.json", &r);
  fuzz_check_status(rc);
  FUZZ_CHECK((rc == PROP_OK) == (r != NULL));
  if (r) {
    char *j1 = NULL, *j2 = NULL;
    prop_recipe *r2 = NULL;
    FUZZ_CHECK(prop_recipe_to_json(r, &j1) == PROP_OK);
    rc = prop_recipe_parse(j1, "printed", &r2);
    if (rc != PROP_OK) fprintf(stderr, "reparse: %s\n%s\n", prop_last_error(), j1);
    FUZZ_CHECK(rc == PROP_OK);
    FUZZ_CHECK(prop_recipe_to_json(r2, &j2) == PROP_OK);
    FUZZ_CHECK(strcmp(j1, j2) == 0);
    free(j1);
    free(j2);
    prop_recipe_free(r2);
    prop_recipe_free(r);
  }
  free(text);
  return 0;
}
