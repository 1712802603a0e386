/*
 * store: coachq's LMDB store. This header is its engine (store.c): the
 * environment and its named databases, the single writer with group
 * commit, the failure policy, and transactions for the record modules
 * above it. The engine calls no record module; what a stored observation
 * means is the hook's (below), and reading observations is obs.h's.
 *
 * One environment per process (MDB_NOTLS, never MDB_NOSYNC, MDB_NOMETASYNC,
 * MDB_WRITEMAP, MDB_MAPASYNC, MDB_NOLOCK or MDB_DUPSORT). Which module owns
 * which named database (the keys are in store_int.h and the modules'
 * headers):
 *
 *   meta          the engine: "schema_version" -> be32, "next_seq" -> be64;
 *                 zone.h: "time_zone" -> the organisation's zone name
 *   obs_seq       obs.h: be64 seq -> StoredObservation (appended in order),
 *                 stored with each rating's behaviour named by its place in
 *                 the record's rubric version (obs_codec.h, schema 12)
 *   obs_ids       obs.h: uuid(16) -> be64 seq
 *   obs_versions  obs.h: root uuid(16) + be32 version -> uuid(16)
 *   obs_by_coach  obs.h: len(1) person id, started_at(8), uuid(16) -> empty
 *   obs_by_observer, obs_by_coachee: obs.h, the same shape
 *   people, lines, reports, programmes, enrolments: people.h
 *   rubrics       rubrics.h
 *   certs, cal_refs, cal_attempts, cal_log, cal_results: certs.h
 *   audit         audit.h
 *   agg_week, agg_contrib: agg.h (the values' fixed little-endian layout,
 *                 versioned, is its "The stored value" section)
 *   outcomes      outcomes.h
 *   credentials, signin_links: creds.h
 *   api_tokens    apitok.h (created when the store opens: no schema change)
 *   plans, assignments, asg_draws, asg_open, asg_by_manager, asg_due,
 *   asg_obs_due: assign.h
 *   sessions_held, commitments, cadence_days (from schema 11): cadence.h
 *
 * Writes: callers queue struct store_write requests from any thread; one
 * writer thread drains what is queued since its last commit, at most
 * STORE_MAX_BATCH requests, into one write transaction (group commit),
 * commits durably, then moves the requests to a completed list and calls
 * the notify callback. A request's result is
 * final only once it is on the completed list: STORED means the commit that
 * holds the record returned success.
 *
 * The hook: in that transaction the writer runs each request in queue
 * order. A request with fn set runs fn in a nested transaction (store_exec(),
 * struct store_write); every other request, an observation, goes to the
 * hook's apply callback (struct store_hooks). store_open() gives the engine
 * obs_apply.c's hook, which checks, stores, indexes, audits and aggregates
 * the observation through the record modules; the engine only hands out
 * the sequence numbers (meta's next_seq) and commits what the hook wrote.
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
 * MDB_* codes never leave store/.
 */
#ifndef COACHQ_STORE_H
#define COACHQ_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coachq.pb-c.h"
#include "validate.h"

#define STORE_SCHEMA_VERSION 12

struct store;
struct store_txn;

/*
 * The deployment's rules that the writer applies to every observation. The
 * server fills them from its configuration; store_policy_default() gives
 * the documented defaults.
 */
/*
 * Who scores a session, as the organisation's rules (rules.h) know it on
 * the writer thread, for the access rule the server plugs in
 * (store_policy.may_score, query/auth.h's "score a session"). Every
 * pointer is borrowed for the call.
 */
struct store_scorer {
    const Coachq__V1__Person *observer; /* the observer's own record */
    const char *coach_id;               /* the session's coach */
    const char *coachee_id;             /* the session's coachee */
    const char (*chain)[65];            /* managers above the coach on the session day */
    size_t n_chain;
    int coaches_coach; /* the rubric scores a second-level manager coaching a manager */
};

/* Returns 0 when the scorer may score the session, -EACCES when not. Pure;
 * runs on the writer thread. */
