#include "tls_conn.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "buf.h"
#include "tls_ctx.h"

#define TLS_CONN_PLAIN_BUF (16 * 1024)
#define TLS_CONN_WRITE_HIGH (256 * 1024)
#define TLS_CONN_WRITE_LOW (64 * 1024)
#define TLS_CONN_WRITE_MAX (1024 * 1024)
/* How long a graceful close may take when no idle timeout is set. */
#define TLS_CONN_CLOSE_TIMEOUT_MS 30000

enum tls_conn_state {
    TLS_CONN_OPEN,    /* connecting, handshaking or established */
    TLS_CONN_CLOSING, /* flushing, then close_notify, FIN, waiting for the peer's FIN */
    TLS_CONN_CLOSED   /* handles are closing; on_close comes with the last one */
};

struct tls_conn {
    uv_loop_t *loop;       /* borrowed */
    uv_tcp_t tcp;          /* handle 1 */
    uv_timer_t hs_timer;   /* handle 2: handshake timeout */
    uv_timer_t idle_timer; /* handle 3: idle timeout, then close timeout */
    uv_idle_t resume;      /* handle 4: delivers held data after read_start */
    uv_timer_t deadline;   /* handle 5: the owner's fixed deadline (tls_conn_set_deadline) */
    uv_connect_t connect_req;
    uv_shutdown_t shutdown_req;
    int handles; /* initialised handles not yet closed */

    SSL *ssl;  /* owned */
    BIO *rbio; /* owned by ssl: ciphertext from the socket */
    BIO *wbio; /* owned by ssl: ciphertext for the socket */

    struct tls_conn_callbacks cbs;
    struct tls_conn_opts opts;
    void *arg;

    struct buf out; /* plaintext not yet given to SSL_write */

    enum tls_conn_state state;
    int is_client;
    int connected;     /* TCP is up */
    int hs_done;       /* on_handshake has been called (or is running) */
    int fatal;         /* SSL failed: never SSL_shutdown */
    int want_read;     /* the owner wants on_data (read_stop/start) */
    int sock_reading;  /* uv_read_start is in effect */
    int peer_eof;      /* the socket reached EOF */
    int shutdown_done; /* our FIN is out */
    int above_high;    /* pending reached write_high; on_drain is owed */
    int enobufs;       /* closed for exceeding write_max */
    int notify;        /* on_close is owed (0 if setup failed synchronously) */
    int in_drive;      /* conn_drive is on the stack */
    int corked;        /* tls_conn_write queues only, until tls_conn_uncork */
    int close_err;
    enum tls_conn_failure fail; /* what a fatal TLS error during the handshake was */
    uint64_t socket_writes;     /* uv_write calls, one per flush */

    char peer[64];
    struct sockaddr_storage peer_addr; /* AF_UNSPEC when unknown */
    char error[512];                   /* why a TLS failure happened, for the owner's log */

    uint8_t *own_rdbuf; /* owned; opts.read_buf when the owner lent none */
    uint8_t plain[TLS_CONN_PLAIN_BUF];
};

/* One uv_write of ciphertext; the bytes follow the struct. */
struct tls_conn_wreq {
    uv_write_t req;
    struct tls_conn *c;
    size_t len;
    uint8_t data[];
};

static void conn_drive(struct tls_conn *c);
static void conn_begin_close(struct tls_conn *c, int err);
static void conn_close_handles(struct tls_conn *c, int err);

static void conn_on_handle_close(uv_handle_t *h)
{
    struct tls_conn *c = h->data;

    c->handles--;
    if (c->handles > 0) {
        return;
    }
    if (c->notify && c->cbs.on_close != NULL) {
        c->cbs.on_close(c, c->close_err, c->arg);
    }
    SSL_free(c->ssl);
    buf_free(&c->out);
    free(c->own_rdbuf);
    free(c);
}

