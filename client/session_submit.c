/*
 * session_submit: the session model's half that sends the draft and acts
 * on the server's answer: stored or a duplicate (the saved session is
 * cleared), queued in the outbox when the server cannot be reached,
 * refused (kept, with a way to leave it in the outbox as rejected), or an
 * id the server has with other content (discard this copy, or make it an
 * amendment). Part of the session module: see session.h.
 */
#include "session.h"
#include "session_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "uuid.h"

/* The outbox entry for the draft, with why it waits. The strings are
 * borrowed from ui for as long as the entry is used. */
static void outbox_entry(struct session *ses, Coachq__V1__OutboxEntry *e, Coachq__V1__Error *err,
                         Coachq__V1__OutboxEntry__State state, int64_t now)
{
    Coachq__V1__OutboxEntry init = COACHQ__V1__OUTBOX_ENTRY__INIT;
    Coachq__V1__Error einit = COACHQ__V1__ERROR__INIT;

    *e = init;
    *err = einit;
    err->code = ses->refusal.code;
    err->message = ses->refusal.message;
    err->field = ses->refusal.field;
    e->observation = ses->d;
    e->state = state;
    e->last_error = err;
    e->attempts = 1;
    e->queued_at_ms = now;
    e->last_attempt_ms = now;
    if (ses->o->fix != NULL && ses->o->fix->observation != NULL &&
        ses->o->fix->observation->id.len == ses->d->id.len &&
        memcmp(ses->o->fix->observation->id.data, ses->d->id.data, ses->d->id.len) == 0) {
        e->attempts = ses->o->fix->attempts + 1;
        if (ses->o->fix->queued_at_ms > 0) {
            e->queued_at_ms = ses->o->fix->queued_at_ms;
        }
    }
}

/* See session_int.h. Compares packed bytes because that is what the
 * server compares when it answers ALREADY_EXISTS. */
int session_stored_copy(struct session *ses, struct client *c, Coachq__V1__StoredObservation **rec)
{
    struct client_error e;
    uint8_t *a = NULL, *b = NULL;
    size_t na, nb;
    int same = 0;

    *rec = NULL;
    memset(&e, 0, sizeof(e));
    if (client_get(c, ses->d->id.data, rec, &e) < 0) {
        return 0;
    }
    if ((*rec)->observation == NULL) {
        coachq__v1__stored_observation__free_unpacked(*rec, NULL);
        *rec = NULL;
        return 0;
    }
    na = coachq__v1__observation__get_packed_size(ses->d);
    nb = coachq__v1__observation__get_packed_size((*rec)->observation);
    if (na == nb) {
        a = malloc(na > 0 ? na : 1);
        b = malloc(nb > 0 ? nb : 1);
        if (a != NULL && b != NULL) {
            coachq__v1__observation__pack(ses->d, a);
            coachq__v1__observation__pack((*rec)->observation, b);
            same = memcmp(a, b, na) == 0;
        }
    }
    free(a);
    free(b);
    return same ? 1 : 2;
}

/* The server has the draft's id: with the same content the session is
 * done (shown as already stored, and the saved copy removed); with other
 * content the observer chooses what becomes of this copy (SESSION_MODAL_CONFLICT).
 * rec: takes ownership. */
void session_stored_found(struct session *ses, int kind, Coachq__V1__StoredObservation *rec)
{
    if (kind == 1) {
        ses->result = SESSION_RESULT_DUPLICATE;
        ses->result_seq = rec->seq;
        ses->result_version = rec->version;
        ses->refused = 0;
        ses->dirty = 0;
        ses->save_rc = 0;
        ses->exit_code = 0;
        session_set_phase(ses, SESSION_PHASE_REVIEW, 0);
        ses->dirty = 0;
        session_clear_saved(ses);
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        return;
    }
    if (ses->conflict != NULL) {
        coachq__v1__stored_observation__free_unpacked(ses->conflict, NULL);
    }
    ses->conflict = rec;
    ses->conflict_confirm = 0;
    ses->modal = SESSION_MODAL_CONFLICT;
}

/* Sends the draft. Stored or duplicate: the session is cleared (and any
 * outbox entry of the same id removed). Server unreachable, or a passing
 * server trouble: the draft goes to the outbox as queued. Refused: the
 * session stays, with the server's error on screen. */
