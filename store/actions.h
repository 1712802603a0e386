/*
 * actions: the agreed actions as records of their own (domain.md, "The loop
 * around a session"). An action agreed in an observation becomes an
 * ActionRecord in the `actions` database, keyed by its 16-byte id; a
 * follow-up in a later observation of the same coach and coachee appends an
 * ActionEvent to its history and sets its status from the history, never
 * in place; an amendment of an observation replaces what that observation
 * said (its earlier version's events stay in the history, a withdrawn
 * follow-up as an event without a status). `actions_by` indexes the
 * records per coach and per coachee, open ones first in key order:
 *
 *   'c' | 'e', person id, 0, open ('1') or closed ('0'), be64 agreed_at,
 *   action id(16) -> empty
 *
 * Open records are also indexed per coach by due day, most overdue first, those without
 * a due day last (ACTIONS_NO_DUE), and counted per coach and due day:
 *
 *   'o', coach id, 0, be32 due day, be64 agreed_at, action id(16) -> empty
 *   'n', coach id, 0, be32 due day -> be64 open records
 *
 * so that a page shows the first N open actions and the open and overdue
 * totals without reading the rest (actions_open_txn()).
 *
 * Follow-through counters: every record adds ACTIONS_NCOUNTS counts (agreed
 * 1, followed up, and by its latest status done, partly done, not done,
 * dropped) to the week of the session that agreed it (its Monday,
 * agg_week_of(agreed_day)), under its coach and under "<manager>/<coach>"
 * for each manager above the coach on that day (the aggregates'
 * line-coach scope: a manager who moved lines counts where the session
 * was). A follow-up or an amendment that changes a record's status moves
 * its counts within that same week: the record's old counts are taken
 * back from the scopes its contribution names and its new counts added,
 * so nothing is counted twice.
 *
 *   'w', be32 Monday, scope -> be64 counts[ACTIONS_NCOUNTS]
 *   'k', be32 Monday, action id(16) -> u8 n, n x (u8 length, scope): the
 *                         scopes the record's counts were added to
 *
 * The week counters and the contributions are keyed by week first
 * (actions formats 2 and 4): records arrive in the order their sessions
 * were held, so one batch's counters and contributions are a few
 * neighbouring keys of this week rather than one key in the range of every
 * scope it touches or one per random action id, and a commit writes a few
 * leaves for them instead of one per coach or per record
 * (docs/benchmarks.md, "The load").
 *
 * All of them are written with the record in the writer's transaction and
 * are derived like it (actions_rebuild_txn(), compared by actions_verify()).
 * They live beside the records rather than in the weekly aggregates (agg.h)
 * because a follow-up in one observation changes the counts of an action
 * agreed in another observation's week, while an aggregate contribution
 * belongs to the version that made it; and the aggregates are per rubric,
 * the actions are not.
 *
 * Manager detail's and My coaching's action tables read values kept per
 * person, not per action (actions format 5, actions_view.c): per coach
 * the first open records the page lists, per coachee and coach the newest
 * records' focus and follow-ups, so that a page reads no record:
 *
 *   'O', coach id, 0 -> the first ACTIONS_OPEN_KEPT open records' summaries
 *   'R', coachee id, 0, coach id -> the ACTIONS_RECENT_KEPT newest ones'
 *
 * A page trusts a value that parses: one that is well formed but stale
 * would be served. The only check at read time is an 'O' value's count
 * against the coach's open counters; an 'R' value has none. What keeps
 * the values right is the writer, whose updates are exact (each value is
 * remade from the records its batch changed, or derived from the pair's
 * records when it cannot be), and `coachqd verify`, which derives every
 * value again and compares: the net for a value gone wrong (--repair
 * mends it).
 *
 * The records are derived data: actions_rebuild_txn() replays every stored
 * observation in sequence order and gives the same records as the writer
 * did (schema 8's migration and `coachqd verify --repair`), and
 * actions_verify() compares them.
 *
 * Everything runs inside a transaction of the caller's; writes on the
 * writer thread only. Arguments are borrowed for the call.
 */
#ifndef COACHQ_ACTIONS_H
#define COACHQ_ACTIONS_H

#include <stdint.h>

#include "coachq.pb-c.h"
#include "rules.h"
#include "store.h"
#include "validate.h"

/* At most this many records come back from one list (a frame's worth). */
#define ACTIONS_MAX_LIST 500

/* The id of an observation's i-th action: its own, or for an action sent
 * without one (records from before action records), one derived from the
 * observation's root id and i. out gets 16 bytes. */
void actions_id_of(const Coachq__V1__Action *a, const uint8_t root[16], size_t i, uint8_t out[16]);

/* True for a status that still needs work (open, partly done, not done). */
int actions_status_open(Coachq__V1__ActionStatus s);

/*
 * The rules of actions and follow-ups for obs, stored as a version of
 * amend's observation (or a new one), on the session day: a due day not
 * before the session; an action id not agreed in another observation;
 * focus behaviours of rubric; a follow-up of an existing action of the same
 * coach and coachee, agreed in an earlier session, that does not go back
 * from done unless this is an amendment; an amendment does not remove an
 * action that later sessions followed up. Returns 0, ERROR_REFUSED with
 * *fault filled, or a negative store code.
 */
