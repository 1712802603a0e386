/* Tests of query/dash_programme.c: "Programme impact" (difference-in-
 * differences per behaviour, attendance beside quality per cohort, quality
 * against later team results) and "Observer reliability" (certification,
 * double coding and its agreement, severity drift, coverage), against
 * figures worked out by hand in the comments from the records stored here.
 * Every observation scores all ten behaviours alike, so each behaviour's
 * figures and the quality index are the same numbers. */
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

#include "certs.h"
#include "dash.h"
#include "dashfmt.h"
#include "outcomes.h"
#include "people.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

/* "Today": Wednesday 2024-06-12 (day 19886), in the week of Monday 19884. */
#define TODAY 19886
#define MONDAY0 19884
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)
#define NB 10
/* Quarters of 2023, a day at least ten days in (so its week's Monday is in
 * the same quarter): Q2 from 2023-04-13, Q3 from 2023-07-12, Q4 from
 * 2023-10-15. */
#define Q2_2023 19460
#define Q3_2023 19550
#define Q4_2023 19645

#define K_PROGRAMME COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME
#define K_OBSERVERS COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS

#define ASSERT_NEAR(got, want, tol)                                                                \
    do {                                                                                           \
        double got_ = (got);                                                                       \
        double want_ = (want);                                                                     \
        if (!(fabs(got_ - want_) <= (tol))) {                                                      \
            fail_msg("%s = %.17g, want %.17g", #got, got_, want_);                                 \
        }                                                                                          \
    } while (0)

static int32_t week(int i)
{
    return MONDAY0 - 7 * i;
}

/* ---- The organisation ------------------------------------------------- */

struct person_spec {
    const char *id;
    Coachq__V1__Role role; /* 0: a rep */
};

/*
 * flm.t1, flm.t2: trained (completed in week 4 before today's week);
 * flm.u1, flm.u2: not trained (flm.u1 enrolled, did not complete);
 * flm.old, flm.old2: trained 400 days ago (before the 52-week window);
 * flm.new: never observed. obs.1 and obs.2 certified (obs.2 until day
 * 19900), obs.3's certification expired on day 19800.
 */
static const struct person_spec PEOPLE[] = {
    {"flm.t1", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER},
    {"flm.t2", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER},
    {"flm.u1", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER},
    {"flm.u2", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER},
    {"flm.old", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER},
    {"flm.old2", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER},
    {"flm.new", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER},
    {"rep.1", 0},
    {"rep.a", 0}, /* reports to flm.old */
    {"rep.b", 0}, /* reports to flm.old2 */
    {"obs.1", COACHQ__V1__ROLE__ROLE_OBSERVER},
    {"obs.2", COACHQ__V1__ROLE__ROLE_OBSERVER},
    {"obs.3", COACHQ__V1__ROLE__ROLE_OBSERVER},
    {"lead.a", COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD},
};

struct enrol_spec {
    const char *cohort;
    int32_t start;
    const char *person;
    unsigned modules;
    int32_t completed;
};

static const struct enrol_spec ENROL[] = {
    {"c1", MONDAY0 - 7 * 6, "flm.t1", 3, MONDAY0 - 7 * 4 + 2},
    {"c1", MONDAY0 - 7 * 6, "flm.t2", 2, MONDAY0 - 7 * 4 + 2},
    {"c1", MONDAY0 - 7 * 6, "flm.u1", 1, 0},
    {"c0", TODAY - 420, "flm.old", 4, TODAY - 400},
    {"c0", TODAY - 420, "flm.old2", 4, TODAY - 400},
};

static int org_cb(struct store_txn *t, void *arg)
{
    Coachq__V1__Programme prog = COACHQ__V1__PROGRAMME__INIT;
    int rc = 0;

    (void)arg;
    for (size_t i = 0; i < sizeof(PEOPLE) / sizeof(PEOPLE[0]) && rc == 0; i++) {
        rc = testutil_put_person(t, PEOPLE[i].id, NULL, PEOPLE[i].role, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_rubric(t, "", 0);
    }
    if (rc == 0) {
        rc = testutil_put_cert(t, "obs.1", 19000, 21000, "admin");
    }
    if (rc == 0) {
        rc = testutil_put_cert(t, "obs.2", 19000, 19900, "admin");
    }
    if (rc == 0) {
        rc = testutil_put_cert(t, "obs.3", 19000, 19800, "admin");
    }
    prog.id = (char *)"p1";
    prog.name = (char *)"Coaching programme";
    if (rc == 0) {
        rc = people_programme_put(t, &prog, NULL);
    }
    /* Enrolments before the observations: the cohort aggregates are kept
     * as observations are written. */
    for (size_t i = 0; i < sizeof(ENROL) / sizeof(ENROL[0]) && rc == 0; i++) {
        Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
        Coachq__V1__Attendance a[4];
        Coachq__V1__Attendance *ap[4];
        static const char *const mods[4] = {"m1", "m2", "m3", "m4"};

        for (unsigned k = 0; k < ENROL[i].modules; k++) {
            Coachq__V1__Attendance init = COACHQ__V1__ATTENDANCE__INIT;

            a[k] = init;
            a[k].module = (char *)mods[k];
            a[k].day = ENROL[i].start + (int32_t)k;
            ap[k] = &a[k];
        }
        e.programme_id = (char *)"p1";
        e.cohort_id = (char *)ENROL[i].cohort;
        e.cohort_start_day = ENROL[i].start;
        e.person_id = (char *)ENROL[i].person;
        e.attended = ap;
        e.n_attended = ENROL[i].modules;
        e.completed_day = ENROL[i].completed;
        rc = people_enrolment_put(t, &e, NULL);
    }
    return rc;
}

struct outcome_spec {
    const char *subject;
    const char *period;
    double value;
};

/* Team win rates the quarter after each quality quarter below. */
static const struct outcome_spec OUTCOMES[] = {
    {"flm.old", "2023-Q3", 0.20},  {"flm.old", "2023-Q4", 0.30},  {"flm.old", "2024-Q1", 0.35},
    {"flm.old2", "2023-Q3", 0.15}, {"flm.old2", "2023-Q4", 0.25}, {"flm.old2", "2024-Q1", 0.20},
};

/* The reps' own crm_completeness, months and a quarter, averaging per
 * quarter to the same values as the team win rates above: the teams have no
 * figure of their own, so their reps' stand in. */
static const struct outcome_spec REP_OUTCOMES[] = {
    {"rep.a", "2023-07", 0.10}, {"rep.a", "2023-08", 0.30}, {"rep.a", "2023-10", 0.30},
    {"rep.a", "2024-Q1", 0.35}, {"rep.b", "2023-09", 0.15}, {"rep.b", "2023-11", 0.20},
    {"rep.b", "2023-12", 0.30}, {"rep.b", "2024-02", 0.20},
};

/* Stores the n team win rates of spec, each with its manager's own figure
 * (0.99), which is not the team's and never counts. */
static int put_win_rates(struct store_txn *t, const struct outcome_spec *spec, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;
        int rc;

        o.subject_id = (char *)spec[i].subject;
        o.team = 1;
        o.period = (char *)spec[i].period;
        o.metric = (char *)"win_rate";
        o.value = spec[i].value;
        rc = outcomes_put(t, &o, NULL);
        if (rc == 0) {
            o.team = 0;
            o.value = 0.99;
            rc = outcomes_put(t, &o, NULL);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int put_outcomes_cb(struct store_txn *t, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < sizeof(REP_OUTCOMES) / sizeof(REP_OUTCOMES[0]); i++) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;
        int rc;

        o.subject_id = (char *)REP_OUTCOMES[i].subject;
        o.period = (char *)REP_OUTCOMES[i].period;
        o.metric = (char *)"crm_completeness";
        o.value = REP_OUTCOMES[i].value;
        rc = people_line_put(t, REP_OUTCOMES[i].subject,
                             REP_OUTCOMES[i].subject[4] == 'a' ? "flm.old" : "flm.old2", 19000,
                             NULL);
        if (rc == 0) {
            rc = outcomes_put(t, &o, NULL);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return put_win_rates(t, OUTCOMES, sizeof(OUTCOMES) / sizeof(OUTCOMES[0]));
}

/* Stores one observation of coach (coachee rep.1) by observer at day and
 * hour, every behaviour scored v, received now. */
static void observe(struct testutil_store_fx *f, const char *observer, const char *coach,
                    int32_t day, int hour, uint32_t v)
{
    testutil_observe_scored(f->s, observer, coach, day, hour, v, NOW_S * 1000);
}

/* ---- Calibration ---------------------------------------------------------- */

/*
 * obs.3 calibrates against one reference session whose masters are
 * CAL_MASTER, twice; the latest attempt replaces the first. Neither passes
 * (exact 0.80 and kappa 0.70 are needed), so obs.3 stays uncertified.
 *   First, CAL_POOR: exact on b4, b7 and b10 only: exact 0.3.
 *   Latest, CAL_LATEST: pairs (1,1) (2,2) (2,3) (3,3) x4 (4,4) (4,2) (4,4):
 *   exact 8/10 = 0.8, within one 9/10 = 0.9. Quadratic kappa = 1 - N *
 *   sum (a-b)^2 / (N sum a^2 + N sum b^2 - 2 sum a sum b): masters sum a =
 *   29, sum a^2 = 93; attempt sum b = 28, sum b^2 = 86; sum (a-b)^2 =
 *   1 + 4 = 5; kappa = 1 - 50 / (930 + 860 - 1624) = 1 - 50/166 = 58/83
 *   = 0.698795.
 */
static const uint32_t CAL_MASTER[NB] = {1, 2, 2, 3, 3, 3, 3, 4, 4, 4};
static const uint32_t CAL_POOR[NB] = {2, 3, 1, 3, 4, 2, 3, 3, 2, 4};
static const uint32_t CAL_LATEST[NB] = {1, 2, 3, 3, 3, 3, 3, 4, 2, 4};
static const uint8_t CAL_REF[16] = {0xca, 0x1b, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1};

static int put_ref_cb(struct store_txn *t, void *arg)
{
    Coachq__V1__CalibrationReference r = COACHQ__V1__CALIBRATION_REFERENCE__INIT;
    Coachq__V1__Rating m[NB];
    Coachq__V1__Rating *mp[NB];

    (void)arg;
    for (size_t i = 0; i < NB; i++) {
        Coachq__V1__Rating init = COACHQ__V1__RATING__INIT;

        m[i] = init;
        m[i].behaviour_id = (char *)testutil_behaviours[i];
        m[i].score = CAL_MASTER[i];
        mp[i] = &m[i];
    }
    r.id.data = (uint8_t *)CAL_REF;
    r.id.len = sizeof(CAL_REF);
    r.rubric_id = (char *)"coaching-conversation";
    r.rubric_version = 1;
    r.title = (char *)"Reference deal review";
    r.master = mp;
    r.n_master = NB;
    r.registered_by = (char *)"lead.a";
    r.registered_at_ms = (NOW_S - 30 * 86400) * 1000;
    return certs_reference_put(t, &r);
}

struct cal {
    const char *observer;
    const uint8_t *obs_id;
    int64_t at_ms;
};

static int calibrate_cb(struct store_txn *t, void *arg)
{
    const struct cal *c = arg;
    struct store_policy pol;

    store_policy_default(&pol);
    return certs_calibrate(t, c->observer, CAL_REF, c->obs_id, c->at_ms, &pol, NULL);
}

/* Stores observer's attempt at CAL_REF with scores, received at at_ms, and
 * scores it as the server's writer does. */
static void calibrate(struct testutil_store_fx *f, const char *observer, const uint32_t scores[NB],
                      int64_t at_ms)
{
    struct testutil_obs o;
    struct cal c;

    testutil_obs_make(&o, "ref-coach", "ref-rep", at_ms / 1000 - 3600);
    for (size_t i = 0; i < NB; i++) {
        o.r[i].score = scores[i];
    }
    o.o.calibration_ref.data = (uint8_t *)CAL_REF;
    o.o.calibration_ref.len = sizeof(CAL_REF);
    assert_int_equal(testutil_store_submit(f->s, &o.o, observer, at_ms), 0);
    c.observer = observer;
    c.obs_id = o.id;
    c.at_ms = at_ms;
    assert_int_equal(store_exec(f->s, calibrate_cb, &c), 0);
}

static int setup(void **state)
{
    struct testutil_store_fx *f;
    /* Quality per quarter of 2023 (three observations each): flm.old 2, 3,
     * 4 and flm.old2 1, 2, 2 in Q2, Q3, Q4. */
    static const uint32_t old_q[2][3] = {{2, 3, 4}, {1, 2, 2}};
    static const int32_t q_day[3] = {Q2_2023, Q3_2023, Q4_2023};

    testutil_watchdog(240);
    f = testutil_store_fx_new(org_cb, NULL);
    assert_int_equal(store_exec(f->s, put_outcomes_cb, NULL), 0);

    /* Before (week 8) and after (week 2) the training week (week 4):
     *   trained:     flm.t1 2 2 | 3 3     flm.t2 1 3 | 4 2
     *   not trained: flm.u1 2 3 | 2 3     flm.u2 2 1 | 3 2 */
    observe(f, "obs.1", "flm.t1", week(8), 8, 2);
    observe(f, "obs.1", "flm.t1", week(8), 9, 2);
    observe(f, "obs.1", "flm.t1", week(2), 8, 3);
    observe(f, "obs.1", "flm.t1", week(2), 9, 3);
    observe(f, "obs.1", "flm.t2", week(8), 8, 1);
    observe(f, "obs.1", "flm.t2", week(8), 9, 3);
    observe(f, "obs.1", "flm.t2", week(2), 8, 4);
    observe(f, "obs.1", "flm.t2", week(2), 9, 2);
    observe(f, "obs.1", "flm.u1", week(8), 8, 2);
    observe(f, "obs.1", "flm.u1", week(8), 9, 3);
    observe(f, "obs.1", "flm.u1", week(2), 8, 2);
    observe(f, "obs.1", "flm.u1", week(2), 9, 3);
    observe(f, "obs.1", "flm.u2", week(8), 8, 2);
    observe(f, "obs.1", "flm.u2", week(8), 9, 1);
    observe(f, "obs.1", "flm.u2", week(2), 8, 3);
    observe(f, "obs.1", "flm.u2", week(2), 9, 2);

    /* Double coding in week 1: the same three sessions of flm.old scored
     * by obs.1 (3, 3, 2) and obs.2 (3, 2, 2). */
    observe(f, "obs.1", "flm.old", week(1), 8, 3);
    observe(f, "obs.2", "flm.old", week(1), 8, 3);
    observe(f, "obs.1", "flm.old", week(1), 9, 3);
    observe(f, "obs.2", "flm.old", week(1), 9, 2);
    observe(f, "obs.1", "flm.old", week(1), 10, 2);
    observe(f, "obs.2", "flm.old", week(1), 10, 2);

    for (int m = 0; m < 2; m++) {
        for (int q = 0; q < 3; q++) {
            for (int i = 0; i < 3; i++) {
                observe(f, "obs.1", m == 0 ? "flm.old" : "flm.old2", q_day[q] + i, 8, old_q[m][q]);
            }
        }
    }
    assert_int_equal(store_exec(f->s, put_ref_cb, NULL), 0);
    calibrate(f, "obs.3", CAL_POOR, (NOW_S - 20 * 86400) * 1000);
    calibrate(f, "obs.3", CAL_LATEST, (NOW_S - 10 * 86400) * 1000);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    testutil_store_fx_free(*state);
    return 0;
}

/* ---- Running a dashboard ------------------------------------------------ */

static struct dash *run(struct testutil_store_fx *f, int kind, unsigned privacy_min)
{
    struct dash *d = NULL;

    assert_int_equal(testutil_dash_as_lead(f->s, kind, 0, privacy_min, NOW_S, &d), 0);
    assert_non_null(d);
    return d;
}

static const Coachq__V1__Table *table(const struct dash *d, const char *id)
{
    const Coachq__V1__Table *t = dashfmt_find_table(dash_message(d), id);

    if (t == NULL) {
        fail_msg("no table %s", id);
    }
    return t;
}

static const Coachq__V1__TableRow *row2(const Coachq__V1__Table *t, const char *first,
                                        const char *second)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        const Coachq__V1__TableRow *r = t->rows[i];

        if (r->n_cells > 1 && strcmp(r->cells[0]->text, first) == 0 &&
            (second == NULL || strcmp(r->cells[1]->text, second) == 0)) {
            return r;
        }
    }
    fail_msg("no row %s %s in %s", first, second != NULL ? second : "", t->id);
    return NULL;
}

static const Coachq__V1__Cell *cell(const Coachq__V1__Table *t, const Coachq__V1__TableRow *r,
                                    const char *column)
{
    for (size_t i = 0; i < t->n_columns; i++) {
        if (strcmp(t->columns[i], column) == 0) {
            assert_true(i < r->n_cells);
            return r->cells[i];
        }
    }
    fail_msg("no column %s in %s", column, t->id);
    return NULL;
}

/* The figure of a cell, failing if it has none; checks its n. */
static double value(const Coachq__V1__Table *t, const Coachq__V1__TableRow *r, const char *column,
                    unsigned n)
{
    const Coachq__V1__Cell *c = cell(t, r, column);

    if (!c->has_value) {
        fail_msg("%s / %s: no value (\"%s\")", t->id, column, c->text);
    }
    assert_int_equal(c->n, n);
    return c->value;
}

/* ---- Programme impact ----------------------------------------------------- */

/*
 * Cells (the same for every behaviour and the quality index), one stack
 * (flm.t1 and flm.t2 completed in week 4), every observation used once:
 *   trained before   2 2 1 3: n 4, mean 2
 *   trained after    3 3 4 2: n 4, mean 3
 *   untrained before 2 3 2 1: n 4, mean 2
 *   untrained after  2 3 3 2: n 4, mean 2.5
 * DiD = (3 - 2) - (2.5 - 2) = 0.5 with 2 managers in each group: fewer
 * than the 10 a clustered interval needs, so the estimate reads "too few
 * managers for an interval" (n = 2, the smaller group), never a narrow
 * interval (issue 11: the old Welch interval, -1.18 .. 2.18, treated the
 * 16 observations as independent).
 */
static void test_impact(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = run(f, K_PROGRAMME, 2);
    const Coachq__V1__Table *t = table(d, "impact");
    const char *labels[NB + 1];

    for (size_t i = 0; i < NB; i++) {
        labels[i] = testutil_behaviours[i];
    }
    labels[NB] = "Quality index";
    assert_int_equal(t->n_rows, NB + 1);
    for (size_t i = 0; i <= NB; i++) {
        const Coachq__V1__TableRow *r = row2(t, labels[i], NULL);

        ASSERT_NEAR(value(t, r, "Trained: before", 4), 2.0, 1e-9);
        ASSERT_NEAR(value(t, r, "Trained: after", 4), 3.0, 1e-9);
        ASSERT_NEAR(value(t, r, "Not yet trained: before", 4), 2.0, 1e-9);
        ASSERT_NEAR(value(t, r, "Not yet trained: after", 4), 2.5, 1e-9);
        ASSERT_NEAR(value(t, r, "Trained managers", 2), 2, 0);
        ASSERT_NEAR(value(t, r, "Not-yet-trained managers", 2), 2, 0);
        for (int k = 0; k < 4; k++) {
            static const char *const est[] = {"Difference-in-differences", "95% CI low",
                                              "95% CI high", "Effect size (d)"};
            const Coachq__V1__Cell *c = cell(t, r, est[k]);

            assert_false(c->has_value);
            assert_string_equal(c->text, "too few managers for an interval");
            assert_int_equal(c->n, 2);
        }
    }
    assert_non_null(strstr(t->note, "clustered by manager"));
    assert_non_null(strstr(t->note, "not proof"));
    /* The chart holds the estimate alone, on the scale's unit: no bar for
     * the unitless effect size, and none where there is no interval. */
    {
        const Coachq__V1__Dashboard *m = dash_message(d);
        const Coachq__V1__Chart *ch = NULL;

        for (size_t i = 0; i < m->n_charts; i++) {
            if (strcmp(m->charts[i]->id, "impact-chart") == 0) {
                ch = m->charts[i];
            }
        }
        assert_non_null(ch);
        assert_int_equal(ch->kind, COACHQ__V1__CHART__KIND__KIND_BARS);
        assert_null(strstr(ch->title, "attributable"));
        assert_int_equal(ch->n_x_labels, NB + 1);
        assert_int_equal(ch->n_series, 1);
        assert_string_equal(ch->series[0]->name, "Difference-in-differences");
        assert_string_equal(ch->y_title, "points on the 1-4 scale");
        assert_false(ch->series[0]->present[NB]);
    }
    /* The parallel-trends check is there; every pre-training observation
     * here falls in the second half of the pre-period (week 8 of a 48-week
     * pre-period), so the placebo has no "before" and no figure. */
    t = table(d, "placebo");
    {
        const Coachq__V1__TableRow *r = row2(t, "Quality index", NULL);

        assert_false(cell(t, r, "Placebo difference-in-differences")->has_value);
        assert_string_equal(cell(t, r, "Check")->text, "no check");
    }
    assert_non_null(table(d, "pretrends"));
    dash_free(d);

    /* With a privacy minimum of 3 the two trained managers are not broken
     * down: no figures, a note says why. */
    d = run(f, K_PROGRAMME, 3);
    t = table(d, "impact");
    {
        const Coachq__V1__TableRow *r = row2(t, "Quality index", NULL);

        assert_false(cell(t, r, "Difference-in-differences")->has_value);
        assert_string_equal(cell(t, r, "Trained: before")->text, "group too small");
        assert_non_null(strstr(t->note, "privacy minimum"));
    }
    t = table(d, "placebo");
    assert_string_equal(cell(t, row2(t, "Quality index", NULL), "Check")->text, "group too small");
    dash_free(d);
}

/*
 * Cohort p1/c1 (flm.t1, flm.t2, flm.u1): enrolled 3, modules 3 + 2 + 1 = 6,
 * completed 2. Quality before the cohort's start (week 6): the week-8
 * observations 2 2 1 3 2 3 = 13 / 6 = 2.166667; from the week of the last
 * completion (week 4) on: 3 3 4 2 2 3 = 17 / 6 = 2.833333; change 0.666667.
 * Cohort p1/c0 (flm.old, flm.old2): enrolled 2, modules 8, completed 2; its
 * quality is shown with a privacy minimum of 2 but not of 3.
 */
static void test_attendance(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = run(f, K_PROGRAMME, 2);
    const Coachq__V1__Table *t = table(d, "attendance");
    const Coachq__V1__TableRow *r = row2(t, "p1", "c1");

    ASSERT_NEAR(value(t, r, "Enrolled", 3), 3, 0);
    ASSERT_NEAR(value(t, r, "Modules attended", 6), 6, 0);
    ASSERT_NEAR(value(t, r, "Completed", 2), 2, 0);
    ASSERT_NEAR(value(t, r, "Quality before", 6), 13.0 / 6.0, 1e-9);
    ASSERT_NEAR(value(t, r, "Quality after", 6), 17.0 / 6.0, 1e-9);
    ASSERT_NEAR(value(t, r, "Change", 6), 4.0 / 6.0, 1e-9);
    r = row2(t, "p1", "c0");
    ASSERT_NEAR(value(t, r, "Modules attended", 8), 8, 0);
    dash_free(d);

    d = run(f, K_PROGRAMME, 3);
    t = table(d, "attendance");
    r = row2(t, "p1", "c0");
    ASSERT_NEAR(value(t, r, "Enrolled", 2), 2, 0);
    assert_string_equal(cell(t, r, "Quality before")->text, "group too small");
    assert_false(cell(t, r, "Quality after")->has_value);
    r = row2(t, "p1", "c1");
    ASSERT_NEAR(value(t, r, "Quality before", 6), 13.0 / 6.0, 1e-9);
    dash_free(d);
}

/*
 * Quality per manager-quarter and the team's win rate one quarter later:
 *   flm.old:  2 -> 0.20, 3 -> 0.30, 4 -> 0.35
 *   flm.old2: 1 -> 0.15, 2 -> 0.25, 2 -> 0.20
 * n = 6; means x 14/6 = 2.333333, y 1.45/6 = 0.241667;
 * S_xy = 0.366667, S_xx = 5.333333, S_yy = 0.027083;
 * r = 0.366667 / sqrt(5.333333 * 0.027083) = 0.964764;
 * Fisher z: atanh(r) -/+ 1.959964 / sqrt(3) gives 0.705889 .. 0.996276.
 * Two quarters later: (2, 0.30), (3, 0.35), (1, 0.25), (2, 0.20): n = 4,
 * S_xy = 0.1, S_xx = 2, S_yy = 0.0125, r = 0.1 / sqrt(0.025) = 0.632456,
 * 95% -0.838014 .. 0.991105. The reps' own figures (0.99) never count.
 */
static void test_results(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = run(f, K_PROGRAMME, 2);
    const Coachq__V1__Table *t = table(d, "results");
    const Coachq__V1__TableRow *r = row2(t, "win_rate", "1");

    assert_non_null(strstr(t->note, "Correlation, not causation"));
    ASSERT_NEAR(value(t, r, "r", 6), 0.964764, 1e-6);
    ASSERT_NEAR(value(t, r, "95% CI low, if independent", 6), 0.705889, 1e-6);
    ASSERT_NEAR(value(t, r, "95% CI high, if independent", 6), 0.996276, 1e-6);
    ASSERT_NEAR(value(t, r, "Managers", 2), 2, 0);
    r = row2(t, "win_rate", "2");
    ASSERT_NEAR(value(t, r, "r", 4), 0.632456, 1e-6);
    ASSERT_NEAR(value(t, r, "95% CI low, if independent", 4), -0.838014, 1e-6);
    ASSERT_NEAR(value(t, r, "95% CI high, if independent", 4), 0.991105, 1e-6);
    /* The reps' figures stand in for teams without their own: the same
     * values as the win rates give the same r. */
    r = row2(t, "crm_completeness", "1");
    ASSERT_NEAR(value(t, r, "r", 6), 0.964764, 1e-6);
    ASSERT_NEAR(value(t, r, "Managers", 2), 2, 0);
    /* No quota figures at all: insufficient, not a number. */
    r = row2(t, "quota_attainment", "1");
    assert_true(cell(t, r, "r")->insufficient);
    assert_false(cell(t, r, "r")->has_value);
    dash_free(d);

    /* Two managers are below a privacy minimum of 3. */
    d = run(f, K_PROGRAMME, 3);
    t = table(d, "results");
    r = row2(t, "win_rate", "1");
    assert_false(cell(t, r, "r")->has_value);
    assert_string_equal(cell(t, r, "r")->text, "group too small");
    dash_free(d);
}

/*
 * The results in the window's first quarter. Today is in 2024-Q2, so the
 * six quarters of quality start with 2022-Q4 (its first Monday, 2022-09-26,
 * is in 2022-Q3 and counts in none). The fixture above, with flm.old
 * scored 4 and flm.old2 1 (three observations each) from 2022-10-14, and
 * team win rates of 0.10 and 0.30 in 2023-Q1: two more pairs one quarter
 * later, (4, 0.10) and (1, 0.30), n = 8:
 *   sum x = 19, mean 2.375; sum y = 1.85, mean 0.23125;
 *   S_xy = 0.05625, S_xx = 9.875, S_yy = 0.0496875;
 *   r = 0.05625 / sqrt(9.875 * 0.0496875) = 0.080303;
 *   Fisher z: atanh(r) -/+ 1.959964 / sqrt(5) gives -0.661821 .. 0.742935.
 * Two quarters later nothing changes (no results in 2023-Q2).
 */
#define Q4_2022 19279

static const struct outcome_spec FIRST_OUTCOMES[] = {
    {"flm.old", "2023-Q1", 0.10},
    {"flm.old2", "2023-Q1", 0.30},
};

static int put_first_outcomes_cb(struct store_txn *t, void *arg)
{
    (void)arg;
    return put_win_rates(t, FIRST_OUTCOMES, sizeof(FIRST_OUTCOMES) / sizeof(FIRST_OUTCOMES[0]));
}

static int first_quarter_setup(void **state)
{
    struct testutil_store_fx *f;

    setup(state);
    f = *state;
    assert_int_equal(store_exec(f->s, put_first_outcomes_cb, NULL), 0);
    for (int i = 0; i < 3; i++) {
        observe(f, "obs.1", "flm.old", Q4_2022 + i, 8, 4);
        observe(f, "obs.1", "flm.old2", Q4_2022 + i, 8, 1);
    }
    return 0;
}

static void test_results_first_quarter(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = run(f, K_PROGRAMME, 2);
    const Coachq__V1__Table *t = table(d, "results");
    const Coachq__V1__TableRow *r = row2(t, "win_rate", "1");

    ASSERT_NEAR(value(t, r, "r", 8), 0.080303, 1e-6);
    ASSERT_NEAR(value(t, r, "95% CI low, if independent", 8), -0.661821, 1e-6);
    ASSERT_NEAR(value(t, r, "95% CI high, if independent", 8), 0.742935, 1e-6);
    ASSERT_NEAR(value(t, r, "Managers", 2), 2, 0);
    r = row2(t, "win_rate", "2");
    ASSERT_NEAR(value(t, r, "r", 4), 0.632456, 1e-6);
    dash_free(d);
}

/*
 * The same results with more stored figures than the page reads in one
 * pass (64 per front-line manager: 7 here, so more than 448): a person on
 * no team with 500 months of a metric of the deployment's own, which
 * counts nowhere. The reps' figures are then read per rep of each manager
 * rather than from the pass, and every figure above must come out the
 * same.
 */
static int put_many_outcomes_cb(struct store_txn *t, void *arg)
{
    char period[16];
    int rc;

    (void)arg;
    rc = testutil_put_person(t, "noise.x", NULL, 0, NULL);
    for (int m = 0; m < 500 && rc == 0; m++) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;

        snprintf(period, sizeof(period), "%d-%02d", 1980 + m / 12, m % 12 + 1);
        o.subject_id = (char *)"noise.x";
        o.period = period;
        o.metric = (char *)"own_metric";
        o.value = m;
        rc = outcomes_put(t, &o, NULL);
    }
    return rc;
}

static int many_setup(void **state)
{
    struct testutil_store_fx *f;

    setup(state);
    f = *state;
    assert_int_equal(store_exec(f->s, put_many_outcomes_cb, NULL), 0);
    return 0;
}

/*
 * The two ways of reading the reps' figures give the same page to the bit:
 * eleven more reps under flm.old and flm.old2 (ids of two lengths, so that
 * the store's key order is not the ids' order; five join in 2023-Q4, so
 * their 2023-Q3 figures must not count), months and quarters of
 * two metrics with values that do not add exactly, read in one pass; then,
 * with the noise above stored, per rep. Every cell of the results table is
 * compared.
 */
static int put_team_reps_cb(struct store_txn *t, void *arg)
{
    static const char *const metrics[] = {"crm_completeness", "quota_attainment"};
    char id[16], period[16];
    int rc = 0;

    (void)arg;
    for (int i = 0; i < 11 && rc == 0; i++) {
        snprintf(id, sizeof(id), "rep.c%d", i);
        rc = testutil_put_person(t, id, NULL, 0, NULL);
        if (rc == 0) {
            rc = people_line_put(t, id, i % 2 ? "flm.old" : "flm.old2", 19400 + 40 * i, NULL);
        }
        for (int m = 0; m < 20 && rc == 0; m++) {
            Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;

            if (m < 15) {
                snprintf(period, sizeof(period), "%d-%02d", 2023 + m / 12, m % 12 + 1);
            } else {
                snprintf(period, sizeof(period), "%d-Q%d", 2023 + (m - 15) / 4, (m - 15) % 4 + 1);
            }
            o.subject_id = id;
            o.period = period;
            o.metric = (char *)metrics[(i + m) % 2];
            o.value = (double)((i * 37 + m * 11) % 100) / 101.0;
            rc = outcomes_put(t, &o, NULL);
        }
    }
    return rc;
}

static int paths_setup(void **state)
{
    struct testutil_store_fx *f;

    setup(state);
    f = *state;
    assert_int_equal(store_exec(f->s, put_team_reps_cb, NULL), 0);
    return 0;
}

/* Every cell of two results tables is the same, to the bit. Returns how
 * many cells of column 2 (r) hold a value. */
static size_t assert_same_table(const Coachq__V1__Table *a, const Coachq__V1__Table *b)
{
    size_t values = 0;

    assert_int_equal(a->n_rows, b->n_rows);
    for (size_t i = 0; i < a->n_rows; i++) {
        assert_int_equal(a->rows[i]->n_cells, b->rows[i]->n_cells);
        for (size_t j = 0; j < a->rows[i]->n_cells; j++) {
            const Coachq__V1__Cell *x = a->rows[i]->cells[j];
            const Coachq__V1__Cell *y = b->rows[i]->cells[j];

            assert_int_equal(x->has_value, y->has_value);
            assert_memory_equal(&x->value, &y->value, sizeof(x->value));
            assert_int_equal(x->n, y->n);
            assert_string_equal(x->text != NULL ? x->text : "", y->text != NULL ? y->text : "");
            values += x->has_value && j == 2;
        }
    }
    return values;
}

/*
 * The one pass over the reps' figures reads every person's, the per-rep
 * read only the page's reps': a figure that cannot be read, of someone the
 * page does not show (noise.d, in no line), sends the page to the per-rep
 * read instead of failing it, and the page is the same. The figure's value
 * is cut short (a 64-bit field with one byte of its eight) by raw LMDB.
 */
#define DAMAGED_SUBJECT "noise.d"

static int damage_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct store_txn *t = arg;
    static const uint8_t cut[] = {0x29, 0x01};

    (void)val;
    (void)vlen;
    return store_txn_put_raw(t, t->s->dbi_outcomes, key, klen, cut, sizeof(cut), NULL);
}

