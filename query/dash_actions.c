/*
 * dash_actions: the agreed actions on the line dashboards (dash_actions.h).
 */
#include "dash_actions.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "auth.h"
#include "dash_line_int.h"
#include "people.h"
#include "rubrics.h"

/* The tables below read the values kept for them (store/actions_view.c)
 * only while they list no more than those hold; past that, the records. */
_Static_assert(DASH_ACTIONS_SHOWN <= ACTIONS_OPEN_KEPT, "the open list fits a coach's value");
_Static_assert(DASH_FOCUS_ACTIONS <= ACTIONS_RECENT_KEPT, "focus progress fits a pair's value");

/* Whether the viewer may read coach's action records: AUTH_READ_ACTION,
 * with the coach's managers today, decided as for a closed action of no
 * observer's. What is left of the rule then looks at the coach only, so
 * one decision holds for every record of the coach; the observer's rows
 * (what they scored, any open action: for following up, not for a
 * dashboard) give nothing here. */
static int coach_visible(const struct dash_ctx *c, const char *coach)
{
    Coachq__V1__ActionRecord a = COACHQ__V1__ACTION_RECORD__INIT;
    struct auth_target tg;
    char chain[PEOPLE_MAX_CHAIN][65];
    size_t n = 0;

    a.coach_id = (char *)coach;
    a.status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE;
    memset(&tg, 0, sizeof(tg));
    tg.action = &a;
    if (people_chain_at(c->t, coach, c->today, chain, &n) == 0) {
        tg.chain = (const char(*)[65])chain;
        tg.n_chain = n;
    }
    return auth_decide(c->user, AUTH_READ_ACTION, &tg) == 0;
}

/* A share of agreed, as "67%", n agreed. */
static void share_cell(struct dash *d, Coachq__V1__TableRow *r, uint64_t part, uint64_t agreed)
{
    Coachq__V1__Cell *cell = dash_cell_num(
        d, r, agreed > 0 ? 100.0 * (double)part / (double)agreed : NAN, dash_line_n32(agreed), 0);

    if (cell != NULL && cell->has_value) {
        cell->text = dash_percent_text(d, cell->text);
    }
}

/* The behaviour whose rating says whether agreed actions were followed up. */
#define FOLLOW_UP_BEHAVIOUR DASH_FOLLOW_UP_BEHAVIOUR
#define MARK_ACTION COACHQ__V1__MARKER_KIND__MARKER_KIND_ACTION_AGREED

/* Table "actions": agreed against followed up. */
void dash_actions_agreed(struct dash *d, const struct dash_ctx *c,
                         const struct dash_actions_row *rows, size_t n_rows)
{
    static const char *const cols[] = {"Manager", "Actions agreed", "Action-agreed moments",
                                       "Followed up"};
    Coachq__V1__Table *t = dash_table(d, "actions", "Actions agreed and followed up", cols, 4);
    int rated = rubrics_behaviour(c->rubric, FOLLOW_UP_BEHAVIOUR) != NULL;

    if (t == NULL) {
        return;
    }
    t->note = dash_printf(
        d,
        "Over the last %u weeks. Actions agreed: actions recorded in observations; "
        "action-agreed moments: the observer's live markers. Followed up: the share of "
        "ratings of \"%s\" scored proficient (3) or better, n being those ratings: follow-up "
        "is what observers rate in that behaviour.%s",
        c->opts->trend_weeks, FOLLOW_UP_BEHAVIOUR,
        rated ? "" : " This rubric has no such behaviour.");
    for (size_t i = 0; i < n_rows; i++) {
        const struct dash_actions_row *m = &rows[i];
        Coachq__V1__TableRow *r = dash_row(d, t);
        const Coachq__V1__AggBehaviour *ab = dash_agg_behaviour(m->total, FOLLOW_UP_BEHAVIOUR);
        uint64_t n = ab != NULL ? ab->count : 0;
        Coachq__V1__Cell *cell;

        dash_cell_text(d, r, m->name, m->id);
        dash_cell_count(d, r, m->total->actions);
        dash_cell_count(d, r, dash_line_marker(m->total, MARK_ACTION));
        if (!rated) {
            dash_cell_text(d, r, "n/a", NULL);
            continue;
        }
        cell = dash_cell_num(d, r, n > 0 ? 100.0 * (double)ab->proficient / (double)n : NAN,
                             dash_line_n32(n), 0);
        if (cell != NULL && cell->has_value) {
            cell->text = dash_printf(d, "%.0f%%", cell->value);
        }
    }
}

