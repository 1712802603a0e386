/*
 * deltas: a write batch's changes to stored counters, merged per key
 * (deltas.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deltas.h"

/* A key's length and its number of counts are kept in a byte. */
_Static_assert(DELTAS_KEY_MAX <= UINT8_MAX, "a key's length fits a byte");
_Static_assert(DELTAS_COUNTS_MAX <= UINT8_MAX, "a key's number of counts fits a byte");

/* FNV-1a: keys are short, and the table only needs them spread. */
static uint64_t key_hash(const uint8_t *key, size_t klen)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < klen; i++) {
        h = (h ^ key[i]) * 1099511628211ull;
    }
    return h;
}

/* The slot of key: the one holding it, or the empty one it would go to. */
static size_t slot_of(const struct deltas *b, const uint8_t *key, size_t klen)
{
    size_t mask = b->nslot - 1;
    size_t i = (size_t)key_hash(key, klen) & mask;

    while (b->slot[i] != 0) {
        const struct deltas_entry *e = &b->e[b->slot[i] - 1];

        if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
            break;
        }
        i = (i + 1) & mask;
    }
    return i;
}

/* Makes room for one more entry. Returns 0 or -ENOMEM. */
static int grow(struct deltas *b)
{
    struct deltas_entry *e;
    uint32_t *slot;
    size_t cap;

    if (b->n < b->cap) {
        return 0;
    }
    cap = b->cap == 0 ? b->first : 2 * b->cap;
    if (cap > b->max) {
        cap = b->max;
    }
    e = realloc(b->e, cap * sizeof(*e));
    if (e == NULL) {
        return -ENOMEM;
    }
    b->e = e;
    slot = calloc(4 * cap, sizeof(*slot));
    if (slot == NULL) {
        return -ENOMEM;
    }
    free(b->slot);
    b->slot = slot;
    b->nslot = 4 * cap;
    b->cap = cap;
    for (size_t i = 0; i < b->n; i++) {
        b->slot[slot_of(b, b->e[i].key, b->e[i].klen)] = (uint32_t)(i + 1);
    }
    return 0;
}

struct deltas *deltas_new(size_t first, size_t max)
{
    struct deltas *b;

    /* The table's mask needs powers of two. */
    if (first == 0 || first > max || max > UINT32_MAX / 4 || (first & (first - 1)) != 0 ||
        (max & (max - 1)) != 0) {
        return NULL;
    }
    b = calloc(1, sizeof(*b));
    if (b != NULL) {
        b->first = first;
        b->max = max;
    }
    return b;
}

int deltas_write(struct deltas *b, deltas_write_fn write, void *arg)
{
    int rc = 0;

    for (size_t i = 0; i < b->n && rc == 0; i++) {
        const struct deltas_entry *e = &b->e[i];
        int zero = 1;

        for (size_t j = 0; j < e->n; j++) {
            zero = zero && e->d[j] == 0;
        }
        if (!zero) {
            rc = write(arg, e->key, e->klen, e->d, e->n);
        }
    }
    b->n = 0;
    if (b->slot != NULL) {
        memset(b->slot, 0, b->nslot * sizeof(*b->slot));
    }
    return rc;
}

int deltas_add(struct deltas *b, const uint8_t *key, size_t klen, const int64_t *delta, size_t n,
               deltas_write_fn write, void *arg)
{
    struct deltas_entry *e;
    size_t i;
    int rc;

    if (n == 0 || n > DELTAS_COUNTS_MAX || klen == 0 || klen > DELTAS_KEY_MAX) {
        return -EINVAL;
    }
    if (b->n == b->max) {
        rc = deltas_write(b, write, arg);
        if (rc != 0) {
            return rc;
        }
    }
    rc = grow(b);
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
            return -EINVAL;
        }
    }
    for (size_t j = 0; j < n; j++) {
        e->d[j] += delta[j];
    }
    return 0;
}

void deltas_free(struct deltas *b)
{
    if (b != NULL) {
        free(b->e);
        free(b->slot);
        free(b);
    }
}
