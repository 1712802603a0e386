/*
 * test_tls_conn: tls_conn and tls_ctx in one process: a listener on
 * 127.0.0.1 port 0 accepting with the protocol-port context, and clients
 * connecting with the test certificates (COACHQ_TEST_CERTS, made by
 * tests/make-test-certs.sh). Refusals, limits, timers, flow control and
 * session resumption.
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
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "error.h"
#include "tls_conn.h"
#include "tls_ctx.h"
#include "testutil.h"

#define ALPN "coachq/1"
#define LARGE_TOTAL (8u * 1024 * 1024)
#define LARGE_CHUNK (64u * 1024)
#define PAUSE_EVERY (1024u * 1024)
#define WATCHDOG_SECONDS 60

/* The contexts every test shares, made once. */
struct ctxs {
    char certs[256];
    SSL_CTX *server;    /* protocol port */
    SSL_CTX *dashboard; /* no client certificate, same ALPN */
    SSL_CTX *alice;
    SSL_CTX *none;
    SSL_CTX *other_alice;
    SSL_CTX *expired;
    SSL_CTX *svc;
    SSL_CTX *wrong_alpn;
    SSL_CTX *alice12; /* TLS 1.2 only */
    SSL_CTX *no_alpn; /* offers no ALPN at all; made without tls_ctx */
};

static struct ctxs g_ctxs;

struct side {
    struct tls_conn *c;
    int handshakes;
    int closed;
    int close_err;
    int id_rc;
    char cn[72];
    int reused;
    char alpn[32];
    char cipher[64];
    int version;
    char error[512];
    uint8_t *rx;
    size_t rx_len;
    size_t rx_cap;
};

struct harness {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_timer_t timer;
    uv_tcp_t raw;
    uv_connect_t raw_req;
    int raw_used;
    struct sockaddr_in addr;
    SSL_CTX *sctx;
    struct tls_conn_opts sopts;
    struct tls_conn_opts copts;
    struct side srv;
    struct side cli;
    int closed;
    int expect_closed;
    int accepts;

    /* Behaviours. */
    int srv_echo;
    size_t srv_close_after; /* server closes once it holds this many bytes */
    size_t cli_close_after; /* client closes once it holds this many bytes */
    int cli_read_stop_at_handshake;
    int srv_flood;      /* server writes until refused (2: corked) */
    int flood_rc;       /* what stopped the flood */
    int flood_rc_after; /* the next write's result */
    size_t flood_bytes;
    uint64_t flood_socket_writes; /* socket writes the flood made */
    size_t srv_reply;             /* server writes this many bytes at its handshake */
    int srv_nodelay;              /* TCP_NODELAY of the accepted socket, -1 unknown */
    uint64_t srv_reply_writes;    /* socket writes that reply took */
    size_t srv_parts;             /* the reply is written corked, in this many parts */
    int srv_parts_close;          /* and the server closes before it uncorks */
    uint64_t srv_corked_writes;   /* socket writes made while corked */
    size_t srv_corked_pending;    /* tls_conn_pending() once the parts are queued */
    SSL_SESSION *session_in;      /* offered by the client; borrowed */
    SSL_SESSION *session_out;     /* kept from the client; caller owns */

    /* Large transfer. */
    int large;
    size_t sent;
    size_t max_pending;
    int drains;
    int write_rc;
    size_t received;
    int pattern_ok;
    int paused;
    int pauses;
    int data_while_paused;
    size_t next_pause;
    uint64_t t_start;
    uint64_t t_srv_close;
};

/* Fails a hung test instead of hanging CI. */
static void watchdog_fire(int sig)
{
    static const char msg[] = "test_tls_conn: watchdog fired, test hung\n";

    (void)sig;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        _exit(3);
    }
    _exit(3);
}

static void watchdog(unsigned seconds)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = watchdog_fire;
    sigaction(SIGALRM, &sa, NULL);
    alarm(seconds * testutil_timeout_scale());
}

static const char *cert_path(char *out, size_t outlen, const char *rel)
{
    snprintf(out, outlen, "%s/%s", g_ctxs.certs, rel);
    return out;
}

static uint8_t pattern_byte(size_t i)
{
    return (uint8_t)((i * 131u + (i >> 12)) & 0xffu);
}

static void side_append(struct side *s, const uint8_t *data, size_t len)
{
    if (s->rx_len + len > s->rx_cap) {
        size_t cap = (s->rx_len + len) * 2;
        uint8_t *p = realloc(s->rx, cap);

        assert_non_null(p);
        s->rx = p;
        s->rx_cap = cap;
    }
    memcpy(s->rx + s->rx_len, data, len);
    s->rx_len += len;
}

static void close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

static void check_done(struct harness *h)
{
    if (h->closed < h->expect_closed) {
        return;
    }
    close_handle((uv_handle_t *)&h->listener);
    close_handle((uv_handle_t *)&h->timer);
    if (h->raw_used) {
        close_handle((uv_handle_t *)&h->raw);
    }
}

