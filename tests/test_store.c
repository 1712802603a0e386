/* Tests of store/: schema and reopen, dedupe, group commit, index listing,
 * map growth, a full disk, and the engine with a hook of its own. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "error.h"
#include "obs.h"
#include "store.h"
#include "testutil.h"

/* ---- Helpers ---------------------------------------------------------- */

static void tmpdir_make(char *out, size_t outlen)
{
    const char *base = getenv("TMPDIR");
    int n;

    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    n = snprintf(out, outlen, "%s/cq-test-store-XXXXXX", base);
    assert_true(n > 0 && (size_t)n < outlen);
    assert_non_null(mkdtemp(out));
}

/* Removes a directory tree (files and directories only). */
static void rmrf(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char child[1024];

    if (lstat(path, &st) != 0) {
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    d = opendir(path);
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                continue;
            }
            snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
            rmrf(child);
        }
        closedir(d);
    }
    rmdir(path);
}

struct obs_spec {
    uint8_t id[16];
    const char *coach;
    const char *coachee;
    int64_t started_at;
    const char *notes;
    const char *rubric; /* NULL: "rubric-1" */
};

static void make_uuid(uint8_t out[16], uint32_t n, uint8_t salt)
{
    /* Spread the counter so that ids are not in insertion order. */
    uint32_t h = n * 2654435761u;

    memset(out, salt, 16);
    out[0] = (uint8_t)(h >> 24);
    out[1] = (uint8_t)(h >> 16);
    out[2] = (uint8_t)(h >> 8);
    out[3] = (uint8_t)h;
    out[12] = (uint8_t)(n >> 24);
    out[13] = (uint8_t)(n >> 16);
    out[14] = (uint8_t)(n >> 8);
    out[15] = (uint8_t)n;
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
}

/* Packs an observation; the caller frees *out. */
static size_t pack_obs(const struct obs_spec *sp, uint8_t **out)
{
    Coachq__V1__Observation o = COACHQ__V1__OBSERVATION__INIT;
    size_t n;

    o.id.data = (uint8_t *)sp->id;
    o.id.len = 16;
    o.rubric_id = (char *)(sp->rubric != NULL ? sp->rubric : "rubric-1");
    o.rubric_version = 1;
    o.coach_id = (char *)sp->coach;
    o.coachee_id = (char *)sp->coachee;
    o.session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;
    o.started_at = sp->started_at;
    o.duration_s = 1800;
    o.notes = (char *)(sp->notes != NULL ? sp->notes : "");
    n = coachq__v1__observation__get_packed_size(&o);
    *out = malloc(n);
    assert_non_null(*out);
    coachq__v1__observation__pack(&o, *out);
    return n;
}

/* Opens the bare store: these tests are about the writer, not the
 * organisation's rules (rules.h), so nothing is checked against people,
 * certifications or rubrics. */
static struct store *open_store(const char *dir, size_t map_size)
{
    return testutil_store_open(dir, map_size);
}

/* Takes every completed request and checks that exactly n came back. */
static void take_all(struct store *s, size_t n)
{
    size_t got = 0;

    for (struct store_write *w = store_completed_take(s); w != NULL; w = w->next) {
        got++;
    }
    assert_int_equal(got, n);
}

/* Submits one request and waits for its outcome. */
static void submit_wait(struct store *s, struct store_write *w)
{
    assert_int_equal(store_submit(s, w), 0);
    store_drain(s);
    assert_ptr_equal(store_completed_take(s), w);
    assert_null(w->next);
}

static void init_write(struct store_write *w, const uint8_t *obs, size_t len, const char *observer,
                       int64_t at)
{
    memset(w, 0, sizeof(*w));
    w->obs = obs;
    w->obs_len = len;
    w->observer_id = observer;
    w->received_at_ms = at;
}

/* Checks that the stored record holds exactly these bytes. */
static void check_record(struct store *s, const uint8_t id[16], const uint8_t *obs, size_t len,
                         const char *observer, uint64_t seq, int64_t at)
{
    Coachq__V1__StoredObservation *r = NULL;
    uint8_t *buf;
    size_t n;

    assert_int_equal(store_get(s, id, &r), 0);
    assert_non_null(r);
    assert_non_null(r->observation);
    assert_string_equal(r->observer_id, observer);
    assert_true(r->seq == seq);
    assert_true(r->received_at_ms == at);
    n = coachq__v1__observation__get_packed_size(r->observation);
    assert_int_equal(n, len);
    buf = malloc(n);
    assert_non_null(buf);
    coachq__v1__observation__pack(r->observation, buf);
    assert_memory_equal(buf, obs, len);
    free(buf);
    coachq__v1__stored_observation__free_unpacked(r, NULL);
}

struct fixture {
    char dir[512];
    char mnt[600];
    int mounted;
    struct store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    tmpdir_make(f->dir, sizeof(f->dir));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f->s != NULL) {
        store_drain(f->s);
        (void)store_completed_take(f->s);
        store_close(f->s);
    }
    if (f->mounted) {
        if (umount(f->mnt) != 0) {
            fprintf(stderr, "umount %s: %s\n", f->mnt, strerror(errno));
        }
    }
    rmrf(f->dir);
    free(f);
    return 0;
}

/* LMDB syncs a commit with fdatasync(). This definition interposes on
 * liblmdb's call (the executable's symbol wins) so that a test can make one
 * commit fail with EIO, the way a failing disk does. While sync_fail is
 * clear it is a plain fsync. */
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static int sync_fail;    /* fail the next syncs with EIO */
static int sync_entered; /* a failing sync is waiting for sync_release */
static int sync_release;
static int sync_failures;

int fdatasync(int fd)
{
    pthread_mutex_lock(&sync_mu);
    if (!sync_fail) {
        pthread_mutex_unlock(&sync_mu);
        return fsync(fd);
    }
    sync_entered = 1;
    sync_failures++;
    pthread_cond_broadcast(&sync_cv);
    while (!sync_release) {
        pthread_cond_wait(&sync_cv, &sync_mu);
    }
    pthread_mutex_unlock(&sync_mu);
    errno = EIO;
    return -1;
}

/* ---- Tests ------------------------------------------------------------ */

