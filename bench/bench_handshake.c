/*
 * bench_handshake: full mutual-TLS handshakes against a TLS server, and
 * idle connections held open, for bench/peers/tls.sh.
 *
 * Rate (the default): keeps C connections in flight on one thread (epoll,
 * non-blocking sockets) for a bounded number of seconds. Each connection
 * makes one full TLS 1.3 handshake with the client certificate (no session
 * is ever offered, so none resumes), waits until the server shows that it
 * finished its side (its first NewSessionTicket, which it sends only after
 * it has checked the client's certificate and Finished), sends
 * close_notify and closes; a new connection takes its place. It prints the
 * handshakes per second, their latency and the tool's own CPU, so the same
 * run against coachqd and against `openssl s_server` compares the servers,
 * not the client.
 *
 * Idle (--idle N): opens N connections (C at a time), each completing the
 * handshake and the protocol's Hello/Welcome (--hello, for coachqd, whose
 * first-frame deadline closes a connection that says nothing), prints
 * "open N" on stdout and holds them until SIGTERM or SIGINT or --hold
 * seconds pass. Exit 0 if all N opened and none was closed by the server.
 *
 * Sockets close with SO_LINGER 0 after close_notify, so that tens of
 * thousands of short connections leave no TIME_WAIT behind to exhaust the
 * loopback's ephemeral ports.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "coachq.pb-c.h"
#include "frame.h"

/* The longest a connection may take from connect to confirmed. */
#define HS_CONN_TIMEOUT_S 10.0
/* Latencies kept for the percentiles; past this the rest are not sampled. */
#define HS_MAX_SAMPLES (1u << 20)
#define HS_MAX_CONCURRENCY 4096u
#define HS_MAX_IDLE 100000u

enum hs_state {
    HS_FREE,       /* slot unused */
    HS_CONNECTING, /* TCP connect in progress */
    HS_HANDSHAKE,  /* SSL_do_handshake wants I/O */
    HS_CONFIRM,    /* handshake done; waiting for the server's ticket */
    HS_HELLO,      /* Hello sent; waiting for the Welcome */
    HS_IDLE,       /* held open */
};

struct hs_conn {
    enum hs_state state;
    int fd;
    SSL *ssl;
    int confirmed; /* the server's first NewSessionTicket arrived */
    double started;
    struct frame_reader reader;
    int reader_ready;
};

struct hs_bench {
    const char *host;
    const char *port;
    const char *ca_file;
    const char *cert_file;
    const char *key_file;
    const char *alpn;
    const char *label;
    unsigned concurrency;
    double seconds;
    unsigned idle;
    int hello;
    double hold;

    SSL_CTX *ctx;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int ep;
    int ssl_index;
    struct hs_conn *conns;
    size_t nconns;

    /* Results. */
    uint64_t done;
    uint64_t errors;
    uint64_t server_closed;
    char first_error[256];
    double *lat;
    size_t nlat;
};

static volatile sig_atomic_t hs_stop;

static void hs_on_signal(int sig)
{
    (void)sig;
    hs_stop = 1;
}

static double hs_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double hs_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Keeps the first failure's reason, with OpenSSL's queue drained into it. */
static void hs_fail(struct hs_bench *b, const char *what)
{
    unsigned long e = ERR_get_error();
    char ossl[200] = "";

    if (e != 0) {
        ERR_error_string_n(e, ossl, sizeof(ossl));
    }
    ERR_clear_error();
    b->errors++;
    if (b->first_error[0] == '\0') {
        snprintf(b->first_error, sizeof(b->first_error), "%s%s%s", what, ossl[0] ? ": " : "", ossl);
    }
}

/* The server's NewSessionTicket: proof that it finished the handshake.
 * Returns 0, so OpenSSL keeps no reference and no session is reused. */
static int hs_on_ticket(SSL *ssl, SSL_SESSION *sess)
{
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    struct hs_bench *b = SSL_CTX_get_app_data(ctx);
    struct hs_conn *c = SSL_get_ex_data(ssl, b->ssl_index);

    (void)sess;
    if (c != NULL) {
        c->confirmed = 1;
    }
    return 0;
}

