/*
 * agg_apply: the writer's hook of the aggregates, agg_observation() (agg.h).
 *
 * For each stored version it reads what it needs, computes every delta and
 * every contribution record in memory, and writes the contributions. The
 * deltas go into the batch's map (struct agg_batch, on t->batch), merged
 * across all the batch's records; agg_flush(), which the store engine
 * calls before the commit (store_flush_cb), reads each touched value once,
 * adds its delta and writes it once. Any failure after the first write
 * ends the store's whole attempt, so the map never outlives a transaction
 * that holds only part of it. Writer thread.
 */
#include "agg.h"
#include "agg_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "store_int.h"

/* The records one write may change: its session's window and the one past
 * it, the same again for the session an amendment moved away from, and the
 * superseded version. */
#define AGG_MAX_TOUCHED (2 * (AGG_SESSION_KEYS + 1) + 2)

/* One stored version's change: deltas per key (the batch's map) and the
 * contributions to rewrite. */
struct agg_work {
    struct store_txn *t;
    struct agg_map *delta;
    struct agg_contrib touched[AGG_MAX_TOUCHED];
    size_t ntouched;
    struct agg_session session; /* work_sync_session()'s, its memory kept for the batch */
};

/* A batch's aggregate work (t->batch): the deltas of its records per key,
 * their entries in one arena, and the working state one record at a time,
 * made once per batch rather than once per record. */
struct agg_batch {
    struct agg_map delta;
    struct agg_arena arena;
    struct agg_work work;
};

/* The working copy of id's contribution (of record rec, or NULL if it
 * could not be read), read on first use. */
static int work_contrib(struct agg_work *w, const uint8_t id[KEYS_UUID_LEN],
                        const Coachq__V1__StoredObservation *rec, struct agg_contrib **out)
{
    int rc;

    for (size_t i = 0; i < w->ntouched; i++) {
        if (memcmp(w->touched[i].id, id, KEYS_UUID_LEN) == 0) {
            *out = &w->touched[i];
            return 0;
        }
    }
    if (w->ntouched == AGG_MAX_TOUCHED) {
        /* Cannot happen: sessions are read AGG_SESSION_KEYS + 1 keys at
         * most. */
        return -E2BIG;
    }
    rc = agg_contrib_load(w->t, id, rec, &w->touched[w->ntouched]);
    if (rc != 0) {
        return rc;
    }
    *out = &w->touched[w->ntouched++];
    return 0;
}

