/* fuzz/fuzz.h: what the fuzz targets share.
 *
 * Each target defines LLVMFuzzerTestOneInput (libFuzzer's entry point).  Built with clang and
 * -fsanitize=fuzzer it is a fuzzer; built with any compiler and replay.c it runs the files named
 * on its command line once each (the regression corpus in CI).  A target aborts (FUZZ_CHECK) when
 * the library breaks a promise that holds for every input: a crash is not the only finding. */
#ifndef PROP_FUZZ_H
#define PROP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <propensity.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      fprintf(stderr, "%s:%d: promise broken: %s\n", __FILE__, __LINE__, #cond);      \
      abort();                                                                        \
    }                                                                                 \
  } while (0)

/* A file holding exactly data[0..size): the CSV reader reads paths.  The path is per process and
 * reused; returns NULL when it cannot be written (the input is then skipped). */
const char *fuzz_write_temp(const uint8_t *data, size_t size);

/* Every call returns one of the library's status codes, and a failing call leaves a message. */
void fuzz_check_status(int rc);

/* Scores frame c with model in batch (one thread) and checks every row: a probability in [0, 1]
 * and a band, or NaN, band 0 and a status; a scored row has no read error and gets the same bits
 * from the single-row scorer s (same unseen-category policy as the batch: the default). */
void fuzz_check_scores(const prop_model *model, const prop_frame *c, prop_scorer *s);

/* The table of a training-style input: byte 0 is for the target's options, the rest a CSV read
 * strictly.  NULL when it does not read (the status was checked), has fewer than 2 columns or
 * more than max_rows rows (to keep runs short). */
prop_frame *fuzz_read_table(const uint8_t *data, size_t size, size_t max_rows);

/* A small recipe of every member (2 folds).  Bits of o: 0-1 the vote (soft, logit, hard; hard
 * votes with equal weights, the others fit them), 2-3 the calibrator (isotonic, platt, none),
 * 5-7 the seed.  selection: the ensemble's selection fields, e.g. "\"selection\": \"all\"". */
prop_recipe *fuzz_small_recipe(uint8_t o, const char *selection);

#endif
