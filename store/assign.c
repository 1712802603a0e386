/*
 * assign: assignment records, their lists, the stratified random draw of
 * assignments and their fulfilment (assign.h; the plans are in
 * assign_plan.c). The draw reads everything it needs into
 * arrays sorted by id first, so that its result depends only on the store's
 * state and the seed, never on the order LMDB or the allocator happen to
 * give.
 */
#include "assign.h"
#include "assign_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "certs.h"
#include "day.h"
#include "error.h"
#include "grow.h"
#include "keys.h"
#include "obs.h"
#include "people.h"
#include "rubrics.h"
#include "store_int.h"
#include "uuid.h"

#define ASG_ID_BUF 65
#define ASG_MGR_KEY_MAX (1 + KEYS_ID_MAX + 4 + KEYS_UUID_LEN)

int asg_refuse(struct validate_error *fault, const char *field, const char *fmt, ...)
{
    va_list ap;

    fault->code = COACHQ__V1__CODE__FAILED_PRECONDITION;
    snprintf(fault->field, sizeof(fault->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(fault->message, sizeof(fault->message), fmt, ap);
    va_end(ap);
    return ERROR_REFUSED;
}

int asg_id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;

    return n > 0 && n <= KEYS_ID_MAX;
}

/* ---- Random numbers ------------------------------------------------------ */

uint64_t assign_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A stream of its own for (seed, stream, n): what one part of a draw uses
 * never shifts another part's numbers. */
static uint64_t asg_fork(uint64_t seed, uint64_t stream, uint64_t n)
{
    uint64_t m = seed;
    uint64_t s;

    s = assign_rng_next(&m) ^ (stream * 0xd1b54a32d192ed03ULL);
    m = s;
    s = assign_rng_next(&m) ^ (n * 0xaef17502108ef2d9ULL);
    m = s;
    return assign_rng_next(&m);
}

/* Uniform in 0..n-1 (n >= 1) without modulo bias: Lemire's multiply with
 * rejection. */
static uint32_t asg_below(uint64_t *s, uint32_t n)
{
    uint64_t m;
    uint32_t lo, threshold;

    m = (uint64_t)(uint32_t)(assign_rng_next(s) >> 32) * n;
    lo = (uint32_t)m;
    if (lo < n) {
        threshold = (uint32_t)(-n) % n;
        while (lo < threshold) {
            m = (uint64_t)(uint32_t)(assign_rng_next(s) >> 32) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* ---- Assignment records and indexes -------------------------------------- */

size_t asg_open_key(uint8_t *out, const char *observer, const char *manager, int32_t due_until,
                    const uint8_t *id)
{
    size_t no = strlen(observer), nm = manager != NULL ? strlen(manager) : 0, n = 0;

    out[n++] = (uint8_t)no;
    memcpy(out + n, observer, no);
    n += no;
    if (manager == NULL) {
        return n;
    }
    out[n++] = (uint8_t)nm;
    memcpy(out + n, manager, nm);
    n += nm;
    if (id == NULL) {
        return n;
    }
    keys_put_be32(out + n, (uint32_t)due_until);
    n += 4;
    memcpy(out + n, id, KEYS_UUID_LEN);
    return n + KEYS_UUID_LEN;
}

static size_t asg_mgr_key(uint8_t *out, const char *manager, int has_from, int32_t due_from,
                          const uint8_t *id)
{
    size_t nm = strlen(manager), n = 0;

    out[n++] = (uint8_t)nm;
    memcpy(out + n, manager, nm);
    n += nm;
    if (!has_from) {
        return n;
    }
    keys_put_be32(out + n, (uint32_t)due_from);
    n += 4;
    if (id == NULL) {
        return n;
    }
    memcpy(out + n, id, KEYS_UUID_LEN);
    return n + KEYS_UUID_LEN;
}

/* A key of asg_obs_due (observer given) or asg_due (observer NULL); with
 * id NULL, only the observer's prefix. */
static size_t asg_due_key(uint8_t *out, const char *observer, int32_t due_until, const uint8_t *id)
{
    size_t n = 0;

    if (observer != NULL) {
        size_t no = strlen(observer);

        out[n++] = (uint8_t)no;
        memcpy(out + n, observer, no);
        n += no;
        if (id == NULL) {
            return n;
        }
    }
    keys_put_be32(out + n, (uint32_t)due_until);
    n += 4;
    memcpy(out + n, id, KEYS_UUID_LEN);
    return n + KEYS_UUID_LEN;
}

/* Puts (del 0) or deletes the due-day index keys of open assignment a. */
static int asg_due_index(struct store_txn *t, const Coachq__V1__Assignment *a, int del)
{
    uint8_t key[ASG_OPEN_KEY_MAX];
    size_t klen;
    int rc;

    klen = asg_due_key(key, NULL, a->due_until_day, a->id.data);
    rc = del ? store_txn_del(t, t->s->dbi_asg_due, key, klen)
             : store_txn_put_raw(t, t->s->dbi_asg_due, key, klen, NULL, 0, NULL);
    if (rc == 0) {
        klen = asg_due_key(key, a->observer_id, a->due_until_day, a->id.data);
        rc = del ? store_txn_del(t, t->s->dbi_asg_obs_due, key, klen)
                 : store_txn_put_raw(t, t->s->dbi_asg_obs_due, key, klen, NULL, 0, NULL);
    }
    return rc;
}

int assign_get(struct store_txn *t, const uint8_t id[16], Coachq__V1__Assignment **out)
{
    return store_txn_get_msg(t, t->s->dbi_asg, id, KEYS_UUID_LEN,
                             &coachq__v1__assignment__descriptor, (ProtobufCMessage **)out);
}

/* Puts a new assignment and its indexes (open ones in asg_open). */
/* The assignment an index key ends in (every index of assignments ends in
 * the id); a key or a record missing is damage: -EIO. */
static int asg_of_key(struct store_txn *t, const uint8_t *key, size_t klen,
                      Coachq__V1__Assignment **a)
{
    int rc;

    if (klen < KEYS_UUID_LEN) {
        return -EIO;
    }
    rc = assign_get(t, key + klen - KEYS_UUID_LEN, a);
    return rc == -ENOENT ? -EIO : rc;
}

static int asg_put_new(struct store_txn *t, const Coachq__V1__Assignment *a)
{
    uint8_t key[ASG_OPEN_KEY_MAX];
    size_t klen;
    MDB_val v;
    int rc;

    if (store_txn_get_raw(t, t->s->dbi_asg, a->id.data, KEYS_UUID_LEN, &v) == 0) {
        return -EEXIST;
    }
    rc = store_txn_put_msg(t, t->s->dbi_asg, a->id.data, KEYS_UUID_LEN, &a->base, NULL);
    if (rc == 0 && a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN) {
        klen = asg_open_key(key, a->observer_id, a->manager_id, a->due_until_day, a->id.data);
        rc = store_txn_put_raw(t, t->s->dbi_asg_open, key, klen, NULL, 0, NULL);
        if (rc == 0) {
            rc = asg_due_index(t, a, 0);
        }
    }
    if (rc == 0) {
        klen = asg_mgr_key(key, a->manager_id, 1, a->due_from_day, a->id.data);
        rc = store_txn_put_raw(t, t->s->dbi_asg_by_manager, key, klen, NULL, 0, NULL);
    }
    return rc;
}

/* Closes open assignment a with status (and its fields set by the caller):
 * rewrites it and takes it out of asg_open and the due-day indexes. */
static int asg_close(struct store_txn *t, Coachq__V1__Assignment *a,
                     Coachq__V1__AssignmentStatus status, int64_t now_ms)
{
    uint8_t key[ASG_OPEN_KEY_MAX];
    size_t klen;
    int rc;

    klen = asg_open_key(key, a->observer_id, a->manager_id, a->due_until_day, a->id.data);
    a->status = status;
    a->closed_at_ms = now_ms;
    rc = store_txn_put_msg(t, t->s->dbi_asg, a->id.data, KEYS_UUID_LEN, &a->base, NULL);
    if (rc == 0) {
        rc = store_txn_del(t, t->s->dbi_asg_open, key, klen);
    }
    if (rc == 0) {
        rc = asg_due_index(t, a, 1);
    }
    return rc;
}

const char *assign_status_name(Coachq__V1__AssignmentStatus s)
{
    switch (s) {
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN:
        return "open";
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE:
        return "done";
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED:
        return "expired";
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_REASSIGNED:
        return "reassigned";
    default:
        return "unknown";
    }
}

/* ---- Lists ----------------------------------------------------------------- */

struct asg_ids {
    uint8_t (*id)[KEYS_UUID_LEN];
    size_t n, cap;
    int truncated;
};

static int asg_ids_add(struct asg_ids *l, const uint8_t *id, size_t max)
{
    int rc;

    if (l->n >= max) {
        l->truncated = 1;
        return 1;
    }
    rc = GROW_ARRAY(l->id, l->cap, l->n + 1, 16);
    if (rc < 0) {
        return rc;
    }
    memcpy(l->id[l->n++], id, KEYS_UUID_LEN);
    return 0;
}

/* An index key's last 16 bytes are the assignment's id. */
static int asg_ids_from_key(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                            void *arg)
{
    (void)val;
    (void)vlen;
    if (klen < KEYS_UUID_LEN + 4) {
        return -EIO;
    }
    return asg_ids_add(arg, key + klen - KEYS_UUID_LEN, ASSIGN_LIST_MAX);
}

static int asg_ids_every(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    (void)val;
    (void)vlen;
    if (klen != KEYS_UUID_LEN) {
        return -EIO;
    }
    return asg_ids_add(arg, key, ASSIGN_LIST_MAX);
}

void assign_list_free(Coachq__V1__Assignment **a, size_t n)
{
    if (a == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        coachq__v1__assignment__free_unpacked(a[i], NULL);
    }
    free(a);
}

static int asg_cmp(const void *pa, const void *pb)
{
    const Coachq__V1__Assignment *a = *(Coachq__V1__Assignment *const *)pa;
    const Coachq__V1__Assignment *b = *(Coachq__V1__Assignment *const *)pb;
    int oa = a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN;
    int ob = b->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN;
    int c;

    if (oa != ob) {
        return ob - oa;
    }
    if (a->due_until_day != b->due_until_day) {
        return a->due_until_day < b->due_until_day ? -1 : 1;
    }
    c = strcmp(a->manager_id, b->manager_id);
    return c != 0 ? c : memcmp(a->id.data, b->id.data, KEYS_UUID_LEN);
}

/* Whether open assignment a's window ended before the manager's today. */
static int asg_past(struct store_txn *t, const Coachq__V1__Assignment *a, int64_t now_ms, int *past)
{
    int32_t today = 0;
    int rc = assign_today(t, a->manager_id, now_ms, &today);

    *past = rc == 0 && a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN &&
            a->due_until_day < today;
    return rc;
}

/* Decodes assignment id into res[*got] when it belongs in the list: of
 * observer (NULL: anybody), open (from an index) or closed (with all). */
static int asg_list_one(struct store_txn *t, const uint8_t *id, const char *observer, int open,
                        int64_t now_ms, Coachq__V1__Assignment **res, size_t *got)
{
    Coachq__V1__Assignment *a = NULL;
    int past = 0;
    int rc = assign_get(t, id, &a);

    if (rc < 0) {
        return rc == -ENOENT ? -EIO : rc;
    }
    if ((observer != NULL && strcmp(a->observer_id, observer) != 0) ||
        (a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN) != open) {
        coachq__v1__assignment__free_unpacked(a, NULL);
        return 0;
    }
    res[(*got)++] = a;
    rc = open ? asg_past(t, a, now_ms, &past) : 0;
    if (past) {
        a->status = COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED;
    }
    return rc;
}

int assign_list(struct store_txn *t, const char *observer, int all, int64_t now_ms,
                Coachq__V1__Assignment ***out, size_t *n, int *truncated)
{
    struct asg_ids open = {NULL, 0, 0, 0}, other = {NULL, 0, 0, 0};
    Coachq__V1__Assignment **res = NULL;
    uint8_t key[ASG_OPEN_KEY_MAX];
    size_t klen, got = 0;
    int rc;

    *out = NULL;
    *n = 0;
    *truncated = 0;
    if (observer != NULL && !asg_id_ok(observer)) {
        return -EINVAL;
    }
    /* The open ones, soonest due first, from the due-day indexes. */
    if (observer != NULL) {
        klen = asg_due_key(key, observer, 0, NULL);
        rc = store_txn_scan(t, t->s->dbi_asg_obs_due, key, klen, 0, asg_ids_from_key, &open);
    } else {
        rc = store_txn_scan(t, t->s->dbi_asg_due, NULL, 0, 0, asg_ids_from_key, &open);
    }
    /* With all, the closed ones among a bounded number of records. */
    if (rc >= 0 && all) {
        rc = store_txn_scan(t, t->s->dbi_asg, NULL, 0, 0, asg_ids_every, &other);
    }
    if (rc < 0) {
        goto out;
    }
    res = calloc(open.n + other.n + 1, sizeof(*res));
    if (res == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < open.n && rc == 0; i++) {
        rc = asg_list_one(t, open.id[i], observer, 1, now_ms, res, &got);
    }
    for (size_t i = 0; i < other.n && rc == 0; i++) {
        rc = asg_list_one(t, other.id[i], observer, 0, now_ms, res, &got);
    }
    if (rc < 0) {
        goto out;
    }
    qsort(res, got, sizeof(*res), asg_cmp);
    *out = res;
    *n = got;
    *truncated = open.truncated || other.truncated;
    res = NULL;
    rc = 0;
out:
    assign_list_free(res, got);
    free(open.id);
    free(other.id);
    return rc;
}

int assign_list_manager(struct store_txn *t, const char *manager, int32_t due_from, int64_t now_ms,
                        Coachq__V1__Assignment ***out, size_t *n, int *truncated)
{
    struct asg_ids ids = {NULL, 0, 0, 0};
    Coachq__V1__Assignment **res = NULL;
    uint8_t key[ASG_MGR_KEY_MAX];
    size_t klen, got = 0;
    int rc, past = 0;

    *out = NULL;
    *n = 0;
    *truncated = 0;
    if (!asg_id_ok(manager)) {
        return -EINVAL;
    }
    klen = asg_mgr_key(key, manager, 1, due_from, NULL);
    rc = store_txn_scan(t, t->s->dbi_asg_by_manager, key, klen, 0, asg_ids_from_key, &ids);
    if (rc == 0) {
        res = calloc(ids.n + 1, sizeof(*res));
        rc = res == NULL ? -ENOMEM : 0;
    }
    for (size_t i = 0; rc == 0 && i < ids.n; i++) {
        rc = assign_get(t, ids.id[i], &res[got]);
        if (rc == 0) {
            got++;
            rc = asg_past(t, res[got - 1], now_ms, &past);
        }
        if (rc == 0 && past) {
            res[got - 1]->status = COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED;
        }
    }
    if (rc < 0) {
        assign_list_free(res, got);
        free(ids.id);
        return rc;
    }
    *out = res;
    *n = got;
    *truncated = ids.truncated;
    free(ids.id);
    return 0;
}

/* asg_due in due order: the ids due before the latest today anywhere (the
 * UTC day after now_ms's), which assign_expire() checks in the manager's
 * own zone. */
struct asg_lapsed {
    struct asg_ids ids;
    int32_t today;
};

static int asg_lapsed_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                          void *arg)
{
    struct asg_lapsed *l = arg;

    (void)val;
    (void)vlen;
    if (klen != 4 + KEYS_UUID_LEN) {
        return -EIO;
    }
    if ((int32_t)keys_get_be32(key) >= l->today) {
        return 1;
    }
    return asg_ids_add(&l->ids, key + 4, ASSIGN_EXPIRE_BATCH);
}

int assign_expire(struct store_txn *t, int64_t now_ms, size_t *n)
{
    struct asg_lapsed l = {{NULL, 0, 0, 0}, (int32_t)(now_ms / 86400000) + 1};
    size_t done = 0;
    int rc, past = 0;

    rc = store_txn_scan(t, t->s->dbi_asg_due, NULL, 0, 0, asg_lapsed_one, &l);
    for (size_t i = 0; rc >= 0 && i < l.ids.n; i++) {
        Coachq__V1__Assignment *a = NULL;

        rc = assign_get(t, l.ids.id[i], &a);
        if (rc == 0) {
            rc = asg_past(t, a, now_ms, &past);
        }
        if (rc == 0 && past) {
            rc = asg_close(t, a, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED, now_ms);
            done += rc == 0;
        }
        coachq__v1__assignment__free_unpacked(a, NULL);
    }
    free(l.ids.id);
    if (n != NULL) {
        *n = done;
    }
    return rc < 0 ? rc : 0;
}

/* ---- The draw -------------------------------------------------------------- */

struct draw_mgr {
    char id[ASG_ID_BUF];
    char stratum[ASG_ID_BUF];
    char last_observer[ASG_ID_BUF];
    char (*chain)[65];
    size_t nchain;
    uint32_t need;
    uint32_t got[ASSIGN_MAX_PER_PERIOD];
    uint32_t ngot;
    int unfilled; /* already in the result's unfilled managers */
};

struct draw_observer {
    char id[ASG_ID_BUF];
    char (*chain)[65];
    size_t nchain;
    uint32_t load;
};

struct draw {
    struct store_txn *t;
    const struct assign_draw_req *req;
    Coachq__V1__CoveragePlan *plan;
    int32_t from, until;
    struct draw_mgr *m;
    size_t nm, capm;
    struct draw_observer *o;
    size_t no, capo;
    uint32_t *slots; /* manager index per slot */
    size_t nslots;
};

static void draw_free(struct draw *d)
{
    for (size_t i = 0; i < d->nm; i++) {
        free(d->m[i].chain);
    }
    for (size_t i = 0; i < d->no; i++) {
        free(d->o[i].chain);
    }
    free(d->m);
    free(d->o);
    free(d->slots);
    coachq__v1__coverage_plan__free_unpacked(d->plan, NULL);
}

/* A person who may be drawn (as manager or observer): enabled, not erased,
 * holding role. */
static int draw_person_ok(struct store_txn *t, const char *id, Coachq__V1__Role role)
{
    Coachq__V1__Person *p = NULL;
    int ok;

    if (people_get(t, id, &p) < 0) {
        return 0;
    }
    ok = !p->disabled && p->erased_at_ms == 0 && people_has_role(p, role);
    coachq__v1__person__free_unpacked(p, NULL);
    return ok;
}

static int draw_chain(struct store_txn *t, const char *id, int32_t day, char (**chain)[65],
                      size_t *n)
{
    *chain = calloc(PEOPLE_MAX_CHAIN, sizeof(**chain));
    if (*chain == NULL) {
        return -ENOMEM;
    }
    return people_chain_at(t, id, day, *chain, n);
}

static int draw_last_observer(Coachq__V1__StoredObservation *rec, void *arg)
{
    char *out = arg;

    if (rec->observation != NULL && rec->observation->calibration_ref.len == 0 &&
        rec->observer_id != NULL) {
        snprintf(out, ASG_ID_BUF, "%s", rec->observer_id);
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        return 1;
    }
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return 0;
}

/* Counting a draw's assignments: how many of those whose keys in dbi start
 * with key[0..klen) match, into *n. The manager's held count and the
 * observer's load differ only in the dbi, the key and which count (match). */
struct draw_count {
    const struct draw *d;
    int (*match)(const Coachq__V1__Assignment *a, const struct draw *d);
    uint32_t n;
};

static int draw_count_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                          void *arg)
{
    struct draw_count *k = arg;
    Coachq__V1__Assignment *a = NULL;
    int rc;

    (void)val;
    (void)vlen;
    rc = asg_of_key(k->d->t, key, klen, &a);
    if (rc < 0) {
        return rc;
    }
    if (k->match(a, k->d)) {
        k->n++;
    }
    coachq__v1__assignment__free_unpacked(a, NULL);
    return 0;
}

static int draw_count(const struct draw *d, MDB_dbi dbi, const uint8_t *key, size_t klen,
                      int (*match)(const Coachq__V1__Assignment *a, const struct draw *d),
                      uint32_t *n)
{
    struct draw_count k = {d, match, 0};
    int rc = store_txn_scan(d->t, dbi, key, klen, 0, draw_count_one, &k);

    *n = k.n;
    return rc < 0 ? rc : 0;
}

/* Held by a manager in the window, of this plan: open, done or expired
 * ones (an expired one was open until its window ended, so a draw of a past
 * period counts it as the draw did then). A reassigned one is not counted:
 * its replacement is. */
static int draw_held(const Coachq__V1__Assignment *a, const struct draw *d)
{
    return strcmp(a->plan_scope, d->plan->scope) == 0 &&
           (a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN ||
            a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE ||
            a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED);
}

/* An observer's open assignment in the draw's window already. */
static int draw_in_window(const Coachq__V1__Assignment *a, const struct draw *d)
{
    return a->due_from_day == d->from && a->due_until_day == d->until;
}

static int draw_add_manager(struct draw *d, const char *id)
{
    struct draw_mgr *m;
    uint32_t held = 0;
    uint8_t key[ASG_MGR_KEY_MAX];
    size_t klen;
    int rc;

    if (!asg_id_ok(id) || !draw_person_ok(d->t, id, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER)) {
        return 0;
    }
    if (d->nm == ASSIGN_MAX_SLOTS) {
        return -ENOSPC;
    }
    rc = GROW_ARRAY(d->m, d->capm, d->nm + 1, 32);
    if (rc < 0) {
        return rc;
    }
    m = &d->m[d->nm];
    memset(m, 0, sizeof(*m));
    d->nm++;
    snprintf(m->id, sizeof(m->id), "%s", id);
    rc = draw_chain(d->t, id, d->from, &m->chain, &m->nchain);
    if (rc < 0) {
        return rc;
    }
    if (m->nchain > 0) {
        snprintf(m->stratum, sizeof(m->stratum), "%s", m->chain[0]);
    }
    if (d->plan->off_last_observed) {
        rc = store_recent_txn(d->t, STORE_BY_COACH, id, INT64_MAX, 50, draw_last_observer,
                              m->last_observer);
        if (rc < 0) {
            return rc;
        }
    }
    klen = asg_mgr_key(key, id, 1, d->from, NULL);
    rc = draw_count(d, d->t->s->dbi_asg_by_manager, key, klen, draw_held, &held);
    if (rc < 0) {
        return rc;
    }
    m->need = held >= d->plan->per_period ? 0 : d->plan->per_period - held;
    return 0;
}

static int draw_line_one(const char *id, void *arg)
{
    return draw_add_manager(arg, id);
}

static int draw_enrolled_one(const Coachq__V1__Enrolment *e, void *arg)
{
    return draw_add_manager(arg, e->person_id);
}

/* Managers with the same stratum next to each other, then by id. */
static int draw_mgr_cmp(const void *pa, const void *pb)
{
    const struct draw_mgr *a = pa, *b = pb;
    int c = strcmp(a->stratum, b->stratum);

    return c != 0 ? c : strcmp(a->id, b->id);
}

static int draw_observer_one(const Coachq__V1__Person *p, void *arg)
{
    struct draw *d = arg;
    struct draw_observer *o;
    Coachq__V1__Certification *c = NULL;
    uint8_t key[ASG_OPEN_KEY_MAX];
    size_t klen;
    int rc;

    if (p->disabled || p->erased_at_ms != 0 || !asg_id_ok(p->id) ||
        !people_has_role(p, COACHQ__V1__ROLE__ROLE_OBSERVER)) {
        return 0;
    }
    rc = certs_valid_on(d->t, p->id, d->plan->rubric_id, d->from, &c, NULL);
    coachq__v1__certification__free_unpacked(c, NULL);
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc < 0) {
        return rc;
    }
    if (d->no == ASSIGN_MAX_OBSERVERS) {
        return -ENOSPC;
    }
    rc = GROW_ARRAY(d->o, d->capo, d->no + 1, 16);
    if (rc < 0) {
        return rc;
    }
    o = &d->o[d->no];
    memset(o, 0, sizeof(*o));
    d->no++;
    snprintf(o->id, sizeof(o->id), "%s", p->id);
    klen = asg_open_key(key, p->id, NULL, 0, NULL);
    rc = draw_count(d, d->t->s->dbi_asg_open, key, klen, draw_in_window, &o->load);
    if (rc < 0) {
        return rc;
    }
    return draw_chain(d->t, p->id, d->from, &o->chain, &o->nchain);
}

/* Adds the expired assignments of the window to their observers' loads:
 * asg_open holds open ones only, and an expired one was open until its
 * window ended, so a draw of a past period sees the loads the draw did
 * then. */
static int draw_expired_load_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                                 void *arg)
{
    struct draw *d = arg;
    Coachq__V1__Assignment *a;

    (void)key;
    (void)klen;
    a = coachq__v1__assignment__unpack(NULL, vlen, val);
    if (a == NULL) {
        return -EIO;
    }
    if (a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED &&
        a->due_from_day == d->from && a->due_until_day == d->until) {
        for (size_t i = 0; i < d->no; i++) {
            if (strcmp(d->o[i].id, a->observer_id) == 0) {
                d->o[i].load++;
                break;
            }
        }
    }
    coachq__v1__assignment__free_unpacked(a, NULL);
    return 0;
}

