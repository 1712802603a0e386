/*
 * cmd_observe: observe and amend, which parse their options, flush the
 * outbox quietly and hand the terminal to the observe UI (observe.h).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <string.h>

#include "cli_int.h"
#include "client.h"
#include "day.h"
#include "localstore.h"
#include "obs_json.h"
#include "observe.h"
#include "outbox.h"
#include "uuid.h"
#include "validate.h"

/* ---- observe and amend --------------------------------------------------- */

/* The value of an enum whose JSON names name_of gives (d lists the
 * values), or -1. */
static int enum_by_name(const ProtobufCEnumDescriptor *d, const char *(*name_of)(int),
                        const char *s)
{
    for (unsigned i = 0; i < d->n_values; i++) {
        const char *n = name_of(d->values[i].value);

        if (n != NULL && strcmp(n, s) == 0) {
            return d->values[i].value;
        }
    }
    return -1;
}

/* The options of `observe`, and what they point to. */
struct observe_args {
    struct observe_opts o;
    char rubric[128];
    uint8_t fix_id[UUID_LEN];
    int fix;
    uint8_t asg_id[UUID_LEN];
    int assigned;
    char asg_coach[VALIDATE_MAX_ID + 1];
    char asg_rubric[VALIDATE_MAX_ID + 1];
};

static int take_observe_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct observe_args *a = arg;

    switch (opt) {
    case OPT_RUBRIC:
        if (cli_split_rubric_ref(val, a->rubric, sizeof(a->rubric), &a->o.rubric_version) < 0) {
            cli_usage(x, "--rubric: '%s' is not ID or ID@VERSION (like coaching-conversation@1)",
                      val);
            return -CLI_EXIT_USAGE;
        }
        a->o.rubric_id = a->rubric;
        return 1;
    case OPT_COACH:
        a->o.coach_id = val;
        return 1;
    case OPT_COACHEE:
        a->o.coachee_id = val;
        return 1;
    case OPT_TYPE:
        a->o.session_type =
            enum_by_name(&coachq__v1__session_type__descriptor, obs_json_session_type_name, val);
        if (a->o.session_type < 0) {
            cli_usage(x,
                      "--type: '%s' is not a session type (deal_review, call_review, "
                      "pipeline_review, account_plan, skill_practice, personal_check_in)",
                      val);
            return -CLI_EXIT_USAGE;
        }
        return 1;
    case OPT_FOCUS:
        a->o.focus =
            enum_by_name(&coachq__v1__coaching_focus__descriptor, obs_json_focus_name, val);
        if (a->o.focus < 0) {
            cli_usage(x, "--focus: '%s' is not process, skill or human", val);
            return -CLI_EXIT_USAGE;
        }
        return 1;
    case OPT_RESUME:
        a->o.resume = 1;
        return 1;
    case OPT_RECORDING:
        a->o.recording_ref = val;
        return 1;
    case OPT_LENGTH:
        if (obs_json_parse_offset(val, &a->o.recording_length_ms) < 0 ||
            a->o.recording_length_ms == 0) {
            cli_usage(x, "--length: '%s' is not a length like 31:20 or 1:05:00", val);
            return -CLI_EXIT_USAGE;
        }
        return 1;
    case OPT_FIX:
        if (uuid_parse(val, a->fix_id) < 0) {
            cli_usage(x, "--fix: '%s' is not a UUID (as 'coachq queue list' shows them)", val);
            return -CLI_EXIT_USAGE;
        }
        a->fix = 1;
        return 1;
    case OPT_ASSIGNMENT:
        if (uuid_parse(val, a->asg_id) < 0) {
            cli_usage(x, "--assignment: '%s' is not a UUID (as 'coachq assignments' shows them)",
                      val);
            return -CLI_EXIT_USAGE;
        }
        a->assigned = 1;
        return 1;
    default:
        return 0;
    }
}

/*
 * Sends what waits in the outbox before the UI starts ("at the next
 * start"), with a short timeout so that an unreachable server does not
 * hold the observer up; one line says what became of it. Entries stay
 * queued when the server is not reached.
 */
