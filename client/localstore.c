/*
 * localstore: the observer's LMDB store (localstore.h).
 *
 * Four named databases in one environment:
 *   session  "current"                       -> LocalSession
 *   outbox   observation id (16 bytes)       -> OutboxEntry
 *   rubrics  len(id) id be32(version)        -> Rubric
 *   meta     "people"                        -> PeopleList
 *   meta     "cert"                          -> CertStatus (the observer's own)
 * Values are packed protobuf. Every write is its own transaction, committed
 * with LMDB's default fsync, so a returned 0 means the bytes are on disk.
 */
#include "localstore.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mdberr.h"
#include "pbmem.h"
#include "str.h"

#define LS_PATH_MAX 1024
#define LS_MAP_START ((size_t)64 << 20)
/* The store holds one observer's sessions: far below this. */
#define LS_MAP_MAX ((size_t)1 << 30)
/* No value we write comes near this; a bigger one is damage, not data. */
#define LS_VALUE_MAX ((size_t)64 << 20)
/* A rubric key is one length byte, the id and a 4-byte version. */
#define LS_RUBRIC_ID_MAX 200
#define LS_RUBRIC_KEY_MAX (1 + LS_RUBRIC_ID_MAX + 4)
/* Bounded retries when another process grows the map under us. */
#define LS_RETRIES 8

static const char LS_KEY_SESSION[] = "current";
static const char LS_KEY_PEOPLE[] = "people";
static const char LS_KEY_CERT[] = "cert";

struct localstore {
    MDB_env *env;
    MDB_dbi dbi_session;
    MDB_dbi dbi_outbox;
    MDB_dbi dbi_rubrics;
    MDB_dbi dbi_meta;
    size_t map_size;
    char path[LS_PATH_MAX];
};

/* ---- Errors ------------------------------------------------------------- */

/* ---- Opening ------------------------------------------------------------ */

/* Writes the default directory into out: $XDG_DATA_HOME/coachq when that is
 * an absolute path (the XDG rule), else $HOME/.local/share/coachq. */
static int ls_default_dir(char *out, size_t len)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;

    if (xdg != NULL && xdg[0] == '/') {
        n = snprintf(out, len, "%s/coachq", xdg);
    } else if (home != NULL && home[0] != '\0') {
        n = snprintf(out, len, "%s/.local/share/coachq", home);
    } else {
        return -ENOENT;
    }
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* mkdir -p with mode 0700 for every directory it creates: the store holds
 * judgements about people, readable by its owner only. */
static int ls_mkdirs(const char *path)
{
    char buf[LS_PATH_MAX];
    struct stat st;

    if (str_copy(buf, sizeof(buf), path) < 0) {
        return -ENAMETOOLONG;
    }
    if (buf[0] == '\0') {
        return -EINVAL;
    }
    /* Each prefix ending before a '/', then the whole path. */
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
            return -errno;
        }
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
        return -errno;
    }
    if (stat(buf, &st) < 0) {
        return -errno;
    }
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Keeps ls->map_size in step with the environment, which may have grown in
 * another process or been opened larger than asked. */
static void ls_sync_map_size(struct localstore *ls)
{
    MDB_envinfo info;

    if (mdb_env_info(ls->env, &info) == 0 && info.me_mapsize > ls->map_size) {
        ls->map_size = info.me_mapsize;
    }
}

static int ls_open_dbis(struct localstore *ls)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(ls->env, NULL, 0, &txn);

    if (rc != 0) {
        return mdberr_errno(rc);
    }
    rc = mdb_dbi_open(txn, "session", MDB_CREATE, &ls->dbi_session);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "outbox", MDB_CREATE, &ls->dbi_outbox);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "rubrics", MDB_CREATE, &ls->dbi_rubrics);
    }
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &ls->dbi_meta);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return mdberr_errno(rc);
    }
    return mdberr_errno(mdb_txn_commit(txn));
}

