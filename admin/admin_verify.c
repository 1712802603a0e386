/*
 * admin_verify: the verbs over the whole store: `coachqd audit` (the audit
 * log), `coachqd demo` (a seeded demo organisation) and `coachqd verify`
 * (the dashboards' aggregates against the records) (admin_int.h).
 */
#include "admin_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "actions.h"
#include "agg.h"
#include "assign.h"
#include "audit.h"
#include "cadence.h"
#include "demo.h"
#include "error.h"
#include "people.h"
#include "store.h"
#include "str.h"

/* ---- audit ----------------------------------------------------------------- */

struct audit_walk {
    int64_t since_ms;
    uint64_t limit; /* 0: every entry */
    uint64_t total; /* entries since since_ms, counted first with a limit */
    uint64_t seen;
    int printing;
};

static int audit_print_cb(const Coachq__V1__AuditEntry *e, void *arg)
{
    struct audit_walk *w = arg;
    char at[32];

    if (!w->printing) {
        w->total++;
        return 0;
    }
    /* With a limit, pass over all but the newest entries. */
    if (w->limit > 0 && w->total > w->limit && w->seen++ < w->total - w->limit) {
        return 0;
    }
    printf("%" PRIu64 "  %s  %s  %s  %s  %s  (%s)\n", e->seq,
           admin_fmt_ms(e->at_ms, at, sizeof(at)), e->actor, e->action,
           e->subject[0] ? e->subject : "-", e->detail[0] ? e->detail : "-",
           e->origin[0] ? e->origin : "-");
    return 0;
}

static int audit_txn(struct store_txn *t, void *arg)
{
    struct audit_walk *w = arg;
    int rc;

    /* Both passes in one read transaction see the same entries. */
    if (w->limit > 0) {
        rc = audit_list(t, w->since_ms, audit_print_cb, w);
        if (rc < 0) {
            return rc;
        }
    }
    w->printing = 1;
    return audit_list(t, w->since_ms, audit_print_cb, w);
}

int admin_run_audit(struct admin *a)
{
    struct audit_walk w;
    const char *since = admin_opt_value(a, "since");
    long limit;
    int rc;

    memset(&w, 0, sizeof(w));
    if (since != NULL && admin_parse_time_ms(since, &w.since_ms) < 0) {
        return admin_usage_error(a, "--since: '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ",
                                 since);
    }
    if (admin_opt_long(a, "limit", 1, LONG_MAX, 0, &limit) < 0) {
        return 2;
    }
    w.limit = (uint64_t)limit;
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_view(a->store, audit_txn, &w);
    return rc < 0 ? admin_store_failure(a, rc) : 0;
}

/* ---- demo ------------------------------------------------------------------- */

static int any_person_cb(const Coachq__V1__Person *p, void *arg)
{
    (void)p;
    *(int *)arg = 1;
    return 1;
}

static int any_person_txn(struct store_txn *t, void *arg)
{
    return people_list(t, any_person_cb, arg);
}

struct demo_audit {
    struct admin *a;
    char detail[256];
};

static int demo_audit_txn(struct store_txn *t, void *arg)
{
    struct demo_audit *d = arg;

    return audit_append(t, d->a->now_ms, d->a->actor, "demo", d->a->data_dir, d->detail,
                        d->a->origin, NULL);
}

int admin_run_demo(struct admin *a)
{
    struct demo_summary sum;
    struct demo_opts o;
    struct demo_audit da;
    const char *seed = admin_opt_value(a, "seed");
    int found = 0;
    int rc;

    memset(&o, 0, sizeof(o));
    memset(&sum, 0, sizeof(sum));
    o.seed = 1;
    if (seed != NULL && admin_parse_u64(seed, &o.seed) < 0) {
        return admin_usage_error(a, "--seed: '%s' is not a whole number", seed);
    }
    o.now = a->now_ms / 1000;
    o.progress = stderr;
    if (admin_open_store(a, 1) < 0) {
        return 1;
    }
    rc = store_view(a->store, any_person_txn, &found);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    if (found) {
        admin_errorf(a, "'%s' already holds people; the demo needs a new data directory",
                     a->data_dir);
        return 1;
    }
    printf("data directory: %s\n", a->data_dir);
    if (admin_load_builtins(a) != 0) {
        return 1;
    }
    rc = demo_run(a->store, &o, &sum);
    if (rc < 0) {
        admin_errorf(a, "the demo failed: %s",
                     rc == -ENOSYS ? "not available in this build" : error_strerror(rc));
        return 1;
    }
    memset(&da, 0, sizeof(da));
    da.a = a;
    snprintf(da.detail, sizeof(da.detail),
             "seed=%" PRIu64 "; people=%u; observations=%u; calibrations=%u; cohorts=%u", o.seed,
             sum.people, sum.observations, sum.calibrations, sum.cohorts);
    rc = store_exec(a->store, demo_audit_txn, &da);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("demo (seed %" PRIu64 "): %u people: %u observers, %u second-level managers, %u "
           "front-line managers, %u reps, %u enablement lead%s\n",
           o.seed, sum.people, sum.observers, sum.second_level, sum.front_line, sum.reps, sum.leads,
           sum.leads == 1 ? "" : "s");
    printf("  %u observations, %u calibration attempts, %u programme cohorts\n", sum.observations,
           sum.calibrations, sum.cohorts);
    printf("  of them %u second-level managers' reviews of their managers (coaching-the-coach) "
           "and %u sessions second-level managers observed in their own lines\n",
           sum.ctc_reviews, sum.slm_observed);
    printf("start the server with '%s --data %s'\n", a->prog, a->data_dir);
    return 0;
}

