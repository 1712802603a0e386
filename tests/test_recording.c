/*
 * test_recording: sessions observed from a recording (asynchronous call
 * review), through a real coachqd (TLS on 127.0.0.1 port 0, LMDB in a
 * temporary directory) and the real client. A recorded session with the
 * rep's and the manager's comments and the review's stage times round-trips
 * through `coachq get --json`, `coachq history --json` and `coachq export`;
 * an amendment moves the review on; every bad input (an offset beyond the
 * recording, a NUL or control character or a javascript: URL as the
 * reference, stages out of order, the rep's comment on a live session) is
 * refused naming its field, by the client from JSON and by the server from
 * the wire, and nothing is stored; a calibration reference may name the
 * recording the master coder scored.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "certs.h"
#include "cli_int.h"
#include "client.h"
#include "day.h"
#include "store.h"
#include "testutil.h"
#include "uuid.h"

#define OUT_LEN TESTUTIL_CLI_OUT_LEN
#define WATCHDOG_SECONDS 300
#define DAY_S 86400

#define OBS1 "0b5e0000-0000-4000-8000-00000000aa01"
#define OBS1B "0b5e0000-0000-4000-8000-00000000aa02"
#define REF1 "0b5e0000-0000-4000-8000-00000000ab01"

static struct testutil_cli f;

/* Runs coachq as user, expecting exit status expect; output in f.out. */
#define CQ(expect, user, ...) TESTUTIL_CQ(&f, (expect), (user), __VA_ARGS__)

/* An ISO time hours_ago hours before the test's start. */
static void iso_h(int hours_ago, char *out, size_t len)
{
    day_format_time(f.now - (int64_t)hours_ago * 3600, out, len);
}

static void contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
    }
}

/*
 * Writes to f.file an observation by alice of flm.cara coaching rep.ida,
 * 5 days ago, with id, the recording object rec (JSON text, or NULL for a
 * live session), the markers array markers (JSON text or NULL) and the
 * extra members extra ("" for none).
 */
static void write_obs(const char *id, const char *rec, const char *markers, const char *extra)
{
    static const char *const b[10] = {
        "collaborative",     "regular-cadence",    "consistent-framework",
        "buyers-view",       "looks-for-evidence", "elicits-critical-thinking",
        "praises-insight",   "objective-curious",  "doesnt-take-over",
        "documents-actions",
    };
    char when[32], ratings[1400];
    size_t n = 0;
    FILE *fp;

    iso_h(5 * 24, when, sizeof(when));
    for (int i = 0; i < 10; i++) {
        n += (size_t)snprintf(ratings + n, sizeof(ratings) - n,
                              "%s{\"behaviour\": \"%s\", \"score\": 3%s}", i > 0 ? ", " : "", b[i],
                              i == 4 && rec != NULL ? ", \"evidence\": \"asked for the "
                                                      "buyer's numbers\", \"evidence_offset\": "
                                                      "\"12:05\""
                                                    : "");
    }
    fp = fopen(f.file, "w");
    assert_non_null(fp);
    fprintf(fp,
            "{\"id\": \"%s\", \"rubric\": \"coaching-conversation\", \"rubric_version\": 1,\n"
            " \"coach\": \"flm.cara\", \"coachee\": \"rep.ida\", \"session_type\": "
            "\"call_review\",\n"
            " \"focus\": \"skill\", \"started_at\": \"%s\", \"duration_min\": 20,\n"
            " \"ratings\": [%s]",
            id, when, ratings);
    if (rec != NULL) {
        fprintf(fp, ",\n \"recording\": %s", rec);
    }
    if (markers != NULL) {
        fprintf(fp, ",\n \"markers\": %s", markers);
    }
    fprintf(fp, "%s}\n", extra);
    fclose(fp);
}

/* The recording object with the review's four stage times (hours ago;
 * 0 leaves a stage out) and an extra member text ("" for none). */
