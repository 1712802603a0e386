/*
 * cmd_calibrate: `coachq calibrate` (the reference sessions an observer may
 * attempt, scoring one in the observer's UI, the result at once with where
 * the observer differed from the master coder, and the calibration
 * history) and `coachq reference retire` (called from cmd_rubrics.c).
 * Showing a result in full spends the reference for that observer: the
 * server refuses later attempts at it (docs/observer.md, "Calibration in
 * the UI").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "cli_int.h"
#include "day.h"
#include "obs_json.h"
#include "observe.h"

#define CAL_ACT(x) COACHQ__V1__CALIBRATION_REQUEST__ACTION__ACTION_##x
/* The attempt is stored and did not pass. */
#define CLI_EXIT_NOT_PASSED 4

struct cal_args {
    int json;
    int list;
    int history;
    int result;
};

static int take_option(struct cli *x, int opt, const char *val, void *arg)
{
    struct cal_args *a = arg;

    (void)x;
    (void)val;
    switch (opt) {
    case OPT_JSON:
        a->json = 1;
        return 1;
    case OPT_LIST:
        a->list = 1;
        return 1;
    case OPT_HISTORY:
        a->history = 1;
        return 1;
    case OPT_RESULT:
        a->result = 1;
        return 1;
    default:
        return 0;
    }
}

/* Sends q; on success *out is the answer (caller owns). Returns 0 or an
 * exit code after saying why. */
static int cal_request(struct cli *x, struct client *c, const Coachq__V1__CalibrationRequest *q,
                       Coachq__V1__CalibrationAnswer **out)
{
    struct client_error e;
    int rc = client_calibration(c, q, out, &e);

    return rc < 0 ? cli_request_failed(x, rc, &e) : 0;
}

static const char *pct_str(double v, int have, char *buf, size_t len)
{
    if (!have || !isfinite(v)) {
        snprintf(buf, len, "-");
    } else {
        snprintf(buf, len, "%.1f%%", v * 100.0);
    }
    return buf;
}

static const char *kappa_words(const Coachq__V1__CalibrationResult *r, char *buf, size_t len)
{
    if (r->n == 0 || r->figures_withheld) {
        snprintf(buf, len, "-");
    } else if (r->kappa_undefined) {
        snprintf(buf, len, "undefined");
    } else {
        snprintf(buf, len, "%.2f", r->kappa);
    }
    return buf;
}

static const char *left_words(const Coachq__V1__ReferenceSummary *s, char *buf, size_t len)
{
    if (s->spent) {
        snprintf(buf, len, "none (spent)");
    } else if (s->attempts_allowed == 0) {
        snprintf(buf, len, "no limit");
    } else if (s->next_attempt_ms != 0) {
        char t[40];

        day_format_minute(s->next_attempt_ms, t, sizeof(t));
        snprintf(buf, len, "%u, from %s",
                 s->attempts_used < s->attempts_allowed ? s->attempts_allowed - s->attempts_used
                                                        : 1u,
                 t);
    } else {
        snprintf(buf, len, "%u of %u", s->attempts_allowed - s->attempts_used, s->attempts_allowed);
    }
    return buf;
}

static void print_list(FILE *f, const Coachq__V1__CalibrationAnswer *a, int numbered)
{
    char id[UUID_STR_LEN];
    char left[64];

    if (a->n_references == 0) {
        fprintf(f, "no reference sessions to attempt: ask your enablement lead\n");
        return;
    }
    fprintf(f, "%s%-8s  %-32s  %-26s  %s\n", numbered ? "     " : "", "ID", "TITLE", "RUBRIC",
            "ATTEMPTS LEFT");
    for (size_t i = 0; i < a->n_references; i++) {
        const Coachq__V1__ReferenceSummary *s = a->references[i];
        char rubric[64];

        uuid_format(s->id.data, id);
        snprintf(rubric, sizeof(rubric), "%s@%u", s->rubric_id, (unsigned)s->rubric_version);
        if (numbered) {
            fprintf(f, "%3zu. ", i + 1);
        }
        fprintf(f, "%-8.8s  %-32.32s  %-26.26s  %s\n", id, s->title, rubric,
                left_words(s, left, sizeof(left)));
    }
}

