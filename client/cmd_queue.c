/*
 * cmd_queue: queue list, flush, show and discard: the outbox of
 * observations waiting for the server (outbox.h, localstore.h).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "cli_int.h"
#include "day.h"
#include "jsonx.h"
#include "localstore.h"
#include "obs_json.h"
#include "outbox.h"
#include "uuid.h"
#include "str.h"

/* ---- queue --------------------------------------------------------------- */

int cli_entry_is_rejected(const Coachq__V1__OutboxEntry *e)
{
    return e->state == COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_REJECTED;
}

static int entry_has_error(const Coachq__V1__OutboxEntry *e)
{
    const Coachq__V1__Error *er = e->last_error;

    return er != NULL &&
           (er->code != COACHQ__V1__CODE__OK || (er->message != NULL && er->message[0] != '\0'));
}

/* Why an entry waits: "CODE field: message", or "not sent yet". */
const char *cli_entry_why(const Coachq__V1__OutboxEntry *e, char *buf, size_t len)
{
    const Coachq__V1__Error *er = e->last_error;

    if (!entry_has_error(e)) {
        snprintf(buf, len, "not sent yet");
    } else {
        snprintf(buf, len, "%s%s%s: %s", cli_code_name(er->code), er->field[0] != '\0' ? " " : "",
                 er->field, cli_or_dash(er->message));
    }
    return buf;
}

