/*
 * dash_mix: the coaching mix and the team's results on the line
 * dashboards (dash_mix.h).
 */
#include "dash_mix.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "people.h"

/* ---- The coaching mix -------------------------------------------------- */

static const char *const focus_names[AGG_NFOCUS] = {"Not stated", "Process", "Skill", "Human"};
static const char *const type_names[AGG_NTYPES] = {
    "Not stated",   "Deal review",    "Call review",       "Pipeline review",
    "Account plan", "Skill practice", "Personal check-in",
};

static uint64_t mix_at(const Coachq__V1__AggWeek *w, size_t i)
{
    return i < w->n_mix ? w->mix[i] : 0;
}

static double mixq_at(const Coachq__V1__AggWeek *w, size_t i)
{
    return i < w->n_mix_q ? w->mix_q[i] : 0;
}

static unsigned clamp32(uint64_t n)
{
    return n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

/* A share of the row's sessions, in per cent, with the sessions as n. */
static void share_cell(struct dash *d, Coachq__V1__TableRow *r, uint64_t part, uint64_t all)
{
    Coachq__V1__Cell *cell =
        dash_cell_num(d, r, all > 0 ? 100.0 * (double)part / (double)all : NAN, clamp32(all), 0);

    if (cell != NULL && cell->has_value) {
        cell->text = dash_percent_text(d, cell->text);
    }
}

/* Table "mix-focus" or "mix-type": the shares of the sessions by the k
 * entries of the mix from first. */
static void mix_table(struct dash *d, const struct dash_ctx *c, const struct dash_mix_row *rows,
                      size_t n, const char *id, const char *title, const char *const *names,
                      size_t k, size_t first)
{
    const char *cols[2 + AGG_NTYPES];
    Coachq__V1__Table *t;

    cols[0] = "Manager";
    cols[1] = "Sessions observed";
    /* "Not stated" last: the kinds a session was given come first. */
    for (size_t i = 1; i < k; i++) {
        cols[1 + i] = names[i];
    }
    cols[1 + k] = names[0];
    t = dash_table(d, id, title, cols, 2 + k);
    if (t == NULL) {
        return;
    }
    t->note = dash_printf(d,
                          "The sessions observed over the last %u weeks, as shares of the row's "
                          "sessions (n); fewer than %u sessions is insufficient data. \"Not "
                          "stated\": sessions recorded without one.",
                          c->opts->trend_weeks, c->opts->min_n);
    for (size_t i = 0; i < n; i++) {
        const Coachq__V1__AggWeek *w = rows[i].w;
        Coachq__V1__TableRow *r = dash_row(d, t);
        uint64_t all = 0;

        for (size_t j = 0; j < k; j++) {
            all += mix_at(w, first + j);
        }
        dash_cell_text(d, r, rows[i].name, rows[i].link);
        dash_cell_count(d, r, all);
        for (size_t j = 1; j < k; j++) {
            share_cell(d, r, mix_at(w, first + j), all);
        }
        share_cell(d, r, mix_at(w, first), all);
    }
}

/* Table "quality-focus": the quality index by focus with its interval. */
static void quality_focus_table(struct dash *d, const struct dash_ctx *c,
                                const struct dash_mix_row *rows, size_t n)
{
    static const char *const cols[] = {
        "Manager",
        "Process",
        "Process 95% CI low",
        "Process 95% CI high",
        "Skill",
        "Skill 95% CI low",
        "Skill 95% CI high",
        "Human",
        "Human 95% CI low",
        "Human 95% CI high",
    };
    Coachq__V1__Table *t = dash_table(d, "quality-focus", "Quality by coaching focus", cols,
                                      sizeof(cols) / sizeof(cols[0]));

    if (t == NULL) {
        return;
    }
    t->note = dash_printf(d,
                          "The quality index (mean score 1 to 4 of each observation) of the "
                          "sessions of each focus over the last %u weeks, with its 95%% "
                          "confidence interval (t distribution); n is the number of those "
                          "observations, fewer than %u is insufficient data. An interval as "
                          "wide as the evidence: compare foci only where they do not overlap.",
                          c->opts->trend_weeks, c->opts->min_n);
    for (size_t i = 0; i < n; i++) {
        const Coachq__V1__AggWeek *w = rows[i].w;
        Coachq__V1__TableRow *r = dash_row(d, t);

        dash_cell_text(d, r, rows[i].name, rows[i].link);
        for (size_t f = 1; f < AGG_NFOCUS; f++) {
            uint64_t qn = mix_at(w, AGG_MIX_FOCUS_QN + f);
            double mean = NAN, lo = NAN, hi = NAN;

            if (qn > 0) {
                dash_page_mean_ci(d, qn, mixq_at(w, AGG_MIXQ_SUM + f),
                                  mixq_at(w, AGG_MIXQ_SUMSQ + f), &mean, &lo, &hi);
            }
            dash_cell_num(d, r, mean, clamp32(qn), 2);
            dash_cell_num(d, r, lo, clamp32(qn), 2);
            dash_cell_num(d, r, hi, clamp32(qn), 2);
        }
    }
}

int dash_mix_tables(struct dash *d, const struct dash_ctx *c, const struct dash_mix_row *rows,
                    size_t n)
{
    mix_table(d, c, rows, n, "mix-focus", "Coaching mix by focus", focus_names, AGG_NFOCUS,
              AGG_MIX_FOCUS);
    mix_table(d, c, rows, n, "mix-type", "Coaching mix by session type", type_names, AGG_NTYPES,
              AGG_MIX_TYPE);
    quality_focus_table(d, c, rows, n);
    return dash_failed(d);
}

/* ---- Quality beside the team's later results --------------------------- */

struct quarter_quality {
    /* The first day of quarter q0 + k, for k up to DASH_RESULT_QUARTERS:
     * quarter k holds the Mondays in [first[k], first[k + 1]). */
    int32_t first[DASH_RESULT_QUARTERS + 1];
    uint64_t n[DASH_RESULT_QUARTERS];
    double sum[DASH_RESULT_QUARTERS];
    double sumsq[DASH_RESULT_QUARTERS];
};

static int quarter_quality_cb(int32_t monday, const struct agg_slots *w, void *arg)
{
    struct quarter_quality *qq = arg;

    /* A week counts in the quarter its Monday falls in (as Programme
     * impact's correlation), found against the quarters' first days rather
     * than by working out each Monday's date. */
    for (size_t k = 0; k < DASH_RESULT_QUARTERS; k++) {
        if (monday >= qq->first[k] && monday < qq->first[k + 1]) {
            qq->n[k] += w->index_n;
            qq->sum[k] += w->index_sum;
            qq->sumsq[k] += w->index_sumsq;
            break;
        }
    }
    return 0;
}

/* Whether manager was in line_of's line on day: the chain is walked only
 * up to line_of (people_chain_has_at()). */
static int in_line_at(const struct dash_ctx *c, const char *manager, const char *line_of,
                      int32_t day, int *yes)
{
    return people_chain_has_at(c->t, manager, day, line_of, yes);
}

static const char *quarter_label(struct dash *d, int64_t q)
{
    int64_t y = q >= 0 ? q / 4 : (q - 3) / 4;

    return dash_printf(d, "%04lld-Q%d", (long long)y, (int)(q - y * 4) + 1);
}

/*
 * The quality index of row's weeks from from_day's week to until (any day
 * stands for its week) into qq, without behaviours (an empty window of
 * them) and without a whole AggWeek made of each value. A manager's own
 * weeks (AGG_COACH or its twin: My coaching's row) come from the impact
 * blocks, and a line's view of a manager (AGG_LINE_COACH: My managers'
 * rows) from the line-coach blocks, both holding the same index figures of
 * each stored week: 2 or 3 values per manager instead of about 26, the
 * weeks handed on oldest first as agg_read_slots() hands them, so the
 * quarters' sums are the same additions in the same order.
 */
static int results_quality(const struct dash_ctx *c, const struct dash_results_row *row,
                           int32_t from_day, int32_t until, struct quarter_quality *qq)
{
    enum agg_scope kind = dash_agg_kind(c, row->kind);

    if (((unsigned)kind & ~AGG_ASSIGNED) == AGG_COACH || kind == AGG_LINE_COACH) {
        return agg_read_impact(c->t, kind, row->scope, c->rubric_id, from_day, until, 1, 0, NULL, 0,
                               quarter_quality_cb, qq);
    }
    return agg_read_slots(c->t, kind, row->scope, c->rubric_id, agg_week_of(from_day), until, 1, 0,
                          NULL, 0, quarter_quality_cb, qq);
}

/* One manager's rows. */
static int results_rows(struct dash *d, const struct dash_ctx *c, Coachq__V1__Table *t,
                        const struct dash_result_subjects *subj, const struct dash_results_row *row,
                        int with_manager)
{
    double value[DASH_RESULT_METRICS][DASH_RESULT_MAX_QUARTERS];
    unsigned n[DASH_RESULT_METRICS][DASH_RESULT_MAX_QUARTERS];
    int blocked[DASH_RESULT_MAX_QUARTERS]; /* 1: not in the line, 2: not over */
    struct quarter_quality qq;
    int64_t q0 = dash_quarter_of(c->until_day) - DASH_RESULT_QUARTERS - 1;
    /* The quality is shown for the first DASH_RESULT_QUARTERS quarters
     * only (the later ones are there for their results): the weeks after
     * them are not read. */
    int32_t q_last = dash_quarter_first_day(q0 + DASH_RESULT_QUARTERS) - 1;
    int any = 0;
    int rc;

    memset(&qq, 0, sizeof(qq));
    for (size_t k = 0; k <= DASH_RESULT_QUARTERS; k++) {
        qq.first[k] = dash_quarter_first_day(q0 + (int64_t)k);
    }
    rc = results_quality(c, row, dash_quarter_first_day(q0),
                         q_last < c->until_monday ? q_last : c->until_monday, &qq);
    if (rc == 0) {
        rc = dash_team_results(c, subj, row->manager, q0, DASH_RESULT_MAX_QUARTERS, value, n);
    }
    for (size_t k = 0; k < DASH_RESULT_MAX_QUARTERS && rc == 0; k++) {
        int32_t last = dash_quarter_first_day(q0 + (int64_t)k + 1) - 1;
        int yes = 1;

        /* Only quarters that are over: which reps make the team is then
         * fixed (those on the quarter's last day), whatever day the page
         * is asked for, so no two pages split a team's figure. */
        if (last > c->until_day) {
            blocked[k] = 2;
            continue;
        }
        if (row->line_of != NULL) {
            rc = in_line_at(c, row->manager, row->line_of, last, &yes);
        }
        blocked[k] = !yes;
    }
    if (rc != 0) {
        return rc;
    }
    for (size_t mi = 0; mi < DASH_RESULT_METRICS; mi++) {
        int has = 0;

        for (size_t k = 1; k < DASH_RESULT_MAX_QUARTERS; k++) {
            has |= blocked[k] != 2 && isfinite(value[mi][k]);
        }
        if (!has) {
            continue;
        }
        any = 1;
        for (size_t k = 0; k < DASH_RESULT_QUARTERS; k++) {
            Coachq__V1__TableRow *r = dash_row(d, t);
            double mean = NAN;

            if (with_manager) {
                dash_cell_text(d, r, row->name, row->manager);
            }
            dash_cell_text(d, r, quarter_label(d, q0 + (int64_t)k), NULL);
            if (qq.n[k] > 0) {
                mean = qq.sum[k] / (double)qq.n[k];
            }
            dash_cell_num(d, r, mean, clamp32(qq.n[k]), 2);
            dash_cell_text(d, r, dash_result_metric(mi), NULL);
            for (size_t lag = 1; lag <= DASH_RESULT_LAGS; lag++) {
                size_t j = k + lag;
                Coachq__V1__Cell *cell;

                if (blocked[j]) {
                    dash_cell_text(d, r, blocked[j] == 2 ? "quarter not over" : "not in this line",
                                   NULL);
                    continue;
                }
                if (!isfinite(value[mi][j])) {
                    dash_cell_text(d, r, "no data", NULL);
                    continue;
                }
                /* A result is a figure of record, not a mean of
                 * observations: shown whatever its n (the figures
                 * averaged). */
                cell = dash_cell_num(d, r, value[mi][j], c->opts->min_n, 2);
                if (cell != NULL) {
                    cell->n = n[mi][j];
                }
            }
        }
    }
    if (!any) {
        Coachq__V1__TableRow *r = dash_row(d, t);

        if (with_manager) {
            dash_cell_text(d, r, row->name, row->manager);
        }
        dash_cell_text(d, r, "", NULL);
        dash_cell_text(d, r, "", NULL);
        dash_cell_text(d, r, "no results imported", NULL);
        dash_cell_text(d, r, "no data", NULL);
        dash_cell_text(d, r, "no data", NULL);
    }
    return 0;
}

int dash_results_table(struct dash *d, const struct dash_ctx *c,
                       const struct dash_results_row *rows, size_t n, int with_manager)
{
    static const char *const cols[] = {"Manager",
                                       "Quarter",
                                       "Quality index",
                                       "Metric",
                                       "Team result 1 quarter later",
                                       "Team result 2 quarters later"};
    struct dash_result_subjects subj;
    Coachq__V1__Table *t;
    int rc = 0;

    memset(&subj, 0, sizeof(subj));
    t = dash_table(d, "team-results",
                   "Quality beside the team's results one and two quarters later "
                   "(correlation, not causation)",
                   cols + (with_manager ? 0 : 1), with_manager ? 6 : 5);
    if (t == NULL) {
        return dash_failed(d);
    }
    t->note = dash_printf(
        d,
        "Correlation, not causation: results follow from many things besides coaching, and a "
        "team that does well next quarter says nothing about why. Quality index: the mean "
        "observation score (1 to 4) of the sessions of the quarter (a week counts in the quarter "
        "its Monday falls in; n observations, fewer than %u is insufficient data). Team result: "
        "the team's own imported figure for the quarter (or its months averaged), or else the "
        "mean of the figures of the reps who reported to the manager on the last day of that "
        "quarter; n is the figures averaged. Only quarters that are over are shown, so a rep who "
        "changed teams counts in the team they ended the quarter in, on every page and day. A "
        "quarter when the manager was not in the line of "
        "the person this page is for shows \"not in this line\".",
        c->opts->min_n);
    /* With several managers, who has figures of their own is read once
     * for the page rather than found rep by rep for each manager. */
    if (n > 1) {
        rc = dash_result_subjects_read(c, n, &subj);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = results_rows(d, c, t, &subj, &rows[i], with_manager);
    }
    dash_result_subjects_free(&subj);
    return rc != 0 ? rc : dash_failed(d);
}

/* ---- Programme impact: the mix before and after training --------------- */

/* The groups of the mix shift. */
enum { SHIFT_TB, SHIFT_TA, SHIFT_UB, SHIFT_UA, SHIFT_N };

struct shift_group {
    uint64_t mix[AGG_NMIX];
    unsigned managers; /* with at least one session in the group */
};

struct shift_read {
    int32_t split; /* the first Monday counted "after" */
    uint64_t before[AGG_NMIX];
    uint64_t after[AGG_NMIX];
};

static int shift_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    struct shift_read *sr = arg;
    uint64_t *to = monday < sr->split ? sr->before : sr->after;

    for (size_t i = 0; i < AGG_NMIX && i < w->n_mix; i++) {
        to[i] += w->mix[i];
    }
    return 0;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

    return (x > y) - (x < y);
}