static void record_handshake(struct side *s, struct tls_conn *c)
{
    const unsigned char *alpn = NULL;
    unsigned int alpnlen = 0;
    SSL *ssl = tls_conn_ssl(c);

    s->handshakes++;
    s->id_rc = tls_ctx_peer_identity(ssl, s->cn, sizeof(s->cn));
    s->reused = SSL_session_reused(ssl);
    s->version = SSL_version(ssl);
    snprintf(s->cipher, sizeof(s->cipher), "%s", SSL_get_cipher_name(ssl));
    SSL_get0_alpn_selected(ssl, &alpn, &alpnlen);
    if (alpnlen < sizeof(s->alpn)) {
        memcpy(s->alpn, alpn, alpnlen);
        s->alpn[alpnlen] = '\0';
    }
}

/* Server side. */

static void srv_flood(struct harness *h, struct tls_conn *c)
{
    static uint8_t chunk[16 * 1024];
    uint64_t before = tls_conn_socket_writes(c);
    int rc = 0;

    if (h->srv_flood == 2) {
        tls_conn_cork(c);
    }
    while (h->flood_bytes < 256u * 1024 * 1024) {
        rc = tls_conn_write(c, chunk, sizeof(chunk));
        if (rc != 0) {
            break;
        }
        h->flood_bytes += sizeof(chunk);
    }
    h->flood_rc = rc;
    h->flood_rc_after = tls_conn_write(c, chunk, sizeof(chunk));
    h->flood_socket_writes = tls_conn_socket_writes(c) - before;
}

static int srv_on_handshake(struct tls_conn *c, void *arg)
{
    struct harness *h = arg;

    record_handshake(&h->srv, c);
    if (h->srv_flood) {
        srv_flood(h, c);
    }
    if (h->srv_reply > 0) {
        uint8_t *reply = malloc(h->srv_reply);
        uv_os_fd_t fd;
        int on = 0;
        socklen_t onlen = sizeof(on);
        uint64_t before;

        assert_non_null(reply);
        memset(reply, 'r', h->srv_reply);
        assert_int_equal(tls_conn_fileno(c, &fd), 0);
        h->srv_nodelay = getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &onlen) == 0 ? on : -1;
        before = tls_conn_socket_writes(c);
        if (h->srv_parts > 0) {
            size_t part = h->srv_reply / h->srv_parts;

            for (size_t i = 0; i < h->srv_reply; i++) {
                reply[i] = (uint8_t)('a' + i / part % 26);
            }
            tls_conn_cork(c);
            for (size_t i = 0; i < h->srv_parts; i++) {
                assert_int_equal(tls_conn_write(c, reply + i * part, part), 0);
            }
            h->srv_corked_writes = tls_conn_socket_writes(c) - before;
            h->srv_corked_pending = tls_conn_pending(c);
            if (h->srv_parts_close) {
                tls_conn_close(c, 0);
            } else {
                tls_conn_uncork(c);
            }
        } else {
            assert_int_equal(tls_conn_write(c, reply, h->srv_reply), 0);
        }
        h->srv_reply_writes = tls_conn_socket_writes(c) - before;
        free(reply);
    }
    return 0;
}

static void on_resume_timer(uv_timer_t *t)
{
    struct harness *h = t->data;

    h->paused = 0;
    if (h->srv.c != NULL && !h->srv.closed) {
        tls_conn_read_start(h->srv.c);
    }
}

static void srv_large_data(struct harness *h, struct tls_conn *c, const uint8_t *data, size_t len)
{
    size_t i;

    if (h->paused) {
        h->data_while_paused++;
    }
    for (i = 0; i < len; i++) {
        if (data[i] != pattern_byte(h->received + i)) {
            h->pattern_ok = 0;
        }
    }
    h->received += len;
    if (h->received >= h->next_pause && h->received < LARGE_TOTAL) {
        h->next_pause += PAUSE_EVERY;
        h->paused = 1;
        h->pauses++;
        tls_conn_read_stop(c);
        uv_timer_start(&h->timer, on_resume_timer, 20, 0);
    }
}

static void srv_on_data(struct tls_conn *c, const uint8_t *data, size_t len, void *arg)
{
    struct harness *h = arg;

    if (h->large) {
        srv_large_data(h, c, data, len);
        return;
    }
    side_append(&h->srv, data, len);
    if (h->srv_echo) {
        assert_int_equal(tls_conn_write(c, data, len), 0);
    }
    if (h->srv_close_after != 0 && h->srv.rx_len >= h->srv_close_after) {
        tls_conn_close(c, 0);
    }
}

static void srv_on_close(struct tls_conn *c, int err, void *arg)
{
    struct harness *h = arg;

    h->srv.closed = 1;
    h->srv.close_err = err;
    snprintf(h->srv.error, sizeof(h->srv.error), "%s", tls_conn_error(c));
    h->srv.c = NULL;
    h->t_srv_close = uv_now(&h->loop);
    h->closed++;
    /* A client that stopped reading must see the end. */
    if (h->cli.c != NULL && !h->cli.closed) {
        tls_conn_read_start(h->cli.c);
    }
    check_done(h);
}

