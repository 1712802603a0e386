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
 * quitting keeps it saved. Agreed actions get a stable id, an owner, a due
 * date that is refused before the session's day, and one or two focus
 * areas; the follow-up step lists only the pair's open actions (and those
 * the draft follows up already), records each status with its evidence at
 * the session clock's moment, survives a restart through the journal, and
 * an amendment keeps the original's follow-ups and may change them.
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

#include "day.h"
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
    /* Then live or a recording, asked since the setup was shown. */
    assert_int_equal(session_setup_next(ses, SESSION_STEP_MODE, now), SESSION_STEP_MODE);
    assert_int_equal(ses->s->phase, SESSION_PHASE_SETUP);
    /* The last step answered: live, with the clock running from now. */
    assert_int_equal(session_setup_next(ses, SESSION_STEP_COUNT, now), -1);
    assert_int_equal(ses->s->phase, SESSION_PHASE_LIVE);
    assert_int_equal(ses->s->clock_started_ms, now);
    assert_int_equal(ses->d->started_at, now / 1000);
    assert_int_equal(session_clock_now(ses->s, now + 1500), 1500);
}

/* The mode step: skipped when options preset every other step (as
 * before), or when a recording is preset; asked again on resuming a
 * session quit during setup; never when changing details after the
 * session. */
