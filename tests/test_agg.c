/* Tests of store/agg.c: the dashboards' aggregates kept by the writer, their
 * take-back on amendment, double coding, verify and repair, the schema 3
 * upgrade, the schema 6 move of the records into sequence order, and
 * `coachqd verify`. The organisation is the shared fixture
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
#include "uuid.h"

/* Wednesday 2025-03-05 10:00 UTC: day 20152, in the week of Monday 20150
 * (2025-W10). */
#define T0 1741168800LL
#define DAY0 20152
#define MON0 20150
#define WEEK_S (7 * 86400LL)
#define RUBRIC "coaching-conversation"
#define NA_INDEX 3 /* buyers-view may be rated not applicable */

/* Stores o as observer; returns the request's rc. */
/* Submits o as observer's and waits for its answer in *w. */
static void submit_wait_one(struct store *s, const char *observer, const Coachq__V1__Observation *o,
                            struct store_write *w)
{
    size_t n = coachq__v1__observation__get_packed_size(o);
    uint8_t *buf = malloc(n + 1);

    assert_non_null(buf);
    coachq__v1__observation__pack(o, buf);
    memset(w, 0, sizeof(*w));
    w->obs = buf;
    w->obs_len = n;
    w->observer_id = observer;
    w->received_at_ms = testutil_now_ms();
    assert_int_equal(store_submit(s, w), 0);
    store_drain(s);
    assert_ptr_equal(store_completed_take(s), w);
    free(buf);
    w->obs = NULL;
}

static int submit(struct store *s, const char *observer, const Coachq__V1__Observation *o)
{
    struct store_write w;

    submit_wait_one(s, observer, o, &w);
    if (w.rc == 0) {
        assert_int_equal(w.result, STORE_STORED);
    } else if (w.rc != -EEXIST) {
        fprintf(stderr, "refused: %s: %s\n", w.fault.field, w.fault.message);
    }
    return w.rc;
}

/* An observation with markers and an action on top of testutil's: scores
 * 2 (even index) and 3 (odd), buyers-view not applicable. */
struct tobs {
    struct testutil_obs t;
    Coachq__V1__Marker m[3];
    Coachq__V1__Marker *mp[3];
    Coachq__V1__Action a;
    Coachq__V1__Action *ap[1];
};

static void tobs_make(struct tobs *x, const char *coach, const char *coachee, int64_t at)
{
    static const struct {
        Coachq__V1__MarkerKind kind;
        uint32_t offset_ms;
    } marks[3] = {
        {COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION, 1000},
        {COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED, 120000},
        {COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED, 90000},
    };
    Coachq__V1__Action ainit = COACHQ__V1__ACTION__INIT;

    memset(x, 0, sizeof(*x));
    testutil_obs_make(&x->t, coach, coachee, at);
    x->t.r[NA_INDEX].score = 0;
    x->t.r[NA_INDEX].not_applicable = 1;
    for (int i = 0; i < 3; i++) {
        Coachq__V1__Marker m = COACHQ__V1__MARKER__INIT;

        x->m[i] = m;
        x->m[i].kind = marks[i].kind;
        x->m[i].offset_ms = marks[i].offset_ms;
        x->mp[i] = &x->m[i];
    }
    x->t.o.markers = x->mp;
    x->t.o.n_markers = 3;
    x->a = ainit;
    x->a.text = (char *)"Send the mutual plan";
    x->a.owner_id = (char *)coachee;
    x->ap[0] = &x->a;
    x->t.o.actions = x->ap;
    x->t.o.n_actions = 1;
}

/* ---- Reading aggregates ---------------------------------------------- */

#define MAX_WEEKS 16

struct weeks {
    size_t n;
    int32_t monday[MAX_WEEKS];
    Coachq__V1__AggWeek w[MAX_WEEKS];
};

struct read_args {
    enum agg_scope kind;
    const char *scope;
    int32_t from, until;
    struct weeks *out;
};

static int weeks_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    struct weeks *ws = arg;
    Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;

    if (ws->n == MAX_WEEKS) {
        return -E2BIG;
    }
    ws->monday[ws->n] = monday;
    ws->w[ws->n] = init;
    if (agg_week_add(&ws->w[ws->n], w) != 0) {
        agg_week_clear(&ws->w[ws->n]);
        return -ENOMEM;
    }
    ws->n++;
    return 0;
}

static int read_txn(struct store_txn *t, void *arg)
{
    struct read_args *r = arg;

    return agg_read(t, r->kind, r->scope, RUBRIC, r->from, r->until, weeks_cb, r->out);
}

static void weeks_free(struct weeks *ws)
{
    for (size_t i = 0; i < ws->n; i++) {
        agg_week_clear(&ws->w[i]);
    }
    ws->n = 0;
}

static void read_weeks(struct store *s, enum agg_scope kind, const char *scope, int32_t from,
                       int32_t until, struct weeks *out)
{
    struct read_args r = {kind, scope, from, until, out};

    memset(out, 0, sizeof(*out));
    assert_int_equal(store_view(s, read_txn, &r), 0);
}

/* An observer's AGG_OBSERVER_COACH values, with their coaches. */
struct coached {
    struct weeks ws;
    char coach[MAX_WEEKS][65];
};

struct coached_args {
    const char *observer;
    int32_t from, until;
    struct coached *out;
};

static int coached_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w, void *arg)
{
    struct coached *c = arg;
    size_t n = c->ws.n;
    int rc;

    if (n == MAX_WEEKS || strlen(coach) > 64) {
        return -E2BIG;
    }
    rc = weeks_cb(monday, w, &c->ws);
    if (rc == 0) {
        memcpy(c->coach[n], coach, strlen(coach) + 1);
    }
    return rc;
}

static int coached_txn(struct store_txn *t, void *arg)
{
    struct coached_args *a = arg;

    return agg_read_coached(t, a->observer, RUBRIC, a->from, a->until, coached_cb, a->out);
}

static void read_coached(struct store *s, const char *observer, int32_t from, int32_t until,
                         struct coached *out)
{
    struct coached_args a = {observer, from, until, out};

    memset(out, 0, sizeof(*out));
    assert_int_equal(store_view(s, coached_txn, &a), 0);
}

/* The one week of (kind, scope) at MON0 + 7 * week; fails unless there is
 * exactly that one in the 8 weeks from MON0. Caller frees ws. */
static const Coachq__V1__AggWeek *one_week(struct store *s, enum agg_scope kind, const char *scope,
                                           int week, struct weeks *ws)
{
    read_weeks(s, kind, scope, MON0, MON0 + 7 * 8, ws);
    if (ws->n != 1) {
        fprintf(stderr, "%d/%s: %zu weeks\n", (int)kind, scope, ws->n);
    }
    assert_int_equal(ws->n, 1);
    assert_int_equal(ws->monday[0], MON0 + 7 * week);
    return &ws->w[0];
}

