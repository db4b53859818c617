/* Extensible option structs (see pp_opts_import in common.h). */
#include <string.h>

#include "common.h"

int pp_opts_import(void *dst, size_t dst_size, const void *src, const char *name) {
  if (!src) return 0;
  size_t size;
  memcpy(&size, src, sizeof size);
  if (size < sizeof size)
    return pp_err(PROP_ERR_ARG, "%s: struct_size is %zu: initialise the struct with its _default() function", name,
                  size);
  if (size > dst_size) {
    /* a caller compiled against a newer header: the fields this library does not know must be unset */
    const unsigned char *extra = (const unsigned char *)src + dst_size;
    for (size_t i = 0; i < size - dst_size; i++)
      if (extra[i])
        return pp_err(PROP_ERR_ARG, "%s: the caller sets fields this library (version %s) does not know "
                      "(struct_size %zu, this library's %zu)", name, PROP_VERSION_STRING, size, dst_size);
  }
  memcpy(dst, src, size < dst_size ? size : dst_size);
  memcpy(dst, &dst_size, sizeof dst_size); /* the copy is this library's struct */
  return 0;
}