/* Creates and opens the environment in ls->path with its databases. */
static int ls_open_env(struct localstore *ls)
{
    int rc;

    ls->map_size = LS_MAP_START;
    rc = mdberr_errno(mdb_env_create(&ls->env));
    if (rc == 0) {
        rc = mdberr_errno(mdb_env_set_maxdbs(ls->env, 4));
    }
    if (rc == 0) {
        rc = mdberr_errno(mdb_env_set_mapsize(ls->env, ls->map_size));
    }
    if (rc == 0) {
        /* Flags 0: no MDB_NOSYNC, MDB_NOMETASYNC, MDB_WRITEMAP or
         * MDB_MAPASYNC, so that every commit is on disk when it returns. */
        rc = mdberr_errno(mdb_env_open(ls->env, ls->path, 0, 0600));
    }
    if (rc == 0) {
        rc = ls_open_dbis(ls);
    }
    if (rc == 0) {
        ls_sync_map_size(ls);
    }
    return rc;
}

int localstore_open(const char *dir, struct localstore **out, char *err, size_t errlen)
{
    struct localstore *ls = NULL;
    int rc = -ENOMEM;

    *out = NULL;
    ls = calloc(1, sizeof(*ls));
    if (ls == NULL) {
        snprintf(err, errlen, "local store: out of memory");
        goto out;
    }
    if (dir != NULL) {
        rc = str_copy(ls->path, sizeof(ls->path), dir);
    } else {
        rc = ls_default_dir(ls->path, sizeof(ls->path));
    }
    if (rc == -ENOENT) {
        snprintf(err, errlen,
                 "local store: neither XDG_DATA_HOME nor HOME is set (set COACHQ_DATA_DIR)");
        goto out;
    }
    if (rc < 0) {
        snprintf(err, errlen, "local store: the directory name is too long");
        goto out;
    }
    rc = ls_mkdirs(ls->path);
    if (rc < 0) {
        snprintf(err, errlen, "local store: cannot create the directory %s: %s", ls->path,
                 strerror(-rc));
        goto out;
    }
    rc = ls_open_env(ls);
    if (rc < 0) {
        snprintf(err, errlen, "local store: cannot open the LMDB environment in %s: %s", ls->path,
                 strerror(-rc));
        goto out;
    }
    *out = ls;
    ls = NULL;
out:
    localstore_close(ls);
    return rc;
}

void localstore_close(struct localstore *ls)
{
    if (ls == NULL) {
        return;
    }
    if (ls->env != NULL) {
        mdb_env_close(ls->env);
    }
    free(ls);
}

const char *localstore_path(const struct localstore *ls)
{
    return ls->path;
}

/* ---- Transactions ------------------------------------------------------- */

/* Begins a transaction; adopts a map another process grew (MDB_MAP_RESIZED)
 * and tries again. */
static int ls_begin(struct localstore *ls, unsigned flags, MDB_txn **txn)
{
    int rc = MDB_MAP_RESIZED;

    for (int i = 0; i < LS_RETRIES && rc == MDB_MAP_RESIZED; i++) {
        rc = mdb_txn_begin(ls->env, NULL, flags, txn);
        if (rc == MDB_MAP_RESIZED) {
            mdb_env_set_mapsize(ls->env, 0);
            ls_sync_map_size(ls);
        }
    }
    return rc;
}

/* Doubles the map after MDB_MAP_FULL. No transaction is open here (single
 * thread), as mdb_env_set_mapsize() requires. */
static int ls_grow(struct localstore *ls)
{
    size_t want = ls->map_size * 2;

    if (ls->map_size >= LS_MAP_MAX) {
        return -ENOSPC;
    }
    if (want > LS_MAP_MAX) {
        want = LS_MAP_MAX;
    }
    if (mdb_env_set_mapsize(ls->env, want) != 0) {
        return -ENOSPC;
    }
    ls->map_size = want;
    ls_sync_map_size(ls);
    return 0;
}

/* The steps of one write, run inside its transaction. Returns an MDB_* code
 * or a negative errno; anything but 0 aborts the transaction. */
typedef int (*ls_write_cb)(struct localstore *ls, MDB_txn *txn, const void *arg);

/* Runs cb in a write transaction and commits it durably; when the map is
 * full, grows it and runs cb again from the start. */
