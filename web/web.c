/*
 * web: the dashboard port's routes (see web.h for the table). This file
 * holds the routing table (web_handle()), the dashboard routes and their
 * jobs, the helpers both halves answer through (web_int.h) and the port's
 * lifetime; sign-in and sign-out are in web_signin.c.
 *
 * Everything here runs on the loop thread except the jobs: every dashboard
 * (dash_build in a read transaction, then its HTML, JSON or CSV) runs on
 * libuv's thread pool, as the sign-in checks do.
 */
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "apitok.h"
#include "auth.h"
#include "buf.h"
#include "creds.h"
#include "dashfmt.h"
#include "day.h"
#include "error.h"
#include "log.h"
#include "people.h"
#include "render_html.h"
#include "store.h"
#include "throttle.h"
#include "validate.h"
#include "web_int.h"
#include "websess.h"

/* Dashboards being built at once on the thread pool (8 threads, shared with
 * the protocol port's reads and the sign-in checks); more get 503. */
#define WEB_MAX_DASH_JOBS 4
#define WEB_NOT_FOUND "There is no such dashboard, or it is not one you may see."

/* ---- Small helpers ----------------------------------------------------- */

int64_t web_now(void)
{
    return (int64_t)time(NULL);
}

/* Answers x; the transport logs it, with the user. */
void web_reply(struct http_exchange *x, const char *user, int status, const char *ctype,
               const struct http_header_kv *h, size_t nh, const void *body, size_t len)
{
    http_set_user(x, user);
    http_respond(x, status, ctype, h, nh, body, len);
}

void web_reply_redirect(struct http_exchange *x, const char *user, const char *location,
                        const char *cookie)
{
    struct http_header_kv h[2] = {{"Location", location}, {"Set-Cookie", cookie}};

    web_reply(x, user, 303, NULL, h, cookie != NULL ? 2 : 1, NULL, 0);
}

static const char *status_message(int status)
{
    switch (status) {
    case 400:
        return "The request is malformed.";
    case 401:
        return "Please sign in.";
    case 403:
        return "You may not see this.";
    case 404:
        return "There is no such page.";
    case 405:
        return "This page does not take that method.";
    case 429:
        return "Too many attempts: wait a moment, then try again.";
    case 503:
        return "The server is busy; try again in a moment.";
    default:
        return "Something went wrong on the server; it has been logged.";
    }
}

/* An HTML error page (ctx may be NULL). */
void web_reply_page_error(struct http_exchange *x, const char *user, int status,
                          const char *message, const struct render_ctx *ctx,
                          const struct http_header_kv *h, size_t nh)
{
    struct buf b;

    buf_init(&b, WEB_MAX_PAGE);
    if (render_error(status, message != NULL ? message : status_message(status), ctx, &b) < 0) {
        buf_free(&b);
        web_reply(x, user, status, "text/plain; charset=utf-8", h, nh, status_message(status),
                  strlen(status_message(status)));
        return;
    }
    web_reply(x, user, status, "text/html; charset=utf-8", h, nh, b.data, b.len);
    buf_free(&b);
}

/* {"error": message[, "field": field]} into b (jansson escapes it). */
static int json_error_body(struct buf *b, const char *message, const char *field)
{
    json_t *o = json_object();
    char *s = NULL;
    int rc = -ENOMEM;

    if (o == NULL || json_object_set_new(o, "error", json_string(message)) < 0) {
        goto out;
    }
    if (field != NULL && field[0] != '\0' &&
        json_object_set_new(o, "field", json_string(field)) < 0) {
        goto out;
    }
    s = json_dumps(o, JSON_COMPACT);
    if (s == NULL) {
        goto out;
    }
    rc = buf_append(b, s, strlen(s));
out:
    free(s);
    json_decref(o);
    return rc;
}

void web_reply_json_error(struct http_exchange *x, const char *user, int status,
                          const char *message, const char *field)
{
    struct buf b;

    buf_init(&b, 64 * 1024);
    if (json_error_body(&b, message, field) < 0) {
        buf_free(&b);
        web_reply(x, user, 500, "application/json", NULL, 0, "{\"error\":\"internal\"}", 20);
        return;
    }
    web_reply(x, user, status, "application/json", NULL, 0, b.data, b.len);
    buf_free(&b);
}

/* The session cookie's Set-Cookie value for id (NULL: clear it). */
void web_session_cookie(char *out, size_t outlen, const char *id, int64_t ttl_s)
{
    snprintf(out, outlen, "%s=%s; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=%" PRId64,
             WEBSESS_COOKIE, id != NULL ? id : "", id != NULL ? ttl_s : (int64_t)0);
}

/* The request's device id (its device cookie, MAC checked) into id:
 * 0, or -EACCES for none, a forged one, or one from before a restart. */
