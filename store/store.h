/*
 * store: coachq's LMDB store: schema, the single writer with group commit,
 * and read-only queries.
 *
 * One environment per process (MDB_NOTLS, never MDB_NOSYNC, MDB_NOMETASYNC,
 * MDB_WRITEMAP, MDB_MAPASYNC, MDB_NOLOCK or MDB_DUPSORT), named databases:
 *
 *   obs           uuid(16)                                  -> StoredObservation
 *   obs_by_coach  len(1) person id, started_at(8), uuid(16) -> empty
 *   obs_by_observer, obs_by_coachee: the same shape
 *   meta          name                                       -> value
 *                 "schema_version" -> be32, "next_seq" -> be64
 *
 * Writes: callers queue struct store_write requests from any thread; one
 * writer thread drains what is queued since its last commit, at most
 * STORE_MAX_BATCH requests, into one write transaction (group commit),
 * commits durably, then moves the requests
 * to a completed list and calls the notify callback. A request's result is
 * final only once it is on the completed list: STORED means the commit that
 * holds the record returned success.
 *
 * Failure policy: MDB_MAP_FULL aborts the batch, grows the map (holding the
 * reader gate exclusively, so no read transaction is open) and retries it.
 * Before each batch the writer reserves disk blocks in the data file for
 * what the commit may append (posix_fallocate), because LMDB reports a short
 * page write on a full disk as EIO, which would count as fatal below.
 * ENOSPC answers that batch with -ENOSPC and nothing is stored; later
 * batches try again, so writes resume when space returns. Any other commit
 * failure (EIO, MDB_PANIC, ...) is never retried: the batch and everything
 * after it get ERROR_STORE_FAILED and store_failed() turns true; the owner
 * should exit non-zero.
 *
 * Reads run on any thread (the server uses libuv's pool) in read-only
 * transactions under the shared reader gate; they never block the writer.
 * MDB_* codes never leave this module.
 */
#ifndef COACHQ_STORE_H
#define COACHQ_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "validate.h"

#define STORE_SCHEMA_VERSION 4
#define STORE_MAX_PAGE 500
#define STORE_DEFAULT_PAGE 100

struct store;
struct store_txn;

/*
 * The deployment's rules that the writer applies to every observation. The
 * server fills them from its configuration; store_policy_default() gives
 * the documented defaults.
 */
struct store_policy {
    int enforce;             /* check observations against the organisation
                                (rules.h); 0 only for tests of the bare store */
    int amend_window_days;   /* an observer may amend within this many days */
    double cert_exact;       /* calibration: minimum exact agreement (0..1) */
    double cert_kappa;       /* calibration: minimum weighted kappa */
    unsigned cert_min_pairs; /* calibration: rating pairs needed at least */
    int cert_days;           /* a certification holds this many days */
    unsigned cert_attempts;  /* calibration: attempts at one reference per
                                window (0 = no limit) */
    int cert_window_days;    /* calibration: the window attempts count in */
    int64_t cert_cooldown_s; /* calibration: least time between two attempts
                                at one reference */
    int64_t future_slack_s;  /* how far in the future a session may start */
};

/* Fills p with the defaults: enforce 1, 14 days, exact 0.80, kappa 0.70,
 * 8 pairs, 365 days, 3 attempts per reference in 30 days, 24 h between
 * attempts, 300 s. */
void store_policy_default(struct store_policy *p);

/* Runs inside a transaction (see store_exec(), store_view()). Returns 0 to
 * commit (write) or any negative code to abort; that code is returned to
 * the caller. */
typedef int (*store_txn_cb)(struct store_txn *t, void *arg);

/* Called on the writer thread after requests were moved to the completed
 * list. Must be quick and thread-safe (the server calls uv_async_send). */
typedef void (*store_notify_cb)(void *arg);

