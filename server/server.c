#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "audit.h"
#include "auth.h"
#include "certs.h"
#include "dash.h"
#include "dashfmt.h"
#include "error.h"
#include "frame.h"
#include "http.h"
#include "listen.h"
#include "log.h"
#include "outcomes.h"
#include "connset.h"
#include "cursor.h"
#include "pbmem.h"
#include "people.h"
#include "rubrics.h"
#include "store.h"
#include "tls_conn.h"
#include "tls_ctx.h"
#include "uuid.h"
#include "validate.h"
#include "web.h"

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
};

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
    /* Import outcomes: a decoded copy of the rows, and the counts. */
    Coachq__V1__ImportOutcomes *imp;
    Coachq__V1__ImportResult result;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *code_name(Coachq__V1__Code code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&coachq__v1__code__descriptor, (int)code);
    return v != NULL ? v->name : "UNKNOWN";
}

/* ---- Connections ---- */

static void conn_update_reading(struct conn *c);
static void conn_pump(struct conn *c);
static void server_maybe_finish(struct server *s);

static void conn_free(struct conn *c)
{
    frame_reader_free(&c->fr);
    free(c);
}

/* Sends one frame. Errors show up as the connection closing. */
static void conn_send(struct conn *c, const Coachq__V1__Frame *f)
{
    uint8_t stackbuf[2048];
    uint8_t *p = stackbuf;
    size_t n;

    if (c->cs.tls == NULL) {
        return;
    }
    n = coachq__v1__frame__get_packed_size(f);
    if (n + FRAME_HEADER_LEN > sizeof(stackbuf)) {
        p = malloc(n + FRAME_HEADER_LEN);
        if (p == NULL) {
            log_event(LOG_ERROR, "out_of_memory", "conn=%" PRIu64 " bytes=%zu", c->cs.id, n);
            tls_conn_abort(c->cs.tls, -ENOMEM);
            return;
        }
    }
    frame_put_header(p, (uint32_t)n);
    coachq__v1__frame__pack(f, p + FRAME_HEADER_LEN);
    if (tls_conn_write(c->cs.tls, p, n + FRAME_HEADER_LEN) < 0) {
        c->closing = 1;
    }
    if (p != stackbuf) {
        free(p);
    }
    conn_update_reading(c);
}

static void conn_send_error(struct conn *c, uint64_t request_id, Coachq__V1__Code code,
                            const char *field, const char *message)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Error e = COACHQ__V1__ERROR__INIT;
    char qmsg[300];

    e.code = code;
    e.message = (char *)message;
    e.field = (char *)(field != NULL ? field : "");
    f.request_id = request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_ERROR;
    f.error = &e;
    log_event(LOG_INFO, "request_error",
              "conn=%" PRIu64 " user=%s request_id=%" PRIu64 " code=%s field=%s message=%s",
              c->cs.id, c->user[0] ? c->user : "-", request_id, code_name(code),
              e.field[0] ? e.field : "-", log_quote(message, qmsg, sizeof(qmsg)));
    conn_send(c, &f);
}

/* Answers a framing or decoding failure and closes the connection after
 * the answer is flushed: after a bad frame the byte stream cannot be
 * trusted to be in step. */
static void conn_fail(struct conn *c, int rc)
{
    char msg[256];
    Coachq__V1__Code code = COACHQ__V1__CODE__INVALID_ARGUMENT;

    switch (rc) {
    case ERROR_FRAME_EMPTY:
        snprintf(msg, sizeof(msg),
                 "a frame's length prefix is 0; every frame must carry a packed "
                 "coachq.v1.Frame");
        break;
    case ERROR_FRAME_TOO_LARGE:
        code = COACHQ__V1__CODE__RESOURCE_EXHAUSTED;
        snprintf(msg, sizeof(msg),
                 "a frame's length prefix is above the limit of %zu bytes; split the request",
                 c->srv->cfg.max_frame);
        break;
    case ERROR_BUDGET:
        code = COACHQ__V1__CODE__RESOURCE_EXHAUSTED;
        snprintf(msg, sizeof(msg),
                 "decoding the frame needs more than the %zu bytes of memory a frame may use; "
                 "send fewer or smaller entries",
                 c->srv->cfg.unpack_budget);
        break;
    case -ENOBUFS:
        code = COACHQ__V1__CODE__RESOURCE_EXHAUSTED;
        snprintf(msg, sizeof(msg), "too much unread input on this connection");
        break;
    default:
        snprintf(msg, sizeof(msg), "the frame's bytes are not a valid coachq.v1.Frame");
        break;
    }
    conn_send_error(c, 0, code, "frame", msg);
    c->closing = 1;
    if (c->cs.tls != NULL) {
        tls_conn_close(c->cs.tls, rc);
    }
}

/* Reading is wanted while the connection takes requests, has room for
 * another one in flight, and its answers are not piling up unsent. */
static void conn_update_reading(struct conn *c)
{
    const struct config *cfg = &c->srv->cfg;
    int want;

    if (c->cs.tls == NULL) {
        return;
    }
    want = !c->closing && !c->srv->stopping && c->in_flight < cfg->max_in_flight &&
           tls_conn_pending(c->cs.tls) < cfg->write_high;
    if (want && c->paused) {
        c->paused = 0;
        tls_conn_read_start(c->cs.tls);
    } else if (!want && !c->paused) {
        c->paused = 1;
        tls_conn_read_stop(c->cs.tls);
    }
}

static struct request *request_new(struct conn *c, uint64_t request_id, enum request_kind kind)
{
    struct request *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return NULL;
    }
    r->conn = c;
    r->request_id = request_id;
    r->kind = kind;
    r->w.user = r;
    c->in_flight++;
    c->srv->outstanding++;
    return r;
}

/* Closes a connection that has nothing in flight, telling a stopping
 * server's client why, so it knows to resubmit what was not acknowledged. */
static void conn_close_idle(struct conn *c)
{
    if (c->srv->stopping) {
        conn_send_error(c, 0, COACHQ__V1__CODE__UNAVAILABLE, "",
                        "the server is shutting down; requests without an answer were not "
                        "processed; send them again later");
    }
    tls_conn_close(c->cs.tls, 0);
}

/* Releases a request and lets its connection go on (or go away). */
static void request_finish(struct request *r)
{
    struct conn *c = r->conn;
    struct server *s = c->srv;

    free(r->packed);
    if (r->rec != NULL) {
        coachq__v1__stored_observation__free_unpacked(r->rec, NULL);
    }
    store_page_free(&r->page);
    free(r->visible);
    for (size_t i = 0; i < r->n_versions; i++) {
        coachq__v1__stored_observation__free_unpacked(r->versions[i], NULL);
    }
    free(r->versions);
    for (size_t i = 0; i < r->n_msgs; i++) {
        protobuf_c_message_free_unpacked(r->msgs[i], NULL);
    }
    free(r->msgs);
    for (size_t i = 0; i < r->n_msgs2; i++) {
        protobuf_c_message_free_unpacked(r->msgs2[i], NULL);
    }
    free(r->msgs2);
    coachq__v1__calibration_reference__free_unpacked(r->ref, NULL);
    dash_free(r->dash);
    coachq__v1__import_outcomes__free_unpacked(r->imp, NULL);
    free(r);
    c->in_flight--;
    s->outstanding--;
    if (c->cs.tls == NULL) {
        if (c->in_flight == 0) {
            conn_free(c);
        }
    } else if ((s->stopping || c->closing) && c->in_flight == 0) {
        conn_close_idle(c);
    } else {
        conn_pump(c);
    }
    server_maybe_finish(s);
}

/* ---- Requests ---- */

static void handle_hello(struct conn *c, uint64_t rid, const Coachq__V1__Hello *h)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Welcome w = COACHQ__V1__WELCOME__INIT;

    if (h->protocol_version != PROTOCOL_VERSION) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "protocol version %u is not spoken here; this server speaks version %d",
                 h->protocol_version, PROTOCOL_VERSION);
        conn_send_error(c, rid, COACHQ__V1__CODE__FAILED_PRECONDITION, "hello.protocol_version",
                        msg);
        return;
    }
    Coachq__V1__Role roles[8];
    size_t nroles = 0;

    for (int role = COACHQ__V1__ROLE__ROLE_OBSERVER; role <= COACHQ__V1__ROLE__ROLE_ADMINISTRATOR;
         role++) {
        if (c->au.roles & (1u << role)) {
            roles[nroles++] = (Coachq__V1__Role)role;
        }
    }
    w.roles = roles;
    w.n_roles = nroles;
    w.protocol_version = PROTOCOL_VERSION;
    w.server_version = SERVER_VERSION;
    w.user_id = c->user;
    w.max_frame_bytes = (uint32_t)c->srv->cfg.max_frame;
    w.max_in_flight = c->srv->cfg.max_in_flight;
    /* Dashboards have the largest cap of the answers that do not page. */
    w.max_response_bytes =
        (uint32_t)(c->srv->cfg.write_max / 2 < DASH_MAX_BYTES ? c->srv->cfg.write_max / 2
                                                              : DASH_MAX_BYTES);
    if (w.max_response_bytes < w.max_frame_bytes) {
        w.max_response_bytes = w.max_frame_bytes;
    }
    f.request_id = rid;
    f.body_case = COACHQ__V1__FRAME__BODY_WELCOME;
    f.welcome = &w;
    conn_send(c, &f);
}

/* The largest packed Observation a submission may carry (SUBMIT_RESERVE). */
static size_t server_record_max(const struct server *s)
{
    size_t max = s->cfg.max_frame;

    return max > 2 * SUBMIT_RESERVE ? max - SUBMIT_RESERVE : max / 2;
}

