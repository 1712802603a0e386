/*
 * demo_assign: the demo organisation's observation programme (assign.h;
 * docs/programme.md): a coverage plan for the demo programme (every
 * front-line manager observed twice a month by a certified observer, off
 * their own line and off the observer of their last observation, at most
 * six per observer), last month's draw, whose assignments nobody took up
 * and which expired, and this month's draw, a few of which observers then
 * fulfilled by submitting an observation of their assigned manager through
 * the writer and its rules like any other.
 */
#include "demo_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assign.h"
#include "error.h"
#include "obs.h"
#include "people.h"
#include "store.h"

#define DEMO_PLAN_SCOPE "programme:" DEMO_PROGRAMME
/* Assignments of this month that observers fulfil in the demo. */
#define DEMO_FULFILLED 5

static int plan_txn(struct store_txn *t, void *arg)
{
    struct demo *d = arg;
    Coachq__V1__CoveragePlan p = COACHQ__V1__COVERAGE_PLAN__INIT;
    int rc;

    p.scope = DEMO_PLAN_SCOPE;
    p.rubric_id = "coaching-conversation";
    p.per_period = 2;
    p.period = COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_MONTH;
    p.off_own_line = 1;
    p.off_last_observed = 1;
    p.load_cap = 6;
    p.set_at_ms = d->now_ms;
    p.set_by = "local:demo";
    rc = assign_plan_put(t, &p, NULL);
    if (rc == 0) {
        rc = demo_audit(t, d->now_ms, "plan.set", DEMO_PLAN_SCOPE,
                        "2 per month, rubric coaching-conversation, at most 6 per observer, off "
                        "own line, off last observed");
    }
    return rc;
}

struct demo_draw {
    struct demo *d;
    int32_t period_day;
    uint64_t seed;
    struct assign_draw_result res;
    size_t expired;
};

static int draw_txn(struct store_txn *t, void *arg)
{
    struct demo_draw *dd = arg;
    struct assign_draw_req req;

    assign_draw_result_clear(&dd->res);
    memset(&req, 0, sizeof(req));
    req.scope = DEMO_PLAN_SCOPE;
    req.seed = dd->seed;
    req.period_day = dd->period_day;
    req.now_ms = dd->d->now_ms;
    req.actor = "local:demo";
    req.origin = DEMO_ORIGIN;
    if (dd->period_day == dd->d->now_day) {
        /* Last month's assignments expire when this month's are drawn. */
        int rc = assign_expire(t, dd->d->now_ms, &dd->expired);

        if (rc < 0) {
            return rc;
        }
    }
    return assign_draw(t, &req, &dd->res);
}

/* The newest observation by observer, copied into *out (caller frees). */
static int newest_cb(Coachq__V1__StoredObservation *rec, void *arg)
{
    Coachq__V1__StoredObservation **out = arg;

    if (rec->observation == NULL || rec->observation->calibration_ref.len != 0) {
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        return 0;
    }
    *out = rec;
    return 1;
}

struct fulfil_read {
    const char *observer;
    const char *manager;
    int32_t day;
    Coachq__V1__StoredObservation *rec;
    char rep[65];
};

static int first_rep(const char *id, void *arg)
{
    struct fulfil_read *fr = arg;

    snprintf(fr->rep, sizeof(fr->rep), "%s", id);
    return 1;
}

static int fulfil_read_txn(struct store_txn *t, void *arg)
{
    struct fulfil_read *fr = arg;
    int rc =
        store_recent_txn(t, STORE_BY_OBSERVER, fr->observer, INT64_MAX, 50, newest_cb, &fr->rec);

    if (rc == 0) {
        rc = people_reports_at(t, fr->manager, fr->day, first_rep, fr);
    }
    return rc;
}

/* Observes assignment a's manager with one of their reps, scored as the
 * observer scored their newest session, through the writer. Returns 0
 * (stored or refused by the rules: *stored says which) or a store code. */
static int demo_fulfil(struct demo *d, const Coachq__V1__Assignment *a, int *stored)
{
    struct fulfil_read fr;
    Coachq__V1__Observation o;
    struct store_write w;
    struct demo_rng r;
    uint8_t id[16];
    size_t n;
    uint8_t *buf = NULL;
    int rc;

    *stored = 0;
    memset(&fr, 0, sizeof(fr));
    fr.observer = a->observer_id;
    fr.manager = a->manager_id;
    fr.day = d->now_day;
    rc = store_view(d->s, fulfil_read_txn, &fr);
    if (rc != 0 || fr.rec == NULL || fr.rep[0] == '\0') {
        goto out;
    }
    o = *fr.rec->observation;
    demo_fork(&r, d->seed, 0x61737367, a->id.data[15]);
    demo_uuid(&r, id);
    o.id.data = id;
    o.id.len = 16;
    o.coach_id = a->manager_id;
    o.coachee_id = fr.rep;
    o.amends.len = 0;
    o.amends.data = NULL;
    o.n_actions = 0;
    o.n_markers = 0;
    o.n_follow_ups = 0;
    o.started_at = d->now - 3600 > (int64_t)a->due_from_day * 86400
                       ? d->now - 3600
                       : (int64_t)a->due_from_day * 86400;
    n = coachq__v1__observation__get_packed_size(&o);
    buf = malloc(n > 0 ? n : 1);
    if (buf == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    coachq__v1__observation__pack(&o, buf);
    memset(&w, 0, sizeof(w));
    w.obs = buf;
    w.obs_len = n;
    w.observer_id = a->observer_id;
    w.origin = DEMO_ORIGIN;
    w.received_at_ms = d->now_ms;
    rc = store_submit(d->s, &w);
    if (rc == 0) {
        store_drain(d->s);
        rc = store_completed_take(d->s) == &w ? 0 : -EIO;
    }
    *stored = rc == 0 && w.rc == 0;
out:
    free(buf);
    coachq__v1__stored_observation__free_unpacked(fr.rec, NULL);
    return rc;
}

int demo_assignments(struct demo *d)
{
    struct demo_draw dd;
    size_t last_month, fulfilled = 0;
    int rc;

    rc = store_exec(d->s, plan_txn, d);
    if (rc != 0) {
        demo_say(d, "storing the coverage plan failed: %s", error_strerror(rc));
        return rc;
    }
    memset(&dd, 0, sizeof(dd));
    dd.d = d;
    dd.seed = d->seed * 1000003u + 1;
    dd.period_day = d->now_day - 31;
    rc = store_exec(d->s, draw_txn, &dd);
    last_month = dd.res.n;
    if (rc == 0) {
        dd.seed = d->seed * 1000003u + 2;
        dd.period_day = d->now_day;
        rc = store_exec(d->s, draw_txn, &dd);
    }
    if (rc != 0) {
        assign_draw_result_clear(&dd.res);
        demo_say(d, "drawing the assignments failed: %s", error_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < dd.res.n && fulfilled < DEMO_FULFILLED && rc == 0; i++) {
        int stored = 0;

        rc = demo_fulfil(d, dd.res.asg[i], &stored);
        fulfilled += stored;
        d->stored += (unsigned)stored;
    }
    demo_say(d,
             "observation programme: plan %s; last month %zu assignments drawn, %zu expired; "
             "this month %zu drawn (seed %llu), %zu fulfilled",
             DEMO_PLAN_SCOPE, last_month, dd.expired, dd.res.n, (unsigned long long)dd.seed,
             fulfilled);
    assign_draw_result_clear(&dd.res);
    if (rc != 0) {
        demo_say(d, "fulfilling the demo assignments failed: %s", error_strerror(rc));
    }
    return rc;
}
