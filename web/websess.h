/*
 * websess: browser sessions for the dashboard port. The credentials a
 * sign-in checks (password hashes, one-time links) are the store's:
 * store/creds.h.
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
 * browser that signed in on its own) is no session. At most
 * WEBSESS_MAX_PER_USER sessions per user (starting one more ends that
 * user's oldest) and WEBSESS_MAX in all (the oldest goes first).
 *
 * A table and everything in it belong to the loop thread; a struct websess
 * handed out is borrowed from the table until that session ends (expiry,
 * websess_end*(), eviction by a later websess_start*()) or the table is
 * freed. Strings passed in are borrowed for the call. Errors are negative
 * errno codes.
 */
#ifndef COACHQ_WEBSESS_H
#define COACHQ_WEBSESS_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "creds.h"

#define WEBSESS_MAX 10000
#define WEBSESS_MAX_PER_USER 16
/* __Host-: the browser keeps it only if Secure, Path=/ and without Domain,
 * so no other service on this host (another port) can plant it. */
#define WEBSESS_COOKIE "__Host-coachq_session"
/* Session ids and CSRF tokens are creds_random_token()s. */
#define WEBSESS_TOKEN_LEN CREDS_TOKEN_LEN
/* The device cookie: SameSite=Lax (a link from a mail must not make the
 * server think the browser is a new device), and it grants nothing alone. */
#define WEBSESS_DEVICE_COOKIE "__Host-coachq_device"
#define WEBSESS_DEVICE_ID_LEN 22 /* base64url of 16 bytes */
#define WEBSESS_DEVICE_LEN (WEBSESS_DEVICE_ID_LEN + 1 + WEBSESS_TOKEN_LEN) /* ID "." MAC */
#define WEBSESS_DEVICE_TTL_S (30 * 86400)
#define WEBSESS_PRESESSION_TTL_S 3600
#define WEBSESS_KEY_LEN 32

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

/* A new, empty table whose sessions last ttl_s seconds (> 0), with a fresh
 * random key. Returns it (caller owns, free with websess_table_free()) or
 * NULL (ttl_s <= 0, no memory or no randomness). */
struct websess_table *websess_table_new(int64_t ttl_s);
/* Ends every session, wipes the key and frees t. NULL is a no-op. */
void websess_table_free(struct websess_table *t);
/* Creates a session for u (copied) at now_s; returns it (borrowed until it
 * ends) or NULL (a user without id, no memory or no randomness). */
const struct websess *websess_start(struct websess_table *t, const struct auth_user *u,
                                    int64_t now_s);
/* The same, bound to device_id (WEBSESS_DEVICE_ID_LEN characters, from
 * websess_device_check(); NULL: none). */
const struct websess *websess_start_on(struct websess_table *t, const struct auth_user *u,
                                       const char *device_id, int64_t now_s);
/* The live session with cookie value id, or NULL (expired ones end here). */
const struct websess *websess_find(struct websess_table *t, const char *id, int64_t now_s);
/* Ends the session with cookie value id, if there is one. */
void websess_end(struct websess_table *t, const char *id);
/* Ends every session of user (disabled users). */
void websess_end_user(struct websess_table *t, const char *user);
/* How many sessions t holds (expired ones not yet ended included). */
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

/* Constant-time comparison of two NUL-terminated strings (any thread):
 * 1 when they are equal and not empty, else 0 (NULL included). */
int websess_token_equal(const char *a, const char *b);

#endif
