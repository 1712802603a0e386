/*
 * agg: the dashboards' aggregates (agg.h): values, weeks, keys, maps of keys
 * to values, and reading. What one record contributes is agg_record.c's,
 * the writer's hook agg_apply.c's, rebuild and verify agg_rebuild.c's
 * (agg_int.h).
 *
 * Values are worked on as struct agg_val, with signed counters, so that an
 * amendment's take-back and its new contribution can be summed into one
 * delta per key before anything is written.
 */
#include "agg.h"
#include "agg_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "day.h"
#include "keys.h"
#include "log.h"
#include "mdberr.h"
#include "store_int.h"

/* ---- Values ------------------------------------------------------------ */

void agg_val_free(struct agg_val *v)
{
    free(v->b);
    memset(v, 0, sizeof(*v));
}

void agg_val_clear(struct agg_val *v)
{
    struct agg_beh *b = v->b;
    size_t capb = v->capb;

    memset(v, 0, sizeof(*v));
    v->b = b;
    v->capb = capb;
}

struct agg_beh *agg_val_beh(struct agg_val *v, const char *id)
{
    for (size_t i = 0; i < v->nb; i++) {
        if (strcmp(v->b[i].id, id) == 0) {
            return &v->b[i];
        }
    }
    if (strlen(id) > VALIDATE_MAX_ID) {
        return NULL;
    }
    if (v->nb == v->capb) {
        size_t cap = v->capb != 0 ? v->capb * 2 : 12;
        struct agg_beh *nb = realloc(v->b, cap * sizeof(*nb));

        if (nb == NULL) {
            return NULL;
        }
        v->b = nb;
        v->capb = cap;
    }
    memset(&v->b[v->nb], 0, sizeof(v->b[0]));
    memcpy(v->b[v->nb].id, id, strlen(id)); /* at most VALIDATE_MAX_ID, checked above */
    return &v->b[v->nb++];
}

int agg_val_add(struct agg_val *dst, const struct agg_val *src, int sign)
{
    if (dst->nb == 0 && src->nb > 0) {
        /* Into an empty value (a key's first delta in a batch): the
         * behaviours are src's, in its order, with nothing to look up. */
        if (src->nb > dst->capb) {
            struct agg_beh *nb = realloc(dst->b, src->nb * sizeof(*nb));

            if (nb == NULL) {
                return -ENOMEM;
            }
            dst->b = nb;
            dst->capb = src->nb;
        }
        memset(dst->b, 0, src->nb * sizeof(*dst->b));
        for (size_t i = 0; i < src->nb; i++) {
            memcpy(dst->b[i].id, src->b[i].id, sizeof(dst->b[i].id));
        }
        dst->nb = src->nb;
    }
    for (size_t i = 0; i < src->nb; i++) {
        /* Values of one rubric list their behaviours in the same order, so
         * the same position is tried before the search. */
        struct agg_beh *b = i < dst->nb && strcmp(dst->b[i].id, src->b[i].id) == 0
                                ? &dst->b[i]
                                : agg_val_beh(dst, src->b[i].id);

        if (b == NULL) {
            return -ENOMEM;
        }
        b->count += sign * src->b[i].count;
        b->sum += sign * src->b[i].sum;
        b->sumsq += sign * src->b[i].sumsq;
        b->proficient += sign * src->b[i].proficient;
    }
    dst->observations += sign * src->observations;
    dst->seconds += sign * src->seconds;
    for (int i = 0; i < AGG_NMARKERS; i++) {
        dst->markers[i] += sign * src->markers[i];
    }
    dst->index_n += sign * src->index_n;
    dst->index_sum += sign * src->index_sum;
    dst->index_sumsq += sign * src->index_sumsq;
    dst->self_n += sign * src->self_n;
    dst->self_s += sign * src->self_s;
    dst->actions += sign * src->actions;
    dst->double_coded += sign * src->double_coded;
    for (int i = 0; i < AGG_NPAIRS; i++) {
        dst->pairs[i] += sign * src->pairs[i];
    }
    for (int i = 0; i < AGG_NMIX; i++) {
        dst->mix[i] += sign * src->mix[i];
    }
    for (int i = 0; i < AGG_NMIXQ; i++) {
        dst->mix_q[i] += sign * src->mix_q[i];
    }
    dst->rec_n += sign * src->rec_n;
    dst->rec_rep_first += sign * src->rec_rep_first;
    return 0;
}

static void clamp(int64_t *x, int *neg)
{
    if (*x < 0) {
        *x = 0;
        *neg = 1;
    }
}

int agg_val_normalise(struct agg_val *v, const uint8_t *key, size_t klen)
{
    int neg = 0;
    size_t o = 0;
    int empty;

    for (size_t i = 0; i < v->nb; i++) {
        clamp(&v->b[i].count, &neg);
        clamp(&v->b[i].proficient, &neg);
        if (v->b[i].count != 0) {
            v->b[o++] = v->b[i];
        }
    }
    v->nb = o;
    clamp(&v->observations, &neg);
    clamp(&v->seconds, &neg);
    clamp(&v->index_n, &neg);
    clamp(&v->self_n, &neg);
    clamp(&v->actions, &neg);
    clamp(&v->double_coded, &neg);
    clamp(&v->rec_n, &neg);
    clamp(&v->rec_rep_first, &neg);
    empty = v->nb == 0 && v->observations == 0 && v->seconds == 0 && v->index_n == 0 &&
            v->self_n == 0 && v->actions == 0 && v->double_coded == 0 && v->rec_n == 0 &&
            v->rec_rep_first == 0;
    for (int i = 0; i < AGG_NMARKERS; i++) {
        clamp(&v->markers[i], &neg);
        empty = empty && v->markers[i] == 0;
    }
    for (int i = 0; i < AGG_NPAIRS; i++) {
        clamp(&v->pairs[i], &neg);
        empty = empty && v->pairs[i] == 0;
    }
    for (int i = 0; i < AGG_NMIX; i++) {
        clamp(&v->mix[i], &neg);
        empty = empty && v->mix[i] == 0;
    }
    for (int i = 0; i < AGG_NFOCUS; i++) {
        if (v->mix[AGG_MIX_FOCUS_QN + i] == 0) {
            v->mix_q[AGG_MIXQ_SUM + i] = 0;
            v->mix_q[AGG_MIXQ_SUMSQ + i] = 0;
        }
    }
    if (v->index_n == 0) {
        v->index_sum = 0;
        v->index_sumsq = 0;
    }
    if (v->self_n == 0) {
        v->self_s = 0;
    }
    if (neg) {
        log_event(LOG_WARN, "agg_negative", "key_len=%zu first=%u (run coachqd verify --repair)",
                  klen, klen > 0 ? (unsigned)key[0] : 0u);
    }
    return empty;
}