/* Closes every handle; on_close follows once the last one is closed. */
static void conn_close_handles(struct tls_conn *c, int err)
{
    if (c->state == TLS_CONN_CLOSED) {
        return;
    }
    if (c->state == TLS_CONN_OPEN) {
        c->close_err = err;
    }
    c->state = TLS_CONN_CLOSED;
    if (c->handles == 0) {
        /* Cannot happen after a successful setup; kept for safety. */
        return;
    }
    uv_close((uv_handle_t *)&c->tcp, conn_on_handle_close);
    uv_close((uv_handle_t *)&c->hs_timer, conn_on_handle_close);
    uv_close((uv_handle_t *)&c->idle_timer, conn_on_handle_close);
    uv_close((uv_handle_t *)&c->resume, conn_on_handle_close);
    uv_close((uv_handle_t *)&c->deadline, conn_on_handle_close);
}

/* Records OpenSSL's reason for a failure (draining the error queue). */
/* Names a handshake's fatal error from OpenSSL's first queued error and
 * the verification result. */
static enum tls_conn_failure conn_classify(unsigned long first, long vr)
{
    if (ERR_GET_LIB(first) == ERR_LIB_SSL &&
        ERR_GET_REASON(first) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        return TLS_CONN_FAIL_NO_CLIENT_CERT;
    }
    switch (vr) {
    case X509_V_OK:
        return TLS_CONN_FAIL_PROTOCOL;
    case X509_V_ERR_CERT_REVOKED:
        return TLS_CONN_FAIL_REVOKED;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
        return TLS_CONN_FAIL_UNKNOWN_CA;
    default:
        return TLS_CONN_FAIL_OTHER;
    }
}

static void conn_record_error(struct tls_conn *c)
{
    char reason[400];
    unsigned long first = ERR_peek_error();
    long vr;

    vr = SSL_get_verify_result(c->ssl);
    if (!c->hs_done) {
        c->fail = conn_classify(first, vr);
    }
    tls_ctx_errors(reason, sizeof(reason));
    if (vr != X509_V_OK) {
        snprintf(c->error, sizeof(c->error), "%s (verify: %s)", reason,
                 X509_verify_cert_error_string(vr));
    } else {
        snprintf(c->error, sizeof(c->error), "%s", reason);
    }
}

static uint64_t conn_idle_ms(const struct tls_conn *c)
{
    return c->opts.idle_timeout_ms;
}

/* How long a closing connection may wait for its peer. A fixed deadline,
 * never extended by the peer's bytes, so a peer cannot hold a closing
 * connection open; shorter for one that never finished its handshake. */
static uint64_t conn_close_ms(const struct tls_conn *c)
{
    uint64_t ms = TLS_CONN_CLOSE_TIMEOUT_MS;

    if (c->opts.idle_timeout_ms != 0 && c->opts.idle_timeout_ms < ms) {
        ms = c->opts.idle_timeout_ms;
    }
    if (!c->hs_done && c->opts.handshake_timeout_ms != 0 && c->opts.handshake_timeout_ms < ms) {
        ms = c->opts.handshake_timeout_ms;
    }
    return ms;
}

static void conn_on_idle_timer(uv_timer_t *t)
{
    struct tls_conn *c = t->data;

    if (c->state == TLS_CONN_CLOSING) {
        conn_close_handles(c, c->close_err);
        return;
    }
    conn_begin_close(c, -ETIMEDOUT);
}

/* Restarts the idle timer: called for every byte read or written. */
static void conn_touch(struct tls_conn *c)
{
    uint64_t ms = conn_idle_ms(c);

    if (c->state != TLS_CONN_OPEN || ms == 0) {
        return;
    }
    uv_timer_start(&c->idle_timer, conn_on_idle_timer, ms, 0);
}

static void conn_on_hs_timer(uv_timer_t *t)
{
    struct tls_conn *c = t->data;

    if (c->state == TLS_CONN_OPEN && !c->hs_done) {
        conn_close_handles(c, -ETIMEDOUT);
    }
}

