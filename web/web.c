/*
 * web: the dashboard port's routes (see web.h for the table).
 *
 * Everything here runs on the loop thread except the jobs: the password
 * check (scrypt, slow on purpose), the one-time link's write transaction
 * and every dashboard (dash_build in a read transaction, then its HTML,
 * JSON or CSV) run on libuv's thread pool. A link is consumed with
 * store_exec() called from the pool thread: it blocks that worker until
 * the writer committed, never the loop.
 */
#include "day.h"
#include "web.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "creds.h"
#include "dashfmt.h"
#include "error.h"
#include "log.h"
#include "obs_json.h"
#include "people.h"
#include "render_html.h"
#include "audit.h"
#include "store.h"
#include "throttle.h"
#include "validate.h"
#include "websess.h"

#define WEB_DEFAULT_TTL_S (8 * 3600)
/* Password checks (32 MiB of scrypt each) and link look-ups run on libuv's
 * thread pool, which the dashboards and the protocol port's reads share: at
 * most this many at once (coachqd sizes the pool to 8 threads). The rest
 * wait in a queue, at most one per client address and at most
 * WEB_SIGNIN_QUEUE in all (beyond that: 503), and an address with a check
 * running waits its turn behind every other address: one address cannot
 * take the slots, however many connections it opens. */
#define WEB_MAX_SIGNIN_JOBS 2
#define WEB_SIGNIN_QUEUE 64
/* Failure budgets (see throttle.h and docs/operations.md): an address may
 * fail 10 times, a user name 5 times, before each further failure blocks
 * it for 1 s, doubling, up to 15 minutes for an address and 5 minutes for
 * a user (a lock-out an attacker can cause must stay short; the address
 * budget is what stops a spray over many users). A failure is forgotten
 * after 10 minutes. Each table holds at most 4096 keys. */
#define WEB_ADDR_FREE 10
#define WEB_ADDR_MAX_MS (15u * 60u * 1000u)
#define WEB_USER_FREE 5
#define WEB_USER_MAX_MS (5u * 60u * 1000u)
#define WEB_FAIL_BASE_MS 1000u
#define WEB_FAIL_FORGET_MS (10u * 60u * 1000u)
#define WEB_FAIL_KEYS 4096
#define WEB_MAX_PAGE (8u * 1024u * 1024u)
/* Dashboards being built at once on the thread pool (8 threads, shared with
 * the protocol port's reads and the sign-in checks); more get 503. */
#define WEB_MAX_DASH_JOBS 4
#define WEB_MAX_PASSWORD 1024
#define WEB_WRONG "The user or password is wrong."
#define WEB_CSRF_WHY                                                                               \
    "This form was refused: it came from another site or from a page that is no longer valid "     \
    "(missing or wrong CSRF token). Go back, reload the page and try again."
#define WEB_ORIGIN_WHY                                                                             \
    "This form was refused: it was sent from another site (the Origin header does not match)."
#define WEB_NOT_FOUND "There is no such dashboard, or it is not one you may see."
#define WEB_THROTTLED                                                                              \
    "Too many failed sign-ins for this account or from your address. Wait %llu seconds, then "     \
    "try again."
#define WEB_ONE_AT_A_TIME                                                                          \
    "Another sign-in from your address is being checked. Wait a moment, then try again."
#define WEB_DUMMY_PASSWORD "coachq-no-such-user-password"

struct web {
    uv_loop_t *loop;
    struct store *store;
    struct web_opts opts;
    struct websess_table *sessions;
    unsigned pending;
    unsigned signin_jobs; /* sign-in jobs on the pool */
    unsigned dash_jobs;
    /* Sign-in jobs waiting for a pool slot, oldest first (fair queue). */
    struct web_job *wait_head, *wait_tail;
    unsigned waiting;
    struct web_job *running[WEB_MAX_SIGNIN_JOBS];
    struct throttle *addr_fails; /* failure budgets by client address */
    struct throttle *user_fails; /* and by the user name tried */
    struct web_stats stats;
    uint64_t throttle_logged_ms; /* the last signin_throttled line */
    /* A real hash to check unknown users' passwords against, so that the
     * answer takes as long as for a known user. */
    char dummy_hash[160];
};

enum web_job_kind {
    JOB_SIGNIN,
    JOB_LINK,
    JOB_DASH,
};

enum web_format {
    FMT_HTML,
    FMT_JSON,
    FMT_CSV,
};

/* One request's work on the thread pool. Owned by the loop thread except
 * between uv_queue_work() and its after-callback. */
struct web_job {
    uv_work_t work;
    struct web *w;
    struct http_exchange *x;
    enum web_job_kind kind;
    int64_t now_s;
    struct web_job *qnext; /* in the sign-in queue */
    char peer[64];         /* the client, for the audit log */
    char addr[64];         /* its throttle key (throttle_addr_key()) */
    int audit_rc;          /* a failure's audit entry: 0 or why it was not written */

    /* Sign-in (password or link). */
    char device[WEBSESS_DEVICE_ID_LEN + 1]; /* the browser's checked device id */
    char user[VALIDATE_MAX_ID + 1];
    char password[WEB_MAX_PASSWORD + 1];
    char token[WEBSESS_TOKEN_LEN + 1];
    char hash[160];
    int have_hash;
    int known;   /* the user exists and has a password */
    int verdict; /* 0 signed in, -EACCES wrong, -EPERM may not sign in, other: failure */
    struct auth_user who;

