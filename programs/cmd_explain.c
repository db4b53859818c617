/* propensity explain: every row's contributions, streamed in chunks from a CSV of any size to a CSV
 * written atomically in the library's layout (prop_contributions_header / _write through prop_writer):
 * one output row per input row, in input order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define EXPLAIN_CHUNK_ROWS 4096 /* rows cost milliseconds each: small chunks keep the memory flat */

int cmd_explain(args *a) {
  const char *model_path = arg_get(a, "--model"), *data = arg_get(a, "--data"), *out = arg_get(a, "--out");
  const char *threads = arg_get(a, "--threads"), *unseen = arg_get(a, "--unseen");
  if (arg_leftover(a, "explain")) return 1;
  if (!model_path || !data || !out || !*model_path || !*data || !*out)
    return usage_error("explain", "--model, --data and --out are required");
  prop_predict_options po;
  prop_predict_options_default(&po);
  if (parse_threads("explain", threads, &po.nthread)) return 1;
  if (unseen && strcmp(unseen, "error") == 0) po.unseen = PROP_UNSEEN_ERROR;
  else if (unseen && strcmp(unseen, "bucket") != 0) return usage_error("explain", "--unseen takes bucket or error");
  prop_model *m = NULL;
  int st = prop_model_load(model_path, &m);
  if (st) return fail("explain", st);
  prop_reader *rd = NULL;
  prop_writer *w = NULL;
  st = prop_reader_open_for_model(data, m, NULL, &rd);
  if (!st) st = cli_writer_open(out, NULL, &w);
  if (!st) st = prop_contributions_header(m, w);
  size_t rows = 0, bad = 0;
  while (!st) {
    prop_frame *chunk = NULL;
    st = prop_reader_next(rd, EXPLAIN_CHUNK_ROWS, &chunk);
    if (st || !chunk) break;
    rows += prop_frame_n_rows(chunk);
    st = prop_contributions_write(m, chunk, &po, data, w, &bad);
    prop_frame_free(chunk);
  }
  prop_reader_free(rd);
  if (!st) st = prop_writer_commit(w);
  else prop_writer_abort(w);
  int ec = st ? fail("explain", st) : 0;
  if (!ec)
    fprintf(stderr, "[info] explained %zu rows (%zu could not be scored, kept with their reason); written to %s\n",
            rows, bad, out);
  prop_model_free(m);
  return ec;
}
