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

/* The behaviour whose rating says whether agreed actions were followed up:
 * the only one the follow-through tables read of a row's total. */
#define DASH_FOLLOW_UP_BEHAVIOUR "documents-actions"

/* One manager of a My managers page. */
struct dash_actions_row {
    const char *id;
    const char *name;
    const char *scope; /* the page's line-coach scope of the manager, "<line>/<manager>" */
    const Coachq__V1__AggWeek *total; /* that scope's weeks of the window, summed */
};

/* Open actions listed on a page at most (N): the most overdue first. */
#define DASH_ACTIONS_SHOWN 20u

/* Table "actions": per manager, actions recorded in observations and the
 * observers' action-agreed markers, from the aggregates, beside the share
 * of ratings of documents-actions scored proficient or better. */
void dash_actions_agreed(struct dash *d, const struct dash_ctx *c,
                         const struct dash_actions_row *rows, size_t n_rows);

/* Table "follow-through": per manager, the actions agreed in the window's
 * weeks while the manager was in the line, the share followed up in a
 * later session and the shares by latest status, from the weekly counters
 * (store/actions.h): the cost is managers x weeks. */
void dash_actions_follow_through(struct dash *d, const struct dash_ctx *c,
                                 const struct dash_actions_row *rows, size_t n);

/* Table "open-actions": coach's actions not yet done or dropped, the
 * DASH_ACTIONS_SHOWN most overdue of them, with the open and overdue
 * totals, when the viewer may read the coach's actions. Reads at most
 * DASH_ACTIONS_SHOWN records and one counter per due day. */
void dash_actions_open(struct dash *d, const struct dash_ctx *c, const char *coach);

/* Focus progress: reps read at most, their most recent actions read, the
 * follow-ups kept per focus, the table's rows and the chart's series. */
#define DASH_FOCUS_REPS 50u
#define DASH_FOCUS_ACTIONS 6u
#define DASH_FOCUS_POINTS 8u
#define DASH_FOCUS_ROWS 200u
#define DASH_FOCUS_SERIES 12u

/* Table "focus-progress" and chart "focus-progress" (Manager detail): per
 * rep reporting to coach today and focus behaviour (or skill) of the
 * DASH_FOCUS_ACTIONS actions coach agreed with them most recently, the
 * status each later session gave them, by day; when the viewer may read
 * coach's actions. Reads at most DASH_FOCUS_REPS x DASH_FOCUS_ACTIONS
 * records (and index keys, store/actions.h). Returns 0 or a negative
 * errno. */
int dash_actions_focus(struct dash *d, const struct dash_ctx *c, const char *coach);

#endif
