/* Tests of store/agg.c: the dashboards' aggregates kept by the writer, their
 * values and layout in every scope, their take-back on amendment, double
 * coding, a back-dated enrolment and a session scored by many observers.
 * The coaching mix and the observer-coach values are test_agg_mix.c;
 * verify, repair and the schema upgrades are test_agg_upgrade.c; what they
 * share is testutil_agg.c. The organisation is the shared fixture
 * (testutil_seed_org(): fixtures/org.csv and certified observers alice,
 * bob, carol, dave, obs.ann; obs.ben is not certified). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cmocka.h>
#include <lmdb.h>

#include "agg.h"
#include "agg_int.h"
#include "audit.h"
#include "certs.h"
#include "keys.h"
#include "obs.h"
#include "people.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "testutil_agg.h"
#include "uuid.h"

/* T0's day. */
#define DAY0 20152

/* Fails unless a and b hold the same figures (behaviours by id). */
static void assert_same_week(const Coachq__V1__AggWeek *a, const Coachq__V1__AggWeek *b)
{
    assert_int_equal(a->observations, b->observations);
    assert_int_equal(a->seconds, b->seconds);
    assert_int_equal(a->index_n, b->index_n);
    assert_near(a->index_sum, b->index_sum);
    assert_near(a->index_sumsq, b->index_sumsq);
    assert_int_equal(a->self_assess_n, b->self_assess_n);
    assert_near(a->self_assess_s_sum, b->self_assess_s_sum);
    assert_int_equal(a->actions, b->actions);
    assert_int_equal(a->double_coded, b->double_coded);
    for (int i = 0; i < AGG_NMARKERS; i++) {
        assert_int_equal(marker(a, i), marker(b, i));
    }
    for (int i = 1; i <= 4; i++) {
        for (int j = 1; j <= 4; j++) {
            assert_int_equal(pair(a, i, j), pair(b, i, j));
        }
    }
    assert_int_equal(a->n_behaviours, b->n_behaviours);
    for (size_t i = 0; i < a->n_behaviours; i++) {
        const Coachq__V1__AggBehaviour *x = a->behaviours[i];
        const Coachq__V1__AggBehaviour *y = beh(b, x->id);

        assert_non_null(y);
        assert_int_equal(x->count, y->count);
        assert_near(x->sum, y->sum);
        assert_near(x->sumsq, y->sumsq);
        assert_int_equal(x->proficient, y->proficient);
    }
}

/* ---- Organisation helpers -------------------------------------------- */

static int enrol_fn(struct store_txn *t, void *arg)
{
    const char *person = arg;
    Coachq__V1__Programme p = COACHQ__V1__PROGRAMME__INIT;
    Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
    int rc;

    p.id = (char *)"p1";
    p.name = (char *)"Coaching for managers";
    rc = people_programme_put(t, &p, NULL);
    if (rc != 0) {
        return rc;
    }
    e.programme_id = (char *)"p1";
    e.cohort_id = (char *)"c1";
    e.cohort_start_day = DAY0 - 30;
    e.person_id = (char *)person;
    return people_enrolment_put(t, &e, NULL);
}

static void enrol(struct store *s, const char *person)
{
    assert_int_equal(store_exec(s, enrol_fn, (void *)person), 0);
}

/* flm.cara in 252 programmes p000..p251, cohort "c" of each: with its
 * other keys more than a contribution holds, even unassigned. */
static int enrol_many_fn(struct store_txn *t, void *arg)
{
    int rc = 0;

    (void)arg;
    for (int i = 0; i < 252 && rc == 0; i++) {
        Coachq__V1__Programme p = COACHQ__V1__PROGRAMME__INIT;
        Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
        char id[8];

        snprintf(id, sizeof(id), "p%03d", i);
        p.id = id;
        p.name = id;
        rc = people_programme_put(t, &p, NULL);
        if (rc == 0) {
            e.programme_id = id;
            e.cohort_id = (char *)"c";
            e.cohort_start_day = DAY0 - 30;
            e.person_id = (char *)"flm.cara";
            rc = people_enrolment_put(t, &e, NULL);
        }
    }
    return rc;
}

/* ---- Weeks ------------------------------------------------------------- */

