/* Tests of query/dash_weeks.c: dash_weeks_load_sums(), which sums a
 * scope's weeks with their behaviours as they are read, must give exactly
 * what dash_weeks_load() and dash_weeks_sum() give of the same weeks (the
 * window's total and its last weeks), whatever the weeks hold: weeks
 * without a value, weeks that lack some behaviours, behaviours stored in
 * another order from week to week, and weeks just outside the window. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg.h"
#include "dash_builder.h"
#include "dash_weeks.h"
#include "store.h"
#include "testutil.h"

/* The page's last week: Monday 2024-06-10 (day 19884) to Sunday 19890. */
#define MONDAY 19884
#define SUNDAY 19890
#define NOW_S ((int64_t)19886 * 86400 + 12 * 3600)
/* Weeks of the observations, counted back from MONDAY's: the window's 12
 * and three before it. */
#define SPAN 15

/* Observations of flm.a: in week k (back from MONDAY's), k % 3 + 1 of
 * them, none in weeks 3 and 7; in weeks with k % 3 == 0 behaviours 2 and 5
 * not applicable (so those weeks' values lack them), and in odd weeks the
 * ratings given in reverse order. */
static int setup(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(testutil_put_two_line_org, NULL);

    if (f == NULL) {
        return -1;
    }
    for (int k = 0; k < SPAN; k++) {
        if (k == 3 || k == 7) {
            continue;
        }
        for (int j = 0; j <= k % 3; j++) {
            struct testutil_obs o;
            int32_t day = MONDAY - 7 * k + (k + j) % 7;

            testutil_obs_make(&o, "flm.a", "rep.1", (int64_t)day * 86400 + (8 + j) * 3600);
            for (size_t i = 0; i < 10; i++) {
                o.r[i].score = 1 + (uint32_t)((i + (size_t)k + (size_t)j) % 4);
            }
            if (k % 3 == 0) {
                o.r[2].score = 0;
                o.r[2].not_applicable = 1;
                o.r[5].score = 0;
                o.r[5].not_applicable = 1;
            }
            if (k % 2 == 1) {
                for (size_t i = 0; i < 10; i++) {
                    o.rp[i] = &o.r[9 - i];
                }
            }
            o.o.duration_s = 600 + 60 * (uint32_t)k;
            assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.1", NOW_S * 1000), 0);
        }
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    testutil_store_fx_free(*state);
    return 0;
}

/* Asserts that a and b are the same sum: every counter and sum equal, and
 * the same behaviours in the same order with the same figures. */
static void assert_same_week(const Coachq__V1__AggWeek *a, const Coachq__V1__AggWeek *b)
{
    assert_int_equal(a->observations, b->observations);
    assert_int_equal(a->seconds, b->seconds);
    assert_int_equal(a->index_n, b->index_n);
    assert_true(a->index_sum == b->index_sum);
    assert_true(a->index_sumsq == b->index_sumsq);
    assert_int_equal(a->self_assess_n, b->self_assess_n);
    assert_int_equal(a->actions, b->actions);
    assert_int_equal(a->recordings, b->recordings);
    assert_int_equal(a->n_markers, b->n_markers);
    for (size_t i = 0; i < a->n_markers; i++) {
        assert_int_equal(a->markers[i], b->markers[i]);
    }
    assert_int_equal(a->n_mix, b->n_mix);
    for (size_t i = 0; i < a->n_mix; i++) {
        assert_int_equal(a->mix[i], b->mix[i]);
    }
    assert_int_equal(a->n_mix_q, b->n_mix_q);
    for (size_t i = 0; i < a->n_mix_q; i++) {
        assert_true(a->mix_q[i] == b->mix_q[i]);
    }
    assert_int_equal(a->n_behaviours, b->n_behaviours);
    for (size_t i = 0; i < a->n_behaviours; i++) {
        assert_string_equal(a->behaviours[i]->id, b->behaviours[i]->id);
        assert_int_equal(a->behaviours[i]->count, b->behaviours[i]->count);
        assert_true(a->behaviours[i]->sum == b->behaviours[i]->sum);
        assert_true(a->behaviours[i]->sumsq == b->behaviours[i]->sumsq);
        assert_int_equal(a->behaviours[i]->proficient, b->behaviours[i]->proficient);
    }
}

struct compare {
    unsigned n;      /* weeks of the window */
    unsigned recent; /* the last weeks summed apart */
    int with_recent; /* recent_sum given */
    uint64_t total_obs;
    uint64_t recent_obs;
    size_t total_behaviours;
    uint64_t rolled_n; /* index_n over the rolling sums of the quality-only read */
};

/* The quality figures of a and b are the same (the doubles to the bit). */
static void assert_same_index(const Coachq__V1__AggWeek *a, const Coachq__V1__AggWeek *b)
{
    assert_int_equal(a->observations, b->observations);
    assert_int_equal(a->index_n, b->index_n);
    assert_memory_equal(&a->index_sum, &b->index_sum, sizeof(a->index_sum));
    assert_memory_equal(&a->index_sumsq, &b->index_sumsq, sizeof(a->index_sumsq));
}

/* Loads the window both ways in one read transaction and compares. */
static int compare_cb(struct store_txn *t, void *arg)
{
    struct compare *cmp = arg;
    Coachq__V1__GetDashboard req = COACHQ__V1__GET_DASHBOARD__INIT;
    Coachq__V1__AggWeek total = COACHQ__V1__AGG_WEEK__INIT;
    Coachq__V1__AggWeek recent = COACHQ__V1__AGG_WEEK__INIT;
    Coachq__V1__AggWeek ref_total, ref_recent;
    struct dash_weeks ws, ref;
    struct dash_opts opts;
    struct dash_ctx c;
    unsigned from = cmp->recent < cmp->n ? cmp->n - cmp->recent : 0;

    dash_opts_default(&opts);
    memset(&c, 0, sizeof(c));
    c.t = t;
    c.req = &req;
    c.opts = &opts;
    c.now_s = NOW_S;
    c.today = 19886;
    c.until_day = SUNDAY;
    c.until_monday = MONDAY;
    c.subject = "flm.a";
    c.rubric_id = "coaching-conversation";
    memset(&ws, 0, sizeof(ws));
    memset(&ref, 0, sizeof(ref));
    assert_int_equal(dash_weeks_load(&c, AGG_COACH, "flm.a", cmp->n, DASH_ROLL_HEAD, &ref), 0);
    assert_int_equal(dash_weeks_sum(&ref, 0, cmp->n, &ref_total), 0);
    assert_int_equal(dash_weeks_sum(&ref, from, cmp->n, &ref_recent), 0);
    assert_int_equal(dash_weeks_load_sums(&c, AGG_COACH, "flm.a", cmp->n, &ws, &total, cmp->recent,
                                          cmp->with_recent ? &recent : NULL),
                     0);
    assert_same_week(&total, &ref_total);
    if (cmp->with_recent) {
        assert_same_week(&recent, &ref_recent);
    }
    /* The weeks and their rolling sums, without behaviours. */
    assert_int_equal(ws.n, ref.n);
    assert_int_equal(ws.first, ref.first);
    for (unsigned i = 0; i < ws.n; i++) {
        assert_int_equal(ws.w[i].n_behaviours, 0);
        assert_int_equal(ws.r[i].n_behaviours, 0);
        assert_int_equal(ws.w[i].observations, ref.w[i].observations);
        assert_int_equal(ws.r[i].index_n, ref.r[i].index_n);
        assert_true(ws.r[i].index_sum == ref.r[i].index_sum);
    }
    /* My managers' read: the same sums, and weeks holding their quality
     * figures alone, DASH_ROLL_HEAD's to the bit, rolled and summed. */
    dash_week_clear(&total);
    dash_week_clear(&recent);
    dash_weeks_free(&ws);
    assert_int_equal(dash_weeks_load_sums_only(&c, AGG_COACH, "flm.a", cmp->n, &ws, &total, NULL,
                                               cmp->recent, cmp->with_recent ? &recent : NULL),
                     0);
    assert_same_week(&total, &ref_total);
    if (cmp->with_recent) {
        assert_same_week(&recent, &ref_recent);
    }
    assert_int_equal(ws.n, ref.n);
    for (unsigned i = 0; i < ws.n; i++) {
        assert_same_index(&ws.w[i], &ref.w[i]);
        assert_same_index(&ws.r[i], &ref.r[i]);
        assert_int_equal(ws.w[i].n_markers, 0);
        assert_int_equal(ws.r[i].n_mix, 0);
        cmp->rolled_n += ws.r[i].index_n;
    }
    for (unsigned k = 0; k < ws.n; k++) {
        Coachq__V1__AggWeek a, b;

        assert_int_equal(dash_weeks_sum_head(&ws, k, ws.n, &a), 0);
        assert_int_equal(dash_weeks_sum_head(&ref, k, ws.n, &b), 0);
        assert_same_index(&a, &b);
        dash_week_clear(&a);
        dash_week_clear(&b);
    }
    cmp->total_obs = total.observations;
    cmp->recent_obs = recent.observations;
    cmp->total_behaviours = total.n_behaviours;
    dash_week_clear(&total);
    dash_week_clear(&recent);
    dash_week_clear(&ref_total);
    dash_week_clear(&ref_recent);
    dash_weeks_free(&ws);
    dash_weeks_free(&ref);
    return 0;
}

/* The observations of weeks [0, k) back from MONDAY's, as setup() made
 * them. */
static uint64_t obs_back(unsigned k)
{
    uint64_t n = 0;

    for (unsigned w = 0; w < k && w < SPAN; w++) {
        n += w == 3 || w == 7 ? 0 : w % 3 + 1;
    }
    return n;
}

static void test_sums_as_loaded(void **state)
{
    struct testutil_store_fx *f = *state;
    /* The page's 12 weeks with a heat map of 8, of 12 (the whole window),
     * of more than the window, of one; a window of 4; My coaching's call
     * (no recent sum); and a window reaching before the first week. */
    struct compare cases[] = {
        {12, 8, 1, 0, 0, 0, 0}, {12, 12, 1, 0, 0, 0, 0}, {12, 20, 1, 0, 0, 0, 0},
        {12, 1, 1, 0, 0, 0, 0}, {4, 2, 1, 0, 0, 0, 0},   {12, 0, 0, 0, 0, 0, 0},
        {20, 8, 1, 0, 0, 0, 0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct compare *cmp = &cases[i];

        assert_int_equal(store_view(f->s, compare_cb, cmp), 0);
        /* Not merely equal: the figures are the window's, and the recent
         * sum its last weeks' (so neither can be empty on both sides). */
        assert_int_equal(cmp->total_obs, obs_back(cmp->n));
        assert_int_equal(cmp->total_behaviours, 10);
        /* The quality-only rolling sums compared above are not empty. */
        assert_true(cmp->rolled_n > 0);
        if (cmp->with_recent) {
            assert_int_equal(cmp->recent_obs,
                             obs_back(cmp->recent < cmp->n ? cmp->recent : cmp->n));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sums_as_loaded, setup, teardown),
    };

    testutil_watchdog(120);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
