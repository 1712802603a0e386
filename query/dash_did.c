/*
 * dash_did: the difference-in-differences of Programme impact (dashboard 3):
 * quality before and after training, trained managers against managers not
 * yet trained, with its placebo check on the weeks before training and the
 * pre-training trends of both groups. dash_programme.c gathers who trained
 * when and calls dash_did_impact(); this file does the arithmetic and draws
 * its three tables and two charts.
 */
#include "dash_did.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

/*
 * The comparison is stacked by training week. Every distinct week in which
 * a manager completed training (after the window's first week) is one
 * stack: its treated managers are those who completed that week; its
 * comparison managers are those not trained by then, for as long as they
 * stay untrained. Before = weeks of the window before the training week,
 * after = that week and later. A stack counts only when its comparison
 * group has observations both before and after. The four cells of every
 * counted stack are summed, so an observation of a comparison manager
 * serves every stack it is untrained in: the estimate is the OLS
 * interaction on that stacked data, and its standard error is clustered by
 * manager (stats_did_cluster_*), which is what makes the reuse and the
 * repeated observations of one manager honest.
 *
 * The placebo design runs the same comparison on the pre-period alone: each
 * stack's weeks before training are split in half, the first half is
 * "before" and the second "after" (treated and comparison managers alike).
 * Under parallel trends its estimate is near 0.
 *
 * Two passes over the managers: the first sums the stacks' cells (which
 * stacks count, and the cell means, are known only at its end); the second
 * adds each manager's own cells over the counted stacks as one cluster and
 * counts the distinct observations behind each cell.
 */
enum { DID_REAL = 0, DID_PLACEBO = 1, DID_DESIGNS = 2 };

/* Managers an arm needs at least for a clustered interval. With fewer, a
 * cluster-robust standard error is itself too noisy to trust (it rests on
 * that many residual sums) and intervals come out too narrow. */
#define DID_MIN_MANAGERS 10
#define DID_FEW_MANAGERS "too few managers for an interval"
/* The pre-training trend: this many bins of this many weeks before the
 * training week. */
#define DID_TREND_BINS 6
#define DID_TREND_BIN_WEEKS 4

struct did_acc {
    size_t nb;
    size_t nweeks;
    int32_t *stack_week;    /* Monday of each stack's training week */
    struct dash_mom *cells; /* DID_DESIGNS * nweeks stacks * 4 cells * (nb + 1) */
    /* (nweeks + 1) * (nb + 1): the manager's running totals, borrowed from
     * the page's set (dash_mom_set_totals()), row k summing weeks 0..k-1 */
    const struct dash_mom *pre;
    struct dash_mom *trend;        /* nweeks stacks * 2 arms * DID_TREND_BINS (quality index) */
    unsigned char *counted;        /* DID_DESIGNS * nweeks: the stack counts */
    struct dash_mom *mine;         /* 4 * (nb + 1): one manager's cells (second pass) */
    unsigned char *mask;           /* 4 * nweeks: the weeks of those cells */
    double *distinct;              /* DID_DESIGNS * 4 * (nb + 1): distinct observations */
    struct stats_did_cluster *clu; /* DID_DESIGNS * (nb + 1) */
    unsigned char *clu_ok;         /* DID_DESIGNS * (nb + 1): clu initialised */
    struct dash_mom *tot;          /* DID_DESIGNS * (nb + 1) * 4: counted stacks' cells */
};

static struct dash_mom *did_cell(struct did_acc *a, int design, size_t stack, int cell, size_t slot)
{
    return &a->cells[(((size_t)design * a->nweeks + stack) * 4 + (size_t)cell) * (a->nb + 1) +
                     slot];
}

/* Adds weeks [from, to) of the manager in a->pre (week indexes) into dst
 * (one mom per slot). */
static void did_add(struct did_acc *a, struct dash_mom *dst, size_t from, size_t to)
{
    size_t slots = a->nb + 1;

    if (to > a->nweeks) {
        to = a->nweeks;
    }
    if (from >= to) {
        return;
    }
    for (size_t b = 0; b < slots; b++) {
        const struct dash_mom *hi = &a->pre[to * slots + b];
        const struct dash_mom *lo = &a->pre[from * slots + b];

        if (hi->n > lo->n) {
            dst[b].n += hi->n - lo->n;
            dst[b].sum += hi->sum - lo->sum;
            dst[b].sumsq += hi->sumsq - lo->sumsq;
        }
    }
}

