/*
 * dash_observer: an observer's own reliability page; see dash_observer.h.
 *
 * The cost is one range read of the observer's lists by week (each lists
 * the managers seen that week, agg.h AGG_OBSERVER_WEEK), a point read of
 * the coach-week value (AGG_COACH_WEEK) of each manager seen and week,
 * and one of every other observer's lists in the window (to count the
 * other observers in each weekly cell): values read grow with the
 * observers, weeks and managers seen, never with the observations or the
 * organisation's other managers.
 */
#include "dash_observer.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "certs.h"
#include "dash_obs_mine.h"
#include "dash_observers.h"
#include "grow.h"
#include "people.h"
#include "tz.h"
#include "zone.h"

/* Columns of the row shared with Observer reliability (dash_observers.c). */
enum {
    COL_CAL_EXACT = 3,
    COL_CAL_WITHIN = 4,
    COL_CAL_KAPPA = 5,
    COL_DC_EXACT = 8,
    COL_DC_WITHIN = 9,
    COL_DC_KAPPA = 10,
    COL_DRIFT = 11,
    COL_CAL_FLAG = 14,
    COL_COUNT = 15,
};

/* The observer on one manager in one week, beside that manager's week
 * over every observer. */
struct cell_part {
    int week;              /* index from the window's first Monday */
    char coach[65];        /* the manager */
    char line[65];         /* their manager on the week's Sunday, "" for none */
    uint64_t sessions;     /* the observer's observations of the manager */
    double n, sum;         /* the observer's ratings */
    double all_n, all_sum; /* every observer's ratings of the manager */
    unsigned peers;        /* other observers with ratings of the manager */
    int64_t raters;        /* observers with ratings of the manager (format 8), -1 unknown */
    int wanted;            /* the cell can count (weeks_drift()) once peers is enough */
};

/* One week of the window. */
struct obs_week {
    uint64_t sessions; /* the observer's observations (AGG_OBSERVER) */
    unsigned managers; /* managers observed */
    unsigned lines;    /* lines observed */
    unsigned compared; /* managers with privacy_min other observers' ratings */
    unsigned peers;    /* other observers with ratings of those managers */
    int others;        /* some manager observed was rated by another observer */
    double num, den, peers_n;
    int counted;
};

/* A manager's window over every observer (AGG_COACH), for the row of
 * Observer reliability (dash_observers_row_from()). */
struct coach_win {
    const char *id; /* a part's coach */
    struct dash_obs_window w;
    char line[65];     /* the coach's manager, "" for none, from line_from */
    int32_t line_from; /* to line_last (people_manager_span()) */
    int32_t line_last;
    int have_line; /* line holds an answer */
};

struct page {
    const struct dash_ctx *c;
    const char *oid;
    int32_t from;
    size_t nweeks;
    struct obs_week *w;
    struct cell_part *part;
    size_t n, cap;
    uint8_t *mark;         /* per week: the other observer being read has ratings there */
    size_t want;           /* the cells wanted (count_peers()) that lack privacy_min peers */
    int raters_unknown;    /* a cell's coach-week value had a damaged count */
    size_t at;             /* peer_cb()'s place in part */
    struct coach_win *win; /* the managers of part in id order, their windows */
    size_t nwin;
    struct dash_ids obs; /* the observers, listed with flm in one walk of the people */
    struct dash_ids flm; /* the front-line managers, for the row */
};

static double rated_n(const Coachq__V1__AggWeek *a, double *sum)
{
    double n = 0;

    *sum = 0;
    for (size_t i = 0; i < a->n_behaviours; i++) {
        n += (double)a->behaviours[i]->count;
        *sum += a->behaviours[i]->sum;
    }
    return n;
}

static int week_index(const struct page *p, int32_t monday)
{
    int32_t i = (monday - p->from) / 7;

    return i >= 0 && (size_t)i < p->nweeks ? (int)i : -1;
}

