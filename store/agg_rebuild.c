/*
 * agg_rebuild: the aggregates rebuilt from the records (agg.h): in a write
 * transaction of the caller's when a store is upgraded (agg_rebuild_txn()),
 * or in a read transaction to compare with what is stored and, asked to,
 * repair it (agg_verify()). Each record's share comes from the same
 * functions as the writer's (agg_record.c).
 */
#include "agg.h"
#include "agg_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "keys.h"
#include "log.h"
#include "obs.h"
#include "obs_codec.h"
#include "store_int.h"
#include "uuid.h"

struct agg_build {
    struct store_txn *t;
    struct agg_map map;
    int write_contribs; /* rebuild: put each record's contribution */
    int check_contribs; /* verify: compare each with the stored one */
    agg_diff_cb diff;
    void *diff_arg;
    struct agg_verify_result res;
    uint64_t contribs;                  /* contributions rebuilt */
    Coachq__V1__StoredObservation *rec; /* for the peer callback */
    struct agg_contrib *c;
    /* verify: per coach-week key, the rebuilt observers with ratings (an
     * entry's observations used as the count). */
    struct agg_map raters;
    /* verify (format 10): the rebuilt shares in key order, made at the
     * first cumulative list compared. */
    struct agg_ent **coached;
    size_t ncoached;
    /* verify (format 10): the running sum of the group (share kind,
     * observer, rubric) of the last cumulative list compared. The scan
     * gives a group's lists in week order, so each list adds only the
     * shares of the weeks since the one before: one pass over the group's
     * shares for all its lists. cum_plen 0 when there is none. */
    uint8_t cum_p[AGG_KEY_MAX];
    size_t cum_plen;
    size_t cum_at;     /* the next share of the group to add */
    int32_t cum_until; /* the week added up to */
    int32_t cum_week;  /* the last week whose shares had figures */
    struct agg_seen cum_want, cum_wk, cum_sum;
};

static void report(struct agg_build *b, const char *key, const char *what)
{
    b->res.differences++;
    if (b->diff != NULL) {
        b->diff(key, what, b->diff_arg);
    }
}

/* Adds the pairs the rule gives b->rec (its session read afresh): each to
 * its peer list, and the pair's values once, from the side with the
 * smaller id. */
static int build_peers(struct agg_build *b)
{
    const Coachq__V1__Observation *o = b->rec->observation;
    struct agg_session *s = calloc(1, sizeof(*s));
    size_t i;
    int rc;

    if (s == NULL) {
        return -ENOMEM;
    }
    rc = agg_session_load(b->t, o->coach_id, o->started_at, s);
    i = rc == 0 ? agg_session_find(s, o->id.data) : 0;
    for (size_t j = 0; rc == 0 && i < s->n && j < s->n; j++) {
        if (!agg_session_paired(s, i, j)) {
            continue;
        }
        rc = agg_contrib_add_peer(b->c, s->rec[j]->observation->id.data);
        if (rc == 0 && memcmp(o->id.data, s->rec[j]->observation->id.data, KEYS_UUID_LEN) < 0) {
            rc = agg_pair_values(b->t, &b->map, b->rec, s->rec[j], 1);
        }
    }
    agg_session_free(s);
    free(s);
    return rc;
}

static int key_cmp(const void *a, const void *b)
{
    const struct keys_buf *x = a;
    const struct keys_buf *y = b;

    return keys_compare(x->b, x->len, y->b, y->len);
}

/* True if a and b hold the same keys (in any order) and the same peers.
 * Sorts both key lists. */
static int agg_contrib_equal(struct agg_contrib *a, struct agg_contrib *b)
{
    if (a->nkeys != b->nkeys || a->npeers != b->npeers) {
        return 0;
    }
    if (a->nkeys > 1) {
        qsort(a->keys, a->nkeys, sizeof(a->keys[0]), key_cmp);
        qsort(b->keys, b->nkeys, sizeof(b->keys[0]), key_cmp);
    }
    for (size_t i = 0; i < a->nkeys; i++) {
        if (key_cmp(&a->keys[i], &b->keys[i]) != 0) {
            return 0;
        }
    }
    return a->npeers == 0 || memcmp(a->peers, b->peers, a->npeers * KEYS_UUID_LEN) == 0;
}

/* True if the record is the latest version of its observation. */
static int agg_record_latest(struct store_txn *t, const Coachq__V1__StoredObservation *r, int *yes)
{
    uint8_t vkey[KEYS_UUID_LEN + 4];
    MDB_val v;
    uint32_t version = r->version != 0 ? r->version : 1;
    int rc;

    *yes = 1;
    if (r->root_id.len != KEYS_UUID_LEN) {
        return 0; /* schema 1: no amendments */
    }
    memcpy(vkey, r->root_id.data, KEYS_UUID_LEN);
    keys_put_be32(vkey + KEYS_UUID_LEN, version + 1);
    rc = store_txn_get_raw(t, t->s->dbi_versions, vkey, sizeof(vkey), &v);
    if (rc == 0) {
        *yes = 0;
        return 0;
    }
    return rc == -ENOENT ? 0 : rc;
}

