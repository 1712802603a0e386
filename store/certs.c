/* certs: observer certification and calibration (see certs.h). */
#include "certs.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "certs_int.h"
#include "day.h"
#include "keys.h"
#include "log.h"
#include "obs.h"
#include "stats.h"
#include "store_int.h"
#include "zone.h"
#include "uuid.h"

/* The rating scale scores are compared on (domain.md, "Rating scale"). */
#define CERTS_SCORE_LO 1
#define CERTS_SCORE_HI 4
/* Caps on what one calibration or one listing holds in memory. An observer
 * scores a handful of reference sessions; a reference has one master
 * rating per behaviour (VALIDATE_MAX_RATINGS at most). */
#define CERTS_MAX_ATTEMPTS 4096
#define CERTS_MAX_PAIRS 65536
#define CERTS_MAX_RESULTS ((size_t)1 << 20)
#define CERTS_REASON_MAX 512
/* Shares are ratios of small integers and kappa a few more operations on
 * them: a figure within this of a threshold meets it, so that rounding in
 * the last bit never decides a certification. */
#define CERTS_EPS 1e-9

/* ---- Small helpers ----------------------------------------------------- */

/* Compares two protobuf strings, which hand-built messages may leave NULL. */
static int certs_streq(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* Rounds v down to a whole number. The figures here lie within -100..100,
 * so a cast does it without pulling in libm. */
static double certs_floor(double v)
{
    double f = (double)(long long)v;

    return f > v ? f - 1.0 : f;
}

/* The whole number nearest v when v is within 1e-6 of one (printing noise
 * such as 54.99999999 as 55); otherwise v rounded down to step (1 or 0.1,
 * given as its inverse), so that a figure just below a threshold is never
 * printed as the threshold itself. */
static double certs_display(double v, double inverse_step)
{
    double whole = certs_floor(v + 0.5);
    double d = v - whole;

    if (d < 1e-6 && d > -1e-6) {
        return whole;
    }
    return certs_floor(v * inverse_step) / inverse_step;
}

/* Writes share (0..1) as a percentage: "80%", "62.5%". Returns out. */
static const char *certs_pct(double share, char *out, size_t len)
{
    double v = certs_display(share * 100.0, 10.0);

    if (v == certs_floor(v)) {
        snprintf(out, len, "%.0f%%", v);
    } else {
        snprintf(out, len, "%.1f%%", v);
    }
    return out;
}

/* Writes day as YYYY-MM-DD into out. Returns out. */
static const char *certs_day_str(int32_t day, char *out, size_t len)
{
    day_format(day, out, len);
    return out;
}

static void certs_say(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends one clause to a reason, separated from the ones before by "; ";
 * text that does not fit is cut. */
static void certs_say(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used > 0 && used + 2 < len) {
        memcpy(buf + used, "; ", 3);
        used += 2;
    }
    if (used + 1 >= len) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* ---- Certifications ---------------------------------------------------- */

int certs_put(struct store_txn *t, const Coachq__V1__Certification *c)
{
    struct keys_buf k;

    if (c == NULL || c->valid_from_day > c->valid_until_day) {
        return -EINVAL;
    }
    keys_buf_reset(&k);
    keys_buf_id(&k, c->observer_id);
    keys_buf_id(&k, c->rubric_id);
    keys_buf_day(&k, c->valid_from_day);
    if (k.err != 0) {
        return -EINVAL;
    }
    return store_txn_put_msg(t, t->s->dbi_certs, k.b, k.len, &c->base, NULL);
}

/*
 * What certs_valid_on() keeps while it scans one observer's certifications
 * of one rubric: the one that holds on day, and the one that ends last. One
 * decoded message may be both, so a message is freed only once neither
 * points to it.
 */
struct certs_pick {
    int32_t day;
    size_t klen;
    Coachq__V1__Certification *holds;
    Coachq__V1__Certification *last;
};

static void certs_pick_drop(struct certs_pick *p, Coachq__V1__Certification *c)
{
    if (c != NULL && c != p->holds && c != p->last) {
        coachq__v1__certification__free_unpacked(c, NULL);
    }
}

static int certs_pick_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct certs_pick *p = arg;
    Coachq__V1__Certification *c;
    Coachq__V1__Certification *old_holds = p->holds;
    Coachq__V1__Certification *old_last = p->last;

    (void)key;
    if (klen != p->klen) {
        return -EIO;
    }
    c = coachq__v1__certification__unpack(NULL, vlen, val);
    if (c == NULL) {
        return -EIO;
    }
    /* Keys run by first day, so on a tie of last days the later start
     * (the later grant) wins. */
    if (c->valid_from_day <= p->day && p->day <= c->valid_until_day &&
        (p->holds == NULL || c->valid_until_day >= p->holds->valid_until_day)) {
        p->holds = c;
    }
    if (p->last == NULL || c->valid_until_day >= p->last->valid_until_day) {
        p->last = c;
    }
    certs_pick_drop(p, old_holds);
    if (old_last != old_holds) {
        certs_pick_drop(p, old_last);
    }
    certs_pick_drop(p, c);
    return 0;
}

int certs_valid_on(struct store_txn *t, const char *observer, const char *rubric, int32_t day,
                   Coachq__V1__Certification **out, Coachq__V1__Certification **last)
{
    struct certs_pick p;
    struct keys_buf k;
    int gave_holds = 0;
    int gave_last = 0;
    int rc;

    if (out == NULL) {
        return -EINVAL;
    }
    *out = NULL;
    if (last != NULL) {
        *last = NULL;
    }
    keys_buf_reset(&k);
    keys_buf_id(&k, observer);
    keys_buf_id(&k, rubric);
    if (k.err != 0) {
        /* Nobody can hold a certification under ids that make no key. */
        return -ENOENT;
    }
    memset(&p, 0, sizeof(p));
    p.day = day;
    p.klen = k.len + 4;
    rc = store_txn_scan(t, t->s->dbi_certs, k.b, k.len, 0, certs_pick_cb, &p);
    if (rc == 0 && p.holds != NULL) {
        *out = p.holds;
        gave_holds = 1;
    } else if (rc == 0) {
        rc = -ENOENT;
        if (last != NULL) {
            *last = p.last;
            gave_last = 1;
        }
    }
    /* Free what was not handed out; holds and last may be one message. */
    if (p.holds != NULL && !gave_holds) {
        coachq__v1__certification__free_unpacked(p.holds, NULL);
    }
    if (p.last != NULL && p.last != p.holds && !gave_last) {
        coachq__v1__certification__free_unpacked(p.last, NULL);
    }
    return rc;
}

struct certs_walk {
    certs_cb cb;
    void *arg;
};

static int certs_walk_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct certs_walk *w = arg;
    Coachq__V1__Certification *c;
    int rc;

    (void)key;
    (void)klen;
    c = coachq__v1__certification__unpack(NULL, vlen, val);
    if (c == NULL) {
        return -EIO;
    }
    rc = w->cb(c, w->arg);
    coachq__v1__certification__free_unpacked(c, NULL);
    return rc;
}

