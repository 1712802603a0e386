/*
 * test_limits: the real coachqd (a child process on 127.0.0.1 port 0 with
 * the organisation of fixtures/org.csv) under connection floods on both
 * ports, and the latency of a reply larger than one TLS record.
 *
 * The floods come from 127.0.0.1; the well-behaved client binds its socket
 * to 127.0.0.2 (the whole of 127.0.0.0/8 is loopback on Linux), so that the
 * server sees it as another address. Every flood is bounded in count and
 * time. Times are reported, never asserted.
 */
#include <arpa/inet.h>
#include <errno.h>
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "frame.h"
#include "listen.h"
#include "testutil.h"
#include "tls_ctx.h"

#define WATCHDOG_SECONDS 560
#define IO_TIMEOUT_S 5
/* The well-behaved client's patience under the 1,000-connection attack:
 * long, so that a slow machine (sanitizers, shared CI) is not counted as a
 * refusal; the times are reported. */
#define ATTACK_IO_TIMEOUT_S 30
#define SESSION_AT 1793629800LL
#define GOOD_ADDR "127.0.0.2"
#define FLOOD_ADDR "127.0.0.1"

/* Send and receive timeout of the test's sockets, in seconds. */
static int g_io_timeout_s = IO_TIMEOUT_S;

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* The q-th percentile (0..100) of n samples; sorts them. */
static int64_t percentile(int64_t *v, size_t n, unsigned q)
{
    size_t i;

    qsort(v, n, sizeof(*v), cmp_i64);
    i = (n * q + 99) / 100;
    return v[i > 0 ? i - 1 : 0];
}

/* ---- What counts as one address ---- */

static void key_of(const char *ip, struct listen_addr *k)
{
    struct sockaddr_in in;
    struct sockaddr_in6 in6;

    memset(&in, 0, sizeof(in));
    memset(&in6, 0, sizeof(in6));
    if (inet_pton(AF_INET, ip, &in.sin_addr) == 1) {
        in.sin_family = AF_INET;
        in.sin_port = htons(1234);
        listen_addr_key((struct sockaddr *)&in, k);
        return;
    }
    assert_int_equal(inet_pton(AF_INET6, ip, &in6.sin6_addr), 1);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(4321);
    listen_addr_key((struct sockaddr *)&in6, k);
}

static int same_addr(const char *a, const char *b)
{
    struct listen_addr ka, kb;

    key_of(a, &ka);
    key_of(b, &kb);
    return listen_addr_equal(&ka, &kb);
}

/* IPv4 by address (IPv4-mapped IPv6 too), IPv6 by /64: an attacker with
 * a /64 cannot get a fresh allowance from every address in it. */
static void test_address_grouping(void **state)
{
    (void)state;
    assert_true(same_addr("127.0.0.1", "127.0.0.1"));
    assert_false(same_addr("127.0.0.1", "127.0.0.2"));
    assert_true(same_addr("192.0.2.7", "::ffff:192.0.2.7"));
    assert_true(same_addr("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe"));
    assert_false(same_addr("2001:db8:1:2::1", "2001:db8:1:3::1"));
    assert_false(same_addr("::1", "127.0.0.1"));
}

/* ---- Replies larger than one TLS record ---- */

/* An observation whose stored record is about 28 KB: every rating with
 * 2,000 bytes of evidence and 8,000 bytes of notes. */
struct bigobs {
    struct testutil_obs t;
    char evidence[2001];
    char notes[8001];
};

#define LATENCY_ROUNDS 60

/* Reports the median and p99 round trip of a get whose answer is about
 * 28 KB (two TLS records). Without TCP_NODELAY and with the answer written
 * in two parts this took about 40 ms (Nagle's algorithm waiting for the
 * client's delayed ACK); it is reported, not asserted. */