    /* Dashboard. */
    char session_id[WEBSESS_TOKEN_LEN + 1];
    char csrf[WEBSESS_TOKEN_LEN + 1];
    Coachq__V1__DashboardKind dkind;
    char subject[VALIDATE_MAX_ID + 1];
    char rubric[VALIDATE_MAX_ID + 1];
    int32_t until_day;
    enum web_format fmt;
    char table[VALIDATE_MAX_ID + 1];
    char api_path[256];
    char query[256];
    char user_name[256];
    int revoked; /* the user was disabled or lost every role meanwhile */
    int dash_rc;
    struct validate_error fault;
    struct dash *dash;

    /* The answer, made on the pool thread. */
    int status;
    const char *ctype;
    char disposition[300];
    struct buf body;
};

/* ---- Small helpers -------------------------------------------------- */

static int64_t web_now(void)
{
    return (int64_t)time(NULL);
}

/* Answers x; the transport logs it, with the user. */
static void reply(struct http_exchange *x, const char *user, int status, const char *ctype,
                  const struct http_header_kv *h, size_t nh, const void *body, size_t len)
{
    http_set_user(x, user);
    http_respond(x, status, ctype, h, nh, body, len);
}

static void reply_redirect(struct http_exchange *x, const char *user, const char *location,
                           const char *cookie)
{
    struct http_header_kv h[2] = {{"Location", location}, {"Set-Cookie", cookie}};

    reply(x, user, 303, NULL, h, cookie != NULL ? 2 : 1, NULL, 0);
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
static void reply_page_error(struct http_exchange *x, const char *user, int status,
                             const char *message, const struct render_ctx *ctx,
                             const struct http_header_kv *h, size_t nh)
{
    struct buf b;

    buf_init(&b, WEB_MAX_PAGE);
    if (render_error(status, message != NULL ? message : status_message(status), ctx, &b) < 0) {
        buf_free(&b);
        reply(x, user, status, "text/plain; charset=utf-8", h, nh, status_message(status),
              strlen(status_message(status)));
        return;
    }
    reply(x, user, status, "text/html; charset=utf-8", h, nh, b.data, b.len);
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

static void reply_json_error(struct http_exchange *x, const char *user, int status,
                             const char *message, const char *field)
{
    struct buf b;

    buf_init(&b, 64 * 1024);
    if (json_error_body(&b, message, field) < 0) {
        buf_free(&b);
        reply(x, user, 500, "application/json", NULL, 0, "{\"error\":\"internal\"}", 20);
        return;
    }
    reply(x, user, status, "application/json", NULL, 0, b.data, b.len);
    buf_free(&b);
}

/* The session cookie's Set-Cookie value for id (NULL: clear it). */
static void session_cookie(char *out, size_t outlen, const char *id, int64_t ttl_s)
{
    snprintf(out, outlen, "%s=%s; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=%" PRId64,
             WEBSESS_COOKIE, id != NULL ? id : "", id != NULL ? ttl_s : (int64_t)0);
}

/* The device cookie's Set-Cookie value for value (see websess.h: Lax,
 * since it grants nothing alone and must survive a link from a mail). */
static void device_cookie(char *out, size_t outlen, const char *value)
{
    snprintf(out, outlen, "%s=%s; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=%d",
             WEBSESS_DEVICE_COOKIE, value, WEBSESS_DEVICE_TTL_S);
}

/* The request's device id (its device cookie, MAC checked) into id:
 * 0, or -EACCES for none, a forged one, or one from before a restart. */
static int request_device(struct web *w, struct http_exchange *x,
                          char id[WEBSESS_DEVICE_ID_LEN + 1])
{
    char v[WEBSESS_DEVICE_LEN + 2];

    id[0] = '\0';
    if (http_cookie(x, WEBSESS_DEVICE_COOKIE, v, sizeof(v)) != WEBSESS_DEVICE_LEN) {
        return -EACCES;
    }
    return websess_device_check(w->sessions, v, id);
}

static int64_t web_ttl(const struct web *w)
{
    return w->opts.session_ttl_s > 0 ? w->opts.session_ttl_s : WEB_DEFAULT_TTL_S;
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
    if (request_device(w, x, device) < 0 || !websess_token_equal(s->device, device)) {
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
    return NULL;
}

/* The Origin header, when sent, must be this very site: NULL, or the
 * reason to show. */
static const char *origin_refusal(struct http_exchange *x)
{
    const char *origin = http_header(x, "Origin");

    if (origin != NULL) {
        const char *host = http_header(x, "Host");
        if (host == NULL || strncmp(origin, "https://", 8) != 0 || strcmp(origin + 8, host) != 0) {
            return WEB_ORIGIN_WHY;
        }
    }
    return NULL;
}

/*
 * The checks every POST of a session passes: the Origin (above), and the
 * form's csrf field must equal expect (the session's). Returns NULL when
 * both hold, or the reason to show.
 */
static const char *csrf_refusal(struct http_exchange *x, const char *expect)
{
    size_t len = 0;
    const uint8_t *body = http_body(x, &len);
    char got[WEBSESS_TOKEN_LEN + 2];
    const char *why = origin_refusal(x);
    int n;

    if (why != NULL) {
        return why;
    }
    if (expect == NULL || strlen(expect) != WEBSESS_TOKEN_LEN) {
        return WEB_CSRF_WHY;
    }
    n = http_form_value((const char *)body, len, "csrf", got, sizeof(got));
    if (n != WEBSESS_TOKEN_LEN || !websess_token_equal(got, expect)) {
        return WEB_CSRF_WHY;
    }
    return NULL;
}

/*
 * The checks of a sign-in POST (password or link): the Origin as for every
 * POST, a valid device cookie (its id into device), and a form csrf field
 * that the server made for that device (websess_presession_token()), so
 * that neither a token nor a cookie the client chose is taken. Returns
 * NULL when all hold, or the reason to show.
 */
static const char *presession_refusal(struct web *w, struct http_exchange *x,
                                      char device[WEBSESS_DEVICE_ID_LEN + 1])
{
    size_t len = 0;
    const uint8_t *body = http_body(x, &len);
    char got[WEBSESS_TOKEN_LEN + 2];
    const char *why = origin_refusal(x);

    if (why != NULL) {
        return why;
    }
    if (request_device(w, x, device) < 0 ||
        http_form_value((const char *)body, len, "csrf", got, sizeof(got)) != WEBSESS_TOKEN_LEN ||
        websess_presession_check(w->sessions, device, got, web_now()) < 0) {
        return WEB_CSRF_WHY;
    }
    return NULL;
}

/* ---- Jobs ----------------------------------------------------------- */

static struct web_job *job_new(struct web *w, struct http_exchange *x, enum web_job_kind kind)
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

static void job_free(struct web_job *j)
{
    if (j == NULL) {
        return;
    }
    OPENSSL_cleanse(j->password, sizeof(j->password));
    OPENSSL_cleanse(j->token, sizeof(j->token));
    dash_free(j->dash);
    buf_free(&j->body);
    free(j);
}

/* Reads who may sign in as j->user (pool thread, read transaction). */
static int load_person_txn(struct store_txn *t, void *arg)
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

/* A failed sign-in's audit entry (write transaction). The actor is
 * nobody ("-"): who tried is not known, only what was tried and from
 * where. */
static int audit_failure_txn(struct store_txn *t, void *arg)
{
    struct web_job *j = arg;
    int link = j->kind == JOB_LINK;
    char detail[100], origin[100];

    snprintf(detail, sizeof(detail), "%s",
             link       ? "unknown, used or expired sign-in link"
             : j->known ? "wrong password"
                        : "unknown user or no password set");
    snprintf(origin, sizeof(origin), "dashboard %s", j->peer);
    return audit_append(t, j->now_s * 1000, "-", link ? "signin.link_failed" : "signin.failed",
                        link || validate_id(j->user) != 0 ? "" : j->user, detail, origin, NULL);
}

/* Pool thread: audits a failure; store_exec() blocks this worker until the
 * commit. How many there can be is bounded by the failure budgets. */
static void audit_failure(struct web_job *j)
{
    j->audit_rc = store_exec(j->w->store, audit_failure_txn, j);
}

/* Pool thread: the password check. Unknown users, users without a password
 * and wrong passwords all cost one scrypt and get the same answer. */
static void signin_work(uv_work_t *req)
{
    struct web_job *j = req->data;
    int rc = validate_id(j->user) == 0 ? store_view(j->w->store, load_person_txn, j) : -ENOENT;
    int check;

    j->known = rc == 0 && j->have_hash;
    check = creds_check_password(j->password, j->known ? j->hash : j->w->dummy_hash);
    if (rc < 0 && rc != -ENOENT) {
        j->verdict = rc;
    } else if (!j->known || check != 0) {
        j->verdict = -EACCES;
    } else if (j->who.roles == 0) {
        j->verdict = -EPERM;
    } else {
        j->verdict = 0;
    }
    OPENSSL_cleanse(j->password, sizeof(j->password));
    OPENSSL_cleanse(j->hash, sizeof(j->hash));
    if (j->verdict == -EACCES) {
        audit_failure(j);
    }
}

static int link_consume_txn(struct store_txn *t, void *arg)
{
    struct web_job *j = arg;

    j->user[0] = '\0';
    j->verdict = creds_link_consume_txn(t, j->token, j->now_s, j->user);
    /* An unknown or expired token commits too: an expired one is deleted. */
    return j->verdict == -ENOENT ? 0 : j->verdict;
}

/* Pool thread: consumes the link in a write transaction (store_exec()
 * blocks this worker until the commit), then reads the person. */
static int link_exists_txn(struct store_txn *t, void *arg)
{
    struct web_job *j = arg;

    return creds_link_exists_txn(t, j->token);
}

static void link_work(uv_work_t *req)
{
    struct web_job *j = req->data;
    /* A guessed token costs a read, never a write transaction: only a
     * stored one goes to the writer to be used up. */
    int rc = store_view(j->w->store, link_exists_txn, j);

    if (rc == 0) {
        rc = store_exec(j->w->store, link_consume_txn, j);
    }

    if (rc == 0) {
        rc = j->verdict;
    }
    if (rc == 0) {
        rc = store_view(j->w->store, load_person_txn, j);
    }
    if (rc == -ENOENT) {
        j->verdict = -EACCES;
        audit_failure(j);
    } else if (rc < 0) {
        j->verdict = rc;
    } else {
        j->verdict = j->who.roles == 0 ? -EPERM : 0;
    }
}

/* Counts a failed check against the address's and the user's budgets,
 * logs it with the running total (the failure metric) and the waits it
 * caused. The user tried is logged only when it is an id: a password typed
 * into the user field must not land in the log. */
static void signin_count_failure(struct web *w, struct web_job *j)
{
    uint64_t now = uv_now(w->loop);
    uint64_t addr_wait = throttle_fail(w->addr_fails, j->addr, now);
    uint64_t user_wait = j->kind == JOB_SIGNIN ? throttle_fail(w->user_fails, j->user, now) : 0;
    char q[80];

    if (j->kind == JOB_LINK) {
        w->stats.link_failures++;
    } else {
        w->stats.signin_failures++;
    }
    log_event(LOG_WARN, "signin_refused",
              "peer=%s via=%s reason=wrong user=%s failures=%" PRIu64 " link_failures=%" PRIu64
              " addr_wait_ms=%" PRIu64 " user_wait_ms=%" PRIu64 " audit=%s",
              j->peer, j->kind == JOB_LINK ? "link" : "password",
              j->kind == JOB_LINK || validate_id(j->user) != 0 ? "-"
                                                               : log_quote(j->user, q, sizeof(q)),
              w->stats.signin_failures, w->stats.link_failures, addr_wait, user_wait,
              j->audit_rc == 0 ? "ok" : error_strerror(j->audit_rc));
}

static void signin_pump(struct web *w);

static void signin_done(uv_work_t *req, int status)
{
    struct web_job *j = req->data;
    struct web *w = j->w;
    const struct websess *s;
    char cookie[200];
    struct http_header_kv h[2];
    struct buf b;

    w->pending--;
    w->signin_jobs--;
    for (size_t i = 0; i < WEB_MAX_SIGNIN_JOBS; i++) {
        if (w->running[i] == j) {
            w->running[i] = NULL;
        }
    }
    signin_pump(w);
    if (status != 0) {
        reply_page_error(j->x, NULL, 503, NULL, NULL, NULL, 0);
        goto out;
    }
    if (j->verdict == -EACCES) {
        signin_count_failure(w, j);
    }
    if (j->verdict == -EACCES || j->verdict == -EPERM) {
        const char *why = j->kind == JOB_LINK    ? "This sign-in link is unknown, used or expired: "
                                                   "ask an administrator for a new one."
                          : j->verdict == -EPERM ? "This account may not sign in to the dashboards."
                                                 : WEB_WRONG;
        char csrf[WEBSESS_TOKEN_LEN + 1];
        int ok = websess_presession_token(w->sessions, j->device, web_now(), csrf) == 0;

        if (j->verdict == -EPERM) {
            log_event(LOG_INFO, "signin_refused", "peer=%s via=%s reason=disabled_or_no_role",
                      j->peer, j->kind == JOB_LINK ? "link" : "password");
        }
        buf_init(&b, WEB_MAX_PAGE);
        if (!ok || render_signin(csrf, why, &b) < 0) {
            buf_free(&b);
            reply_page_error(j->x, NULL, 500, NULL, NULL, NULL, 0);
            goto out;
        }
        reply(j->x, NULL, j->kind == JOB_LINK ? 403 : 401, "text/html; charset=utf-8", NULL, 0,
              b.data, b.len);
        buf_free(&b);
        goto out;
    }
    if (j->verdict < 0) {
        log_event(LOG_ERROR, "signin_failed", "peer=%s error=%s", http_peer(j->x),
                  error_strerror(j->verdict));
        reply_page_error(j->x, NULL, j->verdict == -EAGAIN ? 503 : 500, NULL, NULL, NULL, 0);
        goto out;
    }
    {
        /* A session this browser already had ends: one browser, one
         * session, and an old cookie (perhaps seen by someone) dies. */
        char old[WEBSESS_TOKEN_LEN + 2];
        if (http_cookie(j->x, WEBSESS_COOKIE, old, sizeof(old)) == WEBSESS_TOKEN_LEN) {
            websess_end(w->sessions, old);
        }
        OPENSSL_cleanse(old, sizeof(old));
    }
    s = websess_start_on(w->sessions, &j->who, j->device, web_now());
    if (s == NULL) {
        reply_page_error(j->x, NULL, 500, NULL, NULL, NULL, 0);
        goto out;
    }
    /* The user's budget starts afresh; the address's does not, or one
     * account of one's own would reset a spray over others. */
    throttle_reset(w->user_fails, j->who.id);
    w->stats.signins++;
    log_event(LOG_INFO, "signin", "peer=%s user=%s via=%s", http_peer(j->x), j->who.id,
              j->kind == JOB_LINK ? "link" : "password");
    session_cookie(cookie, sizeof(cookie), s->id, web_ttl(w));
    h[0] = (struct http_header_kv){"Location", "/"};
    h[1] = (struct http_header_kv){"Set-Cookie", cookie};
    reply(j->x, j->who.id, 303, NULL, h, 2, NULL, 0);
out:
    job_free(j);
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

static int dash_view_txn(struct store_txn *t, void *arg)
{
    struct web_job *j = arg;
    Coachq__V1__GetDashboard req = COACHQ__V1__GET_DASHBOARD__INIT;
    int rc;

    /* The session holds who signed in; whether they may still see
     * anything is read afresh, so disabling a user ends their session. */
    rc = load_person_txn(t, j);
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
    int rc = store_view(j->w->store, dash_view_txn, j);

    j->status = 500;
    if (rc < 0) {
        j->dash_rc = rc;
        return;
    }
    if (j->revoked || j->dash_rc < 0) {
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
        struct render_ctx ctx = {
            .user_id = j->who.id,
            .user_name = j->user_name[0] != '\0' ? j->user_name : NULL,
            .roles = j->who.roles,
            .csrf = j->csrf,
            .api_path = j->api_path,
            .query = j->query,
        };
        rc = render_dashboard(m, &ctx, &j->body);
        j->ctype = "text/html; charset=utf-8";
    }
    j->dash_rc = rc;
    j->status = rc < 0 ? 500 : 200;
}

static void dash_done(uv_work_t *req, int status)
{
    struct web_job *j = req->data;
    struct web *w = j->w;
    int api = j->fmt != FMT_HTML;
    struct render_ctx ctx = {
        .user_id = j->who.id,
        .user_name = j->user_name[0] != '\0' ? j->user_name : NULL,
        .roles = j->who.roles,
        .csrf = j->csrf,
        .api_path = j->api_path,
        .query = j->query,
    };
    int code = 500;
    const char *msg = NULL;
    const char *field = NULL;

    w->pending--;
    w->dash_jobs--;
    if (status != 0) {
        code = 503;
    } else if (j->revoked) {
        char cookie[200];
        websess_end(w->sessions, j->session_id);
        session_cookie(cookie, sizeof(cookie), NULL, 0);
        if (api) {
            reply_json_error(j->x, j->who.id, 401, "Please sign in.", NULL);
        } else {
            reply_redirect(j->x, j->who.id, "/signin", cookie);
        }
        goto out;
    } else if (j->status == 200) {
        struct http_header_kv h[1] = {{"Content-Disposition", j->disposition}};
        reply(j->x, j->who.id, 200, j->ctype, h, j->disposition[0] != '\0' ? 1 : 0, j->body.data,
              j->body.len);
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
        reply_json_error(j->x, j->who.id, code, msg != NULL ? msg : status_message(code), field);
    } else {
        reply_page_error(j->x, j->who.id, code, msg, &ctx, NULL, 0);
    }
out:
    job_free(j);
}

/* Queues j; on failure answers 503 and frees it. */
static void job_queue(struct web_job *j, uv_work_cb work, uv_after_work_cb done)
{
    int rc = uv_queue_work(j->w->loop, &j->work, work, done);

    if (rc < 0) {
        log_event(LOG_ERROR, "web_queue_failed", "error=%s", uv_strerror(rc));
        j->w->dash_jobs--;
        reply_page_error(j->x, NULL, 503, NULL, NULL, NULL, 0);
        job_free(j);
        return;
    }
    j->w->pending++;
}

/* ---- The sign-in queue ---------------------------------------------- */

/* Answers a sign-in refused for its budget: 429 with Retry-After, as the
 * sign-in form again (password) or a page (link). */
static void reply_throttled(struct web *w, struct web_job *j, uint64_t wait_ms, const char *why)
{
    unsigned long long secs = (wait_ms + 999) / 1000;
    char retry[24], msg[300], csrf[WEBSESS_TOKEN_LEN + 1];
    struct http_header_kv h[1] = {{"Retry-After", retry}};
    struct buf b;

    if (secs == 0) {
        secs = 1;
    }
    snprintf(retry, sizeof(retry), "%llu", secs);
    if (why != NULL) {
        snprintf(msg, sizeof(msg), "%s", why);
    } else {
        snprintf(msg, sizeof(msg), WEB_THROTTLED, secs);
    }
    w->stats.throttled++;
    /* At most one line a second: a flood must not fill the disk with logs. */
    if (w->throttle_logged_ms == 0 || uv_now(w->loop) - w->throttle_logged_ms >= 1000) {
        w->throttle_logged_ms = uv_now(w->loop);
        log_event(LOG_WARN, "signin_throttled",
                  "peer=%s via=%s retry_after_s=%llu throttled=%" PRIu64, j->peer,
                  j->kind == JOB_LINK ? "link" : "password", secs, w->stats.throttled);
    }
    buf_init(&b, WEB_MAX_PAGE);
    if (j->kind == JOB_SIGNIN &&
        websess_presession_token(w->sessions, j->device, web_now(), csrf) == 0 &&
        render_signin(csrf, msg, &b) == 0) {
        reply(j->x, NULL, 429, "text/html; charset=utf-8", h, 1, b.data, b.len);
    } else {
        reply_page_error(j->x, NULL, 429, msg, NULL, h, 1);
    }
    buf_free(&b);
}

/* How long j's address (and, for a password, the user tried) must still
 * wait: 0 when it may be checked now. */
static uint64_t signin_wait(struct web *w, const struct web_job *j)
{
    uint64_t now = uv_now(w->loop);
    uint64_t a = throttle_wait_ms(w->addr_fails, j->addr, now);
    uint64_t u = j->kind == JOB_SIGNIN ? throttle_wait_ms(w->user_fails, j->user, now) : 0;

    return a > u ? a : u;
}

static int addr_running(const struct web *w, const char *addr)
{
    for (size_t i = 0; i < WEB_MAX_SIGNIN_JOBS; i++) {
        if (w->running[i] != NULL && strcmp(w->running[i]->addr, addr) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Starts waiting jobs while a slot is free: the oldest whose address has
 * no check running. Each address has at most one job waiting, so this is
 * round robin over addresses. A job whose address or user got blocked
 * while it waited is answered 429 instead. */
static void signin_pump(struct web *w)
{
    while (w->signin_jobs < WEB_MAX_SIGNIN_JOBS && w->wait_head != NULL) {
        struct web_job **pp = &w->wait_head;
        struct web_job *j, *prev = NULL;
        uint64_t wait;
        int rc;

        while (*pp != NULL && addr_running(w, (*pp)->addr)) {
            prev = *pp;
            pp = &(*pp)->qnext;
        }
        j = *pp;
        if (j == NULL) {
            return; /* every waiting address has a check running */
        }
        *pp = j->qnext;
        if (w->wait_tail == j) {
            w->wait_tail = prev;
        }
        j->qnext = NULL;
        w->waiting--;
        wait = signin_wait(w, j);
        if (wait > 0) {
            reply_throttled(w, j, wait, NULL);
            job_free(j);
            continue;
        }
        rc = uv_queue_work(w->loop, &j->work, j->kind == JOB_LINK ? link_work : signin_work,
                           signin_done);
        if (rc < 0) {
            log_event(LOG_ERROR, "web_queue_failed", "error=%s", uv_strerror(rc));
            reply_page_error(j->x, NULL, 503, NULL, NULL, NULL, 0);
            job_free(j);
            continue;
        }
        for (size_t i = 0; i < WEB_MAX_SIGNIN_JOBS; i++) {
            if (w->running[i] == NULL) {
                w->running[i] = j;
                break;
            }
        }
        w->signin_jobs++;
        w->pending++;
    }
}

/* Takes a sign-in job (password or link) whose form passed its checks:
 * refused at once with 429 when its address or user is over budget or its
 * address already has a check waiting, with 503 when the queue is full;
 * else queued, and started as soon as fairness allows. Takes ownership of
 * j. */
static void signin_submit(struct web *w, struct web_job *j)
{
    uint64_t wait;

    throttle_addr_key(j->peer, j->addr, sizeof(j->addr));
    wait = signin_wait(w, j);
    if (wait > 0) {
        reply_throttled(w, j, wait, NULL);
        job_free(j);
        return;
    }
    for (const struct web_job *q = w->wait_head; q != NULL; q = q->qnext) {
        if (strcmp(q->addr, j->addr) == 0) {
            reply_throttled(w, j, 1000, WEB_ONE_AT_A_TIME);
            job_free(j);
            return;
        }
    }
    if (w->waiting >= WEB_SIGNIN_QUEUE) {
        w->stats.busy++;
        reply_page_error(j->x, NULL, 503, NULL, NULL, NULL, 0);
        job_free(j);
        return;
    }
    if (w->wait_tail != NULL) {
        w->wait_tail->qnext = j;
    } else {
        w->wait_head = j;
    }
    w->wait_tail = j;
    w->waiting++;
    signin_pump(w);
}

void web_get_stats(const struct web *w, struct web_stats *out)
{
    *out = w->stats;
}

/* ---- Routes --------------------------------------------------------- */

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
    reply_page_error(x, user, 405, NULL, NULL, h, 1);
}

static void route_root(struct web *w, struct http_exchange *x, const struct websess *s)
{
    const char *home;

    (void)w;
    if (s == NULL) {
        reply_redirect(x, NULL, "/signin", NULL);
        return;
    }
    home = home_of(s->user.roles);
    if (home == NULL) {
        struct render_ctx ctx = {s->user.id, NULL, s->user.roles, s->csrf, "", ""};
        reply_page_error(x, s->user.id, 403,
                         "Observers have no dashboards: coachq shows dashboards to managers, "
                         "enablement leads and administrators.",
                         &ctx, NULL, 0);
        return;
    }
    reply_redirect(x, s->user.id, home, NULL);
}

/* Answers with a sign-in form made by render (token: the link's, or
 * NULL) under a pre-session CSRF token for the browser's device; a
 * browser without a valid device cookie gets a new one first. */
static void reply_signin_form(struct web *w, struct http_exchange *x, const char *token,
                              int (*render)(const char *token, const char *csrf, struct buf *out))
{
    char csrf[WEBSESS_TOKEN_LEN + 1];
    char device[WEBSESS_DEVICE_ID_LEN + 1];
    char value[WEBSESS_DEVICE_LEN + 1];
    char cookie[200];
    struct http_header_kv h[1];
    size_t nh = 0;
    struct buf b;

    buf_init(&b, WEB_MAX_PAGE);
    if (request_device(w, x, device) < 0) {
        if (websess_device_new(w->sessions, value) < 0 ||
            websess_device_check(w->sessions, value, device) < 0) {
            reply_page_error(x, NULL, 500, NULL, NULL, NULL, 0);
            return;
        }
        device_cookie(cookie, sizeof(cookie), value);
        h[nh++] = (struct http_header_kv){"Set-Cookie", cookie};
    }
    if (websess_presession_token(w->sessions, device, web_now(), csrf) < 0 ||
        render(token, csrf, &b) < 0) {
        buf_free(&b);
        reply_page_error(x, NULL, 500, NULL, NULL, NULL, 0);
        return;
    }
    reply(x, NULL, 200, "text/html; charset=utf-8", h, nh, b.data, b.len);
    buf_free(&b);
}

static int render_password_form(const char *token, const char *csrf, struct buf *out)
{
    (void)token;
    return render_signin(csrf, NULL, out);
}

static void route_signin_form(struct web *w, struct http_exchange *x)
{
    reply_signin_form(w, x, NULL, render_password_form);
}

static void route_signin_post(struct web *w, struct http_exchange *x)
{
    char device[WEBSESS_DEVICE_ID_LEN + 1];
    const char *why;
    size_t len = 0;
    const char *body = (const char *)http_body(x, &len);
    struct web_job *j;

    why = presession_refusal(w, x, device);
    if (why != NULL) {
        reply_page_error(x, NULL, 403, why, NULL, NULL, 0);
        return;
    }
    j = job_new(w, x, JOB_SIGNIN);
    if (j == NULL) {
        reply_page_error(x, NULL, 500, NULL, NULL, NULL, 0);
        return;
    }
    memcpy(j->device, device, sizeof(j->device));
    /* A user id that is missing or too long is just an unknown user. */
    if (http_form_value(body, len, "user", j->user, sizeof(j->user)) < 0) {
        j->user[0] = '\0';
    }
    if (http_form_value(body, len, "password", j->password, sizeof(j->password)) < 0) {
        j->password[0] = '\0';
    }
    signin_submit(w, j);
}

/* Copies a link token from form-encoded text (a query or a body) into
 * token; 0, or -EINVAL when it is missing or malformed. */
static int link_token(const char *form, size_t len, char token[WEBSESS_TOKEN_LEN + 1])
{
    int n = http_form_value(form, len, "token", token, WEBSESS_TOKEN_LEN + 1);

    if (n != WEBSESS_TOKEN_LEN ||
        strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "abcdefghijklmnopqrstuvwxyz0123456789-_") != WEBSESS_TOKEN_LEN) {
        token[0] = '\0';
        return -EINVAL;
    }
    return 0;
}

#define WEB_LINK_MALFORMED                                                                         \
    "The sign-in link is incomplete: its token parameter is missing or malformed. Copy the "       \
    "whole link."

/*
 * GET /signin/link?token=T: a page whose button POSTs the token back. The
 * token is neither looked up nor used: a mail scanner that fetches the
 * link burns nothing, and another site cannot sign a browser in with a
 * link of its own (the POST needs this page's CSRF token).
 */
static void route_link_page(struct web *w, struct http_exchange *x)
{
    const char *q = http_query(x);
    char token[WEBSESS_TOKEN_LEN + 1];

    if (link_token(q, strlen(q), token) < 0) {
        reply_page_error(x, NULL, 400, WEB_LINK_MALFORMED, NULL, NULL, 0);
        return;
    }
    reply_signin_form(w, x, token, render_signin_link);
    OPENSSL_cleanse(token, sizeof(token));
}

/* POST /signin/link: token, csrf -> the token is used up, a session. */
static void route_link_post(struct web *w, struct http_exchange *x)
{
    char device[WEBSESS_DEVICE_ID_LEN + 1];
    size_t len = 0;
    const char *body = (const char *)http_body(x, &len);
    const char *why;
    struct web_job *j;

    why = presession_refusal(w, x, device);
    if (why != NULL) {
        reply_page_error(x, NULL, 403, why, NULL, NULL, 0);
        return;
    }
    j = job_new(w, x, JOB_LINK);
    if (j == NULL) {
        reply_page_error(x, NULL, 500, NULL, NULL, NULL, 0);
        return;
    }
    memcpy(j->device, device, sizeof(j->device));
    if (link_token(body, len, j->token) < 0) {
        job_free(j);
        reply_page_error(x, NULL, 400, WEB_LINK_MALFORMED, NULL, NULL, 0);
        return;
    }
    signin_submit(w, j);
}

static void route_signout(struct web *w, struct http_exchange *x, const struct websess *s)
{
    char cookie[200];
    const char *why;

    session_cookie(cookie, sizeof(cookie), NULL, 0);
    if (s == NULL) {
        /* Nobody to sign out; the cookie is cleared all the same. */
        reply_redirect(x, NULL, "/signin", cookie);
        return;
    }
    why = csrf_refusal(x, s->csrf);
    if (why != NULL) {
        struct render_ctx ctx = {s->user.id, NULL, s->user.roles, s->csrf, "", ""};
        reply_page_error(x, s->user.id, 403, why, &ctx, NULL, 0);
        return;
    }
    {
        char user[sizeof(s->user.id)];
        snprintf(user, sizeof(user), "%s", s->user.id);
        websess_end(w->sessions, s->id);
        log_event(LOG_INFO, "signout", "peer=%s user=%s", http_peer(x), user);
        reply_redirect(x, user, "/signin", cookie);
    }
}

/*
 * Parses ?rubric=ID&until=YYYY-MM-DD into r and rebuilds the query to keep
 * on links. Returns 0, or -EINVAL with *field set to the bad parameter.
 */
static int parse_dash_query(const char *q, struct web_route *r, const char **field)
{
    size_t len = strlen(q);
    char until[16];
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
    r->query[0] = '\0';
    if (r->rubric[0] != '\0' && http_url_encode(r->rubric, enc, sizeof(enc)) >= 0) {
        off += (size_t)snprintf(r->query + off, sizeof(r->query) - off, "?rubric=%s", enc);
    }
    if (r->until_day != 0 && off < sizeof(r->query)) {
        snprintf(r->query + off, sizeof(r->query) - off, "%suntil=%s", off == 0 ? "?" : "&", until);
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

/*
 * GET /d/KIND[/SUBJECT] (api 0) or /api/v1/dashboards/KIND[/SUBJECT]
 * [/tables/TABLE.csv] (api 1); rest is what follows the prefix. The
 * segment count alone tells the forms apart (a subject id may be any id,
 * "recent.csv" or "tables" included): 1 kind, 2 kind and subject, 3 kind
 * and a table, 4 kind, subject and a table.
 */
static void route_dashboard(struct web *w, struct http_exchange *x, const struct websess *s,
                            const char *rest, int api)
{
    const char *field = NULL;
    struct web_job *j;
    struct web_route r;
    int prc = web_route_parse(rest, http_query(x), api, &r, &field);

    if (prc == -ENOENT) {
        if (api) {
            reply_json_error(x, s != NULL ? s->user.id : NULL, 404, "There is no such API path.",
                             NULL);
        } else {
            reply_page_error(x, s != NULL ? s->user.id : NULL, 404, NULL, NULL, NULL, 0);
        }
        return;
    }
    if (!is_method(x, "GET")) {
        reply_method(x, s != NULL ? s->user.id : NULL, "GET", api);
        return;
    }
    if (s == NULL) {
        if (api) {
            reply_json_error(x, NULL, 401, "Please sign in.", NULL);
        } else {
            reply_redirect(x, NULL, "/signin", NULL);
        }
        return;
    }
    if (w->dash_jobs >= WEB_MAX_DASH_JOBS) {
        /* The pool also serves the protocol port's reads: browsers wait. */
        if (api) {
            reply_json_error(x, s->user.id, 503, "The server is busy: try again shortly.", NULL);
        } else {
            reply_page_error(x, s->user.id, 503, NULL, NULL, NULL, 0);
        }
        return;
    }
    if (prc == -ENXIO) {
        if (api) {
            reply_json_error(x, s->user.id, 404, WEB_NOT_FOUND, NULL);
        } else {
            reply_page_error(x, s->user.id, 404, WEB_NOT_FOUND, NULL, NULL, 0);
        }
        return;
    }
    if (prc < 0) {
        char msg[200];
        snprintf(msg, sizeof(msg), "The %s parameter is malformed: %s.", field,
                 strcmp(field, "until") == 0 ? "give a date as YYYY-MM-DD"
                                             : "give a rubric id such as coaching-conversation");
        if (api) {
            reply_json_error(x, s->user.id, 400, msg, field);
        } else {
            struct render_ctx ctx = {s->user.id, NULL, s->user.roles, s->csrf, "", ""};
            reply_page_error(x, s->user.id, 400, msg, &ctx, NULL, 0);
        }
        return;
    }
    j = job_new(w, x, JOB_DASH);
    if (j == NULL) {
        reply_page_error(x, s->user.id, 500, NULL, NULL, NULL, 0);
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
    const struct websess *s = find_session(w, x);
    const char *user = s != NULL ? s->user.id : NULL;

    if (strcmp(path, "/") == 0) {
        if (!is_method(x, "GET")) {
            reply_method(x, user, "GET", 0);
            return;
        }
        route_root(w, x, s);
    } else if (strcmp(path, "/signin") == 0) {
        if (is_method(x, "GET")) {
            route_signin_form(w, x);
        } else if (is_method(x, "POST")) {
            route_signin_post(w, x);
        } else {
            reply_method(x, user, "GET, POST", 0);
        }
    } else if (strcmp(path, "/signin/link") == 0) {
        if (is_method(x, "GET")) {
            route_link_page(w, x);
        } else if (is_method(x, "POST")) {
            route_link_post(w, x);
        } else {
            reply_method(x, user, "GET, POST", 0);
        }
    } else if (strcmp(path, "/signout") == 0) {
        if (!is_method(x, "POST")) {
            reply_method(x, user, "POST", 0);
            return;
        }
        route_signout(w, x, s);
    } else if (strcmp(path, "/static/coachq.css") == 0) {
        size_t len = 0;
        const char *css;
        if (!is_method(x, "GET")) {
            reply_method(x, user, "GET", 0);
            return;
        }
        css = render_css(&len);
        reply(x, user, 200, "text/css; charset=utf-8", NULL, 0, css, len);
    } else if (strncmp(path, "/d/", 3) == 0) {
        route_dashboard(w, x, s, path + 3, 0);
    } else if (strncmp(path, "/api/v1/dashboards/", 19) == 0) {
        route_dashboard(w, x, s, path + 19, 1);
    } else if (strncmp(path, "/api/", 5) == 0) {
        reply_json_error(x, user, 404, "There is no such API path.", NULL);
    } else {
        reply_page_error(x, user, 404, NULL, NULL, NULL, 0);
    }
}

/* ---- Lifetime ------------------------------------------------------- */

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
    w->addr_fails = throttle_new(&(struct throttle_opts){
        WEB_ADDR_FREE, WEB_FAIL_BASE_MS, WEB_ADDR_MAX_MS, WEB_FAIL_FORGET_MS, WEB_FAIL_KEYS});
    w->user_fails = throttle_new(&(struct throttle_opts){
        WEB_USER_FREE, WEB_FAIL_BASE_MS, WEB_USER_MAX_MS, WEB_FAIL_FORGET_MS, WEB_FAIL_KEYS});
    if (w->sessions == NULL || w->addr_fails == NULL || w->user_fails == NULL) {
        web_free(w);
        return -ENOMEM;
    }
    /* Once, at start: tens of milliseconds. */
    rc = creds_hash_password(WEB_DUMMY_PASSWORD, w->dummy_hash, sizeof(w->dummy_hash));
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
        job_free(j);
    }
    websess_table_free(w->sessions);
    throttle_free(w->addr_fails);
    throttle_free(w->user_fails);
    free(w);
}
