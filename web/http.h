/*
 * http: the dashboard port. HTTPS/1.1 for browsers on its own listener and
 * SSL_CTX (no client certificate, ALPN http/1.1), over the same tls_conn
 * module as the protocol port, parsed by llhttp built with strict mode.
 *
 * Hostile peers (architecture.md): no lenient flags, obs-fold rejected,
 * caps on the request line, header bytes and count and body size, one
 * request at a time per connection (pipelined bytes wait in the TLS
 * buffer), handshake / first-request / idle timeouts (a kept-alive
 * connection that sends no new request within the request timeout is
 * closed), max connections and per address (common/connset, as on the
 * protocol port), pending-write cap. Any parse error gets 400 (or
 * 413/431) and a close.
 *
 * Every response carries the security headers: Content-Security-Policy
 * (default-src 'none'; style-src 'self'; img-src 'self' data:; form-action
 * 'self'; frame-ancestors 'none'; base-uri 'none'), Strict-Transport-
 * Security, X-Content-Type-Options: nosniff, X-Frame-Options: DENY,
 * Referrer-Policy: same-origin (with no-referrer browsers send "Origin:
 * null" on their own form posts, which the CSRF check must refuse),
 * Cache-Control: no-store.
 *
 * Loop thread only, apart from what a handler hands to the thread pool.
 */
#ifndef COACHQ_HTTP_H
#define COACHQ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "tls_conn.h"

struct http_server;
struct http_exchange;

#define HTTP_MAX_URL 2048
#define HTTP_MAX_HEADER_BYTES 16384
#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_BODY 16384

/*
 * Called on the loop thread once a whole request has arrived. The handler
 * must answer it exactly once with http_respond() (now, or later from the
 * loop thread, e.g. after uv_queue_work). x stays valid until answered,
 * even if the peer goes away meanwhile (the answer is then dropped).
 */
typedef void (*http_handler_cb)(struct http_exchange *x, void *arg);

/*
 * What the dashboard port is told by whoever runs it (coachqd fills it from
 * its command line: config_http_opts()). Strings are borrowed for the call
 * to http_server_new() only; the numbers are copied.
 */
struct http_opts {
    const char *host;      /* address to listen on, e.g. "127.0.0.1" */
    const char *port;      /* "0" = any free port */
    const char *port_file; /* NULL or "" = none; gets the bound port */
    const char *cert_file; /* the server certificate and key, PEM */
    const char *key_file;
    const char *ca_file;
    unsigned max_connections;      /* open connections before new ones are refused */
    unsigned max_per_address;      /* open connections from one address (IPv6: one /64) */
    uint64_t handshake_timeout_ms; /* the TLS handshake (tls_conn) */
    uint64_t idle_timeout_ms;      /* no byte either way (tls_conn) */
    uint64_t header_timeout_ms;    /* a request's headers must arrive within */
    uint64_t request_timeout_ms;   /* a whole request, and a kept-alive wait */
    size_t write_high;             /* tls_conn's water marks; 0 = its defaults */
    size_t write_low;
    size_t write_max;
};

/*
 * Starts listening on opts->host:opts->port with opts' certificate and key
 * (no client certificate is asked for), and writes the bound port to
 * opts->port_file if set. handler gets every request with arg (borrowed
 * until the server is stopped). Returns 0 and sets *out (freed by
 * http_server_stop()), or a negative code with a message in err (size
 * errlen).
 */
int http_server_new(uv_loop_t *loop, const struct http_opts *opts, http_handler_cb handler,
                    void *arg, struct http_server **out, char *err, size_t errlen);
/*
 * Makes the dashboard port's TLS context from a certificate (chain) and key
 * (PEM files, borrowed for the call): no client certificate, ALPN http/1.1
 * or none. Returns 0 and sets *out (caller owns, free with SSL_CTX_free()
 * or give to http_server_set_tls()), or a negative code with a message in
 * err (size errlen).
 */
int http_tls_ctx_new(const char *cert_file, const char *key_file, SSL_CTX **out, char *err,
                     size_t errlen);
/*
 * Accepts new connections with ctx from now on (takes ownership; made by
 * http_tls_ctx_new()). Connections already open carry on with the context
 * they were accepted with. Loop thread.
 */
void http_server_set_tls(struct http_server *h, SSL_CTX *ctx);
/* The bound port (0 for NULL). */
int http_server_port(const struct http_server *h);
/* The dashboard port has stopped and its server is freed. */
typedef void (*http_stopped_cb)(void *arg);
/* Closes the listener and every connection; answers still pending are
 * dropped when they come. The server is freed once its handles closed and
 * nothing is pending; done (may be NULL) is called then with arg. h may be
 * NULL (done is called at once). Idempotent. */
void http_server_stop(struct http_server *h, http_stopped_cb done, void *arg);
/* Connections not yet released (0 for NULL). */
unsigned http_server_connections(const struct http_server *h);

/* What a request asked for, by its path's fixed prefixes: the label of the
 * dashboard port's request counter. Never the path itself, so a crafted
 * path cannot make a new series. */
