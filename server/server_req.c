/*
 * server_req: the protocol port's requests, one function per request type,
 * and the dispatcher that decodes a frame and calls it (server_req_frame()).
 * A request is refused at once (validation, roles), answered at once
 * (Hello, stats), handed to the store's writer thread (submit, reference,
 * outcomes import: answered by server_req_answer_write() when the writer is
 * done) or to the thread pool (reads: server_read.c). Loop thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "certs.h"
#include "dashfmt.h"
#include "error.h"
#include "log.h"
#include "outcomes.h"
#include "people.h"
#include "rubrics.h"
#include "server_int.h"
#include "tls_conn.h"

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
        server_conn_send_error(c, rid, COACHQ__V1__CODE__FAILED_PRECONDITION,
                               "hello.protocol_version", msg);
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
    server_conn_send(c, &f);
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
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "submit",
                               "only observers submit observations; you hold no observer role");
        return;
    }
    if (validate_observation(sub->observation, "observation", &verr) < 0) {
        server_conn_send_error(c, rid, verr.code, verr.field, verr.message);
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
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation", msg);
        return;
    }
    r = server_request_new(c, rid, REQ_SUBMIT);
    if (r == NULL) {
        return;
    }
    /* The store gets bytes this server packed from a decoded, validated
     * message: canonical, so that a resubmission compares equal. */
    r->packed = malloc(n > 0 ? n : 1);
    if (r->packed == NULL) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "server out of memory");
        server_request_finish(r);
        return;
    }
    coachq__v1__observation__pack(sub->observation, r->packed);
    memcpy(r->id, sub->observation->id.data, UUID_LEN);
    r->w.obs = r->packed;
    r->w.obs_len = n;
    r->w.observer_id = c->user;
    r->w.origin = c->cs.peer;
    r->w.received_at_ms = server_now_ms();
    rc = store_submit(c->srv->store, &r->w);
    if (rc < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__UNAVAILABLE, "",
                               rc == -ESHUTDOWN
                                   ? "the server is shutting down; submit again later"
                                   : "the server cannot store observations now; nothing "
                                     "was stored; submit again later");
        server_request_finish(r);
    }
}

/* Get and history: both name one observation by its UUID and differ only
 * in the field a malformed id is blamed on (field, e.g. "get.id") and the
 * read queued for it (kind); id is borrowed for the call. */
static void handle_by_id(struct conn *c, uint64_t rid, const ProtobufCBinaryData *id,
                         const char *field, enum request_kind kind)
{
    struct request *r;

    if (id->len != UUID_LEN) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, field,
                               "must be the observation's 16-byte UUID");
        return;
    }
    r = server_request_new(c, rid, kind);
    if (r == NULL) {
        return;
    }
    memcpy(r->id, id->data, UUID_LEN);
    server_read_queue(c, r);
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
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.by",
                               "choose which people to list by: coach, observer or coachee");
        return;
    }
    if (validate_id(l->person_id) < 0) {
        server_conn_send_error(
            c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.person_id",
            "must be a person's id: 1 to 64 letters, digits, '.', '_', '@' or '-'");
        return;
    }
    if (l->since != 0 && l->until != 0 && l->since >= l->until) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.until",
                               "must be later than since");
        return;
    }
    if (auth_decide(&c->au, AUTH_LIST, NULL) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "list",
                               "you may not list these observations");
        return;
    }
    r = server_request_new(c, rid, REQ_LIST);
    if (r == NULL) {
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
        b.query_len = server_read_list_binding(&r->q, bind);
        rc = cursor_open(c->srv->cursor_key, &b, (int64_t)time(NULL), l->cursor.data, l->cursor.len,
                         r->cursor, sizeof(r->cursor), &pos_len);
        if (rc < 0) {
            server_conn_send_error(
                c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "list.cursor",
                rc == CURSOR_E_EXPIRED
                    ? "the cursor has expired; list again from the first page"
                    : "the cursor is not one this server gave you for this list; "
                      "start again without a cursor");
            server_request_finish(r);
            return;
        }
        r->q.cursor = r->cursor;
        r->q.cursor_len = pos_len;
    }
    r->q.filter = server_read_list_filter;
    r->q.filter_arg = r;
    r->q.max_bytes = c->srv->cfg.max_frame > 2 * PAGE_RESERVE ? c->srv->cfg.max_frame - PAGE_RESERVE
                                                              : c->srv->cfg.max_frame / 2;
    r->q.max_scan = LIST_MAX_SCAN;
    server_read_queue(c, r);
}

