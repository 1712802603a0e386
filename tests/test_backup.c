/*
 * test_backup: `coachqd backup` and `coachqd restore` with the real coachqd
 * binary. A backup taken while a real coachqd (mutual TLS on 127.0.0.1
 * port 0, the organisation of fixtures/org.csv) acknowledges a stream of
 * submissions holds every record acknowledged before the backup began and
 * verifies; a restore refuses a store that a running server has open and a
 * stopped one without --force, keeps the replaced store, and the server
 * serves the restored records. Bad backups, existing destinations and
 * strange directory names change nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client.h"
#include "obs.h"
#include "store.h"
#include "testutil.h"
#include "uuid.h"

#define WATCHDOG_SECONDS 300
/* Records acknowledged before the backup begins, and the most the load
 * stores in all. */
#define BEFORE_BACKUP 60
#define MAX_RECORDS 4000
/* 2026-11-02T14:30:00Z: a session the rules accept for the fixture's lines. */
#define SESSION_AT 1793629800LL

static const char *const pairs[][2] = {
    {"mgr.jones", "rep.kim"},
    {"flm.cara", "rep.ida"},
    {"flm.dan", "rep.jon"},
};

struct fx {
    char dir[512];
    char data[600];
    char out[16384];
    struct testutil_server srv;
};

/* A submitter on its own connection: stores records one at a time until
 * told to stop, and keeps the ids of the acknowledged ones in order. */
struct load {
    const struct testutil_server *srv;
    pthread_t thread;
    pthread_mutex_t mu;
    uint8_t (*ids)[16];
    size_t acked; /* under mu */
    int stop;     /* under mu */
    int failed;   /* an unexpected answer */
};

static void *load_main(void *arg)
{
    struct load *l = arg;
    struct client *c = testutil_connect(l->srv, "alice", 1);

    for (size_t i = 0; i < MAX_RECORDS; i++) {
        struct client_submit_result res;
        struct testutil_obs t;
        Coachq__V1__Observation *list[1];
        int stop;

        pthread_mutex_lock(&l->mu);
        stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop) {
            break;
        }
        testutil_obs_make(&t, pairs[i % 3][0], pairs[i % 3][1], SESSION_AT);
        list[0] = &t.o;
        memset(&res, 0, sizeof(res));
        if (client_submit_many(c, list, 1, &res, NULL, NULL) != 0 || !res.done ||
            res.err.code != 0) {
            l->failed = 1;
            break;
        }
        pthread_mutex_lock(&l->mu);
        memcpy(l->ids[l->acked], t.id, 16);
        l->acked++;
        pthread_mutex_unlock(&l->mu);
    }
    client_free(c);
    return NULL;
}