static int draw_in_chain(char (*chain)[65], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(chain[i], id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Why observer oi may not take manager m under the load cap and the draw
 * so far (what changes while the draw matches); NULL when they may. */
static const char *draw_busy(const struct draw *d, const struct draw_mgr *m, uint32_t oi)
{
    if (d->plan->load_cap > 0 && d->o[oi].load >= d->plan->load_cap) {
        return "already holds the plan's load cap of assignments in the period";
    }
    for (uint32_t i = 0; i < m->ngot; i++) {
        if (m->got[i] == oi) {
            return "already observes the manager in this draw";
        }
    }
    return NULL;
}

/* Why observer oi may not take manager m under the plan's exclusions (what
 * stays the same for the whole draw: draw_match() works it out once per
 * manager); NULL when they may. */
static const char *draw_excluded(const struct draw *d, const struct draw_mgr *m, uint32_t oi)
{
    const struct draw_observer *o = &d->o[oi];

    if (strcmp(o->id, m->id) == 0) {
        return "is the manager";
    }
    if (d->plan->off_own_reports && draw_in_chain(m->chain, m->nchain, o->id)) {
        return "is above the manager, and the plan keeps observers off their own reports";
    }
    /* The manager's line is the second-level manager above them; the
     * observer is on it when they are that manager or report to them. */
    if (d->plan->off_own_line && m->stratum[0] != '\0' &&
        (strcmp(o->id, m->stratum) == 0 || draw_in_chain(o->chain, o->nchain, m->stratum))) {
        return "is on the manager's line, and the plan keeps observers off their own line";
    }
    if (d->plan->off_last_observed && strcmp(m->last_observer, o->id) == 0) {
        return "observed the manager last, and the plan excludes the last observer";
    }
    return NULL;
}

/* Why observer oi may not take manager m at all; NULL when they may. */
static const char *draw_ineligible(const struct draw *d, const struct draw_mgr *m, uint32_t oi)
{
    const char *no = draw_excluded(d, m, oi);

    return no != NULL ? no : draw_busy(d, m, oi);
}

/* Picks the slots of the sample: every slot, or sample of them allocated to
 * the strata in proportion to their slots (largest remainder, ties broken
 * at random) and drawn at random within each. Then shuffles the order in
 * which slots are matched, so that the load cap favours no stratum or
 * manager. */
static int draw_sample(struct draw *d, uint64_t *rng, uint32_t sample)
{
    size_t ns = 0, k = 0, lo;
    struct stratum {
        size_t lo, n, quota;
        uint64_t rem, tie;
    } *st = NULL;
    uint32_t *chosen = NULL;

    for (size_t i = 0; i < d->nslots; i++) {
        if (i == 0 || strcmp(d->m[d->slots[i]].stratum, d->m[d->slots[i - 1]].stratum) != 0) {
            ns++;
        }
    }
    if (sample > 0 && sample < d->nslots) {
        size_t given = 0;

        st = calloc(ns, sizeof(*st));
        chosen = calloc(sample, sizeof(*chosen));
        if (st == NULL || chosen == NULL) {
            free(st);
            free(chosen);
            return -ENOMEM;
        }
        for (size_t i = 0, s = (size_t)-1; i < d->nslots; i++) {
            if (i == 0 || strcmp(d->m[d->slots[i]].stratum, d->m[d->slots[i - 1]].stratum) != 0) {
                s++;
                st[s].lo = i;
            }
            st[s].n++;
        }
        for (size_t s = 0; s < ns; s++) {
            uint64_t num = (uint64_t)sample * st[s].n;

            st[s].quota = (size_t)(num / d->nslots);
            st[s].rem = num % d->nslots;
            st[s].tie = assign_rng_next(rng);
            given += st[s].quota;
        }
        /* The leftover goes one each to the strata with the largest
         * remainders; a selection pass per unit keeps it simple and the
         * strata are few. */
        while (given < sample) {
            size_t best = (size_t)-1;

            for (size_t s = 0; s < ns; s++) {
                if (st[s].quota >= st[s].n || st[s].rem == UINT64_MAX) {
                    continue;
                }
                if (best == (size_t)-1 || st[s].rem > st[best].rem ||
                    (st[s].rem == st[best].rem && st[s].tie < st[best].tie)) {
                    best = s;
                }
            }
            st[best].quota++;
            st[best].rem = UINT64_MAX;
            given++;
        }
        for (size_t s = 0; s < ns; s++) {
            uint32_t *p = d->slots + st[s].lo;

            /* A partial Fisher-Yates shuffle: the first quota are a uniform
             * sample without replacement. */
            for (size_t i = 0; i < st[s].quota; i++) {
                size_t j = i + asg_below(rng, (uint32_t)(st[s].n - i));
                uint32_t tmp = p[i];

                p[i] = p[j];
                p[j] = tmp;
                chosen[k++] = p[i];
            }
        }
        free(d->slots);
        d->slots = chosen;
        d->nslots = k;
        free(st);
    }
    for (lo = d->nslots; lo > 1; lo--) {
        size_t j = asg_below(rng, (uint32_t)lo);
        uint32_t tmp = d->slots[lo - 1];

        d->slots[lo - 1] = d->slots[j];
        d->slots[j] = tmp;
    }
    return 0;
}

static char *asg_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL) {
        memcpy(p, s, n);
    }
    return p;
}

