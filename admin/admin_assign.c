/*
 * admin_assign: the observation programme's verbs on the store's assign
 * module (assign.h; docs/programme.md): `coachqd plan set|show|list` (a
 * coverage plan per programme or per second-level manager's line),
 * `coachqd assign` (a stratified random draw of assignments from a
 * recorded seed) and `coachqd assignment list|reassign`. Every change is
 * audited in the transaction that makes it.
 */
#include "admin_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assign.h"
#include "audit.h"
#include "day.h"
#include "error.h"
#include "people.h"
#include "rubrics.h"
#include "store.h"
#include "uuid.h"
#include "validate.h"

/* Exit code of a draw that left some managers without an observer. */
#define ADMIN_ASSIGN_UNFILLED 3

/* ---- plan ------------------------------------------------------------------ */

struct plan_change {
    struct admin *a;
    Coachq__V1__CoveragePlan p;
    int changed;
};

static const char *plan_period_name(Coachq__V1__CoveragePeriod p)
{
    return p == COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK ? "week" : "month";
}

/* "every front-line manager observed 2 times a month by an observer
 * certified for R; off their own line, ..." into buf. */
static const char *plan_text(const Coachq__V1__CoveragePlan *p, char *buf, size_t len)
{
    size_t n;

    n = (size_t)snprintf(buf, len, "%u per %s, rubric %s", p->per_period,
                         plan_period_name(p->period), p->rubric_id);
    if (n < len && p->load_cap > 0) {
        n += (size_t)snprintf(buf + n, len - n, ", at most %u per observer", p->load_cap);
    }
    if (n < len && p->off_own_line) {
        n += (size_t)snprintf(buf + n, len - n, ", off own line");
    }
    if (n < len && p->off_own_reports) {
        n += (size_t)snprintf(buf + n, len - n, ", off own reports");
    }
    if (n < len && p->off_last_observed) {
        (void)snprintf(buf + n, len - n, ", off last observed");
    }
    return buf;
}

static int plan_change_txn(struct store_txn *t, void *arg)
{
    struct plan_change *pc = arg;
    struct admin *a = pc->a;
    const char *scope = pc->p.scope;
    Coachq__V1__Rubric *r = NULL;
    Coachq__V1__Programme *prog = NULL;
    Coachq__V1__Person *p = NULL;
    char text[256];
    int rc;

    a->err[0] = '\0';
    pc->changed = 0;
    rc = rubrics_get(t, pc->p.rubric_id, 0, &r);
    coachq__v1__rubric__free_unpacked(r, NULL);
    if (rc == -ENOENT) {
        return admin_txn_fail(a, rc, "--rubric: there is no rubric '%s'", pc->p.rubric_id);
    }
    if (strncmp(scope, "programme:", 10) == 0) {
        rc = people_programme_get(t, scope + 10, &prog);
        coachq__v1__programme__free_unpacked(prog, NULL);
        if (rc == -ENOENT) {
            return admin_txn_fail(a, rc, "SCOPE: there is no programme '%s'", scope + 10);
        }
    } else {
        rc = people_get(t, scope + 5, &p);
        if (rc == 0 && !people_has_role(p, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER)) {
            coachq__v1__person__free_unpacked(p, NULL);
            return admin_txn_fail(a, -EINVAL, "SCOPE: '%s' is not a second-level manager",
                                  scope + 5);
        }
        coachq__v1__person__free_unpacked(p, NULL);
        if (rc == -ENOENT) {
            return admin_txn_fail(a, rc, "SCOPE: there is no person '%s'", scope + 5);
        }
    }
    if (rc < 0) {
        return admin_txn_fail(a, rc, "%s", error_strerror(rc));
    }
    rc = assign_plan_put(t, &pc->p, &pc->changed);
    if (rc == 0 && pc->changed) {
        rc = audit_append(t, a->now_ms, a->actor, "plan.set", scope,
                          plan_text(&pc->p, text, sizeof(text)), a->origin, NULL);
    }
    if (rc < 0) {
        return admin_txn_fail(a, rc, "%s", error_strerror(rc));
    }
    return 0;
}