static int ls_write(struct localstore *ls, ls_write_cb cb, const void *arg)
{
    for (;;) {
        MDB_txn *txn = NULL;
        int rc = ls_begin(ls, 0, &txn);

        if (rc != 0) {
            return mdberr_errno(rc);
        }
        rc = cb(ls, txn, arg);
        if (rc == 0) {
            rc = mdb_txn_commit(txn);
        } else {
            mdb_txn_abort(txn);
        }
        if (rc != MDB_MAP_FULL) {
            return mdberr_errno(rc);
        }
        rc = ls_grow(ls);
        if (rc < 0) {
            return rc;
        }
    }
}

/* Packs m straight into the map under key (MDB_RESERVE saves a copy). */
static int ls_put_msg(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                      const ProtobufCMessage *m)
{
    MDB_val k = {klen, (void *)key};
    MDB_val v;
    size_t n = protobuf_c_message_get_packed_size(m);
    int rc;

    if (n > LS_VALUE_MAX) {
        return -EMSGSIZE;
    }
    v.mv_size = n;
    v.mv_data = NULL;
    rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc != 0) {
        return rc;
    }
    protobuf_c_message_pack(m, v.mv_data);
    return 0;
}

static int ls_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
    MDB_val k = {klen, (void *)key};
    int rc = mdb_del(txn, dbi, &k, NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Decodes a value read from the map into a copy the caller owns. A NULL
 * from protobuf-c (damaged bytes, or out of memory) is -EBADMSG. */
static int ls_decode(const MDB_val *v, const ProtobufCMessageDescriptor *desc,
                     ProtobufCMessage **out)
{
    if (v->mv_size > LS_VALUE_MAX) {
        return -EBADMSG;
    }
    *out = protobuf_c_message_unpack(desc, NULL, v->mv_size, v->mv_data);
    if (*out != NULL && pbmem_field_zero(*out)) {
        /* It could be saved, but never read back (pbmem.h). */
        protobuf_c_message_free_unpacked(*out, NULL);
        *out = NULL;
    }
    return *out != NULL ? 0 : -EBADMSG;
}

int localstore_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                      ProtobufCMessage **out)
{
    MDB_val v = {len, (void *)data};

    return ls_decode(&v, desc, out);
}

/* Reads and decodes one value; -ENOENT when the key is absent. */
static int ls_get_msg(struct localstore *ls, MDB_dbi dbi, const void *key, size_t klen,
                      const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out)
{
    MDB_txn *txn = NULL;
    MDB_val k = {klen, (void *)key};
    MDB_val v;
    int rc;

    *out = NULL;
    rc = ls_begin(ls, MDB_RDONLY, &txn);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0) {
        rc = ls_decode(&v, desc, out);
    }
    mdb_txn_abort(txn);
    return mdberr_errno(rc);
}

/* Decoded messages gathered in a read transaction, handed to callbacks
 * after it ended (so that they may write to the store). */
struct ls_msgs {
    ProtobufCMessage **v;
    size_t n;
    size_t cap;
};

static int ls_msgs_add(struct ls_msgs *m, const MDB_val *val, const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *msg = NULL;
    int rc;

    if (m->n == m->cap) {
        size_t cap = m->cap == 0 ? 16 : m->cap * 2;
        ProtobufCMessage **nv = realloc(m->v, cap * sizeof(*nv));

        if (nv == NULL) {
            return -ENOMEM;
        }
        m->v = nv;
        m->cap = cap;
    }
    rc = ls_decode(val, d, &msg);
    if (rc < 0) {
        return rc;
    }
    m->v[m->n++] = msg;
    return 0;
}

static void ls_msgs_free(struct ls_msgs *m)
{
    for (size_t i = 0; i < m->n; i++) {
        protobuf_c_message_free_unpacked(m->v[i], NULL);
    }
    free(m->v);
}

/* Whether a scan keeps the value of key k, given the key after it (NULL
 * after the last key). */
typedef int (*ls_keep_cb)(const MDB_val *k, const MDB_val *next);