static size_t conn_sock_pending(const struct tls_conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

size_t tls_conn_pending(const struct tls_conn *c)
{
    return c->out.len + BIO_ctrl_pending(c->wbio) + conn_sock_pending(c);
}

static void conn_on_write(uv_write_t *req, int status)
{
    struct tls_conn_wreq *w = (struct tls_conn_wreq *)req;
    struct tls_conn *c = w->c;

    free(w);
    if (status < 0) {
        if (status != UV_ECANCELED) {
            conn_close_handles(c, status);
        }
        return;
    }
    conn_touch(c);
    if (c->state == TLS_CONN_OPEN && c->above_high && tls_conn_pending(c) <= c->opts.write_low) {
        c->above_high = 0;
        if (c->cbs.on_drain != NULL) {
            c->cbs.on_drain(c, c->arg);
        }
    }
}

/* Moves everything SSL wrote into the write BIO to the socket. Called after
 * every SSL call. Returns 0 or a negative code (the connection is then
 * closed). */
static int conn_flush(struct tls_conn *c)
{
    size_t n;

    while ((n = BIO_ctrl_pending(c->wbio)) > 0) {
        struct tls_conn_wreq *w;
        uv_buf_t b;
        int r;

        if (c->state == TLS_CONN_CLOSED || !c->connected) {
            /* Nowhere to send it: drop it. */
            (void)BIO_reset(c->wbio);
            return c->state == TLS_CONN_CLOSED ? -EPIPE : 0;
        }
        w = malloc(sizeof(*w) + n);
        if (w == NULL) {
            conn_close_handles(c, -ENOMEM);
            return -ENOMEM;
        }
        r = BIO_read(c->wbio, w->data, (int)(n > INT32_MAX ? INT32_MAX : n));
        if (r <= 0) {
            free(w);
            break;
        }
        w->c = c;
        w->len = (size_t)r;
        c->socket_writes++;
        b = uv_buf_init((char *)w->data, (unsigned int)w->len);
        r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_on_write);
        if (r != 0) {
            free(w);
            conn_close_handles(c, r);
            return r;
        }
    }
    return 0;
}

/* An SSL call failed with a fatal error: send the alert OpenSSL queued,
 * then close without close_notify. */
static void conn_fatal(struct tls_conn *c)
{
    c->fatal = 1;
    conn_record_error(c);
    if (conn_flush(c) == 0) {
        conn_begin_close(c, -EPROTO);
    }
}

/* Handles the result r of an SSL call. Returns 1 to go on, 0 when it
 * wants more input, -1 when the connection is closing. */
static int conn_ssl_result(struct tls_conn *c, int r)
{
    int e = SSL_get_error(c->ssl, r);

    switch (e) {
    case SSL_ERROR_NONE:
        return 1;
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: /* memory BIOs always take writes */
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        /* The peer's close_notify: an orderly close. */
        conn_begin_close(c, 0);
        return -1;
    default:
        conn_fatal(c);
        return -1;
    }
}

/* Encrypts the queued plaintext. */
static void conn_encrypt(struct tls_conn *c)
{
    size_t off = 0;

    if (!c->hs_done || c->fatal || c->state == TLS_CONN_CLOSED) {
        return;
    }
    /* Every record of what is queued goes into the write BIO first and to
     * the socket in one write: a reply of several records sent as several
     * writes lets Nagle's algorithm hold the last one back until the peer's
     * delayed ACK (about 40 ms). */
    while (off < c->out.len) {
        size_t n = c->out.len - off;
        int r;

        if (n > TLS_CONN_PLAIN_BUF) {
            n = TLS_CONN_PLAIN_BUF;
        }
        ERR_clear_error();
        r = SSL_write(c->ssl, c->out.data + off, (int)n);
        if (r <= 0) {
            /* conn_fatal() flushes the alert with what came before it. */
            if (conn_flush(c) != 0 || conn_ssl_result(c, r) <= 0) {
                break;
            }
            continue;
        }
        off += (size_t)r;
    }
    if (c->state != TLS_CONN_CLOSED && conn_flush(c) != 0) {
        return;
    }
    if (c->state != TLS_CONN_CLOSED) {
        buf_consume(&c->out, off);
    }
}

