/*
 * dash_coaching: "My coaching" (dashboard 5, dash_coaching.h): a
 * front-line manager's own trend and the behaviours to work on next, beside
 * their peers'. Split from dash_line.c, which keeps the other two line
 * pages and the helpers of a week's figures both use (dash_line_int.h).
 *
 * Every figure comes from the weekly aggregates, so the cost is weeks x
 * managers, never the number of observations: the subject's own from
 * agg_read(), the peers' from their impact blocks (agg_read_impact()).
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
#include "dash_coaching.h"
#include "dash_line_int.h"
#include "dash_mix.h"
#include "dash_selfreview.h"
#include "dash_weeks.h"
#include "grow.h"
#include "obs.h"
#include "outcomes.h"
#include "people.h"
#include "rubric_json.h"
#include "rubrics.h"
#include "stats.h"
#include "store.h"
#include "tz.h"
#include "zone.h"

/* ---- My coaching ------------------------------------------------------- */

struct focus_row {
    const Coachq__V1__Behaviour *b;
    size_t pos; /* in the rubric */
    double mean;
    unsigned n;
    double line_mean;
    unsigned line_n;
};

static int focus_cmp(const void *a, const void *b)
{
    const struct focus_row *x = a, *y = b;
    int xe = x->n >= 1 && isfinite(x->mean), ye = y->n >= 1 && isfinite(y->mean);

    /* Behaviours with a figure first, lowest mean first; ties and the rest
     * in rubric order (qsort is not stable: compare by position). */
    if (xe != ye) {
        return ye - xe;
    }
    if (xe && x->mean != y->mean) {
        return x->mean < y->mean ? -1 : 1;
    }
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * The peers' comparison of My coaching, built so that no arithmetic on what
 * a viewer can fetch isolates one person (docs/dashboards.md, "Privacy"):
 *
 * - Peers: the front-line managers under the subject's manager in each week
 *   (the line on that week's Sunday), never the subject and never the
 *   viewer, so the viewer's own figures cannot be subtracted out.
 * - Cells: each week's sums of each behaviour (and of the quality index)
 *   over the peers. A cell counts only when at least privacy_min distinct
 *   peers have ratings in it (for the index: observations), and only once
 *   its week is over. Every peer figure on every page, window and `until`
 *   is a sum of whole counted cells, so any difference of two figures is
 *   again a sum of counted cells: each rests on privacy_min people or more.
 */
struct peer {
    char id[65];
    unsigned char *in; /* per week of the window: in the line that week */
    unsigned first;    /* the first week in the line */
};

/* A report of today's line and whether they are a peer (peer_is()). */
struct peer_known {
    char id[65];
    int peer;
};

struct peers {
    const struct dash_ctx *c;
    const char *manager;
    struct peer_known *known; /* today's line, in id order */
    size_t nknown;
    size_t known_cap;
    unsigned nweeks;
    const unsigned *week; /* the week of each Sunday read */
    size_t nread;         /* Sundays read */
    struct peer *p;
    size_t n;
    size_t cap;
    unsigned today_n; /* peers in the line today */
    int cut;
};

static void peers_free(struct peers *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        free(ps->p[i].in);
    }
    free(ps->p);
    free(ps->known);
    ps->p = NULL;
    ps->known = NULL;
    ps->n = ps->cap = ps->nknown = ps->known_cap = 0;
}

/* Whether id is a peer: a front-line manager, neither subject nor viewer. */
static int peer_is(const struct peers *ps, const char *id)
{
    Coachq__V1__Person *p = NULL;
    int flm;

    if (strcmp(id, ps->c->subject) == 0 || strcmp(id, ps->c->user->id) == 0 ||
        people_get(ps->c->t, id, &p) != 0) {
        return 0;
    }
    flm = people_has_role(p, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER);
    coachq__v1__person__free_unpacked(p, NULL);
    return flm;
}

/* Counts the peers in today's line, and keeps each report's answer so
 * that the read of the window's lines (peers_on_cb()) decodes no one of
 * them again. */
static int peers_cb(const char *id, void *arg)
{
    struct peers *ps = arg;
    int peer = peer_is(ps, id);

    ps->today_n += peer != 0;
    if (strlen(id) < sizeof(ps->known[0].id)) {
        if (GROW_ARRAY(ps->known, ps->known_cap, ps->nknown + 1, 8) < 0) {
            return -ENOMEM;
        }
        snprintf(ps->known[ps->nknown].id, sizeof(ps->known[0].id), "%s", id);
        ps->known[ps->nknown++].peer = peer;
    }
    return 0;
}

static int known_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct peer_known *)elem)->id);
}

