/*
 * assign_fulfil: what decides whether an observation may fulfil an
 * assignment besides its window and names (assign.h): the coach's "today",
 * the observer's certification on the session's day, and one slot per
 * session (a double-coded session fulfils one assignment of a plan and
 * manager, not two).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "assign.h"
#include "assign_int.h"
#include "certs.h"
#include "obs.h"
#include "store_int.h"
#include "zone.h"

size_t asg_implicit_key(const char *observer, const Coachq__V1__Observation *o, int amendment,
                        uint8_t key[ASG_OPEN_KEY_MAX])
{
    if (amendment || o->calibration_ref.len != 0 || !asg_id_ok(observer) ||
        !asg_id_ok(o->coach_id) || o->rubric_id == NULL) {
        return 0;
    }
    return asg_open_key(key, observer, o->coach_id, 0, NULL);
}

static int candidate_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    (void)key;
    (void)klen;
    (void)val;
    (void)vlen;
    *(int *)arg = 1;
    return 1;
}

int assign_match_candidate(struct store_txn *t, const char *observer,
                           const Coachq__V1__Observation *o, int amendment, int *maybe)
{
    uint8_t key[ASG_OPEN_KEY_MAX];
    MDB_stat st;
    size_t klen;
    int rc;

    *maybe = 0;
    if (o->assignment_id.len != 0) {
        *maybe = 1;
        return 0;
    }
    klen = asg_implicit_key(observer, o, amendment, key);
    if (klen == 0) {
        return 0;
    }
    rc = mdb_stat(t->txn, t->s->dbi_asg_open, &st);
    if (rc != 0) {
        return STORE_TXN_ABORT(rc);
    }
    if (st.ms_entries == 0) {
        return 0;
    }
    return store_txn_scan(t, t->s->dbi_asg_open, key, klen, 0, candidate_one, maybe);
}

int assign_today(struct store_txn *t, const char *manager, int64_t now_ms, int32_t *day)
{
    int64_t s = now_ms >= 0 ? now_ms / 1000 : -((-now_ms + 999) / 1000);
    int rc = zone_day_of(t, manager, s, day);

    if (rc < 0 && !store_txn_is_abort(rc)) {
        /* As for a session's day: UTC when the zone cannot be read. */
        *day = (int32_t)(s >= 0 ? s / 86400 : -((-s + 86399) / 86400));
        rc = 0;
    }
    return rc;
}

/* Whether done assignment a was fulfilled by o's session (its coach,
 * coachee and start). Returns 0 (then *same) or a store code. */
static int fulfil_same_session(struct store_txn *t, const Coachq__V1__Assignment *a,
                               const Coachq__V1__Observation *o, int *same)
{
    Coachq__V1__StoredObservation *rec = NULL;
    const Coachq__V1__Observation *d;
    int rc;

    *same = 0;
    if (a->observation_id.len != 16) {
        return 0;
    }
    rc = store_get_txn(t, a->observation_id.data, &rec);
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc < 0) {
        return rc;
    }
    d = rec->observation;
    *same = d != NULL && d->started_at == o->started_at && d->coach_id != NULL &&
            o->coach_id != NULL && strcmp(d->coach_id, o->coach_id) == 0 && d->coachee_id != NULL &&
            o->coachee_id != NULL && strcmp(d->coachee_id, o->coachee_id) == 0;
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return 0;
}

int assign_match_may(struct store_txn *t, const Coachq__V1__Assignment *a, const char *observer,
                     const Coachq__V1__Observation *o, int32_t session_day, char *why,
                     size_t whylen)
{
    Coachq__V1__Certification *c = NULL;
    Coachq__V1__Assignment **l = NULL;
    size_t n = 0;
    int truncated = 0, same = 0;
    int rc;

    why[0] = '\0';
    rc = certs_valid_on(t, observer, a->rubric_id, session_day, &c, NULL);
    coachq__v1__certification__free_unpacked(c, NULL);
    if (rc == -ENOENT) {
        snprintf(why, whylen, "'%s' holds no certification for rubric '%s' on the session's day",
                 observer, a->rubric_id);
        return 0;
    }
    if (rc < 0) {
        return rc;
    }
    rc = assign_list_manager(t, a->manager_id, a->due_from_day, 0, &l, &n, &truncated);
    for (size_t i = 0; rc == 0 && !same && i < n; i++) {
        if (l[i]->status == COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE &&
            strcmp(l[i]->plan_scope, a->plan_scope) == 0) {
            rc = fulfil_same_session(t, l[i], o, &same);
        }
    }
    assign_list_free(l, n);
    if (rc == 0 && same) {
        snprintf(why, whylen,
                 "this session already fulfilled an assignment of plan %s for '%s' in the period",
                 a->plan_scope, a->manager_id);
    }
    return rc;
}
