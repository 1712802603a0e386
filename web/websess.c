#include "websess.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "creds.h"
#include "people.h"
#include "validate.h"

/* scrypt's cost: N = 2^15, r = 8, p = 1 needs 128 * r * N * p = 32 MiB. */
#define SCRYPT_LOG2_N 15
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SCRYPT_SALT_LEN 16
#define SCRYPT_KEY_LEN 32
/* What a stored hash may ask for at most, so that a damaged credentials
 * database cannot make one check take unbounded time or memory. */
#define SCRYPT_MAX_LOG2_N 20
#define SCRYPT_MAX_R 32
#define SCRYPT_MAX_P 4
#define SCRYPT_MAX_MEM ((uint64_t)1 << 30)
#define TOKEN_BYTES 32

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64 of n bytes into out (size >= 4 * n / 3 + 2). Returns the
 * length. */
static size_t b64_encode(const char *alphabet, const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    size_t i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

/* Decodes unpadded base64 in alphabet (len chars) into out (size outlen).
 * Returns the byte count or -EINVAL (bad character, impossible length,
 * non-zero trailing bits, no room). */
static int b64_decode(const char *alphabet, const char *s, size_t len, uint8_t *out, size_t outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    if (len % 4 == 1) {
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        const char *p = s[i] != '\0' ? strchr(alphabet, s[i]) : NULL;
        if (p == NULL) {
            return -EINVAL;
        }
        acc = acc << 6 | (uint32_t)(p - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outlen) {
                return -EINVAL;
            }
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0) {
        return -EINVAL;
    }
    return (int)o;
}

/* ---- Passwords ---- */

static int scrypt_derive(const char *password, const uint8_t *salt, size_t saltlen, unsigned log2n,
                         unsigned r, unsigned p, uint8_t *key, size_t keylen)
{
    uint64_t n = (uint64_t)1 << log2n;
    uint64_t maxmem = 128u * (uint64_t)r * (n + (uint64_t)p + 2) + (1u << 20);

    if (maxmem > SCRYPT_MAX_MEM) {
        return -EINVAL;
    }
    if (EVP_PBE_scrypt(password, strlen(password), salt, saltlen, n, r, p, maxmem, key, keylen) !=
        1) {
        return -EIO;
    }
    return 0;
}

int websess_hash_password(const char *password, char *out, size_t outlen)
{
    uint8_t salt[SCRYPT_SALT_LEN];
    uint8_t key[SCRYPT_KEY_LEN];
    char salt64[32], key64[48];
    int rc, n;

    if (password == NULL || out == NULL) {
        return -EINVAL;
    }
    if (RAND_bytes(salt, sizeof(salt)) != 1) {
        return -EIO;
    }
    rc = scrypt_derive(password, salt, sizeof(salt), SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, key,
                       sizeof(key));
    if (rc < 0) {
        return rc;
    }
    b64_encode(b64_std, salt, sizeof(salt), salt64);
    b64_encode(b64_std, key, sizeof(key), key64);
    OPENSSL_cleanse(key, sizeof(key));
    n = snprintf(out, outlen, "scrypt$%u$%u$%u$%s$%s", SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P, salt64,
                 key64);
    if (n < 0 || (size_t)n >= outlen) {
        return -ENOBUFS;
    }
    return 0;
}

/* Parses one "$"-terminated decimal field of a hash in [min, max]. */
static int hash_field(const char **s, unsigned min, unsigned max, unsigned *out)
{
    const char *p = *s;
    unsigned v = 0;

    if (*p < '0' || *p > '9') {
        return -EINVAL;
    }
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > max) {
            return -EINVAL;
        }
        p++;
    }
    if (*p != '$' || v < min) {
        return -EINVAL;
    }
    *s = p + 1;
    *out = v;
    return 0;
}

int websess_check_password(const char *password, const char *hash)
{
    unsigned log2n, r, p;
    uint8_t salt[64], want[64], got[64];
    const char *s = hash;
    const char *dollar;
    int saltlen, keylen, rc;

    if (password == NULL || hash == NULL || strncmp(s, "scrypt$", 7) != 0) {
        return -EINVAL;
    }
    s += 7;
    if (hash_field(&s, 1, SCRYPT_MAX_LOG2_N, &log2n) < 0 ||
        hash_field(&s, 1, SCRYPT_MAX_R, &r) < 0 || hash_field(&s, 1, SCRYPT_MAX_P, &p) < 0) {
        return -EINVAL;
    }
    dollar = strchr(s, '$');
    if (dollar == NULL) {
        return -EINVAL;
    }
    saltlen = b64_decode(b64_std, s, (size_t)(dollar - s), salt, sizeof(salt));
    keylen = b64_decode(b64_std, dollar + 1, strlen(dollar + 1), want, sizeof(want));
    /* Exactly what websess_hash_password() writes: a hash cut short must
     * not verify against a prefix of the key. */
    if (saltlen != SCRYPT_SALT_LEN || keylen != SCRYPT_KEY_LEN) {
        return -EINVAL;
    }
    rc = scrypt_derive(password, salt, (size_t)saltlen, log2n, r, p, got, (size_t)keylen);
    if (rc < 0) {
        return rc;
    }
    rc = CRYPTO_memcmp(got, want, (size_t)keylen) == 0 ? 0 : -EACCES;
    OPENSSL_cleanse(got, sizeof(got));
    return rc;
}

