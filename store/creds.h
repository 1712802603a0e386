/*
 * creds: the dashboard sign-in credentials kept in the store: password
 * hashes by user id, and one-time sign-in links. Both `coachqd user ...`
 * (admin/) and the dashboard port (web/) use them; the in-memory sessions
 * that a sign-in starts are web/websess.h's.
 *
 * Passwords: set by an administrator (`coachqd user password USER`), kept
 * in the credentials database as "scrypt$N$r$p$salt$hash" (unpadded
 * standard base64), with OpenSSL's scrypt (memory-hard; N = 2^15, r = 8,
 * p = 1: 32 MiB, tens of milliseconds). Verification compares in constant
 * time, and refuses a stored hash that asks for more than a bounded cost.
 *
 * One-time links: `coachqd user link USER` stores SHA-256 of a random
 * 32-byte token with the user and an expiry (CREDS_LINK_TTL_S by default)
 * and prints https://HOST:PORT/signin/link?token=...; opening it shows a
 * page whose button (a POST) uses the token up: the first such use deletes
 * it. The token itself is never stored.
 *
 * Only people who hold a role have credentials (reps do not sign in).
 *
 * Threads: every function may run on any thread. The *_txn functions work
 * inside a transaction of the caller's (store_exec() or store_view()); the
 * writers need a write transaction and return -EROFS in a read one. All
 * strings are borrowed for the call; results are copied into the caller's
 * buffers before the transaction ends. Errors are negative errno codes, or
 * a store code to pass on (store_strerror()).
 */
#ifndef COACHQ_CREDS_H
#define COACHQ_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"

struct store_txn;

/* A random token: unpadded base64url of 32 bytes. */
#define CREDS_TOKEN_LEN 43
/* How long a link lasts unless the administrator says otherwise. */
#define CREDS_LINK_TTL_S (15 * 60)
/* The shortest password `coachqd user password` accepts, in characters. */
#define CREDS_MIN_PASSWORD 10

/* ---- Passwords ---- */

/* Hashes password with a fresh random salt into out (outlen >= 160).
 * Returns 0, -EINVAL (a NULL argument), -ENOBUFS (out too small) or -EIO
 * (no randomness, or scrypt failed). Slow on purpose. */
int creds_hash_password(const char *password, char *out, size_t outlen);
/* 0 when password matches hash, -EACCES when not, -EINVAL for a malformed
 * hash or one asking for too much memory or time. Slow on purpose. */
int creds_check_password(const char *password, const char *hash);

/* Sets user's password hash (write transaction; the user must exist and
 * hold a role). Returns 0, -ENOENT (no such person, or a malformed id),
 * -EINVAL (a rep, or hash is no scrypt hash) or a store code. */
int creds_set_password_txn(struct store_txn *t, const char *user, const char *hash);
/* Reads user's hash into out (outlen >= 160; any transaction). Returns 0,
 * -ENOENT (none set, or a malformed id), -ENOBUFS or a store code. */
int creds_get_password_txn(struct store_txn *t, const char *user, char *out, size_t outlen);

/* ---- One-time links ---- */

/* Makes a one-time link token for user valid until now_s + ttl_s (write
 * transaction; the user must exist and hold a role) and writes it into
 * token. Returns 0, -EINVAL (ttl_s <= 0, or a rep), -ENOENT, -EIO or a
 * store code; on failure token holds no stored link ("" once one was
 * made and could not be stored). */
int creds_link_create_txn(struct store_txn *t, const char *user, int64_t now_s, int64_t ttl_s,
                          char token[CREDS_TOKEN_LEN + 1]);
/* Consumes a link token (write transaction): on success returns 0 and
 * copies its user into user (65 bytes); -ENOENT for an unknown, used or
 * expired one (an expired one is deleted too; user is then ""), or a
 * store code. */
int creds_link_consume_txn(struct store_txn *t, const char *token, int64_t now_s, char user[65]);
/* Whether a link token is stored (any transaction; expired or not): 0 or
 * -ENOENT. Lets a guess be answered without a write transaction. */
int creds_link_exists_txn(struct store_txn *t, const char *token);

/* ---- Shared with the sessions ---- */

/* Writes a fresh random token (CREDS_TOKEN_LEN base64url characters) into
 * out. Returns 0, or -EIO with out "" when there is no randomness. */
int creds_random_token(char out[CREDS_TOKEN_LEN + 1]);

/* Whether p (borrowed; NULL: no) holds a role, that is whether they may
 * have credentials at all: reps hold none. */
int creds_holds_role(const Coachq__V1__Person *p);

/* 0 when user (any string; NULL: none) is a person who holds a role;
 * -ENOENT (no such person, or not an id), -EINVAL (a rep) or a store code. */
int creds_user_with_role_txn(struct store_txn *t, const char *user);

#endif
