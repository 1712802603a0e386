/*
 * agg: the dashboards' aggregates (agg.h).
 *
 * Values are worked on as struct agg_val, with signed counters, so that an
 * amendment's take-back and its new contribution can be summed into one
 * delta per key before anything is written. agg_observation() works in
 * three steps: it reads what it needs and computes every delta and every
 * contribution record in memory, then reads and merges the stored values it
 * will change, and only then writes. A failure before the writes leaves the
 * transaction untouched; a failure while writing can only be an LMDB one,
 * which ends the store's whole attempt.
 *
 * The same functions compute a record's values for the writer and for a
 * rebuild, so a rebuilt store equals an incrementally maintained one.
 * Double coding pairs are found through the obs_by_coach index: every key
 * with the same coach and started_at is one point range.
 */
#include "day.h"
#include "agg.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certs.h"
#include "keys.h"
#include "log.h"
#include "people.h"
#include "store.h"
#include "store_int.h"
#include "uuid.h"
#include "validate.h"

/* kind, len + "<id>/<id>", len + rubric id, week. */
#define AGG_SCOPE_MAX (2 * VALIDATE_MAX_ID + 1)
#define AGG_KEY_MAX (1 + 1 + AGG_SCOPE_MAX + 1 + VALIDATE_MAX_ID + 4)
#define AGG_NPAIRS 16
#define AGG_SELF_ASSESSED COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED
/* Programmes looked at per observation for its cohorts: one enrolment point
 * read each. */
#define AGG_MAX_PROGRAMMES 256

_Static_assert(AGG_KEY_MAX <= KEYS_BUF_MAX, "an aggregate key fits a keys_buf");

/* ---- Values ------------------------------------------------------------ */

struct agg_beh {
    char id[VALIDATE_MAX_ID + 1];
    int64_t count;
    double sum;
    double sumsq;
    int64_t proficient;
};

struct agg_val {
    struct agg_beh *b; /* malloc'ed, nb used of capb */
    size_t nb;
    size_t capb;
    int64_t observations;
    int64_t seconds;
    int64_t markers[AGG_NMARKERS];
    int64_t index_n;
    double index_sum;
    double index_sumsq;
    int64_t self_n;
    double self_s;
    int64_t actions;
    int64_t double_coded;
    int64_t pairs[AGG_NPAIRS];
};

static void val_free(struct agg_val *v)
{
    free(v->b);
    memset(v, 0, sizeof(*v));
}

static struct agg_beh *val_beh(struct agg_val *v, const char *id)
{
    for (size_t i = 0; i < v->nb; i++) {
        if (strcmp(v->b[i].id, id) == 0) {
            return &v->b[i];
        }
    }
    if (strlen(id) > VALIDATE_MAX_ID) {
        return NULL;
    }
    if (v->nb == v->capb) {
        size_t cap = v->capb != 0 ? v->capb * 2 : 12;
        struct agg_beh *nb = realloc(v->b, cap * sizeof(*nb));

        if (nb == NULL) {
            return NULL;
        }
        v->b = nb;
        v->capb = cap;
    }
    memset(&v->b[v->nb], 0, sizeof(v->b[0]));
    snprintf(v->b[v->nb].id, sizeof(v->b[0].id), "%s", id);
    return &v->b[v->nb++];
}

/* dst += sign * src. Returns 0 or -ENOMEM. */
static int val_add(struct agg_val *dst, const struct agg_val *src, int sign)
{
    for (size_t i = 0; i < src->nb; i++) {
        struct agg_beh *b = val_beh(dst, src->b[i].id);

        if (b == NULL) {
            return -ENOMEM;
        }
        b->count += sign * src->b[i].count;
        b->sum += sign * src->b[i].sum;
        b->sumsq += sign * src->b[i].sumsq;
        b->proficient += sign * src->b[i].proficient;
    }
    dst->observations += sign * src->observations;
    dst->seconds += sign * src->seconds;
    for (int i = 0; i < AGG_NMARKERS; i++) {
        dst->markers[i] += sign * src->markers[i];
    }
    dst->index_n += sign * src->index_n;
    dst->index_sum += sign * src->index_sum;
    dst->index_sumsq += sign * src->index_sumsq;
    dst->self_n += sign * src->self_n;
    dst->self_s += sign * src->self_s;
    dst->actions += sign * src->actions;
    dst->double_coded += sign * src->double_coded;
    for (int i = 0; i < AGG_NPAIRS; i++) {
        dst->pairs[i] += sign * src->pairs[i];
    }
    return 0;
}

static void clamp(int64_t *x, int *neg)
{
    if (*x < 0) {
        *x = 0;
        *neg = 1;
    }
}

/* Drops behaviours that no longer count and the sums of counters that are
 * back at zero (a subtraction of floating-point sums leaves dust), and
 * clamps negative counters, which only a damaged value can produce (verify
 * repairs it). Returns 1 if the value is empty. */
static int val_normalise(struct agg_val *v, const uint8_t *key, size_t klen)
{
    int neg = 0;
    size_t o = 0;
    int empty;

    for (size_t i = 0; i < v->nb; i++) {
        clamp(&v->b[i].count, &neg);
        clamp(&v->b[i].proficient, &neg);
        if (v->b[i].count != 0) {
            v->b[o++] = v->b[i];
        }
    }
    v->nb = o;
    clamp(&v->observations, &neg);
    clamp(&v->seconds, &neg);
    clamp(&v->index_n, &neg);
    clamp(&v->self_n, &neg);
    clamp(&v->actions, &neg);
    clamp(&v->double_coded, &neg);
    empty = v->nb == 0 && v->observations == 0 && v->seconds == 0 && v->index_n == 0 &&
            v->self_n == 0 && v->actions == 0 && v->double_coded == 0;
    for (int i = 0; i < AGG_NMARKERS; i++) {
        clamp(&v->markers[i], &neg);
        empty = empty && v->markers[i] == 0;
    }
    for (int i = 0; i < AGG_NPAIRS; i++) {
        clamp(&v->pairs[i], &neg);
        empty = empty && v->pairs[i] == 0;
    }
    if (v->index_n == 0) {
        v->index_sum = 0;
        v->index_sumsq = 0;
    }
    if (v->self_n == 0) {
        v->self_s = 0;
    }
    if (neg) {
        log_event(LOG_WARN, "agg_negative", "key_len=%zu first=%u (run coachqd verify --repair)",
                  klen, klen > 0 ? (unsigned)key[0] : 0u);
    }
    return empty;
}

static int val_from_week(struct agg_val *v, const Coachq__V1__AggWeek *w)
{
    memset(v, 0, sizeof(*v));
    for (size_t i = 0; i < w->n_behaviours; i++) {
        const Coachq__V1__AggBehaviour *ab = w->behaviours[i];
        struct agg_beh *b;

        if (ab == NULL || ab->id == NULL) {
            continue;
        }
        b = val_beh(v, ab->id);
        if (b == NULL) {
            val_free(v);
            return -ENOMEM;
        }
        b->count += (int64_t)ab->count;
        b->sum += ab->sum;
        b->sumsq += ab->sumsq;
        b->proficient += (int64_t)ab->proficient;
    }
    v->observations = (int64_t)w->observations;
    v->seconds = (int64_t)w->seconds;
    for (size_t i = 0; i < w->n_markers && i < AGG_NMARKERS; i++) {
        v->markers[i] = (int64_t)w->markers[i];
    }
    v->index_n = (int64_t)w->index_n;
    v->index_sum = w->index_sum;
    v->index_sumsq = w->index_sumsq;
    v->self_n = (int64_t)w->self_assess_n;
    v->self_s = w->self_assess_s_sum;
    v->actions = (int64_t)w->actions;
    v->double_coded = (int64_t)w->double_coded;
    for (size_t i = 0; i < w->n_pairs && i < AGG_NPAIRS; i++) {
        v->pairs[i] = (int64_t)w->pairs[i];
    }
    return 0;
}

/* An AggWeek that points into v and into the arrays here; packs v. */
struct week_view {
    Coachq__V1__AggWeek w;
    Coachq__V1__AggBehaviour *bs;
    Coachq__V1__AggBehaviour **bp;
    uint64_t markers[AGG_NMARKERS];
    uint64_t pairs[AGG_NPAIRS];
};

