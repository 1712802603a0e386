/*
 * cadence: sessions held and coaching commitments (cadence.h).
 */
#include "cadence.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "keys.h"
#include "mdberr.h"
#include "people.h"
#include "store_int.h"
#include "tz.h"
#include "zone.h"

#define HELD_KEY_MAX (1 + 64 + 4 + 1 + 64)
#define COMMIT_VALUE_LEN 14
#define COMMIT_VERSION 1

static int held_id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;

    return n > 0 && n <= 64;
}

/* The key of (coachee, day[, coach]) into out; *len its length. */
static void held_key(uint8_t out[HELD_KEY_MAX], const char *coachee, int32_t day, const char *coach,
                     size_t *len)
{
    size_t ne = strlen(coachee);
    size_t nc = coach != NULL ? strlen(coach) : 0;

    out[0] = (uint8_t)ne;
    memcpy(out + 1, coachee, ne);
    keys_put_be32(out + 1 + ne, (uint32_t)day);
    if (nc == 0) {
        *len = 5 + ne;
        return;
    }
    out[5 + ne] = (uint8_t)nc;
    memcpy(out + 6 + ne, coach, nc);
    *len = 6 + ne + nc;
}

int cadence_held_put(struct store_txn *t, const char *coach, const char *coachee, int32_t day,
                     uint32_t minutes)
{
    uint8_t key[HELD_KEY_MAX], val[4];
    size_t klen;

    if (!held_id_ok(coach) || !held_id_ok(coachee) || day < 0 || minutes > CADENCE_MAX_MINUTES) {
        return -EINVAL;
    }
    if (cadence_held_get(t, coach, coachee, day, NULL) == 0) {
        return -EEXIST;
    }
    held_key(key, coachee, day, coach, &klen);
    keys_put_be32(val, minutes);
    return store_txn_put_raw(t, t->s->dbi_held, key, klen, val, sizeof(val), NULL);
}

int cadence_held_get(struct store_txn *t, const char *coach, const char *coachee, int32_t day,
                     uint32_t *minutes)
{
    uint8_t key[HELD_KEY_MAX];
    size_t klen;
    MDB_val v;
    int rc;

    if (!held_id_ok(coach) || !held_id_ok(coachee) || day < 0) {
        return -EINVAL;
    }
    held_key(key, coachee, day, coach, &klen);
    rc = store_txn_get_raw(t, t->s->dbi_held, key, klen, &v);
    if (rc == 0 && minutes != NULL) {
        *minutes = v.mv_size == 4 ? keys_get_be32(v.mv_data) : 0;
    }
    return rc;
}

struct pair_days {
    struct cadence_day *out;
    size_t max;
    size_t n;
    int more;
};

/* Merges one day into the sorted list: an observed and an imported
 * session of the same day are one coaching day. The list is kept in day
 * order, so the place is found by bisection. */
static void pair_add(struct pair_days *pd, int32_t day, uint32_t minutes, int held)
{
    size_t lo = 0, hi = pd->n;

    /* The observed days come in day order: most land after the last, and
     * are appended without the search, the move and the clearing below. */
    if (hi == 0 || pd->out[hi - 1].day < day) {
        if (pd->n == pd->max) {
            pd->more = 1;
            return;
        }
        memset(&pd->out[hi], 0, sizeof(pd->out[hi]));
        pd->out[hi].day = day;
        pd->out[hi].minutes = minutes;
        pd->out[hi].held = held != 0;
        pd->out[hi].observed = held == 0;
        pd->n++;
        return;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (pd->out[mid].day < day) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < pd->n && pd->out[lo].day == day) {
        if (held) {
            pd->out[lo].held = 1;
            pd->out[lo].minutes = minutes;
        } else {
            pd->out[lo].observed = 1;
        }
        return;
    }
    if (pd->n == pd->max) {
        pd->more = 1;
        return;
    }
    memmove(&pd->out[lo + 1], &pd->out[lo], (pd->n - lo) * sizeof(pd->out[0]));
    memset(&pd->out[lo], 0, sizeof(pd->out[lo]));
    pd->out[lo].day = day;
    pd->out[lo].minutes = minutes;
    pd->out[lo].held = held != 0;
    pd->out[lo].observed = held == 0;
    pd->n++;
}