/* peer_is(), answered from today's line when id is in it (people_reports_at()
 * gives the ids in id order, so ps->known is sorted). */
static int peer_is_known(const struct peers *ps, const char *id)
{
    const struct peer_known *k =
        ps->nknown > 0 ? bsearch(id, ps->known, ps->nknown, sizeof(*ps->known), known_cmp) : NULL;

    return k != NULL ? k->peer : peer_is(ps, id);
}

/* A peer in the line on some of the Sundays read (on[j]: ps->week[j]). */
static int peers_on_cb(const char *id, const uint8_t *on, void *arg)
{
    struct peers *ps = arg;
    struct peer *pe;

    if (!peer_is_known(ps, id)) {
        return 0;
    }
    if (GROW_ARRAY(ps->p, ps->cap, ps->n + 1, 8) < 0) {
        return -ENOMEM;
    }
    pe = &ps->p[ps->n];
    snprintf(pe->id, sizeof(pe->id), "%s", id);
    pe->in = calloc(ps->nweeks, 1);
    if (pe->in == NULL) {
        return -ENOMEM;
    }
    ps->n++;
    pe->first = ps->nweeks;
    for (size_t j = 0; j < ps->nread; j++) {
        if (on[j]) {
            pe->in[ps->week[j]] = 1;
            pe->first = ps->week[j] < pe->first ? ps->week[j] : pe->first;
        }
    }
    return 0;
}

/* Peers in the order of the week they first appear in, then of id. */
static int peer_first_cmp(const void *a, const void *b)
{
    const struct peer *x = a;
    const struct peer *y = b;

    return x->first != y->first ? (x->first > y->first) - (x->first < y->first)
                                : strcmp(x->id, y->id);
}

/* The peers' counted cells, per week w (0: the oldest of the window). */
struct peer_cells {
    unsigned nweeks;
    size_t nb;
    Coachq__V1__AggWeek *w; /* per week: only the counted index sums */
    /* The counted behaviour cells summed over the window, in rubric order:
     * the focus table shows them over the window only, so they are summed
     * once here rather than kept per week and summed again. */
    Coachq__V1__AggWeek beh;
    int any_raw;       /* some peer had ratings, counted or not */
    unsigned left_out; /* weeks whose index cell did not count */
};

static void peer_cells_free(struct peer_cells *pc)
{
    if (pc->w != NULL) {
        for (unsigned i = 0; i < pc->nweeks; i++) {
            dash_week_clear(&pc->w[i]);
        }
    }
    free(pc->w);
    pc->w = NULL;
    dash_week_clear(&pc->beh);
}

/* The peers' figures of one rubric behaviour in one week, summed over the
 * peers in the line that week, in the order agg_week_add() sums them. */
struct peer_beh {
    uint64_t count;
    double sum;
    double sumsq;
    uint64_t proficient;
    int present; /* some peer's week listed the behaviour */
};

/* One peer's weeks as agg_read_impact() gives them, added into the window's
 * sums (peer_cells_load()). */
struct peer_read {
    int32_t first; /* Monday of week 0 */
    unsigned tw;
    size_t nb;                /* the rubric behaviours read (slots) */
    const unsigned char *in;  /* the peer's weeks in the line */
    Coachq__V1__AggWeek *raw; /* per week: observations and index sums */
    struct peer_beh *beh;     /* per week and slot */
    unsigned *observed;
    unsigned *rated;
    uint8_t *seen; /* nb: the rubric behaviours met in this week */
};

