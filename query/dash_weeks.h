/*
 * dash_weeks: the weeks of one scope (a manager, a line, ...) as the line
 * dashboards (dash_line.c) read them from the weekly aggregates
 * (agg_read()): each of the page's weeks and, for the weekly series, the
 * rolling sum of the DASH_ROLL weeks ending with it.
 *
 * Ownership: a struct dash_weeks is the caller's and owns its weeks, whose
 * behaviours, ids and arrays live in a few chunks (an arena) freed together
 * by dash_weeks_free(). A week summed by dash_week_add() is the caller's,
 * allocated with malloc, freed by dash_week_clear(). Errors are -ENOMEM or
 * the store's negative codes.
 */
#ifndef COACHQ_DASH_WEEKS_H
#define COACHQ_DASH_WEEKS_H

#include <stdint.h>

#include "agg.h"
#include "coachq.pb-c.h"
#include "dash_builder.h"

/* Weekly series show each week with the weeks before it, DASH_ROLL weeks in
 * all: one manager is rarely observed DASH_MIN_N times in a single week, so
 * single weeks would be "insufficient data" almost everywhere. */
#define DASH_ROLL 4

struct week_chunk;

/* One scope's weeks: w[0] is the oldest, w[n - 1] the week of until_day;
 * r[i] is the sum of the DASH_ROLL weeks ending with w[i] (its n counts
 * those weeks' observations). Their memory is arena's. */
struct dash_weeks {
    unsigned n;
    int32_t first; /* Monday of w[0] */
    Coachq__V1__AggWeek *w;
    Coachq__V1__AggWeek *r;
    Coachq__V1__AggWeek *raw; /* DASH_ROLL - 1 weeks before w[0], then w */
    struct week_chunk *arena;
    int index_only; /* w and r hold the quality figures only (DASH_ROLL_INDEX) */
};

/* What dash_weeks_load() sums into the rolling weeks ws->r: nothing, the
 * weeks whole, or the weeks without their behaviours (for pages that show
 * only the rolling quality or markers: the behaviours are most of a
 * sum's work), or the quality figures alone: with DASH_ROLL_INDEX the
 * weeks ws->w and their rolling sums hold only observations, index_n,
 * index_sum and index_sumsq (every other figure 0, no array), added in
 * the same order as DASH_ROLL_HEAD adds them, so those figures are
 * DASH_ROLL_HEAD's (for a page that shows only the rolling quality: the
 * markers', pairs' and mix's arrays are most of a head sum's work). */
enum dash_roll {
    DASH_ROLL_NONE = 0,
    DASH_ROLL_ALL = 1,
    DASH_ROLL_HEAD = 2,
    DASH_ROLL_INDEX = 3,
};

/* Reads the last n weeks (up to c->until_monday) of one scope, and their
 * rolling sums as roll says (ws->r; left empty with DASH_ROLL_NONE). On
 * failure ws holds nothing. */
int dash_weeks_load(const struct dash_ctx *c, enum agg_scope kind, const char *id, unsigned n,
                    enum dash_roll roll, struct dash_weeks *ws);

/* dash_weeks_load() with DASH_ROLL_HEAD for a page that shows the weeks'
 * behaviours only summed (My managers, My coaching): ws's weeks and rolling
 * sums come without behaviours, and each week is added whole, as it is
 * read, into *total (every week of the n) and, when recent_sum is not NULL,
 * into *recent_sum (the last recent of them; all n when recent >= n). The
 * sums are those dash_weeks_sum() gives of dash_weeks_load()'s weeks
 * (the same additions in the same order), without a copy of each week's
 * behaviours. *total and *recent_sum are initialised here and are the
 * caller's: dash_week_clear() them, also after a failure. Otherwise as
 * dash_weeks_load(). */
int dash_weeks_load_sums(const struct dash_ctx *c, enum agg_scope kind, const char *id, unsigned n,
                         struct dash_weeks *ws, Coachq__V1__AggWeek *total, unsigned recent,
                         Coachq__V1__AggWeek *recent_sum);

/* dash_weeks_load_sums() for a page that shows one behaviour of the whole
 * window's sum (My managers: the follow-up column) and the others only
 * over the recent weeks (its heat map), and of the weeks themselves only
 * their quality: *total keeps only the behaviour whose id is total_only
 * (borrowed for the call; NULL: every one), its figures added in the same
 * order, and ws's weeks and rolling sums are DASH_ROLL_INDEX's (the
 * quality figures alone). Otherwise as dash_weeks_load_sums(). */
int dash_weeks_load_sums_only(const struct dash_ctx *c, enum agg_scope kind, const char *id,
                              unsigned n, struct dash_weeks *ws, Coachq__V1__AggWeek *total,
                              const char *total_only, unsigned recent,
                              Coachq__V1__AggWeek *recent_sum);

/* Sums weeks [from, to) of ws into *sum (initialised here; dash_week_clear()
 * it, also after a failure). */
int dash_weeks_sum(const struct dash_weeks *ws, unsigned from, unsigned to,
                   Coachq__V1__AggWeek *sum);

/* The same without the behaviours (*sum has none), for figures of the
 * counters and sums alone (quality, observations, markers; of weeks read
 * with DASH_ROLL_INDEX only the quality figures, the others 0). */
int dash_weeks_sum_head(const struct dash_weeks *ws, unsigned from, unsigned to,
                        Coachq__V1__AggWeek *sum);

void dash_weeks_free(struct dash_weeks *ws);

/* dst += src, the same sums in the same order as agg_week_add(); dst's
 * memory from malloc (free with dash_week_clear()). */
int dash_week_add(Coachq__V1__AggWeek *dst, const Coachq__V1__AggWeek *src);

void dash_week_clear(Coachq__V1__AggWeek *w);

#endif
