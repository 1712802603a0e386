#include "actions.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions_int.h"
#include "agg.h"
#include "day.h"
#include "error.h"
#include "keys.h"
#include "log.h"
#include "obs.h"
#include "obs_codec.h"
#include "people.h"
#include "snapshot.h"
#include "store_int.h"
#include "uuid.h"
#include "zone.h"

#define ACTIONS_PREFIX "observation"
/* A contribution's value at most: the coach and one scope per manager. */
#define ACTIONS_CONTRIB_MAX                                                                        \
    (1 + (1 + VALIDATE_MAX_ID) + PEOPLE_MAX_CHAIN * (1 + 2 * VALIDATE_MAX_ID + 1))

/* Marks a derived id apart from the root's: a fixed mix per index, so the
 * same action of every version of an observation gets the same id. */
void actions_id_of(const Coachq__V1__Action *a, const uint8_t root[16], size_t i, uint8_t out[16])
{
    uint64_t h = 1469598103934665603ull;

    if (a->id.len == KEYS_UUID_LEN) {
        memcpy(out, a->id.data, KEYS_UUID_LEN);
        return;
    }
    /* FNV-1a over the root and the index spreads the change over all
     * bytes; the version nibble says "derived" (8, not a random 4). */
    for (int r = 0; r < 2; r++) {
        for (size_t j = 0; j < KEYS_UUID_LEN; j++) {
            h = (h ^ root[j]) * 1099511628211ull;
        }
        h = (h ^ (uint64_t)(i + 1)) * 1099511628211ull;
        keys_put_be64(out + 8 * r, h ^ keys_get_be64(root + 8 * r));
    }
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x80);
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

int actions_status_open(Coachq__V1__ActionStatus s)
{
    return s != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE &&
           s != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED;
}

