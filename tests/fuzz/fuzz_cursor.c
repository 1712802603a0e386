/*
 * fuzz_cursor: the list cursor decoder (cursor_open()), which takes bytes a
 * client sent back as list.cursor. Any input must come back refused
 * (forged or expired) or opened into a position no longer than
 * CURSOR_MAX_POS. The input also serves as a position: sealed and opened
 * again it must come back the same, and sealed for one user or query it
 * must not open for another, nor with any one byte changed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t KEY[CURSOR_KEY_LEN] = {
    0x3c, 0x11, 0x8e, 0x52, 0x07, 0xa9, 0x64, 0xd0, 0x2b, 0xf5, 0x9a, 0x41, 0x7e, 0xc3, 0x18, 0x66,
    0xb4, 0x0d, 0x5f, 0xe2, 0x93, 0x27, 0x7a, 0xcc, 0x01, 0x48, 0xd9, 0x36, 0xaf, 0x6b, 0x80, 0x1e};

#define NOW 1800000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t query[] = {'c', 0, 'f', 'l', 'm', '.', 'g'};
    static const uint8_t other_query[] = {'c', 0, 'f', 'l', 'm', '.', 'h'};
    const struct cursor_bind alice = {"alice", query, sizeof(query)};
    const struct cursor_bind bob = {"bob", query, sizeof(query)};
    const struct cursor_bind alice_other = {"alice", other_query, sizeof(other_query)};
    uint8_t pos[CURSOR_MAX_POS];
    uint8_t sealed[CURSOR_MAX_SEALED];
    size_t pos_len = 0, sealed_len = 0, n;
    int rc;

    /* Whatever a client sends. */
    rc = cursor_open(KEY, &alice, NOW, data, size, pos, sizeof(pos), &pos_len);
    if (rc != 0 && rc != CURSOR_E_FORGED && rc != CURSOR_E_EXPIRED) {
        abort();
    }
    if (rc == 0 && pos_len > CURSOR_MAX_POS) {
        abort();
    }

    /* The input as a position: sealed, it opens for its binding only. */
    n = size < CURSOR_MAX_POS ? size : CURSOR_MAX_POS;
    if (cursor_seal(KEY, &alice, NOW + 60, data, n, sealed, sizeof(sealed), &sealed_len) != 0) {
        abort();
    }
    if (cursor_open(KEY, &alice, NOW, sealed, sealed_len, pos, sizeof(pos), &pos_len) != 0 ||
        pos_len != n || (n > 0 && memcmp(pos, data, n) != 0)) {
        abort();
    }
    if (cursor_open(KEY, &bob, NOW, sealed, sealed_len, pos, sizeof(pos), &pos_len) !=
            CURSOR_E_FORGED ||
        cursor_open(KEY, &alice_other, NOW, sealed, sealed_len, pos, sizeof(pos), &pos_len) !=
            CURSOR_E_FORGED ||
        cursor_open(KEY, &alice, NOW + 61, sealed, sealed_len, pos, sizeof(pos), &pos_len) !=
            CURSOR_E_EXPIRED) {
        abort();
    }
    if (size > 0) {
        size_t at = data[0] % sealed_len;

        sealed[at] ^= (uint8_t)(data[size - 1] | 1);
        if (cursor_open(KEY, &alice, NOW, sealed, sealed_len, pos, sizeof(pos), &pos_len) !=
            CURSOR_E_FORGED) {
            abort();
        }
    }
    return 0;
}