static const Coachq__V1__AggBehaviour *beh(const Coachq__V1__AggWeek *w, const char *id)
{
    for (size_t i = 0; i < w->n_behaviours; i++) {
        if (strcmp(w->behaviours[i]->id, id) == 0) {
            return w->behaviours[i];
        }
    }
    return NULL;
}

static uint64_t marker(const Coachq__V1__AggWeek *w, int kind)
{
    return (size_t)kind < w->n_markers ? w->markers[kind] : 0;
}

static uint64_t pair(const Coachq__V1__AggWeek *w, int mine, int peer)
{
    size_t i = (size_t)((mine - 1) * 4 + (peer - 1));

    return i < w->n_pairs ? w->pairs[i] : 0;
}

static void assert_near(double a, double b)
{
    if (fabs(a - b) > 1e-9) {
        fail_msg("%.12g != %.12g", a, b);
    }
}

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

/* ---- Counting ---------------------------------------------------------- */

static void check_first_obs_week(const Coachq__V1__AggWeek *w)
{
    assert_int_equal(w->observations, 1);
    assert_int_equal(w->seconds, 1800);
    /* Nine scored: 2 at even indexes (0,2,4,6,8), 3 at 1,5,7,9. */
    assert_int_equal(w->n_behaviours, 9);
    assert_null(beh(w, "buyers-view"));
    assert_int_equal(beh(w, "collaborative")->count, 1);
    assert_near(beh(w, "collaborative")->sum, 2);
    assert_near(beh(w, "regular-cadence")->sumsq, 9);
    assert_int_equal(beh(w, "regular-cadence")->proficient, 1);
    assert_int_equal(beh(w, "collaborative")->proficient, 0);
    assert_int_equal(w->index_n, 1);
    assert_near(w->index_sum, 22.0 / 9.0);
    assert_near(w->index_sumsq, (22.0 / 9.0) * (22.0 / 9.0));
    assert_int_equal(marker(w, COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION), 1);
    assert_int_equal(marker(w, COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED), 2);
    assert_int_equal(marker(w, COACHQ__V1__MARKER_KIND__MARKER_KIND_DIRECTIVE), 0);
    assert_int_equal(w->self_assess_n, 1);
    assert_near(w->self_assess_s_sum, 90.0);
    assert_int_equal(w->actions, 1);
    assert_int_equal(w->double_coded, 0);
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

/* ---- Amendments -------------------------------------------------------- */

/* The amended version: another coachee, all 3s, longer, a week later. */
static void amended(struct tobs *x, const char *coachee)
{
    tobs_make(x, "flm.cara", coachee, T0 + WEEK_S);
    for (int i = 0; i < 10; i++) {
        x->t.r[i].score = 3;
        x->t.r[i].not_applicable = 0;
    }
    x->t.o.duration_s = 2400;
    x->t.o.n_markers = 1;
    x->t.o.n_actions = 0;
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

/* ---- Verify and repair ----------------------------------------------- */

struct tamper {
    int32_t monday;
    uint64_t observations; /* 0: delete the value */
};

static int tamper_fn(struct store_txn *t, void *arg)
{
    const struct tamper *tp = arg;
    struct agg_val w;
    uint8_t key[64];
    size_t n = 0;
    static const char coach[] = "flm.cara";

    key[n++] = AGG_COACH;
    key[n++] = sizeof(coach) - 1;
    memcpy(key + n, coach, sizeof(coach) - 1);
    n += sizeof(coach) - 1;
    key[n++] = sizeof(RUBRIC) - 1;
    memcpy(key + n, RUBRIC, sizeof(RUBRIC) - 1);
    n += sizeof(RUBRIC) - 1;
    keys_day_encode(tp->monday, key + n);
    n += 4;
    if (tp->observations == 0) {
        return store_txn_del(t, t->s->dbi_agg, key, n);
    }
    memset(&w, 0, sizeof(w));
    w.observations = (int64_t)tp->observations;
    return agg_val_put(t, key, n, &w);
}

struct diffs {
    int n;
    char first[400];
};

static void diff_cb(const char *key, const char *what, void *arg)
{
    struct diffs *d = arg;

    if (d->n++ == 0) {
        snprintf(d->first, sizeof(d->first), "%s: %s", key, what);
    }
}

static void seed_two(struct testutil_seeded *f)
{
    struct tobs a, b;

    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    tobs_make(&b, "flm.cara", "rep.lou", T0 + WEEK_S);
    assert_int_equal(submit(f->s, "bob", &b.t.o), 0);
}

static void test_verify_repair(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct tamper tp;
    struct diffs d;

    seed_two(f);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 0, diff_cb, &d, &r), 0);
    assert_int_equal(r.observations, 2);
    assert_int_equal(r.counted, 2);
    /* 2 weeks x (coach, line, line-coach, org, coach-week) + 2 observers + their 2
     * lists and 2 cumulative lists + the coach's impact block and the
     * line-coach block (both weeks in one each). */
    assert_int_equal(r.keys, 18);
    assert_int_equal(r.differences, 0);
    assert_int_equal(d.n, 0);

    tp.monday = MON0;
    tp.observations = 7;
    assert_int_equal(store_exec(f->s, tamper_fn, &tp), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 0, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.first, "coach/flm.cara/coaching-conversation/2025-W10: "));
    assert_non_null(strstr(d.first, "observations 7, rebuilt 1"));

    /* A value that is gone and one that should not be there. */
    tp.monday = MON0 + 7;
    tp.observations = 0;
    assert_int_equal(store_exec(f->s, tamper_fn, &tp), 0);
    tp.monday = MON0 + 14;
    tp.observations = 1;
    assert_int_equal(store_exec(f->s, tamper_fn, &tp), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 3);

    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 0, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(r.keys, 18);
}

/* ---- Schema 3 upgrade -------------------------------------------------- */

/* Turns the closed store in dir back into schema 2 (no aggregates), or
 * into schema 3 or 4 (aggregates emptied: they are rebuilt on opening). */
