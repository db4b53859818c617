/* propensity: the command-line program over libpropensity.  Its commands, their synopses and
 * options are the table `commands` below (`propensity --help`, `propensity COMMAND --help`).
 *
 * Exit codes: 0 success; 1 usage; 2 bad input data or recipe (CSV, schema, value, category,
 * recipe); 3 unusable model file (format, version, truncated, corrupt); 4 training failed;
 * 5 I/O error; 6 other failure (memory, backend, cancelled).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "propensity.h"

/* ---- files ---------------------------------------------------------------------------------- */
/* The mode an output file gets: that of the file it replaces, so a nightly run never changes who
 * can read the call list; a new file gets what creat() would give it (0666 less the umask). */
static mode_t output_mode(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) return st.st_mode & 07777;
  mode_t mask = umask(0);
  umask(mask);
  return 0666 & ~mask;
}

void csv_field(FILE *fp, const char *s) {
  if (!s) return;
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, fp);
    return;
  }
  fputc('"', fp);
  for (; *s; s++) {
    if (*s == '"') fputc('"', fp);
    fputc(*s, fp);
  }
  fputc('"', fp);
}

int out_open(out_file *o, const char *cmd, const char *path) {
  memset(o, 0, sizeof *o);
  o->cmd = cmd;
  o->path = path;
  size_t n = strlen(path) + 16;
  o->tmp = malloc(n);
  if (!o->tmp) {
    fprintf(stderr, "propensity %s: out of memory\n", cmd);
    return -1;
  }
  snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(o->tmp);
  if (fd < 0) {
    fprintf(stderr, "propensity %s: cannot create a temporary file next to %s: %s\n", cmd, path, strerror(errno));
    free(o->tmp);
    o->tmp = NULL;
    return -1;
  }
  if (fchmod(fd, output_mode(path)) != 0 || !(o->fp = fdopen(fd, "w"))) {
    fprintf(stderr, "propensity %s: cannot write %s: %s\n", cmd, path, strerror(errno));
    close(fd);
    out_abort(o);
    return -1;
  }
  return 0;
}

int out_finish(out_file *o) {
  int bad = ferror(o->fp) != 0;
  if (fflush(o->fp) != 0 || fsync(fileno(o->fp)) != 0) bad = 1;
  int e = errno;
  if (fclose(o->fp) != 0 && !bad) {
    bad = 1;
    e = errno;
  }
  o->fp = NULL;
  if (bad) {
    fprintf(stderr, "propensity %s: cannot write %s: %s\n", o->cmd, o->path, strerror(e));
    out_abort(o);
    return -1;
  }
  return 0;
}

int out_commit(out_file *o) {
  if (o->fp && out_finish(o)) return -1;
  if (rename(o->tmp, o->path) != 0) {
    fprintf(stderr, "propensity %s: cannot replace %s: %s\n", o->cmd, o->path, strerror(errno));
    out_abort(o);
    return -1;
  }
  free(o->tmp);
  o->tmp = NULL;
  return 0;
}

void out_abort(out_file *o) {
  if (o->fp) fclose(o->fp);
  o->fp = NULL;
  if (o->tmp) unlink(o->tmp);
  free(o->tmp);
  o->tmp = NULL;
}

int write_atomic_n(const char *cmd, size_t n, const char *const *paths, const char *const *data, const size_t *len) {
  out_file o[4];
  if (n > sizeof o / sizeof o[0]) return -1;
  size_t opened = 0;
  int bad = 0;
  for (; opened < n && !bad; opened++) {
    if (out_open(&o[opened], cmd, paths[opened])) break;
    if ((len[opened] && fwrite(data[opened], 1, len[opened], o[opened].fp) != len[opened]) || out_finish(&o[opened])) {
      if (o[opened].fp) fprintf(stderr, "propensity %s: cannot write %s: %s\n", cmd, paths[opened], strerror(errno));
      bad = 1;
    }
  }
  if (bad || opened < n) {
    for (size_t i = 0; i < opened; i++) out_abort(&o[i]);
    return -1;
  }
  for (size_t i = 0; i < n; i++) /* every output is complete on disk; only renames are left */
    if (out_commit(&o[i])) {
      for (size_t j = i + 1; j < n; j++) out_abort(&o[j]);
      return -1;
    }
  return 0;
}

