/*
 * session_int: what the two files of the session model share, private to
 * client/session.c and client/session_submit.c (see session.h).
 */
#ifndef COACHQ_SESSION_INT_H
#define COACHQ_SESSION_INT_H

#include "session.h"

/*
 * Asks the server over c (borrowed for the call) for the record under
 * the draft's id. Returns 0 when it has none (or could not say), 1 when it
 * has the draft's very content (byte for byte, as the server compares), 2
 * when its content differs; with 1 and 2, *rec is the record (caller
 * owns, free with coachq__v1__stored_observation__free_unpacked(*rec,
 * NULL)).
 */
int session_stored_copy(struct session *ses, struct client *c, Coachq__V1__StoredObservation **rec);

#endif