void dash_actions_follow_through(struct dash *d, const struct dash_ctx *c,
                                 const struct dash_actions_row *rows, size_t n_rows)
{
    static const char *const cols[] = {"Manager",     "Actions agreed", "Followed up", "Done",
                                       "Partly done", "Not done",       "Dropped"};
    Coachq__V1__Table *t = dash_table(d, "follow-through",
                                      "Actions agreed \u2192 followed up "
                                      "\u2192 done",
                                      cols, 7);
    int32_t from = dash_week(c, c->opts->trend_weeks - 1);
    const char **scopes = NULL;
    struct actions_follow *all = NULL;
    int many = 0;

    if (t == NULL) {
        return;
    }
    t->note = dash_printf(
        d,
        "Actions agreed in sessions of the last %u weeks (by the week of the session, "
        "while the manager was in this line), from their records: followed up means a "
        "later session of the same manager and rep gave it a status; done, partly done, not "
        "done and dropped are the latest status. n is the actions agreed.",
        c->opts->trend_weeks);
    /* The managers' counters are read together, week by week
     * (actions_follow_many_txn()); should that fail, each row is read on
     * its own, so that one manager's error blanks only their row. */
    scopes = calloc(n_rows + 1, sizeof(*scopes));
    all = calloc(n_rows + 1, sizeof(*all));
    if (scopes != NULL && all != NULL) {
        for (size_t i = 0; i < n_rows; i++) {
            scopes[i] = rows[i].scope;
        }
        many = actions_follow_many_txn(c->t, scopes, n_rows, from, c->until_day, all) == 0;
    }
    for (size_t i = 0; i < n_rows; i++) {
        const struct dash_actions_row *m = &rows[i];
        Coachq__V1__TableRow *r = dash_row(d, t);
        struct actions_follow f;

        if (many) {
            f = all[i];
        } else if (actions_follow_txn(c->t, m->scope, from, c->until_day, &f) != 0) {
            memset(&f, 0, sizeof(f));
        }
        dash_cell_text(d, r, m->name, m->id);
        dash_cell_count(d, r, f.n[ACTIONS_AGREED]);
        share_cell(d, r, f.n[ACTIONS_FOLLOWED], f.n[ACTIONS_AGREED]);
        share_cell(d, r, f.n[ACTIONS_DONE], f.n[ACTIONS_AGREED]);
        share_cell(d, r, f.n[ACTIONS_PARTLY], f.n[ACTIONS_AGREED]);
        share_cell(d, r, f.n[ACTIONS_NOT_DONE], f.n[ACTIONS_AGREED]);
        share_cell(d, r, f.n[ACTIONS_DROPPED], f.n[ACTIONS_AGREED]);
    }
    free(scopes);
    free(all);
}

struct open_actions {
    struct dash *d;
    const struct dash_ctx *c;
    Coachq__V1__Table *t;
    unsigned shown;
};