static void rec_json(char *out, size_t len, const char *reference, const char *length,
                     const int hours[4], const char *extra)
{
    static const char *const keys[4] = {"picked_at", "rep_commented_at", "manager_commented_at",
                                        "discussed_at"};
    size_t n = (size_t)snprintf(out, len, "{\"reference\": \"%s\", \"length\": \"%s\"%s", reference,
                                length, extra);

    for (int i = 0; i < 4; i++) {
        char t[32];

        if (hours[i] != 0) {
            iso_h(hours[i], t, sizeof(t));
            n += (size_t)snprintf(out + n, len - n, ", \"%s\": \"%s\"", keys[i], t);
        }
    }
    snprintf(out + n, len - n, "}");
}

static const int all_stages[4] = {8 * 24, 7 * 24, 6 * 24, 5 * 24};

static const char *const good_markers =
    "[{\"kind\": \"rep_self_assessed\", \"offset\": \"03:10\", \"author\": \"rep\", \"note\": "
    "\"I rushed the pricing question\"},"
    " {\"kind\": \"praise\", \"offset\": \"11:40\", \"author\": \"manager\", \"note\": "
    "\"good recovery here\"},"
    " {\"kind\": \"open_question\", \"offset\": \"25:00\"}]";

static json_t *parse_out(void)
{
    json_error_t e;
    json_t *j = json_loads(f.out, 0, &e);

    if (j == NULL) {
        fail_msg("not JSON (%s):\n%s", e.text, f.out);
    }
    return j;
}

/* Asserts that `coachq get ID` finds nothing (exit 1, NOT_FOUND). */
static void not_stored(const char *id)
{
    CQ(1, "alice", "get", id);
    contains(f.out, "NOT_FOUND");
}

/* Submits f.file as alice, expecting the client to refuse it naming field;
 * the server then stores nothing under id. */
static void refused(const char *id, const char *field)
{
    char *said;

    CQ(1, "alice", "submit", f.file);
    contains(f.out, field);
    said = strdup(f.out);
    assert_non_null(said);
    not_stored(id);
    /* The submission's output stays for the caller to check further. */
    snprintf(f.out, OUT_LEN, "%s", said);
    free(said);
}

static int setup(void **state)
{
    (void)state;
    testutil_cli_start(&f, WATCHDOG_SECONDS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testutil_cli_stop(&f);
    return 0;
}

/* Checks the recording of the observation j as written by write_obs(). */
static void check_recording(const json_t *j, int discussed)
{
    json_t *r = json_object_get(j, "recording");
    json_t *m = json_object_get(j, "markers");
    json_t *ev = json_array_get(json_object_get(j, "ratings"), 4);

    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "reference")),
                        "https://calls.example.com/c/8812?t=0");
    assert_string_equal(json_string_value(json_object_get(r, "length")), "31:20");
    assert_non_null(json_object_get(r, "picked_at"));
    assert_non_null(json_object_get(r, "rep_commented_at"));
    assert_non_null(json_object_get(r, "manager_commented_at"));
    assert_int_equal(json_object_get(r, "discussed_at") != NULL, discussed);
    assert_string_equal(json_string_value(json_object_get(r, "manager_comments")),
                        "Strong opening; the pricing answer came too early.");
    assert_int_equal(json_array_size(m), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "author")), "rep");
    assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "offset")),
                        "03:10");
    assert_string_equal(json_string_value(json_object_get(json_array_get(m, 1), "author")),
                        "manager");
    /* The observer's own marker carries no author; it lies past the
     * session's 20 minutes but inside the 31:20 recording. */
    assert_null(json_object_get(json_array_get(m, 2), "author"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(m, 2), "offset")),
                        "25:00");
    assert_string_equal(json_string_value(json_object_get(ev, "evidence_offset")), "12:05");
}

