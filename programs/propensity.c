/* propensity: the command-line program over libpropensity.
 *
 *   propensity gen      --out-dir DIR [--seed N] [--customers N] [--months N]
 *   propensity train    --data F --target COL [--positive V] [--id COL] [--ignore a,b]
 *                       [--connected COL] [--time-col COL] [--recipe R.json] [--threads N] --out MODEL
 *   propensity score    --model MODEL --data F --out RANKED.csv [--rank-by probability|value]
 *                       [--value-col C] [--capacity N] [--band-quota q1,..,q7] [--order rank|input]
 *                       [--unseen error|bucket]
 *   propensity bands    --model MODEL --data LABELED.csv [--target COL] [--connected COL] [--json OUT]
 *   propensity backtest --data F --target C --time-col month [--recipe R] [--json OUT] ...
 *   propensity info     --model MODEL
 *   propensity importance --model MODEL [--data LABELED.csv [--repeats N]]
 *   propensity compare  --data F --target C [--time-col C | --test-frac 0.3 | --test-data F] ... --json OUT --html OUT
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
/* Write data to path atomically: a temporary file in the same folder, fsync, rename. */
int write_atomic(const char *cmd, const char *path, const char *data, size_t len) {
  size_t n = strlen(path) + 16;
  char *tmp = malloc(n);
  if (!tmp) return -1;
  snprintf(tmp, n, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    fprintf(stderr, "propensity %s: cannot create a temporary file next to %s: %s\n", cmd, path, strerror(errno));
    free(tmp);
    return -1;
  }
  int ok = fchmod(fd, 0644) == 0;
  size_t done = 0;
  while (ok && done < len) {
    ssize_t w = write(fd, data + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ok = 0;
    else done += (size_t)w;
  }
  if (ok) ok = fsync(fd) == 0;
  if (close(fd) != 0) ok = 0;
  if (ok) ok = rename(tmp, path) == 0;
  if (!ok) {
    fprintf(stderr, "propensity %s: cannot write %s: %s\n", cmd, path, strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  return ok ? 0 : -1;
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
static void usage(FILE *out) {
  fprintf(out,
          "propensity %s: installment propensity models (train, score, band, rank)\n"
          "\n"
          "usage:\n"
          "  propensity gen      --out-dir DIR [--seed N] [--customers N] [--months N]\n"
          "  propensity train    --data F --target COL [--positive V] [--id COL] [--ignore a,b]\n"
          "                      [--connected COL] [--time-col COL] [--recipe R.json] [--threads N] --out MODEL\n"
          "  propensity score    --model MODEL --data F --out RANKED.csv [--rank-by probability|value]\n"
          "                      [--value-col C] [--capacity N] [--band-quota q1,...,qB] [--order rank|input]\n"
          "                      [--unseen error|bucket]\n"
          "  propensity bands    --model MODEL --data LABELED.csv [--target COL] [--connected COL] [--json OUT]\n"
          "  propensity backtest --data F --target COL --time-col COL [--positive V] [--id COL] [--ignore a,b]\n"
          "                      [--connected COL] [--recipe R.json] [--min-train-months N] [--json OUT]\n"
          "  propensity importance --model MODEL [--data LABELED.csv] [--repeats N]\n"
          "  propensity compare  --data F --target COL [--positive V] [--id COL] [--ignore a,b]\n"
          "                      [--connected COL] [--time-col COL | --test-frac 0.3] [--test-data F]\n"
          "                      [--recipe R.json]\n"
          "                      [--seed N] [--threads N] [--latency-runs N] [--no-backtest]\n"
          "                      --json OUT.json --html OUT.html\n"
          "  propensity info     --model MODEL\n"
          "  propensity version\n"
          "\n"
          "exit codes: 0 ok, 1 usage, 2 bad input data or recipe, 3 unusable model file,\n"
          "            4 training failed, 5 I/O error, 6 other failure\n",
          prop_version());
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
  if (strcmp(prop_version(), PROP_VERSION_STRING) != 0) {
    fprintf(stderr, "propensity: library version %s does not match this program (%s)\n", prop_version(),
            PROP_VERSION_STRING);
    return 6;
  }
  args a = {argc - 2, argv + 2, calloc((size_t)argc, 1)};
  if (!a.used) return 6;
  const char *cmd = argv[1];
  cli_progress_init();
  int rc;
  if (strcmp(cmd, "gen") == 0) rc = cmd_gen(&a);
  else if (strcmp(cmd, "train") == 0) rc = cmd_train(&a);
  else if (strcmp(cmd, "score") == 0) rc = cmd_score(&a);
  else if (strcmp(cmd, "bands") == 0) rc = cmd_bands(&a);
  else if (strcmp(cmd, "backtest") == 0) rc = cmd_backtest(&a);
  else if (strcmp(cmd, "info") == 0) rc = cmd_info(&a);
  else if (strcmp(cmd, "importance") == 0) rc = cmd_importance(&a);
  else if (strcmp(cmd, "compare") == 0) rc = cmd_compare(&a);
  else {
    fprintf(stderr, "propensity: unknown command '%s'\n", cmd);
    usage(stderr);
    rc = 1;
  }
  free(a.used);
  return rc;
}
