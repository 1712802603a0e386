/*
 * actions_int: what the files of the actions module share and nothing
 * else may see (actions.h is the module's interface): actions.c writes,
 * derives and lists the records, actions_read.c reads their counters and
 * indexes for the dashboards.
 */
#ifndef COACHQ_ACTIONS_INT_H
#define COACHQ_ACTIONS_INT_H

#include "actions.h"
#include "coachq.pb-c.h"
#include "keys.h"
#include "store.h"
#include "validate.h"

/* Longer than any key of actions_by: a week counter's scope may be
 * "<manager>/<coach>", and the index keys have a timestamp and an id. */
#define ACTIONS_KEY_MAX (2 + 2 * VALIDATE_MAX_ID + 1 + 4 + 8 + KEYS_UUID_LEN)
/* The due key of an action without a due day: after every day. */
#define ACTIONS_NO_DUE 0xffffffffu

/* Adds delta (n counts, n <= ACTIONS_NCOUNTS) to the be64 counters under
 * key in actions_by (the counter is deleted at zero; one that would go
 * below zero stays at zero): merged into t's batch when the store's hook
 * set one up (actions_observation()), else written at once. key is
 * borrowed for the call. Returns 0 or a negative code (STORE_TXN_ABORT()
 * codes included). actions_batch.c. */
int actions_counter_add(struct store_txn *t, const uint8_t *key, size_t klen, const int64_t *delta,
                        size_t n);

/* Notes r (as written, or as it was) in the values to remake at the end of
 * t's batch (actions_view_touch()); nothing outside a batch, where the
 * values are derived at the end (a rebuild). Returns 0 or a negative code.
 * actions_batch.c. */
int actions_batch_touch(struct store_txn *t, const Coachq__V1__ActionRecord *r);

/* Writes the key of scope's (len bytes) week counter of the week starting
 * on monday into key: 'w', be32 monday, scope (actions.h). Returns its
 * length. actions.c. */
size_t actions_week_key(uint8_t key[ACTIONS_KEY_MAX], int32_t monday, const uint8_t *scope,
                        size_t len);

/* Bytes a record is stored with beyond its packed size without its history
 * (actions_record.c): room for its first follow-up's event, so that the
 * follow-up rewrites it at the same size, in its place. An event without
 * evidence takes 32 to 36 bytes; one with a few words of evidence does not
 * fit, and that record grows as it did before format 6. */
#define ACTIONS_RECORD_SLACK 40

/* The pad r (packed bytes when packed without one) is stored with: 0, or
 * 3 to ACTIONS_RECORD_SLACK bytes (a pad never exceeds the slack; 130, a
 * one-byte length plus its head, is only what the decoder accepts).
 * actions_record.c. */
size_t actions_record_pad(const Coachq__V1__ActionRecord *r, size_t packed);

/* Writes r under its id in the records' tree with its pad, appended when
 * tail and its id sorts last (store_txn_put_tail()), else put. Returns 0,
 * -EROFS, -ENOMEM or a STORE_TXN_ABORT() code. actions_record.c. */
int actions_record_put(struct store_txn *t, const Coachq__V1__ActionRecord *r, int tail);

/* Decodes a stored record (v, n bytes, borrowed), its pad skipped: 0 with
 * *out (caller owns, free with coachq__v1__action_record__free_unpacked()),
 * or -EIO (logged as store_value_corrupt) for a value that does not
 * decode, a pad that runs past it included, or that is only a pad.
 * actions_record.c. */
int actions_record_unpack(const uint8_t *v, size_t n, Coachq__V1__ActionRecord **out);

/* The step from actions format 5 to 6: every record stored again with its
 * pad, the tree rewritten by appends so that its pages are full. Reads no
 * observation. *n gets the records stored. Returns 0 or a negative code
 * (STORE_TXN_ABORT() codes included). actions_record.c. */
int actions_format_6(struct store_txn *t, uint64_t *n);

/* The record an index entry names by its id (16 bytes): 0 with *out set
 * (the caller frees it), 1 when the index points at no record (logged once
 * per entry as store_index_dangling: coachqd verify finds and --repair
 * mends it), or a negative code. */
int actions_indexed_get(struct store_txn *t, const uint8_t *id, Coachq__V1__ActionRecord **out);

/* As actions_recent_txn(), reading at most keys index keys per part (open,
 * closed): the values' derivation passes no bound (SIZE_MAX), so that a
 * pair's value holds its k newest however many of the coachee's records
 * are another coach's. actions_read.c. */
int actions_recent_walk(struct store_txn *t, const char *coach, const char *coachee, size_t k,
                        size_t keys, actions_cb cb, void *arg);

/* ---- The values laid out for the pages (actions_view.c) ----------------- */

/* The persons whose values a batch changed (opaque). */
struct actions_views;

/* Notes that r (a record as written, or as it was before) changed in the
 * batch *vsp (made here when NULL; caller owns, free with
 * actions_views_free()): its coach's open value when r is open, its pair's
 * recent value. Writes the values out in t when the batch holds many.
 * Returns 0 or a negative code (STORE_TXN_ABORT() codes included). */
int actions_view_touch(struct store_txn *t, struct actions_views **vsp,
                       const Coachq__V1__ActionRecord *r);

/* Remakes the value of every person noted in vs (NULL: none), once per
 * person, and empties vs. Returns 0 or a negative code (STORE_TXN_ABORT()
 * codes included), after which the attempt must end. */
int actions_view_flush(struct store_txn *t, struct actions_views *vs);

/* Frees vs; NULL is a no-op. */
void actions_views_free(struct actions_views *vs);

/* Writes every value from the records and the index (a store without any:
 * after a rebuild, or the upgrade from actions format 4). *n, when not NULL,
 * gets the values written ('O' and 'R' keys; a person whose records give
 * no value, or one that does not fit, adds none). Returns 0 or a negative
 * code. */
int actions_view_derive(struct store_txn *t, uint64_t *n);

/* Visits the first max of coach's open records (open of them in all, by
 * the counters) from coach's value, with cb: *served is 1 when it did, 0
 * when the caller must read the index (more wanted than the value holds,
 * or no value that parses and agrees with open). Returns 0, cb's negative
 * code or a negative errno. */
int actions_view_open(struct store_txn *t, const char *coach, uint64_t open, size_t max,
                      actions_cb cb, void *arg, int *served);

/* As actions_view_open() for actions_recent_txn()'s k newest of the pair. */
int actions_view_recent(struct store_txn *t, const char *coach, const char *coachee, size_t k,
                        actions_cb cb, void *arg, int *served);

#endif