static void test_open_reopen(void **state)
{
    struct fixture *f = *state;
    struct obs_spec sp = {.coach = "coach-a", .coachee = "rep-a", .started_at = 1000};
    uint8_t *obs[4];
    size_t len[4];
    struct store_write w[4];

    f->s = open_store(f->dir, 0);
    for (int i = 0; i < 3; i++) {
        make_uuid(sp.id, (uint32_t)i, 1);
        sp.started_at = 1000 + i;
        len[i] = pack_obs(&sp, &obs[i]);
        init_write(&w[i], obs[i], len[i], "obs-1", 5000 + i);
        submit_wait(f->s, &w[i]);
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].result, STORE_STORED);
        assert_true(w[i].seq == (uint64_t)i + 1);
        assert_true(w[i].stored_at_ms == 5000 + i);
    }
    store_close(f->s);
    f->s = NULL;

    f->s = open_store(f->dir, 0);
    for (int i = 0; i < 3; i++) {
        make_uuid(sp.id, (uint32_t)i, 1);
        check_record(f->s, sp.id, obs[i], len[i], "obs-1", (uint64_t)i + 1, 5000 + i);
    }
    /* The sequence continues after a reopen. */
    make_uuid(sp.id, 3, 1);
    len[3] = pack_obs(&sp, &obs[3]);
    init_write(&w[3], obs[3], len[3], "obs-1", 6000);
    submit_wait(f->s, &w[3]);
    assert_int_equal(w[3].rc, 0);
    assert_true(w[3].seq == 4);
    for (int i = 0; i < 4; i++) {
        free(obs[i]);
    }
}

static void test_open_errors(void **state)
{
    struct fixture *f = *state;
    struct store *s = (struct store *)1;
    char missing[600];

    snprintf(missing, sizeof(missing), "%s/does-not-exist", f->dir);
    assert_int_equal(store_open(missing, NULL, &s), -ENOENT);
    assert_null(s);
}

static void test_get_missing(void **state)
{
    struct fixture *f = *state;
    uint8_t id[16] = {9};
    Coachq__V1__StoredObservation *r = (Coachq__V1__StoredObservation *)1;

    f->s = open_store(f->dir, 0);
    assert_int_equal(store_get(f->s, id, &r), -ENOENT);
    assert_null(r);
}

static void test_duplicate_keeps_first(void **state)
{
    struct fixture *f = *state;
    struct obs_spec sp = {.coach = "c", .coachee = "r", .started_at = 7, .notes = "n"};
    struct store_write w1, w2;
    struct store_stats st;
    struct store_page page;
    struct store_query q = {.by = STORE_BY_COACH,
                            .person_id = "c",
                            .since = INT64_MIN,
                            .until = INT64_MAX,
                            .limit = 10};
    uint8_t *obs;
    size_t len;

    f->s = open_store(f->dir, 0);
    make_uuid(sp.id, 1, 2);
    len = pack_obs(&sp, &obs);
    init_write(&w1, obs, len, "obs-1", 100);
    submit_wait(f->s, &w1);
    assert_int_equal(w1.rc, 0);
    assert_int_equal(w1.result, STORE_STORED);

    init_write(&w2, obs, len, "obs-1", 999);
    submit_wait(f->s, &w2);
    assert_int_equal(w2.rc, 0);
    assert_int_equal(w2.result, STORE_DUPLICATE);
    assert_true(w2.seq == w1.seq);
    assert_true(w2.stored_at_ms == 100);
    check_record(f->s, sp.id, obs, len, "obs-1", w1.seq, 100);

    store_get_stats(f->s, &st);
    assert_true(st.records_stored == 1);
    assert_true(st.duplicates == 1);
    assert_true(st.commits == 1); /* a pure duplicate needs no commit */
    assert_true(st.batched_requests == 2);

    /* The index holds the record once. */
    assert_int_equal(store_list(f->s, &q, &page), 0);
    assert_int_equal(page.n, 1);
    assert_int_equal(page.cursor_len, 0);
    store_page_free(&page);
    free(obs);
}

/* What test_record_bytes reads back: the stored bytes of one id. */
struct raw_check {
    const uint8_t *id;
    uint8_t *bytes; /* a copy; the test frees it */
    size_t len;
};

static int raw_read(struct store_txn *t, void *arg)
{
    struct raw_check *rc = arg;
    const uint8_t *val;
    uint64_t seq;
    int r = obs_raw_txn(t, rc->id, &seq, &val, &rc->len);

    if (r != 0) {
        return r;
    }
    rc->bytes = malloc(rc->len);
    assert_non_null(rc->bytes);
    memcpy(rc->bytes, val, rc->len);
    return 0;
}

/* The writer puts the request's packed observation into the record as it
 * came, with the rest of the record packed after it (obs_put()): the bytes
 * must be exactly what protobuf-c makes of the decoded record, for
 * observations whose length takes one, two and three varint bytes. */
static void test_record_bytes(void **state)
{
    /* 40000: past the writer's 32 KiB buffer for the decoded request, so
     * that its notes are decoded with malloc and must be freed (a leak
     * under the sanitizers otherwise). */
    static const size_t notes_len[] = {0, 40, 300, 17000, 40000};
    struct fixture *f = *state;

    f->s = open_store(f->dir, 0);
    for (size_t i = 0; i < sizeof(notes_len) / sizeof(notes_len[0]); i++) {
        char *notes = malloc(notes_len[i] + 1);
        struct obs_spec sp = {.coach = "c", .coachee = "r", .started_at = 7 + (int64_t)i};
        struct raw_check rc = {sp.id, NULL, 0};
        Coachq__V1__StoredObservation *rec;
        struct store_write w;
        uint8_t *obs, *again;
        size_t len, n;

        assert_non_null(notes);
        memset(notes, 'n', notes_len[i]);
        notes[notes_len[i]] = '\0';
        sp.notes = notes;
        make_uuid(sp.id, 50 + (uint32_t)i, 3);
        len = pack_obs(&sp, &obs);
        init_write(&w, obs, len, "obs-1", 100 + (int64_t)i);
        submit_wait(f->s, &w);
        assert_int_equal(w.rc, 0);
        assert_int_equal(store_view(f->s, raw_read, &rc), 0);
        rec = coachq__v1__stored_observation__unpack(NULL, rc.len, rc.bytes);
        assert_non_null(rec);
        n = coachq__v1__stored_observation__get_packed_size(rec);
        assert_int_equal(n, rc.len);
        again = malloc(n);
        assert_non_null(again);
        coachq__v1__stored_observation__pack(rec, again);
        assert_memory_equal(again, rc.bytes, n);
        assert_int_equal(rec->seq, w.seq);
        assert_string_equal(rec->observer_id, "obs-1");
        assert_int_equal(rec->version, 1);
        assert_string_equal(rec->observation->notes, notes);
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        free(again);
        free(rc.bytes);
        free(obs);
        free(notes);
    }
}

