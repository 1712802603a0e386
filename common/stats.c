#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
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

/* ---- Student's t: the regularized incomplete beta function and its inverse
 *
 * Written here rather than taken from a library: the whole of it is a
 * continued fraction, a log-gamma and a safeguarded Newton iteration, and
 * glibc's lgamma() writes the global signgam, which would make these
 * functions unsafe to call from two threads at once. */

/* Digits the continued fraction and the Newton iteration aim for. */
#define STATS_EPS 1e-16
/* Terms of the continued fraction at most: it needs about sqrt(max(a, b))
 * of them, so this covers df up to 10^9 and more. */
#define STATS_CF_MAX 200000
/* From this many degrees of freedom on, the quantile comes from the
 * Cornish-Fisher expansion in 1/df (Abramowitz & Stegun 26.7.5), whose
 * first omitted term is below 1e-18 there; the continued fraction would
 * need hundreds of terms and lose digits to their rounding. */
#define STATS_T_ASYMPTOTIC 5e4
/* 0.5 * ln(2 pi), sqrt(2) and sqrt(2 / pi). */
#define STATS_HALF_LN_2PI 0.91893853320467274178
#define STATS_SQRT2 1.41421356237309504880
#define STATS_SQRT_2_PI 0.79788456080286535588

/* Stirling's series of ln Gamma(z) beyond its leading terms, z >= 10: the
 * first omitted term, 1/(156 z^13), is below 1e-15. */
static double stats_stirling_tail(double z)
{
    double r = 1.0 / (z * z);

    return (1.0 / 12.0 +
            r * (-1.0 / 360.0 +
                 r * (1.0 / 1260.0 +
                      r * (-1.0 / 1680.0 + r * (1.0 / 1188.0 + r * (-691.0 / 360360.0)))))) /
           z;
}

/* ln Gamma(z) for z > 0, shifted up to z >= 10 for Stirling's series. */
static double stats_lgamma(double z)
{
    double shift = 1.0;

    while (z < 10.0) {
        shift *= z;
        z += 1.0;
    }
    return (z - 0.5) * log(z) - z + STATS_HALF_LN_2PI + stats_stirling_tail(z) - log(shift);
}

/* ln B(a, b) = ln Gamma(a) + ln Gamma(b) - ln Gamma(a + b), a, b > 0. When
 * the larger argument is big, ln Gamma(l + s) - ln Gamma(l) is taken from
 * Stirling's series as one difference, so that two large log-gammas never
 * cancel (df = 10^6 would lose seven digits that way). */
static double stats_lbeta(double a, double b)
{
    double s = a < b ? a : b;
    double l = a < b ? b : a;

    if (l < 10.0) {
        return stats_lgamma(s) + stats_lgamma(l) - stats_lgamma(s + l);
    }
    return stats_lgamma(s) - ((l - 0.5) * log1p(s / l) + s * log(l + s) - s +
                              stats_stirling_tail(l + s) - stats_stirling_tail(l));
}

/* The continued fraction of I_x(a, b) (modified Lentz), converging fast
 * for x < (a + 1) / (a + b + 2). */
static double stats_betacf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1.0;
    double d = 1.0 - (a + b) * x / (a + 1.0);
    double h;

    if (fabs(d) < tiny) {
        d = tiny;
    }
    d = 1.0 / d;
    h = d;
    for (int m = 1; m <= STATS_CF_MAX; m++) {
        double dm = (double)m;
        double aa = dm * (b - dm) * x / ((a - 1.0 + 2.0 * dm) * (a + 2.0 * dm));
        double del;

        d = 1.0 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1.0 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + dm) * (a + b + dm) * x / ((a + 2.0 * dm) * (a + 1.0 + 2.0 * dm));
        d = 1.0 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1.0 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1.0 / d;
        del = d * c;
        h *= del;
        if (fabs(del - 1.0) < STATS_EPS) {
            break;
        }
    }
    return h;
}

/*
 * I_x(a, b) into *p and 1 - I_x(a, b) into *q, each computed directly
 * where it is the one the continued fraction gives, so a small tail keeps
 * its relative precision. y = 1 - x, lx = ln x and ly = ln y are passed in
 * as the caller can compute them without cancellation.
 */
