/*
 * test_calibrate: calibration in the observer's UI, end to end through a
 * real coachqd over TLS, the real `coachq` binary in tmux and its CLI. An
 * enablement lead registers two reference sessions; the observer lists
 * them (no master scores in the answer), scores one in the same UI as a
 * live session with a CALIBRATION banner, a marker included, and sees the
 * result at once: pass or fail, the figures, attempts, and where they
 * differed from the master coder behaviour by behaviour. The leak rule:
 * the reference is then spent, so another attempt at it (from the UI or a
 * hand-written JSON attempt) is refused naming calibration_ref and nothing
 * new is stored or revealed. A retired reference refuses attempts naming
 * calibration_ref and stores nothing; only leads and administrators
 * retire. The history lists every attempt (figures for the revealed ones;
 * a lead sees all), and another observer may not read it. Skipped only
 * when tmux is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "testutil.h"
#include "tmuxutil.h"

#define OUT_MAX (1u << 16)

/* Fails with the whole text unless it contains want. */
static void has(const char *text, const char *want)
{
    if (strstr(text, want) == NULL) {
        fail_msg("'%s' not in:\n%s", want, text);
    }
}

/* Fails with the whole screen unless one of its lines, without the
 * blanks around it, is want exactly. */
static void has_line(const char *scr, const char *want)
{
    size_t n = strlen(want);

    for (const char *p = scr; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

        while (len > 0 && *p == ' ') {
            p++;
            len--;
        }
        while (len > 0 && p[len - 1] == ' ') {
            len--;
        }
        if (len == n && memcmp(p, want, n) == 0) {
            return;
        }
        if (nl == NULL) {
            break;
        }
        p = nl + 1;
    }
    fail_msg("no line '%s' in:\n%s", want, scr);
}

/* The master scores of the first reference and the scores typed: they
 * differ at behaviours 5 (master 3, typed 2) and 9 (master 2, typed 3). */
static const int master1[10] = {3, 3, 2, 3, 3, 3, 3, 3, 2, 2};
static const int typed[10] = {3, 3, 2, 3, 3, 2, 3, 3, 2, 3};

#define REF1 "5d0f3c1e-8a2b-4c6d-9e0f-1a2b3c4d5e6f"
#define REF2 "7e1a4b2c-9d3e-4f5a-8b6c-2d3e4f5a6b7c"

/* Runs coachq as user with the fixture's server and its own local store;
 * the arguments after expect end with NULL. Returns the exit status with
 * stdout and stderr in out. */
static int run_as(struct tmuxutil *f, const char *user, char *out, int expect, ...)
{
    char cert[600], key[600], ca[600], server[64], local[700], rel[64];
    const char *argv[32];
    size_t n = 0;
    va_list ap;
    const char *a;

    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    testutil_cert_path(cert, sizeof(cert), rel);
    snprintf(rel, sizeof(rel), "users/%s.key", user);
    testutil_cert_path(key, sizeof(key), rel);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    snprintf(server, sizeof(server), "127.0.0.1:%d", f->srv.port);
    snprintf(local, sizeof(local), "%s/cli-%s", f->dir, user);
    va_start(ap, expect);
    while ((a = va_arg(ap, const char *)) != NULL && n < 20) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    /* testutil_coachq() takes a NULL-terminated list: up to 8 here. */
    return testutil_coachq(out, OUT_MAX, expect, "--server", server, "--cert", cert, "--key", key,
                           "--ca", ca, "--data-dir", local, argv[0], n > 1 ? argv[1] : NULL,
                           n > 2 ? argv[2] : NULL, n > 3 ? argv[3] : NULL, n > 4 ? argv[4] : NULL,
                           n > 5 ? argv[5] : NULL, n > 6 ? argv[6] : NULL, NULL);
}

/* Writes a reference's JSON into path, with the recording object
 * recording (JSON text) when it is not NULL. */
static void write_reference_rec(const char *path, const char *id, const char *title,
                                const int master[10], const char *recording)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fprintf(fp,
            "{\"id\": \"%s\", \"rubric\": \"coaching-conversation\", \"rubric_version\": 1, "
            "\"title\": \"%s\", \"master\": [",
            id, title);
    for (size_t i = 0; i < 10; i++) {
        fprintf(fp, "%s{\"behaviour\": \"%s\", \"score\": %d%s}", i > 0 ? ", " : "",
                testutil_behaviours[i], master[i],
                master[i] == 1 || master[i] == 4 ? ", \"evidence\": \"seen\"" : "");
    }
    fprintf(fp, "]%s%s}\n", recording != NULL ? ", \"recording\": " : "",
            recording != NULL ? recording : "");
    assert_int_equal(fclose(fp), 0);
}