static void test_conflict_content(void **state)
{
    struct fixture *f = *state;
    struct obs_spec sp = {.coach = "c", .coachee = "r", .started_at = 7, .notes = "first"};
    struct store_write w1, w2;
    uint8_t *obs1, *obs2;
    size_t len1, len2;

    f->s = open_store(f->dir, 0);
    make_uuid(sp.id, 1, 3);
    len1 = pack_obs(&sp, &obs1);
    sp.notes = "other";
    len2 = pack_obs(&sp, &obs2);
    assert_int_equal(len1, len2); /* same length, other bytes */

    init_write(&w1, obs1, len1, "obs-1", 100);
    submit_wait(f->s, &w1);
    assert_int_equal(w1.rc, 0);
    init_write(&w2, obs2, len2, "obs-1", 200);
    submit_wait(f->s, &w2);
    assert_int_equal(w2.rc, -EEXIST);
    /* Nothing of the existing record is revealed. */
    assert_true(w2.seq == 0);
    assert_true(w2.stored_at_ms == 0);
    check_record(f->s, sp.id, obs1, len1, "obs-1", w1.seq, 100);
    free(obs1);
    free(obs2);
}

static void test_conflict_observer(void **state)
{
    struct fixture *f = *state;
    struct obs_spec sp = {.coach = "c", .coachee = "r", .started_at = 7};
    struct store_write w1, w2;
    struct store_page page;
    struct store_query q = {.by = STORE_BY_OBSERVER,
                            .person_id = "obs-2",
                            .since = INT64_MIN,
                            .until = INT64_MAX,
                            .limit = 10};
    uint8_t *obs;
    size_t len;

    f->s = open_store(f->dir, 0);
    make_uuid(sp.id, 1, 4);
    len = pack_obs(&sp, &obs);
    init_write(&w1, obs, len, "obs-1", 100);
    submit_wait(f->s, &w1);
    assert_int_equal(w1.rc, 0);
    init_write(&w2, obs, len, "obs-2", 200);
    submit_wait(f->s, &w2);
    assert_int_equal(w2.rc, -EEXIST);
    check_record(f->s, sp.id, obs, len, "obs-1", w1.seq, 100);
    assert_int_equal(store_list(f->s, &q, &page), 0);
    assert_int_equal(page.n, 0);
    store_page_free(&page);
    free(obs);
}

static void test_invalid_request(void **state)
{
    struct fixture *f = *state;
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    Coachq__V1__Observation o = COACHQ__V1__OBSERVATION__INIT;
    uint8_t short_id[15] = {1};
    uint8_t buf[256];
    struct store_write w1, w2;
    struct store_stats st;
    size_t n;

    f->s = open_store(f->dir, 0);
    init_write(&w1, junk, sizeof(junk), "obs-1", 1);
    submit_wait(f->s, &w1);
    assert_int_equal(w1.rc, -EINVAL);

    o.id.data = short_id;
    o.id.len = sizeof(short_id);
    o.coach_id = (char *)"c";
    o.coachee_id = (char *)"r";
    n = coachq__v1__observation__get_packed_size(&o);
    assert_true(n <= sizeof(buf));
    coachq__v1__observation__pack(&o, buf);
    init_write(&w2, buf, n, "obs-1", 1);
    submit_wait(f->s, &w2);
    assert_int_equal(w2.rc, -EINVAL);
    store_get_stats(f->s, &st);
    assert_true(st.records_stored == 0);
    assert_true(st.commits == 0);
}

/* Notify callback that parks the writer once, so that the test can queue
 * several requests that the writer then takes as one batch. */
struct parker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int armed;
    int parked;
    int release;
};

