/*
 * test_observe_live: the observer's UI during a live call, driven for real
 * in tmux against a real coachqd over mutual TLS (tmuxutil, as
 * test_observe).
 *
 * Cases: keys are not lost ('?' then a marker key closes the keys and
 * marks; Enter asks before it ends the live phase, and a marker key then
 * carries on and marks; b back from the ratings keeps the elapsed time;
 * x on an agreed action asks first); notes do not hold marking up (an
 * older marker chosen with Up takes the note, Alt with a marker key marks
 * while the note is open) and the note editor counts characters as typed,
 * keeps a zero-width joiner sequence whole and refuses at the server's
 * byte limit, not after; and the compact layout marks at 60x20 (and says
 * what it needs below 40x12, and that the ratings need 80x24); after a
 * refusal of the record for its size, b goes to the actions; an
 * uncertified observer and a coachee of another coach are said at setup,
 * offline from the cache; a certification that ends within 30 days is
 * warned of at setup and by whoami (more urgently within 7). What
 * reached the server is checked in the stored record. Skipped only when
 * tmux is not installed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "localstore.h"
#include "obs_json.h"
#include "testutil.h"
#include "tmuxutil.h"

/* The woman technologist: woman, zero-width joiner, laptop. */
#define TECHNOLOGIST "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb"

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

/* Rates all ten behaviours 3 and goes on to the agreed actions. */
static void rate_all(struct tmuxutil *f, const char *name)
{
    char s[TMUXUTIL_SCREEN_MAX];

    for (int i = 0; i < 10; i++) {
        char want[32];

        tmuxutil_keys(f, name, "3");
        snprintf(want, sizeof(want), "%d of 10 rated", i + 1);
        tmuxutil_wait_for(f, name, want, s, sizeof(s));
    }
    tmuxutil_key_until(f, name, "Enter", "AGREED ACTIONS");
}

