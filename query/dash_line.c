/*
 * dash_line: the line managers' dashboards: "My managers" (a second-level
 * manager's front-line managers side by side), "Manager detail" (one
 * front-line manager's behaviours and markers over time, with their recent
 * observations); "My coaching" (a front-line manager's own trend and the
 * behaviours to work on next) is in dash_coaching.c.
 *
 * Every figure comes from the weekly aggregates (agg_read()), so the cost is
 * weeks x managers, never the number of observations; the one exception is
 * the recent observations of Manager detail, which reads a bounded handful
 * of records through the coach index.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "certs.h"
#include "dash_actions.h"
#include "dash_cadence.h"
#include "day.h"
#include "dash_line.h"
#include "dash_line_int.h"
#include "dash_mix.h"
#include "dash_selfreview.h"
#include "dash_weeks.h"
#include "grow.h"
#include "obs.h"
#include "outcomes.h"
#include "people.h"
#include "rubrics.h"
#include "stats.h"
#include "store.h"
#include "tz.h"
#include "zone.h"

/* The recent observations of Manager detail: shown, and index keys read to
 * find them (calibration attempts and other rubrics are skipped). */
#define RECENT_SHOWN 10u
#define RECENT_MAX_KEYS 50u
/* Weeks in each half of the "trend" figure (last 4 against the 4 before). */
#define TREND_HALF 4u

#define MARK_OPEN COACHQ__V1__MARKER_KIND__MARKER_KIND_OPEN_QUESTION
#define MARK_DIRECTIVE COACHQ__V1__MARKER_KIND__MARKER_KIND_DIRECTIVE
#define MARK_TOOK_OVER COACHQ__V1__MARKER_KIND__MARKER_KIND_MANAGER_TOOK_OVER

/* ---- Figures of a week ------------------------------------------------- */

/* The helpers of dash_line_int.h are defined here, once for the three line
 * modules. */

uint64_t dash_line_marker(const Coachq__V1__AggWeek *w, unsigned kind)
{
    return kind < w->n_markers ? w->markers[kind] : 0;
}

double dash_line_quality(const Coachq__V1__AggWeek *w)
{
    return w->index_n > 0 ? w->index_sum / (double)w->index_n : NAN;
}

unsigned dash_line_n32(uint64_t n)
{
    return n > UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

/* Open questions per directive; infinite (shown "n/a") with no directive. */
static double ask_to_tell(const Coachq__V1__AggWeek *w)
{
    uint64_t tell = dash_line_marker(w, MARK_DIRECTIVE);

    return tell > 0 ? (double)dash_line_marker(w, MARK_OPEN) / (double)tell : INFINITY;
}

const char *dash_line_week_label(struct dash *d, int32_t monday)
{
    char buf[16];

    return dash_strdup(d, agg_week_label(monday, buf, sizeof(buf)));
}

const char *dash_line_behaviour_name(const Coachq__V1__Behaviour *b)
{
    return b->name != NULL && b->name[0] != '\0' ? b->name : b->id;
}

/* A cell with no figure and nothing to count ("no data", n 0). */
static void cell_none(struct dash *d, Coachq__V1__TableRow *r, const char *text)
{
    dash_cell_text(d, r, text, NULL);
}

void dash_line_chart_weeks(struct dash *d, const struct dash_ctx *c, Coachq__V1__Chart *ch,
                           unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        dash_chart_x(d, ch, dash_line_week_label(d, dash_week(c, n - 1 - i)));
    }
}

/* ---- The managers of a line ------------------------------------------- */

struct manager {
    char id[65];
    const char *name;  /* arena */
    const char *scope; /* arena: "<line>/<manager>", the page's line-coach scope */
    struct dash_weeks ws;
    Coachq__V1__AggWeek total; /* trend window */
    Coachq__V1__AggWeek heat;  /* heat-map window */
    double held;               /* sessions_held over the window's months */
    unsigned held_periods;     /* figures summed into held; 0 = none imported */
    uint64_t modules;          /* Attendance entries in the window */
    int completed;             /* completed a programme by until_day */
    int enrolled;
};

struct managers {
    struct manager *m;
    size_t n;
    size_t cap;
    int cut; /* more reports than DASH_LINE_MAX_MANAGERS */
    struct store_txn *t;
};

static int managers_cb(const char *id, void *arg)
{
    struct managers *ms = arg;
    Coachq__V1__Person *p = NULL;
    int flm;

    if (people_get(ms->t, id, &p) != 0) {
        return 0;
    }
    flm = people_has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER);
    coachq__v1__person__free_unpacked(p, NULL);
    if (!flm) {
        return 0; /* a direct report who manages nobody's coaching */
    }
    if (ms->n == DASH_LINE_MAX_MANAGERS) {
        ms->cut = 1;
        return 1;
    }
    if (GROW_ARRAY(ms->m, ms->cap, ms->n + 1, 8) < 0) {
        return -ENOMEM;
    }
    memset(&ms->m[ms->n], 0, sizeof(ms->m[ms->n]));
    snprintf(ms->m[ms->n].id, sizeof(ms->m[ms->n].id), "%s", id);
    ms->n++;
    return 0;
}

