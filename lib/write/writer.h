/* lib/write: the one writer of output files.  Its interface is public (prop_writer_* in propensity.h);
 * a stage that writes lists includes this header so that the dependency shows, and the include rule of
 * lib/README.md holds it to it.  Depends on common only. */
#ifndef PP_WRITER_H
#define PP_WRITER_H

#include "common/common.h"

/* data[len] written to path through a prop_writer: atomically for a regular file (model files, contact
 * models), as a stream for a device or FIFO. */
int pp_write_bytes(const char *path, const void *data, size_t len);

/* 1 when a spreadsheet opening a CSV would take text s for a formula: it begins with '=', '+', '-', '@',
 * a tab or a carriage return and is not a plain decimal number ("-12" and "+3.5e2" are numbers; "-1+1",
 * "+cmd|' /C calc'!A0" and "@SUM(1)" are formulas).  NULL and "" are not. */
int pp_text_is_formula(const char *s);
/* Why a row whose id is such a formula is not scored (call lists, plans and the contributions file refuse
 * it; the writer then writes the id with a leading '). */
void pp_formula_id_reason(char *msg, size_t cap, const char *id);

#endif
