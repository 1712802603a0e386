/* Tests of query/dash_mix.c: the coaching mix and quality by focus on My
 * managers, Manager detail and My coaching, and quality beside the team's
 * results one and two quarters later, against figures worked out by hand
 * (the intervals also against SciPy), with the privacy rule attacked: a rep
 * who moves teams mid-quarter, a team of one, a manager who moves lines, and
 * the subtraction of any two figures a viewer can fetch. */
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

#include "auth.h"
#include "buf.h"
#include "dash.h"
#include "dashfmt.h"
#include "outcomes.h"
#include "people.h"
#include "render_html.h"
#include "store.h"
#include "testutil.h"

/* "Today": Wednesday 2024-06-12 (day 19886), in 2024-Q2. */
#define TODAY 19886
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)
#define NB 10
#define DAY_2023_11_07 19668
#define DAY_2023_12_28 19719 /* a Thursday, in the week of Monday 2023-12-25 */
#define DAY_2023_07_01 19539 /* 2023-Q3's first day, a Saturday: Monday 2023-06-26's week */
#define DAY_2024_02_15 19768 /* rep.m moves from flm.a to flm.e */
#define DAY_2024_04_01 19814 /* flm.e moves from slm.b to slm.a */
#define DAY_2024_03_31 19813 /* 2024-Q1's last day, a Sunday */

#define K_MY_MANAGERS COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS
#define K_MANAGER COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER
#define K_MY_COACHING COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING

#define F_PROCESS COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS
#define F_SKILL COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL
#define F_HUMAN COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN
#define T_DEAL COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW
#define T_CALL COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW
#define T_PIPE COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PIPELINE_REVIEW
#define T_CHECK COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PERSONAL_CHECK_IN

struct person_spec {
    const char *id;
    Coachq__V1__Role role; /* 0: a rep */
    const char *manager;
};