static void test_live_keys(void **state)
{
    struct tmuxutil *f = *state;
    Coachq__V1__StoredObservation *rec;
    const Coachq__V1__Observation *o;
    char s[TMUXUTIL_SCREEN_MAX];
    int before, after;

    tmuxutil_need_tmux(f);
    tmuxutil_ui_start(f, "a", "", TMUXUTIL_PRESET, 0);
    tmuxutil_wait_for(f, "a", "RUNNING", s, sizeof(s));

    /* '?' shows the keys; the marker key typed there closes them and is
     * not lost. */
    tmuxutil_key_until(f, "a", "?", "pause or resume the clock");
    tmuxutil_mark(f, "a", "o", 1);
    tmuxutil_wait_line(f, "a", 0, "LIVE");
    /* ? itself only closes them. */
    tmuxutil_key_until(f, "a", "?", "pause or resume the clock");
    tmuxutil_keys(f, "a", "?");
    tmuxutil_wait_line(f, "a", 0, "LIVE");
    tmuxutil_wait_markers(f, "a", 1);

    /* Enter asks; a marker key then carries on, and marks. */
    tmuxutil_keys(f, "a", "Enter");
    tmuxutil_wait_joined(f, "a", "end the live phase and rate?", s, sizeof(s));
    assert_non_null(strstr(s, "LIVE"));
    tmuxutil_mark(f, "a", "p", 2);
    tmuxutil_screen(f, "a", s, sizeof(s));
    assert_non_null(strstr(s, "RUNNING"));

    /* A note on an older marker: Up chooses the open question. Alt with a
     * marker key marks while the note is open, and the note stays. */
    tmuxutil_keys(f, "a", "Up");
    tmuxutil_key_until(f, "a", "n", "Note on open question");
    tmuxutil_wait_joined(f, "a", "0 chars, 500 bytes left", s, sizeof(s));
    tmuxutil_text(f, "a", "asked " TECHNOLOGIST);
    /* The joiner sequence is one character, and 11 bytes of the 500. */
    tmuxutil_wait_joined(f, "a", "7 chars, 483 bytes left", s, sizeof(s));
    tmuxutil_keys(f, "a", "M-d");
    tmuxutil_wait_markers(f, "a", 3);
    tmuxutil_screen(f, "a", s, sizeof(s));
    assert_non_null(strstr(s, "Note on open question"));
    tmuxutil_text(f, "a", " x");
    tmuxutil_key_until(f, "a", "Enter", "note saved");

    /* The limit as typed: 500 bytes fit, the next letter does not, and a
     * joiner sequence that does not fit whole goes whole. */
    tmuxutil_keys(f, "a", "Up");
    tmuxutil_keys(f, "a", "Up");
    tmuxutil_key_until(f, "a", "n", "Note on open question");
    tmuxutil_keys(f, "a", "C-u");
    {
        char fill[491];

        memset(fill, 'y', 490);
        fill[490] = '\0';
        tmuxutil_text(f, "a", fill);
    }
    tmuxutil_wait_joined(f, "a", "490 chars, 10 bytes left", s, sizeof(s));
    /* 4 + 3 bytes fit, the laptop's 4 do not: the woman and the joiner go
     * too. */
    tmuxutil_text(f, "a", TECHNOLOGIST);
    tmuxutil_wait_joined(f, "a", "did not fit whole and was removed", s, sizeof(s));
    tmuxutil_wait_joined(f, "a", "490 chars, 10 bytes left", s, sizeof(s));
    /* 5 bytes left: the woman fits, the joiner does not, and the laptop
     * that would fit on its own must not stay behind either. */
    tmuxutil_text(f, "a", "yyyyy");
    tmuxutil_wait_joined(f, "a", "495 chars, 5 bytes left", s, sizeof(s));
    tmuxutil_text(f, "a", TECHNOLOGIST);
    tmuxutil_wait_joined(f, "a", "did not fit whole and was removed", s, sizeof(s));
    tmuxutil_wait_joined(f, "a", "495 chars, 5 bytes left", s, sizeof(s));
    tmuxutil_text(f, "a", "zzzzzzzzzzz");
    tmuxutil_wait_joined(f, "a", "the text is full: at most 500 bytes", s, sizeof(s));
    tmuxutil_wait_joined(f, "a", "500 chars, 0 bytes left", s, sizeof(s));
    tmuxutil_key_until(f, "a", "Escape", "not changed");

    /* Enter, Enter: the ratings; b goes back live with the time kept. */
    testutil_sleep_ms(2200);
    tmuxutil_end_live(f, "a");
    tmuxutil_key_until(f, "a", "b", "back live");
    tmuxutil_wait_for(f, "a", "RUNNING", s, sizeof(s));
    before = title_clock(s);
    assert_true(before >= 2);
    tmuxutil_mark(f, "a", "e", 4);
    tmuxutil_end_live(f, "a");
    tmuxutil_screen(f, "a", s, sizeof(s));
    rate_all(f, "a");

    /* x asks before it deletes an action; any other key keeps it. */
    tmuxutil_keys(f, "a", "a");
    tmuxutil_wait_for(f, "a", "New agreed action", s, sizeof(s));
    tmuxutil_text(f, "a", "Rep calls the CFO");
    tmuxutil_key_until(f, "a", "Enter", "1 agreed action");
    tmuxutil_keys(f, "a", "a");
    tmuxutil_wait_for(f, "a", "New agreed action", s, sizeof(s));
    tmuxutil_text(f, "a", "Rep sends the plan");
    tmuxutil_key_until(f, "a", "Enter", "2 agreed actions");
    tmuxutil_keys(f, "a", "x");
    tmuxutil_wait_joined(f, "a", "delete action 2 (\"Rep sends the plan\")? y deletes it", s,
                         sizeof(s));
    tmuxutil_key_until(f, "a", "n", "kept: nothing was deleted");
    tmuxutil_screen(f, "a", s, sizeof(s));
    assert_non_null(strstr(s, "2 agreed actions"));
    tmuxutil_keys(f, "a", "x");
    tmuxutil_wait_joined(f, "a", "y deletes it", s, sizeof(s));
    tmuxutil_key_until(f, "a", "y", "1 agreed action");
    tmuxutil_key_until(f, "a", "Enter", "REVIEW");
    tmuxutil_key_until(f, "a", "s", "STORED");
    tmuxutil_keys(f, "a", "x");
    assert_int_equal(tmuxutil_wait_exit(f, "a"), 0);
    tmuxutil_assert_no_sanitizer_report(f);

    rec = tmuxutil_the_stored(f);
    o = rec->observation;
    assert_int_equal(o->n_markers, 4);
    assert_int_equal(o->markers[0]->kind, COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION);
    assert_int_equal(o->markers[1]->kind, COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE);
    assert_int_equal(o->markers[2]->kind, COACHQ__V1__MARKER_KIND__MARKER_KIND_DIRECTIVE);
    assert_int_equal(o->markers[3]->kind, COACHQ__V1__MARKER_KIND__MARKER_KIND_EVIDENCE_ASKED);
    /* The note went to the marker chosen, whole, joiner and all. */
    assert_string_equal(o->markers[0]->note, "asked " TECHNOLOGIST " x");
    assert_string_equal(o->markers[1]->note, "");
    /* The time before b counts: the marker after it is later than the
     * first end of the live phase. */
    after = (int)(o->markers[3]->offset_ms / 1000);
    assert_true(after >= before);
    assert_true(o->duration_s >= (uint32_t)before);
    assert_int_equal(o->n_actions, 1);
    assert_string_equal(o->actions[0]->text, "Rep calls the CFO");
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
}