typedef int (*store_may_score_cb)(const struct store_scorer *s);

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
    /* Who may score a session (query/auth.c's AUTH_SCORE); NULL: every
     * observer may score every session (tests of the bare store). */
    store_may_score_cb may_score;
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
    unsigned max_batch;     /* requests per write transaction; 0 = STORE_MAX_BATCH,
                               at most STORE_MAX_BATCH_LIMIT */
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
    const uint8_t *obs; /* validated Observation as protobuf-c packs it (the
                           record keeps these bytes, and a resubmission is
                           compared with them); borrowed */
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
 * Requests in one write transaction at most, by default (store_opts
 * max_batch, coachqd --max-batch). LMDB keeps the page buffers of a
 * transaction's dirty pages for the next ones and never gives them back
 * while the environment is open, so the largest transaction ever written
 * sets the writer's memory for good; its dirty pages grow with the batch
 * and with the width of the trees. The cap bounds that memory whatever the
 * number of connections; a burst waits one more commit. It is also what
 * group commit gains: one fsync and one write of each shared page (the
 * aggregates are merged across the batch) serve up to that many records.
 * At 64 connections with 16 in flight each, 1024 commits about 380
 * records at a time and writes two thirds of the bytes per record of 256
 * for a quarter less writer CPU per record (bench/peers/ingest.sh, two runs
 * one after the other). A full transaction of 1024 holds about 7 MiB of
 * page buffers (6.6 KB written per record), 256 about 1.7 MiB
 * (docs/operations.md, "Memory").
 */
#define STORE_MAX_BATCH 1024
#define STORE_MAX_BATCH_LIMIT 65536

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
    /* CPU time of the writer thread spent on batches (CLOCK_THREAD_CPUTIME_ID),
     * microseconds, summed: divided by records_stored, the writer's cost
     * per record. */
    uint64_t writer_cpu_us;
    /* Filled by store_get_stats() at the call, not counters: requests
     * submitted and not yet completed (queued or being written), the map's
     * size, and the bytes of it in use (the last page written and those
     * before it). */
    uint64_t queue_depth;
    uint64_t map_size;
    uint64_t map_used;
};

/*
 * The writer's hook for an observation request (w->fn NULL): called on the
 * writer thread, once per such request in queue order, inside the batch's
 * write transaction t, which holds every request of the batch before it
 * (store_int.h gives its handles). It must not block and must not commit:
 * the engine commits the batch. It reads the request's input, takes a
 * sequence number from *next_seq for each record it stores (*next_seq++;
 * the engine saves it with the batch), sets *wrote when it put anything,
 * and sets the request's outcome (rc, fault, result, seq, version,
 * stored_at_ms): a refused or invalid request is answered through w->rc
 * and does not end the batch. It returns 0, or the LMDB code (MDB_MAP_FULL,
 * MDB_TXN_FULL, a positive errno such as ENOSPC, EIO or ENOMEM,
 * MDB_CORRUPTED, ...) that ends the batch's attempt: the engine aborts the
 * transaction and grows the map and retries, splits the batch, answers it
 * with an error or fails the store, by the failure policy above. A retried
 * batch calls the hook again for every request, with the outcome fields
 * reset.
 */
typedef int (*store_apply_cb)(struct store_txn *t, struct store_write *w, uint64_t *next_seq,
                              int *wrote);

/*
 * Called by store_open_hooks() inside the opening write transaction t when
 * the store on disk has schema version from_version, older than
 * STORE_SCHEMA_VERSION, after the databases of this version are created.
 * Returns 0, or a negative code (STORE_TXN_ABORT() for LMDB failures) that
 * aborts the open with nothing changed.
 */
typedef int (*store_upgrade_cb)(struct store_txn *t, uint32_t from_version);

