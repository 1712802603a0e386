/*
 * snapshot: one database's key/value pairs copied end to end, and the
 * number of entries two copies differ in. The verifies that derive data
 * again inside their own transaction and compare (actions_verify(),
 * cadence_verify()) take one before the rebuild and one after.
 *
 * Store-internal; inside a transaction of the caller's, any thread.
 */
#ifndef COACHQ_SNAPSHOT_H
#define COACHQ_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

struct store_txn;

/* The pairs in key order, each as be64 key length | be64 value length |
 * key | value; n of them. Zero-initialised is empty. */
struct snapshot {
    uint8_t *b;
    size_t len, cap;
    uint64_t n;
};

/* Copies every pair of dbi into s (empty before; caller frees with
 * snapshot_free(), also after a failure). Returns 0, -ENOMEM or a store
 * code. */
int snapshot_take(struct store_txn *t, MDB_dbi dbi, struct snapshot *s);

/* The entries of a and b that are not the same: a key in one only, or a
 * key in both with other values. */
uint64_t snapshot_diff(const struct snapshot *a, const struct snapshot *b);

/* Frees s's copy and empties it. */
void snapshot_free(struct snapshot *s);

#endif
