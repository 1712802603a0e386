/*
 * tls_conn: TLS over a libuv TCP stream, with OpenSSL on two memory BIOs.
 *
 * Every coachq protocol, on the server and in the client, sits on this
 * module. Ciphertext read from the socket goes into the read BIO; after
 * every SSL call the write BIO is flushed to the socket (handshakes, session
 * tickets, key updates and alerts are written by SSL_read too). Application
 * data that arrives with the last handshake flight is delivered. There is
 * no renegotiation, and SSL_shutdown is never called after a fatal error.
 *
 * Sockets have TCP_NODELAY set, and what one tls_conn_write() queues is
 * encrypted into as many TLS records as it needs and handed to the socket
 * in one write.
 *
 * Limits: a handshake timer, an idle timer (reset by every byte read or
 * written), and write water marks: tls_conn_write() always accepts data, but
 * once the bytes waiting for the socket pass write_high the owner should
 * stop producing (e.g. stop reading requests) until on_drain reports they
 * fell to write_low; past write_max the connection is closed with -ENOBUFS.
 *
 * All functions run on the loop thread of the loop the connection belongs to.
 * A tls_conn is heap-allocated by this module and freed after on_close.
 */
#ifndef COACHQ_TLS_CONN_H
#define COACHQ_TLS_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <uv.h>

struct tls_conn;

/* The handshake completed. Return 0 to go on, or a negative code to close
 * the connection with that reason (e.g. the peer's identity is refused). */
typedef int (*tls_conn_handshake_cb)(struct tls_conn *c, void *arg);
/* Decrypted application bytes; borrowed until the callback returns. */
typedef void (*tls_conn_data_cb)(struct tls_conn *c, const uint8_t *data, size_t len, void *arg);
/* Pending write bytes fell to write_low after having reached write_high. */
typedef void (*tls_conn_drain_cb)(struct tls_conn *c, void *arg);
/* The connection is closed and every handle released; err is 0 for an
 * orderly close (either side), or why it ended (-ETIMEDOUT, -ECONNRESET,
 * -EPROTO for a TLS failure, -ENOBUFS, a handshake_cb result ...). c is
 * freed when the callback returns. */
typedef void (*tls_conn_close_cb)(struct tls_conn *c, int err, void *arg);

struct tls_conn_callbacks {
    tls_conn_handshake_cb on_handshake; /* may be NULL */
    tls_conn_data_cb on_data;
    tls_conn_drain_cb on_drain; /* may be NULL */
    tls_conn_close_cb on_close;
};

struct tls_conn_opts {
    uint64_t handshake_timeout_ms; /* 0 = none */
    uint64_t idle_timeout_ms;      /* 0 = none */
    size_t write_high;             /* e.g. 256 KiB */
    size_t write_low;              /* e.g. 64 KiB */
    size_t write_max;              /* hard cap, e.g. 1 MiB; above it the connection closes */
    /* Scratch for socket reads: borrowed until every connection made with
     * these options has closed; NULL gives each connection its own of
     * TLS_CONN_READ_BUF bytes. A read's bytes are copied into OpenSSL's
     * read BIO before any callback runs, so the connections of one loop
     * may share one buffer (a listener's, connset.h); never share one
     * across threads. */
    uint8_t *read_buf;
    size_t read_buf_len;
};
/* The size of a connection's own read buffer, and a good size for a
 * shared one: what libuv suggests for a read. */
#define TLS_CONN_READ_BUF (64 * 1024)
/* A water mark of 0 takes the default (256 KiB, 64 KiB, 1 MiB, each capped
 * by the next); write_low <= write_high <= write_max or setup fails with
 * -EINVAL. opts may be NULL for all defaults and no timeouts. A graceful
 * close is bounded by idle_timeout_ms (30 s when that is 0); when it runs
 * out the socket is closed and on_close still reports the close's err. */

/*
 * Accepts a pending connection from server (a listening uv_tcp_t) and starts
 * the server side of the handshake. ctx is borrowed until on_close; cbs is
 * copied; arg is passed to every callback. On success *out is the new
 * connection. Returns 0 or a negative libuv/errno code; on failure *out is
 * not set and on_close is never called.
 */
int tls_conn_accept(uv_loop_t *loop, uv_stream_t *server, SSL_CTX *ctx,
                    const struct tls_conn_opts *opts, const struct tls_conn_callbacks *cbs,
                    void *arg, struct tls_conn **out);

/*
 * Connects to addr and starts the client side of the handshake, sending
 * server_name (borrowed for the call; may be NULL) as SNI and checking the
 * server certificate against it (an IP literal is checked as an IP, and
 * sent without SNI). A NULL server_name checks addr's IP. Other arguments
 * as for tls_conn_accept(). A connect failure is reported through on_close
 * with its error. The SSL object exists when this returns, so a caller may
 * SSL_set_session(tls_conn_ssl(c), ...) before the handshake starts.
 */
int tls_conn_connect(uv_loop_t *loop, const struct sockaddr *addr, const char *server_name,
                     SSL_CTX *ctx, const struct tls_conn_opts *opts,
                     const struct tls_conn_callbacks *cbs, void *arg, struct tls_conn **out);

/*
 * Queues len bytes of application data (copied). Before the handshake
 * completes, data is held and sent after it. Returns 0, -ENOBUFS if the
 * connection has been closed for exceeding write_max, or -EPIPE once closing.
 */