static void test_round_trip(void **state)
{
    char rec[1024];
    int no_discussion[4] = {8 * 24, 7 * 24, 6 * 24, 0};
    json_t *j;

    (void)state;
    rec_json(rec, sizeof(rec), "https://calls.example.com/c/8812?t=0", "31:20", no_discussion,
             ", \"manager_comments\": \"Strong opening; the pricing answer came too early.\"");
    write_obs(OBS1, rec, good_markers, "");
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "STORED");

    CQ(0, "alice", "get", OBS1, "--json");
    j = parse_out();
    check_recording(j, 0);
    json_decref(j);

    /* The meeting happened: an amendment moves the review on. */
    rec_json(rec, sizeof(rec), "https://calls.example.com/c/8812?t=0", "31:20", all_stages,
             ", \"manager_comments\": \"Strong opening; the pricing answer came too early.\"");
    write_obs(OBS1B, rec, good_markers, ", \"amends\": \"" OBS1 "\"");
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "STORED");
    CQ(0, "alice", "history", OBS1, "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 2);
    check_recording(json_array_get(j, 0), 0);
    check_recording(json_array_get(j, 1), 1);
    json_decref(j);

    /* An amendment never moves the review back nor swaps the recording. */
    {
        static const char *const idb = "0b5e0000-0000-4000-8000-00000000aa03";
        int dropped[4] = {8 * 24, 0, 6 * 24, 5 * 24};
        int moved[4] = {9 * 24, 7 * 24, 6 * 24, 5 * 24};

        rec_json(rec, sizeof(rec), "https://calls.example.com/c/8812?t=0", "31:20", moved, "");
        write_obs(idb, rec, NULL, ", \"amends\": \"" OBS1 "\"");
        refused(idb, "observation.recording.picked_at");
        contains(f.out, "never back");
        rec_json(rec, sizeof(rec), "https://calls.example.com/c/8812?t=0", "31:20", dropped, "");
        write_obs(idb, rec, NULL, ", \"amends\": \"" OBS1 "\"");
        refused(idb, "observation.recording.rep_commented_at");
        rec_json(rec, sizeof(rec), "CRM-OTHER", "31:20", all_stages, "");
        write_obs(idb, rec, NULL, ", \"amends\": \"" OBS1 "\"");
        refused(idb, "observation.recording.reference");
        write_obs(idb, NULL, NULL, ", \"amends\": \"" OBS1 "\"");
        refused(idb, "observation.recording");
    }

    /* The text form says it is a recording, and of what. */
    CQ(0, "alice", "get", OBS1B);
    contains(f.out, "recording   https://calls.example.com/c/8812?t=0");
    contains(f.out, "31:20");

    CQ(0, "lead.gil", "export", "observations", "--format", "ndjson");
    contains(f.out, "\"recording\":{\"reference\":\"https://calls.example.com/c/8812?t=0\"");
    contains(f.out, "\"rep_comments\":1");
    /* n_markers counts the observer's markers only, as the dashboards do;
     * the rep's and the manager's are counted in the recording. */
    contains(f.out, "\"n_markers\":1,");
    contains(f.out, "\"manager_markers\":1");
    CQ(0, "lead.gil", "export", "observations", "--format", "csv");
    contains(f.out, ",recording\n");
    contains(f.out, "\"\"length_ms\"\":1880000");
}

