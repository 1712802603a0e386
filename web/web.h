/*
 * web: the dashboard port's routes. Sign-in and sign-out, the five
 * dashboards as HTML pages, their JSON under /api/v1 and every table as
 * CSV, each scoped by auth like the protocol (another line's manager: 404).
 *
 *   GET  /                         -> 303 to the user's first dashboard, or /signin
 *   GET  /signin                   sign-in form (sets the device cookie if needed)
 *   POST /signin                   user, password, csrf -> session cookie, 303 /
 *   GET  /signin/link?token=T      one-time link's page: "Continue to sign in" (sets the
 *                                  device cookie if needed; uses nothing up)
 *   POST /signin/link              token, csrf -> the link is used up, session cookie, 303 /
 *   POST /signout                  csrf -> cookie cleared, 303 /signin
 *   GET  /static/coachq.css
 *   GET  /d/managers[/SLM]         My managers
 *   GET  /d/manager/FLM            Manager detail
 *   GET  /d/programme              Programme impact
 *   GET  /d/observers              Observer reliability
 *   GET  /d/me                     My coaching
 *   GET  /d/observer[/OBS]         My reliability (an observer's own)
 *   GET  /api/v1/dashboards/KIND[/SUBJECT]            the Dashboard as JSON
 *   GET  /api/v1/dashboards/KIND[/SUBJECT]/tables/TABLE.csv  one table as CSV
 *   (every dashboard URL takes ?rubric=ID&until=YYYY-MM-DD)
 *   GET  /api/v1/feed/observations?after=SEQ[&limit=N][&wait=S]  the change feed
 *                                  (web_feed.c): NDJSON, or CSV with Accept: text/csv
 *
 * API tokens (store/apitok.h): "Authorization: Bearer cqt_..." stands for a
 * session on GET requests under /api/v1/ only, read as its user exactly
 * like their browser session (query/auth.h); any other request that
 * carries an Authorization header is refused 401, and a token in the query
 * string 400. A failed token counts against the address's sign-in budget.
 *
 * Cookies: __Host-coachq_session (HttpOnly; Secure; SameSite=Strict;
 * Path=/; Max-Age; no Domain) and __Host-coachq_device (the same but
 * SameSite=Lax; set by the sign-in pages; see websess.h). A session counts
 * only with the device cookie it was signed in with. Signing in ends the
 * browser's previous session.
 * Every POST checks the CSRF token (form field csrf against the session's,
 * or for sign-in and links a pre-session token the server made, an HMAC of
 * the device id) and the Origin header when sent.
 *
 * The routing table and the dashboard routes are web.c, sign-in and
 * sign-out web_signin.c (what they share: the private web_int.h); the
 * pages are render_html.h, the sessions websess.h, the sign-in budgets
 * throttle.h, the transport http.h.
 *
 * Threads: a struct web lives on the loop thread. Password checks, link
 * look-ups and dashboards run as jobs on libuv's thread pool, each
 * touching only its own job and the store, and are answered from the loop
 * thread. Errors are answered to the browser where they happen (a page, or
 * JSON under /api/) and logged once there; nothing here returns them.
 */
#ifndef COACHQ_WEB_H
#define COACHQ_WEB_H

#include <stdint.h>

#include <uv.h>

#include "dash.h"
#include "http.h"
#include "metrics.h"
#include "validate.h"

struct store;
struct web;

/* What web_new() copies. */
struct web_opts {
    struct dash_opts dash;     /* the dashboards' thresholds */
    int64_t session_ttl_s;     /* a session's lifetime (<= 0: 8 hours) */
    size_t max_page;           /* largest answer (0, or over 8 MiB: 8 MiB); keep it below the
                                  connection's write cap or the page never arrives */
    struct metrics_pool *pool; /* counts the jobs on the thread pool (metrics.h); borrowed
                                  until web_free(); NULL: not counted */
};

/* Counters since start (loop thread), for logs and metrics. */
struct web_stats {
    uint64_t signins;         /* sessions started */
    uint64_t signin_failures; /* wrong user or password (checked) */
    uint64_t link_failures;   /* unknown, used or expired sign-in links */
    uint64_t throttled;       /* sign-ins refused 429 (over budget, or one at a time) */
    uint64_t busy;            /* sign-ins refused 503 (queue full) */
    uint64_t token_failures;  /* API tokens refused (unknown, revoked, expired, malformed) */
};

/* A dashboard URL, parsed: what follows /d/ or /api/v1/dashboards/. */
enum web_route_format {
    WEB_ROUTE_HTML,
    WEB_ROUTE_JSON,
    WEB_ROUTE_CSV,
};

struct web_route {
    Coachq__V1__DashboardKind kind;
    enum web_route_format format;
    char subject[VALIDATE_MAX_ID + 1]; /* "" when the URL names none */
    char table[VALIDATE_MAX_ID + 1];   /* TABLE of TABLE.csv, or "" */
    char rubric[VALIDATE_MAX_ID + 1];  /* ?rubric=, or "" */
    int32_t until_day;                 /* ?until=, days since 1970-01-01; 0 when absent */
    uint32_t not_coached_weeks;        /* ?not_coached_weeks=, 1..52; 0 when absent */
    int assigned_only;                 /* ?assigned=1 (0 or absent: every observation); not
                                          kept in query: links to other pages drop it */
    char query[256];                   /* the query again, as links keep it ("" or "?...") */
};

/*
 * Parses a dashboard URL: rest is the decoded path after the prefix, query
 * the raw query (both borrowed for the call), api 1 for the JSON/CSV
 * prefix. Fills *r and returns 0; -ENOENT when no such path exists (404
 * before anything else), -ENXIO when the subject is not an id (404 once
 * signed in), -EINVAL when a query parameter is malformed (*field names
 * it). Pure: no store, no loop; any thread.
 */
int web_route_parse(const char *rest, const char *query, int api, struct web_route *r,
                    const char **field);

/*
 * Makes the dashboard port's routes on loop over store s: both are
 * borrowed until web_free() and must outlive every job (see web_free());
 * o is copied. Returns 0 and sets *out (the caller owns it: free with
 * web_free()), or -ENOMEM, or the error of making the hash that unknown
 * users' passwords are checked against (*out is then NULL). Loop thread.
 */
int web_new(uv_loop_t *loop, struct store *s, const struct web_opts *o, struct web **out);

/* Wakes the change feeds waiting for new records (long poll): call after
 * every commit of observations (the server does, on its store notify).
 * Loop thread. */
void web_feed_wake(struct web *w);

/* Copies w's counters into out (caller's). Loop thread. */
void web_get_stats(const struct web *w, struct web_stats *out);

/*
 * The http_handler_cb to give http_server_new() with arg = the web: answers
 * x (borrowed until answered, see http.h) now or, for a sign-in check or a
 * dashboard, from the loop thread once its job on the pool is done. Loop
 * thread.
 */
void web_handle(struct http_exchange *x, void *arg);

/*
 * Frees w with its sessions and failure budgets, and the sign-ins still
 * waiting for a pool slot (their exchanges are the transport's, already
 * dropped). Call it once no job is on the pool: after the HTTP server
 * stopped and the loop ran down (uv_run() returned). NULL is a no-op.
 */
void web_free(struct web *w);

#endif