static int asg_bytes(ProtobufCBinaryData *b, const uint8_t *p, size_t n)
{
    b->data = malloc(n);
    if (b->data == NULL) {
        return -ENOMEM;
    }
    memcpy(b->data, p, n);
    b->len = n;
    return 0;
}

/* An id drawn from the id stream, shaped as a random (version 4) UUID. */
static void asg_new_id(uint64_t *rng, uint8_t id[16])
{
    uint64_t a = assign_rng_next(rng), b = assign_rng_next(rng);

    keys_put_be64(id, a);
    keys_put_be64(id + 8, b);
    id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
    id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

void assign_draw_result_clear(struct assign_draw_result *r)
{
    assign_list_free(r->asg, r->n);
    for (size_t i = 0; i < r->n_unfilled; i++) {
        free(r->unfilled[i]);
    }
    free(r->unfilled);
    free(r->draw.id.data);
    free(r->draw.plan_scope);
    free(r->draw.actor);
    memset(r, 0, sizeof(*r));
}

static int draw_make(struct draw *d, const struct draw_mgr *m, const struct draw_observer *o,
                     const uint8_t draw_id[16], uint64_t *ids, struct assign_draw_result *out)
{
    Coachq__V1__Assignment *a = calloc(1, sizeof(*a));
    uint8_t id[16];

    if (a == NULL) {
        return -ENOMEM;
    }
    out->asg[out->n++] = a;
    coachq__v1__assignment__init(a);
    asg_new_id(ids, id);
    a->observer_id = asg_strdup(o->id);
    a->manager_id = asg_strdup(m->id);
    a->rubric_id = asg_strdup(d->plan->rubric_id);
    a->plan_scope = asg_strdup(d->plan->scope);
    a->stratum = asg_strdup(m->stratum);
    if (a->observer_id == NULL || a->manager_id == NULL || a->rubric_id == NULL ||
        a->plan_scope == NULL || a->stratum == NULL || asg_bytes(&a->id, id, 16) < 0 ||
        asg_bytes(&a->draw_id, draw_id, 16) < 0) {
        return -ENOMEM;
    }
    a->due_from_day = d->from;
    a->due_until_day = d->until;
    a->status = COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN;
    a->created_at_ms = d->req->now_ms;
    return 0;
}

/* Adds manager m to out's unfilled managers once: out->unfilled holds room
 * for every manager of the draw (draw_match()). */
static int draw_unfilled(struct assign_draw_result *out, struct draw_mgr *m)
{
    if (m->unfilled) {
        return 0;
    }
    out->unfilled[out->n_unfilled] = asg_strdup(m->id);
    if (out->unfilled[out->n_unfilled] == NULL) {
        return -ENOMEM;
    }
    out->n_unfilled++;
    m->unfilled = 1;
    return 0;
}

/* Matches every slot in order with an observer drawn uniformly among the
 * eligible. The exclusions are worked out once per manager, at its first
 * slot, into a bitmap of the observers (fixed); each slot then checks only
 * the load cap and the observers the manager got already. */
static int draw_match(struct draw *d, uint64_t *rng, uint64_t *ids, const uint8_t draw_id[16],
                      struct assign_draw_result *out)
{
    size_t nb = (d->no + 7) / 8;
    uint32_t *elig = calloc(d->no + 1, sizeof(*elig));
    uint8_t *fixed = calloc(d->nm * nb + 1, 1);
    uint8_t *known = calloc(d->nm + 1, 1);
    int rc = 0;

    out->asg = calloc(d->nslots + 1, sizeof(*out->asg));
    out->unfilled = calloc(d->nm + 1, sizeof(*out->unfilled));
    if (elig == NULL || fixed == NULL || known == NULL || out->asg == NULL ||
        out->unfilled == NULL) {
        rc = -ENOMEM;
    }
    for (size_t i = 0; i < d->nslots && rc == 0; i++) {
        struct draw_mgr *m = &d->m[d->slots[i]];
        uint8_t *bits = fixed + (size_t)d->slots[i] * nb;
        uint32_t ne = 0, pick;

        if (!known[d->slots[i]]) {
            for (uint32_t oi = 0; oi < d->no; oi++) {
                if (draw_excluded(d, m, oi) == NULL) {
                    bits[oi / 8] |= (uint8_t)(1u << (oi % 8));
                }
            }
            known[d->slots[i]] = 1;
        }
        for (uint32_t oi = 0; oi < d->no; oi++) {
            if ((bits[oi / 8] & (1u << (oi % 8))) != 0 && draw_busy(d, m, oi) == NULL) {
                elig[ne++] = oi;
            }
        }
        if (ne == 0) {
            rc = draw_unfilled(out, m);
            continue;
        }
        pick = elig[asg_below(rng, ne)];
        d->o[pick].load++;
        m->got[m->ngot++] = pick;
        rc = draw_make(d, m, &d->o[pick], draw_id, ids, out);
    }
    free(elig);
    free(fixed);
    free(known);
    return rc;
}

/* Reads the plan, the managers in scope with what each still needs, and the
 * eligible observers. */
static int draw_load(struct draw *d, struct assign_draw_result *out)
{
    const char *scope = d->req->scope;
    Coachq__V1__Rubric *r = NULL;
    int32_t day = d->req->period_day;
    int rc;

    rc = assign_plan_get(d->t, scope, &d->plan);
    if (rc == -ENOENT) {
        return asg_refuse(&out->fault, "plan_scope", "there is no coverage plan '%s'",
                          scope != NULL ? scope : "");
    }
    if (rc < 0) {
        return rc;
    }
    rc = rubrics_get(d->t, d->plan->rubric_id, 0, &r);
    coachq__v1__rubric__free_unpacked(r, NULL);
    if (rc == -ENOENT) {
        return asg_refuse(&out->fault, "plan_scope", "the plan's rubric '%s' is not installed",
                          d->plan->rubric_id);
    }
    if (rc < 0) {
        return rc;
    }
    if (day == 0) {
        /* Today in the organisation's zone: a plan's managers may be in
         * several zones, and the draw is the same whoever asks for it. */
        rc = assign_today(d->t, NULL, d->req->now_ms, &day);
        if (rc < 0) {
            return rc;
        }
    }
    if (day < ASSIGN_MIN_DAY || day > ASSIGN_MAX_DAY) {
        return asg_refuse(&out->fault, "period_day",
                          "the period must fall in the years 2000 to 2099");
    }
    assign_period(d->plan->period, day, &d->from, &d->until);
    if (strncmp(scope, PLAN_LINE, strlen(PLAN_LINE)) == 0) {
        rc = people_reports_at(d->t, scope + strlen(PLAN_LINE), d->from, draw_line_one, d);
    } else {
        rc = people_enrolments(d->t, scope + strlen(PLAN_PROGRAMME), draw_enrolled_one, d);
    }
    if (rc < 0) {
        return rc;
    }
    if (d->nm > 1) {
        qsort(d->m, d->nm, sizeof(*d->m), draw_mgr_cmp);
    }
    rc = people_list(d->t, draw_observer_one, d);
    if (rc < 0) {
        return rc;
    }
    if (d->plan->load_cap > 0 && d->no > 0) {
        rc = store_txn_scan(d->t, d->t->s->dbi_asg, NULL, 0, 0, draw_expired_load_one, d);
        if (rc < 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < d->nm; i++) {
        d->nslots += d->m[i].need;
    }
    if (d->nslots > ASSIGN_MAX_SLOTS) {
        return -ENOSPC;
    }
    d->slots = calloc(d->nslots + 1, sizeof(*d->slots));
    if (d->slots == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0, k = 0; i < d->nm; i++) {
        for (uint32_t j = 0; j < d->m[i].need; j++) {
            d->slots[k++] = (uint32_t)i;
        }
    }
    return 0;
}

/* Writes the draw: every assignment, the draw record and its audit entry. */
static int draw_write(struct draw *d, struct assign_draw_result *out)
{
    char detail[256], idtxt[UUID_STR_LEN], f[16], u[16];
    int rc = 0;

    for (size_t i = 0; i < out->n && rc == 0; i++) {
        rc = asg_put_new(d->t, out->asg[i]);
    }
    if (rc == 0) {
        rc = store_txn_put_msg(d->t, d->t->s->dbi_asg_draws, out->draw.id.data, KEYS_UUID_LEN,
                               &out->draw.base, NULL);
    }
    if (rc == 0) {
        day_format(d->from, f, sizeof(f));
        day_format(d->until, u, sizeof(u));
        snprintf(detail, sizeof(detail),
                 "draw %s seed %" PRIu64 " window %s..%s sample %u: %u assigned, %u unfilled",
                 uuid_format(out->draw.id.data, idtxt), out->draw.seed, f, u, out->draw.sample,
                 out->draw.assigned, out->draw.unfilled);
        rc = audit_append(d->t, d->req->now_ms, d->req->actor, "assign.draw", d->plan->scope,
                          detail, d->req->origin, NULL);
    }
    return rc;
}

int assign_draw(struct store_txn *t, const struct assign_draw_req *req,
                struct assign_draw_result *out)
{
    struct draw d;
    MDB_stat st;
    uint64_t rng, ids;
    uint8_t draw_id[16];
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&d, 0, sizeof(d));
    d.t = t;
    d.req = req;
    coachq__v1__assignment_draw__init(&out->draw);
    /* Owned strings only, so that assign_draw_result_clear() may free them
     * whatever failed; both are set before the draw is packed. */
    out->draw.plan_scope = NULL;
    out->draw.actor = NULL;
    rc = mdb_stat(t->txn, t->s->dbi_asg_draws, &st);
    if (rc != 0) {
        rc = STORE_TXN_ABORT(rc);
        goto out;
    }
    rc = draw_load(&d, out);
    if (rc != 0) {
        goto out;
    }
    /* The draw's numbers depend on the seed and on how many draws the
     * store holds, so that one seed used twice never makes the same ids. */
    rng = asg_fork(req->seed, 1, st.ms_entries);
    ids = asg_fork(req->seed, 2, st.ms_entries);
    asg_new_id(&ids, draw_id);
    out->slots = d.nslots;
    rc = draw_sample(&d, &rng, req->sample);
    if (rc == 0) {
        rc = draw_match(&d, &rng, &ids, draw_id, out);
    }
    if (rc != 0) {
        goto out;
    }
    out->draw.plan_scope = asg_strdup(d.plan->scope);
    out->draw.actor = asg_strdup(req->actor != NULL ? req->actor : "");
    if (out->draw.plan_scope == NULL || out->draw.actor == NULL ||
        asg_bytes(&out->draw.id, draw_id, 16) < 0) {
        rc = -ENOMEM;
        goto out;
    }
    out->draw.seed = req->seed;
    out->draw.due_from_day = d.from;
    out->draw.due_until_day = d.until;
    out->draw.at_ms = req->now_ms;
    out->draw.sample = req->sample;
    out->draw.assigned = (uint32_t)out->n;
    out->draw.unfilled = (uint32_t)(d.nslots - out->n);
    out->draw.ordinal = st.ms_entries;
    out->managers = d.nm;
    out->observers = d.no;
    rc = draw_write(&d, out);
out:
    draw_free(&d);
    return rc;
}

/* ---- Reassignment and fulfilment ----------------------------------------- */

/* Why observer p may not take assignment a under its plan's exclusions
 * and load cap, as a draw would decide (*why NULL when they may; no plan
 * stored: no exclusions). Returns 0 or a store code. */
static int reassign_plan_check(struct store_txn *t, const Coachq__V1__Assignment *a,
                               const Coachq__V1__Person *p, char *why, size_t whylen)
{
    struct draw d;
    struct assign_draw_req req;
    int rc;

    why[0] = '\0';
    memset(&d, 0, sizeof(d));
    memset(&req, 0, sizeof(req));
    req.scope = a->plan_scope;
    d.t = t;
    d.req = &req;
    d.from = a->due_from_day;
    d.until = a->due_until_day;
    rc = assign_plan_get(t, a->plan_scope, &d.plan);
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc == 0) {
        rc = draw_add_manager(&d, a->manager_id);
    }
    if (rc == 0) {
        rc = draw_observer_one(p, &d);
    }
    if (rc == 0 && d.nm == 1 && d.no == 1) {
        const char *no = draw_ineligible(&d, &d.m[0], 0);

        if (no != NULL) {
            snprintf(why, whylen, "%s", no);
        }
    }
    draw_free(&d);
    return rc;
}

