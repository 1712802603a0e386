/*
 * test_observe: the observer's terminal UI driven for real.
 *
 * Each case runs the real `coachq observe` binary ($COACHQ) inside a
 * detached tmux server of its own (tmuxutil: its own socket and config
 * file, so no user tmux is touched), types keys with `tmux send-keys`,
 * reads the screen with `tmux capture-pane` (polling until the expected
 * text shows, with a deadline), and checks what reached a real coachqd
 * over mutual TLS (an organisation seeded with the real administration
 * verbs) and what the client journaled in its local store. Panes stay
 * after their process exits (remain-on-exit), so the exit status is
 * checked too, and under the sanitizers every run writes any report to a
 * file the test reads.
 *
 * Cases: a complete session (markers with a pause, a note, an undo, all
 * ten behaviours with evidence where the rubric wants it, an action,
 * submit); a score of 4 without evidence refused by the UI, then saved
 * and quit; the setup pickers, the 80x24 layout, resizing, a too-small
 * terminal (the live phase's own keys and compact layout are
 * test_observe_live's), '?' and NO_COLOR; `coachq amend` changing one score of a
 * stored observation into a second version, and refusing another
 * observer's record; a disabled user; and messages that never get cut at
 * 80x24; an action agreed with its owner, due date and focus in one
 * session, shown at setup and in the rating phase of the pair's next
 * session (not of another pair's), followed up as done with evidence
 * across a SIGKILL and --resume, and done in `coachq actions --json`; a
 * session that says "not done" after that is refused, and the REFUSED
 * screen's b goes to its follow-up; an amendment shows the follow-up and
 * changes it to partly done as version 2, history kept; offline, the
 * setup says the open actions are not loaded and the session goes on. The
 * journal's cases (a crash and --resume, full disks, a resumed
 * copy the server has) are test_observe_journal's. Skipped only when tmux
 * is not installed.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "client.h"
#include "day.h"
#include "localstore.h"
#include "testutil.h"
#include "tmuxutil.h"
#include "uuid.h"

/* Counts the outbox entries into *arg (a size_t). */
static int count_outbox(const Coachq__V1__OutboxEntry *e, void *arg)
{
    (void)e;
    (*(size_t *)arg)++;
    return 0;
}

/* Nothing is left behind on the observer's machine: no session in
 * progress and an empty outbox. */
static void check_nothing_left(struct tmuxutil *f)
{
    struct localstore *ls = NULL;
    Coachq__V1__LocalSession *none = NULL;
    char err[512];
    size_t outbox = 0;

    assert_int_equal(localstore_open(f->local, &ls, err, sizeof(err)), 0);
    assert_int_equal(localstore_session_load(ls, &none), -ENOENT);
    assert_int_equal(localstore_outbox_list(ls, count_outbox, &outbox), 0);
    assert_int_equal(outbox, 0);
    localstore_close(ls);
}

/* ---- (a) A complete session ------------------------------------------- */

static void test_complete_session(void **state)
{
    struct tmuxutil *f = *state;
    static const int kinds[7] = {
        COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_DIRECTIVE,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_EVIDENCE_ASKED,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED,
        COACHQ__V1__MARKER_KIND__MARKER_KIND_ACTION_AGREED,
    };
    /* 0 = not applicable. */
    static const uint32_t scores[10] = {4, 3, 2, 0, 3, 1, 3, 3, 2, 3};
    Coachq__V1__StoredObservation *rec;
    const Coachq__V1__Observation *o;
    char s[TMUXUTIL_SCREEN_MAX];
    int64_t t_start, t_before_pause, t_after_pause;

    tmuxutil_need_tmux(f);
    t_start = tmuxutil_wall_ms() / 1000;
    tmuxutil_ui_start(f, "a", "", TMUXUTIL_PRESET, 0);
    tmuxutil_wait_for(f, "a", "RUNNING", s, sizeof(s));
    tmuxutil_mark(f, "a", "o", 1);
    testutil_sleep_ms(300);
    tmuxutil_mark(f, "a", "d", 2);
    tmuxutil_mark(f, "a", "o", 3);
    t_before_pause = tmuxutil_wall_ms();
    tmuxutil_key_until(f, "a", "Space", "PAUSED");
    testutil_sleep_ms(1500);
    tmuxutil_key_until(f, "a", "Space", "RUNNING");
    tmuxutil_mark(f, "a", "e", 4);
    t_after_pause = tmuxutil_wall_ms();
    tmuxutil_mark(f, "a", "p", 5);
    tmuxutil_key_until(f, "a", "n", "Note on praise");
    tmuxutil_text(f, "a", "asked about the CFO – café");
    tmuxutil_key_until(f, "a", "Enter", "\"asked about the CFO");
    tmuxutil_mark(f, "a", "s", 6);
    tmuxutil_mark(f, "a", "t", 7);
    tmuxutil_key_until(f, "a", "u", "undone: manager took over");
    tmuxutil_wait_markers(f, "a", 6);
    tmuxutil_mark(f, "a", "a", 7);
    testutil_sleep_ms(200);

    tmuxutil_end_live(f, "a");
    for (size_t i = 0; i < 10; i++) {
        char k[2] = {scores[i] == 0 ? 'x' : (char)('0' + scores[i]), '\0'};
        char want[32];

        tmuxutil_keys(f, "a", k);
        if (scores[i] == 1 || scores[i] == 4) {
            /* The rubric wants evidence for 1 and 4: the UI asks at once. */
            tmuxutil_wait_for(f, "a", "Evidence for ", s, sizeof(s));
            tmuxutil_text(f, "a",
                          scores[i] == 4 ? "rep set the agenda" : "manager gave the answers");
            tmuxutil_keys(f, "a", "Enter");
        }
        snprintf(want, sizeof(want), "%zu of 10 rated", i + 1);
        tmuxutil_wait_for(f, "a", want, s, sizeof(s));
    }
    tmuxutil_key_until(f, "a", "Enter", "AGREED ACTIONS");
    tmuxutil_keys(f, "a", "a");
    tmuxutil_wait_for(f, "a", "New agreed action", s, sizeof(s));
    tmuxutil_text(f, "a", "Rep calls the CFO before Friday");
    tmuxutil_key_until(f, "a", "Enter", "1 agreed action");
    tmuxutil_key_until(f, "a", "Enter", "REVIEW");
    tmuxutil_wait_for(f, "a", "ready to submit", s, sizeof(s));
    assert_non_null(strstr(s, "ask : tell 2 : 1"));
    tmuxutil_key_until(f, "a", "s", "STORED");
    tmuxutil_keys(f, "a", "x");
    assert_int_equal(tmuxutil_wait_exit(f, "a"), 0);
    tmuxutil_wait_for(f, "a", "stored: ", s, sizeof(s));
    tmuxutil_assert_no_sanitizer_report(f);

    rec = tmuxutil_the_stored(f);
    o = rec->observation;
    assert_string_equal(rec->observer_id, "obs.ann");
    assert_string_equal(o->rubric_id, "coaching-conversation");
    assert_int_equal(o->rubric_version, 1);
    assert_string_equal(o->coach_id, "flm.cara");
    assert_string_equal(o->coachee_id, "rep.ida");
    assert_int_equal(o->session_type, COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW);
    assert_int_equal(o->focus, COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_PROCESS);
    assert_in_range(o->started_at, t_start - 2, t_start + 10);
    /* The markers, in order, with offsets that grow and sit inside the
     * session; the paused time is not counted. */
    assert_int_equal(o->n_markers, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(o->markers[i]->kind, kinds[i]);
        assert_true(o->markers[i]->offset_ms <= o->duration_s * 1000u);
        if (i > 0) {
            assert_true(o->markers[i]->offset_ms >= o->markers[i - 1]->offset_ms);
        }
    }
    assert_true(o->markers[1]->offset_ms - o->markers[0]->offset_ms >= 250);
    assert_true((int64_t)(o->markers[3]->offset_ms - o->markers[2]->offset_ms) <
                (t_after_pause - t_before_pause) - 1000);
    assert_string_equal(o->markers[4]->note, "asked about the CFO – café");
    assert_string_equal(o->markers[0]->note, "");
    assert_true(o->duration_s >= 1 && o->duration_s < 120);
    /* The scores typed, with the evidence. */
    assert_int_equal(o->n_ratings, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_string_equal(o->ratings[i]->behaviour_id, testutil_behaviours[i]);
        assert_int_equal(o->ratings[i]->score, scores[i]);
        assert_int_equal(o->ratings[i]->not_applicable, scores[i] == 0);
    }
    assert_string_equal(o->ratings[0]->evidence, "rep set the agenda");
    assert_string_equal(o->ratings[5]->evidence, "manager gave the answers");
    assert_string_equal(o->ratings[1]->evidence, "");
    assert_int_equal(o->n_actions, 1);
    assert_string_equal(o->actions[0]->text, "Rep calls the CFO before Friday");
    coachq__v1__stored_observation__free_unpacked(rec, NULL);

    check_nothing_left(f);
}

