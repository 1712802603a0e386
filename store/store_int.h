/*
 * store_int: what the engine (store.c) gives the record modules of store/
 * (obs, people, rubrics, certs, rules, audit, agg, outcomes, creds) and
 * nothing outside store/ may see: the store struct with its LMDB handles
 * (which module owns which database: store.h), the transaction wrapper,
 * nested transactions and small helpers for protobuf-packed values.
 *
 * A struct store_txn is a read or a write transaction. Write transactions
 * exist only on the writer thread (store_exec() callbacks and the hook's
 * batch); read transactions on any thread (store_view()). A struct
 * store_txn and the MDB handles in it are borrowed from the engine for the
 * callback they are handed to. Values read through these helpers are
 * decoded before they return, so nothing they hand out points into the
 * map. Errors are negative errnos, except the STORE_TXN_ABORT() codes
 * below, which the record modules pass on untouched.
 */
#ifndef COACHQ_STORE_INT_H
#define COACHQ_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "metrics.h"
#include "store.h"

struct tz_cache;
struct obs_codec_cache;
struct tz_zone;

struct store {
    MDB_env *env;
    MDB_dbi dbi_obs; /* obs_seq: be64 seq -> StoredObservation (schema 6) */
    MDB_dbi dbi_ids; /* obs_ids: uuid(16) -> be64 seq (schema 6) */
    MDB_dbi dbi_by_coach;
    MDB_dbi dbi_by_observer;
    MDB_dbi dbi_by_coachee;
    MDB_dbi dbi_meta;
    /* Organisation and history (schema 2). */
    MDB_dbi dbi_versions;   /* root uuid(16) + be32 version -> uuid(16) */
    MDB_dbi dbi_people;     /* id -> Person */
    MDB_dbi dbi_lines;      /* id(person) + day -> manager id bytes ("" = none) */
    MDB_dbi dbi_reports;    /* id(manager) + day + id(person) -> empty */
    MDB_dbi dbi_programmes; /* id -> Programme */
    MDB_dbi dbi_enrolments; /* id(programme) + id(person) -> Enrolment */
    MDB_dbi dbi_rubrics;    /* id + be32 version -> Rubric */
    MDB_dbi dbi_certs;      /* id(observer) + id(rubric) + day(from) -> Certification */
    MDB_dbi dbi_refs;       /* uuid(16) -> CalibrationReference */
    MDB_dbi dbi_attempts;   /* id(observer) + uuid(ref) -> uuid(16) of the latest attempt */
    MDB_dbi dbi_callog;     /* id(observer) + uuid(ref) + time(at_ms) -> uuid(16): every
                               attempt, for the exam's limits (certs.h) */
    MDB_dbi dbi_calres;     /* id(observer) + id(rubric) + time(at_ms) -> CalibrationResult */
    MDB_dbi dbi_audit;      /* be64 seq -> AuditEntry */
    /* Dashboards and sign-in (schema 3). */
    MDB_dbi dbi_agg;            /* agg key (agg.h) -> fixed-layout value (agg.h, schema 6) */
    MDB_dbi dbi_agg_contrib;    /* uuid(16) of a stored version -> its keys and peers (agg.h) */
    MDB_dbi dbi_outcomes;       /* outcome key (outcomes.h) -> Outcome */
    MDB_dbi dbi_creds;          /* id(user) -> password hash (creds.h), text */
    MDB_dbi dbi_links;          /* SHA-256(token)(32) -> one-time sign-in link (creds.h) */
    MDB_dbi dbi_tokens;         /* SHA-256(token)(32) -> ApiToken (apitok.h); made at open */
    MDB_dbi dbi_actions;        /* uuid(16) of an action -> ActionRecord (actions.h, schema 8) */
    MDB_dbi dbi_actions_by;     /* per coach and coachee, open first (actions.h) -> empty */
    MDB_dbi dbi_held;           /* sessions held (cadence.h); made at open */
    MDB_dbi dbi_commitments;    /* coaching commitments (cadence.h); made at open */
    MDB_dbi dbi_cadence;        /* observed coaching days as counts (cadence.h); made at open */
    MDB_dbi dbi_plans;          /* coverage plans (assign.h, schema 10) */
    MDB_dbi dbi_asg;            /* uuid(16) -> Assignment (assign.h, schema 10) */
    MDB_dbi dbi_asg_draws;      /* uuid(16) -> AssignmentDraw (assign.h, schema 10) */
    MDB_dbi dbi_asg_open;       /* open assignments by observer (assign.h, schema 10) */
    MDB_dbi dbi_asg_by_manager; /* assignments by manager (assign.h, schema 10) */
    MDB_dbi dbi_asg_due;        /* open assignments by due day (assign.h, schema 10) */
    MDB_dbi dbi_asg_obs_due;    /* open ones by observer and due day (assign.h, schema 10) */
    /* The time zones of session dates (zone.h), loaded once per process. */
    struct tz_cache *tz;
    /* The rubric versions' behaviour ids that records name by place
     * (obs_codec.h), kept once per store; it has its own lock. */
    struct obs_codec_cache *codec;