/* True if c's peer list holds id. */
static int agg_contrib_has_peer(const struct agg_contrib *c, const uint8_t id[KEYS_UUID_LEN])
{
    for (size_t i = 0; i < c->npeers; i++) {
        if (memcmp(c->peers[i], id, KEYS_UUID_LEN) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Brings the pairs of the session of coach at started_at to what the rule
 * says for the store as it is now (the record and its index keys already
 * put, the superseded version's taken out): a pair the rule no longer
 * makes is taken back, a new one added, each on both peer lists. By
 * induction, the pairs stored before this write were the rule's for the
 * state before it, and they all lie within the first AGG_SESSION_KEYS + 1
 * keys read here.
 */
static int work_sync_session(struct agg_work *w, const char *coach, int64_t started_at)
{
    struct agg_session *s = &w->session;
    int rc;

    rc = agg_session_load_pairs(w->t, coach, started_at, s);
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        struct agg_contrib *ci;

        if (s->rec[i] == NULL || !s->counts[i]) {
            continue;
        }
        rc = work_contrib(w, s->rec[i]->observation->id.data, s->rec[i], &ci);
        for (size_t j = i + 1; j < s->n && rc == 0; j++) {
            const uint8_t *jid;
            struct agg_contrib *cj;
            int want;
            int have;

            if (s->rec[j] == NULL || !s->counts[j]) {
                continue;
            }
            jid = s->rec[j]->observation->id.data;
            want = agg_session_paired(s, i, j);
            have = agg_contrib_has_peer(ci, jid);
            if (want == have) {
                continue;
            }
            rc = work_contrib(w, jid, s->rec[j], &cj);
            if (rc == 0) {
                rc = agg_pair_values(w->t, w->delta, s->rec[i], s->rec[j], want ? 1 : -1);
            }
            if (rc == 0 && want) {
                rc = agg_contrib_add_peer(ci, jid);
                if (rc == 0) {
                    rc = agg_contrib_add_peer(cj, s->rec[i]->observation->id.data);
                }
                /* A record becomes double-coded with its first peer. */
                if (rc == 0 && ci->npeers == 1) {
                    rc = agg_dc_value(w->t, w->delta, s->rec[i], 1);
                }
                if (rc == 0 && cj->npeers == 1) {
                    rc = agg_dc_value(w->t, w->delta, s->rec[j], 1);
                }
            } else if (rc == 0) {
                agg_contrib_del_peer(ci, jid);
                agg_contrib_del_peer(cj, s->rec[i]->observation->id.data);
                /* and stops being one with its last. */
                if (ci->npeers == 0) {
                    rc = agg_dc_value(w->t, w->delta, s->rec[i], -1);
                }
                if (rc == 0 && cj->npeers == 0) {
                    rc = agg_dc_value(w->t, w->delta, s->rec[j], -1);
                }
            }
        }
    }
    agg_session_clear(s);
    return rc;
}

/* Takes back what version prev (read by the caller; NULL if it was not
 * found) added: its own values at the keys it remembered, and its double
 * coding with every peer still paired. */
static int work_take_back(struct agg_work *w, const uint8_t prev_id[KEYS_UUID_LEN],
                          const Coachq__V1__StoredObservation *prev)
{
    struct agg_contrib *c;
    struct agg_val v;
    int had_peers;
    int rc;

    memset(&v, 0, sizeof(v));
    rc = work_contrib(w, prev_id, prev, &c);
    if (rc != 0 || (c->nkeys == 0 && c->npeers == 0)) {
        return rc;
    }
    had_peers = c->npeers > 0;
    rc = prev != NULL ? 0 : -ENOENT;
    if (rc == 0 && had_peers) {
        rc = agg_dc_value(w->t, w->delta, prev, -1);
    }
    if (rc == 0 && c->nkeys > 0) {
        rc = agg_record_values(prev->observation, &v);
        for (size_t i = 0; i < c->nkeys && rc == 0; i++) {
            rc = agg_map_add(w->delta, c->keys[i].b, c->keys[i].len, &v, -1);
        }
    }
    while (rc == 0 && c->npeers > 0) {
        Coachq__V1__StoredObservation *peer = NULL;
        struct agg_contrib *pc;
        uint8_t pid[KEYS_UUID_LEN];

        memcpy(pid, c->peers[c->npeers - 1], KEYS_UUID_LEN);
        c->npeers--;
        rc = agg_record_read(w->t, pid, &peer);
        if (rc == 0) {
            rc = agg_pair_values(w->t, w->delta, prev, peer, -1);
        }
        if (rc == 0) {
            rc = work_contrib(w, pid, peer, &pc);
        }
        if (rc == 0) {
            size_t before = pc->npeers;

            agg_contrib_del_peer(pc, prev_id);
            /* A peer left without any other peer is no longer double-coded. */
            if (before > 0 && pc->npeers == 0) {
                rc = agg_dc_value(w->t, w->delta, peer, -1);
            }
        }
        coachq__v1__stored_observation__free_unpacked(peer, NULL);
        /* work_contrib() may not move c: touched[] is a fixed array. */
    }
    c->nkeys = 0;
    c->dirty = 1;
    agg_val_free(&v);
    return rc;
}

int agg_write_fail(int rc)
{
    if (rc == -ENOMEM) {
        return STORE_TXN_ABORT(ENOMEM);
    }
    return rc;
}

/* Writes the touched contributions. */
static int work_commit(struct agg_work *w)
{
    int rc = 0;

    for (size_t i = 0; i < w->ntouched && rc == 0; i++) {
        if (w->touched[i].dirty) {
            rc = agg_write_fail(agg_contrib_write(w->t, &w->touched[i]));
        }
    }
    return rc;
}

void agg_batch_discard(struct store_txn *t)
{
    struct agg_batch *b = t->batch;

    if (b != NULL) {
        agg_map_free(&b->delta);
        agg_arena_free(&b->arena);
        agg_session_free(&b->work.session);
        free(b);
        t->batch = NULL;
    }
}

/* Orders the batch's entries by key, so that the values are visited in the
 * B-tree's order. */
static int ent_by_key(const void *a, const void *b)
{
    const struct agg_ent *x = *(struct agg_ent *const *)a;
    const struct agg_ent *y = *(struct agg_ent *const *)b;

    return keys_compare(x->key, x->klen, y->key, y->klen);
}

/* Adds the stored value of e's key (if any) under e's delta, stored first
 * so that behaviours keep their order of appearance, and writes the sum,
 * or deletes the value when it adds up to nothing. */
static int flush_one(struct store_txn *t, struct agg_ent *e, struct agg_val *sum)
{
    MDB_val v;
    int rc;

    rc = store_txn_get_raw(t, t->s->dbi_agg, e->key, e->klen, &v);
    if (rc == 0) {
        rc = agg_val_decode(sum, v.mv_data, v.mv_size);
    } else if (rc == -ENOENT) {
        agg_val_clear(sum);
        rc = 0;
    }
    if (rc == 0) {
        rc = agg_val_add(sum, &e->v, 1);
    }
    if (rc != 0) {
        return rc;
    }
    if (agg_val_normalise(sum, e->key, e->klen)) {
        rc = store_txn_del(t, t->s->dbi_agg, e->key, e->klen);
    } else {
        rc = agg_val_put(t, e->key, e->klen, sum);
    }
    return agg_write_fail(rc);
}

int agg_flush(struct store_txn *t)
{
    struct agg_batch *b = t->batch;
    struct agg_ent **ents = NULL;
    struct agg_val sum;
    size_t n = 0;
    int rc = 0;

    if (b == NULL) {
        return 0;
    }
    memset(&sum, 0, sizeof(sum));
    if (b->delta.n > 0) {
        ents = malloc(b->delta.n * sizeof(*ents));
        if (ents == NULL) {
            rc = STORE_TXN_ABORT(ENOMEM);
        }
    }
    for (size_t i = 0; i < b->delta.cap && rc == 0; i++) {
        if (b->delta.slot[i] != NULL) {
            ents[n++] = b->delta.slot[i];
        }
    }
    if (n > 1) {
        qsort(ents, n, sizeof(*ents), ent_by_key);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        /* An observer's shares per coach are kept in lists only. */
        if (!AGG_KIND_COACHED(ents[i]->key[0])) {
            rc = flush_one(t, ents[i], &sum);
        }
    }
    /* The observer-week lists and coach-week values (agg_seen.c), each
     * read and written once. */
    if (rc == 0) {
        rc = agg_seen_write(t, ents, n);
    }
    /* The impact blocks of the coaches' weeks just written (agg_impact.c). */
    if (rc == 0) {
        rc = agg_impact_write(t, ents, n);
    }
    if (rc == -EIO) {
        log_event(LOG_ERROR, "agg_value_corrupt", "op=flush");
    }
    free(ents);
    agg_val_free(&sum);
    agg_batch_discard(t);
    return rc;
}

int agg_observation(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                    const uint8_t *prev_id)
{
    struct agg_work *w;
    struct agg_contrib *mine;
    Coachq__V1__StoredObservation *prev = NULL;
    struct agg_val v;
    int counts = 0;
    int rc;

    if (rec == NULL || rec->observation == NULL) {
        return -EINVAL;
    }
    if (t->batch == NULL) {
        struct agg_batch *b = calloc(1, sizeof(*b));

        if (b == NULL) {
            return STORE_TXN_ABORT(ENOMEM);
        }
        b->delta.arena = &b->arena;
        t->batch = b;
    }
    /* The batch's working state, left clean by the record before. */
    w = &((struct agg_batch *)t->batch)->work;
    memset(&v, 0, sizeof(v));
    w->t = t;
    w->delta = &((struct agg_batch *)t->batch)->delta;
    w->ntouched = 0;
    rc = 0;
    if (prev_id != NULL) {
        /* Where the superseded version was: an amendment may move the
         * session, and the one it leaves needs its pairs redone too. */
        rc = agg_record_read(t, prev_id, &prev);
        if (rc == -ENOENT) {
            rc = 0;
        }
    }
    if (rc == 0 && prev_id != NULL) {
        rc = work_take_back(w, prev_id, prev);
    }
    if (rc == 0) {
        rc = agg_counts(t, rec, &counts);
    }
    if (rc == 0 && counts) {
        rc = work_contrib(w, rec->observation->id.data, rec, &mine);
        if (rc == 0) {
            /* A new version has no contribution yet; start clean anyway. */
            mine->nkeys = 0;
            rc = agg_record_keys(t, rec, mine);
            mine->dirty = 1;
        }
        if (rc == 0) {
            rc = agg_record_values(rec->observation, &v);
        }
        for (size_t i = 0; rc == 0 && i < mine->nkeys; i++) {
            rc = agg_map_add(w->delta, mine->keys[i].b, mine->keys[i].len, &v, 1);
        }
    }
    /* Double coding: a calibration attempt is in no session (it has no
     * coach index key). Any other write can change its session's pairs,
     * even one that does not count itself (it may push a record out of
     * the window, or end a representative's turn). */
    if (rc == 0 && agg_record_ok(rec) && rec->observation->calibration_ref.len == 0) {
        rc = work_sync_session(w, rec->observation->coach_id, rec->observation->started_at);
    }
    if (rc == 0 && prev != NULL &&
        (prev->observation->started_at != rec->observation->started_at ||
         strcmp(prev->observation->coach_id, rec->observation->coach_id) != 0)) {
        rc = work_sync_session(w, prev->observation->coach_id, prev->observation->started_at);
    }
    if (rc == 0) {
        rc = work_commit(w);
    }
    if (rc == -ENOMEM) {
        /* The record is already put in this transaction: only ending the
         * attempt keeps it from being stored without its aggregates. */
        rc = STORE_TXN_ABORT(ENOMEM);
    }
    agg_val_free(&v);
    coachq__v1__stored_observation__free_unpacked(prev, NULL);
    for (size_t i = 0; i < w->ntouched; i++) {
        agg_contrib_free(&w->touched[i]);
    }
    w->ntouched = 0;
    return rc;
}
