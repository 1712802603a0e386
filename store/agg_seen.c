/*
 * agg_seen: the observer-week lists (AGG_OBSERVER_WEEK and its twin, agg.h):
 * one stored value per observer, rubric and week listing every manager the
 * observer scored that week with the observations and ratings the Observer
 * reliability pages read. The writer and the rebuild still compute a
 * record's share per observer and coach (an AGG_OBSERVER_COACH key, as the
 * contributions remember it); this file folds those shares into the lists:
 * at the batch's end (agg_flush(), each list read and written once), after
 * a rebuild, and when a store of aggregate format 4 is opened. Readers get
 * the lists back one manager at a time through agg_read_coached_of(), so a
 * page's reads cost observers x weeks, not observers x weeks x managers.
 * It keeps the coach-week values (AGG_COACH_WEEK) the same way, each
 * mirroring one AGG_COACH value's observations and ratings and, from
 * format 8, counting the observers whose lists have ratings of the coach
 * that week (changed by the lists' merge, made by agg_seen_raters_migrate()
 * for an older store).
 */
#include "agg.h"
#include "agg_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "keys.h"
#include "log.h"
#include "mdberr.h"
#include "store_int.h"

/* The header: version, flags, u32 number of managers. */
#define SEEN_HEADER 6
/* After a manager's id: observations, count, sum, sumsq, proficient, each
 * a u64, so that no number of records in one week can pass them (a u32
 * sum of squares over every behaviour of a rubric would pass at a few
 * million records on one coach in one week, and a figure that cannot be
 * written would stop the writer). */
#define SEEN_FIGURES 40
/* A coach-week value (AGG_COACH_WEEK): version, flags, the figures, then
 * (version 2, format 8) the u64 count of observers with ratings. */
#define CW_SIZE_V1 (2 + SEEN_FIGURES)
#define CW_SIZE (CW_SIZE_V1 + 8)

/* The five figures of a manager (SEEN_FIGURES bytes at q) into e. Returns
 * 0, or -EIO for a figure past an int64_t (the writer never stores one). */
static int figs_get(const uint8_t *q, struct agg_seen_ent *e)
{
    int64_t *const fig[5] = {&e->observations, &e->count, &e->sum, &e->sumsq, &e->proficient};

    for (int k = 0; k < 5; k++) {
        uint64_t x = keys_get_le64(q + 8 * k);

        if (x > (uint64_t)INT64_MAX) {
            return -EIO;
        }
        *fig[k] = (int64_t)x;
    }
    return 0;
}

/* Writes e's five figures at p (SEEN_FIGURES bytes). Returns 0, or -ERANGE
 * for one that is negative (a normalised entry holds none). */
static int figs_put(uint8_t *p, const struct agg_seen_ent *e)
{
    const int64_t fig[5] = {e->observations, e->count, e->sum, e->sumsq, e->proficient};

    for (int k = 0; k < 5; k++) {
        if (fig[k] < 0) {
            return -ERANGE;
        }
        keys_put_le64(p + 8 * k, (uint64_t)fig[k]);
    }
    return 0;
}

void agg_seen_free(struct agg_seen *l)
{
    free(l->e);
    memset(l, 0, sizeof(*l));
}

/* Reads the manager at *p (before end) into e and moves *p past it.
 * Returns 0, or -EIO for bytes that are not a well-formed entry (an id of
 * 0 or more than VALIDATE_MAX_ID bytes, or holding a NUL). */
static int seen_next(const uint8_t **p, const uint8_t *end, struct agg_seen_ent *e)
{
    const uint8_t *q = *p;
    size_t len;
    unsigned char any_nul = 0;

    if (end - q < 1) {
        return -EIO;
    }
    len = q[0];
    if (len == 0 || len > VALIDATE_MAX_ID || (size_t)(end - q) < 1 + len + SEEN_FIGURES) {
        return -EIO;
    }
    q++;
    memcpy(e->coach, q, len);
    any_nul = memchr(q, '\0', len) != NULL;
    e->coach[len] = '\0';
    e->clen = len;
    /* A list's entry holds no rater count (agg_int.h). */
    e->raters = 0;
    q += len;
    *p = q + SEEN_FIGURES;
    return any_nul ? -EIO : figs_get(q, e);
}

/* The number of managers a stored list announces, or -EIO for a header
 * this version does not write: a count of 0 (an empty list is deleted,
 * never stored) or more managers than the bytes can hold (each takes at
 * least an id byte, one byte of id and the figures), which also keeps a
 * damaged count from sizing an allocation. */
static int seen_header(const uint8_t *p, size_t n, size_t *count)
{
    if (n < SEEN_HEADER || p[0] != AGG_SEEN_VERSION || p[1] != 0) {
        return -EIO;
    }
    *count = keys_get_le32(p + 2);
    if (*count == 0 || *count > (n - SEEN_HEADER) / (2 + SEEN_FIGURES)) {
        return -EIO;
    }
    return 0;
}

int agg_seen_decode(struct agg_seen *l, const uint8_t *p, size_t n)
{
    const uint8_t *q = p + SEEN_HEADER;
    const uint8_t *end = p + n;
    size_t count = 0;
    int rc = seen_header(p, n, &count);

    l->n = 0;
    if (rc == 0 && GROW_ARRAY(l->e, l->cap, count, 16) < 0) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        rc = seen_next(&q, end, &l->e[i]);
        l->n = rc == 0 ? i + 1 : l->n;
    }
    return rc == 0 && q != end ? -EIO : rc;
}

/* The order of managers in a list: strcmp()'s order of their ids (ids hold
 * no NUL), which is also the order their AGG_OBSERVER_COACH keys sort in. */
static int coach_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    return keys_compare((const uint8_t *)a, alen, (const uint8_t *)b, blen);
}

