/* compare's answer to "which model should I use?" (bench/README.md, "recommendation").
 *
 * Every model's AUC gets its DeLong 95% interval, every member a paired DeLong test against the
 * ensemble on the same test rows, and the report one recommendation with its reason and cost:
 *   - a member whose AUC is above the ensemble's by more than chance explains (p < alpha): the best
 *     such member;
 *   - else, when the test cannot tell some members from the ensemble (the ensemble not above them
 *     at p < alpha): the cheapest of them to run (lowest p99 single-row latency, then fit time) if
 *     it runs faster than the ensemble, since the ensemble's extra cost buys nothing these rows can
 *     show ("member_not_worse"); if none runs faster, the ensemble ("ensemble_not_slower");
 *   - else the ensemble ("ensemble_better"), with the closest member's gap and cost beside it.
 * Numbers in the text are written in the C locale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "pipeline/jsonw.h"

#define ALPHA 0.05

typedef struct model_view {
  const char *name;
  double auc, se, lo, hi, fit, p99;
  pp_auc_test vs; /* members: ensemble minus this member */
} model_view;

static double field(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *pvalue(char *buf, double p) {
  if (p < 0.001) pp_snprintf_c(buf, 24, "< 0.001");
  else pp_snprintf_c(buf, 24, "= %.3f", p);
  return buf;
}

/* The interval fields on models[j] and, for a member, its test against the ensemble. */
static void annotate(pp_jb *b, json_t *entry, const model_view *v, int member) {
  pp_jset(b, entry, "auc_se", pp_jnum(v->se));
  pp_jset(b, entry, "auc_ci_low", pp_jnum(v->lo));
  pp_jset(b, entry, "auc_ci_high", pp_jnum(v->hi));
  if (!member) return;
  json_t *t = json_object();
  pp_jset(b, t, "auc_difference", pp_jnum(v->vs.difference));
  pp_jset(b, t, "se", pp_jnum(v->vs.se));
  pp_jset(b, t, "ci_low", pp_jnum(v->vs.lo));
  pp_jset(b, t, "ci_high", pp_jnum(v->vs.hi));
  pp_jset(b, t, "z", pp_jnum(v->vs.z));
  pp_jset(b, t, "p_value", pp_jnum(v->vs.p_value));
  pp_jset(b, entry, "vs_ensemble", t);
}

/* The recommendation's paragraph for model w (index into v; M is the ensemble) under rule. */
static char *paragraph(const model_view *v, size_t M, size_t w, const char *rule, size_t n, size_t npos,
                       size_t n_not_worse, long folds) {
  const model_view *e = &v[M], *m = &v[w];
  char p[24], text[1800], refit[200];
  /* a member's fit here is one fit; a recipe of it alone also cross-validates it for the calibrator */
  pp_snprintf_c(refit, sizeof refit, " Training a recipe of %s alone also fits it once per cross-validation "
                "fold, for the calibrator: about %ld times its fit here.", m->name, folds + 1);
  if (!strcmp(rule, "member_better")) {
    pp_snprintf_c(text, sizeof text,
                  "Use %s alone. On these %zu test rows (%zu positive) its AUC, %.4f (95%% CI %.4f to %.4f), is "
                  "above the ensemble's %.4f by %.4f (95%% CI %.4f to %.4f; paired DeLong test p %s). It runs at a "
                  "p99 latency of %.3g µs against the ensemble's %.3g µs; fit %.3g s against %.3g s.%s It still "
                  "gets the calibrator, so its bands keep their meaning.",
                  m->name, n, npos, m->auc, m->lo, m->hi, e->auc, -m->vs.difference, -m->vs.hi, -m->vs.lo,
                  pvalue(p, m->vs.p_value), m->p99, e->p99, m->fit, e->fit, refit);
  } else if (!strcmp(rule, "member_not_worse")) {
    char among[160] = "";
    if (n_not_worse > 1)
      pp_snprintf_c(among, sizeof among, " (the lowest p99 latency of the %zu members the test cannot tell from "
                    "the ensemble)", n_not_worse);
    pp_snprintf_c(text, sizeof text,
                  "Use %s alone. On these %zu test rows (%zu positive) the ensemble's AUC, %.4f (95%% CI %.4f to "
                  "%.4f), cannot be told from %s's %.4f (95%% CI %.4f to %.4f): the difference, %.4f (95%% CI %.4f "
                  "to %.4f), has paired DeLong test p %s. %s is cheaper to run%s: p99 latency %.3g µs against the "
                  "ensemble's %.3g µs; fit %.3g s against %.3g s.%s It still gets the calibrator, so its bands "
                  "keep their meaning. Keep the ensemble only if an AUC gain as large as %.4f (the interval's "
                  "upper end) is worth its cost.",
                  m->name, n, npos, e->auc, e->lo, e->hi, m->name, m->auc, m->lo, m->hi, m->vs.difference, m->vs.lo,
                  m->vs.hi, pvalue(p, m->vs.p_value), m->name, among, m->p99, e->p99, m->fit, e->fit, refit,
                  m->vs.hi);
  } else if (!strcmp(rule, "ensemble_not_slower")) {
    pp_snprintf_c(text, sizeof text,
                  "Use the ensemble. On these %zu test rows (%zu positive) the test cannot tell %zu member%s from it, "
                  "but none runs faster: the best of them, %s, has AUC %.4f against the ensemble's %.4f (difference "
                  "%.4f, 95%% CI %.4f to %.4f; paired DeLong test p %s) and a p99 latency of %.3g µs against the "
                  "ensemble's %.3g µs.",
                  n, npos, n_not_worse, n_not_worse == 1 ? "" : "s", m->name, m->auc, e->auc, m->vs.difference,
                  m->vs.lo, m->vs.hi, pvalue(p, m->vs.p_value), m->p99, e->p99);
  } else {
    pp_snprintf_c(text, sizeof text,
                  "Use the ensemble. On these %zu test rows (%zu positive) its AUC, %.4f (95%% CI %.4f to %.4f), is "
                  "above every member's alone by more than chance explains (paired DeLong test, p < %.2f for each); "
                  "the closest, %s (%.4f), trails by %.4f (95%% CI %.4f to %.4f; p %s). The gain costs a p99 latency "
                  "of %.3g µs against %s's %.3g µs, and fit %.3g s against %.3g s.",
                  n, npos, e->auc, e->lo, e->hi, ALPHA, m->name, m->auc, m->vs.difference, m->vs.lo, m->vs.hi,
                  pvalue(p, m->vs.p_value), e->p99, m->name, m->p99, e->fit, m->fit);
  }
  return pp_strdup(text);
}

/* Which model, by the rules at the top; *rule names the one that decided; *other the member the text
 * sets beside the ensemble when the ensemble is chosen. */
static size_t choose(const model_view *v, size_t M, const char **rule, size_t *n_not_worse, size_t *other) {
  size_t best = SIZE_MAX, cheap = SIZE_MAX, closest = SIZE_MAX, tied = SIZE_MAX;
  *n_not_worse = 0;
  for (size_t j = 0; j < M; j++) {
    const pp_auc_test *t = &v[j].vs;
    if (t->difference < 0 && t->p_value < ALPHA && (best == SIZE_MAX || v[j].auc > v[best].auc)) best = j;
    if (!(t->difference > 0 && t->p_value < ALPHA)) { /* the ensemble is not shown to be better */
      ++*n_not_worse;
      if (tied == SIZE_MAX || v[j].auc > v[tied].auc) tied = j;
      if (v[j].p99 < v[M].p99 && /* a member only wins on cost when it runs faster than the ensemble */
          (cheap == SIZE_MAX || v[j].p99 < v[cheap].p99 || (v[j].p99 == v[cheap].p99 && v[j].fit < v[cheap].fit)))
        cheap = j;
    }
    if (closest == SIZE_MAX || v[j].auc > v[closest].auc) closest = j;
  }
  *rule = best != SIZE_MAX ? "member_better" : cheap != SIZE_MAX ? "member_not_worse"
          : tied != SIZE_MAX ? "ensemble_not_slower" : "ensemble_better";
  *other = tied != SIZE_MAX ? tied : closest;
  return best != SIZE_MAX ? best : cheap != SIZE_MAX ? cheap : M;
}

/* The "recommendation" object (v annotated already). */
static json_t *recommendation(pp_jb *b, const model_view *v, size_t M, size_t n, size_t npos, long folds) {
  json_t *o = json_object(), *names = json_array();
  const char *rule = "none";
  size_t n_not_worse = 0, w = SIZE_MAX, other = SIZE_MAX;
  int usable = isfinite(v[M].auc) && isfinite(v[M].lo) && M > 0;
  for (size_t j = 0; j < M && usable; j++) usable = isfinite(v[j].vs.p_value);
  if (usable) w = choose(v, M, &rule, &n_not_worse, &other);
  for (size_t j = 0; j < M && usable; j++)
    if (!(v[j].vs.difference > 0 && v[j].vs.p_value < ALPHA)) pp_jpush(b, names, pp_jstr(v[j].name));
  char *text = usable ? paragraph(v, M, w == M ? other : w, rule, n, npos, n_not_worse, folds)
                      : pp_strdup(M == 0 ? "No recommendation: the recipe has no member to compare the ensemble with."
                                         : "No recommendation: the test rows hold one class, or a single row of one, "
                                           "so no AUC has an interval and no two can be compared.");
  int ens = usable && w == M;
  pp_jset(b, o, "model", !usable ? json_null() : pp_jstr(ens ? "ensemble" : v[w].name));
  pp_jset(b, o, "kind", !usable ? json_null() : pp_jstr(ens ? "ensemble" : "member"));
  pp_jset(b, o, "rule", pp_jstr(rule));
  pp_jset(b, o, "alpha", json_real(ALPHA));
  pp_jset(b, o, "test", pp_jstr("paired DeLong test of the ensemble's AUC against each member's, two-sided"));
  pp_jset(b, o, "not_worse_than_ensemble", names);
  pp_jset(b, o, "text", pp_jstr(text)); /* NULL text (out of memory) is recorded as a failure */
  if (!text) b->failed = 1;
  free(text);
  return o;
}

json_t *pp_compare_verdict(pp_jb *b, json_t *models, const double *member_p, size_t M, const double *ens_p,
                           const int *y, size_t n, long cv_folds) {
  size_t k = M + 1, npos = 0;
  for (size_t i = 0; i < n; i++) npos += y[i] != 0;
  const double **score = pp_malloc_array(k, sizeof *score);
  double *auc = pp_malloc_array(k, sizeof *auc), *cov = pp_malloc_array(k * k, sizeof *cov);
  model_view *v = pp_calloc(k, sizeof *v);
  json_t *rec = NULL;
  if (!score || !auc || !cov || !v || json_array_size(models) != k) {
    b->failed = 1;
  } else {
    for (size_t j = 0; j < M; j++) score[j] = member_p + j * n;
    score[M] = ens_p;
    if (pp_delong(score, k, y, n, auc, cov)) b->failed = 1;
    for (size_t j = 0; j < k && !b->failed; j++) {
      json_t *e = json_array_get(models, j);
      v[j].name = json_string_value(json_object_get(e, "name"));
      v[j].auc = auc[j];
      v[j].fit = field(e, "fit_seconds");
      v[j].p99 = field(e, "latency_p99_us");
      v[j].se = sqrt(cov[j * k + j]);
      pp_auc_interval(auc[j], cov[j * k + j], &v[j].lo, &v[j].hi);
      if (j < M) pp_delong_paired(auc, cov, k, M, j, &v[j].vs);
      annotate(b, e, &v[j], j < M);
    }
    if (!b->failed) rec = recommendation(b, v, M, n, npos, cv_folds);
  }
  free(score);
  free(auc);
  free(cov);
  free(v);
  if (!rec) b->failed = 1;
  return rec;
}