static int build_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct agg_build *b = arg;
    Coachq__V1__StoredObservation *r;
    struct agg_contrib c;
    struct agg_val v;
    int latest = 0, counts = 0;
    int rc;

    memset(&c, 0, sizeof(c));
    memset(&v, 0, sizeof(v));
    rc = obs_codec_decode(b->t, val, vlen, NULL, "agg_rebuild", klen == 8 ? keys_get_be64(key) : 0,
                          &r);
    if (rc != 0) {
        return rc;
    }
    b->res.observations++;
    rc = agg_record_latest(b->t, r, &latest);
    if (rc == 0 && latest) {
        rc = agg_counts(b->t, r, &counts);
    }
    if (rc != 0 || !latest || !counts) {
        goto out;
    }
    b->res.counted++;
    memcpy(c.id, r->observation->id.data, KEYS_UUID_LEN);
    rc = agg_record_keys(b->t, r, &c);
    if (rc == 0) {
        rc = agg_record_values(r->observation, &v);
    }
    for (size_t i = 0; rc == 0 && i < c.nkeys; i++) {
        rc = agg_map_add(&b->map, c.keys[i].b, c.keys[i].len, &v, 1);
    }
    if (rc == 0) {
        b->rec = r;
        b->c = &c;
        rc = build_peers(b);
    }
    if (rc == 0 && c.npeers > 0) {
        rc = agg_dc_value(b->t, &b->map, r, 1);
    }
    if (rc != 0) {
        goto out;
    }
    b->contribs++;
    if (b->write_contribs) {
        rc = agg_write_fail(agg_contrib_write(b->t, &c));
    } else if (b->check_contribs) {
        struct agg_contrib stored;
        char id[40], what[80];

        rc = agg_contrib_load(b->t, c.id, r, &stored);
        if (rc == 0 && !agg_contrib_equal(&c, &stored)) {
            uuid_format(c.id, id);
            snprintf(what, sizeof(what), "%s (stored %zu keys, %zu peers; rebuilt %zu, %zu)",
                     stored.nkeys == 0 && stored.npeers == 0 ? "contribution missing"
                                                             : "contribution differs",
                     stored.nkeys, stored.npeers, c.nkeys, c.npeers);
            {
                char k[64];

                snprintf(k, sizeof(k), "contrib/%s", id);
                report(b, k, what);
            }
        }
        agg_contrib_free(&stored);
    }
out:
    agg_contrib_free(&c);
    agg_val_free(&v);
    coachq__v1__stored_observation__free_unpacked(r, NULL);
    return rc;
}

/* Rebuilds every value into b->map from the records in b->t. */
static int build_all(struct agg_build *b)
{
    return obs_scan_txn(b->t, build_one, b);
}

int agg_rebuild_txn(struct store_txn *t)
{
    struct agg_build *b;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return -ENOMEM;
    }
    b->t = t;
    b->write_contribs = 1;
    rc = mdb_drop(t->txn, t->s->dbi_agg, 0);
    if (rc == 0) {
        rc = mdb_drop(t->txn, t->s->dbi_agg_contrib, 0);
    }
    rc = rc == 0 ? 0 : STORE_TXN_ABORT(rc);
    if (rc == 0) {
        rc = build_all(b);
    }
    for (size_t i = 0; i < b->map.cap && rc == 0; i++) {
        struct agg_ent *e = b->map.slot[i];

        /* An observer's shares per coach are stored as their weeks'
         * lists, written below. */
        if (e == NULL || AGG_KIND_COACHED(e->key[0]) || agg_val_normalise(&e->v, e->key, e->klen)) {
            continue;
        }
        rc = agg_write_fail(agg_val_put(t, e->key, e->klen, &e->v));
    }
    if (rc == 0) {
        rc = agg_write_fail(agg_seen_write_map(t, &b->map));
    }
    /* The impact and line-coach blocks, from the AGG_COACH and
     * AGG_LINE_COACH values just written. */
    if (rc == 0) {
        uint64_t blocks = 0;

        rc = agg_impact_build_all(t, AGG_IMPACT_BUILD_ALL, &blocks);
    }
    if (rc == 0) {
        log_event(LOG_INFO, "agg_rebuilt", "observations=%" PRIu64 " counted=%" PRIu64 " keys=%zu",
                  b->res.observations, b->res.counted, b->map.n);
    }
    agg_map_free(&b->map);
    free(b);
    return rc;
}

