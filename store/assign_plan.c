/*
 * assign_plan: the observation programme's coverage plans, one per
 * programme or second-level manager's line, and the periods they count in
 * (assign.h).
 */
#include "assign.h"
#include "assign_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "day.h"
#include "error.h"
#include "keys.h"
#include "people.h"
#include "rubrics.h"
#include "store_int.h"

/* ---- Plans --------------------------------------------------------------- */

int assign_plan_check(const Coachq__V1__CoveragePlan *p, char *why, size_t whylen)
{
    const char *id = NULL;

    if (p->scope != NULL && strncmp(p->scope, PLAN_PROGRAMME, strlen(PLAN_PROGRAMME)) == 0) {
        id = p->scope + strlen(PLAN_PROGRAMME);
    } else if (p->scope != NULL && strncmp(p->scope, PLAN_LINE, strlen(PLAN_LINE)) == 0) {
        id = p->scope + strlen(PLAN_LINE);
    }
    if (id == NULL || validate_id(id) < 0) {
        snprintf(why, whylen, "scope: '%s' is not programme:ID or line:ID",
                 p->scope != NULL ? p->scope : "");
        return -EINVAL;
    }
    if (p->rubric_id == NULL || validate_id(p->rubric_id) < 0) {
        snprintf(why, whylen, "rubric_id: '%s' is not a valid id",
                 p->rubric_id != NULL ? p->rubric_id : "");
        return -EINVAL;
    }
    if (p->per_period < 1 || p->per_period > ASSIGN_MAX_PER_PERIOD) {
        snprintf(why, whylen, "per_period: %u is not from 1 to %d", p->per_period,
                 ASSIGN_MAX_PER_PERIOD);
        return -EINVAL;
    }
    if (p->period != COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_MONTH &&
        p->period != COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK) {
        snprintf(why, whylen, "period: must be month or week");
        return -EINVAL;
    }
    if (p->load_cap > ASSIGN_MAX_SLOTS) {
        snprintf(why, whylen, "load_cap: %u is above %d", p->load_cap, ASSIGN_MAX_SLOTS);
        return -EINVAL;
    }
    return 0;
}

int assign_plan_put(struct store_txn *t, const Coachq__V1__CoveragePlan *p, int *changed)
{
    char why[160];

    Coachq__V1__CoveragePlan *old = NULL;
    Coachq__V1__CoveragePlan same;
    int rc;

    if (assign_plan_check(p, why, sizeof(why)) < 0) {
        return -EINVAL;
    }
    rc = assign_plan_get(t, p->scope, &old);
    if (rc < 0 && rc != -ENOENT) {
        return rc;
    }
    if (old != NULL && changed != NULL) {
        /* Who set it and when are no change: the plan as it stands, with
         * the old stamp, is then exactly the bytes stored, and kept. */
        same = *p;
        same.set_by = old->set_by;
        same.set_at_ms = old->set_at_ms;
        rc = store_txn_put_msg(t, t->s->dbi_plans, (const uint8_t *)p->scope, strlen(p->scope),
                               &same.base, changed);
        if (rc == 0 && *changed) {
            rc = store_txn_put_msg(t, t->s->dbi_plans, (const uint8_t *)p->scope, strlen(p->scope),
                                   &p->base, NULL);
        }
        coachq__v1__coverage_plan__free_unpacked(old, NULL);
        return rc;
    }
    coachq__v1__coverage_plan__free_unpacked(old, NULL);
    return store_txn_put_msg(t, t->s->dbi_plans, (const uint8_t *)p->scope, strlen(p->scope),
                             &p->base, changed);
}

