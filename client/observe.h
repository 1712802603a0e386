/*
 * observe: the live-scoring terminal UI (ncurses) of `coachq observe` and
 * `coachq amend`.
 *
 * Phases: setup (rubric, coach, coachee, session type, focus; or given as
 * options), live (a running clock, one key per marker kind, a note on the
 * last marker, live counts and the ask-to-tell ratio, pause and resume),
 * rating (each behaviour, its definition and level anchors one key away,
 * score 1-4 or not applicable, evidence where the rubric requires it,
 * agreed actions), review and submit (a summary, then the server's answer
 * in words, with a way back to fix and resubmit). Every keystroke's effect
 * is saved to the local store before the screen shows it (localstore.h),
 * so a killed client resumes exactly. Works in 80x24, redraws on resize,
 * '?' shows the keys, colour only when the terminal has it and NO_COLOR is
 * unset.
 */
#ifndef COACHQ_OBSERVE_H
#define COACHQ_OBSERVE_H

#include <stdint.h>
#include <stdio.h>

#include "client.h"
#include "localstore.h"

struct observe_opts {
    const struct client_opts *conn; /* the server (may be unreachable) */
    const char *server_label;      /* e.g. "127.0.0.1:7443", for the screen */
    /* Preset choices (NULL/0 = ask in the setup phase). */
    const char *rubric_id;
    uint32_t rubric_version;
    const char *coach_id;
    const char *coachee_id;
    int session_type; /* Coachq__V1__SessionType */
    int focus;        /* Coachq__V1__CoachingFocus */
    int resume;       /* continue the saved session (error if none) */
    /* Amend: start from this stored record's content, with a new id and
     * amends set to its root; begins in the rating phase. */
    const Coachq__V1__StoredObservation *amend;
    /* Fix a rejected outbox entry: start from it in the review phase. */
    const Coachq__V1__OutboxEntry *fix;
};

/*
 * Runs the UI until the observer submits (stored, duplicate, or queued
 * when offline), quits (the session stays saved for --resume) or aborts
 * it. Messages for after the UI closes go to out. Returns the process exit
 * code: 0 stored or queued, 1 refused and kept in the outbox or quit with
 * the session saved, 2 usage (e.g. --resume with no saved session, a
 * terminal smaller than 80x24), 3 local store failure.
 */
int observe_run(struct localstore *ls, const struct observe_opts *o, FILE *out, FILE *err);

#endif
