/* Tests of store/memo.c's people and reporting lines: the writer's batch
 * reads a person and a person's manager on a day once per batch, and must
 * still answer what a fresh read of the transaction would whenever a
 * person or a line is written in it, directly or in a nested transaction
 * (an administrator's change queued between two observations of one
 * batch), however often the memo has been emptied before. The rubric and
 * certification memo is tested in test_certs.c.
 *
 * Write callbacks run on the store's writer thread, where a failed cmocka
 * assertion cannot jump back to the test, so they return the number of the
 * first step that went wrong and the test thread asserts it is 0. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agg.h"
#include "error.h"
#include "keys.h"
#include "people.h"
#include "rubrics.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

#define FLM COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER
#define SLM COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER
#define REP 0 /* a rep holds no role */
/* The days of the steps: lines start on TESTUTIL_ORG_DAY (19000). */
#define D1 19500
/* Sessions of the batch test: 2025-03-05 from 10:00 UTC, one an hour,
 * all on one day (20152) after every line change below. */
#define T0 1741168800LL

/* Parks the writer in its notify callback after the first batch with an
 * observation, so that the test queues the next requests as one batch. The
 * writer calls notify after it has woken store_drain(), so the parker
 * belongs to the fixture and outlives the store (teardown()). */
struct parker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int parked;
    int release;
};

struct fixture {
    char dir[512];
    struct store *s;
    struct parker *pk; /* NULL, or the store's notify_arg */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    testutil_watchdog(120);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f->pk != NULL) {
        /* A test that failed may have left the writer parked. */
        pthread_mutex_lock(&f->pk->mu);
        f->pk->release = 1;
        pthread_cond_broadcast(&f->pk->cv);
        pthread_mutex_unlock(&f->pk->mu);
    }
    if (f->s != NULL) {
        store_drain(f->s);
        (void)store_completed_take(f->s);
        store_close(f->s);
    }
    /* The writer has ended: nothing calls the parker any more. */
    if (f->pk != NULL) {
        pthread_mutex_destroy(&f->pk->mu);
        pthread_cond_destroy(&f->pk->cv);
        free(f->pk);
    }
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* ---- The memo's answers, step by step ---------------------------------- */

/* 0 if the memo's manager of person on day is want (NULL: nobody). */
static int manager_is(struct store_txn *t, const char *person, int32_t day, const char *want)
{
    char m[65];
    int rc = store_txn_memo_manager_at(t, person, day, m, sizeof(m));

    if (want == NULL) {
        return rc == -ENOENT && m[0] == '\0' ? 0 : 1;
    }
    return rc == 0 && strcmp(m, want) == 0 ? 0 : 1;
}

/* 0 if person's manager on day is want (NULL: nobody) from day from to
 * day last, as people_manager_span() reads it and as the memo answers it
 * twice (a read, then what it remembered); else 1. */
static int span_is(struct store_txn *t, const char *person, int32_t day, const char *want,
                   int32_t from, int32_t last)
{
    for (int i = 0; i < 3; i++) {
        char m[65];
        int32_t f = 0, l = 0;
        int rc = i == 0 ? people_manager_span(t, person, day, m, sizeof(m), &f, &l)
                        : store_txn_memo_manager_span(t, person, day, m, sizeof(m), &f, &l);

        if (want == NULL ? rc != -ENOENT || m[0] != '\0' : rc != 0 || strcmp(m, want) != 0) {
            return 1;
        }
        if (f != from || l != last) {
            return 1;
        }
    }
    return 0;
}

/* 0 if the memo's person id holds role (0: is there with no role, -1: is
 * absent). */
static int person_has(struct store_txn *t, const char *id, int role)
{
    const Coachq__V1__Person *p = NULL;
    Coachq__V1__Person *own = NULL;
    int rc = store_txn_memo_person(t, id, &p, &own);
    int ok;

    if (role < 0) {
        ok = rc == -ENOENT && p == NULL && own == NULL;
    } else {
        ok = rc == 0 && p != NULL && strcmp(p->id, id) == 0 &&
             (role == 0 ? p->n_roles == 0 : people_has_role(p, (Coachq__V1__Role)role));
    }
    coachq__v1__person__free_unpacked(own, NULL);
    return ok ? 0 : 1;
}