/* ---- Stored values (agg.h, "The stored value") ------------------------ */

#define AGG_V1_HEADER 88
#define AGG_V1_PAIRS (AGG_NPAIRS * 4)
#define AGG_V1_BEH 16 /* after the id: count, sum, sumsq, proficient */
#define AGG_FLAG_PAIRS 1u
#define AGG_FLAG_MIX 2u
#define AGG_V1_MIX (AGG_NMIX * 4 + AGG_NMIXQ * 8)
/* Recorded call reviews: u32 recordings, u32 of them the rep first. */
#define AGG_FLAG_REC 0x80u
#define AGG_V1_REC 8

/* A counter as a stored u32; -ERANGE for what a normalised value cannot
 * hold (negative, or past 2^32 - 1 in one week). */
static int put_count(uint8_t *p, int64_t x)
{
    if (x < 0 || x > (int64_t)UINT32_MAX) {
        return -ERANGE;
    }
    keys_put_le32(p, (uint32_t)x);
    return 0;
}

/* A sum of whole scores (1..4, squared up to 16) as a stored u32. */
static int put_score_sum(uint8_t *p, double x)
{
    if (!(x >= 0 && x <= (double)UINT32_MAX)) {
        return -ERANGE;
    }
    keys_put_le32(p, (uint32_t)(x + 0.5));
    return 0;
}

static int any_pair(const struct agg_val *v)
{
    for (int i = 0; i < AGG_NPAIRS; i++) {
        if (v->pairs[i] != 0) {
            return 1;
        }
    }
    return 0;
}

static int any_mix(const struct agg_val *v)
{
    for (int i = 0; i < AGG_NMIX; i++) {
        if (v->mix[i] != 0) {
            return 1;
        }
    }
    return 0;
}

static int any_rec(const struct agg_val *v)
{
    return v->rec_n != 0 || v->rec_rep_first != 0;
}

size_t agg_val_size(const struct agg_val *v)
{
    size_t n = AGG_V1_HEADER + (any_pair(v) ? AGG_V1_PAIRS : 0) + (any_mix(v) ? AGG_V1_MIX : 0) +
               (any_rec(v) ? AGG_V1_REC : 0);

    for (size_t i = 0; i < v->nb; i++) {
        n += 1 + strlen(v->b[i].id) + AGG_V1_BEH;
    }
    return n;
}

int agg_val_encode(const struct agg_val *v, uint8_t *out, size_t len)
{
    int pairs = any_pair(v);
    int mix = any_mix(v);
    int rec = any_rec(v);
    int64_t counts[5 + AGG_NMARKERS];
    uint8_t *p = out;
    int rc = 0;

    if (len != agg_val_size(v) || v->nb > UINT16_MAX) {
        return -EINVAL;
    }
    p[0] = AGG_VALUE_VERSION;
    p[1] = (uint8_t)((pairs ? AGG_FLAG_PAIRS : 0) | (mix ? AGG_FLAG_MIX : 0) |
                     (rec ? AGG_FLAG_REC : 0));
    p[2] = (uint8_t)v->nb;
    p[3] = (uint8_t)(v->nb >> 8);
    counts[0] = v->observations;
    counts[1] = v->index_n;
    counts[2] = v->self_n;
    counts[3] = v->actions;
    counts[4] = v->double_coded;
    memcpy(counts + 5, v->markers, sizeof(v->markers));
    for (size_t i = 0; i < 5 + AGG_NMARKERS && rc == 0; i++) {
        rc = put_count(p + 4 + 4 * i, counts[i]);
    }
    if (rc != 0 || v->seconds < 0) {
        return -ERANGE;
    }
    keys_put_le64(p + 56, (uint64_t)v->seconds);
    keys_put_lef64(p + 64, v->index_sum);
    keys_put_lef64(p + 72, v->index_sumsq);
    keys_put_lef64(p + 80, v->self_s);
    p += AGG_V1_HEADER;
    for (int i = 0; pairs && i < AGG_NPAIRS && rc == 0; i++) {
        rc = put_count(p + 4 * i, v->pairs[i]);
    }
    p += pairs ? AGG_V1_PAIRS : 0;
    for (int i = 0; mix && i < AGG_NMIX && rc == 0; i++) {
        rc = put_count(p + 4 * i, v->mix[i]);
    }
    for (int i = 0; mix && i < AGG_NMIXQ; i++) {
        keys_put_lef64(p + 4 * AGG_NMIX + 8 * i, v->mix_q[i]);
    }
    p += mix ? AGG_V1_MIX : 0;
    if (rec && rc == 0) {
        rc = put_count(p, v->rec_n);
        if (rc == 0) {
            rc = put_count(p + 4, v->rec_rep_first);
        }
        p += AGG_V1_REC;
    }
    for (size_t i = 0; i < v->nb && rc == 0; i++) {
        const struct agg_beh *b = &v->b[i];
        size_t idlen = strlen(b->id);

        *p++ = (uint8_t)idlen;
        memcpy(p, b->id, idlen);
        p += idlen;
        rc = put_count(p, b->count);
        if (rc == 0) {
            rc = put_score_sum(p + 4, b->sum);
        }
        if (rc == 0) {
            rc = put_score_sum(p + 8, b->sumsq);
        }
        if (rc == 0) {
            rc = put_count(p + 12, b->proficient);
        }
        p += AGG_V1_BEH;
    }
    return rc;
}

int agg_val_decode(struct agg_val *v, const uint8_t *p, size_t n)
{
    return agg_val_decode_part(v, p, n, AGG_DECODE_ALL);
}

