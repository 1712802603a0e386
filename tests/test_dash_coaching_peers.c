/*
 * My coaching's peers' average read from the managers' impact blocks
 * (query/dash_coaching.c, peer_cells_load()). A block lists every
 * behaviour any of its weeks rated, with zero figures in the weeks that
 * did not rate it; a peer counts towards a behaviour's cell only in a week
 * where it was rated. So a week in which a peer marked a behaviour "n/a"
 * must not lift that week's cell to the privacy minimum because the same
 * peer rated the behaviour in another week of the block.
 */
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
#include "auth.h"
#include "dash.h"
#include "dash_builder.h"
#include "dashfmt.h"
#include "people.h"
#include "store.h"
#include "testutil.h"

/* "Today": Wednesday 2024-06-12 12:00 UTC; its week starts Monday 19884. */
#define NOW_S ((int64_t)19886 * 86400 + 12 * 3600)
/* Two weeks that are over, in one impact block (agg_impact_block_of()). */
#define WEEK_A (19884 - 14)
#define WEEK_B (19884 - 7)
#define PRIVACY_MIN 3
#define NB 10

static const char *const PEERS[] = {"flm.p1", "flm.p2", "flm.p3"};

/* slm.x over the subject flm.s and its three peers; rep.1 under flm.s; the
 * observer obs.1 and the enablement lead lead.a who views the page. With
 * arg set, also rep.w, a rep under slm.x until the Monday after WEEK_B and
 * under flm.s from then on: in the line on the window's Sundays, not in
 * today's. */
static int build_org(struct store_txn *t, void *arg)
{
    int rc;
    rc = testutil_put_person(t, "slm.x", NULL, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL);
    if (rc == 0) {
        rc = testutil_put_person(t, "flm.s", NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
                                 "slm.x");
    }
    for (size_t i = 0; rc == 0 && i < sizeof(PEERS) / sizeof(PEERS[0]); i++) {
        rc = testutil_put_person(t, PEERS[i], NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
                                 "slm.x");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "rep.1", NULL, 0, "flm.s");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "obs.1", NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "lead.a", NULL, COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_rubric(t, "", 1);
    }
    if (rc == 0) {
        rc = testutil_put_cert(t, "obs.1", 19000, 21000, "lead.a");
    }
    if (rc == 0 && arg != NULL) {
        rc = testutil_put_person(t, "rep.w", NULL, 0, "slm.x");
    }
    if (rc == 0 && arg != NULL) {
        rc = people_line_put(t, "rep.w", "flm.s", WEEK_B + 7, NULL);
    }
    return rc;
}

/* build_org() with a fourth peer, flm.p4 under slm.x, who moves away to
 * slm.y from the day *arg (a Monday inside the window): in the line on the
 * Sundays before it, not in today's. */
static int build_org_p4(struct store_txn *t, void *arg)
{
    const int32_t *moves = arg;
    int rc = build_org(t, NULL);

    if (rc == 0) {
        rc = testutil_put_person(t, "slm.y", NULL, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER,
                                 NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "flm.p4", NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER,
                                 "slm.x");
    }
    if (rc == 0) {
        rc = people_line_put(t, "flm.p4", "slm.y", *moves, NULL);
    }
    return rc;
}

/* One observation of coach on day, every behaviour scored score, except
 * behaviour 0 marked "n/a" when na0 is set. */
static void observe(struct store *s, const char *coach, int32_t day, uint32_t score, int na0)
{
    struct testutil_obs o;

    testutil_obs_make(&o, coach, "rep.1", (int64_t)day * 86400 + 10 * 3600);
    for (size_t i = 0; i < o.o.n_ratings; i++) {
        o.r[i].score = score;
    }
    if (na0) {
        o.r[0].score = 0;
        o.r[0].not_applicable = 1;
    }
    assert_int_equal(testutil_store_submit(s, &o.o, "obs.1", NOW_S * 1000), 0);
}