static void conn_sock_read_stop(struct tls_conn *c)
{
    if (c->sock_reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->sock_reading = 0;
    }
}

static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct tls_conn *c = h->data;

    (void)suggested;
    *b = uv_buf_init((char *)c->opts.read_buf, (unsigned)c->opts.read_buf_len);
}

/* Closing: the peer's FIN completes the close once ours is out. */
static void conn_maybe_finish(struct tls_conn *c)
{
    if (c->state == TLS_CONN_CLOSING && c->shutdown_done && c->peer_eof) {
        conn_close_handles(c, c->close_err);
    }
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct tls_conn *c = s->data;

    (void)b;
    if (nread == 0 || c->state == TLS_CONN_CLOSED) {
        return;
    }
    if (nread < 0) {
        if (c->state == TLS_CONN_CLOSING) {
            c->peer_eof = 1;
            conn_sock_read_stop(c);
            if (nread != UV_EOF) {
                conn_close_handles(c, c->close_err);
                return;
            }
            conn_maybe_finish(c);
            return;
        }
        /* EOF without close_notify: the stream may have been truncated. */
        conn_close_handles(c, nread == UV_EOF ? -ECONNRESET : (int)nread);
        return;
    }
    conn_touch(c);
    if (c->state == TLS_CONN_CLOSING) {
        return; /* the owner asked to close: nothing more is delivered */
    }
    if (BIO_write(c->rbio, b->base, (int)nread) != (int)nread) {
        conn_close_handles(c, -ENOMEM);
        return;
    }
    conn_drive(c);
}

/* Runs the handshake, then reads and delivers while the owner wants data.
 * Ciphertext that is left stays in the read BIO. */
static void conn_drive(struct tls_conn *c)
{
    int r;

    if (c->in_drive) {
        return;
    }
    c->in_drive = 1;
    if (!c->hs_done && c->state == TLS_CONN_OPEN) {
        ERR_clear_error();
        r = SSL_do_handshake(c->ssl);
        if (conn_flush(c) != 0) {
            goto out;
        }
        if (r != 1) {
            if (conn_ssl_result(c, r) <= 0) {
                goto out;
            }
        }
        c->hs_done = 1;
        uv_timer_stop(&c->hs_timer);
        if (c->cbs.on_handshake != NULL) {
            r = c->cbs.on_handshake(c, c->arg);
            if (r < 0) {
                conn_begin_close(c, r);
                goto out;
            }
        }
        if (c->state != TLS_CONN_OPEN) {
            goto out;
        }
        conn_encrypt(c);
    }
    /* Also drains application data that came with the last handshake
     * flight, and post-handshake messages (tickets, key updates). */
    while (c->state == TLS_CONN_OPEN && c->hs_done && c->want_read) {
        if (BIO_ctrl_pending(c->rbio) == 0 && SSL_pending(c->ssl) == 0) {
            break;
        }
        ERR_clear_error();
        r = SSL_read(c->ssl, c->plain, sizeof(c->plain));
        if (conn_flush(c) != 0) {
            goto out;
        }
        if (r <= 0) {
            if (conn_ssl_result(c, r) <= 0) {
                goto out;
            }
            continue;
        }
        c->cbs.on_data(c, c->plain, (size_t)r, c->arg);
    }
out:
    c->in_drive = 0;
}

