/*
 * server: coachqd's protocol port (see server.h): the process lifecycle
 * (set-up, signals, timers, graceful stop), the listener and its
 * connections (common/connset), reading frames and the TLS callbacks, and
 * the writer thread's completions. What each request does is in
 * server_req.c and server_read.c.
 */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "error.h"
#include "http.h"
#include "listen.h"
#include "log.h"
#include "metrics_http.h"
#include "sdnotify.h"
#include "server_int.h"
#include "tls_conn.h"
#include "tls_ctx.h"
#include "web.h"

int64_t server_now_ms(void)
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
void server_conn_send(struct conn *c, const Coachq__V1__Frame *f)
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
    server_metrics_answer(c, f);
    if (tls_conn_write(c->cs.tls, p, n + FRAME_HEADER_LEN) < 0) {
        c->closing = 1;
    }
    if (p != stackbuf) {
        free(p);
    }
    conn_update_reading(c);
}

void server_conn_send_error(struct conn *c, uint64_t request_id, Coachq__V1__Code code,
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
    server_conn_send(c, &f);
}

/* Answers a framing or decoding failure and closes the connection after
 * the answer is flushed: after a bad frame the byte stream cannot be
 * trusted to be in step. */
void server_conn_fail(struct conn *c, int rc)
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
    c->cur_kind = SERVER_REQ_KIND_INVALID;
    server_conn_send_error(c, 0, code, "frame", msg);
    c->cur_kind = SERVER_REQ_KIND_NONE;
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

struct request *server_request_new(struct conn *c, uint64_t request_id, enum request_kind kind)
{
    struct request *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        server_conn_send_error(c, request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "server out of memory");
        return NULL;
    }
    r->conn = c;
    r->request_id = request_id;
    r->kind = kind;
    r->frame_kind = c->cur_kind;
    r->start_ns = uv_hrtime();
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
        server_conn_send_error(c, 0, COACHQ__V1__CODE__UNAVAILABLE, "",
                               "the server is shutting down; requests without an answer were not "
                               "processed; send them again later");
    }
    tls_conn_close(c->cs.tls, 0);
}

/* Hands r to the writer thread, or answers refusal and finishes r when the
 * store takes no more writes (server_int.h). */
void server_request_write(struct request *r, const char *refusal)
{
    if (store_submit(r->conn->srv->store, &r->w) < 0) {
        server_conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "", refusal);
        server_request_finish(r);
    }
}