static size_t load_acked(struct load *l)
{
    size_t n;

    pthread_mutex_lock(&l->mu);
    n = l->acked;
    pthread_mutex_unlock(&l->mu);
    return n;
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    testutil_seed_org(f->data);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    testutil_server_abandon(&f->srv);
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* dir/name into out. */
static const char *path_in(char *out, size_t outlen, const char *dir, const char *name)
{
    snprintf(out, outlen, "%s/%s", dir, name);
    return out;
}

static int exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* Every id is in the store in dir, which nobody else has open. */
static void assert_all_in(const char *dir, uint8_t (*ids)[16], size_t n)
{
    struct store *s = testutil_store_open(dir, 0);

    for (size_t i = 0; i < n; i++) {
        Coachq__V1__StoredObservation *rec = NULL;
        char text[UUID_STR_LEN];
        int rc = store_get(s, ids[i], &rec);

        if (rc != 0) {
            store_close(s);
            fail_msg("acknowledged record %zu (%s) is not in %s: %d", i, uuid_format(ids[i], text),
                     dir, rc);
        }
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
    }
    store_close(s);
}

/* ---- Cases ---- */

/* A backup under a concurrent submit load holds every record acknowledged
 * before it began, verifies, and is compact. */
static void test_backup_under_load(void **state)
{
    struct fx *f = *state;
    char dest[700], path[800];
    struct load l;
    size_t before;
    struct stat src, bak;

    memset(&l, 0, sizeof(l));
    l.ids = calloc(MAX_RECORDS, 16);
    assert_non_null(l.ids);
    pthread_mutex_init(&l.mu, NULL);
    testutil_server_start(&f->srv, f->data, NULL);
    l.srv = &f->srv;
    assert_int_equal(pthread_create(&l.thread, NULL, load_main, &l), 0);
    while (load_acked(&l) < BEFORE_BACKUP && !l.failed) {
        testutil_sleep_ms(5);
    }
    before = load_acked(&l);
    snprintf(dest, sizeof(dest), "%s/backups/one", f->dir);
    testutil_coachqd(f->out, sizeof(f->out), 0, "backup", dest, "--data", f->data, NULL);
    pthread_mutex_lock(&l.mu);
    l.stop = 1;
    pthread_mutex_unlock(&l.mu);
    pthread_join(l.thread, NULL);
    assert_false(l.failed);
    /* The load went on while the backup ran: the server was not stopped
     * or blocked by it. */
    assert_true(load_acked(&l) > before);
    assert_non_null(strstr(f->out, "verified:"));
    assert_non_null(strstr(f->out, "backup written to"));
    testutil_assert_alive(&f->srv);
    /* Only the backup, no work directory beside it. */
    snprintf(path, sizeof(path), "ls -A '%s/backups' | grep -q partial", f->dir);
    assert_int_not_equal(system(path), 0);
    testutil_coachqd(f->out, sizeof(f->out), 0, "verify", "--data", dest, NULL);
    assert_non_null(strstr(f->out, "the aggregates match the records"));
    assert_all_in(dest, l.ids, before);
    testutil_stop_clean(&f->srv);
    /* Compacted: no bigger than the store it came from. */
    assert_int_equal(stat(path_in(path, sizeof(path), f->data, "data.mdb"), &src), 0);
    assert_int_equal(stat(path_in(path, sizeof(path), dest, "data.mdb"), &bak), 0);
    assert_true(bak.st_size <= src.st_size);
    assert_int_equal(bak.st_mode & 0777, 0600);
    pthread_mutex_destroy(&l.mu);
    free(l.ids);
}

/* A destination that exists, or a data directory without a store, is
 * refused and left as it was. */
static void test_backup_refusals(void **state)
{
    struct fx *f = *state;
    char dest[700], path[800], empty[700];

    snprintf(dest, sizeof(dest), "%s/exists", f->dir);
    assert_int_equal(mkdir(dest, 0700), 0);
    testutil_coachqd(f->out, sizeof(f->out), 1, "backup", dest, "--data", f->data, NULL);
    assert_non_null(strstr(f->out, "exists"));
    assert_false(exists(path_in(path, sizeof(path), dest, "data.mdb")));
    /* A file as destination is refused too, and left alone. */
    snprintf(path, sizeof(path), "%s/file", f->dir);
    {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("keep me\n", fp);
        fclose(fp);
    }
    assert_int_equal(
        testutil_coachqd(f->out, sizeof(f->out), 1, "backup", path, "--data", f->data, NULL), 1);
    snprintf(empty, sizeof(empty), "%s/empty", f->dir);
    assert_int_equal(mkdir(empty, 0700), 0);
    snprintf(dest, sizeof(dest), "%s/b2", f->dir);
    testutil_coachqd(f->out, sizeof(f->out), 1, "backup", dest, "--data", empty, NULL);
    assert_non_null(strstr(f->out, "holds no coachq store"));
    assert_false(exists(dest));
    /* A strange but valid name works; a control character in one is a
     * usage error that makes nothing. */
    snprintf(dest, sizeof(dest), "%s/we ird'name", f->dir);
    testutil_coachqd(f->out, sizeof(f->out), 0, "backup", dest, "--data", f->data, NULL);
    assert_true(exists(path_in(path, sizeof(path), dest, "data.mdb")));
    snprintf(dest, sizeof(dest), "%s/new\nline", f->dir);
    testutil_coachqd(f->out, sizeof(f->out), 2, "backup", dest, "--data", f->data, NULL);
    assert_false(exists(dest));
    /* Usage errors. */
    testutil_coachqd(f->out, sizeof(f->out), 2, "backup", "--data", f->data, NULL);
    testutil_coachqd(f->out, sizeof(f->out), 2, "backup", "a", "b", "--data", f->data, NULL);
    testutil_coachqd(f->out, sizeof(f->out), 0, "backup", "--help", NULL);
    assert_non_null(strstr(f->out, "Usage: coachqd backup DEST"));
}

/* Not a store: an LMDB file that is garbage, or an LMDB environment of
 * something else, is refused by backup and restore alike, and nothing is
 * left behind. */
static void test_bad_backup(void **state)
{
    struct fx *f = *state;
    char bad[700], path[800], target[700];
    FILE *fp;

    snprintf(bad, sizeof(bad), "%s/bad", f->dir);
    assert_int_equal(mkdir(bad, 0700), 0);
    fp = fopen(path_in(path, sizeof(path), bad, "data.mdb"), "w");
    assert_non_null(fp);
    for (int i = 0; i < 20000; i++) {
        fputc((i * 7919) & 0xff, fp);
    }
    fclose(fp);
    snprintf(target, sizeof(target), "%s/target", f->dir);
    testutil_coachqd(f->out, sizeof(f->out), 1, "restore", bad, "--data", target, NULL);
    assert_non_null(strstr(f->out, "cannot copy"));
    assert_false(exists(path_in(path, sizeof(path), target, "data.mdb")));
    snprintf(path, sizeof(path), "%s/out", f->dir);
    testutil_coachqd(f->out, sizeof(f->out), 1, "backup", path, "--data", bad, NULL);
    assert_false(exists(path));
    /* The restore's work directory is gone too. */
    {
        char cmd[900];
        snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -q partial", target);
        assert_int_not_equal(system(cmd), 0);
    }
}

/* restore: refuses a running server's store (naming its pid) and a stopped
 * store without --force; with --force it keeps the old store and the
 * server serves exactly the backup's records. */
static void test_restore(void **state)
{
    struct fx *f = *state;
    struct testutil_obs early, late;
    struct client_submit_result res;
    Coachq__V1__Observation *list[1];
    Coachq__V1__StoredObservation *rec = NULL;
    struct client_error err;
    struct client *c;
    char dest[700], path[800], pid[32], cmd[900];

    testutil_server_start(&f->srv, f->data, NULL);
    c = testutil_connect(&f->srv, "alice", 0);
    testutil_obs_make(&early, "flm.cara", "rep.ida", SESSION_AT);
    list[0] = &early.o;
    memset(&res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, list, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.err.code, 0);
    snprintf(dest, sizeof(dest), "%s/bk", f->dir);
    testutil_coachqd(f->out, sizeof(f->out), 0, "backup", dest, "--data", f->data, NULL);
    testutil_obs_make(&late, "flm.cara", "rep.ida", SESSION_AT);
    list[0] = &late.o;
    memset(&res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, list, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.err.code, 0);

    /* The server has the store open: refused, with its pid, even with
     * --force. */
    snprintf(pid, sizeof(pid), "process %ld", (long)f->srv.pid);
    testutil_coachqd(f->out, sizeof(f->out), 1, "restore", dest, "--data", f->data, "--force",
                     NULL);
    assert_non_null(strstr(f->out, pid));
    assert_int_equal(client_get(c, late.id, &rec, &err), 0);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    client_free(c);
    testutil_stop_clean(&f->srv);

    /* Stopped, but without --force: refused. */
    testutil_coachqd(f->out, sizeof(f->out), 1, "restore", dest, "--data", f->data, NULL);
    assert_non_null(strstr(f->out, "--force"));
    /* With --force: done, the old store kept beside. */
    testutil_coachqd(f->out, sizeof(f->out), 0, "restore", dest, "--data", f->data, "--force",
                     NULL);
    assert_non_null(strstr(f->out, "pre-restore-"));
    snprintf(cmd, sizeof(cmd), "test -f %s/pre-restore-*/data.mdb", f->data);
    assert_int_equal(system(cmd), 0);
    testutil_coachqd(f->out, sizeof(f->out), 0, "audit", "--data", f->data, NULL);
    assert_non_null(strstr(f->out, "store.restore"));
    testutil_coachqd(f->out, sizeof(f->out), 0, "verify", "--data", f->data, NULL);

    /* The server serves the backup's records: the early one, not the
     * late one. */
    testutil_server_start(&f->srv, f->data, NULL);
    c = testutil_connect(&f->srv, "alice", 0);
    assert_int_equal(client_get(c, early.id, &rec, &err), 0);
    testutil_assert_same_obs(rec->observation, &early.o);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    assert_int_not_equal(client_get(c, late.id, &rec, &err), 0);
    assert_int_equal(err.code, COACHQ__V1__CODE__NOT_FOUND);
    client_free(c);
    testutil_stop_clean(&f->srv);

    /* Into a new directory: no --force needed. */
    snprintf(path, sizeof(path), "%s/fresh/data", f->dir);
    testutil_coachqd(f->out, sizeof(f->out), 0, "restore", dest, "--data", path, NULL);
    testutil_coachqd(f->out, sizeof(f->out), 0, "verify", "--data", path, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_under_load, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_backup_refusals, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_backup, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_restore, fx_setup, fx_teardown),
    };

    testutil_watchdog(WATCHDOG_SECONDS);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