static const struct person_spec PEOPLE[] = {
    {"slm.a", COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL},
    {"slm.b", COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL},
    {"flm.a", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.a"},
    {"flm.b", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.a"},
    {"flm.e", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.b"},
    {"rep.1", 0, "flm.a"},
    {"rep.2", 0, "flm.a"},
    {"rep.m", 0, "flm.a"},
    {"rep.3", 0, "flm.b"},
    {"obs.1", COACHQ__V1__ROLE__ROLE_OBSERVER, NULL},
    {"lead.a", COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD, NULL},
};

/* win_rate per rep and quarter. rep.m ends 2023-Q4 in flm.a's team and
 * 2024-Q1 in flm.e's (alone: a team of one). */
static const struct {
    const char *rep;
    const char *period;
    double value;
} RESULTS[] = {
    {"rep.1", "2023-Q4", 0.20}, {"rep.2", "2023-Q4", 0.40}, {"rep.m", "2023-Q4", 0.60},
    {"rep.1", "2024-Q1", 0.30}, {"rep.2", "2024-Q1", 0.50}, {"rep.m", "2024-Q1", 0.90},
    {"rep.3", "2024-Q1", 0.70},
};
#define HIDDEN 0.90 /* rep.m's 2024-Q1: only flm.e, slm.b and leads may see it */

static int org_cb(struct store_txn *t, void *arg)
{
    int rc = 0;

    (void)arg;
    for (size_t i = 0; i < sizeof(PEOPLE) / sizeof(PEOPLE[0]) && rc == 0; i++) {
        rc = testutil_put_person(t, PEOPLE[i].id, PEOPLE[i].id, PEOPLE[i].role, PEOPLE[i].manager);
    }
    if (rc == 0) {
        rc = people_line_put(t, "rep.m", "flm.e", DAY_2024_02_15, NULL);
    }
    if (rc == 0) {
        rc = people_line_put(t, "flm.e", "slm.a", DAY_2024_04_01, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_rubric(t, "Name of ", 1);
    }
    if (rc == 0) {
        rc = testutil_put_cert(t, "obs.1", 19000, 21000, "lead.a");
    }
    if (rc == 0) {
        /* flm.a completes a programme on Saturday 2024-06-08 (its week's
         * Monday: 2024-06-03); flm.b is enrolled, not yet trained. */
        Coachq__V1__Programme prog = COACHQ__V1__PROGRAMME__INIT;
        Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;

        prog.id = (char *)"p1";
        prog.name = (char *)"Coaching programme";
        rc = people_programme_put(t, &prog, NULL);
        e.programme_id = (char *)"p1";
        e.cohort_id = (char *)"c1";
        e.cohort_start_day = TODAY - 40;
        e.person_id = (char *)"flm.a";
        e.completed_day = TODAY - 4;
        if (rc == 0) {
            rc = people_enrolment_put(t, &e, NULL);
        }
        e.person_id = (char *)"flm.b";
        e.completed_day = 0;
        if (rc == 0) {
            rc = people_enrolment_put(t, &e, NULL);
        }
    }
    for (size_t i = 0; i < sizeof(RESULTS) / sizeof(RESULTS[0]) && rc == 0; i++) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;

        o.subject_id = (char *)RESULTS[i].rep;
        o.period = (char *)RESULTS[i].period;
        o.metric = (char *)"win_rate";
        o.value = RESULTS[i].value;
        rc = outcomes_put(t, &o, NULL);
    }
    return rc;
}

/* One observation of coach on day: the first five behaviours scored lo,
 * the other five hi (its quality index (lo + hi) / 2). */
static void observe(struct testutil_store_fx *f, const char *coach, int32_t day, int hour,
                    int focus, int type, uint32_t lo, uint32_t hi)
{
    struct testutil_obs o;

    testutil_obs_make(&o, coach, "rep.1", (int64_t)day * 86400 + hour * 3600);
    for (size_t i = 0; i < NB; i++) {
        o.r[i].score = i < NB / 2 ? lo : hi;
    }
    o.o.focus = focus;
    o.o.session_type = type;
    o.o.n_actions = 0;
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.1", NOW_S * 1000), 0);
}

static int setup(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(org_cb, NULL);

    if (f == NULL) {
        return -1;
    }
    /* flm.a this quarter: skill call reviews of quality 2, 2.5, 3.5 and 4;
     * process deal reviews of 1 and 1; one human check-in of 4. */
    observe(f, "flm.a", TODAY - 1, 8, F_SKILL, T_CALL, 2, 2);
    observe(f, "flm.a", TODAY - 1, 9, F_SKILL, T_CALL, 2, 3);
    observe(f, "flm.a", TODAY - 2, 8, F_SKILL, T_CALL, 3, 4);
    observe(f, "flm.a", TODAY - 2, 9, F_SKILL, T_CALL, 4, 4);
    observe(f, "flm.a", TODAY - 8, 8, F_PROCESS, T_DEAL, 1, 1);
    observe(f, "flm.a", TODAY - 8, 9, F_PROCESS, T_DEAL, 1, 1);
    observe(f, "flm.a", TODAY - 9, 8, F_HUMAN, T_CHECK, 4, 4);
    /* flm.b: three process pipeline reviews of 3. */
    for (int i = 0; i < 3; i++) {
        observe(f, "flm.b", TODAY - 3, 8 + i, F_PROCESS, T_PIPE, 3, 3);
    }
    /* flm.a in 2023-Q4 (outside the 12 weeks of the mix): three of 2. */
    for (int i = 0; i < 3; i++) {
        observe(f, "flm.a", DAY_2023_11_07, 8 + i, F_PROCESS, T_DEAL, 2, 2);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    testutil_store_fx_free(*state);
    return 0;
}

/* ---- Reading a dashboard ------------------------------------------------ */

static struct dash *build(struct testutil_store_fx *f, const char *user, unsigned roles, int kind,
                          const char *subject, int32_t until, int *rc)
{
    struct testutil_dash_req q = {user, roles, kind, subject, NULL, until, NULL, NOW_S};
    struct dash *d = NULL;

    *rc = testutil_dash_build(f->s, &q, &d, NULL);
    return d;
}

static struct dash *must(struct testutil_store_fx *f, const char *user, unsigned roles, int kind,
                         const char *subject, int32_t until)
{
    int rc;
    struct dash *d = build(f, user, roles, kind, subject, until, &rc);

    assert_int_equal(rc, 0);
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

static size_t col(const Coachq__V1__Table *t, const char *name)
{
    for (size_t i = 0; i < t->n_columns; i++) {
        if (strcmp(t->columns[i], name) == 0) {
            return i;
        }
    }
    fail_msg("no column %s in %s", name, t->id);
    return 0;
}

/* The cell of column in the row whose cells at k1 (and k2, when v2 is not
 * NULL) read v1 (and v2). */
static const Coachq__V1__Cell *cell2(const Coachq__V1__Table *t, const char *k1, const char *v1,
                                     const char *k2, const char *v2, const char *column)
{
    size_t c1 = col(t, k1), c2 = k2 != NULL ? col(t, k2) : 0, c = col(t, column);

    for (size_t i = 0; i < t->n_rows; i++) {
        const Coachq__V1__TableRow *r = t->rows[i];

        if (strcmp(r->cells[c1]->text, v1) == 0 &&
            (v2 == NULL || strcmp(r->cells[c2]->text, v2) == 0)) {
            assert_true(c < r->n_cells);
            return r->cells[c];
        }
    }
    fail_msg("no row %s=%s in %s", k1, v1, t->id);
    return NULL;
}

static const Coachq__V1__Cell *cell(const Coachq__V1__Table *t, const char *first,
                                    const char *column)
{
    return cell2(t, "Manager", first, NULL, NULL, column);
}

static void expect_num(const Coachq__V1__Cell *c, double v, unsigned n, const char *text)
{
    assert_true(c->has_value);
    if (fabs(c->value - v) > 1e-9) {
        fail_msg("%s: %.12g, expected %.12g", c->text, c->value, v);
    }
    assert_int_equal(c->n, n);
    if (text != NULL) {
        assert_string_equal(c->text, text);
    }
}

static void expect_insufficient(const Coachq__V1__Cell *c, unsigned n)
{
    assert_false(c->has_value);
    assert_true(c->insufficient);
    assert_int_equal(c->n, n);
}

/* ---- The mix --------------------------------------------------------------- */

static void test_mix_my_managers(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "slm.a", 0);
    const Coachq__V1__Table *t = table(d, "mix-focus");

    /* flm.a: 7 sessions, 2 process, 4 skill, 1 human. */
    assert_int_equal(cell(t, "flm.a", "Sessions observed")->value, 7);
    expect_num(cell(t, "flm.a", "Process"), 100.0 * 2 / 7, 7, "29%");
    expect_num(cell(t, "flm.a", "Skill"), 100.0 * 4 / 7, 7, "57%");
    expect_num(cell(t, "flm.a", "Human"), 100.0 * 1 / 7, 7, "14%");
    expect_num(cell(t, "flm.a", "Not stated"), 0, 7, "0%");
    expect_num(cell(t, "flm.b", "Process"), 100, 3, "100%");
    /* flm.e joined the line with no sessions: insufficient, not 0%. */
    expect_insufficient(cell(t, "flm.e", "Process"), 0);
    /* The whole line: 10 sessions, 5 process, 4 skill, 1 human. */
    expect_num(cell(t, "Whole line", "Process"), 50, 10, "50%");
    expect_num(cell(t, "Whole line", "Skill"), 40, 10, "40%");
    expect_num(cell(t, "Whole line", "Human"), 10, 10, "10%");

    t = table(d, "mix-type");
    expect_num(cell(t, "flm.a", "Call review"), 100.0 * 4 / 7, 7, "57%");
    expect_num(cell(t, "flm.a", "Deal review"), 100.0 * 2 / 7, 7, "29%");
    expect_num(cell(t, "flm.a", "Personal check-in"), 100.0 / 7, 7, "14%");
    expect_num(cell(t, "flm.a", "Pipeline review"), 0, 7, "0%");
    expect_num(cell(t, "flm.b", "Pipeline review"), 100, 3, "100%");
    expect_num(cell(t, "Whole line", "Pipeline review"), 30, 10, "30%");

    /* Quality by focus: flm.a's skill sessions 2, 2.5, 3.5, 4: mean 3,
     * interval from scipy.stats.t.interval(0.95, 3, loc=3,
     * scale=scipy.stats.sem([2, 2.5, 3.5, 4])). Two process sessions and
     * one human: insufficient data. */
    t = table(d, "quality-focus");
    expect_num(cell(t, "flm.a", "Skill"), 3.0, 4, "3.00");
    expect_num(cell(t, "flm.a", "Skill 95% CI low"), 1.547418642122364, 4, "1.55");
    expect_num(cell(t, "flm.a", "Skill 95% CI high"), 4.452581357877636, 4, "4.45");
    expect_insufficient(cell(t, "flm.a", "Process"), 2);
    expect_insufficient(cell(t, "flm.a", "Human 95% CI low"), 1);
    /* flm.b's three 3s: no spread, the interval is the mean. */
    expect_num(cell(t, "flm.b", "Process"), 3.0, 3, "3.00");
    expect_num(cell(t, "flm.b", "Process 95% CI low"), 3.0, 3, NULL);
    expect_num(cell(t, "Whole line", "Process"), 11.0 / 5, 5, "2.20");
    dash_free(d);
}

static void test_mix_manager_and_my_coaching(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = must(f, "flm.a", AUTH_FRONT_LINE, K_MY_COACHING, "flm.a", 0);
    const Coachq__V1__Table *t = table(d, "mix-focus");

    assert_int_equal(t->n_rows, 1);
    expect_num(t->rows[0]->cells[col(t, "Skill")], 100.0 * 4 / 7, 7, "57%");
    t = table(d, "quality-focus");
    expect_num(t->rows[0]->cells[col(t, "Skill 95% CI high")], 4.452581357877636, 4, NULL);
    dash_free(d);

    /* Manager detail, as the second-level manager: the sessions of their
     * line only; flm.e has none there since joining it. */
    d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MANAGER, "flm.a", 0);
    t = table(d, "mix-type");
    expect_num(t->rows[0]->cells[col(t, "Deal review")], 100.0 * 2 / 7, 7, "29%");
    dash_free(d);
    d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MANAGER, "flm.e", 0);
    expect_insufficient(table(d, "mix-focus")->rows[0]->cells[2], 0);
    dash_free(d);
}

/* Programme impact: flm.a's mix before training (the three process deal
 * reviews of 2023-11) and from it (the seven of June); the not yet trained
 * split at the median training week (flm.a's): flm.b's three process
 * pipeline reviews fall from it, nothing before. */
static void test_mix_shift(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash_opts o;
    struct testutil_dash_req q = {
        "lead.a", AUTH_LEAD, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, NULL, NULL, 0,
        &o,       NOW_S};
    struct dash *d = NULL;
    const Coachq__V1__Table *t;
    const char *tb = "Trained: before training";
    const char *ta = "Trained: after training";
    const char *ua = "Not yet trained: from the median training week";
    const char *ub = "Not yet trained: before the median training week";

    dash_opts_default(&o);
    o.privacy_min = 1;
    assert_int_equal(testutil_dash_build(f->s, &q, &d, NULL), 0);
    t = table(d, "mix-shift");
    assert_int_equal(cell2(t, "Group", tb, NULL, NULL, "Managers")->value, 1);
    assert_int_equal(cell2(t, "Group", tb, NULL, NULL, "Sessions observed")->value, 3);
    expect_num(cell2(t, "Group", tb, NULL, NULL, "Process"), 100, 3, "100%");
    expect_num(cell2(t, "Group", tb, NULL, NULL, "Deal review"), 100, 3, "100%");
    expect_num(cell2(t, "Group", ta, NULL, NULL, "Process"), 100.0 * 2 / 7, 7, "29%");
    expect_num(cell2(t, "Group", ta, NULL, NULL, "Skill"), 100.0 * 4 / 7, 7, "57%");
    expect_num(cell2(t, "Group", ta, NULL, NULL, "Personal check-in"), 100.0 / 7, 7, "14%");
    expect_num(cell2(t, "Group", ua, NULL, NULL, "Pipeline review"), 100, 3, "100%");
    assert_int_equal(cell2(t, "Group", ub, NULL, NULL, "Managers")->value, 0);
    assert_string_equal(cell2(t, "Group", ub, NULL, NULL, "Process")->text, DASH_SMALL_GROUP);
    dash_free(d);
    /* At the default minimum of five managers, no group is broken down. */
    dash_opts_default(&o);
    assert_int_equal(testutil_dash_build(f->s, &q, &d, NULL), 0);
    t = table(d, "mix-shift");
    for (size_t i = 0; i < t->n_rows; i++) {
        assert_false(t->rows[i]->cells[col(t, "Skill")]->has_value);
        assert_string_equal(t->rows[i]->cells[col(t, "Skill")]->text, DASH_SMALL_GROUP);
    }
    dash_free(d);
}

/* ---- Results ------------------------------------------------------------- */

static void test_results_my_coaching(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = must(f, "flm.a", AUTH_FRONT_LINE, K_MY_COACHING, "flm.a", 0);
    const Coachq__V1__Table *t = table(d, "team-results");
    const char *l1 = "Team result 1 quarter later";
    const char *l2 = "Team result 2 quarters later";
    const char *q = "Quarter";

    assert_non_null(strstr(t->title, "correlation, not causation"));
    assert_non_null(strstr(t->note, "Correlation, not causation"));
    /* 2023-Q4: quality 2.00 (n 3); 2024-Q1's team: rep.1 and rep.2 on
     * its last day (rep.m had left), (0.30 + 0.50) / 2. */
    expect_num(cell2(t, q, "2023-Q4", "Metric", "win_rate", "Quality index"), 2.0, 3, "2.00");
    expect_num(cell2(t, q, "2023-Q4", "Metric", "win_rate", l1), 0.40, 2, "0.40");
    assert_string_equal(cell2(t, q, "2023-Q4", "Metric", "win_rate", l2)->text, "quarter not over");
    /* 2023-Q3: 2023-Q4's team held rep.m: (0.20 + 0.40 + 0.60) / 3. */
    expect_num(cell2(t, q, "2023-Q3", "Metric", "win_rate", l1), 0.40, 3, NULL);
    expect_num(cell2(t, q, "2023-Q3", "Metric", "win_rate", l2), 0.40, 2, NULL);
    expect_insufficient(cell2(t, q, "2023-Q3", "Metric", "win_rate", "Quality index"), 0);
    /* The last whole quarter has no result after it yet: not a row. */
    for (size_t i = 0; i < t->n_rows; i++) {
        assert_string_not_equal(t->rows[i]->cells[col(t, q)]->text, "2024-Q1");
        assert_string_not_equal(t->rows[i]->cells[col(t, q)]->text, "2023-Q2");
    }
    dash_free(d);

    /* flm.e's team of one is theirs to see (they are in rep.m's line). */
    d = must(f, "flm.e", AUTH_FRONT_LINE, K_MY_COACHING, "flm.e", 0);
    t = table(d, "team-results");
    expect_num(cell2(t, q, "2023-Q4", "Metric", "win_rate", l1), HIDDEN, 1, NULL);
    dash_free(d);
}

static void test_results_my_managers(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "slm.a", 0);
    const Coachq__V1__Table *t = table(d, "team-results");
    const char *l1 = "Team result 1 quarter later";
    int rc;

    /* Rows per manager, quarter and metric. */
    expect_num(cell2(t, "Manager", "flm.a", "Quarter", "2023-Q4", l1), 0.40, 2, NULL);
    /* flm.b's team: rep.3 alone; slm.a is in rep.3's line. */
    expect_num(cell2(t, "Manager", "flm.b", "Quarter", "2023-Q4", l1), 0.70, 1, NULL);
    /* flm.e joined slm.a's line in 2024-Q2: their 2024-Q1 team result
     * (rep.m alone) is not slm.a's to see. */
    assert_string_equal(cell2(t, "Manager", "flm.e", "Quarter", "2023-Q4", l1)->text,
                        "not in this line");
    dash_free(d);
    /* The same on flm.e's My coaching opened by slm.a. */
    d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MY_COACHING, "flm.e", 0);
    t = table(d, "team-results");
    assert_string_equal(cell2(t, "Quarter", "2023-Q4", "Metric", "win_rate", l1)->text,
                        "not in this line");
    dash_free(d);
    /* A lead sees it; a peer front-line manager may not open the page. */
    d = must(f, "lead.a", AUTH_LEAD, K_MY_COACHING, "flm.e", 0);
    expect_num(cell2(table(d, "team-results"), "Quarter", "2023-Q4", "Metric", "win_rate", l1),
               HIDDEN, 1, NULL);
    dash_free(d);
    d = build(f, "flm.a", AUTH_FRONT_LINE, K_MY_COACHING, "flm.e", 0, &rc);
    assert_true(rc == -EACCES || rc == -ENOENT);
    assert_null(d);
}

