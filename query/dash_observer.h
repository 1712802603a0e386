/*
 * dash_observer: an observer's own reliability, "My reliability"
 * (dashboard 7, dashboards.md "My reliability"): their row of Observer
 * reliability (certification and its expiry, calibration, double coding,
 * coverage), and week by week the sessions they scored, the managers and
 * lines they observed and their severity drift against the other
 * observers of the same managers.
 *
 * An observer sees only their own page, and on it nothing that another
 * observer's figures or a manager's scores by others could be read from:
 * calibration figures are withheld (pass or fail only, as in `coachq cert
 * status`), agreement on double-coded sessions is withheld, and severity
 * drift is built from weekly per-manager cells, a manager's cell entering
 * only when at least privacy_min other observers rated them that week, and
 * a week counted only when the amendment window after it is over and at
 * least privacy_min managers' cells entered it; every drift figure is a sum
 * of whole counted weeks, and what the observer's own late sessions or
 * amendments can change gives away at most one manager's week over
 * privacy_min other observers. Leads and administrators see the row with
 * the leads' page's figures.
 *
 * dash_observer() is a dash_build_cb (dash_builder.h): c->subject is the
 * observer. Returns 0, -ENOMEM when d failed or memory ran out, or a
 * negative code from the store.
 */
#ifndef COACHQ_DASH_OBSERVER_H
#define COACHQ_DASH_OBSERVER_H

#include "dash_builder.h"

int dash_observer(struct dash *d, const struct dash_ctx *c);

#endif