static int refuse(struct validate_error *fault, Coachq__V1__Code code, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(struct validate_error *fault, Coachq__V1__Code code, const char *field,
                  const char *fmt, ...)
{
    va_list ap;

    fault->code = code;
    snprintf(fault->field, sizeof(fault->field), "%s.%s", ACTIONS_PREFIX, field);
    va_start(ap, fmt);
    vsnprintf(fault->message, sizeof(fault->message), fmt, ap);
    va_end(ap);
    return ERROR_REFUSED;
}

int actions_get_txn(struct store_txn *t, const uint8_t id[16], Coachq__V1__ActionRecord **out)
{
    MDB_val v;
    int rc;

    *out = NULL;
    rc = store_txn_get_raw(t, t->s->dbi_actions, id, KEYS_UUID_LEN, &v);
    return rc == 0 ? actions_record_unpack(v.mv_data, v.mv_size, out) : rc;
}

int actions_indexed_get(struct store_txn *t, const uint8_t *id, Coachq__V1__ActionRecord **out)
{
    int rc = actions_get_txn(t, id, out);

    if (rc == -ENOENT) {
        log_event(LOG_ERROR, "store_index_dangling", "index=actions_by");
        return 1;
    }
    return rc;
}

/* ---- Index ---------------------------------------------------------- */

/* Builds the index key of r for kind 'c' (coach) or 'e' (coachee). */
static int index_key(const Coachq__V1__ActionRecord *r, char kind, uint8_t *key, size_t *klen)
{
    const char *who = kind == 'e' ? r->coachee_id : r->coach_id;
    size_t n = who != NULL ? strlen(who) : 0;

    if (n == 0 || n > VALIDATE_MAX_ID || r->id.len != KEYS_UUID_LEN) {
        return -EINVAL;
    }
    key[0] = (uint8_t)kind;
    memcpy(key + 1, who, n);
    key[1 + n] = 0;
    key[2 + n] = actions_status_open(r->status) ? '1' : '0';
    keys_put_be64(key + 3 + n, (uint64_t)r->agreed_at);
    memcpy(key + 11 + n, r->id.data, KEYS_UUID_LEN);
    *klen = 11 + n + KEYS_UUID_LEN;
    return 0;
}

/* The due key of r: its due day, or ACTIONS_NO_DUE. */
static uint32_t due_key(const Coachq__V1__ActionRecord *r)
{
    return r->due_day != 0 ? r->due_day : ACTIONS_NO_DUE;
}

/* The open index of r ('o' key) and its coach's open counter of r's due
 * day ('n' key), put or deleted; nothing for a closed record. */
static int open_put(struct store_txn *t, const Coachq__V1__ActionRecord *r, int del)
{
    uint8_t key[ACTIONS_KEY_MAX];
    size_t n = r->coach_id != NULL ? strlen(r->coach_id) : 0;
    int64_t one = del ? -1 : 1;
    int rc;

    if (!actions_status_open(r->status) || n == 0 || n > VALIDATE_MAX_ID ||
        r->id.len != KEYS_UUID_LEN) {
        return 0;
    }
    key[0] = 'o';
    memcpy(key + 1, r->coach_id, n);
    key[1 + n] = 0;
    keys_put_be32(key + 2 + n, due_key(r));
    keys_put_be64(key + 6 + n, (uint64_t)r->agreed_at);
    memcpy(key + 14 + n, r->id.data, KEYS_UUID_LEN);
    if (del) {
        rc = store_txn_del(t, t->s->dbi_actions_by, key, 14 + n + KEYS_UUID_LEN);
    } else {
        rc = store_txn_put_raw(t, t->s->dbi_actions_by, key, 14 + n + KEYS_UUID_LEN, "", 0, NULL);
    }
    if (rc == 0) {
        key[0] = 'n';
        rc = actions_counter_add(t, key, 6 + n, &one, 1);
    }
    return rc;
}

static int index_put(struct store_txn *t, const Coachq__V1__ActionRecord *r, int del)
{
    static const char kinds[2] = {'c', 'e'};
    uint8_t key[ACTIONS_KEY_MAX];
    size_t klen;
    int rc = 0;

    for (int i = 0; i < 2 && rc == 0; i++) {
        if (index_key(r, kinds[i], key, &klen) != 0) {
            continue;
        }
        if (del) {
            rc = store_txn_del(t, t->s->dbi_actions_by, key, klen);
        } else {
            rc = store_txn_put_raw(t, t->s->dbi_actions_by, key, klen, "", 0, NULL);
        }
    }
    return rc == 0 ? open_put(t, r, del) : rc;
}

/* ---- Follow-through counters ------------------------------------------- */

/* What r adds to the week counters of its scopes (actions.h,
 * ACTIONS_AGREED...). */
static void counts_of(const Coachq__V1__ActionRecord *r, int64_t c[ACTIONS_NCOUNTS])
{
    int followed = 0;

    for (size_t i = 0; i < r->n_history && !followed; i++) {
        followed = r->history[i]->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_UNSPECIFIED;
    }
    c[ACTIONS_AGREED] = 1;
    c[ACTIONS_FOLLOWED] = followed && r->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN;
    c[ACTIONS_DONE] = r->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE;
    c[ACTIONS_PARTLY] = r->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE;
    c[ACTIONS_NOT_DONE] = r->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE;
    c[ACTIONS_DROPPED] = r->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED;
}

size_t actions_week_key(uint8_t key[ACTIONS_KEY_MAX], int32_t monday, const uint8_t *scope,
                        size_t len)
{
    key[0] = 'w';
    keys_put_be32(key + 1, (uint32_t)monday);
    memcpy(key + 5, scope, len);
    return 5 + len;
}

/* Adds sign * r's counts to the week counter of scope (len bytes). */
static int week_add(struct store_txn *t, const Coachq__V1__ActionRecord *r, const uint8_t *scope,
                    size_t len, int sign)
{
    uint8_t key[ACTIONS_KEY_MAX];
    int64_t c[ACTIONS_NCOUNTS];
    size_t klen;

    if (len == 0 || len > 2 * VALIDATE_MAX_ID + 1) {
        return -EINVAL;
    }
    counts_of(r, c);
    for (int i = 0; i < ACTIONS_NCOUNTS; i++) {
        c[i] *= sign;
    }
    klen = actions_week_key(key, agg_week_of(r->agreed_day), scope, len);
    return actions_counter_add(t, key, klen, c, ACTIONS_NCOUNTS);
}

/* The contribution key of r: 'k', the Monday of its agreeing session, its
 * id. The week comes first so that the records of one batch, held in the
 * same days, put theirs on a few neighbouring leaves; a record whose
 * session moves to another week has its contribution taken back and added
 * again (contrib_same()), so the key never goes stale. */
#define ACTIONS_CONTRIB_KEY (1 + 4 + KEYS_UUID_LEN)

static void contrib_key(const Coachq__V1__ActionRecord *r, uint8_t key[ACTIONS_CONTRIB_KEY])
{
    key[0] = 'k';
    keys_put_be32(key + 1, (uint32_t)agg_week_of(r->agreed_day));
    memcpy(key + 5, r->id.data, KEYS_UUID_LEN);
}

/* Takes back what r added to the week counters: the scopes its
 * contribution record names (those of when it was added, whatever the
 * reporting lines say now), then deletes that record. */
static int contrib_take(struct store_txn *t, const Coachq__V1__ActionRecord *r)
{
    uint8_t key[ACTIONS_CONTRIB_KEY];
    uint8_t val[ACTIONS_CONTRIB_MAX];
    size_t vlen, off;
    MDB_val v;
    int rc;

    if (r->id.len != KEYS_UUID_LEN) {
        return 0;
    }
    contrib_key(r, key);
    rc = store_txn_get_raw(t, t->s->dbi_actions_by, key, sizeof(key), &v);
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (v.mv_size > sizeof(val) || v.mv_size < 1) {
        return -EIO;
    }
    vlen = v.mv_size;
    memcpy(val, v.mv_data, vlen); /* v is borrowed until the next write */
    off = 1;
    for (unsigned i = 0; i < val[0] && rc == 0; i++) {
        if (off >= vlen || off + 1 + val[off] > vlen) {
            return -EIO;
        }
        rc = week_add(t, r, val + off + 1, val[off], -1);
        off += 1 + (size_t)val[off];
    }
    return rc == 0 ? store_txn_del(t, t->s->dbi_actions_by, key, sizeof(key)) : rc;
}

/* Appends scope (a, or "a/b" when b is not NULL) to a contribution. */
static void contrib_scope(uint8_t *val, size_t *off, const char *a, const char *b)
{
    size_t na = strlen(a), nb = b != NULL ? strlen(b) : 0;
    size_t len = na + (b != NULL ? 1 + nb : 0);

    val[(*off)++] = (uint8_t)len;
    memcpy(val + *off, a, na);
    if (b != NULL) {
        val[*off + na] = '/';
        memcpy(val + *off + na + 1, b, nb);
    }
    *off += len;
    val[0]++;
}

/* The scopes r's counts go to, as a contribution's value (into val, its
 * length into *len): its coach, and "<manager>/<coach>" for each manager
 * above the coach on the day of the agreeing session. Returns 0, 1 when r
 * counts nowhere (no id or coach), or a negative code. */
static int contrib_build(struct store_txn *t, const Coachq__V1__ActionRecord *r,
                         uint8_t val[ACTIONS_CONTRIB_MAX], size_t *len)
{
    char chain[PEOPLE_MAX_CHAIN][65];
    size_t n = 0, off = 1;
    int rc;

    if (r->id.len != KEYS_UUID_LEN || r->coach_id == NULL || r->coach_id[0] == '\0' ||
        strlen(r->coach_id) > VALIDATE_MAX_ID) {
        return 1;
    }
    rc = people_chain_at(t, r->coach_id, r->agreed_day, chain, &n);
    if (rc == -ENOENT || rc == -EINVAL) {
        /* Nobody above the coach (or an id the people table cannot hold):
         * the coach's own counters only. */
        n = 0;
    } else if (rc != 0) {
        return rc;
    }
    val[0] = 0;
    contrib_scope(val, &off, r->coach_id, NULL);
    for (size_t i = 0; i < n && i < PEOPLE_MAX_CHAIN; i++) {
        if (chain[i][0] != '\0' && strlen(chain[i]) <= VALIDATE_MAX_ID) {
            contrib_scope(val, &off, chain[i], r->coach_id);
        }
    }
    *len = off;
    return 0;
}

/* Adds r's counts to the week of its agreeing session in each of its
 * scopes (contrib_build()), and records those scopes. */
static int contrib_add(struct store_txn *t, const Coachq__V1__ActionRecord *r)
{
    uint8_t key[ACTIONS_CONTRIB_KEY];
    uint8_t val[ACTIONS_CONTRIB_MAX];
    size_t len = 0;
    int rc = contrib_build(t, r, val, &len);

    if (rc != 0) {
        return rc > 0 ? 0 : rc;
    }
    for (size_t i = 0, p = 1; i < val[0] && rc == 0; i++) {
        rc = week_add(t, r, val + p + 1, val[p], 1);
        p += 1 + (size_t)val[p];
    }
    if (rc == 0) {
        contrib_key(r, key);
        rc = store_txn_put_raw(t, t->s->dbi_actions_by, key, sizeof(key), val, len, NULL);
    }
    return rc;
}

/* Whether old (as stored) and r, the same record, go to the same week and
 * scopes: 1 (val and *len then hold r's scopes), 0, or a negative code. */
static int contrib_same(struct store_txn *t, const Coachq__V1__ActionRecord *old,
                        const Coachq__V1__ActionRecord *r, uint8_t val[ACTIONS_CONTRIB_MAX],
                        size_t *len)
{
    uint8_t key[ACTIONS_CONTRIB_KEY];
    MDB_val v;
    int rc;

    if (old->id.len != KEYS_UUID_LEN || r->id.len != KEYS_UUID_LEN ||
        memcmp(old->id.data, r->id.data, KEYS_UUID_LEN) != 0 ||
        agg_week_of(old->agreed_day) != agg_week_of(r->agreed_day)) {
        return 0;
    }
    rc = contrib_build(t, r, val, len);
    if (rc != 0) {
        return rc > 0 ? 0 : rc;
    }
    contrib_key(r, key);
    rc = store_txn_get_raw(t, t->s->dbi_actions_by, key, sizeof(key), &v);
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    return v.mv_size == *len && memcmp(v.mv_data, val, *len) == 0;
}

/* Moves the counts of old (a record as stored) to r, its new state: when
 * both go to the same scopes and week (a follow-up or an amendment of a
 * status), only the difference is added, once per scope; otherwise old's
 * counts are taken back and r's added. */
static int contrib_move(struct store_txn *t, const Coachq__V1__ActionRecord *old,
                        const Coachq__V1__ActionRecord *r)
{
    uint8_t val[ACTIONS_CONTRIB_MAX];
    uint8_t wkey[ACTIONS_KEY_MAX];
    int64_t a[ACTIONS_NCOUNTS], b[ACTIONS_NCOUNTS];
    size_t len = 0;
    int zero = 1;
    int rc = contrib_same(t, old, r, val, &len);

    if (rc < 0) {
        return rc;
    }
    if (rc == 0) {
        rc = contrib_take(t, old);
        return rc == 0 ? contrib_add(t, r) : rc;
    }
    counts_of(old, a);
    counts_of(r, b);
    for (int i = 0; i < ACTIONS_NCOUNTS; i++) {
        b[i] -= a[i];
        zero = zero && b[i] == 0;
    }
    rc = 0;
    for (size_t i = 0, p = 1; i < val[0] && rc == 0 && !zero; i++) {
        size_t n = val[p];
        size_t klen = actions_week_key(wkey, agg_week_of(r->agreed_day), val + p + 1, n);

        rc = actions_counter_add(t, wkey, klen, b, ACTIONS_NCOUNTS);
        p += 1 + n;
    }
    return rc;
}

/* Whether a and b have the same index entries of kind (index_key()). */
static int same_key(const Coachq__V1__ActionRecord *a, const Coachq__V1__ActionRecord *b, char kind)
{
    uint8_t ka[ACTIONS_KEY_MAX], kb[ACTIONS_KEY_MAX];
    size_t la, lb;

    return index_key(a, kind, ka, &la) == 0 && index_key(b, kind, kb, &lb) == 0 && la == lb &&
           memcmp(ka, kb, la) == 0;
}

/* Writes r and its index entries in place of old's (NULL: none), touching
 * only the entries that change. */
static int record_put(struct store_txn *t, const Coachq__V1__ActionRecord *old,
                      const Coachq__V1__ActionRecord *r)
{
    static const char kinds[2] = {'c', 'e'};
    uint8_t key[ACTIONS_KEY_MAX];
    size_t klen;
    int same_open;
    int rc;

    if (old == NULL) {
        /* A new action's id is the client's UUIDv7, made when it was agreed,
         * so it mostly sorts after every stored one and is appended (an
         * update is put in place below). */
        rc = actions_record_put(t, r, 1);
        if (rc == 0) {
            rc = index_put(t, r, 0);
        }
        if (rc == 0) {
            rc = contrib_add(t, r);
        }
        return rc == 0 ? actions_batch_touch(t, r) : rc;
    }
    /* At the size it was stored with when this is its first follow-up
     * (actions_record.c): LMDB then overwrites it in its place. */
    rc = actions_record_put(t, r, 0);
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (same_key(old, r, kinds[i])) {
            continue;
        }
        if (index_key(old, kinds[i], key, &klen) == 0) {
            rc = store_txn_del(t, t->s->dbi_actions_by, key, klen);
        }
        if (rc == 0 && index_key(r, kinds[i], key, &klen) == 0) {
            rc = store_txn_put_raw(t, t->s->dbi_actions_by, key, klen, "", 0, NULL);
        }
    }
    same_open = actions_status_open(old->status) == actions_status_open(r->status) &&
                due_key(old) == due_key(r) && old->agreed_at == r->agreed_at &&
                old->coach_id != NULL && r->coach_id != NULL &&
                strcmp(old->coach_id, r->coach_id) == 0;
    if (rc == 0 && !same_open) {
        rc = open_put(t, old, 1);
        if (rc == 0) {
            rc = open_put(t, r, 0);
        }
    }
    if (rc == 0) {
        rc = contrib_move(t, old, r);
    }
    /* The values of the persons r was and is with (actions_view.c). */
    if (rc == 0) {
        rc = actions_batch_touch(t, old);
    }
    return rc == 0 ? actions_batch_touch(t, r) : rc;
}

