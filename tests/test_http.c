/* Tests of web/http.c: the dashboard port's HTTPS/1.1 transport, run
 * in-process on a loop thread with a test handler, and driven by a real
 * TLS client (blocking OpenSSL on a socket) that can send exactly the
 * bytes a hostile peer would: security headers on every answer,
 * keep-alive and pipelining, the handler's 404/405, malformed requests
 * answered 400/413/414/431 and closed, requests split into tiny TLS
 * records, the request timeout (408), a peer that leaves while its answer
 * is pending, and max_connections; plus the form, cookie and URL helpers. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include "config.h"
#include "http.h"
#include "testutil.h"

/* ---- The server on its loop thread ---- */

struct srv {
    uv_loop_t loop;
    uv_async_t stop_async;
    pthread_t thread;
    struct http_server *h;
    int port;
    atomic_int calls;      /* handler calls */
    atomic_int async_done; /* /async answers given (maybe dropped) */
    atomic_int stopped;    /* the done callback ran */
};

struct later {
    uv_timer_t t;
    struct http_exchange *x;
    struct srv *s;
};

static void later_closed(uv_handle_t *h)
{
    free(h->data);
}

static void later_fire(uv_timer_t *t)
{
    struct later *l = t->data;
    static const char body[] = "later\n";

    http_respond(l->x, 200, "text/plain", NULL, 0, body, sizeof(body) - 1);
    atomic_fetch_add(&l->s->async_done, 1);
    uv_close((uv_handle_t *)&l->t, later_closed);
}

static void handler(struct http_exchange *x, void *arg)
{
    struct srv *s = arg;
    char body[4096];
    char cookie[128] = "-";
    char name[128] = "-";
    const uint8_t *b;
    size_t blen;
    int n;

    atomic_fetch_add(&s->calls, 1);
    if (strcmp(http_path(x), "/async") == 0) {
        struct later *l = calloc(1, sizeof(*l));
        l->x = x;
        l->s = s;
        uv_timer_init(&s->loop, &l->t);
        l->t.data = l;
        uv_timer_start(&l->t, later_fire, 300, 0);
        return;
    }
    if (strcmp(http_path(x), "/post-only") == 0 && strcmp(http_method(x), "POST") != 0) {
        static const struct http_header_kv allow = {"Allow", "POST"};
        http_respond(x, 405, "text/plain", &allow, 1, "no\n", 3);
        return;
    }
    if (strcmp(http_path(x), "/bad-header") == 0) {
        static const struct http_header_kv hs[] = {
            {"X-Good", "yes"},
            {"X-Evil", "a\r\nSet-Cookie: evil=1"},
            {"X-Evil2", "b\nx"},
            {"Bad Name", "v"},
        };
        http_respond(x, 200, "text/plain", hs, 4, "ok", 2);
        return;
    }
    if (strncmp(http_path(x), "/echo", 5) != 0) {
        http_respond(x, 404, "text/plain", NULL, 0, "not found\n", 10);
        return;
    }
    if (http_cookie(x, "sid", cookie, sizeof(cookie)) < 0) {
        snprintf(cookie, sizeof(cookie), "-");
    }
    b = http_body(x, &blen);
    if (http_form_value((const char *)b, blen, "name", name, sizeof(name)) < 0 &&
        http_form_value(http_query(x), strlen(http_query(x)), "name", name, sizeof(name)) < 0) {
        snprintf(name, sizeof(name), "-");
    }
    n = snprintf(body, sizeof(body), "method=%s\npath=%s\nquery=%s\ncookie=%s\nname=%s\nbody=%zu\n",
                 http_method(x), http_path(x), http_query(x), cookie, name, blen);
    http_respond(x, 200, "text/plain; charset=utf-8", NULL, 0, body, (size_t)n);
}

static void on_stopped(void *arg)
{
    struct srv *s = arg;

    atomic_store(&s->stopped, 1);
}

static void on_stop_async(uv_async_t *a)
{
    struct srv *s = a->data;

    http_server_stop(s->h, on_stopped, s);
    uv_close((uv_handle_t *)a, NULL);
}