static void handle_submit(struct conn *c, uint64_t rid, const Coachq__V1__SubmitObservation *sub)
{
    struct validate_error verr;
    struct request *r;
    size_t n;
    int rc;

    if (auth_decide(&c->au, AUTH_SUBMIT, NULL) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "submit",
                        "only observers submit observations; you hold no observer role");
        return;
    }
    if (validate_observation(sub->observation, "observation", &verr) < 0) {
        conn_send_error(c, rid, verr.code, verr.field, verr.message);
        return;
    }
    /* The stored record, with what the server adds, must come back in one
     * frame of the advertised size, alone in a list page if need be. */
    n = coachq__v1__observation__get_packed_size(sub->observation);
    if (n > server_record_max(c->srv)) {
        char msg[200];

        snprintf(msg, sizeof(msg),
                 "is %zu bytes packed; at most %zu fit, so that it can be read back in one "
                 "frame: shorten its notes or evidence",
                 n, server_record_max(c->srv));
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation", msg);
        return;
    }
    r = request_new(c, rid, REQ_SUBMIT);
    if (r == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        return;
    }
    /* The store gets bytes this server packed from a decoded, validated
     * message: canonical, so that a resubmission compares equal. */
    r->packed = malloc(n > 0 ? n : 1);
    if (r->packed == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        request_finish(r);
        return;
    }
    coachq__v1__observation__pack(sub->observation, r->packed);
    memcpy(r->id, sub->observation->id.data, UUID_LEN);
    r->w.obs = r->packed;
    r->w.obs_len = n;
    r->w.observer_id = c->user;
    r->w.origin = c->cs.peer;
    r->w.received_at_ms = now_ms();
    rc = store_submit(c->srv->store, &r->w);
    if (rc < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__UNAVAILABLE, "",
                        rc == -ESHUTDOWN ? "the server is shutting down; submit again later"
                                         : "the server cannot store observations now; nothing "
                                           "was stored; submit again later");
        request_finish(r);
    }
}

/* ---- Reads (thread pool) ---- */

/* Decides whether the request's user may read rec, with the management
 * chain of rec's coach on its session date. Thread pool. */
static int may_read_txn(struct store_txn *t, const struct auth_user *u,
                        const Coachq__V1__StoredObservation *rec)
{
    struct auth_target tg;
    char chain[PEOPLE_MAX_CHAIN][65];
    size_t n = 0;

    memset(&tg, 0, sizeof(tg));
    tg.rec = rec;
    /* Only a second-level manager's decision needs the line. */
    if ((u->roles & AUTH_SECOND_LEVEL) && auth_record_chain(t, rec, chain, &n) == 0) {
        tg.chain = (const char(*)[65])chain;
        tg.n_chain = n;
    }
    return auth_decide(u, AUTH_READ_RECORD, &tg) == 0;
}

static int get_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    int rc = store_get_txn(t, r->id, &r->rec);

    if (rc == 0) {
        r->allowed = may_read_txn(t, &r->conn->au, r->rec);
    }
    return rc;
}

/* A store_list_filter_cb: the caller sees only what they may read, and the
 * page (and its cursor) is made of those records alone. */
static int list_filter(struct store_txn *t, Coachq__V1__StoredObservation *rec, void *arg)
{
    struct request *r = arg;

    return may_read_txn(t, &r->conn->au, rec);
}

static int history_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    int rc = store_history_txn(t, r->id, &r->versions, &r->n_versions);

    if (rc != 0) {
        return rc;
    }
    r->visible = calloc(r->n_versions > 0 ? r->n_versions : 1, 1);
    if (r->visible == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->n_versions; i++) {
        r->visible[i] = (unsigned char)may_read_txn(t, &r->conn->au, r->versions[i]);
        r->allowed |= r->visible[i];
    }
    return 0;
}

/* Appends a decoded copy of m (which is borrowed) to *arr. */
static int msg_keep(const ProtobufCMessage *m, ProtobufCMessage ***arr, size_t *n)
{
    ProtobufCMessage **grown;
    ProtobufCMessage *copy;
    uint8_t *buf;
    size_t len = protobuf_c_message_get_packed_size(m);

    buf = malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        return -ENOMEM;
    }
    protobuf_c_message_pack(m, buf);
    copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    free(buf);
    if (copy == NULL) {
        return -ENOMEM;
    }
    grown = realloc(*arr, (*n + 1) * sizeof(*grown));
    if (grown == NULL) {
        protobuf_c_message_free_unpacked(copy, NULL);
        return -ENOMEM;
    }
    grown[*n] = copy;
    *arr = grown;
    (*n)++;
    return 0;
}

static int keep_rubric(const Coachq__V1__Rubric *rb, void *arg)
{
    struct request *r = arg;

    return msg_keep(&rb->base, &r->msgs, &r->n_msgs);
}

static int keep_cert(const Coachq__V1__Certification *c, void *arg)
{
    struct request *r = arg;

    return msg_keep(&c->base, &r->msgs, &r->n_msgs);
}

static int keep_result(const Coachq__V1__CalibrationResult *res, void *arg)
{
    struct request *r = arg;

    return msg_keep(&res->base, &r->msgs2, &r->n_msgs2);
}

static int rubrics_txn(struct store_txn *t, void *arg)
{
    return rubrics_list(t, 1, keep_rubric, arg);
}

static int rubric_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    Coachq__V1__Rubric *rb = NULL;
    int rc = rubrics_get(t, r->person, r->version, &rb);

    if (rc == 0) {
        rc = msg_keep(&rb->base, &r->msgs, &r->n_msgs);
        coachq__v1__rubric__free_unpacked(rb, NULL);
    }
    return rc;
}

static int cert_status_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    int rc = certs_list(t, r->person, keep_cert, r);

    if (rc == 0) {
        rc = certs_results(t, r->person, keep_result, r);
    }
    /* The calibration exam (certs.h): observers learn whether they passed
     * and when they may try again, never the agreement figures, which
     * attempt after attempt would reveal the master scores. Enablement
     * leads and administrators see them. */
    if (rc == 0 && (r->conn->au.roles & (AUTH_LEAD | AUTH_ADMIN)) == 0) {
        for (size_t i = 0; i < r->n_msgs; i++) {
            certs_withhold_cert((Coachq__V1__Certification *)r->msgs[i]);
        }
        for (size_t i = 0; i < r->n_msgs2 && rc == 0; i++) {
            rc = certs_withhold_result(t, (Coachq__V1__CalibrationResult *)r->msgs2[i],
                                       (int64_t)time(NULL) * 1000,
                                       store_get_policy(r->conn->srv->store));
        }
    }
    return rc;
}

/* Walking the organisation for a people list. Thread pool. */
struct people_walk {
    struct request *r;
    struct store_txn *t;
    int32_t day;
    const char *manager; /* whose reports are being kept; borrowed */
};

/* Keeps a summary of p (borrowed) with today's manager manager ("" for
 * none). Returns 0, 1 once the list is full (and marks it cut), or a
 * negative code. */
static int people_keep(struct request *r, const Coachq__V1__Person *p, const char *manager)
{
    Coachq__V1__PersonSummary s = COACHQ__V1__PERSON_SUMMARY__INIT;
    size_t bytes;

    /* protobuf-c's fields are not const, but packing only reads them. */
    s.id = p->id;
    s.name = p->name;
    s.roles = p->roles;
    s.n_roles = p->n_roles;
    s.manager_id = (char *)manager;
    bytes = coachq__v1__person_summary__get_packed_size(&s) + PEOPLE_ENTRY_OVERHEAD;
    if (r->n_msgs >= PEOPLE_MAX || bytes > r->max_bytes - r->list_bytes) {
        r->truncated = 1;
        return 1;
    }
    r->list_bytes += bytes;
    return msg_keep(&s.base, &r->msgs, &r->n_msgs);
}

static int people_keep_report(const char *id, void *arg)
{
    struct people_walk *w = arg;
    Coachq__V1__Person *p = NULL;
    int rc = people_get(w->t, id, &p);

    /* A line may name someone whose person record is gone: there is
     * nobody to show. */
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    rc = people_keep(w->r, p, w->manager);
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

/* Keeps a front-line manager, then everyone who reports to them today:
 * the coachees a submit would accept for them on that day. */
static int people_keep_manager(const Coachq__V1__Person *p, void *arg)
{
    struct people_walk *w = arg;
    char manager[VALIDATE_MAX_ID + 1];
    int rc;

    if (!people_has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER)) {
        return 0;
    }
    rc = people_manager_at(w->t, p->id, w->day, manager, sizeof(manager));
    if (rc == -ENOENT) {
        manager[0] = '\0';
        rc = 0;
    }
    if (rc == 0) {
        rc = people_keep(w->r, p, manager);
    }
    if (rc != 0) {
        return rc;
    }
    w->manager = p->id;
    rc = people_reports_at(w->t, p->id, w->day, people_keep_report, w);
    w->manager = NULL;
    if (rc == 0 && w->r->truncated) {
        rc = 1;
    }
    return rc;
}

static int people_txn(struct store_txn *t, void *arg)
{
    struct people_walk w;

    memset(&w, 0, sizeof(w));
    w.r = arg;
    w.t = t;
    w.day = store_day_of(w.r->as_of);
    return people_list(t, people_keep_manager, &w);
}

/* Builds the dashboard and measures its answer. Thread pool. */
static int dashboard_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    int rc;

    memset(&r->fault, 0, sizeof(r->fault));
    rc = dash_build(t, &r->conn->au, &r->dreq, &r->dopts, r->as_of, &r->dash, &r->fault);
    if (rc == 0) {
        r->list_bytes = coachq__v1__dashboard__get_packed_size(dash_message(r->dash));
        r->truncated = r->list_bytes > r->max_bytes;
    }
    return rc;
}

