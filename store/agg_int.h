/*
 * agg_int: what the files of the aggregates module share and nothing else
 * may see (agg.h is the module's interface):
 *
 *   agg.c          values (struct agg_val), weeks, keys, maps of keys to
 *                  values, and reading (agg_read(), agg_week_add())
 *   agg_record.c   what one record contributes: its values and keys, its
 *                  contribution record, and the double-coding rule
 *   agg_apply.c    the writer's hook, agg_observation()
 *   agg_rebuild.c  rebuild and verify from the records
 *
 * The same agg_record.c functions compute a record's values for the writer
 * and for a rebuild, so a rebuilt store equals an incrementally maintained
 * one.
 *
 * Ownership: a struct agg_val, agg_map, agg_contrib or agg_session is the
 * caller's, usually on its stack, and owns what it points to; free it with
 * its _free function (safe on a zeroed one). Records read into a session
 * are the session's. Functions that take a struct store_txn run inside it
 * (store_int.h); errors are negative errnos (-ENOMEM, -EIO for a stored
 * value that does not decode) or STORE_TXN_ABORT() codes to pass on.
 */
#ifndef COACHQ_AGG_INT_H
#define COACHQ_AGG_INT_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "coachq.pb-c.h"
#include "keys.h"
#include "store.h"
#include "validate.h"

/* kind, len + "<id>/<id>", len + rubric id, week. */
#define AGG_SCOPE_MAX (2 * VALIDATE_MAX_ID + 1)
#define AGG_KEY_MAX (1 + 1 + AGG_SCOPE_MAX + 1 + VALIDATE_MAX_ID + 4)
#define AGG_NPAIRS 16

_Static_assert(AGG_KEY_MAX <= KEYS_BUF_MAX, "an aggregate key fits a keys_buf");

/* ---- agg.c ------------------------------------------------------------- */

struct agg_beh {
    char id[VALIDATE_MAX_ID + 1];
    int64_t count;
    double sum;
    double sumsq;
    int64_t proficient;
};

struct agg_val {
    struct agg_beh *b; /* malloc'ed, nb used of capb */
    size_t nb;
    size_t capb;
    /* Behaviours at the start of b whose ids are whole strings, left by a
     * decode that did not read them all (AGG_DECODE_HEAD or _RATED), so
     * that the next full decode of the same rubric keeps them. */
    size_t nb_ids;
    int64_t observations;
    int64_t seconds;
    int64_t markers[AGG_NMARKERS];
    int64_t index_n;
    double index_sum;
    double index_sumsq;
    int64_t self_n;
    double self_s;
    int64_t actions;
    int64_t double_coded;
    int64_t pairs[AGG_NPAIRS];
    int64_t mix[AGG_NMIX];   /* the coaching mix (agg.h, AGG_MIX_*) */
    double mix_q[AGG_NMIXQ]; /* its quality sums by focus */
    /* Recorded call reviews, and those where the rep commented first
     * (agg.h, flags bit 7). */
    int64_t rec_n;
    int64_t rec_rep_first;
};

/* Frees v's behaviours and zeroes it. */
void agg_val_free(struct agg_val *v);

/* Zeroes v, keeping its behaviour array for reuse. */
void agg_val_clear(struct agg_val *v);

/* The behaviour id of v, appended (zeroed) when v has none yet; NULL when
 * out of memory. Borrowed until v changes. */
struct agg_beh *agg_val_beh(struct agg_val *v, const char *id);

/* dst += sign * src. Returns 0 or -ENOMEM. */
int agg_val_add(struct agg_val *dst, const struct agg_val *src, int sign);

/* Drops behaviours that no longer count and the sums of counters that are
 * back at zero (a subtraction of floating-point sums leaves dust), and
 * clamps negative counters, which only a damaged value can produce (verify
 * repairs it). Returns 1 if the value is empty. */
int agg_val_normalise(struct agg_val *v, const uint8_t *key, size_t klen);

/* The stored value of v (agg.h, "The stored value"): its size, and v
 * encoded into out, which has exactly that size. Returns 0, -EINVAL (len is
 * not the size), or -ERANGE for a counter a normalised value cannot hold. */