/* 0 if the chain above person on day is a then b. */
static int chain_is(struct store_txn *t, const char *person, int32_t day, const char *a,
                    const char *b)
{
    char chain[PEOPLE_MAX_CHAIN][65];
    size_t n = 0;

    if (people_chain_at(t, person, day, chain, &n) != 0 || n != 2) {
        return 1;
    }
    return strcmp(chain[0], a) == 0 && strcmp(chain[1], b) == 0 ? 0 : 1;
}

static int nested_move_fn(struct store_txn *t, void *arg)
{
    (void)arg;
    return people_line_put(t, "r.ann", "m.kim", D1 - 50, NULL);
}

/* People too big for the memory the memo decodes into (its blocks' cap)
 * are read and handed to the caller like those beyond the cap on people. */
static int big_steps(struct store_txn *t)
{
    enum { N = 300, NAME = 2000 };
    const Coachq__V1__Person *p = NULL;
    Coachq__V1__Person *own = NULL;
    char name[NAME + 1];
    size_t owned = 0;
    char id[32];
    int rc = 0;

    memset(name, 'n', NAME);
    name[NAME] = '\0';
    for (int i = 0; i < N && rc == 0; i++) {
        snprintf(id, sizeof(id), "big.%03d", i);
        rc = testutil_put_person(t, id, name, FLM, NULL);
    }
    if (rc != 0) {
        return 30;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N; i++) {
            snprintf(id, sizeof(id), "big.%03d", i);
            rc = store_txn_memo_person(t, id, &p, &own);
            if (rc != 0 || p == NULL || strcmp(p->id, id) != 0 || strcmp(p->name, name) != 0 ||
                !people_has_role(p, FLM)) {
                coachq__v1__person__free_unpacked(own, NULL);
                return 31;
            }
            owned += own != NULL;
            coachq__v1__person__free_unpacked(own, NULL);
        }
    }
    return owned > 0 && owned < 2 * N ? 0 : 32;
}

/* The cap: more people and line answers than the memo keeps, each read
 * twice, all answered as a fresh read would; the memo keeps the first
 * ones and hands the others to the caller. */
static int cap_steps(struct store_txn *t)
{
    enum { N = STORE_MEMO_PEOPLE_MAX + 8 };
    const Coachq__V1__Person *p = NULL;
    Coachq__V1__Person *own = NULL;
    size_t owned = 0;
    char id[32];
    int rc = 0;

    for (int i = 0; i < N && rc == 0; i++) {
        snprintf(id, sizeof(id), "cap.%03d", i);
        rc = testutil_put_person(t, id, NULL, REP, i > 0 ? "cap.000" : NULL);
    }
    if (rc != 0) {
        return 20;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N; i++) {
            snprintf(id, sizeof(id), "cap.%03d", i);
            if (store_txn_memo_person(t, id, &p, &own) != 0 || p == NULL ||
                strcmp(p->id, id) != 0) {
                coachq__v1__person__free_unpacked(own, NULL);
                return 21;
            }
            owned += own != NULL;
            coachq__v1__person__free_unpacked(own, NULL);
            /* Two days each: more answers than the line table keeps. */
            if (i > 0 && (manager_is(t, id, D1, "cap.000") != 0 ||
                          manager_is(t, id, TESTUTIL_ORG_DAY - 1, NULL) != 0)) {
                return 22;
            }
        }
        /* The first pass fills both tables to their caps and no further. */
        if (pass == 0 && (t->memo->n_people != STORE_MEMO_PEOPLE_MAX ||
                          t->memo->n_lines != STORE_MEMO_LINES_MAX)) {
            return 24;
        }
    }
    if (owned != 2 * (N - STORE_MEMO_PEOPLE_MAX)) {
        return 23;
    }
    return big_steps(t);
}

