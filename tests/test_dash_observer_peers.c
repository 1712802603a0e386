/* Tests of query/dash_observer.c's reads that stop or reuse early: the
 * other observers' lists are read only until every cell that can count has
 * privacy_min of them (count_peers()), a manager's line is read once for
 * the days it holds (part_line()), and the observer's parts are sorted
 * only when a list comes out of order. Each test's figures are worked out
 * by hand in its comment; every observation scores all ten behaviours
 * alike. */
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
#include "agg_int.h"
#include "dash.h"
#include "dashfmt.h"
#include "keys.h"
#include "people.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

/* "Today": Wednesday 2024-06-12 (day 19886), in the week of Monday 19884. */
#define TODAY 19886
#define MONDAY0 19884
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)
#define NB 10
#define K_OBSERVER COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER

static int32_t week(int i)
{
    return MONDAY0 - 7 * i;
}

/* slm.a over m1 and m2 until m1 moves to slm.b on week 3's Sunday, and
 * over m3; m4 has no manager. o1 is the page's observer, o2 to o6
 * the others, read in that order. */
static int org_cb(struct store_txn *t, void *arg)
{
    static const char *const obs[] = {"o1", "o2", "o3", "o4", "o5", "o6"};
    int changed = 0;
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
        rc = people_line_put(t, "m1", "slm.b", week(3) + 6, &changed);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "m2", NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.a");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "m3", NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.a");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "m4", NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "rep.1", NULL, 0, "m1");
    }
    if (rc == 0) {
        rc = testutil_put_rubric(t, "", 1);
    }
    for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]) && rc == 0; i++) {
        rc = testutil_put_person(t, obs[i], NULL, COACHQ__V1__ROLE__ROLE_OBSERVER, NULL);
        if (rc == 0) {
            rc = testutil_put_cert(t, obs[i], 19000, 21000, "admin");
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

/* observe() with every behaviour not applicable: an observation without
 * ratings. */
static void observe_na(struct testutil_store_fx *f, const char *observer, const char *coach,
                       int32_t day, int hour)
{
    struct testutil_obs o;

    testutil_obs_make(&o, coach, "rep.1", (int64_t)day * 86400 + hour * 3600);
    for (size_t i = 0; i < NB; i++) {
        o.r[i].score = 0;
        o.r[i].not_applicable = 1;
    }
    assert_int_equal(testutil_store_submit(f->s, &o.o, observer, NOW_S * 1000), 0);
}

static int setup(void **state)
{
    struct testutil_store_fx *f;

    testutil_watchdog(240);
    f = testutil_store_fx_new(org_cb, NULL);
    /* Week 4, before m1's move: o1 alone, on m1, m2 and m4. */
    observe(f, "o1", "m1", week(4), 8, 3);
    observe(f, "o1", "m2", week(4), 9, 2);
    observe(f, "o1", "m4", week(4), 10, 2);
    /* Week 3, whose Sunday is m1's first day under slm.b: o1 on both, m1's
     * other observers o2 and o3, m2's o2 alone. */
    observe(f, "o1", "m1", week(3), 8, 3);
    observe(f, "o1", "m2", week(3), 9, 2);
    observe(f, "o2", "m1", week(3) + 1, 8, 2);
    observe(f, "o3", "m1", week(3) + 1, 9, 2);
    observe(f, "o2", "m2", week(3) + 1, 10, 1);
    /* Week 2, after it: o1 on both; m1's other observers are o2 and o3,
     * m2's o4 and o5, the last two read. */
    observe(f, "o1", "m1", week(2), 8, 3);
    observe(f, "o1", "m2", week(2), 9, 2);
    observe(f, "o2", "m1", week(2) + 1, 8, 2);
    observe(f, "o3", "m1", week(2) + 1, 9, 2);
    observe(f, "o4", "m2", week(2) + 2, 8, 1);
    observe(f, "o5", "m2", week(2) + 2, 9, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    testutil_store_fx_free(*state);
    return 0;
}

/* o1's page, privacy_min 2, amendments open 7 days after a week. */
static struct dash *build(struct testutil_store_fx *f)
{
    struct dash_opts o;
    struct testutil_dash_req q = {"o1", AUTH_OBSERVER, K_OBSERVER, NULL, NULL, 0, &o, NOW_S};
    struct dash *d = NULL;

    dash_opts_default(&o);
    o.privacy_min = 2;
    o.amend_days = 7;
    assert_int_equal(testutil_dash_build(f->s, &q, &d, NULL), 0);
    return d;
}

/* The cell of column in the row of "observer-weeks" that starts with
 * first. */
static const Coachq__V1__Cell *week_cell(const struct dash *d, const char *first,
                                         const char *column)
{
    const Coachq__V1__Table *t = dashfmt_find_table(dash_message(d), "observer-weeks");
    size_t col = 0;

    assert_non_null(t);
    while (col < t->n_columns && strcmp(t->columns[col], column) != 0) {
        col++;
    }
    assert_true(col < t->n_columns);
    for (size_t i = 0; i < t->n_rows; i++) {
        if (t->rows[i]->n_cells > col && strcmp(t->rows[i]->cells[0]->text, first) == 0) {
            return t->rows[i]->cells[col];
        }
    }
    fail_msg("no row %s", first);
    return NULL;
}

/*
 * Week 2's drift counts both managers' cells: m1 has two other observers
 * (o2, o3: mean 2 against o1's 3) and m2 two (o4, o5: 1 against 2), so the
 * drift is (10 x 1 + 10 x 1) / 20 = 1 over 20 ratings. A read of the
 * others that stopped at privacy_min observers, or once some cell had
 * enough, would leave m2 without peers and the week "group too small".
 */
static void test_peers_read_until_every_cell_has_enough(void **state)
{
    struct dash *d = build(*state);
    const Coachq__V1__Cell *c;
    char day[16];

    c = week_cell(d, dash_day_text(week(2), day, sizeof(day)), "Severity drift");
    assert_true(c->has_value);
    assert_true(fabs(c->value - 1.0) < 1e-12);
    assert_int_equal(c->n, 20);
    c = week_cell(d, "Window", "Severity drift");
    assert_true(c->has_value);
    assert_true(fabs(c->value - 1.0) < 1e-12);
    /* Week 4 has no other observer: nothing to count, so nothing wanted. */
    c = week_cell(d, dash_day_text(week(4), day, sizeof(day)), "Severity drift");
    assert_false(c->has_value);
    assert_string_equal(c->text, "no other observer");
    dash_free(d);
}

/*
 * m1 reports to slm.a until week 3's Sunday and to slm.b from then on, m2
 * to slm.a throughout, m4 to nobody: week 4 has one line, week 2 two, the
 * window two. A line taken from m1's first answer whatever the week would
 * give week 2 one.
 */
static void test_line_follows_its_span(void **state)
{
    struct dash *d = build(*state);
    char day[16];

    assert_string_equal(
        week_cell(d, dash_day_text(week(4), day, sizeof(day)), "Lines observed")->text, "1");
    assert_string_equal(
        week_cell(d, dash_day_text(week(4), day, sizeof(day)), "Managers observed")->text, "3");
    assert_string_equal(
        week_cell(d, dash_day_text(week(2), day, sizeof(day)), "Lines observed")->text, "2");
    assert_string_equal(week_cell(d, "Window", "Lines observed")->text, "2");
    assert_string_equal(week_cell(d, "Window", "Managers observed")->text, "3");
    dash_free(d);
}

/*
 * m1's move falls on week 3's Sunday, the day a week's line is taken on:
 * m1 under slm.b and m2 under slm.a make week 3's lines two. m1's answer
 * for week 4 (slm.a) lasts to the Saturday before, so a span reused one
 * day past its end, or a line taken on the week's Monday, gives one.
 */
static void test_line_changes_on_a_sunday(void **state)
{
    struct dash *d = build(*state);
    char day[16];

    assert_string_equal(
        week_cell(d, dash_day_text(week(3), day, sizeof(day)), "Lines observed")->text, "2");
    assert_string_equal(
        week_cell(d, dash_day_text(week(3), day, sizeof(day)), "Managers observed")->text, "2");
    dash_free(d);
}

/*
 * Week 3: m1 has two other observers (o2, o3), m2 one (o2), privacy_min -
 * 1, so only m1's cell counts, one manager where privacy_min are needed:
 * "group too small". The week's figure would otherwise be m1's and m2's
 * drift over o2 and o3. This cell keeps the count of peers short, so every
 * other observer's list is read here.
 */
static void test_cell_short_of_peers(void **state)
{
    struct dash *d = build(*state);
    const Coachq__V1__Cell *c;
    char day[16];

    c = week_cell(d, dash_day_text(week(3), day, sizeof(day)), "Severity drift");
    assert_false(c->has_value);
    assert_string_equal(c->text, "group too small");
    /* The window pools week 2 alone. */
    c = week_cell(d, "Window", "Severity drift");
    assert_true(c->has_value);
    assert_true(fabs(c->value - 1.0) < 1e-12);
    assert_int_equal(c->n, 20);
    dash_free(d);
}

/* A coach-week value of coaching-conversation (manager m, week monday)
 * with a count of observers no sound value holds (one above its ratings'
 * count), the count stored before being want (a check of the fixture). */
struct count_damage {
    const char *m;
    int32_t monday;
    uint64_t want;
};

static void assert_week2(const struct dash *d);

static int count_damage_txn(struct store_txn *t, void *arg)
{
    const struct count_damage *cd = arg;
    struct keys_buf k;
    uint8_t buf[50];
    MDB_val v;

    assert_int_equal(
        agg_key(&k, AGG_COACH_WEEK, AGG_ORG_ALL, "coaching-conversation", 1, cd->monday), 0);
    keys_buf_raw(&k, cd->m, strlen(cd->m));
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k.b, k.len, &v), 0);
    assert_int_equal(v.mv_size, sizeof(buf));
    memcpy(buf, v.mv_data, sizeof(buf));
    /* The count (offset 42) one above the ratings' count (offset 10). */
    assert_int_equal(keys_get_le64(buf + 42), cd->want);
    keys_put_le64(buf + 42, keys_get_le64(buf + 10) + 1);
    return store_txn_put_raw(t, t->s->dbi_agg, k.b, k.len, buf, sizeof(buf), NULL);
}

/* Week 3 with o3 observing m2 without ratings: o3 is listed for m2 but
 * has no ratings of m2 in the pooled figures, so m2 still has one other
 * observer (o2), privacy_min - 1, and week 3 stays "group too small".
 * Counting o3 would show a figure resting on o2's scores of m2 alone. */
static void test_peer_without_ratings_is_not_counted(void **state)
{
    struct testutil_store_fx *f = *state;
    const Coachq__V1__Cell *c;
    struct dash *d;
    char day[16];

    observe_na(f, "o3", "m2", week(3) + 2, 11);
    d = build(f);
    c = week_cell(d, dash_day_text(week(3), day, sizeof(day)), "Severity drift");
    assert_false(c->has_value);
    assert_string_equal(c->text, "group too small");
    assert_week2(d);
    dash_free(d);
}

/* Takes the observer role from o6 (a person without a role now). */
static int demote_o6_txn(struct store_txn *t, void *arg)
{
    (void)arg;
    return testutil_put_person(t, "o6", NULL, 0, NULL);
}

/* o6 rates m2 in week 3 and then loses the observer role: o6's ratings
 * stay in the pooled figures, so o6 is m2's second other observer and
 * week 3 gets a figure, from the counts and, once m2's count is damaged,
 * from the lists alike (the lists of every observer who holds any, not
 * only of today's observers, which would leave m2 one short and week 3
 * "group too small"). */
static void test_former_observer_counts_on_both_paths(void **state)
{
    struct testutil_store_fx *f = *state;
    struct count_damage m2 = {"m2", week(3), 3};
    const Coachq__V1__Cell *c;
    struct dash *d;
    char day[16];
    double fast;
    uint32_t n;

    observe(f, "o6", "m2", week(3) + 2, 11, 1);
    assert_int_equal(store_exec(f->s, demote_o6_txn, NULL), 0);
    d = build(f);
    c = week_cell(d, dash_day_text(week(3), day, sizeof(day)), "Severity drift");
    assert_true(c->has_value);
    fast = c->value;
    n = c->n;
    assert_week2(d);
    dash_free(d);
    assert_int_equal(store_exec(f->s, count_damage_txn, &m2), 0);
    d = build(f);
    c = week_cell(d, dash_day_text(week(3), day, sizeof(day)), "Severity drift");
    assert_true(c->has_value);
    assert_true(fabs(c->value - fast) < 1e-12);
    assert_int_equal(c->n, n);
    assert_week2(d);
    dash_free(d);
}

/*
 * Damaged counts are unknown, so the page counts other observers from
 * their lists. m2's of week 3 (o2 alone, privacy_min - 1): week 3 stays
 * "group too small" (the damaged count would give m2's cell enough peers
 * and the week a figure resting on o2 alone). m1's of week 2 (o2 and o3):
 * week 2 keeps its drift of 1 (a reader taking a damaged count as none
 * would suppress it).
 */
static void test_damaged_count_reads_lists(void **state)
{
    struct testutil_store_fx *f = *state;
    const Coachq__V1__Cell *c;
    struct dash *d;
    char day[16];
    struct count_damage m2 = {"m2", week(3), 2};
    struct count_damage m1 = {"m1", week(2), 3};

    assert_int_equal(store_exec(f->s, count_damage_txn, &m2), 0);
    assert_int_equal(store_exec(f->s, count_damage_txn, &m1), 0);
    d = build(f);
    c = week_cell(d, dash_day_text(week(3), day, sizeof(day)), "Severity drift");
    assert_false(c->has_value);
    assert_string_equal(c->text, "group too small");
    assert_week2(d);
    dash_free(d);
}

/* Rewrites one observer's list of one week (coaching-conversation) as only
 * a damaged store holds it. */
struct damage {
    const char *observer;
    int32_t monday;
    const char *twice; /* a manager to name twice, in place; NULL: swap the first two */
};

static int damage_txn(struct store_txn *t, void *arg)
{
    const struct damage *dm = arg;
    struct keys_buf k;
    struct agg_seen l;
    struct agg_seen_ent e;
    struct agg_seen_ent *grown;
    MDB_val v;
    size_t i = 0;
    int rc;

    memset(&l, 0, sizeof(l));
    assert_int_equal(
        agg_key(&k, AGG_OBSERVER_WEEK, dm->observer, "coaching-conversation", 1, dm->monday), 0);
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k.b, k.len, &v), 0);
    assert_int_equal(agg_seen_decode(&l, v.mv_data, v.mv_size), 0);
    assert_true(l.n >= 2);
    if (dm->twice == NULL) {
        e = l.e[0];
        l.e[0] = l.e[1];
        l.e[1] = e;
    } else {
        while (i < l.n && strcmp(l.e[i].coach, dm->twice) != 0) {
            i++;
        }
        assert_true(i < l.n);
        grown = realloc(l.e, (l.n + 1) * sizeof(*l.e));
        assert_non_null(grown);
        l.e = grown;
        l.cap = l.n + 1;
        memmove(&l.e[i + 1], &l.e[i], (l.n - i) * sizeof(*l.e));
        l.n++;
    }
    rc = agg_seen_put(t, k.b, k.len, &l);
    agg_seen_free(&l);
    return rc;
}

