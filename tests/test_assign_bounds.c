/*
 * test_assign_bounds: the observation programme's answers stay bounded on a
 * large organisation, over TLS against a real coachqd: a draw of more
 * assignments than one answer carries says so (truncated, with the
 * totals), and a list of more open assignments than ASSIGN_LIST_MAX stops
 * there, says truncated and keeps the soonest due.
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
#include <lmdb.h>

#include "assign.h"
#include "client.h"
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
    testutil_stop_clean(&org->srv);
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

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_big_draw_answer_truncated, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_big_list_bounded_soonest_first, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_lapsed_expired_in_batches, testutil_org_setup,
                                        testutil_org_teardown),
    };

    testutil_watchdog(240);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
