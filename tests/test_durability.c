/*
 * test_durability: what an acknowledgement is worth. The real coachqd (a
 * child process on 127.0.0.1 port 0, on a data directory holding the
 * organisation of fixtures/org.csv so that the observations pass the
 * organisation's rules) stores records, is killed with SIGKILL
 * right after (or while) it acknowledges them, and is started again on the
 * same data directory: every acknowledged record must come back byte for
 * byte, with its sequence number. Then the store's disk fills up (a small
 * tmpfs, when this process may mount one): submits are refused with
 * RESOURCE_EXHAUSTED and nothing acknowledged, reads keep working, and
 * writes resume once space is freed, without a restart. After each crash
 * and each full disk, `coachqd verify` finds the store's derived data
 * (aggregates, cumulative lists, action records, coaching day counts) as
 * its records give it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "testutil.h"
#include "uuid.h"

#define WATCHDOG_SECONDS 150
#define ACKED_RECORDS 300
#define STREAM_RECORDS 400
#define KILL_AFTER 120
#define TMPFS_SIZE "2m"
/* 10 ratings with 1900 bytes of evidence and 60 markers with 480-byte notes:
 * about 48 KiB a record. */
#define BIG_EVIDENCE 1900
#define BIG_MARKERS 60
#define MARKER_NOTE 480
#define MARKER_EVERY_MS 20000
/* 2026-11-02T14:30:00Z: a session the rules accept for the fixture's
 * reporting lines. */
#define SESSION_AT 1793629800LL
#define FULL_DISK_TRIES 200
#define PARTIAL_TRIES 40
#define PARTIAL_LEAVE (24u * 1024u) /* six pages: less than one big record */

struct fx {
    char dir[512];
    char data[600];
    char mnt[600]; /* a tmpfs mount point, or "" */
    int mounted;
    struct testutil_server srv;
    struct client *c;
};

/* ---- Helpers ---- */

/* An observation and the text and markers it points to. It points into
 * itself, so it lives on the heap and is never moved. */
struct dobs {
    struct testutil_obs t;
    Coachq__V1__Marker *m;
    Coachq__V1__Marker **mp;
    char note[64];
    char *evidence;
    char *marker_note;
};

/* Coaches and coachees who report to them on SESSION_AT (fixtures/org.csv). */
static const char *const pairs[][2] = {
    {"mgr.jones", "rep.kim"},
    {"flm.cara", "rep.ida"},
    {"flm.dan", "rep.jon"},
    {"flm.dan", "rep.lou"},
};

/*
 * Returns a new valid observation (caller owns, free with dobs_free()):
 * testutil_obs_make() with scores 1 to 4, every rating with evidence of
 * evidence_len bytes, nmarkers markers with notes of MARKER_NOTE bytes, a
 * coach, coachee, duration and note chosen by serial (the note makes it
 * unique), and a fresh random id.
 */
static struct dobs *make_obs(unsigned serial, unsigned nmarkers, size_t evidence_len)
{
    const char *const *pair = pairs[serial % 4];
    struct dobs *d = calloc(1, sizeof(*d));

    assert_non_null(d);
    testutil_obs_make(&d->t, pair[0], pair[1], SESSION_AT);
    d->evidence = malloc(evidence_len + 1);
    d->marker_note = malloc(MARKER_NOTE + 1);
    d->m = calloc(nmarkers + 1, sizeof(*d->m));
    d->mp = calloc(nmarkers + 1, sizeof(*d->mp));
    assert_non_null(d->evidence);
    assert_non_null(d->marker_note);
    assert_non_null(d->m);
    assert_non_null(d->mp);
    for (size_t i = 0; i < evidence_len; i++) {
        d->evidence[i] = (char)('a' + (serial + i) % 26);
    }
    d->evidence[evidence_len] = '\0';
    for (size_t i = 0; i < MARKER_NOTE; i++) {
        d->marker_note[i] = (char)('A' + (serial + i) % 26);
    }
    d->marker_note[MARKER_NOTE] = '\0';
    /* Scores 1 and 4 need the evidence that every rating has here. */
    for (size_t i = 0; i < d->t.o.n_ratings; i++) {
        d->t.r[i].score = 1 + (uint32_t)(i % 4);
        d->t.r[i].evidence = d->evidence;
    }
    d->t.o.session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW;
    d->t.o.focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    d->t.o.duration_s = 60 * (30 + serial % 60);
    /* Markers fall inside the session (at least 30 minutes). */
    assert_true((uint64_t)nmarkers * MARKER_EVERY_MS <= 30u * 60u * 1000u);
    for (unsigned k = 0; k < nmarkers; k++) {
        coachq__v1__marker__init(&d->m[k]);
        d->m[k].kind = COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION;
        d->m[k].offset_ms = k * MARKER_EVERY_MS;
        d->m[k].note = d->marker_note;
        d->mp[k] = &d->m[k];
    }
    d->t.o.n_markers = nmarkers;
    d->t.o.markers = nmarkers > 0 ? d->mp : NULL;
    snprintf(d->note, sizeof(d->note), "record %u", serial);
    d->t.o.notes = d->note;
    return d;
}

