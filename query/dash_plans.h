/*
 * dash_plans: the observation programme's coverage against its plans
 * (store/assign.h; docs/dashboards.md, "Coverage against the plan"), a
 * table that Observer reliability and Programme impact share: per plan,
 * the managers in scope in the period holding the page's last day, how
 * many were observed as often as the plan asks, the assignments drawn and
 * what became of them, and the share of the period's observations that
 * came from random assignment rather than the observer's own choice.
 */
#ifndef COACHQ_DASH_PLANS_H
#define COACHQ_DASH_PLANS_H

#include "dash_builder.h"

/* Adds the table "coverage-plans" to d (nothing when no plan is set).
 * Returns 0 or a negative code. */
int dash_plans(struct dash *d, const struct dash_ctx *c);

#endif
