/*
 * The reads bench_dash times on their own beside the dashboards
 * (bench_dash.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "actions.h"
#include "agg.h"
#include "cadence.h"
#include "coachq.pb-c.h"
#include "people.h"
#include "store.h"

#include "bench_dash.h"

static int agg_count_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    (void)monday;
    ((struct agg_arg *)arg)->observations += w->observations;
    return 0;
}

int bench_agg_txn(struct store_txn *t, void *arg)
{
    struct agg_arg *a = arg;
    int32_t until = agg_week_of(store_day_of(BENCH_NOW));
    char id[16];
    int rc = 0;

    a->observations = 0;
    for (int i = 0; i < BENCH_FLMS && rc == 0; i++) {
        /* slm.00's managers: flm.i with i % BENCH_SLMS == 0. */
        if (i % BENCH_SLMS != 0) {
            continue;
        }
        snprintf(id, sizeof(id), "flm.%03d", i);
        rc = agg_read(t, AGG_COACH, id, BENCH_RUBRIC, until - 7 * 11, until, agg_count_cb, a);
    }
    return rc;
}

/* The store's part of the cadence tables, apart: the coaching days
 * (cadence_pair_days()) of every rep of one line's 20 managers over the
 * 12-week window. */

int bench_cadence_txn(struct store_txn *t, void *arg)
{
    struct cadence_arg *a = arg;
    int32_t until = store_day_of(BENCH_NOW);
    struct cadence_day days[128];
    char id[16], rep[32];
    int rc = 0;

    a->days = 0;
    for (int i = 0; i < BENCH_FLMS && rc == 0; i++) {
        if (i % BENCH_SLMS != 0) {
            continue;
        }
        snprintf(id, sizeof(id), "flm.%03d", i);
        for (int k = 0; k < BENCH_REPS && rc == 0; k++) {
            size_t n = 0;

            snprintf(rep, sizeof(rep), "rep.%03d.%d", i, k);
            rc = cadence_pair_days(t, id, rep, until - 83, until, days, 128, &n, NULL);
            a->days += n;
        }
    }
    return rc;
}

/* The action tables' reads on their own: My managers' follow-through
 * counters for slm.00's 20 managers over 12 weeks, and for flm.000 the open
 * actions (the first 20 and the totals) and each rep's 6 most recent
 * actions (focus progress). */

static int act_rec_cb(const Coachq__V1__ActionRecord *r, void *arg)
{
    (void)r;
    ((struct act_arg *)arg)->records++;
    return 0;
}

static int act_rep_cb(const char *id, void *arg)
{
    struct act_arg *a = arg;

    return actions_recent_txn(a->t, "flm.000", id, 6, act_rec_cb, a);
}

int bench_act_txn(struct store_txn *t, void *arg)
{
    struct act_arg *a = arg;
    int32_t today = store_day_of(BENCH_NOW);
    int32_t until = agg_week_of(today);
    struct actions_open_counts oc;
    char scope[32];
    int rc = 0;

    a->t = t;
    a->agreed = a->records = 0;
    for (int i = 0; i < BENCH_FLMS && rc == 0; i++) {
        struct actions_follow f;

        if (i % BENCH_SLMS != 0) {
            continue;
        }
        snprintf(scope, sizeof(scope), "slm.00/flm.%03d", i);
        rc = actions_follow_txn(t, scope, until - 7 * 11, until + 6, &f);
        a->agreed += f.n[ACTIONS_AGREED];
    }
    if (rc == 0) {
        rc = actions_open_txn(t, "flm.000", today, 20, act_rec_cb, a, &oc);
        a->open = oc.open;
    }
    if (rc == 0) {
        rc = people_reports_at(t, "flm.000", today, act_rep_cb, a);
    }
    return rc;
}