/* Writes a live reference's JSON into path. */
static void write_reference(const char *path, const char *id, const char *title,
                            const int master[10])
{
    write_reference_rec(path, id, title, master, NULL);
}

/* Writes a hand-made calibration attempt at ref into path. */
static void write_attempt(const char *path, const char *ref)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fprintf(fp,
            "{\"rubric\": \"coaching-conversation\", \"rubric_version\": 1, \"coach\": "
            "\"reference.coach\", \"coachee\": \"reference.rep\", \"session_type\": "
            "\"call_review\", \"focus\": \"skill\", "
            "\"started_at\": \"2026-01-05T10:00:00Z\", \"duration_min\": 20, "
            "\"calibration_ref\": \"%s\", \"ratings\": [",
            ref);
    for (size_t i = 0; i < 10; i++) {
        fprintf(fp, "%s{\"behaviour\": \"%s\", \"score\": %d}", i > 0 ? ", " : "",
                testutil_behaviours[i], master1[i] == 1 || master1[i] == 4 ? 3 : master1[i]);
    }
    fprintf(fp, "]}\n");
    assert_int_equal(fclose(fp), 0);
}

/* The number of attempts in obs.ann's history, as a lead reads it. */
static size_t attempts_of(struct tmuxutil *f, const char *observer, json_t **hist)
{
    char *out = malloc(OUT_MAX);
    json_error_t jerr;
    json_t *j;
    size_t n;

    assert_non_null(out);
    run_as(f, "lead.gil", out, 0, "calibrate", "--history", "--json", observer, NULL);
    j = json_loads(out, 0, &jerr);
    if (j == NULL) {
        fail_msg("no JSON from calibrate --history: %s", out);
    }
    free(out);
    n = json_array_size(json_object_get(j, "attempts"));
    if (hist != NULL) {
        *hist = j;
    } else {
        json_decref(j);
    }
    return n;
}