static int part_cmp_key(int week, const char *coach, const struct cell_part *b)
{
    if (week != b->week) {
        return week < b->week ? -1 : 1;
    }
    return strcmp(coach, b->coach);
}

static int part_cmp(const void *a, const void *b)
{
    const struct cell_part *x = a;

    return part_cmp_key(x->week, x->coach, b);
}

/* The part of (week, coach), or NULL: a binary search, the parts being
 * sorted by week and manager once read (part_cmp). */
static struct cell_part *part_find(const struct page *p, int week, const char *coach)
{
    size_t lo = 0, hi = p->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = part_cmp_key(week, coach, &p->part[mid]);

        if (cmp == 0) {
            return &p->part[mid];
        }
        if (cmp < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return NULL;
}

static int mine_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *a, void *arg)
{
    struct page *p = arg;
    int wk = week_index(p, monday);
    size_t len = strlen(coach);
    struct cell_part *cp;

    if (wk < 0 || a->observations == 0 || len >= sizeof(cp->coach)) {
        return 0;
    }
    if (GROW_ARRAY(p->part, p->cap, p->n + 1, 64) < 0) {
        return -ENOMEM;
    }
    cp = &p->part[p->n++];
    memset(cp, 0, sizeof(*cp));
    cp->week = wk;
    /* A copy of the id and its NUL (len fits, checked above): a
     * formatted print cost more than the rest of the part. */
    memcpy(cp->coach, coach, len + 1);
    cp->sessions = a->observations;
    cp->n = rated_n(a, &cp->sum);
    return 0;
}

/* Whether the parts are in part_cmp's order, each (week, manager) once. */
static int parts_sorted(const struct page *p)
{
    for (size_t i = 1; i < p->n; i++) {
        if (part_cmp(&p->part[i - 1], &p->part[i]) >= 0) {
            return 0;
        }
    }
    return 1;
}

static int sessions_cb(int32_t monday, const Coachq__V1__AggWeek *a, void *arg)
{
    struct page *p = arg;
    int wk = week_index(p, monday);

    if (wk >= 0) {
        p->w[wk].sessions += a->observations;
    }
    return 0;
}

static int win_cmp(const void *key, const void *b);

/* One coach-week of a manager the observer saw in the window: added to
 * the manager's window and to the part of that week. */
static int coach_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *a, int64_t raters,
                    void *arg)
{
    struct page *p = arg;
    struct coach_win *cw = bsearch(coach, p->win, p->nwin, sizeof(*p->win), win_cmp);
    struct cell_part *cp;
    struct dash_obs_window *w;
    double sum;
    double n;

    if (cw == NULL) {
        return 0;
    }
    cp = part_find(p, week_index(p, monday), coach);
    w = &cw->w;
    n = rated_n(a, &sum);

    /* The window as the row would sum it (dash_observers.c obs_sum_cb()):
     * week by week, oldest first, one behaviour (AGG_RATED) a week. */
    w->observations += a->observations;
    w->n += n;
    w->sum += sum;
    if (cp != NULL) {
        cp->all_n = n;
        cp->all_sum = sum;
        cp->raters = raters;
        p->raters_unknown |= raters < 0;
    }
    return 0;
}

/* The part of (week, coach), or NULL, for the managers of one read of the
 * observer's week lists (agg_read_coached(), format 5): they come by week
 * and, within a week, in coach id order (agg.h), the order of part
 * (part_cmp), so the search walks forward from where the previous
 * manager's stopped (p->at, 0 at the read's start) and a manager costs
 * about one comparison rather than a binary search's. */
static struct cell_part *part_next(struct page *p, int week, const char *coach)
{
    int cmp = 1;

    while (p->at < p->n && (cmp = part_cmp_key(week, coach, &p->part[p->at])) > 0) {
        p->at++;
    }
    /* A part found is stepped past: a list names each (week, manager)
     * once, so the next manager read is a later part, and is found with
     * one comparison rather than two. */
    return p->at < p->n && cmp == 0 ? &p->part[p->at++] : NULL;
}

