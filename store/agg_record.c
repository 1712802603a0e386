/*
 * agg_record: what one observation record contributes to the aggregates
 * (agg_int.h): the values it adds and the keys it adds them to, the
 * contribution record that remembers them for an amendment's take-back,
 * and the double-coding rule that pairs it with other observers' records
 * of the same session. Double coding pairs are found through the
 * obs_by_coach index: every key with the same coach and started_at is one
 * point range. The writer (agg_apply.c) and the rebuild (agg_rebuild.c)
 * both use these, so that they cannot disagree.
 */
#include "agg_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "keys.h"
#include "log.h"
#include "obs.h"
#include "people.h"
#include "store_int.h"
#include "zone.h"

#define AGG_SELF_ASSESSED COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED
/* Programmes looked at per observation for its cohorts: one enrolment point
 * read each. */
#define AGG_MAX_PROGRAMMES 256
/* Cohort keys per record at most: a contribution holds at most UINT8_MAX
 * keys (agg_contrib_write()), and an assigned record has a twin of each
 * cohort key (agg.h, AGG_ASSIGNED). The other keys are at most 21 (coach,
 * line, PEOPLE_MAX_CHAIN chain keys, organisation, observer,
 * observer-coach) and 4 twins, so (255 - 25) / 2 cohorts fit; the
 * programmes' cap above does not bound them. A coach in more cohorts is
 * counted in the first ones (in programme id order) and a warning logged,
 * rather than the record refused. */
#define AGG_MAX_COHORTS ((UINT8_MAX - (5 + PEOPLE_MAX_CHAIN) - 4) / 2)

/* Writes "<a>/<b>" (b NULL: "<a>") into out, each part cut at its max
 * bytes and the whole at len - 1, as snprintf("%.*s/%.*s") would, without
 * a formatter in the writer's path. Returns the length written. */
static size_t scope_join(char *out, size_t len, const char *a, size_t amax, const char *b,
                         size_t bmax)
{
    size_t n = 0;
    size_t k;

    if (len == 0) {
        return 0;
    }
    k = strnlen(a, amax);
    k = k < len - 1 ? k : len - 1;
    memcpy(out, a, k);
    n = k;
    if (b != NULL && n < len - 1) {
        out[n++] = '/';
        k = strnlen(b, bmax);
        k = k < len - 1 - n ? k : len - 1 - n;
        memcpy(out + n, b, k);
        n += k;
    }
    out[n] = '\0';
    return n;
}

void agg_contrib_free(struct agg_contrib *c)
{
    free(c->keys);
    free(c->peers);
    c->keys = NULL;
    c->peers = NULL;
    c->nkeys = c->capkeys = c->npeers = c->cappeers = 0;
}

static int agg_contrib_add_key(struct agg_contrib *c, const struct keys_buf *k)
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

int agg_contrib_add_peer(struct agg_contrib *c, const uint8_t id[KEYS_UUID_LEN])
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

void agg_contrib_del_peer(struct agg_contrib *c, const uint8_t id[KEYS_UUID_LEN])
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

int agg_basis_of(struct store_txn *t, const Coachq__V1__StoredObservation *rec, struct agg_basis *b)
{
    const Coachq__V1__Observation *o = rec != NULL ? rec->observation : NULL;
    int32_t day;
    int rc;

    memset(b, 0, sizeof(*b));
    if (o == NULL || o->coach_id == NULL || rec->observer_id == NULL || o->rubric_id == NULL ||
        strlen(o->coach_id) > VALIDATE_MAX_ID || strlen(rec->observer_id) > VALIDATE_MAX_ID ||
        strlen(o->rubric_id) > VALIDATE_MAX_ID) {
        return 0;
    }
    rc = zone_session_day(t, o, &day);
    if (rc != 0) {
        return rc;
    }
    memcpy(b->coach, o->coach_id, strlen(o->coach_id) + 1);
    memcpy(b->observer, rec->observer_id, strlen(rec->observer_id) + 1);
    memcpy(b->rubric, o->rubric_id, strlen(o->rubric_id) + 1);
    b->monday = agg_week_of(day);
    b->set = 1;
    return 0;
}

/* The kinds whose key follows from the basis alone: bit (1 << i) of the
 * stored flags is the i-th. */
