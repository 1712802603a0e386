/*
 * test_hostile: the real coachqd (a child process on 127.0.0.1 port 0 with a
 * temporary store holding the organisation of fixtures/org.csv, so that
 * the well-behaved peers' observations pass the organisation's rules)
 * against peers that misbehave: random bytes, bad length
 * prefixes, truncated frames, frames that decode to too much memory, too
 * many connections, silent and non-TLS sockets, deep pipelines and invalid
 * fields. Every case first connects a well-behaved client and checks
 * afterwards that it can still submit and read, and that the server is
 * still running: a bad peer costs itself, not the others. The last case is
 * a store that breaks under the server: the writes still arriving are
 * refused, each with its own sentence, and the server exits 1.
 *
 * Peers are driven three ways: the client library (client_send_raw() for
 * bytes it would never send itself), a blocking OpenSSL client written here
 * (to read exactly what the server answers, including connection-level
 * Errors, and to pipeline past the client library's window), and plain TCP
 * sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
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
#define WATCHDOG_SECONDS 120
#define RAW_TIMEOUT_S 5
#define DEFAULT_MAX_FRAME (64u * 1024u)

/* One running server, the well-behaved client connected before the
 * misbehaviour, and the temporary directory that holds the store. */
struct fx {
    struct testutil_org org;
    struct client *good; /* bob */
    unsigned serial;     /* makes each observation unique */
};

/* Client contexts for the blocking OpenSSL peers, made once. */
static SSL_CTX *g_alice_ctx;

/* ---- Helpers ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fixed-seed generator, so that a failure reproduces byte for byte. */
static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

static void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(xorshift(&st) >> 24);
    }
}

/* 2026-11-02T14:30:00Z: a session the rules accept for the fixture's
 * reporting lines. */
#define SESSION_AT 1793629800LL

/* A valid observation and the text it points to. It points into itself,
 * so it lives on the heap and is never moved. */
struct hobs {
    struct testutil_obs t;
    char note[64];
    char *evidence;
};

/*
 * Returns a new valid observation (caller owns, free with hobs_free()):
 * testutil_obs_make() for coach and coachee, every rating with evidence of
 * evidence_len bytes, and a note with serial that makes it unique. It has
 * a fresh random id.
 */
static struct hobs *make_obs(const char *coach, const char *coachee, unsigned serial,
                             size_t evidence_len)
{
    struct hobs *h = calloc(1, sizeof(*h));

    assert_non_null(h);
    testutil_obs_make(&h->t, coach, coachee, SESSION_AT);
    h->evidence = malloc(evidence_len + 1);
    assert_non_null(h->evidence);
    memset(h->evidence, 'e', evidence_len);
    h->evidence[evidence_len] = '\0';
    for (size_t i = 0; i < h->t.o.n_ratings; i++) {
        h->t.r[i].evidence = h->evidence;
    }
    snprintf(h->note, sizeof(h->note), "record %u", serial);
    h->t.o.notes = h->note;
    h->t.o.duration_s = 2700;
    return h;
}

static void hobs_free(struct hobs *h)
{
    if (h != NULL) {
        free(h->evidence);
        free(h);
    }
}

/* Submits one observation; returns the client's result code and fills res. */
static int submit_one(struct client *c, Coachq__V1__Observation *o,
                      struct client_submit_result *res)
{
    Coachq__V1__Observation *const list[1] = {o};

    memset(res, 0, sizeof(*res));
    return client_submit_many(c, list, 1, res, NULL, NULL);
}

/* The well-behaved client submits a new record and reads it back, and the
 * server is still running. */
static void fx_others_carry_on(struct fx *f)
{
    struct hobs *h = make_obs("mgr.jones", "rep.kim", ++f->serial, 40);
    Coachq__V1__Observation *o = &h->t.o;
    Coachq__V1__StoredObservation *rec = NULL;
    struct client_submit_result res;
    struct client_error err;
    int rc;

    testutil_assert_alive(&f->org.srv);
    assert_true(client_connected(f->good));
    rc = submit_one(f->good, o, &res);
    assert_int_equal(rc, 0);
    if (res.err.code != COACHQ__V1__CODE__OK) {
        fail_msg("good client's submit: %d %s %s", res.err.code, res.err.field, res.err.message);
    }
    assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    rc = client_get(f->good, o->id.data, &rec, &err);
    if (rc != 0) {
        fail_msg("good client's get: %d %s", rc, err.message);
    }
    testutil_assert_same_obs(rec->observation, o);
    assert_string_equal(rec->observer_id, "bob");
    assert_int_equal(rec->seq, res.seq);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    hobs_free(h);
    testutil_assert_alive(&f->org.srv);
}

/* Makes the fixture's organisation, starts a server on it with extra_args
 * (NULL-terminated, may be NULL) and connects the well-behaved client. */
static void fx_start(struct fx *f, const char *const *extra_args)
{
    testutil_org_start(&f->org, extra_args);
    f->good = testutil_connect(&f->org.srv, "bob", 0);
}

/* Stops the server with SIGTERM and expects a clean exit. */
static void fx_stop(struct fx *f)
{
    client_free(f->good);
    f->good = NULL;
    testutil_stop_clean(&f->org.srv);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    *state = f;
    return 0;
}

/* Runs after every case, failed ones too: a server still running here means
 * the case did not finish, so its log is shown. */
