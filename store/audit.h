/*
 * audit: the append-only audit log: who did what, when and from where.
 *
 * Entries are numbered from 1 in commit order and never changed or
 * deleted. They are written in the same transaction as the change they
 * describe, so the log holds exactly what was committed.
 *
 * Both functions work inside a transaction of the caller's (store_int.h):
 * audit_append() needs the writer's write transaction, audit_list() any.
 * Strings passed in are borrowed for the call; entries handed to a
 * callback are borrowed for that call only. Errors are negative errnos, or
 * the store's codes that callers inside store/ pass on untouched.
 */
#ifndef COACHQ_AUDIT_H
#define COACHQ_AUDIT_H

#include <stdint.h>

#include "coachq.pb-c.h"
#include "store.h"

/*
 * Appends an entry (write transaction). Strings are borrowed for the call;
 * NULL is stored as empty. Text longer than 1000 bytes is cut at a UTF-8
 * boundary. *seq (may be NULL) gets the entry's number. Returns 0, -EROFS
 * or a store code to pass on.
 */
int audit_append(struct store_txn *t, int64_t at_ms, const char *actor, const char *action,
                 const char *subject, const char *detail, const char *origin, uint64_t *seq);

/*
 * Appends the entry of a stored observation (write transaction): it names
 * the record by its sequence number (record_seq) instead of copying it;
 * audit_list() shows the actor, action, subject and detail the record
 * gives (obs_audit_text_txn() in obs.h). origin is borrowed for the call.
 * *seq (may be NULL) gets the entry's number. Returns as audit_append().
 */
int audit_append_record(struct store_txn *t, int64_t at_ms, const char *origin, uint64_t record_seq,
                        uint64_t *seq);

/* Calls cb for every entry with at_ms >= since_ms, oldest first (e borrowed
 * for the call); cb returns 0 to go on, 1 to stop, or a negative code. An
 * entry that names a record comes with the record's text filled in (and
 * record_seq set), as if the text were stored in it; if the record cannot
 * be read, its subject is "-" and its detail says so. */
typedef int (*audit_cb)(const Coachq__V1__AuditEntry *e, void *arg);
int audit_list(struct store_txn *t, int64_t since_ms, audit_cb cb, void *arg);

#endif