static const unsigned contrib_derived[] = {
    AGG_COACH,     AGG_ORG,     AGG_OBSERVER,     AGG_OBSERVER_COACH,
    AGG_COACH_ASG, AGG_ORG_ASG, AGG_OBSERVER_ASG, AGG_OBSERVER_COACH_ASG};
#define CONTRIB_NDERIVED (sizeof(contrib_derived) / sizeof(contrib_derived[0]))
#define CONTRIB_FULL 0    /* the scope is stored */
#define CONTRIB_COACHED 1 /* the scope is "<stored>/<coach>" */

/* The scope of a derived kind's key for basis b, into out. */
static int contrib_derived_scope(unsigned kind, const struct agg_basis *b, char *out, size_t len)
{
    size_t n;

    switch (kind & ~AGG_ASSIGNED) {
    case AGG_COACH:
        n = scope_join(out, len, b->coach, SIZE_MAX, NULL, 0);
        break;
    case AGG_ORG:
        n = scope_join(out, len, AGG_ORG_ALL, SIZE_MAX, NULL, 0);
        break;
    default: /* AGG_OBSERVER and AGG_OBSERVER_COACH, whose coach follows the week */
        n = scope_join(out, len, b->observer, SIZE_MAX, NULL, 0);
        break;
    }
    /* The ids are at most VALIDATE_MAX_ID bytes: every scope fits. */
    return n < len ? 0 : -EINVAL;
}

/* The key of a derived kind for basis b. */
static int contrib_derived_key(unsigned kind, const struct agg_basis *b, struct keys_buf *k)
{
    char scope[AGG_SCOPE_MAX + 1];
    int rc;

    if (AGG_KIND_COACHED(kind)) {
        return agg_key_coached_of(k, kind, b->observer, b->rubric, b->monday, b->coach);
    }
    rc = contrib_derived_scope(kind, b, scope, sizeof(scope));
    return rc == 0 ? agg_key(k, kind, scope, b->rubric, 1, b->monday) : rc;
}

static int contrib_add(struct agg_contrib *c, unsigned kind, const char *scope)
{
    struct keys_buf k;
    int rc = agg_key(&k, kind, scope, c->basis.rubric, 1, c->basis.monday);

    return rc != 0 ? -EIO : agg_contrib_add_key(c, &k);
}

static int contrib_add_derived(struct agg_contrib *c, unsigned kind)
{
    struct keys_buf k;
    int rc = contrib_derived_key(kind, &c->basis, &k);

    return rc != 0 ? -EIO : agg_contrib_add_key(c, &k);
}

int agg_contrib_load(struct store_txn *t, const uint8_t id[KEYS_UUID_LEN],
                     const Coachq__V1__StoredObservation *rec, struct agg_contrib *c)
{
    char scope[AGG_SCOPE_MAX + 1];
    const uint8_t *p, *end;
    size_t nexplicit, npeers;
    unsigned derived;
    MDB_val v;
    int rc;

    memset(c, 0, sizeof(*c));
    memcpy(c->id, id, KEYS_UUID_LEN);
    rc = agg_basis_of(t, rec, &c->basis);
    if (rc != 0) {
        return rc;
    }
    rc = store_txn_get_raw(t, t->s->dbi_agg_contrib, id, KEYS_UUID_LEN, &v);
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    p = v.mv_data;
    end = p + v.mv_size;
    if (v.mv_size < 4 || p[0] != AGG_CONTRIB_VERSION || (p[1] >> CONTRIB_NDERIVED) != 0) {
        return -EIO;
    }
    derived = p[1];
    nexplicit = p[2];
    npeers = p[3];
    p += 4;
    if ((derived != 0 || nexplicit != 0) && !c->basis.set) {
        return -ENOENT;
    }
    for (size_t i = 0; i < CONTRIB_NDERIVED && rc == 0; i++) {
        if (derived & (1u << i)) {
            rc = contrib_add_derived(c, contrib_derived[i]);
        }
    }
    for (size_t i = 0; i < nexplicit && rc == 0; i++) {
        size_t len;
        char part[AGG_SCOPE_MAX + 1];

        if (end - p < 3 || (size_t)(end - p) < 3 + (len = p[2]) || len == 0 ||
            len > AGG_SCOPE_MAX || p[1] > CONTRIB_COACHED || memchr(p + 3, '\0', len) != NULL) {
            rc = -EIO;
            break;
        }
        memcpy(part, p + 3, len);
        part[len] = '\0';
        if (p[1] == CONTRIB_COACHED && len + 1 + strlen(c->basis.coach) > AGG_SCOPE_MAX) {
            rc = -EIO;
            break;
        }
        scope_join(scope, sizeof(scope), part, len, p[1] == CONTRIB_COACHED ? c->basis.coach : NULL,
                   SIZE_MAX);
        rc = contrib_add(c, p[0], scope);
        p += 3 + len;
    }
    if (rc == 0 && (size_t)(end - p) != npeers * KEYS_UUID_LEN) {
        rc = -EIO;
    }
    for (size_t i = 0; i < npeers && rc == 0; i++, p += KEYS_UUID_LEN) {
        rc = agg_contrib_add_peer(c, p);
    }
    c->dirty = 0;
    if (rc != 0) {
        agg_contrib_free(c);
    }
    return rc;
}

