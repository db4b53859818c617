/* bench_speed: scoring throughput, single-row latency and peak memory of every member, of XGBoost's
 * own prediction on the xgboost member's model, and of the whole pipeline.
 *
 *   bench_speed [--threads 2] [--runs 5] [--calls 20000] [--max-rows 1000000] [--json OUT.json]
 *               [--recipe R.json] [--only pipeline,members,member:NAME,xgboost_native,split,reasons]
 *               [--reasons-rows 2000] [--reasons-calls 2000]
 *               [--work-dir DIR [--reuse 1]] [--quiet-wait SECONDS]
 *   bench_speed --write-calllist OUT.csv --rows N [--month 7] [--seed 42]
 *
 * Everything is seeded: the demo campaign (seed 42, 4000 customers a month, months 1..5 for
 * training, as `propensity gen` writes history.csv), the recipe's seed for every fit, and the rows
 * scored: the call list of month 7 with --max-rows customers (the demo generator's rows of that
 * month, as in calllist.csv but more customers).
 *
 * Phases run in child processes forked from a lean parent, so that each phase's peak RSS is its own:
 *  - setup: writes the demo history, trains the recipe (models/installment.json by default) with
 *    prop_model_train, fits every member of the recipe alone on the same encoded rows (the member's
 *    own fit, the recipe's parameters and imbalance handling, no validation hold-out), and writes the
 *    call list's raw input rows (max-rows x inputs doubles) to the work directory.
 *  - pipeline: prop_model_predict_dense on the raw rows (encoding, members, vote, calibration,
 *    bands); prop_scorer_score for latency.
 *  - member:NAME: the member's predict on the encoded rows (encoding not included).
 *  - xgboost_native: XGBoost's own XGDMatrixCreateFromDense + XGBoosterPredictFromDMatrix on the
 *    xgboost member's trees (loaded from the JSON the member saves) and the same encoded rows.
 *  - split: how batch rows are shared out among threads: score.c's OpenMP loop over 2048-row
 *    blocks with members on one thread each, against one member call with all threads on bigger
 *    blocks; and prop_model_predict_dense's block_rows.
 *  - reasons: three reasons per row, in batch (prop_model_contributions_dense, then
 *    prop_model_reasons on each row) for 1 and --reasons-rows rows, and for one customer
 *    (prop_scorer_reasons, --reasons-calls calls, its top contribution compared with the batch's bit
 *    for bit); and the share of each member's contributions in one customer's call.
 *
 * Throughput: for each size (1, 1k, 100k, 1M rows) a warm-up call, then `runs` timed runs (3 when a
 * run takes over 3 s), each repeating the call on successive row windows until it lasts >= 20 ms;
 * the median run gives rows/s.  Latency: `calls` single-row calls (after 200 warm-up calls), each
 * timed with CLOCK_MONOTONIC, cycling through the rows; nearest-rank percentiles.  Every single-row
 * result is compared with the batch result of the same row (they must be bit-identical).
 * Memory: VmRSS before, and VmHWM after each measurement with the high-water mark reset in
 * between (/proc/self/clear_refs "5"), plus the child's ru_maxrss from wait4.
 *
 * The machine: CPU model, cores, caches and memory go into the report.  Other processes on it
 * disturb every figure (2 cores: a busy second core stalls each OpenMP barrier); the CPU use seen
 * just before each phase is reported, and --quiet-wait S waits up to S seconds for it to fall
 * below 5% first.
 *
 * Benchmarks are not tests: this program is not registered with ctest. */
#define _DEFAULT_SOURCE 1 /* wait4 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <omp.h>
#include <xgboost/c_api.h>

#include "common/common.h"
#include "data/frame.h"
#include "encode/encoder.h"
#include "models/member.h"
#include "pipeline/pipeline.h"
#include "write/writer.h"

#define MIN_RUN_S 0.02
#define SLOW_RUN_S 3.0
#define WARM_CALLS 200

/* ---- configuration and small helpers ------------------------------------------------------- */

typedef struct config {
  int threads;
  int runs;
  size_t calls;
  size_t max_rows;
  const char *json_path;
  const char *recipe_path;
  const char *only;
  char workdir[512];
  int own_workdir;
  int reuse; /* 1: keep an existing setup in --work-dir */
  size_t reasons_rows, reasons_calls; /* batch size and single-customer calls of the reasons phase */
  double quiet_wait; /* seconds to wait for an idle machine before each phase */
} config;

static config G;

static void die(const char *fmt, ...) PP_PRINTF(1, 2);
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench_speed: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  const char *le = prop_last_error();
  if (le && *le) fprintf(stderr, " (%s)", le);
  fputc('\n', stderr);
  exit(1);
}

static void note(const char *fmt, ...) PP_PRINTF(1, 2);
static void note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("[bench_speed] ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("out of memory (%zu bytes)", n);
  return p;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *sorted, size_t n, double q) {
  size_t k = (size_t)ceil(q * (double)n);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return sorted[k - 1];
}

static void path_in(char *buf, size_t cap, const char *name) {
  int k = snprintf(buf, cap, "%s/%s", G.workdir, name);
  if (k < 0 || (size_t)k >= cap) die("work directory path too long");
}

static int wanted(const char *phase) {
  if (!G.only) return 1;
  size_t L = strlen(phase);
  for (const char *p = G.only; *p;) {
    const char *e = strchr(p, ',');
    size_t k = e ? (size_t)(e - p) : strlen(p);
    if (k == L && strncmp(p, phase, L) == 0) return 1;
    if (!e) break;
    p = e + 1;
  }
  return 0;
}

/* ---- memory -------------------------------------------------------------------------------------- */

/* A "Key:  123 kB" line of /proc/self/status, in kB (-1 when absent). */
static long status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  size_t L = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, L) == 0 && line[L] == ':') {
      v = strtol(line + L + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

/* Reset the peak-RSS high-water mark to the current RSS (Linux >= 4.0); 0 on success. */
static int hwm_reset(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (!f) return -1;
  int ok = fputs("5", f) >= 0;
  if (fclose(f) != 0) ok = 0;
  return ok ? 0 : -1;
}

static int g_hwm_ok = 1;

typedef struct memwin {
  long rss0;
} memwin;

static void mem_begin(memwin *w) {
  w->rss0 = status_kb("VmRSS");
  if (hwm_reset() != 0) g_hwm_ok = 0;
}

/* Peak above the RSS at mem_begin, kB. */
static long mem_delta(const memwin *w) {
  long hwm = status_kb("VmHWM");
  return hwm >= 0 && w->rss0 >= 0 ? hwm - w->rss0 : -1;
}

/* ---- files ------------------------------------------------------------------------------------- */

static void write_bytes(const char *path, const void *p, size_t n) {
  if (pp_write_bytes(path, p, n)) die("writing %s", path);
}

static unsigned char *read_bytes(const char *path, size_t *n) {
  unsigned char *d = NULL;
  if (pp_read_file(path, SIZE_MAX - 1, "file", NULL, 0, &d, n)) die("reading %s", path);
  return d;
}

static void json_to_file(json_t *o, const char *path) {
  if (json_dump_file(o, path, JSON_INDENT(1) | JSON_REAL_PRECISION(10))) die("writing %s", path);
}

static json_t *json_from_file(const char *path) {
  json_error_t e;
  json_t *o = json_load_file(path, 0, &e);
  if (!o) die("reading %s: %s", path, e.text);
  return o;
}

/* /proc/loadavg's three averages: other processes on the machine disturb the timings. */
static json_t *load_average(void) {
  json_t *a = json_array();
  FILE *f = fopen("/proc/loadavg", "r");
  double l[3];
  if (f) {
    if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) == 3)
      for (int k = 0; k < 3; k++) json_array_append_new(a, json_real(l[k]));
    fclose(f);
  }
  return a;
}

/* Share of the machine's CPU time that was busy over `secs` seconds (/proc/stat), or -1. */
static double cpu_busy(double secs) {
  unsigned long long a[8], b[8];
  for (int pass = 0; pass < 2; pass++) {
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long *v = pass ? b : a;
    int ok = f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                         &v[6], &v[7]) == 8;
    if (f) fclose(f);
    if (!ok) return -1;
    if (!pass) {
      struct timespec ts = {(time_t)secs, (long)((secs - floor(secs)) * 1e9)};
      nanosleep(&ts, NULL);
    }
  }
  unsigned long long tot = 0, idle = (b[3] - a[3]) + (b[4] - a[4]);
  for (int k = 0; k < 8; k++) tot += b[k] - a[k];
  return tot ? 1.0 - (double)idle / (double)tot : -1;
}