/* The columns a screen line takes: its UTF-8 characters (tmux's capture
 * holds the UI's box lines and text, one column each). */
static size_t columns_of(const char *line)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)line; *p != '\0'; p++) {
        n += (*p & 0xC0) != 0x80;
    }
    return n;
}

static void test_compact(void **state)
{
    struct tmuxutil *f = *state;
    char s[TMUXUTIL_SCREEN_MAX], line[512];

    tmuxutil_need_tmux(f);
    tmuxutil_ui_start(f, "c", "", TMUXUTIL_PRESET, 0);
    tmuxutil_wait_for(f, "c", "RUNNING", s, sizeof(s));

    /* Beside a video call: 60x20 marks, notes and shows the keys. */
    tmuxutil_tmux(f, NULL, 0, "resize-window", "-t", "c", "-x", "60", "-y", "20", NULL);
    tmuxutil_wait_for(f, "c", "Enter rate", s, sizeof(s));
    tmuxutil_mark(f, "c", "o", 1);
    tmuxutil_mark(f, "c", "d", 2);
    tmuxutil_mark(f, "c", "o", 3);
    tmuxutil_screen(f, "c", s, sizeof(s));
    assert_non_null(strstr(s, "ask : tell 2 : 1"));
    tmuxutil_line_of(s, 1, line, sizeof(line));
    assert_non_null(strstr(line, "flm.cara"));
    for (int y = 0; y < 20; y++) {
        tmuxutil_line_of(s, y, line, sizeof(line));
        assert_true(columns_of(line) <= 60);
    }
    tmuxutil_key_until(f, "c", "n", "Note on open question");
    tmuxutil_text(f, "c", "short");
    tmuxutil_key_until(f, "c", "Enter", "\"short\"");
    /* The keys at 60x20, wrapped rather than cut. */
    tmuxutil_key_until(f, "c", "?", "KEYS");
    tmuxutil_wait_joined(f, "c",
                         "Up/Down choose a recent marker (> marks it); a new marker chooses "
                         "itself",
                         s, sizeof(s));
    tmuxutil_keys(f, "c", "?");
    tmuxutil_wait_markers(f, "c", 3);

    /* Smaller still: 40x12 works; below it a message, and no key acts. */
    tmuxutil_tmux(f, NULL, 0, "resize-window", "-t", "c", "-x", "40", "-y", "12", NULL);
    tmuxutil_wait_line(f, "c", 0, "LIVE");
    tmuxutil_mark(f, "c", "p", 4);
    tmuxutil_tmux(f, NULL, 0, "resize-window", "-t", "c", "-x", "36", "-y", "10", NULL);
    tmuxutil_wait_joined(f, "c", "at least 40x12 for the live phase", s, sizeof(s));
    tmuxutil_keys(f, "c", "o");
    testutil_sleep_ms(300);
    /* At 40x12 the quit question fits whole; n stays. */
    tmuxutil_tmux(f, NULL, 0, "resize-window", "-t", "c", "-x", "40", "-y", "12", NULL);
    tmuxutil_wait_line(f, "c", 0, "LIVE");
    tmuxutil_key_until(f, "c", "q", "quit? it is saved: --resume (y/n)");
    tmuxutil_keys(f, "c", "n");

    /* The ratings need 80x24, and say so. */
    tmuxutil_tmux(f, NULL, 0, "resize-window", "-t", "c", "-x", "60", "-y", "20", NULL);
    tmuxutil_wait_markers(f, "c", 4);
    tmuxutil_keys(f, "c", "Enter");
    tmuxutil_wait_joined(f, "c", "end the live phase and rate?", s, sizeof(s));
    tmuxutil_keys(f, "c", "Enter");
    tmuxutil_wait_joined(f, "c", "at least 80x24 (the live phase fits in 40x12)", s, sizeof(s));
    tmuxutil_tmux(f, NULL, 0, "resize-window", "-t", "c", "-x", "80", "-y", "24", NULL);
    tmuxutil_wait_for(f, "c", "RATING", s, sizeof(s));
    tmuxutil_key_until(f, "c", "q", "quit?");
    tmuxutil_keys(f, "c", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "c"), 1);
    tmuxutil_assert_no_sanitizer_report(f);
}