int agg_seen_put(struct store_txn *t, const uint8_t *key, size_t klen, const struct agg_seen *l)
{
    size_t size = SEEN_HEADER;
    uint8_t *buf;
    uint8_t *p;
    int rc = 0;

    if (l->n == 0) {
        return agg_write_fail(store_txn_del(t, t->s->dbi_agg, key, klen));
    }
    /* Past memory long before: an observer would need 2^32 managers in a
     * week. */
    if (l->n > UINT32_MAX) {
        return -ERANGE;
    }
    for (size_t i = 0; i < l->n; i++) {
        size += 1 + l->e[i].clen + SEEN_FIGURES;
    }
    buf = malloc(size);
    if (buf == NULL) {
        return STORE_TXN_ABORT(ENOMEM);
    }
    buf[0] = AGG_SEEN_VERSION;
    buf[1] = 0;
    keys_put_le32(buf + 2, (uint32_t)l->n);
    p = buf + SEEN_HEADER;
    for (size_t i = 0; i < l->n && rc == 0; i++) {
        const struct agg_seen_ent *e = &l->e[i];

        *p++ = (uint8_t)e->clen;
        memcpy(p, e->coach, e->clen);
        p += e->clen;
        rc = figs_put(p, e);
        p += SEEN_FIGURES;
    }
    if (rc == 0) {
        rc = agg_write_fail(store_txn_put_raw(t, t->s->dbi_agg, key, klen, buf, size, NULL));
    }
    free(buf);
    return rc;
}

int agg_seen_key(const uint8_t *key, size_t klen, uint8_t *out, size_t *plen)
{
    size_t slen, rlen, at;

    if (klen < 3 || !AGG_KIND_COACHED(key[0]) || (slen = key[1]) + 3 > klen ||
        (rlen = key[2 + slen]) + 3 + slen + 4 + 1 > klen) {
        return -EINVAL;
    }
    at = 3 + slen + rlen + 4;
    memcpy(out, key, at);
    out[0] = (uint8_t)((key[0] & AGG_ASSIGNED) | AGG_OBSERVER_WEEK);
    *plen = at;
    return 0;
}

/* The entry of coach in l, inserted (zeroed) at its place when l has none.
 * Returns NULL when out of memory. */
static struct agg_seen_ent *seen_entry(struct agg_seen *l, const uint8_t *coach, size_t clen)
{
    size_t lo = 0, hi = l->n;
    struct agg_seen_ent *e;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = coach_cmp((const char *)coach, clen, l->e[mid].coach, l->e[mid].clen);