static int fx_teardown(void **state)
{
    struct fx *f = *state;

    client_free(f->good);
    testutil_org_cleanup(&f->org);
    free(f);
    return 0;
}

/* ---- Plain TCP and blocking TLS peers ---- */

static int tcp_connect(int port)
{
    int fd = testutil_tcp_connect(port, RAW_TIMEOUT_S);

    assert_true(fd >= 0);
    return fd;
}

/* Reads and discards until the server closes the socket. Returns the
 * milliseconds that took, or -1 if it stayed open for limit_ms. */
static int64_t tcp_wait_closed(int fd, int64_t limit_ms)
{
    int64_t start = mono_ms();
    uint8_t buf[4096];

    for (;;) {
        int64_t left = limit_ms - (mono_ms() - start);
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t k;

        if (left <= 0) {
            return -1;
        }
        if (poll(&p, 1, (int)left) <= 0) {
            continue;
        }
        k = recv(fd, buf, sizeof(buf), 0);
        if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            return mono_ms() - start;
        }
    }
}

/* 1 once the server closed the connection, 0 if it stayed open for
 * RAW_TIMEOUT_S. Anything still arriving is discarded. */
static int raw_closed(struct testutil_raw *r)
{
    uint8_t buf[4096];

    for (;;) {
        int k = SSL_read(r->ssl, buf, sizeof(buf));
        if (k <= 0) {
            int e = SSL_get_error(r->ssl, k);
            return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : 1;
        }
    }
}

/* Expects a connection-level Error (request id 0) with code, then the
 * close. If require_error is 0 the Error may be missing. */
static void raw_expect_error_and_close(struct testutil_raw *r, Coachq__V1__Code code,
                                       int require_error)
{
    Coachq__V1__Frame *f = testutil_raw_frame(r, NULL);

    if (f == NULL) {
        assert_false(require_error);
        return;
    }
    assert_int_equal(f->body_case, COACHQ__V1__FRAME__BODY_ERROR);
    assert_int_equal(f->request_id, 0);
    assert_int_equal(f->error->code, code);
    assert_string_equal(f->error->field, "frame");
    assert_true(strlen(f->error->message) > 10);
    coachq__v1__frame__free_unpacked(f, NULL);
    assert_int_equal(raw_closed(r), 1);
}

/* Packs f with its length prefix into a new buffer (caller frees). */
static uint8_t *pack_frame(const Coachq__V1__Frame *f, size_t *outlen)
{
    size_t n = coachq__v1__frame__get_packed_size(f);
    uint8_t *p = malloc(FRAME_HEADER_LEN + n);

    assert_non_null(p);
    frame_put_header(p, (uint32_t)n);
    coachq__v1__frame__pack(f, p + FRAME_HEADER_LEN);
    *outlen = FRAME_HEADER_LEN + n;
    return p;
}

/* Expects the client's next call to fail as a connection failure. If want
 * is not NULL, the failure's message must contain it. The probe is a list,
 * which every user may send (the server's counters are only a lead's). */
static void expect_client_dropped(struct client *c, const char *want)
{
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    Coachq__V1__ObservationPage *page = NULL;
    struct client_error err;
    int rc;

    q.by = COACHQ__V1__LIST_BY__LIST_BY_COACH;
    q.person_id = (char *)"mgr.jones";
    q.page_size = 1;
    rc = client_list(c, &q, &page, &err);
    if (rc == 0) {
        coachq__v1__observation_page__free_unpacked(page, NULL);
        fail_msg("the server still answered on the offending connection");
    }
    assert_int_not_equal(rc, -EREMOTEIO);
    assert_int_not_equal(rc, -ETIMEDOUT);
    assert_false(client_connected(c));
    if (want != NULL && strstr(err.message, want) == NULL) {
        fail_msg("expected '%s' in the failure, got: %s", want, err.message);
    }
}

/* ---- Cases ---- */

/* 64 KiB of noise on an authenticated connection closes that connection. */
static void test_random_bytes(void **state)
{
    struct fx *f = *state;
    struct client *bad;
    uint8_t *noise = malloc(64 * 1024);

    assert_non_null(noise);
    fx_start(f, NULL);
    bad = testutil_connect(&f->org.srv, "alice", 1);
    fill_random(noise, 64 * 1024, 0x9e3779b97f4a7c15ull);
    assert_int_equal(client_send_raw(bad, noise, 64 * 1024), 0);
    expect_client_dropped(bad, NULL);
    client_free(bad);

    /* The same noise again, on a raw connection, several times over. */
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct testutil_raw r;
        fill_random(noise, 64 * 1024, seed * 0x2545f4914f6cdd1dull);
        testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);
        testutil_raw_send(&r, noise, 64 * 1024);
        assert_int_equal(raw_closed(&r), 1);
        testutil_raw_close(&r, 0);
    }
    free(noise);
    fx_others_carry_on(f);
    fx_stop(f);
}

/* Length prefixes above the limit are refused before anything is
 * allocated, with RESOURCE_EXHAUSTED; a zero prefix closes too. */
