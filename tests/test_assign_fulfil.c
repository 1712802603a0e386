/*
 * test_assign_fulfil: what becomes of the programme's assignments
 * (store/assign.h, admin/admin_assign.c). Fulfilment happens in the
 * record's transaction and refuses a forged, foreign, closed or expired
 * assignment naming observation.assignment_id (in a bare store and over
 * real TLS, with the real verbs); erasing an observer takes its
 * assignments; a store of schema 9 opens at the current schema and
 * `coachqd verify` passes; the verbs' usage errors. The draw itself is
 * test_assign.c; the organisation and the draw both use are
 * testutil_assign.c.
 */
#include <errno.h>
#include <inttypes.h>
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
#include "dash.h"
#include "dash_builder.h"
#include "erase.h"
#include "error.h"
#include "keys.h"
#include "obs.h"
#include "people.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "testutil_assign.h"
#include "uuid.h"
#include "zone.h"

/* ---- Erasure ------------------------------------------------------------------ */

struct list_call {
    const char *observer;
    int64_t now_ms; /* 0: NOW_MS */
    Coachq__V1__Assignment **l;
    size_t n;
};

static int list_txn(struct store_txn *t, void *arg)
{
    struct list_call *lc = arg;
    int truncated;

    return assign_list(t, lc->observer, 0, lc->now_ms != 0 ? lc->now_ms : NOW_MS, &lc->l, &lc->n,
                       &truncated);
}

/* An erased observer's assignments name the pseudonym, and their queue is
 * found under it: no assignment or index key keeps the id. */
