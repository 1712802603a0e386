/*
 * cadence_count: the observed coaching days the writer keeps as counts
 * (cadence.h, database cadence_days): the writer's update, the rebuild from
 * the rep index, the format check at open and verify.
 */
#include "cadence.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "deltas.h"
#include "grow.h"
#include "keys.h"
#include "log.h"
#include "mdberr.h"
#include "people.h"
#include "snapshot.h"
#include "store_int.h"
#include "tz.h"
#include "zone.h"

#define COUNT_ID_MAX 64
#define COUNT_KEY_MAX (1 + COUNT_ID_MAX + 1 + COUNT_ID_MAX + 4)
#define COUNT_VALUE_LEN (1 + 4 * CADENCE_COUNT_DAYS)
#define COUNT_VERSION 1
#define SECONDS_PER_DAY 86400

static const char FORMAT_KEY[] = "cadence_format";

/* Aborts the transaction of a verify that found what it was asked for. */
#define CADENCE_ROLLBACK (-ECANCELED)

static int count_id_ok(const char *id, size_t n)
{
    return id != NULL && n > 0 && n <= COUNT_ID_MAX;
}

/* The first day of the block of CADENCE_COUNT_DAYS days that holds day. */
static int32_t count_block(int32_t day)
{
    int64_t d = day;
    int64_t b =
        d >= 0 ? d / CADENCE_COUNT_DAYS : -((-d + CADENCE_COUNT_DAYS - 1) / CADENCE_COUNT_DAYS);

    return (int32_t)(b * CADENCE_COUNT_DAYS);
}

/* The key of (coachee, coach, block) into out, its length returned; with
 * with_block 0 only the pair's prefix. */
static size_t count_key(uint8_t out[COUNT_KEY_MAX], const char *coachee, size_t ne,
                        const char *coach, size_t nc, int32_t block, int with_block)
{
    size_t n = 0;

    out[n++] = (uint8_t)ne;
    memcpy(out + n, coachee, ne);
    n += ne;
    out[n++] = (uint8_t)nc;
    memcpy(out + n, coach, nc);
    n += nc;
    if (with_block) {
        keys_put_be32(out + n, (uint32_t)block ^ 0x80000000u);
        n += 4;
    }
    return n;
}

static int32_t count_key_block(const uint8_t *p)
{
    return (int32_t)(keys_get_be32(p) ^ 0x80000000u);
}

/* Decodes a value into c; -EIO when it is not one. */
static int count_decode(const uint8_t *p, size_t len, uint32_t c[CADENCE_COUNT_DAYS])
{
    if (len != COUNT_VALUE_LEN || p[0] != COUNT_VERSION) {
        return -EIO;
    }
    for (int i = 0; i < CADENCE_COUNT_DAYS; i++) {
        c[i] = keys_get_le32(p + 1 + 4 * i);
    }
    return 0;
}

/* The days of a value with a count above 0, bit i for day i of its block,
 * into *mask; -EIO when it is not a value (count_decode()'s check). A count
 * is above 0 when any of its four bytes is, so no count is assembled. */
static int count_mask(const uint8_t *p, size_t len, unsigned *mask)
{
    unsigned m = 0;

    if (len != COUNT_VALUE_LEN || p[0] != COUNT_VERSION) {
        return -EIO;
    }
    /* A day's count is above 0 when any of its 4 bytes is: read as one
     * word (whatever the byte order, 0 is 0), which costs a page's read of
     * many blocks a third of testing the bytes one by one. */
    for (int i = 0; i < CADENCE_COUNT_DAYS; i++) {
        uint32_t c;

        memcpy(&c, p + 1 + 4 * i, sizeof(c));
        m |= (unsigned)(c != 0) << i;
    }
    *mask = m;
    return 0;
}

/* Adds delta to the stored counts of key (read once, written once): a
 * value whose counts all reach 0 is deleted. A count that would go below
 * 0 can only come from a damaged value: it is logged and kept at 0, as the
 * aggregates' counters are, rather than refusing the record whose
 * session it is (coachqd verify finds it, --repair counts again). */