static void test_weeks(void **state)
{
    char buf[16];

    (void)state;
    assert_int_equal(agg_week_of(DAY0), MON0);
    assert_int_equal(agg_week_of(MON0), MON0);
    assert_int_equal(agg_week_of(MON0 + 6), MON0);
    assert_int_equal(agg_week_of(MON0 + 7), MON0 + 7);
    /* 1970-01-01 was a Thursday; its Monday lies in 1969. */
    assert_int_equal(agg_week_of(0), -3);
    assert_int_equal(agg_week_of(-1), -3);
    assert_string_equal(agg_week_label(MON0, buf, sizeof(buf)), "2025-W10");
    /* 2021-01-03 (a Sunday, day 18630) belongs to 2020's week 53. */
    assert_string_equal(agg_week_label(agg_week_of(18630), buf, sizeof(buf)), "2020-W53");
    /* 2024-12-30 (day 20087) is in 2025-W01. */
    assert_string_equal(agg_week_label(agg_week_of(20087), buf, sizeof(buf)), "2025-W01");
}

/* The stored value: what goes in comes out, field by field; every
 * truncation, a wrong version or flag, a bad id length or a NUL in an id
 * is refused with -EIO (never read past the value); a counter that cannot
 * be stored refuses the write. */
static void test_value_format(void **state)
{
    struct agg_val v, d;
    struct agg_beh *b;
    uint8_t buf[1024], bad[1024];
    size_t n;

    (void)state;
    memset(&v, 0, sizeof(v));
    memset(&d, 0, sizeof(d));
    v.observations = 3;
    v.seconds = 5000000000LL; /* past 2^32 */
    v.markers[7] = 2;
    v.index_n = 3;
    v.index_sum = 8.25;
    v.index_sumsq = 22.6875;
    v.self_n = 1;
    v.self_s = 12.5;
    v.actions = 4;
    v.double_coded = 1;
    v.pairs[5] = 9;
    b = agg_val_beh(&v, "collaborative");
    b->count = 3;
    b->sum = 10;
    b->sumsq = 34;
    b->proficient = 2;
    b = agg_val_beh(&v, "x");
    b->count = 1;
    b->sum = 4;
    b->sumsq = 16;
    n = agg_val_size(&v);
    assert_int_equal(n, 88 + 64 + (1 + 13 + 16) + (1 + 1 + 16));
    assert_int_equal(agg_val_encode(&v, buf, n - 1), -EINVAL);
    assert_int_equal(agg_val_encode(&v, buf, n), 0);
    assert_int_equal(buf[0], AGG_VALUE_VERSION);
    assert_int_equal(agg_val_decode(&d, buf, n), 0);
    assert_int_equal(d.observations, 3);
    assert_int_equal(d.seconds, 5000000000LL);
    assert_int_equal(d.markers[7], 2);
    assert_true(d.index_sum == 8.25 && d.index_sumsq == 22.6875 && d.self_s == 12.5);
    assert_int_equal(d.self_n, 1);
    assert_int_equal(d.actions, 4);
    assert_int_equal(d.double_coded, 1);
    assert_int_equal(d.pairs[5], 9);
    assert_int_equal(d.nb, 2);
    assert_string_equal(d.b[0].id, "collaborative");
    assert_true(d.b[0].count == 3 && d.b[0].sum == 10 && d.b[0].sumsq == 34 &&
                d.b[0].proficient == 2);
    assert_string_equal(d.b[1].id, "x");
    /* Without pairs, the pair counts are not stored. */
    memset(v.pairs, 0, sizeof(v.pairs));
    assert_int_equal(agg_val_size(&v), n - 64);
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(agg_val_decode(&d, buf, cut), -EIO);
    }
    memcpy(bad, buf, n);
    bad[0] = 2;
    assert_int_equal(agg_val_decode(&d, bad, n), -EIO);
    memcpy(bad, buf, n);
    bad[1] = 3;
    assert_int_equal(agg_val_decode(&d, bad, n), -EIO);
    memcpy(bad, buf, n);
    bad[88 + 64] = 0; /* an empty id */
    assert_int_equal(agg_val_decode(&d, bad, n), -EIO);
    memcpy(bad, buf, n);
    bad[88 + 64] = 200; /* longer than an id may be, and than the value */
    assert_int_equal(agg_val_decode(&d, bad, n), -EIO);
    memcpy(bad, buf, n);
    bad[88 + 64 + 3] = '\0';
    assert_int_equal(agg_val_decode(&d, bad, n), -EIO);
    memcpy(bad, buf, n);
    bad[2] = 3; /* claims a third behaviour */
    assert_int_equal(agg_val_decode(&d, bad, n), -EIO);
    memcpy(bad, buf, n);
    bad[n] = 0; /* a trailing byte */
    assert_int_equal(agg_val_decode(&d, bad, n + 1), -EIO);
    /* Random bytes never decode past the value (ASan watches). */
    srand(7);
    for (int i = 0; i < 2000; i++) {
        size_t len = (size_t)rand() % 300;
        uint8_t *r = malloc(len + 1);

        assert_non_null(r);
        for (size_t j = 0; j < len; j++) {
            r[j] = (uint8_t)rand();
        }
        if (len > 0) {
            r[0] = AGG_VALUE_VERSION;
        }
        (void)agg_val_decode(&d, r, len);
        free(r);
    }
    v.actions = -1;
    assert_int_equal(agg_val_encode(&v, buf, agg_val_size(&v)), -ERANGE);
    v.actions = (int64_t)UINT32_MAX + 1;
    assert_int_equal(agg_val_encode(&v, buf, agg_val_size(&v)), -ERANGE);
    agg_val_free(&v);
    agg_val_free(&d);
}

