/*
 * session: the model of one live-scoring session of `coachq observe` and
 * `coachq amend`, without a terminal. It holds the draft observation (a
 * LocalSession whose draft is the Observation), the rubric and the people
 * it is scored against, the clock, the markers, ratings, agreed actions
 * and follow-ups (with the pair's open actions from the server), the
 * phase and its cursor, and the question the session waits on; it
 * journals every change to the local store (localstore.h), talks
 * to the server for the rubric, the people and the submission, and keeps
 * the outbox. observe_draw.c draws it and observe_keys.c turns keys into
 * calls of this API; tests drive it directly (tests/test_session.c).
 *
 * Ownership: a struct session is made by session_new() and freed with
 * session_free(). It borrows the local store and the options for its
 * whole life, and owns everything else it points to (the LocalSession,
 * the rubric, the rubric list, the people, a connection while setting up,
 * a conflicting stored record). Its fields are public so that the UI can
 * show them. The UI changes the session through these functions, and
 * otherwise only in these ways: the draft's text fields through
 * session_set_str(), its session_type and focus, the phase's cursor
 * (s->cursor), the question (modal, discard, conflict_confirm), the status
 * line, and dirty, which it sets after each change of its own (every
 * function here sets it after a change) and session_save() clears.
 *
 * Errors: fallible functions return 0 or a negative errno-style code
 * (error.h), -ENOMEM when memory runs out, -ENOSPC when the record would
 * pass a cap of validate.h. Problems the observer must see go to the
 * status line (status, status_warn), which session_say() sets.
 *
 * Time: every function that depends on the clock takes now, wall-clock
 * milliseconds (session_now_ms()), so tests can drive the clock. Runs on
 * the calling thread; a session is not shared between threads.
 */
#ifndef COACHQ_SESSION_H
#define COACHQ_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "localstore.h"
#include "observe.h"
#include "validate.h"

/* The most characters of the status line. */
#define SESSION_STATUS_MAX 640
/* The number of marker kinds (session_kinds). */
#define SESSION_N_KINDS 7
/* The word typed to quit without a journal. */
#define SESSION_DISCARD_WORD "discard"

/* The phases, as saved in LocalSession.phase (0, from an older save, is
 * read as setup). */
enum session_phase {
    SESSION_PHASE_SETUP = 1,
    SESSION_PHASE_LIVE = 2,
    SESSION_PHASE_RATING = 3,
    SESSION_PHASE_ACTIONS = 4,
    SESSION_PHASE_REVIEW = 5,
    /* Between rating and actions: the follow-ups of the pair's open
     * actions (an older client reads it as setup). */
    SESSION_PHASE_FOLLOWUPS = 6,
};

/* The setup steps, as saved in LocalSession.cursor during setup. */
enum session_step {
    SESSION_STEP_RUBRIC = 0,
    SESSION_STEP_COACH,
    SESSION_STEP_COACHEE,
    SESSION_STEP_TYPE,
    SESSION_STEP_FOCUS,
    /* Live or a recording (with its reference and length): asked last,
     * when the observer goes through the setup at all and neither
     * --recording nor a calibration set it. */
    SESSION_STEP_MODE,
    SESSION_STEP_COUNT,
};

/* The question the session waits on, or the overlay the UI shows. The
 * session opens QUIT, DISCARD and CONFLICT; the UI opens HELP, REJECT and
 * SENDING. */
enum session_modal {
    SESSION_MODAL_NONE = 0,
    SESSION_MODAL_HELP,     /* the keys of the current phase */
    SESSION_MODAL_QUIT,     /* "quit? ... (y/n)" */
    SESSION_MODAL_REJECT,   /* after a refusal: leave it in the outbox as rejected? */
    SESSION_MODAL_SENDING,  /* drawn while a submission is on its way */
    SESSION_MODAL_DISCARD,  /* quitting unsaved: the observer types "discard" */
    SESSION_MODAL_CONFLICT, /* the server has this id with other content */
};

/* What became of a submission. */
enum session_result {
    SESSION_RESULT_NONE = 0,
    SESSION_RESULT_STORED,
    SESSION_RESULT_DUPLICATE,
    SESSION_RESULT_QUEUED,
};

/* A marker kind with the key that taps it in the live phase. */
struct session_kind {
    int key;
    int kind; /* Coachq__V1__MarkerKind */
    const char *label;
};

