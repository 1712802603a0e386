/*
 * agg_impact: the impact blocks (AGG_IMPACT, aggregate format 6), one value
 * per front-line manager, rubric and block of AGG_IMPACT_WEEKS weeks,
 * holding what a reader of moments takes from that manager's AGG_COACH
 * weeks (agg.h, "Impact blocks"), so that Programme impact reads a few
 * values per manager instead of one per week, each naming every behaviour.
 *
 * A block is made from the stored AGG_COACH values of its weeks and only
 * from them (block_make()), by the writer for every block its batch
 * touched, after the batch's values are written, by the rebuild and by the
 * migrations to formats 6 and 7: so a manager's block (AGG_IMPACT) equals
 * what its weeks' values make, and verify checks that of every block (the
 * weeks' values themselves are checked against the records). A line-coach
 * block is patched instead (below), so it equals what its weeks make
 * unless a week was damaged after it was made.
 *
 * Format 7 adds each week's session seconds (block version 2) and the
 * line-coach blocks (AGG_LINE_IMPACT), made the same way from a line's
 * view of a coach (AGG_LINE_COACH values) but without behaviours, which no
 * reader of that scope takes from a block: My managers reads its team
 * results' quarters from them, and its cadence's observed minutes from the
 * seconds of the managers' own blocks. The writer patches a line-coach
 * block (line_patch(): the touched week's slot, the others copied) instead
 * of making it again from up to 16 weeks, which its weeks of one size
 * allow; test_agg_line_impact checks that the patched blocks are byte for
 * byte what the weeks make.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"
#include "log.h"
#include "mdberr.h"
#include "store_int.h"

/* Header: u8 version, u8 flags, u16 week mask, u32 number of behaviours. */
#define IMP_HEAD 8
/* A week: u32 observations, u32 index_n, f64 index_sum, f64 index_sumsq,
 * u32 mix[AGG_NMIX], u64 seconds. */
#define IMP_MIX 24
#define IMP_SECONDS (IMP_MIX + 4 * AGG_NMIX)
#define IMP_WEEK (IMP_SECONDS + 8)
/* A behaviour of a week: u32 count, u64 sum, u64 sum of squares. */
#define IMP_BEH 20

_Static_assert(AGG_IMPACT_WEEKS == 16, "the week mask is a u16");

/* Floor division, for days before 1970. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int32_t agg_impact_block_of(int32_t day)
{
    /* Weeks are counted from the Monday 1970-01-05 (day 4). */
    int64_t week = floor_div((int64_t)agg_week_of(day) - 4, 7);

    return (int32_t)(4 + 7 * AGG_IMPACT_WEEKS * floor_div(week, AGG_IMPACT_WEEKS));
}

/* The block kind of the weekly values of kind (AGG_COACH and its twin,
 * AGG_LINE_COACH), or 0 for a kind with no blocks. */
static unsigned block_kind_of(unsigned kind)
{
    if ((kind & ~AGG_ASSIGNED) == AGG_COACH) {
        return (kind & AGG_ASSIGNED) | AGG_IMPACT;
    }
    return kind == AGG_LINE_COACH ? AGG_LINE_IMPACT : 0;
}

/* The kind of the weekly values a block kind is made of (the inverse of
 * block_kind_of()), or 0. */
static unsigned week_kind_of(unsigned bkind)
{
    if ((bkind & ~AGG_ASSIGNED) == AGG_IMPACT) {
        return (bkind & AGG_ASSIGNED) | AGG_COACH;
    }
    return bkind == AGG_LINE_IMPACT ? AGG_LINE_COACH : 0;
}

/* Whether blocks of the block kind list behaviours: the line-coach blocks
 * do not (no reader of that scope takes one from a block). */
static int block_has_beh(unsigned bkind)
{
    return bkind != AGG_LINE_IMPACT;
}

/* A block's weeks as their AGG_COACH values give them (v[k] for the k-th
 * week, have bit k when stored) and the union of their behaviours' ids in
 * the order first met. */
struct imp_src {
    const struct agg_val *v[AGG_IMPACT_WEEKS];
    struct agg_val own[AGG_IMPACT_WEEKS]; /* what v points at when decoded */
    unsigned have;
    const char **ids;
    size_t nids, cap;
    int with_beh; /* 0: the block lists no behaviour (block_has_beh()) */
};