static void stats_ibeta_pq(double a, double b, double x, double y, double lx, double ly, double *p,
                           double *q)
{
    double front;

    if (x <= 0.0) {
        *p = 0.0;
        *q = 1.0;
        return;
    }
    if (y <= 0.0) {
        *p = 1.0;
        *q = 0.0;
        return;
    }
    front = exp(a * lx + b * ly - stats_lbeta(a, b));
    if (x < (a + 1.0) / (a + b + 2.0)) {
        *p = front * stats_betacf(a, b, x) / a;
        *q = 1.0 - *p;
    } else {
        *q = front * stats_betacf(b, a, y) / b;
        *p = 1.0 - *q;
    }
}

double stats_ibeta(double a, double b, double x)
{
    double p;
    double q;

    if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0) || !(x <= 1.0) || isinf(a) || isinf(b)) {
        return NAN;
    }
    stats_ibeta_pq(a, b, x, 1.0 - x, log(x), log1p(-x), &p, &q);
    return p;
}

/* Two-sided tail of Student's t with df degrees of freedom beyond t > 0:
 * P(|T| > t) = I_x(df/2, 1/2) with x = df / (df + t^2). Sets *tail and
 * *lpdf2 = ln(2 t f(t)), f the density (the tail's derivative in ln t is
 * -2 t f(t)). */
static void stats_t_tail(double t, double df, double *tail, double *lpdf2)
{
    double u = t / df * t; /* t^2 / df */
    double x;
    double y;
    double lx;
    double ly;
    double l1u; /* ln(1 + u) */
    double inside;

    if (u <= 1.0) {
        x = 1.0 / (1.0 + u);
        y = u / (1.0 + u);
        l1u = log1p(u);
        lx = -l1u;
        ly = log(u) - l1u;
    } else {
        double r = df / t / t; /* 1 / u, without overflowing t^2 */

        x = r / (1.0 + r);
        y = 1.0 / (1.0 + r);
        ly = -log1p(r);
        lx = log(r) + ly;
        l1u = -lx;
    }
    stats_ibeta_pq(df / 2.0, 0.5, x, y, lx, ly, tail, &inside);
    *lpdf2 = log(2.0 * t) - (df + 1.0) / 2.0 * l1u - 0.5 * log(df) - stats_lbeta(df / 2.0, 0.5);
}

/* The normal z with P(|Z| > z) = alpha, 0 < alpha < 1: Newton on
 * ln erfc(z / sqrt 2) from a bracket. */
static double stats_z_two_sided(double alpha)
{
    double lo = 0.0;
    double hi = 40.0;
    double z = sqrt(-2.0 * log(alpha / 2.0));
    double la = log(alpha);

    for (int i = 0; i < 200; i++) {
        double e = erfc(z / STATS_SQRT2);
        double g = log(e) - la;
        double dg = -STATS_SQRT_2_PI * exp(-z * z / 2.0) / e;
        double next;

        if (g > 0.0) {
            lo = z;
        } else {
            hi = z;
        }
        next = z - g / dg;
        if (!(next > lo && next < hi)) {
            next = (lo + hi) / 2.0;
        }
        if (fabs(next - z) <= STATS_EPS * z || hi - lo <= STATS_EPS * z) {
            return next;
        }
        z = next;
    }
    return z;
}

/* The t with P(|T| > t) = alpha, 0 < alpha < 1, df > 0 finite. */
static double stats_t_two_sided(double alpha, double df)
{
    double z = stats_z_two_sided(alpha);
    double la = log(alpha);
    double vlo;
    double vhi;
    double v;

    if (df >= STATS_T_ASYMPTOTIC) {
        double z2 = z * z;
        double g1 = (z2 + 1.0) * z / 4.0;
        double g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
        double g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
        double g4 =
            ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;

        return z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df;
    }
    /* t's tails are heavier than the normal's, so the quantile is at least
     * z; widen the bracket upwards until it holds the root. Newton works
     * on ln t, where the tail is close to a power law for small df and
     * smooth everywhere. */
    vlo = log(z);
    vhi = vlo + 1.0;
    for (;;) {
        double tail;
        double lpdf2;

        stats_t_tail(exp(vhi), df, &tail, &lpdf2);
        if (tail < alpha) {
            break;
        }
        vlo = vhi;
        vhi += 2.0 * (vhi - log(z)) + 1.0;
        if (vhi > 709.0) {
            /* The quantile lies beyond the largest double. */
            return INFINITY;
        }
    }
    v = log(z + (z * z + 1.0) * z / (4.0 * df));
    if (!(v > vlo && v < vhi)) {
        v = (vlo + vhi) / 2.0;
    }
    for (int i = 0; i < 400; i++) {
        double tail;
        double lpdf2;
        double g;
        double next;

        stats_t_tail(exp(v), df, &tail, &lpdf2);
        g = log(tail) - la;
        if (g > 0.0) {
            vlo = v;
        } else {
            vhi = v;
        }
        next = v + g / exp(lpdf2 - log(tail));
        if (!(next > vlo && next < vhi)) {
            next = (vlo + vhi) / 2.0;
        }
        if (fabs(next - v) <= 4.0 * STATS_EPS * fabs(v) + 1e-300 || vhi - vlo <= 1e-15) {
            return exp(next);
        }
        v = next;
    }
    return exp(v);
}

