#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <llhttp.h>

#include "connset.h"
#include "http_codec.h"
#include "error.h"
#include "listen.h"
#include "log.h"
#include "tls_conn.h"
#include "tls_ctx.h"

#define HTTP_ALPN "http/1.1"
/* Bytes decrypted but not yet parsed. Reading stops while a request is
 * with its handler, so this holds at most one TLS read's worth beyond
 * what the parser already took; the cap only guards against a bug. */
#define HTTP_MAX_HELD (256u * 1024u)
#define HTTP_MAX_METHOD 16
/* On stop, connections get this long to flush their answers and close. */
#define HTTP_STOP_GRACE_MS 2000

struct http_server {
    uv_loop_t *loop;
    struct http_opts opts; /* its strings are NULL: they were borrowed for http_server_new() */
    SSL_CTX *ctx;
    uv_tcp_t listener;
    http_handler_cb handler;
    void *arg;
    struct connset conns; /* open connections; conns.n counts them until freed */
    uint64_t pending;     /* exchanges with a handler and not yet answered */
    int port;
    uv_timer_t stop_timer; /* connections still open this long after stop are cut */
    int stopping;
    int handles_open; /* listener and stop_timer, until closed */
    int timer_closing;
    http_stopped_cb done;
    void *done_arg;
    /* For /metrics (http_counts); loop thread. */
    uint64_t requests[HTTP_ROUTE_COUNT][HTTP_STATUS_COUNT];
    uint64_t tls_failures[TLS_CONN_FAIL_COUNT];
};

struct hconn {
    struct http_server *srv;
    struct connset_conn cs; /* tls (NULL once closed), id, peer, address */
    llhttp_t parser;
    uv_timer_t req_timer;    /* a request must arrive whole in time */
    struct http_exchange *x; /* being parsed, or with the handler */
    uint8_t *held;           /* decrypted bytes not yet parsed */
    size_t held_len, held_off, held_cap;
    uint64_t requests;
    const char *exec_start; /* the buffer llhttp_execute() is parsing */
    int tail_nonws;         /* last byte but space or tab that llhttp took before it */
    int fail_status;        /* set by a parser callback that refuses the request */
    int rl_state;           /* where the request line's own check is (enum rl_state) */
    size_t rl_len;          /* bytes of the part rl_state is in */
    char rl_version[12];    /* the request line's version, as sent */
    int header_state;       /* 0: between headers, 1: in a name, 2: in a value */
    int busy;               /* x is with the handler */
    int closing;            /* no further requests are taken */
    int paused;             /* tls_conn_read_stop() in effect */
    int in_pump;
    /* req_timer runs as the keep-alive wait: a request was answered and no
     * byte of the next one has arrived; if it fires, a plain close. */
    int idle_wait;
};

struct http_exchange {
    struct http_server *srv;
    struct hconn *conn; /* NULL once the connection went away */
    uint64_t conn_id;
    char method[HTTP_MAX_METHOD];
    char url[HTTP_MAX_URL + 1];
    size_t url_len;
    char *path;  /* decoded copy of url's path */
    char *query; /* points into url */
    /* Headers as name NUL value NUL ...; offsets into hbuf. */
    char hbuf[HTTP_MAX_HEADER_BYTES];
    size_t hlen;
    uint16_t hname[HTTP_MAX_HEADERS];
    uint16_t hvalue[HTTP_MAX_HEADERS];
    unsigned nheaders;
    uint8_t *body;
    size_t body_len, body_cap;
    char peer[64];
    char user[65]; /* who asked, for the log; "" = nobody signed in */
    int close;     /* close the connection after the answer */
    uint64_t start_ms;
    int http_minor; /* the request's HTTP/1.x */
    /* A streamed answer (http_stream_begin()). */
    int streaming;
    int chunked;
    int stream_status;
    size_t stream_bytes;
    http_stream_cb stream_cb; /* drain owed (stream_drain) or the connection went away */
    void *stream_arg;
    int stream_drain;
};

/*
 * The request line, checked on its raw bytes before llhttp sees them:
 * llhttp (even strict) takes several spaces between its parts and any
 * HTTP/x.y version it knows, where RFC 9112 has exactly one SP and only
 * HTTP/1.0 and HTTP/1.1 are spoken here. Leading empty lines are skipped
 * (RFC 9112, 2.2).
 */
enum rl_state {
    RL_START,   /* nothing of the request line yet */
    RL_METHOD,  /* in the method */
    RL_URL0,    /* after the first SP: the target must start here */
    RL_URL,     /* in the target */
    RL_VERSION, /* after the second SP, until CR */
    RL_LF,      /* after the CR */
    RL_DONE,    /* the line is whole; headers and body are llhttp's */
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void conn_pump(struct hconn *c);
static void on_req_timer(uv_timer_t *t);
static uint64_t conn_header_ms(const struct hconn *c);
static void server_maybe_finish(struct http_server *h);
static void count_request(struct http_server *h, enum http_route r, int status);
static void handle_closed(uv_handle_t *handle);

/* ---- Exchanges ---- */

static void exchange_free(struct http_exchange *x)
{
    if (x == NULL) {
        return;
    }
    free(x->path);
    free(x->body);
    free(x);
}

static struct http_exchange *exchange_new(struct hconn *c)
{
    struct http_exchange *x = calloc(1, sizeof(*x));