/* Format 4 to 5: an observer's shares per coach are folded into the
 * observer-week lists (agg_seen.c) without reading a record. */
static int step_to_5(struct store_txn *t, uint64_t *lists)
{
    return agg_seen_migrate(t, lists);
}

/* Format 5 to 6: the impact blocks, made from the stored AGG_COACH values
 * (agg_impact.c), as this tree writes them (with their seconds, which the
 * step to 7 then need not add). */
static int step_to_6(struct store_txn *t, uint64_t *blocks)
{
    return agg_impact_build_all(t, AGG_IMPACT_BUILD_COACH, blocks);
}

/* Format 6 to 7: the line-coach blocks, made from the stored
 * AGG_LINE_COACH values, and, when the store's impact blocks are format
 * 6's (coach_too), those made again with their weeks' seconds. Needs only
 * what format 6 holds; reads no record. */
static int step_to_7(struct store_txn *t, int coach_too, uint64_t *blocks)
{
    return agg_impact_build_all(
        t, AGG_IMPACT_BUILD_LINE | (coach_too ? AGG_IMPACT_BUILD_COACH : 0u), blocks);
}

/* Format 7 to 8: each coach-week value's count of observers with ratings
 * of its coach that week, from the observer-week lists (agg_seen.c).
 * Needs only what format 5 on holds; reads no record. */
static int step_to_8(struct store_txn *t, uint64_t *values)
{
    return agg_seen_raters_migrate(t, values);
}

/* Format < 10 to 10: the observers' cumulative lists, made from the
 * observer-week lists (agg_cum.c). Needs only what format 5 on holds (any
 * format from 8 on passes it by); reads no record. */
static int step_to_10(struct store_txn *t, uint64_t *groups)
{
    return agg_cum_migrate(t, groups);
}

int agg_format_check(struct store_txn *t, int rebuilt)
{
    static const char key[] = "agg_format";
    uint8_t want[4];
    MDB_val v;
    MDB_stat st;
    uint64_t marked = 0;
    int rc;

    keys_put_be32(want, AGG_FORMAT);
    rc = store_txn_get_raw(t, t->s->dbi_meta, (const uint8_t *)key, sizeof(key) - 1, &v);
    if (rc == 0 && v.mv_size == 4 && memcmp(v.mv_data, want, 4) == 0) {
        return 0;
    }
    if (rc != 0 && rc != -ENOENT) {
        return rc;
    }
    /* Formats from 4 on differ from this one only in values made from
     * other stored values: each step makes its own from what the one
     * before left, without reading a record, and a store runs the steps
     * after its format, in order. */
    if (rc == 0 && v.mv_size == 4 && keys_get_be32(v.mv_data) >= 4 &&
        keys_get_be32(v.mv_data) < AGG_FORMAT && !rebuilt) {
        uint32_t from = keys_get_be32(v.mv_data);
        uint64_t lists = 0, blocks = 0, more = 0, counted = 0, groups = 0;

        rc = from < 5 ? step_to_5(t, &lists) : 0;
        if (rc == 0 && from < 6) {
            rc = step_to_6(t, &blocks);
        }
        if (rc == 0 && from < 7) {
            rc = step_to_7(t, from == 6, &more);
        }
        if (rc == 0 && from < 8) {
            rc = step_to_8(t, &counted);
        }
        if (rc == 0 && from < 10) {
            rc = step_to_10(t, &groups);
        }
        if (rc != 0) {
            return rc;
        }
        log_event(LOG_INFO, "agg_format_upgraded",
                  "from=%" PRIu32 " to=%d lists=%" PRIu64 " blocks=%" PRIu64 " coach_weeks=%" PRIu64
                  " cumulative=%" PRIu64,
                  from, AGG_FORMAT, lists, blocks + more, counted, groups);
        return store_txn_put_raw(t, t->s->dbi_meta, (const uint8_t *)key, sizeof(key) - 1, want, 4,
                                 NULL);
    }
    rc = mdb_stat(t->txn, t->s->dbi_agg, &st);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    /* Records of format 3 or older did not say they fulfilled an
     * assignment: they are marked first (agg_assigned.c). */
    rc = agg_assigned_backfill(t, &marked);
    if (rc != 0) {
        return rc;
    }
    log_event(LOG_INFO, "agg_assigned_marked", "n=%" PRIu64, marked);
    /* A schema upgrade's rebuild ran before the records were marked: the
     * marked ones are not in its twins yet. */
    if ((!rebuilt && st.ms_entries > 0) || marked > 0) {
        /* Values written before the mix have none: every value is made
         * again from the records, as a schema upgrade does. */
        rc = agg_rebuild_txn(t);
        if (rc != 0) {
            return rc;
        }
        log_event(LOG_INFO, "agg_format_upgraded", "to=%d", AGG_FORMAT);
    }
    return store_txn_put_raw(t, t->s->dbi_meta, (const uint8_t *)key, sizeof(key) - 1, want, 4,
                             NULL);
}

