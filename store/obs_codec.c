/*
 * obs_codec: the stored form of an observation record (obs_codec.h).
 */
#include "obs_codec.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "log.h"
#include "rubrics.h"
#include "store_int.h"

/* Rubric versions the cache keeps at most; a store naming more reads the
 * others from their rubric each time, which is only slower. */
#define CODEC_CACHE_MAX 256u

/* One rubric version's behaviour ids, in the rubric's order. */
struct codec_rubric {
    char *id;
    uint32_t version;
    size_t n;
    char **bids;
};

struct obs_codec_cache {
    /* Readers of any thread take it shared; filling and forgetting take it
     * exclusively. */
    pthread_rwlock_t lock;
    struct codec_rubric *v;
    size_t n;
    size_t cap;
};

static void codec_rubric_free(struct codec_rubric *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->bids[i]);
    }
    free(e->bids);
    free(e->id);
    memset(e, 0, sizeof(*e));
}

struct obs_codec_cache *obs_codec_cache_new(void)
{
    struct obs_codec_cache *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    if (pthread_rwlock_init(&c->lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void obs_codec_cache_free(struct obs_codec_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        codec_rubric_free(&c->v[i]);
    }
    free(c->v);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

/* The entry of id at version in c, or NULL. The caller holds c's lock. */
static struct codec_rubric *codec_find(struct obs_codec_cache *c, const char *id, uint32_t version)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].version == version && strcmp(c->v[i].id, id) == 0) {
            return &c->v[i];
        }
    }
    return NULL;
}

void obs_codec_forget(struct store *s, const char *id, uint32_t version)
{
    struct obs_codec_cache *c = s->codec;
    struct codec_rubric *e;

    if (c == NULL || id == NULL) {
        return;
    }
    pthread_rwlock_wrlock(&c->lock);
    e = codec_find(c, id, version);
    if (e != NULL) {
        codec_rubric_free(e);
        *e = c->v[c->n - 1];
        memset(&c->v[c->n - 1], 0, sizeof(c->v[0]));
        c->n--;
    }
    pthread_rwlock_unlock(&c->lock);
}

/* Reads rubric id at version in t into e (zeroed; the caller frees it with
 * codec_rubric_free()). Returns 0, -ENOENT, -ENOMEM or rubrics_get()'s
 * codes. */