static void test_session_mode_step(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__LocalSession *saved = NULL;
    struct session *ses;
    char why[512];
    int64_t now = session_now_ms();

    memset(&f->o, 0, sizeof(f->o));
    f->o.rubric_id = "call-review";
    f->o.coach_id = "mgr.one";
    f->o.coachee_id = "rep.two";
    f->o.session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;
    assert_int_equal(session_new(f->ls, &f->o, &f->ses), 0);
    ses = f->ses;
    if (session_start(ses, &(Coachq__V1__LocalSession *){NULL}, why, sizeof(why)) != 0) {
        fail_msg("start: %s", why);
    }
    assert_int_equal(ses->s->cursor, SESSION_STEP_FOCUS);
    ses->d->focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    assert_int_equal(session_setup_next(ses, SESSION_STEP_MODE, now), SESSION_STEP_MODE);
    /* Quit at the mode step: resumed there. */
    assert_int_equal(session_save(ses), 0);
    session_free(ses);
    f->ses = NULL;
    assert_int_equal(localstore_session_load(f->ls, &saved), 0);
    f->o.resume = 1;
    assert_int_equal(session_new(f->ls, &f->o, &f->ses), 0);
    ses = f->ses;
    if (session_start(ses, &saved, why, sizeof(why)) != 0) {
        fail_msg("resume: %s", why);
    }
    assert_int_equal(ses->s->phase, SESSION_PHASE_SETUP);
    assert_int_equal(ses->s->cursor, SESSION_STEP_MODE);
    /* A recording chosen there: the next step is the live phase on it. */
    assert_int_equal(session_recording_init(ses, "CRM-5", 60000), 0);
    assert_int_equal(session_setup_next(ses, SESSION_STEP_MODE, now), -1);
    assert_int_equal(ses->s->phase, SESSION_PHASE_LIVE);
    assert_true(session_is_recording(ses));
    /* Evidence saved at 0:20 is there; edited at 0:45 it stays at 0:20;
     * removed, it has no offset; written again, it is where it is now. */
    assert_int_equal(session_ratings_align(ses), 0);
    if (ses->d->n_ratings > 0) {
        assert_int_equal(session_seek_to(ses, "0:20", now), 0);
        assert_int_equal(session_set_evidence(ses, 0, "asked what went well", now), 0);
        assert_int_equal(ses->d->ratings[0]->evidence_offset_ms, 20000);
        assert_int_equal(session_seek_to(ses, "0:45", now), 0);
        assert_int_equal(session_set_evidence(ses, 0, "asked what went well first", now), 0);
        assert_int_equal(ses->d->ratings[0]->evidence_offset_ms, 20000);
        assert_int_equal(session_set_evidence(ses, 0, "", now), 0);
        assert_int_equal(ses->d->ratings[0]->evidence_offset_ms, 0);
        assert_int_equal(session_set_evidence(ses, 0, "named the next step", now), 0);
        assert_int_equal(ses->d->ratings[0]->evidence_offset_ms, 45000);
    } else {
        fail_msg("the draft has no ratings to give evidence");
    }
    /* Changing details after the session: never the mode. */
    assert_false(session_step_needed(ses, SESSION_STEP_MODE));
    session_clear_saved(ses);
    session_free(ses);
    f->ses = NULL;

    /* Every step preset: straight into the live phase, as before. */
    f->o.resume = 0;
    f->o.focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    assert_int_equal(session_new(f->ls, &f->o, &f->ses), 0);
    ses = f->ses;
    if (session_start(ses, &(Coachq__V1__LocalSession *){NULL}, why, sizeof(why)) != 0) {
        fail_msg("start: %s", why);
    }
    assert_int_equal(ses->s->phase, SESSION_PHASE_LIVE);
    assert_false(session_is_recording(ses));
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

/* coachq observe --assignment: the draft carries the assignment's id into
 * the journal and the outbox (issue 15, part 3). */
static void test_session_assignment_kept(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__OutboxEntry *e = NULL;
    Coachq__V1__LocalSession *saved = NULL;
    static const uint8_t asg[16] = {1, 2, 3, 4, 5, 6, 0x47, 8, 0x89, 10, 11, 12, 13, 14, 15, 16};
    uint8_t id[16];

    f->o.assignment_id = asg;
    start_live(f);
    assert_int_equal(f->ses->d->assignment_id.len, 16);
    assert_memory_equal(f->ses->d->assignment_id.data, asg, 16);
    live_phase(f);
    rating_phase(f);
    assert_int_equal(session_save(f->ses), 0);
    assert_int_equal(localstore_session_load(f->ls, &saved), 0);
    assert_int_equal(saved->draft->assignment_id.len, 16);
    assert_memory_equal(saved->draft->assignment_id.data, asg, 16);
    coachq__v1__local_session__free_unpacked(saved, NULL);
    session_set_phase(f->ses, SESSION_PHASE_REVIEW, 0);
    memcpy(id, f->ses->d->id.data, sizeof(id));
    session_submit(f->ses, f->t0 + 20000, on_sending, f);
    assert_int_equal(localstore_outbox_get(f->ls, id, &e), 0);
    assert_int_equal(e->observation->assignment_id.len, 16);
    assert_memory_equal(e->observation->assignment_id.data, asg, 16);
    coachq__v1__outbox_entry__free_unpacked(e, NULL);
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

/* An action record of the list the server returns: coach, coachee, a
 * status, agreed in the observation root (16 bytes of `agreed`). */
static Coachq__V1__ActionRecord *make_record(uint8_t idbyte, const char *coach, const char *coachee,
                                             int status, const uint8_t *agreed, const char *text)
{
    Coachq__V1__ActionRecord r = COACHQ__V1__ACTION_RECORD__INIT;
    uint8_t id[16];
    uint8_t in[16];

    memset(id, idbyte, sizeof(id));
    memset(in, 0xEE, sizeof(in));
    r.id.data = id;
    r.id.len = 16;
    r.coach_id = (char *)coach;
    r.coachee_id = (char *)coachee;
    r.text = (char *)text;
    r.status = status;
    r.agreed_in.data = (uint8_t *)(agreed != NULL ? agreed : in);
    r.agreed_in.len = 16;
    r.agreed_day = 20000;
    return session_pb_copy(&r.base);
}

/* The list the server would return for coach mgr.one (by coach), as
 * decoded: every part malloc'd. Records: 0x11 open of the pair, 0x22 done
 * of the pair, 0x33 open of another coachee, 0x44 open of another coach,
 * 0x55 of the pair agreed in `here` (this observation), 0x66 partly done
 * of the pair. */
static Coachq__V1__ActionList *make_list(const uint8_t *here)
{
    Coachq__V1__ActionList *l = calloc(1, sizeof(*l));

    assert_non_null(l);
    coachq__v1__action_list__init(l);
    l->actions = calloc(6, sizeof(*l->actions));
    assert_non_null(l->actions);
    l->actions[0] = make_record(0x11, "mgr.one", "rep.two",
                                COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN, NULL, "practise");
    l->actions[1] = make_record(0x22, "mgr.one", "rep.two",
                                COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE, NULL, "done one");
    l->actions[2] = make_record(0x33, "mgr.one", "rep.other",
                                COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN, NULL, "other rep");
    l->actions[3] = make_record(0x44, "mgr.else", "rep.two",
                                COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN, NULL, "other coach");
    l->actions[4] = make_record(0x55, "mgr.one", "rep.two",
                                COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN, here, "agreed here");
    l->actions[5] =
        make_record(0x66, "mgr.one", "rep.two",
                    COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE, NULL, "half done");
    l->n_actions = 6;
    for (size_t i = 0; i < 6; i++) {
        assert_non_null(l->actions[i]);
    }
    return l;
}

static void assert_valid(const Coachq__V1__Observation *d)
{
    struct validate_error verr;

    memset(&verr, 0, sizeof(verr));
    if (validate_observation(d, "observation", &verr) != 0) {
        fail_msg("invalid: %s: %s", verr.field, verr.message);
    }
}

/* The agreed actions' fields: a stable id, the owner, the due date (not
 * before the session's day), one or two focus areas. */
static void test_session_action_fields(void **state)
{
    struct fixture *f = *state;
    struct session *ses;
    Coachq__V1__Action *a;
    Coachq__V1__LocalSession *loaded = NULL;
    uint8_t id0[16];
    char day[16], words[256];
    int64_t sday;

    start_live(f);
    live_phase(f);
    rating_phase(f);
    ses = f->ses;
    session_set_phase(ses, SESSION_PHASE_ACTIONS, 0);
    assert_int_equal(session_action_add(ses, "ask three open questions per call"), 0);
    assert_int_equal(session_action_add(ses, "review the pipeline weekly"), 0);
    a = ses->d->actions[0];
    assert_int_equal(a->id.len, 16);
    assert_int_equal(ses->d->actions[1]->id.len, 16);
    assert_memory_not_equal(a->id.data, ses->d->actions[1]->id.data, 16);
    memcpy(id0, a->id.data, 16);
    assert_int_equal(a->owner, COACHQ__V1__ACTION_OWNER__ACTION_OWNER_REP);

    /* Owner: rep <-> manager. */
    assert_int_equal(session_action_toggle_owner(ses, 0), 0);
    assert_int_equal(a->owner, COACHQ__V1__ACTION_OWNER__ACTION_OWNER_MANAGER);
    assert_int_equal(session_action_toggle_owner(ses, 0), 0);
    assert_int_equal(a->owner, COACHQ__V1__ACTION_OWNER__ACTION_OWNER_REP);
    assert_int_equal(session_action_toggle_owner(ses, 9), -EINVAL);

    /* Due dates: not a date, before the session, then a good one, then
     * none. A refused one changes nothing and names the field. */
    sday = ses->d->started_at / 86400;
    assert_int_equal(session_action_set_due(ses, 0, "next week"), -EINVAL);
    assert_non_null(strstr(ses->status, "actions[0].due_day"));
    assert_int_equal(session_action_set_due(ses, 0, "2026-02-30"), -EINVAL);
    day_format(sday - 2, day, sizeof(day));
    assert_int_equal(session_action_set_due(ses, 0, day), -ERANGE);
    assert_non_null(strstr(ses->status, "actions[0].due_day"));
    assert_non_null(strstr(ses->status, "before the session"));
    assert_int_equal(a->due_day, 0);
    /* The UTC day before is the session's own day where the coach's clock
     * is behind UTC (the server judges by the coach's zone, which the
     * client does not know): kept, with a warning, never refused. */
    day_format(sday - 1, day, sizeof(day));
    assert_int_equal(session_action_set_due(ses, 0, day), 0);
    assert_int_equal(a->due_day, (uint32_t)(sday - 1));
    assert_true(ses->status_warn);
    assert_non_null(strstr(ses->status, "coach's time zone"));
    day_format(sday, day, sizeof(day));
    assert_int_equal(session_action_set_due(ses, 0, day), 0);
    assert_int_equal(a->due_day, (uint32_t)sday);
    day_format(sday + 14, day, sizeof(day));
    assert_int_equal(session_action_set_due(ses, 1, day), 0);
    assert_int_equal(ses->d->actions[1]->due_day, (uint32_t)(sday + 14));
    assert_int_equal(session_action_set_due(ses, 1, ""), 0);
    assert_int_equal(ses->d->actions[1]->due_day, 0);

    /* Focus: two at most, behaviours and skill together. */
    assert_int_equal(session_action_toggle_focus(ses, 0, "listening"), 0);
    assert_int_equal(session_action_toggle_focus(ses, 0, "next-steps"), 0);
    assert_int_equal(session_action_toggle_focus(ses, 0, "open-questions"), -ENOSPC);
    assert_non_null(strstr(ses->status, "actions[0].focus_behaviours"));
    assert_int_equal(session_action_set_skill(ses, 0, "objection handling"), -ENOSPC);
    assert_non_null(strstr(ses->status, "actions[0].focus_skill"));
    assert_int_equal(a->n_focus_behaviours, 2);
    assert_string_equal(a->focus_skill, "");
    assert_string_equal(session_action_focus_words(a, words, sizeof(words)),
                        "listening, next-steps");
    /* Unpicking one makes room for the skill; then no third behaviour. */
    assert_int_equal(session_action_toggle_focus(ses, 0, "listening"), 0);
    assert_int_equal(a->n_focus_behaviours, 1);
    assert_string_equal(a->focus_behaviours[0], "next-steps");
    assert_int_equal(session_action_set_skill(ses, 0, "objection handling"), 0);
    assert_int_equal(session_action_toggle_focus(ses, 0, "listening"), -ENOSPC);
    assert_string_equal(session_action_focus_words(a, words, sizeof(words)),
                        "next-steps, skill: objection handling");
    assert_int_equal(session_action_set_skill(ses, 1, "discovery"), 0);
    assert_int_equal(session_action_set_skill(ses, 1, ""), 0);
    assert_string_equal(ses->d->actions[1]->focus_skill, "");
    assert_valid(ses->d);

    /* The journal keeps every field and the id. */
    assert_int_equal(session_save(ses), 0);
    assert_int_equal(localstore_session_load(f->ls, &loaded), 0);
    testutil_assert_same_obs(loaded->draft, ses->d);
    assert_memory_equal(loaded->draft->actions[0]->id.data, id0, 16);
    assert_int_equal(loaded->draft->actions[0]->due_day, (uint32_t)sday);
    coachq__v1__local_session__free_unpacked(loaded, NULL);
}

/* Follow-ups: the pair's open actions only, every status key's path,
 * the evidence, the time from the session clock, and the journal. */
static void test_session_follow_ups(void **state)
{
    struct fixture *f = *state;
    struct session *ses;
    const Coachq__V1__ActionRecord *rec;
    Coachq__V1__FollowUp *fu;
    Coachq__V1__LocalSession *saved = NULL;
    uint8_t id11[16], id66[16];
    int64_t tried;
    char why[512];

    start_live(f);
    live_phase(f);
    rating_phase(f);
    ses = f->ses;
    /* Offline (no server): said plainly, nothing blocks the session. */
    assert_int_equal(ses->open_state, -1);
    assert_non_null(strstr(ses->open_why, "offline"));
    assert_int_equal(session_fu_count(ses), 0);
    /* A failed load is asked again at the next visit to a step that shows
     * the actions, not sooner than SESSION_OPEN_RETRY_MS after the last
     * try, and never when the server turned this user away. */
    tried = ses->open_tried_ms;
    assert_true(tried > 0);
    assert_false(session_open_actions_due(ses, tried + SESSION_OPEN_RETRY_MS - 1));
    assert_true(session_open_actions_due(ses, tried + SESSION_OPEN_RETRY_MS));
    ses->offline_refused = 1;
    assert_false(session_open_actions_due(ses, tried + SESSION_OPEN_RETRY_MS));
    ses->offline_refused = 0;
    /* The follow-up step's visit, the last try long enough ago: asked
     * again (still offline here: no server). */
    ses->open_tried_ms = tried - SESSION_OPEN_RETRY_MS;
    session_after_rating(ses);
    assert_true(ses->open_tried_ms >= tried);
    assert_int_equal(ses->open_state, -1);
    assert_non_null(strstr(ses->open_why, "offline"));
    assert_int_equal(ses->s->phase, SESSION_PHASE_ACTIONS);
    session_before_actions(ses);
    /* Just tried: the next visit does not ask again. */
    ses->open_tried_ms = INT64_MAX - SESSION_OPEN_RETRY_MS;
    session_after_rating(ses);
    assert_int_equal(ses->open_tried_ms, INT64_MAX - SESSION_OPEN_RETRY_MS);
    assert_int_equal(ses->s->phase, SESSION_PHASE_ACTIONS);
    session_before_actions(ses);
    assert_int_equal(ses->s->phase, SESSION_PHASE_RATING);

    /* What the server returns, narrowed to this pair's open actions. */
    assert_int_equal(session_open_actions_take(ses, make_list(ses->d->id.data)), 0);
    assert_int_equal(ses->n_open, 2);
    /* Loaded: never asked again for this pair. */
    assert_int_equal(ses->open_state, 1);
    assert_false(session_open_actions_due(ses, INT64_MAX));
    assert_string_equal(ses->open[0]->text, "practise");
    assert_string_equal(ses->open[1]->text, "half done");
    memset(id11, 0x11, 16);
    memset(id66, 0x66, 16);
    assert_int_equal(session_fu_count(ses), 2);
    session_after_rating(ses);
    assert_int_equal(ses->s->phase, SESSION_PHASE_FOLLOWUPS);
    assert_non_null(session_fu_row(ses, 0, &rec, &fu));
    assert_ptr_equal(rec, ses->open[0]);
    assert_null(fu);
    assert_null(session_fu_row(ses, 2, &rec, &fu));

    /* Every status, and "not followed up"; the moment is the clock's. */
    assert_int_equal(session_fu_evidence(ses, 0, "too early"), -ENOENT);
    assert_int_equal(
        session_fu_set(ses, 0, COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN, f->t0 + 50000), 0);
    assert_int_equal(ses->d->n_follow_ups, 1);
    assert_memory_equal(ses->d->follow_ups[0]->action_id.data, id11, 16);
    /* The clock stopped at 6 s of session time. */
    assert_int_equal(ses->d->follow_ups[0]->at, ses->d->started_at + 6);
    static const int statuses[] = {
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE,
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE,
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE,
        COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED,
    };
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(session_fu_set(ses, 1, statuses[k], f->t0), 0);
        assert_int_equal(ses->d->n_follow_ups, 2);
        assert_int_equal(ses->d->follow_ups[1]->status, statuses[k]);
    }
    assert_string_equal(ses->status, "action 2: dropped");
    assert_int_equal(session_fu_set(ses, 1, 0, f->t0), 0);
    assert_int_equal(ses->d->n_follow_ups, 1);
    assert_string_equal(ses->status, "action 2: not followed up");
    assert_int_equal(session_fu_set(ses, 1, 9, f->t0), -EINVAL);
    assert_int_equal(session_fu_set(ses, 7, 2, f->t0), -EINVAL);
    assert_int_equal(ses->d->n_follow_ups, 1);
    assert_int_equal(session_fu_set(ses, 0, COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE, f->t0),
                     0);
    assert_int_equal(session_fu_evidence(ses, 0, "practised the opener on two calls"), 0);
    assert_int_equal(
        session_fu_set(ses, 1, COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE, f->t0), 0);
    assert_int_equal(ses->d->n_follow_ups, 2);
    assert_int_equal(ses->d->follow_ups[0]->status, COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE);
    assert_string_equal(ses->d->follow_ups[0]->evidence, "practised the opener on two calls");
    assert_memory_equal(ses->d->follow_ups[1]->action_id.data, id66, 16);
    assert_valid(ses->d);
    session_set_phase(ses, SESSION_PHASE_FOLLOWUPS, 1);

    /* A crash and a restart, offline: the follow-ups come back, shown by
     * id while the records cannot be loaded. */
    assert_int_equal(session_save(ses), 0);
    session_free(f->ses);
    f->ses = NULL;
    assert_int_equal(localstore_session_load(f->ls, &saved), 0);
    assert_int_equal(session_new(f->ls, &f->o, &f->ses), 0);
    ses = f->ses;
    why[0] = '\0';
    if (session_start(ses, &saved, why, sizeof(why)) != 0) {
        fail_msg("resume: %s", why);
    }
    assert_int_equal(ses->s->phase, SESSION_PHASE_FOLLOWUPS);
    assert_int_equal(ses->s->cursor, 1);
    assert_int_equal(ses->open_state, -1);
    assert_int_equal(ses->d->n_follow_ups, 2);
    assert_string_equal(ses->d->follow_ups[0]->evidence, "practised the opener on two calls");
    assert_int_equal(session_fu_count(ses), 2);
    assert_non_null(session_fu_row(ses, 1, &rec, &fu));
    assert_null(rec);
    assert_ptr_equal(fu, ses->d->follow_ups[1]);
    /* Records loaded later merge with them, not twice. */
    assert_int_equal(session_open_actions_take(ses, make_list(ses->d->id.data)), 0);
    assert_int_equal(session_fu_count(ses), 2);
    session_after_rating(ses);
    assert_int_equal(ses->s->phase, SESSION_PHASE_FOLLOWUPS);
}

/* An amendment shows and keeps the original's follow-ups, lists the
 * followed-up actions even when no longer open, never the actions the
 * original agreed, and lets the observer change a status. */
static void test_session_amend_follow_ups(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__StoredObservation rec = COACHQ__V1__STORED_OBSERVATION__INIT;
    Coachq__V1__Observation *orig;
    const Coachq__V1__ActionRecord *r;
    Coachq__V1__FollowUp *fu;
    Coachq__V1__ActionList *l;
    char why[512];
    uint8_t root[16];

    start_live(f);
    live_phase(f);
    rating_phase(f);
    assert_int_equal(session_open_actions_take(f->ses, make_list(f->ses->d->id.data)), 0);
    assert_int_equal(
        session_fu_set(f->ses, 0, COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE, f->t0), 0);
    assert_int_equal(session_fu_evidence(f->ses, 0, "did it"), 0);
    assert_int_equal(session_action_add(f->ses, "call the CFO"), 0);
    orig = session_pb_copy(&f->ses->d->base);
    assert_non_null(orig);
    memcpy(root, orig->id.data, 16);
    session_free(f->ses);
    f->ses = NULL;

    rec.observation = orig;
    rec.version = 1;
    f->o.amend = &rec;
    assert_int_equal(session_new(f->ls, &f->o, &f->ses), 0);
    why[0] = '\0';
    if (session_start(f->ses, &(Coachq__V1__LocalSession *){NULL}, why, sizeof(why)) != 0) {
        fail_msg("amend: %s", why);
    }
    assert_memory_equal(f->ses->d->amends.data, root, 16);
    /* The amendment keeps the action's id: the server sees the same one. */
    assert_int_equal(f->ses->d->n_actions, 1);
    assert_int_equal(f->ses->d->actions[0]->id.len, 16);
    assert_memory_equal(f->ses->d->actions[0]->id.data, orig->actions[0]->id.data, 16);
    assert_int_equal(f->ses->d->n_follow_ups, 1);
    assert_string_equal(f->ses->d->follow_ups[0]->evidence, "did it");
    /* The server now says 0x11 is done: still listed, as it is followed
     * up here; 0x55 was agreed in the original (the root): never. */
    l = make_list(root);
    l->actions[0]->status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE;
    assert_int_equal(session_open_actions_take(f->ses, l), 0);
    assert_int_equal(f->ses->n_open, 2);
    assert_string_equal(f->ses->open[0]->text, "practise");
    assert_string_equal(f->ses->open[1]->text, "half done");
    assert_non_null(session_fu_row(f->ses, 0, &r, &fu));
    assert_non_null(fu);
    assert_int_equal(fu->status, COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE);
    assert_int_equal(
        session_fu_set(f->ses, 0, COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE, f->t0), 0);
    assert_int_equal(f->ses->d->n_follow_ups, 1);
    assert_int_equal(f->ses->d->follow_ups[0]->status,
                     COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE);
    assert_string_equal(f->ses->d->follow_ups[0]->evidence, "did it");
    assert_valid(f->ses->d);
    f->o.amend = NULL;
    coachq__v1__observation__free_unpacked(orig, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_builds_valid_draft, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_setup_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_mode_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_amendment_cannot_go_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_offline_submit_queues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_assignment_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_resumes_and_quits_saved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_action_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_follow_ups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_amend_follow_ups, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
