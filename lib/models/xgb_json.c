/* Reading XGBoost's JSON model for the xgboost member (xgb.c): the checks made before XGBoost parses
 * the bytes, and the trees of our own walk (xgb_walk.c) taken from the checked document.  What is
 * checked, and when the walk is used, is described in xgb_json.h and in xgb.c. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "models/xgb_json.h"

#define XGB_MAX_DEPTH_JSON 64 /* XGBoost's own model documents nest 7 deep */

/* ---- the lexical pass ------------------------------------------------------------------------ *
 *
 * jansson reads XGBoost's JSON at about 50 MB/s: each byte through its stream reader, each number a strtod
 * or strtoll and an allocation, each array grown element by element.  Most of a model's text is the
 * per-node arrays of its trees, flat arrays of numbers, so the lexical pass takes them out of jansson's
 * copy of the text:
 *  - the arrays nobody reads (k_unread: XGBoost's statistics of each node, but not sum_hessian: the covers
 *    TreeSHAP weighs its paths with) lose their numbers when they hold nothing but number characters,
 *    commas and white space;
 *  - the arrays the checks and our walk read (k_read) are read here instead, when they hold numbers only:
 *    their text becomes a span, which read_span() reads with JSON's number grammar into xgb_num values
 *    (what jansson would give: an integer or a real, the same double), and in jansson's copy the array
 *    holds the span's index as a string that begins with the byte 0x01, ["\u000117"] (a non-empty array;
 *    an empty one is left as it is).  No string of the text can begin so (lex_check refuses control
 *    bytes and escapes in strings), so such an array is always a span, and any other array under a k_read
 *    key (booleans, say) is jansson's to read as before (tree_view).
 * When a span's text is not JSON numbers, or jansson refuses the copy, the document is read again as
 * before, whole by jansson (its copy the same length as the text, so that its error messages point at
 * the text's bytes); the checks are then the same, on values converted from jansson's arrays. */
static const char *const k_unread[] = {"base_weights", "loss_changes"};

enum { XK_LEFT, XK_RIGHT, XK_PARENTS, XK_SPLIT_INDEX, XK_SPLIT_TYPE, XK_DEFAULT_LEFT, XK_CONDITION, XK_HESSIAN, XK_N };
static const char *const k_read[XK_N] = {"left_children", "right_children", "parents",          "split_indices",
                                         "split_type",    "default_left",   "split_conditions", "sum_hessian"};

/* Byte classes as 256-bit sets (bit c of word c / 64). */
static const uint64_t k_number_chars[4] = { /* digits + - . , e E and white space */
    (1ull << '\t') | (1ull << '\n') | (1ull << '\r') | (1ull << ' ') | (1ull << '+') | (1ull << ',') | (1ull << '-') |
        (1ull << '.') | (0x3FFull << '0'),
    (1ull << ('E' - 64)) | (1ull << ('e' - 64)), 0, 0};
static const uint64_t k_lex_out[4] = { /* what the lexical pass looks at outside strings */
    1ull << '"', (1ull << ('I' - 64)) | (1ull << ('N' - 64)) | (1ull << ('[' - 64)) | (1ull << (']' - 64)) |
                     (1ull << ('{' - 64)) | (1ull << ('}' - 64)), 0, 0};
static const uint64_t k_lex_in[4] = {0xFFFFFFFFull | 1ull << '"', 1ull << ('\\' - 64), 0, 0}; /* inside: " \ controls */

static inline int in_set(const uint64_t *set, char c) {
  const unsigned char u = (unsigned char)c;
  return (int)(set[u >> 6] >> (u & 63) & 1u);
}

static inline int json_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

/* Index of the name among names[n] equal to txt[o + 1, i) (a string's content), or -1. */
static int name_index(const char *const *names, int n, const char *txt, size_t o, size_t i) {
  for (int k = 0; k < n; k++)
    if (i - o - 1 == strlen(names[k]) && memcmp(txt + o + 1, names[k], i - o - 1) == 0) return k;
  return -1;
}

/* A span of the text: a k_read array's numbers txt[beg, end), read into pool[first, first + count). */
typedef struct xgb_span {
  size_t beg, end, first, count;
  int key;
} xgb_span;

typedef struct xgb_lex {
  const char *txt;
  size_t len;
  int fast;       /* take the k_read arrays out */
  pp_buf out;     /* the copy jansson parses */
  size_t copied;  /* txt[0, copied) is in out */
  xgb_span *span; /* fast: the spans, in the order of the text */
  size_t nspan, cap, nnum;
  int replaced; /* a NaN or Infinity token was replaced */
} xgb_lex;