int actions_check(struct store_txn *t, const Coachq__V1__Observation *obs,
                  const Coachq__V1__Rubric *rubric, const struct rules_amend *amend, int32_t day,
                  struct validate_error *fault);

/*
 * Applies the stored version rec (superseding the version prev, or NULL) to
 * the action records, in the writer's transaction. A follow-up of an
 * unknown action or of another coach's is skipped (the rules refused it
 * when they were enforced). The pages' values (actions_view.c) are kept
 * only in actions_observation()'s batch; alone (a rebuild) it leaves them
 * to be derived at the end. Returns 0 or a negative code
 * (STORE_TXN_ABORT() codes included).
 */
int actions_apply(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                  const uint8_t *prev);

/*
 * The store's hook (obs_apply.c) for every version it stores: as
 * actions_apply(), with the changes of the follow-through and open
 * counters merged over the batch in t->batch_actions (store_int.h, made
 * here when absent) instead of read and written per record. The batch's
 * end writes them, actions_flush(), or drops them, actions_batch_discard()
 * (store.h, store_flush_cb): nothing may read those counters in t before
 * then. Returns as actions_apply().
 */
int actions_observation(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                        const uint8_t *prev);

/* Reads each counter merged in t->batch_actions once, adds its change,
 * writes it once, and frees the batch (t->batch_actions becomes NULL).
 * Returns 0 (also with no batch) or a negative code (STORE_TXN_ABORT()
 * codes included), after which the attempt must end. */
int actions_flush(struct store_txn *t);

/* Frees t->batch_actions unwritten (the attempt ends without a commit) and
 * sets it to NULL; a no-op without one. */
void actions_batch_discard(struct store_txn *t);

/* The layout of actions_by a store holds, kept in its meta database (key
 * "actions_format"): 2 keys the week counters by week first (before it,
 * by scope first: 'w', scope, 0, be32 Monday); 3 drops the index of a
 * coach's records by the session that agreed them ('a', coach id, 0, '-',
 * be64 agreed_at, action id), which nothing read since the action tables
 * read the week counters; 4 keys the contributions by the week of the
 * agreeing session first (before it, 'k', action id); 5 adds the values
 * laid out for the pages, per coach ('O') and per coachee and coach ('R'),
 * actions_view.c; 6 stores each record at the size its first follow-up
 * gives it, so that the follow-up rewrites it in its place rather than
 * splitting its page (actions_record.c; the `actions` tree, not
 * actions_by, but one number says the layout of both). */
#define ACTIONS_FORMAT 6

/* Open records a coach's value holds (Manager detail and My coaching list
 * that many, dash_actions.h), and records a coachee and coach's value
 * holds (focus progress reads that many per rep). */
#define ACTIONS_OPEN_KEPT 20
#define ACTIONS_RECENT_KEPT 6

/*
 * At every open (the store's upgrade hook, in the opening transaction t):
 * a store whose actions_format is not ACTIONS_FORMAT and that has entries
 * in actions_by is brought to it, unless rebuilt says the upgrade just
 * derived everything: a store of format 4 gets the pages' values derived,
 * one of format 4 or 5 its records stored again with their pads (one step
 * per format, so steps chain), an older or unknown one every
 * record, index entry, counter and value (actions_rebuild_txn()); then the
 * format is written. Returns 0 or a negative code (STORE_TXN_ABORT()
 * codes included).
 */
int actions_format_check(struct store_txn *t, int rebuilt);

/* Deletes every action record and derives them again from the stored
 * observations, in sequence order, with the index, counters and values. Returns 0 or a negative
 * code. *n, when not NULL, gets the number of records made. */
int actions_rebuild_txn(struct store_txn *t, uint64_t *n);

/* What actions_verify() found. */
struct actions_verify_result {
    uint64_t records;     /* action records in the store */
    uint64_t expected;    /* records the observations give */
    uint64_t differences; /* missing, extra or different records and index entries */
};

/*
 * Compares the action records with what the observations give, in one
 * write transaction that is rolled back unless repair is set (then the
 * rebuilt records are kept). Runs through store_exec(). Returns 0 or a
 * negative code.
 */
int actions_verify(struct store *s, int repair, struct actions_verify_result *out);

/* What actions_list_txn() selects. Exactly one of coach, coachee or
 * coaches (n_coaches > 0) is set. */
struct actions_query {
    const char *coach;
    const char *coachee;
    const char *const *coaches; /* a line's coaches */
    size_t n_coaches;
    int open_only;
    int overdue_only;
    int32_t today;      /* overdue: open with a due day before today */
    size_t examine_max; /* records read at most; 0: ACTIONS_EXAMINE_MAX */
};

/* Records one actions_list_txn() reads at most, whether or not its
 * callback keeps them: a list whose caller may see few of a long history's
 * records is cut here rather than read to its end. */
#define ACTIONS_EXAMINE_MAX (2 * ACTIONS_MAX_LIST)

