/*
 * test_cli_dash: `coachq dashboard` and `coachq outcomes import` against a
 * real coachqd (TLS on 127.0.0.1 port 0, LMDB in a temporary directory)
 * with the fixture organisation: each role sees what auth allows and is
 * refused the rest with the right exit status; the terminal table, JSON and
 * CSV carry the same figures; outcomes import is idempotent, chunked to the
 * frame limit, refused for observers, and names the line and column of a
 * bad row.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "client.h"
#include "testutil.h"

#define OUT_LEN (1u << 20)
#define WATCHDOG_SECONDS 240
/* Observations of flm.cara the test submits: at least the minimum n. */
#define CARA_OBS 4

struct fix {
    char dir[512];
    char data[600];
    char server[64];
    char ca[600];
    char cert[2][600];
    char key[2][600];
    char *out;
    struct testutil_server srv;
};

static struct fix f;

/* The certificate arguments of user, in slot 0 or 1. */
static const char *cert_of(const char *user, int slot)
{
    char rel[128];

    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    return testutil_cert_path(f.cert[slot], sizeof(f.cert[slot]), rel);
}

static const char *key_of(const char *user, int slot)
{
    char rel[128];

    snprintf(rel, sizeof(rel), "users/%s.key", user);
    return testutil_cert_path(f.key[slot], sizeof(f.key[slot]), rel);
}

/* Runs coachq as user with the given command and arguments, expecting
 * exit status expect; the output (stdout and stderr) is in f.out. */
#define CQ(expect, user, ...)                                                                      \
    testutil_coachq(f.out, OUT_LEN, (expect), "--server", f.server, "--cert", cert_of(user, 0),    \
                    "--key", key_of(user, 0), "--ca", f.ca, __VA_ARGS__, NULL)

/* Submits CARA_OBS observations of flm.cara by alice in the last weeks. */
static void submit_cara(void)
{
    struct testutil_obs t[CARA_OBS];
    Coachq__V1__Observation *obs[CARA_OBS];
    struct client_submit_result res[CARA_OBS];
    struct client *c = testutil_connect(&f.srv, "alice", 0);
    int64_t now = (int64_t)time(NULL);

    for (size_t i = 0; i < CARA_OBS; i++) {
        testutil_obs_make(&t[i], "flm.cara", "rep.ida", now - (int64_t)(i + 1) * 3 * 86400);
        obs[i] = &t[i].o;
    }
    memset(res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, obs, CARA_OBS, res, NULL, NULL), 0);
    for (size_t i = 0; i < CARA_OBS; i++) {
        if (res[i].err.code != COACHQ__V1__CODE__OK) {
            fprintf(stderr, "submit %zu: %s %s\n", i, res[i].err.field, res[i].err.message);
        }
        assert_int_equal(res[i].err.code, COACHQ__V1__CODE__OK);
    }
    client_free(c);
}

static int setup(void **state)
{
    (void)state;
    testutil_watchdog(WATCHDOG_SECONDS);
    memset(&f, 0, sizeof(f));
    f.out = malloc(OUT_LEN);
    assert_non_null(f.out);
    testutil_tmpdir(f.dir, sizeof(f.dir));
    snprintf(f.data, sizeof(f.data), "%s/data", f.dir);
    testutil_seed_org(f.data);
    testutil_server_start(&f.srv, f.data, NULL);
    snprintf(f.server, sizeof(f.server), "127.0.0.1:%d", f.srv.port);
    testutil_cert_path(f.ca, sizeof(f.ca), "ca.crt");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testutil_server_abandon(&f.srv);
    testutil_rmrf(f.dir);
    free(f.out);
    return 0;
}

/* The table with id in a dashboard's JSON, or NULL. */
static json_t *json_table(json_t *j, const char *id)
{
    json_t *tables = json_object_get(j, "tables");

    for (size_t i = 0; i < json_array_size(tables); i++) {
        json_t *t = json_array_get(tables, i);

        if (strcmp(json_string_value(json_object_get(t, "id")), id) == 0) {
            return t;
        }
    }
    return NULL;
}

/* The row of table t whose first cell links to person, or NULL. */
static json_t *json_row_of(json_t *t, const char *person)
{
    json_t *rows = json_object_get(t, "rows");

    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *first = json_array_get(json_array_get(rows, i), 0);
        const char *link = json_string_value(json_object_get(first, "link"));

        if (link != NULL && strcmp(link, person) == 0) {
            return json_array_get(rows, i);
        }
    }
    return NULL;
}

