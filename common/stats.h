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
 * The regularized incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b)
 * for a, b > 0 (finite) and 0 <= x <= 1, from its continued fraction
 * (modified Lentz) with a log-gamma of our own (glibc's lgamma() writes a
 * global). Accurate to about 1e-14 relative; NAN outside the domain.
 */
double stats_ibeta(double a, double b, double x);

/*
 * Student's t with df degrees of freedom, any df > 0 (fractional df from
 * Welch-Satterthwaite included; df = INFINITY is the standard normal):
 *
 *   stats_t_quantile(p, df)  the t with P(T <= t) = p, 0 < p < 1
 *   stats_t_crit(level, df)  the two-sided critical value of a confidence
 *                            level, 0 < level < 1: P(|T| <= t) = level,
 *                            e.g. 0.90, 0.95, 0.99
 *   stats_t975(df)           stats_t_crit(0.95, df), the 0.975 quantile
 *
 * The tail P(|T| > t) = I_{df/(df + t^2)}(df/2, 1/2) is inverted by Newton's
 * method on ln t inside a bracket that bisection keeps; from df = 50,000
 * on, the Cornish-Fisher expansion in 1/df to the fourth order is exact
 * to double precision and replaces the iteration. Within 1e-12 relative
 * of the exact quantile (mpmath at 40 digits) for df from 0.5 to 10^7, as
 * tests/stats_reference.py checks; SciPy 1.10's own t.ppf (cdflib) is off
 * by up to 5e-9 near df = 30. A quantile beyond the largest double (df
 * below about 0.005 at 95%) is INFINITY; df <= 0, NaN, or p or level
 * outside (0, 1) give NAN.
 */
double stats_t_quantile(double p, double df);
double stats_t_crit(double level, double df);
double stats_t975(double df);

/* The median of v[0..n), sorting v in place: the middle value, or the mean
 * of the two middle ones for an even n; NAN for n 0. */
double stats_median(double *v, size_t n);

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
 * The four cell means are treated as independent, with observations as
 * the unit: when one manager gives several observations (or a stacked
 * comparison reuses them) this interval is too narrow, and
 * stats_did_cluster_*() below gives the honest one; the dashboards use
 * stats_did() for the pooled sd and the effect size. The 95% interval is
 * est -/+ t * se with
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

/*
 * Difference-in-differences with standard errors clustered by group (by
 * manager): the same estimate as stats_did(), the interaction of the OLS
 *
 *   y = b0 + b1 treated + b2 after + b3 treated * after + e
 *
 * on every observation, whose uncertainty allows observations of one group
 * to be correlated (and one observation to appear in several cells or
 * stacks of the same group). The variance is the sandwich with the CR1
 * small-sample factor, as statsmodels' OLS(...).fit(cov_type='cluster',
 * use_t=True) and Stata's vce(cluster) compute it:
 *
 *   V = G/(G - 1) * (N - 1)/(N - 4) * sum_g s_g^2
 *   s_g = sum_c l_c (S_gc - n_gc m_c) / N_c
 *
 * where c runs over the four cells (STATS_T_BEFORE...), l = (-1, +1, +1,
 * -1), N_c and m_c are each cell's count and mean over all groups, n_gc and
 * S_gc group g's count and sum in cell c, N = sum N_c and G the number of
 * groups with at least one observation. (The four-cell model is saturated,
 * so the residuals are y - m_c and a group's score needs only its counts and
 * sums per cell: the aggregates suffice.) The interval is est -/+
 * t(G - 1) * sqrt(V) at the level asked for.
 *
 * Use: stats_did_cluster_init() with the cell totals, then
 * stats_did_cluster_add() once per group, then stats_did_cluster_finish().
 * init needs every N_c > 0; add ignores a group without observations;
 * finish needs G >= 2 and N > 4. Each returns 0 or -EINVAL (also for a
 * NULL pointer or a non-finite input; *out is then left unchanged).
 */
struct stats_did_cluster {
    double n[4];           /* N_c */
    double mean[4];        /* m_c */
    double meat;           /* sum_g s_g^2 */
    double groups;         /* G */
    double groups_treated; /* groups with observations in T_BEFORE or T_AFTER */
    double groups_control; /* groups with observations in C_BEFORE or C_AFTER */
};

int stats_did_cluster_init(struct stats_did_cluster *a, const double n[4], const double sum[4]);
int stats_did_cluster_add(struct stats_did_cluster *a, const double n[4], const double sum[4]);
int stats_did_cluster_finish(const struct stats_did_cluster *a, double level, struct stats_ci *out);

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