static void test_bad_length_prefixes(void **state)
{
    struct fx *f = *state;
    static const uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};
    static const uint8_t all_ones[4] = {0xff, 0xff, 0xff, 0xff};
    static const uint8_t zero[4] = {0, 0, 0, 0};
    uint8_t over[4];
    struct client *bad;
    struct testutil_raw r;

    fx_start(f, NULL);
    frame_put_header(over, DEFAULT_MAX_FRAME + 1);

    testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);
    testutil_raw_send(&r, huge, sizeof(huge));
    raw_expect_error_and_close(&r, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, 1);
    testutil_raw_close(&r, 0);

    testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);
    testutil_raw_send(&r, all_ones, sizeof(all_ones));
    raw_expect_error_and_close(&r, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, 1);
    testutil_raw_close(&r, 0);

    testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);
    testutil_raw_send(&r, over, sizeof(over));
    raw_expect_error_and_close(&r, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, 1);
    testutil_raw_close(&r, 0);

    testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);
    testutil_raw_send(&r, zero, sizeof(zero));
    raw_expect_error_and_close(&r, COACHQ__V1__CODE__INVALID_ARGUMENT, 0);
    testutil_raw_close(&r, 0);

    /* Through the client library: its next call fails and says why. */
    bad = testutil_connect(&f->org.srv, "alice", 1);
    assert_int_equal(client_send_raw(bad, huge, sizeof(huge)), 0);
    expect_client_dropped(bad, "RESOURCE_EXHAUSTED");
    client_free(bad);

    fx_others_carry_on(f);
    fx_stop(f);
}

/* A frame cut short, then the peer goes away (politely or not). */
static void test_truncated_frame(void **state)
{
    struct fx *f = *state;
    uint8_t buf[4 + 500];
    struct testutil_raw r;

    fx_start(f, NULL);
    frame_put_header(buf, 1000);
    fill_random(buf + 4, 500, 7);

    testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);
    testutil_raw_send(&r, buf, sizeof(buf));
    testutil_raw_close(&r, 1);

    testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);
    testutil_raw_send(&r, buf, 4 + 10);
    testutil_raw_close(&r, 0);

    testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);
    testutil_raw_send(&r, buf, 2); /* half a length prefix */
    testutil_raw_close(&r, 0);

    /* Through the client library too, then freed mid-frame. */
    {
        struct client *bad = testutil_connect(&f->org.srv, "alice", 1);
        assert_int_equal(client_send_raw(bad, buf, sizeof(buf)), 0);
        client_free(bad);
    }
    testutil_sleep_ms(100);
    fx_others_carry_on(f);
    fx_stop(f);
}

/* Builds a Submit frame whose observation has n empty ratings: a few bytes
 * each on the wire, a whole Rating struct each once decoded. */
static uint8_t *empty_ratings_frame(size_t n, size_t *outlen)
{
    Coachq__V1__Frame fr = COACHQ__V1__FRAME__INIT;
    Coachq__V1__SubmitObservation sub = COACHQ__V1__SUBMIT_OBSERVATION__INIT;
    Coachq__V1__Observation obs = COACHQ__V1__OBSERVATION__INIT;
    Coachq__V1__Rating *rs = calloc(n, sizeof(*rs));
    Coachq__V1__Rating **rp = calloc(n, sizeof(*rp));
    uint8_t id[UUID_LEN];
    uint8_t *p;

    assert_non_null(rs);
    assert_non_null(rp);
    for (size_t i = 0; i < n; i++) {
        coachq__v1__rating__init(&rs[i]);
        rp[i] = &rs[i];
    }
    assert_int_equal(uuid_generate(id), 0);
    obs.id.data = id;
    obs.id.len = UUID_LEN;
    obs.n_ratings = n;
    obs.ratings = rp;
    sub.observation = &obs;
    fr.request_id = 1;
    fr.body_case = COACHQ__V1__FRAME__BODY_SUBMIT;
    fr.submit = &sub;
    p = pack_frame(&fr, outlen);
    free(rp);
    free(rs);
    return p;
}

/* A small frame that would decode to far more memory than the per-frame
 * budget is refused with RESOURCE_EXHAUSTED; the global budget is given
 * back each time, so later frames still decode. */
static void test_over_budget_frame(void **state)
{
    static const char *const args[] = {"--unpack-budget", "8192", "--memory-budget", "65536", NULL};
    struct fx *f = *state;
    size_t len;
    uint8_t *frame = empty_ratings_frame(4000, &len);

    assert_true(len < DEFAULT_MAX_FRAME);
    fx_start(f, args);
    for (int i = 0; i < 12; i++) {
        struct testutil_raw r;
        testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);
        testutil_raw_send(&r, frame, len);
        raw_expect_error_and_close(&r, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, 1);
        testutil_raw_close(&r, 0);
    }
    free(frame);
    fx_others_carry_on(f);
    fx_stop(f);
}

/* With --max-connections 4 the fifth is closed at once; when one goes, a
 * new one is taken. */
