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

#endif
