/*
 * test_observe_recording: the observer's UI scoring a recording
 * (`coachq observe --recording REF --length MM:SS`), driven for real in
 * tmux against a real coachqd over mutual TLS (tmuxutil, as
 * test_observe_live).
 *
 * The clock is the recording's position: "g" goes to a typed mm:ss (and
 * refuses one past the end), Left/Right and [ ] seek, markers land at the
 * position sought, and the clock stops at the recording's end. After a
 * SIGKILL, --resume brings the session back paused at the position the
 * last save held, not where the wall clock would put it. The stored record
 * carries the recording, the markers at those offsets and the recording's
 * length as the session's. Skipped only when tmux is not installed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"
#include "tmuxutil.h"

#define REC_ARGS TMUXUTIL_PRESET " --recording CRM-CALL-7 --length 20:00"

/* The clock of the title line (line 0, "MM:SS"), in seconds; -1 if none. */
static int title_clock(const char *scr)
{
    char line[512];

    tmuxutil_line_of(scr, 0, line, sizeof(line));
    for (const char *p = line; p[0] != '\0'; p++) {
        if (p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] == ':' &&
            p[3] >= '0' && p[3] <= '9' && p[4] >= '0' && p[4] <= '9') {
            return ((p[0] - '0') * 10 + (p[1] - '0')) * 60 + (p[3] - '0') * 10 + (p[4] - '0');
        }
    }
    return -1;
}

/* Types "g", the position and Enter. */
static void go_to(struct tmuxutil *f, const char *name, const char *pos)
{
    char s[TMUXUTIL_SCREEN_MAX];

    tmuxutil_keys(f, name, "g");
    tmuxutil_wait_for(f, name, "Go to (mm:ss):", s, sizeof(s));
    tmuxutil_text(f, name, pos);
    tmuxutil_keys(f, name, "Enter");
}