static void dobs_free(struct dobs *d)
{
    if (d != NULL) {
        free(d->evidence);
        free(d->marker_note);
        free(d->m);
        free(d->mp);
        free(d);
    }
}

static int submit_one(struct client *c, Coachq__V1__Observation *o,
                      struct client_submit_result *res)
{
    Coachq__V1__Observation *const list[1] = {o};

    memset(res, 0, sizeof(*res));
    return client_submit_many(c, list, 1, res, NULL, NULL);
}

/* Reads o's record back and checks content, seq, time and observer. */
static void assert_stored(struct client *c, const Coachq__V1__Observation *o,
                          const struct client_submit_result *ack)
{
    Coachq__V1__StoredObservation *rec = NULL;
    struct client_error err;
    char ids[UUID_STR_LEN];
    int rc = client_get(c, o->id.data, &rec, &err);

    if (rc != 0) {
        fail_msg("get %s (acknowledged, seq %llu): %d %s", uuid_format(o->id.data, ids),
                 (unsigned long long)ack->seq, rc, err.message);
    }
    testutil_assert_same_obs(rec->observation, o);
    assert_int_equal(rec->seq, ack->seq);
    assert_int_equal(rec->received_at_ms, ack->received_at_ms);
    assert_string_equal(rec->observer_id, "alice");
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
}

/* Runs argv (argv[0] a full path) with output to /dev/null; returns its
 * exit status, or -1 if it could not run. */
static int run_cmd(const char *const *argv)
{
    pid_t pid = fork();
    int st;

    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* LMDB's own tool, when installed, must open the environment and read
 * every database after the crash. */
static void check_with_mdb_stat(const char *dir)
{
    static const char *const tools[] = {"/usr/bin/mdb_stat", "/usr/local/bin/mdb_stat"};

    for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
        if (access(tools[i], X_OK) == 0) {
            const char *const argv[] = {tools[i], "-e", "-a", dir, NULL};
            assert_int_equal(run_cmd(argv), 0);
            return;
        }
    }
    fprintf(stderr, "note: mdb_stat not installed; skipping its check of the data directory\n");
}

/*
 * Runs `coachqd verify` on the store in data (no server on it) and fails
 * the test unless the derived data match the records, and the store holds
 * exactly records observations, every one counted into aggregates: a check
 * of a store with nothing derived could not fail.
 */
static void expect_verified(const char *data, uint64_t records)
{
    struct testutil_verified v;

    testutil_verify_clean(data, &v);
    assert_int_equal(v.observations, records);
    assert_int_equal(v.counted, records);
    assert_true(v.values > 0);
    assert_true(v.days > 0);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    *state = f;
    return 0;
}

/* Runs after every case, failed ones too: the server is stopped before the
 * tmpfs under it is unmounted. */