static int count_apply(struct store_txn *t, const uint8_t *key, size_t klen,
                       const int64_t delta[CADENCE_COUNT_DAYS])
{
    uint32_t c[CADENCE_COUNT_DAYS];
    uint8_t val[COUNT_VALUE_LEN];
    int any = 0;
    MDB_val v;
    int rc;

    rc = store_txn_get_raw(t, t->s->dbi_cadence, key, klen, &v);
    if (rc == -ENOENT) {
        memset(c, 0, sizeof(c));
    } else if (rc == 0) {
        rc = count_decode(v.mv_data, v.mv_size, c);
    }
    if (rc != 0 && rc != -ENOENT) {
        return rc;
    }
    for (int i = 0; i < CADENCE_COUNT_DAYS; i++) {
        int64_t n = (int64_t)c[i] + delta[i];

        if (n < 0 || n > UINT32_MAX) {
            log_event(LOG_ERROR, "cadence_count_damaged", "day=%d count=%u delta=%" PRId64, i,
                      (unsigned)c[i], delta[i]);
            n = n < 0 ? 0 : UINT32_MAX;
        }
        c[i] = (uint32_t)n;
        any |= n != 0;
    }
    if (!any) {
        return store_txn_del(t, t->s->dbi_cadence, key, klen);
    }
    val[0] = COUNT_VERSION;
    for (int i = 0; i < CADENCE_COUNT_DAYS; i++) {
        keys_put_le32(val + 1 + 4 * i, c[i]);
    }
    return store_txn_put_raw(t, t->s->dbi_cadence, key, klen, val, sizeof(val), NULL);
}

/* ---- The writer's batch ------------------------------------------------ */

/* Keys one batch holds at most (an entry is about 230 bytes, deltas.h): beyond it,
 * what was merged is written out in the same transaction and merging
 * starts again, so that a batch cannot grow the writer's memory without
 * end. */
#define COUNT_BATCH_MAX 16384u
/* Keys a batch makes room for first. */
#define COUNT_BATCH_FIRST 64u

_Static_assert(COUNT_KEY_MAX <= DELTAS_KEY_MAX, "a cadence_days key fits a batch's entry");
_Static_assert(CADENCE_COUNT_DAYS <= DELTAS_COUNTS_MAX, "a block's counts fit a batch's entry");

/* deltas_write_fn for the batch: arg is the transaction, and a key always
 * holds CADENCE_COUNT_DAYS counts. */
static int count_apply_cb(void *arg, const uint8_t *key, size_t klen, const int64_t *delta,
                          size_t n)
{
    (void)n;
    return count_apply(arg, key, klen, delta);
}

int cadence_batch_begin(struct store_txn *t)
{
    if (t->batch_cadence == NULL) {
        t->batch_cadence = deltas_new(COUNT_BATCH_FIRST, COUNT_BATCH_MAX);
        if (t->batch_cadence == NULL) {
            return -ENOMEM;
        }
    }
    return 0;
}

int cadence_flush(struct store_txn *t)
{
    struct deltas *b = t->batch_cadence;
    int rc;

    if (b == NULL) {
        return 0;
    }
    /* Written with the batch unset, so that nothing merges into it. */
    t->batch_cadence = NULL;
    rc = deltas_write(b, count_apply_cb, t);
    deltas_free(b);
    return rc;
}

void cadence_batch_discard(struct store_txn *t)
{
    deltas_free(t->batch_cadence);
    t->batch_cadence = NULL;
}

/* ---- Counting ------------------------------------------------------------ */

/* Where counted sessions go: straight to the database (the writer), or
 * gathered per key first (a rebuild, whose sessions come in key order of
 * the rep index, so that most land in the key before). */
struct count_sink {
    int gather;
    uint8_t key[COUNT_KEY_MAX];
    size_t klen;
    int64_t delta[CADENCE_COUNT_DAYS];
    uint64_t sessions;
};

static int sink_flush(struct store_txn *t, struct count_sink *s)
{
    int rc = 0;

    if (s->klen > 0 && t->batch_cadence != NULL) {
        rc = deltas_add(t->batch_cadence, s->key, s->klen, s->delta, CADENCE_COUNT_DAYS,
                        count_apply_cb, t);
    } else if (s->klen > 0) {
        rc = count_apply(t, s->key, s->klen, s->delta);
    }
    s->klen = 0;
    memset(s->delta, 0, sizeof(s->delta));
    return rc;
}

static int sink_add(struct store_txn *t, struct count_sink *s, const char *coachee,
                    const char *coach, int32_t day, int delta)
{
    uint8_t key[COUNT_KEY_MAX];
    int32_t block = count_block(day);
    size_t klen = count_key(key, coachee, strlen(coachee), coach, strlen(coach), block, 1);
    int rc = 0;

    if (s->klen != klen || memcmp(s->key, key, klen) != 0) {
        rc = sink_flush(t, s);
        memcpy(s->key, key, klen);
        s->klen = klen;
    }
    s->delta[day - block] += delta;
    s->sessions++;
    if (rc == 0 && !s->gather) {
        rc = sink_flush(t, s);
    }
    return rc;
}

