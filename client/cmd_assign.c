/*
 * cmd_assign: the observation programme in the client (docs/programme.md):
 * `coachq assignments`, an observer's queue of assigned observations (or a
 * lead's view of anybody's), and `coachq assign`, a lead's draw of
 * assignments under a coverage plan, both answered by the server.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "client.h"
#include "day.h"
#include "str.h"
#include "uuid.h"
#include "validate.h"

/* Exit status of a draw that left some manager without an observer. */
#define CLI_EXIT_UNFILLED 4

static const char *asg_status(Coachq__V1__AssignmentStatus s)
{
    switch (s) {
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN:
        return "open";
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE:
        return "done";
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED:
        return "expired";
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_REASSIGNED:
        return "reassigned";
    default:
        return "unknown";
    }
}

static json_t *asg_json(const Coachq__V1__Assignment *a)
{
    json_t *o = json_object();
    char buf[UUID_STR_LEN + DAY_TIME_LEN];

    if (o == NULL) {
        return NULL;
    }
    if (a->id.len == UUID_LEN) {
        json_object_set_new(o, "id", json_string(uuid_format(a->id.data, buf)));
    }
    json_object_set_new(o, "status", json_string(asg_status(a->status)));
    json_object_set_new(o, "observer", json_string(a->observer_id));
    json_object_set_new(o, "manager", json_string(a->manager_id));
    json_object_set_new(o, "rubric", json_string(a->rubric_id));
    day_format(a->due_from_day, buf, sizeof(buf));
    json_object_set_new(o, "due_from", json_string(buf));
    day_format(a->due_until_day, buf, sizeof(buf));
    json_object_set_new(o, "due_until", json_string(buf));
    json_object_set_new(o, "plan", json_string(a->plan_scope));
    json_object_set_new(o, "line", json_string(a->stratum));
    if (a->draw_id.len == UUID_LEN) {
        json_object_set_new(o, "draw", json_string(uuid_format(a->draw_id.data, buf)));
    }
    if (a->observation_id.len == UUID_LEN) {
        json_object_set_new(o, "observation",
                            json_string(uuid_format(a->observation_id.data, buf)));
    }
    if (a->reassigned_to.len == UUID_LEN) {
        json_object_set_new(o, "reassigned_to",
                            json_string(uuid_format(a->reassigned_to.data, buf)));
    }
    return o;
}

