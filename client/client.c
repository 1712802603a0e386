#include "client.h"
#include "pbwire.h"
#include "str.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>
#include <uv.h>

#include "error.h"
#include "frame.h"
#include "tls_conn.h"
#include "tls_ctx.h"

#define DEFAULT_TIMEOUT_MS 30000u
#define DEFAULT_WINDOW 64u
/* Stop queueing requests while this many bytes wait for the socket; the
 * tls_conn write cap is far above it, so the client never trips it. */
#define WRITE_HIGH (1u * 1024u * 1024u)
#define WRITE_LOW (256u * 1024u)
#define WRITE_MAX (64u * 1024u * 1024u)
/* How long client_free() waits for a graceful close. */
#define CLOSE_WAIT_MS 2000u

/* The submit_many call in progress. */
struct batch {
    Coachq__V1__Observation *const *obs;
    size_t n;
    struct client_submit_result *res;
    uint64_t base; /* request id of obs[0] */
    size_t answered;
    size_t inflight;
    client_progress_cb progress;
    void *arg;
};

struct client {
    uv_loop_t loop;
    int loop_ready;
    uv_timer_t timer;
    int timer_fired;
    SSL_CTX *ctx;
    struct tls_conn *conn; /* NULL once on_close ran */
    int handshake_done;
    int closed;            /* on_close ran for the current connection */
    int close_err;         /* what on_close reported */
    int failed;            /* 0, or the negative code every call now fails with */
    char reason[480];      /* words for failed */
    char server_said[200]; /* an Error with request id 0 the server sent */
    int server_code;       /* its code (Coachq__V1__Code), 0 when none */
    char server_msg[200];  /* its message alone */
    char tls_detail[200];  /* verify result / OpenSSL errors seen at close */
    struct frame_reader reader;
    uint64_t timeout_ms;
    unsigned window;
    uint64_t next_id;
    char where[128]; /* "host:port" for messages */
    Coachq__V1__Welcome *welcome;
    /* The single call in progress: its request id and its answer. */
    uint64_t want_id;
    Coachq__V1__Frame *resp;
    struct batch *batch;
};

