/*
 * store: the LMDB engine (store.h): the environment and its named
 * databases, the reader gate, the writer thread with group commit and the
 * failure policy, and the transaction helpers the record modules use
 * (store_int.h). It calls no record module: the writer hands each
 * observation request to the hook it was opened with (obs_apply.c).
 */

/* glibc's rwlocks prefer readers unless told otherwise, which would let a
 * steady stream of queries starve the writer that waits to grow the map.
 * The writer-preferring kind is a GNU extension. */
#define _GNU_SOURCE

#include "store.h"
#include "store_int.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "grow.h"
#include "keys.h"
#include "log.h"
#include "mdberr.h"
#include "obs_codec.h"
#include "tz.h"

#define STORE_DEFAULT_MAP ((size_t)64 << 20)
#define STORE_DEFAULT_MAP_MAX ((size_t)1 << 40)
#define STORE_DEFAULT_READERS 126u
/* Named databases in use now plus room for the ones the design adds later
 * (aggregates, outcomes, ...). */
#define STORE_MAX_DBS 48

static const char STORE_META_SCHEMA[] = "schema_version";
static const char STORE_META_NEXT_SEQ[] = "next_seq";

static uint64_t store_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
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
    return mdberr_errno(rc);
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

/* Empties t's memo before a write to what it keeps (rubrics,
 * certifications, people, reporting lines) or may keep (programmes and
 * enrolments, a coach's cohorts). */
static void store_txn_memo_forget(struct store_txn *t, MDB_dbi dbi)
{
    const struct store *s = t->s;

    if (t->memo != NULL &&
        (dbi == s->dbi_rubrics || dbi == s->dbi_certs || dbi == s->dbi_people ||
         dbi == s->dbi_lines || dbi == s->dbi_programmes || dbi == s->dbi_enrolments)) {
        store_txn_memo_reset(t->memo);
    }
}

int store_txn_put_raw(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                      const void *val, size_t vlen, int *changed)
{
    MDB_val k, v;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    store_txn_memo_forget(t, dbi);
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

int store_txn_put_tail(struct store_txn *t, MDB_dbi dbi, MDB_val *key, MDB_val *val, unsigned flags)
{
    MDB_val v = *val;
    int rc;

    if (!t->write) {
        return EACCES;
    }
    store_txn_memo_forget(t, dbi);
    /* LMDB checks an append against the tree's last key before it changes
     * anything, and answers MDB_KEYEXIST when the key does not sort after
     * it, whether or not the key is stored. So that answer only sends the
     * key down the ordinary put, with the caller's own flags: a key already
     * stored is then refused (MDB_NOOVERWRITE) or overwritten exactly as
     * before, and the appended put is never taken for either. */
    rc = mdb_put(t->txn, dbi, key, &v, flags | MDB_APPEND);
    if (rc == MDB_KEYEXIST) {
        v = *val;
        rc = mdb_put(t->txn, dbi, key, &v, flags);
    }
    if (rc == 0 || (rc == MDB_KEYEXIST && (flags & MDB_NOOVERWRITE))) {
        *val = v;
    }
    return rc;
}

int store_txn_put_msg_tail(struct store_txn *t, MDB_dbi dbi, const uint8_t *key, size_t klen,
                           const ProtobufCMessage *msg)
{
    MDB_val k, v;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    k.mv_data = (void *)key;
    k.mv_size = klen;
    v.mv_data = NULL;
    v.mv_size = protobuf_c_message_get_packed_size(msg);
    /* Packed straight into its place in the page. */
    rc = store_txn_put_tail(t, dbi, &k, &v, MDB_RESERVE);
    if (rc != 0) {
        return store_txn_write_fail(rc);
    }
    if (v.mv_size > 0) {
        protobuf_c_message_pack(msg, v.mv_data);
    }
    return 0;
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
    store_txn_memo_forget(t, dbi);
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
        return mdberr_errno(rc);
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
    return rc == MDB_NOTFOUND ? 0 : mdberr_errno(rc);
}

uint8_t *store_tree_copy_add(struct store_tree_copy *c, const uint8_t *key, size_t klen,
                             size_t vlen)
{
    size_t need = 8 + klen + vlen;
    uint32_t lens[2] = {(uint32_t)klen, (uint32_t)vlen};
    uint8_t *at;

    if (GROW_ARRAY(c->b, c->cap, c->len + need, 1u << 16) < 0) {
        return NULL;
    }
    at = c->b + c->len;
    memcpy(at, lens, 8);
    memcpy(at + 8, key, klen);
    c->len += need;
    c->n++;
    return at + 8 + klen;
}

int store_tree_copy_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    uint8_t *v = store_tree_copy_add(arg, key, klen, vlen);

    if (v == NULL) {
        return -ENOMEM;
    }
    memcpy(v, val, vlen);
    return 0;
}