static void test_erase_observer(void **state)
{
    struct plan_args pa = {"programme:p1", 0, 0, 0, 0, 2};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct erase_request er;
    struct draw_call d;
    struct list_call lc;
    size_t had = 0;

    (void)state;
    draw(f->s, "programme:p1", 31, 0, 1, &d);
    for (size_t i = 0; i < d.res.n; i++) {
        had += strcmp(d.res.asg[i]->observer_id, "obs.1") == 0;
    }
    assert_true(had > 0);
    assert_int_equal(testutil_erase(f->s, "obs.1", NOW_MS, &er), 0);
    memset(&lc, 0, sizeof(lc));
    lc.observer = "obs.1";
    assert_int_equal(store_view(f->s, list_txn, &lc), 0);
    assert_int_equal(lc.n, 0);
    assign_list_free(lc.l, lc.n);
    lc.observer = er.pseudonym;
    assert_int_equal(store_view(f->s, list_txn, &lc), 0);
    assert_int_equal(lc.n, had);
    for (size_t i = 0; i < lc.n; i++) {
        assert_string_equal(lc.l[i]->observer_id, er.pseudonym);
    }
    assign_list_free(lc.l, lc.n);
    lc.observer = NULL;
    assert_int_equal(store_view(f->s, list_txn, &lc), 0);
    assert_int_equal(lc.n, d.res.n);
    for (size_t i = 0; i < lc.n; i++) {
        assert_string_not_equal(lc.l[i]->observer_id, "obs.1");
    }
    assign_list_free(lc.l, lc.n);
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

/* ---- Fulfilment in a bare store ------------------------------------------- */

static int get_obs(struct store *s, const uint8_t id[16])
{
    Coachq__V1__StoredObservation *rec = NULL;
    int rc = store_get(s, id, &rec);

    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc;
}

static void test_fulfilment(void **state)
{
    struct plan_args pa = {"line:slm.b", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct draw_call d;
    struct testutil_obs o;
    const Coachq__V1__Assignment *x, *y;
    Coachq__V1__Assignment *a;
    uint8_t forged[16];
    int64_t in_window = (int64_t)(DAY + 2) * 86400;

    (void)state;
    draw(f->s, "line:slm.b", 5, 0, 1, &d);
    assert_int_equal(d.res.n, 2);
    x = d.res.asg[0];
    y = d.res.asg[1];

    /* A forged id: refused, nothing stored. */
    assert_int_equal(uuid_generate(forged), 0);
    testutil_obs_make(&o, x->manager_id, "rep.1", in_window);
    o.o.assignment_id.data = forged;
    o.o.assignment_id.len = 16;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, in_window * 1000),
                     ERROR_REFUSED);
    assert_int_equal(get_obs(f->s, o.id), -ENOENT);

    /* Another observer's assignment: refused. */
    if (strcmp(x->observer_id, y->observer_id) != 0) {
        testutil_obs_make(&o, y->manager_id, "rep.1", in_window);
        o.o.assignment_id = y->id;
        assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, in_window * 1000),
                         ERROR_REFUSED);
        assert_int_equal(get_obs(f->s, o.id), -ENOENT);
    }
    /* The right one for another coach: refused. */
    testutil_obs_make(&o, y->manager_id, "rep.1", in_window);
    o.o.assignment_id = x->id;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, in_window * 1000),
                     ERROR_REFUSED);

    /* An observation of the manager after the window closed (submitted
     * later, session outside): stored, the assignment not fulfilled. */
    testutil_obs_make(&o, y->manager_id, "rep.1", (int64_t)(DAY + 40) * 86400);
    assert_int_equal(
        testutil_store_submit(f->s, &o.o, y->observer_id, (int64_t)(DAY + 40) * 86400000), 0);
    a = reread(f->s, y->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* Naming it explicitly once expired: refused. */
    testutil_obs_make(&o, y->manager_id, "rep.1", in_window);
    o.o.assignment_id = y->id;
    assert_int_equal(
        testutil_store_submit(f->s, &o.o, y->observer_id, (int64_t)(DAY + 40) * 86400000),
        ERROR_REFUSED);

    /* In the window without naming it: fulfilled by that observation. */
    testutil_obs_make(&o, x->manager_id, "rep.1", in_window);
    assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, in_window * 1000), 0);
    a = reread(f->s, x->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE);
    assert_int_equal(a->observation_id.len, 16);
    assert_memory_equal(a->observation_id.data, o.id, 16);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* Two more in October: x's manager by a certified observer without an
     * assignment, and y's manager by an observer certified for nothing
     * (which neither covers y's manager nor counts). */
    testutil_obs_make(&o, x->manager_id, "rep.1", in_window + 120);
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.1", (in_window + 120) * 1000), 0);
    testutil_obs_make(&o, y->manager_id, "rep.1", in_window + 240);
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.nocert", (in_window + 240) * 1000), 0);
    a = reread(f->s, y->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* Observer reliability's coverage against the plan, worked by hand:
     * two managers in line b. October's observations of the plan's rubric
     * by certified observers: two of x's manager (one fulfilled x), none of
     * y's (obs.nocert holds no certification; the one by y's observer is
     * in November). So 1 of 2 managers covered; two drawn, one done, none
     * expired, one still open on the 3rd; of the 2 counted observations, 1
     * is a done assignment's observation_id. (Counting every observation,
     * as before, gave 2 of 2 covered and min(done 1, observations 3).) */
    /* Programme impact carries the same table, from the same code. */
    for (int k = 0; k < 2; k++) {
        struct dash *dd = NULL;
        const Coachq__V1__Dashboard *m;
        const Coachq__V1__Table *tab = NULL;
        static const char *const want[] = {
            "line:slm.b: 1 a month", "2024-10-01..2024-10-31", "50% (1 of 2)", "2", "1", "0", "1",
            "50% (1 of 2)"};

        assert_int_equal(
            testutil_dash_as_lead(f->s,
                                  k == 0 ? COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS
                                         : COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME,
                                  DAY + 2, 0, (int64_t)(DAY + 2) * 86400 + 7200, &dd),
            0);
        m = dash_message(dd);
        for (size_t i = 0; i < m->n_tables; i++) {
            if (strcmp(m->tables[i]->id, "coverage-plans") == 0) {
                tab = m->tables[i];
            }
        }
        assert_non_null(tab);
        assert_int_equal(tab->n_rows, 1);
        assert_int_equal(tab->rows[0]->n_cells, 8);
        for (size_t i = 0; i < 8; i++) {
            assert_string_equal(tab->rows[0]->cells[i]->text, want[i]);
        }
        dash_free(dd);
    }
    /* A closed one named again: refused. */
    testutil_obs_make(&o, x->manager_id, "rep.1", in_window + 60);
    o.o.assignment_id = x->id;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, in_window * 1000 + 60000),
                     ERROR_REFUSED);
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