/* The index of column name in table t; fails the test when missing. */
/* The row whose first cell reads text, or NULL. */
static json_t *json_row_text(json_t *t, const char *text)
{
    json_t *rows = json_object_get(t, "rows");

    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *first = json_array_get(json_array_get(rows, i), 0);
        const char *s = json_string_value(json_object_get(first, "text"));

        if (s != NULL && strcmp(s, text) == 0) {
            return json_array_get(rows, i);
        }
    }
    return NULL;
}

static size_t json_column(json_t *t, const char *name)
{
    json_t *cols = json_object_get(t, "columns");

    for (size_t i = 0; i < json_array_size(cols); i++) {
        if (strcmp(json_string_value(json_array_get(cols, i)), name) == 0) {
            return i;
        }
    }
    fail_msg("no column '%s'", name);
    return 0;
}

/* Writes an observation of flm.cara as JSON into path: focus skill, a
 * call review, started ago seconds before now, every behaviour scored
 * score. */
static void write_skill_obs(const char *path, int64_t ago, int score)
{
    static const char *const ids[] = {
        "collaborative",     "regular-cadence",    "consistent-framework",
        "buyers-view",       "looks-for-evidence", "elicits-critical-thinking",
        "praises-insight",   "objective-curious",  "doesnt-take-over",
        "documents-actions",
    };
    time_t at = time(NULL) - (time_t)ago;
    struct tm tm;
    char when[32];
    FILE *out = fopen(path, "w");

    assert_non_null(out);
    gmtime_r(&at, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(out,
            "{\"rubric\": \"coaching-conversation\", \"rubric_version\": 1, \"coach\": "
            "\"flm.cara\", \"coachee\": \"rep.ida\", \"session_type\": \"call_review\", "
            "\"focus\": \"skill\", \"started_at\": \"%s\", \"duration_min\": 30, \"ratings\": [",
            when);
    for (size_t i = 0; i < 10; i++) {
        fprintf(out,
                "%s{\"behaviour\": \"%s\", \"score\": %d, \"evidence\": \"Asked the rep "
                "to replay the call's opening.\"}",
                i ? ", " : "", ids[i], score);
    }
    fputs("]}\n", out);
    assert_int_equal(fclose(out), 0);
}

/* The coaching mix end to end: observations submitted by the client
 * library and by `coachq submit` from JSON, read back by `coachq dashboard`
 * as JSON, CSV and text through a real coachqd. */
static void test_dashboard_mix(void **state)
{
    json_error_t je;
    json_t *j;
    json_t *t;
    json_t *cara;
    char path[700];

    (void)state;
    submit_cara(); /* four process deal reviews, each of quality 2.5 */
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/skill-%d.json", f.dir, i);
        write_skill_obs(path, (int64_t)(i + 1) * 86400 + 3600, 2 + i);
        CQ(0, "alice", "submit", path);
        assert_non_null(strstr(f.out, "STORED"));
    }
    CQ(0, "slm.eve", "dashboard", "managers", "--json");
    j = json_loads(f.out, 0, &je);
    assert_non_null(j);
    t = json_table(j, "mix-focus");
    assert_non_null(t);
    cara = json_row_of(t, "flm.cara");
    assert_non_null(cara);
    assert_int_equal(json_number_value(json_object_get(
                         json_array_get(cara, json_column(t, "Sessions observed")), "value")),
                     7);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(cara, json_column(t, "Skill")), "text")),
        "43%");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(cara, json_column(t, "Process")), "text")),
        "57%");
    /* Skill sessions of quality 2, 3 and 4: mean 3, and the interval of
     * scipy.stats.t.interval(0.95, 2, loc=3, scale=sem([2, 3, 4])). */
    t = json_table(j, "quality-focus");
    cara = json_row_of(t, "flm.cara");
    assert_non_null(cara);
    assert_true(fabs(json_number_value(json_object_get(
                         json_array_get(cara, json_column(t, "Skill 95% CI low")), "value")) -
                     0.5158622881562471) < 1e-9);
    assert_true(fabs(json_number_value(json_object_get(
                         json_array_get(cara, json_column(t, "Skill 95% CI high")), "value")) -
                     5.484137711843752) < 1e-9);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(cara, json_column(t, "Skill")), "n")), 3);
    assert_non_null(json_table(j, "team-results"));
    json_decref(j);
    CQ(0, "slm.eve", "dashboard", "managers", "--csv", "mix-type");
    assert_non_null(strstr(f.out, "Cara Lind,7,"));
    CQ(0, "flm.cara", "dashboard", "me", "--width", "200");
    assert_non_null(strstr(f.out, "Quality by coaching focus"));
    assert_non_null(strstr(f.out, "correlation, not causation"));
}