int web_request_device(struct web *w, struct http_exchange *x, char id[WEBSESS_DEVICE_ID_LEN + 1])
{
    char v[WEBSESS_DEVICE_LEN + 2];

    id[0] = '\0';
    if (http_cookie(x, WEBSESS_DEVICE_COOKIE, v, sizeof(v)) != WEBSESS_DEVICE_LEN) {
        return -EACCES;
    }
    return websess_device_check(w->sessions, v, id);
}

/* The caller's live session, or NULL. A session cookie counts only with
 * the device cookie of the browser that signed in: one planted into
 * another browser (from another port of this host, say) is no session. */
static const struct websess *find_session(struct web *w, struct http_exchange *x)
{
    char id[WEBSESS_TOKEN_LEN + 2];
    char device[WEBSESS_DEVICE_ID_LEN + 1];
    const struct websess *s;
    int n = http_cookie(x, WEBSESS_COOKIE, id, sizeof(id));

    if (n != WEBSESS_TOKEN_LEN) {
        return NULL;
    }
    s = websess_find(w->sessions, id, web_now());
    if (s == NULL) {
        return NULL;
    }
    if (web_request_device(w, x, device) < 0 || !websess_token_equal(s->device, device)) {
        log_event(LOG_WARN, "session_device_mismatch", "peer=%s user=%s", http_peer(x), s->user.id);
        return NULL;
    }
    return s;
}

/* The first dashboard u's roles allow, or NULL for none. */
static const char *home_of(unsigned roles)
{
    if ((roles & (AUTH_LEAD | AUTH_ADMIN)) != 0) {
        return "/d/programme";
    }
    if ((roles & AUTH_SECOND_LEVEL) != 0) {
        return "/d/managers";
    }
    if ((roles & AUTH_FRONT_LINE) != 0) {
        return "/d/me";
    }
    if ((roles & AUTH_OBSERVER) != 0) {
        return "/d/observer";
    }
    return NULL;
}

/* ---- Jobs -------------------------------------------------------------- */

struct web_job *web_job_new(struct web *w, struct http_exchange *x, enum web_job_kind kind)
{
    struct web_job *j = calloc(1, sizeof(*j));

    if (j == NULL) {
        return NULL;
    }
    j->w = w;
    j->x = x;
    j->kind = kind;
    j->now_s = web_now();
    j->work.data = j;
    snprintf(j->peer, sizeof(j->peer), "%s", http_peer(x));
    buf_init(&j->body, w->opts.max_page);
    return j;
}

void web_job_free(struct web_job *j)
{
    if (j == NULL) {
        return;
    }
    OPENSSL_cleanse(j->password, sizeof(j->password));
    OPENSSL_cleanse(j->token, sizeof(j->token));
    OPENSSL_cleanse(j->bearer, sizeof(j->bearer));
    dash_free(j->dash);
    buf_free(&j->body);
    free(j);
}

/* Reads who may sign in as j->user (pool thread, read transaction). */
int web_load_person_txn(struct store_txn *t, void *arg)
{
    struct web_job *j = arg;
    Coachq__V1__Person *p = NULL;
    int rc;

    memset(&j->who, 0, sizeof(j->who));
    if (validate_id(j->user) != 0) {
        return -ENOENT;
    }
    rc = people_get(t, j->user, &p);
    if (rc < 0) {
        return rc;
    }
    snprintf(j->who.id, sizeof(j->who.id), "%s", j->user);
    j->who.roles = p->disabled ? 0 : auth_roles_of(p);
    if (p->name != NULL) {
        snprintf(j->user_name, sizeof(j->user_name), "%s", p->name);
    }
    coachq__v1__person__free_unpacked(p, NULL);
    if (j->kind == JOB_SIGNIN) {
        j->have_hash = creds_get_password_txn(t, j->user, j->hash, sizeof(j->hash)) == 0;
    }
    return 0;
}

/* Keeps only [A-Za-z0-9._-] of s (others become '_') in a file name. */
static void sanitise_name(char *s)
{
    for (; *s != '\0'; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok) {
            *s = '_';
        }
    }
}

/* The page frame of a dashboard job: who asked, and its links. */
static void job_ctx(const struct web_job *j, struct render_ctx *ctx)
{
    *ctx = (struct render_ctx){
        .user_id = j->who.id,
        .user_name = j->user_name[0] != '\0' ? j->user_name : NULL,
        .roles = j->who.roles,
        .csrf = j->csrf,
        .api_path = j->api_path,
        .query = j->query,
    };
}

/* A store_view() callback (pool thread): checks that j's user may still
 * see dashboards, then builds the one asked for into j->dash. */