static void parker_notify(void *arg)
{
    struct parker *p = arg;

    pthread_mutex_lock(&p->mu);
    if (p->armed) {
        p->armed = 0;
        p->parked = 1;
        pthread_cond_broadcast(&p->cv);
        while (!p->release) {
            pthread_cond_wait(&p->cv, &p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
}

/*
 * A burst larger than STORE_MAX_BATCH is written in several transactions:
 * LMDB keeps the page buffers of the largest transaction ever written until
 * the store closes, so an unbounded batch (1,000 connections with 64
 * requests each) would set the writer's memory for good (point 19 of the
 * hostile review: memory growing under sustained ingest).
 */
static void test_batch_is_capped(void **state)
{
    enum { N = STORE_MAX_BATCH + 5 };
    struct fixture *f = *state;
    struct parker p = {.armed = 1};
    struct store_policy pol;
    struct store_opts opts;
    struct obs_spec sp = {.coach = "c", .coachee = "r", .started_at = 7, .notes = "a"};
    struct store_write w0, *w;
    uint8_t *obs[N + 1];
    size_t len[N + 1];
    struct store_stats st;
    struct store_write *list;
    size_t i, done = 0;

    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    store_policy_default(&pol);
    pol.enforce = 0;
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    opts.notify = parker_notify;
    opts.notify_arg = &p;
    assert_int_equal(store_open(f->dir, &opts, &f->s), 0);
    w = calloc(N, sizeof(*w));
    assert_non_null(w);
    for (i = 0; i <= N; i++) {
        make_uuid(sp.id, (uint32_t)i + 1, 9);
        len[i] = pack_obs(&sp, &obs[i]);
    }

    /* w0 goes alone; the writer parks in notify after its commit. */
    init_write(&w0, obs[N], len[N], "obs-1", 1);
    assert_int_equal(store_submit(f->s, &w0), 0);
    pthread_mutex_lock(&p.mu);
    while (!p.parked) {
        pthread_cond_wait(&p.cv, &p.mu);
    }
    pthread_mutex_unlock(&p.mu);
    for (i = 0; i < N; i++) {
        init_write(&w[i], obs[i], len[i], "obs-1", 10 + (int64_t)i);
        assert_int_equal(store_submit(f->s, &w[i]), 0);
    }
    pthread_mutex_lock(&p.mu);
    p.release = 1;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    store_drain(f->s);

    for (list = store_completed_take(f->s); list != NULL; list = list->next) {
        assert_int_equal(list->rc, 0);
        assert_int_equal(list->result, STORE_STORED);
        done++;
    }
    assert_int_equal(done, N + 1);
    store_get_stats(f->s, &st);
    assert_true(st.max_batch == STORE_MAX_BATCH);
    assert_true(st.last_batch == N - STORE_MAX_BATCH);
    assert_true(st.commits == 3);
    assert_true(st.records_stored == N + 1);
    for (i = 0; i <= N; i++) {
        free(obs[i]);
    }
    free(w);
}

static void test_same_uuid_one_batch(void **state)
{
    struct fixture *f = *state;
    struct parker p = {.armed = 1};
    struct store_policy pol;
    struct store_opts opts;
    struct obs_spec sp = {.coach = "c", .coachee = "r", .started_at = 7, .notes = "a"};
    struct store_write w0, w1, w2, w3, w4;
    struct store_stats st;
    struct store_page page;
    struct store_query q = {.by = STORE_BY_COACHEE,
                            .person_id = "r",
                            .since = INT64_MIN,
                            .until = INT64_MAX,
                            .limit = 10};
    uint8_t *obs0, *obs1, *obs2;
    size_t len0, len1, len2;
    struct store_write *list;

    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    /* The bare store, as in open_store(). */
    store_policy_default(&pol);
    pol.enforce = 0;
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    opts.notify = parker_notify;
    opts.notify_arg = &p;
    assert_int_equal(store_open(f->dir, &opts, &f->s), 0);

    make_uuid(sp.id, 1, 5);
    len0 = pack_obs(&sp, &obs0);
    make_uuid(sp.id, 2, 5);
    len1 = pack_obs(&sp, &obs1);
    sp.notes = "b";
    len2 = pack_obs(&sp, &obs2);

    /* w0 goes alone; the writer parks in notify after its commit. */
    init_write(&w0, obs0, len0, "obs-1", 1);
    assert_int_equal(store_submit(f->s, &w0), 0);
    pthread_mutex_lock(&p.mu);
    while (!p.parked) {
        pthread_cond_wait(&p.cv, &p.mu);
    }
    pthread_mutex_unlock(&p.mu);

    /* Four requests for one new uuid queue up behind it. */
    init_write(&w1, obs1, len1, "obs-1", 10);
    init_write(&w2, obs1, len1, "obs-1", 20); /* same content: duplicate */
    init_write(&w3, obs2, len2, "obs-1", 30); /* other content: conflict */
    init_write(&w4, obs1, len1, "obs-2", 40); /* other observer: conflict */
    assert_int_equal(store_submit(f->s, &w1), 0);
    assert_int_equal(store_submit(f->s, &w2), 0);
    assert_int_equal(store_submit(f->s, &w3), 0);
    assert_int_equal(store_submit(f->s, &w4), 0);
    pthread_mutex_lock(&p.mu);
    p.release = 1;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    store_drain(f->s);

    list = store_completed_take(f->s);
    assert_ptr_equal(list, &w0);
    assert_ptr_equal(w0.next, &w1);
    assert_ptr_equal(w1.next, &w2);
    assert_ptr_equal(w2.next, &w3);
    assert_ptr_equal(w3.next, &w4);
    assert_null(w4.next);

    store_get_stats(f->s, &st);
    assert_true(st.last_batch == 4);
    assert_true(st.max_batch == 4);
    assert_true(st.commits == 2);
    assert_true(st.records_stored == 2);
    assert_true(st.duplicates == 1);

    assert_int_equal(w1.rc, 0);
    assert_int_equal(w1.result, STORE_STORED);
    assert_true(w1.seq == w0.seq + 1);
    assert_int_equal(w2.rc, 0);
    assert_int_equal(w2.result, STORE_DUPLICATE);
    assert_true(w2.seq == w1.seq);
    assert_true(w2.stored_at_ms == 10);
    assert_int_equal(w3.rc, -EEXIST);
    assert_int_equal(w4.rc, -EEXIST);
    check_record(f->s, sp.id, obs1, len1, "obs-1", w1.seq, 10);

    /* Both records, each once, in the index. */
    assert_int_equal(store_list(f->s, &q, &page), 0);
    assert_int_equal(page.n, 2);
    store_page_free(&page);

    store_close(f->s);
    f->s = NULL;
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
    free(obs0);
    free(obs1);
    free(obs2);
}

#define GC_THREADS 8
#define GC_PER_THREAD 250
#define GC_TOTAL (GC_THREADS * GC_PER_THREAD)

struct gc_job {
    struct store *s;
    struct store_write *w;
    size_t n;
    int failures;
};

static void *gc_submitter(void *arg)
{
    struct gc_job *j = arg;

    for (size_t i = 0; i < j->n; i++) {
        if (store_submit(j->s, &j->w[i]) != 0) {
            j->failures++;
        }
    }
    return NULL;
}

static void test_group_commit(void **state)
{
    struct fixture *f = *state;
    struct obs_spec sp = {.coach = "gc-coach", .coachee = "gc-rep"};
    static uint8_t *obs[GC_TOTAL];
    static size_t len[GC_TOTAL];
    static struct store_write w[GC_TOTAL];
    static uint8_t seen[GC_TOTAL + 1];
    pthread_t th[GC_THREADS];
    struct gc_job jobs[GC_THREADS];
    struct store_stats st;
    struct store_page page;
    struct store_query q = {.by = STORE_BY_COACH,
                            .person_id = "gc-coach",
                            .since = INT64_MIN,
                            .until = INT64_MAX,
                            .limit = STORE_MAX_PAGE};
    size_t listed = 0;
    uint8_t cursor[128];

    f->s = open_store(f->dir, 0);
    for (int i = 0; i < GC_TOTAL; i++) {
        make_uuid(sp.id, (uint32_t)i, 6);
        sp.started_at = i % 97;
        len[i] = pack_obs(&sp, &obs[i]);
        init_write(&w[i], obs[i], len[i], "gc-observer", i);
    }
    memset(seen, 0, sizeof(seen));
    for (int t = 0; t < GC_THREADS; t++) {
        jobs[t].s = f->s;
        jobs[t].w = &w[t * GC_PER_THREAD];
        jobs[t].n = GC_PER_THREAD;
        jobs[t].failures = 0;
        assert_int_equal(pthread_create(&th[t], NULL, gc_submitter, &jobs[t]), 0);
    }
    for (int t = 0; t < GC_THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(jobs[t].failures, 0);
    }
    store_drain(f->s);
    take_all(f->s, GC_TOTAL);

    for (int i = 0; i < GC_TOTAL; i++) {
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].result, STORE_STORED);
        assert_true(w[i].seq >= 1 && w[i].seq <= GC_TOTAL);
        assert_int_equal(seen[w[i].seq], 0); /* every seq once */
        seen[w[i].seq] = 1;
    }
    store_get_stats(f->s, &st);
    assert_true(st.records_stored == GC_TOTAL);
    assert_true(st.batched_requests == GC_TOTAL);
    assert_true(st.commits >= 1);
    assert_true(st.commits < st.records_stored); /* requests shared commits */
    assert_true(st.max_batch > 1);
    assert_true(st.commit_us_max <= st.commit_us_total);
    fprintf(stderr, "group commit: %llu records in %llu commits, max batch %llu\n",
            (unsigned long long)st.records_stored, (unsigned long long)st.commits,
            (unsigned long long)st.max_batch);

    /* Every record is in the index exactly once. */
    memset(seen, 0, sizeof(seen));
    for (;;) {
        assert_int_equal(store_list(f->s, &q, &page), 0);
        for (size_t i = 0; i < page.n; i++) {
            assert_int_equal(seen[page.items[i]->seq], 0);
            seen[page.items[i]->seq] = 1;
            listed++;
        }
        memcpy(cursor, page.cursor, page.cursor_len);
        q.cursor = cursor;
        q.cursor_len = page.cursor_len;
        store_page_free(&page);
        if (q.cursor_len == 0) {
            break;
        }
    }
    assert_int_equal(listed, GC_TOTAL);
    for (int i = 0; i < GC_TOTAL; i++) {
        free(obs[i]);
    }
}

/* Records for the listing test: several people with ids that share
 * prefixes, times on both sides of zero and equal times. */
#define LS_N 120

static const char *ls_coach(int i)
{
    static const char *coaches[] = {"c", "c1", "c10", "c1"};

    return coaches[i % 4];
}

static int64_t ls_time(int i)
{
    return (int64_t)((i * 37) % 41) - 20; /* -20..20, many repeats */
}

static void test_list_paging(void **state)
{
    struct fixture *f = *state;
    struct obs_spec sp = {.coachee = "rep"};
    uint8_t *obs[LS_N];
    size_t len[LS_N];
    struct store_write w[LS_N];
    struct store_page page;
    uint8_t cursor[128];
    static const uint32_t limits[] = {1, 3, 7, 500};

    f->s = open_store(f->dir, 0);
    for (int i = 0; i < LS_N; i++) {
        make_uuid(sp.id, (uint32_t)i, 7);
        sp.coach = ls_coach(i);
        sp.started_at = ls_time(i);
        len[i] = pack_obs(&sp, &obs[i]);
        init_write(&w[i], obs[i], len[i], i % 2 ? "o1" : "o2", i);
        assert_int_equal(store_submit(f->s, &w[i]), 0);
    }
    store_drain(f->s);
    take_all(f->s, LS_N);
    for (int i = 0; i < LS_N; i++) {
        assert_int_equal(w[i].rc, 0);
    }

    for (size_t li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
        struct store_query q = {.by = STORE_BY_COACH,
                                .person_id = "c1",
                                .since = -10,
                                .until = 15,
                                .limit = limits[li]};
        int seen[LS_N];
        size_t expect = 0, got = 0;
        int64_t last_t = INT64_MIN;
        uint8_t last_id[16];
        int have_last = 0;

        memset(seen, 0, sizeof(seen));
        for (int i = 0; i < LS_N; i++) {
            if (strcmp(ls_coach(i), "c1") == 0 && ls_time(i) >= -10 && ls_time(i) < 15) {
                expect++;
            }
        }
        assert_true(expect > 10);
        for (int pages = 0;; pages++) {
            assert_true(pages <= LS_N);
            assert_int_equal(store_list(f->s, &q, &page), 0);
            assert_true(page.n <= q.limit);
            if (page.cursor_len != 0) {
                assert_int_equal(page.n, q.limit);
            }
            for (size_t i = 0; i < page.n; i++) {
                const Coachq__V1__Observation *o = page.items[i]->observation;
                int idx = (int)page.items[i]->received_at_ms;

                assert_string_equal(o->coach_id, "c1");
                assert_true(o->started_at >= -10 && o->started_at < 15);
                /* Ordered by (started_at, uuid). */
                if (have_last) {
                    assert_true(o->started_at > last_t ||
                                (o->started_at == last_t && memcmp(o->id.data, last_id, 16) > 0));
                }
                last_t = o->started_at;
                memcpy(last_id, o->id.data, 16);
                have_last = 1;
                assert_true(idx >= 0 && idx < LS_N);
                assert_int_equal(seen[idx], 0);
                seen[idx] = 1;
                got++;
            }
            memcpy(cursor, page.cursor, page.cursor_len);
            q.cursor = cursor;
            q.cursor_len = page.cursor_len;
            store_page_free(&page);
            if (q.cursor_len == 0) {
                break;
            }
        }
        assert_int_equal(got, expect);
    }

    /* The observer index holds half the records each. */
    {
        struct store_query q = {.by = STORE_BY_OBSERVER,
                                .person_id = "o1",
                                .since = INT64_MIN,
                                .until = INT64_MAX,
                                .limit = 500};

        assert_int_equal(store_list(f->s, &q, &page), 0);
        assert_int_equal(page.n, LS_N / 2);
        assert_int_equal(page.cursor_len, 0);
        for (size_t i = 0; i < page.n; i++) {
            assert_string_equal(page.items[i]->observer_id, "o1");
        }
        store_page_free(&page);
        /* An empty range and an unknown person give empty pages. */
        q.since = 5;
        q.until = 5;
        assert_int_equal(store_list(f->s, &q, &page), 0);
        assert_int_equal(page.n, 0);
        store_page_free(&page);
        q.person_id = "nobody";
        q.since = INT64_MIN;
        q.until = INT64_MAX;
        assert_int_equal(store_list(f->s, &q, &page), 0);
        assert_int_equal(page.n, 0);
        assert_int_equal(page.cursor_len, 0);
        store_page_free(&page);
    }
    for (int i = 0; i < LS_N; i++) {
        free(obs[i]);
    }
}

static void test_bad_query(void **state)
{
    struct fixture *f = *state;
    struct obs_spec sp = {.coach = "ab", .coachee = "r", .started_at = 1};
    struct store_write w[3];
    uint8_t *obs[3];
    size_t len[3];
    struct store_page page;
    struct store_query q = {.by = STORE_BY_COACH,
                            .person_id = "ab",
                            .since = INT64_MIN,
                            .until = INT64_MAX,
                            .limit = 1};
    uint8_t cursor[128];
    size_t clen;
    static const uint8_t junk[] = {1, 2, 3};
    char long_id[80];

    f->s = open_store(f->dir, 0);
    for (int i = 0; i < 3; i++) {
        make_uuid(sp.id, (uint32_t)i, 8);
        len[i] = pack_obs(&sp, &obs[i]);
        init_write(&w[i], obs[i], len[i], "o", i);
        assert_int_equal(store_submit(f->s, &w[i]), 0);
    }
    store_drain(f->s);
    take_all(f->s, 3);

    assert_int_equal(store_list(f->s, &q, &page), 0);
    assert_int_equal(page.n, 1);
    assert_true(page.cursor_len > 0);
    clen = page.cursor_len;
    memcpy(cursor, page.cursor, clen);
    store_page_free(&page);

    /* A valid cursor works. */
    q.cursor = cursor;
    q.cursor_len = clen;
    assert_int_equal(store_list(f->s, &q, &page), 0);
    assert_int_equal(page.n, 1);
    store_page_free(&page);

    /* Garbage, truncated, too long, or another person's cursor. */
    q.cursor = junk;
    q.cursor_len = sizeof(junk);
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    assert_int_equal(page.n, 0);
    q.cursor = cursor;
    q.cursor_len = clen - 1;
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    q.cursor_len = clen + 1;
    cursor[clen] = 0;
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    q.cursor_len = clen;
    q.person_id = "aa"; /* same length, other id */
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    q.person_id = "ab";
    q.cursor = NULL;
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    q.cursor_len = 0;

    /* Limits, index and person id. */
    q.limit = 0;
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    q.limit = STORE_MAX_PAGE + 1;
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    q.limit = STORE_MAX_PAGE;
    q.by = (enum store_index)9;
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    q.by = STORE_BY_COACH;
    q.person_id = "";
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    q.person_id = long_id;
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    q.person_id = NULL;
    assert_int_equal(store_list(f->s, &q, &page), -EINVAL);
    for (int i = 0; i < 3; i++) {
        free(obs[i]);
    }
}

/* Reads that run while the writer grows the map. */
struct reader_job {
    struct store *s;
    uint8_t id[16];
    atomic_int stop;
    int reads;
    int errors;
};

static void *reader_main(void *arg)
{
    struct reader_job *j = arg;
    struct store_query q = {.by = STORE_BY_COACHEE,
                            .person_id = "grow-rep",
                            .since = INT64_MIN,
                            .until = INT64_MAX,
                            .limit = 20};

    while (!atomic_load(&j->stop)) {
        Coachq__V1__StoredObservation *r = NULL;
        struct store_page page;

        if (store_get(j->s, j->id, &r) != 0 || r->seq != 1) {
            j->errors++;
        }
        coachq__v1__stored_observation__free_unpacked(r, NULL);
        if (store_list(j->s, &q, &page) != 0 || page.n == 0) {
            j->errors++;
        }
        store_page_free(&page);
        j->reads++;
    }
    return NULL;
}

static void test_map_growth(void **state)
{
    struct fixture *f = *state;
    enum { N = 400, BATCH = 40 };
    struct obs_spec sp = {.coach = "grow-coach", .coachee = "grow-rep"};
    char notes[4000];
    uint8_t *obs[N];
    size_t len[N];
    struct store_write w[N];
    struct store_stats st;
    struct reader_job rj;
    pthread_t rt;

    memset(notes, 'n', sizeof(notes) - 1);
    notes[sizeof(notes) - 1] = '\0';
    sp.notes = notes;
    f->s = open_store(f->dir, 256 * 1024);
    for (int i = 0; i < N; i++) {
        make_uuid(sp.id, (uint32_t)i, 9);
        sp.started_at = i;
        len[i] = pack_obs(&sp, &obs[i]);
        init_write(&w[i], obs[i], len[i], "o", i);
    }
    submit_wait(f->s, &w[0]);
    assert_int_equal(w[0].rc, 0);

    memset(&rj, 0, sizeof(rj));
    atomic_init(&rj.stop, 0);
    rj.s = f->s;
    make_uuid(rj.id, 0, 9);
    assert_int_equal(pthread_create(&rt, NULL, reader_main, &rj), 0);
    for (int i = 1; i < N; i += BATCH) {
        for (int k = i; k < i + BATCH && k < N; k++) {
            assert_int_equal(store_submit(f->s, &w[k]), 0);
        }
        store_drain(f->s);
    }
    atomic_store(&rj.stop, 1);
    pthread_join(rt, NULL);
    take_all(f->s, N - 1);

    for (int i = 0; i < N; i++) {
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].result, STORE_STORED);
    }
    store_get_stats(f->s, &st);
    assert_true(st.map_grows >= 2); /* ~1.6 MB of records in a 256 KiB map */
    assert_true(st.records_stored == N);
    assert_int_equal(rj.errors, 0);
    assert_true(rj.reads > 0);
    fprintf(stderr, "map growth: %llu grows, %d concurrent reads\n",
            (unsigned long long)st.map_grows, rj.reads);
    for (int i = 0; i < N; i++) {
        make_uuid(sp.id, (uint32_t)i, 9);
        check_record(f->s, sp.id, obs[i], len[i], "o", w[i].seq, i);
        free(obs[i]);
    }
}