static int memo_people_steps(struct store_txn *t)
{
    const Coachq__V1__Person *p = NULL, *q = NULL;
    Coachq__V1__Person *own = NULL;
    struct keys_buf k;
    char small[4];
    int fn_rc = -1;

    /* Nobody yet: the absence is remembered... */
    if (person_has(t, "m.pat", -1) != 0 || person_has(t, "m.pat", -1) != 0) {
        return 1;
    }
    /* ...and forgotten when the person is written. */
    if (testutil_put_person(t, "m.pat", NULL, FLM, NULL) != 0 || person_has(t, "m.pat", FLM) != 0) {
        return 2;
    }
    /* Kept: the same decoded person again, the memo's. */
    if (store_txn_memo_person(t, "m.pat", &p, &own) != 0 || own != NULL ||
        store_txn_memo_person(t, "m.pat", &q, &own) != 0 || own != NULL || p != q) {
        return 3;
    }
    /* A role taken away shows on the next read. */
    if (testutil_put_person(t, "m.pat", NULL, REP, NULL) != 0 || person_has(t, "m.pat", FLM) == 0 ||
        person_has(t, "m.pat", REP) != 0) {
        return 4;
    }
    /* A rep with no line reports to nobody, remembered... */
    if (testutil_put_person(t, "r.ann", NULL, REP, NULL) != 0 ||
        manager_is(t, "r.ann", D1, NULL) != 0 || manager_is(t, "r.ann", D1, NULL) != 0) {
        return 5;
    }
    /* ...until a line is written. */
    if (people_line_put(t, "r.ann", "m.pat", TESTUTIL_ORG_DAY, NULL) != 0 ||
        manager_is(t, "r.ann", D1, "m.pat") != 0 ||
        manager_is(t, "r.ann", TESTUTIL_ORG_DAY - 1, NULL) != 0) {
        return 6;
    }
    /* A transfer: the new manager from its day on, the old one before. */
    if (people_line_put(t, "r.ann", "m.kim", D1 - 100, NULL) != 0 ||
        manager_is(t, "r.ann", D1, "m.kim") != 0 ||
        manager_is(t, "r.ann", D1 - 101, "m.pat") != 0) {
        return 7;
    }
    /* Each answer holds from its change to the day before the next. */
    if (span_is(t, "r.ann", D1, "m.kim", D1 - 100, INT32_MAX) != 0 ||
        span_is(t, "r.ann", D1 - 100, "m.kim", D1 - 100, INT32_MAX) != 0 ||
        span_is(t, "r.ann", D1 - 101, "m.pat", TESTUTIL_ORG_DAY, D1 - 101) != 0 ||
        span_is(t, "r.ann", TESTUTIL_ORG_DAY, "m.pat", TESTUTIL_ORG_DAY, D1 - 101) != 0 ||
        span_is(t, "r.ann", TESTUTIL_ORG_DAY - 1, NULL, INT32_MIN, TESTUTIL_ORG_DAY - 1) != 0) {
        return 13;
    }
    /* A remembered answer is copied out as people_manager_at() would. */
    if (store_txn_memo_manager_at(t, "r.ann", D1, small, sizeof(small)) != -ENOBUFS ||
        store_txn_memo_manager_at(t, "bad id", D1, small, sizeof(small)) != -EINVAL) {
        return 8;
    }
    /* Chains go through the memo and follow a change of the line above. */
    if (testutil_put_person(t, "s.lee", NULL, SLM, NULL) != 0 ||
        testutil_put_person(t, "s.max", NULL, SLM, NULL) != 0 ||
        testutil_put_person(t, "m.kim", NULL, FLM, "s.lee") != 0 ||
        chain_is(t, "r.ann", D1, "m.kim", "s.lee") != 0 ||
        people_line_put(t, "m.kim", "s.max", TESTUTIL_ORG_DAY, NULL) != 0 ||
        chain_is(t, "r.ann", D1, "m.kim", "s.max") != 0) {
        return 9;
    }
    /* Deleting a line change is a write too. */
    keys_buf_reset(&k);
    keys_buf_id(&k, "r.ann");
    keys_buf_day(&k, D1 - 100);
    if (k.err != 0 || store_txn_del(t, t->s->dbi_lines, k.b, k.len) != 0 ||
        manager_is(t, "r.ann", D1, "m.pat") != 0) {
        return 10;
    }
    /* A nested transaction's writes (a store_exec() function in the batch)
     * empty the parent's memo before they run. */
    if (store_txn_nested(t, nested_move_fn, NULL, &fn_rc) != 0 || fn_rc != 0 ||
        manager_is(t, "r.ann", D1, "m.kim") != 0) {
        return 11;
    }
    /* So does deleting a person. */
    if (person_has(t, "s.lee", SLM) != 0 ||
        store_txn_del(t, t->s->dbi_people, (const uint8_t *)"s.lee", 5) != 0 ||
        person_has(t, "s.lee", -1) != 0) {
        return 12;
    }
    return cap_steps(t);
}