static int dash_view_txn(struct store_txn *t, void *arg)
{
    struct web_job *j = arg;
    Coachq__V1__GetDashboard req = COACHQ__V1__GET_DASHBOARD__INIT;
    int rc;

    if (j->bearer[0] != '\0') {
        /* An API token reads as its user, exactly as their session would
         * (query/auth.c decides both). */
        char why[96];
        rc = auth_identify_token_txn(t, j->bearer, (int64_t)j->now_s * 1000, &j->who, &j->touch,
                                     why, sizeof(why));
        if (rc == -EACCES) {
            j->bearer_bad = 1;
            log_event(LOG_WARN, "api_token_refused", "peer=%s why=%s", j->peer, why);
            return 0;
        }
        if (rc < 0) {
            return rc;
        }
        snprintf(j->user, sizeof(j->user), "%s", j->who.id);
        rc = 0;
    } else {
        /* The session holds who signed in; whether they may still see
         * anything is read afresh, so disabling a user ends their session. */
        rc = web_load_person_txn(t, j);
    }
    if (rc == -ENOENT || (rc == 0 && j->who.roles == 0)) {
        j->revoked = 1;
        return 0;
    }
    if (rc < 0) {
        return rc;
    }
    req.kind = j->dkind;
    req.subject_id = j->subject;
    req.rubric_id = j->rubric;
    req.until_day = j->until_day;
    req.not_coached_weeks = j->not_coached_weeks;
    req.assigned_only = j->assigned_only != 0;
    dash_free(j->dash);
    j->dash = NULL;
    memset(&j->fault, 0, sizeof(j->fault));
    j->dash_rc = dash_build(t, &j->who, &req, &j->w->opts.dash, j->now_s, &j->dash, &j->fault);
    return 0;
}

/* Pool thread: builds the dashboard and formats the answer. */
static void dash_work(uv_work_t *req)
{
    struct web_job *j = req->data;
    const Coachq__V1__Dashboard *m;
    int rc;

    metrics_pool_started(j->w->opts.pool);
    rc = store_view(j->w->store, dash_view_txn, j);

    j->status = 500;
    if (rc < 0) {
        j->dash_rc = rc;
        return;
    }
    if (j->touch) {
        web_bearer_touch(j->w, j->bearer);
    }
    if (j->revoked || j->bearer_bad || j->dash_rc < 0) {
        return;
    }
    m = dash_message(j->dash);
    if (j->fmt == FMT_JSON) {
        rc = dashfmt_json(m, &j->body);
        j->ctype = "application/json";
    } else if (j->fmt == FMT_CSV) {
        const Coachq__V1__Table *t = dashfmt_find_table(m, j->table);
        char name[3 * 70 + 40];
        char from[DAY_TIME_LEN], until[DAY_TIME_LEN];
        if (t == NULL) {
            j->status = 404;
            return;
        }
        rc = dashfmt_csv(t, &j->body);
        j->ctype = "text/csv; charset=utf-8";
        /* The file names the period its figures cover, as the page does. */
        day_format(m->from_day, from, sizeof(from));
        day_format(m->until_day, until, sizeof(until));
        snprintf(name, sizeof(name), "%s%s%s-%s-%s_%s.csv", dashfmt_kind_name(j->dkind),
                 m->subject_id != NULL && m->subject_id[0] != '\0' ? "-" : "",
                 m->subject_id != NULL ? m->subject_id : "", t->id, from, until);
        sanitise_name(name);
        snprintf(j->disposition, sizeof(j->disposition), "attachment; filename=\"%s\"", name);
    } else {
        struct render_ctx ctx;
        job_ctx(j, &ctx);
        rc = render_dashboard(m, &ctx, &j->body);
        j->ctype = "text/html; charset=utf-8";
    }
    j->dash_rc = rc;
    j->status = rc < 0 ? 500 : 200;
}

/* After a dashboard job (loop thread): sends what dash_work() made, or the
 * error page or JSON error its failure calls for. */