int write_atomic(const char *cmd, const char *path, const char *data, size_t len) {
  return write_atomic_n(cmd, 1, &path, &data, &len);
}

/* ---- argument handling --------------------------------------------------------------------- */
typedef struct args {
  int argc;
  char **argv;
  unsigned char *used;
} args;

const char *arg_get(args *a, const char *name) {
  for (int i = 0; i < a->argc; i++)
    if (strcmp(a->argv[i], name) == 0) {
      a->used[i] = 1;
      if (i + 1 < a->argc) {
        a->used[i + 1] = 1;
        return a->argv[i + 1];
      }
      return "";
    }
  return NULL;
}

int arg_flag(args *a, const char *name) {
  for (int i = 0; i < a->argc; i++)
    if (strcmp(a->argv[i], name) == 0) {
      a->used[i] = 1;
      return 1;
    }
  return 0;
}

int arg_leftover(args *a, const char *cmd) {
  for (int i = 0; i < a->argc; i++)
    if (!a->used[i]) {
      fprintf(stderr, "propensity %s: unknown argument '%s' (see propensity --help)\n", cmd, a->argv[i]);
      return 1;
    }
  return 0;
}

int exit_code_for(int status) {
  switch (status) {
  case PROP_OK: return 0;
  case PROP_ERR_ARG: return 1;
  case PROP_ERR_CSV:
  case PROP_ERR_SCHEMA:
  case PROP_ERR_VALUE:
  case PROP_ERR_CATEGORY:
  case PROP_ERR_RECIPE: return 2;
  case PROP_ERR_FORMAT:
  case PROP_ERR_VERSION:
  case PROP_ERR_TRUNCATED:
  case PROP_ERR_CORRUPT: return 3;
  case PROP_ERR_TRAIN: return 4;
  case PROP_ERR_IO: return 5;
  default: return 6;
  }
}

int fail(const char *cmd, int status) {
  fprintf(stderr, "propensity %s: error: %s (%s)\n", cmd, prop_last_error(), prop_strerror(status));
  return exit_code_for(status);
}

int usage_error(const char *cmd, const char *msg) {
  fprintf(stderr, "propensity %s: %s (see propensity --help)\n", cmd, msg);
  return 1;
}

int parse_size(const char *s, size_t *out) {
  if (!s || !*s) return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end || errno || s[0] == '-') return -1;
  *out = (size_t)v;
  return 0;
}

int parse_threads(const char *cmd, const char *s, int *out) {
  size_t v = 0;
  if (s && (parse_size(s, &v) || v > 4096)) return usage_error(cmd, "--threads takes a whole number from 0 (all cores) to 4096");
  *out = (int)v;
  return 0;
}

/* Split "a,b,c" into a malloc'd array of pointers into a malloc'd copy. */
char **split_list(const char *s, size_t *n, char **storage) {
  *n = 0;
  *storage = NULL;
  if (!s || !*s) return NULL;
  char *copy = strdup(s);
  if (!copy) return NULL;
  size_t cap = 1;
  for (const char *p = s; *p; p++) cap += *p == ',';
  char **out = calloc(cap, sizeof *out);
  if (!out) {
    free(copy);
    return NULL;
  }
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) out[(*n)++] = tok;
  *storage = copy;
  return out;
}

/* ---- log and progress --------------------------------------------------------------------- */
void cli_log(void *user, int level, const char *msg) {
  (void)user;
  static const char *const names[] = {"debug", "info", "warn"};
  if (level < PROP_LOG_INFO) return;
  fprintf(stderr, "[%s] %s\n", names[level >= 0 && level <= 2 ? level : 1], msg);
}