static int unstore_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct store_txn *t = arg;

    (void)val;
    (void)vlen;
    return store_txn_del(t, t->s->dbi_outcomes, key, klen);
}

static int damaged_figure_cb(struct store_txn *t, void *arg)
{
    const int *undo = arg;
    uint8_t prefix[1 + sizeof(DAMAGED_SUBJECT) - 1];
    int rc = 0;

    prefix[0] = (uint8_t)(sizeof(DAMAGED_SUBJECT) - 1);
    memcpy(prefix + 1, DAMAGED_SUBJECT, sizeof(DAMAGED_SUBJECT) - 1);
    if (*undo) {
        return store_txn_scan(t, t->s->dbi_outcomes, prefix, sizeof(prefix), 0, unstore_one, t);
    }
    rc = testutil_put_person(t, DAMAGED_SUBJECT, NULL, 0, NULL);
    if (rc == 0) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;

        o.subject_id = (char *)DAMAGED_SUBJECT;
        o.period = (char *)"2023-Q3";
        o.metric = (char *)"win_rate";
        o.value = 0.5;
        rc = outcomes_put(t, &o, NULL);
    }
    return rc == 0 ? store_txn_scan(t, t->s->dbi_outcomes, prefix, sizeof(prefix), 0, damage_one, t)
                   : rc;
}