/* Decodes every value of dbi that keep keeps (NULL keep: every value). */
static int ls_scan(struct localstore *ls, MDB_dbi dbi, const ProtobufCMessageDescriptor *desc,
                   ls_keep_cb keep, struct ls_msgs *m)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v, nk, nv;
    int rc;

    rc = ls_begin(ls, MDB_RDONLY, &txn);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc != 0) {
        goto out;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        /* Values are valid until the read transaction ends, so the current
         * one survives the step to the next key. */
        int nrc = mdb_cursor_get(cur, &nk, &nv, MDB_NEXT);

        if (nrc != 0 && nrc != MDB_NOTFOUND) {
            rc = nrc;
            break;
        }
        if (keep == NULL || keep(&k, nrc == 0 ? &nk : NULL)) {
            rc = ls_msgs_add(m, &v, desc);
            if (rc < 0) {
                break;
            }
        }
        if (nrc == MDB_NOTFOUND) {
            break;
        }
        k = nk;
        v = nv;
    }
    if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
out:
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return mdberr_errno(rc);
}

/* ---- Session ------------------------------------------------------------ */

static int ls_session_put_cb(struct localstore *ls, MDB_txn *txn, const void *arg)
{
    return ls_put_msg(txn, ls->dbi_session, LS_KEY_SESSION, sizeof(LS_KEY_SESSION) - 1, arg);
}

int localstore_session_save(struct localstore *ls, const Coachq__V1__LocalSession *s)
{
    return ls_write(ls, ls_session_put_cb, s);
}

int localstore_session_load(struct localstore *ls, Coachq__V1__LocalSession **out)
{
    return ls_get_msg(ls, ls->dbi_session, LS_KEY_SESSION, sizeof(LS_KEY_SESSION) - 1,
                      &coachq__v1__local_session__descriptor, (ProtobufCMessage **)out);
}

static int ls_session_del_cb(struct localstore *ls, MDB_txn *txn, const void *arg)
{
    (void)arg;
    return ls_del(txn, ls->dbi_session, LS_KEY_SESSION, sizeof(LS_KEY_SESSION) - 1);
}

int localstore_session_clear(struct localstore *ls)
{
    return ls_write(ls, ls_session_del_cb, NULL);
}

/* ---- Outbox ------------------------------------------------------------- */

static int ls_entry_ok(const Coachq__V1__OutboxEntry *e)
{
    return e != NULL && e->observation != NULL && e->observation->id.len == 16;
}

static int ls_outbox_put_cb(struct localstore *ls, MDB_txn *txn, const void *arg)
{
    const Coachq__V1__OutboxEntry *e = arg;

    return ls_put_msg(txn, ls->dbi_outbox, e->observation->id.data, 16, arg);
}

static int ls_finish_cb(struct localstore *ls, MDB_txn *txn, const void *arg)
{
    int rc = ls_outbox_put_cb(ls, txn, arg);

    return rc != 0 ? rc : ls_session_del_cb(ls, txn, NULL);
}

int localstore_session_finish(struct localstore *ls, const Coachq__V1__OutboxEntry *e)
{
    if (!ls_entry_ok(e)) {
        return -EINVAL;
    }
    return ls_write(ls, ls_finish_cb, e);
}

int localstore_outbox_put(struct localstore *ls, const Coachq__V1__OutboxEntry *e)
{
    if (!ls_entry_ok(e)) {
        return -EINVAL;
    }
    return ls_write(ls, ls_outbox_put_cb, e);
}

int localstore_outbox_get(struct localstore *ls, const uint8_t id[16],
                          Coachq__V1__OutboxEntry **out)
{
    return ls_get_msg(ls, ls->dbi_outbox, id, 16, &coachq__v1__outbox_entry__descriptor,
                      (ProtobufCMessage **)out);
}

static int ls_outbox_del_cb(struct localstore *ls, MDB_txn *txn, const void *arg)
{
    MDB_val k = {16, (void *)arg};

    /* Unlike the session, a missing entry is news for the caller. */
    return mdb_del(txn, ls->dbi_outbox, &k, NULL);
}