/* Export: leads and administrators read every record, a page at a time in
 * sequence order (`coachq export observations`). */
static void handle_export(struct conn *c, uint64_t rid, const Coachq__V1__ExportObservations *e)
{
    struct request *r;

    if (auth_decide(&c->au, AUTH_EXPORT, NULL) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "export_observations",
                               "only enablement leads and administrators export every record; "
                               "managers read their line through the change feed");
        return;
    }
    if (e->after_seq > (uint64_t)INT64_MAX) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                               "export_observations.after_seq",
                               "must be a sequence number from 0 to 2^63-1");
        return;
    }
    r = server_request_new(c, rid, REQ_EXPORT);
    if (r == NULL) {
        return;
    }
    r->after_seq = e->after_seq;
    r->q.since = e->since;
    r->page_max = e->page_size == 0               ? STORE_DEFAULT_PAGE
                  : e->page_size > STORE_MAX_PAGE ? STORE_MAX_PAGE
                                                  : e->page_size;
    r->max_bytes = c->srv->cfg.max_frame > 2 * PAGE_RESERVE ? c->srv->cfg.max_frame - PAGE_RESERVE
                                                            : c->srv->cfg.max_frame / 2;
    server_read_queue(c, r);
}

static void handle_rubrics(struct conn *c, uint64_t rid, const Coachq__V1__GetRubric *g)
{
    struct request *r;

    if (auth_decide(&c->au, AUTH_RUBRICS, NULL) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "",
                               "you may not read rubrics");
        return;
    }
    if (g != NULL && validate_id(g->id) < 0) {
        server_conn_send_error(
            c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_rubric.id",
            "must be a rubric id: 1 to 64 letters, digits, '.', '_', '@' or '-'");
        return;
    }
    r = server_request_new(c, rid, g != NULL ? REQ_RUBRIC : REQ_RUBRICS);
    if (r == NULL) {
        return;
    }
    if (g != NULL) {
        snprintf(r->person, sizeof(r->person), "%s", g->id);
        r->version = g->version;
    }
    server_read_queue(c, r);
}

static void handle_cert_status(struct conn *c, uint64_t rid, const Coachq__V1__GetCertStatus *g)
{
    struct auth_target tg;
    struct request *r;
    const char *who = g->observer_id != NULL && g->observer_id[0] ? g->observer_id : c->user;

    if (validate_id(who) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                               "get_cert_status.observer_id",
                               "must be a person's id, or empty for your own status");
        return;
    }
    memset(&tg, 0, sizeof(tg));
    tg.observer = who;
    if (auth_decide(&c->au, AUTH_CERT_STATUS, &tg) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED,
                               "get_cert_status.observer_id",
                               "you may read only your own certification status");
        return;
    }
    r = server_request_new(c, rid, REQ_CERT_STATUS);
    if (r == NULL) {
        return;
    }
    snprintf(r->person, sizeof(r->person), "%s", who);
    server_read_queue(c, r);
}

static void handle_people(struct conn *c, uint64_t rid)
{
    struct request *r;

    if (auth_decide(&c->au, AUTH_PEOPLE, NULL) < 0) {
        server_conn_send_error(
            c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "list_people",
            "only observers, enablement leads and administrators list the people "
            "to observe");
        return;
    }
    r = server_request_new(c, rid, REQ_PEOPLE);
    if (r == NULL) {
        return;
    }
    r->as_of = (int64_t)time(NULL);
    r->max_bytes = c->srv->cfg.write_max / 2;
    if (r->max_bytes > PEOPLE_MAX_BYTES) {
        r->max_bytes = PEOPLE_MAX_BYTES;
    }
    server_read_queue(c, r);
}

/* Open and overdue actions: one of coach, coachee or line (none: the
 * caller's own coaching, or line for a second-level manager); each record
 * is then decided by AUTH_READ_ACTION on the thread pool. */