/* The copy takes txt[copied, a), then rlen bytes of r (rlen spaces when r is NULL) in place of txt[a, b). */
static void replace(xgb_lex *lx, size_t a, size_t b, const char *r, size_t rlen) {
  pp_put_bytes(&lx->out, lx->txt + lx->copied, a - lx->copied);
  if (r) {
    pp_put_bytes(&lx->out, r, rlen);
  } else {
    char sp[256];
    memset(sp, ' ', sizeof sp);
    for (size_t k = 0; k < rlen; k += sizeof sp)
      pp_put_bytes(&lx->out, sp, rlen - k < sizeof sp ? rlen - k : sizeof sp);
  }
  lx->copied = b;
}

/* After the string txt[o, i] closes: when it is a key of k_unread or k_read whose value is an array of
 * number characters, the index of the array's '[' into *lb and of its ']' into *rb, its commas into
 * *commas and whether it holds more than white space into *full; returns the key's kind: 1 k_unread, 2
 * k_read (k_read key into *key); 0 otherwise. */
static int array_after(const char *txt, size_t len, size_t o, size_t i, size_t *lb, size_t *rb, size_t *commas,
                       int *full, int *key) {
  const int unread = name_index(k_unread, (int)(sizeof k_unread / sizeof k_unread[0]), txt, o, i) >= 0;
  *key = unread ? -1 : name_index(k_read, XK_N, txt, o, i);
  if (!unread && *key < 0) return 0;
  size_t j = i + 1;
  while (j < len && json_ws(txt[j])) j++;
  if (j >= len || txt[j++] != ':') return 0; /* not a key */
  while (j < len && json_ws(txt[j])) j++;
  if (j >= len || txt[j] != '[') return 0;
  *lb = j;
  *commas = 0;
  *full = 0;
  for (j++; j < len && txt[j] != ']'; j++) {
    if (!in_set(k_number_chars, txt[j])) return 0;
    *commas += txt[j] == ',';
    *full |= !json_ws(txt[j]);
  }
  if (j >= len) return 0;
  *rb = j;
  return unread ? 1 : 2;
}

/* What lex_check does with an array after a key (array_after): 0, or an error of memory. */
static int take_array(xgb_lex *lx, int kind, int key, size_t lb, size_t rb, size_t commas, int full) {
  if (kind == 1) { /* k_unread: its numbers leave the copy (blanked when the copy keeps the text's length) */
    replace(lx, lb + 1, rb, NULL, lx->fast ? 0 : rb - lb - 1);
    return 0;
  }
  if (kind != 2 || !lx->fast || !full) return 0;
  if (lx->nspan == lx->cap) {
    lx->cap = lx->cap ? 2 * lx->cap : 1024;
    PP_TRY(pp_realloc_array(&lx->span, lx->cap, sizeof *lx->span));
  }
  xgb_span *s = lx->span + lx->nspan;
  *s = (xgb_span){lb + 1, rb, lx->nnum, commas + 1, key};
  lx->nnum += s->count;
  char num[40];
  const int w = snprintf(num, sizeof num, "\"\\u0001%zu\"", lx->nspan++);
  replace(lx, lb + 1, rb, num, (size_t)w);
  return 0;
}

/* Lexical pass over the text: it starts with {" (XGBoost's loader would otherwise take the bytes for
 * UBJSON or its old binary format), strings are closed and hold no escapes or control bytes (so
 * that jansson and XGBoost read the same keys), nesting is bounded.  Bare NaN / Infinity tokens
 * (XGBoost may write them; jansson does not read them) are replaced in the copy by numbers of the
 * same length, for the structural check only; the arrays of k_unread (and, lx->fast, of k_read) are
 * taken out of it (see above).  0, PROP_ERR_CORRUPT or PROP_ERR_NOMEM. */