static const struct tls_conn_callbacks srv_cbs = {
    .on_handshake = srv_on_handshake,
    .on_data = srv_on_data,
    .on_drain = NULL,
    .on_close = srv_on_close,
};

static void on_connection(uv_stream_t *server, int status)
{
    struct harness *h = server->data;
    struct tls_conn *c = NULL;

    assert_int_equal(status, 0);
    h->accepts++;
    assert_int_equal(tls_conn_accept(&h->loop, server, h->sctx, &h->sopts, &srv_cbs, h, &c), 0);
    h->srv.c = c;
}

/* Client side. */

static void cli_pump(struct harness *h)
{
    static uint8_t chunk[LARGE_CHUNK];
    struct tls_conn *c = h->cli.c;

    while (h->sent < LARGE_TOTAL && tls_conn_pending(c) < h->copts.write_high) {
        size_t n = LARGE_TOTAL - h->sent;
        size_t i;
        size_t pending;

        if (n > sizeof(chunk)) {
            n = sizeof(chunk);
        }
        for (i = 0; i < n; i++) {
            chunk[i] = pattern_byte(h->sent + i);
        }
        h->write_rc = tls_conn_write(c, chunk, n);
        if (h->write_rc != 0) {
            return;
        }
        h->sent += n;
        pending = tls_conn_pending(c);
        if (pending > h->max_pending) {
            h->max_pending = pending;
        }
    }
    if (h->sent == LARGE_TOTAL) {
        tls_conn_close(c, 0);
    }
}

static int cli_on_handshake(struct tls_conn *c, void *arg)
{
    struct harness *h = arg;

    record_handshake(&h->cli, c);
    if (h->cli_read_stop_at_handshake) {
        tls_conn_read_stop(c);
    }
    if (h->large) {
        cli_pump(h);
    }
    return 0;
}

static void cli_on_data(struct tls_conn *c, const uint8_t *data, size_t len, void *arg)
{
    struct harness *h = arg;

    if (h->srv_flood) {
        return; /* the flood is only counted by the server */
    }
    side_append(&h->cli, data, len);
    if (h->cli_close_after != 0 && h->cli.rx_len >= h->cli_close_after) {
        tls_conn_close(c, 0);
    }
}

static void cli_on_drain(struct tls_conn *c, void *arg)
{
    struct harness *h = arg;

    (void)c;
    h->drains++;
    if (h->large) {
        cli_pump(h);
    }
}

static void cli_on_close(struct tls_conn *c, int err, void *arg)
{
    struct harness *h = arg;
    SSL_SESSION *sess;

    h->cli.closed = 1;
    h->cli.close_err = err;
    snprintf(h->cli.error, sizeof(h->cli.error), "%s", tls_conn_error(c));
    sess = SSL_get1_session(tls_conn_ssl(c));
    if (sess != NULL && SSL_SESSION_is_resumable(sess) && h->session_out == NULL) {
        h->session_out = sess;
    } else {
        SSL_SESSION_free(sess);
    }
    h->cli.c = NULL;
    h->closed++;
    check_done(h);
}

static const struct tls_conn_callbacks cli_cbs = {
    .on_handshake = cli_on_handshake,
    .on_data = cli_on_data,
    .on_drain = cli_on_drain,
    .on_close = cli_on_close,
};

/* Harness. */

static void harness_init(struct harness *h, SSL_CTX *sctx)
{
    int namelen = sizeof(h->addr);

    memset(h, 0, sizeof(*h));
    assert_int_equal(uv_loop_init(&h->loop), 0);
    assert_int_equal(uv_tcp_init(&h->loop, &h->listener), 0);
    assert_int_equal(uv_timer_init(&h->loop, &h->timer), 0);
    h->listener.data = h;
    h->timer.data = h;
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &h->addr), 0);
    assert_int_equal(uv_tcp_bind(&h->listener, (const struct sockaddr *)&h->addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&h->listener, 16, on_connection), 0);
    assert_int_equal(uv_tcp_getsockname(&h->listener, (struct sockaddr *)&h->addr, &namelen), 0);
    h->sctx = sctx;
    h->expect_closed = 2;
    h->pattern_ok = 1;
    h->srv.id_rc = 1;
    h->cli.id_rc = 1;
    h->t_start = uv_now(&h->loop);
}

static void harness_connect(struct harness *h, SSL_CTX *cctx, const char *name)
{
    struct tls_conn *c = NULL;

    assert_int_equal(tls_conn_connect(&h->loop, (const struct sockaddr *)&h->addr, name, cctx,
                                      &h->copts, &cli_cbs, h, &c),
                     0);
    if (h->session_in != NULL) {
        assert_int_equal(SSL_set_session(tls_conn_ssl(c), h->session_in), 1);
    }
    h->cli.c = c;
}

static void harness_run(struct harness *h)
{
    uv_run(&h->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&h->loop), 0);
}

static void harness_free(struct harness *h)
{
    free(h->srv.rx);
    free(h->cli.rx);
    SSL_SESSION_free(h->session_out);
    h->session_out = NULL;
}

