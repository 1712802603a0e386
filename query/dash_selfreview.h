/*
 * dash_selfreview: how often reps review themselves first, on a manager's
 * pages (dashboards.md, "Reps reviewing themselves first"): of the recorded
 * calls reviewed, those where the rep commented before the manager (step 2
 * of asynchronous call review), and of the observed sessions, those where
 * the rep self-assessed (the live marker). From the weekly aggregates of
 * the page's window (AggWeek.recordings, recordings_rep_first,
 * self_assess_n); figures below the minimum n are "insufficient data".
 */
#ifndef COACHQ_DASH_SELFREVIEW_H
#define COACHQ_DASH_SELFREVIEW_H

#include <stddef.h>

#include "dash_builder.h"
#include "dash_mix.h"

/* Appends the table "self-review" for the window's total (borrowed). */
void dash_self_review(struct dash *d, const Coachq__V1__AggWeek *total);

/* Appends the table "self-review-line" on My managers: per manager of rows
 * (n of them, the last one the whole line; borrowed), the recorded calls
 * and the shares of rep-first reviews and of live self-assessments. */
void dash_self_review_line(struct dash *d, const struct dash_mix_row *rows, size_t n);

#endif
