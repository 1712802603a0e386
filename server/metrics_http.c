/*
 * metrics_http: the metrics port (see metrics_http.h). Each connection has
 * a fixed request buffer, one deadline timer, and at most one answer in
 * flight; after the answer it shuts its side down, drains what the peer
 * still sends (so the close is not a reset that could lose the answer) and
 * closes on the peer's EOF or the deadline.
 */
#include "metrics_http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listen.h"
#include "log.h"

#define METRICS_HTTP_DEFAULT_CONNS 16
#define METRICS_HTTP_DEFAULT_DEADLINE_MS 10000

struct metrics_http {
    uv_loop_t *loop;
    uv_tcp_t listener;
    metrics_http_render_cb render;
    void *arg;
    unsigned max_connections;
    uint64_t deadline_ms;
    int port;
    unsigned nconns; /* accepted and not yet freed */
    uint64_t refused;
    uint64_t next_id;
    int stopping;
    int listener_closed;
    struct mconn *head;
    metrics_http_stopped_cb done;
    void *done_arg;
};

struct mconn {
    struct metrics_http *m;
    uv_tcp_t tcp;
    uv_timer_t deadline;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    int handles;  /* initialised handles not yet closed */
    int answered; /* the answer is queued; further bytes are drained */
    int closing;
    uint64_t id;
    struct buf out; /* the answer while it is written */
    size_t len;
    char req[METRICS_HTTP_MAX_REQUEST];
    struct mconn *prev, *next;
};

static void server_maybe_done(struct metrics_http *m)
{
    metrics_http_stopped_cb done;
    void *arg;

    if (!m->stopping || !m->listener_closed || m->nconns > 0) {
        return;
    }
    done = m->done;
    arg = m->done_arg;
    free(m);
    if (done != NULL) {
        done(arg);
    }
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct mconn *c = h->data;
    struct metrics_http *m = c->m;

    if (--c->handles > 0) {
        return;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        m->head = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    buf_free(&c->out);
    free(c);
    m->nconns--;
    server_maybe_done(m);
}

static void conn_close(struct mconn *c)
{
    if (c->closing) {
        return;
    }
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->deadline, conn_handle_closed);
}

static void on_deadline(uv_timer_t *t)
{
    struct mconn *c = t->data;

    if (!c->answered) {
        log_event(LOG_WARN, "metrics_timeout", "conn=%" PRIu64 " bytes=%zu", c->id, c->len);
    }
    conn_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)req;
    (void)status;
    /* The peer's EOF (or the deadline) closes the connection. */
}

static void on_written(uv_write_t *req, int status)
{
    struct mconn *c = req->data;

    buf_free(&c->out);
    if (status < 0 || c->closing) {
        conn_close(c);
        return;
    }
    c->sreq.data = c;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
        conn_close(c);
    }
}

/* Queues the whole answer (head and body) and stops taking requests. */
static void conn_answer(struct mconn *c, int status, const char *reason, const char *extra,
                        const char *ctype, const struct buf *body, int head_only)
{
    char head[512];
    size_t blen = body != NULL ? body->len : 0;
    int n;
    uv_buf_t b;

    c->answered = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    n = snprintf(head, sizeof(head),
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                 "Connection: close\r\n%s\r\n",
                 status, reason, ctype, blen, extra);
    if (n < 0 || (size_t)n >= sizeof(head)) {
        conn_close(c);
        return;
    }
    buf_init(&c->out, (size_t)n + blen);
    if (buf_append(&c->out, head, (size_t)n) < 0 ||
        (!head_only && blen > 0 && buf_append(&c->out, body->data, blen) < 0)) {
        conn_close(c);
        return;
    }
    c->wreq.data = c;
    b = uv_buf_init((char *)c->out.data, (unsigned int)c->out.len);
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        conn_close(c);
    }
}

/* A short plain-text answer for a refusal. */
static void conn_refuse(struct mconn *c, int status, const char *reason, const char *extra)
{
    struct buf body;
    char text[64];
    int n = snprintf(text, sizeof(text), "%d %s\n", status, reason);

    buf_init(&body, sizeof(text));
    if (buf_append(&body, text, (size_t)n) < 0) {
        conn_close(c);
        return;
    }
    conn_answer(c, status, reason, extra, "text/plain; charset=utf-8", &body, 0);
    buf_free(&body);
    log_event(LOG_INFO, "metrics_refused", "conn=%" PRIu64 " status=%d", c->id, status);
}

/* The request line's path is /metrics, optionally with a query. */
static int path_is_metrics(const char *p, size_t n)
{
    static const char want[] = "/metrics";
    size_t w = sizeof(want) - 1;

    return n >= w && memcmp(p, want, w) == 0 && (n == w || p[w] == '?');
}

/* Answers the request whose head (up to its blank line) is in c->req.
 * Only the request line matters: headers are read past, never kept. */
