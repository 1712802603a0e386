/*
 * dash_programme: the enablement lead's "Programme impact" dashboard (issue
 * 4, section 3.3), built from the aggregates (agg.h), the organisation and
 * its programmes (people.h) and business results (outcomes.h): quality
 * before and after training (the difference-in-differences in dash_did.c),
 * attendance beside quality by cohort, and quality against the team's
 * results one and two quarters later. Every figure goes through
 * dash_cell_num() with its n, so a figure below the minimum n reads
 * "insufficient data"; groups of fewer than privacy_min people are not
 * broken down.
 *
 * The cost grows with the number of people and weeks, never with the
 * number of observations: each front-line manager's weeks are read from the
 * aggregates once (dash_mom_set_read()), over the quarters of the
 * correlation, which hold the 52 weeks of the impact, and every part of the
 * page works from that one read. The enrolments are read in one scan.
 */
#include "dash_programme.h"
#include "dash_plans.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "dash_did.h"
#include "dash_mix.h"
#include "dash_mom.h"
#include "day.h"
#include "grow.h"
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

/* ---- Enrolments -------------------------------------------------------- */

/* One scan over every enrolment gathers everything the page needs from
 * them: each person's earliest completion, the cohorts (in the order they
 * are first met) and each cohort's members. Cohorts are found through a
 * hash table and completions by sorting, so the cost grows with the
 * enrolments, not with their square. */

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

/* An enrolment with a cohort: who, in which cohort (index into cohorts). */
struct member {
    char person[65];
    size_t cohort;
};

struct enrol_collect {
    struct completion *done;
    size_t n_done;
    size_t cap_done;
    struct cohort *cohorts;
    size_t n_cohorts;
    size_t cap_cohorts;
    struct member *members;
    size_t n_members;
    size_t cap_members;
    size_t *slot; /* open addressing: cohort index + 1, 0 empty */
    size_t cap_slot;
    /* members_group(): cohort i's members are members[order[start[i]]] to
     * members[order[start[i + 1] - 1]], in the order they were met. */
    size_t *start;
    size_t *order;
    int32_t until_day;
};

/* Grows *arr (of size elements, *cap of them) to hold one more than n.
 * Returns 0, -E2BIG past DASH_MAX_PEOPLE or -ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t size, size_t first)
{
    size_t ncap;
    void *p;

    if (n < *cap) {
        return 0;
    }
    ncap = *cap == 0 ? first : *cap * 2;
    if (ncap > DASH_MAX_PEOPLE) {
        return -E2BIG;
    }
    p = realloc(*arr, ncap * size);
    if (p == NULL) {
        return -ENOMEM;
    }
    *arr = p;
    *cap = ncap;
    return 0;
}

static uint64_t cohort_hash(const char *programme, const char *cohort)
{
    uint64_t h = 1469598103934665603ULL;

    for (const char *p = programme; *p != '\0'; p++) {
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    }
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const char *p = cohort; *p != '\0'; p++) {
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    }
    return h;
}

/* Rebuilds the hash table at twice the size. */
static int cohort_rehash(struct enrol_collect *ec)
{
    size_t cap = ec->cap_slot == 0 ? 64 : ec->cap_slot * 2;
    size_t *slot = calloc(cap, sizeof(*slot));

    if (slot == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < ec->n_cohorts; i++) {
        size_t at =
            (size_t)cohort_hash(ec->cohorts[i].programme, ec->cohorts[i].cohort) & (cap - 1);

        while (slot[at] != 0) {
            at = (at + 1) & (cap - 1);
        }
        slot[at] = i + 1;
    }
    free(ec->slot);
    ec->slot = slot;
    ec->cap_slot = cap;
    return 0;
}

/* The index of (programme, cohort), added when new; or a negative code. */
static int cohort_find(struct enrol_collect *ec, const char *programme, const char *cohort,
                       int32_t start_day, size_t *out)
{
    struct cohort *co;
    size_t at;
    int rc;

    if (2 * (ec->n_cohorts + 1) > ec->cap_slot) {
        rc = cohort_rehash(ec);
        if (rc != 0) {
            return rc;
        }
    }
    at = (size_t)cohort_hash(programme, cohort) & (ec->cap_slot - 1);
    while (ec->slot[at] != 0) {
        co = &ec->cohorts[ec->slot[at] - 1];
        if (strcmp(co->programme, programme) == 0 && strcmp(co->cohort, cohort) == 0) {
            *out = ec->slot[at] - 1;
            return 0;
        }
        at = (at + 1) & (ec->cap_slot - 1);
    }
    rc = grow((void **)&ec->cohorts, &ec->cap_cohorts, ec->n_cohorts, sizeof(*ec->cohorts), 16);
    if (rc != 0) {
        return rc;
    }
    co = &ec->cohorts[ec->n_cohorts];
    memset(co, 0, sizeof(*co));
    memcpy(co->programme, programme, strlen(programme) + 1);
    memcpy(co->cohort, cohort, strlen(cohort) + 1);
    co->start_day = start_day;
    ec->slot[at] = ec->n_cohorts + 1;
    *out = ec->n_cohorts++;
    return 0;
}

