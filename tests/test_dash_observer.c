/* Tests of query/dash_observer.c: "My reliability", an observer's own page
 * (dashboard 7): who may open it, the figures against values worked out by
 * hand in the comments, and the privacy rule played as an attacker (an
 * observer recovering another observer's scores, or one manager's scores by
 * others, by subtracting their own). Every observation scores all ten
 * behaviours alike, so a session's ten ratings share one score. */
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
#include "certs_cal.h"
#include "dash.h"
#include "dashfmt.h"
#include "people.h"
#include "store.h"
#include "testutil.h"

/* "Today": Wednesday 2024-06-12 (day 19886), in the week of Monday 19884. */
#define TODAY 19886
#define MONDAY0 19884
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)
#define NB 10
#define K_OBSERVER COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER
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

/* m1 and m2 report to slm.a, m3 to slm.b; o1 is the page's observer, o2
 * and o3 the others; all certified. */
static int org_cb(struct store_txn *t, void *arg)
{
    static const char *const obs[] = {"o1", "o2", "o3"};
    int rc;

    (void)arg;
    rc = testutil_put_person(t, "slm.a", NULL, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL);
    if (rc == 0) {
        rc = testutil_put_person(t, "slm.b", NULL, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER,
                                 NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "m1", NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.a");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "m2", NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.a");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "m3", NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.b");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "rep.1", NULL, 0, "m1");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "lead.a", NULL, COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_rubric(t, "", 1);
    }
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        rc = testutil_put_person(t, obs[i], NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
        if (rc == 0) {
            /* o1's certification ends 20 days after today. */
            rc = testutil_put_cert(t, obs[i], 19000, i == 0 ? TODAY + 20 : 21000, "admin");
        }
    }
    return rc;
}

/* Stores one observation of coach (coachee rep.1) by observer at day and
 * hour, every behaviour scored v, received now. */
static void observe(struct testutil_store_fx *f, const char *observer, const char *coach,
                    int32_t day, int hour, uint32_t v)
{
    testutil_observe_scored(f->s, observer, coach, day, hour, v, NOW_S * 1000);
}

/* A calibration reference and two failed attempts by o1 (exact 0.3), the
 * second differing from the first in one behaviour only (a wrong score for
 * another wrong one): the leads' page flags it as suspicious. */
static const uint32_t CAL_MASTER[NB] = {1, 2, 2, 3, 3, 3, 3, 4, 4, 4};
static const uint32_t CAL_POOR[NB] = {2, 3, 1, 3, 4, 2, 3, 3, 2, 4};
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
    const uint8_t *obs_id;
    int64_t at_ms;
};

static int calibrate_cb(struct store_txn *t, void *arg)
{
    const struct cal *c = arg;
    struct store_policy pol;

    store_policy_default(&pol);
    return certs_calibrate(t, "o1", CAL_REF, c->obs_id, c->at_ms, &pol, NULL);
}

/*
 * The weeks (o1's scores first, then the others'):
 *   week 5: o1 m2 2, nobody else: no other observer to compare with.
 *   week 4: o1 m1 3, m3 3; o2 m1 1, m3 2. Two managers but ONE other
 *           observer: o1 knows their own scores, so a drift would give
 *           o2's mean away. Not counted.
 *   week 3: o1 m1 4; o2 m1 2. One manager, one other observer. Not counted.
 *   week 2: o1 m1 3, m2 2; o2 m1 2, m2 1; o3 m1 2, m2 2. Two managers,
 *           each scored by two others: counted once the amendment window
 *           (7 days in build()) after its Sunday is over. m1: 3 - 2 = 1 (10
 *           ratings); m2: 2 - 1.5 = 0.5 (10 ratings): drift (10 + 5) / 20 =
 *           0.75, n = min(20, 40) = 20.
 *   week 1: o2 m1 4, nobody else: o1 rated nobody, so nothing on o1's
 *           weekly table, but it is in m1's window below.
 *   week 0 (today's, not over): o1 m1 2, m2 2; o2 m1 3; o3 m2 3.
 * The leads' figure compares window means: m1 o1 (3+4+3+2)/4 = 3 against
 * o2 and o3 (1+2+2+2+4+3)/6 = 7/3, weight 40 (40 x 2/3 = 80/3); m2 o1 2
 * against (1+2+3)/3 = 2, weight 30; m3 o1 3 against 2, weight 10: (80/3 +
 * 0 + 10) / 80 = 11/24, n = min(80, 60 + 30 + 10) = 80. Without week 1's
 * session (a window summed only over the weeks o1 rated m1) m1's others
 * would be 2 and the figure 0.625.
 */