static void managers_free(struct managers *ms)
{
    for (size_t i = 0; i < ms->n; i++) {
        dash_weeks_free(&ms->m[i].ws);
        dash_week_clear(&ms->m[i].total);
        dash_week_clear(&ms->m[i].heat);
    }
    free(ms->m);
    ms->m = NULL;
    ms->n = 0;
}

struct held_scan {
    double sum;
    unsigned periods;
};

/* Each figure's metric and value as the outcomes' keys and stored bytes
 * give them (outcomes_figures()): no message unpacked per figure. */
static int held_cb(const struct outcomes_fig *f, void *arg)
{
    static const char metric[] = "sessions_held";
    struct held_scan *h = arg;

    if (f->metric_len == sizeof(metric) - 1 && memcmp(f->metric, metric, sizeof(metric) - 1) == 0 &&
        isfinite(f->value)) {
        h->sum += f->value;
        h->periods++;
    }
    return 0;
}

struct training_scan {
    struct managers *ms;
    struct manager **by_id; /* ms's managers sorted by id */
    int32_t from_day;
    int32_t until_day;
};

static int manager_ptr_cmp(const void *a, const void *b)
{
    return strcmp((*(struct manager *const *)a)->id, (*(struct manager *const *)b)->id);
}

static int training_cb(const Coachq__V1__Enrolment *e, void *arg)
{
    struct training_scan *ts = arg;
    struct manager key;
    struct manager *kp = &key;
    struct manager **hit;
    struct manager *m;

    if (e->person_id == NULL || strlen(e->person_id) >= sizeof(key.id) || ts->ms->n == 0) {
        return 0;
    }
    memcpy(key.id, e->person_id, strlen(e->person_id) + 1);
    hit = bsearch(&kp, ts->by_id, ts->ms->n, sizeof(*ts->by_id), manager_ptr_cmp);
    if (hit == NULL) {
        return 0;
    }
    m = *hit;
    m->enrolled = 1;
    for (size_t j = 0; j < e->n_attended; j++) {
        int32_t day = e->attended[j]->day;

        if (day >= ts->from_day && day <= ts->until_day) {
            m->modules++;
        }
    }
    if (e->completed_day != 0 && e->completed_day <= ts->until_day) {
        m->completed = 1;
    }
    return 0;
}

/* Loads every figure of every manager: their weeks, the sums of both
 * windows, sessions held and training. */
static int managers_load(const struct dash_ctx *c, struct dash *d, struct managers *ms)
{
    unsigned tw = c->opts->trend_weeks;
    unsigned hw = c->opts->heat_weeks < tw ? c->opts->heat_weeks : tw;
    struct training_scan ts;
    int32_t from_day = dash_week(c, tw - 1);
    const char **ids;
    int rc;

    for (size_t i = 0; i < ms->n; i++) {
        struct manager *m = &ms->m[i];
        struct held_scan h = {0, 0};

        m->name = dash_person_name(d, c->t, m->id);
        /* The sessions in the page's line on the session date: a manager
         * who joined the line brings no figures from their old one. */
        m->scope = dash_join_text(d, c->subject, "/", m->id);
        if (m->scope == NULL) {
            return -ENOMEM;
        }
        /* The rolling weeks give the quality trend only; the behaviours
         * are shown summed over the window (the follow-up column) and the
         * heat map's weeks, so they are summed as they are read. */
        /* Of the whole window's behaviours the page shows only the
         * follow-up one (dash_actions.h); the heat map has them all. */
        rc = dash_weeks_load_sums_only(c, AGG_LINE_COACH, m->scope, tw, &m->ws, &m->total,
                                       DASH_FOLLOW_UP_BEHAVIOUR, hw, &m->heat);
        if (rc == 0) {
            rc = outcomes_figures(c->t, m->id, from_day, c->until_day, held_cb, &h);
        }
        if (rc != 0) {
            return rc;
        }
        m->held = h.sum;
        m->held_periods = h.periods;
    }
    /* One scan of the enrolments, each matched to its manager by a
     * binary search rather than against every manager. */
    ts.ms = ms;
    ts.from_day = from_day;
    ts.until_day = c->until_day;
    ts.by_id = calloc(ms->n + 1, sizeof(*ts.by_id));
    ids = calloc(ms->n + 1, sizeof(*ids));
    if (ts.by_id == NULL || ids == NULL) {
        free(ts.by_id);
        free(ids);
        return -ENOMEM;
    }
    for (size_t i = 0; i < ms->n; i++) {
        ts.by_id[i] = &ms->m[i];
    }
    if (ms->n > 1) {
        qsort(ts.by_id, ms->n, sizeof(*ts.by_id), manager_ptr_cmp);
    }
    for (size_t i = 0; i < ms->n; i++) {
        ids[i] = ts.by_id[i]->id;
    }
    /* Only the managers' enrolments are decoded: the others are told
     * apart by their keys. */
    rc = people_enrolments_of(c->t, ids, ms->n, training_cb, &ts);
    free(ts.by_id);
    free(ids);
    return rc;
}

/* Table "managers" and its chart "quality-trend" (with table
 * "quality-trend" holding the weekly figures). */