static void conn_on_resume(uv_idle_t *h)
{
    struct tls_conn *c = h->data;

    uv_idle_stop(&c->resume);
    if (c->state == TLS_CONN_OPEN && c->want_read) {
        conn_drive(c);
    }
}

static int conn_sock_read_start(struct tls_conn *c)
{
    int r;

    if (c->sock_reading || !c->connected || c->peer_eof) {
        return 0;
    }
    r = uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read);
    if (r == 0) {
        c->sock_reading = 1;
    }
    return r;
}

static void conn_on_shutdown(uv_shutdown_t *req, int status)
{
    struct tls_conn *c = req->data;

    if (c->state != TLS_CONN_CLOSING) {
        return;
    }
    if (status < 0) {
        conn_close_handles(c, c->close_err);
        return;
    }
    c->shutdown_done = 1;
    /* Wait for the peer's FIN rather than close with unread bytes, which
     * would reset the connection and could destroy what we just sent. */
    if (conn_sock_read_start(c) != 0) {
        conn_close_handles(c, c->close_err);
        return;
    }
    conn_maybe_finish(c);
}

/* Graceful close: flush, close_notify (if the session is sound), FIN. */
static void conn_begin_close(struct tls_conn *c, int err)
{
    int r;

    if (c->state != TLS_CONN_OPEN) {
        return;
    }
    c->close_err = err;
    if (!c->connected) {
        conn_close_handles(c, err);
        return;
    }
    if (c->hs_done && !c->fatal) {
        conn_encrypt(c);
        if (c->state != TLS_CONN_OPEN) {
            return;
        }
        ERR_clear_error();
        r = SSL_shutdown(c->ssl);
        if (r < 0) {
            ERR_clear_error();
        }
        if (conn_flush(c) != 0) {
            return;
        }
    }
    c->state = TLS_CONN_CLOSING;
    buf_free(&c->out);
    uv_timer_stop(&c->hs_timer);
    uv_idle_stop(&c->resume);
    uv_timer_start(&c->idle_timer, conn_on_idle_timer, conn_close_ms(c), 0);
    c->shutdown_req.data = c;
    r = uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, conn_on_shutdown);
    if (r != 0) {
        conn_close_handles(c, err);
    }
}

/* Everything both sides set up; on failure nothing is left allocated. */
static int conn_new(uv_loop_t *loop, SSL_CTX *ctx, const struct tls_conn_opts *opts,
                    const struct tls_conn_callbacks *cbs, void *arg, struct tls_conn **out)
{
    struct tls_conn *c = NULL;
    BIO *rbio = NULL;
    BIO *wbio = NULL;
    int rc = -EINVAL;

    if (loop == NULL || ctx == NULL || cbs == NULL || cbs->on_data == NULL ||
        cbs->on_close == NULL || out == NULL) {
        goto out;
    }
    rc = -ENOMEM;
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        goto out;
    }
    c->loop = loop;
    c->cbs = *cbs;
    c->arg = arg;
    if (opts != NULL) {
        c->opts = *opts;
    }
    if (c->opts.write_max == 0) {
        c->opts.write_max = TLS_CONN_WRITE_MAX;
    }
    if (c->opts.write_high == 0) {
        c->opts.write_high =
            TLS_CONN_WRITE_HIGH < c->opts.write_max ? TLS_CONN_WRITE_HIGH : c->opts.write_max;
    }
    if (c->opts.write_low == 0) {
        c->opts.write_low =
            TLS_CONN_WRITE_LOW < c->opts.write_high ? TLS_CONN_WRITE_LOW : c->opts.write_high;
    }
    if (c->opts.write_low > c->opts.write_high || c->opts.write_high > c->opts.write_max) {
        rc = -EINVAL;
        goto out;
    }
    if (c->opts.read_buf == NULL || c->opts.read_buf_len == 0) {
        /* Not zeroed: a read writes it before anything reads it, and pages
         * never written stay out of the process's memory. */
        c->own_rdbuf = malloc(TLS_CONN_READ_BUF);
        if (c->own_rdbuf == NULL) {
            goto out;
        }
        c->opts.read_buf = c->own_rdbuf;
        c->opts.read_buf_len = TLS_CONN_READ_BUF;
    } else if (c->opts.read_buf_len > UINT_MAX) {
        c->opts.read_buf_len = UINT_MAX;
    }
    buf_init(&c->out, c->opts.write_max);
    c->want_read = 1;
    c->ssl = SSL_new(ctx);
    rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || rbio == NULL || wbio == NULL) {
        ERR_clear_error();
        goto out;
    }
    SSL_set_bio(c->ssl, rbio, wbio); /* ssl takes ownership of both */
    c->rbio = rbio;
    c->wbio = wbio;
    rbio = NULL;
    wbio = NULL;
    rc = uv_tcp_init(loop, &c->tcp);
    if (rc != 0) {
        goto out;
    }
    /* From here on the memory is freed by the close callbacks. */
    uv_timer_init(loop, &c->hs_timer);
    uv_timer_init(loop, &c->idle_timer);
    uv_idle_init(loop, &c->resume);
    uv_timer_init(loop, &c->deadline);
    c->tcp.data = c;
    c->hs_timer.data = c;
    c->idle_timer.data = c;
    c->resume.data = c;
    c->deadline.data = c;
    c->handles = 5;
    *out = c;
    c = NULL;
    rc = 0;