static int open_actions_cb(const Coachq__V1__ActionRecord *a, void *arg)
{
    struct open_actions *o = arg;
    char day[16], due[16];
    Coachq__V1__TableRow *r;
    int late = a->due_day != 0 && (int64_t)a->due_day < (int64_t)o->c->today;

    o->shown++;
    r = dash_row(o->d, o->t);
    dash_cell_text(o->d, r, dash_person_name(o->d, o->c->t, a->coachee_id), NULL);
    dash_cell_text(o->d, r, a->text, NULL);
    dash_cell_text(o->d, r, dash_day_text(a->agreed_day, day, sizeof(day)), NULL);
    dash_cell_text(o->d, r,
                   a->due_day != 0 ? dash_day_text((int32_t)a->due_day, due, sizeof(due)) : "-",
                   NULL);
    dash_cell_text(o->d, r,
                   dash_printf(o->d, "%s%s",
                               a->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE
                                   ? "partly done"
                               : a->status == COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE
                                   ? "not done"
                                   : "open",
                               late ? ", overdue" : ""),
                   NULL);
    return 0;
}

void dash_actions_open(struct dash *d, const struct dash_ctx *c, const char *coach)
{
    static const char *const cols[] = {"Rep", "Action", "Agreed", "Due", "Status"};
    struct actions_open_counts n;
    struct open_actions o;

    memset(&o, 0, sizeof(o));
    memset(&n, 0, sizeof(n));
    o.d = d;
    o.c = c;
    o.t = dash_table(d, "open-actions", "Open and overdue actions", cols, 5);
    if (o.t == NULL) {
        return;
    }
    if (!coach_visible(c, coach)) {
        o.t->note = dash_printf(d, "The actions of this manager's sessions are not shown to you.");
        return;
    }
    if (actions_open_txn(c->t, coach, c->today, DASH_ACTIONS_SHOWN, open_actions_cb, &o, &n) != 0) {
        n.open = n.overdue = 0;
    }
    o.t->note = dash_printf(
        d,
        "%llu open action%s agreed in coaching sessions, %llu overdue; each is open until a "
        "later session of the same manager and rep follows it up as done or dropped.%s",
        (unsigned long long)n.open, n.open == 1 ? "" : "s", (unsigned long long)n.overdue,
        o.shown < n.open ? dash_printf(d,
                                       " The %u most overdue are listed (by due day, those "
                                       "without one last, oldest first).",
                                       o.shown)
                         : "");
}

/* ---- Focus progress ------------------------------------------------------ */

struct focus_point {
    int32_t day;
    Coachq__V1__ActionStatus status;
};

/* One rep's focus behaviour (or skill), with the follow-ups of the recent
 * actions that serve it. */
struct focus_row {
    const char *rep; /* arena */
    const char *focus;
    struct focus_point pt[DASH_FOCUS_POINTS];
    size_t n;
    size_t dropped_points; /* follow-ups beyond DASH_FOCUS_POINTS, the oldest */
};

struct focus_scan {
    struct dash *d;
    const struct dash_ctx *c;
    const char *coach;
    const char *rep; /* the rep being read, in the arena */
    struct focus_row *rows;
    size_t n;
    int cut; /* more rows than DASH_FOCUS_ROWS */
    char reps[DASH_FOCUS_REPS][65];
    size_t nreps;
    int reps_cut;
};

static int focus_reps_cb(const char *id, void *arg)
{
    struct focus_scan *f = arg;

    if (f->nreps == DASH_FOCUS_REPS) {
        f->reps_cut = 1;
        return 1;
    }
    snprintf(f->reps[f->nreps], sizeof(f->reps[f->nreps]), "%s", id);
    f->nreps++;
    return 0;
}

static struct focus_row *focus_row_of(struct focus_scan *f, const char *focus)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->rows[i].rep == f->rep && strcmp(f->rows[i].focus, focus) == 0) {
            return &f->rows[i];
        }
    }
    if (f->n == DASH_FOCUS_ROWS) {
        f->cut = 1;
        return NULL;
    }
    memset(&f->rows[f->n], 0, sizeof(f->rows[f->n]));
    f->rows[f->n].rep = f->rep;
    f->rows[f->n].focus = dash_strdup(f->d, focus);
    return &f->rows[f->n++];
}

