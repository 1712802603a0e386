/*
 * web_feed: the change feed, GET /api/v1/feed/observations?after=SEQ
 * [&limit=N][&wait=S] (web.h; the schema is proto/obs_flat.h, the
 * operator's guide docs/operations.md, "API tokens and the change feed").
 *
 * Every stored version with a sequence number above SEQ that the caller may
 * read (query/auth.c, as every read of a record), in sequence order, one
 * line each, NDJSON or (Accept: text/csv) CSV with a header line. A consumer
 * resumes from the seq of the last line it kept.
 *
 * Streaming with backpressure: the answer is chunked, one page at a time.
 * A page is read on libuv's thread pool in its own short read transaction
 * (at most FEED_PAGE_SCAN records, FEED_PAGE_BYTES of lines), so a slow
 * reader never pins an LMDB snapshot; the next page is read only once the
 * connection's pending output fell to its low-water mark
 * (http_stream_wait_drain()). A stream thus holds one page and the
 * connection's write buffer at most, whatever the size of the answer.
 *
 * Long poll: when nothing follows SEQ and wait is given, the stream waits
 * (no pool thread, no transaction) until a commit wakes it
 * (web_feed_wake(), from the server's store notify) or wait runs out, then
 * ends. A stream that sent lines ends once it caught up.
 *
 * Who the caller is (the session's user, or the token's) is read afresh
 * with every page: a revoked token or a disabled user ends the stream.
 *
 * Loop thread, except feed_work() on the pool, which touches only its feed
 * and the store.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "log.h"
#include "obs.h"
#include "obs_flat.h"
#include "people.h"
#include "store.h"
#include "web_int.h"
#include "zone.h"

/* Open streams at most (beyond: 503), pages read at once on the pool. */
#define FEED_MAX_OPEN 32
#define FEED_MAX_JOBS 2
/* A page: records read at most, and the lines' bytes after which it ends. */
#define FEED_PAGE_SCAN 500
#define FEED_PAGE_BYTES (64u * 1024u)
/* The cap of a page's buffer: FEED_PAGE_BYTES and the largest record. */
#define FEED_PAGE_MAX (8u * 1024u * 1024u)
#define FEED_MAX_WAIT_S 60
#define FEED_MAX_AFTER ((uint64_t)INT64_MAX)

enum feed_state {
    FEED_JOB,   /* a page is being read on the pool, or waits for a slot */
    FEED_WAIT,  /* long poll: waiting for a commit */
    FEED_DRAIN, /* waiting for the connection's output to drain */
    FEED_DONE,
};

struct web_feed {
    uv_work_t work;
    uv_timer_t timer; /* the long poll's end */
    struct web *w;
    struct http_exchange *x;
    struct web_feed *next; /* in the waiters or the ready queue */
    enum feed_state state;
    int started; /* the 200 and its headers are sent */
    int dead;    /* the connection went away */
    char user[VALIDATE_MAX_ID + 1];
    char bearer[APITOK_LEN + 1];
    enum obs_flat_format fmt;
    uint64_t after;
    uint64_t left; /* lines still to send (UINT64_MAX: no limit) */
    uint64_t deadline_ms;
    uint64_t lines;
    uint64_t commits_seen; /* w->feed_commits when the page was queued */

    /* A page, made on the pool. */
    struct store_txn *t;
    struct auth_user who;
    int denied;
    int touch;
    int rc;
    size_t scanned;
    size_t page_lines;
    int stopped; /* the page ended before its scan did */
    uint64_t last;
    struct buf page;
    char why[96];
};

static void feed_schedule(struct web_feed *f);

/* ---- The page (pool thread) ------------------------------------------- */

static int feed_keep(const Coachq__V1__StoredObservation *rec, void *arg)
{
    struct web_feed *f = arg;
    int32_t day = 0;
    int rc;

    f->scanned++;
    if (!auth_may_read_txn(f->t, &f->who, rec)) {
        return 0;
    }
    rc = rec->observation != NULL ? zone_session_day(f->t, rec->observation, &day) : 0;
    if (rc == 0) {
        rc = obs_flat_line(f->fmt, rec, day, &f->page);
    }
    if (rc < 0) {
        return rc;
    }
    f->page_lines++;
    if (f->page_lines >= f->left || f->page.len >= FEED_PAGE_BYTES) {
        f->stopped = 1;
        return 1;
    }
    return 0;
}