    size_t map_size;    /* current map size; writer thread only after open */
    unsigned max_batch; /* requests per write transaction (store_opts) */
    size_t map_size_max;
    store_notify_cb notify;
    void *notify_arg;
    struct store_policy policy;
    struct store_hooks hooks; /* copied at open */
    /* Filled by the writer with no lock, read by /metrics (metrics.h). */
    struct metrics_hist commit_us_hist;      /* a commit's time with its fsync, microseconds */
    struct metrics_hist commit_records_hist; /* records a commit stored */

    /* Held shared by every read transaction, exclusively by the writer while
     * it resizes the map (which needs no transaction open in the process). */
    pthread_rwlock_t gate;

    /* mu protects everything below. */
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* queue non-empty or closing */
    pthread_cond_t done_cv; /* completed advanced, or a store_exec() finished */
    struct store_write *queue_head;
    struct store_write *queue_tail;
    struct store_write *done_head;
    struct store_write *done_tail;
    uint64_t submitted;
    uint64_t completed;
    int closing;
    struct store_stats stats;

    atomic_int failed;
    pthread_t writer;
    int writer_started;
    size_t reserved; /* bytes of data.mdb known to be allocated; writer thread */
    /* The batches' memo (struct store_txn_memo below), made by the first
     * batch and emptied after each, so that its tables are allocated once
     * rather than per batch; NULL until then, or when it could not be
     * made (the batch then reads every time). Writer thread; freed by
     * store_close(). */
    struct store_txn_memo *writer_memo;
};

/* What zone.c looked up in one transaction: the organisation's zone and
 * the last person's, so that the many dates of one record cost one lookup.
 * Emptied whenever a zone may have changed (zone_txn_forget()). */
struct store_txn_zones {
    const struct tz_zone *org; /* NULL: not looked up yet */
    const struct tz_zone *person_zone;
    char person[66]; /* "" : none cached */
};

struct store_memo_slot;
struct store_memo_person;
struct store_memo_line;
struct store_memo_block;

/* People and reporting-line answers a batch's memo keeps at most; a batch
 * that names more reads the others each time (memo.c). A batch of
 * `bench_submit`'s records names each coach about twice and each coachee
 * once: at 434 records a commit, about 640 people and 650 line answers,
 * so caps below that let the coachees fill the tables and every later
 * read of a coach miss. */
#define STORE_MEMO_PEOPLE_MAX 1024u
#define STORE_MEMO_LINES_MAX 2048u

/* What the rules and the aggregates read again and again in one batch (the
 * same rubric, the same observer's certification, the same people and
 * reporting lines), decoded once per batch (memo.c). Emptied whenever a
 * rubric, certification, person, reporting line, programme or enrolment
 * is written and before a nested transaction, like the zones above, and
 * when the batch's attempt ends (store_txn_memo_reset()); its tables are
 * freed with the store (store_txn_memo_clear()). All zeroes is an empty
 * memo. */
struct store_txn_memo {
    struct Coachq__V1__Rubric *rubric; /* the last rubric asked for by version */
    /* Whether rubric names each behaviour once: 1 or 0, -1 until asked
     * (store_txn_memo_rubric_unique()). */
    int rubric_unique;
    /* certs_valid_on()'s answer (0 or -ENOENT) for the last observer,
     * rubric and day agg_counts() asked about. */
    char cert_observer[66];
    char cert_rubric[66];
    int32_t cert_day;
    int cert_rc;
    int cert_set;
    /* People by id and people_manager_at()'s answers by person and day:
     * tables made on first use and kept until the memo is freed, each
     * holding a capped number of entries (memo.c); NULL until then. A
     * slot holds an entry only when stamped with gen, so emptying the
     * memo moves gen on rather than touching the tables. */
    struct store_memo_slot *people_slots; /* the probes' */
    struct store_memo_person *people;     /* the entries, n_people used */
    size_t n_people;
    struct store_memo_slot *line_slots;
    struct store_memo_line *lines;
    size_t n_lines;
    uint32_t gen;
    /* The kept people's decoded fields, carved from blocks freed together
     * when the memo is emptied; arena_bytes is what the blocks hold. */
    struct store_memo_block *blocks;
    size_t arena_bytes;
};

