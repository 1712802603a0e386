/*
 * creds: raw access to the two sign-in databases for websess.c (server/),
 * which cannot see the store's internals: dashboard password hashes by user
 * id, and one-time sign-in links by SHA-256 of their token.
 *
 * Values are opaque bytes to the store; websess.h gives them meaning.
 */
#ifndef COACHQ_CREDS_H
#define COACHQ_CREDS_H

#include <stddef.h>
#include <stdint.h>

struct store_txn;

#define CREDS_LINK_KEY_LEN 32

/* Puts user's password hash (text, hlen bytes; write transaction).
 * Returns 0, -EINVAL, -EROFS or a store code to pass on. */
int creds_put_txn(struct store_txn *t, const char *user, const char *hash, size_t hlen);
/* Copies user's hash into out (size outlen, NUL-terminated). Returns its
 * length, -ENOENT, -ENOBUFS, or a negative errno. */
int creds_get_txn(struct store_txn *t, const char *user, char *out, size_t outlen);

/* Puts a link's value (vlen bytes) under its 32-byte key (write
 * transaction). As creds_put_txn(). */
int creds_link_put_txn(struct store_txn *t, const uint8_t key[CREDS_LINK_KEY_LEN], const void *val,
                       size_t vlen);
/* Copies a link's value into out (size outlen) and deletes it (write
 * transaction). Returns the value's length, -ENOENT, -ENOBUFS, -EROFS or
 * a store code to pass on. */
int creds_link_take_txn(struct store_txn *t, const uint8_t key[CREDS_LINK_KEY_LEN], void *out,
                        size_t outlen);
/* Whether a link is stored under key (any transaction): 0, -ENOENT or a
 * negative errno. */
int creds_link_exists_txn(struct store_txn *t, const uint8_t key[CREDS_LINK_KEY_LEN]);

#endif