/* Thread pool. */
static void read_work(uv_work_t *work)
{
    struct request *r = work->data;
    struct store *st = r->conn->srv->store;

    switch (r->kind) {
    case REQ_GET:
        r->rc = store_view(st, get_txn, r);
        return;
    case REQ_HISTORY:
        r->rc = store_view(st, history_txn, r);
        return;
    case REQ_RUBRICS:
        r->rc = store_view(st, rubrics_txn, r);
        return;
    case REQ_RUBRIC:
        r->rc = store_view(st, rubric_txn, r);
        return;
    case REQ_CERT_STATUS:
        r->rc = store_view(st, cert_status_txn, r);
        return;
    case REQ_PEOPLE:
        r->rc = store_view(st, people_txn, r);
        return;
    case REQ_DASHBOARD:
        r->rc = store_view(st, dashboard_txn, r);
        return;
    case REQ_LIST:
        break;
    case REQ_SUBMIT:
    case REQ_ADD_REFERENCE:
    case REQ_IMPORT_OUTCOMES:
        r->rc = -EINVAL;
        return;
    }
    r->rc = store_list(st, &r->q, &r->page);
}

/* The answer to a read that failed inside the store. */
static void send_read_failure(struct request *r)
{
    conn_send_error(r->conn, r->request_id,
                    r->rc == -ENOMEM ? COACHQ__V1__CODE__RESOURCE_EXHAUSTED
                                     : COACHQ__V1__CODE__INTERNAL,
                    "", "the server could not read the store; try again");
}

static void send_record(struct request *r)
{
    struct conn *c = r->conn;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;

    if (r->rc == -ENOENT || (r->rc == 0 && !r->allowed)) {
        /* The same answer whether the record is missing or not the user's:
         * existence is not revealed. */
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__NOT_FOUND, "get.id",
                        "no observation with this id that you may read");
        return;
    }
    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_RECORD;
    f.record = r->rec;
    conn_send(c, &f);
}

static void send_history(struct request *r)
{
    struct conn *c = r->conn;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__ObservationHistory h = COACHQ__V1__OBSERVATION_HISTORY__INIT;
    size_t nv = 0;

    if (r->rc == -ENOENT || (r->rc == 0 && !r->allowed)) {
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__NOT_FOUND, "get_history.id",
                        "no observation with this id that you may read");
        return;
    }
    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    /* Only the versions the user may read, in order; the array is the
     * request's and is compacted in place. */
    for (size_t i = 0; i < r->n_versions; i++) {
        if (r->visible[i]) {
            Coachq__V1__StoredObservation *tmp = r->versions[nv];

            r->versions[nv] = r->versions[i];
            r->versions[i] = tmp;
            nv++;
        }
    }
    h.versions = r->versions;
    h.n_versions = nv;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_HISTORY;
    f.history = &h;
    conn_send(c, &f);
}

static void send_rubrics(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__RubricList l = COACHQ__V1__RUBRIC_LIST__INIT;

    if (r->kind == REQ_RUBRIC && r->rc == -ENOENT) {
        conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__NOT_FOUND,
                        r->version != 0 ? "get_rubric.version" : "get_rubric.id",
                        "no such rubric or version on this server; 'coachq rubrics' lists them");
        return;
    }
    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    f.request_id = r->request_id;
    if (r->kind == REQ_RUBRIC && r->n_msgs == 1) {
        f.body_case = COACHQ__V1__FRAME__BODY_RUBRIC;
        f.rubric = (Coachq__V1__Rubric *)r->msgs[0];
    } else {
        l.rubrics = (Coachq__V1__Rubric **)r->msgs;
        l.n_rubrics = r->n_msgs;
        f.body_case = COACHQ__V1__FRAME__BODY_RUBRICS;
        f.rubrics = &l;
    }
    conn_send(r->conn, &f);
}

static void send_cert_status(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__CertStatus cs = COACHQ__V1__CERT_STATUS__INIT;

    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    cs.observer_id = r->person;
    cs.certifications = (Coachq__V1__Certification **)r->msgs;
    cs.n_certifications = r->n_msgs;
    cs.results = (Coachq__V1__CalibrationResult **)r->msgs2;
    cs.n_results = r->n_msgs2;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_CERT_STATUS;
    f.cert_status = &cs;
    conn_send(r->conn, &f);
}

static void send_people(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__PeopleList l = COACHQ__V1__PEOPLE_LIST__INIT;

    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    if (r->truncated) {
        log_event(LOG_WARN, "people_list_truncated",
                  "conn=%" PRIu64 " user=%s people=%zu bytes=%zu max_people=%u max_bytes=%zu",
                  r->conn->cs.id, r->conn->user, r->n_msgs, r->list_bytes, PEOPLE_MAX,
                  r->max_bytes);
    }
    l.people = (Coachq__V1__PersonSummary **)r->msgs;
    l.n_people = r->n_msgs;
    l.as_of = r->as_of;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_PEOPLE;
    f.people = &l;
    conn_send(r->conn, &f);
}

/* The bytes a list cursor is bound to besides the user: the index, the
 * time range and the person (cursor.h). out must hold LIST_BIND_MAX. */
#define LIST_BIND_MAX (1 + 8 + 8 + VALIDATE_MAX_ID)
static size_t list_binding(const struct store_query *q, uint8_t *out)
{
    size_t n = 0;
    size_t plen = strlen(q->person_id);

    out[n++] = (uint8_t)q->by;
    for (int i = 0; i < 8; i++) {
        out[n++] = (uint8_t)((uint64_t)q->since >> (56 - 8 * i));
    }
    for (int i = 0; i < 8; i++) {
        out[n++] = (uint8_t)((uint64_t)q->until >> (56 - 8 * i));
    }
    memcpy(out + n, q->person_id, plen);
    return n + plen;
}

static void send_page(struct request *r)
{
    struct conn *c = r->conn;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__ObservationPage page = COACHQ__V1__OBSERVATION_PAGE__INIT;
    uint8_t bind[LIST_BIND_MAX];
    uint8_t sealed[CURSOR_MAX_SEALED];
    size_t sealed_len = 0;
    struct cursor_bind b;

    if (r->rc == -EINVAL) {
        /* The store refused the opened cursor: sealed by this server, but
         * not a key of this person's list (cannot happen unless the key
         * leaked). */
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.cursor",
                        "the cursor is not one this server gave for this list; start again "
                        "without a cursor");
        return;
    }
    if (r->rc < 0) {
        send_read_failure(r);
        return;
    }
    if (r->page.scan_capped && r->page.n == 0) {
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "list",
                        "the list crosses too many records to answer at once; narrow it with "
                        "since and until");
        return;
    }
    if (r->page.cursor_len > 0) {
        b.user = c->user;
        b.query = bind;
        b.query_len = list_binding(&r->q, bind);
        if (cursor_seal(c->srv->cursor_key, &b, (int64_t)time(NULL) + c->srv->cfg.cursor_ttl_s,
                        r->page.cursor, r->page.cursor_len, sealed, sizeof(sealed),
                        &sealed_len) < 0) {
            conn_send_error(c, r->request_id, COACHQ__V1__CODE__INTERNAL, "",
                            "the server could not make the next page's cursor; try again");
            return;
        }
    }
    page.observations = r->page.items;
    page.n_observations = r->page.n;
    page.next_cursor.data = sealed_len > 0 ? sealed : NULL;
    page.next_cursor.len = sealed_len;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_PAGE;
    f.page = &page;
    conn_send(c, &f);
}

/* Who may see a dashboard of a kind, for a refusal. */
static const char *dashboard_who(Coachq__V1__DashboardKind kind)
{
    switch (kind) {
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS:
        return "\"my managers\" is for second-level managers (their own line), enablement "
               "leads and administrators";
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER:
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING:
        return "a front-line manager's dashboards are for that manager, the managers above "
               "them, enablement leads and administrators";
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME:
        return "programme impact is for enablement leads and administrators only";
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS:
        return "observer reliability is for enablement leads and administrators only";
    default:
        return "your roles have no such dashboard";
    }
}

static void send_dashboard(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    char msg[256];

    switch (r->rc) {
    case 0:
        break;
    case -ENOENT:
        /* The same answer for a person who does not exist and one outside
         * the caller's line: existence is not revealed. */
        conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__NOT_FOUND,
                        "get_dashboard.subject_id",
                        "no such dashboard subject, or not in your line");
        return;
    case -EACCES:
        conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__PERMISSION_DENIED,
                        "get_dashboard.kind", dashboard_who(r->dreq.kind));
        return;
    case -EINVAL:
        conn_send_error(r->conn, r->request_id,
                        r->fault.code != COACHQ__V1__CODE__OK ? r->fault.code
                                                              : COACHQ__V1__CODE__INVALID_ARGUMENT,
                        r->fault.field[0] ? r->fault.field : "get_dashboard",
                        r->fault.message[0] ? r->fault.message : "the request is not valid");
        return;
    default:
        log_event(LOG_ERROR, "dashboard_failed", "conn=%" PRIu64 " user=%s kind=%d rc=%d (%s)",
                  r->conn->cs.id, r->conn->user, (int)r->dreq.kind, r->rc, error_strerror(r->rc));
        send_read_failure(r);
        return;
    }
    if (r->truncated) {
        log_event(LOG_WARN, "dashboard_too_large",
                  "conn=%" PRIu64 " user=%s kind=%d bytes=%zu max_bytes=%zu", r->conn->cs.id,
                  r->conn->user, (int)r->dreq.kind, r->list_bytes, r->max_bytes);
        snprintf(msg, sizeof(msg),
                 "the dashboard's answer is %zu bytes, above the %zu bytes this connection "
                 "takes; ask for a narrower one (one manager, or another rubric)",
                 r->list_bytes, r->max_bytes);
        conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED,
                        "get_dashboard", msg);
        return;
    }
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_DASHBOARD;
    /* protobuf-c's fields are not const, but packing only reads them. */
    f.dashboard = (Coachq__V1__Dashboard *)dash_message(r->dash);
    conn_send(r->conn, &f);
}