static void test_close_completes_queued(void **state)
{
    struct fixture *f = *state;
    enum { N = 300 };
    struct obs_spec sp = {.coach = "cl", .coachee = "cl-rep"};
    static uint8_t *obs[N];
    static size_t len[N];
    static struct store_write w[N];

    f->s = open_store(f->dir, 0);
    for (int i = 0; i < N; i++) {
        make_uuid(sp.id, (uint32_t)i, 11);
        sp.started_at = i;
        len[i] = pack_obs(&sp, &obs[i]);
        init_write(&w[i], obs[i], len[i], "o", i);
        assert_int_equal(store_submit(f->s, &w[i]), 0);
    }
    /* No drain: close itself lets the writer commit everything queued. */
    store_close(f->s);
    f->s = NULL;
    for (int i = 0; i < N; i++) {
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].result, STORE_STORED);
    }
    f->s = open_store(f->dir, 0);
    for (int i = 0; i < N; i++) {
        make_uuid(sp.id, (uint32_t)i, 11);
        check_record(f->s, sp.id, obs[i], len[i], "o", w[i].seq, i);
        free(obs[i]);
    }
}

static void test_commit_eio_is_fatal(void **state)
{
    struct fixture *f = *state;
    enum { N = 4 };
    struct obs_spec sp = {.coach = "eio", .coachee = "eio-rep"};
    uint8_t *obs[N];
    size_t len[N];
    struct store_write w[N];
    struct store_write *list;
    struct store_stats st;
    Coachq__V1__StoredObservation *r = NULL;

    f->s = open_store(f->dir, 0);
    for (int i = 0; i < N; i++) {
        make_uuid(sp.id, (uint32_t)i, 12);
        len[i] = pack_obs(&sp, &obs[i]);
        init_write(&w[i], obs[i], len[i], "o", i);
    }
    submit_wait(f->s, &w[0]);
    assert_int_equal(w[0].rc, 0);

    /* w[1]'s commit hangs in a failing fdatasync while w[2] queues. */
    pthread_mutex_lock(&sync_mu);
    sync_fail = 1;
    sync_entered = 0;
    sync_release = 0;
    sync_failures = 0;
    pthread_mutex_unlock(&sync_mu);
    assert_int_equal(store_submit(f->s, &w[1]), 0);
    pthread_mutex_lock(&sync_mu);
    while (!sync_entered) {
        pthread_cond_wait(&sync_cv, &sync_mu);
    }
    pthread_mutex_unlock(&sync_mu);
    assert_int_equal(store_submit(f->s, &w[2]), 0);
    pthread_mutex_lock(&sync_mu);
    sync_release = 1;
    pthread_cond_broadcast(&sync_cv);
    pthread_mutex_unlock(&sync_mu);
    store_drain(f->s);

    list = store_completed_take(f->s);
    assert_ptr_equal(list, &w[1]);
    assert_ptr_equal(w[1].next, &w[2]);
    assert_null(w[2].next);
    assert_int_equal(w[1].rc, ERROR_STORE_FAILED);
    assert_int_equal(w[2].rc, ERROR_STORE_FAILED);
    assert_true(store_failed(f->s));
    /* Never retried: one failed sync, and later writes are refused. */
    assert_int_equal(sync_failures, 1);
    assert_int_equal(store_submit(f->s, &w[3]), ERROR_STORE_FAILED);
    store_get_stats(f->s, &st);
    assert_true(st.records_stored == 1);
    assert_true(st.commits == 1);

    /* Reads still work; the failed record is not there. */
    make_uuid(sp.id, 0, 12);
    check_record(f->s, sp.id, obs[0], len[0], "o", w[0].seq, 0);
    make_uuid(sp.id, 1, 12);
    assert_int_equal(store_get(f->s, sp.id, &r), -ENOENT);

    pthread_mutex_lock(&sync_mu);
    sync_fail = 0;
    pthread_mutex_unlock(&sync_mu);
    store_close(f->s);
    f->s = NULL;

    /* After a restart the store works again and w[1] was never stored. */
    f->s = open_store(f->dir, 0);
    assert_false(store_failed(f->s));
    assert_int_equal(store_get(f->s, sp.id, &r), -ENOENT);
    init_write(&w[1], obs[1], len[1], "o", 1);
    submit_wait(f->s, &w[1]);
    assert_int_equal(w[1].rc, 0);
    assert_int_equal(w[1].result, STORE_STORED);
    assert_true(w[1].seq == w[0].seq + 1);
    for (int i = 0; i < N; i++) {
        free(obs[i]);
    }
}

