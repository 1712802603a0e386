/*
 * assign: the observation programme's coverage plans and assignments
 * (domain.md, "Running an observation programme"; docs/programme.md).
 *
 * A coverage plan (CoveragePlan) says that every front-line manager of a
 * programme or of a second-level manager's line is observed at least N
 * times a month or a week by an observer certified for a rubric, with the
 * exclusions the lead chose. A draw (assign_draw()) turns the plan into
 * assignments by stratified random sampling from a recorded seed: the
 * strata are the second-level managers' lines, each line gets its
 * proportional share of the sample, managers are drawn at random within a
 * line, and each drawn manager is matched with an eligible observer chosen
 * uniformly at random under the exclusions and the per-observer load cap.
 * The same seed on the same store state gives the same draw, ids included.
 * Submitting an observation of an assigned manager fulfils the assignment
 * in the writer's transaction that stores the record (assign_match(),
 * assign_fulfil()).
 *
 * Databases (created at open; schema 10):
 *   plans           scope -> CoveragePlan
 *   assignments     uuid(16) -> Assignment
 *   asg_draws       uuid(16) -> AssignmentDraw
 *   asg_open        len(1) observer | observer | len(1) manager | manager |
 *                   be32 due_until | uuid(16) -> empty (open ones only)
 *   asg_by_manager  len(1) manager | manager | be32 due_from | uuid(16) -> empty
 *   asg_due         be32 due_until | uuid(16) -> empty (open ones only)
 *   asg_obs_due     len(1) observer | observer | be32 due_until | uuid(16) -> empty
 *                   (open ones only)
 * A store of schema 9 gets them all, empty, when it opens.
 *
 * Every function works inside a transaction of the caller's (any thread);
 * writers need a write transaction. Everything passed in is borrowed for
 * the call. Errors are negative errnos, or the store's codes that callers
 * inside store/ pass on untouched.
 */
#ifndef COACHQ_ASSIGN_H
#define COACHQ_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "validate.h"

struct store;
struct store_txn;

/* Most managers, observers and slots one draw handles. */
#define ASSIGN_MAX_SLOTS 20000
#define ASSIGN_MAX_OBSERVERS 5000
/* Most assignments one list returns. */
#define ASSIGN_LIST_MAX 1000
/* Most lapsed assignments one assign_expire() marks. */
#define ASSIGN_EXPIRE_BATCH 1000
#define ASSIGN_MAX_PER_PERIOD 31
/* The days a draw's period_day may name: 2000-01-01 to 2099-12-31, the
 * years validate accepts for a session. */
#define ASSIGN_MIN_DAY 10957
#define ASSIGN_MAX_DAY 47481

/*
 * Checks a plan's fields (scope "programme:<id>" or "line:<id>", rubric,
 * per_period 1..31, period). Returns 0, or -EINVAL with why (the field's
 * name first) written into why (whylen bytes).
 */
int assign_plan_check(const Coachq__V1__CoveragePlan *p, char *why, size_t whylen);

/* Stores plan p under its scope (write transaction). With changed, a plan
 * that differs from the stored one only in set_by and set_at_ms is no
 * change: the stored one, with its stamp, is kept and *changed is 0. */
int assign_plan_put(struct store_txn *t, const Coachq__V1__CoveragePlan *p, int *changed);

/*
 * Checks plan p against the store (its rubric installed; its programme
 * known, or its line's manager a second-level manager) and stores it like
 * assign_plan_put(). Returns 0, or ERROR_REFUSED with fault naming the
 * field under prefix (e.g. "set_coverage_plan.plan").
 */
int assign_plan_set(struct store_txn *t, const Coachq__V1__CoveragePlan *p, const char *prefix,
                    int *changed, struct validate_error *fault);

/* Reads the plan of scope: 0 and *out (caller owns, free with
 * coachq__v1__coverage_plan__free_unpacked()), or -ENOENT. */
int assign_plan_get(struct store_txn *t, const char *scope, Coachq__V1__CoveragePlan **out);

/* Calls cb for every plan in scope order (p borrowed for the call); cb
 * returns 0 to go on, 1 to stop, < 0 to fail. */
typedef int (*assign_plan_cb)(const Coachq__V1__CoveragePlan *p, void *arg);
int assign_plan_list(struct store_txn *t, assign_plan_cb cb, void *arg);