static int lex_check(xgb_lex *lx, const char *what) {
  const char *txt = lx->txt;
  const size_t len = lx->len;
  if (len < 2 || txt[0] != '{' || txt[1] != '"')
    return pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model is not XGBoost's JSON format", what);
  int depth = 0, in_str = 0;
  size_t open = 0; /* where the current string began */
  for (size_t i = 0; i < len; i++) {
    const uint64_t *cls = in_str ? k_lex_in : k_lex_out; /* skip the bytes the pass does not look at */
    while (i < len && !in_set(cls, txt[i])) i++;
    if (i == len) break;
    unsigned char c = (unsigned char)txt[i];
    if (in_str) {
      if (c == '"') {
        in_str = 0;
        size_t lb, rb, commas;
        int full, key, kind = array_after(txt, len, open, i, &lb, &rb, &commas, &full, &key);
        if (kind) {
          PP_TRY(take_array(lx, kind, key, lb, rb, commas, full));
          if (++depth > XGB_MAX_DEPTH_JSON)
            return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON nests deeper than %d at byte %zu", what,
                          XGB_MAX_DEPTH_JSON, lb);
          i = rb - 1; /* on at the array's ']' */
        }
      } else if (c == '\\' || c < 0x20)
        return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON: unexpected byte 0x%02x in a string at byte %zu", what,
                      c, i);
      continue;
    }
    if (c == '"') {
      in_str = 1;
      open = i;
    } else if (c == '{' || c == '[') {
      if (++depth > XGB_MAX_DEPTH_JSON)
        return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON nests deeper than %d at byte %zu", what,
                      XGB_MAX_DEPTH_JSON, i);
    } else if (c == '}' || c == ']') {
      if (--depth < 0)
        return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON: unbalanced '%c' at byte %zu", what, c, i);
    } else if (c == 'N' && len - i >= 3 && memcmp(txt + i, "NaN", 3) == 0) {
      replace(lx, i, i + 3, "0.0", 3);
      lx->replaced = 1;
      i += 2;
    } else if (c == 'I' && len - i >= 8 && memcmp(txt + i, "Infinity", 8) == 0) {
      replace(lx, i, i + 8, "0.000000", 8);
      lx->replaced = 1;
      i += 7;
    }
  }
  if (in_str || depth != 0) return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON ends early", what);
  replace(lx, len, len, NULL, 0);
  return lx->out.failed ? pp_err(PROP_ERR_NOMEM, "%s: out of memory reading the XGBoost model", what) : 0;
}

/* ---- the numbers of the spans ------------------------------------------------------------------- */

/* A value of a per-node array as the checks read it: what jansson would hold for it. */
enum { XN_INT, XN_REAL, XN_TRUE, XN_FALSE, XN_OTHER };
typedef struct xgb_num {
  double d;    /* the number (an integer's as json_number_value gives it) */
  long long i; /* an integer's value */
  int kind;
} xgb_num;

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

/* A real of at most 19 significant digits m times 10^e, when the double is m * 10^e or m / 10^-e rounded
 * once (m < 2^53, |e| <= 22: both exact in a double, so the result is the correctly rounded one strtod
 * gives); else -1. */
static int exact_decimal(uint64_t m, long e, double *out) {
  static const double k_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
#if FLT_EVAL_METHOD == 0
  if (m >> 53 || e < -22 || e > 22) return -1;
  *out = e >= 0 ? (double)m * k_pow10[e] : (double)m / k_pow10[-e];
  return 0;
#else
  (void)m;
  (void)e;
  (void)out;
  (void)k_pow10;
  return -1;
#endif
}

/* The JSON number at p (before end) into *v, as jansson reads it: an integer (no fraction, no exponent) as
 * strtoll, a real as strtod; the byte after it into *next.  -1 when the bytes are not a JSON number, or one
 * jansson refuses (an integer beyond long long, a real beyond the doubles). */
static int read_number(const char *p, const char *end, xgb_num *v, const char **next) {
  const char *s = p;
  const int neg = p < end && *p == '-';
  p += neg;
  if (p >= end || !is_digit(*p)) return -1;
  uint64_t m = 0;
  int many = 0; /* more digits than m holds */
  long scale = 0;
  if (*p == '0') p++; /* no leading zeros */
  else
    for (; p < end && is_digit(*p); p++) {
      if (m > (UINT64_MAX - 9) / 10) many = 1;
      else m = m * 10 + (uint64_t)(*p - '0');
      scale += many;
    }
  int real = 0;
  if (p < end && *p == '.') {
    real = 1;
    if (++p >= end || !is_digit(*p)) return -1;
    for (; p < end && is_digit(*p); p++)
      if (m > (UINT64_MAX - 9) / 10) many = 1;
      else m = m * 10 + (uint64_t)(*p - '0'), scale--;
  }
  long e = 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    real = 1;
    int eneg = 0;
    if (++p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p >= end || !is_digit(*p)) return -1;
    for (; p < end && is_digit(*p); p++)
      if (e < 100000) e = e * 10 + (*p - '0');
    if (eneg) e = -e;
  }
  *next = p;
  if (!real) {
    if (many || m > (uint64_t)LLONG_MAX + (uint64_t)neg) return -1;
    v->kind = XN_INT;
    v->i = neg ? (long long)(0 - m) : (long long)m;
    v->d = (double)v->i;
    return 0;
  }
  v->kind = XN_REAL;
  if (many || exact_decimal(m, scale + e, &v->d) != 0) {
    char *q = NULL;
    v->d = pp_strtod_c(s, &q);
    if (q != p || isinf(v->d)) return -1;
  } else if (neg) {
    v->d = -v->d;
  }
  return 0;
}

