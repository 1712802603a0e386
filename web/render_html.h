/*
 * render_html: a Dashboard (dash.h) as one HTML page with server-rendered
 * SVG charts: no JavaScript, no inline style (the CSP forbids both), usable
 * on a laptop screen and printable. Every text from records or requests is
 * escaped for HTML (and for SVG text, the same rules). Tables show each
 * figure with its n; "insufficient data" cells are marked as such.
 *
 * Also the sign-in page, error pages and the one stylesheet. The page code
 * is render_html.c; the charts inside a dashboard page are render_svg.c,
 * and what both share is the private render_int.h.
 *
 * Ownership and errors, for every function below: the arguments are
 * borrowed for the call only, and the output is appended to out, which the
 * caller owns (a struct buf from buf_init(); its max caps the page). A
 * function returns 0, or -ENOBUFS when the page would pass out's max, or
 * -ENOMEM; after an error out may hold part of a page, which the caller
 * discards. The same input always gives the same bytes.
 *
 * Threads: pure (no loop, no store, no globals but constant tables), so any
 * thread; web.c renders dashboards on libuv's thread pool.
 */
#ifndef COACHQ_RENDER_HTML_H
#define COACHQ_RENDER_HTML_H

#include <stddef.h>

#include "buf.h"
#include "coachq.pb-c.h"

/* What the page frame needs besides the dashboard. Every string is
 * borrowed for the render_*() call it is passed to. */
struct render_ctx {
    const char *user_id;   /* signed-in user */
    const char *user_name; /* may be NULL */
    unsigned roles;        /* enum auth_role bits: which dashboards the nav links */
    const char *csrf;      /* for the sign-out form */
    const char *api_path;  /* "/api/v1/dashboards/manager/flm.a": JSON link, and
                              CSV links are api_path + "/" + table id + ".csv" */
    const char *query;     /* "?rubric=...&until=..." to keep on links, or "" */
};

/* Appends the page of dashboard d, in the frame of ctx (NULL: no user, no
 * JSON or CSV links). Returns 0 or -ENOBUFS / -ENOMEM. */
int render_dashboard(const Coachq__V1__Dashboard *d, const struct render_ctx *ctx, struct buf *out);

/* Appends the sign-in form, with csrf in its hidden field; error (may be
 * NULL) is shown above it. Returns 0 or -ENOBUFS / -ENOMEM. */
int render_signin(const char *csrf, const char *error, struct buf *out);

/* Appends the page a one-time sign-in link opens: a button that POSTs token
 * and csrf to /signin/link (opening the link uses nothing up). Returns 0 or
 * -ENOBUFS / -ENOMEM. */
int render_signin_link(const char *token, const char *csrf, struct buf *out);

/* Appends a small page for an HTTP error status (403, 404, 500...) with
 * message (may be NULL) under its title; ctx may be NULL (not signed in).
 * Returns 0 or -ENOBUFS / -ENOMEM. */
int render_error(int status, const char *message, const struct render_ctx *ctx, struct buf *out);

/* The stylesheet served at /static/coachq.css: static storage, valid for
 * the life of the program, never freed; its length into *len (len may be
 * NULL). Cannot fail. */
const char *render_css(size_t *len);

/* Appends s HTML-escaped (& < > " ' and control characters; malformed
 * UTF-8 as U+FFFD); s may be NULL (nothing). Returns 0 or -ENOBUFS /
 * -ENOMEM. */
int render_escape(struct buf *out, const char *s);

#endif
