/*
 * cmd_dashboard: dashboard (a dashboard as text, JSON or one CSV table),
 * stats (the server's counters), whoami, and outcomes import (business
 * results from a CSV file).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cert_expiry.h"
#include "cli_int.h"
#include "client.h"
#include "dashfmt.h"
#include "day.h"
#include "outcomes_csv.h"
#include "str.h"

/* ---- stats and whoami ---------------------------------------------------- */

int cli_cmd_stats(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__Stats *st = NULL;
    struct client_error e;
    int rc = cli_simple_options(x, argc, argv, &cli_doc_stats);

    if (rc >= 0) {
        return rc;
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        return rc;
    }
    rc = client_stats(c, &st, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        goto out;
    }
    fprintf(x->out, "commits            %llu\n", (unsigned long long)st->commits);
    fprintf(x->out, "records_stored     %llu\n", (unsigned long long)st->records_stored);
    fprintf(x->out, "duplicates         %llu\n", (unsigned long long)st->duplicates);
    fprintf(x->out, "batched_requests   %llu\n", (unsigned long long)st->batched_requests);
    fprintf(x->out, "max_batch          %llu\n", (unsigned long long)st->max_batch);
    if (st->commits > 0) {
        fprintf(x->out, "mean_batch         %.2f\n",
                (double)st->batched_requests / (double)st->commits);
        fprintf(x->out, "commit_ms_mean     %.3f\n",
                (double)st->commit_us_total / (double)st->commits / 1000.0);
    }
    fprintf(x->out, "commit_ms_max      %.3f\n", (double)st->commit_us_max / 1000.0);
    fprintf(x->out, "connections        %llu\n", (unsigned long long)st->connections);
    rc = CLI_EXIT_OK;
out:
    coachq__v1__stats__free_unpacked(st, NULL);
    client_free(c);
    return rc;
}

/*
 * An observer's certifications that end within 30 days, one line each
 * (today is the observer's day in their zone, as the server names it).
 * Said only when the status could be had: a failed request leaves whoami
 * as it was.
 */
static void whoami_cert_expiry(struct cli *x, struct client *c, const Coachq__V1__Welcome *w)
{
    Coachq__V1__CertStatus *cs = NULL;
    struct client_error e;
    int64_t today, end = 0;
    int observer = 0;
    char words[256];

    for (size_t i = 0; i < w->n_roles; i++) {
        observer |= w->roles[i] == COACHQ__V1__ROLE__ROLE_OBSERVER;
    }
    memset(&e, 0, sizeof(e));
    if (!observer || client_cert_status(c, "", &cs, &e) < 0) {
        return;
    }
    today = cert_expiry_today(cs->time_zone, NULL, (int64_t)time(NULL), NULL);
    for (size_t i = 0; i < cs->n_certifications; i++) {
        const char *rubric = cs->certifications[i]->rubric_id;
        int seen = 0, days;

        for (size_t j = 0; j < i && !seen; j++) {
            seen = strcmp(cs->certifications[j]->rubric_id, rubric) == 0;
        }
        days = seen ? -1 : cert_expiry_days(cs, rubric, today, &end);
        if (days >= 0) {
            cert_expiry_words(rubric, days, end, words, sizeof(words));
            fprintf(x->out, "%s %s\n",
                    days <= CERT_EXPIRY_URGENT_DAYS ? "WARNING   " : "note      ", words);
        }
    }
    coachq__v1__cert_status__free_unpacked(cs, NULL);
}

