/*
 * metrics_http: coachqd's metrics port, a plain-HTTP listener that answers
 * one thing, GET (or HEAD) /metrics, with what a render callback writes in
 * the Prometheus text format. Anything else gets 404, another method on
 * /metrics 405, a malformed or oversized request 400 or 431.
 *
 * It is deliberately small and separate from the dashboard port: no TLS,
 * no cookie, no user, and nothing it is sent reaches a store or a label.
 * Every connection answers one request and closes (Connection: close).
 *
 * Limits, so scrapers (or anyone who can reach the port) cannot grow
 * memory or hold it: at most max_connections open (more are refused at
 * once), a request of at most METRICS_HTTP_MAX_REQUEST bytes in a fixed
 * buffer, and a fixed deadline from accept to close that bytes do not
 * extend (a slow reader or writer is cut). An answer is at most
 * METRICS_HTTP_MAX_BODY bytes.
 *
 * Loop thread only; the render callback runs on the loop thread too.
 */
#ifndef COACHQ_METRICS_HTTP_H
#define COACHQ_METRICS_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "buf.h"

#define METRICS_HTTP_MAX_REQUEST 4096
#define METRICS_HTTP_MAX_BODY (4u * 1024u * 1024u)

struct metrics_http;

/* Writes the exposition into out (empty, capped at METRICS_HTTP_MAX_BODY).
 * Returns 0, or a negative code: the scrape is answered 500. */
typedef int (*metrics_http_render_cb)(struct buf *out, void *arg);

/* Strings are borrowed for the call to metrics_http_new() only. */
struct metrics_http_opts {
    const char *host;         /* address to listen on */
    const char *port;         /* "0" = any free port */
    const char *port_file;    /* NULL or "" = none; gets the bound port */
    unsigned max_connections; /* 0 = 16 */
    uint64_t deadline_ms;     /* accept to close; 0 = 10 s */
};

/*
 * Binds and listens on loop, writes the port file, and answers scrapes with
 * render(out, arg) (arg borrowed until stopped). Returns 0 and sets *out
 * (freed by metrics_http_stop()), or a negative code with a message in err
 * (size errlen).
 */
int metrics_http_new(uv_loop_t *loop, const struct metrics_http_opts *opts,
                     metrics_http_render_cb render, void *arg, struct metrics_http **out, char *err,
                     size_t errlen);

/* The bound port (0 for NULL). */
int metrics_http_port(const struct metrics_http *m);

/* Open connections now (0 for NULL). */
unsigned metrics_http_connections(const struct metrics_http *m);

/* Connections refused because max_connections were open (0 for NULL). */
uint64_t metrics_http_refused(const struct metrics_http *m);

/* Closes the listener and every connection; m is freed once its handles
 * closed, then done(arg) is called (done may be NULL). m may be NULL (done
 * is called at once). */
typedef void (*metrics_http_stopped_cb)(void *arg);
void metrics_http_stop(struct metrics_http *m, metrics_http_stopped_cb done, void *arg);

#endif
