/* prop_plan_create(): each row of a scored call list to at most one (tier, cell), maximising the
 * total expected value P(connect at the cell) x P(accept | connected) x the tier's multiplier x value
 * within each tier's capacity per open slot.
 *
 * An option of a row is a tier that takes it (its band, its minimum expected value) at an open slot
 * on one of the tier's channels the row has a phone for.  A capacitated tier x open slot is a
 * resource; the tiers without a capacity are the rows' unlimited alternative.
 *  - Greedy (the baseline): the options in order of expected value, each taken while its row is
 *    free and its resource has room.  Run lazily: a heap of rows keyed by their best option among
 *    the resources not yet full; a row whose resource filled meanwhile gets its next best and goes
 *    back.  Resources only fill up, so this is the sorted greedy exactly.
 *  - Exact (exact.c), when the rows that compete for capacity (a resource option better than their
 *    unlimited alternative) are at most opt->exact_max_rows: the optimum of the same problem.
 * Ties everywhere go to the earlier tier, slot, channel and row. */
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"

typedef struct option {
  double ev;
  int tier; /* -1: none */
  int cell;
  long res; /* the resource, -1 for an unlimited tier */
} option;

typedef struct ctx {
  const prop_policy *pol;
  const prop_plan_input *in;
  size_t n, K, H, nslot, nopen, R;
  size_t *open;       /* the open slots */
  long *res_of_tier;  /* per tier: its first resource (resources of tier t: res_of_tier[t] + open slot index), -1 */
  long *cap;          /* R */
  size_t *res_tier;   /* R: the tier of a resource */
  unsigned char *full;
  uint64_t *phones;   /* n: the channels a row has a phone for */
  double *a;          /* n: probability x value */
  uint32_t *takes;    /* n: the tiers that take the row's band */
} ctx;

/* The best channel of tier t at open slot os for row i: its option (ev < 0: none). */
static option tier_slot(const ctx *c, size_t i, size_t t, size_t os) {
  const pp_tier *tr = &c->pol->tiers[t];
  uint64_t ch = tr->channels & c->phones[i];
  size_t slot = c->open[os];
  const double *p = c->in->p_connect + i * c->K + slot * c->H;
  option o = {-1.0, -1, -1, -1};
  for (size_t h = 0; h < c->H; h++) {
    if (!(ch >> h & 1u)) continue;
    double ev = p[h] * c->a[i] * tr->mult;
    if (ev >= tr->min_ev && ev > o.ev) o = (option){ev, (int)t, (int)(slot * c->H + h), -1};
  }
  if (o.tier >= 0 && c->res_of_tier[t] >= 0) o.res = c->res_of_tier[t] + (long)os;
  return o;
}

/* Row i's best option: over every tier (limited ones only in resources not full, when full is set;
 * only_unlimited: the unlimited tiers alone). */
static option best_option(const ctx *c, size_t i, const unsigned char *full, int only_unlimited) {
  option best = {-1.0, -1, -1, -1};
  for (size_t t = 0; t < c->pol->ntiers; t++) {
    if (!(c->takes[i] >> t & 1u) || (only_unlimited && c->res_of_tier[t] >= 0)) continue;
    for (size_t os = 0; os < c->nopen; os++) {
      if (c->res_of_tier[t] >= 0 && full && full[c->res_of_tier[t] + (long)os]) continue;
      option o = tier_slot(c, i, t, os);
      if (o.tier >= 0 && o.ev > best.ev) best = o;
    }
  }
  return best;
}

/* ---- greedy ---------------------------------------------------------------------------------------- */
typedef struct entry {
  double ev;
  uint32_t row;
} entry;

static int before(const entry *x, const entry *y) { return x->ev > y->ev || (x->ev == y->ev && x->row < y->row); }