int localstore_outbox_del(struct localstore *ls, const uint8_t id[16])
{
    return ls_write(ls, ls_outbox_del_cb, id);
}

/* Oldest queued first; the id breaks ties so that the order is stable. */
static int ls_outbox_cmp(const void *a, const void *b)
{
    const Coachq__V1__OutboxEntry *x = *(Coachq__V1__OutboxEntry *const *)a;
    const Coachq__V1__OutboxEntry *y = *(Coachq__V1__OutboxEntry *const *)b;

    if (x->queued_at_ms != y->queued_at_ms) {
        return x->queued_at_ms < y->queued_at_ms ? -1 : 1;
    }
    if (x->observation == NULL || y->observation == NULL) {
        return (x->observation != NULL) - (y->observation != NULL);
    }
    return memcmp(x->observation->id.data, y->observation->id.data, 16);
}

int localstore_outbox_list(struct localstore *ls, localstore_outbox_cb cb, void *arg)
{
    struct ls_msgs m = {0};
    int rc = ls_scan(ls, ls->dbi_outbox, &coachq__v1__outbox_entry__descriptor, NULL, &m);

    /* Every entry came from localstore_outbox_put() (a 16-byte id); one
     * that did not is damage. */
    for (size_t i = 0; rc == 0 && i < m.n; i++) {
        if (!ls_entry_ok((Coachq__V1__OutboxEntry *)m.v[i])) {
            rc = -EBADMSG;
        }
    }
    if (rc == 0 && m.n > 1) {
        qsort(m.v, m.n, sizeof(m.v[0]), ls_outbox_cmp);
    }
    for (size_t i = 0; rc == 0 && i < m.n; i++) {
        rc = cb((const Coachq__V1__OutboxEntry *)m.v[i], arg);
    }
    ls_msgs_free(&m);
    return rc > 0 ? 0 : rc;
}

/* ---- Rubrics ------------------------------------------------------------ */

/* Writes len(id) id [be32 version] into key; returns its length, or 0 for
 * an id that is empty or too long for a key. */
static size_t ls_rubric_key(uint8_t key[LS_RUBRIC_KEY_MAX], const char *id, int with_version,
                            uint32_t version)
{
    size_t n = id != NULL ? strlen(id) : 0;

    if (n == 0 || n > LS_RUBRIC_ID_MAX) {
        return 0;
    }
    key[0] = (uint8_t)n;
    memcpy(key + 1, id, n);
    if (!with_version) {
        return 1 + n;
    }
    key[1 + n] = (uint8_t)(version >> 24);
    key[2 + n] = (uint8_t)(version >> 16);
    key[3 + n] = (uint8_t)(version >> 8);
    key[4 + n] = (uint8_t)version;
    return 5 + n;
}

static int ls_rubric_put_cb(struct localstore *ls, MDB_txn *txn, const void *arg)
{
    const Coachq__V1__Rubric *r = arg;
    uint8_t key[LS_RUBRIC_KEY_MAX];
    size_t klen = ls_rubric_key(key, r->id, 1, r->version);

    return ls_put_msg(txn, ls->dbi_rubrics, key, klen, arg);
}

int localstore_rubric_put(struct localstore *ls, const Coachq__V1__Rubric *r)
{
    uint8_t key[LS_RUBRIC_KEY_MAX];

    if (r == NULL || r->version == 0 || ls_rubric_key(key, r->id, 1, r->version) == 0) {
        return -EINVAL;
    }
    return ls_write(ls, ls_rubric_put_cb, r);
}

/* The latest version: the last key with the id's prefix (versions sort
 * big-endian). */