/* A reference's recording as {reference, length}, or JSON null. */
static json_t *summary_recording(const Coachq__V1__ReferenceSummary *s)
{
    char len[32];

    if (s->recording == NULL || s->recording->reference == NULL) {
        return json_null();
    }
    obs_json_format_offset(s->recording->length_ms, len, sizeof(len));
    return json_pack("{s:s, s:s}", "reference", s->recording->reference, "length", len);
}

static json_t *summary_json(const Coachq__V1__ReferenceSummary *s)
{
    char id[UUID_STR_LEN];

    uuid_format(s->id.data, id);
    return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:b, s:o, s:o}", "id", id, "title", s->title,
                     "rubric", s->rubric_id, "rubric_version", (int)s->rubric_version,
                     "attempts_used", (int)s->attempts_used, "attempts_allowed",
                     (int)s->attempts_allowed, "spent", s->spent, "next_attempt",
                     s->next_attempt_ms != 0 ? json_integer(s->next_attempt_ms / 1000)
                                             : json_null(),
                     "recording", summary_recording(s));
}

static json_t *result_json(const Coachq__V1__CalibrationResult *r)
{
    char id[UUID_STR_LEN] = "";
    char t[DAY_TIME_LEN];
    int have = r->n > 0 && !r->figures_withheld;

    if (r->reference_id.len == UUID_LEN) {
        uuid_format(r->reference_id.data, id);
    }
    day_format_time_ms(r->at_ms, t, sizeof(t));
    return json_pack(
        "{s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:s}", "at", t, "reference",
        id, "rubric", r->rubric_id, "attempt", (int)r->attempt, "attempts_allowed",
        (int)r->attempts_allowed, "n", have ? json_integer(r->n) : json_null(), "exact",
        have ? json_real(r->exact) : json_null(), "within_one",
        have ? json_real(r->within_one) : json_null(), "kappa",
        have && !r->kappa_undefined && isfinite(r->kappa) ? json_real(r->kappa) : json_null(),
        "kappa_undefined", have && r->kappa_undefined, "passed", r->passed, "figures_withheld",
        r->figures_withheld, "reason", r->reason != NULL ? r->reason : "");
}

/* A score as "3", "n/a" or "-" (not rated). */
static const char *score_str(uint32_t score, int na, char *buf, size_t len)
{
    if (na) {
        snprintf(buf, len, "n/a");
    } else if (score == 0) {
        snprintf(buf, len, "-");
    } else {
        snprintf(buf, len, "%u", (unsigned)score);
    }
    return buf;
}

static int differs(const Coachq__V1__CalibrationDifference *d)
{
    return d->score != d->master_score || d->not_applicable != d->master_not_applicable;
}