static void handle_actions(struct conn *c, uint64_t rid, const Coachq__V1__ListActions *la)
{
    const char *ids[3] = {la->coach_id, la->coachee_id, la->line_id};
    static const char *const fields[3] = {"list_actions.coach_id", "list_actions.coachee_id",
                                          "list_actions.line_id"};
    static const char by[3] = {'c', 'e', 'l'};
    const char *who = NULL;
    char kind = 0;
    struct request *r;

    for (int i = 0; i < 3; i++) {
        if (ids[i] == NULL || ids[i][0] == '\0') {
            continue;
        }
        if (who != NULL) {
            server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, fields[i],
                                   "name one of coach, coachee or line, not two");
            return;
        }
        if (validate_id(ids[i]) < 0) {
            server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, fields[i],
                                   "must be a person's id: letters, digits, '.', '_', '@', '-'");
            return;
        }
        who = ids[i];
        kind = by[i];
    }
    if (who == NULL) {
        who = c->user;
        if (c->au.roles & AUTH_FRONT_LINE) {
            kind = 'c';
        } else if (c->au.roles & AUTH_SECOND_LEVEL) {
            kind = 'l';
        } else {
            server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                                   "list_actions.coach_id",
                                   "name whose actions to list: a coach, a coachee or a line");
            return;
        }
    }
    r = server_request_new(c, rid, REQ_ACTIONS);
    if (r == NULL) {
        return;
    }
    snprintf(r->person, sizeof(r->person), "%s", who);
    r->act_by = kind;
    r->act_open = la->open_only;
    r->act_overdue = la->overdue_only;
    r->as_of = (int64_t)time(NULL);
    r->max_bytes = c->srv->cfg.write_max / 2;
    if (r->max_bytes > PEOPLE_MAX_BYTES) {
        r->max_bytes = PEOPLE_MAX_BYTES;
    }
    server_read_queue(c, r);
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

    if (auth_decide(&c->au, AUTH_ADD_REFERENCE, NULL) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "add_reference",
                               "only enablement leads and administrators register calibration "
                               "reference sessions");
        return;
    }
    if (ref == NULL || ref->id.len != UUID_LEN) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                               "add_reference.reference.id",
                               "must be the reference's 16-byte UUID");
        return;
    }
    if (validate_id(ref->rubric_id) < 0 || ref->rubric_version == 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                               ref->rubric_version == 0 && validate_id(ref->rubric_id) == 0
                                   ? "add_reference.reference.rubric_version"
                                   : "add_reference.reference.rubric_id",
                               "name the rubric id and version the masters scored");
        return;
    }
    if (ref->title == NULL || ref->title[0] == '\0' || strlen(ref->title) > 200 ||
        ref->n_master == 0 || ref->n_master > VALIDATE_MAX_RATINGS) {
        server_conn_send_error(
            c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
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
            server_conn_send_error(
                c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, field,
                "each master rating needs a behaviour id and a score from 1 to 4, "
                "or not applicable");
            return;
        }
    }
    if (ref->recording != NULL) {
        struct validate_error verr;

        if (validate_recording(ref->recording, 0, "add_reference.reference.recording", &verr) < 0) {
            server_conn_send_error(c, rid, verr.code, verr.field, verr.message);
            return;
        }
    }
    r = server_request_new(c, rid, REQ_ADD_REFERENCE);
    if (r == NULL) {
        return;
    }
    /* The frame is freed when this returns: keep a decoded copy, with the
     * registering user and time set by the server (on a shallow copy, so
     * that protobuf-c owns every string of the decoded one). */
    {
        Coachq__V1__CalibrationReference stamped = *ref;

        stamped.registered_by = c->user;
        stamped.registered_at_ms = server_now_ms();
        n = coachq__v1__calibration_reference__get_packed_size(&stamped);
        buf = malloc(n > 0 ? n : 1);
        if (buf != NULL) {
            coachq__v1__calibration_reference__pack(&stamped, buf);
            r->ref = coachq__v1__calibration_reference__unpack(NULL, n, buf);
            free(buf);
        }
    }
    if (r->ref == NULL) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "server out of memory");
        server_request_finish(r);
        return;
    }
    memcpy(r->id, ref->id.data, UUID_LEN);
    r->w.fn = add_reference_txn;
    r->w.fn_arg = r;
    r->w.received_at_ms = r->ref->registered_at_ms;
    server_request_write(r, "the server cannot store now; nothing was stored; try again later");
}