/* Releases a request and lets its connection go on (or go away). */
void server_request_finish(struct request *r)
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
    free(r->days);
    coachq__v1__calibration_reference__free_unpacked(r->ref, NULL);
    dash_free(r->dash);
    coachq__v1__import_outcomes__free_unpacked(r->imp, NULL);
    server_sessions_free(r->sess);
    coachq__v1__calibration_answer__free_unpacked(r->cal, NULL);
    server_assign_free(r->asg);
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
            server_conn_fail(c, rc);
            break;
        }
        server_req_frame(c, body, len);
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
        server_conn_send_error(c, 0, COACHQ__V1__CODE__UNAUTHENTICATED, "certificate",
                               "the client certificate could not be read");
        c->hs_fail = TLS_CONN_FAIL_OTHER;
        return ERROR_NO_PEER_CERT;
    }
    rc = auth_identify(c->srv->store, c->user, md, &c->au, why, sizeof(why));
    if (rc == 0) {
        return 0;
    }
    log_event(LOG_WARN, "conn_refused", "conn=%" PRIu64 " peer=%s user=%s reason=\"%s\"", c->cs.id,
              c->cs.peer, c->user, rc == -EACCES ? why : error_strerror(rc));
    c->hs_fail = rc == -EACCES ? TLS_CONN_FAIL_REVOKED : TLS_CONN_FAIL_OTHER;
    if (rc == -EACCES) {
        server_conn_send_error(c, 0, COACHQ__V1__CODE__PERMISSION_DENIED, "certificate", why);
    } else {
        server_conn_send_error(c, 0, COACHQ__V1__CODE__UNAVAILABLE, "",
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
        server_conn_send_error(c, 0, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "connection", msg);
        return -EUSERS;
    }
    log_event(LOG_INFO, "conn_evicted",
              "conn=%" PRIu64 " peer=%s user=%s reason=max_per_user open=%u by_conn=%" PRIu64,
              victim->cs.id, victim->cs.peer, victim->user, n, c->cs.id);
    snprintf(msg, sizeof(msg),
             "closed to make room: user %s opened a new connection and has %u open, the limit "
             "(--max-per-user); the one idle the longest is closed",
             c->user, n);
    server_conn_send_error(victim, 0, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "connection", msg);
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
        server_conn_send_error(c, 0, COACHQ__V1__CODE__UNAUTHENTICATED, "certificate", why);
        c->hs_fail = TLS_CONN_FAIL_UNKNOWN_CA;
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
        server_conn_send_error(c, 0, COACHQ__V1__CODE__UNAUTHENTICATED, "certificate",
                               rc == ERROR_NO_PEER_CERT
                                   ? "no verified client certificate; use one signed by the "
                                     "deployment CA"
                                   : "the certificate's subject CN is not a valid user id");
        c->hs_fail = rc == ERROR_NO_PEER_CERT ? TLS_CONN_FAIL_NO_CLIENT_CERT : TLS_CONN_FAIL_OTHER;
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
            server_conn_fail(c, rc);
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
    const char *tls = err != 0 ? tls_conn_error(t) : "";

    if (!c->authenticated && !c->cs.refused) {
        server_metrics_conn_closed(c, tls_conn_handshake_failure(t, err));
    }
    connset_remove(&s->conns, &c->cs);
    connset_release(&s->conns, &c->cs);
    /* A failed handshake names OpenSSL's reason (e.g. "certificate
     * revoked" under --crl), not only "Protocol error". */
    log_event(err == 0 ? LOG_INFO : LOG_WARN, "conn_close",
              "conn=%" PRIu64 " peer=%s user=%s requests=%" PRIu64 " reason=\"%s\"%s%s%s", c->cs.id,
              c->cs.peer, c->user[0] ? c->user : "-", c->requests, error_strerror(err),
              tls[0] != '\0' ? " tls=\"" : "", tls, tls[0] != '\0' ? "\"" : "");
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
    c->cur_kind = SERVER_REQ_KIND_NONE;
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

static void on_store_async(uv_async_t *a)
{
    struct server *s = a->data;
    struct store_write *w = store_completed_take(s->store);
    struct conn *corked = NULL;

    /* The acks of one commit to one connection go out together, in one
     * TLS write and one socket write, not one of each per ack: the
     * connection is corked at its first ack and uncorked once every
     * answer of the commit is queued. Every ack still follows the commit,
     * which synced before the writer handed the batch over. A corked
     * connection stays allocated, with its tls_conn, until the second
     * loop: on_close, which frees them, runs only from the loop's close
     * callbacks, never inside this one. */
    while (w != NULL) {
        struct store_write *next = w->next;
        struct request *r = w->user;
        struct conn *c = r->conn;

        if (c->cs.tls != NULL && !c->corked) {
            c->corked = 1;
            c->cork_next = corked;
            corked = c;
            tls_conn_cork(c->cs.tls);
        }
        server_req_answer_write(r);
        server_request_finish(r);
        w = next;
    }
    while (corked != NULL) {
        struct conn *c = corked;

        corked = c->cork_next;
        c->corked = 0;
        c->cork_next = NULL;
        tls_conn_uncork(c->cs.tls);
        conn_update_reading(c);
    }
    /* New records may be there: long-polling change feeds read again. */
    if (s->web != NULL) {
        web_feed_wake(s->web);
    }
    /* A request finished above may have let server_maybe_finish() close
     * the store during a shutdown (s->store is NULL then). */
    if (s->store != NULL && store_failed(s->store) && s->exit_code == 0) {
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
              " commit_us_avg=%" PRIu64 " commit_us_max=%" PRIu64 " writer_cpu_us=%" PRIu64
              " connections=%u",
              st.commits, st.records_stored, st.duplicates, st.batched_requests, st.max_batch,
              st.last_batch, st.commits ? st.commit_us_total / st.commits : 0, st.commit_us_max,
              st.writer_cpu_us, s->conns.n);
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct server *s = t->data;

    log_event(LOG_WARN, "shutdown_drain_timeout", "connections=%u outstanding=%" PRIu64, s->conns.n,
              s->outstanding);
    connset_abort_all(&s->conns, -ETIMEDOUT);
}

/* The protocol port's context from the config: the server's certificate,
 * the deployment CA and the CRL. */
static int server_tls_ctx_new(const struct config *cfg, SSL_CTX **out, char *err, size_t errlen)
{
    struct tls_ctx_opts topts;

    memset(&topts, 0, sizeof(topts));
    topts.cert_file = cfg->cert_file;
    topts.key_file = cfg->key_file;
    topts.ca_file = cfg->ca_file;
    topts.crl_file = cfg->crl_file;
    topts.alpn = ALPN_PROTOCOL;
    topts.require_client_cert = 1;
    return tls_ctx_server_new(&topts, out, err, errlen);
}

/* Tells the service manager (sdnotify) state, logging a failure once per
 * call: the server runs on either way. */
static void server_notify(const char *state)
{
    int rc = sdnotify_send(state);

    if (rc < 0) {
        log_event(LOG_WARN, "notify_failed", "reason=\"%s\"", strerror(-rc));
    }
}

int server_reload(struct server *s)
{
    SSL_CTX *proto = NULL;
    SSL_CTX *dash = NULL;
    char state[SDNOTIFY_MAX];
    char err[1024];
    int rc;

    if (s->stopping) {
        return -ECANCELED;
    }
    if (sdnotify_reloading_state(state, sizeof(state)) == 0) {
        server_notify(state);
    }
    /* Both contexts are made before either is used: a bad file leaves both
     * ports as they were. */
    rc = server_tls_ctx_new(&s->cfg, &proto, err, sizeof(err));
    if (rc == 0 && s->http != NULL) {
        rc = http_tls_ctx_new(s->cfg.cert_file, s->cfg.key_file, &dash, err, sizeof(err));
    }
    if (rc < 0) {
        s->reloads_failed++;
        log_event(LOG_ERROR, "reload_failed",
                  "reason=\"%s\" action=\"kept the certificates, CA and CRL loaded before\"", err);
        SSL_CTX_free(proto);
        server_notify("READY=1\nSTATUS=serving; the last reload failed (see the log), the "
                      "previous certificates are in use");
        return rc;
    }
    /* Connections already open hold a reference to the context they were
     * accepted with and carry on with it. */
    SSL_CTX_free(s->ctx);
    s->ctx = proto;
    s->conns.ctx = proto;
    if (dash != NULL) {
        http_server_set_tls(s->http, dash);
    }
    s->reloads_ok++;
    log_event(LOG_INFO, "reloaded", "cert=%s ca=%s crl=%s connections=%u", s->cfg.cert_file,
              s->cfg.ca_file, s->cfg.crl_file[0] != '\0' ? s->cfg.crl_file : "-", s->conns.n);
    server_notify("READY=1\nSTATUS=serving; certificates reloaded");
    return 0;
}

static void on_sighup(uv_signal_t *h, int signum)
{
    struct server *s = h->data;

    (void)signum;
    log_event(LOG_INFO, "signal", "signal=SIGHUP");
    server_reload(s);
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
        (s->http != NULL && !s->http_done) || (s->metrics != NULL && !s->metrics_done)) {
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
    uv_close((uv_handle_t *)&s->sighup, NULL);
    log_event(LOG_INFO, "shutdown_done", "exit_code=%d", s->exit_code);
}

static void on_metrics_stopped(void *arg)
{
    struct server *s = arg;

    s->metrics_done = 1;
    s->metrics = NULL; /* freed */
    server_maybe_finish(s);
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
    server_notify("STOPPING=1");
    log_event(LOG_INFO, "shutdown_start", "connections=%u outstanding=%" PRIu64, s->conns.n,
              s->outstanding);
    connset_stop(&s->conns);
    uv_close((uv_handle_t *)&s->listener, NULL);
    if (s->http != NULL) {
        /* Its answers still on the thread pool read the store: the store
         * closes only once the dashboard port says it is done. */
        http_server_stop(s->http, on_http_stopped, s);
    }
    if (s->metrics != NULL) {
        metrics_http_stop(s->metrics, on_metrics_stopped, s);
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

/* Creates the data directory, loads the cursor key and opens the store
 * with the deployment's rules, its writer signalling store_async. Returns
 * 0 or a negative code with a message in err. */
static int server_open_store(struct server *s, char *err, size_t errlen)
{
    const struct config *cfg = &s->cfg;
    struct store_opts sopts;
    struct store_policy policy;
    int rc;

    if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(err, errlen, "cannot create data directory %s: %s", cfg->data_dir,
                 strerror(errno));
        return rc;
    }
    rc = cursor_key_load(cfg->data_dir, s->cursor_key);
    if (rc < 0) {
        snprintf(err, errlen, "cannot read or make the cursor key %s/cursor.key: %s", cfg->data_dir,
                 rc == -EINVAL ? "it is not 32 bytes" : strerror(-rc));
        return rc;
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
    policy.may_score = auth_may_score;
    sopts.policy = &policy;
    sopts.map_size = cfg->map_size;
    sopts.max_batch = cfg->max_batch;
    sopts.notify = on_store_notify;
    sopts.notify_arg = s;
    /* The async handle must exist before the writer can signal it. */
    rc = uv_async_init(s->loop, &s->store_async, on_store_async);
    if (rc < 0) {
        snprintf(err, errlen, "uv_async_init: %s", uv_strerror(rc));
        return rc;
    }
    s->store_async.data = s;
    rc = store_open(cfg->data_dir, &sopts, &s->store);
    if (rc < 0) {
        snprintf(err, errlen, "cannot open the store in %s: %s", cfg->data_dir, error_strerror(rc));
        uv_close((uv_handle_t *)&s->store_async, NULL);
        s->handles_closed = 1;
        return rc;
    }
    return 0;
}

/* Initialises every handle the stop path closes (the listener, timers and
 * signals) and starts the timers and signal handlers. Cannot fail. */
static void server_handles_init(struct server *s)
{
    const struct config *cfg = &s->cfg;
    uv_loop_t *loop = s->loop;

    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    uv_timer_init(loop, &s->reader_timer);
    uv_timer_init(loop, &s->stats_timer);
    uv_timer_init(loop, &s->drain_timer);
    uv_signal_init(loop, &s->sigint);
    uv_signal_init(loop, &s->sigterm);
    uv_signal_init(loop, &s->sighup);
    s->reader_timer.data = s;
    s->stats_timer.data = s;
    s->drain_timer.data = s;
    s->sigint.data = s;
    s->sigterm.data = s;
    s->sighup.data = s;
    uv_timer_start(&s->reader_timer, on_reader_timer, cfg->reader_check_ms, cfg->reader_check_ms);
    if (cfg->stats_log_ms > 0) {
        uv_timer_start(&s->stats_timer, on_stats_timer, cfg->stats_log_ms, cfg->stats_log_ms);
    }
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sighup, on_sighup, SIGHUP);
}

/* Binds the protocol port and writes the port file. Returns 0 or a
 * negative code with a message in err. */
static int server_listen(struct server *s, char *err, size_t errlen)
{
    const struct config *cfg = &s->cfg;
    int rc;

    rc = listen_bind(s->loop, &s->listener, cfg->listen_host, cfg->listen_port, on_connection,
                     "protocol port", &s->port, err, errlen);
    if (rc < 0) {
        return rc;
    }
    if (cfg->port_file[0] != '\0') {
        rc = listen_write_port_file(cfg->port_file, s->port);
        if (rc < 0) {
            snprintf(err, errlen, "cannot write port file %s: %s", cfg->port_file,
                     error_strerror(rc));
            return rc;
        }
    }
    log_event(LOG_INFO, "listening", "addr=%s port=%d alpn=%s data=%s max_frame=%zu",
              cfg->listen_host, s->port, ALPN_PROTOCOL, cfg->data_dir, cfg->max_frame);
    return 0;
}

/* Starts the dashboards' routes and the dashboard port on them. Returns 0
 * or a negative code with a message in err. */
static int server_dash_start(struct server *s, char *err, size_t errlen)
{
    const struct config *cfg = &s->cfg;
    struct web_opts wopts;
    struct http_opts hopts;
    int rc;

    memset(&wopts, 0, sizeof(wopts));
    dash_opts_default(&wopts.dash);
    wopts.dash.min_n = cfg->dash_min_n;
    wopts.dash.privacy_min = cfg->dash_privacy_min;
    wopts.dash.amend_days = cfg->amend_days;
    wopts.session_ttl_s = (int64_t)cfg->session_ttl_s;
    /* A page must fit the connection's write cap with its headers. */
    wopts.max_page = cfg->write_max / 2;
    wopts.pool = &s->pool_jobs;
    wopts.dash.build_us = s->dash_build_us;
    rc = web_new(s->loop, s->store, &wopts, &s->web);
    if (rc < 0) {
        snprintf(err, errlen, "cannot set up the dashboards: %s", error_strerror(rc));
        return rc;
    }
    config_http_opts(cfg, &hopts);
    return http_server_new(s->loop, &hopts, web_handle, s->web, &s->http, err, errlen);
}

int server_new(uv_loop_t *loop, const struct config *cfg, struct server **out, char *err,
               size_t errlen)
{
    struct server *s = NULL;
    char state[SDNOTIFY_MAX];
    int rc = -ENOMEM;

    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    s->loop = loop;
    s->cfg = *cfg;
    pbmem_pool_init(&s->pool, cfg->memory_budget);
    server_metrics_init(s);

    rc = server_tls_ctx_new(cfg, &s->ctx, err, errlen);
    if (rc < 0) {
        goto out;
    }
    server_conns_init(s);
    rc = server_open_store(s, err, errlen);
    if (rc < 0) {
        goto out;
    }
    /* Every handle is initialised before anything can fail, so that the
     * stop path may close them all. */
    server_handles_init(s);
    rc = server_listen(s, err, errlen);
    if (rc < 0) {
        goto fail_running;
    }
    if (!cfg->dash_off) {
        rc = server_dash_start(s, err, errlen);
        if (rc < 0) {
            goto fail_running;
        }
    }
    rc = server_metrics_start(s, err, errlen);
    if (rc < 0) {
        goto fail_running;
    }
    /* Ready: the store is open and both ports listen (connections made
     * from now on wait in the backlog until the loop runs). */
    if (s->http != NULL) {
        snprintf(state, sizeof(state),
                 "READY=1\nSTATUS=serving on port %d, dashboards on port %d\nMAINPID=%ld", s->port,
                 server_dash_port(s), (long)getpid());
    } else {
        snprintf(state, sizeof(state), "READY=1\nSTATUS=serving on port %d\nMAINPID=%ld", s->port,
                 (long)getpid());
    }
    server_notify(state);
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
