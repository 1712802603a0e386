/*
 * agg: the dashboards' aggregates, maintained in the writer's transaction
 * as observations are stored (architecture.md, "The store").
 *
 * One value per (scope kind, scope id, rubric id, ISO week) in the agg_week
 * database: an AggWeek with every behaviour's count, sum and sum of squares,
 * the input counters (sessions observed, seconds) and the marker counts.
 * Scopes of one observation, all taken on its session date:
 *
 *   AGG_COACH     the front-line manager observed (obs.coach_id)
 *   AGG_LINE      the coach's manager on that day (the second-level manager)
 *   AGG_ORG       the whole organisation, id AGG_ORG_ALL
 *   AGG_OBSERVER  the observer who scored it
 *   AGG_COHORT    every programme cohort the coach is enrolled in,
 *                 id "<programme id>/<cohort id>"
 *   AGG_OBSERVER_COACH  the observer on this coach (severity drift: an
 *                 observer against peers on the same managers; coverage:
 *                 which managers an observer saw), laid out for the
 *                 Observer reliability dashboard: the key is the
 *                 observer's, rubric and week first and the coach last
 *                 (see "Keys" below), so that one range read gives every
 *                 manager an observer saw in a window, and the page costs
 *                 observers x weeks x managers seen, never observers x
 *                 every manager. Format 3 replaced AGG_PAIR (kind 6, id
 *                 "<observer>/<coach>", one point read per observer and
 *                 manager) with it; kind 6 is no longer written.
 *   AGG_OBSERVER_WEEK  what the writer makes of AGG_OBSERVER_COACH from
 *                 format 5 on: one value per observer, rubric and week
 *                 listing every manager the observer scored that week, so
 *                 that the page reads observers x weeks values, not
 *                 observers x weeks x managers (see "Observer-week lists"
 *                 below). An observation's share is still worked out per
 *                 observer and coach (the AGG_OBSERVER_COACH key its
 *                 contribution remembers) and added to its manager's entry
 *                 of the list; no AGG_OBSERVER_COACH value is stored.
 *   AGG_COACH_WEEK  from format 5, beside AGG_COACH (which stays): one
 *                 small fixed-layout value per rubric, week and coach
 *                 observed, holding what the Observer reliability pages
 *                 read of the coach's AGG_COACH value (the observations
 *                 and the ratings summed), keyed week first (scope
 *                 AGG_ORG_ALL, rubric, week, then the coach): the leads'
 *                 page reads a week's coaches as one range of keys, My
 *                 reliability reads the managers it saw by point reads.
 *                 The writer derives it from the AGG_COACH shares of its
 *                 batch (each key written once per commit).
 *   AGG_LINE_COACH  the coach as each manager above them on that day sees
 *                 them, id "<manager>/<coach>", one per manager in the
 *                 chain: a manager's view of a front-line manager holds the
 *                 sessions that were in the manager's line on the session
 *                 date, and no others (dashboards.md, "Reporting-line
 *                 changes")
 *
 * Double coding: when a stored observation has the same coach, coachee and
 * started_at as another observer's counted one, the pair's ratings of the
 * same behaviours (both scored) are compared, and the AGG_OBSERVER value of
 * each of the two observers (in the week of the session) gets the pairs in
 * its 4x4 contingency table pairs[] (row: this observer's score 1..4,
 * column: the peer's). double_coded counts observations, not pairs: an
 * observation with at least one peer adds 1 to its observer's value however
 * many observers scored the session, so double_coded <= observations. An
 * amendment takes its share back like any other contribution. Which records
 * pair is decided by one rule, the same for the writer and the rebuild
 * whatever the arrival order: a session is the first 32 coach-index keys at
 * one coach and start time (id order); an observer's counted record with the
 * smallest id among them represents them for a coachee and rubric; every two
 * representatives of different observers pair.
 *
 * What counts: the latest version of an observation that is not a
 * calibration attempt and whose observer was certified for its rubric on the
 * session date. Not-applicable ratings never count. An amendment takes back
 * exactly what the version it supersedes added (the agg_contrib database
 * remembers the keys each version touched) and adds its own.
 *
 * Dashboards read aggregates with agg_read(): the cost is the number of
 * weeks asked for, never the number of observations. A dashboard part that
 * shows no behaviour reads with agg_read_head() (or agg_read_part() for the
 * weeks it shows none of), which skips them. A reader of many people's
 * moments (the programme dashboard) uses agg_read_slots(), which gives the
 * same figures without building an AggWeek; My coaching's peers are read
 * with agg_read_impact(), from their impact blocks.
 *
 * Keys (agg_week database): u8 scope kind, u8 scope length, the scope, u8
 * rubric id length, the rubric id, the Monday as 4 bytes (keys.h, big-endian
 * days, so weeks sort in order). AGG_OBSERVER_COACH keys (kind 8) have the
 * observer as their scope and end after the week with the coach id (1..64
 * bytes, no length: it is the rest of the key). From format 5 such a key
 * names a share (a contribution's, a batch's delta), not a stored value:
 * the share is the observations and one behaviour with the id AGG_RATED
 * ("*") whose count, sum, sum of squares and proficient are the record's
 * over every behaviour it rated, and it is added to its manager's entry of
 * the observer-week list. Formats 3 and 4 stored it as a value of that
 * key (about 106 bytes), which agg_seen_migrate() folds into lists.
 *
 * Observer-week lists (format 5): an AGG_OBSERVER_WEEK key is an ordinary
 * one (kind 9, the observer as scope, rubric, week); its value is not an
 * AggWeek but a fixed-layout little-endian list, version AGG_SEEN_VERSION:
 *
 *   offset  size  field
 *        0     1  version (AGG_SEEN_VERSION); any other value is refused
 *        1     1  flags, 0
 *        2     4  u32 number of managers (1..2^32-1; a list of none is
 *                 deleted, so 0 is refused as damage)
 *        6   ...  per manager, in id order (strcmp()'s, no repeats): u8 id
 *                 length (1..64), the id (no NUL), u64 observations, and
 *                 the observer's ratings of every behaviour together: u64
 *                 count, u64 sum of scores, u64 sum of squared scores, u64
 *                 proficient (what an AGG_OBSERVER_COACH value held)
 *
 * A manager whose figures add up to nothing is dropped, and a list with
 * none is deleted. The count is a u32 and the figures u64s so that no input
 * can make a list the writer cannot store: an observer who scores any
 * number of managers, or any number of sessions of one manager, in one
 * week (an authorised client may submit as many as it likes) only makes
 * that list longer or its figures larger. agg_read_coached() reads the
 * lists and gives the managers one by one as the AGG_OBSERVER_COACH values
 * were given, so readers are unchanged; at 1M observations an observer's
 * 12 weeks are 12 values of about 200 managers each instead of 2,400
 * values. Severity drift's peer side stays the coach's own AGG_COACH week
 * minus the observer's entry, and My reliability counts a manager-week's
 * other observers from the coach-week value's count (format 8), reading
 * their lists only when that count is damaged: no list holds any other
 * observer's figures.
 *
 * Cumulative lists (format 10): an AGG_OBSERVER_CUM key (kind 13; twin
 * 0x1d) has an observer-week list's layout and is stored for exactly the
 * weeks that have an observer-week list; its value, in the same layout,
 * is the sum of that week's list and every earlier week's of the observer
 * and rubric (agg_cum.c). A window of weeks is the latest one up to its
 * last week minus the latest one before its first
 * (agg_read_window_of()), each list checked to be of the week of the
 * latest week list before the same bound (a list missing, or left at a week
 * without a list, would give other weeks' figures); a pair where the
 * earlier holds a manager or a figure the later lacks is damage, never
 * figures. A list holds every manager of the observer's history, so a read
 * costs what those managers do. The writer makes them
 * again from the earliest week its batch changed, so a back-dated record
 * rewrites every later week's, a live one the latest only.
 *
 * Coach-week values (format 5): an AGG_COACH_WEEK key (kind 10) is an
 * observer-coach key with the organisation as observer: u8 kind, u8 1,
 * AGG_ORG_ALL, u8 rubric id length, the rubric id, the Monday (4 bytes),
 * then the coach id (1..64 bytes, no length: the rest of the key), so a
 * week's coaches sort together in id order. The value, version 1 up to
 * format 7, is 42 bytes little-endian: u8 version, u8
 * flags (0), then the five u64 figures of a list's manager (observations,
 * and the ratings of every behaviour together: count, sum, sum of squares,
 * proficient), what agg_read_rated() of the coach's AGG_COACH value of
 * that week sums to. A coach-week with nothing is deleted. From format 8
 * the value is version 2 (AGG_COACH_WEEK_VERSION), 50 bytes: the same, then a u64 count of the
 * observers whose observer-week list (the same twin) has ratings of the
 * coach that week, kept by the lists' merge (agg_seen.c), so that My
 * reliability counts a cell's other observers without reading their
 * lists. A count above the ratings' count, or of 0 beside ratings, is
 * damage: a reader is told the count is unknown (agg_coach_week_cb).
 *
 * Impact blocks (format 6): an AGG_IMPACT key (kind 11, twin 0x1b) is an
 * AGG_COACH key (or twin) with that kind and, for the week, the first
 * Monday of a block of AGG_IMPACT_WEEKS (16) weeks counted from the Monday
 * 1970-01-05 (agg_impact_block_of()). Its value holds, for each of the
 * block's weeks that has an AGG_COACH value, what a reader of moments
 * (agg_read_slots()) takes from that value: the behaviours' ids once per
 * block instead of once per week, so that Programme impact reads about 5
 * values per manager, not 78 (store/agg_impact.c). Version
 * AGG_IMPACT_VERSION, little-endian:
 *
 *   offset  size  field
 *        0     1  version (AGG_IMPACT_VERSION); any other value is refused
 *        1     1  flags, 0
 *        2     2  u16 week mask: bit k set when the block's k-th week (its
 *                 first Monday + 7k) is stored (never 0: a block with no
 *                 week is deleted)
 *        4     4  u32 number of behaviours nb (the ids of every week's
 *                 behaviours, in the order first met)
 *        8   ...  per behaviour: u8 id length (1..64), the id (no NUL)
 *           ...  per stored week, oldest first: u32 observations, u32
 *                 index_n, f64 index_sum, f64 index_sumsq, u32 mix[15]
 *                 (AGG_NMIX; the mix's counts, not its quality sums), u64
 *                 seconds (from version 2, format 7), then
 *                 per behaviour in the list's order u32 count, u64 sum of
 *                 scores, u64 sum of squared scores (all 0 when the week
 *                 rated it not)
 *
 * A block is made from its weeks' stored AGG_COACH values and nothing
 * else, and never read by the writer: for each block its flush touched,
 * the writer decodes up to 16 AGG_COACH values (after the batch's values
 * are written) and makes the block again, once per agg_flush(), which runs
 * before the commit and before every request with a function in a batch
 * (store.c); the rebuild, and so erasure, retention and zone changes, and
 * the migration of a store of format 4, 5 or 6 make every block (a store
 * already of format 7 is not migrated again). So a manager's block equals
 * what those values make, and agg_verify() checks that of every block. A
 * week whose value does not decode is left out of its block (verify names
 * the value, --repair makes both again), so one damaged value stops
 * neither the migration nor the writer.
 * Its figures are those of one week's AGG_COACH value, which refuses
 * anything past a u32, so no input makes a block the writer cannot store;
 * a manager's weeks are spread over blocks of 16, however many there are.
 * The proficient counts are not kept (no reader of moments uses them).
 *
 * Line-coach blocks (format 7): an AGG_LINE_IMPACT key (kind 12, no twin)
 * is an AGG_LINE_COACH key ("<manager>/<coach>") with that kind and a
 * block's first Monday, and its value is an impact block made the same way
 * from that scope's AGG_LINE_COACH values, with no behaviour (nb 0): My
 * managers' team results read each front-line manager's quarters as the
 * line sees them from 2 or 3 values instead of about 26 weeks, and no
 * reader of that scope needs a behaviour from a block. At most 8 + 16 x 92
 * bytes, so a block stays inline in a leaf. Every week being the same
 * size, the writer patches a line-coach block rather than making it again:
 * each week its flush wrote (or deleted) replaces its slot, the other
 * weeks copied as they are, so a batch reads one week and one block per
 * week it touched (a block missing, or not well formed, or a touched week
 * that does not decode, is made from all its weeks instead). So a
 * line-coach block equals what its weeks make as long as it did before
 * the batch: a week damaged after its block was made keeps its last
 * figures there (the patches of other weeks copy them) until --repair,
 * verify naming the value and the block; the rebuild and the migration
 * leave it out. My managers' cadence takes a
 * manager's observed minutes from the seconds of their AGG_COACH blocks.
 *
 * The stored value (agg_week database), version 1: a fixed-layout,
 * little-endian record, not protobuf, so that the writer reads and writes
 * it without a decoder's allocations:
 *
 *   offset  size  field
 *        0     1  version (AGG_VALUE_VERSION); any other value is refused
 *        1     1  flags: bit 0 set when the 16 pair counts follow the header
 *        2     2  u16 number of behaviours
 *        4    20  u32 observations, index_n, self_assess_n, actions,
 *                 double_coded
 *       24    32  u32 markers[8], by MarkerKind
 *       56     8  u64 seconds
 *       64    24  f64 index_sum, index_sumsq, self_assess_s_sum (IEEE 754)
 *       88   (64) u32 pairs[16] when flags bit 0: (mine-1)*4 + (peer's-1)
 *           (124) the coaching mix when flags bit 1 (AGG_MIX_*): u32 mix[15]
 *                 (sessions by focus, those with a quality index by
 *                 focus, sessions by session type), then f64 mix_q[8] (the
 *                 quality index summed by focus, and its squares)
 *             (8) recorded call reviews when flags bit 7: u32 recordings,
 *                 u32 of them those where the rep commented first (a value
 *                 without the bit has none: no upgrade is needed)
 *             ...  per behaviour: u8 id length (1..64), the id (no NUL),
 *                  u32 count, u32 sum of scores, u32 sum of squared scores,
 *                  u32 proficient (scores are whole numbers 1..4, so the
 *                  sums are exact)
 *
 * A value is only ever written normalised (no negative counter), and a
 * counter that would not fit its u32 refuses the write (-ERANGE). A store
 * whose values are in another format is rebuilt from its records when it
 * is opened (schema upgrade).
 *
 * Contributions (agg_contrib database, one per counted record version,
 * keyed by its id), version 1: u8 version; u8 flags, bit i set when the
 * record's key of the i-th derived kind is there (0 coach: its coach; 1
 * org: "*"; 2 observer: its observer; 3 observer-coach: its observer's
 * AGG_OBSERVER_COACH key of its coach; up to format 2 this bit was the
 * AGG_PAIR key "<observer>/<coach>"; from format 4, bits 4..7 are the
 * assigned twins of bits 0..3, and a cohort's twin is an other key of
 * kind AGG_COHORT_ASG); u8
 * number of other keys; u8 number of peers; then per other key u8 scope
 * kind, u8 form (0: the scope follows; 1: "<what follows>/<coach>", as
 * line-coach scopes are) and u8 length and the bytes; then the peers'
 * 16-byte ids. Every key of one record has the rubric and week of the
 * record's session, so they are not stored: the keys are made again from
 * the record when the contribution is read. What is stored is what the
 * record cannot tell: its line manager, the chain above it and its cohorts
 * on the session date.
 *
 * Files: agg.c (values, weeks, keys, reading), agg_week.c (summing weeks
 * as dashboards read them), agg_record.c (what one
 * record contributes, the double-coding rule), agg_apply.c (the writer's
 * hook), agg_rebuild.c (rebuild and verify), agg_assigned.c (format 4's
 * marking of assigned records), agg_seen.c (the observer-week lists and
 * coach-week values), agg_impact.c (the impact blocks);
 * agg_int.h is what they share.
 * Errors are negative errnos, or the store's STORE_TXN_ABORT() codes that
 * callers inside store/ pass on.
 */