static int set_zone(struct store_txn *t, void *arg)
{
    const char *const *pz = arg;
    Coachq__V1__Person *p = NULL;
    int rc = people_get(t, pz[0], &p);

    if (rc == 0) {
        p->time_zone = (char *)pz[1];
        rc = people_put(t, p, NULL);
        p->time_zone = NULL;
    }
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

struct expire_call {
    int64_t now_ms;
    size_t n;
};

static int expire_txn(struct store_txn *t, void *arg)
{
    struct expire_call *e = arg;

    return assign_expire(t, e->now_ms, &e->n);
}

/* "Today" is the coach's: in a far-west zone, 17:30 local on the window's
 * last day (00:30 UTC the day after) the assignment is still open, listed
 * open, not expired, and fulfilled when named. */
static void test_far_west_today(void **state)
{
    struct plan_args pa = {"line:slm.b", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct draw_call d;
    struct testutil_obs o;
    struct list_call lc;
    struct expire_call e;
    const Coachq__V1__Assignment *x;
    Coachq__V1__Assignment *a;
    /* 2024-10-31, the window's last day; PDT is UTC-7. */
    const int64_t last = 20027;
    const int64_t session = last * 86400 + 22 * 3600;                /* 15:00 PDT */
    const int64_t now_ms = ((last + 1) * 86400 + 1800) * 1000;       /* 17:30 PDT */
    const int64_t later_ms = ((last + 1) * 86400 + 8 * 3600) * 1000; /* 01:00 PDT, Nov 1 */

    (void)state;
    for (size_t i = 0; i < sizeof(line_b) / sizeof(line_b[0]); i++) {
        const char *pz[2] = {line_b[i], "America/Los_Angeles"};

        assert_int_equal(store_exec(f->s, set_zone, (void *)pz), 0);
    }
    draw(f->s, "line:slm.b", 5, 0, 1, &d);
    assert_int_equal(d.res.n, 2);
    x = d.res.asg[0];
    assert_int_equal(x->due_until_day, last);

    /* Listed open, and not expired, in the coach's evening. */
    memset(&lc, 0, sizeof(lc));
    lc.observer = x->observer_id;
    lc.now_ms = now_ms;
    assert_int_equal(store_exec(f->s, list_txn, &lc), 0);
    assert_true(lc.n >= 1);
    for (size_t i = 0; i < lc.n; i++) {
        assert_int_equal(lc.l[i]->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    }
    assign_list_free(lc.l, lc.n);
    e.now_ms = now_ms;
    e.n = 99;
    assert_int_equal(store_exec(f->s, expire_txn, &e), 0);
    assert_int_equal(e.n, 0);

    /* Named then: stored, and the assignment done. */
    testutil_obs_make(&o, x->manager_id, "rep.1", session);
    o.o.assignment_id = x->id;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x->observer_id, now_ms), 0);
    assert_int_equal(get_obs(f->s, o.id), 0);
    a = reread(f->s, x->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE);
    coachq__v1__assignment__free_unpacked(a, NULL);

    /* Once the coach's day is over, the other expires. */
    e.now_ms = later_ms;
    assert_int_equal(store_exec(f->s, expire_txn, &e), 0);
    assert_int_equal(e.n, 1);
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

static int short_cert(struct store_txn *t, void *arg)
{
    (void)arg;
    return testutil_put_cert(t, "obs.nocert", 18000, DAY, "test");
}

/* The open-assignment index's entries, in *(size_t *)arg. */
static int open_count_txn(struct store_txn *t, void *arg)
{
    MDB_stat st;
    int rc = mdb_stat(t->txn, t->s->dbi_asg_open, &st);

    *(size_t *)arg = rc == 0 ? st.ms_entries : SIZE_MAX;
    return rc == 0 ? 0 : -EIO;
}

static size_t open_count(struct store *s)
{
    size_t n = SIZE_MAX;

    assert_int_equal(store_view(s, open_count_txn, &n), 0);
    return n;
}

struct candidate_call {
    const char *observer;
    const Coachq__V1__Observation *o;
    int maybe;
};

static int candidate_txn(struct store_txn *t, void *arg)
{
    struct candidate_call *c = arg;

    return assign_match_candidate(t, c->observer, c->o, 0, &c->maybe);
}

/* What assign_match_candidate() tells for o by observer. */
static int candidate(struct store *s, const char *observer, const Coachq__V1__Observation *o)
{
    struct candidate_call c = {observer, o, -1};

    assert_int_equal(store_view(s, candidate_txn, &c), 0);
    return c.maybe;
}

/* An unnamed record by asg's observer of its manager's session at at
 * (submitted 100 s later): stored, it is asg's observation and asg DONE. */
static void expect_fulfils(struct store *s, const Coachq__V1__Assignment *asg, int64_t at)
{
    struct testutil_obs o;
    Coachq__V1__Assignment *a;

    testutil_obs_make(&o, asg->manager_id, "rep.1", at);
    assert_int_equal(candidate(s, asg->observer_id, &o.o), 1);
    assert_int_equal(testutil_store_submit(s, &o.o, asg->observer_id, (at + 100) * 1000), 0);
    a = reread(s, asg->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE);
    assert_int_equal(a->observation_id.len, 16);
    assert_memory_equal(a->observation_id.data, o.id, 16);
    coachq__v1__assignment__free_unpacked(a, NULL);
}

/* The writer skips the zone reads and the match when no open assignment
 * could match: hundreds of unassigned records while the store holds no
 * open assignment, and more once it does (of other observers and
 * managers), are stored and fulfil nothing; the first record of a drawn
 * pair in the window still fulfils its assignment, unnamed, and so does
 * the last, after which the index is empty again and records go on being
 * stored. */
static void test_fulfil_after_unassigned(void **state)
{
    struct plan_args pa = {"line:slm.b", 0, 0, 0, 0, 1};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct draw_call d;
    struct testutil_obs o;
    const Coachq__V1__Assignment *x, *y;
    Coachq__V1__Assignment *a;
    const int64_t before = (int64_t)(DAY - 30) * 86400;
    const int64_t in_window = (int64_t)(DAY + 2) * 86400;
    const size_t nobs = sizeof(observers) / sizeof(observers[0]);

    (void)state;
    assert_int_equal(open_count(f->s), 0);
    testutil_obs_make(&o, "flm.b1", "rep.1", before);
    assert_int_equal(candidate(f->s, "obs.1", &o.o), 0);
    /* 240 unassigned records of every observer and line b manager, in the
     * month before, with no open assignment in the store. */
    for (size_t i = 0; i < 240; i++) {
        int64_t at = before + (int64_t)i * 600;

        testutil_obs_make(&o, line_b[i % 2], "rep.1", at);
        assert_int_equal(
            testutil_store_submit(f->s, &o.o, observers[(i / 2) % nobs], (at + 60) * 1000), 0);
        assert_int_equal(get_obs(f->s, o.id), 0);
    }

    draw(f->s, "line:slm.b", 5, 0, 1, &d);
    assert_int_equal(d.res.n, 2);
    x = d.res.asg[0];
    y = d.res.asg[1];
    assert_int_equal(open_count(f->s), 2);

    /* Open assignments now exist, but none of these pairs: observers that
     * hold none observe both managers, and line a's managers are observed
     * by everyone. None is a candidate; all are stored; x and y stay open. */
    for (size_t i = 0; i < 60; i++) {
        const char *obs = observers[i % nobs];
        int64_t at = in_window + (int64_t)i * 60;

        if (strcmp(obs, x->observer_id) == 0 || strcmp(obs, y->observer_id) == 0) {
            testutil_obs_make(&o, line_a[i % 4], "rep.1", at);
        } else {
            testutil_obs_make(&o, line_b[i % 2], "rep.1", at);
        }
        assert_int_equal(candidate(f->s, obs, &o.o), 0);
        assert_int_equal(testutil_store_submit(f->s, &o.o, obs, (at + 30) * 1000), 0);
    }
    a = reread(f->s, x->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);

    /* Naming an assignment is always a candidate (the full check refuses or
     * fulfils it), and a calibration attempt never is. */
    testutil_obs_make(&o, "flm.a1", "rep.1", in_window);
    o.o.assignment_id = x->id;
    assert_int_equal(candidate(f->s, "obs.nocert", &o.o), 1);
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.nocert", in_window * 1000),
                     ERROR_REFUSED);
    testutil_obs_make(&o, x->manager_id, "rep.1", in_window + 3600);
    o.o.calibration_ref.data = o.id;
    o.o.calibration_ref.len = 16;
    assert_int_equal(candidate(f->s, x->observer_id, &o.o), 0);
    o.o.calibration_ref.len = 0;
    assert_int_equal(candidate(f->s, x->observer_id, &o.o), 1);

    /* The drawn pair's first record in the window fulfils x, unnamed. */
    expect_fulfils(f->s, x, in_window + 7200);
    assert_int_equal(open_count(f->s), 1);

    /* And y's, the last open one; then the index is empty again. */
    expect_fulfils(f->s, y, in_window + 9000);
    assert_int_equal(open_count(f->s), 0);
    testutil_obs_make(&o, y->manager_id, "rep.1", in_window + 9900);
    assert_int_equal(candidate(f->s, y->observer_id, &o.o), 0);
    assert_int_equal(testutil_store_submit(f->s, &o.o, y->observer_id, (in_window + 9950) * 1000),
                     0);
    assert_int_equal(get_obs(f->s, o.id), 0);
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

/* A double-coded session fulfils one slot: two observers scoring the same
 * session (coach, coachee, start) of a manager with two assignments fulfil
 * one; the second naming its own is refused, and unnamed it is stored and
 * fulfils nothing. An observer whose certification ended before the
 * session's day fulfils nothing either. */
static void test_double_coded_and_cert(void **state)
{
    struct plan_args pa = {"line:slm.b", 0, 0, 0, 0, 2};
    struct testutil_store_fx *f = org_with_plan(&pa);
    struct draw_call d;
    struct testutil_obs o;
    struct reassign_call r;
    const Coachq__V1__Assignment *x1 = NULL, *x2 = NULL;
    Coachq__V1__Assignment *a;
    const int64_t at = (int64_t)(DAY + 2) * 86400;
    const int64_t rx_ms = (at + 600) * 1000;

    (void)state;
    draw(f->s, "line:slm.b", 11, 0, 1, &d);
    for (size_t i = 0; i < d.res.n; i++) {
        if (strcmp(d.res.asg[i]->manager_id, "flm.b1") == 0) {
            if (x1 == NULL) {
                x1 = d.res.asg[i];
            } else {
                x2 = d.res.asg[i];
            }
        }
    }
    assert_non_null(x1);
    assert_non_null(x2);
    assert_string_not_equal(x1->observer_id, x2->observer_id);

    /* The first observer's score of the session fulfils x1. */
    testutil_obs_make(&o, "flm.b1", "rep.1", at);
    o.o.assignment_id = x1->id;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x1->observer_id, rx_ms), 0);
    a = reread(f->s, x1->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* The second observer's score of the same session naming x2: refused. */
    testutil_obs_make(&o, "flm.b1", "rep.1", at);
    o.o.assignment_id = x2->id;
    assert_int_equal(testutil_store_submit(f->s, &o.o, x2->observer_id, rx_ms), ERROR_REFUSED);
    assert_int_equal(get_obs(f->s, o.id), -ENOENT);
    /* Unnamed: stored, x2 still open. */
    testutil_obs_make(&o, "flm.b1", "rep.1", at);
    assert_int_equal(testutil_store_submit(f->s, &o.o, x2->observer_id, rx_ms), 0);
    assert_int_equal(get_obs(f->s, o.id), 0);
    a = reread(f->s, x2->id.data);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);

    /* x2 to obs.nocert, certified on the window's first day only up to
     * DAY: a session on DAY + 2 fulfils nothing. */
    assert_int_equal(store_exec(f->s, short_cert, NULL), 0);
    memset(&r, 0, sizeof(r));
    memcpy(r.id, x2->id.data, 16);
    r.to = "obs.nocert";
    assert_int_equal(store_exec(f->s, reassign_txn, &r), 0);
    testutil_obs_make(&o, "flm.b1", "rep.1", at + 3600);
    o.o.assignment_id.data = r.new_id;
    o.o.assignment_id.len = 16;
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.nocert", rx_ms + 3600000),
                     ERROR_REFUSED);
    testutil_obs_make(&o, "flm.b1", "rep.1", at + 3600);
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.nocert", rx_ms + 3600000), 0);
    a = reread(f->s, r.new_id);
    assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN);
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* Certified on the day, a fresh session fulfils it. */
    {
        const char *other = strcmp(x1->observer_id, "obs.1") == 0 ? "obs.2" : "obs.1";

        memset(&r.fault, 0, sizeof(r.fault));
        memcpy(r.id, r.new_id, 16);
        r.to = other;
        assert_int_equal(store_exec(f->s, reassign_txn, &r), 0);
        testutil_obs_make(&o, "flm.b1", "rep.1", at + 7200);
        assert_int_equal(testutil_store_submit(f->s, &o.o, other, rx_ms + 7200000), 0);
        a = reread(f->s, r.new_id);
        assert_int_equal(a->status, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE);
        coachq__v1__assignment__free_unpacked(a, NULL);
    }
    assign_draw_result_clear(&d.res);
    testutil_store_fx_free(f);
}