struct store_opts {
    size_t map_size;        /* initial map size in bytes; 0 = 64 MiB */
    size_t map_size_max;    /* growth stops here; 0 = 1 TiB */
    unsigned max_readers;   /* 0 = 126 */
    store_notify_cb notify; /* may be NULL (then poll store_completed_take) */
    void *notify_arg;
    const struct store_policy *policy; /* copied; NULL = defaults */
};

enum store_result {
    STORE_PENDING = 0,
    STORE_STORED = 1,
    STORE_DUPLICATE = 2,
};

/* One submission. The caller allocates it and owns it; from store_submit()
 * until it comes back from store_completed_take() the store borrows it and
 * the caller must not touch it. */
struct store_write {
    /* Input. */
    const uint8_t *obs; /* packed, validated Observation; borrowed */
    size_t obs_len;
    const char *observer_id; /* authenticated identity; borrowed */
    const char *origin;      /* where it came from, for the audit log (peer
                                address); borrowed; may be NULL */
    int64_t received_at_ms;
    /* Instead of an observation: a function run inside the batch's write
     * transaction (obs is then ignored). It may run more than once (the
     * batch is retried after the map grows), so it must only write through
     * the transaction and set its outputs afresh each time. Its return
     * value becomes rc. */
    store_txn_cb fn;
    void *fn_arg;
    /* Output, set by the writer. */
    int rc;                      /* 0, -EEXIST (id used with other content or by
                                    another observer), ERROR_REFUSED (the
                                    organisation's rules refused it: see fault),
                                    -ENOSPC, -EINVAL (obs does not decode),
                                    ERROR_STORE_FAILED, -ESHUTDOWN */
    struct validate_error fault; /* with ERROR_REFUSED: code, field, message */
    enum store_result result;    /* when rc == 0 */
    uint64_t seq;                /* the record's sequence number (first store's) */
    uint32_t version;            /* 1, or the amendment's version */
    int64_t stored_at_ms;        /* the first store's received_at_ms */
    /* Private to the store. */
    struct store_write *next;
    int exec_wait; /* store_exec(): handed back by exec_done, not the list */
    int exec_done;
    void *user; /* free for the caller */
};

/*
 * Requests in one write transaction at most. LMDB keeps the page buffers of
 * a transaction's dirty pages for the next ones and never gives them back
 * while the environment is open, so the largest transaction ever written
 * sets the writer's memory for good; its dirty pages grow with the batch
 * and with the width of the trees (records land on ever more distinct
 * pages as the store grows). The cap bounds that memory (to about
 * STORE_MAX_BATCH times the pages one record touches) whatever the number
 * of connections; a burst waits one more commit.
 */
#define STORE_MAX_BATCH 128

struct store_stats {
    uint64_t commits;
    uint64_t records_stored;
    uint64_t duplicates;
    uint64_t batched_requests;
    uint64_t max_batch;
    uint64_t last_batch;
    uint64_t commit_us_total;
    uint64_t commit_us_max;
    uint64_t map_grows;
};

/*
 * Opens (creating if needed) the environment in directory dir, which must
 * exist, runs mdb_reader_check(), checks or writes the schema version and
 * starts the writer thread. On success *out is set (caller owns, free with
 * store_close()). Returns 0, -ENOENT, -EACCES, -EPROTO (schema version this
 * build does not know), or another negative errno.
 */
int store_open(const char *dir, const struct store_opts *opts, struct store **out);

/*
 * Stops taking writes, lets the writer commit and complete everything
 * queued, joins it and closes the environment. Requests not yet taken back
 * with store_completed_take() are still on the completed list and must be
 * taken before store_close(); call store_drain() first. NULL-safe.
 */
void store_close(struct store *s);

/*
 * Runs fn(t, arg) in a write transaction on the writer thread, commits it
 * durably if fn returned 0, and waits for that. Not for the server's loop
 * thread (it blocks); the server queues a struct store_write with fn set
 * instead. fn may run more than once (see struct store_write). Returns fn's
 * negative code (nothing committed), 0 once committed, -ENOSPC,
 * ERROR_STORE_FAILED or -ESHUTDOWN.
 */