static void test_memo_people(void **state)
{
    struct fixture *f = *state;
    int step;

    f->s = testutil_store_open(f->dir, 0);
    step = testutil_memo_steps(f->s, memo_people_steps);
    if (step != 0) {
        fail_msg("step %d: the memo's answer is not a fresh read's", step);
    }
}

/* ---- Emptying the memo --------------------------------------------------- */

/* Deletes w.rep and its line behind the memo's back (mdb_del() where
 * store_txn_del() would empty the memo), so that what the memo answers
 * next shows what it kept. 0, or 1 if a delete failed. */
static int rep_vanish(struct store_txn *t)
{
    struct keys_buf k;
    MDB_val key;

    keys_buf_reset(&k);
    keys_buf_id(&k, "w.rep");
    keys_buf_day(&k, TESTUTIL_ORG_DAY);
    if (k.err != 0) {
        return 1;
    }
    key.mv_data = k.b;
    key.mv_size = k.len;
    if (mdb_del(t->txn, t->s->dbi_lines, &key, NULL) != 0) {
        return 1;
    }
    key.mv_data = "w.rep";
    key.mv_size = 5;
    return mdb_del(t->txn, t->s->dbi_people, &key, NULL) != 0 ? 1 : 0;
}

/* w.rep and its line to w.mgr, through the store. */
static int rep_put(struct store_txn *t)
{
    return testutil_put_person(t, "w.rep", NULL, REP, "w.mgr");
}

/* The memo answers w.rep and its manager, kept: they stay after
 * rep_vanish(). 0 or 1. */
static int rep_kept(struct store_txn *t)
{
    if (person_has(t, "w.rep", REP) != 0 || manager_is(t, "w.rep", D1, "w.mgr") != 0 ||
        rep_vanish(t) != 0) {
        return 1;
    }
    return person_has(t, "w.rep", REP) != 0 || manager_is(t, "w.rep", D1, "w.mgr") != 0;
}

/* After store_txn_memo_reset() the memo answers as a fresh read: w.rep is
 * gone, and w.new, not looked up before, is there. 0 or 1. */
static int rep_gone(struct store_txn *t)
{
    return person_has(t, "w.rep", -1) != 0 || manager_is(t, "w.rep", D1, NULL) != 0 ||
           person_has(t, "w.new", REP) != 0 || manager_is(t, "w.new", D1, "w.mgr") != 0;
}