static void test_reader_check(void **state)
{
    struct fixture *f = *state;
    int dead = -1;

    f->s = open_store(f->dir, 0);
    assert_int_equal(store_reader_check(f->s, &dead), 0);
    assert_int_equal(dead, 0);
    assert_int_equal(store_reader_check(f->s, NULL), 0);
    assert_false(store_failed(f->s));
}

/* Fills the file system under fd's path until a write fails with ENOSPC. */
static void fill_fs(int fd)
{
    static char block[65536];
    size_t sizes[] = {sizeof(block), 4096, 512, 1};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (;;) {
            ssize_t n = write(fd, block, sizes[i]);

            if (n < 0) {
                assert_int_equal(errno, ENOSPC);
                break;
            }
        }
    }
}

static void test_full_disk(void **state)
{
    struct fixture *f = *state;
    enum { N0 = 20, NMAX = 400 };
    char envdir[700], filler[700];
    char notes[3000];
    struct obs_spec sp = {.coach = "fd-c", .coachee = "fd-r", .rubric = "coaching-conversation"};
    static uint8_t *obs[NMAX];
    static size_t len[NMAX];
    static struct store_write w[NMAX];
    struct store_write retry;
    struct store_page page;
    struct store_query q = {.by = STORE_BY_COACH,
                            .person_id = "fd-c",
                            .since = INT64_MIN,
                            .until = INT64_MAX,
                            .limit = 500};
    int fd;
    int full_at = -1;

    if (geteuid() != 0) {
        skip();
    }
    snprintf(f->mnt, sizeof(f->mnt), "%s/mnt", f->dir);
    assert_int_equal(mkdir(f->mnt, 0700), 0);
    if (mount("tmpfs", f->mnt, "tmpfs", 0, "size=1m,mode=0700") != 0) {
        fprintf(stderr, "full-disk test skipped: mount tmpfs: %s\n", strerror(errno));
        skip();
    }
    f->mounted = 1;
    snprintf(envdir, sizeof(envdir), "%s/env", f->mnt);
    snprintf(filler, sizeof(filler), "%s/filler", f->mnt);
    assert_int_equal(mkdir(envdir, 0700), 0);
    /* A map bigger than the file system, so the disk fills first; obs.1's
     * certification makes every record count in the aggregates. */
    f->s = open_store(envdir, 8u << 20);
    assert_int_equal(store_exec(f->s, testutil_put_two_line_org, NULL), 0);

    memset(notes, 'z', sizeof(notes) - 1);
    notes[sizeof(notes) - 1] = '\0';
    sp.notes = notes;
    for (int i = 0; i < NMAX; i++) {
        make_uuid(sp.id, (uint32_t)i, 10);
        sp.started_at = 19500LL * 86400 + i;
        len[i] = pack_obs(&sp, &obs[i]);
        init_write(&w[i], obs[i], len[i], "obs.1", i);
    }
    for (int i = 0; i < N0; i++) {
        submit_wait(f->s, &w[i]);
        assert_int_equal(w[i].rc, 0);
    }

    fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    fill_fs(fd);
    for (int i = N0; i < NMAX; i++) {
        submit_wait(f->s, &w[i]);
        if (w[i].rc == -ENOSPC) {
            full_at = i;
            break;
        }
        assert_int_equal(w[i].rc, 0);
    }
    assert_true(full_at >= N0);
    assert_false(store_failed(f->s));

    /* Reads keep working and the earlier records are intact. */
    for (int i = 0; i < full_at; i++) {
        make_uuid(sp.id, (uint32_t)i, 10);
        check_record(f->s, sp.id, obs[i], len[i], "obs.1", w[i].seq, i);
    }
    {
        Coachq__V1__StoredObservation *r = NULL;

        make_uuid(sp.id, (uint32_t)full_at, 10);
        assert_int_equal(store_get(f->s, sp.id, &r), -ENOENT);
    }
    assert_int_equal(store_list(f->s, &q, &page), 0);
    assert_int_equal(page.n, (size_t)full_at);
    store_page_free(&page);

    /* A second try while the disk is still full fails the same way. */
    init_write(&retry, obs[full_at], len[full_at], "obs.1", full_at);
    submit_wait(f->s, &retry);
    assert_int_equal(retry.rc, -ENOSPC);

    /* Space returns: writes resume without a reopen. */
    assert_int_equal(ftruncate(fd, 0), 0);
    close(fd);
    init_write(&retry, obs[full_at], len[full_at], "obs.1", full_at);
    submit_wait(f->s, &retry);
    assert_int_equal(retry.rc, 0);
    assert_int_equal(retry.result, STORE_STORED);
    make_uuid(sp.id, (uint32_t)full_at, 10);
    check_record(f->s, sp.id, obs[full_at], len[full_at], "obs.1", retry.seq, full_at);
    assert_false(store_failed(f->s));

    store_close(f->s);
    f->s = NULL;
    /* The refused batches left no derived data behind (`coachqd verify`). */
    testutil_verify_counted(envdir, (uint64_t)full_at + 1);
    for (int i = 0; i < NMAX; i++) {
        free(obs[i]);
    }
}