static void test_max_connections(void **state)
{
    static const char *const args[] = {"--max-connections", "4", NULL};
    struct fx *f = *state;
    struct client *c[3] = {NULL, NULL, NULL};
    struct client *extra = NULL;
    struct client_opts opts;
    struct client_error err;
    Coachq__V1__Stats *st = NULL;
    int64_t t0, took;
    int rc;

    fx_start(f, args); /* the good client is the first of the four */
    /* The last of them is an enablement lead's, who may read the server's
     * connection count below. */
    for (int i = 0; i < 3; i++) {
        c[i] = testutil_connect(&f->org.srv, i == 2 ? "lead.gil" : "alice", 1 + i);
    }
    testutil_client_opts(&opts, &f->org.srv, "carol", 5);
    opts.timeout_ms = 5000;
    t0 = mono_ms();
    rc = client_connect(&opts, &extra, &err);
    took = mono_ms() - t0;
    assert_true(rc < 0);
    assert_null(extra);
    if (took > 2000) {
        fail_msg("the fifth connection took %lld ms to be refused", (long long)took);
    }
    /* A plain socket beyond the limit is closed at once as well. */
    {
        int fd = tcp_connect(f->org.srv.port);
        int64_t closed = tcp_wait_closed(fd, 2000);
        close(fd);
        assert_true(closed >= 0);
    }

    client_free(c[0]);
    c[0] = NULL;
    /* Wait until the server has seen that one go. */
    for (int i = 0; i < 200; i++) {
        assert_int_equal(client_stats(c[2], &st, &err), 0);
        if (st->connections == 3) {
            coachq__v1__stats__free_unpacked(st, NULL);
            break;
        }
        coachq__v1__stats__free_unpacked(st, NULL);
        st = NULL;
        testutil_sleep_ms(10);
    }
    rc = client_connect(&opts, &extra, &err);
    if (rc != 0) {
        fail_msg("a connection after one closed was refused: %s", err.message);
    }
    {
        struct hobs *h = make_obs("mgr.jones", "rep.kim", ++f->serial, 10);
        struct client_submit_result res;
        assert_int_equal(submit_one(extra, &h->t.o, &res), 0);
        assert_int_equal(res.err.code, COACHQ__V1__CODE__OK);
        hobs_free(h);
    }
    client_free(extra);
    client_free(c[1]);
    client_free(c[2]);
    fx_others_carry_on(f);
    fx_stop(f);
}

/* A socket that never starts the handshake is closed after the handshake
 * timeout. */
static void test_handshake_timeout(void **state)
{
    static const char *const args[] = {"--handshake-timeout", "300", NULL};
    struct fx *f = *state;
    int fd;
    int64_t took;

    fx_start(f, args);
    fd = tcp_connect(f->org.srv.port);
    took = tcp_wait_closed(fd, 4000);
    close(fd);
    if (took < 0 || took > 2000) {
        fail_msg("a silent socket was closed after %lld ms (-1 = not at all)", (long long)took);
    }
    assert_true(took >= 200);
    fx_others_carry_on(f);
    fx_stop(f);
}

/* HTTP or noise where a TLS ClientHello belongs is closed promptly (well
 * before the default 10 s handshake timeout). */
static void test_not_tls(void **state)
{
    static const char http[] =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
    struct fx *f = *state;
    uint8_t noise[4096];
    int fd;
    int64_t took;

    fx_start(f, NULL);

    fd = tcp_connect(f->org.srv.port);
    testutil_tcp_send(fd, http, sizeof(http) - 1);
    took = tcp_wait_closed(fd, 3000);
    close(fd);
    assert_true(took >= 0);

    fill_random(noise, sizeof(noise), 42);
    fd = tcp_connect(f->org.srv.port);
    testutil_tcp_send(fd, noise, sizeof(noise));
    took = tcp_wait_closed(fd, 3000);
    close(fd);
    assert_true(took >= 0);

    /* A whole TLS handshake record of noise, then one whose length is
     * beyond what TLS allows. */
    noise[0] = 0x16;
    noise[1] = 0x03;
    noise[2] = 0x01;
    noise[3] = 0x08;
    noise[4] = 0x00;
    fd = tcp_connect(f->org.srv.port);
    testutil_tcp_send(fd, noise, sizeof(noise));
    took = tcp_wait_closed(fd, 3000);
    close(fd);
    assert_true(took >= 0);
    noise[3] = 0xff;
    noise[4] = 0xff;
    fd = tcp_connect(f->org.srv.port);
    testutil_tcp_send(fd, noise, 5);
    took = tcp_wait_closed(fd, 3000);
    close(fd);
    assert_true(took >= 0);

    fx_others_carry_on(f);
    fx_stop(f);
}

#define PIPELINE 200

/* With --max-in-flight 4, 200 submits written at once are all answered:
 * the server stops reading instead of dropping or failing requests. */