/* How key k of c is stored: *derived gets its bit if it is a derived one;
 * otherwise *form, *part and *plen say what is stored. Returns -EINVAL for
 * a key that is not of c's rubric and week. */
static int contrib_key_form(const struct agg_contrib *c, const struct keys_buf *k,
                            unsigned *derived, unsigned *form, const uint8_t **part, size_t *plen)
{
    struct keys_buf want;
    size_t slen, clen = strlen(c->basis.coach);

    for (size_t i = 0; i < CONTRIB_NDERIVED && k->len >= 1; i++) {
        if (contrib_derived[i] == k->b[0] && contrib_derived_key(k->b[0], &c->basis, &want) == 0 &&
            want.len == k->len && memcmp(want.b, k->b, k->len) == 0) {
            *derived |= 1u << i;
            *part = NULL;
            return 0;
        }
    }
    if (k->len >= 1 && AGG_KIND_COACHED(k->b[0])) {
        /* Only ever the record's own, derived. */
        return -EINVAL;
    }
    if (k->len < 2 || (slen = k->b[1]) + 2 > k->len ||
        agg_key(&want, k->b[0], "x", c->basis.rubric, 1, c->basis.monday) != 0 ||
        k->len - 2 - slen != want.len - 3 ||
        memcmp(k->b + 2 + slen, want.b + 3, want.len - 3) != 0) {
        return -EINVAL;
    }
    *part = k->b + 2;
    *plen = slen;
    *form = CONTRIB_FULL;
    if (slen > clen + 1 && k->b[2 + slen - clen - 1] == '/' &&
        memcmp(k->b + 2 + slen - clen, c->basis.coach, clen) == 0) {
        *form = CONTRIB_COACHED;
        *plen = slen - clen - 1;
    }
    return 0;
}

/* How one key of a contribution is stored (contrib_key_form()): part NULL
 * for a derived key, else its stored part, plen bytes, and form. */
struct contrib_form {
    const uint8_t *part;
    size_t plen;
    unsigned form;
};

int agg_contrib_write(struct store_txn *t, const struct agg_contrib *c)
{
    unsigned derived = 0, form = 0;
    const uint8_t *part = NULL;
    size_t plen = 0, n = 4, nexplicit = 0;
    /* Each key's form, worked out once for the size and kept for the
     * writing below (it builds a key to compare with: 2.6% of the writer's
     * samples at 64 x 16 when worked out twice). */
    struct contrib_form forms[UINT8_MAX];
    uint8_t *p;
    MDB_val k, v;
    int rc;

    if (c->nkeys == 0 && c->npeers == 0) {
        return store_txn_del(t, t->s->dbi_agg_contrib, c->id, KEYS_UUID_LEN);
    }
    if (c->nkeys > 0 && !c->basis.set) {
        return -EINVAL;
    }
    if (c->nkeys > UINT8_MAX || c->npeers > UINT8_MAX) {
        return -E2BIG;
    }
    for (size_t i = 0; i < c->nkeys; i++) {
        unsigned before = derived;

        if (contrib_key_form(c, &c->keys[i], &derived, &form, &part, &plen) != 0) {
            return -EINVAL;
        }
        if (part == NULL && derived == before) {
            /* The same derived key twice cannot be stored as a bit. */
            return -EINVAL;
        }
        if (part != NULL) {
            n += 3 + plen;
            nexplicit++;
        }
        forms[i].part = part;
        forms[i].plen = plen;
        forms[i].form = form;
    }
    n += c->npeers * KEYS_UUID_LEN;
    k.mv_data = (void *)c->id;
    k.mv_size = KEYS_UUID_LEN;
    v.mv_data = NULL;
    v.mv_size = n;
    rc = mdb_put(t->txn, t->s->dbi_agg_contrib, &k, &v, MDB_RESERVE);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    p = v.mv_data;
    *p++ = AGG_CONTRIB_VERSION;
    *p++ = (uint8_t)derived;
    *p++ = (uint8_t)nexplicit;
    *p++ = (uint8_t)c->npeers;
    for (size_t i = 0; i < c->nkeys; i++) {
        if (forms[i].part != NULL) {
            *p++ = c->keys[i].b[0];
            *p++ = (uint8_t)forms[i].form;
            *p++ = (uint8_t)forms[i].plen;
            memcpy(p, forms[i].part, forms[i].plen);
            p += forms[i].plen;
        }
    }
    for (size_t i = 0; i < c->npeers; i++, p += KEYS_UUID_LEN) {
        memcpy(p, c->peers[i], KEYS_UUID_LEN);
    }
    return 0;
}

