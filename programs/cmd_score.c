/* propensity score: stream a CSV of any size through a model and write the ranked call list.  The
 * list is the library's (prop_calllist: scored a chunk at a time, ranked once, written in its one
 * layout through prop_writer); this command reads the arguments and feeds it the chunks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define CHUNK_ROWS 65536

/* --band-quota q1,...,qn: one whole number per band of m into a new *quotas (n entries). */
static int parse_quotas(const char *text, size_t nb, size_t **quotas) {
  char *storage;
  size_t nq;
  char **parts = split_list(text, &nq, &storage);
  int bad = nq != nb;
  *quotas = bad ? NULL : calloc(nb ? nb : 1, sizeof **quotas);
  for (size_t b = 0; *quotas && b < nb && !bad; b++) bad = parse_size(parts[b], &(*quotas)[b]);
  free(parts);
  free(storage);
  if (bad || !*quotas) {
    free(*quotas);
    *quotas = NULL;
    return usage_error("score", nq != nb ? "--band-quota needs one number per band, lowest band first"
                                         : "--band-quota takes whole numbers");
  }
  return 0;
}

/* The rows scored through the <other> bucket, per input: "[info] 16 rows ... card_type 12, region 4". */
void report_unseen(const prop_model *m, const size_t *counts) {
  size_t total = 0;
  for (size_t j = 0; j < prop_model_n_inputs(m); j++) total += counts[j];
  if (!total) return;
  fprintf(stderr, "[info] categories not seen in training, scored through <other> (--unseen error refuses "
          "such rows instead):");
  const char *sep = " ";
  for (size_t j = 0; j < prop_model_n_inputs(m); j++)
    if (counts[j]) {
      fprintf(stderr, "%s%s %zu row%s", sep, prop_model_input_name(m, j), counts[j], counts[j] == 1 ? "" : "s");
      sep = ", ";
    }
  fputc('\n', stderr);
}

/* Every chunk of the data into the list. */
static int feed(prop_calllist *cl, const char *data, const prop_model *m, const char *value_col) {
  /* the value column is declared, so that the reader refuses a file without it before any row (it
   * refuses one without the model's id column by itself) */
  const char *vnames[1] = {value_col};
  prop_coltype vtypes[1] = {PROP_COL_NUMERIC};
  prop_csv_options co;
  prop_csv_options_default(&co);
  if (value_col) {
    co.declared_names = vnames;
    co.declared_types = vtypes;
    co.n_declared = 1;
  }
  prop_reader *rd = NULL;
  int st = prop_reader_open_for_model(data, m, &co, &rd);
  while (!st) {
    prop_frame *chunk = NULL;
    st = prop_reader_next(rd, CHUNK_ROWS, &chunk);
    if (st || !chunk) break;
    st = prop_calllist_add(cl, chunk, NULL);
    prop_frame_free(chunk);
  }
  prop_reader_free(rd);
  return st;
}

/* The list into out: a file replaced atomically, or standard output for "-". */
static int write_list(const prop_calllist *cl, const char *out) {
  prop_writer *w = NULL;
  int st = cli_writer_open(out, NULL, &w);
  if (!st) st = prop_calllist_write(cl, w);
  if (!st) return prop_writer_commit(w);
  prop_writer_abort(w);
  return st;
}