/* Empties m (the engine's, or a test's): frees what the entries point to
 * and leaves its tables in place, to be reused until store_txn_memo_clear().
 * Cheap enough to run before every nested transaction. NULL is a no-op.
 * Writer thread. */
void store_txn_memo_reset(struct store_txn_memo *m);

/* Frees everything m holds, tables included, and zeroes it. NULL is a
 * no-op. Writer thread. */
void store_txn_memo_clear(struct store_txn_memo *m);

/* Rubric id at version (not 0) through t's memo: 0 and *out (borrowed
 * until the memo is emptied), *own what the caller frees (NULL when the
 * memo keeps it); else rubrics_get()'s code. */
int store_txn_memo_rubric(struct store_txn *t, const char *id, uint32_t version,
                          const struct Coachq__V1__Rubric **out, struct Coachq__V1__Rubric **own);

/* 1 if r is t's memoised rubric and names each behaviour once (worked
 * out once per memoised rubric), else 0, which claims nothing. r is
 * borrowed. */
int store_txn_memo_rubric_unique(struct store_txn *t, const struct Coachq__V1__Rubric *r);

/* certs_valid_on()'s answer through t's memo: 0, -ENOENT, or its errors. */
int store_txn_memo_certified(struct store_txn *t, const char *observer, const char *rubric,
                             int32_t day);

/* people_get() through t's memo: 0 and *out (borrowed until the memo is
 * emptied), *own what the caller frees with
 * coachq__v1__person__free_unpacked() (NULL when the memo keeps it);
 * -ENOENT, or people_get()'s other codes. */
int store_txn_memo_person(struct store_txn *t, const char *id,
                          const struct Coachq__V1__Person **out, struct Coachq__V1__Person **own);

/* people_manager_at() through t's memo, with its arguments and results. */
int store_txn_memo_manager_at(struct store_txn *t, const char *person, int32_t day, char *out,
                              size_t outlen);

/* people_manager_span() through t's memo, with its arguments and results:
 * a memoised answer keeps the days it holds for. */
int store_txn_memo_manager_span(struct store_txn *t, const char *person, int32_t day, char *out,
                                size_t outlen, int32_t *from, int32_t *last);

struct store_txn {
    struct store *s;
    MDB_txn *txn;
    int write;   /* 1 on the writer thread's write transaction */
    void *batch; /* the hook's deferred work in a batch (store_flush_cb), else NULL */
    struct store_txn_zones zones;
    /* The batch's decoded reads; NULL in any other transaction, which then
     * reads and decodes every time. The engine's, on its stack. */
    struct store_txn_memo *memo;
    /* The hook's other deferred work in a batch, the agreed actions'
     * counters merged over it (actions.h, actions_flush()), else NULL;
     * flushed and discarded with batch. */
    void *batch_actions;
    /* The same for the coaching days' counts (cadence.h,
     * cadence_flush()). */
    void *batch_cadence;
    /* Set by rubrics_put() when it writes a rubric version, and carried to
     * the parent when a nested transaction commits: the codec's cache then
     * keeps nothing this transaction reads (obs_codec.c, codec_with()),
     * since a version put here may yet be abandoned. */
    int rubric_put;
};

/* LMDB codes that must end a write transaction's attempt rather than be
 * answered per request (map full, txn full, disk full, I/O errors) come back
 * from the helpers below as STORE_TXN_ABORT(mdb_rc), so the writer can grow
 * the map or fail the batch by its policy. */
#define STORE_TXN_ABORT_BASE (-40000)
#define STORE_TXN_ABORT_BIAS 31000 /* LMDB's own codes are -30799..-30780 */
#define STORE_TXN_ABORT(mdb_rc) (STORE_TXN_ABORT_BASE - ((mdb_rc) + STORE_TXN_ABORT_BIAS))
/* True for a code made by STORE_TXN_ABORT(); store_txn_abort_mdb() recovers
 * the LMDB code. */
int store_txn_is_abort(int rc);
int store_txn_abort_mdb(int rc);

/*
 * Runs fn(t, arg) in a write transaction nested in parent (writer thread):
 * what fn wrote is kept if it returned 0 and dropped if it failed, while
 * the parent goes on. *fn_rc gets fn's result (0 when fn asked to end the
 * attempt with a STORE_TXN_ABORT() code). Returns 0, or an LMDB code that
 * ends the batch's whole attempt (fn's STORE_TXN_ABORT() code turned back
 * into LMDB's, or a failure to begin or commit the nested transaction).
 */
int store_txn_nested(struct store_txn *parent, store_txn_cb fn, void *arg, int *fn_rc);

/*
 * Reads key in dbi and decodes it with desc. On success returns 0 and sets
 * *out (caller owns, free with protobuf_c_message_free_unpacked(*out,
 * NULL)); -ENOENT if absent; -EIO if the value does not decode; -ENOMEM.
 */
