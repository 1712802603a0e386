/*
 * test_server: integration tests of coachqd through the real client.
 *
 * Every test starts the real coachqd binary ($COACHQD) on 127.0.0.1 port 0
 * with a fresh LMDB directory holding the organisation of
 * fixtures/org.csv (testutil_seed_org(): certified observers, front-line
 * managers and their reps) and the test certificates, then drives it with
 * client/client.h (and, for one test, the coachq command line run
 * in-process through cli_main()). Every observation follows the
 * organisation's rules, so what is checked here is the transport and the
 * writer: records come back byte-identical with the certificate's identity
 * as observer, resubmission is idempotent and a reused id is refused, a
 * record is readable by its observer and its coach and by no other
 * observer, validation errors name the field and do not disturb the rest
 * of a pipelined batch, paged listing returns every match once and in
 * order, bad certificates are refused, group commit under 32 concurrent
 * connections, and SIGTERM drains without losing an acknowledged record.
 * The rules themselves are test_domain's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli.h"
#include "client.h"
#include "obs_json.h"
#include "testutil.h"
#include "uuid.h"

#define WATCHDOG_SECONDS 240
/* 2026-10-27T00:00:00Z: a session time the validator accepts. */
#define T0 1793059200LL
#define HOUR 3600LL

#define CONC_THREADS 32
#define CONC_PER_THREAD 500
#define CONC_TOTAL (CONC_THREADS * CONC_PER_THREAD)

#define DRAIN_TOTAL 2000
#define DRAIN_KILL_AFTER 200

/* ---- Observations ------------------------------------------------------- */

/* A complete observation (testutil_obs_make()) plus what testutil leaves
 * out, so that every record also carries a marker, notes, evidence and a
 * not-applicable rating through the round trip. It points into itself, so
 * it is made in place and never moved. */
struct tobs {
    struct testutil_obs t;
    Coachq__V1__Marker m;
    Coachq__V1__Marker *mp[1];
    char notes[64];
};

/* The pairs of fixtures/org.csv where the coachee reports to the coach
 * (a front-line manager) on the T0 dates. */
static const char *const coach_pairs[][2] = {
    {"mgr.jones", "rep.kim"},
    {"flm.cara", "rep.ida"},
    {"flm.dan", "rep.jon"},
    {"flm.dan", "rep.lou"},
};

/* Fills x with a valid observation with a fresh id. */
static void tobs_make(struct tobs *x, const char *coach, const char *coachee, int64_t started_at)
{
    struct testutil_obs *t = &x->t;

    memset(x, 0, sizeof(*x));
    testutil_obs_make(t, coach, coachee, started_at);
    snprintf(x->notes, sizeof(x->notes), "session at %lld", (long long)started_at);
    t->r[0].evidence = (char *)"asked what the buyer said";
    /* buyers-view is one of the behaviours the rubric lets be not
     * applicable. */
    assert_string_equal(t->r[3].behaviour_id, "buyers-view");
    t->r[3].score = 0;
    t->r[3].not_applicable = 1;
    coachq__v1__marker__init(&x->m);
    x->m.kind = COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION;
    x->m.offset_ms = 135000;
    x->m.note = (char *)"first open question";
    x->mp[0] = &x->m;
    t->o.duration_s = 2700;
    t->o.n_markers = 1;
    t->o.markers = x->mp;
    t->o.notes = x->notes;
}

/* ---- Server and client helpers -------------------------------------------- */

/* One test's server and directories. */
struct fx {
    char dir[512];
    char data[600];
    struct testutil_server srv;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    testutil_seed_org(f->data);
    testutil_server_start(&f->srv, f->data, NULL);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    if (f == NULL) {
        return 0;
    }
    /* Only does something when the test failed before stopping it. */
    testutil_server_abandon(&f->srv);
    testutil_rmrf(f->dir);
    free(f);
    *state = NULL;
    return 0;
}

/* Submits one observation and returns its result. */
static struct client_submit_result submit_one(struct client *c, Coachq__V1__Observation *o)
{
    struct client_submit_result r;
    Coachq__V1__Observation *one[1] = {o};
    int rc = client_submit_many(c, one, 1, &r, NULL, NULL);

    assert_int_equal(rc, 0);
    assert_int_equal(r.done, 1);
    return r;
}

static void assert_stored(const struct client_submit_result *r)
{
    if (r->err.code != COACHQ__V1__CODE__OK) {
        print_error("expected STORED, got code %d %s: %s\n", (int)r->err.code, r->err.field,
                    r->err.message);
    }
    assert_int_equal(r->err.code, COACHQ__V1__CODE__OK);
    assert_int_equal(r->result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    assert_true(r->seq > 0);
    assert_true(r->received_at_ms > 0);
}

/* Gets id and returns the record (free with
 * coachq__v1__stored_observation__free_unpacked()). */
static Coachq__V1__StoredObservation *get_ok(struct client *c, const uint8_t *id)
{
    Coachq__V1__StoredObservation *rec = NULL;
    struct client_error e;
    int rc = client_get(c, id, &rec, &e);

    if (rc < 0) {
        print_error("get failed (%d): code %d %s\n", rc, (int)e.code, e.message);
    }
    assert_int_equal(rc, 0);
    assert_non_null(rec);
    assert_non_null(rec->observation);
    return rec;
}

static void assert_get_not_found(struct client *c, const uint8_t *id)
{
    Coachq__V1__StoredObservation *rec = NULL;
    struct client_error e;
    int rc = client_get(c, id, &rec, &e);

    assert_int_equal(rc, -EREMOTEIO);
    assert_null(rec);
    assert_int_equal(e.code, COACHQ__V1__CODE__NOT_FOUND);
}

/* ---- 1. Submit and get --------------------------------------------------- */

static void test_submit_get_roundtrip(void **state)
{
    struct fx *f = *state;
    struct client *c = testutil_connect(&f->srv, "alice", 0);
    struct tobs *a = malloc(sizeof(*a));
    struct client_submit_result r;
    Coachq__V1__StoredObservation *rec;
    uint8_t unknown[UUID_LEN];

    assert_non_null(a);
    assert_string_equal(client_welcome(c)->user_id, "alice");
    tobs_make(a, "mgr.jones", "rep.kim", T0 + 14 * HOUR);
    r = submit_one(c, &a->t.o);
    assert_stored(&r);

    rec = get_ok(c, a->t.id);
    testutil_assert_same_obs(rec->observation, &a->t.o);
    assert_string_equal(rec->observer_id, "alice");
    assert_int_equal(rec->seq, r.seq);
    assert_int_equal(rec->received_at_ms, r.received_at_ms);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);

    assert_int_equal(uuid_generate(unknown), 0);
    assert_get_not_found(c, unknown);

    client_free(c);
    free(a);
    testutil_stop_clean(&f->srv);
}