/* ---- Over real TLS, with the real verbs ----------------------------------- */

/* The id and observer of the first open assignment of manager in the
 * output of `coachqd assignment list`. */
static void find_assignment(const char *out, const char *manager, uint8_t id[16], char *observer,
                            size_t len)
{
    char needle[100];
    const char *p, *line;

    snprintf(needle, sizeof(needle), "manager %s ", manager);
    p = strstr(out, needle);
    assert_non_null(p);
    line = p;
    while (line > out && line[-1] != '\n') {
        line--;
    }
    {
        char idtxt[UUID_STR_LEN];
        const char *o = strstr(line, "observer ");
        size_t n = 0;

        memcpy(idtxt, line, 36);
        idtxt[36] = '\0';
        assert_int_equal(uuid_parse(idtxt, id), 0);
        assert_non_null(o);
        o += strlen("observer ");
        while (o[n] != ' ' && n + 1 < len) {
            observer[n] = o[n];
            n++;
        }
        observer[n] = '\0';
    }
}

static void test_fulfil_over_tls(void **state)
{
    struct testutil_org *org = *state;
    static char out[16384], err[4096];
    char observer[65], other[65];
    uint8_t id[16], forged[16];
    struct testutil_obs o;
    struct client_submit_result r;
    Coachq__V1__Observation *one[1];
    struct client *c;
    int64_t now = (int64_t)time(NULL);

    testutil_org_make(org);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:slm.eve", "--rubric", "coaching-conversation",
                                         "--per-month", "1", "--off-own-line", "--data", org->data,
                                         NULL),
                     0);
    /* Set again as it is: unchanged, and no second audit entry. */
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:slm.eve", "--rubric", "coaching-conversation",
                                         "--per-month", "1", "--off-own-line", "--data", org->data,
                                         NULL),
                     0);
    assert_non_null(strstr(out, "(unchanged)"));
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "audit",
                                         "--data", org->data, NULL),
                     0);
    assert_non_null(strstr(out, "plan.set"));
    assert_null(strstr(strstr(out, "plan.set") + 1, "plan.set"));
    /* A disabled observer is never drawn. */
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "user",
                                         "disable", "carol", "--data", org->data, NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign",
                                         "line:slm.eve", "--seed", "2026", "--data", org->data,
                                         NULL),
                     0);
    assert_non_null(strstr(out, "seed 2026"));
    assert_non_null(strstr(out, "2 assigned, 0 unfilled"));
    assert_null(strstr(out, "carol"));
    assert_null(strstr(out, "obs.ben")); /* not certified */
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assignment",
                                         "list", "--data", org->data, NULL),
                     0);
    find_assignment(out, "flm.cara", id, observer, sizeof(observer));
    /* Reassigning to the disabled observer names the field, changes nothing. */
    {
        char idtxt[UUID_STR_LEN];

        assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err),
                                             "assignment", "reassign", uuid_format(id, idtxt),
                                             "carol", "--data", org->data, NULL),
                         1);
        assert_non_null(strstr(err, "observer_id"));
        assert_non_null(strstr(err, "disabled"));
    }
    snprintf(other, sizeof(other), "%s", strcmp(observer, "alice") == 0 ? "bob" : "alice");
    testutil_server_start(&org->srv, org->data, NULL);

    /* A forged id over TLS: refused naming the field. */
    c = testutil_connect(&org->srv, observer, 0);
    assert_int_equal(uuid_generate(forged), 0);
    testutil_obs_make(&o, "flm.cara", "rep.ida", now - 120);
    o.o.assignment_id.data = forged;
    o.o.assignment_id.len = 16;
    one[0] = &o.o;
    assert_int_equal(client_submit_many(c, one, 1, &r, NULL, NULL), 0);
    assert_int_not_equal(r.err.code, COACHQ__V1__CODE__OK);
    assert_string_equal(r.err.field, "observation.assignment_id");
    client_free(c);
    /* Another observer naming it: refused. */
    c = testutil_connect(&org->srv, other, 1);
    testutil_obs_make(&o, "flm.cara", "rep.ida", now - 120);
    o.o.assignment_id.data = id;
    o.o.assignment_id.len = 16;
    assert_int_equal(client_submit_many(c, one, 1, &r, NULL, NULL), 0);
    assert_string_equal(r.err.field, "observation.assignment_id");
    client_free(c);
    /* The assigned observer: stored, and the assignment done by it. */
    c = testutil_connect(&org->srv, observer, 2);
    testutil_obs_make(&o, "flm.cara", "rep.ida", now - 120);
    o.o.assignment_id.data = id;
    o.o.assignment_id.len = 16;
    assert_int_equal(client_submit_many(c, one, 1, &r, NULL, NULL), 0);
    assert_int_equal(r.err.code, COACHQ__V1__CODE__OK);
    client_free(c);
    testutil_stop_clean(&org->srv);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assignment",
                                         "list", "--all", "--data", org->data, NULL),
                     0);
    {
        char idtxt[UUID_STR_LEN], obstxt[UUID_STR_LEN], want[200];

        snprintf(want, sizeof(want), "%s  done", uuid_format(id, idtxt));
        assert_non_null(strstr(out, want));
        snprintf(want, sizeof(want), "observation %s", uuid_format(o.id, obstxt));
        assert_non_null(strstr(out, want));
    }
}