static const Coachq__V1__Cell *cell(const Coachq__V1__Table *t, const char *first,
                                    const char *column)
{
    size_t c = t->n_columns;

    for (size_t i = 0; i < t->n_columns; i++) {
        if (strcmp(t->columns[i], column) == 0) {
            c = i;
        }
    }
    assert_true(c < t->n_columns);
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(t->rows[i]->cells[0]->text, first) == 0) {
            assert_true(c < t->rows[i]->n_cells);
            return t->rows[i]->cells[c];
        }
    }
    fail_msg("no row %s", first);
    return NULL;
}

/* Week A: the three peers observed, flm.p3 with behaviour 0 "n/a"; week B
 * (same block): flm.p3 alone, behaviour 0 rated. Behaviour 0's cell of
 * week A rests on two peers and week B's on one, so its peers' average is
 * withheld; behaviour 1's cell of week A rests on all three and shows. */
static void test_na_week_not_counted(void **state)
{
    struct testutil_store_fx *f = testutil_store_fx_new(build_org, NULL);
    struct dash_opts o;
    struct testutil_dash_req q = {
        "lead.a", AUTH_LEAD, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING,
        "flm.s",  NULL,      0,
        &o,       NOW_S};
    struct dash *d = NULL;
    const Coachq__V1__Table *t;
    const Coachq__V1__Cell *c0, *c1;

    (void)state;
    assert_int_equal(agg_impact_block_of(WEEK_A), agg_impact_block_of(WEEK_B));
    observe(f->s, "flm.p1", WEEK_A + 1, 1, 0);
    observe(f->s, "flm.p2", WEEK_A + 1, 4, 0);
    observe(f->s, "flm.p3", WEEK_A + 1, 2, 1);
    observe(f->s, "flm.p3", WEEK_B + 1, 3, 0);
    dash_opts_default(&o);
    o.privacy_min = PRIVACY_MIN;
    assert_int_equal(testutil_dash_build(f->s, &q, &d, NULL), 0);
    t = dashfmt_find_table(dash_message(d), "focus");
    assert_non_null(t);
    assert_int_equal(t->n_rows, NB);
    c0 = cell(t, testutil_behaviours[0], "Peers' average");
    assert_false(c0->has_value);
    assert_string_equal(c0->text, DASH_SMALL_GROUP);
    c1 = cell(t, testutil_behaviours[1], "Peers' average");
    assert_true(c1->has_value);
    assert_int_equal(c1->n, 3);
    assert_true(fabs(c1->value - 7.0 / 3.0) < 0.005);
    dash_free(d);
    testutil_store_fx_free(f);
}

/* The peers of the window's weeks are read from the lines of its Sundays;
 * who is also in today's line is answered from the first read of it, the
 * others are looked up. rep.w, under slm.x on WEEK_A's Sunday but not
 * today and no front-line manager, is no peer: behaviour 1's peers'
 * average rests on flm.p1, flm.p2 and flm.p3 alone. */
static void test_former_report_not_a_peer(void **state)
{
    int with_former = 1;
    struct testutil_store_fx *f = testutil_store_fx_new(build_org, &with_former);
    struct dash_opts o;
    struct testutil_dash_req q = {
        "lead.a", AUTH_LEAD, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING,
        "flm.s",  NULL,      0,
        &o,       NOW_S};
    struct dash *d = NULL;
    const Coachq__V1__Table *t;
    const Coachq__V1__Cell *c1;

    (void)state;
    observe(f->s, "flm.p1", WEEK_A + 1, 1, 0);
    observe(f->s, "flm.p2", WEEK_A + 1, 4, 0);
    observe(f->s, "flm.p3", WEEK_A + 1, 2, 0);
    observe(f->s, "rep.w", WEEK_A + 1, 3, 0);
    dash_opts_default(&o);
    o.privacy_min = PRIVACY_MIN;
    assert_int_equal(testutil_dash_build(f->s, &q, &d, NULL), 0);
    t = dashfmt_find_table(dash_message(d), "focus");
    assert_non_null(t);
    c1 = cell(t, testutil_behaviours[1], "Peers' average");
    assert_true(c1->has_value);
    assert_int_equal(c1->n, 3);
    assert_true(fabs(c1->value - 7.0 / 3.0) < 0.005);
    dash_free(d);
    testutil_store_fx_free(f);
}

