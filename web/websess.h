/*
 * websess: browser sign-in for the dashboard port.
 *
 * Passwords: set by an administrator (`coachqd user password USER`), kept
 * in the credentials database as "scrypt$N$r$p$salt$hash" (base64), with
 * OpenSSL's scrypt (memory-hard; N = 2^15, r = 8, p = 1: 32 MiB, tens of
 * milliseconds). Verification compares in constant time.
 *
 * One-time links: `coachqd user link USER` stores SHA-256 of a random
 * 32-byte token with the user and an expiry (15 minutes) and prints
 * https://HOST:PORT/signin/link?token=...; opening it shows a page whose
 * button (a POST) uses the token up: the first such use deletes it.
 *
 * Sessions live in memory on the loop thread: a random 32-byte id (the
 * cookie, base64url), the user, a CSRF token, the device it was started
 * on, created/expires; a restart signs everybody out.
 *
 * Devices: browsers do not keep cookies apart by port, so a page served by
 * another port of the same host can set (and read) this port's cookies,
 * __Host- prefix or not. The sign-in page therefore gives the browser a
 * device cookie, a random id with an HMAC under a key made at start (a
 * client cannot choose one), and its form a pre-session token that is an
 * HMAC of that device id and an expiry (nothing client-chosen is
 * trusted). A session records the device it was signed in on, and a
 * session cookie presented with another device's cookie (planted into a
 * browser that signed in on its own) is no session. At most WEBSESS_MAX_PER_USER sessions per user
 * (starting one more ends that user's oldest) and WEBSESS_MAX in all (the
 * oldest goes first).
 */
#ifndef COACHQ_WEBSESS_H
#define COACHQ_WEBSESS_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

struct store;
struct store_txn;

#define WEBSESS_MAX 10000
#define WEBSESS_MAX_PER_USER 16
/* __Host-: the browser keeps it only if Secure, Path=/ and without Domain,
 * so no other service on this host (another port) can plant it. */
#define WEBSESS_COOKIE "__Host-coachq_session"
#define WEBSESS_TOKEN_LEN 43 /* base64url of 32 bytes, unpadded */
#define WEBSESS_LINK_TTL_S (15 * 60)
#define WEBSESS_MIN_PASSWORD 10
/* The device cookie: SameSite=Lax (a link from a mail must not make the
 * server think the browser is a new device), and it grants nothing alone. */
#define WEBSESS_DEVICE_COOKIE "__Host-coachq_device"
#define WEBSESS_DEVICE_ID_LEN 22 /* base64url of 16 bytes */
#define WEBSESS_DEVICE_LEN (WEBSESS_DEVICE_ID_LEN + 1 + WEBSESS_TOKEN_LEN) /* ID "." MAC */
#define WEBSESS_DEVICE_TTL_S (30 * 86400)
#define WEBSESS_PRESESSION_TTL_S 3600
#define WEBSESS_KEY_LEN 32

/* ---- Passwords and links (store side; any thread) ------------------- */

/* Hashes password into out (size >= 160). Returns 0 or a negative code. */
int websess_hash_password(const char *password, char *out, size_t outlen);
/* 0 when password matches hash, -EACCES when not, -EINVAL for a malformed
 * hash. Slow on purpose. */
int websess_check_password(const char *password, const char *hash);

/* Sets user's password hash (write transaction; the user must exist and
 * hold a role). Returns 0, -ENOENT, -EINVAL or a store code. */
int websess_set_password_txn(struct store_txn *t, const char *user, const char *hash);
/* Reads user's hash into out (size >= 160). Returns 0 or -ENOENT. */
int websess_get_password_txn(struct store_txn *t, const char *user, char *out, size_t outlen);

/* Makes a one-time link token for user valid until now_s + ttl_s (write
 * transaction); token gets WEBSESS_TOKEN_LEN + 1 bytes. */
int websess_link_create_txn(struct store_txn *t, const char *user, int64_t now_s, int64_t ttl_s,
                            char token[WEBSESS_TOKEN_LEN + 1]);
/* Consumes a link token (write transaction): on success returns 0 and
 * copies its user into user (65 bytes); -ENOENT for an unknown, used or
 * expired one (an expired one is deleted too). */
int websess_link_consume_txn(struct store_txn *t, const char *token, int64_t now_s, char user[65]);

/* Whether a link token is stored (read transaction; expired or not): 0 or
 * -ENOENT. Lets a guess be answered without a write transaction. */
int websess_link_exists_txn(struct store_txn *t, const char *token);

/* ---- Sessions (loop thread) ----------------------------------------- */

struct websess_table;
struct websess {
    char id[WEBSESS_TOKEN_LEN + 1];
    char csrf[WEBSESS_TOKEN_LEN + 1];
    char device[WEBSESS_DEVICE_ID_LEN + 1]; /* "" when started on no device */
    struct auth_user user;
    int64_t created_s;
    int64_t expires_s;
};

struct websess_table *websess_table_new(int64_t ttl_s);
void websess_table_free(struct websess_table *t);
/* Creates a session for u; returns it (borrowed until it ends) or NULL. */
const struct websess *websess_start(struct websess_table *t, const struct auth_user *u,
                                    int64_t now_s);
/* The same, bound to device_id (WEBSESS_DEVICE_ID_LEN characters, from
 * websess_device_check(); NULL: none). */
const struct websess *websess_start_on(struct websess_table *t, const struct auth_user *u,
                                       const char *device_id, int64_t now_s);
/* The live session with cookie value id, or NULL (expired ones end here). */
const struct websess *websess_find(struct websess_table *t, const char *id, int64_t now_s);
void websess_end(struct websess_table *t, const char *id);
/* Ends every session of user (disabled users). */
void websess_end_user(struct websess_table *t, const char *user);
size_t websess_count(const struct websess_table *t);

/* A new device cookie value ("ID.MAC", WEBSESS_DEVICE_LEN characters)
 * under t's key. Returns 0 or -EIO. */
int websess_device_new(const struct websess_table *t, char out[WEBSESS_DEVICE_LEN + 1]);
/* Checks a device cookie value's MAC under t's key; on success copies its
 * id into id and returns 0, else -EACCES (malformed, forged, or from
 * before a restart). */
int websess_device_check(const struct websess_table *t, const char *cookie,
                         char id[WEBSESS_DEVICE_ID_LEN + 1]);
/* A pre-session CSRF token (WEBSESS_TOKEN_LEN characters) for the sign-in
 * forms shown to device_id, valid WEBSESS_PRESESSION_TTL_S from now_s: an
 * expiry and an HMAC of it with the device id. Returns 0 or -EINVAL. */
int websess_presession_token(const struct websess_table *t, const char *device_id, int64_t now_s,
                             char out[WEBSESS_TOKEN_LEN + 1]);
/* 0 when token was made by websess_presession_token() under t's key for
 * device_id and has not expired at now_s, else -EACCES. */
int websess_presession_check(const struct websess_table *t, const char *device_id,
                             const char *token, int64_t now_s);

/* A random token (base64url, WEBSESS_TOKEN_LEN chars). Returns 0 or -EIO. */
int websess_random_token(char out[WEBSESS_TOKEN_LEN + 1]);

/* Constant-time comparison of two NUL-terminated strings. */
int websess_token_equal(const char *a, const char *b);

#endif