/* Adds a follow-up to row, keeping the DASH_FOCUS_POINTS latest by day. */
static void focus_add(struct focus_row *row, int32_t day, Coachq__V1__ActionStatus status)
{
    size_t i;

    if (row->n == DASH_FOCUS_POINTS) {
        size_t oldest = 0;

        for (i = 1; i < row->n; i++) {
            oldest = row->pt[i].day < row->pt[oldest].day ? i : oldest;
        }
        row->dropped_points++;
        if (row->pt[oldest].day > day) {
            return;
        }
        row->pt[oldest] = row->pt[--row->n];
    }
    row->pt[row->n].day = day;
    row->pt[row->n].status = status;
    row->n++;
}

static int focus_action_cb(const Coachq__V1__ActionRecord *a, void *arg)
{
    struct focus_scan *f = arg;
    const char *foci[8];
    size_t nf = 0;

    for (size_t i = 0; i < a->n_focus_behaviours && nf < 7; i++) {
        const Coachq__V1__Behaviour *b = rubrics_behaviour(f->c->rubric, a->focus_behaviours[i]);

        foci[nf++] =
            b != NULL && b->name != NULL && b->name[0] != '\0' ? b->name : a->focus_behaviours[i];
    }
    if (a->focus_skill != NULL && a->focus_skill[0] != '\0') {
        foci[nf++] = a->focus_skill;
    }
    for (size_t k = 0; k < nf; k++) {
        struct focus_row *row = focus_row_of(f, foci[k]);

        if (row == NULL) {
            return 0;
        }
        /* Each follow-up session's standing word: the last event of its
         * observation (an amendment's), unless it withdrew it. */
        for (size_t i = 0; i < a->n_history; i++) {
            const Coachq__V1__ActionEvent *e = a->history[i];
            int later = 0;

            for (size_t j = i + 1; j < a->n_history && !later; j++) {
                const Coachq__V1__ActionEvent *x = a->history[j];

                later = x->observation_id.len == e->observation_id.len &&
                        memcmp(x->observation_id.data, e->observation_id.data,
                               e->observation_id.len) == 0;
            }
            if (!later && e->status != COACHQ__V1__ACTION_STATUS__ACTION_STATUS_UNSPECIFIED) {
                focus_add(row, e->day, e->status);
            }
        }
    }
    return 0;
}

static int focus_point_cmp(const void *a, const void *b)
{
    const struct focus_point *x = a, *y = b;

    return (x->day > y->day) - (x->day < y->day);
}

static const char *focus_status_text(Coachq__V1__ActionStatus s)
{
    switch (s) {
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE:
        return "done";
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE:
        return "partly done";
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE:
        return "not done";
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED:
        return "dropped";
    default:
        return "open";
    }
}

/* The chart's value of a status: not done 0, partly done 1, done 2;
 * dropped is a gap. */
static double focus_status_value(Coachq__V1__ActionStatus s)
{
    switch (s) {
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE:
        return 2;
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE:
        return 1;
    case COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE:
        return 0;
    default:
        return NAN;
    }
}

