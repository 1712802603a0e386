/*
 * obs: the observation records, read. Every stored version of an
 * observation is one StoredObservation in the obs database, numbered by the
 * writer's sequence; obs_versions chains the versions of one observation
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
 * skipped. cb gets each record. Returns 0, -EINVAL (bad arguments), -EIO or
 * cb's negative code.
 */
int store_recent_txn(struct store_txn *t, enum store_index by, const char *person, int64_t until,
                     uint32_t max_keys, store_recent_cb cb, void *arg);

#endif
