/*
 * stats: the statistics coachq reports, as small pure functions.
 *
 * Agreement between two raters on an ordinal scale (observer vs master
 * scores in calibration, two observers of one double-coded session): exact
 * agreement, agreement within one point, and Cohen's weighted kappa with
 * quadratic weights (Cohen 1968; Fleiss & Cohen 1973), which corrects for
 * the agreement expected by chance from each rater's marginal distribution.
 *
 * Everything here is pure: no allocation beyond the stack, no state, safe
 * from any thread; pointers are borrowed for the call.
 */
#ifndef COACHQ_STATS_H
#define COACHQ_STATS_H

#include <stddef.h>

/* Largest number of scale points stats_agreement() handles. */
#define STATS_MAX_CATEGORIES 16

struct stats_agreement {
    size_t n;          /* pairs compared */
    double exact;      /* share of pairs with a == b, 0..1 */
    double within_one; /* share with |a - b| <= 1 */
    double kappa;      /* quadratic-weighted kappa, -1..1; see kappa_defined */
    int kappa_defined; /* 0 when expected disagreement is 0 (both raters
                          used one and the same category): kappa is then
                          set to 1 if they agree exactly, else 0 */
};

/*
 * Computes agreement over n pairs (a[i], b[i]) of scores on the scale
 * lo..hi (hi - lo + 1 <= STATS_MAX_CATEGORIES). Returns 0, or -EINVAL when
 * n is 0, the scale is empty or too wide, or a score lies outside it (or a
 * pointer is NULL); on an error *out is left unchanged. Kappa does not
 * depend on how wide lo..hi is beyond the scores used: quadratic weights
 * are proportional to (a - b)^2 whatever the scale.
 */
int stats_agreement(const int *a, const int *b, size_t n, int lo, int hi,
                    struct stats_agreement *out);

/*
 * The same from a contingency table: counts[i * k + j] is how often rater A
 * chose category i and rater B category j (k categories, weights by
 * distance |i - j|). Lets published worked examples, given as tables, be
 * checked directly. Counts may be fractions (proportions work too); out->n
 * is then their total rounded down. Returns 0 or -EINVAL (k outside
 * 1..STATS_MAX_CATEGORIES, no counts, a negative or non-finite count, a
 * total above 2^53, or a NULL pointer); on an error *out is left unchanged.
 * With k == 1 kappa is never defined (kappa_defined = 0, kappa = 1).
 */
int stats_agreement_table(const double *counts, int k, struct stats_agreement *out);

#endif