static void flush_quietly(struct cli *x, struct localstore *ls, const struct client_opts *conn)
{
    struct client_opts quick = *conn;
    struct outbox_summary sum;

    quick.timeout_ms = 5000;
    (void)outbox_flush(ls, &quick, 0, &sum);
    if (sum.sent + sum.duplicates + sum.rejected > 0) {
        fprintf(x->err, "outbox: %zu sent, %zu rejected, %zu still waiting (coachq queue list)\n",
                sum.sent + sum.duplicates, sum.rejected, sum.waiting);
    }
}

/* Why an assignment is not open, in words. */
static const char *assignment_words(int status)
{
    switch (status) {
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_DONE:
        return "done already (fulfilled by an observation)";
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_EXPIRED:
        return "expired (its due window has passed)";
    case COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_REASSIGNED:
        return "reassigned to another observer";
    default:
        return "not open";
    }
}

/* Asks the server for the caller's assignments, every status when all is
 * set, into *l; returns 0, or an exit code after saying why. */
static int list_assignments(struct cli *x, struct client *c, int all,
                            Coachq__V1__AssignmentList **l)
{
    Coachq__V1__ListAssignments q = COACHQ__V1__LIST_ASSIGNMENTS__INIT;
    struct client_error e;
    int rc;

    q.all_statuses = all;
    rc = client_assignments(c, &q, l, &e);
    return rc < 0 ? cli_request_failed(x, rc, &e) : 0;
}

/* The assignment id in l, or NULL. */
static const Coachq__V1__Assignment *find_assignment(const Coachq__V1__AssignmentList *l,
                                                     const uint8_t *id)
{
    for (size_t i = 0; i < l->n_assignments; i++) {
        const Coachq__V1__Assignment *s = l->assignments[i];

        if (s->id.len == UUID_LEN && memcmp(s->id.data, id, UUID_LEN) == 0) {
            return s;
        }
    }
    return NULL;
}

/* Reads the caller's open assignment a->asg_id from the server and presets
 * its manager and rubric. Returns 0 or an exit code after saying why. */
static int take_assignment(struct cli *x, struct observe_args *a)
{
    Coachq__V1__AssignmentList *l = NULL;
    const Coachq__V1__Assignment *s;
    struct client *c = NULL;
    char ids[UUID_STR_LEN], until[DAY_TIME_LEN];
    int rc = cli_connect_server(x, 0, &c);

    if (rc != 0) {
        return rc;
    }
    /* The open ones first: the server lists them whole, soonest due first. */
    rc = list_assignments(x, c, 0, &l);
    if (rc != 0) {
        goto out;
    }
    s = find_assignment(l, a->asg_id);
    if (s == NULL && !l->truncated) {
        /* Then closed ones too, so that one no longer open is refused saying why. */
        coachq__v1__assignment_list__free_unpacked(l, NULL);
        l = NULL;
        rc = list_assignments(x, c, 1, &l);
        if (rc != 0) {
            goto out;
        }
        s = find_assignment(l, a->asg_id);
    }
    rc = CLI_EXIT_USAGE;
    if (s == NULL) {
        if (l->truncated) {
            /* Part of the organisation's assignments were read: say no more than is known. */
            cli_msg(x,
                    "--assignment %s is not among your open assignments (see coachq assignments "
                    "--all)",
                    uuid_format(a->asg_id, ids));
        } else {
            cli_msg(x,
                    "--assignment %s is not one of your open assignments (coachq assignments): "
                    "it is someone else's, or no assignment at all",
                    uuid_format(a->asg_id, ids));
        }
        goto out;
    }
    if (s->status != COACHQ__V1__ASSIGNMENT_STATUS__ASSIGNMENT_OPEN) {
        day_format(s->due_until_day, until, sizeof(until));
        cli_msg(x,
                "--assignment %s (observe %s by %s) is %s: start from an open one "
                "(coachq assignments)",
                uuid_format(a->asg_id, ids), s->manager_id, until, assignment_words(s->status));
        goto out;
    }
    if (a->o.coach_id != NULL && strcmp(a->o.coach_id, s->manager_id) != 0) {
        cli_msg(x, "--coach %s: the assignment is to observe %s", a->o.coach_id, s->manager_id);
        goto out;
    }
    snprintf(a->asg_coach, sizeof(a->asg_coach), "%s", s->manager_id);
    snprintf(a->asg_rubric, sizeof(a->asg_rubric), "%s", s->rubric_id);
    a->o.coach_id = a->asg_coach;
    if (a->o.rubric_id == NULL) {
        a->o.rubric_id = a->asg_rubric;
    }
    a->o.assignment_id = a->asg_id;
    day_format(s->due_until_day, until, sizeof(until));
    fprintf(x->err, "assignment %s: observe %s (%s) by %s\n", uuid_format(a->asg_id, ids),
            s->manager_id, s->rubric_id, until);
    rc = 0;
out:
    coachq__v1__assignment_list__free_unpacked(l, NULL);
    client_free(c);
    return rc;
}