/* The spans of [from_day, until_day] in which a rep reported to coach,
 * from the rep's reporting lines read once (people_lines()), in day order. */
struct pair_spans {
    const char *coach;
    int32_t from_day, until_day;
    int32_t open_from; /* the open span's first day; -1: none open */
    int32_t (*span)[2];
    size_t n, cap;
    int rc;
};

static void spans_close(struct pair_spans *ps, int32_t last)
{
    int32_t from = ps->open_from;

    ps->open_from = -1;
    if (from < ps->from_day) {
        from = ps->from_day;
    }
    if (last > ps->until_day) {
        last = ps->until_day;
    }
    if (from > last) {
        return;
    }
    if (GROW_ARRAY(ps->span, ps->cap, ps->n + 1, 4) < 0) {
        ps->rc = -ENOMEM;
        return;
    }
    ps->span[ps->n][0] = from;
    ps->span[ps->n][1] = last;
    ps->n++;
}

static int spans_line(const Coachq__V1__ReportingLine *line, void *arg)
{
    struct pair_spans *ps = arg;

    if (ps->open_from >= 0) {
        spans_close(ps, line->effective_day - 1);
    }
    if (line->manager_id != NULL && strcmp(line->manager_id, ps->coach) == 0) {
        ps->open_from = line->effective_day;
    }
    return ps->rc;
}

/* Keys read with MDB_NEXT before the scan seeks to the next local midnight:
 * a day's sessions usually share a leaf page, where a step is cheaper than
 * a descent from the root. With 3, a rep with about three sessions a day
 * (bench_dash at 1M) sought on about a day in four; stepping up to 32 keys
 * took a sixth off the scan there, and sparse days never step at all. */
#define PAIR_STEPS 32

/* The observed sessions: the rep's index keys in the window, one per
 * local day of the coach's zone. Every session of a rep on one day is with
 * the one manager they reported to that day (rules.c checks it at submit),
 * so a day in a span in which the rep reported to coach (their lines read
 * once) is a coaching day when it has a key. The scan steps over at most
 * PAIR_STEPS keys of a day, then seeks to the next local midnight, and skips the
 * days outside the spans: it reads at most PAIR_STEPS + 1 keys per day of
 * the spans, and no record, however many sessions the day had. */
