#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Largest table total accepted: up to 2^53 every count and sum of counts is
 * an exact integer in a double. */
#define STATS_MAX_TOTAL 9007199254740992.0

/*
 * Both entry points reduce their input to a k x k table of counts and share
 * one computation. Kappa is worked out with disagreement weights (i - j)^2
 * rather than agreement weights 1 - (i - j)^2 / (k - 1)^2: the two give the
 * same kappa (the 1/(k - 1)^2 scale cancels in the ratio), and with integer
 * counts every sum below is an exact integer in a double, so the test for
 * "expected disagreement is 0" is an exact comparison, not a tolerance.
 *
 *   kappa = 1 - (N * sum w_ij n_ij) / (sum w_ij r_i c_j)
 *
 * where n_ij are the counts, r_i and c_j the row and column totals, and N
 * the grand total. This is 1 - observed / expected disagreement, both as
 * shares of N.
 */
static void stats_from_table(const double *counts, int k, double total, struct stats_agreement *out)
{
    double rows[STATS_MAX_CATEGORIES] = {0};
    double cols[STATS_MAX_CATEGORIES] = {0};
    double exact = 0.0;
    double within_one = 0.0;
    double observed = 0.0;
    double expected = 0.0;
    int i;
    int j;

    for (i = 0; i < k; i++) {
        for (j = 0; j < k; j++) {
            double n = counts[i * k + j];
            double d = (double)(i - j);

            rows[i] += n;
            cols[j] += n;
            observed += d * d * n;
            if (i == j) {
                exact += n;
            }
            if (i - j >= -1 && i - j <= 1) {
                within_one += n;
            }
        }
    }
    for (i = 0; i < k; i++) {
        for (j = 0; j < k; j++) {
            double d = (double)(i - j);

            expected += d * d * rows[i] * cols[j];
        }
    }

    out->n = total < (double)SIZE_MAX ? (size_t)total : SIZE_MAX;
    out->exact = exact / total;
    out->within_one = within_one / total;
    if (expected > 0.0) {
        out->kappa = 1.0 - (total * observed) / expected;
        out->kappa_defined = 1;
    } else {
        /* Both raters put every case in one and the same category, so
         * chance alone explains all agreement and kappa is 0/0: it is
         * undefined, and a NaN keeps any caller that forgets to check
         * kappa_defined from printing a figure such as 1.00. */
        out->kappa = NAN;
        out->kappa_defined = 0;
    }
}

int stats_agreement(const int *a, const int *b, size_t n, int lo, int hi,
                    struct stats_agreement *out)
{
    double counts[STATS_MAX_CATEGORIES * STATS_MAX_CATEGORIES] = {0};
    long long width;
    int k;
    size_t p;

    if (a == NULL || b == NULL || out == NULL || n == 0) {
        return -EINVAL;
    }
    /* Widened so that lo = INT_MIN, hi = INT_MAX cannot overflow. */
    width = (long long)hi - (long long)lo + 1;
    if (width < 1 || width > STATS_MAX_CATEGORIES) {
        return -EINVAL;
    }
    k = (int)width;
    for (p = 0; p < n; p++) {
        if (a[p] < lo || a[p] > hi || b[p] < lo || b[p] > hi) {
            return -EINVAL;
        }
        counts[(a[p] - lo) * k + (b[p] - lo)] += 1.0;
    }
    stats_from_table(counts, k, (double)n, out);
    return 0;
}

int stats_agreement_table(const double *counts, int k, struct stats_agreement *out)
{
    double total = 0.0;
    int i;

    if (counts == NULL || out == NULL || k < 1 || k > STATS_MAX_CATEGORIES) {
        return -EINVAL;
    }
    for (i = 0; i < k * k; i++) {
        /* A negative or non-finite count is not a table of frequencies;
         * letting it through could make the expected disagreement 0 or
         * negative and the result meaningless. */
        if (!isfinite(counts[i]) || counts[i] < 0.0) {
            return -EINVAL;
        }
        total += counts[i];
    }
    if (!(total > 0.0) || total > STATS_MAX_TOTAL) {
        return -EINVAL;
    }
    stats_from_table(counts, k, total, out);
    return 0;
}