/* ---- (c) Evidence the rubric requires ---------------------------------- */

static void test_evidence_required(void **state)
{
    struct tmuxutil *f = *state;
    Coachq__V1__LocalSession *saved;
    char s[TMUXUTIL_SCREEN_MAX];

    tmuxutil_need_tmux(f);
    tmuxutil_ui_start(f, "c", "", TMUXUTIL_PRESET, 0);
    tmuxutil_wait_for(f, "c", "RUNNING", s, sizeof(s));
    tmuxutil_mark(f, "c", "o", 1);
    tmuxutil_end_live(f, "c");
    tmuxutil_keys(f, "c", "4");
    tmuxutil_wait_for(f, "c", "Evidence for Collaborative (required for a 4)", s, sizeof(s));
    tmuxutil_key_until(f, "c", "Escape", "not changed");
    for (int i = 0; i < 9; i++) {
        tmuxutil_keys(f, "c", "3");
    }
    tmuxutil_wait_for(f, "c", "10 of 10 rated", s, sizeof(s));
    assert_non_null(strstr(s, "evidence needed (v)"));

    /* Finishing is refused, naming the behaviour, twice. */
    tmuxutil_key_until(f, "c", "Enter", "Collaborative needs evidence for a score of 4");
    tmuxutil_screen(f, "c", s, sizeof(s));
    assert_non_null(strstr(s, "coachq observe  RATING"));
    tmuxutil_keys(f, "c", "Enter");
    testutil_sleep_ms(300);
    tmuxutil_screen(f, "c", s, sizeof(s));
    assert_non_null(strstr(s, "Collaborative needs evidence for a score of 4"));
    assert_null(strstr(s, "AGREED ACTIONS"));

    /* The refusal put the cursor on the behaviour: v writes its evidence. */
    tmuxutil_key_until(f, "c", "v", "Evidence for Collaborative");
    tmuxutil_text(f, "c", "rep led the agenda");
    tmuxutil_key_until(f, "c", "Enter", "evidence saved");
    tmuxutil_key_until(f, "c", "Enter", "AGREED ACTIONS");

    /* Quit keeps everything for --resume. */
    tmuxutil_key_until(f, "c", "q",
                       "quit? the session is saved; coachq observe --resume continues it");
    tmuxutil_keys(f, "c", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "c"), 1);
    tmuxutil_wait_for(f, "c", "quit: the session is saved", s, sizeof(s));
    tmuxutil_assert_no_sanitizer_report(f);
    saved = tmuxutil_saved_session(f);
    assert_int_equal(saved->phase, 4); /* the agreed actions */
    assert_int_equal(saved->draft->n_ratings, 10);
    assert_int_equal(saved->draft->ratings[0]->score, 4);
    assert_string_equal(saved->draft->ratings[0]->evidence, "rep led the agenda");
    assert_int_equal(saved->draft->ratings[9]->score, 3);
    assert_int_equal(saved->draft->n_markers, 1);
    coachq__v1__local_session__free_unpacked(saved, NULL);
}

/* ---- (d) Setup pickers, layout, resizing, keys, colour ------------------ */

/* Whether captured output (with -e) sets a foreground or background
 * colour: SGR parameters 30-37, 40-47, 90-97, 100-107, 38 or 48. */
static int has_colour(const char *s)
{
    for (const char *p = strstr(s, "\033["); p != NULL; p = strstr(p + 1, "\033[")) {
        const char *q = p + 2;

        while (*q >= '0' && *q <= '9') {
            char *end;
            long v = strtol(q, &end, 10);

            if ((v >= 30 && v <= 38) || (v >= 40 && v <= 48) || (v >= 90 && v <= 97) ||
                (v >= 100 && v <= 107)) {
                if (*end == 'm' || *end == ';') {
                    return 1;
                }
            }
            q = *end == ';' ? end + 1 : end;
        }
    }
    return 0;
}