int store_txn_get_msg(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                      const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);

/* Reads key's raw value into *val (borrowed: valid until the transaction
 * ends or the next write in it). Returns 0, -ENOENT or a negative errno. */
int store_txn_get_raw(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                      MDB_val *val);

/*
 * Puts msg packed under key. If changed is not NULL and the key already
 * holds exactly these bytes, nothing is written and *changed is 0;
 * otherwise *changed is 1. Write transactions only (-EROFS on a read one).
 * Returns 0, -EROFS, -ENOMEM or STORE_TXN_ABORT(mdb_rc).
 */
int store_txn_put_msg(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                      const ProtobufCMessage *msg, int *changed);

/* Puts raw bytes (vlen may be 0) under key; as store_txn_put_msg(). */
int store_txn_put_raw(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                      const void *val, size_t vlen, int *changed);

/*
 * Puts key -> *val into dbi as mdb_put() with flags (0, MDB_NOOVERWRITE,
 * MDB_RESERVE or both) would, but appends (MDB_APPEND) when the key sorts
 * after the last key of the tree: LMDB then skips the search and, when the
 * last page is full, starts a new one and leaves it full. (A plain put
 * already keeps a split page nearly full when the key goes after every key
 * of that page, so for keys in order this saves the search and about 1% of
 * the tree's pages: docs/benchmarks.md.) A key that does not sort after
 * the last one is put as before. What the caller sees
 * is what mdb_put(flags) gives: MDB_KEYEXIST only when flags has
 * MDB_NOOVERWRITE and key is stored (*val then holds the stored value), a
 * stored key overwritten otherwise; with MDB_RESERVE, *val's data is the
 * reserved space. key and val are borrowed. Returns 0 or an LMDB code
 * (EACCES on a read transaction). Writer thread.
 */
int store_txn_put_tail(struct store_txn *t, MDB_dbi dbi, MDB_val *key, MDB_val *val,
                       unsigned flags);

/* Puts msg packed under key (borrowed) with store_txn_put_tail(), packed in
 * place (MDB_RESERVE), for a record keyed by an id made in the order
 * records arrive. Returns 0, -EROFS, -ENOMEM or STORE_TXN_ABORT(mdb_rc). */
int store_txn_put_msg_tail(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                           const ProtobufCMessage *msg);

/* Deletes key. Returns 0 (also when it was absent), -EROFS or
 * STORE_TXN_ABORT(mdb_rc). */
int store_txn_del(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen);

/*
 * Called for each key of a scan with the key and value (both borrowed for
 * the call only). Return 0 to go on, 1 to stop (store_txn_scan() then
 * returns 0), or a negative code to stop with that code.
 */
typedef int (*store_scan_cb)(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                             void *arg);

/*
 * Visits every key of dbi that starts with prefix (plen bytes; 0 = every
 * key), in key order, or in reverse order if reverse is set. Returns 0, the
 * callback's negative code, or a negative errno.
 */
int store_txn_scan(struct store_txn *t, MDB_dbi dbi, const uint8_t *prefix, size_t plen,
                   int reverse, store_scan_cb cb, void *arg);

/*
 * A tree's entries held in memory in key order, to be put back into the
 * emptied tree by store_tree_refill(): each entry is its key's and its
 * value's lengths (u32 each), the key, the value. Zero it before use;
 * n counts the entries added. Used where a tree is written afresh in one
 * transaction (erasure, a format step): pages freed by a transaction are
 * not reused by it, so a scratch tree in the file would leave as many free
 * pages behind as the copy held, where memory leaves none.
 */
struct store_tree_copy {
    uint8_t *b;
    size_t len;
    size_t cap;
    uint64_t n;
};

/* Adds an entry of key (klen bytes, copied) and a value of vlen bytes to c
 * and returns where its vlen bytes go, for the caller to fill before the
 * next call (borrowed; c owns it), or NULL when out of memory. */
uint8_t *store_tree_copy_add(struct store_tree_copy *c, const uint8_t *key, size_t klen,
                             size_t vlen);

/* A store_scan_cb that adds each entry to the struct store_tree_copy in
 * arg as it is. Returns 0 or -ENOMEM. */
int store_tree_copy_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                        void *arg);

/* Empties dbi (its pages freed) and appends c's entries, which must be in
 * key order, so that every page but the last comes out full. Frees c's
 * buffer whatever the result (c may be reused after zeroing). Writer
 * thread, in t. Returns 0 or STORE_TXN_ABORT(mdb_rc). */
int store_tree_refill(struct store_txn *t, MDB_dbi dbi, struct store_tree_copy *c);

#endif
