/* certs_cal: calibration in the observer's UI (see certs_cal.h). */
#include "certs_cal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs.h"
#include "certs_int.h"
#include "keys.h"
#include "obs.h"
#include "stats.h"
#include "store_int.h"
#include "validate.h"

#define CAL_SCORE_LO 1
#define CAL_SCORE_HI 4
#define CAL_REASON_MAX 512

int certs_reference_retire(struct store_txn *t, const uint8_t id[16], int64_t at_ms,
                           Coachq__V1__CalibrationReference **out)
{
    Coachq__V1__CalibrationReference *ref = NULL;
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (id == NULL || at_ms <= 0) {
        return -EINVAL;
    }
    if (!t->write) {
        return -EROFS;
    }
    rc = certs_reference_get(t, id, &ref);
    if (rc != 0) {
        return rc;
    }
    if (ref->retired_at_ms == 0) {
        ref->retired_at_ms = at_ms;
        rc = store_txn_put_msg(t, t->s->dbi_refs, id, KEYS_UUID_LEN, &ref->base, NULL);
    }
    if (rc == 0 && out != NULL) {
        *out = ref;
        ref = NULL;
    }
    coachq__v1__calibration_reference__free_unpacked(ref, NULL);
    return rc;
}

/* A walk over one observer's results of one rubric, newest first, for the
 * ones that scored one reference. */
struct cal_find {
    const uint8_t *ref;
    int want_revealed; /* stop at the first revealed one, else at the newest */
    Coachq__V1__CalibrationResult *found;
    uint8_t key[KEYS_BUF_MAX];
    size_t klen;
};

static int cal_find_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct cal_find *f = arg;
    Coachq__V1__CalibrationResult *r;

    if (klen > sizeof(f->key)) {
        return -EIO;
    }
    r = coachq__v1__calibration_result__unpack(NULL, vlen, val);
    if (r == NULL) {
        return -EIO;
    }
    if (r->reference_id.len != KEYS_UUID_LEN ||
        memcmp(r->reference_id.data, f->ref, KEYS_UUID_LEN) != 0 ||
        (f->want_revealed && r->revealed_at_ms == 0)) {
        coachq__v1__calibration_result__free_unpacked(r, NULL);
        return 0;
    }
    f->found = r;
    memcpy(f->key, key, klen);
    f->klen = klen;
    return 1;
}

/* Finds observer's newest result at ref (or, with want_revealed, a revealed
 * one) into f. Returns 0 (f->found NULL when none) or a negative code. */
static int cal_find(struct store_txn *t, const char *observer,
                    const Coachq__V1__CalibrationReference *ref, int want_revealed,
                    struct cal_find *f)
{
    struct keys_buf k;

    memset(f, 0, sizeof(*f));
    f->ref = ref->id.data;
    f->want_revealed = want_revealed;
    keys_buf_reset(&k);
    keys_buf_id(&k, observer);
    keys_buf_id(&k, ref->rubric_id);
    if (k.err != 0) {
        return 0;
    }
    return store_txn_scan(t, t->s->dbi_calres, k.b, k.len, 1, cal_find_cb, f);
}

int certs_ref_spent(struct store_txn *t, const char *observer, const uint8_t ref_id[16], int *spent)
{
    Coachq__V1__CalibrationReference *ref = NULL;
    struct cal_find f;
    int rc;

    *spent = 0;
    if (observer == NULL || ref_id == NULL) {
        return -EINVAL;
    }
    rc = certs_reference_get(t, ref_id, &ref);
    if (rc != 0) {
        return rc;
    }
    rc = cal_find(t, observer, ref, 1, &f);
    *spent = f.found != NULL;
    coachq__v1__calibration_result__free_unpacked(f.found, NULL);
    coachq__v1__calibration_reference__free_unpacked(ref, NULL);
    return rc;
}

struct cal_summaries {
    struct store_txn *t;
    const char *observer;
    int with_retired;
    int64_t now_ms;
    const struct store_policy *policy;
    certs_summary_cb cb;
    void *arg;
};