#ifndef COACHQ_AGG_H
#define COACHQ_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"

struct store;
struct store_txn;

enum agg_scope {
    AGG_COACH = 1,
    AGG_LINE = 2,
    AGG_ORG = 3,
    AGG_OBSERVER = 4,
    AGG_COHORT = 5,
    AGG_PAIR = 6, /* up to format 2; no longer written */
    AGG_LINE_COACH = 7,
    AGG_OBSERVER_COACH = 8, /* a share's key only, from format 5 */
    AGG_OBSERVER_WEEK = 9,
    AGG_COACH_WEEK = 10,
    AGG_IMPACT = 11,
    AGG_LINE_IMPACT = 12,  /* from format 7 */
    AGG_OBSERVER_CUM = 13, /* from format 10 */
    /* The assigned twins (AGG_ASSIGNED, below): the same values over the
     * observations that fulfilled an assignment only. */
    AGG_COACH_ASG = 0x11,
    AGG_ORG_ASG = 0x13,
    AGG_OBSERVER_ASG = 0x14,
    AGG_COHORT_ASG = 0x15,
    AGG_OBSERVER_COACH_ASG = 0x18,
    AGG_OBSERVER_WEEK_ASG = 0x19,
    AGG_COACH_WEEK_ASG = 0x1a,
    AGG_IMPACT_ASG = 0x1b,
    AGG_OBSERVER_CUM_ASG = 0x1d,
};