/* Runs one client with cctx against the protocol port and expects it to be
 * refused by the server before on_handshake. */
static void expect_refused(SSL_CTX *cctx, const char *why)
{
    struct harness h;

    harness_init(&h, g_ctxs.server);
    harness_connect(&h, cctx, "127.0.0.1");
    harness_run(&h);
    print_message("refused: server err=%d \"%s\"; client err=%d \"%s\"\n", h.srv.close_err,
                  h.srv.error, h.cli.close_err, h.cli.error);
    assert_int_equal(h.srv.handshakes, 0);
    assert_int_equal(h.srv.close_err, -EPROTO);
    assert_int_not_equal(h.cli.close_err, 0);
    if (why != NULL && strstr(h.srv.error, why) == NULL) {
        fail_msg("server error '%s' does not mention '%s'", h.srv.error, why);
    }
    harness_free(&h);
}

/* Tests. */

static void test_echo_and_identity(void **state)
{
    struct harness h;
    static const char msg[] = "hello, coachq";

    (void)state;
    harness_init(&h, g_ctxs.server);
    h.srv_echo = 1;
    h.cli_close_after = sizeof(msg);
    harness_connect(&h, g_ctxs.alice, "localhost");
    assert_int_equal(tls_conn_write(h.cli.c, msg, sizeof(msg)), 0);
    harness_run(&h);
    assert_int_equal(h.srv.handshakes, 1);
    assert_int_equal(h.cli.handshakes, 1);
    assert_int_equal(h.srv.id_rc, 0);
    assert_string_equal(h.srv.cn, "alice");
    assert_string_equal(h.srv.alpn, ALPN);
    assert_string_equal(h.cli.alpn, ALPN);
    assert_int_equal(h.srv.close_err, 0);
    assert_int_equal(h.cli.close_err, 0);
    harness_free(&h);
}

static void test_echo_round_trip(void **state)
{
    struct harness h;
    static const char msg[] = "round trip";

    (void)state;
    harness_init(&h, g_ctxs.server);
    h.srv_echo = 1;
    h.cli_close_after = sizeof(msg);
    harness_connect(&h, g_ctxs.alice, "127.0.0.1");
    assert_int_equal(tls_conn_write(h.cli.c, msg, sizeof(msg)), 0);
    harness_run(&h);
    assert_int_equal(h.cli.rx_len, sizeof(msg));
    assert_memory_equal(h.cli.rx, msg, sizeof(msg));
    assert_int_equal(h.srv.close_err, 0);
    assert_int_equal(h.cli.close_err, 0);
    harness_free(&h);
}

/* Regression: data sent with the client's last handshake flight must be
 * delivered without waiting for more bytes from the socket. The server
 * does not reply, so if it missed the data it would only close at its idle
 * timeout with -ETIMEDOUT. */
static void test_data_with_last_flight(void **state)
{
    struct harness h;
    static const char msg[] = "early";

    (void)state;
    harness_init(&h, g_ctxs.server);
    h.sopts.idle_timeout_ms = 2000;
    h.srv_close_after = sizeof(msg);
    harness_connect(&h, g_ctxs.alice, "127.0.0.1");
    assert_int_equal(tls_conn_write(h.cli.c, msg, sizeof(msg)), 0);
    assert_int_equal(tls_conn_pending(h.cli.c), sizeof(msg));
    harness_run(&h);
    assert_int_equal(h.srv.rx_len, sizeof(msg));
    assert_memory_equal(h.srv.rx, msg, sizeof(msg));
    assert_int_equal(h.srv.close_err, 0);
    assert_int_equal(h.cli.close_err, 0);
    harness_free(&h);
}

static void test_large_write_flow_control(void **state)
{
    struct harness h;

    (void)state;
    harness_init(&h, g_ctxs.server);
    h.large = 1;
    h.next_pause = PAUSE_EVERY;
    h.copts.write_high = 256 * 1024;
    h.copts.write_low = 64 * 1024;
    h.copts.write_max = 1024 * 1024;
    harness_connect(&h, g_ctxs.alice, "127.0.0.1");
    harness_run(&h);
    print_message("large: sent=%zu received=%zu drains=%d max_pending=%zu pauses=%d\n", h.sent,
                  h.received, h.drains, h.max_pending, h.pauses);
    assert_int_equal(h.write_rc, 0);
    assert_int_equal(h.sent, LARGE_TOTAL);
    assert_int_equal(h.received, LARGE_TOTAL);
    assert_true(h.pattern_ok);
    assert_true(h.drains >= 1);
    assert_true(h.max_pending >= h.copts.write_high);
    assert_true(h.max_pending <= h.copts.write_max);
    assert_true(h.pauses >= 4);
    assert_int_equal(h.data_while_paused, 0);
    assert_int_equal(h.srv.close_err, 0);
    assert_int_equal(h.cli.close_err, 0);
    harness_free(&h);
}

/* The server's connections share one read buffer (tls_conn_opts read_buf,
 * what connset.h lends every connection of a listener): here the client
 * and the server side of one pair share a small one on the same loop, so
 * reads of both directions interleave through it, and every byte must
 * still arrive in order. */
