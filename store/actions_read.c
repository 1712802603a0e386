/*
 * actions_read: the reads of the action records' counters and indexes
 * that the dashboards use (actions.h: actions_follow_txn(),
 * actions_open_txn(), actions_recent_txn()), each bounded by what it
 * returns, never by the records stored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "actions_int.h"
#include "agg.h"
#include "keys.h"
#include "log.h"
#include "mdberr.h"
#include "store_int.h"

/* ---- Counters and the open index ----------------------------------------- */

struct range {
    const uint8_t *prefix;
    size_t plen;
    store_scan_cb cb;
    void *arg;
};

/* Visits the keys of actions_by from start (slen bytes) on, in key order,
 * while they begin with start's first plen bytes; cb as store_txn_scan()'s. */
static int range_scan(struct store_txn *t, const uint8_t *start, size_t slen, size_t plen,
                      store_scan_cb cb, void *arg)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    rc = mdb_cursor_open(t->txn, t->s->dbi_actions_by, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    k.mv_data = (void *)start;
    k.mv_size = slen;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size < plen || memcmp(k.mv_data, start, plen) != 0) {
            break;
        }
        rc = cb(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg);
        if (rc != 0) {
            break;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND || rc == 1) {
        rc = 0;
    }
    /* LMDB's own codes become the store's; the callback's pass through. */
    return mdberr_errno(rc);
}

int actions_follow_txn(struct store_txn *t, const char *scope, int32_t from_day, int32_t until_day,
                       struct actions_follow *out)
{
    /* One scope is a batch of one: the same keys, checks and sums. */
    return actions_follow_many_txn(t, &scope, 1, from_day, until_day, out);
}

/* One scope of actions_follow_many_txn(), with its place in out. */
struct follow_scope {
    const char *scope;
    size_t len;
    size_t at;
};

/* Key order of the scopes: bytes, then the shorter first, as LMDB's. */
static int follow_scope_cmp(const void *a, const void *b)
{
    const struct follow_scope *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->scope, y->scope, n);

    if (c != 0) {
        return c;
    }
    return (x->len > y->len) - (x->len < y->len);
}

int actions_follow_many_txn(struct store_txn *t, const char *const *scopes, size_t n,
                            int32_t from_day, int32_t until_day, struct actions_follow *out)
{
    struct follow_scope *sc = NULL;
    MDB_cursor *cur = NULL;
    int32_t first, last;
    int rc = 0;

    memset(out, 0, n * sizeof(*out));
    if (n == 0) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = scopes[i] != NULL ? strlen(scopes[i]) : 0;

        if (len == 0 || len > 2 * VALIDATE_MAX_ID + 1) {
            return -EINVAL;
        }
    }
    if (from_day < 0 || until_day < from_day) {
        return 0;
    }
    sc = calloc(n, sizeof(*sc));
    if (sc == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        sc[i].scope = scopes[i];
        sc[i].len = strlen(scopes[i]);
        sc[i].at = i;
    }
    qsort(sc, n, sizeof(*sc), follow_scope_cmp);
    first = agg_week_of(from_day);
    last = agg_week_of(until_day);
    if ((int64_t)last - first >= 7 * (int64_t)ACTIONS_FOLLOW_WEEKS) {
        first = last - 7 * (ACTIONS_FOLLOW_WEEKS - 1);
    }
    rc = mdb_cursor_open(t->txn, t->s->dbi_actions_by, &cur);
    if (rc != 0) {
        rc = mdberr_errno(rc);
        goto out;
    }
    /* A week without actions has no counter. The loop counts in 64 bits:
     * a last week near INT32_MAX would overflow a 32-bit step. */
    for (int64_t monday = first; monday <= last && rc == 0; monday += 7) {
        for (size_t j = 0; j < n; j++) {
            struct actions_follow *f = &out[sc[j].at];
            uint8_t key[ACTIONS_KEY_MAX];
            MDB_val k, v;

            k.mv_size =
                actions_week_key(key, (int32_t)monday, (const uint8_t *)sc[j].scope, sc[j].len);
            k.mv_data = key;
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
            if (rc == MDB_NOTFOUND) {
                rc = 0;
                continue;
            }
            if (rc != 0) {
                rc = mdberr_errno(rc);
                break;
            }
            if (v.mv_size != 8 * ACTIONS_NCOUNTS) {
                rc = -EIO;
                break;
            }
            for (int i = 0; i < ACTIONS_NCOUNTS; i++) {
                f->n[i] += keys_get_be64((const uint8_t *)v.mv_data + 8 * i);
            }
            f->weeks++;
        }
    }