static void my_managers_overview(struct dash *d, const struct dash_ctx *c,
                                 const struct managers *ms)
{
    static const char *const cols[] = {
        "Manager",           "Quality index",      "Trend (last 4 weeks vs 4 before)",
        "Sessions observed", "Minutes observed",   "Sessions held",
        "Modules attended",  "Training completed", "Ask-to-tell ratio",
    };
    unsigned tw = c->opts->trend_weeks;
    Coachq__V1__Table *t = dash_table(d, "managers", "Front-line managers", cols, 9);
    Coachq__V1__Table *wt;
    Coachq__V1__Chart *ch;
    const char **wcols;

    if (t == NULL) {
        return;
    }
    t->note = dash_printf(
        d,
        "Quality index: the mean score (1 to 4) of each observation over the last %u weeks; "
        "n is the number of observations. Trend: the last %u weeks' index minus the %u weeks "
        "before (n: the smaller half). Sessions held come from imported outcomes "
        "(sessions_held): the whole months or quarters that overlap the window, so they may "
        "reach beyond it (n: the figures summed); modules attended count training "
        "attendance in the window. Ask-to-tell: open questions per directive.",
        tw, TREND_HALF, TREND_HALF);
    for (size_t i = 0; i < ms->n; i++) {
        const struct manager *m = &ms->m[i];
        Coachq__V1__TableRow *r = dash_row(d, t);
        Coachq__V1__AggWeek a = COACHQ__V1__AGG_WEEK__INIT, b = COACHQ__V1__AGG_WEEK__INIT;

        dash_cell_text(d, r, m->name, m->id);
        dash_cell_num(d, r, dash_line_quality(&m->total), dash_line_n32(m->total.index_n), 2);
        if (tw >= 2 * TREND_HALF && dash_weeks_sum_head(&m->ws, tw - TREND_HALF, tw, &a) == 0 &&
            dash_weeks_sum_head(&m->ws, tw - 2 * TREND_HALF, tw - TREND_HALF, &b) == 0) {
            unsigned n = dash_line_n32(a.index_n < b.index_n ? a.index_n : b.index_n);
            Coachq__V1__Cell *cell =
                dash_cell_num(d, r, dash_line_quality(&a) - dash_line_quality(&b), n, 2);

            if (cell != NULL && cell->has_value && cell->value > 0) {
                /* The cell's text is already "%.2f" of its value. */
                cell->text = dash_join_text(d, "+", NULL, cell->text);
            }
        } else {
            cell_none(d, r, "n/a");
        }
        dash_week_clear(&a);
        dash_week_clear(&b);
        dash_cell_count(d, r, m->total.observations);
        {
            Coachq__V1__Cell *mins = dash_cell_count(d, r, m->total.seconds / 60);

            if (mins != NULL) {
                mins->n = dash_line_n32(m->total.observations);
            }
        }
        if (m->held_periods > 0) {
            Coachq__V1__Cell *cell = dash_cell_count(d, r, (uint64_t)llround(m->held));

            if (cell != NULL) {
                cell->n = m->held_periods; /* monthly figures summed */
            }
        } else {
            cell_none(d, r, "no data");
        }
        dash_cell_count(d, r, m->modules);
        dash_cell_text(d, r, m->completed ? "yes" : m->enrolled ? "no" : "not enrolled", NULL);
        dash_cell_num(d, r, ask_to_tell(&m->total), dash_line_n32(m->total.observations), 1);
    }

    /* The weekly figures: one row per manager, one column per week. */
    wcols = dash_alloc(d, (tw + 1) * sizeof(*wcols));
    if (wcols == NULL) {
        return;
    }
    wcols[0] = "Manager";
    for (unsigned i = 0; i < tw; i++) {
        wcols[i + 1] = dash_line_week_label(d, dash_week(c, tw - 1 - i));
    }
    wt = dash_table(d, "quality-trend", "Quality index, 4-week rolling", wcols, tw + 1);
    ch = dash_chart(d, "quality-trend", "Quality index, 4-week rolling",
                    COACHQ__V1__CHART__KIND__KIND_LINES, "quality-trend");
    if (wt == NULL || ch == NULL) {
        return;
    }
    wt->note = dash_printf(d,
                           "Mean observation score (1 to 4) over the %u weeks ending with each "
                           "ISO week (a rolling window: one manager is seldom observed often "
                           "enough in a single week; the first weeks of the period roll over "
                           "the weeks they have); n is the number of observations, fewer than "
                           "%u is insufficient data.",
                           DASH_ROLL, c->opts->min_n);
    ch->y_title = (char *)"Quality index (1-4)";
    ch->x_title = (char *)"ISO week";
    ch->y_min = 1;
    ch->y_max = 4;
    dash_line_chart_weeks(d, c, ch, tw);
    for (size_t i = 0; i < ms->n; i++) {
        const struct manager *m = &ms->m[i];
        Coachq__V1__Series *s = dash_series(d, ch, m->name, 0);
        Coachq__V1__TableRow *r = dash_row(d, wt);

        dash_cell_text(d, r, m->name, m->id);
        for (unsigned w = 0; w < tw; w++) {
            const Coachq__V1__AggWeek *wk = &m->ws.r[w];

            dash_series_add(d, s, dash_line_quality(wk), dash_line_n32(wk->index_n), NAN, NAN);
            dash_cell_num(d, r, dash_line_quality(wk), dash_line_n32(wk->index_n), 2);
        }
    }
}