static int week_view_init(struct week_view *wv, const struct agg_val *v)
{
    Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;
    int any_pair = 0;

    memset(wv, 0, sizeof(*wv));
    wv->w = init;
    if (v->nb > 0) {
        wv->bs = calloc(v->nb, sizeof(*wv->bs));
        wv->bp = calloc(v->nb, sizeof(*wv->bp));
        if (wv->bs == NULL || wv->bp == NULL) {
            free(wv->bs);
            free(wv->bp);
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < v->nb; i++) {
        Coachq__V1__AggBehaviour b = COACHQ__V1__AGG_BEHAVIOUR__INIT;

        b.id = (char *)v->b[i].id;
        b.count = (uint64_t)v->b[i].count;
        b.sum = v->b[i].sum;
        b.sumsq = v->b[i].sumsq;
        b.proficient = (uint64_t)v->b[i].proficient;
        wv->bs[i] = b;
        wv->bp[i] = &wv->bs[i];
    }
    wv->w.n_behaviours = v->nb;
    wv->w.behaviours = wv->bp;
    wv->w.observations = (uint64_t)v->observations;
    wv->w.seconds = (uint64_t)v->seconds;
    for (int i = 0; i < AGG_NMARKERS; i++) {
        wv->markers[i] = (uint64_t)v->markers[i];
    }
    wv->w.n_markers = AGG_NMARKERS;
    wv->w.markers = wv->markers;
    wv->w.index_n = (uint64_t)v->index_n;
    wv->w.index_sum = v->index_sum;
    wv->w.index_sumsq = v->index_sumsq;
    wv->w.self_assess_n = (uint64_t)v->self_n;
    wv->w.self_assess_s_sum = v->self_s;
    wv->w.actions = (uint64_t)v->actions;
    wv->w.double_coded = (uint64_t)v->double_coded;
    for (int i = 0; i < AGG_NPAIRS; i++) {
        wv->pairs[i] = (uint64_t)v->pairs[i];
        any_pair = any_pair || v->pairs[i] != 0;
    }
    if (any_pair) {
        wv->w.n_pairs = AGG_NPAIRS;
        wv->w.pairs = wv->pairs;
    }
    return 0;
}

static void week_view_free(struct week_view *wv)
{
    free(wv->bs);
    free(wv->bp);
}

/* ---- Weeks and keys ---------------------------------------------------- */

int32_t agg_week_of(int32_t day)
{
    /* 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays. */
    int32_t wd = (int32_t)(((int64_t)day + 3) % 7);

    if (wd < 0) {
        wd += 7;
    }
    return day - wd;
}

const char *agg_week_label(int32_t monday, char *buf, size_t len)
{
    /* The ISO week-year is the year of the week's Thursday; week 1 is the
     * week whose Thursday falls in January 1..7. */
    int32_t thu = agg_week_of(monday) + 3;
    int64_t y;
    unsigned m, d;

    if (len == 0) {
        return buf;
    }
    day_to_civil(thu, &y, &m, &d);
    snprintf(buf, len, "%04lld-W%02d", (long long)y,
             (int)((thu - (int32_t)day_from_civil(y, 1, 1)) / 7 + 1));
    return buf;
}

static const char *scope_name(unsigned kind)
{
    switch (kind) {
    case AGG_COACH:
        return "coach";
    case AGG_LINE:
        return "line";
    case AGG_ORG:
        return "org";
    case AGG_OBSERVER:
        return "observer";
    case AGG_COHORT:
        return "cohort";
    case AGG_PAIR:
        return "pair";
    case AGG_LINE_COACH:
        return "line-coach";
    }
    return "?";
}

/* Builds the key of (kind, scope, rubric) and, if with_week, the week that
 * starts on monday. */
static int agg_key(struct keys_buf *k, unsigned kind, const char *scope, const char *rubric,
                   int with_week, int32_t monday)
{
    size_t slen = scope != NULL ? strlen(scope) : 0;
    uint8_t b;
    uint8_t wk[4];

    keys_buf_reset(k);
    if (slen == 0 || slen > AGG_SCOPE_MAX || rubric == NULL) {
        return -EINVAL;
    }
    b = (uint8_t)kind;
    keys_buf_raw(k, &b, 1);
    b = (uint8_t)slen;
    keys_buf_raw(k, &b, 1);
    keys_buf_raw(k, scope, slen);
    keys_buf_id(k, rubric);
    if (with_week) {
        keys_day_encode(monday, wk);
        keys_buf_raw(k, wk, 4);
    }
    return k->err;
}

/* Writes "coach/flm.a/coaching-conversation/2026-W47" for a key. */
static void agg_key_text(const uint8_t *key, size_t klen, char *out, size_t outlen)
{
    size_t slen, rlen;
    char wl[16];

    if (klen < 2 || (slen = key[1]) + 3 > klen || (rlen = key[2 + slen]) + 3 + slen + 4 != klen) {
        snprintf(out, outlen, "(malformed key, %zu bytes)", klen);
        return;
    }
    agg_week_label(keys_day_decode(key + klen - 4), wl, sizeof(wl));
    snprintf(out, outlen, "%s/%.*s/%.*s/%s", scope_name(key[0]), (int)slen, (const char *)key + 2,
             (int)rlen, (const char *)key + 3 + slen, wl);
}

/* ---- Maps of keys to values ------------------------------------------- */

struct agg_ent {
    uint8_t key[AGG_KEY_MAX];
    size_t klen;
    struct agg_val v;
    int seen; /* verify: a stored value matched it */
};

struct agg_map {
    struct agg_ent **slot;
    size_t cap; /* power of two, or 0 */
    size_t n;
};

static uint64_t hash_key(const uint8_t *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ k[i]) * 1099511628211ull;
    }
    return h;
}

static void map_free(struct agg_map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slot[i] != NULL) {
            val_free(&m->slot[i]->v);
            free(m->slot[i]);
        }
    }
    free(m->slot);
    memset(m, 0, sizeof(*m));
}

static struct agg_ent *map_find(const struct agg_map *m, const uint8_t *key, size_t klen)
{
    if (m->cap == 0) {
        return NULL;
    }
    for (size_t i = hash_key(key, klen) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct agg_ent *e = m->slot[i];

        if (e == NULL) {
            return NULL;
        }
        if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
            return e;
        }
    }
}

static int map_grow(struct agg_map *m)
{
    size_t cap = m->cap != 0 ? m->cap * 2 : 64;
    struct agg_ent **slot = calloc(cap, sizeof(*slot));

    if (slot == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        struct agg_ent *e = m->slot[i];

        if (e != NULL) {
            size_t j = hash_key(e->key, e->klen) & (cap - 1);

            while (slot[j] != NULL) {
                j = (j + 1) & (cap - 1);
            }
            slot[j] = e;
        }
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return 0;
}

/* The entry of key, made empty if new. Returns NULL on -ENOMEM. */
static struct agg_ent *map_get(struct agg_map *m, const uint8_t *key, size_t klen)
{
    struct agg_ent *e = map_find(m, key, klen);
    size_t i;

    if (e != NULL) {
        return e;
    }
    if (klen > AGG_KEY_MAX || ((m->n + 1) * 2 > m->cap && map_grow(m) != 0)) {
        return NULL;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return NULL;
    }
    memcpy(e->key, key, klen);
    e->klen = klen;
    for (i = hash_key(key, klen) & (m->cap - 1); m->slot[i] != NULL; i = (i + 1) & (m->cap - 1)) {
    }
    m->slot[i] = e;
    m->n++;
    return e;
}

static int map_add(struct agg_map *m, const uint8_t *key, size_t klen, const struct agg_val *v,
                   int sign)
{
    struct agg_ent *e = map_get(m, key, klen);

    return e == NULL ? -ENOMEM : val_add(&e->v, v, sign);
}

/* ---- What one record contributes -------------------------------------- */

/* A list of keys (own values) and peer ids, as an AggContribution holds. */
struct contrib {
    uint8_t id[KEYS_UUID_LEN];
    struct keys_buf *keys;
    size_t nkeys;
    size_t capkeys;
    uint8_t (*peers)[KEYS_UUID_LEN];
    size_t npeers;
    size_t cappeers;
    int loaded; /* read from the store (or found absent) */
    int dirty;
};

static void contrib_free(struct contrib *c)
{
    free(c->keys);
    free(c->peers);
    c->keys = NULL;
    c->peers = NULL;
    c->nkeys = c->capkeys = c->npeers = c->cappeers = 0;
}

static int contrib_add_key(struct contrib *c, const struct keys_buf *k)
{
    if (c->nkeys == c->capkeys) {
        size_t cap = c->capkeys != 0 ? c->capkeys * 2 : 8;
        struct keys_buf *n = realloc(c->keys, cap * sizeof(*n));

        if (n == NULL) {
            return -ENOMEM;
        }
        c->keys = n;
        c->capkeys = cap;
    }
    c->keys[c->nkeys++] = *k;
    return 0;
}

/* Adds a peer, keeping the list sorted and without repeats. */
static int contrib_add_peer(struct contrib *c, const uint8_t id[KEYS_UUID_LEN])
{
    size_t i = 0;

    while (i < c->npeers && memcmp(c->peers[i], id, KEYS_UUID_LEN) < 0) {
        i++;
    }
    if (i < c->npeers && memcmp(c->peers[i], id, KEYS_UUID_LEN) == 0) {
        return 0;
    }
    if (c->npeers == c->cappeers) {
        size_t cap = c->cappeers != 0 ? c->cappeers * 2 : 4;
        uint8_t(*n)[KEYS_UUID_LEN] = realloc(c->peers, cap * KEYS_UUID_LEN);

        if (n == NULL) {
            return -ENOMEM;
        }
        c->peers = n;
        c->cappeers = cap;
    }
    memmove(c->peers[i + 1], c->peers[i], (c->npeers - i) * KEYS_UUID_LEN);
    memcpy(c->peers[i], id, KEYS_UUID_LEN);
    c->npeers++;
    c->dirty = 1;
    return 0;
}

static void contrib_del_peer(struct contrib *c, const uint8_t id[KEYS_UUID_LEN])
{
    for (size_t i = 0; i < c->npeers; i++) {
        if (memcmp(c->peers[i], id, KEYS_UUID_LEN) == 0) {
            memmove(c->peers[i], c->peers[i + 1], (c->npeers - i - 1) * KEYS_UUID_LEN);
            c->npeers--;
            c->dirty = 1;
            return;
        }
    }
}

/* Reads id's stored contribution into c (empty if there is none). */
static int contrib_load(struct store_txn *t, const uint8_t id[KEYS_UUID_LEN], struct contrib *c)
{
    Coachq__V1__AggContribution *m = NULL;
    int rc;

    memset(c, 0, sizeof(*c));
    memcpy(c->id, id, KEYS_UUID_LEN);
    c->loaded = 1;
    rc = store_txn_get_msg(t, t->s->dbi_agg_contrib, id, KEYS_UUID_LEN,
                           &coachq__v1__agg_contribution__descriptor, (ProtobufCMessage **)&m);
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < m->n_keys && rc == 0; i++) {
        struct keys_buf k;

        if (m->keys[i].len < 8 || m->keys[i].len > AGG_KEY_MAX) {
            rc = -EIO;
            break;
        }
        keys_buf_reset(&k);
        keys_buf_raw(&k, m->keys[i].data, m->keys[i].len);
        rc = contrib_add_key(c, &k);
    }
    for (size_t i = 0; i < m->n_peers && rc == 0; i++) {
        rc = m->peers[i].len == KEYS_UUID_LEN ? contrib_add_peer(c, m->peers[i].data) : -EIO;
    }
    c->dirty = 0;
    coachq__v1__agg_contribution__free_unpacked(m, NULL);
    if (rc != 0) {
        contrib_free(c);
    }
    return rc;
}

