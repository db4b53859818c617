/* Reading XGBoost's JSON model for the xgboost member (xgb.c): the checks made before XGBoost parses
 * the bytes, and the trees of our own walk (xgb_walk.c) taken from the checked document.  What is
 * checked, and when the walk is used, is described in xgb_json.h and in xgb.c. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/xgb_json.h"

#define XGB_MAX_DEPTH_JSON 64 /* XGBoost's own model documents nest 7 deep */

/* ---- validation of XGBoost's JSON before XGBoost parses it -------------------------------------- */

/* The per-node arrays that neither the checks nor our walk read: XGBoost's statistics of each node (but
 * not sum_hessian: the covers TreeSHAP weighs its paths with, read_covers below).  In the copy jansson
 * parses, such an array is blanked to [ ] (spaces in place of its numbers, the same length) when it holds
 * nothing but number characters, commas and white space: about a quarter of a model's text, and the
 * slowest part of jansson's parse (every number a strtod and an allocation).  What jansson then sees is
 * the same document minus numbers nobody looks at; XGBoost still parses the whole text. */
static const char *const k_unread[] = {"base_weights", "loss_changes"};

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

/* The string that closed at txt[i] (opened at txt[o]) is a key of k_unread followed by a numbers-only
 * array [ ... ]: the index of its ']' (else 0). */
static size_t unread_array(const char *txt, size_t len, size_t o, size_t i) {
  int key = 0;
  for (size_t k = 0; k < sizeof k_unread / sizeof k_unread[0]; k++)
    key |= i - o - 1 == strlen(k_unread[k]) && memcmp(txt + o + 1, k_unread[k], i - o - 1) == 0;
  if (!key) return 0;
  size_t j = i + 1;
  while (j < len && (txt[j] == ' ' || txt[j] == '\n')) j++;
  if (j >= len || txt[j++] != ':') return 0;
  while (j < len && (txt[j] == ' ' || txt[j] == '\n')) j++;
  if (j >= len || txt[j] != '[') return 0;
  for (j++; j < len && txt[j] != ']'; j++)
    if (!in_set(k_number_chars, txt[j])) return 0;
  return j < len ? j : 0;
}

/* Lexical pass over the text: it starts with {" (XGBoost's loader would otherwise take the bytes for
 * UBJSON or its old binary format), strings are closed and hold no escapes or control bytes (so
 * that jansson and XGBoost read the same keys), nesting is bounded.  Bare NaN / Infinity tokens
 * (XGBoost may write them; jansson does not read them) are replaced in the copy `scan` by numbers of
 * the same length, for the structural check only; the arrays of k_unread are blanked in it. */
static int lex_check(const char *txt, size_t len, char *scan, int *replaced, const char *what) {
  if (len < 2 || txt[0] != '{' || txt[1] != '"')
    return pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model is not XGBoost's JSON format", what);
  memcpy(scan, txt, len);
  *replaced = 0;
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
        const size_t end = unread_array(txt, len, open, i);
        if (end) { /* blank the numbers in the copy; the text is scanned on from the '[' */
          const size_t lb = (size_t)((const char *)memchr(txt + i, '[', end - i) - txt);
          memset(scan + lb + 1, ' ', end - lb - 1);
          i = lb - 1;
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
      memcpy(scan + i, "0.0", 3);
      *replaced = 1;
      i += 2;
    } else if (c == 'I' && len - i >= 8 && memcmp(txt + i, "Infinity", 8) == 0) {
      memcpy(scan + i, "0.000000", 8);
      *replaced = 1;
      i += 7;
    }
  }
  if (in_str || depth != 0) return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON ends early", what);
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

/* One tree: every node reachable from the root is visited once (no cycle, no shared child), child
 * indices are in range, a leaf has no right child either, split features < d, no categorical splits;
 * every node is reachable but the num_deleted ones, and "parents", when present, agrees with the
 * children.  XGBoost itself checks none of this, and some of its walks follow any child that is not
 * -1 (a leaf whose right child pointed at the root made its feature scores loop until memory ran
 * out).  stack/seen hold nn entries. */