static void set_err(struct client_error *err, Coachq__V1__Code code, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_err(struct client_error *err, Coachq__V1__Code code, const char *field,
                    const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return;
    }
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

static void clear_err(struct client_error *err)
{
    if (err != NULL) {
        err->code = COACHQ__V1__CODE__OK;
        err->message[0] = '\0';
        err->field[0] = '\0';
    }
}

/* Describes the connection failure into err. */
static void conn_err(const struct client *c, struct client_error *err)
{
    set_err(err,
            c->failed == -ETIMEDOUT ? COACHQ__V1__CODE__DEADLINE_EXCEEDED
                                    : COACHQ__V1__CODE__UNAVAILABLE,
            NULL, "%s", c->reason[0] != '\0' ? c->reason : error_strerror(c->failed));
}

/* Marks the connection failed (the first reason wins) and aborts it. */
static void fail_conn(struct client *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_conn(struct client *c, int rc, const char *fmt, ...)
{
    va_list ap;

    if (c->failed == 0) {
        c->failed = rc < 0 ? rc : -ECONNRESET;
        va_start(ap, fmt);
        vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
        va_end(ap);
    }
    if (c->conn != NULL) {
        tls_conn_abort(c->conn, c->failed);
    }
}

static void on_timer(uv_timer_t *t)
{
    struct client *c = t->data;

    c->timer_fired = 1;
}

/* (Re)arms the no-progress timer. */
static void arm_timer(struct client *c)
{
    c->timer_fired = 0;
    uv_timer_start(&c->timer, on_timer, c->timeout_ms, 0);
}

static void copy_error(struct client_error *err, const Coachq__V1__Error *e)
{
    set_err(err, e->code == COACHQ__V1__CODE__OK ? COACHQ__V1__CODE__UNKNOWN : e->code, e->field,
            "%s", e->message != NULL ? e->message : "");
}

static void batch_answer(struct client *c, Coachq__V1__Frame *f)
{
    struct batch *b = c->batch;
    uint64_t idx = f->request_id - b->base;
    struct client_submit_result *r;

    if (f->request_id < b->base || idx >= b->n || b->res[idx].done) {
        return; /* not ours, or answered twice: ignore it */
    }
    r = &b->res[idx];
    r->done = 1;
    b->answered++;
    b->inflight--;
    if (f->body_case == COACHQ__V1__FRAME__BODY_ACK && f->ack != NULL) {
        r->result = f->ack->result;
        r->seq = f->ack->seq;
        r->received_at_ms = f->ack->received_at_ms;
        r->version = f->ack->version;
        clear_err(&r->err);
    } else if (f->body_case == COACHQ__V1__FRAME__BODY_ERROR && f->error != NULL) {
        copy_error(&r->err, f->error);
    } else {
        set_err(&r->err, COACHQ__V1__CODE__INTERNAL, NULL,
                "the server answered a submit with an unexpected message (body %d)",
                (int)f->body_case);
    }
    if (b->progress != NULL) {
        b->progress(b->answered, b->n, b->arg);
    }
}

/* Takes ownership of f. */
static void dispatch(struct client *c, Coachq__V1__Frame *f)
{
    if (c->want_id != 0 || c->batch != NULL) {
        arm_timer(c); /* progress */
    }
    if (f->request_id == 0 && f->body_case == COACHQ__V1__FRAME__BODY_ERROR && f->error != NULL) {
        /* A connection-level complaint, usually right before the server
         * closes: keep it for the close message. */
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value(&coachq__v1__code__descriptor, f->error->code);

        snprintf(c->server_said, sizeof(c->server_said), "the server said %s: %s",
                 ev != NULL ? ev->name : "error", f->error->message);
        c->server_code = (int)f->error->code;
        str_copy(c->server_msg, sizeof(c->server_msg),
                 f->error->message != NULL ? f->error->message : "");
    } else if (c->want_id != 0 && f->request_id == c->want_id && c->resp == NULL) {
        c->resp = f;
        return;
    } else if (c->batch != NULL) {
        batch_answer(c, f);
    }
    coachq__v1__frame__free_unpacked(f, NULL);
}

static void on_data(struct tls_conn *tc, const uint8_t *data, size_t len, void *arg)
{
    struct client *c = arg;

    (void)tc;
    while (len > 0 && c->failed == 0) {
        size_t n = len < FRAME_MAX_CHUNK ? len : FRAME_MAX_CHUNK;
        int rc = frame_reader_feed(&c->reader, data, n);

        data += n;
        len -= n;
        if (rc < 0) {
            fail_conn(c, -EPROTO, "the server sent a bad frame: %s", error_strerror(rc));
            return;
        }
        /* Bodies are borrowed until the next feed: take every whole frame
         * now. */
        for (;;) {
            const uint8_t *body;
            size_t blen;
            Coachq__V1__Frame *f;

            rc = frame_reader_next(&c->reader, &body, &blen);
            if (rc == 0) {
                break;
            }
            if (rc < 0) {
                fail_conn(c, -EPROTO, "the server sent a bad frame: %s", error_strerror(rc));
                return;
            }
            f = coachq__v1__frame__unpack(NULL, blen, body);
            if (f == NULL) {
                fail_conn(c, -EBADMSG, "the server sent a frame that is not a coachq.v1.Frame");
                return;
            }
            dispatch(c, f);
        }
    }
}

static int on_handshake(struct tls_conn *tc, void *arg)
{
    struct client *c = arg;

    (void)tc;
    c->handshake_done = 1;
    return 0;
}

static void on_close(struct tls_conn *tc, int err, void *arg)
{
    struct client *c = arg;
    const char *why = tls_conn_error(tc);
    SSL *ssl = tls_conn_ssl(tc);
    long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
    char ossl[256];

    c->closed = 1;
    c->close_err = err;
    c->conn = NULL;
    /* tls_conn already drained OpenSSL's queue into tls_conn_error();
     * anything left is drained here so it cannot leak into a later call. */
    tls_ctx_errors(ossl, sizeof(ossl));
    if (err != -EPROTO && vr == X509_V_OK) {
        /* Not a TLS failure: OpenSSL has nothing useful to add. */
        c->tls_detail[0] = '\0';
    } else if (why != NULL && why[0] != '\0') {
        str_copy(c->tls_detail, sizeof(c->tls_detail), why);
    } else if (vr != X509_V_OK) {
        snprintf(c->tls_detail, sizeof(c->tls_detail), "server certificate not accepted: %s",
                 X509_verify_cert_error_string(vr));
    } else if (ossl[0] != '\0') {
        str_copy(c->tls_detail, sizeof(c->tls_detail), ossl);
    }
    if (c->failed == 0) {
        const char *detail = c->server_said[0] != '\0' ? c->server_said : c->tls_detail;

        c->failed = err < 0 ? err : -ECONNRESET;
        snprintf(c->reason, sizeof(c->reason), "the connection to %s closed: %s%s%s", c->where,
                 err < 0 ? error_strerror(err) : "closed by the server", detail[0] ? "; " : "",
                 detail);
    }
}

static void on_drain(struct tls_conn *tc, void *arg)
{
    /* Nothing to do: the waiting loop checks tls_conn_pending() after every
     * event, and this callback is such an event. */
    (void)tc;
    (void)arg;
}

/* Packs f with its length prefix and queues it. */
static int send_frame(struct client *c, const Coachq__V1__Frame *f)
{
    size_t len = coachq__v1__frame__get_packed_size(f);
    uint8_t *buf = NULL;
    int rc = -ENOMEM;

    if (c->conn == NULL) {
        return c->failed != 0 ? c->failed : -ENOTCONN;
    }
    if (len > UINT32_MAX - FRAME_HEADER_LEN) {
        rc = -EMSGSIZE;
        goto out;
    }
    buf = malloc(FRAME_HEADER_LEN + len);
    if (buf == NULL) {
        goto out;
    }
    frame_put_header(buf, (uint32_t)len);
    coachq__v1__frame__pack(f, buf + FRAME_HEADER_LEN);
    rc = tls_conn_write(c->conn, buf, FRAME_HEADER_LEN + len);
    if (rc < 0) {
        fail_conn(c, rc, "writing to %s failed: %s", c->where, error_strerror(rc));
    }
out:
    free(buf);
    return rc;
}

/* Runs the loop once, and turns a fired timer into a failure. */
static void run_once(struct client *c)
{
    uv_run(&c->loop, UV_RUN_ONCE);
    if (c->timer_fired && c->failed == 0) {
        fail_conn(c, -ETIMEDOUT, "no answer from %s within %llu ms", c->where,
                  (unsigned long long)c->timeout_ms);
    }
}

/*
 * Sends req (request_id is assigned here) and waits for its answer. Returns
 * 0 with *resp (free with coachq__v1__frame__free_unpacked(*resp, NULL)),
 * -EREMOTEIO for an Error answer, or the connection failure.
 */
static int call(struct client *c, Coachq__V1__Frame *req, Coachq__V1__Frame **resp,
                struct client_error *err)
{
    Coachq__V1__Frame *f;
    int rc;

    *resp = NULL;
    clear_err(err);
    if (c->failed != 0) {
        conn_err(c, err);
        return c->failed;
    }
    req->request_id = c->next_id++;
    rc = send_frame(c, req);
    if (rc < 0) {
        conn_err(c, err);
        return rc;
    }
    c->want_id = req->request_id;
    c->resp = NULL;
    arm_timer(c);
    while (c->resp == NULL && c->failed == 0) {
        run_once(c);
    }
    uv_timer_stop(&c->timer);
    c->want_id = 0;
    f = c->resp;
    c->resp = NULL;
    if (f == NULL) {
        conn_err(c, err);
        return c->failed;
    }
    if (f->body_case == COACHQ__V1__FRAME__BODY_ERROR && f->error != NULL) {
        copy_error(err, f->error);
        coachq__v1__frame__free_unpacked(f, NULL);
        return -EREMOTEIO;
    }
    *resp = f;
    return 0;
}

/* Checks that an answer has the expected body; -EPROTO otherwise. */
static int expect_body(Coachq__V1__Frame *f, Coachq__V1__Frame__BodyCase want,
                       struct client_error *err)
{
    if (f->body_case != want) {
        set_err(err, COACHQ__V1__CODE__INTERNAL, NULL,
                "the server answered with an unexpected message (body %d, wanted %d)",
                (int)f->body_case, (int)want);
        return -EPROTO;
    }
    return 0;
}

/*
 * Sends req and waits for an answer whose body is want: the one way every
 * synchronous call talks to the server. On success *resp is the answer
 * (caller owns; the caller takes the body it wanted and then frees the rest
 * with free_shell()). Results as call(), and -EPROTO when the server
 * answered with another message; *resp is NULL on every failure.
 */
static int request(struct client *c, Coachq__V1__Frame *req, Coachq__V1__Frame__BodyCase want,
                   Coachq__V1__Frame **resp, struct client_error *err)
{
    int rc = call(c, req, resp, err);

    if (rc < 0) {
        return rc;
    }
    rc = expect_body(*resp, want, err);
    if (rc < 0) {
        coachq__v1__frame__free_unpacked(*resp, NULL);
        *resp = NULL;
    }
    return rc;
}

/*
 * Frees an answer frame whose body the caller took. The body was allocated
 * by protobuf-c on its own, and a frame with no body set frees nothing of
 * it, so the body stays valid for its new owner. NULL-safe.
 */
static void free_shell(Coachq__V1__Frame *f)
{
    if (f != NULL) {
        f->body_case = COACHQ__V1__FRAME__BODY__NOT_SET;
        coachq__v1__frame__free_unpacked(f, NULL);
    }
}

/* Connects to one address and waits for the TLS handshake. */
static int try_connect(struct client *c, const struct sockaddr *addr, const char *server_name)
{
    struct tls_conn_opts to = {
        .handshake_timeout_ms = c->timeout_ms,
        .idle_timeout_ms = 0,
        .write_high = WRITE_HIGH,
        .write_low = WRITE_LOW,
        .write_max = WRITE_MAX,
    };
    struct tls_conn_callbacks cbs = {
        .on_handshake = on_handshake,
        .on_data = on_data,
        .on_drain = on_drain,
        .on_close = on_close,
    };
    int rc;

    c->handshake_done = 0;
    c->closed = 0;
    c->close_err = 0;
    c->failed = 0;
    c->reason[0] = '\0';
    c->server_said[0] = '\0';
    c->server_code = 0;
    c->server_msg[0] = '\0';
    c->tls_detail[0] = '\0';
    rc = tls_conn_connect(&c->loop, addr, server_name, c->ctx, &to, &cbs, c, &c->conn);
    if (rc < 0) {
        c->conn = NULL;
        c->failed = rc;
        snprintf(c->reason, sizeof(c->reason), "cannot connect to %s: %s", c->where,
                 error_strerror(rc));
        return rc;
    }
    arm_timer(c);
    while (!c->handshake_done && c->failed == 0) {
        run_once(c);
    }
    uv_timer_stop(&c->timer);
    if (c->handshake_done && c->failed == 0) {
        return 0;
    }
    /* Let the aborted connection finish closing before another attempt. */
    while (!c->closed && c->conn != NULL) {
        uv_run(&c->loop, UV_RUN_ONCE);
    }
    return c->failed;
}

/* Errors after which the next address of the host is worth a try. */
static int try_next_address(int rc)
{
    return rc == UV_ECONNREFUSED || rc == UV_ENETUNREACH || rc == UV_EHOSTUNREACH ||
           rc == UV_EADDRNOTAVAIL || rc == UV_EAFNOSUPPORT;
}

/* When the server refused this user at the handshake (a disabled user, an
 * unknown or replaced certificate), says so with the server's own code and
 * reason, so that it does not read as a server that cannot be reached.
 * Returns 1 when err was set. */
static int explain_refusal(const struct client *c, struct client_error *err)
{
    const ProtobufCEnumValue *ev;

    if (c->server_code != COACHQ__V1__CODE__PERMISSION_DENIED &&
        c->server_code != COACHQ__V1__CODE__UNAUTHENTICATED) {
        return 0;
    }
    ev = protobuf_c_enum_descriptor_get_value(&coachq__v1__code__descriptor, c->server_code);
    set_err(err, (Coachq__V1__Code)c->server_code, "certificate", "the server refused you: %s (%s)",
            c->server_msg, ev != NULL ? ev->name : "refused");
    return 1;
}

/* Turns a failed connect or handshake into a message a person can act on. */
static void explain_connect(struct client *c, struct client_error *err)
{
    const char *detail = c->server_said[0] != '\0' ? c->server_said : c->tls_detail;
    int rc = c->failed;

    if (explain_refusal(c, err)) {
        return;
    }
    if (rc == UV_ECONNREFUSED || rc == UV_ENETUNREACH || rc == UV_EHOSTUNREACH ||
        rc == UV_EADDRNOTAVAIL) {
        set_err(err, COACHQ__V1__CODE__UNAVAILABLE, NULL,
                "cannot connect to %s: %s (is coachqd running there? check --server)", c->where,
                error_strerror(rc));
    } else if (rc == -ETIMEDOUT) {
        set_err(err, COACHQ__V1__CODE__DEADLINE_EXCEEDED, NULL,
                "connecting to %s timed out after %llu ms", c->where,
                (unsigned long long)c->timeout_ms);
    } else {
        set_err(err, COACHQ__V1__CODE__UNAVAILABLE, NULL,
                "TLS handshake with %s failed: %s%s%s (check that --ca is the deployment CA "
                "that signed the server's certificate, and that --cert/--key are your user "
                "certificate and key from the same CA)",
                c->where, error_strerror(rc), detail[0] ? "; " : "", detail);
    }
}

int client_connected(const struct client *c)
{
    return c != NULL && c->conn != NULL && c->failed == 0;
}

int client_connect(const struct client_opts *opts, struct client **out, struct client_error *err)
{
    struct client *c = NULL;
    struct tls_ctx_opts tco = {0};
    uv_getaddrinfo_t req;
    struct addrinfo hints;
    Coachq__V1__Hello hello = COACHQ__V1__HELLO__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp = NULL;
    char msg[400];
    int rc = -ENOMEM;

    *out = NULL;
    clear_err(err);
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        set_err(err, COACHQ__V1__CODE__INTERNAL, NULL, "out of memory");
        goto out;
    }
    c->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->window = opts->window != 0 ? opts->window : DEFAULT_WINDOW;
    c->next_id = 1;
    frame_reader_init(&c->reader, CLIENT_MAX_FRAME);
    if (strchr(opts->host, ':') != NULL) {
        snprintf(c->where, sizeof(c->where), "[%s]:%s", opts->host, opts->port);
    } else {
        snprintf(c->where, sizeof(c->where), "%s:%s", opts->host, opts->port);
    }
    rc = uv_loop_init(&c->loop);
    if (rc < 0) {
        set_err(err, COACHQ__V1__CODE__INTERNAL, NULL, "uv_loop_init: %s", uv_strerror(rc));
        goto out;
    }
    c->loop_ready = 1;
    uv_timer_init(&c->loop, &c->timer);
    c->timer.data = c;

    tco.cert_file = opts->cert_file;
    tco.key_file = opts->key_file;
    tco.ca_file = opts->ca_file;
    tco.alpn = "coachq/1";
    rc = tls_ctx_client_new(&tco, &c->ctx, msg, sizeof(msg));
    if (rc < 0) {
        set_err(err, COACHQ__V1__CODE__UNAVAILABLE, NULL, "TLS setup failed: %s", msg);
        goto out;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* A NULL callback makes uv_getaddrinfo synchronous. */
    rc = uv_getaddrinfo(&c->loop, &req, NULL, opts->host, opts->port, &hints);
    if (rc < 0) {
        set_err(err, COACHQ__V1__CODE__UNAVAILABLE, NULL, "cannot resolve %s: %s", c->where,
                uv_strerror(rc));
        goto out;
    }
    rc = -EHOSTUNREACH;
    for (struct addrinfo *ai = req.addrinfo; ai != NULL; ai = ai->ai_next) {
        rc =
            try_connect(c, ai->ai_addr, opts->server_name != NULL ? opts->server_name : opts->host);
        if (rc == 0 || !try_next_address(rc)) {
            break;
        }
    }
    uv_freeaddrinfo(req.addrinfo);
    if (rc < 0) {
        explain_connect(c, err);
        goto out;
    }

    hello.protocol_version = 1;
    hello.client_version = CLIENT_VERSION;
    f.body_case = COACHQ__V1__FRAME__BODY_HELLO;
    f.hello = &hello;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_WELCOME, &resp, err);
    if (rc == -EREMOTEIO) {
        char said[400];

        str_copy(said, sizeof(said), err->message);
        snprintf(err->message, sizeof(err->message), "the server refused the session: %s", said);
        goto out;
    }
    if (rc < 0) {
        if (explain_refusal(c, err)) {
            goto out;
        }
        if (!c->handshake_done || c->closed) {
            const char *detail = c->server_said[0] != '\0' ? c->server_said : c->tls_detail;

            /* With TLS 1.3 the client finishes its handshake before the
             * server has checked the client certificate; a refusal shows up
             * as a close right after it. */
            set_err(err, COACHQ__V1__CODE__UNAVAILABLE, NULL,
                    "the server at %s closed the connection after the TLS handshake (%s%s%s); "
                    "it probably refused the client certificate: check --cert/--key, and ask an "
                    "administrator whether this user is known and enabled",
                    c->where, error_strerror(c->failed), detail[0] ? "; " : "", detail);
        }
        goto out;
    }
    c->welcome = resp->welcome;
    free_shell(resp);
    resp = NULL;
    if (c->welcome->protocol_version != 1) {
        set_err(err, COACHQ__V1__CODE__FAILED_PRECONDITION, NULL,
                "the server speaks protocol version %u; this client speaks 1",
                c->welcome->protocol_version);
        rc = -EPROTO;
        goto out;
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    coachq__v1__frame__free_unpacked(resp, NULL);
    client_free(c);
    return rc;
}

void client_free(struct client *c)
{
    if (c == NULL) {
        return;
    }
    if (c->loop_ready) {
        if (c->conn != NULL) {
            tls_conn_close(c->conn, 0);
            c->timer_fired = 0;
            uv_timer_start(&c->timer, on_timer, CLOSE_WAIT_MS, 0);
            while (c->conn != NULL && !c->timer_fired) {
                uv_run(&c->loop, UV_RUN_ONCE);
            }
            if (c->conn != NULL) {
                tls_conn_abort(c->conn, -ETIMEDOUT);
            }
            while (c->conn != NULL) {
                uv_run(&c->loop, UV_RUN_ONCE);
            }
        }
        uv_timer_stop(&c->timer);
        uv_close((uv_handle_t *)&c->timer, NULL);
        uv_run(&c->loop, UV_RUN_DEFAULT);
        uv_loop_close(&c->loop);
    }
    coachq__v1__frame__free_unpacked(c->resp, NULL);
    coachq__v1__welcome__free_unpacked(c->welcome, NULL);
    frame_reader_free(&c->reader);
    SSL_CTX_free(c->ctx);
    free(c);
}

const Coachq__V1__Welcome *client_welcome(const struct client *c)
{
    return c->welcome;
}

int client_submit_many(struct client *c, Coachq__V1__Observation *const *obs, size_t n,
                       struct client_submit_result *results, client_progress_cb progress, void *arg)
{
    const Coachq__V1__Welcome *w = client_welcome(c);
    struct batch b;
    size_t window = c->window;
    size_t max_frame = 0;
    size_t next = 0;
    int rc = 0;

    memset(results, 0, n * sizeof(*results));
    if (w != NULL && w->max_in_flight != 0 && w->max_in_flight < window) {
        window = w->max_in_flight;
    }
    if (w != NULL) {
        max_frame = w->max_frame_bytes;
    }
    b.obs = obs;
    b.n = n;
    b.res = results;
    b.base = c->next_id;
    b.answered = 0;
    b.inflight = 0;
    b.progress = progress;
    b.arg = arg;
    c->next_id += n;
    c->batch = &b;
    arm_timer(c);
    while (b.answered < n && c->failed == 0) {
        while (next < n && b.inflight < window && c->conn != NULL &&
               tls_conn_pending(c->conn) < WRITE_HIGH && c->failed == 0) {
            Coachq__V1__SubmitObservation sub = COACHQ__V1__SUBMIT_OBSERVATION__INIT;
            Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
            size_t size;
            size_t i = next++;

            sub.observation = obs[i];
            f.request_id = b.base + i;
            f.body_case = COACHQ__V1__FRAME__BODY_SUBMIT;
            f.submit = &sub;
            size = coachq__v1__frame__get_packed_size(&f);
            if (max_frame != 0 && size > max_frame) {
                results[i].done = 1;
                set_err(&results[i].err, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation",
                        "the record is %zu bytes, more than the server's limit of %zu bytes "
                        "per request; shorten its notes or evidence",
                        size, max_frame);
                b.answered++;
                if (progress != NULL) {
                    progress(b.answered, n, arg);
                }
                continue;
            }
            if (send_frame(c, &f) < 0) {
                next--;
                break;
            }
            b.inflight++;
        }
        if (b.answered == n || c->failed != 0) {
            break;
        }
        run_once(c);
    }
    uv_timer_stop(&c->timer);
    c->batch = NULL;
    if (b.answered < n) {
        rc = c->failed != 0 ? c->failed : -EPROTO;
        for (size_t i = 0; i < n; i++) {
            if (!results[i].done) {
                set_err(&results[i].err, COACHQ__V1__CODE__UNAVAILABLE, NULL, "no answer: %s",
                        c->reason[0] != '\0' ? c->reason : error_strerror(rc));
            }
        }
    }
    return rc;
}

int client_get(struct client *c, const uint8_t id[16], Coachq__V1__StoredObservation **out,
               struct client_error *err)
{
    Coachq__V1__GetObservation g = COACHQ__V1__GET_OBSERVATION__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    g.id.data = (uint8_t *)id;
    g.id.len = 16;
    f.body_case = COACHQ__V1__FRAME__BODY_GET;
    f.get = &g;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_RECORD, &resp, err);
    if (rc == 0) {
        *out = resp->record;
        free_shell(resp);
    }
    return rc;
}

int client_list(struct client *c, const Coachq__V1__ListObservations *q,
                Coachq__V1__ObservationPage **out, struct client_error *err)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_LIST;
    f.list = (Coachq__V1__ListObservations *)q;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_PAGE, &resp, err);
    if (rc == 0) {
        *out = resp->page;
        free_shell(resp);
    }
    return rc;
}