static struct {
  int tty;
  char stage[64];
  time_t start;
} g_progress;

int cli_progress(void *user, const char *stage, size_t done, size_t total) {
  (void)user;
  if (!g_progress.tty) return 0;
  if (strcmp(stage, g_progress.stage) != 0) {
    snprintf(g_progress.stage, sizeof g_progress.stage, "%s", stage);
  }
  int width = 30, filled = total ? (int)((double)done / (double)total * width) : width;
  char bar[32];
  for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
  bar[width] = '\0';
  fprintf(stderr, "\r%-22s [%s] %zu/%zu  %lds ", stage, bar, done, total, (long)(time(NULL) - g_progress.start));
  if (strcmp(stage, "done") == 0) fprintf(stderr, "\n");
  fflush(stderr);
  return 0;
}

void cli_progress_init(void) {
  g_progress.tty = isatty(STDERR_FILENO);
  g_progress.start = time(NULL);
  g_progress.stage[0] = '\0';
}

void cli_progress_end(void) {
  if (g_progress.tty) fprintf(stderr, "\r%-80s\r", "");
}

/* ---- printing helpers ---------------------------------------------------------------------- */
static void fmt_rate(char *buf, size_t n, double v) {
  if (v != v) snprintf(buf, n, "%7s", "-");
  else snprintf(buf, n, "%6.1f%%", 100.0 * v);
}

void print_band_table(FILE *out, const prop_band_row *rows, size_t nb, int with_connected) {
  size_t total = 0, pos = 0, conn = 0;
  for (size_t b = 0; b < nb; b++) {
    total += rows[b].count;
    pos += rows[b].positives;
    conn += rows[b].connected;
  }
  fprintf(out, "band  range        rows   share  accepted  success  95%% interval      lift  mean p");
  if (with_connected) fprintf(out, "  connect  success|conn");
  fprintf(out, "\n");
  for (size_t bi = nb; bi-- > 0;) {
    const prop_band_row *r = &rows[bi];
    char range[32], share[16], sr[16], lo[16], hi[16], cr[16], sc[16], mp[16];
    if (r->lo == 0.0) snprintf(range, sizeof range, "<%g%%", 100 * r->hi);
    else if (r->hi >= 1.0) snprintf(range, sizeof range, ">=%g%%", 100 * r->lo);
    else snprintf(range, sizeof range, "%g-%g%%", 100 * r->lo, 100 * r->hi);
    fmt_rate(share, sizeof share, r->share);
    fmt_rate(sr, sizeof sr, r->success_rate);
    fmt_rate(lo, sizeof lo, r->success_lo);
    fmt_rate(hi, sizeof hi, r->success_hi);
    fmt_rate(mp, sizeof mp, r->count ? r->mean_prob : NAN);
    fprintf(out, "%4d  %-9s %7zu %7s %9zu  %7s  [%7s,%7s]  ", r->band, range, r->count, share, r->positives, sr, lo,
            hi);
    if (r->lift == r->lift) fprintf(out, "%5.2f", r->lift);
    else fprintf(out, "%5s", "-");
    fprintf(out, " %7s", mp);
    if (with_connected) {
      fmt_rate(cr, sizeof cr, r->connect_rate);
      fmt_rate(sc, sizeof sc, r->success_connected);
      fprintf(out, "  %7s  %12s", cr, sc);
    }
    fprintf(out, "\n");
  }
  fprintf(out, "all   %-9s %7zu  100.0%% %9zu  %6.1f%%", "", total, pos, total ? 100.0 * (double)pos / (double)total : 0.0);
  if (with_connected && total)
    fprintf(out, "   (connected %zu = %.1f%%)", conn, 100.0 * (double)conn / (double)total);
  fprintf(out, "\n");
}