static void conn_handle(struct mconn *c)
{
    const char *line = c->req;
    const char *eol = memchr(line, '\r', c->len);
    const char *sp1, *sp2;
    size_t llen, mlen, plen;
    struct buf body;
    int head_only, rc;

    llen = eol != NULL ? (size_t)(eol - line) : 0;
    sp1 = llen > 0 ? memchr(line, ' ', llen) : NULL;
    sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', llen - (size_t)(sp1 + 1 - line)) : NULL;
    if (sp1 == NULL || sp2 == NULL || sp1 == line || sp2 == sp1 + 1 ||
        (size_t)(line + llen - (sp2 + 1)) != 8 ||
        (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0)) {
        conn_refuse(c, 400, "Bad Request", "");
        return;
    }
    mlen = (size_t)(sp1 - line);
    plen = (size_t)(sp2 - (sp1 + 1));
    if (!path_is_metrics(sp1 + 1, plen)) {
        conn_refuse(c, 404, "Not Found", "");
        return;
    }
    head_only = mlen == 4 && memcmp(line, "HEAD", 4) == 0;
    if (!head_only && !(mlen == 3 && memcmp(line, "GET", 3) == 0)) {
        conn_refuse(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
        return;
    }
    buf_init(&body, METRICS_HTTP_MAX_BODY);
    rc = c->m->render(&body, c->m->arg);
    if (rc < 0) {
        log_event(LOG_ERROR, "metrics_render_failed", "conn=%" PRIu64 " rc=%d", c->id, rc);
        buf_free(&body);
        conn_refuse(c, 500, "Internal Server Error", "");
        return;
    }
    conn_answer(c, 200, "OK", "", "text/plain; version=0.0.4; charset=utf-8", &body, head_only);
    buf_free(&body);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct mconn *c = h->data;

    (void)suggested;
    /* After the answer, the request is no longer needed: what the peer
     * still sends is read over it and dropped. */
    if (c->answered) {
        *b = uv_buf_init(c->req, sizeof(c->req));
        return;
    }
    *b = uv_buf_init(c->req + c->len, (unsigned int)(sizeof(c->req) - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct mconn *c = s->data;
    size_t from;

    (void)b;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    if (nread == 0 || c->answered || c->closing) {
        return;
    }
    /* The blank line may straddle two reads: look from three bytes back. */
    from = c->len > 3 ? c->len - 3 : 0;
    c->len += (size_t)nread;
    for (size_t i = from; i + 4 <= c->len; i++) {
        if (memcmp(c->req + i, "\r\n\r\n", 4) == 0) {
            conn_handle(c);
            return;
        }
    }
    if (c->len == sizeof(c->req)) {
        conn_refuse(c, 431, "Request Header Fields Too Large", "");
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct metrics_http *m = listener->data;
    struct mconn *c;

    if (!listen_admit(m->loop, listener, status, m->stopping, m->nconns, m->max_connections,
                      "metrics_refused")) {
        if (status >= 0) {
            m->refused++;
        }
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        listen_refuse(m->loop, listener, "metrics_refused", "out_of_memory", m->nconns);
        return;
    }
    c->m = m;
    c->id = ++m->next_id;
    uv_tcp_init(m->loop, &c->tcp);
    uv_timer_init(m->loop, &c->deadline);
    c->tcp.data = c;
    c->deadline.data = c;
    c->handles = 2;
    c->next = m->head;
    if (m->head != NULL) {
        m->head->prev = c;
    }
    m->head = c;
    m->nconns++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->deadline, on_deadline, m->deadline_ms, 0);
}

static void listener_closed(uv_handle_t *h)
{
    struct metrics_http *m = h->data;

    m->listener_closed = 1;
    server_maybe_done(m);
}

int metrics_http_new(uv_loop_t *loop, const struct metrics_http_opts *opts,
                     metrics_http_render_cb render, void *arg, struct metrics_http **out, char *err,
                     size_t errlen)
{
    struct metrics_http *m = calloc(1, sizeof(*m));
    int rc;

    *out = NULL;
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    m->loop = loop;
    m->render = render;
    m->arg = arg;
    m->max_connections =
        opts->max_connections != 0 ? opts->max_connections : METRICS_HTTP_DEFAULT_CONNS;
    m->deadline_ms = opts->deadline_ms != 0 ? opts->deadline_ms : METRICS_HTTP_DEFAULT_DEADLINE_MS;
    uv_tcp_init(loop, &m->listener);
    m->listener.data = m;
    rc = listen_bind(loop, &m->listener, opts->host, opts->port, on_connection, "metrics port",
                     &m->port, err, errlen);
    if (rc == 0 && opts->port_file != NULL && opts->port_file[0] != '\0') {
        rc = listen_write_port_file(opts->port_file, m->port);
        if (rc < 0) {
            snprintf(err, errlen, "cannot write metrics port file %s: %s", opts->port_file,
                     strerror(-rc));
        }
    }
    if (rc < 0) {
        /* The listener is closed on the loop; m goes with it. */
        m->stopping = 1;
        uv_close((uv_handle_t *)&m->listener, listener_closed);
        return rc;
    }
    log_event(LOG_INFO, "metrics_listening", "addr=%s port=%d", opts->host, m->port);
    *out = m;
    return 0;
}

int metrics_http_port(const struct metrics_http *m)
{
    return m != NULL ? m->port : 0;
}

unsigned metrics_http_connections(const struct metrics_http *m)
{
    return m != NULL ? m->nconns : 0;
}

uint64_t metrics_http_refused(const struct metrics_http *m)
{
    return m != NULL ? m->refused : 0;
}

void metrics_http_stop(struct metrics_http *m, metrics_http_stopped_cb done, void *arg)
{
    if (m == NULL) {
        if (done != NULL) {
            done(arg);
        }
        return;
    }
    if (m->stopping) {
        return;
    }
    m->stopping = 1;
    m->done = done;
    m->done_arg = arg;
    for (struct mconn *c = m->head; c != NULL; c = c->next) {
        conn_close(c);
    }
    uv_close((uv_handle_t *)&m->listener, listener_closed);
}