static int memo_reset_steps(struct store_txn *t)
{
    struct store_txn_memo *m = t->memo;
    const struct store_memo_person *people;
    const struct store_memo_line *lines;

    if (testutil_put_person(t, "w.mgr", NULL, FLM, NULL) != 0 ||
        testutil_put_person(t, "w.new", NULL, REP, "w.mgr") != 0 || rep_put(t) != 0) {
        return 40;
    }
    if (rep_kept(t) != 0) {
        return 41;
    }
    /* Emptied, the memo keeps its tables for the rest of the attempt. */
    people = m->people;
    lines = m->lines;
    store_txn_memo_reset(m);
    if (people == NULL || lines == NULL || m->people != people || m->lines != lines ||
        m->n_people != 0 || m->n_lines != 0 || rep_gone(t) != 0) {
        return 42;
    }
    /* Many resets in a row, each after something was kept. */
    for (int i = 0; i < 3; i++) {
        if (rep_put(t) != 0 || rep_kept(t) != 0) {
            return 43;
        }
        store_txn_memo_reset(m);
        if (rep_gone(t) != 0) {
            return 44;
        }
    }
    /* After 2^32 generations the slots' stamps come round again: none left
     * from an earlier generation may answer. The first generation keeps
     * w.rep, then the memo is put where the count runs out. */
    store_txn_memo_clear(m);
    if (rep_put(t) != 0 || rep_kept(t) != 0) {
        return 45;
    }
    m->gen = UINT32_MAX;
    store_txn_memo_reset(m);
    if (rep_gone(t) != 0) {
        return 46;
    }
    return 0;
}

static void test_memo_reset(void **state)
{
    struct fixture *f = *state;
    int step;

    f->s = testutil_store_open(f->dir, 0);
    step = testutil_memo_steps(f->s, memo_reset_steps);
    if (step != 0) {
        fail_msg("step %d: the emptied memo still answers what it kept", step);
    }
}

/* ---- Through the writer: changes between two observations of a batch --- */

static void parker_notify(void *arg)
{
    struct parker *p = arg;

    pthread_mutex_lock(&p->mu);
    if (!p->parked) {
        p->parked = 1;
        pthread_cond_broadcast(&p->cv);
        while (!p->release) {
            pthread_cond_wait(&p->cv, &p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/* The organisation of the batch tests, without its rubric. */
static int org_people_fn(struct store_txn *t, void *arg)
{
    int rc;

    (void)arg;
    rc = testutil_put_cert(t, "obs.amy", TESTUTIL_ORG_DAY, TESTUTIL_ORG_DAY + 3650, "admin");
    if (rc == 0) {
        rc = testutil_put_person(t, "s.one", NULL, SLM, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "s.two", NULL, SLM, NULL);
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "m.one", NULL, FLM, "s.one");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "m.two", NULL, FLM, "s.one");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "r.one", NULL, REP, "m.one");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "r.two", NULL, REP, "m.one");
    }
    if (rc == 0) {
        rc = testutil_put_person(t, "r.three", NULL, REP, "m.two");
    }
    return rc;
}

static int org_fn(struct store_txn *t, void *arg)
{
    int rc = testutil_put_rubric(t, "", 0);

    return rc == 0 ? org_people_fn(t, arg) : rc;
}

/* An administrator moves r.one to m.two. */
static int move_rep_fn(struct store_txn *t, void *arg)
{
    (void)arg;
    return people_line_put(t, "r.one", "m.two", TESTUTIL_ORG_DAY + 1, NULL);
}

/* An administrator takes m.one's front-line manager role away. */
static int demote_fn(struct store_txn *t, void *arg)
{
    (void)arg;
    return testutil_put_person(t, "m.one", NULL, REP, NULL);
}

/* An administrator moves m.two under s.two and has the aggregates follow
 * (the stored sessions of m.two now count in s.two's line). */
static int move_coach_fn(struct store_txn *t, void *arg)
{
    int rc;

    (void)arg;
    rc = people_line_put(t, "m.two", "s.two", TESTUTIL_ORG_DAY + 1, NULL);
    return rc == 0 ? agg_rebuild_txn(t) : rc;
}

static int noop_fn(struct store_txn *t, void *arg)
{
    (void)t;
    (void)arg;
    return 0;
}

enum { BATCH_N = 8 };

struct batch_req {
    const char *coach; /* NULL: fn instead */
    const char *coachee;
    store_txn_cb fn;
    int rc;            /* what the writer must answer */
    const char *field; /* the refusal's field, with ERROR_REFUSED */
};