/*
 * The assigned dimension (format 4): a counted observation that fulfilled
 * an assignment of the observation programme (its StoredObservation's
 * "assigned") adds its values a second time, to the twin of each of its
 * AGG_COACH, AGG_ORG, AGG_OBSERVER, AGG_COHORT and AGG_OBSERVER_COACH keys:
 * the same key with the kind byte or'ed with AGG_ASSIGNED (an
 * AGG_OBSERVER_COACH_ASG key has the observer-coach layout). Its double
 * coding (pairs, double_coded) goes to its observer's AGG_OBSERVER_ASG
 * value too, whatever the peer's: agreement of assigned observations with
 * whoever else scored the session. The twins are what the dashboards'
 * assigned-only filter reads (docs/dashboards.md), the unbiased sample:
 * the draw, not the observer, chose whom to observe.
 *
 * Where the bit comes from: the writer sets "assigned" on the stored record
 * when the observation fulfils an assignment (assign_match(), named or
 * matched), and an amendment inherits it from the version it supersedes, so
 * the record says it and a rebuild derives the twins from the records
 * alone. Retention's anonymisation clears the record's assignment_id (the
 * link names the manager) but keeps "assigned", which names nobody; an
 * erased record takes its twins with it like its other values. A
 * double-coded session fulfils one assignment, so only that observer's
 * record is assigned. A store upgraded from format 3 first marks the
 * records of every done assignment (agg_assigned_backfill()), then rebuilds.
 * An amendment learns it from the rules' read of the version it supersedes
 * (rules_amend.assigned): the writer decodes nothing more for it.
 */