static int print_json_list(struct cli *x, Coachq__V1__Assignment *const *a, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (json_array_append_new(arr, asg_json(a[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    {
        int rc = cli_print_json(x, arr);

        json_decref(arr);
        return rc;
    }
}

static void print_table(struct cli *x, Coachq__V1__Assignment *const *a, size_t n, int observers)
{
    char id[UUID_STR_LEN], f[DAY_TIME_LEN], u[DAY_TIME_LEN];

    fprintf(x->out, "%-36s  %-10s  %s%-16s  %-22s  %-10s  %s\n", "id", "status",
            observers ? "observer          " : "", "manager", "rubric", "from", "until");
    for (size_t i = 0; i < n; i++) {
        day_format(a[i]->due_from_day, f, sizeof(f));
        day_format(a[i]->due_until_day, u, sizeof(u));
        if (observers) {
            fprintf(x->out, "%-36s  %-10s  %-16s  %-16s  %-22s  %-10s  %s\n",
                    uuid_format(a[i]->id.data, id), asg_status(a[i]->status), a[i]->observer_id,
                    a[i]->manager_id, a[i]->rubric_id, f, u);
        } else {
            fprintf(x->out, "%-36s  %-10s  %-16s  %-22s  %-10s  %s\n",
                    uuid_format(a[i]->id.data, id), asg_status(a[i]->status), a[i]->manager_id,
                    a[i]->rubric_id, f, u);
        }
    }
}

/* ---- assignments ---------------------------------------------------------- */

struct list_args {
    Coachq__V1__ListAssignments q;
    int json;
};

static int take_list_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct list_args *a = arg;

    switch (opt) {
    case OPT_OBSERVER:
        if (strcmp(val, "*") != 0 && validate_id(val) < 0) {
            cli_usage(x, "--observer: '%s' is not a person's id, nor '*'", val);
            return -CLI_EXIT_USAGE;
        }
        a->q.observer_id = (char *)val;
        return 1;
    case OPT_ALL:
        a->q.all_statuses = 1;
        return 1;
    case OPT_JSON:
        a->json = 1;
        return 1;
    default:
        return 0;
    }
}

int cli_cmd_assignments(struct cli *x, int argc, char **argv)
{
    struct list_args a;
    struct client *c = NULL;
    Coachq__V1__AssignmentList *l = NULL;
    struct client_error e;
    int rc;

    memset(&a, 0, sizeof(a));
    coachq__v1__list_assignments__init(&a.q);
    rc = cli_parse_options(x, argc, argv, &cli_doc_assignments, take_list_option, &a);
    if (rc >= 0) {
        return rc;
    }
    if (optind < argc) {
        return cli_usage(x, "unexpected argument '%s'", argv[optind]);
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_assignments(c, &a.q, &l, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        goto out;
    }
    if (a.json) {
        /* The array stays bare (scripts parse it): the cut is said on the
         * error stream, as the text output's last line says it. */
        if (l->truncated) {
            cli_msg(x,
                    "truncated: %zu assignment%s shown, more are stored (open ones soonest due "
                    "first)",
                    l->n_assignments, str_plural(l->n_assignments, "", "s"));
        }
        rc = print_json_list(x, l->assignments, l->n_assignments);
        goto out;
    }
    print_table(x, l->assignments, l->n_assignments,
                a.q.observer_id != NULL && a.q.observer_id[0] != '\0');
    fprintf(x->out, "%zu assignment%s%s\n", l->n_assignments, str_plural(l->n_assignments, "", "s"),
            l->truncated ? " (truncated: more are stored; open ones soonest due first)" : "");
    rc = CLI_EXIT_OK;
out:
    coachq__v1__assignment_list__free_unpacked(l, NULL);
    client_free(c);
    return rc;
}

/* ---- assign --------------------------------------------------------------- */

/* The draw's answer as one JSON object: the draw, the assignments and
 * unfilled managers it carries, and whether it carries them all
 * ("truncated", with the totals, as the text output's last line says). */
static int print_json_draw(struct cli *x, const Coachq__V1__AssignmentDrawResult *d)
{
    json_t *o = json_object(), *arr = json_array(), *un = json_array(), *dw = json_object();
    char buf[UUID_STR_LEN], seed[24];
    int rc = -ENOMEM;

    if (o == NULL || arr == NULL || un == NULL || dw == NULL) {
        goto out;
    }
    for (size_t i = 0; i < d->n_assignments; i++) {
        if (json_array_append_new(arr, asg_json(d->assignments[i])) < 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < d->n_unfilled_managers; i++) {
        if (json_array_append_new(un, json_string(d->unfilled_managers[i])) < 0) {
            goto out;
        }
    }
    if (d->draw != NULL) {
        if (d->draw->id.len == UUID_LEN) {
            json_object_set_new(dw, "id", json_string(uuid_format(d->draw->id.data, buf)));
        }
        json_object_set_new(dw, "plan", json_string(d->draw->plan_scope));
        /* A string: a seed may pass JSON's exact integers. */
        snprintf(seed, sizeof(seed), "%" PRIu64, d->draw->seed);
        json_object_set_new(dw, "seed", json_string(seed));
        day_format(d->draw->due_from_day, buf, sizeof(buf));
        json_object_set_new(dw, "due_from", json_string(buf));
        day_format(d->draw->due_until_day, buf, sizeof(buf));
        json_object_set_new(dw, "due_until", json_string(buf));
        json_object_set_new(dw, "assigned", json_integer(d->draw->assigned));
        json_object_set_new(dw, "unfilled", json_integer(d->draw->unfilled));
    }
    json_object_set_new(o, "dry_run", json_boolean(d->dry_run));
    json_object_set_new(o, "draw", dw);
    dw = NULL;
    json_object_set_new(o, "assignments", arr);
    arr = NULL;
    json_object_set_new(o, "unfilled_managers", un);
    un = NULL;
    json_object_set_new(o, "truncated", json_boolean(d->truncated));
    json_object_set_new(o, "assignments_shown", json_integer((json_int_t)d->n_assignments));
    json_object_set_new(o, "assignments_total",
                        json_integer(d->draw != NULL ? d->draw->assigned : 0));
    json_object_set_new(o, "unfilled_managers_shown",
                        json_integer((json_int_t)d->n_unfilled_managers));
    json_object_set_new(o, "unfilled_managers_total", json_integer(d->unfilled_manager_count));
    rc = cli_print_json(x, o);
out:
    if (rc == -ENOMEM) {
        /* Out of memory: cli_print_json() says so. */
        rc = cli_print_json(x, NULL);
    }
    json_decref(o);
    json_decref(arr);
    json_decref(un);
    json_decref(dw);
    return rc;
}

struct draw_args {
    Coachq__V1__DrawAssignments q;
    int json;
};

static int take_draw_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct draw_args *a = arg;
    unsigned long v;
    uint32_t day;
    char *end = NULL;

    switch (opt) {
    case OPT_SEED:
        errno = 0;
        a->q.seed = strtoull(val, &end, 10);
        if (val[0] < '0' || val[0] > '9' || end == NULL || *end != '\0' || errno != 0) {
            cli_usage(x, "--seed: '%s' is not a whole number below 2^64", val);
            return -CLI_EXIT_USAGE;
        }
        a->q.has_seed = 1;
        return 1;
    case OPT_PERIOD:
        if (day_parse(val, &day) < 0) {
            cli_usage(x, "--period: '%s' is not a date (YYYY-MM-DD)", val);
            return -CLI_EXIT_USAGE;
        }
        a->q.period_day = (int32_t)day;
        return 1;
    case OPT_SAMPLE:
        if (cli_parse_ulong(val, 1, 20000, &v) < 0) {
            cli_usage(x, "--sample: '%s' is not a number from 1 to 20000", val);
            return -CLI_EXIT_USAGE;
        }
        a->q.sample = (uint32_t)v;
        return 1;
    case OPT_DRY_RUN:
        a->q.dry_run = 1;
        return 1;
    case OPT_JSON:
        a->json = 1;
        return 1;
    default:
        return 0;
    }
}

int cli_cmd_assign(struct cli *x, int argc, char **argv)
{
    struct draw_args a;
    struct client *c = NULL;
    Coachq__V1__AssignmentDrawResult *d = NULL;
    struct client_error e;
    char id[UUID_STR_LEN], f[DAY_TIME_LEN], u[DAY_TIME_LEN];
    int rc;

    memset(&a, 0, sizeof(a));
    coachq__v1__draw_assignments__init(&a.q);
    rc = cli_parse_options(x, argc, argv, &cli_doc_assign, take_draw_option, &a);
    if (rc >= 0) {
        return rc;
    }
    if (optind + 1 != argc) {
        return cli_usage(x, "give one SCOPE: programme:ID or line:ID");
    }
    a.q.plan_scope = argv[optind];
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_draw_assignments(c, &a.q, &d, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        goto out;
    }
    if (a.json) {
        rc = print_json_draw(x, d);
    } else if (d->draw != NULL && d->draw->id.len == UUID_LEN) {
        day_format(d->draw->due_from_day, f, sizeof(f));
        day_format(d->draw->due_until_day, u, sizeof(u));
        fprintf(x->out,
                "%sdraw %s plan %s seed %" PRIu64 " window %s..%s: %u assigned, %u unfilled\n",
                d->dry_run ? "dry run, nothing written: " : "", uuid_format(d->draw->id.data, id),
                d->draw->plan_scope, d->draw->seed, f, u, d->draw->assigned, d->draw->unfilled);
        print_table(x, d->assignments, d->n_assignments, 1);
        for (size_t i = 0; i < d->n_unfilled_managers; i++) {
            fprintf(x->out, "unfilled: manager %s (no eligible observer left)\n",
                    d->unfilled_managers[i]);
        }
        if (d->truncated) {
            fprintf(x->out,
                    "truncated: showing %zu of %u assignments and %zu of %u unfilled managers\n",
                    d->n_assignments, d->draw->assigned, d->n_unfilled_managers,
                    d->unfilled_manager_count);
        }
        rc = CLI_EXIT_OK;
    }
    if (rc == CLI_EXIT_OK && d->n_unfilled_managers > 0) {
        rc = CLI_EXIT_UNFILLED;
    }
out:
    coachq__v1__assignment_draw_result__free_unpacked(d, NULL);
    client_free(c);
    return rc;
}

/* ---- plan ------------------------------------------------------------------- */

struct plan_args {
    Coachq__V1__CoveragePlan p;
    char rubric[VALIDATE_MAX_ID + 1];
    int json, month, week;
};

static int take_plan_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct plan_args *a = arg;
    unsigned long v;

    switch (opt) {
    case OPT_RUBRIC:
        if (validate_id(val) < 0) {
            cli_usage(x, "--rubric: '%s' is not a rubric id", val);
            return -CLI_EXIT_USAGE;
        }
        snprintf(a->rubric, sizeof(a->rubric), "%s", val);
        a->p.rubric_id = a->rubric;
        return 1;
    case OPT_PER_MONTH:
    case OPT_PER_WEEK:
        if (cli_parse_ulong(val, 1, 31, &v) < 0) {
            cli_usage(x, "--per-%s: '%s' is not a number from 1 to 31",
                      opt == OPT_PER_MONTH ? "month" : "week", val);
            return -CLI_EXIT_USAGE;
        }
        a->p.per_period = (uint32_t)v;
        a->month |= opt == OPT_PER_MONTH;
        a->week |= opt == OPT_PER_WEEK;
        return 1;
    case OPT_LOAD_CAP:
        if (cli_parse_ulong(val, 1, 20000, &v) < 0) {
            cli_usage(x, "--load-cap: '%s' is not a number from 1 to 20000", val);
            return -CLI_EXIT_USAGE;
        }
        a->p.load_cap = (uint32_t)v;
        return 1;
    case OPT_OFF_LINE:
        a->p.off_own_line = 1;
        return 1;
    case OPT_OFF_REPORTS:
        a->p.off_own_reports = 1;
        return 1;
    case OPT_OFF_LAST:
        a->p.off_last_observed = 1;
        return 1;
    case OPT_JSON:
        a->json = 1;
        return 1;
    default:
        return 0;
    }
}

static json_t *plan_json(const Coachq__V1__CoveragePlan *p)
{
    json_t *o = json_object();
    char when[DAY_TIME_LEN];

    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "scope", json_string(p->scope));
    json_object_set_new(o, "rubric", json_string(p->rubric_id));
    json_object_set_new(o, "per_period", json_integer(p->per_period));
    json_object_set_new(o, "period",
                        json_string(p->period == COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK
                                        ? "week"
                                        : "month"));
    json_object_set_new(o, "load_cap", json_integer(p->load_cap));
    json_object_set_new(o, "off_own_line", json_boolean(p->off_own_line));
    json_object_set_new(o, "off_own_reports", json_boolean(p->off_own_reports));
    json_object_set_new(o, "off_last_observed", json_boolean(p->off_last_observed));
    day_format_time_ms(p->set_at_ms, when, sizeof(when));
    json_object_set_new(o, "set_at", json_string(when));
    json_object_set_new(o, "set_by", json_string(p->set_by));
    return o;
}

int cli_cmd_plan(struct cli *x, int argc, char **argv)
{
    struct plan_args a;
    Coachq__V1__SetCoveragePlan q = COACHQ__V1__SET_COVERAGE_PLAN__INIT;
    Coachq__V1__CoveragePlanList *l = NULL;
    struct client *c = NULL;
    struct client_error e;
    json_t *arr = NULL;
    int rc;

    memset(&a, 0, sizeof(a));
    coachq__v1__coverage_plan__init(&a.p);
    rc = cli_parse_options(x, argc, argv, &cli_doc_plan, take_plan_option, &a);
    if (rc >= 0) {
        return rc;
    }
    if (optind + 1 < argc) {
        return cli_usage(x, "unexpected argument '%s'", argv[optind + 1]);
    }
    if (optind == argc) {
        if (a.month || a.week) {
            return cli_usage(x, "name the plan's SCOPE (programme:ID or line:ID) to set it");
        }
        q.list_only = 1;
    } else {
        if (a.p.rubric_id == NULL || a.month == a.week) {
            return cli_usage(x, "give --rubric ID and one of --per-month N and --per-week N");
        }
        a.p.scope = argv[optind];
        a.p.period = a.month ? COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_MONTH
                             : COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK;
        q.plan = &a.p;
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_coverage_plans(c, &q, &l, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        goto out;
    }
    if (a.json) {
        arr = json_array();
        for (size_t i = 0; arr != NULL && i < l->n_plans; i++) {
            json_array_append_new(arr, plan_json(l->plans[i]));
        }
        rc = cli_print_json(x, arr);
        goto out;
    }
    if (!q.list_only) {
        fprintf(x->out, "%s: %s\n", a.p.scope, l->changed ? "set" : "unchanged");
    }
    for (size_t i = 0; i < l->n_plans; i++) {
        const Coachq__V1__CoveragePlan *p = l->plans[i];

        fprintf(x->out, "%-28s %u per %s, rubric %s%s%s%s\n", p->scope, p->per_period,
                p->period == COACHQ__V1__COVERAGE_PERIOD__COVERAGE_PERIOD_WEEK ? "week" : "month",
                p->rubric_id, p->off_own_line ? ", off own line" : "",
                p->off_own_reports ? ", off own reports" : "",
                p->off_last_observed ? ", off last observed" : "");
    }
    if (l->n_plans == 0) {
        fprintf(x->out, "no coverage plan is set\n");
    }
    rc = CLI_EXIT_OK;
out:
    json_decref(arr);
    coachq__v1__coverage_plan_list__free_unpacked(l, NULL);
    client_free(c);
    return rc;
}
