/* glibc's rwlocks prefer readers unless told otherwise, which would let a
 * steady stream of queries starve the writer that waits to grow the map.
 * The writer-preferring kind is a GNU extension. */
#define _GNU_SOURCE

#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "agg.h"
#include "audit.h"
#include "certs.h"
#include "keys.h"
#include "log.h"
#include "rules.h"
#include "uuid.h"

#define STORE_DEFAULT_MAP ((size_t)64 << 20)
#define STORE_DEFAULT_MAP_MAX ((size_t)1 << 40)
#define STORE_DEFAULT_READERS 126u
/* Named databases in use now plus room for the ones the design adds later
 * (aggregates, outcomes, ...). */
#define STORE_MAX_DBS 32

_Static_assert(KEYS_INDEX_MAX <= sizeof(((struct store_page *)0)->cursor),
               "a list cursor is one index key");

static const char STORE_META_SCHEMA[] = "schema_version";
static const char STORE_META_NEXT_SEQ[] = "next_seq";

int store_mdb_errno(int mdb_rc)
{
    return store_errno(mdb_rc);
}

int store_errno(int mdb_rc)
{
    switch (mdb_rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return -ENOENT;
    case MDB_KEYEXIST:
        return -EEXIST;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
        return -ENOSPC;
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
        return -EAGAIN;
    case MDB_VERSION_MISMATCH:
    case MDB_INVALID:
        return -EPROTO;
    default:
        break;
    }
    if (mdb_rc > 0) {
        /* LMDB passes system errors through as positive errno values. */
        return -mdb_rc;
    }
    if (mdb_rc < MDB_KEYEXIST || mdb_rc > MDB_LAST_ERRCODE) {
        /* Already one of our negative codes, not an MDB_* one. */
        return mdb_rc;
    }
    /* MDB_CORRUPTED, MDB_PANIC, MDB_BAD_TXN, ... */
    return -EIO;
}

static uint64_t store_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static MDB_dbi store_index_dbi(const struct store *s, enum store_index by)
{
    switch (by) {
    case STORE_BY_COACH:
        return s->dbi_by_coach;
    case STORE_BY_OBSERVER:
        return s->dbi_by_observer;
    case STORE_BY_COACHEE:
        return s->dbi_by_coachee;
    }
    return s->dbi_by_coach;
}

void store_policy_default(struct store_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->enforce = 1;
    p->amend_window_days = 14;
    p->cert_exact = 0.80;
    p->cert_kappa = 0.70;
    p->cert_min_pairs = 8;
    p->cert_days = 365;
    p->cert_attempts = 3;
    p->cert_window_days = 30;
    p->cert_cooldown_s = 24 * 3600;
    p->future_slack_s = 300;
}

int32_t store_day_of(int64_t seconds)
{
    int64_t d = seconds / 86400;

    /* Floor, not truncation, for times before 1970. */
    if (seconds % 86400 != 0 && seconds < 0) {
        d--;
    }
    if (d > INT32_MAX) {
        return INT32_MAX;
    }
    if (d < INT32_MIN) {
        return INT32_MIN;
    }
    return (int32_t)d;
}

const struct store_policy *store_get_policy(const struct store *s)
{
    return &s->policy;
}

const struct store_policy *store_txn_policy(const struct store_txn *t)
{
    return &t->s->policy;
}

/* ---- Transaction helpers (store_int.h) --------------------------------- */

int store_txn_is_abort(int rc)
{
    /* LMDB codes from -30999 up to positive errno values below 4096. */
    return rc <= STORE_TXN_ABORT(-30999) && rc >= STORE_TXN_ABORT(4095);
}

int store_txn_abort_mdb(int rc)
{
    return STORE_TXN_ABORT_BASE - rc - STORE_TXN_ABORT_BIAS;
}

/* A failed put or delete: either an answer for the caller (not found) or a
 * code that must end the whole write attempt. */
static int store_txn_write_fail(int mdb_rc)
{
    if (mdb_rc == ENOMEM) {
        return -ENOMEM;
    }
    return STORE_TXN_ABORT(mdb_rc);
}

int store_txn_get_raw(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                      MDB_val *val)
{
    MDB_val k;
    int rc;

    k.mv_data = (void *)key;
    k.mv_size = klen;
    rc = mdb_get(t->txn, dbi, &k, val);
    return store_errno(rc);
}

int store_txn_get_msg(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                      const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
    MDB_val v;
    int rc;

    *out = NULL;
    rc = store_txn_get_raw(t, dbi, key, klen, &v);
    if (rc != 0) {
        return rc;
    }
    *out = protobuf_c_message_unpack(desc, NULL, v.mv_size, v.mv_data);
    if (*out == NULL) {
        log_event(LOG_ERROR, "store_value_corrupt", "type=%s size=%zu", desc->short_name,
                  v.mv_size);
        return -EIO;
    }
    return 0;
}

int store_txn_put_raw(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                      const void *val, size_t vlen, int *changed)
{
    MDB_val k, v;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    k.mv_data = (void *)key;
    k.mv_size = klen;
    if (changed != NULL) {
        rc = mdb_get(t->txn, dbi, &k, &v);
        if (rc == 0 && v.mv_size == vlen && (vlen == 0 || memcmp(v.mv_data, val, vlen) == 0)) {
            *changed = 0;
            return 0;
        }
        if (rc != 0 && rc != MDB_NOTFOUND) {
            return store_txn_write_fail(rc);
        }
        *changed = 1;
    }
    v.mv_data = (void *)val;
    v.mv_size = vlen;
    rc = mdb_put(t->txn, dbi, &k, &v, 0);
    return rc == 0 ? 0 : store_txn_write_fail(rc);
}

int store_txn_put_msg(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                      const ProtobufCMessage *msg, int *changed)
{
    uint8_t stackbuf[1024];
    uint8_t *buf = stackbuf;
    size_t n;
    int rc;

    n = protobuf_c_message_get_packed_size(msg);
    if (n > sizeof(stackbuf)) {
        buf = malloc(n);
        if (buf == NULL) {
            return -ENOMEM;
        }
    }
    protobuf_c_message_pack(msg, buf);
    rc = store_txn_put_raw(t, dbi, key, klen, buf, n, changed);
    if (buf != stackbuf) {
        free(buf);
    }
    return rc;
}

int store_txn_del(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen)
{
    MDB_val k;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    k.mv_data = (void *)key;
    k.mv_size = klen;
    rc = mdb_del(t->txn, dbi, &k, NULL);
    if (rc == 0 || rc == MDB_NOTFOUND) {
        return 0;
    }
    return store_txn_write_fail(rc);
}

int store_txn_scan(struct store_txn *t, MDB_dbi dbi, const uint8_t *prefix, size_t plen,
                   int reverse, store_scan_cb cb, void *arg)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t seek[KEYS_BUF_MAX + 1];
    int rc;

    if (plen > KEYS_BUF_MAX) {
        return -EINVAL;
    }
    rc = mdb_cursor_open(t->txn, dbi, &cur);
    if (rc != 0) {
        return store_errno(rc);
    }
    if (plen == 0) {
        rc = mdb_cursor_get(cur, &k, &v, reverse ? MDB_LAST : MDB_FIRST);
    } else if (!reverse) {
        k.mv_data = (void *)prefix;
        k.mv_size = plen;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else {
        /* The first key after every key with this prefix is the prefix with
         * its last byte raised (or, for all 0xff, nothing): seek there and
         * step back. */
        size_t n = plen;

        memcpy(seek, prefix, plen);
        while (n > 0 && seek[n - 1] == 0xff) {
            n--;
        }
        if (n == 0) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        } else {
            seek[n - 1]++;
            k.mv_data = seek;
            k.mv_size = n;
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            if (rc == 0) {
                rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
            } else if (rc == MDB_NOTFOUND) {
                rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
            }
        }
    }
    while (rc == 0) {
        int cbrc;

        if (plen > 0 && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)) {
            break;
        }
        cbrc = cb(k.mv_data, k.mv_size, v.mv_data, v.mv_size, arg);
        if (cbrc != 0) {
            /* The callback's own answer: 1 stops, a negative code is its
             * error, passed through untranslated. */
            mdb_cursor_close(cur);
            return cbrc > 0 ? 0 : cbrc;
        }
        rc = mdb_cursor_get(cur, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

/* ---- Reader gate ------------------------------------------------------- */

static int store_read_begin(struct store *s, MDB_txn **txn)
{
    int rc;

    pthread_rwlock_rdlock(&s->gate);
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    if (rc != 0) {
        pthread_rwlock_unlock(&s->gate);
        *txn = NULL;
        return store_errno(rc);
    }
    return 0;
}

static void store_read_end(struct store *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->gate);
}