static int setup(void **state)
{
    struct testutil_store_fx *f;
    struct testutil_obs o;
    struct cal c;

    testutil_watchdog(240);
    f = testutil_store_fx_new(org_cb, NULL);
    observe(f, "o1", "m2", week(5), 8, 2);
    observe(f, "o1", "m1", week(4), 8, 3);
    observe(f, "o1", "m3", week(4), 9, 3);
    observe(f, "o2", "m1", week(4) + 1, 8, 1);
    observe(f, "o2", "m3", week(4) + 1, 9, 2);
    observe(f, "o1", "m1", week(3), 8, 4);
    observe(f, "o2", "m1", week(3) + 1, 8, 2);
    observe(f, "o1", "m1", week(2), 8, 3);
    observe(f, "o1", "m2", week(2), 9, 2);
    observe(f, "o2", "m1", week(2) + 1, 8, 2);
    observe(f, "o2", "m2", week(2) + 1, 9, 1);
    observe(f, "o3", "m2", week(2) + 2, 9, 2);
    observe(f, "o3", "m1", week(2) + 2, 8, 2);
    observe(f, "o2", "m1", week(1) + 1, 8, 4);
    observe(f, "o1", "m1", week(0), 8, 2);
    observe(f, "o1", "m2", week(0), 9, 2);
    observe(f, "o2", "m1", week(0) + 1, 8, 3);
    observe(f, "o3", "m2", week(0) + 1, 9, 3);

    assert_int_equal(store_exec(f->s, put_ref_cb, NULL), 0);
    testutil_obs_make(&o, "ref-coach", "ref-rep", NOW_S - 86400);
    for (size_t i = 0; i < NB; i++) {
        o.r[i].score = CAL_POOR[i];
    }
    o.o.calibration_ref.data = (uint8_t *)CAL_REF;
    o.o.calibration_ref.len = sizeof(CAL_REF);
    c.obs_id = o.id;
    c.at_ms = (NOW_S - 3600) * 1000;
    assert_int_equal(testutil_store_submit(f->s, &o.o, "o1", c.at_ms), 0);
    assert_int_equal(store_exec(f->s, calibrate_cb, &c), 0);
    testutil_obs_make(&o, "ref-coach", "ref-rep", NOW_S - 86400);
    for (size_t i = 0; i < NB; i++) {
        o.r[i].score = CAL_POOR[i];
    }
    o.r[0].score = 3;
    o.o.calibration_ref.data = (uint8_t *)CAL_REF;
    o.o.calibration_ref.len = sizeof(CAL_REF);
    c.obs_id = o.id;
    c.at_ms = (NOW_S - 1800) * 1000;
    assert_int_equal(testutil_store_submit(f->s, &o.o, "o1", c.at_ms), 0);
    assert_int_equal(store_exec(f->s, calibrate_cb, &c), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    testutil_store_fx_free(*state);
    return 0;
}

/* The page with an amendment window of amend_days. */
static int build_amend(struct testutil_store_fx *f, const char *user, unsigned roles, int kind,
                       const char *subject, unsigned amend_days, struct dash **d)
{
    struct dash_opts o;
    struct testutil_dash_req q = {user, roles, kind, subject, NULL, 0, &o, NOW_S};

    dash_opts_default(&o);
    o.privacy_min = 2;
    o.amend_days = amend_days;
    return testutil_dash_build(f->s, &q, d, NULL);
}

static int build(struct testutil_store_fx *f, const char *user, unsigned roles, int kind,
                 const char *subject, struct dash **d)
{
    return build_amend(f, user, roles, kind, subject, 7, d);
}

static const Coachq__V1__Table *table(const struct dash *d, const char *id)
{
    const Coachq__V1__Table *t = dashfmt_find_table(dash_message(d), id);

    if (t == NULL) {
        fail_msg("no table %s", id);
    }
    return t;
}

static const Coachq__V1__TableRow *row(const Coachq__V1__Table *t, const char *first)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        if (t->rows[i]->n_cells > 0 && strcmp(t->rows[i]->cells[0]->text, first) == 0) {
            return t->rows[i];
        }
    }
    fail_msg("no row %s in %s", first, t->id);
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