/* ---- main ------------------------------------------------------------------------------------ */
/* Every command: its synopsis (the usage lines) and what each option does (`propensity CMD --help`). */
typedef struct command {
  const char *name;
  int (*run)(args *a);
  const char *synopsis;
  const char *options;
} command;

static const command commands[] = {
    {"gen", cmd_gen, "--out-dir DIR [--seed N] [--customers N] [--months N]",
     "Writes the synthetic demo campaign: DIR/history.csv (months 1..N-1), DIR/latest.csv (month N,\n"
     "with outcomes) and DIR/calllist.csv (month N+1, no outcomes).\n"
     "  --out-dir DIR     the folder (created if missing)\n"
     "  --seed N          random seed (default 42); the same options give the same bytes\n"
     "  --customers N     customers called per month (default 4000)\n"
     "  --months N        months of history plus the latest one, at least 2 (default 6)\n"},
    {"train", cmd_train,
     "--data F --target COL [--positive V] [--id COL] [--ignore a,b]\n"
     "[--connected COL] [--time-col COL] [--recipe R.json] [--threads N] --out MODEL",
     "Trains the recipe on the whole CSV file F and writes one model file (atomically).\n"
     "  --target COL      the outcome column; labels 0/1, or give --positive\n"
     "  --positive V      the positive label (default: 1 with 0/1 labels)\n"
     "  --id COL          the customer id column (never an input; score writes it)\n"
     "  --ignore a,b      columns that are not inputs\n"
     "  --connected COL   0/1 connected flag, for connect rates (never an input)\n"
     "  --time-col COL    the month column (never an input)\n"
     "  --recipe R.json   members, vote, calibration, bands (default: models/installment.json's)\n"
     "  --threads N       0 = all cores (default)\n"},
    {"score", cmd_score,
     "--model MODEL --data F --out RANKED.csv [--rank-by probability|value]\n"
     "[--value-col C] [--capacity N] [--band-quota q1,...,q7] [--order rank|input]\n"
     "[--unseen error|bucket] [--threads N]",
     "Scores a call list of any size (streamed) and writes one output row per input row, atomically:\n"
     "id,probability,band,rank,error,dialer_rank,selected (+ value,expected_value with --rank-by value).\n"
     "  --rank-by R       probability (default) or value: probability x the --value-col column\n"
     "  --capacity N      select at most N rows (0 = all)\n"
     "  --band-quota q,.. at most q_b rows from band b, lowest band first, one number per band\n"
     "  --order O         rank (default: the call order, unscored rows last) or input\n"
     "  --unseen U        error (default: a category not seen in training makes the row unscored,\n"
     "                    with the reason) or bucket (scored through the encoder's <other> bucket)\n"
     "  --threads N       0 = all cores (default)\n"},
    {"bands", cmd_bands, "--model MODEL --data LABELED.csv [--target COL] [--connected COL] [--json OUT]",
     "The band table of labelled rows: rows, success rate with a 95% Wilson interval, lift, mean\n"
     "probability per band, and the AUC.  Labels must be the two the model was trained with.\n"
     "  --target COL      the outcome column (default: the model's target)\n"
     "  --connected COL   0/1 connected flag: adds connect rate and success among connected\n"
     "  --json OUT        also write the table as JSON (atomically)\n"},
    {"backtest", cmd_backtest,
     "--data F --target COL --time-col COL [--positive V] [--id COL] [--ignore a,b]\n"
     "[--connected COL] [--recipe R.json] [--min-train-months N] [--threads N] [--json OUT]",
     "The monthly validation: for each month after the first N, trains on all earlier months and\n"
     "scores that month (AUC, ECE, capture, band table).  Options as for train, and:\n"
     "  --min-train-months N  months that are only ever trained on (default 1)\n"
     "  --json OUT        the report as JSON (atomically)\n"},
    {"importance", cmd_importance, "--model MODEL [--data LABELED.csv] [--repeats N]",
     "Feature importance: the gain share of the model's tree member, and with --data the drop of\n"
     "AUC when each input is shuffled (permutation importance).\n"
     "  --repeats N       shuffles per input, at least 1 (default 3)\n"},
    {"compare", cmd_compare,
     "--data F --target COL [--positive V] [--id COL] [--ignore a,b]\n"
     "[--connected COL] [--time-col COL | --test-frac 0.3 | --test-data T] [--recipe R.json]\n"
     "[--seed N] [--threads N] [--latency-runs N] [--no-backtest] --json OUT.json --html OUT.html",
     "The analyst's model comparison: every member alone and the ensemble, trained on the same rows\n"
     "and measured on the same held-out rows (bench/README.md).  Options as for train, and:\n"
     "  --time-col COL    hold out the last month (and add the monthly back-test)\n"
     "  --test-frac F     else hold out a stratified share (default 0.3)\n"
     "  --test-data T     or measure on the rows of file T (F then only trains)\n"
     "  --seed N          seed of the stratified split (default 42)\n"
     "  --latency-runs N  single-row calls timed per model (default 2000)\n"
     "  --no-backtest     skip the monthly back-test\n"
     "  --json, --html    the two reports, written atomically: both or neither\n"},
    {"explain", cmd_explain, "--model MODEL --data F --out CONTRIB.csv [--unseen error|bucket] [--threads N]",
     "Writes every row's contributions (streamed, atomically, in input order): id,base,logodds, one\n"
     "column per input, error.  base + the row's contributions = logodds, the ensemble's log-odds\n"
     "before its calibrator; a positive contribution raises the probability (models/README.md,\n"
     "\"Contributions\": which parts are exact and which estimated).  Slow: milliseconds per row for\n"
     "a forest of deep trees.\n"
     "  --unseen U        error (default: a category not seen in training leaves the row unexplained,\n"
     "                    with the reason) or bucket (explained through the encoder's <other> bucket)\n"
     "  --threads N       0 = all cores (default)\n"},
    {"info", cmd_info, "--model MODEL", "Prints the model's metadata as JSON.\n"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_synopsis(FILE *out, const command *c) {
  fprintf(out, "  propensity %-10s ", c->name);
  for (const char *p = c->synopsis; *p; p++) {
    fputc(*p, out);
    if (*p == '\n') fprintf(out, "%24s", "");
  }
  fputc('\n', out);
}

static void usage(FILE *out) {
  fprintf(out, "propensity %s: installment propensity models (train, score, band, rank)\n\nusage:\n", prop_version());
  for (size_t i = 0; i < N_COMMANDS; i++) print_synopsis(out, &commands[i]);
  fprintf(out, "  propensity version\n"
               "  propensity COMMAND --help\n"
               "\n"
               "exit codes: 0 ok, 1 usage, 2 bad input data or recipe, 3 unusable model file,\n"
               "            4 training failed, 5 I/O error, 6 other failure\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
    printf("propensity %s\n", prop_version());
    return 0;
  }
  const command *c = NULL;
  for (size_t i = 0; i < N_COMMANDS && !c; i++)
    if (strcmp(argv[1], commands[i].name) == 0) c = &commands[i];
  if (!c) {
    fprintf(stderr, "propensity: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 1;
  }
  for (int i = 2; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage:\n");
      print_synopsis(stdout, c);
      printf("\n%s", c->options);
      return 0;
    }
  if (strcmp(prop_version(), PROP_VERSION_STRING) != 0) {
    fprintf(stderr, "propensity: library version %s does not match this program (%s)\n", prop_version(),
            PROP_VERSION_STRING);
    return 6;
  }
  args a = {argc - 2, argv + 2, calloc((size_t)argc, 1)};
  if (!a.used) return 6;
  cli_progress_init();
  int rc = c->run(&a);
  free(a.used);
  return rc;
}