int client_stats(struct client *c, Coachq__V1__Stats **out, struct client_error *err)
{
    Coachq__V1__GetStats g = COACHQ__V1__GET_STATS__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_GET_STATS;
    f.get_stats = &g;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_STATS, &resp, err);
    if (rc == 0) {
        *out = resp->stats;
        free_shell(resp);
    }
    return rc;
}

int client_rubrics(struct client *c, Coachq__V1__RubricList **out, struct client_error *err)
{
    Coachq__V1__ListRubrics l = COACHQ__V1__LIST_RUBRICS__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_LIST_RUBRICS;
    f.list_rubrics = &l;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_RUBRICS, &resp, err);
    if (rc == 0) {
        *out = resp->rubrics;
        free_shell(resp);
    }
    return rc;
}

int client_rubric(struct client *c, const char *id, uint32_t version, Coachq__V1__Rubric **out,
                  struct client_error *err)
{
    Coachq__V1__GetRubric g = COACHQ__V1__GET_RUBRIC__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    /* protobuf-c's fields are not const, but packing only reads them. */
    g.id = (char *)id;
    g.version = version;
    f.body_case = COACHQ__V1__FRAME__BODY_GET_RUBRIC;
    f.get_rubric = &g;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_RUBRIC, &resp, err);
    if (rc == 0) {
        *out = resp->rubric;
        free_shell(resp);
    }
    return rc;
}