out:
    BIO_free(rbio);
    BIO_free(wbio);
    if (c != NULL) {
        SSL_free(c->ssl);
        free(c->own_rdbuf);
        free(c);
    }
    return rc;
}

/* Setup failed after the handles exist: close them without on_close. */
static void conn_discard(struct tls_conn *c)
{
    c->notify = 0;
    conn_close_handles(c, 0);
}

static void conn_start_timers(struct tls_conn *c)
{
    if (c->opts.handshake_timeout_ms != 0) {
        uv_timer_start(&c->hs_timer, conn_on_hs_timer, c->opts.handshake_timeout_ms, 0);
    }
    conn_touch(c);
}

static void conn_format_peer(struct tls_conn *c, const struct sockaddr *sa)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        uv_ip4_name(in, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        uv_ip6_name(in6, ip, sizeof(ip));
        snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(c->peer, sizeof(c->peer), "?");
    }
}

int tls_conn_accept(uv_loop_t *loop, uv_stream_t *server, SSL_CTX *ctx,
                    const struct tls_conn_opts *opts, const struct tls_conn_callbacks *cbs,
                    void *arg, struct tls_conn **out)
{
    struct tls_conn *c = NULL;
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    int rc;

    if (server == NULL) {
        return -EINVAL;
    }
    rc = conn_new(loop, ctx, opts, cbs, arg, &c);
    if (rc != 0) {
        return rc;
    }
    rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rc != 0) {
        conn_discard(c);
        return rc;
    }
    c->connected = 1;
    /* Replies are written whole (see conn_encrypt()), so Nagle's algorithm
     * has nothing to merge and would only wait for the peer's delayed
     * ACK. A failure only costs latency. */
    (void)uv_tcp_nodelay(&c->tcp, 1);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sslen) == 0) {
        conn_format_peer(c, (const struct sockaddr *)&ss);
        memcpy(&c->peer_addr, &ss, sizeof(ss));
    } else {
        snprintf(c->peer, sizeof(c->peer), "?");
    }
    SSL_set_accept_state(c->ssl);
    rc = conn_sock_read_start(c);
    if (rc != 0) {
        conn_discard(c);
        return rc;
    }
    c->notify = 1;
    conn_start_timers(c);
    *out = c;
    return 0;
}