int certs_list(struct store_txn *t, const char *observer, certs_cb cb, void *arg)
{
    struct certs_walk w;
    struct keys_buf k;

    if (cb == NULL) {
        return -EINVAL;
    }
    keys_buf_reset(&k);
    if (observer != NULL) {
        keys_buf_id(&k, observer);
        if (k.err != 0) {
            /* An id that makes no key has no certifications. */
            return 0;
        }
    }
    w.cb = cb;
    w.arg = arg;
    return store_txn_scan(t, t->s->dbi_certs, k.b, k.len, 0, certs_walk_cb, &w);
}

/* ---- Calibration references ------------------------------------------- */

/*
 * Packs r with registered_at_ms set to 0 into *out (caller owns, free()).
 * The server stamps the time on every request, so a client that retries a
 * registration whose answer it lost must not be told the id is taken.
 * Returns 0 or -ENOMEM.
 */
static int certs_ref_pack(const Coachq__V1__CalibrationReference *r, uint8_t **out, size_t *len)
{
    Coachq__V1__CalibrationReference copy = *r;
    size_t n;

    /* A shallow copy: pack only reads the fields it shares with r. Retiring
     * a reference changes neither its content nor its masters. */
    copy.registered_at_ms = 0;
    copy.retired_at_ms = 0;
    n = coachq__v1__calibration_reference__get_packed_size(&copy);
    *out = malloc(n > 0 ? n : 1);
    if (*out == NULL) {
        return -ENOMEM;
    }
    *len = coachq__v1__calibration_reference__pack(&copy, *out);
    return 0;
}

int certs_reference_put(struct store_txn *t, const Coachq__V1__CalibrationReference *r)
{
    Coachq__V1__CalibrationReference *old = NULL;
    uint8_t *pa = NULL;
    uint8_t *pb = NULL;
    size_t la = 0;
    size_t lb = 0;
    int rc;

    if (r == NULL || r->id.len != KEYS_UUID_LEN || r->id.data == NULL || r->rubric_id == NULL ||
        r->rubric_id[0] == '\0') {
        return -EINVAL;
    }
    if (!t->write) {
        return -EROFS;
    }
    rc = certs_reference_get(t, r->id.data, &old);
    if (rc == -ENOENT) {
        return store_txn_put_msg(t, t->s->dbi_refs, r->id.data, KEYS_UUID_LEN, &r->base, NULL);
    }
    if (rc != 0) {
        goto out;
    }
    rc = certs_ref_pack(old, &pa, &la);
    if (rc != 0) {
        goto out;
    }
    rc = certs_ref_pack(r, &pb, &lb);
    if (rc != 0) {
        goto out;
    }
    /* Attempts were scored against the stored master scores: they are
     * never replaced. */
    rc = la == lb && memcmp(pa, pb, la) == 0 ? 0 : -EEXIST;
out:
    free(pa);
    free(pb);
    coachq__v1__calibration_reference__free_unpacked(old, NULL);
    return rc;
}

int certs_reference_get(struct store_txn *t, const uint8_t id[16],
                        Coachq__V1__CalibrationReference **out)
{
    if (out == NULL) {
        return -EINVAL;
    }
    *out = NULL;
    if (id == NULL) {
        return -EINVAL;
    }
    return store_txn_get_msg(t, t->s->dbi_refs, id, KEYS_UUID_LEN,
                             &coachq__v1__calibration_reference__descriptor,
                             (ProtobufCMessage **)out);
}

struct certs_ref_walk {
    certs_reference_cb cb;
    void *arg;
};

static int certs_ref_walk_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                             void *arg)
{
    struct certs_ref_walk *w = arg;
    Coachq__V1__CalibrationReference *r;
    int rc;

    (void)key;
    (void)klen;
    r = coachq__v1__calibration_reference__unpack(NULL, vlen, val);
    if (r == NULL) {
        return -EIO;
    }
    rc = w->cb(r, w->arg);
    coachq__v1__calibration_reference__free_unpacked(r, NULL);
    return rc;
}

