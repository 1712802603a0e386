/*
 * people: people, reporting lines with effective dates, programmes and
 * enrolments, stored in the store's organisation databases.
 *
 * Keys. People and programmes are keyed by their raw id bytes, so that a
 * scan visits them in id order (strcmp order). Composite keys use the
 * keys_buf form (length byte + id, sign-flipped days), so that the keys of
 * one id form one contiguous range and days sort like numbers:
 *
 *   lines       id(person) + day            -> manager id bytes ("" = none)
 *   reports     id(manager) + day + id(person) -> empty
 *   enrolments  id(programme) + id(person)  -> Enrolment
 *
 * The reports database is a reverse index of lines: every line change that
 * names a manager has exactly one reports entry, written and removed in the
 * same transaction as the change.
 */
#include "people.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cadence.h"
#include "keys.h"
#include "store_int.h"
#include "validate.h"

/* An id buffer: up to VALIDATE_MAX_ID bytes and the NUL. */
#define PEOPLE_ID_BUF (VALIDATE_MAX_ID + 1)
/* Most reverse-index entries people_reports_at() gathers for one manager:
 * every line change that ever named the manager up to the day. */
#define PEOPLE_MAX_REPORT_KEYS 100000u

_Static_assert(PEOPLE_ID_BUF == 65, "people.h promises 65-byte id buffers");

/* ---- Helpers ---------------------------------------------------------- */

/* Reads a length-prefixed id at key[*pos] into out (NUL-terminated) and
 * advances *pos. Returns 0, or -EIO if the key does not hold one. */
static int people_key_id(const uint8_t *key, size_t klen, size_t *pos, char out[PEOPLE_ID_BUF])
{
    size_t n;

    if (*pos >= klen) {
        return -EIO;
    }
    n = key[*pos];
    if (n == 0 || n > VALIDATE_MAX_ID || n > klen - *pos - 1) {
        return -EIO;
    }
    memcpy(out, key + *pos + 1, n);
    out[n] = '\0';
    *pos += 1 + n;
    return 0;
}

/* Builds the key of one id (length-prefixed). */
static int people_id_prefix(struct keys_buf *k, const char *id)
{
    if (validate_id(id) != 0) {
        return -EINVAL;
    }
    keys_buf_reset(k);
    keys_buf_id(k, id);
    return k->err;
}

/* ---- People ----------------------------------------------------------- */

int people_get(struct store_txn *t, const char *id, Coachq__V1__Person **out)
{
    ProtobufCMessage *m = NULL;
    int rc;

    *out = NULL;
    if (validate_id(id) != 0) {
        return -EINVAL;
    }
    rc = store_txn_get_msg(t, t->s->dbi_people, (const uint8_t *)id, strlen(id),
                           &coachq__v1__person__descriptor, &m);
    if (rc != 0) {
        return rc;
    }
    *out = (Coachq__V1__Person *)m;
    return 0;
}

int people_put(struct store_txn *t, const Coachq__V1__Person *p, int *changed)
{
    if (p == NULL || validate_id(p->id) != 0) {
        return -EINVAL;
    }
    /* The person's zone may change: zone.c looks it up again. */
    memset(&t->zones, 0, sizeof(t->zones));
    return store_txn_put_msg(t, t->s->dbi_people, (const uint8_t *)p->id, strlen(p->id), &p->base,
                             changed);
}

int people_has_role(const Coachq__V1__Person *p, Coachq__V1__Role role)
{
    if (p == NULL) {
        return 0;
    }
    for (size_t i = 0; i < p->n_roles; i++) {
        if (p->roles[i] == role) {
            return 1;
        }
    }
    return 0;
}

struct people_list_ctx {
    people_cb cb;
    void *arg;
};

static int people_list_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                           void *arg)
{
    struct people_list_ctx *c = arg;
    Coachq__V1__Person *p;
    int rc;

    (void)key;
    (void)klen;
    p = coachq__v1__person__unpack(NULL, vlen, val);
    if (p == NULL) {
        return -EIO;
    }
    rc = c->cb(p, c->arg);
    coachq__v1__person__free_unpacked(p, NULL);
    return rc;
}

