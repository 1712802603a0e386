/*
 * server_sessions: ImportSessions (`coachq sessions import`), the protocol's
 * import of coaching sessions held. The CSV file of `coachqd import
 * sessions` arrives whole in one frame; the writer thread parses it
 * (sessions_csv.h), checks it against the store and stores it all or
 * nothing (sessions_held.h), and the answer lists every refused place as
 * FILE:LINE:COL. Enablement leads and administrators may import, as for
 * business results.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "csv.h"
#include "error.h"
#include "server_int.h"
#include "sessions_csv.h"
#include "sessions_held.h"
#include "table.h"

/* Errors an answer lists at most (the rest are counted). */
#define SESSIONS_MAX_ERRORS 100u
/* The name errors use when the client gives none. */
#define SESSIONS_FILE "sessions.csv"

/* One import in flight: owned by its request. */
struct server_sessions {
    uint8_t *csv; /* a copy of the file */
    size_t len;
    int dry_run;
    char file[256];
    int64_t now_s; /* when the request came: "today" is the coach's day of it */
    /* Set by the writer thread. The file is parsed once; the store stage
     * may run again after the map grows, so it resets its outputs. */
    int parsed;
    int parse_rc;
    struct sessions_csv sc;
    struct table_errs errs;
    size_t static_errs;
    size_t added;
};

void server_sessions_free(struct server_sessions *s)
{
    if (s == NULL) {
        return;
    }
    sessions_csv_clear(&s->sc);
    table_errs_close(&s->errs);
    free(s->csv);
    free(s);
}

/* Writer thread: parses the file (the first time) and imports its rows. */
static int import_sessions_txn(struct store_txn *t, void *arg)
{
    struct request *r = arg;
    struct server_sessions *s = r->sess;
    char detail[256];
    size_t line = 0;
    int rc;

    if (!s->parsed) {
        struct csv *c = NULL;

        s->parsed = 1;
        s->parse_rc = csv_new((const char *)s->csv, s->len, &c);
        if (s->parse_rc == 0) {
            s->parse_rc = sessions_csv_read(&s->sc, c, &s->errs);
        }
        csv_free(c);
        s->static_errs = s->errs.total;
    }
    table_errs_truncate(&s->errs, s->static_errs);
    s->added = 0;
    if (s->parse_rc == -ENOMEM) {
        return -ENOMEM;
    }
    if (s->parse_rc < 0) {
        /* The file cannot be read on: nothing to check in the store. Rows
         * refused by their own checks are still checked against it, so
         * that one answer names every problem. */
        if (s->errs.total == 0) {
            table_err(&s->errs, 0, 0, "cannot be read as CSV: %s", error_strerror(s->parse_rc));
        }
        return ERROR_REFUSED;
    }
    rc = sessions_held_import(t, &s->sc, s->now_s, s->dry_run, &s->errs, &s->added, &line);
    if (rc == -EINVAL && s->errs.total > 0) {
        return ERROR_REFUSED;
    }
    if (rc < 0) {
        return rc;
    }
    if (s->dry_run || s->added == 0) {
        return 0;
    }
    snprintf(detail, sizeof(detail), "sessions: %zu rows; %zu sessions held added", s->sc.tab.n,
             s->added);
    return audit_append(t, r->w.received_at_ms, r->conn->user, "import.sessions", s->file, detail,
                        r->conn->cs.peer, NULL);
}