/* Table and chart "heatmap": managers x behaviours over heat_weeks. */
static void my_managers_heatmap(struct dash *d, const struct dash_ctx *c, const struct managers *ms)
{
    const Coachq__V1__Rubric *rb = c->rubric;
    size_t nb = rb->n_behaviours;
    const char **cols = dash_alloc(d, (nb + 1) * sizeof(*cols));
    Coachq__V1__Table *t;
    Coachq__V1__Chart *ch;

    if (cols == NULL) {
        return;
    }
    cols[0] = "Manager";
    for (size_t b = 0; b < nb; b++) {
        cols[b + 1] = dash_line_behaviour_name(rb->behaviours[b]);
    }
    t = dash_table(d, "heatmap", "Behaviours by manager", cols, nb + 1);
    ch = dash_chart(d, "heatmap", "Behaviours by manager", COACHQ__V1__CHART__KIND__KIND_HEATMAP,
                    "heatmap");
    if (t == NULL || ch == NULL) {
        return;
    }
    t->note = dash_printf(d,
                          "Mean score (1 to 4) per behaviour over the last %u weeks; n is the "
                          "number of ratings (not-applicable ratings never count). A cell with "
                          "fewer than %u ratings is insufficient data.",
                          c->opts->heat_weeks < c->opts->trend_weeks ? c->opts->heat_weeks
                                                                     : c->opts->trend_weeks,
                          c->opts->min_n);
    ch->y_min = 1;
    ch->y_max = 4;
    ch->x_title = (char *)"Behaviour";
    ch->y_title = (char *)"Manager";
    for (size_t b = 0; b < nb; b++) {
        dash_chart_x(d, ch, cols[b + 1]);
    }
    for (size_t i = 0; i < ms->n; i++) {
        const struct manager *m = &ms->m[i];
        Coachq__V1__TableRow *r = dash_row(d, t);
        Coachq__V1__Series *s = dash_series(d, ch, m->name, 0);

        dash_cell_text(d, r, m->name, m->id);
        for (size_t b = 0; b < nb; b++) {
            const Coachq__V1__AggBehaviour *ab =
                dash_agg_behaviour(&m->heat, rb->behaviours[b]->id);
            uint64_t n = ab != NULL ? ab->count : 0;
            double mean = n > 0 ? ab->sum / (double)n : NAN;

            dash_cell_num(d, r, mean, dash_line_n32(n), 2);
            dash_series_add(d, s, mean, dash_line_n32(n), NAN, NAN);
        }
    }
}

/* Chart "volume-quality", tables "volume-quality" and
 * "high-input-low-quality". */
static void my_managers_quadrant(struct dash *d, const struct dash_ctx *c,
                                 const struct managers *ms)
{
    static const char *const cols[] = {"Manager", "Input", "Quality index",
                                       "High input, low quality"};
    static const char *const fcols[] = {"Manager", "Input", "Quality index"};
    Coachq__V1__Table *t, *ft;
    Coachq__V1__Chart *ch;
    double *xs = NULL, *ys = NULL;
    size_t np = 0;
    int use_held = 0;
    double xsplit, ysplit;

    /* Sessions held when outcomes give it for every manager with a quality
     * figure; otherwise sessions observed for all, so the axis is one
     * measure. */
    for (size_t i = 0; i < ms->n; i++) {
        if (ms->m[i].total.index_n >= c->opts->min_n) {
            use_held = ms->m[i].held_periods > 0;
            if (!use_held) {
                break;
            }
        }
    }
    xs = calloc(ms->n + 1, sizeof(*xs));
    ys = calloc(ms->n + 1, sizeof(*ys));
    if (xs == NULL || ys == NULL) {
        goto out;
    }
    for (size_t i = 0; i < ms->n; i++) {
        const struct manager *m = &ms->m[i];

        if (m->total.index_n >= c->opts->min_n) {
            xs[np] = use_held ? m->held : (double)m->total.observations;
            ys[np] = dash_line_quality(&m->total);
            np++;
        }
    }
    xsplit = stats_median(xs, np);
    ysplit = stats_median(ys, np);

    ch = dash_chart(d, "volume-quality", "Volume against quality",
                    COACHQ__V1__CHART__KIND__KIND_QUADRANT, "volume-quality");
    t = dash_table(d, "volume-quality", "Volume against quality", cols, 4);
    ft = dash_table(d, "high-input-low-quality", "High input, low quality", fcols, 3);
    if (ch == NULL || t == NULL || ft == NULL) {
        goto out;
    }
    /* Short axis titles: the quadrants are named after them. The table's
     * note says where the input comes from. */
    ch->x_title = use_held ? (char *)"Sessions held" : (char *)"Sessions observed";
    ch->y_title = (char *)"Quality index";
    ch->y_min = 1;
    ch->y_max = 4;
    ch->x_split = np > 0 ? xsplit : 0;
    ch->y_split = np > 0 ? ysplit : 0;
    t->note = dash_printf(
        d,
        "Input: %s over the last %u weeks. The split is the line's median input (%.1f) and "
        "median quality index (%.2f); managers above the input median and below the quality "
        "median are high input, low quality. Managers with fewer than %u observations are "
        "left out.",
        use_held ? "sessions held (imported outcomes)"
                 : "sessions observed (sessions_held is not imported for every manager)",
        c->opts->trend_weeks, np > 0 ? xsplit : 0.0, np > 0 ? ysplit : 0.0, c->opts->min_n);
    ft->note =
        np > 0 ? (char *)"Above the line's median input and below its median quality."
               : dash_printf(d, "No manager has %u observations in the window.", c->opts->min_n);
    for (size_t i = 0; i < ms->n; i++) {
        const struct manager *m = &ms->m[i];
        double x, y;
        int flagged;
        Coachq__V1__TableRow *r;

        if (m->total.index_n < c->opts->min_n) {
            continue;
        }
        x = use_held ? m->held : (double)m->total.observations;
        y = dash_line_quality(&m->total);
        flagged = x > xsplit && y < ysplit;
        dash_point(d, ch, m->name, x, y, dash_line_n32(m->total.index_n), flagged);
        r = dash_row(d, t);
        dash_cell_text(d, r, m->name, m->id);
        dash_cell_count(d, r, (uint64_t)llround(x));
        dash_cell_num(d, r, y, dash_line_n32(m->total.index_n), 2);
        dash_cell_text(d, r, flagged ? "yes" : "no", NULL);
        if (flagged) {
            r = dash_row(d, ft);
            dash_cell_text(d, r, m->name, m->id);
            dash_cell_count(d, r, (uint64_t)llround(x));
            dash_cell_num(d, r, y, dash_line_n32(m->total.index_n), 2);
        }
    }
out:
    free(xs);
    free(ys);
}