static int record_del(struct store_txn *t, const Coachq__V1__ActionRecord *r)
{
    int rc = index_put(t, r, 1);

    if (rc == 0) {
        rc = contrib_take(t, r);
    }
    if (rc == 0) {
        rc = store_txn_del(t, t->s->dbi_actions, r->id.data, KEYS_UUID_LEN);
    }
    return rc == 0 ? actions_batch_touch(t, r) : rc;
}

/* ---- Status from the history ------------------------------------------ */

/* The status the history gives: each observation's last event stands for
 * it (a withdrawn one, without a status, for nothing), and of those the
 * one from the latest session wins; OPEN when none is left. */
static Coachq__V1__ActionStatus status_of(const Coachq__V1__ActionRecord *r)
{
    Coachq__V1__ActionStatus best = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN;
    int64_t best_at = INT64_MIN;

    for (size_t i = 0; i < r->n_history; i++) {
        const Coachq__V1__ActionEvent *e = r->history[i];
        int last = 1;

        for (size_t j = i + 1; j < r->n_history; j++) {
            const Coachq__V1__ActionEvent *f = r->history[j];

            if (f->observation_id.len == e->observation_id.len &&
                memcmp(f->observation_id.data, e->observation_id.data, e->observation_id.len) ==
                    0) {
                last = 0;
                break;
            }
        }
        if (!last || e->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_UNSPECIFIED) {
            continue;
        }
        if (e->at >= best_at) {
            best_at = e->at;
            best = e->status;
        }
    }
    return best;
}