static void test_large_reply_latency(void **state)
{
    struct testutil_org *f = *state;
    struct bigobs *b = calloc(1, sizeof(*b));
    Coachq__V1__Observation *const list[1] = {&b->t.o};
    struct client_submit_result res;
    struct client *c;
    int64_t us[LATENCY_ROUNDS];

    assert_non_null(b);
    testutil_org_start(f, NULL);
    c = testutil_connect(&f->srv, "bob", 0);
    testutil_obs_make(&b->t, "mgr.jones", "rep.kim", SESSION_AT);
    memset(b->evidence, 'e', sizeof(b->evidence) - 1);
    memset(b->notes, 'n', sizeof(b->notes) - 1);
    for (size_t i = 0; i < b->t.o.n_ratings; i++) {
        b->t.r[i].evidence = b->evidence;
    }
    b->t.o.notes = b->notes;
    b->t.o.duration_s = 2700;
    memset(&res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, list, 1, &res, NULL, NULL), 0);
    if (res.err.code != COACHQ__V1__CODE__OK) {
        fail_msg("submit: %s", res.err.message);
    }
    for (int i = 0; i < LATENCY_ROUNDS; i++) {
        Coachq__V1__StoredObservation *rec = NULL;
        struct client_error err;
        int64_t t0 = mono_us();

        assert_int_equal(client_get(c, b->t.o.id.data, &rec, &err), 0);
        us[i] = mono_us() - t0;
        assert_true(coachq__v1__stored_observation__get_packed_size(rec) > 16384);
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
    }
    {
        int64_t p50, p99;

        p50 = percentile(us, LATENCY_ROUNDS, 50);
        p99 = percentile(us, LATENCY_ROUNDS, 99);
        print_message("large reply (%zu bytes): median %.2f ms, p99 %.2f ms over %d gets\n",
                      (size_t)28000, (double)p50 / 1000.0, (double)p99 / 1000.0, LATENCY_ROUNDS);
    }
    client_free(c);
    free(b);
    testutil_stop_clean(&f->srv);
}

/* ---- Sockets from a chosen loopback address ---- */

/* A TCP socket bound to src and connected to 127.0.0.1:port. With
 * nonblock the connect is only started (a flood does not wait for the
 * server); otherwise it completes, with send and receive timeouts. Returns
 * the descriptor, or -1 if the connect failed. */
static int tcp_from(const char *src, int port, int nonblock)
{
    struct sockaddr_in a;
    struct timeval tv = {g_io_timeout_s, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, src, &a.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && !(nonblock && errno == EINPROGRESS)) {
        close(fd);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return fd;
}

/* 1 if the server has closed fd (EOF or reset) within wait_ms, else 0.
 * Whatever else arrives is discarded. */
static int tcp_closed_within(int fd, int wait_ms)
{
    int64_t end = mono_us() + (int64_t)wait_ms * 1000;
    uint8_t buf[4096];

    for (;;) {
        int64_t left = (end - mono_us()) / 1000;
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t k;

        if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0) {
            return 0;
        }
        k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return 1;
        }
        if (left <= 0) {
            return 0;
        }
    }
}

/* Of n flood sockets, how many the server closed within wait_ms. */
static unsigned count_closed(const int *fds, unsigned n, int wait_ms)
{
    int64_t end = mono_us() + (int64_t)wait_ms * 1000;
    unsigned closed = 0;

    for (unsigned i = 0; i < n; i++) {
        int64_t left = (end - mono_us()) / 1000;

        closed += (unsigned)tcp_closed_within(fds[i], left > 0 ? (int)left : 0);
    }
    return closed;
}

static void close_all(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

/* Makes sure the process may hold n more descriptors. */
static void need_fds(unsigned n)
{
    struct rlimit rl;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < n + 256) {
        rl.rlim_cur = rl.rlim_max < n + 256 ? rl.rlim_max : n + 256;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    if (rl.rlim_cur < n + 64) {
        skip();
    }
}

/* ---- Blocking TLS peers ---- */

/* A client context for the protocol port with user's certificate (NULL:
 * none), or for the dashboard port (alpn "http/1.1"). Caller frees. */
static SSL_CTX *peer_ctx(const char *user, const char *alpn)
{
    SSL_CTX *ctx = NULL;

    if (testutil_raw_peer_ctx(alpn, user, &ctx) != 0) {
        fail_msg("client context for %s", user != NULL ? user : "no certificate");
    }
    return ctx;
}

struct peer {
    int fd;
    SSL *ssl;
};

/* Connects from src and completes the TLS handshake. Returns 0, or -1 if
 * the connection or the handshake failed. */
static int peer_open(struct peer *p, SSL_CTX *ctx, const char *src, int port)
{
    p->ssl = NULL;
    p->fd = tcp_from(src, port, 0);
    if (p->fd < 0) {
        return -1;
    }
    p->ssl = SSL_new(ctx);
    assert_non_null(p->ssl);
    assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(p->ssl), "127.0.0.1"), 1);
    assert_int_equal(SSL_set_fd(p->ssl, p->fd), 1);
    if (SSL_connect(p->ssl) != 1) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