static int hs_ctx_new(struct hs_bench *b)
{
    unsigned char wire[256];
    size_t alen = strlen(b->alpn);

    b->ctx = SSL_CTX_new(TLS_client_method());
    if (b->ctx == NULL) {
        return -ENOMEM;
    }
    SSL_CTX_set_app_data(b->ctx, b);
    /* TLS 1.3 only, as coachqd's clients speak it. */
    if (SSL_CTX_set_min_proto_version(b->ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(b->ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(b->ctx, b->cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(b->ctx, b->key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(b->ctx) != 1 ||
        SSL_CTX_load_verify_locations(b->ctx, b->ca_file, NULL) != 1) {
        return -EIO;
    }
    SSL_CTX_set_verify(b->ctx, SSL_VERIFY_PEER, NULL);
    /* Tickets are seen (the callback) but never stored or offered: every
     * handshake is a full one. */
    SSL_CTX_set_session_cache_mode(b->ctx,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(b->ctx, hs_on_ticket);
    if (alen == 0 || alen > 255) {
        return -EINVAL;
    }
    wire[0] = (unsigned char)alen;
    memcpy(wire + 1, b->alpn, alen);
    if (SSL_CTX_set_alpn_protos(b->ctx, wire, (unsigned int)alen + 1) != 0) {
        return -EIO;
    }
    b->ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return b->ssl_index < 0 ? -EIO : 0;
}

static int hs_resolve(struct hs_bench *b)
{
    struct addrinfo hints, *res = NULL;
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(b->host, b->port, &hints, &res);
    if (rc != 0 || res == NULL) {
        fprintf(stderr, "bench_handshake: cannot resolve %s:%s: %s\n", b->host, b->port,
                gai_strerror(rc));
        return -EINVAL;
    }
    memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
    b->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Ends a connection: close_notify when it got that far, then a reset. */
static void hs_conn_close(struct hs_bench *b, struct hs_conn *c, int polite)
{
    struct linger lg = {1, 0};

    if (c->ssl != NULL) {
        if (polite) {
            (void)SSL_shutdown(c->ssl);
        }
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    ERR_clear_error();
    if (c->fd >= 0) {
        epoll_ctl(b->ep, EPOLL_CTL_DEL, c->fd, NULL);
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(c->fd);
        c->fd = -1;
    }
    if (c->reader_ready) {
        frame_reader_free(&c->reader);
        c->reader_ready = 0;
    }
    c->state = HS_FREE;
}

static int hs_watch(struct hs_bench *b, struct hs_conn *c, uint32_t events, int op)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = c;
    return epoll_ctl(b->ep, op, c->fd, &ev) == 0 ? 0 : -errno;
}

static int hs_conn_start(struct hs_bench *b, struct hs_conn *c)
{
    int one = 1;

    memset(c, 0, sizeof(*c));
    c->fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        hs_fail(b, strerror(errno));
        c->state = HS_FREE;
        return -errno;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->started = hs_now();
    c->state = HS_CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&b->addr, b->addrlen) != 0 && errno != EINPROGRESS) {
        hs_fail(b, strerror(errno));
        hs_conn_close(b, c, 0);
        return -1;
    }
    if (hs_watch(b, c, EPOLLOUT, EPOLL_CTL_ADD) < 0) {
        hs_fail(b, "epoll_ctl");
        hs_conn_close(b, c, 0);
        return -1;
    }
    return 0;
}

/* Sends the protocol's Hello in one frame. */
static int hs_send_hello(struct hs_bench *b, struct hs_conn *c)
{
    Coachq__V1__Hello hello = COACHQ__V1__HELLO__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    uint8_t out[256];
    size_t n;

    hello.protocol_version = 1;
    hello.client_version = "bench_handshake";
    f.request_id = 1;
    f.body_case = COACHQ__V1__FRAME__BODY_HELLO;
    f.hello = &hello;
    n = coachq__v1__frame__get_packed_size(&f);
    if (n + FRAME_HEADER_LEN > sizeof(out)) {
        return -EMSGSIZE;
    }
    frame_put_header(out, (uint32_t)n);
    coachq__v1__frame__pack(&f, out + FRAME_HEADER_LEN);
    /* A fresh connection's send buffer takes these few bytes whole. */
    if (SSL_write(c->ssl, out, (int)(n + FRAME_HEADER_LEN)) != (int)(n + FRAME_HEADER_LEN)) {
        hs_fail(b, "sending Hello");
        return -EIO;
    }
    frame_reader_init(&c->reader, FRAME_DEFAULT_MAX);
    c->reader_ready = 1;
    return 0;
}

/* Reads what there is. Returns 1 when the step the state waits for is
 * done, 0 to wait for more, -1 when the connection failed or closed. */
static int hs_read(struct hs_bench *b, struct hs_conn *c)
{
    uint8_t buf[16384];

    for (;;) {
        int n = SSL_read(c->ssl, buf, sizeof(buf));

        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);

            if (e == SSL_ERROR_WANT_READ) {
                break;
            }
            if (c->state == HS_IDLE) {
                b->server_closed++;
                ERR_clear_error();
                return -1;
            }
            hs_fail(b, e == SSL_ERROR_ZERO_RETURN ? "the server closed the connection"
                                                  : "reading after the handshake");
            return -1;
        }
        if (c->state == HS_HELLO) {
            const uint8_t *body;
            size_t len;
            Coachq__V1__Frame *f;
            int got;

            if (frame_reader_feed(&c->reader, buf, (size_t)n) != 0 ||
                (got = frame_reader_next(&c->reader, &body, &len)) < 0) {
                hs_fail(b, "a bad frame from the server");
                return -1;
            }
            if (got == 1) {
                f = coachq__v1__frame__unpack(NULL, len, body);
                got = f != NULL && f->body_case == COACHQ__V1__FRAME__BODY_WELCOME;
                coachq__v1__frame__free_unpacked(f, NULL);
                if (!got) {
                    hs_fail(b, "the server answered Hello with no Welcome");
                    return -1;
                }
                return 1;
            }
        }
    }
    return c->state == HS_CONFIRM && c->confirmed ? 1 : 0;
}

static void hs_sample(struct hs_bench *b, double latency)
{
    if (b->lat != NULL && b->nlat < HS_MAX_SAMPLES) {
        b->lat[b->nlat++] = latency;
    }
}

/* Moves a connection on after an event. Returns 1 when a rate-mode
 * connection finished its handshake, 0 otherwise. */
static int hs_step(struct hs_bench *b, struct hs_conn *c)
{
    int rc, err;
    socklen_t len = sizeof(err);

    if (c->state == HS_CONNECTING) {
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            hs_fail(b, strerror(err != 0 ? err : errno));
            hs_conn_close(b, c, 0);
            return 0;
        }
        c->ssl = SSL_new(b->ctx);
        if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
            SSL_set_ex_data(c->ssl, b->ssl_index, c) != 1 || SSL_set1_host(c->ssl, b->host) != 1) {
            hs_fail(b, "SSL_new");
            hs_conn_close(b, c, 0);
            return 0;
        }
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), b->host) == 1) {
            X509_VERIFY_PARAM_set1_host(SSL_get0_param(c->ssl), NULL, 0);
        }
        ERR_clear_error();
        SSL_set_connect_state(c->ssl);
        c->state = HS_HANDSHAKE;
    }
    if (c->state == HS_HANDSHAKE) {
        rc = SSL_do_handshake(c->ssl);
        if (rc != 1) {
            err = SSL_get_error(c->ssl, rc);
            if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
                hs_watch(b, c, err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT, EPOLL_CTL_MOD);
                return 0;
            }
            hs_fail(b, "handshake");
            hs_conn_close(b, c, 0);
            return 0;
        }
        hs_watch(b, c, EPOLLIN, EPOLL_CTL_MOD);
        if (b->hello) {
            if (hs_send_hello(b, c) != 0) {
                hs_conn_close(b, c, 0);
                return 0;
            }
            c->state = HS_HELLO;
        } else if (b->idle > 0) {
            c->state = HS_IDLE;
            return 1;
        } else {
            c->state = HS_CONFIRM;
        }
    }
    rc = hs_read(b, c);
    if (rc < 0) {
        hs_conn_close(b, c, 0);
        return 0;
    }
    if (rc == 0) {
        return 0;
    }
    if (b->idle > 0) {
        c->state = HS_IDLE;
        return 1;
    }
    hs_sample(b, hs_now() - c->started);
    hs_conn_close(b, c, 1);
    return 1;
}