/* A rep's reporting lines read once (a rebuild), oldest first. */
struct rep_lines {
    int32_t *day;
    char (*manager)[COUNT_ID_MAX + 1];
    size_t n, cap, mcap;
    int rc;
};

static int lines_one(const Coachq__V1__ReportingLine *line, void *arg)
{
    struct rep_lines *rl = arg;
    const char *m = line->manager_id != NULL ? line->manager_id : "";
    size_t n = strlen(m);

    if (GROW_ARRAY(rl->day, rl->cap, rl->n + 1, 8) < 0 ||
        GROW_ARRAY(rl->manager, rl->mcap, rl->n + 1, 8) < 0) {
        return -ENOMEM;
    }
    if (n > COUNT_ID_MAX) {
        return -EIO;
    }
    rl->day[rl->n] = line->effective_day;
    memcpy(rl->manager[rl->n], m, n + 1);
    rl->n++;
    return 0;
}

/* The last line of the rep's read through the writer's memo and the days
 * it holds for (valid set), so that the days around a session, which
 * mostly share one line, cost one read. */
struct line_span {
    int valid;
    int rc; /* 0 or 1, as count_manager_on() answers */
    int32_t from, last;
    char manager[COUNT_ID_MAX + 1];
};

/* The rep's manager on day into out: 0, or 1 when they reported to nobody
 * (or to an id no coaching day can name); a negative code on failure. With
 * rl NULL from sp when it holds day, else through the writer's memo
 * (store_txn_memo_manager_span()), kept in sp. */
static int count_manager_on(struct store_txn *t, const char *coachee, const struct rep_lines *rl,
                            struct line_span *sp, int32_t day, char out[COUNT_ID_MAX + 1])
{
    size_t lo = 0, hi;
    int rc;

    if (rl == NULL) {
        if (!sp->valid || day < sp->from || day > sp->last) {
            rc = store_txn_memo_manager_span(t, coachee, day, sp->manager, sizeof(sp->manager),
                                             &sp->from, &sp->last);
            if (rc == -ENOBUFS) {
                /* A manager's id too long for a count's key: this day
                 * only. */
                sp->from = day;
                sp->last = day;
            }
            if (rc == -ENOENT || rc == -ENOBUFS) {
                rc = 1;
            }
            if (rc < 0) {
                sp->valid = 0;
                return rc;
            }
            sp->valid = 1;
            sp->rc = rc;
        }
        if (sp->rc == 0) {
            memcpy(out, sp->manager, strlen(sp->manager) + 1);
        }
        return sp->rc;
    }
    /* The last change effective on or before day holds. */
    hi = rl->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (rl->day[mid] <= day) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0 || rl->manager[lo - 1][0] == '\0') {
        return 1;
    }
    memcpy(out, rl->manager[lo - 1], strlen(rl->manager[lo - 1]) + 1);
    return 0;
}

static int32_t count_clamp(int64_t d)
{
    return d > INT32_MAX ? INT32_MAX : d < INT32_MIN ? INT32_MIN : (int32_t)d;
}

/*
 * Counts one session of coachee at `at` (delta +1 or -1) for every coach
 * it is a coaching day of: a coach M such that the rep reported to M on
 * the session's day in M's zone. That day lies within a day of the UTC
 * day u (zones are less than a day from UTC), so M is the rep's manager
 * on u - 1, u or u + 1: each of those is tried once, and kept when the
 * session's day in their zone is a day the rep reported to them. Mostly
 * one manager holds all three days and counts the session once. The
 * writer (rl NULL) reads the rep's line first on the session's day in the
 * zone of coach (the record's, or NULL), where the rules read it already
 * in the batch's memo: the days that line holds for need no other read.
 */