static void peer_close(struct peer *p)
{
    SSL_free(p->ssl);
    p->ssl = NULL;
    if (p->fd >= 0) {
        close(p->fd);
    }
    p->fd = -1;
}

static int peer_read_all(struct peer *p, uint8_t *buf, size_t n)
{
    while (n > 0) {
        int k = SSL_read(p->ssl, buf, n > 65536 ? 65536 : (int)n);

        if (k <= 0) {
            ERR_clear_error();
            return -1;
        }
        buf += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads one frame; NULL if the connection closed or failed first. Caller
 * frees with coachq__v1__frame__free_unpacked(). */
static Coachq__V1__Frame *peer_frame(struct peer *p)
{
    uint8_t hdr[FRAME_HEADER_LEN];
    uint8_t *body;
    uint32_t len;
    Coachq__V1__Frame *f;

    if (peer_read_all(p, hdr, sizeof(hdr)) < 0) {
        return NULL;
    }
    len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    assert_true(len > 0 && len <= CLIENT_MAX_FRAME);
    body = malloc(len);
    assert_non_null(body);
    if (peer_read_all(p, body, len) < 0) {
        free(body);
        return NULL;
    }
    f = coachq__v1__frame__unpack(NULL, len, body);
    free(body);
    assert_non_null(f);
    return f;
}

/* Sends Hello and reads the answer. Returns 0 on a Welcome, the Error's
 * code if the server answered one, or -1 if the connection failed. */
static int peer_hello(struct peer *p)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Hello h = COACHQ__V1__HELLO__INIT;
    Coachq__V1__Frame *r;
    uint8_t buf[256];
    size_t n;
    int rc;

    h.protocol_version = 1;
    h.client_version = (char *)"test_limits";
    f.request_id = 1;
    f.body_case = COACHQ__V1__FRAME__BODY_HELLO;
    f.hello = &h;
    n = coachq__v1__frame__get_packed_size(&f);
    assert_true(n + FRAME_HEADER_LEN <= sizeof(buf));
    frame_put_header(buf, (uint32_t)n);
    coachq__v1__frame__pack(&f, buf + FRAME_HEADER_LEN);
    if (SSL_write(p->ssl, buf, (int)(n + FRAME_HEADER_LEN)) <= 0) {
        ERR_clear_error();
        return -1;
    }
    r = peer_frame(p);
    if (r == NULL) {
        return -1;
    }
    rc = r->body_case == COACHQ__V1__FRAME__BODY_WELCOME ? 0
         : r->body_case == COACHQ__V1__FRAME__BODY_ERROR ? (int)r->error->code
                                                         : -1;
    coachq__v1__frame__free_unpacked(r, NULL);
    return rc;
}

/* A well-behaved protocol client from src: connects, says Hello and gets
 * its Welcome. Returns the microseconds that took, or -1 if it failed. */
static int64_t good_hello(SSL_CTX *ctx, const char *src, int port)
{
    struct peer p;
    int64_t t0 = mono_us();
    int rc = peer_open(&p, ctx, src, port);

    if (rc == 0) {
        rc = peer_hello(&p);
    }
    peer_close(&p);
    return rc == 0 ? mono_us() - t0 : -1;
}

/* A well-behaved browser from src: GET /login. Returns the HTTP status, or
 * -1 if there was no answer. */
static int good_https(SSL_CTX *ctx, const char *src, int port)
{
    static const char req[] = "GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    char buf[8192];
    size_t len = 0;
    struct peer p;
    int status = -1;

    if (peer_open(&p, ctx, src, port) == 0 && SSL_write(p.ssl, req, sizeof(req) - 1) > 0) {
        for (;;) {
            int k = SSL_read(p.ssl, buf + len, (int)(sizeof(buf) - 1 - len));

            if (k <= 0) {
                break;
            }
            len += (size_t)k;
            if (len >= sizeof(buf) - 1) {
                break;
            }
        }
        buf[len] = '\0';
        if (len > 12 && strncmp(buf, "HTTP/1.1 ", 9) == 0) {
            status = (int)strtol(buf + 9, NULL, 10);
        }
    }
    ERR_clear_error();
    peer_close(&p);
    return status;
}

/* ---- Floods ---- */

/* One address opens many idle sockets on the protocol port; with slots for
 * all of them (a long handshake timeout), one address would take every
 * slot. It gets --max-per-address; the rest are closed at once, and a
 * client from another address gets in. */
static void test_protocol_idle_flood(void **state)
{
    static const char *const args[] = {"--max-connections",
                                       "60",
                                       "--max-per-address",
                                       "20",
                                       "--handshake-timeout",
                                       "60000",
                                       "--first-frame-timeout",
                                       "60000",
                                       NULL};
    struct testutil_org *f = *state;
    enum { FLOOD = 100 };
    int fds[FLOOD];
    SSL_CTX *bob = peer_ctx("bob", "coachq/1");
    unsigned closed;

    need_fds(FLOOD);
    testutil_org_start(f, args);
    for (unsigned i = 0; i < FLOOD; i++) {
        fds[i] = tcp_from(FLOOD_ADDR, f->srv.port, 0);
        assert_true(fds[i] >= 0);
    }
    closed = count_closed(fds, FLOOD, 3000);
    print_message("idle flood: %u of %d sockets from one address closed at once\n", closed, FLOOD);
    assert_true(closed >= FLOOD - 20);
    for (int i = 0; i < 5; i++) {
        if (good_hello(bob, GOOD_ADDR, f->srv.port) < 0) {
            fail_msg("a client from %s was refused during an idle flood from %s", GOOD_ADDR,
                     FLOOD_ADDR);
        }
    }
    close_all(fds, FLOOD);
    SSL_CTX_free(bob);
    testutil_stop_clean(&f->srv);
}

/* Until its first whole frame, a connection has a fixed deadline: silent,
 * handshaken-but-silent and trickling peers are all closed in time, though
 * the idle timeout is long. */
static void test_first_frame_deadline(void **state)
{
    static const char *const args[] = {"--first-frame-timeout", "400", "--handshake-timeout",
                                       "60000", NULL};
    struct testutil_org *f = *state;
    SSL_CTX *alice = peer_ctx("alice", "coachq/1");
    struct peer p;
    int fd;

    testutil_org_start(f, args);
    /* Silent TCP. */
    fd = tcp_from(FLOOD_ADDR, f->srv.port, 0);
    assert_true(fd >= 0);
    assert_int_equal(tcp_closed_within(fd, 3000), 1);
    close(fd);
    /* A handshake, then nothing. */
    assert_int_equal(peer_open(&p, alice, FLOOD_ADDR, f->srv.port), 0);
    assert_int_equal(tcp_closed_within(p.fd, 3000), 1);
    peer_close(&p);
    /* A handshake, then a frame a byte at a time, too slowly. */
    assert_int_equal(peer_open(&p, alice, FLOOD_ADDR, f->srv.port), 0);
    {
        static const uint8_t hdr[4] = {0, 0, 0, 40};
        int closed = 0;

        for (int i = 0; i < 4 && !closed; i++) {
            if (SSL_write(p.ssl, hdr + i, 1) <= 0) {
                ERR_clear_error();
            }
            closed = tcp_closed_within(p.fd, 250);
        }
        if (!closed) {
            closed = tcp_closed_within(p.fd, 3000);
        }
        assert_int_equal(closed, 1);
    }
    peer_close(&p);
    /* A well-behaved client is unaffected: its first frame comes at once,
     * and it may then stay idle past the deadline. */
    assert_int_equal(peer_open(&p, alice, GOOD_ADDR, f->srv.port), 0);
    assert_int_equal(peer_hello(&p), 0);
    assert_int_equal(tcp_closed_within(p.fd, 800), 0);
    assert_int_equal(peer_hello(&p), 0);
    peer_close(&p);
    SSL_CTX_free(alice);
    testutil_stop_clean(&f->srv);
}

/* One user's idle authenticated connections: the user never holds more
 * than --max-per-user, each new one closing the oldest idle one (with an
 * Error that says why), so neither the user nor anybody else is locked
 * out. */
static void test_idle_authenticated_flood(void **state)
{
    static const char *const args[] = {"--max-per-user", "4", NULL};
    struct testutil_org *f = *state;
    enum { FLOOD = 40 };
    struct peer *ps = calloc(FLOOD, sizeof(*ps));
    SSL_CTX *alice = peer_ctx("alice", "coachq/1");
    SSL_CTX *bob = peer_ctx("bob", "coachq/1");
    unsigned open = 0;

    assert_non_null(ps);
    need_fds(FLOOD);
    testutil_org_start(f, args);
    for (unsigned i = 0; i < FLOOD; i++) {
        if (peer_open(&ps[i], alice, FLOOD_ADDR, f->srv.port) != 0 || peer_hello(&ps[i]) != 0) {
            fail_msg("alice's connection %u was refused; the newest must get in", i);
        }
    }
    /* The evicted ones got an Error naming the limit, then the close. */
    for (unsigned i = 0; i < FLOOD - 4; i++) {
        Coachq__V1__Frame *e = peer_frame(&ps[i]);

        assert_non_null(e);
        assert_int_equal(e->body_case, COACHQ__V1__FRAME__BODY_ERROR);
        assert_int_equal(e->error->code, COACHQ__V1__CODE__RESOURCE_EXHAUSTED);
        assert_non_null(strstr(e->error->message, "--max-per-user"));
        coachq__v1__frame__free_unpacked(e, NULL);
    }
    for (unsigned i = 0; i < FLOOD; i++) {
        open += (unsigned)!tcp_closed_within(ps[i].fd, i < FLOOD - 4 ? 2000 : 50);
    }
    print_message("idle authenticated flood: %u of %d of one user's connections still open\n", open,
                  FLOOD);
    assert_int_equal(open, 4);
    /* The newest four still work; the user from elsewhere and another user
     * get in. */
    for (unsigned i = FLOOD - 4; i < FLOOD; i++) {
        assert_int_equal(peer_hello(&ps[i]), 0);
    }
    assert_true(good_hello(alice, GOOD_ADDR, f->srv.port) >= 0);
    assert_true(good_hello(bob, GOOD_ADDR, f->srv.port) >= 0);
    for (unsigned i = 0; i < FLOOD; i++) {
        peer_close(&ps[i]);
    }
    free(ps);
    SSL_CTX_free(alice);
    SSL_CTX_free(bob);
    testutil_stop_clean(&f->srv);
}

/* The dashboard port: from one address, idle sockets and slowloris
 * connections (a TLS handshake, then a request's headers that never end).
 * They get --max-per-address of the slots; a browser from elsewhere gets
 * every answer. With a short header timeout a slowloris connection is
 * answered 408 and closed though the whole-request timeout is long. */
static void test_dashboard_slowloris(void **state)
{
    static const char *const args[] = {"--max-connections",
                                       "60",
                                       "--max-per-address",
                                       "20",
                                       "--handshake-timeout",
                                       "60000",
                                       "--http-timeout",
                                       "60000",
                                       "--http-header-timeout",
                                       "60000",
                                       NULL};
    static const char partial[] = "GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    struct testutil_org *f = *state;
    enum { IDLE = 60, SLOW = 30 };
    int fds[IDLE];
    struct peer slow[SLOW];
    SSL_CTX *http = peer_ctx(NULL, "http/1.1");
    unsigned opened = 0;

    need_fds(IDLE + SLOW);
    testutil_org_start(f, args);
    for (unsigned i = 0; i < SLOW; i++) {
        if (peer_open(&slow[i], http, FLOOD_ADDR, f->srv.dash_port) == 0 &&
            SSL_write(slow[i].ssl, partial, sizeof(partial) - 1) > 0) {
            opened++;
        }
        ERR_clear_error();
    }
    for (unsigned i = 0; i < IDLE; i++) {
        fds[i] = tcp_from(FLOOD_ADDR, f->srv.dash_port, 0);
    }
    print_message("slowloris: %u of %d slow connections from one address got a handshake\n", opened,
                  SLOW);
    assert_true(opened <= 20);
    for (int i = 0; i < 10; i++) {
        int st = good_https(http, GOOD_ADDR, f->srv.dash_port);

        if (st < 100) {
            fail_msg("request %d from %s got no answer during a slowloris from %s", i, GOOD_ADDR,
                     FLOOD_ADDR);
        }
    }
    for (unsigned i = 0; i < SLOW; i++) {
        peer_close(&slow[i]);
    }
    close_all(fds, IDLE);
    SSL_CTX_free(http);
    testutil_stop_clean(&f->srv);
}

static void test_dashboard_header_timeout(void **state)
{
    static const char *const args[] = {"--http-timeout", "60000", "--http-header-timeout", "400",
                                       NULL};
    static const char partial[] = "GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    struct testutil_org *f = *state;
    SSL_CTX *http = peer_ctx(NULL, "http/1.1");
    struct peer p;
    char buf[512];
    int k;

    testutil_org_start(f, args);
    /* A socket that never starts its handshake is closed in the header
     * timeout too, not the 10 s handshake timeout. */
    {
        int fd = tcp_from(FLOOD_ADDR, f->srv.dash_port, 0);

        assert_true(fd >= 0);
        assert_int_equal(tcp_closed_within(fd, 3000), 1);
        close(fd);
    }
    assert_int_equal(peer_open(&p, http, FLOOD_ADDR, f->srv.dash_port), 0);
    assert_true(SSL_write(p.ssl, partial, sizeof(partial) - 1) > 0);
    /* A byte every 100 ms does not extend it. */
    for (int i = 0; i < 3; i++) {
        testutil_sleep_ms(100);
        if (SSL_write(p.ssl, "x", 1) <= 0) {
            ERR_clear_error();
            break;
        }
    }
    k = SSL_read(p.ssl, buf, sizeof(buf) - 1);
    assert_true(k > 12);
    buf[k] = '\0';
    assert_int_equal(strncmp(buf, "HTTP/1.1 408", 12), 0);
    ERR_clear_error();
    peer_close(&p);
    /* A browser that sends its request at once is answered. */
    assert_true(good_https(http, GOOD_ADDR, f->srv.dash_port) >= 100);
    SSL_CTX_free(http);
    testutil_stop_clean(&f->srv);
}

#define ATTACK 1000
#define ROUNDS 100

/* The target: under a 1,000-connection slow attack from one address
 * (sockets that send one byte of a ClientHello and then nothing), with the
 * default limits, a client from another address is never refused, and its
 * connect + handshake + Hello/Welcome p99 is reported (target 200 ms; the
 * time is not asserted). */
static void test_slow_attack_well_behaved_p99(void **state)
{
    struct testutil_org *f = *state;
    int *fds = calloc(ATTACK, sizeof(*fds));
    int64_t us[ROUNDS];
    SSL_CTX *bob = peer_ctx("bob", "coachq/1");
    unsigned refused = 0;
    int64_t t0;

    assert_non_null(fds);
    need_fds(ATTACK + 64);
    testutil_org_start(f, NULL);
    t0 = mono_us();
    /* Each socket is connected (the kernel completes the TCP handshake
     * whether or not coachqd keeps it) and sends the first byte of a TLS
     * record, then nothing. */
    for (unsigned i = 0; i < ATTACK; i++) {
        fds[i] = tcp_from(FLOOD_ADDR, f->srv.port, 0);
        assert_true(fds[i] >= 0);
        (void)send(fds[i], "\x16", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    g_io_timeout_s = ATTACK_IO_TIMEOUT_S;
    for (unsigned i = 0; i < ROUNDS; i++) {
        us[i] = good_hello(bob, GOOD_ADDR, f->srv.port);
        if (us[i] < 0) {
            refused++;
            us[i] = INT64_MAX / 2;
        }
    }
    print_message("slow attack of %d connections from one address (opened in %.0f ms): "
                  "well-behaved client p50 %.2f ms, p99 %.2f ms, max %.2f ms, %u refused of %d\n",
                  ATTACK, (double)(mono_us() - t0) / 1000.0,
                  (double)percentile(us, ROUNDS, 50) / 1000.0,
                  (double)percentile(us, ROUNDS, 99) / 1000.0,
                  (double)percentile(us, ROUNDS, 100) / 1000.0, refused, ROUNDS);
    g_io_timeout_s = IO_TIMEOUT_S;
    assert_int_equal(refused, 0);
    close_all(fds, ATTACK);
    free(fds);
    SSL_CTX_free(bob);
    testutil_stop_clean(&f->srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_grouping),
        cmocka_unit_test_setup_teardown(test_large_reply_latency, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_protocol_idle_flood, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_first_frame_deadline, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_idle_authenticated_flood, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_slowloris, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_header_timeout, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_slow_attack_well_behaved_p99, testutil_org_setup,
                                        testutil_org_teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    testutil_watchdog(WATCHDOG_SECONDS);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