static void dash_done(uv_work_t *req, int status)
{
    struct web_job *j = req->data;
    struct web *w = j->w;
    int api = j->fmt != FMT_HTML;
    struct render_ctx ctx;
    int code = 500;
    const char *msg = NULL;
    const char *field = NULL;

    job_ctx(j, &ctx);
    metrics_pool_finished(w->opts.pool);
    w->pending--;
    w->dash_jobs--;
    if (status != 0) {
        code = 503;
    } else if (j->bearer_bad) {
        web_bearer_refused(w, j->x, "token");
        goto out;
    } else if (j->revoked) {
        char cookie[200];
        websess_end(w->sessions, j->session_id);
        web_session_cookie(cookie, sizeof(cookie), NULL, 0);
        if (api) {
            web_reply_json_error(j->x, j->who.id, 401, "Please sign in.", NULL);
        } else {
            web_reply_redirect(j->x, j->who.id, "/signin", cookie);
        }
        goto out;
    } else if (j->status == 200) {
        struct http_header_kv h[1] = {{"Content-Disposition", j->disposition}};
        web_reply(j->x, j->who.id, 200, j->ctype, h, j->disposition[0] != '\0' ? 1 : 0,
                  j->body.data, j->body.len);
        goto out;
    } else if (j->status == 404) {
        code = 404;
        msg = "This dashboard has no such table.";
    } else if (j->dash_rc == -ENOENT) {
        code = 404;
        msg = WEB_NOT_FOUND;
    } else if (j->dash_rc == -EACCES) {
        code = 403;
        msg = "Your roles have no such dashboard.";
    } else if (j->dash_rc == -EINVAL) {
        code = 400;
        msg = j->fault.message[0] != '\0' ? j->fault.message : "The request is malformed.";
        field = j->fault.field;
    } else if (j->dash_rc == -EAGAIN) {
        code = 503;
    } else if (j->dash_rc == -ENOBUFS) {
        msg = "This dashboard is larger than the server sends in one answer: ask for another "
              "rubric or period, or ask the administrator to raise --write-max.";
    }
    if (code >= 500) {
        log_event(LOG_ERROR, "dashboard_failed", "user=%s kind=%d error=%s", j->who.id,
                  (int)j->dkind, error_strerror(j->dash_rc));
    }
    if (api) {
        web_reply_json_error(j->x, j->who.id, code, msg != NULL ? msg : status_message(code),
                             field);
    } else {
        web_reply_page_error(j->x, j->who.id, code, msg, &ctx, NULL, 0);
    }
out:
    web_job_free(j);
}

/* Queues j; on failure answers 503 and frees it. */
static void job_queue(struct web_job *j, uv_work_cb work, uv_after_work_cb done)
{
    int rc;

    metrics_pool_queued(j->w->opts.pool);
    rc = uv_queue_work(j->w->loop, &j->work, work, done);
    if (rc < 0) {
        metrics_pool_started(j->w->opts.pool);
        metrics_pool_finished(j->w->opts.pool);
        log_event(LOG_ERROR, "web_queue_failed", "error=%s", uv_strerror(rc));
        j->w->dash_jobs--;
        web_reply_page_error(j->x, NULL, 503, NULL, NULL, NULL, 0);
        web_job_free(j);
        return;
    }
    j->w->pending++;
}

void web_get_stats(const struct web *w, struct web_stats *out)
{
    *out = w->stats;
}

/* ---- Routes ------------------------------------------------------------ */

static int is_method(struct http_exchange *x, const char *m)
{
    return strcmp(http_method(x), m) == 0;
}

static void reply_method(struct http_exchange *x, const char *user, const char *allow, int api)
{
    struct http_header_kv h[1] = {{"Allow", allow}};

    if (api) {
        http_set_user(x, user);
        http_respond(x, 405, "application/json", h, 1, "{\"error\":\"method not allowed\"}", 30);
        return;
    }
    web_reply_page_error(x, user, 405, NULL, NULL, h, 1);
}

static void route_root(struct web *w, struct http_exchange *x, const struct websess *s)
{
    const char *home;

    (void)w;
    if (s == NULL) {
        web_reply_redirect(x, NULL, "/signin", NULL);
        return;
    }
    home = home_of(s->user.roles);
    if (home == NULL) {
        struct render_ctx ctx = {s->user.id, NULL, s->user.roles, s->csrf, "", ""};
        web_reply_page_error(x, s->user.id, 403,
                             "Your roles have no dashboard: coachq shows dashboards to "
                             "managers, observers, enablement leads and administrators.",
                             &ctx, NULL, 0);
        return;
    }
    web_reply_redirect(x, s->user.id, home, NULL);
}

/*
 * Parses ?rubric=ID&until=YYYY-MM-DD (and ?assigned=0|1, which the kept query
 * leaves out: links to other pages drop it) into r and rebuilds the query to keep
 * on links. Returns 0, or -EINVAL with *field set to the bad parameter.
 */