/* Before a phase: wait up to G.quiet_wait seconds for the other processes to leave the CPUs idle
 * (busy share below 5% over one second); returns the last busy share seen. */
static double wait_quiet(void) {
  double t0 = now(), b = cpu_busy(0.5);
  while (b > 0.05 && now() - t0 < G.quiet_wait) b = cpu_busy(1.0);
  return b;
}

/* ---- machine ----------------------------------------------------------------------------------- */

static json_t *machine_json(void) {
  json_t *o = json_object();
  char model[256] = "unknown";
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f))
      if (strncmp(line, "model name", 10) == 0) {
        const char *c = strchr(line, ':');
        if (c) {
          c++;
          while (*c == ' ' || *c == '\t') c++;
          snprintf(model, sizeof model, "%s", c);
          model[strcspn(model, "\n")] = '\0';
        }
        break;
      }
    fclose(f);
  }
  json_object_set_new(o, "cpu", json_string(model));
  json_object_set_new(o, "cores_online", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
  static const char *const caches[] = {"index0", "index1", "index2", "index3"};
  static const char *const names[] = {"l1d", "l1i", "l2", "l3"};
  for (size_t i = 0; i < 4; i++) {
    char p[128], v[64] = "";
    snprintf(p, sizeof p, "/sys/devices/system/cpu/cpu0/cache/%s/size", caches[i]);
    FILE *c = fopen(p, "r");
    if (c) {
      if (fgets(v, sizeof v, c)) v[strcspn(v, "\n")] = '\0';
      fclose(c);
    }
    char key[32];
    snprintf(key, sizeof key, "cache_%s", names[i]);
    json_object_set_new(o, key, *v ? json_string(v) : json_null());
  }
  long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
  json_object_set_new(o, "memory_mb", json_integer(pages > 0 && psz > 0 ? (json_int_t)pages * psz / (1024 * 1024) : -1));
  struct utsname u;
  if (uname(&u) == 0) {
    char k[300];
    snprintf(k, sizeof k, "%s %s %s", u.sysname, u.release, u.machine);
    json_object_set_new(o, "kernel", json_string(k));
  }
  json_object_set_new(o, "compiler", json_string("gcc " __VERSION__));
  int a = 0, b = 0, c = 0;
  XGBoostVersion(&a, &b, &c);
  char xv[32];
  snprintf(xv, sizeof xv, "%d.%d.%d", a, b, c);
  json_object_set_new(o, "xgboost", json_string(xv));
  json_object_set_new(o, "libpropensity", json_string(prop_version()));
  return o;
}

/* ---- the data every scoring phase loads ------------------------------------------------------------ */

typedef struct data {
  prop_model *m;
  size_t n, nfeat, width;
  double *raw; /* n x nfeat, the call list's input rows */
  float *X;    /* n x width, encoded (members' input) */
} data;

static void data_load(data *D, int need_X) {
  memset(D, 0, sizeof *D);
  char p[640];
  path_in(p, sizeof p, "model.bin");
  if (prop_model_load(p, &D->m)) die("loading %s", p);
  D->nfeat = prop_model_n_inputs(D->m);
  D->width = D->m->width;
  path_in(p, sizeof p, "raw.bin");
  FILE *f = fopen(p, "rb");
  if (!f) die("opening %s: %s", p, strerror(errno));
  uint64_t hdr[2];
  if (fread(hdr, sizeof hdr, 1, f) != 1 || hdr[1] != D->nfeat) die("%s: bad header", p);
  D->n = (size_t)hdr[0];
  D->raw = xmalloc(D->n * D->nfeat * sizeof(double));
  if (fread(D->raw, sizeof(double), D->n * D->nfeat, f) != D->n * D->nfeat) die("%s: short read", p);
  fclose(f);
  if (need_X) {
    D->X = xmalloc(D->n * D->width * sizeof(float));
    pp_encoder_transform(D->m->enc, D->raw, D->n, D->nfeat, D->X);
  }
}

static void data_free(data *D) {
  prop_model_free(D->m);
  free(D->raw);
  free(D->X);
  memset(D, 0, sizeof *D);
}

static void *member_load(const pp_member_ops *ops, size_t width) {
  char name[96], p[640];
  snprintf(name, sizeof name, "member_%s.bin", ops->name);
  path_in(p, sizeof p, name);
  size_t n = 0;
  unsigned char *bytes = read_bytes(p, &n);
  pp_rd rd;
  pp_rd_init(&rd, bytes, n, name);
  void *model = NULL;
  if (ops->load(&rd, width, &model)) die("loading %s", p);
  free(bytes);
  return model;
}

/* ---- measurement ------------------------------------------------------------------------------ */

/* An operation on rows [row0, row0 + n) of the phase's data with nthread threads. */
typedef struct op {
  int (*fn)(void *u, size_t row0, size_t n, int nthread);
  void *u;
  size_t total; /* rows available */
} op;

static void op_call(const op *o, size_t row0, size_t n, int nthread) {
  if (o->fn(o->u, row0, n, nthread)) die("scoring %zu rows at row %zu", n, row0);
}

/* Throughput of n-row calls; returns the JSON record and *rate (rows/s). */
static json_t *measure(const op *o, size_t n, int nthread, double *rate) {
  if (n > o->total) n = o->total;
  size_t n0 = n > 10000 ? 10000 : n;
  double t0 = now();
  op_call(o, 0, n0, nthread); /* warm-up */
  double est = (now() - t0) * (double)n / (double)n0;
  size_t reps = 1;
  if (est < MIN_RUN_S) {
    double r = ceil(MIN_RUN_S / (est > 1e-8 ? est : 1e-8));
    reps = r > 1e6 ? 1000000 : (size_t)r;
  }
  int runs = G.runs;
  double *t = xmalloc((size_t)runs * sizeof *t);
  size_t span = o->total - n + 1;
  memwin mw;
  mem_begin(&mw);
  int done = 0;
  for (int r = 0; r < runs; r++) {
    double a = now();
    for (size_t k = 0; k < reps; k++) op_call(o, ((size_t)r * reps + k) * n % span, n, nthread);
    t[r] = (now() - a) / (double)reps;
    done++;
    if (r == 0 && t[0] > SLOW_RUN_S && runs > 3) runs = 3;
  }
  long delta = mem_delta(&mw);
  json_t *runs_j = json_array();
  for (int r = 0; r < done; r++) json_array_append_new(runs_j, json_real(t[r]));
  qsort(t, (size_t)done, sizeof *t, cmp_d);
  double med = done % 2 ? t[done / 2] : 0.5 * (t[done / 2 - 1] + t[done / 2]);
  *rate = (double)n / med;
  json_t *j = json_object();
  json_object_set_new(j, "rows", json_integer((json_int_t)n));
  json_object_set_new(j, "threads", json_integer(nthread));
  json_object_set_new(j, "runs", json_integer(done));
  json_object_set_new(j, "calls_per_run", json_integer((json_int_t)reps));
  json_object_set_new(j, "median_seconds_per_call", json_real(med));
  json_object_set_new(j, "rows_per_second", json_real(*rate));
  json_object_set_new(j, "run_seconds_per_call", runs_j);
  json_object_set_new(j, "peak_rss_above_start_kb", delta >= 0 ? json_integer(delta) : json_null());
  free(t);
  return j;
}

/* FNV-1a of bytes: a fingerprint of a run's outputs, to compare builds bit for bit. */
static json_t *fnv1a(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  char s[24];
  snprintf(s, sizeof s, "%016llx", (unsigned long long)h);
  return json_string(s);
}

static const size_t k_sizes[] = {1, 1000, 100000, 1000000};
#define N_SIZES (sizeof k_sizes / sizeof k_sizes[0])

/* Throughput at every size, with G.threads and (when G.threads > 1) 1 thread. */
static json_t *throughput(const op *o, const char *label) {
  json_t *arr = json_array();
  int th[2] = {G.threads, 1};
  int nth = G.threads > 1 ? 2 : 1;
  for (size_t s = 0; s < N_SIZES; s++) {
    size_t n = k_sizes[s];
    if (n > o->total) continue;
    for (int k = 0; k < nth; k++) {
      double rate;
      json_array_append_new(arr, measure(o, n, th[k], &rate));
      note("  %-28s %8zu rows  %d thr  %12.0f rows/s", label, n, th[k], rate);
    }
  }
  return arr;
}

/* A single-row scorer: row i of the phase's data into *p. */
typedef struct one {
  int (*fn)(void *u, size_t i, double *p);
  void *u;
  size_t total;
  const double *ref; /* batch results of rows 0..nref-1, or NULL */
  size_t nref;
} one;