/* The event that observation root's latest standing event in r says, or
 * NULL. */
static const Coachq__V1__ActionEvent *event_of(const Coachq__V1__ActionRecord *r,
                                               const uint8_t root[16])
{
    for (size_t i = r->n_history; i > 0; i--) {
        const Coachq__V1__ActionEvent *e = r->history[i - 1];

        if (e->observation_id.len == KEYS_UUID_LEN &&
            memcmp(e->observation_id.data, root, KEYS_UUID_LEN) == 0) {
            return e->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_UNSPECIFIED ? NULL : e;
        }
    }
    return NULL;
}

/* True if an observation other than root has an event in r. */
static int followed_by_other(const Coachq__V1__ActionRecord *r, const uint8_t root[16])
{
    for (size_t i = 0; i < r->n_history; i++) {
        const Coachq__V1__ActionEvent *e = r->history[i];

        if (e->observation_id.len != KEYS_UUID_LEN ||
            memcmp(e->observation_id.data, root, KEYS_UUID_LEN) != 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- Rules ------------------------------------------------------------ */

static int has_behaviour(const Coachq__V1__Rubric *rubric, const char *id)
{
    for (size_t i = 0; rubric != NULL && i < rubric->n_behaviours; i++) {
        if (rubric->behaviours[i]->id != NULL && strcmp(rubric->behaviours[i]->id, id) == 0) {
            return 1;
        }
    }
    return 0;
}

static int check_agreed(struct store_txn *t, const Coachq__V1__Observation *obs,
                        const Coachq__V1__Rubric *rubric, const uint8_t root[16], int32_t day,
                        struct validate_error *fault)
{
    char f[80], d0[16], d1[16], sid[UUID_STR_LEN];
    int rc = 0;

    for (size_t i = 0; i < obs->n_actions && rc == 0; i++) {
        const Coachq__V1__Action *a = obs->actions[i];
        Coachq__V1__ActionRecord *r = NULL;
        uint8_t id[16];

        if (a->due_day != 0 && (int64_t)a->due_day < (int64_t)day) {
            snprintf(f, sizeof(f), "actions[%zu].due_day", i);
            day_format((int32_t)a->due_day, d0, sizeof(d0));
            day_format(day, d1, sizeof(d1));
            return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, f,
                          "is %s, before the session (%s); give a due date on or after the "
                          "session, or none",
                          d0, d1);
        }
        for (size_t j = 0; j < a->n_focus_behaviours; j++) {
            if (!has_behaviour(rubric, a->focus_behaviours[j])) {
                snprintf(f, sizeof(f), "actions[%zu].focus_behaviours[%zu]", i, j);
                return refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, f,
                              "'%s' is not a behaviour of rubric '%s' v%u; name one of its "
                              "behaviours, or put a rep skill in focus_skill",
                              a->focus_behaviours[j], obs->rubric_id,
                              (unsigned)obs->rubric_version);
            }
        }
        actions_id_of(a, root, i, id);
        rc = actions_get_txn(t, id, &r);
        if (rc == -ENOENT) {
            rc = 0;
            continue;
        }
        if (rc != 0) {
            break;
        }
        if (r->agreed_in.len != KEYS_UUID_LEN || memcmp(r->agreed_in.data, root, 16) != 0) {
            snprintf(f, sizeof(f), "actions[%zu].id", i);
            uuid_format(id, sid);
            rc = refuse(fault, COACHQ__V1__CODE__ALREADY_EXISTS, f,
                        "action %s was agreed in another session; make a new id for a new "
                        "action, or follow that one up in follow_ups",
                        sid);
        }
        coachq__v1__action_record__free_unpacked(r, NULL);
    }
    return rc;
}

static int check_one_follow_up(struct store_txn *t, const Coachq__V1__Observation *obs,
                               const uint8_t root[16], int amendment, size_t i,
                               struct validate_error *fault)
{
    const Coachq__V1__FollowUp *u = obs->follow_ups[i];
    Coachq__V1__ActionRecord *r = NULL;
    char f[64], sid[UUID_STR_LEN], d0[16];
    int rc;

    uuid_format(u->action_id.data, sid);
    snprintf(f, sizeof(f), "follow_ups[%zu].action_id", i);
    rc = actions_get_txn(t, u->action_id.data, &r);
    if (rc == -ENOENT) {
        return refuse(fault, COACHQ__V1__CODE__NOT_FOUND, f,
                      "there is no action %s; 'coachq actions --coachee %s --open' lists the "
                      "actions to follow up",
                      sid, obs->coachee_id);
    }
    if (rc != 0) {
        return rc;
    }
    if (strcmp(r->coach_id, obs->coach_id) != 0 || strcmp(r->coachee_id, obs->coachee_id) != 0) {
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, f,
                    "action %s was agreed by another coach and coachee; follow up only the "
                    "actions of %s with %s",
                    sid, obs->coach_id, obs->coachee_id);
    } else if (memcmp(r->agreed_in.data, root, KEYS_UUID_LEN) == 0 ||
               r->agreed_at >= obs->started_at) {
        day_format(r->agreed_day, d0, sizeof(d0));
        rc = refuse(fault, COACHQ__V1__CODE__INVALID_ARGUMENT, f,
                    "action %s was agreed in the session of %s, not before this one; follow it "
                    "up in a later session",
                    sid, d0);
    } else if (r->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE &&
               u->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE &&
               !(amendment && event_of(r, root) != NULL)) {
        /* Only an amendment of a session that followed it up may change
         * what that session said; none may add a new word against done. */
        snprintf(f, sizeof(f), "follow_ups[%zu].status", i);
        rc = refuse(fault, COACHQ__V1__CODE__FAILED_PRECONDITION, f,
                    "action %s is already done; a status goes back from done only by amending "
                    "the observation that said so",
                    sid);
    }
    coachq__v1__action_record__free_unpacked(r, NULL);
    return rc;
}