int people_list(struct store_txn *t, people_cb cb, void *arg)
{
    struct people_list_ctx c = {cb, arg};

    return store_txn_scan(t, t->s->dbi_people, NULL, 0, 0, people_list_one, &c);
}

/* ---- Reporting lines -------------------------------------------------- */

/* Builds the reports key (manager, day, person). */
static int people_reports_key(struct keys_buf *k, const char *manager, int32_t day,
                              const char *person)
{
    keys_buf_reset(k);
    keys_buf_id(k, manager);
    keys_buf_day(k, day);
    keys_buf_id(k, person);
    return k->err;
}

int people_line_put(struct store_txn *t, const char *person, const char *manager, int32_t day,
                    int *changed)
{
    struct keys_buf k;
    struct keys_buf rk;
    MDB_val old;
    char prev[PEOPLE_ID_BUF];
    size_t mlen;
    int had = 0;
    int rc;

    if (changed != NULL) {
        *changed = 0;
    }
    if (manager == NULL) {
        manager = "";
    }
    rc = people_id_prefix(&k, person);
    if (rc != 0) {
        return rc;
    }
    mlen = strlen(manager);
    /* A person managing themselves would be a cycle of one. */
    if (mlen > 0 && (validate_id(manager) != 0 || strcmp(manager, person) == 0)) {
        return -EINVAL;
    }
    if (!t->write) {
        return -EROFS;
    }
    keys_buf_day(&k, day);
    if (k.err != 0) {
        return k.err;
    }

    /* The change this one replaces, if any: its manager's reverse entry
     * goes. Copy it out, because the value is only valid until the next
     * write. */
    rc = store_txn_get_raw(t, t->s->dbi_lines, k.b, k.len, &old);
    if (rc == 0) {
        if (old.mv_size > VALIDATE_MAX_ID) {
            return -EIO;
        }
        if (old.mv_size == mlen && memcmp(old.mv_data, manager, mlen) == 0) {
            return 0;
        }
        memcpy(prev, old.mv_data, old.mv_size);
        prev[old.mv_size] = '\0';
        had = old.mv_size > 0;
    } else if (rc != -ENOENT) {
        return rc;
    }

    if (had) {
        rc = people_reports_key(&rk, prev, day, person);
        if (rc != 0) {
            return -EIO;
        }
        rc = store_txn_del(t, t->s->dbi_reports, rk.b, rk.len);
        if (rc != 0) {
            return rc;
        }
    }
    rc = store_txn_put_raw(t, t->s->dbi_lines, k.b, k.len, manager, mlen, NULL);
    if (rc != 0) {
        return rc;
    }
    if (mlen > 0) {
        rc = people_reports_key(&rk, manager, day, person);
        if (rc != 0) {
            return rc;
        }
        rc = store_txn_put_raw(t, t->s->dbi_reports, rk.b, rk.len, "", 0, NULL);
        if (rc != 0) {
            return rc;
        }
    }
    if (changed != NULL) {
        *changed = 1;
    }
    /* The rep's sessions may count for another manager now. */
    return cadence_rebuild_rep(t, person);
}

struct people_at_ctx {
    size_t plen;
    int32_t day;
    int found;
    char manager[PEOPLE_ID_BUF];
    size_t mlen;
    int32_t from; /* the found change's day */
    int32_t next; /* the earliest change after day, if has_next */
    int has_next;
};

/* Visits a person's line changes newest first and stops at the first one
 * effective on or before the day; the one visited before it is the next
 * change. */
static int people_at_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct people_at_ctx *c = arg;
    int32_t d;

    if (klen != c->plen + 4) {
        return -EIO;
    }
    d = keys_day_decode(key + c->plen);
    if (d > c->day) {
        c->next = d;
        c->has_next = 1;
        return 0;
    }
    c->from = d;
    if (vlen > VALIDATE_MAX_ID) {
        return -EIO;
    }
    memcpy(c->manager, val, vlen);
    c->manager[vlen] = '\0';
    c->mlen = vlen;
    c->found = 1;
    return 1;
}