static json_t *latency(const one *o, size_t calls) {
  double *t = xmalloc(calls * sizeof *t);
  double p = 0;
  for (size_t k = 0; k < WARM_CALLS; k++)
    if (o->fn(o->u, k % o->total, &p)) die("single-row call");
  size_t mismatch = 0, checked = 0;
  memwin mw;
  mem_begin(&mw);
  double sum = 0;
  for (size_t k = 0; k < calls; k++) {
    size_t i = k % o->total;
    double a = now();
    int rc = o->fn(o->u, i, &p);
    double e = now() - a;
    if (rc) die("single-row call %zu", k);
    t[k] = e;
    sum += e;
    if (o->ref && i < o->nref) {
      checked++;
      if (memcmp(&p, &o->ref[i], sizeof p) != 0) mismatch++;
    }
  }
  long delta = mem_delta(&mw);
  qsort(t, calls, sizeof *t, cmp_d);
  json_t *j = json_object();
  json_object_set_new(j, "calls", json_integer((json_int_t)calls));
  json_object_set_new(j, "p50_us", json_real(1e6 * pct(t, calls, 0.50)));
  json_object_set_new(j, "p90_us", json_real(1e6 * pct(t, calls, 0.90)));
  json_object_set_new(j, "p99_us", json_real(1e6 * pct(t, calls, 0.99)));
  json_object_set_new(j, "p999_us", json_real(1e6 * pct(t, calls, 0.999)));
  json_object_set_new(j, "max_us", json_real(1e6 * t[calls - 1]));
  json_object_set_new(j, "mean_us", json_real(1e6 * sum / (double)calls));
  json_object_set_new(j, "checked_against_batch", json_integer((json_int_t)checked));
  json_object_set_new(j, "mismatches", json_integer((json_int_t)mismatch));
  json_object_set_new(j, "peak_rss_above_start_kb", delta >= 0 ? json_integer(delta) : json_null());
  free(t);
  return j;
}

/* ---- phase: setup ------------------------------------------------------------------------------ */

static int phase_setup(json_t *res) {
  char p[640];
  prop_demo_options dopt;
  prop_demo_options_default(&dopt);
  dopt.months = 5; /* history.csv of `propensity gen`: months 1..5, 4000 customers a month, seed 42 */
  path_in(p, sizeof p, "history.csv");
  if (prop_demo_write_csv(p, &dopt)) die("writing %s", p);

  static const char *const dn[] = {"accepted", "customer_id", "installment_amount"};
  static const prop_coltype dt[] = {PROP_COL_TARGET, PROP_COL_ID, PROP_COL_IGNORE};
  prop_csv_options copt;
  prop_csv_options_default(&copt);
  copt.declared_names = dn;
  copt.declared_types = dt;
  copt.n_declared = 3;
  prop_frame *f = NULL;
  if (prop_frame_read_csv(p, &copt, &f)) die("reading %s", p);
  prop_recipe *r = NULL;
  if (G.recipe_path ? prop_recipe_load(G.recipe_path, &r) : prop_recipe_default(&r)) die("loading the recipe");
  prop_train_options topt;
  prop_train_options_default(&topt);
  static const char *const ign[] = {"installment_amount"};
  topt.target = "accepted";
  topt.id = "customer_id";
  topt.ignore = ign;
  topt.n_ignore = 1;
  topt.connected = "connected";
  topt.time_col = "month";
  topt.nthread = G.threads;
  prop_model *m = NULL;
  double t0 = now();
  if (prop_model_train(f, r, &topt, &m)) die("training the pipeline");
  double t_train = now() - t0;
  path_in(p, sizeof p, "model.bin");
  if (prop_model_save(m, p)) die("saving %s", p);
  struct stat st;
  json_object_set_new(res, "model_bytes", json_integer(stat(p, &st) == 0 ? (json_int_t)st.st_size : -1));
  json_object_set_new(res, "train_rows", json_integer((json_int_t)prop_frame_n_rows(f)));
  json_object_set_new(res, "pipeline_fit_seconds", json_real(t_train));
  json_object_set_new(res, "inputs", json_integer((json_int_t)prop_model_n_inputs(m)));
  json_object_set_new(res, "encoded_width", json_integer((json_int_t)m->width));
  json_t *sel = json_array();
  for (size_t j = 0; j < m->nmem; j++) {
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(m->mem[j].ops->name));
    json_object_set_new(e, "weight", json_real(m->vote->weight[j]));
    json_array_append_new(sel, e);
  }
  json_object_set_new(res, "pipeline_members", sel);
  note("setup: pipeline trained in %.2f s on %zu rows (%zu members)", t_train, prop_frame_n_rows(f), m->nmem);

  /* every member of the recipe alone, on the pipeline's encoding of the same rows */
  size_t n = prop_frame_n_rows(f), nf = m->schema->nfeat, w = m->width;
  pp_binding *b = NULL;
  if (pp_binding_create(m->schema, f, &b)) die("binding the history");
  double *raw = xmalloc(n * nf * sizeof *raw);
  float *X = xmalloc(n * w * sizeof *X), *y = xmalloc(n * sizeof *y);
  int *yi = xmalloc(n * sizeof *yi);
  pp_binding_rows(b, 0, n, raw, NULL);
  pp_encoder_transform(m->enc, raw, n, nf, X);
  if (prop_frame_binary_values(f, "accepted", NULL, yi)) die("labels");
  for (size_t i = 0; i < n; i++) y[i] = (float)yi[i];
  json_t *fits = json_object();
  for (size_t k = 0; k < r->nmembers; k++) {
    const pp_member_spec *sp = &r->members[k];
    pp_ctx ctx;
    pp_ctx_init(&ctx, &topt, r->seed);
    ctx.log = NULL;
    ctx.progress = NULL;
    pp_dataset tr = {X, n, w, y, NULL, pp_encoder_colnames(m->enc), r->imbalance};
    void *model = NULL;
    t0 = now();
    if (sp->ops->fit(sp->params, &tr, NULL, &ctx, &model)) die("fitting member %s", sp->ops->name);
    double tf = now() - t0;
    pp_buf buf;
    pp_buf_init(&buf);
    if (sp->ops->save(model, &buf)) die("saving member %s", sp->ops->name);
    char name[96];
    snprintf(name, sizeof name, "member_%s.bin", sp->ops->name);
    path_in(p, sizeof p, name);
    write_bytes(p, buf.data, buf.len);
    json_t *e = json_object();
    json_object_set_new(e, "fit_seconds", json_real(tf));
    json_object_set_new(e, "model_bytes", json_integer((json_int_t)buf.len));
    json_object_set_new(fits, sp->ops->name, e);
    note("setup: member %-14s fitted in %6.2f s (%zu bytes)", sp->ops->name, tf, buf.len);
    pp_buf_free(&buf);
    sp->ops->free_model(model);
  }
  json_object_set_new(res, "members_alone", fits);
  pp_binding_free(b);
  free(raw);
  free(X);
  free(y);
  free(yi);
  prop_frame_free(f);

  /* the rows to score: the call list of month 7, max_rows customers */
  prop_demo_options_default(&dopt);
  dopt.customers_per_month = G.max_rows;
  dopt.months = 1;
  dopt.first_month = 7;
  dopt.with_outcomes = 0;
  path_in(p, sizeof p, "calllist.csv");
  t0 = now();
  if (prop_demo_write_csv(p, &dopt)) die("writing %s", p);
  prop_reader *rd = NULL;
  if (prop_reader_open_for_model(p, m, NULL, &rd)) die("opening %s", p);
  double *all = xmalloc(G.max_rows * nf * sizeof *all);
  int *stt = xmalloc(65536 * sizeof *stt);
  size_t got = 0;
  for (;;) {
    prop_frame *chunk = NULL;
    if (prop_reader_next(rd, 65536, &chunk)) die("reading %s", p);
    if (!chunk) break;
    size_t cn = prop_frame_n_rows(chunk);
    if (got + cn > G.max_rows) die("%s: more rows than written", p);
    pp_binding *cb = NULL;
    if (pp_binding_create(m->schema, chunk, &cb)) die("binding %s", p);
    pp_binding_rows(cb, 0, cn, all + got * nf, stt);
    for (size_t i = 0; i < cn; i++)
      if (stt[i]) die("%s: row %zu cannot be scored", p, got + i + 1);
    got += cn;
    pp_binding_free(cb);
    prop_frame_free(chunk);
  }
  prop_reader_free(rd);
  remove(p);
  path_in(p, sizeof p, "raw.bin");
  FILE *fo = fopen(p, "wb");
  uint64_t hdr[2] = {got, nf};
  if (!fo || fwrite(hdr, sizeof hdr, 1, fo) != 1 || fwrite(all, sizeof(double), got * nf, fo) != got * nf ||
      fclose(fo) != 0)
    die("writing %s", p);
  note("setup: %zu call-list rows of month 7 generated and read in %.1f s", got, now() - t0);
  json_object_set_new(res, "score_rows", json_integer((json_int_t)got));
  free(all);
  free(stt);
  prop_model_free(m);
  prop_recipe_free(r);
  return 0;
}