/* Span s of txt (numbers, commas, white space) into pool[s->first ...]: 0, or -1 when it is not s->count
 * JSON numbers separated by commas. */
static int read_span(const char *txt, const xgb_span *s, xgb_num *pool) {
  const char *p = txt + s->beg, *end = txt + s->end;
  xgb_num *v = pool + s->first;
  for (size_t k = 0; k < s->count; k++) {
    while (p < end && json_ws(*p)) p++;
    if (read_number(p, end, v + k, &p) != 0) return -1;
    while (p < end && json_ws(*p)) p++;
    if (k + 1 < s->count && (p == end || *p++ != ',')) return -1;
  }
  return p == end ? 0 : -1;
}

/* ---- the document -------------------------------------------------------------------------------- */

typedef struct xgb_doc {
  json_t *root;
  int fast;         /* the k_read arrays are spans */
  int replaced;     /* NaN or Infinity tokens were replaced for jansson */
  xgb_span *span;
  size_t nspan;
  xgb_num *pool;    /* the spans' numbers */
  xgb_num *conv[XK_N]; /* not fast: a tree's arrays converted from jansson's */
  size_t conv_cap[XK_N];
} xgb_doc;

static void doc_free(xgb_doc *dc) {
  json_decref(dc->root);
  free(dc->span);
  free(dc->pool);
  for (int k = 0; k < XK_N; k++) free(dc->conv[k]);
}

#define XGB_NOT_FAST 1 /* doc_parse: the fast reading does not apply (error statuses are negative) */

/* The lexical pass (fast: taking the k_read arrays out), the spans read and jansson's parse: 0,
 * XGB_NOT_FAST when the fast reading does not apply (the caller reads the text again, not fast), or an
 * error. */
static int doc_parse(const char *txt, size_t len, int fast, xgb_doc *dc, const char *what) {
  xgb_lex lx;
  memset(&lx, 0, sizeof lx);
  lx.txt = txt;
  lx.len = len;
  lx.fast = fast;
  pp_buf_init(&lx.out);
  int rc = lex_check(&lx, what);
  if (!rc && fast) {
    dc->pool = pp_malloc_array(lx.nnum ? lx.nnum : 1, sizeof *dc->pool);
    if (!dc->pool) rc = PROP_ERR_NOMEM;
    for (size_t k = 0; !rc && k < lx.nspan; k++)
      if (read_span(txt, lx.span + k, dc->pool) != 0) rc = XGB_NOT_FAST;
  }
  if (!rc) {
    json_error_t e;
    rc = pp_json_parse((const char *)lx.out.data, lx.out.len, JSON_REJECT_DUPLICATES, what, &dc->root, &e);
    if (rc == PROP_ERR_VALUE)
      rc = fast ? XGB_NOT_FAST
                : pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON, byte %d: %s", what, e.position, e.text);
  }
  pp_buf_free(&lx.out);
  dc->fast = fast;
  dc->replaced = lx.replaced;
  dc->span = lx.span;
  dc->nspan = lx.nspan;
  return rc;
}

/* A per-node array of a tree as the checks read it. */
enum { XA_ABSENT, XA_OTHER, XA_ARRAY };
typedef struct xgb_arr {
  int state; /* XA_*: no such key, a value that is not an array, an array */
  size_t n;
  const xgb_num *v;
} xgb_arr;

/* The k_read arrays of tree t (those of mask, bit k for k_read[k]) into a[]: a span's numbers, or jansson's
 * array converted.  0, PROP_ERR_NOMEM or PROP_ERR_CORRUPT. */