static const char *day_text(int32_t day, char *buf)
{
    return dash_day_text(day, buf, 16);
}

/* Who may open whose page. */
static void test_access(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = NULL;

    /* An observer: their own (named or not), never another's, which is
     * answered as if it did not exist. */
    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, NULL, &d), 0);
    assert_string_equal(dash_message(d)->subject_id, "o1");
    dash_free(d);
    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, "o1", &d), 0);
    dash_free(d);
    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, "o2", &d), -ENOENT);
    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, "nobody", &d), -ENOENT);
    /* The leads' page stays closed to them. */
    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVERS, NULL, &d), -EACCES);
    /* Managers have no such page; a manager is not an observer's subject. */
    assert_int_equal(build(f, "m1", AUTH_FRONT_LINE, K_OBSERVER, "o1", &d), -EACCES);
    assert_int_equal(build(f, "slm.a", AUTH_SECOND_LEVEL, K_OBSERVER, "o1", &d), -EACCES);
    assert_int_equal(build(f, "lead.a", AUTH_LEAD, K_OBSERVER, "m1", &d), -ENOENT);
    /* Leads and administrators: anyone's. */
    assert_int_equal(build(f, "lead.a", AUTH_LEAD, K_OBSERVER, "o2", &d), 0);
    dash_free(d);
    assert_int_equal(build(f, "admin.z", AUTH_ADMIN, K_OBSERVER, "o3", &d), 0);
    dash_free(d);
}

/* The week-by-week table and the observer's row, worked out above. */
static void test_figures(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = NULL;
    const Coachq__V1__Table *t;
    const Coachq__V1__TableRow *r;
    char day[16];

    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, NULL, &d), 0);
    t = table(d, "observer-weeks");
    r = row(t, day_text(week(2), day));
    assert_string_equal(cell(t, r, "Sessions scored")->text, "2");
    assert_string_equal(cell(t, r, "Managers observed")->text, "2");
    assert_string_equal(cell(t, r, "Lines observed")->text, "1");
    assert_true(cell(t, r, "Severity drift")->has_value);
    ASSERT_NEAR(cell(t, r, "Severity drift")->value, 0.75, 1e-12);
    assert_int_equal(cell(t, r, "Severity drift")->n, 20);
    r = row(t, day_text(week(4), day));
    assert_string_equal(cell(t, r, "Lines observed")->text, "2");
    assert_false(cell(t, r, "Severity drift")->has_value);
    assert_string_equal(cell(t, r, "Severity drift")->text, "group too small");
    r = row(t, day_text(week(3), day));
    assert_false(cell(t, r, "Severity drift")->has_value);
    assert_string_equal(cell(t, r, "Severity drift")->text, "group too small");
    r = row(t, day_text(week(0), day));
    assert_false(cell(t, r, "Severity drift")->has_value);
    assert_string_equal(cell(t, r, "Severity drift")->text, "week not over");
    r = row(t, day_text(week(5), day));
    assert_string_equal(cell(t, r, "Sessions scored")->text, "1");
    assert_string_equal(cell(t, r, "Severity drift")->text, "no other observer");
    r = row(t, day_text(week(1), day));
    assert_string_equal(cell(t, r, "Sessions scored")->text, "0");
    assert_string_equal(cell(t, r, "Severity drift")->text, "");
    r = row(t, "Window");
    assert_string_equal(cell(t, r, "Sessions scored")->text, "8");
    assert_string_equal(cell(t, r, "Managers observed")->text, "3");
    assert_string_equal(cell(t, r, "Lines observed")->text, "2");
    ASSERT_NEAR(cell(t, r, "Severity drift")->value, 0.75, 1e-12);

    /* The row: the window's counted drift, calibration pass or fail only,
     * agreement with others withheld; certification ends in 20 days. */
    t = table(d, "reliability");
    assert_int_equal(t->n_rows, 1);
    r = t->rows[0];
    assert_string_equal(cell(t, r, "Certified")->text, "yes, ends in 20 days");
    assert_string_equal(cell(t, r, "Calibration exact")->text, "not passed (figures withheld)");
    assert_false(cell(t, r, "Calibration exact")->has_value);
    assert_false(cell(t, r, "Calibration within one")->has_value);
    assert_false(cell(t, r, "Calibration kappa")->has_value);
    assert_false(cell(t, r, "Double-coded exact")->has_value);
    assert_false(cell(t, r, "Double-coded kappa")->has_value);
    /* The leads' "suspicious" flag is not shown to the observer. */
    assert_string_equal(cell(t, r, "Calibration flag")->text, "");
    ASSERT_NEAR(cell(t, r, "Severity drift")->value, 0.75, 1e-12);
    assert_string_equal(cell(t, r, "Observations")->text, "8");
    ASSERT_NEAR(cell(t, r, "Coverage")->value, 1.0, 1e-12);
    dash_free(d);

    /* With a 14-day amendment window, week 2 (its Sunday 10 days ago) is
     * still open to o1's amendments: no drift anywhere yet. */
    assert_int_equal(build_amend(f, "o1", AUTH_OBSERVER, K_OBSERVER, NULL, 14, &d), 0);
    t = table(d, "observer-weeks");
    r = row(t, day_text(week(2), day));
    assert_false(cell(t, r, "Severity drift")->has_value);
    assert_string_equal(cell(t, r, "Severity drift")->text, "amendments open");
    r = row(t, "Window");
    assert_false(cell(t, r, "Severity drift")->has_value);
    t = table(d, "reliability");
    assert_false(cell(t, t->rows[0], "Severity drift")->has_value);
    dash_free(d);
}