/* ---- phase: pipeline ---------------------------------------------------------------------------- */

typedef struct pipe_ctx {
  const data *D;
  double *prob;
  int *band;
  size_t block_rows;
  prop_scorer *sc;
} pipe_ctx;

static int pipe_batch(void *u, size_t row0, size_t n, int nthread) {
  pipe_ctx *c = u;
  prop_predict_options o;
  prop_predict_options_default(&o);
  o.nthread = nthread;
  o.block_rows = c->block_rows;
  return prop_model_predict_dense(c->D->m, c->D->raw + row0 * c->D->nfeat, PROP_FLOAT64, n, c->D->nfeat,
                                  c->D->nfeat, c->prob + row0, c->band + row0, NULL, &o);
}

static int pipe_one(void *u, size_t i, double *p) {
  pipe_ctx *c = u;
  int band;
  return prop_scorer_score(c->sc, c->D->raw + i * c->D->nfeat, p, &band);
}

static int phase_pipeline(json_t *res) {
  data D;
  data_load(&D, 0);
  json_object_set_new(res, "baseline_rss_kb", json_integer(status_kb("VmRSS")));
  pipe_ctx c = {&D, xmalloc(D.n * sizeof(double)), xmalloc(D.n * sizeof(int)), 0, NULL};
  op o = {pipe_batch, &c, D.n};
  json_object_set_new(res, "throughput", throughput(&o, "pipeline"));
  /* reference: every row's batch result with the default options */
  if (pipe_batch(&c, 0, D.n, G.threads)) die("pipeline batch");
  json_object_set_new(res, "output_fnv1a", fnv1a(c.prob, D.n * sizeof(double)));
  if (prop_scorer_create(D.m, &c.sc)) die("scorer");
  one s = {pipe_one, &c, D.n, c.prob, D.n};
  json_t *lat = latency(&s, G.calls);
  note("  pipeline latency p50 %.1f us  p99 %.1f us  p999 %.1f us", json_real_value(json_object_get(lat, "p50_us")),
       json_real_value(json_object_get(lat, "p99_us")), json_real_value(json_object_get(lat, "p999_us")));
  json_object_set_new(res, "latency", lat);
  /* the members' share of one scorer call: each selected member alone on one encoded row */
  json_t *parts = json_array();
  float *x1 = xmalloc(D.width * sizeof(float));
  for (size_t j = 0; j < D.m->nmem; j++) {
    const pp_fitted_member *fm = &D.m->mem[j];
    size_t sb = fm->ops->scratch_bytes ? fm->ops->scratch_bytes(fm->model, 1) : 0;
    void *scr = sb ? xmalloc(sb) : NULL;
    double *t = xmalloc(G.calls * sizeof *t);
    for (size_t k = 0; k < G.calls + WARM_CALLS; k++) {
      pp_encoder_transform(D.m->enc, D.raw + (k % D.n) * D.nfeat, 1, D.nfeat, x1);
      double p, a = now();
      if (fm->ops->predict(fm->model, x1, 1, &p, scr, 1)) die("member predict");
      if (k >= WARM_CALLS) t[k - WARM_CALLS] = now() - a;
    }
    qsort(t, G.calls, sizeof *t, cmp_d);
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(fm->ops->name));
    json_object_set_new(e, "p50_us", json_real(1e6 * pct(t, G.calls, 0.5)));
    json_object_set_new(e, "p99_us", json_real(1e6 * pct(t, G.calls, 0.99)));
    json_array_append_new(parts, e);
    free(t);
    free(scr);
  }
  free(x1);
  json_object_set_new(res, "latency_members_in_model", parts);
  prop_scorer_free(c.sc);
  free(c.prob);
  free(c.band);
  data_free(&D);
  return 0;
}

/* ---- phase: reasons ---------------------------------------------------------------------------------- */

#define N_REASONS 3

typedef struct reasons_ctx {
  const data *D;
  double *contrib; /* n x nfeat */
  prop_reason *rs;  /* n x N_REASONS */
  size_t *nr;
  prop_scorer *sc;
} reasons_ctx;

/* Rows' three reasons: the contributions in one call, then each row's top three. */
static int reasons_batch(void *u, size_t row0, size_t n, int nthread) {
  reasons_ctx *c = u;
  const size_t nf = c->D->nfeat;
  prop_predict_options o;
  prop_predict_options_default(&o);
  o.nthread = nthread;
  int rc = prop_model_contributions_dense(c->D->m, c->D->raw + row0 * nf, PROP_FLOAT64, n, nf, nf,
                                          c->contrib + row0 * nf, NULL, NULL, &o);
  for (size_t i = row0; !rc && i < row0 + n; i++)
    rc = prop_model_reasons(c->D->m, c->contrib + i * nf, c->D->raw + i * nf, N_REASONS, c->rs + i * N_REASONS,
                            &c->nr[i]);
  return rc;
}

/* One customer's three reasons; *p gets the top one's contribution (0 when none). */
static int reasons_one(void *u, size_t i, double *p) {
  reasons_ctx *c = u;
  prop_reason r[N_REASONS];
  size_t n = 0;
  double prob;
  int band;
  int rc = prop_scorer_reasons(c->sc, c->D->raw + i * c->D->nfeat, N_REASONS, r, &n, &prob, &band);
  *p = n ? r[0].contribution : 0.0;
  return rc;
}

/* Each member's contributions of one encoded row at a time: p50 and p99 over calls rows. */
static json_t *reasons_members(const data *D, size_t calls) {
  json_t *parts = json_array();
  float *x1 = xmalloc(D->width * sizeof(float));
  double *phi = xmalloc(D->width * sizeof(double)), base;
  for (size_t j = 0; j < D->m->nmem; j++) {
    const pp_fitted_member *fm = &D->m->mem[j];
    void *scr = xmalloc(fm->ops->contrib_scratch(fm->model, 1));
    double *t = xmalloc(calls * sizeof *t);
    for (size_t k = 0; k < calls + 20; k++) {
      pp_encoder_transform(D->m->enc, D->raw + (k % D->n) * D->nfeat, 1, D->nfeat, x1);
      double a = now();
      if (fm->ops->contrib(fm->model, x1, 1, NULL, 0, phi, &base, scr)) die("member contributions");
      if (k >= 20) t[k - 20] = now() - a;
    }
    qsort(t, calls, sizeof *t, cmp_d);
    json_t *e = json_object();
    json_object_set_new(e, "name", json_string(fm->ops->name));
    json_object_set_new(e, "p50_us", json_real(1e6 * pct(t, calls, 0.5)));
    json_object_set_new(e, "p99_us", json_real(1e6 * pct(t, calls, 0.99)));
    note("  contributions of %-14s one row p50 %9.1f us  p99 %9.1f us", fm->ops->name, 1e6 * pct(t, calls, 0.5),
         1e6 * pct(t, calls, 0.99));
    json_array_append_new(parts, e);
    free(t);
    free(scr);
  }
  free(x1);
  free(phi);
  return parts;
}

static int phase_reasons(json_t *res) {
  data D;
  data_load(&D, 0);
  json_object_set_new(res, "baseline_rss_kb", json_integer(status_kb("VmRSS")));
  const size_t n = D.n < G.reasons_rows ? D.n : G.reasons_rows;
  reasons_ctx c = {&D, xmalloc(n * D.nfeat * sizeof(double)), xmalloc(n * N_REASONS * sizeof(prop_reason)),
                   xmalloc(n * sizeof(size_t)), NULL};
  op o = {reasons_batch, &c, n};
  json_t *arr = json_array();
  const size_t sizes[2] = {1, n};
  int th[2] = {G.threads, 1};
  for (int s = 0; s < 2; s++)
    for (int k = 0; k < (G.threads > 1 ? 2 : 1); k++) {
      double rate;
      json_array_append_new(arr, measure(&o, sizes[s], th[k], &rate));
      note("  %-28s %8zu rows  %d thr  %12.0f rows/s", "reasons (3 per row)", sizes[s], th[k], rate);
    }
  json_object_set_new(res, "throughput", arr);
  if (reasons_batch(&c, 0, n, G.threads)) die("reasons batch");
  double *top = xmalloc(n * sizeof *top);
  for (size_t i = 0; i < n; i++) top[i] = c.nr[i] ? c.rs[i * N_REASONS].contribution : 0.0;
  json_object_set_new(res, "contributions_fnv1a", fnv1a(c.contrib, n * D.nfeat * sizeof(double)));
  if (prop_scorer_create(D.m, &c.sc)) die("scorer");
  one s1 = {reasons_one, &c, n, top, n};
  json_t *lat = latency(&s1, G.reasons_calls);
  note("  reasons latency p50 %.1f us  p99 %.1f us  p999 %.1f us", json_real_value(json_object_get(lat, "p50_us")),
       json_real_value(json_object_get(lat, "p99_us")), json_real_value(json_object_get(lat, "p999_us")));
  json_object_set_new(res, "latency", lat);
  json_object_set_new(res, "latency_members_in_model", reasons_members(&D, G.reasons_calls / 4 + 1));
  prop_scorer_free(c.sc);
  free(top);
  free(c.contrib);
  free(c.rs);
  free(c.nr);
  data_free(&D);
  return 0;
}

