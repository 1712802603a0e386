/*
 * dash_observers: the enablement lead's "Observer reliability" dashboard
 * (4): per observer, certification, calibration against the reference
 * sessions, agreement on double-coded observations, severity drift against
 * the other observers of the same managers, coverage, and suspicious
 * calibration attempts.
 *
 * dash_observers() is a dash_build_cb (dash_builder.h) that the dispatcher
 * (dash.c) calls once access is decided. It fills d and returns 0, -ENOMEM
 * when d has failed or memory ran out, -E2BIG past the people it handles,
 * or another negative code from the store; c is borrowed for the call, and
 * what it adds to d lives in d's arena.
 */
#ifndef COACHQ_DASH_OBSERVERS_H
#define COACHQ_DASH_OBSERVERS_H

#include "dash_builder.h"

int dash_observers(struct dash *d, const struct dash_ctx *c);

/* A front-line manager's window over every observer, as the row's severity
 * drift needs it: observations, ratings and their sum (AGG_COACH, or its
 * twin under the assigned-only filter, summed week by week, oldest first). */
struct dash_obs_window {
    uint64_t observations;
    double n;
    double sum;
};

/* Fills *w with coach's window and returns 0 (or a negative code to fail
 * the build); coach and w borrowed for the call. */
typedef int (*dash_obs_window_fn)(const char *coach, struct dash_obs_window *w, void *arg);

/*
 * One observer's row of the leads' table, for their own page (dash_observer.h):
 * a table "reliability" ("My reliability") with the same columns, note and
 * figures, and no chart; *table is set to it (in d's arena). The
 * certification-expiry notes are added as on the leads' page. A caller that
 * has already read the windows of the managers the observer saw (My
 * reliability, which reads them week by week for its own table) passes
 * window: the row takes each from window(coach, &w, arg) instead of reading
 * it again; NULL window reads them itself. The windows must be what the row
 * would read, summed in the same order, so the row is the same. A caller
 * that has listed the front-line managers (dash_ids_with_role()'s list,
 * or dash_ids_with_roles()', which walks the people once for two roles)
 * passes them as flm; NULL lists them here. c, oid, flm and arg are
 * borrowed for the call, on the thread building d. Returns as
 * dash_observers().
 */
int dash_observers_row_from(struct dash *d, const struct dash_ctx *c, const char *oid,
                            const struct dash_ids *flm, dash_obs_window_fn window, void *arg,
                            Coachq__V1__Table **table);

#endif
