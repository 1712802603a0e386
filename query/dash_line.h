/*
 * dash_line: the line managers' dashboards 1 and 2: "My managers" (a
 * second-level manager's front-line managers side by side) and "Manager
 * detail" (one front-line manager's behaviours and markers over time, with
 * their recent observations). The third, "My coaching" (dashboard 5), is in
 * dash_coaching.h.
 *
 * Each is a dash_build_cb (dash_builder.h) that the dispatcher (dash.c)
 * calls with c->subject resolved to the person the page is about and access
 * already decided. They fill d and return 0, -ENOMEM when d has failed, or
 * another negative code from the store; c and everything in it are borrowed
 * for the call, and what they add to d lives in d's arena.
 */
#ifndef COACHQ_DASH_LINE_H
#define COACHQ_DASH_LINE_H

#include "dash_builder.h"

int dash_my_managers(struct dash *d, const struct dash_ctx *c);
int dash_manager(struct dash *d, const struct dash_ctx *c);

#endif
