/*
 * dash_plans: coverage against the coverage plans (dash_plans.h). Every
 * figure is a count of managers, observations or assignments in one
 * period; none is a score, so the privacy rule's minimum does not apply
 * (docs/dashboards.md).
 */
#include "dash_plans.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assign.h"
#include "certs.h"
#include "day.h"
#include "obs.h"
#include "people.h"
#include "zone.h"

/* Observations of one manager read at most, newest first. */
#define PLANS_MAX_KEYS 200

struct plan_row {
    const struct dash_ctx *c;
    const Coachq__V1__CoveragePlan *p;
    int32_t from, until;
    uint64_t managers, covered, observations, assigned_obs;
    uint64_t drawn, done, open, expired, reassigned;
};

struct obs_count {
    const struct plan_row *row;
    int64_t from_s;
    uint64_t n, assigned;
};

/* Whether rec counts for the plan: its rubric, in the period (the coach's
 * days), by an observer certified for the rubric on the session's day. */
static int obs_counts(const struct obs_count *oc, const Coachq__V1__StoredObservation *rec,
                      int *yes)
{
    const Coachq__V1__Observation *o = rec->observation;
    Coachq__V1__Certification *c = NULL;
    int32_t day = 0;
    int rc;

    *yes = 0;
    if (o->calibration_ref.len != 0 || o->rubric_id == NULL || rec->observer_id == NULL ||
        strcmp(o->rubric_id, oc->row->p->rubric_id) != 0) {
        return 0;
    }
    rc = zone_session_day(oc->row->c->t, o, &day);
    if (rc < 0) {
        return rc;
    }
    if (day < oc->row->from || day > oc->row->until) {
        return 0;
    }
    rc = certs_valid_on(oc->row->c->t, rec->observer_id, o->rubric_id, day, &c, NULL);
    coachq__v1__certification__free_unpacked(c, NULL);
    if (rc == -ENOENT) {
        return 0;
    }
    *yes = rc == 0;
    return rc;
}

static int obs_count_cb(Coachq__V1__StoredObservation *rec, void *arg)
{
    struct obs_count *oc = arg;
    /* A day's slack: the period is in the coach's days. */
    int stop = rec->observation == NULL || rec->observation->started_at < oc->from_s - 86400;
    int rc = 0, yes = 0;

    if (!stop) {
        rc = obs_counts(oc, rec, &yes);
    }
    if (rc == 0 && yes) {
        /* The record says it fulfilled an assignment, whichever version
         * and whether or not anonymised (store/agg.h, AGG_ASSIGNED). */
        oc->n++;
        oc->assigned += rec->assigned != 0;
    }
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc < 0 ? rc : (stop ? 1 : 0);
}

/* Counts the plan's assignments of one manager in the period. */
static int manager_assignments(struct plan_row *row, const char *manager, uint64_t *done)
{
    Coachq__V1__Assignment **l = NULL;
    size_t n = 0;
    int truncated = 0;
    int rc;

    *done = 0;
    rc = assign_list_manager(row->c->t, manager, row->from, row->c->now_s * 1000, &l, &n,
                             &truncated);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (strcmp(l[i]->plan_scope, row->p->scope) != 0) {
            continue;
        }
        row->drawn++;
        switch (l[i]->status) {
        case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE:
            row->done++;
            (*done)++;
            break;
        case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED:
            row->expired++;
            break;
        case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_REASSIGNED:
            row->reassigned++;
            break;
        default:
            row->open++;
            break;
        }
    }
    assign_list_free(l, n);
    return rc;
}

