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
#include "dash.h"

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
 * stack are summed; a comparison observation can serve several stacks.
 */
struct did_acc {
    size_t nb;
    int32_t *stack_week; /* Monday of each stack's training week */
    struct mom *cells;   /* nweeks stacks * 4 cells * (nb + 1) */
    struct mom *pre;     /* (nweeks + 1) * (nb + 1): see did_prefix() */
    size_t nweeks;
    unsigned treated_managers;
    unsigned control_managers;
};

static struct mom *did_cell(struct did_acc *a, size_t stack, int cell, size_t slot)
{
    return &a->cells[(stack * 4 + (size_t)cell) * (a->nb + 1) + slot];
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

/* Adds weeks [from, to) of the manager in a->pre (week indexes) into cell
 * of stack. Returns whether that span held any observation. */
static int did_add(struct did_acc *a, size_t stack, int cell, size_t from, size_t to)
{
    size_t slots = a->nb + 1;
    int any = 0;

    if (to > a->nweeks) {
        to = a->nweeks;
    }
    if (from >= to) {
        return 0;
    }
    for (size_t b = 0; b < slots; b++) {
        const struct mom *hi = &a->pre[to * slots + b];
        const struct mom *lo = &a->pre[from * slots + b];
        struct mom *dst = did_cell(a, stack, cell, b);

        if (hi->n > lo->n) {
            dst->n += hi->n - lo->n;
            dst->sum += hi->sum - lo->sum;
            dst->sumsq += hi->sumsq - lo->sumsq;
            any = 1;
        }
    }
    return any;
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

static Coachq__V1__TableRow *impact_row(struct dash *d, Coachq__V1__Table *t,
                                        Coachq__V1__Series *s_did, Coachq__V1__Series *s_eff,
                                        const char *label, const struct mom cells[4], int small)
{
    Coachq__V1__TableRow *r = dash_row(d, t);
    struct stats_cell sc[4];
    struct stats_did res;
    unsigned nmin = UINT32_MAX;
    int ok = 1;

    dash_cell_text(d, r, label, NULL);
    if (small) {
        for (int i = 0; i < 8; i++) {
            dash_cell_text(d, r, PROG_SMALL_GROUP, NULL);
        }
        dash_series_add(d, s_did, 0, 0, 0, 0);
        dash_series_add(d, s_eff, 0, 0, 0, 0);
        return r;
    }
    for (int i = 0; i < 4; i++) {
        struct stats_summary sm;
        unsigned n = clamp_n(cells[i].n);

        if (n < nmin) {
            nmin = n;
        }
        dash_cell_num(d, r, mom_mean(&cells[i]), n, 2);
        if (n < 2 || stats_summary(n, cells[i].sum, cells[i].sumsq, &sm) != 0) {
            ok = 0;
            continue;
        }
        sc[i].n = (double)n;
        sc[i].mean = sm.mean;
        sc[i].sd = sm.sd;
    }
    if (ok && stats_did(sc, &res) != 0) {
        ok = 0;
    }
    if (!ok) {
        /* Too few observations in some cell for a spread: the figures
         * below read "insufficient data" (n under min_n) or "n/a". */
        for (int i = 0; i < 4; i++) {
            dash_cell_num(d, r, NAN, nmin, 2);
        }
        dash_series_add(d, s_did, 0, 0, 0, 0);
        dash_series_add(d, s_eff, 0, 0, 0, 0);
        return r;
    }
    dash_cell_num(d, r, res.did.est, nmin, 2);
    dash_cell_num(d, r, res.did.lo, nmin, 2);
    dash_cell_num(d, r, res.did.hi, nmin, 2);
    dash_cell_num(d, r, res.effect_defined ? res.effect : NAN, nmin, 2);
    dash_series_add(d, s_did, res.did.est, nmin, res.did.lo, res.did.hi);
    dash_series_add(d, s_eff, res.effect_defined ? res.effect : NAN, nmin, NAN, NAN);
    return r;
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
    };
    struct did_acc a;
    int32_t first = w->from_monday;
    int32_t last = w->from_monday + 7 * (int32_t)(w->nweeks - 1);
    int32_t *cweek = NULL;
    unsigned char *is_control = NULL;
    Coachq__V1__Table *t;
    Coachq__V1__Chart *ch;
    Coachq__V1__Series *s_did;
    Coachq__V1__Series *s_eff;
    struct mom tot[4];
    int small;
    int rc = 0;

    memset(&a, 0, sizeof(a));
    a.nb = w->nb;
    cweek = calloc(flm->n + 1, sizeof(*cweek));
    is_control = calloc(flm->n + 1, 1);
    a.stack_week = calloc(w->nweeks, sizeof(*a.stack_week));
    a.cells = calloc(w->nweeks * 4 * (a.nb + 1), sizeof(*a.cells));
    a.pre = calloc((w->nweeks + 1) * (a.nb + 1), sizeof(*a.pre));
    a.nweeks = w->nweeks;
    if (cweek == NULL || is_control == NULL || a.stack_week == NULL || a.cells == NULL ||
        a.pre == NULL) {
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
    for (size_t i = 0; i < flm->n; i++) {
        int treated;

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
        treated = 0;
        for (size_t s = 0; s < w->nweeks; s++) {
            size_t split;
            size_t stop;

            if (a.stack_week[s] == 0) {
                continue;
            }
            split = week_index(w, a.stack_week[s]);
            if (cweek[i] == a.stack_week[s]) {
                treated |= did_add(&a, s, STATS_T_BEFORE, 0, split);
                treated |= did_add(&a, s, STATS_T_AFTER, split, w->nweeks);
            } else if (cweek[i] == 0 || cweek[i] > a.stack_week[s]) {
                /* Untrained until cweek[i] (or throughout). */
                stop = cweek[i] == 0 ? w->nweeks : week_index(w, cweek[i]);
                is_control[i] |= (unsigned char)did_add(&a, s, STATS_C_BEFORE, 0, split);
                is_control[i] |= (unsigned char)did_add(&a, s, STATS_C_AFTER, split, stop);
            }
        }
        if (treated) {
            a.treated_managers++;
        }
        if (is_control[i]) {
            a.control_managers++;
        }
    }

    t = dash_table(d, "impact", "Quality before and after training", cols,
                   sizeof(cols) / sizeof(cols[0]));
    ch = dash_chart(d, "impact-chart", "Change in quality attributable to training",
                    COACHQ__V1__CHART__KIND__KIND_BARS, "impact");
    s_did = dash_series(d, ch, "Difference-in-differences", 1);
    s_eff = dash_series(d, ch, "Effect size (d)", 0);
    if (t == NULL || ch == NULL) {
        rc = dash_failed(d);
        goto out;
    }
    ch->y_title = dash_strdup(d, "points on the 1-4 scale");
    small = a.treated_managers < c->opts->privacy_min || a.control_managers < c->opts->privacy_min;
    t->note = dash_printf(
        d,
        "Trained managers completed training in the window (%u with observations); not yet "
        "trained: managers without a completion at that time (%u). Before: weeks before the "
        "training week, after: from it on, over the last %zu weeks. Difference-in-differences = "
        "(trained after - before) - (not yet trained after - before); effect size = that over "
        "the pooled sd of the four cells. n: observations per cell.%s",
        a.treated_managers, a.control_managers, w->nweeks,
        small ? " A group has fewer people than the privacy minimum: not broken down." : "");
    for (size_t b = 0; b <= a.nb; b++) {
        const char *label;

        memset(tot, 0, sizeof(tot));
        for (size_t s = 0; s < w->nweeks; s++) {
            if (a.stack_week[s] == 0 || did_cell(&a, s, STATS_C_BEFORE, a.nb)->n == 0 ||
                did_cell(&a, s, STATS_C_AFTER, a.nb)->n == 0) {
                continue;
            }
            for (int k = 0; k < 4; k++) {
                mom_add(&tot[k], did_cell(&a, s, k, b));
            }
        }
        if (b < a.nb) {
            const Coachq__V1__Behaviour *beh = c->rubric->behaviours[b];

            label = beh->name != NULL && beh->name[0] != '\0' ? beh->name : beh->id;
        } else {
            label = "Quality index";
        }
        dash_chart_x(d, ch, label);
        impact_row(d, t, s_did, s_eff, label, tot, small);
    }
    if (small) {
        dash_note(d,
                  "Programme impact: %u trained and %u not-yet-trained managers; groups of fewer "
                  "than %u people are not broken down.",
                  a.treated_managers, a.control_managers, c->opts->privacy_min);
    }
    rc = dash_failed(d);
out:
    free(cweek);
    free(is_control);
    free(a.stack_week);
    free(a.cells);
    free(a.pre);
    return rc;
}

/* ---- Programme impact: attendance beside quality ---------------------- */

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
                          "the last %zu weeks. Quality is shown for cohorts of at least %u people.",
                          w->nweeks, c->opts->privacy_min);
    for (size_t i = 0; i < ec->n_cohorts; i++) {
        const struct cohort *co = &ec->cohorts[i];
        Coachq__V1__TableRow *r = dash_row(d, t);
        struct mom before = {0, 0, 0};
        struct mom after = {0, 0, 0};
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
        dash_cell_num(d, r, mom_mean(&before), clamp_n(before.n), 2);
        if (co->last_completed == 0) {
            dash_cell_text(d, r, "not completed", NULL);
            dash_cell_text(d, r, "", NULL);
            continue;
        }
        dash_cell_num(d, r, mom_mean(&after), clamp_n(after.n), 2);
        dash_cell_num(d, r, mom_mean(&after) - mom_mean(&before),
                      clamp_n(before.n < after.n ? before.n : after.n), 2);
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

    obs_json_civil_from_days(day, &y, &m, &dd);
    return y * 4 + (int64_t)(m - 1) / 3;
}

static int32_t quarter_first_day(int64_t q)
{
    int64_t y = q >= 0 ? q / 4 : (q - 3) / 4;

    return (int32_t)obs_json_days_from_civil(y, (unsigned)(q - y * 4) * 3 + 1, 1);
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
    static const char *const cols[] = {"Metric",     "Lag (quarters)", "r",
                                       "95% CI low", "95% CI high",    "Managers"};
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
    ch = dash_chart(d, "results-chart", "Correlation of quality with later results (r)",
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
    t->note = dash_printf(d,
                          "Correlation, not causation. Pearson's r between a manager's quality "
                          "index in a quarter (at least %u observations) and their team's result "
                          "one or two quarters later (the team's own figure, or else the mean "
                          "of its reps' figures); n = manager-quarters; 95%% CI by Fisher's z.",
                          c->opts->min_n);
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
    dash_msg(d)->from_day = w.from_monday;
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
    int kappa_undefined;
};

static int calib_cb(const Coachq__V1__CalibrationResult *r, void *arg)
{
    struct calib_latest *cl = arg;

    if (r->rubric_id == NULL || strcmp(r->rubric_id, cl->rubric) != 0) {
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

    obs_json_civil_from_days(day, &y, &m, &dd);
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
        "latest result (n = rating pairs). Double-coded: sessions another observer also "
        "scored, share of the observer's observations; agreement over their rating pairs "
        "(quadratic-weighted kappa). Severity drift: the observer's mean score minus other "
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
        struct calib_latest cal = {c->rubric_id, 0, 0, 0, 0, 0, 0};
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