/* Teams of short ids (sorted before every rep's in the outcomes' keys),
 * each with a figure of its team: enough of them that My managers' page of
 * two managers stops reading who has figures of their own before it
 * reaches the reps' (dash_result_subjects_read()). */
#define MANY_TEAMS 80

static int many_teams_cb(struct store_txn *t, void *arg)
{
    int rc = 0;

    (void)arg;
    for (int i = 0; i < MANY_TEAMS && rc == 0; i++) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;
        char id[8];

        snprintf(id, sizeof(id), "t%03d", i);
        rc = testutil_put_person(t, id, id, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.b");
        o.subject_id = id;
        o.team = 1;
        o.period = (char *)"2024-Q1";
        o.metric = (char *)"win_rate";
        o.value = 0.5;
        if (rc == 0) {
            rc = outcomes_put(t, &o, NULL);
        }
    }
    return rc;
}

/* The reps' figures stand in for their teams' whether who has figures of
 * their own was read for the page or not: with more stored subjects than
 * the page reads (its reps' after them), My managers shows the same team
 * results as test_results_my_managers. */
static void test_results_my_managers_many_subjects(void **state)
{
    struct testutil_store_fx *f = *state;
    const char *l1 = "Team result 1 quarter later";
    const Coachq__V1__Table *t;
    struct dash *d;

    assert_int_equal(store_exec(f->s, many_teams_cb, NULL), 0);
    d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "slm.a", 0);
    t = table(d, "team-results");
    expect_num(cell2(t, "Manager", "flm.a", "Quarter", "2023-Q4", l1), 0.40, 2, NULL);
    expect_num(cell2(t, "Manager", "flm.b", "Quarter", "2023-Q4", l1), 0.70, 1, NULL);
    assert_string_equal(cell2(t, "Manager", "flm.e", "Quarter", "2023-Q4", l1)->text,
                        "not in this line");
    dash_free(d);
}