static void print_result(FILE *f, const Coachq__V1__CalibrationAnswer *a, const char *title)
{
    const Coachq__V1__CalibrationResult *r = a->result;
    char id[UUID_STR_LEN] = "";
    char e[16], w[16], k[32], s1[16], s2[16];
    size_t same = 0;

    if (r == NULL) {
        return;
    }
    if (r->reference_id.len == UUID_LEN) {
        uuid_format(r->reference_id.data, id);
    }
    fprintf(f, "calibration result: %s%s%s\n", title != NULL ? title : id,
            title != NULL ? "  " : "", title != NULL ? id : "");
    fprintf(f, "  result          %s\n", r->passed ? "PASSED" : "NOT PASSED");
    fprintf(f, "  rating pairs    %u\n", (unsigned)r->n);
    fprintf(f, "  exact           %s\n", pct_str(r->exact, r->n > 0, e, sizeof(e)));
    fprintf(f, "  within one      %s\n", pct_str(r->within_one, r->n > 0, w, sizeof(w)));
    fprintf(f, "  weighted kappa  %s%s\n", kappa_words(r, k, sizeof(k)),
            r->n > 0 && r->kappa_undefined
                ? " (the master scores compared all use one category, so kappa is 0/0; exact "
                  "agreement alone decides)"
                : "");
    if (r->reason != NULL && r->reason[0] != '\0') {
        fprintf(f, "  against the thresholds: %s\n", r->reason);
    } else {
        fprintf(f, "  against the thresholds: every threshold met\n");
    }
    if (r->attempts_allowed > 0) {
        fprintf(f, "  attempt         %u of %u in the window\n", (unsigned)r->attempt,
                (unsigned)r->attempts_allowed);
    }
    fprintf(f, "  attempts left   none at this reference: you have now seen its master scores\n");
    fprintf(f, "\nwhere you differed from the master coder:\n");
    fprintf(f, "  %-28s  %4s  %6s\n", "BEHAVIOUR", "YOU", "MASTER");
    for (size_t i = 0; i < a->n_differences; i++) {
        const Coachq__V1__CalibrationDifference *d = a->differences[i];

        if (!differs(d)) {
            same++;
            continue;
        }
        fprintf(f, "  %-28s  %4s  %6s\n", d->behaviour_id,
                score_str(d->score, d->not_applicable, s1, sizeof(s1)),
                score_str(d->master_score, d->master_not_applicable, s2, sizeof(s2)));
    }
    fprintf(f, "  (%zu of %zu behaviours the same as the master coder)\n", same, a->n_differences);
}

static json_t *reveal_json(const Coachq__V1__CalibrationAnswer *a)
{
    json_t *o = result_json(a->result);
    json_t *arr = json_array();

    for (size_t i = 0; i < a->n_differences; i++) {
        const Coachq__V1__CalibrationDifference *d = a->differences[i];
        char s1[16], s2[16];

        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:b}", "behaviour", d->behaviour_id, "score",
                           score_str(d->score, d->not_applicable, s1, sizeof(s1)), "master",
                           score_str(d->master_score, d->master_not_applicable, s2, sizeof(s2)),
                           "differs", differs(d)));
    }
    json_object_set_new(o, "differences", arr);
    return o;
}

static void print_history(FILE *f, const Coachq__V1__CalibrationAnswer *a)
{
    int withheld = 0;

    fprintf(f, "observer    %s\ncalibration attempts: %zu\n", cli_or_dash(a->observer_id),
            a->n_history);
    if (a->n_history > 0) {
        fprintf(f, "  %-20s  %-8s  %-24s  %4s  %6s  %8s  %9s  %s\n", "AT", "REF", "RUBRIC", "N",
                "EXACT", "WITHIN 1", "KAPPA", "RESULT");
    }
    for (size_t i = 0; i < a->n_history; i++) {
        const Coachq__V1__CalibrationResult *r = a->history[i];
        int have = r->n > 0 && !r->figures_withheld;
        char t[DAY_TIME_LEN], id[UUID_STR_LEN] = "-", n[16] = "-", e[16], w[16], k[32];

        day_format_time_ms(r->at_ms, t, sizeof(t));
        if (r->reference_id.len == UUID_LEN) {
            uuid_format(r->reference_id.data, id);
        }
        if (have) {
            snprintf(n, sizeof(n), "%u", (unsigned)r->n);
        }
        fprintf(f, "  %-20s  %-8.8s  %-24s  %4s  %6s  %8s  %9s  %s\n", t, id, r->rubric_id, n,
                pct_str(r->exact, have, e, sizeof(e)), pct_str(r->within_one, have, w, sizeof(w)),
                kappa_words(r, k, sizeof(k)), r->passed ? "passed" : "not passed");
        withheld |= r->figures_withheld;
    }
    if (withheld) {
        fprintf(f, "\nFigures show only for attempts you had shown in full ('coachq calibrate');\n"
                   "the others are pass or fail (docs/observer.md, \"Calibration\").\n");
    }
}

