/* bench_xgb_fit: the CPU time of the xgboost member's fit (pp_xgb_ops.fit: XGBoost's boosting, then our
 * own work on the trained booster: its JSON, the checks, our walk and its probes, the importances), on
 * the encoded rows of a CSV file, one thread.
 *
 *   bench_xgb_fit MODEL.bin DATA.csv --target COL --positive LABEL [--runs 7] [--rounds R] [--seed S]
 *                 [--dump PREFIX]
 *
 * The rows: every row of DATA.csv, encoded by the model's encoders (encoding is not timed), labels from
 * the target column.  The parameters: those of the xgboost member in the model's recipe (the default
 * recipe's: eta 0.05, max_depth 4, 300 rounds, subsample 0.8, colsample 0.8, min_child_weight 5; the
 * other keys the member's defaults), --rounds replacing its rounds when given, scale_pos_weight =
 * negatives / positives (imbalance "weights", the default), nthread 1, the seed --seed (default: the
 * recipe's).  One warm-up fit, then `runs` timed fits, each timed
 * with the process's CPU clock (on a machine shared with other jobs a one-thread run's CPU time leaves
 * out the time it waited for a core); printed: the median and the range, and the FNV-1a fingerprint of
 * the fitted model's bytes (two builds that should fit the same model print the same fingerprint).
 *
 * --dump PREFIX writes the rows and the parameters for bench/xgb_fit.py, which times XGBClassifier.fit
 * on them: PREFIX.bin (u64 n, u64 d, n x d float32 rows, n float32 labels, n float64 predictions of the
 * fitted member) and PREFIX.json (the parameters as XGBoost names them).
 *
 * Benchmarks are not tests: this program is not registered with ctest. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "data/frame.h"
#include "encode/encoder.h"
#include "models/member.h"
#include "pipeline/pipeline.h"

#define BENCH_NAME "bench_xgb_fit"
#include "bench_util.h"

/* Every row of f encoded by m's encoders: n x m->width floats (a row the schema cannot bind ends the run). */
static float *encode_frame(const prop_model *m, const prop_frame *f, const char *path) {
  const size_t n = prop_frame_n_rows(f), nf = m->schema->nfeat, w = m->width;
  double *raw = xmalloc(n * nf * sizeof *raw);
  int *st = xmalloc(n * sizeof *st);
  pp_binding *b = NULL;
  if (pp_binding_create(m->schema, f, &b)) die(path);
  pp_binding_rows(b, 0, n, raw, st);
  for (size_t i = 0; i < n; i++)
    if (st[i]) {
      fprintf(stderr, "bench_xgb_fit: %s: row %zu cannot be encoded\n", path, i + 1);
      exit(1);
    }
  pp_binding_free(b);
  float *X = xmalloc(n * w * sizeof *X);
  pp_encoder_transform(m->enc, raw, n, nf, X);
  free(raw);
  free(st);
  return X;
}