/* Writes m4's line as reporting to themselves, which people_line_put()
 * refuses (a cycle of one): only a damaged store holds it. */
static int self_line_txn(struct store_txn *t, void *arg)
{
    struct keys_buf k;

    (void)arg;
    keys_buf_reset(&k);
    keys_buf_id(&k, "m4");
    keys_buf_day(&k, TESTUTIL_ORG_DAY);
    assert_int_equal(k.err, 0);
    return store_txn_put_raw(t, t->s->dbi_lines, k.b, k.len, "m4", 2, NULL);
}

/* m4 reporting to themselves is no line, as the first link of
 * people_chain_at() has it: week 4 keeps one line (slm.a, for m1 and m2)
 * where taking m4 as its own line would give two. */
static void test_manager_reporting_to_themselves(void **state)
{
    struct testutil_store_fx *f = *state;
    struct dash *d;
    char day[16];

    assert_int_equal(store_exec(f->s, self_line_txn, NULL), 0);
    d = build(f);
    assert_string_equal(
        week_cell(d, dash_day_text(week(4), day, sizeof(day)), "Lines observed")->text, "1");
    assert_string_equal(
        week_cell(d, dash_day_text(week(4), day, sizeof(day)), "Managers observed")->text, "3");
    assert_string_equal(week_cell(d, "Window", "Lines observed")->text, "2");
    dash_free(d);
}

