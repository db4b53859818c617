/* The call list: deterministic ordering, capacity and band quotas, and the dialer's rank.
 *
 * Both entry points share one core that sorts row indices in the caller's order array (an
 * introsort on an index array: no copy of the keys, no merge buffer), so ranking n rows costs the
 * caller's n-entry order plus at most n/2 indices while band quotas split the list.  The sort
 * order is a strict total order (key, then id, then row), so the result does not depend on the
 * sorting algorithm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "lists/lists.h"

void prop_rank_options_default(prop_rank_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
}

/* The rows to rank, in either layout: bands as int or as one byte, ids as pointers or as
 * offsets into one text buffer. */
typedef struct rank_src {
  const double *prob, *value; /* value only when ranking by value */
  const int *band;
  const uint8_t *band8;
  const char *const *ids;
  const char *id_text;
  const size_t *id_offset;
} rank_src;

static inline double key_of(const rank_src *s, size_t i) { return pp_rank_key(s->prob[i], s->value ? &s->value[i] : NULL); }

static inline const char *id_of(const rank_src *s, size_t i) {
  if (s->ids) return s->ids[i];
  if (s->id_text) return s->id_text + s->id_offset[i];
  return NULL;
}

static inline int band_of(const rank_src *s, size_t i) {
  if (s->band) return s->band[i];
  if (s->band8) return s->band8[i];
  return 0;
}

static inline int cmp_rows(const rank_src *s, double kx, size_t x, double ky, size_t y) {
  return pp_rank_cmp(kx, id_of(s, x), x, ky, id_of(s, y), y);
}

static inline int before(const rank_src *s, size_t x, size_t y) {
  return cmp_rows(s, key_of(s, x), x, key_of(s, y), y) < 0;
}

static inline void swap_idx(size_t *a, size_t i, size_t j) {
  size_t t = a[i];
  a[i] = a[j];
  a[j] = t;
}

static void insertion_sort(size_t *a, size_t n, const rank_src *s) {
  for (size_t i = 1; i < n; i++) {
    size_t v = a[i], j = i;
    double kv = key_of(s, v);
    while (j > 0 && cmp_rows(s, kv, v, key_of(s, a[j - 1]), a[j - 1]) < 0) {
      a[j] = a[j - 1];
      j--;
    }
    a[j] = v;
  }
}

static void sift_down(size_t *a, size_t root, size_t n, const rank_src *s) {
  size_t v = a[root];
  for (;;) {
    size_t c = 2 * root + 1;
    if (c >= n) break;
    if (c + 1 < n && before(s, a[c], a[c + 1])) c++;
    if (!before(s, v, a[c])) break;
    a[root] = a[c];
    root = c;
  }
  a[root] = v;
}

static void heap_sort(size_t *a, size_t n, const rank_src *s) {
  for (size_t i = n / 2; i-- > 0;) sift_down(a, i, n, s);
  for (size_t end = n; end-- > 1;) {
    swap_idx(a, 0, end);
    sift_down(a, 0, end, s);
  }
}

/* Quicksort (median of three, Hoare partition around the middle element), heapsort past the depth
 * limit, insertion sort for short ranges. */
static void intro_sort(size_t *a, size_t n, unsigned depth, const rank_src *s) {
  while (n > 16) {
    if (depth == 0) {
      heap_sort(a, n, s);
      return;
    }
    depth--;
    size_t mid = (n - 1) / 2, last = n - 1;
    if (before(s, a[mid], a[0])) swap_idx(a, 0, mid);
    if (before(s, a[last], a[mid])) {
      swap_idx(a, mid, last);
      if (before(s, a[mid], a[0])) swap_idx(a, 0, mid);
    }
    size_t p = a[mid], i = 0, j = last;
    double pk = key_of(s, p);
    for (;;) {
      while (cmp_rows(s, key_of(s, a[i]), a[i], pk, p) < 0) i++;
      while (cmp_rows(s, pk, p, key_of(s, a[j]), a[j]) < 0) j--;
      if (i >= j) break;
      swap_idx(a, i, j);
      i++;
      j--;
    }
    /* [0, j] and [j + 1, n), both non-empty: recurse into the shorter, loop on the longer */
    size_t nl = j + 1, nr = n - nl;
    if (nl < nr) {
      intro_sort(a, nl, depth, s);
      a += nl;
      n = nr;
    } else {
      intro_sort(a + nl, nr, depth, s);
      n = nl;
    }
  }
  insertion_sort(a, n, s);
}

