/*
 * b64: unpadded base64 in the standard and the URL-safe alphabets (b64.h).
 */
#include "b64.h"

#include <errno.h>
#include <string.h>

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char *alphabet_of(enum b64_alphabet a)
{
    return a == B64_URL ? b64_url : b64_std;
}

size_t b64_encode(enum b64_alphabet a, const uint8_t *in, size_t n, char *out)
{
    const char *alphabet = alphabet_of(a);
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

int b64_decode(enum b64_alphabet a, const char *s, size_t len, uint8_t *out, size_t outlen)
{
    const char *alphabet = alphabet_of(a);
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    if (len % 4 == 1) {
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        /* strchr() would find the alphabet's own NUL: refuse it first. */
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