/* Week 2's drift of 1 over 20 ratings and its two lines, as
 * test_peers_read_until_every_cell_has_enough() reads them. */
static void assert_week2(const struct dash *d)
{
    const Coachq__V1__Cell *c;
    char day[16];

    c = week_cell(d, dash_day_text(week(2), day, sizeof(day)), "Severity drift");
    assert_true(c->has_value);
    assert_true(fabs(c->value - 1.0) < 1e-12);
    assert_int_equal(c->n, 20);
    assert_string_equal(
        week_cell(d, dash_day_text(week(2), day, sizeof(day)), "Lines observed")->text, "2");
}

/* o1's list of week 2 with its two managers swapped (m2 before m1): the
 * parts are sorted when they do not come sorted, so week 2 keeps both
 * cells and its drift of 1 (parts left out of order fail the page's read
 * of the coach-week values, which takes the managers in id order: the
 * page is not built). */
static void test_list_out_of_order(void **state)
{
    struct testutil_store_fx *f = *state;
    struct damage dm = {"o1", week(2), NULL};
    struct dash *d;

    assert_int_equal(store_exec(f->s, damage_txn, &dm), 0);
    d = build(f);
    assert_week2(d);
    dash_free(d);
}

/* o1's own list of week 2 naming m1 twice: the window's managers keep m1
 * once (coach_ids()), so the page is built, the window counts m1, m2 and
 * m4 once each (a list of managers with m1 twice would give four) and week
 * 2 its two lines. Week 2's drift is left out, as main leaves it: the
 * second part of m1 has no coach-week figures of its own. */