/* Tables "actions" and "follow-through" (dash_actions.h). Returns 0 or
 * -ENOMEM. */
static int my_managers_follow_through(struct dash *d, const struct dash_ctx *c,
                                      const struct managers *ms)
{
    struct dash_actions_row *rows = calloc(ms->n + 1, sizeof(*rows));

    if (rows == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < ms->n; i++) {
        rows[i].id = ms->m[i].id;
        rows[i].name = ms->m[i].name;
        rows[i].scope = ms->m[i].scope;
        rows[i].total = &ms->m[i].total;
    }
    dash_actions_agreed(d, c, rows, ms->n);
    dash_actions_follow_through(d, c, rows, ms->n);
    free(rows);
    return 0;
}

/* Each manager's cadence beside their quality, and the quadrant's third
 * dimension (dash_cadence_my_managers()). Returns 0 or a negative errno. */
static int my_managers_cadence(struct dash *d, const struct dash_ctx *c, const struct managers *ms)
{
    struct dash_cadence_line *rows = calloc(ms->n + 1, sizeof(*rows));
    int rc;

    if (rows == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < ms->n; i++) {
        rows[i].id = ms->m[i].id;
        rows[i].name = ms->m[i].name;
        rows[i].quality = dash_line_quality(&ms->m[i].total);
        rows[i].qn = dash_line_n32(ms->m[i].total.index_n);
        rows[i].rec_n = ms->m[i].total.recordings;
        rows[i].rec_first = ms->m[i].total.recordings_rep_first;
    }
    rc = dash_cadence_my_managers(d, c, rows, ms->n);
    free(rows);
    return rc;
}

/* The coaching mix per manager and for the whole line, and each manager's
 * quality beside their team's later results (dash_mix.h). */
static int my_managers_mix(struct dash *d, const struct dash_ctx *c, const struct managers *ms)
{
    Coachq__V1__AggWeek line = COACHQ__V1__AGG_WEEK__INIT;
    struct dash_mix_row *rows = calloc(ms->n + 1, sizeof(*rows));
    struct dash_results_row *res = calloc(ms->n + 1, sizeof(*res));
    int rc = rows == NULL || res == NULL ? -ENOMEM : 0;

    for (size_t i = 0; i < ms->n && rc == 0; i++) {
        const struct manager *m = &ms->m[i];

        rows[i].name = m->name;
        rows[i].link = m->id;
        rows[i].w = &m->total;
        rc = dash_week_add(&line, &m->total);
        res[i].name = m->name;
        res[i].manager = m->id;
        res[i].kind = AGG_LINE_COACH;
        res[i].scope = m->scope;
        res[i].line_of = c->subject;
    }
    if (rc == 0) {
        rows[ms->n].name = "Whole line";
        rows[ms->n].w = &line;
        rc = dash_mix_tables(d, c, rows, ms->n + 1);
        dash_self_review_line(d, rows, ms->n + 1);
    }
    if (rc == 0) {
        rc = dash_results_table(d, c, res, ms->n, 1);
    }
    dash_week_clear(&line);
    free(rows);
    free(res);
    return rc;
}