/* ---- phase: one member alone ------------------------------------------------------------------------ */

typedef struct mem_ctx {
  const pp_member_ops *ops;
  const void *model;
  const data *D;
  double *out;
  void *scratch;
  size_t block; /* split phase */
} mem_ctx;

static int mem_batch(void *u, size_t row0, size_t n, int nthread) {
  mem_ctx *c = u;
  return c->ops->predict(c->model, c->D->X + row0 * c->D->width, n, c->out + row0, NULL, nthread);
}

static int mem_one(void *u, size_t i, double *p) {
  mem_ctx *c = u;
  return c->ops->predict(c->model, c->D->X + i * c->D->width, 1, p, c->scratch, 1);
}

static int phase_member(const char *name, json_t *res) {
  const pp_member_ops *ops = pp_member_find(name);
  if (!ops) die("unknown member %s", name);
  data D;
  data_load(&D, 1);
  void *model = member_load(ops, D.width);
  json_object_set_new(res, "name", json_string(name));
  json_object_set_new(res, "baseline_rss_kb", json_integer(status_kb("VmRSS")));
  mem_ctx c = {ops, model, &D, xmalloc(D.n * sizeof(double)), NULL, 0};
  size_t sb = ops->scratch_bytes ? ops->scratch_bytes(model, 1) : 0;
  c.scratch = sb ? xmalloc(sb) : NULL;
  op o = {mem_batch, &c, D.n};
  json_object_set_new(res, "throughput", throughput(&o, name));
  if (mem_batch(&c, 0, D.n, G.threads)) die("%s batch", name);
  json_object_set_new(res, "output_fnv1a", fnv1a(c.out, D.n * sizeof(double)));
  size_t nref = D.n;
  one s = {mem_one, &c, D.n, c.out, nref};
  json_t *lat = latency(&s, G.calls);
  note("  %s latency p50 %.2f us  p99 %.2f us  p999 %.2f us", name, json_real_value(json_object_get(lat, "p50_us")),
       json_real_value(json_object_get(lat, "p99_us")), json_real_value(json_object_get(lat, "p999_us")));
  /* every row one at a time against the batch, when that takes under ~10 s */
  if (json_real_value(json_object_get(lat, "mean_us")) * 1e-6 * (double)D.n < 10.0) {
    size_t bad = 0;
    for (size_t i = 0; i < D.n; i++) {
      double p;
      if (mem_one(&c, i, &p)) die("%s single row", name);
      bad += memcmp(&p, &c.out[i], sizeof p) != 0;
    }
    json_object_set_new(lat, "all_rows_checked", json_integer((json_int_t)D.n));
    json_object_set_new(lat, "all_rows_mismatches", json_integer((json_int_t)bad));
    note("  %s: %zu of %zu rows differ between single-row and batch calls", name, bad, D.n);
  }
  json_object_set_new(res, "latency", lat);
  free(c.scratch);
  free(c.out);
  ops->free_model(model);
  data_free(&D);
  return 0;
}

/* ---- phase: XGBoost's own prediction ------------------------------------------------------------------- */

typedef struct xgb_ctx {
  BoosterHandle h;
  const data *D;
  float *out;
  int cur_nthread;
  double t_create, t_pred; /* accumulated */
} xgb_ctx;

static void xgb_die(const char *what) { die("%s: %s", what, XGBGetLastError()); }

static int xgb_native(void *u, size_t row0, size_t n, int nthread) {
  xgb_ctx *c = u;
  if (nthread != c->cur_nthread) {
    char s[16];
    snprintf(s, sizeof s, "%d", nthread);
    if (XGBoosterSetParam(c->h, "nthread", s)) xgb_die("nthread");
    c->cur_nthread = nthread;
  }
  char ai[256], cfg[64];
  snprintf(ai, sizeof ai, "{\"data\":[%ju,true],\"shape\":[%zu,%zu],\"typestr\":\"<f4\",\"version\":3}",
           (uintmax_t)(uintptr_t)(c->D->X + row0 * c->D->width), n, c->D->width);
  snprintf(cfg, sizeof cfg, "{\"missing\":NaN,\"nthread\":%d}", nthread);
  static const char pcfg[] =
      "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,\"strict_shape\":false}";
  DMatrixHandle dm;
  double a = now();
  if (XGDMatrixCreateFromDense(ai, cfg, &dm)) xgb_die("DMatrix");
  double b = now();
  const bst_ulong *shape;
  bst_ulong dim;
  const float *r;
  if (XGBoosterPredictFromDMatrix(c->h, dm, pcfg, &shape, &dim, &r)) xgb_die("PredictFromDMatrix");
  memcpy(c->out + row0, r, n * sizeof(float));
  XGDMatrixFree(dm);
  c->t_create += b - a;
  c->t_pred += now() - b;
  return 0;
}

static int xgb_native_one(void *u, size_t i, double *p) {
  xgb_ctx *c = u;
  xgb_native(c, i, 1, 1);
  *p = (double)c->out[i];
  return 0;
}

static int phase_xgb_native(json_t *res) {
  data D;
  data_load(&D, 1);
  const pp_member_ops *ops = &pp_xgb_ops;
  void *model = member_load(ops, D.width);
  /* the member's bytes: our header (57 bytes, JSON length last), then XGBoost's JSON model */
  pp_buf b;
  pp_buf_init(&b);
  if (ops->save(model, &b)) die("saving xgboost");
  pp_rd rd;
  pp_rd_init(&rd, b.data, b.len, "xgboost");
  uint32_t u32;
  uint64_t u64;
  double f64;
  uint8_t u8;
  int bad = pp_get_u32(&rd, &u32) || pp_get_u64(&rd, &u64);
  for (int k = 0; k < 4; k++) bad |= pp_get_u32(&rd, &u32);
  bad |= pp_get_f64(&rd, &f64) || pp_get_u8(&rd, &u8) || pp_get_f64(&rd, &f64) || pp_get_u32(&rd, &u32) ||
         pp_get_u64(&rd, &u64);
  if (bad || u64 != b.len - rd.pos) die("unexpected xgboost member bytes");
  xgb_ctx c = {NULL, &D, xmalloc(D.n * sizeof(float)), 0, 0, 0};
  if (XGBoosterCreate(NULL, 0, &c.h) || XGBoosterLoadModelFromBuffer(c.h, b.data + rd.pos, (bst_ulong)u64) ||
      XGBoosterSetParam(c.h, "verbosity", "0"))
    xgb_die("loading the booster");
  json_object_set_new(res, "baseline_rss_kb", json_integer(status_kb("VmRSS")));
  op o = {xgb_native, &c, D.n};
  json_t *tp = throughput(&o, "xgboost native (DMatrix)");
  json_object_set_new(res, "throughput", tp);
  /* share of DMatrix creation in the 1M-row (or largest) runs is reported once, separately */
  double tcr[3], tpr[3];
  for (int k = 0; k < 3; k++) {
    c.t_create = c.t_pred = 0;
    xgb_native(&c, 0, D.n, G.threads);
    tcr[k] = c.t_create;
    tpr[k] = c.t_pred;
  }
  qsort(tcr, 3, sizeof *tcr, cmp_d);
  qsort(tpr, 3, sizeof *tpr, cmp_d);
  json_object_set_new(res, "all_rows_create_seconds", json_real(tcr[1]));
  json_object_set_new(res, "all_rows_predict_seconds", json_real(tpr[1]));
  /* the member's result on the same rows must match XGBoost's float output exactly */
  double *mo = xmalloc(D.n * sizeof *mo);
  if (ops->predict(model, D.X, D.n, mo, NULL, G.threads)) die("xgboost member predict");
  double maxdiff = 0;
  for (size_t i = 0; i < D.n; i++) maxdiff = fmax(maxdiff, fabs(mo[i] - (double)c.out[i]));
  json_object_set_new(res, "max_abs_diff_member_vs_native", json_real(maxdiff));
  note("  xgboost native: max |member - DMatrix predict| = %g over %zu rows", maxdiff, D.n);
  one s = {xgb_native_one, &c, D.n, mo, D.n};
  json_t *lat = latency(&s, G.calls);
  json_object_set_new(res, "latency", lat);
  free(mo);
  XGBoosterFree(c.h);
  free(c.out);
  pp_buf_free(&b);
  ops->free_model(model);
  data_free(&D);
  return 0;
}

