/*
 * dash_mix: the coaching mix and the team's results, as the line dashboards
 * (dash_line.c: My managers, Manager detail, My coaching) show them.
 *
 * The mix: the split of the observed sessions by coaching focus (process,
 * skill, human) and by session type, and the quality index by focus with
 * its 95% interval, from the weekly aggregates' mix (agg.h, AGG_MIX_*): the
 * cost is the people and weeks shown, never the observations.
 *
 * The results: a manager's quality index per quarter beside their team's
 * results one and two quarters later (correlation, never causation). A
 * team's result is its own imported figure, or else the mean of the figures
 * of the reps who reported to the manager at the end of that quarter
 * (dash_team_results(), the same rule as Programme impact's).
 *
 * Everything added lives in d's arena; c is borrowed for the call. The
 * functions return 0 or a negative code (-ENOMEM when d failed, or the
 * store's).
 */
#ifndef COACHQ_DASH_MIX_H
#define COACHQ_DASH_MIX_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "coachq.pb-c.h"
#include "dash_builder.h"

/* One row of the mix tables: a manager (or a line) and the sum of its
 * window's weeks (borrowed). */
struct dash_mix_row {
    const char *name;
    const char *link; /* a person id the row links to, or NULL */
    const Coachq__V1__AggWeek *w;
};

/* Tables "mix-focus", "mix-type" and "quality-focus", one row each. */
int dash_mix_tables(struct dash *d, const struct dash_ctx *c, const struct dash_mix_row *rows,
                    size_t n);

/* Quarters of quality shown beside later results, and lags: the third-
 * and second-last whole quarters, whose results one quarter later are over
 * (and two quarters later, for the first). */
#define DASH_RESULT_QUARTERS 2
#define DASH_RESULT_LAGS 2
#define DASH_RESULT_METRICS 4
#define DASH_RESULT_MAX_QUARTERS (DASH_RESULT_QUARTERS + DASH_RESULT_LAGS)

/* One manager of the results table. */
struct dash_results_row {
    const char *name;
    const char *manager; /* whose team's results */
    enum agg_scope kind; /* whose quality: (kind, scope) in the aggregates */
    const char *scope;
    /* NULL, or a person above the manager: a result counts only for a
     * quarter at whose end (or on the page's last day) the manager was in
     * that person's line, so nobody sees a team's results from a time it
     * was not theirs to see. */
    const char *line_of;
};

/* Table "team-results": per manager, quality in each of the last
 * DASH_RESULT_QUARTERS quarters (see above) beside the team's results one and
 * two quarters later, per metric that has any. with_manager adds the
 * "Manager" column (My managers). */
int dash_results_table(struct dash *d, const struct dash_ctx *c,
                       const struct dash_results_row *rows, size_t n, int with_manager);

/* Programme impact's table "mix-shift": the mix of the front-line managers
 * flm trained in the period (cweek[i]: the Monday of manager i's completion
 * week, 0 for none) before and from their training, against the managers
 * not yet trained before and from the median training week, over the weeks
 * from from_monday to the page's last; groups of fewer than privacy_min
 * managers with sessions are not broken down. */
int dash_mix_shift(struct dash *d, const struct dash_ctx *c, const struct dash_ids *flm,
                   const int32_t *cweek, int32_t from_monday);

/* The same table from mixes already read (dash_mom_set_mix()): split[i]
 * is where manager i's mix is split (dash_mix_shift_splits()), mix their
 * mix before it and from it, over the weeks from from_monday to the page's
 * last. The figures are dash_mix_shift()'s, with no read of its own. */
int dash_mix_shift_splits(const struct dash_ids *flm, const int32_t *cweek, int32_t from_monday,
                          int32_t *split);
int dash_mix_shift_read(struct dash *d, const struct dash_ctx *c, const struct dash_ids *flm,
                        const int32_t *cweek, int32_t from_monday, const uint64_t *mix);

/* The people with figures of their own (not a team's), of any period, read
 * once for a page of several managers (dash_result_subjects_read()), so
 * that a rep without any is not read per manager and quarter, and a line
 * where nobody has any reads no reporting lines for its results. made is 0
 * when they were not read: every rep is read then. id is in the outcomes'
 * key order (length, then bytes); ids past 64 bytes are left out (never a
 * rep of the results). */
struct dash_result_subjects {
    int made;
    char (*id)[65];
    size_t n, cap;
};

/* dash_programme.c: reads subj for a page of managers managers: made stays
 * 0 when the store holds more subjects than such a page's reps would cost
 * to read one by one. Returns 0 or a negative code; free with
 * dash_result_subjects_free(). Borrowed c; the caller's thread.
 *
 * What a made list skips, and so no longer reports: the figures of a rep
 * without one of their own are not read, so a damaged team figure (flag 1)
 * stored under that rep's id no longer fails the page with -EIO; and when
 * nobody has a figure of their own, the reporting lines are not read for
 * the results, so an error of people_reports_on() there no longer fails it
 * either. Pages of one manager (My coaching, or My managers of a line of
 * one) read every rep as before and still fail with -EIO. coachqd
 * verify does not read the outcomes today (it checks the aggregates, the
 * action records, the assignments and the cadence counts): damage there
 * shows only on a page that reads the damaged key. */
int dash_result_subjects_read(const struct dash_ctx *c, size_t managers,
                              struct dash_result_subjects *subj);
void dash_result_subjects_free(struct dash_result_subjects *subj);

/* dash_programme.c: quarters (year * 4 + quarter - 1) and the team results
 * of manager in quarters q0 .. q0 + nq - 1 (nq <= DASH_RESULT_MAX_QUARTERS):
 * value[m][k] (NAN: none) for metric m (dash_result_metric()), and n[m][k]
 * the figures averaged. subj (borrowed, may be NULL): the people with
 * figures of their own, when read (dash_result_subjects_read()). */
int64_t dash_quarter_of(int32_t day);
int32_t dash_quarter_first_day(int64_t q);
const char *dash_result_metric(size_t mi);
int dash_team_results(const struct dash_ctx *c, const struct dash_result_subjects *subj,
                      const char *manager, int64_t q0, size_t nq,
                      double value[][DASH_RESULT_MAX_QUARTERS],
                      unsigned n[][DASH_RESULT_MAX_QUARTERS]);

#endif