static void sift_down(entry *h, size_t n, size_t q) {
  for (;;) {
    size_t l = 2 * q + 1, r = l + 1, m = q;
    if (l < n && before(&h[l], &h[m])) m = l;
    if (r < n && before(&h[r], &h[m])) m = r;
    if (m == q) return;
    entry t = h[q];
    h[q] = h[m];
    h[m] = t;
    q = m;
  }
}

/* Every plannable row's best option with no resource full yet, on nthread threads (each row on its
 * own: the same for any count). */
static void first_options(const ctx *c, const unsigned char *ok, option *choice, int nthread) {
#pragma omp parallel for num_threads(nthread) schedule(static)
  for (size_t i = 0; i < c->n; i++)
    choice[i] = ok[i] ? best_option(c, i, c->full, 0) : (option){-1.0, -1, -1, -1};
}

/* The greedy plan into choice[] (tier -1: not called); the plannable rows are those with ok[i]. */
static int greedy(ctx *c, const unsigned char *ok, option *choice, int nthread) {
  entry *heap = pp_malloc_array(c->n + 1, sizeof *heap);
  long *load = pp_calloc(c->R + 1, sizeof *load);
  option *next = pp_malloc_array(c->n + 1, sizeof *next);
  if (!heap || !load || !next) {
    free(heap);
    free(load);
    free(next);
    return PROP_ERR_NOMEM;
  }
  first_options(c, ok, next, nthread);
  size_t nh = 0;
  for (size_t i = 0; i < c->n; i++) {
    choice[i] = (option){-1.0, -1, -1, -1};
    if (next[i].tier >= 0) heap[nh++] = (entry){next[i].ev, (uint32_t)i};
  }
  for (size_t q = nh / 2; q-- > 0;) sift_down(heap, nh, q);
  while (nh) {
    size_t i = heap[0].row;
    option o = next[i];
    if (o.res >= 0 && c->full[o.res]) { /* its resource filled meanwhile: back in with the next best */
      o = next[i] = best_option(c, i, c->full, 0);
      if (o.tier >= 0) {
        heap[0].ev = o.ev;
        sift_down(heap, nh, 0);
        continue;
      }
    } else {
      choice[i] = o;
      if (o.res >= 0 && ++load[o.res] >= c->cap[o.res]) c->full[o.res] = 1;
    }
    heap[0] = heap[--nh];
    sift_down(heap, nh, 0);
  }
  for (size_t r = 0; r < c->R; r++) c->full[r] = c->cap[r] == 0; /* as it was for the next user */
  free(heap);
  free(load);
  free(next);
  return 0;
}

/* ---- exact ------------------------------------------------------------------------------------------ */
/* The exact plan into choice[] when the competing rows are few enough; *ran says whether it ran. */
static int exact(ctx *c, const unsigned char *ok, size_t max_rows, option *choice, int *ran, size_t *competing) {
  *ran = 0;
  *competing = 0;
  option *alt = pp_malloc_array(c->n + 1, sizeof *alt);
  size_t *rows = pp_malloc_array(c->n + 1, sizeof *rows);
  int rc = alt && rows ? 0 : PROP_ERR_NOMEM;
  size_t m = 0;
  for (size_t i = 0; i < c->n && !rc; i++) {
    alt[i] = (option){-1.0, -1, -1, -1};
    if (!ok[i]) continue;
    alt[i] = best_option(c, i, NULL, 1);
    option any = best_option(c, i, c->full, 0);
    if (any.tier >= 0 && any.res >= 0 && (any.ev > alt[i].ev || alt[i].tier < 0)) rows[m++] = i;
  }
  *competing = m;
  double *gain = NULL;
  long *assign = NULL;
  if (!rc && c->R && m <= max_rows) {
    gain = pp_malloc_array(m * c->R + 1, sizeof *gain);
    assign = pp_malloc_array(m + 1, sizeof *assign);
    if (!gain || !assign) rc = PROP_ERR_NOMEM;
    for (size_t j = 0; j < m && !rc; j++)
      for (size_t r = 0; r < c->R; r++) gain[j * c->R + r] = -INFINITY;
    for (size_t t = 0; t < c->pol->ntiers && !rc; t++) {
      if (c->res_of_tier[t] < 0) continue;
      for (size_t j = 0; j < m; j++) {
        size_t i = rows[j];
        if (!(c->takes[i] >> t & 1u)) continue;
        double base = alt[i].tier >= 0 ? alt[i].ev : 0.0;
        for (size_t os = 0; os < c->nopen; os++) {
          option o = tier_slot(c, i, t, os);
          if (o.tier >= 0 && c->cap[o.res] > 0 && (o.ev > base || alt[i].tier < 0))
            gain[j * c->R + (size_t)o.res] = o.ev - base;
        }
      }
    }
    if (!rc) rc = pp_plan_exact(gain, m, c->R, c->cap, assign);
    if (!rc) {
      for (size_t i = 0; i < c->n; i++) choice[i] = alt[i];
      for (size_t j = 0; j < m; j++) {
        if (assign[j] < 0) continue;
        size_t r = (size_t)assign[j];
        choice[rows[j]] = tier_slot(c, rows[j], c->res_tier[r], r - (size_t)c->res_of_tier[c->res_tier[r]]);
      }
      *ran = 1;
    }
  }
  free(gain);
  free(assign);
  free(alt);
  free(rows);
  return rc;
}

