/*
 * deltas: a write batch's changes to stored counters, merged per key, so
 * that each touched counter is read and written once per commit instead of
 * once per record (the actions' counters, actions_batch.c; the coaching
 * days' counts, cadence_count.c).
 *
 * A change is a list of deltas added to the counts stored under a key.
 * Their sum does not depend on the order they came in, so merging gives
 * the values that writing one record at a time would. The entries keep the
 * order of their first change; an open-addressing table of their indexes
 * (index + 1; 0 is empty), four slots per entry it can hold, finds them.
 * A batch holds at most `max` entries: at that point deltas_add() writes
 * what was merged through the owner's callback and starts again, so that a
 * batch of many records cannot grow the writer's memory without end.
 *
 * Store-internal; writer thread only; a batch belongs to one transaction.
 */
#ifndef COACHQ_DELTAS_H
#define COACHQ_DELTAS_H

#include <stddef.h>
#include <stdint.h>

/* The longest key and the most counts under one key that a batch keeps. */
#define DELTAS_KEY_MAX 160
#define DELTAS_COUNTS_MAX 8

/* One key's merged change. */
struct deltas_entry {
    int64_t d[DELTAS_COUNTS_MAX];
    uint8_t key[DELTAS_KEY_MAX];
    uint8_t klen;
    uint8_t n; /* counts under the key */
};

struct deltas {
    struct deltas_entry *e;
    size_t n, cap;
    size_t first, max; /* the first capacity, and the most entries */
    uint32_t *slot;
    size_t nslot; /* a power of two, or 0 */
};

/* Writes one merged change (n counts, at least one of them not 0) under
 * key; arg is the owner's (its transaction). Returns 0 or a negative
 * code. */
typedef int (*deltas_write_fn)(void *arg, const uint8_t *key, size_t klen, const int64_t *d,
                               size_t n);

/* An empty batch that grows from `first` entries to at most `max` (both
 * powers of two, first <= max). Returns it (caller owns; deltas_free()),
 * or NULL when out of memory or the sizes break that rule. */
struct deltas *deltas_new(size_t first, size_t max);

/*
 * Merges delta (n counts, 1..DELTAS_COUNTS_MAX) into key's entry (klen
 * 1..DELTAS_KEY_MAX; everything borrowed for the call). When the batch is
 * full, first writes every merged change through write(arg, ...) and
 * empties it. Returns 0, -EINVAL (a length out of range, or a key merged
 * before with another number of counts: one key always holds one kind of
 * counter), -ENOMEM, or what write returned.
 */
int deltas_add(struct deltas *b, const uint8_t *key, size_t klen, const int64_t *delta, size_t n,
               deltas_write_fn write, void *arg);

/* Writes every merged change through write(arg, ...), except those that
 * add up to nothing (the value they would write is the one stored), and
 * empties b (also when write fails). Returns 0 or what write returned. */
int deltas_write(struct deltas *b, deltas_write_fn write, void *arg);

/* Frees b (NULL is fine). */
void deltas_free(struct deltas *b);

#endif