int certs_references(struct store_txn *t, certs_reference_cb cb, void *arg)
{
    struct certs_ref_walk w;

    if (cb == NULL) {
        return -EINVAL;
    }
    w.cb = cb;
    w.arg = arg;
    return store_txn_scan(t, t->s->dbi_refs, NULL, 0, 0, certs_ref_walk_cb, &w);
}

/* ---- Calibration ------------------------------------------------------- */

/* One scored reference: its id and the observer's latest attempt. */
struct certs_attempt {
    uint8_t ref[KEYS_UUID_LEN];
    uint8_t obs[KEYS_UUID_LEN];
};

/* The observer's attempts, read from dbi_attempts before anything else is
 * looked up, so that no other read runs while the scan's cursor is open. */
struct certs_attempts {
    size_t plen; /* length of the observer's prefix */
    struct certs_attempt *v;
    size_t n;
    size_t cap;
};

static int certs_attempts_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                             void *arg)
{
    struct certs_attempts *a = arg;

    if (klen != a->plen + KEYS_UUID_LEN || vlen != KEYS_UUID_LEN) {
        return -EIO;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap == 0 ? 8 : a->cap * 2;
        struct certs_attempt *grown;

        if (a->n >= CERTS_MAX_ATTEMPTS) {
            return -E2BIG;
        }
        if (cap > CERTS_MAX_ATTEMPTS) {
            cap = CERTS_MAX_ATTEMPTS;
        }
        grown = realloc(a->v, cap * sizeof(*grown));
        if (grown == NULL) {
            return -ENOMEM;
        }
        a->v = grown;
        a->cap = cap;
    }
    memcpy(a->v[a->n].ref, key + a->plen, KEYS_UUID_LEN);
    memcpy(a->v[a->n].obs, val, KEYS_UUID_LEN);
    a->n++;
    return 0;
}

/* Rating pairs on the 1..4 scale: master[i] against the observer's
 * observer[i]. */
struct certs_pairs {
    int *master;
    int *observer;
    size_t n;
    size_t cap;
};

static int certs_pairs_add(struct certs_pairs *p, int master, int observer)
{
    if (p->n == p->cap) {
        size_t cap = p->cap == 0 ? 32 : p->cap * 2;
        int *m;
        int *o;

        if (p->n >= CERTS_MAX_PAIRS) {
            return -E2BIG;
        }
        if (cap > CERTS_MAX_PAIRS) {
            cap = CERTS_MAX_PAIRS;
        }
        m = realloc(p->master, cap * sizeof(*m));
        if (m == NULL) {
            return -ENOMEM;
        }
        p->master = m;
        o = realloc(p->observer, cap * sizeof(*o));
        if (o == NULL) {
            return -ENOMEM;
        }
        p->observer = o;
        p->cap = cap;
    }
    p->master[p->n] = master;
    p->observer[p->n] = observer;
    p->n++;
    return 0;
}

/* True for a rating with a score on the scale (not N/A, not missing). */
static int certs_scored(const Coachq__V1__Rating *r)
{
    return r != NULL && !r->not_applicable && r->score >= CERTS_SCORE_LO &&
           r->score <= CERTS_SCORE_HI;
}

/* Adds the pairs of one attempt: each master rating against the attempt's
 * rating of the same behaviour. Not applicable on either side means the
 * session gave no occasion to agree or disagree, so such a pair (like a
 * missing rating) does not count. */