/* A record refused for its size: b goes where removing text fixes it
 * (the actions here), not "the UI cannot change observation". The
 * refusal is put in the outbox as the server words it. */
static void test_size_refusal(void **state)
{
    static const char id[] = "5f0c7a1e-2b3d-4c5e-8f60-718293a4b5c6";
    struct tmuxutil *f = *state;
    Coachq__V1__OutboxEntry e = COACHQ__V1__OUTBOX_ENTRY__INIT;
    Coachq__V1__Error err = COACHQ__V1__ERROR__INIT;
    Coachq__V1__Observation *o = NULL;
    struct localstore *ls = NULL;
    char doc[4096], ratings[1024], msg[256], s[TMUXUTIL_SCREEN_MAX], args[128];
    size_t n = 0;
    json_t *j;

    tmuxutil_need_tmux(f);
    for (int i = 0; i < 10; i++) {
        n += (size_t)snprintf(ratings + n, sizeof(ratings) - n,
                              "%s{\"behaviour\": \"%s\", \"score\": 3}", i > 0 ? ", " : "",
                              testutil_behaviours[i]);
    }
    snprintf(doc, sizeof(doc),
             "{\"id\": \"%s\", \"rubric\": \"coaching-conversation\", \"rubric_version\": 1, "
             "\"coach\": \"flm.cara\", \"coachee\": \"rep.ida\", \"session_type\": "
             "\"deal_review\", \"focus\": \"skill\", \"started_at\": \"2026-11-02T14:30:00Z\", "
             "\"duration_min\": 30, \"ratings\": [%s], \"actions\": [{\"text\": \"Rep calls the "
             "CFO before Friday and sends the notes\"}, {\"text\": \"Rep rewrites the mutual "
             "close plan with the champion\"}]}",
             id, ratings);
    j = json_loads(doc, 0, NULL);
    assert_non_null(j);
    assert_int_equal(obs_json_parse(j, &o, msg, sizeof(msg)), 0);
    json_decref(j);
    err.code = COACHQ__V1__CODE__INVALID_ARGUMENT;
    err.field = "observation";
    err.message = "is 70123 bytes packed; at most 65000 fit, so that it can be read back in one "
                  "frame: shorten its notes or evidence";
    e.observation = o;
    e.state = COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_REJECTED;
    e.last_error = &err;
    e.attempts = 1;
    assert_int_equal(localstore_open(f->local, &ls, msg, sizeof(msg)), 0);
    assert_int_equal(localstore_outbox_put(ls, &e), 0);
    localstore_close(ls);
    obs_json_free(o);

    snprintf(args, sizeof(args), "--fix %s", id);
    tmuxutil_ui_start(f, "z", "", args, 0);
    tmuxutil_wait_for(f, "z", "REVIEW", s, sizeof(s));
    tmuxutil_keys(f, "z", "b");
    tmuxutil_wait_for(f, "z", "AGREED ACTIONS", s, sizeof(s));
    tmuxutil_wait_joined(
        f, "z",
        "too big: most of it is the agreed actions and follow-ups (2 and 0): x deletes an action",
        s, sizeof(s));
    assert_null(strstr(s, "cannot change"));
    tmuxutil_keys(f, "z", "x");
    tmuxutil_wait_joined(f, "z", "y deletes it", s, sizeof(s));
    tmuxutil_key_until(f, "z", "y", "1 agreed action");
    tmuxutil_key_until(f, "z", "q", "quit?");
    tmuxutil_keys(f, "z", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "z"), 1);
    tmuxutil_assert_no_sanitizer_report(f);
}