/* ---- 2. Duplicates, id reuse and read scoping ------------------------------ */

static void test_duplicate_and_conflict(void **state)
{
    struct fx *f = *state;
    struct client *alice = testutil_connect(&f->srv, "alice", 0);
    struct client *bob = testutil_connect(&f->srv, "bob", 1);
    struct client *cara = testutil_connect(&f->srv, "flm.cara", 2);
    struct client *gil = testutil_connect(&f->srv, "lead.gil", 3);
    struct tobs *a = malloc(sizeof(*a));
    struct tobs *b = malloc(sizeof(*b));
    struct client_submit_result r1, r2, r;
    Coachq__V1__StoredObservation *rec = NULL;
    Coachq__V1__Stats *st = NULL;
    struct client_error e;
    uint64_t writer_cpu_us;
    char *saved_notes;

    assert_non_null(a);
    assert_non_null(b);
    tobs_make(a, "mgr.jones", "rep.kim", T0);
    r1 = submit_one(alice, &a->t.o);
    assert_stored(&r1);

    /* The same record again: DUPLICATE with the first store's seq and time. */
    r2 = submit_one(alice, &a->t.o);
    assert_int_equal(r2.err.code, COACHQ__V1__CODE__OK);
    assert_int_equal(r2.result, COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE);
    assert_int_equal(r2.seq, r1.seq);
    assert_int_equal(r2.received_at_ms, r1.received_at_ms);

    /* The same id with other content is refused; the original stays. */
    saved_notes = a->t.o.notes;
    a->t.o.notes = (char *)"edited afterwards";
    r = submit_one(alice, &a->t.o);
    assert_int_equal(r.err.code, COACHQ__V1__CODE__ALREADY_EXISTS);
    assert_string_equal(r.err.field, "observation.id");
    a->t.o.notes = saved_notes;
    rec = get_ok(alice, a->t.id);
    testutil_assert_same_obs(rec->observation, &a->t.o);
    assert_int_equal(rec->seq, r1.seq);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);

    /* Bob sends alice's very record: the id belongs to another observer. */
    r = submit_one(bob, &a->t.o);
    assert_int_equal(r.err.code, COACHQ__V1__CODE__ALREADY_EXISTS);

    /* Bob is neither its observer, coach nor coachee: it does not exist for
     * him, and the refused submission revealed nothing either. */
    assert_get_not_found(bob, a->t.id);
    rec = get_ok(alice, a->t.id);
    assert_string_equal(rec->observer_id, "alice");
    coachq__v1__stored_observation__free_unpacked(rec, NULL);

    /* A record about flm.cara's coaching is hers to read (the coach sees
     * their own observations); to bob, an observer who did not write it, it
     * does not exist. Coachees are reps, who have no login. */
    tobs_make(b, "flm.cara", "rep.ida", T0 + HOUR);
    r = submit_one(alice, &b->t.o);
    assert_stored(&r);
    assert_true(r.seq > r1.seq);
    rec = get_ok(cara, b->t.id);
    testutil_assert_same_obs(rec->observation, &b->t.o);
    assert_string_equal(rec->observer_id, "alice");
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    assert_get_not_found(bob, b->t.id);
    /* ... nor is the other coach's record hers. */
    assert_get_not_found(cara, a->t.id);

    /* The server's counters are for enablement leads and administrators;
     * an observer is refused. */
    assert_int_equal(client_stats(alice, &st, &e), -EREMOTEIO);
    assert_null(st);
    assert_int_equal(e.code, COACHQ__V1__CODE__PERMISSION_DENIED);
    assert_true(client_connected(alice));
    assert_int_equal(client_stats(gil, &st, &e), 0);
    assert_int_equal(st->records_stored, 2);
    assert_int_equal(st->duplicates, 1);
    /* The writer's CPU time is counted, and a further submit moves it. */
    writer_cpu_us = st->writer_cpu_us;
    assert_true(writer_cpu_us > 0);
    coachq__v1__stats__free_unpacked(st, NULL);
    tobs_make(b, "flm.cara", "rep.ida", T0 + 2 * HOUR);
    r = submit_one(alice, &b->t.o);
    assert_stored(&r);
    assert_int_equal(client_stats(gil, &st, &e), 0);
    assert_int_equal(st->records_stored, 3);
    assert_true(st->writer_cpu_us > writer_cpu_us);
    coachq__v1__stats__free_unpacked(st, NULL);

    client_free(alice);
    client_free(bob);
    client_free(cara);
    client_free(gil);
    free(a);
    free(b);
    testutil_stop_clean(&f->srv);
}

/* ---- 3. Validation inside a pipelined batch -------------------------------- */