static int tree_view(xgb_doc *dc, const json_t *t, unsigned mask, xgb_arr *a, const char *what) {
  for (int k = 0; k < XK_N; k++) {
    a[k] = (xgb_arr){XA_ABSENT, 0, NULL};
    const json_t *j = mask >> k & 1u ? json_object_get(t, k_read[k]) : NULL;
    if (!j) continue;
    a[k].state = json_is_array(j) ? XA_ARRAY : XA_OTHER;
    const size_t n = json_array_size(j);
    const char *mark = n == 1 ? json_string_value(json_array_get(j, 0)) : NULL;
    if (mark && mark[0] == '\x01') { /* a span's index (see "the lexical pass") */
      char *end = NULL;
      const unsigned long long s = strtoull(mark + 1, &end, 10);
      if (!dc->fast || *end || s >= dc->nspan || dc->span[s].key != k) /* cannot happen: lex_check wrote them */
        return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON: a bad span in %s", what, k_read[k]);
      a[k].n = dc->span[s].count;
      a[k].v = dc->pool + dc->span[s].first;
      continue;
    }
    if (n > dc->conv_cap[k]) {
      PP_TRY(pp_realloc_array(&dc->conv[k], n, sizeof *dc->conv[k]));
      dc->conv_cap[k] = n;
    }
    for (size_t i = 0; i < n; i++) {
      const json_t *x = json_array_get(j, i);
      xgb_num *v = dc->conv[k] + i;
      v->kind = json_is_integer(x) ? XN_INT : json_is_real(x) ? XN_REAL : json_is_true(x) ? XN_TRUE
                                                                        : json_is_false(x) ? XN_FALSE : XN_OTHER;
      v->i = json_is_integer(x) ? json_integer_value(x) : 0;
      v->d = json_number_value(x);
    }
    a[k].n = n;
    a[k].v = dc->conv[k];
  }
  return 0;
}

/* A non-negative integer given as a JSON integer or as a decimal string (XGBoost writes parameters
 * as strings: "num_trees": "300").  -1 when it is neither or exceeds max. */
static long long jcount(const json_t *v, long long max) {
  long long x = -1;
  if (json_is_integer(v)) x = json_integer_value(v);
  else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (!*s || strlen(s) > 18) return -1;
    x = 0;
    for (; *s; s++) {
      if (*s < '0' || *s > '9') return -1;
      x = x * 10 + (*s - '0');
    }
  }
  return x >= 0 && x <= max ? x : -1;
}

static const json_t *jget(const json_t *o, const char *key) {
  return json_is_object(o) ? json_object_get(o, key) : NULL;
}

static int jstr_is(const json_t *v, const char *s) { return json_is_string(v) && strcmp(json_string_value(v), s) == 0; }

/* An array of exactly n integers (n == (size_t)-1: any length), or NULL. */
static const json_t *jints(const json_t *o, const char *key, size_t n) {
  const json_t *a = jget(o, key);
  if (!json_is_array(a) || (n != (size_t)-1 && json_array_size(a) != n)) return NULL;
  for (size_t i = 0; i < json_array_size(a); i++)
    if (!json_is_integer(json_array_get(a, i))) return NULL;
  return a;
}

static long long jat(const json_t *a, size_t i) { return json_integer_value(json_array_get(a, i)); }