/* A store_list_filter_cb that admits only the observer named by arg. */
static int only_observer(struct store_txn *t, Coachq__V1__StoredObservation *rec, void *arg)
{
    (void)t;
    return strcmp(rec->observer_id, (const char *)arg) == 0;
}

/*
 * A filtered list: pages hold only what the filter admits, a page's cursor
 * is the last record returned (never one the filter refused: after the
 * last admitted record no cursor comes, though refused ones follow), the
 * scan cap says so instead of guessing, and the byte cap cuts pages.
 */
static void test_list_filtered(void **state)
{
    struct fixture *f = *state;
    struct store_query q = {.by = STORE_BY_COACH,
                            .person_id = "c",
                            .since = INT64_MIN,
                            .until = INT64_MAX,
                            .limit = 2,
                            .filter = only_observer,
                            .filter_arg = (void *)"obs-a"};
    struct store_page page;
    uint8_t cursor[128];
    unsigned seen = 0;
    int pages = 0;

    f->s = open_store(f->dir, 0);
    /* Times 1..10; obs-a at the odd ones, obs-b at the even ones, so the
     * last record (time 10) is obs-b's. */
    for (int i = 1; i <= 10; i++) {
        struct obs_spec sp = {.coach = "c", .coachee = "r", .started_at = i, .notes = "n"};
        struct store_write w;
        uint8_t *obs;
        size_t len;

        make_uuid(sp.id, (uint32_t)i, 7);
        len = pack_obs(&sp, &obs);
        init_write(&w, obs, len, i % 2 ? "obs-a" : "obs-b", 100 + i);
        submit_wait(f->s, &w);
        assert_int_equal(w.rc, 0);
        free(obs);
    }
    for (;;) {
        assert_int_equal(store_list(f->s, &q, &page), 0);
        pages++;
        for (size_t i = 0; i < page.n; i++) {
            Coachq__V1__StoredObservation *r = page.items[i];

            assert_string_equal(r->observer_id, "obs-a");
            assert_int_equal(r->observation->started_at, 2 * (int)seen + 1);
            seen++;
        }
        assert_int_equal(page.scan_capped, 0);
        if (page.cursor_len == 0) {
            store_page_free(&page);
            break;
        }
        assert_int_equal(page.n, 2);
        memcpy(cursor, page.cursor, page.cursor_len);
        q.cursor = cursor;
        q.cursor_len = page.cursor_len;
        store_page_free(&page);
    }
    assert_int_equal(seen, 5);
    assert_int_equal(pages, 3);

    /* A filter that admits nothing, with a scan cap: an empty page that
     * says it was capped, and no cursor. */
    q.cursor = NULL;
    q.cursor_len = 0;
    q.filter_arg = (void *)"nobody";
    q.max_scan = 3;
    assert_int_equal(store_list(f->s, &q, &page), 0);
    assert_int_equal(page.n, 0);
    assert_int_equal(page.scan_capped, 1);
    assert_int_equal(page.cursor_len, 0);
    store_page_free(&page);

    /* A byte cap below one record: one record a page, still all of them. */
    q.filter = NULL;
    q.max_scan = 0;
    q.limit = 10;
    q.max_bytes = 1;
    seen = 0;
    for (;;) {
        assert_int_equal(store_list(f->s, &q, &page), 0);
        assert_int_equal(page.n, 1);
        seen++;
        if (page.cursor_len == 0) {
            store_page_free(&page);
            break;
        }
        memcpy(cursor, page.cursor, page.cursor_len);
        q.cursor = cursor;
        q.cursor_len = page.cursor_len;
        store_page_free(&page);
    }
    assert_int_equal(seen, 10);
}