static int codec_load(struct store_txn *t, const char *id, uint32_t version, struct codec_rubric *e)
{
    Coachq__V1__Rubric *r = NULL;
    int rc;

    rc = rubrics_get(t, id, version, &r);
    if (rc != 0) {
        return rc;
    }
    /* rubrics_get() reads the key of id and version: anything else is a
     * damaged rubric, which names no behaviour here. */
    if (r->version != version || r->id == NULL || strcmp(r->id, id) != 0) {
        rc = -EIO;
        goto out;
    }
    e->version = version;
    e->id = strdup(id);
    e->bids = calloc(r->n_behaviours > 0 ? r->n_behaviours : 1, sizeof(*e->bids));
    if (e->id == NULL || e->bids == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < r->n_behaviours; i++) {
        const char *b = r->behaviours[i]->id != NULL ? r->behaviours[i]->id : "";

        e->bids[i] = strdup(b);
        if (e->bids[i] == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        e->n++;
    }
out:
    if (rc != 0) {
        codec_rubric_free(e);
    }
    coachq__v1__rubric__free_unpacked(r, NULL);
    return rc;
}

typedef int (*codec_fn)(const struct codec_rubric *e, void *arg);

/* Calls fn with the behaviour ids of rubric id at version, from the cache,
 * or read in t and kept in it when there is room. Returns fn's result,
 * -ENOENT when the rubric version is not stored, or codec_load()'s codes. */
static int codec_with(struct store_txn *t, const char *id, uint32_t version, codec_fn fn, void *arg)
{
    struct obs_codec_cache *c = t->s->codec;
    struct codec_rubric fresh;
    struct codec_rubric *e;
    int rc;

    memset(&fresh, 0, sizeof(fresh));
    if (c != NULL) {
        pthread_rwlock_rdlock(&c->lock);
        e = codec_find(c, id, version);
        if (e != NULL) {
            rc = fn(e, arg);
            pthread_rwlock_unlock(&c->lock);
            return rc;
        }
        pthread_rwlock_unlock(&c->lock);
    }
    rc = codec_load(t, id, version, &fresh);
    if (rc != 0) {
        return rc;
    }
    /* The cache holds only what is committed: a transaction that has put
     * a rubric version may be abandoned, and a version it read would then
     * name behaviours no store holds. */
    if (c == NULL || t->rubric_put) {
        rc = fn(&fresh, arg);
        codec_rubric_free(&fresh);
        return rc;
    }
    pthread_rwlock_wrlock(&c->lock);
    e = codec_find(c, id, version);
    if (e == NULL && c->n < CODEC_CACHE_MAX) {
        if (c->n == c->cap) {
            size_t cap = c->cap == 0 ? 8 : c->cap * 2;
            struct codec_rubric *v = realloc(c->v, cap * sizeof(*v));

            if (v != NULL) {
                c->v = v;
                c->cap = cap;
            }
        }
        if (c->n < c->cap) {
            c->v[c->n] = fresh;
            memset(&fresh, 0, sizeof(fresh));
            e = &c->v[c->n++];
        }
    }
    rc = fn(e != NULL ? e : &fresh, arg);
    pthread_rwlock_unlock(&c->lock);
    codec_rubric_free(&fresh);
    return rc;
}

/* ---- Decoding ------------------------------------------------------------ */

struct codec_dec {
    Coachq__V1__Observation *obs;
    ProtobufCAllocator *a;
    uint64_t seq;
    const char *op;
};

static void *codec_alloc(ProtobufCAllocator *a, size_t n)
{
    return a != NULL ? a->alloc(a->allocator_data, n) : malloc(n);
}

static void codec_free(ProtobufCAllocator *a, void *p)
{
    if (a != NULL) {
        a->free(a->allocator_data, p);
    } else {
        free(p);
    }
}

static int codec_corrupt(const char *op, uint64_t seq, const char *why)
{
    log_event(LOG_ERROR, "store_record_corrupt", "op=%s seq=%" PRIu64 " %s", op, seq, why);
    return -EIO;
}

/* Gives each rating that names its behaviour by place its id back. */
static int codec_dec_fn(const struct codec_rubric *e, void *arg)
{
    struct codec_dec *d = arg;

    for (size_t i = 0; i < d->obs->n_ratings; i++) {
        Coachq__V1__Rating *rt = d->obs->ratings[i];
        const char *bid;
        size_t len;
        char *copy;

        if (rt->behaviour_place == 0) {
            continue;
        }
        if (rt->behaviour_place > e->n) {
            return codec_corrupt(d->op, d->seq, "why=place_past_rubric");
        }
        if (rt->behaviour_id != NULL && rt->behaviour_id[0] != '\0') {
            return codec_corrupt(d->op, d->seq, "why=place_and_id");
        }
        bid = e->bids[rt->behaviour_place - 1];
        len = strlen(bid) + 1;
        copy = codec_alloc(d->a, len);
        if (copy == NULL) {
            return -ENOMEM;
        }
        memcpy(copy, bid, len);
        /* An empty id packed explicitly was allocated by the unpack; the
         * default one is protobuf-c's and is never freed. */
        if (rt->behaviour_id != NULL && rt->behaviour_id != protobuf_c_empty_string) {
            codec_free(d->a, rt->behaviour_id);
        }
        rt->behaviour_id = copy;
        rt->behaviour_place = 0;
    }
    return 0;
}

int obs_codec_decode(struct store_txn *t, const uint8_t *val, size_t len, ProtobufCAllocator *a,
                     const char *op, uint64_t seq, Coachq__V1__StoredObservation **out)
{
    Coachq__V1__StoredObservation *r;
    struct codec_dec d;
    int placed = 0;
    int rc;

    *out = NULL;
    r = coachq__v1__stored_observation__unpack(a, len, val);
    if (r == NULL) {
        log_event(LOG_ERROR, "store_record_corrupt", "op=%s seq=%" PRIu64 " size=%zu", op, seq,
                  len);
        return -EIO;
    }
    if (r->observation != NULL) {
        for (size_t i = 0; i < r->observation->n_ratings && !placed; i++) {
            placed = r->observation->ratings[i]->behaviour_place != 0;
        }
    }
    if (!placed) {
        /* Every id is in the record (none was found in its rubric, or it
         * was stored before schema 12). */
        *out = r;
        return 0;
    }
    if (r->observation->rubric_id == NULL || r->observation->rubric_version == 0) {
        rc = codec_corrupt(op, seq, "why=place_without_rubric");
        goto out;
    }
    d.obs = r->observation;
    d.a = a;
    d.seq = seq;
    d.op = op;
    rc = codec_with(t, r->observation->rubric_id, r->observation->rubric_version, codec_dec_fn, &d);
    if (rc == -ENOENT) {
        rc = codec_corrupt(op, seq, "why=rubric_version_missing");
    }
out:
    if (rc != 0) {
        coachq__v1__stored_observation__free_unpacked(r, a);
        return rc;
    }
    *out = r;
    return 0;
}

/* ---- Encoding ------------------------------------------------------------ */

/* Names each rating of enc by its behaviour's place where the rubric has
 * it. */
static int codec_enc_fn(const struct codec_rubric *e, void *arg)
{
    struct obs_codec_obs *enc = arg;

    for (size_t i = 0; i < enc->obs.n_ratings; i++) {
        Coachq__V1__Rating *rt = &enc->ratings[i];
        const char *bid = rt->behaviour_id;
        size_t p = e->n;

        if (bid == NULL || bid[0] == '\0') {
            continue;
        }
        /* Clients list the ratings in the rubric's order: the behaviour at
         * the rating's own position first. */
        if (i < e->n && strcmp(e->bids[i], bid) == 0) {
            p = i;
        } else {
            for (p = 0; p < e->n && strcmp(e->bids[p], bid) != 0; p++) {
            }
        }
        if (p < e->n) {
            rt->behaviour_place = (uint32_t)p + 1;
            rt->behaviour_id = (char *)protobuf_c_empty_string;
        }
    }
    return 0;
}

void obs_codec_release(struct obs_codec_obs *enc)
{
    free(enc->ptrs);
    free(enc->ratings);
    enc->ptrs = NULL;
    enc->ratings = NULL;
}

int obs_codec_observation(struct store_txn *t, const Coachq__V1__Observation *obs,
                          struct obs_codec_obs *enc)
{
    size_t n = obs->n_ratings;
    int rc;

    enc->obs = *obs;
    enc->ptrs = NULL;
    enc->ratings = NULL;
    if (n == 0) {
        return 0;
    }
    enc->ptrs = malloc(n * sizeof(*enc->ptrs));
    enc->ratings = malloc(n * sizeof(*enc->ratings));
    if (enc->ptrs == NULL || enc->ratings == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        enc->ratings[i] = *obs->ratings[i];
        /* Whatever a rating held there is worked out again from its id
         * below: a place is never taken from outside the store. */
        enc->ratings[i].behaviour_place = 0;
        enc->ptrs[i] = &enc->ratings[i];
    }
    enc->obs.ratings = enc->ptrs;
    if (obs->rubric_id == NULL || obs->rubric_version == 0) {
        return 0;
    }
    rc = codec_with(t, obs->rubric_id, obs->rubric_version, codec_enc_fn, enc);
    /* No such rubric version, or one that does not decode: the ids stay,
     * so the record is whole and readable without it (the rules refuse
     * such a record, so only a test, an old record or damage brings one),
     * and the writer goes on. */
    return rc == -ENOENT || rc == -EIO ? 0 : rc;
}

int obs_codec_pack(struct store_txn *t, const Coachq__V1__StoredObservation *rec, uint8_t **out,
                   size_t *len)
{
    Coachq__V1__StoredObservation copy = *rec;
    struct obs_codec_obs enc;
    size_t n;
    int rc = 0;

    *out = NULL;
    *len = 0;
    memset(&enc, 0, sizeof(enc));
    if (rec->observation != NULL) {
        rc = obs_codec_observation(t, rec->observation, &enc);
        copy.observation = &enc.obs;
    }
    if (rc == 0) {
        n = coachq__v1__stored_observation__get_packed_size(&copy);
        *out = malloc(n > 0 ? n : 1);
        if (*out == NULL) {
            rc = -ENOMEM;
        } else {
            *len = coachq__v1__stored_observation__pack(&copy, *out);
        }
    }
    obs_codec_release(&enc);
    return rc;
}

/* ---- The schema 12 step ---------------------------------------------------- */

/* The scratch tree the step writes the re-encoded records into, in the
 * upgrade's transaction only: it never outlives it (a commit drops it, an
 * abort never made it). */
#define CODEC_MIG_TREE "obs_seq_schema12"

/* An LMDB code from the step's writes as the step returns it. */
static int codec_mdb_fail(int mdb_rc)
{
    return mdb_rc == ENOMEM ? -ENOMEM : STORE_TXN_ABORT(mdb_rc);
}

struct codec_mig {
    struct store_txn *t;
    MDB_dbi scratch;
    uint64_t n;
    uint64_t kept;
};

/* Re-encodes one record of obs_seq into the scratch tree, in key order. A
 * record that does not decode goes there unchanged: it is `coachqd
 * verify`'s to report (as erase.c does with such values), and the store
 * must still open. */
static int codec_mig_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct codec_mig *m = arg;
    Coachq__V1__StoredObservation *rec = NULL;
    uint8_t *packed = NULL;
    uint64_t seq = klen == 8 ? keys_get_be64(key) : 0;
    MDB_val k, v;
    size_t n = 0;
    int rc;

    rc = obs_codec_decode(m->t, val, vlen, NULL, "schema12", seq, &rec);
    if (rc == 0) {
        rc = obs_codec_pack(m->t, rec, &packed, &n);
    }
    if (rc == -EIO) {
        log_event(LOG_WARN, "store_record_kept", "op=schema12 seq=%" PRIu64 " klen=%zu", seq, klen);
        m->kept++;
        rc = 0;
        v.mv_data = (void *)val;
        v.mv_size = vlen;
    } else {
        v.mv_data = packed;
        v.mv_size = n;
    }
    if (rc == 0) {
        k.mv_data = (void *)key;
        k.mv_size = klen;
        rc = mdb_put(m->t->txn, m->scratch, &k, &v, MDB_APPEND);
        rc = rc == 0 ? 0 : codec_mdb_fail(rc);
        m->n++;
    }
    free(packed);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc;
}

