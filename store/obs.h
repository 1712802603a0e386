/*
 * obs: the observation records, read. Every stored version of an
 * observation is one StoredObservation in the obs_seq database (in the
 * stored form of obs_codec.h, which every function here decodes), keyed by
 * the writer's sequence number (be64), so the writer appends records in key
 * order; obs_ids maps a version's id to its sequence number for the reads
 * by id; obs_versions chains the versions of one observation
 * (root id + version -> id); obs_by_coach, obs_by_observer and
 * obs_by_coachee index the latest version of each observation by person
 * and session time. What the writer does with a submission (the checks,
 * the record, its indexes, audit, aggregates and calibration) is
 * obs_apply.c's, the store's hook (store.h).
 *
 * Every function here only reads: in a transaction of the caller's (the
 * _txn functions, any thread, read or write) or in a read-only transaction
 * of its own under the store's reader gate (store_get(), store_list(); any
 * thread, never blocking the writer). Records handed out are decoded
 * copies: the caller owns them and they outlive the transaction. Errors are
 * negative errnos: -ENOENT (no such record), -EINVAL (bad arguments), -EIO
 * (a record or index key that does not decode), -ENOMEM, and -EAGAIN when
 * every reader slot is in use.
 */
#ifndef COACHQ_OBS_H
#define COACHQ_OBS_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "store.h"

#define STORE_MAX_PAGE 500
#define STORE_DEFAULT_PAGE 100

/*
 * Reads one record. Thread-safe (any thread). On success returns 0 and sets
 * *out (caller owns, free with coachq__v1__stored_observation__free_unpacked(
 * *out, NULL)); -ENOENT if there is none; -EIO or -ENOMEM; -EAGAIN when
 * every reader slot (max_readers) is in use.
 */
int store_get(struct store *s, const uint8_t uuid[16], Coachq__V1__StoredObservation **out);

/* Reads one record inside a transaction of the caller's; as store_get(). */
int store_get_txn(struct store_txn *t, const uint8_t id[16], Coachq__V1__StoredObservation **out);

/*
 * Every version of the observation that id belongs to (the original and its
 * amendments), oldest first, each with version, root_id and superseded set.
 * In a transaction of the caller's (any thread). On success returns 0 and
 * sets *out / *n (caller owns: free each with
 * coachq__v1__stored_observation__free_unpacked() and the array with
 * free()); -ENOENT if id is unknown.
 */
int store_history_txn(struct store_txn *t, const uint8_t id[16],
                      Coachq__V1__StoredObservation ***out, size_t *n);

enum store_index {
    STORE_BY_COACH = 1,
    STORE_BY_OBSERVER = 2,
    STORE_BY_COACHEE = 3,
};

/*
 * Decides inside store_list()'s read transaction t (on the calling thread)
 * whether the record rec (borrowed for the call) belongs in the page:
 * nonzero yes, 0 no.
 */
typedef int (*store_list_filter_cb)(struct store_txn *t, Coachq__V1__StoredObservation *rec,
                                    void *arg);

struct store_query {
    enum store_index by;
    const char *person_id; /* borrowed */
    int64_t since;         /* started_at >= since; INT64_MIN = open */
    int64_t until;         /* started_at < until; INT64_MAX = open */
    uint32_t limit;        /* 1..STORE_MAX_PAGE */
    const uint8_t *cursor; /* from a previous page; NULL/0 = first page */
    size_t cursor_len;
    store_list_filter_cb filter; /* NULL: every record */
    void *filter_arg;            /* borrowed; handed to filter */
    /* 0 = no cap; else the page stops before its records, packed as the
     * entries of an ObservationPage, would pass this many bytes (a first
     * record is returned whatever its size). */
    size_t max_bytes;
    uint32_t max_scan; /* 0 = no cap; else records read at most (filtered or not) */
};

struct store_page {
    Coachq__V1__StoredObservation **items; /* caller owns, store_page_free() */
    size_t n;
    uint8_t cursor[128]; /* opaque; empty (cursor_len 0) when no more */
    size_t cursor_len;
    int scan_capped; /* max_scan ended the page before a verdict on what follows */
};

/*
 * Lists records of one person in one index, in session-time order (ties by
 * uuid), one page at a time. Thread-safe. page is overwritten (its previous
 * items are not freed). Returns 0 (page filled, possibly empty), -EINVAL for
 * a malformed query or cursor (limit outside 1..STORE_MAX_PAGE, person_id
 * empty or longer than 64 bytes, a cursor that is not one of this person's
 * keys), -EIO, -ENOMEM or -EAGAIN (no free reader slot). On failure the page
 * is empty.
 *
 * The cursor is the index key of the page's last record returned (at most
 * 89 bytes), never of a record the filter refused; the next page starts
 * after it, so records added meanwhile before it are not returned and none
 * is returned twice. It names the person and the record's time and id, so
 * it leaves the server only sealed (query/cursor.h). cursor_len is 0 when
 * no record that passes the filter follows the page: the scan reads one
 * record past a full page to know. With max_scan reached, scan_capped is
 * set, and the cursor is kept if the page has records.
 */