static int near(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);

    return fabs(a - b) <= 1e-9 * (m > 1 ? m : 1);
}

/* Appends "; what" to a bounded description. */
static void describe(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void describe(char *out, size_t outlen, const char *fmt, ...)
{
    size_t n = strlen(out);
    va_list ap;

    if (n + 8 >= outlen) {
        return;
    }
    if (n > 0) {
        snprintf(out + n, outlen - n, "; ");
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(out + n, outlen - n, fmt, ap);
    va_end(ap);
}

/* Describes how stored s differs from rebuilt r into out ("" if equal). */
static void val_diff(const struct agg_val *s, const struct agg_val *r, char *out, size_t outlen)
{
    static const char *const names[] = {"observations",  "seconds",  "index_n",
                                        "self_assess_n", "actions",  "double_coded",
                                        "recordings",    "rep_first"};
    const int64_t sv[] = {s->observations, s->seconds,      s->index_n, s->self_n,
                          s->actions,      s->double_coded, s->rec_n,   s->rec_rep_first};
    const int64_t rv[] = {r->observations, r->seconds,      r->index_n, r->self_n,
                          r->actions,      r->double_coded, r->rec_n,   r->rec_rep_first};

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(sv) / sizeof(sv[0]); i++) {
        if (sv[i] != rv[i]) {
            describe(out, outlen, "%s %" PRId64 ", rebuilt %" PRId64, names[i], sv[i], rv[i]);
        }
    }
    if (!near(s->index_sum, r->index_sum) || !near(s->index_sumsq, r->index_sumsq)) {
        describe(out, outlen, "quality index sums %.6g/%.6g, rebuilt %.6g/%.6g", s->index_sum,
                 s->index_sumsq, r->index_sum, r->index_sumsq);
    }
    if (!near(s->self_s, r->self_s)) {
        describe(out, outlen, "self-assessment seconds %.6g, rebuilt %.6g", s->self_s, r->self_s);
    }
    for (int i = 0; i < AGG_NMARKERS; i++) {
        if (s->markers[i] != r->markers[i]) {
            describe(out, outlen, "markers[%d] %" PRId64 ", rebuilt %" PRId64, i, s->markers[i],
                     r->markers[i]);
        }
    }
    for (int i = 0; i < AGG_NMIX; i++) {
        if (s->mix[i] != r->mix[i]) {
            describe(out, outlen, "mix[%d] %" PRId64 ", rebuilt %" PRId64, i, s->mix[i], r->mix[i]);
        }
    }
    for (int i = 0; i < AGG_NMIXQ; i++) {
        if (!near(s->mix_q[i], r->mix_q[i])) {
            describe(out, outlen, "mix_q[%d] %.6g, rebuilt %.6g", i, s->mix_q[i], r->mix_q[i]);
        }
    }
    for (int i = 0; i < AGG_NPAIRS; i++) {
        if (s->pairs[i] != r->pairs[i]) {
            describe(out, outlen, "pairs[%d] %" PRId64 ", rebuilt %" PRId64, i, s->pairs[i],
                     r->pairs[i]);
        }
    }
    for (size_t i = 0; i < r->nb; i++) {
        const struct agg_beh *rb = &r->b[i];
        const struct agg_beh *sb = NULL;

        for (size_t j = 0; j < s->nb; j++) {
            if (strcmp(s->b[j].id, rb->id) == 0) {
                sb = &s->b[j];
            }
        }
        if (sb == NULL) {
            describe(out, outlen, "behaviour %s missing (rebuilt count %" PRId64 ")", rb->id,
                     rb->count);
        } else if (sb->count != rb->count || sb->proficient != rb->proficient ||
                   !near(sb->sum, rb->sum) || !near(sb->sumsq, rb->sumsq)) {
            describe(out, outlen,
                     "behaviour %s count/sum/sumsq/proficient %" PRId64 "/%g/%g/%" PRId64
                     ", rebuilt %" PRId64 "/%g/%g/%" PRId64,
                     rb->id, sb->count, sb->sum, sb->sumsq, sb->proficient, rb->count, rb->sum,
                     rb->sumsq, rb->proficient);
        }
    }
    for (size_t j = 0; j < s->nb; j++) {
        int found = 0;

        for (size_t i = 0; i < r->nb; i++) {
            found = found || strcmp(s->b[j].id, r->b[i].id) == 0;
        }
        if (!found) {
            describe(out, outlen, "behaviour %s not rebuilt (stored count %" PRId64 ")", s->b[j].id,
                     s->b[j].count);
        }
    }
}

/* True if the rebuilt entry e is one a coach-week value must mirror: an
 * AGG_COACH value (or twin) with observations or ratings. */
static int wants_listing(const struct agg_ent *e)
{
    int64_t n = 0;

    if (e->klen < 1 || (e->key[0] & ~AGG_ASSIGNED) != AGG_COACH) {
        return 0;
    }
    for (size_t k = 0; k < e->v.nb; k++) {
        n += e->v.b[k].count;
    }
    return e->v.observations != 0 || n != 0;
}

/* Reports where the stored figures s differ from the rebuilt share e's
 * summed over its behaviours (whole numbers, so exact). */
static void figures_diff(struct agg_build *b, const char *text, const struct agg_seen_ent *s,
                         const struct agg_ent *e)
{
    int64_t n = 0, sum = 0, sumsq = 0, prof = 0;
    char what[300];

    for (size_t k = 0; k < e->v.nb; k++) {
        n += e->v.b[k].count;
        sum += (int64_t)llround(e->v.b[k].sum);
        sumsq += (int64_t)llround(e->v.b[k].sumsq);
        prof += e->v.b[k].proficient;
    }
    if (s->observations != e->v.observations || s->count != n || s->sum != sum ||
        s->sumsq != sumsq || s->proficient != prof) {
        snprintf(what, sizeof(what),
                 "observations %" PRId64 ", ratings %" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64
                 "; rebuilt %" PRId64 ", %" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64,
                 s->observations, s->count, s->sum, s->sumsq, s->proficient, e->v.observations, n,
                 sum, sumsq, prof);
        report(b, text, what);
    }
}

static int coached_cmp(const void *a, const void *b)
{
    const struct agg_ent *x = *(struct agg_ent *const *)a;
    const struct agg_ent *y = *(struct agg_ent *const *)b;

    return keys_compare(x->key, x->klen, y->key, y->klen);
}

/* The rebuilt shares (AGG_OBSERVER_COACH keys and twins) in key order, so
 * that an observer's and rubric's are together, by week, then manager. */
static int coached_sort(struct agg_build *b)
{
    if (b->coached != NULL || b->map.n == 0) {
        return 0;
    }
    b->coached = calloc(b->map.n, sizeof(*b->coached));
    if (b->coached == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < b->map.cap; i++) {
        struct agg_ent *e = b->map.slot[i];

        if (e != NULL && AGG_KIND_COACHED(e->key[0])) {
            b->coached[b->ncoached++] = e;
        }
    }
    qsort(b->coached, b->ncoached, sizeof(*b->coached), coached_cmp);
    return 0;
}

/* What the cumulative list of the group prefix p[0..plen) (a share key's
 * kind, observer and rubric) at the week until should hold, from the
 * rebuilt shares, into b->cum_want. Called for a group's lists in week
 * order, it carries on from the week before (b->cum_*); a group or week
 * out of that order starts the group's sum afresh. Returns 1 when the week
 * until has a share with figures (its week list is stored), 0 when not,
 * -ENOMEM, or -EIO for a sum past an int64_t. */
static int cum_rebuilt(struct agg_build *b, const uint8_t *p, size_t plen, int32_t until)
{
    struct agg_seen *wk = &b->cum_wk;
    size_t i;
    int rc = 0;

    if (b->cum_plen != plen || memcmp(b->cum_p, p, plen) != 0 || until <= b->cum_until) {
        size_t lo = 0, hi = b->ncoached;

        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            const struct agg_ent *e = b->coached[mid];

            if (keys_compare(e->key, e->klen < plen ? e->klen : plen, p, plen) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        memcpy(b->cum_p, p, plen);
        b->cum_plen = plen;
        b->cum_at = lo;
        b->cum_week = INT32_MIN;
        b->cum_want.n = 0;
    }
    b->cum_until = until;
    for (i = b->cum_at; i < b->ncoached && rc == 0;) {
        const struct agg_ent *e = b->coached[i];
        int32_t monday;

        if (e->klen < plen + 5 || memcmp(e->key, p, plen) != 0 ||
            (monday = keys_day_decode(e->key + plen)) > until) {
            break;
        }
        /* One week's shares, in manager order: a list to add. */
        wk->n = 0;
        for (; i < b->ncoached && rc == 0; i++) {
            const struct agg_ent *x = b->coached[i];
            struct agg_seen_ent *d;
            size_t clen = x->klen - plen - 4;

            if (x->klen < plen + 5 || memcmp(x->key, p, plen) != 0 ||
                keys_day_decode(x->key + plen) != monday) {
                break;
            }
            if (clen > VALIDATE_MAX_ID || GROW_ARRAY(wk->e, wk->cap, wk->n + 1, 16) < 0) {
                rc = clen > VALIDATE_MAX_ID ? 0 : -ENOMEM;
                continue;
            }
            d = &wk->e[wk->n];
            memset(d, 0, sizeof(*d));
            memcpy(d->coach, x->key + plen + 4, clen);
            d->coach[clen] = '\0';
            d->clen = clen;
            d->observations = x->v.observations;
            for (size_t k = 0; k < x->v.nb; k++) {
                d->count += x->v.b[k].count;
                d->sum += (int64_t)llround(x->v.b[k].sum);
                d->sumsq += (int64_t)llround(x->v.b[k].sumsq);
                d->proficient += x->v.b[k].proficient;
            }
            wk->n += d->observations != 0 || d->count != 0;
        }
        if (rc == 0 && wk->n > 0) {
            b->cum_week = monday;
            rc = agg_cum_add(&b->cum_want, wk, &b->cum_sum);
        }
    }
    b->cum_at = i;
    if (rc != 0) {
        b->cum_plen = 0;
        return rc;
    }
    return b->cum_week == until;
}

/* Compares a stored cumulative list (format 10) with what the rebuilt
 * shares of its observer and rubric add up to by its week. */
static int verify_cum(struct agg_build *b, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen, const char *text)
{
    uint8_t p[AGG_KEY_MAX];
    struct agg_seen l;
    size_t slen, rlen;
    int rc;

    memset(&l, 0, sizeof(l));
    rc = agg_seen_decode(&l, val, vlen);
    if (rc == -EIO || klen < 3 || (slen = key[1]) + 3 > klen ||
        (rlen = key[2 + slen]) + 3 + slen + 4 != klen) {
        report(b, text, "stored cumulative list does not decode");
        rc = 0;
        goto out;
    }
    if (rc == 0) {
        rc = coached_sort(b);
    }
    if (rc != 0) {
        goto out;
    }
    memcpy(p, key, klen - 4);
    p[0] = (uint8_t)((key[0] & AGG_ASSIGNED) | AGG_OBSERVER_COACH);
    rc = cum_rebuilt(b, p, klen - 4, keys_day_decode(key + klen - 4));
    if (rc == 0) {
        report(b, text, "stored but not rebuilt (no share of its week)");
    } else if (rc == 1) {
        if (!agg_cum_equal(&l, &b->cum_want)) {
            report(b, text, "cumulative list differs from what its weeks' shares add up to");
        }
        rc = 0;
    }
out:
    agg_seen_free(&l);
    return rc;
}

/* Names each cumulative list (format 10) that is missing: one per
 * observer, rubric and week with a rebuilt share with figures. */
static int verify_cum_missing(struct agg_build *b)
{
    uint8_t ck[AGG_KEY_MAX];
    char text[300];
    int rc = coached_sort(b);

    for (size_t i = 0; i < b->ncoached && rc == 0; i++) {
        const struct agg_ent *e = b->coached[i];
        size_t slen = e->key[1], at;
        MDB_val v;
        int64_t n = 0;

        for (size_t k = 0; k < e->v.nb; k++) {
            n += e->v.b[k].count;
        }
        if (e->klen < 3 + slen || (at = 3 + slen + e->key[2 + slen]) + 4 >= e->klen ||
            (e->v.observations == 0 && n == 0)) {
            continue;
        }
        /* The next share of the same week has the same list. */
        if (i + 1 < b->ncoached && b->coached[i + 1]->klen > at + 4 &&
            memcmp(b->coached[i + 1]->key, e->key, at + 4) == 0) {
            continue;
        }
        memcpy(ck, e->key, at + 4);
        ck[0] = (uint8_t)((e->key[0] & AGG_ASSIGNED) | AGG_OBSERVER_CUM);
        rc = store_txn_get_raw(b->t, b->t->s->dbi_agg, ck, at + 4, &v);
        if (rc == -ENOENT) {
            agg_key_text(ck, at + 4, text, sizeof(text));
            report(b, text, "missing (its week has a rebuilt share)");
            rc = 0;
        }
    }
    return rc;
}

/* Compares a stored observer-week list with the rebuilt shares of its
 * managers, each reported under its share's key text (AGG_OBSERVER_COACH). */
static int verify_seen(struct agg_build *b, const uint8_t *key, size_t klen, const uint8_t *val,
                       size_t vlen, const char *text)
{
    struct agg_seen l;
    uint8_t sk[AGG_KEY_MAX];
    size_t sklen = 0;
    char etext[400];
    char what[300];
    int rc;

    memset(&l, 0, sizeof(l));
    rc = agg_seen_decode(&l, val, vlen);
    /* The key must be a whole list key (kind, scope, rubric, week). */
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        rc = agg_seen_share_key(key, klen, &l.e[i], sk, &sklen) != 0 ? -EIO : 0;
    }
    if (rc == -EIO) {
        agg_seen_free(&l);
        report(b, text, "stored list does not decode");
        return 0;
    }
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        const struct agg_seen_ent *s = &l.e[i];
        struct agg_ent *e;

        (void)agg_seen_share_key(key, klen, s, sk, &sklen);
        agg_key_text(sk, sklen, etext, sizeof(etext));
        e = agg_map_find(&b->map, sk, sklen);
        /* A share that adds up to nothing is listed nowhere (verify_txn()
         * marked it seen already): a manager listed for it is not rebuilt. */
        if (e != NULL && e->v.observations == 0 && e->v.nb == 0) {
            e = NULL;
        }
        if (e != NULL && e->seen) {
            /* Only a list out of order or with a manager twice. */
            report(b, etext, "listed twice");
            continue;
        }
        if (i > 0 && strcmp(l.e[i - 1].coach, s->coach) >= 0) {
            report(b, etext, "out of order");
        }
        if (e == NULL) {
            snprintf(what, sizeof(what), "stored but not rebuilt (stored %" PRId64 " observations)",
                     s->observations);
            report(b, etext, what);
            continue;
        }
        e->seen = 1;
        figures_diff(b, etext, s, e);
    }
    agg_seen_free(&l);
    return rc;
}