static int count_session(struct store_txn *t, const char *coachee, const char *coach,
                         const struct rep_lines *rl, int64_t at, int delta, struct count_sink *sink)
{
    char m[3][COUNT_ID_MAX + 1];
    int have[3];
    int64_t u = at >= 0 ? at / SECONDS_PER_DAY : -((-at + SECONDS_PER_DAY - 1) / SECONDS_PER_DAY);
    struct line_span sp;
    int rc;

    if (!count_id_ok(coachee, strlen(coachee))) {
        return 0;
    }
    sp.valid = 0;
    if (rl == NULL && coach != NULL) {
        const struct tz_zone *cz = NULL;

        rc = zone_of_person(t, coach, &cz);
        if (rc != 0) {
            return rc;
        }
        rc = count_manager_on(t, coachee, NULL, &sp, count_clamp(tz_day_of(cz, at)), m[0]);
        if (rc < 0) {
            return rc;
        }
    }
    for (int i = 0; i < 3; i++) {
        rc = count_manager_on(t, coachee, rl, &sp, count_clamp(u - 1 + i), m[i]);
        if (rc < 0) {
            return rc;
        }
        have[i] = rc == 0;
    }
    for (int i = 0; i < 3; i++) {
        const struct tz_zone *z = NULL;
        char other[COUNT_ID_MAX + 1];
        int dup = 0, owner;
        int64_t day;

        for (int j = 0; j < i; j++) {
            dup |= have[j] && strcmp(m[j], m[i]) == 0;
        }
        if (!have[i] || dup) {
            continue;
        }
        rc = zone_of_person(t, m[i], &z);
        if (rc != 0) {
            return rc;
        }
        day = count_clamp(tz_day_of(z, at));
        if (day >= u - 1 && day <= u + 1) {
            int k = (int)(day - (u - 1));

            owner = have[k] && strcmp(m[k], m[i]) == 0;
        } else {
            rc = count_manager_on(t, coachee, rl, &sp, (int32_t)day, other);
            if (rc < 0) {
                return rc;
            }
            owner = rc == 0 && strcmp(other, m[i]) == 0;
        }
        if (owner) {
            rc = sink_add(t, sink, coachee, m[i], (int32_t)day, delta);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

int cadence_count_session(struct store_txn *t, const char *coachee, const char *coach,
                          int64_t started_at, int delta)
{
    struct count_sink sink;

    if (coachee == NULL || (delta != 1 && delta != -1)) {
        return -EINVAL;
    }
    memset(&sink, 0, sizeof(sink));
    return count_session(t, coachee, coach, NULL, started_at, delta, &sink);
}

/* Deletes every count whose key starts with prefix. */
static int count_drop_prefix(struct store_txn *t, const uint8_t *prefix, size_t plen)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    rc = mdb_cursor_open(t->txn, t->s->dbi_cadence, &cur);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    /* Seeks again after each deletion rather than trusting where a
     * deletion leaves the cursor. */
    for (;;) {
        k.mv_data = (void *)prefix;
        k.mv_size = plen;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0) {
            break;
        }
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : STORE_TXN_ABORT(rc);
}

/* Counts again every session of the rep index from its key prefix on
 * (plen 0: the whole index; else one rep's), each rep's lines read once. */
static int count_walk(struct store_txn *t, const uint8_t *prefix, size_t plen, uint64_t *sessions)
{
    struct rep_lines rl;
    struct count_sink sink;
    char rep[COUNT_ID_MAX + 1] = "";
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    memset(&rl, 0, sizeof(rl));
    memset(&sink, 0, sizeof(sink));
    sink.gather = 1;
    rc = mdb_cursor_open(t->txn, t->s->dbi_by_coachee, &cur);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    k.mv_data = (void *)prefix;
    k.mv_size = plen;
    rc = plen > 0 ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                  : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *id;
        size_t idlen;
        int64_t at;

        if (plen > 0 && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)) {
            break;
        }
        if (keys_index_decode(k.mv_data, k.mv_size, &id, &idlen, &at, NULL) != 0 ||
            idlen > COUNT_ID_MAX) {
            rc = -EIO;
            goto out;
        }
        if (strlen(rep) != idlen || memcmp(rep, id, idlen) != 0) {
            memcpy(rep, id, idlen);
            rep[idlen] = '\0';
            rl.n = 0;
            rc = people_lines(t, rep, lines_one, &rl);
            if (rc != 0) {
                goto out;
            }
        }
        rc = count_session(t, rep, NULL, &rl, at, 1, &sink);
        if (rc != 0) {
            goto out;
        }
    }
    /* The loop ends at the prefix's end (rc 0) or the index's. */
    rc = rc == 0 || rc == MDB_NOTFOUND ? 0 : STORE_TXN_ABORT(rc);
    if (rc == 0) {
        rc = sink_flush(t, &sink);
    }
out:
    if (sessions != NULL) {
        *sessions = sink.sessions;
    }
    mdb_cursor_close(cur);
    free(rl.day);
    free(rl.manager);
    return rc;
}