/* ---- phase: how batch rows are split among threads ------------------------------------------------------ */

/* score.c's scheme: an OpenMP loop over blocks, the member on one thread per block. */
static int mem_omp_blocks(void *u, size_t row0, size_t n, int nthread) {
  mem_ctx *c = u;
  size_t B = c->block, nb = (n + B - 1) / B;
  int rc = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthread) if (nthread > 1)
  for (size_t k = 0; k < nb; k++) {
    size_t r0 = row0 + k * B, m = n - k * B < B ? n - k * B : B;
    int e = c->ops->predict(c->model, c->D->X + r0 * c->D->width, m, c->out + r0, NULL, 1);
    if (e) {
#pragma omp atomic write
      rc = e;
    }
  }
  return rc;
}

/* One member call with all threads per block of c->block rows, blocks in turn. */
static int mem_seq_blocks(void *u, size_t row0, size_t n, int nthread) {
  mem_ctx *c = u;
  for (size_t k = 0; k < n; k += c->block) {
    size_t m = n - k < c->block ? n - k : c->block;
    PP_TRY(c->ops->predict(c->model, c->D->X + (row0 + k) * c->D->width, m, c->out + row0 + k, NULL, nthread));
  }
  return 0;
}

static int phase_split(json_t *res) {
  data D;
  data_load(&D, 1);
  json_t *arr = json_array();
  static const char *const who[] = {"xgboost", "random_forest"};
  static const size_t blocks[] = {2048, 16384, 65536, 0};
  for (size_t w = 0; w < 2; w++) {
    const pp_member_ops *ops = pp_member_find(who[w]);
    void *model = member_load(ops, D.width);
    mem_ctx c = {ops, model, &D, xmalloc(D.n * sizeof(double)), NULL, 2048};
    double *ref = xmalloc(D.n * sizeof *ref);
    if (ops->predict(model, D.X, D.n, ref, NULL, G.threads)) die("predict");
    for (int scheme = 0; scheme < 5; scheme++) {
      op o;
      char label[96];
      if (scheme == 0) {
        c.block = 2048;
        o = (op){mem_omp_blocks, &c, D.n};
        snprintf(label, sizeof label, "OpenMP loop over 2048-row blocks, member nthread 1");
      } else {
        c.block = blocks[scheme - 1] ? blocks[scheme - 1] : D.n;
        o = (op){mem_seq_blocks, &c, D.n};
        if (blocks[scheme - 1])
          snprintf(label, sizeof label, "blocks of %zu rows in turn, member nthread %d", c.block, G.threads);
        else
          snprintf(label, sizeof label, "one call on all rows, member nthread %d", G.threads);
      }
      double rate;
      json_t *m = measure(&o, D.n, G.threads, &rate);
      int same = memcmp(c.out, ref, D.n * sizeof *ref) == 0;
      json_object_set_new(m, "what", json_string(who[w]));
      json_object_set_new(m, "scheme", json_string(label));
      json_object_set_new(m, "identical_to_one_call", json_boolean(same));
      json_array_append_new(arr, m);
      note("  split %-14s %-52s %10.0f rows/s%s", who[w], label, rate, same ? "" : "  (DIFFERS)");
    }
    free(ref);
    free(c.out);
    ops->free_model(model);
  }
  /* the pipeline's block size */
  pipe_ctx pc = {&D, xmalloc(D.n * sizeof(double)), xmalloc(D.n * sizeof(int)), 0, NULL};
  static const size_t pblocks[] = {256, 1024, 2048, 8192, 65536};
  for (size_t k = 0; k < sizeof pblocks / sizeof pblocks[0]; k++) {
    pc.block_rows = pblocks[k];
    op o = {pipe_batch, &pc, D.n};
    double rate;
    json_t *m = measure(&o, D.n, G.threads, &rate);
    char label[96];
    snprintf(label, sizeof label, "prop_model_predict_dense, block_rows %zu", pblocks[k]);
    json_object_set_new(m, "what", json_string("pipeline"));
    json_object_set_new(m, "scheme", json_string(label));
    json_array_append_new(arr, m);
    note("  split pipeline       %-52s %10.0f rows/s", label, rate);
  }
  free(pc.prob);
  free(pc.band);
  json_object_set_new(res, "schemes", arr);
  data_free(&D);
  return 0;
}

/* ---- children ------------------------------------------------------------------------------------------ */

static json_t *run_child(const char *phase, const char *arg) {
  char name[128], out[640];
  snprintf(name, sizeof name, "result_%s%s%s.json", phase, arg ? "_" : "", arg ? arg : "");
  path_in(out, sizeof out, name);
  remove(out);
  double busy = G.quiet_wait > 0 ? wait_quiet() : cpu_busy(0.5);
  if (busy > 0.05) note("the CPUs were %.0f%% busy before phase %s: timings may suffer", 100 * busy, phase);
  fflush(stdout);
  fflush(stderr);
  double t0 = now();
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    json_t *res = json_object();
    json_object_set_new(res, "phase", json_string(phase));
    long rss_start = status_kb("VmRSS");
    int rc;
    if (strcmp(phase, "setup") == 0) rc = phase_setup(res);
    else if (strcmp(phase, "pipeline") == 0) rc = phase_pipeline(res);
    else if (strcmp(phase, "reasons") == 0) rc = phase_reasons(res);
    else if (strcmp(phase, "member") == 0) rc = phase_member(arg, res);
    else if (strcmp(phase, "xgboost_native") == 0) rc = phase_xgb_native(res);
    else rc = phase_split(res);
    json_object_set_new(res, "rss_at_start_kb", json_integer(rss_start));
    json_object_set_new(res, "peak_rss_kb", json_integer(status_kb("VmHWM")));
    json_to_file(res, out);
    json_decref(res);
    fflush(stdout);
    fflush(stderr);
    _exit(rc ? 1 : 0);
  }
  int st = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  if (wait4(pid, &st, 0, &ru) < 0) die("wait4: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("phase %s %s failed", phase, arg ? arg : "");
  json_t *res = json_from_file(out);
  json_object_set_new(res, "child_max_rss_kb", json_integer(ru.ru_maxrss));
  json_object_set_new(res, "cpu_busy_before", json_real(busy));
  json_object_set_new(res, "wall_seconds", json_real(now() - t0));
  return res;
}

/* ---- report ------------------------------------------------------------------------------------------ */