static void test_refused_from_json(void **state)
{
    static const char *const id = "0b5e0000-0000-4000-8000-00000000ee01";
    char rec[2048];
    int out_of_order[4] = {6 * 24, 7 * 24, 0, 0};
    int no_rep[4] = {8 * 24, 0, 6 * 24, 0};

    (void)state;
    /* A marker beyond the recording's end. */
    rec_json(rec, sizeof(rec), "CRM-CALL-8812", "20:00", all_stages, "");
    write_obs(id, rec, good_markers, "");
    refused(id, "markers[2].offset_ms");
    contains(f.out, "after the recording's end");
    /* Evidence beyond it. */
    rec_json(rec, sizeof(rec), "CRM-CALL-8812", "12:00", all_stages, "");
    write_obs(id, rec, "[]", "");
    refused(id, "ratings[4].evidence_offset_ms");
    /* References: a javascript: URL, a control character, a NUL, another
     * scheme, a space, over-long. */
    rec_json(rec, sizeof(rec), "javascript:alert(1)", "31:20", all_stages, "");
    write_obs(id, rec, NULL, "");
    refused(id, "recording.reference");
    contains(f.out, "javascript:");
    rec_json(rec, sizeof(rec), "JavaScript://%0aalert(1)", "31:20", all_stages, "");
    write_obs(id, rec, NULL, "");
    refused(id, "recording.reference");
    rec_json(rec, sizeof(rec), "https://calls.example.com/\\u0007x", "31:20", all_stages, "");
    write_obs(id, rec, NULL, "");
    refused(id, "recording.reference");
    /* jansson itself refuses \u0000 (coachq never allows it): the file is
     * refused and nothing sent. */
    rec_json(rec, sizeof(rec), "CRM-1\\u0000evil", "31:20", all_stages, "");
    write_obs(id, rec, NULL, "");
    refused(id, "u0000");
    rec_json(rec, sizeof(rec), "file:///etc/passwd", "31:20", all_stages, "");
    write_obs(id, rec, NULL, "");
    refused(id, "recording.reference");
    rec_json(rec, sizeof(rec), "CRM 8812", "31:20", all_stages, "");
    write_obs(id, rec, NULL, "");
    refused(id, "recording.reference");
    {
        char longref[1100];

        memset(longref, 'a', 1025);
        longref[1025] = '\0';
        rec_json(rec, sizeof(rec), longref, "31:20", all_stages, "");
        write_obs(id, rec, NULL, "");
        refused(id, "recording.reference");
    }
    /* Stages out of order; the rep's comment without that stage. */
    rec_json(rec, sizeof(rec), "CRM-CALL-8812", "31:20", out_of_order, "");
    write_obs(id, rec, NULL, "");
    refused(id, "recording.rep_commented_at");
    contains(f.out, "in that order");
    rec_json(rec, sizeof(rec), "CRM-CALL-8812", "31:20", no_rep, "");
    write_obs(id, rec, good_markers, "");
    refused(id, "recording.rep_commented_at");
    /* The rep's comment on a live session. */
    write_obs(id, NULL,
              "[{\"kind\": \"praise\", \"offset\": \"01:00\", \"author\": \"rep\", \"note\": "
              "\"x\"}]",
              "");
    refused(id, "markers[0].author");
    /* A recording with no length. */
    write_obs(id, "{\"reference\": \"CRM-1\"}", NULL, "");
    refused(id, "recording.length");
}

/* A recorded observation made in memory, for the server's own checks. */
struct rec_obs {
    struct testutil_obs t;
    Coachq__V1__Recording rec;
    Coachq__V1__Marker m[2];
    Coachq__V1__Marker *mp[2];
};

static void rec_obs_make(struct rec_obs *r)
{
    Coachq__V1__Recording init = COACHQ__V1__RECORDING__INIT;
    Coachq__V1__Marker minit = COACHQ__V1__MARKER__INIT;

    testutil_obs_make(&r->t, "flm.cara", "rep.ida", f.now - 5 * DAY_S);
    r->rec = init;
    r->rec.reference = (char *)"CRM-CALL-9001";
    r->rec.length_ms = 600000;
    r->rec.picked_at = f.now - 8 * DAY_S;
    r->rec.rep_commented_at = f.now - 7 * DAY_S;
    for (int i = 0; i < 2; i++) {
        r->m[i] = minit;
        r->m[i].kind = COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE;
        r->m[i].offset_ms = 1000u * (unsigned)(i + 1);
        r->mp[i] = &r->m[i];
    }
    r->m[0].author = COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_REP;
    r->t.o.recording = &r->rec;
    r->t.o.markers = r->mp;
    r->t.o.n_markers = 2;
}

/* Submits r over the wire (no client-side check) and expects the server to
 * refuse it naming field, then finds nothing stored under its id. */