/* A lead sees the leads' page's figures in the row, the same as theirs. */
static void test_lead_sees_leads_figures(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = NULL, *all = NULL;
    const Coachq__V1__Table *t, *ta;
    const Coachq__V1__TableRow *r, *ra;

    assert_int_equal(build(f, "lead.a", AUTH_LEAD, K_OBSERVER, "o1", &d), 0);
    assert_int_equal(build(f, "lead.a", AUTH_LEAD, K_OBSERVERS, NULL, &all), 0);
    t = table(d, "reliability");
    ta = table(all, "observers");
    r = t->rows[0];
    ra = row(ta, "o1");
    ASSERT_NEAR(cell(t, r, "Severity drift")->value, 11.0 / 24.0, 1e-12);
    assert_int_equal(cell(t, r, "Severity drift")->n, 80);
    assert_int_equal(r->n_cells, ra->n_cells);
    /* The row is the leads' row to the bit: My reliability sums the
     * managers' windows from its own weekly reads, the leads' page reads
     * them as window sums. */
    for (size_t i = 0; i < r->n_cells; i++) {
        assert_string_equal(r->cells[i]->text, ra->cells[i]->text);
        assert_int_equal(r->cells[i]->has_value, ra->cells[i]->has_value);
        assert_memory_equal(&r->cells[i]->value, &ra->cells[i]->value, sizeof(double));
        assert_int_equal(r->cells[i]->n, ra->cells[i]->n);
    }
    ASSERT_NEAR(cell(t, r, "Calibration exact")->value, 0.3, 1e-12);
    /* Leads keep the flag the observer's own page leaves empty. */
    assert_non_null(strstr(cell(t, r, "Calibration flag")->text,
                           "suspicious: one behaviour varied between attempts"));
    dash_free(d);
    dash_free(all);
}

/*
 * The attacker: o1 knows their own scores and tries to learn o2's (the
 * only other observer of m1 in weeks 3 and 4) or a manager's scores by
 * others. No figure on o1's page, in any table, may equal o2's mean in
 * week 3 (2) or week 4 (1.5 over m1 and m3), nor o1's mean minus it (2 and
 * 1.5), nor m1's peers' mean of week 2 alone (2, the difference 1): the only
 * drift figures are week 2's pooled 0.75 (two managers, two others).
 */
static void test_privacy_attack(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = NULL;
    const Coachq__V1__Dashboard *m;
    size_t checked = 0, points = 0;

    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, NULL, &d), 0);
    m = dash_message(d);
    for (size_t i = 0; i < m->n_tables; i++) {
        const Coachq__V1__Table *t = m->tables[i];

        for (size_t j = 0; j < t->n_rows; j++) {
            for (size_t k = 0; k < t->rows[j]->n_cells; k++) {
                const Coachq__V1__Cell *c = t->rows[j]->cells[k];

                if (!c->has_value || strstr(t->columns[k], "drift") == NULL) {
                    continue;
                }
                ASSERT_NEAR(c->value, 0.75, 1e-12);
                checked++;
            }
        }
    }
    for (size_t i = 0; i < m->n_charts; i++) {
        if (strstr(m->charts[i]->id, "drift") == NULL) {
            continue;
        }
        for (size_t s = 0; s < m->charts[i]->n_series; s++) {
            const Coachq__V1__Series *se = m->charts[i]->series[s];

            for (size_t k = 0; k < se->n_y; k++) {
                if (k < se->n_present && se->present[k]) {
                    ASSERT_NEAR(se->y[k], 0.75, 1e-12);
                    points++;
                }
            }
        }
    }
    /* Not vacuous: week 2, the Window row and the observer's row, and week
     * 2's point of the chart. */
    assert_int_equal(checked, 3);
    assert_int_equal(points, 1);
    dash_free(d);
}