/* An amendment may not remove an action that later sessions followed up. */
static int check_removed(struct store_txn *t, const Coachq__V1__Observation *obs,
                         const struct rules_amend *amend, struct validate_error *fault)
{
    Coachq__V1__StoredObservation *prev = NULL;
    char sid[UUID_STR_LEN];
    int rc;

    int moved;

    rc = obs_read_txn(t, amend->previous, &prev);
    if (rc != 0) {
        return rc == -ENOENT ? 0 : rc;
    }
    /* An amendment that changes the pair moves the actions it agreed to
     * the new pair, unless a later session of the old pair followed them
     * up. */
    moved =
        prev->observation != NULL && (strcmp(prev->observation->coach_id, obs->coach_id) != 0 ||
                                      strcmp(prev->observation->coachee_id, obs->coachee_id) != 0);
    for (size_t i = 0; rc == 0 && prev->observation != NULL && i < prev->observation->n_actions;
         i++) {
        Coachq__V1__ActionRecord *r = NULL;
        uint8_t id[16], nid[16];
        int kept = 0;

        actions_id_of(prev->observation->actions[i], amend->root, i, id);
        for (size_t j = 0; j < obs->n_actions && !kept; j++) {
            actions_id_of(obs->actions[j], amend->root, j, nid);
            kept = memcmp(id, nid, 16) == 0;
        }
        if (kept && !moved) {
            continue;
        }
        /* No record (the store was damaged; verify finds it) leaves
         * nothing to keep; a store error ends the check, never passes it. */
        rc = actions_get_txn(t, id, &r);
        if (rc != 0) {
            rc = rc == -ENOENT ? 0 : rc;
            continue;
        }
        if (followed_by_other(r, amend->root)) {
            uuid_format(id, sid);
            rc = kept ? refuse(fault, COACHQ__V1__CODE__FAILED_PRECONDITION,
                               strcmp(prev->observation->coach_id, obs->coach_id) != 0
                                   ? "coach_id"
                                   : "coachee_id",
                               "moves action %s to another coach and coachee, but a later "
                               "session of this pair followed it up; keep the pair, or agree "
                               "a new action",
                               sid)
                      : refuse(fault, COACHQ__V1__CODE__FAILED_PRECONDITION, "actions",
                               "leaves out action %s, which a later session followed up; keep "
                               "it, and drop it with a follow-up instead",
                               sid);
        }
        coachq__v1__action_record__free_unpacked(r, NULL);
    }
    coachq__v1__stored_observation__free_unpacked(prev, NULL);
    return rc;
}

int actions_check(struct store_txn *t, const Coachq__V1__Observation *obs,
                  const Coachq__V1__Rubric *rubric, const struct rules_amend *amend, int32_t day,
                  struct validate_error *fault)
{
    const uint8_t *root = amend->is_amendment ? amend->root : obs->id.data;
    int rc;

    rc = check_agreed(t, obs, rubric, root, day, fault);
    for (size_t i = 0; rc == 0 && i < obs->n_follow_ups; i++) {
        rc = check_one_follow_up(t, obs, root, amend->is_amendment, i, fault);
    }
    if (rc == 0 && amend->is_amendment) {
        rc = check_removed(t, obs, amend, fault);
    }
    return rc;
}

/* ---- Applying a stored version ------------------------------------------ */

/* Frees a string of an unpacked record unless it is protobuf-c's shared
 * empty string. */
static void free_str(char *s)
{
    if (s != NULL && s != protobuf_c_empty_string) {
        free(s);
    }
}

/* A copy of s for a record that outlives the observation (r is freed with
 * free_unpacked(), which frees every string). */
static int dup_str(const char *s, char **out)
{
    *out = strdup(s != NULL ? s : "");
    return *out == NULL ? -ENOMEM : 0;
}

static int dup_bytes(const uint8_t *b, size_t n, ProtobufCBinaryData *out)
{
    out->data = malloc(n > 0 ? n : 1);
    if (out->data == NULL) {
        return -ENOMEM;
    }
    memcpy(out->data, b, n);
    out->len = n;
    return 0;
}

/* Sets r's agreed fields from action a of the stored version. */
static int fill_agreed(Coachq__V1__ActionRecord *r, const Coachq__V1__Action *a,
                       const Coachq__V1__StoredObservation *rec, int32_t day)
{
    const Coachq__V1__Observation *o = rec->observation;
    int rc;

    free_str(r->text);
    free_str(r->owner_id);
    free_str(r->focus_skill);
    free_str(r->coach_id);
    free_str(r->coachee_id);
    r->text = r->owner_id = r->focus_skill = r->coach_id = r->coachee_id = NULL;
    for (size_t j = 0; j < r->n_focus_behaviours; j++) {
        free_str(r->focus_behaviours[j]);
    }
    free(r->focus_behaviours);
    r->focus_behaviours = NULL;
    r->n_focus_behaviours = 0;
    rc = dup_str(a->text, &r->text);
    if (rc == 0) {
        rc = dup_str(a->owner_id, &r->owner_id);
    }
    /* An amendment may have moved the session to another pair. */
    if (rc == 0) {
        rc = dup_str(o->coach_id, &r->coach_id);
    }
    if (rc == 0) {
        rc = dup_str(o->coachee_id, &r->coachee_id);
    }
    if (rc == 0) {
        rc = dup_str(a->focus_skill, &r->focus_skill);
    }
    if (rc == 0 && a->n_focus_behaviours > 0) {
        r->focus_behaviours = calloc(a->n_focus_behaviours, sizeof(char *));
        rc = r->focus_behaviours == NULL ? -ENOMEM : 0;
        for (size_t j = 0; rc == 0 && j < a->n_focus_behaviours; j++) {
            rc = dup_str(a->focus_behaviours[j], &r->focus_behaviours[j]);
            r->n_focus_behaviours += rc == 0;
        }
    }
    r->owner = a->owner == COACHQ__V1__ACTION_OWNER__ACTION_OWNER_UNSPECIFIED
                   ? COACHQ__V1__ACTION_OWNER__ACTION_OWNER_REP
                   : a->owner;
    r->due_day = a->due_day;
    r->agreed_version = rec->version;
    r->agreed_day = day;
    r->agreed_at = o->started_at;
    return rc;
}