        if (cmp == 0) {
            return &l->e[mid];
        }
        if (cmp < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if (GROW_ARRAY(l->e, l->cap, l->n + 1, 16) < 0) {
        return NULL;
    }
    memmove(&l->e[lo + 1], &l->e[lo], (l->n - lo) * sizeof(*l->e));
    l->n++;
    e = &l->e[lo];
    memset(e, 0, sizeof(*e));
    memcpy(e->coach, coach, clen);
    e->coach[clen] = '\0';
    e->clen = clen;
    return e;
}

/* Drops the managers whose figures are back at nothing and clamps negative
 * counters, which only a damaged list can produce (verify repairs it), as
 * agg_val_normalise() does for a value. */
static void seen_normalise(struct agg_seen *l, const uint8_t *key, size_t klen)
{
    size_t o = 0;
    int neg = 0;

    for (size_t i = 0; i < l->n; i++) {
        struct agg_seen_ent *e = &l->e[i];

        neg |= e->observations < 0 || e->count < 0 || e->proficient < 0;
        e->observations = e->observations < 0 ? 0 : e->observations;
        e->count = e->count < 0 ? 0 : e->count;
        e->proficient = e->proficient < 0 ? 0 : e->proficient;
        if (e->count == 0) {
            e->sum = 0;
            e->sumsq = 0;
            e->proficient = 0;
        }
        if (e->observations != 0 || e->count != 0) {
            l->e[o++] = *e;
        }
    }
    l->n = o;
    if (neg) {
        log_event(LOG_WARN, "agg_negative", "key_len=%zu first=%u (run coachqd verify --repair)",
                  klen, klen > 0 ? (unsigned)key[0] : 0u);
    }
}

/* e += sign * what an AGG_OBSERVER_COACH share v holds: its observations
 * and its ratings summed over behaviours (whole numbers, so exact). */
static void seen_add(struct agg_seen_ent *e, const struct agg_val *v)
{
    e->observations += v->observations;
    for (size_t i = 0; i < v->nb; i++) {
        e->count += v->b[i].count;
        e->sum += (int64_t)llround(v->b[i].sum);
        e->sumsq += (int64_t)llround(v->b[i].sumsq);
        e->proficient += v->b[i].proficient;
    }
}

/* A share to add to a list: the list's key, the manager, the share. */
struct seen_item {
    uint8_t lkey[AGG_KEY_MAX];
    size_t llen;
    const uint8_t *coach;
    size_t clen;
    const struct agg_val *v;
};

/* The list and manager a share key feeds: an AGG_OBSERVER_COACH key (or
 * twin) its observer's week list; an AGG_COACH key (or twin) its
 * coach-week value, whose key is lkey (kind, AGG_ORG_ALL, rubric, week)
 * followed by the coach. Returns 1, 0 for a key that feeds neither, or
 * -EINVAL for a key not of its kind's form. */
static int item_of(const uint8_t *key, size_t klen, struct seen_item *it)
{
    size_t slen, rlen;

    if (klen >= 1 && AGG_KIND_COACHED(key[0])) {
        if (agg_seen_key(key, klen, it->lkey, &it->llen) != 0) {
            return -EINVAL;
        }
        it->coach = key + it->llen;
        it->clen = klen - it->llen;
        return 1;
    }
    if (klen < 1 || (key[0] & ~AGG_ASSIGNED) != AGG_COACH) {
        return 0;
    }
    if (klen < 3 || (slen = key[1]) == 0 || slen > VALIDATE_MAX_ID || 3 + slen > klen ||
        klen != 3 + slen + (rlen = key[2 + slen]) + 4) {
        return -EINVAL;
    }
    it->lkey[0] = (uint8_t)((key[0] & AGG_ASSIGNED) | AGG_COACH_WEEK);
    it->lkey[1] = 1;
    it->lkey[2] = AGG_ORG_ALL[0];
    memcpy(it->lkey + 3, key + 2 + slen, 1 + rlen + 4);
    it->llen = 3 + 1 + rlen + 4;
    it->coach = key + 2;
    it->clen = slen;
    return 1;
}

int agg_seen_share_key(const uint8_t *lkey, size_t llen, const struct agg_seen_ent *e, uint8_t *out,
                       size_t *olen)
{
    size_t slen;

    if (llen < 3 || (slen = lkey[1]) + 3 > llen || llen != 3u + slen + lkey[2 + slen] + 4u ||
        llen + e->clen + 1 > AGG_KEY_MAX) {
        return -EINVAL;
    }
    if (!AGG_KIND_SEEN(lkey[0])) {
        return -EINVAL;
    }
    memcpy(out, lkey, llen);
    out[0] = (uint8_t)((lkey[0] & AGG_ASSIGNED) | AGG_OBSERVER_COACH);
    memcpy(out + llen, e->coach, e->clen);
    *olen = llen + e->clen;
    return 0;
}

/* ---- Coach-week values ------------------------------------------------ */

/* The figures of a stored coach-week value p[0..n) into e (its coach
 * untouched). Returns 0, or -EIO for bytes this version does not write. */
static int cw_decode(const uint8_t *p, size_t n, struct agg_seen_ent *e)
{
    uint64_t raters;

    if (n != CW_SIZE || p[0] != AGG_COACH_WEEK_VERSION || p[1] != 0) {
        return -EIO;
    }
    raters = keys_get_le64(p + CW_SIZE_V1);
    if (raters > (uint64_t)INT64_MAX) {
        return -EIO;
    }
    e->raters = (int64_t)raters;
    return figs_get(p + 2, e);
}

/* A version-1 value (formats 5 to 7, no count) into e, for the step to 8.
 * Returns 0 or -EIO. */
static int cw_decode_v1(const uint8_t *p, size_t n, struct agg_seen_ent *e)
{
    if (n != CW_SIZE_V1 || p[0] != 1 || p[1] != 0) {
        return -EIO;
    }
    e->raters = 0;
    return figs_get(p + 2, e);
}

/* Puts e's figures under the coach-week key, or deletes the key when they
 * add up to nothing (negative counters clamped and logged, as
 * seen_normalise() does). Returns 0 or a STORE_TXN_ABORT() code. */
static int cw_put(struct store_txn *t, const uint8_t *key, size_t klen, struct agg_seen_ent *e)
{
    struct agg_seen one = {e, 1, 1};
    uint8_t buf[CW_SIZE];
    int rc;

    seen_normalise(&one, key, klen);
    if (one.n == 0) {
        return agg_write_fail(store_txn_del(t, t->s->dbi_agg, key, klen));
    }
    buf[0] = AGG_COACH_WEEK_VERSION;
    buf[1] = 0;
    /* Only a damaged value or a writer's fault could take the count below
     * 0; it is clamped (verify names it) rather than stored as a huge
     * one, which would let a cell past privacy_min. */
    if (e->raters < 0) {
        log_event(LOG_WARN, "agg_negative",
                  "key_len=%zu first=%u raters (run coachqd verify --repair)", klen,
                  klen > 0 ? (unsigned)key[0] : 0u);
        e->raters = 0;
    }
    rc = figs_put(buf + 2, e);
    keys_put_le64(buf + CW_SIZE_V1, (uint64_t)e->raters);
    if (rc == 0) {
        rc = agg_write_fail(store_txn_put_raw(t, t->s->dbi_agg, key, klen, buf, CW_SIZE, NULL));
    }
    return rc;
}

/* Adds one AGG_COACH share to its coach-week value: read once and written
 * once, since a batch or a rebuild holds one share per AGG_COACH key. */
static int cw_merge(struct store_txn *t, const struct seen_item *it)
{
    uint8_t key[AGG_KEY_MAX];
    size_t klen = it->llen + it->clen;
    struct agg_seen_ent e;
    MDB_val v;
    int rc;

    if (klen > sizeof(key)) {
        return -EINVAL;
    }
    memcpy(key, it->lkey, it->llen);
    memcpy(key + it->llen, it->coach, it->clen);
    memset(&e, 0, sizeof(e));
    rc = store_txn_get_raw(t, t->s->dbi_agg, key, klen, &v);
    if (rc == 0) {
        rc = cw_decode(v.mv_data, v.mv_size, &e);
    } else if (rc == -ENOENT) {
        rc = 0;
    }
    if (rc != 0) {
        return rc;
    }
    seen_add(&e, it->v);
    return cw_put(t, key, klen, &e);
}

/* Where a coach-week key's week starts (its prefix's length), or 0 for a
 * key not of that form (kind, AGG_ORG_ALL, rubric, week, then a coach id of
 * 1..VALIDATE_MAX_ID bytes without a NUL). */
static size_t cw_week_at(const uint8_t *key, size_t klen)
{
    size_t at, clen;

    if (klen < 4 || !AGG_KIND_COACHES(key[0]) || key[1] != 1 || key[2] != AGG_ORG_ALL[0]) {
        return 0;
    }
    at = 4 + (size_t)key[3];
    if (klen < at + 4 + 1) {
        return 0;
    }
    clen = klen - at - 4;
    if (clen > VALIDATE_MAX_ID || memchr(key + at + 4, '\0', clen) != NULL) {
        return 0;
    }
    return at;
}

int agg_coach_week_share(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         uint8_t *share, size_t *slen, struct agg_seen_ent *e)
{
    size_t at = cw_week_at(key, klen);
    size_t clen;

    if (at == 0) {
        return -EIO;
    }
    clen = klen - at - 4;
    memset(e, 0, sizeof(*e));
    memcpy(e->coach, key + at + 4, clen);
    e->clen = clen;
    /* The AGG_COACH key: kind, the coach as scope, rubric, week. */
    share[0] = (uint8_t)((key[0] & AGG_ASSIGNED) | AGG_COACH);
    share[1] = (uint8_t)clen;
    memcpy(share + 2, e->coach, clen);
    memcpy(share + 2 + clen, key + 3, at - 3 + 4);
    *slen = 2 + clen + at - 3 + 4;
    return cw_decode(val, vlen, e);
}

/* A change of one coach-week value's count of observers with ratings: an
 * observer's entry of the coach that week gained its first ratings (+1) or
 * lost its last (-1) in a list's merge. */
struct cw_delta {
    uint8_t key[AGG_KEY_MAX];
    size_t klen;
    int d;
};

struct cw_deltas {
    struct cw_delta *d;
    size_t n, cap;
};

/* Records that the coach-week of list lkey's rubric and week and of e's
 * coach (the same twin) gains d observers with ratings. Returns 0 or a
 * STORE_TXN_ABORT() code. */
static int delta_push(struct cw_deltas *dl, const uint8_t *lkey, size_t llen,
                      const struct agg_seen_ent *e, int d)
{
    size_t slen = lkey[1];
    size_t tail = llen - 2 - slen; /* rubric length, rubric, week */
    struct cw_delta *x;

    if (3 + tail + e->clen > AGG_KEY_MAX) {
        return -EINVAL;
    }
    if (GROW_ARRAY(dl->d, dl->cap, dl->n + 1, 16) < 0) {
        return STORE_TXN_ABORT(ENOMEM);
    }
    x = &dl->d[dl->n++];
    x->key[0] = (uint8_t)((lkey[0] & AGG_ASSIGNED) | AGG_COACH_WEEK);
    x->key[1] = 1;
    x->key[2] = AGG_ORG_ALL[0];
    memcpy(x->key + 3, lkey + 2 + slen, tail);
    memcpy(x->key + 3 + tail, e->coach, e->clen);
    x->klen = 3 + tail + e->clen;
    x->d = d;
    return 0;
}

int agg_coach_week_key_of(const uint8_t *share, size_t slen, uint8_t *out, size_t *olen)
{
    uint8_t lkey[AGG_KEY_MAX];
    struct agg_seen_ent e;
    struct cw_deltas one = {NULL, 0, 0};
    size_t llen;
    int rc;

    if (agg_seen_key(share, slen, lkey, &llen) != 0 || slen - llen > VALIDATE_MAX_ID) {
        return -EINVAL;
    }
    memset(&e, 0, sizeof(e));
    memcpy(e.coach, share + llen, slen - llen);
    e.clen = slen - llen;
    rc = delta_push(&one, lkey, llen, &e, 1);
    if (rc == 0) {
        memcpy(out, one.d[0].key, one.d[0].klen);
        *olen = one.d[0].klen;
    }
    free(one.d);
    return rc;
}

static int delta_cmp(const void *a, const void *b)
{
    const struct cw_delta *x = a;
    const struct cw_delta *y = b;

    return keys_compare(x->key, x->klen, y->key, y->klen);
}

/* Applies the counts' changes to their coach-week values, once the
 * batch's shares are in them (a value gaining an observer with ratings has
 * gained ratings, so it is stored by then). Each value is read and written
 * once more. Returns 0 or a STORE_TXN_ABORT() code. */
static int deltas_apply(struct store_txn *t, struct cw_deltas *dl)
{
    int rc = 0;

    if (dl->n > 1) {
        qsort(dl->d, dl->n, sizeof(*dl->d), delta_cmp);
    }
    for (size_t i = 0, j; i < dl->n && rc == 0; i = j) {
        struct agg_seen_ent e;
        int64_t sum = 0;
        MDB_val v;

        for (j = i; j < dl->n && delta_cmp(&dl->d[i], &dl->d[j]) == 0; j++) {
            sum += dl->d[j].d;
        }
        if (sum == 0) {
            continue;
        }
        memset(&e, 0, sizeof(e));
        rc = store_txn_get_raw(t, t->s->dbi_agg, dl->d[i].key, dl->d[i].klen, &v);
        if (rc == -ENOENT) {
            /* Only a gone value's observers leaving (its ratings gone
             * too) or a damaged list: nothing to count on. */
            rc = 0;
            continue;
        }
        if (rc == 0) {
            rc = cw_decode(v.mv_data, v.mv_size, &e);
        }
        if (rc == 0) {
            e.raters += sum;
            rc = cw_put(t, dl->d[i].key, dl->d[i].klen, &e);
        }
    }
    return rc;
}

static int item_cmp(const void *a, const void *b)
{
    const struct seen_item *x = a;
    const struct seen_item *y = b;
    int c = keys_compare(x->lkey, x->llen, y->lkey, y->llen);

    return c != 0 ? c : keys_compare(x->coach, x->clen, y->coach, y->clen);
}

/* Adds the run of items at the start of it[0..n) that share one list key
 * to the stored list: read once, written once. *used gets the run's
 * length; l is scratch memory. */
static int merge_run(struct store_txn *t, const struct seen_item *it, size_t n, struct agg_seen *l,
                     struct cw_deltas *dl, size_t *used)
{
    size_t m = 1;
    MDB_val v;
    int rc;