/* flm.a's sessions_held in the window's months, beside metrics whose names
 * share its first letters or are its first letters, and a month before the
 * window. */
static const struct {
    const char *period;
    const char *metric;
    double value;
} HELD[] = {
    {"2024-05", "sessions_held", 10},         {"2024-06", "sessions_held", 5},
    {"2024-05", "sessions_held_target", 100}, {"2024-05", "sessions", 1000},
    {"2023-12", "sessions_held", 10000},
};

static int held_cb(struct store_txn *t, void *arg)
{
    int rc = 0;

    (void)arg;
    for (size_t i = 0; i < sizeof(HELD) / sizeof(HELD[0]) && rc == 0; i++) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;

        o.subject_id = (char *)"flm.a";
        o.period = (char *)HELD[i].period;
        o.metric = (char *)HELD[i].metric;
        o.value = HELD[i].value;
        rc = outcomes_put(t, &o, NULL);
    }
    return rc;
}

/* My managers' "Sessions held": flm.a's sessions_held of the months that
 * overlap the window summed (n: the figures), none of the other metrics'
 * or months'; flm.b has none. */
static void test_my_managers_sessions_held(void **state)
{
    struct testutil_store_fx *f = *state;
    const Coachq__V1__Table *t;
    struct dash *d;

    assert_int_equal(store_exec(f->s, held_cb, NULL), 0);
    d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "slm.a", 0);
    t = table(d, "managers");
    expect_num(cell(t, "flm.a", "Sessions held"), 15, 2, "15");
    assert_string_equal(cell(t, "flm.b", "Sessions held")->text, "no data");
    dash_free(d);
}