/* 0 when user exists and holds a role, -ENOENT or -EINVAL (a rep). */
static int user_with_role(struct store_txn *t, const char *user)
{
    Coachq__V1__Person *p = NULL;
    int rc;

    if (user == NULL || validate_id(user) != 0) {
        return -ENOENT;
    }
    rc = people_get(t, user, &p);
    if (rc < 0) {
        return rc;
    }
    rc = auth_roles_of(p) != 0 ? 0 : -EINVAL;
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

int websess_set_password_txn(struct store_txn *t, const char *user, const char *hash)
{
    int rc;

    if (hash == NULL || strncmp(hash, "scrypt$", 7) != 0) {
        return -EINVAL;
    }
    rc = user_with_role(t, user);
    if (rc < 0) {
        return rc;
    }
    return creds_put_txn(t, user, hash, strlen(hash));
}

int websess_get_password_txn(struct store_txn *t, const char *user, char *out, size_t outlen)
{
    int rc;

    if (user == NULL || validate_id(user) != 0) {
        return -ENOENT;
    }
    rc = creds_get_txn(t, user, out, outlen);
    return rc < 0 ? rc : 0;
}

/* ---- One-time links ---- */

/* A link's value: be64 expiry (seconds) then the user id. */
#define LINK_VALUE_MAX (8 + 64)

static void token_key(const char *token, uint8_t key[CREDS_LINK_KEY_LEN])
{
    SHA256((const unsigned char *)token, strlen(token), key);
}

int websess_link_create_txn(struct store_txn *t, const char *user, int64_t now_s, int64_t ttl_s,
                            char token[WEBSESS_TOKEN_LEN + 1])
{
    uint8_t key[CREDS_LINK_KEY_LEN];
    uint8_t val[LINK_VALUE_MAX];
    uint64_t exp;
    size_t ulen;
    int rc;

    if (ttl_s <= 0) {
        return -EINVAL;
    }
    rc = user_with_role(t, user);
    if (rc < 0) {
        return rc;
    }
    ulen = strlen(user);
    rc = websess_random_token(token);
    if (rc < 0) {
        return rc;
    }
    token_key(token, key);
    exp = (uint64_t)(now_s + ttl_s);
    for (int i = 0; i < 8; i++) {
        val[i] = (uint8_t)(exp >> (56 - 8 * i));
    }
    memcpy(val + 8, user, ulen);
    rc = creds_link_put_txn(t, key, val, 8 + ulen);
    if (rc < 0) {
        OPENSSL_cleanse(token, WEBSESS_TOKEN_LEN + 1);
        token[0] = '\0';
    }
    return rc;
}

int websess_link_consume_txn(struct store_txn *t, const char *token, int64_t now_s, char user[65])
{
    uint8_t key[CREDS_LINK_KEY_LEN];
    uint8_t val[LINK_VALUE_MAX];
    uint64_t exp = 0;
    int n;

    user[0] = '\0';
    if (token == NULL || strlen(token) != WEBSESS_TOKEN_LEN) {
        return -ENOENT;
    }
    token_key(token, key);
    n = creds_link_take_txn(t, key, val, sizeof(val));
    if (n == -ENOBUFS) {
        return -ENOENT;
    }
    if (n < 0) {
        return n;
    }
    if (n <= 8) {
        return -ENOENT;
    }
    for (int i = 0; i < 8; i++) {
        exp = exp << 8 | val[i];
    }
    if (now_s < 0 || (uint64_t)now_s >= exp) {
        return -ENOENT;
    }
    memcpy(user, val + 8, (size_t)n - 8);
    user[n - 8] = '\0';
    return 0;
}

int websess_link_exists_txn(struct store_txn *t, const char *token)
{
    uint8_t key[CREDS_LINK_KEY_LEN];

    if (token == NULL || strlen(token) != WEBSESS_TOKEN_LEN) {
        return -ENOENT;
    }
    token_key(token, key);
    return creds_link_exists_txn(t, key);
}

/* ---- Tokens ---- */

int websess_random_token(char out[WEBSESS_TOKEN_LEN + 1])
{
    uint8_t raw[TOKEN_BYTES];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        out[0] = '\0';
        return -EIO;
    }
    b64_encode(b64_url, raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

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
        if (websess_random_token(s->w.id) < 0) {
            free(s);
            return NULL;
        }
    } while (sess_lookup(t, s->w.id) != NULL);
    if (websess_random_token(s->w.csrf) < 0) {
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
    n = b64_encode(b64_url, raw, sizeof(raw), out);
    keyed_mac(t, "coachq device", (const uint8_t *)out, n, mac);
    out[n++] = '.';
    b64_encode(b64_url, mac, sizeof(mac), out + n);
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
    n = b64_decode(b64_url, cookie + WEBSESS_DEVICE_ID_LEN + 1, WEBSESS_TOKEN_LEN, mac,
                   sizeof(mac));
    if (n != (int)sizeof(mac)) {
        return -EACCES;
    }
    {
        uint8_t raw[DEVICE_ID_BYTES + 4];
        if (b64_decode(b64_url, cookie, WEBSESS_DEVICE_ID_LEN, raw, sizeof(raw)) !=
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
    b64_encode(b64_url, raw, sizeof(raw), out);
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
        b64_decode(b64_url, token, WEBSESS_TOKEN_LEN, raw, sizeof(raw)) != (int)sizeof(raw)) {
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