int people_manager_at(struct store_txn *t, const char *person, int32_t day, char *out,
                      size_t outlen)
{
    return people_manager_span(t, person, day, out, outlen, NULL, NULL);
}

int people_manager_span(struct store_txn *t, const char *person, int32_t day, char *out,
                        size_t outlen, int32_t *from, int32_t *last)
{
    struct people_at_ctx c;
    struct keys_buf k;
    int rc;

    if (out != NULL && outlen > 0) {
        out[0] = '\0';
    }
    rc = people_id_prefix(&k, person);
    if (rc != 0) {
        return rc;
    }
    memset(&c, 0, sizeof(c));
    c.plen = k.len;
    c.day = day;
    rc = store_txn_scan(t, t->s->dbi_lines, k.b, k.len, 1, people_at_one, &c);
    if (rc != 0) {
        return rc;
    }
    if (from != NULL) {
        *from = c.found ? c.from : INT32_MIN;
    }
    if (last != NULL) {
        /* The next change is after day, so next - 1 does not underflow. */
        *last = c.has_next ? c.next - 1 : INT32_MAX;
    }
    if (!c.found || c.mlen == 0) {
        return -ENOENT;
    }
    if (out == NULL || c.mlen + 1 > outlen) {
        return -ENOBUFS;
    }
    memcpy(out, c.manager, c.mlen + 1);
    return 0;
}

/* people_chain_at()'s walk, ending once the chain holds stop (when not
 * NULL), then with *found set. */
static int chain_walk(struct store_txn *t, const char *person, int32_t day, const char *stop,
                      char ids[][65], size_t *n, int *found)
{
    char cur[PEOPLE_ID_BUF];
    char next[PEOPLE_ID_BUF];
    size_t count = 0;
    int rc = 0;

    *n = 0;
    *found = 0;
    if (validate_id(person) != 0) {
        return -EINVAL;
    }
    memcpy(cur, person, strlen(person) + 1);
    while (count < PEOPLE_MAX_CHAIN) {
        int seen;

        /* In the writer's batch the rules and the aggregates walk the
         * same chains record after record: each step is read once per
         * batch (memo.c), and as here without a memo. */
        rc = store_txn_memo_manager_at(t, cur, day, next, sizeof(next));
        if (rc == -ENOENT) {
            rc = 0;
            break;
        }
        if (rc != 0) {
            goto out;
        }
        /* A cycle: the next manager is the person or already in the chain. */
        seen = strcmp(next, person) == 0;
        for (size_t i = 0; i < count && !seen; i++) {
            seen = strcmp(ids[i], next) == 0;
        }
        if (seen) {
            break;
        }
        memcpy(ids[count], next, strlen(next) + 1);
        count++;
        if (stop != NULL && strcmp(next, stop) == 0) {
            *found = 1;
            break;
        }
        memcpy(cur, next, strlen(next) + 1);
    }
out:
    *n = count;
    return rc;
}

int people_chain_at(struct store_txn *t, const char *person, int32_t day, char ids[][65], size_t *n)
{
    int found;

    return chain_walk(t, person, day, NULL, ids, n, &found);
}

int people_chain_has_at(struct store_txn *t, const char *person, int32_t day, const char *ancestor,
                        int *yes)
{
    char ids[PEOPLE_MAX_CHAIN][65];
    size_t n = 0;
    int rc = chain_walk(t, person, day, ancestor, ids, &n, yes);

    if (rc != 0) {
        *yes = 0;
    }
    return rc;
}

struct people_lines_ctx {
    const char *person;
    size_t plen;
    people_line_cb cb;
    void *arg;
};