static void test_calibrate_end_to_end(void **state)
{
    struct tmuxutil *f = *state;
    char *out = malloc(OUT_MAX);
    char path[700], apath[700];
    char s[TMUXUTIL_SCREEN_MAX];
    json_t *hist = NULL;
    json_t *first;
    json_error_t jerr;
    json_t *list;

    assert_non_null(out);
    tmuxutil_need_tmux(f);
    /* An enablement lead registers two references; an observer may not
     * retire one. */
    snprintf(path, sizeof(path), "%s/ref1.json", f->dir);
    write_reference(path, REF1, "Deal review, Globex", master1);
    run_as(f, "lead.gil", out, 0, "reference", "add", path, NULL);
    snprintf(path, sizeof(path), "%s/ref2.json", f->dir);
    write_reference(path, REF2, "Call review, Initech", master1);
    run_as(f, "lead.gil", out, 0, "reference", "add", path, NULL);
    run_as(f, "obs.ann", out, 1, "reference", "retire", REF2, NULL);
    has(out, "PERMISSION_DENIED");

    /* The list: titles, rubric, attempts left, never the master scores. */
    run_as(f, "obs.ann", out, 0, "calibrate", "--list", NULL);
    has(out, "Deal review, Globex");
    has(out, "Call review, Initech");
    has(out, "3 of 3");
    run_as(f, "obs.ann", out, 0, "calibrate", "--list", "--json", NULL);
    list = json_loads(out, 0, &jerr);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 2);
    assert_null(strstr(out, "master"));
    assert_null(strstr(out, "score"));
    json_decref(list);
    /* Only observers attempt. */
    run_as(f, "flm.cara", out, 1, "calibrate", "--list", NULL);
    has(out, "PERMISSION_DENIED");

    /* Scoring the first in the UI, by a unique id prefix. */
    tmuxutil_ui_run(f, "c", "obs.ann", f->local, "", "calibrate 5d0f", 0);
    tmuxutil_wait_for(f, "c", "RUNNING", s, sizeof(s));
    has(s, "coachq CALIBRATION  LIVE  Deal review, Globex");
    tmuxutil_mark(f, "c", "o", 1);
    tmuxutil_end_live(f, "c");
    tmuxutil_screen(f, "c", s, sizeof(s));
    has(s, "CALIBRATION");
    for (size_t i = 0; i < 10; i++) {
        char k[2] = {(char)('0' + typed[i]), '\0'};
        char want[32];

        tmuxutil_keys(f, "c", k);
        snprintf(want, sizeof(want), "%zu of 10 rated", i + 1);
        tmuxutil_wait_for(f, "c", want, s, sizeof(s));
    }
    tmuxutil_key_until(f, "c", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "c", "Enter", "REVIEW");
    tmuxutil_key_until(f, "c", "s", "STORED");
    /* The result inside the UI, before it closes. */
    tmuxutil_wait_for(f, "c", "Press any key to close", s, sizeof(s));
    has(s, "coachq CALIBRATION  RESULT");
    has(s, "calibration result: Deal review, Globex");
    has(s, "NOT PASSED");
    has(s, "exact           80.0%");
    has(s, "within one      100.0%");
    has(s, "weighted kappa  0.52");
    has(s, "weighted kappa 0.52 is below 0.70");
    has(s, testutil_behaviours[5]);
    has(s, "(8 of 10 behaviours the same as the master coder)");
    tmuxutil_keys(f, "c", "x");
    /* The result at once: 8 of 10 the same, kappa, the differences. */
    tmuxutil_wait_for(f, "c", "master coder", s, sizeof(s));
    /* Hand-worked: 8 of 10 pairs agree, 10 within one; quadratic-weighted
     * kappa 1 - (2/10) / (2 x 0.7 x 0.3) = 11/21 = 0.52, below the default
     * 0.70, so the attempt does not pass (exit 4). */
    assert_int_equal(tmuxutil_wait_exit(f, "c"), 4);
    tmuxutil_screen(f, "c", s, sizeof(s));
    has(s, "NOT PASSED");
    has(s, "weighted kappa  0.52");
    has(s, "weighted kappa 0.52 is below 0.70");
    has(s, "calibration result: Deal review, Globex");
    has(s, "exact           80.0%");
    has(s, "within one      100.0%");
    has(s, "weighted kappa");
    has(s, testutil_behaviours[5]);
    has(s, testutil_behaviours[9]);
    has(s, "(8 of 10 behaviours the same as the master coder)");
    has(s, "attempts left   none");
    tmuxutil_assert_no_sanitizer_report(f);

    /* The attempt is stored with its marker and the reference. */
    assert_int_equal(attempts_of(f, "obs.ann", &hist), 1);
    first = json_array_get(json_object_get(hist, "attempts"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "reference")), REF1);
    assert_true(json_real_value(json_object_get(first, "exact")) > 0.0);

    /* The leak rule: the reference is spent. The CLI says so; a
     * hand-written attempt is refused naming calibration_ref; nothing new
     * is stored, and --result shows the same attempt again. */
    run_as(f, "obs.ann", out, 0, "calibrate", "--list", NULL);
    has(out, "none (spent)");
    run_as(f, "obs.ann", out, 1, "calibrate", "5d0f", NULL);
    has(out, "no longer takes your attempts");
    snprintf(apath, sizeof(apath), "%s/attempt1.json", f->dir);
    write_attempt(apath, REF1);
    run_as(f, "obs.ann", out, 1, "submit", "--no-write-ids", apath, NULL);
    has(out, "calibration_ref");
    has(out, "FAILED_PRECONDITION");
    assert_int_equal(attempts_of(f, "obs.ann", NULL), 1);
    run_as(f, "obs.ann", out, -1, "calibrate", "--result", "--json", REF1, NULL);
    list = json_loads(out, 0, &jerr);
    assert_non_null(list);
    assert_int_equal(json_array_size(json_object_get(list, "differences")), 10);
    assert_string_equal(json_string_value(json_object_get(list, "at")),
                        json_string_value(json_object_get(first, "at")));
    json_decref(list);

    /* The spent reference is obs.ann's alone: obs.ben (not certified:
     * calibration is how one gets certified) has nothing there to show,
     * may attempt it, and it is not spent for him; a lead may not reveal
     * anyone's attempt. */
    run_as(f, "obs.ben", out, 1, "calibrate", "--result", REF1, NULL);
    has(out, "NOT_FOUND");
    run_as(f, "obs.ben", out, 0, "submit", "--no-write-ids", apath, NULL);
    has(out, "STORED");
    run_as(f, "obs.ben", out, 0, "calibrate", "--list", NULL);
    has(out, "5d0f3c1e  Deal review, Globex               coaching-conversation@1     2, from ");
    has(out, " UTC");
    run_as(f, "lead.gil", out, 1, "calibrate", "--result", REF1, NULL);
    has(out, "PERMISSION_DENIED");
    assert_int_equal(attempts_of(f, "obs.ann", NULL), 1);
    assert_int_equal(attempts_of(f, "obs.ben", NULL), 1);

    /* The observer's own history shows the revealed attempt's figures;
     * another observer may not read it. */
    run_as(f, "obs.ann", out, 0, "calibrate", "--history", NULL);
    has(out, "calibration attempts: 1");
    has(out, "80.0%");
    run_as(f, "obs.ben", out, 1, "calibrate", "--history", "obs.ann", NULL);
    has(out, "PERMISSION_DENIED");

    /* Retiring: a lead retires the second; an attempt at it is refused
     * naming calibration_ref and stores nothing; the list drops it. */
    run_as(f, "lead.gil", out, 0, "reference", "retire", REF2, NULL);
    has(out, REF2 " RETIRED");
    snprintf(apath, sizeof(apath), "%s/attempt2.json", f->dir);
    write_attempt(apath, REF2);
    run_as(f, "obs.ann", out, 1, "submit", "--no-write-ids", apath, NULL);
    has(out, "calibration_ref");
    has(out, "retired");
    assert_int_equal(attempts_of(f, "obs.ann", NULL), 1);
    run_as(f, "obs.ann", out, 0, "calibrate", "--list", NULL);
    assert_null(strstr(out, "Initech"));
    run_as(f, "lead.gil", out, 1, "reference", "retire", "00000000-0000-4000-8000-000000000000",
           NULL);
    has(out, "NOT_FOUND");

    /* The history on Observer reliability, in every format, for leads
     * only; a person who is not an observer has no such page. */
    run_as(f, "lead.gil", out, 0, "dashboard", "observers", "obs.ann", "--width", "100", NULL);
    has(out, "Calibration history");
    has(out, "Deal review, Globex");
    has(out, "not passed");
    run_as(f, "lead.gil", out, 0, "dashboard", "observers", "obs.ann", "--csv",
           "calibration-history", NULL);
    has(out, "At,Reference,Attempt,Exact,Exact n,Within one,Within one n,Kappa,Kappa n,"
             "Result,Shown in full");
    has(out, "\"Deal review, Globex\",1 of 3,0.80,10,1.00,10,0.52,10,not passed,yes");
    has(out, ",yes");
    run_as(f, "lead.gil", out, 0, "dashboard", "observers", "obs.ann", "--json", NULL);
    list = json_loads(out, 0, &jerr);
    assert_non_null(list);
    has(out, "\"calibration-history\"");
    json_decref(list);
    run_as(f, "lead.gil", out, 1, "dashboard", "observers", "flm.cara", NULL);
    run_as(f, "obs.ann", out, 1, "dashboard", "observers", "obs.ann", NULL);
    has(out, "PERMISSION_DENIED");

    json_decref(hist);
    free(out);
}