int admin_run_plan_set(struct admin *a)
{
    struct plan_change pc;
    const char *month = admin_opt_value(a, "per-month");
    const char *week = admin_opt_value(a, "per-week");
    const char *rubric = admin_opt_value(a, "rubric");
    const char *cap = admin_opt_value(a, "load-cap");
    char why[200], text[256];
    long v;
    int rc;

    memset(&pc, 0, sizeof(pc));
    pc.a = a;
    coachq__v1__coverage_plan__init(&pc.p);
    pc.p.scope = (char *)a->pos[0];
    if (rubric == NULL) {
        return admin_usage_error(a, "--rubric ID is required");
    }
    pc.p.rubric_id = (char *)rubric;
    if ((month != NULL) == (week != NULL)) {
        return admin_usage_error(a, "give exactly one of --per-month N and --per-week N");
    }
    if (admin_parse_long(month != NULL ? month : week, 1, ASSIGN_MAX_PER_PERIOD, &v) != 0) {
        return admin_usage_error(a, "--per-%s: '%s' is not a number from 1 to %d",
                                 month != NULL ? "month" : "week", month != NULL ? month : week,
                                 ASSIGN_MAX_PER_PERIOD);
    }
    pc.p.per_period = (uint32_t)v;
    pc.p.period = month != NULL ? COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_MONTH
                                : COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK;
    if (cap != NULL) {
        if (admin_parse_long(cap, 1, ASSIGN_MAX_SLOTS, &v) != 0) {
            return admin_usage_error(a, "--load-cap: '%s' is not a number from 1 to %d", cap,
                                     ASSIGN_MAX_SLOTS);
        }
        pc.p.load_cap = (uint32_t)v;
    }
    pc.p.off_own_line = admin_opt_value(a, "off-own-line") != NULL;
    pc.p.off_own_reports = admin_opt_value(a, "off-own-reports") != NULL;
    pc.p.off_last_observed = admin_opt_value(a, "off-last-observed") != NULL;
    pc.p.set_at_ms = a->now_ms;
    pc.p.set_by = a->actor;
    if (assign_plan_check(&pc.p, why, sizeof(why)) < 0) {
        return admin_usage_error(a, "%s", why);
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, plan_change_txn, &pc);
    if (rc != 0) {
        return admin_store_failure(a, rc);
    }
    printf("%s: %s%s\n", pc.p.scope, plan_text(&pc.p, text, sizeof(text)),
           pc.changed ? "" : " (unchanged)");
    return 0;
}

static int plan_print(const Coachq__V1__CoveragePlan *p, void *arg)
{
    struct admin_show *sh = arg;
    char text[256], when[32];

    if (sh->id != NULL && strcmp(sh->id, p->scope) != 0) {
        return 0;
    }
    printf("%-28s %s; set %s by %s\n", p->scope, plan_text(p, text, sizeof(text)),
           admin_fmt_ms(p->set_at_ms, when, sizeof(when)), p->set_by);
    sh->n++;
    return 0;
}

static int plan_list_txn(struct store_txn *t, void *arg)
{
    return assign_plan_list(t, plan_print, arg);
}

/* Prints the plans (scope NULL) or the one of scope: 0 when found, 1
 * when scope names no plan, or the store failure's exit code. */
static int plan_view(struct admin *a, const char *scope)
{
    struct admin_show sh = {a, NULL, scope, 0};
    int rc;

    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, plan_list_txn, &sh);
    if (rc != 0) {
        return admin_store_failure(a, rc);
    }
    if (sh.n == 0 && scope == NULL) {
        printf("no coverage plan is set\n");
    } else if (sh.n == 0) {
        admin_errorf(a, "there is no coverage plan '%s'", scope);
        return 1;
    }
    return 0;
}

int admin_run_plan_list(struct admin *a)
{
    return plan_view(a, NULL);
}

int admin_run_plan_show(struct admin *a)
{
    return plan_view(a, a->pos[0]);
}

/* ---- assign ---------------------------------------------------------------- */

struct draw_run {
    struct admin *a;
    struct assign_draw_req req;
    struct assign_draw_result res;
    int dry_run;
    size_t expired;
};

static int draw_run_txn(struct store_txn *t, void *arg)
{
    struct draw_run *dr = arg;
    int rc;

    dr->a->err[0] = '\0';
    assign_draw_result_clear(&dr->res);
    rc = assign_expire(t, dr->a->now_ms, &dr->expired);
    if (rc == 0) {
        rc = assign_draw(t, &dr->req, &dr->res);
    }
    if (rc == ERROR_REFUSED) {
        return admin_txn_fail(dr->a, rc, "%s: %s", dr->res.fault.field, dr->res.fault.message);
    }
    if (rc == -ENOSPC) {
        return admin_txn_fail(dr->a, rc, "the plan has more than %d slots, managers or observers",
                              ASSIGN_MAX_SLOTS);
    }
    if (rc < 0) {
        return admin_txn_fail(dr->a, rc, "%s", error_strerror(rc));
    }
    return dr->dry_run ? ADMIN_DRY_RUN : 0;
}