int assign_reassign(struct store_txn *t, const uint8_t id[16], const char *to, int64_t now_ms,
                    const char *actor, uint8_t new_id[16], struct validate_error *fault)
{
    Coachq__V1__Assignment *a = NULL;
    Coachq__V1__Assignment n;
    Coachq__V1__Person *p = NULL;
    Coachq__V1__Certification *c = NULL;
    char idtxt[UUID_STR_LEN], detail[200];
    uint64_t s;
    int rc;

    rc = assign_get(t, id, &a);
    if (rc == -ENOENT) {
        rc =
            asg_refuse(fault, "assignment_id", "there is no assignment %s", uuid_format(id, idtxt));
        goto out;
    }
    if (rc < 0) {
        goto out;
    }
    if (a->status != COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN) {
        rc = asg_refuse(fault, "assignment_id", "assignment %s is %s, not open",
                        uuid_format(id, idtxt), assign_status_name(a->status));
        goto out;
    }
    if (!asg_id_ok(to) || people_get(t, to, &p) < 0) {
        rc = asg_refuse(fault, "observer_id", "there is no person '%s'", to != NULL ? to : "");
        goto out;
    }
    if (p->disabled || p->erased_at_ms != 0) {
        rc = asg_refuse(fault, "observer_id", "'%s' is disabled", to);
        goto out;
    }
    if (!people_has_role(p, COACHQ__V1__ROLE__ROLE_OBSERVER)) {
        rc = asg_refuse(fault, "observer_id", "'%s' does not hold the observer role", to);
        goto out;
    }
    if (strcmp(to, a->observer_id) == 0 || strcmp(to, a->manager_id) == 0) {
        rc = asg_refuse(fault, "observer_id", "'%s' is the assignment's observer or manager", to);
        goto out;
    }
    rc = certs_valid_on(t, to, a->rubric_id, a->due_from_day, &c, NULL);
    if (rc == -ENOENT) {
        rc = asg_refuse(fault, "observer_id", "'%s' is not certified for rubric '%s'", to,
                        a->rubric_id);
        goto out;
    }
    if (rc < 0) {
        goto out;
    }
    rc = reassign_plan_check(t, a, p, detail, sizeof(detail));
    if (rc < 0) {
        goto out;
    }
    if (detail[0] != '\0') {
        rc = asg_refuse(fault, "observer_id", "'%s' %s", to, detail);
        goto out;
    }
    /* The new id comes from the old one, so a reassignment is reproducible
     * too. */
    s = keys_get_be64(id) ^ keys_get_be64(id + 8) ^ 0x5265617373696e67ULL;
    asg_new_id(&s, new_id);
    n = *a;
    n.id.data = new_id;
    n.id.len = 16;
    n.observer_id = (char *)to;
    n.created_at_ms = now_ms;
    rc = asg_put_new(t, &n);
    if (rc == 0) {
        rc = asg_bytes(&a->reassigned_to, new_id, 16);
    }
    if (rc == 0) {
        rc = asg_close(t, a, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_REASSIGNED, now_ms);
    }
    if (rc == 0) {
        snprintf(detail, sizeof(detail), "from %s to %s", a->observer_id, to);
        rc = audit_append(t, now_ms, actor, "assign.reassign", uuid_format(id, idtxt), detail, NULL,
                          NULL);
    }
out:
    coachq__v1__assignment__free_unpacked(a, NULL);
    coachq__v1__person__free_unpacked(p, NULL);
    coachq__v1__certification__free_unpacked(c, NULL);
    return rc;
}