out:
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    free(sc);
    return rc;
}

struct open_scan {
    struct store_txn *t;
    size_t plen;
    int32_t today;
    size_t max;
    size_t seen;
    actions_cb cb;
    void *arg;
    struct actions_open_counts *out;
};

static int open_count_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct open_scan *o = arg;
    uint32_t due;
    uint64_t n;

    if (klen != o->plen + 4 || vlen != 8) {
        return -EIO;
    }
    due = keys_get_be32(key + o->plen);
    n = keys_get_be64(val);
    o->out->open += n;
    if (due != ACTIONS_NO_DUE && (int64_t)due < (int64_t)o->today) {
        o->out->overdue += n;
    }
    o->out->due_days++;
    return 0;
}

static int open_rec_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct open_scan *o = arg;
    Coachq__V1__ActionRecord *r = NULL;
    int rc;

    (void)val;
    (void)vlen;
    if (o->seen >= o->max) {
        return 1;
    }
    if (klen != o->plen + 12 + KEYS_UUID_LEN) {
        return -EIO;
    }
    o->seen++;
    rc = actions_indexed_get(o->t, key + klen - KEYS_UUID_LEN, &r);
    if (rc != 0) {
        return rc == 1 ? 0 : rc;
    }
    rc = o->cb(r, o->arg);
    coachq__v1__action_record__free_unpacked(r, NULL);
    return rc;
}

int actions_open_txn(struct store_txn *t, const char *coach, int32_t today, size_t max,
                     actions_cb cb, void *arg, struct actions_open_counts *out)
{
    uint8_t key[ACTIONS_KEY_MAX];
    size_t n = coach != NULL ? strlen(coach) : 0;
    struct open_scan o;
    int rc;

    memset(out, 0, sizeof(*out));
    if (n == 0 || n > VALIDATE_MAX_ID) {
        return -EINVAL;
    }
    memset(&o, 0, sizeof(o));
    o.t = t;
    o.plen = 2 + n;
    o.today = today;
    o.max = max;
    o.cb = cb;
    o.arg = arg;
    o.out = out;
    key[0] = 'n';
    memcpy(key + 1, coach, n);
    key[1 + n] = 0;
    rc = range_scan(t, key, 2 + n, 2 + n, open_count_cb, &o);
    if (rc == 0 && max > 0 && cb != NULL) {
        int served = 0;

        /* The coach's value holds the list's first entries (actions_view.c);
         * without one that agrees with the counters, the index and records. */
        rc = actions_view_open(t, coach, out->open, max, cb, arg, &served);
        if (rc != 0 || served) {
            return rc;
        }
        key[0] = 'o';
        rc = range_scan(t, key, 2 + n, 2 + n, open_rec_cb, &o);
    }
    return rc;
}

/* ---- A coachee's recent actions ------------------------------------------- */

/* One part of a coachee's keys (open or closed), read newest first one key
 * at a time, as the merge takes them: at most max keys. */
struct recent_part {
    MDB_cursor *cur;
    uint8_t prefix[ACTIONS_KEY_MAX];
    size_t plen;
    size_t left; /* keys still to be read */
    int started; /* the cursor has been placed */
    int has;     /* at and id hold the part's next key */
    int64_t at;
    uint8_t id[KEYS_UUID_LEN];
};

/* Places the cursor on the part's newest key: the first key after every key
 * of the prefix is the prefix with its last byte (the part's '0' or '1')
 * raised, so seek there and step back. Returns an LMDB code. */