static void test_validation_in_batch(void **state)
{
    struct fx *f = *state;
    struct client *c = testutil_connect(&f->srv, "alice", 0);
    enum { N = 5, BAD = 2 };
    struct tobs *t = calloc(N, sizeof(*t));
    Coachq__V1__Observation *obs[N];
    struct client_submit_result res[N];

    assert_non_null(t);
    for (size_t i = 0; i < N; i++) {
        tobs_make(&t[i], "mgr.jones", "rep.kim", T0 + (int64_t)i * HOUR);
        obs[i] = &t[i].t.o;
    }
    t[BAD].t.r[2].score = 7;
    assert_int_equal(client_submit_many(c, obs, N, res, NULL, NULL), 0);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(res[i].done, 1);
        if (i == BAD) {
            assert_int_equal(res[i].err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
            assert_string_equal(res[i].err.field, "observation.ratings[2].score");
            assert_non_null(strstr(res[i].err.message, "7"));
            assert_get_not_found(c, t[i].t.id);
        } else {
            Coachq__V1__StoredObservation *rec;

            assert_stored(&res[i]);
            rec = get_ok(c, t[i].t.id);
            testutil_assert_same_obs(rec->observation, &t[i].t.o);
            coachq__v1__stored_observation__free_unpacked(rec, NULL);
        }
    }
    /* The connection survived the refusal. */
    assert_true(client_connected(c));

    client_free(c);
    free(t);
    testutil_stop_clean(&f->srv);
}

/* ---- 4. Paged listing by coach within a time window ----------------------- */

static int cmp_session_order(const void *pa, const void *pb)
{
    const struct tobs *a = *(const struct tobs *const *)pa;
    const struct tobs *b = *(const struct tobs *const *)pb;

    if (a->t.o.started_at != b->t.o.started_at) {
        return a->t.o.started_at < b->t.o.started_at ? -1 : 1;
    }
    return memcmp(a->t.id, b->t.id, UUID_LEN);
}

static void test_list_paging(void **state)
{
    struct fx *f = *state;
    struct client *alice = testutil_connect(&f->srv, "alice", 0);
    struct client *bob = testutil_connect(&f->srv, "bob", 1);
    enum { NMATCH = 40, NBOB = 10, NOTHER = 5 };
    const int64_t since = T0 + 3 * HOUR;
    const int64_t until = T0 + 15 * HOUR;
    struct tobs *mine = calloc(NMATCH, sizeof(*mine));
    struct tobs *bobs = calloc(NBOB, sizeof(*bobs));
    struct tobs *other = calloc(NOTHER, sizeof(*other));
    struct tobs *expect[NMATCH];
    Coachq__V1__Observation *obs[NMATCH];
    struct client_submit_result res[NMATCH];
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    uint8_t cursor[256];
    size_t nexpect = 0;
    size_t got = 0;
    size_t pages = 0;
    size_t empty_pages = 0;

    assert_non_null(mine);
    assert_non_null(bobs);
    assert_non_null(other);
    /* Two sessions per hour, so ties are ordered by id; submitted out of
     * time order. */
    for (size_t k = 0; k < NMATCH; k++) {
        size_t p = (k * 17) % NMATCH;
        int64_t at = T0 + (int64_t)(p / 2) * HOUR;

        tobs_make(&mine[k], "flm.dan", k % 2 ? "rep.jon" : "rep.lou", at);
        obs[k] = &mine[k].t.o;
        if (at >= since && at < until) {
            expect[nexpect++] = &mine[k];
        }
    }
    assert_int_equal(nexpect, 24);
    qsort(expect, nexpect, sizeof(expect[0]), cmp_session_order);
    assert_int_equal(client_submit_many(alice, obs, NMATCH, res, NULL, NULL), 0);
    for (size_t k = 0; k < NMATCH; k++) {
        assert_stored(&res[k]);
    }
    /* Same coach, same window, another observer: not alice's to read. Ten
     * of them in a row between two of alice's hours: the pages skip them
     * (every page is full but the last), and no cursor is made from them. */
    for (size_t k = 0; k < NBOB; k++) {
        tobs_make(&bobs[k], "flm.dan", "rep.jon", since + 60 + (int64_t)k * 300);
        obs[k] = &bobs[k].t.o;
    }
    assert_int_equal(client_submit_many(bob, obs, NBOB, res, NULL, NULL), 0);
    for (size_t k = 0; k < NBOB; k++) {
        assert_stored(&res[k]);
    }
    /* Alice's, in the window, but another coach. */
    for (size_t k = 0; k < NOTHER; k++) {
        tobs_make(&other[k], "mgr.jones", "rep.kim", since + (int64_t)k * HOUR);
        obs[k] = &other[k].t.o;
    }
    assert_int_equal(client_submit_many(alice, obs, NOTHER, res, NULL, NULL), 0);
    for (size_t k = 0; k < NOTHER; k++) {
        assert_stored(&res[k]);
    }

    q.by = COACHQ__V1__LIST_BY__LIST_BY_COACH;
    q.person_id = (char *)"flm.dan";
    q.since = since;
    q.until = until;
    q.page_size = 5;
    for (;;) {
        Coachq__V1__ObservationPage *page = NULL;
        struct client_error e;
        int rc = client_list(alice, &q, &page, &e);
        int more;

        if (rc < 0) {
            print_error("list failed (%d): code %d %s\n", rc, (int)e.code, e.message);
        }
        assert_int_equal(rc, 0);
        pages++;
        assert_true(pages < 100);
        assert_true(page->n_observations <= 5);
        if (page->n_observations == 0) {
            empty_pages++;
        }
        for (size_t i = 0; i < page->n_observations; i++) {
            const Coachq__V1__StoredObservation *s = page->observations[i];

            assert_true(got < nexpect);
            assert_non_null(s->observation);
            assert_string_equal(s->observer_id, "alice");
            assert_string_equal(s->observation->coach_id, "flm.dan");
            assert_true(s->observation->started_at >= since);
            assert_true(s->observation->started_at < until);
            /* The next expected one, in order: each exactly once. */
            assert_int_equal(s->observation->id.len, UUID_LEN);
            assert_memory_equal(s->observation->id.data, expect[got]->t.id, UUID_LEN);
            testutil_assert_same_obs(s->observation, &expect[got]->t.o);
            got++;
        }
        more = page->next_cursor.len > 0;
        if (more) {
            assert_true(page->next_cursor.len <= sizeof(cursor));
            memcpy(cursor, page->next_cursor.data, page->next_cursor.len);
            q.cursor.data = cursor;
            q.cursor.len = page->next_cursor.len;
        }
        coachq__v1__observation_page__free_unpacked(page, NULL);
        if (!more) {
            break;
        }
    }
    assert_int_equal(got, nexpect);
    assert_int_equal(empty_pages, 0);
    assert_int_equal(pages, (nexpect + 4) / 5);
    print_message("list: %zu records in %zu pages of at most 5, none empty\n", got, pages);

    client_free(alice);
    client_free(bob);
    free(mine);
    free(bobs);
    free(other);
    testutil_stop_clean(&f->srv);
}