static int cal_summary_cb(const Coachq__V1__CalibrationReference *r, void *arg)
{
    struct cal_summaries *w = arg;
    Coachq__V1__ReferenceSummary s = COACHQ__V1__REFERENCE_SUMMARY__INIT;
    struct certs_exam e;
    struct cal_find f;
    int rc;

    if (r->retired_at_ms != 0 && !w->with_retired) {
        return 0;
    }
    memset(&e, 0, sizeof(e));
    rc = certs_exam_state(w->t, w->observer, r->id.data, w->now_ms, w->policy, &e);
    if (rc != 0) {
        return rc;
    }
    rc = cal_find(w->t, w->observer, r, 1, &f);
    if (rc != 0) {
        return rc;
    }
    s.spent = f.found != NULL;
    coachq__v1__calibration_result__free_unpacked(f.found, NULL);
    s.id = r->id;
    s.title = r->title;
    s.rubric_id = r->rubric_id;
    s.rubric_version = r->rubric_version;
    s.attempts_used = e.in_window;
    s.attempts_allowed = e.allowed;
    s.next_attempt_ms = e.next_ms;
    s.retired_at_ms = r->retired_at_ms;
    s.recording = r->recording;
    return w->cb(&s, w->arg);
}

int certs_reference_summaries(struct store_txn *t, const char *observer, int with_retired,
                              int64_t now_ms, const struct store_policy *policy,
                              certs_summary_cb cb, void *arg)
{
    struct cal_summaries w = {t, observer, with_retired, now_ms, policy, cb, arg};

    if (observer == NULL || policy == NULL || cb == NULL) {
        return -EINVAL;
    }
    return certs_references(t, cal_summary_cb, &w);
}

/* The observer's rating of behaviour in obs, or NULL. */
static const Coachq__V1__Rating *cal_rating(const Coachq__V1__Observation *obs, const char *id)
{
    for (size_t i = 0; i < obs->n_ratings; i++) {
        if (obs->ratings[i]->behaviour_id != NULL && id != NULL &&
            strcmp(obs->ratings[i]->behaviour_id, id) == 0) {
            return obs->ratings[i];
        }
    }
    return NULL;
}

static int cal_scored(const Coachq__V1__Rating *r)
{
    return r != NULL && !r->not_applicable && r->score >= CAL_SCORE_LO && r->score <= CAL_SCORE_HI;
}

/* Reads the attempt r records: its reference and its observation. */
static int cal_attempt(struct store_txn *t, const Coachq__V1__CalibrationResult *r,
                       Coachq__V1__CalibrationReference **ref, Coachq__V1__StoredObservation **rec)
{
    struct keys_buf k;
    MDB_val v;
    int rc;

    *ref = NULL;
    *rec = NULL;
    if (r->reference_id.len != KEYS_UUID_LEN || r->observer_id == NULL) {
        return -EINVAL;
    }
    keys_buf_reset(&k);
    keys_buf_id(&k, r->observer_id);
    keys_buf_raw(&k, r->reference_id.data, KEYS_UUID_LEN);
    keys_buf_time(&k, r->at_ms);
    if (k.err != 0) {
        return -EINVAL;
    }
    rc = store_txn_get_raw(t, t->s->dbi_callog, k.b, k.len, &v);
    if (rc != 0) {
        return rc;
    }
    if (v.mv_size != KEYS_UUID_LEN) {
        return -EIO;
    }
    rc = store_get_txn(t, v.mv_data, rec);
    if (rc == 0 && (*rec)->observation == NULL) {
        rc = -EIO;
    }
    if (rc == 0) {
        rc = certs_reference_get(t, r->reference_id.data, ref);
    }
    return rc;
}

