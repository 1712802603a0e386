/*
 * actions_int: what the files of the actions module share and nothing
 * else may see (actions.h is the module's interface): actions.c writes,
 * derives and lists the records, actions_read.c reads their counters and
 * indexes for the dashboards.
 */
#ifndef COACHQ_ACTIONS_INT_H
#define COACHQ_ACTIONS_INT_H

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

/* Writes the key of scope's (len bytes) week counter of the week starting
 * on monday into key: 'w', be32 monday, scope (actions.h). Returns its
 * length. actions.c. */
size_t actions_week_key(uint8_t key[ACTIONS_KEY_MAX], int32_t monday, const uint8_t *scope,
                        size_t len);

/* The record an index entry names by its id (16 bytes): 0 with *out set
 * (the caller frees it), 1 when the index points at no record (logged once
 * per entry as store_index_dangling: coachqd verify finds and --repair
 * mends it), or a negative code. */
int actions_indexed_get(struct store_txn *t, const uint8_t *id, Coachq__V1__ActionRecord **out);

#endif