static void server_refuses(struct client *c, struct rec_obs *r, const char *field)
{
    Coachq__V1__Observation *one[1] = {&r->t.o};
    struct client_submit_result res;
    Coachq__V1__StoredObservation *got = NULL;
    struct client_error err;

    assert_int_equal(client_submit_many(c, one, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.done, 1);
    if (res.err.code == COACHQ__V1__CODE__OK || strstr(res.err.field, field) == NULL) {
        fail_msg("expected a refusal naming %s, got code %d field '%s': %s", field,
                 (int)res.err.code, res.err.field, res.err.message);
    }
    assert_true(client_get(c, r->t.id, &got, &err) < 0);
    assert_int_equal(err.code, COACHQ__V1__CODE__NOT_FOUND);
}

static void test_refused_by_server(void **state)
{
    struct client *c = testutil_connect(&f.srv, "alice", 0);
    Coachq__V1__Observation *one[1];
    struct client_submit_result res;
    struct rec_obs r;

    (void)state;
    rec_obs_make(&r);
    r.m[1].offset_ms = 600001;
    server_refuses(c, &r, "observation.markers[1].offset_ms");

    rec_obs_make(&r);
    r.t.r[3].evidence_offset_ms = 700000;
    server_refuses(c, &r, "observation.ratings[3].evidence_offset_ms");

    rec_obs_make(&r);
    r.rec.reference = (char *)"javascript:alert(document.cookie)";
    server_refuses(c, &r, "observation.recording.reference");

    rec_obs_make(&r);
    r.rec.reference = (char *)"https://x.example/\x1b[31m";
    server_refuses(c, &r, "observation.recording.reference");

    rec_obs_make(&r);
    r.rec.discussed_at = r.rec.picked_at - 60;
    server_refuses(c, &r, "observation.recording.discussed_at");

    rec_obs_make(&r);
    r.rec.manager_comments = (char *)"listened twice";
    server_refuses(c, &r, "observation.recording.manager_commented_at");

    rec_obs_make(&r);
    r.t.o.recording = NULL;
    server_refuses(c, &r, "observation.markers[0].author");

    rec_obs_make(&r);
    r.rec.length_ms = 0;
    server_refuses(c, &r, "observation.recording.length_ms");

    /* The same record, made right, is stored. */
    rec_obs_make(&r);
    one[0] = &r.t.o;
    assert_int_equal(client_submit_many(c, one, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__OK);
    assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    client_free(c);
}

/* Reads the reference id (16 bytes at arg) and checks its recording. */
static int ref_txn(struct store_txn *t, void *arg)
{
    Coachq__V1__CalibrationReference *r = NULL;

    assert_int_equal(certs_reference_get(t, arg, &r), 0);
    assert_non_null(r->recording);
    assert_string_equal(r->recording->reference, "https://calls.example.com/c/77");
    assert_int_equal(r->recording->length_ms, 18u * 60u * 1000u);
    coachq__v1__calibration_reference__free_unpacked(r, NULL);
    return 0;
}

static void test_reference_recording(void **state)
{
    static const char *const b[10] = {
        "collaborative",     "regular-cadence",    "consistent-framework",
        "buyers-view",       "looks-for-evidence", "elicits-critical-thinking",
        "praises-insight",   "objective-curious",  "doesnt-take-over",
        "documents-actions",
    };
    char master[1200];
    size_t n = 0;
    FILE *fp;

    (void)state;
    for (int i = 0; i < 10; i++) {
        n += (size_t)snprintf(master + n, sizeof(master) - n,
                              "%s{\"behaviour\": \"%s\", \"score\": %d}", i > 0 ? ", " : "", b[i],
                              2 + i % 2);
    }
    /* Workflow times belong to a review, not to a reference. */
    fp = fopen(f.file, "w");
    assert_non_null(fp);
    fprintf(fp,
            "{\"id\": \"" REF1 "\", \"rubric\": \"coaching-conversation\", \"rubric_version\": 1,"
            " \"title\": \"Call review, recorded\", \"master\": [%s],"
            " \"recording\": {\"reference\": \"javascript:void(0)\", \"length\": \"18:00\"}}\n",
            master);
    fclose(fp);
    CQ(1, "lead.gil", "reference", "add", "--no-write-ids", f.file);
    contains(f.out, "recording.reference");
    fp = fopen(f.file, "w");
    assert_non_null(fp);
    fprintf(fp,
            "{\"id\": \"" REF1 "\", \"rubric\": \"coaching-conversation\", \"rubric_version\": 1,"
            " \"title\": \"Call review, recorded\", \"master\": [%s],"
            " \"recording\": {\"reference\": \"https://calls.example.com/c/77\", \"length\": "
            "\"18:00\", \"picked_at\": \"2026-01-01T00:00:00Z\"}}\n",
            master);
    fclose(fp);
    CQ(1, "lead.gil", "reference", "add", "--no-write-ids", f.file);
    contains(f.out, "picked_at");
    fp = fopen(f.file, "w");
    assert_non_null(fp);
    fprintf(fp,
            "{\"id\": \"" REF1 "\", \"rubric\": \"coaching-conversation\", \"rubric_version\": 1,"
            " \"title\": \"Call review, recorded\", \"master\": [%s],"
            " \"recording\": {\"reference\": \"https://calls.example.com/c/77\", \"length\": "
            "\"18:00\"}}\n",
            master);
    fclose(fp);
    CQ(0, "lead.gil", "reference", "add", "--no-write-ids", f.file);
    contains(f.out, "STORED");
    contains(f.out, "recording   https://calls.example.com/c/77 (18:00)");

    /* The server kept it with the reference. */
    testutil_stop_clean(&f.srv);
    f.srv.pid = 0;
    {
        struct store *st = testutil_store_open(f.data, 0);
        uint8_t id[16];

        assert_int_equal(uuid_parse(REF1, id), 0);
        assert_int_equal(store_view(st, ref_txn, id), 0);
        store_close(st);
    }
}

/* Asserts that the line of hay starting with start ends with end. */
static void line_ends(const char *hay, const char *start, const char *end)
{
    size_t ns = strlen(start), ne = strlen(end);

    for (const char *p = hay; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);

        if (len > 0 && p[len - 1] == '\r') {
            len--;
        }
        if (len >= ns && len >= ne && strncmp(p, start, ns) == 0 &&
            memcmp(p + len - ne, end, ne) == 0) {
            return;
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    fail_msg("expected a line \"%s...%s\" in:\n%s", start, end, hay);
}

/* The self-review table on the manager's page, in text, CSV and JSON:
 * below the minimum n (3) of recorded calls only the count shows; at 3,
 * two of them with the rep's comments first, 2 and 67 %. */
static void test_dashboard_self_review(void **state)
{
    static const char *const ids[3] = {"0b5e0000-0000-4000-8000-00000000ac01",
                                       "0b5e0000-0000-4000-8000-00000000ac02",
                                       "0b5e0000-0000-4000-8000-00000000ac03"};
    int no_rep[4] = {8 * 24, 0, 6 * 24, 5 * 24};
    char rec[1024];
    json_t *j, *tables, *t = NULL;

    (void)state;
    for (int i = 0; i < 3; i++) {
        rec_json(rec, sizeof(rec), "CRM-CALL-1", "31:20", i == 2 ? no_rep : all_stages, "");
        write_obs(ids[i], rec, i == 2 ? NULL : good_markers, "");
        CQ(0, "alice", "submit", f.file);
        contains(f.out, "STORED");
        if (i == 1) {
            CQ(0, "lead.gil", "dashboard", "manager", "flm.cara", "--csv", "self-review");
            contains(f.out, "Recorded calls,2,2,insufficient data,2,insufficient data,2");
            /* The cadence tables' last column follows the same rule. */
            CQ(0, "lead.gil", "dashboard", "managers", "slm.eve", "--csv", "cadence");
            line_ends(f.out, "Cara Lind,", ",insufficient data,2");
        }
    }
    CQ(0, "lead.gil", "dashboard", "manager", "flm.cara");
    contains(f.out, "Reps reviewing themselves first");
    CQ(0, "lead.gil", "dashboard", "manager", "flm.cara", "--csv", "self-review");
    contains(f.out, "Recorded calls,3,3,2,3,67,3");
    /* The rep's own markers are not the coaching's: the three sessions
     * count one observer's open question each, no rep self-assessment. */
    contains(f.out, "Observed sessions,3,3,0,3,0,3");
    /* My managers: per manager and for the whole line. */
    CQ(0, "lead.gil", "dashboard", "managers", "slm.eve", "--csv", "self-review-line");
    contains(f.out, "Cara Lind,3,3,67,3,0,3");
    contains(f.out, "Jo Jones,0,0,insufficient data,0,insufficient data,0");
    contains(f.out, "Whole line,3,3,67,3,0,3");
    /* A live session is no recorded review: the figures stay at 3. */
    write_obs("0b5e0000-0000-4000-8000-00000000ac04", NULL, NULL, "");
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "STORED");
    /* The cadence tables: per manager on My managers, and the manager's
     * own on My coaching, in CSV, text and JSON. */
    CQ(0, "lead.gil", "dashboard", "managers", "slm.eve", "--csv", "cadence");
    contains(f.out, "Rep first (%)");
    line_ends(f.out, "Cara Lind,", ",67,3");
    line_ends(f.out, "Jo Jones,", ",insufficient data,0");
    CQ(0, "flm.cara", "dashboard", "me", "--csv", "my-cadence");
    line_ends(f.out, "", ",67,3");
    CQ(0, "lead.gil", "dashboard", "managers", "slm.eve");
    contains(f.out, "Rep first (%)");
    CQ(0, "flm.cara", "dashboard", "me", "--json");
    j = parse_out();
    tables = json_object_get(j, "tables");
    for (size_t i = 0; i < json_array_size(tables); i++) {
        if (strcmp(json_string_value(json_object_get(json_array_get(tables, i), "id")),
                   "self-review") == 0) {
            t = json_array_get(tables, i);
        }
    }
    if (t == NULL) {
        fail_msg("no self-review table in:\n%s", f.out);
    }
    /* The cadence's own row in JSON: the last cell is the share and its n. */
    for (size_t i = 0; i < json_array_size(tables); i++) {
        const json_t *ct = json_array_get(tables, i);
        const json_t *cols, *row, *cell;

        if (strcmp(json_string_value(json_object_get(ct, "id")), "my-cadence") != 0) {
            continue;
        }
        cols = json_object_get(ct, "columns");
        assert_string_equal(json_string_value(json_array_get(cols, json_array_size(cols) - 1)),
                            "Rep first (%)");
        row = json_array_get(json_object_get(ct, "rows"), 0);
        cell = json_array_get(row, json_array_size(row) - 1);
        assert_string_equal(json_string_value(json_object_get(cell, "text")), "67");
        assert_int_equal(json_integer_value(json_object_get(cell, "n")), 3);
        t = NULL;
    }
    if (t != NULL) {
        fail_msg("no my-cadence table in:\n%s", f.out);
    }
    json_decref(j);
    /* Cara moves to Fay's line after the reviews: the line on the session
     * date decides, so Fay's page shows none of them, in the cadence table
     * as in the self-review one (else subtracting the two lines' figures
     * would recover the old line's share). */
    {
        char when[32], line[640], out[4096];
        FILE *fp;

        iso_h(2 * 24, when, sizeof(when));
        when[10] = '\0';
        snprintf(line, sizeof(line), "%s/move.csv", f.dir);
        fp = fopen(line, "w");
        assert_non_null(fp);
        fprintf(fp,
                "id,name,email,role,manager_id,effective_date\n"
                "flm.cara,Cara Lind,cara@example.com,front_line_manager,slm.fay,%s\n",
                when);
        fclose(fp);
        testutil_coachqd(out, sizeof(out), 0, "import", "people", "--data", f.data, line, NULL);
        contains(out, "reporting lines: 1 changed");
    }
    CQ(0, "lead.gil", "dashboard", "managers", "slm.fay", "--csv", "self-review-line");
    contains(f.out, "Cara Lind,0,0,insufficient data,0,");
    CQ(0, "lead.gil", "dashboard", "managers", "slm.fay", "--csv", "cadence");
    line_ends(f.out, "Cara Lind,", ",insufficient data,0");
    CQ(0, "flm.cara", "dashboard", "me", "--csv", "my-cadence");
    line_ends(f.out, "", ",67,3");
}

/* An amendment never fills in a stage skipped before the last one recorded
 * (a rep's comment added after the manager's would make the rep look
 * first), and no stage lies after the server received the record. */
static void test_review_order(void **state)
{
    static const char *const orig = "0b5e0000-0000-4000-8000-00000000ad01";
    static const char *const amend = "0b5e0000-0000-4000-8000-00000000ad02";
    static const char *const later = "0b5e0000-0000-4000-8000-00000000ad03";
    static const char *const ahead = "0b5e0000-0000-4000-8000-00000000ad04";
    int no_rep[4] = {8 * 24, 0, 6 * 24, 0};
    int rep_added[4] = {8 * 24, 7 * 24, 6 * 24, 0};
    int discussed[4] = {8 * 24, 0, 6 * 24, 5 * 24};
    int future[4] = {8 * 24, 7 * 24, 6 * 24, -2};
    char rec[1024], extra[128];

    (void)state;
    rec_json(rec, sizeof(rec), "CRM-ORDER-1", "31:20", no_rep, "");
    write_obs(orig, rec, NULL, "");
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "STORED");
    snprintf(extra, sizeof(extra), ", \"amends\": \"%s\"", orig);
    rec_json(rec, sizeof(rec), "CRM-ORDER-1", "31:20", rep_added, "");
    write_obs(amend, rec, NULL, extra);
    refused(amend, "observation.recording.rep_commented_at");
    contains(f.out, "skipped stage stays skipped");
    /* Moving on past the last stage recorded is an amendment's job. */
    rec_json(rec, sizeof(rec), "CRM-ORDER-1", "31:20", discussed, "");
    write_obs(later, rec, NULL, extra);
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "STORED");
    /* The amended review is one recorded review, still without the rep
     * first: the cadence's self-review column counts 1, not 2. */
    CQ(0, "lead.gil", "dashboard", "managers", "slm.eve", "--csv", "cadence");
    line_ends(f.out, "Cara Lind,", ",insufficient data,1");
    /* A stage two hours after the server received the record. */
    rec_json(rec, sizeof(rec), "CRM-ORDER-2", "31:20", future, "");
    write_obs(ahead, rec, NULL, "");
    refused(ahead, "observation.recording.discussed_at");
    contains(f.out, "in the future");
}

/* The recording printer takes a live session's NULL recording quietly,
 * and prints a recording's reference and stages. */
static void test_print_recording(void **state)
{
    Coachq__V1__Recording r = COACHQ__V1__RECORDING__INIT;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    (void)state;
    assert_non_null(fp);
    cli_print_recording(fp, NULL);
    assert_int_equal(fflush(fp), 0);
    assert_int_equal(len, 0);
    r.reference = (char *)"CRM-PRINT-1";
    r.length_ms = 61000;
    r.picked_at = 1767225600;
    cli_print_recording(fp, &r);
    fclose(fp);
    contains(buf, "recording   CRM-PRINT-1 (01:01)");
    contains(buf, "picked by rep");
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_print_recording),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_from_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_by_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference_recording, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_self_review, setup, teardown),
        cmocka_unit_test_setup_teardown(test_review_order, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