/* 1 when a is an array of exactly n integers. */
static int ints_of(const xgb_arr *a, size_t n) {
  if (a->state != XA_ARRAY || a->n != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (a->v[i].kind != XN_INT) return 0;
  return 1;
}

/* One tree (t, its per-node arrays a): every node reachable from the root is visited once (no cycle, no
 * shared child), child indices are in range, a leaf has no right child either, split features < d, no
 * categorical splits; every node is reachable but the num_deleted ones, and "parents", when present,
 * agrees with the children.  XGBoost itself checks none of this, and some of its walks follow any child
 * that is not -1 (a leaf whose right child pointed at the root made its feature scores loop until memory
 * ran out).  stack/seen hold cap entries. */
static int check_tree(const json_t *t, const xgb_arr *a, size_t ti, size_t d, size_t *stack, unsigned char *seen,
                      size_t cap, const char *what) {
  const json_t *tp = jget(t, "tree_param");
  long long nn = jcount(jget(tp, "num_nodes"), (long long)cap);
  if (nn < 1) return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: bad num_nodes", what, ti);
  long long slv = jcount(jget(tp, "size_leaf_vector"), 1);
  if (jget(tp, "size_leaf_vector") && slv < 0)
    return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: vector leaves are not supported", what, ti);
  size_t n = (size_t)nn;
  const xgb_num *L = a[XK_LEFT].v, *R = a[XK_RIGHT].v, *F = a[XK_SPLIT_INDEX].v, *P = a[XK_PARENTS].v;
  if (!ints_of(a + XK_LEFT, n) || !ints_of(a + XK_RIGHT, n) || !ints_of(a + XK_SPLIT_INDEX, n))
    return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: child or split arrays missing or not of %zu integers", what,
                  ti, n);
  if (a[XK_SPLIT_TYPE].state != XA_ABSENT) {
    if (!ints_of(a + XK_SPLIT_TYPE, n))
      return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: bad split_type array", what, ti);
    for (size_t i = 0; i < n; i++)
      if (a[XK_SPLIT_TYPE].v[i].i != 0)
        return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: categorical split", what, ti);
  }
  static const char *const cats[] = {"categories", "categories_nodes", "categories_segments", "categories_sizes"};
  for (size_t k = 0; k < sizeof cats / sizeof cats[0]; k++) {
    const json_t *c = jget(t, cats[k]);
    if (c && (!json_is_array(c) || json_array_size(c) != 0))
      return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: categorical split data", what, ti);
  }
  if (a[XK_PARENTS].state == XA_ABSENT) P = NULL;
  else if (!ints_of(a + XK_PARENTS, n) || (P[0].i != -1 && P[0].i != INT32_MAX))
    return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: bad parents array", what, ti);
  long long ndel = jget(tp, "num_deleted") ? jcount(jget(tp, "num_deleted"), nn - 1) : 0;
  if (ndel < 0) return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: bad num_deleted", what, ti);
  memset(seen, 0, n);
  size_t top = 0, reached = 0;
  stack[top++] = 0;
  while (top) {
    size_t i = stack[--top];
    if (seen[i]) return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: node %zu is reached twice", what, ti, i);
    seen[i] = 1;
    reached++;
    long long l = L[i].i, r = R[i].i;
    if (l == -1 && r == -1) continue; /* a leaf */
    if (l < 1 || l >= nn || r < 1 || r >= nn || l == r)
      return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: node %zu has children %lld, %lld of %lld nodes", what, ti,
                    i, l, r, nn);
    if (P && (P[l].i != (long long)i || P[r].i != (long long)i))
      return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: the parents array disagrees with node %zu's children", what,
                    ti, i);
    long long f = F[i].i;
    if (f < 0 || (unsigned long long)f >= d)
      return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: node %zu splits on feature %lld of %zu", what, ti, i, f,
                    d);
    if (top + 2 > n) /* each node is pushed at most once per parent, so a valid tree never gets here */
      return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: inconsistent structure", what, ti);
    stack[top++] = (size_t)l;
    stack[top++] = (size_t)r;
  }
  if (reached + (size_t)ndel != n)
    return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: %zu of its %zu nodes are reachable and %lld deleted", what,
                  ti, reached, n, ndel);
  return 0;
}

/* The learner's checks (one gbtree booster with binary:logistic, num_feature == d, one output, no parallel
 * trees, the tree count agreeing with the trees and tree_info): the trees, tree_info and their count, and
 * whether base_score is exactly 0.5 (our walk needs it).  0 or PROP_ERR_CORRUPT. */
static int check_learner(const json_t *root, size_t d, const json_t **trees_out, const json_t **info_out,
                         size_t *ntrees_out, int *half, const char *what) {
  const json_t *learner = jget(root, "learner");
  const json_t *lmp = jget(learner, "learner_model_param");
  const json_t *gb = jget(learner, "gradient_booster");
  const json_t *model = jget(gb, "model");
  const json_t *gmp = jget(model, "gbtree_model_param");
  const json_t *trees = jget(model, "trees");
  const json_t *info = jints(model, "tree_info", (size_t)-1);
  long long nf = jcount(jget(lmp, "num_feature"), LLONG_MAX / 2);
  long long ncls = jcount(jget(lmp, "num_class"), 1);
  const json_t *nt_j = jget(lmp, "num_target");
  long long ntrees = jcount(jget(gmp, "num_trees"), INT_MAX);
  long long npar = jcount(jget(gmp, "num_parallel_tree"), 1);
  if (!learner || !lmp || !gb || !model || !gmp)
    return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON lacks the learner or its gbtree model", what);
  if (!jstr_is(jget(gb, "name"), "gbtree"))
    return pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost booster is not gbtree", what);
  if (!jstr_is(jget(jget(learner, "objective"), "name"), "binary:logistic"))
    return pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost objective is not binary:logistic", what);
  if (nf < 0 || (unsigned long long)nf != d)
    return pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model's num_feature is not the encoded width %zu", what, d);
  if (ncls < 0 || (nt_j && jcount(nt_j, 1) != 1))
    return pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model is not a single-output model", what);
  if (npar != 1) return pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model has parallel trees", what);
  if (!json_is_array(trees) || !info || ntrees < 1 || json_array_size(trees) != (size_t)ntrees ||
      json_array_size(info) != (size_t)ntrees)
    return pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model's tree count, trees and tree_info disagree", what);
  const json_t *bs = jget(lmp, "base_score");
  double base;
  *half = json_is_string(bs) && pp_parse_double(json_string_value(bs), &base) == 0 && base == 0.5;
  *trees_out = trees;
  *info_out = info;
  *ntrees_out = (size_t)ntrees;
  return 0;
}