/* The engine alone (store_open_hooks()): observation requests go to the
 * hook in queue order with the writer's sequence, which the engine keeps
 * across batches; a store_exec() function never reaches the hook; and the
 * engine itself stores no observation. */
struct hook_log {
    int calls;
    uint64_t seqs[4];
};

static int hook_apply(struct store_txn *t, struct store_write *w, uint64_t *next_seq, int *wrote)
{
    struct hook_log *log = w->user;

    (void)t;
    assert_true(log->calls < 4);
    log->seqs[log->calls++] = *next_seq;
    w->rc = 0;
    w->result = STORE_STORED;
    w->seq = (*next_seq)++;
    w->version = 1;
    *wrote = 1;
    return 0;
}

static int hook_exec_fn(struct store_txn *t, void *arg)
{
    (void)t;
    (*(int *)arg)++;
    return 0;
}

static void test_engine_hook(void **state)
{
    struct fixture *f = *state;
    struct store_hooks none = {.apply = NULL};
    struct store_hooks hooks = {.apply = hook_apply};
    struct hook_log log;
    struct obs_spec sp = {.coach = "coach-a", .coachee = "rep-a", .started_at = 1000};
    Coachq__V1__StoredObservation *r = NULL;
    struct store_write w[3];
    uint8_t *obs;
    size_t len;
    int fn_runs = 0;

    assert_int_equal(store_open_hooks(f->dir, NULL, NULL, &f->s), -EINVAL);
    assert_int_equal(store_open_hooks(f->dir, NULL, &none, &f->s), -EINVAL);
    assert_null(f->s);
    assert_int_equal(store_open_hooks(f->dir, NULL, &hooks, &f->s), 0);
    memset(&log, 0, sizeof(log));
    make_uuid(sp.id, 1, 7);
    len = pack_obs(&sp, &obs);
    for (int i = 0; i < 3; i++) {
        init_write(&w[i], obs, len, "obs-a", 5000 + i);
        w[i].user = &log;
    }
    /* Two in one batch (submitted while the writer is busy or not: either
     * way in order), then an exec, then one more. */
    assert_int_equal(store_submit(f->s, &w[0]), 0);
    assert_int_equal(store_submit(f->s, &w[1]), 0);
    store_drain(f->s);
    take_all(f->s, 2);
    assert_int_equal(store_exec(f->s, hook_exec_fn, &fn_runs), 0);
    assert_int_equal(fn_runs, 1);
    submit_wait(f->s, &w[2]);
    assert_int_equal(log.calls, 3);
    for (int i = 0; i < 3; i++) {
        assert_true(log.seqs[i] == (uint64_t)i + 1);
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].result, STORE_STORED);
        assert_true(w[i].seq == (uint64_t)i + 1);
    }
    assert_int_equal(store_get(f->s, sp.id, &r), -ENOENT);
    store_close(f->s);
    f->s = NULL;

    /* The sequence was committed with the batches. */
    assert_int_equal(store_open_hooks(f->dir, NULL, &hooks, &f->s), 0);
    memset(&log, 0, sizeof(log));
    submit_wait(f->s, &w[0]);
    assert_int_equal(log.calls, 1);
    assert_true(log.seqs[0] == 4);
    free(obs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_keeps_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_content, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict_observer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_is_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_uuid_one_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filtered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_completes_queued, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_eio_is_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_hook, setup, teardown),
    };

    testutil_watchdog(240);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