/* A front-line manager who left the line inside the window is no longer in
 * today's line, so whether they are a peer is looked up rather than
 * answered from today's read: flm.p4, under slm.x until the Monday after
 * WEEK_B, still counts in WEEK_A, so behaviour 1's peers' average rests on
 * four peers. */
static void test_left_line_still_a_peer(void **state)
{
    int32_t moves = WEEK_B + 7;
    struct testutil_store_fx *f = testutil_store_fx_new(build_org_p4, &moves);
    struct dash_opts o;
    struct testutil_dash_req q = {
        "lead.a", AUTH_LEAD, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING,
        "flm.s",  NULL,      0,
        &o,       NOW_S};
    struct dash *d = NULL;
    const Coachq__V1__Table *t;
    const Coachq__V1__Cell *c1;

    (void)state;
    observe(f->s, "flm.p1", WEEK_A + 1, 1, 0);
    observe(f->s, "flm.p2", WEEK_A + 1, 4, 0);
    observe(f->s, "flm.p3", WEEK_A + 1, 2, 0);
    observe(f->s, "flm.p4", WEEK_A + 1, 3, 0);
    dash_opts_default(&o);
    o.privacy_min = PRIVACY_MIN;
    assert_int_equal(testutil_dash_build(f->s, &q, &d, NULL), 0);
    t = dashfmt_find_table(dash_message(d), "focus");
    assert_non_null(t);
    c1 = cell(t, testutil_behaviours[1], "Peers' average");
    assert_true(c1->has_value);
    assert_int_equal(c1->n, 4);
    assert_true(fabs(c1->value - 10.0 / 4.0) < 0.005);
    dash_free(d);
    testutil_store_fx_free(f);
}

/* A peer's weeks outside their time in the line are not theirs to count:
 * flm.p4 moves away on WEEK_B's Monday (a move on the Monday after WEEK_B
 * would leave no week that is over after it) and is rated in WEEK_B with
 * flm.p1 and flm.p2. WEEK_B's behaviour 1 cell rests on those two alone,
 * under the privacy minimum, so the peers' average is WEEK_A's four. */
static void test_weeks_out_of_line_not_counted(void **state)
{
    int32_t moves = WEEK_B;
    struct testutil_store_fx *f = testutil_store_fx_new(build_org_p4, &moves);
    struct dash_opts o;
    struct testutil_dash_req q = {
        "lead.a", AUTH_LEAD, COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING,
        "flm.s",  NULL,      0,
        &o,       NOW_S};
    struct dash *d = NULL;
    const Coachq__V1__Table *t;
    const Coachq__V1__Cell *c1;

    (void)state;
    observe(f->s, "flm.p1", WEEK_A + 1, 1, 0);
    observe(f->s, "flm.p2", WEEK_A + 1, 4, 0);
    observe(f->s, "flm.p3", WEEK_A + 1, 2, 0);
    observe(f->s, "flm.p4", WEEK_A + 1, 3, 0);
    observe(f->s, "flm.p1", WEEK_B + 1, 4, 0);
    observe(f->s, "flm.p2", WEEK_B + 1, 4, 0);
    observe(f->s, "flm.p4", WEEK_B + 1, 4, 0);
    dash_opts_default(&o);
    o.privacy_min = PRIVACY_MIN;
    assert_int_equal(testutil_dash_build(f->s, &q, &d, NULL), 0);
    t = dashfmt_find_table(dash_message(d), "focus");
    assert_non_null(t);
    c1 = cell(t, testutil_behaviours[1], "Peers' average");
    assert_true(c1->has_value);
    assert_int_equal(c1->n, 4);
    assert_true(fabs(c1->value - 10.0 / 4.0) < 0.005);
    dash_free(d);
    testutil_store_fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_na_week_not_counted),
        cmocka_unit_test(test_former_report_not_a_peer),
        cmocka_unit_test(test_left_line_still_a_peer),
        cmocka_unit_test(test_weeks_out_of_line_not_counted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