static void test_many_in_flight(void **state)
{
    static const char *const args[] = {"--max-in-flight", "4", NULL};
    struct fx *f = *state;
    struct hobs *h[PIPELINE];
    Coachq__V1__Observation *obs[PIPELINE];
    struct client_submit_result *res = calloc(PIPELINE, sizeof(*res));
    uint8_t *wire = NULL;
    size_t wire_len = 0;
    int seen[PIPELINE + 1];
    struct client *lib;
    struct testutil_raw r;

    assert_non_null(res);
    fx_start(f, args);
    for (int i = 0; i < PIPELINE; i++) {
        Coachq__V1__Frame fr = COACHQ__V1__FRAME__INIT;
        Coachq__V1__SubmitObservation sub = COACHQ__V1__SUBMIT_OBSERVATION__INIT;
        uint8_t *p;
        size_t n;

        h[i] = make_obs("mgr.jones", "rep.kim", ++f->serial, 30);
        obs[i] = &h[i]->t.o;
        sub.observation = obs[i];
        fr.request_id = (uint64_t)i + 1;
        fr.body_case = COACHQ__V1__FRAME__BODY_SUBMIT;
        fr.submit = &sub;
        p = pack_frame(&fr, &n);
        wire = realloc(wire, wire_len + n);
        assert_non_null(wire);
        memcpy(wire + wire_len, p, n);
        wire_len += n;
        free(p);
    }
    memset(seen, 0, sizeof(seen));
    testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);
    testutil_raw_send(&r, wire, wire_len);
    for (int i = 0; i < PIPELINE; i++) {
        Coachq__V1__Frame *a = testutil_raw_frame(&r, NULL);
        if (a == NULL) {
            fail_msg("the connection closed after %d of %d answers", i, PIPELINE);
        }
        assert_true(a->request_id >= 1 && a->request_id <= PIPELINE);
        if (a->body_case != COACHQ__V1__FRAME__BODY_ACK) {
            fail_msg("request %llu answered with body %d (%s)", (unsigned long long)a->request_id,
                     (int)a->body_case,
                     a->body_case == COACHQ__V1__FRAME__BODY_ERROR ? a->error->message : "");
        }
        assert_int_equal(seen[a->request_id], 0);
        seen[a->request_id] = 1;
        assert_int_equal(a->ack->result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
        assert_int_equal(a->ack->id.len, UUID_LEN);
        assert_memory_equal(a->ack->id.data, obs[a->request_id - 1]->id.data, UUID_LEN);
        coachq__v1__frame__free_unpacked(a, NULL);
    }
    testutil_raw_close(&r, 1);
    free(wire);

    /* The client library, asked for 200 at once, keeps within the
     * Welcome's window; resubmitting gives DUPLICATE with the same seq. */
    lib = testutil_connect(&f->org.srv, "alice", 1);
    assert_int_equal(client_welcome(lib)->max_in_flight, 4);
    assert_int_equal(client_submit_many(lib, obs, PIPELINE, res, NULL, NULL), 0);
    for (int i = 0; i < PIPELINE; i++) {
        assert_true(res[i].done);
        assert_int_equal(res[i].err.code, COACHQ__V1__CODE__OK);
        assert_int_equal(res[i].result, COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE);
    }
    client_free(lib);
    for (int i = 0; i < PIPELINE; i++) {
        hobs_free(h[i]);
    }
    free(res);
    fx_others_carry_on(f);
    fx_stop(f);
}

/* Out-of-range and missing fields are refused per request with the field's
 * path; the connection stays usable. */
/* Sends f on r and returns the next frame, which must answer it. */
static Coachq__V1__Frame *raw_roundtrip(struct testutil_raw *r, const Coachq__V1__Frame *f)
{
    size_t n;
    uint8_t *p = pack_frame(f, &n);
    Coachq__V1__Frame *resp;

    testutil_raw_send(r, p, n);
    free(p);
    resp = testutil_raw_frame(r, NULL);
    assert_non_null(resp);
    assert_int_equal(resp->request_id, f->request_id);
    return resp;
}

/* Expects an Error with code and field in answer to f; the connection stays. */
static void raw_expect_request_error(struct testutil_raw *r, const Coachq__V1__Frame *f,
                                     Coachq__V1__Code code, const char *field)
{
    Coachq__V1__Frame *resp = raw_roundtrip(r, f);

    assert_int_equal(resp->body_case, COACHQ__V1__FRAME__BODY_ERROR);
    assert_int_equal(resp->error->code, code);
    assert_string_equal(resp->error->field, field);
    assert_true(resp->error->message[0] != '\0');
    coachq__v1__frame__free_unpacked(resp, NULL);
}

/*
 * Well-framed requests that make no sense each get an Error naming the
 * field, on the same connection, which then goes on working.
 */
