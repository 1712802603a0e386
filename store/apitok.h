/*
 * apitok: API tokens for the dashboard port's JSON and CSV API and the
 * change feed (`coachqd token create|list|revoke`; web/ accepts them as
 * "Authorization: Bearer cqt_..." through query/auth.h).
 *
 * A token is "cqt_" followed by 32 random bytes in unpadded base64url (47
 * characters), shown once when it is made. The api_tokens database keys
 * an ApiToken record by SHA-256 of the whole token text; the record holds
 * that hash again, compared in constant time after the look-up, so the
 * token itself is never stored. A record carries its owner, its name, when
 * it was made, when it expires, when it was revoked and when it was last
 * used (updated at most once per APITOK_TOUCH_MS, so that reads do not
 * become writes). Revoked tokens stay listed.
 *
 * The database is created when the store opens (store.c): stores made by
 * an older coachqd gain it without a schema change.
 *
 * Threads: any; the *_txn functions run in a transaction of the caller's
 * (writers need a write transaction: -EROFS in a read one). Strings are
 * borrowed for the call; records handed out are copies the caller owns.
 * Errors are negative errnos or a store code to pass on.
 */
#ifndef COACHQ_APITOK_H
#define COACHQ_APITOK_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"

struct store_txn;

#define APITOK_PREFIX "cqt_"
/* The whole token: the prefix and 43 base64url characters. */
#define APITOK_LEN 47
/* A public id: "t-" and 16 hex digits. */
#define APITOK_ID_LEN 18
/* The last use is written at most this often per token. */
#define APITOK_TOUCH_MS (60 * 1000)

/* Whether s has a token's shape (prefix, length, alphabet): 1 or 0. Says
 * nothing of whether it exists. */
int apitok_well_formed(const char *s);

/*
 * Makes a token for user named name (1..200 characters of one line),
 * created at now_ms by actor, expiring at expires_ms (0: never), in a
 * write transaction. The user must exist and hold a role. Writes the
 * token text into token (the only copy: print it once and wipe it) and the
 * public id into id. Returns 0, -ENOENT (no such person), -EINVAL (a rep,
 * a bad name or an expiry not after now), -EIO (no randomness) or a store
 * code.
 */
int apitok_create_txn(struct store_txn *t, const char *user, const char *name, int64_t now_ms,
                      int64_t expires_ms, const char *actor, char token[APITOK_LEN + 1],
                      char id[APITOK_ID_LEN + 1]);

/*
 * Finds the record of token text tok (any transaction). *out: caller owns,
 * free with coachq__v1__api_token__free_unpacked(*out, NULL). Returns 0,
 * -ENOENT (malformed, unknown, or a hash that does not match), -EIO or a
 * store code. Does not judge expiry or revocation: auth.h does.
 */
int apitok_find_txn(struct store_txn *t, const char *tok, Coachq__V1__ApiToken **out);

/* Called by apitok_list_txn() with each record (borrowed for the call);
 * returns 0 to go on, 1 to stop or a negative code to fail with. */
typedef int (*apitok_list_cb)(const Coachq__V1__ApiToken *tok, void *arg);

/* Every token (of user, or of everybody when user is NULL), in no
 * particular order (any transaction). Returns 0, cb's code or a store code. */
int apitok_list_txn(struct store_txn *t, const char *user, apitok_list_cb cb, void *arg);

/*
 * Revokes the token with public id at now_ms (write transaction); *out
 * (may be NULL) gets a copy of the record (caller owns, as above). Returns
 * 0, -ENOENT (no such id), -EALREADY (revoked before) or a store code.
 */
int apitok_revoke_txn(struct store_txn *t, const char *id, int64_t now_ms,
                      Coachq__V1__ApiToken **out);

/* Sets the last use of token text tok to now_ms if it is older than
 * APITOK_TOUCH_MS (write transaction). Returns 0 (also when nothing was
 * due, or the token is gone), or a store code. */
int apitok_touch_txn(struct store_txn *t, const char *tok, int64_t now_ms);

#endif