static void test_results_damaged_other(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *before = run(f, K_PROGRAMME, 2);
    struct dash *after;
    int undo = 0;

    assert_int_equal(store_exec(f->s, damaged_figure_cb, &undo), 0);
    /* run() asserts the page is built (it was -EIO without the fallback). */
    after = run(f, K_PROGRAMME, 2);
    assert_true(assert_same_table(table(before, "results"), table(after, "results")) >= 6);
    undo = 1;
    assert_int_equal(store_exec(f->s, damaged_figure_cb, &undo), 0);
    dash_free(before);
    dash_free(after);
}

static void test_results_paths(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *one = run(f, K_PROGRAMME, 2);
    const Coachq__V1__Table *a = table(one, "results");
    const Coachq__V1__Table *b;
    struct dash *per_rep;
    size_t values = 0;

    assert_int_equal(store_exec(f->s, put_many_outcomes_cb, NULL), 0);
    per_rep = run(f, K_PROGRAMME, 2);
    b = table(per_rep, "results");
    values = assert_same_table(a, b);
    /* r was worked out for win_rate, crm_completeness and quota_attainment
     * at both lags. */
    assert_true(values >= 6);
    dash_free(one);
    dash_free(per_rep);
}

/* ---- Observer reliability ------------------------------------------------- */

