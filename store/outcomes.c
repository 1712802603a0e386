/*
 * outcomes: business results in the store's outcomes database.
 *
 * Key: len(1) subject | team(1) | be32 period key | len(1) metric. The
 * period key is first_day * 2 + (1 for a quarter, 0 for a month), so that a
 * subject's figures sort by the day their period starts, a month before the
 * quarter that starts on the same day, and no two periods share a key.
 * Periods run from 1970 (days are not negative) to 9999.
 */
#include "outcomes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "keys.h"
#include "mdberr.h"
#include "outcomes_rules.h"
#include "pbwire.h"
#include "store_int.h"

/* ---- The database ----------------------------------------------------- */

/* Builds o's key. o must have passed outcomes_check(). */
static int outcomes_key(struct keys_buf *k, const Coachq__V1__Outcome *o)
{
    int32_t first, last;
    uint8_t team = o->team ? 1 : 0;
    int quarter;

    if (outcomes_period_parts(o->period, &first, &last, &quarter) < 0) {
        return -EINVAL;
    }
    keys_buf_reset(k);
    keys_buf_id(k, o->subject_id);
    keys_buf_raw(k, &team, 1);
    keys_buf_u32(k, (uint32_t)first * 2u + (uint32_t)quarter);
    keys_buf_id(k, o->metric);
    return k->err;
}

int outcomes_put(struct store_txn *t, const Coachq__V1__Outcome *o, int *state)
{
    ProtobufCMessage *m = NULL;
    Coachq__V1__Outcome *old;
    struct keys_buf k;
    MDB_val person;
    int rc;

    if (state != NULL) {
        *state = 0;
    }
    if (outcomes_check(o, "outcome", NULL) < 0) {
        return -EINVAL;
    }
    if (!t->write) {
        return -EROFS;
    }
    rc = store_txn_get_raw(t, t->s->dbi_people, (const uint8_t *)o->subject_id,
                           strlen(o->subject_id), &person);
    if (rc < 0) {
        return rc;
    }
    rc = outcomes_key(&k, o);
    if (rc < 0) {
        return rc;
    }
    rc = store_txn_get_msg(t, t->s->dbi_outcomes, k.b, k.len, &coachq__v1__outcome__descriptor, &m);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    old = (Coachq__V1__Outcome *)m;
    if (old != NULL && old->value == o->value) {
        /* The key holds subject, team, period and metric; only the value
         * (and the import time, which does not count) can differ. */
        coachq__v1__outcome__free_unpacked(old, NULL);
        return 0;
    }
    rc = store_txn_put_msg(t, t->s->dbi_outcomes, k.b, k.len, &o->base, NULL);
    if (rc == 0 && state != NULL) {
        *state = old != NULL ? 2 : 1;
    }
    if (old != NULL) {
        coachq__v1__outcome__free_unpacked(old, NULL);
    }
    return rc;
}

struct outcomes_list_ctx {
    int32_t from, until;
    outcomes_cb cb;      /* outcomes_list(): the unpacked message */
    outcomes_fig_cb fcb; /* outcomes_figures(): the figure, unpacked by hand */
    void *arg;
};

/* Reads the varint at p (before end) into *v. Returns its length, or 0
 * when it runs past end or past max bytes. */