static int parse_dash_query(const char *q, struct web_route *r, const char **field)
{
    size_t len = strlen(q);
    char until[16];
    char weeks[8];
    char flag[4];
    char enc[200];
    size_t off = 0;
    int n;

    n = http_form_value(q, len, "rubric", r->rubric, sizeof(r->rubric));
    if (n == -ENOENT) {
        r->rubric[0] = '\0';
    } else if (n < 0 || validate_id(r->rubric) != 0) {
        *field = "rubric";
        return -EINVAL;
    }
    n = http_form_value(q, len, "until", until, sizeof(until));
    if (n == -ENOENT) {
        r->until_day = 0;
    } else {
        uint32_t day = 0;
        if (n != 10 || day_parse(until, &day) < 0 || day > INT32_MAX) {
            *field = "until";
            return -EINVAL;
        }
        r->until_day = (int32_t)day;
    }
    n = http_form_value(q, len, "not_coached_weeks", weeks, sizeof(weeks));
    r->not_coached_weeks = 0;
    if (n != -ENOENT) {
        char *end = NULL;
        long v = n > 0 && n < 3 ? strtol(weeks, &end, 10) : 0;

        if (n <= 0 || n >= 3 || end == NULL || *end != '\0' || v < 1 || v > 52) {
            *field = "not_coached_weeks";
            return -EINVAL;
        }
        r->not_coached_weeks = (uint32_t)v;
    }
    n = http_form_value(q, len, "assigned", flag, sizeof(flag));
    r->assigned_only = 0;
    if (n != -ENOENT) {
        if (n != 1 || (flag[0] != '0' && flag[0] != '1')) {
            *field = "assigned";
            return -EINVAL;
        }
        r->assigned_only = flag[0] == '1';
    }
    r->query[0] = '\0';
    if (r->rubric[0] != '\0' && http_url_encode(r->rubric, enc, sizeof(enc)) >= 0) {
        off += (size_t)snprintf(r->query + off, sizeof(r->query) - off, "?rubric=%s", enc);
    }
    if (r->until_day != 0 && off < sizeof(r->query)) {
        off += (size_t)snprintf(r->query + off, sizeof(r->query) - off, "%suntil=%s",
                                off == 0 ? "?" : "&", until);
    }
    if (r->not_coached_weeks != 0 && off < sizeof(r->query)) {
        snprintf(r->query + off, sizeof(r->query) - off, "%snot_coached_weeks=%u",
                 off == 0 ? "?" : "&", (unsigned)r->not_coached_weeks);
    }
    return 0;
}

/* Splits "a/b/c/d" (after a prefix) into at most 4 segments. Returns the
 * count, or -1 for more, or for an empty segment. */
static int split_path(const char *rest, char seg[4][VALIDATE_MAX_ID + 8])
{
    int n = 0;

    while (*rest != '\0') {
        const char *slash = strchr(rest, '/');
        size_t len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
        if (n == 4 || len == 0 || len >= VALIDATE_MAX_ID + 8) {
            return -1;
        }
        memcpy(seg[n], rest, len);
        seg[n][len] = '\0';
        n++;
        if (slash == NULL) {
            break;
        }
        rest = slash + 1;
        if (*rest == '\0') {
            return -1; /* a trailing slash */
        }
    }
    return n;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a > b && strcmp(s + a - b, suffix) == 0;
}

int web_route_parse(const char *rest, const char *query, int api, struct web_route *r,
                    const char **field)
{
    char seg[4][VALIDATE_MAX_ID + 8];
    int n = split_path(rest, seg);
    int has_table = 0;

    memset(r, 0, sizeof(*r));
    *field = NULL;
    /* The segment count alone tells the forms apart (a subject id may be
     * any id, "recent.csv" or "tables" included): 1 kind, 2 kind and
     * subject, 3 kind and a table, 4 kind, subject and a table. */
    if (api && n >= 3) {
        has_table = strcmp(seg[n - 2], "tables") == 0 && ends_with(seg[n - 1], ".csv");
        if (has_table) {
            seg[n - 1][strlen(seg[n - 1]) - 4] = '\0';
        }
    }
    r->kind = n >= 1 ? dashfmt_kind_from_name(seg[0])
                     : COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED;
    if (n < 1 || r->kind == COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED ||
        n > 2 + 2 * has_table || (n >= 3 && !has_table) || (!api && n > 2)) {
        return -ENOENT;
    }
    r->format = has_table ? WEB_ROUTE_CSV : api ? WEB_ROUTE_JSON : WEB_ROUTE_HTML;
    if (n - 2 * has_table == 2) {
        if (validate_id(seg[1]) != 0) {
            return -ENXIO;
        }
        memcpy(r->subject, seg[1], strlen(seg[1]) + 1);
    }
    if (has_table) {
        size_t tl = strlen(seg[n - 1]);
        if (tl >= sizeof(r->table)) {
            tl = 0; /* no table has such an id: 404 later */
        }
        memcpy(r->table, seg[n - 1], tl);
        r->table[tl] = '\0';
    }
    return parse_dash_query(query, r, field);
}

/* ---- API tokens ----------------------------------------------------- */

static void route_dashboard(struct web *w, struct http_exchange *x, const struct websess *s,
                            const char *bearer, const char *rest, int api);