/* The week index of monday in w, clamped to 0..nweeks. */
static size_t week_index(const struct dash_mom_weeks *w, int32_t monday)
{
    if (monday <= w->from_monday) {
        return 0;
    }
    if ((size_t)((monday - w->from_monday) / 7) >= w->nweeks) {
        return w->nweeks;
    }
    return (size_t)((monday - w->from_monday) / 7);
}

/*
 * The weeks [from[c], to[c]) a manager gives cell c of a stack whose
 * training week has index split, under design. role: 1 treated in the
 * stack, 2 comparison (untrained until week index stop). Returns 0 when
 * the design has no such comparison for the stack.
 */
static int did_spans(int design, int role, size_t split, size_t stop, size_t nweeks, size_t from[4],
                     size_t to[4])
{
    int before = role == 1 ? STATS_T_BEFORE : STATS_C_BEFORE;
    int after = role == 1 ? STATS_T_AFTER : STATS_C_AFTER;

    memset(from, 0, 4 * sizeof(*from));
    memset(to, 0, 4 * sizeof(*to));
    if (design == DID_REAL) {
        to[before] = split;
        from[after] = split;
        to[after] = role == 1 ? nweeks : stop;
        return 1;
    }
    if (split < 2) {
        return 0; /* no pre-period to split */
    }
    to[before] = split / 2;
    from[after] = split / 2;
    to[after] = split;
    return 1;
}

/* The manager's role in stack s: 1 treated, 2 comparison, 0 none; *stop
 * the week index its comparison ends at. */
static int did_role(const struct did_acc *a, const struct dash_mom_weeks *w, int32_t cweek,
                    size_t s, size_t *stop)
{
    if (a->stack_week[s] == 0) {
        return 0;
    }
    if (cweek == a->stack_week[s]) {
        *stop = w->nweeks;
        return 1;
    }
    if (cweek == 0 || cweek > a->stack_week[s]) {
        *stop = cweek == 0 ? w->nweeks : week_index(w, cweek);
        return 2;
    }
    return 0;
}

/* First pass, one manager (a->pre set): the stacks' cells and trends. */
static void did_first(struct did_acc *a, const struct dash_mom_weeks *w, int32_t cweek)
{
    for (size_t s = 0; s < w->nweeks; s++) {
        size_t stop;
        size_t split;
        int role = did_role(a, w, cweek, s, &stop);

        if (role == 0) {
            continue;
        }
        split = week_index(w, a->stack_week[s]);
        for (int design = 0; design < DID_DESIGNS; design++) {
            size_t from[4];
            size_t to[4];

            if (!did_spans(design, role, split, stop, w->nweeks, from, to)) {
                continue;
            }
            for (int c = 0; c < 4; c++) {
                did_add(a, did_cell(a, design, s, c, 0), from[c], to[c]);
            }
        }
        for (size_t j = 0; j < DID_TREND_BINS; j++) {
            size_t hi = j * DID_TREND_BIN_WEEKS;
            size_t lo = hi + DID_TREND_BIN_WEEKS;
            struct dash_mom *dst = &a->trend[(s * 2 + (size_t)(role - 1)) * DID_TREND_BINS + j];
            const struct dash_mom *ph;
            const struct dash_mom *pl;

            if (hi >= split) {
                break;
            }
            ph = &a->pre[(split - hi) * (a->nb + 1) + a->nb];
            pl = &a->pre[(lo < split ? split - lo : 0) * (a->nb + 1) + a->nb];
            dst->n += ph->n - pl->n;
            dst->sum += ph->sum - pl->sum;
            dst->sumsq += ph->sumsq - pl->sumsq;
        }
    }
}

/*
 * Adds the manager's observations (a->pre set) in the weeks mask marks
 * (nweeks of them) into dst, one per slot: each run of marked weeks costs
 * one subtraction of running totals rather than a visit of every week and
 * slot. The counts are whole numbers, so their sums are exact whatever the
 * order in which they are added: the same figures as adding week by week.
 */