/* A seed from the kernel's random numbers. */
static int draw_seed(uint64_t *seed)
{
    uint8_t b[8];
    ssize_t n;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -errno;
    }
    n = read(fd, b, sizeof(b));
    close(fd);
    if (n != (ssize_t)sizeof(b)) {
        return -EIO;
    }
    *seed = 0;
    for (size_t i = 0; i < sizeof(b); i++) {
        *seed = (*seed << 8) | b[i];
    }
    return 0;
}

static void draw_print(const struct draw_run *dr)
{
    const Coachq__V1__AssignmentDraw *d = &dr->res.draw;
    char id[UUID_STR_LEN], f[16], u[16];

    day_format(d->due_from_day, f, sizeof(f));
    day_format(d->due_until_day, u, sizeof(u));
    printf("%sdraw %s plan %s seed %" PRIu64 " window %s..%s: %u assigned, %u unfilled\n",
           dr->dry_run ? "dry run, nothing written: " : "", uuid_format(d->id.data, id),
           d->plan_scope, d->seed, f, u, d->assigned, d->unfilled);
    for (size_t i = 0; i < dr->res.n; i++) {
        const Coachq__V1__Assignment *x = dr->res.asg[i];

        printf("  %s  observer %-20s manager %-20s line %s\n", uuid_format(x->id.data, id),
               x->observer_id, x->manager_id, x->stratum[0] != '\0' ? x->stratum : "-");
    }
    for (size_t i = 0; i < dr->res.n_unfilled; i++) {
        printf("  unfilled: manager %s (no eligible observer left)\n", dr->res.unfilled[i]);
    }
}