/* The length of the id of the stored behaviour at p (its length byte,
 * then its bytes, then its four counts), or 0 when the value is to be
 * refused there: no byte left, an id of 0 or more than VALIDATE_MAX_ID
 * bytes, or too few bytes for the id and its counts before end. Every
 * reader of stored behaviours checks them with this, so that they refuse
 * the same values. */
static size_t beh_id_len(const uint8_t *p, const uint8_t *end)
{
    size_t idlen;

    if (p >= end || (idlen = *p) == 0 || idlen > VALIDATE_MAX_ID ||
        (size_t)(end - p) < 1 + idlen + AGG_V1_BEH) {
        return 0;
    }
    return idlen;
}

/* Checks the n behaviours of a stored value at p (up to end) as the
 * decoder reads them, without keeping their ids: an id of 1..VALIDATE_MAX_ID
 * bytes with no NUL, then the four counts, and nothing after the last. With
 * sum not NULL, adds their counts into *sum. Returns 0 or -EIO. */
static int skip_behaviours(const uint8_t *p, const uint8_t *end, size_t n, struct agg_beh *sum)
{
    for (size_t i = 0; i < n; i++) {
        size_t idlen;

        if ((idlen = beh_id_len(p, end)) == 0 || memchr(p + 1, 0, idlen) != NULL) {
            return -EIO;
        }
        p += 1 + idlen;
        if (sum != NULL) {
            /* Whole numbers: their sum is exact in any order. */
            sum->count += keys_get_le32(p);
            sum->sum += keys_get_le32(p + 4);
            sum->sumsq += keys_get_le32(p + 8);
            sum->proficient += keys_get_le32(p + 12);
        }
        p += AGG_V1_BEH;
    }
    return p == end ? 0 : -EIO;
}

/* The behaviours of the value at p (nb of them, up to end) summed into v's
 * one AGG_RATED behaviour (AGG_DECODE_RATED). Returns 0, -EIO or -ENOMEM. */
static int fold_behaviours(struct agg_val *v, const uint8_t *p, const uint8_t *end, size_t nb,
                           size_t known)
{
    struct agg_beh one;
    int rc;

    memset(&one, 0, sizeof(one));
    rc = skip_behaviours(p, end, nb, &one);
    if (rc != 0 || nb == 0) {
        return rc;
    }
    if (v->capb == 0) {
        struct agg_beh *b = malloc(sizeof(*b));

        if (b == NULL) {
            return -ENOMEM;
        }
        v->b = b;
        v->capb = 1;
    }
    memcpy(one.id, AGG_RATED, sizeof(AGG_RATED));
    v->b[0] = one;
    v->nb = 1;
    v->nb_ids = known > 1 ? known : 1;
    return 0;
}

int agg_val_decode_part(struct agg_val *v, const uint8_t *p, size_t n, int how)
{
    const uint8_t *end = p + n;
    /* Behaviours whose ids are whole strings, from the last decode. */
    size_t known = v->nb > v->nb_ids ? v->nb : v->nb_ids;
    size_t nb;
    unsigned p0_flags;
    int pairs;
    int mix;

    v->nb = 0;
    v->nb_ids = known;
    if (n < AGG_V1_HEADER || p[0] != AGG_VALUE_VERSION ||
        (p[1] & ~(AGG_FLAG_PAIRS | AGG_FLAG_MIX | AGG_FLAG_REC)) != 0) {
        return -EIO;
    }
    pairs = p[1] & AGG_FLAG_PAIRS;
    mix = p[1] & AGG_FLAG_MIX;
    p0_flags = p[1];
    nb = (size_t)p[2] | (size_t)p[3] << 8;
    v->observations = keys_get_le32(p + 4);
    v->index_n = keys_get_le32(p + 8);
    v->self_n = keys_get_le32(p + 12);
    v->actions = keys_get_le32(p + 16);
    v->double_coded = keys_get_le32(p + 20);
    for (int i = 0; i < AGG_NMARKERS; i++) {
        v->markers[i] = keys_get_le32(p + 24 + 4 * i);
    }
    v->seconds = (int64_t)(keys_get_le64(p + 56) & INT64_MAX);
    v->index_sum = keys_get_lef64(p + 64);
    v->index_sumsq = keys_get_lef64(p + 72);
    v->self_s = keys_get_lef64(p + 80);
    p += AGG_V1_HEADER;
    memset(v->pairs, 0, sizeof(v->pairs));
    if (pairs) {
        if ((size_t)(end - p) < AGG_V1_PAIRS) {
            return -EIO;
        }
        for (int i = 0; i < AGG_NPAIRS; i++) {
            v->pairs[i] = keys_get_le32(p + 4 * i);
        }
        p += AGG_V1_PAIRS;
    }
    memset(v->mix, 0, sizeof(v->mix));
    memset(v->mix_q, 0, sizeof(v->mix_q));
    if (mix) {
        if ((size_t)(end - p) < AGG_V1_MIX) {
            return -EIO;
        }
        for (int i = 0; i < AGG_NMIX; i++) {
            v->mix[i] = keys_get_le32(p + 4 * i);
        }
        for (int i = 0; i < AGG_NMIXQ; i++) {
            v->mix_q[i] = keys_get_lef64(p + 4 * AGG_NMIX + 8 * i);
        }
        p += AGG_V1_MIX;
    }
    v->rec_n = 0;
    v->rec_rep_first = 0;
    if (p0_flags & AGG_FLAG_REC) {
        if ((size_t)(end - p) < AGG_V1_REC) {
            return -EIO;
        }
        v->rec_n = keys_get_le32(p);
        v->rec_rep_first = keys_get_le32(p + 4);
        p += AGG_V1_REC;
    }
    if (nb > (size_t)(end - p) / (2 + AGG_V1_BEH)) {
        /* More behaviours than the bytes left could hold. */
        return -EIO;
    }
    if (how == AGG_DECODE_HEAD) {
        return skip_behaviours(p, end, nb, NULL);
    }
    if (how == AGG_DECODE_RATED) {
        return fold_behaviours(v, p, end, nb, known);
    }
    if (nb > v->capb) {
        struct agg_beh *b = realloc(v->b, nb * sizeof(*b));

        if (b == NULL) {
            return -ENOMEM;
        }
        v->b = b;
        v->capb = nb;
    }
    for (size_t i = 0; i < nb; i++) {
        struct agg_beh *b = &v->b[i];
        size_t idlen;

        if ((idlen = beh_id_len(p, end)) == 0) {
            v->nb = v->nb_ids = 0;
            return -EIO;
        }
        /* A reader decodes value after value of one rubric into the same
         * v, whose behaviours come in the same order: an id already there
         * (checked when it was copied) is kept. Otherwise it is copied and
         * checked for a NUL in one pass (ids are short). */
        if (i >= known || strnlen(b->id, idlen + 1) != idlen || memcmp(b->id, p + 1, idlen) != 0) {
            for (size_t j = 0; j < idlen; j++) {
                b->id[j] = (char)p[1 + j];
                if (p[1 + j] == 0) {
                    v->nb = v->nb_ids = 0;
                    return -EIO;
                }
            }
            b->id[idlen] = '\0';
        }
        p += 1 + idlen;
        b->count = keys_get_le32(p);
        b->sum = keys_get_le32(p + 4);
        b->sumsq = keys_get_le32(p + 8);
        b->proficient = keys_get_le32(p + 12);
        p += AGG_V1_BEH;
    }
    v->nb = nb;
    v->nb_ids = nb > known ? nb : known;
    return p == end ? 0 : -EIO;
}

