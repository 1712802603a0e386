#include "keys.h"

#include <errno.h>
#include <string.h>

#include "validate.h"

/* A validated id must always fit an index key. */
_Static_assert(KEYS_ID_MAX >= VALIDATE_MAX_ID, "index keys must hold every valid id");
_Static_assert(KEYS_ID_MAX <= 255, "the id length is one byte");

#define KEYS_SIGN_BIT ((uint64_t)1 << 63)

void keys_put_be32(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

uint32_t keys_get_be32(const uint8_t in[4])
{
    return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) |
           (uint32_t)in[3];
}

void keys_put_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

void keys_time_encode(int64_t t, uint8_t out[KEYS_TIME_LEN])
{
    /* Conversion to unsigned is defined (modulo 2^64); flipping the sign bit
     * maps INT64_MIN..INT64_MAX onto 0..UINT64_MAX in order. */
    keys_put_be64(out, (uint64_t)t ^ KEYS_SIGN_BIT);
}

int64_t keys_time_decode(const uint8_t in[KEYS_TIME_LEN])
{
    uint64_t u = keys_get_be64(in) ^ KEYS_SIGN_BIT;

    /* Converting a value above INT64_MAX to int64_t is implementation-defined,
     * so go through the negative range explicitly. */
    if (u <= (uint64_t)INT64_MAX) {
        return (int64_t)u;
    }
    return -(int64_t)(~u) - 1;
}

int keys_index_prefix(uint8_t *out, size_t outlen, const char *id, size_t id_len, size_t *len)
{
    if (id == NULL || id_len == 0 || id_len > KEYS_ID_MAX) {
        return -EINVAL;
    }
    if (outlen < 1 + id_len) {
        return -ENOBUFS;
    }
    out[0] = (uint8_t)id_len;
    memcpy(out + 1, id, id_len);
    *len = 1 + id_len;
    return 0;
}

int keys_index_bound(uint8_t *out, size_t outlen, const char *id, size_t id_len, int64_t t,
                     size_t *len)
{
    size_t n;
    int rc = keys_index_prefix(out, outlen, id, id_len, &n);

    if (rc < 0) {
        return rc;
    }
    if (outlen < n + KEYS_TIME_LEN) {
        return -ENOBUFS;
    }
    keys_time_encode(t, out + n);
    *len = n + KEYS_TIME_LEN;
    return 0;
}

int keys_index_encode(uint8_t *out, size_t outlen, const char *id, size_t id_len,
                      int64_t started_at, const uint8_t uuid[KEYS_UUID_LEN], size_t *len)
{
    size_t n;
    int rc = keys_index_bound(out, outlen, id, id_len, started_at, &n);

    if (rc < 0) {
        return rc;
    }
    if (outlen < n + KEYS_UUID_LEN) {
        return -ENOBUFS;
    }
    memcpy(out + n, uuid, KEYS_UUID_LEN);
    *len = n + KEYS_UUID_LEN;
    return 0;
}

int keys_index_decode(const uint8_t *key, size_t len, const char **id, size_t *id_len,
                      int64_t *started_at, const uint8_t **uuid)
{
    size_t n;

    if (key == NULL || len < 1) {
        return -EINVAL;
    }
    n = key[0];
    if (n == 0 || n > KEYS_ID_MAX || len != 1 + n + KEYS_TIME_LEN + KEYS_UUID_LEN) {
        return -EINVAL;
    }
    if (id != NULL) {
        *id = (const char *)key + 1;
    }
    if (id_len != NULL) {
        *id_len = n;
    }
    if (started_at != NULL) {
        *started_at = keys_time_decode(key + 1 + n);
    }
    if (uuid != NULL) {
        *uuid = key + 1 + n + KEYS_TIME_LEN;
    }
    return 0;
}

int keys_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n > 0 ? memcmp(a, b, n) : 0;

    if (c != 0) {
        return c;
    }
    if (alen < blen) {
        return -1;
    }
    return alen > blen ? 1 : 0;
}

void keys_day_encode(int32_t day, uint8_t out[4])
{
    keys_put_be32(out, (uint32_t)day ^ 0x80000000u);
}

int32_t keys_day_decode(const uint8_t in[4])
{
    uint32_t u = keys_get_be32(in) ^ 0x80000000u;
    int32_t d;

    /* Two's complement round trip without an implementation-defined cast. */
    memcpy(&d, &u, sizeof(d));
    return d;
}

void keys_buf_reset(struct keys_buf *k)
{
    k->len = 0;
    k->err = 0;
}

void keys_buf_raw(struct keys_buf *k, const void *p, size_t n)
{
    if (k->err != 0) {
        return;
    }
    if (n > sizeof(k->b) - k->len) {
        k->err = -ENOBUFS;
        return;
    }
    if (n > 0) {
        memcpy(k->b + k->len, p, n);
    }
    k->len += n;
}

void keys_buf_id(struct keys_buf *k, const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    uint8_t len;

    if (k->err != 0) {
        return;
    }
    if (n == 0 || n > KEYS_ID_MAX) {
        k->err = -EINVAL;
        return;
    }
    if (n + 1 > sizeof(k->b) - k->len) {
        k->err = -ENOBUFS;
        return;
    }
    len = (uint8_t)n;
    keys_buf_raw(k, &len, 1);
    keys_buf_raw(k, id, n);
}

void keys_buf_day(struct keys_buf *k, int32_t day)
{
    uint8_t b[4];

    keys_day_encode(day, b);
    keys_buf_raw(k, b, sizeof(b));
}

void keys_buf_time(struct keys_buf *k, int64_t t)
{
    uint8_t b[KEYS_TIME_LEN];

    keys_time_encode(t, b);
    keys_buf_raw(k, b, sizeof(b));
}

void keys_buf_u32(struct keys_buf *k, uint32_t v)
{
    uint8_t b[4];

    keys_put_be32(b, v);
    keys_buf_raw(k, b, sizeof(b));
}