static size_t wire_varint(const uint8_t *p, const uint8_t *end, size_t max, uint64_t *v)
{
    uint64_t x = 0;

    for (size_t i = 0; i < max && p + i < end; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

/* The value field of an Outcome's bytes, read without protobuf-c: 0 and
 * *value, or 1 when the bytes hold something other than the fields
 * outcomes_put() writes, in their wire types, each whole (the caller then
 * unpacks them in full, which decides). */
static int wire_value(const uint8_t *p, size_t len, double *value)
{
    const uint8_t *end = p + len;
    uint64_t v;
    double x = 0;

    while (p < end) {
        uint8_t tag = *p++;
        size_t n;

        switch (tag) {
        case 0x0a: /* subject_id, period, metric: length-delimited */
        case 0x1a:
        case 0x22:
            n = wire_varint(p, end, 5, &v);
            if (n == 0 || v > (uint64_t)(end - p - (ptrdiff_t)n)) {
                return 1;
            }
            p += n + (size_t)v;
            break;
        case 0x10: /* team, imported_at_ms: varints */
        case 0x30:
            n = wire_varint(p, end, PBWIRE_VARINT_MAX, &v);
            if (n == 0) {
                return 1;
            }
            p += n;
            break;
        case 0x29: /* value: 64 bits, little-endian; the last one counts */
            if (end - p < 8) {
                return 1;
            }
            v = 0;
            for (int i = 7; i >= 0; i--) {
                v = v << 8 | p[i];
            }
            memcpy(&x, &v, sizeof(x));
            p += 8;
            break;
        default:
            return 1;
        }
    }
    *value = x;
    return 0;
}

int outcomes_value_of(const uint8_t *val, size_t len, double *value)
{
    Coachq__V1__Outcome *o;

    if (wire_value(val, len, value) == 0) {
        return 0;
    }
    o = coachq__v1__outcome__unpack(NULL, len, val);
    if (o == NULL) {
        return -EIO;
    }
    *value = o->value;
    coachq__v1__outcome__free_unpacked(o, NULL);
    return 0;
}

/* Hands one stored figure (key and value checked by the caller for a
 * period) to c->fcb. pos is the period's offset in the key. */
static int outcomes_fig_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                            size_t pos, uint32_t pk, struct outcomes_list_ctx *c)
{
    struct outcomes_fig f;
    size_t mpos = pos + 4;
    int rc;

    /* The metric: len | name, to the key's end. */
    if (key[mpos] == 0 || mpos + 1 + key[mpos] != klen) {
        return -EIO;
    }
    f.subject = (const char *)key + 1;
    f.subject_len = key[0];
    f.team = key[pos - 1] != 0;
    f.first_day = (int32_t)(pk / 2);
    f.quarter = (int)(pk & 1);
    f.metric = (const char *)key + mpos + 1;
    f.metric_len = key[mpos];
    rc = outcomes_value_of(val, vlen, &f.value);
    if (rc < 0) {
        return rc;
    }
    return c->fcb(&f, c->arg);
}

static int outcomes_list_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                             void *arg)
{
    struct outcomes_list_ctx *c = arg;
    Coachq__V1__Outcome *o;
    uint32_t pk;
    int32_t first;
    size_t pos;
    int rc;

    /* len | subject | team | period(4) | len | metric */
    if (klen < 1 || key[0] == 0 || (size_t)key[0] + 1 + 1 + 4 + 2 > klen) {
        return -EIO;
    }
    pos = (size_t)key[0] + 2;
    pk = keys_get_be32(key + pos);
    first = (int32_t)(pk / 2);
    /* A period ends no earlier than it starts, so its last day (a civil
     * date's worth of arithmetic) is worked out only for one that starts
     * before the window. */
    if (first > c->until ||
        (first < c->from && outcomes_period_last(first, (int)(pk & 1)) < c->from)) {
        return 0;
    }
    if (c->fcb != NULL) {
        return outcomes_fig_one(key, klen, val, vlen, pos, pk, c);
    }
    o = coachq__v1__outcome__unpack(NULL, vlen, val);
    if (o == NULL) {
        return -EIO;
    }
    rc = c->cb(o, c->arg);
    coachq__v1__outcome__free_unpacked(o, NULL);
    return rc;
}

/* No period is longer than a quarter, 92 days: one that starts more than
 * OUTCOMES_LONGEST days before a day ends before it. */
#define OUTCOMES_LONGEST 92

/* Visits one subject's keys (prefix, plen bytes: its length and id) whose
 * period starts on or after from_first and no later than c->until, the
 * individual figures (team flag 0) then the team's (1), in key order, with
 * outcomes_list_one(). One cursor serves both: the team figures are sought
 * only when the cursor, past the individual ones, is not already among
 * them at or after from_first, so a subject without figures costs one
 * seek, as a plain scan of its keys did. Returns 0, 1 when cb stopped the
 * list, a negative code from cb, or a store code. */