size_t agg_val_size(const struct agg_val *v);
int agg_val_encode(const struct agg_val *v, uint8_t *out, size_t len);

/* Sets v from the stored value p[0..n), reusing v's behaviour array (v is
 * the caller's, zeroed or decoded into before; free with agg_val_free()).
 * Returns 0, -EIO for a value that is not a well-formed one of this
 * version, or -ENOMEM. */
int agg_val_decode(struct agg_val *v, const uint8_t *p, size_t n);

/* What agg_val_decode_part() makes of the behaviours: every one
 * (agg_val_decode()); none (v->nb 0: agg_read_head()); or their sum, one
 * behaviour with the id AGG_RATED holding the count, sum, sum of squares
 * and proficient over all of them, none when the value has none (the shape
 * of an AGG_OBSERVER_COACH value: agg_read_rated()). */
#define AGG_DECODE_HEAD 0
#define AGG_DECODE_ALL 1
#define AGG_DECODE_RATED 2

/* agg_val_decode() with the behaviours as how says (AGG_DECODE_*).
 * Everything else is set alike, and the behaviour list is checked as
 * agg_val_decode() checks it whatever how says: a value one refuses the
 * others refuse. */
int agg_val_decode_part(struct agg_val *v, const uint8_t *p, size_t n, int how);

/* Puts v under key in the aggregates database, encoded in place. Returns 0,
 * a STORE_TXN_ABORT() code, or agg_val_encode()'s. Writer thread. */
int agg_val_put(struct store_txn *t, const uint8_t *key, size_t klen, const struct agg_val *v);

/* An AggWeek that points into a struct agg_val and into the arrays here,
 * for dashboards (agg_read()). Zero it before first use; it grows with
 * agg_week_view_fit() and is reused from value to value. */
struct agg_week_view {
    Coachq__V1__AggWeek w;
    Coachq__V1__AggBehaviour *bs;
    Coachq__V1__AggBehaviour **bp;
    size_t cap;
    uint64_t markers[AGG_NMARKERS];
    uint64_t pairs[AGG_NPAIRS];
    uint64_t mix[AGG_NMIX];
    double mix_q[AGG_NMIXQ];
};

/* Makes room for nb behaviours. Returns 0 or -ENOMEM. */
int agg_week_view_fit(struct agg_week_view *wv, size_t nb);

/* Points wv at v (borrowed while wv is used); wv must fit v's behaviours. */
void agg_week_view_set(struct agg_week_view *wv, const struct agg_val *v);

void agg_week_view_free(struct agg_week_view *wv);

/* Builds the key of (kind, scope, rubric) and, if with_week, the week that
 * starts on monday. */
int agg_key(struct keys_buf *k, unsigned kind, const char *scope, const char *rubric, int with_week,
            int32_t monday);

/* Builds the AGG_OBSERVER_COACH key of observer, rubric, the week that
 * starts on monday and coach (agg.h, "Keys"). Returns 0 or -EINVAL. */
int agg_key_coached(struct keys_buf *k, const char *observer, const char *rubric, int32_t monday,
                    const char *coach);

/* The same with the kind byte kind (AGG_OBSERVER_COACH or its twin). */
int agg_key_coached_of(struct keys_buf *k, unsigned kind, const char *observer, const char *rubric,
                       int32_t monday, const char *coach);

/* Writes "coach/flm.a/coaching-conversation/2026-W47" for a key
 * ("observer-coach/obs.a/coaching-conversation/2026-W47/flm.a" for an
 * AGG_OBSERVER_COACH one). */
void agg_key_text(const uint8_t *key, size_t klen, char *out, size_t outlen);

struct agg_ent {
    uint8_t key[AGG_KEY_MAX];
    size_t klen;
    uint64_t hash; /* of key, for the map's growth (agg.c) */
    struct agg_val v;
    int seen;   /* verify: a stored value matched it */
    int listed; /* verify: its coach-week value (AGG_COACH_WEEK) is stored */
};

/* A bump allocator for a map's entries: blocks freed all at once. */
struct agg_arena_block;
struct agg_arena {
    struct agg_arena_block *head;
};

/* Frees every block of a (the arena itself is the caller's). */
void agg_arena_free(struct agg_arena *a);

