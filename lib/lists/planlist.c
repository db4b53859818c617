/* The rows of a call plan (prop_planlist), gathered chunk by chunk as the call list's are: each row
 * scored (through an internal prop_calllist: ids, probabilities, bands, values and the reasons of the rows
 * that cannot be scored, exactly as `score` keeps them), its P(connect) in every cell of the contact
 * model, and its phone numbers on the policy's channels; then planned by lib/plan's assignment. */
#include <stdlib.h>
#include <string.h>

#include "contact/contact.h"
#include "lists/lists.h"
#include "pipeline/pipeline.h"
#include "plan/plan.h"

struct prop_planlist {
  const prop_model *m;
  const prop_contact *c;
  const prop_policy *pol;
  prop_calllist *cl;
  size_t K, H, n, cap;
  double *pconn;      /* n x K */
  int phones;         /* the policy names phone columns */
  pp_textbuf text;    /* phone numbers */
  size_t *phone_off;  /* n x H, SIZE_MAX: none */
};

void prop_planlist_options_default(prop_planlist_options *opt) {
  if (!opt) return;
  memset(opt, 0, sizeof *opt);
  opt->struct_size = sizeof *opt;
}

void prop_planlist_free(prop_planlist *pl) {
  if (!pl) return;
  prop_calllist_free(pl->cl);
  free(pl->pconn);
  pp_textbuf_free(&pl->text);
  free(pl->phone_off);
  free(pl);
}

static int make_list(prop_planlist *pl, const prop_planlist_options *o) {
  prop_rank_options ro;
  prop_rank_options_default(&ro);
  ro.by = o->value_column ? PROP_RANK_VALUE : PROP_RANK_PROBABILITY; /* keeps the values */
  prop_calllist_options lo;
  prop_calllist_options_default(&lo);
  lo.predict = o->predict;
  lo.rank = &ro;
  lo.value_column = o->value_column;
  lo.order = PROP_ORDER_INPUT;
  lo.source = o->source;
  lo.memory_limit = 0; /* the plan's assignment reads every row from memory (pp_calllist_rows_get) */
  return prop_calllist_create(pl->m, &lo, &pl->cl);
}

int prop_planlist_create(const prop_model *m, const prop_contact *c, const prop_policy *pol,
                         const prop_planlist_options *opt, prop_planlist **out) {
  if (!out) return pp_err(PROP_ERR_ARG, "prop_planlist_create: out is NULL");
  *out = NULL;
  if (!m || !c || !pol) return pp_err(PROP_ERR_ARG, "prop_planlist_create: NULL model, contact model or policy");
  if (!m->schema->id_col)
    return pp_err(PROP_ERR_SCHEMA, "the model has no id column: a plan needs customer ids (for the attempt cap and "
                  "the dialer)");
  prop_planlist_options o;
  prop_planlist_options_default(&o);
  PP_TRY(pp_opts_import(&o, sizeof o, opt, "prop_planlist_options"));
  prop_planlist *pl = pp_calloc(1, sizeof *pl);
  if (!pl) return PROP_ERR_NOMEM;
  pl->m = m;
  pl->c = c;
  pl->pol = pol;
  pl->K = prop_contact_n_cells(c);
  pl->H = pol->nchan;
  for (size_t h = 0; h < pl->H; h++) pl->phones |= pol->phone_cols[h] != NULL;
  int rc = make_list(pl, &o);
  if (rc) {
    prop_planlist_free(pl);
    return rc;
  }
  *out = pl;
  return 0;
}

static int grow(prop_planlist *pl, size_t need) {
  if (need <= pl->cap && pl->cap) return 0; /* allocated even for an empty first chunk: predict needs its output */
  size_t cap = pl->cap ? pl->cap : 4096;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  PP_TRY(pp_realloc_array(&pl->pconn, cap, pl->K * sizeof *pl->pconn));
  if (pl->phones) PP_TRY(pp_realloc_array(&pl->phone_off, cap, pl->H * sizeof *pl->phone_off));
  pl->cap = cap;
  return 0;
}

