/*
 * test_assign_bounds: the observation programme's answers stay bounded on a
 * large organisation, over TLS against a real coachqd: a draw of more
 * assignments than one answer carries says so (truncated, with the
 * totals), and a list of more open assignments than ASSIGN_LIST_MAX stops
 * there, says truncated and keeps the soonest due; `coachq assign --json`
 * says truncated with the counts as the text does. And "today" in these
 * answers is a local day: a ListAssignments answer's is the listed
 * observer's, a draw's default period day the organisation's, in zones
 * far from UTC (Pacific/Kiritimati, UTC+14; Pacific/Pago_Pago, UTC-11).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <lmdb.h>

#include "assign.h"
#include "client.h"
#include "day.h"
#include "people.h"
#include "store.h"
#include "testutil.h"

/* Front-line managers added to slm.eve's line: past ASSIGN_LIST_MAX and
 * the 500 one draw's answer carries. */
#define BIG_MANAGERS 1100

static int add_managers(struct store_txn *t, void *arg)
{
    char id[32];
    int rc = 0;

    (void)arg;
    for (size_t i = 0; i < BIG_MANAGERS && rc == 0; i++) {
        snprintf(id, sizeof(id), "flm.big%04zu", i);
        rc = testutil_put_person(t, id, NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.eve");
    }
    return rc;
}

/* The organisation with BIG_MANAGERS more managers and a plan of one
 * observation a month for slm.eve's line; the server started. */
static void big_org(struct testutil_org *org)
{
    static char out[16384], err[4096];
    struct store *s;

    testutil_org_make(org);
    s = testutil_store_open(org->data, 0);
    assert_int_equal(store_exec(s, add_managers, NULL), 0);
    store_close(s);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:slm.eve", "--rubric", "coaching-conversation",
                                         "--per-month", "1", "--data", org->data, NULL),
                     0);
    testutil_server_start(&org->srv, org->data, NULL);
}

static char cli_out[1 << 20];

/* Runs `coachq assignments --observer '*' extra` as user against org's
 * server into cli_out; it must exit 0. */
static void coachq_as(struct testutil_org *org, const char *user, const char *extra)
{
    char server[64], ca[600], cert[600], key[600], rel[128];

    snprintf(server, sizeof(server), "127.0.0.1:%d", org->srv.port);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    testutil_cert_path(cert, sizeof(cert), rel);
    snprintf(rel, sizeof(rel), "users/%s.key", user);
    testutil_cert_path(key, sizeof(key), rel);
    testutil_coachq(cli_out, sizeof(cli_out), 0, "--server", server, "--cert", cert, "--key", key,
                    "--ca", ca, "assignments", "--observer", "*", extra, NULL);
}

static Coachq__V1__AssignmentDrawResult *draw(struct client *c, int32_t period_day)
{
    Coachq__V1__DrawAssignments q = COACHQ__V1__DRAW_ASSIGNMENTS__INIT;
    Coachq__V1__AssignmentDrawResult *d = NULL;
    struct client_error e;

    q.plan_scope = "line:slm.eve";
    q.has_seed = 1;
    q.seed = 2026;
    q.period_day = period_day;
    assert_int_equal(client_draw_assignments(c, &q, &d, &e), 0);
    assert_non_null(d);
    assert_non_null(d->draw);
    return d;
}

static const json_t *member(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);

    if (v == NULL) {
        fail_msg("no \"%s\" in:\n%s", key, cli_out);
    }
    return v;
}

/* `coachq assign --dry-run --json` of a period with more assignments than
 * an answer carries: "truncated" with the shown and total counts, beside
 * the text output's note. */