int pp_dialer_init(pp_dialer *d, size_t ns, const size_t *run_len, size_t nruns) {
  memset(d, 0, sizeof *d);
  d->ns = ns;
  d->nruns = nruns;
  const size_t R = PROP_DIALER_RANK_MAX;
  if (ns <= R || nruns > R) return 0;
  d->start = pp_malloc_array(nruns, sizeof *d->start);
  d->top = pp_malloc_array(nruns, sizeof *d->top);
  d->vals = pp_malloc_array(nruns, sizeof *d->vals);
  if (!d->start || !d->top || !d->vals) {
    pp_dialer_free(d);
    return PROP_ERR_NOMEM;
  }
  /* Distribute R values over runs: one each, the rest in proportion to run length. */
  size_t spare = R - nruns, top = R, at = 0;
  for (size_t r = 0; r < nruns; r++) {
    size_t vals = 1 + (size_t)((double)spare * (double)run_len[r] / (double)ns);
    if (vals > top) vals = top;
    d->start[r] = at;
    d->top[r] = top;
    d->vals[r] = vals;
    at += run_len[r];
    top -= vals;
    if (top == 0) top = 1;
  }
  return 0;
}

int pp_dialer_at(const pp_dialer *d, size_t i) {
  const size_t R = PROP_DIALER_RANK_MAX;
  if (d->ns <= R) return (int)(R - i); /* every row its own value: strictly decreasing */
  if (!d->start) return (int)(R - (i * R) / d->ns); /* more runs than values: proportional position only */
  size_t lo = 0, hi = d->nruns; /* the last run starting at or before i */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (d->start[mid] <= i) lo = mid;
    else hi = mid;
  }
  size_t len = (lo + 1 < d->nruns ? d->start[lo + 1] : d->ns) - d->start[lo];
  return (int)(d->top[lo] - ((i - d->start[lo]) * d->vals[lo]) / len);
}

void pp_dialer_free(pp_dialer *d) {
  free(d->start);
  free(d->top);
  free(d->vals);
  memset(d, 0, sizeof *d);
}

/* Map call positions 0..ns-1 (the rows order_sel[0..ns-1], runs of equal band) onto 32767..1 (pp_dialer):
 * runs never share a dialer rank while there are at most 32767 runs.  dialer[i] is position i's. */
static int dialer_ranks(const size_t *order_sel, size_t ns, const rank_src *s, int *dialer) {
  if (ns == 0) return 0;
  size_t nruns = 1;
  for (size_t i = 1; i < ns; i++) nruns += band_of(s, order_sel[i]) != band_of(s, order_sel[i - 1]);
  size_t *len = NULL;
  if (ns > PROP_DIALER_RANK_MAX && nruns <= PROP_DIALER_RANK_MAX) {
    if (!(len = pp_calloc(nruns, sizeof *len))) return PROP_ERR_NOMEM;
    for (size_t i = 0, r = 0; i < ns; i++) {
      r += i > 0 && band_of(s, order_sel[i]) != band_of(s, order_sel[i - 1]);
      len[r]++;
    }
  }
  pp_dialer d;
  int rc = pp_dialer_init(&d, ns, len, nruns);
  free(len);
  for (size_t i = 0; !rc && i < ns; i++) dialer[i] = pp_dialer_at(&d, i);
  pp_dialer_free(&d);
  return rc;
}

int pp_rank_take(const prop_rank_options *opt, size_t *used, size_t cap, size_t nsel, int b) {
  if (nsel >= cap) return 0;
  if (opt->band_quota) {
    if (b < 1 || (size_t)b > opt->nbands || used[b] >= opt->band_quota[b - 1]) return 0;
    used[b]++;
  }
  return 1;
}

static inline int take(const rank_src *s, const prop_rank_options *opt, size_t *used, size_t cap, size_t nsel,
                       size_t row) {
  return pp_rank_take(opt, used, cap, nsel, band_of(s, row));
}

static int check_args(const char *fn, const rank_src *s, int has_band, size_t n, const prop_rank_options *opt) {
  if (!s->prob && n) return pp_err(PROP_ERR_ARG, "%s: prob is NULL", fn);
  if (opt->by == PROP_RANK_VALUE && !s->value && n)
    return pp_err(PROP_ERR_ARG, "%s: ranking by value needs a value column", fn);
  if (opt->by != PROP_RANK_PROBABILITY && opt->by != PROP_RANK_VALUE)
    return pp_err(PROP_ERR_ARG, "%s: unknown ranking key %d", fn, opt->by);
  if (opt->band_quota && !has_band) return pp_err(PROP_ERR_ARG, "%s: band quotas need the bands", fn);
  if (opt->band_quota && (opt->nbands == 0 || opt->nbands > 64))
    return pp_err(PROP_ERR_ARG, "%s: band_quota needs nbands from 1 to 64, got %zu", fn, opt->nbands);
  for (size_t i = 0; i < n; i++) { /* NaN is an unscored row; anything else must be a probability */
    if (s->prob[i] == s->prob[i] && !(s->prob[i] >= 0.0 && s->prob[i] <= 1.0))
      return pp_err(PROP_ERR_VALUE, "%s: prob[%zu] is %g, not a probability in [0, 1]", fn, i, s->prob[i]);
    int b = band_of(s, i); /* 0 without bands */
    if (b < 0 || b > 64) return pp_err(PROP_ERR_VALUE, "%s: band[%zu] is %d, not a band 0..64", fn, i, b);
  }
  return 0;
}

/* order[0..n): scored rows in call order (selected first), then unscored rows in input order;
 * dialer (NULL or n entries) by call position, 0 from *n_selected on. */