int store_tree_refill(struct store_txn *t, MDB_dbi dbi, struct store_tree_copy *c)
{
    MDB_cursor *cur = NULL;
    size_t pos = 0;
    int rc;

    rc = mdb_drop(t->txn, dbi, 0);
    if (rc == 0) {
        rc = mdb_cursor_open(t->txn, dbi, &cur);
    }
    while (rc == 0 && pos < c->len) {
        uint32_t lens[2];
        MDB_val k, v;

        memcpy(lens, c->b + pos, 8);
        k.mv_size = lens[0];
        k.mv_data = c->b + pos + 8;
        v.mv_size = lens[1];
        v.mv_data = c->b + pos + 8 + lens[0];
        rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND);
        pos += 8 + (size_t)lens[0] + lens[1];
    }
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    free(c->b);
    c->b = NULL;
    c->len = c->cap = 0;
    return rc == 0 ? 0 : STORE_TXN_ABORT(rc);
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
        return mdberr_errno(rc);
    }
    return 0;
}

static void store_read_end(struct store *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->gate);
}

/* ---- Open ------------------------------------------------------------- */

/* Checks the schema version in meta, or writes it and the first sequence
 * number into a new store. *upgrade_from gets the older version an
 * existing store is upgraded from (0: none). Returns 0, an LMDB code, or
 * -EPROTO for a version this build does not know. */
static int store_schema_version(struct store *s, MDB_txn *txn, uint32_t *upgrade_from)
{
    MDB_val k, v;
    uint8_t buf[8];
    uint32_t found;
    int rc;

    *upgrade_from = 0;
    k.mv_data = (void *)STORE_META_SCHEMA;
    k.mv_size = sizeof(STORE_META_SCHEMA) - 1;
    rc = mdb_get(txn, s->dbi_meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        keys_put_be32(buf, STORE_SCHEMA_VERSION);
        v.mv_data = buf;
        v.mv_size = 4;
        rc = mdb_put(txn, s->dbi_meta, &k, &v, 0);
        if (rc != 0) {
            return rc;
        }
        /* Sequence numbers start at 1 so that 0 can mean "none". */
        k.mv_data = (void *)STORE_META_NEXT_SEQ;
        k.mv_size = sizeof(STORE_META_NEXT_SEQ) - 1;
        keys_put_be64(buf, 1);
        v.mv_data = buf;
        v.mv_size = 8;
        return mdb_put(txn, s->dbi_meta, &k, &v, 0);
    }
    if (rc != 0) {
        return rc;
    }
    found = v.mv_size == 4 ? keys_get_be32(v.mv_data) : 0;
    if (found == STORE_SCHEMA_VERSION) {
        return 0;
    }
    if (found < 1 || found > STORE_SCHEMA_VERSION) {
        log_event(LOG_ERROR, "store_schema_unknown", "found=%u supported=%d size=%zu",
                  (unsigned)found, STORE_SCHEMA_VERSION, v.mv_size);
        return -EPROTO;
    }
    /* Schema 1 had observations only; 2 adds databases, which are created
     * by store_open_dbs(), and reads version 0 records as version 1. 3 adds
     * the aggregates, built by the upgrade hook from the records. 4 counts
     * a double-coded observation once, not once per peer; 5 adds the
     * line-coach aggregates (agg.h). From any of them the hook rebuilds
     * the aggregates. 6 keys the records by sequence number (obs.h): the
     * hook moves them out of the old obs database. 10 adds the observation
     * programme's plans and assignments (assign.h): new, empty databases
     * that store_open_dbs() creates. 11 adds the coaching days' counts
     * (cadence.h), which the hook counts from the rep index: a coachqd of
     * schema 10 would store observations without counting them, so it
     * must refuse a store of 11. 12 names each rating's behaviour by its
     * place in the record's rubric version (obs_codec.h): the hook
     * rewrites every record, and a coachqd of 11 must refuse a store of
     * 12, whose records it would read without their behaviour ids. */
    keys_put_be32(buf, STORE_SCHEMA_VERSION);
    v.mv_data = buf;
    v.mv_size = 4;
    rc = mdb_put(txn, s->dbi_meta, &k, &v, 0);
    if (rc == 0) {
        *upgrade_from = found;
    }
    return rc;
}