static void test_layout(void **state)
{
    struct tmuxutil *f = *state;
    Coachq__V1__LocalSession *saved;
    char s[TMUXUTIL_SCREEN_MAX], line[512];

    tmuxutil_need_tmux(f);
    tmuxutil_ui_start(f, "d", "",
                      "--rubric coaching-conversation --type deal_review --focus process", 0);
    /* The setup asks for what no option gave: coach, then coachee, found
     * by typing. */
    tmuxutil_wait_for(f, "d", "Choose the coach", s, sizeof(s));
    tmuxutil_text(f, "d", "flm.cara");
    tmuxutil_keys(f, "d", "Enter");
    tmuxutil_wait_for(f, "d", "Choose the coachee", s, sizeof(s));
    assert_non_null(strstr(s, "flm.cara"));
    tmuxutil_text(f, "d", "rep.ida");
    tmuxutil_keys(f, "d", "Enter");
    /* Last, live or a recording (test_observe_recording): live first. */
    tmuxutil_wait_for(f, "d", "Observed live, or from a recording?", s, sizeof(s));
    tmuxutil_keys(f, "d", "Enter");
    tmuxutil_wait_for(f, "d", "RUNNING", s, sizeof(s));

    /* 80x24: the title on the first line, the keys on the 23rd. */
    tmuxutil_line_of(s, 0, line, sizeof(line));
    assert_non_null(strstr(line, "coachq observe  LIVE"));
    tmuxutil_wait_line(f, "d", 22, "? keys  q quit");
    tmuxutil_line_of(s, 2, line, sizeof(line));
    assert_non_null(strstr(line, "flm.cara"));
    assert_non_null(strstr(line, "rep.ida"));

    /* Bigger: laid out anew for 100x30. */
    tmuxutil_tmux(f, NULL, 0, "resize-window", "-t", "d", "-x", "100", "-y", "30", NULL);
    tmuxutil_wait_line(f, "d", 28, "? keys  q quit");
    tmuxutil_screen(f, "d", s, sizeof(s));
    tmuxutil_line_of(s, 0, line, sizeof(line));
    assert_true(strlen(line) > 85); /* the clock moved to the right edge */
    tmuxutil_line_of(s, 22, line, sizeof(line));
    assert_null(strstr(line, "q quit"));

    /* Too small even for the compact live layout (test_observe_live): a
     * message instead of a broken layout, and marker keys do nothing the
     * observer cannot see. */
    tmuxutil_tmux(f, NULL, 0, "resize-window", "-t", "d", "-x", "36", "-y", "10", NULL);
    tmuxutil_wait_joined(f, "d", "needs a terminal of at least 40x12", s, sizeof(s));
    tmuxutil_keys(f, "d", "o");
    testutil_sleep_ms(200);

    /* And back to 80x24. */
    tmuxutil_tmux(f, NULL, 0, "resize-window", "-t", "d", "-x", "80", "-y", "24", NULL);
    tmuxutil_wait_line(f, "d", 22, "? keys  q quit");
    tmuxutil_wait_line(f, "d", 0, "LIVE");
    tmuxutil_wait_markers(f, "d", 0);

    /* '?' shows the keys; ? closes them without marking (a marker key
     * closes them and marks: test_observe_live). */
    tmuxutil_key_until(f, "d", "?", "undo the last marker");
    tmuxutil_screen(f, "d", s, sizeof(s));
    assert_non_null(strstr(s, "KEYS"));
    assert_non_null(strstr(s, "pause or resume the clock"));
    assert_non_null(strstr(s, "o  open question"));
    tmuxutil_keys(f, "d", "?");
    tmuxutil_wait_line(f, "d", 0, "LIVE");
    tmuxutil_wait_markers(f, "d", 0);

    /* Colours: the terminal has them and NO_COLOR is unset. */
    tmuxutil_tmux(f, s, sizeof(s), "capture-pane", "-e", "-p", "-t", "d", NULL);
    assert_true(has_colour(s));
    tmuxutil_key_until(f, "d", "q", "quit?");
    tmuxutil_keys(f, "d", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "d"), 1);

    /* The setup's answers were journaled. */
    saved = tmuxutil_saved_session(f);
    assert_string_equal(saved->draft->coach_id, "flm.cara");
    assert_string_equal(saved->draft->coachee_id, "rep.ida");
    assert_int_equal(saved->phase, 2); /* live */
    coachq__v1__local_session__free_unpacked(saved, NULL);

    /* NO_COLOR: the same screen without a single colour. */
    tmuxutil_ui_start(f, "d2", "NO_COLOR=1", "--resume", 0);
    tmuxutil_wait_for(f, "d2", "RUNNING", s, sizeof(s));
    tmuxutil_tmux(f, s, sizeof(s), "capture-pane", "-e", "-p", "-t", "d2", NULL);
    assert_false(has_colour(s));
    assert_non_null(strstr(s, "\033[7m")); /* the title bar is reverse video instead */
    tmuxutil_key_until(f, "d2", "q", "quit?");
    tmuxutil_keys(f, "d2", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "d2"), 1);
    tmuxutil_assert_no_sanitizer_report(f);
}

/* ---- (e) Amend through the UI ------------------------------------------- */

/* On the server: the original, superseded, then the amendment (new_id)
 * under its own id, with only behaviour 3's score changed from t's. */
static void check_amended(struct client *c, const struct testutil_obs *t,
                          const uint8_t new_id[UUID_LEN])
{
    struct client_error e;
    Coachq__V1__ObservationHistory *h = NULL;
    Coachq__V1__StoredObservation *orig = NULL;
    const Coachq__V1__StoredObservation *v1, *v2;

    assert_int_equal(client_history(c, t->id, &h, &e), 0);
    assert_int_equal(h->n_versions, 2);
    v1 = h->versions[0];
    v2 = h->versions[1];
    assert_true(v1->superseded);
    assert_false(v2->superseded);
    assert_int_equal(v1->version, 1);
    assert_int_equal(v2->version, 2);
    assert_string_equal(v2->observer_id, "obs.ann");
    assert_int_equal(v1->observation->id.len, UUID_LEN);
    assert_memory_equal(v1->observation->id.data, t->id, UUID_LEN);
    assert_int_equal(v2->root_id.len, UUID_LEN);
    assert_memory_equal(v2->root_id.data, t->id, UUID_LEN);
    assert_int_equal(v2->observation->amends.len, UUID_LEN);
    assert_memory_equal(v2->observation->amends.data, t->id, UUID_LEN);
    assert_int_equal(v2->observation->id.len, UUID_LEN);
    assert_memory_not_equal(v2->observation->id.data, t->id, UUID_LEN);
    assert_memory_equal(v2->observation->id.data, new_id, UUID_LEN);
    assert_string_equal(v2->observation->coachee_id, "rep.ida");
    assert_int_equal(v2->observation->started_at, t->o.started_at);
    assert_int_equal(v2->observation->duration_s, t->o.duration_s);
    assert_int_equal(v1->observation->n_ratings, 10);
    assert_int_equal(v2->observation->n_ratings, 10);
    for (size_t i = 0; i < 10; i++) {
        const Coachq__V1__Rating *r1 = v1->observation->ratings[i];
        const Coachq__V1__Rating *r2 = v2->observation->ratings[i];

        assert_string_equal(r1->behaviour_id, testutil_behaviours[i]);
        assert_string_equal(r2->behaviour_id, testutil_behaviours[i]);
        assert_int_equal(r1->score, t->r[i].score);
        assert_int_equal(r2->score, i == 2 ? 3 : t->r[i].score);
        assert_false(r2->not_applicable);
    }
    coachq__v1__observation_history__free_unpacked(h, NULL);
    assert_int_equal(client_get(c, t->id, &orig, &e), 0);
    assert_true(orig->superseded);
    assert_int_equal(orig->version, 1);
    coachq__v1__stored_observation__free_unpacked(orig, NULL);
}