static void handle_dashboard(struct conn *c, uint64_t rid, const Coachq__V1__GetDashboard *g)
{
    const struct config *cfg = &c->srv->cfg;
    struct request *r;

    if (dashfmt_kind_name(g->kind) == NULL) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_dashboard.kind",
                               "choose a dashboard: my managers, manager, programme, observers, my "
                               "coaching, coaching my managers or my reliability");
        return;
    }
    if (g->subject_id != NULL && g->subject_id[0] != '\0' && validate_id(g->subject_id) < 0) {
        server_conn_send_error(
            c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_dashboard.subject_id",
            "must be a person's id: 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "or empty for yourself");
        return;
    }
    if (g->rubric_id != NULL && g->rubric_id[0] != '\0' && validate_id(g->rubric_id) < 0) {
        server_conn_send_error(
            c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "get_dashboard.rubric_id",
            "must be a rubric id: 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "or empty for " DASH_DEFAULT_RUBRIC);
        return;
    }
    r = server_request_new(c, rid, REQ_DASHBOARD);
    if (r == NULL) {
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
    r->dreq.not_coached_weeks = g->not_coached_weeks;
    r->dreq.assigned_only = g->assigned_only;
    dash_opts_default(&r->dopts);
    r->dopts.min_n = cfg->dash_min_n;
    r->dopts.privacy_min = cfg->dash_privacy_min;
    r->dopts.amend_days = cfg->amend_days;
    r->dopts.build_us = c->srv->dash_build_us;
    r->as_of = (int64_t)time(NULL);
    r->max_bytes = cfg->write_max / 2;
    if (r->max_bytes > DASH_MAX_BYTES) {
        r->max_bytes = DASH_MAX_BYTES;
    }
    server_read_queue(c, r);
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

    if (auth_decide(&c->au, AUTH_IMPORT_OUTCOMES, NULL) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "import_outcomes",
                               "only enablement leads and administrators import business results");
        return;
    }
    if (imp->n_outcomes > OUTCOMES_MAX_ROWS) {
        char msg[160];

        snprintf(msg, sizeof(msg), "%zu rows in one request; send at most %u", imp->n_outcomes,
                 OUTCOMES_MAX_ROWS);
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                               "import_outcomes.outcomes", msg);
        return;
    }
    for (size_t i = 0; i < imp->n_outcomes; i++) {
        char prefix[64];

        snprintf(prefix, sizeof(prefix), "import_outcomes.outcomes[%zu]", i);
        memset(&verr, 0, sizeof(verr));
        if (outcomes_check(imp->outcomes[i], prefix, &verr) < 0) {
            server_conn_send_error(
                c, rid,
                verr.code != COACHQ__V1__CODE__OK ? verr.code : COACHQ__V1__CODE__INVALID_ARGUMENT,
                verr.field, verr.message);
            return;
        }
    }
    if (imp->n_outcomes == 0) {
        /* Nothing to store: answered at once, without a write. */
        f.request_id = rid;
        f.body_case = COACHQ__V1__FRAME__BODY_IMPORT_RESULT;
        f.import_result = &none;
        server_conn_send(c, &f);
        return;
    }
    r = server_request_new(c, rid, REQ_IMPORT_OUTCOMES);
    if (r == NULL) {
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
        server_conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "server out of memory");
        server_request_finish(r);
        return;
    }
    r->w.fn = import_outcomes_txn;
    r->w.fn_arg = r;
    r->w.received_at_ms = server_now_ms();
    server_request_write(r, "the server cannot store now; nothing was imported; try again later");
}

