/*
 * dash_coaching: "My coaching" (dashboard 5): a front-line manager's own
 * trend and the behaviours to work on next, beside their peers'.
 *
 * dash_my_coaching() is a dash_build_cb (dash_builder.h) that the
 * dispatcher (dash.c) calls with c->subject resolved to the manager the
 * page is about and access already decided. It fills d and returns 0,
 * -ENOMEM when d has failed, or another negative code from the store; c and
 * everything in it are borrowed for the call, and what it adds to d lives
 * in d's arena. It runs on the thread that owns d and c->t.
 */
#ifndef COACHQ_DASH_COACHING_H
#define COACHQ_DASH_COACHING_H

#include "dash_builder.h"

int dash_my_coaching(struct dash *d, const struct dash_ctx *c);

#endif