static int peer_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *a, void *arg)
{
    struct page *p = arg;
    int wk = week_index(p, monday);
    struct cell_part *cp = wk >= 0 ? part_next(p, wk, coach) : NULL;
    double sum;

    /* One record per week and manager for each observer read, so each
     * adds one other observer to the cell. */
    if (cp != NULL && rated_n(a, &sum) > 0) {
        p->mark[wk] = 1;
        cp->peers++;
        p->want -= cp->wanted && cp->peers == p->c->opts->privacy_min;
    }
    return 0;
}

/* The distinct managers of the parts, in id order, into ids (room for
 * p->n, tmp as much): each week's parts are in id order already
 * (part_cmp), so the weeks are merged one after the other, a walk of each
 * rather than a sort of every part (at 1M, 12 weeks of nearly every
 * manager). Returns how many. */
static size_t coach_ids(const struct page *p, const char **ids, const char **tmp)
{
    size_t n = 0;

    for (size_t a = 0, b; a < p->n; a = b) {
        size_t i = 0, j = a, m = 0;

        for (b = a; b < p->n && p->part[b].week == p->part[a].week; b++) {
        }
        while (i < n || j < b) {
            int cmp = i == n ? 1 : j == b ? -1 : strcmp(ids[i], p->part[j].coach);

            /* A manager twice in one week's list (only a damaged one has
             * that) is kept once, as a sort and a walk would. */
            if (cmp > 0 && m > 0 && strcmp(tmp[m - 1], p->part[j].coach) == 0) {
                j++;
                continue;
            }
            tmp[m++] = cmp <= 0 ? ids[i] : p->part[j].coach;
            i += cmp <= 0;
            j += cmp >= 0;
        }
        memcpy(ids, tmp, m * sizeof(*ids));
        n = m;
    }
    return n;
}

/* The line of part cp (its manager's manager on the week's Sunday, "" for
 * none, as the first link of people_chain_at(): nobody when the manager
 * reports to themselves) into cp->line, through cw's last answer when its
 * span holds the day: one read per manager and change of line, not per
 * week. Returns 0 or people_manager_span()'s error. */
static int part_line(const struct page *p, struct cell_part *cp, struct coach_win *cw)
{
    int32_t day = p->from + 7 * cp->week + 6;
    int rc = 0;

    if (!cw->have_line || day < cw->line_from || day > cw->line_last) {
        rc = people_manager_span(p->c->t, cp->coach, day, cw->line, sizeof(cw->line),
                                 &cw->line_from, &cw->line_last);
        if (rc == -ENOENT || (rc == 0 && strcmp(cw->line, cp->coach) == 0)) {
            cw->line[0] = '\0';
            rc = 0;
        }
        cw->have_line = rc == 0;
    }
    if (rc == 0) {
        memcpy(cp->line, cw->line, sizeof(cp->line));
    }
    return rc;
}

/* Each manager's weeks over every observer (a point read per manager and
 * week), and each part's line (the manager's manager on the week's
 * Sunday). */
static int coach_reads(struct page *p)
{
    const struct dash_ctx *c = p->c;
    const char **ids = calloc(2 * (p->n + 1), sizeof(*ids));
    int rc = 0;

    p->win = calloc(p->n + 1, sizeof(*p->win));
    if (ids == NULL || p->win == NULL) {
        free(ids);
        return -ENOMEM;
    }
    p->nwin = coach_ids(p, ids, ids + p->n + 1);
    for (size_t i = 0; i < p->nwin; i++) {
        p->win[i].id = ids[i];
    }
    /* The managers seen, each week of the window, from their coach-week
     * values (agg.h AGG_COACH_WEEK). */
    if (p->nwin > 0) {
        rc = agg_read_coach_weeks(c->t, 0, c->rubric_id, ids, p->nwin, p->from, c->until_monday,
                                  coach_cb, p);
    }
    free(ids);
    /* A week's parts are in id order, as win is: a walk of win per week. */
    for (size_t i = 0, k = 0; i < p->n && rc == 0; i++) {
        struct cell_part *cp = &p->part[i];

        k = i > 0 && p->part[i - 1].week == cp->week ? k : 0;
        while (k < p->nwin && strcmp(p->win[k].id, cp->coach) < 0) {
            k++;
        }
        rc = k < p->nwin ? part_line(p, cp, &p->win[k]) : -EIO;
    }
    return rc;
}