int cadence_rebuild_rep(struct store_txn *t, const char *coachee)
{
    uint8_t prefix[KEYS_INDEX_MAX];
    size_t plen, ne = coachee != NULL ? strlen(coachee) : 0;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    if (!count_id_ok(coachee, ne)) {
        return -EINVAL;
    }
    /* What a batch merged is written before the rep's keys are counted
     * again from scratch. */
    rc = cadence_flush(t);
    if (rc != 0) {
        return rc;
    }
    /* The count keys and the index keys of a rep share their prefix: a
     * length byte and the id. */
    rc = keys_index_prefix(prefix, sizeof(prefix), coachee, ne, &plen);
    if (rc == 0) {
        rc = count_drop_prefix(t, prefix, plen);
    }
    if (rc == 0) {
        rc = count_walk(t, prefix, plen, NULL);
    }
    return rc;
}

int cadence_rebuild_txn(struct store_txn *t, uint64_t *sessions)
{
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    /* Nothing a batch merged may be added to the counts made afresh. */
    cadence_batch_discard(t);
    rc = mdb_drop(t->txn, t->s->dbi_cadence, 0);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    return count_walk(t, NULL, 0, sessions);
}

int cadence_format_check(struct store_txn *t, int count)
{
    uint8_t want[4];
    uint64_t n = 0;
    MDB_val v;
    int rc;

    keys_put_be32(want, CADENCE_FORMAT);
    rc = store_txn_get_raw(t, t->s->dbi_meta, (const uint8_t *)FORMAT_KEY, sizeof(FORMAT_KEY) - 1,
                           &v);
    if (!count && rc == 0 && v.mv_size == 4 && memcmp(v.mv_data, want, 4) == 0) {
        return 0;
    }
    if (rc != 0 && rc != -ENOENT) {
        return rc;
    }
    /* A store from before the counts (or of an unknown format) gets them
     * counted from its rep index; a new store has nothing to count. A
     * store of schema 10 is counted whatever its format key says: a
     * coachqd of schema 10 may have stored observations without counting
     * them after a newer one wrote the key. */
    rc = cadence_rebuild_txn(t, &n);
    if (rc != 0) {
        return rc;
    }
    if (n > 0) {
        log_event(LOG_INFO, "cadence_format_upgraded", "to=%d sessions=%" PRIu64, CADENCE_FORMAT,
                  n);
    }
    return store_txn_put_raw(t, t->s->dbi_meta, (const uint8_t *)FORMAT_KEY, sizeof(FORMAT_KEY) - 1,
                             want, 4, NULL);
}

/* Called by counted_walk() for each block of days with a session: block
 * its first day, mask its days with a count inside the range (bit i: day
 * block + i). */
typedef void (*counted_block_cb)(int32_t block, unsigned mask, void *arg);

/* The pair's observed days of [from_day, until_day] from its counts: one
 * range of keys, a key per block of days with a session, given to cb a
 * block at a time so that a reader of masks never walks a day. Returns as
 * cadence_pair_counted(). */
static int counted_walk(struct store_txn *t, const char *coach, const char *coachee,
                        int32_t from_day, int32_t until_day, counted_block_cb cb, void *arg)
{
    uint8_t key[COUNT_KEY_MAX];
    size_t ne, nc, plen, klen;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    /* The ids go into a key of COUNT_KEY_MAX bytes: refuse what would not
     * fit rather than trust every caller to have checked. */
    if (coach == NULL || coachee == NULL) {
        return -EINVAL;
    }
    ne = strlen(coachee);
    nc = strlen(coach);
    if (!count_id_ok(coachee, ne) || !count_id_ok(coach, nc)) {
        return -EINVAL;
    }
    plen = count_key(key, coachee, ne, coach, nc, 0, 0);
    klen = count_key(key, coachee, ne, coach, nc, count_block(from_day), 1);
    rc = mdb_cursor_open(t->txn, t->s->dbi_cadence, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    k.mv_data = key;
    k.mv_size = klen;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        unsigned mask;
        int64_t lo, hi;
        int32_t block;

        if (k.mv_size != plen + 4 || memcmp(k.mv_data, key, plen) != 0) {
            break;
        }
        block = count_key_block((const uint8_t *)k.mv_data + plen);
        if (block > until_day) {
            break;
        }
        if (count_mask(v.mv_data, v.mv_size, &mask) != 0) {
            rc = -EIO;
            goto out;
        }
        /* Only the block's days inside the range. */
        lo = from_day > block ? (int64_t)from_day - block : 0;
        hi = (int64_t)until_day - block < CADENCE_COUNT_DAYS - 1 ? (int64_t)until_day - block
                                                                 : CADENCE_COUNT_DAYS - 1;
        if (lo > hi) {
            continue;
        }
        mask &= ((1u << (hi + 1)) - 1u) & ~((1u << lo) - 1u);
        if (mask != 0) {
            cb(block, mask, arg);
        }
    }
    rc = rc == 0 || rc == MDB_NOTFOUND ? 0 : mdberr_errno(rc);
out:
    mdb_cursor_close(cur);
    return rc;
}

