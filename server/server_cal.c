/*
 * server_cal: CalibrationRequest (`coachq calibrate`, `coachq reference
 * retire`). Observers list the reference sessions they may attempt (never
 * the master scores) and have their latest attempt at one revealed in full,
 * which spends that reference for them (certs_cal.h); leads and
 * administrators retire references; anyone reads the calibration history
 * AUTH_CERT_STATUS lets them read. Revealing and retiring write and run on
 * the writer thread (server_cal_txn()); the list and the history only read
 * and run in a read transaction on the thread pool (server_cal_read_txn(),
 * from server_read.c), so that no reader holds up the writer's acks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "certs.h"
#include "certs_cal.h"
#include "error.h"
#include "server_int.h"
#include "uuid.h"
#include "validate.h"

#define CAL_ACTION(x) COACHQ__V1__CALIBRATION_REQUEST__ACTION__ACTION_##x

static int keep_summary(const Coachq__V1__ReferenceSummary *s, void *arg)
{
    struct request *r = arg;

    return server_read_keep(&s->base, &r->msgs, &r->n_msgs);
}

static int cal_refuse(struct request *r, Coachq__V1__Code code, const char *msg)
{
    r->fault.code = code;
    snprintf(r->fault.field, sizeof(r->fault.field), "calibration_request.reference_id");
    snprintf(r->fault.message, sizeof(r->fault.message), "%s", msg);
    return ERROR_REFUSED;
}

/* An observer reading their own history sees the figures of the attempts
 * revealed to them (the attempt's own, as `coachq calibrate` showed them)
 * and pass or fail only for the others (certs.h, the exam). */
static int history_own(struct store_txn *t, struct request *r, const struct store_policy *p)
{
    int rc = 0;

    for (size_t i = 0; i < r->n_msgs2 && rc == 0; i++) {
        Coachq__V1__CalibrationResult *res = (Coachq__V1__CalibrationResult *)r->msgs2[i];

        if (res->revealed_at_ms != 0) {
            rc = certs_attempt_figures(t, res, p);
        }
        /* An attempt erased since (or never revealed): pass or fail only. */
        if (res->revealed_at_ms == 0 || rc == -ENOENT) {
            rc = certs_withhold_result(t, res, r->w.received_at_ms, p);
        }
    }
    return rc;
}

/* Frees what an earlier run of server_cal_txn() kept. */
static void cal_reset(struct request *r)
{
    for (size_t i = 0; i < r->n_msgs; i++) {
        protobuf_c_message_free_unpacked(r->msgs[i], NULL);
    }
    free(r->msgs);
    r->msgs = NULL;
    r->n_msgs = 0;
    for (size_t i = 0; i < r->n_msgs2; i++) {
        protobuf_c_message_free_unpacked(r->msgs2[i], NULL);
    }
    free(r->msgs2);
    r->msgs2 = NULL;
    r->n_msgs2 = 0;
    coachq__v1__calibration_answer__free_unpacked(r->cal, NULL);
    r->cal = NULL;
    memset(&r->fault, 0, sizeof(r->fault));
}

/* Thread pool, in a read transaction: the list and the history. */
int server_cal_read_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    const struct store_policy *p = store_get_policy(r->conn->srv->store);
    int lead = (r->conn->au.roles & (AUTH_LEAD | AUTH_ADMIN)) != 0;
    int rc;

    cal_reset(r);
    switch ((int)r->version) {
    case CAL_ACTION(REFERENCES):
        return certs_reference_summaries(t, r->conn->user, 0, r->w.received_at_ms, p, keep_summary,
                                         r);
    case CAL_ACTION(HISTORY):
        rc = certs_results(t, r->person, server_read_keep_result, r);
        if (rc == 0 && (!lead || strcmp(r->person, r->conn->user) == 0)) {
            rc = history_own(t, r, p);
        }
        return rc;
    default:
        return -EINVAL;
    }
}

/* Writer thread: reveal and retire. The batch may run it again (store.h):
 * its outputs are made afresh each time. */