/* ---- the set-up ----------------------------------------------------------------------------------- */
static void ctx_free(ctx *c) {
  free(c->open);
  free(c->res_of_tier);
  free(c->cap);
  free(c->res_tier);
  free(c->full);
  free(c->phones);
  free(c->a);
  free(c->takes);
}

static int check_input(const prop_policy *pol, const prop_contact *cm, const prop_plan_input *in) {
  if (in->n && (!in->ids || !in->probability || !in->band || !in->p_connect))
    return pp_err(PROP_ERR_ARG, "prop_plan_create: ids, probability, band and p_connect are required");
  if (in->n > UINT32_MAX - 1) return pp_err(PROP_ERR_ARG, "prop_plan_create: more than 2^32 rows");
  if (in->nbands < 1 || in->nbands > 64) return pp_err(PROP_ERR_ARG, "prop_plan_create: nbands must be 1..64, got %zu", in->nbands);
  if (pol->nchan != cm->grid.nchan || pol->nblocks != cm->grid.nblocks || pol->first_hour != cm->grid.first_hour ||
      pol->block_hours != cm->grid.block_hours)
    return pp_err(PROP_ERR_ARG, "prop_plan_create: the policy was read against another contact grid");
  for (size_t t = 0; t < pol->ntiers; t++)
    if (pol->tiers[t].max_band > (int)in->nbands)
      return pp_err(PROP_ERR_RECIPE, "policy: tiers[%zu].bands: band %d is beyond the model's %zu bands", t,
                    pol->tiers[t].max_band, in->nbands);
  size_t K = pp_grid_ncells(&cm->grid);
  for (size_t i = 0; i < in->n; i++) {
    double p = in->probability[i];
    if (p == p && !(p >= 0.0 && p <= 1.0))
      return pp_err(PROP_ERR_VALUE, "prop_plan_create: row %zu: probability %s is outside [0, 1]", i + 1, PP_G(p));
    if (in->band[i] < 0 || in->band[i] > (int)in->nbands)
      return pp_err(PROP_ERR_VALUE, "prop_plan_create: row %zu: band %d is outside 0..%zu", i + 1, in->band[i], in->nbands);
    for (size_t k = 0; k < K; k++)
      if (!(in->p_connect[i * K + k] >= 0.0 && in->p_connect[i * K + k] <= 1.0))
        return pp_err(PROP_ERR_VALUE, "prop_plan_create: row %zu: P(connect) of cell %zu is %s, outside [0, 1]", i + 1, k,
                      PP_G(in->p_connect[i * K + k]));
  }
  return 0;
}