static void src_free(struct imp_src *s)
{
    for (size_t k = 0; k < AGG_IMPACT_WEEKS; k++) {
        agg_val_free(&s->own[k]);
    }
    free(s->ids);
    memset(s, 0, sizeof(*s));
}

/* The index of id among s->ids, or nids. Behaviours are the rubric's (a
 * few), so a linear search serves. */
static size_t src_find(const struct imp_src *s, const char *id)
{
    for (size_t i = 0; i < s->nids; i++) {
        if (strcmp(s->ids[i], id) == 0) {
            return i;
        }
    }
    return s->nids;
}

/* Collects the ids of s's weeks. Returns 0 or -ENOMEM. */
static int src_ids(struct imp_src *s)
{
    for (size_t k = 0; k < AGG_IMPACT_WEEKS; k++) {
        for (size_t j = 0; (s->have >> k & 1u) && j < s->v[k]->nb; j++) {
            if (src_find(s, s->v[k]->b[j].id) < s->nids) {
                continue;
            }
            if (s->nids == s->cap) {
                size_t cap = s->cap == 0 ? 16 : 2 * s->cap;
                const char **ids = realloc(s->ids, cap * sizeof(*ids));

                if (ids == NULL) {
                    return -ENOMEM;
                }
                s->ids = ids;
                s->cap = cap;
            }
            s->ids[s->nids++] = s->v[k]->b[j].id;
        }
    }
    return 0;
}

/* Writes v's figures as a block's week (IMP_WEEK bytes) at p. Returns 0,
 * or -ERANGE for a figure a normalised value cannot hold. */
static int week_put(uint8_t *p, const struct agg_val *v)
{
    if (v->observations < 0 || v->observations > UINT32_MAX || v->index_n < 0 ||
        v->index_n > UINT32_MAX || v->seconds < 0) {
        return -ERANGE;
    }
    keys_put_le32(p, (uint32_t)v->observations);
    keys_put_le32(p + 4, (uint32_t)v->index_n);
    keys_put_lef64(p + 8, v->index_sum);
    keys_put_lef64(p + 16, v->index_sumsq);
    for (size_t i = 0; i < AGG_NMIX; i++) {
        if (v->mix[i] < 0 || v->mix[i] > UINT32_MAX) {
            return -ERANGE;
        }
        keys_put_le32(p + IMP_MIX + 4 * i, (uint32_t)v->mix[i]);
    }
    keys_put_le64(p + IMP_SECONDS, (uint64_t)v->seconds);
    return 0;
}

/* The value s makes into *out (malloc'ed, the caller frees it) and its
 * size into *n; *out NULL when s has no week. Returns 0, -ERANGE for a
 * figure a normalised AGG_COACH value cannot hold, or -ENOMEM. */
static int src_encode(struct imp_src *s, uint8_t **out, size_t *n)
{
    size_t size = IMP_HEAD;
    size_t nweeks = 0;
    uint8_t *p;
    int rc;

    *out = NULL;
    *n = 0;
    if (s->have == 0) {
        return 0;
    }
    rc = s->with_beh ? src_ids(s) : 0;
    if (rc != 0) {
        return rc;
    }
    if (s->nids > UINT32_MAX) {
        return -ERANGE;
    }
    for (size_t i = 0; i < s->nids; i++) {
        size += 1 + strlen(s->ids[i]);
    }
    for (size_t k = 0; k < AGG_IMPACT_WEEKS; k++) {
        nweeks += s->have >> k & 1u;
    }
    size += nweeks * (IMP_WEEK + s->nids * IMP_BEH);
    p = malloc(size);
    if (p == NULL) {
        return -ENOMEM;
    }
    *out = p;
    *n = size;
    p[0] = AGG_IMPACT_VERSION;
    p[1] = 0;
    p[2] = (uint8_t)s->have;
    p[3] = (uint8_t)(s->have >> 8);
    keys_put_le32(p + 4, (uint32_t)s->nids);
    p += IMP_HEAD;
    for (size_t i = 0; i < s->nids; i++) {
        size_t len = strlen(s->ids[i]);

        p[0] = (uint8_t)len;
        memcpy(p + 1, s->ids[i], len);
        p += 1 + len;
    }
    for (size_t k = 0; k < AGG_IMPACT_WEEKS; k++) {
        const struct agg_val *v = s->v[k];

        if (!(s->have >> k & 1u)) {
            continue;
        }
        if (week_put(p, v) != 0) {
            return -ERANGE;
        }
        p += IMP_WEEK;
        memset(p, 0, s->nids * IMP_BEH);
        for (size_t j = 0; s->with_beh && j < v->nb; j++) {
            const struct agg_beh *b = &v->b[j];
            uint8_t *q = p + src_find(s, b->id) * IMP_BEH;

            if (b->count < 0 || b->count > UINT32_MAX || b->sum < 0 || b->sumsq < 0) {
                return -ERANGE;
            }
            keys_put_le32(q, (uint32_t)b->count);
            keys_put_le64(q + 4, (uint64_t)b->sum);
            keys_put_le64(q + 12, (uint64_t)b->sumsq);
        }
        p += s->nids * IMP_BEH;
    }
    return 0;
}

