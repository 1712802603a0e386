/*
 * server_assign: the observation programme's requests on the protocol port
 * (store/assign.h; docs/programme.md). ListAssignments is an observer's
 * queue (`coachq assignments`), or a lead's view of anybody's;
 * DrawAssignments is `coachqd assign` for enablement leads. A list only
 * reads, in a read transaction on the thread pool (server_read.c), so that
 * no observer's list holds up the writer; an open assignment whose window
 * has passed is shown EXPIRED by the read. A draw writes on the writer
 * thread, and first expires a bounded batch of lapsed assignments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "assign.h"
#include "audit.h"
#include "error.h"
#include "server_int.h"

/* Most assignments and unfilled managers one draw's answer carries: a
 * draw of ASSIGN_MAX_SLOTS would not fit in a response otherwise. */
#define SERVER_ASSIGN_DRAW_SHOWN 500

/* One request in flight: owned by its request. */
struct server_assign {
    int draw; /* DrawAssignments; else ListAssignments */
    /* List. */
    char observer[VALIDATE_MAX_ID + 1]; /* "" with all_observers */
    int all_observers;
    int all_statuses;
    char asker[VALIDATE_MAX_ID + 1]; /* the caller: whose day "today" is with all_observers */
    int32_t today;                   /* the listed observer's day (assign_today()) */
    Coachq__V1__Assignment **l;
    size_t n;
    int truncated;
    /* Draw. */
    char scope[VALIDATE_MAX_ID + 16];
    struct assign_draw_req req;
    struct assign_draw_result res;
    int dry_run;
    /* Plans: the plan to set (a decoded copy; NULL to list), and all. */
    int plans;
    Coachq__V1__CoveragePlan *plan;
    Coachq__V1__CoveragePlan **all;
    size_t n_all;
    int changed;
};

void server_assign_free(struct server_assign *a)
{
    if (a == NULL) {
        return;
    }
    assign_list_free(a->l, a->n);
    assign_draw_result_clear(&a->res);
    coachq__v1__coverage_plan__free_unpacked(a->plan, NULL);
    for (size_t i = 0; i < a->n_all; i++) {
        coachq__v1__coverage_plan__free_unpacked(a->all[i], NULL);
    }
    free(a->all);
    free(a);
}

/* Keeps a copy of every plan (p borrowed for the call). */
static int plan_copy_cb(const Coachq__V1__CoveragePlan *p, void *arg)
{
    struct server_assign *a = arg;
    Coachq__V1__CoveragePlan **all;
    size_t n = coachq__v1__coverage_plan__get_packed_size(p);
    uint8_t *buf = malloc(n > 0 ? n : 1);

    if (buf == NULL) {
        return -ENOMEM;
    }
    coachq__v1__coverage_plan__pack(p, buf);
    all = realloc(a->all, (a->n_all + 1) * sizeof(*all));
    if (all == NULL) {
        free(buf);
        return -ENOMEM;
    }
    a->all = all;
    a->all[a->n_all] = coachq__v1__coverage_plan__unpack(NULL, n, buf);
    free(buf);
    if (a->all[a->n_all] == NULL) {
        return -ENOMEM;
    }
    a->n_all++;
    return 0;
}

/* Writer thread: sets the plan (when one is given) and lists them all. */
static int plans_txn(struct store_txn *t, struct request *r, struct server_assign *a)
{
    char detail[160];
    int rc = 0;

    for (size_t i = 0; i < a->n_all; i++) {
        coachq__v1__coverage_plan__free_unpacked(a->all[i], NULL);
    }
    a->n_all = 0;
    a->changed = 0;
    if (a->plan != NULL) {
        rc = assign_plan_set(t, a->plan, "set_coverage_plan.plan", &a->changed, &r->fault);
        if (rc == 0 && a->changed) {
            snprintf(detail, sizeof(detail), "%u per %s, rubric %s", a->plan->per_period,
                     a->plan->period == COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK ? "week"
                                                                                          : "month",
                     a->plan->rubric_id);
            rc = audit_append(t, r->w.received_at_ms, r->conn->user, "plan.set", a->plan->scope,
                              detail, r->conn->cs.peer, NULL);
        }
    }
    if (rc == 0) {
        rc = assign_plan_list(t, plan_copy_cb, a);
    }
    return rc;
}