/* Rubrics hold at most RUBRIC_MAX_BEHAVIOURS behaviours (rubric_json.h), so
 * agg_read_impact() matches every one of them. */
_Static_assert(RUBRIC_MAX_BEHAVIOURS <= AGG_SLOT_IDS_MAX, "agg_read_impact() takes the rubric");

static int peer_week_cb(int32_t monday, const struct agg_slots *w, void *arg)
{
    struct peer_read *pr = arg;
    int32_t i = (monday - pr->first) / 7;
    Coachq__V1__AggWeek *raw;

    if (monday < pr->first || (monday - pr->first) % 7 != 0 || i >= (int32_t)pr->tw || !pr->in[i]) {
        return 0;
    }
    raw = &pr->raw[i];
    raw->observations += w->observations;
    raw->index_n += w->index_n;
    raw->index_sum += w->index_sum;
    raw->index_sumsq += w->index_sumsq;
    pr->observed[i] += w->index_n > 0;
    /* A rubric behaviour counts the peer once, by its first entry in the
     * week (as a lookup by id would find it); agg_read_impact() gave each
     * entry its place in the rubric, so there is no id to compare here. */
    memset(pr->seen, 0, pr->nb + 1);
    for (size_t j = 0; j < w->nb; j++) {
        const struct agg_slot_beh *ab = &w->b[j];
        struct peer_beh *pb;

        if (ab->slot < 0) {
            continue;
        }
        pb = &pr->beh[(size_t)i * pr->nb + (size_t)ab->slot];
        pb->count += ab->count;
        pb->sum += ab->sum;
        pb->sumsq += ab->sumsq;
        pb->proficient += ab->proficient;
        pb->present = 1;
        if (!pr->seen[ab->slot]) {
            pr->seen[ab->slot] = 1;
            pr->rated[(size_t)i * (pr->nb + 1) + (size_t)ab->slot] += ab->count > 0;
        }
    }
    return 0;
}

/* Builds the counted cells of the subject's peers over the trend window. */
static int peer_cells_load(const struct dash_ctx *c, const char *manager, struct peers *ps,
                           struct peer_cells *pc)
{
    static const Coachq__V1__AggWeek init = COACHQ__V1__AGG_WEEK__INIT;
    const Coachq__V1__Rubric *rb = c->rubric;
    unsigned tw = c->opts->trend_weeks;
    unsigned *observed = NULL; /* per week: peers with observations */
    unsigned *rated = NULL;    /* per week and behaviour: peers with ratings */
    unsigned *week = NULL;     /* the week of each Sunday read */
    int32_t *sunday = NULL;
    Coachq__V1__AggWeek *raw = NULL;
    struct peer_beh *beh = NULL;
    struct peer_beh *win = NULL; /* per behaviour: its counted cells summed */
    const char **ids = NULL;
    struct peer_read pr;
    int rc = 0;