/* The block key of an AGG_COACH key (or twin) or AGG_LINE_COACH key into
 * out (AGG_KEY_MAX): the same key with the block's kind (block_kind_of())
 * and the block's first Monday. Returns 0, or -EINVAL for a key too short
 * to have a week or of a kind with no blocks. */
static int block_key(const uint8_t *key, size_t klen, uint8_t *out)
{
    if (klen < 5 || klen > AGG_KEY_MAX || block_kind_of(key[0]) == 0) {
        return -EINVAL;
    }
    memcpy(out, key, klen - 4);
    out[0] = (uint8_t)block_kind_of(key[0]);
    keys_day_encode(agg_impact_block_of(keys_day_decode(key + klen - 4)), out + klen - 4);
    return 0;
}

/* What the stored AGG_COACH values (kind and prefix of bkey, a block key
 * of blen bytes) of the block's weeks make, into *out and *n as
 * src_encode() gives them. A week whose value does not decode is left
 * out (logged), as the migration to format 5 leaves it out of the
 * coach-week values: verify names the value and the block, --repair
 * makes both again, and meanwhile neither the open nor a batch touching
 * another week of the block is stopped by it. Returns 0, -ERANGE (see
 * src_encode()), -ENOMEM or an mdberr_errno() code. */
static int block_make(struct store_txn *t, const uint8_t *bkey, size_t blen, uint8_t **out,
                      size_t *n)
{
    uint8_t k[AGG_KEY_MAX];
    int32_t first = keys_day_decode(bkey + blen - 4);
    struct imp_src s;
    MDB_cursor *cur;
    MDB_val kv, vv;
    int rc, err = 0;

    *out = NULL;
    *n = 0;
    memset(&s, 0, sizeof(s));
    s.with_beh = block_has_beh(bkey[0]);
    memcpy(k, bkey, blen);
    k[0] = (uint8_t)week_kind_of(bkey[0]);
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    kv.mv_data = k;
    kv.mv_size = blen;
    for (rc = mdb_cursor_get(cur, &kv, &vv, MDB_SET_RANGE); rc == 0 && err == 0;
         rc = mdb_cursor_get(cur, &kv, &vv, MDB_NEXT)) {
        int64_t week;

        if (kv.mv_size != blen || memcmp(kv.mv_data, k, blen - 4) != 0) {
            break;
        }
        week = ((int64_t)keys_day_decode((const uint8_t *)kv.mv_data + blen - 4) - first) / 7;
        if (week < 0 || week >= AGG_IMPACT_WEEKS) {
            break;
        }
        err = agg_val_decode_part(&s.own[week], vv.mv_data, vv.mv_size,
                                  s.with_beh ? AGG_DECODE_ALL : AGG_DECODE_HEAD);
        if (err == -EIO) {
            log_event(LOG_ERROR, "agg_value_corrupt", "op=impact size=%zu", vv.mv_size);
            err = 0;
            continue;
        }
        s.v[week] = &s.own[week];
        s.have |= 1u << week;
    }
    mdb_cursor_close(cur);
    if (err == 0 && rc != 0 && rc != MDB_NOTFOUND) {
        err = mdberr_errno(rc);
    }
    if (err == 0) {
        err = src_encode(&s, out, n);
    }
    if (err != 0) {
        free(*out);
        *out = NULL;
    }
    src_free(&s);
    return err;
}