int client_history(struct client *c, const uint8_t id[16], Coachq__V1__ObservationHistory **out,
                   struct client_error *err)
{
    Coachq__V1__GetHistory g = COACHQ__V1__GET_HISTORY__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    g.id.data = (uint8_t *)id;
    g.id.len = 16;
    f.body_case = COACHQ__V1__FRAME__BODY_GET_HISTORY;
    f.get_history = &g;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_HISTORY, &resp, err);
    if (rc == 0) {
        *out = resp->history;
        free_shell(resp);
    }
    return rc;
}

int client_cert_status(struct client *c, const char *observer_id, Coachq__V1__CertStatus **out,
                       struct client_error *err)
{
    Coachq__V1__GetCertStatus g = COACHQ__V1__GET_CERT_STATUS__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    if (observer_id != NULL) {
        g.observer_id = (char *)observer_id;
    }
    f.body_case = COACHQ__V1__FRAME__BODY_GET_CERT_STATUS;
    f.get_cert_status = &g;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_CERT_STATUS, &resp, err);
    if (rc == 0) {
        *out = resp->cert_status;
        free_shell(resp);
    }
    return rc;
}

int client_add_reference(struct client *c, const Coachq__V1__CalibrationReference *ref,
                         struct client_error *err)
{
    Coachq__V1__AddReference a = COACHQ__V1__ADD_REFERENCE__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    a.reference = (Coachq__V1__CalibrationReference *)ref;
    f.body_case = COACHQ__V1__FRAME__BODY_ADD_REFERENCE;
    f.add_reference = &a;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_ACK, &resp, err);
    coachq__v1__frame__free_unpacked(resp, NULL);
    return rc;
}