static void test_amend(void **state)
{
    struct tmuxutil *f = *state;
    struct testutil_obs t;
    Coachq__V1__Observation *obs[1] = {&t.o};
    struct client_submit_result res;
    struct client *c;
    char id[UUID_STR_LEN], printed[UUID_STR_LEN], args[128], other_local[700], want[256];
    char s[TMUXUTIL_SCREEN_MAX], line[512];
    uint8_t new_id[UUID_LEN];
    const char *p;

    tmuxutil_need_tmux(f);
    testutil_obs_make(&t, "flm.cara", "rep.ida", (int64_t)time(NULL) - 2 * 86400);
    c = testutil_connect(&f->srv, "obs.ann", 0);
    memset(&res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, obs, 1, &res, NULL, NULL), 0);
    assert_int_equal(res.err.code, COACHQ__V1__CODE__OK);
    assert_int_equal(res.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
    assert_int_equal(res.version, 1);
    uuid_format(t.id, id);
    snprintf(args, sizeof(args), "amend %s", id);

    /* The amendment opens at the ratings with the stored scores (2 for
     * behaviours 1, 3, 5..., 3 for the others). */
    tmuxutil_ui_run(f, "e", "obs.ann", f->local, "", args, 0);
    tmuxutil_wait_for(f, "e", "10 of 10 rated", s, sizeof(s));
    tmuxutil_line_of(s, 0, line, sizeof(line));
    assert_non_null(strstr(line, "RATING"));
    tmuxutil_wait_line(f, "e", 4, "> 1 Collaborative");
    tmuxutil_screen(f, "e", s, sizeof(s));
    tmuxutil_line_of(s, 4, line, sizeof(line));
    assert_non_null(strstr(line, "2 developing"));

    /* Behaviour 3 goes from 2 to 3; the cursor then moves to 4. */
    tmuxutil_keys(f, "e", "j");
    tmuxutil_keys(f, "e", "j");
    tmuxutil_wait_line(f, "e", 6, "> 3 Consistent framework");
    tmuxutil_screen(f, "e", s, sizeof(s));
    tmuxutil_line_of(s, 6, line, sizeof(line));
    assert_non_null(strstr(line, "2 developing"));
    tmuxutil_key_until(f, "e", "3", "Consistent framework: 3 proficient");
    tmuxutil_wait_line(f, "e", 7, "> 4 Buyer's view");
    tmuxutil_screen(f, "e", s, sizeof(s));
    tmuxutil_line_of(s, 6, line, sizeof(line));
    assert_non_null(strstr(line, "3 proficient"));

    tmuxutil_key_until(f, "e", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "e", "Enter", "ready to submit");
    tmuxutil_screen(f, "e", s, sizeof(s));
    tmuxutil_line_of(s, 0, line, sizeof(line));
    assert_non_null(strstr(line, "REVIEW"));
    assert_non_null(strstr(line, "amendment"));
    tmuxutil_key_until(f, "e", "s", "STORED");
    tmuxutil_screen(f, "e", s, sizeof(s));
    assert_non_null(strstr(s, "version 2)"));
    tmuxutil_keys(f, "e", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "e"), 0);
    tmuxutil_wait_for(f, "e", "stored: ", s, sizeof(s));
    p = strstr(s, "stored: ") + strlen("stored: ");
    snprintf(printed, sizeof(printed), "%.36s", p);
    assert_int_equal(uuid_parse(printed, new_id), 0);
    assert_non_null(strstr(p, ", version 2)"));
    tmuxutil_assert_no_sanitizer_report(f);

    check_amended(c, &t, new_id);

    /* Another observer may not amend it, nor even read it: the server
     * answers bob as if there were no such record, and the CLI stops
     * before any UI (a UI would wait for keys, and tmuxutil_wait_exit() would time
     * out). */
    snprintf(other_local, sizeof(other_local), "%s/bob", f->dir);
    tmuxutil_ui_run(f, "e2", "bob", other_local, "", args, 0);
    assert_int_equal(tmuxutil_wait_exit(f, "e2"), 1);
    tmuxutil_wait_for(
        f, "e2", "coachq amend: NOT_FOUND get.id: no observation with this id that you may read", s,
        sizeof(s));
    /* The enablement lead may read every record, but amending stays its
     * observer's: the CLI's own check refuses. */
    snprintf(other_local, sizeof(other_local), "%s/lead", f->dir);
    tmuxutil_ui_run(f, "e3", "lead.gil", other_local, "", args, 0);
    assert_int_equal(tmuxutil_wait_exit(f, "e3"), 1);
    tmuxutil_wait_for(f, "e3", "only its observer may amend it", s, sizeof(s));
    /* The whole message, its wrapped lines joined. */
    tmuxutil_tmux(f, s, sizeof(s), "capture-pane", "-J", "-p", "-t", "e3", NULL);
    snprintf(want, sizeof(want),
             "coachq amend: %s was observed by obs.ann, not by you (lead.gil): only its "
             "observer may amend it",
             id);
    assert_non_null(strstr(s, want));
    tmuxutil_assert_no_sanitizer_report(f);
    client_free(c);
}

/* ---- (i) A disabled user -------------------------------------------------- */

/* Issue 10, point 18: a disabled user read as "server unreachable". The
 * screen now names the server's refusal, at submit and at start-up. */