/* Opens (creating) every named database but meta. Returns 0 or an LMDB
 * code. */
static int store_open_dbs(struct store *s, MDB_txn *txn)
{
    static const struct {
        const char *name;
        size_t off;
    } dbs[] = {
        {"obs_seq", offsetof(struct store, dbi_obs)},
        {"obs_ids", offsetof(struct store, dbi_ids)},
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
        {"api_tokens", offsetof(struct store, dbi_tokens)},
        {"actions", offsetof(struct store, dbi_actions)},
        {"actions_by", offsetof(struct store, dbi_actions_by)},
        {"sessions_held", offsetof(struct store, dbi_held)},
        {"commitments", offsetof(struct store, dbi_commitments)},
        {"cadence_days", offsetof(struct store, dbi_cadence)},
        {"plans", offsetof(struct store, dbi_plans)},
        {"assignments", offsetof(struct store, dbi_asg)},
        {"asg_draws", offsetof(struct store, dbi_asg_draws)},
        {"asg_open", offsetof(struct store, dbi_asg_open)},
        {"asg_by_manager", offsetof(struct store, dbi_asg_by_manager)},
        {"asg_due", offsetof(struct store, dbi_asg_due)},
        {"asg_obs_due", offsetof(struct store, dbi_asg_obs_due)},
    };
    int rc = 0;

    for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]) && rc == 0; i++) {
        rc =
            mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, (MDB_dbi *)(void *)((char *)s + dbs[i].off));
    }
    return rc;
}

/* Opens the named databases and checks or writes the schema version, in one
 * write transaction; a store from an older schema is upgraded in it through
 * the upgrade hook. Returns 0 or a negative errno. */
static int store_init_schema(struct store *s)
{
    MDB_txn *txn = NULL;
    uint32_t upgrade_from = 0;
    int rc;

    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0) {
        txn = NULL;
        goto out;
    }
    rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->dbi_meta);
    if (rc == 0) {
        rc = store_schema_version(s, txn, &upgrade_from);
    }
    if (rc == 0) {
        rc = store_open_dbs(s, txn);
    }
    if (rc != 0) {
        goto out;
    }
    if (s->hooks.upgrade != NULL) {
        /* Also at the current schema (upgrade_from 0): the hook checks
         * what is versioned apart from the schema (agg_format_check()). */
        struct store_txn t = {s, txn, 1, NULL, {NULL, NULL, ""}, NULL, NULL, NULL, 0};

        rc = s->hooks.upgrade(&t, upgrade_from);
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
    return mdberr_errno(rc);
}

/* Creates the lock, the condition variables and the reader gate; on
 * failure destroys those it made. Returns 0 or a negative errno. */