static int outcomes_range(struct store_txn *t, const uint8_t *prefix, size_t plen,
                          int32_t from_first, struct outcomes_list_ctx *c)
{
    uint8_t seek[KEYS_BUF_MAX + 5];
    uint32_t pk_from = (uint32_t)from_first * 2u;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t team = 0;
    int op = MDB_SET_RANGE;
    int cbrc = 0;
    int rc;

    memcpy(seek, prefix, plen);
    seek[plen] = team;
    keys_put_be32(seek + plen + 1, pk_from);
    rc = mdb_cursor_open(t->txn, t->s->dbi_outcomes, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    k.mv_data = seek;
    k.mv_size = plen + 5;
    while (cbrc == 0 && (rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op)) == 0) {
        const uint8_t *p = k.mv_data;
        uint32_t pk;

        if (k.mv_size < plen || memcmp(p, prefix, plen) != 0) {
            break;
        }
        if (k.mv_size < plen + 5) {
            /* Too short to hold a period: outcomes_list_one() refuses it. */
            cbrc = outcomes_list_one(k.mv_data, k.mv_size, v.mv_data, v.mv_size, c);
            break;
        }
        pk = keys_get_be32(p + plen + 1);
        /* The periods of one team flag sort by their first day: past until,
         * none of that flag is left. */
        if (p[plen] == team && (int64_t)(pk / 2) <= c->until) {
            cbrc = outcomes_list_one(k.mv_data, k.mv_size, v.mv_data, v.mv_size, c);
            op = MDB_NEXT;
            continue;
        }
        if (team == 1 || p[plen] > 1) {
            break;
        }
        team = 1;
        if (p[plen] == 1 && pk >= pk_from) {
            /* Already at the team figures' first key in range. */
            op = MDB_GET_CURRENT;
            continue;
        }
        seek[plen] = team;
        k.mv_data = seek;
        k.mv_size = plen + 5;
        op = MDB_SET_RANGE;
    }
    mdb_cursor_close(cur);
    if (cbrc != 0) {
        return cbrc;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdberr_errno(rc);
}

/* outcomes_list() and outcomes_figures(): c names the callback. */
static int outcomes_visit(struct store_txn *t, const char *subject, struct outcomes_list_ctx *cx)
{
    struct outcomes_list_ctx c = *cx;
    int32_t from_day = c.from, until_day = c.until;
    struct keys_buf k;
    int32_t from_first;
    int rc;

    keys_buf_reset(&k);
    if (subject != NULL) {
        if (validate_id(subject) != 0) {
            return -EINVAL;
        }
        keys_buf_id(&k, subject);
        if (k.err != 0) {
            return k.err;
        }
    }
    if (from_day > until_day) {
        return 0;
    }
    if (subject == NULL) {
        return store_txn_scan(t, t->s->dbi_outcomes, k.b, k.len, 0, outcomes_list_one, &c);
    }
    /* One subject: its figures from the first period that can reach
     * from_day to the last that starts by until_day, so a long history
     * costs nothing outside the window. */
    from_first = from_day > OUTCOMES_LONGEST ? from_day - OUTCOMES_LONGEST : 0;
    rc = outcomes_range(t, k.b, k.len, from_first, &c);
    return rc > 0 ? 0 : rc;
}

int outcomes_list(struct store_txn *t, const char *subject, int32_t from_day, int32_t until_day,
                  outcomes_cb cb, void *arg)
{
    struct outcomes_list_ctx c = {from_day, until_day, cb, NULL, arg};

    return outcomes_visit(t, subject, &c);
}

int outcomes_figures(struct store_txn *t, const char *subject, int32_t from_day, int32_t until_day,
                     outcomes_fig_cb cb, void *arg)
{
    struct outcomes_list_ctx c = {from_day, until_day, NULL, cb, arg};

    return outcomes_visit(t, subject, &c);
}

int outcomes_own_subjects(struct store_txn *t, size_t max, outcomes_subject_cb cb, void *arg)
{
    uint8_t seek[1 + 255 + 1];
    size_t slen = 0; /* the subject's prefix (length byte and id) in seek; 0: none yet */
    size_t visited = 0;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int op = MDB_FIRST;
    int rc;

    rc = mdb_cursor_open(t->txn, t->s->dbi_outcomes, &cur);
    if (rc != 0) {
        return mdberr_errno(rc);
    }
    while ((rc = mdb_cursor_get(cur, &k, &v, (MDB_cursor_op)op)) == 0) {
        const uint8_t *p = k.mv_data;
        size_t plen = k.mv_size > 0 ? 1 + (size_t)p[0] : 0;

        op = MDB_NEXT;
        if (plen < 2 || k.mv_size <= plen) {
            /* No subject and team flag to read: outcomes_list_one()
             * refuses such a key; step over it. */
            continue;
        }
        if (plen == slen && memcmp(p, seek, slen) == 0) {
            /* A key of the subject at hand past its figures' flags (one
             * that cannot be read): step on to the next subject. */
            continue;
        }
        if (++visited > max) {
            rc = 1;
            goto out;
        }
        memcpy(seek, p, plen);
        slen = plen;
        /* Its own figures (team 0) sort before its team's. */
        if (p[plen] == 0) {
            rc = cb((const char *)p + 1, plen - 1, arg);
            if (rc != 0) {
                goto out;
            }
        }
        /* Past every key of the subject that has a team flag of 0 or 1. */
        seek[slen] = 0xFF;
        k.mv_data = seek;
        k.mv_size = slen + 1;
        op = MDB_SET_RANGE;
    }
    rc = rc == MDB_NOTFOUND ? 0 : mdberr_errno(rc);
out:
    mdb_cursor_close(cur);
    return rc;
}

int outcomes_count(struct store_txn *t, uint64_t *n)
{
    MDB_stat st;
    int rc = mdb_stat(t->txn, t->s->dbi_outcomes, &st);

    if (rc != 0) {
        return mdberr_errno(rc);
    }
    *n = st.ms_entries;
    return 0;
}

/* ---- Imports ---------------------------------------------------------- */

int outcomes_import_txn(struct store_txn *t, Coachq__V1__Outcome *const *rows, size_t n,
                        int64_t now_ms, const char *actor, const char *origin,
                        Coachq__V1__ImportResult *res, struct validate_error *fault)
{
    struct outcomes_ref *refs = NULL;
    char prefix[40], detail[200];
    int rc;

    res->added = res->changed = res->unchanged = 0;
    if (!t->write) {
        return -EROFS;
    }
    if (n > OUTCOMES_MAX_ROWS) {
        return outcomes_fail(fault, "outcomes", "", "%zu outcomes; at most %u in one import", n,
                             OUTCOMES_MAX_ROWS);
    }
    /* Every check before the first write: a refused import writes
     * nothing even if its caller were to commit. */
    for (size_t i = 0; i < n; i++) {
        MDB_val person;

        snprintf(prefix, sizeof(prefix), "outcomes[%zu]", i);
        if (outcomes_check(rows[i], prefix, fault) < 0) {
            return -EINVAL;
        }
        rc = store_txn_get_raw(t, t->s->dbi_people, (const uint8_t *)rows[i]->subject_id,
                               strlen(rows[i]->subject_id), &person);
        if (rc == -ENOENT) {
            return outcomes_fail(fault, prefix, "subject_id",
                                 "no person '%s' is known; import people first",
                                 rows[i]->subject_id);
        }
        if (rc < 0) {
            return rc;
        }
    }
    if (n > 0) {
        refs = malloc(n * sizeof(*refs));
        if (refs == NULL) {
            return -ENOMEM;
        }
        outcomes_sort(rows, n, refs);
        for (size_t i = 1; i < n; i++) {
            if (outcomes_same_key(refs[i - 1].o, refs[i].o)) {
                snprintf(prefix, sizeof(prefix), "outcomes[%zu]", refs[i].i);
                rc = outcomes_fail(fault, prefix, "",
                                   "the same subject, team, period and metric as outcomes[%zu]",
                                   refs[i - 1].i);
                free(refs);
                return rc;
            }
        }
        free(refs);
    }
    for (size_t i = 0; i < n; i++) {
        Coachq__V1__Outcome o = *rows[i];
        int state;

        o.imported_at_ms = now_ms;
        rc = outcomes_put(t, &o, &state);
        if (rc < 0) {
            return rc;
        }
        if (state == 1) {
            res->added++;
        } else if (state == 2) {
            res->changed++;
        } else {
            res->unchanged++;
        }
    }
    if (res->added + res->changed > 0) {
        snprintf(detail, sizeof(detail), "%zu outcomes; %u added, %u changed, %u unchanged", n,
                 res->added, res->changed, res->unchanged);
        rc = audit_append(t, now_ms, actor, "import.outcomes", "outcomes", detail, origin, NULL);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}