int client_calibration(struct client *c, const Coachq__V1__CalibrationRequest *q,
                       Coachq__V1__CalibrationAnswer **out, struct client_error *err)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_CALIBRATION_REQUEST;
    f.calibration_request = (Coachq__V1__CalibrationRequest *)q;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_CALIBRATION_ANSWER, &resp, err);
    if (rc == 0) {
        *out = resp->calibration_answer;
        free_shell(resp);
    }
    return rc;
}

int client_people(struct client *c, Coachq__V1__PeopleList **out, struct client_error *err)
{
    Coachq__V1__ListPeople l = COACHQ__V1__LIST_PEOPLE__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_LIST_PEOPLE;
    f.list_people = &l;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_PEOPLE, &resp, err);
    if (rc == 0) {
        *out = resp->people;
        free_shell(resp);
    }
    return rc;
}

int client_actions(struct client *c, const Coachq__V1__ListActions *q, Coachq__V1__ActionList **out,
                   struct client_error *err)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_LIST_ACTIONS;
    f.list_actions = (Coachq__V1__ListActions *)q;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_ACTIONS, &resp, err);
    if (rc == 0) {
        *out = resp->actions;
        free_shell(resp);
    }
    return rc;
}

int client_dashboard(struct client *c, const Coachq__V1__GetDashboard *q,
                     Coachq__V1__Dashboard **out, struct client_error *err)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_GET_DASHBOARD;
    f.get_dashboard = (Coachq__V1__GetDashboard *)q;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_DASHBOARD, &resp, err);
    if (rc == 0) {
        *out = resp->dashboard;
        free_shell(resp);
    }
    return rc;
}