int agg_record_ok(const Coachq__V1__StoredObservation *r)
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
    int32_t day;
    int rc;

    *yes = 0;
    if (!agg_record_ok(rec) || o->calibration_ref.len != 0) {
        return 0;
    }
    rc = zone_session_day(t, o, &day);
    if (rc != 0) {
        return rc;
    }
    /* The records of a session and of a batch mostly share an observer
     * and a rubric: their certification is read once per batch. */
    rc = store_txn_memo_certified(t, rec->observer_id, o->rubric_id, day);
    if (rc == -ENOENT || rc == -EINVAL) {
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    *yes = 1;
    return 0;
}

int agg_record_values(const Coachq__V1__Observation *o, struct agg_val *v)
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
        b = agg_val_beh(v, r->behaviour_id);
        if (b == NULL) {
            agg_val_free(v);
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
    if ((unsigned)o->focus < AGG_NFOCUS) {
        v->mix[AGG_MIX_FOCUS + o->focus] = 1;
    }
    if ((unsigned)o->session_type < AGG_NTYPES) {
        v->mix[AGG_MIX_TYPE + o->session_type] = 1;
    }
    for (size_t i = 0; i < o->n_markers; i++) {
        const Coachq__V1__Marker *m = o->markers[i];

        /* The moments of the coaching are the observer's markers; the
         * rep's and manager's comments on a recording are not. */
        if (m == NULL || (unsigned)m->kind >= AGG_NMARKERS ||
            m->author != COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_OBSERVER) {
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
        if ((unsigned)o->focus < AGG_NFOCUS) {
            v->mix[AGG_MIX_FOCUS_QN + o->focus] = 1;
            v->mix_q[AGG_MIXQ_SUM + o->focus] = q;
            v->mix_q[AGG_MIXQ_SUMSQ + o->focus] = q * q;
        }
    }
    if (self_ms >= 0) {
        v->self_n = 1;
        v->self_s = (double)self_ms / 1000.0;
    }
    v->actions = (int64_t)o->n_actions;
    if (o->recording != NULL) {
        v->rec_n = 1;
        /* The stages run in order (validate.c), so a rep who commented
         * did so before the manager did. */
        v->rec_rep_first = o->recording->rep_commented_at != 0;
    }
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
static int agg_record_chain_keys(struct store_txn *t, const char *coach, int32_t day,
                                 const char *rubric, int32_t monday, struct agg_contrib *c)
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
        scope_join(scope, sizeof(scope), chain[i], 64, coach, 64);
        rc = agg_key(&k, AGG_LINE_COACH, scope, rubric, 1, monday);
        if (rc == 0) {
            rc = agg_contrib_add_key(c, &k);
        } else if (rc == -EINVAL || rc == -ENOBUFS) {
            rc = 0;
        }
    }
    return rc;
}

int agg_record_assigned(const Coachq__V1__StoredObservation *rec)
{
    return rec != NULL && rec->assigned;
}