static int check_tree(const json_t *t, size_t ti, size_t d, size_t *stack, unsigned char *seen, size_t cap,
                      const char *what) {
  const json_t *tp = jget(t, "tree_param");
  long long nn = jcount(jget(tp, "num_nodes"), (long long)cap);
  if (nn < 1) return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: bad num_nodes", what, ti);
  long long slv = jcount(jget(tp, "size_leaf_vector"), 1);
  if (jget(tp, "size_leaf_vector") && slv < 0)
    return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: vector leaves are not supported", what, ti);
  size_t n = (size_t)nn;
  const json_t *L = jints(t, "left_children", n), *R = jints(t, "right_children", n);
  const json_t *F = jints(t, "split_indices", n);
  if (!L || !R || !F)
    return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: child or split arrays missing or not of %zu integers", what,
                  ti, n);
  if (jget(t, "split_type")) {
    const json_t *S = jints(t, "split_type", n);
    if (!S) return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: bad split_type array", what, ti);
    for (size_t i = 0; i < n; i++)
      if (jat(S, i) != 0) return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: categorical split", what, ti);
  }
  static const char *const cats[] = {"categories", "categories_nodes", "categories_segments", "categories_sizes"};
  for (size_t k = 0; k < sizeof cats / sizeof cats[0]; k++) {
    const json_t *c = jget(t, cats[k]);
    if (c && (!json_is_array(c) || json_array_size(c) != 0))
      return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: categorical split data", what, ti);
  }
  const json_t *P = jget(t, "parents");
  if (P && (!(P = jints(t, "parents", n)) || (jat(P, 0) != -1 && jat(P, 0) != INT32_MAX)))
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
    long long l = jat(L, i), r = jat(R, i);
    if (l == -1 && r == -1) continue; /* a leaf */
    if (l < 1 || l >= nn || r < 1 || r >= nn || l == r)
      return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: node %zu has children %lld, %lld of %lld nodes", what, ti,
                    i, l, r, nn);
    if (P && (jat(P, (size_t)l) != (long long)i || jat(P, (size_t)r) != (long long)i))
      return pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu: the parents array disagrees with node %zu's children", what,
                    ti, i);
    long long f = jat(F, i);
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

int pp_xgb_check_json(const char *txt, size_t len, size_t d, size_t *ntrees_out, json_t **root_out,
                            int *replaced, const char *what) {
  char *scan = pp_malloc(len ? len : 1);
  if (!scan) return PROP_ERR_NOMEM;
  int rc = lex_check(txt, len, scan, replaced, what);
  json_t *root = NULL;
  size_t *stack = NULL;
  unsigned char *seen = NULL;
  if (!rc) {
    json_error_t e;
    rc = pp_json_parse(scan, len, JSON_REJECT_DUPLICATES, what, &root, &e);
    if (rc == PROP_ERR_VALUE)
      rc = pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON, byte %d: %s", what, e.position, e.text);
  }
  free(scan);
  if (rc) return rc;
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
    rc = pp_err(PROP_ERR_CORRUPT, "%s: XGBoost model JSON lacks the learner or its gbtree model", what);
  else if (!jstr_is(jget(gb, "name"), "gbtree"))
    rc = pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost booster is not gbtree", what);
  else if (!jstr_is(jget(jget(learner, "objective"), "name"), "binary:logistic"))
    rc = pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost objective is not binary:logistic", what);
  else if (nf < 0 || (unsigned long long)nf != d)
    rc = pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model's num_feature is not the encoded width %zu", what, d);
  else if (ncls < 0 || (nt_j && jcount(nt_j, 1) != 1))
    rc = pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model is not a single-output model", what);
  else if (npar != 1) rc = pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model has parallel trees", what);
  else if (!json_is_array(trees) || !info || ntrees < 1 || json_array_size(trees) != (size_t)ntrees ||
           json_array_size(info) != (size_t)ntrees)
    rc = pp_err(PROP_ERR_CORRUPT, "%s: the XGBoost model's tree count, trees and tree_info disagree", what);
  if (!rc) {
    size_t cap = 0;
    /* bounded by what is present: a tree's num_nodes must equal its arrays' length */
    for (size_t t = 0; t < (size_t)ntrees; t++) {
      const json_t *lc = jget(json_array_get(trees, t), "left_children");
      if (json_is_array(lc) && json_array_size(lc) > cap) cap = json_array_size(lc);
    }
    stack = pp_malloc_array(cap ? cap : 1, sizeof *stack);
    seen = pp_malloc(cap ? cap : 1);
    if (!stack || !seen) rc = PROP_ERR_NOMEM;
    for (size_t t = 0; !rc && t < (size_t)ntrees; t++) {
      const json_t *tr = json_array_get(trees, t);
      if (jat(info, t) != 0) rc = pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu belongs to another output", what, t);
      else if (!json_is_integer(jget(tr, "id")) || json_integer_value(jget(tr, "id")) != (json_int_t)t)
        rc = pp_err(PROP_ERR_CORRUPT, "%s: XGBoost tree %zu has a wrong id", what, t);
      else rc = check_tree(tr, t, d, stack, seen, cap, what);
    }
  }
  free(stack);
  free(seen);
  if (!rc && root_out) {
    *root_out = root;
    root = NULL;
  }
  json_decref(root);
  if (!rc) *ntrees_out = (size_t)ntrees;
  return rc;
}