    if (AGG_KIND_COACHES(it[0].lkey[0])) {
        *used = 1;
        return cw_merge(t, &it[0]);
    }
    while (m < n && keys_compare(it[m].lkey, it[m].llen, it[0].lkey, it[0].llen) == 0) {
        m++;
    }
    *used = m;
    rc = store_txn_get_raw(t, t->s->dbi_agg, it[0].lkey, it[0].llen, &v);
    if (rc == 0) {
        rc = agg_seen_decode(l, v.mv_data, v.mv_size);
    } else if (rc == -ENOENT) {
        l->n = 0;
        rc = 0;
    }
    for (size_t i = 0; i < m && rc == 0; i++) {
        struct agg_seen_ent *e = seen_entry(l, it[i].coach, it[i].clen);

        int before;

        if (e == NULL) {
            return STORE_TXN_ABORT(ENOMEM);
        }
        /* An observer counts for the coach-week while their entry has
         * ratings (a count seen_normalise() keeps above 0). */
        before = e->count > 0;
        seen_add(e, it[i].v);
        if ((e->count > 0) != before) {
            rc = delta_push(dl, it[0].lkey, it[0].llen, e, before ? -1 : 1);
        }
    }
    if (rc != 0) {
        return rc;
    }
    seen_normalise(l, it[0].lkey, it[0].llen);
    return agg_seen_put(t, it[0].lkey, it[0].llen, l);
}

int agg_seen_write(struct store_txn *t, struct agg_ent *const *ents, size_t n)
{
    struct seen_item *it = NULL;
    struct agg_seen l;
    struct cw_deltas dl;
    size_t m = 0;
    int rc = 0;

    memset(&l, 0, sizeof(l));
    memset(&dl, 0, sizeof(dl));
    if (n > 0) {
        it = malloc(n * sizeof(*it));
        if (it == NULL) {
            return STORE_TXN_ABORT(ENOMEM);
        }
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = item_of(ents[i]->key, ents[i]->klen, &it[m]);
        if (rc == 1) {
            it[m++].v = &ents[i]->v;
            rc = 0;
        }
    }
    if (rc == 0 && m > 1) {
        qsort(it, m, sizeof(*it), item_cmp);
    }
    for (size_t i = 0; i < m && rc == 0;) {
        size_t used = 1;

        rc = merge_run(t, it + i, m - i, &l, &dl, &used);
        i += used;
    }
    if (rc == 0) {
        rc = deltas_apply(t, &dl);
    }
    /* The cumulative lists (agg_cum.c) of each observer and rubric whose
     * week lists changed, from the earliest week changed: the items are in
     * key order, so a group's first item is its earliest week. */
    for (size_t i = 0; i < m && rc == 0; i++) {
        size_t g = it[i].llen - 4;

        if (!AGG_KIND_SEEN(it[i].lkey[0]) ||
            (i > 0 && it[i - 1].llen == it[i].llen && memcmp(it[i - 1].lkey, it[i].lkey, g) == 0)) {
            continue;
        }
        rc = agg_cum_update(t, it[i].lkey, it[i].llen, keys_day_decode(it[i].lkey + g));
    }
    free(dl.d);
    agg_seen_free(&l);
    free(it);
    return rc;
}

int agg_seen_write_map(struct store_txn *t, const struct agg_map *m)
{
    struct agg_ent **ents = NULL;
    size_t n = 0;
    int rc;

    if (m->n > 0) {
        ents = malloc(m->n * sizeof(*ents));
        if (ents == NULL) {
            return STORE_TXN_ABORT(ENOMEM);
        }
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slot[i] != NULL) {
            ents[n++] = m->slot[i];
        }
    }
    rc = agg_seen_write(t, ents, n);
    free(ents);
    return rc;
}

