/*
 * agg_cum: the observers' cumulative lists (AGG_OBSERVER_CUM and its twin,
 * agg.h, aggregate format 10). For each observer, rubric and week with an
 * observer-week list there is one cumulative list: the sum of that list and
 * every earlier week's of the same observer and rubric, in the same layout
 * (agg_seen.c). A window of weeks is then the latest cumulative list up to
 * its last week minus the latest one before its first, so that the leads'
 * page reads two lists an observer however many weeks the window holds and
 * however long the store's history, instead of one list a week.
 *
 * The cumulative lists are made only from the week lists: by the writer
 * after the week lists of its batch are merged (agg_seen_write(), from the
 * earliest week the batch changed on: a live record changes the latest, a
 * back-dated one every later week), by the rebuild through the same path,
 * and for a store of an older format by agg_cum_migrate() without reading a
 * record. Figures are whole numbers, so a difference is exactly the sum of
 * the weeks it stands for.
 */
#include "agg.h"
#include "agg_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "keys.h"
#include "log.h"
#include "mdberr.h"
#include "store_int.h"

/* The length of the group prefix (kind, scope, rubric) of a list key of
 * klen bytes that ends with its week, or 0 for a key not of that form. */
static size_t group_len(const uint8_t *key, size_t klen)
{
    size_t slen, rlen;

    if (klen < 3 || (slen = key[1]) + 3 > klen || (rlen = key[2 + slen]) + 3 + slen + 4 != klen) {
        return 0;
    }
    return klen - 4;
}

/* *d = a + sign * b. Returns 0, or -EIO when the result would pass an
 * int64_t or, with sign -1, when b is more than a: no sound list holds such
 * figures, and a damaged one must not overflow (undefined behaviour). */
static int fig_combine(int64_t *d, int64_t a, int64_t b, int sign)
{
    if (sign < 0) {
        if (b > a || (b < 0 && a > INT64_MAX + b)) {
            return -EIO;
        }
        *d = a - b;
    } else {
        if (b > 0 ? a > INT64_MAX - b : a < INT64_MIN - b) {
            return -EIO;
        }
        *d = a + b;
    }
    return 0;
}

/* dst = a + sign * b, both in id order (dst is neither). Returns 0,
 * -ENOMEM, or -EIO for figures no sound pair of lists holds: a sum past an
 * int64_t, or with sign -1 a manager b names and a does not or a figure b
 * holds more of. Managers whose figures come to nothing are left out. */
static int lists_combine(struct agg_seen *dst, const struct agg_seen *a, const struct agg_seen *b,
                         int sign)
{
    size_t i = 0, j = 0;

    dst->n = 0;
    if (GROW_ARRAY(dst->e, dst->cap, a->n + b->n + 1, 16) < 0) {
        return -ENOMEM;
    }
    while (i < a->n || j < b->n) {
        int cmp = i == a->n   ? 1
                  : j == b->n ? -1
                              : keys_compare((const uint8_t *)a->e[i].coach, a->e[i].clen,
                                             (const uint8_t *)b->e[j].coach, b->e[j].clen);
        struct agg_seen_ent *d = &dst->e[dst->n];

        if (cmp < 0) {
            *d = a->e[i++];
        } else if (cmp > 0) {
            if (sign < 0) {
                return -EIO;
            }
            *d = b->e[j++];
        } else {
            const struct agg_seen_ent *x = &a->e[i++];
            const struct agg_seen_ent *y = &b->e[j++];

            *d = *x;
            if (fig_combine(&d->observations, x->observations, y->observations, sign) != 0 ||
                fig_combine(&d->count, x->count, y->count, sign) != 0 ||
                fig_combine(&d->sum, x->sum, y->sum, sign) != 0 ||
                fig_combine(&d->sumsq, x->sumsq, y->sumsq, sign) != 0 ||
                fig_combine(&d->proficient, x->proficient, y->proficient, sign) != 0) {
                return -EIO;
            }
        }
        if (d->observations != 0 || d->count != 0) {
            dst->n++;
        }
    }
    return 0;
}