static void shift_add(struct shift_group *g, const uint64_t *mix)
{
    uint64_t all = 0;

    for (size_t i = 0; i < AGG_NMIX; i++) {
        g->mix[i] += mix[i];
    }
    for (size_t f = 0; f < AGG_NFOCUS; f++) {
        all += mix[AGG_MIX_FOCUS + f];
    }
    g->managers += all > 0;
}

/* The median training week of the managers trained in the period (0:
 * none). */
static int shift_median(const struct dash_ids *flm, const int32_t *cweek, int32_t from_monday,
                        int32_t *median, size_t *ntrained)
{
    int32_t *weeks = calloc(flm->n + 1, sizeof(*weeks));
    size_t nt = 0;

    if (weeks == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < flm->n; i++) {
        if (cweek[i] != 0 && cweek[i] > from_monday) {
            weeks[nt++] = cweek[i];
        }
    }
    *median = 0;
    if (nt > 0) {
        qsort(weeks, nt, sizeof(*weeks), cmp_i32);
        *median = weeks[nt / 2];
    }
    free(weeks);
    *ntrained = nt;
    return 0;
}

int dash_mix_shift_splits(const struct dash_ids *flm, const int32_t *cweek, int32_t from_monday,
                          int32_t *split)
{
    int32_t median;
    size_t nt;
    int rc = shift_median(flm, cweek, from_monday, &median, &nt);

    for (size_t i = 0; i < flm->n && rc == 0; i++) {
        split[i] = cweek[i] != 0 ? cweek[i] : median;
    }
    return rc;
}