enum http_route {
    HTTP_ROUTE_UNPARSED,  /* refused before a whole request line was read */
    HTTP_ROUTE_ROOT,      /* / */
    HTTP_ROUTE_SIGNIN,    /* /signin, /signin/... */
    HTTP_ROUTE_SIGNOUT,   /* /signout */
    HTTP_ROUTE_STATIC,    /* /static/... */
    HTTP_ROUTE_PAGE,      /* /d/... */
    HTTP_ROUTE_API_JSON,  /* /api/v1/dashboards/... */
    HTTP_ROUTE_API_CSV,   /* /api/v1/dashboards/....csv */
    HTTP_ROUTE_API_FEED,  /* /api/v1/feed/... (the change feed) */
    HTTP_ROUTE_API_OTHER, /* /api/... */
    HTTP_ROUTE_OTHER,     /* anything else */
};
#define HTTP_ROUTE_COUNT 11
/* Statuses counted: 100..599 (http_respond() answers others as 500). */
#define HTTP_STATUS_MIN 100
#define HTTP_STATUS_COUNT 500

/* The route's label, e.g. "api_json". Static. */
const char *http_route_name(enum http_route r);

/* The dashboard port's counters since start and its connections now, for
 * /metrics. Loop thread. */
struct http_counts {
    uint64_t requests[HTTP_ROUTE_COUNT][HTTP_STATUS_COUNT]; /* answers by route and status */
    uint64_t tls_failures[TLS_CONN_FAIL_COUNT];             /* handshakes that failed, by why */
    unsigned handshaking;                                   /* connections in their handshake */
    unsigned open;                                          /* and past it */
};

/* Copies h's counters into out (caller's; all zero for NULL h). */
void http_server_counts(const struct http_server *h, struct http_counts *out);

/* The request. Strings are NUL-terminated and borrowed until answered. */
const char *http_method(const struct http_exchange *x); /* "GET", "POST", ... */
const char *http_path(const struct http_exchange *x);   /* percent-decoded, without the query;
                                                           never contains NUL */
const char *http_query(const struct http_exchange *x);  /* raw, without '?'; "" if none */
/* A header's value (name case-insensitive), or NULL. */
const char *http_header(const struct http_exchange *x, const char *name);
const uint8_t *http_body(const struct http_exchange *x, size_t *len);
const char *http_peer(const struct http_exchange *x); /* "127.0.0.1:50123" */

/* Finds name in a query string or an application/x-www-form-urlencoded body
 * and percent-decodes its value into out (size outlen). Returns the
 * decoded length, -ENOENT, or -EINVAL (malformed, too long, or NUL). */
int http_form_value(const char *form, size_t len, const char *name, char *out, size_t outlen);
/* Finds cookie name in the Cookie header. As http_form_value(). */
int http_cookie(const struct http_exchange *x, const char *name, char *out, size_t outlen);

/* Names the signed-in user for the request's log line (NULL or "": none). */
void http_set_user(struct http_exchange *x, const char *user);

struct http_header_kv {
    const char *name;
    const char *value;
};

/*
 * Answers x with status, content type (NULL: none, e.g. for 303), extra
 * headers (Location, Set-Cookie, Content-Disposition, ...; values must not
 * hold CR or LF: such a header is dropped and logged) and body (copied). The
 * security headers are always added. x is finished afterwards.
 */
void http_respond(struct http_exchange *x, int status, const char *content_type,
                  const struct http_header_kv *headers, size_t nheaders, const void *body,
                  size_t len);

/*
 * Streamed answers (the change feed): http_stream_begin() sends the status
 * and headers with a chunked body (HTTP/1.0: a body the close ends), then
 * http_stream_write() sends each piece as it is made and http_stream_end()
 * finishes the exchange, as http_respond() does (x is freed then). Between
 * them x stays with its owner, even if the connection goes away: cb is
 * called with arg when a drain asked for with http_stream_wait_drain() has
 * come, and at once when the connection closes (http_stream_alive() is
 * then 0); the owner must still end the stream. cb may call
 * http_stream_end(). Write errors (-EPIPE once the connection is going)
 * need no answer: the close reports them through cb. Loop thread.
 */
typedef void (*http_stream_cb)(struct http_exchange *x, void *arg);
int http_stream_begin(struct http_exchange *x, int status, const char *content_type,
                      const struct http_header_kv *headers, size_t nheaders, http_stream_cb cb,
                      void *arg);
int http_stream_write(struct http_exchange *x, const void *data, size_t len);
/* Whether the connection is still there to write to: 1 or 0. */
int http_stream_alive(const struct http_exchange *x);
/* 1 when the connection's pending bytes are at or below its low-water
 * mark (write the next piece now), else 0: cb comes once they are. */
int http_stream_wait_drain(struct http_exchange *x);
/* Ends the stream: ok 1 sends the last chunk (a whole answer), ok 0 cuts
 * the connection (the reader sees the body is incomplete). Frees x. */
void http_stream_end(struct http_exchange *x, int ok);

/* Percent-encodes s for a URL path segment or query value into out. Returns
 * the length or -ENOBUFS. */
int http_url_encode(const char *s, char *out, size_t outlen);

/*
 * For tests and the fuzz target: parses data (len bytes, borrowed for the
 * call) as the byte stream of one connection, handed to the parser chunk
 * bytes at a time (0: all at once), with the server's parser settings and
 * callbacks and no transport. Each whole request is passed to cb with an
 * exchange borrowed for the call (not to be answered), then the next one is
 * parsed, until a request asks to close. Returns the number of requests, or
 * minus the status the server would refuse the stream with (-400, -413,
 * -414, -431, -503).
 */
typedef void (*http_parsed_cb)(const struct http_exchange *x, void *arg);
int http_parse_stream(const uint8_t *data, size_t len, size_t chunk, http_parsed_cb cb, void *arg);

#endif
