/*
 * dash_obs_history: one observer's calibration history (Observer
 * reliability about one observer: get_dashboard.subject_id names them).
 *
 * dash_obs_history() is called by dash_observers() when the request names
 * a subject. It fills d and returns 0, -ENOENT when the subject is not an
 * observer (the page does not exist), -ENOMEM when d has failed, or
 * another negative code from the store.
 */
#ifndef COACHQ_DASH_OBS_HISTORY_H
#define COACHQ_DASH_OBS_HISTORY_H

#include "dash_builder.h"

int dash_obs_history(struct dash *d, const struct dash_ctx *c);

/* Appends r's Exact, Within one and Kappa cells to row, as the history
 * shows them (kappa "undefined: one category" when the master scores
 * compared all fall in one category); My reliability uses it too. */
void dash_obs_agreement_cells(struct dash *d, Coachq__V1__TableRow *row,
                              const Coachq__V1__CalibrationResult *r);

#endif
