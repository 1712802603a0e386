/*
 * cmd_sessions: `coachq sessions import FILE [--dry-run]`, coaching
 * sessions held sent to the server whole (ImportSessions), checked there
 * against the store and stored all or nothing; the refused cells come back
 * as FILE:LINE:COL.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli_int.h"
#include "client.h"
#include "str.h"

/* Larger than any frame the server takes (its --max-frame is at most
 * 16 MiB): a bigger file is refused before it is read whole. */
#define SESSIONS_FILE_MAX (17u * 1024u * 1024u)

struct sessions_args {
    int dry_run;
};

static int take_sessions_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct sessions_args *a = arg;

    (void)x;
    (void)val;
    if (opt == OPT_DRY_RUN) {
        a->dry_run = 1;
        return 1;
    }
    return 0;
}

/* Reads path (or standard input) into b. Returns 0 or CLI_EXIT_FAILED
 * after saying why. */
static int read_file(struct cli *x, const char *path, const char *name, int is_stdin, struct buf *b)
{
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (f == NULL) {
        cli_msg(x, "%s: %s", name, strerror(errno));
        return CLI_EXIT_FAILED;
    }
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = buf_append(b, chunk, n);
    }
    if (rc == 0 && ferror(f)) {
        cli_msg(x, "%s: cannot read it", name);
        rc = CLI_EXIT_FAILED;
    } else if (rc < 0) {
        cli_msg(x, "%s: %s", name,
                rc == -ENOBUFS ? "larger than any import the server takes; split it into "
                                 "several files"
                               : "out of memory");
        rc = CLI_EXIT_FAILED;
    }
    if (!is_stdin) {
        fclose(f);
    }
    return rc;
}

/* Prints a refused import's errors. */
static void print_refused(struct cli *x, const char *name, const Coachq__V1__SessionsImported *r)
{
    for (size_t i = 0; i < r->n_errors; i++) {
        fprintf(x->err, "%s\n", r->errors[i]->message);
    }
    if (r->errors_total > r->n_errors) {
        cli_msg(x, "%zu more %s", (size_t)r->errors_total - r->n_errors,
                str_plural((size_t)r->errors_total - r->n_errors, "error", "errors"));
    }
    cli_msg(x, "%s: nothing imported: %u error%s", name, (unsigned)r->errors_total,
            str_plural(r->errors_total, "", "s"));
}

int cli_cmd_sessions(struct cli *x, int argc, char **argv)
{
    struct sessions_args a;
    struct client *c = NULL;
    Coachq__V1__SessionsImported *res = NULL;
    struct client_error e;
    struct buf text;
    const char *path;
    const char *name, *base;
    int is_stdin;
    int rc;

    memset(&a, 0, sizeof(a));
    buf_init(&text, SESSIONS_FILE_MAX);
    rc = cli_parse_options(x, argc, argv, &cli_doc_sessions, take_sessions_option, &a);
    if (rc >= 0) {
        return rc;
    }
    if (optind >= argc || strcmp(argv[optind], "import") != 0) {
        return cli_usage(x, "expected 'sessions import FILE.csv'");
    }
    if (argc - optind != 2) {
        return cli_usage(x, "expected exactly one FILE (use - for standard input)");
    }
    path = argv[optind + 1];
    is_stdin = strcmp(path, "-") == 0;
    name = is_stdin ? "(stdin)" : path;
    rc = read_file(x, path, name, is_stdin, &text);
    if (rc != 0) {
        goto out;
    }
    if (text.len == 0) {
        cli_msg(x, "%s: the file is empty; nothing was sent", name);
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    /* The server names the file in its errors; its base name is enough
     * (and a long path would not fit the request's file name). */
    base = strrchr(name, '/') != NULL ? strrchr(name, '/') + 1 : name;
    rc = client_import_sessions(c, text.data, text.len, base, a.dry_run, &res, &e);
    if (rc == -EMSGSIZE) {
        cli_msg(x, "%s: %s; nothing was imported", name, e.message);
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        cli_msg(x, "nothing was imported");
        goto out;
    }
    if (res->errors_total > 0 || res->n_errors > 0) {
        print_refused(x, name, res);
        rc = CLI_EXIT_FAILED;
        goto out;
    }
    if (res->dry_run) {
        fprintf(x->out, "dry run, nothing imported: %u row%s; %u %s would be added\n",
                (unsigned)res->rows, str_plural(res->rows, "", "s"), (unsigned)res->added,
                str_plural(res->added, "session held", "sessions held"));
    } else {
        fprintf(x->out, "%u row%s: %u %s added\n", (unsigned)res->rows,
                str_plural(res->rows, "", "s"), (unsigned)res->added,
                str_plural(res->added, "session held", "sessions held"));
    }
    rc = CLI_EXIT_OK;
out:
    coachq__v1__sessions_imported__free_unpacked(res, NULL);
    buf_free(&text);
    client_free(c);
    return rc;
}