static double jnum(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static void fmt_rate(char *b, size_t cap, double r) {
  if (!(r == r)) snprintf(b, cap, "-");
  else if (r >= 1e6) snprintf(b, cap, "%.2fM", r / 1e6);
  else if (r >= 1e3) snprintf(b, cap, "%.1fk", r / 1e3);
  else snprintf(b, cap, "%.0f", r);
}

static void print_rates(const char *what, const json_t *tp) {
  int th[2] = {G.threads, 1};
  int nth = G.threads > 1 ? 2 : 1;
  for (int k = 0; k < nth; k++) {
    printf("  %-40s %3d", k == 0 ? what : "", th[k]);
    for (size_t s = 0; s < N_SIZES; s++) {
      double r = NAN;
      size_t i;
      json_t *e;
      json_array_foreach(tp, i, e) if ((size_t)jnum(e, "rows") == k_sizes[s] && (int)jnum(e, "threads") == th[k]) r =
          jnum(e, "rows_per_second");
      char b[32];
      fmt_rate(b, sizeof b, r);
      printf(" %11s", b);
    }
    printf("\n");
  }
}

static void print_latency(const char *what, const json_t *l) {
  if (!l) return;
  printf("  %-40s %7.0f %8.2f %8.2f %8.2f %9.2f %8.2f  %s\n", what, jnum(l, "calls"), jnum(l, "p50_us"),
         jnum(l, "p99_us"), jnum(l, "p999_us"), jnum(l, "max_us"), jnum(l, "mean_us"),
         jnum(l, "checked_against_batch") > 0 ? (jnum(l, "mismatches") == 0 ? "yes" : "NO") : "-");
}

/* Peak above start of the largest batch at G.threads threads, kB. */
static double batch_peak_delta(const json_t *tp) {
  double best = NAN, rows = 0;
  size_t i;
  json_t *e;
  json_array_foreach(tp, i, e) if ((int)jnum(e, "threads") == G.threads && jnum(e, "rows") >= rows) {
    rows = jnum(e, "rows");
    best = jnum(e, "peak_rss_above_start_kb");
  }
  return best;
}

static void fmt_num(char *b, size_t cap, double v, int prec) {
  if (v == v) snprintf(b, cap, "%.*f", prec, v);
  else snprintf(b, cap, "-");
}

static void print_mem(const char *what, const json_t *r) {
  const json_t *tp = json_object_get(r, "throughput");
  const json_t *l = json_object_get(r, "latency");
  char a[32], b[32], c[32], d[32], e[32], f[32];
  fmt_num(a, sizeof a, jnum(r, "child_max_rss_kb") / 1024.0, 1);
  fmt_num(b, sizeof b, jnum(r, "baseline_rss_kb") / 1024.0, 1);
  fmt_num(c, sizeof c, tp ? batch_peak_delta(tp) / 1024.0 : NAN, 1);
  fmt_num(d, sizeof d, l ? jnum(l, "peak_rss_above_start_kb") / 1024.0 : NAN, 2);
  fmt_num(e, sizeof e, jnum(r, "wall_seconds"), 1);
  fmt_num(f, sizeof f, 100 * jnum(r, "cpu_busy_before"), 0);
  printf("  %-34s %9s %10s %12s %12s %10s %8s\n", what, a, b, c, d, e, f);
}

static void report(json_t *all) {
  const json_t *mach = json_object_get(all, "machine"), *setup = json_object_get(all, "setup");
  printf("\nbench_speed: libpropensity %s, XGBoost %s, %s\n", prop_version(),
         json_string_value(json_object_get(mach, "xgboost")), json_string_value(json_object_get(mach, "compiler")));
  printf("machine: %s, %d cores online, L2 %s, L3 %s, %.0f MiB RAM, %s\n",
         json_string_value(json_object_get(mach, "cpu")), (int)jnum(mach, "cores_online"),
         json_string_value(json_object_get(mach, "cache_l2")) ? json_string_value(json_object_get(mach, "cache_l2")) : "?",
         json_string_value(json_object_get(mach, "cache_l3")) ? json_string_value(json_object_get(mach, "cache_l3")) : "?",
         jnum(mach, "memory_mb"), json_string_value(json_object_get(mach, "kernel")));
  printf("data: demo history (months 1-5, %.0f rows, seed 42) to train; call list of month 7 (%.0f rows) to score; "
         "%.0f inputs, %.0f encoded columns\n",
         jnum(setup, "train_rows"), jnum(setup, "score_rows"), jnum(setup, "inputs"), jnum(setup, "encoded_width"));
  printf("pipeline: fitted in %.2f s; members", jnum(setup, "pipeline_fit_seconds"));
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(setup, "pipeline_members"), i, e) printf(" %s (%.3f)",
                                                                             json_string_value(json_object_get(e, "name")),
                                                                             jnum(e, "weight"));
  printf("; model file %.0f bytes\n", jnum(setup, "model_bytes"));
  const json_t *l0 = json_object_get(all, "load_average_start"), *l1 = json_object_get(all, "load_average_end");
  printf("load average (1 min) at start %.2f, at end %.2f: other processes disturb the timings when it exceeds ~0.2\n",
         json_number_value(json_array_get(l0, 0)), json_number_value(json_array_get(l1, 0)));
  printf("runs: median of %d (3 when a run takes over %.0f s), each run >= %.0f ms; %zu latency calls\n", G.runs,
         SLOW_RUN_S, MIN_RUN_S * 1e3, G.calls);

  const json_t *pipe = json_object_get(all, "pipeline"), *nat = json_object_get(all, "xgboost_native");
  const json_t *mems = json_object_get(all, "members"), *split = json_object_get(all, "split");

  printf("\nScoring throughput, rows/s (median run)       thr       1 row     1k rows   100k rows     1M rows\n");
  if (pipe) print_rates("pipeline: prop_model_predict_dense", json_object_get(pipe, "throughput"));
  json_array_foreach(mems, i, e) {
    char w[64];
    snprintf(w, sizeof w, "member %s", json_string_value(json_object_get(e, "name")));
    print_rates(w, json_object_get(e, "throughput"));
    if (nat && strcmp(json_string_value(json_object_get(e, "name")), "xgboost") == 0)
      print_rates("XGBoost's own: DMatrix + PredictFromDMatrix", json_object_get(nat, "throughput"));
  }
  if (nat && !mems) print_rates("XGBoost's own: DMatrix + PredictFromDMatrix", json_object_get(nat, "throughput"));
  if (nat)
    printf("  (XGBoost's own on all rows, %d threads, median of 3: DMatrix creation %.3f s + prediction %.3f s;\n"
           "   max |member - XGBoost| = %g)\n",
           G.threads,
           jnum(nat, "all_rows_create_seconds"), jnum(nat, "all_rows_predict_seconds"),
           jnum(nat, "max_abs_diff_member_vs_native"));

  printf("\nSingle-row latency, us (one thread)            calls      p50      p99     p999       max     mean  "
         "=batch\n");
  if (pipe) print_latency("pipeline: prop_scorer_score", json_object_get(pipe, "latency"));
  if (pipe) {
    json_array_foreach(json_object_get(pipe, "latency_members_in_model"), i, e) printf(
        "    of which %-30s         %8.2f %8.2f\n", json_string_value(json_object_get(e, "name")), jnum(e, "p50_us"),
        jnum(e, "p99_us"));
  }
  json_array_foreach(mems, i, e) {
    char w[64];
    snprintf(w, sizeof w, "member %s", json_string_value(json_object_get(e, "name")));
    print_latency(w, json_object_get(e, "latency"));
  }
  if (nat) print_latency("XGBoost's own: DMatrix of 1 row + predict", json_object_get(nat, "latency"));
  if (pipe) {
    double p99 = jnum(json_object_get(pipe, "latency"), "p99_us");
    printf("  target: pipeline p99 <= 100 us: %s (%.1f us)\n", p99 <= 100.0 ? "met" : "NOT met", p99);
  }

  const json_t *rsn = json_object_get(all, "reasons");
  if (rsn) {
    printf("\nReasons (3 per customer), rows/s (median run)  thr       1 row   %6.0f rows\n", (double)G.reasons_rows);
    double best = 0;
    json_array_foreach(json_object_get(rsn, "throughput"), i, e) {
      if (jnum(e, "rows") < 2) continue;
      printf("  batch: contributions_dense + prop_model_reasons %d thr %12.0f rows/s\n", (int)jnum(e, "threads"),
             jnum(e, "rows_per_second"));
      if ((int)jnum(e, "threads") == G.threads) best = jnum(e, "rows_per_second");
    }
    print_latency("one customer: prop_scorer_reasons", json_object_get(rsn, "latency"));
    json_array_foreach(json_object_get(rsn, "latency_members_in_model"), i, e) printf(
        "    contributions of %-22s         %8.2f %8.2f\n", json_string_value(json_object_get(e, "name")),
        jnum(e, "p50_us"), jnum(e, "p99_us"));
    double p99 = jnum(json_object_get(rsn, "latency"), "p99_us");
    printf("  targets: batch >= 20,000 rows/s at %d threads: %s (%.0f); one customer p99 <= 200 us: %s (%.0f us)\n",
           G.threads, best >= 20000 ? "met" : "NOT met", best, p99 <= 200 ? "met" : "NOT met", p99);
  }

  printf("\nPeak RSS, MiB                        child peak   baseline  1M batch +   latency +    wall s  busy %%\n");
  printf("  (baseline: model + input rows loaded; \"+\": peak above the RSS before the measurement; busy: CPU use\n"
         "   by other processes just before the phase%s)\n",
         g_hwm_ok ? "" : "; VmHWM reset unavailable, so these are upper bounds");
  print_mem("setup (train + members + data)", setup);
  if (pipe) print_mem("pipeline", pipe);
  json_array_foreach(mems, i, e) {
    char w[64];
    snprintf(w, sizeof w, "member %s", json_string_value(json_object_get(e, "name")));
    print_mem(w, e);
  }
  if (nat) print_mem("XGBoost's own (DMatrix)", nat);
  if (split) print_mem("split", split);
  if (rsn) print_mem("reasons", rsn);

  if (split) {
    printf("\nBatch split at %d threads, all %.0f rows, rows/s (median run)\n", G.threads, jnum(setup, "score_rows"));
    json_array_foreach(json_object_get(split, "schemes"), i, e) {
      char b[32];
      fmt_rate(b, sizeof b, jnum(e, "rows_per_second"));
      const json_t *same = json_object_get(e, "identical_to_one_call");
      printf("  %-14s %-54s %10s%s\n", json_string_value(json_object_get(e, "what")),
             json_string_value(json_object_get(e, "scheme")), b, same && !json_is_true(same) ? "  DIFFERS" : "");
    }
  }
  fflush(stdout);
}

