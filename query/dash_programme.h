/*
 * dash_programme: the enablement lead's "Programme impact" dashboard (3):
 * quality before and after training against managers not yet trained
 * (difference-in-differences, with its placebo check), attendance beside
 * quality by cohort, and quality against the team's later business results.
 *
 * dash_programme() is a dash_build_cb (dash_builder.h) that the dispatcher
 * (dash.c) calls once access is decided. It fills d and returns 0, -ENOMEM
 * when d has failed or memory ran out, -E2BIG past the people it handles,
 * or another negative code from the store; c is borrowed for the call, and
 * what it adds to d lives in d's arena.
 */
#ifndef COACHQ_DASH_PROGRAMME_H
#define COACHQ_DASH_PROGRAMME_H

#include "dash_builder.h"

int dash_programme(struct dash *d, const struct dash_ctx *c);

#endif
