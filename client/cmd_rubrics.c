/*
 * cmd_rubrics: rubrics (list, or show one in full; cached for offline
 * use), cert status (an observer's certifications and calibration
 * results) and reference add (register a calibration reference session).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli_int.h"
#include "client.h"
#include "day.h"
#include "jsonx.h"
#include "localstore.h"
#include "obs_json.h"
#include "validate.h"
#include "rubric_json.h"
#include "uuid.h"
#include "str.h"

/* ---- rubrics ------------------------------------------------------------- */

/* Text is wrapped to this many columns. */
#define WRAP_COLS 80

/* day_format() returning buf, so that it can stand among printf's
 * arguments. */
static const char *format_day(int64_t day, char *buf, size_t len)
{
    day_format(day, buf, len);
    return buf;
}

/*
 * Prints text wrapped at WRAP_COLS columns and ends the line. The cursor is
 * at column col (after a label the caller printed); continuation lines are
 * indented by indent spaces. Lines break only at white space, so a word
 * longer than a line stays whole; UTF-8 continuation bytes take no column.
 */
static void print_wrapped(FILE *f, size_t col, size_t indent, const char *text)
{
    const char *p = text != NULL ? text : "";
    int line_start = 1;

    for (;;) {
        const char *w;
        size_t bytes;
        size_t width = 0;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        w = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (((unsigned char)*p & 0xc0) != 0x80) {
                width++;
            }
            p++;
        }
        bytes = (size_t)(p - w);
        if (!line_start && col + 1 + width > WRAP_COLS) {
            fprintf(f, "\n%*s", (int)indent, "");
            col = indent;
            line_start = 1;
        }
        if (!line_start) {
            fputc(' ', f);
            col++;
        }
        fwrite(w, 1, bytes, f);
        col += width;
        line_start = 0;
    }
    fputc('\n', f);
}

/* The names of scores 1..4 (domain.md, "Rating scale"). */
static const char *const score_names[] = {"not demonstrated", "developing", "proficient",
                                          "exemplary"};

static void print_rubric(FILE *f, const Coachq__V1__Rubric *r)
{
    char t[DAY_TIME_LEN];

    fprintf(f, "rubric      %s v%u\n", r->id, r->version);
    fprintf(f, "name        ");
    print_wrapped(f, 12, 12, r->name);
    fprintf(f, "effective   %s (sessions before it cannot be scored against this version)\n",
            format_day(r->effective_day, t, sizeof(t)));
    if (r->added_at_ms != 0) {
        day_format_time_ms(r->added_at_ms, t, sizeof(t));
        fprintf(f, "added       %s\n", t);
    }
    fprintf(f, "evidence    ");
    if (r->n_evidence_required == 0) {
        fprintf(f, "not required for any score\n");
    } else {
        fprintf(f, "required for score%s ", str_plural(r->n_evidence_required, "", "s"));
        for (size_t i = 0; i < r->n_evidence_required; i++) {
            fprintf(f, "%s%u",
                    i == 0                            ? ""
                    : i + 1 == r->n_evidence_required ? " and "
                                                      : ", ",
                    r->evidence_required[i]);
        }
        fputc('\n', f);
    }
    fprintf(f, "behaviours  %zu\n", r->n_behaviours);
    if (r->description != NULL && r->description[0] != '\0') {
        fputc('\n', f);
        print_wrapped(f, 0, 0, r->description);
    }
    for (size_t i = 0; i < r->n_behaviours; i++) {
        const Coachq__V1__Behaviour *b = r->behaviours[i];

        fprintf(f, "\n%zu. %s (%s)\n   ", i + 1, b->name, b->id);
        print_wrapped(f, 3, 3, b->definition);
        fprintf(f, "   Indicators:\n");
        for (size_t k = 0; k < b->n_indicators; k++) {
            fprintf(f, "     - ");
            print_wrapped(f, 7, 7, b->indicators[k]);
        }
        fprintf(f, "   Anchors:\n");
        for (size_t k = 0; k < b->n_anchors; k++) {
            int n = fprintf(f, "     %zu %s: ", k + 1, k < 4 ? score_names[k] : "?");

            print_wrapped(f, n > 0 ? (size_t)n : 0, 7, b->anchors[k]);
        }
        fprintf(f, "   n/a: %s\n",
                b->allow_not_applicable ? "allowed (a session may give no occasion for it)"
                                        : "not allowed");
    }
}