static void test_disabled_user(void **state)
{
    struct tmuxutil *f = *state;
    char s[TMUXUTIL_SCREEN_MAX], j[TMUXUTIL_SCREEN_MAX], out[4096];

    tmuxutil_need_tmux(f);
    tmuxutil_ui_start(f, "i", "", TMUXUTIL_PRESET, 0);
    tmuxutil_wait_for(f, "i", "RUNNING", s, sizeof(s));
    tmuxutil_end_live(f, "i");
    for (int i = 0; i < 10; i++) {
        tmuxutil_keys(f, "i", "3");
    }
    tmuxutil_wait_for(f, "i", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "i", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "i", "Enter", "ready to submit");
    testutil_coachqd(out, sizeof(out), 0, "user", "disable", "--data", f->data, "obs.ann", NULL);
    tmuxutil_keys(f, "i", "s");
    tmuxutil_wait_joined(
        f, "i",
        "QUEUED: the server refused you (the server refused you: user 'obs.ann' is "
        "disabled (PERMISSION_DENIED)).",
        j, sizeof(j));
    assert_null(strstr(j, "could not be reached"));
    tmuxutil_keys(f, "i", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "i"), 0);

    /* At start-up: the session starts from the caches, and says why it is
     * not connected. */
    tmuxutil_ui_start(f, "i2", "", TMUXUTIL_PRESET, 0);
    tmuxutil_wait_joined(f, "i2",
                         "not connected: the server refused you: user 'obs.ann' is disabled "
                         "(PERMISSION_DENIED)",
                         j, sizeof(j));
    assert_null(strstr(j, "offline"));
    tmuxutil_key_until(f, "i2", "q", "quit?");
    tmuxutil_keys(f, "i2", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "i2"), 1);
    tmuxutil_assert_no_sanitizer_report(f);
}

/* ---- (j) Messages that fit ----------------------------------------------- */

/* The rows a message needs in the UI's footer, wrapped at width columns
 * (ASCII: one byte, one column), as the UI's word wrap does it. */
static int rows_needed(const char *m, int width)
{
    size_t n = strlen(m), i = 0;
    int rows = 0;

    while (i < n) {
        size_t start, brk = 0, e;

        while (i < n && m[i] == ' ') {
            i++;
        }
        if (i >= n) {
            break;
        }
        start = i;
        e = i;
        while (e < n && (int)(e - start) < width) {
            if (m[e] == ' ') {
                brk = e;
            }
            e++;
        }
        if (e < n && brk > start) {
            e = brk;
        }
        rows++;
        i = e;
    }
    return rows;
}

/* The sources of the observe UI (client/observe.c, observe_draw.c,
 * observe_keys.c, observe_edit.c and the session model, session.c), one
 * after the other,
 * read from next to this test (caller frees), or NULL when they are not
 * there. */
static char *read_ui_sources(void)
{
    static const char *const files[] = {"observe.c",      "observe_draw.c", "observe_keys.c",
                                        "observe_edit.c", "session.c",      "session_actions.c"};
    const char *slash = strrchr(__FILE__, '/');
    char path[1024], *src = NULL;
    size_t total = 0;

    assert_non_null(slash);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        FILE *fp;
        long len;

        snprintf(path, sizeof(path), "%.*s/../client/%s", (int)(slash - __FILE__), __FILE__,
                 files[i]);
        fp = fopen(path, "r");
        if (fp == NULL) {
            print_message("%s not found next to the test: the message table is not checked\n",
                          path);
            free(src);
            return NULL;
        }
        fseek(fp, 0, SEEK_END);
        len = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        src = realloc(src, total + (size_t)len + 1);
        assert_non_null(src);
        assert_int_equal(fread(src + total, 1, (size_t)len, fp), (size_t)len);
        total += (size_t)len;
        src[total] = '\0';
        fclose(fp);
    }
    return src;
}

/* Every say() format of the observe UI (session_say(ses, ...) in the
 * session model, session_say(ui->ses, ...) in the keys), its arguments at
 * their worst (an id or a server message of 120 characters, numbers of 10
 * digits), fits in the footer's rows: the footer wraps at 78 columns in
 * 80x24, up to 10 rows, one of them kept for the journal's warning; and
 * every question on the one modal row fits in 78 columns. Read from the
 * sources next to this test, so that a new message is checked too. */
static void check_message_table(void)
{
    static const char *const calls[] = {"say(ses, ", "say(ui->ses, "};
    char *src, *p;
    int n_say = 0, n_modal = 0;

    src = read_ui_sources();
    if (src == NULL) {
        return;
    }
    for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
        for (p = src; (p = strstr(p, calls[c])) != NULL; p++) {
            char fmt[2048], worst[4096];
            size_t o = 0, w = 0;
            const char *q = p + strlen(calls[c]);

            /* The literals concatenated, up to the first argument. */
            while (*q != '\0' && *q != ')') {
                if (*q == '"') {
                    for (q++; *q != '\0' && *q != '"'; q++) {
                        if (*q == '\\') {
                            q++;
                        }
                        if (o + 1 < sizeof(fmt)) {
                            fmt[o++] = *q;
                        }
                    }
                    q++;
                    continue;
                }
                if (*q == ',' && o > 0) {
                    break;
                }
                q++;
            }
            fmt[o] = '\0';
            if (o == 0 || strcmp(fmt, "%s") == 0) {
                continue; /* say(ui, warn, fmt, ...) itself, or a problem already checked */
            }
            for (size_t i = 0; fmt[i] != '\0' && w + 130 < sizeof(worst); i++) {
                if (fmt[i] != '%') {
                    worst[w++] = fmt[i];
                    continue;
                }
                i++;
                while (fmt[i] == 'l' || fmt[i] == 'z' || (fmt[i] >= '0' && fmt[i] <= '9')) {
                    i++;
                }
                if (fmt[i] == 's') {
                    for (int k = 0; k < 120; k++) {
                        worst[w++] = k % 12 == 11 ? ' ' : 'w';
                    }
                } else if (fmt[i] == '%') {
                    worst[w++] = '%';
                } else {
                    memcpy(worst + w, "4294967295", 10);
                    w += 10;
                }
            }
            worst[w] = '\0';
            if (rows_needed(worst, 78) > 9) {
                fail_msg("a status message needs %d rows at 80x24: \"%s\"", rows_needed(worst, 78),
                         fmt);
            }
            n_say++;
        }
    }
    /* The questions on the modal row: "q = ..." and each "quit? ...". */
    for (p = src; (p = strstr(p, "\"")) != NULL; p++) {
        const char *e = strchr(p + 1, '"');
        int modal = strncmp(p + 1, "quit? ", 6) == 0;

        for (const char *b = p - 1; b > src && b > p - 8 && !modal; b--) {
            modal = strncmp(b, "q = ", 4) == 0;
        }
        if (e == NULL) {
            break;
        }
        if (modal && (int)(e - (p + 1)) > 78) {
            fail_msg("a modal question is longer than 78 columns: %.*s", (int)(e - (p + 1)), p + 1);
        }
        n_modal += modal;
        p = (char *)e;
    }
    /* The discard question, with the most that can be typed (11 characters). */
    p = strstr(src, "\"not saved: type %s, Enter to quit and lose it; Esc stays: %s_\"");
    assert_non_null(p);
    assert_true(strlen("not saved: type discard, Enter to quit and lose it; Esc stays: _") + 11 <=
                78);
    free(src);
    /* The scan found the table (a rewrite of say() must update this test). */
    assert_true(n_say > 30);
    assert_true(n_modal >= 3);
}