void server_sessions_handle(struct conn *c, uint64_t rid, const Coachq__V1__ImportSessions *imp)
{
    struct server_sessions *s = NULL;
    struct request *r;

    if (auth_decide(&c->au, AUTH_IMPORT_SESSIONS, NULL) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__PERMISSION_DENIED, "import_sessions",
                               "only enablement leads and administrators import sessions held");
        return;
    }
    if (imp->csv.len == 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "import_sessions.csv",
                               "the file is empty: send the CSV with its header "
                               "coach_id,coachee_id,date[,minutes]");
        return;
    }
    if (imp->file != NULL && strlen(imp->file) >= sizeof(s->file)) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__INVALID_ARGUMENT, "import_sessions.file",
                               "the file's name is longer than 255 bytes");
        return;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "server out of memory");
        return;
    }
    r = server_request_new(c, rid, REQ_IMPORT_SESSIONS);
    if (r == NULL) {
        free(s);
        return;
    }
    r->sess = s;
    /* The frame is freed when this returns: keep a copy of the file. */
    s->csv = malloc(imp->csv.len);
    snprintf(s->file, sizeof(s->file), "%s",
             imp->file != NULL && imp->file[0] != '\0' ? imp->file : SESSIONS_FILE);
    if (s->csv == NULL || table_errs_init(&s->errs, s->file, SESSIONS_MAX_ERRORS) < 0) {
        server_conn_send_error(c, rid, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "server out of memory");
        server_request_finish(r);
        return;
    }
    memcpy(s->csv, imp->csv.data, imp->csv.len);
    s->len = imp->csv.len;
    s->dry_run = imp->dry_run;
    r->w.received_at_ms = server_now_ms();
    s->now_s = r->w.received_at_ms / 1000;
    r->w.fn = import_sessions_txn;
    r->w.fn_arg = r;
    server_request_write(r, "the server cannot store now; nothing was imported; try again later");
}

/* The answer with the file's errors: SessionsImported, nothing imported. */
static void answer_refused(struct request *r)
{
    struct server_sessions *s = r->sess;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__SessionsImported res = COACHQ__V1__SESSIONS_IMPORTED__INIT;
    Coachq__V1__CsvError *errs = calloc(s->errs.n + 1, sizeof(*errs));
    Coachq__V1__CsvError **ptrs = calloc(s->errs.n + 1, sizeof(*ptrs));

    if (errs == NULL || ptrs == NULL) {
        server_conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "server out of memory; nothing was imported");
        goto out;
    }
    table_errs_sort(&s->errs);
    for (size_t i = 0; i < s->errs.n; i++) {
        coachq__v1__csv_error__init(&errs[i]);
        errs[i].line = (uint32_t)s->errs.kept[i].line;
        errs[i].col = (uint32_t)s->errs.kept[i].col;
        errs[i].message = s->errs.kept[i].msg;
        ptrs[i] = &errs[i];
    }
    res.rows = (uint32_t)s->sc.tab.n;
    res.dry_run = s->dry_run;
    res.errors = ptrs;
    res.n_errors = s->errs.n;
    res.errors_total = (uint32_t)s->errs.total;
    f.request_id = r->request_id;
    f.body_case = COACHQ__V1__FRAME__BODY_SESSIONS_IMPORTED;
    f.sessions_imported = &res;
    server_conn_send(r->conn, &f);
out:
    free(errs);
    free(ptrs);
}

void server_sessions_answer(struct request *r)
{
    struct server_sessions *s = r->sess;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    Coachq__V1__SessionsImported res = COACHQ__V1__SESSIONS_IMPORTED__INIT;

    switch (r->w.rc) {
    case 0:
        res.rows = (uint32_t)s->sc.tab.n;
        res.added = (uint32_t)s->added;
        res.dry_run = s->dry_run;
        f.request_id = r->request_id;
        f.body_case = COACHQ__V1__FRAME__BODY_SESSIONS_IMPORTED;
        f.sessions_imported = &res;
        server_conn_send(r->conn, &f);
        return;
    case ERROR_REFUSED:
        answer_refused(r);
        return;
    case -ENOSPC:
        server_conn_send_error(r->conn, r->request_id, COACHQ__V1__CODE__RESOURCE_EXHAUSTED, "",
                               "the server's disk is full; nothing was imported; import again once "
                               "space is freed");
        return;
    case -ESHUTDOWN:
        server_conn_send_error(
            r->conn, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
            "the server is shutting down; nothing was imported; import again later");
        return;
    default:
        server_conn_send_error(
            r->conn, r->request_id, COACHQ__V1__CODE__UNAVAILABLE, "",
            "the server cannot store now; nothing was imported; import again later");
        return;
    }
}