struct agg_map {
    struct agg_ent **slot;
    size_t cap; /* power of two, or 0 */
    size_t n;
    struct agg_arena *arena; /* the entries' memory; NULL: malloc, one each */
};

/* Frees every entry (their values; the entries themselves unless they are
 * in m->arena, which stays the caller's) and the slots of m. */
void agg_map_free(struct agg_map *m);

/* The entry of key in m (borrowed while m lives), or NULL. */
struct agg_ent *agg_map_find(const struct agg_map *m, const uint8_t *key, size_t klen);

/* Adds sign * v to key's entry in m, made on first use. Returns 0 or
 * -ENOMEM. */
int agg_map_add(struct agg_map *m, const uint8_t *key, size_t klen, const struct agg_val *v,
                int sign);

/* ---- agg_record.c ------------------------------------------------------ */

/* A list of keys (own values) and peer ids, as an AggContribution holds. */
/* What the keys of a record's contribution that follow from the record
 * itself are made of: its coach, observer, rubric and week (agg.h, "The
 * stored contribution"). */
struct agg_basis {
    char coach[VALIDATE_MAX_ID + 1];
    char observer[VALIDATE_MAX_ID + 1];
    char rubric[VALIDATE_MAX_ID + 1];
    int32_t monday;
    int set;
};

/* Sets b from rec, its week in its coach's zone (zone.h) as of t (b->set
 * stays 0 when rec lacks what the keys need). Returns 0 or a store code. */
int agg_basis_of(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                 struct agg_basis *b);

struct agg_contrib {
    uint8_t id[KEYS_UUID_LEN];
    struct agg_basis basis; /* of the record the keys are for */
    struct keys_buf *keys;
    size_t nkeys;
    size_t capkeys;
    uint8_t (*peers)[KEYS_UUID_LEN];
    size_t npeers;
    size_t cappeers;
    int dirty;
};

/* Frees c's lists (c itself is the caller's). */
void agg_contrib_free(struct agg_contrib *c);

/* Adds a peer, keeping the list sorted and without repeats. */
int agg_contrib_add_peer(struct agg_contrib *c, const uint8_t id[KEYS_UUID_LEN]);

/* Takes a peer out of c's list, if it is there. */
void agg_contrib_del_peer(struct agg_contrib *c, const uint8_t id[KEYS_UUID_LEN]);

/* Reads id's stored contribution into c (empty if there is none); rec is
 * the record id names (its keys are made from it; NULL when it could not
 * be read, and then a contribution with keys is -ENOENT). */
int agg_contrib_load(struct store_txn *t, const uint8_t id[KEYS_UUID_LEN],
                     const Coachq__V1__StoredObservation *rec, struct agg_contrib *c);

/* Puts c, or deletes it when it holds nothing. -EINVAL for keys not made
 * from c->basis. */
int agg_contrib_write(struct store_txn *t, const struct agg_contrib *c);

/* True if r has what the aggregates read (observation, ids, observer). */
int agg_record_ok(const Coachq__V1__StoredObservation *r);

/* The values one counted observation adds to each of its keys. */
int agg_record_values(const Coachq__V1__Observation *o, struct agg_val *v);

/*
 * The keys a counted observation adds its values to, in a fixed order.
 * Cohorts: the programmes are few (a handful per deployment), so rather
 * than an index by person the coach's enrolment is read once per programme
 * (one point read each, keyed programme + person).
 */
int agg_record_keys(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                    struct agg_contrib *c);

/* Adds sign to the double-coded observations of rec's observer in the week
 * of its session. An observation counts once while it has at least one
 * peer, however many observers scored the session, so an observer's share
 * of double-coded observations can never exceed 1. */
int agg_dc_value(struct store_txn *t, struct agg_map *m, const Coachq__V1__StoredObservation *rec,
                 int sign);

/* Adds sign * the double coding of a with b to m: each observer's value
 * gets the pairs of their common scores (the double-coded count is
 * agg_dc_value()'s, once per observation, not once per pair). */
int agg_pair_values(struct store_txn *t, struct agg_map *m, const Coachq__V1__StoredObservation *a,
                    const Coachq__V1__StoredObservation *b, int sign);