int store_exec(struct store *s, store_txn_cb fn, void *arg);

/* Runs fn(t, arg) in a read-only transaction on the calling thread (any
 * thread). Returns fn's result, or -EAGAIN (no reader slot) / -EIO. */
int store_view(struct store *s, store_txn_cb fn, void *arg);

/* The store's policy (borrowed until store_close()). */
const struct store_policy *store_get_policy(const struct store *s);

/* The policy of the store a transaction belongs to (borrowed, as above). */
const struct store_policy *store_txn_policy(const struct store_txn *t);

/* Maps an LMDB return code (or a positive errno LMDB passed through) to a
 * negative errno: MDB_NOTFOUND -> -ENOENT, MDB_MAP_FULL -> -ENOSPC, ...;
 * LMDB's corruption and panic codes -> -EIO. For other LMDB users in
 * coachq (the client's local store), so the mapping exists once. */
int store_mdb_errno(int mdb_rc);

/* The UTC day number (days since 1970-01-01) of a time in seconds. */
int32_t store_day_of(int64_t seconds);

/* Blocks until everything submitted so far has completed (or failed). */
void store_drain(struct store *s);

/*
 * Queues w for the writer. Thread-safe. Returns 0, or -ESHUTDOWN once the
 * store is closing, or ERROR_STORE_FAILED once it failed (w is then not
 * queued and stays the caller's). The store resets w's output fields and
 * next. A request whose observation has no 16-byte id, or a coach, coachee
 * or observer id outside 1..64 bytes, completes with -EINVAL.
 */
int store_submit(struct store *s, struct store_write *w);

/* Takes every completed request, oldest first, as a list linked by next.
 * Thread-safe. Returns NULL when none. */
struct store_write *store_completed_take(struct store *s);

/* True once a commit failed in a way that forbids further writes. */
int store_failed(const struct store *s);

/* Copies the writer's counters. Thread-safe. */
void store_get_stats(struct store *s, struct store_stats *out);

/* Runs mdb_reader_check(); *dead (may be NULL) gets the number of stale
 * reader slots cleared. Thread-safe. Returns 0 or a negative errno. */
int store_reader_check(struct store *s, int *dead);

/*
 * Reads one record. Thread-safe (any thread). On success returns 0 and sets
 * *out (caller owns, free with coachq__v1__stored_observation__free_unpacked(
 * *out, NULL)); -ENOENT if there is none; -EIO or -ENOMEM; -EAGAIN when
 * every reader slot (max_readers) is in use.
 */
int store_get(struct store *s, const uint8_t uuid[16], Coachq__V1__StoredObservation **out);

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

/* Reads one record inside a transaction of the caller's; as store_get(). */
int store_get_txn(struct store_txn *t, const uint8_t id[16], Coachq__V1__StoredObservation **out);

/* Frees a page's items. NULL-safe. */
void store_page_free(struct store_page *page);

/*
 * The newest records of person in index by whose session started before
 * until (seconds; INT64_MAX = open), newest first, in a transaction of the
 * caller's (any thread). Reads at most max_keys (1..STORE_MAX_PAGE) index
 * keys, so the cost is bounded whatever the person's history. cb gets each
 * record (caller owns: cb takes ownership, free with
 * coachq__v1__stored_observation__free_unpacked()) and returns 0 to go on,
 * 1 to stop or a negative code to fail with. Returns 0, -EINVAL (bad
 * arguments), -EIO or another negative code.
 */
typedef int (*store_recent_cb)(Coachq__V1__StoredObservation *rec, void *arg);
int store_recent_txn(struct store_txn *t, enum store_index by, const char *person, int64_t until,
                     uint32_t max_keys, store_recent_cb cb, void *arg);

#endif
