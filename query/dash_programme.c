/*
 * dash_programme: the enablement lead's two dashboards, "Programme impact"
 * and "Observer reliability" (issue 4, sections 3.3 and 3.4), built from the
 * aggregates (agg.h), the organisation and its programmes (people.h),
 * certifications and calibration results (certs.h) and business results
 * (outcomes.h). Every figure goes through dash_cell_num() with its n, so a
 * figure below the minimum n reads "insufficient data"; groups of fewer
 * than privacy_min people are not broken down.
 *
 * The cost of both dashboards grows with the number of people and weeks,
 * never with the number of observations: each person's weeks are read from
 * the aggregates once.
 */

/*
 * Size: this file is over the layout's 1,500 lines. It is one of the five the
 * layout issue splits along its seams (see ../shared/design/architecture.md);
 * until then it stays whole so that the hardening and statistics fixes
 * landed without a move in the same change.
 */
#include "day.h"
#include "dash_programme.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "certs.h"
#include "obs_json.h"
#include "outcomes.h"
#include "people.h"
#include "stats.h"

/* Weeks the programme impact looks back over (the week of until_day and
 * the 51 before it). */
#define PROG_WEEKS 52
/* Quarters of quality correlated with later results. */
#define PROG_QUARTERS 6
/* Largest lag, in quarters, between quality and results. */
#define PROG_MAX_LAG 2
/* People one dashboard handles at most: the arrays below grow up to this. */
#define PROG_MAX_PEOPLE 1000000u
/* Behaviours of one rubric handled at most. */
#define PROG_MAX_BEHAVIOURS 64u
/* Drift flagged from this many points of mean score on. */
#define PROG_DRIFT_FLAG 0.3
/* A kappa of 0/0, in words (stats.h). */
#define PROG_KAPPA_UNDEFINED "undefined: one category"

#define PROG_SMALL_GROUP "group too small"

/* Count, sum and sum of squares of some scores. */
struct mom {
    double n;
    double sum;
    double sumsq;
};

static void mom_add(struct mom *dst, const struct mom *src)
{
    dst->n += src->n;
    dst->sum += src->sum;
    dst->sumsq += src->sumsq;
}

static double mom_mean(const struct mom *m)
{
    return m->n > 0 ? m->sum / m->n : NAN;
}

static unsigned clamp_n(double n)
{
    if (!(n > 0)) {
        return 0;
    }
    return n >= (double)UINT32_MAX ? UINT32_MAX : (unsigned)n;
}

/* A growable array of person ids, in the order added. */
struct idlist {
    char (*id)[65];
    size_t n;
    size_t cap;
};

static int idlist_push(struct idlist *l, const char *id)
{
    size_t len = strlen(id);

    if (len > 64) {
        return -EINVAL;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap == 0 ? 64 : l->cap * 2;
        void *p;

        if (cap > PROG_MAX_PEOPLE) {
            return -E2BIG;
        }
        p = realloc(l->id, cap * sizeof(*l->id));
        if (p == NULL) {
            return -ENOMEM;
        }
        l->id = p;
        l->cap = cap;
    }
    memcpy(l->id[l->n], id, len + 1);
    l->n++;
    return 0;
}

static void idlist_free(struct idlist *l)
{
    free(l->id);
    memset(l, 0, sizeof(*l));
}

struct role_collect {
    struct idlist *out;
    Coachq__V1__Role role;
};

static int role_cb(const Coachq__V1__Person *p, void *arg)
{
    struct role_collect *rc = arg;

    if (p->disabled || !people_has_role(p, rc->role)) {
        return 0;
    }
    return idlist_push(rc->out, p->id);
}

/* Every enabled person holding role, in id order, into *out. */
static int people_with_role(struct store_txn *t, Coachq__V1__Role role, struct idlist *out)
{
    struct role_collect rc = {out, role};

    return people_list(t, role_cb, &rc);
}