#define AGG_ASSIGNED 0x10u
/* True for AGG_OBSERVER_COACH and its twin (the observer-coach layout). */
#define AGG_KIND_COACHED(kind) (((unsigned)(kind) & ~AGG_ASSIGNED) == AGG_OBSERVER_COACH)
/* True for AGG_OBSERVER_WEEK and its twin (an observer-week list). */
#define AGG_KIND_SEEN(kind) (((unsigned)(kind) & ~AGG_ASSIGNED) == AGG_OBSERVER_WEEK)
/* True for AGG_OBSERVER_CUM and its twin (a cumulative list). */
#define AGG_KIND_CUM(kind) (((unsigned)(kind) & ~AGG_ASSIGNED) == AGG_OBSERVER_CUM)
/* True for AGG_COACH_WEEK and its twin (a coach-week value). */
#define AGG_KIND_COACHES(kind) (((unsigned)(kind) & ~AGG_ASSIGNED) == AGG_COACH_WEEK)
/* True for AGG_IMPACT and its twin, and AGG_LINE_IMPACT (an impact block). */
#define AGG_KIND_IMPACT(kind)                                                                      \
    (((unsigned)(kind) & ~AGG_ASSIGNED) == AGG_IMPACT || (unsigned)(kind) == AGG_LINE_IMPACT)