/* The first and last day of the plan period (month or week) holding day. */
void assign_period(Coachq__V1__CoveragePeriod period, int32_t day, int32_t *from, int32_t *until);

/* One draw asked for. */
struct assign_draw_req {
    const char *scope; /* the plan's */
    uint64_t seed;
    int32_t period_day; /* a day inside the period drawn; 0: the organisation's
                         * today at now_ms (assign_today() with no manager) */
    uint32_t sample;    /* 0: every open slot; else at most this many */
    int64_t now_ms;
    const char *actor;
    const char *origin; /* for the audit entry (may be NULL) */
};

/* A draw's result. Caller owns it; free with assign_draw_result_clear(). */
struct assign_draw_result {
    Coachq__V1__AssignmentDraw draw;
    Coachq__V1__Assignment **asg; /* in draw order */
    size_t n;
    char **unfilled; /* managers no eligible observer could take, once each */
    size_t n_unfilled;
    size_t managers;             /* front-line managers in scope */
    size_t observers;            /* observers enabled and certified on the window's first day */
    size_t slots;                /* observations the plan still asks for in the period */
    struct validate_error fault; /* with ERROR_REFUSED */
};

/*
 * Draws the assignments of plan req->scope for the period holding
 * req->period_day (0: the organisation's today at req->now_ms) and writes them, the draw and an
 * audit entry (write transaction; a dry run aborts it). Managers who already hold their plan's
 * count of open, done or expired assignments in the period get no more, and expired ones count in
 * an observer's load as open ones do, so that a past period's draw comes out the same after its
 * window ended. Returns 0 and fills *out; ERROR_REFUSED with out->fault (no plan, an unknown
 * rubric, a period_day outside ASSIGN_MIN_DAY..ASSIGN_MAX_DAY); -ENOSPC past ASSIGN_MAX_SLOTS; or a
 * store code.
 */
int assign_draw(struct store_txn *t, const struct assign_draw_req *req,
                struct assign_draw_result *out);
void assign_draw_result_clear(struct assign_draw_result *r);

/* Reads assignment id: 0 and *out (caller owns), or -ENOENT. */
int assign_get(struct store_txn *t, const uint8_t id[16], Coachq__V1__Assignment **out);

/*
 * The assignments of observer (NULL: everybody's), open ones only unless
 * all, into *out (caller owns the array and each message; free with
 * assign_list_free()), open ones by due_until_day then id. The open ones
 * come from the due-day indexes, soonest due first, at most
 * ASSIGN_LIST_MAX; with all, the others come from at most ASSIGN_LIST_MAX
 * more records examined. *truncated is set when either stopped early. An
 * open assignment whose window ended before its manager's today
 * (assign_today() of now_ms) is reported EXPIRED (read transaction enough:
 * nothing is written).
 */
int assign_list(struct store_txn *t, const char *observer, int all, int64_t now_ms,
                Coachq__V1__Assignment ***out, size_t *n, int *truncated);
void assign_list_free(Coachq__V1__Assignment **a, size_t n);

/* The assignments of manager whose window starts on due_from (every
 * status; open ones past their window, by assign_today() of now_ms,
 * reported EXPIRED), as assign_list() gives them. */
int assign_list_manager(struct store_txn *t, const char *manager, int32_t due_from, int64_t now_ms,
                        Coachq__V1__Assignment ***out, size_t *n, int *truncated);

/*
 * Reassigns open assignment id to observer to (write transaction), under
 * the plan's rules: to must hold the observer role, be enabled and be
 * certified for the rubric on the window's first day. The old one becomes
 * REASSIGNED naming the new one, whose id *new_id gets. Returns 0 or
 * ERROR_REFUSED with fault (field "observer_id" or "assignment_id").
 */
int assign_reassign(struct store_txn *t, const uint8_t id[16], const char *to, int64_t now_ms,
                    const char *actor, uint8_t new_id[16], struct validate_error *fault);

/*
 * Marks open assignments whose window ended before their manager's today
 * (assign_today() of now_ms) EXPIRED (write transaction), soonest due
 * first and at most ASSIGN_EXPIRE_BATCH in one call; *n (may be NULL) gets
 * how many.
 */
int assign_expire(struct store_txn *t, int64_t now_ms, size_t *n);