static void handle_stats(struct conn *c, uint64_t rid)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__Stats st = COACHQ__V1__STATS__INIT;
    struct store_stats ss;

    if (auth_decide(&c->au, AUTH_STATS, NULL) < 0) {
        server_conn_send_error(
            c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "get_stats",
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
    st.writer_cpu_us = ss.writer_cpu_us;
    f.request_id = rid;
    f.body_case = COACHQ__V1__FRAME__BODY_STATS;
    f.stats = &st;
    server_conn_send(c, &f);
}

/* The /metrics kinds, in the order of SERVER_REQ_KIND_* indexes. */
static const struct {
    int body_case;
    const char *name;
} req_kinds[SERVER_REQ_KINDS] = {
    {COACHQ__V1__FRAME__BODY_HELLO, "hello"},
    {COACHQ__V1__FRAME__BODY_SUBMIT, "submit"},
    {COACHQ__V1__FRAME__BODY_GET, "get"},
    {COACHQ__V1__FRAME__BODY_LIST, "list"},
    {COACHQ__V1__FRAME__BODY_GET_STATS, "get_stats"},
    {COACHQ__V1__FRAME__BODY_GET_HISTORY, "get_history"},
    {COACHQ__V1__FRAME__BODY_LIST_RUBRICS, "list_rubrics"},
    {COACHQ__V1__FRAME__BODY_GET_RUBRIC, "get_rubric"},
    {COACHQ__V1__FRAME__BODY_GET_CERT_STATUS, "get_cert_status"},
    {COACHQ__V1__FRAME__BODY_ADD_REFERENCE, "add_reference"},
    {COACHQ__V1__FRAME__BODY_LIST_PEOPLE, "list_people"},
    {COACHQ__V1__FRAME__BODY_GET_DASHBOARD, "get_dashboard"},
    {COACHQ__V1__FRAME__BODY_IMPORT_OUTCOMES, "import_outcomes"},
    {COACHQ__V1__FRAME__BODY_EXPORT_OBSERVATIONS, "export_observations"},
    {COACHQ__V1__FRAME__BODY_LIST_ACTIONS, "list_actions"},
    {COACHQ__V1__FRAME__BODY_IMPORT_SESSIONS, "import_sessions"},
    {COACHQ__V1__FRAME__BODY_CALIBRATION_REQUEST, "calibration"},
    {COACHQ__V1__FRAME__BODY_LIST_ASSIGNMENTS, "list_assignments"},
    {COACHQ__V1__FRAME__BODY_DRAW_ASSIGNMENTS, "draw_assignments"},
    {COACHQ__V1__FRAME__BODY_SET_COVERAGE_PLAN, "set_coverage_plan"},
    {COACHQ__V1__FRAME__BODY__NOT_SET, "invalid"},
};

int server_req_kind(int body_case)
{
    for (int i = 0; i < SERVER_REQ_KIND_INVALID; i++) {
        if (req_kinds[i].body_case == body_case) {
            return i;
        }
    }
    return SERVER_REQ_KIND_INVALID;
}

const char *server_req_kind_name(int kind)
{
    return kind >= 0 && kind < SERVER_REQ_KINDS ? req_kinds[kind].name : "invalid";
}

static void req_frame(struct conn *c, const uint8_t *body, size_t len);

void server_req_frame(struct conn *c, const uint8_t *body, size_t len)
{
    /* Answers sent while it is decided count under its kind (/metrics);
     * until it decodes, under "invalid". */
    c->cur_kind = SERVER_REQ_KIND_INVALID;
    req_frame(c, body, len);
    c->cur_kind = SERVER_REQ_KIND_NONE;
}

static void req_frame(struct conn *c, const uint8_t *body, size_t len)
{
    struct validate_error verr;
    struct pbmem m;
    Coachq__V1__Frame *f = NULL;
    uint64_t rid;
    int rc;

    pbmem_init(&m, &c->srv->pool, c->srv->cfg.unpack_budget);
    rc = pbmem_unpack_frame(&m, body, len, &f);
    if (rc < 0) {
        server_conn_fail(c, rc);
        return;
    }
    rid = f->request_id;
    c->cur_kind = server_req_kind((int)f->body_case);
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
        server_conn_send_error(c, rid, verr.code, field, verr.message);
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
        handle_by_id(c, rid, &f->get->id, "get.id", REQ_GET);
        break;
    case COACHQ__V1__FRAME__BODY_EXPORT_OBSERVATIONS:
        handle_export(c, rid, f->export_observations);
        break;
    case COACHQ__V1__FRAME__BODY_LIST:
        handle_list(c, rid, f->list);
        break;
    case COACHQ__V1__FRAME__BODY_GET_STATS:
        handle_stats(c, rid);
        break;
    case COACHQ__V1__FRAME__BODY_GET_HISTORY:
        handle_by_id(c, rid, &f->get_history->id, "get_history.id", REQ_HISTORY);
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
    case COACHQ__V1__FRAME__BODY_LIST_ACTIONS:
        handle_actions(c, rid, f->list_actions);
        break;
    case COACHQ__V1__FRAME__BODY_GET_DASHBOARD:
        handle_dashboard(c, rid, f->get_dashboard);
        break;
    case COACHQ__V1__FRAME__BODY_IMPORT_OUTCOMES:
        handle_import_outcomes(c, rid, f->import_outcomes);
        break;
    case COACHQ__V1__FRAME__BODY_IMPORT_SESSIONS:
        server_sessions_handle(c, rid, f->import_sessions);
        break;
    case COACHQ__V1__FRAME__BODY_CALIBRATION_REQUEST:
        server_cal_handle(c, rid, f->calibration_request);
        break;
    case COACHQ__V1__FRAME__BODY_LIST_ASSIGNMENTS:
        server_assign_list(c, rid, f->list_assignments);
        break;
    case COACHQ__V1__FRAME__BODY_DRAW_ASSIGNMENTS:
        server_assign_draw(c, rid, f->draw_assignments);
        break;
    case COACHQ__V1__FRAME__BODY_SET_COVERAGE_PLAN:
        server_assign_plan(c, rid, f->set_coverage_plan);
        break;
    case COACHQ__V1__FRAME__BODY__NOT_SET:
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "body",
                               "the frame has no request in it; set one of its body fields");
        break;
    default:
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "body",
                               "the frame holds a server response, not a request");
        break;
    }
    pbmem_frame_free(&m, f);
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
        server_conn_send(c, &f);
        return;
    case -EINVAL:
    case -ENOENT:
        server_conn_send_error(c, r->request_id, COACHQ__V1__CODE__INVALID_ARGUMENT,
                               "import_outcomes.outcomes",
                               "a row names no known person or is not valid; nothing was imported");
        return;
    case -ENOSPC:
        server_conn_send_error(c, r->request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "the server's disk is full; nothing was imported; import again once "
                               "space is freed");
        return;
    case -ESHUTDOWN:
        server_conn_send_error(
            c, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
            "the server is shutting down; nothing was imported; import again later");
        return;
    default:
        server_conn_send_error(
            c, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
            "the server cannot store now; nothing was imported; import again later");
        return;
    }
}

