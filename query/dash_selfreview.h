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
#include <stdint.h>

#include "dash_builder.h"
#include "dash_mix.h"

/* The title of the column of the share of recorded reviews where the rep
 * commented first, the same on every table that carries it. */
#define DASH_REP_FIRST_TITLE "Rep first (%)"

/* Appends to r the cell of the share first / n in percent with n as its n:
 * "insufficient data" below the minimum n, as every share of the
 * self-review tables. Returns the cell, or NULL when out of memory. */
Coachq__V1__Cell *dash_cell_share(struct dash *d, Coachq__V1__TableRow *r, uint64_t first,
                                  uint64_t n);

/* Appends the table "self-review" for the window's total (borrowed). */
void dash_self_review(struct dash *d, const Coachq__V1__AggWeek *total);

/* Appends the table "self-review-line" on My managers: per manager of rows
 * (n of them, the last one the whole line; borrowed), the recorded calls
 * and the shares of rep-first reviews and of live self-assessments. */
void dash_self_review_line(struct dash *d, const struct dash_mix_row *rows, size_t n);

#endif