/*
 * One batch: an observation of m.one's coaching of r.one; r.one moved to
 * m.two; the same again, refused, since r.one no longer reports to m.one;
 * m.one demoted; m.one's coaching of r.two, refused, since m.one is no
 * longer a front-line manager; m.two's coaching of r.three; m.two moved
 * under s.two; m.two's coaching of r.three again, which the aggregates
 * must count in s.two's line (agg_verify() rebuilds from scratch). Each answer
 * after a change is the one a fresh read gives, though the batch read the
 * same people and lines on the same day before it.
 */
static void test_memo_batch_sees_changes(void **state)
{
    static const struct batch_req req[BATCH_N] = {
        {"m.one", "r.one", NULL, 0, NULL},
        {NULL, NULL, move_rep_fn, 0, NULL},
        {"m.one", "r.one", NULL, ERROR_REFUSED, "observation.coachee_id"},
        {NULL, NULL, demote_fn, 0, NULL},
        {"m.one", "r.two", NULL, ERROR_REFUSED, "observation.coach_id"},
        {"m.two", "r.three", NULL, 0, NULL},
        {NULL, NULL, move_coach_fn, 0, NULL},
        {"m.two", "r.three", NULL, 0, NULL},
    };
    struct fixture *f = *state;
    struct parker *pk;
    struct store_policy pol;
    struct store_opts opts;
    struct store_write w0, w[BATCH_N];
    uint8_t *buf[BATCH_N] = {NULL};
    struct store_stats st0, st;
    struct agg_verify_result vr;
    size_t done = 0;
    int submit_rc;
    int wrong = 0;

    pk = calloc(1, sizeof(*pk));
    assert_non_null(pk);
    pthread_mutex_init(&pk->mu, NULL);
    pthread_cond_init(&pk->cv, NULL);
    f->pk = pk;
    store_policy_default(&pol);
    pol.enforce = 1;
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    opts.notify = parker_notify;
    opts.notify_arg = pk;
    assert_int_equal(store_open(f->dir, &opts, &f->s), 0);
    assert_int_equal(store_exec(f->s, org_fn, NULL), 0);

    /* The requests are made before any is queued: from the first
     * store_submit() to store_drain() nothing may fail the test, since the
     * writer holds pointers into this frame until it is drained. */
    for (int i = 0; i < BATCH_N; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].received_at_ms = (T0 + 86400) * 1000;
        if (req[i].coach != NULL) {
            struct testutil_obs o;
            size_t n;

            testutil_obs_make(&o, req[i].coach, req[i].coachee, T0 + i * 3600);
            n = coachq__v1__observation__get_packed_size(&o.o);
            buf[i] = malloc(n);
            assert_non_null(buf[i]);
            coachq__v1__observation__pack(&o.o, buf[i]);
            w[i].obs = buf[i];
            w[i].obs_len = n;
            w[i].observer_id = "obs.amy";
        } else {
            w[i].fn = req[i].fn;
            w[i].observer_id = "admin";
        }
    }

    /* A first request alone; the writer parks after it. */
    memset(&w0, 0, sizeof(w0));
    w0.fn = noop_fn;
    w0.observer_id = "admin";
    submit_rc = store_submit(f->s, &w0);
    pthread_mutex_lock(&pk->mu);
    while (submit_rc == 0 && !pk->parked) {
        pthread_cond_wait(&pk->cv, &pk->mu);
    }
    pthread_mutex_unlock(&pk->mu);
    store_get_stats(f->s, &st0);
    for (int i = 0; i < BATCH_N && submit_rc == 0; i++) {
        submit_rc = store_submit(f->s, &w[i]);
    }
    pthread_mutex_lock(&pk->mu);
    pk->release = 1;
    pthread_cond_broadcast(&pk->cv);
    pthread_mutex_unlock(&pk->mu);
    store_drain(f->s);
    assert_int_equal(submit_rc, 0);
    for (struct store_write *x = store_completed_take(f->s); x != NULL; x = x->next) {
        done++;
    }
    assert_int_equal(done, BATCH_N + 1);

    /* All eight in one transaction. */
    store_get_stats(f->s, &st);
    assert_true(st.commits == st0.commits + 1);
    assert_true(st.last_batch == BATCH_N);
    /* Every answer is checked before the test fails, so that a failure
     * names each change the batch missed. */
    for (int i = 0; i < BATCH_N; i++) {
        if (w[i].rc != req[i].rc ||
            (req[i].field != NULL && strcmp(w[i].fault.field, req[i].field) != 0)) {
            print_error("request %d: rc %d, want %d (%s: %s)\n", i, w[i].rc, req[i].rc,
                        w[i].fault.field, w[i].fault.message);
            wrong++;
        }
        free(buf[i]);
    }
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &vr), 0);
    if (vr.differences != 0) {
        print_error("aggregates: %llu differences from a rebuild\n",
                    (unsigned long long)vr.differences);
        wrong++;
    }
    assert_int_equal(wrong, 0);
    assert_true(vr.counted == 3);
}

