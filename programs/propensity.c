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
#include <signal.h>
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
/* Permissions of a new output file: what the umask leaves of 0666, as for any file a program creates (a
 * file replaced keeps its own: the library's writer sees to that). */
unsigned new_file_mode(void) {
  mode_t mask = umask(0);
  umask(mask);
  return 0666 & ~mask;
}

/* The files this run reads (the values of the options in k_input_options, as arg_get meets them): no
 * output may replace one of them (the writer compares devices and inodes, so another name for the same
 * file is caught too). */
static const char *const k_input_options[] = {"--data", "--model", "--recipe", "--history", "--customers",
                                              "--contact", "--policy", "--test-data"};
#define MAX_INPUTS 16
static const char *g_inputs[MAX_INPUTS];
static size_t g_ninputs;

static void note_input(const char *option, const char *value) {
  if (!value || !*value || strcmp(value, "-") == 0 || g_ninputs == MAX_INPUTS) return;
  for (size_t i = 0; i < sizeof k_input_options / sizeof k_input_options[0]; i++)
    if (strcmp(option, k_input_options[i]) == 0) {
      g_inputs[g_ninputs++] = value;
      return;
    }
}

void cli_writer_options(prop_writer_options *wo) {
  prop_writer_options_default(wo);
  wo->mode = new_file_mode();
  wo->inputs = g_inputs;
  wo->n_inputs = g_ninputs;
}

int cli_writer_open(const char *path, const prop_writer_options *opt, prop_writer **w) {
  prop_writer_options wo;
  if (!opt) cli_writer_options(&wo);
  if (!opt) opt = &wo;
  return strcmp(path, "-") == 0 ? prop_writer_open_fd(1, "<stdout>", opt, w) : prop_writer_open(path, opt, w);
}

int cli_write_bytes(const char *path, const void *data, size_t len) {
  prop_writer *w = NULL;
  int st = cli_writer_open(path, NULL, &w);
  if (!st) st = prop_writer_bytes(w, data, len);
  if (!st) return prop_writer_commit(w);
  prop_writer_abort(w);
  return st;
}

