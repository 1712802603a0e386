/*
 * rules: the organisation's checks of an observation at submit, run by the
 * writer inside the transaction that stores it, so that what is checked
 * (certification, reporting lines, the rubric) cannot change between the
 * check and the commit.
 *
 * These come after proto/validate.c's structural checks (ids well formed,
 * scores 1..4, markers inside the session) and need the store:
 *   - the rubric version exists, and the session date is neither in the
 *     future nor before that version took effect;
 *   - the observer holds a certification for the rubric valid on the
 *     session date (FAILED_PRECONDITION, saying until when the last one
 *     held); calibration attempts need none, but their reference must exist
 *     and match the rubric;
 *   - the coach is a front-line manager and the coachee reported to the
 *     coach on the session date; for a rubric that scores coaching the
 *     coach (coach_role ROLE_SECOND_LEVEL_MANAGER), the coach is a
 *     second-level manager and the coachee one of the front-line managers
 *     who reported to them on the session date;
 *   - the observer may score this coach's session (store_policy.may_score,
 *     query/auth.c: a second-level manager who observes scores only their
 *     own line, nobody their own coaching; PERMISSION_DENIED on coach_id);
 *   - every behaviour of that version is rated, or marked not applicable
 *     where the rubric allows it; no unknown behaviours; evidence where the
 *     rubric requires it;
 *   - an amendment amends an observation of the same observer, within the
 *     policy's window, with the same rubric.
 * Every refusal fills a validate_error with the code, the field path and a
 * message that says how to fix it.
 *
 * Called by obs_apply.c, the store's hook, on the writer thread; it only
 * reads. Everything passed in is borrowed for the call, and nothing is
 * handed out but the caller's *amend and *fault. A store failure comes
 * back as a negative code the hook passes on (STORE_TXN_ABORT() codes
 * included).
 */
#ifndef COACHQ_RULES_H
#define COACHQ_RULES_H

#include <stdint.h>

#include "coachq.pb-c.h"
#include "store.h"
#include "validate.h"

/* What the writer needs to know about an accepted amendment. */
struct rules_amend {
    int is_amendment;
    uint8_t root[16];     /* the original's id */
    uint32_t version;     /* the new version number */
    uint8_t previous[16]; /* the version it supersedes */
    int assigned;         /* that version fulfilled an assignment (agg.h, AGG_ASSIGNED) */
};

/*
 * Checks obs, submitted by observer at now_ms, against the organisation in
 * t. Returns 0 (accepted; *amend filled), ERROR_REFUSED with *fault filled,
 * or another negative code (a store failure to pass on).
 */
int rules_check_observation(struct store_txn *t, const char *observer,
                            const Coachq__V1__Observation *obs, int64_t now_ms,
                            const struct store_policy *policy, struct rules_amend *amend,
                            struct validate_error *fault);

#endif