/* Runs the real client as user against org's server; returns its exit
 * status (expect as testutil_coachq()). */
static int coachq_as(struct testutil_org *org, const char *user, char *out, size_t outlen,
                     int expect, const char *a1, const char *a2, const char *a3, const char *a4,
                     const char *a5)
{
    char server[64], ca[600], cert[600], key[600], rel[128];

    snprintf(server, sizeof(server), "127.0.0.1:%d", org->srv.port);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    testutil_cert_path(cert, sizeof(cert), rel);
    snprintf(rel, sizeof(rel), "users/%s.key", user);
    testutil_cert_path(key, sizeof(key), rel);
    return testutil_coachq(out, outlen, expect, "--server", server, "--cert", cert, "--key", key,
                           "--ca", ca, a1, a2, a3, a4, a5, NULL);
}

/* A lead draws through the protocol; an observer reads their queue with
 * `coachq assignments`; others are refused. */
static void test_queue_and_draw_over_tls(void **state)
{
    struct testutil_org *org = *state;
    static char out[65536], out2[65536];
    const char *observers_eve[] = {"alice", "bob", "carol", "dave", "obs.ann"};
    size_t listed = 0;

    testutil_org_make(org);
    testutil_server_start(&org->srv, org->data, NULL);
    /* The plan set through the protocol by the lead; refused to others,
     * and a field-naming refusal for a bad one. */
    coachq_as(org, "alice", out, sizeof(out), 1, "plan", NULL, NULL, NULL, NULL);
    coachq_as(org, "slm.eve", out, sizeof(out), 1, "plan", NULL, NULL, NULL, NULL);
    coachq_as(org, "lead.gil", out, sizeof(out), 0, "plan", NULL, NULL, NULL, NULL);
    assert_non_null(strstr(out, "no coverage plan is set"));
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "plan", "line:flm.cara", "--rubric",
              "coaching-conversation", "--per-month=2");
    assert_non_null(strstr(out, "set_coverage_plan.plan.scope"));
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "plan", "line:slm.eve", "--rubric", "nope",
              "--per-month=2");
    assert_non_null(strstr(out, "set_coverage_plan.plan.rubric_id"));
    coachq_as(org, "lead.gil", out, sizeof(out), 2, "plan", "line:slm.eve", "--rubric",
              "coaching-conversation", NULL);
    coachq_as(org, "lead.gil", out, sizeof(out), 0, "plan", "line:slm.eve", "--rubric",
              "coaching-conversation", "--per-month=2");
    assert_non_null(strstr(out, "line:slm.eve: set"));
    assert_non_null(strstr(out, "2 per month, rubric coaching-conversation"));
    /* The same plan again, by another: unchanged, the first stamp kept. */
    coachq_as(org, "admin.hal", out, sizeof(out), 0, "plan", "line:slm.eve", "--rubric",
              "coaching-conversation", "--per-month=2");
    assert_non_null(strstr(out, "line:slm.eve: unchanged"));
    coachq_as(org, "admin.hal", out, sizeof(out), 0, "plan", "--json", NULL, NULL, NULL);
    assert_non_null(strstr(out, "\"set_by\": \"lead.gil\""));
    /* Not a lead: refused. */
    coachq_as(org, "alice", out, sizeof(out), 1, "assign", "line:slm.eve", "--seed", "5", NULL);
    coachq_as(org, "slm.eve", out, sizeof(out), 1, "assign", "line:slm.eve", "--seed", "5", NULL);
    /* A dry run twice: the same draw, nothing written. */
    coachq_as(org, "lead.gil", out, sizeof(out), 0, "assign", "line:slm.eve", "--seed", "77",
              "--dry-run");
    coachq_as(org, "lead.gil", out2, sizeof(out2), 0, "assign", "line:slm.eve", "--seed", "77",
              "--dry-run");
    assert_string_equal(out, out2);
    assert_non_null(strstr(out, "dry run, nothing written"));
    assert_non_null(strstr(out, "4 assigned"));
    coachq_as(org, "lead.gil", out2, sizeof(out2), 0, "assignments", "--observer", "*", NULL, NULL);
    assert_non_null(strstr(out2, "0 assignments"));
    /* The draw itself is the dry run's, then written. */
    coachq_as(org, "lead.gil", out2, sizeof(out2), 0, "assign", "line:slm.eve", "--seed", "77",
              NULL);
    assert_string_equal(out2, out + strlen("dry run, nothing written: "));
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "assign", "line:nobody", "--seed", "1", NULL);
    assert_non_null(strstr(out, "draw_assignments.plan_scope"));
    /* A period outside the years 2000-2099: refused naming it. */
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "assign", "line:slm.eve", "--period",
              "2100-01-01", NULL);
    assert_non_null(strstr(out, "draw_assignments.period_day"));
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "assign", "line:slm.eve", "--period",
              "1999-12-31", NULL);
    assert_non_null(strstr(out, "draw_assignments.period_day"));
    /* Every observer's queue holds only their own; together, the four. */
    for (size_t i = 0; i < sizeof(observers_eve) / sizeof(observers_eve[0]); i++) {
        const char *p;
        char want[100];

        coachq_as(org, observers_eve[i], out, sizeof(out), 0, "assignments", "--json", NULL, NULL,
                  NULL);
        snprintf(want, sizeof(want), "\"observer\": \"%s\"", observers_eve[i]);
        for (p = strstr(out, "\"observer\""); p != NULL; p = strstr(p + 1, "\"observer\"")) {
            assert_int_equal(strncmp(p, want, strlen(want)), 0);
            listed++;
        }
        /* Another observer's queue: refused. */
        coachq_as(org, observers_eve[i], out, sizeof(out), 1, "assignments", "--observer",
                  strcmp(observers_eve[i], "bob") == 0 ? "alice" : "bob", NULL, NULL);
    }
    assert_int_equal(listed, 4);
    coachq_as(org, "flm.cara", out, sizeof(out), 1, "assignments", NULL, NULL, NULL, NULL);
    /* observe --assignment: only one's own open assignment. */
    coachq_as(org, "alice", out, sizeof(out), 2, "observe", "--assignment",
              "0190f5a0-0000-7000-8000-000000000001", NULL, NULL);
    assert_non_null(strstr(out, "not one of your open assignments"));
    coachq_as(org, "alice", out, sizeof(out), 2, "observe", "--assignment", "nope", NULL, NULL);
    coachq_as(org, "alice", out, sizeof(out), 2, "observe", "--resume", "--assignment",
              "0190f5a0-0000-7000-8000-000000000001", NULL);
    coachq_as(org, "lead.gil", out, sizeof(out), 2, "assign", NULL, NULL, NULL, NULL);
    testutil_stop_clean(&org->srv);
}