static int pair_observed(struct store_txn *t, const char *coach, const char *coachee,
                         int32_t from_day, int32_t until_day, struct pair_days *pd)
{
    const struct tz_zone *z = NULL;
    struct pair_spans ps;
    uint8_t bound[KEYS_INDEX_MAX];
    size_t blen, elen = strlen(coachee);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    memset(&ps, 0, sizeof(ps));
    ps.coach = coach;
    ps.from_day = from_day;
    ps.until_day = until_day;
    ps.open_from = -1;
    rc = people_lines(t, coachee, spans_line, &ps);
    if (rc == 0 && ps.open_from >= 0) {
        spans_close(&ps, until_day);
    }
    if (rc == 0) {
        rc = ps.rc;
    }
    if (rc == 0 && ps.n > 0) {
        rc = zone_of_person(t, coach, &z);
    }
    if (rc != 0 || ps.n == 0) {
        goto out;
    }
    rc = mdb_cursor_open(t->txn, t->s->dbi_by_coachee, &cur);
    if (rc != 0) {
        rc = mdberr_errno(rc);
        goto out;
    }
    for (size_t i = 0; i < ps.n; i++) {
        int64_t lo = tz_day_start(z, ps.span[i][0]);
        int64_t hi = tz_day_start(z, (int64_t)ps.span[i][1] + 1);
        int seek = 1;
        unsigned steps = 0;

        for (;;) {
            const char *id;
            size_t idlen;
            int64_t at, next;
            const uint8_t *uuid;
            int32_t day;

            if (seek) {
                rc = keys_index_bound(bound, sizeof(bound), coachee, elen, lo, &blen);
                if (rc != 0) {
                    goto out;
                }
                k.mv_data = bound;
                k.mv_size = blen;
                rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            } else {
                rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            }
            if (rc == MDB_NOTFOUND) {
                break;
            }
            if (rc != 0) {
                rc = mdberr_errno(rc);
                goto out;
            }
            if (keys_index_decode(k.mv_data, k.mv_size, &id, &idlen, &at, &uuid) != 0 ||
                idlen != elen || memcmp(id, coachee, idlen) != 0 || at >= hi) {
                break;
            }
            if (at < lo) {
                /* A later session of a day already counted: step on, or
                 * seek once the day has many. */
                seek = ++steps >= PAIR_STEPS;
                continue;
            }
            day = (int32_t)tz_day_of(z, at);
            if (day >= ps.span[i][0] && day <= ps.span[i][1]) {
                pair_add(pd, day, 0, 0);
            }
            next = tz_day_start(z, (int64_t)day + 1);
            lo = next > at ? next : at + 1;
            seek = 0;
            steps = 0;
        }
        rc = 0;
    }
out:
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    free(ps.span);
    return rc;
}

/* Called by held_walk() for each imported row of the pair in the range. */
typedef void (*held_row_cb)(int32_t day, uint32_t minutes, void *arg);

