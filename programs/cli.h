/* Shared pieces of the propensity program's subcommands. */
#ifndef PROP_CLI_H
#define PROP_CLI_H

#include <stdio.h>

#include "propensity.h"

typedef struct args args;

const char *arg_get(args *a, const char *name);
int arg_flag(args *a, const char *name);
int arg_leftover(args *a, const char *cmd);
int exit_code_for(int status);
int fail(const char *cmd, int status);
int usage_error(const char *cmd, const char *msg);
int parse_size(const char *s, size_t *out);
/* --threads: 0 (all cores, also when s is NULL) to 4096 into *out; else a usage error (returns 1). */
int parse_threads(const char *cmd, const char *s, int *out);
/* Output files are written atomically: a temporary file in the same folder (with the mode of the
 * file it replaces, or the umask's for a new one), fsync, then rename over path.  Each call reports
 * its failure on stderr as "propensity <cmd>: ..." and returns -1; after a failure nothing is left
 * behind and path is untouched.  out_finish() closes the temporary file, out_commit() (which
 * finishes it when that has not been done) renames it into place; out_abort() removes it.  A
 * command with several outputs finishes them all before it commits any, so a failed write leaves
 * every output as it was. */
typedef struct out_file {
  const char *cmd, *path;
  char *tmp;
  FILE *fp;
} out_file;
int out_open(out_file *o, const char *cmd, const char *path);
int out_finish(out_file *o);
int out_commit(out_file *o);
void out_abort(out_file *o);
/* Write data[i] (len[i] bytes) to paths[i], i < n <= 4: every file is written and closed before
 * the first is renamed into place, so a failed write changes none of them. */
int write_atomic_n(const char *cmd, size_t n, const char *const *paths, const char *const *data, const size_t *len);
int write_atomic(const char *cmd, const char *path, const char *data, size_t len);
/* Write s as one CSV field (quoted when it holds a comma, quote or line break); NULL writes nothing. */
void csv_field(FILE *fp, const char *s);
char **split_list(const char *s, size_t *n, char **storage);
void cli_log(void *user, int level, const char *msg);
int cli_progress(void *user, const char *stage, size_t done, size_t total);
void cli_progress_init(void);
void cli_progress_end(void);
void print_band_table(FILE *out, const prop_band_row *rows, size_t nb, int with_connected);
int print_backtest(const char *report, const char *json_path);
int gen_files(const char *dir, const prop_demo_options *base);

int cmd_gen(args *a);
int cmd_train(args *a);
int cmd_backtest(args *a);
int cmd_score(args *a);
int cmd_bands(args *a);
int cmd_info(args *a);
int cmd_importance(args *a);
int cmd_compare(args *a);
int cmd_explain(args *a);
/* The HTML report of a prop_compare() JSON report (report_html.c): malloc'd page, NULL on failure. */
char *report_html(const char *json_text, size_t *len);
#endif