static int win_cmp(const void *key, const void *b)
{
    return strcmp(key, ((const struct coach_win *)b)->id);
}

static int win_sum_cb(int32_t monday, const Coachq__V1__AggWeek *a, void *arg)
{
    struct dash_obs_window *w = arg;
    double sum;
    double n = rated_n(a, &sum);

    (void)monday;
    w->observations += a->observations;
    w->n += n;
    w->sum += sum;
    return 0;
}

/* The row's window of coach (dash_obs_window_fn): the one coach_reads()
 * summed, or, for a manager it did not read (none the row asks for, as
 * both walk the observer's values in the window), read here. */
static int coach_window_cb(const char *coach, struct dash_obs_window *w, void *arg)
{
    const struct page *p = arg;
    const struct coach_win *cw = bsearch(coach, p->win, p->nwin, sizeof(*p->win), win_cmp);

    if (cw != NULL) {
        *w = cw->w;
        return 0;
    }
    memset(w, 0, sizeof(*w));
    return agg_read_rated(p->c->t, AGG_COACH, coach, p->c->rubric_id, p->from, p->c->until_monday,
                          win_sum_cb, w);
}

/* agg_read_listed()'s callback: adds observer to the dash_ids arg. */
static int push_listed(const char *observer, void *arg)
{
    return dash_ids_push(arg, observer);
}

/* Counts the other observers with ratings in each week's managers, from
 * the coach-week values' counts (format 8) when every one is sound, or
 * else from the other observers' lists, as far as the page uses the
 * counts: weeks_drift() compares them with
 * privacy_min only, for the cells that can count (the observer's ratings
 * and other observers' on the manager that week) and the weeks holding
 * one, whose count is at least any of its cells' (each observer counted
 * in a cell is counted in its week). So the other observers' lists are
 * read until every such cell has privacy_min of them, and not at all when
 * no cell can count: in bench_dash's stores, 15 to 17 of the 19 others'
 * lists at 1M (the observers see different managers, so the last cells
 * get their peers late) and none at 10k, where no manager the observer
 * scored in a week was scored by another observer that week. Both ways
 * count every other observer with ratings of the manager that week,
 * whatever their role today (their ratings are in the pooled figures):
 * the lists read are every observer's who holds any (agg_read_listed()),
 * not only today's observers' as main's page read them. */