static void make_schema(const char *dir, uint32_t schema)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, agg, contrib;
    MDB_val k, v;
    uint8_t ver[4];

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "agg_week", 0, &agg), 0);
    assert_int_equal(mdb_dbi_open(txn, "agg_contrib", 0, &contrib), 0);
    k.mv_data = (void *)"schema_version";
    k.mv_size = strlen("schema_version");
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    assert_int_equal(v.mv_size, 4);
    assert_int_equal(keys_get_be32(v.mv_data), STORE_SCHEMA_VERSION);
    keys_put_be32(ver, schema);
    v.mv_data = ver;
    v.mv_size = 4;
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    /* Schema 2 had no such databases: delete them, not just empty them. */
    assert_int_equal(mdb_drop(txn, agg, schema == 2), 0);
    assert_int_equal(mdb_drop(txn, contrib, schema == 2), 0);
    if (schema == 6) {
        /* Schema 6 stored values and contributions as protobuf messages:
         * leave one of each (wrong on purpose) for the upgrade to replace. */
        Coachq__V1__AggWeek w = COACHQ__V1__AGG_WEEK__INIT;
        Coachq__V1__AggContribution c = COACHQ__V1__AGG_CONTRIBUTION__INIT;
        uint8_t key[64], id[16], buf[64];
        size_t n = 0;

        key[n++] = AGG_COACH;
        key[n++] = 8;
        memcpy(key + n, "flm.cara", 8);
        n += 8;
        key[n++] = sizeof(RUBRIC) - 1;
        memcpy(key + n, RUBRIC, sizeof(RUBRIC) - 1);
        n += sizeof(RUBRIC) - 1;
        keys_day_encode(MON0, key + n);
        n += 4;
        w.observations = 7;
        k.mv_data = key;
        k.mv_size = n;
        v.mv_data = buf;
        v.mv_size = coachq__v1__agg_week__pack(&w, buf);
        assert_int_equal(mdb_put(txn, agg, &k, &v, 0), 0);
        memset(id, 0xab, sizeof(id));
        k.mv_data = id;
        k.mv_size = sizeof(id);
        v.mv_size = coachq__v1__agg_contribution__pack(&c, buf);
        assert_int_equal(mdb_put(txn, contrib, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Closes f's store, turns it back into schema (make_schema()) and opens
 * it again, which upgrades it. */
static void reopen_as(struct testutil_seeded *f, uint32_t schema)
{
    testutil_store_close_drained(f->s);
    f->s = NULL;
    make_schema(f->dir, schema);
    f->s = testutil_store_open_enforced(f->dir);
}

static void test_schema_upgrade(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct weeks ws;
    struct tobs b2;

    seed_two(f);
    reopen_as(f, 2);
    check_first_obs_week(one_week(f->s, AGG_OBSERVER, "alice", 0, &ws));
    weeks_free(&ws);
    read_weeks(f->s, AGG_COACH, "flm.cara", MON0, MON0 + 7, &ws);
    assert_int_equal(ws.n, 2);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(r.keys, 18);
    /* Contributions were rebuilt too: a double-coding peer after the
     * upgrade pairs up and verify still agrees. */
    tobs_make(&b2, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "carol", &b2.t.o), 0);
    assert_int_equal(one_week(f->s, AGG_OBSERVER, "alice", 0, &ws)->double_coded, 1);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    /* Opening again finds the current schema and rebuilds nothing. */
    f->s = testutil_store_open_enforced(f->dir);
    /* A schema 3 store gets the line-coach aggregates of its records. */
    reopen_as(f, 3);
    read_weeks(f->s, AGG_LINE_COACH, "slm.eve/flm.cara", MON0, MON0 + 7, &ws);
    assert_int_equal(ws.n, 2);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* So does a schema 4 store: 4 counted double-coding once, but was
     * written before the line-coach aggregates. */
    reopen_as(f, 4);
    read_weeks(f->s, AGG_LINE_COACH, "slm.eve/flm.cara", MON0, MON0 + 7, &ws);
    assert_int_equal(ws.n, 2);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* A schema 6 store kept its values as protobuf messages: opening it
     * rewrites them in the fixed layout, and the stray ones are gone. */
    reopen_as(f, 6);
    read_weeks(f->s, AGG_COACH, "flm.cara", MON0, MON0 + 7, &ws);
    assert_int_equal(ws.n, 2);
    /* alice's and carol's records of the session at T0, not the stray 7. */
    assert_int_equal(ws.w[0].observations, 2);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(r.keys, 21);
    tobs_make(&b2, "flm.cara", "rep.ida", T0 + 60);
    assert_int_equal(submit(f->s, "carol", &b2.t.o), 0);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
}

/* ---- The coaching mix (agg.h, AGG_MIX_*) -------------------------------- */

/* A value with the mix stores it after the pairs, behind flag bit 1, and
 * reads it back; one without stores nothing of it. */
static void test_value_mix(void **state)
{
    struct agg_val v, d;
    uint8_t buf[1024], bad[1024];
    size_t n;

    (void)state;
    memset(&v, 0, sizeof(v));
    memset(&d, 0, sizeof(d));
    v.observations = 3;
    v.pairs[0] = 1;
    v.mix[AGG_MIX_FOCUS + 2] = 3;
    v.mix[AGG_MIX_FOCUS_QN + 2] = 2;
    v.mix[AGG_MIX_TYPE + 5] = 3;
    v.mix_q[AGG_MIXQ_SUM + 2] = 5.5;
    v.mix_q[AGG_MIXQ_SUMSQ + 2] = 15.25;
    n = agg_val_size(&v);
    assert_int_equal(n, 88 + 64 + 124);
    assert_int_equal(agg_val_encode(&v, buf, n), 0);
    assert_int_equal(buf[1], 3);
    assert_int_equal(agg_val_decode(&d, buf, n), 0);
    assert_int_equal(d.pairs[0], 1);
    assert_int_equal(d.mix[AGG_MIX_FOCUS + 2], 3);
    assert_int_equal(d.mix[AGG_MIX_FOCUS_QN + 2], 2);
    assert_int_equal(d.mix[AGG_MIX_TYPE + 5], 3);
    assert_int_equal(d.mix[AGG_MIX_FOCUS + 1], 0);
    assert_true(d.mix_q[AGG_MIXQ_SUM + 2] == 5.5 && d.mix_q[AGG_MIXQ_SUMSQ + 2] == 15.25);
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_equal(agg_val_decode(&d, buf, cut), -EIO);
    }
    memcpy(bad, buf, n);
    bad[1] = 7; /* an unknown flag */
    assert_int_equal(agg_val_decode(&d, bad, n), -EIO);
    /* The stored form of a value written before the mix (no flag) still
     * reads, with no mix. */
    memset(v.mix, 0, sizeof(v.mix));
    memset(v.mix_q, 0, sizeof(v.mix_q));
    n = agg_val_size(&v);
    assert_int_equal(n, 88 + 64);
    assert_int_equal(agg_val_encode(&v, buf, n), 0);
    assert_int_equal(buf[1], 1);
    d.mix[0] = 9;
    assert_int_equal(agg_val_decode(&d, buf, n), 0);
    assert_int_equal(d.mix[0], 0);
    v.mix[AGG_MIX_TYPE] = -1;
    assert_int_equal(agg_val_encode(&v, buf, agg_val_size(&v)), -ERANGE);
    agg_val_free(&v);
    agg_val_free(&d);
}

/* Turns the closed store in dir into one written before the mix: every
 * value loses its mix and the format key goes. */
static void strip_mix(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, agg;
    MDB_cursor *cur;
    MDB_val k, v;
    struct agg_val a;
    uint8_t buf[4096];
    int rc;

    memset(&a, 0, sizeof(a));
    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "agg_week", 0, &agg), 0);
    k.mv_data = (void *)"agg_format";
    k.mv_size = strlen("agg_format");
    assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
    assert_int_equal(keys_get_be32(v.mv_data), AGG_FORMAT);
    assert_int_equal(mdb_del(txn, meta, &k, NULL), 0);
    assert_int_equal(mdb_cursor_open(txn, agg, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        size_t n;

        /* Lists hold no mix (the rebuild makes them again). */
        if (AGG_KIND_SEEN(((const uint8_t *)k.mv_data)[0]) ||
            AGG_KIND_CUM(((const uint8_t *)k.mv_data)[0]) ||
            AGG_KIND_COACHES(((const uint8_t *)k.mv_data)[0]) ||
            AGG_KIND_IMPACT(((const uint8_t *)k.mv_data)[0])) {
            continue;
        }
        assert_int_equal(agg_val_decode(&a, v.mv_data, v.mv_size), 0);
        memset(a.mix, 0, sizeof(a.mix));
        memset(a.mix_q, 0, sizeof(a.mix_q));
        n = agg_val_size(&a);
        assert_true(n <= sizeof(buf));
        assert_int_equal(agg_val_encode(&a, buf, n), 0);
        v.mv_data = buf;
        v.mv_size = n;
        assert_int_equal(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    agg_val_free(&a);
}

/* Sessions by focus and type, and the quality index by focus, in every
 * scope of the session; an amendment moves its session to its new focus;
 * a store written before the mix gets it when opened, and verify agrees. */
static void test_mix(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct weeks ws;
    struct tobs a, b, c;
    const Coachq__V1__AggWeek *w;
    const int sk = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    const int pr = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS;
    const int cr = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW;
    const int dr = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;

    /* a: process, deal review (testutil's); b: skill, call review. Both
     * score 2 and 3 alternately with one behaviour not applicable. */
    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    tobs_make(&b, "flm.cara", "rep.ida", T0 + 3600);
    b.t.o.focus = sk;
    b.t.o.session_type = cr;
    assert_int_equal(submit(f->s, "alice", &b.t.o), 0);
    w = one_week(f->s, AGG_COACH, "flm.cara", 0, &ws);
    assert_int_equal(w->n_mix, AGG_NMIX);
    assert_int_equal(w->n_mix_q, AGG_NMIXQ);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + pr], 1);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + sk], 1);
    assert_int_equal(w->mix[AGG_MIX_FOCUS_QN + sk], 1);
    assert_int_equal(w->mix[AGG_MIX_TYPE + dr], 1);
    assert_int_equal(w->mix[AGG_MIX_TYPE + cr], 1);
    assert_true(w->mix_q[AGG_MIXQ_SUM + sk] > 1 && w->mix_q[AGG_MIXQ_SUM + sk] < 4);
    assert_true(fabs(w->mix_q[AGG_MIXQ_SUM + sk] + w->mix_q[AGG_MIXQ_SUM + pr] - w->index_sum) <
                1e-9);
    weeks_free(&ws);
    w = one_week(f->s, AGG_LINE_COACH, "slm.eve/flm.cara", 0, &ws);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + sk], 1);
    weeks_free(&ws);
    /* b amended to human coaching: skill empties, human has it. */
    tobs_make(&c, "flm.cara", "rep.ida", T0 + 3600);
    c.t.o.focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN;
    c.t.o.session_type = cr;
    c.t.o.amends.data = b.t.id;
    c.t.o.amends.len = 16;
    assert_int_equal(submit(f->s, "alice", &c.t.o), 0);
    w = one_week(f->s, AGG_COACH, "flm.cara", 0, &ws);
    assert_int_equal(w->observations, 2);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + sk], 0);
    assert_int_equal(w->mix[AGG_MIX_FOCUS_QN + sk], 0);
    assert_true(w->mix_q[AGG_MIXQ_SUM + sk] == 0);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN], 1);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* A store from before the mix: verify sees what is missing, and the
     * next open rebuilds it. */
    testutil_store_close_drained(f->s);
    f->s = NULL;
    strip_mix(f->dir);
    f->s = testutil_store_open_enforced(f->dir);
    w = one_week(f->s, AGG_COACH, "flm.cara", 0, &ws);
    assert_int_equal(w->mix[AGG_MIX_FOCUS + pr], 1);
    assert_int_equal(w->mix[AGG_MIX_TYPE + cr], 1);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
}