/* The checks at setup: an observer not certified for the rubric, and a
 * coachee of another coach, are said before the first marker and stay in
 * sight; offline the same words come from the cache, marked so. */
static void test_setup_checks(void **state)
{
    static const char args[] =
        "observe --rubric coaching-conversation --coach flm.cara --coachee rep.jon "
        "--type deal_review --focus process";
    struct tmuxutil *f = *state;
    char s[TMUXUTIL_SCREEN_MAX];

    tmuxutil_need_tmux(f);
    /* obs.ben holds the observer role and no certification; rep.jon
     * reports to flm.dan. */
    tmuxutil_ui_run(f, "u", "obs.ben", f->local, "", args, 0);
    tmuxutil_wait_for(f, "u", "RUNNING", s, sizeof(s));
    tmuxutil_wait_joined(f, "u",
                         "you are not certified for rubric coaching-conversation: the server "
                         "will refuse this session",
                         s, sizeof(s));
    tmuxutil_wait_joined(f, "u", "rep.jon reports to flm.dan, not to the coach flm.cara", s,
                         sizeof(s));
    assert_null(strstr(s, "from cache"));
    /* Still there after a marker took the status line. */
    tmuxutil_mark(f, "u", "o", 1);
    tmuxutil_wait_joined(f, "u", "! you are not certified", s, sizeof(s));
    tmuxutil_key_until(f, "u", "q", "quit?");
    tmuxutil_keys(f, "u", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "u"), 1);

    /* A certified observer with the coach's own rep hears nothing. */
    tmuxutil_ui_start(f, "v", "",
                      "--rubric coaching-conversation --coach flm.dan --coachee "
                      "rep.jon --type deal_review --focus process",
                      0);
    tmuxutil_wait_for(f, "v", "saved on this machine", s, sizeof(s));
    tmuxutil_keys(f, "v", "d");
    tmuxutil_key_until(f, "v", "y", "RUNNING");
    tmuxutil_wait_joined(f, "v", "the clock runs", s, sizeof(s));
    assert_null(strstr(s, "certified"));
    assert_null(strstr(s, "reports to"));
    tmuxutil_key_until(f, "v", "q", "quit?");
    tmuxutil_keys(f, "v", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "v"), 1);

    /* Offline: from the cache, and it says so. */
    assert_true(testutil_server_stop(&f->srv, SIGKILL) != -1);
    tmuxutil_ui_run(f, "w", "obs.ben", f->local, "", args, 0);
    tmuxutil_wait_for(f, "w", "saved on this machine", s, sizeof(s));
    tmuxutil_keys(f, "w", "d");
    tmuxutil_key_until(f, "w", "y", "RUNNING");
    tmuxutil_wait_joined(f, "w", "rep.jon reports to flm.dan, not to the coach flm.cara", s,
                         sizeof(s));
    tmuxutil_wait_joined(f, "w", "offline, from cache", s, sizeof(s));
    tmuxutil_key_until(f, "w", "q", "quit?");
    tmuxutil_keys(f, "w", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "w"), 1);
    tmuxutil_assert_no_sanitizer_report(f);
}

/* day as YYYY-MM-DD (UTC). */
static void utc_date(int64_t day, char *out, size_t len)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;

    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(out, len, "%Y-%m-%d", &tm) > 0);
}

/* Certification expiry: obs.ben certified for coaching-conversation until
 * 5 days from today (UTC, as the client counts) and for call-review until
 * 20: whoami warns of both, the first more urgently, and the setup of a
 * session with coaching-conversation says when it ends. */