struct match_scan {
    struct store_txn *t;
    const char *rubric;
    const char *observer;
    const Coachq__V1__Observation *o;
    int32_t session_day, now_day;
    int found;
    uint8_t id[16];
};

static int match_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct match_scan *m = arg;
    Coachq__V1__Assignment *a = NULL;
    int rc, ok;

    (void)val;
    (void)vlen;
    rc = asg_of_key(m->t, key, klen, &a);
    if (rc < 0) {
        return rc;
    }
    ok = strcmp(a->rubric_id, m->rubric) == 0 && m->session_day >= a->due_from_day &&
         m->session_day <= a->due_until_day && m->now_day <= a->due_until_day;
    if (ok) {
        char why[200];

        rc = assign_match_may(m->t, a, m->observer, m->o, m->session_day, why, sizeof(why));
        if (rc < 0) {
            coachq__v1__assignment__free_unpacked(a, NULL);
            return rc;
        }
        ok = why[0] == '\0';
    }
    if (ok) {
        memcpy(m->id, a->id.data, 16);
        m->found = 1;
    }
    coachq__v1__assignment__free_unpacked(a, NULL);
    /* Keys run by due day: the first that fits is the soonest due. */
    return ok ? 1 : 0;
}

int assign_match(struct store_txn *t, const char *observer, const Coachq__V1__Observation *o,
                 int amendment, const uint8_t *root, int32_t session_day, int32_t now_day,
                 uint8_t match[16], int *found, struct validate_error *fault)
{
    const char *f = "observation.assignment_id";
    Coachq__V1__Assignment *a = NULL;
    char idtxt[UUID_STR_LEN], d1[16], d2[16];
    int rc = 0;

    *found = 0;
    if (o->assignment_id.len == 0) {
        struct match_scan m;
        uint8_t key[ASG_OPEN_KEY_MAX];
        size_t klen;

        klen = asg_implicit_key(observer, o, amendment, key);
        if (klen == 0) {
            return 0;
        }
        memset(&m, 0, sizeof(m));
        m.t = t;
        m.rubric = o->rubric_id;
        m.observer = observer;
        m.o = o;
        m.session_day = session_day;
        m.now_day = now_day;
        rc = store_txn_scan(t, t->s->dbi_asg_open, key, klen, 0, match_one, &m);
        if (rc < 0) {
            return rc;
        }
        if (m.found) {
            memcpy(match, m.id, 16);
            *found = 1;
        }
        return 0;
    }
    if (o->assignment_id.len != 16) {
        return asg_refuse(fault, f, "must be empty or the 16-byte id of an assignment");
    }
    uuid_format(o->assignment_id.data, idtxt);
    rc = assign_get(t, o->assignment_id.data, &a);
    if (rc == -ENOENT) {
        return asg_refuse(fault, f, "there is no assignment %s", idtxt);
    }
    if (rc < 0) {
        return rc;
    }
    if (strcmp(a->observer_id, observer) != 0) {
        rc = asg_refuse(fault, f, "assignment %s is not yours", idtxt);
    } else if (amendment) {
        if (a->status != COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE || root == NULL ||
            a->observation_id.len != 16 || memcmp(a->observation_id.data, root, 16) != 0) {
            rc = asg_refuse(fault, f,
                            "an amendment may only name the assignment its original fulfilled");
        }
    } else if (a->status != COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN ||
               now_day > a->due_until_day) {
        rc = asg_refuse(fault, f, "assignment %s is %s, not open", idtxt,
                        a->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN
                            ? "expired"
                            : assign_status_name(a->status));
    } else if (o->calibration_ref.len != 0) {
        rc = asg_refuse(fault, f, "a calibration attempt fulfils no assignment");
    } else if (o->coach_id == NULL || strcmp(a->manager_id, o->coach_id) != 0) {
        rc = asg_refuse(fault, f, "assignment %s is to observe '%s', not '%s'", idtxt,
                        a->manager_id, o->coach_id != NULL ? o->coach_id : "");
    } else if (o->rubric_id == NULL || strcmp(a->rubric_id, o->rubric_id) != 0) {
        rc = asg_refuse(fault, f, "assignment %s is for rubric '%s', not '%s'", idtxt, a->rubric_id,
                        o->rubric_id != NULL ? o->rubric_id : "");
    } else if (session_day < a->due_from_day || session_day > a->due_until_day) {
        day_format(a->due_from_day, d1, sizeof(d1));
        day_format(a->due_until_day, d2, sizeof(d2));
        rc = asg_refuse(fault, f, "the session is outside assignment %s's window %s..%s", idtxt, d1,
                        d2);
    } else {
        char why[200];

        rc = assign_match_may(t, a, observer, o, session_day, why, sizeof(why));
        if (rc == 0 && why[0] != '\0') {
            rc = asg_refuse(fault, f, "%s", why);
        } else if (rc == 0) {
            memcpy(match, a->id.data, 16);
            *found = 1;
        }
    }
    coachq__v1__assignment__free_unpacked(a, NULL);
    return rc;
}

int assign_fulfil(struct store_txn *t, const uint8_t id[16], const uint8_t root[16], int64_t now_ms)
{
    Coachq__V1__Assignment *a = NULL;
    int rc;

    rc = assign_get(t, id, &a);
    if (rc < 0) {
        return rc;
    }
    if (a->status != COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN) {
        /* An amendment naming the assignment its original fulfilled. */
        coachq__v1__assignment__free_unpacked(a, NULL);
        return 0;
    }
    rc = asg_bytes(&a->observation_id, root, 16);
    if (rc == 0) {
        rc = asg_close(t, a, COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE, now_ms);
    }
    coachq__v1__assignment__free_unpacked(a, NULL);
    return rc;
}