static void test_malformed_requests(void **state)
{
    struct fx *f = *state;
    Coachq__V1__Frame fr = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Hello hello = COACHQ__V1__HELLO__INIT;
    Coachq__V1__Ack ack = COACHQ__V1__ACK__INIT;
    Coachq__V1__GetObservation get = COACHQ__V1__GET_OBSERVATION__INIT;
    Coachq__V1__ListObservations list = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    Coachq__V1__GetRubric get_rubric = COACHQ__V1__GET_RUBRIC__INIT;
    Coachq__V1__GetHistory history = COACHQ__V1__GET_HISTORY__INIT;
    Coachq__V1__GetCertStatus cert_status = COACHQ__V1__GET_CERT_STATUS__INIT;
    Coachq__V1__AddReference add_ref = COACHQ__V1__ADD_REFERENCE__INIT;
    Coachq__V1__CertStatus status_body = COACHQ__V1__CERT_STATUS__INIT;
    Coachq__V1__PeopleList people_body = COACHQ__V1__PEOPLE_LIST__INIT;
    Coachq__V1__Frame *resp;
    uint8_t short_id[3] = {1, 2, 3};
    uint8_t bad_cursor[10] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6};
    struct testutil_raw r;

    fx_start(f, NULL);
    testutil_raw_open(&r, &f->org.srv, g_alice_ctx, RAW_TIMEOUT_S);

    fr.request_id = 1;
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "body");

    fr.request_id = 2;
    fr.body_case = COACHQ__V1__FRAME__BODY_ACK;
    fr.ack = &ack;
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "body");

    fr.request_id = 3;
    fr.body_case = COACHQ__V1__FRAME__BODY_HELLO;
    fr.hello = &hello;
    hello.protocol_version = 2;
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__FAILED_PRECONDITION,
                             "hello.protocol_version");

    fr.request_id = 4;
    fr.body_case = COACHQ__V1__FRAME__BODY_GET;
    fr.get = &get;
    get.id.data = short_id;
    get.id.len = sizeof(short_id);
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "get.id");

    fr.request_id = 5;
    fr.body_case = COACHQ__V1__FRAME__BODY_LIST;
    fr.list = &list;
    list.person_id = (char *)"mgr.jones";
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.by");

    fr.request_id = 6;
    list.by = COACHQ__V1__LIST_BY__LIST_BY_COACH;
    list.person_id = (char *)"not a person";
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.person_id");

    fr.request_id = 7;
    list.person_id = (char *)"mgr.jones";
    list.cursor.data = bad_cursor;
    list.cursor.len = sizeof(bad_cursor);
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.cursor");

    fr.request_id = 8;
    list.cursor.len = 0;
    list.since = 2000000000;
    list.until = 1900000000;
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.until");

    /* The organisation's requests. */
    fr.request_id = 10;
    fr.body_case = COACHQ__V1__FRAME__BODY_GET_RUBRIC;
    fr.get_rubric = &get_rubric;
    get_rubric.id = (char *)"no/such rubric";
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_rubric.id");

    fr.request_id = 11;
    fr.body_case = COACHQ__V1__FRAME__BODY_GET_HISTORY;
    fr.get_history = &history;
    history.id.data = short_id;
    history.id.len = sizeof(short_id);
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_history.id");

    fr.request_id = 12;
    fr.body_case = COACHQ__V1__FRAME__BODY_GET_CERT_STATUS;
    fr.get_cert_status = &cert_status;
    cert_status.observer_id = (char *)"not a person";
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT,
                             "get_cert_status.observer_id");

    /* An observer may not register a reference, even an empty one. */
    fr.request_id = 13;
    fr.body_case = COACHQ__V1__FRAME__BODY_ADD_REFERENCE;
    fr.add_reference = &add_ref;
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__PERMISSION_DENIED, "add_reference");

    /* A response body sent as a request. */
    fr.request_id = 14;
    fr.body_case = COACHQ__V1__FRAME__BODY_CERT_STATUS;
    fr.cert_status = &status_body;
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "body");

    fr.request_id = 15;
    fr.body_case = COACHQ__V1__FRAME__BODY_PEOPLE;
    fr.people = &people_body;
    raw_expect_request_error(&r, &fr, COACHQ__V1__CODE__INVALID_ARGUMENT, "body");

    /* The connection still works, as the certificate's user. */
    fr.request_id = 9;
    fr.body_case = COACHQ__V1__FRAME__BODY_HELLO;
    fr.hello = &hello; /* the body is a union: set it again */
    hello.protocol_version = 1;
    resp = raw_roundtrip(&r, &fr);
    assert_int_equal(resp->body_case, COACHQ__V1__FRAME__BODY_WELCOME);
    assert_string_equal(resp->welcome->user_id, "alice");
    coachq__v1__frame__free_unpacked(resp, NULL);

    testutil_raw_close(&r, 1);
    fx_others_carry_on(f);
    fx_stop(f);
}