/* ---- Dashboards: verify, outcomes, browser sign-in ------------------ */

static void verify_diff_cb(const char *key, const char *what, void *arg)
{
    (void)arg;
    printf("difference: %s: %s\n", key, what);
}

struct verify_repair {
    struct admin *a;
    const struct agg_verify_result *r;
};

static int verify_repair_txn(struct store_txn *t, void *arg)
{
    struct verify_repair *vr = arg;
    char detail[160];
    int rc;

    rc = agg_rebuild_txn(t);
    if (rc != 0) {
        return rc;
    }
    snprintf(detail, sizeof(detail),
             "aggregates rebuilt; differences=%" PRIu64 "; observations=%" PRIu64,
             vr->r->differences, vr->r->observations);
    return audit_append(t, vr->a->now_ms, vr->a->actor, "verify.repair", "aggregates", detail,
                        vr->a->origin, NULL);
}

struct verify_actions_audit {
    struct admin *a;
    const struct actions_verify_result *r;
};

static int verify_actions_audit_txn(struct store_txn *t, void *arg)
{
    struct verify_actions_audit *va = arg;
    char detail[160];

    snprintf(detail, sizeof(detail),
             "action records derived again; differences=%" PRIu64 "; records=%" PRIu64,
             va->r->differences, va->r->expected);
    return audit_append(t, va->a->now_ms, va->a->actor, "verify.repair", "actions", detail,
                        va->a->origin, NULL);
}

/* The action records against the observations (actions.h): derived again
 * in a write transaction that is kept only with --repair. Returns 0 (they
 * match, or were repaired), 1 (they differ) or a failure's exit code. */
static int verify_actions(struct admin *a, int repair)
{
    struct actions_verify_result r;
    struct verify_actions_audit va;
    int rc;

    rc = actions_verify(a->store, repair, &r);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("action records: %" PRIu64 "\nexpected from the observations: %" PRIu64
           "\naction differences: %" PRIu64 "\n",
           r.records, r.expected, r.differences);
    if (r.differences == 0) {
        printf("the action records match the observations\n");
        return 0;
    }
    if (!repair) {
        printf("the action records differ from the observations; '%s verify --repair --data %s' "
               "derives them again\n",
               a->prog, a->data_dir);
        return 1;
    }
    va.a = a;
    va.r = &r;
    rc = store_exec(a->store, verify_actions_audit_txn, &va);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("repaired: every action record was derived again from the observations\n");
    return 0;
}

struct verify_assign_audit {
    struct admin *a;
    const struct assign_verify_result *r;
};

static int verify_assign_audit_txn(struct store_txn *t, void *arg)
{
    struct verify_assign_audit *va = arg;
    const struct assign_verify_result *r = va->r;
    char detail[400];
    size_t n;

    n = (size_t)snprintf(detail, sizeof(detail),
                         "assignment indexes written afresh; differences=%" PRIu64
                         "; assignments=%" PRIu64,
                         r->differences, r->assignments);
    /* The indexes that differed, each with its count. */
    for (size_t i = 0; i < ASSIGN_VERIFY_NINDEX && n < sizeof(detail); i++) {
        if (r->index_differences[i] > 0) {
            n += (size_t)snprintf(detail + n, sizeof(detail) - n, "; %s=%" PRIu64,
                                  assign_verify_index_name(i), r->index_differences[i]);
        }
    }
    return audit_append(t, va->a->now_ms, va->a->actor, "verify.repair", "assignments", detail,
                        va->a->origin, NULL);
}

/* The assignment indexes (asg_open, asg_by_manager, asg_due, asg_obs_due) against the
 * assignments (assign_verify()), repaired with --repair. Returns 0 (they
 * match, or were repaired), 1 (they differ) or a failure's exit code. */