static int count_peers(struct page *p)
{
    const struct dash_ctx *c = p->c;
    struct dash_ids listed;
    unsigned min = c->opts->privacy_min;
    int rc = 0;

    memset(&listed, 0, sizeof(listed));

    p->want = 0;
    for (size_t i = 0; i < p->n && min > 0; i++) {
        struct cell_part *cp = &p->part[i];

        cp->wanted = cp->n > 0 && cp->all_n - cp->n > 0;
        p->want += cp->wanted;
    }
    /* From format 8 each coach-week value counts the observers with
     * ratings of its coach that week (agg.h), this observer among them
     * (cp->n > 0), so a cell's other observers need no list read. The
     * week's count is then its largest cell's: it is compared with
     * privacy_min only, and a week that counts has a cell that does.
     * When any cell's count is damaged, or the observer's own list names
     * a manager twice in a week (only damage does), every list is read as
     * before. */
    for (size_t i = 1; i < p->n && p->want > 0 && !p->raters_unknown; i++) {
        p->raters_unknown = part_cmp(&p->part[i - 1], &p->part[i]) == 0;
    }
    if (p->want > 0 && !p->raters_unknown) {
        for (size_t i = 0; i < p->n; i++) {
            struct cell_part *cp = &p->part[i];
            struct obs_week *w = &p->w[cp->week];

            if (!cp->wanted) {
                continue;
            }
            cp->peers = cp->raters > 1
                            ? (unsigned)(cp->raters - 1 > UINT_MAX ? UINT_MAX : cp->raters - 1)
                            : 0;
            w->peers = cp->peers > w->peers ? cp->peers : w->peers;
        }
        return 0;
    }
    /* Every observer holding lists, whatever their role today: one who
     * rated the manager that week and has since lost the role is in the
     * pooled figures, so a peer, as the counts above say. */
    rc = p->want > 0 ? agg_read_listed(c->t, push_listed, &listed) : 0;
    for (size_t i = 0; i < listed.n && rc == 0 && p->want > 0; i++) {
        if (strcmp(listed.id[i], p->oid) == 0) {
            continue;
        }
        memset(p->mark, 0, p->nweeks);
        p->at = 0;
        rc = agg_read_coached(c->t, listed.id[i], c->rubric_id, p->from, c->until_monday, peer_cb,
                              p);
        for (size_t k = 0; k < p->nweeks && rc == 0; k++) {
            p->w[k].peers += p->mark[k];
        }
    }
    dash_ids_free(&listed);
    return rc;
}

/* The distinct lines (second-level managers on the week's Sunday) of the
 * managers observed in week wk, or of every week when wk < 0. A week's
 * parts are one per manager (one value per week and manager), and the
 * window's distinct managers are win's (coach_reads()); lines are few (one
 * per second-level manager), looked up in a list. */
static int count_lines(struct page *p, int wk, unsigned *lines, unsigned *managers)
{
    struct dash_ids seen_line;
    int rc = 0;

    memset(&seen_line, 0, sizeof(seen_line));
    *managers = wk < 0 ? (unsigned)p->nwin : 0;
    for (size_t i = 0; i < p->n && rc == 0; i++) {
        const struct cell_part *cp = &p->part[i];
        int dup = 0;

        if (wk >= 0 && cp->week != wk) {
            continue;
        }
        *managers += wk >= 0;
        if (cp->line[0] == '\0') {
            continue;
        }
        for (size_t k = 0; k < seen_line.n && !dup; k++) {
            dup = strcmp(seen_line.id[k], cp->line) == 0;
        }
        if (!dup) {
            rc = dash_ids_push(&seen_line, cp->line);
        }
    }
    *lines = (unsigned)seen_line.n;
    dash_ids_free(&seen_line);
    return rc;
}

/* The last day of week k on which the observer could still change its
 * cells by amending: the week's Sunday plus the amendment window. */
static int32_t week_open_until(const struct page *p, size_t k)
{
    return p->from + 7 * (int32_t)k + 6 + (int32_t)p->c->opts->amend_days;
}

/*
 * The weeks' drift cells and whether each counts. The observer controls
 * their own ratings (n and sum) of each manager: amending an observation
 * or submitting one dated in a past week (late submissions have no limit)
 * changes one cell, and the change in the week's figure gives that cell's
 * other observers' mean away. So a manager's cell enters a week only when
 * at least privacy_min other observers rated the manager that week (what
 * can then be read is one week's mean over privacy_min others, the
 * finest figure of the privacy rule), and a week is shown only once no
 * amendment of a session submitted in time can reach it.
 */
static void weeks_drift(struct page *p)
{
    const struct dash_ctx *c = p->c;

    for (size_t i = 0; i < p->n; i++) {
        const struct cell_part *cp = &p->part[i];
        struct obs_week *w = &p->w[cp->week];
        double pn = cp->all_n - cp->n;
        double ps = cp->all_sum - cp->sum;

        w->others |= pn > 0;
        if (cp->n > 0 && pn > 0 && cp->peers >= c->opts->privacy_min) {
            w->num += cp->n * (cp->sum / cp->n - ps / pn);
            w->den += cp->n;
            w->peers_n += pn;
            w->compared++;
        }
    }
    for (size_t k = 0; k < p->nweeks; k++) {
        struct obs_week *w = &p->w[k];

        w->counted = week_open_until(p, k) < c->today && w->den > 0 &&
                     w->compared >= c->opts->privacy_min && w->peers >= c->opts->privacy_min;
    }
}