/* Flushes the outbox, then runs the UI with o. Returns its exit code. */
int cli_observe_start(struct cli *x, struct localstore *ls, struct observe_opts *o)
{
    struct client_opts conn;
    char label[300];
    int rc = cli_client_settings(x, 0, &conn);

    if (rc != 0) {
        return rc;
    }
    snprintf(label, sizeof(label), strchr(x->host, ':') != NULL ? "[%s]:%s" : "%s:%s", x->host,
             x->port);
    o->conn = &conn;
    o->server_label = label;
    flush_quietly(x, ls, &conn);
    fflush(x->out);
    fflush(x->err);
    return observe_run(ls, o, x->out, x->err);
}

int cli_cmd_observe(struct cli *x, int argc, char **argv)
{
    struct observe_args a;
    struct localstore *ls = NULL;
    Coachq__V1__OutboxEntry *fix = NULL;
    int rc;

    memset(&a, 0, sizeof(a));
    rc = cli_parse_options(x, argc, argv, &cli_doc_observe, take_observe_option, &a);
    if (rc >= 0) {
        return rc;
    }
    if (optind < argc) {
        return cli_usage(x, "unexpected argument '%s'", argv[optind]);
    }
    if (a.fix && a.o.resume) {
        return cli_usage(x, "--fix and --resume do not go together");
    }
    rc = cli_check_recording_opts(x, &a.o, a.fix);
    if (rc != 0) {
        return rc;
    }
    if (a.assigned && (a.fix || a.o.resume)) {
        return cli_usage(x, "--assignment starts a new session: not with --fix or --resume");
    }
    if (a.assigned) {
        rc = take_assignment(x, &a);
        if (rc != 0) {
            return rc;
        }
    }
    if (cli_open_store(x, &ls) != 0) {
        /* observe.h's code for a local store failure. */
        return CLI_EXIT_CONNECT;
    }
    if (a.fix) {
        rc = cli_queue_get(x, ls, a.fix_id, &fix);
        if (rc != 0) {
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        a.o.fix = fix;
    }
    rc = cli_observe_start(x, ls, &a.o);
out:
    coachq__v1__outbox_entry__free_unpacked(fix, NULL);
    localstore_close(ls);
    return rc;
}

/* Fetches the caller's own record id. Returns 0 or an exit code. */
static int fetch_own(struct cli *x, const uint8_t id[UUID_LEN], Coachq__V1__StoredObservation **rec)
{
    struct client *c = NULL;
    struct client_error e;
    char ids[UUID_STR_LEN];
    int rc = cli_connect_server(x, 0, &c);

    if (rc != 0) {
        return rc;
    }
    rc = client_get(c, id, rec, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
    } else if ((*rec)->observation == NULL ||
               strcmp((*rec)->observer_id, client_welcome(c)->user_id) != 0) {
        cli_msg(x, "%s was observed by %s, not by you (%s): only its observer may amend it",
                uuid_format(id, ids), cli_or_dash((*rec)->observer_id), client_welcome(c)->user_id);
        rc = CLI_EXIT_FAILED;
    }
    client_free(c);
    return rc;
}

int cli_cmd_amend(struct cli *x, int argc, char **argv)
{
    Coachq__V1__StoredObservation *rec = NULL;
    struct localstore *ls = NULL;
    struct observe_opts o;
    uint8_t id[UUID_LEN];
    int rc = cli_id_options(x, argc, argv, &cli_doc_amend, NULL, id);

    if (rc >= 0) {
        return rc;
    }
    rc = fetch_own(x, id, &rec);
    if (rc != 0) {
        goto out;
    }
    if (cli_open_store(x, &ls) != 0) {
        rc = CLI_EXIT_CONNECT;
        goto out;
    }
    memset(&o, 0, sizeof(o));
    o.amend = rec;
    rc = cli_observe_start(x, ls, &o);
out:
    localstore_close(ls);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc;
}