static void answer_write(struct request *r);

void server_req_answer_write(struct request *r)
{
    struct conn *c = r->conn;

    if (c->cs.tls == NULL) {
        return;
    }
    c->cur_kind = r->frame_kind;
    answer_write(r);
    c->cur_kind = SERVER_REQ_KIND_NONE;
    if (r->kind == REQ_SUBMIT) {
        metrics_hist_observe(&c->srv->ack_us, (uv_hrtime() - r->start_ns) / 1000);
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
    if (r->kind == REQ_IMPORT_SESSIONS) {
        server_sessions_answer(r);
        return;
    }
    if (r->kind == REQ_CALIBRATION) {
        server_cal_answer(r);
        return;
    }
    if (r->kind == REQ_ASSIGN) {
        server_assign_answer(r);
        return;
    }
    if (w->rc == ERROR_REFUSED) {
        const struct validate_error *fault = r->kind == REQ_SUBMIT ? &w->fault : &r->fault;

        server_conn_send_error(c, r->request_id, fault->code, fault->field, fault->message);
        return;
    }
    if (r->kind == REQ_ADD_REFERENCE && w->rc == 0) {
        ack.result = COACHQ__V1__ACK__RESULT__RESULT_STORED;
        ack.id.data = r->id;
        ack.id.len = UUID_LEN;
        f.request_id = r->request_id;
        f.body_case = COACHQ__V1__FRAME__BODY_ACK;
        f.ack = &ack;
        server_conn_send(c, &f);
        return;
    }
    if (r->kind == REQ_IMPORT_OUTCOMES) {
        answer_import(r);
        return;
    }
    if (r->kind == REQ_ADD_REFERENCE && w->rc == -EEXIST) {
        server_conn_send_error(
            c, r->request_id, COACHQ__V1__CODE__ALREADY_EXISTS, "add_reference.reference.id",
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
        server_conn_send(c, &f);
        return;
    case -EEXIST:
        server_conn_send_error(c, r->request_id, COACHQ__V1__CODE__ALREADY_EXISTS, "observation.id",
                               "this id already belongs to a different observation; give a new "
                               "observation a new id");
        return;
    case -ENOSPC:
        server_conn_send_error(c, r->request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "the server's disk is full; nothing was stored; submit again once "
                               "space is freed");
        return;
    case -EINVAL:
        server_conn_send_error(c, r->request_id, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation",
                               "the observation could not be decoded");
        return;
    case -ESHUTDOWN:
        server_conn_send_error(
            c, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
            "the server is shutting down; nothing was stored; submit again later");
        return;
    default:
        server_conn_send_error(
            c, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
            "the server cannot store observations now; nothing was stored; submit "
            "again later");
        return;
    }
}