/* An assigned record's twins (agg.h, AGG_ASSIGNED) of the keys c holds. */
static int agg_record_twins(const Coachq__V1__StoredObservation *rec, struct agg_contrib *c)
{
    size_t n = c->nkeys;
    int rc = 0;

    if (!agg_record_assigned(rec)) {
        return 0;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct keys_buf k = c->keys[i];
        unsigned kind = k.len >= 1 ? k.b[0] : 0;

        if (kind == AGG_COACH || kind == AGG_ORG || kind == AGG_OBSERVER || kind == AGG_COHORT ||
            kind == AGG_OBSERVER_COACH) {
            k.b[0] = (uint8_t)(kind | AGG_ASSIGNED);
            rc = agg_contrib_add_key(c, &k);
        }
    }
    return rc;
}

int agg_record_keys(struct store_txn *t, const Coachq__V1__StoredObservation *rec,
                    struct agg_contrib *c)
{
    const Coachq__V1__Observation *o = rec->observation;
    const char *rubric = o->rubric_id;
    int32_t day;
    int32_t monday;
    struct programmes *pg = NULL;
    char scope[AGG_SCOPE_MAX + 1];
    char mgr[VALIDATE_MAX_ID + 1];
    struct keys_buf k;
    int ncohorts = 0;
    int rc;