int dash_my_managers(struct dash *d, const struct dash_ctx *c)
{
    struct managers ms;
    int rc;

    memset(&ms, 0, sizeof(ms));
    ms.t = c->t;
    rc = people_reports_at(c->t, c->subject, c->today, managers_cb, &ms);
    if (rc == 0) {
        rc = managers_load(c, d, &ms);
    }
    if (rc != 0) {
        goto out;
    }
    if (ms.n == 0) {
        dash_note(d, "Nobody with the front-line manager role reports to %s today.",
                  dash_msg(d)->subject_name);
    }
    if (ms.cut) {
        dash_note(d, "Only the first %u front-line managers are shown.", DASH_LINE_MAX_MANAGERS);
    }
    my_managers_overview(d, c, &ms);
    my_managers_heatmap(d, c, &ms);
    my_managers_quadrant(d, c, &ms);
    rc = my_managers_follow_through(d, c, &ms);
    if (rc == 0) {
        rc = my_managers_cadence(d, c, &ms);
    }
    if (rc == 0) {
        rc = my_managers_mix(d, c, &ms);
    }
    if (rc == 0) {
        rc = dash_failed(d);
    }
out:
    managers_free(&ms);
    return rc;
}

/* ---- Manager detail ---------------------------------------------------- */

/* Chart and table "behaviours": each behaviour per week with its 95%
 * confidence band, and over the whole window. */
static void manager_behaviours(struct dash *d, const struct dash_ctx *c,
                               const struct dash_weeks *ws, const Coachq__V1__AggWeek *total)
{
    static const char *const cols[] = {"Behaviour", "Mean", "95% CI low", "95% CI high"};
    const Coachq__V1__Rubric *rb = c->rubric;
    Coachq__V1__Chart *ch = dash_chart(d, "behaviours", "Behaviours, 4-week rolling",
                                       COACHQ__V1__CHART__KIND__KIND_LINES, "behaviours");
    Coachq__V1__Table *t = dash_table(d, "behaviours", "Behaviours", cols, 4);

    if (ch == NULL || t == NULL) {
        return;
    }
    ch->x_title = (char *)"ISO week";
    ch->y_title = (char *)"Mean score (1-4)";
    ch->y_min = 1;
    ch->y_max = 4;
    dash_line_chart_weeks(d, c, ch, ws->n);
    t->note = dash_printf(d,
                          "Mean score (1 to 4) over the last %u weeks with its 95%% confidence "
                          "interval (t distribution); n is the number of ratings, "
                          "not-applicable ones never count. The chart shows, for each ISO week, "
                          "the mean and interval of the %u weeks ending with it (fewer at "
                          "the start of the period).",
                          ws->n, DASH_ROLL);
    for (size_t b = 0; b < rb->n_behaviours; b++) {
        const char *bid = rb->behaviours[b]->id;
        const char *name = dash_line_behaviour_name(rb->behaviours[b]);
        Coachq__V1__Series *s = dash_series(d, ch, name, 1);
        const Coachq__V1__AggBehaviour *ab = dash_agg_behaviour(total, bid);
        Coachq__V1__TableRow *r = dash_row(d, t);
        double mean = NAN, lo = NAN, hi = NAN;
        unsigned n = 0;

        for (unsigned w = 0; w < ws->n; w++) {
            const Coachq__V1__AggBehaviour *wb = dash_agg_behaviour(&ws->r[w], bid);
            double wm = NAN, wlo = NAN, whi = NAN;
            unsigned wn = 0;

            if (wb != NULL && wb->count > 0) {
                wn = dash_line_n32(wb->count);
                dash_page_mean_ci(d, wb->count, wb->sum, wb->sumsq, &wm, &wlo, &whi);
            }
            dash_series_add(d, s, wm, wn, wlo, whi);
        }
        if (ab != NULL && ab->count > 0) {
            n = dash_line_n32(ab->count);
            dash_page_mean_ci(d, ab->count, ab->sum, ab->sumsq, &mean, &lo, &hi);
        }
        dash_cell_text(d, r, name, NULL);
        dash_cell_num(d, r, mean, n, 2);
        dash_cell_num(d, r, lo, n, 2);
        dash_cell_num(d, r, hi, n, 2);
    }
}

/* Chart and table "markers": per week, ask-to-tell ratio, take-overs per
 * session and seconds to the rep's first self-assessment. */