/* Who asks, read afresh: the token's user, or the session's. */
static int feed_identify_txn(struct store_txn *t, struct web_feed *f, int64_t now_ms)
{
    Coachq__V1__Person *p = NULL;
    int rc;

    if (f->bearer[0] != '\0') {
        rc = auth_identify_token_txn(t, f->bearer, now_ms, &f->who, &f->touch, f->why,
                                     sizeof(f->why));
        if (rc == -EACCES) {
            f->denied = 1;
            return 0;
        }
        return rc;
    }
    rc = people_get(t, f->user, &p);
    if (rc == -ENOENT || rc == -EINVAL) {
        f->denied = 1;
        return 0;
    }
    if (rc < 0) {
        return rc;
    }
    memset(&f->who, 0, sizeof(f->who));
    snprintf(f->who.id, sizeof(f->who.id), "%s", f->user);
    f->who.roles = p->disabled ? 0 : auth_roles_of(p);
    f->denied = f->who.roles == 0;
    coachq__v1__person__free_unpacked(p, NULL);
    return 0;
}

static int feed_txn(struct store_txn *t, void *arg)
{
    struct web_feed *f = arg;
    int rc;

    f->denied = 0;
    f->scanned = 0;
    f->page_lines = 0;
    f->stopped = 0;
    f->page.len = 0;
    rc = feed_identify_txn(t, f, (int64_t)web_now() * 1000);
    if (rc < 0 || f->denied) {
        return rc;
    }
    f->t = t;
    rc = store_after_txn(t, f->after, FEED_PAGE_SCAN, feed_keep, f, &f->last);
    f->t = NULL;
    return rc;
}

static void feed_work(uv_work_t *req)
{
    struct web_feed *f = req->data;

    f->rc = store_view(f->w->store, feed_txn, f);
    if (f->rc == 0 && !f->denied && f->touch) {
        web_bearer_touch(f->w, f->bearer);
        f->touch = 0;
    }
}

/* ---- The stream (loop thread) -------------------------------------------- */

static void feed_closed(uv_handle_t *h)
{
    struct web_feed *f = h->data;

    buf_free(&f->page);
    OPENSSL_cleanse(f->bearer, sizeof(f->bearer));
    free(f);
}

static void waiters_remove(struct web *w, struct web_feed *f)
{
    for (struct web_feed **pp = &w->feed_waiters; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            f->next = NULL;
            return;
        }
    }
}

/* Ends f: ok 1 a whole answer, 0 a cut one. f is freed once its timer closed. */
static void feed_end(struct web_feed *f, int ok)
{
    struct web *w = f->w;

    if (f->state == FEED_DONE) {
        return;
    }
    if (f->state == FEED_WAIT) {
        waiters_remove(w, f);
    }
    f->state = FEED_DONE;
    uv_timer_stop(&f->timer);
    w->feeds_open--;
    log_event(ok ? LOG_INFO : LOG_WARN, "feed_end",
              "peer=%s user=%s after=%" PRIu64 " lines=%" PRIu64 " ok=%d", http_peer(f->x),
              f->who.id[0] != '\0' ? f->who.id : "-", f->after, f->lines, ok);
    http_stream_end(f->x, ok && !f->dead);
    f->x = NULL;
    uv_close((uv_handle_t *)&f->timer, feed_closed);
}

static void feed_on_stream(struct http_exchange *x, void *arg)
{
    struct web_feed *f = arg;

    (void)x;
    if (!http_stream_alive(x)) {
        f->dead = 1;
        if (f->state == FEED_WAIT || f->state == FEED_DRAIN) {
            feed_end(f, 0);
        }
        /* FEED_JOB: feed_done() ends it. */
        return;
    }
    if (f->state == FEED_DRAIN) {
        feed_schedule(f);
    }
}

static void feed_on_timer(uv_timer_t *t)
{
    struct web_feed *f = t->data;

    if (f->state == FEED_WAIT) {
        feed_end(f, 1);
    }
}

static void feed_done(uv_work_t *req, int status);

/* Frees a feed whose request was answered with a refusal (never started). */
static void feed_refused(struct web_feed *f)
{
    f->x = NULL;
    f->state = FEED_DONE;
    f->w->feeds_open--;
    uv_close((uv_handle_t *)&f->timer, feed_closed);
}