static int certs_pair_up(struct certs_pairs *p, const Coachq__V1__CalibrationReference *ref,
                         const Coachq__V1__Observation *obs)
{
    for (size_t i = 0; i < ref->n_master; i++) {
        const Coachq__V1__Rating *m = ref->master[i];
        const Coachq__V1__Rating *o = NULL;
        int rc;

        if (!certs_scored(m)) {
            continue;
        }
        for (size_t j = 0; j < obs->n_ratings && o == NULL; j++) {
            if (certs_streq(obs->ratings[j]->behaviour_id, m->behaviour_id)) {
                o = obs->ratings[j];
            }
        }
        if (!certs_scored(o)) {
            continue;
        }
        rc = certs_pairs_add(p, (int)m->score, (int)o->score);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/* True if every one of the n scores is the same category. */
int certs_one_category(const int *scores, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (scores[i] != scores[0]) {
            return 0;
        }
    }
    return n > 0;
}

/*
 * Compares the agreement with the policy. Fills reason (len bytes) with
 * what fell short, in words for a lead, and with how kappa was used when it
 * is undefined. Returns 1 when it passed.
 *
 * Kappa is undefined when the master scores compared all lie in one
 * category: 0/0 when the observer's do too, and 0 by construction however
 * close they come otherwise. The rule for that case (observer.md,
 * "Calibration"): kappa does not count, exact agreement alone decides, and
 * the reason says so.
 */
int certs_judge(const struct store_policy *p, const struct stats_agreement *ag, char *reason,
                size_t len)
{
    char got[16];
    char need[16];
    int passed = 1;

    reason[0] = '\0';
    if (ag->n == 0) {
        certs_say(reason, len,
                  "no rating pairs compared; %u needed \xe2\x80\x94 score a reference session of "
                  "this rubric",
                  p->cert_min_pairs > 0 ? p->cert_min_pairs : 1u);
        return 0;
    }
    if (ag->n < p->cert_min_pairs) {
        certs_say(reason, len,
                  "only %zu rating pair%s compared; %u needed \xe2\x80\x94 score another "
                  "reference session",
                  ag->n, ag->n == 1 ? "" : "s", p->cert_min_pairs);
        passed = 0;
    }
    if (ag->exact + CERTS_EPS < p->cert_exact) {
        certs_say(reason, len, "exact agreement %s is below the %s required",
                  certs_pct(ag->exact, got, sizeof(got)),
                  certs_pct(p->cert_exact, need, sizeof(need)));
        passed = 0;
    }
    if (ag->kappa_defined && ag->kappa + CERTS_EPS < p->cert_kappa) {
        certs_say(reason, len, "weighted kappa %.2f is below %.2f",
                  certs_display(ag->kappa * 100.0, 1.0) / 100.0, p->cert_kappa);
        passed = 0;
    } else if (!ag->kappa_defined) {
        certs_say(reason, len,
                  "weighted kappa is undefined (the master scores compared all use one "
                  "category), so exact agreement alone decided");
    }
    return passed;
}

/* Grants a certification from day after a passed calibration and writes
 * its audit entry. */
static int certs_grant(struct store_txn *t, const char *observer, const char *rubric, int32_t day,
                       int64_t at_ms, const struct store_policy *policy,
                       const struct stats_agreement *ag)
{
    Coachq__V1__Certification c = COACHQ__V1__CERTIFICATION__INIT;
    int64_t until = (int64_t)day + policy->cert_days - 1;
    char subject[2 * KEYS_ID_MAX + 8];
    char detail[160];
    char ds[32];
    int rc;

    /* protobuf-c's fields are not const; pack only reads them. */
    c.observer_id = (char *)observer;
    c.rubric_id = (char *)rubric;
    c.valid_from_day = day;
    c.valid_until_day = until > INT32_MAX ? INT32_MAX : (int32_t)until;
    c.granted_by = (char *)"calibration";
    c.exact = ag->exact;
    c.within_one = ag->within_one;
    c.kappa = ag->kappa_defined ? ag->kappa : NAN;
    c.kappa_undefined = !ag->kappa_defined;
    c.n = (uint32_t)ag->n;
    c.granted_at_ms = at_ms;
    rc = certs_put(t, &c);
    if (rc != 0) {
        return rc;
    }
    snprintf(subject, sizeof(subject), "%s/%s", observer, rubric);
    if (ag->kappa_defined) {
        snprintf(detail, sizeof(detail), "by calibration: exact=%.2f, kappa=%.2f, until %s",
                 ag->exact, ag->kappa, certs_day_str(c.valid_until_day, ds, sizeof(ds)));
    } else {
        snprintf(detail, sizeof(detail),
                 "by calibration: exact=%.2f, kappa undefined (one category; exact agreement "
                 "decided), until %s",
                 ag->exact, certs_day_str(c.valid_until_day, ds, sizeof(ds)));
    }
    return audit_append(t, at_ms, observer, "cert.grant", subject, detail, "calibration", NULL);
}

/* Checks that obs_id is observer's attempt at ref_id, so that the attempts
 * table never points at somebody else's record. */
static int certs_check_attempt(struct store_txn *t, const char *observer, const uint8_t ref_id[16],
                               const uint8_t obs_id[16])
{
    Coachq__V1__StoredObservation *rec = NULL;
    int rc;

    rc = store_get_txn(t, obs_id, &rec);
    if (rc != 0) {
        return rc;
    }
    if (rec->observation == NULL || !certs_streq(rec->observer_id, observer) ||
        rec->observation->calibration_ref.len != KEYS_UUID_LEN ||
        memcmp(rec->observation->calibration_ref.data, ref_id, KEYS_UUID_LEN) != 0) {
        rc = -EINVAL;
    }
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc;
}

/*
 * Adds the pairs of the observer's latest attempt at one reference if that
 * reference is of rubric. *sessions counts the references compared.
 */
static int certs_add_attempt(struct store_txn *t, const struct certs_attempt *a,
                             const Coachq__V1__CalibrationReference *current, const char *rubric,
                             struct certs_pairs *pairs, uint32_t *sessions)
{
    Coachq__V1__CalibrationReference *other = NULL;
    const Coachq__V1__CalibrationReference *ref = current;
    Coachq__V1__StoredObservation *rec = NULL;
    char idstr[UUID_STR_LEN];
    int rc;

    if (memcmp(a->ref, current->id.data, KEYS_UUID_LEN) != 0) {
        rc = certs_reference_get(t, a->ref, &other);
        if (rc == -ENOENT) {
            /* References are never deleted either: damage again, and the
             * other references still count. */
            log_event(LOG_WARN, "certs_reference_missing", "reference=%s",
                      uuid_format(a->ref, idstr));
            rc = 0;
            goto out;
        }
        if (rc != 0) {
            goto out;
        }
        ref = other;
    }
    if (!certs_streq(ref->rubric_id, rubric)) {
        rc = 0;
        goto out;
    }
    rc = store_get_txn(t, a->obs, &rec);
    if (rc == -ENOENT) {
        /* Records are never deleted, so this is damage; the observer's
         * other references still count. */
        log_event(LOG_WARN, "certs_attempt_missing", "attempt=%s", uuid_format(a->obs, idstr));
        rc = 0;
        goto out;
    }
    if (rc != 0) {
        goto out;
    }
    if (rec->observation == NULL) {
        rc = -EIO;
        goto out;
    }
    (*sessions)++;
    rc = certs_pair_up(pairs, ref, rec->observation);
out:
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    coachq__v1__calibration_reference__free_unpacked(other, NULL);
    return rc;
}

/*
 * Records obs_id as the observer's latest attempt at the reference ref_id
 * (ref), replacing an earlier one, then pairs the master's scores with the
 * observer's over every latest attempt of the observer's (certs_add_attempt())
 * and measures their agreement into *ag (left as it is without pairs) and
 * the sessions paired into *sessions. k holds the observer's id key, which
 * this extends. Returns 0 or a negative code.
 */
static int certs_agreement(struct store_txn *t, struct keys_buf *k, const uint8_t ref_id[16],
                           const uint8_t obs_id[16], const Coachq__V1__CalibrationReference *ref,
                           struct stats_agreement *ag, uint32_t *sessions)
{
    struct certs_attempts att;
    struct certs_pairs pairs;
    int rc;

    memset(&att, 0, sizeof(att));
    memset(&pairs, 0, sizeof(pairs));
    att.plen = k->len;
    /* The latest attempt replaces an earlier one at the same reference. */
    keys_buf_raw(k, ref_id, KEYS_UUID_LEN);
    rc = k->err != 0
             ? -EINVAL
             : store_txn_put_raw(t, t->s->dbi_attempts, k->b, k->len, obs_id, KEYS_UUID_LEN, NULL);
    if (rc != 0) {
        goto out;
    }
    rc = store_txn_scan(t, t->s->dbi_attempts, k->b, att.plen, 0, certs_attempts_cb, &att);
    if (rc != 0) {
        goto out;
    }
    for (size_t i = 0; i < att.n; i++) {
        rc = certs_add_attempt(t, &att.v[i], ref, ref->rubric_id, &pairs, sessions);
        if (rc != 0) {
            goto out;
        }
    }
    if (pairs.n > 0) {
        rc = stats_agreement(pairs.master, pairs.observer, pairs.n, CERTS_SCORE_LO, CERTS_SCORE_HI,
                             ag);
        if (rc != 0) {
            goto out;
        }
        if (certs_one_category(pairs.master, pairs.n)) {
            /* Master scores in one category leave kappa 0/0 when the
             * observer agrees, and 0 by construction whenever they do
             * not, however close: it measures nothing, so it is treated
             * as undefined (certs_judge()). */
            ag->kappa = NAN;
            ag->kappa_defined = 0;
        }
    }
out:
    free(att.v);
    free(pairs.master);
    free(pairs.observer);
    return rc;
}

/* Hands a copy of res to the caller (free with
 * coachq__v1__calibration_result__free_unpacked()). */
static int certs_result_copy(const Coachq__V1__CalibrationResult *res,
                             Coachq__V1__CalibrationResult **out)
{
    size_t n = coachq__v1__calibration_result__get_packed_size(res);
    uint8_t *buf = malloc(n > 0 ? n : 1);

    if (buf == NULL) {
        return -ENOMEM;
    }
    coachq__v1__calibration_result__pack(res, buf);
    *out = coachq__v1__calibration_result__unpack(NULL, n, buf);
    free(buf);
    return *out != NULL ? 0 : -ENOMEM;
}

int certs_calibrate(struct store_txn *t, const char *observer, const uint8_t ref_id[16],
                    const uint8_t obs_id[16], int64_t at_ms, const struct store_policy *policy,
                    Coachq__V1__CalibrationResult **result)
{
    Coachq__V1__CalibrationReference *ref = NULL;
    Coachq__V1__Certification *holds = NULL;
    Coachq__V1__CalibrationResult res = COACHQ__V1__CALIBRATION_RESULT__INIT;
    struct stats_agreement ag;
    struct certs_exam exam;
    struct keys_buf k;
    char reason[CERTS_REASON_MAX];
    uint32_t sessions = 0;
    int32_t day;
    int rc;

    memset(&ag, 0, sizeof(ag));
    if (result != NULL) {
        *result = NULL;
    }
    if (observer == NULL || ref_id == NULL || obs_id == NULL || policy == NULL ||
        policy->cert_days < 1) {
        return -EINVAL;
    }
    keys_buf_reset(&k);
    keys_buf_id(&k, observer);
    if (k.err != 0) {
        return -EINVAL;
    }
    rc = certs_reference_get(t, ref_id, &ref);
    if (rc != 0) {
        goto out;
    }
    rc = certs_check_attempt(t, observer, ref_id, obs_id);
    if (rc != 0) {
        goto out;
    }
    rc = certs_agreement(t, &k, ref_id, obs_id, ref, &ag, &sessions);
    if (rc != 0) {
        goto out;
    }
    rc = certs_exam_state(t, observer, ref_id, at_ms, policy, &exam);
    if (rc != 0) {
        goto out;
    }
    res.observer_id = (char *)observer;
    res.rubric_id = ref->rubric_id;
    res.n = (uint32_t)ag.n;
    res.sessions = sessions;
    res.exact = ag.exact;
    res.within_one = ag.within_one;
    res.kappa = ag.n > 0 && ag.kappa_defined ? ag.kappa : (ag.n > 0 ? NAN : 0);
    res.kappa_undefined = ag.n > 0 && !ag.kappa_defined;
    res.passed = certs_judge(policy, &ag, reason, sizeof(reason));
    /* protobuf-c's field is not const; pack only reads it. */
    res.reference_id.data = (uint8_t *)ref_id;
    res.reference_id.len = KEYS_UUID_LEN;
    res.attempt = exam.in_window;
    res.attempts_allowed = policy->cert_attempts;
    res.at_ms = at_ms;
    res.reason = reason;
    keys_buf_reset(&k);
    keys_buf_id(&k, observer);
    keys_buf_id(&k, ref->rubric_id);
    keys_buf_time(&k, at_ms);
    rc = k.err != 0 ? -EINVAL : store_txn_put_msg(t, t->s->dbi_calres, k.b, k.len, &res.base, NULL);
    if (rc != 0) {
        goto out;
    }

    if (res.passed) {
        /* The day the observer passed, in their own zone. */
        rc = zone_day_of(t, observer, at_ms / 1000, &day);
        if (rc != 0) {
            goto out;
        }
        rc = certs_valid_on(t, observer, ref->rubric_id, day, &holds, NULL);
        if (rc == -ENOENT) {
            rc = certs_grant(t, observer, ref->rubric_id, day, at_ms, policy, &ag);
        }
        if (rc != 0) {
            goto out;
        }
    }
    if (result != NULL) {
        rc = certs_result_copy(&res, result);
    }
out:
    coachq__v1__certification__free_unpacked(holds, NULL);
    coachq__v1__calibration_reference__free_unpacked(ref, NULL);
    return rc;
}

/* ---- The exam's limits --------------------------------------------------- */

#define CERTS_DAY_MS ((int64_t)86400 * 1000)

/* Writes a time as "2026-12-06 09:00 UTC" into out. Returns out. */
static const char *certs_time_str(int64_t ms, char *out, size_t len)
{
    day_format_minute(ms, out, len);
    return out;
}

/* The key prefix id(observer) + uuid(ref) of the attempt log. */
static int certs_log_prefix(struct keys_buf *k, const char *observer, const uint8_t ref_id[16])
{
    keys_buf_reset(k);
    keys_buf_id(k, observer);
    keys_buf_raw(k, ref_id, KEYS_UUID_LEN);
    return k->err != 0 ? -EINVAL : 0;
}

int certs_exam_log(struct store_txn *t, const char *observer, const uint8_t ref_id[16],
                   const uint8_t obs_id[16], int64_t at_ms)
{
    struct keys_buf k;
    int rc;

    if (observer == NULL || ref_id == NULL || obs_id == NULL) {
        return -EINVAL;
    }
    rc = certs_log_prefix(&k, observer, ref_id);
    if (rc != 0) {
        return rc;
    }
    keys_buf_time(&k, at_ms);
    if (k.err != 0) {
        return -EINVAL;
    }
    return store_txn_put_raw(t, t->s->dbi_callog, k.b, k.len, obs_id, KEYS_UUID_LEN, NULL);
}

/* Walks one reference's attempts newest first, until the window is left. */
struct certs_exam_walk {
    size_t plen;
    int64_t window_start; /* attempts after this count */
    struct certs_exam *e;
    int64_t nth; /* the allowed-th newest attempt in the window */
};

static int certs_exam_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct certs_exam_walk *w = arg;
    int64_t at;

    (void)val;
    (void)vlen;
    if (klen != w->plen + KEYS_TIME_LEN) {
        return -EIO;
    }
    at = keys_time_decode(key + w->plen);
    if (w->e->last_ms == 0) {
        w->e->last_ms = at;
    }
    if (at <= w->window_start) {
        return 1;
    }
    w->e->in_window++;
    if (w->e->allowed > 0 && w->e->in_window == w->e->allowed) {
        w->nth = at;
    }
    return 0;
}

