/*
 * websess: the dashboard port's in-memory sessions, device cookies and
 * pre-session tokens (websess.h).
 */
#include "websess.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "b64.h"

/* ---- Tokens ---- */

int websess_token_equal(const char *a, const char *b)
{
    size_t la, lb;

    if (a == NULL || b == NULL) {
        return 0;
    }
    la = strlen(a);
    lb = strlen(b);
    if (la != lb || la == 0) {
        return 0;
    }
    return CRYPTO_memcmp(a, b, la) == 0;
}

/* ---- Sessions ---- */

#define SESS_BUCKETS 16384u /* a power of two, above WEBSESS_MAX */

struct sess {
    struct websess w;
    struct sess *older, *newer; /* by creation: eviction and expiry order */
    struct sess *chain;         /* next in the same bucket */
};

struct websess_table {
    int64_t ttl_s;
    /* Signs device cookies and pre-session tokens. Made at start and held
     * only in memory, like the sessions: a restart makes both invalid, and
     * the sign-in page then issues new ones. */
    uint8_t key[WEBSESS_KEY_LEN];
    struct sess *buckets[SESS_BUCKETS];
    struct sess *oldest, *newest;
    size_t count;
};

/* Session ids are random: their first bytes spread well enough. */
static unsigned sess_bucket(const char *id)
{
    uint32_t h = 2166136261u;

    for (int i = 0; i < 12 && id[i] != '\0'; i++) {
        h = (h ^ (unsigned char)id[i]) * 16777619u;
    }
    return h & (SESS_BUCKETS - 1);
}

struct websess_table *websess_table_new(int64_t ttl_s)
{
    struct websess_table *t;

