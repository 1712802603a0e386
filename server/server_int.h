/*
 * server_int: what the protocol port's three files share, and nothing else
 * includes. server.c runs the port (lifecycle, listener, connections,
 * writer completions, stop), server_req.c decides each request and answers
 * the writes, server_read.c runs the reads on libuv's thread pool.
 *
 * A struct conn lives from its accept until its TLS connection closed and
 * no request of it is in flight (server_request_finish() frees it then). A
 * struct request is owned by the server from server_request_new() to
 * server_request_finish(), which answers nothing but releases it and lets
 * its connection go on. Loop thread, except the functions named as running
 * on the thread pool.
 */
#ifndef COACHQ_SERVER_INT_H
#define COACHQ_SERVER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <uv.h>

#include "auth.h"
#include "coachq.pb-c.h"
#include "config.h"
#include "connset.h"
#include "cursor.h"
#include "dash.h"
#include "frame.h"
#include "obs.h"
#include "pbmem.h"
#include "store.h"
#include "uuid.h"
#include "validate.h"

struct web;
struct http_server;

#define SERVER_VERSION "coachqd 0.1.0"
#define PROTOCOL_VERSION 1
#define ALPN_PROTOCOL "coachq/1"
/* A page of records is cut so that its whole frame fits max_frame_bytes,
 * the limit Welcome advertises: the records get the frame less this much,
 * which holds the frame's request id, the page's own tag and length and a
 * sealed cursor (at most 160 bytes together). A single record always
 * fits, since a submission may be at most max_frame - SUBMIT_RESERVE. */
#define PAGE_RESERVE 256u
#define SUBMIT_RESERVE 512u
/* Bytes of a list cursor's binding (server_read_list_binding()). */
#define LIST_BIND_MAX (1 + 8 + 8 + VALIDATE_MAX_ID)
/* Records one list request reads at most, counting those the caller may
 * not see: a list of someone else's records costs the server at most this
 * many reads. */
#define LIST_MAX_SCAN 20000u
/* The list of people to observe has no paging: it stops at PEOPLE_MAX
 * people, or before its answer passes PEOPLE_MAX_BYTES or half the
 * connection's write cap (--write-max), whichever comes first. That keeps
 * it far below the client's 16 MiB frame limit, and 20,000 people of
 * ordinary ids and names (about 100 bytes each) fit in the 2 MiB. A larger
 * organisation gets its first managers in id order, each with all or the
 * first of their reps, and the server logs the cut (people_list_truncated). */
#define PEOPLE_MAX 20000u
#define PEOPLE_MAX_BYTES (2u * 1024u * 1024u)
/* What one entry adds to a PeopleList beyond its own packed size: its tag
 * and length prefix. */
#define PEOPLE_ENTRY_OVERHEAD 6u
/* A dashboard's answer stays below this and half the connection's write
 * cap (--write-max), and so below the client's 16 MiB frame limit. The
 * dashboards are sized by people and weeks, not by observations: even a
 * second-level manager with hundreds of managers stays far below it. */
#define DASH_MAX_BYTES (8u * 1024u * 1024u)
/* A connection closed to make room for its user's newest one (--max-per-
 * user) is cut this long after its Error and close_notify were sent. */
#define CONN_EVICT_GRACE_MS 2000

/* The server: one per coachqd, made by server_new(), freed by server_free(). */
struct server {
    uv_loop_t *loop;
    struct config cfg;
    struct store *store;
    SSL_CTX *ctx;
    struct pbmem_pool pool;
    uint8_t cursor_key[CURSOR_KEY_LEN]; /* seals list cursors (cursor.h) */
    uv_tcp_t listener;
    uv_async_t store_async;
    uv_timer_t reader_timer;
    uv_timer_t stats_timer;
    uv_timer_t drain_timer;
    uv_signal_t sigint;
    uv_signal_t sigterm;
    struct web *web;          /* the dashboards' routes; NULL with --dashboard off */
    struct http_server *http; /* the dashboard port */
    int http_done;            /* the dashboard port closed and answered everything */
    struct connset conns;     /* the protocol port's open connections */
    uint64_t outstanding;     /* requests taken and not yet answered, all connections */
    uint64_t stats_commits_logged;
    int port;
    int stopping;
    int handles_closed;
    int exit_code;
};

/* One protocol-port connection (see the opening comment for its life). */
struct conn {
    struct server *srv;
    struct connset_conn cs; /* tls (NULL once closed), id, peer, address */
    struct frame_reader fr;
    char user[VALIDATE_MAX_ID + 1];
    struct auth_user au; /* who the certificate names, with their roles */
    uint64_t requests;
    uint64_t last_active_ms; /* loop time of the last request taken, for --max-per-user */
    unsigned in_flight;
    int authenticated;
    int paused;
    int closing; /* no further requests are taken */
    int in_pump;
};