static void test_shared_read_buffer(void **state)
{
    enum { TOTAL = 200000 };
    struct harness h;
    uint8_t shared[512];
    uint8_t *msg = malloc(TOTAL);

    (void)state;
    assert_non_null(msg);
    for (size_t i = 0; i < TOTAL; i++) {
        msg[i] = pattern_byte(i);
    }
    harness_init(&h, g_ctxs.server);
    h.srv_echo = 1;
    h.cli_close_after = TOTAL;
    h.sopts.read_buf = shared;
    h.sopts.read_buf_len = sizeof(shared);
    h.copts.read_buf = shared;
    h.copts.read_buf_len = sizeof(shared);
    memset(shared, 0xa5, sizeof(shared));
    harness_connect(&h, g_ctxs.alice, "127.0.0.1");
    assert_int_equal(tls_conn_write(h.cli.c, msg, TOTAL), 0);
    harness_run(&h);
    /* The reads went through the lent buffer (ciphertext is in it now). */
    {
        size_t changed = 0;

        for (size_t i = 0; i < sizeof(shared); i++) {
            changed += shared[i] != 0xa5;
        }
        assert_true(changed > sizeof(shared) / 2);
    }
    assert_int_equal(h.srv.rx_len, TOTAL);
    assert_memory_equal(h.srv.rx, msg, TOTAL);
    assert_int_equal(h.cli.rx_len, TOTAL);
    assert_memory_equal(h.cli.rx, msg, TOTAL);
    assert_int_equal(h.srv.close_err, 0);
    assert_int_equal(h.cli.close_err, 0);
    harness_free(&h);
    free(msg);
}

static void test_refuse_no_cert(void **state)
{
    (void)state;
    expect_refused(g_ctxs.none, "certificate");
}

static void test_refuse_other_ca(void **state)
{
    (void)state;
    expect_refused(g_ctxs.other_alice, "verify");
}

static void test_refuse_expired(void **state)
{
    (void)state;
    expect_refused(g_ctxs.expired, "expired");
}

static void test_refuse_server_eku(void **state)
{
    (void)state;
    expect_refused(g_ctxs.svc, "purpose");
}

static void test_refuse_alpn_mismatch(void **state)
{
    (void)state;
    expect_refused(g_ctxs.wrong_alpn, NULL);
}

/* The client checks the server's name: "example.com" is not in it. */
static void test_client_checks_server_name(void **state)
{
    struct harness h;

    (void)state;
    harness_init(&h, g_ctxs.server);
    harness_connect(&h, g_ctxs.alice, "example.com");
    harness_run(&h);
    assert_int_equal(h.cli.handshakes, 0);
    assert_int_equal(h.cli.close_err, -EPROTO);
    assert_non_null(strstr(h.cli.error, "verify"));
    assert_int_equal(h.srv.handshakes, 0);
    assert_int_not_equal(h.srv.close_err, 0);
    harness_free(&h);
}

static void raw_on_connect(uv_connect_t *req, int status)
{
    (void)req;
    assert_int_equal(status, 0);
}

static void test_handshake_timeout(void **state)
{
    struct harness h;

    (void)state;
    harness_init(&h, g_ctxs.server);
    h.expect_closed = 1;
    h.sopts.handshake_timeout_ms = 200;
    h.raw_used = 1;
    assert_int_equal(uv_tcp_init(&h.loop, &h.raw), 0);
    assert_int_equal(
        uv_tcp_connect(&h.raw_req, &h.raw, (const struct sockaddr *)&h.addr, raw_on_connect), 0);
    harness_run(&h);
    assert_int_equal(h.accepts, 1);
    assert_int_equal(h.srv.handshakes, 0);
    assert_int_equal(h.srv.close_err, -ETIMEDOUT);
    assert_true(h.t_srv_close - h.t_start >= 190);
    harness_free(&h);
}

static void test_idle_timeout(void **state)
{
    struct harness h;

    (void)state;
    harness_init(&h, g_ctxs.server);
    h.sopts.idle_timeout_ms = 300;
    harness_connect(&h, g_ctxs.alice, "127.0.0.1");
    harness_run(&h);
    assert_int_equal(h.srv.handshakes, 1);
    assert_int_equal(h.srv.close_err, -ETIMEDOUT);
    assert_true(h.t_srv_close - h.t_start >= 290);
    /* The server closed gracefully: the client saw an orderly close. */
    assert_int_equal(h.cli.close_err, 0);
    harness_free(&h);
}

static void test_write_max(void **state)
{
    struct harness h;

    (void)state;
    harness_init(&h, g_ctxs.server);
    h.sopts.write_high = 32 * 1024;
    h.sopts.write_low = 16 * 1024;
    h.sopts.write_max = 64 * 1024;
    h.srv_flood = 1;
    h.cli_read_stop_at_handshake = 1;
    harness_connect(&h, g_ctxs.alice, "127.0.0.1");
    harness_run(&h);
    print_message("write_max: flooded %zu bytes; client err=%d\n", h.flood_bytes, h.cli.close_err);
    assert_int_equal(h.flood_rc, -ENOBUFS);
    assert_int_equal(h.flood_rc_after, -ENOBUFS);
    assert_int_equal(h.srv.close_err, -ENOBUFS);
    assert_int_not_equal(h.cli.close_err, 0);
    harness_free(&h);
}