/* Issue 10, point 18: status lines were cut at 80x24 ("...say what you sa",
 * "(is coachqd runn"). Every message now fits or wraps, and the whole of
 * each shows. */
static void test_messages_fit(void **state)
{
    struct tmuxutil *f = *state;
    char s[TMUXUTIL_SCREEN_MAX], j[TMUXUTIL_SCREEN_MAX], want[256];

    check_message_table();
    tmuxutil_need_tmux(f);
    tmuxutil_ui_start(f, "j", "", TMUXUTIL_PRESET, 0);
    tmuxutil_wait_for(f, "j", "RUNNING", s, sizeof(s));
    tmuxutil_end_live(f, "j");
    for (int i = 0; i < 10; i++) {
        tmuxutil_keys(f, "j", i == 5 ? "4" : "3");
        if (i == 5) {
            tmuxutil_wait_for(f, "j", "Evidence for Elicits critical thinking", s, sizeof(s));
            tmuxutil_key_until(f, "j", "Escape", "not changed");
        }
    }
    tmuxutil_wait_for(f, "j", "10 of 10 rated", s, sizeof(s));
    tmuxutil_keys(f, "j", "Enter");
    tmuxutil_wait_joined(
        f, "j",
        "Elicits critical thinking needs evidence for a score of 4: press v and say what "
        "you saw",
        j, sizeof(j));
    tmuxutil_key_until(f, "j", "q", "quit?");
    tmuxutil_keys(f, "j", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "j"), 1);

    /* The server is down: the whole reason shows, wrapped. */
    snprintf(want, sizeof(want),
             "offline: cannot connect to 127.0.0.1:%d: Connection refused (is coachqd running "
             "there? check --server)",
             f->srv.port);
    assert_true(testutil_server_stop(&f->srv, SIGKILL) != -1);
    tmuxutil_ui_start(f, "j2", "", "--resume", 0);
    tmuxutil_wait_joined(f, "j2", want, j, sizeof(j));
    tmuxutil_key_until(f, "j2", "q", "quit?");
    tmuxutil_keys(f, "j2", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "j2"), 1);
    tmuxutil_assert_no_sanitizer_report(f);
}

/* ---- (k) Agreed actions followed up in the next session ------------------ */

/* What `coachq CMD ARG1 ARG2 --json` printed as user, parsed, or fails.
 * Returns a new reference. */
static json_t *coachq_json(struct tmuxutil *f, const char *user, const char *cmd, const char *arg1,
                           const char *arg2)
{
    char cert[600], key[600], ca[600], server[64], local[700], rel[64];
    char *out = malloc(1u << 20);
    json_error_t jerr;
    json_t *j;

    assert_non_null(out);
    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    testutil_cert_path(cert, sizeof(cert), rel);
    snprintf(rel, sizeof(rel), "users/%s.key", user);
    testutil_cert_path(key, sizeof(key), rel);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    snprintf(server, sizeof(server), "127.0.0.1:%d", f->srv.port);
    snprintf(local, sizeof(local), "%s/cli-%s", f->dir, user);
    testutil_coachq(out, 1u << 20, 0, "--server", server, "--cert", cert, "--key", key, "--ca", ca,
                    "--data-dir", local, cmd, arg1, arg2, "--json", NULL);
    j = json_loads(out, 0, &jerr);
    if (j == NULL) {
        fail_msg("coachq %s %s %s --json printed no JSON: %s", cmd, arg1, arg2, out);
    }
    free(out);
    return j;
}

/* The record of `coachq actions --coach flm.cara --json` (as obs.ann)
 * whose text is text, or fails. Returns a new reference. */
static json_t *action_json(struct tmuxutil *f, const char *text)
{
    json_t *arr = coachq_json(f, "obs.ann", "actions", "--coach", "flm.cara");
    json_t *hit = NULL;
    size_t i;
    json_t *v;

    if (!json_is_array(arr)) {
        fail_msg("coachq actions --json printed no array");
    }
    json_array_foreach(arr, i, v)
    {
        if (json_is_string(json_object_get(v, "text")) &&
            strcmp(json_string_value(json_object_get(v, "text")), text) == 0) {
            hit = json_incref(v);
        }
    }
    if (hit == NULL) {
        fail_msg("no action \"%s\" in coachq actions --json", text);
    }
    json_decref(arr);
    return hit;
}

/* Cell col of the first row of table id in dashboard j, or fails. */
static json_t *dash_cell(json_t *j, const char *id, const char *col)
{
    json_t *tables = json_object_get(j, "tables");

    for (size_t i = 0; i < json_array_size(tables); i++) {
        json_t *t = json_array_get(tables, i);
        json_t *cols = json_object_get(t, "columns");

        if (strcmp(json_string_value(json_object_get(t, "id")), id) != 0) {
            continue;
        }
        for (size_t c = 0; c < json_array_size(cols); c++) {
            if (strcmp(json_string_value(json_array_get(cols, c)), col) == 0) {
                return json_array_get(json_array_get(json_object_get(t, "rows"), 0), c);
            }
        }
    }
    fail_msg("no column \"%s\" in table %s", col, id);
    return NULL;
}