static void test_own_list_names_manager_twice(void **state)
{
    struct testutil_store_fx *f = *state;
    struct damage dm = {"o1", week(2), "m1"};
    struct dash *d;
    char day[16];

    assert_int_equal(store_exec(f->s, damage_txn, &dm), 0);
    d = build(f);
    assert_string_equal(week_cell(d, "Window", "Managers observed")->text, "3");
    assert_string_equal(week_cell(d, "Window", "Lines observed")->text, "2");
    assert_string_equal(
        week_cell(d, dash_day_text(week(2), day, sizeof(day)), "Lines observed")->text, "2");
    assert_string_equal(
        week_cell(d, dash_day_text(week(2), day, sizeof(day)), "Severity drift")->text,
        "group too small");
    dash_free(d);
}

/* o2's list of week 3 naming m2 twice: o2 is still one other observer of
 * m2 that week, so m2's cell has one, privacy_min - 1, and week 3 stays
 * "group too small". Counting o2 twice would show a figure resting on
 * o2's scores of m2 alone. */
static void test_peer_list_names_manager_twice(void **state)
{
    struct testutil_store_fx *f = *state;
    struct damage dm = {"o2", week(3), "m2"};
    const Coachq__V1__Cell *c;
    struct dash *d;
    char day[16];

    assert_int_equal(store_exec(f->s, damage_txn, &dm), 0);
    d = build(f);
    c = week_cell(d, dash_day_text(week(3), day, sizeof(day)), "Severity drift");
    assert_false(c->has_value);
    assert_string_equal(c->text, "group too small");
    assert_week2(d);
    dash_free(d);
}