static int shift_table(struct dash *d, const struct dash_ctx *c, struct shift_group *g);

int dash_mix_shift_read(struct dash *d, const struct dash_ctx *c, const struct dash_ids *flm,
                        const int32_t *cweek, int32_t from_monday, const uint64_t *mix)
{
    struct shift_group g[SHIFT_N];
    int32_t median;
    size_t nt;
    int rc = shift_median(flm, cweek, from_monday, &median, &nt);

    if (rc != 0) {
        return rc;
    }
    memset(g, 0, sizeof(g));
    for (size_t i = 0; i < flm->n; i++) {
        int trained = cweek[i] != 0;

        if ((trained && cweek[i] <= from_monday) || (!trained && nt == 0)) {
            continue; /* as dash_mix_shift() */
        }
        shift_add(&g[trained ? SHIFT_TB : SHIFT_UB], &mix[2 * i * AGG_NMIX]);
        shift_add(&g[trained ? SHIFT_TA : SHIFT_UA], &mix[(2 * i + 1) * AGG_NMIX]);
    }
    return shift_table(d, c, g);
}

int dash_mix_shift(struct dash *d, const struct dash_ctx *c, const struct dash_ids *flm,
                   const int32_t *cweek, int32_t from_monday)
{
    struct shift_group g[SHIFT_N];
    int32_t *weeks = calloc(flm->n + 1, sizeof(*weeks));
    size_t nt = 0;
    int32_t median = 0;
    int rc = 0;

    if (weeks == NULL) {
        return -ENOMEM;
    }
    memset(g, 0, sizeof(g));
    for (size_t i = 0; i < flm->n; i++) {
        if (cweek[i] != 0 && cweek[i] > from_monday) {
            weeks[nt++] = cweek[i];
        }
    }
    if (nt > 0) {
        qsort(weeks, nt, sizeof(*weeks), cmp_i32);
        median = weeks[nt / 2];
    }
    free(weeks);
    for (size_t i = 0; i < flm->n && rc == 0; i++) {
        struct shift_read sr;
        int trained = cweek[i] != 0;

        if (trained && cweek[i] <= from_monday) {
            continue; /* trained by the period's first week: no "before" */
        }
        memset(&sr, 0, sizeof(sr));
        sr.split = trained ? cweek[i] : median;
        if (!trained && nt == 0) {
            continue;
        }
        rc = agg_read_head(c->t, dash_agg_kind(c, AGG_COACH), flm->id[i], c->rubric_id, from_monday,
                           c->until_monday, shift_cb, &sr);
        if (rc == 0) {
            shift_add(&g[trained ? SHIFT_TB : SHIFT_UB], sr.before);
            shift_add(&g[trained ? SHIFT_TA : SHIFT_UA], sr.after);
        }
    }
    if (rc != 0) {
        return rc;
    }
    return shift_table(d, c, g);
}