/* Empties obs_seq and appends the scratch tree's entries to it in order,
 * so that its pages are full; each entry is copied out first, since a put
 * may spill the dirty page it lies on. Returns 0, -ENOMEM or
 * STORE_TXN_ABORT(). */
static int codec_mig_back(struct store_txn *t, MDB_dbi scratch)
{
    MDB_cursor *from = NULL;
    MDB_cursor *to = NULL;
    uint8_t *buf = NULL;
    size_t cap = 0;
    MDB_val k, v;
    int rc;

    rc = mdb_drop(t->txn, t->s->dbi_obs, 0);
    if (rc == 0) {
        rc = mdb_cursor_open(t->txn, scratch, &from);
    }
    if (rc == 0) {
        rc = mdb_cursor_open(t->txn, t->s->dbi_obs, &to);
    }
    if (rc == 0) {
        rc = mdb_cursor_get(from, &k, &v, MDB_FIRST);
    }
    while (rc == 0) {
        if (k.mv_size + v.mv_size > cap) {
            size_t want = (k.mv_size + v.mv_size) * 2;
            uint8_t *b = realloc(buf, want);

            if (b == NULL) {
                rc = ENOMEM;
                break;
            }
            buf = b;
            cap = want;
        }
        memcpy(buf, k.mv_data, k.mv_size);
        memcpy(buf + k.mv_size, v.mv_data, v.mv_size);
        k.mv_data = buf;
        v.mv_data = buf + k.mv_size;
        rc = mdb_cursor_put(to, &k, &v, MDB_APPEND);
        if (rc == 0) {
            rc = mdb_cursor_get(from, &k, &v, MDB_NEXT);
        }
    }
    if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    if (to != NULL) {
        mdb_cursor_close(to);
    }
    if (from != NULL) {
        mdb_cursor_close(from);
    }
    free(buf);
    return rc == 0 ? 0 : codec_mdb_fail(rc);
}