/* The lists made from format 4's values, held until those are deleted:
 * each key and its list, one after the other. */
struct seen_out {
    struct keys_buf *key;
    struct agg_seen *list;
    size_t n, cap_key, cap_list;
};

static int out_push(struct seen_out *o, const uint8_t *key, size_t klen, struct agg_seen *l)
{
    if (GROW_ARRAY(o->key, o->cap_key, o->n + 1, 64) < 0 ||
        GROW_ARRAY(o->list, o->cap_list, o->n + 1, 64) < 0) {
        return -ENOMEM;
    }
    keys_buf_reset(&o->key[o->n]);
    keys_buf_raw(&o->key[o->n], key, klen);
    o->list[o->n] = *l;
    memset(l, 0, sizeof(*l));
    o->n++;
    return 0;
}

/* Moves every value of kind (AGG_OBSERVER_COACH or its twin) into o as
 * lists, deleting it. */
static int migrate_kind(struct store_txn *t, unsigned kind, struct seen_out *o)
{
    uint8_t start = (uint8_t)kind;
    uint8_t lkey[AGG_KEY_MAX], cur_key[AGG_KEY_MAX];
    size_t plen = 0, cur_len = 0;
    struct agg_seen l;
    struct agg_val v;
    MDB_cursor *cur = NULL;
    MDB_val kv, vv;
    int rc, err = 0;

    memset(&l, 0, sizeof(l));
    memset(&v, 0, sizeof(v));
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    kv.mv_data = &start;
    kv.mv_size = 1;
    for (rc = mdb_cursor_get(cur, &kv, &vv, MDB_SET_RANGE); rc == 0 && err == 0;
         rc = mdb_cursor_get(cur, &kv, &vv, MDB_NEXT)) {
        const uint8_t *key = kv.mv_data;
        struct agg_seen_ent *e;

        if (kv.mv_size < 1 || key[0] != kind) {
            break;
        }
        /* A damaged value or key is left out, as a rebuild would leave
         * it: verify then names what the records say instead. */
        if (agg_seen_key(key, kv.mv_size, lkey, &plen) == 0 &&
            agg_val_decode_part(&v, vv.mv_data, vv.mv_size, AGG_DECODE_RATED) == 0 &&
            kv.mv_size - plen <= VALIDATE_MAX_ID &&
            memchr(key + plen, '\0', kv.mv_size - plen) == NULL) {
            if (cur_len != 0 && (cur_len != plen || memcmp(cur_key, lkey, plen) != 0)) {
                seen_normalise(&l, cur_key, cur_len);
                err = l.n > 0 ? out_push(o, cur_key, cur_len, &l) : 0;
            }
            memcpy(cur_key, lkey, plen);
            cur_len = plen;
            e = err == 0 ? seen_entry(&l, key + plen, kv.mv_size - plen) : NULL;
            if (e == NULL && err == 0) {
                err = -ENOMEM;
            }
            if (e != NULL) {
                seen_add(e, &v);
            }
        }
        if (err == 0) {
            rc = mdb_cursor_del(cur, 0);
            if (rc != 0) {
                err = STORE_TXN_ABORT(rc);
            }
        }
    }
    if (err == 0 && rc != 0 && rc != MDB_NOTFOUND) {
        err = STORE_TXN_ABORT(rc);
    }
    mdb_cursor_close(cur);
    if (err == 0 && cur_len != 0) {
        seen_normalise(&l, cur_key, cur_len);
        err = l.n > 0 ? out_push(o, cur_key, cur_len, &l) : 0;
    }
    agg_seen_free(&l);
    agg_val_free(&v);
    return err;
}

/* Writes the coach-week values of every AGG_COACH value (or twin, kind)
 * as stored: the values stay; a damaged one is left out, as in
 * migrate_kind(). */
static int migrate_coaches(struct store_txn *t, unsigned kind)
{
    uint8_t start = (uint8_t)kind;
    struct agg_arena arena;
    struct agg_map m;
    struct agg_val v;
    MDB_cursor *cur = NULL;
    MDB_val kv, vv;
    int rc, err = 0;

    memset(&arena, 0, sizeof(arena));
    memset(&m, 0, sizeof(m));
    memset(&v, 0, sizeof(v));
    m.arena = &arena;
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    kv.mv_data = &start;
    kv.mv_size = 1;
    for (rc = mdb_cursor_get(cur, &kv, &vv, MDB_SET_RANGE); rc == 0 && err == 0;
         rc = mdb_cursor_get(cur, &kv, &vv, MDB_NEXT)) {
        struct seen_item it;

        if (kv.mv_size < 1 || ((const uint8_t *)kv.mv_data)[0] != kind) {
            break;
        }
        if (item_of(kv.mv_data, kv.mv_size, &it) == 1 &&
            agg_val_decode_part(&v, vv.mv_data, vv.mv_size, AGG_DECODE_RATED) == 0) {
            err = agg_map_add(&m, kv.mv_data, kv.mv_size, &v, 1);
        }
    }
    if (err == 0 && rc != 0 && rc != MDB_NOTFOUND) {
        err = STORE_TXN_ABORT(rc);
    }
    mdb_cursor_close(cur);
    if (err == 0) {
        err = agg_seen_write_map(t, &m);
    }
    agg_map_free(&m);
    agg_arena_free(&arena);
    agg_val_free(&v);
    return err;
}