static void read_done(uv_work_t *work, int status)
{
    struct request *r = work->data;

    if (r->conn->cs.tls != NULL && status == 0) {
        switch (r->kind) {
        case REQ_GET:
            send_record(r);
            break;
        case REQ_HISTORY:
            send_history(r);
            break;
        case REQ_RUBRICS:
        case REQ_RUBRIC:
            send_rubrics(r);
            break;
        case REQ_CERT_STATUS:
            send_cert_status(r);
            break;
        case REQ_PEOPLE:
            send_people(r);
            break;
        case REQ_LIST:
            send_page(r);
            break;
        case REQ_DASHBOARD:
            send_dashboard(r);
            break;
        case REQ_SUBMIT:
        case REQ_ADD_REFERENCE:
        case REQ_IMPORT_OUTCOMES:
            break;
        }
    }
    request_finish(r);
}

static void queue_read(struct conn *c, struct request *r)
{
    int rc;

    r->work.data = r;
    rc = uv_queue_work(c->srv->loop, &r->work, read_work, read_done);
    if (rc < 0) {
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
                        "the server could not start the read; try again");
        request_finish(r);
    }
}

static void handle_get(struct conn *c, uint64_t rid, const Coachq__V1__GetObservation *g)
{
    struct request *r;

    if (g->id.len != UUID_LEN) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get.id",
                        "must be the observation's 16-byte UUID");
        return;
    }
    r = request_new(c, rid, REQ_GET);
    if (r == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        return;
    }
    memcpy(r->id, g->id.data, UUID_LEN);
    queue_read(c, r);
}

static void handle_list(struct conn *c, uint64_t rid, const Coachq__V1__ListObservations *l)
{
    struct request *r;
    enum store_index by;

    switch (l->by) {
    case COACHQ__V1__LIST_BY__LIST_BY_COACH:
        by = STORE_BY_COACH;
        break;
    case COACHQ__V1__LIST_BY__LIST_BY_OBSERVER:
        by = STORE_BY_OBSERVER;
        break;
    case COACHQ__V1__LIST_BY__LIST_BY_COACHEE:
        by = STORE_BY_COACHEE;
        break;
    default:
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.by",
                        "choose which people to list by: coach, observer or coachee");
        return;
    }
    if (validate_id(l->person_id) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.person_id",
                        "must be a person's id: 1 to 64 letters, digits, '.', '_', '@' or '-'");
        return;
    }
    if (l->since != 0 && l->until != 0 && l->since >= l->until) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.until",
                        "must be later than since");
        return;
    }
    if (auth_decide(&c->au, AUTH_LIST, NULL) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "list",
                        "you may not list these observations");
        return;
    }
    r = request_new(c, rid, REQ_LIST);
    if (r == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        return;
    }
    snprintf(r->person, sizeof(r->person), "%s", l->person_id);
    r->q.by = by;
    r->q.person_id = r->person;
    r->q.since = l->since != 0 ? l->since : INT64_MIN;
    r->q.until = l->until != 0 ? l->until : INT64_MAX;
    r->q.limit = l->page_size == 0               ? STORE_DEFAULT_PAGE
                 : l->page_size > STORE_MAX_PAGE ? STORE_MAX_PAGE
                                                 : l->page_size;
    if (l->cursor.len > 0) {
        uint8_t bind[LIST_BIND_MAX];
        struct cursor_bind b;
        size_t pos_len = 0;
        int rc;

        /* A cursor opens only for the user it was given to, for this very
         * query, before it expires (cursor.h). */
        b.user = c->user;
        b.query = bind;
        b.query_len = list_binding(&r->q, bind);
        rc = cursor_open(c->srv->cursor_key, &b, (int64_t)time(NULL), l->cursor.data, l->cursor.len,
                         r->cursor, sizeof(r->cursor), &pos_len);
        if (rc < 0) {
            conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.cursor",
                            rc == CURSOR_E_EXPIRED
                                ? "the cursor has expired; list again from the first page"
                                : "the cursor is not one this server gave you for this list; "
                                  "start again without a cursor");
            request_finish(r);
            return;
        }
        r->q.cursor = r->cursor;
        r->q.cursor_len = pos_len;
    }
    r->q.filter = list_filter;
    r->q.filter_arg = r;
    r->q.max_bytes = c->srv->cfg.max_frame > 2 * PAGE_RESERVE ? c->srv->cfg.max_frame - PAGE_RESERVE
                                                              : c->srv->cfg.max_frame / 2;
    r->q.max_scan = LIST_MAX_SCAN;
    queue_read(c, r);
}

static void handle_history(struct conn *c, uint64_t rid, const Coachq__V1__GetHistory *g)
{
    struct request *r;

    if (g->id.len != UUID_LEN) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_history.id",
                        "must be the observation's 16-byte UUID");
        return;
    }
    r = request_new(c, rid, REQ_HISTORY);
    if (r == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        return;
    }
    memcpy(r->id, g->id.data, UUID_LEN);
    queue_read(c, r);
}

static void handle_rubrics(struct conn *c, uint64_t rid, const Coachq__V1__GetRubric *g)
{
    struct request *r;

    if (auth_decide(&c->au, AUTH_RUBRICS, NULL) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "",
                        "you may not read rubrics");
        return;
    }
    if (g != NULL && validate_id(g->id) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_rubric.id",
                        "must be a rubric id: 1 to 64 letters, digits, '.', '_', '@' or '-'");
        return;
    }
    r = request_new(c, rid, g != NULL ? REQ_RUBRIC : REQ_RUBRICS);
    if (r == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        return;
    }
    if (g != NULL) {
        snprintf(r->person, sizeof(r->person), "%s", g->id);
        r->version = g->version;
    }
    queue_read(c, r);
}

static void handle_cert_status(struct conn *c, uint64_t rid, const Coachq__V1__GetCertStatus *g)
{
    struct auth_target tg;
    struct request *r;
    const char *who = g->observer_id != NULL && g->observer_id[0] ? g->observer_id : c->user;

    if (validate_id(who) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_cert_status.observer_id",
                        "must be a person's id, or empty for your own status");
        return;
    }
    memset(&tg, 0, sizeof(tg));
    tg.observer = who;
    if (auth_decide(&c->au, AUTH_CERT_STATUS, &tg) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "get_cert_status.observer_id",
                        "you may read only your own certification status");
        return;
    }
    r = request_new(c, rid, REQ_CERT_STATUS);
    if (r == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        return;
    }
    snprintf(r->person, sizeof(r->person), "%s", who);
    queue_read(c, r);
}

static void handle_people(struct conn *c, uint64_t rid)
{
    struct request *r;

    if (auth_decide(&c->au, AUTH_PEOPLE, NULL) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "list_people",
                        "only observers, enablement leads and administrators list the people "
                        "to observe");
        return;
    }
    r = request_new(c, rid, REQ_PEOPLE);
    if (r == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        return;
    }
    r->as_of = (int64_t)time(NULL);
    r->max_bytes = c->srv->cfg.write_max / 2;
    if (r->max_bytes > PEOPLE_MAX_BYTES) {
        r->max_bytes = PEOPLE_MAX_BYTES;
    }
    queue_read(c, r);
}

/* Writer thread: stores a calibration reference after checking it against
 * its rubric (every behaviour scored by the masters, or not applicable where
 * the rubric allows it). */
static int add_reference_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    const Coachq__V1__CalibrationReference *ref = r->ref;
    Coachq__V1__Rubric *rb = NULL;
    char idstr[UUID_STR_LEN];
    char detail[200];
    int rc;

    memset(&r->fault, 0, sizeof(r->fault));
    rc = rubrics_get(t, ref->rubric_id, ref->rubric_version, &rb);
    if (rc == -ENOENT) {
        r->fault.code = COACHQ__V1__CODE__INVALID_ARGUMENT;
        snprintf(r->fault.field, sizeof(r->fault.field), "add_reference.reference.rubric_version");
        snprintf(r->fault.message, sizeof(r->fault.message),
                 "there is no rubric '%s' version %u on this server", ref->rubric_id,
                 (unsigned)ref->rubric_version);
        return ERROR_REFUSED;
    }
    if (rc != 0) {
        return rc;
    }
    for (size_t j = 0; j < rb->n_behaviours && rc == 0; j++) {
        const Coachq__V1__Behaviour *b = rb->behaviours[j];
        const Coachq__V1__Rating *m = NULL;

        for (size_t i = 0; i < ref->n_master && m == NULL; i++) {
            if (strcmp(ref->master[i]->behaviour_id, b->id) == 0) {
                m = ref->master[i];
            }
        }
        if (m == NULL || (m->not_applicable && !b->allow_not_applicable)) {
            r->fault.code = COACHQ__V1__CODE__INVALID_ARGUMENT;
            snprintf(r->fault.field, sizeof(r->fault.field), "add_reference.reference.master");
            snprintf(r->fault.message, sizeof(r->fault.message),
                     "behaviour '%s' has no master score%s: score every behaviour of the rubric",
                     b->id, m != NULL ? " (it cannot be not applicable)" : "");
            rc = ERROR_REFUSED;
        }
    }
    for (size_t i = 0; i < ref->n_master && rc == 0; i++) {
        if (rubrics_behaviour(rb, ref->master[i]->behaviour_id) == NULL) {
            r->fault.code = COACHQ__V1__CODE__INVALID_ARGUMENT;
            snprintf(r->fault.field, sizeof(r->fault.field),
                     "add_reference.reference.master[%zu].behaviour_id", i);
            snprintf(r->fault.message, sizeof(r->fault.message),
                     "rubric '%s' v%u has no behaviour '%s'", rb->id, (unsigned)rb->version,
                     ref->master[i]->behaviour_id);
            rc = ERROR_REFUSED;
        }
    }
    coachq__v1__rubric__free_unpacked(rb, NULL);
    if (rc != 0) {
        return rc;
    }
    rc = certs_reference_put(t, ref);
    if (rc != 0) {
        return rc;
    }
    uuid_format(ref->id.data, idstr);
    snprintf(detail, sizeof(detail), "rubric=%s@%u title=%.100s", ref->rubric_id,
             (unsigned)ref->rubric_version, ref->title);
    return audit_append(t, r->w.received_at_ms, r->conn->user, "calibration.reference.add", idstr,
                        detail, r->conn->cs.peer, NULL);
}

