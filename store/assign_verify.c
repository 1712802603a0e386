/*
 * assign_verify: the assignment indexes against the assignments
 * (assign_verify() in assign.h). The expected keys are built from every
 * assignment by the layout assign.h gives, on their own rather than by
 * assign.c's writers, so that a writer's mistake shows as a difference.
 * Memory is proportional to the assignments.
 */
#include "assign.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "keys.h"
#include "store_int.h"

#define AV_KEY_MAX (2 + 2 * KEYS_ID_MAX + 4 + KEYS_UUID_LEN)

struct av_key {
    uint8_t k[AV_KEY_MAX];
    size_t n;
    int found;
};

struct av_set {
    struct av_key *v;
    size_t n;
    size_t cap;
};

struct av {
    int repair;
    /* The expected keys of asg_open, asg_by_manager, asg_due and
     * asg_obs_due, in the order of assign_verify_index_name(). */
    struct av_set set[ASSIGN_VERIFY_NINDEX];
    struct assign_verify_result res;
};

enum { AV_OPEN, AV_MGR, AV_DUE, AV_OBS_DUE };

const char *assign_verify_index_name(size_t i)
{
    static const char *const names[ASSIGN_VERIFY_NINDEX] = {"asg_open", "asg_by_manager", "asg_due",
                                                            "asg_obs_due"};

    return i < ASSIGN_VERIFY_NINDEX ? names[i] : "?";
}

static struct av_key *av_add(struct av_set *s)
{
    if (GROW_ARRAY(s->v, s->cap, s->n + 1, 64) < 0) {
        return NULL;
    }
    memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
    return &s->v[s->n++];
}

/* Appends a length byte and id to k; -EIO for an id no key can hold. */
static int av_id(struct av_key *k, const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;

    if (n == 0 || n > KEYS_ID_MAX) {
        return -EIO;
    }
    k->k[k->n++] = (uint8_t)n;
    memcpy(k->k + k->n, id, n);
    k->n += n;
    return 0;
}

static int av_asg_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct av *v = arg;
    Coachq__V1__Assignment *a;
    struct av_key *k;
    int rc = -EIO;

    if (klen != KEYS_UUID_LEN) {
        return -EIO;
    }
    a = coachq__v1__assignment__unpack(NULL, vlen, val);
    if (a == NULL || a->id.len != KEYS_UUID_LEN || memcmp(a->id.data, key, klen) != 0) {
        goto out;
    }
    v->res.assignments++;
    rc = -ENOMEM;
    k = av_add(&v->set[AV_MGR]);
    if (k == NULL) {
        goto out;
    }
    rc = av_id(k, a->manager_id);
    if (rc != 0) {
        goto out;
    }
    keys_put_be32(k->k + k->n, (uint32_t)a->due_from_day);
    memcpy(k->k + k->n + 4, key, KEYS_UUID_LEN);
    k->n += 4 + KEYS_UUID_LEN;
    if (a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN) {
        rc = -ENOMEM;
        k = av_add(&v->set[AV_OPEN]);
        if (k == NULL) {
            goto out;
        }
        rc = av_id(k, a->observer_id);
        if (rc == 0) {
            rc = av_id(k, a->manager_id);
        }
        if (rc != 0) {
            goto out;
        }
        keys_put_be32(k->k + k->n, (uint32_t)a->due_until_day);
        memcpy(k->k + k->n + 4, key, KEYS_UUID_LEN);
        k->n += 4 + KEYS_UUID_LEN;
        /* The due-day indexes: the day alone, and the observer's. */
        rc = -ENOMEM;
        k = av_add(&v->set[AV_DUE]);
        if (k == NULL) {
            goto out;
        }
        keys_put_be32(k->k, (uint32_t)a->due_until_day);
        memcpy(k->k + 4, key, KEYS_UUID_LEN);
        k->n = 4 + KEYS_UUID_LEN;
        k = av_add(&v->set[AV_OBS_DUE]);
        if (k == NULL) {
            goto out;
        }
        rc = av_id(k, a->observer_id);
        if (rc != 0) {
            goto out;
        }
        keys_put_be32(k->k + k->n, (uint32_t)a->due_until_day);
        memcpy(k->k + k->n + 4, key, KEYS_UUID_LEN);
        k->n += 4 + KEYS_UUID_LEN;
    }
    rc = 0;
