/*
 * cadence: what coaching cadence is computed from, beside the observations
 * (domain.md, "The loop around a session"): the sessions held that a
 * deployment imports with one row per coach, rep and day (`coachqd import
 * sessions`), and the coaching commitments an organisation or a programme
 * sets (`coachqd commitment`).
 *
 * Database sessions_held: len(1) coachee | coachee | be32 day | len(1)
 * coach | coach -> be32 minutes (erase.c re-keys both ids of an erased
 * person to their pseudonym). Keyed by the rep first, so that one rep's days in a window
 * are one range of keys. A pair holds at most one row per day.
 *
 * Database commitments: "*" (the organisation) or a programme id -> u8
 * version (1) | u8 kind (enum cadence_commit_kind) | be32 value | be64
 * set_at_ms.
 *
 * One coaching day of a pair (cadence_pair_days()) is a day with an
 * observed session of the rep while they reported to that coach (the
 * latest version of an observation that is not a calibration attempt,
 * dated in the coach's time zone, whoever observed it) or an imported
 * session held, or both: an observed and an imported session on the same
 * day count once, and so do two observed sessions of one day. Its minutes
 * are the imported row's (0 on a day with observed sessions only: their
 * time is in the aggregates, agg.h).
 *
 * Database cadence_days (format CADENCE_FORMAT, meta "cadence_format"):
 * the observed coaching days as counts, kept by the writer so that a page
 * reads a pair's days as one short range of keys instead of walking the
 * rep's observation index. Key: len(1) coachee | coachee | len(1) coach |
 * coach | be32 (first day ^ 0x80000000), the first day of a block of
 * CADENCE_COUNT_DAYS days (days since 1970-01-01 in the coach's zone, a
 * multiple of 7). Value: u8 version (1) | CADENCE_COUNT_DAYS x le32, the
 * observed sessions of the rep on each day of the block that count for the
 * coach by the rule above. A key exists only while one count is above 0.
 * Counts, not flags, so that taking a session away (a superseded version,
 * retention, a correction that changes the rep, the day or the coach) is
 * exact. What moves a session between coaches or days without touching
 * it counts the rep's or the store's sessions again: a reporting line
 * (people_line_put(), the rep's), a time zone, erasure and retention (all
 * of them, beside the aggregates' rebuild).
 *
 * Every function works inside a transaction of the caller's (any thread);
 * writers need a write transaction. Everything passed in is borrowed for
 * the call. Errors are negative errnos, or the store's codes that callers
 * inside store/ pass on untouched.
 */
#ifndef COACHQ_CADENCE_H
#define COACHQ_CADENCE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_txn;

/* The organisation's commitment key. */
#define CADENCE_ORG "*"
/* Most minutes one imported session may last. */
#define CADENCE_MAX_MINUTES 1440

/*
 * Stores one session held (write transaction). Returns 0, -EEXIST when the
 * pair already has a row on that day, -EINVAL (an id empty or longer than
 * 64 bytes, minutes above CADENCE_MAX_MINUTES), -EROFS or a store code.
 */
int cadence_held_put(struct store_txn *t, const char *coach, const char *coachee, int32_t day,
                     uint32_t minutes);

/* Whether the pair has a row on day: 0 and *minutes (may be NULL), or
 * -ENOENT; -EINVAL for bad ids. */
int cadence_held_get(struct store_txn *t, const char *coach, const char *coachee, int32_t day,
                     uint32_t *minutes);

/* One coaching day of a pair. */
struct cadence_day {
    int32_t day;
    uint32_t minutes;
    unsigned observed : 1;
    unsigned held : 1;
};

/*
 * The distinct coaching days of coach with coachee in [from_day,
 * until_day] (see above), oldest first, into out (at most max; the rest
 * are dropped and *more set). Reads the pair's counts of the window (a key
 * per block of days with an observed session, cadence_days below) and the
 * rep's imported rows of the window: the cost is bounded by the window's
 * days, never by the observations, in the window or in the rep's history.
 * Returns 0 and *n, or a negative errno.
 */
int cadence_pair_days(struct store_txn *t, const char *coach, const char *coachee, int32_t from_day,
                      int32_t until_day, struct cadence_day *out, size_t max, size_t *n, int *more);