/* Reads a record by id (caller owns *out). */
int agg_record_read(struct store_txn *t, const uint8_t id[KEYS_UUID_LEN],
                    Coachq__V1__StoredObservation **out);

/*
 * The double-coding rule, one for the writer and the rebuild, so that a
 * store kept record by record equals one rebuilt from the records whatever
 * order they arrived in (issue 10, "verify fails after crowded sessions"):
 *
 * - A session's records are the first AGG_SESSION_KEYS keys of the coach
 *   index at one coach and start time, in id order (which is key order),
 *   read from the current state of the store. This bounds every list and
 *   every write's work; a session scored by more records than that is not
 *   a real one.
 * - Among them, the counted records of one coachee and rubric from one
 *   observer are represented by the one with the smallest id: scoring a
 *   session twice is not double coding.
 * - Every two representatives of different observers are a pair.
 *
 * A contribution's peer list thus holds at most AGG_SESSION_KEYS - 1 ids.
 * The writer re-derives the pairs of the session it touched and applies the
 * difference with the pairs stored; the rebuild derives them afresh.
 */
#define AGG_SESSION_KEYS 32

/* The records of one session, as agg_session_load() reads them. */
struct agg_session {
    /* The first AGG_SESSION_KEYS + 1 records in key order: the one past the
     * window may have been pushed out by the write and must lose its
     * pairs. */
    Coachq__V1__StoredObservation *rec[AGG_SESSION_KEYS + 1];
    int counts[AGG_SESSION_KEYS + 1];
    size_t n;
    uint8_t ids[AGG_SESSION_KEYS + 1][KEYS_UUID_LEN];
    size_t nids;
    /* The records' memory: one block, made on the first load and reused
     * by every later load into s, and malloc for what does not fit. */
    unsigned char *mem;
    size_t mem_used;
    size_t spilled; /* allocations outside mem since the last load */
};

/* Frees the records s holds and its memory. */
void agg_session_free(struct agg_session *s);

/* Frees the records s holds, keeping its memory for the next load. */
void agg_session_clear(struct agg_session *s);

/* Reads the session of coach at started_at (see above) into s. */
int agg_session_load(struct store_txn *t, const char *coach, int64_t started_at,
                     struct agg_session *s);

/* The same, for the writer's pairs: a session of one index key at most has
 * no pair to make or take back, so its record is not read (s->n stays 0,
 * s->nids is 0 or 1). */
int agg_session_load_pairs(struct store_txn *t, const char *coach, int64_t started_at,
                           struct agg_session *s);

/* True if records i and j of s are a double-coding pair. */
int agg_session_paired(const struct agg_session *s, size_t i, size_t j);

/* Where id lies in s, or s->n. */
size_t agg_session_find(const struct agg_session *s, const uint8_t id[KEYS_UUID_LEN]);

/* ---- agg_seen.c -------------------------------------------------------- */

/* One manager of an observer-week list (AGG_OBSERVER_WEEK, agg.h). */
struct agg_seen_ent {
    char coach[VALIDATE_MAX_ID + 1];
    size_t clen;
    int64_t observations;
    int64_t count; /* ratings, every behaviour together */
    int64_t sum;
    int64_t sumsq;
    int64_t proficient;
    /* Of a coach-week value only (format 8): the observers with ratings of
     * the coach that week; 0 in a list's entry. */
    int64_t raters;
};

/* A list, its managers in id order (malloc'ed, n used of cap). */
struct agg_seen {
    struct agg_seen_ent *e;
    size_t n;
    size_t cap;
};

void agg_seen_free(struct agg_seen *l);

/* Sets l from the stored list p[0..n), reusing l's array. Returns 0, -EIO
 * for bytes that are not a well-formed list of this version, or -ENOMEM. */
int agg_seen_decode(struct agg_seen *l, const uint8_t *p, size_t n);

/* Puts l under key, or deletes key when l is empty. Returns 0, -ERANGE for
 * a negative figure (a normalised list holds none), or a STORE_TXN_ABORT()
 * code; the number of managers is a u32 and the figures u64s, which no
 * input reaches. Writer thread. */
int agg_seen_put(struct store_txn *t, const uint8_t *key, size_t klen, const struct agg_seen *l);