/* A line of more front-line managers than one draw's slots at 31 a month. */
static int big_line(struct store_txn *t, void *arg)
{
    char id[32];
    int rc;

    (void)arg;
    rc = testutil_put_person(t, "slm.big", NULL, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, NULL);
    for (unsigned i = 0; rc == 0 && i <= ASSIGN_MAX_SLOTS / ASSIGN_MAX_PER_PERIOD; i++) {
        snprintf(id, sizeof(id), "flm.big%04u", i);
        rc = testutil_put_person(t, id, NULL, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, "slm.big");
    }
    return rc;
}

/* A plan larger than one draw handles: FAILED_PRECONDITION naming
 * draw_assignments.plan_scope, not "unavailable". */
static void test_draw_too_large_over_tls(void **state)
{
    struct testutil_org *org = *state;
    static char out[65536];
    struct store *s;

    testutil_org_make(org);
    s = testutil_store_open(org->data, 0);
    assert_int_equal(store_exec(s, big_line, NULL), 0);
    store_close(s);
    testutil_server_start(&org->srv, org->data, NULL);
    coachq_as(org, "lead.gil", out, sizeof(out), 0, "plan", "line:slm.big", "--rubric",
              "coaching-conversation", "--per-month=31");
    coachq_as(org, "lead.gil", out, sizeof(out), 1, "assign", "line:slm.big", "--seed", "1", NULL);
    assert_non_null(strstr(out, "draw_assignments.plan_scope"));
    assert_non_null(strstr(out, "larger than one draw"));
    testutil_stop_clean(&org->srv);
}