/* Stores o through s's writer, as a batch of its own; returns the
 * writer's rc and copies the refusal into *fault. */
static int submit_obs_fault(struct store *s, const Coachq__V1__Observation *o,
                            struct validate_error *fault)
{
    struct store_write w;
    uint8_t *buf;
    size_t n;

    n = coachq__v1__observation__get_packed_size(o);
    buf = malloc(n);
    assert_non_null(buf);
    coachq__v1__observation__pack(o, buf);
    memset(&w, 0, sizeof(w));
    w.obs = buf;
    w.obs_len = n;
    w.observer_id = "obs.amy";
    w.received_at_ms = (T0 + 86400) * 1000;
    assert_int_equal(store_submit(s, &w), 0);
    store_drain(s);
    (void)store_completed_take(s);
    free(buf);
    *fault = w.fault;
    return w.rc;
}

/* submit_obs_fault() giving the refusal's field only. */
static int submit_obs(struct store *s, const Coachq__V1__Observation *o, char *field, size_t flen)
{
    struct validate_error fault;
    int rc = submit_obs_fault(s, o, &fault);

    snprintf(field, flen, "%s", fault.field);
    return rc;
}

/* submit_obs() of an observation of coach's coaching of coachee at
 * started_at. */
static int submit_one(struct store *s, const char *coach, const char *coachee, int64_t started_at,
                      char *field, size_t flen)
{
    struct testutil_obs o;

    testutil_obs_make(&o, coach, coachee, started_at);
    return submit_obs(s, &o.o, field, flen);
}

/*
 * The writer keeps its memo's tables from batch to batch, and nothing a
 * batch read may answer the next one: another process (an administrator's
 * command on the same store) demotes m.one between two batches, and the
 * second batch's observation of m.one's coaching is refused as a fresh
 * read refuses it, though the first batch read m.one as a front-line
 * manager.
 */