void web_bearer_refused(struct web *w, struct http_exchange *x, const char *why)
{
    static const struct http_header_kv h[1] = {{"WWW-Authenticate", "Bearer realm=\"coachq\""}};
    uint64_t now = uv_now(w->loop);
    char addr[64];

    throttle_addr_key(http_peer(x), addr, sizeof(addr));
    throttle_fail(w->addr_fails, addr, now);
    w->stats.token_failures++;
    log_event(LOG_WARN, "api_token_failed", "peer=%s why=%s", http_peer(x), why);
    http_set_user(x, NULL);
    http_respond(x, 401, "application/json", h, 1,
                 "{\"error\":\"The API token is unknown, revoked or expired, or its user may not "
                 "sign in.\"}",
                 sizeof("{\"error\":\"The API token is unknown, revoked or expired, or its user "
                        "may not sign in.\"}") -
                     1);
}

static int bearer_touch_txn(struct store_txn *t, void *arg)
{
    const char *bearer = arg;

    return apitok_touch_txn(t, bearer, (int64_t)web_now() * 1000);
}

void web_bearer_touch(struct web *w, const char *bearer)
{
    int rc = store_exec(w->store, bearer_touch_txn, (void *)bearer);

    if (rc < 0) {
        log_event(LOG_WARN, "api_token_touch_failed", "error=%s", error_strerror(rc));
    }
}

/* The dashboard API for a bearer token: as for a session, on the pool. */
static void route_dashboard_bearer(struct web *w, struct http_exchange *x, const char *bearer,
                                   const struct web_route *r, int prc, const char *field)
{
    struct web_job *j;

    if (w->dash_jobs >= WEB_MAX_DASH_JOBS) {
        web_reply_json_error(x, NULL, 503, "The server is busy: try again shortly.", NULL);
        return;
    }
    if (prc == -ENXIO) {
        web_reply_json_error(x, NULL, 404, WEB_NOT_FOUND, NULL);
        return;
    }
    if (prc < 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "The %s parameter is malformed: %s.", field,
                 strcmp(field, "until") == 0               ? "give a date as YYYY-MM-DD"
                 : strcmp(field, "not_coached_weeks") == 0 ? "give a number of weeks from 1 to 52"
                 : strcmp(field, "assigned") == 0
                     ? "give 1 for assigned observations only, or 0"
                     : "give a rubric id such as coaching-conversation");
        web_reply_json_error(x, NULL, 400, msg, field);
        return;
    }
    j = web_job_new(w, x, JOB_DASH);
    if (j == NULL) {
        web_reply_json_error(x, NULL, 500, "Out of memory.", NULL);
        return;
    }
    snprintf(j->bearer, sizeof(j->bearer), "%s", bearer);
    j->dkind = r->kind;
    j->fmt = r->format == WEB_ROUTE_CSV ? FMT_CSV : FMT_JSON;
    memcpy(j->subject, r->subject, sizeof(j->subject));
    memcpy(j->table, r->table, sizeof(j->table));
    memcpy(j->rubric, r->rubric, sizeof(j->rubric));
    j->until_day = r->until_day;
    j->not_coached_weeks = r->not_coached_weeks;
    j->assigned_only = r->assigned_only;
    w->dash_jobs++;
    job_queue(j, dash_work, dash_done);
}

/* Whether the query string carries what looks like a credential: a token
 * in a URL ends up in logs, histories and Referer headers, so it is
 * refused rather than used. */
static int query_has_token(const char *q)
{
    return strstr(q, APITOK_PREFIX) != NULL || strstr(q, "access_token=") != NULL ||
           strstr(q, "bearer=") != NULL;
}

/*
 * A request with an Authorization header: only "Bearer TOKEN" on a GET
 * under /api/v1/ (dashboards' JSON and CSV, the feed); everything else is
 * refused, so a token never opens an HTML page or changes anything.
 */
static void route_bearer(struct web *w, struct http_exchange *x, const char *path,
                         const char *authz)
{
    static const struct http_header_kv h[1] = {{"WWW-Authenticate", "Bearer realm=\"coachq\""}};
    static const char only_api[] =
        "{\"error\":\"API tokens are accepted only on GET requests under /api/v1/.\"}";
    char addr[64];
    uint64_t wait;
    const char *tok;

    if (strncmp(path, "/api/v1/", 8) != 0 || !is_method(x, "GET")) {
        http_respond(x, 401, "application/json", h, 1, only_api, sizeof(only_api) - 1);
        return;
    }
    throttle_addr_key(http_peer(x), addr, sizeof(addr));
    wait = throttle_wait_ms(w->addr_fails, addr, uv_now(w->loop));
    if (wait > 0) {
        char secs[24];
        struct http_header_kv ra[1] = {{"Retry-After", secs}};
        snprintf(secs, sizeof(secs), "%llu", (unsigned long long)((wait + 999) / 1000));
        w->stats.throttled++;
        http_respond(x, 429, "application/json", ra, 1,
                     "{\"error\":\"Too many failed attempts from your address: wait, then try "
                     "again.\"}",
                     sizeof("{\"error\":\"Too many failed attempts from your address: wait, "
                            "then try again.\"}") -
                         1);
        return;
    }
    if (strncasecmp(authz, "Bearer ", 7) != 0) {
        web_bearer_refused(w, x, "not_bearer");
        return;
    }
    tok = authz + 7;
    while (*tok == ' ') {
        tok++;
    }
    if (!apitok_well_formed(tok)) {
        web_bearer_refused(w, x, "malformed");
        return;
    }
    if (strncmp(path, "/api/v1/dashboards/", 19) == 0) {
        route_dashboard(w, x, NULL, tok, path + 19, 1);
    } else if (strcmp(path, "/api/v1/feed/observations") == 0) {
        web_feed_route(w, x, NULL, tok);
    } else {
        web_reply_json_error(x, NULL, 404, "There is no such API path.", NULL);
    }
}