#define AGG_ORG_ALL "*"
/* The one behaviour of an AGG_OBSERVER_COACH value: every rated one. */
#define AGG_RATED "*"
#define AGG_VALUE_VERSION 1
#define AGG_CONTRIB_VERSION 1
#define AGG_SEEN_VERSION 1
#define AGG_COACH_WEEK_VERSION 2
#define AGG_IMPACT_VERSION 2
/* Weeks of an impact block (AGG_IMPACT). */
#define AGG_IMPACT_WEEKS 16
#define AGG_NMARKERS 8 /* MarkerKind values 0..7 */

/* The coaching mix in an AggWeek (mix and mix_q): sessions by focus, those
 * of them with a quality index, and sessions by session type; the quality
 * index summed by focus, and its squares. */
#define AGG_NFOCUS 4 /* CoachingFocus values 0..3 */
#define AGG_NTYPES 7 /* SessionType values 0..6 */
#define AGG_MIX_FOCUS 0
#define AGG_MIX_FOCUS_QN AGG_NFOCUS
#define AGG_MIX_TYPE (2 * AGG_NFOCUS)
#define AGG_NMIX (2 * AGG_NFOCUS + AGG_NTYPES)
#define AGG_MIXQ_SUM 0
#define AGG_MIXQ_SUMSQ AGG_NFOCUS
#define AGG_NMIXQ (2 * AGG_NFOCUS)

/* The format of the aggregates a store holds, kept in its meta database
 * (key "agg_format"): a store opened with another one has its aggregates
 * rebuilt from its records (agg_format_check()). 2 adds the coaching mix;
 * 3 replaces AGG_PAIR by AGG_OBSERVER_COACH (a contribution's derived bit 3
 * is now the observer-coach key); 4 adds the assigned twins (AGG_ASSIGNED;
 * contribution bits 4..7 are the twins of bits 0..3); 5 stores the
 * observer-week lists (AGG_OBSERVER_WEEK) instead of AGG_OBSERVER_COACH
 * values, and adds the coach-week values (AGG_COACH_WEEK): a store of format
 * 4 has its values folded into lists when opened (the records are not
 * read), an older one is rebuilt; 6 adds the impact blocks (AGG_IMPACT),
 * made when a store of format 4 or 5 is opened from its AGG_COACH values
 * (the records are not read); 7 adds each week's session seconds to the
 * impact blocks (version 2) and the line-coach blocks (AGG_LINE_IMPACT),
 * made when a store of format 4 to 6 is opened from its AGG_COACH and
 * AGG_LINE_COACH values (the records are not read); 8 adds to each
 * coach-week value the number of observers with ratings of its coach that
 * week (version 2), counted from the observer-week lists when a store of
 * format 4 to 7 is opened (the records are not read); 9 was never
 * released (no store holds it); 10 adds the observers' cumulative lists
 * (AGG_OBSERVER_CUM, agg_cum.c), made from the observer-week lists when a
 * store of format 4 to 8 is opened (the records are not read). Each step
 * is its own function in agg_rebuild.c, run one after another. */
#define AGG_FORMAT 10

/* The Monday (a day number, days since 1970-01-01) of the ISO week that day
 * falls in. */
int32_t agg_week_of(int32_t day);

/* Writes "2026-W47" (ISO year and week of the week starting on Monday
 * monday) into buf (size >= 9). Returns buf. */
const char *agg_week_label(int32_t monday, char *buf, size_t len);

/*
 * Writer hook (agg_apply.c): called by the store's observation hook
 * (obs_apply.c) for every observation version it stores,
 * inside the batch's write transaction, after the record is put. rec is the
 * stored record (version, root_id and observer_id set); prev_id is the id of
 * the version it supersedes (NULL for an original). Adds rec's contribution
 * (if it counts, see above) and takes back prev_id's. Returns 0, or a code
 * for the store to pass on (STORE_TXN_ABORT() for LMDB failures).
 */