/* Packs c into a message that points into c (bytes arrays malloc'ed here,
 * free with free(msg->keys) and free(msg->peers)). */
static int contrib_msg(const struct contrib *c, Coachq__V1__AggContribution *msg)
{
    Coachq__V1__AggContribution init = COACHQ__V1__AGG_CONTRIBUTION__INIT;

    *msg = init;
    if (c->nkeys > 0) {
        msg->keys = calloc(c->nkeys, sizeof(*msg->keys));
        if (msg->keys == NULL) {
            return -ENOMEM;
        }
    }
    if (c->npeers > 0) {
        msg->peers = calloc(c->npeers, sizeof(*msg->peers));
        if (msg->peers == NULL) {
            free(msg->keys);
            msg->keys = NULL;
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < c->nkeys; i++) {
        msg->keys[i].data = (uint8_t *)c->keys[i].b;
        msg->keys[i].len = c->keys[i].len;
    }
    for (size_t i = 0; i < c->npeers; i++) {
        msg->peers[i].data = (uint8_t *)c->peers[i];
        msg->peers[i].len = KEYS_UUID_LEN;
    }
    msg->n_keys = c->nkeys;
    msg->n_peers = c->npeers;
    return 0;
}

/* Puts c, or deletes it when it holds nothing. */
static int contrib_write(struct store_txn *t, const struct contrib *c)
{
    Coachq__V1__AggContribution msg;
    int rc;

    if (c->nkeys == 0 && c->npeers == 0) {
        return store_txn_del(t, t->s->dbi_agg_contrib, c->id, KEYS_UUID_LEN);
    }
    rc = contrib_msg(c, &msg);
    if (rc == 0) {
        rc = store_txn_put_msg(t, t->s->dbi_agg_contrib, c->id, KEYS_UUID_LEN, &msg.base, NULL);
    }
    free(msg.keys);
    free(msg.peers);
    return rc;
}

static int record_ok(const Coachq__V1__StoredObservation *r)
{
    const Coachq__V1__Observation *o = r != NULL ? r->observation : NULL;

    return o != NULL && o->id.len == KEYS_UUID_LEN && r->observer_id != NULL &&
           r->observer_id[0] != '\0' && o->coach_id != NULL && o->coach_id[0] != '\0' &&
           o->coachee_id != NULL && o->rubric_id != NULL && o->rubric_id[0] != '\0';
}

/* Sets *yes if rec counts: not a calibration attempt, and its observer was
 * certified for its rubric on the session day. */
int agg_counts(struct store_txn *t, const Coachq__V1__StoredObservation *rec, int *yes)
{
    const Coachq__V1__Observation *o = rec->observation;
    Coachq__V1__Certification *c = NULL;
    int rc;

    *yes = 0;
    if (!record_ok(rec) || o->calibration_ref.len != 0) {
        return 0;
    }
    rc = certs_valid_on(t, rec->observer_id, o->rubric_id, store_day_of(o->started_at), &c, NULL);
    coachq__v1__certification__free_unpacked(c, NULL);
    if (rc == -ENOENT || rc == -EINVAL) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    *yes = 1;
    return 0;
}

/* The values one counted observation adds to each of its keys. */
static int record_values(const Coachq__V1__Observation *o, struct agg_val *v)
{
    double qsum = 0;
    int64_t qn = 0;
    int64_t self_ms = -1;

    memset(v, 0, sizeof(*v));
    for (size_t i = 0; i < o->n_ratings; i++) {
        const Coachq__V1__Rating *r = o->ratings[i];
        struct agg_beh *b;
        double s;

        if (r == NULL || r->not_applicable || r->score < 1 || r->score > 4 ||
            r->behaviour_id == NULL) {
            continue;
        }
        b = val_beh(v, r->behaviour_id);
        if (b == NULL) {
            val_free(v);
            return -ENOMEM;
        }
        s = r->score;
        b->count++;
        b->sum += s;
        b->sumsq += s * s;
        b->proficient += r->score >= 3;
        qsum += s;
        qn++;
    }
    v->observations = 1;
    v->seconds = o->duration_s;
    for (size_t i = 0; i < o->n_markers; i++) {
        const Coachq__V1__Marker *m = o->markers[i];

        if (m == NULL || (unsigned)m->kind >= AGG_NMARKERS) {
            continue;
        }
        v->markers[m->kind]++;
        if (m->kind == AGG_SELF_ASSESSED && (self_ms < 0 || m->offset_ms < self_ms)) {
            self_ms = m->offset_ms;
        }
    }
    if (qn > 0) {
        double q = qsum / (double)qn;

        v->index_n = 1;
        v->index_sum = q;
        v->index_sumsq = q * q;
    }
    if (self_ms >= 0) {
        v->self_n = 1;
        v->self_s = (double)self_ms / 1000.0;
    }
    v->actions = (int64_t)o->n_actions;
    return 0;
}

struct programmes {
    char id[AGG_MAX_PROGRAMMES][VALIDATE_MAX_ID + 1];
    size_t n;
};

static int programme_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct programmes *p = arg;

    (void)val;
    (void)vlen;
    if (klen == 0 || klen > VALIDATE_MAX_ID) {
        return 0;
    }
    if (p->n == AGG_MAX_PROGRAMMES) {
        log_event(LOG_WARN, "agg_programmes_capped", "max=%d", AGG_MAX_PROGRAMMES);
        return 1;
    }
    memcpy(p->id[p->n], key, klen);
    p->id[p->n][klen] = '\0';
    p->n++;
    return 0;
}

/* Adds the AGG_LINE_COACH keys of coach on day: one per manager in the
 * chain above the coach that day. */
static int record_chain_keys(struct store_txn *t, const char *coach, int32_t day,
                             const char *rubric, int32_t monday, struct contrib *c)
{
    char chain[PEOPLE_MAX_CHAIN][65];
    char scope[AGG_SCOPE_MAX + 1];
    struct keys_buf k;
    size_t n = 0;
    int rc = people_chain_at(t, coach, day, chain, &n);

    if (rc == -ENOENT || rc == -EINVAL) {
        return 0;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        snprintf(scope, sizeof(scope), "%.64s/%.64s", chain[i], coach);
        rc = agg_key(&k, AGG_LINE_COACH, scope, rubric, 1, monday);
        if (rc == 0) {
            rc = contrib_add_key(c, &k);
        } else if (rc == -EINVAL || rc == -ENOBUFS) {
            rc = 0;
        }
    }
    return rc;
}