/* Splits "ID" or "ID@VERSION" (version 0 = the latest). An id may itself
 * contain '@': only a last '@' followed by digits starts a version. Returns
 * 0 or -EINVAL. */
int cli_split_rubric_ref(const char *arg, char *id, size_t idlen, uint32_t *version)
{
    const char *at = strrchr(arg, '@');
    size_t n = strlen(arg);
    unsigned long v;

    *version = 0;
    if (at != NULL && at[1] >= '0' && at[1] <= '9') {
        if (cli_parse_ulong(at + 1, 1, UINT32_MAX, &v) < 0) {
            return -EINVAL;
        }
        *version = (uint32_t)v;
        n = (size_t)(at - arg);
    }
    if (n == 0 || n >= idlen) {
        return -EINVAL;
    }
    memcpy(id, arg, n);
    id[n] = '\0';
    return 0;
}

static void rubric_header(FILE *f)
{
    fprintf(f, "%-32s  %7s  %10s  %-10s  %s\n", "ID", "VERSION", "BEHAVIOURS", "EFFECTIVE", "NAME");
}

static void rubric_row(FILE *f, const Coachq__V1__Rubric *l)
{
    char day[DAY_TIME_LEN];

    fprintf(f, "%-32s  %7u  %10zu  %-10s  %s\n", l->id, l->version, l->n_behaviours,
            format_day(l->effective_day, day, sizeof(day)), l->name);
}

static void rubric_footer(FILE *f, size_t n)
{
    fprintf(f, "%zu rubric%s\n", n, str_plural(n, "", "s"));
}

/* Prints one rubric in full, as text or JSON. Returns the exit code. */
static int rubric_show(struct cli *x, const Coachq__V1__Rubric *r, int json)
{
    char *text;

    if (!json) {
        print_rubric(x->out, r);
        return CLI_EXIT_OK;
    }
    text = rubric_json_dump(r);
    if (text == NULL) {
        cli_msg(x, "out of memory");
        return CLI_EXIT_FAILED;
    }
    fputs(text, x->out);
    free(text);
    return CLI_EXIT_OK;
}

/* Keeps fetched rubrics (borrowed) in the local store for working
 * offline. A failure costs only the cache, so it is a note, not an error. */
static void rubrics_cache(struct cli *x, Coachq__V1__Rubric *const *r, size_t n)
{
    struct localstore *ls = NULL;

    if (cli_open_store(x, &ls) != 0) {
        cli_msg(x, "(the rubrics are not cached for offline use)");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = localstore_rubric_put(ls, r[i]);

        if (rc < 0) {
            cli_msg(x, "cannot cache rubric %s v%u in %s: %s", r[i]->id, r[i]->version,
                    localstore_path(ls), strerror(-rc));
        }
    }
    localstore_close(ls);
}

/* What to print, online or from the cache. */
struct rubrics_req {
    int show;
    int json;
    char id[128];
    uint32_t version;
};

static int rubrics_online(struct cli *x, struct client *c, const struct rubrics_req *q)
{
    Coachq__V1__RubricList *list = NULL;
    Coachq__V1__Rubric *r = NULL;
    struct client_error e;
    int rc;

    if (q->show) {
        rc = client_rubric(c, q->id, q->version, &r, &e);
        if (rc < 0) {
            return cli_request_failed(x, rc, &e);
        }
        rubrics_cache(x, &r, 1);
        rc = rubric_show(x, r, q->json);
        coachq__v1__rubric__free_unpacked(r, NULL);
        return rc;
    }
    rc = client_rubrics(c, &list, &e);
    if (rc < 0) {
        return cli_request_failed(x, rc, &e);
    }
    rubrics_cache(x, list->rubrics, list->n_rubrics);
    rubric_header(x->out);
    for (size_t i = 0; i < list->n_rubrics; i++) {
        rubric_row(x->out, list->rubrics[i]);
    }
    rubric_footer(x->out, list->n_rubrics);
    coachq__v1__rubric_list__free_unpacked(list, NULL);
    return CLI_EXIT_OK;
}

struct rubric_rows {
    FILE *f;
    size_t n;
};

/* Prints a cached rubric's row, the header before the first. */
static int rubric_cached_row_cb(const Coachq__V1__Rubric *r, void *arg)
{
    struct rubric_rows *rows = arg;

    if (rows->n == 0) {
        rubric_header(rows->f);
    }
    rubric_row(rows->f, r);
    rows->n++;
    return 0;
}