int agg_observation(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                    const uint8_t *prev_id);

/*
 * The batch's end (store.h, store_flush_cb): agg_observation() leaves its
 * value deltas in t->batch, merged across the batch; agg_flush() reads each
 * touched value once, adds its delta, writes it once and frees t->batch
 * (returns 0 or a STORE_TXN_ABORT() code); agg_batch_discard() frees it
 * unwritten when the attempt ends without a commit.
 */
int agg_flush(struct store_txn *t);
void agg_batch_discard(struct store_txn *t);

/*
 * Whether rec counts in the aggregates (see above: not a calibration
 * attempt, observer certified for its rubric on the session date), in a
 * transaction of the caller's. Sets *yes; returns 0 or a negative code.
 * Anything that shows records beside the aggregates (a dashboard's recent
 * observations) uses this, so the two cannot disagree.
 */
int agg_counts(struct store_txn *t, const Coachq__V1__StoredObservation *rec, int *yes);

/*
 * Calls cb for every week with a value of (kind, scope_id, rubric_id) whose
 * Monday lies in [from_monday, until_monday] (any day stands for its week),
 * oldest first (w borrowed for
 * the call; cb returns 0 to go on, 1 to stop, < 0 to fail with that code).
 * Any transaction. Returns 0 or a negative code.
 */
typedef int (*agg_cb)(int32_t monday, const Coachq__V1__AggWeek *w, void *arg);
int agg_read(struct store_txn *t, enum agg_scope kind, const char *scope_id, const char *rubric_id,
             int32_t from_monday, int32_t until_monday, agg_cb cb, void *arg);

/*
 * agg_read() for callers that use only a value's header and blocks (the
 * counters and sums, markers, pairs, the coaching mix, recordings), never
 * its behaviours: w has none (n_behaviours 0). Each value's behaviour list
 * is walked and checked but not copied into w, so a value agg_read()
 * refuses this refuses too (-EIO). Arguments, ownership and
 * thread as agg_read()'s.
 */
int agg_read_head(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                  const char *rubric_id, int32_t from_monday, int32_t until_monday, agg_cb cb,
                  void *arg);

/*
 * agg_read() with the behaviours read only for the weeks whose Monday lies
 * in [beh_from, beh_until] (any day stands for its week; beh_from >
 * beh_until: none, as agg_read_head()); the other weeks come as
 * agg_read_head() gives them. For a page that shows behaviours over part
 * of the weeks it reads. Otherwise as agg_read().
 */
int agg_read_part(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                  const char *rubric_id, int32_t from_monday, int32_t until_monday,
                  int32_t beh_from, int32_t beh_until, agg_cb cb, void *arg);

/* Caller's behaviour ids agg_read_slots() matches at most. */
#define AGG_SLOT_IDS_MAX 64u

/* One behaviour of a value as agg_read_slots() gives it: its stored
 * figures and the index of its id in the caller's ids (the position the
 * value lists it at first, then the first equal id; -1 when none). */
struct agg_slot_beh {
    int slot;
    uint64_t count;
    double sum;
    double sumsq;
    uint64_t proficient;
};

/* One week as agg_read_slots() gives it: the figures a reader of moments
 * uses, equal to the AggWeek agg_read_part() would give (a value without
 * a coaching mix has mix all zero), and the behaviours in stored order
 * (none for the weeks outside the behaviours' window). */
struct agg_slots {
    uint64_t observations;
    uint64_t index_n;
    double index_sum;
    double index_sumsq;
    uint64_t mix[AGG_NMIX];
    uint64_t seconds;
    size_t nb;
    const struct agg_slot_beh *b;
};

typedef int (*agg_slots_cb)(int32_t monday, const struct agg_slots *w, void *arg);

/*
 * agg_read_part() for readers of moments (the programme dashboard reads
 * every front-line manager's weeks, My coaching its peers'): each value is read straight from its
 * stored bytes into w, with no AggWeek to fill, and each behaviour comes
 * with the index of its id among ids[0..nids) (borrowed for the call, at
 * most AGG_SLOT_IDS_MAX, no NULL), so the caller needs no string
 * comparison of its own. A value agg_read_part() refuses this refuses too
 * (-EIO). w is borrowed for the call; cb, arguments otherwise, ownership
 * and thread as agg_read_part()'s. Returns 0, -EINVAL for more ids than
 * AGG_SLOT_IDS_MAX, -ENOMEM or a negative code.
 */
int agg_read_slots(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                   const char *rubric_id, int32_t from_monday, int32_t until_monday,
                   int32_t beh_from, int32_t beh_until, const char *const *ids, size_t nids,
                   agg_slots_cb cb, void *arg);

