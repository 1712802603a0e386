/*
 * outbox: sending the observer's finished observations.
 *
 * Each entry keeps its observation's UUID through every retry, so however
 * often it is resent the server stores it once (a resend is answered
 * DUPLICATE). Stored or duplicate entries leave the outbox; entries the
 * server refuses (validation, certification, ...) stay, marked rejected
 * with the server's error, until the observer fixes or discards them; if
 * the server cannot be reached they stay queued with that reason. Nothing
 * is dropped silently.
 */
#ifndef COACHQ_OUTBOX_H
#define COACHQ_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "localstore.h"

struct outbox_summary {
    size_t sent;       /* answered STORED */
    size_t duplicates; /* answered DUPLICATE (stored before) */
    size_t rejected;   /* refused by the server; kept, marked rejected */
    size_t waiting;    /* still queued: the server was not reached */
    struct client_error conn_err; /* why, when the server was not reached */
};

/*
 * Sends every queued entry (and, if include_rejected, the rejected ones
 * again) over a connection made with opts, and records each outcome in ls.
 * Returns 0 when the server was reached (see summary for each outcome), or
 * a negative code when it was not (the entries stay queued, with the reason
 * in their last_error and in summary->conn_err).
 */
int outbox_flush(struct localstore *ls, const struct client_opts *opts, int include_rejected,
                 struct outbox_summary *summary);

#endif