/*
 * Deferred work: apply may leave work for the end of the batch in
 * t->batch, t->batch_actions and t->batch_cadence (store_int.h), e.g.
 * aggregate updates, the actions' counters and the coaching days' counts
 * merged across the batch's records so that each touched value is read
 * and written once per commit. The engine calls flush in the same
 * transaction before a request with fn set runs (that function may read
 * what was deferred) and before the commit. flush writes what was
 * deferred, frees all three and sets them to NULL, and returns 0 or an
 * LMDB code that ends the attempt, like apply. The engine calls discard
 * when an attempt ends with any still set (nothing committed); discard
 * frees them and sets them to NULL. Neither is called while all are NULL.
 */
typedef int (*store_flush_cb)(struct store_txn *t);
typedef void (*store_discard_cb)(struct store_txn *t);

/* What the engine calls up into; copied at open. */
struct store_hooks {
    store_apply_cb apply;     /* required */
    store_upgrade_cb upgrade; /* NULL: an upgrade only writes the new version */
    store_flush_cb flush;     /* NULL: apply defers nothing */
    store_discard_cb discard; /* required with flush */
};

/*
 * Opens (creating if needed) the environment in directory dir, which must
 * exist, runs mdb_reader_check(), checks or writes the schema version and
 * starts the writer thread, with obs_apply.c's hook (store_open_hooks()).
 * On success *out is set (caller owns, free with store_close()). Returns 0,
 * -ENOENT, -EACCES, -EPROTO (schema version this build does not know), or
 * another negative errno.
 */
int store_open(const char *dir, const struct store_opts *opts, struct store **out);

/* As store_open(), with the engine calling hooks (copied; -EINVAL if hooks
 * or its apply is NULL). */
int store_open_hooks(const char *dir, const struct store_opts *opts,
                     const struct store_hooks *hooks, struct store **out);

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

/* The UTC day number (days since 1970-01-01) of a time in seconds. Session
 * dates and "today" are local days: zone.h's zone_session_day() and
 * zone_day_of(); this is for what is a UTC day by definition. */
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

/* ---- Copies (store_copy.c) ---- */

/* The longest directory name store_copy() and store_holder() take. */
#define STORE_COPY_PATH_MAX 1000

/* What a copy holds. */
struct store_copy_info {
    uint64_t next_seq;       /* the copy holds every record below this sequence number */
    uint32_t schema_version; /* the copy's store schema */
    uint64_t bytes;          /* size of the copy's data.mdb */
    uint64_t source_bytes;   /* size of the source's data.mdb when the copy began */
};

/*
 * Writes a consistent, compacted copy of the store in dir into dest/data.mdb
 * (dest must be a directory without a data.mdb): the state of the last
 * transaction committed before the copy began, read by this process as a
 * second, read-only opener of the environment, so that a server using dir
 * goes on committing meanwhile. The copy is fsynced, mode 0600. Do not call
 * it for a dir this process has open with store_open(). Returns 0, -ENOENT
 * (no store in dir), -EEXIST (dest holds a data.mdb), -EPROTO (dir holds an
 * LMDB environment that is not a coachq store), or another negative errno;
 * on failure dest may hold a partial data.mdb that the caller removes.
 */
int store_copy(const char *dir, const char *dest, struct store_copy_info *info);

/*
 * Whether another process has the store in dir open (by LMDB's lock on
 * lock.mdb). Returns 1 and the holder's pid in *pid (one of them, if
 * several), 0 if nobody has, or a negative errno.
 */
int store_holder(const char *dir, pid_t *pid);
struct metrics_hist;

/* The writer's histograms (metrics.h): each commit's time with its fsync,
 * in microseconds, and the records each commit stored. Borrowed until
 * store_close(); any thread may read them. */
const struct metrics_hist *store_commit_time_hist(const struct store *s);
const struct metrics_hist *store_commit_records_hist(const struct store *s);

/* Runs mdb_reader_check(); *dead (may be NULL) gets the number of stale
 * reader slots cleared. Thread-safe. Returns 0 or a negative errno. */
int store_reader_check(struct store *s, int *dead);

#endif