int certs_attempt_figures(struct store_txn *t, Coachq__V1__CalibrationResult *r,
                          const struct store_policy *policy)
{
    Coachq__V1__CalibrationReference *ref = NULL;
    Coachq__V1__StoredObservation *rec = NULL;
    struct stats_agreement ag;
    int master[VALIDATE_MAX_RATINGS];
    int mine[VALIDATE_MAX_RATINGS];
    char reason[CAL_REASON_MAX];
    size_t n = 0;
    char *copy;
    int rc;

    if (r == NULL || policy == NULL) {
        return -EINVAL;
    }
    rc = cal_attempt(t, r, &ref, &rec);
    if (rc != 0) {
        goto out;
    }
    memset(&ag, 0, sizeof(ag));
    for (size_t i = 0; i < ref->n_master && n < VALIDATE_MAX_RATINGS; i++) {
        const Coachq__V1__Rating *o = cal_rating(rec->observation, ref->master[i]->behaviour_id);

        if (cal_scored(ref->master[i]) && cal_scored(o)) {
            master[n] = (int)ref->master[i]->score;
            mine[n] = (int)o->score;
            n++;
        }
    }
    if (n > 0) {
        rc = stats_agreement(master, mine, n, CAL_SCORE_LO, CAL_SCORE_HI, &ag);
        if (rc != 0) {
            goto out;
        }
        if (certs_one_category(master, n)) {
            ag.kappa = NAN;
            ag.kappa_defined = 0;
        }
    }
    (void)certs_judge(policy, &ag, reason, sizeof(reason));
    r->n = (uint32_t)ag.n;
    r->sessions = 1;
    r->exact = ag.exact;
    r->within_one = ag.within_one;
    r->kappa = ag.n > 0 && ag.kappa_defined ? ag.kappa : (ag.n > 0 ? NAN : 0);
    r->kappa_undefined = ag.n > 0 && !ag.kappa_defined;
    r->figures_withheld = 0;
    copy = malloc(strlen(reason) + 1);
    if (copy == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    memcpy(copy, reason, strlen(reason) + 1);
    if (r->reason != protobuf_c_empty_string) {
        free(r->reason);
    }
    r->reason = copy;
out:
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    coachq__v1__calibration_reference__free_unpacked(ref, NULL);
    return rc;
}

/* Fills the differences of the attempt r records into d (n_master entries,
 * strings borrowed from ref). */
static void cal_differences(const Coachq__V1__CalibrationReference *ref,
                            const Coachq__V1__Observation *obs,
                            Coachq__V1__CalibrationDifference *d,
                            Coachq__V1__CalibrationDifference **dp)
{
    for (size_t i = 0; i < ref->n_master; i++) {
        const Coachq__V1__Rating *m = ref->master[i];
        const Coachq__V1__Rating *o = cal_rating(obs, m->behaviour_id);

        coachq__v1__calibration_difference__init(&d[i]);
        d[i].behaviour_id = m->behaviour_id;
        d[i].master_score = m->not_applicable ? 0 : m->score;
        d[i].master_not_applicable = m->not_applicable;
        if (o != NULL) {
            d[i].score = o->not_applicable ? 0 : o->score;
            d[i].not_applicable = o->not_applicable;
        }
        dp[i] = &d[i];
    }
}

int certs_reveal(struct store_txn *t, const char *observer, const uint8_t ref_id[16],
                 int64_t now_ms, const struct store_policy *policy,
                 Coachq__V1__CalibrationAnswer **out)
{
    Coachq__V1__CalibrationAnswer ans = COACHQ__V1__CALIBRATION_ANSWER__INIT;
    Coachq__V1__CalibrationReference *ref = NULL, *aref = NULL;
    Coachq__V1__StoredObservation *rec = NULL;
    Coachq__V1__CalibrationDifference *d = NULL;
    Coachq__V1__CalibrationDifference **dp = NULL;
    struct cal_find f;
    uint8_t *buf = NULL;
    size_t len;
    int rc;

    *out = NULL;
    memset(&f, 0, sizeof(f));
    if (observer == NULL || ref_id == NULL || policy == NULL) {
        return -EINVAL;
    }
    if (!t->write) {
        return -EROFS;
    }
    rc = certs_reference_get(t, ref_id, &ref);
    if (rc != 0) {
        goto out;
    }
    rc = cal_find(t, observer, ref, 0, &f);
    if (rc != 0) {
        goto out;
    }
    if (f.found == NULL) {
        rc = -ENOENT;
        goto out;
    }
    if (f.found->revealed_at_ms == 0) {
        f.found->revealed_at_ms = now_ms;
        rc = store_txn_put_msg(t, t->s->dbi_calres, f.key, f.klen, &f.found->base, NULL);
        if (rc != 0) {
            goto out;
        }
    }
    rc = cal_attempt(t, f.found, &aref, &rec);
    if (rc == 0) {
        rc = certs_attempt_figures(t, f.found, policy);
    }
    if (rc != 0) {
        goto out;
    }
    d = calloc(ref->n_master > 0 ? ref->n_master : 1, sizeof(*d));
    dp = calloc(ref->n_master > 0 ? ref->n_master : 1, sizeof(*dp));
    if (d == NULL || dp == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    cal_differences(ref, rec->observation, d, dp);
    ans.result = f.found;
    ans.differences = dp;
    ans.n_differences = ref->n_master;
    ans.observer_id = (char *)observer;
    len = coachq__v1__calibration_answer__get_packed_size(&ans);
    buf = malloc(len > 0 ? len : 1);
    if (buf == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    coachq__v1__calibration_answer__pack(&ans, buf);
    *out = coachq__v1__calibration_answer__unpack(NULL, len, buf);
    rc = *out != NULL ? 0 : -ENOMEM;
out:
    free(buf);
    free(d);
    free(dp);
    coachq__v1__calibration_result__free_unpacked(f.found, NULL);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    coachq__v1__calibration_reference__free_unpacked(aref, NULL);
    coachq__v1__calibration_reference__free_unpacked(ref, NULL);
    return rc;
}