/* Turns the closed store in dir into one of aggregate format 2: every
 * manager of an observer-week list goes back to the AGG_PAIR key
 * "<observer>/<coach>" it had then. */
static void back_to_pairs(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi agg;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t keys[8][256], vals[8][1024];
    size_t klen[8], vlen[8], n = 0;
    struct agg_seen l;
    struct agg_val a;
    int rc;

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "agg_week", 0, &agg), 0);
    testutil_lmdb_put_agg_format(txn, 2);
    assert_int_equal(mdb_cursor_open(txn, agg, &cur), 0);
    memset(&l, 0, sizeof(l));
    memset(&a, 0, sizeof(a));
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *p = k.mv_data;
        size_t olen, rlen;

        if (p[0] != AGG_OBSERVER_WEEK) {
            continue;
        }
        olen = p[1];
        rlen = p[2 + olen];
        assert_int_equal(agg_seen_decode(&l, v.mv_data, v.mv_size), 0);
        for (size_t i = 0; i < l.n; i++) {
            size_t at = 0;

            assert_true(n < 8);
            /* 6, len, "<observer>/<coach>", rubric, week. */
            keys[n][at++] = AGG_PAIR;
            keys[n][at++] = (uint8_t)(olen + 1 + l.e[i].clen);
            memcpy(keys[n] + at, p + 2, olen);
            at += olen;
            keys[n][at++] = '/';
            memcpy(keys[n] + at, l.e[i].coach, l.e[i].clen);
            at += l.e[i].clen;
            memcpy(keys[n] + at, p + 2 + olen, 1 + rlen + 4);
            at += 1 + rlen + 4;
            klen[n] = at;
            agg_val_clear(&a);
            a.observations = l.e[i].observations;
            vlen[n] = agg_val_size(&a);
            assert_int_equal(agg_val_encode(&a, vals[n], vlen[n]), 0);
            n++;
        }
        assert_int_equal(mdb_cursor_del(cur, 0), 0);
    }
    agg_seen_free(&l);
    agg_val_free(&a);
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        k.mv_data = keys[i];
        k.mv_size = klen[i];
        v.mv_data = vals[i];
        v.mv_size = vlen[i];
        assert_int_equal(mdb_put(txn, agg, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static int tamper_coached_fn(struct store_txn *t, void *arg)
{
    struct keys_buf k;

    (void)arg;
    assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "alice", RUBRIC, 1, MON0), 0);
    return store_txn_del(t, t->s->dbi_agg, k.b, k.len);
}