static void handle_add_reference(struct conn *c, uint64_t rid, const Coachq__V1__AddReference *a)
{
    const Coachq__V1__CalibrationReference *ref = a->reference;
    struct request *r;
    uint8_t *buf;
    size_t n;
    int rc;

    if (auth_decide(&c->au, AUTH_ADD_REFERENCE, NULL) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "add_reference",
                        "only enablement leads and administrators register calibration "
                        "reference sessions");
        return;
    }
    if (ref == NULL || ref->id.len != UUID_LEN) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "add_reference.reference.id",
                        "must be the reference's 16-byte UUID");
        return;
    }
    if (validate_id(ref->rubric_id) < 0 || ref->rubric_version == 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                        ref->rubric_version == 0 && validate_id(ref->rubric_id) == 0
                            ? "add_reference.reference.rubric_version"
                            : "add_reference.reference.rubric_id",
                        "name the rubric id and version the masters scored");
        return;
    }
    if (ref->title == NULL || ref->title[0] == '\0' || strlen(ref->title) > 200 ||
        ref->n_master == 0 || ref->n_master > VALIDATE_MAX_RATINGS) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                        ref->n_master == 0 || ref->n_master > VALIDATE_MAX_RATINGS
                            ? "add_reference.reference.master"
                            : "add_reference.reference.title",
                        "give a title of 1 to 200 bytes and one master rating per behaviour");
        return;
    }
    for (size_t i = 0; i < ref->n_master; i++) {
        const Coachq__V1__Rating *m = ref->master[i];
        char field[80];

        if (validate_id(m->behaviour_id) < 0 ||
            (m->not_applicable ? m->score != 0 : (m->score < 1 || m->score > 4))) {
            snprintf(field, sizeof(field), "add_reference.reference.master[%zu]", i);
            conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, field,
                            "each master rating needs a behaviour id and a score from 1 to 4, "
                            "or not applicable");
            return;
        }
    }
    r = request_new(c, rid, REQ_ADD_REFERENCE);
    if (r == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        return;
    }
    /* The frame is freed when this returns: keep a decoded copy, with the
     * registering user and time set by the server (on a shallow copy, so
     * that protobuf-c owns every string of the decoded one). */
    {
        Coachq__V1__CalibrationReference stamped = *ref;

        stamped.registered_by = c->user;
        stamped.registered_at_ms = now_ms();
        n = coachq__v1__calibration_reference__get_packed_size(&stamped);
        buf = malloc(n > 0 ? n : 1);
        if (buf != NULL) {
            coachq__v1__calibration_reference__pack(&stamped, buf);
            r->ref = coachq__v1__calibration_reference__unpack(NULL, n, buf);
            free(buf);
        }
    }
    if (r->ref == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        request_finish(r);
        return;
    }
    memcpy(r->id, ref->id.data, UUID_LEN);
    r->w.fn = add_reference_txn;
    r->w.fn_arg = r;
    r->w.received_at_ms = r->ref->registered_at_ms;
    rc = store_submit(c->srv->store, &r->w);
    if (rc < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__UNAVAILABLE, "",
                        "the server cannot store now; nothing was stored; try again later");
        request_finish(r);
    }
}

static void handle_dashboard(struct conn *c, uint64_t rid, const Coachq__V1__GetDashboard *g)
{
    const struct config *cfg = &c->srv->cfg;
    struct request *r;

    if (dashfmt_kind_name(g->kind) == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_dashboard.kind",
                        "choose a dashboard: my managers, manager, programme, observers or my "
                        "coaching");
        return;
    }
    if (g->subject_id != NULL && g->subject_id[0] != '\0' && validate_id(g->subject_id) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_dashboard.subject_id",
                        "must be a person's id: 1 to 64 letters, digits, '.', '_', '@' or '-', "
                        "or empty for yourself");
        return;
    }
    if (g->rubric_id != NULL && g->rubric_id[0] != '\0' && validate_id(g->rubric_id) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_dashboard.rubric_id",
                        "must be a rubric id: 1 to 64 letters, digits, '.', '_', '@' or '-', "
                        "or empty for " DASH_DEFAULT_RUBRIC);
        return;
    }
    r = request_new(c, rid, REQ_DASHBOARD);
    if (r == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        return;
    }
    /* The frame is freed when this returns: the request keeps copies. */
    coachq__v1__get_dashboard__init(&r->dreq);
    snprintf(r->person, sizeof(r->person), "%s", g->subject_id != NULL ? g->subject_id : "");
    snprintf(r->rubric, sizeof(r->rubric), "%s", g->rubric_id != NULL ? g->rubric_id : "");
    r->dreq.kind = g->kind;
    r->dreq.subject_id = r->person;
    r->dreq.rubric_id = r->rubric;
    r->dreq.until_day = g->until_day;
    dash_opts_default(&r->dopts);
    r->dopts.min_n = cfg->dash_min_n;
    r->dopts.privacy_min = cfg->dash_privacy_min;
    r->as_of = (int64_t)time(NULL);
    r->max_bytes = cfg->write_max / 2;
    if (r->max_bytes > DASH_MAX_BYTES) {
        r->max_bytes = DASH_MAX_BYTES;
    }
    queue_read(c, r);
}

/* Writer thread: stores the rows, all or nothing. It may run again after
 * the map grows, so its outputs are set afresh. */
static int import_outcomes_txn(struct store_txn *t, void *arg)
{
    static const char prefix[] = "import_outcomes.";
    struct request *r = arg;
    int rc;

    coachq__v1__import_result__init(&r->result);
    memset(&r->fault, 0, sizeof(r->fault));
    rc = outcomes_import_txn(t, r->imp->outcomes, r->imp->n_outcomes, r->w.received_at_ms,
                             r->conn->user, r->conn->cs.peer, &r->result, &r->fault);
    if (rc == -EINVAL && r->fault.field[0] != '\0') {
        /* The module names rows "outcomes[i]"; the request names them as
         * fields of the frame, like every other answer. */
        if (strncmp(r->fault.field, prefix, sizeof(prefix) - 1) != 0) {
            char field[sizeof(r->fault.field) + sizeof(prefix)] = "";

            snprintf(field, sizeof(field), "%s%s", prefix, r->fault.field);
            memcpy(r->fault.field, field, sizeof(r->fault.field) - 1);
            r->fault.field[sizeof(r->fault.field) - 1] = '\0';
        }
        if (r->fault.code == COACHQ__V1__CODE__OK) {
            r->fault.code = COACHQ__V1__CODE__INVALID_ARGUMENT;
        }
        return ERROR_REFUSED;
    }
    return rc;
}

static void handle_import_outcomes(struct conn *c, uint64_t rid,
                                   const Coachq__V1__ImportOutcomes *imp)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__ImportResult none = COACHQ__V1__IMPORT_RESULT__INIT;
    struct validate_error verr;
    struct request *r;
    uint8_t *buf;
    size_t n;
    int rc;

    if (auth_decide(&c->au, AUTH_IMPORT_OUTCOMES, NULL) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "import_outcomes",
                        "only enablement leads and administrators import business results");
        return;
    }
    if (imp->n_outcomes > OUTCOMES_MAX_ROWS) {
        char msg[160];

        snprintf(msg, sizeof(msg), "%zu rows in one request; send at most %u", imp->n_outcomes,
                 OUTCOMES_MAX_ROWS);
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "import_outcomes.outcomes",
                        msg);
        return;
    }
    for (size_t i = 0; i < imp->n_outcomes; i++) {
        char prefix[64];

        snprintf(prefix, sizeof(prefix), "import_outcomes.outcomes[%zu]", i);
        memset(&verr, 0, sizeof(verr));
        if (outcomes_check(imp->outcomes[i], prefix, &verr) < 0) {
            conn_send_error(c, rid,
                            verr.code != COACHQ__V1__CODE__OK ? verr.code
                                                              : COACHQ__V1__CODE__INVALID_ARGUMENT,
                            verr.field, verr.message);
            return;
        }
    }
    if (imp->n_outcomes == 0) {
        /* Nothing to store: answered at once, without a write. */
        f.request_id = rid;
        f.body_case = COACHQ__V1__FRAME__BODY_IMPORT_RESULT;
        f.import_result = &none;
        conn_send(c, &f);
        return;
    }
    r = request_new(c, rid, REQ_IMPORT_OUTCOMES);
    if (r == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        return;
    }
    /* The frame is freed when this returns: keep a decoded copy. */
    n = coachq__v1__import_outcomes__get_packed_size(imp);
    buf = malloc(n > 0 ? n : 1);
    if (buf != NULL) {
        coachq__v1__import_outcomes__pack(imp, buf);
        r->imp = coachq__v1__import_outcomes__unpack(NULL, n, buf);
        free(buf);
    }
    if (r->imp == NULL) {
        conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "", "server out of memory");
        request_finish(r);
        return;
    }
    r->w.fn = import_outcomes_txn;
    r->w.fn_arg = r;
    r->w.received_at_ms = now_ms();
    rc = store_submit(c->srv->store, &r->w);
    if (rc < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__UNAVAILABLE, "",
                        "the server cannot store now; nothing was imported; try again later");
        request_finish(r);
    }
}

