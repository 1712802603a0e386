/*
 * test_server_acks: how the real coachqd answers the submits of a commit.
 *
 * on_store_async() corks each connection at its first ack of a commit and
 * uncorks it once the commit's answers are queued, so that a connection's
 * acks of one commit leave in one TLS write. These cases drive the real
 * coachqd (a child process on 127.0.0.1 port 0, a fresh store holding the
 * organisation of fixtures/org.csv) with blocking OpenSSL peers written
 * here, which pipeline submits and read exactly what the server answers:
 * every request is acked once, in the order the server committed them
 * (their sequence numbers rise), over several commits; a peer that goes
 * away while its submits are being committed costs the others nothing; and
 * a peer that hangs up while the server drains for SIGTERM lets the server
 * close its store and exit cleanly.
 */
#include <errno.h>
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
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "frame.h"
#include "testutil.h"
#include "tls_ctx.h"
#include "uuid.h"

#define ALPN "coachq/1"
#define WATCHDOG_SECONDS 180
#define RAW_TIMEOUT_S 10
/* 2026-10-27T00:00:00Z: a session time the validator accepts. */
#define T0 1793059200LL

/* Client context of the blocking peers (alice), made once per group. */
static SSL_CTX *g_alice_ctx;

/* One test's server and directories. */
struct fx {
    char dir[512];
    char data[600];
    struct testutil_server srv;
    unsigned serial; /* makes each session time unique */
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    testutil_seed_org(f->data);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    /* Only does something when the test failed before stopping it. */
    testutil_server_abandon(&f->srv);
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* Sends one submit of a new valid observation (alice observing mgr.jones
 * with rep.kim) as request id; its id goes to id_out. */
static void raw_submit(struct testutil_raw *r, struct fx *f, uint64_t id, uint8_t id_out[UUID_LEN])
{
    Coachq__V1__Frame fr = COACHQ__V1__FRAME__INIT;
    Coachq__V1__SubmitObservation sub = COACHQ__V1__SUBMIT_OBSERVATION__INIT;
    struct testutil_obs t;
    size_t n;
    uint8_t *p;

    testutil_obs_make(&t, "mgr.jones", "rep.kim", T0 + (int64_t)++f->serial * 60);
    memcpy(id_out, t.id, UUID_LEN);
    sub.observation = &t.o;
    fr.request_id = id;
    fr.body_case = COACHQ__V1__FRAME__BODY_SUBMIT;
    fr.submit = &sub;
    n = coachq__v1__frame__get_packed_size(&fr);
    p = malloc(FRAME_HEADER_LEN + n);
    assert_non_null(p);
    frame_put_header(p, (uint32_t)n);
    coachq__v1__frame__pack(&fr, p + FRAME_HEADER_LEN);
    testutil_raw_send(r, p, FRAME_HEADER_LEN + n);
    free(p);
}

/* Reads one answer and checks it is the STORED ack of a request in
 * 1..n not acked before, for the observation ids[request - 1]; marks it in
 * seen and returns it (caller frees). */
static Coachq__V1__Frame *raw_ack(struct testutil_raw *r, size_t n, uint8_t (*ids)[UUID_LEN],
                                  unsigned char *seen)
{
    Coachq__V1__Frame *a = testutil_raw_frame(r, NULL);

    if (a == NULL) {
        fail_msg("the connection closed before an answer");
    }
    if (a->body_case != COACHQ__V1__FRAME__BODY_ACK) {
        fail_msg("request %llu answered with body %d (%s)", (unsigned long long)a->request_id,
                 (int)a->body_case,
                 a->body_case == COACHQ__V1__FRAME__BODY_ERROR ? a->error->message : "");
    }
    assert_true(a->request_id >= 1 && a->request_id <= n);
    if (seen[a->request_id - 1]) {
        fail_msg("request %llu acked twice", (unsigned long long)a->request_id);
    }
    seen[a->request_id - 1] = 1;
    assert_int_equal(a->ack->result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    assert_int_equal(a->ack->id.len, UUID_LEN);
    assert_memory_equal(a->ack->id.data, ids[a->request_id - 1], UUID_LEN);
    return a;
}

/* The server's commit count, read by a lead. */
static uint64_t server_commits(const struct testutil_server *s)
{
    struct client *c = testutil_connect(s, "lead.gil", 0);
    Coachq__V1__Stats *st = NULL;
    struct client_error e;
    uint64_t commits;

    assert_int_equal(client_stats(c, &st, &e), 0);
    commits = st->commits;
    coachq__v1__stats__free_unpacked(st, NULL);
    client_free(c);
    return commits;
}

#define ORDER_TOTAL 256
#define ORDER_WINDOW 16

/* One connection keeps 16 submits in flight, sending the next as each ack
 * arrives, over many commits: every request is acked exactly once, and the
 * acks come in the order the server committed and answered them (their
 * sequence numbers rise), however a commit's acks were held and sent. */
static void test_acks_once_in_commit_order(void **state)
{
    static const char *const args[] = {"--dashboard", "off", NULL};
    struct fx *f = *state;
    uint8_t(*ids)[UUID_LEN] = calloc(ORDER_TOTAL, UUID_LEN);
    unsigned char *seen = calloc(ORDER_TOTAL, 1);
    uint64_t sent = 0;
    uint64_t last_seq = 0;
    uint64_t commits0;
    uint64_t commits;
    struct testutil_raw r;

    assert_non_null(ids);
    assert_non_null(seen);
    testutil_server_start(&f->srv, f->data, args);
    commits0 = server_commits(&f->srv);
    testutil_raw_open(&r, &f->srv, g_alice_ctx, RAW_TIMEOUT_S * (int)testutil_timeout_scale());
    while (sent < ORDER_WINDOW) {
        sent++;
        raw_submit(&r, f, sent, ids[sent - 1]);
    }
    for (size_t got = 0; got < ORDER_TOTAL; got++) {
        Coachq__V1__Frame *a = raw_ack(&r, ORDER_TOTAL, ids, seen);

        if (a->ack->seq <= last_seq) {
            fail_msg("ack %zu (request %llu) has seq %llu after seq %llu", got,
                     (unsigned long long)a->request_id, (unsigned long long)a->ack->seq,
                     (unsigned long long)last_seq);
        }
        last_seq = a->ack->seq;
        coachq__v1__frame__free_unpacked(a, NULL);
        if (sent < ORDER_TOTAL) {
            sent++;
            raw_submit(&r, f, sent, ids[sent - 1]);
        }
    }
    testutil_raw_close(&r, 0);
    for (size_t i = 0; i < ORDER_TOTAL; i++) {
        assert_int_equal(seen[i], 1);
    }
    /* Several commits, each with several of the connection's acks. */
    commits = server_commits(&f->srv) - commits0;
    print_message("%d submits, %d in flight: %llu commits\n", ORDER_TOTAL, ORDER_WINDOW,
                  (unsigned long long)commits);
    assert_true(commits >= 2);
    assert_true(commits < ORDER_TOTAL);
    free(ids);
    free(seen);
    testutil_stop_clean(&f->srv);
}

#define STAYERS 3
#define STAYER_N 32
#define QUITTER_N 48

/* Three peers pipeline 32 submits each; a fourth pipelines 48 and goes
 * away before reading anything, so that commits hold submits of a
 * connection that has closed beside those of open ones: the others still
 * get every ack, and the server carries on. */
static void test_peer_gone_mid_commit(void **state)
{
    static const char *const args[] = {"--dashboard", "off", NULL};
    struct fx *f = *state;
    uint8_t ids[STAYERS][STAYER_N][UUID_LEN];
    uint8_t quitter_ids[QUITTER_N][UUID_LEN];
    unsigned char seen[STAYERS][STAYER_N];
    struct testutil_raw stay[STAYERS];
    struct testutil_raw quit;
    struct client *c;
    struct testutil_obs t;
    struct client_submit_result res;
    Coachq__V1__Observation *one[1] = {&t.o};

    memset(seen, 0, sizeof(seen));
    testutil_server_start(&f->srv, f->data, args);
    for (size_t k = 0; k < STAYERS; k++) {
        testutil_raw_open(&stay[k], &f->srv, g_alice_ctx,
                          RAW_TIMEOUT_S * (int)testutil_timeout_scale());
    }
    testutil_raw_open(&quit, &f->srv, g_alice_ctx, RAW_TIMEOUT_S * (int)testutil_timeout_scale());
    for (size_t i = 0; i < STAYER_N; i++) {
        for (size_t k = 0; k < STAYERS; k++) {
            raw_submit(&stay[k], f, i + 1, ids[k][i]);
        }
        if (i < QUITTER_N) {
            raw_submit(&quit, f, i + 1, quitter_ids[i]);
        }
    }
    for (size_t i = STAYER_N; i < QUITTER_N; i++) {
        raw_submit(&quit, f, i + 1, quitter_ids[i]);
    }
    testutil_raw_close(&quit, 0);
    for (size_t k = 0; k < STAYERS; k++) {
        for (size_t i = 0; i < STAYER_N; i++) {
            coachq__v1__frame__free_unpacked(raw_ack(&stay[k], STAYER_N, ids[k], seen[k]), NULL);
        }
        testutil_raw_close(&stay[k], 0);
    }
    /* The server is still up and a new connection's submit is stored. */
    testutil_assert_alive(&f->srv);
    c = testutil_connect(&f->srv, "alice", 1);
    testutil_obs_make(&t, "mgr.jones", "rep.kim", T0 + (int64_t)++f->serial * 60);
    memset(&res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, one, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__OK);
    assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    client_free(c);
    testutil_stop_clean(&f->srv);
}

#define DRAIN_N 48

/* With one record to a commit, a peer pipelines 48 submits, sees the first
 * ack, and the server is told to stop; the peer then hangs up. The server
 * has no connection left while the writer still commits the rest, so
 * answering the last of them lets it close the store, inside the store's
 * completion callback: it must still exit cleanly, with every record it
 * acked stored. */
static void test_peer_gone_during_drain(void **state)
{
    static const char *const args[] = {"--dashboard", "off", "--max-batch", "1", NULL};
    struct fx *f = *state;
    uint8_t ids[DRAIN_N][UUID_LEN];
    unsigned char seen[DRAIN_N];
    Coachq__V1__Frame *a;
    struct client *c;
    struct client_error e;
    size_t stored = 0;
    struct testutil_raw r;
    int st;

    memset(seen, 0, sizeof(seen));
    testutil_server_start(&f->srv, f->data, args);
    testutil_raw_open(&r, &f->srv, g_alice_ctx, RAW_TIMEOUT_S * (int)testutil_timeout_scale());
    for (size_t i = 0; i < DRAIN_N; i++) {
        raw_submit(&r, f, i + 1, ids[i]);
    }
    a = raw_ack(&r, DRAIN_N, ids, seen);
    coachq__v1__frame__free_unpacked(a, NULL);
    assert_int_equal(kill(f->srv.pid, SIGTERM), 0);
    testutil_raw_close(&r, 0);
    st = testutil_server_stop(&f->srv, 0);
    if (WIFSIGNALED(st)) {
        fail_msg("coachqd died of signal %d during the drain", WTERMSIG(st));
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    /* Restarted on the same data: the acked record is there. */
    testutil_server_start(&f->srv, f->data, args);
    c = testutil_connect(&f->srv, "alice", 0);
    for (size_t i = 0; i < DRAIN_N; i++) {
        Coachq__V1__StoredObservation *rec = NULL;

        if (client_get(c, ids[i], &rec, &e) == 0) {
            coachq__v1__stored_observation__free_unpacked(rec, NULL);
            stored++;
        } else {
            assert_int_equal(seen[i], 0);
        }
    }
    print_message("%zu of %d drained submits stored\n", stored, DRAIN_N);
    assert_true(stored >= 1);
    client_free(c);
    testutil_stop_clean(&f->srv);
}

static int group_setup(void **state)
{
    (void)state;
    testutil_watchdog(WATCHDOG_SECONDS);
    return testutil_raw_peer_setup(ALPN, &g_alice_ctx);
}

static int group_teardown(void **state)
{
    (void)state;
    SSL_CTX_free(g_alice_ctx);
    g_alice_ctx = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acks_once_in_commit_order, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_peer_gone_mid_commit, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_peer_gone_during_drain, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