/* The table of the groups g. */
static int shift_table(struct dash *d, const struct dash_ctx *c, struct shift_group *g)
{
    static const char *const cols[] = {
        "Group",        "Managers",       "Sessions observed", "Process",     "Skill",
        "Human",        "Not stated",     "Deal review",       "Call review", "Pipeline review",
        "Account plan", "Skill practice", "Personal check-in",
    };
    static const char *const names[SHIFT_N] = {
        "Trained: before training",
        "Trained: after training",
        "Not yet trained: before the median training week",
        "Not yet trained: from the median training week",
    };
    Coachq__V1__Table *t;

    t = dash_table(d, "mix-shift", "Coaching mix before and after training", cols,
                   sizeof(cols) / sizeof(cols[0]));
    if (t == NULL) {
        return dash_failed(d);
    }
    t->note = dash_printf(
        d,
        "Whether trained managers' mix shifted: the front-line managers who completed a "
        "programme in the period, their sessions before the week of their completion and from "
        "it; against the managers not yet trained, their sessions before and from the median "
        "training week, for the change that happened anyway. Shares of the group's sessions "
        "(n); fewer than %u sessions is insufficient data, and a group of fewer than %u "
        "managers with sessions is not broken down. Managers trained before the period are "
        "left out (no before).",
        c->opts->min_n, c->opts->privacy_min);
    for (size_t k = 0; k < SHIFT_N; k++) {
        Coachq__V1__TableRow *r = dash_row(d, t);
        uint64_t all = 0;

        for (size_t f = 0; f < AGG_NFOCUS; f++) {
            all += g[k].mix[AGG_MIX_FOCUS + f];
        }
        dash_cell_text(d, r, names[k], NULL);
        dash_cell_count(d, r, g[k].managers);
        if (g[k].managers < c->opts->privacy_min) {
            for (size_t j = 2; j < sizeof(cols) / sizeof(cols[0]); j++) {
                dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
            }
            continue;
        }
        dash_cell_count(d, r, all);
        for (size_t f = 1; f < AGG_NFOCUS; f++) {
            share_cell(d, r, g[k].mix[AGG_MIX_FOCUS + f], all);
        }
        share_cell(d, r, g[k].mix[AGG_MIX_FOCUS], all);
        for (size_t s = 1; s < AGG_NTYPES; s++) {
            share_cell(d, r, g[k].mix[AGG_MIX_TYPE + s], all);
        }
    }
    return dash_failed(d);
}