static int ls_rubric_latest(MDB_txn *txn, MDB_dbi dbi, const uint8_t *prefix, size_t plen,
                            MDB_val *val)
{
    MDB_cursor *cur = NULL;
    MDB_val k = {plen, (void *)prefix};
    MDB_val v;
    int found = 0;
    int rc = mdb_cursor_open(txn, dbi, &cur);

    if (rc != 0) {
        return rc;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && k.mv_size == plen + 4 && memcmp(k.mv_data, prefix, plen) == 0) {
        *val = v;
        found = 1;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    return found ? 0 : MDB_NOTFOUND;
}

int localstore_rubric_get(struct localstore *ls, const char *id, uint32_t version,
                          Coachq__V1__Rubric **out)
{
    uint8_t key[LS_RUBRIC_KEY_MAX];
    size_t klen = ls_rubric_key(key, id, version != 0, version);
    MDB_txn *txn = NULL;
    MDB_val v;
    int rc;

    *out = NULL;
    if (klen == 0) {
        return -ENOENT;
    }
    if (version != 0) {
        return ls_get_msg(ls, ls->dbi_rubrics, key, klen, &coachq__v1__rubric__descriptor,
                          (ProtobufCMessage **)out);
    }
    rc = ls_begin(ls, MDB_RDONLY, &txn);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    rc = ls_rubric_latest(txn, ls->dbi_rubrics, key, klen, &v);
    if (rc == 0) {
        rc = ls_decode(&v, &coachq__v1__rubric__descriptor, (ProtobufCMessage **)out);
    }
    mdb_txn_abort(txn);
    return mdberr_errno(rc);
}

/* Keeps a rubric key when the next key is another rubric (or none): the
 * last version of each id. */
static int ls_rubric_is_last(const MDB_val *k, const MDB_val *next)
{
    return next == NULL || next->mv_size != k->mv_size ||
           memcmp(next->mv_data, k->mv_data, k->mv_size - 4) != 0;
}

static int ls_rubric_cmp(const void *a, const void *b)
{
    const Coachq__V1__Rubric *x = *(Coachq__V1__Rubric *const *)a;
    const Coachq__V1__Rubric *y = *(Coachq__V1__Rubric *const *)b;

    return strcmp(x->id, y->id);
}

int localstore_rubric_list(struct localstore *ls, localstore_rubric_cb cb, void *arg)
{
    struct ls_msgs m = {0};
    int rc = ls_scan(ls, ls->dbi_rubrics, &coachq__v1__rubric__descriptor, ls_rubric_is_last, &m);

    /* Keys sort by id length first; people read ids alphabetically. */
    if (rc == 0 && m.n > 1) {
        qsort(m.v, m.n, sizeof(m.v[0]), ls_rubric_cmp);
    }
    for (size_t i = 0; rc == 0 && i < m.n; i++) {
        rc = cb((const Coachq__V1__Rubric *)m.v[i], arg);
    }
    ls_msgs_free(&m);
    return rc > 0 ? 0 : rc;
}

/* ---- People ------------------------------------------------------------- */

static int ls_people_put_cb(struct localstore *ls, MDB_txn *txn, const void *arg)
{
    return ls_put_msg(txn, ls->dbi_meta, LS_KEY_PEOPLE, sizeof(LS_KEY_PEOPLE) - 1, arg);
}

int localstore_people_put(struct localstore *ls, const Coachq__V1__PeopleList *p)
{
    return ls_write(ls, ls_people_put_cb, p);
}

int localstore_people_get(struct localstore *ls, Coachq__V1__PeopleList **out)
{
    return ls_get_msg(ls, ls->dbi_meta, LS_KEY_PEOPLE, sizeof(LS_KEY_PEOPLE) - 1,
                      &coachq__v1__people_list__descriptor, (ProtobufCMessage **)out);
}

/* ---- The observer's certifications ------------------------------------- */

static int ls_cert_put_cb(struct localstore *ls, MDB_txn *txn, const void *arg)
{
    return ls_put_msg(txn, ls->dbi_meta, LS_KEY_CERT, sizeof(LS_KEY_CERT) - 1, arg);
}

int localstore_cert_put(struct localstore *ls, const Coachq__V1__CertStatus *c)
{
    return ls_write(ls, ls_cert_put_cb, c);
}

int localstore_cert_get(struct localstore *ls, Coachq__V1__CertStatus **out)
{
    return ls_get_msg(ls, ls->dbi_meta, LS_KEY_CERT, sizeof(LS_KEY_CERT) - 1,
                      &coachq__v1__cert_status__descriptor, (ProtobufCMessage **)out);
}