/* Compares a stored coach-week value with the rebuilt AGG_COACH value it
 * mirrors, reported under its own key's text. */
static void verify_coach_week(struct agg_build *b, const uint8_t *key, size_t klen,
                              const uint8_t *val, size_t vlen, const char *text)
{
    uint8_t sk[AGG_KEY_MAX];
    size_t sklen = 0;
    struct agg_seen_ent s;
    struct agg_ent *e;
    char what[300];

    if (agg_coach_week_share(key, klen, val, vlen, sk, &sklen, &s) != 0) {
        report(b, text, "stored value does not decode");
        return;
    }
    e = agg_map_find(&b->map, sk, sklen);
    if (e == NULL || !wants_listing(e)) {
        snprintf(what, sizeof(what), "stored but not rebuilt (stored %" PRId64 " observations)",
                 s.observations);
        report(b, text, what);
        return;
    }
    e->listed = 1;
    figures_diff(b, text, &s, e);
    e = agg_map_find(&b->raters, key, klen);
    if (s.raters != (e != NULL ? e->v.observations : 0)) {
        snprintf(what, sizeof(what), "observers with ratings %" PRId64 "; rebuilt %" PRId64,
                 s.raters, e != NULL ? e->v.observations : 0);
        report(b, text, what);
    }
}