/* What one actions_list_txn() read. */
struct actions_list_stat {
    size_t examined; /* records read */
    int capped;      /* it stopped at the cap with records left to read */
};

/* Called with each record (borrowed for the call). Returns 0 to go on, 1
 * to stop, or a negative code. */
typedef int (*actions_cb)(const Coachq__V1__ActionRecord *r, void *arg);

/* Visits the records q selects, per person in index order (open before
 * closed, then by the agreeing session's start; a coach's overdue records
 * most overdue first, from the open index, reading none due later), and
 * reads at most q->examine_max records in all. st (may be NULL) gets what
 * was read. Returns 0, cb's negative code or a negative errno. */
int actions_list_txn(struct store_txn *t, const struct actions_query *q, actions_cb cb, void *arg,
                     struct actions_list_stat *st);

/* The follow-through counts (see above), by index. */
#define ACTIONS_AGREED 0
#define ACTIONS_FOLLOWED 1
#define ACTIONS_DONE 2
#define ACTIONS_PARTLY 3
#define ACTIONS_NOT_DONE 4
#define ACTIONS_DROPPED 5
#define ACTIONS_NCOUNTS 6

/* Weeks one actions_follow_txn() sums at most: two years. */
#define ACTIONS_FOLLOW_WEEKS 104

/* What actions_follow_txn() sums. */
struct actions_follow {
    uint64_t n[ACTIONS_NCOUNTS];
    unsigned weeks; /* week counters read */
};

/* Sums the follow-through counters of scope (a coach id, or
 * "<manager>/<coach>") over the weeks of from_day to until_day (any day
 * stands for its week), at most ACTIONS_FOLLOW_WEEKS weeks (the last ones).
 * Looks up one counter per week, never a record: actions_follow_many_txn()
 * with one scope. Returns 0 or a negative code. */
int actions_follow_txn(struct store_txn *t, const char *scope, int32_t from_day, int32_t until_day,
                       struct actions_follow *out);

/* Sums the follow-through counters of each of the n scopes (borrowed; any
 * order, repeats allowed) into out[i] (caller owns, n of them), as n calls
 * of actions_follow_txn() with from_day and until_day would. The counters
 * are keyed by week first, so one line's scopes sit side by side within a
 * week: they are looked up week by week, in key order, with one cursor,
 * which finds each on the leaf where it found the one before rather than
 * from the tree's root. Returns 0, -EINVAL for a scope actions_follow_txn()
 * refuses, -ENOMEM, or a negative code; on an error out is not to be used.
 * Any thread, within t. */
int actions_follow_many_txn(struct store_txn *t, const char *const *scopes, size_t n,
                            int32_t from_day, int32_t until_day, struct actions_follow *out);

/* What actions_open_txn() counts. */
struct actions_open_counts {
    uint64_t open;     /* coach's records still open (open, partly done, not done) */
    uint64_t overdue;  /* of them with a due day before today */
    unsigned due_days; /* counters read: one per due day with open records */
};

/* Counts coach's open and overdue records from the per-due-day counters,
 * and visits the first max open records with cb, most overdue first (by
 * due day, then agreed_at; those without a due day last). Reads one
 * counter per due day and, when the list fits in the coach's value
 * (ACTIONS_OPEN_KEPT, actions_view.c), that value: then each record holds
 * only id, coach, coachee, text, agreed and due day and status. Else max
 * records, whatever the coach's history. Returns 0,
 * cb's negative code or a negative errno. */
int actions_open_txn(struct store_txn *t, const char *coach, int32_t today, size_t max,
                     actions_cb cb, void *arg, struct actions_open_counts *out);

/* Index keys read per record asked for by actions_recent_txn(), at most:
 * a coachee's actions with other coaches are skipped, not read without
 * end. */
#define ACTIONS_RECENT_KEYS 4

/* Visits the k actions (k <= ACTIONS_MAX_LIST) that coach agreed with
 * coachee most recently, by the agreeing session's start, newest first,
 * with cb (1 stops; the record is borrowed for the call). For k <=
 * ACTIONS_RECENT_KEPT it reads the pair's value (actions_view.c), one
 * look-up: then the record holds only id, coach, coachee, text, status,
 * agreed day and time, focus and, as history, the follow-ups that stand
 * (status and day, each of an observation of its own), and the newest k
 * are found however many of coachee's records are other coaches'. Without
 * a value it reads at most 2 x ACTIONS_RECENT_KEYS x k index entries, and
 * records only in the order visited until k are coach's: k records when
 * the newest are all coach's. Returns 0, cb's negative code or a negative
 * errno. Any thread, inside the caller's transaction. */
int actions_recent_txn(struct store_txn *t, const char *coach, const char *coachee, size_t k,
                       actions_cb cb, void *arg);

/* Reads one record. Returns 0 with *out (caller owns, free with
 * coachq__v1__action_record__free_unpacked(*out, NULL)), -ENOENT, or a
 * negative errno. */
int actions_get_txn(struct store_txn *t, const uint8_t id[16], Coachq__V1__ActionRecord **out);

#endif