/* A corked connection makes no socket write, and what it holds counts
 * against write_max as a queued reply does: a peer that never reads cannot
 * make the writer hold more. */
static void test_write_max_corked(void **state)
{
    struct harness h;

    (void)state;
    harness_init(&h, g_ctxs.server);
    h.sopts.write_high = 32 * 1024;
    h.sopts.write_low = 16 * 1024;
    h.sopts.write_max = 64 * 1024;
    h.srv_flood = 2;
    h.cli_read_stop_at_handshake = 1;
    harness_connect(&h, g_ctxs.alice, "127.0.0.1");
    harness_run(&h);
    assert_int_equal(h.flood_rc, -ENOBUFS);
    assert_int_equal(h.flood_rc_after, -ENOBUFS);
    assert_int_equal(h.flood_socket_writes, 0);
    assert_true(h.flood_bytes <= h.sopts.write_max);
    assert_int_equal(h.srv.close_err, -ENOBUFS);
    harness_free(&h);
}

static void resumption_keeps_identity(SSL_CTX *cctx, int version)
{
    struct harness h1;
    struct harness h2;
    static const char msg[] = "first";

    harness_init(&h1, g_ctxs.server);
    h1.srv_echo = 1;
    h1.cli_close_after = sizeof(msg);
    harness_connect(&h1, cctx, "127.0.0.1");
    assert_int_equal(tls_conn_write(h1.cli.c, msg, sizeof(msg)), 0);
    harness_run(&h1);
    assert_int_equal(h1.srv.reused, 0);
    assert_int_equal(h1.srv.version, version);
    assert_int_equal(h1.srv.id_rc, 0);
    assert_non_null(h1.session_out);

    harness_init(&h2, g_ctxs.server);
    h2.srv_echo = 1;
    h2.cli_close_after = sizeof(msg);
    h2.session_in = h1.session_out;
    harness_connect(&h2, cctx, "127.0.0.1");
    assert_int_equal(tls_conn_write(h2.cli.c, msg, sizeof(msg)), 0);
    harness_run(&h2);
    assert_int_equal(h2.srv.handshakes, 1);
    assert_int_equal(h2.srv.reused, 1);
    assert_int_equal(h2.srv.id_rc, 0);
    assert_string_equal(h2.srv.cn, "alice");
    assert_int_equal(h2.srv.version, version);
    assert_int_equal(h2.cli.rx_len, sizeof(msg));
    assert_int_equal(h2.srv.close_err, 0);
    assert_int_equal(h2.cli.close_err, 0);
    harness_free(&h1);
    harness_free(&h2);
}

static void test_session_resumption_keeps_identity(void **state)
{
    (void)state;
    resumption_keeps_identity(g_ctxs.alice, TLS1_3_VERSION);
}

static void test_session_resumption_keeps_identity_tls12(void **state)
{
    (void)state;
    resumption_keeps_identity(g_ctxs.alice12, TLS1_2_VERSION);
}

/* TLS 1.2: the client's data follows the server's last flight; suites are
 * ECDHE with an AEAD. */
static void test_echo_tls12(void **state)
{
    struct harness h;
    static const char msg[] = "twelve";

    (void)state;
    harness_init(&h, g_ctxs.server);
    h.srv_echo = 1;
    h.cli_close_after = sizeof(msg);
    harness_connect(&h, g_ctxs.alice12, "127.0.0.1");
    assert_int_equal(tls_conn_write(h.cli.c, msg, sizeof(msg)), 0);
    harness_run(&h);
    assert_int_equal(h.srv.version, TLS1_2_VERSION);
    assert_non_null(strstr(h.srv.cipher, "ECDHE-"));
    assert_non_null(strstr(h.srv.cipher, "GCM"));
    assert_int_equal(h.srv.id_rc, 0);
    assert_string_equal(h.srv.cn, "alice");
    assert_int_equal(h.cli.rx_len, sizeof(msg));
    assert_int_equal(h.srv.close_err, 0);
    assert_int_equal(h.cli.close_err, 0);
    harness_free(&h);
}

/* A client that offers no ALPN at all is refused too (the ALPN select
 * callback alone would let it through). */
/* A reply larger than one TLS record (16 KiB) leaves in one socket write
 * on a socket with TCP_NODELAY: written as several, Nagle's algorithm held
 * the last part until the peer's delayed ACK, about 40 ms later. */
static void test_large_reply_one_write_nodelay(void **state)
{
    struct harness h;

    (void)state;
    harness_init(&h, g_ctxs.server);
    h.srv_reply = 40000;
    h.srv_nodelay = -1;
    h.cli_close_after = h.srv_reply;
    harness_connect(&h, g_ctxs.alice, "127.0.0.1");
    harness_run(&h);
    assert_int_equal(h.srv.handshakes, 1);
    assert_int_equal(h.cli.rx_len, h.srv_reply);
    assert_int_equal(h.srv_reply_writes, 1);
    assert_int_not_equal(h.srv_nodelay, -1);
    assert_int_not_equal(h.srv_nodelay, 0);
    assert_int_equal(h.srv.close_err, 0);
    harness_free(&h);
}