static void did_distinct(const struct did_acc *a, double *dst, const unsigned char *mask,
                         size_t nweeks)
{
    size_t slots = a->nb + 1;
    size_t k = 0;

    while (k < nweeks) {
        size_t lo;

        while (k < nweeks && !mask[k]) {
            k++;
        }
        lo = k;
        while (k < nweeks && mask[k]) {
            k++;
        }
        if (lo == k) {
            break;
        }
        for (size_t b = 0; b < slots; b++) {
            dst[b] += a->pre[k * slots + b].n - a->pre[lo * slots + b].n;
        }
    }
}

/* Second pass, one manager (a->pre set): its cells over the counted stacks
 * as one cluster, and the distinct observations behind each cell. */
static int did_second(struct did_acc *a, struct dash_mom_weeks *w, int32_t cweek)
{
    size_t slots = a->nb + 1;

    for (int design = 0; design < DID_DESIGNS; design++) {
        int any = 0;

        memset(a->mine, 0, 4 * slots * sizeof(*a->mine));
        memset(a->mask, 0, 4 * w->nweeks);
        for (size_t s = 0; s < w->nweeks; s++) {
            size_t stop;
            size_t from[4];
            size_t to[4];
            int role = did_role(a, w, cweek, s, &stop);

            if (role == 0 || !a->counted[(size_t)design * a->nweeks + s] ||
                !did_spans(design, role, week_index(w, a->stack_week[s]), stop, w->nweeks, from,
                           to)) {
                continue;
            }
            for (int c = 0; c < 4; c++) {
                did_add(a, &a->mine[(size_t)c * slots], from[c], to[c]);
                for (size_t k = from[c]; k < to[c] && k < w->nweeks; k++) {
                    a->mask[(size_t)c * w->nweeks + k] = 1;
                }
            }
            any = 1;
        }
        if (!any) {
            continue;
        }
        for (int c = 0; c < 4; c++) {
            did_distinct(a, &a->distinct[((size_t)design * 4 + (size_t)c) * slots],
                         &a->mask[(size_t)c * w->nweeks], w->nweeks);
        }
        for (size_t b = 0; b < slots; b++) {
            double n[4];
            double sum[4];
            size_t at = (size_t)design * slots + b;

            for (int c = 0; c < 4; c++) {
                n[c] = a->mine[(size_t)c * slots + b].n;
                sum[c] = a->mine[(size_t)c * slots + b].sum;
            }
            if (a->clu_ok[at] && stats_did_cluster_add(&a->clu[at], n, sum) != 0) {
                return -EINVAL;
            }
        }
    }
    return 0;
}

/* The managers of the smaller arm behind slot b of design (0: none). */
static unsigned did_arm_min(const struct did_acc *a, int design, size_t b)
{
    size_t at = (size_t)design * (a->nb + 1) + b;
    double m;

    if (!a->clu_ok[at]) {
        return 0;
    }
    m = a->clu[at].groups_treated < a->clu[at].groups_control ? a->clu[at].groups_treated
                                                              : a->clu[at].groups_control;
    return dash_clamp_n(m);
}

/* The clustered estimate of slot b of design: 0 and *ci set, 1 when an arm
 * has fewer than DID_MIN_MANAGERS managers, -1 when there is none. */
static int did_estimate(const struct did_acc *a, int design, size_t b, struct stats_ci *ci)
{
    size_t at = (size_t)design * (a->nb + 1) + b;

    if (!a->clu_ok[at]) {
        return -1;
    }
    if (a->clu[at].groups_treated < DID_MIN_MANAGERS ||
        a->clu[at].groups_control < DID_MIN_MANAGERS) {
        return 1;
    }
    return stats_did_cluster_finish(&a->clu[at], 0.95, ci) == 0 ? 0 : -1;
}

