/*
 * test_session: the observe UI's session model (client/session.h), driven
 * without curses, tmux or a server.
 *
 * What is checked: a new session with every choice preset starts live
 * with the rubric from the local store's cache; markers are timed by the
 * clock, undo removes the last, and a paused clock does not count; ending
 * the session sets a duration that holds every marker and brings one
 * rating per behaviour; the ratings are refused until each behaviour is
 * rated and a score that needs evidence has it, and not applicable only
 * where the rubric allows it; the draft it builds, with an agreed action,
 * is a valid observation and is journaled as it is; without presets the
 * setup steps come one by one and the last starts the clock; refused transitions (submitting before
 * the ratings are done, a marker past the cap, going back live in an amendment) change nothing;
 * submitting with no server queues the observation in the outbox and
 * clears the saved session; a saved session resumes where it was; and
 * quitting keeps it saved.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "localstore.h"
#include "session.h"
#include "testutil.h"
#include "validate.h"

#define WATCHDOG_SECONDS 120

struct fixture {
    char dir[512];
    struct localstore *ls;
    struct observe_opts o;
    struct session *ses;
    int64_t t0;  /* when the clock started */
    int sending; /* calls of the sending callback */
};

/* Caches a rubric of three behaviours, the last of which may be rated not
 * applicable; a score of 1 needs evidence. */
