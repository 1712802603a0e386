/*
 * apitok: API tokens in the store (apitok.h): the api_tokens database,
 * keyed by SHA-256 of the token text, with ApiToken records.
 */
#include "apitok.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "b64.h"
#include "creds.h"
#include "people.h"
#include "store_int.h"
#include "validate.h"

#define APITOK_SECRET_BYTES 32
#define APITOK_MAX_NAME 200

/* Does not stop early on the first bad character, though the shape of a
 * token is no secret; the look-up is by its hash anyway. */
int apitok_well_formed(const char *s)
{
    size_t plen = sizeof(APITOK_PREFIX) - 1;
    int bad = 0;

    if (s == NULL || strnlen(s, APITOK_LEN + 1) != APITOK_LEN ||
        strncmp(s, APITOK_PREFIX, plen) != 0) {
        return 0;
    }
    for (size_t i = plen; i < APITOK_LEN; i++) {
        unsigned char c = (unsigned char)s[i];
        bad |= !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_');
    }
    return !bad;
}

static void token_hash(const char *tok, uint8_t out[SHA256_DIGEST_LENGTH])
{
    SHA256((const unsigned char *)tok, strlen(tok), out);
}

static int name_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    return n > 0 && n <= APITOK_MAX_NAME && validate_text(name, n, 0, NULL) == 0;
}

int apitok_create_txn(struct store_txn *t, const char *user, const char *name, int64_t now_ms,
                      int64_t expires_ms, const char *actor, char token[APITOK_LEN + 1],
                      char id[APITOK_ID_LEN + 1])
{
    Coachq__V1__ApiToken rec = COACHQ__V1__API_TOKEN__INIT;
    uint8_t secret[APITOK_SECRET_BYTES];
    uint8_t idraw[8];
    uint8_t hash[SHA256_DIGEST_LENGTH];
    int rc;

    token[0] = '\0';
    id[0] = '\0';
    if (!t->write) {
        return -EROFS;
    }
    if (!name_ok(name) || (expires_ms != 0 && expires_ms <= now_ms)) {
        return -EINVAL;
    }
    rc = creds_user_with_role_txn(t, user);
    if (rc < 0) {
        return rc;
    }
    if (RAND_bytes(secret, sizeof(secret)) != 1 || RAND_bytes(idraw, sizeof(idraw)) != 1) {
        return -EIO;
    }
    memcpy(token, APITOK_PREFIX, sizeof(APITOK_PREFIX) - 1);
    b64_encode(B64_URL, secret, sizeof(secret), token + sizeof(APITOK_PREFIX) - 1);
    OPENSSL_cleanse(secret, sizeof(secret));
    snprintf(id, APITOK_ID_LEN + 1, "t-%02x%02x%02x%02x%02x%02x%02x%02x", idraw[0], idraw[1],
             idraw[2], idraw[3], idraw[4], idraw[5], idraw[6], idraw[7]);
    token_hash(token, hash);
    rec.id = id;
    rec.user_id = (char *)user;
    rec.name = (char *)name;
    rec.created_at_ms = now_ms;
    rec.expires_at_ms = expires_ms;
    rec.secret_sha256.data = hash;
    rec.secret_sha256.len = sizeof(hash);
    rec.created_by = (char *)(actor != NULL ? actor : "");
    rc = store_txn_put_msg(t, t->s->dbi_tokens, hash, sizeof(hash), &rec.base, NULL);
    if (rc < 0) {
        OPENSSL_cleanse(token, APITOK_LEN + 1);
        token[0] = '\0';
    }
    return rc;
}

/* The record under hash, checked to be the token's (constant-time compare
 * of the stored hash). */
static int find_by_hash(struct store_txn *t, const uint8_t hash[SHA256_DIGEST_LENGTH],
                        Coachq__V1__ApiToken **out)
{
    ProtobufCMessage *m = NULL;
    Coachq__V1__ApiToken *rec;
    int rc;

    *out = NULL;
    rc = store_txn_get_msg(t, t->s->dbi_tokens, hash, SHA256_DIGEST_LENGTH,
                           &coachq__v1__api_token__descriptor, &m);
    if (rc < 0) {
        return rc;
    }
    rec = (Coachq__V1__ApiToken *)m;
    if (rec->secret_sha256.len != SHA256_DIGEST_LENGTH ||
        CRYPTO_memcmp(rec->secret_sha256.data, hash, SHA256_DIGEST_LENGTH) != 0) {
        coachq__v1__api_token__free_unpacked(rec, NULL);
        return -ENOENT;
    }
    *out = rec;
    return 0;
}