/* Without REFERENCE on a terminal, the list is numbered and a number
 * picks the reference to score. */
static void test_pick(void **state)
{
    struct tmuxutil *f = *state;
    char *out = malloc(OUT_MAX);
    char path[700];
    char s[TMUXUTIL_SCREEN_MAX];

    assert_non_null(out);
    tmuxutil_need_tmux(f);
    snprintf(path, sizeof(path), "%s/ref1.json", f->dir);
    write_reference(path, REF1, "Deal review, Globex", master1);
    run_as(f, "lead.gil", out, 0, "reference", "add", path, NULL);
    tmuxutil_ui_run(f, "p", "obs.ann", f->local, "", "calibrate", 0);
    tmuxutil_wait_for(f, "p", "Reference to attempt", s, sizeof(s));
    has(s, "  1. 5d0f3c1e  Deal review, Globex");
    tmuxutil_text(f, "p", "1");
    tmuxutil_keys(f, "p", "Enter");
    tmuxutil_wait_for(f, "p", "RUNNING", s, sizeof(s));
    has(s, "CALIBRATION");
    free(out);
}

/* A reference the master coder scored from a recording: the list says
 * which recording (never the master scores), and the attempt opens the UI
 * in recording mode on it, so markers land at the recording's positions. */
static void test_recorded_reference(void **state)
{
    struct tmuxutil *f = *state;
    char *out = malloc(OUT_MAX);
    char path[700], cmd[1600];
    char s[TMUXUTIL_SCREEN_MAX];
    json_error_t jerr;
    json_t *list, *rec;
    Coachq__V1__StoredObservation *stored;

    assert_non_null(out);
    tmuxutil_need_tmux(f);
    snprintf(path, sizeof(path), "%s/ref1.json", f->dir);
    write_reference_rec(path, REF1, "Deal review, recorded", master1,
                        "{\"reference\": \"https://calls.example.com/c/cal-9\", \"length\": "
                        "\"20:00\"}");
    run_as(f, "lead.gil", out, 0, "reference", "add", path, NULL);
    snprintf(path, sizeof(path), "%s/ref2.json", f->dir);
    write_reference(path, REF2, "Call review, live", master1);
    run_as(f, "lead.gil", out, 0, "reference", "add", path, NULL);
    run_as(f, "obs.ann", out, 0, "calibrate", "--list", "--json", NULL);
    list = json_loads(out, 0, &jerr);
    assert_non_null(list);
    assert_int_equal(json_array_size(list), 2);
    assert_null(strstr(out, "master"));
    for (size_t i = 0; i < 2; i++) {
        json_t *e = json_array_get(list, i);
        const char *id = json_string_value(json_object_get(e, "id"));

        rec = json_object_get(e, "recording");
        if (strcmp(id, REF1) == 0) {
            assert_true(json_is_object(rec));
            assert_string_equal(json_string_value(json_object_get(rec, "reference")),
                                "https://calls.example.com/c/cal-9");
            assert_string_equal(json_string_value(json_object_get(rec, "length")), "20:00");
        } else {
            assert_true(json_is_null(rec));
        }
    }
    json_decref(list);

    /* With --json, stdout is the JSON alone: the UI draws on the
     * terminal and its "stored:" line goes to stderr. */
    snprintf(cmd, sizeof(cmd), "calibrate --json 5d0f > '%s/cal.json' 2> '%s/cal.err'", f->dir,
             f->dir);
    tmuxutil_ui_run(f, "r", "obs.ann", f->local, "", cmd, 0);
    tmuxutil_wait_for(f, "r", "RUNNING", s, sizeof(s));
    tmuxutil_wait_line(f, "r", 0, "RECORDING");
    tmuxutil_wait_line(f, "r", 0, "/20:00");
    tmuxutil_screen(f, "r", s, sizeof(s));
    has(s, "CALIBRATION");
    /* Scored and sent like any attempt, with the reference's recording. */
    tmuxutil_mark(f, "r", "o", 1);
    tmuxutil_end_live(f, "r");
    for (size_t i = 0; i < 10; i++) {
        char k[2] = {(char)('0' + master1[i]), '\0'};

        tmuxutil_keys(f, "r", k);
    }
    tmuxutil_wait_for(f, "r", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "r", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "r", "Enter", "REVIEW");
    tmuxutil_key_until(f, "r", "s", "STORED");
    tmuxutil_wait_for(f, "r", "Press any key to close", s, sizeof(s));
    has_line(s, "result          PASSED");
    has(s, "(10 of 10 behaviours the same as the master coder)");
    tmuxutil_keys(f, "r", "x");
    assert_int_equal(tmuxutil_wait_exit(f, "r"), 0);
    tmuxutil_assert_no_sanitizer_report(f);
    snprintf(path, sizeof(path), "%s/cal.json", f->dir);
    list = json_load_file(path, 0, &jerr);
    if (list == NULL) {
        fail_msg("stdout of calibrate --json is not JSON alone: %s (line %d)", jerr.text,
                 jerr.line);
    }
    assert_true(json_is_true(json_object_get(list, "passed")));
    assert_string_equal(json_string_value(json_object_get(list, "reference")), REF1);
    assert_int_equal(json_array_size(json_object_get(list, "differences")), 10);
    json_decref(list);
    snprintf(path, sizeof(path), "%s/cal.err", f->dir);
    testutil_slurp(path, out, OUT_MAX);
    has(out, "stored: ");
    stored = tmuxutil_the_stored(f);
    assert_non_null(stored->observation->recording);
    assert_string_equal(stored->observation->recording->reference,
                        "https://calls.example.com/c/cal-9");
    assert_int_equal(stored->observation->recording->length_ms, 1200000);
    coachq__v1__stored_observation__free_unpacked(stored, NULL);
    free(out);
}