static int store_sync_init(struct store *s)
{
    pthread_rwlockattr_t gattr;
    int made = 0;
    int rc;

    rc = -pthread_mutex_init(&s->mu, NULL);
    if (rc != 0) {
        goto out;
    }
    made = 1;
    rc = -pthread_cond_init(&s->work_cv, NULL);
    if (rc != 0) {
        goto out;
    }
    made = 2;
    rc = -pthread_cond_init(&s->done_cv, NULL);
    if (rc != 0) {
        goto out;
    }
    made = 3;
    rc = -pthread_rwlockattr_init(&gattr);
    if (rc != 0) {
        goto out;
    }
#ifdef PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP
    pthread_rwlockattr_setkind_np(&gattr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    rc = -pthread_rwlock_init(&s->gate, &gattr);
    pthread_rwlockattr_destroy(&gattr);
out:
    if (rc != 0) {
        if (made >= 3) {
            pthread_cond_destroy(&s->done_cv);
        }
        if (made >= 2) {
            pthread_cond_destroy(&s->work_cv);
        }
        if (made >= 1) {
            pthread_mutex_destroy(&s->mu);
        }
    }
    return rc;
}

/* Destroys what store_sync_init() made. */
static void store_sync_destroy(struct store *s)
{
    pthread_rwlock_destroy(&s->gate);
    pthread_cond_destroy(&s->done_cv);
    pthread_cond_destroy(&s->work_cv);
    pthread_mutex_destroy(&s->mu);
}

/* Creates and opens the environment in dir (s->env stays NULL if it could
 * not be created) and clears the slots of readers that died. Returns 0 or a
 * negative errno. */
static int store_env_open(struct store *s, const char *dir, unsigned max_readers)
{
    MDB_envinfo info;
    int dead = 0;
    int rc;

    rc = mdb_env_create(&s->env);
    if (rc != 0) {
        s->env = NULL;
        return mdberr_errno(rc);
    }
    rc = mdb_env_set_maxdbs(s->env, STORE_MAX_DBS);
    if (rc == 0) {
        rc = mdb_env_set_maxreaders(s->env, max_readers != 0 ? max_readers : STORE_DEFAULT_READERS);
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
        return mdberr_errno(rc);
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
        return mdberr_errno(rc);
    }
    if (dead > 0) {
        log_event(LOG_WARN, "store_stale_readers", "cleared=%d", dead);
    }
    return 0;
}

/* Runs store_init_schema(), growing the map while upgrading a store needs
 * more room. Returns 0 or a negative errno. */
static int store_schema_open(struct store *s)
{
    int rc = store_init_schema(s);

    while (rc == -ENOSPC && s->map_size < s->map_size_max) {
        /* Building the aggregates of an upgraded store may need a bigger
         * map; nothing else is open on the environment yet. */
        size_t grown = s->map_size > s->map_size_max / 2 ? s->map_size_max : s->map_size * 2;

        rc = mdb_env_set_mapsize(s->env, grown);
        if (rc != 0) {
            return mdberr_errno(rc);
        }
        s->map_size = grown;
        log_event(LOG_INFO, "store_map_grown", "size=%zu reason=schema_upgrade", grown);
        rc = store_init_schema(s);
    }
    return rc;
}

/* Takes the options (NULL: defaults) into s. */
static void store_take_opts(struct store *s, const struct store_opts *opts)
{
    s->map_size = opts != NULL && opts->map_size != 0 ? opts->map_size : STORE_DEFAULT_MAP;
    s->map_size_max =
        opts != NULL && opts->map_size_max != 0 ? opts->map_size_max : STORE_DEFAULT_MAP_MAX;
    if (s->map_size_max < s->map_size) {
        s->map_size_max = s->map_size;
    }
    s->max_batch = opts != NULL && opts->max_batch != 0 ? opts->max_batch : STORE_MAX_BATCH;
    if (s->max_batch > STORE_MAX_BATCH_LIMIT) {
        s->max_batch = STORE_MAX_BATCH_LIMIT;
    }
    store_policy_default(&s->policy);
    if (opts != NULL) {
        s->notify = opts->notify;
        s->notify_arg = opts->notify_arg;
        if (opts->policy != NULL) {
            s->policy = *opts->policy;
        }
    }
}

static void *store_writer_main(void *arg);

/* The histograms' buckets: commit times from 250 us (an fsync on fast
 * NVMe) to 5 s (a stalled disk), and records per commit from 1 to the
 * largest --max-batch worth telling apart. */
static const uint64_t store_commit_us_bounds[] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 5000000,
};
static const uint64_t store_commit_records_bounds[] = {0,  1,  2,   4,   8,   16,
                                                       32, 64, 128, 256, 512, 1024};
#define STORE_NBOUNDS(a) ((unsigned)(sizeof(a) / sizeof(a[0])))