/* The weeks of the keys with prefix p[0..plen) followed by a week from
 * from_monday on, into *weeks (malloc'ed, *n of them, in order). Returns 0,
 * -EIO for a key of the prefix that is not a list's, or a negative code. */
static int weeks_from(struct store_txn *t, const uint8_t *p, size_t plen, int32_t from_monday,
                      int32_t **weeks, size_t *n)
{
    uint8_t key[AGG_KEY_MAX];
    size_t cap = 0;
    MDB_cursor *cur = NULL;
    MDB_val kv, vv;
    int err = 0;
    int rc;

    *weeks = NULL;
    *n = 0;
    memcpy(key, p, plen);
    keys_day_encode(from_monday, key + plen);
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    kv.mv_data = key;
    kv.mv_size = plen + 4;
    for (rc = mdb_cursor_get(cur, &kv, &vv, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &kv, &vv, MDB_NEXT)) {
        if (kv.mv_size < plen || memcmp(kv.mv_data, p, plen) != 0) {
            break;
        }
        if (kv.mv_size != plen + 4) {
            log_event(LOG_ERROR, "agg_key_corrupt", "size=%zu", kv.mv_size);
            err = -EIO;
            break;
        }
        if (GROW_ARRAY(*weeks, cap, *n + 1, 16) < 0) {
            err = -ENOMEM;
            break;
        }
        (*weeks)[(*n)++] = keys_day_decode((const uint8_t *)kv.mv_data + plen);
    }
    mdb_cursor_close(cur);
    if (err == 0 && rc != 0 && rc != MDB_NOTFOUND) {
        err = mdberr_errno(rc);
    }
    if (err != 0) {
        free(*weeks);
        *weeks = NULL;
        *n = 0;
    }
    return err;
}

/* The week of the latest key with prefix p[0..plen) before before_monday,
 * sought with cur, into *monday (INT32_MIN when there is none) and its value
 * into *val. Returns 0, -EIO for a key of the prefix that is not a list's
 * (logged, as weeks_from() does), or a negative code. */
static int seek_before(MDB_cursor *cur, const uint8_t *p, size_t plen, int32_t before_monday,
                       int32_t *monday, MDB_val *val)
{
    uint8_t key[AGG_KEY_MAX];
    MDB_val kv;
    int rc;

    *monday = INT32_MIN;
    memcpy(key, p, plen);
    keys_day_encode(before_monday, key + plen);
    kv.mv_data = key;
    kv.mv_size = plen + 4;
    rc = mdb_cursor_get(cur, &kv, val, MDB_SET_RANGE);
    rc = rc == 0              ? mdb_cursor_get(cur, &kv, val, MDB_PREV)
         : rc == MDB_NOTFOUND ? mdb_cursor_get(cur, &kv, val, MDB_LAST)
                              : rc;
    if (rc == MDB_NOTFOUND ||
        (rc == 0 && (kv.mv_size < plen || memcmp(kv.mv_data, p, plen) != 0))) {
        return 0;
    }
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    if (kv.mv_size != plen + 4) {
        log_event(LOG_ERROR, "agg_key_corrupt", "size=%zu", kv.mv_size);
        return -EIO;
    }
    *monday = keys_day_decode((const uint8_t *)kv.mv_data + plen);
    return 0;
}

/* The latest cumulative list with prefix cp[0..plen) before before_monday,
 * into l and its week into *monday (l->n 0 and INT32_MIN when there is
 * none), sought with cur. A cumulative list is stored for exactly the weeks
 * with a week list, so the latest week list before the bound (prefix
 * wp[0..plen), its key only) must be of the same week: a cumulative list
 * missing there, or one left at a week without a list, would give the
 * figures of other weeks. Returns 0, -EIO for a list that does not decode,
 * a key of the prefix that is not a list's or weeks that differ (logged),
 * or a negative code. */
