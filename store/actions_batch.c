/*
 * actions_batch: the actions' counters (actions.h: the week counters 'w'
 * and the open counters per due day 'n') changed in the writer's batch.
 * A counter's change is a delta added to its stored value; in the batch of
 * the store's hook (t->batch_actions set by actions_observation()) the
 * deltas of every record are merged per key and each touched counter is
 * read and written once, at actions_flush(), instead of once per record.
 * Anywhere else (a rebuild, an erasure) the delta is written at once.
 *
 * Merging gives the same values as writing one record at a time: a sum of
 * deltas does not depend on their order, and a counter that would go below
 * zero (only a damaged store gives one) stays at zero either way, where
 * verify finds it. Nothing reads the counters in the hook's transaction
 * before the flush: the engine flushes before a request with a function
 * of its own runs, and a failed attempt drops what was merged with
 * actions_batch_discard().
 *
 * Writer thread only; a batch belongs to one transaction.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "actions_int.h"
#include "keys.h"
#include "store_int.h"

/* Counters one batch holds at most (an entry is about 220 bytes): beyond
 * it, what was merged is written out in the same transaction and merging
 * starts again, so that a batch of records with many actions cannot grow
 * the writer's memory without end. */
#define ACTIONS_BATCH_MAX 16384u

/* A key's length is kept in a byte. */
_Static_assert(ACTIONS_KEY_MAX <= UINT8_MAX, "an actions_by key's length fits a byte");

/* One counter's merged change. */
struct actions_delta {
    int64_t d[ACTIONS_NCOUNTS];
    uint8_t key[ACTIONS_KEY_MAX];
    uint8_t klen;
    uint8_t n; /* counts in the value */
};

/* The batch's counters: the deltas in order of their first change, and an
 * open-addressing table of their indexes (index + 1; 0 is empty) with at
 * least twice as many slots as entries. */
struct actions_batch {
    struct actions_delta *e;
    size_t n, cap;
    uint32_t *slot;
    size_t nslot; /* a power of two, or 0 */
};

/* Adds delta to the be64 counters (n of them) under key (deleted at zero;
 * a counter that would go below zero stays at zero). */
static int counter_write(struct store_txn *t, const uint8_t *key, size_t klen, const int64_t *delta,
                         size_t n)
{
    uint8_t val[8 * ACTIONS_NCOUNTS];
    MDB_val v;
    int zero = 1;
    int rc;

    memset(val, 0, sizeof(val));
    rc = store_txn_get_raw(t, t->s->dbi_actions_by, key, klen, &v);
    if (rc == 0 && v.mv_size == 8 * n) {
        memcpy(val, v.mv_data, 8 * n);
    } else if (rc != 0 && rc != -ENOENT) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t x = (int64_t)keys_get_be64(val + 8 * i) + delta[i];

        keys_put_be64(val + 8 * i, (uint64_t)(x > 0 ? x : 0));
        zero = zero && x <= 0;
    }
    if (zero) {
        return store_txn_del(t, t->s->dbi_actions_by, key, klen);
    }
    return store_txn_put_raw(t, t->s->dbi_actions_by, key, klen, val, 8 * n, NULL);
}

static uint64_t key_hash(const uint8_t *key, size_t klen)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < klen; i++) {
        h = (h ^ key[i]) * 1099511628211ull;
    }
    return h;
}

/* The slot of key: the one holding it, or the empty one it would go to. */
static size_t slot_of(const struct actions_batch *b, const uint8_t *key, size_t klen)
{
    size_t mask = b->nslot - 1;
    size_t i = (size_t)key_hash(key, klen) & mask;

    while (b->slot[i] != 0) {
        const struct actions_delta *e = &b->e[b->slot[i] - 1];

        if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
            break;
        }
        i = (i + 1) & mask;
    }
    return i;
}