int agg_seen_migrate(struct store_txn *t, uint64_t *lists)
{
    static const unsigned kinds[] = {AGG_OBSERVER_COACH, AGG_OBSERVER_COACH_ASG};
    struct seen_out o;
    int rc = 0;

    *lists = 0;
    memset(&o, 0, sizeof(o));
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && rc == 0; i++) {
        rc = migrate_kind(t, kinds[i], &o);
    }
    /* The lists are put once the old values are gone: the cursor above
     * walked a range no put of this transaction touched. */
    for (size_t i = 0; i < o.n && rc == 0; i++) {
        rc = agg_seen_put(t, o.key[i].b, o.key[i].len, &o.list[i]);
    }
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        rc = migrate_coaches(t, i == 0 ? AGG_COACH : AGG_COACH_ASG);
    }
    for (size_t i = 0; i < o.n; i++) {
        agg_seen_free(&o.list[i]);
    }
    *lists = rc == 0 ? o.n : 0;
    free(o.key);
    free(o.list);
    return rc == -ENOMEM ? STORE_TXN_ABORT(ENOMEM) : rc;
}

/* The coach-week values of one twin, held by the step to 8 while their
 * counts are made: keys in the store's order, each value's figures. */
struct cw_held {
    struct keys_buf *key;
    struct agg_seen_ent *e;
    size_t n, cap_key, cap_e;
};

static int held_find(const struct cw_held *h, const uint8_t *key, size_t klen)
{
    size_t lo = 0, hi = h->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = keys_compare(key, klen, h->key[mid].b, h->key[mid].len);

        if (cmp == 0) {
            return (int)mid;
        }
        if (cmp < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return -1;
}

static int held_read_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct cw_held *h = arg;
    struct agg_seen_ent e;

    memset(&e, 0, sizeof(e));
    if (cw_week_at(key, klen) == 0 ||
        (cw_decode_v1(val, vlen, &e) != 0 && cw_decode(val, vlen, &e) != 0)) {
        return 0;
    }
    if (GROW_ARRAY(h->key, h->cap_key, h->n + 1, 256) < 0 ||
        GROW_ARRAY(h->e, h->cap_e, h->n + 1, 256) < 0) {
        return STORE_TXN_ABORT(ENOMEM);
    }
    memset(&h->key[h->n], 0, sizeof(h->key[h->n]));
    keys_buf_raw(&h->key[h->n], key, klen);
    e.raters = 0;
    h->e[h->n++] = e;
    return 0;
}

/* Every coach-week value of kind into h, as stored (version 1, or version
 * 2 when a step is run again); a damaged one is left as it is (verify
 * names it, and readers refuse it). */
static int held_read(struct store_txn *t, unsigned kind, struct cw_held *h)
{
    uint8_t start = (uint8_t)kind;

    return store_txn_scan(t, t->s->dbi_agg, &start, 1, 0, held_read_cb, h);
}

/* held_count()'s walk: the table and the list decoded last. */
struct held_walk {
    struct cw_held *h;
    struct agg_seen l;
};

static int held_count_cb(const uint8_t *key, size_t llen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct held_walk *hw = arg;
    struct cw_held *h = hw->h;
    struct agg_seen *l = &hw->l;
    size_t slen;
    int dec, err = 0;

    if (llen < 3 || (slen = key[1]) + 3 > llen || llen != 3u + slen + key[2 + slen] + 4u) {
        return 0;
    }
    dec = agg_seen_decode(l, val, vlen);
    if (dec == -ENOMEM) {
        return STORE_TXN_ABORT(ENOMEM);
    }
    for (size_t i = 1; dec == 0 && i < l->n; i++) {
        dec = strcmp(l->e[i - 1].coach, l->e[i].coach) < 0 ? 0 : -EIO;
    }
    /* A rubric and manager too long for a coach-week key name a week
     * no value can hold: the list is damaged and counts for nothing,
     * rather than stopping the step (and the store's open). */
    for (size_t i = 0; dec == 0 && i < l->n; i++) {
        dec = 3 + (llen - 2 - slen) + l->e[i].clen > AGG_KEY_MAX ? -EINVAL : 0;
    }
    if (dec == -EINVAL) {
        log_event(LOG_WARN, "agg_seen_key_too_long",
                  "key_len=%zu (a damaged observer-week list is not counted; run coachqd "
                  "verify --repair)",
                  llen);
    }
    for (size_t i = 0; dec == 0 && i < l->n; i++) {
        struct cw_deltas one = {NULL, 0, 0};
        int at;

        if (l->e[i].count <= 0) {
            continue;
        }
        err = delta_push(&one, key, llen, &l->e[i], 1);
        at = err == 0 ? held_find(h, one.d[0].key, one.d[0].klen) : -1;
        free(one.d);
        if (at >= 0) {
            h->e[at].raters++;
        }
        if (err != 0) {
            return err;
        }
    }
    return err;
}

/* Counts, in h, every observer-week list's (kind's) managers with
 * ratings; a damaged list counts for nothing (so no count is made higher
 * by it). */
static int held_count(struct store_txn *t, unsigned kind, struct cw_held *h)
{
    uint8_t start = (uint8_t)kind;
    struct held_walk hw;
    int rc;

    memset(&hw, 0, sizeof(hw));
    hw.h = h;
    rc = store_txn_scan(t, t->s->dbi_agg, &start, 1, 0, held_count_cb, &hw);
    agg_seen_free(&hw.l);
    return rc;
}

