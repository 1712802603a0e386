/*
 * demo_recording: some of the demo's call reviews are asynchronous reviews
 * of a recorded call (domain.md, "Recorded session"): the record names the
 * recording and its length, the review's stage times (picked by the rep,
 * the rep's comments, the manager's, the meeting) and, where the rep
 * commented first, the rep's own comments as markers at recording offsets.
 * Which sessions, and everything about them, follows from the session's
 * index, so the demo's random streams (and every other figure) stay as
 * they were.
 */
#include <stdio.h>

#include "demo_int.h"

#define DAY_S 86400

static const char *const manager_words[] = {
    "Good discovery in the first ten minutes; the pricing answer came too early.",
    "You let the buyer talk: keep that. Next time ask who else decides.",
    "Strong close on next steps; the objection at the middle needed a question, not an answer.",
};

static const char *const rep_words[] = {
    "I rushed past the budget question here.",
    "This went well: the buyer named the deadline herself.",
};

void demo_recording(struct demo *d, const struct demo_record *rec)
{
    const struct demo_session *s = &d->sess[rec->session];
    struct demo_obsbuf *ob = &d->ob;
    Coachq__V1__Recording r = COACHQ__V1__RECORDING__INIT;
    uint32_t si = rec->session;
    int rep_first = si % 4 != 0;

    if (s->rubric != DEMO_RUBRIC_CR || si % 3 != 0) {
        return;
    }
    if (si % 2 == 0) {
        snprintf(ob->rec_ref, sizeof(ob->rec_ref), "https://calls.example.com/demo/%u", si);
    } else {
        snprintf(ob->rec_ref, sizeof(ob->rec_ref), "CRM-CALL-%06u", si);
    }
    r.reference = ob->rec_ref;
    /* The call is longer than the part the markers fall in. */
    r.length_ms = s->duration_s * 1000u + 60000u * (1u + si % 9u);
    r.picked_at = s->started_at - 4 * DAY_S + (int64_t)(si % 7) * 3600;
    r.rep_commented_at = rep_first ? s->started_at - 3 * DAY_S : 0;
    r.manager_commented_at = s->started_at - DAY_S;
    r.discussed_at = s->started_at;
    r.manager_comments = (char *)manager_words[si % 3];
    ob->rec = r;
    ob->o.recording = &ob->rec;
    if (rep_first && ob->o.n_markers + 2 <= DEMO_MAX_MOMENTS) {
        for (size_t i = 0; i < 2; i++) {
            Coachq__V1__Marker mk = COACHQ__V1__MARKER__INIT;

            mk.kind = i == 0 ? COACHQ__V1__MARKER_KIND__MARKER_KIND_REP_SELF_ASSESSED
                             : COACHQ__V1__MARKER_KIND__MARKER_KIND_PRAISE;
            mk.offset_ms = r.length_ms / 4u * (uint32_t)(i + 1);
            mk.note = (char *)rep_words[i];
            mk.author = COACHQ__V1__RECORDING_AUTHOR__RECORDING_AUTHOR_REP;
            ob->m[ob->o.n_markers] = mk;
            ob->mp[ob->o.n_markers] = &ob->m[ob->o.n_markers];
            ob->o.n_markers++;
        }
    }
    if (!rec->second) {
        d->recordings++;
        d->recordings_rep_first += (unsigned)rep_first;
    }
}
