/*
 * snapshot: one database's pairs copied, and two copies compared
 * (snapshot.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "snapshot.h"
#include "store_int.h"

static int snap_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct snapshot *s = arg;
    size_t need = 16 + klen + vlen;

    if (s->len + need > s->cap) {
        size_t cap = s->cap == 0 ? 65536 : s->cap;
        uint8_t *g;

        while (cap < s->len + need) {
            cap *= 2;
        }
        g = realloc(s->b, cap);
        if (g == NULL) {
            return -ENOMEM;
        }
        s->b = g;
        s->cap = cap;
    }
    keys_put_be64(s->b + s->len, klen);
    keys_put_be64(s->b + s->len + 8, vlen);
    memcpy(s->b + s->len + 16, key, klen);
    memcpy(s->b + s->len + 16 + klen, val, vlen);
    s->len += need;
    s->n++;
    return 0;
}

int snapshot_take(struct store_txn *t, MDB_dbi dbi, struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    return store_txn_scan(t, dbi, NULL, 0, 0, snap_cb, s);
}

uint64_t snapshot_diff(const struct snapshot *a, const struct snapshot *b)
{
    size_t i = 0, j = 0;
    uint64_t d = 0;

    /* Both are in key order: walk them side by side. */
    while (i < a->len || j < b->len) {
        size_t ak = 0, av = 0, bk = 0, bv = 0;
        int c;

        if (i < a->len) {
            ak = keys_get_be64(a->b + i);
            av = keys_get_be64(a->b + i + 8);
        }
        if (j < b->len) {
            bk = keys_get_be64(b->b + j);
            bv = keys_get_be64(b->b + j + 8);
        }
        if (i >= a->len) {
            c = 1;
        } else if (j >= b->len) {
            c = -1;
        } else {
            c = keys_compare(a->b + i + 16, ak, b->b + j + 16, bk);
        }
        if (c != 0 || av != bv || memcmp(a->b + i + 16 + ak, b->b + j + 16 + bk, av) != 0) {
            d++;
        }
        if (c <= 0) {
            i += 16 + ak + av;
        }
        if (c >= 0) {
            j += 16 + bk + bv;
        }
    }
    return d;
}

void snapshot_free(struct snapshot *s)
{
    free(s->b);
    memset(s, 0, sizeof(*s));
}
