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
#include "metrics.h"
#include "obs.h"
#include "pbmem.h"
#include "store.h"
#include "tls_conn.h"
#include "uuid.h"
#include "validate.h"

struct web;
struct http_server;
struct metrics_http;

/* The protocol port's request kinds as /metrics names them: one per
 * request a Frame can carry, and "invalid" for a frame that does not
 * decode or carries no request (server_req_kind_name()). */
#define SERVER_REQ_KINDS 21
#define SERVER_REQ_KIND_INVALID 20
#define SERVER_REQ_KIND_NONE (-1) /* an answer that is not a request's: not counted */
/* Codes an answer may carry (coachq.v1.Code, 0..16). */
#define SERVER_CODES 17

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
    uv_signal_t sighup;  /* reloads the TLS material (server_reload()) */
    uint64_t reloads_ok; /* SIGHUP reloads that took, and that failed */
    uint64_t reloads_failed;
    struct web *web;          /* the dashboards' routes; NULL with --dashboard off */
    struct http_server *http; /* the dashboard port */
    int http_done;            /* the dashboard port closed and answered everything */
    struct connset conns;     /* the protocol port's open connections */
    uint64_t outstanding;     /* requests taken and not yet answered, all connections */
    uint64_t stats_commits_logged;
    /* For /metrics (server_metrics.c): the metrics port, loop-thread
     * counters, and what other threads record lock-free. */
    struct metrics_http *metrics;
    int metrics_done; /* the metrics port closed */
    int64_t start_time_ms;
    uint64_t answers[SERVER_REQ_KINDS][SERVER_CODES];    /* by request kind and code */
    uint64_t tls_failures[TLS_CONN_FAIL_COUNT];          /* protocol port handshakes, by why */
    struct metrics_hist ack_us;                          /* submit received to its ack written */
    struct metrics_hist dash_build_us[DASH_BUILD_SLOTS]; /* both ports' dashboards, by kind */
    struct metrics_pool pool_jobs;                       /* both ports' thread-pool jobs */
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
    int cur_kind;                  /* the request being answered, for /metrics; or _NONE */
    enum tls_conn_failure hs_fail; /* why on_handshake refused the peer, for /metrics */
    /* On the list of connections whose acks on_store_async() holds until
     * it has answered the whole commit. */
    int corked;
    struct conn *cork_next;
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
    REQ_ACTIONS,
    REQ_IMPORT_SESSIONS,
    REQ_CALIBRATION,
    REQ_ASSIGN, /* ListAssignments, DrawAssignments (server_assign.c) */
};

/* One request taken and not yet finished, with what its answer needs. */
struct request {
    struct conn *conn; /* kept alive while in_flight counts this request */
    uint64_t request_id;
    enum request_kind kind;
    int frame_kind;    /* the /metrics kind (SERVER_REQ_KIND_*) its answer counts under */
    uint64_t start_ns; /* uv_hrtime() when it was taken */
    /* Submit. */
    struct store_write w;
    uint8_t *packed;
    /* Reads, run on the thread pool. */
    uv_work_t work;
    uint8_t id[UUID_LEN];
    struct store_query q;
    char person[VALIDATE_MAX_ID + 1];
    char zone[80];                  /* REQ_CERT_STATUS: the observer's zone name */
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
    int32_t *days; /* each kept record's session date in its coach's zone */
    uint32_t page_max;
    int more;
    /* Actions: whose (person, as coach 'c', coachee 'e' or line 'l') and
     * the filters; the records are kept in msgs. */
    char act_by;
    int act_open;
    int act_overdue;
    int32_t act_today;
    /* Import outcomes: a decoded copy of the rows, and the counts. */
    Coachq__V1__ImportOutcomes *imp;
    Coachq__V1__ImportResult result;
    /* Import sessions held (server_sessions.c): owned. */
    struct server_sessions *sess;
    /* Calibration (server_cal.c): a revealed attempt, owned. */
    Coachq__V1__CalibrationAnswer *cal;
    /* Assignments (server_assign.c): owned. */
    struct server_assign *asg;
};

/* ---- server_cal.c ---- */

/* CalibrationRequest: checks it and hands it to the thread pool (list,
 * history) or the writer thread (reveal, retire). */
void server_cal_handle(struct conn *c, uint64_t rid, const Coachq__V1__CalibrationRequest *q);

/* Sends a calibration request's answer (on the loop thread). */
void server_cal_answer(struct request *r);

/* The calibration request r's transaction (a store_txn_cb). It may run
 * more than once for one request and keeps only the last run's answer. */
int server_cal_txn(struct store_txn *t, void *arg);