/* ---- 5. Refused certificates ------------------------------------------- */

static void test_certificates_refused(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {"", "../other/users/alice", "expired", "svc"};
    struct client *alice = testutil_connect(&f->srv, "alice", 0);
    struct tobs *a = malloc(sizeof(*a));
    struct tobs *b = malloc(sizeof(*b));
    struct client_submit_result r;
    Coachq__V1__StoredObservation *rec;

    assert_non_null(a);
    assert_non_null(b);
    tobs_make(a, "mgr.jones", "rep.kim", T0);
    r = submit_one(alice, &a->t.o);
    assert_stored(&r);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct client_opts o;
        struct client_error e;
        struct client *c = NULL;
        int rc;

        testutil_client_opts(&o, &f->srv, bad[i], 1);
        o.timeout_ms = 5000;
        rc = client_connect(&o, &c, &e);
        print_message("certificate '%s': rc=%d: %s\n", bad[i][0] ? bad[i] : "(none)", rc,
                      e.message);
        assert_true(rc < 0);
        assert_null(c);
        assert_int_not_equal(e.code, COACHQ__V1__CODE__OK);
        assert_true(e.message[0] != '\0');
    }

    /* The connection made before keeps working. */
    assert_true(client_connected(alice));
    tobs_make(b, "mgr.jones", "rep.kim", T0 + HOUR);
    r = submit_one(alice, &b->t.o);
    assert_stored(&r);
    rec = get_ok(alice, a->t.id);
    testutil_assert_same_obs(rec->observation, &a->t.o);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);

    client_free(alice);
    free(a);
    free(b);
    testutil_stop_clean(&f->srv);
}

/* ---- 6. 32 concurrent connections and group commit ------------------------ */

struct worker {
    pthread_t thread;
    pthread_barrier_t *start;
    struct client_opts opts; /* strings borrowed from testutil's static slot */
    struct tobs *obs;        /* CONC_PER_THREAD */
    Coachq__V1__Observation **ptrs;
    struct client_submit_result *res;
    int connect_rc;
    int submit_rc;
    char message[512];
};

/* Worker thread: one connection, one pipelined submit of all its records. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct client *c = NULL;
    struct client_error e;

    w->connect_rc = client_connect(&w->opts, &c, &e);
    if (w->connect_rc < 0) {
        snprintf(w->message, sizeof(w->message), "%s", e.message);
    }
    /* Everyone starts submitting at once, so that commits overlap. */
    pthread_barrier_wait(w->start);
    if (c != NULL) {
        w->submit_rc = client_submit_many(c, w->ptrs, CONC_PER_THREAD, w->res, NULL, NULL);
    }
    client_free(c);
    return NULL;
}

static int cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa;
    uint64_t b = *(const uint64_t *)pb;

    return a < b ? -1 : a > b;
}

static int cmp_id(const void *pa, const void *pb)
{
    return memcmp(pa, pb, UUID_LEN);
}