/* The server was not reached (why): answers from the cache if it has the
 * rubrics. Returns the exit code. */
static int rubrics_offline(struct cli *x, const struct rubrics_req *q,
                           const struct client_error *why)
{
    struct localstore *ls = NULL;
    Coachq__V1__Rubric *r = NULL;
    struct rubric_rows rows = {x->out, 0};
    int rc = CLI_EXIT_CONNECT;

    cli_msg(x, "%s", why->message);
    if (cli_open_store(x, &ls) != 0) {
        return CLI_EXIT_CONNECT;
    }
    if (q->show && localstore_rubric_get(ls, q->id, q->version, &r) == 0) {
        fprintf(x->err, "(offline: cached rubrics from %s)\n", localstore_path(ls));
        rc = rubric_show(x, r, q->json);
    } else if (!q->show && localstore_rubric_list(ls, rubric_cached_row_cb, &rows) == 0 &&
               rows.n > 0) {
        rubric_footer(x->out, rows.n);
        fprintf(x->err, "(offline: cached rubrics from %s)\n", localstore_path(ls));
        rc = CLI_EXIT_OK;
    } else {
        cli_msg(
            x,
            "no cached copy in %s either: run 'coachq rubrics' once while the server is reachable",
            localstore_path(ls));
    }
    coachq__v1__rubric__free_unpacked(r, NULL);
    localstore_close(ls);
    return rc;
}

int cli_cmd_rubrics(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    struct client_error e;
    struct rubrics_req q;
    int rc;

    memset(&q, 0, sizeof(q));
    rc = cli_json_options(x, argc, argv, &cli_doc_rubrics, &q.json);
    if (rc >= 0) {
        return rc;
    }
    if (optind < argc) {
        if (strcmp(argv[optind], "show") != 0) {
            return cli_usage(x,
                             "unknown subcommand '%s' (to see one rubric: coachq rubrics show ID)",
                             argv[optind]);
        }
        if (argc - optind != 2) {
            return cli_usage(x, "expected 'rubrics show ID[@VERSION]'");
        }
        if (cli_split_rubric_ref(argv[optind + 1], q.id, sizeof(q.id), &q.version) < 0) {
            return cli_usage(x,
                             "'%s' is not a rubric ID or ID@VERSION (like coaching-conversation@1)",
                             argv[optind + 1]);
        }
        q.show = 1;
    } else if (q.json) {
        return cli_usage(x, "--json goes with 'rubrics show ID'");
    }
    rc = cli_try_connect(x, 0, &c, &e);
    if (rc == CLI_EXIT_CONNECT) {
        return rubrics_offline(x, &q, &e);
    }
    if (rc == 0) {
        rc = rubrics_online(x, c, &q);
    }
    client_free(c);
    return rc;
}

/* ---- cert status --------------------------------------------------------- */

/* Where a certification stands on a day, as text and as JSON. */
enum cert_when { CERT_VALID, CERT_EXPIRED, CERT_NOT_YET_VALID };
static const char *const cert_when_text[] = {"valid today", "expired", "not yet valid"};
static const char *const cert_when_json[] = {"valid", "expired", "not_yet_valid"};

static enum cert_when cert_when_on(const Coachq__V1__Certification *ct, int64_t today)
{
    if (today < ct->valid_from_day) {
        return CERT_NOT_YET_VALID;
    }
    if (today > ct->valid_until_day) {
        return CERT_EXPIRED;
    }
    return CERT_VALID;
}

/* A fraction 0..1 as "82.5%", or "-" when there is no figure. */
static const char *pct(double v, int have, char *buf, size_t len)
{
    if (!have || !isfinite(v)) {
        snprintf(buf, len, "-");
    } else {
        snprintf(buf, len, "%.1f%%", v * 100.0);
    }
    return buf;
}

/* Kappa as "0.82", "undef" when it is 0/0 (the scores compared use one
 * category; the note under the table says so), or "-" when there is no
 * figure. */
static const char *kappa_str(double v, int have, int undefined, char *buf, size_t len)
{
    if (have && undefined) {
        snprintf(buf, len, "undef");
    } else if (!have || !isfinite(v)) {
        snprintf(buf, len, "-");
    } else {
        snprintf(buf, len, "%.2f", v);
    }
    return buf;
}

