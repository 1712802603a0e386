/*
 * obs_codec: the stored form of an observation record (obs_seq, from
 * schema 12), encoded and decoded here and nowhere else, so that no reader
 * outside it ever sees the stored form.
 *
 * The stored form is a StoredObservation in which each rating names its
 * behaviour by place rather than by id: Rating.behaviour_place is the
 * behaviour's index in the rubric version the record names
 * (observation.rubric_id at rubric_version), plus one, and
 * Rating.behaviour_id is left empty. The ids are the same few strings in
 * every record ("looks-for-evidence", ...), 187 of a record's 426 bytes at
 * 1M (docs/benchmarks.md), and the rubric version already determines them.
 * A rating whose behaviour the rubric version does not name (the rules
 * refuse one, rules.c check_ratings(), but a record stored before a rule
 * existed might hold one) keeps its id and no place, so every record the
 * rules ever accepted comes back as it went in. Decoding gives back the
 * record exactly as it was submitted: the same message, and so the same
 * bytes when packed; records stored before schema 12 (ids, no places)
 * decode as they are.
 *
 * Why place -> id is fixed: a rubric version is never changed once stored
 * (rubrics_put() refuses a different rubric under a stored id and version
 * with -EEXIST: a changed rubric is a new version) and never deleted, so
 * the place a record names means the same behaviour for the record's
 * whole life.
 *
 * The wire never carries behaviour_place: validate_observation() refuses
 * a request that sets it, and the encoder works out every place from the
 * id whatever a rating held, so a place given by a client cannot reach
 * the store either way.
 *
 * A damaged record (a place past the rubric's behaviours, a place and an
 * id both, a place in a record whose rubric version is missing) decodes
 * to -EIO with a store_record_corrupt log line naming its sequence
 * number: never another behaviour, never a crash.
 *
 * The behaviour ids of each rubric version are kept once per store, in
 * struct store's codec cache (any thread, under its own lock), rather
 * than decoded from the rubric for every record. The cache holds only
 * versions read from committed data: a transaction that has put a rubric
 * version (rubrics_put() sets struct store_txn's rubric_put) reads the
 * rubric without keeping it, since it may yet be abandoned.
 */
#ifndef COACHQ_OBS_CODEC_H
#define COACHQ_OBS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "coachq.pb-c.h"

struct store;
struct store_txn;
struct store_tree_copy;
struct obs_codec_cache;

/* A new, empty cache of rubric versions' behaviour ids, or NULL when out of
 * memory. The caller owns it (obs_codec_cache_free()). */
struct obs_codec_cache *obs_codec_cache_new(void);

/* Frees c (NULL is a no-op). No reader may be using it. */
void obs_codec_cache_free(struct obs_codec_cache *c);

/* Drops what s's cache holds for rubric id at version, so that the next
 * record that names it reads the rubric again. rubrics_put() calls it
 * before it stores a new rubric version (the cache keeps nothing a
 * transaction that puts one reads, so this is a second guard). Any
 * thread. */
void obs_codec_forget(struct store *s, const char *id, uint32_t version);

/*
 * Decodes a stored record (val, len bytes, borrowed) read in t into *out,
 * allocated with a (NULL: the default allocator; free with
 * coachq__v1__stored_observation__free_unpacked(*out, a)), each rating's
 * behaviour id given back from its rubric version. seq (the record's key)
 * and op name it in the log line of a damaged record. Any thread, t read
 * or write. Returns 0, -EIO (the record is damaged; logged), -ENOMEM, or
 * an error reading the rubric.
 */
int obs_codec_decode(struct store_txn *t, const uint8_t *val, size_t len, ProtobufCAllocator *a,
                     const char *op, uint64_t seq, Coachq__V1__StoredObservation **out);

/* An observation in its stored form, as obs_codec_observation() makes it:
 * a shallow copy of the caller's observation whose ratings are copies
 * naming their behaviours by place. Its fields are borrowed from the
 * caller's observation; obs_codec_release() frees what it allocated. */
struct obs_codec_obs {
    Coachq__V1__Observation obs;
    Coachq__V1__Rating **ptrs;
    Coachq__V1__Rating *ratings;
};

/*
 * Makes enc->obs the stored form of obs (borrowed; it must outlive enc),
 * reading obs's rubric version in t. A rubric version that is missing or
 * does not decode leaves every rating with its id. Any thread (the writer's in practice).
 * Returns 0 (release enc with obs_codec_release() even on failure),
 * -ENOMEM, or another error of reading the rubric (-EAGAIN, ...).
 */
int obs_codec_observation(struct store_txn *t, const Coachq__V1__Observation *obs,
                          struct obs_codec_obs *enc);

/* Frees what obs_codec_observation() allocated in enc; enc may be zeroed
 * and unused. */
void obs_codec_release(struct obs_codec_obs *enc);

/*
 * Packs rec (borrowed; its ratings naming their behaviours by id, as a
 * reader got it) in the stored form into *out (caller frees with free()),
 * *len bytes. superseded, which is set when read, is packed as rec holds
 * it: callers clear it. Returns 0, -ENOMEM or an error reading the rubric.
 */
int obs_codec_pack(struct store_txn *t, const Coachq__V1__StoredObservation *rec, uint8_t **out,
                   size_t *len);

/*
 * The schema 12 step: every record of obs_seq rewritten in its stored form
 * (records already in it come out as they are) into a scratch tree, the
 * tree emptied and filled again from it by appends so that its pages come
 * out full; memory is bounded (one record at a time), the map needs the old
 * tree's pages plus twice the new one's at the peak. A record that does not
 * decode is copied unchanged with a log line naming its seq, for `coachqd
 * verify` to report. In the upgrade's transaction, so a crash or a full map
 * leaves the store at its old schema, to be upgraded again at the next
 * open. *records gets the number of records visited. Returns 0, -ENOMEM,
 * an error reading a rubric, or STORE_TXN_ABORT() of an LMDB code. Writer
 * thread at open.
 */
int obs_codec_migrate(struct store_txn *t, uint64_t *records);

#endif
