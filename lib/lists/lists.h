/* lib/lists: the lists a call centre works from, built by the library so that a dialer linking it, the
 * CLI and Python get the same bytes: ranking (rank.c: prop_rank, prop_rank_order) and the ranked call
 * list (calllist.c: prop_calllist, scored chunk by chunk, ranked once, written through lib/write), and the
 * rows of a call plan gathered the same way (planlist.c: prop_planlist, for lib/plan's assignment).
 * Depends on common, data, pipeline (the model and its scoring), contact, plan and write. */
#ifndef PP_LISTS_H
#define PP_LISTS_H

#include "common/common.h"

/* The rows a call list holds (plan building reads them without copying): n rows, in the order added;
 * row i's id is text + id_off[i], its band band[i] (0 unscored), its value value[i] (NULL when the list
 * does not rank by value).  Valid until the list is freed or more rows are added. */
typedef struct pp_calllist_rows {
  size_t n;
  const char *text;
  const size_t *id_off;
  const double *prob, *value;
  const uint8_t *band;
} pp_calllist_rows;
void pp_calllist_rows_get(const prop_calllist *cl, pp_calllist_rows *r);
/* The reason row i (in the order added) was not scored, or NULL. */
const char *pp_calllist_reason(const prop_calllist *cl, size_t i);
#endif