/* A list of one manager, flm.cara with 3 observations, under key. */
static int put_one_list(struct store_txn *t, const uint8_t *key, size_t klen)
{
    struct agg_seen_ent e;
    struct agg_seen l = {&e, 1, 1};

    memset(&e, 0, sizeof(e));
    memcpy(e.coach, "flm.cara", sizeof("flm.cara"));
    e.clen = strlen("flm.cara");
    e.observations = 3;
    return agg_seen_put(t, key, klen, &l);
}

/* Puts an observer-week key of alice's cut inside its week (no writer
 * makes one), and a list of an observer "alic", whose id is a prefix of
 * hers and who scored nothing. */
static int damage_coached_fn(struct store_txn *t, void *arg)
{
    struct keys_buf k;
    int rc;

    (void)arg;
    assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "alice", RUBRIC, 1, MON0), 0);
    rc = put_one_list(t, k.b, k.len - 2);
    if (rc == 0) {
        assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "alic", RUBRIC, 1, MON0), 0);
        rc = put_one_list(t, k.b, k.len);
    }
    return rc;
}

/* Puts, inside alice's range (a week she scored nothing in), a list whose
 * manager's id holds a NUL ("flm\0cara", *arg 0) or is 65 bytes long, one
 * more than an id may be (*arg 1): neither is a coach id, and no writer
 * makes either. */
static int damage_coach_id_fn(struct store_txn *t, void *arg)
{
    const int *which = arg;
    struct keys_buf k;
    uint8_t v[4 + 1 + 65 + 20];
    size_t n = 0;

    memset(v, 0, sizeof(v));
    v[n++] = AGG_SEEN_VERSION;
    v[n++] = 0;
    v[n++] = 1;
    v[n++] = 0;
    if (*which == 0) {
        v[n++] = 8;
        memcpy(v + n, "flm\0cara", 8);
        n += 8;
    } else {
        v[n++] = 65;
        memset(v + n, 'x', 65);
        n += 65;
    }
    v[n] = 3; /* observations */
    n += 20;
    assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "alice", RUBRIC, 1, MON0 + 14), 0);
    return store_txn_put_raw(t, t->s->dbi_agg, k.b, k.len, v, n, NULL);
}

static int read_coached_rc_txn(struct store_txn *t, void *arg)
{
    struct coached *c = arg;

    return agg_read_coached(t, "alice", RUBRIC, 0, MON0 + 700, coached_cb, c);
}

/* The Observer reliability dashboard's values (AGG_OBSERVER_COACH): one
 * per observer, week and coach, kept through amendments that move a
 * session to another coach; verify finds one missing and repairs it; a
 * store of aggregate format 2 (AGG_PAIR) gets them when opened. */
static void test_observer_coach(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct tobs a, b, c;
    struct coached cw;
    struct weeks ws;
    struct diffs d;

    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    tobs_make(&b, "flm.dan", "rep.jon", T0 + 3600);
    assert_int_equal(submit(f->s, "alice", &b.t.o), 0);
    tobs_make(&c, "flm.cara", "rep.ida", T0 + WEEK_S);
    assert_int_equal(submit(f->s, "alice", &c.t.o), 0);
    /* Week by week, and within a week by coach. */
    read_coached(f->s, "alice", MON0, MON0 + 56, &cw);
    assert_int_equal(cw.ws.n, 3);
    assert_string_equal(cw.coach[0], "flm.cara");
    assert_string_equal(cw.coach[1], "flm.dan");
    assert_string_equal(cw.coach[2], "flm.cara");
    assert_int_equal(cw.ws.monday[0], MON0);
    assert_int_equal(cw.ws.monday[1], MON0);
    assert_int_equal(cw.ws.monday[2], MON0 + 7);
    weeks_free(&cw.ws);
    /* The window bounds the weeks; another observer sees none of them. */
    read_coached(f->s, "alice", MON0 + 7, MON0 + 7, &cw);
    assert_int_equal(cw.ws.n, 1);
    weeks_free(&cw.ws);
    read_coached(f->s, "bob", 0, MON0 + 700, &cw);
    assert_int_equal(cw.ws.n, 0);
    /* b amended onto flm.cara: flm.dan's value goes. */
    tobs_make(&c, "flm.cara", "rep.ida", T0 + 3600);
    c.t.o.amends.data = b.t.id;
    c.t.o.amends.len = 16;
    assert_int_equal(submit(f->s, "alice", &c.t.o), 0);
    read_coached(f->s, "alice", MON0, MON0 + 6, &cw);
    assert_int_equal(cw.ws.n, 1);
    assert_string_equal(cw.coach[0], "flm.cara");
    assert_int_equal(cw.ws.w[0].observations, 2);
    weeks_free(&cw.ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* A value gone: verify names it, repair puts it back. */
    assert_int_equal(store_exec(f->s, tamper_coached_fn, NULL), 0);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_non_null(
        strstr(d.first, "observer-coach/alice/coaching-conversation/2025-W10/flm.cara: "));
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    /* A damaged key inside alice's range fails her read rather than being
     * skipped; another observer's value never shows in hers; verify finds
     * both and repair removes them. */
    assert_int_equal(store_exec(f->s, damage_coached_fn, NULL), 0);
    memset(&cw, 0, sizeof(cw));
    assert_int_equal(store_view(f->s, read_coached_rc_txn, &cw), -EIO);
    weeks_free(&cw.ws);
    memset(&d, 0, sizeof(d));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &d, &r), 0);
    assert_int_equal(r.differences, 2);
    read_coached(f->s, "alice", MON0, MON0 + 56, &cw);
    assert_int_equal(cw.ws.n, 2);
    weeks_free(&cw.ws);
    read_coached(f->s, "alic", 0, MON0 + 700, &cw);
    assert_int_equal(cw.ws.n, 0);
    /* A coach id with a NUL inside, or one byte too long, fails the read
     * too (rather than reaching the callback cut short, or overrunning
     * the reader's copy); verify finds each and repair removes it. */
    for (int which = 0; which < 2; which++) {
        assert_int_equal(store_exec(f->s, damage_coach_id_fn, &which), 0);
        memset(&cw, 0, sizeof(cw));
        assert_int_equal(store_view(f->s, read_coached_rc_txn, &cw), -EIO);
        weeks_free(&cw.ws);
        assert_int_equal(agg_verify(f->s, 1, NULL, NULL, &r), 0);
        assert_int_equal(r.differences, 1);
        read_coached(f->s, "alice", MON0, MON0 + 56, &cw);
        assert_int_equal(cw.ws.n, 2);
        weeks_free(&cw.ws);
    }
    /* A store of format 2: its pair values become observer-coach ones. */
    testutil_store_close_drained(f->s);
    f->s = NULL;
    back_to_pairs(f->dir);
    f->s = testutil_store_open_enforced(f->dir);
    read_weeks(f->s, AGG_PAIR, "alice/flm.cara", 0, MON0 + 700, &ws);
    assert_int_equal(ws.n, 0);
    read_coached(f->s, "alice", MON0, MON0 + 56, &cw);
    assert_int_equal(cw.ws.n, 2);
    assert_int_equal(cw.ws.w[0].observations, 2);
    assert_int_equal(cw.ws.w[1].observations, 1);
    weeks_free(&cw.ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
}