int agg_val_put(struct store_txn *t, const uint8_t *key, size_t klen, const struct agg_val *v)
{
    MDB_val k, d;
    int rc;

    k.mv_data = (void *)key;
    k.mv_size = klen;
    d.mv_data = NULL;
    d.mv_size = agg_val_size(v);
    rc = mdb_put(t->txn, t->s->dbi_agg, &k, &d, MDB_RESERVE);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    return agg_val_encode(v, d.mv_data, d.mv_size);
}

void agg_week_view_set(struct agg_week_view *wv, const struct agg_val *v)
{
    Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;

    wv->w = init;
    /* wv->bs[] was initialised by agg_week_view_fit(): only the figures
     * change. */
    for (size_t i = 0; i < v->nb; i++) {
        Coachq__V1__AggBehaviour *b = &wv->bs[i];

        b->id = (char *)v->b[i].id;
        b->count = (uint64_t)v->b[i].count;
        b->sum = v->b[i].sum;
        b->sumsq = v->b[i].sumsq;
        b->proficient = (uint64_t)v->b[i].proficient;
        wv->bp[i] = b;
    }
    wv->w.n_behaviours = v->nb;
    wv->w.behaviours = wv->bp;
    wv->w.observations = (uint64_t)v->observations;
    wv->w.seconds = (uint64_t)v->seconds;
    for (int i = 0; i < AGG_NMARKERS; i++) {
        wv->markers[i] = (uint64_t)v->markers[i];
    }
    wv->w.n_markers = AGG_NMARKERS;
    wv->w.markers = wv->markers;
    wv->w.index_n = (uint64_t)v->index_n;
    wv->w.index_sum = v->index_sum;
    wv->w.index_sumsq = v->index_sumsq;
    wv->w.self_assess_n = (uint64_t)v->self_n;
    wv->w.self_assess_s_sum = v->self_s;
    wv->w.actions = (uint64_t)v->actions;
    wv->w.double_coded = (uint64_t)v->double_coded;
    for (int i = 0; i < AGG_NPAIRS; i++) {
        wv->pairs[i] = (uint64_t)v->pairs[i];
    }
    if (any_pair(v)) {
        wv->w.n_pairs = AGG_NPAIRS;
        wv->w.pairs = wv->pairs;
    }
    if (any_mix(v)) {
        for (int i = 0; i < AGG_NMIX; i++) {
            wv->mix[i] = (uint64_t)v->mix[i];
        }
        for (int i = 0; i < AGG_NMIXQ; i++) {
            wv->mix_q[i] = v->mix_q[i];
        }
        wv->w.n_mix = AGG_NMIX;
        wv->w.mix = wv->mix;
        wv->w.n_mix_q = AGG_NMIXQ;
        wv->w.mix_q = wv->mix_q;
    }
    wv->w.recordings = (uint64_t)v->rec_n;
    wv->w.recordings_rep_first = (uint64_t)v->rec_rep_first;
}

int agg_week_view_fit(struct agg_week_view *wv, size_t nb)
{
    Coachq__V1__AggBehaviour *bs;
    Coachq__V1__AggBehaviour **bp;

    if (nb <= wv->cap) {
        return 0;
    }
    bs = realloc(wv->bs, nb * sizeof(*bs));
    if (bs == NULL) {
        return -ENOMEM;
    }
    for (size_t i = wv->cap; i < nb; i++) {
        Coachq__V1__AggBehaviour init = COACHQ__V1__AGG_BEHAVIOUR__INIT;

        bs[i] = init;
    }
    wv->bs = bs;
    bp = realloc(wv->bp, nb * sizeof(*bp));
    if (bp == NULL) {
        return -ENOMEM;
    }
    wv->bp = bp;
    wv->cap = nb;
    return 0;
}

void agg_week_view_free(struct agg_week_view *wv)
{
    free(wv->bs);
    free(wv->bp);
    memset(wv, 0, sizeof(*wv));
}

/* ---- Weeks and keys ---------------------------------------------------- */

int32_t agg_week_of(int32_t day)
{
    /* 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays. */
    int32_t wd = (int32_t)(((int64_t)day + 3) % 7);

    if (wd < 0) {
        wd += 7;
    }
    return day - wd;
}

const char *agg_week_label(int32_t monday, char *buf, size_t len)
{
    /* The ISO week-year is the year of the week's Thursday; week 1 is the
     * week whose Thursday falls in January 1..7. */
    int32_t thu = agg_week_of(monday) + 3;
    int64_t y;
    unsigned m, d;

    if (len == 0) {
        return buf;
    }
    day_to_civil(thu, &y, &m, &d);
    snprintf(buf, len, "%04lld-W%02d", (long long)y,
             (int)((thu - (int32_t)day_from_civil(y, 1, 1)) / 7 + 1));
    return buf;
}

