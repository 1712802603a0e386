/*
 * web_int: what the two halves of the dashboard port share, private to
 * web/. web.c holds the routing table (web_handle()), the dashboard routes
 * and the port's lifetime; web_signin.c holds sign-in (password and
 * one-time link, with its failure budgets and fair queue) and sign-out.
 * Nothing outside web.c and web_signin.c includes this.
 *
 * Threads: everything runs on the loop thread except a job's work
 * function, which runs on libuv's thread pool and touches only its own
 * struct web_job and the store (through store_view() and store_exec()).
 * Errors are answered to the browser where they happen (HTML pages or
 * JSON), and logged once there.
 */
#ifndef COACHQ_WEB_INT_H
#define COACHQ_WEB_INT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "apitok.h"
#include "buf.h"
#include "http.h"
#include "validate.h"
#include "web.h"
#include "websess.h"

struct render_ctx;
struct store_txn;
struct web_feed;

#define WEB_DEFAULT_TTL_S (8 * 3600)
/* Password checks (32 MiB of scrypt each) and link look-ups run on libuv's
 * thread pool, which the dashboards and the protocol port's reads share: at
 * most this many at once (coachqd sizes the pool to 8 threads). The rest
 * wait in a queue (web_signin.c), at most one per client address: one
 * address cannot take the slots, however many connections it opens. */
#define WEB_MAX_SIGNIN_JOBS 2
/* The largest page, JSON or CSV answer (web_opts.max_page may lower it). */
#define WEB_MAX_PAGE (8u * 1024u * 1024u)
#define WEB_MAX_PASSWORD 1024

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
    /* Change feeds (web_feed.c): open streams, those waiting for a commit
     * (long poll), those waiting for a pool slot, and pages being read. */
    unsigned feeds_open;
    unsigned feed_jobs;
    uint64_t feed_commits; /* web_feed_wake() calls */
    struct web_feed *feed_waiters;
    struct web_feed *feed_ready_head, *feed_ready_tail;
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

    /* An API token instead of a session (Authorization: Bearer). */
    char bearer[APITOK_LEN + 1];
    int bearer_bad; /* unknown, revoked or expired, or its user may not sign in */
    int touch;      /* the token's last use is due to be written */

    /* Dashboard. */
    char session_id[WEBSESS_TOKEN_LEN + 1];
    char csrf[WEBSESS_TOKEN_LEN + 1];
    Coachq__V1__DashboardKind dkind;
    char subject[VALIDATE_MAX_ID + 1];
    char rubric[VALIDATE_MAX_ID + 1];
    int32_t until_day;
    uint32_t not_coached_weeks;
    int assigned_only;
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

/* ---- web.c: shared helpers (loop thread) ---------------------------- */

/* Seconds since 1970 now, for sessions, tokens and audit entries. */
int64_t web_now(void);

/* Answers x with status, ctype (NULL: no body type), the nh headers h and
 * len bytes of body; all borrowed for the call (the transport copies
 * them). user (may be NULL) is who the transport logs the answer for. */
void web_reply(struct http_exchange *x, const char *user, int status, const char *ctype,
               const struct http_header_kv *h, size_t nh, const void *body, size_t len);

/* A 303 to location, setting cookie (a Set-Cookie value, or NULL). */
void web_reply_redirect(struct http_exchange *x, const char *user, const char *location,
                        const char *cookie);

/* An HTML error page for status with message (NULL: the status's usual
 * words), the page frame of ctx (NULL: not signed in) and the nh headers
 * h; a page that cannot be made falls back to plain text. */
void web_reply_page_error(struct http_exchange *x, const char *user, int status,
                          const char *message, const struct render_ctx *ctx,
                          const struct http_header_kv *h, size_t nh);

/* The session cookie's Set-Cookie value for id into out (NULL id: the
 * value that clears it). */
void web_session_cookie(char *out, size_t outlen, const char *id, int64_t ttl_s);

/* The request's device id (its device cookie, MAC checked) into id:
 * 0, or -EACCES for none, a forged one, or one from before a restart. */
int web_request_device(struct web *w, struct http_exchange *x, char id[WEBSESS_DEVICE_ID_LEN + 1]);

/* A job of kind for the exchange x (borrowed: the transport keeps it until
 * it is answered), or NULL when out of memory. The caller owns the job:
 * free it with web_job_free() once x is answered. */
struct web_job *web_job_new(struct web *w, struct http_exchange *x, enum web_job_kind kind);

/* Frees j, wiping the password and token it held; NULL is a no-op. */
void web_job_free(struct web_job *j);

/* A store_view() callback (pool thread): reads who j->user is into
 * j->who and j->user_name, and for a password sign-in the stored hash.
 * Returns 0, -ENOENT for no such person, or the store's error. */
int web_load_person_txn(struct store_txn *t, void *arg);

/* The JSON error answer {"error": message[, "field": field]} with status. */
void web_reply_json_error(struct http_exchange *x, const char *user, int status,
                          const char *message, const char *field);

/* Counts a failed API token against the client's address budget (the
 * sign-in one, throttle.h) and answers 401. */
void web_bearer_refused(struct web *w, struct http_exchange *x, const char *why);

/* Pool thread: writes a bearer token's last use (store_exec(); once a
 * minute at most, apitok.h); a failure is logged, never answered. */
void web_bearer_touch(struct web *w, const char *bearer);

/* ---- web_feed.c: the change feed (loop thread) ----------------------- */

/* GET /api/v1/feed/observations?after=SEQ[&limit=N][&wait=S] for session s
 * (borrowed; NULL with a bearer token) or bearer (NULL with a session). */
void web_feed_route(struct web *w, struct http_exchange *x, const struct websess *s,
                    const char *bearer);

/* ---- web_signin.c: sign-in (loop thread) ---------------------------- */

/* Makes w's sign-in failure budgets (the limits are in web_signin.c; web_free()
 * frees them) and the hash unknown users' passwords are checked against.
 * Returns 0, -ENOMEM, or creds_hash_password()'s error. */
int web_signin_init(struct web *w);

/* GET /signin: the sign-in form (sets the device cookie if needed). */
void web_signin_route_form(struct web *w, struct http_exchange *x);

/* POST /signin: user, password, csrf -> a session, or the form again. */
void web_signin_route_post(struct web *w, struct http_exchange *x);

/* GET /signin/link?token=T: the page whose button uses the link. */
void web_signin_route_link_page(struct web *w, struct http_exchange *x);

/* POST /signin/link: token, csrf -> the link is used up, a session. */
void web_signin_route_link_post(struct web *w, struct http_exchange *x);

/* POST /signout: csrf -> session s (borrowed; may be NULL) ends, the cookie
 * is cleared. */
void web_signin_route_signout(struct web *w, struct http_exchange *x, const struct websess *s);

#endif