static void focus_tables(struct dash *d, struct focus_scan *f)
{
    static const char *const cols[] = {"Rep", "Focus", "Follow-ups", "Progress", "Latest"};
    Coachq__V1__Table *t = dash_table(d, "focus-progress", "Focus progress", cols, 5);
    Coachq__V1__Chart *ch =
        dash_chart(d, "focus-progress", "Focus progress, follow-up by follow-up",
                   COACHQ__V1__CHART__KIND__KIND_LINES, "focus-progress");
    size_t longest = 0, series = 0;

    if (t == NULL || ch == NULL) {
        return;
    }
    t->note = dash_printf(
        d,
        "For each of this manager's reps, the focus behaviours (or skills) of the %u actions "
        "agreed with them most recently, and the status each later session gave those actions, "
        "oldest first (at most %u per focus).%s%s",
        DASH_FOCUS_ACTIONS, DASH_FOCUS_POINTS,
        f->reps_cut ? dash_printf(d, " Only the first %u reps are read.", DASH_FOCUS_REPS) : "",
        f->cut ? dash_printf(d, " Only the first %u foci are listed.", DASH_FOCUS_ROWS) : "");
    ch->y_title = dash_strdup(d, "0 not done, 1 partly done, 2 done (dropped: a gap)");
    ch->x_title = dash_strdup(d, "Follow-up");
    ch->y_min = 0;
    ch->y_max = 2;
    for (size_t i = 0; i < f->n; i++) {
        struct focus_row *row = &f->rows[i];
        Coachq__V1__TableRow *r = dash_row(d, t);
        char day[16];
        char *progress = dash_strdup(d, "");

        qsort(row->pt, row->n, sizeof(row->pt[0]), focus_point_cmp);
        longest = row->n > longest ? row->n : longest;
        for (size_t j = 0; j < row->n && progress != NULL; j++) {
            progress = dash_printf(d, "%s%s%s %s", progress, j > 0 ? " \u2192 " : "",
                                   dash_day_text(row->pt[j].day, day, sizeof(day)),
                                   focus_status_text(row->pt[j].status));
        }
        dash_cell_text(d, r, dash_person_name(d, f->c->t, row->rep), NULL);
        dash_cell_text(d, r, row->focus, NULL);
        dash_cell_count(d, r, row->n + row->dropped_points);
        dash_cell_text(d, r, row->n > 0 && progress != NULL ? progress : "not followed up yet",
                       NULL);
        dash_cell_text(d, r, row->n > 0 ? focus_status_text(row->pt[row->n - 1].status) : "-",
                       NULL);
    }
    for (size_t j = 0; j < longest; j++) {
        dash_chart_x(d, ch, dash_printf(d, "%zu", j + 1));
    }
    for (size_t i = 0; i < f->n && series < DASH_FOCUS_SERIES; i++) {
        struct focus_row *row = &f->rows[i];
        Coachq__V1__Series *s;

        if (row->n == 0) {
            continue;
        }
        s = dash_series(
            d, ch, dash_printf(d, "%s: %s", dash_person_name(d, f->c->t, row->rep), row->focus), 0);
        series++;
        for (size_t j = 0; j < longest; j++) {
            dash_series_add_value(d, s, j < row->n ? focus_status_value(row->pt[j].status) : NAN,
                                  1);
        }
    }
}

int dash_actions_focus(struct dash *d, const struct dash_ctx *c, const char *coach)
{
    struct focus_scan *f;
    int rc = 0;

    if (!coach_visible(c, coach)) {
        static const char *const cols[] = {"Rep", "Focus", "Follow-ups", "Progress", "Latest"};
        Coachq__V1__Table *t = dash_table(d, "focus-progress", "Focus progress", cols, 5);

        if (t != NULL) {
            t->note =
                dash_printf(d, "The actions of this manager's sessions are not shown to you.");
        }
        return 0;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        return -ENOMEM;
    }
    f->d = d;
    f->c = c;
    f->coach = coach;
    f->rows = calloc(DASH_FOCUS_ROWS, sizeof(*f->rows));
    if (f->rows == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    rc = people_reports_at(c->t, coach, c->today, focus_reps_cb, f);
    for (size_t i = 0; i < f->nreps && rc == 0; i++) {
        f->rep = dash_strdup(d, f->reps[i]);
        if (f->rep == NULL) {
            rc = -ENOMEM;
            break;
        }
        rc = actions_recent_txn(c->t, coach, f->reps[i], DASH_FOCUS_ACTIONS, focus_action_cb, f);
    }
    if (rc == 0) {
        focus_tables(d, f);
    }
out:
    free(f->rows);
    free(f);
    return rc;
}