/* ---- Open ------------------------------------------------------------- */

/* Opens the named databases and checks or writes the schema version, in one
 * write transaction. */
static int store_init_schema(struct store *s)
{
    MDB_txn *txn = NULL;
    MDB_val k, v;
    uint8_t buf[8];
    uint32_t upgrade_from = 0;
    int rc;

    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0) {
        txn = NULL;
        goto out;
    }
    rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->dbi_meta);
    if (rc != 0) {
        goto out;
    }
    k.mv_data = (void *)STORE_META_SCHEMA;
    k.mv_size = sizeof(STORE_META_SCHEMA) - 1;
    rc = mdb_get(txn, s->dbi_meta, &k, &v);
    if (rc == 0) {
        uint32_t found = v.mv_size == 4 ? keys_get_be32(v.mv_data) : 0;

        if (found >= 1 && found < STORE_SCHEMA_VERSION) {
            /* Schema 1 had observations only; 2 adds databases, which are
             * created below, and reads version 0 records as version 1. 3
             * adds the aggregates, built below from the records. 4 counts
             * a double-coded observation once, not once per peer, and adds
             * the line-coach aggregates (agg.h): the aggregates are rebuilt
             * below. */
            keys_put_be32(buf, STORE_SCHEMA_VERSION);
            v.mv_data = buf;
            v.mv_size = 4;
            rc = mdb_put(txn, s->dbi_meta, &k, &v, 0);
            if (rc != 0) {
                goto out;
            }
            upgrade_from = found;
        } else if (found != STORE_SCHEMA_VERSION) {
            log_event(LOG_ERROR, "store_schema_unknown", "found=%u supported=%d size=%zu",
                      (unsigned)found, STORE_SCHEMA_VERSION, v.mv_size);
            rc = -EPROTO;
            goto out;
        }
    } else if (rc == MDB_NOTFOUND) {
        keys_put_be32(buf, STORE_SCHEMA_VERSION);
        v.mv_data = buf;
        v.mv_size = 4;
        rc = mdb_put(txn, s->dbi_meta, &k, &v, 0);
        if (rc != 0) {
            goto out;
        }
        /* Sequence numbers start at 1 so that 0 can mean "none". */
        k.mv_data = (void *)STORE_META_NEXT_SEQ;
        k.mv_size = sizeof(STORE_META_NEXT_SEQ) - 1;
        keys_put_be64(buf, 1);
        v.mv_data = buf;
        v.mv_size = 8;
        rc = mdb_put(txn, s->dbi_meta, &k, &v, 0);
        if (rc != 0) {
            goto out;
        }
    } else {
        goto out;
    }
    {
        static const struct {
            const char *name;
            size_t off;
        } dbs[] = {
            {"obs", offsetof(struct store, dbi_obs)},
            {"obs_by_coach", offsetof(struct store, dbi_by_coach)},
            {"obs_by_observer", offsetof(struct store, dbi_by_observer)},
            {"obs_by_coachee", offsetof(struct store, dbi_by_coachee)},
            {"obs_versions", offsetof(struct store, dbi_versions)},
            {"people", offsetof(struct store, dbi_people)},
            {"lines", offsetof(struct store, dbi_lines)},
            {"reports", offsetof(struct store, dbi_reports)},
            {"programmes", offsetof(struct store, dbi_programmes)},
            {"enrolments", offsetof(struct store, dbi_enrolments)},
            {"rubrics", offsetof(struct store, dbi_rubrics)},
            {"certs", offsetof(struct store, dbi_certs)},
            {"cal_refs", offsetof(struct store, dbi_refs)},
            {"cal_attempts", offsetof(struct store, dbi_attempts)},
            {"cal_log", offsetof(struct store, dbi_callog)},
            {"cal_results", offsetof(struct store, dbi_calres)},
            {"audit", offsetof(struct store, dbi_audit)},
            {"agg_week", offsetof(struct store, dbi_agg)},
            {"agg_contrib", offsetof(struct store, dbi_agg_contrib)},
            {"outcomes", offsetof(struct store, dbi_outcomes)},
            {"credentials", offsetof(struct store, dbi_creds)},
            {"signin_links", offsetof(struct store, dbi_links)},
        };

        for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]) && rc == 0; i++) {
            rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE,
                              (MDB_dbi *)(void *)((char *)s + dbs[i].off));
        }
    }
    if (rc != 0) {
        goto out;
    }
    if (upgrade_from != 0) {
        struct store_txn t = {s, txn, 1};

        rc = agg_rebuild_txn(&t);
        if (store_txn_is_abort(rc)) {
            rc = store_txn_abort_mdb(rc);
        }
        if (rc != 0) {
            log_event(LOG_ERROR, "store_schema_upgrade_failed", "from=%u rc=%d",
                      (unsigned)upgrade_from, rc);
            goto out;
        }
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc == 0 && upgrade_from != 0) {
        log_event(LOG_INFO, "store_schema_upgraded", "from=%u to=%d", (unsigned)upgrade_from,
                  STORE_SCHEMA_VERSION);
    }
out:
    if (txn != NULL) {
        mdb_txn_abort(txn);
    }
    return store_errno(rc);
}

static void *store_writer_main(void *arg);