static uint64_t fnv1a(const void *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

static void write_all(FILE *fp, const void *p, size_t n, const char *path) {
  if (fwrite(p, 1, n, fp) != n) {
    fprintf(stderr, "bench_xgb_fit: cannot write %s\n", path);
    exit(1);
  }
}

/* PREFIX.bin and PREFIX.json for bench/xgb_fit.py (see the header). */
static void dump(const char *prefix, const float *X, const float *y, const double *pred, size_t n, size_t d,
                 const json_t *params, double spw, long seed) {
  char path[4096];
  snprintf(path, sizeof path, "%s.bin", prefix);
  FILE *fp = fopen(path, "wb");
  if (!fp) die(path);
  const uint64_t hdr[2] = {n, d};
  write_all(fp, hdr, sizeof hdr, path);
  write_all(fp, X, n * d * sizeof *X, path);
  write_all(fp, y, n * sizeof *y, path);
  write_all(fp, pred, n * sizeof *pred, path);
  if (fclose(fp) != 0) die(path);
  snprintf(path, sizeof path, "%s.json", prefix);
  json_t *o = json_object();
  json_object_set_new(o, "n_estimators", json_incref(json_object_get(params, "rounds")));
  json_object_set_new(o, "learning_rate", json_incref(json_object_get(params, "eta")));
  json_object_set_new(o, "max_depth", json_incref(json_object_get(params, "max_depth")));
  json_object_set_new(o, "subsample", json_incref(json_object_get(params, "subsample")));
  json_object_set_new(o, "colsample_bytree", json_incref(json_object_get(params, "colsample")));
  json_object_set_new(o, "min_child_weight", json_incref(json_object_get(params, "min_child_weight")));
  json_object_set_new(o, "reg_lambda", json_incref(json_object_get(params, "lambda")));
  json_object_set_new(o, "gamma", json_incref(json_object_get(params, "gamma")));
  json_object_set_new(o, "max_bin", json_incref(json_object_get(params, "max_bin")));
  json_object_set_new(o, "scale_pos_weight", json_real(spw));
  json_object_set_new(o, "random_state", json_integer(seed));
  if (json_dump_file(o, path, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0) die(path);
  json_decref(o);
}

int main(int argc, char **argv) {
  const char *model_path = NULL, *data_path = NULL, *target = NULL, *positive = NULL, *prefix = NULL;
  int runs = 7;
  long rounds = 0, seed = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--target") && v) target = argv[++i];
    else if (!strcmp(a, "--positive") && v) positive = argv[++i];
    else if (!strcmp(a, "--runs") && v) runs = atoi(argv[++i]);
    else if (!strcmp(a, "--rounds") && v) rounds = atol(argv[++i]);
    else if (!strcmp(a, "--seed") && v) seed = atol(argv[++i]);
    else if (!strcmp(a, "--dump") && v) prefix = argv[++i];
    else if (a[0] != '-' && !model_path) model_path = a;
    else if (a[0] != '-' && !data_path) data_path = a;
    else {
      fprintf(stderr, "usage: bench_xgb_fit MODEL DATA --target COL --positive LABEL [--runs 7] [--rounds R] "
                      "[--seed S] [--dump PREFIX]\n");
      return 2;
    }
  }
  if (!model_path || !data_path || !target || runs < 1 || rounds < 0) {
    fprintf(stderr, "bench_xgb_fit: MODEL, DATA and --target are required (see the source's header)\n");
    return 2;
  }
  prop_model *m = NULL;
  if (prop_model_load(model_path, &m)) die(model_path);
  prop_frame *f = NULL;
  if (prop_frame_read_csv(data_path, NULL, &f)) die(data_path);
  const size_t n = prop_frame_n_rows(f), d = m->width;
  float *X = encode_frame(m, f, data_path);
  int *yi = xmalloc(n * sizeof *yi);
  if (prop_frame_binary_values(f, target, positive, yi)) die(target);
  float *y = xmalloc(n * sizeof *y);
  size_t npos = 0;
  for (size_t i = 0; i < n; i++) {
    y[i] = (float)yi[i];
    npos += yi[i] != 0;
  }

  /* the recipe's xgboost parameters, one thread */
  json_error_t e;
  json_t *recipe = json_loads(m->recipe_json, 0, &e), *pj = NULL;
  const json_t *mems = json_object_get(recipe, "members");
  for (size_t k = 0; k < json_array_size(mems); k++)
    if (json_is_string(json_object_get(json_array_get(mems, k), "name")) &&
        !strcmp(json_string_value(json_object_get(json_array_get(mems, k), "name")), "xgboost"))
      pj = json_deep_copy(json_object_get(json_array_get(mems, k), "params"));
  if (!pj) pj = json_object();
  if (!recipe || !pj) {
    fprintf(stderr, "bench_xgb_fit: %s: cannot read the recipe's xgboost parameters\n", model_path);
    return 1;
  }
  if (seed < 0) seed = (long)json_integer_value(json_object_get(recipe, "seed"));
  json_decref(recipe);
  json_object_set_new(pj, "nthread", json_integer(1));
  if (rounds > 0) json_object_set_new(pj, "rounds", json_integer(rounds));
  void *params = NULL;
  if (pp_xgb_ops.parse_params(pj, "", &params)) die("parameters");
  json_decref(pj);
  json_t *canon = pp_xgb_ops.params_to_json(params);
  const pp_dataset ds = {X, n, d, y, NULL, NULL, PP_IMB_WEIGHTS};
  prop_train_options topt; /* a training on one thread: no team of every processor is started */
  prop_train_options_default(&topt);
  topt.nthread = 1;
  pp_ctx ctx;
  pp_ctx_init(&ctx, &topt, (uint64_t)seed);

  double *t = xmalloc((size_t)runs * sizeof *t);
  uint64_t fp = 0;
  void *model = NULL;
  for (int r = -1; r < runs; r++) { /* r = -1: the warm-up */
    const double a = bench_seconds(CLOCK_PROCESS_CPUTIME_ID);
    if (pp_xgb_ops.fit(params, &ds, NULL, &ctx, &model)) die("fit");
    const double b = bench_seconds(CLOCK_PROCESS_CPUTIME_ID);
    if (r >= 0) t[r] = b - a;
    pp_buf buf;
    pp_buf_init(&buf);
    if (pp_xgb_ops.save(model, &buf)) die("save");
    const uint64_t h = fnv1a(buf.data, buf.len);
    pp_buf_free(&buf);
    if (r >= 0 && h != fp) {
      fprintf(stderr, "bench_xgb_fit: fit %d gave other model bytes than the warm-up\n", r);
      return 1;
    }
    fp = h;
    if (r + 1 < runs || !prefix) pp_xgb_ops.free_model(model);
  }
  qsort(t, (size_t)runs, sizeof *t, cmp_double);
  const double med = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
  printf(
      "member fit: %zu rows x %zu columns, %lld rounds, 1 thread: median %.4f s CPU (min %.4f, max %.4f, %d runs); "
      "model bytes %016llx\n",
      n, d, (long long)json_integer_value(json_object_get(canon, "rounds")), med, t[0], t[runs - 1], runs,
      (unsigned long long)fp);
  if (prefix) {
    double *pred = xmalloc(n * sizeof *pred);
    if (pp_xgb_ops.predict(model, X, n, pred, NULL, 1)) die("predict");
    dump(prefix, X, y, pred, n, d, canon, (double)(n - npos) / (double)npos, seed);
    pp_xgb_ops.free_model(model);
    free(pred);
  }
  json_decref(canon);
  pp_xgb_ops.free_params(params);
  free(t);
  free(X);
  free(y);
  free(yi);
  prop_frame_free(f);
  prop_model_free(m);
  return 0;
}