static void print_cert_status(FILE *f, const Coachq__V1__CertStatus *cs, int64_t today)
{
    char a[32];
    char b[32];
    char k[32];
    char t[DAY_TIME_LEN];
    int undefined = 0;
    int withheld = 0;

    fprintf(f, "observer    %s\n", cli_or_dash(cs->observer_id));
    fprintf(f, "\ncertifications: %zu\n", cs->n_certifications);
    if (cs->n_certifications > 0) {
        fprintf(f, "  %-24s  %-10s  %-11s  %-13s  %-16s  %5s  %6s  %8s  %5s\n", "RUBRIC",
                "VALID FROM", "VALID UNTIL", "STATUS", "GRANTED BY", "N", "EXACT", "WITHIN 1",
                "KAPPA");
    }
    for (size_t i = 0; i < cs->n_certifications; i++) {
        const Coachq__V1__Certification *ct = cs->certifications[i];
        char from[DAY_TIME_LEN];
        char until[DAY_TIME_LEN];
        char n[16] = "-";
        /* A certification an administrator granted has no figures. */
        int have = ct->n > 0;

        if (have) {
            snprintf(n, sizeof(n), "%u", ct->n);
        }
        fprintf(f, "  %-24s  %-10s  %-11s  %-13s  %-16s  %5s  %6s  %8s  %5s\n", ct->rubric_id,
                format_day(ct->valid_from_day, from, sizeof(from)),
                format_day(ct->valid_until_day, until, sizeof(until)),
                cert_when_text[cert_when_on(ct, today)], cli_or_dash(ct->granted_by), n,
                pct(ct->exact, have, a, sizeof(a)), pct(ct->within_one, have, b, sizeof(b)),
                kappa_str(ct->kappa, have, ct->kappa_undefined, k, sizeof(k)));
        undefined |= have && ct->kappa_undefined;
        withheld |= ct->figures_withheld;
    }
    fprintf(f, "\ncalibration results: %zu\n", cs->n_results);
    if (cs->n_results > 0) {
        fprintf(f, "  %-24s  %-24s  %8s  %5s  %6s  %8s  %5s  %s\n", "AT", "RUBRIC", "SESSIONS", "N",
                "EXACT", "WITHIN 1", "KAPPA", "RESULT");
    }
    for (size_t i = 0; i < cs->n_results; i++) {
        const Coachq__V1__CalibrationResult *r = cs->results[i];
        int have = r->n > 0;
        char n[16] = "-";

        if (have) {
            snprintf(n, sizeof(n), "%u", r->n);
        }
        day_format_time_ms(r->at_ms, t, sizeof(t));
        /* A withheld result's reason is in words already (it starts with
         * "passed" or "not passed"). */
        fprintf(f, "  %-24s  %-24s  %8u  %5s  %6s  %8s  %5s  %s%s%s\n", t, r->rubric_id,
                r->sessions, n, pct(r->exact, have, a, sizeof(a)),
                pct(r->within_one, have, b, sizeof(b)),
                kappa_str(r->kappa, have, r->kappa_undefined, k, sizeof(k)),
                r->figures_withheld ? "" : (r->passed ? "passed" : "not passed"),
                !r->figures_withheld && r->reason != NULL && r->reason[0] != '\0' ? ": " : "",
                r->reason != NULL ? r->reason : "");
        undefined |= have && r->kappa_undefined;
        withheld |= r->figures_withheld;
    }
    if (undefined) {
        fprintf(f, "\nundef: weighted kappa is undefined (0/0) because the scores compared all use "
                   "one\ncategory; exact agreement alone decided.\n");
    }
    if (withheld) {
        fprintf(f,
                "\nAgreement figures are shown to enablement leads only: attempt by attempt they\n"
                "would reveal the master scores. Your lead can go through a result with you,\n"
                "or 'coachq calibrate --result REFERENCE' shows your latest attempt there in\n"
                "full, after which that reference takes no more attempts from you.\n");
    }
}

/* A figure for JSON: null when there is none (jansson refuses NaN). */
static json_t *json_figure(double v, int have)
{
    return have && isfinite(v) ? json_real(v) : json_null();
}