static void test_every_scope(void **state)
{
    struct testutil_seeded *f = *state;
    struct tobs a, b;
    struct weeks ws;
    static const struct {
        enum agg_scope kind;
        const char *scope;
    } scopes[] = {
        {AGG_COACH, "flm.cara"}, {AGG_LINE, "slm.eve"}, {AGG_ORG, AGG_ORG_ALL},
        {AGG_OBSERVER, "alice"}, {AGG_COHORT, "p1/c1"},
    };
    struct coached cw;

    enrol(f->s, "flm.cara");
    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
        check_first_obs_week(one_week(f->s, scopes[i].kind, scopes[i].scope, 0, &ws));
        weeks_free(&ws);
    }
    /* The observer on the coach: laid out by week, then coach. */
    read_coached(f->s, "alice", MON0, MON0 + 56, &cw);
    assert_int_equal(cw.ws.n, 1);
    assert_string_equal(cw.coach[0], "flm.cara");
    /* Only what the page reads: observations and the ratings summed. */
    assert_int_equal(cw.ws.w[0].observations, 1);
    assert_int_equal(cw.ws.w[0].seconds, 0);
    assert_int_equal(cw.ws.w[0].n_behaviours, 1);
    assert_int_equal(beh(&cw.ws.w[0], AGG_RATED)->count, 9);
    assert_near(beh(&cw.ws.w[0], AGG_RATED)->sum, 22);
    assert_near(beh(&cw.ws.w[0], AGG_RATED)->sumsq, 5 * 4 + 4 * 9);
    assert_int_equal(beh(&cw.ws.w[0], AGG_RATED)->proficient, 4);
    weeks_free(&cw.ws);
    /* Format 3 writes no AGG_PAIR value. */
    read_weeks(f->s, AGG_PAIR, "alice/flm.cara", 0, MON0 + 700, &ws);
    assert_int_equal(ws.n, 0);
    /* Another line, observer and week: only the organisation sees both. */
    tobs_make(&b, "flm.dan", "rep.jon", T0 + WEEK_S);
    assert_int_equal(submit(f->s, "bob", &b.t.o), 0);
    read_weeks(f->s, AGG_ORG, AGG_ORG_ALL, MON0, MON0 + 56, &ws);
    assert_int_equal(ws.n, 2);
    assert_int_equal(ws.monday[0], MON0);
    assert_int_equal(ws.monday[1], MON0 + 7);
    weeks_free(&ws);
    /* The range bounds weeks on both sides; any day stands for its week. */
    read_weeks(f->s, AGG_ORG, AGG_ORG_ALL, MON0 + 7, MON0 + 13, &ws);
    assert_int_equal(ws.n, 1);
    weeks_free(&ws);
    read_weeks(f->s, AGG_ORG, AGG_ORG_ALL, MON0 + 6, MON0 + 6, &ws);
    assert_int_equal(ws.n, 1);
    assert_int_equal(ws.monday[0], MON0);
    weeks_free(&ws);
    read_weeks(f->s, AGG_ORG, AGG_ORG_ALL, MON0 - 70, MON0 - 1, &ws);
    assert_int_equal(ws.n, 0);
    one_week(f->s, AGG_LINE, "slm.fay", 1, &ws);
    weeks_free(&ws);
    check_first_obs_week(one_week(f->s, AGG_LINE, "slm.eve", 0, &ws));
    weeks_free(&ws);
    one_week(f->s, AGG_OBSERVER, "bob", 1, &ws);
    weeks_free(&ws);
    /* flm.dan is in no cohort. */
    check_first_obs_week(one_week(f->s, AGG_COHORT, "p1/c1", 0, &ws));
    weeks_free(&ws);
}

