/*
 * dash_obs_expiry: the Observer reliability dashboard's notes on
 * certifications that end soon (dashboards.md, "Certification expiry").
 */
#ifndef COACHQ_DASH_OBS_EXPIRY_H
#define COACHQ_DASH_OBS_EXPIRY_H

#include "cert_expiry.h"
#include "dash_builder.h"

/*
 * Adds a note to d for each rubric whose certification of observer oid,
 * holding today in the observer's zone, ends within CERT_EXPIRY_WARN_DAYS
 * days (certifications that follow on without a day between count as
 * one), and on row r (the observer's; may be NULL) sets the "Certified"
 * cell to "yes, ends in N days" for the dashboard's rubric when a warning
 * is due (left as it is otherwise).
 * Returns 0 or a negative code from the store.
 */
int dash_obs_expiry(struct dash *d, const struct dash_ctx *c, const char *oid,
                    Coachq__V1__TableRow *r);

#endif