    if (x == NULL) {
        return NULL;
    }
    x->srv = c->srv;
    x->conn = c;
    x->conn_id = c->cs.id;
    x->query = x->url + 0;
    memcpy(x->peer, c->cs.peer, sizeof(x->peer));
    x->start_ms = now_ms();
    return x;
}

const char *http_method(const struct http_exchange *x)
{
    return x->method;
}

const char *http_path(const struct http_exchange *x)
{
    return x->path != NULL ? x->path : "/";
}

const char *http_query(const struct http_exchange *x)
{
    return x->query;
}

const char *http_header(const struct http_exchange *x, const char *name)
{
    for (unsigned i = 0; i < x->nheaders; i++) {
        if (strcasecmp(x->hbuf + x->hname[i], name) == 0) {
            return x->hbuf + x->hvalue[i];
        }
    }
    return NULL;
}

const uint8_t *http_body(const struct http_exchange *x, size_t *len)
{
    *len = x->body_len;
    return x->body != NULL ? x->body : (const uint8_t *)"";
}

const char *http_peer(const struct http_exchange *x)
{
    return x->peer;
}

/* ---- Responses ---- */

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return status >= 500 ? "Error" : status >= 400 ? "Client Error" : "Status";
    }
}

/* A header name is a token; a value has no control bytes but HTAB. */
static int header_ok(const char *name, const char *value)
{
    if (name == NULL || value == NULL || name[0] == '\0') {
        return 0;
    }
    for (const char *p = name; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", ch) != NULL) {
            return 0;
        }
    }
    for (const char *p = value; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            return 0;
        }
    }
    return 1;
}

struct outbuf {
    char *p;
    size_t len, cap;
    int failed;
};

static void out_add(struct outbuf *o, const void *data, size_t n)
{
    if (o->failed) {
        return;
    }
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        char *np;
        while (cap < o->len + n) {
            cap *= 2;
        }
        np = realloc(o->p, cap);
        if (np == NULL) {
            o->failed = 1;
            return;
        }
        o->p = np;
        o->cap = cap;
    }
    memcpy(o->p + o->len, data, n);
    o->len += n;
}

static void out_str(struct outbuf *o, const char *s)
{
    out_add(o, s, strlen(s));
}

static void out_fmt(struct outbuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_fmt(struct outbuf *o, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        o->failed = 1;
        return;
    }
    out_add(o, buf, (size_t)n);
}

static const char security_headers[] =
    "Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
    "Strict-Transport-Security: max-age=31536000\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: same-origin\r\n"
    "Cache-Control: no-store\r\n";

/* The status line and headers of a response into o: Content-Length len,
 * or with len SIZE_MAX a chunked body (chunked set) or one the close ends. */
static void response_head(struct outbuf *o, const struct hconn *c, int status,
                          const char *content_type, const struct http_header_kv *headers,
                          size_t nheaders, size_t len, int chunked, int close)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    out_fmt(o, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, status_text(status), date);
    if (content_type != NULL && header_ok("Content-Type", content_type)) {
        out_fmt(o, "Content-Type: %s\r\n", content_type);
    }
    if (len != SIZE_MAX) {
        out_fmt(o, "Content-Length: %zu\r\n", len);
    } else if (chunked) {
        out_str(o, "Transfer-Encoding: chunked\r\n");
    }
    out_str(o, security_headers);
    for (size_t i = 0; i < nheaders; i++) {
        if (!header_ok(headers[i].name, headers[i].value) ||
            strcasecmp(headers[i].name, "Content-Length") == 0 ||
            strcasecmp(headers[i].name, "Transfer-Encoding") == 0 ||
            strcasecmp(headers[i].name, "Connection") == 0) {
            char q[80];
            log_event(LOG_ERROR, "http_header_dropped", "conn=%" PRIu64 " name=%s", c->cs.id,
                      log_quote(headers[i].name != NULL ? headers[i].name : "", q, sizeof(q)));
            continue;
        }
        out_str(o, headers[i].name);
        out_str(o, ": ");
        out_str(o, headers[i].value);
        out_str(o, "\r\n");
    }
    if (close) {
        out_str(o, "Connection: close\r\n");
    }
    out_str(o, "\r\n");
}

/* Hands o's bytes to the connection and frees them. Returns 0 or a
 * negative code (the connection is then closing). */
static int out_send(struct hconn *c, struct outbuf *o)
{
    int rc;

    if (o->failed) {
        free(o->p);
        log_event(LOG_ERROR, "out_of_memory", "conn=%" PRIu64 " bytes=%zu", c->cs.id, o->len);
        tls_conn_abort(c->cs.tls, -ENOMEM);
        return -ENOMEM;
    }
    rc = tls_conn_write(c->cs.tls, o->p, o->len);
    free(o->p);
    return rc;
}

/* Writes one response on c. Returns 0 or a negative code (the connection
 * is then closing). */
static int conn_write_response(struct hconn *c, int status, const char *content_type,
                               const struct http_header_kv *headers, size_t nheaders,
                               const void *body, size_t len, int close)
{
    struct outbuf o = {0};

    if (status < 100 || status > 599) {
        status = 500;
    }
    response_head(&o, c, status, content_type, headers, nheaders, len, 0, close);
    if (len > 0) {
        out_add(&o, body, len);
    }
    return out_send(c, &o);
}

/* Reading is wanted while the connection takes requests, has none with the
 * handler, nothing left unparsed, and its answers are not piling up. */
static void conn_update_reading(struct hconn *c)
{
    int want;

    if (c->cs.tls == NULL) {
        return;
    }
    want = !c->closing && !c->srv->stopping && !c->busy && c->held_off >= c->held_len &&
           tls_conn_pending(c->cs.tls) < c->srv->opts.write_high;
    if (want && c->paused) {
        c->paused = 0;
        tls_conn_read_start(c->cs.tls);
    } else if (!want && !c->paused) {
        c->paused = 1;
        tls_conn_read_stop(c->cs.tls);
    }
}

/* Refuses the request being parsed with status and closes the connection
 * once the answer is flushed: after a bad request the byte stream cannot
 * be trusted to be in step. */
