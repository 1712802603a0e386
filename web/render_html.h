/*
 * render_html: a Dashboard (dash.h) as one HTML page with server-rendered
 * SVG charts: no JavaScript, no inline style (the CSP forbids both), usable
 * on a laptop screen and printable. Every text from records or requests is
 * escaped for HTML (and for SVG text, the same rules). Tables show each
 * figure with its n; "insufficient data" cells are marked as such.
 *
 * Also the sign-in page, error pages and the one stylesheet.
 */
#ifndef COACHQ_RENDER_HTML_H
#define COACHQ_RENDER_HTML_H

#include <stddef.h>

#include "buf.h"
#include "coachq.pb-c.h"

/* What the page frame needs besides the dashboard. */
struct render_ctx {
    const char *user_id;   /* signed-in user */
    const char *user_name; /* may be NULL */
    unsigned roles;        /* enum auth_role bits: which dashboards the nav links */
    const char *csrf;      /* for the sign-out form */
    const char *api_path;  /* "/api/v1/dashboards/manager/flm.a": JSON link, and
                              CSV links are api_path + "/" + table id + ".csv" */
    const char *query;     /* "?rubric=...&until=..." to keep on links, or "" */
};

/* Appends the page to out. Returns 0 or -ENOBUFS / -ENOMEM. */
int render_dashboard(const Coachq__V1__Dashboard *d, const struct render_ctx *ctx, struct buf *out);
/* The sign-in form; error (may be NULL) is shown above it. */
int render_signin(const char *csrf, const char *error, struct buf *out);
/* The page a one-time sign-in link opens: a button that POSTs token and
 * csrf to /signin/link (opening the link uses nothing up). */
int render_signin_link(const char *token, const char *csrf, struct buf *out);
/* A small page for 403/404/500...; ctx may be NULL (not signed in). */
int render_error(int status, const char *message, const struct render_ctx *ctx, struct buf *out);
/* The stylesheet served at /static/coachq.css. */
const char *render_css(size_t *len);

/* Appends s HTML-escaped (& < > " ' and control characters). */
int render_escape(struct buf *out, const char *s);

#endif