/*
 * The keys a counted observation adds its values to, in a fixed order.
 * Cohorts: the programmes are few (a handful per deployment), so rather
 * than an index by person the coach's enrolment is read once per programme
 * (one point read each, keyed programme + person).
 */
static int record_keys(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                       struct contrib *c)
{
    const Coachq__V1__Observation *o = rec->observation;
    const char *rubric = o->rubric_id;
    int32_t day = store_day_of(o->started_at);
    int32_t monday = agg_week_of(day);
    struct programmes *pg = NULL;
    char scope[AGG_SCOPE_MAX + 1];
    char mgr[VALIDATE_MAX_ID + 1];
    struct keys_buf k;
    int rc;

    rc = agg_key(&k, AGG_COACH, o->coach_id, rubric, 1, monday);
    if (rc == 0) {
        rc = contrib_add_key(c, &k);
    }
    if (rc != 0) {
        return rc;
    }
    rc = people_manager_at(t, o->coach_id, day, mgr, sizeof(mgr));
    if (rc == 0) {
        rc = agg_key(&k, AGG_LINE, mgr, rubric, 1, monday);
        if (rc == 0) {
            rc = contrib_add_key(c, &k);
        }
    } else if (rc == -ENOENT || rc == -EINVAL) {
        rc = 0;
    }
    if (rc == 0) {
        rc = record_chain_keys(t, o->coach_id, day, rubric, monday, c);
    }
    if (rc == 0) {
        rc = agg_key(&k, AGG_ORG, AGG_ORG_ALL, rubric, 1, monday);
    }
    if (rc == 0) {
        rc = contrib_add_key(c, &k);
    }
    if (rc == 0) {
        rc = agg_key(&k, AGG_OBSERVER, rec->observer_id, rubric, 1, monday);
    }
    if (rc == 0) {
        rc = contrib_add_key(c, &k);
    }
    if (rc != 0) {
        return rc;
    }
    pg = calloc(1, sizeof(*pg));
    if (pg == NULL) {
        return -ENOMEM;
    }
    rc = store_txn_scan(t, t->s->dbi_programmes, NULL, 0, 0, programme_one, pg);
    for (size_t i = 0; i < pg->n && rc == 0; i++) {
        Coachq__V1__Enrolment *e = NULL;

        rc = people_enrolment_get(t, pg->id[i], o->coach_id, &e);
        if (rc == 0 && e->cohort_id != NULL && e->cohort_id[0] != '\0') {
            snprintf(scope, sizeof(scope), "%s/%s", pg->id[i], e->cohort_id);
            rc = agg_key(&k, AGG_COHORT, scope, rubric, 1, monday);
            if (rc == 0) {
                rc = contrib_add_key(c, &k);
            } else if (rc == -EINVAL || rc == -ENOBUFS) {
                rc = 0;
            }
        } else if (rc == -ENOENT || rc == -EINVAL) {
            rc = 0;
        }
        coachq__v1__enrolment__free_unpacked(e, NULL);
    }
    free(pg);
    if (rc != 0) {
        return rc;
    }
    snprintf(scope, sizeof(scope), "%s/%s", rec->observer_id, o->coach_id);
    rc = agg_key(&k, AGG_PAIR, scope, rubric, 1, monday);
    return rc == 0 ? contrib_add_key(c, &k) : rc;
}

/* Adds sign to the double-coded observations of rec's observer in the week
 * of its session. An observation counts once while it has at least one
 * peer, however many observers scored the session, so an observer's share
 * of double-coded observations can never exceed 1. */
static int dc_value(struct agg_map *m, const Coachq__V1__StoredObservation *rec, int sign)
{
    const Coachq__V1__Observation *o = rec->observation;
    struct agg_val v;
    struct keys_buf k;
    int rc;

    memset(&v, 0, sizeof(v));
    v.double_coded = 1;
    rc = agg_key(&k, AGG_OBSERVER, rec->observer_id, o->rubric_id, 1,
                 agg_week_of(store_day_of(o->started_at)));
    return rc == 0 ? map_add(m, k.b, k.len, &v, sign) : rc;
}

/* Adds sign * the double coding of a with b to m: each observer's value
 * gets the pairs of their common scores (the double-coded count is
 * dc_value()'s, once per observation, not once per pair). */
static int pair_values(struct agg_map *m, const Coachq__V1__StoredObservation *a,
                       const Coachq__V1__StoredObservation *b, int sign)
{
    const Coachq__V1__Observation *oa = a->observation;
    const Coachq__V1__Observation *ob = b->observation;
    struct agg_val va, vb;
    struct keys_buf ka, kb;
    int rc;

    memset(&va, 0, sizeof(va));
    memset(&vb, 0, sizeof(vb));
    for (size_t i = 0; i < oa->n_ratings; i++) {
        const Coachq__V1__Rating *ra = oa->ratings[i];

        if (ra == NULL || ra->not_applicable || ra->score < 1 || ra->score > 4 ||
            ra->behaviour_id == NULL) {
            continue;
        }
        for (size_t j = 0; j < ob->n_ratings; j++) {
            const Coachq__V1__Rating *rb = ob->ratings[j];

            if (rb == NULL || rb->not_applicable || rb->score < 1 || rb->score > 4 ||
                rb->behaviour_id == NULL || strcmp(ra->behaviour_id, rb->behaviour_id) != 0) {
                continue;
            }
            va.pairs[(ra->score - 1) * 4 + (rb->score - 1)]++;
            vb.pairs[(rb->score - 1) * 4 + (ra->score - 1)]++;
            break;
        }
    }
    rc = agg_key(&ka, AGG_OBSERVER, a->observer_id, oa->rubric_id, 1,
                 agg_week_of(store_day_of(oa->started_at)));
    if (rc == 0) {
        rc = agg_key(&kb, AGG_OBSERVER, b->observer_id, ob->rubric_id, 1,
                     agg_week_of(store_day_of(ob->started_at)));
    }
    if (rc == 0) {
        rc = map_add(m, ka.b, ka.len, &va, sign);
    }
    if (rc == 0) {
        rc = map_add(m, kb.b, kb.len, &vb, sign);
    }
    return rc;
}

/* Reads a record by id (caller owns *out). */
static int record_read(struct store_txn *t, const uint8_t id[KEYS_UUID_LEN],
                       Coachq__V1__StoredObservation **out)
{
    int rc =
        store_txn_get_msg(t, t->s->dbi_obs, id, KEYS_UUID_LEN,
                          &coachq__v1__stored_observation__descriptor, (ProtobufCMessage **)out);

    if (rc == 0 && !record_ok(*out)) {
        coachq__v1__stored_observation__free_unpacked(*out, NULL);
        *out = NULL;
        rc = -EIO;
    }
    return rc;
}

/* True if b can be a's double-coding peer (both already known to count). */
static int peer_match(const Coachq__V1__StoredObservation *a,
                      const Coachq__V1__StoredObservation *b)
{
    const Coachq__V1__Observation *oa = a->observation;
    const Coachq__V1__Observation *ob = b->observation;

    return oa->started_at == ob->started_at && strcmp(oa->coach_id, ob->coach_id) == 0 &&
           strcmp(oa->coachee_id, ob->coachee_id) == 0 &&
           strcmp(oa->rubric_id, ob->rubric_id) == 0 && strcmp(a->observer_id, b->observer_id) != 0;
}

/*
 * The double-coding rule, one for the writer and the rebuild, so that a
 * store kept record by record equals one rebuilt from the records whatever
 * order they arrived in (issue 10, "verify fails after crowded sessions"):
 *
 * - A session's records are the first AGG_SESSION_KEYS keys of the coach
 *   index at one coach and start time, in id order (which is key order),
 *   read from the current state of the store. This bounds every list and
 *   every write's work; a session scored by more records than that is not
 *   a real one.
 * - Among them, the counted records of one coachee and rubric from one
 *   observer are represented by the one with the smallest id: scoring a
 *   session twice is not double coding.
 * - Every two representatives of different observers are a pair.
 *
 * A contribution's peer list thus holds at most AGG_SESSION_KEYS - 1 ids.
 * The writer re-derives the pairs of the session it touched and applies the
 * difference with the pairs stored; the rebuild derives them afresh.
 */
#define AGG_SESSION_KEYS 32

struct session {
    /* The first AGG_SESSION_KEYS + 1 records in key order: the one past the
     * window may have been pushed out by the write and must lose its
     * pairs. */
    Coachq__V1__StoredObservation *rec[AGG_SESSION_KEYS + 1];
    int counts[AGG_SESSION_KEYS + 1];
    size_t n;
    uint8_t ids[AGG_SESSION_KEYS + 1][KEYS_UUID_LEN];
    size_t nids;
};