/*
 * The same answer as cadence_pair_days() from the observation index and
 * the reporting lines instead of the counts: the reference that the tests
 * compare the counts against. Reads at most a few index keys and one
 * reporting line per coaching day of the rep in the window.
 */
int cadence_pair_days_walk(struct store_txn *t, const char *coach, const char *coachee,
                           int32_t from_day, int32_t until_day, struct cadence_day *out, size_t max,
                           size_t *n, int *more);

/* The counts' layout (database cadence_days, above). */
#define CADENCE_FORMAT 1
#define CADENCE_COUNT_DAYS 7

/*
 * The writer's update: one session of coachee at started_at (seconds since
 * the epoch) entered (delta 1) or left (delta -1) the rep index, counted
 * for every coach it is a coaching day of. coach (may be NULL) is the
 * record's: the rep's line is read first on the session's day in their
 * zone, as the rules read it, and the days around it come from that read.
 * Reads the rep's lines through the batch's memo; in a batch begun with
 * cadence_batch_begin() the change is merged into it, else written. Write
 * transaction, writer thread. Returns 0, -EINVAL, -ENOMEM, -EIO (a value
 * that does not decode) or a store code.
 */
int cadence_count_session(struct store_txn *t, const char *coachee, const char *coach,
                          int64_t started_at, int delta);

/*
 * The writer's batch of counts (t->batch_cadence, store_int.h): from
 * cadence_batch_begin() on, cadence_count_session() merges the changes of
 * every record per key, and cadence_flush() reads each touched key once,
 * adds its change and writes it once (a key whose counts reach 0 is
 * deleted), then frees the batch; cadence_batch_discard() frees it
 * unwritten (the attempt ends without a commit). Merging gives the values
 * one record at a time gives: a sum of changes does not depend on their
 * order. Only on a damaged store can they differ (a stored 0 taken down
 * and up again in one batch: one at a time stops at 0 and ends at 1,
 * merged the changes cancel), and verify finds that and --repair counts
 * again. Nothing reads the counts in the batch's transaction before
 * the flush (the engine flushes before a request with a function of its
 * own; the rebuilds flush or drop it first). Writer thread. begin returns
 * 0 or -ENOMEM; flush 0 or a store code.
 */
int cadence_batch_begin(struct store_txn *t);
int cadence_flush(struct store_txn *t);
void cadence_batch_discard(struct store_txn *t);

/* Counts one rep's sessions again from the rep index (after a change of
 * their reporting lines). Write transaction. Returns 0, -EINVAL, -EROFS
 * or a store code. */
int cadence_rebuild_rep(struct store_txn *t, const char *coachee);

/* Counts every session again (a time zone changed, erasure, retention,
 * verify --repair); *sessions (may be NULL) the sessions counted. Write
 * transaction. Returns 0, -EROFS or a store code. */
int cadence_rebuild_txn(struct store_txn *t, uint64_t *sessions);

/* At open (the schema hook): a store from before schema 11 (count set),
 * or whose meta has no "cadence_format" of CADENCE_FORMAT, gets its counts
 * built from the rep index, logged as cadence_format_upgraded, and the
 * format written. Write transaction. Returns 0 or a store code. */
int cadence_format_check(struct store_txn *t, int count);

/* Calls cb for each observed day of the pair in [from_day, until_day] that
 * the counts hold, oldest first. Returns 0, -EINVAL for an id that is
 * NULL, empty or longer than 64 bytes, -EIO or a negative errno. */
typedef void (*cadence_day_cb)(int32_t day, void *arg);
int cadence_pair_counted(struct store_txn *t, const char *coach, const char *coachee,
                         int32_t from_day, int32_t until_day, cadence_day_cb cb, void *arg);

/* Words of a bitmap with one bit per day of [from_day, until_day]
 * (until_day >= from_day). */
#define CADENCE_BITS_WORDS(from_day, until_day)                                                    \
    ((size_t)(((int64_t)(until_day) - (int64_t)(from_day) + 64) / 64))