int cmd_score(args *a) {
  const char *model_path = arg_get(a, "--model"), *data = arg_get(a, "--data"), *out = arg_get(a, "--out");
  const char *by = arg_get(a, "--rank-by"), *value_col = arg_get(a, "--value-col"), *cap = arg_get(a, "--capacity");
  const char *quota = arg_get(a, "--band-quota"), *order = arg_get(a, "--order"), *threads = arg_get(a, "--threads");
  const char *unseen = arg_get(a, "--unseen"), *reasons = arg_get(a, "--reasons");
  const char *memory = arg_get(a, "--memory-mb"), *temp_dir = arg_get(a, "--temp-dir");
  if (arg_leftover(a, "score")) return 1;
  if (!model_path || !data || !out || !*model_path || !*data || !*out)
    return usage_error("score", "--model, --data and --out are required");
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  if (by && strcmp(by, "value") == 0) ro.by = PROP_RANK_VALUE;
  else if (by && strcmp(by, "probability") != 0) return usage_error("score", "--rank-by takes probability or value");
  if (ro.by == PROP_RANK_VALUE && (!value_col || !*value_col))
    return usage_error("score", "--rank-by value needs --value-col COLUMN");
  if (cap && parse_size(cap, &ro.capacity)) return usage_error("score", "--capacity takes a whole number");
  prop_calllist_options lo;
  prop_calllist_options_default(&lo);
  if (reasons && (parse_size(reasons, &lo.reasons) || lo.reasons < 1 || lo.reasons > 16))
    return usage_error("score", "--reasons takes a number from 1 to 16");
  size_t mb = 128; /* the program only writes the list, so it can spill past a budget */
  lo.memory_limit = mb << 20;
  if (memory && (parse_size(memory, &mb) || mb > SIZE_MAX >> 20))
    return usage_error("score", "--memory-mb takes a whole number of MiB (0: no limit)");
  if (memory) lo.memory_limit = mb << 20;
  if (temp_dir && !*temp_dir) return usage_error("score", "--temp-dir needs a folder");
  lo.temp_dir = temp_dir ? temp_dir : getenv("TMPDIR"); /* the library reads no environment: the program does */
  if (lo.temp_dir && !*lo.temp_dir) lo.temp_dir = NULL;
  if (order && strcmp(order, "input") == 0) lo.order = PROP_ORDER_INPUT;
  else if (order && strcmp(order, "rank") != 0) return usage_error("score", "--order takes rank or input");
  prop_predict_options po;
  prop_predict_options_default(&po);
  if (parse_threads("score", threads, &po.nthread)) return 1;
  if (unseen && strcmp(unseen, "error") == 0) po.unseen = PROP_UNSEEN_ERROR;
  else if (unseen && strcmp(unseen, "bucket") != 0) return usage_error("score", "--unseen takes bucket or error");

  prop_model *m = NULL;
  int st = prop_model_load(model_path, &m);
  if (st) return fail("score", st);
  size_t *quotas = NULL;
  if (quota && parse_quotas(quota, prop_model_n_bands(m), &quotas)) {
    prop_model_free(m);
    return 1;
  }
  ro.band_quota = quotas;
  ro.nbands = quotas ? prop_model_n_bands(m) : 0;
  size_t *unseen_rows = calloc(prop_model_n_inputs(m) + 1, sizeof *unseen_rows);
  po.unseen_counts = unseen_rows;
  lo.predict = &po;
  lo.rank = &ro;
  lo.value_column = ro.by == PROP_RANK_VALUE ? value_col : NULL;
  lo.source = data;
  prop_calllist *cl = NULL;
  st = prop_calllist_create(m, &lo, &cl);
  if (!st) st = feed(cl, data, m, lo.value_column);
  if (!st) st = prop_calllist_finish(cl);
  if (!st) st = write_list(cl, out);
  int ec = !unseen_rows ? fail("score", PROP_ERR_NOMEM) : st ? fail("score", st) : 0;
  if (!ec) report_unseen(m, unseen_rows);
  if (!ec)
    fprintf(stderr, "[info] scored %zu rows (%zu could not be scored, kept with their reason); %zu selected; "
            "written to %s\n", prop_calllist_n_rows(cl), prop_calllist_n_unscored(cl), prop_calllist_n_selected(cl),
            strcmp(out, "-") == 0 ? "standard output" : out);
  prop_calllist_free(cl);
  free(unseen_rows);
  free(quotas);
  prop_model_free(m);
  return ec;
}