int store_open_hooks(const char *dir, const struct store_opts *opts,
                     const struct store_hooks *hooks, struct store **out)
{
    struct store *s = NULL;
    int sync_ok = 0;
    int rc = -ENOMEM;

    *out = NULL;
    if (dir == NULL || hooks == NULL || hooks->apply == NULL ||
        (hooks->flush != NULL && hooks->discard == NULL)) {
        return -EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        goto out;
    }
    atomic_init(&s->failed, 0);
    s->tz = tz_cache_new(NULL);
    s->codec = obs_codec_cache_new();
    if (s->tz == NULL || s->codec == NULL) {
        goto out;
    }
    s->hooks = *hooks;
    metrics_hist_init(&s->commit_us_hist, store_commit_us_bounds,
                      STORE_NBOUNDS(store_commit_us_bounds));
    metrics_hist_init(&s->commit_records_hist, store_commit_records_bounds,
                      STORE_NBOUNDS(store_commit_records_bounds));
    store_take_opts(s, opts);
    rc = store_sync_init(s);
    if (rc != 0) {
        goto out;
    }
    sync_ok = 1;
    rc = store_env_open(s, dir, opts != NULL ? opts->max_readers : 0);
    if (rc != 0) {
        goto out;
    }
    rc = store_schema_open(s);
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
        if (sync_ok) {
            store_sync_destroy(s);
        }
        tz_cache_free(s->tz);
        obs_codec_cache_free(s->codec);
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
    store_txn_memo_clear(s->writer_memo);
    free(s->writer_memo);
    mdb_env_close(s->env);
    store_sync_destroy(s);
    tz_cache_free(s->tz);
    obs_codec_cache_free(s->codec);
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
    memset(&t, 0, sizeof(t));
    t.s = s;
    t.txn = txn;
    t.write = 0;
    t.batch = NULL;
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
    MDB_envinfo info;
    MDB_stat st;

    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    out->queue_depth = s->submitted - s->completed;
    pthread_mutex_unlock(&s->mu);
    /* The gate keeps the writer from resizing the map meanwhile. */
    pthread_rwlock_rdlock(&s->gate);
    if (mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &st) == 0) {
        out->map_size = info.me_mapsize;
        out->map_used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    }
    pthread_rwlock_unlock(&s->gate);
}

const struct metrics_hist *store_commit_time_hist(const struct store *s)
{
    return &s->commit_us_hist;
}