int admin_run_assign(struct admin *a)
{
    struct draw_run dr;
    const char *seed = admin_opt_value(a, "seed");
    const char *sample = admin_opt_value(a, "sample");
    int generated = 0;
    long v;
    int rc, code = 1;

    memset(&dr, 0, sizeof(dr));
    dr.a = a;
    dr.req.scope = a->pos[0];
    dr.req.now_ms = a->now_ms;
    dr.req.actor = a->actor;
    dr.req.origin = a->origin;
    dr.dry_run = admin_opt_value(a, "dry-run") != NULL;
    if (seed != NULL) {
        if (admin_parse_u64(seed, &dr.req.seed) != 0) {
            return admin_usage_error(a, "--seed: '%s' is not a whole number below 2^64", seed);
        }
    } else {
        rc = draw_seed(&dr.req.seed);
        if (rc < 0) {
            admin_errorf(a, "cannot read random numbers: %s", error_strerror(rc));
            return 1;
        }
        generated = 1;
    }
    if (sample != NULL) {
        if (admin_parse_long(sample, 1, ASSIGN_MAX_SLOTS, &v) != 0) {
            return admin_usage_error(a, "--sample: '%s' is not a number from 1 to %d", sample,
                                     ASSIGN_MAX_SLOTS);
        }
        dr.req.sample = (uint32_t)v;
    }
    /* No --period: 0, the organisation's today inside the draw. */
    if (admin_opt_date(a, "period", 0, &dr.req.period_day) != 0) {
        return 2;
    }
    if (admin_opt_value(a, "period") != NULL && dr.req.period_day == 0) {
        return admin_usage_error(a, "--period: the period must fall in the years 2000 to 2099");
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    if (generated) {
        fprintf(stderr,
                "%s %s: seed %" PRIu64 " (generated; --seed %" PRIu64
                " draws the same on the same store)\n",
                a->prog, a->name, dr.req.seed, dr.req.seed);
    }
    rc = store_exec(a->store, draw_run_txn, &dr);
    if (rc != 0 && rc != ADMIN_DRY_RUN) {
        code = admin_store_failure(a, rc);
        goto out;
    }
    fprintf(stderr,
            "%s %s: %zu front-line managers in scope, %zu observers eligible, %zu slots open\n",
            a->prog, a->name, dr.res.managers, dr.res.observers, dr.res.slots);
    draw_print(&dr);
    if (dr.expired > 0 && !dr.dry_run) {
        fprintf(stderr, "%s %s: %zu open assignment%s past %s window expired\n", a->prog, a->name,
                dr.expired, dr.expired == 1 ? "" : "s", dr.expired == 1 ? "its" : "their");
    }
    code = dr.res.n_unfilled > 0 ? ADMIN_ASSIGN_UNFILLED : 0;
out:
    assign_draw_result_clear(&dr.res);
    return code;
}

/* ---- assignment list / reassign ---------------------------------------------- */

struct asg_list_run {
    struct admin *a;
    const char *observer;
    int all;
    Coachq__V1__Assignment **l;
    size_t n;
    int truncated;
};

static int asg_list_txn(struct store_txn *t, void *arg)
{
    struct asg_list_run *lr = arg;

    assign_list_free(lr->l, lr->n);
    lr->l = NULL;
    lr->n = 0;
    return assign_list(t, lr->observer, lr->all, lr->a->now_ms, &lr->l, &lr->n, &lr->truncated);
}

int admin_run_assignment_list(struct admin *a)
{
    struct asg_list_run lr;
    char id[UUID_STR_LEN], f[16], u[16], obs[UUID_STR_LEN];
    int rc;

    memset(&lr, 0, sizeof(lr));
    lr.a = a;
    lr.observer = a->npos > 0 ? a->pos[0] : NULL;
    lr.all = admin_opt_value(a, "all") != NULL;
    if (lr.observer != NULL && validate_id(lr.observer) < 0) {
        return admin_usage_error(a, "OBSERVER: '%s' is not a valid id", lr.observer);
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, asg_list_txn, &lr);
    if (rc != 0) {
        assign_list_free(lr.l, lr.n);
        return admin_store_failure(a, rc);
    }
    for (size_t i = 0; i < lr.n; i++) {
        const Coachq__V1__Assignment *x = lr.l[i];

        day_format(x->due_from_day, f, sizeof(f));
        day_format(x->due_until_day, u, sizeof(u));
        printf("%s  %-10s observer %-16s manager %-16s due %s..%s  %s", uuid_format(x->id.data, id),
               assign_status_name(x->status), x->observer_id, x->manager_id, f, u, x->plan_scope);
        if (x->observation_id.len == 16) {
            printf("  observation %s", uuid_format(x->observation_id.data, obs));
        }
        if (x->reassigned_to.len == 16) {
            printf("  reassigned to %s", uuid_format(x->reassigned_to.data, obs));
        }
        printf("\n");
    }
    if (lr.n == 0) {
        printf("no assignment%s\n", lr.all ? "" : " is open");
    }
    if (lr.truncated) {
        printf("(the first %d only)\n", ASSIGN_LIST_MAX);
    }
    assign_list_free(lr.l, lr.n);
    return 0;
}

struct reassign_run {
    struct admin *a;
    uint8_t id[16];
    const char *to;
    uint8_t new_id[16];
    struct validate_error fault;
};

static int reassign_txn(struct store_txn *t, void *arg)
{
    struct reassign_run *rr = arg;
    int rc;

    rr->a->err[0] = '\0';
    rc = assign_reassign(t, rr->id, rr->to, rr->a->now_ms, rr->a->actor, rr->new_id, &rr->fault);
    if (rc == ERROR_REFUSED) {
        return admin_txn_fail(rr->a, rc, "%s: %s", rr->fault.field, rr->fault.message);
    }
    if (rc < 0) {
        return admin_txn_fail(rr->a, rc, "%s", error_strerror(rc));
    }
    return 0;
}

int admin_run_assignment_reassign(struct admin *a)
{
    struct reassign_run rr;
    char id[UUID_STR_LEN], nid[UUID_STR_LEN];
    int rc;

    memset(&rr, 0, sizeof(rr));
    rr.a = a;
    rr.to = a->pos[1];
    if (uuid_parse(a->pos[0], rr.id) < 0) {
        return admin_usage_error(a, "ID: '%s' is not an assignment id", a->pos[0]);
    }
    if (validate_id(rr.to) < 0) {
        return admin_usage_error(a, "OBSERVER: '%s' is not a valid id", rr.to);
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, reassign_txn, &rr);
    if (rc != 0) {
        return admin_store_failure(a, rc);
    }
    printf("%s reassigned to %s as %s\n", uuid_format(rr.id, id), rr.to,
           uuid_format(rr.new_id, nid));
    return 0;
}