/* The observer-week list key of an AGG_OBSERVER_COACH (or twin) key into
 * out (AGG_KEY_MAX bytes): its bytes up to the coach, with the list's kind;
 * *plen its length, which is also where the coach starts in key. Returns 0
 * or -EINVAL for a key not of that form. */
int agg_seen_key(const uint8_t *key, size_t klen, uint8_t *out, size_t *plen);

/*
 * Adds the shares among ents[0..n) that feed a list or a coach-week value
 * (AGG_OBSERVER_COACH keys and twins: their observer's week list;
 * AGG_COACH keys and twins: their coach-week value, AGG_COACH_WEEK) to
 * what is stored: each list or value read once and written once (deleted
 * when it adds up to nothing). For the writer's flush. Returns 0 or a code
 * for the store to pass on.
 */
int agg_seen_write(struct store_txn *t, struct agg_ent *const *ents, size_t n);

/* The same for every entry of m, for a rebuild (the store holds no list
 * yet). */
int agg_seen_write_map(struct store_txn *t, const struct agg_map *m);

/* The AGG_OBSERVER_COACH key (or twin) of the share an observer-week
 * list's manager e stands for into out (AGG_KEY_MAX bytes), *olen its
 * length. Returns 0 or -EINVAL for a list key not of its kind's form. */
int agg_seen_share_key(const uint8_t *lkey, size_t llen, const struct agg_seen_ent *e, uint8_t *out,
                       size_t *olen);

/* A stored coach-week value (AGG_COACH_WEEK or twin; key and val borrowed)
 * read for verify: the AGG_COACH key (or twin) it mirrors into share
 * (AGG_KEY_MAX bytes, *slen its length) and its coach and figures into e.
 * Returns 0, or -EIO for a key or value not of that form. */
int agg_coach_week_share(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         uint8_t *share, size_t *slen, struct agg_seen_ent *e);

/* The cumulative list key (AGG_OBSERVER_CUM or twin) of an observer-week
 * list key (kind, observer, rubric, week) into out (AGG_KEY_MAX bytes);
 * *glen the length of its prefix before the week. Returns 0 or -EINVAL for
 * a key not of a list's form. */
int agg_cum_key(const uint8_t *key, size_t klen, uint8_t *out, size_t *glen);

/* Makes again the cumulative lists of the observer and rubric of the
 * observer-week list key lkey (borrowed), from the week from_monday on:
 * the latest cumulative list before it plus each week list in turn, one
 * cumulative list per week list, and none for a week without one. A
 * cumulative list before from_monday that is damaged, not of the latest
 * week with a list before it (one missing or left behind), or whose figures
 * would pass an int64_t with the next week's is not built on (every week is
 * made again from the first); a damaged week list, or one whose figures
 * would pass an int64_t added up, adds nothing (logged). In the
 * caller's write transaction (writer thread, or a rebuild or migration).
 * Returns 0, -EINVAL for a key not of a list's form, or a STORE_TXN_ABORT()
 * code. */
int agg_cum_update(struct store_txn *t, const uint8_t *lkey, size_t llen, int32_t from_monday);

/* Format < 10 to 10: the cumulative lists of every observer and rubric
 * with observer-week lists, made from those lists (no record read); *groups
 * gets the observer-rubric groups made. Returns 0 or a STORE_TXN_ABORT()
 * code. */
int agg_cum_migrate(struct store_txn *t, uint64_t *groups);

/* acc += wk (both in manager order, borrowed wk), with scratch as working
 * memory (its array reused; the caller frees all three). Returns 0,
 * -ENOMEM, or -EIO for a sum past an int64_t (acc then unchanged). */
int agg_cum_add(struct agg_seen *acc, const struct agg_seen *wk, struct agg_seen *scratch);

/* 1 when the lists a and b (borrowed) hold the same managers and figures,
 * else 0. */
int agg_cum_equal(const struct agg_seen *a, const struct agg_seen *b);

/* Format 4 to 5: replaces every AGG_OBSERVER_COACH value and twin by the
 * observer-week lists they add up to, and writes the coach-week values of
 * the AGG_COACH values; *lists gets the observer-week lists written. In
 * the caller's write transaction. Returns 0 or a STORE_TXN_ABORT() code. */