static int recent_part_first(struct recent_part *p, MDB_val *k, MDB_val *v)
{
    uint8_t seek[ACTIONS_KEY_MAX];
    int rc;

    memcpy(seek, p->prefix, p->plen);
    seek[p->plen - 1]++;
    k->mv_data = seek;
    k->mv_size = p->plen;
    rc = mdb_cursor_get(p->cur, k, v, MDB_SET_RANGE);
    if (rc == 0) {
        rc = mdb_cursor_get(p->cur, k, v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(p->cur, k, v, MDB_LAST);
    }
    return rc;
}

/* Reads the part's next key (newer ones first) into at and id, or clears
 * has when the part's keys or its allowance are spent. Returns 0 or a
 * negative code. */
static int recent_part_next(struct recent_part *p)
{
    MDB_val k, v;
    int rc;

    p->has = 0;
    if (p->left == 0) {
        return 0;
    }
    if (!p->started) {
        p->started = 1;
        rc = recent_part_first(p, &k, &v);
    } else {
        rc = mdb_cursor_get(p->cur, &k, &v, MDB_PREV);
    }
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    if (k.mv_size < p->plen || memcmp(k.mv_data, p->prefix, p->plen) != 0) {
        return 0; /* before the part's keys */
    }
    if (k.mv_size < 8 + KEYS_UUID_LEN) {
        return -EIO;
    }
    p->left--;
    p->at = (int64_t)keys_get_be64((const uint8_t *)k.mv_data + k.mv_size - KEYS_UUID_LEN - 8);
    memcpy(p->id, (const uint8_t *)k.mv_data + k.mv_size - KEYS_UUID_LEN, KEYS_UUID_LEN);
    p->has = 1;
    return 0;
}

/*
 * The open records and the closed ones are two ranges of the coachee's
 * keys, each newest first. Their keys (at most ACTIONS_RECENT_KEYS x k per
 * part) are merged by the time agreed that they hold, the open first on a
 * tie, and only the records the merge reaches are read, until k are
 * coach's: k records when the newest are all coach's, and at most one per
 * key, 2 x ACTIONS_RECENT_KEYS x k, of which at most k are coach's.
 * keys bounds the keys read per part (actions_recent_txn(): ACTIONS_RECENT_KEYS
 * x k; the values' derivation, actions_view.c: none).
 * Finding each part's k newest of coach's before merging could read as
 * many, up to 2k of them coach's, and read 2k where the newest are all
 * coach's. A record of another coach is passed over in either order, so
 * the k visited are the same. Each part's keys are read as the merge takes
 * them, one cursor per part, not ACTIONS_RECENT_KEYS x k of each up front:
 * the merge takes about k + 1 where the newest are all coach's.
 */
int actions_recent_walk(struct store_txn *t, const char *coach, const char *coachee, size_t k,
                        size_t keys, actions_cb cb, void *arg)
{
    size_t n = coachee != NULL ? strlen(coachee) : 0;
    struct recent_part part[2];
    size_t done = 0;
    int rc = 0;

    if (n == 0 || n > VALIDATE_MAX_ID || coach == NULL || k == 0 || k > ACTIONS_MAX_LIST) {
        return -EINVAL;
    }
    memset(part, 0, sizeof(part));
    for (int p = 0; p < 2 && rc == 0; p++) {
        part[p].prefix[0] = 'e';
        memcpy(part[p].prefix + 1, coachee, n);
        part[p].prefix[1 + n] = 0;
        part[p].prefix[2 + n] = p == 0 ? '1' : '0';
        part[p].plen = 3 + n;
        part[p].left = keys;
        rc = mdberr_errno(mdb_cursor_open(t->txn, t->s->dbi_actions_by, &part[p].cur));
        if (rc == 0) {
            rc = recent_part_next(&part[p]);
        }
    }
    while (rc == 0 && done < k && (part[0].has || part[1].has)) {
        struct recent_part *e;
        Coachq__V1__ActionRecord *a = NULL;

        e = !part[1].has || (part[0].has && part[0].at >= part[1].at) ? &part[0] : &part[1];
        rc = actions_indexed_get(t, e->id, &a);
        if (rc == 0) {
            if (a->coach_id != NULL && strcmp(a->coach_id, coach) == 0) {
                rc = cb(a, arg);
                done++;
            }
            coachq__v1__action_record__free_unpacked(a, NULL);
        } else if (rc == 1) {
            rc = 0; /* an index entry without its record: passed over */
        }
        if (rc == 0) {
            rc = recent_part_next(e);
        }
    }
    for (int p = 0; p < 2; p++) {
        if (part[p].cur != NULL) {
            mdb_cursor_close(part[p].cur);
        }
    }
    return rc == 1 ? 0 : rc;
}

int actions_recent_txn(struct store_txn *t, const char *coach, const char *coachee, size_t k,
                       actions_cb cb, void *arg)
{
    int served = 0;
    int rc;

    if (coachee == NULL || coachee[0] == '\0' || strlen(coachee) > VALIDATE_MAX_ID ||
        coach == NULL || k == 0 || k > ACTIONS_MAX_LIST) {
        return -EINVAL;
    }
    rc = actions_view_recent(t, coach, coachee, k, cb, arg, &served);
    if (rc != 0 || served) {
        return rc;
    }
    return actions_recent_walk(t, coach, coachee, k, ACTIONS_RECENT_KEYS * k, cb, arg);
}