/* ---- Schema 9 to 10 ------------------------------------------------------- */

/* Turns the closed store in dir back into schema 9: no plan or assignment
 * databases. */
static void make_schema9(const char *dir)
{
    static const char *const dbs[] = {"plans",          "assignments", "asg_draws",  "asg_open",
                                      "asg_by_manager", "asg_due",     "asg_obs_due"};
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, dbi;
    MDB_val k, v;
    uint8_t ver[4] = {0, 0, 0, 9};

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    k.mv_data = (void *)"schema_version";
    k.mv_size = strlen("schema_version");
    v.mv_data = ver;
    v.mv_size = 4;
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        assert_int_equal(mdb_dbi_open(txn, dbs[i], 0, &dbi), 0);
        assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_schema9_upgrade(void **state)
{
    struct testutil_org *org = *state;
    static char out[16384], err[4096];

    testutil_org_make(org);
    make_schema9(org->data);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "verify",
                                         "--data", org->data, NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:slm.fay", "--rubric", "coaching-conversation",
                                         "--per-week", "1", "--data", org->data, NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign",
                                         "line:slm.fay", "--seed", "1", "--data", org->data, NULL),
                     0);
    assert_non_null(strstr(out, "1 assigned"));
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "verify",
                                         "--data", org->data, NULL),
                     0);
}