/* Makes room for one more entry. Returns 0 or -ENOMEM. */
static int batch_grow(struct actions_batch *b)
{
    struct actions_delta *e;
    uint32_t *slot;
    size_t cap, nslot;

    if (b->n < b->cap) {
        return 0;
    }
    cap = b->cap == 0 ? 256 : 2 * b->cap;
    if (cap > ACTIONS_BATCH_MAX) {
        cap = ACTIONS_BATCH_MAX;
    }
    nslot = 4 * cap;
    e = realloc(b->e, cap * sizeof(*e));
    if (e == NULL) {
        return -ENOMEM;
    }
    b->e = e;
    slot = calloc(nslot, sizeof(*slot));
    if (slot == NULL) {
        return -ENOMEM;
    }
    free(b->slot);
    b->slot = slot;
    b->nslot = nslot;
    b->cap = cap;
    for (size_t i = 0; i < b->n; i++) {
        b->slot[slot_of(b, b->e[i].key, b->e[i].klen)] = (uint32_t)(i + 1);
    }
    return 0;
}

/* Writes every merged counter (a change that sums to nothing is left
 * alone: the value it would write is the one stored) and empties b.
 * Returns 0 or a negative code. */
static int batch_write(struct store_txn *t, struct actions_batch *b)
{
    int rc = 0;

    for (size_t i = 0; i < b->n && rc == 0; i++) {
        const struct actions_delta *e = &b->e[i];
        int zero = 1;

        for (size_t j = 0; j < e->n; j++) {
            zero = zero && e->d[j] == 0;
        }
        if (!zero) {
            rc = counter_write(t, e->key, e->klen, e->d, e->n);
        }
    }
    b->n = 0;
    if (b->slot != NULL) {
        memset(b->slot, 0, b->nslot * sizeof(*b->slot));
    }
    return rc;
}

int actions_counter_add(struct store_txn *t, const uint8_t *key, size_t klen, const int64_t *delta,
                        size_t n)
{
    struct actions_batch *b = t->batch_actions;
    struct actions_delta *e;
    size_t i;
    int rc;

    if (n == 0 || n > ACTIONS_NCOUNTS || klen == 0 || klen > ACTIONS_KEY_MAX) {
        return -EINVAL;
    }
    if (b == NULL) {
        return counter_write(t, key, klen, delta, n);
    }
    if (b->n == ACTIONS_BATCH_MAX) {
        rc = batch_write(t, b);
        if (rc != 0) {
            return rc;
        }
    }
    rc = batch_grow(b);
    if (rc != 0) {
        return rc;
    }
    i = slot_of(b, key, klen);
    if (b->slot[i] == 0) {
        e = &b->e[b->n];
        memset(e->d, 0, sizeof(e->d));
        memcpy(e->key, key, klen);
        e->klen = (uint8_t)klen;
        e->n = (uint8_t)n;
        b->slot[i] = (uint32_t)(++b->n);
    } else {
        e = &b->e[b->slot[i] - 1];
        if (e->n != n) {
            /* One key is always one kind of counter; a caller that mixes
             * them is wrong. */
            return -EINVAL;
        }
    }
    for (size_t j = 0; j < n; j++) {
        e->d[j] += delta[j];
    }
    return 0;
}

static void batch_free(struct actions_batch *b)
{
    if (b != NULL) {
        free(b->e);
        free(b->slot);
        free(b);
    }
}

int actions_observation(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                        const uint8_t *prev)
{
    if (t->batch_actions == NULL) {
        struct actions_batch *b = calloc(1, sizeof(*b));

        if (b == NULL) {
            return -ENOMEM;
        }
        t->batch_actions = b;
    }
    return actions_apply(t, rec, prev);
}

int actions_flush(struct store_txn *t)
{
    struct actions_batch *b = t->batch_actions;
    int rc;

    if (b == NULL) {
        return 0;
    }
    /* Written with the batch unset, so that nothing merges into it. */
    t->batch_actions = NULL;
    rc = batch_write(t, b);
    batch_free(b);
    return rc;
}

void actions_batch_discard(struct store_txn *t)
{
    batch_free(t->batch_actions);
    t->batch_actions = NULL;
}