static void test_memo_between_batches(void **state)
{
    struct fixture *f = *state;
    struct store_policy pol;
    struct store_opts opts;
    char field[96];
    pid_t pid;
    int status = 0;

    store_policy_default(&pol);
    pol.enforce = 1;
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    assert_int_equal(store_open(f->dir, &opts, &f->s), 0);
    assert_int_equal(store_exec(f->s, org_fn, NULL), 0);
    assert_int_equal(submit_one(f->s, "m.one", "r.one", T0, field, sizeof(field)), 0);

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct store *other = NULL;
        int rc = store_open(f->dir, &opts, &other);

        if (rc == 0) {
            rc = store_exec(other, demote_fn, NULL);
            store_close(other);
        }
        _exit(rc == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    assert_int_equal(submit_one(f->s, "m.one", "r.two", T0 + 3600, field, sizeof(field)),
                     ERROR_REFUSED);
    assert_string_equal(field, "observation.coach_id");
}

/* coaching-conversation v1 naming its first behaviour twice: first
 * without N/A, then with it (the store keeps what an administrator puts;
 * nothing makes ids unique). */
static int twice_fn(struct store_txn *t, void *arg)
{
    Coachq__V1__Rubric r = COACHQ__V1__RUBRIC__INIT;
    Coachq__V1__Behaviour b[10];
    Coachq__V1__Behaviour *bp[10];

    (void)arg;
    for (size_t i = 0; i < 10; i++) {
        Coachq__V1__Behaviour init = COACHQ__V1__BEHAVIOUR__INIT;

        b[i] = init;
        b[i].id = (char *)testutil_behaviours[i == 1 ? 0 : i];
        b[i].name = (char *)testutil_behaviours[i];
        b[i].allow_not_applicable = i == 1;
        bp[i] = &b[i];
    }
    r.id = (char *)"coaching-conversation";
    r.version = 1;
    r.name = (char *)"Coaching conversation";
    r.behaviours = bp;
    r.n_behaviours = 10;
    r.effective_day = 18000;
    return rubrics_put(t, &r, NULL);
}

/*
 * The ratings' check tries the behaviour at a rating's own position
 * before searching the rubric, which finds the same behaviour only when
 * the rubric names each once. A rubric naming its first behaviour twice,
 * the second time allowing N/A: a record rating it twice, the second
 * time N/A, is refused, since a search finds the first, which does not
 * allow it (the position would find the second).
 */
static void test_memo_rubric_twice(void **state)
{
    struct fixture *f = *state;
    struct store_policy pol;
    struct store_opts opts;
    struct testutil_obs o;
    char field[96];

    store_policy_default(&pol);
    pol.enforce = 1;
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    assert_int_equal(store_open(f->dir, &opts, &f->s), 0);
    assert_int_equal(store_exec(f->s, twice_fn, NULL), 0);
    assert_int_equal(store_exec(f->s, org_people_fn, NULL), 0);
    testutil_obs_make(&o, "m.one", "r.one", T0);
    o.r[1].behaviour_id = (char *)testutil_behaviours[0];
    o.r[1].not_applicable = 1;
    assert_int_equal(submit_obs(f->s, &o.o, field, sizeof(field)), ERROR_REFUSED);
    assert_string_equal(field, "observation.ratings[1].not_applicable");
}

/*
 * The ratings check tries each rating's behaviour at its own position in
 * the rubric before searching; a record that lists them in another order
 * is checked against the behaviours it names. Here they come in reverse:
 * the record is stored, and a not-applicable mark on the first rating
 * (the rubric's last behaviour, which allows none) is refused naming that
 * behaviour, not the rubric's first one at the same position.
 */
static void test_memo_ratings_out_of_order(void **state)
{
    struct fixture *f = *state;
    struct store_policy pol;
    struct store_opts opts;
    struct testutil_obs o;
    struct validate_error fault;

    store_policy_default(&pol);
    pol.enforce = 1;
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    assert_int_equal(store_open(f->dir, &opts, &f->s), 0);
    assert_int_equal(store_exec(f->s, org_fn, NULL), 0);
    testutil_obs_make(&o, "m.one", "r.one", T0);
    for (size_t i = 0; i < o.o.n_ratings / 2; i++) {
        Coachq__V1__Rating *r = o.rp[i];

        o.rp[i] = o.rp[o.o.n_ratings - 1 - i];
        o.rp[o.o.n_ratings - 1 - i] = r;
    }
    assert_string_equal(o.rp[0]->behaviour_id, testutil_behaviours[9]);
    assert_int_equal(submit_obs_fault(f->s, &o.o, &fault), 0);

    testutil_obs_make(&o, "m.one", "r.one", T0 + 3600);
    for (size_t i = 0; i < o.o.n_ratings / 2; i++) {
        Coachq__V1__Rating *r = o.rp[i];

        o.rp[i] = o.rp[o.o.n_ratings - 1 - i];
        o.rp[o.o.n_ratings - 1 - i] = r;
    }
    o.rp[0]->not_applicable = 1;
    assert_int_equal(submit_obs_fault(f->s, &o.o, &fault), ERROR_REFUSED);
    assert_string_equal(fault.field, "observation.ratings[0].not_applicable");
    assert_non_null(strstr(fault.message, "'documents-actions'"));
    assert_null(strstr(fault.message, "'collaborative'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_memo_people, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo_batch_sees_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo_between_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo_rubric_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo_ratings_out_of_order, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