int client_export_page(struct client *c, const Coachq__V1__ExportObservations *q,
                       Coachq__V1__ExportPage **out, struct client_error *err)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_EXPORT_OBSERVATIONS;
    f.export_observations = (Coachq__V1__ExportObservations *)q;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_EXPORT_PAGE, &resp, err);
    if (rc == 0) {
        *out = resp->export_page;
        free_shell(resp);
    }
    return rc;
}

/* What a Frame around an ImportOutcomes of body bytes takes beyond them:
 * the largest request_id (tag and 10-byte varint) and the body's tag (34:
 * two bytes) and length. */
static size_t import_frame_overhead(size_t body)
{
    return 11 + 2 + pbwire_varint_len(body);
}

/* Turns a fault's "import_outcomes.outcomes[i]..." (i within the chunk)
 * into the index within all rows, by adding start. */
static void import_fault_shift(struct client_error *err, size_t start)
{
    static const char prefix[] = "import_outcomes.outcomes[";
    char field[sizeof(err->field)];
    unsigned long long i;
    char *end;

    if (strncmp(err->field, prefix, sizeof(prefix) - 1) != 0) {
        return;
    }
    errno = 0;
    i = strtoull(err->field + sizeof(prefix) - 1, &end, 10);
    if (errno != 0 || *end != ']' || end == err->field + sizeof(prefix) - 1) {
        return;
    }
    snprintf(field, sizeof(field), "%s%llu%s", prefix, i + (unsigned long long)start, end);
    memcpy(err->field, field, sizeof(field));
}