int certs_exam_state(struct store_txn *t, const char *observer, const uint8_t ref_id[16],
                     int64_t now_ms, const struct store_policy *policy, struct certs_exam *out)
{
    struct certs_exam_walk w;
    struct keys_buf k;
    int64_t next = 0;
    int rc;

    if (out == NULL || policy == NULL) {
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    out->allowed = policy->cert_attempts;
    rc = certs_log_prefix(&k, observer, ref_id);
    if (rc != 0) {
        return rc;
    }
    memset(&w, 0, sizeof(w));
    w.plen = k.len;
    w.e = out;
    w.window_start =
        now_ms -
        (int64_t)(policy->cert_window_days > 0 ? policy->cert_window_days : 1) * CERTS_DAY_MS;
    rc = store_txn_scan(t, t->s->dbi_callog, k.b, k.len, 1, certs_exam_cb, &w);
    if (rc != 0) {
        return rc;
    }
    if (out->allowed > 0 && out->in_window >= out->allowed) {
        /* The allowed-th newest attempt must leave the window first. */
        next = w.nth + (now_ms - w.window_start);
    }
    if (out->last_ms != 0 && out->last_ms + policy->cert_cooldown_s * 1000 > next &&
        out->last_ms + policy->cert_cooldown_s * 1000 > now_ms) {
        next = out->last_ms + policy->cert_cooldown_s * 1000;
        out->cooling = 1;
    }
    out->next_ms = next > now_ms ? next : 0;
    if (out->next_ms == 0) {
        out->cooling = 0;
    }
    return 0;
}

/* One logged attempt, for the lead's summary. */
struct certs_logged {
    uint8_t ref[KEYS_UUID_LEN];
    uint8_t obs[KEYS_UUID_LEN];
    int64_t at;
};

struct certs_log_read {
    size_t plen;
    int64_t since;
    int64_t until;
    struct certs_logged *v;
    size_t n;
};

static int certs_log_read_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                             void *arg)
{
    struct certs_log_read *r = arg;
    int64_t at;

    if (klen != r->plen + KEYS_UUID_LEN + KEYS_TIME_LEN || vlen != KEYS_UUID_LEN) {
        return -EIO;
    }
    at = keys_time_decode(key + r->plen + KEYS_UUID_LEN);
    if (at < r->since || at >= r->until) {
        return 0;
    }
    if (r->n == CERTS_EXAM_MAX_READ) {
        return 1;
    }
    memcpy(r->v[r->n].ref, key + r->plen, KEYS_UUID_LEN);
    memcpy(r->v[r->n].obs, val, KEYS_UUID_LEN);
    r->v[r->n].at = at;
    r->n++;
    return 0;
}