int agg_seen_raters_migrate(struct store_txn *t, uint64_t *values)
{
    int rc = 0;

    *values = 0;
    for (unsigned asg = 0; asg < 2 && rc == 0; asg++) {
        struct cw_held h;

        memset(&h, 0, sizeof(h));
        rc = held_read(t, AGG_COACH_WEEK | (asg ? AGG_ASSIGNED : 0u), &h);
        if (rc == 0) {
            rc = held_count(t, AGG_OBSERVER_WEEK | (asg ? AGG_ASSIGNED : 0u), &h);
        }
        /* Each value rewritten with its count, never above the lists'
         * observers with ratings (a value whose ratings are fewer than its
         * count only a damaged list could give; verify names either). */
        for (size_t i = 0; i < h.n && rc == 0; i++) {
            if (h.e[i].raters > h.e[i].count) {
                h.e[i].raters = h.e[i].count;
            }
            rc = cw_put(t, h.key[i].b, h.key[i].len, &h.e[i]);
            *values += rc == 0;
        }
        free(h.key);
        free(h.e);
    }
    return rc == -ENOMEM ? STORE_TXN_ABORT(ENOMEM) : rc;
}

/* ---- Reading ------------------------------------------------------------ */

int agg_read_coached(struct store_txn *t, const char *observer, const char *rubric_id,
                     int32_t from_monday, int32_t until_monday, agg_coached_cb cb, void *arg)
{
    return agg_read_coached_of(t, 0, observer, rubric_id, from_monday, until_monday, cb, arg);
}

/* agg_read_listed()'s walk: the last observer called and the caller's
 * callback. */
struct listed_walk {
    char last[VALIDATE_MAX_ID + 1];
    int (*cb)(const char *observer, void *arg);
    void *arg;
};

static int listed_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct listed_walk *lw = arg;
    char id[VALIDATE_MAX_ID + 1];
    size_t slen;

    (void)val;
    (void)vlen;
    /* A key too short for its scope, or a scope no id can be, is damage
     * verify names: skipped. */
    if (klen < 3 || (slen = key[1]) == 0 || slen > VALIDATE_MAX_ID || slen + 2 > klen ||
        memchr(key + 2, '\0', slen) != NULL) {
        return 0;
    }
    memcpy(id, key + 2, slen);
    id[slen] = '\0';
    if (strcmp(id, lw->last) == 0) {
        return 0;
    }
    memcpy(lw->last, id, slen + 1);
    return lw->cb(id, lw->arg);
}

int agg_read_listed(struct store_txn *t, int (*cb)(const char *observer, void *arg), void *arg)
{
    uint8_t start = AGG_OBSERVER_WEEK;
    struct listed_walk lw;

    lw.last[0] = '\0';
    lw.cb = cb;
    lw.arg = arg;
    /* Keys sort by kind, scope length and scope, so each observer's lists
     * are together: an observer is called once, at their first list. */
    return store_txn_scan(t, t->s->dbi_agg, &start, 1, 0, listed_cb, &lw);
}

/* What a reader's callback gets for a manager: what an AGG_OBSERVER_COACH
 * value gave, the observations and one behaviour, every rated one, when
 * there are ratings. Made once per read (an AggWeek's initialiser writes
 * every one of its fields); call_cb() changes only these. */
struct cb_week {
    Coachq__V1__AggWeek w;
    Coachq__V1__AggBehaviour b;
    Coachq__V1__AggBehaviour *bp;
    agg_coach_week_cb raters_cb; /* agg_read_coach_weeks()'s, or NULL */
};

static void cb_week_init(struct cb_week *cw)
{
    Coachq__V1__AggWeek w = COACHQ__V1__AGG_WEEK__INIT;
    Coachq__V1__AggBehaviour b = COACHQ__V1__AGG_BEHAVIOUR__INIT;

    cw->w = w;
    cw->b = b;
    cw->b.id = (char *)AGG_RATED;
    cw->bp = &cw->b;
    cw->w.behaviours = &cw->bp;
    cw->raters_cb = NULL;
}

/* Calls cb with a manager's figures e in cw. Returns cb's result. */
static int call_cb(struct cb_week *cw, int32_t monday, const struct agg_seen_ent *e,
                   agg_coached_cb cb, void *arg)
{
    cw->w.observations = (uint64_t)e->observations;
    cw->w.n_behaviours = e->count > 0;
    cw->b.count = (uint64_t)e->count;
    cw->b.sum = (double)e->sum;
    cw->b.sumsq = (double)e->sumsq;
    cw->b.proficient = (uint64_t)e->proficient;
    return cb != NULL ? cb(monday, e->coach, &cw->w, arg) : 0;
}

/* Calls cb for every manager of the stored list p[0..n) of the week monday.
 * Returns 0 to go on, 1 when cb stopped, or a negative code (-EIO for a
 * list that is not well formed, logged). */
static int read_list(struct cb_week *cw, int32_t monday, const uint8_t *p, size_t n,
                     agg_coached_cb cb, void *arg)
{
    const uint8_t *q = p + SEEN_HEADER;
    const uint8_t *end = p + n;
    struct agg_seen_ent e;
    size_t count = 0;
    int rc = seen_header(p, n, &count);

    for (size_t i = 0; i < count && rc == 0; i++) {
        rc = seen_next(&q, end, &e);
        if (rc != 0) {
            break;
        }
        rc = call_cb(cw, monday, &e, cb, arg);
        if (rc != 0) {
            return rc > 0 ? 1 : rc;
        }
    }
    if (rc == 0 && q != end) {
        rc = -EIO;
    }
    if (rc == -EIO) {
        log_event(LOG_ERROR, "agg_value_corrupt", "size=%zu", n);
    }
    return rc;
}

/* The figures of the coach-week value v of coach (clen bytes at coach) of
 * the week monday to cb. Returns 0 to go on, 1 when cb stopped, or a
 * negative code (-EIO for a key or value not well formed, logged). */
static int read_coach_week(struct cb_week *cw, int32_t monday, const uint8_t *coach, size_t clen,
                           const MDB_val *v, agg_coached_cb cb, void *arg)
{
    struct agg_seen_ent e;
    int rc;

    if (clen == 0 || clen > VALIDATE_MAX_ID || memchr(coach, '\0', clen) != NULL ||
        cw_decode(v->mv_data, v->mv_size, &e) != 0) {
        log_event(LOG_ERROR, "agg_value_corrupt", "size=%zu", v->mv_size);
        return -EIO;
    }
    memcpy(e.coach, coach, clen);
    e.coach[clen] = '\0';
    e.clen = clen;
    if (cw->raters_cb != NULL) {
        /* A count no sound value holds (above its ratings, or none beside
         * ratings: each observer counted has at least one) is given as
         * unknown, so that a damaged count never lets a cell through. */
        int64_t raters = e.raters > e.count || (e.raters == 0 && e.count > 0) ? -1 : e.raters;

        call_cb(cw, monday, &e, NULL, NULL);
        rc = cw->raters_cb(monday, e.coach, &cw->w, raters, arg);
        return rc > 0 ? 1 : rc;
    }
    rc = call_cb(cw, monday, &e, cb, arg);
    return rc > 0 ? 1 : rc;
}

