/* lib/models/logistic.c, internal: its two predict paths, for the test that holds them to the same
 * bits.  Not part of the member interface; predict takes the AVX-512 path when the CPU has it. */
#ifndef PP_LOGISTIC_INTERNAL_H
#define PP_LOGISTIC_INTERNAL_H

#include <stddef.h>

/* 1 when predict takes the AVX-512 path on this CPU, else 0. */
int pp_logistic_simd_active(void);

/* The member's predict through the portable path (one thread). */
int pp_logistic_predict_portable(const void *model, const float *X, size_t n, double *out);

#endif
