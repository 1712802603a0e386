#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>

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
         * chance alone explains all agreement and kappa is 0/0. Report
         * what the header promises instead of a NaN. */
        out->kappa = observed == 0.0 ? 1.0 : 0.0;
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