static int cum_before(MDB_cursor *cur, const uint8_t *cp, const uint8_t *wp, size_t plen,
                      int32_t before_monday, struct agg_seen *l, int32_t *monday)
{
    MDB_val v;
    int32_t listed;
    int rc;

    l->n = 0;
    rc = seek_before(cur, wp, plen, before_monday, &listed, &v);
    if (rc == 0) {
        rc = seek_before(cur, cp, plen, before_monday, monday, &v);
    }
    if (rc == 0 && *monday != listed) {
        log_event(LOG_ERROR, "agg_cum_unmatched", "cumulative=%" PRId32 " list=%" PRId32, *monday,
                  listed);
        rc = -EIO;
    }
    if (rc == 0 && *monday != INT32_MIN) {
        rc = agg_seen_decode(l, v.mv_data, v.mv_size);
        if (rc == -EIO) {
            log_event(LOG_ERROR, "agg_value_corrupt", "size=%zu", v.mv_size);
        }
    }
    return rc;
}

int agg_cum_key(const uint8_t *key, size_t klen, uint8_t *out, size_t *glen)
{
    size_t g = group_len(key, klen);

    if (g == 0 || !AGG_KIND_SEEN(key[0])) {
        return -EINVAL;
    }
    memcpy(out, key, klen);
    out[0] = (uint8_t)((key[0] & AGG_ASSIGNED) | AGG_OBSERVER_CUM);
    *glen = g;
    return 0;
}

/* Writes the cumulative lists of the group (week-list prefix wp, cumulative
 * prefix cp, both plen bytes and followed by room for a week) from the week
 * from_monday on, acc holding what the weeks before add up to; wk and sum
 * are scratch. A week list that does not decode, or whose figures would
 * pass an int64_t added to acc's, adds nothing (logged; verify names it and
 * the cumulative lists it leaves wrong, --repair mends both), except that
 * when acc was read from a stored cumulative list (based set) an overflow
 * may be that list's damage: then nothing is built on it and 1 is
 * returned, for the caller to make the group again from its first week.
 * Returns 0, 1, or a negative code. */
static int cum_rewrite(struct store_txn *t, uint8_t *wp, uint8_t *cp, size_t plen,
                       int32_t from_monday, int based, struct agg_seen *acc, struct agg_seen *wk,
                       struct agg_seen *sum)
{
    int32_t *weeks = NULL, *old = NULL;
    size_t nweeks = 0, nold = 0;
    int rc = weeks_from(t, wp, plen, from_monday, &weeks, &nweeks);

    if (rc == 0) {
        rc = weeks_from(t, cp, plen, from_monday, &old, &nold);
    }
    /* The cumulative lists of weeks that no longer have a week list go. */
    for (size_t i = 0, j = 0; i < nold && rc == 0; i++) {
        while (j < nweeks && weeks[j] < old[i]) {
            j++;
        }
        if (j == nweeks || weeks[j] != old[i]) {
            keys_day_encode(old[i], cp + plen);
            rc = agg_write_fail(store_txn_del(t, t->s->dbi_agg, cp, plen + 4));
        }
    }
    for (size_t i = 0; i < nweeks && rc == 0; i++) {
        MDB_val v;
        struct agg_seen swap;
        int added = 0;

        keys_day_encode(weeks[i], wp + plen);
        rc = store_txn_get_raw(t, t->s->dbi_agg, wp, plen + 4, &v);
        if (rc == 0) {
            rc = agg_seen_decode(wk, v.mv_data, v.mv_size);
            if (rc == -EIO) {
                log_event(LOG_ERROR, "agg_value_corrupt", "size=%zu", v.mv_size);
                wk->n = 0;
                rc = 0;
            }
        }
        if (rc == 0) {
            rc = lists_combine(sum, acc, wk, 1);
            added = rc == 0;
            if (rc == -EIO && based) {
                rc = 1;
                break;
            }
            if (rc == -EIO) {
                log_event(LOG_ERROR, "agg_value_corrupt", "figures past an int64_t");
                rc = 0;
            }
        }
        if (rc != 0) {
            rc = rc == -ENOMEM ? STORE_TXN_ABORT(ENOMEM) : rc;
            break;
        }
        if (added) {
            swap = *acc;
            *acc = *sum;
            *sum = swap;
        }
        keys_day_encode(weeks[i], cp + plen);
        rc = agg_seen_put(t, cp, plen + 4, acc);
    }
    free(weeks);
    free(old);
    return rc;
}

