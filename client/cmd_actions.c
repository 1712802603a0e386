/*
 * cmd_actions: `coachq actions`, the agreed actions of a coach, a coachee or
 * a line with their status (open, done, partly done, not done, dropped), as
 * a table or as JSON. The server decides which records the caller may read.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "client.h"
#include "day.h"
#include "obs_json.h"
#include "uuid.h"
#include "validate.h"
#include "str.h"

struct actions_args {
    Coachq__V1__ListActions q;
    int json;
    int named;
};

static int take_actions_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct actions_args *a = arg;

    switch (opt) {
    case OPT_COACH:
    case OPT_COACHEE:
    case OPT_LINE:
        if (a->named) {
            cli_usage(x, "name one of --coach, --coachee or --line");
            return -CLI_EXIT_USAGE;
        }
        if (validate_id(val) < 0) {
            cli_usage(x, "'%s' is not a person's id (letters, digits, '.', '_', '@', '-')", val);
            return -CLI_EXIT_USAGE;
        }
        a->named = 1;
        if (opt == OPT_COACH) {
            a->q.coach_id = (char *)val;
        } else if (opt == OPT_COACHEE) {
            a->q.coachee_id = (char *)val;
        } else {
            a->q.line_id = (char *)val;
        }
        return 1;
    case OPT_OPEN:
        a->q.open_only = 1;
        return 1;
    case OPT_OVERDUE:
        a->q.overdue_only = 1;
        return 1;
    case OPT_JSON:
        a->json = 1;
        return 1;
    default:
        return 0;
    }
}

/* The status's JSON name ("partly_done"), or "unknown". */
static const char *status_name(int s)
{
    const char *n = obs_json_action_status_name(s);

    return n != NULL ? n : "withdrawn";
}

static json_t *event_json(const Coachq__V1__ActionEvent *e)
{
    json_t *o = json_object();
    char buf[UUID_STR_LEN + DAY_TIME_LEN];

    if (o == NULL) {
        return NULL;
    }
    json_object_set_new(o, "status", json_string(status_name(e->status)));
    if (e->evidence != NULL && e->evidence[0] != '\0') {
        json_object_set_new(o, "evidence", json_string(e->evidence));
    }
    day_format_time(e->at, buf, sizeof(buf));
    json_object_set_new(o, "at", json_string(buf));
    if (e->observation_id.len == UUID_LEN) {
        uuid_format(e->observation_id.data, buf);
        json_object_set_new(o, "observation", json_string(buf));
    }
    json_object_set_new(o, "version", json_integer(e->version));
    return o;
}

static json_t *record_json(const Coachq__V1__ActionRecord *r, int32_t today)
{
    json_t *o = json_object();
    json_t *arr;
    char buf[UUID_STR_LEN + DAY_TIME_LEN];
    const char *owner = obs_json_action_owner_name(r->owner);

    if (o == NULL) {
        return NULL;
    }
    if (r->id.len == UUID_LEN) {
        uuid_format(r->id.data, buf);
        json_object_set_new(o, "id", json_string(buf));
    }
    json_object_set_new(o, "coach", json_string(r->coach_id));
    json_object_set_new(o, "coachee", json_string(r->coachee_id));
    json_object_set_new(o, "text", json_string(r->text));
    json_object_set_new(o, "owner_kind", json_string(owner != NULL ? owner : "rep"));
    if (r->owner_id != NULL && r->owner_id[0] != '\0') {
        json_object_set_new(o, "owner", json_string(r->owner_id));
    }
    if (r->due_day != 0) {
        day_format((int32_t)r->due_day, buf, sizeof(buf));
        json_object_set_new(o, "due", json_string(buf));
    }
    json_object_set_new(o, "status", json_string(status_name(r->status)));
    json_object_set_new(
        o, "overdue",
        json_boolean(r->due_day != 0 && (int64_t)r->due_day < (int64_t)today &&
                     r->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE &&
                     r->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED));
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < r->n_focus_behaviours; i++) {
        json_array_append_new(arr, json_string(r->focus_behaviours[i]));
    }
    json_object_set_new(o, "focus_behaviours", arr);
    if (r->focus_skill != NULL && r->focus_skill[0] != '\0') {
        json_object_set_new(o, "focus_skill", json_string(r->focus_skill));
    }
    if (r->agreed_in.len == UUID_LEN) {
        uuid_format(r->agreed_in.data, buf);
        json_object_set_new(o, "agreed_in", json_string(buf));
    }
    day_format(r->agreed_day, buf, sizeof(buf));
    json_object_set_new(o, "agreed_on", json_string(buf));
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < r->n_history; i++) {
        json_array_append_new(arr, event_json(r->history[i]));
    }
    json_object_set_new(o, "history", arr);
    return o;
}

static void print_table(struct cli *x, const Coachq__V1__ActionList *l)
{
    char id[UUID_STR_LEN], due[DAY_TIME_LEN], on[DAY_TIME_LEN];

    fprintf(x->out, "%-36s  %-10s  %-12s  %-12s  %-11s  %-10s  %s\n", "id", "agreed", "coach",
            "coachee", "status", "due", "text");
    for (size_t i = 0; i < l->n_actions; i++) {
        const Coachq__V1__ActionRecord *r = l->actions[i];
        int late = r->due_day != 0 && (int64_t)r->due_day < (int64_t)l->today &&
                   r->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE &&
                   r->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED;

        if (r->id.len == UUID_LEN) {
            uuid_format(r->id.data, id);
        } else {
            snprintf(id, sizeof(id), "-");
        }
        day_format(r->agreed_day, on, sizeof(on));
        if (r->due_day != 0) {
            day_format((int32_t)r->due_day, due, sizeof(due));
        } else {
            snprintf(due, sizeof(due), "-");
        }
        fprintf(x->out, "%-36s  %-10s  %-12s  %-12s  %-11s  %-10s  %s%s\n", id, on, r->coach_id,
                r->coachee_id, status_name(r->status), due, late ? "[overdue] " : "", r->text);
    }
    fprintf(x->out, "%zu action%s%s\n", l->n_actions, str_plural(l->n_actions, "", "s"),
            l->truncated ? " (the list was cut and more may match: narrow it with --coach, "
                           "--coachee, --open or --overdue)"
                         : "");
}

int cli_cmd_actions(struct cli *x, int argc, char **argv)
{
    struct actions_args a;
    struct client *c = NULL;
    Coachq__V1__ActionList *l = NULL;
    struct client_error e;
    json_t *arr = NULL;
    int rc;

    memset(&a, 0, sizeof(a));
    coachq__v1__list_actions__init(&a.q);
    rc = cli_parse_options(x, argc, argv, &cli_doc_actions, take_actions_option, &a);
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
    rc = client_actions(c, &a.q, &l, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        goto out;
    }
    if (!a.json) {
        print_table(x, l);
        rc = CLI_EXIT_OK;
        goto out;
    }
    arr = json_array();
    for (size_t i = 0; arr != NULL && i < l->n_actions; i++) {
        if (json_array_append_new(arr, record_json(l->actions[i], l->today)) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    rc = cli_print_json(x, arr);
out:
    json_decref(arr);
    coachq__v1__action_list__free_unpacked(l, NULL);
    client_free(c);
    return rc;
}