/* Writes made between tls_conn_cork() and tls_conn_uncork() (the acks of
 * one commit to one connection) leave in one socket write, in order, and
 * count as pending while held; a close while corked still sends them
 * first. */
static void test_corked_writes_leave_in_one(void **state)
{
    for (int close = 0; close <= 1; close++) {
        struct harness h;

        (void)state;
        harness_init(&h, g_ctxs.server);
        h.srv_reply = 24 * 96;
        h.srv_parts = 24;
        h.srv_parts_close = close;
        h.cli_close_after = h.srv_reply;
        harness_connect(&h, g_ctxs.alice, "127.0.0.1");
        harness_run(&h);
        assert_int_equal(h.srv.handshakes, 1);
        assert_int_equal(h.srv_corked_writes, 0);
        assert_int_equal(h.srv_corked_pending, h.srv_reply);
        assert_int_equal(h.cli.rx_len, h.srv_reply);
        for (size_t i = 0; i < h.srv_reply; i++) {
            assert_int_equal(h.cli.rx[i], 'a' + i / 96 % 26);
        }
        /* A close sends the held parts in one write, then its close_notify. */
        assert_int_equal(h.srv_reply_writes, 1 + (uint64_t)close);
        harness_free(&h);
    }
}

static void test_refuse_no_alpn(void **state)
{
    (void)state;
    expect_refused(g_ctxs.no_alpn, "application protocol");
}

/* A session made on the dashboard port (no certificate) must not resume on
 * the protocol port: that would be a handshake without a certificate. */
static void test_session_from_dashboard_not_resumed(void **state)
{
    struct harness h1;
    struct harness h2;
    static const char msg[] = "dash";

    (void)state;
    harness_init(&h1, g_ctxs.dashboard);
    h1.srv_echo = 1;
    h1.cli_close_after = sizeof(msg);
    harness_connect(&h1, g_ctxs.none, "127.0.0.1");
    assert_int_equal(tls_conn_write(h1.cli.c, msg, sizeof(msg)), 0);
    harness_run(&h1);
    assert_int_equal(h1.srv.handshakes, 1);
    assert_int_equal(h1.srv.id_rc, ERROR_NO_PEER_CERT);
    assert_non_null(h1.session_out);

    harness_init(&h2, g_ctxs.server);
    h2.session_in = h1.session_out;
    harness_connect(&h2, g_ctxs.none, "127.0.0.1");
    harness_run(&h2);
    assert_int_equal(h2.srv.handshakes, 0);
    assert_int_equal(h2.srv.close_err, -EPROTO);
    harness_free(&h1);
    harness_free(&h2);
}

static void test_ctx_errors_name_the_file(void **state)
{
    struct tls_ctx_opts o;
    SSL_CTX *ctx = NULL;
    char err[512];
    char ca[600];

    (void)state;
    memset(&o, 0, sizeof(o));
    o.cert_file = "/nonexistent/server.crt";
    o.key_file = "/nonexistent/server.key";
    o.ca_file = cert_path(ca, sizeof(ca), "ca.crt");
    o.alpn = ALPN;
    o.require_client_cert = 1;
    assert_int_equal(tls_ctx_server_new(&o, &ctx, err, sizeof(err)), -EIO);
    assert_null(ctx);
    assert_non_null(strstr(err, "/nonexistent/server.crt"));
    o.alpn = "";
    assert_int_equal(tls_ctx_server_new(&o, &ctx, err, sizeof(err)), -EINVAL);
    assert_int_equal(tls_ctx_peer_identity(NULL, err, sizeof(err)), ERROR_NO_PEER_CERT);
}

/* Setup. */

static SSL_CTX *client_ctx(const char *user_dir, const char *user, const char *alpn)
{
    struct tls_ctx_opts o;
    SSL_CTX *ctx = NULL;
    char cert[600];
    char key[600];
    char ca[600];
    char rel[128];
    char err[512];
    int rc;

    memset(&o, 0, sizeof(o));
    o.ca_file = cert_path(ca, sizeof(ca), "ca.crt");
    o.alpn = alpn;
    if (user != NULL) {
        snprintf(rel, sizeof(rel), "%susers/%s.crt", user_dir, user);
        o.cert_file = cert_path(cert, sizeof(cert), rel);
        snprintf(rel, sizeof(rel), "%susers/%s.key", user_dir, user);
        o.key_file = cert_path(key, sizeof(key), rel);
    }
    rc = tls_ctx_client_new(&o, &ctx, err, sizeof(err));
    if (rc != 0) {
        fail_msg("client context for %s: %s", user != NULL ? user : "(none)", err);
    }
    return ctx;
}