static const char *scope_name(unsigned kind)
{
    switch (kind) {
    case AGG_COACH:
        return "coach";
    case AGG_LINE:
        return "line";
    case AGG_ORG:
        return "org";
    case AGG_OBSERVER:
        return "observer";
    case AGG_COHORT:
        return "cohort";
    case AGG_PAIR:
        return "pair";
    case AGG_LINE_COACH:
        return "line-coach";
    case AGG_OBSERVER_COACH:
        return "observer-coach";
    case AGG_COACH_ASG:
        return "coach-asg";
    case AGG_ORG_ASG:
        return "org-asg";
    case AGG_OBSERVER_ASG:
        return "observer-asg";
    case AGG_COHORT_ASG:
        return "cohort-asg";
    case AGG_OBSERVER_COACH_ASG:
        return "observer-coach-asg";
    case AGG_OBSERVER_WEEK:
        return "observer-week";
    case AGG_OBSERVER_WEEK_ASG:
        return "observer-week-asg";
    case AGG_COACH_WEEK:
        return "coach-week";
    case AGG_COACH_WEEK_ASG:
        return "coach-week-asg";
    case AGG_IMPACT:
        return "impact";
    case AGG_IMPACT_ASG:
        return "impact-asg";
    case AGG_LINE_IMPACT:
        return "line-impact";
    case AGG_OBSERVER_CUM:
        return "observer-cum";
    case AGG_OBSERVER_CUM_ASG:
        return "observer-cum-asg";
    }
    return "?";
}

int agg_key(struct keys_buf *k, unsigned kind, const char *scope, const char *rubric, int with_week,
            int32_t monday)
{
    size_t slen = scope != NULL ? strlen(scope) : 0;
    uint8_t b;
    uint8_t wk[4];

    keys_buf_reset(k);
    if (slen == 0 || slen > AGG_SCOPE_MAX || rubric == NULL) {
        return -EINVAL;
    }
    b = (uint8_t)kind;
    keys_buf_raw(k, &b, 1);
    b = (uint8_t)slen;
    keys_buf_raw(k, &b, 1);
    keys_buf_raw(k, scope, slen);
    keys_buf_id(k, rubric);
    if (with_week) {
        keys_day_encode(monday, wk);
        keys_buf_raw(k, wk, 4);
    }
    return k->err;
}

int agg_key_coached(struct keys_buf *k, const char *observer, const char *rubric, int32_t monday,
                    const char *coach)
{
    return agg_key_coached_of(k, AGG_OBSERVER_COACH, observer, rubric, monday, coach);
}

int agg_key_coached_of(struct keys_buf *k, unsigned kind, const char *observer, const char *rubric,
                       int32_t monday, const char *coach)
{
    size_t olen = observer != NULL ? strlen(observer) : 0;
    size_t clen = coach != NULL ? strlen(coach) : 0;
    int rc;

    if (olen > VALIDATE_MAX_ID || clen == 0 || clen > VALIDATE_MAX_ID) {
        keys_buf_reset(k);
        return -EINVAL;
    }
    rc = agg_key(k, kind, observer, rubric, 1, monday);
    if (rc != 0) {
        return rc;
    }
    /* The coach is the key's last part: its length is what is left. */
    keys_buf_raw(k, coach, clen);
    return k->err;
}

/* The parts of an AGG_OBSERVER_COACH key, or of an AGG_COACH_WEEK key
 * (the same layout, scope AGG_ORG_ALL): *wk the week's 4 bytes, *coach and
 * *clen the coach. Returns 0, or -EINVAL for a key not of that form. */
static int agg_key_coached_parts(const uint8_t *key, size_t klen, const uint8_t **wk,
                                 const uint8_t **coach, size_t *clen)
{
    size_t slen, rlen, at;

    if (klen < 2 || !(AGG_KIND_COACHED(key[0]) || AGG_KIND_COACHES(key[0])) ||
        (slen = key[1]) + 3 > klen || (rlen = key[2 + slen]) + 3 + slen + 4 + 1 > klen) {
        return -EINVAL;
    }
    at = 3 + slen + rlen;
    *wk = key + at;
    *clen = klen - at - 4;
    *coach = key + at + 4;
    return *clen <= VALIDATE_MAX_ID && memchr(*coach, '\0', *clen) == NULL ? 0 : -EINVAL;
}

void agg_key_text(const uint8_t *key, size_t klen, char *out, size_t outlen)
{
    size_t slen, rlen;
    char wl[16];

    if (klen >= 2 && (AGG_KIND_COACHED(key[0]) || AGG_KIND_COACHES(key[0]))) {
        const uint8_t *wk, *coach;
        size_t clen;

        if (agg_key_coached_parts(key, klen, &wk, &coach, &clen) != 0) {
            snprintf(out, outlen, "(malformed key, %zu bytes)", klen);
            return;
        }
        slen = key[1];
        rlen = key[2 + slen];
        agg_week_label(keys_day_decode(wk), wl, sizeof(wl));
        snprintf(out, outlen, "%s/%.*s/%.*s/%s/%.*s", scope_name(key[0]), (int)slen,
                 (const char *)key + 2, (int)rlen, (const char *)key + 3 + slen, wl, (int)clen,
                 (const char *)coach);
        return;
    }

    if (klen < 2 || (slen = key[1]) + 3 > klen || (rlen = key[2 + slen]) + 3 + slen + 4 != klen) {
        snprintf(out, outlen, "(malformed key, %zu bytes)", klen);
        return;
    }
    agg_week_label(keys_day_decode(key + klen - 4), wl, sizeof(wl));
    snprintf(out, outlen, "%s/%.*s/%.*s/%s", scope_name(key[0]), (int)slen, (const char *)key + 2,
             (int)rlen, (const char *)key + 3 + slen, wl);
}

/* ---- Maps of keys to values ------------------------------------------- */

static uint64_t hash_key(const uint8_t *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ k[i]) * 1099511628211ull;
    }
    return h;
}

/* Entries per arena block. */
#define AGG_ARENA_ENTS 256

struct agg_arena_block {
    struct agg_arena_block *next;
    size_t used;
    struct agg_ent ent[AGG_ARENA_ENTS];
};

void agg_arena_free(struct agg_arena *a)
{
    while (a->head != NULL) {
        struct agg_arena_block *next = a->head->next;

        free(a->head);
        a->head = next;
    }
}

/* A zeroed entry from a, or NULL when out of memory. */
static struct agg_ent *agg_arena_ent(struct agg_arena *a)
{
    struct agg_ent *e;