/* The number of behaviours whose rating (score or not applicable) differs
 * between two attempts; a behaviour rated in one only counts too. */
static size_t certs_ratings_differ(const Coachq__V1__Observation *a,
                                   const Coachq__V1__Observation *b)
{
    size_t differ = 0;

    for (size_t i = 0; i < a->n_ratings; i++) {
        const Coachq__V1__Rating *ra = a->ratings[i];
        const Coachq__V1__Rating *rb = NULL;

        for (size_t j = 0; j < b->n_ratings && rb == NULL; j++) {
            if (certs_streq(b->ratings[j]->behaviour_id, ra->behaviour_id)) {
                rb = b->ratings[j];
            }
        }
        if (rb == NULL || rb->score != ra->score || rb->not_applicable != ra->not_applicable) {
            differ++;
        }
    }
    for (size_t j = 0; j < b->n_ratings; j++) {
        int found = 0;

        for (size_t i = 0; i < a->n_ratings && !found; i++) {
            found = certs_streq(a->ratings[i]->behaviour_id, b->ratings[j]->behaviour_id);
        }
        differ += !found;
    }
    return differ;
}

int certs_exam_summary(struct store_txn *t, const char *observer, int64_t since_ms,
                       int64_t until_ms, const struct store_policy *policy,
                       struct certs_exam_summary *out)
{
    Coachq__V1__StoredObservation *prev = NULL;
    Coachq__V1__StoredObservation *cur = NULL;
    struct certs_log_read r;
    struct keys_buf k;
    int64_t window_ms;
    int rc;

