/*
 * dash_actions: the agreed actions on the line dashboards (dashboards.md,
 * "Agreed actions"): on My managers, "actions agreed -> followed up ->
 * done" per manager; on Manager detail and My coaching, the coach's open
 * and overdue actions.
 *
 * Tables are built into the dash's arena (dash_builder.h); c and the rows
 * are borrowed for the call.
 */
#ifndef COACHQ_DASH_ACTIONS_H
#define COACHQ_DASH_ACTIONS_H

#include <stddef.h>

#include "dash_builder.h"

/* One manager of a My managers page. */
struct dash_actions_row {
    const char *id;
    const char *name;
    const Coachq__V1__AggWeek *total; /* the manager's line-coach weeks of the window, summed */
};

/* Table "follow_through": per manager, the actions agreed in the window,
 * the share followed up in a later session and the share done. */
void dash_actions_follow_through(struct dash *d, const struct dash_ctx *c,
                                 const struct dash_actions_row *rows, size_t n);

/* Table "open_actions": coach's actions not yet done or dropped, as the
 * viewer may read them. */
void dash_actions_open(struct dash *d, const struct dash_ctx *c, const char *coach);

#endif