static void test_concurrent_group_commit(void **state)
{
    struct fx *f = *state;
    struct worker *w = calloc(CONC_THREADS, sizeof(*w));
    struct tobs *obs = calloc(CONC_TOTAL, sizeof(*obs));
    Coachq__V1__Observation **ptrs = calloc(CONC_TOTAL, sizeof(*ptrs));
    struct client_submit_result *res = calloc(CONC_TOTAL, sizeof(*res));
    uint64_t *seqs = calloc(CONC_TOTAL, sizeof(*seqs));
    uint8_t(*ids)[UUID_LEN] = calloc(CONC_TOTAL, UUID_LEN);
    unsigned char *seen = calloc(CONC_TOTAL, 1);
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    uint8_t cursor[256];
    pthread_barrier_t start;
    struct client_opts opts;
    struct client *c;
    Coachq__V1__Stats *st = NULL;
    struct client_error e;
    size_t listed = 0;
    double mean;

    assert_non_null(w);
    assert_non_null(obs);
    assert_non_null(ptrs);
    assert_non_null(res);
    assert_non_null(seqs);
    assert_non_null(ids);
    assert_non_null(seen);
    for (size_t i = 0; i < CONC_TOTAL; i++) {
        const char *const *pair = coach_pairs[(i / CONC_PER_THREAD) % 4];

        tobs_make(&obs[i], pair[0], pair[1], T0 + (int64_t)(i % CONC_PER_THREAD) * 60);
        ptrs[i] = &obs[i].t.o;
        memcpy(ids[i], obs[i].t.id, UUID_LEN);
    }
    qsort(ids, CONC_TOTAL, UUID_LEN, cmp_id);

    testutil_client_opts(&opts, &f->srv, "alice", 0);
    opts.timeout_ms = 60000;
    assert_int_equal(pthread_barrier_init(&start, NULL, CONC_THREADS), 0);
    for (size_t t = 0; t < CONC_THREADS; t++) {
        w[t].start = &start;
        w[t].opts = opts;
        w[t].obs = &obs[t * CONC_PER_THREAD];
        w[t].ptrs = &ptrs[t * CONC_PER_THREAD];
        w[t].res = &res[t * CONC_PER_THREAD];
        assert_int_equal(pthread_create(&w[t].thread, NULL, worker_main, &w[t]), 0);
    }
    for (size_t t = 0; t < CONC_THREADS; t++) {
        pthread_join(w[t].thread, NULL);
    }
    pthread_barrier_destroy(&start);

    for (size_t t = 0; t < CONC_THREADS; t++) {
        if (w[t].connect_rc < 0 || w[t].submit_rc < 0) {
            print_error("worker %zu: connect %d submit %d: %s\n", t, w[t].connect_rc,
                        w[t].submit_rc, w[t].message);
        }
        assert_int_equal(w[t].connect_rc, 0);
        assert_int_equal(w[t].submit_rc, 0);
    }
    for (size_t i = 0; i < CONC_TOTAL; i++) {
        assert_int_equal(res[i].done, 1);
        assert_stored(&res[i]);
        seqs[i] = res[i].seq;
    }
    qsort(seqs, CONC_TOTAL, sizeof(seqs[0]), cmp_u64);
    for (size_t i = 1; i < CONC_TOTAL; i++) {
        assert_true(seqs[i] > seqs[i - 1]);
    }

    /* The counters are an enablement lead's to read. */
    c = testutil_connect(&f->srv, "lead.gil", 0);
    assert_int_equal(client_stats(c, &st, &e), 0);
    mean = st->commits > 0 ? (double)st->batched_requests / (double)st->commits : 0.0;
    print_message("group commit: %d records from %d connections: commits=%llu max_batch=%llu "
                  "batched_requests=%llu mean_batch=%.1f commit_ms_mean=%.3f commit_ms_max=%.3f\n",
                  CONC_TOTAL, CONC_THREADS, (unsigned long long)st->commits,
                  (unsigned long long)st->max_batch, (unsigned long long)st->batched_requests, mean,
                  st->commits > 0 ? (double)st->commit_us_total / (double)st->commits / 1000.0
                                  : 0.0,
                  (double)st->commit_us_max / 1000.0);
    assert_int_equal(st->records_stored, CONC_TOTAL);
    assert_int_equal(st->batched_requests, CONC_TOTAL);
    assert_int_equal(st->duplicates, 0);
    assert_true(st->commits > 0);
    assert_true(st->commits < CONC_TOTAL);
    assert_true(st->max_batch > 1);
    coachq__v1__stats__free_unpacked(st, NULL);
    client_free(c);

    /* Every record is in alice's observer index, once. */
    c = testutil_connect(&f->srv, "alice", 0);
    q.by = COACHQ__V1__LIST_BY__LIST_BY_OBSERVER;
    q.person_id = (char *)"alice";
    q.page_size = 500;
    for (size_t pages = 0;; pages++) {
        Coachq__V1__ObservationPage *page = NULL;
        int more;

        assert_true(pages < 200);
        assert_int_equal(client_list(c, &q, &page, &e), 0);
        for (size_t i = 0; i < page->n_observations; i++) {
            const Coachq__V1__Observation *o = page->observations[i]->observation;
            uint8_t(*hit)[UUID_LEN];

            assert_non_null(o);
            assert_int_equal(o->id.len, UUID_LEN);
            hit = bsearch(o->id.data, ids, CONC_TOTAL, UUID_LEN, cmp_id);
            assert_non_null(hit);
            assert_int_equal(seen[hit - ids], 0);
            seen[hit - ids] = 1;
            listed++;
        }
        more = page->next_cursor.len > 0;
        if (more) {
            assert_true(page->next_cursor.len <= sizeof(cursor));
            memcpy(cursor, page->next_cursor.data, page->next_cursor.len);
            q.cursor.data = cursor;
            q.cursor.len = page->next_cursor.len;
        }
        coachq__v1__observation_page__free_unpacked(page, NULL);
        if (!more) {
            break;
        }
    }
    assert_int_equal(listed, CONC_TOTAL);
    /* And a sample reads back byte for byte. */
    for (size_t i = 0; i < CONC_TOTAL; i += 997) {
        Coachq__V1__StoredObservation *rec = get_ok(c, obs[i].t.id);

        testutil_assert_same_obs(rec->observation, &obs[i].t.o);
        assert_int_equal(rec->seq, res[i].seq);
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
    }

    client_free(c);
    free(w);
    free(obs);
    free(ptrs);
    free(res);
    free(seqs);
    free(ids);
    free(seen);
    testutil_stop_clean(&f->srv);
}

/* ---- 7. The coachq command line, in-process -------------------------------- */

/* Runs cli_main with the NULL-terminated args (after argv[0]); *out and
 * *err get what it printed (caller frees). Returns the exit code. */