/* The imported sessions held: one range of the rep's keys. */
static int held_walk(struct store_txn *t, const char *coach, const char *coachee, int32_t from_day,
                     int32_t until_day, held_row_cb cb, void *arg)
{
    uint8_t key[HELD_KEY_MAX];
    size_t klen, ne = strlen(coachee), nc = strlen(coach);
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    held_key(key, coachee, from_day, NULL, &klen);
    rc = mdb_cursor_open(t->txn, t->s->dbi_held, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    k.mv_data = key;
    k.mv_size = klen;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *p = k.mv_data;
        int32_t day;

        if (k.mv_size < 5 + ne || p[0] != ne || memcmp(p + 1, coachee, ne) != 0) {
            break;
        }
        day = (int32_t)keys_get_be32(p + 1 + ne);
        if (day > until_day) {
            break;
        }
        if (k.mv_size == 6 + ne + nc && p[5 + ne] == nc && memcmp(p + 6 + ne, coach, nc) == 0 &&
            v.mv_size == 4) {
            cb(day, keys_get_be32(v.mv_data), arg);
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : mdberr_errno(rc);
}

static void pair_held_row(int32_t day, uint32_t minutes, void *arg)
{
    pair_add(arg, day, minutes, 1);
}

static void pair_counted_day(int32_t day, void *arg)
{
    pair_add(arg, day, 0, 0);
}

/* The pair's days, the observed ones from the counts (walk 0) or from the
 * rep index (walk 1), merged with the sessions held. */
static int pair_days(struct store_txn *t, const char *coach, const char *coachee, int32_t from_day,
                     int32_t until_day, struct cadence_day *out, size_t max, size_t *n, int *more,
                     int walk)
{
    struct pair_days pd = {out, max, 0, 0};
    int rc;

    *n = 0;
    if (more != NULL) {
        *more = 0;
    }
    if (!held_id_ok(coach) || !held_id_ok(coachee) || from_day < 0 || until_day < from_day) {
        return -EINVAL;
    }
    if (walk) {
        rc = pair_observed(t, coach, coachee, from_day, until_day, &pd);
    } else {
        rc = cadence_pair_counted(t, coach, coachee, from_day, until_day, pair_counted_day, &pd);
    }
    if (rc == 0) {
        rc = held_walk(t, coach, coachee, from_day, until_day, pair_held_row, &pd);
    }
    *n = pd.n;
    if (more != NULL) {
        *more = pd.more;
    }
    return rc;
}

int cadence_pair_days(struct store_txn *t, const char *coach, const char *coachee, int32_t from_day,
                      int32_t until_day, struct cadence_day *out, size_t max, size_t *n, int *more)
{
    return pair_days(t, coach, coachee, from_day, until_day, out, max, n, more, 0);
}

int cadence_pair_days_walk(struct store_txn *t, const char *coach, const char *coachee,
                           int32_t from_day, int32_t until_day, struct cadence_day *out, size_t max,
                           size_t *n, int *more)
{
    return pair_days(t, coach, coachee, from_day, until_day, out, max, n, more, 1);
}

struct pair_bits {
    uint64_t *days;
    int32_t from_day;
    int32_t minutes_from;
    uint64_t minutes;
};

/* An imported row: its minutes count when the day has no observed session
 * (a pair holds at most one row per day, so none is counted twice), then
 * its day is a coaching day. */
static void pair_bits_row(int32_t day, uint32_t minutes, void *arg)
{
    struct pair_bits *pb = arg;
    size_t i;
    uint64_t bit;

    /* The range of keys starts at from_day; a day that reads as before it
     * (a key no writer makes) has no bit to set. */
    if (day < pb->from_day) {
        return;
    }
    i = (size_t)((int64_t)day - pb->from_day);
    bit = (uint64_t)1 << (i % 64);
    if (day >= pb->minutes_from && (pb->days[i / 64] & bit) == 0) {
        pb->minutes += minutes;
    }
    pb->days[i / 64] |= bit;
}

int cadence_pair_bits(struct store_txn *t, const char *coach, const char *coachee, int32_t from_day,
                      int32_t until_day, int32_t minutes_from, uint64_t *days, size_t nwords,
                      uint64_t *minutes)
{
    struct pair_bits pb = {days, from_day, minutes_from, 0};
    int rc;

    *minutes = 0;
    if (!held_id_ok(coach) || !held_id_ok(coachee) || from_day < 0 || until_day < from_day) {
        return -EINVAL;
    }
    /* The observed days first, so that each imported row knows whether
     * its day has one. */
    rc = cadence_pair_counted_bits(t, coach, coachee, from_day, until_day, days, nwords);
    if (rc == 0) {
        rc = held_walk(t, coach, coachee, from_day, until_day, pair_bits_row, &pb);
    }
    *minutes = pb.minutes;
    return rc;
}

/* ---- Commitments -------------------------------------------------------- */

static int commit_decode(const uint8_t *p, size_t len, struct cadence_commit *out)
{
    if (len != COMMIT_VALUE_LEN || p[0] != COMMIT_VERSION ||
        (p[1] != CADENCE_MINUTES_PER_WEEK && p[1] != CADENCE_EVERY_WEEKS)) {
        return -EIO;
    }
    out->kind = (enum cadence_commit_kind)p[1];
    out->value = keys_get_be32(p + 2);
    out->set_at_ms = (int64_t)(((uint64_t)keys_get_be32(p + 6) << 32) | keys_get_be32(p + 10));
    return 0;
}

int cadence_commit_set(struct store_txn *t, const char *scope, const struct cadence_commit *c,
                       int *changed)
{
    struct cadence_commit old;
    uint8_t val[COMMIT_VALUE_LEN];

    if (!held_id_ok(scope) || c->value == 0 ||
        (c->kind != CADENCE_MINUTES_PER_WEEK && c->kind != CADENCE_EVERY_WEEKS)) {
        return -EINVAL;
    }
    if (cadence_commit_get(t, scope, &old) == 0 && old.kind == c->kind && old.value == c->value) {
        if (changed != NULL) {
            *changed = 0;
        }
        return 0;
    }
    val[0] = COMMIT_VERSION;
    val[1] = (uint8_t)c->kind;
    keys_put_be32(val + 2, c->value);
    keys_put_be32(val + 6, (uint32_t)((uint64_t)c->set_at_ms >> 32));
    keys_put_be32(val + 10, (uint32_t)((uint64_t)c->set_at_ms & 0xffffffffu));
    if (changed != NULL) {
        *changed = 1;
    }
    return store_txn_put_raw(t, t->s->dbi_commitments, (const uint8_t *)scope, strlen(scope), val,
                             sizeof(val), NULL);
}

int cadence_commit_clear(struct store_txn *t, const char *scope)
{
    struct cadence_commit old;
    int rc;

    if (!held_id_ok(scope)) {
        return -EINVAL;
    }
    rc = cadence_commit_get(t, scope, &old);
    if (rc != 0) {
        return rc;
    }
    return store_txn_del(t, t->s->dbi_commitments, (const uint8_t *)scope, strlen(scope));
}

int cadence_commit_get(struct store_txn *t, const char *scope, struct cadence_commit *out)
{
    MDB_val v;
    int rc;

    if (!held_id_ok(scope)) {
        return -EINVAL;
    }
    rc = store_txn_get_raw(t, t->s->dbi_commitments, (const uint8_t *)scope, strlen(scope), &v);
    if (rc != 0) {
        return rc;
    }
    return commit_decode(v.mv_data, v.mv_size, out);
}

struct commit_walk {
    cadence_commit_cb cb;
    void *arg;
};

static int commit_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct commit_walk *w = arg;
    struct cadence_commit c;
    char scope[65];

    if (klen == 0 || klen >= sizeof(scope) || commit_decode(val, vlen, &c) != 0) {
        return -EIO;
    }
    memcpy(scope, key, klen);
    scope[klen] = '\0';
    return w->cb(scope, &c, w->arg);
}

int cadence_commit_list(struct store_txn *t, cadence_commit_cb cb, void *arg)
{
    struct commit_walk w = {cb, arg};

    return store_txn_scan(t, t->s->dbi_commitments, NULL, 0, 0, commit_one, &w);
}

struct commit_find {
    const char *manager;
    struct cadence_commit *out;
    char *scope;
    size_t scope_len;
    int found;
    struct store_txn *t;
};

static int commit_find_one(const char *scope, const struct cadence_commit *c, void *arg)
{
    struct commit_find *f = arg;
    Coachq__V1__Enrolment *e = NULL;

    if (strcmp(scope, CADENCE_ORG) == 0) {
        return 0;
    }
    if (people_enrolment_get(f->t, scope, f->manager, &e) != 0) {
        return 0;
    }
    coachq__v1__enrolment__free_unpacked(e, NULL);
    *f->out = *c;
    snprintf(f->scope, f->scope_len, "%s", scope);
    f->found = 1;
    return 1;
}

int cadence_commit_for(struct store_txn *t, const char *manager, struct cadence_commit *out,
                       char *scope, size_t scope_len)
{
    struct commit_find f = {manager, out, scope, scope_len, 0, t};
    int rc = cadence_commit_list(t, commit_find_one, &f);

    if (rc != 0 || f.found) {
        return rc;
    }
    rc = cadence_commit_get(t, CADENCE_ORG, out);
    if (rc == 0) {
        snprintf(scope, scope_len, "%s", CADENCE_ORG);
    }
    return rc;
}

const char *cadence_commit_text(const struct cadence_commit *c, char *buf, size_t len)
{
    if (c->kind == CADENCE_MINUTES_PER_WEEK) {
        snprintf(buf, len, "%u minutes a week per manager", (unsigned)c->value);
    } else if (c->value == 1) {
        snprintf(buf, len, "every rep every week");
    } else {
        snprintf(buf, len, "every rep every %u weeks", (unsigned)c->value);
    }
    return buf;
}