static void impact_row(struct dash *d, const struct did_acc *a, Coachq__V1__Table *t,
                       Coachq__V1__Series *s_did, const char *label, size_t b,
                       const struct dash_mom cells[4], int small)
{
    size_t slots = a->nb + 1;
    Coachq__V1__TableRow *r = dash_row(d, t);
    struct stats_cell sc[4];
    struct stats_did res;
    struct stats_ci ci;
    unsigned arm = did_arm_min(a, DID_REAL, b);
    int ok = 1;
    int est;

    dash_cell_text(d, r, label, NULL);
    if (small) {
        for (int i = 0; i < 10; i++) {
            dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
        }
        dash_series_add(d, s_did, 0, 0, 0, 0);
        return;
    }
    for (int i = 0; i < 4; i++) {
        struct stats_summary sm;
        unsigned distinct =
            dash_clamp_n(a->distinct[((size_t)DID_REAL * 4 + (size_t)i) * slots + b]);

        /* The mean of the stacked cell, over the distinct observations
         * behind it. */
        dash_cell_num(d, r, dash_mom_mean(&cells[i]), distinct, 2);
        if (cells[i].n < 2 ||
            stats_summary((uint64_t)cells[i].n, cells[i].sum, cells[i].sumsq, &sm) != 0) {
            ok = 0;
            continue;
        }
        sc[i].n = cells[i].n;
        sc[i].mean = sm.mean;
        sc[i].sd = sm.sd;
    }
    est = did_estimate(a, DID_REAL, b, &ci);
    if (est == 1) {
        for (int i = 0; i < 4; i++) {
            Coachq__V1__Cell *c = dash_cell_text(d, r, DID_FEW_MANAGERS, NULL);

            if (c != NULL) {
                c->n = arm;
            }
        }
        dash_series_add(d, s_did, 0, 0, 0, 0);
    } else if (est < 0 || !ok || stats_did(sc, &res) != 0) {
        /* Too few observations or managers for a spread: the figures read
         * "insufficient data" (n under min_n) or "n/a". */
        for (int i = 0; i < 4; i++) {
            dash_cell_num(d, r, NAN, arm, 2);
        }
        dash_series_add(d, s_did, 0, 0, 0, 0);
    } else {
        dash_cell_num(d, r, ci.est, arm, 2);
        dash_cell_num(d, r, ci.lo, arm, 2);
        dash_cell_num(d, r, ci.hi, arm, 2);
        dash_cell_num(d, r, res.effect_defined ? res.effect : NAN, arm, 2);
        dash_series_add(d, s_did, ci.est, arm, ci.lo, ci.hi);
    }
    {
        size_t at = (size_t)DID_REAL * slots + b;

        dash_cell_count(d, r, a->clu_ok[at] ? (uint64_t)a->clu[at].groups_treated : 0);
        dash_cell_count(d, r, a->clu_ok[at] ? (uint64_t)a->clu[at].groups_control : 0);
    }
}

/* The placebo row of slot b; returns 1 when its interval excludes 0. */
static int placebo_row(struct dash *d, const struct did_acc *a, Coachq__V1__Table *t,
                       const char *label, size_t b, int small, unsigned min_n)
{
    size_t at = (size_t)DID_PLACEBO * (a->nb + 1) + b;
    Coachq__V1__TableRow *r = dash_row(d, t);
    unsigned arm = did_arm_min(a, DID_PLACEBO, b);
    struct stats_ci ci;
    int est;
    int flagged = 0;

    dash_cell_text(d, r, label, NULL);
    if (small) {
        for (int i = 0; i < 6; i++) {
            dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
        }
        return 0;
    }
    est = did_estimate(a, DID_PLACEBO, b, &ci);
    if (est == 1) {
        for (int i = 0; i < 3; i++) {
            Coachq__V1__Cell *c = dash_cell_text(d, r, DID_FEW_MANAGERS, NULL);

            if (c != NULL) {
                c->n = arm;
            }
        }
    } else if (est < 0) {
        for (int i = 0; i < 3; i++) {
            dash_cell_num(d, r, NAN, arm, 2);
        }
    } else {
        dash_cell_num(d, r, ci.est, arm, 2);
        dash_cell_num(d, r, ci.lo, arm, 2);
        dash_cell_num(d, r, ci.hi, arm, 2);
        flagged = arm >= min_n && (ci.lo > 0.0 || ci.hi < 0.0);
    }
    dash_cell_count(d, r, a->clu_ok[at] ? (uint64_t)a->clu[at].groups_treated : 0);
    dash_cell_count(d, r, a->clu_ok[at] ? (uint64_t)a->clu[at].groups_control : 0);
    dash_cell_text(d, r,
                   flagged    ? "flagged: the interval excludes 0, trends differed before training"
                   : est == 0 ? "interval includes 0"
                              : "no check",
                   NULL);
    return flagged;
}

/* Allocates a's arrays for nweeks weeks (and stacks) and nb behaviours.
 * Returns 0 or -ENOMEM; free with did_free() either way. */