static void feed_schedule(struct web_feed *f)
{
    struct web *w = f->w;
    int rc;

    f->state = FEED_JOB;
    if (w->feed_jobs >= FEED_MAX_JOBS) {
        f->next = NULL;
        if (w->feed_ready_tail != NULL) {
            w->feed_ready_tail->next = f;
        } else {
            w->feed_ready_head = f;
        }
        w->feed_ready_tail = f;
        return;
    }
    f->commits_seen = w->feed_commits;
    rc = uv_queue_work(w->loop, &f->work, feed_work, feed_done);
    if (rc < 0) {
        log_event(LOG_ERROR, "web_queue_failed", "error=%s", uv_strerror(rc));
        if (f->started) {
            feed_end(f, 0);
            return;
        }
        web_reply_json_error(f->x, NULL, 503, "The server is busy: try again shortly.", NULL);
        feed_refused(f);
        return;
    }
    w->feed_jobs++;
    w->pending++;
}

/* Starts the next page waiting for a pool slot, if any. */
static void feed_ready_next(struct web *w)
{
    struct web_feed *f = w->feed_ready_head;

    if (f == NULL || w->feed_jobs >= FEED_MAX_JOBS) {
        return;
    }
    w->feed_ready_head = f->next;
    if (w->feed_ready_head == NULL) {
        w->feed_ready_tail = NULL;
    }
    f->next = NULL;
    if (f->dead) {
        feed_end(f, 0);
        feed_ready_next(w);
        return;
    }
    feed_schedule(f);
}

/* The first page's verdict: the stream's headers, or the refusal. Returns
 * 0 when the stream goes on. */
static int feed_start(struct web_feed *f)
{
    static const struct http_header_kv h[1] = {{"X-Accel-Buffering", "no"}};
    const char *ctype = f->fmt == OBS_FLAT_CSV ? "text/csv; charset=utf-8" : "application/x-ndjson";
    struct buf head;
    int rc;

    if (f->denied) {
        if (f->bearer[0] != '\0') {
            web_bearer_refused(f->w, f->x, f->why);
        } else {
            web_reply_json_error(f->x, NULL, 401, "Please sign in.", NULL);
        }
        return -EACCES;
    }
    if (f->rc < 0) {
        log_event(LOG_ERROR, "feed_failed", "user=%s error=%d", f->who.id, f->rc);
        web_reply_json_error(f->x, f->who.id, f->rc == -EAGAIN ? 503 : 500,
                             f->rc == -EAGAIN ? "The server is busy: try again shortly."
                                              : "The server could not read the store.",
                             NULL);
        return f->rc;
    }
    http_set_user(f->x, f->who.id);
    f->started = 1;
    rc = http_stream_begin(f->x, 200, ctype, h, 1, feed_on_stream, f);
    if (rc == 0 && f->fmt == OBS_FLAT_CSV) {
        buf_init(&head, 4096);
        rc = obs_flat_header(OBS_FLAT_CSV, &head);
        if (rc == 0) {
            rc = http_stream_write(f->x, head.data, head.len);
        }
        buf_free(&head);
    }
    return rc;
}

static void feed_done(uv_work_t *req, int status)
{
    struct web_feed *f = req->data;
    struct web *w = f->w;
    int more;

    w->feed_jobs--;
    w->pending--;
    if (status != 0) {
        f->rc = -ECANCELED;
    }
    if (!f->started) {
        if (feed_start(f) < 0) {
            if (f->started) {
                feed_end(f, 0);
            } else {
                feed_refused(f); /* answered with the refusal */
            }
            feed_ready_next(w);
            return;
        }
    } else if (f->denied || f->rc < 0) {
        /* Revoked, disabled or failed in the middle: cut, so that the
         * consumer does not take the end for a whole answer. */
        log_event(LOG_WARN, "feed_cut", "user=%s denied=%d error=%d why=%s", f->who.id, f->denied,
                  f->rc, f->why);
        feed_end(f, 0);
        feed_ready_next(w);
        return;
    }
    if (f->dead) {
        feed_end(f, 0);
        feed_ready_next(w);
        return;
    }
    if (f->page.len > 0 && http_stream_write(f->x, f->page.data, f->page.len) < 0) {
        feed_end(f, 0);
        feed_ready_next(w);
        return;
    }
    f->lines += f->page_lines;
    if (f->left != UINT64_MAX) {
        f->left -= f->page_lines;
    }
    more = f->stopped || f->scanned == FEED_PAGE_SCAN;
    f->after = f->last;
    f->page.len = 0;
    if (f->left == 0) {
        feed_end(f, 1);
    } else if (more) {
        f->state = FEED_DRAIN;
        if (http_stream_wait_drain(f->x)) {
            feed_schedule(f);
        }
    } else if (f->lines == 0 && f->commits_seen != w->feed_commits) {
        /* A commit came while this page was read: read again. */
        feed_schedule(f);
    } else if (f->lines == 0 && f->deadline_ms > uv_now(w->loop)) {
        f->state = FEED_WAIT;
        f->next = w->feed_waiters;
        w->feed_waiters = f;
        uv_timer_start(&f->timer, feed_on_timer, f->deadline_ms - uv_now(w->loop), 0);
    } else {
        feed_end(f, 1);
    }
    feed_ready_next(w);
}