/* The float a JSON number denotes, when its double gives it unambiguously: -1 otherwise. */
static int exact_float(const xgb_num *v, float *out) {
  if (v->kind != XN_INT && v->kind != XN_REAL) return -1;
  double d = v->d;
  if (!isfinite(d) || fabs(d) > (double)FLT_MAX) return -1;
  float f = (float)d;
  double lo = 0.5 * ((double)nextafterf(f, -INFINITY) + (double)f), hi = 0.5 * ((double)f + (double)nextafterf(f, INFINITY));
  double ulp = nextafter(fabs(d), INFINITY) - fabs(d);
  if (fabs(d - lo) <= ulp || fabs(d - hi) <= ulp) return -1;
  *out = f;
  return 0;
}

/* Tree t of nv (its nodes at start[t], checked by check_tree) from its arrays a: 0, or -1 when our walk
 * cannot reproduce it exactly.  Its covers too (sum_hessian, finite and > 0) while nv->cover is not NULL;
 * *no_covers set when the tree lacks them (contributions are then unavailable; the walk does not need
 * them). */
static int native_tree(const xgb_arr *a, size_t d, xgb_native *nv, size_t t, int *no_covers) {
  const size_t nn = nv->start[t + 1] - nv->start[t], at = nv->start[t];
  const xgb_arr *C = a + XK_CONDITION, *DL = a + XK_DEFAULT_LEFT, *H = a + XK_HESSIAN;
  if (!ints_of(a + XK_LEFT, nn) || !ints_of(a + XK_RIGHT, nn) || !ints_of(a + XK_SPLIT_INDEX, nn) ||
      C->state != XA_ARRAY || C->n != nn || DL->state != XA_ARRAY || DL->n != nn)
    return -1;
  for (size_t i = 0; i < nn; i++) {
    xgb_nnode *c = nv->node + at + i;
    const int k = DL->v[i].kind;
    long long dli = k == XN_TRUE ? 1 : k == XN_FALSE ? 0 : k == XN_INT ? DL->v[i].i : -1;
    long long l = a[XK_LEFT].v[i].i, r = a[XK_RIGHT].v[i].i, f = a[XK_SPLIT_INDEX].v[i].i;
    if ((dli != 0 && dli != 1) || exact_float(C->v + i, &c->value) != 0) return -1;
    nv->dleft[at + i] = (uint8_t)dli;
    if (l == -1) {
      c->feature = -1;
      c->left = c->right = -1;
    } else {
      if (l < 1 || r < 1 || (size_t)l >= nn || (size_t)r >= nn || f < 0 || (unsigned long long)f >= d) return -1;
      c->feature = (int32_t)f;
      c->left = (int32_t)l;
      c->right = (int32_t)r;
    }
  }
  *no_covers |= H->state != XA_ARRAY || H->n != nn;
  for (size_t i = 0; i < nn && !*no_covers; i++) {
    const int k = H->v[i].kind;
    const double c = k == XN_INT || k == XN_REAL ? H->v[i].d : NAN;
    if (!(c > 0) || !isfinite(c)) *no_covers = 1;
    else nv->cover[at + i] = (double)(float)c; /* the float XGBoost holds */
  }
  return 0;
}

/* The walk's trees, their node counts those of the left_children arrays (start[] filled in by the
 * caller); NULL on memory. */