int assign_plan_set(struct store_txn *t, const Coachq__V1__CoveragePlan *p, const char *prefix,
                    int *changed, struct validate_error *fault)
{
    Coachq__V1__Rubric *r = NULL;
    Coachq__V1__Programme *prog = NULL;
    Coachq__V1__Person *person = NULL;
    char why[200], field[64];
    int rc;

    if (assign_plan_check(p, why, sizeof(why)) < 0) {
        const char *colon = strchr(why, ':');
        size_t n = colon != NULL ? (size_t)(colon - why) : 0;

        snprintf(field, sizeof(field), "%s.%.*s", prefix, (int)n, why);
        return asg_refuse(fault, field, "%s", why);
    }
    rc = rubrics_get(t, p->rubric_id, 0, &r);
    coachq__v1__rubric__free_unpacked(r, NULL);
    if (rc == -ENOENT) {
        snprintf(field, sizeof(field), "%s.rubric_id", prefix);
        return asg_refuse(fault, field, "there is no rubric '%s'", p->rubric_id);
    }
    if (rc < 0) {
        return rc;
    }
    snprintf(field, sizeof(field), "%s.scope", prefix);
    if (strncmp(p->scope, PLAN_PROGRAMME, strlen(PLAN_PROGRAMME)) == 0) {
        rc = people_programme_get(t, p->scope + strlen(PLAN_PROGRAMME), &prog);
        coachq__v1__programme__free_unpacked(prog, NULL);
        if (rc == -ENOENT) {
            return asg_refuse(fault, field, "there is no programme '%s'",
                              p->scope + strlen(PLAN_PROGRAMME));
        }
    } else {
        rc = people_get(t, p->scope + strlen(PLAN_LINE), &person);
        if (rc == 0 && !people_has_role(person, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER)) {
            rc = asg_refuse(fault, field, "'%s' is not a second-level manager",
                            p->scope + strlen(PLAN_LINE));
        } else if (rc == -ENOENT) {
            rc = asg_refuse(fault, field, "there is no person '%s'", p->scope + strlen(PLAN_LINE));
        }
        coachq__v1__person__free_unpacked(person, NULL);
    }
    if (rc < 0) {
        return rc;
    }
    return assign_plan_put(t, p, changed);
}

int assign_plan_get(struct store_txn *t, const char *scope, Coachq__V1__CoveragePlan **out)
{
    if (scope == NULL || scope[0] == '\0' || strlen(scope) > 200) {
        return -ENOENT;
    }
    return store_txn_get_msg(t, t->s->dbi_plans, (const uint8_t *)scope, strlen(scope),
                             &coachq__v1__coverage_plan__descriptor, (ProtobufCMessage **)out);
}

struct plan_walk {
    assign_plan_cb cb;
    void *arg;
};

static int plan_list_one(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                         void *arg)
{
    struct plan_walk *w = arg;
    Coachq__V1__CoveragePlan *p;
    int rc;

    (void)key;
    (void)klen;
    p = coachq__v1__coverage_plan__unpack(NULL, vlen, val);
    if (p == NULL) {
        return -EIO;
    }
    rc = w->cb(p, w->arg);
    coachq__v1__coverage_plan__free_unpacked(p, NULL);
    return rc;
}

int assign_plan_list(struct store_txn *t, assign_plan_cb cb, void *arg)
{
    struct plan_walk w = {cb, arg};

    return store_txn_scan(t, t->s->dbi_plans, NULL, 0, 0, plan_list_one, &w);
}

void assign_period(Coachq__V1__CoveragePeriod period, int32_t day, int32_t *from, int32_t *until)
{
    int64_t y;
    unsigned m, d;

    if (period == COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK) {
        /* 1970-01-01 was a Thursday: (day + 3) % 7 is 0 on Mondays. */
        int32_t wd = (int32_t)(((int64_t)day + 3) % 7);

        if (wd < 0) {
            wd += 7;
        }
        *from = day - wd;
        *until = *from + 6;
        return;
    }
    day_to_civil(day, &y, &m, &d);
    *from = (int32_t)day_from_civil(y, m, 1);
    *until = (int32_t)(m == 12 ? day_from_civil(y + 1, 1, 1) : day_from_civil(y, m + 1, 1)) - 1;
}