/* Kappa undefined, shown in the UI with why: the master coder scored every
 * behaviour 3, so the weighted kappa is 0/0 and exact agreement decides. */
static void test_kappa_undefined_in_ui(void **state)
{
    static const int all3[10] = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3};
    struct tmuxutil *f = *state;
    char *out = malloc(OUT_MAX);
    char path[700];
    char s[TMUXUTIL_SCREEN_MAX], j[TMUXUTIL_SCREEN_MAX];
    int code;

    assert_non_null(out);
    tmuxutil_need_tmux(f);
    snprintf(path, sizeof(path), "%s/ref3.json", f->dir);
    write_reference(path, REF1, "One category", all3);
    run_as(f, "lead.gil", out, 0, "reference", "add", path, NULL);
    tmuxutil_ui_run(f, "u", "obs.ann", f->local, "", "calibrate 5d0f", 0);
    tmuxutil_wait_for(f, "u", "RUNNING", s, sizeof(s));
    tmuxutil_end_live(f, "u");
    for (size_t i = 0; i < 10; i++) {
        tmuxutil_keys(f, "u", i == 4 ? "2" : "3");
    }
    tmuxutil_wait_for(f, "u", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "u", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "u", "Enter", "REVIEW");
    tmuxutil_key_until(f, "u", "s", "STORED");
    tmuxutil_wait_for(f, "u", "Press any key to close", s, sizeof(s));
    tmuxutil_joined(s, j, sizeof(j));
    has(j, "exact           90.0%");
    has(j, "weighted kappa  undefined");
    has(j, "so kappa is 0/0; exact agreement alone decides");
    has(j, "(9 of 10 behaviours the same as the master coder)");
    /* 90% exact meets the default 80% threshold, and kappa does not count. */
    has_line(s, "result          PASSED");
    tmuxutil_keys(f, "u", "x");
    code = tmuxutil_wait_exit(f, "u");
    assert_int_equal(code, 0);
    tmuxutil_assert_no_sanitizer_report(f);
    free(out);
}