    rc = agg_basis_of(t, rec, &c->basis);
    if (rc != 0) {
        return rc;
    }
    rc = zone_session_day(t, o, &day);
    if (rc != 0) {
        return rc;
    }
    monday = agg_week_of(day);
    rc = agg_key(&k, AGG_COACH, o->coach_id, rubric, 1, monday);
    if (rc == 0) {
        rc = agg_contrib_add_key(c, &k);
    }
    if (rc != 0) {
        return rc;
    }
    /* The coach's manager is read again for the chain keys below and by
     * the rules: once per batch (memo.c). */
    rc = store_txn_memo_manager_at(t, o->coach_id, day, mgr, sizeof(mgr));
    if (rc == 0) {
        rc = agg_key(&k, AGG_LINE, mgr, rubric, 1, monday);
        if (rc == 0) {
            rc = agg_contrib_add_key(c, &k);
        }
    } else if (rc == -ENOENT || rc == -EINVAL) {
        rc = 0;
    }
    if (rc == 0) {
        rc = agg_record_chain_keys(t, o->coach_id, day, rubric, monday, c);
    }
    if (rc == 0) {
        rc = agg_key(&k, AGG_ORG, AGG_ORG_ALL, rubric, 1, monday);
    }
    if (rc == 0) {
        rc = agg_contrib_add_key(c, &k);
    }
    if (rc == 0) {
        rc = agg_key(&k, AGG_OBSERVER, rec->observer_id, rubric, 1, monday);
    }
    if (rc == 0) {
        rc = agg_contrib_add_key(c, &k);
    }
    if (rc != 0) {
        return rc;
    }
    /* Not zeroed: programme_one() fills the ids it counts, and zeroing
     * the 16 KiB of ids for every record cost more than the scan of an
     * organisation with few programmes. */
    pg = malloc(sizeof(*pg));
    if (pg == NULL) {
        return -ENOMEM;
    }
    pg->n = 0;
    rc = store_txn_scan(t, t->s->dbi_programmes, NULL, 0, 0, programme_one, pg);
    for (size_t i = 0; i < pg->n && rc == 0; i++) {
        Coachq__V1__Enrolment *e = NULL;

        rc = people_enrolment_get(t, pg->id[i], o->coach_id, &e);
        if (rc == 0 && e->cohort_id != NULL && e->cohort_id[0] != '\0') {
            if (ncohorts == AGG_MAX_COHORTS) {
                log_event(LOG_WARN, "agg_cohorts_capped", "max=%d", AGG_MAX_COHORTS);
                coachq__v1__enrolment__free_unpacked(e, NULL);
                break;
            }
            scope_join(scope, sizeof(scope), pg->id[i], SIZE_MAX, e->cohort_id, SIZE_MAX);
            rc = agg_key(&k, AGG_COHORT, scope, rubric, 1, monday);
            if (rc == 0) {
                rc = agg_contrib_add_key(c, &k);
                ncohorts++;
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
    rc = agg_key_coached(&k, rec->observer_id, rubric, monday, o->coach_id);
    if (rc == 0) {
        rc = agg_contrib_add_key(c, &k);
    }
    return rc == 0 ? agg_record_twins(rec, c) : rc;
}

int agg_dc_value(struct store_txn *t, struct agg_map *m, const Coachq__V1__StoredObservation *rec,
                 int sign)
{
    const Coachq__V1__Observation *o = rec->observation;
    struct agg_val v;
    struct keys_buf k;
    int32_t day;
    int rc;

    memset(&v, 0, sizeof(v));
    v.double_coded = 1;
    rc = zone_session_day(t, o, &day);
    if (rc != 0) {
        return rc;
    }
    rc = agg_key(&k, AGG_OBSERVER, rec->observer_id, o->rubric_id, 1, agg_week_of(day));
    if (rc == 0) {
        rc = agg_map_add(m, k.b, k.len, &v, sign);
    }
    if (rc == 0 && agg_record_assigned(rec)) {
        k.b[0] = AGG_OBSERVER_ASG;
        rc = agg_map_add(m, k.b, k.len, &v, sign);
    }
    return rc;
}

int agg_pair_values(struct store_txn *t, struct agg_map *m, const Coachq__V1__StoredObservation *a,
                    const Coachq__V1__StoredObservation *b, int sign)
{
    const Coachq__V1__Observation *oa = a->observation;
    const Coachq__V1__Observation *ob = b->observation;
    struct agg_val va, vb;
    struct keys_buf ka, kb;
    int32_t da, db;
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
    rc = zone_session_day(t, oa, &da);
    if (rc == 0) {
        rc = zone_session_day(t, ob, &db);
    }
    if (rc == 0) {
        rc = agg_key(&ka, AGG_OBSERVER, a->observer_id, oa->rubric_id, 1, agg_week_of(da));
    }
    if (rc == 0) {
        rc = agg_key(&kb, AGG_OBSERVER, b->observer_id, ob->rubric_id, 1, agg_week_of(db));
    }
    if (rc == 0) {
        rc = agg_map_add(m, ka.b, ka.len, &va, sign);
    }
    if (rc == 0) {
        rc = agg_map_add(m, kb.b, kb.len, &vb, sign);
    }
    if (rc == 0 && agg_record_assigned(a)) {
        ka.b[0] = AGG_OBSERVER_ASG;
        rc = agg_map_add(m, ka.b, ka.len, &va, sign);
    }
    if (rc == 0 && agg_record_assigned(b)) {
        kb.b[0] = AGG_OBSERVER_ASG;
        rc = agg_map_add(m, kb.b, kb.len, &vb, sign);
    }
    return rc;
}

int agg_record_read(struct store_txn *t, const uint8_t id[KEYS_UUID_LEN],
                    Coachq__V1__StoredObservation **out)
{
    int rc = obs_read_txn(t, id, out);

    if (rc == 0 && !agg_record_ok(*out)) {
        coachq__v1__stored_observation__free_unpacked(*out, NULL);
        *out = NULL;
        rc = -EIO;
    }
    return rc;
}

/* True if b can be a's double-coding peer (both already known to count). */
static int agg_peer_match(const Coachq__V1__StoredObservation *a,
                          const Coachq__V1__StoredObservation *b)
{
    const Coachq__V1__Observation *oa = a->observation;
    const Coachq__V1__Observation *ob = b->observation;

    return oa->started_at == ob->started_at && strcmp(oa->coach_id, ob->coach_id) == 0 &&
           strcmp(oa->coachee_id, ob->coachee_id) == 0 &&
           strcmp(oa->rubric_id, ob->rubric_id) == 0 && strcmp(a->observer_id, b->observer_id) != 0;
}

/* The size of a session's block: the window's records decoded, at about
 * 1.5 KB each for a record of 1 KB, with room to spare. */
#define AGG_SESSION_MEM (96u * 1024u)

/* The session's allocator (struct agg_session's mem): a bump allocator
 * that falls back to malloc, and frees only what malloc gave. */
static void *agg_session_alloc(void *data, size_t size)
{
    struct agg_session *s = data;
    size_t align = sizeof(max_align_t);
    size_t n = (size + align - 1) / align * align;

    if (s->mem != NULL && n >= size && n <= AGG_SESSION_MEM - s->mem_used) {
        void *p = s->mem + s->mem_used;

        s->mem_used += n;
        return p;
    }
    s->spilled++;
    return malloc(size);
}

static void agg_session_mfree(void *data, void *p)
{
    struct agg_session *s = data;

    if (s->mem == NULL || (unsigned char *)p < s->mem ||
        (unsigned char *)p >= s->mem + AGG_SESSION_MEM) {
        free(p);
    }
}

void agg_session_clear(struct agg_session *s)
{
    ProtobufCAllocator a = {agg_session_alloc, agg_session_mfree, s};

    for (size_t i = 0; i < s->n; i++) {
        /* Nothing to give back when every field lies in the block. */
        if (s->rec[i] != NULL && s->spilled > 0) {
            protobuf_c_message_free_unpacked(&s->rec[i]->base, &a);
        }
        s->rec[i] = NULL;
    }
    s->n = 0;
    s->nids = 0;
    s->mem_used = 0;
    s->spilled = 0;
}

void agg_session_free(struct agg_session *s)
{
    agg_session_clear(s);
    free(s->mem);
    s->mem = NULL;
}

static int agg_session_key(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                           void *arg)
{
    struct agg_session *s = arg;
    const uint8_t *uuid;

    (void)val;
    (void)vlen;
    if (keys_index_decode(key, klen, NULL, NULL, NULL, &uuid) != 0) {
        return 0;
    }
    memcpy(s->ids[s->nids++], uuid, KEYS_UUID_LEN);
    return s->nids == AGG_SESSION_KEYS + 1 ? 1 : 0;
}

/* agg_session_load(); with ids_only, a session of one key at most is left
 * with its ids and no records. */
static int session_load(struct store_txn *t, const char *coach, int64_t started_at,
                        struct agg_session *s, int ids_only)
{
    ProtobufCAllocator a = {agg_session_alloc, agg_session_mfree, s};
    unsigned char *mem = s->mem;
    uint8_t prefix[KEYS_BOUND_MAX];
    size_t plen;
    int rc;

    /* Whatever s held is let go of; its block is kept. */
    agg_session_clear(s);
    memset(s, 0, sizeof(*s));
    s->mem = mem;
    if (keys_index_bound(prefix, sizeof(prefix), coach, strlen(coach), started_at, &plen) != 0) {
        return 0;
    }
    /* The ids first: no other read runs while the scan's cursor is open. */
    rc = store_txn_scan(t, t->s->dbi_by_coach, prefix, plen, 0, agg_session_key, s);
    if (rc != 0 || (ids_only && s->nids <= 1)) {
        return rc;
    }
    if (s->mem == NULL) {
        s->mem = malloc(AGG_SESSION_MEM);
    }
    for (size_t i = 0; i < s->nids && rc == 0; i++) {
        Coachq__V1__StoredObservation *r = NULL;

        /* agg_record_read(), decoded into the session's block. */
        rc = obs_read_txn_alloc(t, s->ids[i], &a, &r);
        if (rc == 0 && !agg_record_ok(r)) {
            protobuf_c_message_free_unpacked(&r->base, &a);
            r = NULL;
            rc = -EIO;
        }
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
        agg_session_clear(s);
    }
    return rc;
}

int agg_session_load(struct store_txn *t, const char *coach, int64_t started_at,
                     struct agg_session *s)
{
    return session_load(t, coach, started_at, s, 0);
}

int agg_session_load_pairs(struct store_txn *t, const char *coach, int64_t started_at,
                           struct agg_session *s)
{
    return session_load(t, coach, started_at, s, 1);
}

/* True if s->rec[i] represents its observer for its coachee and rubric:
 * counted, in the window, and no counted record before it (a smaller id)
 * of the same observer, coachee and rubric. */
static int agg_session_represents(const struct agg_session *s, size_t i)
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

int agg_session_paired(const struct agg_session *s, size_t i, size_t j)
{
    return i != j && agg_session_represents(s, i) && agg_session_represents(s, j) &&
           agg_peer_match(s->rec[i], s->rec[j]);
}

size_t agg_session_find(const struct agg_session *s, const uint8_t id[KEYS_UUID_LEN])
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->rec[i] != NULL && memcmp(s->rec[i]->observation->id.data, id, KEYS_UUID_LEN) == 0) {
            return i;
        }
    }
    return s->n;
}