static int ctx_init(ctx *c, const prop_policy *pol, const prop_contact *cm, const prop_plan_input *in) {
  memset(c, 0, sizeof *c);
  c->pol = pol;
  c->in = in;
  c->n = in->n;
  c->K = pp_grid_ncells(&cm->grid);
  c->H = cm->grid.nchan;
  c->nslot = pp_grid_nslots(&cm->grid);
  c->open = pp_malloc_array(c->nslot, sizeof *c->open);
  c->res_of_tier = pp_malloc_array(pol->ntiers, sizeof *c->res_of_tier);
  c->phones = pp_malloc_array(c->n + 1, sizeof *c->phones);
  c->a = pp_malloc_array(c->n + 1, sizeof *c->a);
  c->takes = pp_calloc(c->n + 1, sizeof *c->takes);
  if (!c->open || !c->res_of_tier || !c->phones || !c->a || !c->takes) return PROP_ERR_NOMEM;
  for (size_t s = 0; s < c->nslot; s++)
    if (pol->open[s]) c->open[c->nopen++] = s;
  for (size_t t = 0; t < pol->ntiers; t++) {
    c->res_of_tier[t] = pol->tiers[t].capacity >= 0 ? (long)c->R : -1;
    if (pol->tiers[t].capacity >= 0) c->R += c->nopen;
  }
  c->cap = pp_malloc_array(c->R + 1, sizeof *c->cap);
  c->res_tier = pp_malloc_array(c->R + 1, sizeof *c->res_tier);
  c->full = pp_calloc(c->R + 1, 1);
  if (!c->cap || !c->res_tier || !c->full) return PROP_ERR_NOMEM;
  for (size_t t = 0; t < pol->ntiers; t++)
    for (size_t os = 0; c->res_of_tier[t] >= 0 && os < c->nopen; os++) {
      size_t r = (size_t)c->res_of_tier[t] + os;
      c->cap[r] = pol->tiers[t].capacity;
      c->res_tier[r] = t;
      c->full[r] = c->cap[r] == 0;
    }
  for (size_t i = 0; i < c->n; i++) {
    double v = in->value ? in->value[i] : 1.0;
    c->a[i] = (in->probability[i] == in->probability[i] ? in->probability[i] : 0.0) * (v == v ? v : 0.0);
    c->phones[i] = ~0ull;
    if (in->phones) {
      c->phones[i] = 0;
      for (size_t h = 0; h < c->H; h++) {
        const char *ph = in->phones[i * c->H + h];
        if (ph && *ph) c->phones[i] |= 1ull << h;
      }
    }
    int b = in->band[i];
    for (size_t t = 0; b >= 1 && t < pol->ntiers; t++)
      if (pol->tiers[t].bands >> (b - 1) & 1u) c->takes[i] |= 1u << t;
  }
  return 0;
}

/* Which rows may be planned (ok[i]); the others get their reason. */
static void screen_rows(const ctx *c, const prop_contact *cm, unsigned char *ok, uint8_t *why, uint32_t *detail) {
  const prop_policy *pol = c->pol;
  int64_t first_day = pol->window_days ? cm->last_day - pol->window_days + 1 : INT64_MIN;
  for (size_t i = 0; i < c->n; i++) {
    const char *id = c->in->ids[i];
    ok[i] = 0;
    detail[i] = 0;
    if (c->in->probability[i] != c->in->probability[i] || c->in->band[i] == 0) why[i] = PP_WHY_UNSCORED;
    else if (!id || !*id) why[i] = PP_WHY_NO_ID;
    else if (!c->takes[i]) why[i] = PP_WHY_NO_TIER;
    else {
      long cu = pol->max_attempts ? pp_contact_find(cm, id) : -1;
      size_t att = cu >= 0 ? pp_contact_attempts_since(cm, (size_t)cu, first_day) : 0;
      if (cu >= 0 && att >= (size_t)pol->max_attempts) {
        why[i] = PP_WHY_CAP;
        detail[i] = att > UINT32_MAX ? UINT32_MAX : (uint32_t)att;
      } else {
        why[i] = PP_WHY_CALLED;
        ok[i] = 1;
      }
    }
  }
}