/* Writes (or deletes, when its weeks have no value) the block bkey. */
static int block_write(struct store_txn *t, const uint8_t *bkey, size_t blen)
{
    uint8_t *val;
    size_t n;
    int rc = block_make(t, bkey, blen, &val, &n);

    if (rc == 0) {
        rc = val == NULL ? store_txn_del(t, t->s->dbi_agg, bkey, blen)
                         : store_txn_put_raw(t, t->s->dbi_agg, bkey, blen, val, n, NULL);
    }
    free(val);
    return rc;
}

static unsigned mask_weeks(unsigned mask)
{
    unsigned n = 0;

    for (unsigned k = 0; k < AGG_IMPACT_WEEKS; k++) {
        n += mask >> k & 1u;
    }
    return n;
}

/*
 * The writer's upkeep of a line-coach block (no behaviour, so every week
 * is IMP_WEEK bytes): the week of the AGG_LINE_COACH key wkey, just
 * written or deleted by the flush, replaces its slot of the stored block
 * (added, or taken out), and the block's other weeks are copied as they
 * are, so the batch reads one week and one block, not every week of the
 * block. What holds: the untouched weeks' slots stay what they were, so a
 * block that was what its weeks make before the batch is so after; one
 * that was not (a week damaged after the block was made keeps its last
 * figures there) stays off by the same slots until --repair, which verify
 * names. When the block is missing (other weeks of it may be stored), is
 * not a well-formed line-coach block, or the week's value does not decode,
 * the block is made from its weeks instead (block_write(), which leaves a
 * damaged week out), never from the touched week alone. Returns as
 * block_write().
 */
static int line_patch(struct store_txn *t, const uint8_t *wkey, size_t klen)
{
    uint8_t bk[AGG_KEY_MAX];
    struct agg_val v;
    MDB_val wv, bv;
    unsigned mask = 0, now, bit;
    const uint8_t *old = NULL;
    uint8_t *out = NULL, *p;
    int present = 0, rc;

    if (block_key(wkey, klen, bk) != 0) {
        return 0;
    }
    bit = 1u << ((keys_day_decode(wkey + klen - 4) - keys_day_decode(bk + klen - 4)) / 7);
    memset(&v, 0, sizeof(v));
    rc = store_txn_get_raw(t, t->s->dbi_agg, wkey, klen, &wv);
    if (rc == 0) {
        rc = agg_val_decode_part(&v, wv.mv_data, wv.mv_size, AGG_DECODE_HEAD);
        present = rc == 0;
    }
    if (rc == -EIO) {
        log_event(LOG_ERROR, "agg_value_corrupt", "op=impact size=%zu", wv.mv_size);
        rc = block_write(t, bk, klen);
        goto out;
    }
    if (rc != 0 && rc != -ENOENT) {
        goto out;
    }
    rc = store_txn_get_raw(t, t->s->dbi_agg, bk, klen, &bv);
    if (rc == 0) {
        old = bv.mv_data;
        mask = bv.mv_size >= IMP_HEAD ? (unsigned)old[2] | (unsigned)old[3] << 8 : 0;
        if (bv.mv_size < IMP_HEAD || old[0] != AGG_IMPACT_VERSION || old[1] != 0 || mask == 0 ||
            keys_get_le32(old + 4) != 0 || bv.mv_size != IMP_HEAD + mask_weeks(mask) * IMP_WEEK) {
            rc = block_write(t, bk, klen);
            goto out;
        }
        old += IMP_HEAD;
    } else {
        /* No block to patch, though other weeks of it may be stored (a
         * block deleted by hand, or lost): made from its weeks, so a
         * patch never writes a block of the touched week alone. */
        if (rc == -ENOENT) {
            rc = block_write(t, bk, klen);
        }
        goto out;
    }
    now = (mask & ~bit) | (present ? bit : 0u);
    if (now == 0) {
        rc = mask != 0 ? store_txn_del(t, t->s->dbi_agg, bk, klen) : 0;
        goto out;
    }
    out = malloc(IMP_HEAD + mask_weeks(now) * IMP_WEEK);
    if (out == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    out[0] = AGG_IMPACT_VERSION;
    out[1] = 0;
    out[2] = (uint8_t)now;
    out[3] = (uint8_t)(now >> 8);
    keys_put_le32(out + 4, 0);
    p = out + IMP_HEAD;
    for (unsigned k = 0; k < AGG_IMPACT_WEEKS; k++) {
        unsigned b = 1u << k;

        if ((now & b) && b == bit) {
            rc = week_put(p, &v);
            if (rc != 0) {
                goto out;
            }
            p += IMP_WEEK;
        } else if (now & b) {
            memcpy(p, old, IMP_WEEK);
            p += IMP_WEEK;
        }
        if (mask & b) {
            old += IMP_WEEK;
        }
    }
    rc = store_txn_put_raw(t, t->s->dbi_agg, bk, klen, out, (size_t)(p - out), NULL);
out:
    free(out);
    agg_val_free(&v);
    return rc;
}

int agg_impact_write(struct store_txn *t, struct agg_ent *const *ents, size_t n)
{
    uint8_t last[AGG_KEY_MAX];
    size_t lastlen = 0;
    int rc = 0;

    /* ents are in key order, so a block's weeks come one after another. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t bk[AGG_KEY_MAX];
        const struct agg_ent *e = ents[i];

        if (e->klen < 1 || block_key(e->key, e->klen, bk) != 0) {
            continue;
        }
        /* A line-coach block is patched week by week. */
        if (e->key[0] == AGG_LINE_COACH) {
            rc = line_patch(t, e->key, e->klen);
            continue;
        }
        if (e->klen == lastlen && memcmp(bk, last, lastlen) == 0) {
            continue;
        }
        memcpy(last, bk, e->klen);
        lastlen = e->klen;
        rc = block_write(t, bk, e->klen);
    }
    return agg_write_fail(rc);
}

