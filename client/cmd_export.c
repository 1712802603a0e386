/*
 * cmd_export: `coachq export observations`, the full export of every
 * observation record for enablement leads and administrators, over the
 * protocol port (ExportObservations, a page at a time in server-sequence
 * order) into CSV or NDJSON: the flat schema of the change feed
 * (proto/obs_flat.h), written through the same functions. Each page is
 * written as it arrives, so memory holds one page whatever the size of the
 * export; with -o FILE it goes to FILE.part, renamed to FILE once whole.
 * A progress bar is drawn on standard error when that is a terminal.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "cli_int.h"
#include "client.h"
#include "day.h"
#include "obs_flat.h"

#define EXPORT_PAGE 500

struct export_args {
    enum obs_flat_format fmt;
    int have_fmt;
    int64_t since;
    uint64_t after;
    int have_after;
    const char *output;
};

static int export_take(struct cli *x, int opt, const char *val, void *arg)
{
    struct export_args *a = arg;
    char *end = NULL;

    switch (opt) {
    case OPT_FORMAT:
        if (strcmp(val, "csv") == 0) {
            a->fmt = OBS_FLAT_CSV;
        } else if (strcmp(val, "ndjson") == 0) {
            a->fmt = OBS_FLAT_NDJSON;
        } else {
            cli_usage(x, "--format: '%s' is neither csv nor ndjson", val);
            return -CLI_EXIT_USAGE;
        }
        a->have_fmt = 1;
        return 1;
    case OPT_SINCE: {
        uint32_t day;
        if (strlen(val) == 10 && day_parse(val, &day) == 0) {
            a->since = (int64_t)day * 86400;
        } else if (day_parse_time(val, &a->since) < 0) {
            cli_usage(x,
                      "--since: '%s' is not a date (2026-11-02) or UTC time "
                      "(2026-11-02T14:30:00Z)",
                      val);
            return -CLI_EXIT_USAGE;
        }
        if (a->since == 0) {
            a->since = 1; /* 0 means "open" on the wire; the epoch itself is no session */
        }
        return 1;
    }
    case OPT_AFTER:
        errno = 0;
        a->after = strtoull(val, &end, 10);
        if (val[0] < '0' || val[0] > '9' || errno != 0 || *end != '\0' ||
            a->after > (uint64_t)INT64_MAX) {
            cli_usage(x, "--after: '%s' is not a sequence number (0 to 2^63-1)", val);
            return -CLI_EXIT_USAGE;
        }
        a->have_after = 1;
        return 1;
    case OPT_OUTPUT:
        a->output = val;
        return 1;
    default:
        return 0;
    }
}

/* Draws the progress bar: how far last is towards head. */
/* The session date of a page's record i: the server's, in the coach's time
 * zone; the UTC date from a server that sends none. */
static int32_t export_day(const Coachq__V1__ExportPage *p, size_t i)
{
    int64_t t;

    if (i < p->n_session_days) {
        return p->session_days[i];
    }
    t = p->observations[i]->observation != NULL ? p->observations[i]->observation->started_at : 0;
    return (int32_t)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
}

static void progress(struct cli *x, uint64_t after0, uint64_t last, uint64_t head, uint64_t n)
{
    uint64_t span = head > after0 ? head - after0 : 1;
    uint64_t done = last > after0 ? last - after0 : 0;
    int width = 30;
    int fill = done >= span ? width : (int)((done * (uint64_t)width) / span);

    fprintf(x->err, "\r[%.*s%*s] %3d%%  %" PRIu64 " records", fill,
            "##############################", width - fill, "",
            (int)(done >= span ? 100 : done * 100 / span), n);
    fflush(x->err);
}

int cli_cmd_export(struct cli *x, int argc, char **argv)
{
    Coachq__V1__ExportObservations q = COACHQ__V1__EXPORT_OBSERVATIONS__INIT;
    struct export_args a;
    struct client *c = NULL;
    struct client_error e;
    char part[4096];
    FILE *f = NULL;
    struct buf b;
    uint64_t n = 0;
    int tty = isatty(fileno(x->err));
    int rc;

    memset(&a, 0, sizeof(a));
    buf_init(&b, 64u << 20);
    for (;;) {
        int opt;
        int took;

        rc = cli_next_option(x, argc, argv, &cli_doc_export, &opt);
        if (rc >= 0) {
            goto out;
        }
        if (opt == -1) {
            break;
        }
        took = export_take(x, opt == 'o' ? OPT_OUTPUT : opt, optarg, &a);
        if (took < 0) {
            rc = -took;
            goto out;
        }
        if (took == 0) {
            rc = cli_bad_option(x, argc, argv);
            goto out;
        }
    }
    if (optind >= argc || strcmp(argv[optind], "observations") != 0) {
        rc = cli_usage(x, "expected 'export observations'");
        goto out;
    }
    if (argc - optind != 1) {
        rc = cli_usage(x, "unexpected argument '%s'", argv[optind + 1]);
        goto out;
    }
    if (!a.have_fmt) {
        rc = cli_usage(x, "give --format csv or --format ndjson");
        goto out;
    }
    if (a.have_after && a.since != 0) {
        rc = cli_usage(x, "give --since or --after, not both");
        goto out;
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    if (a.output != NULL) {
        if ((size_t)snprintf(part, sizeof(part), "%s.part", a.output) >= sizeof(part)) {
            rc = cli_usage(x, "-o: the file name is too long");
            goto out;
        }
        f = fopen(part, "w");
        if (f == NULL) {
            cli_msg(x, "%s: %s", part, strerror(errno));
            rc = CLI_EXIT_FAILED;
            goto out;
        }
    }
    rc = obs_flat_header(a.fmt, &b);
    q.after_seq = a.after;
    q.since = a.since;
    q.page_size = EXPORT_PAGE;
    while (rc == 0) {
        Coachq__V1__ExportPage *p = NULL;
        int more;

        rc = client_export_page(c, &q, &p, &e);
        if (rc < 0) {
            rc = cli_request_failed(x, rc, &e);
            goto out;
        }
        for (size_t i = 0; i < p->n_observations && rc == 0; i++) {
            rc = obs_flat_line(a.fmt, p->observations[i], export_day(p, i), &b);
        }
        n += p->n_observations;
        more = p->more && p->last_seq > q.after_seq;
        if (tty) {
            progress(x, a.after, p->last_seq, p->head_seq, n);
        }
        q.after_seq = p->last_seq;
        coachq__v1__export_page__free_unpacked(p, NULL);
        if (rc == 0 && b.len > 0 && fwrite(b.data, 1, b.len, f != NULL ? f : x->out) != b.len) {
            rc = -EIO;
        }
        b.len = 0;
        if (!more) {
            break;
        }
    }
    if (tty) {
        fputc('\n', x->err);
    }
    if (rc < 0) {
        cli_msg(x, "cannot write the export: %s", strerror(-rc));
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (fflush(f != NULL ? f : x->out) != 0 || (f != NULL && ferror(f))) {
        cli_msg(x, "cannot write the export: %s", strerror(errno));
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (f != NULL) {
        int crc = fclose(f);
        f = NULL;
        if (crc != 0 || rename(part, a.output) != 0) {
            cli_msg(x, "cannot write %s: %s", a.output, strerror(errno));
            rc = CLI_EXIT_FAILED;
            goto out;
        }
    }
    cli_msg(x, "%" PRIu64 " records exported, up to seq %" PRIu64, n, q.after_seq);
    rc = CLI_EXIT_OK;
out:
    if (f != NULL) {
        fclose(f);
        unlink(part);
    }
    buf_free(&b);
    client_free(c);
    return rc;
}