/*
 * cadence_pair_counted() as a bitmap: bits[0..nwords) cleared, then bit i
 * (bits[i / 64] >> i % 64) set when day from_day + i has an observed
 * session that the counts hold. A block of days costs one OR, not a call
 * per day. coach and coachee borrowed; bits: caller's buffer, written
 * during the call; any transaction and thread. Returns 0, -EINVAL (ids as
 * cadence_pair_counted(), until_day < from_day, nwords below
 * CADENCE_BITS_WORDS()), -EIO or a negative errno; on failure the contents
 * of bits are undefined (not cleared on -EINVAL, partly set after a read
 * error).
 */
int cadence_pair_counted_bits(struct store_txn *t, const char *coach, const char *coachee,
                              int32_t from_day, int32_t until_day, uint64_t *bits, size_t nwords);

/*
 * The pair's coaching days of [from_day, until_day] as cadence_pair_days()
 * gives them, as a bitmap for a reader that needs the days' pattern and
 * their minutes but no list: days[0..nwords) (CADENCE_BITS_WORDS() at
 * least) cleared, then bit i set when from_day + i is a coaching day
 * (observed, imported or both); *minutes the imported minutes of the
 * coaching days in [minutes_from, until_day] with no observed session
 * (what a list's entries with observed 0 hold). Borrowed arguments, any
 * transaction and thread. Returns 0, -EINVAL (bad ids, from_day < 0,
 * until_day < from_day, nwords too small), -EIO or a negative errno; on
 * failure the contents of days and *minutes are undefined (days is not
 * cleared on -EINVAL, and a read error leaves both partly written).
 */
int cadence_pair_bits(struct store_txn *t, const char *coach, const char *coachee, int32_t from_day,
                      int32_t until_day, int32_t minutes_from, uint64_t *days, size_t nwords,
                      uint64_t *minutes);

/* What cadence_verify() found: stored keys, keys counted again from the
 * rep index, keys that differ, sessions counted. */
struct cadence_verify_result {
    uint64_t stored, expected, differences, sessions;
};

/* Compares the stored counts with a count from the records in a write
 * transaction that is kept only with repair (and differences). The count
 * from the records applies the writer's own rule to every session, so it
 * finds counts that drifted from the records, not a fault in that rule;
 * the tests compare the rule with the index walk
 * (cadence_pair_days_walk()), which stays as that reference. Any thread
 * but the server's loop (store_exec()). Returns 0 or a negative code. */
int cadence_verify(struct store *s, int repair, struct cadence_verify_result *out);

enum cadence_commit_kind {
    CADENCE_MINUTES_PER_WEEK = 1, /* value minutes of coaching per week per manager */
    CADENCE_EVERY_WEEKS = 2,      /* every rep coached at least once every value weeks */
};

struct cadence_commit {
    enum cadence_commit_kind kind;
    uint32_t value;
    int64_t set_at_ms;
};

/* Sets (value > 0) the commitment of scope (CADENCE_ORG or a programme id);
 * write transaction. *changed (may be NULL) is 0 when it held the same. */
int cadence_commit_set(struct store_txn *t, const char *scope, const struct cadence_commit *c,
                       int *changed);
/* Removes it; -ENOENT when there was none. */
int cadence_commit_clear(struct store_txn *t, const char *scope);
/* Reads it: 0, or -ENOENT; -EIO for a value that does not decode. */
int cadence_commit_get(struct store_txn *t, const char *scope, struct cadence_commit *out);

/* Calls cb for every commitment in key order (scope borrowed for the
 * call); cb returns 0 to go on, 1 to stop, < 0 to fail. */
typedef int (*cadence_commit_cb)(const char *scope, const struct cadence_commit *c, void *arg);
int cadence_commit_list(struct store_txn *t, cadence_commit_cb cb, void *arg);

/*
 * The commitment that holds for a manager: that of the first programme (in
 * id order) the manager is enrolled in that sets one, else the
 * organisation's. Returns 0 with *out and scope (the key, at least 65
 * bytes), or -ENOENT when none holds.
 */
int cadence_commit_for(struct store_txn *t, const char *manager, struct cadence_commit *out,
                       char *scope, size_t scope_len);

/* Text of a commitment, e.g. "30 minutes a week per manager" or "every rep
 * every 2 weeks", into buf; returns buf. */
const char *cadence_commit_text(const struct cadence_commit *c, char *buf, size_t len);

#endif
