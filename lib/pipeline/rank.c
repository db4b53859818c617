/* The call list: deterministic ordering, capacity and band quotas, and the dialer's rank. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"

void prop_rank_options_default(prop_rank_options *opt) {
  if (opt) memset(opt, 0, sizeof *opt);
}

typedef struct rank_item {
  double key;
  const char *id;
  size_t row;
} rank_item;

static int cmp_item(const void *a, const void *b) {
  const rank_item *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  if (x->id && y->id) {
    int c = strcmp(x->id, y->id);
    if (c) return c;
  } else if (x->id || y->id) {
    return x->id ? -1 : 1; /* rows with an id before rows without */
  }
  return (x->row > y->row) - (x->row < y->row);
}

/* Map call positions 0..ns-1 (runs of equal band given by run_start) onto 32767..1: each run
 * gets a share of the range proportional to its length (at least one value), so runs never share
 * a dialer rank while there are at most 32767 runs. */
static void dialer_ranks(const size_t *order_sel, size_t ns, const int *band, int *dialer) {
  if (ns == 0) return;
  size_t nruns = 1;
  for (size_t i = 1; i < ns; i++) nruns += band[order_sel[i]] != band[order_sel[i - 1]];
  const size_t R = PROP_DIALER_RANK_MAX;
  if (ns <= R) { /* every row its own value: strictly decreasing */
    for (size_t i = 0; i < ns; i++) dialer[order_sel[i]] = (int)(R - i);
    return;
  }
  if (nruns > R) { /* more runs than values: proportional position only */
    for (size_t i = 0; i < ns; i++) dialer[order_sel[i]] = (int)(R - (i * R) / ns);
    return;
  }
  /* Distribute R values over runs: one each, the rest in proportion to run length. */
  size_t spare = R - nruns, top = R, i = 0;
  while (i < ns) {
    size_t j = i + 1;
    while (j < ns && band[order_sel[j]] == band[order_sel[i]]) j++;
    size_t len = j - i;
    size_t vals = 1 + (size_t)((double)spare * (double)len / (double)ns);
    if (vals > top) vals = top;
    for (size_t k = 0; k < len; k++) dialer[order_sel[i + k]] = (int)(top - (k * vals) / len);
    top -= vals;
    if (top == 0) top = 1;
    i = j;
  }
}

int prop_rank(const double *prob, const int *band, const double *value, const char *const *ids, size_t n,
              const prop_rank_options *opt, size_t *rank, unsigned char *selected, int *dialer_rank,
              size_t *n_selected) {
  prop_rank_options dflt;
  prop_rank_options_default(&dflt);
  if (!opt) opt = &dflt;
  if (!prob && n) return pp_err(PROP_ERR_ARG, "prop_rank: prob is NULL");
  if (opt->by == PROP_RANK_VALUE && !value && n)
    return pp_err(PROP_ERR_ARG, "prop_rank: ranking by value needs a value column");
  if (opt->by != PROP_RANK_PROBABILITY && opt->by != PROP_RANK_VALUE)
    return pp_err(PROP_ERR_ARG, "prop_rank: unknown ranking key %d", opt->by);
  if (opt->band_quota && !band) return pp_err(PROP_ERR_ARG, "prop_rank: band quotas need the bands");
  rank_item *items = pp_malloc_array(n ? n : 1, sizeof *items);
  size_t *sel_order = pp_malloc_array(n ? n : 1, sizeof *sel_order);
  size_t *quota_used = opt->band_quota ? pp_calloc(opt->nbands + 1, sizeof *quota_used) : NULL;
  unsigned char *is_sel = pp_calloc(n ? n : 1, 1);
  int *bands_tmp = NULL;
  if (!items || !sel_order || !is_sel || (opt->band_quota && !quota_used)) {
    free(items);
    free(sel_order);
    free(quota_used);
    free(is_sel);
    return PROP_ERR_NOMEM;
  }
  size_t ns = 0;
  for (size_t i = 0; i < n; i++) {
    if (prob[i] != prob[i]) continue;
    double key = prob[i];
    if (opt->by == PROP_RANK_VALUE) key = prob[i] * (value[i] == value[i] ? value[i] : 0.0);
    items[ns].key = key;
    items[ns].id = ids ? ids[i] : NULL;
    items[ns].row = i;
    ns++;
  }
  qsort(items, ns, sizeof *items, cmp_item);
  size_t nsel = 0, cap = opt->capacity ? opt->capacity : (size_t)-1;
  for (size_t k = 0; k < ns && nsel < cap; k++) {
    size_t r = items[k].row;
    if (opt->band_quota) {
      int b = band[r];
      if (b < 1 || (size_t)b > opt->nbands || quota_used[b] >= opt->band_quota[b - 1]) continue;
      quota_used[b]++;
    }
    is_sel[r] = 1;
    sel_order[nsel++] = r;
  }
  if (rank) {
    for (size_t i = 0; i < n; i++) rank[i] = 0;
    size_t pos = 1;
    for (size_t k = 0; k < ns; k++)
      if (is_sel[items[k].row]) rank[items[k].row] = pos++;
    for (size_t k = 0; k < ns; k++)
      if (!is_sel[items[k].row]) rank[items[k].row] = pos++;
  }
  if (selected) memcpy(selected, is_sel, n);
  if (dialer_rank) {
    for (size_t i = 0; i < n; i++) dialer_rank[i] = 0;
    if (!band) {
      bands_tmp = pp_calloc(n ? n : 1, sizeof *bands_tmp);
      if (!bands_tmp) {
        free(items);
        free(sel_order);
        free(quota_used);
        free(is_sel);
        return PROP_ERR_NOMEM;
      }
    }
    dialer_ranks(sel_order, nsel, band ? band : bands_tmp, dialer_rank);
  }
  if (n_selected) *n_selected = nsel;
  free(bands_tmp);
  free(items);
  free(sel_order);
  free(quota_used);
  free(is_sel);
  return 0;
}