/*
 * A store where the read of the others stops early: in week 2, o1 rates
 * m1 (3) and m2 (2) and observes m3 without ratings; o2 rates m1 (2), m2
 * (1) and m3, o3 m1 (2) and m3, o4 m2 (1), o5 m1 (2) and m2 (1). Wanted
 * are m1's and m2's cells (m3's has no ratings of o1's). m1 has
 * privacy_min (2) peers after o3, m2 after o4, so o5's list is not read.
 */
static int setup_stop(void **state)
{
    struct testutil_store_fx *f;

    testutil_watchdog(240);
    f = testutil_store_fx_new(org_cb, NULL);
    observe(f, "o1", "m1", week(2), 8, 3);
    observe(f, "o1", "m2", week(2), 9, 2);
    observe_na(f, "o1", "m3", week(2), 10);
    observe(f, "o2", "m1", week(2) + 1, 8, 2);
    observe(f, "o2", "m2", week(2) + 1, 9, 1);
    observe(f, "o2", "m3", week(2) + 1, 10, 2);
    observe(f, "o3", "m1", week(2) + 2, 8, 2);
    observe(f, "o3", "m3", week(2) + 2, 9, 2);
    observe(f, "o4", "m2", week(2) + 3, 8, 1);
    observe(f, "o5", "m1", week(2) + 4, 8, 2);
    observe(f, "o5", "m2", week(2) + 4, 9, 1);
    *state = f;
    return 0;
}

