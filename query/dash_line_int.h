/*
 * dash_line_int: what the line dashboards' modules share and nothing else
 * may use: the figures of one week that dash_line.c (My managers, Manager
 * detail), dash_coaching.c (My coaching) and dash_actions.c (their agreed
 * actions) all read, defined once in dash_line.c.
 *
 * Every function here is pure or writes only into the dash it is given, so
 * each may run on any thread that owns that dash; everything passed in is
 * borrowed for the call.
 */
#ifndef COACHQ_DASH_LINE_INT_H
#define COACHQ_DASH_LINE_INT_H

#include <stdint.h>

#include "dash_builder.h"

/* At most this many front-line managers are shown under one manager (and
 * peers compared on My coaching); an organisation with more is cut with a
 * note, so the cost stays bounded. */
#define DASH_LINE_MAX_MANAGERS 200u

/* The count of marker kind in w (a MARKER_KIND_* value), 0 when w has no
 * such marker. */
uint64_t dash_line_marker(const Coachq__V1__AggWeek *w, unsigned kind);

/* The mean per-observation quality index of w, NAN without data. */
double dash_line_quality(const Coachq__V1__AggWeek *w);

/* n as a cell's count: n, or UINT32_MAX when it does not fit. */
unsigned dash_line_n32(uint64_t n);

/* The label of the week starting on monday (a day number), as
 * agg_week_label() writes it, copied into d's arena (NULL when d has
 * failed: the caller need not check, d records the failure). */
const char *dash_line_week_label(struct dash *d, int32_t monday);

/* What a page calls behaviour b: its name, or its id when it has none.
 * The result is borrowed from b. */
const char *dash_line_behaviour_name(const Coachq__V1__Behaviour *b);

/* Adds the n weeks that end with c->until_monday's, oldest first, as the
 * x labels of chart ch (in d's arena). */
void dash_line_chart_weeks(struct dash *d, const struct dash_ctx *c, Coachq__V1__Chart *ch,
                           unsigned n);

#endif