static void session_free(struct session *s)
{
    for (size_t i = 0; i < s->n; i++) {
        coachq__v1__stored_observation__free_unpacked(s->rec[i], NULL);
        s->rec[i] = NULL;
    }
    s->n = 0;
    s->nids = 0;
}

static int session_key(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct session *s = arg;
    const uint8_t *uuid;

    (void)val;
    (void)vlen;
    if (keys_index_decode(key, klen, NULL, NULL, NULL, &uuid) != 0) {
        return 0;
    }
    memcpy(s->ids[s->nids++], uuid, KEYS_UUID_LEN);
    return s->nids == AGG_SESSION_KEYS + 1 ? 1 : 0;
}

/* Reads the session of coach at started_at (see above) into s. */
static int session_load(struct store_txn *t, const char *coach, int64_t started_at,
                        struct session *s)
{
    uint8_t prefix[KEYS_BOUND_MAX];
    size_t plen;
    int rc;

    memset(s, 0, sizeof(*s));
    if (keys_index_bound(prefix, sizeof(prefix), coach, strlen(coach), started_at, &plen) != 0) {
        return 0;
    }
    /* The ids first: no other read runs while the scan's cursor is open. */
    rc = store_txn_scan(t, t->s->dbi_by_coach, prefix, plen, 0, session_key, s);
    for (size_t i = 0; i < s->nids && rc == 0; i++) {
        Coachq__V1__StoredObservation *r = NULL;

        rc = record_read(t, s->ids[i], &r);
        if (rc == -ENOENT || rc == -EIO) {
            /* An index key without a readable record is damage; it takes
             * its place in the window all the same, in the writer and the
             * rebuild alike. */
            rc = 0;
        }
        if (rc == 0 && r != NULL) {
            rc = agg_counts(t, r, &s->counts[s->n]);
        }
        s->rec[s->n++] = r;
    }
    if (rc != 0) {
        session_free(s);
    }
    return rc;
}

/* True if s->rec[i] represents its observer for its coachee and rubric:
 * counted, in the window, and no counted record before it (a smaller id)
 * of the same observer, coachee and rubric. */
static int session_represents(const struct session *s, size_t i)
{
    const Coachq__V1__StoredObservation *a = s->rec[i];

    if (i >= AGG_SESSION_KEYS || a == NULL || !s->counts[i]) {
        return 0;
    }
    for (size_t j = 0; j < i; j++) {
        const Coachq__V1__StoredObservation *b = s->rec[j];

        if (b != NULL && s->counts[j] && strcmp(a->observer_id, b->observer_id) == 0 &&
            a->observation->started_at == b->observation->started_at &&
            strcmp(a->observation->coachee_id, b->observation->coachee_id) == 0 &&
            strcmp(a->observation->rubric_id, b->observation->rubric_id) == 0) {
            return 0;
        }
    }
    return 1;
}

/* True if records i and j of s are a double-coding pair. */
static int session_paired(const struct session *s, size_t i, size_t j)
{
    return i != j && session_represents(s, i) && session_represents(s, j) &&
           peer_match(s->rec[i], s->rec[j]);
}

/* Where id lies in s, or s->n. */
static size_t session_find(const struct session *s, const uint8_t id[KEYS_UUID_LEN])
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->rec[i] != NULL && memcmp(s->rec[i]->observation->id.data, id, KEYS_UUID_LEN) == 0) {
            return i;
        }
    }
    return s->n;
}

/* ---- The writer's hook ------------------------------------------------- */

/* The records one write may change: its session's window and the one past
 * it, the same again for the session an amendment moved away from, and the
 * superseded version. */
#define AGG_MAX_TOUCHED (2 * (AGG_SESSION_KEYS + 1) + 2)

/* One stored version's change: deltas per key and the contributions to
 * rewrite. */
struct agg_work {
    struct store_txn *t;
    struct agg_map delta;
    struct contrib touched[AGG_MAX_TOUCHED];
    size_t ntouched;
    const Coachq__V1__StoredObservation *rec; /* for the peer callbacks */
};

/* The working copy of id's contribution, read on first use. */
static int work_contrib(struct agg_work *w, const uint8_t id[KEYS_UUID_LEN], struct contrib **out)
{
    int rc;

    for (size_t i = 0; i < w->ntouched; i++) {
        if (memcmp(w->touched[i].id, id, KEYS_UUID_LEN) == 0) {
            *out = &w->touched[i];
            return 0;
        }
    }
    if (w->ntouched == AGG_MAX_TOUCHED) {
        /* Cannot happen: sessions are read AGG_SESSION_KEYS + 1 keys at
         * most. */
        return -E2BIG;
    }
    rc = contrib_load(w->t, id, &w->touched[w->ntouched]);
    if (rc != 0) {
        return rc;
    }
    *out = &w->touched[w->ntouched++];
    return 0;
}

