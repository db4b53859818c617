/* lib/write: the one writer of output files.  Its interface is public (prop_writer_* in propensity.h);
 * a stage that writes lists includes this header so that the dependency shows, and the include rule of
 * lib/README.md holds it to it.  Depends on common only. */
#ifndef PP_WRITER_H
#define PP_WRITER_H

#include "common/common.h"

#endif