int store_open(const char *dir, const struct store_opts *opts, struct store **out)
{
    struct store *s = NULL;
    pthread_rwlockattr_t gattr;
    MDB_envinfo info;
    int dead = 0;
    int rc = -ENOMEM;
    int mu_ok = 0, gate_ok = 0, work_ok = 0, done_ok = 0;

    *out = NULL;
    if (dir == NULL) {
        return -EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        goto out;
    }
    atomic_init(&s->failed, 0);
    s->map_size = opts != NULL && opts->map_size != 0 ? opts->map_size : STORE_DEFAULT_MAP;
    s->map_size_max =
        opts != NULL && opts->map_size_max != 0 ? opts->map_size_max : STORE_DEFAULT_MAP_MAX;
    if (s->map_size_max < s->map_size) {
        s->map_size_max = s->map_size;
    }
    store_policy_default(&s->policy);
    if (opts != NULL) {
        s->notify = opts->notify;
        s->notify_arg = opts->notify_arg;
        if (opts->policy != NULL) {
            s->policy = *opts->policy;
        }
    }

    rc = -pthread_mutex_init(&s->mu, NULL);
    if (rc != 0) {
        goto out;
    }
    mu_ok = 1;
    rc = -pthread_cond_init(&s->work_cv, NULL);
    if (rc != 0) {
        goto out;
    }
    work_ok = 1;
    rc = -pthread_cond_init(&s->done_cv, NULL);
    if (rc != 0) {
        goto out;
    }
    done_ok = 1;
    rc = -pthread_rwlockattr_init(&gattr);
    if (rc != 0) {
        goto out;
    }
#ifdef PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
    pthread_rwlockattr_setkind_np(&gattr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    rc = -pthread_rwlock_init(&s->gate, &gattr);
    pthread_rwlockattr_destroy(&gattr);
    if (rc != 0) {
        goto out;
    }
    gate_ok = 1;

    rc = mdb_env_create(&s->env);
    if (rc != 0) {
        s->env = NULL;
        rc = store_errno(rc);
        goto out;
    }
    rc = mdb_env_set_maxdbs(s->env, STORE_MAX_DBS);
    if (rc == 0) {
        rc = mdb_env_set_maxreaders(s->env, opts != NULL && opts->max_readers != 0
                                                ? opts->max_readers
                                                : STORE_DEFAULT_READERS);
    }
    if (rc == 0) {
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    }
    if (rc == 0) {
        /* MDB_NOTLS: read transactions are begun and ended on pool threads
         * and are not tied to one thread. Durable sync is the default and is
         * never weakened. */
        rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600);
    }
    if (rc != 0) {
        rc = store_errno(rc);
        goto out;
    }
    /* An existing environment may have a bigger map than asked for. */
    if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->map_size) {
        s->map_size = info.me_mapsize;
        if (s->map_size_max < s->map_size) {
            s->map_size_max = s->map_size;
        }
    }
    /* Slots of readers that died (a killed process) pin old pages. */
    rc = mdb_reader_check(s->env, &dead);
    if (rc != 0) {
        rc = store_errno(rc);
        goto out;
    }
    if (dead > 0) {
        log_event(LOG_WARN, "store_stale_readers", "cleared=%d", dead);
    }
    rc = store_init_schema(s);
    while (rc == -ENOSPC && s->map_size < s->map_size_max) {
        /* Building the aggregates of an upgraded store may need a bigger
         * map; nothing else is open on the environment yet. */
        size_t grown = s->map_size > s->map_size_max / 2 ? s->map_size_max : s->map_size * 2;

        rc = mdb_env_set_mapsize(s->env, grown);
        if (rc != 0) {
            rc = store_errno(rc);
            break;
        }
        s->map_size = grown;
        log_event(LOG_INFO, "store_map_grown", "size=%zu reason=schema_upgrade", grown);
        rc = store_init_schema(s);
    }
    if (rc != 0) {
        goto out;
    }
    rc = -pthread_create(&s->writer, NULL, store_writer_main, s);
    if (rc != 0) {
        goto out;
    }
    s->writer_started = 1;
    *out = s;
    s = NULL;
    rc = 0;
out:
    if (s != NULL) {
        if (s->env != NULL) {
            mdb_env_close(s->env);
        }
        if (gate_ok) {
            pthread_rwlock_destroy(&s->gate);
        }
        if (done_ok) {
            pthread_cond_destroy(&s->done_cv);
        }
        if (work_ok) {
            pthread_cond_destroy(&s->work_cv);
        }
        if (mu_ok) {
            pthread_mutex_destroy(&s->mu);
        }
        free(s);
    }
    return rc;
}