/* Every block key of the stored weekly values of one kind, one after
 * another in keys (length byte, key). */
struct blocks {
    uint8_t *b;
    size_t len, cap;
    uint64_t n;
};

static int blocks_collect(struct store_txn *t, unsigned kind, struct blocks *bl)
{
    uint8_t start = (uint8_t)kind;
    uint8_t last[AGG_KEY_MAX];
    size_t lastlen = 0;
    MDB_cursor *cur;
    MDB_val kv, vv;
    int rc, err = 0;

    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    kv.mv_data = &start;
    kv.mv_size = 1;
    for (rc = mdb_cursor_get(cur, &kv, &vv, MDB_SET_RANGE); rc == 0 && err == 0;
         rc = mdb_cursor_get(cur, &kv, &vv, MDB_NEXT)) {
        uint8_t bk[AGG_KEY_MAX];

        if (((const uint8_t *)kv.mv_data)[0] != kind) {
            break;
        }
        /* A key too short to name a week is damage, left out as a value
         * that does not decode is (verify names it, --repair deletes it). */
        if (block_key(kv.mv_data, kv.mv_size, bk) != 0) {
            log_event(LOG_ERROR, "agg_value_corrupt", "op=impact klen=%zu", kv.mv_size);
            continue;
        }
        if (kv.mv_size == lastlen && memcmp(bk, last, lastlen) == 0) {
            continue;
        }
        memcpy(last, bk, kv.mv_size);
        lastlen = kv.mv_size;
        if (bl->len + 1 + lastlen > bl->cap) {
            size_t cap = bl->cap == 0 ? 4096 : 2 * bl->cap;
            uint8_t *p = realloc(bl->b, cap);

            if (p == NULL) {
                err = -ENOMEM;
                break;
            }
            bl->b = p;
            bl->cap = cap;
        }
        bl->b[bl->len] = (uint8_t)lastlen;
        memcpy(bl->b + bl->len + 1, bk, lastlen);
        bl->len += 1 + lastlen;
        bl->n++;
    }
    mdb_cursor_close(cur);
    if (err == 0 && rc != 0 && rc != MDB_NOTFOUND) {
        err = mdberr_errno(rc);
    }
    return err;
}