/* True if c's peer list holds id. */
static int contrib_has_peer(const struct contrib *c, const uint8_t id[KEYS_UUID_LEN])
{
    for (size_t i = 0; i < c->npeers; i++) {
        if (memcmp(c->peers[i], id, KEYS_UUID_LEN) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Brings the pairs of the session of coach at started_at to what the rule
 * says for the store as it is now (the record and its index keys already
 * put, the superseded version's taken out): a pair the rule no longer
 * makes is taken back, a new one added, each on both peer lists. By
 * induction, the pairs stored before this write were the rule's for the
 * state before it, and they all lie within the first AGG_SESSION_KEYS + 1
 * keys read here.
 */
static int work_sync_session(struct agg_work *w, const char *coach, int64_t started_at)
{
    struct session *s = calloc(1, sizeof(*s));
    int rc;

    if (s == NULL) {
        return -ENOMEM;
    }
    rc = session_load(w->t, coach, started_at, s);
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        struct contrib *ci;

        if (s->rec[i] == NULL || !s->counts[i]) {
            continue;
        }
        rc = work_contrib(w, s->rec[i]->observation->id.data, &ci);
        for (size_t j = i + 1; j < s->n && rc == 0; j++) {
            const uint8_t *jid;
            struct contrib *cj;
            int want;
            int have;

            if (s->rec[j] == NULL || !s->counts[j]) {
                continue;
            }
            jid = s->rec[j]->observation->id.data;
            want = session_paired(s, i, j);
            have = contrib_has_peer(ci, jid);
            if (want == have) {
                continue;
            }
            rc = work_contrib(w, jid, &cj);
            if (rc == 0) {
                rc = pair_values(&w->delta, s->rec[i], s->rec[j], want ? 1 : -1);
            }
            if (rc == 0 && want) {
                rc = contrib_add_peer(ci, jid);
                if (rc == 0) {
                    rc = contrib_add_peer(cj, s->rec[i]->observation->id.data);
                }
                /* A record becomes double-coded with its first peer. */
                if (rc == 0 && ci->npeers == 1) {
                    rc = dc_value(&w->delta, s->rec[i], 1);
                }
                if (rc == 0 && cj->npeers == 1) {
                    rc = dc_value(&w->delta, s->rec[j], 1);
                }
            } else if (rc == 0) {
                contrib_del_peer(ci, jid);
                contrib_del_peer(cj, s->rec[i]->observation->id.data);
                /* and stops being one with its last. */
                if (ci->npeers == 0) {
                    rc = dc_value(&w->delta, s->rec[i], -1);
                }
                if (rc == 0 && cj->npeers == 0) {
                    rc = dc_value(&w->delta, s->rec[j], -1);
                }
            }
        }
    }
    session_free(s);
    free(s);
    return rc;
}

/* Takes back what version prev added: its own values at the keys it
 * remembered, and its double coding with every peer still paired. */
static int work_take_back(struct agg_work *w, const uint8_t prev_id[KEYS_UUID_LEN])
{
    Coachq__V1__StoredObservation *prev = NULL;
    struct contrib *c;
    struct agg_val v;
    int had_peers;
    int rc;

    memset(&v, 0, sizeof(v));
    rc = work_contrib(w, prev_id, &c);
    if (rc != 0 || (c->nkeys == 0 && c->npeers == 0)) {
        return rc;
    }
    had_peers = c->npeers > 0;
    rc = record_read(w->t, prev_id, &prev);
    if (rc == 0 && had_peers) {
        rc = dc_value(&w->delta, prev, -1);
    }
    if (rc == 0 && c->nkeys > 0) {
        rc = record_values(prev->observation, &v);
        for (size_t i = 0; i < c->nkeys && rc == 0; i++) {
            rc = map_add(&w->delta, c->keys[i].b, c->keys[i].len, &v, -1);
        }
    }
    while (rc == 0 && c->npeers > 0) {
        Coachq__V1__StoredObservation *peer = NULL;
        struct contrib *pc;
        uint8_t pid[KEYS_UUID_LEN];

        memcpy(pid, c->peers[c->npeers - 1], KEYS_UUID_LEN);
        c->npeers--;
        rc = record_read(w->t, pid, &peer);
        if (rc == 0) {
            rc = pair_values(&w->delta, prev, peer, -1);
        }
        if (rc == 0) {
            rc = work_contrib(w, pid, &pc);
        }
        if (rc == 0) {
            size_t before = pc->npeers;

            contrib_del_peer(pc, prev_id);
            /* A peer left without any other peer is no longer double-coded. */
            if (before > 0 && pc->npeers == 0) {
                rc = dc_value(&w->delta, peer, -1);
            }
        }
        coachq__v1__stored_observation__free_unpacked(peer, NULL);
        /* work_contrib() may not move c: touched[] is a fixed array. */
    }
    c->nkeys = 0;
    c->dirty = 1;
    val_free(&v);
    coachq__v1__stored_observation__free_unpacked(prev, NULL);
    return rc;
}

/* A write failure: LMDB codes already end the attempt; memory too, since
 * the writes so far cannot be taken back otherwise. */
static int write_fail(int rc)
{
    if (rc == -ENOMEM) {
        return STORE_TXN_ABORT(ENOMEM);
    }
    return rc;
}

/* Merges the stored values into the deltas (reads only), then writes the
 * results and the touched contributions. */
static int work_commit(struct agg_work *w)
{
    struct store_txn *t = w->t;
    int rc = 0;

    for (size_t i = 0; i < w->delta.cap && rc == 0; i++) {
        struct agg_ent *e = w->delta.slot[i];
        Coachq__V1__AggWeek *old = NULL;
        struct agg_val ov;

        if (e == NULL) {
            continue;
        }
        rc = store_txn_get_msg(t, t->s->dbi_agg, e->key, e->klen, &coachq__v1__agg_week__descriptor,
                               (ProtobufCMessage **)&old);
        if (rc == -ENOENT) {
            rc = 0;
            continue;
        }
        if (rc == 0) {
            rc = val_from_week(&ov, old);
        }
        if (rc == 0) {
            /* Stored first, so behaviours keep their order of appearance. */
            rc = val_add(&ov, &e->v, 1);
            val_free(&e->v);
            e->v = ov;
        }
        coachq__v1__agg_week__free_unpacked(old, NULL);
    }
    /* Nothing has been written yet: a failure above leaves no trace. */
    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < w->delta.cap && rc == 0; i++) {
        struct agg_ent *e = w->delta.slot[i];
        struct week_view wv;

        if (e == NULL) {
            continue;
        }
        if (val_normalise(&e->v, e->key, e->klen)) {
            rc = store_txn_del(t, t->s->dbi_agg, e->key, e->klen);
        } else {
            rc = week_view_init(&wv, &e->v);
            if (rc == 0) {
                rc = store_txn_put_msg(t, t->s->dbi_agg, e->key, e->klen, &wv.w.base, NULL);
                week_view_free(&wv);
            }
        }
        rc = write_fail(rc);
    }
    for (size_t i = 0; i < w->ntouched && rc == 0; i++) {
        if (w->touched[i].dirty) {
            rc = write_fail(contrib_write(t, &w->touched[i]));
        }
    }
    return rc;
}

int agg_observation(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                    const uint8_t *prev_id)
{
    struct agg_work *w;
    struct contrib *mine;
    Coachq__V1__StoredObservation *prev = NULL;
    struct agg_val v;
    int counts = 0;
    int rc;

    if (rec == NULL || rec->observation == NULL) {
        return -EINVAL;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return STORE_TXN_ABORT(ENOMEM);
    }
    memset(&v, 0, sizeof(v));
    w->t = t;
    w->rec = rec;
    rc = 0;
    if (prev_id != NULL) {
        /* Where the superseded version was: an amendment may move the
         * session, and the one it leaves needs its pairs redone too. */
        rc = record_read(t, prev_id, &prev);
        if (rc == -ENOENT) {
            rc = 0;
        }
    }
    if (rc == 0 && prev_id != NULL) {
        rc = work_take_back(w, prev_id);
    }
    if (rc == 0) {
        rc = agg_counts(t, rec, &counts);
    }
    if (rc == 0 && counts) {
        rc = work_contrib(w, rec->observation->id.data, &mine);
        if (rc == 0) {
            /* A new version has no contribution yet; start clean anyway. */
            mine->nkeys = 0;
            rc = record_keys(t, rec, mine);
            mine->dirty = 1;
        }
        if (rc == 0) {
            rc = record_values(rec->observation, &v);
        }
        for (size_t i = 0; rc == 0 && i < mine->nkeys; i++) {
            rc = map_add(&w->delta, mine->keys[i].b, mine->keys[i].len, &v, 1);
        }
    }
    /* Double coding: a calibration attempt is in no session (it has no
     * coach index key). Any other write can change its session's pairs,
     * even one that does not count itself (it may push a record out of
     * the window, or end a representative's turn). */
    if (rc == 0 && record_ok(rec) && rec->observation->calibration_ref.len == 0) {
        rc = work_sync_session(w, rec->observation->coach_id, rec->observation->started_at);
    }
    if (rc == 0 && prev != NULL &&
        (prev->observation->started_at != rec->observation->started_at ||
         strcmp(prev->observation->coach_id, rec->observation->coach_id) != 0)) {
        rc = work_sync_session(w, prev->observation->coach_id, prev->observation->started_at);
    }
    if (rc == 0) {
        rc = work_commit(w);
    }
    if (rc == -ENOMEM) {
        /* The record is already put in this transaction: only ending the
         * attempt keeps it from being stored without its aggregates. */
        rc = STORE_TXN_ABORT(ENOMEM);
    }
    val_free(&v);
    coachq__v1__stored_observation__free_unpacked(prev, NULL);
    for (size_t i = 0; i < w->ntouched; i++) {
        contrib_free(&w->touched[i]);
    }
    map_free(&w->delta);
    free(w);
    return rc;
}

/* ---- Reading ------------------------------------------------------------ */

int agg_read(struct store_txn *t, enum agg_scope kind, const char *scope_id, const char *rubric_id,
             int32_t from_monday, int32_t until_monday, agg_cb cb, void *arg)
{
    struct keys_buf k;
    MDB_cursor *cur = NULL;
    MDB_val kv, vv;
    size_t plen;
    int rc;

    rc = agg_key(&k, kind, scope_id, rubric_id, 0, 0);
    if (rc != 0) {
        return -EINVAL;
    }
    plen = k.len;
    /* Any day of a week stands for its week. */
    from_monday = agg_week_of(from_monday);
    until_monday = agg_week_of(until_monday);
    rc = agg_key(&k, kind, scope_id, rubric_id, 1, from_monday);
    if (rc != 0) {
        return -EINVAL;
    }
    rc = mdb_cursor_open(t->txn, t->s->dbi_agg, &cur);
    if (rc != 0) {
        return store_errno(rc);
    }
    kv.mv_data = k.b;
    kv.mv_size = k.len;
    rc = mdb_cursor_get(cur, &kv, &vv, MDB_SET_RANGE);
    while (rc == 0) {
        Coachq__V1__AggWeek *wk;
        int32_t monday;
        int cbrc;

        if (kv.mv_size != plen + 4 || memcmp(kv.mv_data, k.b, plen) != 0) {
            break;
        }
        monday = keys_day_decode((const uint8_t *)kv.mv_data + plen);
        if (monday > until_monday) {
            break;
        }
        wk = coachq__v1__agg_week__unpack(NULL, vv.mv_size, vv.mv_data);
        if (wk == NULL) {
            log_event(LOG_ERROR, "agg_value_corrupt", "size=%zu", vv.mv_size);
            mdb_cursor_close(cur);
            return -EIO;
        }
        cbrc = cb(monday, wk, arg);
        coachq__v1__agg_week__free_unpacked(wk, NULL);
        if (cbrc != 0) {
            mdb_cursor_close(cur);
            return cbrc > 0 ? 0 : cbrc;
        }
        rc = mdb_cursor_get(cur, &kv, &vv, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_errno(rc);
}

void agg_week_clear(Coachq__V1__AggWeek *w)
{
    Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;

    if (w == NULL) {
        return;
    }
    for (size_t i = 0; i < w->n_behaviours; i++) {
        if (w->behaviours[i] != NULL) {
            free(w->behaviours[i]->id);
            free(w->behaviours[i]);
        }
    }
    free(w->behaviours);
    free(w->markers);
    free(w->pairs);
    *w = init;
}

/* Grows a uint64 array of dst to n entries (zero-filled). */
static int grow_u64(uint64_t **arr, size_t *have, size_t n)
{
    uint64_t *a;

    if (*have >= n) {
        return 0;
    }
    a = realloc(*arr, n * sizeof(*a));
    if (a == NULL) {
        return -ENOMEM;
    }
    memset(a + *have, 0, (n - *have) * sizeof(*a));
    *arr = a;
    *have = n;
    return 0;
}

int agg_week_add(Coachq__V1__AggWeek *dst, const Coachq__V1__AggWeek *src)
{
    for (size_t i = 0; i < src->n_behaviours; i++) {
        const Coachq__V1__AggBehaviour *sb = src->behaviours[i];
        Coachq__V1__AggBehaviour *db = NULL;

        if (sb == NULL || sb->id == NULL) {
            continue;
        }
        for (size_t j = 0; j < dst->n_behaviours; j++) {
            if (strcmp(dst->behaviours[j]->id, sb->id) == 0) {
                db = dst->behaviours[j];
                break;
            }
        }
        if (db == NULL) {
            Coachq__V1__AggBehaviour init = COACHQ__V1__AGG_BEHAVIOUR__INIT;
            Coachq__V1__AggBehaviour **arr =
                realloc(dst->behaviours, (dst->n_behaviours + 1) * sizeof(*arr));

            if (arr == NULL) {
                return -ENOMEM;
            }
            dst->behaviours = arr;
            db = malloc(sizeof(*db));
            if (db == NULL) {
                return -ENOMEM;
            }
            *db = init;
            db->id = strdup(sb->id);
            if (db->id == NULL) {
                free(db);
                return -ENOMEM;
            }
            dst->behaviours[dst->n_behaviours++] = db;
        }
        db->count += sb->count;
        db->sum += sb->sum;
        db->sumsq += sb->sumsq;
        db->proficient += sb->proficient;
    }
    if (grow_u64(&dst->markers, &dst->n_markers, src->n_markers) != 0) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < src->n_markers; i++) {
        dst->markers[i] += src->markers[i];
    }
    if (grow_u64(&dst->pairs, &dst->n_pairs, src->n_pairs) != 0) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < src->n_pairs; i++) {
        dst->pairs[i] += src->pairs[i];
    }
    dst->observations += src->observations;
    dst->seconds += src->seconds;
    dst->index_n += src->index_n;
    dst->index_sum += src->index_sum;
    dst->index_sumsq += src->index_sumsq;
    dst->self_assess_n += src->self_assess_n;
    dst->self_assess_s_sum += src->self_assess_s_sum;
    dst->actions += src->actions;
    dst->double_coded += src->double_coded;
    return 0;
}

/* ---- Rebuild and verify ------------------------------------------------ */

struct agg_build {
    struct store_txn *t;
    struct agg_map map;
    int write_contribs; /* rebuild: put each record's contribution */
    int check_contribs; /* verify: compare each with the stored one */
    agg_diff_cb diff;
    void *diff_arg;
    struct agg_verify_result res;
    uint64_t contribs;                  /* contributions rebuilt */
    Coachq__V1__StoredObservation *rec; /* for the peer callback */
    struct contrib *c;
};

static void report(struct agg_build *b, const char *key, const char *what)
{
    b->res.differences++;
    if (b->diff != NULL) {
        b->diff(key, what, b->diff_arg);
    }
}

/* Adds the pairs the rule gives b->rec (its session read afresh): each to
 * its peer list, and the pair's values once, from the side with the
 * smaller id. */
static int build_peers(struct agg_build *b)
{
    const Coachq__V1__Observation *o = b->rec->observation;
    struct session *s = calloc(1, sizeof(*s));
    size_t i;
    int rc;

    if (s == NULL) {
        return -ENOMEM;
    }
    rc = session_load(b->t, o->coach_id, o->started_at, s);
    i = rc == 0 ? session_find(s, o->id.data) : 0;
    for (size_t j = 0; rc == 0 && i < s->n && j < s->n; j++) {
        if (!session_paired(s, i, j)) {
            continue;
        }
        rc = contrib_add_peer(b->c, s->rec[j]->observation->id.data);
        if (rc == 0 && memcmp(o->id.data, s->rec[j]->observation->id.data, KEYS_UUID_LEN) < 0) {
            rc = pair_values(&b->map, b->rec, s->rec[j], 1);
        }
    }
    session_free(s);
    free(s);
    return rc;
}

static int contrib_equal(const struct contrib *a, const struct contrib *b)
{
    if (a->nkeys != b->nkeys || a->npeers != b->npeers) {
        return 0;
    }
    for (size_t i = 0; i < a->nkeys; i++) {
        if (keys_compare(a->keys[i].b, a->keys[i].len, b->keys[i].b, b->keys[i].len) != 0) {
            return 0;
        }
    }
    return a->npeers == 0 || memcmp(a->peers, b->peers, a->npeers * KEYS_UUID_LEN) == 0;
}

/* True if the record is the latest version of its observation. */
static int record_latest(struct store_txn *t, const Coachq__V1__StoredObservation *r, int *yes)
{
    uint8_t vkey[KEYS_UUID_LEN + 4];
    MDB_val v;
    uint32_t version = r->version != 0 ? r->version : 1;
    int rc;

    *yes = 1;
    if (r->root_id.len != KEYS_UUID_LEN) {
        return 0; /* schema 1: no amendments */
    }
    memcpy(vkey, r->root_id.data, KEYS_UUID_LEN);
    keys_put_be32(vkey + KEYS_UUID_LEN, version + 1);
    rc = store_txn_get_raw(t, t->s->dbi_versions, vkey, sizeof(vkey), &v);
    if (rc == 0) {
        *yes = 0;
        return 0;
    }
    return rc == -ENOENT ? 0 : rc;
}

static int build_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct agg_build *b = arg;
    Coachq__V1__StoredObservation *r;
    struct contrib c;
    struct agg_val v;
    int latest = 0, counts = 0;
    int rc;

    (void)key;
    (void)klen;
    memset(&c, 0, sizeof(c));
    memset(&v, 0, sizeof(v));
    r = coachq__v1__stored_observation__unpack(NULL, vlen, val);
    if (r == NULL) {
        log_event(LOG_ERROR, "agg_record_corrupt", "size=%zu", vlen);
        return -EIO;
    }
    b->res.observations++;
    rc = record_latest(b->t, r, &latest);
    if (rc == 0 && latest) {
        rc = agg_counts(b->t, r, &counts);
    }
    if (rc != 0 || !latest || !counts) {
        goto out;
    }
    b->res.counted++;
    memcpy(c.id, r->observation->id.data, KEYS_UUID_LEN);
    rc = record_keys(b->t, r, &c);
    if (rc == 0) {
        rc = record_values(r->observation, &v);
    }
    for (size_t i = 0; rc == 0 && i < c.nkeys; i++) {
        rc = map_add(&b->map, c.keys[i].b, c.keys[i].len, &v, 1);
    }
    if (rc == 0) {
        b->rec = r;
        b->c = &c;
        rc = build_peers(b);
    }
    if (rc == 0 && c.npeers > 0) {
        rc = dc_value(&b->map, r, 1);
    }
    if (rc != 0) {
        goto out;
    }
    b->contribs++;
    if (b->write_contribs) {
        rc = write_fail(contrib_write(b->t, &c));
    } else if (b->check_contribs) {
        struct contrib stored;
        char id[40], what[80];

        rc = contrib_load(b->t, c.id, &stored);
        if (rc == 0 && !contrib_equal(&c, &stored)) {
            uuid_format(c.id, id);
            snprintf(what, sizeof(what), "%s (stored %zu keys, %zu peers; rebuilt %zu, %zu)",
                     stored.nkeys == 0 && stored.npeers == 0 ? "contribution missing"
                                                             : "contribution differs",
                     stored.nkeys, stored.npeers, c.nkeys, c.npeers);
            {
                char k[64];

                snprintf(k, sizeof(k), "contrib/%s", id);
                report(b, k, what);
            }
        }
        contrib_free(&stored);
    }
out:
    contrib_free(&c);
    val_free(&v);
    coachq__v1__stored_observation__free_unpacked(r, NULL);
    return rc;
}

/* Rebuilds every value into b->map from the records in b->t. */
static int build_all(struct agg_build *b)
{
    return store_txn_scan(b->t, b->t->s->dbi_obs, NULL, 0, 0, build_one, b);
}

int agg_rebuild_txn(struct store_txn *t)
{
    struct agg_build *b;
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return -ENOMEM;
    }
    b->t = t;
    b->write_contribs = 1;
    rc = mdb_drop(t->txn, t->s->dbi_agg, 0);
    if (rc == 0) {
        rc = mdb_drop(t->txn, t->s->dbi_agg_contrib, 0);
    }
    rc = rc == 0 ? 0 : STORE_TXN_ABORT(rc);
    if (rc == 0) {
        rc = build_all(b);
    }
    for (size_t i = 0; i < b->map.cap && rc == 0; i++) {
        struct agg_ent *e = b->map.slot[i];
        struct week_view wv;

        if (e == NULL || val_normalise(&e->v, e->key, e->klen)) {
            continue;
        }
        rc = week_view_init(&wv, &e->v);
        if (rc == 0) {
            rc = store_txn_put_msg(t, t->s->dbi_agg, e->key, e->klen, &wv.w.base, NULL);
            week_view_free(&wv);
        }
        rc = write_fail(rc);
    }
    if (rc == 0) {
        log_event(LOG_INFO, "agg_rebuilt", "observations=%" PRIu64 " counted=%" PRIu64 " keys=%zu",
                  b->res.observations, b->res.counted, b->map.n);
    }
    map_free(&b->map);
    free(b);
    return rc;
}