static void test_follow_up(void **state)
{
    struct tmuxutil *f = *state;
    static const char *const text = "Rep practises the opener";
    Coachq__V1__StoredObservation *rec;
    const Coachq__V1__Action *a;
    char s[TMUXUTIL_SCREEN_MAX], j[TMUXUTIL_SCREEN_MAX], day[16], want[256];
    char other_local[700], b_local[700], s2_id[UUID_STR_LEN];
    Coachq__V1__LocalSession *saved;
    int dead, status;
    long pid;
    int64_t today = (int64_t)time(NULL) / 86400;
    int64_t t1;
    json_t *r, *h;

    tmuxutil_need_tmux(f);
    /* Session 1 agrees an action with every field. */
    tmuxutil_ui_start(f, "k", "", TMUXUTIL_PRESET, 0);
    tmuxutil_wait_for(f, "k", "RUNNING", s, sizeof(s));
    tmuxutil_end_live(f, "k");
    for (int i = 0; i < 10; i++) {
        tmuxutil_keys(f, "k", "3");
    }
    tmuxutil_wait_for(f, "k", "10 of 10 rated", s, sizeof(s));
    /* No open action of this pair yet: straight to the agreed actions. */
    tmuxutil_key_until(f, "k", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "k", "a", "New agreed action");
    tmuxutil_text(f, "k", text);
    tmuxutil_key_until(f, "k", "Enter", "1 agreed action");
    tmuxutil_key_until(f, "k", "u", "Due date (YYYY-MM-DD");
    /* Two days before: before the session in every zone (the day before
     * is only warned about, as it is the session's day west of UTC). */
    day_format(today - 2, day, sizeof(day));
    tmuxutil_text(f, "k", day);
    tmuxutil_keys(f, "k", "Enter");
    snprintf(want, sizeof(want), "actions[0].due_day: %s is before the session", day);
    tmuxutil_wait_joined(f, "k", want, j, sizeof(j));
    tmuxutil_keys(f, "k", "C-u");
    day_format(today + 7, day, sizeof(day));
    tmuxutil_text(f, "k", day);
    snprintf(want, sizeof(want), "action 1 is due on %s", day);
    tmuxutil_key_until(f, "k", "Enter", want);
    tmuxutil_key_until(f, "k", "f", "Focus behaviours of action 1");
    tmuxutil_key_until(f, "k", "Space", "action 1 serves collaborative");
    tmuxutil_keys(f, "k", "j");
    tmuxutil_key_until(f, "k", "Space", "action 1 serves regular-cadence");
    tmuxutil_keys(f, "k", "j");
    tmuxutil_keys(f, "k", "Space");
    tmuxutil_wait_joined(f, "k", "an action serves one or two focus areas", j, sizeof(j));
    tmuxutil_key_until(f, "k", "f", "focus collaborative, regular-cadence");
    tmuxutil_key_until(f, "k", "o", "the manager's to do");
    tmuxutil_wait_for(f, "k", "owner manager", s, sizeof(s));
    tmuxutil_key_until(f, "k", "Enter", "ready to submit");
    tmuxutil_key_until(f, "k", "s", "STORED");
    tmuxutil_keys(f, "k", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "k"), 0);
    rec = tmuxutil_the_stored(f);
    t1 = rec->observation->started_at;
    assert_int_equal(rec->observation->n_actions, 1);
    a = rec->observation->actions[0];
    assert_string_equal(a->text, text);
    assert_int_equal(a->id.len, 16);
    assert_int_equal(a->owner, COACHQ__V1__ACTION_OWNER__ACTION_OWNER_MANAGER);
    assert_int_equal(a->due_day, (uint32_t)(today + 7));
    assert_int_equal(a->n_focus_behaviours, 2);
    assert_string_equal(a->focus_behaviours[0], "collaborative");
    assert_string_equal(a->focus_behaviours[1], "regular-cadence");
    coachq__v1__stored_observation__free_unpacked(rec, NULL);

    /* Another pair (the same coach, another rep) does not see it. */
    snprintf(other_local, sizeof(other_local), "%s/other", f->dir);
    tmuxutil_ui_run(f, "k2", "obs.ann", other_local, "",
                    "observe --rubric coaching-conversation --coach flm.cara --coachee rep.lou "
                    "--type deal_review",
                    0);
    tmuxutil_wait_for(f, "k2", "Open actions of this pair: 0", s, sizeof(s));
    assert_null(strstr(s, text));
    tmuxutil_key_until(f, "k2", "C-c", "quit?");
    tmuxutil_keys(f, "k2", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "k2"), 1);

    /* Session B of the same pair, on another machine, says "not done" and
     * is left before it is submitted. */
    snprintf(b_local, sizeof(b_local), "%s/b", f->dir);
    /* Starts are whole seconds, and only a later session may follow an
     * action up: on a quick run session 1 can still be in its second. */
    while ((int64_t)time(NULL) <= t1) {
        testutil_sleep_ms(50);
    }
    tmuxutil_ui_run(f, "kb", "obs.ann", b_local, "", "observe " TMUXUTIL_PRESET, 0);
    tmuxutil_wait_for(f, "kb", "RUNNING", s, sizeof(s));
    tmuxutil_end_live(f, "kb");
    for (int i = 0; i < 10; i++) {
        tmuxutil_keys(f, "kb", "3");
    }
    tmuxutil_wait_for(f, "kb", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "kb", "Enter", "FOLLOW-UP");
    tmuxutil_key_until(f, "kb", "n", "Evidence (what showed it)");
    tmuxutil_key_until(f, "kb", "Escape", "not changed");
    tmuxutil_wait_for(f, "kb", "-> not done at", s, sizeof(s));
    tmuxutil_key_until(f, "kb", "q", "quit?");
    tmuxutil_keys(f, "kb", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "kb"), 1);

    /* Session 2 of the same pair: the action at setup and in the rating
     * phase, then followed up. */
    tmuxutil_ui_start(f, "k3", "",
                      "--rubric coaching-conversation --coach flm.cara --coachee rep.ida --type "
                      "deal_review",
                      1);
    tmuxutil_wait_for(f, "k3", "Open actions of this pair: 1", s, sizeof(s));
    assert_non_null(strstr(s, text));
    tmuxutil_key_until(f, "k3", "Enter", "Observed live, or from a recording?");
    tmuxutil_key_until(f, "k3", "Enter", "RUNNING");
    tmuxutil_end_live(f, "k3");
    tmuxutil_wait_for(f, "k3", "Open actions 1, followed up next", s, sizeof(s));
    for (int i = 0; i < 10; i++) {
        tmuxutil_keys(f, "k3", "3");
    }
    tmuxutil_wait_for(f, "k3", "10 of 10 rated", s, sizeof(s));
    tmuxutil_key_until(f, "k3", "Enter", "FOLLOW-UP");
    tmuxutil_wait_for(f, "k3", "not followed up", s, sizeof(s));
    assert_non_null(strstr(s, text));
    tmuxutil_key_until(f, "k3", "d", "Evidence (what showed it)");
    tmuxutil_text(f, "k3", "practised the opener on two calls");
    tmuxutil_key_until(f, "k3", "Enter", "follow-up evidence saved");
    tmuxutil_wait_for(f, "k3", "-> done at", s, sizeof(s));
    /* A crash (SIGKILL; the pane runs coachq itself), then --resume: the
     * journal kept the follow-up. */
    tmuxutil_pane_state(f, "k3", &dead, &status, &pid);
    assert_int_equal(dead, 0);
    assert_true(pid > 1);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    for (int i = 0; i < 200 && !dead; i++) {
        testutil_sleep_ms(25);
        tmuxutil_pane_state(f, "k3", &dead, &status, &pid);
    }
    assert_int_equal(dead, 1);
    saved = tmuxutil_saved_session(f);
    assert_int_equal(saved->phase, 6); /* the follow-up step */
    assert_int_equal(saved->draft->n_follow_ups, 1);
    assert_int_equal(saved->draft->follow_ups[0]->status,
                     COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE);
    assert_string_equal(saved->draft->follow_ups[0]->evidence, "practised the opener on two calls");
    coachq__v1__local_session__free_unpacked(saved, NULL);
    tmuxutil_ui_start(f, "k4", "", "--resume", 0);
    tmuxutil_wait_for(f, "k4", "FOLLOW-UP", s, sizeof(s));
    tmuxutil_wait_for(f, "k4", "-> done at", s, sizeof(s));
    assert_non_null(strstr(s, "evidence: practised the opener on two calls"));
    assert_non_null(strstr(s, text));
    tmuxutil_key_until(f, "k4", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "k4", "Enter", "ready to submit");
    tmuxutil_wait_for(f, "k4", "Follow-ups 1", s, sizeof(s));
    tmuxutil_key_until(f, "k4", "s", "STORED");
    tmuxutil_keys(f, "k4", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "k4"), 0);
    tmuxutil_wait_for(f, "k4", "stored: ", s, sizeof(s));
    snprintf(s2_id, sizeof(s2_id), "%.36s", strstr(s, "stored: ") + strlen("stored: "));
    tmuxutil_assert_no_sanitizer_report(f);

    /* Session B resumed: its "not done" would take the action back from
     * done, which the server refuses; b goes to the follow-up it names,
     * and done is accepted. */
    tmuxutil_ui_run(f, "kb2", "obs.ann", b_local, "", "observe --resume", 0);
    tmuxutil_wait_for(f, "kb2", "-> not done at", s, sizeof(s));
    assert_non_null(strstr(s, text));
    tmuxutil_key_until(f, "kb2", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "kb2", "Enter", "ready to submit");
    tmuxutil_keys(f, "kb2", "s");
    /* The refusal's last words, so the whole of it is on the screen. */
    tmuxutil_wait_joined(f, "kb2", "is already done", j, sizeof(j));
    assert_non_null(strstr(j, "REFUSED"));
    assert_non_null(strstr(j, "follow_ups[0].status"));
    tmuxutil_key_until(f, "kb2", "b", "FOLLOW-UP");
    tmuxutil_wait_for(f, "kb2", "> 1. Rep practises the opener", s, sizeof(s));
    tmuxutil_key_until(f, "kb2", "d", "Evidence (what showed it)");
    tmuxutil_text(f, "kb2", "seen in session 2");
    tmuxutil_key_until(f, "kb2", "Enter", "-> done at");
    tmuxutil_key_until(f, "kb2", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "kb2", "Enter", "REVIEW");
    tmuxutil_key_until(f, "kb2", "s", "STORED");
    tmuxutil_keys(f, "kb2", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "kb2"), 0);
    tmuxutil_assert_no_sanitizer_report(f);

    /* An amendment of session 2 shows its follow-up, though the action is
     * no longer open, and changes done to partly done: a new version. */
    snprintf(want, sizeof(want), "amend %s", s2_id);
    tmuxutil_ui_run(f, "k5", "obs.ann", f->local, "", want, 0);
    tmuxutil_key_until(f, "k5", "Enter", "FOLLOW-UP");
    tmuxutil_wait_for(f, "k5", "-> done at", s, sizeof(s));
    assert_non_null(strstr(s, text));
    assert_non_null(strstr(s, "evidence: practised the opener on two calls"));
    tmuxutil_key_until(f, "k5", "p", "-> partly done at");
    tmuxutil_key_until(f, "k5", "Enter", "AGREED ACTIONS");
    tmuxutil_key_until(f, "k5", "Enter", "ready to submit");
    tmuxutil_key_until(f, "k5", "s", "STORED");
    tmuxutil_screen(f, "k5", s, sizeof(s));
    assert_non_null(strstr(s, "version 2)"));
    tmuxutil_keys(f, "k5", "Enter");
    assert_int_equal(tmuxutil_wait_exit(f, "k5"), 0);
    tmuxutil_assert_no_sanitizer_report(f);

    /* The server's record: done, with the evidence in its history. */
    r = action_json(f, text);
    /* The amendment said partly done last; the history keeps all three. */
    assert_string_equal(json_string_value(json_object_get(r, "status")), "partly_done");
    assert_string_equal(json_string_value(json_object_get(r, "owner_kind")), "manager");
    assert_string_equal(json_string_value(json_object_get(r, "coachee")), "rep.ida");
    h = json_object_get(r, "history");
    assert_true(json_is_array(h));
    assert_int_equal(json_array_size(h), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "status")), "done");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "evidence")),
                        "practised the opener on two calls");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 0), "version")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "status")), "done");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 1), "evidence")),
                        "seen in session 2");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "status")),
                        "partly_done");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 2), "evidence")),
                        "practised the opener on two calls");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 2), "version")), 2);
    json_decref(r);
    check_nothing_left(f);

    /* The sessions scored in the UI reach flm.cara's My coaching (as the
     * lead): the coaching mix counts them, all process (the preset's
     * focus), and cadence counts their coaching day with rep.ida. */
    r = coachq_json(f, "lead.gil", "dashboard", "me", "flm.cara");
    h = dash_cell(r, "mix-focus", "Sessions observed");
    assert_true(json_number_value(json_object_get(h, "value")) >= 2);
    h = dash_cell(r, "mix-focus", "Process");
    assert_string_equal(json_string_value(json_object_get(h, "text")), "100%");
    h = dash_cell(r, "my-cadence-reps", "Coaching days");
    assert_true(json_number_value(json_object_get(h, "value")) >= 1);
    json_decref(r);

    /* Offline: the setup says so plainly, and the session goes on. */
    assert_true(testutil_server_stop(&f->srv, SIGKILL) != -1);
    tmuxutil_ui_start(f, "k6", "",
                      "--rubric coaching-conversation --coach flm.cara --coachee rep.ida --type "
                      "deal_review",
                      0);
    tmuxutil_wait_joined(f, "k6", "Open actions of this pair: not loaded (offline: cannot connect",
                         j, sizeof(j));
    assert_non_null(strstr(j, "the session goes on"));
    tmuxutil_key_until(f, "k6", "Enter", "Observed live, or from a recording?");
    tmuxutil_key_until(f, "k6", "Enter", "RUNNING");
    tmuxutil_end_live(f, "k6");
    tmuxutil_wait_for(f, "k6", "Open actions: not loaded", s, sizeof(s));
    tmuxutil_key_until(f, "k6", "q", "quit?");
    tmuxutil_keys(f, "k6", "y");
    assert_int_equal(tmuxutil_wait_exit(f, "k6"), 1);
    tmuxutil_assert_no_sanitizer_report(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TMUXUTIL_TEST(test_complete_session), TMUXUTIL_TEST(test_evidence_required),
        TMUXUTIL_TEST(test_layout),           TMUXUTIL_TEST(test_amend),
        TMUXUTIL_TEST(test_disabled_user),    TMUXUTIL_TEST(test_messages_fit),
        TMUXUTIL_TEST(test_follow_up),
    };

    tmuxutil_test_filter();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