    if (out == NULL || policy == NULL || observer == NULL) {
        return -EINVAL;
    }
    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    keys_buf_reset(&k);
    keys_buf_id(&k, observer);
    if (k.err != 0) {
        return 0;
    }
    r.plen = k.len;
    r.since = since_ms;
    r.until = until_ms;
    r.v = malloc(CERTS_EXAM_MAX_READ * sizeof(*r.v));
    if (r.v == NULL) {
        return -ENOMEM;
    }
    /* Keys run by reference, then time: each reference's attempts are
     * together and oldest first. */
    rc = store_txn_scan(t, t->s->dbi_callog, k.b, k.len, 0, certs_log_read_cb, &r);
    if (rc != 0) {
        goto out;
    }
    window_ms =
        (int64_t)(policy->cert_window_days > 0 ? policy->cert_window_days : 1) * CERTS_DAY_MS;
    out->attempts = (unsigned)r.n;
    for (size_t i = 0; i < r.n; i++) {
        int same_ref = i > 0 && memcmp(r.v[i].ref, r.v[i - 1].ref, KEYS_UUID_LEN) == 0;

        if (!same_ref && policy->cert_attempts > 0) {
            /* A reference counts once if any allowed-many of its attempts
             * fall within one window. */
            size_t end = i;
            size_t span = policy->cert_attempts - 1;

            while (end < r.n && memcmp(r.v[end].ref, r.v[i].ref, KEYS_UUID_LEN) == 0) {
                end++;
            }
            for (size_t j = i; j + span < end; j++) {
                if (r.v[j + span].at - r.v[j].at < window_ms) {
                    out->limit_reached++;
                    break;
                }
            }
        }
        rc = store_get_txn(t, r.v[i].obs, &cur);
        if (rc == -ENOENT) {
            rc = 0;
            same_ref = 0;
        }
        if (rc != 0) {
            goto out;
        }
        if (same_ref && prev != NULL && cur != NULL && prev->observation != NULL &&
            cur->observation != NULL &&
            certs_ratings_differ(prev->observation, cur->observation) == 1) {
            out->one_varied++;
        }
        coachq__v1__stored_observation__free_unpacked(prev, NULL);
        prev = cur;
        cur = NULL;
    }
out:
    coachq__v1__stored_observation__free_unpacked(prev, NULL);
    coachq__v1__stored_observation__free_unpacked(cur, NULL);
    free(r.v);
    return rc;
}

void certs_withhold_cert(Coachq__V1__Certification *c)
{
    if (c == NULL) {
        return;
    }
    c->exact = 0;
    c->within_one = 0;
    c->kappa = 0;
    c->n = 0;
    c->kappa_undefined = 0;
    c->figures_withheld = 1;
}