/*
 * GET /d/KIND[/SUBJECT] (api 0) or /api/v1/dashboards/KIND[/SUBJECT]
 * [/tables/TABLE.csv] (api 1); rest is what follows the prefix. The
 * segment count alone tells the forms apart (a subject id may be any id,
 * "recent.csv" or "tables" included): 1 kind, 2 kind and subject, 3 kind
 * and a table, 4 kind, subject and a table.
 */
static void route_dashboard(struct web *w, struct http_exchange *x, const struct websess *s,
                            const char *bearer, const char *rest, int api)
{
    const char *field = NULL;
    struct web_job *j;
    struct web_route r;
    int prc = web_route_parse(rest, http_query(x), api, &r, &field);

    if (prc == -ENOENT) {
        if (api) {
            web_reply_json_error(x, s != NULL ? s->user.id : NULL, 404,
                                 "There is no such API path.", NULL);
        } else {
            web_reply_page_error(x, s != NULL ? s->user.id : NULL, 404, NULL, NULL, NULL, 0);
        }
        return;
    }
    if (!is_method(x, "GET")) {
        reply_method(x, s != NULL ? s->user.id : NULL, "GET", api);
        return;
    }
    if (s == NULL && bearer == NULL) {
        if (api) {
            web_reply_json_error(x, NULL, 401, "Please sign in.", NULL);
        } else {
            web_reply_redirect(x, NULL, "/signin", NULL);
        }
        return;
    }
    if (s == NULL) {
        route_dashboard_bearer(w, x, bearer, &r, prc, field);
        return;
    }
    if (w->dash_jobs >= WEB_MAX_DASH_JOBS) {
        /* The pool also serves the protocol port's reads: browsers wait. */
        if (api) {
            web_reply_json_error(x, s->user.id, 503, "The server is busy: try again shortly.",
                                 NULL);
        } else {
            web_reply_page_error(x, s->user.id, 503, NULL, NULL, NULL, 0);
        }
        return;
    }
    if (prc == -ENXIO) {
        if (api) {
            web_reply_json_error(x, s->user.id, 404, WEB_NOT_FOUND, NULL);
        } else {
            web_reply_page_error(x, s->user.id, 404, WEB_NOT_FOUND, NULL, NULL, 0);
        }
        return;
    }
    if (prc < 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "The %s parameter is malformed: %s.", field,
                 strcmp(field, "until") == 0               ? "give a date as YYYY-MM-DD"
                 : strcmp(field, "not_coached_weeks") == 0 ? "give a number of weeks from 1 to 52"
                 : strcmp(field, "assigned") == 0
                     ? "give 1 for assigned observations only, or 0"
                     : "give a rubric id such as coaching-conversation");
        if (api) {
            web_reply_json_error(x, s->user.id, 400, msg, field);
        } else {
            struct render_ctx ctx = {s->user.id, NULL, s->user.roles, s->csrf, "", ""};
            web_reply_page_error(x, s->user.id, 400, msg, &ctx, NULL, 0);
        }
        return;
    }
    j = web_job_new(w, x, JOB_DASH);
    if (j == NULL) {
        web_reply_page_error(x, s->user.id, 500, NULL, NULL, NULL, 0);
        return;
    }
    snprintf(j->user, sizeof(j->user), "%s", s->user.id);
    j->who = s->user;
    snprintf(j->session_id, sizeof(j->session_id), "%s", s->id);
    snprintf(j->csrf, sizeof(j->csrf), "%s", s->csrf);
    j->dkind = r.kind;
    j->fmt = r.format == WEB_ROUTE_CSV ? FMT_CSV : r.format == WEB_ROUTE_JSON ? FMT_JSON : FMT_HTML;
    memcpy(j->subject, r.subject, sizeof(j->subject));
    memcpy(j->table, r.table, sizeof(j->table));
    memcpy(j->rubric, r.rubric, sizeof(j->rubric));
    j->until_day = r.until_day;
    j->not_coached_weeks = r.not_coached_weeks;
    j->assigned_only = r.assigned_only;
    memcpy(j->query, r.query, sizeof(j->query));
    snprintf(j->api_path, sizeof(j->api_path), "/api/v1/dashboards/%s%s%s",
             dashfmt_kind_name(r.kind), j->subject[0] != '\0' ? "/" : "", j->subject);
    w->dash_jobs++;
    job_queue(j, dash_work, dash_done);
}

