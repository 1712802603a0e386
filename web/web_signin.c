/*
 * web_signin: the dashboard port's sign-in and sign-out (the routes under
 * /signin and /signout; see web.h for the table and the cookies).
 *
 * A password check (scrypt, slow on purpose) and a one-time link's
 * look-up and use run as jobs on libuv's thread pool, the rest on the loop
 * thread. A link is consumed with store_exec() called from the pool
 * thread: it blocks that worker until the writer committed, never the
 * loop. Every sign-in passes the failure budgets of its address and user
 * (throttle.h) and then a fair queue: at most WEB_MAX_SIGNIN_JOBS checks
 * run at once, at most one waits per address, and an address with a check
 * running waits its turn behind every other address.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "buf.h"
#include "creds.h"
#include "error.h"
#include "log.h"
#include "render_html.h"
#include "store.h"
#include "throttle.h"
#include "validate.h"
#include "web_int.h"
#include "websess.h"

/* Sign-ins waiting for a pool slot at most (beyond that: 503); how many
 * run at once is WEB_MAX_SIGNIN_JOBS (web_int.h). */
#define WEB_SIGNIN_QUEUE 64
#define WEB_WRONG "The user or password is wrong."
#define WEB_CSRF_WHY                                                                               \
    "This form was refused: it came from another site or from a page that is no longer valid "     \
    "(missing or wrong CSRF token). Go back, reload the page and try again."
#define WEB_ORIGIN_WHY                                                                             \
    "This form was refused: it was sent from another site (the Origin header does not match)."
#define WEB_THROTTLED                                                                              \
    "Too many failed sign-ins for this account or from your address. Wait %llu seconds, then "     \
    "try again."
#define WEB_ONE_AT_A_TIME                                                                          \
    "Another sign-in from your address is being checked. Wait a moment, then try again."
#define WEB_LINK_MALFORMED                                                                         \
    "The sign-in link is incomplete: its token parameter is missing or malformed. Copy the "       \
    "whole link."

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
#define WEB_DUMMY_PASSWORD "coachq-no-such-user-password"

int web_signin_init(struct web *w)
{
    w->addr_fails = throttle_new(&(struct throttle_opts){
        WEB_ADDR_FREE, WEB_FAIL_BASE_MS, WEB_ADDR_MAX_MS, WEB_FAIL_FORGET_MS, WEB_FAIL_KEYS});
    w->user_fails = throttle_new(&(struct throttle_opts){
        WEB_USER_FREE, WEB_FAIL_BASE_MS, WEB_USER_MAX_MS, WEB_FAIL_FORGET_MS, WEB_FAIL_KEYS});
    if (w->addr_fails == NULL || w->user_fails == NULL) {
        return -ENOMEM;
    }
    /* Once, at start: tens of milliseconds. */
    return creds_hash_password(WEB_DUMMY_PASSWORD, w->dummy_hash, sizeof(w->dummy_hash));
}

/* ---- Cookies and form checks ------------------------------------------- */

/* The device cookie's Set-Cookie value for value (see websess.h: Lax,
 * since it grants nothing alone and must survive a link from a mail). */
static void device_cookie(char *out, size_t outlen, const char *value)
{
    snprintf(out, outlen, "%s=%s; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=%d",
             WEBSESS_DEVICE_COOKIE, value, WEBSESS_DEVICE_TTL_S);
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
    if (web_request_device(w, x, device) < 0 ||
        http_form_value((const char *)body, len, "csrf", got, sizeof(got)) != WEBSESS_TOKEN_LEN ||
        websess_presession_check(w->sessions, device, got, web_now()) < 0) {
        return WEB_CSRF_WHY;
    }
    return NULL;
}

/* ---- Jobs on the thread pool ------------------------------------------- */

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
    int rc;
    int check;

    metrics_pool_started(j->w->opts.pool);
    rc = validate_id(j->user) == 0 ? store_view(j->w->store, web_load_person_txn, j) : -ENOENT;
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

/* Whether j's token is a stored link (read transaction). */
static int link_exists_txn(struct store_txn *t, void *arg)
{
    struct web_job *j = arg;

    return creds_link_exists_txn(t, j->token);
}

/* Pool thread: consumes the link in a write transaction (store_exec()
 * blocks this worker until the commit), then reads the person. */