static int near(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);

    return fabs(a - b) <= 1e-9 * (m > 1 ? m : 1);
}

/* Appends "; what" to a bounded description. */
static void describe(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void describe(char *out, size_t outlen, const char *fmt, ...)
{
    size_t n = strlen(out);
    va_list ap;

    if (n + 8 >= outlen) {
        return;
    }
    if (n > 0) {
        snprintf(out + n, outlen - n, "; ");
        n += 2;
    }
    va_start(ap, fmt);
    vsnprintf(out + n, outlen - n, fmt, ap);
    va_end(ap);
}

/* Describes how stored s differs from rebuilt r into out ("" if equal). */
static void val_diff(const struct agg_val *s, const struct agg_val *r, char *out, size_t outlen)
{
    static const char *const names[] = {"observations",  "seconds", "index_n",
                                        "self_assess_n", "actions", "double_coded"};
    const int64_t sv[] = {s->observations, s->seconds, s->index_n,
                          s->self_n,       s->actions, s->double_coded};
    const int64_t rv[] = {r->observations, r->seconds, r->index_n,
                          r->self_n,       r->actions, r->double_coded};

    out[0] = '\0';
    for (size_t i = 0; i < sizeof(sv) / sizeof(sv[0]); i++) {
        if (sv[i] != rv[i]) {
            describe(out, outlen, "%s %" PRId64 ", rebuilt %" PRId64, names[i], sv[i], rv[i]);
        }
    }
    if (!near(s->index_sum, r->index_sum) || !near(s->index_sumsq, r->index_sumsq)) {
        describe(out, outlen, "quality index sums %.6g/%.6g, rebuilt %.6g/%.6g", s->index_sum,
                 s->index_sumsq, r->index_sum, r->index_sumsq);
    }
    if (!near(s->self_s, r->self_s)) {
        describe(out, outlen, "self-assessment seconds %.6g, rebuilt %.6g", s->self_s, r->self_s);
    }
    for (int i = 0; i < AGG_NMARKERS; i++) {
        if (s->markers[i] != r->markers[i]) {
            describe(out, outlen, "markers[%d] %" PRId64 ", rebuilt %" PRId64, i, s->markers[i],
                     r->markers[i]);
        }
    }
    for (int i = 0; i < AGG_NPAIRS; i++) {
        if (s->pairs[i] != r->pairs[i]) {
            describe(out, outlen, "pairs[%d] %" PRId64 ", rebuilt %" PRId64, i, s->pairs[i],
                     r->pairs[i]);
        }
    }
    for (size_t i = 0; i < r->nb; i++) {
        const struct agg_beh *rb = &r->b[i];
        const struct agg_beh *sb = NULL;

        for (size_t j = 0; j < s->nb; j++) {
            if (strcmp(s->b[j].id, rb->id) == 0) {
                sb = &s->b[j];
            }
        }
        if (sb == NULL) {
            describe(out, outlen, "behaviour %s missing (rebuilt count %" PRId64 ")", rb->id,
                     rb->count);
        } else if (sb->count != rb->count || sb->proficient != rb->proficient ||
                   !near(sb->sum, rb->sum) || !near(sb->sumsq, rb->sumsq)) {
            describe(out, outlen,
                     "behaviour %s count/sum/sumsq/proficient %" PRId64 "/%g/%g/%" PRId64
                     ", rebuilt %" PRId64 "/%g/%g/%" PRId64,
                     rb->id, sb->count, sb->sum, sb->sumsq, sb->proficient, rb->count, rb->sum,
                     rb->sumsq, rb->proficient);
        }
    }
    for (size_t j = 0; j < s->nb; j++) {
        int found = 0;

        for (size_t i = 0; i < r->nb; i++) {
            found = found || strcmp(s->b[j].id, r->b[i].id) == 0;
        }
        if (!found) {
            describe(out, outlen, "behaviour %s not rebuilt (stored count %" PRId64 ")", s->b[j].id,
                     s->b[j].count);
        }
    }
}

static int verify_stored(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct agg_build *b = arg;
    Coachq__V1__AggWeek *w;
    struct agg_ent *e;
    struct agg_val sv;
    char text[300];
    char what[1024];
    int rc;

    agg_key_text(key, klen, text, sizeof(text));
    w = coachq__v1__agg_week__unpack(NULL, vlen, val);
    if (w == NULL) {
        report(b, text, "stored value does not decode");
        return 0;
    }
    rc = val_from_week(&sv, w);
    coachq__v1__agg_week__free_unpacked(w, NULL);
    if (rc != 0) {
        return rc;
    }
    e = map_find(&b->map, key, klen);
    if (e == NULL) {
        snprintf(what, sizeof(what), "stored but not rebuilt (stored %" PRId64 " observations)",
                 sv.observations);
        report(b, text, what);
    } else {
        e->seen = 1;
        val_diff(&sv, &e->v, what, sizeof(what));
        if (what[0] != '\0') {
            report(b, text, what);
        }
    }
    val_free(&sv);
    return 0;
}

static int ent_cmp(const void *a, const void *b)
{
    const struct agg_ent *x = *(struct agg_ent *const *)a;
    const struct agg_ent *y = *(struct agg_ent *const *)b;

    return keys_compare(x->key, x->klen, y->key, y->klen);
}

static int verify_txn(struct store_txn *t, void *arg)
{
    struct agg_build *b = arg;
    struct agg_ent **missing = NULL;
    size_t nmissing = 0;
    MDB_stat st;
    int rc;

    b->t = t;
    rc = build_all(b);
    for (size_t i = 0; i < b->map.cap && rc == 0; i++) {
        struct agg_ent *e = b->map.slot[i];

        /* A value that adds up to nothing is not stored. */
        if (e != NULL && val_normalise(&e->v, e->key, e->klen)) {
            e->seen = 1;
        }
        if (e != NULL && !e->seen) {
            b->res.keys++;
        }
    }
    if (rc == 0) {
        rc = store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, verify_stored, b);
    }
    if (rc == 0 && b->map.n > 0) {
        missing = calloc(b->map.n, sizeof(*missing));
        if (missing == NULL) {
            rc = -ENOMEM;
        }
    }
    for (size_t i = 0; i < b->map.cap && rc == 0; i++) {
        if (b->map.slot[i] != NULL && !b->map.slot[i]->seen) {
            missing[nmissing++] = b->map.slot[i];
        }
    }
    if (nmissing > 0) {
        qsort(missing, nmissing, sizeof(*missing), ent_cmp);
    }
    for (size_t i = 0; i < nmissing; i++) {
        char text[300], what[100];

        agg_key_text(missing[i]->key, missing[i]->klen, text, sizeof(text));
        snprintf(what, sizeof(what), "missing (rebuilt %" PRId64 " observations)",
                 missing[i]->v.observations);
        report(b, text, what);
    }
    free(missing);
    if (rc == 0 && mdb_stat(t->txn, t->s->dbi_agg_contrib, &st) == 0 &&
        st.ms_entries > b->contribs) {
        char what[100];

        snprintf(what, sizeof(what), "%" PRIu64 " contributions of versions that add nothing",
                 (uint64_t)st.ms_entries - b->contribs);
        report(b, "contrib", what);
    }
    return rc;
}

static int repair_txn(struct store_txn *t, void *arg)
{
    (void)arg;
    return agg_rebuild_txn(t);
}

int agg_verify(struct store *s, int repair, agg_diff_cb cb, void *arg,
               struct agg_verify_result *out)
{
    struct agg_build *b;
    int rc;

    memset(out, 0, sizeof(*out));
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return -ENOMEM;
    }
    b->check_contribs = 1;
    b->diff = cb;
    b->diff_arg = arg;
    rc = store_view(s, verify_txn, b);
    if (rc == 0) {
        *out = b->res;
    }
    if (rc == 0 && repair && b->res.differences > 0) {
        rc = store_exec(s, repair_txn, NULL);
    }
    map_free(&b->map);
    free(b);
    return rc;
}