/* A terminal dashboard fits width columns: no line is wider, nothing is
 * cut with "…", and the managers' names and figure want show whole. */
static void check_fits(const char *out, size_t width, const char *want)
{
    assert_null(strstr(out, "\xe2\x80\xa6"));
    assert_non_null(strstr(out, "Cara Lind"));
    assert_non_null(strstr(out, "Jo Jones"));
    assert_non_null(strstr(out, want));
    for (const char *p = out; *p != '\0';) {
        const char *line = p;
        size_t w = 0;

        while (*p != '\0' && *p != '\n') {
            w += ((unsigned char)*p & 0xc0) != 0x80;
            p++;
        }
        if (w > width) {
            fail_msg("a line of %zu columns at --width %zu: %.*s", w, width, (int)(p - line), line);
        }
        p += *p == '\n';
    }
}

static void test_dashboard_roles(void **state)
{
    json_error_t je;
    json_t *j;
    json_t *t;
    json_t *cara;
    json_t *jones;
    json_t *q;
    size_t qi;
    size_t si;
    char want[128];

    (void)state;
    submit_cara();

    /* A second-level manager sees her own managers, nobody else's. */
    CQ(0, "slm.eve", "dashboard", "managers", "--width", "160");
    assert_non_null(strstr(f.out, "Front-line managers"));
    assert_non_null(strstr(f.out, "Cara Lind"));
    assert_non_null(strstr(f.out, "Jo Jones"));
    assert_null(strstr(f.out, "Dan Roe"));

    /* The JSON has cara's observations with their n, and jones's index
     * as insufficient data (no observations) without a number. */
    CQ(0, "slm.eve", "dashboard", "managers", "--json");
    j = json_loads(f.out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "managers");
    assert_string_equal(json_string_value(json_object_get(j, "subject_id")), "slm.eve");
    t = json_table(j, "managers");
    assert_non_null(t);
    cara = json_row_of(t, "flm.cara");
    jones = json_row_of(t, "mgr.jones");
    assert_non_null(cara);
    assert_non_null(jones);
    assert_null(json_row_of(t, "flm.dan"));
    si = json_column(t, "Sessions observed");
    qi = json_column(t, "Quality index");
    assert_int_equal(json_number_value(json_object_get(json_array_get(cara, si), "value")),
                     CARA_OBS);
    q = json_array_get(cara, qi);
    assert_int_equal(json_integer_value(json_object_get(q, "n")), CARA_OBS);
    /* Every score is 2 or 3. */
    assert_true(json_number_value(json_object_get(q, "value")) >= 2.0);
    assert_true(json_number_value(json_object_get(q, "value")) <= 3.0);
    assert_true(json_is_null(json_object_get(json_array_get(jones, qi), "value")));
    assert_true(json_is_true(json_object_get(json_array_get(jones, qi), "insufficient")));

    /* The terminal table and the CSV show the same figure and n. */
    snprintf(want, sizeof(want), "%s (n=%d)", json_string_value(json_object_get(q, "text")),
             CARA_OBS);
    CQ(0, "slm.eve", "dashboard", "managers", "--width", "200");
    assert_non_null(strstr(f.out, want));
    check_fits(f.out, 200, want);
    /* At 80 columns too: split or pivoted, never a name or figure cut. */
    CQ(0, "slm.eve", "dashboard", "managers", "--width", "80");
    check_fits(f.out, 80, want);
    CQ(0, "slm.eve", "dashboard", "managers", "--csv", "managers");
    assert_true(strncmp(f.out, "Manager,Quality index,Quality index n,", 38) == 0);
    snprintf(want, sizeof(want), "Cara Lind,%s,%d,", json_string_value(json_object_get(q, "text")),
             CARA_OBS);
    assert_non_null(strstr(f.out, want));
    assert_non_null(strstr(f.out, "Jo Jones,insufficient data,0,"));
    assert_non_null(strstr(f.out, "\r\n"));
    json_decref(j);

    /* A table the dashboard does not have is a usage error. */
    CQ(2, "slm.eve", "dashboard", "managers", "--csv", "no-such-table");
    assert_non_null(strstr(f.out, "no table 'no-such-table'"));

    /* Manager detail of her own line's manager; another line's manager
     * and a person who does not exist are the same NOT_FOUND. */
    CQ(0, "slm.eve", "dashboard", "manager", "flm.cara", "--json");
    j = json_loads(f.out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "manager");
    assert_string_equal(json_string_value(json_object_get(j, "subject_id")), "flm.cara");
    json_decref(j);
    CQ(1, "slm.eve", "dashboard", "manager", "flm.dan");
    assert_non_null(strstr(f.out, "NOT_FOUND"));
    assert_non_null(strstr(f.out, "no such dashboard subject, or not in your line"));
    CQ(1, "slm.eve", "dashboard", "manager", "nobody.here");
    assert_non_null(strstr(f.out, "NOT_FOUND"));
    CQ(1, "slm.fay", "dashboard", "managers", "slm.eve");
    assert_non_null(strstr(f.out, "NOT_FOUND"));

    /* Programme impact is not a second-level manager's. */
    CQ(1, "slm.eve", "dashboard", "programme");
    assert_non_null(strstr(f.out, "PERMISSION_DENIED"));
    assert_non_null(strstr(f.out, "enablement leads"));

    /* A front-line manager's own coaching. */
    CQ(0, "flm.cara", "dashboard", "me", "--json");
    j = json_loads(f.out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "me");
    assert_string_equal(json_string_value(json_object_get(j, "subject_id")), "flm.cara");
    json_decref(j);
    CQ(0, "flm.cara", "dashboard", "me");
    assert_non_null(strstr(f.out, "Cara Lind"));
    CQ(1, "flm.cara", "dashboard", "managers");
    assert_non_null(strstr(f.out, "PERMISSION_DENIED"));

    /* An enablement lead has the programme and observer dashboards. */
    CQ(0, "lead.gil", "dashboard", "programme", "--width", "120");
    CQ(0, "lead.gil", "dashboard", "observers", "--json");
    j = json_loads(f.out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "observers");
    json_decref(j);

    /* Usage errors. */
    CQ(2, "slm.eve", "dashboard", "bogus");
    CQ(2, "slm.eve", "dashboard", "manager");
    CQ(2, "slm.eve", "dashboard", "managers", "--json", "--csv", "managers");
    CQ(2, "slm.eve", "dashboard", "managers", "--until", "2026-13-01");
    CQ(2, "slm.eve", "dashboard", "managers", "--width", "5");
    CQ(1, "slm.eve", "dashboard", "managers", "--rubric", "no such rubric");
    assert_non_null(strstr(f.out, "INVALID_ARGUMENT get_dashboard.rubric_id"));
    testutil_assert_alive(&f.srv);
    testutil_stop_clean(&f.srv);
}

