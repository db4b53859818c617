#include <stdio.h>

#include "common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

void pp_ctx_init(pp_ctx *c, const prop_train_options *opt, uint64_t seed) {
  c->log = opt ? opt->log : NULL;
  c->progress = opt ? opt->progress : NULL;
  c->user = opt ? opt->user : NULL;
  c->nthread = pp_threads(opt ? opt->nthread : 0);
  c->seed = seed;
  c->transient = 0;
  c->fit_round = 0;
}

int pp_threads(int requested) {
#ifdef _OPENMP
  int procs = omp_get_num_procs();
#else
  int procs = 1;
#endif
  if (procs < 1) procs = 1;
  return (requested <= 0 || requested > procs) ? procs : requested;
}

void pp_log(const pp_ctx *c, int level, const char *fmt, ...) {
  if (!c || !c->log) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  c->log(c->user, level, msg);
}

int pp_progress(const pp_ctx *c, const char *stage, size_t done, size_t total) {
  if (!c || !c->progress) return 0;
  if (c->progress(c->user, stage, done, total) != 0)
    return pp_err(PROP_ERR_CANCELLED, "cancelled by the progress callback during %s", stage);
  return 0;
}