int client_import_outcomes(struct client *c, Coachq__V1__Outcome *const *rows, size_t n,
                           Coachq__V1__ImportResult *res, size_t *done, struct client_error *err)
{
    const Coachq__V1__Welcome *w = client_welcome(c);
    size_t max = w != NULL && w->max_frame_bytes > 0 ? w->max_frame_bytes : 64u * 1024u;
    size_t start = 0;
    int rc = 0;

    coachq__v1__import_result__init(res);
    if (done != NULL) {
        *done = 0;
    }
    clear_err(err);
    while (start < n) {
        Coachq__V1__ImportOutcomes imp = COACHQ__V1__IMPORT_OUTCOMES__INIT;
        Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
        Coachq__V1__Frame *resp = NULL;
        size_t body = 0;
        size_t k = 0;

        /* As many rows as fit one frame (at least one, or it cannot go). */
        while (start + k < n && k < CLIENT_IMPORT_CHUNK_MAX) {
            size_t sz = coachq__v1__outcome__get_packed_size(rows[start + k]);
            size_t add = 1 + pbwire_varint_len(sz) + sz;

            if (body + add + import_frame_overhead(body + add) > max) {
                break;
            }
            body += add;
            k++;
        }
        if (k == 0) {
            set_err(err, COACHQ__V1__CODE__INVALID_ARGUMENT, NULL,
                    "row %zu alone is larger than the server's frame limit of %zu bytes", start + 1,
                    max);
            snprintf(err->field, sizeof(err->field), "import_outcomes.outcomes[%zu]", start);
            return -EMSGSIZE;
        }
        imp.outcomes = (Coachq__V1__Outcome **)rows + start;
        imp.n_outcomes = k;
        f.body_case = COACHQ__V1__FRAME__BODY_IMPORT_OUTCOMES;
        f.import_outcomes = &imp;
        rc = request(c, &f, COACHQ__V1__FRAME__BODY_IMPORT_RESULT, &resp, err);
        if (rc < 0) {
            if (rc == -EREMOTEIO) {
                import_fault_shift(err, start);
            }
            return rc;
        }
        res->added += resp->import_result->added;
        res->changed += resp->import_result->changed;
        res->unchanged += resp->import_result->unchanged;
        coachq__v1__frame__free_unpacked(resp, NULL);
        start += k;
        if (done != NULL) {
            *done = start;
        }
    }
    return 0;
}