static void conn_on_connect(uv_connect_t *req, int status)
{
    struct tls_conn *c = req->data;
    int r;

    if (c->state == TLS_CONN_CLOSED) {
        return;
    }
    if (status < 0) {
        conn_close_handles(c, status);
        return;
    }
    c->connected = 1;
    (void)uv_tcp_nodelay(&c->tcp, 1); /* as in tls_conn_accept() */
    if (c->state == TLS_CONN_CLOSING) {
        return;
    }
    r = conn_sock_read_start(c);
    if (r != 0) {
        conn_close_handles(c, r);
        return;
    }
    conn_drive(c); /* sends the ClientHello */
}

/* Sets SNI and the name the server certificate must carry. */
static int conn_set_server_name(struct tls_conn *c, const char *name)
{
    unsigned char tmp[sizeof(struct in6_addr)];

    if (inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1) {
        /* No SNI for IP literals (RFC 6066). */
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name) != 1) {
            ERR_clear_error();
            return -EINVAL;
        }
        return 0;
    }
    if (SSL_set_tlsext_host_name(c->ssl, name) != 1 || SSL_set1_host(c->ssl, name) != 1) {
        ERR_clear_error();
        return -EINVAL;
    }
    return 0;
}

int tls_conn_connect(uv_loop_t *loop, const struct sockaddr *addr, const char *server_name,
                     SSL_CTX *ctx, const struct tls_conn_opts *opts,
                     const struct tls_conn_callbacks *cbs, void *arg, struct tls_conn **out)
{
    struct tls_conn *c = NULL;
    char ip[INET6_ADDRSTRLEN];
    int rc;

    if (addr == NULL || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)) {
        return -EINVAL;
    }
    rc = conn_new(loop, ctx, opts, cbs, arg, &c);
    if (rc != 0) {
        return rc;
    }
    c->is_client = 1;
    conn_format_peer(c, addr);
    memcpy(&c->peer_addr, addr,
           addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    if (server_name == NULL) {
        /* Without a name, the certificate must carry the address's IP. */
        if (addr->sa_family == AF_INET) {
            uv_ip4_name((const struct sockaddr_in *)addr, ip, sizeof(ip));
        } else {
            uv_ip6_name((const struct sockaddr_in6 *)addr, ip, sizeof(ip));
        }
        server_name = ip;
    }
    rc = conn_set_server_name(c, server_name);
    if (rc != 0) {
        conn_discard(c);
        return rc;
    }
    SSL_set_connect_state(c->ssl);
    c->connect_req.data = c;
    rc = uv_tcp_connect(&c->connect_req, &c->tcp, addr, conn_on_connect);
    if (rc != 0) {
        conn_discard(c);
        return rc;
    }
    c->notify = 1;
    conn_start_timers(c);
    *out = c;
    return 0;
}

int tls_conn_write(struct tls_conn *c, const void *data, size_t len)
{
    int rc;

    if (c->enobufs) {
        return -ENOBUFS;
    }
    if (c->state != TLS_CONN_OPEN) {
        return -EPIPE;
    }
    if (len == 0) {
        return 0;
    }
    if (len > c->opts.write_max || tls_conn_pending(c) > c->opts.write_max - len) {
        c->enobufs = 1;
        conn_close_handles(c, -ENOBUFS);
        return -ENOBUFS;
    }
    rc = buf_append(&c->out, data, len);
    if (rc != 0) {
        if (rc == -ENOBUFS) {
            c->enobufs = 1;
        }
        conn_close_handles(c, rc);
        return rc;
    }
    /* Inside conn_drive (e.g. from on_data) SSL_write is still safe: no SSL
     * call is in progress while a callback runs. */
    if (!c->corked) {
        conn_encrypt(c);
    }
    if (c->state == TLS_CONN_OPEN && tls_conn_pending(c) >= c->opts.write_high) {
        c->above_high = 1;
    }
    return 0;
}

void tls_conn_cork(struct tls_conn *c)
{
    c->corked = 1;
}