/* Schema 3 counted a double-coded observation once per peer: opening a
 * schema 3 store rebuilds the aggregates with one count per observation. */
static void test_schema3_upgrade(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct tobs a, b, c;
    struct weeks ws;

    tobs_make(&a, "flm.cara", "rep.ida", T0);
    tobs_make(&b, "flm.cara", "rep.ida", T0);
    tobs_make(&c, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    assert_int_equal(submit(f->s, "bob", &b.t.o), 0);
    assert_int_equal(submit(f->s, "carol", &c.t.o), 0);
    reopen_as(f, 3);
    one_week(f->s, AGG_OBSERVER, "alice", 0, &ws);
    assert_int_equal(ws.w[0].observations, 1);
    assert_int_equal(ws.w[0].double_coded, 1);
    weeks_free(&ws);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
}

/* ---- A full map while the batch's aggregates are written ----------------- */

/* Copies file from into to. */
static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");
    char buf[65536];
    size_t n;

    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        assert_int_equal(fwrite(buf, 1, n, out), n);
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/*
 * The batch's merged aggregates are written at its end, after its records:
 * when the map fills there, the engine must grow it and retry the batch
 * like a full map anywhere else, not fail the store. The same burst (400
 * records over 100 weeks, whose values outweigh the records) is written
 * into stores whose maps start at different sizes, so that the map fills
 * at different points of the batch, the flush among them.
 */
static void test_flush_grows_map(void **state)
{
    struct testutil_seeded *f = *state;
    enum { WEEKS = 100, PER_WEEK = 4, N = WEEKS * PER_WEEK, RUNS = 12 };
    static const char *const coach[2] = {"flm.cara", "flm.dan"};
    static const char *const rep[2] = {"rep.ida", "rep.jon"};
    static const char *const observer[2] = {"alice", "bob"};
    char src[600], dst[600];
    struct stat st;

    testutil_store_close_drained(f->s);
    f->s = NULL;
    snprintf(src, sizeof(src), "%s/data.mdb", f->dir);
    assert_int_equal(stat(src, &st), 0);
    for (int run = 0; run < RUNS; run++) {
        struct store_policy pol;
        struct store_opts opts;
        struct store_stats ss;
        struct agg_verify_result r;
        struct store_write *w = calloc(N, sizeof(*w));
        uint8_t **bufs = calloc(N, sizeof(*bufs));
        struct store *s = NULL;
        char dir[512];

        assert_non_null(w);
        assert_non_null(bufs);
        testutil_tmpdir(dir, sizeof(dir));
        snprintf(dst, sizeof(dst), "%s/data.mdb", dir);
        copy_file(src, dst);
        store_policy_default(&pol);
        pol.enforce = 1;
        memset(&opts, 0, sizeof(opts));
        opts.policy = &pol;
        opts.map_size = (size_t)st.st_size + (size_t)run * 96 * 1024;
        opts.max_batch = N;
        assert_int_equal(store_open(dir, &opts, &s), 0);
        for (int i = 0; i < N; i++) {
            struct tobs o;
            int k = i % PER_WEEK;
            size_t n;

            /* Weekly from 2024-01-08 (a Monday), in the organisation's
             * time and the observers' certification. */
            tobs_make(&o, coach[k / 2], rep[k / 2], 1704708000LL + (i / PER_WEEK) * WEEK_S);
            n = coachq__v1__observation__get_packed_size(&o.t.o);
            bufs[i] = malloc(n);
            assert_non_null(bufs[i]);
            coachq__v1__observation__pack(&o.t.o, bufs[i]);
            w[i].obs = bufs[i];
            w[i].obs_len = n;
            w[i].observer_id = observer[k % 2];
            w[i].received_at_ms = testutil_now_ms();
        }
        for (int i = 0; i < N; i++) {
            assert_int_equal(store_submit(s, &w[i]), 0);
        }
        store_drain(s);
        while (store_completed_take(s) != NULL) {
        }
        for (int i = 0; i < N; i++) {
            if (w[i].rc != 0) {
                fail_msg("run %d record %d: rc %d (%s)", run, i, w[i].rc, w[i].fault.message);
            }
            assert_int_equal(w[i].result, STORE_STORED);
            free(bufs[i]);
        }
        assert_false(store_failed(s));
        store_get_stats(s, &ss);
        assert_int_equal(ss.records_stored, N);
        assert_int_equal(agg_verify(s, 0, NULL, NULL, &r), 0);
        assert_int_equal(r.counted, N);
        assert_int_equal(r.differences, 0);
        testutil_store_close_drained(s);
        testutil_rmrf(dir);
        free(w);
        free(bufs);
    }
}

/* ---- Schema 6: records keyed by sequence number ------------------------- */

/* Every audit line as `coachqd audit` shows its fields, one per line. */
struct audit_text {
    char buf[8192];
    size_t len;
    size_t refs; /* entries that name a record */
};

static int audit_text_cb(const Coachq__V1__AuditEntry *e, void *arg)
{
    struct audit_text *a = arg;
    int n = snprintf(a->buf + a->len, sizeof(a->buf) - a->len, "%llu %lld %s %s %s %s %s\n",
                     (unsigned long long)e->seq, (long long)e->at_ms, e->actor, e->action,
                     e->subject, e->detail, e->origin);

    assert_true(n > 0 && (size_t)n < sizeof(a->buf) - a->len);
    a->len += (size_t)n;
    a->refs += e->record_seq != 0;
    return 0;
}

static int audit_text_txn(struct store_txn *t, void *arg)
{
    return audit_list(t, 0, audit_text_cb, arg);
}

/* Submits o as observer and returns the result of a request that must
 * succeed (STORE_STORED or STORE_DUPLICATE). */
static enum store_result resubmit(struct store *s, const char *observer,
                                  const Coachq__V1__Observation *o)
{
    struct store_write w;

    submit_wait_one(s, observer, o, &w);
    assert_int_equal(w.rc, 0);
    return w.result;
}

/* The packed StoredObservation that store_get() reads for id. */
static size_t packed_record(struct store *s, const uint8_t *id, uint8_t *buf, size_t cap)
{
    Coachq__V1__StoredObservation *r = NULL;
    size_t n;

    assert_int_equal(store_get(s, id, &r), 0);
    n = coachq__v1__stored_observation__get_packed_size(r);
    assert_true(n <= cap);
    coachq__v1__stored_observation__pack(r, buf);
    coachq__v1__stored_observation__free_unpacked(r, NULL);
    return n;
}

/* Turns the closed store in dir into the layout of schema 5, with raw LMDB
 * puts: every record under its id in the obs database (no obs_seq, no
 * obs_ids), and the audit entry of each stored observation with its text
 * copied in, as the schema 5 writer wrote it. Returns the records moved. */
static size_t make_schema5_layout(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_dbi meta, seqs, ids, obs, audit;
    MDB_val k, v;
    uint8_t ver[4];
    uint8_t keys[32][8];
    uint8_t *vals[32];
    size_t lens[32];
    size_t nrec = 0, naudit = 0;
    int rc;

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "obs_seq", 0, &seqs), 0);
    assert_int_equal(mdb_dbi_open(txn, "obs_ids", 0, &ids), 0);
    assert_int_equal(mdb_dbi_open(txn, "audit", 0, &audit), 0);
    assert_int_equal(mdb_dbi_open(txn, "obs", 0, &obs), MDB_NOTFOUND);
    assert_int_equal(mdb_dbi_open(txn, "obs", MDB_CREATE, &obs), 0);

    assert_int_equal(mdb_cursor_open(txn, seqs, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Coachq__V1__StoredObservation *r =
            coachq__v1__stored_observation__unpack(NULL, v.mv_size, v.mv_data);
        MDB_val ik;

        assert_non_null(r);
        assert_int_equal(k.mv_size, 8);
        assert_int_equal(keys_get_be64(k.mv_data), r->seq);
        ik.mv_data = r->observation->id.data;
        ik.mv_size = 16;
        assert_int_equal(mdb_put(txn, obs, &ik, &v, MDB_NOOVERWRITE), 0);
        coachq__v1__stored_observation__free_unpacked(r, NULL);
        nrec++;
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);

    /* The audit entries that name a record get the text schema 5 copied. */
    assert_int_equal(mdb_cursor_open(txn, audit, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Coachq__V1__AuditEntry *e = coachq__v1__audit_entry__unpack(NULL, v.mv_size, v.mv_data);
        Coachq__V1__AuditEntry old = COACHQ__V1__AUDIT_ENTRY__INIT;
        Coachq__V1__StoredObservation *r;
        const Coachq__V1__Observation *o;
        char subject[40], detail[400];
        uint8_t sk[8];
        MDB_val rk, rv;

        assert_non_null(e);
        if (e->record_seq == 0) {
            coachq__v1__audit_entry__free_unpacked(e, NULL);
            continue;
        }
        /* The new form copies nothing of the record. */
        assert_string_equal(e->actor, "");
        assert_string_equal(e->detail, "");
        keys_put_be64(sk, e->record_seq);
        rk.mv_data = sk;
        rk.mv_size = 8;
        assert_int_equal(mdb_get(txn, seqs, &rk, &rv), 0);
        r = coachq__v1__stored_observation__unpack(NULL, rv.mv_size, rv.mv_data);
        assert_non_null(r);
        o = r->observation;
        old.seq = e->seq;
        old.at_ms = e->at_ms;
        old.actor = r->observer_id;
        old.action = o->calibration_ref.len == 16 ? "calibrate"
                     : r->version > 1             ? "amend"
                                                  : "submit";
        uuid_format(o->id.data, subject);
        old.subject = subject;
        snprintf(detail, sizeof(detail), "seq=%llu version=%u rubric=%s@%u coach=%s coachee=%s",
                 (unsigned long long)r->seq, (unsigned)r->version, o->rubric_id,
                 (unsigned)o->rubric_version, o->coach_id, o->coachee_id);
        old.detail = detail;
        old.origin = e->origin;
        assert_true(naudit < 32);
        memcpy(keys[naudit], k.mv_data, 8);
        lens[naudit] = coachq__v1__audit_entry__get_packed_size(&old);
        vals[naudit] = malloc(lens[naudit]);
        assert_non_null(vals[naudit]);
        coachq__v1__audit_entry__pack(&old, vals[naudit]);
        naudit++;
        coachq__v1__stored_observation__free_unpacked(r, NULL);
        coachq__v1__audit_entry__free_unpacked(e, NULL);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    assert_true(naudit > 0);
    for (size_t i = 0; i < naudit; i++) {
        k.mv_data = keys[i];
        k.mv_size = 8;
        v.mv_data = vals[i];
        v.mv_size = lens[i];
        assert_int_equal(mdb_put(txn, audit, &k, &v, 0), 0);
        free(vals[i]);
    }

    assert_int_equal(mdb_drop(txn, seqs, 1), 0);
    assert_int_equal(mdb_drop(txn, ids, 1), 0);
    k.mv_data = (void *)"schema_version";
    k.mv_size = strlen("schema_version");
    keys_put_be32(ver, 5);
    v.mv_data = ver;
    v.mv_size = 4;
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    return nrec;
}

/* The number of keys in the named database of the closed store in dir, or
 * -1 if there is no such database. */
static long db_entries(const char *dir, const char *name)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat st;
    long n = -1;

    testutil_lmdb_begin(dir, MDB_RDONLY, &env, &txn);
    if (mdb_dbi_open(txn, name, 0, &dbi) == 0) {
        assert_int_equal(mdb_stat(txn, dbi, &st), 0);
        n = (long)st.ms_entries;
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return n;
}

/* A store whose records are keyed by id (schema 5) opens as schema 6: its
 * records move to sequence order with an id index, and every record, list,
 * audit line and aggregate reads as before; verify passes, and opening
 * again changes nothing. */
static void test_schema6_rekey(void **state)
{
    struct testutil_seeded *f = *state;
    struct agg_verify_result r;
    struct audit_text *before = calloc(1, sizeof(*before));
    struct audit_text *after = calloc(1, sizeof(*after));
    static char out1[16384], out2[16384];
    struct tobs a, b, a2, c, d;
    const uint8_t *ids[4];
    uint8_t rec1[4][2048], rec2[2048];
    size_t len1[4];
    struct store_page page;
    struct store_query q;

    assert_non_null(before);
    assert_non_null(after);
    tobs_make(&a, "flm.cara", "rep.ida", T0);
    assert_int_equal(submit(f->s, "alice", &a.t.o), 0);
    tobs_make(&b, "flm.cara", "rep.lou", T0 + WEEK_S);
    assert_int_equal(submit(f->s, "bob", &b.t.o), 0);
    amended(&a2, "rep.lou");
    a2.t.o.amends.data = a.t.id;
    a2.t.o.amends.len = 16;
    assert_int_equal(submit(f->s, "alice", &a2.t.o), 0);
    /* carol double-codes bob's session. */
    tobs_make(&c, "flm.cara", "rep.lou", T0 + WEEK_S);
    assert_int_equal(submit(f->s, "carol", &c.t.o), 0);
    ids[0] = a.t.id;
    ids[1] = b.t.id;
    ids[2] = a2.t.id;
    ids[3] = c.t.id;
    for (int i = 0; i < 4; i++) {
        len1[i] = packed_record(f->s, ids[i], rec1[i], sizeof(rec1[i]));
    }
    assert_int_equal(store_view(f->s, audit_text_txn, before), 0);
    assert_int_equal(before->refs, 4);
    assert_non_null(strstr(before->buf, " alice amend "));
    assert_non_null(strstr(before->buf, " version=2 rubric=" RUBRIC "@"));
    testutil_store_close_drained(f->s);
    f->s = NULL;
    testutil_coachqd(out1, sizeof(out1), 0, "audit", "--data", f->dir, NULL);
    assert_int_equal(db_entries(f->dir, "obs_seq"), 4);
    assert_int_equal(db_entries(f->dir, "obs_ids"), 4);

    assert_int_equal(make_schema5_layout(f->dir), 4);
    assert_int_equal(db_entries(f->dir, "obs"), 4);
    assert_int_equal(db_entries(f->dir, "obs_seq"), -1);

    /* Opening migrates; the old database is gone. */
    f->s = testutil_store_open_enforced(f->dir);
    for (int i = 0; i < 4; i++) {
        size_t n = packed_record(f->s, ids[i], rec2, sizeof(rec2));

        assert_int_equal(n, len1[i]);
        assert_memory_equal(rec2, rec1[i], n);
    }
    assert_int_equal(store_view(f->s, audit_text_txn, after), 0);
    assert_int_equal(after->refs, 0); /* the old entries keep their text */
    assert_int_equal(after->len, before->len);
    assert_string_equal(after->buf, before->buf);
    memset(&q, 0, sizeof(q));
    q.by = STORE_BY_COACH;
    q.person_id = "flm.cara";
    q.since = INT64_MIN;
    q.until = INT64_MAX;
    q.limit = 10;
    assert_int_equal(store_list(f->s, &q, &page), 0);
    /* bob's, carol's and alice's amendment; not the version it replaced. */
    assert_int_equal(page.n, 3);
    for (size_t i = 0; i < page.n; i++) {
        assert_memory_not_equal(page.items[i]->observation->id.data, a.t.id, 16);
    }
    store_page_free(&page);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.observations, 4);
    assert_int_equal(r.differences, 0);
    /* A resubmission of a moved record is still a duplicate, and a new
     * record goes after the moved ones. */
    assert_int_equal(resubmit(f->s, "bob", &b.t.o), STORE_DUPLICATE);
    tobs_make(&d, "flm.cara", "rep.ida", T0 + 2 * WEEK_S);
    assert_int_equal(submit(f->s, "dave", &d.t.o), 0);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    assert_int_equal(db_entries(f->dir, "obs"), -1);
    assert_int_equal(db_entries(f->dir, "obs_seq"), 5);
    assert_int_equal(db_entries(f->dir, "obs_ids"), 5);

    /* The same lines from `coachqd audit`, plus dave's, and verify passes. */
    testutil_coachqd(out2, sizeof(out2), 0, "audit", "--data", f->dir, NULL);
    assert_true(strlen(out2) > strlen(out1));
    assert_memory_equal(out2, out1, strlen(out1));
    assert_non_null(strstr(out2 + strlen(out1), "  dave  submit  "));
    testutil_coachqd(out2, sizeof(out2), 0, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out2, "observations read: 5\n"));
    assert_non_null(strstr(out2, "differences: 0\n"));

    /* Migrating again (from schema 4, which also rebuilds the aggregates)
     * finds nothing to move. */
    make_schema(f->dir, 4);
    f->s = testutil_store_open_enforced(f->dir);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.observations, 5);
    assert_int_equal(r.differences, 0);
    free(before);
    free(after);
}