/* What a request asks; it picks the read, the write or the answer. */
enum request_kind {
    REQ_SUBMIT,
    REQ_ADD_REFERENCE,
    REQ_GET,
    REQ_LIST,
    REQ_HISTORY,
    REQ_RUBRICS,
    REQ_RUBRIC,
    REQ_CERT_STATUS,
    REQ_PEOPLE,
    REQ_DASHBOARD,
    REQ_IMPORT_OUTCOMES,
    REQ_EXPORT,
};

/* One request taken and not yet finished, with what its answer needs. */
struct request {
    struct conn *conn; /* kept alive while in_flight counts this request */
    uint64_t request_id;
    enum request_kind kind;
    /* Submit. */
    struct store_write w;
    uint8_t *packed;
    /* Reads, run on the thread pool. */
    uv_work_t work;
    uint8_t id[UUID_LEN];
    struct store_query q;
    char person[VALIDATE_MAX_ID + 1];
    uint8_t cursor[CURSOR_MAX_POS]; /* the opened cursor: a store index key */
    Coachq__V1__StoredObservation *rec;
    struct store_page page;
    unsigned char *visible; /* per page item or history version: may be read */
    Coachq__V1__StoredObservation **versions;
    size_t n_versions;
    ProtobufCMessage **msgs; /* rubrics, certifications, people: copies the request owns */
    size_t n_msgs;
    ProtobufCMessage **msgs2; /* calibration results */
    size_t n_msgs2;
    Coachq__V1__CalibrationReference *ref; /* add reference: decoded copy */
    struct validate_error fault;
    uint32_t version; /* get rubric */
    /* People: the time whose day the lines are taken on, the answer's cap
     * and what it has used, and whether the cap cut the list. */
    int64_t as_of;
    size_t max_bytes;
    size_t list_bytes;
    int truncated;
    int allowed;
    int rc;
    /* Dashboard: the request (its strings in person and rubric), the
     * server's rules, and the answer built on the thread pool. */
    Coachq__V1__GetDashboard dreq;
    char rubric[VALIDATE_MAX_ID + 1];
    struct dash_opts dopts;
    struct dash *dash;
    /* Export: records after after_seq (msgs), the last one read, the
     * newest there is, and whether more follow. */
    uint64_t after_seq;
    uint64_t last_seq;
    uint64_t head_seq;
    uint32_t page_max;
    int more;
    /* Import outcomes: a decoded copy of the rows, and the counts. */
    Coachq__V1__ImportOutcomes *imp;
    Coachq__V1__ImportResult result;
};

/* ---- server.c ---- */

/* The wall clock in milliseconds since the epoch. Any thread. */
int64_t server_now_ms(void);

/* Sends one frame on c (nothing once its TLS connection closed). A failure
 * shows up as the connection closing. */
void server_conn_send(struct conn *c, const Coachq__V1__Frame *f);

/* Sends an Error answering request_id (0: the connection) with code,
 * field (NULL: none) and message (borrowed for the call), and logs it. */
void server_conn_send_error(struct conn *c, uint64_t request_id, Coachq__V1__Code code,
                            const char *field, const char *message);

/* Answers a framing or decoding failure rc and closes c once the answer is
 * flushed. */
void server_conn_fail(struct conn *c, int rc);

/* A request of kind taken on c, counted in flight until
 * server_request_finish(). NULL when out of memory (nothing counted). */
struct request *server_request_new(struct conn *c, uint64_t request_id, enum request_kind kind);

/* Frees r (everything it holds) and lets its connection take more requests,
 * or close, or be freed. Its answer must have been sent before. */
void server_request_finish(struct request *r);

/* ---- server_req.c ---- */

/* Decides one whole frame (body, len bytes, borrowed for the call) that
 * arrived on c: decodes it under the frame budget, checks its text on the
 * wire, and runs or starts the request it holds; every request is
 * answered, now or when its read or write completes. */
void server_req_frame(struct conn *c, const uint8_t *body, size_t len);

/* Answers a write (submit, reference, outcomes import) the store's writer
 * finished, from r->w's result. */
void server_req_answer_write(struct request *r);

/* ---- server_read.c ---- */

/* Runs r's read on the thread pool and answers it on the loop thread, then
 * finishes r. On failure to queue, answers UNAVAILABLE and finishes r. */
void server_read_queue(struct conn *c, struct request *r);

/* A list's store_list_filter_cb (arg: the request): the caller sees only
 * the records they may read, and a page is made of those alone. Thread
 * pool. */
int server_read_list_filter(struct store_txn *t, Coachq__V1__StoredObservation *rec, void *arg);

/* The bytes a list cursor is bound to besides the user (q's index, time
 * range and person) into out (LIST_BIND_MAX bytes). Returns their length. */
size_t server_read_list_binding(const struct store_query *q, uint8_t *out);

#endif