/* Counts into b->raters, per coach-week, the rebuilt observers' shares
 * with ratings (each observer one share per coach and week). */
static int count_raters(struct agg_build *b)
{
    struct agg_val one;
    int rc = 0;

    memset(&one, 0, sizeof(one));
    one.observations = 1;
    for (size_t i = 0; i < b->map.cap && rc == 0; i++) {
        const struct agg_ent *e = b->map.slot[i];
        uint8_t key[AGG_KEY_MAX];
        size_t klen = 0;
        int64_t n = 0;

        if (e == NULL || !AGG_KIND_COACHED(e->key[0])) {
            continue;
        }
        for (size_t k = 0; k < e->v.nb; k++) {
            n += e->v.b[k].count;
        }
        if (n > 0 && agg_coach_week_key_of(e->key, e->klen, key, &klen) == 0) {
            rc = agg_map_add(&b->raters, key, klen, &one, 1);
        }
    }
    return rc;
}

static int verify_stored(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct agg_build *b = arg;
    struct agg_ent *e;
    struct agg_val sv;
    char text[300];
    char what[1024];
    int rc;

    b->res.keys++;
    agg_key_text(key, klen, text, sizeof(text));
    if (klen >= 1 && AGG_KIND_COACHED(key[0])) {
        report(b, text, "stored as aggregate format 4 kept it (an observer-week list from 5 on)");
        return 0;
    }
    if (klen >= 1 && AGG_KIND_SEEN(key[0])) {
        return verify_seen(b, key, klen, val, vlen, text);
    }
    if (klen >= 1 && AGG_KIND_CUM(key[0])) {
        return verify_cum(b, key, klen, val, vlen, text);
    }
    if (klen >= 1 && AGG_KIND_COACHES(key[0])) {
        verify_coach_week(b, key, klen, val, vlen, text);
        return 0;
    }
    /* An impact block must be what its weeks' rebuilt values make. */
    if (klen >= 1 && AGG_KIND_IMPACT(key[0])) {
        rc = agg_impact_verify(&b->map, key, klen, val, vlen);
        if (rc == 1) {
            report(b, text, "impact block differs from what its weeks' values make");
        }
        return rc < 0 ? rc : 0;
    }
    memset(&sv, 0, sizeof(sv));
    rc = agg_val_decode(&sv, val, vlen);
    if (rc == -EIO) {
        agg_val_free(&sv);
        report(b, text, "stored value does not decode");
        return 0;
    }
    if (rc != 0) {
        agg_val_free(&sv);
        return rc;
    }
    e = agg_map_find(&b->map, key, klen);
    if (e == NULL) {
        snprintf(what, sizeof(what), "stored but not rebuilt (stored %" PRId64 " observations)",
                 sv.observations);
        report(b, text, what);
    } else {
        e->seen = 1;
        val_diff(&sv, &e->v, what, sizeof(what));
        if (what[0] != '\0') {
            report(b, text, what);
        }
        /* A coach's week that should be stored needs its impact block,
         * and a line's view of a coach its line-coach block. */
        if ((key[0] & ~AGG_ASSIGNED) == AGG_COACH || key[0] == AGG_LINE_COACH) {
            rc = agg_impact_has(b->t, key, klen);
            if (rc == 0) {
                report(b, text, "missing its impact block");
            }
        }
    }
    agg_val_free(&sv);
    return rc < 0 ? rc : 0;
}