void tls_conn_uncork(struct tls_conn *c)
{
    if (!c->corked) {
        return;
    }
    c->corked = 0;
    if (c->state == TLS_CONN_OPEN && c->out.len > 0) {
        conn_encrypt(c);
    }
}

int tls_conn_want_drain(struct tls_conn *c)
{
    if (c->state != TLS_CONN_OPEN || tls_conn_pending(c) <= c->opts.write_low) {
        return 1;
    }
    /* Bytes above write_low are pending, so a socket write is in flight
     * and its completion (conn_on_write) checks the mark again. */
    c->above_high = 1;
    return 0;
}

void tls_conn_read_stop(struct tls_conn *c)
{
    c->want_read = 0;
    uv_idle_stop(&c->resume);
    if (c->state == TLS_CONN_OPEN) {
        conn_sock_read_stop(c);
    }
}

void tls_conn_read_start(struct tls_conn *c)
{
    if (c->want_read || c->state != TLS_CONN_OPEN) {
        c->want_read = 1;
        return;
    }
    c->want_read = 1;
    if (conn_sock_read_start(c) != 0) {
        conn_close_handles(c, -EIO);
        return;
    }
    /* Held data is delivered from the loop, never from inside this call. */
    if (BIO_ctrl_pending(c->rbio) > 0 || SSL_pending(c->ssl) > 0) {
        uv_idle_start(&c->resume, conn_on_resume);
    }
}

static void conn_on_deadline(uv_timer_t *t)
{
    struct tls_conn *c = t->data;

    conn_close_handles(c, -ETIMEDOUT);
}

void tls_conn_set_deadline(struct tls_conn *c, uint64_t ms)
{
    if (c->state == TLS_CONN_CLOSED) {
        return;
    }
    if (ms == 0) {
        uv_timer_stop(&c->deadline);
        return;
    }
    uv_timer_start(&c->deadline, conn_on_deadline, ms, 0);
}

void tls_conn_close(struct tls_conn *c, int err)
{
    conn_begin_close(c, err);
}

void tls_conn_abort(struct tls_conn *c, int err)
{
    conn_close_handles(c, err);
}

SSL *tls_conn_ssl(struct tls_conn *c)
{
    return c->ssl;
}

const char *tls_conn_peer(const struct tls_conn *c, char *buf, size_t buflen)
{
    if (buflen > 0) {
        snprintf(buf, buflen, "%s", c->peer);
    }
    return buf;
}

const char *tls_conn_error(const struct tls_conn *c)
{
    return c->error;
}

const struct sockaddr *tls_conn_peer_addr(const struct tls_conn *c)
{
    return c->peer_addr.ss_family == AF_UNSPEC ? NULL : (const struct sockaddr *)&c->peer_addr;
}

int tls_conn_fileno(const struct tls_conn *c, uv_os_fd_t *fd)
{
    return uv_fileno((const uv_handle_t *)&c->tcp, fd);
}

uint64_t tls_conn_socket_writes(const struct tls_conn *c)
{
    return c->socket_writes;
}

enum tls_conn_failure tls_conn_handshake_failure(const struct tls_conn *c, int err)
{
    if (c->hs_done) {
        return TLS_CONN_FAIL_NONE;
    }
    if (c->fail != TLS_CONN_FAIL_NONE) {
        return c->fail;
    }
    return err == -ETIMEDOUT ? TLS_CONN_FAIL_TIMEOUT : TLS_CONN_FAIL_OTHER;
}

const char *tls_conn_failure_name(enum tls_conn_failure f)
{
    static const char *const names[TLS_CONN_FAIL_COUNT] = {
        "none",    "no_client_certificate", "unknown_ca", "revoked_or_disabled",
        "timeout", "protocol_error",        "other",
    };

    return (unsigned)f < TLS_CONN_FAIL_COUNT ? names[f] : "other";
}

int tls_conn_handshake_done(const struct tls_conn *c)
{
    return c->hs_done;
}