int cli_cmd_whoami(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    const Coachq__V1__Welcome *w;
    char role[64];
    int rc = cli_simple_options(x, argc, argv, &cli_doc_whoami);

    if (rc >= 0) {
        return rc;
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        return rc;
    }
    w = client_welcome(c);
    fprintf(x->out, "user       %s\n", w->user_id);
    fprintf(x->out, "roles      ");
    for (size_t i = 0; i < w->n_roles; i++) {
        fprintf(x->out, "%s%s", i > 0 ? ", " : "",
                cli_enum_label(&coachq__v1__role__descriptor, w->roles[i], "ROLE_", role,
                               sizeof(role)));
    }
    fprintf(x->out, "%s\n", w->n_roles == 0 ? "(none)" : "");
    fprintf(x->out, "server     %s:%s, %s, protocol %u\n", x->host, x->port,
            cli_or_dash(w->server_version), w->protocol_version);
    fprintf(x->out, "limits     %u bytes per frame, %u requests in flight\n", w->max_frame_bytes,
            w->max_in_flight);
    if (w->max_response_bytes > w->max_frame_bytes) {
        fprintf(x->out, "           answers up to %u bytes (dashboards, people)\n",
                w->max_response_bytes);
    }
    whoami_cert_expiry(x, c, w);
    client_free(c);
    return CLI_EXIT_OK;
}

/* ---- dashboard ----------------------------------------------------------- */

/* A dashboard's JSON stays far below this; it only bounds the buffer. */
#define DASH_OUT_MAX (64u * 1024u * 1024u)
/* Terminal tables: the width when standard output is not a terminal. */
#define DASH_DEFAULT_WIDTH 100u

struct dashboard_args {
    Coachq__V1__GetDashboard q;
    const char *csv;
    int json;
    unsigned long width;
};

static int take_dashboard_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct dashboard_args *a = arg;
    uint32_t day;

    switch (opt) {
    case OPT_RUBRIC:
        a->q.rubric_id = (char *)val;
        return 1;
    case OPT_UNTIL:
        if (day_parse(val, &day) < 0 || day > INT32_MAX) {
            cli_usage(x, "--until: '%s' is not a day YYYY-MM-DD", val);
            return -CLI_EXIT_USAGE;
        }
        a->q.until_day = (int32_t)day;
        return 1;
    case OPT_NOT_COACHED: {
        char *end = NULL;
        long n = strtol(val, &end, 10);

        if (end == val || *end != '\0' || n < 1 || n > 52) {
            cli_usage(x, "--not-coached-weeks: '%s' is not a number of weeks from 1 to 52", val);
            return -CLI_EXIT_USAGE;
        }
        a->q.not_coached_weeks = (uint32_t)n;
        return 1;
    }
    case OPT_ASSIGNED_ONLY:
        a->q.assigned_only = 1;
        return 1;
    case OPT_JSON:
        a->json = 1;
        return 1;
    case OPT_CSV:
        a->csv = val;
        return 1;
    case OPT_WIDTH:
        if (cli_parse_ulong(val, 20, 1000, &a->width) < 0) {
            cli_usage(x, "--width: '%s' is not a number of columns (20..1000)", val);
            return -CLI_EXIT_USAGE;
        }
        return 1;
    default:
        return 0;
    }
}

/* The width of the terminal out writes to, or DASH_DEFAULT_WIDTH. */
static unsigned terminal_width(FILE *out)
{
    struct winsize ws;
    int fd = fileno(out);

    if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) {
        return ws.ws_col;
    }
    return DASH_DEFAULT_WIDTH;
}