    pc->nweeks = tw;
    pc->beh = init;
    pc->nb = rb->n_behaviours;
    memset(&pr, 0, sizeof(pr));
    pr.nb = pc->nb < AGG_SLOT_IDS_MAX ? pc->nb : AGG_SLOT_IDS_MAX;
    pc->w = calloc(tw, sizeof(*pc->w));
    raw = calloc(tw, sizeof(*raw));
    beh = calloc((size_t)tw * pr.nb + 1, sizeof(*beh));
    ids = calloc(pr.nb + 1, sizeof(*ids));
    win = calloc(pr.nb + 1, sizeof(*win));
    observed = calloc(tw, sizeof(*observed));
    rated = calloc((size_t)tw * (pr.nb + 1), sizeof(*rated));
    pr.seen = calloc(pr.nb + 1, 1);
    week = calloc(tw, sizeof(*week));
    sunday = calloc(tw, sizeof(*sunday));
    if (pc->w == NULL || raw == NULL || beh == NULL || win == NULL || ids == NULL ||
        observed == NULL || rated == NULL || pr.seen == NULL || week == NULL || sunday == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (unsigned i = 0; i < tw; i++) {
        pc->w[i] = init;
        raw[i] = init;
    }
    for (size_t b = 0; b < pr.nb; b++) {
        ids[b] = rb->behaviours[b]->id;
    }
    /* Who was a peer in each week that is over, every Sunday from one read
     * of the lines; in the order they first appear in, as a read per week
     * would add them, and no more than DASH_LINE_MAX_MANAGERS. */
    for (unsigned i = 0; i < tw; i++) {
        sunday[ps->nread] = dash_week(c, tw - 1 - i) + 6;
        week[ps->nread] = i;
        ps->nread += sunday[ps->nread] < c->today;
    }
    ps->week = week;
    if (ps->nread > 0) {
        rc = people_reports_on(c->t, manager, sunday, ps->nread, peers_on_cb, ps);
    }
    if (rc == 0 && ps->n > 1) {
        qsort(ps->p, ps->n, sizeof(ps->p[0]), peer_first_cmp);
    }
    for (; rc == 0 && ps->n > DASH_LINE_MAX_MANAGERS; ps->n--) {
        free(ps->p[ps->n - 1].in);
        ps->cut = 1;
    }
    /* Their weeks: sums and how many distinct peers each cell rests on,
     * added as they are read (each peer's weeks in peer order, as before),
     * from each peer's impact blocks (agg_read_impact()): one or two
     * values per peer for the window instead of one per week. A block
     * holds every figure these cells show (observations, index sums, the
     * behaviours' counts and sums); it lists a behaviour a week did not
     * rate with zero figures, which rates no peer, and keeps no
     * proficient count, which no peer cell shows. */
    pr.first = dash_week(c, tw - 1);
    pr.tw = tw;
    pr.raw = raw;
    pr.beh = beh;
    pr.observed = observed;
    pr.rated = rated;
    for (size_t k = 0; k < ps->n && rc == 0; k++) {
        pr.in = ps->p[k].in;
        rc = agg_read_impact(c->t, dash_agg_kind(c, AGG_COACH), ps->p[k].id, c->rubric_id, pr.first,
                             c->until_monday, pr.first, c->until_monday, ids, pr.nb, peer_week_cb,
                             &pr);
    }
    /* The counted cells; the behaviours' summed week by week, oldest first,
     * as adding each week's cells to a total would add them. */
    for (unsigned i = 0; i < tw && rc == 0; i++) {
        Coachq__V1__AggWeek *dst = &pc->w[i];

        pc->any_raw |= raw[i].index_n > 0;
        if (observed[i] >= c->opts->privacy_min) {
            dst->observations = raw[i].observations;
            dst->index_n = raw[i].index_n;
            dst->index_sum = raw[i].index_sum;
            dst->index_sumsq = raw[i].index_sumsq;
        } else if (raw[i].index_n > 0) {
            pc->left_out++;
        }
        for (size_t b = 0; b < pr.nb; b++) {
            const struct peer_beh *pb = &beh[(size_t)i * pr.nb + b];

            if (!pb->present || rated[i * (pr.nb + 1) + b] < c->opts->privacy_min) {
                continue;
            }
            win[b].count += pb->count;
            win[b].sum += pb->sum;
            win[b].sumsq += pb->sumsq;
            win[b].proficient += pb->proficient;
            win[b].present = 1;
        }
    }
    for (size_t b = 0; b < pr.nb && rc == 0; b++) {
        Coachq__V1__AggBehaviour ab = COACHQ__V1__AGG_BEHAVIOUR__INIT;
        Coachq__V1__AggWeek one = COACHQ__V1__AGG_WEEK__INIT;
        Coachq__V1__AggBehaviour *bp[1];

        if (!win[b].present) {
            continue;
        }
        ab.id = rb->behaviours[b]->id;
        ab.count = win[b].count;
        ab.sum = win[b].sum;
        ab.sumsq = win[b].sumsq;
        ab.proficient = win[b].proficient;
        bp[0] = &ab;
        one.behaviours = bp;
        one.n_behaviours = 1;
        rc = dash_week_add(&pc->beh, &one);
    }
out:
    free(raw);
    free(beh);
    free(win);
    free(ids);
    free(observed);
    free(rated);
    free(pr.seen);
    free(week);
    free(sunday);
    ps->week = NULL;
    return rc;
}

/* A peers' figure: "group too small" when peers were rated but no cell
 * rested on enough of them, else the figure (or insufficient data). */
static void peer_cell(struct dash *d, Coachq__V1__TableRow *r, const struct peer_cells *pc,
                      double v, unsigned n)
{
    if (n == 0 && pc->any_raw) {
        dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
    } else {
        dash_cell_num(d, r, v, n, 2);
    }
}

/*
 * The peers of My coaching: the other front-line managers under the
 * subject's manager (see struct peer above for the rule that keeps each of
 * them from being singled out), compared only when today's line has enough
 * of them to make a group at all. Sets *compare, and then pc and
 * *line_total (the counted cells summed). manager (len bytes) receives the
 * subject's manager and must outlive ps. Returns 0 or a negative code.
 */
static int coaching_peers(const struct dash_ctx *c, char *manager, size_t len, struct peers *ps,
                          struct peer_cells *pc, Coachq__V1__AggWeek *line_total, int *compare)
{
    unsigned tw = c->opts->trend_weeks;
    int rc;