static int run_cli(const char *const *args, char **out, char **err)
{
    char *argv[32];
    int argc = 0;
    size_t olen = 0, elen = 0;
    FILE *fo = open_memstream(out, &olen);
    FILE *fe = open_memstream(err, &elen);
    int rc;

    assert_non_null(fo);
    assert_non_null(fe);
    argv[argc++] = (char *)"coachq";
    for (size_t i = 0; args[i] != NULL; i++) {
        assert_true(argc < 31);
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;
    rc = cli_main(argc, argv, fo, fe);
    fclose(fo);
    fclose(fe);
    return rc;
}

/* The number after "<id> <word> seq=" in text, or 0. */
static unsigned long long seq_in(const char *text, const char *id, const char *word)
{
    char needle[80];
    const char *p;

    snprintf(needle, sizeof(needle), "%s %s seq=", id, word);
    p = strstr(text, needle);
    if (p == NULL) {
        return 0;
    }
    return strtoull(p + strlen(needle), NULL, 10);
}

/* Two sessions as an observer writes them: every behaviour of
 * coaching-conversation v1 rated, evidence for the 1s and 4s, one marked
 * not applicable. */
static const char cli_input[] =
    "[\n"
    "  {\n"
    "    \"rubric\": \"coaching-conversation\",\n"
    "    \"rubric_version\": 1,\n"
    "    \"coach\": \"flm.cara\",\n"
    "    \"coachee\": \"rep.ida\",\n"
    "    \"session_type\": \"deal_review\",\n"
    "    \"focus\": \"process\",\n"
    "    \"started_at\": \"2026-11-02T14:30:00Z\",\n"
    "    \"duration_min\": 45,\n"
    "    \"ratings\": [\n"
    "      {\"behaviour\": \"collaborative\", \"score\": 3, \"evidence\": \"Agreed the "
    "agenda.\"},\n"
    "      {\"behaviour\": \"regular-cadence\", \"score\": 2},\n"
    "      {\"behaviour\": \"consistent-framework\", \"score\": 3},\n"
    "      {\"behaviour\": \"buyers-view\", \"score\": \"n/a\"},\n"
    "      {\"behaviour\": \"looks-for-evidence\", \"score\": 3},\n"
    "      {\"behaviour\": \"elicits-critical-thinking\", \"score\": 2},\n"
    "      {\"behaviour\": \"praises-insight\", \"score\": 3},\n"
    "      {\"behaviour\": \"objective-curious\", \"score\": 3},\n"
    "      {\"behaviour\": \"doesnt-take-over\", \"score\": 1, \"evidence\": \"Called the "
    "CFO.\"},\n"
    "      {\"behaviour\": \"documents-actions\", \"score\": 2}\n"
    "    ],\n"
    "    \"markers\": [{\"kind\": \"open_question\", \"offset\": \"02:15\"}],\n"
    "    \"actions\": [{\"text\": \"Send the plan\", \"owner\": \"rep.ida\", \"due\": "
    "\"2026-11-09\"}],\n"
    "    \"notes\": \"first\"\n"
    "  },\n"
    "  {\n"
    "    \"rubric\": \"coaching-conversation\",\n"
    "    \"rubric_version\": 1,\n"
    "    \"coach\": \"flm.dan\",\n"
    "    \"coachee\": \"rep.jon\",\n"
    "    \"session_type\": \"call_review\",\n"
    "    \"focus\": \"skill\",\n"
    "    \"started_at\": \"2026-11-03T09:00:00+01:00\",\n"
    "    \"duration_min\": 30,\n"
    "    \"ratings\": [\n"
    "      {\"behaviour\": \"collaborative\", \"score\": 4, \"evidence\": \"x\"},\n"
    "      {\"behaviour\": \"regular-cadence\", \"score\": 3},\n"
    "      {\"behaviour\": \"consistent-framework\", \"score\": 3},\n"
    "      {\"behaviour\": \"buyers-view\", \"score\": 2},\n"
    "      {\"behaviour\": \"looks-for-evidence\", \"score\": 2},\n"
    "      {\"behaviour\": \"elicits-critical-thinking\", \"score\": 3},\n"
    "      {\"behaviour\": \"praises-insight\", \"score\": 2},\n"
    "      {\"behaviour\": \"objective-curious\", \"score\": 3},\n"
    "      {\"behaviour\": \"doesnt-take-over\", \"score\": 3},\n"
    "      {\"behaviour\": \"documents-actions\", \"score\": 2}\n"
    "    ]\n"
    "  }\n"
    "]\n";

static void test_cli_submit_get(void **state)
{
    struct fx *f = *state;
    char server[64], cert[600], key[600], ca[600], expired_cert[600], expired_key[600];
    char file[700];
    char ids[2][UUID_STR_LEN];
    char *out = NULL, *err = NULL, *out2 = NULL;
    json_t *root, *got;
    json_error_t jerr;
    Coachq__V1__Observation *from_file = NULL, *from_get = NULL;
    char perr[256];
    uint8_t raw[UUID_LEN];
    FILE *fp;
    int rc;

    snprintf(server, sizeof(server), "127.0.0.1:%d", f->srv.port);
    testutil_cert_path(cert, sizeof(cert), "users/alice.crt");
    testutil_cert_path(key, sizeof(key), "users/alice.key");
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    testutil_cert_path(expired_cert, sizeof(expired_cert), "users/expired.crt");
    testutil_cert_path(expired_key, sizeof(expired_key), "users/expired.key");
    /* No stray config file of the person running the tests. */
    setenv("XDG_CONFIG_HOME", f->dir, 1);
    snprintf(file, sizeof(file), "%s/week45.json", f->dir);
    fp = fopen(file, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(cli_input, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);

    {
        const char *args[] = {"submit", "--server", server, "--cert", cert, "--key",
                              key,      "--ca",     ca,     file,     NULL};

        rc = run_cli(args, &out, &err);
        if (rc != CLI_EXIT_OK) {
            print_error("coachq submit: exit %d\nout:\n%s\nerr:\n%s\n", rc, out, err);
        }
        assert_int_equal(rc, CLI_EXIT_OK);
        assert_non_null(strstr(out, "stored=2 duplicate=0 failed=0"));
        free(err);
    }
    /* The file now carries the ids it was given. */
    root = json_load_file(file, 0, &jerr);
    assert_non_null(root);
    assert_true(json_is_array(root));
    assert_int_equal(json_array_size(root), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(root, i), "id"));

        assert_non_null(id);
        assert_int_equal(uuid_parse(id, raw), 0);
        uuid_format(raw, ids[i]);
        assert_true(seq_in(out, ids[i], "STORED") > 0);
    }
    assert_string_not_equal(ids[0], ids[1]);
    assert_int_equal(obs_json_parse(json_array_get(root, 0), &from_file, perr, sizeof(perr)), 0);

    /* Again: the same ids, so DUPLICATE with the first seqs. */
    {
        const char *args[] = {"submit", "--server", server, "--cert", cert, "--key",
                              key,      "--ca",     ca,     file,     NULL};

        rc = run_cli(args, &out2, &err);
        if (rc != CLI_EXIT_OK) {
            print_error("coachq submit again: exit %d\nout:\n%s\nerr:\n%s\n", rc, out2, err);
        }
        assert_int_equal(rc, CLI_EXIT_OK);
        assert_non_null(strstr(out2, "DUPLICATE"));
        assert_non_null(strstr(out2, "stored=0 duplicate=2 failed=0"));
        for (size_t i = 0; i < 2; i++) {
            assert_int_equal(seq_in(out2, ids[i], "DUPLICATE"), seq_in(out, ids[i], "STORED"));
        }
        free(err);
    }

    /* get --json prints the record as submitted, plus seq and observer. */
    {
        const char *args[] = {"get", "--server", server, "--cert", cert,   "--key",
                              key,   "--ca",     ca,     "--json", ids[0], NULL};
        char *gout = NULL;

        rc = run_cli(args, &gout, &err);
        if (rc != CLI_EXIT_OK) {
            print_error("coachq get: exit %d\nout:\n%s\nerr:\n%s\n", rc, gout, err);
        }
        assert_int_equal(rc, CLI_EXIT_OK);
        got = json_loads(gout, 0, &jerr);
        if (got == NULL) {
            print_error("coachq get --json printed no JSON: %s\n%s\n", jerr.text, gout);
        }
        assert_non_null(got);
        assert_string_equal(json_string_value(json_object_get(got, "id")), ids[0]);
        assert_string_equal(json_string_value(json_object_get(got, "observer")), "alice");
        assert_int_equal(json_integer_value(json_object_get(got, "seq")),
                         seq_in(out, ids[0], "STORED"));
        assert_int_equal(obs_json_parse(got, &from_get, perr, sizeof(perr)), 0);
        testutil_assert_same_obs(from_get, from_file);
        json_decref(got);
        free(gout);
        free(err);
    }

    /* A record that does not exist: exit 1. */
    {
        char missing[UUID_STR_LEN];
        const char *args[] = {"get", "--server", server, "--cert", cert, "--key",
                              key,   "--ca",     ca,     missing,  NULL};
        char *gout = NULL;

        assert_int_equal(uuid_generate(raw), 0);
        uuid_format(raw, missing);
        rc = run_cli(args, &gout, &err);
        assert_int_equal(rc, CLI_EXIT_FAILED);
        assert_non_null(strstr(err, "NOT_FOUND"));
        free(gout);
        free(err);
    }

    /* A refused certificate: exit 3. */
    {
        const char *args[] = {"get",       "--server", server, "--cert", expired_cert, "--key",
                              expired_key, "--ca",     ca,     ids[0],   NULL};
        char *gout = NULL;

        rc = run_cli(args, &gout, &err);
        assert_int_equal(rc, CLI_EXIT_CONNECT);
        free(gout);
        free(err);
    }

    obs_json_free(from_file);
    obs_json_free(from_get);
    json_decref(root);
    free(out);
    free(out2);
    testutil_stop_clean(&f->srv);
}

