/*
 * observe: the live-scoring terminal UI (ncurses) of `coachq observe` and
 * `coachq amend`.
 *
 * Phases: setup (rubric, coach, coachee, session type, focus, each a list
 * searched by typing; steps preset by options are skipped), live (a
 * running clock, one key per marker kind, a note on the last marker, undo,
 * live counts and the ask-to-tell ratio, pause and resume), rating (each
 * behaviour, its definition, indicators and level anchors one key away,
 * score 1-4 or not applicable where the rubric allows it, an evidence note
 * where the rubric requires one for the score, which the UI insists on),
 * the follow-up of the pair's open actions from earlier sessions (shown
 * from setup on; a status and an evidence note each), agreed actions
 * (owner, due date, focus behaviours or a rep skill, a stable id), review
 * and submit (a summary, then the server's answer in words: stored,
 * duplicate, queued when the server cannot be reached, or refused with its
 * code, field and message and a way back to fix and resubmit under the
 * same id).
 *
 * Every keystroke's effect is saved to the local store (localstore.h,
 * durable on return) before the screen shows it, so a killed client
 * resumes exactly with --resume. When the store cannot be written (a full
 * disk) the UI says NOT SAVED on every screen, keeps the session in memory
 * and tries again at every key and every second; quitting then takes the
 * typed word "discard". A resumed session whose id the server already has
 * is shown as already stored (same content) or offered a way out: discard
 * the copy, keep it, or submit it as an amendment. Messages wrap at the
 * bottom of the screen rather than being cut. The clock is kept in wall-clock time
 * (LocalSession.elapsed_ms, plus now - clock_started_ms while it runs): a
 * clock that was running when the client quit or died has kept counting
 * when the session is resumed, as the session in the room did.
 *
 * Works in 80x24 and larger (a smaller terminal shows a message until it
 * grows), redraws on resize, '?' shows the keys, colour only when the
 * terminal has it and NO_COLOR is unset, UTF-8 text in a UTF-8 locale
 * (setlocale() is set from the environment for the call and restored).
 * The rubric and the people come from the server when it can be reached
 * and are cached in the local store; offline, the caches are used, and
 * with no people cached the observer types ids.
 *
 * The UI is built in four parts: the session model without a terminal
 * (session.h: the draft, the clock, the phases, the journal and the
 * server), the screens (observe_draw.c), the keys (observe_keys.c), and
 * start-up with the run loop (observe.c), which share observe_int.h.
 */
#ifndef COACHQ_OBSERVE_H
#define COACHQ_OBSERVE_H

#include <stdint.h>
#include <stdio.h>

#include "client.h"
#include "localstore.h"

struct observe_opts {
    const struct client_opts *conn; /* the server (may be unreachable); NULL = offline */
    const char *server_label;       /* e.g. "127.0.0.1:7443", saved with the session */
    /* Preset choices (NULL/0 = ask in the setup phase). */
    const char *rubric_id;
    uint32_t rubric_version;
    const char *coach_id;
    const char *coachee_id;
    int session_type; /* Coachq__V1__SessionType */
    int focus;        /* Coachq__V1__CoachingFocus */
    int resume;       /* continue the saved session (error if none) */
    /* Score from a recording (NULL = live): its reference and length. */
    const char *recording_ref;
    uint32_t recording_length_ms;
    /* Amend: start from this stored record's content, with a new id and
     * amends set to its root; begins in the rating phase. */
    const Coachq__V1__StoredObservation *amend;
    /* Fix a rejected outbox entry: start from it in the review phase. */
    const Coachq__V1__OutboxEntry *fix;
    /* Calibration (`coachq calibrate`): the reference session scored (16
     * bytes, NULL = a live session) and its title for the banner. The
     * draft carries it as calibration_ref; setup's checks are skipped. */
    const uint8_t *calibration_ref;
    const char *calibration_title;
    /* Set when the UI closes (may be NULL): 1 when the server stored the
     * observation (or had it already) in this run, 0 otherwise. */
    int *stored_out;
    /* An assignment the observation fulfils (16 bytes; NULL: none), kept
     * in the draft's assignment_id (coachq observe --assignment). */
    const uint8_t *assignment_id;
    /* Standard output may be a file or a pipe (`coachq calibrate --json
     * REF > out.json`): the UI then draws on the controlling terminal
     * (/dev/tty), and stdout keeps only what the caller prints. */
    int tty_out;
    /* A calibration attempt's result, shown in the UI at once: called
     * with calibration_arg once the server has the attempt, it returns
     * the result as text (lines; malloc'd, the UI frees it), or NULL for
     * nothing to show. NULL: no result screen. */
    char *(*calibration_result)(void *arg);
    void *calibration_arg;
};

/*
 * Runs the UI on the terminal (standard input and output) until the
 * observer submits (stored, duplicate, or queued when the server cannot be
 * reached), quits (the session stays saved for --resume) or leaves a
 * refused observation in the outbox. When a session is saved and
 * o->resume is not set, the UI first asks whether to resume it, discard it
 * or quit. ls, o (and everything it points to) are borrowed for the call;
 * the one line saying what became of the observation goes to out after the
 * UI closes, errors that stop it from starting go to err. Runs on the
 * calling thread; uses ncurses, so one call at a time per process.
 *
 * Returns the process exit code: 0 stored or queued; 1 quit with the
 * session saved, or refused and left in the outbox as rejected; 2 usage
 * (not a terminal, --resume with no saved session, an invalid preset id, a
 * rubric neither cached nor on the server, an amend or fix record without
 * an observation id); 3 the local store failed, or the observer typed
 * "discard" to quit with a session the store could not save.
 */
int observe_run(struct localstore *ls, const struct observe_opts *o, FILE *out, FILE *err);

#endif