/* Reps rep.9 and rep.10 join flm.b's team with 2024-Q1 figures: their ids
 * differ in length, so the outcomes' key order (length, then bytes: rep.9
 * before rep.10) and strcmp()'s (rep.10 before rep.9) disagree. */
static int long_ids_cb(struct store_txn *t, void *arg)
{
    static const struct {
        const char *rep;
        double value;
    } reps[] = {{"rep.9", 0.40}, {"rep.10", 0.10}};
    int rc = 0;

    (void)arg;
    for (size_t i = 0; i < sizeof(reps) / sizeof(reps[0]) && rc == 0; i++) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;

        rc = testutil_put_person(t, reps[i].rep, reps[i].rep, 0, "flm.b");
        o.subject_id = (char *)reps[i].rep;
        o.period = (char *)"2024-Q1";
        o.metric = (char *)"win_rate";
        o.value = reps[i].value;
        if (rc == 0) {
            rc = outcomes_put(t, &o, NULL);
        }
    }
    return rc;
}

/* Who has figures of their own is looked up in the outcomes' key order:
 * flm.b's 2024-Q1 team is rep.3, rep.9 and rep.10, (0.70 + 0.40 + 0.10) /
 * 3, on My managers (read for the page) as on flm.b's My coaching (read
 * rep by rep). */