/* ---- coachqd verify ---------------------------------------------------- */

static void test_coachqd_verify(void **state)
{
    struct testutil_seeded *f = *state;
    struct tamper tp;
    char out[8192];

    seed_two(f);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "observations read: 2\n"));
    assert_non_null(strstr(out, "counted: 2\n"));
    assert_non_null(strstr(out, "aggregate values: 18\n"));
    assert_non_null(strstr(out, "differences: 0\n"));

    f->s = testutil_store_open_enforced(f->dir);
    tp.monday = MON0;
    tp.observations = 3;
    assert_int_equal(store_exec(f->s, tamper_fn, &tp), 0);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    testutil_coachqd(out, sizeof(out), 1, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "differences: 1\n"));
    assert_non_null(strstr(out, "difference: coach/flm.cara/coaching-conversation/2025-W10: "
                                "observations 3, rebuilt 1"));
    testutil_coachqd(out, sizeof(out), 0, "verify", "--repair", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "repaired"));
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "differences: 0\n"));
    testutil_coachqd(out, sizeof(out), 0, "audit", "--data", f->dir, NULL);
    assert_non_null(strstr(out, "verify.repair"));
    /* Usage errors. */
    testutil_coachqd(out, sizeof(out), 2, "verify", "extra", "--data", f->dir, NULL);
    testutil_coachqd(out, sizeof(out), 2, "verify", "--repair=yes", "--data", f->dir, NULL);
    testutil_coachqd(out, sizeof(out), 2, "verify", "--fix", "--data", f->dir, NULL);
    /* No store there. */
    testutil_coachqd(out, sizeof(out), 1, "verify", "--data", "/nonexistent/coachq", NULL);
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
        cmocka_unit_test_setup_teardown(test_verify_repair, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_schema_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_schema3_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_flush_grows_map, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_schema6_rekey, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_coachqd_verify, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_backdated_import_refreshes, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_crowded_session, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_crowded_sessions_verify, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test(test_value_mix),
        cmocka_unit_test_setup_teardown(test_mix, testutil_seeded_setup, testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_observer_coach, testutil_seeded_setup,
                                        testutil_seeded_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
