#include "cursor.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define CURSOR_VERSION 1
#define NONCE_LEN 12
#define TAG_LEN 16
#define EXPIRY_LEN 8
/* Domain separation: these bytes open the associated data, so a tag made
 * for anything else with the same key can never pass as a cursor's. */
#define AAD_LABEL "coachq list cursor v1"

/* Feeds the binding to the GCM context (sealing or opening) as associated
 * data: the label, the version, the user's length and bytes, the query. */
static int bind_aad(EVP_CIPHER_CTX *ctx, const struct cursor_bind *b)
{
    size_t ulen = strlen(b->user);
    uint8_t head[3];
    int n;

    if (ulen > 0xffff) {
        return -EINVAL;
    }
    head[0] = CURSOR_VERSION;
    head[1] = (uint8_t)(ulen >> 8);
    head[2] = (uint8_t)ulen;
    if (EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)AAD_LABEL, (int)strlen(AAD_LABEL)) != 1 ||
        EVP_CipherUpdate(ctx, NULL, &n, head, sizeof(head)) != 1 ||
        (ulen > 0 && EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)b->user, (int)ulen) != 1) ||
        (b->query_len > 0 && EVP_CipherUpdate(ctx, NULL, &n, b->query, (int)b->query_len) != 1)) {
        return -EIO;
    }
    return 0;
}

int cursor_seal(const uint8_t key[CURSOR_KEY_LEN], const struct cursor_bind *b, int64_t expires_s,
                const uint8_t *pos, size_t pos_len, uint8_t *out, size_t cap, size_t *out_len)
{
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t plain[EXPIRY_LEN + CURSOR_MAX_POS];
    uint8_t *nonce = out + 1;
    uint8_t *ct = out + 1 + NONCE_LEN;
    size_t plen = EXPIRY_LEN + pos_len;
    int n;
    int fin;
    int rc = -EINVAL;

    if (pos_len > CURSOR_MAX_POS || cap < CURSOR_OVERHEAD + pos_len || b->user == NULL ||
        (b->query == NULL && b->query_len != 0) || b->query_len > INT32_MAX) {
        goto out;
    }
    for (int i = 0; i < EXPIRY_LEN; i++) {
        plain[i] = (uint8_t)((uint64_t)expires_s >> (56 - 8 * i));
    }
    if (pos_len > 0) {
        memcpy(plain + EXPIRY_LEN, pos, pos_len);
    }
    out[0] = CURSOR_VERSION;
    rc = -EIO;
    /* A random 96-bit nonce per cursor: far below the 2^32 seals under
     * one key after which GCM's random nonces could repeat. */
    if (RAND_bytes(nonce, NONCE_LEN) != 1) {
        goto out;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1) {
        goto out;
    }
    rc = bind_aad(ctx, b);
    if (rc < 0) {
        goto out;
    }
    rc = -EIO;
    if (EVP_EncryptUpdate(ctx, ct, &n, plain, (int)plen) != 1 ||
        EVP_EncryptFinal_ex(ctx, ct + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, ct + plen) != 1) {
        goto out;
    }
    *out_len = 1 + NONCE_LEN + plen + TAG_LEN;
    rc = 0;
out:
    OPENSSL_cleanse(plain, sizeof(plain));
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int cursor_open(const uint8_t key[CURSOR_KEY_LEN], const struct cursor_bind *b, int64_t now_s,
                const uint8_t *sealed, size_t sealed_len, uint8_t *pos, size_t cap, size_t *pos_len)
{
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t plain[EXPIRY_LEN + CURSOR_MAX_POS];
    uint8_t tag[TAG_LEN];
    size_t plen;
    uint64_t expires = 0;
    int n;
    int fin;
    int rc = CURSOR_E_FORGED;

    if (sealed == NULL || sealed_len < CURSOR_OVERHEAD || sealed_len > CURSOR_MAX_SEALED ||
        sealed[0] != CURSOR_VERSION || b->user == NULL || (b->query == NULL && b->query_len != 0) ||
        b->query_len > INT32_MAX) {
        goto out;
    }
    plen = sealed_len - 1 - NONCE_LEN - TAG_LEN;
    if (plen - EXPIRY_LEN > cap) {
        goto out;
    }
    memcpy(tag, sealed + sealed_len - TAG_LEN, TAG_LEN);
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, sealed + 1) != 1) {
        goto out;
    }
    if (bind_aad(ctx, b) < 0 ||
        EVP_DecryptUpdate(ctx, plain, &n, sealed + 1 + NONCE_LEN, (int)plen) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, plain + n, &fin) != 1) {
        /* The tag did not match: nothing decrypted may be used. */
        goto out;
    }
    for (int i = 0; i < EXPIRY_LEN; i++) {
        expires = expires << 8 | plain[i];
    }
    if ((int64_t)expires < now_s) {
        rc = CURSOR_E_EXPIRED;
        goto out;
    }
    if (plen > EXPIRY_LEN) {
        memcpy(pos, plain + EXPIRY_LEN, plen - EXPIRY_LEN);
    }
    *pos_len = plen - EXPIRY_LEN;
    rc = 0;
out:
    OPENSSL_cleanse(plain, sizeof(plain));
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int cursor_key_load(const char *dir, uint8_t key[CURSOR_KEY_LEN])
{
    char path[1024];
    char tmp[1040];
    struct stat st;
    ssize_t got;
    int fd = -1;
    int rc;

    if (snprintf(path, sizeof(path), "%s/cursor.key", dir) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s/cursor.key.new", dir) >= (int)sizeof(tmp)) {
        return -ENAMETOOLONG;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        rc = -EINVAL;
        if (fstat(fd, &st) < 0) {
            rc = -errno;
            goto out;
        }
        if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) < 0) {
            rc = -errno;
            goto out;
        }
        got = read(fd, key, CURSOR_KEY_LEN);
        if (got < 0) {
            rc = -errno;
            goto out;
        }
        rc = got == CURSOR_KEY_LEN && st.st_size == CURSOR_KEY_LEN ? 0 : -EINVAL;
        goto out;
    }
    if (errno != ENOENT) {
        return -errno;
    }
    /* First start: write the key beside its final name and rename it, so a
     * crash never leaves a short key behind. */
    rc = -EIO;
    if (RAND_bytes(key, CURSOR_KEY_LEN) != 1) {
        return rc;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return -errno;
    }
    got = write(fd, key, CURSOR_KEY_LEN);
    if (got < 0 || (got == CURSOR_KEY_LEN && fsync(fd) < 0)) {
        rc = -errno;
    } else if (got != CURSOR_KEY_LEN) {
        rc = -EIO;
    } else {
        rc = 0;
    }
    if (rc < 0) {
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        rc = -errno;
        unlink(tmp);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}