static void test_recording_mode(void **state)
{
    struct tmuxutil *f = *state;
    Coachq__V1__LocalSession *before;
    Coachq__V1__StoredObservation *rec;
    const Coachq__V1__Observation *o;
    char s[TMUXUTIL_SCREEN_MAX];
    uint64_t saved_pos;
    int dead, status;
    long pid;

    tmuxutil_need_tmux(f);
    tmuxutil_ui_start(f, "r", "", REC_ARGS, 1);
    tmuxutil_wait_for(f, "r", "RUNNING", s, sizeof(s));
    tmuxutil_wait_line(f, "r", 0, "RECORDING");
    tmuxutil_wait_line(f, "r", 0, "/20:00");
    /* The keys say how to seek. */
    tmuxutil_key_until(f, "r", "?", "go to mm:ss");
    tmuxutil_keys(f, "r", "?");
    tmuxutil_wait_line(f, "r", 0, "RECORDING");

    /* Paused, the position is what the observer sets. */
    tmuxutil_key_until(f, "r", "Space", "PAUSED");
    go_to(f, "r", "12:30");
    tmuxutil_wait_line(f, "r", 0, "12:30/20:00");
    tmuxutil_mark(f, "r", "p", 1);
    tmuxutil_keys(f, "r", "Right");
    tmuxutil_wait_line(f, "r", 0, "12:35/20:00");
    tmuxutil_keys(f, "r", "]");
    tmuxutil_wait_line(f, "r", 0, "13:05/20:00");
    tmuxutil_keys(f, "r", "[");
    tmuxutil_wait_line(f, "r", 0, "12:35/20:00");
    tmuxutil_keys(f, "r", "Left");
    tmuxutil_wait_line(f, "r", 0, "12:30/20:00");
    tmuxutil_keys(f, "r", "Left");
    tmuxutil_wait_line(f, "r", 0, "12:25/20:00");
    tmuxutil_mark(f, "r", "o", 2);

    /* Past the end, or not a position: refused, the position stays. */
    go_to(f, "r", "25:00");
    tmuxutil_wait_joined(f, "r", "the recording ends at 20:00", s, sizeof(s));
    tmuxutil_keys(f, "r", "Escape");
    go_to(f, "r", "soon");
    tmuxutil_wait_joined(f, "r", "is not a position", s, sizeof(s));
    tmuxutil_keys(f, "r", "Escape");
    tmuxutil_wait_line(f, "r", 0, "12:25/20:00");

    /* Playing on from near the end, the clock stops at it. */
    go_to(f, "r", "19:59");
    tmuxutil_wait_line(f, "r", 0, "19:59/20:00");
    tmuxutil_key_until(f, "r", "Space", "RUNNING");
    tmuxutil_wait_line(f, "r", 0, "20:00/20:00");
    testutil_sleep_ms(1200);
    tmuxutil_screen(f, "r", s, sizeof(s));
    assert_int_equal(title_clock(s), 20 * 60);
    tmuxutil_mark(f, "r", "e", 3);

    /* Playing from 05:00, a marker saves the session; then the client is
     * killed while the clock runs. */
    go_to(f, "r", "05:00");
    tmuxutil_wait_line(f, "r", 0, "05:0");
    tmuxutil_mark(f, "r", "s", 4);
    tmuxutil_pane_state(f, "r", &dead, &status, &pid);
    assert_int_equal(dead, 0);
    assert_true(pid > 1);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    for (int i = 0; i < 200 && !dead; i++) {
        testutil_sleep_ms(25);
        tmuxutil_pane_state(f, "r", &dead, &status, &pid);
    }
    assert_int_equal(dead, 1);
    before = tmuxutil_saved_session(f);
    assert_non_null(before->draft);
    assert_non_null(before->draft->recording);
    assert_true(before->clock_started_ms > 0);
    saved_pos = before->elapsed_ms;
    if (before->updated_at_ms > before->clock_started_ms) {
        saved_pos += (uint64_t)(before->updated_at_ms - before->clock_started_ms);
    }
    testutil_sleep_ms(2100);

    /* Resumed paused where the last save left it, not two seconds on. */
    tmuxutil_ui_start(f, "r2", "", "--resume", 0);
    tmuxutil_wait_for(f, "r2", "PAUSED", s, sizeof(s));
    tmuxutil_wait_joined(f, "r2", "resumed paused at", s, sizeof(s));
    assert_int_equal(title_clock(s), (int)(saved_pos / 1000));
    tmuxutil_mark(f, "r2", "a", 5);
    tmuxutil_end_live(f, "r2");
    /* A 4 wants evidence: saved, it takes the position in the recording. */
    tmuxutil_keys(f, "r2", "4");
    tmuxutil_wait_for(f, "r2", "Evidence for ", s, sizeof(s));
    tmuxutil_text(f, "r2", "rep named the next step");
    tmuxutil_key_until(f, "r2", "Enter", "evidence saved");
    for (int i = 0; i < 9; i++) {
        tmuxutil_keys(f, "r2", "3");
    }
    tmuxutil_wait_for(f, "r2", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "r2", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "r2", "Enter", "ready to submit");
    tmuxutil_key_until(f, "r2", "s", "STORED");
    tmuxutil_keys(f, "r2", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "r2"), 0);
    tmuxutil_assert_no_sanitizer_report(f);

    rec = tmuxutil_the_stored(f);
    o = rec->observation;
    assert_non_null(o->recording);
    assert_string_equal(o->recording->reference, "CRM-CALL-7");
    assert_int_equal(o->recording->length_ms, 1200000);
    /* The session is the recording: its length, whatever was played. */
    assert_int_equal(o->duration_s, 1200);
    assert_int_equal(o->n_markers, 5);
    assert_int_equal(o->markers[0]->offset_ms, 750000);
    assert_int_equal(o->markers[0]->kind, COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE);
    assert_int_equal(o->markers[1]->offset_ms, 745000);
    assert_int_equal(o->markers[2]->offset_ms, 1200000);
    assert_true(o->markers[3]->offset_ms >= 300000 && o->markers[3]->offset_ms < 310000);
    assert_int_equal(o->markers[4]->offset_ms, (uint32_t)saved_pos);
    assert_int_equal(o->markers[4]->kind, COACHQ__V1__MARKER_KIND__MARKER_KIND_ACTION_AGREED);
    /* The evidence, saved while paused there, is at that position. */
    assert_string_equal(o->ratings[0]->evidence, "rep named the next step");
    assert_int_equal(o->ratings[0]->evidence_offset_ms, (uint32_t)saved_pos);
    assert_int_equal(o->ratings[1]->evidence_offset_ms, 0);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    coachq__v1__local_session__free_unpacked(before, NULL);
}