static void check_draw_json(struct testutil_org *org, int32_t period_day)
{
    char server[64], ca[600], cert[600], key[600], day[16];
    json_error_t e;
    json_t *j;
    const json_t *dw;
    json_int_t total;

    snprintf(server, sizeof(server), "127.0.0.1:%d", org->srv.port);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    testutil_cert_path(cert, sizeof(cert), "users/lead.gil.crt");
    testutil_cert_path(key, sizeof(key), "users/lead.gil.key");
    day_format(period_day, day, sizeof(day));
    testutil_coachq(cli_out, sizeof(cli_out), 0, "--server", server, "--cert", cert, "--key", key,
                    "--ca", ca, "assign", "line:slm.eve", "--seed", "7", "--period", day,
                    "--dry-run", "--json", NULL);
    j = json_loads(cli_out, 0, &e);
    if (j == NULL) {
        fail_msg("not JSON (%s):\n%s", e.text, cli_out);
    }
    assert_true(json_is_true(member(j, "truncated")));
    assert_true(json_is_true(member(j, "dry_run")));
    dw = member(j, "draw");
    total = json_integer_value(member(dw, "assigned"));
    assert_true(total > BIG_MANAGERS);
    assert_int_equal(json_integer_value(member(j, "assignments_total")), total);
    assert_int_equal(json_integer_value(member(j, "assignments_shown")), 500);
    assert_int_equal(json_array_size(member(j, "assignments")), 500);
    assert_int_equal(json_integer_value(member(j, "unfilled_managers_shown")),
                     (json_int_t)json_array_size(member(j, "unfilled_managers")));
    assert_int_equal(json_integer_value(member(j, "unfilled_managers_total")),
                     json_integer_value(member(dw, "unfilled")));
    assert_string_equal(json_string_value(member(dw, "seed")), "7");
    assert_string_equal(json_string_value(member(dw, "plan")), "line:slm.eve");
    json_decref(j);
    /* The same draw in text ends with the note. */
    testutil_coachq(cli_out, sizeof(cli_out), 0, "--server", server, "--cert", cert, "--key", key,
                    "--ca", ca, "assign", "line:slm.eve", "--seed", "7", "--period", day,
                    "--dry-run", NULL);
    assert_non_null(strstr(cli_out, "truncated: showing 500 of "));
}

/* A draw of more than an answer carries: the first 500, the totals and
 * truncated; everything drawn is stored all the same. */
static void test_big_draw_answer_truncated(void **state)
{
    struct testutil_org *org = *state;
    Coachq__V1__AssignmentDrawResult *d;
    struct client *c;
    int32_t today = (int32_t)(time(NULL) / 86400);

    big_org(org);
    c = testutil_connect(&org->srv, "lead.gil", 0);
    d = draw(c, today);
    assert_true(d->draw->assigned > BIG_MANAGERS);
    assert_int_equal(d->n_assignments, 500);
    assert_true(d->truncated);
    assert_int_equal(d->unfilled_manager_count, d->n_unfilled_managers);
    coachq__v1__assignment_draw_result__free_unpacked(d, NULL);
    client_free(c);
    check_draw_json(org, today + 35);
    testutil_stop_clean(&org->srv);
}

/* `coachq assignments --json` of a cut list: stdout stays the bare array
 * (scripts parse it), and the error stream says it was cut. */
static void json_list_says_truncated(struct testutil_org *org)
{
    static char err[4096];
    char server[64], ca[600], cert[600], key[600], scratch[700];
    const char *bin = getenv("COACHQ");
    json_error_t je;
    json_t *j;

    assert_non_null(bin);
    snprintf(server, sizeof(server), "127.0.0.1:%d", org->srv.port);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    testutil_cert_path(cert, sizeof(cert), "users/lead.gil.crt");
    testutil_cert_path(key, sizeof(key), "users/lead.gil.key");
    snprintf(scratch, sizeof(scratch), "%s", org->dir);
    {
        const char *const argv[] = {bin,          "--server", server,   "--cert", cert,
                                    "--key",      key,        "--ca",   ca,       "assignments",
                                    "--observer", "*",        "--json", NULL};

        assert_int_equal(
            testutil_run_capture(scratch, NULL, argv, cli_out, sizeof(cli_out), err, sizeof(err)),
            0);
    }
    j = json_loads(cli_out, 0, &je);
    if (j == NULL) {
        fail_msg("not JSON (%s):\n%.400s", je.text, cli_out);
    }
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), ASSIGN_LIST_MAX);
    json_decref(j);
    if (strstr(err, "truncated: ") == NULL || strstr(err, "more are stored") == NULL) {
        fail_msg("no truncation note on stderr:\n%s", err);
    }
}

/* Two months drawn: more open assignments than one list carries. Every
 * observer's list stops at ASSIGN_LIST_MAX with truncated, and keeps the
 * soonest due (this month's) first. */