/* A drift cell: the figure, or why there is none. */
static Coachq__V1__Cell *drift_cell(struct dash *d, Coachq__V1__TableRow *r, double num, double den,
                                    double peers_n, int counted, const char *why)
{
    if (!counted) {
        return dash_cell_text(d, r, why, NULL);
    }
    return dash_cell_num(d, r, num / den, dash_clamp_n(peers_n < den ? peers_n : den), 2);
}

/* Replaces a cell's figure with words. */
static void withhold(struct dash *d, Coachq__V1__TableRow *r, size_t col, const char *text)
{
    Coachq__V1__Cell *cell;

    if (r == NULL || col >= r->n_cells) {
        return;
    }
    cell = r->cells[col];
    cell->text = dash_strdup(d, text);
    cell->has_value = 0;
    cell->value = 0;
    cell->n = 0;
    cell->insufficient = 0;
}

struct calib_pass {
    const char *rubric;
    int64_t until_ms;
    int have;
    int passed;
};

static int calib_pass_cb(const Coachq__V1__CalibrationResult *r, void *arg)
{
    struct calib_pass *cp = arg;

    if (r->rubric_id != NULL && strcmp(r->rubric_id, cp->rubric) == 0 && r->at_ms < cp->until_ms) {
        cp->have = 1;
        cp->passed = r->passed;
    }
    return 0;
}

/* The observer's own view of the row: calibration pass or fail, agreement
 * with other observers withheld, drift from counted cells only, and no
 * "suspicious" calibration flag (a lead's prompt to look at the attempts,
 * not a verdict to show the observer). */
static int row_for_observer(struct dash *d, struct page *p, Coachq__V1__TableRow *r,
                            const struct obs_week *tot)
{
    const struct dash_ctx *c = p->c;
    const struct tz_zone *zone = NULL;
    struct calib_pass cp;
    int rc;

    if (r == NULL || r->n_cells < COL_COUNT) {
        return 0;
    }
    memset(&cp, 0, sizeof(cp));
    rc = zone_of_person(c->t, p->oid, &zone);
    if (rc != 0) {
        return rc;
    }
    cp.rubric = c->rubric_id;
    cp.until_ms = tz_day_start(zone, (int64_t)c->until_day + 1) * 1000;
    rc = certs_results(c->t, p->oid, calib_pass_cb, &cp);
    if (rc == -ENOENT) {
        rc = 0;
    }
    if (rc != 0) {
        return rc;
    }
    withhold(d, r, COL_CAL_EXACT,
             !cp.have    ? "none"
             : cp.passed ? "passed (figures withheld)"
                         : "not passed (figures withheld)");
    withhold(d, r, COL_CAL_WITHIN, cp.have ? "withheld" : "none");
    withhold(d, r, COL_CAL_KAPPA, cp.have ? "withheld" : "none");
    withhold(d, r, COL_DC_EXACT, "withheld");
    withhold(d, r, COL_DC_WITHIN, "withheld");
    withhold(d, r, COL_DC_KAPPA, "withheld");
    withhold(d, r, COL_CAL_FLAG, "");
    if (tot->den > 0) {
        Coachq__V1__TableRow tmp = COACHQ__V1__TABLE_ROW__INIT;
        Coachq__V1__Cell *cell =
            drift_cell(d, &tmp, tot->num, tot->den, tot->peers_n, 1, "group too small");

        if (cell != NULL) {
            r->cells[COL_DRIFT] = cell;
        }
    } else {
        withhold(d, r, COL_DRIFT, "group too small");
    }
    return dash_failed(d);
}