void web_handle(struct http_exchange *x, void *arg)
{
    struct web *w = arg;
    const char *path = http_path(x);
    const char *authz = http_header(x, "Authorization");
    const struct websess *s;
    const char *user;

    if (strncmp(path, "/api/", 5) == 0 && query_has_token(http_query(x))) {
        web_reply_json_error(x, NULL, 400,
                             "Credentials are not accepted in the URL: send the API token in "
                             "an Authorization: Bearer header.",
                             "query");
        return;
    }
    if (authz != NULL) {
        route_bearer(w, x, path, authz);
        return;
    }
    s = find_session(w, x);
    user = s != NULL ? s->user.id : NULL;
    if (strcmp(path, "/") == 0) {
        if (!is_method(x, "GET")) {
            reply_method(x, user, "GET", 0);
            return;
        }
        route_root(w, x, s);
    } else if (strcmp(path, "/signin") == 0) {
        if (is_method(x, "GET")) {
            web_signin_route_form(w, x);
        } else if (is_method(x, "POST")) {
            web_signin_route_post(w, x);
        } else {
            reply_method(x, user, "GET, POST", 0);
        }
    } else if (strcmp(path, "/signin/link") == 0) {
        if (is_method(x, "GET")) {
            web_signin_route_link_page(w, x);
        } else if (is_method(x, "POST")) {
            web_signin_route_link_post(w, x);
        } else {
            reply_method(x, user, "GET, POST", 0);
        }
    } else if (strcmp(path, "/signout") == 0) {
        if (!is_method(x, "POST")) {
            reply_method(x, user, "POST", 0);
            return;
        }
        web_signin_route_signout(w, x, s);
    } else if (strcmp(path, "/static/coachq.css") == 0) {
        size_t len = 0;
        const char *css;
        if (!is_method(x, "GET")) {
            reply_method(x, user, "GET", 0);
            return;
        }
        css = render_css(&len);
        web_reply(x, user, 200, "text/css; charset=utf-8", NULL, 0, css, len);
    } else if (strncmp(path, "/d/", 3) == 0) {
        route_dashboard(w, x, s, NULL, path + 3, 0);
    } else if (strncmp(path, "/api/v1/dashboards/", 19) == 0) {
        route_dashboard(w, x, s, NULL, path + 19, 1);
    } else if (strcmp(path, "/api/v1/feed/observations") == 0) {
        if (!is_method(x, "GET")) {
            reply_method(x, user, "GET", 1);
        } else if (s == NULL) {
            web_reply_json_error(x, NULL, 401, "Please sign in.", NULL);
        } else {
            web_feed_route(w, x, s, NULL);
        }
    } else if (strncmp(path, "/api/", 5) == 0) {
        web_reply_json_error(x, user, 404, "There is no such API path.", NULL);
    } else {
        web_reply_page_error(x, user, 404, NULL, NULL, NULL, 0);
    }
}

/* ---- Lifetime ---------------------------------------------------------- */

int web_new(uv_loop_t *loop, struct store *s, const struct web_opts *o, struct web **out)
{
    struct web *w = calloc(1, sizeof(*w));
    int rc;

    *out = NULL;
    if (w == NULL) {
        return -ENOMEM;
    }
    w->loop = loop;
    w->store = s;
    w->opts = *o;
    if (w->opts.session_ttl_s <= 0) {
        w->opts.session_ttl_s = WEB_DEFAULT_TTL_S;
    }
    if (w->opts.max_page == 0 || w->opts.max_page > WEB_MAX_PAGE) {
        w->opts.max_page = WEB_MAX_PAGE;
    }
    w->sessions = websess_table_new(w->opts.session_ttl_s);
    if (w->sessions == NULL) {
        web_free(w);
        return -ENOMEM;
    }
    rc = web_signin_init(w);
    if (rc < 0) {
        web_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

void web_free(struct web *w)
{
    if (w == NULL) {
        return;
    }
    /* Jobs still waiting belong to exchanges the transport has dropped. */
    while (w->wait_head != NULL) {
        struct web_job *j = w->wait_head;
        w->wait_head = j->qnext;
        web_job_free(j);
    }
    websess_table_free(w->sessions);
    throttle_free(w->addr_fails);
    throttle_free(w->user_fails);
    free(w);
}
