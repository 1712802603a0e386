/*
 * auth: the one place that decides what an authenticated user may do.
 *
 * Every request is checked here, before the store is asked or a record
 * leaves the server. Identity is the subject CN of a verified client
 * certificate, never a message field.
 *
 * This is the foundation's rule set: any user with a certificate from the
 * deployment CA may submit, and reads are scoped to the records the user
 * observed, is the coach of, or is the coachee of. Roles and reporting lines
 * (second-level managers reading their line, enablement leads reading all)
 * are decided here too once the people table exists.
 */
#ifndef COACHQ_AUTH_H
#define COACHQ_AUTH_H

#include "coachq.pb-c.h"

enum auth_action {
    AUTH_SUBMIT,
    AUTH_READ_RECORD,
    AUTH_LIST,
    AUTH_STATS,
};

/*
 * Decides whether user (borrowed) may do action. For AUTH_READ_RECORD, rec
 * is the record to be returned; for AUTH_LIST, by/person name the index
 * and person asked for. Other arguments may be NULL/0. Returns 0 (allowed)
 * or -EACCES. Thread-safe and pure: it reads only its arguments.
 */
int auth_check(const char *user, enum auth_action action, const Coachq__V1__StoredObservation *rec,
               Coachq__V1__ListBy by, const char *person);

#endif