/* The reason of a plannable row left without a call. */
static void reason_uncalled(const ctx *c, size_t i, uint8_t *why, uint32_t *detail) {
  uint32_t with_option = 0, with_phone = 0;
  for (size_t t = 0; t < c->pol->ntiers; t++) {
    if (!(c->takes[i] >> t & 1u)) continue;
    if (c->pol->tiers[t].channels & c->phones[i]) with_phone |= 1u << t;
    for (size_t os = 0; os < c->nopen && !(with_option >> t & 1u); os++)
      if (tier_slot(c, i, t, os).tier >= 0) with_option |= 1u << t;
  }
  *why = with_option ? PP_WHY_NO_CAPACITY : with_phone ? PP_WHY_BELOW_MIN : PP_WHY_NO_PHONE;
  *detail = with_option ? with_option : with_phone ? with_phone : c->takes[i];
}

/* ---- the plan ------------------------------------------------------------------------------------- */
void prop_plan_input_default(prop_plan_input *in) {
  if (!in) return;
  memset(in, 0, sizeof *in);
  in->struct_size = sizeof *in;
  in->nbands = PROP_DEFAULT_NBANDS;
}

void prop_plan_options_default(prop_plan_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
  opt->exact_max_rows = 50000;
}

void prop_plan_free(prop_plan *p) {
  if (!p) return;
  for (size_t t = 0; p->tier_names && t < p->ntiers; t++) free(p->tier_names[t]);
  free(p->tier_names);
  for (size_t h = 0; p->chan_names && h < p->nchan; h++) free(p->chan_names[h]);
  free(p->chan_names);
  free(p->tier_mult);
  free(p->phone_code);
  free(p->source_id);
  pp_buf_free(&p->text);
  free(p->id_off);
  free(p->phone_off);
  free(p->err_off);
  free(p->prob);
  free(p->pconn);
  free(p->ev);
  free(p->band);
  free(p->tier);
  free(p->cell);
  free(p->slot_rank);
  free(p->why);
  free(p->detail);
  free(p->summary_json);
  free(p);
}

static int add_text(prop_plan *p, const char *s, size_t *off) {
  *off = p->text.len;
  pp_put_bytes(&p->text, s, strlen(s) + 1);
  return pp_buf_status(&p->text);
}