/* The list of references and the history of a calibration request r, read
 * on the thread pool in a read transaction (a store_txn_cb). */
int server_cal_read_txn(struct store_txn *t, void *arg);

/* ---- server_sessions.c ---- */

struct server_sessions;

/* Takes an ImportSessions (imp borrowed for the call): refuses it at once,
 * or queues it for the writer and answers when it is done. Loop thread. */
void server_sessions_handle(struct conn *c, uint64_t rid, const Coachq__V1__ImportSessions *imp);

/* Answers an import the writer finished (r->w.rc set). Loop thread. */
void server_sessions_answer(struct request *r);

/* Frees a request's import; NULL is a no-op. */
void server_sessions_free(struct server_sessions *s);

/* ---- server_assign.c ---- */

struct server_assign;

/* Take a ListAssignments or DrawAssignments (borrowed for the call):
 * refuse it at once, or queue it for the writer and answer when it is
 * done. Loop thread. */
void server_assign_list(struct conn *c, uint64_t rid, const Coachq__V1__ListAssignments *q);
void server_assign_draw(struct conn *c, uint64_t rid, const Coachq__V1__DrawAssignments *d);
void server_assign_plan(struct conn *c, uint64_t rid, const Coachq__V1__SetCoveragePlan *s);

/* Answers a request the writer finished (r->w.rc set). Loop thread. */
void server_assign_answer(struct request *r);

/* ListAssignments of request r, read on the thread pool in a read
 * transaction (a store_txn_cb). */
int server_assign_read_txn(struct store_txn *t, void *arg);

/* Frees a request's assignment state; NULL is a no-op. */
void server_assign_free(struct server_assign *a);

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
 * server_request_finish(). NULL when out of memory: nothing is counted, and
 * c has been answered RESOURCE_EXHAUSTED "server out of memory" for
 * request_id here, once for every handler, so the caller only frees what it
 * holds and returns. Loop thread. */
struct request *server_request_new(struct conn *c, uint64_t request_id, enum request_kind kind);

/* Frees r (everything it holds) and lets its connection take more requests,
 * or close, or be freed. Its answer must have been sent before. */
void server_request_finish(struct request *r);

/* Hands r, its w filled in, to the store's writer thread, which answers it
 * when done. When the store takes no more writes (it is closing or has
 * failed), answers UNAVAILABLE with refusal (borrowed for the call: what
 * was not done and what to do, e.g. "the server cannot store now; nothing
 * was stored; try again later") and finishes r. Either way the caller no
 * longer holds r. Loop thread. */
void server_request_write(struct request *r, const char *refusal);

/* ---- server_req.c ---- */

/* Decides one whole frame (body, len bytes, borrowed for the call) that
 * arrived on c: decodes it under the frame budget, checks its text on the
 * wire, and runs or starts the request it holds; every request is
 * answered, now or when its read or write completes. */
void server_req_frame(struct conn *c, const uint8_t *body, size_t len);

/* Answers a write (submit, reference, outcomes import) the store's writer
 * finished, from r->w's result. */
void server_req_answer_write(struct request *r);

/* The /metrics kind of a Frame's body case (SERVER_REQ_KIND_INVALID for
 * none or an unknown one), and a kind's label, e.g. "submit". */
int server_req_kind(int body_case);
const char *server_req_kind_name(int kind);

/* ---- server_metrics.c ---- */

/* Sets up the histograms and the start time; before anything records. */
void server_metrics_init(struct server *s);

/* Starts the metrics port when --metrics is on. Returns 0 or a negative
 * code with a message in err. */
int server_metrics_start(struct server *s, char *err, size_t errlen);

/* Counts one answer on c under its current kind (nothing for _NONE). */
void server_metrics_answer(struct conn *c, const Coachq__V1__Frame *f);

/* Counts a protocol-port connection that closed before it was
 * authenticated: under c->hs_fail when on_handshake refused it, else
 * under f (tls_conn_handshake_failure(); nothing for _NONE). */
void server_metrics_conn_closed(struct conn *c, enum tls_conn_failure f);

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

/* Appends a decoded copy of m (borrowed for the call) to *arr, which grows
 * by one and is then n long; the copy is owned by the array's holder (a
 * request frees its msgs and msgs2 in server_request_finish()). Returns 0,
 * or -ENOMEM with *arr and *n as they were. Any thread. */
int server_read_keep(const ProtobufCMessage *m, ProtobufCMessage ***arr, size_t *n);

/* A certs_results() callback (arg: the request) keeping a copy of each
 * result in the request's msgs2 (server_read_keep()). Whichever thread
 * runs the request's transaction. */
int server_read_keep_result(const Coachq__V1__CalibrationResult *res, void *arg);

#endif