static int people_lines_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                            void *arg)
{
    struct people_lines_ctx *c = arg;
    Coachq__V1__ReportingLine line = COACHQ__V1__REPORTING_LINE__INIT;
    char manager[PEOPLE_ID_BUF];

    if (klen != c->plen + 4 || vlen > VALIDATE_MAX_ID) {
        return -EIO;
    }
    memcpy(manager, val, vlen);
    manager[vlen] = '\0';
    line.person_id = (char *)c->person;
    line.manager_id = manager;
    line.effective_day = keys_day_decode(key + c->plen);
    return c->cb(&line, c->arg);
}

int people_lines(struct store_txn *t, const char *person, people_line_cb cb, void *arg)
{
    struct people_lines_ctx c;
    struct keys_buf k;
    int rc;

    rc = people_id_prefix(&k, person);
    if (rc != 0) {
        return rc;
    }
    c.person = person;
    c.plen = k.len;
    c.cb = cb;
    c.arg = arg;
    return store_txn_scan(t, t->s->dbi_lines, k.b, k.len, 0, people_lines_one, &c);
}

/* The people a manager's reverse entries name up to a day. */
struct people_reports_ctx {
    size_t plen;
    int32_t day;
    char (*ids)[PEOPLE_ID_BUF];
    size_t n;
    size_t cap;
};

static int people_reports_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                              void *arg)
{
    struct people_reports_ctx *c = arg;
    size_t pos = c->plen + 4;

    (void)val;
    (void)vlen;
    if (klen < pos) {
        return -EIO;
    }
    /* Keys run in day order, so the first later day ends the scan. */
    if (keys_day_decode(key + c->plen) > c->day) {
        return 1;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap == 0 ? 16 : c->cap * 2;
        char(*ids)[PEOPLE_ID_BUF];

        if (c->cap >= PEOPLE_MAX_REPORT_KEYS) {
            return -E2BIG;
        }
        if (cap > PEOPLE_MAX_REPORT_KEYS) {
            cap = PEOPLE_MAX_REPORT_KEYS;
        }
        ids = realloc(c->ids, cap * sizeof(*ids));
        if (ids == NULL) {
            return -ENOMEM;
        }
        c->ids = ids;
        c->cap = cap;
    }
    if (people_key_id(key, klen, &pos, c->ids[c->n]) != 0 || pos != klen) {
        return -EIO;
    }
    c->n++;
    return 0;
}

static int people_id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Gathers into c (zeroed by the caller; c->ids is then the caller's to
 * free) everyone the reverse index names as reporting to manager at some
 * time up to day, in id order, a person once per change that named them
 * (callers skip repeats). A later change may have moved them away again:
 * callers check each against the lines. Returns 0 or a store code. */
static int people_reports_gather(struct store_txn *t, const char *manager, int32_t day,
                                 struct people_reports_ctx *c)
{
    struct keys_buf k;
    int rc = people_id_prefix(&k, manager);

    if (rc != 0) {
        return rc;
    }
    c->plen = k.len;
    c->day = day;
    rc = store_txn_scan(t, t->s->dbi_reports, k.b, k.len, 0, people_reports_one, c);
    if (rc != 0) {
        return rc;
    }
    if (c->n > 1) {
        qsort(c->ids, c->n, sizeof(c->ids[0]), people_id_cmp);
    }
    return 0;
}

int people_reports_at(struct store_txn *t, const char *manager, int32_t day, people_id_cb cb,
                      void *arg)
{
    struct people_reports_ctx c;
    char m[PEOPLE_ID_BUF];
    int rc;

    memset(&c, 0, sizeof(c));
    /* Each candidate is checked against the line that holds on the day. */
    rc = people_reports_gather(t, manager, day, &c);
    if (rc != 0) {
        goto out;
    }
    for (size_t i = 0; i < c.n; i++) {
        if (i > 0 && strcmp(c.ids[i], c.ids[i - 1]) == 0) {
            continue;
        }
        rc = people_manager_at(t, c.ids[i], day, m, sizeof(m));
        if (rc == -ENOENT) {
            rc = 0;
            continue;
        }
        if (rc != 0) {
            goto out;
        }
        if (strcmp(m, manager) != 0) {
            continue;
        }
        rc = cb(c.ids[i], arg);
        if (rc != 0) {
            if (rc == 1) {
                rc = 0;
            }
            goto out;
        }
    }
out:
    free(c.ids);
    return rc;
}