static json_t *cert_json(const Coachq__V1__Certification *ct, int64_t today)
{
    json_t *o = json_object();
    char from[DAY_TIME_LEN];
    char until[DAY_TIME_LEN];
    char at[DAY_TIME_LEN];
    int have = ct->n > 0;

    if (o == NULL) {
        return NULL;
    }
    day_format_time_ms(ct->granted_at_ms, at, sizeof(at));
    if (jsonx_put(o, "rubric", json_string(ct->rubric_id)) < 0 ||
        jsonx_put(o, "valid_from",
                  json_string(format_day(ct->valid_from_day, from, sizeof(from)))) < 0 ||
        jsonx_put(o, "valid_until",
                  json_string(format_day(ct->valid_until_day, until, sizeof(until)))) < 0 ||
        jsonx_put(o, "status", json_string(cert_when_json[cert_when_on(ct, today)])) < 0 ||
        jsonx_put(o, "granted_by", json_string(ct->granted_by)) < 0 ||
        (ct->granted_at_ms != 0 && jsonx_put(o, "granted_at", json_string(at)) < 0) ||
        jsonx_put(o, "n", json_integer(ct->n)) < 0 ||
        jsonx_put(o, "exact", json_figure(ct->exact, have)) < 0 ||
        jsonx_put(o, "within_one", json_figure(ct->within_one, have)) < 0 ||
        jsonx_put(o, "kappa", json_figure(ct->kappa, have && !ct->kappa_undefined)) < 0 ||
        jsonx_put(o, "kappa_undefined", json_boolean(have && ct->kappa_undefined)) < 0 ||
        jsonx_put(o, "figures_withheld", json_boolean(ct->figures_withheld)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *result_json(const Coachq__V1__CalibrationResult *r)
{
    json_t *o = json_object();
    char at[DAY_TIME_LEN];
    char next[DAY_TIME_LEN];
    int have = r->n > 0;

    if (o == NULL) {
        return NULL;
    }
    day_format_time_ms(r->at_ms, at, sizeof(at));
    day_format_time_ms(r->next_attempt_ms, next, sizeof(next));
    if (jsonx_put(o, "at", json_string(at)) < 0 ||
        jsonx_put(o, "rubric", json_string(r->rubric_id)) < 0 ||
        jsonx_put(o, "sessions", json_integer(r->sessions)) < 0 ||
        jsonx_put(o, "n", json_integer(r->n)) < 0 ||
        jsonx_put(o, "exact", json_figure(r->exact, have)) < 0 ||
        jsonx_put(o, "within_one", json_figure(r->within_one, have)) < 0 ||
        jsonx_put(o, "kappa", json_figure(r->kappa, have && !r->kappa_undefined)) < 0 ||
        jsonx_put(o, "kappa_undefined", json_boolean(have && r->kappa_undefined)) < 0 ||
        jsonx_put(o, "figures_withheld", json_boolean(r->figures_withheld)) < 0 ||
        jsonx_put(o, "passed", json_boolean(r->passed)) < 0 ||
        (r->attempt > 0 && jsonx_put(o, "attempt", json_integer(r->attempt)) < 0) ||
        (r->attempts_allowed > 0 &&
         jsonx_put(o, "attempts_allowed", json_integer(r->attempts_allowed)) < 0) ||
        (r->next_attempt_ms > 0 && jsonx_put(o, "next_attempt", json_string(next)) < 0) ||
        (r->reason != NULL && r->reason[0] != '\0' &&
         jsonx_put(o, "reason", json_string(r->reason)) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* CertStatus as JSON (caller owns), or NULL on out of memory. */
static json_t *cert_status_json(const Coachq__V1__CertStatus *cs, int64_t today)
{
    json_t *o = json_object();
    json_t *certs = json_array();
    json_t *results = json_array();
    json_t *ret = NULL;

    if (o == NULL || certs == NULL || results == NULL) {
        goto out;
    }
    for (size_t i = 0; i < cs->n_certifications; i++) {
        if (json_array_append_new(certs, cert_json(cs->certifications[i], today)) < 0) {
            goto out;
        }
    }
    for (size_t i = 0; i < cs->n_results; i++) {
        if (json_array_append_new(results, result_json(cs->results[i])) < 0) {
            goto out;
        }
    }
    /* json_object_set() takes references of its own: ours go at out. */
    if (jsonx_put(o, "observer", json_string(cs->observer_id)) < 0 ||
        json_object_set(o, "certifications", certs) < 0 ||
        json_object_set(o, "results", results) < 0) {
        goto out;
    }
    ret = o;
    o = NULL;
out:
    json_decref(certs);
    json_decref(results);
    json_decref(o);
    return ret;
}

int cli_cmd_cert(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__CertStatus *cs = NULL;
    struct client_error e;
    const char *observer = NULL;
    int64_t today = (int64_t)time(NULL);
    int json = 0;
    int rc = cli_json_options(x, argc, argv, &cli_doc_cert, &json);

    if (rc >= 0) {
        return rc;
    }
    if (optind >= argc || strcmp(argv[optind], "status") != 0) {
        return cli_usage(x, "expected 'cert status [OBSERVER]'");
    }
    if (argc - optind > 2) {
        return cli_usage(x, "unexpected argument '%s'", argv[optind + 2]);
    }
    if (argc - optind == 2) {
        observer = argv[optind + 1];
    }
    /* Days since 1970 rounded down, also for the (theoretical) times
     * before it. */
    today = today >= 0 ? today / 86400 : -((-today + 86399) / 86400);
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_cert_status(c, observer, &cs, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        goto out;
    }
    if (json) {
        json_t *j = cert_status_json(cs, today);

        rc = cli_print_json(x, j);
        json_decref(j);
    } else {
        print_cert_status(x->out, cs, today);
        rc = CLI_EXIT_OK;
    }
out:
    coachq__v1__cert_status__free_unpacked(cs, NULL);
    client_free(c);
    return rc;
}

/* ---- reference add ------------------------------------------------------- */

int cli_cmd_reference(struct cli *x, int argc, char **argv)
{
    struct client *c = NULL;
    Coachq__V1__CalibrationReference *ref = NULL;
    struct client_error e;
    json_t *root = NULL;
    const char *path;
    const char *name;
    char err[512];
    char id[UUID_STR_LEN];
    int write_ids = 1;
    int is_stdin;
    int rc;
    int opt;

    for (;;) {
        rc = cli_next_option(x, argc, argv, &cli_doc_reference, &opt);
        if (rc >= 0) {
            return rc;
        }
        if (opt == -1) {
            break;
        }
        switch (opt) {
        case OPT_NO_WRITE_IDS:
            write_ids = 0;
            break;
        default:
            return cli_bad_option(x, argc, argv);
        }
    }
    if (optind < argc && strcmp(argv[optind], "retire") == 0) {
        if (argc - optind != 2) {
            return cli_usage(x, "expected 'reference retire ID'");
        }
        return cli_reference_retire(x, argv[optind + 1]);
    }
    if (optind >= argc || strcmp(argv[optind], "add") != 0) {
        return cli_usage(x, "expected 'reference add FILE' or 'reference retire ID'");
    }
    if (argc - optind != 2) {
        return cli_usage(x, "expected exactly one FILE (use - for standard input)");
    }
    path = argv[optind + 1];
    is_stdin = strcmp(path, "-") == 0;
    name = is_stdin ? "(stdin)" : path;
    rc = CLI_EXIT_FAILED;
    root = cli_load_input(x, path, is_stdin);
    if (root == NULL) {
        goto out;
    }
    if (obs_json_parse_reference(root, &ref, err, sizeof(err)) < 0) {
        cli_msg(x, "%s: %s", name, err);
        goto out;
    }
    if (ref->recording != NULL) {
        struct validate_error verr;

        if (validate_recording(ref->recording, 0, "recording", &verr) < 0) {
            cli_msg(x, "%s: %s: %s", name, verr.field, verr.message);
            goto out;
        }
    }
    if (ref->id.len == 0) {
        json_t *n = NULL;

        if (cli_give_id(&ref->id, root, write_ids && !is_stdin ? &n : NULL) < 0) {
            cli_msg(x, "out of memory");
            goto out;
        }
        if (n != NULL) {
            json_decref(root);
            root = n;
            /* Saved before sending, so that a retry after any failure
             * below registers the same reference. */
            if (cli_rewrite_file(x, path, root) < 0) {
                cli_msg(x, "nothing was sent (use --no-write-ids to send without saving the id)");
                goto out;
            }
            cli_msg(x, "%s: added an id", path);
        } else {
            cli_msg(x,
                    "the reference got a new id that is not saved anywhere: sending the same input "
                    "again registers it a second time");
        }
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    rc = client_add_reference(c, ref, &e);
    if (rc < 0) {
        rc = cli_request_failed(x, rc, &e);
        goto out;
    }
    fprintf(x->out, "%s STORED\n", uuid_format(ref->id.data, id));
    if (ref->recording != NULL) {
        cli_print_recording(x->out, ref->recording);
    }
    rc = CLI_EXIT_OK;
out:
    obs_json_free_reference(ref);
    json_decref(root);
    client_free(c);
    return rc;
}
