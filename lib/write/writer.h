/* lib/write: the one writer of output files.  Its interface is public (prop_writer_* in propensity.h);
 * a stage that writes lists includes this header so that the dependency shows, and the include rule of
 * lib/README.md holds it to it.  Depends on common only. */
#ifndef PP_WRITER_H
#define PP_WRITER_H

#include "common/common.h"

/* data[len] written to path through a prop_writer: atomically for a regular file (model files, contact
 * models), as a stream for a device or FIFO. */
int pp_write_bytes(const char *path, const void *data, size_t len);

#endif