    *compare = 0;
    ps->c = c;
    ps->nweeks = tw;
    if (people_manager_at(c->t, c->subject, c->today, manager, len) != 0) {
        return 0;
    }
    ps->manager = manager;
    rc = people_reports_at(c->t, manager, c->today, peers_cb, ps);
    if (rc != 0 || ps->today_n < c->opts->privacy_min) {
        return rc;
    }
    *compare = 1;
    rc = peer_cells_load(c, manager, ps, pc);
    for (unsigned w = 0; rc == 0 && w < tw; w++) {
        rc = dash_week_add(line_total, &pc->w[w]);
    }
    if (rc == 0) {
        rc = dash_week_add(line_total, &pc->beh);
    }
    return rc;
}

/* The trend of My coaching, as a chart and its table. Returns 0 or
 * -ENOMEM. */
static int coaching_trend(struct dash *d, const struct dash_ctx *c, const struct dash_weeks *ws,
                          const struct peer_cells *pc, int compare)
{
    static const char *const tcols_line[] = {"Week", "Quality index", "Peers' average"};
    unsigned tw = c->opts->trend_weeks;
    Coachq__V1__Table *tt;
    Coachq__V1__Chart *ch;
    Coachq__V1__Series *s, *ls = NULL;

    ch = dash_chart(d, "quality-trend", "Quality index, 4-week rolling",
                    COACHQ__V1__CHART__KIND__KIND_LINES, "quality-trend");
    tt = dash_table(d, "quality-trend", "Quality index, 4-week rolling", tcols_line,
                    compare ? 3 : 2);
    if (ch == NULL || tt == NULL) {
        return -ENOMEM;
    }
    ch->x_title = (char *)"ISO week";
    ch->y_title = (char *)"Quality index (1-4)";
    ch->y_min = 1;
    ch->y_max = 4;
    dash_line_chart_weeks(d, c, ch, tw);
    s = dash_series(d, ch, dash_msg(d)->subject_name, 0);
    if (compare) {
        ls = dash_series(d, ch, "Peers' average", 0);
    }
    tt->note = dash_printf(d,
                           "Mean observation score (1 to 4) over the %u weeks ending with each "
                           "ISO week (fewer at the start of the period); n is the number of "
                           "observations, fewer than %u is insufficient data.%s",
                           DASH_ROLL, c->opts->min_n,
                           compare ? " Peers' average: the same over the other front-line "
                                     "managers of the line, from the weeks where at least the "
                                     "privacy minimum of them were observed."
                                   : "");
    for (unsigned w = 0; w < tw; w++) {
        Coachq__V1__TableRow *r = dash_row(d, tt);

        dash_cell_text(d, r, dash_line_week_label(d, dash_week(c, tw - 1 - w)), NULL);
        dash_cell_num(d, r, dash_line_quality(&ws->r[w]), dash_line_n32(ws->r[w].index_n), 2);
        dash_series_add(d, s, dash_line_quality(&ws->r[w]), dash_line_n32(ws->r[w].index_n), NAN,
                        NAN);
        if (compare) {
            Coachq__V1__AggWeek roll = COACHQ__V1__AGG_WEEK__INIT;

            /* The counted cells of the DASH_ROLL weeks ending with w. */
            for (unsigned j = w + 1 > DASH_ROLL ? w + 1 - DASH_ROLL : 0; j <= w; j++) {
                roll.index_n += pc->w[j].index_n;
                roll.index_sum += pc->w[j].index_sum;
            }
            peer_cell(d, r, pc, dash_line_quality(&roll), dash_line_n32(roll.index_n));
            dash_series_add(d, ls, dash_line_quality(&roll), dash_line_n32(roll.index_n), NAN, NAN);
        }
    }
    return 0;
}

/* The focus rows: every behaviour of the rubric with its own and its
 * peers' figures over the window, weakest first. Caller frees *out. */
static int coaching_focus_rows(const struct dash_ctx *c, const Coachq__V1__AggWeek *total,
                               const Coachq__V1__AggWeek *line_total, struct focus_row **out)
{
    const Coachq__V1__Rubric *rb = c->rubric;
    struct focus_row *rows = calloc(rb->n_behaviours + 1, sizeof(*rows));

    *out = rows;
    if (rows == NULL) {
        return -ENOMEM;
    }
    for (size_t b = 0; b < rb->n_behaviours; b++) {
        const Coachq__V1__AggBehaviour *ab = dash_agg_behaviour(total, rb->behaviours[b]->id);
        const Coachq__V1__AggBehaviour *lb = dash_agg_behaviour(line_total, rb->behaviours[b]->id);

        rows[b].b = rb->behaviours[b];
        rows[b].pos = b;
        rows[b].n = ab != NULL ? dash_line_n32(ab->count) : 0;
        rows[b].mean = rows[b].n > 0 ? ab->sum / (double)ab->count : NAN;
        rows[b].line_n = lb != NULL ? dash_line_n32(lb->count) : 0;
        rows[b].line_mean = rows[b].line_n > 0 ? lb->sum / (double)lb->count : NAN;
    }
    qsort(rows, rb->n_behaviours, sizeof(*rows), focus_cmp);
    return 0;
}

/* "What to work on next": the behaviours from the weakest up, the two
 * weakest with enough ratings marked. Returns 0 or -ENOMEM. */
static int coaching_focus(struct dash *d, const struct dash_ctx *c,
                          const Coachq__V1__AggWeek *total, const Coachq__V1__AggWeek *line_total,
                          const struct peer_cells *pc, int compare)
{
    static const char *const cols_line[] = {"Behaviour", "Mean", "Peers' average", "Focus"};
    static const char *const cols_own[] = {"Behaviour", "Mean", "Focus"};
    const Coachq__V1__Rubric *rb = c->rubric;
    struct focus_row *rows = NULL;
    Coachq__V1__Table *t;
    unsigned marked = 0;
    int rc;

    rc = coaching_focus_rows(c, total, line_total, &rows);
    if (rc != 0) {
        return rc;
    }
    t = dash_table(d, "focus", "What to work on next", compare ? cols_line : cols_own,
                   compare ? 4 : 3);
    if (t == NULL) {
        free(rows);
        return -ENOMEM;
    }
    t->note = dash_printf(
        d,
        "Behaviours by mean score (1 to 4) over the last %u weeks, lowest first; n is the "
        "number of ratings. The two lowest with at least %u ratings are marked to focus on "
        "next.%s",
        c->opts->trend_weeks, c->opts->min_n,
        compare ? dash_printf(d,
                              " Peers' average: the other front-line managers under the same "
                              "manager (never the person this page is about, nor you), from "
                              "the weeks that are over in which at least %u of them were rated "
                              "on the behaviour; other weeks are left out, so that no "
                              "arithmetic on these figures singles anyone out.",
                              c->opts->privacy_min)
                : dash_printf(d,
                              " No peers' average: fewer than %u other managers under the same "
                              "manager, too small a group to compare.",
                              c->opts->privacy_min));
    for (size_t i = 0; i < rb->n_behaviours; i++) {
        Coachq__V1__TableRow *r = dash_row(d, t);
        int focus = marked < 2 && rows[i].n >= c->opts->min_n && isfinite(rows[i].mean);

        dash_cell_text(d, r, dash_line_behaviour_name(rows[i].b), NULL);
        dash_cell_num(d, r, rows[i].mean, rows[i].n, 2);
        if (compare) {
            peer_cell(d, r, pc, rows[i].line_mean, rows[i].line_n);
        }
        dash_cell_text(d, r, focus ? "focus next" : "", NULL);
        marked += focus ? 1 : 0;
    }
    free(rows);
    return 0;
}

int dash_my_coaching(struct dash *d, const struct dash_ctx *c)
{
    Coachq__V1__AggWeek total = COACHQ__V1__AGG_WEEK__INIT;
    Coachq__V1__AggWeek line_total = COACHQ__V1__AGG_WEEK__INIT;
    struct dash_weeks ws;
    struct peers ps;
    struct peer_cells pc;
    char manager[65];
    int compare = 0;
    int rc;

    memset(&ws, 0, sizeof(ws));
    memset(&ps, 0, sizeof(ps));
    memset(&pc, 0, sizeof(pc));
    /* The rolling weeks give the quality trend only; the behaviours are
     * shown summed over the window, so they are summed as they are read. */
    rc = dash_weeks_load_sums(c, AGG_COACH, c->subject, c->opts->trend_weeks, &ws, &total, 0, NULL);
    if (rc == 0) {
        rc = coaching_peers(c, manager, sizeof(manager), &ps, &pc, &line_total, &compare);
    }
    if (rc == 0) {
        rc = coaching_trend(d, c, &ws, &pc, compare);
    }
    if (rc == 0) {
        rc = coaching_focus(d, c, &total, &line_total, &pc, compare);
    }
    if (rc == 0) {
        /* The window's AGG_COACH weeks summed: the cadence's observed
         * minutes and reviews come from them, with no read of its own. */
        rc = dash_cadence_my_coaching(d, c, dash_line_quality(&total), dash_line_n32(total.index_n),
                                      &total);
    }
    if (rc == 0) {
        dash_self_review(d, &total);
    }
    if (rc == 0) {
        struct dash_mix_row row = {dash_msg(d)->subject_name, NULL, &total};
        /* The manager's own team, seen by them, by a lead or administrator,
         * or by a manager above them for the quarters they were in that
         * manager's line. */
        struct dash_results_row res = {dash_msg(d)->subject_name, c->subject, AGG_COACH, c->subject,
                                       (c->user->roles & (AUTH_LEAD | AUTH_ADMIN)) != 0 ||
                                               strcmp(c->user->id, c->subject) == 0
                                           ? NULL
                                           : c->user->id};

        rc = dash_mix_tables(d, c, &row, 1);
        if (rc == 0) {
            rc = dash_results_table(d, c, &res, 1, 0);
        }
    }
    if (rc != 0) {
        goto out;
    }
    if (!compare) {
        dash_note(d, "Your peers' average is not shown: fewer than %u managers to compare with.",
                  c->opts->privacy_min);
    } else if (pc.left_out > 0) {
        dash_note(d,
                  "Peers' average: %u week%s with peers observed left out, each with fewer "
                  "than %u of them observed.",
                  pc.left_out, pc.left_out == 1 ? "" : "s", c->opts->privacy_min);
    }
    if (ps.cut) {
        dash_note(d, "Only the first %u peers are compared.", DASH_LINE_MAX_MANAGERS);
    }
    dash_actions_open(d, c, c->subject);
    rc = dash_failed(d);
out:
    dash_week_clear(&total);
    dash_week_clear(&line_total);
    dash_weeks_free(&ws);
    peer_cells_free(&pc);
    peers_free(&ps);
    return rc;
}