/* The float a JSON number denotes, when jansson's double gives it unambiguously: -1 otherwise. */
static int exact_float(const json_t *v, float *out) {
  if (!json_is_number(v)) return -1;
  double d = json_number_value(v);
  if (!isfinite(d) || fabs(d) > (double)FLT_MAX) return -1;
  float f = (float)d;
  double lo = 0.5 * ((double)nextafterf(f, -INFINITY) + (double)f), hi = 0.5 * ((double)f + (double)nextafterf(f, INFINITY));
  double ulp = nextafter(fabs(d), INFINITY) - fabs(d);
  if (fabs(d - lo) <= ulp || fabs(d - hi) <= ulp) return -1;
  *out = f;
  return 0;
}

/* Each node's cover (sum_hessian, finite and > 0) into nv->cover, or nv->cover left NULL when a tree
 * lacks them (contributions are then unavailable; the walk does not need them).  Fails on memory. */
static int read_covers(const json_t *trees, xgb_native *nv) {
  const size_t total = nv->start[nv->ntrees];
  double *cov = pp_malloc_array(total ? total : 1, sizeof *cov);
  if (!cov) return PROP_ERR_NOMEM;
  for (size_t t = 0; t < nv->ntrees; t++) {
    const json_t *H = jget(json_array_get(trees, t), "sum_hessian");
    const size_t nn = nv->start[t + 1] - nv->start[t];
    if (!json_is_array(H) || json_array_size(H) != nn) goto none;
    for (size_t i = 0; i < nn; i++) {
      const json_t *h = json_array_get(H, i);
      double c = json_is_number(h) ? json_number_value(h) : NAN;
      if (!(c > 0) || !isfinite(c)) goto none;
      cov[nv->start[t] + i] = (double)(float)c; /* the float XGBoost holds */
    }
  }
  nv->cover = cov;
  return 0;
none:
  free(cov);
  return 0;
}

int pp_xgb_native_from_json(const json_t *root, size_t d, size_t ntrees, xgb_native **out) {
  *out = NULL;
  const json_t *learner = jget(root, "learner");
  const json_t *bs = jget(jget(learner, "learner_model_param"), "base_score");
  double base;
  if (!json_is_string(bs) || pp_parse_double(json_string_value(bs), &base) != 0 || base != 0.5) return 0;
  const json_t *trees = jget(jget(jget(learner, "gradient_booster"), "model"), "trees");
  xgb_native *nv = pp_calloc(1, sizeof *nv);
  if (!nv) return PROP_ERR_NOMEM;
  nv->ntrees = ntrees;
  nv->start = pp_calloc(ntrees + 1, sizeof *nv->start);
  if (!nv->start) goto nomem;
  for (size_t t = 0; t < ntrees; t++) {
    const json_t *L = jget(json_array_get(trees, t), "left_children");
    nv->start[t + 1] = nv->start[t] + json_array_size(L);
  }
  size_t total = nv->start[ntrees];
  nv->node = pp_malloc_array(total ? total : 1, sizeof *nv->node);
  nv->dleft = pp_malloc(total ? total : 1);
  if (!nv->node || !nv->dleft) goto nomem;
  for (size_t t = 0; t < ntrees; t++) {
    const json_t *tr = json_array_get(trees, t);
    size_t nn = nv->start[t + 1] - nv->start[t];
    const json_t *L = jints(tr, "left_children", nn), *R = jints(tr, "right_children", nn);
    const json_t *F = jints(tr, "split_indices", nn), *C = jget(tr, "split_conditions");
    const json_t *DL = jget(tr, "default_left");
    if (!L || !R || !F || !json_is_array(C) || json_array_size(C) != nn || !json_is_array(DL) ||
        json_array_size(DL) != nn)
      goto unsupported;
    for (size_t i = 0; i < nn; i++) {
      xgb_nnode *c = nv->node + nv->start[t] + i;
      const json_t *dv = json_array_get(DL, i);
      long long dli = json_is_boolean(dv) ? json_is_true(dv) : json_is_integer(dv) ? json_integer_value(dv) : -1;
      long long l = jat(L, i), r = jat(R, i), f = jat(F, i);
      if ((dli != 0 && dli != 1) || exact_float(json_array_get(C, i), &c->value) != 0) goto unsupported;
      nv->dleft[nv->start[t] + i] = (uint8_t)dli;
      if (l == -1) {
        c->feature = -1;
        c->left = c->right = -1;
      } else {
        if (l < 1 || r < 1 || (size_t)l >= nn || (size_t)r >= nn || f < 0 || (unsigned long long)f >= d)
          goto unsupported;
        c->feature = (int32_t)f;
        c->left = (int32_t)l;
        c->right = (int32_t)r;
      }
    }
  }
  if (read_covers(trees, nv) != 0) goto nomem;
  *out = nv;
  return 0;
unsupported:
  pp_xgb_walk_free(nv);
  return 0;
nomem:
  pp_xgb_walk_free(nv);
  return PROP_ERR_NOMEM;
}