/* The first Monday of the impact block (AGG_IMPACT_WEEKS weeks) that day
 * falls in. */
int32_t agg_impact_block_of(int32_t day);

/*
 * agg_read_slots() of kind AGG_COACH (or AGG_COACH_ASG) from the impact
 * blocks (AGG_IMPACT): the same weeks with the same figures, except that
 * every week in the behaviours' window lists every behaviour of its block
 * (those it has none of with zero figures) and proficient is always 0.
 * For the programme dashboard, which reads every front-line manager's 78
 * weeks: a value per 16 weeks instead of one per week. Of kind
 * AGG_LINE_COACH (coach "<manager>/<coach>") from the line-coach blocks
 * (AGG_LINE_IMPACT), which have no behaviour: every week comes with none.
 * Arguments, ownership, thread and result as agg_read_slots()'s; -EINVAL
 * for another kind.
 */
int agg_read_impact(struct store_txn *t, enum agg_scope kind, const char *coach,
                    const char *rubric_id, int32_t from_monday, int32_t until_monday,
                    int32_t beh_from, int32_t beh_until, const char *const *ids, size_t nids,
                    agg_slots_cb cb, void *arg);

/*
 * agg_read() for callers that use the ratings of every behaviour together
 * (an observer's or a manager's mean score), never one behaviour: w has
 * one behaviour, id AGG_RATED, whose count, sum, sum of squares and
 * proficient are summed over all of the value's (none when it has none),
 * as an AGG_OBSERVER_COACH value has. The sums are of whole numbers, so
 * exactly what the caller would get summing agg_read()'s behaviours. A
 * value agg_read() refuses this refuses too. Arguments, ownership and
 * thread as agg_read()'s.
 */
int agg_read_rated(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                   const char *rubric_id, int32_t from_monday, int32_t until_monday, agg_cb cb,
                   void *arg);

/*
 * Calls cb for every manager the observer scored in a week of the rubric
 * in [from_monday, until_monday] (the AGG_OBSERVER_COACH share of that
 * observer, week and manager), by week and, within a week, by coach id
 * (coach and w borrowed for the call; cb as agg_read()'s). w has the
 * observations and, when there are ratings, one behaviour AGG_RATED with
 * their count, sum, sum of squares and proficient; nothing else. One range
 * read of the observer-week lists (agg_seen.c): the values read are the
 * weeks in the window, the callbacks the managers seen each week. Returns
 * 0, -EIO for a list or key that is not well formed, or a negative code.
 */
typedef int (*agg_coached_cb)(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w,
                              void *arg);
int agg_read_coached(struct store_txn *t, const char *observer, const char *rubric_id,
                     int32_t from_monday, int32_t until_monday, agg_coached_cb cb, void *arg);

/* Calls cb once with each observer who holds an observer-week list
 * (AGG_OBSERVER_WEEK) of any rubric and week, whatever their role today,
 * in key order (by id length, then id); a key no list can have is skipped.
 * Walks every list key: for readers that cannot use the coach-week counts
 * (a damaged count). cb returns 0 to go on, 1 to stop, or a negative
 * code to stop with it. t is borrowed for the call, the id only during cb,
 * on the transaction's thread. Returns 0, cb's negative code, or a
 * negative code. */
int agg_read_listed(struct store_txn *t, int (*cb)(const char *observer, void *arg), void *arg);

/* The same, of AGG_OBSERVER_WEEK_ASG (the assigned twins) when assigned
 * is set. */
int agg_read_coached_of(struct store_txn *t, int assigned, const char *observer,
                        const char *rubric_id, int32_t from_monday, int32_t until_monday,
                        agg_coached_cb cb, void *arg);

/* An observer's window of the weeks from_monday to until_monday (any day
 * of a week stands for it) of the rubric, of the assigned twins when
 * assigned is set: cb once per manager the observer has figures of in the
 * window, in id order, with the figures summed over the window's weeks
 * and the Monday of the window's last week with a list. Reads two of the
 * observer's cumulative lists (AGG_OBSERVER_CUM, format 10) whatever the
 * window's length: the one at its last week minus the latest before its
 * first. Each list holds every manager the observer has rated in the
 * store's history, so the cost is bounded by those managers, not by the
 * window's weeks or the weeks stored. Each of the two is checked against the keys of the week lists
 * (AGG_OBSERVER_WEEK or twin): the latest week list before the same bound
 * must be of its week, or both none. cb returns 0 to go on, 1 to stop, or a
 * negative code to stop with it. t is borrowed for the call, the id and w
 * only during cb, on the transaction's thread. Returns 0, cb's negative
 * code, -EIO for a cumulative list or pair of lists no sound store holds (a
 * list that does not decode, a key of the prefix that is not a list's, a
 * list missing at a week with a week list or left at one without, or an
 * earlier list with a manager or figure the later one lacks: logged, never
 * given as figures), or a negative code. */
