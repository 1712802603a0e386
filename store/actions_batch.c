/*
 * actions_batch: the actions' counters (actions.h: the week counters 'w'
 * and the open counters per due day 'n') changed in the writer's batch.
 * A counter's change is a delta added to its stored value; in the batch of
 * the store's hook (t->batch_actions set by actions_observation()) the
 * deltas of every record are merged per key and each touched counter is
 * read and written once, at actions_flush(), instead of once per record.
 * Anywhere else (a rebuild, an erasure) the delta is written at once.
 * The batch also notes the persons whose values laid out for the pages its
 * records changed (actions_view.c), remade once each at the flush.
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
#include "deltas.h"
#include "keys.h"
#include "store_int.h"

/* Counters one batch holds at most (an entry is about 230 bytes, deltas.h): beyond
 * it, what was merged is written out in the same transaction and merging
 * starts again, so that a batch of records with many actions cannot grow
 * the writer's memory without end. */
#define ACTIONS_BATCH_MAX 16384u
/* Counters a batch makes room for first. */
#define ACTIONS_BATCH_FIRST 256u

/* What t->batch_actions points at: the counters' deltas and the persons
 * whose values (actions_view.c) the batch changed. */
struct actions_batch {
    struct deltas *d;
    struct actions_views *v;
};

_Static_assert(ACTIONS_KEY_MAX <= DELTAS_KEY_MAX, "an actions_by key fits a batch's entry");
_Static_assert(ACTIONS_NCOUNTS <= DELTAS_COUNTS_MAX, "a counter's counts fit a batch's entry");

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

/* deltas_write_fn for the batch: arg is the transaction. */
static int counter_write_cb(void *arg, const uint8_t *key, size_t klen, const int64_t *delta,
                            size_t n)
{
    return counter_write(arg, key, klen, delta, n);
}

int actions_counter_add(struct store_txn *t, const uint8_t *key, size_t klen, const int64_t *delta,
                        size_t n)
{
    if (n == 0 || n > ACTIONS_NCOUNTS || klen == 0 || klen > ACTIONS_KEY_MAX) {
        return -EINVAL;
    }
    if (t->batch_actions == NULL) {
        return counter_write(t, key, klen, delta, n);
    }
    return deltas_add(((struct actions_batch *)t->batch_actions)->d, key, klen, delta, n,
                      counter_write_cb, t);
}

int actions_batch_touch(struct store_txn *t, const Coachq__V1__ActionRecord *r)
{
    struct actions_batch *b = t->batch_actions;

    return b != NULL ? actions_view_touch(t, &b->v, r) : 0;
}

static void batch_free(struct actions_batch *b)
{
    if (b != NULL) {
        deltas_free(b->d);
        actions_views_free(b->v);
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
        b->d = deltas_new(ACTIONS_BATCH_FIRST, ACTIONS_BATCH_MAX);
        if (b->d == NULL) {
            free(b);
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
    /* Written with the batch unset, so that nothing merges into it. The
     * values read the index and records only, which are written at once,
     * so their order against the counters does not matter. */
    t->batch_actions = NULL;
    rc = deltas_write(b->d, counter_write_cb, t);
    if (rc == 0) {
        rc = actions_view_flush(t, b->v);
    }
    batch_free(b);
    return rc;
}

void actions_batch_discard(struct store_txn *t)
{
    batch_free(t->batch_actions);
    t->batch_actions = NULL;
}