/* ---- Means, intervals, difference-in-differences, correlation ---------- */

/* t_0.975 for df = 1..30 (index df - 1). */
static const double stats_t_table[30] = {
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
    2.262157,  2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
    2.109816,  2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
    2.059539,  2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
};

/* Anchors beyond the table; 1/df = 0 stands for infinity. */
static const double stats_t_tail_df[] = {30.0, 40.0, 60.0, 120.0};
static const double stats_t_tail_q[] = {2.042272, 2.021075, 2.000298, 1.979930};

/* Linear interpolation in 1/df between (df0, q0) and (df1, q1); df1 may be
 * infinite. The quantile is close to linear in 1/df, far more than in df. */
static double stats_t_interp(double df, double df0, double q0, double df1, double q1)
{
    double u = 1.0 / df;
    double u0 = 1.0 / df0;
    double u1 = isinf(df1) ? 0.0 : 1.0 / df1;

    return q1 + (q0 - q1) * (u - u1) / (u0 - u1);
}

double stats_t975(double df)
{
    size_t i;

    if (!(df >= 1.0)) {
        return NAN;
    }
    if (df <= 30.0) {
        double lo = floor(df);
        int k = (int)lo;

        if (lo == df) {
            return stats_t_table[k - 1];
        }
        return stats_t_interp(df, lo, stats_t_table[k - 1], lo + 1.0, stats_t_table[k]);
    }
    for (i = 0; i + 1 < sizeof(stats_t_tail_df) / sizeof(stats_t_tail_df[0]); i++) {
        if (df <= stats_t_tail_df[i + 1]) {
            return stats_t_interp(df, stats_t_tail_df[i], stats_t_tail_q[i], stats_t_tail_df[i + 1],
                                  stats_t_tail_q[i + 1]);
        }
    }
    if (isinf(df)) {
        return STATS_Z975;
    }
    return stats_t_interp(df, 120.0, 1.979930, INFINITY, STATS_Z975);
}

int stats_summary(uint64_t n, double sum, double sumsq, struct stats_summary *out)
{
    struct stats_summary s = {0};
    double dn;

    if (out == NULL || n == 0 || !isfinite(sum) || !isfinite(sumsq)) {
        return -EINVAL;
    }
    dn = (double)n;
    s.n = n;
    s.mean = sum / dn;
    if (n >= 2) {
        /* The textbook one-pass form; scores are small integers (1..4), so
         * the cancellation it suffers from costs nothing that matters. */
        double ss = sumsq - sum * sum / dn;

        s.var = ss > 0.0 ? ss / (dn - 1.0) : 0.0;
        s.sd = sqrt(s.var);
        s.var_defined = 1;
    }
    *out = s;
    return 0;
}

int stats_mean_ci(uint64_t n, double sum, double sumsq, struct stats_ci *out)
{
    struct stats_summary s;
    struct stats_ci c;
    double crit;
    int rc;

    if (out == NULL || n < 2) {
        return -EINVAL;
    }
    rc = stats_summary(n, sum, sumsq, &s);
    if (rc < 0) {
        return rc;
    }
    c.est = s.mean;
    c.se = s.sd / sqrt((double)n);
    c.df = (double)(n - 1);
    crit = stats_t975(c.df);
    c.lo = c.est - crit * c.se;
    c.hi = c.est + crit * c.se;
    *out = c;
    return 0;
}