/* A coach in more cohorts than a contribution has room for (with an
 * assigned record's twins): the record is stored and counted in the first
 * 115 cohorts (programme id order), not refused. */
static void test_many_cohorts(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct tobs a;
    struct weeks ws;

    assert_int_equal(store_exec(f->s, enrol_many_fn, NULL), 0);
    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    check_first_obs_week(one_week(f->s, AGG_COHORT, "p000/c", 0, &ws));
    weeks_free(&ws);
    check_first_obs_week(one_week(f->s, AGG_COHORT, "p114/c", 0, &ws));
    weeks_free(&ws);
    read_weeks(f->s, AGG_COHORT, "p115/c", 0, MON0 + 56, &ws);
    assert_int_equal(ws.n, 0);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
}

/* Calibration attempts, uncertified observers and not-applicable ratings
 * never count. The bare store (rules off) takes what the server would
 * refuse, as a store written before a certification was withdrawn holds. */
static void test_excluded(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct tobs cal, unc, ok;
    struct weeks ws;
    uint8_t ref[16];

    testutil_store_close_drained(f->s);
    f->s = testutil_store_open(f->dir, 0);
    memset(ref, 0x42, sizeof(ref));
    tobs_make(&cal, "flm.cara", "rep.ida", T0);
    cal.t.o.calibration_ref.data = ref;
    cal.t.o.calibration_ref.len = sizeof(ref);
    assert_int_equal(submit(f->s, "alice", &cal.t.o), 0);
    tobs_make(&unc, "flm.cara", "rep.ida", T0 + 60);
    assert_int_equal(submit(f->s, "obs.ben", &unc.t.o), 0);
    /* alice's certification starts 2024-01-01: a session before is not
     * counted either. */
    tobs_make(&unc, "flm.cara", "rep.ida", 1700000000LL);
    assert_int_equal(submit(f->s, "alice", &unc.t.o), 0);
    read_weeks(f->s, AGG_ORG, AGG_ORG_ALL, 0, MON0 + 56, &ws);
    assert_int_equal(ws.n, 0);
    read_weeks(f->s, AGG_OBSERVER, "obs.ben", 0, MON0 + 56, &ws);
    assert_int_equal(ws.n, 0);

    tobs_make(&ok, "flm.cara", "rep.ida", T0 + 120);
    assert_int_equal(submit(f->s, "alice", &ok.t.o), 0);
    check_first_obs_week(one_week(f->s, AGG_ORG, AGG_ORG_ALL, 0, &ws));
    weeks_free(&ws);

    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.observations, 4);
    assert_int_equal(r.counted, 1);
    assert_int_equal(r.differences, 0);
    /* coach, line, line-coach, org, observer, its week list and its
     * cumulative list, the coach-week, the coach's impact block, the
     * line-coach block: no cohort. */
    assert_int_equal(r.keys, 10);
}

static void compare_stores(struct store *s1, struct store *s2)
{
    static const struct {
        enum agg_scope kind;
        const char *scope;
    } scopes[] = {
        {AGG_COACH, "flm.cara"}, {AGG_LINE, "slm.eve"}, {AGG_ORG, AGG_ORG_ALL},
        {AGG_OBSERVER, "alice"}, {AGG_COHORT, "p1/c1"}, {AGG_OBSERVER, "bob"},
    };
    static const char *const observers[] = {"alice", "bob"};

    for (size_t i = 0; i < 2; i++) {
        struct coached a, b;

        read_coached(s1, observers[i], 0, MON0 + 700, &a);
        read_coached(s2, observers[i], 0, MON0 + 700, &b);
        assert_int_equal(a.ws.n, b.ws.n);
        for (size_t j = 0; j < a.ws.n; j++) {
            assert_int_equal(a.ws.monday[j], b.ws.monday[j]);
            assert_string_equal(a.coach[j], b.coach[j]);
            assert_same_week(&a.ws.w[j], &b.ws.w[j]);
        }
        weeks_free(&a.ws);
        weeks_free(&b.ws);
    }

    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
        struct weeks a, b;

        read_weeks(s1, scopes[i].kind, scopes[i].scope, 0, MON0 + 700, &a);
        read_weeks(s2, scopes[i].kind, scopes[i].scope, 0, MON0 + 700, &b);
        assert_int_equal(a.n, b.n);
        for (size_t j = 0; j < a.n; j++) {
            assert_int_equal(a.monday[j], b.monday[j]);
            assert_same_week(&a.w[j], &b.w[j]);
        }
        weeks_free(&a);
        weeks_free(&b);
    }
}