void session_submit(struct session *ses, int64_t now, session_sending_cb sending, void *arg)
{
    struct client *c = NULL;
    struct client_submit_result res;
    Coachq__V1__Observation *one[1] = {ses->d};
    Coachq__V1__OutboxEntry e;
    Coachq__V1__Error err;
    Coachq__V1__StoredObservation *rec = NULL;
    char problem[SESSION_STATUS_MAX];
    size_t at;
    int kind = 0;
    int rc;

    if (session_rating_problem(ses, &at, problem, sizeof(problem))) {
        session_say(ses, 1, "cannot submit yet: %s (r goes to the ratings)", problem);
        return;
    }
    if (sending != NULL) {
        sending(ses, arg);
    }
    memset(&res, 0, sizeof(res));
    memset(&ses->refusal, 0, sizeof(ses->refusal));
    if (ses->o->conn == NULL) {
        rc = -ECONNREFUSED;
        ses->refusal.code = COACHQ__V1__CODE__UNAVAILABLE;
        snprintf(ses->refusal.message, sizeof(ses->refusal.message), "no server configured");
    } else {
        rc = client_connect(ses->o->conn, &c, &ses->refusal);
        if (rc == 0) {
            rc = client_submit_many(c, one, 1, &res, NULL, NULL);
            if (!res.done) {
                ses->refusal = res.err;
                if (ses->refusal.message[0] == '\0') {
                    snprintf(ses->refusal.message, sizeof(ses->refusal.message), "%s",
                             error_strerror(rc < 0 ? rc : -EIO));
                }
            } else if (res.err.code == COACHQ__V1__CODE__ALREADY_EXISTS) {
                /* Most likely an older copy of this session, left behind
                 * when a full disk kept the stored one from being cleared:
                 * see what the server has. */
                kind = session_stored_copy(ses, c, &rec);
            }
        }
        client_free(c);
    }
    if (kind == 1) {
        session_stored_found(ses, kind, rec);
        return;
    }
    if (res.done && res.err.code == COACHQ__V1__CODE__OK) {
        ses->result = res.result == COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE
                          ? SESSION_RESULT_DUPLICATE
                          : SESSION_RESULT_STORED;
        ses->result_seq = res.seq;
        ses->result_version = res.version;
        ses->refused = 0;
        rc = localstore_outbox_del(ses->ls, ses->d->id.data);
        if (rc < 0 && rc != -ENOENT) {
            session_say(ses, 1, "stored, but the outbox copy could not be removed: %s",
                        error_strerror(rc));
        }
        /* The server has it: memory need not hold it for the journal any
         * more. A saved copy that cannot be removed now (a full disk) is
         * retried, and recognised at the next resume. */
        session_clear_saved(ses);
        ses->dirty = 0;
        ses->save_rc = 0;
        ses->exit_code = 0;
        return;
    }
    if (!res.done || session_code_is_transient(res.err.code)) {
        if (res.done) {
            ses->refusal = res.err;
        }
        if (ses->refusal.code == COACHQ__V1__CODE__OK) {
            ses->refusal.code = COACHQ__V1__CODE__UNAVAILABLE;
        }
        outbox_entry(ses, &e, &err, COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_QUEUED, now);
        rc = localstore_session_finish(ses->ls, &e);
        if (rc < 0) {
            session_say(ses, 1,
                        "NOT SENT: %s. NOT QUEUED: the outbox could not be written (%s). %s",
                        ses->refusal.message, error_strerror(rc),
                        session_journaled(ses) ? "The session stays saved; s tries again."
                                               : "All is kept in memory; s tries again.");
            return;
        }
        ses->result = SESSION_RESULT_QUEUED;
        ses->dirty = 0;
        ses->exit_code = 0;
        return;
    }
    ses->refusal = res.err;
    ses->refused = 1;
    session_say(ses, 1,
                "b: go to what the server named, s: resubmit (same id), q: leave it in the outbox");
    if (kind == 2) {
        session_stored_found(ses, kind, rec);
    }
}