struct counted_days {
    cadence_day_cb cb;
    void *arg;
};

/* Of each block only the days with a count: the mask is walked, not each
 * day's count. */
static void counted_days_block(int32_t block, unsigned mask, void *arg)
{
    const struct counted_days *cd = arg;

    for (int i = 0; i < CADENCE_COUNT_DAYS; i++) {
        if ((mask >> i) & 1u) {
            cd->cb(block + i, cd->arg);
        }
    }
}

int cadence_pair_counted(struct store_txn *t, const char *coach, const char *coachee,
                         int32_t from_day, int32_t until_day, cadence_day_cb cb, void *arg)
{
    struct counted_days cd = {cb, arg};

    return counted_walk(t, coach, coachee, from_day, until_day, counted_days_block, &cd);
}

struct counted_bits {
    uint64_t *bits;
    size_t nwords;
    int32_t from_day;
};

/* ORs a block's mask into the bitmap as one or two words: bit i of the
 * bitmap is day from_day + i. The walk gives only days of the range, so
 * no bit lands before the bitmap's first or after its last. */
static void counted_bits_block(int32_t block, unsigned mask, void *arg)
{
    const struct counted_bits *cb = arg;
    int64_t pos = (int64_t)block - cb->from_day;
    uint64_t m = mask;
    size_t word;
    unsigned sh;

    if (pos < 0) {
        m >>= -pos; /* the block begins before the range: its days there are 0 */
        pos = 0;
    }
    word = (size_t)pos / 64;
    sh = (unsigned)((size_t)pos % 64);
    if (word < cb->nwords) {
        cb->bits[word] |= m << sh;
    }
    if (sh > 64 - CADENCE_COUNT_DAYS && word + 1 < cb->nwords) {
        cb->bits[word + 1] |= m >> (64 - sh);
    }
}

int cadence_pair_counted_bits(struct store_txn *t, const char *coach, const char *coachee,
                              int32_t from_day, int32_t until_day, uint64_t *bits, size_t nwords)
{
    struct counted_bits cb = {bits, nwords, from_day};

    if (until_day < from_day || nwords < CADENCE_BITS_WORDS(from_day, until_day)) {
        return -EINVAL;
    }
    memset(bits, 0, nwords * sizeof(*bits));
    return counted_walk(t, coach, coachee, from_day, until_day, counted_bits_block, &cb);
}

/* ---- Verify ------------------------------------------------------------- */

struct verify {
    int repair;
    struct cadence_verify_result res;
};

static int verify_txn(struct store_txn *t, void *arg)
{
    struct verify *v = arg;
    struct snapshot have, want;
    int rc;

    memset(&have, 0, sizeof(have));
    memset(&want, 0, sizeof(want));
    rc = snapshot_take(t, t->s->dbi_cadence, &have);
    if (rc == 0) {
        rc = cadence_rebuild_txn(t, &v->res.sessions);
    }
    if (rc == 0) {
        rc = snapshot_take(t, t->s->dbi_cadence, &want);
    }
    if (rc == 0) {
        v->res.stored = have.n;
        v->res.expected = want.n;
        v->res.differences = snapshot_diff(&have, &want);
        if (!v->repair || v->res.differences == 0) {
            rc = CADENCE_ROLLBACK;
        }
    }
    snapshot_free(&have);
    snapshot_free(&want);
    return rc;
}

int cadence_verify(struct store *s, int repair, struct cadence_verify_result *out)
{
    struct verify v;
    int rc;

    memset(&v, 0, sizeof(v));
    v.repair = repair;
    rc = store_exec(s, verify_txn, &v);
    if (rc == CADENCE_ROLLBACK) {
        rc = 0;
    }
    *out = v.res;
    return rc;
}