/* The week-by-week table and its drift chart; *tot gets the window. */
static int weeks_table(struct dash *d, struct page *p, struct obs_week *tot)
{
    static const char *const cols[] = {
        "Week", "Sessions scored", "Managers observed", "Lines observed", "Severity drift",
    };
    const struct dash_ctx *c = p->c;
    Coachq__V1__Table *t =
        dash_table(d, "observer-weeks", "Week by week", cols, sizeof(cols) / sizeof(cols[0]));
    Coachq__V1__Chart *ch = dash_chart(d, "observer-drift", "Severity drift by week",
                                       COACHQ__V1__CHART__KIND__KIND_LINES, "observer-weeks");
    Coachq__V1__Series *s = dash_series(d, ch, "Severity drift", 0);
    Coachq__V1__Chart *sc = dash_chart(d, "observer-sessions", "Sessions scored by week",
                                       COACHQ__V1__CHART__KIND__KIND_BARS, "observer-weeks");
    Coachq__V1__Series *ss = dash_series(d, sc, "Sessions scored", 0);
    Coachq__V1__TableRow *r;
    int rc = 0;

    memset(tot, 0, sizeof(*tot));
    if (ch != NULL) {
        ch->y_title = dash_strdup(d, "points on the 1-4 scale");
    }
    if (sc != NULL) {
        sc->y_title = dash_strdup(d, "sessions");
    }
    for (size_t k = 0; k < p->nweeks && rc == 0; k++) {
        struct obs_week *w = &p->w[k];
        char day[16];

        rc = count_lines(p, (int)k, &w->lines, &w->managers);
        if (rc != 0) {
            break;
        }
        r = dash_row(d, t);
        dash_cell_text(d, r, dash_day_text(p->from + 7 * (int32_t)k, day, sizeof(day)), NULL);
        dash_cell_count(d, r, w->sessions);
        dash_cell_count(d, r, w->managers);
        dash_cell_count(d, r, w->lines);
        drift_cell(d, r, w->num, w->den, w->peers_n, w->counted,
                   w->sessions == 0                           ? ""
                   : !w->others                               ? "no other observer"
                   : p->from + 7 * (int32_t)k + 6 >= c->today ? "week not over"
                   : week_open_until(p, k) >= c->today        ? "amendments open"
                                                              : "group too small");
        dash_chart_x(d, ch, dash_day_text(p->from + 7 * (int32_t)k, day, sizeof(day)));
        dash_chart_x(d, sc, day);
        dash_series_add_value(d, ss, (double)w->sessions, dash_clamp_n((double)w->sessions));
        dash_series_add(d, s, w->counted ? w->num / w->den : NAN,
                        w->counted ? dash_clamp_n(w->peers_n < w->den ? w->peers_n : w->den) : 0,
                        NAN, NAN);
        tot->sessions += w->sessions;
        if (w->counted) {
            tot->num += w->num;
            tot->den += w->den;
            tot->peers_n += w->peers_n;
        }
    }
    if (rc == 0) {
        rc = count_lines(p, -1, &tot->lines, &tot->managers);
    }
    if (rc != 0) {
        return rc;
    }
    r = dash_row(d, t);
    dash_cell_text(d, r, "Window", NULL);
    dash_cell_count(d, r, tot->sessions);
    dash_cell_count(d, r, tot->managers);
    dash_cell_count(d, r, tot->lines);
    drift_cell(d, r, tot->num, tot->den, tot->peers_n, tot->den > 0, "group too small");
    if (t != NULL) {
        t->note = dash_printf(
            d,
            "Sessions scored: your observations of the page's rubric in the week. Managers "
            "observed: the managers you scored; lines observed: the second-level managers they "
            "reported to on the week's Sunday. Severity drift: your mean score minus the other "
            "observers' mean on the same managers, weighted by your ratings, from weekly cells "
            "only: a week counts once it is over and your amendments cannot reach it any more "
            "(%u days after its end), from the managers you scored that at least %u other "
            "observers also scored that week, when there are at least %u such managers "
            "(privacy), so no other observer's scores and no single manager's can be read from "
            "it, even by amending your own or adding a late session. The Window "
            "row pools the counted weeks, so it can differ from Observer reliability, which "
            "compares window means.",
            c->opts->amend_days, c->opts->privacy_min, c->opts->privacy_min);
    }
    return dash_failed(d);
}