static void test_amendment_replaces(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct tobs v1, v2, only;
    struct weeks ws;
    char dir2[512];
    struct store *s2;

    enrol(f->s, "flm.cara");
    tobs_make(&v1, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &v1.t.o), 0);
    amended(&v2, "rep.lou");
    v2.t.o.amends.data = v1.t.id;
    v2.t.o.amends.len = 16;
    assert_int_equal(submit(f->s, "alice", &v2.t.o), 0);
    /* The first week is gone entirely; the new one holds version 2. */
    read_weeks(f->s, AGG_COACH, "flm.cara", MON0, MON0, &ws);
    assert_int_equal(ws.n, 0);
    one_week(f->s, AGG_COACH, "flm.cara", 1, &ws);
    assert_int_equal(ws.w[0].observations, 1);
    assert_int_equal(ws.w[0].seconds, 2400);
    assert_int_equal(ws.w[0].n_behaviours, 10);
    assert_int_equal(beh(&ws.w[0], "buyers-view")->proficient, 1);
    assert_int_equal(ws.w[0].actions, 0);
    weeks_free(&ws);

    /* A store that only ever had the new version holds the same. */
    testutil_tmpdir(dir2, sizeof(dir2));
    testutil_seed_org(dir2);
    s2 = testutil_store_open_enforced(dir2);
    enrol(s2, "flm.cara");
    amended(&only, "rep.lou");
    assert_int_equal(submit(s2, "alice", &only.t.o), 0);
    compare_stores(f->s, s2);
    testutil_store_close_drained(s2);
    testutil_rmrf(dir2);

    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.observations, 2);
    assert_int_equal(r.counted, 1);
    assert_int_equal(r.differences, 0);
}

/* ---- Double coding ---------------------------------------------------- */

static void set_scores(struct tobs *x, uint32_t score)
{
    for (int i = 0; i < 10; i++) {
        if (i != NA_INDEX) {
            x->t.r[i].score = score;
        }
    }
}