/* The entry's last error as JSON, or null when it has none. */
static json_t *entry_error_json(const Coachq__V1__OutboxEntry *e)
{
    json_t *o;

    if (!entry_has_error(e)) {
        return json_null();
    }
    o = json_object();
    if (o == NULL || jsonx_put(o, "code", json_string(cli_code_name(e->last_error->code))) < 0 ||
        jsonx_put(o, "field", json_string(e->last_error->field)) < 0 ||
        jsonx_put(o, "message", json_string(e->last_error->message)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* An outbox entry as JSON for `queue list` and `mine` (caller owns), or
 * NULL when memory ran out. */
json_t *cli_entry_json(const Coachq__V1__OutboxEntry *e)
{
    const Coachq__V1__Observation *o = e->observation;
    json_t *j = json_object();
    char id[UUID_STR_LEN];
    char started[DAY_TIME_LEN];
    char queued[DAY_TIME_LEN];
    char tried[DAY_TIME_LEN];

    if (j == NULL) {
        return NULL;
    }
    day_format_time(o->started_at, started, sizeof(started));
    day_format_time_ms(e->queued_at_ms, queued, sizeof(queued));
    day_format_time_ms(e->last_attempt_ms, tried, sizeof(tried));
    if (jsonx_put(j, "id", json_string(cli_obs_id(o, id))) < 0 ||
        jsonx_put(j, "coach", json_string(o->coach_id)) < 0 ||
        jsonx_put(j, "coachee", json_string(o->coachee_id)) < 0 ||
        jsonx_put(j, "started_at", json_string(started)) < 0 ||
        jsonx_put(j, "state", json_string(cli_entry_is_rejected(e) ? "rejected" : "queued")) < 0 ||
        jsonx_put(j, "attempts", json_integer(e->attempts)) < 0 ||
        jsonx_put(j, "queued_at", json_string(queued)) < 0 ||
        jsonx_put(j, "last_attempt", e->last_attempt_ms != 0 ? json_string(tried) : json_null()) <
            0 ||
        jsonx_put(j, "error", entry_error_json(e)) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static void queue_header(FILE *f)
{
    fprintf(f, "%-36s  %-16s  %-16s  %-10s  %-8s  %8s  %s\n", "ID", "COACH", "COACHEE", "SESSION",
            "STATE", "ATTEMPTS", "WHY");
}

/* A row of `queue list`. */
static void queue_row(FILE *f, const Coachq__V1__OutboxEntry *e, const char *why)
{
    char id[UUID_STR_LEN];
    char day[DAY_TIME_LEN];

    /* The date alone: the time is in `queue show`. */
    day_format_time(e->observation->started_at, day, sizeof(day));
    day[10] = '\0';
    fprintf(f, "%-36s  %-16s  %-16s  %-10s  %-8s  %8u  %s\n", cli_obs_id(e->observation, id),
            e->observation->coach_id, e->observation->coachee_id, day,
            cli_entry_is_rejected(e) ? "rejected" : "queued", e->attempts, why);
}

/* A line after `queue flush` for each rejected entry. */
static void rejected_row(FILE *f, const Coachq__V1__OutboxEntry *e, const char *why)
{
    char id[UUID_STR_LEN];

    if (cli_entry_is_rejected(e)) {
        fprintf(f, "%s REJECTED %s\n", cli_obs_id(e->observation, id), why);
    }
}

static int queue_walk_cb(const Coachq__V1__OutboxEntry *e, void *arg)
{
    struct cli_queue_walk *w = arg;
    char why[768];

    if (cli_entry_is_rejected(e)) {
        w->rejected++;
    } else {
        w->queued++;
    }
    if (w->all != NULL) {
        return json_array_append_new(w->all, cli_entry_json(e)) < 0 ? -ENOMEM : 0;
    }
    w->row(w->x->out, e, cli_entry_why(e, why, sizeof(why)));
    return 0;
}

/* Walks the outbox with w. Returns 0 or CLI_EXIT_FAILED after saying why. */
int cli_queue_walk(struct localstore *ls, struct cli_queue_walk *w)
{
    int rc = localstore_outbox_list(ls, queue_walk_cb, w);

    if (rc < 0) {
        cli_msg(w->x, "cannot read the outbox in %s: %s", localstore_path(ls), strerror(-rc));
        return CLI_EXIT_FAILED;
    }
    return 0;
}

static int queue_list(struct cli *x, struct localstore *ls, int json)
{
    struct cli_queue_walk w = {x, NULL, queue_row, 0, 0};
    int rc;

    if (json) {
        w.all = json_array();
        if (w.all == NULL) {
            cli_msg(x, "out of memory");
            return CLI_EXIT_FAILED;
        }
    } else {
        queue_header(x->out);
    }
    rc = cli_queue_walk(ls, &w);
    if (rc == 0 && json) {
        rc = cli_print_json(x, w.all);
    } else if (rc == 0) {
        fprintf(x->out, "%zu in the outbox (%zu queued, %zu rejected)\n", w.queued + w.rejected,
                w.queued, w.rejected);
    }
    json_decref(w.all);
    return rc;
}

/* Says why a flush could not finish. Returns the exit code. */
static int flush_failed(struct cli *x, struct localstore *ls, int rc,
                        const struct outbox_summary *sum)
{
    if (sum->conn_err.code == COACHQ__V1__CODE__OK) {
        cli_msg(x, "the outbox in %s: %s", localstore_path(ls), strerror(-rc));
        return CLI_EXIT_FAILED;
    }
    if (cli_conn_refused(sum->conn_err.code)) {
        char reason[sizeof(sum->conn_err.message) + 64];

        cli_msg(x, "%s; the entries stay queued, see 'coachq queue list'",
                cli_conn_why(&sum->conn_err, reason, sizeof(reason)));
        return CLI_EXIT_CONNECT;
    }
    cli_msg(x, "server unreachable (%s): %s; the entries stay queued, see 'coachq queue list'",
            cli_code_name(sum->conn_err.code), sum->conn_err.message);
    return CLI_EXIT_CONNECT;
}

static int queue_flush(struct cli *x, struct localstore *ls, int rejected)
{
    struct client_opts o;
    struct outbox_summary sum;
    struct cli_queue_walk w = {x, NULL, rejected_row, 0, 0};
    int rc = cli_client_settings(x, 0, &o);
    int frc;

    if (rc != 0) {
        return rc;
    }
    frc = outbox_flush(ls, &o, rejected, &sum);
    fprintf(x->out, "stored=%zu duplicate=%zu rejected=%zu waiting=%zu\n", sum.sent, sum.duplicates,
            sum.rejected, sum.waiting);
    rc = cli_queue_walk(ls, &w);
    if (frc < 0 || sum.waiting > 0) {
        return flush_failed(x, ls, frc, &sum);
    }
    if (rc == 0 && w.rejected > 0) {
        cli_msg(x,
                "%zu rejected %s in the outbox: fix (coachq observe --fix ID) or discard "
                "(coachq queue discard ID)",
                w.rejected, str_plural(w.rejected, "entry stays", "entries stay"));
        rc = CLI_EXIT_FAILED;
    }
    return rc;
}

/* Loads the entry id; returns 0 or CLI_EXIT_FAILED after saying why. */
int cli_queue_get(struct cli *x, struct localstore *ls, const uint8_t id[UUID_LEN],
                  Coachq__V1__OutboxEntry **e)
{
    char ids[UUID_STR_LEN];
    int rc = localstore_outbox_get(ls, id, e);

    if (rc == -ENOENT) {
        cli_msg(x, "%s is not in the outbox (see 'coachq queue list')", uuid_format(id, ids));
        return CLI_EXIT_FAILED;
    }
    if (rc < 0) {
        cli_msg(x, "cannot read the outbox in %s: %s", localstore_path(ls), strerror(-rc));
        return CLI_EXIT_FAILED;
    }
    return 0;
}

static void print_entry(FILE *f, const Coachq__V1__OutboxEntry *e)
{
    char id[UUID_STR_LEN];
    char t[DAY_TIME_LEN];
    char why[768];

    fprintf(f, "id          %s\n", cli_obs_id(e->observation, id));
    fprintf(f, "state       %s\n",
            cli_entry_is_rejected(e) ? "rejected: the server refused it; fix or discard it"
                                     : "queued: to be sent");
    day_format_time_ms(e->queued_at_ms, t, sizeof(t));
    fprintf(f, "queued      %s\n", t);
    fprintf(f, "attempts    %u", e->attempts);
    if (e->last_attempt_ms != 0) {
        day_format_time_ms(e->last_attempt_ms, t, sizeof(t));
        fprintf(f, ", the last at %s", t);
    }
    fprintf(f, "\nwhy         %s\n", cli_entry_why(e, why, sizeof(why)));
    cli_print_obs_links(f, e->observation);
    cli_print_obs_body(f, e->observation);
}

static int queue_show(struct cli *x, struct localstore *ls, const uint8_t id[UUID_LEN], int json)
{
    Coachq__V1__OutboxEntry *e = NULL;
    int rc = cli_queue_get(x, ls, id, &e);

    if (rc != 0) {
        return rc;
    }
    if (json) {
        json_t *j = obs_json_from_observation(e->observation);

        rc = cli_print_json(x, j);
        json_decref(j);
    } else {
        print_entry(x->out, e);
    }
    coachq__v1__outbox_entry__free_unpacked(e, NULL);
    return rc;
}

static int queue_discard(struct cli *x, struct localstore *ls, const uint8_t id[UUID_LEN])
{
    Coachq__V1__OutboxEntry *e = NULL;
    char ids[UUID_STR_LEN];
    char day[DAY_TIME_LEN];
    int rc = cli_queue_get(x, ls, id, &e);

    if (rc != 0) {
        return rc;
    }
    rc = localstore_outbox_del(ls, id);
    if (rc < 0 && rc != -ENOENT) {
        cli_msg(x, "cannot discard %s from %s: %s", uuid_format(id, ids), localstore_path(ls),
                strerror(-rc));
        rc = CLI_EXIT_FAILED;
    } else {
        day_format_time(e->observation->started_at, day, sizeof(day));
        fprintf(x->out, "%s discarded (coach %s, coachee %s, session %s): it will not be sent\n",
                uuid_format(id, ids), e->observation->coach_id, e->observation->coachee_id, day);
        rc = CLI_EXIT_OK;
    }
    coachq__v1__outbox_entry__free_unpacked(e, NULL);
    return rc;
}

struct queue_args {
    int json;
    int rejected;
};

static int take_queue_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct queue_args *a = arg;

    (void)x;
    (void)val;
    if (opt == OPT_JSON) {
        a->json = 1;
        return 1;
    }
    if (opt == OPT_REJECTED) {
        a->rejected = 1;
        return 1;
    }
    return 0;
}

int cli_cmd_queue(struct cli *x, int argc, char **argv)
{
    static const char *const subs[] = {"list", "flush", "show", "discard"};
    struct queue_args a = {0, 0};
    struct localstore *ls = NULL;
    uint8_t id[UUID_LEN];
    size_t sub = 0;
    int rc = cli_parse_options(x, argc, argv, &cli_doc_queue, take_queue_option, &a);

    if (rc >= 0) {
        return rc;
    }
    while (optind < argc && sub < 4 && strcmp(argv[optind], subs[sub]) != 0) {
        sub++;
    }
    if (optind >= argc || sub == 4) {
        return cli_usage(x, "expected 'queue list', 'queue flush', 'queue show ID' or "
                            "'queue discard ID'");
    }
    if (argc - optind != (sub >= 2 ? 2 : 1)) {
        return cli_usage(x, sub >= 2 ? "expected exactly one ID" : "unexpected argument");
    }
    if (sub >= 2 && uuid_parse(argv[optind + 1], id) < 0) {
        return cli_usage(x, "'%s' is not a UUID (as 'coachq queue list' shows them)",
                         argv[optind + 1]);
    }
    if (a.json && sub != 0 && sub != 2) {
        return cli_usage(x, "--json goes with 'queue list' and 'queue show'");
    }
    if (a.rejected && sub != 1) {
        return cli_usage(x, "--rejected goes with 'queue flush'");
    }
    rc = cli_open_store(x, &ls);
    if (rc != 0) {
        return rc;
    }
    switch (sub) {
    case 0:
        rc = queue_list(x, ls, a.json);
        break;
    case 1:
        rc = queue_flush(x, ls, a.rejected);
        break;
    case 2:
        rc = queue_show(x, ls, id, a.json);
        break;
    default:
        rc = queue_discard(x, ls, id);
        break;
    }
    localstore_close(ls);
    return rc;
}
