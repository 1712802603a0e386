/*
 * creds: dashboard passwords and one-time sign-in links in the store
 * (creds.h): scrypt hashes, the credentials and links databases, and the
 * random tokens that links and sessions are made of.
 */
#include "creds.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "b64.h"
#include "keys.h"
#include "people.h"
#include "store_int.h"
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
/* A link is stored under SHA-256 of its token. */
#define LINK_KEY_LEN 32
/* A link's value: be64 expiry (seconds) then the user id. */
#define LINK_VALUE_MAX (8 + 64)

/* ---- The two databases ---- */

static int hash_put(struct store_txn *t, const char *user, const char *hash, size_t hlen)
{
    size_t ulen = strlen(user);

    if (ulen == 0 || ulen > 64 || hlen == 0) {
        return -EINVAL;
    }
    return store_txn_put_raw(t, t->s->dbi_creds, (const uint8_t *)user, ulen, hash, hlen, NULL);
}

/* Copies user's hash into out (size outlen, NUL-terminated). Returns its
 * length, -ENOENT, -ENOBUFS, or a negative errno. */
static int hash_get(struct store_txn *t, const char *user, char *out, size_t outlen)
{
    size_t ulen = strlen(user);
    MDB_val v;
    int rc;

    if (ulen == 0 || ulen > 64) {
        return -ENOENT;
    }
    rc = store_txn_get_raw(t, t->s->dbi_creds, (const uint8_t *)user, ulen, &v);
    if (rc < 0) {
        return rc;
    }
    if (v.mv_size >= outlen) {
        return -ENOBUFS;
    }
    memcpy(out, v.mv_data, v.mv_size);
    out[v.mv_size] = '\0';
    return (int)v.mv_size;
}

static int link_put(struct store_txn *t, const uint8_t key[LINK_KEY_LEN], const void *val,
                    size_t vlen)
{
    return store_txn_put_raw(t, t->s->dbi_links, key, LINK_KEY_LEN, val, vlen, NULL);
}

/* Copies a link's value into out (size outlen) and deletes it (write
 * transaction). Returns the value's length, -ENOENT, -ENOBUFS, -EROFS or
 * a store code to pass on. */