/* Row i's phone numbers on the policy's channels (the columns must be in f). */
static int add_phones(prop_planlist *pl, const prop_frame *f, const long *col, size_t i) {
  for (size_t h = 0; h < pl->H; h++) {
    const char *ph = col[h] >= 0 ? prop_frame_string_value(f, (size_t)col[h], i) : NULL;
    size_t *off = &pl->phone_off[(pl->n + i) * pl->H + h];
    *off = SIZE_MAX;
    if (ph && *ph) PP_TRY(pp_textbuf_add(&pl->text, ph, off));
  }
  return 0;
}

int prop_planlist_add(prop_planlist *pl, const prop_frame *f) {
  if (!pl || !f) return pp_err(PROP_ERR_ARG, "prop_planlist_add: NULL argument");
  long col[64];
  for (size_t h = 0; h < pl->H && h < 64; h++) {
    const char *name = pl->pol->phone_cols[h];
    col[h] = name ? prop_frame_find(f, name) : -1;
    if (name && col[h] < 0)
      return pp_err(PROP_ERR_SCHEMA, "%s: the policy's phone column '%s' is missing", pp_frame_source(f), name);
  }
  PP_TRY(grow(pl, pl->n + f->nrows));
  PP_TRY(prop_contact_predict(pl->c, f, pl->m->schema->id_col, pl->pconn + pl->n * pl->K));
  for (size_t i = 0; pl->phones && i < f->nrows; i++) PP_TRY(add_phones(pl, f, col, i));
  PP_TRY(prop_calllist_add(pl->cl, f, NULL));
  pl->n += f->nrows;
  return 0;
}

/* The plan's input arrays over the gathered rows (pointers into the list and the text). */
static int plan_input(const prop_planlist *pl, prop_plan_input *in, const char ***ids, const char ***errs,
                      const char ***phones, int **band) {
  pp_calllist_rows r;
  pp_calllist_rows_get(pl->cl, &r);
  const size_t n = r.n ? r.n : 1;
  *ids = pp_malloc_array(n, sizeof **ids);
  *errs = pp_malloc_array(n, sizeof **errs);
  *band = pp_malloc_array(n, sizeof **band);
  *phones = pl->phones ? pp_malloc_array(n, pl->H * sizeof **phones) : NULL;
  if (!*ids || !*errs || !*band || (pl->phones && !*phones)) return PROP_ERR_NOMEM;
  for (size_t i = 0; i < r.n; i++) {
    (*ids)[i] = r.text + r.id_off[i];
    (*errs)[i] = pp_calllist_reason(pl->cl, i);
    (*band)[i] = r.band[i];
    for (size_t h = 0; pl->phones && h < pl->H; h++) {
      size_t off = pl->phone_off[i * pl->H + h];
      (*phones)[i * pl->H + h] = off == SIZE_MAX ? NULL : pl->text.p + off;
    }
  }
  prop_plan_input_default(in);
  in->n = r.n;
  in->ids = *ids;
  in->probability = r.prob;
  in->band = *band;
  in->nbands = pl->m->bands.n;
  in->value = r.value;
  in->p_connect = pl->pconn;
  in->row_error = *errs;
  in->phones = *phones;
  return 0;
}

int prop_planlist_plan(const prop_planlist *pl, const prop_plan_options *opt, prop_plan **out) {
  if (!out) return pp_err(PROP_ERR_ARG, "prop_planlist_plan: out is NULL");
  *out = NULL;
  if (!pl) return pp_err(PROP_ERR_ARG, "prop_planlist_plan: NULL list");
  const char **ids = NULL, **errs = NULL, **phones = NULL;
  int *band = NULL;
  prop_plan_input in;
  int rc = plan_input(pl, &in, &ids, &errs, &phones, &band);
  if (!rc) rc = prop_plan_create(pl->pol, pl->c, &in, opt, out);
  free(ids), free(errs), free(phones), free(band);
  return rc;
}

size_t prop_planlist_n_rows(const prop_planlist *pl) { return pl ? pl->n : 0; }