int server_cal_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    const struct store_policy *p = store_get_policy(r->conn->srv->store);
    Coachq__V1__CalibrationReference *ref = NULL;
    char idstr[UUID_STR_LEN];
    int rc;

    cal_reset(r);
    if (r->version != CAL_ACTION(REVEAL) && r->version != CAL_ACTION(RETIRE)) {
        return -EINVAL;
    }
    rc = certs_reference_get(t, r->id, &ref);
    coachq__v1__calibration_reference__free_unpacked(ref, NULL);
    if (rc == -ENOENT) {
        return cal_refuse(r, COACHQ__V1__CODE__NOT_FOUND,
                          "there is no calibration reference session with this id: 'coachq "
                          "calibrate' lists the ones you may attempt");
    }
    if (rc != 0) {
        return rc;
    }
    uuid_format(r->id, idstr);
    if (r->version == CAL_ACTION(REVEAL)) {
        rc = certs_reveal(t, r->conn->user, r->id, r->w.received_at_ms, p, &r->cal);
        if (rc == -ENOENT) {
            return cal_refuse(r, COACHQ__V1__CODE__NOT_FOUND,
                              "you have no attempt at this reference session to show");
        }
        if (rc != 0) {
            return rc;
        }
        return audit_append(t, r->w.received_at_ms, r->conn->user, "calibrate.reveal", idstr,
                            "the attempt's figures and differences shown; the reference is spent",
                            r->conn->cs.peer, NULL);
    }
    rc = certs_reference_retire(t, r->id, r->w.received_at_ms, &ref);
    if (rc == 0) {
        Coachq__V1__ReferenceSummary s = COACHQ__V1__REFERENCE_SUMMARY__INIT;

        s.id = ref->id;
        s.title = ref->title;
        s.rubric_id = ref->rubric_id;
        s.rubric_version = ref->rubric_version;
        s.retired_at_ms = ref->retired_at_ms;
        rc = server_read_keep(&s.base, &r->msgs, &r->n_msgs);
    }
    coachq__v1__calibration_reference__free_unpacked(ref, NULL);
    if (rc != 0) {
        return rc;
    }
    return audit_append(t, r->w.received_at_ms, r->conn->user, "calibration.reference.retire",
                        idstr, "", r->conn->cs.peer, NULL);
}

void server_cal_handle(struct conn *c, uint64_t rid, const Coachq__V1__CalibrationRequest *q)
{
    struct auth_target tg;
    enum auth_action need = AUTH_CALIBRATE;
    const char *who = q->observer_id != NULL ? q->observer_id : "";
    struct request *r;

    memset(&tg, 0, sizeof(tg));
    switch ((int)q->action) {
    case CAL_ACTION(REFERENCES):
        break;
    case CAL_ACTION(REVEAL):
    case CAL_ACTION(RETIRE):
        need = q->action == CAL_ACTION(RETIRE) ? AUTH_RETIRE_REFERENCE : AUTH_CALIBRATE;
        if (q->reference_id.len != UUID_LEN) {
            server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                                   "calibration_request.reference_id",
                                   "must be the reference's 16-byte UUID");
            return;
        }
        break;
    case CAL_ACTION(HISTORY):
        need = AUTH_CERT_STATUS;
        if (who[0] != '\0' && validate_id(who) < 0) {
            server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                                   "calibration_request.observer_id",
                                   "must be a person's id, or empty for your own history");
            return;
        }
        tg.observer = who;
        break;
    default:
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                               "calibration_request.action",
                               "must be references, reveal, retire or history");
        return;
    }
    if (auth_decide(&c->au, need, &tg) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "calibration_request",
                               need == AUTH_RETIRE_REFERENCE
                                   ? "only enablement leads and administrators retire reference "
                                     "sessions"
                               : need == AUTH_CERT_STATUS
                                   ? "you may read only your own calibration history"
                                   : "only observers attempt calibration reference sessions");
        return;
    }
    r = server_request_new(c, rid, REQ_CALIBRATION);
    if (r == NULL) {
        return;
    }
    r->version = (uint32_t)q->action;
    snprintf(r->person, sizeof(r->person), "%s", who[0] != '\0' ? who : c->user);
    if (q->reference_id.len == UUID_LEN) {
        memcpy(r->id, q->reference_id.data, UUID_LEN);
    }
    r->w.received_at_ms = server_now_ms();
    if (r->version == CAL_ACTION(REFERENCES) || r->version == CAL_ACTION(HISTORY)) {
        server_read_queue(c, r);
        return;
    }
    r->w.fn = server_cal_txn;
    r->w.fn_arg = r;
    server_request_write(r, "the server cannot answer now; nothing was changed; try again later");
}

void server_cal_answer(struct request *r)
{
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__CalibrationAnswer ans = COACHQ__V1__CALIBRATION_ANSWER__INIT;

    if (r->w.rc == ERROR_REFUSED) {
        server_conn_send_error(r->conn, r->request_id, r->fault.code, r->fault.field,
                               r->fault.message);
        return;
    }
    if (r->w.rc != 0) {
        server_conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
                               r->w.rc == -ENOSPC
                                   ? "the server's disk is full; nothing was changed"
                                   : "the server cannot answer now; nothing was changed; try "
                                     "again later");
        return;
    }
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_CALIBRATION_ANSWER;
    if (r->cal != NULL) {
        f.calibration_answer = r->cal;
        server_conn_send(r->conn, &f);
        return;
    }
    ans.observer_id = r->person;
    ans.references = (Coachq__V1__ReferenceSummary **)r->msgs;
    ans.n_references = r->n_msgs;
    ans.history = (Coachq__V1__CalibrationResult **)r->msgs2;
    ans.n_history = r->n_msgs2;
    f.calibration_answer = &ans;
    server_conn_send(r->conn, &f);
}