int agg_read_window_of(struct store_txn *t, int assigned, const char *observer,
                       const char *rubric_id, int32_t from_monday, int32_t until_monday,
                       agg_coached_cb cb, void *arg);

/*
 * Calls cb for every coach observed in a week of the rubric in
 * [from_monday, until_monday] with their AGG_COACH figures of that week
 * (the AGG_COACH_ASG twin's when assigned is set), by week and, within a
 * week, by coach id: w as agg_read_coached() gives it (the observations
 * and one behaviour AGG_RATED, what agg_read_rated() of the coach's value
 * sums to). One range read of the coach-week values (AGG_COACH_WEEK): a
 * value per coach and week. Arguments, ownership, thread and result as
 * agg_read_coached().
 */
int agg_read_coaches(struct store_txn *t, int assigned, const char *rubric_id, int32_t from_monday,
                     int32_t until_monday, agg_coached_cb cb, void *arg);

/* A coach-week's figures as agg_coached_cb gives them, and raters, the
 * number of observers with ratings of the coach that week (format 8), or
 * -1 when the stored count is damaged (above the ratings, or 0 beside
 * some): a reader must then count from the observers' lists or suppress. */
typedef int (*agg_coach_week_cb)(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w,
                                 int64_t raters, void *arg);

/*
 * agg_read_coaches() for the coaches[0..ncoaches) only (borrowed for the
 * call; ids of 1..64 bytes in strcmp()'s order, no repeats): a point read
 * per week and coach, in the same order (by week, then coach id), so the
 * cost is the coaches asked for, never the organisation's; cb also gets
 * each value's count of observers with ratings. Returns 0, -EINVAL for ids
 * not so given, -EIO for a value not well formed, or a negative code;
 * otherwise as agg_read_coaches().
 */
int agg_read_coach_weeks(struct store_txn *t, int assigned, const char *rubric_id,
                         const char *const *coaches, size_t ncoaches, int32_t from_monday,
                         int32_t until_monday, agg_coach_week_cb cb, void *arg);

/* True if rec fulfilled an assignment (its "assigned", see AGG_ASSIGNED). */
int agg_record_assigned(const Coachq__V1__StoredObservation *rec);

/* Marks every version of the observation each done assignment names as
 * assigned, rewriting the records that were not: a format-3 store's records
 * did not say it. A record anonymised before the upgrade is not marked (its
 * assignment_id and its assignment's link are gone). In the caller's write
 * transaction. Returns 0 or a store code; *marked gets the records
 * rewritten. */
int agg_assigned_backfill(struct store_txn *t, uint64_t *marked);

/* Adds src into dst (behaviours matched by id, appended when new). dst's
 * arrays are malloc'ed and grow; free with agg_week_clear(). Returns 0 or
 * -ENOMEM. For dashboards that sum weeks or scopes. */
int agg_week_add(Coachq__V1__AggWeek *dst, const Coachq__V1__AggWeek *src);

/* The part of agg_week_add() that allocates nothing: dst's counters, sums,
 * markers and pairs += src's (the arrays up to dst's lengths, which the
 * caller has grown to src's). For dashboards that sum weeks with their own
 * allocator. */
void agg_week_add_counts(Coachq__V1__AggWeek *dst, const Coachq__V1__AggWeek *src);
void agg_week_clear(Coachq__V1__AggWeek *w);

/* One difference found by agg_verify(): the key as text ("coach/flm.a/
 * coaching-conversation/2026-W47") and what differs, for a person. */
typedef void (*agg_diff_cb)(const char *key, const char *what, void *arg);

struct agg_verify_result {
    uint64_t observations; /* records read */
    uint64_t counted;      /* of which counted in aggregates */
    uint64_t keys;         /* aggregate values stored (each compared) */
    uint64_t differences;  /* keys missing, extra or different */
};

/*
 * Rebuilds every aggregate from the records in one read transaction and
 * compares with what is stored; cb (may be NULL) gets each difference.
 * With repair set, replaces the stored aggregates by the rebuilt ones in one
 * write transaction (store_exec(); not on the server's loop thread).
 * Returns 0 (compare done; differences may be non-zero) or a negative code.
 */
int agg_verify(struct store *s, int repair, agg_diff_cb cb, void *arg,
               struct agg_verify_result *out);

/* Deletes every aggregate and rebuilds them from the records, in the
 * caller's write transaction (used when a store is upgraded from a schema before 4). */
int agg_rebuild_txn(struct store_txn *t);

/* At every open, in the caller's write transaction: a store whose
 * aggregates are of another format than AGG_FORMAT (meta "agg_format") and
 * that holds any has them rebuilt from its records (unless rebuilt is set:
 * the caller just did), then the format is recorded. Returns 0 or a
 * STORE_TXN_ABORT() code. */
int agg_format_check(struct store_txn *t, int rebuilt);

#endif