/* Writer thread. It may run again after the map grows: outputs reset. */
static int assign_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    struct server_assign *a = r->asg;
    int rc;

    memset(&r->fault, 0, sizeof(r->fault));
    if (a->plans) {
        return plans_txn(t, r, a);
    }
    assign_list_free(a->l, a->n);
    a->l = NULL;
    a->n = 0;
    assign_draw_result_clear(&a->res);
    if (!a->draw) {
        return -EINVAL;
    }
    rc = assign_expire(t, a->req.now_ms, NULL);
    if (rc < 0) {
        return rc;
    }
    rc = assign_draw(t, &a->req, &a->res);
    if (rc == ERROR_REFUSED) {
        r->fault = a->res.fault;
        snprintf(r->fault.field, sizeof(r->fault.field), "draw_assignments.%.60s",
                 a->res.fault.field);
        return rc;
    }
    if (rc == 0 && a->dry_run) {
        /* The nested transaction is dropped: nothing written. */
        return -ECANCELED;
    }
    return rc;
}

int server_assign_read_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    struct server_assign *a = r->asg;
    int rc;

    memset(&r->fault, 0, sizeof(r->fault));
    assign_list_free(a->l, a->n);
    a->l = NULL;
    a->n = 0;
    if (a->draw || a->plans) {
        return -EINVAL;
    }
    /* Today in the listed observer's zone (the caller's for every
     * observer), else the organisation's. */
    rc = assign_today(t, a->all_observers ? a->asker : a->observer, a->req.now_ms, &a->today);
    if (rc < 0) {
        return rc;
    }
    return assign_list(t, a->all_observers ? NULL : a->observer, a->all_statuses, a->req.now_ms,
                       &a->l, &a->n, &a->truncated);
}

static void assign_queue(struct conn *c, uint64_t rid, struct server_assign *a)
{
    struct request *r = server_request_new(c, rid, REQ_ASSIGN);

    if (r == NULL) {
        server_assign_free(a);
        return;
    }
    r->asg = a;
    r->w.received_at_ms = server_now_ms();
    a->req.now_ms = r->w.received_at_ms;
    snprintf(a->asker, sizeof(a->asker), "%s", c->user);
    if (!a->draw && !a->plans) {
        server_read_queue(c, r);
        return;
    }
    r->w.fn = assign_txn;
    r->w.fn_arg = r;
    server_request_write(r, "the server cannot store now; nothing was changed; try again later");
}

void server_assign_list(struct conn *c, uint64_t rid, const Coachq__V1__ListAssignments *q)
{
    struct server_assign *a;
    struct auth_target t;
    const char *who = q->observer_id != NULL ? q->observer_id : "";

    memset(&t, 0, sizeof(t));
    t.observer = who;
    if (auth_decide(&c->au, AUTH_ASSIGNMENTS, &t) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED,
                               "list_assignments.observer_id",
                               who[0] == '\0' ? "only observers have assignments"
                                              : "only enablement leads and administrators list "
                                                "another observer's assignments");
        return;
    }
    if (who[0] != '\0' && strcmp(who, "*") != 0 && validate_id(who) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                               "list_assignments.observer_id",
                               "must be an observer's id, or '*' for every observer");
        return;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "server out of memory");
        return;
    }
    a->all_observers = strcmp(who, "*") == 0;
    snprintf(a->observer, sizeof(a->observer), "%s",
             a->all_observers ? "" : (who[0] != '\0' ? who : c->user));
    a->all_statuses = q->all_statuses;
    assign_queue(c, rid, a);
}

void server_assign_draw(struct conn *c, uint64_t rid, const Coachq__V1__DrawAssignments *d)
{
    struct server_assign *a;
    const char *scope = d->plan_scope != NULL ? d->plan_scope : "";

    if (auth_decide(&c->au, AUTH_DRAW_ASSIGNMENTS, NULL) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "draw_assignments",
                               "only enablement leads and administrators draw assignments");
        return;
    }
    if (scope[0] == '\0' || strlen(scope) >= sizeof(a->scope)) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                               "draw_assignments.plan_scope",
                               "name the plan: programme:ID or line:ID");
        return;
    }
    if (d->sample > ASSIGN_MAX_SLOTS || (d->period_day != 0 && (d->period_day < ASSIGN_MIN_DAY ||
                                                                d->period_day > ASSIGN_MAX_DAY))) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT,
                               d->sample > ASSIGN_MAX_SLOTS ? "draw_assignments.sample"
                                                            : "draw_assignments.period_day",
                               d->sample > ASSIGN_MAX_SLOTS
                                   ? "out of range"
                                   : "the period must fall in the years 2000 to 2099");
        return;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "server out of memory");
        return;
    }
    a->draw = 1;
    snprintf(a->scope, sizeof(a->scope), "%s", scope);
    a->req.scope = a->scope;
    a->req.actor = c->user;
    a->req.origin = c->cs.peer;
    a->req.period_day = d->period_day;
    a->req.sample = d->sample;
    a->dry_run = d->dry_run;
    if (d->has_seed) {
        a->req.seed = d->seed;
    } else {
        uint8_t b[8];

        if (RAND_bytes(b, sizeof(b)) != 1) {
            server_assign_free(a);
            server_conn_send_error(c, rid, COACHQ__V1__CODE__UNAVAILABLE, "",
                                   "no random numbers for a seed; give one");
            return;
        }
        for (size_t i = 0; i < sizeof(b); i++) {
            a->req.seed = (a->req.seed << 8) | b[i];
        }
    }
    assign_queue(c, rid, a);
}

