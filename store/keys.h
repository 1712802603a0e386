/*
 * keys: the byte layout of the store's LMDB keys and fixed-width values.
 *
 * LMDB compares keys with memcmp (shorter key first on a common prefix), so
 * every key is built so that this byte order is the order the store wants to
 * scan in. An index key is
 *
 *   len(1) | person id (len bytes) | started_at (8) | uuid (16)
 *
 * where started_at is big-endian with its sign bit flipped, so that negative
 * times sort before positive ones. The length byte comes first so that the
 * keys of one person form one contiguous range that no other id (not even a
 * longer id that starts with the same bytes) interleaves with. Equal times
 * are ordered by uuid.
 *
 * Every function here is pure: no allocation, no state, safe from any
 * thread. Pointers passed in are borrowed for the call only unless a
 * function says otherwise.
 */
#ifndef COACHQ_KEYS_H
#define COACHQ_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KEYS_UUID_LEN 16
#define KEYS_TIME_LEN 8
/* Longest person id an index key holds. Ids are validated to at most
 * VALIDATE_MAX_ID (64) bytes; the cap keeps a whole key, which is also the
 * list cursor, inside struct store_page's cursor buffer. */
#define KEYS_ID_MAX 64
/* Longest index key: length byte, id, time, uuid. */
#define KEYS_INDEX_MAX (1 + KEYS_ID_MAX + KEYS_TIME_LEN + KEYS_UUID_LEN)
/* Longest prefix + time bound (keys_index_bound()). */
#define KEYS_BOUND_MAX (1 + KEYS_ID_MAX + KEYS_TIME_LEN)

/* Big-endian fixed-width integers, for meta values and times. */
void keys_put_be32(uint8_t out[4], uint32_t v);
uint32_t keys_get_be32(const uint8_t in[4]);
void keys_put_be64(uint8_t out[8], uint64_t v);

/* Inline: the dashboards' reads decode a stored time or count from many keys
 * and values a build, and a call per decode cost My managers about 1% of its
 * instructions at 1M. */
static inline uint64_t keys_get_be64(const uint8_t in[8])
{
    return (uint64_t)in[0] << 56 | (uint64_t)in[1] << 48 | (uint64_t)in[2] << 40 |
           (uint64_t)in[3] << 32 | (uint64_t)in[4] << 24 | (uint64_t)in[5] << 16 |
           (uint64_t)in[6] << 8 | (uint64_t)in[7];
}

/* Little-endian fixed-width integers, for the fixed layouts of stored values
 * (the aggregates, agg.h; the coaching days' counts, cadence.h). Inline:
 * the dashboards' reads decode many of them a build. */
static inline void keys_put_le32(uint8_t out[4], uint32_t v)
{
    out[0] = (uint8_t)v;
    out[1] = (uint8_t)(v >> 8);
    out[2] = (uint8_t)(v >> 16);
    out[3] = (uint8_t)(v >> 24);
}

static inline uint32_t keys_get_le32(const uint8_t in[4])
{
    return (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
}

static inline void keys_put_le64(uint8_t out[8], uint64_t v)
{
    keys_put_le32(out, (uint32_t)v);
    keys_put_le32(out + 4, (uint32_t)(v >> 32));
}

static inline uint64_t keys_get_le64(const uint8_t in[8])
{
    return (uint64_t)keys_get_le32(in) | (uint64_t)keys_get_le32(in + 4) << 32;
}

/* A double as its 64 bits, little-endian (the aggregates' sums). */
static inline void keys_put_lef64(uint8_t out[8], double d)
{
    uint64_t x;

    memcpy(&x, &d, sizeof(x));
    keys_put_le64(out, x);
}

static inline double keys_get_lef64(const uint8_t in[8])
{
    uint64_t x = keys_get_le64(in);
    double d;

    memcpy(&d, &x, sizeof(d));
    return d;
}

/* Encodes a time so that memcmp orders it like the signed value: big-endian
 * with the sign bit flipped. keys_time_decode() is its inverse. */
void keys_time_encode(int64_t t, uint8_t out[KEYS_TIME_LEN]);
int64_t keys_time_decode(const uint8_t in[KEYS_TIME_LEN]);

/*
 * Writes the index key of (id, started_at, uuid) into out (outlen bytes;
 * KEYS_INDEX_MAX is always enough) and its length into *len. id is id_len
 * bytes (need not be NUL-terminated). Returns 0, -EINVAL if id_len is 0 or
 * above KEYS_ID_MAX, or -ENOBUFS if out is too small.
 */
int keys_index_encode(uint8_t *out, size_t outlen, const char *id, size_t id_len,
                      int64_t started_at, const uint8_t uuid[KEYS_UUID_LEN], size_t *len);

/*
 * Splits an index key. On success returns 0 and sets *id (borrowed: points
 * into key, valid as long as key is, not NUL-terminated), *id_len,
 * *started_at and *uuid (borrowed: points into key). Returns -EINVAL if key
 * is not exactly one well-formed index key. Any output pointer may be NULL.
 */
int keys_index_decode(const uint8_t *key, size_t len, const char **id, size_t *id_len,
                      int64_t *started_at, const uint8_t **uuid);

/*
 * Writes the prefix shared by every index key of id (length byte and id)
 * into out and its length into *len. Returns 0, -EINVAL or -ENOBUFS as
 * keys_index_encode().
 */
int keys_index_prefix(uint8_t *out, size_t outlen, const char *id, size_t id_len, size_t *len);

/*
 * Writes the prefix of id followed by the encoded time t: the smallest
 * possible key of id whose started_at is >= t, for MDB_SET_RANGE. Every
 * index key of id with started_at >= t compares greater, every one with
 * started_at < t smaller. Returns 0, -EINVAL or -ENOBUFS as
 * keys_index_encode().
 */
int keys_index_bound(uint8_t *out, size_t outlen, const char *id, size_t id_len, int64_t t,
                     size_t *len);

/*
 * A bounded key builder for the organisation's databases. Each part is
 * appended in an order-preserving form: ids as length byte + bytes, days and
 * times sign-flipped big-endian, counters big-endian. An append that would
 * not fit (or an id outside 1..KEYS_ID_MAX bytes) sets err to -EINVAL or
 * -ENOBUFS and leaves len unchanged; later appends are then no-ops, so a
 * caller checks err once after building.
 */
#define KEYS_BUF_MAX 200

struct keys_buf {
    uint8_t b[KEYS_BUF_MAX];
    size_t len;
    int err;
};

void keys_buf_reset(struct keys_buf *k);
void keys_buf_id(struct keys_buf *k, const char *id);
void keys_buf_day(struct keys_buf *k, int32_t day);
void keys_buf_time(struct keys_buf *k, int64_t t);
void keys_buf_u32(struct keys_buf *k, uint32_t v);
void keys_buf_raw(struct keys_buf *k, const void *p, size_t n);

/* Encodes / decodes a day number (days since 1970-01-01) so that memcmp
 * orders it like the signed value. */
void keys_day_encode(int32_t day, uint8_t out[4]);
int32_t keys_day_decode(const uint8_t in[4]);

/* Compares two keys the way LMDB's default comparison does: memcmp over the
 * common length, then the shorter first. Returns <0, 0 or >0. */
int keys_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

#endif