/* ---- 8. SIGTERM drains ------------------------------------------------------ */

struct drain_progress {
    pid_t pid;
    int killed;
    size_t answered_at_kill;
};

/* Sends SIGTERM to the server once some acknowledgements arrived. */
static void drain_progress_cb(size_t answered, size_t total, void *arg)
{
    struct drain_progress *p = arg;

    (void)total;
    if (!p->killed && answered >= DRAIN_KILL_AFTER) {
        p->killed = 1;
        p->answered_at_kill = answered;
        kill(p->pid, SIGTERM);
    }
}

static void test_sigterm_drains(void **state)
{
    struct fx *f = *state;
    struct tobs *t = calloc(DRAIN_TOTAL, sizeof(*t));
    Coachq__V1__Observation **obs = calloc(DRAIN_TOTAL, sizeof(*obs));
    struct client_submit_result *res = calloc(DRAIN_TOTAL, sizeof(*res));
    struct drain_progress p = {0};
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    Coachq__V1__ObservationPage *page = NULL;
    struct client_error e;
    struct client *c;
    size_t stored = 0, refused = 0, unanswered = 0, listed = 0;
    uint8_t cursor[256];
    int rc;
    int st;

    assert_non_null(t);
    assert_non_null(obs);
    assert_non_null(res);
    for (size_t i = 0; i < DRAIN_TOTAL; i++) {
        tobs_make(&t[i], "flm.cara", "rep.ida", T0 + (int64_t)i * 60);
        obs[i] = &t[i].t.o;
    }
    c = testutil_connect(&f->srv, "alice", 0);
    p.pid = f->srv.pid;
    rc = client_submit_many(c, obs, DRAIN_TOTAL, res, drain_progress_cb, &p);
    client_free(c);
    assert_int_equal(p.killed, 1);

    st = testutil_server_stop(&f->srv, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    for (size_t i = 0; i < DRAIN_TOTAL; i++) {
        if (res[i].done && res[i].err.code == COACHQ__V1__CODE__OK) {
            assert_int_equal(res[i].result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
            stored++;
            continue;
        }
        /* Not acknowledged: said so, never silently. */
        assert_int_equal(res[i].err.code, COACHQ__V1__CODE__UNAVAILABLE);
        assert_true(res[i].err.message[0] != '\0');
        if (res[i].done) {
            refused++;
        } else {
            unanswered++;
        }
    }
    print_message("SIGTERM after %zu answers: submit rc=%d, %zu STORED, %zu refused UNAVAILABLE "
                  "by the server, %zu unanswered (connection closed)\n",
                  p.answered_at_kill, rc, stored, refused, unanswered);
    for (size_t i = 0; i < DRAIN_TOTAL; i++) {
        if (!res[i].done) {
            print_message("an unanswered record says: %s\n", res[i].err.message);
            break;
        }
    }
    assert_true(stored >= DRAIN_KILL_AFTER);
    assert_true(stored < DRAIN_TOTAL);
    assert_true(rc < 0 || unanswered == 0);

    /* Restart on the same data: everything acknowledged is there, nothing
     * else is. */
    testutil_server_start(&f->srv, f->data, NULL);
    c = testutil_connect(&f->srv, "alice", 0);
    for (size_t i = 0; i < DRAIN_TOTAL; i++) {
        if (res[i].done && res[i].err.code == COACHQ__V1__CODE__OK) {
            Coachq__V1__StoredObservation *rec = get_ok(c, t[i].t.id);

            testutil_assert_same_obs(rec->observation, &t[i].t.o);
            assert_int_equal(rec->seq, res[i].seq);
            coachq__v1__stored_observation__free_unpacked(rec, NULL);
        } else {
            assert_get_not_found(c, t[i].t.id);
        }
    }
    q.by = COACHQ__V1__LIST_BY__LIST_BY_COACH;
    q.person_id = (char *)"flm.cara";
    q.page_size = 500;
    for (size_t pages = 0;; pages++) {
        int more;

        assert_true(pages < 50);
        assert_int_equal(client_list(c, &q, &page, &e), 0);
        listed += page->n_observations;
        more = page->next_cursor.len > 0;
        if (more) {
            memcpy(cursor, page->next_cursor.data, page->next_cursor.len);
            q.cursor.data = cursor;
            q.cursor.len = page->next_cursor.len;
        }
        coachq__v1__observation_page__free_unpacked(page, NULL);
        if (!more) {
            break;
        }
    }
    assert_int_equal(listed, stored);
    client_free(c);
    free(t);
    free(obs);
    free(res);
    testutil_stop_clean(&f->srv);
}

/* Runs coachqd with args (NULL-terminated, after the program name) and
 * returns its wait status. */
static int run_coachqd(const char *const *args)
{
    const char *argv[24];
    int n = 0, st = 0;
    pid_t pid;

    argv[n++] = getenv("COACHQD");
    assert_non_null(argv[0]);
    for (; args[n - 1] != NULL && n < 23; n++) {
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        unsetenv("COACHQD_CONFIG");
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return st;
}

/*
 * Start-up failures end with a message and a meaningful exit status, never
 * a crash. Regression: a listen address that did not resolve made the stop
 * path close a listener that was never initialised, and coachqd aborted.
 */
static void test_startup_errors(void **state)
{
    struct fx *f = *state;
    char cert[600], key[600], ca[600];
    const char *bad_host[] = {
        "--data", f->data, "--listen", "nonexistent.invalid:0", "--cert", cert, "--key",
        key,      "--ca",  ca,         "--dashboard",           "off",    NULL};
    const char *bad_cert[] = {
        "--data", f->data, "--listen",    "127.0.0.1:0", "--cert", "/nonexistent.crt", "--key", key,
        "--ca",   ca,      "--dashboard", "127.0.0.1:0", NULL};
    const char *usage[] = {"--max-frame", "lots", NULL};
    const char *help[] = {"--help", NULL};
    int st;

    testutil_cert_path(cert, sizeof(cert), "server.crt");
    testutil_cert_path(key, sizeof(key), "server.key");
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    st = run_coachqd(bad_host);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    st = run_coachqd(bad_cert);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
    st = run_coachqd(usage);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    st = run_coachqd(help);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/*
 * coachqd --config FILE: a running server takes its settings from the
 * file (here the limits its Welcome announces), a flag wins over the file,
 * and a wrong file stops it before it listens, with exit 2.
 */
static void test_config_file(void **state)
{
    struct fx *f = *state;
    const char *extra[] = {"--config", NULL, "--max-in-flight", "9", NULL};
    const Coachq__V1__Welcome *w;
    struct client *c;
    char conf[700], data2[700];
    FILE *fp;
    int st;

    testutil_stop_clean(&f->srv);
    snprintf(conf, sizeof(conf), "%s/coachqd.conf", f->dir);
    fp = fopen(conf, "w");
    assert_non_null(fp);
    fputs("# limits for this test\n"
          "max-frame = 4096\n"
          "\n"
          "max-in-flight = 7\n"
          "stats-interval = 0\n",
          fp);
    assert_int_equal(fclose(fp), 0);
    extra[1] = conf;
    /* In f->srv, so that a failure's teardown stops it. */
    testutil_server_start(&f->srv, f->data, extra);
    c = testutil_connect(&f->srv, "alice", 0);
    w = client_welcome(c);
    assert_non_null(w);
    assert_int_equal(w->max_frame_bytes, 4096);
    assert_int_equal(w->max_in_flight, 9);
    client_free(c);
    testutil_stop_clean(&f->srv);

    /* A key the server does not know: exit 2 before anything is opened. */
    fp = fopen(conf, "a");
    assert_non_null(fp);
    fputs("max-frames = 1\n", fp);
    assert_int_equal(fclose(fp), 0);
    snprintf(data2, sizeof(data2), "%s/never", f->dir);
    {
        const char *args[] = {"--data",      data2,         "--config", conf, "--listen",
                              "127.0.0.1:0", "--dashboard", "off",      NULL};

        st = run_coachqd(args);
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_int_equal(access(data2, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submit_get_roundtrip, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_conflict, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_validation_in_batch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_list_paging, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_certificates_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_group_commit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cli_submit_get, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_drains, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_startup_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_config_file, fx_setup, fx_teardown),
    };

    testutil_watchdog(WATCHDOG_SECONDS);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