void store_close(struct store *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->closing = 1;
    pthread_cond_broadcast(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->writer_started) {
        pthread_join(s->writer, NULL);
    }
    mdb_env_close(s->env);
    pthread_rwlock_destroy(&s->gate);
    pthread_cond_destroy(&s->done_cv);
    pthread_cond_destroy(&s->work_cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- Submission and completion ---------------------------------------- */

int store_submit(struct store *s, struct store_write *w)
{
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    if (atomic_load(&s->failed)) {
        rc = ERROR_STORE_FAILED;
    } else if (s->closing) {
        rc = -ESHUTDOWN;
    } else {
        w->rc = 0;
        w->result = STORE_PENDING;
        w->seq = 0;
        w->version = 0;
        w->stored_at_ms = 0;
        w->exec_done = 0;
        memset(&w->fault, 0, sizeof(w->fault));
        w->next = NULL;
        if (s->queue_tail != NULL) {
            s->queue_tail->next = w;
        } else {
            s->queue_head = w;
        }
        s->queue_tail = w;
        s->submitted++;
        pthread_cond_signal(&s->work_cv);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

struct store_write *store_completed_take(struct store *s)
{
    struct store_write *list;

    pthread_mutex_lock(&s->mu);
    list = s->done_head;
    s->done_head = NULL;
    s->done_tail = NULL;
    pthread_mutex_unlock(&s->mu);
    return list;
}

int store_exec(struct store *s, store_txn_cb fn, void *arg)
{
    struct store_write w;
    int rc;

    memset(&w, 0, sizeof(w));
    w.fn = fn;
    w.fn_arg = arg;
    w.exec_wait = 1;
    rc = store_submit(s, &w);
    if (rc != 0) {
        return rc;
    }
    pthread_mutex_lock(&s->mu);
    while (!w.exec_done) {
        pthread_cond_wait(&s->done_cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return w.rc;
}

int store_view(struct store *s, store_txn_cb fn, void *arg)
{
    struct store_txn t;
    MDB_txn *txn = NULL;
    int rc;

    rc = store_read_begin(s, &txn);
    if (rc != 0) {
        return rc;
    }
    t.s = s;
    t.txn = txn;
    t.write = 0;
    rc = fn(&t, arg);
    store_read_end(s, txn);
    return rc;
}

void store_drain(struct store *s)
{
    uint64_t target;

    pthread_mutex_lock(&s->mu);
    target = s->submitted;
    while (s->completed < target) {
        pthread_cond_wait(&s->done_cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

int store_failed(const struct store *s)
{
    /* C11's atomic_load takes a pointer to non-const; the object itself is
     * not const, only this view of the store is. */
    return atomic_load(&((struct store *)s)->failed) != 0;
}

void store_get_stats(struct store *s, struct store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

int store_reader_check(struct store *s, int *dead)
{
    int n = 0;
    int rc = mdb_reader_check(s->env, &n);

    if (dead != NULL) {
        *dead = n;
    }
    if (rc == 0 && n > 0) {
        log_event(LOG_WARN, "store_stale_readers", "cleared=%d", n);
    }
    return store_errno(rc);
}

/* ---- Writer thread ---------------------------------------------------- */

/* How one batch attempt ended. */
enum store_batch_end {
    STORE_BATCH_DONE,     /* committed (or nothing to commit) */
    STORE_BATCH_GROW,     /* MDB_MAP_FULL: grow the map and retry */
    STORE_BATCH_SPLIT,    /* MDB_TXN_FULL: too many dirty pages, halve it */
    STORE_BATCH_FAIL_ALL, /* every request gets batch_rc; store keeps going */
    STORE_BATCH_FATAL,    /* never retried: the store has failed */
};

struct store_batch {
    struct store_write *head;
    size_t n;
    int batch_rc; /* for STORE_BATCH_FAIL_ALL */
    int mdb_rc;   /* the LMDB code that ended the attempt, for the log */
    const char *op;
    uint64_t stored;
    uint64_t duplicates;
    uint64_t commit_us;
    int committed;
};

/* Classifies an LMDB failure of a put or commit inside a batch. Writer
 * thread. */
static enum store_batch_end store_classify(struct store_batch *b, int mdb_rc, const char *op)
{
    b->mdb_rc = mdb_rc;
    b->op = op;
    switch (mdb_rc) {
    case MDB_MAP_FULL:
        return STORE_BATCH_GROW;
    case MDB_TXN_FULL:
        return STORE_BATCH_SPLIT;
    case ENOSPC:
        b->batch_rc = -ENOSPC;
        return STORE_BATCH_FAIL_ALL;
    case ENOMEM:
        /* Nothing reached the disk; the batch can be answered and the next
         * one tried. */
        b->batch_rc = -ENOMEM;
        return STORE_BATCH_FAIL_ALL;
    default:
        return STORE_BATCH_FATAL;
    }
}

/* Puts key -> val into the database under cur, with MDB_APPEND when the key
 * sorts after the last key there (then it really appends and LMDB skips the
 * search and fills pages fully). Writer thread. */
static int store_put_index(MDB_cursor *cur, const uint8_t *key, size_t klen)
{
    MDB_val k, v, lk, lv;
    unsigned flags = 0;
    int rc;

    rc = mdb_cursor_get(cur, &lk, &lv, MDB_LAST);
    if (rc == MDB_NOTFOUND || (rc == 0 && keys_compare(key, klen, lk.mv_data, lk.mv_size) > 0)) {
        flags = MDB_APPEND;
    } else if (rc != 0) {
        return rc;
    }
    k.mv_data = (void *)key;
    k.mv_size = klen;
    v.mv_data = NULL;
    v.mv_size = 0;
    return mdb_cursor_put(cur, &k, &v, flags);
}

/* True if the stored record and the submission are the same resubmission:
 * same observer and byte-identical packed observation. The server packs the
 * bytes it submits from a decoded message, so they are canonical and a
 * repack of the stored observation reproduces them. Writer thread. */
static int store_same_content(const Coachq__V1__StoredObservation *old, const struct store_write *w)
{
    uint8_t *buf;
    size_t n;
    int same;

    if (old->observation == NULL || old->observer_id == NULL ||
        strcmp(old->observer_id, w->observer_id) != 0) {
        return 0;
    }
    n = coachq__v1__observation__get_packed_size(old->observation);
    if (n != w->obs_len) {
        return 0;
    }
    if (n == 0) {
        return 1;
    }
    buf = malloc(n);
    if (buf == NULL) {
        return -ENOMEM;
    }
    coachq__v1__observation__pack(old->observation, buf);
    same = memcmp(buf, w->obs, n) == 0;
    free(buf);
    return same;
}

/* Runs fn(t, arg) in a transaction nested in parent: what fn wrote is
 * kept if it returned 0 and dropped if it failed, while the parent goes on.
 * *fn_rc gets fn's result (0 when it asked to end the attempt). Returns 0,
 * or an LMDB code that ends the whole attempt (fn's STORE_TXN_ABORT code,
 * or a failure to begin or commit the nested transaction). Writer thread. */
static int store_nested(struct store *s, MDB_txn *parent, store_txn_cb fn, void *arg, int *fn_rc)
{
    struct store_txn t;
    MDB_txn *child = NULL;
    int rc;

    *fn_rc = 0;
    rc = mdb_txn_begin(s->env, parent, 0, &child);
    if (rc != 0) {
        return rc;
    }
    t.s = s;
    t.txn = child;
    t.write = 1;
    rc = fn(&t, arg);
    if (store_txn_is_abort(rc)) {
        mdb_txn_abort(child);
        return store_txn_abort_mdb(rc);
    }
    if (rc != 0) {
        *fn_rc = rc;
        mdb_txn_abort(child);
        return 0;
    }
    return mdb_txn_commit(child);
}

/* Runs a store_write's function: a function that fails leaves nothing
 * behind while the rest of the batch commits. Writer thread. */
static int store_apply_fn(struct store *s, MDB_txn *parent, struct store_write *w, int *wrote)
{
    int rc = store_nested(s, parent, w->fn, w->fn_arg, &w->rc);

    if (rc == 0 && w->rc == 0) {
        *wrote = 1;
    }
    return rc;
}

/* Builds the three index keys (coach, observer, coachee) of a record. */
static int store_index_keys(const Coachq__V1__Observation *obs, const char *observer,
                            uint8_t keys[3][KEYS_INDEX_MAX], size_t klen[3])
{
    const char *ids[3];

    ids[0] = obs->coach_id;
    ids[1] = observer;
    ids[2] = obs->coachee_id;
    for (int i = 0; i < 3; i++) {
        if (ids[i] == NULL || keys_index_encode(keys[i], KEYS_INDEX_MAX, ids[i], strlen(ids[i]),
                                                obs->started_at, obs->id.data, &klen[i]) != 0) {
            return -EINVAL;
        }
    }
    return 0;
}

/* Takes the superseded version's entries out of the indexes, so that lists
 * show the latest version of each observation. Writer thread. */
static int store_unindex(struct store *s, MDB_txn *txn, const uint8_t prev[16])
{
    Coachq__V1__StoredObservation *old = NULL;
    MDB_dbi dbis[3] = {s->dbi_by_coach, s->dbi_by_observer, s->dbi_by_coachee};
    uint8_t keys[3][KEYS_INDEX_MAX];
    size_t klen[3];
    MDB_val k, v;
    int rc;

    k.mv_data = (void *)prev;
    k.mv_size = KEYS_UUID_LEN;
    rc = mdb_get(txn, s->dbi_obs, &k, &v);
    if (rc != 0) {
        return rc;
    }
    old = coachq__v1__stored_observation__unpack(NULL, v.mv_size, v.mv_data);
    if (old == NULL || old->observation == NULL) {
        coachq__v1__stored_observation__free_unpacked(old, NULL);
        return MDB_CORRUPTED;
    }
    rc = 0;
    if (store_index_keys(old->observation, old->observer_id, keys, klen) == 0) {
        for (int i = 0; i < 3 && rc == 0; i++) {
            k.mv_data = keys[i];
            k.mv_size = klen[i];
            rc = mdb_del(txn, dbis[i], &k, NULL);
            if (rc == MDB_NOTFOUND) {
                rc = 0;
            }
        }
    }
    coachq__v1__stored_observation__free_unpacked(old, NULL);
    return rc;
}

/* Writes the audit entry of a stored observation. Writer thread. */
static int store_audit_obs(struct store *s, MDB_txn *txn, const struct store_write *w,
                           const Coachq__V1__Observation *obs, uint64_t seq, uint32_t version)
{
    struct store_txn t;
    char subject[40];
    char detail[400];
    const char *action = "submit";
    int rc;

    t.s = s;
    t.txn = txn;
    t.write = 1;
    if (obs->calibration_ref.len == KEYS_UUID_LEN) {
        action = "calibrate";
    } else if (version > 1) {
        action = "amend";
    }
    uuid_format(obs->id.data, subject);
    snprintf(detail, sizeof(detail), "seq=%llu version=%u rubric=%s@%u coach=%s coachee=%s",
             (unsigned long long)seq, (unsigned)version, obs->rubric_id,
             (unsigned)obs->rubric_version, obs->coach_id, obs->coachee_id);
    rc = audit_append(&t, w->received_at_ms, w->observer_id, action, subject, detail, w->origin,
                      NULL);
    if (store_txn_is_abort(rc)) {
        return store_txn_abort_mdb(rc);
    }
    if (rc == -ENOMEM) {
        return ENOMEM;
    }
    if (rc != 0) {
        log_event(LOG_ERROR, "store_audit_failed", "subject=%s rc=%d", subject, rc);
    }
    return 0;
}

/* Writes the audit entry of a calibration attempt the exam's limits
 * refused (store_apply()). Writer thread. */
static int store_audit_refused(struct store *s, MDB_txn *txn, const struct store_write *w,
                               const Coachq__V1__Observation *obs, int *wrote)
{
    struct store_txn t;
    char subject[40];
    int rc;

    t.s = s;
    t.txn = txn;
    t.write = 1;
    uuid_format(obs->calibration_ref.data, subject);
    rc = audit_append(&t, w->received_at_ms, w->observer_id, "calibrate.refused", subject,
                      w->fault.message, w->origin, NULL);
    if (store_txn_is_abort(rc)) {
        return store_txn_abort_mdb(rc);
    }
    if (rc == -ENOMEM) {
        return ENOMEM;
    }
    if (rc != 0) {
        log_event(LOG_ERROR, "store_audit_failed", "subject=%s rc=%d", subject, rc);
        return 0;
    }
    *wrote = 1;
    return 0;
}

struct store_calibration {
    const struct store_write *w;
    const Coachq__V1__Observation *obs;
};

static int store_calibrate_txn(struct store_txn *t, void *arg)
{
    const struct store_calibration *c = arg;

    return certs_calibrate(t, c->w->observer_id, c->obs->calibration_ref.data, c->obs->id.data,
                           c->w->received_at_ms, &t->s->policy, NULL);
}

/* Scores a stored calibration attempt in a nested transaction: the attempt
 * stays stored even if scoring it fails (it is scored again with the
 * observer's next attempt). Returns 0 or an LMDB code that ends the whole
 * attempt. Writer thread. */
static int store_calibrate(struct store *s, MDB_txn *txn, const struct store_write *w,
                           const Coachq__V1__Observation *obs)
{
    struct store_calibration c = {w, obs};
    int fn_rc;
    int rc = store_nested(s, txn, store_calibrate_txn, &c, &fn_rc);

    if (rc == 0 && fn_rc != 0) {
        log_event(LOG_ERROR, "store_calibrate_failed", "observer=%s rc=%d err=\"%s\"",
                  w->observer_id, fn_rc, error_strerror(fn_rc));
    }
    return rc;
}

/* Applies one request inside the batch's write transaction. Sets the
 * request's tentative outcome (the owner cannot see it before the batch is
 * completed, and every failure path of the batch overwrites it). Returns 0,
 * or an LMDB code that ends the whole attempt. *wrote is set if anything was
 * put. Writer thread. */
static int store_apply(struct store *s, MDB_txn *txn, MDB_cursor *idx[3], uint64_t *next_seq,
                       struct store_write *w, int *wrote)
{
    Coachq__V1__Observation *obs = NULL;
    Coachq__V1__StoredObservation *old = NULL;
    Coachq__V1__StoredObservation rec = COACHQ__V1__STORED_OBSERVATION__INIT;
    struct rules_amend amend;
    struct store_txn t;
    uint8_t keys[3][KEYS_INDEX_MAX];
    size_t klen[3];
    uint8_t vkey[KEYS_UUID_LEN + 4];
    int calibration;
    MDB_val k, v;
    size_t n;
    int rc = 0;
    int same;

    memset(&amend, 0, sizeof(amend));
    obs = coachq__v1__observation__unpack(NULL, w->obs_len, w->obs);
    if (obs == NULL || obs->id.len != KEYS_UUID_LEN || obs->id.data == NULL ||
        w->observer_id == NULL) {
        w->rc = -EINVAL;
        goto out;
    }
    k.mv_data = obs->id.data;
    k.mv_size = KEYS_UUID_LEN;
    rc = mdb_get(txn, s->dbi_obs, &k, &v);
    if (rc == 0) {
        /* Decode before anything else touches the transaction. */
        old = coachq__v1__stored_observation__unpack(NULL, v.mv_size, v.mv_data);
        if (old == NULL) {
            log_event(LOG_ERROR, "store_record_corrupt", "op=dedupe size=%zu", v.mv_size);
            w->rc = -EIO;
            goto out;
        }
        same = store_same_content(old, w);
        if (same < 0) {
            w->rc = same;
        } else if (same) {
            w->rc = 0;
            w->result = STORE_DUPLICATE;
            w->seq = old->seq;
            w->version = old->version != 0 ? old->version : 1;
            w->stored_at_ms = old->received_at_ms;
        } else {
            /* The existing record is neither changed nor revealed. */
            w->rc = -EEXIST;
        }
        goto out;
    }
    if (rc != MDB_NOTFOUND) {
        goto out;
    }
    rc = 0;
    if (store_index_keys(obs, w->observer_id, keys, klen) != 0) {
        w->rc = -EINVAL;
        goto out;
    }
    if (s->policy.enforce) {
        t.s = s;
        t.txn = txn;
        t.write = 1;
        rc = rules_check_observation(&t, w->observer_id, obs, w->received_at_ms, &s->policy, &amend,
                                     &w->fault);
        if (store_txn_is_abort(rc)) {
            rc = store_txn_abort_mdb(rc);
            goto out;
        }
        if (rc != 0) {
            w->rc = rc;
            rc = 0;
            if (obs->calibration_ref.len == KEYS_UUID_LEN &&
                w->fault.code == COACHQ__V1__CODE__RESOURCE_EXHAUSTED) {
                /* Every calibration attempt is audited, refused ones too:
                 * a lead reads attempts against the exam's limits there. */
                rc = store_audit_refused(s, txn, w, obs, wrote);
            }
            goto out;
        }
    }
    calibration = obs->calibration_ref.len == KEYS_UUID_LEN;

    rec.observation = obs;
    rec.seq = *next_seq;
    rec.received_at_ms = w->received_at_ms;
    /* protobuf-c's field is not const; pack only reads it. */
    rec.observer_id = (char *)w->observer_id;
    rec.version = amend.is_amendment ? amend.version : 1;
    rec.root_id.data = amend.is_amendment ? amend.root : obs->id.data;
    rec.root_id.len = KEYS_UUID_LEN;
    n = coachq__v1__stored_observation__get_packed_size(&rec);
    v.mv_data = NULL;
    v.mv_size = n;
    /* Record ids are random, so this is no append; MDB_RESERVE lets the
     * record be packed straight into its page. */
    rc = mdb_put(txn, s->dbi_obs, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE);
    if (rc != 0) {
        goto out;
    }
    *wrote = 1;
    coachq__v1__stored_observation__pack(&rec, v.mv_data);

    memcpy(vkey, rec.root_id.data, KEYS_UUID_LEN);
    keys_put_be32(vkey + KEYS_UUID_LEN, rec.version);
    k.mv_data = vkey;
    k.mv_size = sizeof(vkey);
    v.mv_data = obs->id.data;
    v.mv_size = KEYS_UUID_LEN;
    rc = mdb_put(txn, s->dbi_versions, &k, &v, 0);
    if (rc != 0) {
        goto out;
    }
    if (amend.is_amendment) {
        rc = store_unindex(s, txn, amend.previous);
        if (rc != 0) {
            goto out;
        }
    }
    for (int i = 0; i < 3; i++) {
        /* A calibration attempt scores a reference session, not a real
         * coach: only its observer's list shows it. */
        if (calibration && i != 1) {
            continue;
        }
        rc = store_put_index(idx[i], keys[i], klen[i]);
        if (rc != 0) {
            goto out;
        }
    }
    rc = store_audit_obs(s, txn, w, obs, rec.seq, rec.version);
    if (rc != 0) {
        goto out;
    }
    t.s = s;
    t.txn = txn;
    t.write = 1;
    rc = agg_observation(&t, &rec, amend.is_amendment ? amend.previous : NULL);
    if (store_txn_is_abort(rc)) {
        rc = store_txn_abort_mdb(rc);
        goto out;
    }
    if (rc != 0) {
        /* The record is already put in this transaction, so the attempt
         * must end rather than store it without its aggregates. Only a
         * stored record that no longer decodes gets here: corruption, which
         * the failure policy treats like an I/O error. */
        log_event(LOG_ERROR, "store_agg_failed", "seq=%" PRIu64 " rc=%d", rec.seq, rc);
        rc = rc == -ENOMEM ? ENOMEM : EIO;
        goto out;
    }
    if (calibration) {
        t.s = s;
        t.txn = txn;
        t.write = 1;
        rc = certs_exam_log(&t, w->observer_id, obs->calibration_ref.data, obs->id.data,
                            w->received_at_ms);
        if (store_txn_is_abort(rc)) {
            rc = store_txn_abort_mdb(rc);
            goto out;
        }
        if (rc != 0) {
            /* Ids were checked above, so only damage or memory gets here;
             * an attempt that is not logged must not be stored. */
            log_event(LOG_ERROR, "store_exam_log_failed", "observer=%s rc=%d", w->observer_id, rc);
            rc = rc == -ENOMEM ? ENOMEM : EIO;
            goto out;
        }
    }
    if (calibration && s->policy.enforce) {
        rc = store_calibrate(s, txn, w, obs);
        if (rc != 0) {
            goto out;
        }
    }
    (*next_seq)++;
    w->rc = 0;
    w->result = STORE_STORED;
    w->seq = rec.seq;
    w->version = rec.version;
    w->stored_at_ms = w->received_at_ms;
out:
    coachq__v1__stored_observation__free_unpacked(old, NULL);
    coachq__v1__observation__free_unpacked(obs, NULL);
    return rc;
}

/* One attempt at writing a batch in one transaction. Writer thread. */
static enum store_batch_end store_batch_try(struct store *s, struct store_batch *b)
{
    MDB_txn *txn = NULL;
    MDB_cursor *idx[3] = {NULL, NULL, NULL};
    MDB_dbi idx_dbi[3] = {s->dbi_by_coach, s->dbi_by_observer, s->dbi_by_coachee};
    MDB_val k, v;
    uint8_t seqbuf[8];
    uint64_t next_seq, first_seq;
    uint64_t t0;
    int wrote = 0;
    int rc;
    enum store_batch_end end = STORE_BATCH_DONE;
    size_t i;
    struct store_write *w;

    b->stored = 0;
    b->duplicates = 0;
    b->commit_us = 0;
    b->committed = 0;
    for (w = b->head, i = 0; i < b->n; w = w->next, i++) {
        w->rc = 0;
        w->result = STORE_PENDING;
        w->seq = 0;
        w->version = 0;
        w->stored_at_ms = 0;
        memset(&w->fault, 0, sizeof(w->fault));
    }

    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size, with no reader
         * transaction open here. */
        pthread_rwlock_wrlock(&s->gate);
        rc = mdb_env_set_mapsize(s->env, 0);
        pthread_rwlock_unlock(&s->gate);
        if (rc == 0) {
            rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        }
    }
    if (rc != 0) {
        txn = NULL;
        end = store_classify(b, rc, "txn_begin");
        goto out;
    }
    k.mv_data = (void *)STORE_META_NEXT_SEQ;
    k.mv_size = sizeof(STORE_META_NEXT_SEQ) - 1;
    rc = mdb_get(txn, s->dbi_meta, &k, &v);
    if (rc != 0 || v.mv_size != 8) {
        end = store_classify(b, rc != 0 ? rc : MDB_CORRUPTED, "read_next_seq");
        goto out;
    }
    next_seq = keys_get_be64(v.mv_data);
    first_seq = next_seq;
    for (i = 0; i < 3; i++) {
        rc = mdb_cursor_open(txn, idx_dbi[i], &idx[i]);
        if (rc != 0) {
            end = store_classify(b, rc, "cursor_open");
            goto out;
        }
    }
    /* The transaction sees its own writes, so two requests for one id in
     * this batch behave exactly as if they came in two batches. */
    for (w = b->head, i = 0; i < b->n; w = w->next, i++) {
        if (w->fn != NULL) {
            rc = store_apply_fn(s, txn, w, &wrote);
        } else {
            rc = store_apply(s, txn, idx, &next_seq, w, &wrote);
        }
        if (rc != 0) {
            end = store_classify(b, rc, "put");
            goto out;
        }
    }
    if (!wrote) {
        /* Nothing new: every answer refers to an earlier, committed record
         * (or is an error), so there is nothing to make durable. */
        goto out;
    }
    if (next_seq != first_seq) {
        keys_put_be64(seqbuf, next_seq);
        v.mv_data = seqbuf;
        v.mv_size = 8;
        rc = mdb_put(txn, s->dbi_meta, &k, &v, 0);
        if (rc != 0) {
            end = store_classify(b, rc, "put_next_seq");
            goto out;
        }
    }
    t0 = store_now_us();
    rc = mdb_txn_commit(txn);
    b->commit_us = store_now_us() - t0;
    txn = NULL; /* freed by commit, whatever it returned */
    if (rc != 0) {
        end = store_classify(b, rc, "commit");
        goto out;
    }
    b->committed = 1;
out:
    if (txn != NULL) {
        /* Also closes the cursors. */
        mdb_txn_abort(txn);
    }
    if (end == STORE_BATCH_DONE) {
        for (w = b->head, i = 0; i < b->n; w = w->next, i++) {
            if (w->rc == 0 && w->result == STORE_STORED) {
                b->stored++;
            } else if (w->rc == 0 && w->result == STORE_DUPLICATE) {
                b->duplicates++;
            }
        }
    }
    return end;
}

/* Doubles the map up to its maximum, holding the reader gate so that no
 * read transaction is open. Returns 0 or -ENOSPC at the maximum. Writer
 * thread. */
static int store_grow(struct store *s)
{
    size_t want;
    int rc;

    if (s->map_size >= s->map_size_max) {
        log_event(LOG_ERROR, "store_map_max", "map_size=%zu", s->map_size);
        return -ENOSPC;
    }
    want = s->map_size > s->map_size_max / 2 ? s->map_size_max : s->map_size * 2;
    pthread_rwlock_wrlock(&s->gate);
    rc = mdb_env_set_mapsize(s->env, want);
    pthread_rwlock_unlock(&s->gate);
    if (rc != 0) {
        log_event(LOG_ERROR, "store_map_grow_failed", "map_size=%zu want=%zu err=\"%s\"",
                  s->map_size, want, mdb_strerror(rc));
        return store_errno(rc);
    }
    log_event(LOG_INFO, "store_map_grow", "from=%zu to=%zu", s->map_size, want);
    s->map_size = want;
    pthread_mutex_lock(&s->mu);
    s->stats.map_grows++;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void store_fail_list(struct store_write *head, size_t n, int rc)
{
    struct store_write *w = head;

    for (size_t i = 0; i < n; i++, w = w->next) {
        w->rc = rc;
        w->result = STORE_PENDING;
        w->seq = 0;
        w->stored_at_ms = 0;
    }
}

static void store_account(struct store *s, const struct store_batch *b)
{
    pthread_mutex_lock(&s->mu);
    if (b->committed) {
        s->stats.commits++;
        s->stats.commit_us_total += b->commit_us;
        if (b->commit_us > s->stats.commit_us_max) {
            s->stats.commit_us_max = b->commit_us;
        }
    }
    s->stats.records_stored += b->stored;
    s->stats.duplicates += b->duplicates;
    pthread_mutex_unlock(&s->mu);
}

/*
 * Makes sure the data file has disk blocks for everything the next commit
 * can append, before LMDB writes a page. LMDB turns a short page write on a
 * full disk into EIO, which the failure policy must treat as fatal; with
 * the blocks reserved first, a full disk shows up here as a clean ENOSPC
 * for this batch, and nothing has been written. The estimate is generous:
 * every record's bytes plus a few new pages for its index entries. Returns
 * 0 or -ENOSPC. Writer thread.
 */
static int store_reserve(struct store *s, const struct store_write *head, size_t n)
{
    const struct store_write *w = head;
    MDB_envinfo info;
    MDB_stat st;
    size_t need, target;
    int fd, rc;

    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0 ||
        mdb_env_get_fd(s->env, &fd) != 0) {
        return 0;
    }
    need = 64 * (size_t)st.ms_psize;
    for (size_t i = 0; i < n && w != NULL; i++, w = w->next) {
        need += w->obs_len + 4 * (size_t)st.ms_psize;
    }
    target = ((size_t)info.me_last_pgno + 1) * st.ms_psize + need;
    if (target > s->map_size) {
        target = s->map_size;
    }
    if (target <= s->reserved) {
        return 0;
    }
    rc = posix_fallocate(fd, 0, (off_t)target);
    if (rc == 0) {
        s->reserved = target;
        return 0;
    }
    if (rc == ENOSPC || rc == EFBIG) {
        log_event(LOG_WARN, "store_disk_full", "reserve_bytes=%zu", target);
        return -ENOSPC;
    }
    /* A file system without fallocate: fall back to LMDB's own writes. */
    log_event(LOG_WARN, "store_reserve_unsupported", "err=\"%s\"", strerror(rc));
    s->reserved = s->map_size_max;
    return 0;
}

/* Writes n requests starting at head, growing the map or splitting the
 * batch as LMDB asks, and leaves every request with its final outcome.
 * Writer thread. */
static void store_write_batch(struct store *s, struct store_write *head, size_t n)
{
    struct store_batch b;
    enum store_batch_end end;
    int rc;

    if (atomic_load(&s->failed)) {
        store_fail_list(head, n, ERROR_STORE_FAILED);
        return;
    }
    memset(&b, 0, sizeof(b));
    b.head = head;
    b.n = n;
    for (;;) {
        rc = store_reserve(s, head, n);
        if (rc != 0) {
            b.batch_rc = rc;
            b.op = "reserve";
            end = STORE_BATCH_FAIL_ALL;
            break;
        }
        end = store_batch_try(s, &b);
        if (end != STORE_BATCH_GROW) {
            break;
        }
        rc = store_grow(s);
        if (rc != 0) {
            b.batch_rc = rc;
            end = STORE_BATCH_FAIL_ALL;
            break;
        }
    }
    switch (end) {
    case STORE_BATCH_DONE:
        store_account(s, &b);
        break;
    case STORE_BATCH_GROW:
        break;
    case STORE_BATCH_SPLIT:
        if (n > 1) {
            struct store_write *second = head;

            for (size_t i = 0; i < n / 2; i++) {
                second = second->next;
            }
            store_write_batch(s, head, n / 2);
            store_write_batch(s, second, n - n / 2);
            break;
        }
        /* One request alone does not fit one transaction. */
        log_event(LOG_WARN, "store_txn_full", "requests=1");
        store_fail_list(head, n, -ENOSPC);
        break;
    case STORE_BATCH_FAIL_ALL:
        log_event(LOG_WARN, "store_batch_failed", "op=%s requests=%zu rc=%d err=\"%s\"",
                  b.op != NULL ? b.op : "grow", n, b.batch_rc, error_strerror(b.batch_rc));
        store_fail_list(head, n, b.batch_rc);
        break;
    case STORE_BATCH_FATAL:
        /* After a failed commit the dirty pages may be lost even if a retry
         * seemed to succeed (fsyncgate): never retry, stop writing. */
        atomic_store(&s->failed, 1);
        log_event(LOG_ERROR, "store_failed",
                  "op=%s requests=%zu mdb_rc=%d err=\"%s\" action=\"refusing all writes; "
                  "restart the server\"",
                  b.op != NULL ? b.op : "?", n, b.mdb_rc, mdb_strerror(b.mdb_rc));
        store_fail_list(head, n, ERROR_STORE_FAILED);
        break;
    }
}

static void *store_writer_main(void *arg)
{
    struct store *s = arg;
    struct store_write *head, *tail, *w;
    size_t n;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->queue_head == NULL && !s->closing) {
            pthread_cond_wait(&s->work_cv, &s->mu);
        }
        if (s->queue_head == NULL) {
            break;
        }
        /* Group commit: take what is queued since the last commit, up to
         * STORE_MAX_BATCH requests (store.h: the cap bounds LMDB's page
         * buffers); the rest make the next batch. */
        head = s->queue_head;
        tail = head;
        n = 1;
        while (tail->next != NULL && n < STORE_MAX_BATCH) {
            tail = tail->next;
            n++;
        }
        s->queue_head = tail->next;
        if (s->queue_head == NULL) {
            s->queue_tail = NULL;
        }
        tail->next = NULL;
        pthread_mutex_unlock(&s->mu);

        store_write_batch(s, head, n);

        pthread_mutex_lock(&s->mu);
        s->stats.batched_requests += n;
        s->stats.last_batch = n;
        if (n > s->stats.max_batch) {
            s->stats.max_batch = n;
        }
        /* store_exec() callers wait on their own request; the rest go to the
         * completed list in order. */
        tail = NULL;
        for (w = head; w != NULL;) {
            struct store_write *next = w->next;

            if (w->exec_wait) {
                w->exec_done = 1;
            } else {
                w->next = NULL;
                if (s->done_tail != NULL) {
                    s->done_tail->next = w;
                } else {
                    s->done_head = w;
                }
                s->done_tail = w;
                tail = w;
            }
            w = next;
        }
        s->completed += n;
        pthread_cond_broadcast(&s->done_cv);
        pthread_mutex_unlock(&s->mu);
        if (s->notify != NULL && tail != NULL) {
            s->notify(s->notify_arg);
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- Reads ------------------------------------------------------------ */

/* The id of the latest version of the observation rooted at root, into
 * latest. Returns 0, -ENOENT or a negative errno. */
static int store_latest_version(struct store *s, MDB_txn *txn, const uint8_t root[16],
                                uint8_t latest[16], uint32_t *version)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t seek[KEYS_UUID_LEN + 4];
    int rc;

    memcpy(seek, root, KEYS_UUID_LEN);
    memset(seek + KEYS_UUID_LEN, 0xff, 4);
    rc = mdb_cursor_open(txn, s->dbi_versions, &cur);
    if (rc != 0) {
        return store_errno(rc);
    }
    k.mv_data = seek;
    k.mv_size = sizeof(seek);
    /* Versions are below 0xffffffff: the key at or after the seek belongs
     * to a later root (or there is none), and the one before it is root's
     * last version if root has any. */
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    } else if (rc == MDB_NOTFOUND) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    }
    if (rc == 0 && (k.mv_size != sizeof(seek) || memcmp(k.mv_data, root, KEYS_UUID_LEN) != 0 ||
                    v.mv_size != KEYS_UUID_LEN)) {
        rc = MDB_NOTFOUND;
    }
    if (rc == 0) {
        memcpy(latest, v.mv_data, KEYS_UUID_LEN);
        if (version != NULL) {
            *version = keys_get_be32((const uint8_t *)k.mv_data + KEYS_UUID_LEN);
        }
    }
    mdb_cursor_close(cur);
    return store_errno(rc);
}

/* Reads and decodes one record inside txn, with its version, root and
 * whether a later version supersedes it. Returns 0, -ENOENT, -EIO or a
 * negative errno. */
static int store_obs_read(struct store *s, MDB_txn *txn, const uint8_t *uuid,
                          Coachq__V1__StoredObservation **out)
{
    Coachq__V1__StoredObservation *r;
    uint8_t latest[KEYS_UUID_LEN];
    MDB_val k, v;
    int rc;

    *out = NULL;
    k.mv_data = (void *)uuid;
    k.mv_size = KEYS_UUID_LEN;
    rc = mdb_get(txn, s->dbi_obs, &k, &v);
    if (rc != 0) {
        return store_errno(rc);
    }
    /* Decoded (copied) while the transaction still pins the page. */
    r = coachq__v1__stored_observation__unpack(NULL, v.mv_size, v.mv_data);
    if (r == NULL) {
        log_event(LOG_ERROR, "store_record_corrupt", "op=get size=%zu", v.mv_size);
        return -EIO;
    }
    if (r->version == 0) {
        /* Schema 1 records are originals. */
        r->version = 1;
    }
    if (r->root_id.len == KEYS_UUID_LEN &&
        store_latest_version(s, txn, r->root_id.data, latest, NULL) == 0) {
        r->superseded = memcmp(latest, uuid, KEYS_UUID_LEN) != 0;
    }
    *out = r;
    return 0;
}

int store_get_txn(struct store_txn *t, const uint8_t id[16], Coachq__V1__StoredObservation **out)
{
    return store_obs_read(t->s, t->txn, id, out);
}

struct store_history_scan {
    struct store *s;
    MDB_txn *txn;
    Coachq__V1__StoredObservation **items;
    size_t n;
    size_t cap;
};

static int store_history_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                             void *arg)
{
    struct store_history_scan *h = arg;
    Coachq__V1__StoredObservation **grown;
    int rc;

    (void)key;
    (void)klen;
    if (vlen != KEYS_UUID_LEN) {
        return -EIO;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap == 0 ? 4 : h->cap * 2;

        grown = realloc(h->items, cap * sizeof(*grown));
        if (grown == NULL) {
            return -ENOMEM;
        }
        h->items = grown;
        h->cap = cap;
    }
    rc = store_obs_read(h->s, h->txn, val, &h->items[h->n]);
    if (rc != 0) {
        return rc == -ENOENT ? -EIO : rc;
    }
    h->n++;
    return 0;
}

int store_history_txn(struct store_txn *t, const uint8_t id[16],
                      Coachq__V1__StoredObservation ***out, size_t *n)
{
    Coachq__V1__StoredObservation *first = NULL;
    struct store_history_scan h;
    uint8_t root[KEYS_UUID_LEN];
    int rc;

    *out = NULL;
    *n = 0;
    rc = store_obs_read(t->s, t->txn, id, &first);
    if (rc != 0) {
        return rc;
    }
    if (first->root_id.len == KEYS_UUID_LEN) {
        memcpy(root, first->root_id.data, KEYS_UUID_LEN);
    } else {
        memcpy(root, id, KEYS_UUID_LEN);
    }
    memset(&h, 0, sizeof(h));
    h.s = t->s;
    h.txn = t->txn;
    if (first->root_id.len != KEYS_UUID_LEN) {
        /* A schema 1 record has no version entries: it is its own history. */
        h.items = malloc(sizeof(*h.items));
        if (h.items == NULL) {
            coachq__v1__stored_observation__free_unpacked(first, NULL);
            return -ENOMEM;
        }
        h.items[0] = first;
        *out = h.items;
        *n = 1;
        return 0;
    }
    coachq__v1__stored_observation__free_unpacked(first, NULL);
    rc = store_txn_scan(t, t->s->dbi_versions, root, KEYS_UUID_LEN, 0, store_history_one, &h);
    if (rc != 0) {
        for (size_t i = 0; i < h.n; i++) {
            coachq__v1__stored_observation__free_unpacked(h.items[i], NULL);
        }
        free(h.items);
        return rc;
    }
    *out = h.items;
    *n = h.n;
    return 0;
}

int store_get(struct store *s, const uint8_t uuid[16], Coachq__V1__StoredObservation **out)
{
    MDB_txn *txn = NULL;
    int rc;

    *out = NULL;
    if (uuid == NULL) {
        return -EINVAL;
    }
    rc = store_read_begin(s, &txn);
    if (rc != 0) {
        return rc;
    }
    rc = store_obs_read(s, txn, uuid, out);
    store_read_end(s, txn);
    return rc;
}

/* Bytes of n as a protobuf varint. */
static size_t store_varint_len(size_t n)
{
    size_t len = 1;

    while (n >= 0x80) {
        n >>= 7;
        len++;
    }
    return len;
}

int store_list(struct store *s, const struct store_query *q, struct store_page *page)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t seek[KEYS_INDEX_MAX];
    size_t seek_len = 0;
    size_t prefix_len = 0;
    size_t id_len;
    const char *cid;
    size_t cid_len;
    const uint8_t *uuid;
    int64_t t;
    struct store_txn view;
    Coachq__V1__StoredObservation *rec = NULL;
    size_t bytes = 0;
    uint32_t scanned = 0;
    int skip_equal = 0;
    int more = 0;
    int rc;

    if (page == NULL) {
        return -EINVAL;
    }
    memset(page, 0, sizeof(*page));
    if (q == NULL || q->person_id == NULL || q->limit < 1 || q->limit > STORE_MAX_PAGE ||
        (q->by != STORE_BY_COACH && q->by != STORE_BY_OBSERVER && q->by != STORE_BY_COACHEE) ||
        (q->cursor == NULL && q->cursor_len != 0)) {
        return -EINVAL;
    }
    id_len = strlen(q->person_id);
    rc = keys_index_bound(seek, sizeof(seek), q->person_id, id_len, q->since, &seek_len);
    if (rc != 0) {
        return -EINVAL;
    }
    prefix_len = 1 + id_len;
    if (q->cursor_len != 0) {
        /* A cursor is the last key of the previous page: one well-formed key
         * of this very person. */
        if (keys_index_decode(q->cursor, q->cursor_len, &cid, &cid_len, NULL, NULL) != 0 ||
            cid_len != id_len || memcmp(cid, q->person_id, id_len) != 0) {
            return -EINVAL;
        }
        if (keys_compare(q->cursor, q->cursor_len, seek, seek_len) >= 0) {
            memcpy(seek, q->cursor, q->cursor_len);
            seek_len = q->cursor_len;
            skip_equal = 1;
        }
    }
    if (q->since >= q->until && q->until != INT64_MAX) {
        return 0;
    }
    page->items = calloc(q->limit, sizeof(*page->items));
    if (page->items == NULL) {
        return -ENOMEM;
    }

    rc = store_read_begin(s, &txn);
    if (rc != 0) {
        goto out;
    }
    view.s = s;
    view.txn = txn;
    view.write = 0;
    rc = mdb_cursor_open(txn, store_index_dbi(s, q->by), &cur);
    if (rc != 0) {
        cur = NULL;
        rc = store_errno(rc);
        goto out;
    }
    k.mv_data = seek;
    k.mv_size = seek_len;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size < prefix_len || memcmp(k.mv_data, seek, prefix_len) != 0) {
            break; /* past this person's keys */
        }
        if (keys_index_decode(k.mv_data, k.mv_size, NULL, NULL, &t, &uuid) != 0) {
            log_event(LOG_ERROR, "store_index_corrupt", "size=%zu", k.mv_size);
            rc = -EIO;
            goto out;
        }
        if (skip_equal && keys_compare(k.mv_data, k.mv_size, seek, seek_len) == 0) {
            skip_equal = 0;
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        skip_equal = 0;
        if (q->until != INT64_MAX && t >= q->until) {
            break;
        }
        if (q->max_scan != 0 && scanned == q->max_scan) {
            /* Whether a record the caller may read follows is unknown: the
             * caller is told so rather than given a place it may not see. */
            page->scan_capped = 1;
            more = page->n > 0;
            break;
        }
        scanned++;
        rc = store_obs_read(s, txn, uuid, &rec);
        if (rc != 0) {
            if (rc == -ENOENT) {
                log_event(LOG_ERROR, "store_index_dangling", "index=%d", (int)q->by);
                rc = -EIO;
            }
            goto out;
        }
        if (q->filter == NULL || q->filter(&view, rec, q->filter_arg)) {
            /* The record's share of a packed ObservationPage: its tag, its
             * length and its bytes. */
            size_t sz = coachq__v1__stored_observation__get_packed_size(rec);
            size_t entry = 1 + store_varint_len(sz) + sz;

            if (page->n == q->limit ||
                (q->max_bytes != 0 && page->n > 0 && bytes + entry > q->max_bytes)) {
                more = 1;
                break;
            }
            page->items[page->n++] = rec;
            rec = NULL;
            bytes += entry;
            memcpy(page->cursor, k.mv_data, k.mv_size);
            page->cursor_len = k.mv_size;
        }
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        rec = NULL;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        rc = store_errno(rc);
        goto out;
    }
    rc = 0;
    if (!more) {
        page->cursor_len = 0;
    }
out:
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    if (txn != NULL) {
        store_read_end(s, txn);
    }
    if (rc != 0) {
        store_page_free(page);
    }
    return rc;
}

void store_page_free(struct store_page *page)
{
    if (page == NULL) {
        return;
    }
    for (size_t i = 0; i < page->n; i++) {
        coachq__v1__stored_observation__free_unpacked(page->items[i], NULL);
    }
    free(page->items);
    page->items = NULL;
    page->n = 0;
    page->cursor_len = 0;
}