/*
 * Window: the last 12 weeks (weeks 11..0). obs.1 made 16 + 3 = 19
 * observations there, 3 double-coded: share 3/19 = 0.157895; obs.2 made 3,
 * all double-coded: 1.
 * obs.1's pairs (its score, obs.2's), ten behaviours a session: (3,3) x10,
 * (3,2) x10, (2,2) x10. Exact 20/30 = 0.666667, within one 30/30 = 1.
 * Kappa (categories 1..4, disagreement weights (i-j)^2): rows r2 = 10,
 * r3 = 20; columns c2 = 20, c3 = 10; observed disagreement 10 (the (3,2)
 * cell); expected r2*c3*1 + r3*c2*1 = 100 + 400 = 500; kappa = 1 - 30 *
 * 10 / 500 = 0.4 (the same for obs.2, whose table is the transpose).
 * Drift: on flm.old obs.1 scored 3 3 2 (mean 8/3) and its peer 3 2 2 (7/3):
 * obs.1 +0.333333, obs.2 -0.333333, n 30 each, both flagged (>= 0.3). On
 * the other managers obs.1 has no peers.
 * Coverage: 7 front-line managers; obs.1 saw flm.t1 t2 u1 u2 old = 5/7,
 * obs.2 flm.old = 1/7.
 */