static int rank_core(const rank_src *s, size_t n, const prop_rank_options *opt, size_t *order, int *dialer,
                     size_t *n_ranked, size_t *n_selected) {
  size_t ns = 0;
  for (size_t i = 0; i < n; i++) ns += s->prob[i] == s->prob[i];
  size_t a = 0, b = ns;
  for (size_t i = 0; i < n; i++) {
    if (s->prob[i] == s->prob[i]) order[a++] = i;
    else order[b++] = i;
  }
  unsigned depth = 0;
  for (size_t m = ns; m > 1; m >>= 1) depth += 2;
  intro_sort(order, ns, depth, s);

  size_t cap = opt->capacity ? opt->capacity : (size_t)-1, nsel = 0;
  if (!opt->band_quota) {
    nsel = ns < cap ? ns : cap; /* the selected rows are a prefix */
  } else {
    size_t *used = pp_calloc(opt->nbands + 1, sizeof *used);
    if (!used) return PROP_ERR_NOMEM;
    for (size_t k = 0; k < ns && nsel < cap; k++) nsel += (size_t)take(s, opt, used, cap, nsel, order[k]);
    /* stable split: selected rows first, both parts in key order; the smaller part waits aside */
    int aside_selected = nsel <= ns - nsel;
    size_t naside = aside_selected ? nsel : ns - nsel;
    size_t *aside = pp_malloc_array(naside ? naside : 1, sizeof *aside);
    if (!aside) {
      free(used);
      return PROP_ERR_NOMEM;
    }
    memset(used, 0, (opt->nbands + 1) * sizeof *used);
    size_t w = 0, t = 0, got = 0;
    for (size_t k = 0; k < ns; k++) {
      size_t r = order[k];
      int sel = take(s, opt, used, cap, got, r);
      got += (size_t)sel;
      if (sel == aside_selected) aside[t++] = r;
      else order[w++] = r;
    }
    if (aside_selected) {
      memmove(order + nsel, order, (ns - nsel) * sizeof *order);
      memcpy(order, aside, nsel * sizeof *order);
    } else {
      memcpy(order + nsel, aside, (ns - nsel) * sizeof *order);
    }
    free(aside);
    free(used);
  }
  if (dialer) {
    PP_TRY(dialer_ranks(order, nsel, s, dialer));
    for (size_t k = nsel; k < n; k++) dialer[k] = 0;
  }
  if (n_ranked) *n_ranked = ns;
  if (n_selected) *n_selected = nsel;
  return 0;
}

int prop_rank(const double *prob, const int *band, const double *value, const char *const *ids, size_t n,
              const prop_rank_options *opt, size_t *rank, unsigned char *selected, int *dialer_rank,
              size_t *n_selected) {
  prop_rank_options own;
  prop_rank_options_default(&own);
  PP_TRY(pp_opts_import(&own, sizeof own, opt, "prop_rank_options"));
  opt = &own;
  rank_src s = {prob, opt->by == PROP_RANK_VALUE ? value : NULL, band, NULL, ids, NULL, NULL};
  int rc = check_args("prop_rank", &s, band != NULL, n, opt);
  if (rc) return rc;
  size_t *order = pp_malloc_array(n ? n : 1, sizeof *order);
  int *dpos = dialer_rank ? pp_malloc_array(n ? n : 1, sizeof *dpos) : NULL;
  if (!order || (dialer_rank && !dpos)) {
    free(order);
    free(dpos);
    return PROP_ERR_NOMEM;
  }
  size_t nr = 0, nsel = 0;
  rc = rank_core(&s, n, opt, order, dpos, &nr, &nsel);
  if (!rc) {
    for (size_t k = 0; k < n; k++) {
      size_t i = order[k];
      if (rank) rank[i] = k < nr ? k + 1 : 0;
      if (selected) selected[i] = k < nsel;
      if (dialer_rank) dialer_rank[i] = dpos[k];
    }
    if (n_selected) *n_selected = nsel;
  }
  free(order);
  free(dpos);
  return rc;
}

int prop_rank_order(const double *prob, const uint8_t *band, const double *value, const char *id_text,
                    const size_t *id_offset, size_t n, const prop_rank_options *opt, size_t *order,
                    int *dialer_rank, size_t *n_ranked, size_t *n_selected) {
  prop_rank_options own;
  prop_rank_options_default(&own);
  PP_TRY(pp_opts_import(&own, sizeof own, opt, "prop_rank_options"));
  opt = &own;
  rank_src s = {prob, opt->by == PROP_RANK_VALUE ? value : NULL, NULL, band, NULL, id_text, id_offset};
  int rc = check_args("prop_rank_order", &s, band != NULL, n, opt);
  if (rc) return rc;
  if (!order && n) return pp_err(PROP_ERR_ARG, "prop_rank_order: order is NULL");
  if ((id_text == NULL) != (id_offset == NULL))
    return pp_err(PROP_ERR_ARG, "prop_rank_order: id_text and id_offset go together");
  return rank_core(&s, n, opt, order, dialer_rank, n_ranked, n_selected);
}