static xgb_native *native_alloc(size_t ntrees, const size_t *count) {
  xgb_native *nv = pp_calloc(1, sizeof *nv);
  if (!nv) return NULL;
  nv->ntrees = ntrees;
  nv->start = pp_calloc(ntrees + 1, sizeof *nv->start);
  if (!nv->start) goto nomem;
  for (size_t t = 0; t < ntrees; t++) nv->start[t + 1] = nv->start[t] + count[t];
  const size_t total = nv->start[ntrees];
  nv->node = pp_malloc_array(total ? total : 1, sizeof *nv->node);
  nv->dleft = pp_malloc(total ? total : 1);
  nv->cover = pp_malloc_array(total ? total : 1, sizeof *nv->cover);
  if (!nv->node || !nv->dleft || !nv->cover) goto nomem;
  return nv;
nomem:
  pp_xgb_walk_free(nv);
  return NULL;
}

/* Every tree checked (ids, tree_info, check_tree) and, when nvp is not NULL, read into *nvp for our walk
 * (NULL when the walk cannot reproduce them).  0, PROP_ERR_CORRUPT or PROP_ERR_NOMEM. */
static int check_trees(xgb_doc *dc, const json_t *trees, const json_t *info, size_t ntrees, size_t d,
                       xgb_native **nvp, const char *what) {
  xgb_arr a[XK_N];
  size_t cap = 0, *count = pp_malloc_array(ntrees, sizeof *count);
  int rc = count ? 0 : PROP_ERR_NOMEM;
  /* bounded by what is present: a tree's num_nodes must equal its arrays' length */
  for (size_t t = 0; !rc && t < ntrees; t++) {
    rc = tree_view(dc, json_array_get(trees, t), 1u << XK_LEFT, a, what);
    count[t] = a[XK_LEFT].state == XA_ARRAY ? a[XK_LEFT].n : 0;
    if (count[t] > cap) cap = count[t];
  }
  size_t *stack = rc ? NULL : pp_malloc_array(cap ? cap : 1, sizeof *stack);
  unsigned char *seen = rc ? NULL : pp_malloc(cap ? cap : 1);
  xgb_native *nv = !rc && nvp ? native_alloc(ntrees, count) : NULL;
  if (!rc && (!stack || !seen || (nvp && !nv))) rc = PROP_ERR_NOMEM;
  int no_covers = 0;
  for (size_t t = 0; !rc && t < ntrees; t++) {
    const json_t *tr = json_array_get(trees, t);
    if (jat(info, t) != 0) rc = pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu belongs to another output", what, t);
    else if (!json_is_integer(jget(tr, "id")) || json_integer_value(jget(tr, "id")) != (json_int_t)t)
      rc = pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu has a wrong id", what, t);
    else if (!(rc = tree_view(dc, tr, (1u << XK_N) - 1, a, what))) rc = check_tree(tr, a, t, d, stack, seen, cap, what);
    if (!rc && nv && native_tree(a, d, nv, t, &no_covers) != 0) {
      pp_xgb_walk_free(nv);
      nv = NULL;
    }
  }
  if (nv && no_covers) {
    free(nv->cover);
    nv->cover = NULL;
  }
  free(count);
  free(stack);
  free(seen);
  if (rc) pp_xgb_walk_free(nv);
  else if (nvp) *nvp = nv;
  return rc;
}

int pp_xgb_read_json(const char *txt, size_t len, size_t d, int whole, size_t *ntrees_out, xgb_native **nv_out,
                     const char *what) {
  *nv_out = NULL;
  xgb_doc dc;
  memset(&dc, 0, sizeof dc);
  int rc = whole ? XGB_NOT_FAST : doc_parse(txt, len, 1, &dc, what);
  if (rc == XGB_NOT_FAST) { /* not for the fast reading: the whole text by jansson */
    doc_free(&dc);
    memset(&dc, 0, sizeof dc);
    rc = doc_parse(txt, len, 0, &dc, what);
  }
  const json_t *trees = NULL, *info = NULL;
  size_t ntrees = 0;
  int half = 0;
  if (!rc) rc = check_learner(dc.root, d, &trees, &info, &ntrees, &half, what);
  xgb_native *nv = NULL;
  if (!rc) rc = check_trees(&dc, trees, info, ntrees, d, half && !dc.replaced ? &nv : NULL, what);
  doc_free(&dc);
  if (rc) return rc;
  *ntrees_out = ntrees;
  *nv_out = nv;
  return 0;
}