/* Every drift figure of o1's page (table cells and chart points), as text,
 * so that two readings can be compared whole. */
static void drift_figures(struct dash *d, char *buf, size_t len)
{
    const Coachq__V1__Dashboard *m = dash_message(d);
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < m->n_tables; i++) {
        const Coachq__V1__Table *t = m->tables[i];

        for (size_t j = 0; j < t->n_rows; j++) {
            for (size_t k = 0; k < t->rows[j]->n_cells && k < t->n_columns; k++) {
                const Coachq__V1__Cell *c = t->rows[j]->cells[k];

                if (strstr(t->columns[k], "drift") != NULL && n < len) {
                    n += (size_t)snprintf(buf + n, len - n, "%s/%s:%d:%.17g:%u:%s;", t->id,
                                          t->rows[j]->cells[0]->text, (int)c->has_value, c->value,
                                          (unsigned)c->n, c->text);
                }
            }
        }
    }
    for (size_t i = 0; i < m->n_charts && n < len; i++) {
        if (strstr(m->charts[i]->id, "drift") == NULL) {
            continue;
        }
        for (size_t s = 0; s < m->charts[i]->n_series && n < len; s++) {
            const Coachq__V1__Series *se = m->charts[i]->series[s];

            for (size_t k = 0; k < se->n_y && n < len; k++) {
                int present = k < se->n_present && se->present[k];

                n += (size_t)snprintf(buf + n, len - n, "%s[%zu]:%d:%.17g;", m->charts[i]->id, k,
                                      present, present ? se->y[k] : 0.0);
            }
        }
    }
    assert_true(n < len);
}

/*
 * The attacker writes: o2 alone scored m3 in week 2 (1). o1 reads their
 * counted week 2, then adds a late session of m3 dated in week 2 (3), and
 * then amends it to rate only five behaviours, reading again each time.
 * Were m3's cell counted, the first write would move week 2 to (10 + 5 +
 * 10 x (3 - 1)) / 30 and the second to (10 + 5 + 5 x 2) / 25, and either
 * difference gives o2's mean on m3 away; a manager's cell needs privacy_min
 * other observers, so every drift figure stays exactly as it was. Runs
 * last: it writes to the shared store.
 */
static void test_write_attack(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d = NULL;
    struct testutil_obs o, am;
    static char before[16384], after[16384];
    const Coachq__V1__Table *t;
    char day[16];

    observe(f, "o2", "m3", week(2) + 1, 10, 1);
    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, NULL, &d), 0);
    drift_figures(d, before, sizeof(before));
    t = table(d, "observer-weeks");
    ASSERT_NEAR(cell(t, row(t, day_text(week(2), day)), "Severity drift")->value, 0.75, 1e-12);
    dash_free(d);

    /* A late submission: a session dated in the counted week. */
    testutil_obs_make(&o, "m3", "rep.1", (int64_t)week(2) * 86400 + 11 * 3600);
    for (size_t i = 0; i < NB; i++) {
        o.r[i].score = 3;
    }
    assert_int_equal(testutil_store_submit(f->s, &o.o, "o1", NOW_S * 1000), 0);
    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, NULL, &d), 0);
    t = table(d, "observer-weeks");
    assert_string_equal(cell(t, row(t, day_text(week(2), day)), "Sessions scored")->text, "3");
    drift_figures(d, after, sizeof(after));
    assert_string_equal(after, before);
    dash_free(d);

    /* An amendment within the window: half the behaviours set to n/a. */
    testutil_obs_make(&am, "m3", "rep.1", o.o.started_at);
    for (size_t i = 0; i < NB; i++) {
        am.r[i].score = i < NB / 2 ? 3 : 0;
        am.r[i].not_applicable = i >= NB / 2;
    }
    am.o.amends.data = o.id;
    am.o.amends.len = 16;
    assert_int_equal(testutil_store_submit(f->s, &am.o, "o1", NOW_S * 1000 + 1000), 0);
    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, NULL, &d), 0);
    drift_figures(d, after, sizeof(after));
    assert_string_equal(after, before);
    dash_free(d);
}