double stats_t_crit(double level, double df)
{
    double alpha = 1.0 - level;

    if (!(level > 0.0) || !(level < 1.0) || !(df > 0.0)) {
        return NAN;
    }
    if (isinf(df)) {
        return stats_z_two_sided(alpha);
    }
    return stats_t_two_sided(alpha, df);
}

double stats_t_quantile(double p, double df)
{
    if (!(p > 0.0) || !(p < 1.0) || !(df > 0.0)) {
        return NAN;
    }
    if (p == 0.5) {
        return 0.0;
    }
    if (p > 0.5) {
        double alpha = 2.0 * (1.0 - p);

        return isinf(df) ? stats_z_two_sided(alpha) : stats_t_two_sided(alpha, df);
    }
    return isinf(df) ? -stats_z_two_sided(2.0 * p) : -stats_t_two_sided(2.0 * p, df);
}

double stats_t975(double df)
{
    return stats_t_crit(0.95, df);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double stats_median(double *v, size_t n)
{
    if (n == 0) {
        return NAN;
    }
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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

/* The estimate's weights on the four cells: (T_a - T_b) - (C_a - C_b). */
static const double stats_did_l[4] = {-1.0, 1.0, 1.0, -1.0};

int stats_did_cluster_init(struct stats_did_cluster *a, const double n[4], const double sum[4])
{
    if (a == NULL || n == NULL || sum == NULL) {
        return -EINVAL;
    }
    for (int i = 0; i < 4; i++) {
        if (!isfinite(n[i]) || !isfinite(sum[i]) || !(n[i] > 0.0)) {
            return -EINVAL;
        }
    }
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < 4; i++) {
        a->n[i] = n[i];
        a->mean[i] = sum[i] / n[i];
    }
    return 0;
}

int stats_did_cluster_add(struct stats_did_cluster *a, const double n[4], const double sum[4])
{
    double s = 0.0;
    double total = 0.0;

    if (a == NULL || n == NULL || sum == NULL) {
        return -EINVAL;
    }
    for (int i = 0; i < 4; i++) {
        if (!isfinite(n[i]) || !isfinite(sum[i]) || n[i] < 0.0) {
            return -EINVAL;
        }
        total += n[i];
    }
    if (total == 0.0) {
        return 0;
    }
    /* The group's score on the contrast: its residuals y - m_c summed per
     * cell, each cell weighted by l_c / N_c (the contrast's row of
     * (X'X)^-1 X' in the cell-means parametrisation). */
    for (int i = 0; i < 4; i++) {
        s += stats_did_l[i] * (sum[i] - n[i] * a->mean[i]) / a->n[i];
    }
    a->meat += s * s;
    a->groups += 1.0;
    if (n[STATS_T_BEFORE] + n[STATS_T_AFTER] > 0.0) {
        a->groups_treated += 1.0;
    }
    if (n[STATS_C_BEFORE] + n[STATS_C_AFTER] > 0.0) {
        a->groups_control += 1.0;
    }
    return 0;
}

int stats_did_cluster_finish(const struct stats_did_cluster *a, double level, struct stats_ci *out)
{
    struct stats_ci c;
    double nobs;
    double crit;

    if (a == NULL || out == NULL || !(level > 0.0 && level < 1.0)) {
        return -EINVAL;
    }
    nobs = a->n[0] + a->n[1] + a->n[2] + a->n[3];
    if (a->groups < 2.0 || !(nobs > 4.0)) {
        return -EINVAL;
    }
    c.est = (a->mean[STATS_T_AFTER] - a->mean[STATS_T_BEFORE]) -
            (a->mean[STATS_C_AFTER] - a->mean[STATS_C_BEFORE]);
    c.se = sqrt(a->groups / (a->groups - 1.0) * (nobs - 1.0) / (nobs - 4.0) * a->meat);
    c.df = a->groups - 1.0;
    crit = stats_t_crit(level, c.df);
    c.lo = c.est - crit * c.se;
    c.hi = c.est + crit * c.se;
    *out = c;
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
