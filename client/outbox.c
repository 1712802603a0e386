/*
 * outbox: sending the observer's finished observations (outbox.h).
 *
 * A flush reads the entries to send, connects once, pipelines them with
 * client_submit_many() and then writes each outcome to the local store in
 * its own durable transaction. The order matters only for the local
 * bookkeeping: the server's answer is final before we record it, and an
 * entry whose deletion did not reach the disk is simply sent again next
 * time and answered DUPLICATE.
 */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "str.h"

/* The entries one flush sends, decoded (caller owns each). */
struct outbox_batch {
    Coachq__V1__OutboxEntry **e;
    size_t n;
    size_t cap;
    int include_rejected;
    struct localstore *ls;
};

static int64_t outbox_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An entry that was never given a state is waiting to be sent. */
static int outbox_is_rejected(const Coachq__V1__OutboxEntry *e)
{
    return e->state == COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_REJECTED;
}

static int outbox_pick_cb(const Coachq__V1__OutboxEntry *e, void *arg)
{
    struct outbox_batch *b = arg;
    Coachq__V1__OutboxEntry *copy = NULL;
    int rc;

    if (outbox_is_rejected(e) && !b->include_rejected) {
        return 0;
    }
    if (b->n == b->cap) {
        size_t cap = b->cap == 0 ? 16 : b->cap * 2;
        Coachq__V1__OutboxEntry **ne = realloc(b->e, cap * sizeof(*ne));

        if (ne == NULL) {
            return -ENOMEM;
        }
        b->e = ne;
        b->cap = cap;
    }
    /* e is borrowed for the call: keep a copy of our own. */
    rc = localstore_outbox_get(b->ls, e->observation->id.data, &copy);
    if (rc < 0) {
        return rc;
    }
    b->e[b->n++] = copy;
    return 0;
}

static void outbox_batch_free(struct outbox_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        coachq__v1__outbox_entry__free_unpacked(b->e[i], NULL);
    }
    free(b->e);
}

/*
 * Writes e back after an attempt: with state and why (unless keep_error),
 * one more attempt, at now. The entry itself (decoded, owned elsewhere) is
 * not changed: a shallow copy carries the new fields.
 */
static int outbox_record(struct localstore *ls, const Coachq__V1__OutboxEntry *e, int state,
                         const struct client_error *why, int keep_error, int64_t now)
{
    Coachq__V1__OutboxEntry copy = *e;
    Coachq__V1__Error err = COACHQ__V1__ERROR__INIT;

    if (!keep_error) {
        err.code = why->code;
        err.message = (char *)why->message;
        err.field = (char *)why->field;
        copy.last_error = &err;
        copy.state = state;
    }
    copy.attempts = e->attempts + 1;
    copy.last_attempt_ms = now;
    return localstore_outbox_put(ls, &copy);
}

/* The server was not reached for e: it stays queued with why. A rejected
 * entry sent again keeps its rejection, the last answer it had. */
static int outbox_not_reached(struct localstore *ls, const Coachq__V1__OutboxEntry *e,
                              const struct client_error *why, int64_t now,
                              struct outbox_summary *summary)
{
    summary->waiting++;
    return outbox_record(ls, e, COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_QUEUED, why,
                         outbox_is_rejected(e), now);
}

/* Codes that say "not now" rather than "not this record". */
static int outbox_is_transient(Coachq__V1__Code code)
{
    return code == COACHQ__V1__CODE__UNAVAILABLE || code == COACHQ__V1__CODE__DEADLINE_EXCEEDED;
}

/* Records the answer to one entry. */
static int outbox_outcome(struct localstore *ls, const Coachq__V1__OutboxEntry *e,
                          const struct client_submit_result *r, int64_t now,
                          struct outbox_summary *summary)
{
    int rc;

    if (!r->done || outbox_is_transient(r->err.code)) {
        return outbox_not_reached(ls, e, &r->err, now, summary);
    }
    if (r->err.code != COACHQ__V1__CODE__OK) {
        summary->rejected++;
        return outbox_record(ls, e, COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_REJECTED, &r->err, 0,
                             now);
    }
    if (r->result == COACHQ__V1__ACK__RESULT__RESULT_DUPLICATE) {
        summary->duplicates++;
    } else {
        summary->sent++;
    }
    rc = localstore_outbox_del(ls, e->observation->id.data);
    /* Discarded meanwhile by another coachq: gone either way. */
    return rc == -ENOENT ? 0 : rc;
}

/* A reason for the entries when the client gave none in words. */
static void outbox_fill_reason(struct client_error *err)
{
    if (err->code == COACHQ__V1__CODE__OK) {
        err->code = COACHQ__V1__CODE__UNAVAILABLE;
    }
    if (err->message[0] == '\0') {
        str_copy(err->message, sizeof(err->message), "the server could not be reached");
    }
}

/* Sends the batch on c and records every outcome. Returns 0, the
 * connection's failure code, or the first local store failure. */
static int outbox_send(struct localstore *ls, struct client *c, struct outbox_batch *b,
                       struct outbox_summary *summary)
{
    Coachq__V1__Observation **obs = calloc(b->n, sizeof(*obs));
    struct client_submit_result *res = calloc(b->n, sizeof(*res));
    int64_t now = outbox_now_ms();
    int rc = -ENOMEM;
    int src;

    if (obs == NULL || res == NULL) {
        goto out;
    }
    for (size_t i = 0; i < b->n; i++) {
        obs[i] = b->e[i]->observation;
    }
    src = client_submit_many(c, obs, b->n, res, NULL, NULL);
    rc = 0;
    for (size_t i = 0; i < b->n; i++) {
        int wrc;

        if (!res[i].done) {
            outbox_fill_reason(&res[i].err);
        }
        /* The first entry left waiting says why the others wait too. */
        if ((!res[i].done || outbox_is_transient(res[i].err.code)) &&
            summary->conn_err.code == COACHQ__V1__CODE__OK) {
            summary->conn_err = res[i].err;
        }
        wrc = outbox_outcome(ls, b->e[i], &res[i], now, summary);
        if (rc == 0 && wrc < 0) {
            rc = wrc;
        }
    }
    if (src < 0) {
        rc = src;
        outbox_fill_reason(&summary->conn_err);
    }
out:
    free(obs);
    free(res);
    return rc;
}

int outbox_flush(struct localstore *ls, const struct client_opts *opts, int include_rejected,
                 struct outbox_summary *summary)
{
    struct outbox_batch b = {0};
    struct client *c = NULL;
    int rc;

    memset(summary, 0, sizeof(*summary));
    b.include_rejected = include_rejected;
    b.ls = ls;
    rc = localstore_outbox_list(ls, outbox_pick_cb, &b);
    if (rc < 0 || b.n == 0) {
        goto out;
    }
    rc = client_connect(opts, &c, &summary->conn_err);
    if (rc < 0) {
        int64_t now = outbox_now_ms();

        outbox_fill_reason(&summary->conn_err);
        for (size_t i = 0; i < b.n; i++) {
            /* The reason is already in summary; a failed write here leaves
             * the entry as it was, still queued. */
            (void)outbox_not_reached(ls, b.e[i], &summary->conn_err, now, summary);
        }
        goto out;
    }
    rc = outbox_send(ls, c, &b, summary);
out:
    client_free(c);
    outbox_batch_free(&b);
    return rc;
}