static void *loop_thread(void *arg)
{
    struct srv *s = arg;

    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

static struct srv *srv_start(uint64_t request_timeout_ms, unsigned max_conn)
{
    struct srv *s = calloc(1, sizeof(*s));
    struct config cfg;
    struct http_opts hopts;
    char err[300];

    assert_non_null(s);
    config_defaults(&cfg);
    testutil_cert_path(cfg.cert_file, sizeof(cfg.cert_file), "server.crt");
    testutil_cert_path(cfg.key_file, sizeof(cfg.key_file), "server.key");
    testutil_cert_path(cfg.ca_file, sizeof(cfg.ca_file), "ca.crt");
    snprintf(cfg.dash_port, sizeof(cfg.dash_port), "0");
    cfg.http_request_timeout_ms = request_timeout_ms;
    cfg.max_connections = max_conn;
    cfg.handshake_timeout_ms = 5000;
    assert_int_equal(uv_loop_init(&s->loop), 0);
    assert_int_equal(uv_async_init(&s->loop, &s->stop_async, on_stop_async), 0);
    s->stop_async.data = s;
    config_http_opts(&cfg, &hopts);
    if (http_server_new(&s->loop, &hopts, handler, s, &s->h, err, sizeof(err)) != 0) {
        fail_msg("http_server_new: %s", err);
    }
    s->port = http_server_port(s->h);
    assert_true(s->port > 0);
    assert_int_equal(pthread_create(&s->thread, NULL, loop_thread, s), 0);
    return s;
}

static void srv_stop(struct srv *s)
{
    uv_async_send(&s->stop_async);
    pthread_join(s->thread, NULL);
    assert_int_equal(atomic_load(&s->stopped), 1);
    assert_int_equal(uv_loop_close(&s->loop), 0);
    free(s);
}

/* ---- A blocking TLS client ---- */

struct tc {
    int fd;
    SSL *ssl;
    char buf[65536];
    size_t len;
    int closed;
};

static SSL_CTX *client_ctx(void)
{
    static SSL_CTX *ctx;
    char ca[600];

    if (ctx == NULL) {
        ctx = SSL_CTX_new(TLS_client_method());
        assert_non_null(ctx);
        testutil_cert_path(ca, sizeof(ca), "ca.crt");
        assert_int_equal(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

/* Connects and completes the handshake offering alpn (wire format). Returns
 * 0, or -1 if the server refused (closed) the connection. */
static int tc_open_alpn(struct tc *c, int port, const unsigned char *alpn, unsigned alpnlen)
{
    struct sockaddr_in sa;
    struct timeval tv = {.tv_sec = 5};

    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    c->ssl = SSL_new(client_ctx());
    assert_non_null(c->ssl);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1");
    if (alpn != NULL) {
        SSL_set_alpn_protos(c->ssl, alpn, alpnlen);
    }
    SSL_set_fd(c->ssl, c->fd);
    if (SSL_connect(c->ssl) != 1) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

static const unsigned char alpn_h2_h1[] = "\x02h2\x08http/1.1";

static void tc_open(struct tc *c, int port)
{
    assert_int_equal(tc_open_alpn(c, port, (const unsigned char *)"\x08http/1.1", 9), 0);
}

static void tc_close(struct tc *c)
{
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
    }
    if (c->fd >= 0) {
        close(c->fd);
    }
    c->ssl = NULL;
    c->fd = -1;
}

static void tc_send(struct tc *c, const void *data, size_t len)
{
    assert_int_equal(SSL_write(c->ssl, data, (int)len), (int)len);
}

static void tc_sends(struct tc *c, const char *s)
{
    tc_send(c, s, strlen(s));
}

/* Reads more; returns 0, or -1 when the peer closed or the read timed out. */
static int tc_fill(struct tc *c)
{
    int n;

    if (c->closed || c->len >= sizeof(c->buf) - 1) {
        return -1;
    }
    n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - 1 - c->len));
    if (n <= 0) {
        ERR_clear_error();
        c->closed = 1;
        return -1;
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    return 0;
}

struct resp {
    int status;
    char head[8192];
    char body[16384];
    size_t body_len;
};

/* Reads one response. Returns its status, or -1 if none came whole. */
static int tc_response(struct tc *c, struct resp *r)
{
    char *end;
    const char *cl;
    size_t hlen, blen;

    memset(r, 0, sizeof(*r));
    while ((end = strstr(c->buf, "\r\n\r\n")) == NULL) {
        if (tc_fill(c) < 0) {
            return -1;
        }
    }
    hlen = (size_t)(end - c->buf) + 4;
    assert_true(hlen < sizeof(r->head));
    memcpy(r->head, c->buf, hlen);
    cl = strstr(r->head, "\r\nContent-Length: ");
    assert_non_null(cl);
    blen = strtoul(cl + 18, NULL, 10);
    assert_true(blen < sizeof(r->body));
    while (c->len < hlen + blen) {
        if (tc_fill(c) < 0) {
            return -1;
        }
    }
    memcpy(r->body, c->buf + hlen, blen);
    r->body_len = blen;
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    c->buf[c->len] = '\0';
    {
        char *after = NULL;
        long status;

        assert_int_equal(strncmp(r->head, "HTTP/1.1 ", 9), 0);
        status = strtol(r->head + 9, &after, 10);
        assert_true(after == r->head + 12 && *after == ' ');
        r->status = (int)status;
    }
    return r->status;
}

/* True once the server closed the connection (within the read timeout). */
static int tc_wait_closed(struct tc *c)
{
    while (tc_fill(c) == 0) {
    }
    return c->closed;
}

static void assert_security_headers(const struct resp *r)
{
    assert_non_null(strstr(r->head, "\r\nContent-Security-Policy: default-src 'none'; "
                                    "style-src 'self'; img-src 'self' data:; form-action "
                                    "'self'; frame-ancestors 'none'; base-uri 'none'\r\n"));
    assert_non_null(strstr(r->head, "\r\nStrict-Transport-Security: max-age="));
    assert_non_null(strstr(r->head, "\r\nX-Content-Type-Options: nosniff\r\n"));
    assert_non_null(strstr(r->head, "\r\nX-Frame-Options: DENY\r\n"));
    assert_non_null(strstr(r->head, "\r\nReferrer-Policy: same-origin\r\n"));
    assert_non_null(strstr(r->head, "\r\nCache-Control: no-store\r\n"));
    assert_non_null(strstr(r->head, "\r\nDate: "));
}

/* One request on a fresh connection; the response in r. */
static int one(struct srv *s, const char *req, struct resp *r)
{
    struct tc c;
    int st;

    tc_open(&c, s->port);
    tc_sends(&c, req);
    st = tc_response(&c, r);
    tc_close(&c);
    return st;
}

/* Sends req (len bytes) on a fresh connection; expects status and a close. */
static void refused(struct srv *s, const void *req, size_t len, int status)
{
    struct tc c;
    struct resp r;

    tc_open(&c, s->port);
    tc_send(&c, req, len);
    assert_int_equal(tc_response(&c, &r), status);
    assert_security_headers(&r);
    assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
    assert_true(tc_wait_closed(&c));
    tc_close(&c);
}

static void refused_s(struct srv *s, const char *req, int status)
{
    refused(s, req, strlen(req), status);
}

/* ---- Tests ---- */

static void test_basic(void **state)
{
    struct srv *s = srv_start(5000, 100);
    struct resp r;
    struct tc c;
    char expect[200];

    (void)state;
    assert_int_equal(one(s,
                         "GET /echo/a%20b%2Fc?x=1&name=J%C3%B6+R HTTP/1.1\r\nHost: h\r\n"
                         "Cookie: a=1; sid=s3cr%21t; b=2\r\n\r\n",
                         &r),
                     200);
    assert_security_headers(&r);
    assert_non_null(strstr(r.head, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    snprintf(expect, sizeof(expect), "\r\nContent-Length: %zu\r\n", r.body_len);
    assert_non_null(strstr(r.head, expect));
    assert_string_equal(r.body, "method=GET\npath=/echo/a b/c\nquery=x=1&name=J%C3%B6+R\n"
                                "cookie=s3cr!t\nname=J\xc3\xb6 R\nbody=0\n");

    /* A form body. */
    assert_int_equal(one(s,
                         "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Type: "
                         "application/x-www-form-urlencoded\r\nContent-Length: 14\r\n\r\n"
                         "a=b&name=x%26y",
                         &r),
                     200);
    assert_non_null(strstr(r.body, "method=POST\n"));
    assert_non_null(strstr(r.body, "name=x&y\n"));
    assert_non_null(strstr(r.body, "body=14\n"));
    assert_non_null(strstr(r.body, "cookie=-\n"));

    /* ALPN: a client offering h2 and http/1.1 gets http/1.1. */
    assert_int_equal(tc_open_alpn(&c, s->port, alpn_h2_h1, sizeof(alpn_h2_h1) - 1), 0);
    {
        const unsigned char *sel = NULL;
        unsigned sellen = 0;
        SSL_get0_alpn_selected(c.ssl, &sel, &sellen);
        assert_int_equal(sellen, 8);
        assert_memory_equal(sel, "http/1.1", 8);
    }
    tc_sends(&c, "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    tc_close(&c);
    /* Offering only h2 fails the handshake. */
    assert_int_equal(tc_open_alpn(&c, s->port, (const unsigned char *)"\x02h2", 3), -1);
    tc_close(&c);
    /* Offering no ALPN at all is HTTP/1.1 (RFC 7301; curl --no-alpn, Python's
     * http.client): the handshake completes and the request is answered. */
    assert_int_equal(tc_open_alpn(&c, s->port, NULL, 0), 0);
    {
        const unsigned char *sel = NULL;
        unsigned sellen = 0;
        SSL_get0_alpn_selected(c.ssl, &sel, &sellen);
        assert_int_equal(sellen, 0);
    }
    tc_sends(&c, "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    tc_close(&c);
    srv_stop(s);
}

static void test_keep_alive(void **state)
{
    struct srv *s = srv_start(5000, 100);
    struct resp r;
    struct tc c;

    (void)state;
    tc_open(&c, s->port);
    tc_sends(&c, "GET /echo/1 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    assert_non_null(strstr(r.body, "path=/echo/1\n"));
    assert_null(strstr(r.head, "Connection: close"));
    tc_sends(&c, "GET /echo/2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    assert_non_null(strstr(r.body, "path=/echo/2\n"));
    /* Pipelined: three requests in one write, one of them slow; answers
     * come in order. */
    tc_sends(&c, "GET /echo/3 HTTP/1.1\r\nHost: h\r\n\r\nGET /async HTTP/1.1\r\nHost: h\r\n\r\n"
                 "GET /echo/5 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    assert_non_null(strstr(r.body, "path=/echo/3\n"));
    assert_int_equal(tc_response(&c, &r), 200);
    assert_string_equal(r.body, "later\n");
    assert_security_headers(&r);
    assert_int_equal(tc_response(&c, &r), 200);
    assert_non_null(strstr(r.body, "path=/echo/5\n"));
    /* Connection: close is honoured. */
    tc_sends(&c, "GET /echo/6 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    assert_non_null(strstr(r.head, "\r\nConnection: close\r\n"));
    assert_true(tc_wait_closed(&c));
    tc_close(&c);
    /* HTTP/1.0 closes by default. */
    tc_open(&c, s->port);
    tc_sends(&c, "GET /echo HTTP/1.0\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    assert_true(tc_wait_closed(&c));
    tc_close(&c);
    srv_stop(s);
}

static void test_statuses(void **state)
{
    struct srv *s = srv_start(5000, 100);
    struct resp r;
    struct tc c;

    (void)state;
    assert_int_equal(one(s, "GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n", &r), 404);
    assert_security_headers(&r);
    assert_int_equal(one(s, "GET /post-only HTTP/1.1\r\nHost: h\r\n\r\n", &r), 405);
    assert_security_headers(&r);
    assert_non_null(strstr(r.head, "\r\nAllow: POST\r\n"));
    /* Methods other than GET and POST never reach the handler, and the
     * connection stays usable. */
    int before = atomic_load(&s->calls);
    tc_open(&c, s->port);
    tc_sends(&c, "PUT /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    assert_int_equal(tc_response(&c, &r), 405);
    assert_security_headers(&r);
    assert_non_null(strstr(r.head, "\r\nAllow: GET, POST\r\n"));
    tc_sends(&c, "HEAD /echo HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 405);
    tc_sends(&c, "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    tc_close(&c);
    assert_int_equal(atomic_load(&s->calls), before + 1);
    /* Extra headers with CR/LF or a bad name are dropped, not sent. */
    assert_int_equal(one(s, "GET /bad-header HTTP/1.1\r\nHost: h\r\n\r\n", &r), 200);
    assert_non_null(strstr(r.head, "\r\nX-Good: yes\r\n"));
    assert_null(strstr(r.head, "X-Evil"));
    assert_null(strstr(r.head, "evil=1"));
    assert_null(strstr(r.head, "Bad Name"));
    srv_stop(s);
}

static void test_hostile(void **state)
{
    struct srv *s = srv_start(5000, 100);
    char *big = malloc(40000);
    struct resp r;
    int n;

    (void)state;
    assert_non_null(big);
    refused_s(s, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400);    /* bare CR */
    refused_s(s, "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 400); /* obs-fold */
    refused_s(s, "GET / HTTP/1.1\r\nHost: h\r\nX-A:\r\n\tb\r\n\r\n", 400);  /* obs-fold */
    refused_s(s, "GET / HTTP/1.1\r\nHost: h\nX-A: a\r\n\r\n", 400);         /* bare LF */
    refused_s(s, "GET / HTTP/1.1\r\nHost: h\r\nX A: a\r\n\r\n", 400);       /* bad name */
    refused_s(s, "GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", 400);            /* %00 */
    refused_s(s, "GET /a%G0 HTTP/1.1\r\nHost: h\r\n\r\n", 400);             /* bad escape */
    refused_s(s, "GET /a%2 HTTP/1.1\r\nHost: h\r\n\r\n", 400);              /* cut escape */
    refused_s(s, "GET /a%0Ab HTTP/1.1\r\nHost: h\r\n\r\n", 400);            /* control */
    refused_s(s, "GET http://h/echo HTTP/1.1\r\nHost: h\r\n\r\n", 400);     /* absolute */
    refused_s(s, "GET /echo HTTP/1.1\r\n\r\n", 400);                        /* no Host */
    refused_s(s, "GET /echo HTTP/9.1\r\nHost: h\r\n\r\n", 400);             /* version */
    refused_s(s, "\x16\x03\x01garbage\r\n\r\n", 400);                       /* not HTTP */
    refused_s(s, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n", 413);
    refused_s(s, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 16385\r\n\r\n", 413);
    refused_s(s,
              "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2"
              "\r\n\r\nab",
              400);
    refused_s(s, "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400);
    refused_s(s,
              "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
              "zz\r\nab\r\n0\r\n\r\n",
              400);
    refused_s(s,
              "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
              "Content-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
              400);
    /* A chunked body over the cap. */
    n = snprintf(big, 40000,
                 "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4000\r\n");
    memset(big + n, 'a', 0x4000);
    n += 0x4000;
    n += snprintf(big + n, 40000 - (size_t)n, "\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n");
    refused(s, big, (size_t)n, 413);
    /* URL too long. */
    n = snprintf(big, 40000, "GET /");
    memset(big + n, 'u', 3000);
    n += 3000;
    n += snprintf(big + n, 40000 - (size_t)n, " HTTP/1.1\r\nHost: h\r\n\r\n");
    refused(s, big, (size_t)n, 414);
    /* One header too large. */
    n = snprintf(big, 40000, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
    memset(big + n, 'v', 20000);
    n += 20000;
    n += snprintf(big + n, 40000 - (size_t)n, "\r\n\r\n");
    refused(s, big, (size_t)n, 431);
    /* Too many headers. */
    n = snprintf(big, 40000, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++) {
        n += snprintf(big + n, 40000 - (size_t)n, "X-%d: %d\r\n", i, i);
    }
    n += snprintf(big + n, 40000 - (size_t)n, "\r\n");
    refused(s, big, (size_t)n, 431);
    /* A chunked body within the cap is fine. */
    assert_int_equal(one(s,
                         "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3\r\nnam\r\n4\r\ne=zz\r\n0\r\n\r\n",
                         &r),
                     200);
    assert_non_null(strstr(r.body, "name=zz\n"));
    assert_non_null(strstr(r.body, "body=7\n"));
    /* The server still answers. */
    assert_int_equal(one(s, "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n", &r), 200);
    free(big);
    srv_stop(s);
}

static void test_tiny_records(void **state)
{
    struct srv *s = srv_start(5000, 100);
    const char *req = "POST /echo/tiny?q=1 HTTP/1.1\r\nHost: h\r\nCookie: sid=abc\r\n"
                      "Content-Length: 6\r\n\r\nname=z";
    struct resp r;
    struct tc c;

    (void)state;
    tc_open(&c, s->port);
    /* One TLS record per byte. */
    for (size_t i = 0; req[i] != '\0'; i++) {
        tc_send(&c, req + i, 1);
    }
    assert_int_equal(tc_response(&c, &r), 200);
    assert_string_equal(r.body, "method=POST\npath=/echo/tiny\nquery=q=1\ncookie=abc\nname=z\n"
                                "body=6\n");
    tc_close(&c);
    /* An obs-fold split over records is still refused. */
    for (int k = 0; k < 2; k++) {
        const char *fold = k == 0 ? "GET /echo HTTP/1.1\r\nHost: h\r\nX-A: a\r\n \t b\r\n\r\n"
                                  : "GET /echo HTTP/1.1\r\nHost: h\r\nX-A:\r\n b\r\n\r\n";
        tc_open(&c, s->port);
        for (size_t i = 0; fold[i] != '\0'; i++) {
            tc_send(&c, fold + i, 1);
        }
        assert_int_equal(tc_response(&c, &r), 400);
        assert_true(tc_wait_closed(&c));
        tc_close(&c);
    }
    srv_stop(s);
}

static void test_timeout(void **state)
{
    struct srv *s = srv_start(300, 100);
    struct timespec t0, t1;
    struct resp r;
    struct tc c, other;
    long ms;

    (void)state;
    /* c's clock starts at its handshake: it is opened last, so that the
     * other's handshake (slow under the sanitizers) is not counted. */
    tc_open(&other, s->port);
    tc_open(&c, s->port);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tc_sends(&c, "GET /echo HTTP/1.1\r\nHost: h\r\nX-Slow: ");
    /* Meanwhile, the other connection is served. */
    tc_sends(&other, "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&other, &r), 200);
    assert_int_equal(tc_response(&c, &r), 408);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 250 && ms < 3000);
    assert_security_headers(&r);
    assert_true(tc_wait_closed(&c));
    tc_close(&c);
    tc_close(&other);
    /* A connection that never sends a request is closed too. */
    tc_open(&c, s->port);
    assert_int_equal(tc_response(&c, &r), 408);
    assert_true(tc_wait_closed(&c));
    tc_close(&c);
    srv_stop(s);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* After an answer, a kept-alive connection has the request timeout (not
 * the transport's minutes-long idle timeout) to start its next request;
 * silent, it is closed without a 408. */
static void test_keep_alive_idle(void **state)
{
    struct srv *s = srv_start(500, 100);
    struct timespec t0;
    struct resp r;
    struct tc c;
    long ms;

    (void)state;
    tc_open(&c, s->port);
    tc_sends(&c, "GET /echo/1 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    assert_null(strstr(r.head, "Connection: close"));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* The client's read times out after 5 s: a close well before that is
     * the server's. */
    assert_true(tc_wait_closed(&c));
    ms = ms_since(&t0);
    assert_true(ms >= 400 && ms < 3000);
    assert_int_equal(c.len, 0); /* a plain close: no 408 answer */
    tc_close(&c);

    /* The clock starts again after each answer: three requests 300 ms
     * apart (900 ms in all) are served on one connection. */
    tc_open(&c, s->port);
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            testutil_sleep_ms(300);
        }
        tc_sends(&c, "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_int_equal(tc_response(&c, &r), 200);
    }
    /* A request begun during the wait gets the whole timeout from its
     * first byte: it starts 300 ms after the answer and ends 300 ms later. */
    testutil_sleep_ms(300);
    tc_sends(&c, "GET /echo/late HTTP/1.1\r\n");
    testutil_sleep_ms(300);
    tc_sends(&c, "Host: h\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    assert_non_null(strstr(r.body, "path=/echo/late\n"));
    /* But one begun and left unfinished still gets its 408. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tc_sends(&c, "GET /echo HTTP/1.1\r\nHost: h\r\n");
    assert_int_equal(tc_response(&c, &r), 408);
    ms = ms_since(&t0);
    assert_true(ms >= 400 && ms < 3000);
    assert_true(tc_wait_closed(&c));
    tc_close(&c);
    srv_stop(s);
}

static void test_close_while_pending(void **state)
{
    struct srv *s = srv_start(5000, 100);
    struct resp r;
    struct tc c;

    (void)state;
    tc_open(&c, s->port);
    tc_sends(&c, "GET /async HTTP/1.1\r\nHost: h\r\n\r\n");
    testutil_sleep_ms(50);
    tc_close(&c); /* the answer comes 300 ms later, into the void */
    testutil_sleep_ms(500);
    assert_int_equal(atomic_load(&s->async_done), 1);
    assert_int_equal(one(s, "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n", &r), 200);
    /* Stopping while an answer is pending: done waits for it. */
    tc_open(&c, s->port);
    tc_sends(&c, "GET /async HTTP/1.1\r\nHost: h\r\n\r\n");
    testutil_sleep_ms(50);
    srv_stop(s); /* returns once the pending answer came and was dropped */
    tc_close(&c);
}

static void test_max_connections(void **state)
{
    struct srv *s = srv_start(5000, 4);
    struct tc c[4], extra;
    struct resp r;

    (void)state;
    for (int i = 0; i < 4; i++) {
        tc_open(&c[i], s->port);
        tc_sends(&c[i], "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_int_equal(tc_response(&c[i], &r), 200);
    }
    /* The fifth is closed at once. */
    assert_int_equal(tc_open_alpn(&extra, s->port, (const unsigned char *)"\x08http/1.1", 9), -1);
    tc_close(&extra);
    /* The others keep working. */
    for (int i = 0; i < 4; i++) {
        tc_sends(&c[i], "GET /echo/again HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_int_equal(tc_response(&c[i], &r), 200);
        assert_non_null(strstr(r.body, "path=/echo/again\n"));
    }
    /* Once one goes, a new one is taken. */
    tc_sends(&c[0], "GET /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert_int_equal(tc_response(&c[0], &r), 200);
    assert_true(tc_wait_closed(&c[0]));
    tc_close(&c[0]);
    for (int tries = 0;; tries++) {
        if (tc_open_alpn(&extra, s->port, (const unsigned char *)"\x08http/1.1", 9) == 0) {
            break;
        }
        tc_close(&extra);
        assert_true(tries < 50);
        testutil_sleep_ms(20);
    }
    tc_sends(&extra, "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&extra, &r), 200);
    tc_close(&extra);
    for (int i = 1; i < 4; i++) {
        tc_close(&c[i]);
    }
    srv_stop(s);
}

/* RFC 9112's request line and Host, to the letter: one SP between the
 * parts, only HTTP/1.0 and HTTP/1.1, exactly one Host (llhttp alone
 * accepts double spaces and HTTP/2.0, and the handler took two Hosts). */
static void test_request_line_strict(void **state)
{
    static const char *const bad[] = {
        "GET /echo HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nhost: b\r\n\r\n",
        "GET /echo HTTP/1.0\r\nHost: a\r\nHOST: a\r\n\r\n",
        "GET /echo HTTP/2.0\r\nHost: h\r\n\r\n",
        "GET /echo HTTP/1.2\r\nHost: h\r\n\r\n",
        "GET /echo HTTP/0.9\r\nHost: h\r\n\r\n",
        "GET /echo HTTP/1.10\r\nHost: h\r\n\r\n",
        "GET /echo http/1.1\r\nHost: h\r\n\r\n",
        "GET  /echo HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /echo  HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /echo HTTP/1.1 \r\nHost: h\r\n\r\n",
        "GET\t/echo HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /echo\tHTTP/1.1\r\nHost: h\r\n\r\n",
        " GET /echo HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /echo\r\nHost: h\r\n\r\n",
    };
    struct srv *s = srv_start(5000, 100);
    struct resp r;
    struct tc c;
    int before;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        before = atomic_load(&s->calls);
        refused_s(s, bad[i], 400);
        if (atomic_load(&s->calls) != before) {
            fail_msg("the handler saw %s", bad[i]);
        }
    }
    /* Split into one TLS record per byte, a double space is still seen. */
    tc_open(&c, s->port);
    for (const char *p = "GET  /echo HTTP/1.1\r\nHost: h\r\n\r\n"; *p != '\0'; p++) {
        tc_send(&c, p, 1);
    }
    assert_int_equal(tc_response(&c, &r), 400);
    assert_true(tc_wait_closed(&c));
    tc_close(&c);
    /* The second of two pipelined requests is checked as well. */
    tc_open(&c, s->port);
    tc_sends(&c, "GET /echo/1 HTTP/1.1\r\nHost: h\r\n\r\nGET /echo HTTP/2.0\r\nHost: h\r\n\r\n");
    assert_int_equal(tc_response(&c, &r), 200);
    assert_int_equal(tc_response(&c, &r), 400);
    assert_true(tc_wait_closed(&c));
    tc_close(&c);
    /* What is right still works: 1.1 and 1.0, an empty line before the
     * request, and keep-alive after a checked line. */
    assert_int_equal(one(s, "GET /echo HTTP/1.1\r\nHost: h\r\n\r\n", &r), 200);
    assert_int_equal(one(s, "GET /echo HTTP/1.0\r\n\r\n", &r), 200);
    assert_int_equal(one(s, "\r\nGET /echo HTTP/1.1\r\nHost: h\r\n\r\n", &r), 200);
    tc_open(&c, s->port);
    for (int i = 0; i < 3; i++) {
        tc_sends(&c, "GET /echo?x=a%20b HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_int_equal(tc_response(&c, &r), 200);
    }
    tc_close(&c);
    srv_stop(s);
}

/* ---- Helpers without a server ---- */

static void test_form_and_url(void **state)
{
    char out[32];
    const char *f = "a=1&name=J%C3%B6+R&empty=&flag&bad=%zz&nul=%00&long=aaaaaaaaaaaaaaaaaaaaaaaa"
                    "aaaaaaaaaaaaaaaaaaa&cut=%4";

    (void)state;
    assert_int_equal(http_form_value(f, strlen(f), "a", out, sizeof(out)), 1);
    assert_string_equal(out, "1");
    assert_int_equal(http_form_value(f, strlen(f), "name", out, sizeof(out)), 5);
    assert_string_equal(out, "J\xc3\xb6 R");
    assert_int_equal(http_form_value(f, strlen(f), "empty", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(http_form_value(f, strlen(f), "flag", out, sizeof(out)), 0);
    assert_int_equal(http_form_value(f, strlen(f), "nam", out, sizeof(out)), -ENOENT);
    assert_int_equal(http_form_value(f, strlen(f), "missing", out, sizeof(out)), -ENOENT);
    assert_int_equal(http_form_value(f, strlen(f), "bad", out, sizeof(out)), -EINVAL);
    assert_int_equal(http_form_value(f, strlen(f), "nul", out, sizeof(out)), -EINVAL);
    assert_int_equal(http_form_value(f, strlen(f), "long", out, sizeof(out)), -EINVAL);
    assert_int_equal(http_form_value(f, strlen(f), "cut", out, sizeof(out)), -EINVAL);
    /* len bounds the search: "a=1" only. */
    assert_int_equal(http_form_value(f, 3, "name", out, sizeof(out)), -ENOENT);
    assert_int_equal(http_form_value(f, 2, "a", out, sizeof(out)), 0);

    assert_int_equal(http_url_encode("a b/c?d=é~", out, sizeof(out)), 23);
    assert_string_equal(out, "a%20b%2Fc%3Fd%3D%C3%A9~");
    assert_int_equal(http_url_encode("abc", out, 4), 3);
    assert_int_equal(http_url_encode("abcd", out, 4), -ENOBUFS);
    assert_int_equal(http_url_encode("a b", out, 5), -ENOBUFS);
}

/* The request line's own check holds however the bytes arrive: a line
 * ended by a bare LF is refused whole and byte by byte alike (llhttp alone
 * would finish such a request before the check saw its end), and a proper
 * one is taken both ways. */
static void count_request(const struct http_exchange *x, void *arg)
{
    (void)x;
    (*(unsigned *)arg)++;
}

static void test_request_line_any_chunking(void **state)
{
    static const char bare[] = "GET /apv HTTP/1.0\n\n";
    static const char good[] = "GET /apv HTTP/1.0\r\n\r\n";
    unsigned n = 0;

    (void)state;
    for (size_t chunk = 0; chunk <= 3; chunk++) {
        assert_int_equal(
            http_parse_stream((const uint8_t *)bare, sizeof(bare) - 1, chunk, count_request, &n),
            -400);
        assert_int_equal(
            http_parse_stream((const uint8_t *)good, sizeof(good) - 1, chunk, count_request, &n),
            1);
    }
    assert_int_equal(n, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_and_url),
        cmocka_unit_test(test_request_line_any_chunking),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_tiny_records),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_close_while_pending),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_keep_alive_idle),
        cmocka_unit_test(test_request_line_strict),
    };

    signal(SIGPIPE, SIG_IGN);
    testutil_watchdog(240);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