static int enrol_cb(const Coachq__V1__Enrolment *e, void *arg)
{
    struct enrol_collect *ec = arg;
    int32_t done = e->completed_day > 0 && e->completed_day <= ec->until_day ? e->completed_day : 0;
    struct cohort *co;
    size_t ci;
    int rc;

    if (e->person_id == NULL || e->programme_id == NULL || strlen(e->person_id) > 64 ||
        strlen(e->programme_id) > 64 || (e->cohort_id != NULL && strlen(e->cohort_id) > 64)) {
        return 0;
    }
    if (done != 0) {
        /* Every completion for now; completions_sort() keeps each
         * person's earliest. */
        rc = grow((void **)&ec->done, &ec->cap_done, ec->n_done, sizeof(*ec->done), 64);
        if (rc != 0) {
            return rc;
        }
        memcpy(ec->done[ec->n_done].person, e->person_id, strlen(e->person_id) + 1);
        ec->done[ec->n_done].day = done;
        ec->n_done++;
    }
    if (e->cohort_id == NULL || e->cohort_id[0] == '\0') {
        return 0;
    }
    rc = cohort_find(ec, e->programme_id, e->cohort_id, e->cohort_start_day, &ci);
    if (rc == 0) {
        rc = grow((void **)&ec->members, &ec->cap_members, ec->n_members, sizeof(*ec->members), 64);
    }
    if (rc != 0) {
        return rc;
    }
    memcpy(ec->members[ec->n_members].person, e->person_id, strlen(e->person_id) + 1);
    ec->members[ec->n_members].cohort = ci;
    ec->n_members++;
    co = &ec->cohorts[ci];
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
    const struct completion *x = a;
    const struct completion *y = b;
    int c = strcmp(x->person, y->person);

    if (c != 0) {
        return c;
    }
    return (x->day > y->day) - (x->day < y->day);
}

/* Sorts the completions by person and keeps each person's earliest. */
static void completions_sort(struct enrol_collect *ec)
{
    size_t n = 0;

    if (ec->n_done > 1) {
        qsort(ec->done, ec->n_done, sizeof(*ec->done), completion_cmp);
    }
    for (size_t i = 0; i < ec->n_done; i++) {
        if (n > 0 && strcmp(ec->done[n - 1].person, ec->done[i].person) == 0) {
            continue; /* a later completion of the same person */
        }
        ec->done[n++] = ec->done[i];
    }
    ec->n_done = n;
}

static int person_cmp(const void *a, const void *b)
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
    hit = bsearch(&key, ec->done, ec->n_done, sizeof(*ec->done), person_cmp);
    return hit != NULL ? hit->day : 0;
}

/* Groups the members by cohort (a counting sort that keeps their order).
 * Returns 0 or -ENOMEM. */
static int members_group(struct enrol_collect *ec)
{
    size_t *fill;

    ec->start = calloc(ec->n_cohorts + 1, sizeof(*ec->start));
    ec->order = calloc(ec->n_members + 1, sizeof(*ec->order));
    fill = calloc(ec->n_cohorts + 1, sizeof(*fill));
    if (ec->start == NULL || ec->order == NULL || fill == NULL) {
        free(fill);
        return -ENOMEM;
    }
    for (size_t i = 0; i < ec->n_members; i++) {
        ec->start[ec->members[i].cohort + 1]++;
    }
    for (size_t k = 0; k < ec->n_cohorts; k++) {
        ec->start[k + 1] += ec->start[k];
    }
    for (size_t i = 0; i < ec->n_members; i++) {
        size_t k = ec->members[i].cohort;

        ec->order[ec->start[k] + fill[k]++] = i;
    }
    free(fill);
    return 0;
}

static void enrol_free(struct enrol_collect *ec)
{
    free(ec->done);
    free(ec->cohorts);
    free(ec->members);
    free(ec->slot);
    free(ec->start);
    free(ec->order);
    memset(ec, 0, sizeof(*ec));
}

/* Each manager of flm's training week: the Monday of their earliest
 * completion by until_day, 0 for none, into *out (caller frees). Returns 0
 * or -ENOMEM. */
static int programme_training_weeks(const struct enrol_collect *ec, const struct dash_ids *flm,
                                    int32_t **out)
{
    int32_t *cweek = calloc(flm->n + 1, sizeof(*cweek));

    *out = cweek;
    if (cweek == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < flm->n; i++) {
        int32_t day = completion_of(ec, flm->id[i]);

        cweek[i] = day > 0 ? agg_week_of(day) : 0;
    }
    return 0;
}

/* ---- Programme impact: attendance beside quality ---------------------- */

/* The front-line managers' weeks, read once for the whole page
 * (dash_mom_set_read()), and flm's ids in strcmp order to find a cohort
 * member among them. */
struct prog_weeks {
    const struct dash_ids *flm;
    struct dash_mom_set set;
    const char **by_id; /* pointers into flm->id, sorted */
};

static int id_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The index of person in pw->flm, or pw->flm->n. */
static size_t prog_find(const struct prog_weeks *pw, const char *person)
{
    const char **hit;

    if (pw->flm->n == 0) {
        return 0;
    }
    hit = bsearch(&person, pw->by_id, pw->flm->n, sizeof(*pw->by_id), id_ptr_cmp);
    return hit != NULL ? (size_t)(*hit - pw->flm->id[0]) / sizeof(pw->flm->id[0]) : pw->flm->n;
}