    if (a->head == NULL || a->head->used == AGG_ARENA_ENTS) {
        struct agg_arena_block *b = malloc(sizeof(*b));

        if (b == NULL) {
            return NULL;
        }
        b->next = a->head;
        b->used = 0;
        a->head = b;
    }
    e = &a->head->ent[a->head->used++];
    memset(e, 0, sizeof(*e));
    return e;
}

void agg_map_free(struct agg_map *m)
{
    struct agg_arena *arena = m->arena;

    for (size_t i = 0; i < m->cap; i++) {
        if (m->slot[i] != NULL) {
            agg_val_free(&m->slot[i]->v);
            if (arena == NULL) {
                free(m->slot[i]);
            }
        }
    }
    free(m->slot);
    memset(m, 0, sizeof(*m));
    m->arena = arena;
}

/* The entry of key, whose hash is h, or NULL. */
static struct agg_ent *agg_map_find_h(const struct agg_map *m, const uint8_t *key, size_t klen,
                                      uint64_t h)
{
    if (m->cap == 0) {
        return NULL;
    }
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct agg_ent *e = m->slot[i];

        if (e == NULL) {
            return NULL;
        }
        if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
            return e;
        }
    }
}

struct agg_ent *agg_map_find(const struct agg_map *m, const uint8_t *key, size_t klen)
{
    return agg_map_find_h(m, key, klen, hash_key(key, klen));
}