static void test_big_list_bounded_soonest_first(void **state)
{
    struct testutil_org *org = *state;
    Coachq__V1__AssignmentDrawResult *d;
    Coachq__V1__ListAssignments q = COACHQ__V1__LIST_ASSIGNMENTS__INIT;
    Coachq__V1__AssignmentList *l = NULL;
    struct client_error e;
    struct client *c;
    int32_t today = (int32_t)(time(NULL) / 86400), soon;

    big_org(org);
    c = testutil_connect(&org->srv, "lead.gil", 0);
    /* Next month first, so that storing order is not due order. */
    d = draw(c, today + 32);
    coachq__v1__assignment_draw_result__free_unpacked(d, NULL);
    d = draw(c, today);
    soon = d->draw->due_until_day;
    coachq__v1__assignment_draw_result__free_unpacked(d, NULL);

    q.observer_id = "*";
    assert_int_equal(client_assignments(c, &q, &l, &e), 0);
    assert_int_equal(l->n_assignments, ASSIGN_LIST_MAX);
    assert_true(l->truncated);
    for (size_t i = 0; i < l->n_assignments; i++) {
        assert_int_equal(l->assignments[i]->due_until_day, soon);
        assert_int_equal(l->assignments[i]->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    }
    coachq__v1__assignment_list__free_unpacked(l, NULL);
    l = NULL;

    /* Every status: bounded and truncated too, and the client says so. */
    q.all_statuses = 1;
    assert_int_equal(client_assignments(c, &q, &l, &e), 0);
    assert_true(l->n_assignments <= ASSIGN_LIST_MAX);
    assert_true(l->truncated);
    coachq__v1__assignment_list__free_unpacked(l, NULL);
    coachq_as(org, "lead.gil", "--all");
    assert_non_null(strstr(cli_out, "assignments (truncated: more are stored"));
    json_list_says_truncated(org);
    client_free(c);
    testutil_stop_clean(&org->srv);
}

/* How many keys database name of the closed store in dir holds. */
static size_t db_entries(const char *dir, const char *name)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat st;

    testutil_lmdb_begin(dir, MDB_RDONLY, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, name, 0, &dbi), 0);
    assert_int_equal(mdb_stat(txn, dbi, &st), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return st.ms_entries;
}

/* A past month drawn: its open assignments have lapsed. A list shows them
 * expired without writing anything; the next draw marks at most
 * ASSIGN_EXPIRE_BATCH of them expired, not all. */
static void test_lapsed_expired_in_batches(void **state)
{
    struct testutil_org *org = *state;
    Coachq__V1__AssignmentDrawResult *d;
    Coachq__V1__ListAssignments q = COACHQ__V1__LIST_ASSIGNMENTS__INIT;
    Coachq__V1__AssignmentList *l = NULL;
    struct client_error e;
    struct client *c;
    int32_t today = (int32_t)(time(NULL) / 86400);
    size_t past, now;

    big_org(org);
    c = testutil_connect(&org->srv, "lead.gil", 0);
    d = draw(c, today - 62);
    past = d->draw->assigned;
    assert_true(past > ASSIGN_EXPIRE_BATCH);
    coachq__v1__assignment_draw_result__free_unpacked(d, NULL);
    q.observer_id = "*";
    assert_int_equal(client_assignments(c, &q, &l, &e), 0);
    assert_int_equal(l->n_assignments, ASSIGN_LIST_MAX);
    for (size_t i = 0; i < l->n_assignments; i++) {
        assert_int_equal(l->assignments[i]->status,
                         COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED);
    }
    coachq__v1__assignment_list__free_unpacked(l, NULL);
    client_free(c);
    testutil_stop_clean(&org->srv);
    /* The list wrote nothing: every lapsed one is still indexed open. */
    assert_int_equal(db_entries(org->data, "asg_due"), past);
    assert_int_equal(db_entries(org->data, "asg_open"), past);

    testutil_server_start(&org->srv, org->data, NULL);
    c = testutil_connect(&org->srv, "lead.gil", 1);
    d = draw(c, today);
    now = d->draw->assigned;
    coachq__v1__assignment_draw_result__free_unpacked(d, NULL);
    client_free(c);
    testutil_stop_clean(&org->srv);
    assert_int_equal(db_entries(org->data, "asg_due"), past - ASSIGN_EXPIRE_BATCH + now);
    assert_int_equal(db_entries(org->data, "asg_obs_due"), past - ASSIGN_EXPIRE_BATCH + now);
    assert_int_equal(db_entries(org->data, "asg_open"), past - ASSIGN_EXPIRE_BATCH + now);
}

/* The local day of instant t in zone (by the C library's reading of the
 * system's tzdata, not coachq's). */