/* Finds the reference arg names (an id or a unique prefix of one) in the
 * list. Returns its index, or -1 after saying why. */
static long find_reference(struct cli *x, const Coachq__V1__CalibrationAnswer *a, const char *arg)
{
    long found = -1;
    size_t len = strlen(arg);
    char id[UUID_STR_LEN];

    if (len == 0) {
        cli_msg(x, "REFERENCE is empty");
        return -1;
    }
    for (size_t i = 0; i < a->n_references; i++) {
        uuid_format(a->references[i]->id.data, id);
        if (strncasecmp(id, arg, len) == 0) {
            if (found >= 0) {
                cli_msg(x, "'%s' matches more than one reference session: give more of the id",
                        arg);
                return -1;
            }
            found = (long)i;
        }
    }
    if (found < 0) {
        cli_msg(x,
                "no reference session you may attempt has an id starting '%s' ('coachq calibrate "
                "--list' lists them)",
                arg);
    }
    return found;
}

/* Asks which reference to attempt. Returns its index, or -1 to stop. */
static long pick_reference(struct cli *x, const Coachq__V1__CalibrationAnswer *a)
{
    char *line = NULL;
    size_t cap = 0;
    unsigned long n;
    long pick = -1;

    fprintf(x->out, "\nReference to attempt (its number or id; Enter to stop): ");
    fflush(x->out);
    if (getline(&line, &cap, stdin) > 0) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0') {
            pick = -1;
        } else if (cli_parse_ulong(line, 1, a->n_references, &n) == 0) {
            pick = (long)n - 1;
        } else {
            pick = find_reference(x, a, line);
        }
    }
    free(line);
    return pick;
}

/* Prints the revealed attempt a (takes ownership) as text or JSON.
 * Returns the exit code. */
static int show_revealed(struct cli *x, Coachq__V1__CalibrationAnswer *a, const char *title,
                         int json)
{
    int rc;

    if (json) {
        json_t *j = reveal_json(a);

        rc = cli_print_json(x, j);
        json_decref(j);
    } else {
        print_result(x->out, a, title);
        rc = CLI_EXIT_OK;
    }
    if (rc == CLI_EXIT_OK && a->result != NULL && !a->result->passed) {
        rc = CLI_EXIT_NOT_PASSED;
    }
    coachq__v1__calibration_answer__free_unpacked(a, NULL);
    return rc;
}

/* Reveals the caller's latest attempt at ref and prints it. */
static int reveal(struct cli *x, struct client *c, const uint8_t ref[UUID_LEN], const char *title,
                  int json)
{
    Coachq__V1__CalibrationRequest q = COACHQ__V1__CALIBRATION_REQUEST__INIT;
    Coachq__V1__CalibrationAnswer *a = NULL;
    int rc;

    q.action = CAL_ACT(REVEAL);
    q.reference_id.data = (uint8_t *)ref;
    q.reference_id.len = UUID_LEN;
    rc = cal_request(x, c, &q, &a);
    if (rc != 0) {
        return rc;
    }
    return show_revealed(x, a, title, json);
}

/* The result the UI shows once the server has the attempt: revealed once,
 * kept for the printed copy after the UI closes. */
struct cal_shown {
    struct cli *x;
    const Coachq__V1__ReferenceSummary *s;
    Coachq__V1__CalibrationAnswer *a; /* owned; NULL until revealed */
};

/* observe_opts.calibration_result: reveals the attempt on a connection of
 * its own, quietly (the terminal belongs to the UI), and returns the text
 * `coachq calibrate` prints, or why it could not. */