/* Leaves a refused observation in the outbox as rejected. */
void session_leave_rejected(struct session *ses, int64_t now)
{
    Coachq__V1__OutboxEntry e;
    Coachq__V1__Error err;
    char id[UUID_STR_LEN];
    int rc;

    outbox_entry(ses, &e, &err, COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_REJECTED, now);
    rc = localstore_session_finish(ses->ls, &e);
    if (rc < 0) {
        if (session_journaled(ses)) {
            session_say(ses, 1, "the outbox could not be written (%s): the session stays saved",
                        error_strerror(rc));
        } else {
            session_say(
                ses, 1,
                "the outbox could not be written (%s), nor the session: it is kept in memory",
                error_strerror(rc));
            ses->modal = SESSION_MODAL_DISCARD;
            ses->discard[0] = '\0';
        }
        return;
    }
    uuid_format(ses->d->id.data, id);
    snprintf(ses->final_msg, sizeof(ses->final_msg),
             "rejected: %s stays in the outbox: %s%s%s: %s\n"
             "coachq queue list shows it; coachq observe --fix %s reopens it\n",
             id, session_code_name(ses->refusal.code), ses->refusal.field[0] ? " " : "",
             ses->refusal.field, ses->refusal.message, id);
    ses->dirty = 0;
    ses->exit_code = 1;
    ses->done = 1;
}

/* The exit message after a final result. */
void session_result_message(struct session *ses)
{
    char id[UUID_STR_LEN], pending[SESSION_STATUS_MAX];

    pending[0] = '\0';
    if (ses->clear_pending) {
        snprintf(pending, sizeof(pending),
                 "the older copy saved on this machine could not be removed (%s); a later "
                 "coachq observe --resume finds it stored and offers to discard it\n",
                 error_strerror(ses->clear_rc));
    }
    uuid_format(ses->d->id.data, id);
    switch (ses->result) {
    case SESSION_RESULT_STORED:
        snprintf(ses->final_msg, sizeof(ses->final_msg), "stored: %s (seq %llu, version %u)\n%s",
                 id, (unsigned long long)ses->result_seq, ses->result_version, pending);
        break;
    case SESSION_RESULT_DUPLICATE:
        snprintf(ses->final_msg, sizeof(ses->final_msg),
                 "already stored: %s (seq %llu), nothing changed\n%s", id,
                 (unsigned long long)ses->result_seq, pending);
        break;
    case SESSION_RESULT_QUEUED:
        snprintf(ses->final_msg, sizeof(ses->final_msg),
                 "queued: %s waits in the outbox (%s); coachq queue flush sends it\n", id,
                 ses->refusal.message);
        break;
    default:
        break;
    }
}

/* The draft becomes an amendment of the record the server has under its
 * id: a new id, amending that record's root. */
int session_conflict_amend(struct session *ses)
{
    const Coachq__V1__StoredObservation *rec = ses->conflict;
    const ProtobufCBinaryData *root =
        rec->root_id.len == UUID_LEN ? &rec->root_id : &rec->observation->id;
    uint8_t *amends;
    char id[UUID_STR_LEN];

    if (root->len != UUID_LEN) {
        return -EINVAL;
    }
    amends = malloc(UUID_LEN);
    if (amends == NULL) {
        return -ENOMEM;
    }
    memcpy(amends, root->data, UUID_LEN);
    free(ses->d->amends.data);
    ses->d->amends.data = amends;
    ses->d->amends.len = UUID_LEN;
    if (uuid_generate(ses->d->id.data) < 0) {
        return -EIO;
    }
    uuid_format(amends, id);
    session_set_phase(ses, SESSION_PHASE_REVIEW, 0);
    ses->refused = 0;
    session_say(ses, 0, "this copy now amends %s: s submits it as a new version", id);
    coachq__v1__stored_observation__free_unpacked(ses->conflict, NULL);
    ses->conflict = NULL;
    ses->modal = SESSION_MODAL_NONE;
    return 0;
}

void session_end(struct session *ses)
{
    if (ses->clear_pending) {
        session_clear_saved(ses);
    }
    session_result_message(ses);
    ses->done = 1;
}

void session_conflict_discard(struct session *ses)
{
    char id[UUID_STR_LEN];

    session_clear_saved(ses);
    if (ses->clear_pending) {
        session_say(ses, 1, "the copy on this machine could not be removed (%s); d tries again",
                    error_strerror(ses->clear_rc));
        return;
    }
    uuid_format(ses->d->id.data, id);
    snprintf(ses->final_msg, sizeof(ses->final_msg),
             "discarded the copy on this machine; the server keeps %s (version %u)\n", id,
             ses->conflict->version != 0 ? ses->conflict->version : 1);
    ses->dirty = 0;
    ses->save_rc = 0;
    ses->exit_code = 0;
    ses->done = 1;
}