static int link_take(struct store_txn *t, const uint8_t key[LINK_KEY_LEN], void *out, size_t outlen)
{
    MDB_val v;
    size_t n;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    rc = store_txn_get_raw(t, t->s->dbi_links, key, LINK_KEY_LEN, &v);
    if (rc < 0) {
        return rc;
    }
    n = v.mv_size;
    if (n > outlen) {
        /* Not ours to keep either: a value this long is not a link. */
        rc = store_txn_del(t, t->s->dbi_links, key, LINK_KEY_LEN);
        return rc < 0 ? rc : -ENOBUFS;
    }
    memcpy(out, v.mv_data, n);
    rc = store_txn_del(t, t->s->dbi_links, key, LINK_KEY_LEN);
    return rc < 0 ? rc : (int)n;
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

int creds_hash_password(const char *password, char *out, size_t outlen)
{
    uint8_t salt[SCRYPT_SALT_LEN];
    uint8_t key[SCRYPT_KEY_LEN];
    char salt64[B64_LEN(SCRYPT_SALT_LEN) + 1], key64[B64_LEN(SCRYPT_KEY_LEN) + 1];
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
    b64_encode(B64_STD, salt, sizeof(salt), salt64);
    b64_encode(B64_STD, key, sizeof(key), key64);
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

int creds_check_password(const char *password, const char *hash)
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
    saltlen = b64_decode(B64_STD, s, (size_t)(dollar - s), salt, sizeof(salt));
    keylen = b64_decode(B64_STD, dollar + 1, strlen(dollar + 1), want, sizeof(want));
    /* Exactly what creds_hash_password() writes: a hash cut short must
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

int creds_holds_role(const Coachq__V1__Person *p)
{
    for (int r = COACHQ__V1__ROLE__ROLE_OBSERVER; r <= COACHQ__V1__ROLE__ROLE_ADMINISTRATOR; r++) {
        if (people_has_role(p, (Coachq__V1__Role)r)) {
            return 1;
        }
    }
    return 0;
}

int creds_user_with_role_txn(struct store_txn *t, const char *user)
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
    rc = creds_holds_role(p) ? 0 : -EINVAL;
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

int creds_set_password_txn(struct store_txn *t, const char *user, const char *hash)
{
    int rc;

    if (hash == NULL || strncmp(hash, "scrypt$", 7) != 0) {
        return -EINVAL;
    }
    rc = creds_user_with_role_txn(t, user);
    if (rc < 0) {
        return rc;
    }
    return hash_put(t, user, hash, strlen(hash));
}

int creds_get_password_txn(struct store_txn *t, const char *user, char *out, size_t outlen)
{
    int rc;

    if (user == NULL || validate_id(user) != 0) {
        return -ENOENT;
    }
    rc = hash_get(t, user, out, outlen);
    return rc < 0 ? rc : 0;
}

/* ---- One-time links ---- */

static void token_key(const char *token, uint8_t key[LINK_KEY_LEN])
{
    SHA256((const unsigned char *)token, strlen(token), key);
}

int creds_link_create_txn(struct store_txn *t, const char *user, int64_t now_s, int64_t ttl_s,
                          char token[CREDS_TOKEN_LEN + 1])
{
    uint8_t key[LINK_KEY_LEN];
    uint8_t val[LINK_VALUE_MAX];
    uint64_t exp;
    size_t ulen;
    int rc;

    if (ttl_s <= 0) {
        return -EINVAL;
    }
    rc = creds_user_with_role_txn(t, user);
    if (rc < 0) {
        return rc;
    }
    ulen = strlen(user);
    rc = creds_random_token(token);
    if (rc < 0) {
        return rc;
    }
    token_key(token, key);
    exp = (uint64_t)(now_s + ttl_s);
    keys_put_be64(val, exp);
    memcpy(val + 8, user, ulen);
    rc = link_put(t, key, val, 8 + ulen);
    if (rc < 0) {
        OPENSSL_cleanse(token, CREDS_TOKEN_LEN + 1);
        token[0] = '\0';
    }
    return rc;
}

int creds_link_consume_txn(struct store_txn *t, const char *token, int64_t now_s, char user[65])
{
    uint8_t key[LINK_KEY_LEN];
    uint8_t val[LINK_VALUE_MAX];
    uint64_t exp;
    int n;

    user[0] = '\0';
    if (token == NULL || strlen(token) != CREDS_TOKEN_LEN) {
        return -ENOENT;
    }
    token_key(token, key);
    n = link_take(t, key, val, sizeof(val));
    if (n == -ENOBUFS) {
        return -ENOENT;
    }
    if (n < 0) {
        return n;
    }
    if (n <= 8) {
        return -ENOENT;
    }
    exp = keys_get_be64(val);
    if (now_s < 0 || (uint64_t)now_s >= exp) {
        return -ENOENT;
    }
    memcpy(user, val + 8, (size_t)n - 8);
    user[n - 8] = '\0';
    return 0;
}

int creds_link_exists_txn(struct store_txn *t, const char *token)
{
    uint8_t key[LINK_KEY_LEN];
    MDB_val v;

    if (token == NULL || strlen(token) != CREDS_TOKEN_LEN) {
        return -ENOENT;
    }
    token_key(token, key);
    return store_txn_get_raw(t, t->s->dbi_links, key, LINK_KEY_LEN, &v);
}

/* ---- Tokens ---- */

int creds_random_token(char out[CREDS_TOKEN_LEN + 1])
{
    uint8_t raw[TOKEN_BYTES];

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        out[0] = '\0';
        return -EIO;
    }
    b64_encode(B64_URL, raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}