static int32_t libc_day(const char *zone, time_t t)
{
    struct tm tm;

    assert_int_equal(setenv("TZ", zone, 1), 0);
    tzset();
    assert_non_null(localtime_r(&t, &tm));
    assert_int_equal(unsetenv("TZ"), 0);
    tzset();
    return (int32_t)day_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                                   (unsigned)tm.tm_mday);
}

/* The list's today as user, listing observer (NULL: the caller's own),
 * checked against zone's day before and after the request (a midnight
 * may pass between them). Returns the day. */
static int32_t list_today(struct client *c, const char *observer, const char *zone)
{
    Coachq__V1__ListAssignments q = COACHQ__V1__LIST_ASSIGNMENTS__INIT;
    Coachq__V1__AssignmentList *l = NULL;
    struct client_error e;
    int32_t before = libc_day(zone, time(NULL)), after, today;

    q.observer_id = (char *)observer;
    assert_int_equal(client_assignments(c, &q, &l, &e), 0);
    after = libc_day(zone, time(NULL));
    today = l->today;
    coachq__v1__assignment_list__free_unpacked(l, NULL);
    if (today != before && today != after) {
        fail_msg("today %d is not %s's day %d", today, zone, before);
    }
    return today;
}

/* Today far from UTC: the organisation in Pacific/Kiritimati (UTC+14),
 * the observer alice in Pacific/Pago_Pago (UTC-11): their local days
 * differ from each other at every hour, and one of them from the UTC day.
 * ListAssignments says the listed observer's day (the caller's with '*':
 * the lead's, the organisation's); a draw without a period takes the
 * organisation's day, through the protocol and `coachqd assign`. */
static void test_today_local_day(void **state)
{
    static const char org_zone[] = "Pacific/Kiritimati", obs_zone[] = "Pacific/Pago_Pago";
    struct testutil_org *org = *state;
    Coachq__V1__AssignmentDrawResult *d;
    struct client *c;
    static char out[16384], err[4096];
    char want[64], f[16], u[16];
    int32_t o, a, from, until;

    testutil_org_make(org);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "org",
                                         "--time-zone", org_zone, "--data", org->data, NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "user",
                                         "zone", "--data", org->data, "alice", obs_zone, NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:slm.eve", "--rubric", "coaching-conversation",
                                         "--per-week", "1", "--data", org->data, NULL),
                     0);
    testutil_server_start(&org->srv, org->data, NULL);

    c = testutil_connect(&org->srv, "alice", 0);
    a = list_today(c, NULL, obs_zone);
    client_free(c);
    c = testutil_connect(&org->srv, "lead.gil", 0);
    assert_int_equal(list_today(c, "alice", obs_zone), a);
    o = list_today(c, "*", org_zone);
    /* The two zones are a day or two apart (the test runs at any hour). */
    assert_true(o > a);

    /* A week's plan drawn without a period: the week of the
     * organisation's day. It differs from UTC's week only late on a Sunday
     * (UTC), so this checks the path through the protocol; test_assign's
     * test_draw_org_today fixes the time and tells the zones apart. */
    d = draw(c, 0);
    assign_period(COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK, o, &from, &until);
    if (d->draw->due_from_day != from) {
        /* A midnight passed in the organisation's zone meanwhile. */
        o = libc_day(org_zone, time(NULL));
        assign_period(COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK, o, &from, &until);
    }
    assert_int_equal(d->draw->due_from_day, from);
    assert_int_equal(d->draw->due_until_day, until);
    coachq__v1__assignment_draw_result__free_unpacked(d, NULL);
    client_free(c);
    testutil_stop_clean(&org->srv);

    /* coachqd assign without --period: the same week. */
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign",
                                         "line:slm.eve", "--seed", "3", "--dry-run", "--data",
                                         org->data, NULL),
                     0);
    o = libc_day(org_zone, time(NULL));
    assign_period(COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK, o, &from, &until);
    day_format(from, f, sizeof(f));
    day_format(until, u, sizeof(u));
    snprintf(want, sizeof(want), "%s..%s", f, u);
    if (strstr(out, want) == NULL && strstr(err, want) == NULL) {
        fail_msg("expected the window %s in:\n%s%s", want, out, err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_big_draw_answer_truncated, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_big_list_bounded_soonest_first, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_today_local_day, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_lapsed_expired_in_batches, testutil_org_setup,
                                        testutil_org_teardown),
    };

    testutil_watchdog(240);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