static void test_setup_cert_expiry(void **state)
{
    struct tmuxutil *f = *state;
    int64_t today = (int64_t)time(NULL) / 86400;
    char s[TMUXUTIL_SCREEN_MAX], out[8192], d0[16], d5[16], d20[16], want[256];
    char server[64], crt[600], key[600], ca[600];

    tmuxutil_need_tmux(f);
    utc_date(today, d0, sizeof(d0));
    utc_date(today + 5, d5, sizeof(d5));
    utc_date(today + 20, d20, sizeof(d20));
    testutil_coachqd(out, sizeof(out), 0, "cert", "grant", "--data", f->data, "obs.ben",
                     "coaching-conversation", "--from", d0, "--until", d5, NULL);
    testutil_coachqd(out, sizeof(out), 0, "cert", "grant", "--data", f->data, "obs.ben",
                     "call-review", "--from", d0, "--until", d20, NULL);

    snprintf(server, sizeof(server), "127.0.0.1:%d", f->srv.port);
    testutil_cert_path(crt, sizeof(crt), "users/obs.ben.crt");
    testutil_cert_path(key, sizeof(key), "users/obs.ben.key");
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    testutil_coachq(out, sizeof(out), 0, "--server", server, "--cert", crt, "--key", key, "--ca",
                    ca, "whoami", NULL);
    snprintf(want, sizeof(want),
             "WARNING    your certification for rubric coaching-conversation ends in 5 days on "
             "%s: recalibrate now",
             d5);
    assert_non_null(strstr(out, want));
    snprintf(want, sizeof(want),
             "note       your certification for rubric call-review ends in 20 days on %s: "
             "recalibrate before then",
             d20);
    assert_non_null(strstr(out, want));
    /* obs.ann's hold until 2033: nothing to say. */
    testutil_cert_path(crt, sizeof(crt), "users/obs.ann.crt");
    testutil_cert_path(key, sizeof(key), "users/obs.ann.key");
    testutil_coachq(out, sizeof(out), 0, "--server", server, "--cert", crt, "--key", key, "--ca",
                    ca, "whoami", NULL);
    assert_non_null(strstr(out, "obs.ann"));
    assert_null(strstr(out, "your certification"));

    /* The session is taken, and the setup says when it ends. */
    tmuxutil_ui_run(f, "u", "obs.ben", f->local, "",
                    "observe --rubric coaching-conversation --coach flm.dan --coachee rep.jon "
                    "--type deal_review --focus process",
                    0);
    tmuxutil_wait_for(f, "u", "RUNNING", s, sizeof(s));
    snprintf(want, sizeof(want),
             "your certification for rubric coaching-conversation ends in 5 days on %s", d5);
    tmuxutil_wait_joined(f, "u", want, s, sizeof(s));
    assert_null(strstr(s, "will refuse"));
    tmuxutil_key_until(f, "u", "q", "quit?");
    tmuxutil_keys(f, "u", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "u"), 1);
    tmuxutil_assert_no_sanitizer_report(f);
}

/* Coaching the coaches: with the rubric that scores a second-level
 * manager, the coach picker offers second-level managers and the coachee
 * picker the coach's own front-line managers, not reps. */
static void test_coach_pickers(void **state)
{
    struct tmuxutil *f = *state;
    char s[TMUXUTIL_SCREEN_MAX];

    tmuxutil_need_tmux(f);
    tmuxutil_ui_start(f, "p", "", "--rubric coaching-the-coach --type deal_review --focus process",
                      0);
    tmuxutil_wait_for(f, "p", "Choose the coach", s, sizeof(s));
    assert_non_null(strstr(s, "slm.eve"));
    assert_non_null(strstr(s, "slm.fay"));
    assert_null(strstr(s, "flm.cara"));
    assert_null(strstr(s, "rep.ida"));
    tmuxutil_text(f, "p", "slm.eve");
    tmuxutil_keys(f, "p", "Enter");
    tmuxutil_wait_for(f, "p", "Choose the coachee", s, sizeof(s));
    assert_non_null(strstr(s, "flm.cara"));
    assert_non_null(strstr(s, "mgr.jones"));
    /* flm.dan is in slm.fay's line; reps are nobody's coachees here. */
    assert_null(strstr(s, "flm.dan"));
    assert_null(strstr(s, "rep.ida"));
    tmuxutil_text(f, "p", "flm.cara");
    tmuxutil_keys(f, "p", "Enter");
    tmuxutil_key_until(f, "p", "Enter", "RUNNING"); /* live, of live or a recording */
    /* The line check agrees: flm.cara reports to slm.eve. */
    assert_null(strstr(s, "reports to"));
    tmuxutil_key_until(f, "p", "q", "quit?");
    tmuxutil_keys(f, "p", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "p"), 1);
    tmuxutil_assert_no_sanitizer_report(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMUXUTIL_TEST(test_live_keys),    TMUXUTIL_TEST(test_coach_pickers),
        TMUXUTIL_TEST(test_compact),      TMUXUTIL_TEST(test_size_refusal),
        TMUXUTIL_TEST(test_setup_checks), TMUXUTIL_TEST(test_setup_cert_expiry),
    };

    tmuxutil_test_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