static int verify_assign(struct admin *a, int repair)
{
    struct assign_verify_result r;
    struct verify_assign_audit va;
    int rc;

    rc = assign_verify(a->store, repair, &r);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("assignments: %" PRIu64 "\nassignment index entries: %" PRIu64
           "\nassignment index differences: %" PRIu64 "\n",
           r.assignments, r.entries, r.differences);
    for (size_t i = 0; i < ASSIGN_VERIFY_NINDEX; i++) {
        if (r.index_differences[i] > 0) {
            printf("assignment index %s differs: %" PRIu64 " %s\n", assign_verify_index_name(i),
                   r.index_differences[i],
                   str_plural((size_t)r.index_differences[i], "entry missing or extra",
                              "entries missing or extra"));
        }
    }
    if (r.differences == 0) {
        printf("the assignment indexes match the assignments\n");
        return 0;
    }
    if (!repair) {
        printf("the assignment indexes differ from the assignments; '%s verify --repair --data "
               "%s' writes them afresh\n",
               a->prog, a->data_dir);
        return 1;
    }
    va.a = a;
    va.r = &r;
    rc = store_exec(a->store, verify_assign_audit_txn, &va);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("repaired: the assignment indexes were written afresh from the assignments\n");
    return 0;
}

struct verify_cadence_audit {
    struct admin *a;
    const struct cadence_verify_result *r;
};

static int verify_cadence_audit_txn(struct store_txn *t, void *arg)
{
    struct verify_cadence_audit *va = arg;
    char detail[160];

    snprintf(detail, sizeof(detail),
             "coaching days counted again; differences=%" PRIu64 "; sessions=%" PRIu64,
             va->r->differences, va->r->sessions);
    return audit_append(t, va->a->now_ms, va->a->actor, "verify.repair", "cadence", detail,
                        va->a->origin, NULL);
}

/* The coaching days' counts (cadence.h) against a count from the rep index
 * (cadence_verify()), repaired with --repair. Returns 0 (they match, or
 * were repaired), 1 (they differ) or a failure's exit code. */
static int verify_cadence(struct admin *a, int repair)
{
    struct cadence_verify_result r;
    struct verify_cadence_audit va;
    int rc;

    rc = cadence_verify(a->store, repair, &r);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("coaching day counts: %" PRIu64 "\nexpected from the observations: %" PRIu64
           "\ncoaching day differences: %" PRIu64 "\n",
           r.stored, r.expected, r.differences);
    if (r.differences == 0) {
        printf("the coaching day counts match the observations\n");
        return 0;
    }
    if (!repair) {
        printf("the coaching day counts differ from the observations; '%s verify --repair --data "
               "%s' counts them again\n",
               a->prog, a->data_dir);
        return 1;
    }
    va.a = a;
    va.r = &r;
    rc = store_exec(a->store, verify_cadence_audit_txn, &va);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("repaired: the coaching day counts were counted again from the observations\n");
    return 0;
}

/* The derived data beside the aggregates: the action records, the
 * assignment indexes and the coaching days' counts. Returns the worst. */
static int verify_derived(struct admin *a, int repair)
{
    int rc = verify_actions(a, repair);
    int rc2 = verify_assign(a, repair);
    int rc3 = verify_cadence(a, repair);

    rc = rc > rc2 ? rc : rc2;
    return rc > rc3 ? rc : rc3;
}

/* Compares in one read transaction; a repair rebuilds everything in one
 * write transaction (with its audit entry), so records written meanwhile
 * are included too. The action records and the assignment indexes follow
 * (verify_derived()). Exit 0:
 * no difference, or repaired; 1: differences. */
int admin_run_verify(struct admin *a)
{
    struct agg_verify_result r;
    struct verify_repair vr;
    int repair = admin_opt_value(a, "repair") != NULL;
    int rc;

    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = agg_verify(a->store, 0, verify_diff_cb, NULL, &r);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("observations read: %" PRIu64 "\ncounted: %" PRIu64 "\naggregate values: %" PRIu64
           "\ndifferences: %" PRIu64 "\n",
           r.observations, r.counted, r.keys, r.differences);
    if (r.differences == 0) {
        printf("the aggregates match the records\n");
        return verify_derived(a, repair);
    }
    if (!repair) {
        printf("the aggregates differ from the records; '%s verify --repair --data %s' rebuilds "
               "them\n",
               a->prog, a->data_dir);
        verify_derived(a, 0);
        return 1;
    }
    vr.a = a;
    vr.r = &r;
    rc = store_exec(a->store, verify_repair_txn, &vr);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    printf("repaired: every aggregate was rebuilt from the records\n");
    return verify_derived(a, repair);
}