static void link_work(uv_work_t *req)
{
    struct web_job *j = req->data;
    int rc;

    metrics_pool_started(j->w->opts.pool);
    /* A guessed token costs a read, never a write transaction: only a
     * stored one goes to the writer to be used up. */
    rc = store_view(j->w->store, link_exists_txn, j);

    if (rc == 0) {
        rc = store_exec(j->w->store, link_consume_txn, j);
    }

    if (rc == 0) {
        rc = j->verdict;
    }
    if (rc == 0) {
        rc = store_view(j->w->store, web_load_person_txn, j);
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

/* After a check (loop thread): frees its slot and starts the next waiting
 * job, then answers: the form again on a refusal, an error page on a
 * failure, or a new session (ending the browser's previous one) and a 303
 * to /. */
static void signin_done(uv_work_t *req, int status)
{
    struct web_job *j = req->data;
    struct web *w = j->w;
    const struct websess *s;
    char cookie[200];
    struct http_header_kv h[2];
    struct buf b;

    metrics_pool_finished(w->opts.pool);
    w->pending--;
    w->signin_jobs--;
    for (size_t i = 0; i < WEB_MAX_SIGNIN_JOBS; i++) {
        if (w->running[i] == j) {
            w->running[i] = NULL;
        }
    }
    signin_pump(w);
    if (status != 0) {
        web_reply_page_error(j->x, NULL, 503, NULL, NULL, NULL, 0);
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
            web_reply_page_error(j->x, NULL, 500, NULL, NULL, NULL, 0);
            goto out;
        }
        web_reply(j->x, NULL, j->kind == JOB_LINK ? 403 : 401, "text/html; charset=utf-8", NULL, 0,
                  b.data, b.len);
        buf_free(&b);
        goto out;
    }
    if (j->verdict < 0) {
        log_event(LOG_ERROR, "signin_failed", "peer=%s error=%s", http_peer(j->x),
                  error_strerror(j->verdict));
        web_reply_page_error(j->x, NULL, j->verdict == -EAGAIN ? 503 : 500, NULL, NULL, NULL, 0);
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
        web_reply_page_error(j->x, NULL, 500, NULL, NULL, NULL, 0);
        goto out;
    }
    /* The user's budget starts afresh; the address's does not, or one
     * account of one's own would reset a spray over others. */
    throttle_reset(w->user_fails, j->who.id);
    w->stats.signins++;
    log_event(LOG_INFO, "signin", "peer=%s user=%s via=%s", http_peer(j->x), j->who.id,
              j->kind == JOB_LINK ? "link" : "password");
    web_session_cookie(cookie, sizeof(cookie), s->id, w->opts.session_ttl_s);
    h[0] = (struct http_header_kv){"Location", "/"};
    h[1] = (struct http_header_kv){"Set-Cookie", cookie};
    web_reply(j->x, j->who.id, 303, NULL, h, 2, NULL, 0);
out:
    web_job_free(j);
}

/* ---- The sign-in queue ------------------------------------------------- */

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
        web_reply(j->x, NULL, 429, "text/html; charset=utf-8", h, 1, b.data, b.len);
    } else {
        web_reply_page_error(j->x, NULL, 429, msg, NULL, h, 1);
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

/* 1 when a check from addr is running. */
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
            web_job_free(j);
            continue;
        }
        metrics_pool_queued(w->opts.pool);
        rc = uv_queue_work(w->loop, &j->work, j->kind == JOB_LINK ? link_work : signin_work,
                           signin_done);
        if (rc < 0) {
            metrics_pool_started(w->opts.pool);
            metrics_pool_finished(w->opts.pool);
            log_event(LOG_ERROR, "web_queue_failed", "error=%s", uv_strerror(rc));
            web_reply_page_error(j->x, NULL, 503, NULL, NULL, NULL, 0);
            web_job_free(j);
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
        web_job_free(j);
        return;
    }
    for (const struct web_job *q = w->wait_head; q != NULL; q = q->qnext) {
        if (strcmp(q->addr, j->addr) == 0) {
            reply_throttled(w, j, 1000, WEB_ONE_AT_A_TIME);
            web_job_free(j);
            return;
        }
    }
    if (w->waiting >= WEB_SIGNIN_QUEUE) {
        w->stats.busy++;
        web_reply_page_error(j->x, NULL, 503, NULL, NULL, NULL, 0);
        web_job_free(j);
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

/* ---- Routes ------------------------------------------------------------ */

/* Appends a sign-in page to out: token (the link's, or NULL) and csrf are
 * borrowed for the call. Returns 0 or -ENOBUFS / -ENOMEM (render_html.h). */
typedef int (*signin_page_cb)(const char *token, const char *csrf, struct buf *out);

/* Answers with a sign-in form made by render (token: the link's, or
 * NULL) under a pre-session CSRF token for the browser's device; a
 * browser without a valid device cookie gets a new one first. */
static void reply_signin_form(struct web *w, struct http_exchange *x, const char *token,
                              signin_page_cb render)
{
    char csrf[WEBSESS_TOKEN_LEN + 1];
    char device[WEBSESS_DEVICE_ID_LEN + 1];
    char value[WEBSESS_DEVICE_LEN + 1];
    char cookie[200];
    struct http_header_kv h[1];
    size_t nh = 0;
    struct buf b;

    buf_init(&b, WEB_MAX_PAGE);
    if (web_request_device(w, x, device) < 0) {
        if (websess_device_new(w->sessions, value) < 0 ||
            websess_device_check(w->sessions, value, device) < 0) {
            web_reply_page_error(x, NULL, 500, NULL, NULL, NULL, 0);
            return;
        }
        device_cookie(cookie, sizeof(cookie), value);
        h[nh++] = (struct http_header_kv){"Set-Cookie", cookie};
    }
    if (websess_presession_token(w->sessions, device, web_now(), csrf) < 0 ||
        render(token, csrf, &b) < 0) {
        buf_free(&b);
        web_reply_page_error(x, NULL, 500, NULL, NULL, NULL, 0);
        return;
    }
    web_reply(x, NULL, 200, "text/html; charset=utf-8", h, nh, b.data, b.len);
    buf_free(&b);
}

static int render_password_form(const char *token, const char *csrf, struct buf *out)
{
    (void)token;
    return render_signin(csrf, NULL, out);
}

void web_signin_route_form(struct web *w, struct http_exchange *x)
{
    reply_signin_form(w, x, NULL, render_password_form);
}

/* The job of a sign-in POST of kind, with the browser's device id, once
 * the form passed presession_refusal(); NULL when the POST was refused or
 * memory ran out (x is then answered). */
static struct web_job *signin_job(struct web *w, struct http_exchange *x, enum web_job_kind kind)
{
    char device[WEBSESS_DEVICE_ID_LEN + 1];
    const char *why = presession_refusal(w, x, device);
    struct web_job *j;

    if (why != NULL) {
        web_reply_page_error(x, NULL, 403, why, NULL, NULL, 0);
        return NULL;
    }
    j = web_job_new(w, x, kind);
    if (j == NULL) {
        web_reply_page_error(x, NULL, 500, NULL, NULL, NULL, 0);
        return NULL;
    }
    memcpy(j->device, device, sizeof(j->device));
    return j;
}

void web_signin_route_post(struct web *w, struct http_exchange *x)
{
    size_t len = 0;
    const char *body = (const char *)http_body(x, &len);
    struct web_job *j = signin_job(w, x, JOB_SIGNIN);

    if (j == NULL) {
        return;
    }
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

/*
 * GET /signin/link?token=T: a page whose button POSTs the token back. The
 * token is neither looked up nor used: a mail scanner that fetches the
 * link burns nothing, and another site cannot sign a browser in with a
 * link of its own (the POST needs this page's CSRF token).
 */
void web_signin_route_link_page(struct web *w, struct http_exchange *x)
{
    const char *q = http_query(x);
    char token[WEBSESS_TOKEN_LEN + 1];

    if (link_token(q, strlen(q), token) < 0) {
        web_reply_page_error(x, NULL, 400, WEB_LINK_MALFORMED, NULL, NULL, 0);
        return;
    }
    reply_signin_form(w, x, token, render_signin_link);
    OPENSSL_cleanse(token, sizeof(token));
}

/* POST /signin/link: token, csrf -> the token is used up, a session. */
void web_signin_route_link_post(struct web *w, struct http_exchange *x)
{
    size_t len = 0;
    const char *body = (const char *)http_body(x, &len);
    struct web_job *j = signin_job(w, x, JOB_LINK);

    if (j == NULL) {
        return;
    }
    if (link_token(body, len, j->token) < 0) {
        web_job_free(j);
        web_reply_page_error(x, NULL, 400, WEB_LINK_MALFORMED, NULL, NULL, 0);
        return;
    }
    signin_submit(w, j);
}

void web_signin_route_signout(struct web *w, struct http_exchange *x, const struct websess *s)
{
    char cookie[200];
    const char *why;

    web_session_cookie(cookie, sizeof(cookie), NULL, 0);
    if (s == NULL) {
        /* Nobody to sign out; the cookie is cleared all the same. */
        web_reply_redirect(x, NULL, "/signin", cookie);
        return;
    }
    why = csrf_refusal(x, s->csrf);
    if (why != NULL) {
        struct render_ctx ctx = {s->user.id, NULL, s->user.roles, s->csrf, "", ""};
        web_reply_page_error(x, s->user.id, 403, why, &ctx, NULL, 0);
        return;
    }
    {
        char user[sizeof(s->user.id)];
        snprintf(user, sizeof(user), "%s", s->user.id);
        websess_end(w->sessions, s->id);
        log_event(LOG_INFO, "signout", "peer=%s user=%s", http_peer(x), user);
        web_reply_redirect(x, user, "/signin", cookie);
    }
}