static void rubric_put(struct localstore *ls)
{
    Coachq__V1__Rubric r = COACHQ__V1__RUBRIC__INIT;
    Coachq__V1__Behaviour b[3];
    Coachq__V1__Behaviour *bp[3];
    static const char *const ids[3] = {"open-questions", "listening", "next-steps"};
    uint32_t evidence[1] = {1};

    for (size_t i = 0; i < 3; i++) {
        coachq__v1__behaviour__init(&b[i]);
        b[i].id = (char *)ids[i];
        b[i].name = (char *)ids[i];
        bp[i] = &b[i];
    }
    b[2].allow_not_applicable = 1;
    r.id = (char *)"call-review";
    r.version = 2;
    r.name = (char *)"Call review";
    r.n_behaviours = 3;
    r.behaviours = bp;
    r.n_evidence_required = 1;
    r.evidence_required = evidence;
    assert_int_equal(localstore_rubric_put(ls, &r), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];

    assert_non_null(f);
    testutil_watchdog(WATCHDOG_SECONDS);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    if (localstore_open(f->dir, &f->ls, err, sizeof(err)) != 0) {
        fail_msg("open: %s", err);
    }
    rubric_put(f->ls);
    /* No server (conn NULL): the session is offline, as in a room
     * without a network. */
    f->o.server_label = "127.0.0.1:1";
    f->o.rubric_id = "call-review";
    f->o.coach_id = "mgr.one";
    f->o.coachee_id = "rep.two";
    f->o.session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW;
    f->o.focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    session_free(f->ses);
    localstore_close(f->ls);
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

static void on_sending(struct session *ses, void *arg)
{
    struct fixture *f = arg;

    assert_ptr_equal(ses, f->ses);
    f->sending++;
}

/* Starts a new session with the fixture's presets: it must be live. */
static void start_live(struct fixture *f)
{
    char why[512];

    why[0] = '\0';
    assert_int_equal(session_new(f->ls, &f->o, &f->ses), 0);
    if (session_start(f->ses, &(Coachq__V1__LocalSession *){NULL}, why, sizeof(why)) != 0) {
        fail_msg("start: %s", why);
    }
    assert_int_equal(f->ses->s->phase, SESSION_PHASE_LIVE);
    assert_non_null(f->ses->rubric);
    assert_string_equal(f->ses->d->rubric_id, "call-review");
    assert_int_equal(f->ses->d->rubric_version, 2);
    assert_true(f->ses->offline);
    assert_true(session_clock_running(f->ses->s));
    f->t0 = f->ses->s->clock_started_ms;
    assert_true(f->t0 > 0);
    assert_int_equal(f->ses->d->started_at, f->t0 / 1000);
}

/* Taps the markers, pauses, and ends the live phase at t0 + 12 s. */
static void live_phase(struct fixture *f)
{
    struct session *ses = f->ses;
    const Coachq__V1__Observation *d = ses->d;

    assert_int_equal(
        session_marker_add(ses, COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION, f->t0 + 1000),
        0);
    assert_int_equal(
        session_marker_add(ses, COACHQ__V1__MARKER_KIND__MARKER_KIND_DIRECTIVE, f->t0 + 2500), 0);
    session_marker_undo(ses);
    assert_string_equal(ses->status, "undone: directive at 00:02");
    assert_int_equal(
        session_marker_add(ses, COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE, f->t0 + 3000), 0);
    assert_int_equal(d->n_markers, 2);
    assert_int_equal(d->markers[0]->kind, COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION);
    assert_int_equal(d->markers[0]->offset_ms, 1000);
    assert_int_equal(d->markers[1]->kind, COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE);
    assert_int_equal(d->markers[1]->offset_ms, 3000);

    /* Six seconds of pause do not count. */
    session_clock_stop(ses, f->t0 + 4000);
    assert_false(session_clock_running(ses->s));
    assert_int_equal(session_clock_now(ses->s, f->t0 + 9000), 4000);
    session_clock_start(ses, f->t0 + 10000);
    assert_int_equal(session_clock_now(ses->s, f->t0 + 11000), 5000);

    session_clock_stop(ses, f->t0 + 12000);
    session_set_duration(ses, f->t0 + 12000);
    assert_int_equal(d->duration_s, 6);
    assert_int_equal(session_rating_enter(ses, 0), 0);
    assert_int_equal(ses->s->phase, SESSION_PHASE_RATING);
    assert_int_equal(d->n_ratings, 3);
    assert_string_equal(d->ratings[1]->behaviour_id, "listening");
    assert_true(session_can_go_live(ses));
}

/* Rates every behaviour, checking what is refused on the way. */
static void rating_phase(struct fixture *f)
{
    struct session *ses = f->ses;
    Coachq__V1__Observation *d = ses->d;
    char msg[SESSION_STATUS_MAX];
    size_t at = 99;

    assert_int_equal(session_rating_problem(ses, &at, msg, sizeof(msg)), 1);
    assert_int_equal(at, 0);
    assert_non_null(strstr(msg, "open-questions is not rated yet"));

    /* Not applicable is refused where the rubric does not allow it. */
    assert_int_equal(ses->s->cursor, 0);
    assert_int_equal(session_rate_na(ses), -EPERM);
    assert_false(d->ratings[0]->not_applicable);
    assert_non_null(strstr(ses->status, "cannot be rated not applicable"));

    /* A 1 needs evidence: the model says so, and so does the check. */
    assert_int_equal(session_rate(ses, 1), 1);
    assert_int_equal(d->ratings[0]->score, 1);
    assert_string_equal(ses->status, "open-questions: 1 not demonstrated");
    assert_int_equal(session_rating_problem(ses, &at, msg, sizeof(msg)), 1);
    assert_int_equal(at, 0);
    assert_non_null(strstr(msg, "needs evidence for a score of 1"));
    assert_int_equal(session_set_str(&d->ratings[0]->evidence, "asked only closed questions"), 0);
    session_rating_advance(ses);
    assert_int_equal(ses->s->cursor, 1);

    assert_int_equal(session_rate(ses, 3), 0);
    assert_int_equal(session_rating_problem(ses, &at, msg, sizeof(msg)), 1);
    assert_int_equal(at, 2);
    session_rating_advance(ses);
    assert_int_equal(session_rate_na(ses), 0);
    assert_true(d->ratings[2]->not_applicable);
    assert_int_equal(d->ratings[2]->score, 0);
    /* The last behaviour: the cursor stays. */
    session_rating_advance(ses);
    assert_int_equal(ses->s->cursor, 2);
    assert_int_equal(session_rating_problem(ses, &at, msg, sizeof(msg)), 0);
}

static void test_session_builds_valid_draft(void **state)
{
    struct fixture *f = *state;
    struct validate_error verr;
    Coachq__V1__LocalSession *loaded = NULL;
    const Coachq__V1__Observation *d;

    start_live(f);
    live_phase(f);
    rating_phase(f);
    session_set_phase(f->ses, SESSION_PHASE_ACTIONS, 0);
    assert_int_equal(session_action_add(f->ses, "ask three open questions per call"), 0);
    assert_int_equal(session_action_add(f->ses, "drop this one"), 0);
    session_action_delete(f->ses, 1);
    session_set_phase(f->ses, SESSION_PHASE_REVIEW, 0);

    d = f->ses->d;
    assert_int_equal(d->n_actions, 1);
    assert_string_equal(d->actions[0]->text, "ask three open questions per call");
    assert_string_equal(d->coach_id, "mgr.one");
    assert_string_equal(d->coachee_id, "rep.two");
    assert_int_equal(d->session_type, COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW);
    assert_int_equal(d->focus, COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL);
    assert_int_equal(d->id.len, 16);
    memset(&verr, 0, sizeof(verr));
    if (validate_observation(d, "observation", &verr) != 0) {
        fail_msg("invalid: %s: %s", verr.field, verr.message);
    }

    /* Journaled exactly as it is. */
    assert_true(f->ses->dirty);
    assert_int_equal(session_save(f->ses), 0);
    assert_true(session_journaled(f->ses));
    assert_int_equal(localstore_session_load(f->ls, &loaded), 0);
    assert_int_equal(loaded->phase, SESSION_PHASE_REVIEW);
    testutil_assert_same_obs(loaded->draft, d);
    coachq__v1__local_session__free_unpacked(loaded, NULL);
}

static void test_session_refuses(void **state)
{
    struct fixture *f = *state;
    struct session *ses;
    Coachq__V1__Observation *d;
    size_t n;

    start_live(f);
    ses = f->ses;
    d = ses->d;

    /* Submitting before the ratings are done sends nothing. */
    session_submit(ses, f->t0 + 500, on_sending, f);
    assert_int_equal(f->sending, 0);
    assert_int_equal(ses->result, SESSION_RESULT_NONE);
    assert_true(ses->status_warn);
    assert_non_null(strstr(ses->status, "cannot submit yet"));

    /* A marker past the cap is refused and changes nothing. */
    for (n = 0; n < VALIDATE_MAX_MARKERS; n++) {
        assert_int_equal(session_marker_add(ses, COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE,
                                            f->t0 + 100 + (int64_t)n),
                         0);
    }
    assert_int_equal(
        session_marker_add(ses, COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE, f->t0 + 99999),
        -ENOSPC);
    assert_int_equal(d->n_markers, VALIDATE_MAX_MARKERS);
    assert_non_null(strstr(ses->status, "at most"));

    /* Undo on an empty list says so. */
    while (d->n_markers > 0) {
        session_marker_undo(ses);
    }
    session_marker_undo(ses);
    assert_string_equal(ses->status, "no marker to undo");
}

static void test_session_setup_steps(void **state)
{
    struct fixture *f = *state;
    struct session *ses;
    char why[512];
    int64_t now;

    memset(&f->o, 0, sizeof(f->o));
    assert_int_equal(session_new(f->ls, &f->o, &f->ses), 0);
    ses = f->ses;
    why[0] = '\0';
    if (session_start(ses, &(Coachq__V1__LocalSession *){NULL}, why, sizeof(why)) != 0) {
        fail_msg("start: %s", why);
    }
    /* The rubric is asked first, from the cached list. */
    assert_int_equal(ses->s->phase, SESSION_PHASE_SETUP);
    assert_int_equal(ses->s->cursor, SESSION_STEP_RUBRIC);
    assert_int_equal(ses->n_rlist, 1);
    assert_null(ses->rubric);
    assert_false(session_clock_running(ses->s));

    now = session_now_ms();
    assert_int_equal(session_choose_rubric(ses, 0), 0);
    assert_string_equal(ses->d->rubric_id, "call-review");
    assert_int_equal(session_setup_next(ses, SESSION_STEP_COACH, now), SESSION_STEP_COACH);
    assert_int_equal(ses->s->cursor, SESSION_STEP_COACH);
    assert_int_equal(session_set_str(&ses->d->coach_id, "mgr.one"), 0);
    assert_int_equal(session_setup_next(ses, SESSION_STEP_COACHEE, now), SESSION_STEP_COACHEE);
    assert_int_equal(session_set_str(&ses->d->coachee_id, "rep.two"), 0);
    assert_int_equal(session_setup_next(ses, SESSION_STEP_TYPE, now), SESSION_STEP_TYPE);
    ses->d->session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;
    assert_int_equal(session_setup_next(ses, SESSION_STEP_FOCUS, now), SESSION_STEP_FOCUS);
    ses->d->focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_HUMAN;
    /* The last step answered: live, with the clock running from now. */
    assert_int_equal(session_setup_next(ses, SESSION_STEP_COUNT, now), -1);
    assert_int_equal(ses->s->phase, SESSION_PHASE_LIVE);
    assert_int_equal(ses->s->clock_started_ms, now);
    assert_int_equal(ses->d->started_at, now / 1000);
    assert_int_equal(session_clock_now(ses->s, now + 1500), 1500);
}

static void test_session_amendment_cannot_go_live(void **state)
{
    struct fixture *f = *state;

    start_live(f);
    live_phase(f);
    /* An amendment (or a fix) has no live phase to go back to. */
    f->ses->d->amends.len = 16;
    assert_false(session_can_go_live(f->ses));
    f->ses->d->amends.len = 0;
    assert_true(session_can_go_live(f->ses));
}

static void test_session_offline_submit_queues(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__OutboxEntry *e = NULL;
    Coachq__V1__LocalSession *loaded = NULL;
    uint8_t id[16];

    start_live(f);
    live_phase(f);
    rating_phase(f);
    session_set_phase(f->ses, SESSION_PHASE_REVIEW, 0);
    assert_int_equal(session_save(f->ses), 0);
    memcpy(id, f->ses->d->id.data, sizeof(id));

    session_submit(f->ses, f->t0 + 20000, on_sending, f);
    assert_int_equal(f->sending, 1);
    assert_int_equal(f->ses->result, SESSION_RESULT_QUEUED);
    assert_int_equal(f->ses->exit_code, 0);
    assert_string_equal(f->ses->refusal.message, "no server configured");

    assert_int_equal(localstore_outbox_get(f->ls, id, &e), 0);
    assert_int_equal(e->state, COACHQ__V1__OUTBOX_ENTRY__STATE__STATE_QUEUED);
    testutil_assert_same_obs(e->observation, f->ses->d);
    coachq__v1__outbox_entry__free_unpacked(e, NULL);
    assert_int_equal(localstore_session_load(f->ls, &loaded), -ENOENT);

    session_end(f->ses);
    assert_true(f->ses->done);
    assert_non_null(strstr(f->ses->final_msg, "queued: "));
}

static void test_session_resumes_and_quits_saved(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__LocalSession *saved = NULL;
    char why[512];

    start_live(f);
    live_phase(f);
    f->ses->s->cursor = 1;
    assert_int_equal(session_save(f->ses), 0);
    session_free(f->ses);
    f->ses = NULL;

    assert_int_equal(localstore_session_load(f->ls, &saved), 0);
    assert_int_equal(session_new(f->ls, &f->o, &f->ses), 0);
    why[0] = '\0';
    if (session_start(f->ses, &saved, why, sizeof(why)) != 0) {
        fail_msg("resume: %s", why);
    }
    assert_null(saved);
    assert_int_equal(f->ses->s->phase, SESSION_PHASE_RATING);
    assert_int_equal(f->ses->s->cursor, 1);
    assert_int_equal(f->ses->d->n_markers, 2);
    assert_int_equal(f->ses->d->n_ratings, 3);
    assert_int_equal(session_clock_now(f->ses->s, f->t0 + 99000), 6000);

    assert_int_equal(session_save(f->ses), 0);
    session_ask_quit(f->ses);
    assert_int_equal(f->ses->modal, SESSION_MODAL_QUIT);
    session_quit_saved(f->ses);
    assert_true(f->ses->done);
    assert_int_equal(f->ses->exit_code, 1);
    assert_non_null(strstr(f->ses->final_msg, "quit: the session is saved"));
    assert_int_equal(localstore_session_load(f->ls, &saved), 0);
    coachq__v1__local_session__free_unpacked(saved, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_builds_valid_draft, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_setup_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_amendment_cannot_go_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_offline_submit_queues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_resumes_and_quits_saved, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