static int agg_map_grow(struct agg_map *m)
{
    size_t cap = m->cap != 0 ? m->cap * 2 : 64;
    struct agg_ent **slot = calloc(cap, sizeof(*slot));

    if (slot == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        struct agg_ent *e = m->slot[i];

        if (e != NULL) {
            size_t j = e->hash & (cap - 1);

            while (slot[j] != NULL) {
                j = (j + 1) & (cap - 1);
            }
            slot[j] = e;
        }
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return 0;
}

/* The entry of key, made empty if new. Returns NULL on -ENOMEM. */
static struct agg_ent *agg_map_get(struct agg_map *m, const uint8_t *key, size_t klen)
{
    /* Hashed once for the search, the new slot and every growth after:
     * byte by byte over keys of 40 bytes and more, the hash was 1.4% of
     * the writer's samples at 64 x 16 when worked out each time. */
    uint64_t h = hash_key(key, klen);
    struct agg_ent *e = agg_map_find_h(m, key, klen, h);
    size_t i;

    if (e != NULL) {
        return e;
    }
    if (klen > AGG_KEY_MAX || ((m->n + 1) * 2 > m->cap && agg_map_grow(m) != 0)) {
        return NULL;
    }
    e = m->arena != NULL ? agg_arena_ent(m->arena) : calloc(1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    memcpy(e->key, key, klen);
    e->klen = klen;
    e->hash = h;
    for (i = h & (m->cap - 1); m->slot[i] != NULL; i = (i + 1) & (m->cap - 1)) {
    }
    m->slot[i] = e;
    m->n++;
    return e;
}

/* dst += sign * what an AGG_OBSERVER_COACH value keeps of src: its
 * observations and its ratings summed over behaviours (agg.h). */
static int agg_val_add_rated(struct agg_val *dst, const struct agg_val *src, int sign)
{
    struct agg_beh *b;

    dst->observations += sign * src->observations;
    if (src->nb == 0) {
        return 0;
    }
    b = dst->nb == 1 && strcmp(dst->b[0].id, AGG_RATED) == 0 ? &dst->b[0]
                                                             : agg_val_beh(dst, AGG_RATED);
    if (b == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < src->nb; i++) {
        b->count += sign * src->b[i].count;
        b->sum += sign * src->b[i].sum;
        b->sumsq += sign * src->b[i].sumsq;
        b->proficient += sign * src->b[i].proficient;
    }
    return 0;
}

int agg_map_add(struct agg_map *m, const uint8_t *key, size_t klen, const struct agg_val *v,
                int sign)
{
    struct agg_ent *e = agg_map_get(m, key, klen);

    if (e == NULL) {
        return -ENOMEM;
    }
    return AGG_KIND_COACHED(key[0]) ? agg_val_add_rated(&e->v, v, sign)
                                    : agg_val_add(&e->v, v, sign);
}

/* ---- Reading ------------------------------------------------------------ */

/* A cursor over the values of (kind, scope, rubric) from the week of
 * *from_monday on, for agg_read() and its kin: the key prefix
 * (k, its first *plen bytes), the cursor at the first key at or after the
 * start (*getrc: that get's LMDB code), and the two days made Mondays.
 * Returns 0 (then close with agg_range_end()), -EINVAL or a store code. */
static int agg_range_begin(struct store_txn *t, unsigned kind, const char *scope,
                           const char *rubric, int32_t *from_monday, int32_t *until_monday,
                           struct keys_buf *k, size_t *plen, MDB_cursor **cur, MDB_val *kv,
                           MDB_val *vv, int *getrc)
{
    int rc = agg_key(k, kind, scope, rubric, 0, 0);

    if (rc != 0) {
        return -EINVAL;
    }
    *plen = k->len;
    /* Any day of a week stands for its week. */
    *from_monday = agg_week_of(*from_monday);
    *until_monday = agg_week_of(*until_monday);
    rc = agg_key(k, kind, scope, rubric, 1, *from_monday);
    if (rc != 0) {
        return -EINVAL;
    }
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    kv->mv_data = k->b;
    kv->mv_size = k->len;
    *getrc = mdb_cursor_get(*cur, kv, vv, MDB_SET_RANGE);
    return 0;
}

/* Decodes the stored value vv into v (its behaviours as how says,
 * AGG_DECODE_*) and points wv at it. Returns 0, -EIO (logged) or -ENOMEM. */
static int agg_range_view(const MDB_val *vv, struct agg_val *v, struct agg_week_view *wv, int how)
{
    int err = agg_val_decode_part(v, vv->mv_data, vv->mv_size, how);

    if (err == 0) {
        err = agg_week_view_fit(wv, v->nb);
    }
    if (err == -EIO) {
        log_event(LOG_ERROR, "agg_value_corrupt", "size=%zu", vv->mv_size);
    }
    if (err == 0) {
        agg_week_view_set(wv, v);
    }
    return err;
}

/* Closes what agg_range_begin() opened and frees v and wv (either may be
 * NULL: the caller keeps it); the walk's result: err, else the last get's
 * LMDB code (MDB_NOTFOUND is the end). */
static int agg_range_end(MDB_cursor *cur, struct agg_val *v, struct agg_week_view *wv, int err,
                         int getrc)
{
    mdb_cursor_close(cur);
    if (v != NULL) {
        agg_val_free(v);
    }
    if (wv != NULL) {
        agg_week_view_free(wv);
    }
    if (err != 0 || getrc == 0 || getrc == MDB_NOTFOUND) {
        return err;
    }
    return mdberr_errno(getrc);
}

static int agg_read_in(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                       const char *rubric_id, int32_t from_monday, int32_t until_monday,
                       int32_t beh_from, int32_t beh_until, int how, agg_cb cb, void *arg);

int agg_read(struct store_txn *t, enum agg_scope kind, const char *scope_id, const char *rubric_id,
             int32_t from_monday, int32_t until_monday, agg_cb cb, void *arg)
{
    /* The behaviours' window is the read's weeks, not its raw days: from a
     * Wednesday to the Tuesday of the same week is that week (agg.h), and
     * as days it would be an empty window. */
    return agg_read_in(t, kind, scope_id, rubric_id, from_monday, until_monday,
                       agg_week_of(from_monday), agg_week_of(until_monday), AGG_DECODE_ALL, cb,
                       arg);
}

int agg_read_head(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                  const char *rubric_id, int32_t from_monday, int32_t until_monday, agg_cb cb,
                  void *arg)
{
    /* An empty window of behaviours: no week gets them. */
    return agg_read_in(t, kind, scope_id, rubric_id, from_monday, until_monday, 1, 0,
                       AGG_DECODE_ALL, cb, arg);
}

int agg_read_part(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                  const char *rubric_id, int32_t from_monday, int32_t until_monday,
                  int32_t beh_from, int32_t beh_until, agg_cb cb, void *arg)
{
    return agg_read_in(t, kind, scope_id, rubric_id, from_monday, until_monday, beh_from, beh_until,
                       AGG_DECODE_ALL, cb, arg);
}

int agg_read_rated(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                   const char *rubric_id, int32_t from_monday, int32_t until_monday, agg_cb cb,
                   void *arg)
{
    /* As agg_read(): the behaviours' window is the read's weeks. */
    return agg_read_in(t, kind, scope_id, rubric_id, from_monday, until_monday,
                       agg_week_of(from_monday), agg_week_of(until_monday), AGG_DECODE_RATED, cb,
                       arg);
}

/* The week by week walk of agg_read_in() and agg_read_slots(): fn is
 * given each stored week's Monday and value, and with_beh when the week is
 * in the behaviours' window. Returns 0 to go on, a positive number to stop
 * the walk with 0, a negative code to stop it with that code. */
typedef int (*agg_walk_fn)(int32_t monday, const MDB_val *vv, int with_beh, void *ctx);

/* The weeks of (kind, scope_id, rubric_id) from from_monday's to
 * until_monday's, in order, each given to fn (with ctx); the weeks of
 * [beh_from, beh_until] with with_beh set. Returns 0, fn's negative code,
 * -EINVAL or a store code. */
static int agg_walk(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                    const char *rubric_id, int32_t from_monday, int32_t until_monday,
                    int32_t beh_from, int32_t beh_until, agg_walk_fn fn, void *ctx)
{
    struct keys_buf k;
    MDB_cursor *cur = NULL;
    MDB_val kv, vv;
    size_t plen;
    int err = 0;
    int rc = MDB_NOTFOUND; /* agg_range_begin() sets it when it returns 0 */

    if (beh_from <= beh_until) {
        /* Any day stands for its week, as for the read's own window. */
        beh_from = agg_week_of(beh_from);
        beh_until = agg_week_of(beh_until);
    }
    err = agg_range_begin(t, kind, scope_id, rubric_id, &from_monday, &until_monday, &k, &plen,
                          &cur, &kv, &vv, &rc);
    if (err != 0) {
        return err;
    }
    while (rc == 0) {
        int32_t monday;
        int fnrc;

        if (kv.mv_size != plen + 4 || memcmp(kv.mv_data, k.b, plen) != 0) {
            break;
        }
        monday = keys_day_decode((const uint8_t *)kv.mv_data + plen);
        if (monday > until_monday) {
            break;
        }
        fnrc = fn(monday, &vv, monday >= beh_from && monday <= beh_until, ctx);
        if (fnrc != 0) {
            err = fnrc > 0 ? 0 : fnrc;
            break;
        }
        rc = mdb_cursor_get(cur, &kv, &vv, MDB_NEXT);
    }
    return agg_range_end(cur, NULL, NULL, err, rc);
}

/* What agg_read_in() keeps from week to week: the decoded value and its
 * view (reused), how to decode the behaviours, and the caller's callback. */
struct read_in {
    struct agg_val v;
    struct agg_week_view wv;
    int how;
    agg_cb cb;
    void *arg;
};

/* agg_read_in()'s agg_walk_fn: decodes the week and hands it on. */
static int read_in_week(int32_t monday, const MDB_val *vv, int with_beh, void *ctx)
{
    struct read_in *r = ctx;
    int err = agg_range_view(vv, &r->v, &r->wv, with_beh ? r->how : AGG_DECODE_HEAD);

    return err != 0 ? err : r->cb(monday, &r->wv.w, r->arg);
}

/* The reads above: the weeks of [beh_from, beh_until] with their
 * behaviours as how says (AGG_DECODE_ALL or _RATED), the others without
 * (agg.h). */
static int agg_read_in(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                       const char *rubric_id, int32_t from_monday, int32_t until_monday,
                       int32_t beh_from, int32_t beh_until, int how, agg_cb cb, void *arg)
{
    struct read_in r;
    int err;

    memset(&r, 0, sizeof(r));
    r.how = how;
    r.cb = cb;
    r.arg = arg;
    err = agg_walk(t, kind, scope_id, rubric_id, from_monday, until_monday, beh_from, beh_until,
                   read_in_week, &r);
    agg_val_free(&r.v);
    agg_week_view_free(&r.wv);
    return err;
}

/* ---- Reading moments (agg_read_slots()) -------------------------------- */

/* The caller's ids and their lengths, and where a value's behaviours go. */
struct slots_read {
    const char *const *ids;
    size_t lens[AGG_SLOT_IDS_MAX];
    size_t nids;
    struct agg_slot_beh *b; /* cap of them: stack, or malloc'ed past it */
    size_t cap;
    int heap;
};

/* The index among sr's ids of the stored id at p (len bytes), looked for at
 * hint first (as beh_index() in the dashboards does); -1 when none. */
static int slots_match(const struct slots_read *sr, const uint8_t *p, size_t len, size_t hint)
{
    if (hint < sr->nids && sr->lens[hint] == len && memcmp(sr->ids[hint], p, len) == 0) {
        return (int)hint;
    }
    for (size_t j = 0; j < sr->nids; j++) {
        if (sr->lens[j] == len && memcmp(sr->ids[j], p, len) == 0) {
            return (int)j;
        }
    }
    return -1;
}

/*
 * The stored value p[0..n) into w, its behaviours too when with_beh. The
 * checks are agg_val_decode_part()'s, so the same values are refused: an id
 * that matches one of the caller's holds no NUL (theirs are C strings);
 * any other is checked for one. Returns 0, -EIO or -ENOMEM.
 */
static int slots_decode(struct slots_read *sr, const uint8_t *p, size_t n, int with_beh,
                        struct agg_slots *w)
{
    const uint8_t *end = p + n;
    size_t nb;
    unsigned flags;

    if (n < AGG_V1_HEADER || p[0] != AGG_VALUE_VERSION ||
        (p[1] & ~(AGG_FLAG_PAIRS | AGG_FLAG_MIX | AGG_FLAG_REC)) != 0) {
        return -EIO;
    }
    flags = p[1];
    nb = (size_t)p[2] | (size_t)p[3] << 8;
    w->observations = keys_get_le32(p + 4);
    w->index_n = keys_get_le32(p + 8);
    w->index_sum = keys_get_lef64(p + 64);
    w->index_sumsq = keys_get_lef64(p + 72);
    w->seconds = keys_get_le64(p + 56) & INT64_MAX;
    w->nb = 0;
    w->b = sr->b;
    p += AGG_V1_HEADER;
    if (flags & AGG_FLAG_PAIRS) {
        if ((size_t)(end - p) < AGG_V1_PAIRS) {
            return -EIO;
        }
        p += AGG_V1_PAIRS;
    }
    if (flags & AGG_FLAG_MIX) {
        if ((size_t)(end - p) < AGG_V1_MIX) {
            return -EIO;
        }
        for (int i = 0; i < AGG_NMIX; i++) {
            w->mix[i] = keys_get_le32(p + 4 * i);
        }
        p += AGG_V1_MIX;
    } else {
        memset(w->mix, 0, sizeof(w->mix));
    }
    if (flags & AGG_FLAG_REC) {
        if ((size_t)(end - p) < AGG_V1_REC) {
            return -EIO;
        }
        p += AGG_V1_REC;
    }
    if (nb > (size_t)(end - p) / (2 + AGG_V1_BEH)) {
        return -EIO;
    }
    if (!with_beh) {
        return skip_behaviours(p, end, nb, NULL);
    }
    if (nb > sr->cap) {
        struct agg_slot_beh *b = malloc(nb * sizeof(*b));

        if (b == NULL) {
            return -ENOMEM;
        }
        if (sr->heap) {
            free(sr->b);
        }
        sr->b = b;
        sr->cap = nb;
        sr->heap = 1;
        w->b = b;
    }
    for (size_t i = 0; i < nb; i++) {
        struct agg_slot_beh *b = &sr->b[i];
        size_t idlen;

        if ((idlen = beh_id_len(p, end)) == 0) {
            return -EIO;
        }
        b->slot = slots_match(sr, p + 1, idlen, i);
        if (b->slot < 0 && memchr(p + 1, 0, idlen) != NULL) {
            return -EIO;
        }
        p += 1 + idlen;
        b->count = keys_get_le32(p);
        b->sum = keys_get_le32(p + 4);
        b->sumsq = keys_get_le32(p + 8);
        b->proficient = keys_get_le32(p + 12);
        p += AGG_V1_BEH;
    }
    w->nb = nb;
    return p == end ? 0 : -EIO;
}

/* What agg_read_slots() keeps from week to week. */
struct read_slots {
    struct slots_read sr;
    struct agg_slots w;
    agg_slots_cb cb;
    void *arg;
};

/* agg_read_slots()'s agg_walk_fn: decodes the week and hands it on. */
static int read_slots_week(int32_t monday, const MDB_val *vv, int with_beh, void *ctx)
{
    struct read_slots *r = ctx;
    int err = slots_decode(&r->sr, vv->mv_data, vv->mv_size, with_beh, &r->w);

    if (err == -EIO) {
        log_event(LOG_ERROR, "agg_value_corrupt", "size=%zu", vv->mv_size);
    }
    return err != 0 ? err : r->cb(monday, &r->w, r->arg);
}

int agg_read_slots(struct store_txn *t, enum agg_scope kind, const char *scope_id,
                   const char *rubric_id, int32_t from_monday, int32_t until_monday,
                   int32_t beh_from, int32_t beh_until, const char *const *ids, size_t nids,
                   agg_slots_cb cb, void *arg)
{
    struct agg_slot_beh stack[AGG_SLOT_IDS_MAX];
    struct read_slots r;
    int err;

    if (nids > AGG_SLOT_IDS_MAX) {
        return -EINVAL;
    }
    memset(&r, 0, sizeof(r));
    r.sr.ids = ids;
    r.sr.nids = nids;
    r.sr.b = stack;
    r.sr.cap = AGG_SLOT_IDS_MAX;
    r.sr.heap = 0;
    for (size_t i = 0; i < nids; i++) {
        r.sr.lens[i] = strlen(ids[i]);
    }
    r.cb = cb;
    r.arg = arg;
    err = agg_walk(t, kind, scope_id, rubric_id, from_monday, until_monday, beh_from, beh_until,
                   read_slots_week, &r);
    if (r.sr.heap) {
        free(r.sr.b);
    }
    return err;
}