int store_list(struct store *s, const struct store_query *q, struct store_page *page);

/* Frees a page's items. NULL-safe. */
void store_page_free(struct store_page *page);

/*
 * Called by store_recent_txn() with each record (caller owns: the callback
 * takes ownership, free with coachq__v1__stored_observation__free_unpacked());
 * returns 0 to go on, 1 to stop or a negative code to fail with.
 */
typedef int (*store_recent_cb)(Coachq__V1__StoredObservation *rec, void *arg);

/*
 * The newest records of person in index by whose session started before
 * until (seconds; INT64_MAX = open), newest first, in a transaction of the
 * caller's (any thread): the dashboards' "recent observations". Reads at
 * most max_keys (1..STORE_MAX_PAGE) index keys, so the cost is bounded
 * whatever the person's history; an index key without its record is
 * skipped. cb gets each record: the latest version of its observation, the
 * only one the indexes name, so superseded is false and version at least
 * 1. Returns 0, -EINVAL (bad arguments), -EIO or cb's negative code.
 */
int store_recent_txn(struct store_txn *t, enum store_index by, const char *person, int64_t until,
                     uint32_t max_keys, store_recent_cb cb, void *arg);

/*
 * Called by store_after_txn() with each stored version in sequence order
 * (rec borrowed for the call; version and superseded worked out as
 * store_get_txn() does). Returns 0 to go on, 1 to stop after this record,
 * or a negative code to fail with.
 */
typedef int (*store_after_cb)(const Coachq__V1__StoredObservation *rec, void *arg);

/*
 * Visits the stored versions with a sequence number above after, in order,
 * at most max (1..) of them, in a transaction of the caller's (any
 * thread): the change feed's and the export's pages. *last (may be NULL)
 * gets the sequence number of the last version visited (after when none).
 * Returns 0, cb's negative code, -EIO (a record that does not decode) or
 * another negative errno.
 */
int store_after_txn(struct store_txn *t, uint64_t after, size_t max, store_after_cb cb, void *arg,
                    uint64_t *last);

/* The newest sequence number stored (0 when none), in a transaction of
 * the caller's. Returns 0 or a negative errno. */
int store_head_seq_txn(struct store_txn *t, uint64_t *seq);

/* ---- For the store's own modules (store/) ---------------------------- */

/*
 * The sequence number of the stored version id, in a transaction of the
 * caller's (any thread). Returns 0, -ENOENT or -EIO (an index value that
 * does not decode).
 */
int obs_seq_txn(struct store_txn *t, const uint8_t id[16], uint64_t *seq);

/*
 * The packed StoredObservation of the stored version id, in its stored
 * form (ratings by behaviour place: decode it with obs_codec_decode(),
 * obs_codec.h), and its sequence number (seq may be NULL), in a
 * transaction of the caller's: *val is borrowed until the transaction ends
 * or its next write. Returns 0,
 * -ENOENT, or -EIO when the id index names a record that is not there.
 */
int obs_raw_txn(struct store_txn *t, const uint8_t id[16], uint64_t *seq, const uint8_t **val,
                size_t *len);

/*
 * The record as stored, without what store_get_txn() works out when it
 * reads (superseded, version 1 for a schema 1 record): the writer's and
 * the aggregates' reads by id. *out: caller owns, free
 * with coachq__v1__stored_observation__free_unpacked(). Returns 0,
 * -ENOENT, -EIO.
 */
int obs_read_txn(struct store_txn *t, const uint8_t id[16], Coachq__V1__StoredObservation **out);

/* obs_read_txn() decoding with allocator a (free *out with the same). */
int obs_read_txn_alloc(struct store_txn *t, const uint8_t id[16], ProtobufCAllocator *a,
                       Coachq__V1__StoredObservation **out);

/* As obs_read_txn(), the record with sequence number seq. */
int obs_read_seq_txn(struct store_txn *t, uint64_t seq, Coachq__V1__StoredObservation **out);

/*
 * Called by obs_scan_txn() for each stored version: key is its sequence
 * number (8 bytes, big-endian), val its packed StoredObservation in the
 * stored form (decode it with obs_codec_decode(), obs_codec.h), both
 * borrowed for the call only. Returns 0 to go on, 1 to stop, or a negative
 * code to stop with.
 */
typedef int (*obs_scan_cb)(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                           void *arg);

/* Visits every stored version in sequence order, in a transaction of the
 * caller's. Returns 0, cb's negative code, or a negative errno. */
int obs_scan_txn(struct store_txn *t, obs_scan_cb cb, void *arg);

/* What an audit entry that references a stored version shows (audit.h):
 * the text the writer used to copy into the entry. */
struct obs_audit_text {
    char actor[72];   /* the observer */
    char action[16];  /* submit, amend or calibrate */
    char subject[40]; /* the version's id */
    char detail[400]; /* seq, version, rubric, coach and coachee */
};

/*
 * Fills out from the stored version with sequence number seq, in a
 * transaction of the caller's. Returns 0, -ENOENT, -EIO or -ENOMEM.
 */
int obs_audit_text_txn(struct store_txn *t, uint64_t seq, struct obs_audit_text *out);

#endif