/*
 * Week 2 counts m1 (3 against 2) and m2 (2 against 1): drift 1 over 20
 * ratings (others' 60), whether or not o5's list is read, as the stop
 * needs. m3's cell gets privacy_min peers after o3 too, but is not wanted:
 * counting it down would stop before o4, leave m2 with one peer and the
 * week "group too small".
 */
static void test_stop_skips_the_last_list(void **state)
{
    struct dash *d = build(*state);
    const Coachq__V1__Cell *c;
    char day[16];

    c = week_cell(d, dash_day_text(week(2), day, sizeof(day)), "Severity drift");
    assert_true(c->has_value);
    assert_true(fabs(c->value - 1.0) < 1e-12);
    assert_int_equal(c->n, 20);
    c = week_cell(d, "Window", "Severity drift");
    assert_true(c->has_value);
    assert_true(fabs(c->value - 1.0) < 1e-12);
    assert_string_equal(
        week_cell(d, dash_day_text(week(2), day, sizeof(day)), "Managers observed")->text, "3");
    dash_free(d);
}

int main(void)
{
    /* Each test has a store of its own: some damage it. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_peers_read_until_every_cell_has_enough, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_line_follows_its_span, setup, teardown),
        cmocka_unit_test_setup_teardown(test_line_changes_on_a_sunday, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cell_short_of_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_without_ratings_is_not_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_count_reads_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_former_observer_counts_on_both_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manager_reporting_to_themselves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_list_names_manager_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_list_names_manager_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_skips_the_last_list, setup_stop, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