/* The index of behaviour bid in the rubric, or -1. */
static int beh_index(const Coachq__V1__Rubric *r, size_t nb, const char *bid)
{
    for (size_t i = 0; i < nb; i++) {
        if (strcmp(r->behaviours[i]->id, bid) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* ---- One person's weeks ------------------------------------------------ */

/* A person's weeks from from_monday on: for week w, slot b < nb is
 * behaviour b, slot nb the quality index (per observation). */
struct weeks {
    const Coachq__V1__Rubric *rubric;
    size_t nb;
    int32_t from_monday;
    size_t nweeks;
    struct mom *m; /* nweeks * (nb + 1) */
    uint64_t observations;
};

static struct mom *weeks_at(struct weeks *w, size_t week, size_t slot)
{
    return &w->m[week * (w->nb + 1) + slot];
}

static int weeks_cb(int32_t monday, const Coachq__V1__AggWeek *a, void *arg)
{
    struct weeks *w = arg;
    size_t week;

    if (monday < w->from_monday || (monday - w->from_monday) % 7 != 0) {
        return 0;
    }
    week = (size_t)((monday - w->from_monday) / 7);
    if (week >= w->nweeks) {
        return 0;
    }
    for (size_t i = 0; i < a->n_behaviours; i++) {
        const Coachq__V1__AggBehaviour *b = a->behaviours[i];
        int k;

        if (b->id == NULL) {
            continue;
        }
        k = beh_index(w->rubric, w->nb, b->id);
        if (k >= 0) {
            struct mom *m = weeks_at(w, week, (size_t)k);

            m->n += (double)b->count;
            m->sum += b->sum;
            m->sumsq += b->sumsq;
        }
    }
    {
        struct mom *m = weeks_at(w, week, w->nb);

        m->n += (double)a->index_n;
        m->sum += a->index_sum;
        m->sumsq += a->index_sumsq;
    }
    w->observations += a->observations;
    return 0;
}

static int weeks_read(const struct dash_ctx *c, struct weeks *w, enum agg_scope kind,
                      const char *id)
{
    memset(w->m, 0, w->nweeks * (w->nb + 1) * sizeof(*w->m));
    w->observations = 0;
    return agg_read(c->t, kind, id, c->rubric_id, w->from_monday,
                    w->from_monday + 7 * (int32_t)(w->nweeks - 1), weeks_cb, w);
}

static int weeks_init(struct weeks *w, const struct dash_ctx *c, int32_t from_monday, size_t nweeks)
{
    memset(w, 0, sizeof(*w));
    w->rubric = c->rubric;
    w->nb = c->rubric->n_behaviours;
    if (w->nb > PROG_MAX_BEHAVIOURS) {
        w->nb = PROG_MAX_BEHAVIOURS;
    }
    w->from_monday = from_monday;
    w->nweeks = nweeks;
    w->m = calloc(nweeks * (w->nb + 1), sizeof(*w->m));
    return w->m == NULL ? -ENOMEM : 0;
}

/* ---- Enrolments -------------------------------------------------------- */

struct completion {
    char person[65];
    int32_t day; /* earliest completion; 0: none */
};

struct cohort {
    char programme[65];
    char cohort[65];
    int32_t start_day;
    int32_t last_completed; /* latest completion of a member; 0: none */
    unsigned enrolled;
    unsigned completed;
    uint64_t modules; /* attended module entries of every member */
};

struct enrol_collect {
    struct completion *done;
    size_t n_done;
    size_t cap_done;
    struct cohort *cohorts;
    size_t n_cohorts;
    size_t cap_cohorts;
    int32_t until_day;
};

static int enrol_cb(const Coachq__V1__Enrolment *e, void *arg)
{
    struct enrol_collect *ec = arg;
    int32_t done = e->completed_day > 0 && e->completed_day <= ec->until_day ? e->completed_day : 0;
    struct cohort *co = NULL;
    size_t i;

    if (e->person_id == NULL || e->programme_id == NULL || strlen(e->person_id) > 64 ||
        strlen(e->programme_id) > 64 || (e->cohort_id != NULL && strlen(e->cohort_id) > 64)) {
        return 0;
    }
    if (done != 0) {
        for (i = 0; i < ec->n_done; i++) {
            if (strcmp(ec->done[i].person, e->person_id) == 0) {
                break;
            }
        }
        if (i == ec->n_done) {
            if (ec->n_done == ec->cap_done) {
                size_t cap = ec->cap_done == 0 ? 64 : ec->cap_done * 2;
                void *p;

                if (cap > PROG_MAX_PEOPLE) {
                    return -E2BIG;
                }
                p = realloc(ec->done, cap * sizeof(*ec->done));
                if (p == NULL) {
                    return -ENOMEM;
                }
                ec->done = p;
                ec->cap_done = cap;
            }
            memcpy(ec->done[i].person, e->person_id, strlen(e->person_id) + 1);
            ec->done[i].day = done;
            ec->n_done++;
        } else if (done < ec->done[i].day) {
            ec->done[i].day = done;
        }
    }
    if (e->cohort_id == NULL || e->cohort_id[0] == '\0') {
        return 0;
    }
    for (i = 0; i < ec->n_cohorts; i++) {
        if (strcmp(ec->cohorts[i].programme, e->programme_id) == 0 &&
            strcmp(ec->cohorts[i].cohort, e->cohort_id) == 0) {
            co = &ec->cohorts[i];
            break;
        }
    }
    if (co == NULL) {
        if (ec->n_cohorts == ec->cap_cohorts) {
            size_t cap = ec->cap_cohorts == 0 ? 16 : ec->cap_cohorts * 2;
            void *p;

            if (cap > PROG_MAX_PEOPLE) {
                return -E2BIG;
            }
            p = realloc(ec->cohorts, cap * sizeof(*ec->cohorts));
            if (p == NULL) {
                return -ENOMEM;
            }
            ec->cohorts = p;
            ec->cap_cohorts = cap;
        }
        co = &ec->cohorts[ec->n_cohorts++];
        memset(co, 0, sizeof(*co));
        memcpy(co->programme, e->programme_id, strlen(e->programme_id) + 1);
        memcpy(co->cohort, e->cohort_id, strlen(e->cohort_id) + 1);
        co->start_day = e->cohort_start_day;
    }
    if (e->cohort_start_day != 0 && (co->start_day == 0 || e->cohort_start_day < co->start_day)) {
        co->start_day = e->cohort_start_day;
    }
    co->enrolled++;
    co->modules += e->n_attended;
    if (done != 0) {
        co->completed++;
        if (done > co->last_completed) {
            co->last_completed = done;
        }
    }
    return 0;
}

static int completion_cmp(const void *a, const void *b)
{
    return strcmp(((const struct completion *)a)->person, ((const struct completion *)b)->person);
}

/* The earliest completion day of person (0: none); ec->done sorted. */
static int32_t completion_of(const struct enrol_collect *ec, const char *person)
{
    struct completion key;
    const struct completion *hit;

    if (strlen(person) > 64 || ec->n_done == 0) {
        return 0;
    }
    memcpy(key.person, person, strlen(person) + 1);
    hit = bsearch(&key, ec->done, ec->n_done, sizeof(*ec->done), completion_cmp);
    return hit != NULL ? hit->day : 0;
}

static void enrol_free(struct enrol_collect *ec)
{
    free(ec->done);
    free(ec->cohorts);
    memset(ec, 0, sizeof(*ec));
}

/* ---- Programme impact: difference-in-differences ------------------------- */

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
#define PROG_MIN_MANAGERS 10
#define PROG_FEW_MANAGERS "too few managers for an interval"
/* The pre-training trend: this many bins of this many weeks before the
 * training week. */
#define PROG_TREND_BINS 6
#define PROG_TREND_BIN_WEEKS 4

struct did_acc {
    size_t nb;
    size_t nweeks;
    int32_t *stack_week;           /* Monday of each stack's training week */
    struct mom *cells;             /* DID_DESIGNS * nweeks stacks * 4 cells * (nb + 1) */
    struct mom *pre;               /* (nweeks + 1) * (nb + 1): see did_prefix() */
    struct mom *trend;             /* nweeks stacks * 2 arms * PROG_TREND_BINS (quality index) */
    unsigned char *counted;        /* DID_DESIGNS * nweeks: the stack counts */
    struct mom *mine;              /* 4 * (nb + 1): one manager's cells (second pass) */
    unsigned char *mask;           /* 4 * nweeks: the weeks of those cells */
    double *distinct;              /* DID_DESIGNS * 4 * (nb + 1): distinct observations */
    struct stats_did_cluster *clu; /* DID_DESIGNS * (nb + 1) */
    unsigned char *clu_ok;         /* DID_DESIGNS * (nb + 1): clu initialised */
};

static struct mom *did_cell(struct did_acc *a, int design, size_t stack, int cell, size_t slot)
{
    return &a->cells[(((size_t)design * a->nweeks + stack) * 4 + (size_t)cell) * (a->nb + 1) +
                     slot];
}

/* Running totals of w's weeks: pre[k * (nb + 1) + b] sums weeks 0..k-1 of
 * slot b, so any span of weeks costs one subtraction, not a loop: a
 * manager serves up to one comparison per training week. */
static void did_prefix(struct did_acc *a, struct weeks *w)
{
    size_t slots = a->nb + 1;

    memset(a->pre, 0, slots * sizeof(*a->pre));
    for (size_t k = 0; k < w->nweeks; k++) {
        for (size_t b = 0; b < slots; b++) {
            a->pre[(k + 1) * slots + b] = a->pre[k * slots + b];
            mom_add(&a->pre[(k + 1) * slots + b], weeks_at(w, k, b));
        }
    }
}

/* Adds weeks [from, to) of the manager in a->pre (week indexes) into dst
 * (one mom per slot). */
static void did_add(struct did_acc *a, struct mom *dst, size_t from, size_t to)
{
    size_t slots = a->nb + 1;

    if (to > a->nweeks) {
        to = a->nweeks;
    }
    if (from >= to) {
        return;
    }
    for (size_t b = 0; b < slots; b++) {
        const struct mom *hi = &a->pre[to * slots + b];
        const struct mom *lo = &a->pre[from * slots + b];

        if (hi->n > lo->n) {
            dst[b].n += hi->n - lo->n;
            dst[b].sum += hi->sum - lo->sum;
            dst[b].sumsq += hi->sumsq - lo->sumsq;
        }
    }
}

/* The week index of monday in w, clamped to 0..nweeks. */
static size_t week_index(const struct weeks *w, int32_t monday)
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
static int did_role(const struct did_acc *a, const struct weeks *w, int32_t cweek, size_t s,
                    size_t *stop)
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
static void did_first(struct did_acc *a, const struct weeks *w, int32_t cweek)
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
        for (size_t j = 0; j < PROG_TREND_BINS; j++) {
            size_t hi = j * PROG_TREND_BIN_WEEKS;
            size_t lo = hi + PROG_TREND_BIN_WEEKS;
            struct mom *dst = &a->trend[(s * 2 + (size_t)(role - 1)) * PROG_TREND_BINS + j];
            const struct mom *ph;
            const struct mom *pl;

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

/* Second pass, one manager (a->pre set): its cells over the counted stacks
 * as one cluster, and the distinct observations behind each cell. */
static int did_second(struct did_acc *a, struct weeks *w, int32_t cweek)
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
        for (size_t b = 0; b < slots; b++) {
            double n[4];
            double sum[4];
            size_t at = (size_t)design * slots + b;

            for (int c = 0; c < 4; c++) {
                n[c] = a->mine[(size_t)c * slots + b].n;
                sum[c] = a->mine[(size_t)c * slots + b].sum;
                for (size_t k = 0; k < w->nweeks; k++) {
                    if (a->mask[(size_t)c * w->nweeks + k]) {
                        a->distinct[((size_t)design * 4 + (size_t)c) * slots + b] +=
                            weeks_at(w, k, b)->n;
                    }
                }
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
    return clamp_n(m);
}

/* The clustered estimate of slot b of design: 0 and *ci set, 1 when an arm
 * has fewer than PROG_MIN_MANAGERS managers, -1 when there is none. */
static int did_estimate(const struct did_acc *a, int design, size_t b, struct stats_ci *ci)
{
    size_t at = (size_t)design * (a->nb + 1) + b;

    if (!a->clu_ok[at]) {
        return -1;
    }
    if (a->clu[at].groups_treated < PROG_MIN_MANAGERS ||
        a->clu[at].groups_control < PROG_MIN_MANAGERS) {
        return 1;
    }
    return stats_did_cluster_finish(&a->clu[at], 0.95, ci) == 0 ? 0 : -1;
}

static void impact_row(struct dash *d, const struct did_acc *a, Coachq__V1__Table *t,
                       Coachq__V1__Series *s_did, const char *label, size_t b,
                       const struct mom cells[4], int small)
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
            dash_cell_text(d, r, PROG_SMALL_GROUP, NULL);
        }
        dash_series_add(d, s_did, 0, 0, 0, 0);
        return;
    }
    for (int i = 0; i < 4; i++) {
        struct stats_summary sm;
        unsigned distinct = clamp_n(a->distinct[((size_t)DID_REAL * 4 + (size_t)i) * slots + b]);

        /* The mean of the stacked cell, over the distinct observations
         * behind it. */
        dash_cell_num(d, r, mom_mean(&cells[i]), distinct, 2);
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
            Coachq__V1__Cell *c = dash_cell_text(d, r, PROG_FEW_MANAGERS, NULL);

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
            dash_cell_text(d, r, PROG_SMALL_GROUP, NULL);
        }
        return 0;
    }
    est = did_estimate(a, DID_PLACEBO, b, &ci);
    if (est == 1) {
        for (int i = 0; i < 3; i++) {
            Coachq__V1__Cell *c = dash_cell_text(d, r, PROG_FEW_MANAGERS, NULL);

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

static int programme_impact(struct dash *d, const struct dash_ctx *c, const struct idlist *flm,
                            const struct enrol_collect *ec, struct weeks *w)
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
    struct did_acc a;
    int32_t first = w->from_monday;
    int32_t last = w->from_monday + 7 * (int32_t)(w->nweeks - 1);
    int32_t *cweek = NULL;
    size_t slots = w->nb + 1;
    Coachq__V1__Table *t;
    Coachq__V1__Table *pt;
    Coachq__V1__Table *tt;
    Coachq__V1__Chart *ch;
    Coachq__V1__Chart *tch;
    Coachq__V1__Series *s_did;
    Coachq__V1__Series *s_trend[2];
    struct mom *tot = NULL; /* DID_DESIGNS * slots * 4 */
    unsigned treated_managers;
    unsigned control_managers;
    unsigned flagged = 0;
    int small;
    int rc = 0;

    memset(&a, 0, sizeof(a));
    a.nb = w->nb;
    a.nweeks = w->nweeks;
    cweek = calloc(flm->n + 1, sizeof(*cweek));
    a.stack_week = calloc(w->nweeks, sizeof(*a.stack_week));
    a.cells = calloc(DID_DESIGNS * w->nweeks * 4 * slots, sizeof(*a.cells));
    a.pre = calloc((w->nweeks + 1) * slots, sizeof(*a.pre));
    a.trend = calloc(w->nweeks * 2 * PROG_TREND_BINS, sizeof(*a.trend));
    a.counted = calloc(DID_DESIGNS * w->nweeks, 1);
    a.mine = calloc(4 * slots, sizeof(*a.mine));
    a.mask = calloc(4 * w->nweeks, 1);
    a.distinct = calloc(DID_DESIGNS * 4 * slots, sizeof(*a.distinct));
    a.clu = calloc(DID_DESIGNS * slots, sizeof(*a.clu));
    a.clu_ok = calloc(DID_DESIGNS * slots, 1);
    tot = calloc(DID_DESIGNS * slots * 4, sizeof(*tot));
    if (cweek == NULL || a.stack_week == NULL || a.cells == NULL || a.pre == NULL ||
        a.trend == NULL || a.counted == NULL || a.mine == NULL || a.mask == NULL ||
        a.distinct == NULL || a.clu == NULL || a.clu_ok == NULL || tot == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    /* Each manager's training week (0: none by until_day) and the stacks:
     * training weeks after the window's first week, so that a "before"
     * exists. */
    for (size_t i = 0; i < flm->n; i++) {
        int32_t day = completion_of(ec, flm->id[i]);

        cweek[i] = day > 0 ? agg_week_of(day) : 0;
        if (cweek[i] > first && cweek[i] <= last) {
            size_t s = (size_t)((cweek[i] - first) / 7);

            a.stack_week[s] = cweek[i];
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < flm->n; i++) {
            if (cweek[i] != 0 && cweek[i] <= first) {
                continue; /* trained before the window: no "before" to compare */
            }
            rc = weeks_read(c, w, AGG_COACH, flm->id[i]);
            if (rc != 0) {
                goto out;
            }
            if (w->observations == 0) {
                continue;
            }
            did_prefix(&a, w);
            if (pass == 0) {
                did_first(&a, w, cweek[i]);
            } else {
                rc = did_second(&a, w, cweek[i]);
                if (rc != 0) {
                    goto out;
                }
            }
        }
        if (pass == 1) {
            break;
        }
        /* Which stacks count, the cells' totals, and the clusters' start. */
        for (int design = 0; design < DID_DESIGNS; design++) {
            for (size_t s = 0; s < w->nweeks; s++) {
                if (a.stack_week[s] == 0 || did_cell(&a, design, s, STATS_C_BEFORE, a.nb)->n == 0 ||
                    did_cell(&a, design, s, STATS_C_AFTER, a.nb)->n == 0) {
                    continue;
                }
                a.counted[(size_t)design * w->nweeks + s] = 1;
                for (size_t b = 0; b < slots; b++) {
                    for (int k = 0; k < 4; k++) {
                        mom_add(&tot[((size_t)design * slots + b) * 4 + (size_t)k],
                                did_cell(&a, design, s, k, b));
                    }
                }
            }
            for (size_t b = 0; b < slots; b++) {
                const struct mom *m = &tot[((size_t)design * slots + b) * 4];
                double n[4];
                double sum[4];

                for (int k = 0; k < 4; k++) {
                    n[k] = m[k].n;
                    sum[k] = m[k].sum;
                }
                a.clu_ok[(size_t)design * slots + b] =
                    stats_did_cluster_init(&a.clu[(size_t)design * slots + b], n, sum) == 0;
            }
        }
    }
    treated_managers = a.clu_ok[DID_REAL * slots + a.nb]
                           ? clamp_n(a.clu[DID_REAL * slots + a.nb].groups_treated)
                           : 0;
    control_managers = a.clu_ok[DID_REAL * slots + a.nb]
                           ? clamp_n(a.clu[DID_REAL * slots + a.nb].groups_control)
                           : 0;

    t = dash_table(d, "impact",
                   "Quality before and after training, against managers not yet trained", cols,
                   sizeof(cols) / sizeof(cols[0]));
    ch = dash_chart(d, "impact-chart",
                    "Difference-in-differences of quality, trained against not-yet-trained "
                    "managers (95% CI clustered by manager)",
                    COACHQ__V1__CHART__KIND__KIND_BARS, "impact");
    s_did = dash_series(d, ch, "Difference-in-differences", 1);
    pt = dash_table(d, "placebo",
                    "Parallel-trends check: placebo difference-in-differences before training",
                    pcols, sizeof(pcols) / sizeof(pcols[0]));
    tt = dash_table(d, "pretrends", "Quality index before training: trained and not yet trained",
                    tcols, sizeof(tcols) / sizeof(tcols[0]));
    tch = dash_chart(d, "pretrend-chart",
                     "Quality index in the weeks before training, trained and not yet trained",
                     COACHQ__V1__CHART__KIND__KIND_LINES, "pretrends");
    s_trend[0] = dash_series(d, tch, "Trained", 0);
    s_trend[1] = dash_series(d, tch, "Not yet trained", 0);
    if (t == NULL || ch == NULL || pt == NULL || tt == NULL || tch == NULL) {
        rc = dash_failed(d);
        goto out;
    }
    ch->y_title = dash_strdup(d, "points on the 1-4 scale");
    tch->y_title = dash_strdup(d, "quality index, 1-4");
    tch->y_min = 1;
    tch->y_max = 4;
    small = treated_managers < c->opts->privacy_min || control_managers < c->opts->privacy_min;
    t->note = dash_printf(
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
        w->nweeks, treated_managers, control_managers, PROG_MIN_MANAGERS,
        small ? " A group has fewer people than the privacy minimum: not broken down." : "");
    pt->note = dash_printf(
        d, "The same comparison on the weeks before training only: each training week's "
           "pre-period is split in half, the first half standing for before and the second for "
           "after. If the trained and not-yet-trained managers were on parallel trends, the "
           "placebo estimate is near 0; a behaviour whose interval excludes 0 is flagged, and its "
           "difference-in-differences above should not be read as an effect of training.");
    tt->note = dash_printf(
        d,
        "Mean quality index per observation in %d-week bins before each training week, trained "
        "managers beside those not yet trained at that time (aligned on each training week). "
        "n: observations; one of a not-yet-trained manager counts once per training week it is "
        "compared with.",
        PROG_TREND_BIN_WEEKS);
    for (size_t b = 0; b <= a.nb; b++) {
        const char *label;

        if (b < a.nb) {
            const Coachq__V1__Behaviour *beh = c->rubric->behaviours[b];

            label = beh->name != NULL && beh->name[0] != '\0' ? beh->name : beh->id;
        } else {
            label = "Quality index";
        }
        dash_chart_x(d, ch, label);
        impact_row(d, &a, t, s_did, label, b, &tot[((size_t)DID_REAL * slots + b) * 4], small);
        if (placebo_row(d, &a, pt, label, b, small, c->opts->min_n)) {
            flagged++;
        }
    }
    for (size_t j = PROG_TREND_BINS; j-- > 0;) {
        Coachq__V1__TableRow *r = dash_row(d, tt);
        const char *label =
            dash_printf(d, "%zu-%zu", j * PROG_TREND_BIN_WEEKS + 1, (j + 1) * PROG_TREND_BIN_WEEKS);

        dash_cell_text(d, r, label, NULL);
        dash_chart_x(d, tch, label);
        for (size_t arm = 0; arm < 2; arm++) {
            struct mom m = {0, 0, 0};

            for (size_t s = 0; s < w->nweeks; s++) {
                if (a.counted[DID_REAL * w->nweeks + s]) {
                    mom_add(&m, &a.trend[(s * 2 + arm) * PROG_TREND_BINS + j]);
                }
            }
            if (small) {
                dash_cell_text(d, r, PROG_SMALL_GROUP, NULL);
                dash_series_add(d, s_trend[arm], 0, 0, 0, 0);
            } else {
                dash_cell_num(d, r, mom_mean(&m), clamp_n(m.n), 2);
                dash_series_add(d, s_trend[arm], mom_mean(&m), clamp_n(m.n), NAN, NAN);
            }
        }
    }
    if (flagged > 0) {
        dash_note(d,
                  "Parallel-trends check: %u of %zu behaviours (or the quality index) show a "
                  "placebo estimate whose interval excludes 0; their difference-in-differences is "
                  "not evidence of a training effect.",
                  flagged, a.nb + 1);
    }
    if (small) {
        dash_note(d,
                  "Programme impact: %u trained and %u not-yet-trained managers; groups of fewer "
                  "than %u people are not broken down.",
                  treated_managers, control_managers, c->opts->privacy_min);
    }
    rc = dash_failed(d);
out:
    free(cweek);
    free(a.stack_week);
    free(a.cells);
    free(a.pre);
    free(a.trend);
    free(a.counted);
    free(a.mine);
    free(a.mask);
    free(a.distinct);
    free(a.clu);
    free(a.clu_ok);
    free(tot);
    return rc;
}

/* ---- Programme impact: attendance beside quality ---------------------- */

/* Counts a cohort's members observed before it started and after its last
 * completion (the windows of its quality figures), so that each figure is
 * shown only when it rests on privacy_min people as computed, not on the
 * headcount enrolled. */
struct cohort_seen {
    const struct dash_ctx *c;
    const struct cohort *co;
    struct weeks *w;
    unsigned before;
    unsigned after;
};

static int cohort_seen_cb(const Coachq__V1__Enrolment *e, void *arg)
{
    struct cohort_seen *cs = arg;
    const struct cohort *co = cs->co;
    int before = 0, after = 0;
    int rc;

    if (e->person_id == NULL || e->cohort_id == NULL || strcmp(e->cohort_id, co->cohort) != 0) {
        return 0;
    }
    rc = weeks_read(cs->c, cs->w, AGG_COACH, e->person_id);
    if (rc != 0) {
        return rc;
    }
    for (size_t k = 0; k < cs->w->nweeks; k++) {
        int32_t monday = cs->w->from_monday + 7 * (int32_t)k;
        int seen = weeks_at(cs->w, k, cs->w->nb)->n > 0;

        if (co->start_day != 0 && monday < agg_week_of(co->start_day)) {
            before |= seen;
        } else if (co->last_completed != 0 && monday >= agg_week_of(co->last_completed)) {
            after |= seen;
        }
    }
    cs->before += (unsigned)before;
    cs->after += (unsigned)after;
    return 0;
}

static int programme_attendance(struct dash *d, const struct dash_ctx *c,
                                const struct enrol_collect *ec, struct weeks *w)
{
    static const char *const cols[] = {
        "Programme", "Cohort",         "Enrolled",      "Modules attended",
        "Completed", "Quality before", "Quality after", "Change",
    };
    Coachq__V1__Table *t = dash_table(d, "attendance", "Attendance and quality by cohort", cols,
                                      sizeof(cols) / sizeof(cols[0]));
    int rc;

    if (t == NULL) {
        return dash_failed(d);
    }
    t->note = dash_printf(d,
                          "Inputs (enrolled, modules attended, completed) beside quality "
                          "(mean quality index per observation, 1-4): before = weeks before the "
                          "cohort started, after = from the week of its last completion on, over "
                          "the last %zu weeks. Quality is shown where at least %u of the "
                          "cohort's members were observed in that window.",
                          w->nweeks, c->opts->privacy_min);
    for (size_t i = 0; i < ec->n_cohorts; i++) {
        const struct cohort *co = &ec->cohorts[i];
        Coachq__V1__TableRow *r = dash_row(d, t);
        struct mom before = {0, 0, 0};
        struct mom after = {0, 0, 0};
        unsigned seen_before, seen_after;
        char scope[140];

        dash_cell_text(d, r, co->programme, NULL);
        dash_cell_text(d, r, co->cohort, NULL);
        dash_cell_count(d, r, co->enrolled);
        dash_cell_count(d, r, co->modules);
        dash_cell_count(d, r, co->completed);
        if (co->enrolled < c->opts->privacy_min) {
            for (int k = 0; k < 3; k++) {
                dash_cell_text(d, r, PROG_SMALL_GROUP, NULL);
            }
            continue;
        }
        {
            struct cohort_seen cs = {c, co, w, 0, 0};

            rc = people_enrolments(c->t, co->programme, cohort_seen_cb, &cs);
            if (rc != 0) {
                return rc;
            }
            seen_before = cs.before;
            seen_after = cs.after;
        }
        snprintf(scope, sizeof(scope), "%s/%s", co->programme, co->cohort);
        rc = weeks_read(c, w, AGG_COHORT, scope);
        if (rc != 0) {
            return rc;
        }
        for (size_t k = 0; k < w->nweeks; k++) {
            int32_t monday = w->from_monday + 7 * (int32_t)k;
            const struct mom *m = weeks_at(w, k, w->nb);

            if (co->start_day != 0 && monday < agg_week_of(co->start_day)) {
                mom_add(&before, m);
            } else if (co->last_completed != 0 && monday >= agg_week_of(co->last_completed)) {
                mom_add(&after, m);
            }
        }
        if (seen_before < c->opts->privacy_min && before.n > 0) {
            dash_cell_text(d, r, PROG_SMALL_GROUP, NULL);
        } else {
            dash_cell_num(d, r, mom_mean(&before), clamp_n(before.n), 2);
        }
        if (co->last_completed == 0) {
            dash_cell_text(d, r, "not completed", NULL);
            dash_cell_text(d, r, "", NULL);
            continue;
        }
        if (seen_after < c->opts->privacy_min && after.n > 0) {
            dash_cell_text(d, r, PROG_SMALL_GROUP, NULL);
        } else {
            dash_cell_num(d, r, mom_mean(&after), clamp_n(after.n), 2);
        }
        if ((seen_before < c->opts->privacy_min && before.n > 0) ||
            (seen_after < c->opts->privacy_min && after.n > 0)) {
            dash_cell_text(d, r, PROG_SMALL_GROUP, NULL);
        } else {
            dash_cell_num(d, r, mom_mean(&after) - mom_mean(&before),
                          clamp_n(before.n < after.n ? before.n : after.n), 2);
        }
    }
    if (ec->n_cohorts == 0) {
        dash_note(d, "No programme cohorts are recorded.");
    }
    return dash_failed(d);
}

/* ---- Programme impact: quality against later business results --------- */

static const char *const prog_metrics[] = {"win_rate", "pipeline_coverage", "quota_attainment",
                                           "crm_completeness"};
#define PROG_NMETRICS (sizeof(prog_metrics) / sizeof(prog_metrics[0]))

/* Quarter number (year * 4 + quarter - 1) of a day. */
static int64_t quarter_of(int32_t day)
{
    int64_t y;
    unsigned m;
    unsigned dd;

    day_to_civil(day, &y, &m, &dd);
    return y * 4 + (int64_t)(m - 1) / 3;
}

static int32_t quarter_first_day(int64_t q)
{
    int64_t y = q >= 0 ? q / 4 : (q - 3) / 4;

    return (int32_t)day_from_civil(y, (unsigned)(q - y * 4) * 3 + 1, 1);
}

/* One manager's team results per metric and quarter: quarter figures, and
 * month figures averaged when a quarter has none. */
struct results {
    int64_t q0; /* first quarter held */
    size_t nq;
    int reps;    /* 1 while collecting the reps' own figures (team unset) */
    size_t only; /* with reps: the one quarter index collected */
    double qsum[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
    unsigned qn[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
    double msum[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
    unsigned mn[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
    /* The reps' own figures, every month or quarter of theirs averaged. */
    double rsum[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
    unsigned rn[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
};

static int results_cb(const Coachq__V1__Outcome *o, void *arg)
{
    struct results *res = arg;
    int32_t first;
    int64_t q;
    size_t k;
    size_t mi;

    if ((o->team != 0) == (res->reps != 0) || o->period == NULL || o->metric == NULL ||
        !isfinite(o->value) || outcomes_period_parse(o->period, &first, NULL) != 0) {
        return 0;
    }
    for (mi = 0; mi < PROG_NMETRICS; mi++) {
        if (strcmp(o->metric, prog_metrics[mi]) == 0) {
            break;
        }
    }
    q = quarter_of(first);
    if (mi == PROG_NMETRICS || q < res->q0 || q >= res->q0 + (int64_t)res->nq) {
        return 0;
    }
    k = (size_t)(q - res->q0);
    if (res->reps) {
        if (k == res->only) {
            res->rsum[mi][k] += o->value;
            res->rn[mi][k]++;
        }
    } else if (strchr(o->period, 'Q') != NULL) {
        res->qsum[mi][k] += o->value;
        res->qn[mi][k]++;
    } else {
        res->msum[mi][k] += o->value;
        res->mn[mi][k]++;
    }
    return 0;
}

/* The team result of metric mi in quarter index k, or NAN. */
static double results_get(const struct results *res, size_t mi, size_t k)
{
    if (res->qn[mi][k] > 0) {
        return res->qsum[mi][k] / res->qn[mi][k];
    }
    if (res->mn[mi][k] > 0) {
        return res->msum[mi][k] / res->mn[mi][k];
    }
    if (res->rn[mi][k] > 0) {
        return res->rsum[mi][k] / res->rn[mi][k];
    }
    return NAN;
}

struct rep_walk {
    struct store_txn *t;
    struct results *res;
    int32_t from, until;
};

static int rep_results_cb(const char *rep, void *arg)
{
    struct rep_walk *rw = arg;

    return outcomes_list(rw->t, rep, rw->from, rw->until, results_cb, rw->res);
}

/* Where a team has no figure of its own, its reps' figures stand in: the
 * reps who reported to manager at the end of each quarter, their months
 * and quarters of that quarter averaged. */
static int results_from_reps(const struct dash_ctx *c, const char *manager, struct results *res)
{
    struct rep_walk rw;
    int rc = 0;

    rw.t = c->t;
    rw.res = res;
    res->reps = 1;
    for (size_t k = 0; k < res->nq && rc == 0; k++) {
        rw.from = quarter_first_day(res->q0 + (int64_t)k);
        rw.until = quarter_first_day(res->q0 + (int64_t)k + 1) - 1;
        if (rw.from > c->until_day) {
            break;
        }
        {
            /* Only quarters where the team lacks a figure of its own. */
            int lacks = 0;

            for (size_t mi = 0; mi < PROG_NMETRICS; mi++) {
                lacks |= res->qn[mi][k] == 0 && res->mn[mi][k] == 0;
            }
            if (!lacks) {
                continue;
            }
        }
        res->only = k;
        rc = people_reports_at(c->t, manager, rw.until < c->until_day ? rw.until : c->until_day,
                               rep_results_cb, &rw);
    }
    res->reps = 0;
    return rc;
}

struct corr_acc {
    double n, sx, sy, sxx, syy, sxy;
    unsigned managers;
};

static int programme_results(struct dash *d, const struct dash_ctx *c, const struct idlist *flm)
{
    static const char *const cols[] = {"Metric",
                                       "Lag (quarters)",
                                       "r",
                                       "95% CI low, if independent",
                                       "95% CI high, if independent",
                                       "Managers"};
    struct corr_acc acc[PROG_NMETRICS][PROG_MAX_LAG];
    int64_t q_end = quarter_of(c->until_day);
    int64_t q0 = q_end - PROG_QUARTERS;
    int32_t from_monday = agg_week_of(quarter_first_day(q0));
    size_t nweeks = (size_t)((c->until_monday - from_monday) / 7 + 1);
    struct results *res = NULL;
    struct weeks w;
    Coachq__V1__Table *t;
    Coachq__V1__Chart *ch;
    Coachq__V1__Series *ser[PROG_MAX_LAG];
    int rc;

    memset(acc, 0, sizeof(acc));
    rc = weeks_init(&w, c, from_monday, nweeks);
    res = calloc(1, sizeof(*res));
    if (rc != 0 || res == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < flm->n; i++) {
        struct mom qual[PROG_QUARTERS];
        int used[PROG_NMETRICS][PROG_MAX_LAG];

        rc = weeks_read(c, &w, AGG_COACH, flm->id[i]);
        if (rc != 0) {
            goto out;
        }
        if (w.observations == 0) {
            continue;
        }
        /* Quality per quarter of the Monday of each week. */
        memset(qual, 0, sizeof(qual));
        for (size_t k = 0; k < w.nweeks; k++) {
            int64_t q = quarter_of(w.from_monday + 7 * (int32_t)k);

            if (q >= q0 && q < q0 + PROG_QUARTERS) {
                mom_add(&qual[q - q0], weeks_at(&w, k, w.nb));
            }
        }
        memset(res, 0, sizeof(*res));
        res->q0 = q0;
        res->nq = PROG_QUARTERS + 1;
        rc = outcomes_list(c->t, flm->id[i], quarter_first_day(q0), c->until_day, results_cb, res);
        if (rc == 0) {
            rc = results_from_reps(c, flm->id[i], res);
        }
        if (rc != 0) {
            goto out;
        }
        memset(used, 0, sizeof(used));
        for (size_t k = 0; k < PROG_QUARTERS; k++) {
            double x;

            if (qual[k].n < c->opts->min_n) {
                continue; /* too few observations for a quarter's quality */
            }
            x = mom_mean(&qual[k]);
            for (size_t mi = 0; mi < PROG_NMETRICS; mi++) {
                for (size_t lag = 1; lag <= PROG_MAX_LAG; lag++) {
                    struct corr_acc *a = &acc[mi][lag - 1];
                    double y;

                    if (k + lag > PROG_QUARTERS) {
                        continue;
                    }
                    y = results_get(res, mi, k + lag);
                    if (!isfinite(y)) {
                        continue;
                    }
                    a->n += 1;
                    a->sx += x;
                    a->sy += y;
                    a->sxx += x * x;
                    a->syy += y * y;
                    a->sxy += x * y;
                    if (!used[mi][lag - 1]) {
                        used[mi][lag - 1] = 1;
                        a->managers++;
                    }
                }
            }
        }
    }

    t = dash_table(d, "results", "Quality against the team's results one and two quarters later",
                   cols, sizeof(cols) / sizeof(cols[0]));
    ch = dash_chart(d, "results-chart",
                    "Correlation of quality with later results (r; 95% CI as if manager-quarters "
                    "were independent)",
                    COACHQ__V1__CHART__KIND__KIND_BARS, "results");
    if (t == NULL || ch == NULL) {
        rc = dash_failed(d);
        goto out;
    }
    ch->y_title = dash_strdup(d, "r");
    ch->y_min = -1;
    ch->y_max = 1;
    for (size_t lag = 1; lag <= PROG_MAX_LAG; lag++) {
        ser[lag - 1] = dash_series(d, ch, lag == 1 ? "1 quarter later" : "2 quarters later", 1);
    }
    t->note = dash_printf(
        d,
        "Correlation, not causation. Pearson's r between a manager's quality index in a quarter "
        "(at least %u observations; a week counts in the quarter its Monday falls in) and their "
        "team's result one or two quarters later (the team's own figure, or else the mean of its "
        "reps' figures); n = manager-quarters. The 95%% CI (Fisher's z) treats the "
        "manager-quarters as independent pairs. They are not: one manager gives up to %d "
        "quarters, so the interval is narrower than the evidence and the real uncertainty is "
        "larger.",
        c->opts->min_n, PROG_QUARTERS);
    for (size_t mi = 0; mi < PROG_NMETRICS; mi++) {
        dash_chart_x(d, ch, prog_metrics[mi]);
        for (size_t lag = 1; lag <= PROG_MAX_LAG; lag++) {
            const struct corr_acc *a = &acc[mi][lag - 1];
            Coachq__V1__TableRow *r = dash_row(d, t);
            struct stats_corr cr;
            unsigned n = clamp_n(a->n);

            dash_cell_text(d, r, prog_metrics[mi], NULL);
            dash_cell_text(d, r, dash_printf(d, "%zu", lag), NULL);
            if (n == 0 || a->managers < c->opts->privacy_min) {
                /* Nothing to correlate, or so few managers that r would
                 * describe individuals. */
                for (int k = 0; k < 3; k++) {
                    if (n == 0) {
                        dash_cell_num(d, r, NAN, 0, 2);
                    } else {
                        dash_cell_text(d, r, PROG_SMALL_GROUP, NULL);
                    }
                }
                dash_cell_count(d, r, a->managers);
                dash_series_add(d, ser[lag - 1], 0, 0, 0, 0);
                continue;
            }
            if (stats_corr_sums(n, a->sx, a->sy, a->sxx, a->syy, a->sxy, &cr) != 0) {
                cr.r = NAN;
                cr.lo = NAN;
                cr.hi = NAN;
                cr.ci_defined = 0;
            }
            dash_cell_num(d, r, cr.r, n, 2);
            dash_cell_num(d, r, cr.ci_defined ? cr.lo : NAN, n, 2);
            dash_cell_num(d, r, cr.ci_defined ? cr.hi : NAN, n, 2);
            dash_cell_count(d, r, a->managers);
            dash_series_add(d, ser[lag - 1], cr.r, n, cr.ci_defined ? cr.lo : NAN,
                            cr.ci_defined ? cr.hi : NAN);
        }
    }
    rc = dash_failed(d);
out:
    free(w.m);
    free(res);
    return rc;
}

int dash_programme(struct dash *d, const struct dash_ctx *c)
{
    struct idlist flm;
    struct enrol_collect ec;
    struct weeks w;
    int rc;

    memset(&flm, 0, sizeof(flm));
    memset(&ec, 0, sizeof(ec));
    memset(&w, 0, sizeof(w));
    ec.until_day = c->until_day;
    rc = people_with_role(c->t, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, &flm);
    if (rc == 0) {
        rc = people_enrolments(c->t, NULL, enrol_cb, &ec);
    }
    if (rc != 0) {
        goto out;
    }
    if (ec.n_done > 1) {
        qsort(ec.done, ec.n_done, sizeof(*ec.done), completion_cmp);
    }
    rc = weeks_init(&w, c, dash_week(c, PROG_WEEKS - 1), PROG_WEEKS);
    if (rc != 0) {
        goto out;
    }
    /* The page's period starts with the earliest week any figure reads:
     * the 52 weeks of the impact, or the quarters of the correlation. */
    {
        int32_t q_from = agg_week_of(quarter_first_day(quarter_of(c->until_day) - PROG_QUARTERS));

        dash_msg(d)->from_day = q_from < w.from_monday ? q_from : w.from_monday;
    }
    rc = programme_impact(d, c, &flm, &ec, &w);
    if (rc == 0) {
        rc = programme_attendance(d, c, &ec, &w);
    }
    if (rc == 0) {
        rc = programme_results(d, c, &flm);
    }
out:
    free(w.m);
    idlist_free(&flm);
    enrol_free(&ec);
    return rc;
}

/* ---- Observer reliability ------------------------------------------------ */

struct cert_latest {
    const char *rubric;
    int32_t day;
    int have;          /* a certification of the rubric exists */
    int valid;         /* one holds on day */
    int32_t until_day; /* the one holding on day, else the latest to end */
};

static int cert_cb(const Coachq__V1__Certification *ce, void *arg)
{
    struct cert_latest *cl = arg;
    int holds;

    if (ce->rubric_id == NULL || strcmp(ce->rubric_id, cl->rubric) != 0) {
        return 0;
    }
    holds = ce->valid_from_day <= cl->day && cl->day <= ce->valid_until_day;
    if (holds && (!cl->valid || ce->valid_until_day > cl->until_day)) {
        cl->until_day = ce->valid_until_day;
    } else if (!cl->valid && !holds && (!cl->have || ce->valid_until_day > cl->until_day)) {
        cl->until_day = ce->valid_until_day;
    }
    cl->have = 1;
    cl->valid |= holds;
    return 0;
}

struct calib_latest {
    const char *rubric;
    int have;
    uint32_t n;
    double exact;
    double within_one;
    double kappa;
    int64_t until_ms; /* results after the period are not shown */
    int kappa_undefined;
};

static int calib_cb(const Coachq__V1__CalibrationResult *r, void *arg)
{
    struct calib_latest *cl = arg;

    if (r->rubric_id == NULL || strcmp(r->rubric_id, cl->rubric) != 0 ||
        (cl->until_ms != 0 && r->at_ms >= cl->until_ms)) {
        return 0;
    }
    /* Oldest first: the last one seen is the latest. */
    cl->have = 1;
    cl->n = r->n;
    cl->exact = r->exact;
    cl->within_one = r->within_one;
    cl->kappa = r->kappa;
    cl->kappa_undefined = r->kappa_undefined;
    return 0;
}

/* Kappa's cell: undefined (0/0) when both sides of every pair used one
 * category, said in words rather than as a figure. */
static void kappa_cell(struct dash *d, Coachq__V1__TableRow *r, double kappa, int undefined,
                       unsigned n)
{
    Coachq__V1__Cell *cell = dash_cell_num(d, r, undefined ? NAN : kappa, n, 2);

    if (cell != NULL && undefined && !cell->insufficient) {
        cell->text = (char *)PROG_KAPPA_UNDEFINED;
    }
}

/* An observer's window: observations, double coding and the pairs. */
struct obs_sum {
    uint64_t observations;
    uint64_t double_coded;
    double pairs[16];
    double n; /* ratings */
    double sum;
};

static int obs_sum_cb(int32_t monday, const Coachq__V1__AggWeek *a, void *arg)
{
    struct obs_sum *s = arg;

    (void)monday;
    s->observations += a->observations;
    s->double_coded += a->double_coded;
    for (size_t i = 0; i < a->n_pairs && i < 16; i++) {
        s->pairs[i] += (double)a->pairs[i];
    }
    for (size_t i = 0; i < a->n_behaviours; i++) {
        s->n += (double)a->behaviours[i]->count;
        s->sum += a->behaviours[i]->sum;
    }
    return 0;
}

static int obs_sum_read(const struct dash_ctx *c, enum agg_scope kind, const char *id, int32_t from,
                        struct obs_sum *s)
{
    memset(s, 0, sizeof(*s));
    return agg_read(c->t, kind, id, c->rubric_id, from, c->until_monday, obs_sum_cb, s);
}

/* The observers page's flag for calibration attempts that look like
 * someone reading the master scores off the results ("" when none). */
static const char *exam_flag(struct dash *d, const struct certs_exam_summary *ex)
{
    if (ex->limit_reached == 0 && ex->one_varied == 0) {
        return "";
    }
    if (ex->one_varied == 0) {
        return dash_printf(d, "suspicious: attempt limit reached at %u reference%s",
                           ex->limit_reached, ex->limit_reached == 1 ? "" : "s");
    }
    if (ex->limit_reached == 0) {
        return dash_printf(d, "suspicious: one behaviour varied between attempts (%u time%s)",
                           ex->one_varied, ex->one_varied == 1 ? "" : "s");
    }
    return dash_printf(d,
                       "suspicious: attempt limit reached at %u reference%s; one behaviour "
                       "varied between attempts (%u time%s)",
                       ex->limit_reached, ex->limit_reached == 1 ? "" : "s", ex->one_varied,
                       ex->one_varied == 1 ? "" : "s");
}

static const char *day_text(struct dash *d, int32_t day)
{
    int64_t y;
    unsigned m;
    unsigned dd;

    day_to_civil(day, &y, &m, &dd);
    return dash_printf(d, "%04lld-%02u-%02u", (long long)y, m, dd);
}

int dash_observers(struct dash *d, const struct dash_ctx *c)
{
    static const char *const cols[] = {
        "Observer",
        "Certified",
        "Valid until",
        "Calibration exact",
        "Calibration within one",
        "Calibration kappa",
        "Observations",
        "Double-coded share",
        "Double-coded exact",
        "Double-coded within one",
        "Double-coded kappa",
        "Severity drift",
        "Coverage",
        "Calibration attempts",
        "Calibration flag",
    };
    int32_t from = dash_week(c, c->opts->trend_weeks - 1);
    struct idlist observers;
    struct idlist flm;
    struct obs_sum *coach = NULL; /* each front-line manager's window, all observers */
    Coachq__V1__Table *t;
    Coachq__V1__Chart *ch;
    Coachq__V1__Series *s_drift;
    int rc;

    memset(&observers, 0, sizeof(observers));
    memset(&flm, 0, sizeof(flm));
    rc = people_with_role(c->t, COACHQ__V1__ROLE__ROLE_OBSERVER, &observers);
    if (rc == 0) {
        rc = people_with_role(c->t, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, &flm);
    }
    if (rc != 0) {
        goto out;
    }
    coach = calloc(flm.n + 1, sizeof(*coach));
    if (coach == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < flm.n; i++) {
        rc = obs_sum_read(c, AGG_COACH, flm.id[i], from, &coach[i]);
        if (rc != 0) {
            goto out;
        }
    }

    t = dash_table(d, "observers", "Observer reliability", cols, sizeof(cols) / sizeof(cols[0]));
    ch = dash_chart(d, "drift-chart",
                    "Severity drift: observer's mean minus peers' on the same managers",
                    COACHQ__V1__CHART__KIND__KIND_BARS, "observers");
    s_drift = dash_series(d, ch, "Severity drift", 0);
    if (t == NULL || ch == NULL) {
        rc = dash_failed(d);
        goto out;
    }
    ch->y_title = dash_strdup(d, "points on the 1-4 scale");
    t->note = dash_printf(
        d,
        "Window: the last %u weeks. Certification on the last day covered. Calibration: the "
        "latest result up to the last day covered (n = rating pairs). Double-coded share: the "
        "observer's observations that another observer also scored (each once, however many "
        "scored it) over all their observations (n); agreement over the rating pairs with "
        "every peer (quadratic-weighted kappa). Severity drift: the observer's mean score minus "
        "other "
        "observers' mean on the same managers, weighted by the observer's ratings (n); "
        "flagged from |%.1f| on. Coverage: managers observed / %zu front-line managers. "
        "Kappa is undefined where every score compared lies in one category (0/0); "
        "calibration then rests on exact agreement alone. Calibration attempts: attempts at "
        "reference sessions in the window; flagged when the attempt limit was reached at a "
        "reference or two successive attempts at one reference differed in one behaviour "
        "only, the pattern of reading master scores off the results.",
        c->opts->trend_weeks, PROG_DRIFT_FLAG, flm.n);

    for (size_t i = 0; i < observers.n; i++) {
        const char *oid = observers.id[i];
        struct cert_latest cl = {c->rubric_id, c->until_day, 0, 0, 0};
        struct calib_latest cal = {.rubric = c->rubric_id,
                                   .until_ms = ((int64_t)c->until_day + 1) * 86400000};
        struct certs_exam_summary ex;
        struct obs_sum mine;
        struct stats_agreement ag;
        double drift_num = 0;
        double drift_n = 0;
        double peers_n = 0;
        unsigned covered = 0;
        double pairs_total = 0;
        Coachq__V1__TableRow *r;
        unsigned dn;
        double drift;

        rc = certs_list(c->t, oid, cert_cb, &cl);
        if (rc == 0) {
            rc = certs_results(c->t, oid, calib_cb, &cal);
        }
        if (rc == 0) {
            rc = obs_sum_read(c, AGG_OBSERVER, oid, from, &mine);
        }
        if (rc == 0) {
            rc = certs_exam_summary(c->t, oid, (int64_t)from * 86400 * 1000,
                                    ((int64_t)c->until_day + 1) * 86400 * 1000,
                                    store_txn_policy(c->t), &ex);
        }
        if (rc != 0) {
            goto out;
        }
        /* Drift and coverage: the observer on each manager against that
         * manager's other observers (the coach total minus this pair). */
        if (mine.observations > 0) {
            for (size_t m = 0; m < flm.n; m++) {
                struct obs_sum pair;
                char scope[140];
                double pn;
                double ps;

                if (coach[m].observations == 0) {
                    continue;
                }
                snprintf(scope, sizeof(scope), "%s/%s", oid, flm.id[m]);
                rc = obs_sum_read(c, AGG_PAIR, scope, from, &pair);
                if (rc != 0) {
                    goto out;
                }
                if (pair.observations == 0) {
                    continue;
                }
                covered++;
                pn = coach[m].n - pair.n;
                ps = coach[m].sum - pair.sum;
                if (pair.n > 0 && pn > 0) {
                    drift_num += pair.n * (pair.sum / pair.n - ps / pn);
                    drift_n += pair.n;
                    peers_n += pn;
                }
            }
        }

        r = dash_row(d, t);
        dash_cell_text(d, r, dash_person_name(d, c->t, oid), oid);
        dash_cell_text(d, r, cl.valid ? "yes" : cl.have ? "expired" : "never", NULL);
        dash_cell_text(d, r, cl.have ? day_text(d, cl.until_day) : "", NULL);
        if (cal.have) {
            dash_cell_num(d, r, cal.exact, cal.n, 2);
            dash_cell_num(d, r, cal.within_one, cal.n, 2);
            kappa_cell(d, r, cal.kappa, cal.kappa_undefined, cal.n);
        } else {
            for (int k = 0; k < 3; k++) {
                dash_cell_text(d, r, "none", NULL);
            }
        }
        dash_cell_count(d, r, mine.observations);
        dash_cell_num(d, r,
                      mine.observations > 0 ? (double)mine.double_coded / (double)mine.observations
                                            : NAN,
                      clamp_n((double)mine.observations), 2);
        for (int k = 0; k < 16; k++) {
            pairs_total += mine.pairs[k];
        }
        if (pairs_total > 0 && stats_agreement_table(mine.pairs, 4, &ag) == 0) {
            unsigned pn = clamp_n(pairs_total);

            dash_cell_num(d, r, ag.exact, pn, 2);
            dash_cell_num(d, r, ag.within_one, pn, 2);
            kappa_cell(d, r, ag.kappa, !ag.kappa_defined, pn);
        } else {
            for (int k = 0; k < 3; k++) {
                dash_cell_num(d, r, NAN, 0, 2);
            }
        }
        /* The drift's n is the observer's ratings compared; it needs as
         * many of the peers' too. */
        dn = clamp_n(peers_n < drift_n ? peers_n : drift_n);
        drift = drift_n > 0 ? drift_num / drift_n : NAN;
        {
            Coachq__V1__Cell *cell = dash_cell_num(d, r, drift, dn, 2);

            if (cell != NULL && cell->has_value && fabs(drift) >= PROG_DRIFT_FLAG) {
                cell->text = dash_printf(d, "%+.2f (flagged)", drift);
            }
        }
        dash_cell_num(d, r, flm.n > 0 ? (double)covered / (double)flm.n : NAN,
                      clamp_n((double)flm.n), 2);
        dash_cell_count(d, r, ex.attempts);
        dash_cell_text(d, r, exam_flag(d, &ex), NULL);
        dash_chart_x(d, ch, dash_person_name(d, c->t, oid));
        dash_series_add(d, s_drift, drift, dn, NAN, NAN);
    }
    if (observers.n == 0) {
        dash_note(d, "No observers are recorded.");
    }
    {
        /* The programme's own coverage: managers anybody observed. */
        size_t seen = 0;

        for (size_t m = 0; m < flm.n; m++) {
            seen += coach[m].observations > 0;
        }
        dash_note(d,
                  "Coverage of the programme: %zu of %zu front-line managers were observed "
                  "in the window (%.0f%%).",
                  seen, flm.n, flm.n > 0 ? 100.0 * (double)seen / (double)flm.n : 0.0);
    }
    rc = dash_failed(d);
out:
    free(coach);
    idlist_free(&observers);
    idlist_free(&flm);
    return rc;
}