out:
    coachq__v1__assignment__free_unpacked(a, NULL);
    return rc;
}

/* LMDB's default order: bytes, then the shorter first. */
static int av_cmp(const void *pa, const void *pb)
{
    const struct av_key *a = pa, *b = pb;
    int c = memcmp(a->k, b->k, a->n < b->n ? a->n : b->n);

    return c != 0 ? c : (a->n > b->n) - (a->n < b->n);
}

/* Marks index entry key found in s; 1 for an entry no assignment gives. */
static int av_index_one(struct av_set *s, const uint8_t *key, size_t klen)
{
    struct av_key probe, *hit = NULL;

    if (klen <= AV_KEY_MAX) {
        memcpy(probe.k, key, klen);
        probe.n = klen;
        hit = bsearch(&probe, s->v, s->n, sizeof(*s->v), av_cmp);
    }
    if (hit == NULL) {
        return 1;
    }
    hit->found = 1;
    return 0;
}

/* Compares index dbi (number i) with its expected keys s; adds the
 * differences. */
static int av_index(struct store_txn *t, MDB_dbi dbi, size_t i, struct av_set *s, struct av *v)
{
    uint64_t extra = 0, diff;
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    int rc;

    rc = mdb_cursor_open(t->txn, dbi, &cur);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        v->res.entries++;
        extra += (uint64_t)av_index_one(s, k.mv_data, k.mv_size);
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) {
        return STORE_TXN_ABORT(rc);
    }
    diff = extra;
    for (size_t j = 0; j < s->n; j++) {
        diff += !s->v[j].found;
    }
    v->res.index_differences[i] = diff;
    v->res.differences += diff;
    return 0;
}

/* Writes index dbi afresh from s. */
static int av_rewrite(struct store_txn *t, MDB_dbi dbi, const struct av_set *s)
{
    int rc = mdb_drop(t->txn, dbi, 0);

    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        rc = store_txn_put_raw(t, dbi, s->v[i].k, s->v[i].n, NULL, 0, NULL);
    }
    return rc;
}

/* The four indexes' handles, in the order of assign_verify_index_name(). */
static void av_dbis(struct store_txn *t, MDB_dbi dbi[ASSIGN_VERIFY_NINDEX])
{
    dbi[AV_OPEN] = t->s->dbi_asg_open;
    dbi[AV_MGR] = t->s->dbi_asg_by_manager;
    dbi[AV_DUE] = t->s->dbi_asg_due;
    dbi[AV_OBS_DUE] = t->s->dbi_asg_obs_due;
}

static int av_txn(struct store_txn *t, void *arg)
{
    struct av *v = arg;
    MDB_dbi dbi[ASSIGN_VERIFY_NINDEX];
    int rc;

    av_dbis(t, dbi);
    for (size_t i = 0; i < ASSIGN_VERIFY_NINDEX; i++) {
        v->set[i].n = 0;
    }
    memset(&v->res, 0, sizeof(v->res));
    rc = store_txn_scan(t, t->s->dbi_asg, NULL, 0, 0, av_asg_one, v);
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < ASSIGN_VERIFY_NINDEX; i++) {
        /* qsort() takes no NULL, even for no elements. */
        if (v->set[i].n > 1) {
            qsort(v->set[i].v, v->set[i].n, sizeof(*v->set[i].v), av_cmp);
        }
    }
    for (size_t i = 0; rc == 0 && i < ASSIGN_VERIFY_NINDEX; i++) {
        rc = av_index(t, dbi[i], i, &v->set[i], v);
    }
    if (rc != 0 || !v->repair || v->res.differences == 0) {
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < ASSIGN_VERIFY_NINDEX; i++) {
        rc = av_rewrite(t, dbi[i], &v->set[i]);
    }
    return rc;
}

int assign_verify(struct store *s, int repair, struct assign_verify_result *out)
{
    struct av v;
    int rc;

    memset(&v, 0, sizeof(v));
    v.repair = repair;
    rc = repair ? store_exec(s, av_txn, &v) : store_view(s, av_txn, &v);
    *out = v.res;
    for (size_t i = 0; i < ASSIGN_VERIFY_NINDEX; i++) {
        free(v.set[i].v);
    }
    return rc;
}