/* The marker kinds, in the order of the live screen: open question and
 * directive first (the ask-to-tell ratio counts those two). */
extern const struct session_kind session_kinds[SESSION_N_KINDS];

/* The words of the scores 1-4 (index 0 is ""). */
extern const char *const session_score_words[5];

struct session {
    struct localstore *ls;        /* borrowed for the session's life */
    const struct observe_opts *o; /* borrowed for the session's life */

    Coachq__V1__LocalSession *s; /* owned; s->draft is the observation */
    Coachq__V1__Observation *d;  /* s->draft, borrowed from s */
    Coachq__V1__Rubric *rubric;  /* owned; the draft's rubric once chosen */
    Coachq__V1__Rubric **rlist;  /* owned; the rubrics to choose from */
    size_t n_rlist;
    Coachq__V1__PeopleList *people; /* owned; NULL when neither server nor cache had it */
    int people_cached;              /* people came from the cache (offline) */
    /* The observer's own certifications for the setup's checks
     * (session_checks.c): owned; cert_state 0 not asked, 1 from the
     * server, 2 from the cache (offline), -1 neither had them. */
    Coachq__V1__CertStatus *cert;
    int cert_state;

    struct client *c; /* owned while setting up; NULL otherwise */
    int offline;      /* the server could not be reached this run */
    char offline_why[sizeof(((struct client_error *)0)->message)];
    int offline_refused; /* the server was reached and refused this user */

    /* The server's last refusal of this observation (this run, or the
     * outbox entry being fixed). */
    int refused;
    struct client_error refusal;
    enum session_result result;
    uint64_t result_seq;
    uint32_t result_version;

    /* The pair's actions agreed in earlier sessions that the follow-up
     * step lists (session_actions.c): owned, loaded from the server for
     * open_coach and open_coachee; open_state 0 not asked yet, 1 loaded,
     * -1 could not be loaded (offline, or refused: open_why says why). */
    Coachq__V1__ActionRecord **open;
    size_t n_open;
    int open_state;
    char open_coach[VALIDATE_MAX_ID + 1];
    char open_coachee[VALIDATE_MAX_ID + 1];
    char open_why[sizeof(((struct client_error *)0)->message) + 32];
    int64_t open_tried_ms; /* when the last load was asked (session_now_ms()) */

    /* The observer saw a setup step this run (or resumed in setup): the
     * mode step is asked then, not when options preset everything. */
    int mode_ask;

    int dirty;             /* the session changed since it was last saved */
    int save_rc;           /* the last save's result; shown until one works */
    int64_t save_retry_ms; /* when a failing journal is tried again without a key */
    /* The server has the observation, but the copy saved on this machine
     * could not be removed yet (clear_rc says why): tried again like a
     * save, and checked against the server at the next resume. */
    int clear_pending;
    int clear_rc;
    enum session_modal modal;
    char discard[12]; /* what was typed in SESSION_MODAL_DISCARD (fits a 78-column row) */
    /* The record the server has under the draft's id when it differs from
     * the draft (owned), for SESSION_MODAL_CONFLICT. */
    Coachq__V1__StoredObservation *conflict;
    int conflict_confirm; /* 'd' was pressed once: the question asks to be sure */
    char status[SESSION_STATUS_MAX];
    int status_warn;
    int done;             /* the session is over: exit_code and final_msg say how */
    int exit_code;        /* as observe_run() returns it */
    char final_msg[1024]; /* the line(s) printed once the UI has closed */
};

/*
 * Makes an empty session on ls with the options o (both borrowed for the
 * session's life). *out: caller owns, free with session_free(). Nothing
 * is loaded yet: session_start() does that. Returns 0 or -ENOMEM.
 */
int session_new(struct localstore *ls, const struct observe_opts *o, struct session **out);

/* Frees the session and everything it owns. session_free(NULL) is a
 * no-op. */
void session_free(struct session *ses);

/*
 * Sets the state the session starts in: *saved (the session saved in the
 * local store, to resume; takes ownership and sets *saved to NULL), else
 * o->amend, else o->fix, else a new session with the preset choices. Then
 * loads its rubric (or the list to choose from) and the people, from the
 * server when it can be reached (o->conn) and the caches otherwise, and
 * moves to the first setup step that needs the observer. A resumed
 * session the server already has is marked done (same content) or opens
 * SESSION_MODAL_CONFLICT (other content). Returns 0, or a negative code
 * with why (whylen bytes) saying what stopped it: -ENOENT (no rubric),
 * -EINVAL (an amend or fix record without an observation id), -EBADMSG (a
 * damaged saved session), -ENOMEM or -EIO.
 */
