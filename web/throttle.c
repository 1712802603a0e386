#include "throttle.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char key[THROTTLE_MAX_KEY + 1];
    unsigned failures;
    uint64_t last_ms;            /* when failures was last counted (up, or down by forgetting) */
    uint64_t until_ms;           /* blocked until */
    struct entry *chain;         /* next in the same bucket */
    struct entry *older, *newer; /* by last failure: eviction order */
};

struct throttle {
    struct throttle_opts o;
    struct entry **buckets;
    size_t nbuckets; /* a power of two */
    struct entry *oldest, *newest;
    size_t count;
};

static size_t bucket_of(const struct throttle *t, const char *key)
{
    uint32_t h = 2166136261u;

    for (const char *p = key; *p != '\0'; p++) {
        h = (h ^ (unsigned char)*p) * 16777619u;
    }
    return h & (t->nbuckets - 1);
}

struct throttle *throttle_new(const struct throttle_opts *o)
{
    struct throttle *t;
    size_t n = 16;

    if (o == NULL || o->base_ms == 0 || o->forget_ms == 0 || o->max_entries == 0 ||
        o->max_entries > ((size_t)1 << 24)) {
        return NULL;
    }
    while (n < o->max_entries) {
        n *= 2;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->buckets = calloc(n, sizeof(*t->buckets));
    if (t->buckets == NULL) {
        free(t);
        return NULL;
    }
    t->o = *o;
    if (t->o.max_ms < t->o.base_ms) {
        t->o.max_ms = t->o.base_ms;
    }
    t->nbuckets = n;
    return t;
}

static void lru_unlink(struct throttle *t, struct entry *e)
{
    if (e->older != NULL) {
        e->older->newer = e->newer;
    } else {
        t->oldest = e->newer;
    }
    if (e->newer != NULL) {
        e->newer->older = e->older;
    } else {
        t->newest = e->older;
    }
    e->older = e->newer = NULL;
}

static void lru_push(struct throttle *t, struct entry *e)
{
    e->older = t->newest;
    e->newer = NULL;
    if (t->newest != NULL) {
        t->newest->newer = e;
    } else {
        t->oldest = e;
    }
    t->newest = e;
}

static void entry_remove(struct throttle *t, struct entry *e)
{
    struct entry **pp = &t->buckets[bucket_of(t, e->key)];

    while (*pp != NULL && *pp != e) {
        pp = &(*pp)->chain;
    }
    if (*pp == e) {
        *pp = e->chain;
    }
    lru_unlink(t, e);
    t->count--;
    free(e);
}

void throttle_free(struct throttle *t)
{
    if (t == NULL) {
        return;
    }
    while (t->oldest != NULL) {
        entry_remove(t, t->oldest);
    }
    free(t->buckets);
    free(t);
}

/* key cut to THROTTLE_MAX_KEY bytes into out. */
static void key_copy(const char *key, char out[THROTTLE_MAX_KEY + 1])
{
    size_t n = strnlen(key != NULL ? key : "", THROTTLE_MAX_KEY);

    memcpy(out, key != NULL ? key : "", n);
    out[n] = '\0';
}

static struct entry *lookup(struct throttle *t, const char *key)
{
    for (struct entry *e = t->buckets[bucket_of(t, key)]; e != NULL; e = e->chain) {
        if (strcmp(e->key, key) == 0) {
            return e;
        }
    }
    return NULL;
}

/* Forgets the failures whose time has passed by now_ms. */
static void forget(const struct throttle *t, struct entry *e, uint64_t now_ms)
{
    uint64_t n;

    if (now_ms <= e->last_ms) {
        return;
    }
    n = (now_ms - e->last_ms) / t->o.forget_ms;
    if (n >= e->failures) {
        e->failures = 0;
        e->last_ms = now_ms;
    } else {
        e->failures -= (unsigned)n;
        e->last_ms += n * t->o.forget_ms;
    }
}

/* Whether e holds nothing any more: no failures and no block. */
static int spent(const struct throttle *t, struct entry *e, uint64_t now_ms)
{
    forget(t, e, now_ms);
    return e->failures == 0 && e->until_ms <= now_ms;
}

uint64_t throttle_wait_ms(struct throttle *t, const char *key, uint64_t now_ms)
{
    char k[THROTTLE_MAX_KEY + 1];
    struct entry *e;

    if (t == NULL) {
        return 0;
    }
    key_copy(key, k);
    e = lookup(t, k);
    if (e == NULL || e->until_ms <= now_ms) {
        return 0;
    }
    return e->until_ms - now_ms;
}

uint64_t throttle_fail(struct throttle *t, const char *key, uint64_t now_ms)
{
    char k[THROTTLE_MAX_KEY + 1];
    struct entry *e;
    unsigned over;
    uint64_t wait;

    if (t == NULL) {
        return 0;
    }
    key_copy(key, k);
    /* Entries that hold nothing any more go first; then, if the table is
     * full, the one that failed least recently. */
    while (t->oldest != NULL && t->oldest != lookup(t, k) && spent(t, t->oldest, now_ms)) {
        entry_remove(t, t->oldest);
    }
    e = lookup(t, k);
    if (e == NULL) {
        if (t->count >= t->o.max_entries && t->oldest != NULL) {
            /* A blocked key is worth more than one that is merely counting:
             * the least recent unblocked key goes first (looking a bounded
             * way), so that a flood of made-up keys does not lift blocks. */
            struct entry *victim = t->oldest;
            int steps = 0;
            for (struct entry *c = t->oldest; c != NULL && steps < 64; c = c->newer, steps++) {
                if (c->until_ms <= now_ms) {
                    victim = c;
                    break;
                }
            }
            entry_remove(t, victim);
        }
        e = calloc(1, sizeof(*e));
        if (e == NULL) {
            return 0;
        }
        memcpy(e->key, k, sizeof(k));
        e->last_ms = now_ms;
        {
            size_t b = bucket_of(t, k);
            e->chain = t->buckets[b];
            t->buckets[b] = e;
        }
        t->count++;
    } else {
        lru_unlink(t, e);
        forget(t, e, now_ms);
    }
    lru_push(t, e);
    if (e->failures == 0) {
        e->last_ms = now_ms;
    }
    if (e->failures < 1000000u) {
        e->failures++;
    }
    if (e->failures <= t->o.free_failures) {
        return e->until_ms > now_ms ? e->until_ms - now_ms : 0;
    }
    over = e->failures - t->o.free_failures - 1;
    wait = t->o.max_ms;
    if (over < 40 && (t->o.base_ms << over) >> over == t->o.base_ms &&
        (t->o.base_ms << over) < t->o.max_ms) {
        wait = t->o.base_ms << over;
    }
    if (now_ms + wait > e->until_ms) {
        e->until_ms = now_ms + wait;
    }
    return e->until_ms - now_ms;
}

void throttle_reset(struct throttle *t, const char *key)
{
    char k[THROTTLE_MAX_KEY + 1];
    struct entry *e;

    if (t == NULL) {
        return;
    }
    key_copy(key, k);
    e = lookup(t, k);
    if (e != NULL) {
        entry_remove(t, e);
    }
}

size_t throttle_count(const struct throttle *t)
{
    return t != NULL ? t->count : 0;
}

int throttle_addr_key(const char *peer, char *out, size_t outlen)
{
    char host[64];
    const char *end;
    size_t n;

    if (outlen < 48) {
        return -EINVAL;
    }
    snprintf(out, outlen, "?");
    if (peer == NULL) {
        return -EINVAL;
    }
    if (peer[0] == '[') {
        struct in6_addr a;
        end = strchr(peer, ']');
        if (end == NULL || (size_t)(end - peer - 1) >= sizeof(host)) {
            return -EINVAL;
        }
        n = (size_t)(end - peer - 1);
        memcpy(host, peer + 1, n);
        host[n] = '\0';
        if (inet_pton(AF_INET6, host, &a) != 1) {
            return -EINVAL;
        }
        if (IN6_IS_ADDR_V4MAPPED(&a)) {
            struct in_addr v4;
            memcpy(&v4, &a.s6_addr[12], 4);
            return inet_ntop(AF_INET, &v4, out, (socklen_t)outlen) != NULL ? 0 : -EINVAL;
        }
        /* One host usually holds a whole /64: the address's key is it. */
        memset(&a.s6_addr[8], 0, 8);
        if (inet_ntop(AF_INET6, &a, host, sizeof(host)) == NULL) {
            return -EINVAL;
        }
        snprintf(out, outlen, "%s/64", host);
        return 0;
    }
    end = strrchr(peer, ':');
    n = end != NULL ? (size_t)(end - peer) : strlen(peer);
    if (n == 0 || n >= sizeof(host)) {
        return -EINVAL;
    }
    memcpy(host, peer, n);
    host[n] = '\0';
    {
        struct in_addr v4;
        if (inet_pton(AF_INET, host, &v4) != 1) {
            return -EINVAL;
        }
    }
    snprintf(out, outlen, "%s", host);
    return 0;
}