static int plan_manager(struct plan_row *row, const char *id)
{
    Coachq__V1__Person *p = NULL;
    struct obs_count oc = {row, (int64_t)row->from * 86400, 0, 0};
    uint64_t done = 0;
    int rc, flm;

    rc = people_get(row->c->t, id, &p);
    if (rc == -ENOENT) {
        return 0;
    }
    if (rc < 0) {
        return rc;
    }
    flm = people_has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER) && !p->disabled &&
          p->erased_at_ms == 0;
    coachq__v1__person__free_unpacked(p, NULL);
    if (!flm) {
        return 0;
    }
    row->managers++;
    rc = manager_assignments(row, id, &done);
    if (rc == 0) {
        rc = store_recent_txn(row->c->t, STORE_BY_COACH, id, ((int64_t)row->until + 2) * 86400,
                              PLANS_MAX_KEYS, obs_count_cb, &oc);
    }
    if (rc < 0) {
        return rc;
    }
    row->observations += oc.n;
    row->assigned_obs += oc.assigned;
    row->covered += oc.n >= row->p->per_period;
    return 0;
}

static int plan_line_cb(const char *id, void *arg)
{
    return plan_manager(arg, id);
}

static int plan_enrolled_cb(const Coachq__V1__Enrolment *e, void *arg)
{
    return plan_manager(arg, e->person_id);
}

struct plans_table {
    struct dash *d;
    const struct dash_ctx *c;
    Coachq__V1__Table *t;
};

static void pct_cell(struct dash *d, Coachq__V1__TableRow *r, uint64_t num, uint64_t den)
{
    char buf[48];

    if (den == 0) {
        dash_cell_text(d, r, "-", NULL);
        return;
    }
    snprintf(buf, sizeof(buf), "%.0f%% (%llu of %llu)", 100.0 * (double)num / (double)den,
             (unsigned long long)num, (unsigned long long)den);
    dash_cell_text(d, r, buf, NULL);
}

static int plan_cb(const Coachq__V1__CoveragePlan *p, void *arg)
{
    static const char *const cols[] = {
        "Plan",    "Period", "Managers covered",      "Drawn", "Done",
        "Expired", "Open",   "From random assignment"};
    struct plans_table *pt = arg;
    struct plan_row row;
    Coachq__V1__TableRow *r;
    char f[16], u[16], period[48], label[160];
    int rc;

    memset(&row, 0, sizeof(row));
    row.c = pt->c;
    row.p = p;
    assign_period(p->period, pt->c->until_day < pt->c->today ? pt->c->until_day : pt->c->today,
                  &row.from, &row.until);
    if (strncmp(p->scope, "line:", 5) == 0) {
        rc = people_reports_at(pt->c->t, p->scope + 5, row.from, plan_line_cb, &row);
    } else {
        rc = people_enrolments(pt->c->t, p->scope + 10, plan_enrolled_cb, &row);
    }
    if (rc < 0) {
        return rc;
    }
    if (pt->t == NULL) {
        pt->t = dash_table(pt->d, "coverage-plans", "Coverage against the plan", cols,
                           sizeof(cols) / sizeof(cols[0]));
    }
    day_format(row.from, f, sizeof(f));
    day_format(row.until, u, sizeof(u));
    snprintf(period, sizeof(period), "%s..%s", f, u);
    snprintf(label, sizeof(label), "%s: %u a %s", p->scope, p->per_period,
             p->period == COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK ? "week" : "month");
    r = dash_row(pt->d, pt->t);
    dash_cell_text(pt->d, r, label, NULL);
    dash_cell_text(pt->d, r, period, NULL);
    pct_cell(pt->d, r, row.covered, row.managers);
    dash_cell_count(pt->d, r, row.drawn);
    dash_cell_count(pt->d, r, row.done);
    dash_cell_count(pt->d, r, row.expired);
    dash_cell_count(pt->d, r, row.open);
    pct_cell(pt->d, r, row.assigned_obs, row.observations);
    return dash_failed(pt->d);
}

int dash_plans(struct dash *d, const struct dash_ctx *c)
{
    struct plans_table pt = {d, c, NULL};
    int rc = assign_plan_list(c->t, plan_cb, &pt);

    if (rc == 0 && pt.t != NULL) {
        dash_note(
            d, "Coverage against the plan: a manager is covered once observed on the "
               "plan's rubric by certified observers as often as their plan asks in the "
               "period; 'From random assignment' is the share of those observations that "
               "fulfilled an assignment of any plan (an amendment of one included), the unbiased "
               "sample.");
    }
    return rc;
}