/* One person's lines read for people_reports_on(): on[j] is whether the
 * line holding on days[j] names the manager. */
struct people_on_ctx {
    size_t plen;
    const char *manager;
    size_t mlen;
    const int32_t *days;
    size_t ndays;
    uint8_t *on;
};

/* Visits a person's line changes oldest first: each holds on the days from
 * its own until the next change's, so a later change overwrites the days
 * it covers and each day ends with the latest change effective on or
 * before it, as people_manager_at() finds it. */
static int people_on_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct people_on_ctx *c = arg;
    int32_t from;
    uint8_t names;

    if (klen != c->plen + 4 || vlen > VALIDATE_MAX_ID) {
        return -EIO;
    }
    from = keys_day_decode(key + c->plen);
    names = vlen == c->mlen && memcmp(val, c->manager, vlen) == 0;
    for (size_t j = 0; j < c->ndays; j++) {
        if (c->days[j] >= from) {
            c->on[j] = names;
        }
    }
    return 0;
}

int people_reports_on(struct store_txn *t, const char *manager, const int32_t *days, size_t ndays,
                      people_days_cb cb, void *arg)
{
    struct people_reports_ctx c;
    struct people_on_ctx oc;
    struct keys_buf k;
    uint8_t *on = NULL;
    int32_t last;
    int rc;

    memset(&c, 0, sizeof(c));
    if (ndays == 0) {
        return -EINVAL;
    }
    last = days[0];
    for (size_t j = 1; j < ndays; j++) {
        if (days[j] > last) {
            last = days[j];
        }
    }
    on = malloc(ndays);
    if (on == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    /* Everyone the reverse index names up to the last day, as
     * people_reports_at() gathers them for that day. */
    rc = people_reports_gather(t, manager, last, &c);
    if (rc != 0) {
        goto out;
    }
    oc.manager = manager;
    oc.mlen = strlen(manager);
    oc.days = days;
    oc.ndays = ndays;
    oc.on = on;
    for (size_t i = 0; i < c.n; i++) {
        int any = 0;

        if (i > 0 && strcmp(c.ids[i], c.ids[i - 1]) == 0) {
            continue;
        }
        rc = people_id_prefix(&k, c.ids[i]);
        if (rc != 0) {
            goto out;
        }
        memset(on, 0, ndays);
        oc.plen = k.len;
        rc = store_txn_scan(t, t->s->dbi_lines, k.b, k.len, 0, people_on_one, &oc);
        if (rc != 0) {
            goto out;
        }
        for (size_t j = 0; j < ndays && !any; j++) {
            any = on[j];
        }
        if (!any) {
            continue;
        }
        rc = cb(c.ids[i], on, arg);
        if (rc != 0) {
            if (rc == 1) {
                rc = 0;
            }
            goto out;
        }
    }
out:
    free(c.ids);
    free(on);
    return rc;
}

/* ---- Programmes and enrolments ---------------------------------------- */

int people_programme_put(struct store_txn *t, const Coachq__V1__Programme *p, int *changed)
{
    if (p == NULL || validate_id(p->id) != 0) {
        return -EINVAL;
    }
    return store_txn_put_msg(t, t->s->dbi_programmes, (const uint8_t *)p->id, strlen(p->id),
                             &p->base, changed);
}

int people_programme_get(struct store_txn *t, const char *id, Coachq__V1__Programme **out)
{
    ProtobufCMessage *m = NULL;
    int rc;

    *out = NULL;
    if (validate_id(id) != 0) {
        return -EINVAL;
    }
    rc = store_txn_get_msg(t, t->s->dbi_programmes, (const uint8_t *)id, strlen(id),
                           &coachq__v1__programme__descriptor, &m);
    if (rc != 0) {
        return rc;
    }
    *out = (Coachq__V1__Programme *)m;
    return 0;
}

/* Builds the enrolment key (programme, person). */
static int people_enrolment_key(struct keys_buf *k, const char *programme, const char *person)
{
    if (validate_id(programme) != 0 || validate_id(person) != 0) {
        return -EINVAL;
    }
    keys_buf_reset(k);
    keys_buf_id(k, programme);
    keys_buf_id(k, person);
    return k->err;
}

int people_enrolment_put(struct store_txn *t, const Coachq__V1__Enrolment *e, int *changed)
{
    struct keys_buf k;
    int rc;

    if (e == NULL) {
        return -EINVAL;
    }
    rc = people_enrolment_key(&k, e->programme_id, e->person_id);
    if (rc != 0) {
        return rc;
    }
    return store_txn_put_msg(t, t->s->dbi_enrolments, k.b, k.len, &e->base, changed);
}

int people_enrolment_get(struct store_txn *t, const char *programme, const char *person,
                         Coachq__V1__Enrolment **out)
{
    ProtobufCMessage *m = NULL;
    struct keys_buf k;
    int rc;

    *out = NULL;
    rc = people_enrolment_key(&k, programme, person);
    if (rc != 0) {
        return rc;
    }
    rc = store_txn_get_msg(t, t->s->dbi_enrolments, k.b, k.len, &coachq__v1__enrolment__descriptor,
                           &m);
    if (rc != 0) {
        return rc;
    }
    *out = (Coachq__V1__Enrolment *)m;
    return 0;
}

struct people_enrolments_ctx {
    people_enrolment_cb cb;
    void *arg;
};

static int people_enrolments_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                                 void *arg)
{
    struct people_enrolments_ctx *c = arg;
    Coachq__V1__Enrolment *e;
    int rc;

    (void)key;
    (void)klen;
    e = coachq__v1__enrolment__unpack(NULL, vlen, val);
    if (e == NULL) {
        return -EIO;
    }
    rc = c->cb(e, c->arg);
    coachq__v1__enrolment__free_unpacked(e, NULL);
    return rc;
}