static char *ui_result(void *arg)
{
    Coachq__V1__CalibrationRequest q = COACHQ__V1__CALIBRATION_REQUEST__INIT;
    struct cal_shown *sh = arg;
    struct client *c = NULL;
    struct client_error e;
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    memset(&e, 0, sizeof(e));
    q.action = CAL_ACT(REVEAL);
    q.reference_id = sh->s->id;
    if (sh->a == NULL && cli_try_connect(sh->x, 0, &c, &e) == 0) {
        (void)client_calibration(c, &q, &sh->a, &e);
    }
    client_free(c);
    f = open_memstream(&text, &len);
    if (f == NULL) {
        return NULL;
    }
    if (sh->a != NULL && sh->a->result != NULL) {
        print_result(f, sh->a, sh->s->title);
    } else {
        fprintf(f,
                "The result could not be fetched yet (%s): it is printed when this screen "
                "closes, or by coachq calibrate --result.\n",
                e.message[0] != '\0' ? e.message : "no answer");
    }
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* Scores reference s in the observer's UI and, once the server has the
 * attempt, shows it in full. */
static int attempt(struct cli *x, struct client **c, const Coachq__V1__ReferenceSummary *s,
                   int json)
{
    struct localstore *ls = NULL;
    struct observe_opts o;
    char rubric[128];
    struct cal_shown sh;
    FILE *out = NULL;
    int stored = 0;
    int rc;

    if (s->spent) {
        cli_msg(x,
                "you have seen the master coder's scores of '%s', so it no longer takes your "
                "attempts: attempt another reference",
                s->title);
        return CLI_EXIT_FAILED;
    }
    memset(&o, 0, sizeof(o));
    snprintf(rubric, sizeof(rubric), "%s", s->rubric_id);
    o.rubric_id = rubric;
    o.rubric_version = s->rubric_version;
    /* A reference session is nobody's session in the programme. */
    o.coach_id = "reference.coach";
    o.coachee_id = "reference.rep";
    o.session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW;
    o.focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    o.calibration_ref = s->id.data;
    o.calibration_title = s->title;
    /* A recorded reference is scored from its recording, as `coachq observe
     * --recording` does, so markers and evidence land at its positions. */
    if (s->recording != NULL && s->recording->reference != NULL &&
        s->recording->reference[0] != '\0' && s->recording->length_ms != 0) {
        o.recording_ref = s->recording->reference;
        o.recording_length_ms = s->recording->length_ms;
    }
    o.stored_out = &stored;
    /* The UI makes its own connection; this one would only idle. */
    client_free(*c);
    *c = NULL;
    if (cli_open_store(x, &ls) != 0) {
        return CLI_EXIT_CONNECT;
    }
    if (json) {
        /* stdout is the JSON alone: the UI draws on the terminal and its
         * closing line ("stored: ...") goes to stderr. */
        o.tty_out = 1;
        out = x->out;
        x->out = x->err;
    }
    memset(&sh, 0, sizeof(sh));
    sh.x = x;
    sh.s = s;
    o.calibration_result = ui_result;
    o.calibration_arg = &sh;
    rc = cli_observe_start(x, ls, &o);
    if (json) {
        x->out = out;
    }
    localstore_close(ls);
    if (stored && sh.a != NULL && sh.a->result != NULL) {
        /* The copy for scripts, of the result the UI showed. */
        return show_revealed(x, sh.a, s->title, json);
    }
    coachq__v1__calibration_answer__free_unpacked(sh.a, NULL);
    if (!stored) {
        if (rc == CLI_EXIT_OK) {
            char id[UUID_STR_LEN];

            cli_msg(x,
                    "the attempt is not on the server yet: once it is sent, 'coachq calibrate "
                    "--result %.8s' shows it",
                    uuid_format(s->id.data, id));
        }
        return rc;
    }
    rc = cli_connect_server(x, 0, c);
    if (rc != 0) {
        return rc;
    }
    return reveal(x, *c, s->id.data, s->title, json);
}

int cli_cmd_calibrate(struct cli *x, int argc, char **argv)
{
    Coachq__V1__CalibrationRequest q = COACHQ__V1__CALIBRATION_REQUEST__INIT;
    Coachq__V1__CalibrationAnswer *a = NULL;
    struct client *c = NULL;
    struct cal_args args;
    const char *arg = NULL;
    long pick = -1;
    int rc;

    memset(&args, 0, sizeof(args));
    rc = cli_parse_options(x, argc, argv, &cli_doc_calibrate, take_option, &args);
    if (rc >= 0) {
        return rc;
    }
    if (argc - optind > 1) {
        return cli_usage(x, "unexpected argument '%s'", argv[optind + 1]);
    }
    arg = optind < argc ? argv[optind] : NULL;
    if (args.list + args.history + args.result > 1) {
        return cli_usage(x, "--list, --history and --result do not go together");
    }
    if (args.list && arg != NULL) {
        return cli_usage(x, "--list takes no REFERENCE");
    }
    if (args.result && arg == NULL) {
        return cli_usage(x, "--result needs a REFERENCE");
    }
    if (args.json && !args.list && !args.history && !args.result && arg == NULL) {
        return cli_usage(x, "--json goes with --list, --history, --result or a REFERENCE");
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    if (args.history) {
        q.action = CAL_ACT(HISTORY);
        q.observer_id = (char *)(arg != NULL ? arg : "");
        rc = cal_request(x, c, &q, &a);
        if (rc == 0 && args.json) {
            json_t *j = json_array();

            for (size_t i = 0; i < a->n_history; i++) {
                json_array_append_new(j, result_json(a->history[i]));
            }
            j = json_pack("{s:s, s:o}", "observer", a->observer_id, "attempts", j);
            rc = cli_print_json(x, j);
            json_decref(j);
        } else if (rc == 0) {
            print_history(x->out, a);
        }
        goto out;
    }
    q.action = CAL_ACT(REFERENCES);
    rc = cal_request(x, c, &q, &a);
    if (rc != 0) {
        goto out;
    }
    if (arg == NULL) {
        if (args.json) {
            json_t *j = json_array();

            for (size_t i = 0; i < a->n_references; i++) {
                json_array_append_new(j, summary_json(a->references[i]));
            }
            rc = cli_print_json(x, j);
            json_decref(j);
            goto out;
        }
        print_list(x->out, a, !args.list && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
        if (args.list || a->n_references == 0 || !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
            rc = CLI_EXIT_OK;
            goto out;
        }
        pick = pick_reference(x, a);
        if (pick < 0) {
            rc = CLI_EXIT_OK;
            goto out;
        }
    } else {
        pick = find_reference(x, a, arg);
        if (pick < 0) {
            rc = CLI_EXIT_FAILED;
            goto out;
        }
    }
    if (args.result) {
        rc = reveal(x, c, a->references[pick]->id.data, a->references[pick]->title, args.json);
    } else {
        rc = attempt(x, &c, a->references[pick], args.json);
    }
out:
    coachq__v1__calibration_answer__free_unpacked(a, NULL);
    client_free(c);
    return rc;
}

int cli_reference_retire(struct cli *x, const char *arg)
{
    Coachq__V1__CalibrationRequest q = COACHQ__V1__CALIBRATION_REQUEST__INIT;
    Coachq__V1__CalibrationAnswer *a = NULL;
    struct client *c = NULL;
    uint8_t id[UUID_LEN];
    char idstr[UUID_STR_LEN];
    int rc;

    if (uuid_parse(arg, id) < 0) {
        return cli_usage(x, "'%s' is not a reference id (a UUID)", arg);
    }
    rc = cli_connect_server(x, 0, &c);
    if (rc != 0) {
        goto out;
    }
    q.action = CAL_ACT(RETIRE);
    q.reference_id.data = id;
    q.reference_id.len = UUID_LEN;
    rc = cal_request(x, c, &q, &a);
    if (rc != 0) {
        goto out;
    }
    fprintf(x->out, "%s RETIRED\n", uuid_format(id, idstr));
    rc = CLI_EXIT_OK;
out:
    coachq__v1__calibration_answer__free_unpacked(a, NULL);
    client_free(c);
    return rc;
}
