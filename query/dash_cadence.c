/*
 * dash_cadence: cadence and commitment on the line dashboards
 * (dash_cadence.h).
 */
#include "dash_cadence.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash_selfreview.h"
#include "dash_weeks.h"
#include "day.h"
#include "grow.h"
#include "people.h"
#include "stats.h"
#include "store.h"

/* Days of a month on average: 365.25 / 12. */
#define DAYS_PER_MONTH 30.4375

void dash_cadence_window(const struct dash_ctx *c, struct dash_cadence_window *w)
{
    unsigned weeks = c->req->not_coached_weeks;

    w->from_day = dash_week(c, c->opts->trend_weeks - 1);
    w->until_day = c->until_day < c->today ? c->until_day : c->today;
    if (w->until_day < w->from_day) {
        w->until_day = w->from_day;
    }
    w->weeks = weeks >= 1 && weeks <= 52 ? weeks : DASH_CADENCE_WEEKS;
}

struct reps {
    char (*id)[65];
    size_t n;
    size_t cap;
    int cut;
};

static int reps_cb(const char *id, void *arg)
{
    struct reps *rs = arg;
    size_t len = strnlen(id, sizeof(rs->id[0]) - 1);

    if (rs->n == DASH_CADENCE_MAX_REPS) {
        rs->cut = 1;
        return 1;
    }
    if (GROW_ARRAY(rs->id, rs->cap, rs->n + 1, 16) < 0) {
        return -ENOMEM;
    }
    /* Copied by its length, as snprintf() would (cut at 64 bytes, which a
     * stored id never exceeds), without a format's parsing per rep. */
    memcpy(rs->id[rs->n], id, len);
    rs->id[rs->n][len] = '\0';
    rs->n++;
    return 0;
}

static void day_text(int32_t day, char *buf, size_t len)
{
    day_format(day, buf, len);
}

/* Sums a week's session time (agg_read_impact()). */
static int seconds_cb(int32_t monday, const struct agg_slots *w, void *arg)
{
    uint64_t *seconds = arg;

    (void)monday;
    *seconds += w->seconds;
    return 0;
}

/* The observed minutes of manager's window: the session time of the
 * observations the quality figures count (AGG_COACH), from the seconds of
 * each stored week kept in the manager's impact blocks: 1 or 2 values for
 * the window rather than one per week, with the same sum (whole numbers).
 * No behaviour is read. */
static int cadence_observed_minutes(const struct dash_ctx *c, const char *manager,
                                    uint64_t *minutes)
{
    uint64_t seconds = 0;
    int rc = agg_read_impact(c->t, dash_agg_kind(c, AGG_COACH), manager, c->rubric_id,
                             dash_week(c, c->opts->trend_weeks - 1), c->until_monday, 1, 0, NULL, 0,
                             seconds_cb, &seconds);

    if (rc == 0) {
        *minutes = (seconds + 30) / 60;
    }
    return rc;
}

/* The median of the n values counted in cnt (cnt[v]: how many are v), as
 * stats_median() gives it for the same values: the middle one, or the mean
 * of the middle two; NAN when n is 0. Gaps are whole days below the
 * window's length, so counting them replaces sorting them. */
static double count_median(const unsigned *cnt, size_t n)
{
    size_t want = n / 2, seen = 0;
    double lo = NAN;

    if (n == 0) {
        return NAN;
    }
    for (size_t v = 0;; v++) {
        seen += cnt[v];
        if (n % 2 == 0 && isnan(lo) && seen >= want) {
            lo = (double)v;
        }
        if (seen > want) {
            return n % 2 ? (double)v : (lo + (double)v) / 2;
        }
    }
}

/* The highest bit set of b[0..nw), or -1 when none is. */
static int64_t bits_last(const uint64_t *b, size_t nw)
{
    for (size_t i = nw; i-- > 0;) {
        if (b[i] != 0) {
            return (int64_t)(i * 64 + 63 - (size_t)__builtin_clzll(b[i]));
        }
    }
    return -1;
}

