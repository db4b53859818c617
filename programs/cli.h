/* Shared pieces of the propensity program's subcommands. */
#ifndef PROP_CLI_H
#define PROP_CLI_H

#include <stdio.h>

#include "propensity.h"

typedef struct args args;

const char *arg_get(args *a, const char *name);
int arg_flag(args *a, const char *name);
int arg_leftover(args *a, const char *cmd);
int fail(const char *cmd, int status);
int usage_error(const char *cmd, const char *msg);
int parse_size(const char *s, size_t *out);
/* --threads: 0 (all cores, also when s is NULL) to 4096 into *out; else a usage error (returns 1). */
int parse_threads(const char *cmd, const char *s, int *out);
/* Output files go through the library's writer (prop_writer): a temporary file in the same folder, then
 * rename ("-" is standard output, a device or FIFO a stream).  write_atomic_n writes data[i] (len[i]
 * bytes) to paths[i], i < n <= 4: every file is written and synced before the first is renamed into
 * place, so a failed write changes none of them.  A failure is reported on stderr as fail() reports it;
 * returns 0 or fail()'s exit code. */
int write_atomic_n(const char *cmd, size_t n, const char *const *paths, const char *const *data, const size_t *len);
int write_atomic(const char *cmd, const char *path, const char *data, size_t len);
/* Permissions of a new output file: 0666 less the umask. */
unsigned new_file_mode(void);
/* Writer options for every output of the program: the defaults (the formula guard on), new_file_mode(),
 * and as inputs every file named by --data, --model, --recipe, --history, --customers, --contact,
 * --policy or --test-data so far, which no output may replace. */
void cli_writer_options(prop_writer_options *wo);
/* A writer of path ("-": standard output) with opt (NULL: cli_writer_options()); the library's status. */
int cli_writer_open(const char *path, const prop_writer_options *opt, prop_writer **w);
/* data[len] into path through such a writer (a model file: prop_model_save_to_buffer's bytes). */
int cli_write_bytes(const char *path, const void *data, size_t len);
char **split_list(const char *s, size_t *n, char **storage);
void cli_log(void *user, int level, const char *msg);
int cli_progress(void *user, const char *stage, size_t done, size_t total);
void cli_progress_init(void);
void cli_progress_end(void);
/* Bands with fewer rows than this are marked (as compare's report flags them "few_rows", min_rows). */
#define FEW_ROWS 30
void print_band_table(FILE *out, const prop_band_row *rows, size_t nb, int with_connected);
int print_backtest(const char *report, const char *json_path);
/* The demo's files in dir: history.csv, latest.csv, calllist.csv and, with_drift, drift.csv. */
int gen_files(const char *dir, const prop_demo_options *base, int with_drift);
/* On stderr, the rows scored through the <other> bucket per input (counts: one per input), if any. */
void report_unseen(const prop_model *m, const size_t *counts);

int cmd_gen(args *a);
int cmd_train(args *a);
int cmd_backtest(args *a);
int cmd_score(args *a);
int cmd_bands(args *a);
int cmd_info(args *a);
int cmd_importance(args *a);
int cmd_compare(args *a);
int cmd_monitor(args *a);
int cmd_contact_fit(args *a);
int cmd_contact_best(args *a);
int cmd_plan(args *a);
/* Shared by the HTML pages (report_html.c): a number or string member of a JSON object (NaN / NULL when
 * absent or of another type), and text escaped for HTML. */
#include <jansson.h>
double num(const json_t *o, const char *key);
const char *str(const json_t *o, const char *key);
void esc(FILE *o, const char *s);
/* The HTML page of a prop_monitor() JSON report (monitor_html.c): malloc'd page, NULL on failure. */
char *monitor_html(const char *json_text, size_t *len);
int cmd_explain(args *a);
/* The HTML report of a prop_compare() JSON report (report_html.c): malloc'd page, NULL on failure. */
char *report_html(const char *json_text, size_t *len);
#endif