int agg_impact_build_all(struct store_txn *t, unsigned which, uint64_t *blocks)
{
    static const unsigned kinds[] = {AGG_COACH, AGG_COACH_ASG, AGG_LINE_COACH};
    struct blocks bl;
    int rc = 0;

    memset(&bl, 0, sizeof(bl));
    /* The keys are gathered first: the writes below go to the database
     * the walk reads. */
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && rc == 0; i++) {
        int line = kinds[i] == AGG_LINE_COACH;

        if ((line && (which & AGG_IMPACT_BUILD_LINE)) ||
            (!line && (which & AGG_IMPACT_BUILD_COACH))) {
            rc = blocks_collect(t, kinds[i], &bl);
        }
    }
    for (size_t at = 0; at < bl.len && rc == 0; at += 1 + bl.b[at]) {
        rc = block_write(t, bl.b + at + 1, bl.b[at]);
    }
    if (rc == -EIO) {
        log_event(LOG_ERROR, "agg_value_corrupt", "op=impact");
    }
    *blocks = bl.n;
    free(bl.b);
    return agg_write_fail(rc);
}

/* A block's value taken apart (block_parse()): the week mask, the
 * behaviours' ids and the weeks' bytes. */
struct imp_view {
    unsigned mask;
    size_t nb, nweeks;
    const uint8_t **id; /* each a length byte and the id */
    const uint8_t *weeks;
};

/* Takes val apart into v (v->id malloc'ed, the caller frees it). Returns
 * 0, -EIO for a value not well formed, or -ENOMEM. */
static int block_parse(const uint8_t *val, size_t vlen, struct imp_view *v)
{
    const uint8_t *p = val, *end = val + vlen;

    memset(v, 0, sizeof(*v));
    if (vlen < IMP_HEAD || p[0] != AGG_IMPACT_VERSION || p[1] != 0) {
        return -EIO;
    }
    v->mask = (unsigned)p[2] | (unsigned)p[3] << 8;
    v->nb = keys_get_le32(p + 4);
    if (v->mask == 0 || v->nb > vlen) {
        return -EIO;
    }
    v->id = malloc((v->nb + 1) * sizeof(*v->id));
    if (v->id == NULL) {
        return -ENOMEM;
    }
    p += IMP_HEAD;
    for (size_t i = 0; i < v->nb; i++) {
        if (p >= end || p[0] == 0 || p[0] > VALIDATE_MAX_ID || (size_t)(end - p) < 1u + p[0]) {
            return -EIO;
        }
        v->id[i] = p;
        p += 1 + p[0];
    }
    for (unsigned k = 0; k < AGG_IMPACT_WEEKS; k++) {
        v->nweeks += v->mask >> k & 1u;
    }
    v->weeks = p;
    return (size_t)(end - p) == v->nweeks * (IMP_WEEK + v->nb * IMP_BEH) ? 0 : -EIO;
}

static int near(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);

    return fabs(a - b) <= 1e-9 * (m > 1 ? m : 1);
}

/* Whether the blocks a and b hold the same figures: the same weeks and
 * behaviours (in any order: a value made incrementally lists them as the
 * records came), the whole numbers equal and the quality sums equal but
 * for rounding (summed in another order), as verify compares values. */
static int same_block(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    struct imp_view x, y;
    int rx = block_parse(a, alen, &x);
    int ry = block_parse(b, blen, &y);
    int same = rx == 0 && ry == 0 && x.mask == y.mask && x.nb == y.nb;
    size_t wsize = IMP_WEEK + x.nb * IMP_BEH;

    for (size_t w = 0; same && w < x.nweeks; w++) {
        const uint8_t *p = x.weeks + w * wsize, *q = y.weeks + w * wsize;

        same = memcmp(p, q, 8) == 0 && memcmp(p + 24, q + 24, IMP_WEEK - 24) == 0 &&
               near(keys_get_lef64(p + 8), keys_get_lef64(q + 8)) &&
               near(keys_get_lef64(p + 16), keys_get_lef64(q + 16));
        for (size_t i = 0; same && i < x.nb; i++) {
            size_t j = 0;

            while (j < y.nb && (x.id[i][0] != y.id[j][0] ||
                                memcmp(x.id[i] + 1, y.id[j] + 1, x.id[i][0]) != 0)) {
                j++;
            }
            same = j < y.nb &&
                   memcmp(p + IMP_WEEK + i * IMP_BEH, q + IMP_WEEK + j * IMP_BEH, IMP_BEH) == 0;
        }
    }
    free(x.id);
    free(y.id);
    return same;
}