static void test_results_my_managers_id_lengths(void **state)
{
    struct testutil_store_fx *f = *state;
    const char *l1 = "Team result 1 quarter later";
    struct dash *d;

    assert_int_equal(store_exec(f->s, long_ids_cb, NULL), 0);
    d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "slm.a", 0);
    expect_num(cell2(table(d, "team-results"), "Manager", "flm.b", "Quarter", "2023-Q4", l1), 0.40,
               3, NULL);
    expect_num(cell2(table(d, "team-results"), "Manager", "flm.a", "Quarter", "2023-Q4", l1), 0.40,
               2, NULL);
    dash_free(d);
    d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MY_COACHING, "flm.b", 0);
    expect_num(cell2(table(d, "team-results"), "Quarter", "2023-Q4", "Metric", "win_rate", l1),
               0.40, 3, NULL);
    dash_free(d);
}

/* The quality read for the second shown quarter (2023-Q4) ends with the
 * week of its last Monday (2023-12-25): a session on Thursday 2023-12-28
 * counts in it. flm.a's 2023-Q4: 2, 2, 2 and 4, (6 + 4) / 4 = 2.5, n 4.
 * The read starts with the week that holds the first shown quarter's
 * first day, Saturday 2023-07-01, whose Monday is in 2023-Q2: a session
 * that Saturday counts in no quarter shown, so 2023-Q3 has none. */
static void test_results_last_week(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d;
    const Coachq__V1__Table *t;
    const char *q = "Quarter";

    observe(f, "flm.a", DAY_2023_12_28, 8, F_PROCESS, T_DEAL, 4, 4);
    observe(f, "flm.a", DAY_2023_07_01, 8, F_PROCESS, T_DEAL, 3, 3);
    d = must(f, "flm.a", AUTH_FRONT_LINE, K_MY_COACHING, "flm.a", 0);
    t = table(d, "team-results");
    expect_num(cell2(t, q, "2023-Q4", "Metric", "win_rate", "Quality index"), 2.5, 4, "2.50");
    expect_insufficient(cell2(t, q, "2023-Q3", "Metric", "win_rate", "Quality index"), 0);
    dash_free(d);
    d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "slm.a", 0);
    t = table(d, "team-results");
    expect_num(cell2(t, "Manager", "flm.a", q, "2023-Q4", "Quality index"), 2.5, 4, "2.50");
    expect_insufficient(cell2(t, "Manager", "flm.a", q, "2023-Q3", "Quality index"), 0);
    dash_free(d);
}

/* ---- The quality read from impact blocks ------------------------------ */

/* Days since 1970-01-01 of the first day of month m (1..12) of year y. */
static int32_t first_of_month(int y, int m)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int32_t d = 0;

    for (int i = 1970; i < y; i++) {
        d += (i % 4 == 0 && (i % 100 != 0 || i % 400 == 0)) ? 366 : 365;
    }
    for (int i = 1; i < m; i++) {
        d += mdays[i - 1] + (i == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
    }
    return d;
}

/* The Monday of day's week (1970-01-01 was a Thursday). */
static int32_t monday_of(int32_t day)
{
    return day - (day + 3) % 7;
}

/* A small deterministic generator, so that a failure can be replayed. */
static uint32_t next_rand(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 8;
}

#define QQ_FIRST_YEAR 2022
#define QQ_QUARTERS 13         /* 2022-Q1 .. 2025-Q1 */
#define QQ_SESSION_QUARTERS 10 /* sessions up to 2024-Q2 */

/* Quarter k since QQ_FIRST_YEAR's first: its first day. */
static int32_t qq_first(int k)
{
    return first_of_month(QQ_FIRST_YEAR + k / 4, 1 + 3 * (k % 4));
}

struct qq_session {
    int32_t day;
    uint32_t lo, hi;
};

static int qq_outcomes(struct store_txn *t, void *arg)
{
    int rc = 0;

    (void)arg;
    for (int k = 0; k < QQ_QUARTERS && rc == 0; k++) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;
        char period[16];

        snprintf(period, sizeof(period), "%d-Q%d", QQ_FIRST_YEAR + k / 4, 1 + k % 4);
        o.subject_id = (char *)"rep.3";
        o.period = period;
        o.metric = (char *)"pipeline_coverage";
        o.value = 10 + k;
        rc = outcomes_put(t, &o, NULL);
    }
    return rc;
}

/* flm.b's own page (My coaching, AGG_COACH) reads the quarters' quality
 * from the impact blocks: as of a day in every quarter from 2022-Q4 to
 * 2025-Q1 (the pages after TODAY's quarter built with a later today, so
 * that 2024-Q1 and 2024-Q2, which start on a Monday, are each the first
 * quarter shown), the two quarters shown start inside blocks of 16 weeks
 * at many offsets, and
 * each quarter's figure is the sessions whose week's Monday falls in it,
 * worked out here from the sessions themselves: random days, the Monday
 * of each quarter's first week, the Sunday of a quarter's last week (in
 * the next quarter, counted in the earlier one), and the day before a
 * quarter's first Monday. Quarters before the first session (no block in
 * the read) show n 0; so does flm.e, with no session at all. */