/*
 * Whether observer may fulfil assignment a with observation o, besides the
 * window and names assign_match() checks (assign_fulfil.c): certified for
 * a's rubric on the session's day, and o's session (coach, coachee,
 * started_at) not already what a done assignment of a's plan and manager
 * in the same window was fulfilled by. why (whylen bytes) gets the reason
 * it may not, "" when it may. Returns 0 or a store code.
 */
int assign_match_may(struct store_txn *t, const Coachq__V1__Assignment *a, const char *observer,
                     const Coachq__V1__Observation *o, int32_t session_day, char *why,
                     size_t whylen);

/*
 * The day of instant now_ms in manager's zone (zone_day_of(): the coach's,
 * as a session's day is): the "today" a window is compared with, so that
 * a far-west coach's evening is still their day. Any person may be named
 * (a ListAssignments answer's today is the listed observer's); NULL names
 * the organisation (a draw's default period day). UTC when the zone cannot
 * be read. Returns 0 or a store abort code.
 */
int assign_today(struct store_txn *t, const char *manager, int64_t now_ms, int32_t *day);

/*
 * Which assignment observation o, submitted by observer on now_day with its
 * session on session_day, fulfils (writer thread, before the record is
 * put). With o->assignment_id: that one, which must be open, the
 * observer's, of o's coach and rubric, with session_day and now_day inside
 * its window; else ERROR_REFUSED with fault naming
 * "observation.assignment_id". Without: the open one of this observer and
 * coach whose window holds both days (the soonest due), if any. An
 * amendment fulfils nothing new: its assignment_id may only name the one
 * its original fulfilled. Returns 0 with *found 1 and match, or *found 0.
 */
int assign_match(struct store_txn *t, const char *observer, const Coachq__V1__Observation *o,
                 int amendment, const uint8_t *root, int32_t session_day, int32_t now_day,
                 uint8_t match[16], int *found, struct validate_error *fault);

/*
 * Whether assign_match() may find anything for o, told without reading a
 * zone: *maybe 1 when o names an assignment (the full check must run), or
 * when it may fulfil one by itself and the open-assignment index holds an
 * entry of observer and o's coach; *maybe 0 when the store holds no open
 * assignment at all (one mdb_stat()) or none of this pair (one seek). The
 * writer's hot path asks this first, so that an unassigned record costs
 * these reads instead of two zone reads and the index's range read.
 * Returns 0 or a store code as assign_match() does.
 */
int assign_match_candidate(struct store_txn *t, const char *observer,
                           const Coachq__V1__Observation *o, int amendment, int *maybe);

/* Marks assignment id DONE by observation root (write transaction, the
 * record's own). */
int assign_fulfil(struct store_txn *t, const uint8_t id[16], const uint8_t root[16],
                  int64_t now_ms);

/* Text of a status ("open", "done", "expired", "reassigned"). */
const char *assign_status_name(Coachq__V1__AssignmentStatus s);

/* splitmix64 (Steele, Lea and Flood, 2014), the draw's generator: the next
 * number of state *s. */
uint64_t assign_rng_next(uint64_t *s);

/* What assign_verify() found. */
/* The indexes assign_verify() checks, in the order of its per-index
 * differences. */
#define ASSIGN_VERIFY_NINDEX 4

struct assign_verify_result {
    uint64_t assignments; /* assignments read */
    uint64_t entries;     /* entries in the indexes */
    uint64_t differences; /* missing or extra index entries */
    /* The differences per index, named by assign_verify_index_name(). */
    uint64_t index_differences[ASSIGN_VERIFY_NINDEX];
};

/* The database name of index i (< ASSIGN_VERIFY_NINDEX): asg_open,
 * asg_by_manager, asg_due, asg_obs_due. */
const char *assign_verify_index_name(size_t i);

/*
 * Compares asg_open, asg_by_manager, asg_due and asg_obs_due with the keys
 * the assignments give (both ways: every entry is an assignment's, in the
 * right status and day, and every assignment has its entries), in its
 * own transaction: a read one, or with repair a write one that writes the
 * four indexes afresh when they differ. Returns 0 and fills *out, or a
 * store code (-EIO for an assignment that does not decode).
 */
int assign_verify(struct store *s, int repair, struct assign_verify_result *out);

#endif
