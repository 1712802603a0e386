/*
 * retention: the retention policy applied to the observation records
 * (`coachqd retention`, docs/operations.md "Retention and erasure").
 *
 * An observation is affected when the session date of its latest version
 * (the day of started_at in the coach's time zone, store/zone.h, as
 * everywhere in the store) is before
 * before_day; calibration attempts are exam records that certifications
 * rest on and are never affected. Every version of an affected
 * observation is then, in one write transaction:
 *
 *   - deleted: the record, its id and version entries, its index entries
 *     and its aggregate contribution; the audit entries that named the
 *     record keep who did what and when (actor, action, the record's id)
 *     and say that the record was removed, without its content; or
 *   - anonymised: every free text removed, and the coach's, the coachee's
 *     and the action owners' ids replaced by "anon-<8 hex>" pseudonyms made
 *     from a key drawn for the run and thrown away, per session (the
 *     records of one session, scored by several observers, keep one
 *     pseudonym per person so double coding still pairs them; no two
 *     sessions share one). The numbers stay: the organisation's and the
 *     observers' aggregates count them as before; the coach's line and
 *     cohorts do not, since nobody is known to be the coach any more. An
 *     observation already anonymised (coach and coachee "anon-") is
 *     counted as skipped.
 *
 * An anonymised record loses its assignment_id. The observation programme
 * follows the same cut-off: every assignment (any status) and every draw
 * whose window ended before before_day is deleted with its index entries,
 * and an assignment of a later window fulfilled by an affected observation
 * loses its observation_id, so no assignment maps a record back to its
 * manager.
 *
 * Then the aggregates are rebuilt from the records and one audit entry
 * ("retention.delete" or "retention.anonymise") gives the cut-off and the
 * counts. The caller runs it through store_exec() (it may run twice) and
 * turns it into a dry run by returning a failure from its own callback
 * after it, so that nothing commits.
 */
#ifndef COACHQ_RETENTION_H
#define COACHQ_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define RETENTION_ANON_PREFIX "anon-"

/* Called for each affected observation (id: its original's 16-byte id,
 * borrowed for the call), with its session day and its number of
 * versions, on the writer thread, before it is changed. Returns 0 or a
 * negative code that aborts the run. */
typedef int (*retention_cb)(const uint8_t root[16], int32_t day, uint32_t versions, void *arg);

struct retention_request {
    int32_t before_day; /* sessions on days before this one are affected */
    int anonymise;      /* 0: delete */
    int64_t now_ms;     /* the audit entry's time */
    const char *actor;  /* the audit entry's actor, origin and policy text (borrowed) */
    const char *origin;
    const char *policy;
    retention_cb each; /* may be NULL */
    void *each_arg;
    /* Out, set afresh by every call. */
    uint64_t observations; /* affected */
    uint64_t versions;     /* their versions */
    uint64_t skipped;      /* already anonymised */
    uint64_t audit;        /* audit entries that named a deleted record */
    uint64_t assignments;  /* assignments deleted (window ended before the cut-off) */
    uint64_t unlinked;     /* later assignments that lost an affected observation's id */
    uint64_t draws;        /* draws deleted (window ended before the cut-off) */
};

/*
 * Applies r in the write transaction t (see above). Returns 0, -EROFS,
 * -EINVAL, -ENOMEM, -EIO (a record or index that does not decode), the
 * callback's code, or a store code to pass on.
 */
int retention_txn(struct store_txn *t, struct retention_request *r);

#endif