/* My reliability: an observer's own page in every format of the CLI;
 * another observer's page, the leads' page and a manager are refused. */
static void test_dashboard_observer(void **state)
{
    json_error_t je;
    json_t *j;
    json_t *t;
    json_t *w;

    (void)state;
    submit_cara();

    CQ(0, "alice", "dashboard", "observer", "--json");
    j = json_loads(f.out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "observer");
    assert_string_equal(json_string_value(json_object_get(j, "subject_id")), "alice");
    t = json_table(j, "reliability");
    assert_non_null(t);
    assert_non_null(json_row_of(t, "alice"));
    t = json_table(j, "observer-weeks");
    assert_non_null(t);
    w = json_row_text(t, "Window");
    assert_non_null(w);
    assert_int_equal(json_number_value(json_object_get(
                         json_array_get(w, json_column(t, "Sessions scored")), "value")),
                     CARA_OBS);
    assert_int_equal(json_number_value(json_object_get(
                         json_array_get(w, json_column(t, "Managers observed")), "value")),
                     1);
    json_decref(j);
    CQ(0, "alice", "dashboard", "observer", "alice", "--width", "100");
    assert_non_null(strstr(f.out, "My reliability"));
    assert_non_null(strstr(f.out, "Week by week"));
    /* It fits the width, nothing cut. */
    assert_null(strstr(f.out, "\xe2\x80\xa6"));
    for (const char *p = f.out; *p != '\0';) {
        size_t cols = 0;

        while (*p != '\0' && *p != '\n') {
            cols += ((unsigned char)*p & 0xc0) != 0x80;
            p++;
        }
        assert_true(cols <= 100);
        p += *p == '\n';
    }
    CQ(0, "alice", "dashboard", "observer", "--csv", "observer-weeks");
    assert_true(strncmp(f.out, "Week,Sessions scored,", 21) == 0);

    /* Another observer's page is as if it did not exist; the leads' page
     * stays closed; a manager has no such page. */
    CQ(1, "alice", "dashboard", "observer", "bob");
    assert_non_null(strstr(f.out, "NOT_FOUND"));
    CQ(1, "alice", "dashboard", "observers");
    assert_non_null(strstr(f.out, "PERMISSION_DENIED"));
    CQ(1, "flm.cara", "dashboard", "observer", "alice");
    assert_non_null(strstr(f.out, "PERMISSION_DENIED"));
    assert_non_null(strstr(f.out, "my reliability"));

    /* A lead opens anyone's, with the calibration figures. */
    CQ(0, "lead.gil", "dashboard", "observer", "alice", "--json");
    j = json_loads(f.out, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "subject_id")), "alice");
    json_decref(j);

    CQ(2, "alice", "dashboard", "observer", "alice", "bob");
    CQ(0, "alice", "dashboard", "--help");
    assert_non_null(strstr(f.out, "My reliability"));
    testutil_assert_alive(&f.srv);
    testutil_stop_clean(&f.srv);
}