static void manager_markers(struct dash *d, const struct dash_ctx *c, const struct dash_weeks *ws)
{
    static const char *const cols[] = {"Week", "Sessions observed", "Ask-to-tell ratio",
                                       "Take-overs per session",
                                       "Seconds to first self-assessment"};
    Coachq__V1__Table *t = dash_table(d, "markers", "Live markers, 4-week rolling", cols, 5);
    Coachq__V1__Chart *ch = dash_chart(d, "markers", "Ask-to-tell and take-overs",
                                       COACHQ__V1__CHART__KIND__KIND_LINES, "markers");
    Coachq__V1__Chart *sa = dash_chart(d, "self-assessment", "Time to the rep's self-assessment",
                                       COACHQ__V1__CHART__KIND__KIND_LINES, "markers");
    Coachq__V1__Series *s_ask, *s_take, *s_self;

    if (t == NULL || ch == NULL || sa == NULL) {
        return;
    }
    t->note = (char *)"Each week counts the 4 weeks ending with it (fewer at the start of "
                      "the period). "
                      "Ask-to-tell: open questions per directive (n/a without directives); "
                      "take-overs: \"manager took over\" moments per observed session (n: "
                      "sessions); seconds from the start of the session to the rep's first "
                      "self-assessment, over the sessions where the rep self-assessed (n: those "
                      "sessions).";
    ch->x_title = (char *)"ISO week";
    ch->y_title = (char *)"Per directive / per session";
    sa->x_title = (char *)"ISO week";
    sa->y_title = (char *)"Seconds";
    dash_line_chart_weeks(d, c, ch, ws->n);
    dash_line_chart_weeks(d, c, sa, ws->n);
    s_ask = dash_series(d, ch, "Ask-to-tell ratio", 0);
    s_take = dash_series(d, ch, "Take-overs per session", 0);
    s_self = dash_series(d, sa, "Seconds to first self-assessment", 0);
    for (unsigned w = 0; w < ws->n; w++) {
        const Coachq__V1__AggWeek *wk = &ws->r[w];
        Coachq__V1__TableRow *r = dash_row(d, t);
        unsigned obs = dash_line_n32(wk->observations);
        double take = obs > 0 ? (double)dash_line_marker(wk, MARK_TOOK_OVER) / obs : NAN;
        double self =
            wk->self_assess_n > 0 ? wk->self_assess_s_sum / (double)wk->self_assess_n : NAN;

        dash_cell_text(d, r, dash_line_week_label(d, dash_week(c, ws->n - 1 - w)), NULL);
        dash_cell_count(d, r, wk->observations);
        dash_cell_num(d, r, ask_to_tell(wk), obs, 1);
        dash_cell_num(d, r, take, obs, 2);
        dash_cell_num(d, r, self, dash_line_n32(wk->self_assess_n), 0);
        dash_series_add(d, s_ask, ask_to_tell(wk), obs, NAN, NAN);
        dash_series_add(d, s_take, take, obs, NAN, NAN);
        dash_series_add(d, s_self, self, dash_line_n32(wk->self_assess_n), NAN, NAN);
    }
}

struct recent {
    const struct dash_ctx *c;
    int64_t from_s; /* the first second of the period */
    Coachq__V1__StoredObservation *rec[RECENT_SHOWN];
    size_t n;
};

/* Whether rec counts on the dashboards: the dashboard's rubric, no
 * calibration attempt, an observer certified on the session date. */
static int recent_counts(const struct dash_ctx *c, const Coachq__V1__StoredObservation *rec)
{
    const Coachq__V1__Observation *o = rec->observation;
    char chain[PEOPLE_MAX_CHAIN][65];
    struct auth_target target;
    size_t n = 0;
    int ok = 0;

    if (o == NULL || o->rubric_id == NULL || strcmp(o->rubric_id, c->rubric_id) != 0 ||
        agg_counts(c->t, rec, &ok) != 0 || !ok) {
        return 0;
    }
    /* The records themselves (their evidence notes) are shown only to
     * whoever may read them on the protocol: the line on the session date
     * decides, not today's line the dashboard was opened through. */
    memset(&target, 0, sizeof(target));
    target.rec = rec;
    if (auth_record_chain(c->t, rec, chain, &n) != 0) {
        return 0;
    }
    target.chain = (const char(*)[65])chain;
    target.n_chain = n;
    return auth_decide(c->user, AUTH_READ_RECORD, &target) == 0;
}

static int recent_cb(Coachq__V1__StoredObservation *rec, void *arg)
{
    struct recent *rs = arg;

    if (rec->observation != NULL && rec->observation->started_at < rs->from_s) {
        /* Newest first: everything after this is before the period. */
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        return 1;
    }
    if (!recent_counts(rs->c, rec)) {
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
        return 0;
    }
    rs->rec[rs->n++] = rec;
    return rs->n == RECENT_SHOWN ? 1 : 0;
}

static const char *session_type_name(Coachq__V1__SessionType t)
{
    switch (t) {
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW:
        return "deal review";
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_CALL_REVIEW:
        return "call review";
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PIPELINE_REVIEW:
        return "pipeline review";
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_ACCOUNT_PLAN:
        return "account plan";
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_SKILL_PRACTICE:
        return "skill practice";
    case COACHQ__V1__SESSION_TYPE__SESSION_TYPE_PERSONAL_CHECK_IN:
        return "personal check-in";
    default:
        return "unspecified";
    }
}

/* "behaviour name: evidence" for every rating with an evidence note, one per
 * line, verbatim (the renderers escape it). */
static const char *recent_evidence(struct dash *d, const struct dash_ctx *c,
                                   const Coachq__V1__Observation *o)
{
    const char *acc = "";

    for (size_t i = 0; i < o->n_ratings; i++) {
        const Coachq__V1__Rating *r = o->ratings[i];
        const Coachq__V1__Behaviour *b;

        if (r->evidence == NULL || r->evidence[0] == '\0') {
            continue;
        }
        b = rubrics_behaviour(c->rubric, r->behaviour_id);
        acc = dash_printf(d, "%s%s%s: %s", acc, acc[0] != '\0' ? "\n" : "",
                          b != NULL ? dash_line_behaviour_name(b) : r->behaviour_id, r->evidence);
        if (acc == NULL) {
            return "";
        }
    }
    return acc;
}

