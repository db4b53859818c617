/* lib/lists: the lists a call centre works from, built by the library so that a dialer linking it, the
 * CLI and Python get the same bytes: ranking (rank.c: prop_rank, prop_rank_order) and the ranked call
 * list (calllist.c: prop_calllist, scored chunk by chunk, ranked once, written through lib/write).
 * Depends on common, data, pipeline (the model and its scoring) and write. */
#ifndef PP_LISTS_H
#define PP_LISTS_H

#include "common/common.h"

#endif