static SSL_CTX *server_ctx(int require_client_cert)
{
    struct tls_ctx_opts o;
    SSL_CTX *ctx = NULL;
    char cert[600];
    char key[600];
    char ca[600];
    char err[512];
    int rc;

    memset(&o, 0, sizeof(o));
    o.cert_file = cert_path(cert, sizeof(cert), "server.crt");
    o.key_file = cert_path(key, sizeof(key), "server.key");
    o.ca_file = cert_path(ca, sizeof(ca), "ca.crt");
    o.alpn = ALPN;
    o.require_client_cert = require_client_cert;
    rc = tls_ctx_server_new(&o, &ctx, err, sizeof(err));
    if (rc != 0) {
        fail_msg("server context: %s", err);
    }
    return ctx;
}

/* A client context without ALPN, which tls_ctx cannot make. */
static SSL_CTX *client_ctx_no_alpn(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    char cert[600];
    char key[600];
    char ca[600];

    assert_non_null(ctx);
    assert_int_equal(
        SSL_CTX_use_certificate_chain_file(ctx, cert_path(cert, sizeof(cert), "users/alice.crt")),
        1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(
                         ctx, cert_path(key, sizeof(key), "users/alice.key"), SSL_FILETYPE_PEM),
                     1);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, cert_path(ca, sizeof(ca), "ca.crt"), NULL),
                     1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

static int group_setup(void **state)
{
    const char *dir = getenv("COACHQ_TEST_CERTS");

    (void)state;
    signal(SIGPIPE, SIG_IGN);
    if (dir == NULL || dir[0] == '\0') {
        fprintf(stderr, "COACHQ_TEST_CERTS is not set\n");
        return -1;
    }
    snprintf(g_ctxs.certs, sizeof(g_ctxs.certs), "%s", dir);
    g_ctxs.server = server_ctx(1);
    g_ctxs.dashboard = server_ctx(0);
    g_ctxs.alice = client_ctx("", "alice", ALPN);
    g_ctxs.none = client_ctx("", NULL, ALPN);
    g_ctxs.other_alice = client_ctx("other/", "alice", ALPN);
    g_ctxs.expired = client_ctx("", "expired", ALPN);
    g_ctxs.svc = client_ctx("", "svc", ALPN);
    g_ctxs.wrong_alpn = client_ctx("", "alice", "other/1");
    g_ctxs.alice12 = client_ctx("", "alice", ALPN);
    if (SSL_CTX_set_max_proto_version(g_ctxs.alice12, TLS1_2_VERSION) != 1) {
        return -1;
    }
    g_ctxs.no_alpn = client_ctx_no_alpn();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    SSL_CTX_free(g_ctxs.server);
    SSL_CTX_free(g_ctxs.dashboard);
    SSL_CTX_free(g_ctxs.alice);
    SSL_CTX_free(g_ctxs.none);
    SSL_CTX_free(g_ctxs.other_alice);
    SSL_CTX_free(g_ctxs.expired);
    SSL_CTX_free(g_ctxs.svc);
    SSL_CTX_free(g_ctxs.wrong_alpn);
    SSL_CTX_free(g_ctxs.alice12);
    SSL_CTX_free(g_ctxs.no_alpn);
    return 0;
}

static int test_setup(void **state)
{
    (void)state;
    watchdog(WATCHDOG_SECONDS);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_echo_and_identity, test_setup),
        cmocka_unit_test_setup(test_echo_round_trip, test_setup),
        cmocka_unit_test_setup(test_data_with_last_flight, test_setup),
        cmocka_unit_test_setup(test_large_write_flow_control, test_setup),
        cmocka_unit_test_setup(test_shared_read_buffer, test_setup),
        cmocka_unit_test_setup(test_refuse_no_cert, test_setup),
        cmocka_unit_test_setup(test_refuse_other_ca, test_setup),
        cmocka_unit_test_setup(test_refuse_expired, test_setup),
        cmocka_unit_test_setup(test_refuse_server_eku, test_setup),
        cmocka_unit_test_setup(test_refuse_alpn_mismatch, test_setup),
        cmocka_unit_test_setup(test_client_checks_server_name, test_setup),
        cmocka_unit_test_setup(test_handshake_timeout, test_setup),
        cmocka_unit_test_setup(test_idle_timeout, test_setup),
        cmocka_unit_test_setup(test_write_max, test_setup),
        cmocka_unit_test_setup(test_session_resumption_keeps_identity, test_setup),
        cmocka_unit_test_setup(test_session_resumption_keeps_identity_tls12, test_setup),
        cmocka_unit_test_setup(test_echo_tls12, test_setup),
        cmocka_unit_test_setup(test_refuse_no_alpn, test_setup),
        cmocka_unit_test_setup(test_large_reply_one_write_nodelay, test_setup),
        cmocka_unit_test_setup(test_corked_writes_leave_in_one, test_setup),
        cmocka_unit_test_setup(test_write_max_corked, test_setup),
        cmocka_unit_test_setup(test_session_from_dashboard_not_resumed, test_setup),
        cmocka_unit_test_setup(test_ctx_errors_name_the_file, test_setup),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