int dash_observer(struct dash *d, const struct dash_ctx *c)
{
    Coachq__V1__Table *row_t = NULL;
    struct obs_week tot;
    struct page p;
    int rc;

    memset(&p, 0, sizeof(p));
    p.c = c;
    p.oid = c->subject;
    p.nweeks = c->opts->trend_weeks;
    p.from = dash_week(c, c->opts->trend_weeks - 1);
    p.w = calloc(p.nweeks + 1, sizeof(*p.w));
    p.mark = calloc(p.nweeks + 1, 1);
    if (p.w == NULL || p.mark == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    rc = agg_read_head(c->t, AGG_OBSERVER, p.oid, c->rubric_id, p.from, c->until_monday,
                       sessions_cb, &p);
    if (rc == 0) {
        rc = agg_read_coached(c->t, p.oid, c->rubric_id, p.from, c->until_monday, mine_cb, &p);
    }
    /* The lists come by week and each in id order, so the parts are in
     * part_cmp's order already; only a list out of order (a damaged one)
     * needs the sort. */
    if (rc == 0 && p.n > 1 && !parts_sorted(&p)) {
        qsort(p.part, p.n, sizeof(*p.part), part_cmp);
    }
    if (rc == 0) {
        rc = coach_reads(&p);
    }
    /* The row's drift needs the windows of the managers the observer saw,
     * which coach_reads() has just summed from the unfiltered values.
     * query/dash.c refuses the assigned-only filter for this page today, so
     * the row always takes them; were the page ever filtered, the row would
     * read the assigned twins itself rather than mix the two. */
    if (rc == 0) {
        int assigned = c->req != NULL && c->req->assigned_only;

        rc = dash_ids_with_roles(c->t, COACHQ__V1__ROLE__ROLE_OBSERVER, &p.obs,
                                 COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, &p.flm);
        if (rc == 0) {
            rc = dash_observers_row_from(d, c, p.oid, &p.flm, assigned ? NULL : coach_window_cb, &p,
                                         &row_t);
        }
    }
    if (rc == 0) {
        rc = count_peers(&p);
    }
    if (rc == 0) {
        weeks_drift(&p);
        rc = weeks_table(d, &p, &tot);
    }
    if (rc == 0) {
        rc = dash_obs_mine(d, c);
    }
    if (rc == 0 && (c->user->roles & (AUTH_LEAD | AUTH_ADMIN)) == 0 && row_t != NULL &&
        row_t->n_rows > 0) {
        rc = row_for_observer(d, &p, row_t->rows[0], &tot);
    }
    if (rc == 0 && row_t != NULL && (c->user->roles & (AUTH_LEAD | AUTH_ADMIN)) == 0) {
        row_t->note = dash_strdup(
            d, "Your row of Observer reliability. Calibration: pass or fail only, as in `coachq "
               "cert status` (figures would turn the limited attempts into a way to read the "
               "master scores); your figures from the attempts you had shown in full are in "
               "Agreement with the master scores. Agreement with other observers on "
               "double-coded sessions is shown to enablement leads and administrators only "
               "(privacy): it rests on "
               "their scores. Severity drift: the Window row of Week by "
               "week. Coverage: managers you observed over every front-line manager. Certified "
               "says \"yes, ends in N days\" when your certification ends within 30 days. The "
               "calibration flag is the leads' prompt to look at attempts and is left empty "
               "here.");
    }
    if (rc == 0) {
        rc = dash_failed(d);
    }
out:
    free(p.w);
    free(p.mark);
    free(p.part);
    free(p.win);
    dash_ids_free(&p.obs);
    dash_ids_free(&p.flm);
    return rc;
}