int session_start(struct session *ses, Coachq__V1__LocalSession **saved, char *why, size_t whylen);

/* Wall-clock milliseconds: the clock must survive a restart of the
 * process, so it is not a monotonic clock of this boot. */
int64_t session_now_ms(void);

/* Sets the status line (printf-style); warn marks it as a problem. */
void session_say(struct session *ses, int warn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Replaces the string *field of a draft message (malloc'd, or the shared
 * empty default) with a copy of v (borrowed). Returns 0 or -ENOMEM (then
 * *field is kept). */
int session_set_str(char **field, const char *v);

/* A deep copy of any message, every part malloc'd, so that it can be
 * changed in place. Returns NULL when out of memory; caller owns, free
 * with the message's free_unpacked(..., NULL). */
void *session_pb_copy(const ProtobufCMessage *m);

/* Words for people; the results are static strings or buf. */
const char *session_kind_label(int kind);
void session_fmt_clock(uint64_t ms, char *out, size_t len); /* "mm:ss" */
const char *session_type_words(int v, char *buf, size_t len);
const char *session_focus_words(int v);
const char *session_code_name(int code);  /* the server code's name */
const char *session_code_words(int code); /* the server code in words */
/* Whether a server code is worth retrying later rather than fixing. */
int session_code_is_transient(int code);
/* "Name (id)", or the id alone when the name is unknown, or "-". */
const char *session_person_words(const struct session *ses, const char *id, char *buf, size_t len);
/* A short description of a saved session s (borrowed), for the question
 * at start. */
void session_saved_words(const struct session *ses, const Coachq__V1__LocalSession *s, char *buf,
                         size_t len);
/* The exit message (final_msg) after a final result. */
void session_result_message(struct session *ses);
/* Ends a session with a final result: the saved copy is tried once more
 * if it could not be removed, final_msg says what became of the
 * observation, and done is set. */
void session_end(struct session *ses);

/* The person with this id in the people list (borrowed from ses), or
 * NULL. */
const Coachq__V1__PersonSummary *session_person(const struct session *ses, const char *id);
int session_has_role(const Coachq__V1__PersonSummary *p, int role);

/* The clock: what was accumulated before the last start, plus the wall
 * time since then while it runs. */
uint64_t session_clock_now(const Coachq__V1__LocalSession *s, int64_t now);
int session_clock_running(const Coachq__V1__LocalSession *s);
void session_clock_start(struct session *ses, int64_t now);
void session_clock_stop(struct session *ses, int64_t now);
/* The record's duration: the clock's time rounded up to a second. */
void session_set_duration(struct session *ses, int64_t now);

/* The phases. session_set_phase() moves without checks. */
void session_set_phase(struct session *ses, enum session_phase p, uint32_t cursor);
/* Whether a setup step still needs the observer. */
int session_step_needed(const struct session *ses, int step);
/* From setup step `from` on: returns the first step that needs the
 * observer (the phase is then setup at that step), or -1 after ending
 * setup (into the live phase for a new session, back to the review after
 * changing details). */
int session_setup_next(struct session *ses, int from, int64_t now);
/* Chooses rubric i of rlist for the draft. Returns 0 or -ENOMEM. */
int session_choose_rubric(struct session *ses, size_t i);
/* Into the rating phase at behaviour cursor. Returns 0 or -ENOMEM. */
int session_rating_enter(struct session *ses, uint32_t cursor);
/* Rates the behaviour at the cursor (rating phase) with score 1-4.
 * Returns 1 when the rubric wants evidence for that score and the rating
 * has none, else 0. */
int session_rate(struct session *ses, uint32_t score);
/* Rates the behaviour at the cursor not applicable. Returns 0, or -EPERM
 * (and says why) when the rubric does not allow it for the behaviour. */
int session_rate_na(struct session *ses);
/* Whether the rating phase may go back to the live phase. */
int session_can_go_live(const struct session *ses);
/* The rating cursor to the next behaviour, if there is one. */
void session_rating_advance(struct session *ses);

/* The draft. */
int session_needs_evidence(const Coachq__V1__Rubric *r, uint32_t score);
int session_ratings_align(struct session *ses);
/* The first reason the ratings cannot be finished: returns 1 with *at
 * the behaviour and msg (len bytes) the words, or 0. */
int session_rating_problem(const struct session *ses, size_t *at, char *msg, size_t len);
int session_marker_add(struct session *ses, int kind, int64_t now);
void session_marker_undo(struct session *ses);
int session_action_add(struct session *ses, const char *text);
void session_action_delete(struct session *ses, size_t i);

/*
 * Agreed actions and follow-ups (session_actions.c).
 *
 * session_action_add() gives each new action a fresh 16-byte id, kept in
 * the draft (so across retries, a resume and amendments), owned by the
 * rep. The setters change action i of the draft: the owner (rep or
 * manager), the due date ("YYYY-MM-DD", "" for none; -EINVAL when it is no
 * date, -ERANGE when it is before the session's day), a focus behaviour of
 * the rubric toggled on or off, the rep skill in free text; an action
 * serves at most VALIDATE_MAX_FOCUS focus areas, behaviours and skill
 * together (-ENOSPC). Each says what it did, or why not, on the status
 * line, naming the field as the server would.
 */
int session_action_toggle_owner(struct session *ses, size_t i);
int session_action_set_due(struct session *ses, size_t i, const char *date);
int session_action_toggle_focus(struct session *ses, size_t i, const char *behaviour_id);
int session_action_set_skill(struct session *ses, size_t i, const char *skill);
/* The action's focus areas in words ("listening, next-steps"), or "-". */
const char *session_action_focus_words(const Coachq__V1__Action *a, char *buf, size_t len);
/* An action status in words ("partly done"); 0 is "not followed up". */
const char *session_status_words(int status);

/*
 * Asks the server for the actions the draft's coach and coachee agreed in
 * earlier sessions and that are still open (or that the draft follows up
 * already, as an amendment does), once per pair: nothing when the pair is
 * not chosen yet or was loaded already (session_open_actions_due()).
 * Offline, or refused, open_state becomes -1 and the status line says so
 * plainly; nothing blocks the session, and the next visit asks again.
 * Opens and closes its own connection.
 */
void session_open_actions_load(struct session *ses);
/* A failed load of the open actions is asked again at the next visit to a
 * step that shows them, but not sooner than this after the last try: an
 * unreachable server costs a connection timeout each time. */
#define SESSION_OPEN_RETRY_MS 15000
/* Whether session_open_actions_load() asks the server at now_ms: the pair
 * is chosen and either not loaded for it yet, or its last load failed
 * SESSION_OPEN_RETRY_MS or more ago and the server did not refuse this
 * user's connection. */
int session_open_actions_due(const struct session *ses, int64_t now_ms);
/* Keeps those records of l (takes ownership of l) that belong to the
 * draft's pair, are not agreed in this observation, and are open or
 * followed up in the draft, and marks the pair loaded (open_state 1).
 * Returns 0 or -ENOMEM. */
int session_open_actions_take(struct session *ses, Coachq__V1__ActionList *l);
/* Frees the loaded records (session_free() calls it). */
void session_open_actions_free(struct session *ses);
/* The follow-up step's rows: the loaded records, then the draft's
 * follow-ups of actions not among them (shown by id). */
size_t session_fu_count(const struct session *ses);
/* Row i: *rec (may be NULL) and *fu (NULL when not followed up), both
 * borrowed from ses until the next change. The action id is returned. */
const ProtobufCBinaryData *session_fu_row(const struct session *ses, size_t i,
                                          const Coachq__V1__ActionRecord **rec,
                                          Coachq__V1__FollowUp **fu);
/* Sets the follow-up of the action of row i: a status of
 * Coachq__V1__ActionStatus (open, done, partly done, not done, dropped),
 * timed at the session clock's moment now; 0 removes it (not followed
 * up). Returns 0, -EINVAL (no such row or status), -ENOSPC or -ENOMEM. */
int session_fu_set(struct session *ses, size_t i, int status, int64_t now);
/* The evidence note of row i's follow-up (one must be set). Returns 0,
 * -ENOENT (not followed up) or -ENOMEM. */
int session_fu_evidence(struct session *ses, size_t i, const char *text);
/* The phase after the ratings, and the one before the actions: the
 * follow-up step when it has rows, else the actions (the ratings). */
void session_after_rating(struct session *ses);
void session_before_actions(struct session *ses);

/* Journaling. session_save() commits and fsyncs the session (0 when it
 * is on disk); a failure is kept in save_rc and retried by the caller.
 * session_journaled() says whether nothing would be lost by quitting. */
int session_save(struct session *ses);
int session_journaled(const struct session *ses);
void session_clear_saved(struct session *ses);
/* The quit question: SESSION_MODAL_QUIT, or SESSION_MODAL_DISCARD when
 * the session cannot be journaled. */
void session_ask_quit(struct session *ses);
/* Quits with the session saved (done, exit code 1), or opens
 * SESSION_MODAL_DISCARD when it cannot be saved. */
void session_quit_saved(struct session *ses);
/* Quits without a journal after the word was typed (exit code 3). */
void session_discard(struct session *ses);

/* The server. session_connect() connects once per setup (after a failure
 * the session stays offline); session_disconnect() drops it. */
int session_connect(struct session *ses);
void session_disconnect(struct session *ses);
int session_load_rubric_list(struct session *ses);

/* Called just before a submission goes out, so a UI can say so. */
typedef void (*session_sending_cb)(struct session *ses, void *arg);

/*
 * Sends the draft when its ratings are complete (else says why on the
 * status line). Stored or duplicate: result is set and the saved session
 * cleared. Server unreachable, or a passing trouble: the draft goes to
 * the outbox as queued. Refused: refused and refusal are set, the session
 * stays. sending (may be NULL) is called with arg before connecting.
 */
void session_submit(struct session *ses, int64_t now, session_sending_cb sending, void *arg);
/* A refused observation goes to the outbox as rejected (done, exit 1). */
void session_leave_rejected(struct session *ses, int64_t now);
/* The server has the draft's id: kind 1 (same content) or 2 (other,
 * SESSION_MODAL_CONFLICT). rec: takes ownership. */
void session_stored_found(struct session *ses, int kind, Coachq__V1__StoredObservation *rec);
/* The draft becomes an amendment of the conflicting record, which is
 * then freed, and the question closes. Returns 0, or -EINVAL, -ENOMEM or
 * -EIO with the conflict still open. */
int session_conflict_amend(struct session *ses);
/* Discards the copy on this machine of a conflicting record (done, exit
 * 0), or says why it could not. */
void session_conflict_discard(struct session *ses);

/* ---- A session scored from a recording (session_recording.c) ---- */

/* Whether the draft is of a recording: the clock is then its position. */
int session_is_recording(const struct session *ses);
/* Makes the draft one of the recording ref (copied) of length_ms. */
int session_recording_init(struct session *ses, const char *ref, uint32_t length_ms);
/* Checks a recording of reference ref as the server checks an
 * observation's (validate_recording() with the review workflow), with its
 * length *length_ms, or the reference alone when length_ms is NULL.
 * Returns 0, or -EINVAL with err filled and *is_length 1 when the length
 * is what is wrong (0 when the reference is). */
int session_recording_check(const char *ref, const uint32_t *length_ms, int *is_length,
                            struct validate_error *err);
/* Moves the position by delta_ms, kept inside the recording (-EINVAL on a
 * live session, said on the status line). */
int session_seek(struct session *ses, int64_t delta_ms, int64_t now);
/* Goes to the position text ("mm:ss", "h:mm:ss"): -EINVAL when it is not
 * one, -ERANGE past the recording's end, said on the status line. */
int session_seek_to(struct session *ses, const char *text, int64_t now);
/* On --resume: a recording's clock stands paused where the last save left
 * it. */
void session_recording_resume(struct session *ses);
/* The clock as the live screens show it: "mm:ss", or "mm:ss/mm:ss" (the
 * position and the length) on a recording. */
void session_clock_label(const struct session *ses, int64_t now, char *out, size_t len);
/* Sets the evidence of the draft's rating index to text (copied); on a
 * recording also its evidence_offset_ms, to the position at now (0 when
 * text is empty). 0, -EINVAL (no such rating) or -ENOMEM. */
int session_set_evidence(struct session *ses, size_t index, const char *text, int64_t now);

#endif
