/* lib/explain/contrib.h: the ensemble's contributions (contrib.c), internal to lib/explain.
 *
 * For a row: one contribution per model input and one base, in the ensemble's uncalibrated log-odds
 * (pp_vote_logodds), such that base + sum = those log-odds.  Members explain themselves
 * (member.h's contrib: exact TreeSHAP for the tree members, exact linear contributions for the
 * logistic member, a sampling estimate for svc and knn) in their own space; contrib.c maps each
 * member's contributions into its term of the vote, combines them with the vote's weights, and maps
 * the vote into log-odds (how, and which steps are exact: contrib.c and models/README.md). */
#ifndef PP_EXPLAIN_CONTRIB_H
#define PP_EXPLAIN_CONTRIB_H

#include "pipeline/pipeline.h"

typedef struct pp_contrib_work pp_contrib_work;

/* Work for blocks of at most rows rows (each member's contrib scratch, the members' probabilities and
 * contributions), with the model's base.  PROP_ERR_STATE naming the member when a member of m cannot
 * explain (none of its own, or a payload from before it kept what it needs); PROP_ERR_NOMEM. */
int pp_contrib_work_create(const prop_model *m, size_t rows, pp_contrib_work **out);
void pp_contrib_work_free(pp_contrib_work *w);
/* The base: the same for every row of the model. */
double pp_contrib_base(const pp_contrib_work *w);

/* Contributions per input of nb (<= rows) encoded rows X into out (nb x inputs).  memp: the members'
 * probabilities of the rows as scoring computes them (member j's at memp[j * nb + i]), or NULL to
 * compute them here.  Allocates nothing.  A member's failure is returned. */
int pp_contrib_rows(const prop_model *m, const float *X, size_t nb, const double *memp, pp_contrib_work *w,
                    double *out);
#endif