static int ent_cmp(const void *a, const void *b)
{
    const struct agg_ent *x = *(struct agg_ent *const *)a;
    const struct agg_ent *y = *(struct agg_ent *const *)b;

    return keys_compare(x->key, x->klen, y->key, y->klen);
}

static int verify_txn(struct store_txn *t, void *arg)
{
    struct agg_build *b = arg;
    struct agg_ent **missing = NULL;
    size_t nmissing = 0;
    MDB_stat st;
    int rc;

    b->t = t;
    rc = build_all(b);
    for (size_t i = 0; i < b->map.cap && rc == 0; i++) {
        struct agg_ent *e = b->map.slot[i];

        /* A value that adds up to nothing is not stored. */
        if (e != NULL && agg_val_normalise(&e->v, e->key, e->klen)) {
            e->seen = 1;
        }
    }
    if (rc == 0) {
        rc = count_raters(b);
    }
    if (rc == 0) {
        rc = store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, verify_stored, b);
    }
    if (rc == 0) {
        rc = verify_cum_missing(b);
    }
    if (rc == 0 && b->map.n > 0) {
        missing = calloc(b->map.n, sizeof(*missing));
        if (missing == NULL) {
            rc = -ENOMEM;
        }
    }
    for (size_t i = 0; i < b->map.cap && rc == 0; i++) {
        if (b->map.slot[i] != NULL && !b->map.slot[i]->seen) {
            missing[nmissing++] = b->map.slot[i];
        }
    }
    if (nmissing > 0) {
        qsort(missing, nmissing, sizeof(*missing), ent_cmp);
    }
    for (size_t i = 0; i < nmissing; i++) {
        char text[300], what[100];

        agg_key_text(missing[i]->key, missing[i]->klen, text, sizeof(text));
        snprintf(what, sizeof(what), "missing (rebuilt %" PRId64 " observations)",
                 missing[i]->v.observations);
        report(b, text, what);
    }
    free(missing);
    for (size_t i = 0; i < b->map.cap && rc == 0; i++) {
        const struct agg_ent *e = b->map.slot[i];
        char text[300];

        if (e != NULL && !e->listed && wants_listing(e)) {
            agg_key_text(e->key, e->klen, text, sizeof(text));
            report(b, text, "missing its coach-week value");
        }
    }
    if (rc == 0 && mdb_stat(t->txn, t->s->dbi_agg_contrib, &st) == 0 &&
        st.ms_entries > b->contribs) {
        char what[100];

        snprintf(what, sizeof(what), "%" PRIu64 " contributions of versions that add nothing",
                 (uint64_t)st.ms_entries - b->contribs);
        report(b, "contrib", what);
    }
    return rc;
}

static int repair_txn(struct store_txn *t, void *arg)
{
    (void)arg;
    return agg_rebuild_txn(t);
}

int agg_verify(struct store *s, int repair, agg_diff_cb cb, void *arg,
               struct agg_verify_result *out)
{
    struct agg_build *b;
    int rc;

    memset(out, 0, sizeof(*out));
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return -ENOMEM;
    }
    b->check_contribs = 1;
    b->diff = cb;
    b->diff_arg = arg;
    rc = store_view(s, verify_txn, b);
    if (rc == 0) {
        *out = b->res;
    }
    if (rc == 0 && repair && b->res.differences > 0) {
        rc = store_exec(s, repair_txn, NULL);
    }
    agg_map_free(&b->map);
    agg_map_free(&b->raters);
    free(b->coached);
    agg_seen_free(&b->cum_want);
    agg_seen_free(&b->cum_wk);
    agg_seen_free(&b->cum_sum);
    free(b);
    return rc;
}
