#include "uuid.h"

#include <errno.h>
#include <time.h>

#include <openssl/rand.h>

void uuid_v7_stamp(int64_t unix_ms, uint8_t out[UUID_LEN])
{
    uint64_t ms = unix_ms > 0 ? (uint64_t)unix_ms : 0;

    /* RFC 9562, version 7: unix_ts_ms in bytes 0..5, big-endian; version
     * 7 in the high nibble of byte 6; variant 10xx in the top bits of
     * byte 8; the rest random. */
    for (int i = 0; i < 6; i++) {
        out[i] = (uint8_t)(ms >> (40 - 8 * i));
    }
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x70);
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

int uuid_generate_at(int64_t unix_ms, uint8_t out[UUID_LEN])
{
    if (RAND_bytes(out + 6, UUID_LEN - 6) != 1) {
        return -EIO;
    }
    uuid_v7_stamp(unix_ms, out);
    return 0;
}

int uuid_generate(uint8_t out[UUID_LEN])
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return -EIO;
    }
    return uuid_generate_at((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, out);
}

const char *uuid_format(const uint8_t id[UUID_LEN], char out[UUID_STR_LEN])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[id[i] >> 4];
        out[o++] = hex[id[i] & 0x0f];
    }
    out[o] = '\0';
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int uuid_parse(const char *s, uint8_t out[UUID_LEN])
{
    uint8_t id[UUID_LEN];
    size_t pos = 0;

    if (s == NULL) {
        return -EINVAL;
    }
    for (size_t i = 0; i < UUID_LEN; i++) {
        int hi;
        int lo;

        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (s[pos] != '-') {
                return -EINVAL;
            }
            pos++;
        }
        hi = hexval(s[pos]);
        if (hi < 0) {
            return -EINVAL;
        }
        lo = hexval(s[pos + 1]);
        if (lo < 0) {
            return -EINVAL;
        }
        id[i] = (uint8_t)(hi << 4 | lo);
        pos += 2;
    }
    if (s[pos] != '\0') {
        return -EINVAL;
    }
    /* Only write out on success, so a failed parse leaves it untouched. */
    for (size_t i = 0; i < UUID_LEN; i++) {
        out[i] = id[i];
    }
    return 0;
}