static void test_double_coding(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct tobs a, b, b2, c, other;
    struct weeks wa, wb, wc;

    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    /* Same coach and time, another coachee: no pair. */
    tobs_make(&other, "flm.cara", "rep.lou", T0);
    assert_int_equal(submit(f->s, "bob", &other.t.o), 0);
    assert_int_equal(one_week(f->s, AGG_OBSERVER, "alice", 0, &wa)->double_coded, 0);
    weeks_free(&wa);

    tobs_make(&b, "flm.cara", "rep.ida", T0);
    set_scores(&b, 3);
    assert_int_equal(submit(f->s, "bob", &b.t.o), 0);
    /* alice: 2 at five behaviours, 3 at four; bob 3 everywhere (both skip
     * buyers-view). Rows are the observer's own score. */
    one_week(f->s, AGG_OBSERVER, "alice", 0, &wa);
    one_week(f->s, AGG_OBSERVER, "bob", 0, &wb);
    assert_int_equal(wa.w[0].double_coded, 1);
    assert_int_equal(wb.w[0].double_coded, 1);
    assert_int_equal(pair(&wa.w[0], 2, 3), 5);
    assert_int_equal(pair(&wa.w[0], 3, 3), 4);
    assert_int_equal(pair(&wb.w[0], 3, 2), 5);
    assert_int_equal(pair(&wb.w[0], 3, 3), 4);
    assert_int_equal(pair(&wa.w[0], 3, 2), 0);
    assert_int_equal(wb.w[0].observations, 2);
    weeks_free(&wa);
    weeks_free(&wb);

    /* bob amends to 2 everywhere: the old pairs are taken back. */
    tobs_make(&b2, "flm.cara", "rep.ida", T0);
    set_scores(&b2, 2);
    b2.t.o.amends.data = b.t.id;
    b2.t.o.amends.len = 16;
    assert_int_equal(submit(f->s, "bob", &b2.t.o), 0);
    one_week(f->s, AGG_OBSERVER, "alice", 0, &wa);
    one_week(f->s, AGG_OBSERVER, "bob", 0, &wb);
    assert_int_equal(wa.w[0].double_coded, 1);
    assert_int_equal(wb.w[0].double_coded, 1);
    assert_int_equal(pair(&wa.w[0], 2, 2), 5);
    assert_int_equal(pair(&wa.w[0], 3, 2), 4);
    assert_int_equal(pair(&wa.w[0], 2, 3), 0);
    assert_int_equal(pair(&wb.w[0], 2, 2), 5);
    assert_int_equal(pair(&wb.w[0], 2, 3), 4);
    assert_int_equal(pair(&wb.w[0], 3, 3), 0);
    weeks_free(&wa);
    weeks_free(&wb);

    /* A third observer pairs with both. */
    tobs_make(&c, "flm.cara", "rep.ida", T0);
    set_scores(&c, 3);
    assert_int_equal(submit(f->s, "carol", &c.t.o), 0);
    one_week(f->s, AGG_OBSERVER, "alice", 0, &wa);
    one_week(f->s, AGG_OBSERVER, "bob", 0, &wb);
    one_week(f->s, AGG_OBSERVER, "carol", 0, &wc);
    /* Each observation is double-coded once, however many peers it has
     * (issue 11: three observers gave a share of 2.00). */
    assert_int_equal(wa.w[0].double_coded, 1);
    assert_int_equal(wb.w[0].double_coded, 1);
    assert_int_equal(wc.w[0].double_coded, 1);
    assert_true(wa.w[0].double_coded <= wa.w[0].observations);
    assert_int_equal(pair(&wa.w[0], 2, 3), 5);
    assert_int_equal(pair(&wc.w[0], 3, 2), 5 + 9);
    assert_int_equal(pair(&wc.w[0], 3, 3), 4);
    weeks_free(&wa);
    weeks_free(&wb);
    weeks_free(&wc);

    /* alice amends (1 behaviour 3 more): pairs with bob and carol move. */
    {
        struct tobs a2;

        tobs_make(&a2, "flm.cara", "rep.ida", T0);
        set_scores(&a2, 3);
        a2.t.o.amends.data = a.t.id;
        a2.t.o.amends.len = 16;
        assert_int_equal(submit(f->s, "alice", &a2.t.o), 0);
    }
    one_week(f->s, AGG_OBSERVER, "carol", 0, &wc);
    assert_int_equal(wc.w[0].double_coded, 1);
    assert_int_equal(pair(&wc.w[0], 3, 3), 9);
    assert_int_equal(pair(&wc.w[0], 3, 2), 9);
    weeks_free(&wc);

    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(r.counted, 4);
}

/* An enrolment imported after the observations, with a cohort that started
 * before them, puts those observations into the cohort's scope: the import
 * brings the aggregates up to date itself, so verify finds nothing. */
static void test_backdated_import_refreshes(void **state)
{
    struct testutil_seeded *f = *state;
    char out[8192];
    char csv[700];
    FILE *fp;

    seed_two(f);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    snprintf(csv, sizeof(csv), "%s/prog.csv", f->dir);
    fp = fopen(csv, "w");
    assert_non_null(fp);
    fputs("programme_id,programme_name,cohort_id,cohort_start,person_id,module,attended_on,"
          "completed_on\n"
          "coach-101,Coaching Essentials,c1,2024-01-08,flm.cara,intro,2024-01-08,\n",
          fp);
    assert_int_equal(fclose(fp), 0);
    testutil_coachqd(out, sizeof(out), 0, "import", "programme", "--data", f->dir, csv, NULL);
    if (strstr(out, "dashboard aggregates brought up to date (") == NULL) {
        fail_msg("import programme said:\n%s", out);
    }
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "differences: 0\n"));
    /* The two observations of flm.cara now count in the cohort, a week each. */
    assert_non_null(strstr(out, "aggregate values: 20\n"));
    /* The same import again changes nothing, so nothing is rebuilt. */
    testutil_coachqd(out, sizeof(out), 0, "import", "programme", "--data", f->dir, csv, NULL);
    assert_null(strstr(out, "brought up to date"));
}

/* ---- A session scored by many observers --------------------------------- */

#define CROWD 70