int agg_cum_update(struct store_txn *t, const uint8_t *lkey, size_t llen, int32_t from_monday)
{
    uint8_t wp[AGG_KEY_MAX], cp[AGG_KEY_MAX];
    struct agg_seen acc, wk, sum;
    MDB_cursor *cur = NULL;
    size_t g = 0;
    int32_t at;
    int rc;

    if (agg_cum_key(lkey, llen, cp, &g) != 0) {
        return -EINVAL;
    }
    memcpy(wp, lkey, g);
    memset(&acc, 0, sizeof(acc));
    memset(&wk, 0, sizeof(wk));
    memset(&sum, 0, sizeof(sum));
    /* What the weeks before hold: the latest cumulative list before
     * from_monday. One that is damaged, or not of the latest week with a
     * list (one missing, or left at a week without a list), is not built
     * on: every list of the observer and rubric is made again from their
     * first week. */
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    rc = cum_before(cur, cp, wp, g, from_monday, &acc, &at);
    mdb_cursor_close(cur);
    if (rc == -EIO) {
        acc.n = 0;
        from_monday = INT32_MIN;
        rc = 0;
    }
    if (rc == 0) {
        rc = cum_rewrite(t, wp, cp, g, from_monday, acc.n > 0, &acc, &wk, &sum);
    }
    if (rc == 1) {
        acc.n = 0;
        rc = cum_rewrite(t, wp, cp, g, INT32_MIN, 0, &acc, &wk, &sum);
    }
    agg_seen_free(&acc);
    agg_seen_free(&wk);
    agg_seen_free(&sum);
    return rc;
}

/* The groups (observer and rubric) of the week lists of one kind, each
 * made from its first week. */
struct cum_groups {
    struct keys_buf *key;
    size_t n, cap;
};

static int group_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct cum_groups *gs = arg;
    size_t g = group_len(key, klen);

    (void)val;
    (void)vlen;
    /* A key not of a list's form is damage verify names. */
    if (g == 0) {
        return 0;
    }
    if (gs->n > 0 && gs->key[gs->n - 1].len == klen && memcmp(gs->key[gs->n - 1].b, key, g) == 0) {
        return 0;
    }
    if (GROW_ARRAY(gs->key, gs->cap, gs->n + 1, 64) < 0) {
        return -ENOMEM;
    }
    keys_buf_reset(&gs->key[gs->n]);
    keys_buf_raw(&gs->key[gs->n], key, klen);
    gs->n++;
    return 0;
}

int agg_cum_migrate(struct store_txn *t, uint64_t *groups)
{
    static const uint8_t kinds[2] = {AGG_OBSERVER_WEEK, AGG_OBSERVER_WEEK_ASG};
    struct cum_groups gs;
    int rc = 0;

    *groups = 0;
    memset(&gs, 0, sizeof(gs));
    for (int k = 0; k < 2 && rc == 0; k++) {
        rc = store_txn_scan(t, t->s->dbi_agg, &kinds[k], 1, 0, group_cb, &gs);
    }
    for (size_t i = 0; i < gs.n && rc == 0; i++) {
        rc = agg_cum_update(t, gs.key[i].b, gs.key[i].len, INT32_MIN);
        *groups += rc == 0;
    }
    free(gs.key);
    return rc == -ENOMEM ? STORE_TXN_ABORT(ENOMEM) : rc;
}