static int did_init(struct did_acc *a, size_t nweeks, size_t nb)
{
    size_t slots = nb + 1;

    memset(a, 0, sizeof(*a));
    a->nb = nb;
    a->nweeks = nweeks;
    a->stack_week = calloc(nweeks, sizeof(*a->stack_week));
    a->cells = calloc(DID_DESIGNS * nweeks * 4 * slots, sizeof(*a->cells));
    a->trend = calloc(nweeks * 2 * DID_TREND_BINS, sizeof(*a->trend));
    a->counted = calloc(DID_DESIGNS * nweeks, 1);
    a->mine = calloc(4 * slots, sizeof(*a->mine));
    a->mask = calloc(4 * nweeks, 1);
    a->distinct = calloc(DID_DESIGNS * 4 * slots, sizeof(*a->distinct));
    a->clu = calloc(DID_DESIGNS * slots, sizeof(*a->clu));
    a->clu_ok = calloc(DID_DESIGNS * slots, 1);
    a->tot = calloc(DID_DESIGNS * slots * 4, sizeof(*a->tot));
    if (a->stack_week == NULL || a->cells == NULL || a->trend == NULL || a->counted == NULL ||
        a->mine == NULL || a->mask == NULL || a->distinct == NULL || a->clu == NULL ||
        a->clu_ok == NULL || a->tot == NULL) {
        return -ENOMEM;
    }
    return 0;
}

static void did_free(struct did_acc *a)
{
    free(a->stack_week);
    free(a->cells);
    free(a->trend);
    free(a->counted);
    free(a->mine);
    free(a->mask);
    free(a->distinct);
    free(a->clu);
    free(a->clu_ok);
    free(a->tot);
    memset(a, 0, sizeof(*a));
}

/* Between the passes: which stacks count, the cells' totals, and the
 * clusters' start. */
static void did_count(struct did_acc *a)
{
    size_t slots = a->nb + 1;

    for (int design = 0; design < DID_DESIGNS; design++) {
        for (size_t s = 0; s < a->nweeks; s++) {
            if (a->stack_week[s] == 0 || did_cell(a, design, s, STATS_C_BEFORE, a->nb)->n == 0 ||
                did_cell(a, design, s, STATS_C_AFTER, a->nb)->n == 0) {
                continue;
            }
            a->counted[(size_t)design * a->nweeks + s] = 1;
            for (size_t b = 0; b < slots; b++) {
                for (int k = 0; k < 4; k++) {
                    dash_mom_add(&a->tot[((size_t)design * slots + b) * 4 + (size_t)k],
                                 did_cell(a, design, s, k, b));
                }
            }
        }
        for (size_t b = 0; b < slots; b++) {
            const struct dash_mom *m = &a->tot[((size_t)design * slots + b) * 4];
            double n[4];
            double sum[4];

            for (int k = 0; k < 4; k++) {
                n[k] = m[k].n;
                sum[k] = m[k].sum;
            }
            a->clu_ok[(size_t)design * slots + b] =
                stats_did_cluster_init(&a->clu[(size_t)design * slots + b], n, sum) == 0;
        }
    }
}

/*
 * The stacks (training weeks after the window's first week, so that a
 * "before" exists) and the two passes over the managers, whose training
 * weeks are cweek (0: none by until_day) and whose weeks set holds (read
 * once for both passes). Returns 0 or a negative code.
 */
static int did_collect(struct did_acc *a, const struct dash_ids *flm, const int32_t *cweek,
                       const struct dash_mom_set *set)
{
    struct dash_mom_weeks w;
    int32_t first = set->full_from;
    int32_t last = set->full_from + 7 * (int32_t)(set->full_weeks - 1);
    int rc;

    for (size_t i = 0; i < flm->n; i++) {
        if (cweek[i] > first && cweek[i] <= last) {
            a->stack_week[(size_t)((cweek[i] - first) / 7)] = cweek[i];
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < flm->n; i++) {
            if (cweek[i] != 0 && cweek[i] <= first) {
                continue; /* trained before the window: no "before" to compare */
            }
            dash_mom_set_view(set, i, &w);
            if (w.observations == 0) {
                continue;
            }
            a->pre = dash_mom_set_totals(set, i);
            if (pass == 0) {
                did_first(a, &w, cweek[i]);
            } else {
                rc = did_second(a, &w, cweek[i]);
                if (rc != 0) {
                    return rc;
                }
            }
        }
        if (pass == 0) {
            did_count(a);
        }
    }
    return 0;
}