static void test_observers(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = run(f, K_OBSERVERS, 2);
    const Coachq__V1__Table *t = table(d, "observers");
    const Coachq__V1__TableRow *r = row2(t, "obs.1", NULL);

    assert_string_equal(cell(t, r, "Certified")->text, "yes");
    assert_string_equal(cell(t, r, "Valid until")->text, "2027-07-01");
    /* The programme's coverage: flm.t1 t2 u1 u2 old were observed in the
     * window, flm.old2 and flm.new were not. */
    {
        const Coachq__V1__Dashboard *m = dash_message(d);
        int found = 0;

        for (size_t i = 0; i < m->n_notes; i++) {
            found |= strstr(m->notes[i], "5 of 7 front-line managers were observed") != NULL;
        }
        assert_true(found);
    }
    assert_false(cell(t, r, "Calibration kappa")->has_value);
    ASSERT_NEAR(value(t, r, "Observations", 19), 19, 0);
    ASSERT_NEAR(value(t, r, "Double-coded share", 19), 3.0 / 19.0, 1e-9);
    ASSERT_NEAR(value(t, r, "Double-coded exact", 30), 2.0 / 3.0, 1e-9);
    ASSERT_NEAR(value(t, r, "Double-coded within one", 30), 1.0, 1e-9);
    ASSERT_NEAR(value(t, r, "Double-coded kappa", 30), 0.4, 1e-9);
    ASSERT_NEAR(value(t, r, "Severity drift", 30), 1.0 / 3.0, 1e-9);
    assert_non_null(strstr(cell(t, r, "Severity drift")->text, "flagged"));
    ASSERT_NEAR(value(t, r, "Coverage", 7), 5.0 / 7.0, 1e-9);

    r = row2(t, "obs.2", NULL);
    /* Its certification ends 14 days from the fixture's today. */
    assert_string_equal(cell(t, r, "Certified")->text, "yes, ends in 14 days");
    ASSERT_NEAR(value(t, r, "Double-coded share", 3), 1.0, 1e-9);
    ASSERT_NEAR(value(t, r, "Double-coded kappa", 30), 0.4, 1e-9);
    ASSERT_NEAR(value(t, r, "Severity drift", 30), -1.0 / 3.0, 1e-9);
    ASSERT_NEAR(value(t, r, "Coverage", 7), 1.0 / 7.0, 1e-9);

    /* obs.3: expired, never observed (its calibration attempts are not
     * observations): no figures, never a zero. Its latest calibration
     * result (see CAL_LATEST) is shown, and did not certify it. */
    r = row2(t, "obs.3", NULL);
    assert_string_equal(cell(t, r, "Certified")->text, "expired");
    assert_string_equal(cell(t, r, "Valid until")->text, "2024-03-18");
    ASSERT_NEAR(value(t, r, "Calibration exact", 10), 0.8, 1e-9);
    ASSERT_NEAR(value(t, r, "Calibration within one", 10), 0.9, 1e-9);
    ASSERT_NEAR(value(t, r, "Calibration kappa", 10), 58.0 / 83.0, 1e-9);
    assert_string_equal(cell(t, r, "Calibration kappa")->text, "0.70");
    ASSERT_NEAR(value(t, r, "Observations", 0), 0, 0);
    assert_true(cell(t, r, "Double-coded share")->insufficient);
    assert_true(cell(t, r, "Severity drift")->insufficient);
    ASSERT_NEAR(value(t, r, "Coverage", 7), 0.0, 1e-9);
    dash_free(d);
}