int write_atomic_n(const char *cmd, size_t n, const char *const *paths, const char *const *data, const size_t *len) {
  prop_writer *w[4] = {NULL};
  if (n > sizeof w / sizeof w[0]) return 6;
  int st = 0;
  for (size_t i = 0; i < n && !st; i++) { /* every output complete on disk before any is renamed */
    st = cli_writer_open(paths[i], NULL, &w[i]);
    if (!st) st = prop_writer_bytes(w[i], data[i], len[i]);
    if (!st) st = prop_writer_sync(w[i]);
  }
  for (size_t i = 0; i < n; i++) {
    if (st) prop_writer_abort(w[i]);
    else st = prop_writer_commit(w[i]);
  }
  return st ? fail(cmd, st) : 0;
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
        note_input(name, a->argv[i + 1]);
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

int fail(const char *cmd, int status) {
  fprintf(stderr, "propensity %s: error: %s (%s)\n", cmd, prop_last_error(), prop_strerror(status));
  return prop_status_exit_code(status); /* PROP_STATUS_LIST's last column */
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
  int any_few = 0;
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
    int few = r->count > 0 && r->count < FEW_ROWS;
    fprintf(out, "%4d  %-9s %6zu%s %7s %9zu  %7s  [%7s,%7s]  ", r->band, range, r->count, few ? "*" : " ", share,
            r->positives, sr, lo, hi);
    any_few |= few;
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
  if (any_few)
    fprintf(out, "* fewer than %d rows: the band's success rate, interval and lift rest on too few calls to read\n",
            FEW_ROWS);
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
    {"gen", cmd_gen, "--out-dir DIR [--seed N] [--customers N] [--months N] [--drift]",
     "Writes the synthetic demo campaign: DIR/history.csv (months 1..N-1), DIR/latest.csv (month N,\n"
     "with outcomes) and DIR/calllist.csv (month N+1, no outcomes).\n"
     "  --drift           also DIR/drift.csv: month N+2 with outcomes and a planted drift (a richer\n"
     "                    intake, more platinum cards), for `propensity monitor`\n"
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
     "  --time-col COL    the month column (never an input): integers, YYYYMM, YYYY-MM or\n"
     "                    YYYY-MM-DD (read as its month), one format per column\n"
     "  --recipe R.json   members, vote, calibration, bands (default: models/installment.json's)\n"
     "  --threads N       0 = all cores (default)\n"},
    {"score", cmd_score,
     "--model MODEL --data F --out RANKED.csv [--rank-by probability|value]\n"
     "[--value-col C] [--capacity N] [--band-quota q1,...,q7] [--order rank|input]\n"
     "[--unseen bucket|error] [--reasons K] [--memory-mb M] [--temp-dir DIR] [--threads N]",
     "Scores a call list of any size (streamed) and writes one output row per input row, atomically:\n"
     "id,probability,band,rank,error,dialer_rank,selected (+ value,expected_value with --rank-by value).\n"
     "  --rank-by R       probability (default) or value: probability x the --value-col column\n"
     "  --capacity N      select at most N rows (0 = all)\n"
     "  --band-quota q,.. at most q_b rows from band b, lowest band first, one number per band\n"
     "  --order O         rank (default: the call order, unscored rows last) or input\n"
     "  --unseen U        bucket (default: a category not seen in training is scored through the\n"
     "                    encoder's <other> bucket; the rows per input are reported) or error (such a\n"
     "                    row is left unscored, with the reason)\n"
     "  --reasons K       add reason_1..reason_K: the inputs that raise each row's probability most, as\n"
     "                    input=value (slow: each row's contributions; see explain)\n"
     "  --memory-mb M     the list's rows held in memory, in MiB (default 128; 0 = no limit); a longer\n"
     "                    list is sorted in runs spilled to a temporary file and merged: same output\n"
     "  --temp-dir DIR    folder of that file (default: $TMPDIR, else /tmp); it is unlinked at once, so\n"
     "                    nothing is left behind; about 40 bytes a row plus ids and reasons\n"
     "  --threads N       0 = all cores (default)\n"},
    {"bands", cmd_bands, "--model MODEL --data LABELED.csv [--target COL] [--connected COL] [--json OUT]",
     "The band table of labelled rows: rows, success rate with a 95% Wilson interval, lift, mean\n"
     "probability per band, and the AUC.  Labels must be the two the model was trained with.\n"
     "Names the months the rows cover when the model has a time column and the file holds it.\n"
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
    {"explain", cmd_explain, "--model MODEL --data F --out CONTRIB.csv [--unseen bucket|error] [--threads N]",
     "Writes every row's contributions (streamed, atomically, in input order): id,base,logodds, one\n"
     "column per input, error.  base + the row's contributions = logodds, the ensemble's log-odds\n"
     "before its calibrator; a positive contribution raises the probability (models/README.md,\n"
     "\"Contributions\": which parts are exact and which estimated).  Slow: milliseconds per row for\n"
     "a forest of deep trees.\n"
     "  --unseen U        bucket (default: a category not seen in training is explained through the\n"
     "                    encoder's <other> bucket) or error (the row is left unexplained, with the reason)\n"
     "  --threads N       0 = all cores (default)\n"},
    {"info", cmd_info, "--model MODEL", "Prints the model's metadata as JSON.\n"},
    {"monitor", cmd_monitor,
     "--model MODEL --data NEW.csv [--target COL] [--positive V] [--time-col COL] --json OUT.json\n"
     "[--html OUT.html] [--fail-on watch|act] [--watch X] [--act Y] [--threads N]",
     "Does the model still hold for these rows?  Compares them with the model's training rows: the\n"
     "score's population stability index (PSI), each input's characteristic stability index (CSI),\n"
     "the band shares; with outcomes the AUC and each band's observed rate against its range.\n"
     "  --target COL      the outcome column: adds the AUC and the realised rate per band\n"
     "  --positive V      its positive label (default: the model's)\n"
     "  --time-col COL    one entry per period of COL, for a trend\n"
     "  --json OUT        the report (schema in README \"Monitoring\"), written atomically\n"
     "  --html OUT        also a self-contained page (written with the JSON: both or neither)\n"
     "  --fail-on L       watch or act: exit 7 when the score or an input reaches that level\n"
     "  --watch X --act Y the levels (default 0.1 and 0.25)\n"
     "  --threads N       0 = all cores (default)\n"},
    {"contact fit", cmd_contact_fit,
     "--history H.csv --id COL --time COL --channel COL --outcome COL [--positive V]\n"
     "[--data CUSTOMERS.csv --segment-cols a,b] [--channels a,b] [--hours 8,2,7]\n"
     "[--tz +HH:MM] [--holdout 0.2] [--threads N] --out CONTACT.model",
     "Fits the contact model: each customer's P(connect) in every cell (weekday or weekend x time block\n"
     "x channel) from past contact attempts, customers shrunk toward their segment and segments toward\n"
     "all (models/README.md, \"The contact model\"), and prints its held-out check.\n"
     "  --history H.csv   one row per contact attempt\n"
     "  --id COL          the customer id column (of the history and of --data)\n"
     "  --time COL        ISO 8601 time of the attempt: 2026-03-14T10:37:00, with or without a zone\n"
     "  --channel COL     the channel called (mobile, home, ...)\n"
     "  --outcome COL     connected or not: labels 0/1, or give --positive\n"
     "  --positive V      the label meaning connected (one other label is allowed)\n"
     "  --data F          the customers (all of them, with history or not) and their segment columns\n"
     "  --segment-cols a,b  columns of --data whose values make a segment (e.g. an age band)\n"
     "  --channels a,b    the grid's channels in order (default: those of the history)\n"
     "  --hours F,H,N     N blocks of H hours from F:00 (default 8,2,7: 08:00 to 22:00)\n"
     "  --tz +HH:MM       the customers' UTC offset: times with a zone are moved to it first\n"
     "                    (default: every time's date and hour as written)\n"
     "  --holdout F       the latest share of the history held out for the check (default 0.2)\n"
     "  --threads N       0 = all cores (default)\n"},
    {"contact best", cmd_contact_best, "--contact CONTACT.model --data CUSTOMERS.csv --out BEST.csv [--id COL]",
     "Writes each customer's best cell, one row per input row: id,channel,day,hour,p_connect.\n"
     "  --id COL          the id column (default: the customers' id column of the fit)\n"},
    {"plan", cmd_plan,
     "--model MODEL --contact CONTACT.model --data CALLLIST.csv --policy POLICY.json\n"
     "--out PLAN.csv [--format csv|vicidial] [--value-col C] [--unseen bucket|error]\n"
     "[--exact-max-rows N] [--threads N]",
     "Scores the call list and assigns each row to a tier and a cell (slot and channel) under the policy\n"
     "(models/README.md, \"The call policy\"), maximising the total expected value P(connect) x\n"
     "P(accept | connected) x multiplier x value within the capacities.  One row per input row, in input\n"
     "order: id,probability,band,tier,channel,day,hour,p_connect,expected_value,slot_rank,error.\n"
     "The model's probability is read as P(accept | connected): train it on connected calls.\n"
     "  --format F        csv (default) or vicidial: --out is then a folder that gets plan.csv and one\n"
     "                    VICIdial lead file per slot with calls (DAY_HH.txt, format stdrankowner)\n"
     "  --value-col C     the value of an acceptance (default 1: expected acceptances)\n"
     "  --unseen U        bucket (default) or error, as for score\n"
     "  --exact-max-rows N  the exact assignment runs up to N competing rows (default 50000)\n"
     "  --threads N       0 = all cores (default)\n"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_synopsis(FILE *out, const command *c) {
  int width = strlen(c->name) > 10 ? (int)strlen(c->name) : 10;
  fprintf(out, "  propensity %-10s ", c->name);
  for (const char *p = c->synopsis; *p; p++) {
    fputc(*p, out);
    if (*p == '\n') fprintf(out, "%*s", width + 14, "");
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

/* ---- signals --------------------------------------------------------------------------------------- */
/* Killed while writing (SIGTERM from a scheduler, Ctrl-C, a lost terminal, a closed pipe): the temporary
 * files of the outputs being written are removed, then the signal takes its default course, so the caller
 * still sees the process end by that signal.  A target is only ever replaced by a rename, so it is the
 * old file or the whole new one.  SIGXFSZ (ulimit -f) is ignored instead: the write then fails with EFBIG
 * and the writer reports it, naming the file and row, and removes its temporary file. */
static void on_fatal_signal(int sig) {
  prop_writer_remove_temporaries(); /* async-signal-safe: unlink over a fixed table */
  signal(sig, SIG_DFL);
  raise(sig); /* blocked until this handler returns, then the default action */
}

static void install_signal_handlers(void) {
  static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&sa.sa_mask, sigs[i]);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    /* a signal ignored by whoever started us (nohup, a shell's background job) stays ignored */
    if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(sigs[i], &sa, NULL);
  }
  signal(SIGXFSZ, SIG_IGN);
}

/* ---- start-up --------------------------------------------------------------------------------
 * The libraries the program uses run their initialisers before main: XGBoost's register their
 * parameters in C++ containers, and when memory runs out there (ulimit -v, about 14 MB) the
 * std::bad_alloc is uncaught and the C++ runtime aborts.  Nothing of ours has run yet.  The
 * executable's preinit array runs before any library's initialiser: it turns an abort from then
 * until main into an exit with status 6 and a message; main puts the default back at once, so a
 * later abort stays a signal. */
static void aborted_at_start(int sig) {
  static const char msg[] = "propensity: a library the program uses failed while starting (out of memory)\n";
  (void)sig;
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(6);
}

static void before_libraries(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  (void)envp;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = aborted_at_start;
  sigaction(SIGABRT, &sa, NULL);
}

__attribute__((section(".preinit_array"), used)) static void (*const k_preinit)(int, char **, char **) =
    before_libraries;

int main(int argc, char **argv) {
  signal(SIGABRT, SIG_DFL); /* from here on an abort is an abort (see before_libraries) */
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
    printf("propensity %s\n", prop_version());
    return 0;
  }
  const command *c = NULL;
  int sub = strcmp(argv[1], "contact") == 0 && argc > 2; /* "contact fit": two words */
  char name[64];
  snprintf(name, sizeof name, "%s%s%s", argv[1], sub ? " " : "", sub ? argv[2] : "");
  for (size_t i = 0; i < N_COMMANDS && !c; i++)
    if (strcmp(name, commands[i].name) == 0) c = &commands[i];
  if (!c) {
    fprintf(stderr, "propensity: unknown command '%s'\n", name);
    usage(stderr);
    return 1;
  }
  for (int i = 2 + sub; i < argc; i++)
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
  args a = {argc - 2 - sub, argv + 2 + sub, calloc((size_t)argc, 1)};
  if (!a.used) return 6;
  install_signal_handlers();
  cli_progress_init();
  int rc = c->run(&a);
  free(a.used);
  return rc;
}