/* The local day of t in a zone of fixed offset (seconds east). */
static int64_t fixed_day(int64_t t, int64_t offset)
{
    int64_t s = t + offset;

    return s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
}

/* YYYY-MM-DD of day into buf (11 bytes). */
static void ymd(int64_t day, char *buf)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, 11, "%Y-%m-%d", &tm);
}

/* whoami counts the days to an expiry in the observer's own zone, as the
 * server names it, not in UTC: obs.ben lives where today is not the UTC
 * day (Kiritimati, UTC+14, from 10:00 UTC; Pago Pago, UTC-11, before). */
static void test_whoami_expiry_own_zone(void **state)
{
    int64_t now = (int64_t)time(NULL);
    int64_t utc_day = now / 86400;
    int east = (now % 86400) >= 10 * 3600;
    const char *zone = east ? "Pacific/Kiritimati" : "Pacific/Pago_Pago";
    int64_t offset = east ? 14 * 3600 : -11 * 3600;
    int64_t local_before = fixed_day(now, offset), local_after;
    char from[16], until[16], want[64], out[4096];

    (void)state;
    testutil_watchdog(WATCHDOG_SECONDS);
    memset(&f, 0, sizeof(f));
    f.out = malloc(OUT_LEN);
    assert_non_null(f.out);
    testutil_tmpdir(f.dir, sizeof(f.dir));
    snprintf(f.data, sizeof(f.data), "%s/data", f.dir);
    testutil_seed_org(f.data);
    ymd(utc_day - 5, from);
    ymd(utc_day + 10, until);
    testutil_coachqd(out, sizeof(out), 0, "user", "zone", "--data", f.data, "obs.ben", zone, NULL);
    testutil_coachqd(out, sizeof(out), 0, "cert", "grant", "--data", f.data, "obs.ben",
                     "coaching-conversation", "--from", from, "--until", until, NULL);
    testutil_server_start(&f.srv, f.data, NULL);
    snprintf(f.server, sizeof(f.server), "127.0.0.1:%d", f.srv.port);
    testutil_cert_path(f.ca, sizeof(f.ca), "ca.crt");
    CQ(0, "obs.ben", "whoami");
    local_after = fixed_day((int64_t)time(NULL), offset);
    /* The local day did not turn during the run: 10 days in UTC are one
     * fewer east of UTC, one more west of it. */
    if (local_before == local_after) {
        snprintf(want, sizeof(want), "ends in %d days on %s", (int)(utc_day + 10 - local_before),
                 until);
        if (strstr(f.out, want) == NULL) {
            fail_msg("want \"%s\" in:\n%s", want, f.out);
        }
    }
    testutil_assert_alive(&f.srv);
    testutil_stop_clean(&f.srv);
    testutil_server_abandon(&f.srv);
    testutil_rmrf(f.dir);
    free(f.out);
}