/* A saved attempt at the first reference resumed from `coachq calibrate`
 * of the second: the attempt submitted is the first's, so no result is
 * revealed, of either reference. */
static void test_resumed_other_reference(void **state)
{
    struct tmuxutil *f = *state;
    char *out = malloc(OUT_MAX);
    char path[700];
    char s[TMUXUTIL_SCREEN_MAX];
    int code;

    assert_non_null(out);
    tmuxutil_need_tmux(f);
    snprintf(path, sizeof(path), "%s/ref1.json", f->dir);
    write_reference(path, REF1, "Deal review, Globex", master1);
    run_as(f, "lead.gil", out, 0, "reference", "add", path, NULL);
    snprintf(path, sizeof(path), "%s/ref2.json", f->dir);
    write_reference(path, REF2, "Call review, Initech", master1);
    run_as(f, "lead.gil", out, 0, "reference", "add", path, NULL);
    /* An attempt at the first, saved on this machine. */
    tmuxutil_ui_run(f, "a", "obs.ann", f->local, "", "calibrate 5d0f", 0);
    tmuxutil_wait_for(f, "a", "RUNNING", s, sizeof(s));
    tmuxutil_mark(f, "a", "o", 1);
    tmuxutil_key_until(f, "a", "q", "quit?");
    tmuxutil_keys(f, "a", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "a"), 1);
    /* The second asked for, the saved first resumed and submitted. */
    tmuxutil_ui_run(f, "b", "obs.ann", f->local, "", "calibrate 7e1a", 0);
    tmuxutil_wait_for(f, "b", "A session in progress is saved", s, sizeof(s));
    tmuxutil_keys(f, "b", "r");
    tmuxutil_wait_for(f, "b", "Markers in all: 1", s, sizeof(s));
    tmuxutil_end_live(f, "b");
    for (size_t i = 0; i < 10; i++) {
        char k[2] = {(char)('0' + typed[i]), '\0'};

        tmuxutil_keys(f, "b", k);
    }
    tmuxutil_wait_for(f, "b", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "b", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "b", "Enter", "REVIEW");
    tmuxutil_key_until(f, "b", "s", "STORED");
    tmuxutil_wait_joined(f, "b", "the server stored this observation", s, sizeof(s));
    assert_null(strstr(s, "fetching the result"));
    /* A result would replace the STORED screen a moment later: look again
     * after a second (an absence, so the test waits instead of polling). */
    nanosleep(&(struct timespec){1, 0}, NULL);
    tmuxutil_screen(f, "b", s, sizeof(s));
    assert_non_null(strstr(s, "the server stored this observation"));
    assert_null(strstr(s, "fetching the result"));
    assert_null(strstr(s, "CALIBRATION  RESULT"));
    assert_null(strstr(s, "calibration result"));
    assert_null(strstr(s, "master coder"));
    tmuxutil_keys(f, "b", "x");
    code = tmuxutil_wait_exit(f, "b");
    tmuxutil_screen(f, "b", s, sizeof(s));
    assert_null(strstr(s, "calibration result"));
    assert_null(strstr(s, "master coder"));
    /* The run stored what it submitted (the first's attempt): exit 0. */
    assert_int_equal(code, 0);
    tmuxutil_assert_no_sanitizer_report(f);
    /* The second's attempts are untouched: it is not spent. */
    run_as(f, "obs.ann", out, 0, "calibrate", "--list", NULL);
    has(out, "3 of 3");
    free(out);
}