static int enrol_new_cb(struct store_txn *t, void *arg)
{
    Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;

    (void)arg;
    e.programme_id = (char *)"p1";
    e.cohort_id = (char *)"c1";
    e.cohort_start_day = MONDAY0 - 7 * 6;
    e.person_id = (char *)"flm.new";
    return people_enrolment_put(t, &e, NULL);
}

/* Issue 11: a cohort's quality was shown when enough people were enrolled,
 * however few were observed. With flm.new (never observed) in cohort c1,
 * four are enrolled but only three were observed before and after: with a
 * privacy minimum of 4 the cohort's quality is a group too small. */
static void test_cohort_privacy_as_computed(void **state)
{
    struct testutil_store_fx *f = *state;
    const Coachq__V1__Table *t;
    const Coachq__V1__TableRow *r;
    struct dash *d;

    assert_int_equal(store_exec(f->s, enrol_new_cb, NULL), 0);
    d = run(f, K_PROGRAMME, 4);
    t = table(d, "attendance");
    r = row2(t, "p1", "c1");
    ASSERT_NEAR(value(t, r, "Enrolled", 4), 4, 0);
    assert_string_equal(cell(t, r, "Quality before")->text, "group too small");
    assert_string_equal(cell(t, r, "Quality after")->text, "group too small");
    assert_string_equal(cell(t, r, "Change")->text, "group too small");
    dash_free(d);
    /* Three observed people are enough for a minimum of 3. */
    d = run(f, K_PROGRAMME, 3);
    t = table(d, "attendance");
    r = row2(t, "p1", "c1");
    ASSERT_NEAR(value(t, r, "Quality before", 6), 13.0 / 6.0, 1e-9);
    dash_free(d);
}

static int obs4_cb(struct store_txn *t, void *arg)
{
    int rc;

    (void)arg;
    /* obs.4 is stored without a name. */
    rc = testutil_put_person(t, "obs.4", "", COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    return rc == 0 ? testutil_put_cert(t, "obs.4", 19000, 21000, "admin") : rc;
}

/* Issue 11: a session scored by three observers counted once per peer, so
 * "double-coded share" read 1.25 and 0.50 where it is 1.00 and 0.25. A
 * share is an observer's double-coded observations over all of theirs.
 * Runs last: it adds observations the tests above do not expect. */
static void test_double_coded_share_three_observers(void **state)
{
    struct testutil_store_fx *f = *state;
    const Coachq__V1__Table *t;
    const Coachq__V1__TableRow *r;
    struct dash *d;

    assert_int_equal(store_exec(f->s, obs4_cb, NULL), 0);
    /* One session of flm.new scored by obs.1, obs.2 and obs.4; three more
     * by obs.4 alone. */
    observe(f, "obs.1", "flm.new", week(0), 8, 3);
    observe(f, "obs.2", "flm.new", week(0), 8, 3);
    observe(f, "obs.4", "flm.new", week(0), 8, 2);
    observe(f, "obs.4", "flm.new", week(0), 9, 2);
    observe(f, "obs.4", "flm.new", week(0), 10, 2);
    observe(f, "obs.4", "flm.new", week(0), 11, 2);
    d = run(f, K_OBSERVERS, 2);
    t = table(d, "observers");
    /* obs.2: the three double-coded sessions of flm.old and this one. */
    r = row2(t, "obs.2", NULL);
    ASSERT_NEAR(value(t, r, "Double-coded share", 4), 1.0, 1e-9);
    r = row2(t, "obs.4", NULL);
    ASSERT_NEAR(value(t, r, "Double-coded share", 4), 0.25, 1e-9);
    /* obs.1: 19 observations before, 3 of them double-coded; now 20 and 4. */
    r = row2(t, "obs.1", NULL);
    ASSERT_NEAR(value(t, r, "Double-coded share", 20), 4.0 / 20.0, 1e-9);
    for (size_t i = 0; i < t->n_rows; i++) {
        const Coachq__V1__Cell *c = cell(t, t->rows[i], "Double-coded share");

        assert_true(!c->has_value || (c->value >= 0 && c->value <= 1));
    }
    dash_free(d);
}

/* ---- Certification expiry on Observer reliability ------------------------ */

static int expiry_cb(struct store_txn *t, void *arg)
{
    static const struct {
        const char *id;
        const char *zone;
        int32_t from, until;
    } c[] = {
        {"obs.5", "", TODAY - 300, TODAY + 20},
        {"obs.6", "", TODAY - 300, TODAY + 7},
        {"obs.7", "", TODAY - 300, TODAY + 31},
        /* Renewed from the day after: one run, ending far off. */
        {"obs.8", "", TODAY - 300, TODAY + 5},
        {"obs.8", "", TODAY + 6, TODAY + 300},
        /* UTC+14: at noon UTC it is already tomorrow there. */
        {"obs.9", "Pacific/Kiritimati", TODAY - 300, TODAY + 31},
        /* Ended yesterday: "expired" in its row, no warning. */
        {"obs.10", "", TODAY - 300, TODAY - 1},
        /* A renewal with a gap does not carry the end on. */
        {"obs.11", "", TODAY - 300, TODAY + 3},
        {"obs.11", "", TODAY + 5, TODAY + 300},
        /* Today is its last day. */
        {"obs.12", "", TODAY - 300, TODAY},
    };
    int rc = 0;

    (void)arg;
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]) && rc == 0; i++) {
        Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
        Coachq__V1__Role role = COACHQ__V1__ROLE__ROLE_OBSERVER;

        p.id = (char *)c[i].id;
        p.name = (char *)c[i].id;
        p.roles = &role;
        p.n_roles = 1;
        p.time_zone = (char *)c[i].zone;
        rc = people_put(t, &p, NULL);
        if (rc == 0) {
            rc = testutil_put_cert(t, c[i].id, c[i].from, c[i].until, "admin");
        }
    }
    return rc;
}

/* The note about observer id's certification, or NULL. */
static const char *expiry_note(const Coachq__V1__Dashboard *m, const char *id)
{
    char key[64];

    snprintf(key, sizeof(key), "(%s) for rubric", id);
    for (size_t i = 0; i < m->n_notes; i++) {
        if (strstr(m->notes[i], key) != NULL) {
            return m->notes[i];
        }
    }
    return NULL;
}

/* Certifications holding today (2024-06-12, in the observer's zone) that
 * end within 30 days get a note, within 7 more urgently; ended, renewed
 * and later ones do not. Runs last: it adds observers. */