/* Writes text into dir/name and the path into path. */
static void write_file(const char *name, const char *text, char *path, size_t len)
{
    FILE *fp;

    snprintf(path, len, "%s/%s", f.dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

static void test_outcomes_import(void **state)
{
    static const char small[] = "subject_id,team,period,metric,value\n"
                                "rep.ida,no,2026-09,win_rate,0.31\n"
                                "flm.cara,yes,2026-Q3,quota_attainment,0.92\n"
                                "flm.cara,,2026-08,sessions_held,14\n";
    static const char changed[] = "subject_id,team,period,metric,value\n"
                                  "rep.ida,no,2026-09,win_rate,0.35\n"
                                  "flm.cara,yes,2026-Q3,quota_attainment,0.92\n"
                                  "flm.cara,,2026-08,sessions_held,14\n";
    static const char bad_cell[] = "subject_id,team,period,metric,value\n"
                                   "rep.ida,no,2026-09,win_rate,0.31\n"
                                   "rep.ida,no,2026-10,win_rate,abc\n";
    static const char bad_subject[] = "subject_id,team,period,metric,value\n"
                                      "rep.ida,no,2026-09,win_rate,0.31\n"
                                      "rep.ida,no,2026-10,win_rate,0.32\n"
                                      "nobody.x,no,2026-10,win_rate,0.5\n";
    char path[700];
    char want[800];
    char *big;
    size_t len = 0;
    size_t cap = 256u * 1024u;
    struct stat st;

    (void)state;
    write_file("small.csv", small, path, sizeof(path));
    CQ(0, "lead.gil", "outcomes", "import", path);
    assert_non_null(strstr(f.out, "3 rows: 3 added, 0 changed, 0 unchanged"));
    CQ(0, "lead.gil", "outcomes", "import", path);
    assert_non_null(strstr(f.out, "3 rows: 0 added, 0 changed, 3 unchanged"));
    write_file("changed.csv", changed, path, sizeof(path));
    CQ(0, "admin.hal", "outcomes", "import", path);
    assert_non_null(strstr(f.out, "3 rows: 0 added, 1 changed, 2 unchanged"));

    /* Observers and managers may not import. */
    CQ(1, "obs.ann", "outcomes", "import", path);
    assert_non_null(strstr(f.out, "PERMISSION_DENIED"));
    CQ(1, "slm.eve", "outcomes", "import", path);
    assert_non_null(strstr(f.out, "PERMISSION_DENIED"));

    /* A bad cell is reported at its line and column before anything is
     * sent; a subject the server does not know, at its line and column
     * too, from the server's answer. */
    write_file("bad.csv", bad_cell, path, sizeof(path));
    CQ(1, "lead.gil", "outcomes", "import", path);
    snprintf(want, sizeof(want), "%s:3:%zu:", path, strlen("rep.ida,no,2026-10,win_rate,") + 1);
    assert_non_null(strstr(f.out, want));
    assert_non_null(strstr(f.out, "nothing was sent"));
    write_file("bad2.csv", bad_subject, path, sizeof(path));
    CQ(1, "lead.gil", "outcomes", "import", path);
    snprintf(want, sizeof(want), "%s:4:1:", path);
    assert_non_null(strstr(f.out, want));
    assert_non_null(strstr(f.out, "nobody.x"));
    /* All or nothing: the good rows of that file were not stored. */
    write_file("good2.csv",
               "subject_id,team,period,metric,value\nrep.ida,no,2026-10,win_rate,0.32\n", path,
               sizeof(path));
    CQ(0, "lead.gil", "outcomes", "import", path);
    assert_non_null(strstr(f.out, "1 row: 1 added"));

    /* A file larger than one frame goes in several requests. */
    big = malloc(cap);
    assert_non_null(big);
    len = (size_t)snprintf(big, cap, "subject_id,team,period,metric,value\n");
    for (unsigned i = 0; i < 3000; i++) {
        len += (size_t)snprintf(big + len, cap - len,
                                "rep.ida,no,2026-07,deployment_metric_number_%04u,%u.25\n", i, i);
        assert_true(len < cap);
    }
    write_file("big.csv", big, path, sizeof(path));
    free(big);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 2 * 64 * 1024);
    CQ(0, "lead.gil", "outcomes", "import", path);
    assert_non_null(strstr(f.out, "3000 rows: 3000 added, 0 changed, 0 unchanged"));
    CQ(0, "lead.gil", "outcomes", "import", path);
    assert_non_null(strstr(f.out, "3000 rows: 0 added, 0 changed, 3000 unchanged"));

    /* Usage. */
    CQ(2, "lead.gil", "outcomes", "export", path);
    CQ(2, "lead.gil", "outcomes", "import");
    testutil_assert_alive(&f.srv);
    testutil_stop_clean(&f.srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dashboard_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outcomes_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_mix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_observer, setup, teardown),
        cmocka_unit_test(test_whoami_expiry_own_zone),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