/*
 * Counts a cohort's members observed before it started and after its last
 * completion (the windows of its quality figures), so that each figure is
 * shown only when it rests on privacy_min people as computed, not on the
 * headcount enrolled. A member who is a front-line manager is looked up in
 * pw; anyone else's weeks are read into w.
 */
static int cohort_seen(const struct dash_ctx *c, const struct prog_weeks *pw,
                       const struct enrol_collect *ec, size_t ci, struct dash_mom_weeks *w,
                       unsigned *n_before, unsigned *n_after)
{
    const struct cohort *co = &ec->cohorts[ci];
    size_t off = (size_t)((pw->set.full_from - pw->set.from_monday) / 7);

    *n_before = 0;
    *n_after = 0;
    for (size_t j = ec->start[ci]; j < ec->start[ci + 1]; j++) {
        const struct member *mb = &ec->members[ec->order[j]];
        size_t at = prog_find(pw, mb->person);
        int before = 0, after = 0;

        if (at == pw->flm->n) {
            int rc = dash_mom_weeks_read(c, w, AGG_COACH, mb->person);

            if (rc != 0) {
                return rc;
            }
        }
        for (size_t k = 0; k < w->nweeks; k++) {
            int32_t monday = w->from_monday + 7 * (int32_t)k;
            int seen = at < pw->flm->n ? dash_mom_set_index(&pw->set, at, off + k)->n > 0
                                       : dash_mom_at(w, k, w->nb)->n > 0;

            if (co->start_day != 0 && monday < agg_week_of(co->start_day)) {
                before |= seen;
            } else if (co->last_completed != 0 && monday >= agg_week_of(co->last_completed)) {
                after |= seen;
            }
        }
        *n_before += (unsigned)before;
        *n_after += (unsigned)after;
    }
    return 0;
}