int people_enrolments(struct store_txn *t, const char *programme, people_enrolment_cb cb, void *arg)
{
    struct people_enrolments_ctx c = {cb, arg};
    struct keys_buf k;
    int rc;

    keys_buf_reset(&k);
    if (programme != NULL) {
        rc = people_id_prefix(&k, programme);
        if (rc != 0) {
            return rc;
        }
    }
    return store_txn_scan(t, t->s->dbi_enrolments, k.b, k.len, 0, people_enrolments_one, &c);
}

struct people_enrolments_of_ctx {
    const char *const *ids;
    size_t n;
    struct people_enrolments_ctx inner;
};

/* bsearch() order of people_enrolments_of()'s ids: as strcmp(). */
static int people_id_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int people_enrolments_of_one(const uint8_t *key, size_t klen, const uint8_t *val,
                                    size_t vlen, void *arg)
{
    struct people_enrolments_of_ctx *c = arg;
    char programme[PEOPLE_ID_BUF], person[PEOPLE_ID_BUF];
    const char *p = person; /* the bsearch() key */
    size_t pos = 0;

    if (people_key_id(key, klen, &pos, programme) != 0 ||
        people_key_id(key, klen, &pos, person) != 0 || pos != klen) {
        return -EIO;
    }
    if (bsearch(&p, c->ids, c->n, sizeof(*c->ids), people_id_ptr_cmp) == NULL) {
        return 0;
    }
    return people_enrolments_one(key, klen, val, vlen, &c->inner);
}

int people_enrolments_of(struct store_txn *t, const char *const *ids, size_t n,
                         people_enrolment_cb cb, void *arg)
{
    struct people_enrolments_of_ctx c = {ids, n, {cb, arg}};

    if (n == 0) {
        return 0;
    }
    return store_txn_scan(t, t->s->dbi_enrolments, NULL, 0, 0, people_enrolments_of_one, &c);
}