static int reveal_cb(struct store_txn *t, void *arg)
{
    Coachq__V1__CalibrationAnswer **ans = arg;
    struct store_policy pol;

    store_policy_default(&pol);
    return certs_reveal(t, "o1", CAL_REF, (NOW_S - 600) * 1000, &pol, ans);
}

/* My reliability's agreement with the master scores: nothing from attempts
 * never shown in full; once the latest is shown, its own figures, the same
 * as the calibration history's and as `coachq calibrate` showed; and only
 * ever the page's observer's own. */
static void test_my_calibration(void **state)
{
    struct testutil_store_fx *f = *state;
    Coachq__V1__CalibrationAnswer *ans = NULL;
    const Coachq__V1__Table *t, *h;
    const Coachq__V1__TableRow *r, *hr = NULL;
    struct dash *d = NULL, *hd = NULL;
    static const char *const figs[] = {"Exact", "Within one", "Kappa"};

    /* Two attempts, neither shown in full: an empty table, and the page
     * says where agreement with peers went. */
    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, NULL, &d), 0);
    t = table(d, "observer-calibration");
    assert_int_equal(t->n_rows, 0);
    assert_non_null(strstr(t->note, "shown to enablement leads and administrators only (privacy)"));
    assert_non_null(strstr(table(d, "reliability")->note,
                           "enablement leads and administrators only (privacy)"));
    dash_free(d);

    assert_int_equal(store_exec(f->s, reveal_cb, &ans), 0);
    assert_non_null(ans);
    assert_non_null(ans->result);
    assert_int_equal(build(f, "o1", AUTH_OBSERVER, K_OBSERVER, NULL, &d), 0);
    t = table(d, "observer-calibration");
    assert_int_equal(t->n_rows, 1);
    r = row(t, "coaching-conversation");
    assert_string_equal(cell(t, r, "Shown in full")->text, "1");
    assert_string_equal(cell(t, r, "Result")->text, "not passed");
    /* Hand-worked: 3 of the 10 behaviours equal the master's, 8 within one. */
    ASSERT_NEAR(cell(t, r, "Exact")->value, 0.3, 1e-12);
    ASSERT_NEAR(cell(t, r, "Within one")->value, 0.8, 1e-12);
    ASSERT_NEAR(cell(t, r, "Exact")->value, ans->result->exact, 1e-12);
    ASSERT_NEAR(cell(t, r, "Within one")->value, ans->result->within_one, 1e-12);
    ASSERT_NEAR(cell(t, r, "Kappa")->value, ans->result->kappa, 1e-12);

    /* The lead's calibration history, row of the attempt shown in full. */
    assert_int_equal(build(f, "lead.a", AUTH_LEAD, K_OBSERVERS, "o1", &hd), 0);
    h = table(hd, "calibration-history");
    for (size_t i = 0; i < h->n_rows; i++) {
        if (strcmp(cell(h, h->rows[i], "Shown in full")->text, "yes") == 0) {
            assert_null(hr);
            hr = h->rows[i];
        }
    }
    assert_non_null(hr);
    assert_string_equal(cell(t, r, "Latest shown")->text, cell(h, hr, "At")->text);
    for (size_t i = 0; i < sizeof(figs) / sizeof(figs[0]); i++) {
        assert_string_equal(cell(t, r, figs[i])->text, cell(h, hr, figs[i])->text);
        assert_int_equal(cell(t, r, figs[i])->n, cell(h, hr, figs[i])->n);
    }
    dash_free(hd);
    dash_free(d);

    /* Another observer's page shows none of o1's attempts. */
    assert_int_equal(build(f, "o2", AUTH_OBSERVER, K_OBSERVER, NULL, &d), 0);
    assert_int_equal(table(d, "observer-calibration")->n_rows, 0);
    dash_free(d);
    coachq__v1__calibration_answer__free_unpacked(ans, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access),
        cmocka_unit_test(test_figures),
        cmocka_unit_test(test_lead_sees_leads_figures),
        cmocka_unit_test(test_privacy_attack),
        cmocka_unit_test(test_write_attack),
        cmocka_unit_test(test_my_calibration),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