/* Closes connections that took too long, so that one lost handshake never
 * stalls a slot. Returns how many were closed. */
static unsigned hs_expire(struct hs_bench *b, double now)
{
    unsigned n = 0;

    for (size_t i = 0; i < b->nconns; i++) {
        struct hs_conn *c = &b->conns[i];

        if (c->state != HS_FREE && c->state != HS_IDLE && now - c->started > HS_CONN_TIMEOUT_S) {
            hs_fail(b, "a connection timed out before the server confirmed its handshake");
            hs_conn_close(b, c, 0);
            n++;
        }
    }
    return n;
}

static int hs_cmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, d = *(const double *)pb;

    return a < d ? -1 : a > d;
}

static double hs_pct(const double *v, size_t n, double p)
{
    size_t i;

    if (n == 0) {
        return 0;
    }
    i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static int hs_run_rate(struct hs_bench *b)
{
    struct epoll_event evs[256];
    double t0, t_end, cpu0, elapsed, cpu;

    b->lat = calloc(HS_MAX_SAMPLES, sizeof(*b->lat));
    if (b->lat == NULL) {
        return -ENOMEM;
    }
    cpu0 = hs_cpu_s();
    t0 = hs_now();
    t_end = t0 + b->seconds;
    for (size_t i = 0; i < b->nconns; i++) {
        hs_conn_start(b, &b->conns[i]);
    }
    while (!hs_stop) {
        double now = hs_now();
        int n;

        if (now >= t_end) {
            break;
        }
        n = epoll_wait(b->ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            struct hs_conn *c = evs[i].data.ptr;

            if (hs_step(b, c) == 1) {
                b->done++;
            }
        }
        now = hs_now();
        hs_expire(b, now);
        /* Every free slot starts again while time is left. */
        for (size_t i = 0; i < b->nconns && now < t_end; i++) {
            if (b->conns[i].state == HS_FREE) {
                hs_conn_start(b, &b->conns[i]);
            }
        }
        if (b->errors > 0 && b->done == 0 && b->errors >= 10u * b->nconns) {
            break; /* nothing works: stop rather than spin */
        }
    }
    elapsed = hs_now() - t0;
    cpu = hs_cpu_s() - cpu0;
    for (size_t i = 0; i < b->nconns; i++) {
        if (b->conns[i].state != HS_FREE) {
            hs_conn_close(b, &b->conns[i], 0);
        }
    }
    qsort(b->lat, b->nlat, sizeof(*b->lat), hs_cmp);
    printf("handshakes %-10s %u connections, %.1f s: %llu full mTLS handshakes, %.0f/s; "
           "latency p50 %.2f ms p99 %.2f ms; errors %llu; client CPU %.0f%% of a core\n",
           b->label, b->concurrency, elapsed, (unsigned long long)b->done,
           (double)b->done / elapsed, hs_pct(b->lat, b->nlat, 0.50) * 1e3,
           hs_pct(b->lat, b->nlat, 0.99) * 1e3, (unsigned long long)b->errors,
           100.0 * cpu / elapsed);
    if (b->errors > 0) {
        fprintf(stderr, "bench_handshake: %s: first error: %s\n", b->label, b->first_error);
    }
    return b->done > 0 && b->errors * 100 <= b->done ? 0 : -EIO;
}

static int hs_run_idle(struct hs_bench *b)
{
    struct epoll_event evs[256];
    unsigned opened = 0, started = 0, active = 0;
    double t_end = 0;

    while (!hs_stop) {
        double now = hs_now();
        int n;

        for (size_t i = 0; i < b->nconns && started < b->idle && active < b->concurrency; i++) {
            if (b->conns[i].state == HS_FREE) {
                started++;
                if (hs_conn_start(b, &b->conns[i]) == 0) {
                    active++;
                }
            }
        }
        if (opened == b->idle && t_end == 0) {
            printf("open %u\n", opened);
            fflush(stdout);
            t_end = b->hold > 0 ? now + b->hold : -1;
        }
        if (t_end > 0 && now >= t_end) {
            break;
        }
        if (opened < b->idle && started == b->idle && active == 0) {
            break; /* every attempt ended; some failed */
        }
        n = epoll_wait(b->ep, evs, 256, 100);
        for (int i = 0; i < n; i++) {
            struct hs_conn *c = evs[i].data.ptr;
            enum hs_state before = c->state;

            if (hs_step(b, c) == 1 && before != HS_IDLE) {
                opened++;
                active--;
            } else if (c->state == HS_FREE) {
                active -= before != HS_IDLE;
            }
        }
        active -= hs_expire(b, hs_now());
    }
    for (size_t i = 0; i < b->nconns; i++) {
        if (b->conns[i].state != HS_FREE) {
            hs_conn_close(b, &b->conns[i], 1);
        }
    }
    if (opened < b->idle) {
        fprintf(stderr, "bench_handshake: opened %u of %u connections; first error: %s\n", opened,
                b->idle, b->first_error[0] ? b->first_error : "(none)");
        return -EIO;
    }
    if (b->server_closed > 0) {
        fprintf(stderr, "bench_handshake: the server closed %llu of the %u idle connections\n",
                (unsigned long long)b->server_closed, b->idle);
        return -EIO;
    }
    return 0;
}

static void hs_usage(FILE *f)
{
    fprintf(f, "Usage: bench_handshake --port PORT --ca FILE --cert FILE --key FILE\n"
               "                       [--host 127.0.0.1] [--alpn coachq/1] [--label NAME]\n"
               "                       [--connections 16] [--seconds 5]\n"
               "       bench_handshake --idle N [--hello] [--hold SECONDS] (same TLS options)\n"
               "Full TLS 1.3 handshakes with a client certificate, no session resumption:\n"
               "C connections in flight on one thread, each a handshake (confirmed by the\n"
               "server's session ticket) and a close, for --seconds; prints handshakes/s.\n"
               "--idle opens N connections (--connections at a time), with --hello the\n"
               "protocol's Hello/Welcome too, prints \"open N\" and holds them until SIGTERM\n"
               "or --hold seconds (0 = until SIGTERM). Exit 0 ok, 1 failed, 2 usage.\n");
}

static int hs_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (s[0] == '\0' || s[0] == '-' || errno != 0 || end == s || *end != '\0' || v > max) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int hs_parse_seconds(const char *s, double *out)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (s[0] == '\0' || errno != 0 || end == s || *end != '\0' || !(v >= 0 && v <= 86400)) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},    {"port", required_argument, NULL, 'p'},
        {"ca", required_argument, NULL, 'a'},      {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},     {"alpn", required_argument, NULL, 'A'},
        {"label", required_argument, NULL, 'l'},   {"connections", required_argument, NULL, 'C'},
        {"seconds", required_argument, NULL, 's'}, {"idle", required_argument, NULL, 'i'},
        {"hello", no_argument, NULL, 'E'},         {"hold", required_argument, NULL, 'h'},
        {"help", no_argument, NULL, 'x'},          {NULL, 0, NULL, 0},
    };
    struct hs_bench b;
    struct sigaction sa;
    unsigned long v;
    int opt, rc = 1;

    memset(&b, 0, sizeof(b));
    b.host = "127.0.0.1";
    b.alpn = "coachq/1";
    b.label = "server";
    b.concurrency = 16;
    b.seconds = 5;
    b.ep = -1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            b.host = optarg;
            break;
        case 'p':
            b.port = optarg;
            break;
        case 'a':
            b.ca_file = optarg;
            break;
        case 'c':
            b.cert_file = optarg;
            break;
        case 'k':
            b.key_file = optarg;
            break;
        case 'A':
            b.alpn = optarg;
            break;
        case 'l':
            b.label = optarg;
            break;
        case 'C':
            if (hs_parse_uint(optarg, HS_MAX_CONCURRENCY, &v) != 0 || v == 0) {
                fprintf(stderr, "bench_handshake: --connections takes 1 to %u\n",
                        HS_MAX_CONCURRENCY);
                return 2;
            }
            b.concurrency = (unsigned)v;
            break;
        case 's':
            if (hs_parse_seconds(optarg, &b.seconds) != 0 || b.seconds <= 0) {
                fprintf(stderr, "bench_handshake: --seconds takes a number of seconds\n");
                return 2;
            }
            break;
        case 'i':
            if (hs_parse_uint(optarg, HS_MAX_IDLE, &v) != 0 || v == 0) {
                fprintf(stderr, "bench_handshake: --idle takes 1 to %u\n", HS_MAX_IDLE);
                return 2;
            }
            b.idle = (unsigned)v;
            break;
        case 'E':
            b.hello = 1;
            break;
        case 'h':
            if (hs_parse_seconds(optarg, &b.hold) != 0) {
                fprintf(stderr, "bench_handshake: --hold takes a number of seconds\n");
                return 2;
            }
            break;
        case 'x':
            hs_usage(stdout);
            return 0;
        default:
            hs_usage(stderr);
            return 2;
        }
    }
    if (optind != argc || b.port == NULL || b.ca_file == NULL || b.cert_file == NULL ||
        b.key_file == NULL) {
        hs_usage(stderr);
        return 2;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = hs_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (hs_ctx_new(&b) != 0) {
        hs_fail(&b, "TLS setup (--ca, --cert, --key)");
        fprintf(stderr, "bench_handshake: %s\n", b.first_error);
        goto out;
    }
    if (hs_resolve(&b) != 0) {
        goto out;
    }
    b.ep = epoll_create1(EPOLL_CLOEXEC);
    if (b.ep < 0) {
        perror("bench_handshake: epoll_create1");
        goto out;
    }
    b.nconns = b.idle > 0 ? b.idle : b.concurrency;
    b.conns = calloc(b.nconns, sizeof(*b.conns));
    if (b.conns == NULL) {
        fprintf(stderr, "bench_handshake: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < b.nconns; i++) {
        b.conns[i].fd = -1;
    }
    rc = (b.idle > 0 ? hs_run_idle(&b) : hs_run_rate(&b)) == 0 ? 0 : 1;
out:
    free(b.conns);
    free(b.lat);
    if (b.ep >= 0) {
        close(b.ep);
    }
    SSL_CTX_free(b.ctx);
    return rc;
}
