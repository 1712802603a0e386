/*
 * Tests of stats, the agreement statistics: exact and within-one shares,
 * quadratic-weighted kappa against a hand-computed example and against
 * examples published with stated results, the edge cases (perfect,
 * opposite and single-category ratings), argument checks, and that the
 * pairs and table forms agree on the same data.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stats.h"

/* Tight enough to catch a wrong formula, loose enough for rounding. */
#define EPS 1e-12

#define ASSERT_NEAR(got, want, tol)                                                                \
    do {                                                                                           \
        double got_ = (got);                                                                       \
        double want_ = (want);                                                                     \
        if (!(fabs(got_ - want_) <= (tol))) {                                                      \
            fail_msg("%s = %.17g, want %.17g (tolerance %g)", #got, got_, want_, (double)(tol));   \
        }                                                                                          \
    } while (0)

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

/* Builds the k x k table of (a - lo, b - lo) pairs, for comparing forms. */
static void pairs_to_table(const int *a, const int *b, size_t n, int lo, int k, double *counts)
{
    size_t i;

    memset(counts, 0, sizeof(double) * (size_t)k * (size_t)k);
    for (i = 0; i < n; i++) {
        counts[(a[i] - lo) * k + (b[i] - lo)] += 1.0;
    }
}

/* A struct full of values no successful call can produce, to show that a
 * refused call left it alone. */
static void poison(struct stats_agreement *s)
{
    s->n = 12345;
    s->exact = -7.0;
    s->within_one = -7.0;
    s->kappa = -7.0;
    s->kappa_defined = 42;
}

static void assert_poisoned(const struct stats_agreement *s)
{
    assert_int_equal(s->n, 12345);
    assert_true(s->exact == -7.0);
    assert_true(s->within_one == -7.0);
    assert_true(s->kappa == -7.0);
    assert_int_equal(s->kappa_defined, 42);
}

/*
 * Hand-computed, scale 1..3, six pairs:
 *
 *   A: 1 1 2 2 3 3
 *   B: 1 2 2 3 3 3
 *
 * Table (rows A, columns B):      B=1 B=2 B=3 | row
 *                          A=1     1   1   0  |  2
 *                          A=2     0   1   1  |  2
 *                          A=3     0   0   2  |  2
 *                          col     1   2   3  |  N = 6
 *
 * Exact: 1 + 1 + 2 = 4 of 6 = 2/3. Within one: all 6 = 1.
 * Observed disagreement, sum (i-j)^2 n_ij: 1 (cell 1,2) + 1 (cell 2,3) = 2.
 * Expected, sum (i-j)^2 r_i c_j: every r_i is 2, and for column j the
 * sum over i of (i-j)^2 is 5, 2, 5, so 2 * (1*5 + 2*2 + 3*5) = 2 * 24 = 48.
 * kappa = 1 - N * 2 / 48 = 1 - 12/48 = 0.75.
 *
 * For contrast, unweighted kappa on this table is 0.5 and linear-weighted
 * kappa 0.625, so 0.75 pins the quadratic weights specifically.
 */
static void test_hand_computed(void **state)
{
    const int a[] = {1, 1, 2, 2, 3, 3};
    const int b[] = {1, 2, 2, 3, 3, 3};
    struct stats_agreement s;

    (void)state;
    assert_int_equal(stats_agreement(a, b, NELEM(a), 1, 3, &s), 0);
    assert_int_equal(s.n, 6);
    ASSERT_NEAR(s.exact, 4.0 / 6.0, EPS);
    ASSERT_NEAR(s.within_one, 1.0, EPS);
    assert_int_equal(s.kappa_defined, 1);
    ASSERT_NEAR(s.kappa, 0.75, EPS);
}

/*
 * Published example 1: Maple's EssayTools[QuadraticWeightedKappa] help page
 * (Maplesoft, "QuadraticWeightedKappa - Maple Help",
 * https://www.maplesoft.com/support/help/maple/view.aspx?path=EssayTools/QuadraticWeightedKappa),
 * Examples section. Min and Max are taken from the data there (1..10);
 * quadratic kappa does not depend on that choice. Stated results:
 *
 *   QuadraticWeightedKappa([9,7,8,7,6,8,3,5,10], [8,8,6,6,7,6,1,4,8])
 *     = 0.758620689655172
 *   QuadraticWeightedKappa([9,7,8,7,6,8,3,5,10], [3,5,6,6,7,6,1,4,8])
 *     = 0.438095238095238
 *
 * Printed to 15 digits, so we allow 1e-12.
 */
static void test_published_maple(void **state)
{
    const int a[] = {9, 7, 8, 7, 6, 8, 3, 5, 10};
    const int b1[] = {8, 8, 6, 6, 7, 6, 1, 4, 8};
    const int b2[] = {3, 5, 6, 6, 7, 6, 1, 4, 8};
    struct stats_agreement s;

    (void)state;
    assert_int_equal(stats_agreement(a, b1, NELEM(a), 1, 10, &s), 0);
    assert_int_equal(s.kappa_defined, 1);
    ASSERT_NEAR(s.kappa, 0.758620689655172, 1e-12);
    /* Not stated on the page, counted by hand: the differences a - b are
     * 1 -1 2 1 -1 2 2 1 2, so no pair is equal and 5 of 9 are within one. */
    ASSERT_NEAR(s.exact, 0.0, EPS);
    ASSERT_NEAR(s.within_one, 5.0 / 9.0, EPS);

    assert_int_equal(stats_agreement(a, b2, NELEM(a), 1, 10, &s), 0);
    assert_int_equal(s.kappa_defined, 1);
    ASSERT_NEAR(s.kappa, 0.438095238095238, 1e-12);
}

/*
 * Published example 2: R package Metrics, ScoreQuadraticWeightedKappa help
 * page (Hamner & Frasco, Metrics 0.1.4; "Example output" as rendered on
 * rdrr.io/cran/Metrics/man/ScoreQuadraticWeightedKappa.html):
 *
 *   rater.a <- c(1, 4, 5, 5, 2, 1); rater.b <- c(2, 2, 4, 5, 3, 3)
 *   ScoreQuadraticWeightedKappa(rater.a, rater.b, 1, 5)   # [1] 0.56
 *
 * Checked by hand too: sum of (a-b)^2 is 1+4+1+0+1+4 = 11; over all 36
 * cross pairs sum (a_i - b_j)^2 = 6*72 + 6*67 - 2*18*19 = 150; kappa =
 * 1 - 6*11/150 = 1 - 0.44 = 0.56. The same numbers go through the table
 * form.
 */
static void test_published_metrics(void **state)
{
    const int a[] = {1, 4, 5, 5, 2, 1};
    const int b[] = {2, 2, 4, 5, 3, 3};
    double counts[5 * 5];
    struct stats_agreement s;

    (void)state;
    assert_int_equal(stats_agreement(a, b, NELEM(a), 1, 5, &s), 0);
    assert_int_equal(s.kappa_defined, 1);
    ASSERT_NEAR(s.kappa, 0.56, 1e-12);
    ASSERT_NEAR(s.exact, 1.0 / 6.0, EPS);
    ASSERT_NEAR(s.within_one, 4.0 / 6.0, EPS);

    pairs_to_table(a, b, NELEM(a), 1, 5, counts);
    assert_int_equal(stats_agreement_table(counts, 5, &s), 0);
    assert_int_equal(s.n, 6);
    assert_int_equal(s.kappa_defined, 1);
    ASSERT_NEAR(s.kappa, 0.56, 1e-12);
}

static void test_perfect_agreement(void **state)
{
    const int a[] = {0, 1, 2, 3, 4, 2, 2, 1};
    struct stats_agreement s;

    (void)state;
    assert_int_equal(stats_agreement(a, a, NELEM(a), 0, 4, &s), 0);
    assert_int_equal(s.n, NELEM(a));
    ASSERT_NEAR(s.exact, 1.0, EPS);
    ASSERT_NEAR(s.within_one, 1.0, EPS);
    assert_int_equal(s.kappa_defined, 1);
    ASSERT_NEAR(s.kappa, 1.0, EPS);
}

/*
 * Ratings mirrored around the middle of 1..5. Sum of (a-b)^2 is
 * 16+4+0+4+16 = 40; over all 25 cross pairs it is 5*55 + 5*55 - 2*15*15 =
 * 100; kappa = 1 - 5*40/100 = -1.
 */
static void test_opposite_ratings(void **state)
{
    const int a[] = {1, 2, 3, 4, 5};
    const int b[] = {5, 4, 3, 2, 1};
    struct stats_agreement s;

    (void)state;
    assert_int_equal(stats_agreement(a, b, NELEM(a), 1, 5, &s), 0);
    assert_int_equal(s.kappa_defined, 1);
    assert_true(s.kappa < 0.0);
    ASSERT_NEAR(s.kappa, -1.0, EPS);
    ASSERT_NEAR(s.exact, 0.2, EPS);
    ASSERT_NEAR(s.within_one, 0.2, EPS);
}

/* Exact and within-one shares on their own: differences 0 0 1 -1 2 -3 0 1
 * give 3 exact and 6 within one of 8. */
static void test_unweighted_shares(void **state)
{
    const int a[] = {2, 3, 3, 2, 4, 1, 5, 4};
    const int b[] = {2, 3, 2, 3, 2, 4, 5, 3};
    struct stats_agreement s;

    (void)state;
    assert_int_equal(stats_agreement(a, b, NELEM(a), 1, 5, &s), 0);
    assert_int_equal(s.n, 8);
    ASSERT_NEAR(s.exact, 3.0 / 8.0, EPS);
    ASSERT_NEAR(s.within_one, 6.0 / 8.0, EPS);
}

/* Both raters used only category 3: expected disagreement is 0, kappa is
 * 0/0, undefined, and NaN: never a figure such as 1.00 that could certify
 * (issue 11, "Undefined kappa shown as 1.00"). */
static void test_single_category(void **state)
{
    const int a[] = {3, 3, 3, 3};
    struct stats_agreement s;
    double one[1] = {7.0};

    (void)state;
    assert_int_equal(stats_agreement(a, a, NELEM(a), 1, 5, &s), 0);
    assert_int_equal(s.kappa_defined, 0);
    assert_true(isnan(s.kappa));
    ASSERT_NEAR(s.exact, 1.0, EPS);

    /* A one-category table: never defined. */
    assert_int_equal(stats_agreement_table(one, 1, &s), 0);
    assert_int_equal(s.n, 7);
    assert_int_equal(s.kappa_defined, 0);
    assert_true(isnan(s.kappa));
    ASSERT_NEAR(s.exact, 1.0, EPS);
    ASSERT_NEAR(s.within_one, 1.0, EPS);
}

/* One rater constant, the other not: expected disagreement is positive
 * (2 * 3 = 6 over the cross pairs, observed 2), so kappa is defined and
 * equals 1 - 3*2/6 = 0: no agreement beyond chance. */
static void test_one_rater_constant(void **state)
{
    const int a[] = {2, 2, 2};
    const int b[] = {1, 2, 3};
    struct stats_agreement s;

    (void)state;
    assert_int_equal(stats_agreement(a, b, NELEM(a), 1, 3, &s), 0);
    assert_int_equal(s.kappa_defined, 1);
    ASSERT_NEAR(s.kappa, 0.0, EPS);
    ASSERT_NEAR(s.exact, 1.0 / 3.0, EPS);
    ASSERT_NEAR(s.within_one, 1.0, EPS);
}

static void test_invalid_pairs(void **state)
{
    const int a[] = {1, 2, 3};
    const int b[] = {1, 2, 3};
    const int low[] = {1, 0, 3};
    const int high[] = {1, 2, 6};
    struct stats_agreement s;

    (void)state;
    poison(&s);
    assert_int_equal(stats_agreement(a, b, 0, 1, 5, &s), -EINVAL);
    assert_poisoned(&s);
    /* A score below lo in either rater, or above hi. */
    assert_int_equal(stats_agreement(low, b, 3, 1, 5, &s), -EINVAL);
    assert_int_equal(stats_agreement(a, low, 3, 1, 5, &s), -EINVAL);
    assert_int_equal(stats_agreement(high, b, 3, 1, 5, &s), -EINVAL);
    assert_int_equal(stats_agreement(a, high, 3, 1, 5, &s), -EINVAL);
    assert_poisoned(&s);
    /* Empty scale, a scale one wider than the limit, and the widest
     * possible one (must not overflow while checking). */
    assert_int_equal(stats_agreement(a, b, 3, 3, 1, &s), -EINVAL);
    assert_int_equal(stats_agreement(a, b, 3, 1, STATS_MAX_CATEGORIES + 1, &s), -EINVAL);
    assert_int_equal(stats_agreement(a, b, 3, INT_MIN, INT_MAX, &s), -EINVAL);
    assert_int_equal(stats_agreement(a, b, 3, INT_MAX, INT_MIN, &s), -EINVAL);
    assert_int_equal(stats_agreement(NULL, b, 3, 1, 5, &s), -EINVAL);
    assert_int_equal(stats_agreement(a, NULL, 3, 1, 5, &s), -EINVAL);
    assert_int_equal(stats_agreement(a, b, 3, 1, 5, NULL), -EINVAL);
    assert_poisoned(&s);

    /* The widest allowed scale and a one-point scale are accepted. */
    assert_int_equal(stats_agreement(a, b, 3, 1, STATS_MAX_CATEGORIES, &s), 0);
    assert_int_equal(stats_agreement(a, b, 1, 1, 1, &s), 0);
    assert_int_equal(s.kappa_defined, 0);
}

static void test_invalid_table(void **state)
{
    double zeros[4] = {0, 0, 0, 0};
    double negative[4] = {3, -1, 2, 5};
    double nan_cell[4] = {3, 1, 2, 5};
    double inf_cell[4] = {3, 1, 2, 5};
    double huge[4] = {9007199254740992.0, 2, 0, 0};
    double ok[4] = {3, 1, 2, 5};
    struct stats_agreement s;

    (void)state;
    nan_cell[2] = NAN;
    inf_cell[3] = INFINITY;
    poison(&s);
    assert_int_equal(stats_agreement_table(ok, 0, &s), -EINVAL);
    assert_int_equal(stats_agreement_table(ok, -1, &s), -EINVAL);
    assert_int_equal(stats_agreement_table(ok, STATS_MAX_CATEGORIES + 1, &s), -EINVAL);
    assert_int_equal(stats_agreement_table(zeros, 2, &s), -EINVAL);
    assert_int_equal(stats_agreement_table(negative, 2, &s), -EINVAL);
    assert_int_equal(stats_agreement_table(nan_cell, 2, &s), -EINVAL);
    assert_int_equal(stats_agreement_table(inf_cell, 2, &s), -EINVAL);
    assert_int_equal(stats_agreement_table(huge, 2, &s), -EINVAL);
    assert_int_equal(stats_agreement_table(NULL, 2, &s), -EINVAL);
    assert_int_equal(stats_agreement_table(ok, 2, NULL), -EINVAL);
    assert_poisoned(&s);
    assert_int_equal(stats_agreement_table(ok, 2, &s), 0);
    assert_int_equal(s.n, 11);
}

/*
 * The pairs and table forms on the same 200 pseudo-random pairs on the
 * scale -3..3 (a fixed linear congruential sequence, B usually near A),
 * must give identical results; negative lo checks the offset handling.
 */
static void test_pairs_and_table_agree(void **state)
{
    enum { N = 200, K = 7, LO = -3 };
    int a[N];
    int b[N];
    double counts[K * K];
    struct stats_agreement sp;
    struct stats_agreement st;
    uint32_t x = 12345;
    size_t i;

    (void)state;
    for (i = 0; i < N; i++) {
        int d;

        x = x * 1103515245u + 12345u;
        a[i] = LO + (int)((x >> 16) % K);
        x = x * 1103515245u + 12345u;
        d = (int)((x >> 16) % 5) - 2;
        b[i] = a[i] + d;
        if (b[i] < LO) {
            b[i] = LO;
        }
        if (b[i] > LO + K - 1) {
            b[i] = LO + K - 1;
        }
    }
    assert_int_equal(stats_agreement(a, b, N, LO, LO + K - 1, &sp), 0);
    pairs_to_table(a, b, N, LO, K, counts);
    assert_int_equal(stats_agreement_table(counts, K, &st), 0);

    assert_int_equal(sp.n, N);
    assert_int_equal(st.n, N);
    ASSERT_NEAR(st.exact, sp.exact, EPS);
    ASSERT_NEAR(st.within_one, sp.within_one, EPS);
    assert_int_equal(st.kappa_defined, sp.kappa_defined);
    ASSERT_NEAR(st.kappa, sp.kappa, EPS);
    /* Mostly near misses: kappa should be clearly positive but below 1. */
    assert_true(sp.kappa > 0.3 && sp.kappa < 1.0);
}

/* Unused scale points change nothing; swapping the raters changes nothing
 * (quadratic kappa is symmetric); a shifted scale changes nothing. */
static void test_invariances(void **state)
{
    const int a[] = {1, 4, 5, 5, 2, 1};
    const int b[] = {2, 2, 4, 5, 3, 3};
    int a_shift[NELEM(a)];
    int b_shift[NELEM(b)];
    struct stats_agreement s;
    size_t i;

    (void)state;
    assert_int_equal(stats_agreement(a, b, NELEM(a), 0, 15, &s), 0);
    ASSERT_NEAR(s.kappa, 0.56, 1e-12);
    assert_int_equal(stats_agreement(b, a, NELEM(a), 1, 5, &s), 0);
    ASSERT_NEAR(s.kappa, 0.56, 1e-12);
    for (i = 0; i < NELEM(a); i++) {
        a_shift[i] = a[i] - 100;
        b_shift[i] = b[i] - 100;
    }
    assert_int_equal(stats_agreement(a_shift, b_shift, NELEM(a), -99, -95, &s), 0);
    ASSERT_NEAR(s.kappa, 0.56, 1e-12);
}

/* ---- Means, intervals, difference-in-differences, correlation --------- */

/*
 * Student's t quantiles, exact to the digits given (mpmath, 30 digits,
 * inverting the regularized incomplete beta function):
 *   t_0.975(1) = tan(0.475 pi) = 12.706204736174706
 *   t_0.975(2) = sqrt(2) * 0.95 / sqrt(1 - 0.95^2) = 4.302652729749464
 *   t_0.975(7) = 2.3646242515927847, t_0.975(35) = 2.0301079282503428,
 *   t_0.975(1000) = 1.9623390808264081, t_0.975(10^6) = 1.9599663568141067
 * Fractional df (issue 11: the old table interpolation gave 7.1038 and
 * 3.6305, wrong by up to 1.1):
 *   t_0.975(1.5) = 6.0166631044279283, t_0.975(2.5) = 3.5746548420036818,
 *   t_0.975(0.5) = 164.55767348048824
 * Other levels: t_0.95(10) = 1.8124611228116759 (90%), t_0.995(10) =
 * 3.1692726726169507 (99%), t_0.995(0.5) = 4113.9645888041738.
 */
static void test_t975(void **state)
{
    (void)state;
    ASSERT_NEAR(stats_t975(1), 12.706204736174706, 1e-12);
    ASSERT_NEAR(stats_t975(2), 4.302652729749464, 1e-13);
    ASSERT_NEAR(stats_t975(7), 2.3646242515927847, 1e-13);
    ASSERT_NEAR(stats_t975(35), 2.0301079282503428, 1e-13);
    ASSERT_NEAR(stats_t975(1000), 1.9623390808264081, 1e-13);
    ASSERT_NEAR(stats_t975(1e6), 1.9599663568141067, 1e-13);
    ASSERT_NEAR(stats_t975(INFINITY), STATS_Z975, 1e-14);
    ASSERT_NEAR(stats_t975(1.5), 6.0166631044279283, 1e-12);
    ASSERT_NEAR(stats_t975(2.5), 3.5746548420036818, 1e-13);
    ASSERT_NEAR(stats_t975(0.5), 164.55767348048824, 1e-10);
    ASSERT_NEAR(stats_t_crit(0.90, 10), 1.8124611228116759, 1e-13);
    ASSERT_NEAR(stats_t_crit(0.99, 10), 3.1692726726169507, 1e-13);
    ASSERT_NEAR(stats_t_crit(0.99, 0.5), 4113.9645888041738, 1e-8);
    ASSERT_NEAR(stats_t_quantile(0.975, 2.5), 3.5746548420036818, 1e-13);
    ASSERT_NEAR(stats_t_quantile(0.025, 2.5), -3.5746548420036818, 1e-13);
    assert_true(stats_t_quantile(0.5, 3) == 0.0);
    /* The incomplete beta behind it: I_{1/2}(a, a) = 1/2, I_x(1, 1) = x,
     * I_x(a, 1) = x^a. */
    ASSERT_NEAR(stats_ibeta(3.7, 3.7, 0.5), 0.5, 1e-14);
    ASSERT_NEAR(stats_ibeta(1, 1, 0.3), 0.3, 1e-14);
    ASSERT_NEAR(stats_ibeta(2.5, 1, 0.4), pow(0.4, 2.5), 1e-14);
    assert_true(isnan(stats_ibeta(0, 1, 0.5)));
    assert_true(isnan(stats_ibeta(1, 1, 1.5)));
    /* Outside the domain: NAN; a quantile beyond the largest double:
     * INFINITY. */
    assert_true(isnan(stats_t975(0)));
    assert_true(isnan(stats_t975(-3)));
    assert_true(isnan(stats_t975(NAN)));
    assert_true(isnan(stats_t_crit(1.0, 5)));
    assert_true(isnan(stats_t_crit(0.0, 5)));
    assert_true(isnan(stats_t_quantile(1.5, 5)));
    assert_true(isinf(stats_t975(0.001)));
    /* The critical value shrinks as df grows, without a jump anywhere
     * (the old table had seams at 30, 40, 60 and 120). */
    {
        double prev = stats_t975(0.5);
        double df;

        for (df = 0.75; df < 2e5; df *= 1.01) {
            double q = stats_t975(df);

            assert_true(q < prev);
            prev = q;
        }
        assert_true(prev > STATS_Z975);
    }
}

/*
 * x = 2 4 4 4 5 5 7 9: n = 8, sum = 40, sum of squares = 4 + 3 * 16 + 2 * 25
 * + 49 + 81 = 232.
 *   mean = 40 / 8 = 5
 *   var  = (232 - 40^2 / 8) / 7 = (232 - 200) / 7 = 32 / 7 = 4.571429
 *   sd   = sqrt(32 / 7) = 2.138090
 *   se   = sd / sqrt(8) = sqrt(4 / 7) = 0.755929
 *   95%: 5 -/+ t(7) * se = 5 -/+ 2.364624 * 0.755929 = 5 -/+ 1.787488
 *        = 3.212512 .. 6.787488
 */
static void test_summary_and_mean_ci(void **state)
{
    struct stats_summary s;
    struct stats_ci c;

    (void)state;
    assert_int_equal(stats_summary(8, 40, 232, &s), 0);
    assert_int_equal(s.n, 8);
    ASSERT_NEAR(s.mean, 5.0, EPS);
    ASSERT_NEAR(s.var, 32.0 / 7.0, EPS);
    ASSERT_NEAR(s.sd, 2.138090, 1e-6);
    assert_int_equal(s.var_defined, 1);

    assert_int_equal(stats_mean_ci(8, 40, 232, &c), 0);
    ASSERT_NEAR(c.est, 5.0, EPS);
    ASSERT_NEAR(c.se, 0.755929, 1e-6);
    ASSERT_NEAR(c.df, 7.0, EPS);
    ASSERT_NEAR(c.lo, 3.212512, 1e-6);
    ASSERT_NEAR(c.hi, 6.787488, 1e-6);

    /* One observation: a mean, no spread, no interval. */
    assert_int_equal(stats_summary(1, 3, 9, &s), 0);
    ASSERT_NEAR(s.mean, 3.0, EPS);
    assert_int_equal(s.var_defined, 0);
    assert_true(s.var == 0.0 && s.sd == 0.0);
    c.est = -7.0;
    assert_int_equal(stats_mean_ci(1, 3, 9, &c), -EINVAL);
    assert_true(c.est == -7.0);

    /* 3 3 3: sum 9, squares 27: var (27 - 81/3) / 2 = 0, interval 3 .. 3. */
    assert_int_equal(stats_mean_ci(3, 9, 27, &c), 0);
    assert_true(c.se == 0.0 && c.lo == 3.0 && c.hi == 3.0);

    /* 0.1 three times: rounding leaves sumsq - sum^2/n a hair below 0. */
    assert_int_equal(stats_summary(3, 0.1 + 0.1 + 0.1, 0.01 + 0.01 + 0.01, &s), 0);
    assert_true(s.var >= 0.0);

    s.n = 99;
    assert_int_equal(stats_summary(0, 0, 0, &s), -EINVAL);
    assert_int_equal(stats_summary(2, NAN, 1, &s), -EINVAL);
    assert_int_equal(stats_summary(2, 1, INFINITY, &s), -EINVAL);
    assert_int_equal(s.n, 99);
    assert_int_equal(stats_summary(2, 1, 1, NULL), -EINVAL);
    assert_int_equal(stats_mean_ci(2, 1, 1, NULL), -EINVAL);
}

/*
 * Cells (n, mean, sd):  T before (4, 2.0, 0.5)   T after (4, 3.0, 0.5)
 *                       C before (5, 2.2, 1.0)   C after (5, 2.4, 1.0)
 *
 *   est = (3.0 - 2.0) - (2.4 - 2.2) = 1.0 - 0.2 = 0.8
 *   v_i = sd^2 / n: 0.25/4 = 0.0625, 0.0625, 1/5 = 0.2, 0.2; sum 0.525
 *   se  = sqrt(0.525) = 0.724569
 *   df  = 0.525^2 / (2 * 0.0625^2 / 3 + 2 * 0.2^2 / 4)
 *       = 0.275625 / (0.00260417 + 0.02) = 0.275625 / 0.02260417 = 378/31
 *       = 12.193548
 *   t   = t_0.975(378/31) = 2.174983 (exact, not interpolated)
 *   95% = 0.8 -/+ 2.174983 * 0.724569 = 0.8 -/+ 1.575925 = -0.775925 .. 2.375925
 *   pooled sd = sqrt((3 * 0.25 + 3 * 0.25 + 4 * 1 + 4 * 1) / (3 + 3 + 4 + 4))
 *             = sqrt(9.5 / 14) = 0.823754
 *   effect    = 0.8 / 0.823754 = 0.971163
 */
static void test_did(void **state)
{
    struct stats_cell cells[4] = {
        [STATS_T_BEFORE] = {4, 2.0, 0.5},
        [STATS_T_AFTER] = {4, 3.0, 0.5},
        [STATS_C_BEFORE] = {5, 2.2, 1.0},
        [STATS_C_AFTER] = {5, 2.4, 1.0},
    };
    struct stats_did d;

    (void)state;
    assert_int_equal(stats_did(cells, &d), 0);
    ASSERT_NEAR(d.did.est, 0.8, 1e-12);
    ASSERT_NEAR(d.did.se, 0.724569, 1e-6);
    ASSERT_NEAR(d.did.df, 378.0 / 31.0, 1e-9);
    ASSERT_NEAR(d.did.lo, -0.775925107004382, 1e-12);
    ASSERT_NEAR(d.did.hi, 2.375925107004382, 1e-12);
    ASSERT_NEAR(d.pooled_sd, 0.823754, 1e-6);
    ASSERT_NEAR(d.effect, 0.971163, 1e-6);
    assert_int_equal(d.effect_defined, 1);

    /* Swapping the groups flips the sign of the estimate and the effect
     * and mirrors the interval. */
    {
        struct stats_cell sw[4] = {cells[2], cells[3], cells[0], cells[1]};
        struct stats_did e;

        assert_int_equal(stats_did(sw, &e), 0);
        ASSERT_NEAR(e.did.est, -0.8, 1e-12);
        ASSERT_NEAR(e.effect, -0.971163, 1e-6);
        ASSERT_NEAR(e.did.lo, -2.375925107004382, 1e-12);
    }

    /* No spread anywhere: se 0, df = 3 + 3 + 4 + 4 = 14, effect undefined. */
    cells[0].sd = cells[1].sd = cells[2].sd = cells[3].sd = 0.0;
    assert_int_equal(stats_did(cells, &d), 0);
    ASSERT_NEAR(d.did.est, 0.8, 1e-12);
    assert_true(d.did.se == 0.0);
    ASSERT_NEAR(d.did.df, 14.0, EPS);
    ASSERT_NEAR(d.did.lo, 0.8, 1e-12);
    assert_int_equal(d.effect_defined, 0);
    assert_true(d.effect == 0.0);

    /* A cell of one observation, a negative sd, NaN: refused, out kept. */
    d.did.est = -7.0;
    cells[0].sd = 0.5;
    cells[3].n = 1;
    assert_int_equal(stats_did(cells, &d), -EINVAL);
    cells[3].n = 5;
    cells[1].sd = -0.1;
    assert_int_equal(stats_did(cells, &d), -EINVAL);
    cells[1].sd = 0.5;
    cells[2].mean = NAN;
    assert_int_equal(stats_did(cells, &d), -EINVAL);
    assert_true(d.did.est == -7.0);
    assert_int_equal(stats_did(NULL, &d), -EINVAL);
    assert_int_equal(stats_did(cells, NULL), -EINVAL);
}

/*
 * Clustered difference-in-differences, four managers (groups):
 *   A (trained):   before 2 3, after 3 4     B (trained):   before 1, after 3
 *   C (untrained): before 2 2, after 3       D (untrained): before 3, after 2 3
 * Cells: T before n 3 mean 2, T after n 3 mean 10/3, C before n 3 mean 7/3,
 * C after n 3 mean 8/3; est = (10/3 - 2) - (8/3 - 7/3) = 1.
 * Scores s_g = sum_c l_c (S_gc - n_gc m_c) / N_c with l = (-1, 1, 1, -1):
 *   A: -(5 - 4)/3 + (7 - 20/3)/3 = -2/9     B: -(1 - 2)/3 + (3 - 10/3)/3 = 2/9
 *   C: (4 - 14/3)/3 - (3 - 8/3)/3 = -1/3    D: (3 - 7/3)/3 - (5 - 16/3)/3 = 1/3
 * meat = (4 + 4 + 9 + 9)/81 = 26/81; CR1 factor G/(G-1) (N-1)/(N-4) = 4/3 *
 * 11/8 = 11/6; V = 11/6 * 26/81 = 143/243, se = 0.767122784341036;
 * t_0.975(3) = 3.182446305284263: 1 -/+ 2.441327070725500.
 * statsmodels OLS(y, [1, T, P, T*P]).fit(cov_type='cluster', use_t=True)
 * gives se 0.767122784341034 and -1.441327070725504 .. 3.441327070725496.
 */
static void test_did_cluster(void **state)
{
    static const double tot_n[4] = {3, 3, 3, 3};
    static const double tot_s[4] = {6, 10, 7, 8};
    static const double gn[4][4] = {{2, 2, 0, 0}, {1, 1, 0, 0}, {0, 0, 2, 1}, {0, 0, 1, 2}};
    static const double gs[4][4] = {{5, 7, 0, 0}, {1, 3, 0, 0}, {0, 0, 4, 3}, {0, 0, 3, 5}};
    static const double none[4] = {0, 0, 0, 0};
    struct stats_did_cluster a;
    struct stats_ci c;

    (void)state;
    assert_int_equal(stats_did_cluster_init(&a, tot_n, tot_s), 0);
    /* One group only: no clustered variance. */
    assert_int_equal(stats_did_cluster_add(&a, gn[0], gs[0]), 0);
    c.est = -7;
    assert_int_equal(stats_did_cluster_finish(&a, 0.95, &c), -EINVAL);
    assert_true(c.est == -7);
    for (int g = 1; g < 4; g++) {
        assert_int_equal(stats_did_cluster_add(&a, gn[g], gs[g]), 0);
    }
    /* A group without observations is not a group. */
    assert_int_equal(stats_did_cluster_add(&a, none, none), 0);
    assert_true(a.groups == 4 && a.groups_treated == 2 && a.groups_control == 2);
    assert_int_equal(stats_did_cluster_finish(&a, 0.95, &c), 0);
    ASSERT_NEAR(c.est, 1.0, 1e-14);
    ASSERT_NEAR(c.se, sqrt(143.0 / 243.0), 1e-14);
    ASSERT_NEAR(c.df, 3.0, 0);
    ASSERT_NEAR(c.lo, -1.441327070725500, 1e-12);
    ASSERT_NEAR(c.hi, 3.441327070725500, 1e-12);
    /* At 99% the interval widens by t_0.995(3) / t_0.975(3). */
    assert_int_equal(stats_did_cluster_finish(&a, 0.99, &c), 0);
    ASSERT_NEAR(c.hi - c.est, stats_t_crit(0.99, 3) * sqrt(143.0 / 243.0), 1e-12);
    /* An empty cell, a negative count, NaN: refused. */
    {
        double bad[4] = {3, 0, 3, 3};

        assert_int_equal(stats_did_cluster_init(&a, bad, tot_s), -EINVAL);
        bad[1] = NAN;
        assert_int_equal(stats_did_cluster_init(&a, bad, tot_s), -EINVAL);
        assert_int_equal(stats_did_cluster_init(&a, tot_n, tot_s), 0);
        bad[1] = -1;
        assert_int_equal(stats_did_cluster_add(&a, bad, tot_s), -EINVAL);
        assert_int_equal(stats_did_cluster_finish(&a, 1.5, &c), -EINVAL);
        assert_int_equal(stats_did_cluster_init(NULL, tot_n, tot_s), -EINVAL);
    }
}

/*
 * x = 1 2 3 4 5, y = 2 4 5 4 5: means 3 and 4.
 *   dx = -2 -1 0 1 2, dy = -2 0 1 0 1
 *   S_xy = 4 + 0 + 0 + 0 + 2 = 6, S_xx = 10, S_yy = 4 + 0 + 1 + 0 + 1 = 6
 *   r = 6 / sqrt(60) = 0.774597
 *   z = atanh(r) = 1.031719, se = 1 / sqrt(5 - 3) = 0.707107
 *   z -/+ 1.959964 * 0.707107 = z -/+ 1.385904 = -0.354185 .. 2.417622
 *   95% = tanh(-0.354185) .. tanh(2.417622) = -0.340082 .. 0.984236
 * From sums: sx = 15, sy = 20, sxx = 55, syy = 4+16+25+16+25 = 86,
 *   sxy = 2 + 8 + 15 + 16 + 25 = 66: S_xx = 55 - 225/5 = 10,
 *   S_yy = 86 - 400/5 = 6, S_xy = 66 - 300/5 = 6, the same r.
 */
static void test_corr(void **state)
{
    const double x[] = {1, 2, 3, 4, 5};
    const double y[] = {2, 4, 5, 4, 5};
    const double yneg[] = {-2, -4, -5, -4, -5};
    const double flat[] = {3, 3, 3, 3, 3};
    struct stats_corr c;
    struct stats_corr c2;

    (void)state;
    assert_int_equal(stats_corr(x, y, 5, &c), 0);
    assert_int_equal(c.n, 5);
    ASSERT_NEAR(c.r, 0.774597, 1e-6);
    assert_int_equal(c.ci_defined, 1);
    ASSERT_NEAR(c.lo, -0.340082, 1e-6);
    ASSERT_NEAR(c.hi, 0.984236, 1e-6);

    assert_int_equal(stats_corr_sums(5, 15, 20, 55, 86, 66, &c2), 0);
    ASSERT_NEAR(c2.r, c.r, 1e-12);
    ASSERT_NEAR(c2.lo, c.lo, 1e-12);
    ASSERT_NEAR(c2.hi, c.hi, 1e-12);

    /* Negating y negates r and mirrors the interval. */
    assert_int_equal(stats_corr(x, yneg, 5, &c2), 0);
    ASSERT_NEAR(c2.r, -0.774597, 1e-6);
    ASSERT_NEAR(c2.lo, -0.984236, 1e-6);
    ASSERT_NEAR(c2.hi, 0.340082, 1e-6);

    /* y = 2x: r = 1 and the interval collapses onto it. */
    {
        const double y2[] = {2, 4, 6, 8, 10};

        assert_int_equal(stats_corr(x, y2, 5, &c2), 0);
        ASSERT_NEAR(c2.r, 1.0, 1e-12);
        assert_true(c2.lo == c2.r && c2.hi == c2.r);
    }

    /* Three pairs: r, but no interval (n - 3 = 0). x 1 2 3, y 2 4 5:
     * S_xy = (-1)(-5/3) + 0 + (1)(4/3) = 3, S_xx = 2, S_yy = 25/9 + 1/9 +
     * 16/9 = 42/9, r = 3 / sqrt(2 * 42/9) = 3 / 3.055050 = 0.981981. */
    assert_int_equal(stats_corr(x, y, 3, &c2), 0);
    ASSERT_NEAR(c2.r, 0.981981, 1e-6);
    assert_int_equal(c2.ci_defined, 0);
    assert_true(c2.lo == -1.0 && c2.hi == 1.0);

    /* A variable that does not vary has no correlation; nor do two pairs. */
    c2.r = -7.0;
    assert_int_equal(stats_corr(x, flat, 5, &c2), -EINVAL);
    assert_int_equal(stats_corr(flat, y, 5, &c2), -EINVAL);
    assert_int_equal(stats_corr_sums(5, 15, 15, 55, 45, 45, &c2), -EINVAL);
    assert_int_equal(stats_corr_sums(5, 0.5, 20, 0.05, 86, 2, &c2), -EINVAL);
    assert_int_equal(stats_corr(x, y, 2, &c2), -EINVAL);
    assert_int_equal(stats_corr_sums(2, 3, 6, 5, 20, 10, &c2), -EINVAL);
    assert_int_equal(stats_corr_sums(5, NAN, 20, 55, 86, 66, &c2), -EINVAL);
    assert_int_equal(stats_corr(NULL, y, 5, &c2), -EINVAL);
    assert_true(c2.r == -7.0);
}

/* The median: odd and even counts, ties, unsorted input, none. */
static void test_median(void **state)
{
    double odd[] = {7, -1, 3};
    double even[] = {4, 1, 10, 2};
    double ties[] = {2, 2, 2, 5, 5};
    double one[] = {0.5};

    (void)state;
    assert_true(stats_median(odd, 3) == 3.0);
    assert_true(stats_median(even, 4) == 3.0);
    assert_true(stats_median(ties, 5) == 2.0);
    assert_true(stats_median(one, 1) == 0.5);
    assert_true(isnan(stats_median(one, 0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed),
        cmocka_unit_test(test_published_maple),
        cmocka_unit_test(test_published_metrics),
        cmocka_unit_test(test_perfect_agreement),
        cmocka_unit_test(test_opposite_ratings),
        cmocka_unit_test(test_unweighted_shares),
        cmocka_unit_test(test_single_category),
        cmocka_unit_test(test_one_rater_constant),
        cmocka_unit_test(test_invalid_pairs),
        cmocka_unit_test(test_invalid_table),
        cmocka_unit_test(test_pairs_and_table_agree),
        cmocka_unit_test(test_invariances),
        cmocka_unit_test(test_t975),
        cmocka_unit_test(test_summary_and_mean_ci),
        cmocka_unit_test(test_did),
        cmocka_unit_test(test_did_cluster),
        cmocka_unit_test(test_corr),
        cmocka_unit_test(test_median),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