static int plan_alloc(prop_plan *p, const prop_policy *pol, const prop_contact *cm, size_t n) {
  int rc = 0;
  p->n = n;
  p->K = pp_grid_ncells(&cm->grid);
  p->nchan = cm->grid.nchan;
  p->nblocks = (size_t)cm->grid.nblocks;
  p->first_hour = cm->grid.first_hour;
  p->block_hours = cm->grid.block_hours;
  p->ntiers = pol->ntiers;
  p->list_id = pol->list_id;
  p->phone_code = pp_strdup(pol->phone_code);
  p->source_id = pp_strdup(pol->source_id);
  p->tier_names = pp_calloc(pol->ntiers, sizeof *p->tier_names);
  p->tier_mult = pp_malloc_array(pol->ntiers, sizeof *p->tier_mult);
  p->chan_names = pp_calloc(p->nchan, sizeof *p->chan_names);
  if (!p->phone_code || !p->source_id || !p->tier_names || !p->tier_mult || !p->chan_names) return PROP_ERR_NOMEM;
  for (size_t t = 0; t < pol->ntiers; t++) {
    p->tier_mult[t] = pol->tiers[t].mult;
    if (!(p->tier_names[t] = pp_strdup(pol->tiers[t].name))) rc = PROP_ERR_NOMEM;
  }
  for (size_t h = 0; h < p->nchan; h++)
    if (!(p->chan_names[h] = pp_strdup(cm->grid.channels[h]))) rc = PROP_ERR_NOMEM;
  p->id_off = pp_malloc_array(n + 1, sizeof *p->id_off);
  p->phone_off = pp_malloc_array(n + 1, sizeof *p->phone_off);
  p->err_off = pp_malloc_array(n + 1, sizeof *p->err_off);
  p->prob = pp_malloc_array(n + 1, sizeof *p->prob);
  p->pconn = pp_malloc_array(n + 1, sizeof *p->pconn);
  p->ev = pp_malloc_array(n + 1, sizeof *p->ev);
  p->band = pp_malloc_array(n + 1, sizeof *p->band);
  p->tier = pp_malloc_array(n + 1, sizeof *p->tier);
  p->cell = pp_malloc_array(n + 1, sizeof *p->cell);
  p->slot_rank = pp_calloc(n + 1, sizeof *p->slot_rank);
  p->why = pp_malloc_array(n + 1, sizeof *p->why);
  p->detail = pp_malloc_array(n + 1, sizeof *p->detail);
  if (!p->id_off || !p->phone_off || !p->err_off || !p->prob || !p->pconn || !p->ev || !p->band || !p->tier ||
      !p->cell || !p->slot_rank || !p->why || !p->detail)
    rc = PROP_ERR_NOMEM;
  return rc;
}

/* The rows' fields from the chosen options. */
static int plan_fill(prop_plan *p, const ctx *c, const option *choice) {
  const prop_plan_input *in = c->in;
  for (size_t i = 0; i < c->n; i++) {
    const char *id = in->ids[i] ? in->ids[i] : "";
    PP_TRY(add_text(p, id, &p->id_off[i]));
    p->err_off[i] = SIZE_MAX;
    if (in->row_error && in->row_error[i]) PP_TRY(add_text(p, in->row_error[i], &p->err_off[i]));
    p->prob[i] = in->probability[i];
    p->band[i] = (uint8_t)in->band[i];
    p->tier[i] = (int8_t)choice[i].tier;
    p->cell[i] = (int16_t)choice[i].cell;
    p->ev[i] = choice[i].tier >= 0 ? choice[i].ev : NAN;
    p->pconn[i] = choice[i].tier >= 0 ? in->p_connect[i * c->K + (size_t)choice[i].cell] : NAN;
    const char *ph = choice[i].tier >= 0 && in->phones ? in->phones[i * c->H + (size_t)choice[i].cell % c->H] : NULL;
    PP_TRY(add_text(p, ph ? ph : "", &p->phone_off[i]));
  }
  return 0;
}

typedef struct ranked {
  double ev;
  size_t row;
  size_t slot;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->slot != y->slot) return x->slot < y->slot ? -1 : 1;
  if (x->ev != y->ev) return x->ev > y->ev ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

/* slot_rank: by slot, the called rows by expected value (ties by row). */
static int slot_ranks(prop_plan *p) {
  size_t m = 0;
  for (size_t i = 0; i < p->n; i++) m += p->tier[i] >= 0;
  ranked *r = pp_malloc_array(m + 1, sizeof *r);
  if (!r) return PROP_ERR_NOMEM;
  m = 0;
  for (size_t i = 0; i < p->n; i++)
    if (p->tier[i] >= 0) r[m++] = (ranked){p->ev[i], i, (size_t)p->cell[i] / p->nchan};
  qsort(r, m, sizeof *r, cmp_ranked);
  for (size_t q = 0, rank = 0; q < m; q++) {
    rank = q && r[q].slot == r[q - 1].slot ? rank + 1 : 1;
    p->slot_rank[r[q].row] = rank > UINT32_MAX ? UINT32_MAX : (uint32_t)rank;
  }
  free(r);
  return 0;
}

