/* Little-endian byte codec for the model file.  The reader never reads past its end. */
#include <stdlib.h>
#include <string.h>

#include "common.h"

void pp_buf_init(pp_buf *b) { memset(b, 0, sizeof *b); }
void pp_buf_free(pp_buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}
int pp_buf_status(const pp_buf *b) {
  return b->failed ? pp_err(PROP_ERR_NOMEM, "out of memory while encoding the model") : 0;
}

void pp_put_bytes(pp_buf *b, const void *p, size_t n) {
  if (b->failed || n == 0) return;
  if (b->len + n < b->len) {
    b->failed = 1;
    return;
  }
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
    unsigned char *d = pp_realloc_raw(b->data, cap);
    if (!d) {
      b->failed = 1;
      return;
    }
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void put_le(pp_buf *b, uint64_t v, int nbytes) {
  unsigned char t[8];
  for (int i = 0; i < nbytes; i++) t[i] = (unsigned char)(v >> (8 * i));
  pp_put_bytes(b, t, (size_t)nbytes);
}

void pp_put_u8(pp_buf *b, uint8_t v) { put_le(b, v, 1); }
void pp_put_u32(pp_buf *b, uint32_t v) { put_le(b, v, 4); }
void pp_put_u64(pp_buf *b, uint64_t v) { put_le(b, v, 8); }
void pp_put_i32(pp_buf *b, int32_t v) { put_le(b, (uint32_t)v, 4); }
void pp_put_f32(pp_buf *b, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  put_le(b, u, 4);
}
void pp_put_f64(pp_buf *b, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  put_le(b, u, 8);
}
void pp_put_str(pp_buf *b, const char *s) {
  if (!s) {
    pp_put_u32(b, 0xFFFFFFFFu);
    return;
  }
  size_t n = strlen(s);
  if (n >= 0xFFFFFFFFu) {
    b->failed = 1;
    return;
  }
  pp_put_u32(b, (uint32_t)n);
  pp_put_bytes(b, s, n);
}
void pp_put_f32s(pp_buf *b, const float *v, size_t n) {
  for (size_t i = 0; i < n; i++) pp_put_f32(b, v[i]);
}
void pp_put_f64s(pp_buf *b, const double *v, size_t n) {
  for (size_t i = 0; i < n; i++) pp_put_f64(b, v[i]);
}
void pp_put_i32s(pp_buf *b, const int32_t *v, size_t n) {
  for (size_t i = 0; i < n; i++) pp_put_i32(b, v[i]);
}

void pp_rd_init(pp_rd *r, const void *p, size_t len, const char *what) {
  r->p = p;
  r->len = len;
  r->pos = 0;
  r->what = what ? what : "model data";
}

static int short_read(pp_rd *r, size_t n) {
  return pp_err(PROP_ERR_CORRUPT, "%s: needs %zu more bytes at offset %zu but only %zu remain", r->what, n,
                r->pos, r->len - r->pos);
}

int pp_get_bytes(pp_rd *r, void *out, size_t n) {
  if (n > r->len - r->pos) return short_read(r, n);
  if (n) memcpy(out, r->p + r->pos, n);
  r->pos += n;
  return 0;
}

static int get_le(pp_rd *r, uint64_t *v, int nbytes) {
  if ((size_t)nbytes > r->len - r->pos) return short_read(r, (size_t)nbytes);
  uint64_t x = 0;
  for (int i = 0; i < nbytes; i++) x |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
  r->pos += (size_t)nbytes;
  *v = x;
  return 0;
}

int pp_get_u8(pp_rd *r, uint8_t *v) {
  uint64_t x = 0;
  PP_TRY(get_le(r, &x, 1));
  *v = (uint8_t)x;
  return 0;
}
int pp_get_u32(pp_rd *r, uint32_t *v) {
  uint64_t x = 0;
  PP_TRY(get_le(r, &x, 4));
  *v = (uint32_t)x;
  return 0;
}
int pp_get_u64(pp_rd *r, uint64_t *v) { return get_le(r, v, 8); }
/* The 4 bytes of a u32 as another 32-bit type (int32_t, float). */
static int get_bits32(pp_rd *r, void *v) {
  uint32_t u;
  PP_TRY(pp_get_u32(r, &u));
  memcpy(v, &u, 4);
  return 0;
}
int pp_get_i32(pp_rd *r, int32_t *v) { return get_bits32(r, v); }
int pp_get_f32(pp_rd *r, float *v) { return get_bits32(r, v); }
int pp_get_f64(pp_rd *r, double *v) {
  uint64_t x = 0;
  PP_TRY(get_le(r, &x, 8));
  memcpy(v, &x, 8);
  return 0;
}

int pp_get_str(pp_rd *r, char **s) {
  uint32_t n;
  *s = NULL;
  PP_TRY(pp_get_u32(r, &n));
  if (n == 0xFFFFFFFFu) return 0;
  if (n > r->len - r->pos) return short_read(r, n);
  char *d = pp_malloc((size_t)n + 1);
  if (!d) return PROP_ERR_NOMEM;
  memcpy(d, r->p + r->pos, n);
  d[n] = '\0';
  r->pos += n;
  *s = d;
  return 0;
}

static int get_array(pp_rd *r, void **v, size_t n, size_t elem) {
  *v = NULL;
  if (n == 0) return 0;
  if (n > (r->len - r->pos) / elem) return short_read(r, n * elem > n ? n * elem : SIZE_MAX);
  unsigned char *d = pp_malloc_array(n, elem);
  if (!d) return PROP_ERR_NOMEM;
  /* Stored little-endian; decode element by element so the format is host independent. */
  const unsigned char *src = r->p + r->pos;
  for (size_t i = 0; i < n; i++) {
    uint64_t x = 0;
    for (size_t k = 0; k < elem; k++) x |= (uint64_t)src[i * elem + k] << (8 * k);
    if (elem == 4) {
      uint32_t u = (uint32_t)x;
      memcpy(d + i * 4, &u, 4);
    } else {
      memcpy(d + i * 8, &x, 8);
    }
  }
  r->pos += n * elem;
  *v = d;
  return 0;
}

int pp_get_f32s(pp_rd *r, float **v, size_t n) { return get_array(r, (void **)v, n, 4); }
int pp_get_f64s(pp_rd *r, double **v, size_t n) { return get_array(r, (void **)v, n, 8); }
int pp_get_i32s(pp_rd *r, int32_t **v, size_t n) { return get_array(r, (void **)v, n, 4); }

int pp_get_count(pp_rd *r, size_t *n, size_t max, const char *field) {
  uint64_t x = 0;
  PP_TRY(pp_get_u64(r, &x));
  if (x > max) return pp_err(PROP_ERR_CORRUPT, "%s: %s = %llu exceeds the limit %zu", r->what, field,
                             (unsigned long long)x, max);
  *n = (size_t)x;
  return 0;
}

int pp_rd_end(const pp_rd *r) {
  if (r->pos != r->len)
    return pp_err(PROP_ERR_CORRUPT, "%s: %zu unexpected trailing bytes", r->what, r->len - r->pos);
  return 0;
}

int pp_textbuf_add(pp_textbuf *t, const char *s, size_t *off) {
  size_t l = strlen(s) + 1;
  if (l > SIZE_MAX - t->len) return pp_err(PROP_ERR_NOMEM, "out of memory (text buffer overflows)");
  if (t->len + l > t->cap) {
    size_t cap = t->cap ? t->cap : 65536;
    while (cap < t->len + l) cap = cap > SIZE_MAX / 2 ? t->len + l : cap * 2;
    PP_TRY(pp_realloc_array(&t->p, cap, 1));
    t->cap = cap;
  }
  memcpy(t->p + t->len, s, l);
  *off = t->len;
  t->len += l;
  return 0;
}

void pp_textbuf_free(pp_textbuf *t) {
  free(t->p);
  memset(t, 0, sizeof *t);
}
