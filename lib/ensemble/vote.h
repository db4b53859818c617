/* lib/ensemble: the voting ensemble as a stage of its own.  Depends on common and eval (the AUC that
 * ensemble selection maximises).
 *
 * A vote combines the probabilities of its members (given in the vote's member order) into one
 * ensemble score before calibration.  It owns its state (kind, weights, the members' family names) and
 * its model-file section (ENSM); it knows nothing of the members themselves, only their names, so the
 * pipeline finds the members' families by those names. */
#ifndef PP_VOTE_H
#define PP_VOTE_H

#include "common/common.h"

/* The kinds of vote (fixed values: they are stored in model files). */
enum { PP_VOTE_SOFT = 0, PP_VOTE_HARD = 1, PP_VOTE_LOGIT = 2 };

/* The most members a vote holds. */
#define PP_VOTE_MAX_MEMBERS 32

typedef struct pp_vote {
  int kind;       /* PP_VOTE_* */
  size_t n;       /* members, 1..PP_VOTE_MAX_MEMBERS */
  double *weight; /* n non-negative weights (normalised to sum 1 by training; a loaded file's are as stored) */
  char **names;   /* n member family names ("xgboost", ...), owned */
} pp_vote;

/* A vote of n members with zero weights and no names yet (set them with pp_vote_set_member).  Free with
 * pp_vote_free.  PROP_ERR_ARG for n outside 1..PP_VOTE_MAX_MEMBERS or an unknown kind. */
int pp_vote_create(int kind, size_t n, pp_vote **out);
/* Member i's name (copied) and weight. */
int pp_vote_set_member(pp_vote *v, size_t i, const char *name, double weight);
void pp_vote_free(pp_vote *v); /* NULL is a no-op */

/* Ensemble score of member probabilities p[v->n], before calibration: soft, the weighted mean; hard, the
 * weighted share of members with p >= 0.5; logit, the logistic function of the weighted mean of the
 * members' log-odds (pp_vote_logit).  0 when the weights sum to 0.  Thread-safe (reads v only). */
double pp_vote_apply(const pp_vote *v, const double *p);

/* A member's term in a vote of kind (PP_VOTE_*): its probability (soft), 1 or 0 (hard: p >= 0.5),
 * pp_vote_logit(p) (logit); pp_vote_apply's weighted mean is over these. */
double pp_vote_term(int kind, double p);
/* The ensemble's uncalibrated log-odds of member probabilities p[v->n]: for the logit vote the weighted
 * mean of the members' log-odds (the vote before its logistic function), for the soft and hard votes
 * pp_vote_logit of the vote (clamped at PP_LOGIT_EPS).  The contributions (lib/explain) add up to it. */
double pp_vote_logodds(const pp_vote *v, const double *p);
/* Log-odds of a member probability for the logit vote, with p clamped to [PP_LOGIT_EPS, 1 - PP_LOGIT_EPS]
 * (a member that says exactly 0 or 1, such as a pure leaf or k neighbours of one class, adds a finite
 * log-odds of about -/+13.8); NaN stays NaN. */
#define PP_LOGIT_EPS 1e-6
double pp_vote_logit(double p);

/* The ENSM payload: u32 kind, u32 member count, then per member its name (string) and weight (f64).
 * load checks the kind, the count (1..max_members) and every weight (0..1e6); messages name in->what. */
int pp_vote_save(const pp_vote *v, pp_buf *out);
int pp_vote_load(pp_rd *in, size_t max_members, pp_vote **out);

/* ---- fitting the weights (the training procedure picks one by the recipe) ---------------------------
 * Each takes the out-of-fold probabilities P (n rows x k members, row-major) with labels y and writes k
 * weights into w. */

/* Soft vote without a calibrator: non-negative weights summing to 1 that minimise the log-loss of the
 * weighted mean (exponentiated gradient); fitted weights below PP_VOTE_MIN_WEIGHT are set to exactly 0
 * (the member is left out) and the rest refitted. */
int pp_fit_vote_weights(const double *P, const int *y, size_t n, size_t k, double *w);
#define PP_VOTE_MIN_WEIGHT 1e-3
/* A vote that a calibrator follows: greedy forward selection with replacement maximising the AUC of the
 * weighted mean (at most `rounds` votes); non-negative, summing to 1.  See vote.c. */
int pp_fit_vote_weights_auc(const double *P, const int *y, size_t n, size_t k, size_t rounds, double *w);
/* The logit vote: the non-negative v and free intercept a maximising the likelihood of
 * y ~ logistic(a + sum_j v_j logit(P_ij)) (logistic stacking on the members' log-odds, by projected
 * Newton), then w = v / sum(v), with weights below PP_VOTE_MIN_WEIGHT set to 0 and the rest refitted.
 * When no member gets a positive weight, w is all on member 0 (callers order the members best first).
 * PROP_ERR_TRAIN when y holds one class only. */
int pp_fit_vote_weights_logit(const double *P, const int *y, size_t n, size_t k, double *w);
#endif