int agg_impact_verify(const struct agg_map *m, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen)
{
    uint8_t wk[AGG_KEY_MAX];
    int32_t first;
    struct imp_src s;
    uint8_t *want;
    size_t n;
    int rc;

    if (klen < 5 || klen > AGG_KEY_MAX || !AGG_KIND_IMPACT(key[0])) {
        return 1;
    }
    first = keys_day_decode(key + klen - 4);
    if (agg_impact_block_of(first) != first) {
        return 1;
    }
    memset(&s, 0, sizeof(s));
    s.with_beh = block_has_beh(key[0]);
    memcpy(wk, key, klen);
    wk[0] = (uint8_t)week_kind_of(key[0]);
    for (size_t k = 0; k < AGG_IMPACT_WEEKS; k++) {
        struct agg_ent *e;

        keys_day_encode(first + 7 * (int32_t)k, wk + klen - 4);
        e = agg_map_find(m, wk, klen);
        /* The caller normalised the rebuilt values: one that adds up to
         * nothing is not stored, so it is not in a block either. */
        if (e != NULL && !agg_val_normalise(&e->v, e->key, e->klen)) {
            s.v[k] = &e->v;
            s.have |= 1u << k;
        }
    }
    rc = src_encode(&s, &want, &n);
    src_free(&s);
    if (rc == -ERANGE) {
        return 1;
    }
    if (rc != 0) {
        return rc;
    }
    rc = want == NULL || !same_block(want, n, val, vlen);
    free(want);
    return rc;
}