int agg_seen_migrate(struct store_txn *t, uint64_t *lists);

/* The coach-week key (AGG_COACH_WEEK or twin) whose count of observers
 * with ratings an AGG_OBSERVER_COACH share key (or twin) feeds, into out
 * (AGG_KEY_MAX bytes), *olen its length. Returns 0, -EINVAL for a key not
 * of that form, or a STORE_TXN_ABORT() code. */
int agg_coach_week_key_of(const uint8_t *share, size_t slen, uint8_t *out, size_t *olen);

/* Format 7 to 8: sets every coach-week value's count of observers with
 * ratings (agg.h) from the observer-week lists, rewriting the values of
 * format 5 to 7 (version 1) as version 2; *values gets the values written.
 * Reads no record. In the caller's write transaction. Returns 0 or a
 * STORE_TXN_ABORT() code. */
int agg_seen_raters_migrate(struct store_txn *t, uint64_t *values);

/* ---- agg_impact.c ------------------------------------------------------ */

/* Keeps the blocks of ents[0..n) (in key order, as agg_flush() sorts
 * them), after their values are written. The impact block of every
 * AGG_COACH key (or twin) is made again, never read: up to
 * AGG_IMPACT_WEEKS stored AGG_COACH values are decoded (a week whose value
 * does not decode is left out, logged as agg_value_corrupt) and the block
 * is written, or deleted when it has no week, once per call per block.
 * The line-coach block of every AGG_LINE_COACH key is patched: that
 * week's slot only (agg.h, "Line-coach blocks"). agg_flush() calls it, and
 * the store runs the flush before the commit and before every request
 * with a function in a batch (store.c), so a block touched on both sides
 * of such a request is kept once per flush, more than once per commit.
 * Write transaction (writer thread); ents borrowed. Returns 0, a
 * STORE_TXN_ABORT() code (a put or delete that failed, or ENOMEM), -ERANGE
 * (a figure past a u32, which no decoded value holds) or an mdberr_errno()
 * code from reading the values (-EIO for a damaged database). */
int agg_impact_write(struct store_txn *t, struct agg_ent *const *ents, size_t n);

/* Which blocks agg_impact_build_all() makes: those of the AGG_COACH
 * values (and twins), those of the AGG_LINE_COACH values, or both. */
#define AGG_IMPACT_BUILD_COACH 1u
#define AGG_IMPACT_BUILD_LINE 2u
#define AGG_IMPACT_BUILD_ALL (AGG_IMPACT_BUILD_COACH | AGG_IMPACT_BUILD_LINE)

/* Makes the impact block of every stored AGG_COACH value (and twin) and
 * the line-coach block of every AGG_LINE_COACH value, as which says
 * (AGG_IMPACT_BUILD_*), in a write transaction whose values are all
 * written (the rebuild, the migrations to formats 6 and 7): as
 * agg_impact_write() makes a block, each once; a key too short to name a
 * week is left out (logged as agg_value_corrupt). *blocks gets the blocks
 * made. Writer thread. Returns 0, a STORE_TXN_ABORT() code, -ERANGE, or
 * an mdberr_errno() code from reading the values. */
int agg_impact_build_all(struct store_txn *t, unsigned which, uint64_t *blocks);

/* Whether the stored impact or line-coach block (key and val borrowed)
 * equals what the rebuilt AGG_COACH (AGG_LINE_COACH) values of its weeks
 * in m make (verify's map, its
 * values normalised): 0 yes, 1 no (also for a key or value that is not
 * well formed), or a negative code. */
int agg_impact_verify(const struct agg_map *m, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen);

/* Whether the block of the AGG_COACH key (or twin) or AGG_LINE_COACH key
 * is stored: 1, 0, or a negative code (0 for a key of another kind). */
int agg_impact_has(struct store_txn *t, const uint8_t *key, size_t klen);

/* ---- agg_apply.c ------------------------------------------------------- */

/* A write failure: LMDB codes already end the attempt; memory too, since
 * the writes so far cannot be taken back otherwise. */
int agg_write_fail(int rc);

#endif