/* Calls cb for every manager of the lists of (kind, scope, rubric_id) in
 * the window, week by week: of an observer's lists (AGG_OBSERVER_WEEK,
 * scope the observer), a key per week; of the coach-week values
 * (AGG_COACH_WEEK, scope AGG_ORG_ALL), a key per week and coach, the
 * coach last, so the same walk gives every coach of a week in id order. */
static int read_lists(struct store_txn *t, unsigned kind, const char *observer,
                      const char *rubric_id, int32_t from_monday, int32_t until_monday,
                      agg_coached_cb cb, void *arg)
{
    struct keys_buf k;
    MDB_cursor *cur = NULL;
    MDB_val kv, vv;
    size_t plen;
    struct cb_week cw;
    int coaches = AGG_KIND_COACHES(kind);
    int err = 0;
    int rc;

    cb_week_init(&cw);
    if (observer == NULL || strlen(observer) > VALIDATE_MAX_ID ||
        agg_key(&k, kind, observer, rubric_id, 0, 0) != 0) {
        return -EINVAL;
    }
    plen = k.len;
    /* Any day of a week stands for its week. */
    from_monday = agg_week_of(from_monday);
    until_monday = agg_week_of(until_monday);
    if (agg_key(&k, kind, observer, rubric_id, 1, from_monday) != 0) {
        return -EINVAL;
    }
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    kv.mv_data = k.b;
    kv.mv_size = k.len;
    for (rc = mdb_cursor_get(cur, &kv, &vv, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &kv, &vv, MDB_NEXT)) {
        const uint8_t *key = kv.mv_data;
        int32_t monday;

        if (kv.mv_size < plen || memcmp(key, k.b, plen) != 0) {
            break;
        }
        /* The prefix matched: the week follows and ends an observer's key,
         * and is followed by the coach in a coach-week key. */
        if (coaches ? kv.mv_size <= plen + 4 : kv.mv_size != plen + 4) {
            log_event(LOG_ERROR, "agg_key_corrupt", "size=%zu", kv.mv_size);
            err = -EIO;
            break;
        }
        monday = keys_day_decode(key + plen);
        if (monday > until_monday) {
            break;
        }
        err = coaches ? read_coach_week(&cw, monday, key + plen + 4, kv.mv_size - plen - 4, &vv, cb,
                                        arg)
                      : read_list(&cw, monday, vv.mv_data, vv.mv_size, cb, arg);
        if (err != 0) {
            err = err > 0 ? 0 : err;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (err != 0 || rc == 0 || rc == MDB_NOTFOUND) {
        return err;
    }
    return mdberr_errno(rc);
}

int agg_read_coached_of(struct store_txn *t, int assigned, const char *observer,
                        const char *rubric_id, int32_t from_monday, int32_t until_monday,
                        agg_coached_cb cb, void *arg)
{
    return read_lists(t, assigned ? AGG_OBSERVER_WEEK_ASG : AGG_OBSERVER_WEEK, observer, rubric_id,
                      from_monday, until_monday, cb, arg);
}

int agg_read_coaches(struct store_txn *t, int assigned, const char *rubric_id, int32_t from_monday,
                     int32_t until_monday, agg_coached_cb cb, void *arg)
{
    return read_lists(t, assigned ? AGG_COACH_WEEK_ASG : AGG_COACH_WEEK, AGG_ORG_ALL, rubric_id,
                      from_monday, until_monday, cb, arg);
}

int agg_read_coach_weeks(struct store_txn *t, int assigned, const char *rubric_id,
                         const char *const *coaches, size_t ncoaches, int32_t from_monday,
                         int32_t until_monday, agg_coach_week_cb cb, void *arg)
{
    unsigned kind = assigned ? AGG_COACH_WEEK_ASG : AGG_COACH_WEEK;
    uint8_t key[AGG_KEY_MAX];
    struct keys_buf k;
    struct cb_week cw;
    MDB_cursor *cur = NULL;
    size_t plen;
    int err = 0;
    int rc;

    cb_week_init(&cw);
    cw.raters_cb = cb;
    from_monday = agg_week_of(from_monday);
    until_monday = agg_week_of(until_monday);
    if (agg_key(&k, kind, AGG_ORG_ALL, rubric_id, 1, from_monday) != 0) {
        return -EINVAL;
    }
    for (size_t i = 0; i < ncoaches; i++) {
        size_t clen = strlen(coaches[i]);

        if (clen == 0 || clen > VALIDATE_MAX_ID ||
            (i > 0 && strcmp(coaches[i - 1], coaches[i]) >= 0)) {
            return -EINVAL;
        }
    }
    /* The key without its week, then each week's and coach's in turn. */
    plen = k.len - 4;
    memcpy(key, k.b, plen);
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    /* In key order (week, then coach): LMDB finds a key on the page the
     * cursor is on without a descent from the root. */
    for (int32_t monday = from_monday; monday <= until_monday && err == 0; monday += 7) {
        keys_day_encode(monday, key + plen);
        for (size_t i = 0; i < ncoaches && err == 0; i++) {
            size_t clen = strlen(coaches[i]);
            MDB_val kv, vv;

            memcpy(key + plen + 4, coaches[i], clen);
            kv.mv_data = key;
            kv.mv_size = plen + 4 + clen;
            rc = mdb_cursor_get(cur, &kv, &vv, MDB_SET);
            if (rc == MDB_NOTFOUND) {
                continue;
            }
            if (rc != 0) {
                err = mdberr_errno(rc);
                break;
            }
            err = read_coach_week(&cw, monday, (const uint8_t *)coaches[i], clen, &vv, NULL, arg);
        }
    }
    mdb_cursor_close(cur);
    return err > 0 ? 0 : err;
}