static void test_observers_cert_expiry(void **state)
{
    struct testutil_store_fx *f = *state;
    const Coachq__V1__Dashboard *m;
    const Coachq__V1__Table *t;
    struct dash *d;
    struct buf b;

    assert_int_equal(store_exec(f->s, expiry_cb, NULL), 0);
    /* A page of a past period (ending 60 days ago) says nothing of
     * today's expiries. */
    assert_int_equal(testutil_dash_as_lead(f->s, K_OBSERVERS, TODAY - 60, 2, NOW_S, &d), 0);
    m = dash_message(d);
    assert_null(expiry_note(m, "obs.5"));
    assert_null(expiry_note(m, "obs.6"));
    assert_string_equal(
        cell(table(d, "observers"), row2(table(d, "observers"), "obs.5", NULL), "Certified")->text,
        "yes");
    dash_free(d);
    d = run(f, K_OBSERVERS, 2);
    m = dash_message(d);
    assert_non_null(expiry_note(m, "obs.5"));
    assert_string_equal(expiry_note(m, "obs.5"),
                        "Certification ends within 30 days: obs.5 (obs.5) for rubric "
                        "coaching-conversation ends in 20 days on 2024-07-02.");
    assert_non_null(expiry_note(m, "obs.6"));
    assert_string_equal(expiry_note(m, "obs.6"),
                        "Certification ends within a week: obs.6 (obs.6) for rubric "
                        "coaching-conversation ends in 7 days on 2024-06-19.");
    assert_null(expiry_note(m, "obs.7"));
    assert_null(expiry_note(m, "obs.8"));
    assert_non_null(expiry_note(m, "obs.9"));
    assert_non_null(strstr(expiry_note(m, "obs.9"), "ends in 30 days on 2024-07-13."));
    assert_null(expiry_note(m, "obs.10"));
    assert_string_equal(
        cell(table(d, "observers"), row2(table(d, "observers"), "obs.10", NULL), "Certified")->text,
        "expired");
    assert_non_null(expiry_note(m, "obs.11"));
    assert_non_null(strstr(expiry_note(m, "obs.11"), "ends in 3 days on 2024-06-15."));
    assert_non_null(expiry_note(m, "obs.12"));
    assert_non_null(strstr(expiry_note(m, "obs.12"), "ends today, 2024-06-12."));
    /* obs.1 holds its until 2027 (day 21000); obs.2's ends on day 19900,
     * 14 days from today. */
    assert_null(expiry_note(m, "obs.1"));
    assert_non_null(expiry_note(m, "obs.2"));
    /* The column says the same of the dashboard's rubric. */
    t = table(d, "observers");
    assert_string_equal(cell(t, row2(t, "obs.5", NULL), "Certified")->text, "yes, ends in 20 days");
    assert_string_equal(cell(t, row2(t, "obs.6", NULL), "Certified")->text,
                        "yes, ends in 7 days (within a week)");
    /* The page states certifications as of its last day, this week's
     * Sunday, when obs.12's has ended: the cell keeps "expired", and the
     * note says it ends today. */
    assert_string_equal(cell(t, row2(t, "obs.12", NULL), "Certified")->text, "expired");
    assert_string_equal(cell(t, row2(t, "obs.7", NULL), "Certified")->text, "yes");
    assert_string_equal(cell(t, row2(t, "obs.10", NULL), "Certified")->text, "expired");
    assert_string_equal(cell(t, row2(t, "obs.1", NULL), "Certified")->text, "yes");
    assert_non_null(strstr(expiry_note(m, "obs.2"), "ends in 14 days on 2024-06-26."));

    /* Every format carries them: CSV the cell, JSON and text the notes. */
    buf_init(&b, 1u << 22);
    assert_int_equal(dashfmt_csv(t, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((const char *)b.data, "yes, ends in 7 days (within a week)"));
    buf_free(&b);
    buf_init(&b, 1u << 22);
    assert_int_equal(dashfmt_json(m, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((const char *)b.data, "obs.6 (obs.6) for rubric coaching-conversation "
                                                 "ends in 7 days on 2024-06-19."));
    buf_free(&b);
    buf_init(&b, 1u << 22);
    assert_int_equal(dashfmt_text(m, 400, &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    assert_non_null(strstr((const char *)b.data, "obs.6 (obs.6) for rubric coaching-conversation "
                                                 "ends in 7 days on 2024-06-19."));
    buf_free(&b);
    dash_free(d);
}

/* ---- Programme impact with enough managers for a clustered interval ----
 *
 * 24 front-line managers flm.c0 .. flm.c23, each observed once in each of
 * the weeks 30, 24, 16, 12, 6 and 2 before today's (by obs.1, every
 * behaviour scored alike): flm.c0 .. c5 completed training in week 20,
 * flm.c6 .. c11 in week 10, flm.c12 .. c23 never. Score of manager m in
 * its k-th week: 1 + (1 if (5m + 3k) mod 3 = 0) + (k mod 2), plus m mod 3
 * (at most 4) once the manager is trained: the gain differs by manager, so
 * a manager's observations are not independent of each other.
 *
 * Two stacks: week 20 (treated c0..c5; compared with c6..c23, c6..c11 only
 * until their own training) and week 10 (treated c6..c11; compared with
 * c12..c23). c12..c23 serve both stacks: the stacked comparison cells hold
 * 84 rows each where 60 distinct observations stand behind them.
 *
 * Reference: statsmodels 0.13.5, OLS(y, [1, T, P, T*P]).fit(
 * cov_type='cluster', cov_kwds={'groups': manager}, use_t=True) on the 240
 * stacked rows (every behaviour and the quality index alike): DiD 1, se
 * 0.2467433932259877 over 24 clusters, t_0.975(23):
 *   95% CI 0.48957240178244 .. 1.51042759821756
 * Effect size: 1 over the pooled sd of the four stacked cells, 1.443036015204219.
 * The old Welch interval, treating the 240 rows as independent
 * observations, was 0.61 .. 1.39: too narrow.
 */
#define CLU_MANAGERS 24

static const int CLU_WEEKS[6] = {30, 24, 16, 12, 6, 2};

static int clu_trained_week(int m)
{
    return m < 6 ? 20 : m < 12 ? 10 : 0;
}

static int clu_org_cb(struct store_txn *t, void *arg)
{
    Coachq__V1__Programme prog = COACHQ__V1__PROGRAMME__INIT;
    char id[32];
    int rc = 0;

    (void)arg;
    for (int i = 0; i < CLU_MANAGERS && rc == 0; i++) {
        snprintf(id, sizeof(id), "flm.c%d", i);
        rc = testutil_put_person(t, id, NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "obs.1", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "lead.a", NULL, COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "rep.1", NULL, 0, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_rubric(t, "", 0);
    }
    if (rc == 0) {
        rc = testutil_put_cert(t, "obs.1", 19000, 21000, "admin");
    }
    prog.id = (char *)"p1";
    prog.name = (char *)"Coaching programme";
    if (rc == 0) {
        rc = people_programme_put(t, &prog, NULL);
    }
    for (int m = 0; m < CLU_MANAGERS && rc == 0; m++) {
        Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;

        if (clu_trained_week(m) == 0) {
            continue;
        }
        snprintf(id, sizeof(id), "flm.c%d", m);
        e.programme_id = (char *)"p1";
        e.cohort_id = (char *)(m < 6 ? "c20" : "c10");
        e.cohort_start_day = week(clu_trained_week(m)) - 14;
        e.person_id = id;
        e.completed_day = week(clu_trained_week(m)) + 2;
        rc = people_enrolment_put(t, &e, NULL);
    }
    return rc;
}

static int clu_setup(void **state)
{
    struct testutil_store_fx *f;

    testutil_watchdog(240);
    f = testutil_store_fx_new(clu_org_cb, NULL);
    for (int m = 0; m < CLU_MANAGERS; m++) {
        char id[32];

        snprintf(id, sizeof(id), "flm.c%d", m);
        for (int k = 0; k < 6; k++) {
            int v = 1 + ((5 * m + 3 * k) % 3 == 0) + (k % 2);

            if (clu_trained_week(m) != 0 && CLU_WEEKS[k] <= clu_trained_week(m)) {
                v = v + m % 3 > 4 ? 4 : v + m % 3;
            }
            observe(f, "obs.1", id, week(CLU_WEEKS[k]) + 1, 8, (uint32_t)v);
        }
    }
    *state = f;
    return 0;
}

static void test_impact_clustered(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = run(f, K_PROGRAMME, 5);
    const Coachq__V1__Table *t = table(d, "impact");
    const Coachq__V1__TableRow *r = row2(t, "Quality index", NULL);
    unsigned cell_n[4];
    static const char *const cells[4] = {"Trained: before", "Trained: after",
                                         "Not yet trained: before", "Not yet trained: after"};

    /* 12 trained managers; 18 not yet trained (c6 .. c11 until week 10,
     * c12 .. c23 throughout); the estimate's n is the smaller group. */
    ASSERT_NEAR(value(t, r, "Trained managers", 12), 12, 0);
    ASSERT_NEAR(value(t, r, "Not-yet-trained managers", 18), 18, 0);
    ASSERT_NEAR(value(t, r, "Difference-in-differences", 12), 1.0, 1e-12);
    ASSERT_NEAR(value(t, r, "95% CI low", 12), 0.48957240178244, 1e-9);
    ASSERT_NEAR(value(t, r, "95% CI high", 12), 1.51042759821756, 1e-9);
    ASSERT_NEAR(value(t, r, "Effect size (d)", 12), 1.443036015204219, 1e-9);
    /* n is what stands behind each cell: distinct observations (36, 36, 60,
     * 60), although the comparison cells use c12 .. c23 in both stacks (84
     * rows each). */
    for (int k = 0; k < 4; k++) {
        cell_n[k] = cell(t, r, cells[k])->n;
    }
    assert_int_equal(cell_n[0], 36);
    assert_int_equal(cell_n[1], 36);
    assert_int_equal(cell_n[2], 60);
    assert_int_equal(cell_n[3], 60);
    ASSERT_NEAR(value(t, r, "Not yet trained: before", 60), 11.0 / 6.0, 1e-12);
    /* The chart draws the same estimate and band. */
    {
        const Coachq__V1__Dashboard *m = dash_message(d);

        for (size_t i = 0; i < m->n_charts; i++) {
            if (strcmp(m->charts[i]->id, "impact-chart") == 0) {
                const Coachq__V1__Series *sr = m->charts[i]->series[0];

                assert_true(sr->present[NB]);
                ASSERT_NEAR(sr->lo[NB], 0.48957240178244, 1e-9);
            }
        }
    }
    dash_free(d);
}

/* ---- Programme impact: observations in a training week -----------------
 *
 * The clustered fixture above with every manager observed once more in
 * week 20 (score 2), the training week of flm.c0 .. c5: the first week of
 * their "after" weeks, and of the comparison's "after" weeks in the week-20
 * stack. The distinct observations behind each cell, from the records:
 *   Trained: before          c0..c5 weeks 30 24 (12); c6..c11 before week
 *                            10: 30 24 20 16 12 (30): 42
 *   Trained: after           c0..c5 weeks 20 16 12 6 2 (30); c6..c11
 *                            weeks 6 2 (12): 42
 *   Not yet trained: before  c6..c11 before week 20 in its stack: 30 24
 *                            (12); c12..c23 before week 10 in either
 *                            stack: 30 24 20 16 12 (60): 72
 *   Not yet trained: after   c6..c11 from week 20 until their own
 *                            training: 20 16 12 (18); c12..c23 from week
 *                            20 on: 20 16 12 6 2 (60): 78
 * Every behaviour and the quality index alike.
 */
static int clu_week20_setup(void **state)
{
    struct testutil_store_fx *f;

    clu_setup(state);
    f = *state;
    for (int m = 0; m < CLU_MANAGERS; m++) {
        char id[32];

        snprintf(id, sizeof(id), "flm.c%d", m);
        observe(f, "obs.1", id, week(20) + 1, 9, 2);
    }
    return 0;
}

static void test_impact_training_week(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = run(f, K_PROGRAMME, 5);
    const Coachq__V1__Table *t = table(d, "impact");
    static const char *const cells[4] = {"Trained: before", "Trained: after",
                                         "Not yet trained: before", "Not yet trained: after"};
    static const unsigned want[4] = {42, 42, 72, 78};

    assert_int_equal(t->n_rows, NB + 1);
    for (size_t i = 0; i <= NB; i++) {
        const Coachq__V1__TableRow *r =
            row2(t, i < NB ? testutil_behaviours[i] : "Quality index", NULL);

        for (int k = 0; k < 4; k++) {
            assert_int_equal(cell(t, r, cells[k])->n, want[k]);
        }
    }
    dash_free(d);
}

/* ---- Programme impact: the first and the last week of its window -------
 *
 * The fixture above, with flm.t1 observed once more in the first week of
 * the 52-week window (week 51, score 4: before its training) and once in the
 * last (today's week, score 1: after it). The behaviours are read only for
 * that window, the quality index for every week the page reads, so a window
 * of behaviours a week short at either end would leave those observations
 * out of the behaviours' rows alone:
 *   trained before   2 2 1 3 4: n 5, mean 2.4
 *   trained after    3 3 4 2 1: n 5, mean 2.6
 * the same for every behaviour and the quality index.
 */
static int edges_setup(void **state)
{
    struct testutil_store_fx *f;

    setup(state);
    f = *state;
    observe(f, "obs.1", "flm.t1", week(51), 8, 4);
    observe(f, "obs.1", "flm.t1", week(0), 8, 1);
    return 0;
}

static void test_impact_window_edges(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = run(f, K_PROGRAMME, 2);
    const Coachq__V1__Table *t = table(d, "impact");

    assert_int_equal(t->n_rows, NB + 1);
    for (size_t i = 0; i <= NB; i++) {
        const Coachq__V1__TableRow *r =
            row2(t, i < NB ? testutil_behaviours[i] : "Quality index", NULL);

        ASSERT_NEAR(value(t, r, "Trained: before", 5), 2.4, 1e-9);
        ASSERT_NEAR(value(t, r, "Trained: after", 5), 2.6, 1e-9);
        ASSERT_NEAR(value(t, r, "Not yet trained: before", 4), 2.0, 1e-9);
        ASSERT_NEAR(value(t, r, "Not yet trained: after", 4), 2.5, 1e-9);
    }
    dash_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_impact),
        cmocka_unit_test(test_attendance),
        cmocka_unit_test(test_results),
        cmocka_unit_test(test_observers),
        cmocka_unit_test(test_cohort_privacy_as_computed),
        cmocka_unit_test(test_double_coded_share_three_observers),
        cmocka_unit_test(test_observers_cert_expiry),
    };

    const struct CMUnitTest clustered[] = {
        cmocka_unit_test(test_impact_clustered),
    };
    const struct CMUnitTest edges[] = {
        cmocka_unit_test(test_impact_window_edges),
    };
    const struct CMUnitTest training_week[] = {
        cmocka_unit_test(test_impact_training_week),
    };
    const struct CMUnitTest first_quarter[] = {
        cmocka_unit_test(test_results_first_quarter),
    };
    const struct CMUnitTest many_figures[] = {
        cmocka_unit_test(test_results),
    };
    const struct CMUnitTest paths[] = {
        /* Before test_results_paths, which stores enough figures to turn
         * the one pass off. */
        cmocka_unit_test(test_results_damaged_other),
        cmocka_unit_test(test_results_paths),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);

    failed += cmocka_run_group_tests(clustered, clu_setup, teardown);
    failed += cmocka_run_group_tests(training_week, clu_week20_setup, teardown);
    failed += cmocka_run_group_tests(first_quarter, first_quarter_setup, teardown);
    failed += cmocka_run_group_tests(many_figures, many_setup, teardown);
    failed += cmocka_run_group_tests(paths, paths_setup, teardown);
    return failed + cmocka_run_group_tests(edges, edges_setup, teardown);
}