static void handle_stats(struct conn *c, uint64_t rid)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Stats st = COACHQ__V1__STATS__INIT;
    struct store_stats ss;

    if (auth_decide(&c->au, AUTH_STATS, NULL) < 0) {
        conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "get_stats",
                        "only enablement leads and administrators read the server's counters");
        return;
    }
    store_get_stats(c->srv->store, &ss);
    st.commits = ss.commits;
    st.records_stored = ss.records_stored;
    st.duplicates = ss.duplicates;
    st.max_batch = ss.max_batch;
    st.commit_us_total = ss.commit_us_total;
    st.commit_us_max = ss.commit_us_max;
    st.connections = c->srv->conns.n;
    st.batched_requests = ss.batched_requests;
    f.request_id = rid;
    f.body_case = COACHQ__V1__FRAME__BODY_STATS;
    f.stats = &st;
    conn_send(c, &f);
}

static void conn_handle_frame(struct conn *c, const uint8_t *body, size_t len)
{
    struct validate_error verr;
    struct pbmem m;
    Coachq__V1__Frame *f = NULL;
    uint64_t rid;
    int rc;

    pbmem_init(&m, &c->srv->pool, c->srv->cfg.unpack_budget);
    rc = pbmem_unpack_frame(&m, body, len, &f);
    if (rc < 0) {
        conn_fail(c, rc);
        return;
    }
    rid = f->request_id;
    if (c->requests == 0 && c->cs.tls != NULL) {
        /* The first whole frame arrived in time. */
        tls_conn_set_deadline(c->cs.tls, 0);
    }
    c->requests++;
    c->last_active_ms = uv_now(c->srv->loop);
    /* protobuf-c makes each string a C string that ends at its first NUL, so
     * the text rule is checked on the wire, where the lengths are: a record
     * acknowledged is then byte for byte the record sent. */
    if (validate_wire_text(&coachq__v1__frame__descriptor, body, len, &verr) < 0) {
        const char *field = verr.field;

        /* A submission's paths start at its observation, as validate's do. */
        if (strncmp(field, "submit.", 7) == 0) {
            field += 7;
        }
        conn_send_error(c, rid, verr.code, field, verr.message);
        pbmem_frame_free(&m, f);
        return;
    }
    switch (f->body_case) {
    case COACHQ__V1__FRAME__BODY_HELLO:
        handle_hello(c, rid, f->hello);
        break;
    case COACHQ__V1__FRAME__BODY_SUBMIT:
        handle_submit(c, rid, f->submit);
        break;
    case COACHQ__V1__FRAME__BODY_GET:
        handle_get(c, rid, f->get);
        break;
    case COACHQ__V1__FRAME__BODY_LIST:
        handle_list(c, rid, f->list);
        break;
    case COACHQ__V1__FRAME__BODY_GET_STATS:
        handle_stats(c, rid);
        break;
    case COACHQ__V1__FRAME__BODY_GET_HISTORY:
        handle_history(c, rid, f->get_history);
        break;
    case COACHQ__V1__FRAME__BODY_LIST_RUBRICS:
        handle_rubrics(c, rid, NULL);
        break;
    case COACHQ__V1__FRAME__BODY_GET_RUBRIC:
        handle_rubrics(c, rid, f->get_rubric);
        break;
    case COACHQ__V1__FRAME__BODY_GET_CERT_STATUS:
        handle_cert_status(c, rid, f->get_cert_status);
        break;
    case COACHQ__V1__FRAME__BODY_ADD_REFERENCE:
        handle_add_reference(c, rid, f->add_reference);
        break;
    case COACHQ__V1__FRAME__BODY_LIST_PEOPLE:
        handle_people(c, rid);
        break;
    case COACHQ__V1__FRAME__BODY_GET_DASHBOARD:
        handle_dashboard(c, rid, f->get_dashboard);
        break;
    case COACHQ__V1__FRAME__BODY_IMPORT_OUTCOMES:
        handle_import_outcomes(c, rid, f->import_outcomes);
        break;
    case COACHQ__V1__FRAME__BODY__NOT_SET:
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "body",
                        "the frame has no request in it; set one of its body fields");
        break;
    default:
        conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "body",
                        "the frame holds a server response, not a request");
        break;
    }
    pbmem_frame_free(&m, f);
}

/* Takes whole frames while the connection may have more in flight. */
static void conn_pump(struct conn *c)
{
    /* A request answered synchronously inside the loop below finishes into
     * conn_pump again; the outer loop goes on instead of recursing. */
    if (c->in_pump) {
        return;
    }
    c->in_pump = 1;
    while (c->cs.tls != NULL && !c->closing && !c->srv->stopping &&
           c->in_flight < c->srv->cfg.max_in_flight &&
           tls_conn_pending(c->cs.tls) < c->srv->cfg.write_high) {
        const uint8_t *body;
        size_t len;
        int rc = frame_reader_next(&c->fr, &body, &len);
        if (rc == 0) {
            break;
        }
        if (rc < 0) {
            conn_fail(c, rc);
            break;
        }
        conn_handle_frame(c, body, len);
    }
    c->in_pump = 0;
    conn_update_reading(c);
}

/* ---- TLS callbacks ---- */

/* Turns the verified certificate's CN into a coachq user with roles, or
 * refuses the connection with the reason. Runs at every handshake (resumed
 * ones too), so a disabled user is refused at their next connection. The
 * look-up is one point read in the people table. */