/* ---- Usage errors --------------------------------------------------------- */

static void test_usage_errors(void **state)
{
    struct testutil_org *org = *state;
    static char out[16384], err[4096];

    testutil_org_make(org);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "slm.eve", "--rubric", "coaching-conversation",
                                         "--per-month", "1", "--data", org->data, NULL),
                     2);
    assert_non_null(strstr(err, "scope"));
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:slm.eve", "--rubric", "coaching-conversation",
                                         "--per-month", "1", "--per-week", "1", "--data", org->data,
                                         NULL),
                     2);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "plan",
                                         "set", "line:flm.cara", "--rubric",
                                         "coaching-conversation", "--per-month", "1", "--data",
                                         org->data, NULL),
                     1);
    assert_non_null(strstr(err, "not a second-level manager"));
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign",
                                         "line:slm.eve", "--seed", "x", "--data", org->data, NULL),
                     2);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign",
                                         "line:slm.eve", "--data", org->data, NULL),
                     1);
    assert_non_null(strstr(err, "no coverage plan"));
    assert_int_equal(
        testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "assign", "--help", NULL),
        0);
    assert_non_null(strstr(out, "--seed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fulfilment),
        cmocka_unit_test(test_far_west_today),
        cmocka_unit_test(test_double_coded_and_cert),
        cmocka_unit_test(test_fulfil_after_unassigned),
        cmocka_unit_test(test_erase_observer),
        cmocka_unit_test_setup_teardown(test_fulfil_over_tls, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_queue_and_draw_over_tls, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_draw_too_large_over_tls, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_schema9_upgrade, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, testutil_org_setup,
                                        testutil_org_teardown),
    };

    testutil_watchdog(240);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