int tls_conn_write(struct tls_conn *c, const void *data, size_t len);

/* Bytes accepted by tls_conn_write() and not yet handed to the kernel. */
size_t tls_conn_pending(const struct tls_conn *c);

/* Asks for on_drain once the pending bytes fall to write_low, even if they
 * never reached write_high (a producer that writes a page at a time, e.g.
 * the change feed). Returns 1 when they are at or below write_low already
 * (no on_drain will come for this call), 0 when on_drain is owed. */
int tls_conn_want_drain(struct tls_conn *c);

/* Stops and resumes delivery of on_data (and reading from the socket).
 * While stopped, nothing already decrypted is lost: it is delivered after
 * tls_conn_read_start(). */
void tls_conn_read_stop(struct tls_conn *c);
void tls_conn_read_start(struct tls_conn *c);

/*
 * Closes gracefully: pending data is flushed, a close_notify sent (unless
 * the session had a fatal error) and then the socket closed. err is what
 * on_close reports. Idempotent.
 */
void tls_conn_close(struct tls_conn *c, int err);

/*
 * Sets a fixed deadline: ms milliseconds from now the connection is closed
 * at once (as tls_conn_abort()) with -ETIMEDOUT, whatever the peer sends
 * meanwhile, unless this is called again first; ms 0 cancels it. For a
 * peer that must reach a point in time (e.g. a whole first request) and
 * must not hold the connection by trickling bytes.
 */
void tls_conn_set_deadline(struct tls_conn *c, uint64_t ms);

/* Closes at once, dropping pending data (no close_notify). Idempotent. */
void tls_conn_abort(struct tls_conn *c, int err);

/* The SSL object; borrowed until on_close. For peer certificate checks. */
SSL *tls_conn_ssl(struct tls_conn *c);

/* The peer's address; borrowed until on_close. NULL if it is unknown. */
const struct sockaddr *tls_conn_peer_addr(const struct tls_conn *c);

/* The socket's descriptor into *fd, for socket options (and tests that
 * check them). Returns 0 or a negative libuv code (UV_EBADF once closed). */
int tls_conn_fileno(const struct tls_conn *c, uv_os_fd_t *fd);

/* Holds what tls_conn_write() queues, unencrypted, until tls_conn_uncork():
 * the writes between the two go to SSL_write together and to the socket in
 * one write, as one reply would (a server answering several requests of
 * one connection at once, e.g. the acks of one commit). What is held counts
 * in tls_conn_pending() and against write_max as any queued reply does, and
 * a close (tls_conn_close()) sends it first. Loop thread. */
void tls_conn_cork(struct tls_conn *c);

/* Encrypts and sends what was held since tls_conn_cork(), in one socket
 * write (several TLS records when it is more than one record holds). A
 * connection not corked is left alone. Errors show up as the connection
 * closing. Loop thread. */
void tls_conn_uncork(struct tls_conn *c);

/* How many writes this connection has handed to the socket: one per flush,
 * and a reply queued by one tls_conn_write() goes out in one. */
uint64_t tls_conn_socket_writes(const struct tls_conn *c);

/* The peer's address as "ip:port" in buf (size buflen). Returns buf. */
const char *tls_conn_peer(const struct tls_conn *c, char *buf, size_t buflen);

/*
 * Why a TLS failure (-EPROTO) happened: OpenSSL's reasons on one line, with
 * the certificate verification result when that failed, e.g. "...
 * certificate verify failed (verify: certificate has expired)". "" when
 * there was none. Meant for the owner's log line in on_close. Borrowed
 * until on_close returns.
 */
const char *tls_conn_error(const struct tls_conn *c);

/* Why a handshake failed, from a bounded set (for metrics). */
enum tls_conn_failure {
    TLS_CONN_FAIL_NONE,           /* it completed */
    TLS_CONN_FAIL_NO_CLIENT_CERT, /* the peer sent no certificate where one is required */
    TLS_CONN_FAIL_UNKNOWN_CA,     /* its certificate chains to no trusted CA */
    TLS_CONN_FAIL_REVOKED,        /* its certificate is revoked (or its user disabled) */
    TLS_CONN_FAIL_TIMEOUT,        /* the handshake or the owner's deadline ran out */
    TLS_CONN_FAIL_PROTOCOL,       /* a TLS error: no shared version, cipher or ALPN, ... */
    TLS_CONN_FAIL_OTHER,          /* the peer went away, or another certificate failure */
};
#define TLS_CONN_FAIL_COUNT 7

/*
 * Why c's handshake did not complete, for the owner's on_close with the
 * close's err: TLS_CONN_FAIL_NONE when it completed (a refusal in the
 * owner's on_handshake is the owner's to name).
 */
enum tls_conn_failure tls_conn_handshake_failure(const struct tls_conn *c, int err);

/* A failure's label: "no_client_certificate", "unknown_ca",
 * "revoked_or_disabled", "timeout", "protocol_error", "other" ("none" for
 * TLS_CONN_FAIL_NONE). Static. */
const char *tls_conn_failure_name(enum tls_conn_failure f);

/* 1 once the handshake completed (on_handshake was called), else 0. */
int tls_conn_handshake_done(const struct tls_conn *c);

#endif
