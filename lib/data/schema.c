/* The schema (a model's input features, fixed at training), its serialisation, and the binding of
 * a frame to it (column lookup and category re-coding done once, rows filled fast). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

#define SCHEMA_LAYOUT 2u /* 2 added the negative label; 1 still loads */

/* ---- schema ------------------------------------------------------------------------------------ */

static void feature_release(pp_feature *ft) {
  free(ft->name);
  if (ft->cats)
    for (size_t k = 0; k < ft->ncats; k++) free(ft->cats[k]);
  free(ft->cats);
  pp_strmap_free(&ft->map);
  memset(ft, 0, sizeof *ft);
}

void pp_schema_free(pp_schema *s) {
  if (!s) return;
  if (s->feat)
    for (size_t j = 0; j < s->nfeat; j++) feature_release(&s->feat[j]);
  free(s->feat);
  free(s->id_col);
  free(s->target);
  free(s->positive);
  free(s->negative);
  free(s->connected);
  free(s->time_col);
  free(s);
}

static int same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* Is column `name` kept out of the inputs by opt?  ignored holds opt's ignored names (a map, not
 * a scan per column: a wide file may ignore thousands of columns). */
static int excluded(const prop_train_options *opt, const pp_strmap *ignored, const char *name) {
  return same(name, opt->target) || same(name, opt->id) || same(name, opt->connected) ||
         same(name, opt->time_col) || pp_strmap_get(ignored, name, NULL);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The labels of column c that occur in at least one row, sorted by byte order, with their map. */
static int feature_categories(const prop_frame *f, const pp_column *c, pp_feature *ft) {
  size_t nd = c->ndict;
  unsigned char *used = pp_calloc(nd, 1);
  if (!used) return PROP_ERR_NOMEM;
  size_t nu = 0;
  for (size_t i = 0; i < f->nrows; i++) {
    int32_t k = c->code[i];
    if (k >= 0 && (size_t)k < nd && !used[k]) {
      used[k] = 1;
      nu++;
    }
  }
  int rc = 0;
  ft->cats = pp_calloc(nu, sizeof *ft->cats);
  if (!ft->cats) rc = PROP_ERR_NOMEM;
  for (size_t k = 0, m = 0; k < nd && !rc; k++) {
    if (!used[k]) continue;
    if (!(ft->cats[m] = pp_strdup(c->dict[k]))) rc = PROP_ERR_NOMEM;
    ft->ncats = ++m;
  }
  free(used);
  if (rc) return rc;
  if (ft->ncats > 1) qsort(ft->cats, ft->ncats, sizeof *ft->cats, cmp_str);
  for (size_t k = 0; k < ft->ncats; k++) PP_TRY(pp_strmap_put(&ft->map, ft->cats[k], k, NULL));
  return 0;
}

static int need_column(const prop_frame *f, const char *name, const char *role) {
  if (name && prop_frame_find(f, name) < 0)
    return pp_err(PROP_ERR_SCHEMA, "%s: %s column '%s' not found", pp_frame_source(f), role, name);
  return 0;
}

int pp_schema_from_frame(const prop_frame *f, const prop_train_options *opt, pp_schema **out) {
  if (!f || !opt || !out) return pp_err(PROP_ERR_ARG, "pp_schema_from_frame: NULL argument");
  *out = NULL;
  if (!opt->target || !*opt->target)
    return pp_err(PROP_ERR_ARG, "%s: no target column given", pp_frame_source(f));
  if (opt->n_ignore && !opt->ignore)
    return pp_err(PROP_ERR_ARG, "%s: n_ignore is %zu but ignore is NULL", pp_frame_source(f), opt->n_ignore);
  for (size_t k = 0; k < opt->n_ignore; k++)
    if (!opt->ignore[k]) return pp_err(PROP_ERR_ARG, "%s: ignore[%zu] is NULL", pp_frame_source(f), k);
  /* an ignored name must be a column (or one the reader left out): a misspelt one would leave the
   * column it meant among the inputs, e.g. an outcome-derived amount */
  for (size_t k = 0; k < opt->n_ignore; k++)
    if (prop_frame_find(f, opt->ignore[k]) < 0 && !pp_frame_was_dropped(f, opt->ignore[k]))
      return pp_err(PROP_ERR_SCHEMA, "%s: ignored column '%s' is not in the data", pp_frame_source(f), opt->ignore[k]);
  /* one column, one role */
  const char *role_col[4] = {opt->target, opt->id, opt->connected, opt->time_col};
  static const char *const role_name[4] = {"target", "id", "connected", "time"};
  for (int a = 0; a < 4; a++)
    for (int b = a + 1; b < 4; b++)
      if (same(role_col[a], role_col[b]))
        return pp_err(PROP_ERR_SCHEMA, "%s: column '%s' is both the %s and the %s column", pp_frame_source(f),
                      role_col[a], role_name[a], role_name[b]);
  PP_TRY(need_column(f, opt->target, "target"));
  PP_TRY(need_column(f, opt->id, "id"));
  PP_TRY(need_column(f, opt->connected, "connected"));
  PP_TRY(need_column(f, opt->time_col, "time"));
  if (opt->time_col) PP_TRY(pp_frame_periods(f, opt->time_col, NULL, NULL)); /* one period per row, one format */
  const pp_column *tc = &f->cols[prop_frame_find(f, opt->target)];
  if (tc->type == PROP_COL_ID)
    return pp_err(PROP_ERR_SCHEMA, "%s: target column '%s' is an id column", pp_frame_source(f), opt->target);
  pp_strmap ign;
  pp_strmap_init(&ign);
  int rc = 0;
  for (size_t k = 0; k < opt->n_ignore && !rc; k++) rc = pp_strmap_put(&ign, opt->ignore[k], k, NULL);
  pp_schema *s = rc ? NULL : pp_calloc(1, sizeof *s);
  if (!s) {
    pp_strmap_free(&ign);
    return PROP_ERR_NOMEM;
  }
  size_t nf = 0;
  for (size_t j = 0; j < f->ncols; j++) {
    prop_coltype t = f->cols[j].type;
    if ((t == PROP_COL_NUMERIC || t == PROP_COL_CATEGORICAL) && !excluded(opt, &ign, f->cols[j].name)) nf++;
  }
  if (!(s->feat = pp_calloc(nf, sizeof *s->feat))) rc = PROP_ERR_NOMEM;
  for (size_t j = 0; j < f->ncols && !rc; j++) {
    const pp_column *c = &f->cols[j];
    if ((c->type != PROP_COL_NUMERIC && c->type != PROP_COL_CATEGORICAL) || excluded(opt, &ign, c->name)) continue;
    pp_feature *ft = &s->feat[s->nfeat++];
    pp_strmap_init(&ft->map);
    ft->type = c->type;
    if (!(ft->name = pp_strdup(c->name))) rc = PROP_ERR_NOMEM;
    else if (c->type == PROP_COL_CATEGORICAL) rc = feature_categories(f, c, ft);
  }
  if (!rc && (!(s->target = pp_strdup(opt->target)) || (opt->positive && !(s->positive = pp_strdup(opt->positive))) ||
              (opt->id && !(s->id_col = pp_strdup(opt->id))) ||
              (opt->connected && !(s->connected = pp_strdup(opt->connected))) ||
              (opt->time_col && !(s->time_col = pp_strdup(opt->time_col)))))
    rc = PROP_ERR_NOMEM;
  pp_strmap_free(&ign);
  if (rc) {
    pp_schema_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

double pp_schema_code(const pp_schema *s, size_t j, const char *label) {
  if (!s || j >= s->nfeat || s->feat[j].type != PROP_COL_CATEGORICAL || !label) return NAN;
  size_t k;
  return pp_strmap_get(&s->feat[j].map, label, &k) ? (double)k : -1.0;
}

/* Layout 2: u32 layout, str target, positive, negative, id, connected, time (NULL allowed except
 * target), then as layout 1.  Layout 1 (no negative label: any label other than the positive one
 * reads as negative when evaluating):
 * u32 layout, str target, positive, id, connected, time (NULL allowed except target),
 * u64 nfeat, then per feature: str name, u8 type (0 numeric, 1 categorical), and for categorical
 * features u64 ncats and the categories (strictly increasing in byte order). */
int pp_schema_save(const pp_schema *s, pp_buf *out) {
  if (!s || !out) return pp_err(PROP_ERR_ARG, "pp_schema_save: NULL argument");
  pp_put_u32(out, SCHEMA_LAYOUT);
  pp_put_str(out, s->target);
  pp_put_str(out, s->positive);
  pp_put_str(out, s->negative);
  pp_put_str(out, s->id_col);
  pp_put_str(out, s->connected);
  pp_put_str(out, s->time_col);
  pp_put_u64(out, (uint64_t)s->nfeat);
  for (size_t j = 0; j < s->nfeat; j++) {
    const pp_feature *ft = &s->feat[j];
    pp_put_str(out, ft->name);
    pp_put_u8(out, (uint8_t)ft->type);
    if (ft->type == PROP_COL_CATEGORICAL) {
      pp_put_u64(out, (uint64_t)ft->ncats);
      for (size_t k = 0; k < ft->ncats; k++) pp_put_str(out, ft->cats[k]);
    }
  }
  return pp_buf_status(out);
}

static int corrupt(const pp_rd *in, const char *what) {
  return pp_err(PROP_ERR_CORRUPT, "%s: %s", in->what ? in->what : "schema", what);
}

static int load_feature(pp_rd *in, const pp_schema *s, pp_strmap *names, size_t j, pp_feature *ft) {
  pp_strmap_init(&ft->map);
  PP_TRY(pp_get_str(in, &ft->name));
  if (!ft->name || !*ft->name) return corrupt(in, "a feature has no name");
  if (same(ft->name, s->target) || same(ft->name, s->id_col) || same(ft->name, s->connected) ||
      same(ft->name, s->time_col))
    return pp_err(PROP_ERR_CORRUPT, "%s: feature '%s' is also the target, id, connected or time column",
                  in->what ? in->what : "schema", ft->name);
  size_t prev;
  PP_TRY(pp_strmap_put(names, ft->name, j, &prev));
  if (prev != j)
    return pp_err(PROP_ERR_CORRUPT, "%s: feature '%s' appears twice", in->what ? in->what : "schema", ft->name);
  uint8_t t;
  PP_TRY(pp_get_u8(in, &t));
  if (t != PROP_COL_NUMERIC && t != PROP_COL_CATEGORICAL)
    return pp_err(PROP_ERR_CORRUPT, "%s: feature '%s' has an invalid type %u", in->what ? in->what : "schema",
                  ft->name, (unsigned)t);
  ft->type = (prop_coltype)t;
  if (t != PROP_COL_CATEGORICAL) return 0;
  size_t n, max = (in->len - in->pos) / 4; /* every category needs at least its 4-byte length */
  if (max > (size_t)INT32_MAX) max = (size_t)INT32_MAX;
  PP_TRY(pp_get_count(in, &n, max, "category count"));
  if (!(ft->cats = pp_calloc(n, sizeof *ft->cats))) return PROP_ERR_NOMEM;
  for (size_t k = 0; k < n; k++) {
    PP_TRY(pp_get_str(in, &ft->cats[k]));
    ft->ncats = k + 1;
    if (!ft->cats[k]) return corrupt(in, "a category is NULL");
    if (k && strcmp(ft->cats[k - 1], ft->cats[k]) >= 0)
      return pp_err(PROP_ERR_CORRUPT, "%s: categories of feature '%s' are not sorted and distinct",
                    in->what ? in->what : "schema", ft->name);
    PP_TRY(pp_strmap_put(&ft->map, ft->cats[k], k, NULL));
  }
  return 0;
}

int pp_schema_load(pp_rd *in, pp_schema **out) {
  if (!in || !out) return pp_err(PROP_ERR_ARG, "pp_schema_load: NULL argument");
  *out = NULL;
  pp_schema *s = pp_calloc(1, sizeof *s);
  if (!s) return PROP_ERR_NOMEM;
  pp_strmap names;
  pp_strmap_init(&names);
  uint32_t layout = 0;
  size_t nf = 0;
  int rc = pp_get_u32(in, &layout);
  if (!rc && layout != SCHEMA_LAYOUT && layout != 1)
    rc = pp_err(PROP_ERR_CORRUPT, "%s: unknown schema layout %u", in->what ? in->what : "schema", (unsigned)layout);
  if (!rc) rc = pp_get_str(in, &s->target);
  if (!rc) rc = pp_get_str(in, &s->positive);
  if (!rc && layout >= 2) rc = pp_get_str(in, &s->negative);
  if (!rc && s->negative && !s->positive) rc = corrupt(in, "a negative label without a positive one");
  if (!rc) rc = pp_get_str(in, &s->id_col);
  if (!rc) rc = pp_get_str(in, &s->connected);
  if (!rc) rc = pp_get_str(in, &s->time_col);
  if (!rc && (!s->target || !*s->target)) rc = corrupt(in, "no target column");
  /* every feature needs at least a 4-byte name length and a type byte */
  if (!rc) rc = pp_get_count(in, &nf, (in->len - in->pos) / 5, "feature count");
  if (!rc && !(s->feat = pp_calloc(nf, sizeof *s->feat))) rc = PROP_ERR_NOMEM;
  if (!rc) s->nfeat = nf; /* entries are zeroed: pp_schema_free copes with partly loaded ones */
  for (size_t j = 0; j < nf && !rc; j++) rc = load_feature(in, s, &names, j, &s->feat[j]);
  pp_strmap_free(&names);
  if (rc) {
    pp_schema_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

/* ---- binding ------------------------------------------------------------------------------------ */

enum { B_NUM, B_CAT, B_NUMCAT };

typedef struct numcat {
  double v;
  int32_t code;
} numcat;

typedef struct bfeat {
  int kind;
  const pp_column *col;
  int32_t *remap; /* B_CAT: frame dictionary code -> schema code (-1 unseen) */
  size_t nremap;
  numcat *tab;    /* B_NUMCAT: numeric value -> schema code, sorted by value */
  size_t ntab;
} bfeat;

struct pp_binding {
  const prop_frame *f;
  size_t nfeat;
  bfeat *bf;
};

void pp_binding_free(pp_binding *b) {
  if (!b) return;
  if (b->bf)
    for (size_t k = 0; k < b->nfeat; k++) {
      free(b->bf[k].remap);
      free(b->bf[k].tab);
    }
  free(b->bf);
  free(b);
}

static int cmp_numcat(const void *a, const void *b) {
  const numcat *x = a, *y = b;
  if (x->v != y->v) return x->v < y->v ? -1 : 1;
  return (x->code > y->code) - (x->code < y->code);
}

/* Categories whose label reads as a finite number, by value; of labels that read as the same
 * number ("3" and "3.0") the first in byte order wins. */
static int build_numcat(const pp_feature *ft, bfeat *bk) {
  bk->tab = pp_malloc_array(ft->ncats, sizeof *bk->tab);
  if (!bk->tab) return PROP_ERR_NOMEM;
  size_t n = 0;
  for (size_t k = 0; k < ft->ncats; k++) {
    double v;
    if (pp_parse_double(ft->cats[k], &v) == 0 && isfinite(v)) {
      bk->tab[n].v = v == 0.0 ? 0.0 : v; /* -0 and 0 are one value */
      bk->tab[n].code = (int32_t)k;
      n++;
    }
  }
  if (n > 1) qsort(bk->tab, n, sizeof *bk->tab, cmp_numcat);
  size_t m = 0;
  for (size_t k = 0; k < n; k++)
    if (m == 0 || bk->tab[m - 1].v != bk->tab[k].v) bk->tab[m++] = bk->tab[k];
  bk->ntab = m;
  return 0;
}

static double numcat_code(const bfeat *bk, double v) {
  size_t lo = 0, hi = bk->ntab;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (bk->tab[mid].v < v) lo = mid + 1;
    else hi = mid;
  }
  return (lo < bk->ntab && bk->tab[lo].v == v) ? (double)bk->tab[lo].code : -1.0;
}

static int bind_feature(const pp_feature *ft, const prop_frame *f, const pp_column *c, bfeat *bk) {
  bk->col = c;
  if (c->type == PROP_COL_ID)
    return pp_err(PROP_ERR_SCHEMA, "%s: column '%s' is an id column, but the model uses it as an input",
                  pp_frame_source(f), ft->name);
  if (ft->type == PROP_COL_NUMERIC) {
    if (c->type != PROP_COL_NUMERIC) { /* name the first cell that is not a number */
      for (size_t i = 0; i < f->nrows; i++) {
        double v;
        const char *label = c->code[i] >= 0 ? c->dict[c->code[i]] : NULL;
        if (label && (pp_parse_double(label, &v) != 0 || !isfinite(v)))
          return pp_err(PROP_ERR_SCHEMA, "%s:%zu:%s: '%s' is not a number, and the model reads '%s' as numbers",
                        pp_frame_source(f), prop_frame_row_number(f, i), ft->name, label, ft->name);
      }
      return pp_err(PROP_ERR_SCHEMA, "%s: column '%s' holds labels, but the model needs numbers there",
                    pp_frame_source(f), ft->name);
    }
    bk->kind = B_NUM;
    return 0;
  }
  if (c->type == PROP_COL_NUMERIC) {
    bk->kind = B_NUMCAT;
    return build_numcat(ft, bk);
  }
  bk->kind = B_CAT;
  bk->nremap = c->ndict;
  if (!(bk->remap = pp_malloc_array(c->ndict, sizeof *bk->remap))) return PROP_ERR_NOMEM;
  for (size_t d = 0; d < c->ndict; d++) {
    size_t k;
    bk->remap[d] = pp_strmap_get(&ft->map, c->dict[d], &k) ? (int32_t)k : -1;
  }
  return 0;
}

int pp_binding_create(const pp_schema *s, const prop_frame *f, pp_binding **out) {
  if (!s || !f || !out) return pp_err(PROP_ERR_ARG, "pp_binding_create: NULL argument");
  *out = NULL;
  pp_binding *b = pp_calloc(1, sizeof *b);
  if (!b) return PROP_ERR_NOMEM;
  b->f = f;
  pp_strmap cols;
  pp_strmap_init(&cols);
  int rc = 0;
  if (!(b->bf = pp_calloc(s->nfeat, sizeof *b->bf))) rc = PROP_ERR_NOMEM;
  else b->nfeat = s->nfeat;
  for (size_t j = 0; j < f->ncols && !rc; j++) rc = pp_strmap_put(&cols, f->cols[j].name, j, NULL);
  for (size_t k = 0; k < s->nfeat && !rc; k++) {
    size_t j;
    if (!pp_strmap_get(&cols, s->feat[k].name, &j))
      rc = pp_err(PROP_ERR_SCHEMA, "%s: column '%s' required by the model is missing", pp_frame_source(f),
                  s->feat[k].name);
    else
      rc = bind_feature(&s->feat[k], f, &f->cols[j], &b->bf[k]);
  }
  pp_strmap_free(&cols);
  if (rc) {
    pp_binding_free(b);
    return rc;
  }
  *out = b;
  return 0;
}

void pp_binding_rows(const pp_binding *b, size_t row0, size_t n, double *raw, int *status) {
  const prop_frame *f = b->f;
  size_t nf = b->nfeat;
  for (size_t i = 0; i < n; i++) {
    size_t r = row0 + i;
    int st = 0;
    if (f->row_err && f->row_err[r]) st = (f->row_code && f->row_code[r]) ? f->row_code[r] : PROP_ERR_CSV;
    double *dst = raw + i * nf;
    for (size_t k = 0; k < nf; k++) {
      const bfeat *bk = &b->bf[k];
      if (bk->kind == B_NUM) {
        double v = bk->col->num[r];
        if (isinf(v) && !st) st = PROP_ERR_VALUE;
        dst[k] = v;
      } else if (bk->kind == B_CAT) {
        int32_t c = bk->col->code[r];
        dst[k] = c < 0 ? NAN : ((size_t)c < bk->nremap ? (double)bk->remap[c] : -1.0);
      } else {
        double v = bk->col->num[r];
        if (isinf(v) && !st) st = PROP_ERR_VALUE;
        dst[k] = isnan(v) ? NAN : numcat_code(bk, v);
      }
    }
    if (status) status[i] = st;
  }
}