static int crowd_txn(struct store_txn *t, void *arg)
{
    (void)arg;
    for (int i = 0; i < CROWD; i++) {
        Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
        Coachq__V1__Certification c = COACHQ__V1__CERTIFICATION__INIT;
        Coachq__V1__Role role = COACHQ__V1__ROLE__ROLE_OBSERVER;
        char id[32];
        int rc;

        snprintf(id, sizeof(id), "obs.crowd%02d", i);
        p.id = id;
        p.name = id;
        p.n_roles = 1;
        p.roles = &role;
        rc = people_put(t, &p, NULL);
        c.observer_id = id;
        c.rubric_id = (char *)"coaching-conversation";
        c.valid_from_day = 19000;
        c.valid_until_day = 23000;
        c.granted_by = (char *)"admin";
        if (rc == 0) {
            rc = certs_put(t, &c);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/*
 * Seventy observers score one session; the first record's id sorts first, so
 * every later record finds it among the keys it compares. Double coding compares at most a
 * bounded number of them, so amending the first record stays a bounded
 * piece of work: it is stored, the store keeps taking writes, and no
 * observer's double-coded count passes that bound.
 */
static void test_crowded_session(void **state)
{
    struct testutil_seeded *f = *state;
    struct tobs first, again, x;
    struct weeks ws;
    char id[32];

    assert_int_equal(store_exec(f->s, crowd_txn, NULL), 0);
    tobs_make(&first, "flm.cara", "rep.ida", T0);
    memset(first.t.id, 0, sizeof(first.t.id));
    first.t.id[6] = 0x40; /* version 4 */
    first.t.id[8] = 0x80; /* RFC 4122 variant */
    first.t.id[15] = 1;
    assert_int_equal(submit(f->s, "obs.crowd00", &first.t.o), 0);
    for (int i = 1; i < CROWD; i++) {
        snprintf(id, sizeof(id), "obs.crowd%02d", i);
        tobs_make(&x, "flm.cara", "rep.ida", T0);
        assert_int_equal(submit(f->s, id, &x.t.o), 0);
    }
    tobs_make(&again, "flm.cara", "rep.ida", T0);
    set_scores(&again, 3);
    /* An id that sorts among the session's first keys, as the first's. */
    memcpy(again.t.id, first.t.id, sizeof(again.t.id));
    again.t.id[15] = 2;
    again.t.o.amends.data = first.t.id;
    again.t.o.amends.len = 16;
    assert_int_equal(submit(f->s, "obs.crowd00", &again.t.o), 0);
    assert_false(store_failed(f->s));
    one_week(f->s, AGG_OBSERVER, "obs.crowd00", 0, &ws);
    assert_true(ws.w[0].double_coded >= 1);
    /* A session is its first 32 index keys: 31 peers at most. */
    assert_true(ws.w[0].double_coded <= 31);
    weeks_free(&ws);
    {
        struct agg_verify_result r;

        assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
        assert_int_equal(r.differences, 0);
    }
    /* And the next write is taken as usual. */
    tobs_make(&x, "flm.cara", "rep.ida", T0 + WEEK_S);
    assert_int_equal(submit(f->s, "alice", &x.t.o), 0);
}

/*
 * Issue 10 point 8: crowded sessions made `coachqd verify` fail, because the
 * writer's capped peer lists depended on the order records arrived in and
 * the rebuild's did not. For 17, 64 and 200 records of one session from 2
 * to 5 observers, stored in random order with amendments among them, the
 * incrementally kept aggregates must equal the rebuilt ones exactly.
 */
struct crowd_rec {
    uint8_t id[16]; /* the latest version */
    int observer;
};

static uint64_t rng_next(uint64_t *x)
{
    /* xorshift64*: reproducible from the seed printed on failure. */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 2685821657736338717ULL;
}

/* Submissions queued together, so that the writer stores several in one
 * transaction (a batch), as under concurrent clients. */
#define BATCH_MAX 16

struct batch {
    struct store_write w[BATCH_MAX];
    uint8_t *buf[BATCH_MAX];
    char who[BATCH_MAX][32];
    size_t n;
};

static void batch_add(struct batch *b, const char *observer, const Coachq__V1__Observation *o)
{
    size_t n = coachq__v1__observation__get_packed_size(o);
    struct store_write *w = &b->w[b->n];

    b->buf[b->n] = malloc(n + 1);
    assert_non_null(b->buf[b->n]);
    coachq__v1__observation__pack(o, b->buf[b->n]);
    snprintf(b->who[b->n], sizeof(b->who[b->n]), "%s", observer);
    memset(w, 0, sizeof(*w));
    w->obs = b->buf[b->n];
    w->obs_len = n;
    w->observer_id = b->who[b->n];
    w->received_at_ms = testutil_now_ms();
    b->n++;
}

static void batch_run(struct store *s, struct batch *b)
{
    size_t done = 0;

    for (size_t i = 0; i < b->n; i++) {
        assert_int_equal(store_submit(s, &b->w[i]), 0);
    }
    store_drain(s);
    for (struct store_write *w = store_completed_take(s); w != NULL; w = w->next) {
        if (w->rc != 0) {
            fail_msg("refused (%d): %s: %s", w->rc, w->fault.field, w->fault.message);
        }
        done++;
    }
    assert_int_equal(done, b->n);
    for (size_t i = 0; i < b->n; i++) {
        free(b->buf[i]);
    }
    b->n = 0;
}

static void test_crowded_sessions_verify(void **state)
{
    static const int sizes[] = {17, 64, 200};
    struct testutil_seeded *f = *state;
    struct crowd_rec *recs = calloc(200, sizeof(*recs));
    uint64_t seed = (uint64_t)testutil_now_ms() | 1;
    uint64_t x = seed;
    struct agg_verify_result r;
    struct diffs d;
    struct batch bt;
    static char long_evidence[1201];
    int session = 0;

    memset(&bt, 0, sizeof(bt));
    for (size_t i = 0; i + 1 < sizeof(long_evidence); i++) {
        long_evidence[i] = "as heard in the recording. "[i % 27];
    }
    assert_non_null(recs);
    fprintf(stderr, "crowded sessions: seed %llu\n", (unsigned long long)seed);
    assert_int_equal(store_exec(f->s, crowd_txn, NULL), 0);
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        for (int nobs = 2; nobs <= 5; nobs++, session++) {
            int64_t at = T0 + (int64_t)session * 3600;
            int n = 0;

            while (n < sizes[si]) {
                struct tobs o;
                char who[32];
                int amend = n > 0 && rng_next(&x) % 8 == 0;
                int k = amend ? (int)(rng_next(&x) % (uint64_t)n) : n;
                int observer = amend ? recs[k].observer : (int)(rng_next(&x) % (uint64_t)nobs);

                snprintf(who, sizeof(who), "obs.crowd%02d", observer);
                tobs_make(&o, "flm.cara", "rep.ida", at);
                set_scores(&o, 1 + (uint32_t)(rng_next(&x) % 4));
                o.t.r[(int)(rng_next(&x) % 10)].score = 1 + (uint32_t)(rng_next(&x) % 4);
                o.t.r[NA_INDEX].not_applicable = 0;
                o.t.r[NA_INDEX].score = 2;
                for (int b = 0; b < 10; b++) {
                    /* The 64-record sessions carry long evidence: their
                     * records outgrow the writer's block for a session's
                     * decoded records (agg_record.c), which then takes the
                     * rest from malloc. */
                    o.t.r[b].evidence =
                        sizes[si] == 64 ? long_evidence : (char *)"as heard in the recording";
                }
                if (amend) {
                    o.t.o.amends.data = recs[k].id;
                    o.t.o.amends.len = 16;
                }
                batch_add(&bt, who, &o.t.o);
                if (bt.n == BATCH_MAX || rng_next(&x) % 4 == 0) {
                    batch_run(f->s, &bt);
                }
                memcpy(recs[k].id, o.t.id, 16);
                recs[k].observer = observer;
                if (!amend) {
                    n++;
                }
            }
            batch_run(f->s, &bt);
            memset(&d, 0, sizeof(d));
            assert_int_equal(agg_verify(f->s, 0, diff_cb, &d, &r), 0);
            if (r.differences != 0) {
                fail_msg("%d records from %d observers (seed %llu): %llu differences, first %s",
                         sizes[si], nobs, (unsigned long long)seed,
                         (unsigned long long)r.differences, d.first);
            }
        }
    }
    /* Every session had double coding, each observer's pairs bounded. */
    for (int i = 0; i < 5; i++) {
        struct weeks ws;
        char who[32];

        snprintf(who, sizeof(who), "obs.crowd%02d", i);
        one_week(f->s, AGG_OBSERVER, who, 0, &ws);
        assert_true(ws.w[0].double_coded >= 1);
        weeks_free(&ws);
    }
    free(recs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weeks),
        cmocka_unit_test(test_value_format),
        cmocka_unit_test_setup_teardown(test_every_scope, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_excluded, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_many_cohorts, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_amendment_replaces, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_double_coding, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_backdated_import_refreshes, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_crowded_session, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_crowded_sessions_verify, testutil_seeded_setup,
                                        testutil_seeded_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