const struct metrics_hist *store_commit_records_hist(const struct store *s)
{
    return &s->commit_records_hist;
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
    return mdberr_errno(rc);
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

int store_txn_nested(struct store_txn *parent, store_txn_cb fn, void *arg, int *fn_rc)
{
    struct store_txn t;
    MDB_txn *child = NULL;
    int rc;

    *fn_rc = 0;
    rc = mdb_txn_begin(parent->s->env, parent->txn, 0, &child);
    if (rc != 0) {
        return rc;
    }
    memset(&t, 0, sizeof(t));
    t.s = parent->s;
    t.txn = child;
    t.write = 1;
    t.batch = NULL;
    t.rubric_put = parent->rubric_put;
    /* What the child sees of zones may change in it; the parent looks
     * them up again afterwards. */
    memset(&parent->zones, 0, sizeof(parent->zones));
    store_txn_memo_reset(parent->memo);
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
    rc = mdb_txn_commit(child);
    if (rc == 0) {
        parent->rubric_put |= t.rubric_put;
    }
    return rc;
}

/* Runs a store_write's function: a function that fails leaves nothing
 * behind while the rest of the batch commits. Writer thread. */
static int store_apply_fn(struct store_txn *t, struct store_write *w, int *wrote)
{
    int rc = store_txn_nested(t, w->fn, w->fn_arg, &w->rc);

    if (rc == 0 && w->rc == 0) {
        *wrote = 1;
    }
    return rc;
}

/* Resets the batch's outcomes and begins its write transaction. Returns 0
 * or the LMDB code that ends the attempt. Writer thread. */
static int store_batch_begin(struct store *s, struct store_batch *b, MDB_txn **txn)
{
    struct store_write *w;
    size_t i;
    int rc;

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
    rc = mdb_txn_begin(s->env, NULL, 0, txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size, with no reader
         * transaction open here. */
        pthread_rwlock_wrlock(&s->gate);
        rc = mdb_env_set_mapsize(s->env, 0);
        pthread_rwlock_unlock(&s->gate);
        if (rc == 0) {
            rc = mdb_txn_begin(s->env, NULL, 0, txn);
        }
    }
    if (rc != 0) {
        *txn = NULL;
    }
    return rc;
}

/* True when the hook deferred work in t's batch (store_flush_cb): one of
 * its slots is set. Today a record that merges counts always sets t->batch
 * too; each slot is still tested on its own, so that a hook that defers
 * only one kind of work is flushed and discarded all the same. */
static int store_deferred(const struct store_txn *t)
{
    return t->batch != NULL || t->batch_actions != NULL || t->batch_cadence != NULL;
}

/* Writes what the hook deferred so far in this attempt (store_flush_cb).
 * Returns 0 or the LMDB code that ends the attempt. Writer thread. */
static int store_flush(struct store *s, struct store_txn *t)
{
    int rc;

    if (s->hooks.flush == NULL || !store_deferred(t)) {
        return 0;
    }
    rc = s->hooks.flush(t);
    t->batch = NULL;
    t->batch_actions = NULL;
    t->batch_cadence = NULL;
    return rc;
}

/* One attempt at writing a batch in one transaction. Writer thread. */
static enum store_batch_end store_batch_try(struct store *s, struct store_batch *b)
{
    MDB_txn *txn = NULL;
    struct store_txn t = {s, NULL, 1, NULL, {NULL, NULL, ""}, NULL, NULL, NULL, 0};
    MDB_val k, v;
    uint8_t seqbuf[8];
    uint64_t next_seq, first_seq;
    uint64_t t0;
    int wrote = 0;
    int rc;
    enum store_batch_end end = STORE_BATCH_DONE;
    size_t i;
    struct store_write *w;

    /* The memo's tables (about 460 KiB at their caps) are kept from batch
     * to batch: made and zeroed once, emptied by a generation step. */
    if (s->writer_memo == NULL) {
        s->writer_memo = calloc(1, sizeof(*s->writer_memo));
    }
    t.memo = s->writer_memo;
    rc = store_batch_begin(s, b, &txn);
    if (rc != 0) {
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
    t.s = s;
    t.txn = txn;
    t.write = 1;
    t.batch = NULL;
    /* The transaction sees its own writes, so two requests for one id in
     * this batch behave exactly as if they came in two batches. */
    for (w = b->head, i = 0; i < b->n; w = w->next, i++) {
        if (w->fn != NULL) {
            rc = store_flush(s, &t);
            if (rc != 0) {
                end = store_classify(b, rc, "flush");
                goto out;
            }
            rc = store_apply_fn(&t, w, &wrote);
        } else {
            rc = s->hooks.apply(&t, w, &next_seq, &wrote);
        }
        if (rc != 0) {
            end = store_classify(b, rc, "put");
            goto out;
        }
    }
    rc = store_flush(s, &t);
    if (rc != 0) {
        end = store_classify(b, rc, "flush");
        goto out;
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
    if (s->hooks.discard != NULL && store_deferred(&t)) {
        s->hooks.discard(&t);
    }
    /* Nothing the attempt read may answer the next one: the memo is
     * emptied, its tables kept. */
    store_txn_memo_reset(s->writer_memo);
    if (txn != NULL) {
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
        return mdberr_errno(rc);
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
    if (b->committed) {
        metrics_hist_observe(&s->commit_us_hist, b->commit_us);
        metrics_hist_observe(&s->commit_records_hist, b->stored);
    }
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
    /* The file only grows, so the blocks below s->reserved are allocated
     * already: asking for the whole file again made the file system walk
     * every extent of it on each commit (about 4% of the writer at 64 x 1). */
    rc = posix_fallocate(fd, (off_t)s->reserved, (off_t)(target - s->reserved));
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
    struct timespec cpu0, cpu1;
    uint64_t cpu_us;
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
         * max_batch requests (store.h: the cap bounds LMDB's page
         * buffers); the rest make the next batch. */
        head = s->queue_head;
        tail = head;
        n = 1;
        while (tail->next != NULL && n < s->max_batch) {
            tail = tail->next;
            n++;
        }
        s->queue_head = tail->next;
        if (s->queue_head == NULL) {
            s->queue_tail = NULL;
        }
        tail->next = NULL;
        pthread_mutex_unlock(&s->mu);

        /* The writer's own CPU time for the batch (decode, rules,
         * aggregates, LMDB), not the time it waited for the disk. */
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
        store_write_batch(s, head, n);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
        cpu_us = (uint64_t)((cpu1.tv_sec - cpu0.tv_sec) * 1000000LL +
                            (cpu1.tv_nsec - cpu0.tv_nsec) / 1000);

        pthread_mutex_lock(&s->mu);
        s->stats.writer_cpu_us += cpu_us;
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