/* Usage errors: --recording without --length, a bad length, a refused
 * reference; all exit 2 before any UI. */
static void test_recording_usage(void **state)
{
    struct tmuxutil *f = *state;
    char out[8192];

    (void)f;
    testutil_coachq(out, sizeof(out), 2, "observe", "--recording", "CRM-1", NULL);
    assert_non_null(strstr(out, "--recording REF and --length MM:SS go together"));
    testutil_coachq(out, sizeof(out), 2, "observe", "--recording", "CRM-1", "--length", "ten",
                    NULL);
    assert_non_null(strstr(out, "--length: 'ten' is not a length"));
    testutil_coachq(out, sizeof(out), 2, "observe", "--recording", "javascript:alert(1)",
                    "--length", "10:00", NULL);
    assert_non_null(strstr(out, "--recording:"));
    testutil_coachq(out, sizeof(out), 2, "observe", "--resume", "--recording", "CRM-1", "--length",
                    "10:00", NULL);
    assert_non_null(strstr(out, "starts a new session"));
}

/* The mode chosen at setup: a recording whose reference and length are
 * typed there, each refused with the field named when the server would
 * refuse it and corrected without losing the rest of the setup; --resume
 * keeps the mode; the stored record carries the recording and the
 * markers at their positions in it. */