static int programme_attendance(struct dash *d, const struct dash_ctx *c,
                                const struct enrol_collect *ec, const struct prog_weeks *pw,
                                struct dash_mom_weeks *w)
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
        struct dash_mom before = {0, 0, 0};
        struct dash_mom after = {0, 0, 0};
        unsigned seen_before, seen_after;
        char scope[140];

        dash_cell_text(d, r, co->programme, NULL);
        dash_cell_text(d, r, co->cohort, NULL);
        dash_cell_count(d, r, co->enrolled);
        dash_cell_count(d, r, co->modules);
        dash_cell_count(d, r, co->completed);
        if (co->enrolled < c->opts->privacy_min) {
            for (int k = 0; k < 3; k++) {
                dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
            }
            continue;
        }
        rc = cohort_seen(c, pw, ec, i, w, &seen_before, &seen_after);
        if (rc != 0) {
            return rc;
        }
        snprintf(scope, sizeof(scope), "%s/%s", co->programme, co->cohort);
        rc = dash_mom_weeks_read(c, w, AGG_COHORT, scope);
        if (rc != 0) {
            return rc;
        }
        for (size_t k = 0; k < w->nweeks; k++) {
            int32_t monday = w->from_monday + 7 * (int32_t)k;
            const struct dash_mom *m = dash_mom_at(w, k, w->nb);

            if (co->start_day != 0 && monday < agg_week_of(co->start_day)) {
                dash_mom_add(&before, m);
            } else if (co->last_completed != 0 && monday >= agg_week_of(co->last_completed)) {
                dash_mom_add(&after, m);
            }
        }
        if (seen_before < c->opts->privacy_min && before.n > 0) {
            dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
        } else {
            dash_cell_num(d, r, dash_mom_mean(&before), dash_clamp_n(before.n), 2);
        }
        if (co->last_completed == 0) {
            dash_cell_text(d, r, "not completed", NULL);
            dash_cell_text(d, r, "", NULL);
            continue;
        }
        if (seen_after < c->opts->privacy_min && after.n > 0) {
            dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
        } else {
            dash_cell_num(d, r, dash_mom_mean(&after), dash_clamp_n(after.n), 2);
        }
        if ((seen_before < c->opts->privacy_min && before.n > 0) ||
            (seen_after < c->opts->privacy_min && after.n > 0)) {
            dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
        } else {
            dash_cell_num(d, r, dash_mom_mean(&after) - dash_mom_mean(&before),
                          dash_clamp_n(before.n < after.n ? before.n : after.n), 2);
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

/* The reps' own figures of Programme impact's quarters, from one pass over
 * the outcomes (rep_figs_read()), so that the reps of every manager are
 * looked up here rather than each read from the store per manager. subj
 * is in the outcomes' key order (an id's length, then its bytes), each
 * with its figures (fig[first..first + n)) in key order. */
struct rep_subject {
    char id[65];
    size_t len;
    size_t first, n;
};

struct rep_fig {
    uint8_t mi, k;
    double value;
};

struct rep_figs {
    int made; /* 1: every rep with a figure of the quarters is in subj */
    int64_t q0;
    size_t nq;
    struct rep_subject *subj;
    size_t nsubj, capsubj;
    struct rep_fig *fig;
    size_t nfig, capfig;
};

/* One manager's team results per metric and quarter: quarter figures, and
 * month figures averaged when a quarter has none. */
struct results {
    const struct rep_figs *figs; /* the reps' figures, or NULL: read them per rep */
    /* Who has figures of their own, or NULL (or not made): read every rep. */
    const struct dash_result_subjects *own;
    int64_t q0; /* first quarter held */
    size_t nq;
    /* The first day of quarter q0 + k, for k up to nq (results_init()):
     * worked out once rather than per figure and per rep. */
    int32_t first[PROG_QUARTERS + PROG_MAX_LAG + 1];
    int reps;      /* 1 while collecting the reps' own figures (team unset) */
    unsigned only; /* with reps: the quarter indexes collected (bit k) */
    double qsum[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
    unsigned qn[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
    double msum[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
    unsigned mn[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
    /* The reps' own figures, every month or quarter of theirs averaged. */
    double rsum[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
    unsigned rn[PROG_NMETRICS][PROG_QUARTERS + PROG_MAX_LAG];
};

/* Clears res for quarters q0 .. q0 + nq - 1 (nq <= PROG_QUARTERS +
 * PROG_MAX_LAG), with their first days. */
static void results_init(struct results *res, int64_t q0, size_t nq)
{
    memset(res, 0, sizeof(*res));
    res->q0 = q0;
    res->nq = nq;
    for (size_t k = 0; k <= nq; k++) {
        res->first[k] = quarter_first_day(q0 + (int64_t)k);
    }
}

/* The index in res of the quarter holding day, or -1 when it is none of
 * res's: quarter_of() compared with res's quarters, without working out
 * the day's date. */
static int results_quarter(const struct results *res, int32_t day)
{
    if (day < res->first[0] || day >= res->first[res->nq]) {
        return -1;
    }
    for (size_t k = 1; k < res->nq; k++) {
        if (day < res->first[k]) {
            return (int)k - 1;
        }
    }
    return (int)res->nq - 1;
}

/* The index of a figure's metric in prog_metrics, or PROG_NMETRICS. */
static size_t results_metric(const struct outcomes_fig *f)
{
    for (size_t mi = 0; mi < PROG_NMETRICS; mi++) {
        if (strlen(prog_metrics[mi]) == f->metric_len &&
            memcmp(f->metric, prog_metrics[mi], f->metric_len) == 0) {
            return mi;
        }
    }
    return PROG_NMETRICS;
}

/* Adds one figure to res. The key gives its team, period and metric, so
 * only its value is read from the stored bytes (outcomes_figures()): no
 * message is unpacked per figure. */
static int results_cb(const struct outcomes_fig *f, void *arg)
{
    struct results *res = arg;
    int q;
    size_t k;
    size_t mi;

    if ((f->team != 0) == (res->reps != 0) || !isfinite(f->value)) {
        return 0;
    }
    mi = results_metric(f);
    q = results_quarter(res, f->first_day);
    if (mi == PROG_NMETRICS || q < 0) {
        return 0;
    }
    k = (size_t)q;
    if (res->reps) {
        if ((res->only >> k) & 1u) {
            res->rsum[mi][k] += f->value;
            res->rn[mi][k]++;
        }
    } else if (f->quarter) {
        res->qsum[mi][k] += f->value;
        res->qn[mi][k]++;
    } else {
        res->msum[mi][k] += f->value;
        res->mn[mi][k]++;
    }
    return 0;
}

/* Keeps one rep's own figure of the quarters (outcomes_figures() of every
 * subject): what results_cb() would add for a rep, with its quarter. */
static int rep_figs_cb(const struct outcomes_fig *f, void *arg)
{
    struct rep_figs *rf = arg;
    struct rep_subject *last = rf->nsubj > 0 ? &rf->subj[rf->nsubj - 1] : NULL;
    size_t mi;
    int64_t q;
    int rc;

    /* Ids past 64 bytes are never a rep here (rep_collect_cb()). */
    if (f->team || !isfinite(f->value) || f->subject_len > 64) {
        return 0;
    }
    mi = results_metric(f);
    q = quarter_of(f->first_day);
    if (mi == PROG_NMETRICS || q < rf->q0 || q >= rf->q0 + (int64_t)rf->nq) {
        return 0;
    }
    if (last == NULL || last->len != f->subject_len ||
        memcmp(last->id, f->subject, f->subject_len) != 0) {
        rc = grow((void **)&rf->subj, &rf->capsubj, rf->nsubj, sizeof(*rf->subj), 64);
        if (rc < 0) {
            return rc;
        }
        last = &rf->subj[rf->nsubj++];
        memcpy(last->id, f->subject, f->subject_len);
        last->id[f->subject_len] = '\0';
        last->len = f->subject_len;
        last->first = rf->nfig;
        last->n = 0;
    }
    rc = grow((void **)&rf->fig, &rf->capfig, rf->nfig, sizeof(*rf->fig), 256);
    if (rc < 0) {
        return rc;
    }
    rf->fig[rf->nfig].mi = (uint8_t)mi;
    rf->fig[rf->nfig].k = (uint8_t)(q - rf->q0);
    rf->fig[rf->nfig].value = f->value;
    rf->nfig++;
    last->n++;
    return 0;
}

static void rep_figs_free(struct rep_figs *rf)
{
    free(rf->subj);
    free(rf->fig);
    memset(rf, 0, sizeof(*rf));
}

/* Reads every rep's own figures of quarters q0 .. q0 + nq - 1 in one pass,
 * when the store holds at most REP_FIGS_PER_MANAGER figures per manager of
 * the page: a pass over them costs less than a lookup of every manager's
 * reps and a read per rep, which the page would do otherwise (rf->made
 * stays 0 then, as it does when the figures do not fit or one of them
 * cannot be read). Returns 0 or outcomes_count()'s error. */
#define REP_FIGS_PER_MANAGER 64
static int rep_figs_read(const struct dash_ctx *c, size_t managers, int64_t q0, size_t nq,
                         struct rep_figs *rf)
{
    uint64_t n = 0;
    int rc;

    memset(rf, 0, sizeof(*rf));
    rf->q0 = q0;
    rf->nq = nq;
    rc = outcomes_count(c->t, &n);
    if (rc < 0 || n > (uint64_t)managers * REP_FIGS_PER_MANAGER || n > DASH_MAX_PEOPLE / 2) {
        return rc;
    }
    rc = outcomes_figures(c->t, NULL, quarter_first_day(q0),
                          quarter_first_day(q0 + (int64_t)nq) - 1, rep_figs_cb, rf);
    if (rc < 0) {
        /* Too many to hold, or a figure the pass could not read: read them
         * per rep instead. The pass reads every person's figures, the page
         * only its managers' reps', so a damaged figure of anyone else's
         * must not fail the page (the per-rep read fails only where it
         * did before the pass). */
        rep_figs_free(rf);
        rf->q0 = q0;
        rf->nq = nq;
        return 0;
    }
    rf->made = 1;
    return 0;
}

/* The subject rep (NUL-terminated) among rf's, or NULL. */
static const struct rep_subject *rep_figs_find(const struct rep_figs *rf, const char *rep)
{
    size_t len = strlen(rep);
    size_t lo = 0, hi = rf->nsubj;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct rep_subject *r = &rf->subj[mid];
        int cmp = r->len != len ? (r->len < len ? -1 : 1) : memcmp(r->id, rep, len);

        if (cmp == 0) {
            return r;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Adds rep's figures from res->figs to res as results_cb() would, in the
 * same order (the rep's keys'), so every sum is the same. */
static void rep_figs_add(struct results *res, const char *rep)
{
    const struct rep_subject *r = rep_figs_find(res->figs, rep);

    for (size_t j = 0; r != NULL && j < r->n; j++) {
        const struct rep_fig *f = &res->figs->fig[r->first + j];

        if ((res->only >> f->k) & 1u) {
            res->rsum[f->mi][f->k] += f->value;
            res->rn[f->mi][f->k]++;
        }
    }
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

static int own_cb(const char *subject, size_t len, void *arg)
{
    struct dash_result_subjects *subj = arg;

    if (len > 64) {
        return 0;
    }
    if (GROW_ARRAY(subj->id, subj->cap, subj->n + 1, 16) < 0) {
        return -ENOMEM;
    }
    memcpy(subj->id[subj->n], subject, len);
    subj->id[subj->n][len] = '\0';
    subj->n++;
    return 0;
}

/* Reads at most this many stored subjects per manager of the page: about
 * what reading a manager's reporting lines and reps one by one costs. */
#define OWN_SUBJECTS_PER_MANAGER 16

int dash_result_subjects_read(const struct dash_ctx *c, size_t managers,
                              struct dash_result_subjects *subj)
{
    int rc;

    memset(subj, 0, sizeof(*subj));
    rc = outcomes_own_subjects(c->t, managers * OWN_SUBJECTS_PER_MANAGER, own_cb, subj);
    if (rc != 0) {
        /* Too many subjects to be worth it: read every rep as before. */
        dash_result_subjects_free(subj);
        return rc > 0 ? 0 : rc;
    }
    subj->made = 1;
    return 0;
}

void dash_result_subjects_free(struct dash_result_subjects *subj)
{
    free(subj->id);
    memset(subj, 0, sizeof(*subj));
}

/* Whether rep (NUL-terminated) is among subj's, by bisection in their key
 * order (length, then bytes). */
static int own_has(const struct dash_result_subjects *subj, const char *rep)
{
    size_t len = strlen(rep);
    size_t lo = 0, hi = subj->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t mlen = strlen(subj->id[mid]);
        int cmp = mlen != len ? (mlen < len ? -1 : 1) : memcmp(subj->id[mid], rep, len);

        if (cmp == 0) {
            return 1;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

/* A rep of the manager at the end of quarter k (bit k of quarters). */
struct rep_quarter {
    char id[65];
    unsigned k;
};

struct rep_walk {
    struct rep_quarter *r;
    size_t n;
    size_t cap;
    unsigned k;
    unsigned ks[PROG_QUARTERS + PROG_MAX_LAG]; /* the quarter of each day read */
    size_t nks;
};

static int rep_collect_cb(const char *rep, void *arg)
{
    struct rep_walk *rw = arg;

    if (strlen(rep) > 64) {
        return 0;
    }
    if (rw->n == rw->cap) {
        size_t cap = rw->cap == 0 ? 32 : rw->cap * 2;
        struct rep_quarter *r;

        if (cap > DASH_MAX_PEOPLE) {
            return -E2BIG;
        }
        r = realloc(rw->r, cap * sizeof(*r));
        if (r == NULL) {
            return -ENOMEM;
        }
        rw->r = r;
        rw->cap = cap;
    }
    memcpy(rw->r[rw->n].id, rep, strlen(rep) + 1);
    rw->r[rw->n].k = rw->k;
    rw->n++;
    return 0;
}

/* A rep of the manager at the end of some of the quarters asked (rw->ks[j]
 * the quarter of day j): one pair per quarter, in quarter order. */
static int rep_quarters_cb(const char *rep, const uint8_t *on, void *arg)
{
    struct rep_walk *rw = arg;
    int rc = 0;

    for (size_t j = 0; j < rw->nks && rc == 0; j++) {
        if (on[j]) {
            rw->k = rw->ks[j];
            rc = rep_collect_cb(rep, rw);
        }
    }
    return rc;
}

static int rep_quarter_cmp(const void *a, const void *b)
{
    const struct rep_quarter *x = a;
    const struct rep_quarter *y = b;
    int c = strcmp(x->id, y->id);

    return c != 0 ? c : (x->k > y->k) - (x->k < y->k);
}

/*
 * Where a team has no figure of its own, its reps' figures stand in: the
 * reps who reported to manager at the end of each quarter, their months
 * and quarters of that quarter averaged. Each rep's results are read once
 * for every quarter they stand in for, in id order as before (so every sum
 * adds the same figures in the same order), rather than once per quarter;
 * the reps at the quarters' ends come from one read of the reporting lines
 * (people_reports_on()) rather than one per quarter.
 */
static int results_from_reps(const struct dash_ctx *c, const char *manager, struct results *res)
{
    struct rep_walk rw;
    int32_t days[PROG_QUARTERS + PROG_MAX_LAG];
    int32_t until = 0;
    int rc = 0;

    memset(&rw, 0, sizeof(rw));
    for (size_t k = 0; k < res->nq && rw.nks < sizeof(days) / sizeof(days[0]); k++) {
        int32_t from = res->first[k];
        int32_t last = res->first[k + 1] - 1;
        int lacks = 0;

        if (from > c->until_day) {
            break;
        }
        /* Only quarters where the team lacks a figure of its own. */
        for (size_t mi = 0; mi < PROG_NMETRICS; mi++) {
            lacks |= res->qn[mi][k] == 0 && res->mn[mi][k] == 0;
        }
        if (!lacks) {
            continue;
        }
        until = last;
        days[rw.nks] = last < c->until_day ? last : c->until_day;
        rw.ks[rw.nks++] = (unsigned)k;
    }
    /* With the reps' figures (or who has any) read for the page and none
     * there, no rep can stand in: the reporting lines need not be read. */
    if (rw.nks > 0 && (res->figs == NULL || res->figs->nsubj > 0) &&
        (res->own == NULL || !res->own->made || res->own->n > 0)) {
        rc = people_reports_on(c->t, manager, days, rw.nks, rep_quarters_cb, &rw);
    }
    if (rw.n > 1) {
        qsort(rw.r, rw.n, sizeof(*rw.r), rep_quarter_cmp);
    }
    res->reps = 1;
    for (size_t i = 0; i < rw.n && rc == 0;) {
        size_t j = i;

        res->only = 0;
        for (; j < rw.n && strcmp(rw.r[j].id, rw.r[i].id) == 0; j++) {
            res->only |= 1u << rw.r[j].k;
        }
        if (res->figs != NULL) {
            rep_figs_add(res, rw.r[i].id);
        } else if (res->own != NULL && res->own->made && !own_has(res->own, rw.r[i].id)) {
            /* No figure of their own in any period: nothing to read (nor
             * any damage among their keys found: see
             * dash_result_subjects_read()). */
        } else {
            rc = outcomes_figures(c->t, rw.r[i].id, res->first[0], until, results_cb, res);
        }
        i = j;
    }
    res->reps = 0;
    free(rw.r);
    return rc;
}

struct corr_acc {
    double n, sx, sy, sxx, syy, sxy;
    unsigned managers;
};

/* One row of the correlations: metric mi, lag quarters later. */
static void results_row(struct dash *d, const struct dash_ctx *c, Coachq__V1__Table *t,
                        Coachq__V1__Series *ser, const struct corr_acc *a, size_t mi, size_t lag)
{
    Coachq__V1__TableRow *r = dash_row(d, t);
    struct stats_corr cr;
    unsigned n = dash_clamp_n(a->n);

    dash_cell_text(d, r, prog_metrics[mi], NULL);
    dash_cell_text(d, r, dash_printf(d, "%zu", lag), NULL);
    if (n == 0 || a->managers < c->opts->privacy_min) {
        /* Nothing to correlate, or so few managers that r would describe
         * individuals. */
        for (int k = 0; k < 3; k++) {
            if (n == 0) {
                dash_cell_num(d, r, NAN, 0, 2);
            } else {
                dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
            }
        }
        dash_cell_count(d, r, a->managers);
        dash_series_add(d, ser, 0, 0, 0, 0);
        return;
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
    dash_series_add(d, ser, cr.r, n, cr.ci_defined ? cr.lo : NAN, cr.ci_defined ? cr.hi : NAN);
}

/* Adds one manager's pairs of (quality in quarter k, result lag quarters
 * later) to acc, from qual (quality per quarter from q0) and res. */
static void results_pairs(struct corr_acc acc[PROG_NMETRICS][PROG_MAX_LAG],
                          const struct dash_mom qual[PROG_QUARTERS], const struct results *res,
                          unsigned min_n)
{
    int used[PROG_NMETRICS][PROG_MAX_LAG];

    memset(used, 0, sizeof(used));
    for (size_t k = 0; k < PROG_QUARTERS; k++) {
        double x;

        if (qual[k].n < min_n) {
            continue; /* too few observations for a quarter's quality */
        }
        x = dash_mom_mean(&qual[k]);
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

/* Manager i's quality per quarter from q0 (from pw, whose long window
 * starts with q0's first week; week k of it counts in quarter index qk[k],
 * -1 for none) and team results (res is scratch), added to acc. Returns 0
 * or a negative code. */
static int results_manager(const struct dash_ctx *c, const struct prog_weeks *pw, size_t i,
                           int64_t q0, const int *qk, const struct rep_figs *figs,
                           struct results *res, struct corr_acc acc[PROG_NMETRICS][PROG_MAX_LAG])
{
    const struct dash_mom_set *set = &pw->set;
    const char *manager = pw->flm->id[i];
    struct dash_mom qual[PROG_QUARTERS];
    int rc;

    if (dash_mom_set_observations(set, i, 0, set->nweeks) == 0) {
        return 0;
    }
    /* Quality per quarter of the Monday of each week. */
    memset(qual, 0, sizeof(qual));
    for (size_t k = 0; k < set->nweeks; k++) {
        if (qk[k] >= 0) {
            dash_mom_add(&qual[qk[k]], dash_mom_set_index(set, i, k));
        }
    }
    results_init(res, q0, PROG_QUARTERS + 1);
    res->figs = figs->made ? figs : NULL;
    rc = outcomes_figures(c->t, manager, res->first[0], c->until_day, results_cb, res);
    if (rc == 0) {
        rc = results_from_reps(c, manager, res);
    }
    if (rc == 0) {
        results_pairs(acc, qual, res, c->opts->min_n);
    }
    return rc;
}

/* The correlations' table and chart. Returns 0 or -ENOMEM (d failed). */
static int results_table(struct dash *d, const struct dash_ctx *c,
                         struct corr_acc acc[PROG_NMETRICS][PROG_MAX_LAG])
{
    static const char *const cols[] = {"Metric",
                                       "Lag (quarters)",
                                       "r",
                                       "95% CI low, if independent",
                                       "95% CI high, if independent",
                                       "Managers"};
    Coachq__V1__Series *ser[PROG_MAX_LAG];
    Coachq__V1__Table *t;
    Coachq__V1__Chart *ch;

    t = dash_table(d, "results", "Quality against the team's results one and two quarters later",
                   cols, sizeof(cols) / sizeof(cols[0]));
    ch = dash_chart(d, "results-chart",
                    "Correlation of quality with later results (r; 95% CI as if manager-quarters "
                    "were independent)",
                    COACHQ__V1__CHART__KIND__KIND_BARS, "results");
    if (t == NULL || ch == NULL) {
        return dash_failed(d);
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
            results_row(d, c, t, ser[lag - 1], &acc[mi][lag - 1], mi, lag);
        }
    }
    return 0;
}

/* Quality against the team's results one and two quarters later. */
static int programme_results(struct dash *d, const struct dash_ctx *c, const struct prog_weeks *pw)
{
    struct corr_acc acc[PROG_NMETRICS][PROG_MAX_LAG];
    int64_t q0 = quarter_of(c->until_day) - PROG_QUARTERS;
    struct results *res = NULL;
    struct rep_figs figs;
    int *qk = NULL;
    int rc = 0;

    memset(acc, 0, sizeof(acc));
    res = calloc(1, sizeof(*res));
    qk = calloc(pw->set.nweeks + 1, sizeof(*qk));
    if (res == NULL || qk == NULL) {
        free(res);
        free(qk);
        return -ENOMEM;
    }
    /* The quarter of each week's Monday, the same for every manager:
     * worked out once rather than once per manager and week. */
    for (size_t k = 0; k < pw->set.nweeks; k++) {
        int64_t q = quarter_of(pw->set.from_monday + 7 * (int32_t)k);

        qk[k] = q >= q0 && q < q0 + PROG_QUARTERS ? (int)(q - q0) : -1;
    }
    rc = rep_figs_read(c, pw->flm->n, q0, PROG_QUARTERS + 1, &figs);
    for (size_t i = 0; i < pw->flm->n && rc == 0; i++) {
        rc = results_manager(c, pw, i, q0, qk, &figs, res, acc);
    }
    if (rc == 0) {
        rc = results_table(d, c, acc);
    }
    if (rc == 0) {
        rc = dash_failed(d);
    }
    rep_figs_free(&figs);
    free(res);
    free(qk);
    return rc;
}

int dash_programme(struct dash *d, const struct dash_ctx *c)
{
    struct dash_ids flm;
    struct enrol_collect ec;
    struct dash_mom_weeks w;
    struct prog_weeks pw;
    int32_t *cweek = NULL;
    int32_t *split = NULL;
    int32_t q_from = agg_week_of(quarter_first_day(quarter_of(c->until_day) - PROG_QUARTERS));
    int rc;

    memset(&flm, 0, sizeof(flm));
    memset(&ec, 0, sizeof(ec));
    memset(&w, 0, sizeof(w));
    memset(&pw, 0, sizeof(pw));
    pw.flm = &flm;
    ec.until_day = c->until_day;
    rc = dash_ids_with_role(c->t, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, &flm);
    if (rc == 0) {
        rc = people_enrolments(c->t, NULL, enrol_cb, &ec);
    }
    if (rc == 0) {
        rc = members_group(&ec);
    }
    if (rc != 0) {
        goto out;
    }
    completions_sort(&ec);
    rc = dash_mom_weeks_init(&w, c, dash_week(c, PROG_WEEKS - 1), PROG_WEEKS);
    if (rc != 0) {
        goto out;
    }
    /* The page's period starts with the earliest week any figure reads:
     * the 52 weeks of the impact, or the quarters of the correlation. */
    dash_msg(d)->from_day = q_from < w.from_monday ? q_from : w.from_monday;
    /* Every manager's weeks, once: the quarters' window and, inside it,
     * the impact's 52 weeks with every behaviour. */
    {
        int32_t from = q_from < w.from_monday ? q_from : w.from_monday;

        pw.by_id = calloc(flm.n + 1, sizeof(*pw.by_id));
        if (pw.by_id == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < flm.n; i++) {
            pw.by_id[i] = flm.id[i];
        }
        if (flm.n > 1) {
            qsort(pw.by_id, flm.n, sizeof(*pw.by_id), id_ptr_cmp);
        }
        /* The training weeks first: the same read gathers each manager's
         * mix before and from their training for the mix shift. */
        rc = programme_training_weeks(&ec, &flm, &cweek);
        if (rc == 0) {
            split = calloc(flm.n + 1, sizeof(*split));
            rc = split != NULL ? dash_mix_shift_splits(&flm, cweek, w.from_monday, split) : -ENOMEM;
        }
        if (rc == 0) {
            rc = dash_mom_set_mix(&pw.set, flm.n, split);
        }
        if (rc == 0) {
            rc = dash_mom_set_read(c, &pw.set, AGG_COACH, &flm, from,
                                   (size_t)((c->until_monday - from) / 7 + 1), w.from_monday,
                                   PROG_WEEKS);
        }
    }
    if (rc == 0) {
        rc = dash_did_impact(d, c, &flm, cweek, &pw.set);
    }
    if (rc == 0) {
        rc = programme_attendance(d, c, &ec, &pw, &w);
    }
    if (rc == 0) {
        rc = programme_results(d, c, &pw);
    }
    if (rc == 0) {
        rc = dash_mix_shift_read(d, c, &flm, cweek, w.from_monday, pw.set.mix);
    }
    if (rc == 0) {
        rc = dash_plans(d, c);
    }
out:
    free(cweek);
    free(split);
    free(pw.by_id);
    dash_mom_set_free(&pw.set);
    dash_mom_weeks_free(&w);
    dash_ids_free(&flm);
    enrol_free(&ec);
    return rc;
}

/* ---- Team results for the line dashboards (dash_mix.h) ----------------- */

int64_t dash_quarter_of(int32_t day)
{
    return quarter_of(day);
}

int32_t dash_quarter_first_day(int64_t q)
{
    return quarter_first_day(q);
}

const char *dash_result_metric(size_t mi)
{
    return mi < PROG_NMETRICS ? prog_metrics[mi] : NULL;
}

int dash_team_results(const struct dash_ctx *c, const struct dash_result_subjects *subj,
                      const char *manager, int64_t q0, size_t nq,
                      double value[][DASH_RESULT_MAX_QUARTERS],
                      unsigned n[][DASH_RESULT_MAX_QUARTERS])
{
    struct results *res;
    int rc;

    _Static_assert(DASH_RESULT_METRICS == PROG_NMETRICS, "one list of metrics");
    _Static_assert(DASH_RESULT_MAX_QUARTERS <= PROG_QUARTERS + PROG_MAX_LAG, "quarters fit");
    if (nq > DASH_RESULT_MAX_QUARTERS) {
        return -EINVAL;
    }
    res = calloc(1, sizeof(*res));
    if (res == NULL) {
        return -ENOMEM;
    }
    results_init(res, q0, nq);
    res->own = subj;
    rc = outcomes_figures(c->t, manager, res->first[0], c->until_day, results_cb, res);
    if (rc == 0) {
        rc = results_from_reps(c, manager, res);
    }
    for (size_t mi = 0; mi < PROG_NMETRICS && rc == 0; mi++) {
        for (size_t k = 0; k < nq; k++) {
            value[mi][k] = results_get(res, mi, k);
            n[mi][k] = res->qn[mi][k] > 0   ? res->qn[mi][k]
                       : res->mn[mi][k] > 0 ? res->mn[mi][k]
                                            : res->rn[mi][k];
        }
    }
    free(res);
    return rc;
}
