/*
 * stats: the statistics coachq reports, as small pure functions.
 *
 * Agreement between two raters on an ordinal scale (observer vs master
 * scores in calibration, two observers of one double-coded session): exact
 * agreement, agreement within one point, and Cohen's weighted kappa with
 * quadratic weights (Cohen 1968; Fleiss & Cohen 1973), which corrects for
 * the agreement expected by chance from each rater's marginal distribution.
 *
 * Means, their 95% confidence intervals (Student's t), difference-in-
 * differences with an effect size, and Pearson's correlation with a
 * Fisher-z interval, computed from the sums the aggregates keep.
 *
 * Everything here is pure: no allocation beyond the stack, no state, safe
 * from any thread; pointers are borrowed for the call.
 */
#ifndef COACHQ_STATS_H
#define COACHQ_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Largest number of scale points stats_agreement() handles. */
#define STATS_MAX_CATEGORIES 16

struct stats_agreement {
    size_t n;          /* pairs compared */
    double exact;      /* share of pairs with a == b, 0..1 */
    double within_one; /* share with |a - b| <= 1 */
    double kappa;      /* quadratic-weighted kappa, -1..1; see kappa_defined */
    int kappa_defined; /* 0 when expected disagreement is 0 (both raters
                          used one and the same category): kappa is 0/0,
                          undefined, and set to NaN; show it as undefined
                          with that reason, never as a figure */
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
 * With k == 1 kappa is never defined (kappa_defined = 0, kappa = NaN).
 */
int stats_agreement_table(const double *counts, int k, struct stats_agreement *out);

/* ---- Means, confidence intervals, difference-in-differences, correlation
 *
 * Scores reach these functions as aggregates (count, sum, sum of squares),
 * so every estimate below can be computed without the observations. All
 * return 0 or -EINVAL (a NULL pointer, a count too small for the figure, or
 * a non-finite input); on an error *out is left unchanged. */

/* The two-sided 95% critical value of the standard normal, z_0.975. */
#define STATS_Z975 1.959963984540054

/*
 * The 0.975 quantile of Student's t with df degrees of freedom (the
 * critical value of a two-sided 95% interval). For df = 1..30 it is read
 * from a table to six decimals; beyond 30 it is interpolated linearly in
 * 1/df between the anchors 30, 40, 60, 120 and infinity (1.959964, the
 * normal quantile), which is off by less than 0.001. A fractional df (from
 * Welch-Satterthwaite) between two table rows is interpolated in 1/df as
 * well. df < 1 (or NaN) is not a t distribution: returns NAN.
 */
double stats_t975(double df);

struct stats_summary {
    uint64_t n;      /* observations */
    double mean;     /* sum / n */
    double var;      /* sample variance, n - 1 in the denominator; 0 when n = 1 */
    double sd;       /* sqrt(var) */
    int var_defined; /* 0 when n = 1: var and sd are then 0 */
};

/*
 * Mean, sample variance and standard deviation from n, sum x and sum x^2:
 *
 *   mean = sum / n
 *   var  = (sumsq - sum^2 / n) / (n - 1)
 *   sd   = sqrt(var)
 *
 * A variance that rounding makes slightly negative (every x equal) is
 * reported as 0. Needs n >= 1.
 */
int stats_summary(uint64_t n, double sum, double sumsq, struct stats_summary *out);

struct stats_ci {
    double est; /* the estimate */
    double se;  /* its standard error */
    double df;  /* degrees of freedom of the critical value (0: normal) */
    double lo;  /* 95% interval: est -/+ crit * se */
    double hi;
};

/*
 * The mean of n observations (n, sum x, sum x^2) with its 95% confidence
 * interval from Student's t:
 *
 *   se = sd / sqrt(n),  mean -/+ stats_t975(n - 1) * se
 *
 * Needs n >= 2 (one observation has no spread).
 */
int stats_mean_ci(uint64_t n, double sum, double sumsq, struct stats_ci *out);

/* One cell of a comparison: n observations with their mean and sample sd. */
struct stats_cell {
    double n;
    double mean;
    double sd;
};

struct stats_did {
    struct stats_ci did; /* est, se, Welch-Satterthwaite df, 95% interval */
    double pooled_sd;    /* sd pooled over the four cells */
    double effect;       /* did.est / pooled_sd (Cohen's d style) */
    int effect_defined;  /* 0 when pooled_sd is 0: effect is then 0 */
};

/*
 * Difference-in-differences for two groups (treated T, comparison C) in
 * two periods (before b, after a), from each cell's (n, mean, sd):
 *
 *   est = (T_a - T_b) - (C_a - C_b)
 *   se  = sqrt(s_Ta^2/n_Ta + s_Tb^2/n_Tb + s_Ca^2/n_Ca + s_Cb^2/n_Cb)
 *
 * The four cell means are treated as independent (observations, not
 * managers, are the unit: repeated observations of one manager make this
 * interval somewhat too narrow). The 95% interval is est -/+ t * se with
 * Welch-Satterthwaite degrees of freedom over the four terms v_i =
 * s_i^2 / n_i:
 *
 *   df = (sum v_i)^2 / sum (v_i^2 / (n_i - 1))
 *
 * (when every sd is 0, se is 0 and df = sum (n_i - 1)). The effect size is
 * the estimate over the pooled sd of the four cells:
 *
 *   pooled_sd = sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1))
 *   effect    = est / pooled_sd
 *
 * cells[] is in the order T_before, T_after, C_before, C_after. Every n
 * must be >= 2 and every sd >= 0.
 */
enum { STATS_T_BEFORE = 0, STATS_T_AFTER = 1, STATS_C_BEFORE = 2, STATS_C_AFTER = 3 };
int stats_did(const struct stats_cell cells[4], struct stats_did *out);

struct stats_corr {
    uint64_t n;     /* pairs */
    double r;       /* Pearson's r, -1..1 */
    int ci_defined; /* 0 when n < 4: lo and hi are then -1 and 1 */
    double lo;      /* Fisher-z 95% interval of r */
    double hi;
};

/*
 * Pearson's correlation of n pairs and its 95% interval through Fisher's z:
 *
 *   r  = S_xy / sqrt(S_xx * S_yy),  S_xy = sum (x - mean x)(y - mean y), ...
 *   z  = atanh(r),  se = 1 / sqrt(n - 3)
 *   lo = tanh(z - 1.959964 * se),  hi = tanh(z + 1.959964 * se)
 *
 * (|r| = 1 gives lo = hi = r.) Needs n >= 3 and both variables to vary
 * (S_xx > 0 and S_yy > 0); the interval needs n >= 4. stats_corr() takes
 * the pairs (x[i], y[i]) and centres them first; stats_corr_sums() takes
 * the aggregates n, sum x, sum y, sum x^2, sum y^2 and sum xy, with
 *
 *   S_xy = sxy - sx * sy / n,  S_xx = sxx - sx^2 / n,  S_yy = syy - sy^2 / n
 *
 * (a variable whose S is within rounding of 0 counts as not varying).
 */
int stats_corr(const double *x, const double *y, size_t n, struct stats_corr *out);
int stats_corr_sums(uint64_t n, double sx, double sy, double sxx, double syy, double sxy,
                    struct stats_corr *out);

#endif