int obs_codec_migrate(struct store_txn *t, uint64_t *records)
{
    struct codec_mig m;
    int rc;

    memset(&m, 0, sizeof(m));
    m.t = t;
    *records = 0;
    /* Bounded in memory: the records are re-encoded into a scratch tree
     * and appended back to the emptied obs_seq, so that its pages come out
     * full (rewritten in place, each page would keep its records, only
     * shorter, and the tree its pages). At the peak the map holds the old
     * tree's pages (the last commit's, not reusable in this transaction),
     * the scratch tree's and the new tree's: about 1 + 2 x 0.64 of the old
     * obs_seq. A full map aborts the one transaction, and the open grows the
     * map and runs the step again.
     *
     * The step runs only at schema 11, and the records and the schema
     * number are written in the one transaction: no store holds records by
     * place under schema 11. Were one to, each record would decode to its
     * ids and encode to the same places again (tests/test_obs_codec.c,
     * test_migrate_again). */
    rc = mdb_dbi_open(t->txn, CODEC_MIG_TREE, MDB_CREATE, &m.scratch);
    if (rc == 0) {
        rc = mdb_drop(t->txn, m.scratch, 0);
    }
    if (rc != 0) {
        return codec_mdb_fail(rc);
    }
    rc = store_txn_scan(t, t->s->dbi_obs, NULL, 0, 0, codec_mig_one, &m);
    if (rc == 0) {
        rc = codec_mig_back(t, m.scratch);
    }
    if (rc == 0) {
        rc = mdb_drop(t->txn, m.scratch, 1);
        rc = rc == 0 ? 0 : codec_mdb_fail(rc);
    }
    if (rc == 0) {
        *records = m.n;
        if (m.kept > 0) {
            log_event(LOG_WARN, "store_schema12_kept", "records=%" PRIu64 " kept=%" PRIu64, m.n,
                      m.kept);
        }
    }
    return rc;
}