void server_assign_plan(struct conn *c, uint64_t rid, const Coachq__V1__SetCoveragePlan *s)
{
    struct server_assign *a;

    if (auth_decide(&c->au, AUTH_PLANS, NULL) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "set_coverage_plan",
                               "only enablement leads and administrators set coverage plans");
        return;
    }
    if (!s->list_only && s->plan == NULL) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "set_coverage_plan.plan",
                               "give the plan, or set list_only");
        return;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "server out of memory");
        return;
    }
    a->plans = 1;
    if (!s->list_only) {
        /* The frame is freed when this returns: a copy, stamped by the
         * server. */
        Coachq__V1__CoveragePlan stamped = *s->plan;
        size_t n;
        uint8_t *buf;

        stamped.set_by = c->user;
        stamped.set_at_ms = server_now_ms();
        n = coachq__v1__coverage_plan__get_packed_size(&stamped);
        buf = malloc(n > 0 ? n : 1);
        if (buf != NULL) {
            coachq__v1__coverage_plan__pack(&stamped, buf);
            a->plan = coachq__v1__coverage_plan__unpack(NULL, n, buf);
            free(buf);
        }
        if (a->plan == NULL) {
            server_assign_free(a);
            server_conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                                   "server out of memory");
            return;
        }
    }
    assign_queue(c, rid, a);
}

void server_assign_answer(struct request *r)
{
    struct server_assign *a = r->asg;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__AssignmentList l = COACHQ__V1__ASSIGNMENT_LIST__INIT;
    Coachq__V1__AssignmentDrawResult d = COACHQ__V1__ASSIGNMENT_DRAW_RESULT__INIT;
    int rc = r->w.rc;

    if (rc == ERROR_REFUSED) {
        server_conn_send_error(r->conn, r->request_id, r->fault.code, r->fault.field,
                               r->fault.message);
        return;
    }
    if (rc == -ECANCELED && a->draw && a->dry_run) {
        rc = 0;
    }
    if (rc == -ENOSPC && a->draw) {
        server_conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__FAILED_PRECONDITION,
                               "draw_assignments.plan_scope",
                               "the plan is larger than one draw handles");
        return;
    }
    if (rc != 0) {
        server_conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
                               "the server cannot do this now; try again later");
        return;
    }
    f.request_id = r->request_id;
    if (a->plans) {
        Coachq__V1__CoveragePlanList pl = COACHQ__V1__COVERAGE_PLAN_LIST__INIT;

        pl.plans = a->all;
        pl.n_plans = a->n_all;
        pl.changed = a->changed;
        f.body_case = COACHQ__V1__FRAME__BODY_COVERAGE_PLANS;
        f.coverage_plans = &pl;
        server_conn_send(r->conn, &f);
        return;
    }
    if (!a->draw) {
        l.assignments = a->l;
        l.n_assignments = a->n;
        l.today = a->today;
        l.truncated = a->truncated;
        f.body_case = COACHQ__V1__FRAME__BODY_ASSIGNMENTS;
        f.assignments = &l;
    } else {
        d.draw = &a->res.draw;
        d.assignments = a->res.asg;
        d.n_assignments = a->res.n < SERVER_ASSIGN_DRAW_SHOWN ? a->res.n : SERVER_ASSIGN_DRAW_SHOWN;
        d.unfilled_managers = a->res.unfilled;
        d.n_unfilled_managers = a->res.n_unfilled < SERVER_ASSIGN_DRAW_SHOWN
                                    ? a->res.n_unfilled
                                    : SERVER_ASSIGN_DRAW_SHOWN;
        d.unfilled_manager_count = (uint32_t)a->res.n_unfilled;
        d.truncated = d.n_assignments < a->res.n || d.n_unfilled_managers < a->res.n_unfilled;
        d.dry_run = a->dry_run;
        f.body_case = COACHQ__V1__FRAME__BODY_ASSIGNMENT_DRAW;
        f.assignment_draw = &d;
    }
    server_conn_send(r->conn, &f);
}