void web_feed_wake(struct web *w)
{
    struct web_feed *f = w->feed_waiters;

    w->feed_commits++;
    w->feed_waiters = NULL;
    while (f != NULL) {
        struct web_feed *next = f->next;
        f->next = NULL;
        uv_timer_stop(&f->timer);
        feed_schedule(f);
        f = next;
    }
}

/* ---- The route ------------------------------------------------------------ */

/* Reads a whole decimal number in [0, max] from the query parameter name.
 * Returns 0 (def when absent), or -EINVAL. */
static int query_u64(const char *q, const char *name, uint64_t max, uint64_t def, uint64_t *out)
{
    char v[32];
    uint64_t n = 0;
    int len = http_form_value(q, strlen(q), name, v, sizeof(v));

    *out = def;
    if (len == -ENOENT) {
        return 0;
    }
    if (len <= 0 || len > 19) {
        return -EINVAL;
    }
    for (int i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return -EINVAL;
        }
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (n > max) {
        return -EINVAL;
    }
    *out = n;
    return 0;
}

/* Whether the Accept header asks for CSV before NDJSON or JSON. */
static int wants_csv(const char *accept)
{
    return accept != NULL && strncasecmp(accept, "text/csv", 8) == 0;
}

void web_feed_route(struct web *w, struct http_exchange *x, const struct websess *s,
                    const char *bearer)
{
    const char *q = http_query(x);
    const char *user = s != NULL ? s->user.id : NULL;
    uint64_t after, limit, wait;
    struct web_feed *f;
    char msg[200];

    if (query_u64(q, "after", FEED_MAX_AFTER, 0, &after) < 0) {
        snprintf(msg, sizeof(msg),
                 "The after parameter is malformed: give the seq of the last line you kept, a "
                 "whole number from 0 to %" PRIu64 " (0: from the start).",
                 FEED_MAX_AFTER);
        web_reply_json_error(x, user, 400, msg, "after");
        return;
    }
    if (query_u64(q, "limit", 1000000000u, UINT64_MAX, &limit) < 0 || limit == 0) {
        web_reply_json_error(x, user, 400,
                             "The limit parameter is malformed: give a whole number of lines "
                             "from 1 to 1000000000.",
                             "limit");
        return;
    }
    if (query_u64(q, "wait", FEED_MAX_WAIT_S, 0, &wait) < 0) {
        snprintf(msg, sizeof(msg),
                 "The wait parameter is malformed: give whole seconds from 0 to %d.",
                 FEED_MAX_WAIT_S);
        web_reply_json_error(x, user, 400, msg, "wait");
        return;
    }
    if (w->feeds_open >= FEED_MAX_OPEN) {
        web_reply_json_error(x, user, 503, "Too many change feeds are open: try again shortly.",
                             NULL);
        return;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        web_reply_json_error(x, user, 500, "Out of memory.", NULL);
        return;
    }
    f->w = w;
    f->x = x;
    f->work.data = f;
    f->after = after;
    f->left = limit;
    f->fmt = wants_csv(http_header(x, "Accept")) ? OBS_FLAT_CSV : OBS_FLAT_NDJSON;
    f->deadline_ms = uv_now(w->loop) + wait * 1000;
    if (bearer != NULL) {
        snprintf(f->bearer, sizeof(f->bearer), "%s", bearer);
    } else {
        snprintf(f->user, sizeof(f->user), "%s", s->user.id);
    }
    buf_init(&f->page, FEED_PAGE_MAX);
    uv_timer_init(w->loop, &f->timer);
    f->timer.data = f;
    w->feeds_open++;
    feed_schedule(f);
}
