/*
 * dash_cadence: coaching cadence on the line dashboards (dashboards.md,
 * "Cadence and commitment"): from the coaching days of each manager and
 * rep (store/cadence.h: observed sessions and imported sessions held, one
 * per pair and day), over the trend window: sessions per rep per month,
 * the median and longest gap between coaching days, reps not coached in
 * the last N weeks, minutes per week, and the commitment that holds for
 * the manager with how the manager stands against it. Cadence is an input,
 * shown beside quality and never instead of it.
 *
 * The cost is the reps of the managers shown times their sessions in the
 * window: bounded by people and weeks, never by the store's observations.
 * Tables are built into the dash's arena (dash_builder.h); errors are
 * negative errnos.
 */
#ifndef COACHQ_DASH_CADENCE_H
#define COACHQ_DASH_CADENCE_H

#include <stddef.h>
#include <stdint.h>

#include "cadence.h"
#include "dash_builder.h"

/* Reps looked at per manager at most. */
#define DASH_CADENCE_MAX_REPS 200u
/* Default for "reps not coached in N weeks". */
#define DASH_CADENCE_WEEKS 4u

/* One manager's cadence over the window. */
struct dash_cadence {
    unsigned reps;        /* reps reporting to the manager on the last day */
    unsigned days;        /* coaching days with those reps in the window */
    double per_rep_month; /* days / reps / months of the window; NAN with no reps */
    double median_gap;    /* days between consecutive coaching days of a rep, pooled */
    unsigned ngaps;       /* the gaps it is the median of */
    unsigned longest_gap; /* the longest of them (0 with none) */
    unsigned not_coached; /* reps with no coaching day in the last N weeks */
    uint64_t minutes;     /* minutes of coaching in the window */
    double minutes_week;  /* minutes / weeks of the window */
    int has_commit;       /* a commitment holds for the manager */
    struct cadence_commit commit;
    int commit_met;         /* the manager meets it */
    double commit_figure;   /* minutes a week, or the share of reps coached in time (0..1) */
    int cut;                /* more reps than DASH_CADENCE_MAX_REPS */
    uint64_t rec_n;         /* reviews of a recorded call the quality figures count */
    uint64_t rec_rep_first; /* those where the rep commented before the manager */
};

/* The window's first and last day and N (weeks) for c. */
struct dash_cadence_window {
    int32_t from_day;
    int32_t until_day; /* c->until_day, but not after today */
    unsigned weeks;    /* N of "not coached in N weeks" */
};

/* The window of c. */
void dash_cadence_window(const struct dash_ctx *c, struct dash_cadence_window *w);

/*
 * Works out manager's cadence over the window (see above). When t is not
 * NULL, appends one row per rep to it (Rep, Coaching days, Last coached,
 * Median gap, Longest gap, Not coached in N weeks). observed (borrowed for
 * the call) is NULL, or the manager's AGG_COACH weeks of the window
 * (dash_agg_kind()'s, from dash_week(c, trend_weeks - 1) to
 * c->until_monday) summed by a page that read them already: its seconds
 * and recordings are the observed minutes' and the self-review's. When it
 * is NULL the observed minutes are read here (from the manager's impact
 * blocks) and the self-review's counts are left 0 for the caller to set
 * (My managers sets the line's). Returns 0 or a negative errno.
 */
int dash_cadence_manager(struct dash *d, const struct dash_ctx *c,
                         const struct dash_cadence_window *w, const char *manager,
                         const Coachq__V1__AggWeek *observed, struct dash_cadence *out,
                         Coachq__V1__Table *t);

/* The column titles of a manager's summary cells (dash_cadence_cells()),
 * DASH_CADENCE_NCOLS of them; weeks is N. Strings in d's arena. */
#define DASH_CADENCE_NCOLS 8
void dash_cadence_columns(struct dash *d, unsigned weeks, const char **cols);

/* Appends a manager's summary cells to r, in the order of
 * dash_cadence_columns(). */
void dash_cadence_cells(struct dash *d, const struct dash_ctx *c, Coachq__V1__TableRow *r,
                        const struct dash_cadence *k);

/* The note every cadence table carries: the rule of a coaching day and the
 * figures' definitions. */
const char *dash_cadence_note(struct dash *d, const struct dash_cadence_window *w);

/*
 * My coaching's tables "my-cadence" (the manager's own figures beside their
 * quality index, quality and qn) and "my-cadence-reps" (per rep), for
 * c->subject; observed as dash_cadence_manager()'s (the page's sum of the
 * subject's weeks, or NULL). Returns 0 or a negative errno.
 */
int dash_cadence_my_coaching(struct dash *d, const struct dash_ctx *c, double quality, unsigned qn,
                             const Coachq__V1__AggWeek *observed);

/* One front-line manager on My managers (dash_cadence_my_managers()). */
struct dash_cadence_line {
    const char *id;     /* borrowed for the call */
    const char *name;   /* borrowed for the call */
    double quality;     /* quality index over the trend window; NAN without data */
    unsigned qn;        /* observations the quality index counts */
    uint64_t rec_n;     /* reviews of a recorded call in this line over the window */
    uint64_t rec_first; /* those where the rep commented before the manager */
};

/*
 * My managers' tables "cadence" (each manager's cadence and commitment
 * beside their quality index) and "quantity-without-quality" (the
 * quadrant's third dimension: managers above the line's median cadence and
 * below its median quality) for ms[0..n). Returns 0 or a negative errno.
 */
int dash_cadence_my_managers(struct dash *d, const struct dash_ctx *c,
                             const struct dash_cadence_line *ms, size_t n);

#endif