/* Writes b to x's output. Returns CLI_EXIT_OK or CLI_EXIT_FAILED. */
static int write_out(struct cli *x, const struct buf *b)
{
    if (b->len > 0 && fwrite(b->data, 1, b->len, x->out) != b->len) {
        cli_msg(x, "cannot write the output");
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

int cli_cmd_dashboard(struct cli *x, int argc, char **argv)
{
    struct dashboard_args a;
    struct client *c = NULL;
    Coachq__V1__Dashboard *d = NULL;
    struct client_error e;
    struct buf b;
    int rc;

    memset(&a, 0, sizeof(a));
    coachq__v1__get_dashboard__init(&a.q);
    buf_init(&b, DASH_OUT_MAX);
    rc = cli_parse_options(x, argc, argv, &cli_doc_dashboard, take_dashboard_option, &a);
    if (rc >= 0) {
        return rc;
    }
    if (optind >= argc) {
        return cli_usage(
            x, "expected a KIND: managers, manager, programme, observers, me, coaching or "
               "observer");
    }
    a.q.kind = dashfmt_kind_from_name(argv[optind]);
    if (a.q.kind == COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED) {
        return cli_usage(x,
                         "'%s' is not a dashboard: managers, manager, programme, observers, me, "
                         "coaching or observer",
                         argv[optind]);
    }
    if (argc - optind > 2) {
        return cli_usage(x, "unexpected argument '%s'", argv[optind + 2]);
    }
    if (argc - optind == 2) {
        a.q.subject_id = argv[optind + 1];
    }
    if (a.q.kind == COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER &&
        a.q.subject_id[0] == '\0') {
        return cli_usage(x, "'manager' needs the front-line manager's id (or use 'me')");
    }
    if (a.q.assigned_only && ((a.q.kind != COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME &&
                               a.q.kind != COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS) ||
                              a.q.subject_id[0] != '\0')) {
        return cli_usage(x, "--assigned-only: only the programme and observers dashboards take it "
                            "(not one observer's calibration history)");
    }
    if (a.json && a.csv != NULL) {
        return cli_usage(x, "--json and --csv exclude each other");
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_dashboard(c, &a.q, &d, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        goto out;
    }
    if (a.csv != NULL) {
        const Coachq__V1__Table *t = dashfmt_find_table(d, a.csv);

        if (t == NULL) {
            fprintf(x->err, "%s: this dashboard has no table '%s'; its tables:", x->cmd, a.csv);
            for (size_t i = 0; i < d->n_tables; i++) {
                fprintf(x->err, " %s", d->tables[i]->id);
            }
            fputc('\n', x->err);
            rc = CLI_EXIT_USAGE;
            goto out;
        }
        rc = dashfmt_csv(t, &b);
    } else if (a.json) {
        rc = dashfmt_json(d, &b);
    } else {
        rc = dashfmt_text(d, a.width != 0 ? (unsigned)a.width : terminal_width(x->out), &b);
    }
    if (rc < 0) {
        cli_msg(x, "cannot format the dashboard: %s", strerror(-rc));
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    rc = write_out(x, &b);
out:
    buf_free(&b);
    coachq__v1__dashboard__free_unpacked(d, NULL);
    client_free(c);
    return rc;
}

/* ---- outcomes import ----------------------------------------------------- */

/* An outcomes file of OUTCOMES_MAX_ROWS ordinary rows is a few MiB. */
#define OUTCOMES_FILE_MAX (64u * 1024u * 1024u)
/* Parse errors shown before only their count is. */
#define OUTCOMES_MAX_ERRS 20u

static void outcomes_err(const char *m, void *arg)
{
    struct cli *x = arg;

    fprintf(x->err, "%s\n", m);
}

/* Reads path (or standard input) into b, NUL-terminated. Returns 0 or
 * CLI_EXIT_FAILED after saying why. */
static int read_text(struct cli *x, const char *path, int is_stdin, struct buf *b)
{
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (f == NULL) {
        cli_msg(x, "%s: %s", path, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = buf_append(b, chunk, n);
    }
    if (rc == 0 && ferror(f)) {
        cli_msg(x, "%s: cannot read it", is_stdin ? "(stdin)" : path);
        rc = CLI_EXIT_FAILED;
    } else if (rc == 0) {
        rc = buf_append(b, "", 1) < 0 ? -ENOBUFS : 0;
        if (rc == 0) {
            b->len--;
        }
    }
    if (rc < 0) {
        cli_msg(x, "%s: %s", is_stdin ? "(stdin)" : path,
                rc == -ENOBUFS ? "larger than 64 MiB; split it into several files"
                               : "out of memory");
        rc = CLI_EXIT_FAILED;
    }
    if (!is_stdin) {
        fclose(f);
    }
    return rc;
}

/* Reports a server fault about one row at the row's place in the file:
 * "FILE:LINE:COL: message". Returns 1 when it could, else 0. */
static int outcomes_fault_at(struct cli *x, const char *name, const struct client_error *e,
                             const struct outcomes_pos *pos, size_t n)
{
    static const char prefix[] = "import_outcomes.";
    size_t row = SIZE_MAX;
    int col;

    if (pos == NULL || strncmp(e->field, prefix, sizeof(prefix) - 1) != 0) {
        return 0;
    }
    col = outcomes_fault_col(e->field + sizeof(prefix) - 1, &row);
    if (row >= n) {
        return 0;
    }
    if (col >= 0) {
        fprintf(x->err, "%s:%zu:%zu: %s\n", name, pos[row].line, pos[row].col[col], e->message);
    } else {
        fprintf(x->err, "%s:%zu: %s\n", name, pos[row].line, e->message);
    }
    return 1;
}

int cli_cmd_outcomes(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__Outcome **rows = NULL;
    Coachq__V1__ImportResult res = COACHQ__V1__IMPORT_RESULT__INIT;
    struct outcomes_pos *pos = NULL;
    struct client_error e;
    struct buf text;
    const char *path;
    const char *name;
    size_t n = 0;
    size_t n_errs = 0;
    size_t done = 0;
    int is_stdin;
    int rc = cli_json_options(x, argc, argv, &cli_doc_outcomes, NULL);

    if (rc >= 0) {
        return rc;
    }
    if (optind >= argc || strcmp(argv[optind], "import") != 0) {
        return cli_usage(x, "expected 'outcomes import FILE.csv'");
    }
    if (argc - optind != 2) {
        return cli_usage(x, "expected exactly one FILE (use - for standard input)");
    }
    path = argv[optind + 1];
    is_stdin = strcmp(path, "-") == 0;
    name = is_stdin ? "(stdin)" : path;
    buf_init(&text, OUTCOMES_FILE_MAX);
    rc = read_text(x, path, is_stdin, &text);
    if (rc != 0) {
        goto out;
    }
    rc = outcomes_parse_csv_pos(name, text.data != NULL ? (const char *)text.data : "", text.len,
                                outcomes_err, x, OUTCOMES_MAX_ERRS, &rows, &n, &n_errs, &pos);
    if (rc < 0) {
        if (rc == -EINVAL) {
            if (n_errs > OUTCOMES_MAX_ERRS) {
                cli_msg(x, "%zu more errors", n_errs - OUTCOMES_MAX_ERRS);
            }
            cli_msg(x, "%s: %zu error%s; nothing was sent", name, n_errs,
                    str_plural(n_errs, "", "s"));
        } else if (rc == -E2BIG) {
            cli_msg(x, "%s: more than %u rows; split it into several files", name,
                    OUTCOMES_MAX_ROWS);
        } else {
            cli_msg(x, "%s: %s", name, strerror(-rc));
        }
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (n == 0) {
        cli_msg(x, "%s: no rows to import", name);
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_import_outcomes(c, rows, n, &res, &done, &e);
    if (rc < 0) {
        if (rc != -EREMOTEIO || !outcomes_fault_at(x, name, &e, pos, n)) {
            rc = cli_request_failed(x, rc, &e);
        } else {
            rc = CLI_EXIT_FAILED;
        }
        if (done > 0) {
            cli_msg(x,
                    "the first %zu of %zu rows were imported (%u added, %u changed, %u "
                    "unchanged); the rest were not: run the command again once the cause is "
                    "fixed (rows already imported stay unchanged)",
                    done, n, (unsigned)res.added, (unsigned)res.changed, (unsigned)res.unchanged);
        } else {
            cli_msg(x, "nothing was imported");
        }
        goto out;
    }
    fprintf(x->out, "%zu row%s: %u added, %u changed, %u unchanged\n", n, str_plural(n, "", "s"),
            (unsigned)res.added, (unsigned)res.changed, (unsigned)res.unchanged);
    rc = CLI_EXIT_OK;
out:
    free(pos);
    outcomes_rows_free(rows, n);
    buf_free(&text);
    client_free(c);
    return rc;
}