static void test_results_quality_blocks(void **state)
{
    struct testutil_store_fx *f = *state;
    static struct qq_session ss[400];
    size_t n = 0;
    uint32_t x = 28061;
    struct dash_opts opts;
    size_t shown = 0, with_value = 0;

    testutil_watchdog(120);
    dash_opts_default(&opts);
    assert_int_equal(store_exec(f->s, qq_outcomes, NULL), 0);
    /* Sessions from 2022-Q3 (none before: the first page's quarters have
     * no block) to the week before TODAY. */
    for (int k = 2; k < QQ_SESSION_QUARTERS; k++) {
        int32_t first = qq_first(k), mon = monday_of(first);

        if (mon < first) {
            mon += 7;
        }
        ss[n++] = (struct qq_session){mon, 1 + next_rand(&x) % 4, 1 + next_rand(&x) % 4};
        ss[n++] = (struct qq_session){mon - 1, 1 + next_rand(&x) % 4, 1 + next_rand(&x) % 4};
        ss[n++] = (struct qq_session){monday_of(first - 1) + 6, 1 + next_rand(&x) % 4,
                                      1 + next_rand(&x) % 4};
        for (int i = 0; i < 20; i++) {
            int32_t day = first + (int32_t)(next_rand(&x) % 91);

            ss[n++] = (struct qq_session){day, 1 + next_rand(&x) % 4, 1 + next_rand(&x) % 4};
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (ss[i].day >= TODAY - 7) {
            ss[i].day = TODAY - 7;
        }
        observe(f, "flm.b", ss[i].day, 8 + (int)(i % 10), F_PROCESS, T_DEAL, ss[i].lo, ss[i].hi);
    }
    /* The fixture's three of 3 on TODAY - 3, in 2024-Q2. */
    for (int i = 0; i < 3; i++) {
        ss[n++] = (struct qq_session){TODAY - 3, 3, 3};
    }
    for (int ku = 3; ku < QQ_QUARTERS; ku++) {
        int32_t until = qq_first(ku) + (int32_t)(next_rand(&x) % 90);
        struct testutil_dash_req q = {
            "flm.b",       AUTH_FRONT_LINE,
            K_MY_COACHING, "flm.b",
            NULL,          until,
            NULL,          (int64_t)(until > TODAY ? until : TODAY) * 86400 + 12 * 3600};
        struct dash *d = NULL;
        const Coachq__V1__Table *t;

        assert_int_equal(testutil_dash_build(f->s, &q, &d, NULL), 0);
        t = table(d, "team-results");
        for (int k = ku - 3; k < ku - 1; k++) {
            char label[16];
            uint64_t qn = 0;
            double qsum = 0;
            const Coachq__V1__Cell *c;

            for (size_t i = 0; i < n; i++) {
                int32_t mon = monday_of(ss[i].day);

                if (mon >= qq_first(k) && mon < qq_first(k + 1)) {
                    qn++;
                    qsum += (ss[i].lo + ss[i].hi) / 2.0;
                }
            }
            snprintf(label, sizeof(label), "%d-Q%d", QQ_FIRST_YEAR + k / 4, 1 + k % 4);
            c = cell2(t, "Quarter", label, "Metric", "pipeline_coverage", "Quality index");
            if (c->n != qn) {
                fail_msg("as of %d, %s: n %u, expected %u", (int)until, label, c->n, (unsigned)qn);
            }
            if (qn >= opts.min_n) {
                expect_num(c, qsum / (double)qn, (unsigned)qn, NULL);
                with_value++;
            } else {
                assert_false(c->has_value);
            }
            shown++;
        }
        dash_free(d);
    }
    assert_int_equal(shown, 2 * (QQ_QUARTERS - 3));
    assert_true(with_value >= 2 * (QQ_QUARTERS - 3) - 4);
    /* No session of flm.e at all: n 0 in both quarters shown. */
    {
        struct dash *d = must(f, "flm.e", AUTH_FRONT_LINE, K_MY_COACHING, "flm.e", 0);
        const Coachq__V1__Table *t = table(d, "team-results");

        expect_insufficient(cell2(t, "Quarter", "2023-Q4", "Metric", "win_rate", "Quality index"),
                            0);
        expect_insufficient(cell2(t, "Quarter", "2023-Q3", "Metric", "win_rate", "Quality index"),
                            0);
        dash_free(d);
    }
}

/* Every figure of every table of d with its n. */
struct figures {
    double v[4096];
    unsigned n[4096];
    size_t len;
};

static void collect(const struct dash *d, struct figures *fs)
{
    const Coachq__V1__Dashboard *m = dash_message(d);

    for (size_t i = 0; i < m->n_tables; i++) {
        for (size_t r = 0; r < m->tables[i]->n_rows; r++) {
            const Coachq__V1__TableRow *row = m->tables[i]->rows[r];

            for (size_t c = 0; c < row->n_cells; c++) {
                if (row->cells[c]->has_value && fs->len < 4096) {
                    fs->v[fs->len] = row->cells[c]->value;
                    fs->n[fs->len] = row->cells[c]->n;
                    fs->len++;
                }
            }
        }
    }
}

/* The attacker: slm.a and flm.a fetch every page they may open about
 * flm.a, flm.b and flm.e, as of days before, during and after rep.m's move
 * and flm.e's, and try each figure and each weighted difference of two
 * (the subtraction of dashboards.md, "Privacy") against rep.m's 2024-Q1
 * result, which neither of them may learn. */
static void test_results_privacy_attack(void **state)
{
    struct testutil_store_fx *f = *state;
    static const int32_t untils[] = {0,
                                     DAY_2024_02_15 - 10, /* Sunday 2024-02-11, before the move */
                                     DAY_2024_02_15 + 5,
                                     DAY_2024_03_31,
                                     DAY_2024_03_31 + 1,
                                     DAY_2024_04_01 + 20};
    static const struct {
        const char *user;
        unsigned roles;
        int kind;
        const char *subject;
    } pages[] = {
        {"slm.a", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "slm.a"},
        {"slm.a", AUTH_SECOND_LEVEL, K_MY_COACHING, "flm.a"},
        {"slm.a", AUTH_SECOND_LEVEL, K_MY_COACHING, "flm.b"},
        {"slm.a", AUTH_SECOND_LEVEL, K_MY_COACHING, "flm.e"},
        {"slm.a", AUTH_SECOND_LEVEL, K_MANAGER, "flm.e"},
        {"flm.a", AUTH_FRONT_LINE, K_MY_COACHING, "flm.a"},
    };
    struct figures *fs = calloc(1, sizeof(*fs));
    size_t tries = 0;

    assert_non_null(fs);
    for (size_t u = 0; u < sizeof(untils) / sizeof(untils[0]); u++) {
        for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
            int rc;
            struct dash *d = build(f, pages[p].user, pages[p].roles, pages[p].kind,
                                   pages[p].subject, untils[u], &rc);

            if (rc == 0) {
                collect(d, fs);
                dash_free(d);
            } else {
                /* Only a page about someone not yet in the line then. */
                assert_int_equal(rc, -EACCES);
            }
        }
    }
    assert_true(fs->len > 100);
    for (size_t i = 0; i < fs->len; i++) {
        assert_false(fabs(fs->v[i] - HIDDEN) < 1e-6);
        for (size_t j = 0; j < fs->len; j++) {
            double ni = fs->n[i], nj = fs->n[j];

            if (ni > nj && nj > 0) {
                double x = (ni * fs->v[i] - nj * fs->v[j]) / (ni - nj);

                if (fabs(x - HIDDEN) < 1e-6) {
                    fail_msg("%.6g (n %u) and %.6g (n %u) give %.6g", fs->v[i], fs->n[i], fs->v[j],
                             fs->n[j], x);
                }
                tries++;
            }
        }
    }
    assert_true(tries > 1000);
    free(fs);
}