static void test_recording_at_setup(void **state)
{
    struct tmuxutil *f = *state;
    Coachq__V1__StoredObservation *rec;
    const Coachq__V1__Observation *o;
    char s[TMUXUTIL_SCREEN_MAX];

    tmuxutil_need_tmux(f);
    tmuxutil_ui_start(f, "m", "",
                      "--rubric coaching-conversation --coach flm.cara --coachee rep.ida --type "
                      "call_review",
                      0);
    tmuxutil_wait_for(f, "m", "Choose the coaching focus", s, sizeof(s));
    tmuxutil_key_until(f, "m", "Enter", "Observed live, or from a recording?");
    tmuxutil_wait_for(f, "m", "a recording: its reference and length next", s, sizeof(s));
    assert_non_null(strstr(s, "step 6 of 6"));
    tmuxutil_keys(f, "m", "Down");
    tmuxutil_key_until(f, "m", "Enter", "Recording (http(s) URL or CRM call id):");
    /* The editor counts down from the server's cap on a reference. */
    tmuxutil_wait_joined(f, "m", "1024 bytes left", s, sizeof(s));

    /* A scheme the server refuses: named, and the editor stays open. */
    tmuxutil_text(f, "m", "javascript:alert(1)");
    tmuxutil_keys(f, "m", "Enter");
    tmuxutil_wait_joined(f, "m", "recording reference: is neither an http(s) URL", s, sizeof(s));
    assert_non_null(strstr(s, "Recording (http(s) URL"));
    /* Esc goes back to the choice, the rest of the setup kept. */
    tmuxutil_keys(f, "m", "Escape");
    tmuxutil_wait_for(f, "m", "Observed live, or from a recording?", s, sizeof(s));
    assert_non_null(strstr(s, "flm.cara"));
    assert_non_null(strstr(s, "process"));
    tmuxutil_keys(f, "m", "Down");
    tmuxutil_key_until(f, "m", "Enter", "Recording (http(s) URL or CRM call id):");
    tmuxutil_text(f, "m", "CRM CALL 9");
    tmuxutil_keys(f, "m", "Enter");
    tmuxutil_wait_joined(f, "m", "recording reference: contains a space", s, sizeof(s));
    for (int i = 0; i < 10; i++) {
        tmuxutil_keys(f, "m", "BSpace");
    }
    tmuxutil_text(f, "m", "https://crm.example/calls/9");
    tmuxutil_key_until(f, "m", "Enter", "Recording length (mm:ss or h:mm:ss):");
    tmuxutil_text(f, "m", "ten");
    tmuxutil_keys(f, "m", "Enter");
    tmuxutil_wait_joined(f, "m", "recording length: 'ten' is not a length", s, sizeof(s));
    for (int i = 0; i < 3; i++) {
        tmuxutil_keys(f, "m", "BSpace");
    }
    /* Over the 12 h the server takes: the validator's own words, the
     * field named; so for 0:00. */
    tmuxutil_text(f, "m", "13:00:00");
    tmuxutil_keys(f, "m", "Enter");
    tmuxutil_wait_joined(f, "m", "recording length: is 46800000; give the recording's length", s,
                         sizeof(s));
    for (int i = 0; i < 8; i++) {
        tmuxutil_keys(f, "m", "BSpace");
    }
    tmuxutil_text(f, "m", "0:00");
    tmuxutil_keys(f, "m", "Enter");
    tmuxutil_wait_joined(f, "m", "recording length: is 0; give the recording's length", s,
                         sizeof(s));
    for (int i = 0; i < 4; i++) {
        tmuxutil_keys(f, "m", "BSpace");
    }
    tmuxutil_text(f, "m", "20:00");
    tmuxutil_key_until(f, "m", "Enter", "RUNNING");
    tmuxutil_wait_line(f, "m", 0, "RECORDING");
    tmuxutil_wait_line(f, "m", 0, "/20:00");

    /* Marks at positions sought, then quits. */
    tmuxutil_key_until(f, "m", "Space", "PAUSED");
    go_to(f, "m", "03:00");
    tmuxutil_wait_line(f, "m", 0, "03:00/20:00");
    tmuxutil_mark(f, "m", "p", 1);
    tmuxutil_key_until(f, "m", "q", "quit?");
    tmuxutil_keys(f, "m", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "m"), 1);

    /* --resume keeps the mode. */
    tmuxutil_ui_start(f, "m2", "", "--resume", 0);
    tmuxutil_wait_line(f, "m2", 0, "RECORDING");
    tmuxutil_wait_line(f, "m2", 0, "03:00/20:00");
    go_to(f, "m2", "1:02:03");
    tmuxutil_wait_joined(f, "m2", "the recording ends at 20:00", s, sizeof(s));
    tmuxutil_keys(f, "m2", "Escape");
    go_to(f, "m2", "17:45");
    tmuxutil_wait_line(f, "m2", 0, "17:45/20:00");
    tmuxutil_mark(f, "m2", "o", 2);
    tmuxutil_end_live(f, "m2");
    for (int i = 0; i < 10; i++) {
        tmuxutil_keys(f, "m2", "3");
    }
    tmuxutil_wait_for(f, "m2", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "m2", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "m2", "Enter", "ready to submit");
    tmuxutil_key_until(f, "m2", "s", "STORED");
    tmuxutil_keys(f, "m2", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "m2"), 0);
    tmuxutil_assert_no_sanitizer_report(f);

    rec = tmuxutil_the_stored(f);
    o = rec->observation;
    assert_non_null(o->recording);
    assert_string_equal(o->recording->reference, "https://crm.example/calls/9");
    assert_int_equal(o->recording->length_ms, 1200000);
    assert_int_equal(o->duration_s, 1200);
    assert_int_equal(o->focus, COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS);
    assert_int_equal(o->n_markers, 2);
    assert_int_equal(o->markers[0]->offset_ms, 180000);
    assert_int_equal(o->markers[1]->offset_ms, 1065000);
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMUXUTIL_TEST(test_recording_mode),
        TMUXUTIL_TEST(test_recording_usage),
        TMUXUTIL_TEST(test_recording_at_setup),
    };

    tmuxutil_test_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