int certs_withhold_result(struct store_txn *t, Coachq__V1__CalibrationResult *r, int64_t now_ms,
                          const struct store_policy *policy)
{
    struct certs_exam e;
    char words[CERTS_REASON_MAX];
    char when[40];
    char *copy;
    int rc;

    if (r == NULL || policy == NULL) {
        return -EINVAL;
    }
    r->n = 0;
    r->exact = 0;
    r->within_one = 0;
    r->kappa = 0;
    r->kappa_undefined = 0;
    r->figures_withheld = 1;
    words[0] = '\0';
    certs_say(words, sizeof(words), "%s",
              r->passed ? "passed: your agreement with the master scores meets what "
                          "certification requires"
                        : "not passed: your agreement with the master scores is below what "
                          "certification requires; ask your enablement lead for feedback");
    if (r->reference_id.len == KEYS_UUID_LEN && r->observer_id != NULL) {
        rc = certs_exam_state(t, r->observer_id, r->reference_id.data, now_ms, policy, &e);
        if (rc != 0) {
            return rc;
        }
        r->next_attempt_ms = e.next_ms;
        if (r->attempt > 0 && r->attempts_allowed > 0) {
            certs_say(words, sizeof(words), "attempt %u of %u at this reference session in %d days",
                      (unsigned)r->attempt, (unsigned)r->attempts_allowed,
                      policy->cert_window_days);
        }
        if (e.next_ms != 0) {
            certs_say(words, sizeof(words), "next attempt at this reference possible from %s",
                      certs_time_str(e.next_ms, when, sizeof(when)));
        }
    }
    copy = malloc(strlen(words) + 1);
    if (copy == NULL) {
        return -ENOMEM;
    }
    memcpy(copy, words, strlen(words) + 1);
    /* Results handed out by certs_results() are unpacked messages, whose
     * strings protobuf-c frees with the allocator it was given (malloc),
     * unless a string is the shared empty default. */
    if (r->reason != protobuf_c_empty_string) {
        free(r->reason);
    }
    r->reason = copy;
    return 0;
}

/* ---- Calibration results ---------------------------------------------- */

/* One result's key, kept while a listing sorts them by time. */
struct certs_res_entry {
    int64_t at_ms;
    size_t off; /* into the key arena */
    size_t len;
};

struct certs_res_keys {
    struct certs_res_entry *v;
    size_t n;
    size_t cap;
    uint8_t *arena;
    size_t used;
    size_t arena_cap;
};

static int certs_res_keys_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                             void *arg)
{
    struct certs_res_keys *r = arg;

    (void)val;
    (void)vlen;
    if (klen < KEYS_TIME_LEN || klen > KEYS_BUF_MAX) {
        return -EIO;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap == 0 ? 16 : r->cap * 2;
        struct certs_res_entry *grown;

        if (r->n >= CERTS_MAX_RESULTS) {
            return -E2BIG;
        }
        grown = realloc(r->v, cap * sizeof(*grown));
        if (grown == NULL) {
            return -ENOMEM;
        }
        r->v = grown;
        r->cap = cap;
    }
    if (klen > r->arena_cap - r->used) {
        size_t cap = r->arena_cap == 0 ? 1024 : r->arena_cap * 2;
        uint8_t *grown;

        while (cap - r->used < klen) {
            cap *= 2;
        }
        grown = realloc(r->arena, cap);
        if (grown == NULL) {
            return -ENOMEM;
        }
        r->arena = grown;
        r->arena_cap = cap;
    }
    memcpy(r->arena + r->used, key, klen);
    r->v[r->n].at_ms = keys_time_decode(key + klen - KEYS_TIME_LEN);
    r->v[r->n].off = r->used;
    r->v[r->n].len = klen;
    r->used += klen;
    r->n++;
    return 0;
}

/* qsort's comparison takes no context, so each sorted entry carries the
 * arena its key lies in. */
struct certs_res_sort {
    struct certs_res_entry e;
    const uint8_t *arena;
};

static int certs_res_cmp(const void *pa, const void *pb)
{
    const struct certs_res_sort *a = pa;
    const struct certs_res_sort *b = pb;

    if (a->e.at_ms != b->e.at_ms) {
        return a->e.at_ms < b->e.at_ms ? -1 : 1;
    }
    /* Same time: key order (observer, then rubric), as stored. */
    return keys_compare(a->arena + a->e.off, a->e.len, b->arena + b->e.off, b->e.len);
}

int certs_results(struct store_txn *t, const char *observer, certs_result_cb cb, void *arg)
{
    Coachq__V1__CalibrationResult *res = NULL;
    struct certs_res_sort *sorted = NULL;
    struct certs_res_keys r;
    struct keys_buf k;
    int rc;

    if (cb == NULL) {
        return -EINVAL;
    }
    memset(&r, 0, sizeof(r));
    keys_buf_reset(&k);
    if (observer != NULL) {
        keys_buf_id(&k, observer);
        if (k.err != 0) {
            /* An id that makes no key has no results. */
            return 0;
        }
    }
    /* Keys run by rubric before time; the listing is by time across
     * rubrics (and observers), so collect the keys and sort them. */
    rc = store_txn_scan(t, t->s->dbi_calres, k.b, k.len, 0, certs_res_keys_cb, &r);
    if (rc != 0 || r.n == 0) {
        goto out;
    }
    sorted = malloc(r.n * sizeof(*sorted));
    if (sorted == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < r.n; i++) {
        sorted[i].e = r.v[i];
        sorted[i].arena = r.arena;
    }
    qsort(sorted, r.n, sizeof(*sorted), certs_res_cmp);
    for (size_t i = 0; i < r.n; i++) {
        rc = store_txn_get_msg(t, t->s->dbi_calres, r.arena + sorted[i].e.off, sorted[i].e.len,
                               &coachq__v1__calibration_result__descriptor,
                               (ProtobufCMessage **)&res);
        if (rc != 0) {
            goto out;
        }
        rc = cb(res, arg);
        coachq__v1__calibration_result__free_unpacked(res, NULL);
        res = NULL;
        if (rc != 0) {
            /* 1 stops the listing without an error. */
            rc = rc == 1 ? 0 : rc;
            goto out;
        }
    }
out:
    free(sorted);
    free(r.v);
    free(r.arena);
    return rc;
}