/* The page's part: its tables, charts and series, and the group sizes. */
struct did_page {
    Coachq__V1__Table *t;  /* the estimates */
    Coachq__V1__Table *pt; /* the placebo check */
    Coachq__V1__Table *tt; /* the pre-training trends */
    Coachq__V1__Chart *ch;
    Coachq__V1__Chart *tch;
    Coachq__V1__Series *s_did;
    Coachq__V1__Series *s_trend[2];
    unsigned treated;
    unsigned control;
    int small; /* a group under privacy_min: not broken down */
};

/* Opens the tables and charts, with the notes that say how to read them.
 * Returns 0 or -ENOMEM (d failed). */
static int did_page_open(struct dash *d, const struct did_acc *a, struct did_page *pg)
{
    static const char *const cols[] = {
        "Behaviour",
        "Trained: before",
        "Trained: after",
        "Not yet trained: before",
        "Not yet trained: after",
        "Difference-in-differences",
        "95% CI low",
        "95% CI high",
        "Effect size (d)",
        "Trained managers",
        "Not-yet-trained managers",
    };
    static const char *const pcols[] = {
        "Behaviour",        "Placebo difference-in-differences", "95% CI low", "95% CI high",
        "Trained managers", "Not-yet-trained managers",          "Check",
    };
    static const char *const tcols[] = {"Weeks before training", "Trained", "Not yet trained"};

    pg->t = dash_table(d, "impact",
                       "Quality before and after training, against managers not yet trained", cols,
                       sizeof(cols) / sizeof(cols[0]));
    pg->ch = dash_chart(d, "impact-chart",
                        "Difference-in-differences of quality, trained against not-yet-trained "
                        "managers (95% CI clustered by manager)",
                        COACHQ__V1__CHART__KIND__KIND_BARS, "impact");
    pg->s_did = dash_series(d, pg->ch, "Difference-in-differences", 1);
    pg->pt = dash_table(d, "placebo",
                        "Parallel-trends check: placebo difference-in-differences before training",
                        pcols, sizeof(pcols) / sizeof(pcols[0]));
    pg->tt =
        dash_table(d, "pretrends", "Quality index before training: trained and not yet trained",
                   tcols, sizeof(tcols) / sizeof(tcols[0]));
    pg->tch = dash_chart(d, "pretrend-chart",
                         "Quality index in the weeks before training, trained and not yet trained",
                         COACHQ__V1__CHART__KIND__KIND_LINES, "pretrends");
    pg->s_trend[0] = dash_series(d, pg->tch, "Trained", 0);
    pg->s_trend[1] = dash_series(d, pg->tch, "Not yet trained", 0);
    if (pg->t == NULL || pg->ch == NULL || pg->pt == NULL || pg->tt == NULL || pg->tch == NULL) {
        return dash_failed(d);
    }
    pg->ch->y_title = dash_strdup(d, "points on the 1-4 scale");
    pg->tch->y_title = dash_strdup(d, "quality index, 1-4");
    pg->tch->y_min = 1;
    pg->tch->y_max = 4;
    pg->t->note = dash_printf(
        d,
        "An estimate under the assumption of parallel trends (see the placebo check), not proof "
        "that training caused the change. Trained: managers who completed training in the last "
        "%zu weeks (%u with observations); not yet trained: managers without a completion at "
        "that time (%u), compared with each training week's managers while they stay "
        "untrained, so one of their observations can serve several training weeks. Before: the "
        "weeks before the training week, after: from it on. Difference-in-differences = (trained "
        "after - before) - (not yet trained after - before), 95%% CI from standard errors "
        "clustered by manager (CR1, t with managers - 1 degrees of freedom); shown when each "
        "group has at least %d managers. Effect size = that over the pooled sd of the four "
        "cells. n: distinct observations behind a cell; for the estimate, the managers in the "
        "smaller group.%s",
        a->nweeks, pg->treated, pg->control, DID_MIN_MANAGERS,
        pg->small ? " A group has fewer people than the privacy minimum: not broken down." : "");
    pg->pt->note = dash_printf(
        d, "The same comparison on the weeks before training only: each training week's "
           "pre-period is split in half, the first half standing for before and the second for "
           "after. If the trained and not-yet-trained managers were on parallel trends, the "
           "placebo estimate is near 0; a behaviour whose interval excludes 0 is flagged, and its "
           "difference-in-differences above should not be read as an effect of training.");
    pg->tt->note = dash_printf(
        d,
        "Mean quality index per observation in %d-week bins before each training week, trained "
        "managers beside those not yet trained at that time (aligned on each training week). "
        "n: observations; one of a not-yet-trained manager counts once per training week it is "
        "compared with.",
        DID_TREND_BIN_WEEKS);
    return 0;
}