int agg_impact_has(struct store_txn *t, const uint8_t *key, size_t klen)
{
    uint8_t bk[AGG_KEY_MAX];
    MDB_val v;
    int rc;

    if (block_key(key, klen, bk) != 0) {
        return 0;
    }
    rc = store_txn_get_raw(t, t->s->dbi_agg, bk, klen, &v);
    return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

/* ---- Reading ------------------------------------------------------------ */

/* What agg_read_impact() keeps from block to block: the caller's ids, the
 * slot of each of a block's behaviours, and the week handed on. */
struct imp_read {
    const char *const *ids;
    size_t nids;
    size_t lens[AGG_SLOT_IDS_MAX];
    struct agg_slot_beh *b;
    size_t cap;
    struct agg_slots w;
};

/* The index of the id (len bytes at p) among r's ids, or -1. */
static int slot_of(const struct imp_read *r, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < r->nids; i++) {
        if (r->lens[i] == len && memcmp(r->ids[i], p, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Hands the weeks of the block stored at first (val, vlen) that lie in
 * [from, until] to cb, with their behaviours in [beh_from, beh_until].
 * Returns 0, 1 when cb stopped the read, -EIO, -ENOMEM or cb's code. */
static int read_block(struct imp_read *r, int32_t first, const uint8_t *val, size_t vlen,
                      int32_t from, int32_t until, int32_t beh_from, int32_t beh_until,
                      agg_slots_cb cb, void *arg)
{
    const uint8_t *p = val, *end = val + vlen;
    unsigned mask;
    uint64_t nb;
    size_t nweeks = 0;

    if (vlen < IMP_HEAD || p[0] != AGG_IMPACT_VERSION || p[1] != 0) {
        return -EIO;
    }
    mask = (unsigned)p[2] | (unsigned)p[3] << 8;
    nb = keys_get_le32(p + 4);
    if (mask == 0 || nb > vlen) {
        return -EIO;
    }
    if (nb > r->cap) {
        struct agg_slot_beh *b = realloc(r->b, nb * sizeof(*b));

        if (b == NULL) {
            return -ENOMEM;
        }
        r->b = b;
        r->cap = nb;
    }
    p += IMP_HEAD;
    for (size_t i = 0; i < nb; i++) {
        if (p >= end || p[0] == 0 || p[0] > VALIDATE_MAX_ID || (size_t)(end - p) < 1u + p[0]) {
            return -EIO;
        }
        r->b[i].slot = slot_of(r, p + 1, p[0]);
        r->b[i].proficient = 0;
        p += 1 + p[0];
    }
    for (unsigned k = 0; k < AGG_IMPACT_WEEKS; k++) {
        nweeks += mask >> k & 1u;
    }
    if ((size_t)(end - p) != nweeks * (IMP_WEEK + nb * IMP_BEH)) {
        return -EIO;
    }
    for (unsigned k = 0; k < AGG_IMPACT_WEEKS; k++) {
        int32_t monday = first + 7 * (int32_t)k;
        int with_beh = monday >= beh_from && monday <= beh_until;
        int rc;

        if (!(mask >> k & 1u)) {
            continue;
        }
        if (monday < from || monday > until) {
            p += IMP_WEEK + nb * IMP_BEH;
            continue;
        }
        r->w.observations = keys_get_le32(p);
        r->w.index_n = keys_get_le32(p + 4);
        r->w.index_sum = keys_get_lef64(p + 8);
        r->w.index_sumsq = keys_get_lef64(p + 16);
        for (size_t i = 0; i < AGG_NMIX; i++) {
            r->w.mix[i] = keys_get_le32(p + IMP_MIX + 4 * i);
        }
        r->w.seconds = keys_get_le64(p + IMP_SECONDS);
        p += IMP_WEEK;
        for (size_t i = 0; with_beh && i < nb; i++) {
            const uint8_t *q = p + i * IMP_BEH;

            r->b[i].count = keys_get_le32(q);
            r->b[i].sum = (double)keys_get_le64(q + 4);
            r->b[i].sumsq = (double)keys_get_le64(q + 12);
        }
        p += nb * IMP_BEH;
        r->w.nb = with_beh ? nb : 0;
        r->w.b = r->b;
        rc = cb(monday, &r->w, arg);
        if (rc != 0) {
            return rc > 0 ? 1 : rc;
        }
    }
    return 0;
}

int agg_read_impact(struct store_txn *t, enum agg_scope kind, const char *coach,
                    const char *rubric_id, int32_t from_monday, int32_t until_monday,
                    int32_t beh_from, int32_t beh_until, const char *const *ids, size_t nids,
                    agg_slots_cb cb, void *arg)
{
    struct keys_buf k;
    struct imp_read r;
    MDB_cursor *cur;
    MDB_val kv, vv;
    size_t plen;
    unsigned bkind = block_kind_of((unsigned)kind);
    int rc, err = 0;

    if (nids > AGG_SLOT_IDS_MAX || bkind == 0) {
        return -EINVAL;
    }
    from_monday = agg_week_of(from_monday);
    until_monday = agg_week_of(until_monday);
    if (beh_from <= beh_until) {
        beh_from = agg_week_of(beh_from);
        beh_until = agg_week_of(beh_until);
    }
    if (agg_key(&k, bkind, coach, rubric_id, 0, 0) != 0) {
        return -EINVAL;
    }
    plen = k.len;
    if (agg_key(&k, bkind, coach, rubric_id, 1, agg_impact_block_of(from_monday)) != 0) {
        return -EINVAL;
    }
    memset(&r, 0, sizeof(r));
    r.ids = ids;
    r.nids = nids;
    for (size_t i = 0; i < nids; i++) {
        r.lens[i] = strlen(ids[i]);
    }
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    kv.mv_data = k.b;
    kv.mv_size = k.len;
    for (rc = mdb_cursor_get(cur, &kv, &vv, MDB_SET_RANGE); rc == 0 && err == 0;
         rc = mdb_cursor_get(cur, &kv, &vv, MDB_NEXT)) {
        int32_t first;

        if (kv.mv_size != plen + 4 || memcmp(kv.mv_data, k.b, plen) != 0) {
            break;
        }
        first = keys_day_decode((const uint8_t *)kv.mv_data + plen);
        if (first > until_monday) {
            break;
        }
        err = read_block(&r, first, vv.mv_data, vv.mv_size, from_monday, until_monday, beh_from,
                         beh_until, cb, arg);
    }
    mdb_cursor_close(cur);
    free(r.b);
    if (err == -EIO) {
        log_event(LOG_ERROR, "agg_value_corrupt", "size=%zu", vv.mv_size);
    }
    if (err != 0) {
        return err > 0 ? 0 : err;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdberr_errno(rc);
}