int apitok_find_txn(struct store_txn *t, const char *tok, Coachq__V1__ApiToken **out)
{
    uint8_t hash[SHA256_DIGEST_LENGTH];

    *out = NULL;
    if (!apitok_well_formed(tok)) {
        return -ENOENT;
    }
    token_hash(tok, hash);
    return find_by_hash(t, hash, out);
}

struct list_walk {
    const char *user;
    apitok_list_cb cb;
    void *arg;
    int by_id; /* looking for id: found records stop the walk */
    const char *id;
    uint8_t key[SHA256_DIGEST_LENGTH];
    int found;
};

static int list_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct list_walk *w = arg;
    Coachq__V1__ApiToken *rec = coachq__v1__api_token__unpack(NULL, vlen, val);
    int rc = 0;

    if (rec == NULL || klen != SHA256_DIGEST_LENGTH) {
        coachq__v1__api_token__free_unpacked(rec, NULL);
        return -EIO;
    }
    if (w->by_id) {
        if (rec->id != NULL && strcmp(rec->id, w->id) == 0) {
            memcpy(w->key, key, klen);
            w->found = 1;
            rc = 1;
        }
    } else if (w->user == NULL || (rec->user_id != NULL && strcmp(rec->user_id, w->user) == 0)) {
        rc = w->cb(rec, w->arg);
    }
    coachq__v1__api_token__free_unpacked(rec, NULL);
    return rc;
}

int apitok_list_txn(struct store_txn *t, const char *user, apitok_list_cb cb, void *arg)
{
    struct list_walk w;

    memset(&w, 0, sizeof(w));
    w.user = user;
    w.cb = cb;
    w.arg = arg;
    return store_txn_scan(t, t->s->dbi_tokens, NULL, 0, 0, list_one, &w);
}

int apitok_revoke_txn(struct store_txn *t, const char *id, int64_t now_ms,
                      Coachq__V1__ApiToken **out)
{
    struct list_walk w;
    ProtobufCMessage *m = NULL;
    Coachq__V1__ApiToken *rec;
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (!t->write) {
        return -EROFS;
    }
    memset(&w, 0, sizeof(w));
    w.by_id = 1;
    w.id = id;
    rc = store_txn_scan(t, t->s->dbi_tokens, NULL, 0, 0, list_one, &w);
    if (rc < 0) {
        return rc;
    }
    if (!w.found) {
        return -ENOENT;
    }
    rc = store_txn_get_msg(t, t->s->dbi_tokens, w.key, sizeof(w.key),
                           &coachq__v1__api_token__descriptor, &m);
    if (rc < 0) {
        return rc;
    }
    rec = (Coachq__V1__ApiToken *)m;
    if (rec->revoked_at_ms != 0) {
        rc = -EALREADY;
    } else {
        rec->revoked_at_ms = now_ms;
        rc = store_txn_put_msg(t, t->s->dbi_tokens, w.key, sizeof(w.key), &rec->base, NULL);
    }
    if (rc == 0 && out != NULL) {
        *out = rec;
        return 0;
    }
    coachq__v1__api_token__free_unpacked(rec, NULL);
    return rc;
}

int apitok_touch_txn(struct store_txn *t, const char *tok, int64_t now_ms)
{
    uint8_t hash[SHA256_DIGEST_LENGTH];
    Coachq__V1__ApiToken *rec = NULL;
    int rc;

    if (!apitok_well_formed(tok)) {
        return 0;
    }
    token_hash(tok, hash);
    rc = find_by_hash(t, hash, &rec);
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc < 0) {
        return rc;
    }
    if (now_ms - rec->last_used_at_ms >= APITOK_TOUCH_MS) {
        rec->last_used_at_ms = now_ms;
        rc = store_txn_put_msg(t, t->s->dbi_tokens, hash, sizeof(hash), &rec->base, NULL);
    }
    coachq__v1__api_token__free_unpacked(rec, NULL);
    return rc;
}