/* Table "recent": the latest observations, newest first. */
static int manager_recent(struct dash *d, const struct dash_ctx *c)
{
    static const char *const cols[] = {"Date", "Rep", "Session type", "Quality index", "Evidence"};
    struct recent rs;
    Coachq__V1__Table *t;
    const struct tz_zone *zone = NULL;
    int32_t first = dash_week(c, c->opts->trend_weeks - 1);
    int64_t until;
    int rc;

    memset(&rs, 0, sizeof(rs));
    rs.c = c;
    /* The period's days are the coach's local days, as their sessions'
     * dates are (zone.h). */
    rc = zone_of_person(c->t, c->subject, &zone);
    if (rc != 0) {
        goto out;
    }
    rs.from_s = tz_day_start(zone, first);
    until = tz_day_start(zone, (int64_t)c->until_day + 1);
    rc = store_recent_txn(c->t, STORE_BY_COACH, c->subject, until, RECENT_MAX_KEYS, recent_cb, &rs);
    if (rc != 0) {
        goto out;
    }
    t = dash_table(d, "recent", "Recent observations", cols, 5);
    if (t == NULL) {
        goto out;
    }
    {
        char from[16], last[16];

        t->note = dash_printf(
            d,
            "The latest %u observations from %s to %s (the page's period) that count "
            "(certified observer, this rubric), newest first. Quality index: the mean of the "
            "session's scores; n is the number of scored behaviours.",
            RECENT_SHOWN, dash_day_text(first, from, sizeof(from)),
            dash_day_text(c->until_day, last, sizeof(last)));
    }
    for (size_t i = 0; i < rs.n; i++) {
        const Coachq__V1__Observation *o = rs.rec[i]->observation;
        Coachq__V1__TableRow *r = dash_row(d, t);
        char date[32];
        double sum = 0;
        unsigned n = 0;

        /* The session date, local to the coach. */
        day_format(tz_day_of(zone, o->started_at), date, sizeof(date));
        for (size_t j = 0; j < o->n_ratings; j++) {
            if (!o->ratings[j]->not_applicable && o->ratings[j]->score >= 1) {
                sum += o->ratings[j]->score;
                n++;
            }
        }
        dash_cell_text(d, r, date, NULL);
        dash_cell_text(d, r, dash_person_name(d, c->t, o->coachee_id), NULL);
        dash_cell_text(d, r, session_type_name(o->session_type), NULL);
        dash_cell_num(d, r, n > 0 ? sum / n : NAN, n, 2);
        dash_cell_text(d, r, recent_evidence(d, c, o), NULL);
    }
out:
    for (size_t i = 0; i < rs.n; i++) {
        coachq__v1__stored_observation__free_unpacked(rs.rec[i], NULL);
    }
    return rc;
}

int dash_manager(struct dash *d, const struct dash_ctx *c)
{
    Coachq__V1__AggWeek total = COACHQ__V1__AGG_WEEK__INIT;
    char scope[2 * VALIDATE_MAX_ID + 2];
    enum agg_scope kind = AGG_COACH;
    const char *id = c->subject;
    struct dash_weeks ws;
    int rc;

    /* One rule for every table and chart of the page, the one the recent
     * observations follow (AUTH_READ_RECORD): a manager above the
     * front-line manager sees the sessions that were in their line on the
     * session date, whatever the line is today. The front-line manager,
     * leads and administrators see them all. */
    if ((c->user->roles & (AUTH_LEAD | AUTH_ADMIN)) == 0 && strcmp(c->user->id, c->subject) != 0) {
        snprintf(scope, sizeof(scope), "%s/%s", c->user->id, c->subject);
        kind = AGG_LINE_COACH;
        id = scope;
        dash_note(d,
                  "Sessions count here when %s was in your line on the session date; sessions "
                  "from before or after, under another manager, do not.",
                  dash_msg(d)->subject_name);
    }
    memset(&ws, 0, sizeof(ws));
    rc = dash_weeks_load(c, kind, id, c->opts->trend_weeks, DASH_ROLL_ALL, &ws);
    if (rc == 0) {
        rc = dash_weeks_sum(&ws, 0, ws.n, &total);
    }
    if (rc != 0) {
        goto out;
    }
    manager_behaviours(d, c, &ws, &total);
    manager_markers(d, c, &ws);
    dash_self_review(d, &total);
    dash_actions_open(d, c, c->subject);
    rc = dash_actions_focus(d, c, c->subject);
    if (rc == 0) {
        struct dash_mix_row row = {dash_msg(d)->subject_name, NULL, &total};

        rc = dash_mix_tables(d, c, &row, 1);
    }
    if (rc == 0) {
        rc = manager_recent(d, c);
    }
    if (rc == 0) {
        rc = dash_failed(d);
    }
out:
    dash_week_clear(&total);
    dash_weeks_free(&ws);
    return rc;
}