static int conn_identify(struct conn *c, SSL *ssl)
{
    X509 *peer = SSL_get0_peer_certificate(ssl);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char why[200];
    int rc;

    if (peer == NULL || X509_digest(peer, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32) {
        conn_send_error(c, 0, COACHQ__V1__CODE__UNAUTHENTICATED, "certificate",
                        "the client certificate could not be read");
        return ERROR_NO_PEER_CERT;
    }
    rc = auth_identify(c->srv->store, c->user, md, &c->au, why, sizeof(why));
    if (rc == 0) {
        return 0;
    }
    log_event(LOG_WARN, "conn_refused", "conn=%" PRIu64 " peer=%s user=%s reason=\"%s\"", c->cs.id,
              c->cs.peer, c->user, rc == -EACCES ? why : error_strerror(rc));
    if (rc == -EACCES) {
        conn_send_error(c, 0, COACHQ__V1__CODE__PERMISSION_DENIED, "certificate", why);
    } else {
        conn_send_error(c, 0, COACHQ__V1__CODE__UNAVAILABLE, "",
                        "the server cannot check your account now; try again later");
    }
    return rc;
}

/* --max-per-user: a user at the limit gets the new connection, and their
 * connection idle the longest (nothing in flight) is closed to make room,
 * so that idle connections a user left behind (or an attacker with their
 * certificate opened) never lock the user out, and one user never holds
 * more than the limit. Only when every one of them is busy is the new one
 * refused. Returns 0 or -EUSERS (answered). */
static int conn_admit_user(struct conn *c)
{
    struct server *s = c->srv;
    struct conn *victim = NULL;
    unsigned n = 0;
    char msg[300];

    for (struct connset_conn *e = s->conns.head; e != NULL; e = e->next) {
        struct conn *o = e->data;

        if (o == c || !o->authenticated || o->closing || o->cs.tls == NULL ||
            strcmp(o->user, c->user) != 0) {
            continue;
        }
        n++;
        if (o->in_flight == 0 && (victim == NULL || o->last_active_ms < victim->last_active_ms)) {
            victim = o;
        }
    }
    if (n < s->cfg.max_per_user) {
        return 0;
    }
    if (victim == NULL) {
        log_event(LOG_WARN, "conn_refused",
                  "conn=%" PRIu64 " peer=%s user=%s reason=max_per_user open=%u", c->cs.id,
                  c->cs.peer, c->user, n);
        snprintf(msg, sizeof(msg),
                 "user %s has %u connections open with requests in flight, the limit "
                 "(--max-per-user); wait for one to finish",
                 c->user, n);
        conn_send_error(c, 0, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "connection", msg);
        return -EUSERS;
    }
    log_event(LOG_INFO, "conn_evicted",
              "conn=%" PRIu64 " peer=%s user=%s reason=max_per_user open=%u by_conn=%" PRIu64,
              victim->cs.id, victim->cs.peer, victim->user, n, c->cs.id);
    snprintf(msg, sizeof(msg),
             "closed to make room: user %s opened a new connection and has %u open, the limit "
             "(--max-per-user); the one idle the longest is closed",
             c->user, n);
    conn_send_error(victim, 0, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "connection", msg);
    victim->closing = 1;
    conn_update_reading(victim);
    tls_conn_close(victim->cs.tls, -EUSERS);
    /* Its peer gets a moment to read why, not the close timeout's 30 s of
     * holding a slot. */
    if (victim->cs.tls != NULL) {
        tls_conn_set_deadline(victim->cs.tls, CONN_EVICT_GRACE_MS);
    }
    return 0;
}

static int on_handshake(struct tls_conn *t, void *arg)
{
    struct conn *c = arg;
    SSL *ssl = tls_conn_ssl(t);
    char why[300];
    int rc;

    /* A CA certificate, or one a CA other than the deployment CA signed
     * (e.g. a sub-CA minted from it), never names a user. */
    rc = tls_ctx_peer_check(ssl, why, sizeof(why));
    if (rc == -EPERM) {
        char q[320];

        c->user[0] = '\0';
        log_event(LOG_WARN, "conn_refused", "conn=%" PRIu64 " peer=%s reason=%s", c->cs.id,
                  c->cs.peer, log_quote(why, q, sizeof(q)));
        conn_send_error(c, 0, COACHQ__V1__CODE__UNAUTHENTICATED, "certificate", why);
        c->closing = 1;
        return rc;
    }
    rc = tls_ctx_peer_identity(ssl, c->user, sizeof(c->user));
    if (rc < 0) {
        c->user[0] = '\0';
        log_event(LOG_WARN, "conn_refused", "conn=%" PRIu64 " peer=%s reason=%s", c->cs.id,
                  c->cs.peer,
                  rc == ERROR_NO_PEER_CERT ? "no_verified_client_certificate"
                                           : "certificate_subject_not_a_user_id");
        /* The answer is flushed before the graceful close that returning
         * rc starts, so the client learns why. */
        conn_send_error(c, 0, COACHQ__V1__CODE__UNAUTHENTICATED, "certificate",
                        rc == ERROR_NO_PEER_CERT
                            ? "no verified client certificate; use one signed by the "
                              "deployment CA"
                            : "the certificate's subject CN is not a valid user id");
        c->closing = 1;
        return rc;
    }
    rc = conn_identify(c, ssl);
    if (rc < 0) {
        c->closing = 1;
        return rc;
    }
    rc = conn_admit_user(c);
    if (rc < 0) {
        c->closing = 1;
        return rc;
    }
    c->authenticated = 1;
    log_event(LOG_INFO, "conn_open", "conn=%" PRIu64 " peer=%s user=%s tls=%s cipher=%s resumed=%d",
              c->cs.id, c->cs.peer, c->user, SSL_get_version(ssl), SSL_get_cipher_name(ssl),
              SSL_session_reused(ssl));
    return 0;
}

static void on_data(struct tls_conn *t, const uint8_t *data, size_t len, void *arg)
{
    struct conn *c = arg;
    int rc;

    (void)t;
    if (c->closing) {
        return;
    }
    while (len > 0) {
        size_t n = len < FRAME_MAX_CHUNK ? len : FRAME_MAX_CHUNK;
        rc = frame_reader_feed(&c->fr, data, n);
        if (rc < 0) {
            conn_fail(c, rc);
            return;
        }
        data += n;
        len -= n;
        conn_pump(c);
        if (c->closing || c->cs.tls == NULL) {
            return;
        }
    }
}

static void on_drain(struct tls_conn *t, void *arg)
{
    (void)t;
    conn_pump(arg);
}

static void on_close(struct tls_conn *t, int err, void *arg)
{
    struct conn *c = arg;
    struct server *s = c->srv;

    (void)t;
    connset_remove(&s->conns, &c->cs);
    connset_release(&s->conns, &c->cs);
    log_event(err == 0 ? LOG_INFO : LOG_WARN, "conn_close",
              "conn=%" PRIu64 " peer=%s user=%s requests=%" PRIu64 " reason=\"%s\"", c->cs.id,
              c->cs.peer, c->user[0] ? c->user : "-", c->requests, error_strerror(err));
    if (c->in_flight == 0) {
        conn_free(c);
    }
    server_maybe_finish(s);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct server *s = listener->data;
    static const struct tls_conn_callbacks cbs = {
        .on_handshake = on_handshake,
        .on_data = on_data,
        .on_drain = on_drain,
        .on_close = on_close,
    };
    struct conn *c;
    int rc;

    if (!connset_admit(&s->conns, listener, status)) {
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        connset_refuse(&s->conns, listener, "out_of_memory");
        return;
    }
    c->srv = s;
    frame_reader_init(&c->fr, s->cfg.max_frame);
    c->last_active_ms = uv_now(s->loop);
    /* Until its first whole frame, a connection is on the set's short,
     * fixed deadline (--first-frame-timeout): a peer that connects (or
     * completes its handshake) and then stays silent or trickles bytes
     * gives its slot back soon. */
    rc = connset_accept(&s->conns, listener, &c->cs, &cbs, c);
    if (rc < 0) {
        conn_free(c);
    } else if (rc > 0) {
        c->closing = 1; /* over --max-per-address: aborted */
    }
}

/* ---- Store completions, timers, signals ---- */

/* The answer to an import the writer finished (refusals with a fault are
 * answered before this). */
static void answer_import(struct request *r)
{
    struct conn *c = r->conn;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;

    switch (r->w.rc) {
    case 0:
        f.request_id = r->request_id;
        f.body_case = COACHQ__V1__FRAME__BODY_IMPORT_RESULT;
        f.import_result = &r->result;
        conn_send(c, &f);
        return;
    case -EINVAL:
    case -ENOENT:
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__INVALID_ARGUMENT,
                        "import_outcomes.outcomes",
                        "a row names no known person or is not valid; nothing was imported");
        return;
    case -ENOSPC:
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                        "the server's disk is full; nothing was imported; import again once "
                        "space is freed");
        return;
    case -ESHUTDOWN:
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
                        "the server is shutting down; nothing was imported; import again later");
        return;
    default:
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
                        "the server cannot store now; nothing was imported; import again later");
        return;
    }
}

static void answer_write(struct request *r)
{
    struct conn *c = r->conn;
    struct store_write *w = &r->w;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Ack ack = COACHQ__V1__ACK__INIT;

    if (c->cs.tls == NULL) {
        return;
    }
    if (w->rc == ERROR_REFUSED) {
        const struct validate_error *fault = r->kind == REQ_SUBMIT ? &w->fault : &r->fault;

        conn_send_error(c, r->request_id, fault->code, fault->field, fault->message);
        return;
    }
    if (r->kind == REQ_ADD_REFERENCE && w->rc == 0) {
        ack.result = COACHQ__V1__ACK__RESULT__RESULT_STORED;
        ack.id.data = r->id;
        ack.id.len = UUID_LEN;
        f.request_id = r->request_id;
        f.body_case = COACHQ__V1__FRAME__BODY_ACK;
        f.ack = &ack;
        conn_send(c, &f);
        return;
    }
    if (r->kind == REQ_IMPORT_OUTCOMES) {
        answer_import(r);
        return;
    }
    if (r->kind == REQ_ADD_REFERENCE && w->rc == -EEXIST) {
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__ALREADY_EXISTS,
                        "add_reference.reference.id",
                        "a different reference session already has this id; give it a new id");
        return;
    }
    switch (w->rc) {
    case 0:
        ack.version = w->version;
        ack.result = w->result == STORE_DUPLICATE ? COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE
                                                  : COACHQ__V1__ACK__RESULT__RESULT_STORED;
        ack.id.data = r->id;
        ack.id.len = UUID_LEN;
        ack.seq = w->seq;
        ack.received_at_ms = w->stored_at_ms;
        f.request_id = r->request_id;
        f.body_case = COACHQ__V1__FRAME__BODY_ACK;
        f.ack = &ack;
        conn_send(c, &f);
        return;
    case -EEXIST:
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__ALREADY_EXISTS, "observation.id",
                        "this id already belongs to a different observation; give a new "
                        "observation a new id");
        return;
    case -ENOSPC:
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                        "the server's disk is full; nothing was stored; submit again once "
                        "space is freed");
        return;
    case -EINVAL:
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation",
                        "the observation could not be decoded");
        return;
    case -ESHUTDOWN:
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
                        "the server is shutting down; nothing was stored; submit again later");
        return;
    default:
        conn_send_error(c, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
                        "the server cannot store observations now; nothing was stored; submit "
                        "again later");
        return;
    }
}

static void on_store_async(uv_async_t *a)
{
    struct server *s = a->data;
    struct store_write *w = store_completed_take(s->store);

    while (w != NULL) {
        struct store_write *next = w->next;
        struct request *r = w->user;
        answer_write(r);
        request_finish(r);
        w = next;
    }
    if (store_failed(s->store) && s->exit_code == 0) {
        s->exit_code = 1;
        log_event(LOG_ERROR, "store_failed",
                  "action=refusing_writes_and_exiting note=\"restart after checking the disk\"");
        server_stop(s);
    }
}

/* Writer thread. */
static void on_store_notify(void *arg)
{
    struct server *s = arg;
    uv_async_send(&s->store_async);
}

static void on_reader_timer(uv_timer_t *t)
{
    struct server *s = t->data;
    int dead = 0;

    if (store_reader_check(s->store, &dead) == 0 && dead > 0) {
        log_event(LOG_WARN, "stale_readers_cleared", "count=%d", dead);
    }
}