    if (ttl_s <= 0) {
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    t->ttl_s = ttl_s;
    if (RAND_bytes(t->key, sizeof(t->key)) != 1) {
        free(t);
        return NULL;
    }
    return t;
}

static void sess_remove(struct websess_table *t, struct sess *s)
{
    struct sess **pp = &t->buckets[sess_bucket(s->w.id)];

    while (*pp != NULL && *pp != s) {
        pp = &(*pp)->chain;
    }
    if (*pp == s) {
        *pp = s->chain;
    }
    if (s->older != NULL) {
        s->older->newer = s->newer;
    } else {
        t->oldest = s->newer;
    }
    if (s->newer != NULL) {
        s->newer->older = s->older;
    } else {
        t->newest = s->older;
    }
    t->count--;
    OPENSSL_cleanse(s, sizeof(*s));
    free(s);
}

void websess_table_free(struct websess_table *t)
{
    if (t == NULL) {
        return;
    }
    while (t->oldest != NULL) {
        sess_remove(t, t->oldest);
    }
    OPENSSL_cleanse(t->key, sizeof(t->key));
    free(t);
}

/* Ends the sessions that expired by now (oldest first: expiry follows
 * creation since every session lasts ttl_s). */
static void sess_expire(struct websess_table *t, int64_t now_s)
{
    while (t->oldest != NULL && t->oldest->w.expires_s <= now_s) {
        sess_remove(t, t->oldest);
    }
}

static struct sess *sess_lookup(struct websess_table *t, const char *id)
{
    if (id == NULL || strlen(id) != WEBSESS_TOKEN_LEN) {
        return NULL;
    }
    for (struct sess *s = t->buckets[sess_bucket(id)]; s != NULL; s = s->chain) {
        if (websess_token_equal(s->w.id, id)) {
            return s;
        }
    }
    return NULL;
}

/* Ends u's oldest sessions until a new one fits under
 * WEBSESS_MAX_PER_USER, so that one account signing in again and again
 * pushes out only its own sessions. A walk over the table: sign-ins are
 * rare and few at a time (each one costs a password check or a link). */
static void sess_cap_user(struct websess_table *t, const char *user)
{
    size_t n = 0;

    for (const struct sess *s = t->oldest; s != NULL; s = s->newer) {
        n += strcmp(s->w.user.id, user) == 0;
    }
    for (struct sess *s = t->oldest; s != NULL && n >= WEBSESS_MAX_PER_USER;) {
        struct sess *next = s->newer;
        if (strcmp(s->w.user.id, user) == 0) {
            sess_remove(t, s);
            n--;
        }
        s = next;
    }
}

const struct websess *websess_start(struct websess_table *t, const struct auth_user *u,
                                    int64_t now_s)
{
    return websess_start_on(t, u, NULL, now_s);
}

const struct websess *websess_start_on(struct websess_table *t, const struct auth_user *u,
                                       const char *device_id, int64_t now_s)
{
    struct sess *s;
    unsigned b;

    if (t == NULL || u == NULL || u->id[0] == '\0' ||
        (device_id != NULL && strlen(device_id) != WEBSESS_DEVICE_ID_LEN)) {
        return NULL;
    }
    sess_expire(t, now_s);
    sess_cap_user(t, u->id);
    while (t->count >= WEBSESS_MAX && t->oldest != NULL) {
        sess_remove(t, t->oldest);
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return NULL;
    }
    /* A collision of 256-bit random ids does not happen; checking costs
     * nothing and keeps the table's ids unique regardless. */
    do {
        if (creds_random_token(s->w.id) < 0) {
            free(s);
            return NULL;
        }
    } while (sess_lookup(t, s->w.id) != NULL);
    if (creds_random_token(s->w.csrf) < 0) {
        free(s);
        return NULL;
    }
    if (device_id != NULL) {
        memcpy(s->w.device, device_id, WEBSESS_DEVICE_ID_LEN + 1);
    }
    s->w.user = *u;
    s->w.created_s = now_s;
    s->w.expires_s = now_s + t->ttl_s;
    b = sess_bucket(s->w.id);
    s->chain = t->buckets[b];
    t->buckets[b] = s;
    s->older = t->newest;
    if (t->newest != NULL) {
        t->newest->newer = s;
    } else {
        t->oldest = s;
    }
    t->newest = s;
    t->count++;
    return &s->w;
}

const struct websess *websess_find(struct websess_table *t, const char *id, int64_t now_s)
{
    struct sess *s;

    if (t == NULL) {
        return NULL;
    }
    sess_expire(t, now_s);
    s = sess_lookup(t, id);
    if (s == NULL) {
        return NULL;
    }
    if (s->w.expires_s <= now_s) {
        sess_remove(t, s);
        return NULL;
    }
    return &s->w;
}

void websess_end(struct websess_table *t, const char *id)
{
    struct sess *s;

    if (t == NULL) {
        return;
    }
    s = sess_lookup(t, id);
    if (s != NULL) {
        sess_remove(t, s);
    }
}

void websess_end_user(struct websess_table *t, const char *user)
{
    if (t == NULL || user == NULL) {
        return;
    }
    for (struct sess *s = t->oldest; s != NULL;) {
        struct sess *next = s->newer;
        if (strcmp(s->w.user.id, user) == 0) {
            sess_remove(t, s);
        }
        s = next;
    }
}

size_t websess_count(const struct websess_table *t)
{
    return t != NULL ? t->count : 0;
}

/* ---- Device cookies and pre-session tokens ---- */

#define DEVICE_ID_BYTES 16
#define PRESESSION_MAC_BYTES 24 /* with the 8-byte expiry: 32 bytes, 43 characters */

/* HMAC-SHA256 under t's key of label (with its NUL, so that no label is a
 * prefix of another's input) then data. */
static void keyed_mac(const struct websess_table *t, const char *label, const uint8_t *data,
                      size_t len, uint8_t mac[32])
{
    uint8_t in[128];
    size_t llen = strlen(label) + 1;
    unsigned outlen = 32;

    /* Should no MAC be made, a random one matches nothing a client sends. */
    if (llen + len > sizeof(in)) {
        RAND_bytes(mac, 32);
        return;
    }
    memcpy(in, label, llen);
    memcpy(in + llen, data, len);
    if (HMAC(EVP_sha256(), t->key, (int)sizeof(t->key), in, llen + len, mac, &outlen) == NULL) {
        RAND_bytes(mac, 32);
    }
    OPENSSL_cleanse(in, sizeof(in));
}

int websess_device_new(const struct websess_table *t, char out[WEBSESS_DEVICE_LEN + 1])
{
    uint8_t raw[DEVICE_ID_BYTES];
    uint8_t mac[32];
    size_t n;

    out[0] = '\0';
    if (t == NULL || RAND_bytes(raw, sizeof(raw)) != 1) {
        return -EIO;
    }
    n = b64_encode(B64_URL, raw, sizeof(raw), out);
    keyed_mac(t, "coachq device", (const uint8_t *)out, n, mac);
    out[n++] = '.';
    b64_encode(B64_URL, mac, sizeof(mac), out + n);
    return 0;
}

int websess_device_check(const struct websess_table *t, const char *cookie,
                         char id[WEBSESS_DEVICE_ID_LEN + 1])
{
    uint8_t mac[32], want[32];
    int n;

    id[0] = '\0';
    if (t == NULL || cookie == NULL || strlen(cookie) != WEBSESS_DEVICE_LEN ||
        cookie[WEBSESS_DEVICE_ID_LEN] != '.') {
        return -EACCES;
    }
    n = b64_decode(B64_URL, cookie + WEBSESS_DEVICE_ID_LEN + 1, WEBSESS_TOKEN_LEN, mac,
                   sizeof(mac));
    if (n != (int)sizeof(mac)) {
        return -EACCES;
    }
    {
        uint8_t raw[DEVICE_ID_BYTES + 4];
        if (b64_decode(B64_URL, cookie, WEBSESS_DEVICE_ID_LEN, raw, sizeof(raw)) !=
            DEVICE_ID_BYTES) {
            return -EACCES;
        }
    }
    keyed_mac(t, "coachq device", (const uint8_t *)cookie, WEBSESS_DEVICE_ID_LEN, want);
    if (CRYPTO_memcmp(mac, want, sizeof(mac)) != 0) {
        return -EACCES;
    }
    memcpy(id, cookie, WEBSESS_DEVICE_ID_LEN);
    id[WEBSESS_DEVICE_ID_LEN] = '\0';
    return 0;
}

/* The MAC of a pre-session token: device id and expiry under t's key. */
static void presession_mac(const struct websess_table *t, const char *device_id,
                           const uint8_t exp[8], uint8_t mac[32])
{
    uint8_t in[WEBSESS_DEVICE_ID_LEN + 8];

    memcpy(in, device_id, WEBSESS_DEVICE_ID_LEN);
    memcpy(in + WEBSESS_DEVICE_ID_LEN, exp, 8);
    keyed_mac(t, "coachq presession", in, sizeof(in), mac);
}

int websess_presession_token(const struct websess_table *t, const char *device_id, int64_t now_s,
                             char out[WEBSESS_TOKEN_LEN + 1])
{
    uint8_t raw[8 + PRESESSION_MAC_BYTES];
    uint8_t mac[32];
    uint64_t exp = (uint64_t)(now_s + WEBSESS_PRESESSION_TTL_S);

    out[0] = '\0';
    if (t == NULL || device_id == NULL || strlen(device_id) != WEBSESS_DEVICE_ID_LEN || now_s < 0) {
        return -EINVAL;
    }
    for (int i = 0; i < 8; i++) {
        raw[i] = (uint8_t)(exp >> (56 - 8 * i));
    }
    presession_mac(t, device_id, raw, mac);
    memcpy(raw + 8, mac, PRESESSION_MAC_BYTES);
    b64_encode(B64_URL, raw, sizeof(raw), out);
    return 0;
}

int websess_presession_check(const struct websess_table *t, const char *device_id,
                             const char *token, int64_t now_s)
{
    uint8_t raw[8 + PRESESSION_MAC_BYTES];
    uint8_t mac[32];
    uint64_t exp = 0;

    if (t == NULL || device_id == NULL || strlen(device_id) != WEBSESS_DEVICE_ID_LEN ||
        token == NULL || strlen(token) != WEBSESS_TOKEN_LEN || now_s < 0 ||
        b64_decode(B64_URL, token, WEBSESS_TOKEN_LEN, raw, sizeof(raw)) != (int)sizeof(raw)) {
        return -EACCES;
    }
    presession_mac(t, device_id, raw, mac);
    if (CRYPTO_memcmp(mac, raw + 8, PRESESSION_MAC_BYTES) != 0) {
        return -EACCES;
    }
    for (int i = 0; i < 8; i++) {
        exp = exp << 8 | raw[i];
    }
    /* Expired, or from further ahead than this server issues. */
    if (exp <= (uint64_t)now_s || exp > (uint64_t)now_s + WEBSESS_PRESESSION_TTL_S + 60) {
        return -EACCES;
    }
    return 0;
}