static void conn_fail(struct hconn *c, int status, const char *why)
{
    char body[128];
    int n;

    if (c->cs.tls == NULL || c->closing) {
        return;
    }
    c->closing = 1;
    uv_timer_stop(&c->req_timer);
    log_event(LOG_WARN, "http_refused", "conn=%" PRIu64 " peer=%s status=%d reason=%s", c->cs.id,
              c->cs.peer, status, why);
    count_request(c->srv, HTTP_ROUTE_UNPARSED, status);
    n = snprintf(body, sizeof(body), "%d %s\n", status, status_text(status));
    conn_write_response(c, status, "text/plain; charset=utf-8", NULL, 0, body, (size_t)n, 1);
    if (!c->busy) {
        exchange_free(c->x);
        c->x = NULL;
    }
    if (c->cs.tls != NULL) {
        tls_conn_close(c->cs.tls, 0);
    }
}

const char *http_route_name(enum http_route r)
{
    static const char *const names[HTTP_ROUTE_COUNT] = {
        "unparsed", "root",    "signin",   "signout",   "static", "page",
        "api_json", "api_csv", "api_feed", "api_other", "other",
    };

    return (unsigned)r < HTTP_ROUTE_COUNT ? names[r] : "other";
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The route a path (decoded, borrowed) falls under; see enum http_route. */
static enum http_route route_of(const char *path)
{
    size_t n = strlen(path);

    if (strcmp(path, "/") == 0) {
        return HTTP_ROUTE_ROOT;
    }
    if (strcmp(path, "/signin") == 0 || has_prefix(path, "/signin/")) {
        return HTTP_ROUTE_SIGNIN;
    }
    if (strcmp(path, "/signout") == 0) {
        return HTTP_ROUTE_SIGNOUT;
    }
    if (has_prefix(path, "/static/")) {
        return HTTP_ROUTE_STATIC;
    }
    if (has_prefix(path, "/d/")) {
        return HTTP_ROUTE_PAGE;
    }
    if (has_prefix(path, "/api/v1/dashboards/")) {
        return n > 4 && strcmp(path + n - 4, ".csv") == 0 ? HTTP_ROUTE_API_CSV
                                                          : HTTP_ROUTE_API_JSON;
    }
    if (has_prefix(path, "/api/v1/feed/")) {
        return HTTP_ROUTE_API_FEED;
    }
    if (has_prefix(path, "/api/")) {
        return HTTP_ROUTE_API_OTHER;
    }
    return HTTP_ROUTE_OTHER;
}

/* Counts one answer; a status outside 100..599 is sent as 500. */
static void count_request(struct http_server *h, enum http_route r, int status)
{
    if (status < HTTP_STATUS_MIN || status >= HTTP_STATUS_MIN + HTTP_STATUS_COUNT) {
        status = 500;
    }
    h->requests[r][status - HTTP_STATUS_MIN]++;
}

void http_server_counts(const struct http_server *h, struct http_counts *out)
{
    memset(out, 0, sizeof(*out));
    if (h == NULL) {
        return;
    }
    memcpy(out->requests, h->requests, sizeof(out->requests));
    memcpy(out->tls_failures, h->tls_failures, sizeof(out->tls_failures));
    connset_count_states(&h->conns, &out->handshaking, &out->open);
}

void http_set_user(struct http_exchange *x, const char *user)
{
    snprintf(x->user, sizeof(x->user), "%s", user != NULL ? user : "");
}

/* Logs x's answer and hands the connection back to the parser (or
 * closes it); frees x. write (may be NULL) writes the answer's bytes on the
 * live connection and returns 0 or a negative code. */
static void exchange_finish(struct http_exchange *x, int status, size_t len,
                            int (*write)(struct hconn *c, struct http_exchange *x, int close,
                                         void *arg),
                            void *arg)
{
    struct http_server *h = x->srv;
    struct hconn *c = x->conn;
    char qpath[200];

    /* The path only: the query may hold a sign-in link's token. */
    log_event(status >= 500 ? LOG_WARN : LOG_INFO, "http_request",
              "conn=%" PRIu64 " peer=%s method=%s path=%s status=%d user=%s bytes=%zu ms=%" PRIu64
              "%s",
              x->conn_id, x->peer, x->method, log_quote(http_path(x), qpath, sizeof(qpath)), status,
              x->user[0] != '\0' ? x->user : "-", len, now_ms() - x->start_ms,
              c == NULL ? " dropped=1" : "");
    h->pending--;
    count_request(h, route_of(http_path(x)), status);
    if (c == NULL) {
        exchange_free(x);
        server_maybe_finish(h);
        return;
    }
    c->busy = 0;
    c->x = NULL;
    c->requests++;
    if (c->cs.tls != NULL && !c->closing) {
        int close = x->close || h->stopping;
        if (write != NULL && write(c, x, close, arg) < 0) {
            close = 1;
        }
        if (close) {
            c->closing = 1;
            if (c->cs.tls != NULL) {
                tls_conn_close(c->cs.tls, 0);
            }
        } else {
            llhttp_resume(&c->parser);
            /* A kept-alive connection gets the request timeout again to
             * send its next request, not the transport's long idle
             * timeout: silent clients cannot hoard the connection slots. */
            c->idle_wait = 1;
            uv_timer_start(&c->req_timer, on_req_timer, h->opts.request_timeout_ms, 0);
        }
    }
    exchange_free(x);
    if (c->cs.tls != NULL && !c->closing) {
        conn_pump(c);
    }
    server_maybe_finish(h);
}

struct plain_answer {
    int status;
    const char *content_type;
    const struct http_header_kv *headers;
    size_t nheaders;
    const void *body;
    size_t len;
};

static int write_plain(struct hconn *c, struct http_exchange *x, int close, void *arg)
{
    const struct plain_answer *a = arg;

    (void)x;
    return conn_write_response(c, a->status, a->content_type, a->headers, a->nheaders, a->body,
                               a->len, close);
}

void http_respond(struct http_exchange *x, int status, const char *content_type,
                  const struct http_header_kv *headers, size_t nheaders, const void *body,
                  size_t len)
{
    struct plain_answer a = {status, content_type, headers, nheaders, body, len};

    exchange_finish(x, status, len, write_plain, &a);
}

/* ---- Streamed answers ---- */

int http_stream_begin(struct http_exchange *x, int status, const char *content_type,
                      const struct http_header_kv *headers, size_t nheaders, http_stream_cb cb,
                      void *arg)
{
    struct hconn *c = x->conn;
    struct outbuf o = {0};

    x->streaming = 1;
    x->stream_status = status;
    x->stream_cb = cb;
    x->stream_arg = arg;
    if (c == NULL || c->cs.tls == NULL || c->closing) {
        return -EPIPE;
    }
    /* HTTP/1.0 has no chunked coding: the close ends the body. */
    x->chunked = x->http_minor >= 1;
    if (!x->chunked) {
        x->close = 1;
    }
    response_head(&o, c, status, content_type, headers, nheaders, SIZE_MAX, x->chunked,
                  x->close || x->srv->stopping);
    return out_send(c, &o);
}

int http_stream_write(struct http_exchange *x, const void *data, size_t len)
{
    struct hconn *c = x->conn;
    struct outbuf o = {0};

    if (c == NULL || c->cs.tls == NULL || c->closing) {
        return -EPIPE;
    }
    if (len == 0) {
        return 0;
    }
    if (x->chunked) {
        out_fmt(&o, "%zx\r\n", len);
    }
    out_add(&o, data, len);
    if (x->chunked) {
        out_str(&o, "\r\n");
    }
    x->stream_bytes += len;
    return out_send(c, &o);
}

int http_stream_alive(const struct http_exchange *x)
{
    return x->conn != NULL && x->conn->cs.tls != NULL && !x->conn->closing;
}

int http_stream_wait_drain(struct http_exchange *x)
{
    struct hconn *c = x->conn;

    if (c == NULL || c->cs.tls == NULL) {
        return 1;
    }
    if (tls_conn_want_drain(c->cs.tls)) {
        return 1;
    }
    x->stream_drain = 1;
    return 0;
}

static int write_last_chunk(struct hconn *c, struct http_exchange *x, int close, void *arg)
{
    (void)close;
    (void)arg;
    return x->chunked ? tls_conn_write(c->cs.tls, "0\r\n\r\n", 5) : 0;
}

void http_stream_end(struct http_exchange *x, int ok)
{
    x->stream_cb = NULL;
    if (!ok) {
        /* The body is cut: a chunked reader sees no last chunk. */
        x->close = 1;
        if (x->conn != NULL && x->conn->cs.tls != NULL) {
            x->conn->closing = 1;
            tls_conn_abort(x->conn->cs.tls, -ECANCELED);
        }
    }
    exchange_finish(x, x->stream_status, x->stream_bytes, ok ? write_last_chunk : NULL, NULL);
}

/* ---- Parsing ---- */

static struct hconn *parser_conn(llhttp_t *p)
{
    return p->data;
}

static int on_message_begin(llhttp_t *p)
{
    struct hconn *c = parser_conn(p);

    exchange_free(c->x);
    c->x = exchange_new(c);
    if (c->x == NULL) {
        c->fail_status = 503;
        return -1;
    }
    c->header_state = 0;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    struct hconn *c = parser_conn(p);
    struct http_exchange *x = c->x;

    if (len > HTTP_MAX_URL - x->url_len) {
        c->fail_status = 414;
        return -1;
    }
    memcpy(x->url + x->url_len, at, len);
    x->url_len += len;
    x->url[x->url_len] = '\0';
    return 0;
}

/* Appends header bytes; the NULs count against the cap too. */
static int header_add(struct hconn *c, const char *at, size_t len)
{
    struct http_exchange *x = c->x;

    if (len > sizeof(x->hbuf) - 1 - x->hlen) {
        c->fail_status = 431;
        return -1;
    }
    memcpy(x->hbuf + x->hlen, at, len);
    x->hlen += len;
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    struct hconn *c = parser_conn(p);
    struct http_exchange *x = c->x;

    if (c->header_state != 1) {
        if (x->nheaders >= HTTP_MAX_HEADERS) {
            c->fail_status = 431;
            return -1;
        }
        x->hname[x->nheaders] = (uint16_t)x->hlen;
        c->header_state = 1;
    }
    return header_add(c, at, len);
}

static int on_header_field_complete(llhttp_t *p)
{
    struct hconn *c = parser_conn(p);
    struct http_exchange *x = c->x;

    if (c->header_state != 1) {
        /* An empty name: llhttp refuses those before this point. */
        c->fail_status = 400;
        return -1;
    }
    if (header_add(c, "", 1) < 0) {
        return -1;
    }
    x->hvalue[x->nheaders] = (uint16_t)x->hlen;
    c->header_state = 2;
    return 0;
}

/* The last byte other than a space or tab before at, looking back into
 * earlier buffers too. */
static int before_nonws(const struct hconn *c, const char *at)
{
    const char *q = at;

    while (q > c->exec_start && (q[-1] == ' ' || q[-1] == '\t')) {
        q--;
    }
    return q > c->exec_start ? (unsigned char)q[-1] : c->tail_nonws;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    struct hconn *c = parser_conn(p);

    if (c->header_state != 2) {
        c->fail_status = 400;
        return -1;
    }
    /* llhttp's strict mode still takes an obs-fold (a line end, then a
     * space or tab) as part of the value: refused here, as RFC 9112
     * allows. A piece of value that follows a line end and whitespace
     * (in this buffer, or at the end of the previous one) is one. */
    if (memchr(at, '\r', len) != NULL || memchr(at, '\n', len) != NULL ||
        before_nonws(c, at) == '\n') {
        c->fail_status = 400;
        return -1;
    }
    return header_add(c, at, len);
}

static int on_header_value_complete(llhttp_t *p)
{
    struct hconn *c = parser_conn(p);
    struct http_exchange *x = c->x;

    if (c->header_state != 2) {
        c->fail_status = 400;
        return -1;
    }
    while (x->hlen > x->hvalue[x->nheaders] &&
           (x->hbuf[x->hlen - 1] == ' ' || x->hbuf[x->hlen - 1] == '\t')) {
        x->hlen--;
    }
    if (header_add(c, "", 1) < 0) {
        return -1;
    }
    x->nheaders++;
    c->header_state = 0;
    return 0;
}

/* Splits x->url into a decoded path and the raw query. Returns 0 or -1
 * (origin-form only; bad escapes, NUL and control bytes refused). */
static int split_url(struct http_exchange *x)
{
    size_t plen = strcspn(x->url, "?#");

    if (x->url_len == 0 || x->url[0] != '/') {
        return -1;
    }
    x->path = malloc(plen + 1);
    if (x->path == NULL) {
        return -1;
    }
    if (http_pct_decode(x->url, plen, 0, x->path, plen + 1) < 0) {
        return -1;
    }
    for (const char *q = x->path; *q != '\0'; q++) {
        if ((unsigned char)*q < 0x20 || *q == 0x7f) {
            return -1;
        }
    }
    if (x->url[plen] == '?') {
        x->query = x->url + plen + 1;
        x->query[strcspn(x->query, "#")] = '\0';
    } else {
        x->url[plen] = '\0';
        x->query = x->url + plen;
    }
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct hconn *c = parser_conn(p);
    struct http_exchange *x = c->x;
    const char *m = llhttp_method_name((llhttp_method_t)llhttp_get_method(p));

    snprintf(x->method, sizeof(x->method), "%s", m);
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > HTTP_MAX_BODY) {
        c->fail_status = 413;
        return -1;
    }
    if (split_url(x) < 0) {
        c->fail_status = 400;
        return -1;
    }
    /* Only HTTP/1.0 and 1.1 (the request line's check said so already). */
    if (llhttp_get_http_major(p) != 1 || llhttp_get_http_minor(p) > 1) {
        c->fail_status = 400;
        return -1;
    }
    /* RFC 9112, 3.2: a 1.1 request without Host, or with more than one,
     * gets 400. */
    {
        unsigned hosts = 0;
        for (unsigned i = 0; i < x->nheaders; i++) {
            hosts += strcasecmp(x->hbuf + x->hname[i], "Host") == 0;
        }
        if (hosts > 1 || (llhttp_get_http_minor(p) >= 1 && hosts == 0)) {
            c->fail_status = 400;
            return -1;
        }
    }
    x->http_minor = llhttp_get_http_minor(p);
    if (!llhttp_should_keep_alive(p) || llhttp_get_upgrade(p)) {
        x->close = 1;
    }
    /* The headers are in, in time: the body gets --http-timeout.
     * http_parse_stream() parses without a server or a loop. */
    if (c->srv != NULL) {
        uv_timer_start(&c->req_timer, on_req_timer, c->srv->opts.request_timeout_ms, 0);
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    struct hconn *c = parser_conn(p);
    struct http_exchange *x = c->x;

    if (len > HTTP_MAX_BODY - x->body_len) {
        c->fail_status = 413;
        return -1;
    }
    if (x->body_len + len > x->body_cap) {
        size_t cap = x->body_cap ? x->body_cap : 1024;
        uint8_t *nb;
        while (cap < x->body_len + len) {
            cap *= 2;
        }
        if (cap > HTTP_MAX_BODY) {
            cap = HTTP_MAX_BODY;
        }
        nb = realloc(x->body, cap);
        if (nb == NULL) {
            c->fail_status = 503;
            return -1;
        }
        x->body = nb;
        x->body_cap = cap;
    }
    memcpy(x->body + x->body_len, at, len);
    x->body_len += len;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct hconn *c = parser_conn(p);

    /* The next bytes are the next request's line. */
    c->rl_state = RL_START;
    /* One request at a time: the parser stops here until it is answered. */
    return HPE_PAUSED;
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Hands a whole request to the handler (or answers 405 itself). */
static void conn_dispatch(struct hconn *c)
{
    struct http_server *h = c->srv;
    struct http_exchange *x = c->x;

    uv_timer_stop(&c->req_timer);
    c->idle_wait = 0;
    c->busy = 1;
    h->pending++;
    conn_update_reading(c);
    if (strcmp(x->method, "GET") != 0 && strcmp(x->method, "POST") != 0) {
        static const struct http_header_kv allow = {"Allow", "GET, POST"};
        static const char body[] = "405 Method Not Allowed\n";
        http_respond(x, 405, "text/plain; charset=utf-8", &allow, 1, body, sizeof(body) - 1);
        return;
    }
    h->handler(x, h->arg);
}

/* How long a request's headers may take from its first byte (or from the
 * connection's start): --http-header-timeout, and never more than the
 * whole request's --http-timeout. */
static uint64_t opts_header_ms(const struct http_opts *o)
{
    return o->header_timeout_ms < o->request_timeout_ms ? o->header_timeout_ms
                                                        : o->request_timeout_ms;
}

static uint64_t conn_header_ms(const struct hconn *c)
{
    return opts_header_ms(&c->srv->opts);
}

static void on_req_timer(uv_timer_t *t)
{
    struct hconn *c = t->data;

    if (c->cs.tls == NULL || c->busy || c->closing) {
        return;
    }
    if (c->idle_wait && c->x == NULL && c->held_off >= c->held_len) {
        /* Idle after an answer, nothing of a new request: just close. */
        log_event(LOG_INFO, "http_idle_close", "conn=%" PRIu64 " peer=%s requests=%" PRIu64,
                  c->cs.id, c->cs.peer, c->requests);
        c->closing = 1;
        tls_conn_close(c->cs.tls, 0);
        return;
    }
    conn_fail(c, 408, "request_timeout");
}

/* Remembers the last byte but space or tab of what llhttp took. */
static void note_tail(struct hconn *c, const char *data, size_t len)
{
    while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\t')) {
        len--;
    }
    if (len > 0) {
        c->tail_nonws = (unsigned char)data[len - 1];
    }
}

static int rl_tchar(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           (ch > 0x20 && ch < 0x7f && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Runs the request-line check over len bytes that llhttp is about to
 * parse. Returns 0, or -1 when the line breaks RFC 9112's grammar. */
static int rl_scan(struct hconn *c, const char *data, size_t len)
{
    for (size_t i = 0; i < len && c->rl_state != RL_DONE; i++) {
        unsigned char ch = (unsigned char)data[i];
        switch (c->rl_state) {
        case RL_START:
            if (ch == '\r' || ch == '\n') {
                break;
            }
            c->rl_state = RL_METHOD;
            c->rl_len = 0;
            /* fall through */
        case RL_METHOD:
            if (ch == ' ' && c->rl_len > 0) {
                c->rl_state = RL_URL0;
            } else if (!rl_tchar(ch)) {
                return -1;
            }
            c->rl_len++;
            break;
        case RL_URL0:
            if (ch <= 0x20 || ch == 0x7f) {
                return -1; /* a second space, or no target */
            }
            c->rl_state = RL_URL;
            break;
        case RL_URL:
            if (ch == ' ') {
                c->rl_state = RL_VERSION;
                c->rl_len = 0;
            } else if (ch < 0x20 || ch == 0x7f) {
                return -1;
            }
            break;
        case RL_VERSION:
            if (ch == '\r') {
                c->rl_version[c->rl_len] = '\0';
                if (strcmp(c->rl_version, "HTTP/1.1") != 0 &&
                    strcmp(c->rl_version, "HTTP/1.0") != 0) {
                    return -1;
                }
                c->rl_state = RL_LF;
            } else if (ch < 0x20 || ch == 0x7f || c->rl_len + 1 >= sizeof(c->rl_version)) {
                /* A bare LF (or any control) ends no request line here:
                 * refused at once, so that how the bytes arrive cannot let
                 * llhttp finish the request before this check sees it. */
                return -1;
            } else {
                c->rl_version[c->rl_len++] = (char)ch;
            }
            break;
        case RL_LF:
            if (ch != '\n') {
                return -1;
            }
            c->rl_state = RL_DONE;
            break;
        default:
            break;
        }
    }
    return 0;
}

/*
 * One parse step over len bytes, as a connection (conn_pump()) and the
 * transport-free parser (http_parse_stream()) both run it: the request
 * line's own check, then llhttp. Returns -1 when the request line breaks
 * the grammar (nothing parsed), else 0 with llhttp's code in *err and in
 * *used the bytes taken: all of them, or on a pause those up to the end of
 * the request.
 */
static int parse_step(struct hconn *c, const char *data, size_t len, llhttp_errno_t *err,
                      size_t *used)
{
    if (rl_scan(c, data, len) < 0) {
        return -1;
    }
    c->exec_start = data;
    *err = llhttp_execute(&c->parser, data, len);
    *used = len;
    if (*err == HPE_PAUSED || *err == HPE_PAUSED_UPGRADE) {
        const char *pos = llhttp_get_error_pos(&c->parser);

        if (pos != NULL && pos >= data && pos <= data + len) {
            *used = (size_t)(pos - data);
        }
    }
    if (*err == HPE_OK || *err == HPE_PAUSED || *err == HPE_PAUSED_UPGRADE) {
        note_tail(c, data, *used);
    }
    return 0;
}

/* Parses what is held, until a request is with the handler or bytes run
 * out. */
static void conn_pump(struct hconn *c)
{
    if (c->in_pump) {
        return;
    }
    c->in_pump = 1;
    while (c->cs.tls != NULL && !c->closing && !c->srv->stopping && !c->busy &&
           c->held_off < c->held_len && tls_conn_pending(c->cs.tls) < c->srv->opts.write_high) {
        const char *data = (const char *)c->held + c->held_off;
        size_t len = c->held_len - c->held_off;
        llhttp_errno_t err;
        size_t used;

        if (c->x == NULL && (c->idle_wait || !uv_is_active((uv_handle_t *)&c->req_timer))) {
            /* The first bytes of a request start its clock (after a
             * keep-alive wait, afresh). */
            c->idle_wait = 0;
            uv_timer_start(&c->req_timer, on_req_timer, conn_header_ms(c), 0);
        }
        if (parse_step(c, data, len, &err, &used) < 0) {
            conn_fail(c, 400, "bad_request_line");
            break;
        }
        if (err == HPE_OK) {
            c->held_off = c->held_len;
        } else if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
            c->held_off += used;
            if (err == HPE_PAUSED_UPGRADE) {
                c->x->close = 1;
            }
            conn_dispatch(c);
        } else {
            int status = c->fail_status != 0 ? c->fail_status : 400;
            char why[64];
            snprintf(why, sizeof(why), "%s", llhttp_errno_name(err));
            if (c->fail_status != 0) {
                snprintf(why, sizeof(why), "%s",
                         status == 414   ? "url_too_long"
                         : status == 431 ? "headers_too_large"
                         : status == 413 ? "body_too_large"
                                         : "bad_request");
            }
            conn_fail(c, status, why);
        }
    }
    if (c->held_off >= c->held_len) {
        c->held_off = c->held_len = 0;
    }
    c->in_pump = 0;
    conn_update_reading(c);
}

/* ---- TLS callbacks ---- */

static int on_handshake(struct tls_conn *t, void *arg)
{
    struct hconn *c = arg;
    SSL *ssl = tls_conn_ssl(t);

    log_event(LOG_INFO, "http_conn_open", "conn=%" PRIu64 " peer=%s tls=%s cipher=%s resumed=%d",
              c->cs.id, c->cs.peer, SSL_get_version(ssl), SSL_get_cipher_name(ssl),
              SSL_session_reused(ssl));
    /* The accept's deadline covered the handshake; the first request's
     * headers must now be in within the header timeout. */
    tls_conn_set_deadline(t, 0);
    uv_timer_start(&c->req_timer, on_req_timer, conn_header_ms(c), 0);
    return 0;
}

static void on_data(struct tls_conn *t, const uint8_t *data, size_t len, void *arg)
{
    struct hconn *c = arg;

    (void)t;
    if (c->closing) {
        return;
    }
    if (c->held_len + len > c->held_cap) {
        size_t cap = c->held_cap ? c->held_cap : 16384;
        uint8_t *nb;
        if (c->held_off > 0) {
            memmove(c->held, c->held + c->held_off, c->held_len - c->held_off);
            c->held_len -= c->held_off;
            c->held_off = 0;
        }
        while (cap < c->held_len + len) {
            cap *= 2;
        }
        if (cap > HTTP_MAX_HELD) {
            conn_fail(c, 400, "too_much_unread_input");
            return;
        }
        if (cap > c->held_cap) {
            nb = realloc(c->held, cap);
            if (nb == NULL) {
                conn_fail(c, 503, "out_of_memory");
                return;
            }
            c->held = nb;
            c->held_cap = cap;
        }
    }
    memcpy(c->held + c->held_len, data, len);
    c->held_len += len;
    conn_pump(c);
}

static void on_drain(struct tls_conn *t, void *arg)
{
    struct hconn *c = arg;
    struct http_exchange *x = c->x;

    (void)t;
    if (c->busy && x != NULL && x->streaming && x->stream_drain && x->stream_cb != NULL) {
        x->stream_drain = 0;
        x->stream_cb(x, x->stream_arg);
        return; /* the owner ends or goes on; ending it pumps */
    }
    conn_pump(c);
}

static void conn_timer_closed(uv_handle_t *handle)
{
    struct hconn *c = handle->data;
    struct http_server *h = c->srv;

    free(c->held);
    connset_release(&h->conns, &c->cs);
    free(c);
    server_maybe_finish(h);
}

static void on_close(struct tls_conn *t, int err, void *arg)
{
    struct hconn *c = arg;
    struct http_server *h = c->srv;

    connset_remove(&h->conns, &c->cs);
    if (!c->cs.refused) {
        h->tls_failures[tls_conn_handshake_failure(t, err)]++;
    }
    log_event(err == 0 ? LOG_INFO : LOG_WARN, "http_conn_close",
              "conn=%" PRIu64 " peer=%s requests=%" PRIu64 " reason=\"%s\"", c->cs.id, c->cs.peer,
              c->requests, error_strerror(err));
    if (c->x != NULL) {
        if (c->busy) {
            struct http_exchange *x = c->x;
            x->conn = NULL; /* answered later, into the void */
            c->x = NULL;
            if (x->streaming && x->stream_cb != NULL) {
                /* A streamed answer's owner learns at once. */
                x->stream_drain = 0;
                x->stream_cb(x, x->stream_arg);
            }
        } else {
            exchange_free(c->x);
        }
        c->x = NULL;
    }
    uv_close((uv_handle_t *)&c->req_timer, conn_timer_closed);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct http_server *h = listener->data;
    static const struct tls_conn_callbacks cbs = {
        .on_handshake = on_handshake,
        .on_data = on_data,
        .on_drain = on_drain,
        .on_close = on_close,
    };
    struct hconn *c;
    int rc;

    if (!connset_admit(&h->conns, listener, status)) {
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        connset_refuse(&h->conns, listener, "out_of_memory");
        return;
    }
    c->srv = h;
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
    /* As on the protocol port, one address (a slowloris, a flood of idle
     * sockets) holds at most --max-per-address of the slots. The handshake
     * must be done within the header timeout of the accept, the set's
     * fixed deadline that trickled bytes do not extend (the handshake
     * timeout alone would give a silent socket longer); there is nothing
     * to answer before it, so the socket is just closed. */
    rc = connset_accept(&h->conns, listener, &c->cs, &cbs, c);
    if (rc < 0) {
        free(c);
        return;
    }
    uv_timer_init(h->loop, &c->req_timer);
    c->req_timer.data = c;
    if (rc > 0) {
        c->closing = 1; /* over --max-per-address: aborted */
    }
}

/* ---- The server ---- */

static void handle_closed(uv_handle_t *handle)
{
    struct http_server *h = handle->data;

    h->handles_open--;
    server_maybe_finish(h);
}

static void server_maybe_finish(struct http_server *h)
{
    http_stopped_cb done;
    void *arg;

    if (!h->stopping || h->conns.n > 0 || h->pending > 0) {
        return;
    }
    if (!h->timer_closing) {
        h->timer_closing = 1;
        uv_close((uv_handle_t *)&h->stop_timer, handle_closed);
        return;
    }
    if (h->handles_open > 0) {
        return;
    }
    done = h->done;
    arg = h->done_arg;
    log_event(LOG_INFO, "http_stopped", "port=%d", h->port);
    SSL_CTX_free(h->ctx);
    free(h);
    if (done != NULL) {
        done(arg);
    }
}

static void on_stop_timer(uv_timer_t *t)
{
    struct http_server *h = t->data;

    /* A peer that does not answer the close in time is cut off. */
    connset_abort_all(&h->conns, -ETIMEDOUT);
}

void http_server_stop(struct http_server *h, http_stopped_cb done, void *arg)
{
    if (h == NULL) {
        if (done != NULL) {
            done(arg);
        }
        return;
    }
    if (h->stopping) {
        return;
    }
    h->stopping = 1;
    h->done = done;
    h->done_arg = arg;
    log_event(LOG_INFO, "http_stopping", "connections=%u pending=%" PRIu64, h->conns.n, h->pending);
    connset_stop(&h->conns);
    uv_close((uv_handle_t *)&h->listener, handle_closed);
    uv_timer_start(&h->stop_timer, on_stop_timer, HTTP_STOP_GRACE_MS, 0);
    for (struct connset_conn *e = h->conns.head; e != NULL; e = e->next) {
        struct hconn *c = e->data;

        c->closing = 1;
        uv_timer_stop(&c->req_timer);
        if (c->cs.tls != NULL) {
            tls_conn_close(c->cs.tls, 0);
        }
    }
}

int http_server_port(const struct http_server *h)
{
    return h != NULL ? h->port : 0;
}

unsigned http_server_connections(const struct http_server *h)
{
    return h != NULL ? h->conns.n : 0;
}

/* The port's connection set: its caps, the handshake deadline and each
 * connection's TLS limits. */
static void http_conns_init(struct http_server *h)
{
    struct connset_opts copts;

    memset(&copts, 0, sizeof(copts));
    copts.max_connections = h->opts.max_connections;
    copts.max_per_address = h->opts.max_per_address;
    copts.accept_deadline_ms = opts_header_ms(&h->opts);
    copts.refused_event = "http_conn_refused";
    copts.refusal_logs_open = 1;
    copts.tls.handshake_timeout_ms = h->opts.handshake_timeout_ms;
    copts.tls.idle_timeout_ms = h->opts.idle_timeout_ms;
    copts.tls.write_high = h->opts.write_high;
    copts.tls.write_low = h->opts.write_low;
    copts.tls.write_max = h->opts.write_max;
    connset_init(&h->conns, h->loop, h->ctx, &copts);
}

int http_tls_ctx_new(const char *cert_file, const char *key_file, SSL_CTX **out, char *err,
                     size_t errlen)
{
    struct tls_ctx_opts topts;

    memset(&topts, 0, sizeof(topts));
    topts.cert_file = cert_file;
    topts.key_file = key_file;
    topts.alpn = HTTP_ALPN;
    topts.require_client_cert = 0;
    /* RFC 7301: a browser or tool that offers no ALPN speaks HTTP/1.1. */
    topts.alpn_optional = 1;
    return tls_ctx_server_new(&topts, out, err, errlen);
}

void http_server_set_tls(struct http_server *h, SSL_CTX *ctx)
{
    /* Each open connection's SSL holds its own reference to the context it
     * was accepted with, so the old one lives on until the last of them
     * closes. */
    SSL_CTX_free(h->ctx);
    h->ctx = ctx;
    h->conns.ctx = ctx;
}

int http_server_new(uv_loop_t *loop, const struct http_opts *opts, http_handler_cb handler,
                    void *arg, struct http_server **out, char *err, size_t errlen)
{
    struct http_server *h;
    int rc;

    *out = NULL;
    if (handler == NULL) {
        snprintf(err, errlen, "no handler for the dashboard port");
        return -EINVAL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    h->loop = loop;
    h->opts = *opts;
    h->opts.host = NULL;
    h->opts.port = NULL;
    h->opts.port_file = NULL;
    h->opts.cert_file = NULL;
    h->opts.key_file = NULL;
    h->opts.ca_file = NULL;
    h->handler = handler;
    h->arg = arg;
    rc = http_tls_ctx_new(opts->cert_file, opts->key_file, &h->ctx, err, errlen);
    if (rc < 0) {
        free(h);
        return rc;
    }
    http_conns_init(h);
    uv_tcp_init(loop, &h->listener);
    h->listener.data = h;
    uv_timer_init(loop, &h->stop_timer);
    h->stop_timer.data = h;
    h->handles_open = 2;
    rc = listen_bind(loop, &h->listener, opts->host, opts->port, on_connection, "dashboard port",
                     &h->port, err, errlen);
    if (rc == 0 && opts->port_file != NULL && opts->port_file[0] != '\0') {
        rc = listen_write_port_file(opts->port_file, h->port);
        if (rc < 0) {
            snprintf(err, errlen, "cannot write dashboard port file %s: %s", opts->port_file,
                     error_strerror(rc));
        }
    }
    if (rc < 0) {
        /* The listener closes on the loop; nothing else is open yet. */
        h->stopping = 1;
        uv_close((uv_handle_t *)&h->listener, handle_closed);
        server_maybe_finish(h);
        return rc;
    }
    log_event(LOG_INFO, "http_listening", "addr=%s port=%d alpn=%s", opts->host, h->port,
              HTTP_ALPN);
    *out = h;
    return 0;
}

/* ---- Parsing without a transport (tests, fuzzing) ---- */

int http_parse_stream(const uint8_t *data, size_t len, size_t chunk, http_parsed_cb cb, void *arg)
{
    struct hconn c;
    size_t off = 0;
    int n = 0;
    int rc = 0;

    memset(&c, 0, sizeof(c));
    snprintf(c.cs.peer, sizeof(c.cs.peer), "-");
    llhttp_init(&c.parser, HTTP_REQUEST, &parser_settings);
    c.parser.data = &c;
    if (chunk == 0) {
        chunk = len;
    }
    /* As conn_pump(): every chunk is parsed whole, but for stops at the
     * end of each request, which is handed over before parsing goes on. */
    while (off < len) {
        const char *p = (const char *)data + off;
        size_t plen = len - off < chunk ? len - off : chunk;

        off += plen;
        while (plen > 0) {
            llhttp_errno_t err;
            size_t used;

            if (parse_step(&c, p, plen, &err, &used) < 0) {
                rc = -400;
                goto out;
            }
            if (err == HPE_OK) {
                break;
            }
            if (err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) {
                rc = -(c.fail_status != 0 ? c.fail_status : 400);
                goto out;
            }
            p += used;
            plen -= used;
            if (cb != NULL) {
                cb(c.x, arg);
            }
            n++;
            if (err == HPE_PAUSED_UPGRADE || c.x->close) {
                goto out;
            }
            exchange_free(c.x);
            c.x = NULL;
            llhttp_resume(&c.parser);
        }
    }
out:
    exchange_free(c.x);
    return rc < 0 ? rc : n;
}