int agg_cum_add(struct agg_seen *acc, const struct agg_seen *wk, struct agg_seen *scratch)
{
    struct agg_seen swap;
    int rc = lists_combine(scratch, acc, wk, 1);

    if (rc == 0) {
        swap = *acc;
        *acc = *scratch;
        *scratch = swap;
    }
    return rc;
}

int agg_cum_equal(const struct agg_seen *a, const struct agg_seen *b)
{
    if (a->n != b->n) {
        return 0;
    }
    for (size_t i = 0; i < a->n; i++) {
        const struct agg_seen_ent *x = &a->e[i];
        const struct agg_seen_ent *y = &b->e[i];

        if (x->clen != y->clen || memcmp(x->coach, y->coach, x->clen) != 0 ||
            x->observations != y->observations || x->count != y->count || x->sum != y->sum ||
            x->sumsq != y->sumsq || x->proficient != y->proficient) {
            return 0;
        }
    }
    return 1;
}

int agg_read_window_of(struct store_txn *t, int assigned, const char *observer,
                       const char *rubric_id, int32_t from_monday, int32_t until_monday,
                       agg_coached_cb cb, void *arg)
{
    unsigned kind = assigned ? AGG_OBSERVER_CUM_ASG : AGG_OBSERVER_CUM;
    Coachq__V1__AggWeek w = COACHQ__V1__AGG_WEEK__INIT;
    Coachq__V1__AggBehaviour b = COACHQ__V1__AGG_BEHAVIOUR__INIT;
    Coachq__V1__AggBehaviour *bp = &b;
    uint8_t wp[AGG_KEY_MAX];
    struct agg_seen last, first, win;
    struct keys_buf k;
    MDB_cursor *cur = NULL;
    int32_t at_last, at_first;
    int rc;

    if (observer == NULL || strlen(observer) > VALIDATE_MAX_ID ||
        agg_key(&k, kind, observer, rubric_id, 0, 0) != 0) {
        return -EINVAL;
    }
    /* The week lists' prefix, whose keys say which weeks have a
     * cumulative list. */
    memcpy(wp, k.b, k.len);
    wp[0] = (uint8_t)(assigned ? AGG_OBSERVER_WEEK_ASG : AGG_OBSERVER_WEEK);
    /* Any day of a week stands for its week. */
    from_monday = agg_week_of(from_monday);
    until_monday = agg_week_of(until_monday);
    memset(&last, 0, sizeof(last));
    memset(&first, 0, sizeof(first));
    memset(&win, 0, sizeof(win));
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    /* The list at the window's last week with one (the next Monday is the
     * first key past it), and the one before its first. */
    rc = cum_before(cur, k.b, wp, k.len,
                    until_monday > INT32_MAX - 7 ? INT32_MAX : until_monday + 7, &last, &at_last);
    if (rc == 0 && at_last >= from_monday) {
        rc = cum_before(cur, k.b, wp, k.len, from_monday, &first, &at_first);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && at_last >= from_monday) {
        rc = lists_combine(&win, &last, &first, -1);
        if (rc == -EIO) {
            log_event(LOG_ERROR, "agg_value_corrupt", "cumulative lists do not subtract");
        }
    }
    b.id = (char *)AGG_RATED;
    w.behaviours = &bp;
    for (size_t i = 0; i < win.n && rc == 0; i++) {
        const struct agg_seen_ent *e = &win.e[i];

        w.observations = (uint64_t)e->observations;
        w.n_behaviours = e->count > 0;
        b.count = (uint64_t)e->count;
        b.sum = (double)e->sum;
        b.sumsq = (double)e->sumsq;
        b.proficient = (uint64_t)e->proficient;
        rc = cb(at_last, e->coach, &w, arg);
        if (rc > 0) {
            rc = 0;
            break;
        }
    }
    agg_seen_free(&last);
    agg_seen_free(&first);
    agg_seen_free(&win);
    return rc;
}