/* The bits set of b[0..nw) at from or above: a word at a time. */
static unsigned bits_count_from(const uint64_t *b, size_t nw, size_t from)
{
    unsigned n = 0;

    for (size_t i = from / 64; i < nw; i++) {
        uint64_t w = i == from / 64 ? b[i] & (~(uint64_t)0 << (from % 64)) : b[i];

        n += (unsigned)__builtin_popcountll(w);
    }
    return n;
}

int dash_cadence_manager(struct dash *d, const struct dash_ctx *c,
                         const struct dash_cadence_window *w, const char *manager,
                         const Coachq__V1__AggWeek *observed, struct dash_cadence *out,
                         Coachq__V1__Table *t)
{
    struct reps rs = {NULL, 0, 0, 0};
    int32_t recent_from = w->until_day - 7 * (int32_t)w->weeks + 1;
    int32_t shown_from = recent_from < w->from_day ? recent_from : w->from_day;
    int32_t scan_from = shown_from;
    int32_t commit_from = INT32_MAX; /* "every N weeks": the last N weeks */
    uint64_t *bits = NULL;           /* a rep's coaching days: bit i is day scan_from + i */
    size_t nw, win0;
    size_t span = (size_t)(w->until_day - w->from_day + 1);
    unsigned *pooled = NULL; /* the gaps of every rep, counted by length */
    unsigned *mine = NULL;   /* those of the rep at hand */
    size_t ngaps = 0;
    double window_days = (double)span;
    char scope[65];
    uint64_t observed_min = 0;
    unsigned in_time = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    /* The commitment first, so that one read of each rep's days serves
     * every figure, "in time" included. */
    rc = cadence_commit_for(c->t, manager, &out->commit, scope, sizeof(scope));
    if (rc == 0) {
        out->has_commit = 1;
        if (out->commit.kind == CADENCE_EVERY_WEEKS) {
            commit_from = w->until_day - 7 * (int32_t)out->commit.value + 1;
            if (commit_from < scan_from) {
                scan_from = commit_from;
            }
        }
    } else if (rc != -ENOENT) {
        goto out;
    }
    if (scan_from < 0) {
        scan_from = 0;
    }
    rc = people_reports_at(c->t, manager, w->until_day, reps_cb, &rs);
    if (rc != 0) {
        goto out;
    }
    /* The days come as a bitmap, not a list: every figure below is a
     * count, a highest bit or the distance between neighbouring bits, so
     * no day is walked but those of the window's gaps. */
    nw = scan_from <= w->until_day ? CADENCE_BITS_WORDS(scan_from, w->until_day) : 1;
    win0 = w->from_day > scan_from ? (size_t)(w->from_day - scan_from) : 0;
    bits = calloc(nw, sizeof(*bits));
    pooled = calloc(span, sizeof(*pooled));
    mine = calloc(span, sizeof(*mine));
    if (bits == NULL || pooled == NULL || mine == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    out->reps = (unsigned)rs.n;
    out->cut = rs.cut;
    for (size_t i = 0; i < rs.n; i++) {
        unsigned in_window, longest = 0;
        int64_t hi, last = -1, prev = -1;
        uint64_t held_min = 0;
        size_t mine0 = ngaps;
        int recent;
        Coachq__V1__TableRow *r;
        char buf[16];

        memset(mine, 0, span * sizeof(*mine));
        rc = cadence_pair_bits(c->t, manager, rs.id[i], scan_from, w->until_day, w->from_day, bits,
                               nw, &held_min);
        if (rc != 0) {
            goto out;
        }
        /* The days before shown_from were read for the commitment only. */
        hi = bits_last(bits, nw);
        in_time += hi >= 0 && scan_from + hi >= commit_from;
        if (hi >= 0 && scan_from + hi >= shown_from) {
            last = scan_from + hi;
        }
        recent = last >= 0 && last >= recent_from;
        in_window = bits_count_from(bits, nw, win0);
        out->minutes += held_min;
        /* The window's days a word at a time, lowest bit first: a rep of
         * many coaching days costs a step per day, not a call. */
        for (size_t wi = win0 / 64; wi < nw; wi++) {
            uint64_t word = wi == win0 / 64 ? bits[wi] & (~(uint64_t)0 << (win0 % 64)) : bits[wi];

            for (; word != 0; word &= word - 1) {
                int64_t j = (int64_t)(wi * 64 + (size_t)__builtin_ctzll(word));

                if (prev >= 0) {
                    unsigned gap = (unsigned)(j - prev);

                    pooled[gap]++;
                    mine[gap]++;
                    ngaps++;
                    if (gap > longest) {
                        longest = gap;
                    }
                }
                prev = j;
            }
        }
        out->days += in_window;
        if (longest > out->longest_gap) {
            out->longest_gap = longest;
        }
        if (!recent) {
            out->not_coached++;
        }
        if (t == NULL) {
            continue;
        }
        r = dash_row(d, t);
        dash_cell_text(d, r, dash_person_name(d, c->t, rs.id[i]), rs.id[i]);
        dash_cell_count(d, r, in_window);
        if (last >= 0) {
            day_text((int32_t)last, buf, sizeof(buf));
            dash_cell_text(d, r, buf, NULL);
        } else {
            dash_cell_text(d, r, "not in the window", NULL);
        }
        dash_cell_num(d, r, count_median(mine, ngaps - mine0), (unsigned)(ngaps - mine0), 1);
        if (ngaps > mine0) {
            dash_cell_count(d, r, longest);
        } else {
            dash_cell_text(d, r, "no gap", NULL);
        }
        dash_cell_text(d, r, recent ? "no" : "yes", NULL);
    }
    out->ngaps = (unsigned)ngaps;
    out->median_gap = count_median(pooled, ngaps);
    out->per_rep_month =
        rs.n > 0 ? (double)out->days / (double)rs.n / (window_days / DAYS_PER_MONTH) : NAN;
    if (observed != NULL) {
        /* The page's own sum of the same weeks: no second read. */
        observed_min = (observed->seconds + 30) / 60;
        out->rec_n = observed->recordings;
        out->rec_rep_first = observed->recordings_rep_first;
    } else {
        rc = cadence_observed_minutes(c, manager, &observed_min);
        if (rc != 0) {
            goto out;
        }
    }
    out->minutes += observed_min;
    out->minutes_week = (double)out->minutes / (window_days / 7.0);
    if (out->has_commit && out->commit.kind == CADENCE_MINUTES_PER_WEEK) {
        out->commit_figure = out->minutes_week;
        out->commit_met = out->minutes_week + 1e-9 >= (double)out->commit.value;
    } else if (out->has_commit) {
        /* Every rep every N weeks: each rep coached in the last N weeks
         * and no gap in the window longer than N weeks. */
        out->commit_figure = rs.n > 0 ? (double)in_time / (double)rs.n : NAN;
        out->commit_met = rs.n > 0 && in_time == rs.n && out->longest_gap <= 7 * out->commit.value;
    }
    rc = 0;
out:
    free(bits);
    free(pooled);
    free(mine);
    free(rs.id);
    return rc;
}

void dash_cadence_columns(struct dash *d, unsigned weeks, const char **cols)
{
    cols[0] = "Reps";
    cols[1] = "Sessions per rep per month";
    cols[2] = "Median gap (days)";
    cols[3] = "Longest gap (days)";
    cols[4] = dash_printf(d, "Reps not coached in %u weeks", weeks);
    cols[5] = "Minutes per week";
    cols[6] = "Commitment (input)";
    cols[7] = DASH_REP_FIRST_TITLE;
}

/* The commitment cell of a manager with one. */
static void dash_cadence_commit_cell(struct dash *d, Coachq__V1__TableRow *r,
                                     const struct dash_cadence *k)
{
    char text[96];

    cadence_commit_text(&k->commit, text, sizeof(text));
    if (k->commit.kind == CADENCE_MINUTES_PER_WEEK) {
        dash_cell_text(d, r,
                       dash_printf(d, "%s: %s (%.0f)", text, k->commit_met ? "met" : "not met",
                                   k->commit_figure),
                       NULL);
    } else {
        dash_cell_text(d, r,
                       dash_printf(d, "%s: %s (%.0f%% of reps in time)", text,
                                   k->commit_met ? "met" : "not met",
                                   isnan(k->commit_figure) ? 0.0 : 100.0 * k->commit_figure),
                       NULL);
    }
}

void dash_cadence_cells(struct dash *d, const struct dash_ctx *c, Coachq__V1__TableRow *r,
                        const struct dash_cadence *k)
{
    Coachq__V1__Cell *cell;

    dash_cell_count(d, r, k->reps);
    cell = dash_cell_num(d, r, k->per_rep_month, k->reps > 0 ? k->days : 0, 2);
    if (cell != NULL && k->reps > 0 && k->days < c->opts->min_n) {
        /* A count is no estimate: zero or few sessions is itself the
         * figure, shown as it is. */
        cell->insufficient = 0;
        cell->has_value = 1;
        cell->value = k->per_rep_month;
        cell->text = dash_printf(d, "%.2f", k->per_rep_month);
    }
    dash_cell_num(d, r, k->median_gap, k->ngaps, 1);
    if (k->ngaps > 0) {
        dash_cell_count(d, r, k->longest_gap);
    } else {
        dash_cell_text(d, r, "no gap", NULL);
    }
    dash_cell_count(d, r, k->not_coached);
    cell = dash_cell_count(d, r, (uint64_t)llround(k->minutes_week));
    if (!k->has_commit) {
        dash_cell_text(d, r, "none set", NULL);
    } else {
        dash_cadence_commit_cell(d, r, k);
    }
    /* Self-review first: the rule of the self-review tables (a share of
     * recorded reviews, not shown below the minimum n of them). */
    dash_cell_share(d, r, k->rec_rep_first, k->rec_n);
}

const char *dash_cadence_note(struct dash *d, const struct dash_cadence_window *w)
{
    char from[16], until[16];

    day_format(w->from_day, from, sizeof(from));
    day_format(w->until_day, until, sizeof(until));
    return dash_printf(
        d,
        "Cadence is an input, shown beside quality, never instead of it. From %s to %s. A "
        "coaching day is a day with an observed session of the manager and the rep, or an "
        "imported session held (coachqd import sessions), or both: an observed and an "
        "imported session of the same pair on the same day count once. Sessions per rep per "
        "month: coaching days / reps / months of the window (n: coaching days). Gaps: days "
        "between a rep's consecutive coaching days in the window, all reps pooled (n: gaps). "
        "Not coached: reps with no coaching day in the last %u weeks. Minutes: the time of "
        "the observed sessions the quality index counts, plus the imported minutes of days "
        "with no observed session. Rep first: of the reviews of a recorded call, the share where "
        "the rep commented before the manager (n: those reviews). Reps: those reporting to the "
        "manager on %s.",
        from, until, w->weeks, until);
}

int dash_cadence_my_coaching(struct dash *d, const struct dash_ctx *c, double quality, unsigned qn,
                             const Coachq__V1__AggWeek *observed)
{
    struct dash_cadence_window w;
    struct dash_cadence k;
    const char *cols[DASH_CADENCE_NCOLS + 1];
    const char *rcols[6];
    Coachq__V1__Table *t, *rt;
    Coachq__V1__TableRow *r;
    int rc;

    dash_cadence_window(c, &w);
    cols[0] = "Quality index";
    dash_cadence_columns(d, w.weeks, cols + 1);
    rcols[0] = "Rep";
    rcols[1] = "Coaching days";
    rcols[2] = "Last coached";
    rcols[3] = "Median gap (days)";
    rcols[4] = "Longest gap (days)";
    rcols[5] = dash_printf(d, "Not coached in %u weeks", w.weeks);
    t = dash_table(d, "my-cadence", "Your coaching cadence (an input, beside your quality)", cols,
                   DASH_CADENCE_NCOLS + 1);
    rt = dash_table(d, "my-cadence-reps", "Cadence per rep", rcols, 6);
    if (t == NULL || rt == NULL) {
        return dash_failed(d) != 0 ? dash_failed(d) : -ENOMEM;
    }
    rc = dash_cadence_manager(d, c, &w, c->subject, observed, &k, rt);
    if (rc != 0) {
        return rc;
    }
    t->note = (char *)dash_cadence_note(d, &w);
    rt->note = (char *)"Your reps on the page's last day, with the rules of the table above. A "
                       "median gap needs the minimum n of gaps.";
    r = dash_row(d, t);
    dash_cell_num(d, r, quality, qn, 2);
    dash_cadence_cells(d, c, r, &k);
    if (k.cut) {
        dash_note(d, "Cadence: only the first %u reps are counted.", DASH_CADENCE_MAX_REPS);
    }
    return 0;
}

int dash_cadence_my_managers(struct dash *d, const struct dash_ctx *c,
                             const struct dash_cadence_line *ms, size_t n)
{
    struct dash_cadence_window w;
    struct dash_cadence *ks = NULL;
    const char *cols[DASH_CADENCE_NCOLS + 2];
    static const char *const qcols[] = {"Manager", "Sessions per rep per month", "Quality index",
                                        "Quantity without quality"};
    Coachq__V1__Table *t, *qt;
    double *xs = NULL, *ys = NULL;
    double xsplit, ysplit;
    size_t np = 0;
    int rc = 0;

    dash_cadence_window(c, &w);
    cols[0] = "Manager";
    cols[1] = "Quality index";
    dash_cadence_columns(d, w.weeks, cols + 2);
    t = dash_table(d, "cadence", "Coaching cadence and commitment (inputs, beside quality)", cols,
                   DASH_CADENCE_NCOLS + 2);
    qt = dash_table(d, "quantity-without-quality",
                    "Volume, quality and cadence: quantity without quality", qcols, 4);
    ks = calloc(n + 1, sizeof(*ks));
    xs = calloc(n + 1, sizeof(*xs));
    ys = calloc(n + 1, sizeof(*ys));
    if (t == NULL || qt == NULL || ks == NULL || xs == NULL || ys == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    t->note = (char *)dash_cadence_note(d, &w);
    for (size_t i = 0; i < n; i++) {
        const struct dash_cadence_line *m = &ms[i];
        Coachq__V1__TableRow *r;

        rc = dash_cadence_manager(d, c, &w, m->id, NULL, &ks[i], NULL);
        if (rc != 0) {
            goto out;
        }
        /* The reviews of this line only, as every table of the page: the
         * line on the session date decides, not the manager's own scope. */
        ks[i].rec_n = m->rec_n;
        ks[i].rec_rep_first = m->rec_first;
        r = dash_row(d, t);
        dash_cell_text(d, r, m->name, m->id);
        dash_cell_num(d, r, m->quality, m->qn, 2);
        dash_cadence_cells(d, c, r, &ks[i]);
        if (m->qn >= c->opts->min_n && ks[i].reps > 0) {
            xs[np] = ks[i].per_rep_month;
            ys[np] = m->quality;
            np++;
        }
    }
    xsplit = stats_median(xs, np);
    ysplit = stats_median(ys, np);
    qt->note = dash_printf(
        d,
        "The quadrant's third dimension (docs/domain.md): cadence is sessions per rep per "
        "month over the window. A manager above the line's median cadence (%.2f) and below "
        "its median quality index (%.2f) coaches often but not well: quantity without "
        "quality. Managers with fewer than %u observations or no reps are left out.",
        np > 0 ? xsplit : 0.0, np > 0 ? ysplit : 0.0, c->opts->min_n);
    for (size_t i = 0; i < n; i++) {
        const struct dash_cadence_line *m = &ms[i];
        Coachq__V1__TableRow *r;
        double x, y;

        if (m->qn < c->opts->min_n || ks[i].reps == 0) {
            continue;
        }
        x = ks[i].per_rep_month;
        y = m->quality;
        r = dash_row(d, qt);
        dash_cell_text(d, r, m->name, m->id);
        dash_cell_text(d, r, dash_fixed_text(d, x, 2), NULL);
        dash_cell_num(d, r, y, m->qn, 2);
        dash_cell_text(d, r, x > xsplit && y < ysplit ? "yes" : "no", NULL);
    }
out:
    free(ks);
    free(xs);
    free(ys);
    return rc;
}