/* ---- Every format ------------------------------------------------------- */

/* The text of b as a C string (NUL-terminated here; a second call adds a
 * second NUL after the first, which changes nothing). */
static const char *buf_text(struct buf *b)
{
    assert_int_equal(buf_append(b, "", 1), 0);
    return (const char *)b->data;
}

static void test_formats(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = must(f, "slm.a", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "slm.a", 0);
    const Coachq__V1__Dashboard *m = dash_message(d);
    struct render_ctx ctx = {
        "slm.a", "slm.a", AUTH_SECOND_LEVEL, "x", "/api/v1/dashboards/my-managers/slm.a", ""};
    struct buf b;

    buf_init(&b, 1u << 22);
    assert_int_equal(dashfmt_json(m, &b), 0);
    assert_non_null(strstr(buf_text(&b), "\"mix-focus\""));
    assert_non_null(strstr(buf_text(&b), "\"team-results\""));
    buf_free(&b);
    buf_init(&b, 1u << 22);
    assert_int_equal(dashfmt_csv(table(d, "quality-focus"), &b), 0);
    assert_non_null(strstr(buf_text(&b), "Skill 95% CI low"));
    assert_non_null(strstr(buf_text(&b), "1.55"));
    buf_free(&b);
    buf_init(&b, 1u << 22);
    assert_int_equal(dashfmt_text(m, 120, &b), 0);
    assert_non_null(strstr(buf_text(&b), "Coaching mix by session type"));
    assert_non_null(strstr(buf_text(&b), "correlation, not causation"));
    buf_free(&b);
    buf_init(&b, 1u << 22);
    assert_int_equal(render_dashboard(m, &ctx, &b), 0);
    assert_non_null(strstr(buf_text(&b), "Quality by coaching focus"));
    assert_non_null(strstr(buf_text(&b), "Whole line"));
    buf_free(&b);
    dash_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mix_my_managers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mix_manager_and_my_coaching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mix_shift, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_my_coaching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_my_managers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_my_managers_many_subjects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_my_managers_id_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_last_week, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_quality_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_results_privacy_attack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_my_managers_sessions_held, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