/* The pre-training trend rows, oldest bin first. */
static void did_pretrend_rows(struct dash *d, const struct did_acc *a, const struct did_page *pg)
{
    for (size_t j = DID_TREND_BINS; j-- > 0;) {
        Coachq__V1__TableRow *r = dash_row(d, pg->tt);
        const char *label =
            dash_printf(d, "%zu-%zu", j * DID_TREND_BIN_WEEKS + 1, (j + 1) * DID_TREND_BIN_WEEKS);

        dash_cell_text(d, r, label, NULL);
        dash_chart_x(d, pg->tch, label);
        for (size_t arm = 0; arm < 2; arm++) {
            struct dash_mom m = {0, 0, 0};

            for (size_t s = 0; s < a->nweeks; s++) {
                if (a->counted[DID_REAL * a->nweeks + s]) {
                    dash_mom_add(&m, &a->trend[(s * 2 + arm) * DID_TREND_BINS + j]);
                }
            }
            if (pg->small) {
                dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
                dash_series_add(d, pg->s_trend[arm], 0, 0, 0, 0);
            } else {
                dash_cell_num(d, r, dash_mom_mean(&m), dash_clamp_n(m.n), 2);
                dash_series_add(d, pg->s_trend[arm], dash_mom_mean(&m), dash_clamp_n(m.n), NAN,
                                NAN);
            }
        }
    }
}

int dash_did_impact(struct dash *d, const struct dash_ctx *c, const struct dash_ids *flm,
                    const int32_t *cweek, const struct dash_mom_set *set)
{
    struct did_acc a;
    struct did_page pg;
    size_t slots = set->nb + 1;
    size_t quality = DID_REAL * slots + set->nb;
    unsigned flagged = 0;
    int rc;

    memset(&pg, 0, sizeof(pg));
    rc = did_init(&a, set->full_weeks, set->nb);
    if (rc == 0) {
        rc = did_collect(&a, flm, cweek, set);
    }
    if (rc != 0) {
        goto out;
    }
    pg.treated = a.clu_ok[quality] ? dash_clamp_n(a.clu[quality].groups_treated) : 0;
    pg.control = a.clu_ok[quality] ? dash_clamp_n(a.clu[quality].groups_control) : 0;
    pg.small = pg.treated < c->opts->privacy_min || pg.control < c->opts->privacy_min;
    rc = did_page_open(d, &a, &pg);
    if (rc != 0) {
        goto out;
    }
    for (size_t b = 0; b <= a.nb; b++) {
        const char *label;

        if (b < a.nb) {
            const Coachq__V1__Behaviour *beh = c->rubric->behaviours[b];

            label = beh->name != NULL && beh->name[0] != '\0' ? beh->name : beh->id;
        } else {
            label = "Quality index";
        }
        dash_chart_x(d, pg.ch, label);
        impact_row(d, &a, pg.t, pg.s_did, label, b, &a.tot[((size_t)DID_REAL * slots + b) * 4],
                   pg.small);
        if (placebo_row(d, &a, pg.pt, label, b, pg.small, c->opts->min_n)) {
            flagged++;
        }
    }
    did_pretrend_rows(d, &a, &pg);
    if (flagged > 0) {
        dash_note(d,
                  "Parallel-trends check: %u of %zu behaviours (or the quality index) show a "
                  "placebo estimate whose interval excludes 0; their difference-in-differences is "
                  "not evidence of a training effect.",
                  flagged, a.nb + 1);
    }
    if (pg.small) {
        dash_note(d,
                  "Programme impact: %u trained and %u not-yet-trained managers; groups of fewer "
                  "than %u people are not broken down.",
                  pg.treated, pg.control, c->opts->privacy_min);
    }
    rc = dash_failed(d);
out:
    did_free(&a);
    return rc;
}