/* A new record for action a (id) of the stored version. */
static int new_record(const Coachq__V1__Action *a, const uint8_t id[16],
                      const Coachq__V1__StoredObservation *rec, int32_t day,
                      Coachq__V1__ActionRecord **out)
{
    Coachq__V1__ActionRecord *r = calloc(1, sizeof(*r));
    int rc;

    *out = NULL;
    if (r == NULL) {
        return -ENOMEM;
    }
    coachq__v1__action_record__init(r);
    r->text = r->owner_id = r->focus_skill = r->coach_id = r->coachee_id = NULL;
    rc = dup_bytes(id, KEYS_UUID_LEN, &r->id);
    if (rc == 0) {
        rc = dup_bytes(rec->root_id.data, KEYS_UUID_LEN, &r->agreed_in);
    }
    if (rc == 0) {
        rc = fill_agreed(r, a, rec, day);
    }
    r->status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN;
    if (rc != 0) {
        coachq__v1__action_record__free_unpacked(r, NULL);
        return rc;
    }
    *out = r;
    return 0;
}

/* Appends an event (status UNSPECIFIED: withdrawn) to r's history. */
static int add_event(Coachq__V1__ActionRecord *r, const Coachq__V1__StoredObservation *rec,
                     Coachq__V1__ActionStatus status, const char *evidence, int64_t at, int32_t day)
{
    Coachq__V1__ActionEvent **h;
    Coachq__V1__ActionEvent *e = calloc(1, sizeof(*e));
    int rc;

    if (e == NULL) {
        return -ENOMEM;
    }
    coachq__v1__action_event__init(e);
    e->evidence = NULL;
    h = realloc(r->history, (r->n_history + 1) * sizeof(*h));
    if (h == NULL) {
        free(e);
        return -ENOMEM;
    }
    r->history = h;
    r->history[r->n_history++] = e;
    e->status = status;
    e->at = at;
    e->day = day;
    e->version = rec->version;
    rc = dup_str(evidence, &e->evidence);
    if (rc == 0) {
        rc = dup_bytes(rec->root_id.data, KEYS_UUID_LEN, &e->observation_id);
    }
    r->status = status_of(r);
    return rc;
}

/* The actions agreed in the superseded version prev and left out of rec
 * are deleted; its follow-ups that rec leaves out are withdrawn. */
static int apply_superseded(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                            const Coachq__V1__Observation *old, int32_t day)
{
    const Coachq__V1__Observation *o = rec->observation;
    const uint8_t *root = rec->root_id.data;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < old->n_actions; i++) {
        Coachq__V1__ActionRecord *r = NULL;
        uint8_t id[16], nid[16];
        int kept = 0;

        actions_id_of(old->actions[i], root, i, id);
        for (size_t j = 0; j < o->n_actions && !kept; j++) {
            actions_id_of(o->actions[j], root, j, nid);
            kept = memcmp(id, nid, 16) == 0;
        }
        if (kept || actions_get_txn(t, id, &r) != 0) {
            continue;
        }
        if (memcmp(r->agreed_in.data, root, KEYS_UUID_LEN) == 0) {
            rc = record_del(t, r);
        }
        coachq__v1__action_record__free_unpacked(r, NULL);
    }
    for (size_t i = 0; rc == 0 && i < old->n_follow_ups; i++) {
        const Coachq__V1__FollowUp *u = old->follow_ups[i];
        Coachq__V1__ActionRecord *r = NULL, *before = NULL;
        int kept = 0;

        for (size_t j = 0; j < o->n_follow_ups && !kept; j++) {
            kept = memcmp(o->follow_ups[j]->action_id.data, u->action_id.data, 16) == 0;
        }
        if (kept || u->action_id.len != 16 || actions_get_txn(t, u->action_id.data, &r) != 0) {
            continue;
        }
        rc = actions_get_txn(t, u->action_id.data, &before);
        if (rc == 0) {
            rc = add_event(r, rec, COACHQ__V1__ACTION_STATUS__ACTION_STATUS_UNSPECIFIED, "",
                           o->started_at, day);
        }
        if (rc == 0) {
            rc = record_put(t, before, r);
        }
        coachq__v1__action_record__free_unpacked(before, NULL);
        coachq__v1__action_record__free_unpacked(r, NULL);
    }
    return rc;
}

static int apply_agreed(struct store_txn *t, const Coachq__V1__StoredObservation *rec, int32_t day)
{
    const Coachq__V1__Observation *o = rec->observation;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < o->n_actions; i++) {
        Coachq__V1__ActionRecord *r = NULL, *before = NULL;
        uint8_t id[16];

        actions_id_of(o->actions[i], rec->root_id.data, i, id);
        rc = actions_get_txn(t, id, &before);
        if (rc == -ENOENT) {
            rc = new_record(o->actions[i], id, rec, day, &r);
        } else if (rc == 0) {
            if (memcmp(before->agreed_in.data, rec->root_id.data, KEYS_UUID_LEN) != 0) {
                /* Agreed in another observation: refused when the rules
                 * ran; a replay keeps the first. */
                coachq__v1__action_record__free_unpacked(before, NULL);
                continue;
            }
            rc = actions_get_txn(t, id, &r);
            if (rc == 0) {
                rc = fill_agreed(r, o->actions[i], rec, day);
            }
        }
        if (rc == 0) {
            rc = record_put(t, before, r);
        }
        coachq__v1__action_record__free_unpacked(before, NULL);
        coachq__v1__action_record__free_unpacked(r, NULL);
    }
    return rc;
}