int stats_did(const struct stats_cell cells[4], struct stats_did *out)
{
    struct stats_did d;
    double var_sum = 0.0;  /* sum s_i^2 / n_i */
    double ws_den = 0.0;   /* sum (s_i^2 / n_i)^2 / (n_i - 1) */
    double pool_num = 0.0; /* sum (n_i - 1) s_i^2 */
    double pool_den = 0.0; /* sum (n_i - 1) */
    double crit;
    int i;

    if (cells == NULL || out == NULL) {
        return -EINVAL;
    }
    memset(&d, 0, sizeof(d));
    for (i = 0; i < 4; i++) {
        const struct stats_cell *c = &cells[i];
        double v;

        if (!isfinite(c->n) || !isfinite(c->mean) || !isfinite(c->sd) || c->n < 2.0 ||
            c->sd < 0.0) {
            return -EINVAL;
        }
        v = c->sd * c->sd / c->n;
        var_sum += v;
        ws_den += v * v / (c->n - 1.0);
        pool_num += (c->n - 1.0) * c->sd * c->sd;
        pool_den += c->n - 1.0;
    }
    d.did.est = (cells[STATS_T_AFTER].mean - cells[STATS_T_BEFORE].mean) -
                (cells[STATS_C_AFTER].mean - cells[STATS_C_BEFORE].mean);
    d.did.se = sqrt(var_sum);
    d.did.df = ws_den > 0.0 ? var_sum * var_sum / ws_den : pool_den;
    /* Welch-Satterthwaite df is at least min(n_i) - 1 >= 1 in exact
     * arithmetic; the guard keeps rounding from leaving the t range. */
    if (d.did.df < 1.0) {
        d.did.df = 1.0;
    }
    crit = stats_t975(d.did.df);
    d.did.lo = d.did.est - crit * d.did.se;
    d.did.hi = d.did.est + crit * d.did.se;
    d.pooled_sd = sqrt(pool_num / pool_den);
    if (d.pooled_sd > 0.0) {
        d.effect = d.did.est / d.pooled_sd;
        d.effect_defined = 1;
    }
    *out = d;
    return 0;
}

/* r and its Fisher-z interval from the centred sums; sxx and syy > 0. */
static void stats_corr_finish(uint64_t n, double sxx, double syy, double sxy,
                              struct stats_corr *out)
{
    struct stats_corr c = {0};

    c.n = n;
    c.r = sxy / sqrt(sxx * syy);
    /* Rounding can push |r| a hair past 1. */
    if (c.r > 1.0) {
        c.r = 1.0;
    } else if (c.r < -1.0) {
        c.r = -1.0;
    }
    c.lo = -1.0;
    c.hi = 1.0;
    if (n >= 4) {
        c.ci_defined = 1;
        if (fabs(c.r) >= 1.0) {
            c.lo = c.r;
            c.hi = c.r;
        } else {
            double z = atanh(c.r);
            double se = 1.0 / sqrt((double)(n - 3));

            c.lo = tanh(z - STATS_Z975 * se);
            c.hi = tanh(z + STATS_Z975 * se);
        }
    }
    *out = c;
}

int stats_corr(const double *x, const double *y, size_t n, struct stats_corr *out)
{
    double mx = 0.0;
    double my = 0.0;
    double sxx = 0.0;
    double syy = 0.0;
    double sxy = 0.0;
    size_t i;

    if (x == NULL || y == NULL || out == NULL || n < 3) {
        return -EINVAL;
    }
    for (i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) {
            return -EINVAL;
        }
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (i = 0; i < n; i++) {
        double dx = x[i] - mx;
        double dy = y[i] - my;

        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    if (!(sxx > 0.0) || !(syy > 0.0)) {
        return -EINVAL;
    }
    stats_corr_finish((uint64_t)n, sxx, syy, sxy, out);
    return 0;
}

int stats_corr_sums(uint64_t n, double sx, double sy, double sxx, double syy, double sxy,
                    struct stats_corr *out)
{
    double dn;
    double cxx;
    double cyy;
    double cxy;

    if (out == NULL || n < 3 || !isfinite(sx) || !isfinite(sy) || !isfinite(sxx) ||
        !isfinite(syy) || !isfinite(sxy)) {
        return -EINVAL;
    }
    dn = (double)n;
    cxx = sxx - sx * sx / dn;
    cyy = syy - sy * sy / dn;
    cxy = sxy - sx * sy / dn;
    /* A constant variable leaves only rounding noise in its centred sum:
     * compare with the size of the raw sum rather than with 0. */
    if (!(cxx > 1e-12 * sxx) || !(cyy > 1e-12 * syy)) {
        return -EINVAL;
    }
    stats_corr_finish(n, cxx, cyy, cxy, out);
    return 0;
}
