/*
 * cursor: the list cursors the protocol port hands out, sealed so that a
 * client can only give them back, never read, forge or share them.
 *
 * A cursor names where the next page of a list starts: the store's index
 * key of the last record the caller was given. That key holds a person's
 * id, a session time and a record id, so it is encrypted and authenticated
 * with AES-256-GCM under a key only the server has. The associated data binds
 * the cursor to the user who asked and to the query (index, person, since,
 * until), and the sealed text carries an expiry, so a cursor opens only for
 * the same user asking the same list before it expires.
 *
 * Sealed layout: version (1 byte, 1) | nonce (12 random bytes) |
 * ciphertext of (expiry: 8-byte big-endian seconds | position) | GCM tag
 * (16 bytes). A position of at most CURSOR_MAX_POS bytes seals into at most
 * CURSOR_MAX_SEALED bytes.
 *
 * The key (CURSOR_KEY_LEN random bytes) lives in the data directory's
 * cursor.key file, mode 0600, made at the server's first start
 * (cursor_key_load()). Deleting it invalidates every cursor given out.
 */
#ifndef COACHQ_CURSOR_H
#define COACHQ_CURSOR_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define CURSOR_KEY_LEN 32
#define CURSOR_MAX_POS 96
#define CURSOR_OVERHEAD (1 + 12 + 8 + 16)
#define CURSOR_MAX_SEALED (CURSOR_OVERHEAD + CURSOR_MAX_POS)

/* Why cursor_open() refused a cursor. Both are INVALID_ARGUMENT for the
 * client; the second may be said, since only a genuine cursor gets there. */
#define CURSOR_E_FORGED (-EBADMSG)
#define CURSOR_E_EXPIRED (-ETIMEDOUT)

/* What a cursor is bound to. Both pointers are borrowed for the call. */
struct cursor_bind {
    const char *user;     /* the authenticated user id */
    const uint8_t *query; /* the query's canonical bytes */
    size_t query_len;
};

/*
 * Reads the key from dir/cursor.key, or makes it (random bytes, mode 0600,
 * written and fsynced before use) when the file does not exist. A file
 * with group or other permissions is set to 0600. dir is borrowed. Returns
 * 0, -EINVAL for a file of the wrong size, or a negative errno from the
 * file calls; -EIO when no random bytes could be had.
 */
int cursor_key_load(const char *dir, uint8_t key[CURSOR_KEY_LEN]);

/*
 * Seals pos (pos_len bytes, at most CURSOR_MAX_POS) for b, valid until
 * expires_s (seconds since the epoch), into out (cap bytes, at least
 * CURSOR_OVERHEAD + pos_len) and sets *out_len. key, b, pos are borrowed
 * for the call. Thread-safe. Returns 0, -EINVAL (too long, no room) or -EIO
 * (OpenSSL failed).
 */
int cursor_seal(const uint8_t key[CURSOR_KEY_LEN], const struct cursor_bind *b, int64_t expires_s,
                const uint8_t *pos, size_t pos_len, uint8_t *out, size_t cap, size_t *out_len);

/*
 * Decodes a cursor a client sent back: checks its tag for b (the same user
 * and query it was sealed for), then its expiry against now_s. On success
 * writes the position into pos (cap bytes) and sets *pos_len. sealed
 * (sealed_len bytes, any content) and the rest are borrowed for the call.
 * Thread-safe. Returns 0; CURSOR_E_FORGED for anything not sealed by this
 * key for b (malformed, tampered, another user's, another query's); or
 * CURSOR_E_EXPIRED.
 */
int cursor_open(const uint8_t key[CURSOR_KEY_LEN], const struct cursor_bind *b, int64_t now_s,
                const uint8_t *sealed, size_t sealed_len, uint8_t *pos, size_t cap,
                size_t *pos_len);

#endif