static void on_stats_timer(uv_timer_t *t)
{
    struct server *s = t->data;
    struct store_stats st;

    store_get_stats(s->store, &st);
    if (st.commits == s->stats_commits_logged) {
        return;
    }
    s->stats_commits_logged = st.commits;
    log_event(LOG_INFO, "store_stats",
              "commits=%" PRIu64 " records=%" PRIu64 " duplicates=%" PRIu64
              " batched_requests=%" PRIu64 " max_batch=%" PRIu64 " last_batch=%" PRIu64
              " commit_us_avg=%" PRIu64 " commit_us_max=%" PRIu64 " connections=%u",
              st.commits, st.records_stored, st.duplicates, st.batched_requests, st.max_batch,
              st.last_batch, st.commits ? st.commit_us_total / st.commits : 0, st.commit_us_max,
              s->conns.n);
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct server *s = t->data;

    log_event(LOG_WARN, "shutdown_drain_timeout", "connections=%u outstanding=%" PRIu64, s->conns.n,
              s->outstanding);
    connset_abort_all(&s->conns, -ETIMEDOUT);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct server *s = h->data;

    log_event(LOG_INFO, "signal", "signal=%s", signum == SIGINT ? "SIGINT" : "SIGTERM");
    server_stop(s);
}

static void server_maybe_finish(struct server *s)
{
    if (!s->stopping || s->handles_closed || s->conns.n > 0 || s->outstanding > 0 ||
        (s->http != NULL && !s->http_done)) {
        return;
    }
    s->handles_closed = 1;
    /* Nothing is outstanding, so closing the store only joins its writer;
     * after that no thread can signal the async handle while it closes. */
    store_close(s->store);
    s->store = NULL;
    uv_close((uv_handle_t *)&s->store_async, NULL);
    uv_close((uv_handle_t *)&s->reader_timer, NULL);
    uv_close((uv_handle_t *)&s->stats_timer, NULL);
    uv_close((uv_handle_t *)&s->drain_timer, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    log_event(LOG_INFO, "shutdown_done", "exit_code=%d", s->exit_code);
}

static void on_http_stopped(void *arg)
{
    struct server *s = arg;

    s->http_done = 1;
    server_maybe_finish(s);
}

void server_stop(struct server *s)
{
    if (s->stopping) {
        return;
    }
    s->stopping = 1;
    log_event(LOG_INFO, "shutdown_start", "connections=%u outstanding=%" PRIu64, s->conns.n,
              s->outstanding);
    connset_stop(&s->conns);
    uv_close((uv_handle_t *)&s->listener, NULL);
    if (s->http != NULL) {
        /* Its answers still on the thread pool read the store: the store
         * closes only once the dashboard port says it is done. */
        http_server_stop(s->http, on_http_stopped, s);
    }
    uv_timer_start(&s->drain_timer, on_drain_timeout, s->cfg.drain_timeout_ms, 0);
    for (struct connset_conn *e = s->conns.head; e != NULL;) {
        struct connset_conn *next = e->next;
        struct conn *c = e->data;

        conn_update_reading(c);
        if (c->in_flight == 0 && c->cs.tls != NULL) {
            conn_close_idle(c);
        }
        e = next;
    }
    server_maybe_finish(s);
}

/* ---- Set-up ---- */

/* The protocol port's connection set: its caps, the first-frame deadline
 * and each connection's TLS limits, from the config. */
static void server_conns_init(struct server *s)
{
    const struct config *cfg = &s->cfg;
    struct connset_opts copts;

    memset(&copts, 0, sizeof(copts));
    copts.max_connections = cfg->max_connections;
    copts.max_per_address = cfg->max_per_address;
    copts.accept_deadline_ms = cfg->first_frame_timeout_ms;
    copts.refused_event = "conn_refused";
    copts.tls.handshake_timeout_ms = cfg->handshake_timeout_ms;
    copts.tls.idle_timeout_ms = cfg->idle_timeout_ms;
    copts.tls.write_high = cfg->write_high;
    copts.tls.write_low = cfg->write_low;
    copts.tls.write_max = cfg->write_max;
    connset_init(&s->conns, s->loop, s->ctx, &copts);
}

int server_new(uv_loop_t *loop, const struct config *cfg, struct server **out, char *err,
               size_t errlen)
{
    struct server *s = NULL;
    struct store_opts sopts;
    struct store_policy policy;
    struct tls_ctx_opts topts;
    int rc = -ENOMEM;

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    s->loop = loop;
    s->cfg = *cfg;
    pbmem_pool_init(&s->pool, cfg->memory_budget);

    memset(&topts, 0, sizeof(topts));
    topts.cert_file = cfg->cert_file;
    topts.key_file = cfg->key_file;
    topts.ca_file = cfg->ca_file;
    topts.alpn = ALPN_PROTOCOL;
    topts.require_client_cert = 1;
    rc = tls_ctx_server_new(&topts, &s->ctx, err, errlen);
    if (rc < 0) {
        goto out;
    }
    server_conns_init(s);

    if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(err, errlen, "cannot create data directory %s: %s", cfg->data_dir,
                 strerror(errno));
        goto out;
    }
    rc = cursor_key_load(cfg->data_dir, s->cursor_key);
    if (rc < 0) {
        snprintf(err, errlen, "cannot read or make the cursor key %s/cursor.key: %s", cfg->data_dir,
                 rc == -EINVAL ? "it is not 32 bytes" : strerror(-rc));
        goto out;
    }
    memset(&sopts, 0, sizeof(sopts));
    store_policy_default(&policy);
    policy.amend_window_days = (int)cfg->amend_days;
    policy.cert_exact = cfg->cert_exact;
    policy.cert_kappa = cfg->cert_kappa;
    policy.cert_min_pairs = cfg->cert_min_pairs;
    policy.cert_days = (int)cfg->cert_days;
    policy.cert_attempts = cfg->cert_attempts;
    policy.cert_window_days = (int)cfg->cert_window_days;
    policy.cert_cooldown_s = (int64_t)cfg->cert_cooldown_s;
    sopts.policy = &policy;
    sopts.map_size = cfg->map_size;
    sopts.notify = on_store_notify;
    sopts.notify_arg = s;
    /* The async handle must exist before the writer can signal it. */
    rc = uv_async_init(loop, &s->store_async, on_store_async);
    if (rc < 0) {
        snprintf(err, errlen, "uv_async_init: %s", uv_strerror(rc));
        goto out;
    }
    s->store_async.data = s;
    rc = store_open(cfg->data_dir, &sopts, &s->store);
    if (rc < 0) {
        snprintf(err, errlen, "cannot open the store in %s: %s", cfg->data_dir, error_strerror(rc));
        uv_close((uv_handle_t *)&s->store_async, NULL);
        s->handles_closed = 1;
        goto out;
    }

    /* Every handle is initialised before anything can fail, so that the
     * stop path may close them all. */
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    uv_timer_init(loop, &s->reader_timer);
    uv_timer_init(loop, &s->stats_timer);
    uv_timer_init(loop, &s->drain_timer);
    uv_signal_init(loop, &s->sigint);
    uv_signal_init(loop, &s->sigterm);
    s->reader_timer.data = s;
    s->stats_timer.data = s;
    s->drain_timer.data = s;
    s->sigint.data = s;
    s->sigterm.data = s;
    uv_timer_start(&s->reader_timer, on_reader_timer, cfg->reader_check_ms, cfg->reader_check_ms);
    if (cfg->stats_log_ms > 0) {
        uv_timer_start(&s->stats_timer, on_stats_timer, cfg->stats_log_ms, cfg->stats_log_ms);
    }
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);

    rc = listen_bind(loop, &s->listener, cfg->listen_host, cfg->listen_port, on_connection,
                     "protocol port", &s->port, err, errlen);
    if (rc < 0) {
        goto fail_running;
    }
    if (cfg->port_file[0] != '\0') {
        rc = listen_write_port_file(cfg->port_file, s->port);
        if (rc < 0) {
            snprintf(err, errlen, "cannot write port file %s: %s", cfg->port_file,
                     error_strerror(rc));
            goto fail_running;
        }
    }
    log_event(LOG_INFO, "listening", "addr=%s port=%d alpn=%s data=%s max_frame=%zu",
              cfg->listen_host, s->port, ALPN_PROTOCOL, cfg->data_dir, cfg->max_frame);
    if (!cfg->dash_off) {
        struct web_opts wopts;
        struct http_opts hopts;

        memset(&wopts, 0, sizeof(wopts));
        dash_opts_default(&wopts.dash);
        wopts.dash.min_n = cfg->dash_min_n;
        wopts.dash.privacy_min = cfg->dash_privacy_min;
        wopts.session_ttl_s = (int64_t)cfg->session_ttl_s;
        /* A page must fit the connection's write cap with its headers. */
        wopts.max_page = cfg->write_max / 2;
        rc = web_new(loop, s->store, &wopts, &s->web);
        if (rc < 0) {
            snprintf(err, errlen, "cannot set up the dashboards: %s", error_strerror(rc));
            goto fail_running;
        }
        config_http_opts(&s->cfg, &hopts);
        rc = http_server_new(loop, &hopts, web_handle, s->web, &s->http, err, errlen);
        if (rc < 0) {
            goto fail_running;
        }
    }
    *out = s;
    return 0;

fail_running:
    /* Handles are initialised: close them through the normal stop path and
     * let the loop run them down. */
    server_stop(s);
    uv_run(loop, UV_RUN_DEFAULT);
out:
    server_free(s);
    return rc;
}

int server_port(const struct server *s)
{
    return s->port;
}

int server_dash_port(const struct server *s)
{
    return s->http != NULL ? http_server_port(s->http) : 0;
}

int server_exit_code(const struct server *s)
{
    return s->exit_code;
}

void server_free(struct server *s)
{
    if (s == NULL) {
        return;
    }
    if (s->store != NULL) {
        store_drain(s->store);
        store_close(s->store);
    }
    web_free(s->web);
    SSL_CTX_free(s->ctx);
    free(s);
}
