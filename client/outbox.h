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
 *
 * Ownership: the store and the connection options are borrowed for the
 * call; the summary is the caller's. outbox_flush() runs on the calling
 * thread and blocks on the network; errors are as it says below.
 */
#ifndef COACHQ_OUTBOX_H
#define COACHQ_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "localstore.h"

struct outbox_summary {
    size_t sent;                  /* answered STORED */
    size_t duplicates;            /* answered DUPLICATE (stored before) */
    size_t rejected;              /* refused by the server; kept, marked rejected */
    size_t waiting;               /* not answered: the server was not reached */
    struct client_error conn_err; /* why entries wait, when some do */
};

/*
 * Sends every queued entry (and, if include_rejected, the rejected ones
 * again), oldest first, pipelined over one connection made with opts
 * (borrowed for the call), and records each outcome in ls: stored and
 * duplicate entries are deleted; refused ones become rejected with the
 * server's error (code, message, field); the others stay queued with the
 * reason in last_error. Every entry sent counts one more attempt at the
 * time of the flush. A rejected entry sent again that gets no answer keeps
 * its rejection. *summary is filled in every case.
 *
 * Returns 0 when every entry sent was answered (or there was nothing to
 * send: then no connection is made); a negative connection code when the
 * server was not reached or the connection failed before every answer
 * (summary->conn_err says why, in words); or a negative errno when the
 * local store failed (summary->conn_err.code is then OK).
 */
int outbox_flush(struct localstore *ls, const struct client_opts *opts, int include_rejected,
                 struct outbox_summary *summary);

#endif