static int apply_follow_ups(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                            int32_t day)
{
    const Coachq__V1__Observation *o = rec->observation;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < o->n_follow_ups; i++) {
        const Coachq__V1__FollowUp *u = o->follow_ups[i];
        Coachq__V1__ActionRecord *r = NULL, *before = NULL;
        const Coachq__V1__ActionEvent *said;

        if (u->action_id.len != KEYS_UUID_LEN ||
            actions_get_txn(t, u->action_id.data, &before) != 0) {
            continue;
        }
        if (strcmp(before->coach_id, o->coach_id) != 0 ||
            strcmp(before->coachee_id, o->coachee_id) != 0 ||
            memcmp(before->agreed_in.data, rec->root_id.data, KEYS_UUID_LEN) == 0) {
            coachq__v1__action_record__free_unpacked(before, NULL);
            continue;
        }
        said = event_of(before, rec->root_id.data);
        if (said != NULL && said->status == u->status &&
            strcmp(said->evidence, u->evidence != NULL ? u->evidence : "") == 0 &&
            said->at == (u->at != 0 ? u->at : o->started_at)) {
            /* An amendment that says the same about this action adds no
             * event. */
            coachq__v1__action_record__free_unpacked(before, NULL);
            continue;
        }
        rc = actions_get_txn(t, u->action_id.data, &r);
        if (rc == 0) {
            rc = add_event(r, rec, u->status, u->evidence, u->at != 0 ? u->at : o->started_at, day);
        }
        if (rc == 0) {
            rc = record_put(t, before, r);
        }
        coachq__v1__action_record__free_unpacked(before, NULL);
        coachq__v1__action_record__free_unpacked(r, NULL);
    }
    return rc;
}

int actions_apply(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                  const uint8_t *prev)
{
    const Coachq__V1__Observation *o = rec->observation;
    Coachq__V1__StoredObservation *old = NULL;
    int32_t day = 0;
    int rc;

    if (o == NULL || o->calibration_ref.len == KEYS_UUID_LEN || rec->root_id.len != KEYS_UUID_LEN) {
        return 0;
    }
    if (o->n_actions == 0 && o->n_follow_ups == 0 && prev == NULL) {
        return 0;
    }
    rc = zone_session_day(t, o, &day);
    if (rc != 0) {
        day = store_day_of(o->started_at);
    }
    rc = 0;
    if (prev != NULL) {
        rc = obs_read_txn(t, prev, &old);
        if (rc == 0 && old->observation != NULL) {
            rc = apply_superseded(t, rec, old->observation, day);
        } else if (rc == -ENOENT) {
            rc = 0;
        }
        coachq__v1__stored_observation__free_unpacked(old, NULL);
    }
    if (rc == 0) {
        rc = apply_agreed(t, rec, day);
    }
    if (rc == 0) {
        rc = apply_follow_ups(t, rec, day);
    }
    return rc;
}

/* ---- Rebuild and verify ------------------------------------------------ */

struct rebuild {
    struct store_txn *t;
};

/* Replays one stored version: an amendment supersedes the version before
 * it in its chain. */
static int rebuild_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct rebuild *b = arg;
    Coachq__V1__StoredObservation *rec;
    uint8_t prev[16];
    const uint8_t *pp = NULL;
    int rc = 0;

    rc = obs_codec_decode(b->t, val, vlen, NULL, "actions_rebuild",
                          klen == 8 ? keys_get_be64(key) : 0, &rec);
    if (rc != 0) {
        return rc;
    }
    if (rec->observation == NULL) {
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        return -EIO;
    }
    if (rec->version > 1 && rec->root_id.len == KEYS_UUID_LEN) {
        Coachq__V1__StoredObservation **versions = NULL;
        size_t n = 0;

        rc = store_history_txn(b->t, rec->root_id.data, &versions, &n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (versions[i]->version + 1 == rec->version && versions[i]->observation != NULL &&
                versions[i]->observation->id.len == KEYS_UUID_LEN) {
                memcpy(prev, versions[i]->observation->id.data, 16);
                pp = prev;
            }
        }
        for (size_t i = 0; i < n; i++) {
            coachq__v1__stored_observation__free_unpacked(versions[i], NULL);
        }
        free(versions);
    }
    if (rc == 0) {
        rc = actions_apply(b->t, rec, pp);
    }
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc;
}

static int count_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    (*(uint64_t *)arg)++;
    return 0;
}

int actions_rebuild_txn(struct store_txn *t, uint64_t *n)
{
    struct rebuild b;
    int rc;

    rc = mdb_drop(t->txn, t->s->dbi_actions, 0);
    if (rc == 0) {
        rc = mdb_drop(t->txn, t->s->dbi_actions_by, 0);
    }
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    memset(&b, 0, sizeof(b));
    b.t = t;
    rc = obs_scan_txn(t, rebuild_one, &b);
    if (rc == 0) {
        rc = actions_view_derive(t, NULL);
    }
    if (rc == 0 && n != NULL) {
        *n = 0;
        rc = store_txn_scan(t, t->s->dbi_actions, NULL, 0, 0, count_cb, n);
    }
    return rc;
}

/* The step from actions format 4 to 5: the records, index and counters
 * stay; the values laid out for the pages are derived from them. *n gets
 * the values written. */
static int actions_format_5(struct store_txn *t, uint64_t *n)
{
    return actions_view_derive(t, n);
}

int actions_format_check(struct store_txn *t, int rebuilt)
{
    static const char key[] = "actions_format";
    uint8_t want[4];
    MDB_val v;
    MDB_stat st;
    uint64_t n = 0;
    uint32_t have;
    int rc;

    keys_put_be32(want, ACTIONS_FORMAT);
    rc = store_txn_get_raw(t, t->s->dbi_meta, (const uint8_t *)key, sizeof(key) - 1, &v);
    if (rc == 0 && v.mv_size == 4 && memcmp(v.mv_data, want, 4) == 0) {
        return 0;
    }
    if (rc != 0 && rc != -ENOENT) {
        return rc;
    }
    have = rc == 0 && v.mv_size == 4 ? keys_get_be32(v.mv_data) : 0;
    rc = mdb_stat(t->txn, t->s->dbi_actions_by, &st);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    /* A store that has counters in an older layout (or whose format is
     * unknown) gets every record, index entry and counter derived again;
     * a new store, or one just derived, only says its format. */
    if (!rebuilt && st.ms_entries > 0 && (have == 4 || have == 5)) {
        /* One step per format, so that they chain. */
        if (have == 4) {
            rc = actions_format_5(t, &n);
            if (rc != 0) {
                return rc;
            }
            log_event(LOG_INFO, "actions_format_upgraded", "from=4 to=5 values=%" PRIu64, n);
        }
        rc = actions_format_6(t, &n);
        if (rc != 0) {
            return rc;
        }
        log_event(LOG_INFO, "actions_format_upgraded", "from=5 to=6 records=%" PRIu64, n);
    } else if (!rebuilt && st.ms_entries > 0) {
        rc = actions_rebuild_txn(t, &n);
        if (rc != 0) {
            return rc;
        }
        log_event(LOG_INFO, "actions_format_upgraded", "to=%d actions=%" PRIu64, ACTIONS_FORMAT, n);
    }
    return store_txn_put_raw(t, t->s->dbi_meta, (const uint8_t *)key, sizeof(key) - 1, want, 4,
                             NULL);
}