static int fx_teardown(void **state)
{
    struct fx *f = *state;

    client_free(f->c);
    testutil_server_abandon(&f->srv);
    if (f->mounted) {
        const char *const argv[] = {"/bin/umount", f->mnt, NULL};
        if (run_cmd(argv) != 0) {
            fprintf(stderr, "warning: could not unmount %s\n", f->mnt);
        }
    }
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* ---- Cases ---- */

/* 300 acknowledged records survive SIGKILL right after the last ack. */
static void test_sigkill_after_acks(void **state)
{
    struct fx *f = *state;
    struct dobs *d[ACKED_RECORDS];
    Coachq__V1__Observation *obs[ACKED_RECORDS];
    struct client_submit_result *res = calloc(ACKED_RECORDS, sizeof(*res));
    int st;

    assert_non_null(res);
    for (unsigned i = 0; i < ACKED_RECORDS; i++) {
        d[i] = make_obs(i, i % 8, 50 + (i * 37) % 400);
        obs[i] = &d[i]->t.o;
    }
    testutil_seed_org(f->data);
    testutil_server_start(&f->srv, f->data, NULL);
    f->c = testutil_connect(&f->srv, "alice", 0);
    assert_int_equal(client_submit_many(f->c, obs, ACKED_RECORDS, res, NULL, NULL), 0);
    for (unsigned i = 0; i < ACKED_RECORDS; i++) {
        assert_true(res[i].done);
        if (res[i].err.code != COACHQ__V1__CODE__OK) {
            fail_msg("record %u: %d %s %s", i, res[i].err.code, res[i].err.field,
                     res[i].err.message);
        }
        assert_int_equal(res[i].result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    }
    st = testutil_server_stop(&f->srv, SIGKILL);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    client_free(f->c);
    f->c = NULL;
    check_with_mdb_stat(f->data);
    /* The derived data are as the records give them, as the crash left
     * them: what the restart below opens. */
    expect_verified(f->data, ACKED_RECORDS);

    /* The same data directory opens as it is: no repair step exists. */
    testutil_server_start(&f->srv, f->data, NULL);
    f->c = testutil_connect(&f->srv, "alice", 0);
    for (unsigned i = 0; i < ACKED_RECORDS; i++) {
        assert_stored(f->c, obs[i], &res[i]);
    }
    /* Resubmitting after the restart is answered as the first time. */
    assert_int_equal(client_submit_many(f->c, obs, ACKED_RECORDS, res + 0, NULL, NULL), 0);
    for (unsigned i = 0; i < ACKED_RECORDS; i++) {
        assert_int_equal(res[i].err.code, COACHQ__V1__CODE__OK);
        assert_int_equal(res[i].result, COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE);
    }
    client_free(f->c);
    f->c = NULL;
    testutil_stop_clean(&f->srv);
    expect_verified(f->data, ACKED_RECORDS);
    for (unsigned i = 0; i < ACKED_RECORDS; i++) {
        dobs_free(d[i]);
    }
    free(res);
}

struct killer {
    struct testutil_server *srv;
    size_t after;
    int killed;
};

/* Client progress callback: SIGKILLs the server once `after` answers came,
 * while the rest are still in flight. */
static void kill_midway(size_t answered, size_t total, void *arg)
{
    struct killer *k = arg;

    (void)total;
    if (!k->killed && answered >= k->after) {
        kill(k->srv->pid, SIGKILL);
        k->killed = 1;
    }
}

/* SIGKILL while submits are in flight: whatever was acknowledged before
 * the kill is there after the restart; an unacknowledged record is either
 * there whole or not at all. */
static void test_sigkill_mid_stream(void **state)
{
    struct fx *f = *state;
    struct dobs *d[STREAM_RECORDS];
    Coachq__V1__Observation *obs[STREAM_RECORDS];
    struct client_submit_result *res = calloc(STREAM_RECORDS, sizeof(*res));
    struct client_submit_result *again = calloc(STREAM_RECORDS, sizeof(*again));
    struct killer k;
    struct testutil_verified v;
    size_t acked = 0, unacked_present = 0;
    int rc, st;

    assert_non_null(res);
    assert_non_null(again);
    for (unsigned i = 0; i < STREAM_RECORDS; i++) {
        d[i] = make_obs(1000 + i, 4, 120);
        obs[i] = &d[i]->t.o;
    }
    testutil_seed_org(f->data);
    testutil_server_start(&f->srv, f->data, NULL);
    f->c = testutil_connect(&f->srv, "alice", 0);
    k.srv = &f->srv;
    k.after = KILL_AFTER;
    k.killed = 0;
    rc = client_submit_many(f->c, obs, STREAM_RECORDS, res, kill_midway, &k);
    assert_true(k.killed);
    st = testutil_server_stop(&f->srv, 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    assert_true(rc < 0);
    client_free(f->c);
    f->c = NULL;
    check_with_mdb_stat(f->data);
    /* The derived data match the records the crash left (counted below). */
    testutil_verify_clean(f->data, &v);

    testutil_server_start(&f->srv, f->data, NULL);
    f->c = testutil_connect(&f->srv, "alice", 0);
    for (unsigned i = 0; i < STREAM_RECORDS; i++) {
        if (res[i].done && res[i].err.code == COACHQ__V1__CODE__OK) {
            assert_int_equal(res[i].result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
            assert_stored(f->c, obs[i], &res[i]);
            acked++;
        } else {
            Coachq__V1__StoredObservation *rec = NULL;
            struct client_error err;
            rc = client_get(f->c, obs[i]->id.data, &rec, &err);
            if (rc == 0) {
                testutil_assert_same_obs(rec->observation, obs[i]);
                coachq__v1__stored_observation__free_unpacked(rec, NULL);
                unacked_present++;
            } else {
                assert_int_equal(rc, -EREMOTEIO);
                assert_int_equal(err.code, COACHQ__V1__CODE__NOT_FOUND);
            }
        }
    }
    assert_true(acked >= KILL_AFTER);
    fprintf(stderr, "note: %zu acknowledged before SIGKILL, %zu more stored unacknowledged\n",
            acked, unacked_present);
    assert_int_equal(v.observations, acked + unacked_present);
    assert_int_equal(v.counted, acked + unacked_present);
    assert_true(v.values > 0);

    /* Retrying everything completes the set; the acknowledged ones keep
     * their sequence numbers. */
    assert_int_equal(client_submit_many(f->c, obs, STREAM_RECORDS, again, NULL, NULL), 0);
    for (unsigned i = 0; i < STREAM_RECORDS; i++) {
        assert_int_equal(again[i].err.code, COACHQ__V1__CODE__OK);
        if (res[i].done && res[i].err.code == COACHQ__V1__CODE__OK) {
            assert_int_equal(again[i].result, COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE);
            assert_int_equal(again[i].seq, res[i].seq);
        }
    }
    client_free(f->c);
    f->c = NULL;
    testutil_stop_clean(&f->srv);
    expect_verified(f->data, STREAM_RECORDS);
    for (unsigned i = 0; i < STREAM_RECORDS; i++) {
        dobs_free(d[i]);
    }
    free(res);
    free(again);
}

/* Fills the file system under path: writes until ENOSPC. Returns the bytes
 * written. */
static size_t fill_disk(const char *path)
{
    static uint8_t chunk[64 * 1024];
    size_t total = 0;
    size_t piece = sizeof(chunk);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    assert_true(fd >= 0);
    memset(chunk, 'f', sizeof(chunk));
    /* Large pieces first, then smaller ones, down to a byte: nothing may
     * be left. */
    while (piece > 0) {
        ssize_t n = write(fd, chunk, piece);
        if (n > 0) {
            total += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        assert_true(n < 0 && errno == ENOSPC);
        piece /= 2;
    }
    close(fd);
    return total;
}

/* Mounts a small tmpfs at <dir>/mnt, or skips the case when this process
 * may not mount. */
static void mount_small_disk(struct fx *f)
{
    const char *argv[] = {"/bin/mount", "-t", "tmpfs", "-o", "size=" TMPFS_SIZE ",mode=0700",
                          "tmpfs",      NULL, NULL};

    if (geteuid() != 0) {
        fprintf(stderr, "note: not root; the full-disk cases need to mount a tmpfs\n");
        skip();
    }
    snprintf(f->mnt, sizeof(f->mnt), "%s/mnt", f->dir);
    assert_int_equal(mkdir(f->mnt, 0700), 0);
    argv[6] = f->mnt;
    if (run_cmd(argv) != 0) {
        fprintf(stderr, "note: cannot mount a tmpfs here; skipping the full-disk case\n");
        skip();
    }
    f->mounted = 1;
}

/* A full disk refuses writes (RESOURCE_EXHAUSTED, no ack), keeps reads
 * working and accepts writes again once space is freed. */
static void test_full_disk(void **state)
{
    static const char *const args[] = {"--map-size", "65536", NULL};
    struct fx *f = *state;
    struct dobs *early[3] = {NULL, NULL, NULL};
    struct client_submit_result early_res[3];
    struct dobs *refused = NULL;
    struct client_submit_result res;
    char filler[700];
    struct statvfs vfs;
    struct client *c2;
    unsigned serial = 5000;
    int stored_while_full = 0;

    mount_small_disk(f);
    /* The store is the mount point itself, so that the server's port file
     * and log (beside the data directory) stay off the small disk. */
    testutil_seed_org(f->mnt);
    testutil_server_start(&f->srv, f->mnt, args);
    f->c = testutil_connect(&f->srv, "alice", 0);
    for (int i = 0; i < 3; i++) {
        early[i] = make_obs(serial++, BIG_MARKERS, BIG_EVIDENCE);
        assert_int_equal(submit_one(f->c, &early[i]->t.o, &early_res[i]), 0);
        assert_int_equal(early_res[i].err.code, COACHQ__V1__CODE__OK);
    }

    snprintf(filler, sizeof(filler), "%s/filler", f->mnt);
    fill_disk(filler);
    assert_int_equal(statvfs(f->mnt, &vfs), 0);
    fprintf(stderr, "note: tmpfs filled; %llu blocks free\n", (unsigned long long)vfs.f_bavail);

    /* Submit until the disk refuses; records that fit in pages LMDB can
     * reuse may still be stored first. */
    for (int i = 0; i < FULL_DISK_TRIES; i++) {
        struct dobs *o = make_obs(serial++, BIG_MARKERS, BIG_EVIDENCE);
        int rc = submit_one(f->c, &o->t.o, &res);
        if (rc != 0) {
            fail_msg("submit on a full disk: connection failed: %d %s (server %s)", rc,
                     res.err.message, f->srv.log_file);
        }
        if (res.err.code == COACHQ__V1__CODE__OK) {
            stored_while_full++;
            dobs_free(o);
            continue;
        }
        if (res.err.code != COACHQ__V1__CODE__RESOURCE_EXHAUSTED) {
            fail_msg("submit on a full disk: code %d: %s", res.err.code, res.err.message);
        }
        refused = o;
        break;
    }
    if (refused == NULL) {
        fail_msg("%d records were stored on a full disk without a refusal", FULL_DISK_TRIES);
    }
    fprintf(stderr, "note: %d records stored after the disk filled, then RESOURCE_EXHAUSTED: %s\n",
            stored_while_full, res.err.message);
    testutil_sleep_ms(50);
    testutil_assert_alive(&f->srv);

    /* Reads keep working, on this connection and a new one; the refused
     * record was not stored. */
    for (int i = 0; i < 3; i++) {
        assert_stored(f->c, &early[i]->t.o, &early_res[i]);
    }
    c2 = testutil_connect(&f->srv, "alice", 1);
    assert_stored(c2, &early[0]->t.o, &early_res[0]);
    {
        Coachq__V1__StoredObservation *rec = NULL;
        struct client_error err;
        assert_int_equal(client_get(c2, refused->t.id, &rec, &err), -EREMOTEIO);
        assert_int_equal(err.code, COACHQ__V1__CODE__NOT_FOUND);
    }
    /* Still full: refused again, and the server stays up. */
    assert_int_equal(submit_one(c2, &refused->t.o, &res), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__RESOURCE_EXHAUSTED);
    testutil_assert_alive(&f->srv);

    /* Space comes back: the same record is now stored, without a restart. */
    assert_int_equal(unlink(filler), 0);
    assert_int_equal(submit_one(c2, &refused->t.o, &res), 0);
    if (res.err.code != COACHQ__V1__CODE__OK) {
        fail_msg("submit after space was freed: %d %s", res.err.code, res.err.message);
    }
    assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    assert_stored(f->c, &refused->t.o, &res);
    {
        struct dobs *o = make_obs(serial++, BIG_MARKERS, BIG_EVIDENCE);
        assert_int_equal(submit_one(f->c, &o->t.o, &res), 0);
        assert_int_equal(res.err.code, COACHQ__V1__CODE__OK);
        assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
        dobs_free(o);
    }
    client_free(c2);
    client_free(f->c);
    f->c = NULL;
    testutil_stop_clean(&f->srv);
    /* The batches the full disk refused left nothing derived behind: the
     * three early records, those stored while full, the refused one and
     * the last. */
    expect_verified(f->mnt, 3 + (uint64_t)stored_while_full + 2);
    dobs_free(refused);
    for (int i = 0; i < 3; i++) {
        dobs_free(early[i]);
    }
}

/*
 * A disk with a few pages left: the file would grow by less than a commit
 * needs. LMDB reports a short page write as EIO, which the failure policy
 * must treat as fatal, so the store reserves the data file's blocks before
 * LMDB writes (store_reserve). Regression: before that, a nearly full disk
 * made the server refuse all writes and exit 1 instead of answering
 * RESOURCE_EXHAUSTED and carrying on. Now: RESOURCE_EXHAUSTED, the server
 * stays up, and once space is back the refused record stores without a
 * restart while every acknowledged one is intact.
 */
static void test_full_disk_partial_write(void **state)
{
    static const char *const args[] = {"--map-size", "65536", NULL};
    struct fx *f = *state;
    struct dobs *acked[PARTIAL_TRIES + 3];
    struct client_submit_result acked_res[PARTIAL_TRIES + 3];
    struct dobs *refused = NULL;
    struct client_submit_result res;
    char filler[700];
    size_t nacked = 0, filled;
    unsigned serial = 7000;

    mount_small_disk(f);
    testutil_seed_org(f->mnt);
    testutil_server_start(&f->srv, f->mnt, args);
    f->c = testutil_connect(&f->srv, "alice", 0);
    for (int i = 0; i < 3; i++) {
        acked[nacked] = make_obs(serial++, BIG_MARKERS, BIG_EVIDENCE);
        assert_int_equal(submit_one(f->c, &acked[nacked]->t.o, &acked_res[nacked]), 0);
        assert_int_equal(acked_res[nacked].err.code, COACHQ__V1__CODE__OK);
        nacked++;
    }
    snprintf(filler, sizeof(filler), "%s/filler", f->mnt);
    filled = fill_disk(filler);
    assert_true(filled > PARTIAL_LEAVE);
    assert_int_equal(truncate(filler, (off_t)(filled - PARTIAL_LEAVE)), 0);

    for (int i = 0; i < PARTIAL_TRIES && refused == NULL; i++) {
        struct dobs *o = make_obs(serial++, BIG_MARKERS, BIG_EVIDENCE);
        int rc = submit_one(f->c, &o->t.o, &res);
        if (rc != 0) {
            fail_msg("submit on a nearly full disk: connection failed: %d %s", rc, res.err.message);
        }
        if (res.err.code == COACHQ__V1__CODE__OK) {
            acked[nacked] = o;
            acked_res[nacked] = res;
            nacked++;
        } else if (res.err.code == COACHQ__V1__CODE__RESOURCE_EXHAUSTED ||
                   res.err.code == COACHQ__V1__CODE__UNAVAILABLE) {
            refused = o;
        } else {
            fail_msg("submit on a nearly full disk: code %d: %s", res.err.code, res.err.message);
        }
    }
    if (refused == NULL) {
        fail_msg("%d records were stored on a nearly full disk without a refusal", PARTIAL_TRIES);
    }
    fprintf(stderr, "note: nearly full disk: %zu acknowledged, then code %d: %s\n", nacked,
            (int)res.err.code, res.err.message);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__RESOURCE_EXHAUSTED);
    testutil_assert_alive(&f->srv);
    assert_int_equal(unlink(filler), 0);
    for (size_t i = 0; i < nacked; i++) {
        assert_stored(f->c, &acked[i]->t.o, &acked_res[i]);
    }
    {
        Coachq__V1__StoredObservation *rec = NULL;
        struct client_error err;
        assert_int_equal(client_get(f->c, refused->t.id, &rec, &err), -EREMOTEIO);
        assert_int_equal(err.code, COACHQ__V1__CODE__NOT_FOUND);
    }
    assert_int_equal(submit_one(f->c, &refused->t.o, &res), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__OK);
    assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    assert_stored(f->c, &refused->t.o, &res);
    client_free(f->c);
    f->c = NULL;
    testutil_stop_clean(&f->srv);
    expect_verified(f->mnt, nacked + 1);
    dobs_free(refused);
    for (size_t i = 0; i < nacked; i++) {
        dobs_free(acked[i]);
    }
}

static int group_setup(void **state)
{
    struct sigaction sa;

    (void)state;
    testutil_watchdog(WATCHDOG_SECONDS);
    /* A client writing to a server just killed must get EPIPE, not die of
     * SIGPIPE (the client library leaves the disposition to its caller). */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigkill_after_acks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_mid_stream, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_full_disk_partial_write, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