/* ---- main -------------------------------------------------------------------------------------------- */

static int write_calllist(const char *path, size_t rows, size_t month, uint64_t seed) {
  prop_demo_options o;
  prop_demo_options_default(&o);
  o.customers_per_month = rows;
  o.months = 1;
  o.first_month = month;
  o.seed = seed;
  o.with_outcomes = 0;
  if (prop_demo_write_csv(path, &o)) die("writing %s", path);
  return 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: bench_speed [--threads N] [--runs N] [--calls N] [--max-rows N] [--json OUT.json]\n"
          "                   [--recipe R.json] [--only pipeline,members,member:NAME,xgboost_native,split,reasons]\n"
          "                   [--reasons-rows N] [--reasons-calls N]\n"
          "                   [--work-dir DIR [--reuse 1]] [--quiet-wait SECONDS]\n"
          "       bench_speed --write-calllist OUT.csv --rows N [--month 7] [--seed 42]\n");
  exit(2);
}

static size_t num_arg(const char *s) {
  char *e = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &e, 10);
  if (errno || !e || *e || e == s) usage();
  return (size_t)v;
}

static void remove_workdir(void) {
  static const char *const files[] = {"history.csv", "model.bin", "raw.bin", "calllist.csv", NULL};
  char p[640];
  for (size_t i = 0; files[i]; i++) {
    path_in(p, sizeof p, files[i]);
    remove(p);
  }
  for (size_t i = 0; pp_member_all[i]; i++) {
    char n[96];
    snprintf(n, sizeof n, "member_%s.bin", pp_member_all[i]->name);
    path_in(p, sizeof p, n);
    remove(p);
  }
  static const char *const res[] = {"setup", "pipeline", "xgboost_native", "split", "reasons", NULL};
  for (size_t i = 0; res[i]; i++) {
    char n[96];
    snprintf(n, sizeof n, "result_%s.json", res[i]);
    path_in(p, sizeof p, n);
    remove(p);
  }
  for (size_t i = 0; pp_member_all[i]; i++) {
    char n[96];
    snprintf(n, sizeof n, "result_member_%s.json", pp_member_all[i]->name);
    path_in(p, sizeof p, n);
    remove(p);
  }
  rmdir(G.workdir);
}

int main(int argc, char **argv) {
  G.threads = 2;
  G.runs = 5;
  G.calls = 20000;
  G.max_rows = 1000000;
  G.reasons_rows = 2000;
  G.reasons_calls = 2000;
  const char *calllist = NULL, *workdir = NULL;
  size_t rows = 0, month = 7, seed = 42;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (strcmp(a, "--threads") == 0) G.threads = (int)num_arg(v);
    else if (strcmp(a, "--runs") == 0) G.runs = (int)num_arg(v);
    else if (strcmp(a, "--calls") == 0) G.calls = num_arg(v);
    else if (strcmp(a, "--max-rows") == 0) G.max_rows = num_arg(v);
    else if (strcmp(a, "--reasons-rows") == 0) G.reasons_rows = num_arg(v);
    else if (strcmp(a, "--reasons-calls") == 0) G.reasons_calls = num_arg(v);
    else if (strcmp(a, "--json") == 0) G.json_path = v;
    else if (strcmp(a, "--recipe") == 0) G.recipe_path = v;
    else if (strcmp(a, "--only") == 0) G.only = v;
    else if (strcmp(a, "--reuse") == 0) G.reuse = (int)num_arg(v);
    else if (strcmp(a, "--quiet-wait") == 0) G.quiet_wait = (double)num_arg(v);
    else if (strcmp(a, "--work-dir") == 0) workdir = v;
    else if (strcmp(a, "--write-calllist") == 0) calllist = v;
    else if (strcmp(a, "--rows") == 0) rows = num_arg(v);
    else if (strcmp(a, "--month") == 0) month = num_arg(v);
    else if (strcmp(a, "--seed") == 0) seed = num_arg(v);
    else usage();
  }
  if (calllist) {
    if (rows < 1 || month < 1) usage();
    return write_calllist(calllist, rows, month, (uint64_t)seed);
  }
  if (G.threads < 1 || G.runs < 1 || G.calls < 100 || G.max_rows < 1000 || G.reasons_rows < 1 || G.reasons_calls < 100)
    usage();

  if (workdir) {
    snprintf(G.workdir, sizeof G.workdir, "%s", workdir);
    if (mkdir(G.workdir, 0700) != 0 && errno != EEXIST) die("creating %s: %s", G.workdir, strerror(errno));
  } else {
    snprintf(G.workdir, sizeof G.workdir, "/tmp/bench_speed.XXXXXX");
    if (!mkdtemp(G.workdir)) die("mkdtemp: %s", strerror(errno));
    G.own_workdir = 1;
  }
  g_hwm_ok = hwm_reset() == 0;
  note("work directory %s; parent RSS %ld kB", G.workdir, status_kb("VmRSS"));

  json_t *all = json_object();
  json_object_set_new(all, "tool", json_string("bench_speed"));
  char ts[32];
  time_t tt = time(NULL);
  struct tm tmv;
  gmtime_r(&tt, &tmv);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  json_object_set_new(all, "created_at", json_string(ts));
  json_object_set_new(all, "machine", machine_json());
  json_t *cfgj = json_object();
  json_object_set_new(cfgj, "threads", json_integer(G.threads));
  json_object_set_new(cfgj, "runs", json_integer(G.runs));
  json_object_set_new(cfgj, "latency_calls", json_integer((json_int_t)G.calls));
  json_object_set_new(cfgj, "max_rows", json_integer((json_int_t)G.max_rows));
  json_object_set_new(cfgj, "reasons_rows", json_integer((json_int_t)G.reasons_rows));
  json_object_set_new(cfgj, "reasons_calls", json_integer((json_int_t)G.reasons_calls));
  json_object_set_new(cfgj, "recipe", json_string(G.recipe_path ? G.recipe_path : "built-in default (models/installment.json)"));
  json_object_set_new(cfgj, "statistic", json_string("median of runs; latency nearest-rank percentiles"));
  json_object_set_new(all, "config", cfgj);

  char setup_path[640], model_path[640], raw_path[640];
  path_in(setup_path, sizeof setup_path, "result_setup.json");
  path_in(model_path, sizeof model_path, "model.bin");
  path_in(raw_path, sizeof raw_path, "raw.bin");
  json_object_set_new(all, "load_average_start", load_average());
  if (G.reuse && access(setup_path, R_OK) == 0 && access(model_path, R_OK) == 0 && access(raw_path, R_OK) == 0) {
    note("setup: reusing %s", setup_path);
    json_object_set_new(all, "setup", json_from_file(setup_path));
  } else {
    note("setup: training on the demo history and generating %zu call-list rows", G.max_rows);
    json_object_set_new(all, "setup", run_child("setup", NULL));
  }
  if (wanted("pipeline")) {
    note("pipeline");
    json_object_set_new(all, "pipeline", run_child("pipeline", NULL));
  }
  if (wanted("members") || (G.only && strstr(G.only, "member:"))) {
    json_t *mems = json_array();
    const json_t *fitted = json_object_get(json_object_get(all, "setup"), "members_alone");
    for (size_t i = 0; pp_member_all[i]; i++) {
      char tok[96];
      snprintf(tok, sizeof tok, "member:%s", pp_member_all[i]->name);
      if (!json_object_get(fitted, pp_member_all[i]->name) || (!wanted("members") && !wanted(tok))) continue;
      note("member %s", pp_member_all[i]->name);
      json_array_append_new(mems, run_child("member", pp_member_all[i]->name));
    }
    json_object_set_new(all, "members", mems);
  }
  if (wanted("xgboost_native")) {
    note("XGBoost's own prediction");
    json_object_set_new(all, "xgboost_native", run_child("xgboost_native", NULL));
  }
  if (wanted("reasons")) {
    note("reasons");
    json_object_set_new(all, "reasons", run_child("reasons", NULL));
  }
  if (wanted("split")) {
    note("batch split");
    json_object_set_new(all, "split", run_child("split", NULL));
  }
  json_object_set_new(all, "load_average_end", load_average());
  json_object_set_new(all, "hwm_reset_available", json_boolean(g_hwm_ok));
  report(all);
  if (G.json_path) {
    json_to_file(all, G.json_path);
    note("wrote %s", G.json_path);
  }
  json_decref(all);
  if (G.own_workdir) remove_workdir();
  return 0;
}