/* Every behaviour differs at 80x24, under a title in accented letters:
 * the lines that do not fit are counted on the screen, and all of them are
 * printed when it closes. */
static void test_many_differences_in_ui(void **state)
{
    static const int alt[10] = {1, 2, 1, 2, 1, 2, 1, 2, 1, 2};
    struct tmuxutil *f = *state;
    char *out = malloc(OUT_MAX);
    char path[700];
    char s[TMUXUTIL_SCREEN_MAX];

    assert_non_null(out);
    tmuxutil_need_tmux(f);
    snprintf(path, sizeof(path), "%s/ref4.json", f->dir);
    write_reference(path, REF1, "Revue d'appel, Société Générale, équipe Île-de-France", alt);
    run_as(f, "lead.gil", out, 0, "reference", "add", path, NULL);
    tmuxutil_ui_run(f, "m", "obs.ann", f->local, "", "calibrate 5d0f", 0);
    tmuxutil_wait_for(f, "m", "RUNNING", s, sizeof(s));
    tmuxutil_end_live(f, "m");
    for (size_t i = 0; i < 10; i++) {
        tmuxutil_keys(f, "m", "3");
    }
    tmuxutil_wait_for(f, "m", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "m", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "m", "Enter", "REVIEW");
    tmuxutil_key_until(f, "m", "s", "STORED");
    tmuxutil_wait_for(f, "m", "Press any key to close", s, sizeof(s));
    has(s, "Société Générale");
    has(s, "more lines, printed when this closes");
    has_line(s, "result          NOT PASSED");
    assert_null(strstr(s, "(0 of 10 behaviours the same"));
    tmuxutil_keys(f, "m", "x");
    assert_int_equal(tmuxutil_wait_exit(f, "m"), 4);
    tmuxutil_screen(f, "m", s, sizeof(s));
    has(s, testutil_behaviours[9]);
    has(s, "(0 of 10 behaviours the same as the master coder)");
    tmuxutil_assert_no_sanitizer_report(f);
    free(out);
}

/* Usage errors exit 2 and say why. */
static void test_usage(void **state)
{
    struct tmuxutil *f = *state;
    char *out = malloc(OUT_MAX);

    assert_non_null(out);
    tmuxutil_need_tmux(f);
    run_as(f, "obs.ann", out, 2, "calibrate", "--list", "--history", NULL);
    has(out, "do not go together");
    run_as(f, "obs.ann", out, 2, "calibrate", "--result", NULL);
    has(out, "--result needs a REFERENCE");
    run_as(f, "obs.ann", out, 2, "calibrate", "a", "b", NULL);
    run_as(f, "obs.ann", out, 2, "reference", "retire", "not-a-uuid", NULL);
    run_as(f, "obs.ann", out, 0, "calibrate", "--help", NULL);
    has(out, "Exit status");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMUXUTIL_TEST(test_calibrate_end_to_end),
        TMUXUTIL_TEST(test_pick),
        TMUXUTIL_TEST(test_recorded_reference),
        TMUXUTIL_TEST(test_kappa_undefined_in_ui),
        TMUXUTIL_TEST(test_resumed_other_reference),
        TMUXUTIL_TEST(test_many_differences_in_ui),
        TMUXUTIL_TEST(test_usage),
    };

    tmuxutil_test_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