struct verify {
    int repair;
    struct actions_verify_result res;
};

/* Aborts the transaction of a verify that found what it was asked for. */
#define ACTIONS_ROLLBACK (-ECANCELED)

static int verify_txn(struct store_txn *t, void *arg)
{
    struct verify *v = arg;
    struct snapshot have[2], want[2];
    int rc;

    memset(have, 0, sizeof(have));
    memset(want, 0, sizeof(want));
    rc = snapshot_take(t, t->s->dbi_actions, &have[0]);
    if (rc == 0) {
        rc = snapshot_take(t, t->s->dbi_actions_by, &have[1]);
    }
    if (rc == 0) {
        rc = actions_rebuild_txn(t, NULL);
    }
    if (rc == 0) {
        rc = snapshot_take(t, t->s->dbi_actions, &want[0]);
    }
    if (rc == 0) {
        rc = snapshot_take(t, t->s->dbi_actions_by, &want[1]);
    }
    if (rc == 0) {
        v->res.records = have[0].n;
        v->res.expected = want[0].n;
        v->res.differences = snapshot_diff(&have[0], &want[0]) + snapshot_diff(&have[1], &want[1]);
        if (!v->repair || v->res.differences == 0) {
            rc = ACTIONS_ROLLBACK;
        }
    }
    for (int i = 0; i < 2; i++) {
        snapshot_free(&have[i]);
        snapshot_free(&want[i]);
    }
    return rc;
}

int actions_verify(struct store *s, int repair, struct actions_verify_result *out)
{
    struct verify v;
    int rc;

    memset(&v, 0, sizeof(v));
    v.repair = repair;
    rc = store_exec(s, verify_txn, &v);
    if (rc == ACTIONS_ROLLBACK) {
        rc = 0;
    }
    *out = v.res;
    return rc;
}

/* ---- Reads ----------------------------------------------------------- */

struct list {
    struct store_txn *t;
    const struct actions_query *q;
    actions_cb cb;
    void *arg;
    size_t plen; /* the scanned prefix's length: an 'o' key's due day follows it */
    int by_due;  /* scanning 'o' keys, most overdue first */
    size_t max;  /* records read at most */
    int stopped; /* cb returned 1 */
    struct actions_list_stat *st;
};

static int list_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct list *l = arg;
    Coachq__V1__ActionRecord *r = NULL;
    int rc;

    (void)val;
    (void)vlen;
    if (klen < KEYS_UUID_LEN || (l->by_due && klen != l->plen + 12 + KEYS_UUID_LEN)) {
        return -EIO;
    }
    /* The open index is in due order: the first key due today or later
     * (or without a due day) ends the coach's overdue records. */
    if (l->by_due && (int64_t)keys_get_be32(key + l->plen) >= (int64_t)l->q->today) {
        return 1;
    }
    if (l->st->examined >= l->max) {
        l->st->capped = 1;
        return 1;
    }
    l->st->examined++;
    rc = actions_indexed_get(l->t, key + klen - KEYS_UUID_LEN, &r);
    if (rc != 0) {
        return rc == 1 ? 0 : rc;
    }
    if (l->q->overdue_only && (r->due_day == 0 || (int64_t)r->due_day >= (int64_t)l->q->today ||
                               !actions_status_open(r->status))) {
        rc = 0;
    } else {
        rc = l->cb(r, l->arg);
        l->stopped = rc == 1;
    }
    coachq__v1__action_record__free_unpacked(r, NULL);
    return rc;
}

static int list_person(struct list *l, char kind, const char *who)
{
    uint8_t prefix[ACTIONS_KEY_MAX];
    size_t n = who != NULL ? strlen(who) : 0;
    size_t plen;
    int rc;

    if (n == 0 || n > VALIDATE_MAX_ID) {
        return 0;
    }
    /* A coach's overdue records come from the open index by due day, so
     * that the records due later are never read. */
    l->by_due = kind == 'c' && l->q->overdue_only;
    prefix[0] = l->by_due ? 'o' : (uint8_t)kind;
    memcpy(prefix + 1, who, n);
    prefix[1 + n] = 0;
    plen = 2 + n;
    l->plen = plen;
    if (l->by_due) {
        return store_txn_scan(l->t, l->t->s->dbi_actions_by, prefix, plen, 0, list_one, l);
    }
    /* Open records ('1') first, then closed ones ('0') unless only open
     * ones are asked for: a long closed history must not take the cap
     * before the open records are read. */
    prefix[plen] = '1';
    rc = store_txn_scan(l->t, l->t->s->dbi_actions_by, prefix, plen + 1, 0, list_one, l);
    if (rc != 0 || l->q->open_only || l->q->overdue_only || l->stopped || l->st->capped) {
        return rc;
    }
    prefix[plen] = '0';
    return store_txn_scan(l->t, l->t->s->dbi_actions_by, prefix, plen + 1, 0, list_one, l);
}

int actions_list_txn(struct store_txn *t, const struct actions_query *q, actions_cb cb, void *arg,
                     struct actions_list_stat *st)
{
    struct actions_list_stat none;
    struct list l;
    int rc = 0;

    memset(&l, 0, sizeof(l));
    l.t = t;
    l.q = q;
    l.cb = cb;
    l.arg = arg;
    l.max = q->examine_max != 0 ? q->examine_max : ACTIONS_EXAMINE_MAX;
    l.st = st != NULL ? st : &none;
    memset(l.st, 0, sizeof(*l.st));
    if (q->coach != NULL) {
        return list_person(&l, 'c', q->coach);
    }
    if (q->coachee != NULL) {
        return list_person(&l, 'e', q->coachee);
    }
    for (size_t i = 0; rc == 0 && !l.stopped && !l.st->capped && i < q->n_coaches; i++) {
        rc = list_person(&l, 'c', q->coaches[i]);
    }
    return rc;
}