static void test_invalid_fields(void **state)
{
    struct fx *f = *state;
    struct hobs *h;
    Coachq__V1__Observation *o;
    struct client_submit_result res;
    struct client *c;
    char *saved;

    fx_start(f, NULL);
    c = testutil_connect(&f->org.srv, "alice", 1);

    h = make_obs("mgr.jones", "rep.kim", ++f->serial, 20);
    o = &h->t.o;
    o->ratings[1]->score = 7;
    assert_int_equal(submit_one(c, o, &res), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_string_equal(res.err.field, "observation.ratings[1].score");
    o->ratings[1]->score = 0;
    assert_int_equal(submit_one(c, o, &res), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_string_equal(res.err.field, "observation.ratings[1].score");
    o->ratings[1]->score = 3;

    saved = o->coach_id;
    o->coach_id = (char *)"";
    assert_int_equal(submit_one(c, o, &res), 0);
    o->coach_id = saved;
    assert_int_equal(res.err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_string_equal(res.err.field, "observation.coach_id");

    o->focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_UNSPECIFIED;
    assert_int_equal(submit_one(c, o, &res), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_string_equal(res.err.field, "observation.focus");
    o->focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;

    /* Nothing was stored by the refusals: the fixed record is new. */
    assert_int_equal(submit_one(c, o, &res), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__OK);
    assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    hobs_free(h);
    client_free(c);
    fx_others_carry_on(f);
    fx_stop(f);
}

/* ---- A store that failed ---- */

/*
 * Breaks the free-page database of the LMDB store in datadir on disk, the
 * way a bad sector would, while the server has it open: the flags of that
 * database's root page (in the newer of the two meta pages) are zeroed, so
 * LMDB finds the page corrupt. Reads never use that database, so they go
 * on working; the next write transaction that frees a page needs it and
 * fails with a code the store's failure policy treats as fatal. Layout of
 * LMDB's data file (format 1): a page's header is 16 bytes, its flags at
 * offset 10; a meta page's header is followed by magic (4 bytes), version
 * (4), address (8), map size (8), then the free-page database's record,
 * whose first 4 bytes are the page size and whose root page number is at
 * its offset 40, then the main database's record (48 bytes), the last page
 * number (8) and the transaction id (8). The server must be idle.
 */
static void break_free_pages(const char *datadir)
{
    enum { META_MAGIC = 16, META_PSIZE = 40, META_FREE_ROOT = 80, META_TXNID = 144 };
    char path[700];
    uint8_t meta[2][160];
    uint32_t magic, psize;
    uint64_t root[2], txnid[2];
    const uint8_t zero[2] = {0, 0};
    int fd, newer;

    snprintf(path, sizeof(path), "%s/data.mdb", datadir);
    fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, meta[0], sizeof(meta[0]), 0), (ssize_t)sizeof(meta[0]));
    memcpy(&magic, meta[0] + META_MAGIC, 4);
    memcpy(&psize, meta[0] + META_PSIZE, 4);
    assert_int_equal(magic, 0xBEEFC0DEu);
    assert_true(psize >= 512 && psize <= 65536);
    assert_int_equal(pread(fd, meta[1], sizeof(meta[1]), (off_t)psize), (ssize_t)sizeof(meta[1]));
    for (int i = 0; i < 2; i++) {
        memcpy(&root[i], meta[i] + META_FREE_ROOT, 8);
        memcpy(&txnid[i], meta[i] + META_TXNID, 8);
    }
    newer = txnid[1] > txnid[0];
    /* An empty free-page database has no root (all ones). */
    if (root[newer] == UINT64_MAX || root[newer] < 2) {
        fail_msg("the store's free-page database has no root page (%llu)",
                 (unsigned long long)root[newer]);
    }
    assert_int_equal(pwrite(fd, zero, sizeof(zero), (off_t)(root[newer] * psize + 10)),
                     (ssize_t)sizeof(zero));
    close(fd);
}

/* Appends f, packed with its length prefix, to *wire (*len bytes long). */
static void wire_add(uint8_t **wire, size_t *len, const Coachq__V1__Frame *f)
{
    size_t n;
    uint8_t *p = pack_frame(f, &n);

    *wire = realloc(*wire, *len + n);
    assert_non_null(*wire);
    memcpy(*wire + *len, p, n);
    *len += n;
    free(p);
}

/* Expects an Error answering rid: UNAVAILABLE, no field, exactly message. */
static void raw_expect_unavailable(struct testutil_raw *r, uint64_t rid, const char *message)
{
    Coachq__V1__Frame *a = testutil_raw_frame(r, NULL);

    if (a == NULL) {
        fail_msg("the connection closed before the answer to request %llu",
                 (unsigned long long)rid);
    }
    assert_int_equal(a->request_id, rid);
    assert_int_equal(a->body_case, COACHQ__V1__FRAME__BODY_ERROR);
    assert_int_equal(a->error->code, COACHQ__V1__CODE__UNAVAILABLE);
    assert_string_equal(a->error->field, "");
    assert_string_equal(a->error->message, message);
    coachq__v1__frame__free_unpacked(a, NULL);
}

/*
 * Once the store has failed, each write a lead sends is refused at once with
 * UNAVAILABLE and a sentence saying nothing was done: add_reference,
 * import_outcomes, import_sessions, draw_assignments and a calibration
 * reference's retirement. With --max-in-flight 1 the pipelined requests
 * wait behind the first, a valid import whose write fails on the broken
 * store; they are taken when its answer goes out, with the store failed and
 * before the server stops. Then the server says it is shutting down and
 * exits 1.
 */
static void test_store_failed_refusals(void **state)
{
    static const char *const args[] = {"--max-in-flight", "1", NULL};
    struct fx *f = *state;
    Coachq__V1__Frame fr = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Hello hello = COACHQ__V1__HELLO__INIT;
    Coachq__V1__Outcome outcome = COACHQ__V1__OUTCOME__INIT;
    Coachq__V1__Outcome *outcomes[1] = {&outcome};
    Coachq__V1__ImportOutcomes imp = COACHQ__V1__IMPORT_OUTCOMES__INIT;
    Coachq__V1__Rating master = COACHQ__V1__RATING__INIT;
    Coachq__V1__Rating *masters[1] = {&master};
    Coachq__V1__CalibrationReference ref = COACHQ__V1__CALIBRATION_REFERENCE__INIT;
    Coachq__V1__AddReference add_ref = COACHQ__V1__ADD_REFERENCE__INIT;
    Coachq__V1__ImportSessions sess = COACHQ__V1__IMPORT_SESSIONS__INIT;
    Coachq__V1__DrawAssignments draw = COACHQ__V1__DRAW_ASSIGNMENTS__INIT;
    Coachq__V1__CalibrationRequest retire = COACHQ__V1__CALIBRATION_REQUEST__INIT;
    static const char csv[] = "coach_id,coachee_id,date\nmgr.jones,rep.kim,2026-11-02\n";
    uint8_t ref_id[UUID_LEN];
    uint8_t *wire = NULL;
    size_t wire_len = 0;
    Coachq__V1__Frame *a;
    SSL_CTX *lead_ctx = NULL;
    struct testutil_raw r;
    int st;

    assert_int_equal(testutil_raw_peer_ctx(ALPN, "lead.gil", &lead_ctx), 0);
    fx_start(f, args);
    testutil_raw_open(&r, &f->org.srv, lead_ctx, RAW_TIMEOUT_S);
    /* The lead's connection is set up and the writer idle before the store
     * breaks. */
    fr.request_id = 100;
    fr.body_case = COACHQ__V1__FRAME__BODY_HELLO;
    fr.hello = &hello;
    hello.protocol_version = 1;
    a = raw_roundtrip(&r, &fr);
    assert_int_equal(a->body_case, COACHQ__V1__FRAME__BODY_WELCOME);
    assert_string_equal(a->welcome->user_id, "lead.gil");
    coachq__v1__frame__free_unpacked(a, NULL);
    fx_others_carry_on(f);

    outcome.subject_id = (char *)"rep.kim";
    outcome.period = (char *)"2026-10";
    outcome.metric = (char *)"win_rate";
    outcome.value = 0.5;
    imp.n_outcomes = 1;
    imp.outcomes = outcomes;
    fr.request_id = 1;
    fr.body_case = COACHQ__V1__FRAME__BODY_IMPORT_OUTCOMES;
    fr.import_outcomes = &imp;
    wire_add(&wire, &wire_len, &fr);

    assert_int_equal(uuid_generate(ref_id), 0);
    master.behaviour_id = (char *)"b1";
    master.score = 3;
    ref.id.data = ref_id;
    ref.id.len = UUID_LEN;
    ref.rubric_id = (char *)"core";
    ref.rubric_version = 1;
    ref.title = (char *)"A reference";
    ref.n_master = 1;
    ref.master = masters;
    add_ref.reference = &ref;
    fr.request_id = 2;
    fr.body_case = COACHQ__V1__FRAME__BODY_ADD_REFERENCE;
    fr.add_reference = &add_ref;
    wire_add(&wire, &wire_len, &fr);

    fr.request_id = 3;
    fr.body_case = COACHQ__V1__FRAME__BODY_IMPORT_OUTCOMES;
    fr.import_outcomes = &imp;
    wire_add(&wire, &wire_len, &fr);

    sess.csv.data = (uint8_t *)csv;
    sess.csv.len = sizeof(csv) - 1;
    fr.request_id = 4;
    fr.body_case = COACHQ__V1__FRAME__BODY_IMPORT_SESSIONS;
    fr.import_sessions = &sess;
    wire_add(&wire, &wire_len, &fr);

    draw.plan_scope = (char *)"programme:p1";
    draw.has_seed = 1;
    draw.seed = 7;
    draw.sample = 1;
    fr.request_id = 5;
    fr.body_case = COACHQ__V1__FRAME__BODY_DRAW_ASSIGNMENTS;
    fr.draw_assignments = &draw;
    wire_add(&wire, &wire_len, &fr);

    retire.action = COACHQ__V1__CALIBRATION_REQUEST__ACTION__ACTION_RETIRE;
    retire.reference_id.data = ref_id;
    retire.reference_id.len = UUID_LEN;
    fr.request_id = 6;
    fr.body_case = COACHQ__V1__FRAME__BODY_CALIBRATION_REQUEST;
    fr.calibration_request = &retire;
    wire_add(&wire, &wire_len, &fr);

    /* One TLS record: every frame is in the server's hands before the
     * first one's write is done. */
    assert_true(wire_len < 16384);
    break_free_pages(f->org.data);
    testutil_raw_send(&r, wire, wire_len);
    free(wire);

    /* The import that met the broken store, answered after its write. */
    raw_expect_unavailable(&r, 1,
                           "the server cannot store now; nothing was imported; import again later");
    /* The five refused before the store was asked. */
    raw_expect_unavailable(&r, 2,
                           "the server cannot store now; nothing was stored; try again later");
    raw_expect_unavailable(&r, 3,
                           "the server cannot store now; nothing was imported; try again later");
    raw_expect_unavailable(&r, 4,
                           "the server cannot store now; nothing was imported; try again later");
    raw_expect_unavailable(&r, 5,
                           "the server cannot store now; nothing was changed; try again later");
    raw_expect_unavailable(&r, 6,
                           "the server cannot answer now; nothing was changed; try again later");
    a = testutil_raw_frame(&r, NULL);
    assert_non_null(a);
    assert_int_equal(a->request_id, 0);
    assert_int_equal(a->body_case, COACHQ__V1__FRAME__BODY_ERROR);
    assert_int_equal(a->error->code, COACHQ__V1__CODE__UNAVAILABLE);
    coachq__v1__frame__free_unpacked(a, NULL);
    assert_int_equal(raw_closed(&r), 1);
    testutil_raw_close(&r, 0);
    SSL_CTX_free(lead_ctx);

    /* The server stops by itself, non-zero, as its failure policy says. */
    client_free(f->good);
    f->good = NULL;
    st = testutil_server_stop(&f->org.srv, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1);
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
        cmocka_unit_test_setup_teardown(test_random_bytes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_length_prefixes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_frame, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_over_budget_frame, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_handshake_timeout, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_not_tls, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_many_in_flight, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_invalid_fields, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_requests, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_store_failed_refusals, fx_setup, fx_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
