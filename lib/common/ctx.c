/* MAP_ANONYMOUS (startable below) is not in POSIX 2008, which the build asks for. */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

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

#ifdef _OPENMP
/* The largest team this thread has started (see pp_threads). */
static _Thread_local int tl_started = 1;

/* How many threads this thread could run now (at most n): room to map the stacks of the other
 * n - 1 at once, as a team holds them.  The stack is the runtime's (libgomp: pthread's default,
 * from ulimit -s; libomp: its own, kmp_get_stacksize_s) and 1 MiB more each for the guard, the
 * thread's TLS and the runtime's data.  The room is mapped as a stack is (private, writable, so
 * that a strict overcommit policy counts it too) and given back at once; starting threads to see
 * would not do: the C library keeps a joined thread's stack for reuse, and a runtime asking for
 * another size finds the room taken. */
static int startable(int n) {
  size_t stack = 0;
  pthread_attr_t a;
  if (pthread_attr_init(&a) == 0) {
    pthread_attr_getstacksize(&a, &stack);
    pthread_attr_destroy(&a);
  }
#ifdef KMP_VERSION_MAJOR
  if (kmp_get_stacksize_s() > stack) stack = kmp_get_stacksize_s();
#endif
  const size_t each = stack + ((size_t)1 << 20);
  for (int k = n - 1; k > 0; k--) {
    if ((size_t)k > SIZE_MAX / each) continue;
    void *p = mmap(NULL, each * (size_t)k, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      munmap(p, each * (size_t)k);
      return k + 1;
    }
  }
  return 1;
}
#endif

int pp_threads(int requested) {
#ifdef _OPENMP
  int procs = omp_get_num_procs();
#else
  int procs = 1;
#endif
  if (procs < 1) procs = 1;
  int n = (requested <= 0 || requested > procs) ? procs : requested;
#ifdef _OPENMP
  /* libgomp ends the process (exit 1, "Thread creation failed") and libomp aborts when a parallel
   * region cannot start a thread, as under an address-space limit.  So the first time this thread
   * asks for more threads than it has run, it checks that they can start and, at once, starts the
   * team (the runtimes keep a team's threads for the thread's later regions); it asks for no more
   * than started.  Inside a parallel region a nested one runs on one thread: nothing to start. */
  if (n > tl_started && !omp_in_parallel()) {
    n = startable(n);
    if (n > 1) { /* a body the compiler cannot drop (clang removes an empty region) */
      int team = 1;
#pragma omp parallel num_threads(n) reduction(max : team)
      team = omp_get_num_threads();
      n = team;
    }
    if (n > tl_started) tl_started = n;
  }
#endif
  return n;
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