static double total_ev(const option *choice, size_t n) {
  double t = 0;
  for (size_t i = 0; i < n; i++)
    if (choice[i].tier >= 0) t += choice[i].ev;
  return t;
}

/* Greedy, then exact when small enough; choice gets the better (exact unless it lost to rounding). */
static int assign_rows(ctx *c, const unsigned char *ok, const prop_plan_options *o, option *choice, pp_plan_stats *st) {
  PP_TRY(greedy(c, ok, choice, pp_threads(o->nthread)));
  st->greedy = total_ev(choice, c->n);
  st->exact = NAN;
  st->method = "greedy";
  option *ex = pp_malloc_array(c->n + 1, sizeof *ex);
  if (!ex) return PROP_ERR_NOMEM;
  int ran = 0;
  pp_err_state saved;
  pp_err_save(&saved);
  int rc = exact(c, ok, o->exact_max_rows, ex, &ran, &st->competing);
  if (rc == PROP_ERR_STATE) { /* rounding broke a path: keep the greedy plan, say so */
    st->exact_note = "the exact assignment stopped on rounding";
    pp_err_restore(&saved);
    rc = 0;
  } else if (!rc && !ran) {
    st->exact_note = !c->R ? "no tier has a capacity" : "more competing rows than exact_max_rows";
  }
  if (!rc && ran) {
    st->exact = total_ev(ex, c->n);
    if (st->exact >= st->greedy - 1e-9 * (1.0 + fabs(st->greedy))) {
      memcpy(choice, ex, c->n * sizeof *choice);
      st->method = "exact";
    } else {
      st->exact_note = "the exact total fell below the greedy one by rounding";
    }
  }
  free(ex);
  return rc;
}

int prop_plan_create(const prop_policy *pol, const prop_contact *cm, const prop_plan_input *in,
                     const prop_plan_options *opt, prop_plan **out) {
  if (!pol || !cm || !in || !out) return pp_err(PROP_ERR_ARG, "prop_plan_create: NULL argument");
  *out = NULL;
  prop_plan_options o;
  prop_plan_options_default(&o);
  PP_TRY(pp_opts_import(&o, sizeof o, opt, "prop_plan_options"));
  prop_plan_input own;
  prop_plan_input_default(&own);
  PP_TRY(pp_opts_import(&own, sizeof own, in, "prop_plan_input"));
  in = &own;
  PP_TRY(check_input(pol, cm, in));
  ctx c;
  option *choice = NULL;
  unsigned char *ok = NULL;
  prop_plan *p = pp_calloc(1, sizeof *p);
  int rc = p ? ctx_init(&c, pol, cm, in) : PROP_ERR_NOMEM;
  if (!rc) rc = plan_alloc(p, pol, cm, in->n);
  if (!rc) {
    p->cap_max = pol->max_attempts;
    p->cap_window = pol->window_days;
  }
  if (!rc) {
    choice = pp_malloc_array(in->n + 1, sizeof *choice);
    ok = pp_malloc_array(in->n + 1, 1);
    if (!choice || !ok) rc = PROP_ERR_NOMEM;
  }
  pp_plan_stats st = {0};
  if (!rc) {
    screen_rows(&c, cm, ok, p->why, p->detail);
    rc = assign_rows(&c, ok, &o, choice, &st);
  }
  for (size_t i = 0; !rc && i < in->n; i++)
    if (ok[i] && choice[i].tier < 0) reason_uncalled(&c, i, &p->why[i], &p->detail[i]);
  if (!rc) rc = plan_fill(p, &c, choice);
  if (!rc) rc = slot_ranks(p);
  if (!rc) rc = pp_plan_summary(p, &st);
  if (p) ctx_free(&c);
  free(choice);
  free(ok);
  if (rc) {
    prop_plan_free(p);
    return rc;
  }
  *out = p;
  return 0;
}