int client_import_sessions(struct client *c, const void *csv, size_t len, const char *file,
                           int dry_run, Coachq__V1__SessionsImported **out,
                           struct client_error *err)
{
    const Coachq__V1__Welcome *w = client_welcome(c);
    size_t max = w != NULL && w->max_frame_bytes > 0 ? w->max_frame_bytes : 64u * 1024u;
    Coachq__V1__ImportSessions imp = COACHQ__V1__IMPORT_SESSIONS__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    size_t need;
    int rc;

    *out = NULL;
    clear_err(err);
    imp.csv.data = (uint8_t *)csv;
    imp.csv.len = len;
    imp.dry_run = dry_run != 0;
    imp.file = (char *)file;
    f.body_case = COACHQ__V1__FRAME__BODY_IMPORT_SESSIONS;
    f.import_sessions = &imp;
    f.request_id = UINT64_MAX; /* the largest it can take on the wire */
    need = coachq__v1__frame__get_packed_size(&f);
    f.request_id = 0;
    if (need > max) {
        set_err(err, COACHQ__V1__CODE__INVALID_ARGUMENT, "import_sessions.csv",
                "the file takes %zu bytes in a request; the server takes at most %zu in one "
                "import (its --max-frame): split it into several files",
                need, max);
        return -EMSGSIZE;
    }
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_SESSIONS_IMPORTED, &resp, err);
    if (rc == 0) {
        *out = resp->sessions_imported;
        free_shell(resp);
    }
    return rc;
}

int client_send_raw(struct client *c, const void *data, size_t len)
{
    if (c->conn == NULL) {
        return c->failed != 0 ? c->failed : -ENOTCONN;
    }
    return tls_conn_write(c->conn, data, len);
}

int client_assignments(struct client *c, const Coachq__V1__ListAssignments *q,
                       Coachq__V1__AssignmentList **out, struct client_error *err)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_LIST_ASSIGNMENTS;
    f.list_assignments = (Coachq__V1__ListAssignments *)q;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_ASSIGNMENTS, &resp, err);
    if (rc == 0) {
        *out = resp->assignments;
        free_shell(resp);
    }
    return rc;
}

int client_draw_assignments(struct client *c, const Coachq__V1__DrawAssignments *q,
                            Coachq__V1__AssignmentDrawResult **out, struct client_error *err)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_DRAW_ASSIGNMENTS;
    f.draw_assignments = (Coachq__V1__DrawAssignments *)q;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_ASSIGNMENT_DRAW, &resp, err);
    if (rc == 0) {
        *out = resp->assignment_draw;
        free_shell(resp);
    }
    return rc;
}

int client_coverage_plans(struct client *c, const Coachq__V1__SetCoveragePlan *q,
                          Coachq__V1__CoveragePlanList **out, struct client_error *err)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Frame *resp;
    int rc;

    *out = NULL;
    f.body_case = COACHQ__V1__FRAME__BODY_SET_COVERAGE_PLAN;
    f.set_coverage_plan = (Coachq__V1__SetCoveragePlan *)q;
    rc = request(c, &f, COACHQ__V1__FRAME__BODY_COVERAGE_PLANS, &resp, err);
    if (rc == 0) {
        *out = resp->coverage_plans;
        free_shell(resp);
    }
    return rc;
}
