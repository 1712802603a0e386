/*
 * dash_observers: the enablement lead's "Observer reliability" dashboard
 * (dashboard 4): each observer's certification, calibration against the
 * reference sessions, agreement with the other observers on double-coded
 * observations, severity drift against the other observers of the same
 * managers, coverage, and calibration attempts that look like reading the
 * master scores off the results.
 *
 * The cost grows with observers x weeks x the managers each observer saw,
 * never with the number of observations: every figure comes from the
 * weekly aggregates, drift and coverage from the observer-week lists that
 * lay an observer's weeks out by manager (agg.h, AGG_OBSERVER_WEEK), one
 * range read of a value per week for each observer, and from the
 * coach-week values (AGG_COACH_WEEK), one range read of a value per week
 * and manager observed for every manager's window.
 */
#include "dash_observers.h"
#include "dash_plans.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "certs.h"
#include "dash_obs_expiry.h"
#include "dash_obs_history.h"
#include "store.h"
#include "stats.h"
#include "tz.h"
#include "zone.h"

/* Drift flagged from this many points of mean score on. */
#define OBS_DRIFT_FLAG 0.3
/* A kappa of 0/0, in words (stats.h). */
#define OBS_KAPPA_UNDEFINED "undefined: one category"

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
        cell->text = (char *)OBS_KAPPA_UNDEFINED;
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
    /* The ratings are summed over every behaviour: read them summed. */
    return agg_read_rated(c->t, dash_agg_kind(c, kind), id, c->rubric_id, from, c->until_monday,
                          obs_sum_cb, s);
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

/* A front-line manager's id and place in the page's list. */
struct flm_ref {
    const char *id;
    size_t i;
};

/* What every observer's row is measured against: the window, and each
 * front-line manager's window over all observers. */
struct obs_page {
    int32_t from; /* the Monday the window starts */
    struct dash_ids flm;
    int flm_borrowed;      /* flm is the caller's (dash_observers_row_from()) */
    struct obs_sum *coach; /* per manager in flm */
    struct flm_ref *by_id; /* flm in id order, for lookups */
    struct obs_sum *pair;  /* per manager in flm: the observer's window */
    uint8_t *seen;         /* per manager in flm: pair has a value */
    size_t *touched;       /* the managers of pair that the observer saw */
    size_t ntouched;
    int lazy;                  /* coach[] is read for the managers an observer saw only */
    dash_obs_window_fn window; /* when lazy: where coach[] comes from, NULL to read it */
    void *window_arg;
    int32_t at_monday; /* the week observer_coach_cb() is in */
    size_t at;         /* its place in by_id: the week's values come in id order */
    Coachq__V1__Table *t;
    Coachq__V1__Chart *ch;
    Coachq__V1__Series *s_drift;
};

/* One observer's figures. */
struct obs_row {
    struct cert_latest cl;
    struct calib_latest cal;
    struct certs_exam_summary ex;
    struct obs_sum mine;
    uint64_t assigned; /* observations in the window that fulfilled an assignment */
    uint64_t all;      /* observations in the window, assigned or not */
    double drift_num;  /* sum over managers of ratings x (mean - peers' mean) */
    double drift_n;    /* the observer's ratings compared */
    double peers_n;    /* the peers' ratings compared with */
    unsigned covered;  /* managers observed */
};

static int flm_cmp(const void *a, const void *b)
{
    return strcmp(((const struct flm_ref *)a)->id, ((const struct flm_ref *)b)->id);
}

/* The index in pg->flm of the manager id, or pg->flm.n, for the managers
 * of one read of an observer's lists or of the coach-week values, which
 * come by week and, within a week, in id order, each manager once (agg.h;
 * the ids' bytes compare as strcmp() compares them): a walk forward
 * through by_id from where the week's previous value was found, back to
 * the start at each new week, so that a value costs about one comparison
 * rather than a binary search's. A manager found is stepped past, since
 * the week's next value names a later one: at 1M, where every week lists
 * nearly every manager, that is one comparison a value instead of two. */
static size_t flm_next(struct obs_page *pg, int32_t monday, const char *id)
{
    int cmp = 1;

    if (monday != pg->at_monday) {
        pg->at_monday = monday;
        pg->at = 0;
    }
    while (pg->at < pg->flm.n && (cmp = strcmp(pg->by_id[pg->at].id, id)) < 0) {
        pg->at++;
    }
    if (pg->at < pg->flm.n && cmp == 0) {
        return pg->by_id[pg->at++].i;
    }
    return pg->flm.n;
}

/* One coach-week value: added to the window of its manager, when that is
 * a front-line manager. */
static int coach_week_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w, void *arg)
{
    struct obs_page *pg = arg;
    size_t m = flm_next(pg, monday, coach);

    return m == pg->flm.n ? 0 : obs_sum_cb(monday, w, &pg->coach[m]);
}

/* The front-line managers (the leads' page has listed them in pg->flm
 * already) and their windows, the table, chart and note; for one
 * observer's own page (single), the table "reliability" and no chart. */
static int observers_open(struct dash *d, const struct dash_ctx *c, struct obs_page *pg, int single)
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
    int rc;

    /* The leads' page lists the managers with the observers
     * (dash_observers()), as My reliability may (flm_borrowed). */
    rc = single && !pg->flm_borrowed
             ? dash_ids_with_role(c->t, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, &pg->flm)
             : 0;
    if (rc != 0) {
        return rc;
    }
    pg->coach = calloc(pg->flm.n + 1, sizeof(*pg->coach));
    pg->pair = calloc(pg->flm.n + 1, sizeof(*pg->pair));
    pg->by_id = calloc(pg->flm.n + 1, sizeof(*pg->by_id));
    pg->touched = calloc(pg->flm.n + 1, sizeof(*pg->touched));
    pg->seen = calloc(pg->flm.n + 1, sizeof(*pg->seen));
    if (pg->coach == NULL || pg->pair == NULL || pg->by_id == NULL || pg->touched == NULL ||
        pg->seen == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < pg->flm.n; i++) {
        pg->by_id[i].id = pg->flm.id[i];
        pg->by_id[i].i = i;
    }
    qsort(pg->by_id, pg->flm.n, sizeof(*pg->by_id), flm_cmp);
    /* One observer's own page needs the windows of the managers they saw
     * only (observer_drift()); the leads' page needs every one, for the
     * programme's coverage too. */
    pg->lazy = single;
    if (!single) {
        /* Every manager's window from one range read of the coach-week
         * values, a value per coach and week (agg.h, AGG_COACH_WEEK). */
        pg->at_monday = INT32_MIN;
        pg->at = 0;
        rc = agg_read_coaches(c->t, c->req != NULL && c->req->assigned_only, c->rubric_id, pg->from,
                              c->until_monday, coach_week_cb, pg);
        if (rc != 0) {
            return rc;
        }
    }
    pg->t = dash_table(d, single ? "reliability" : "observers",
                       single ? "My reliability" : "Observer reliability", cols,
                       sizeof(cols) / sizeof(cols[0]));
    if (!single) {
        pg->ch = dash_chart(d, "drift-chart",
                            "Severity drift: observer's mean minus peers' on the same managers",
                            COACHQ__V1__CHART__KIND__KIND_BARS, "observers");
        pg->s_drift = dash_series(d, pg->ch, "Severity drift", 0);
    }
    if (pg->t == NULL || (!single && pg->ch == NULL)) {
        return dash_failed(d);
    }
    if (pg->ch != NULL) {
        pg->ch->y_title = dash_strdup(d, "points on the 1-4 scale");
    }
    pg->t->note = dash_printf(
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
        "only, the pattern of reading master scores off the results. Certified says \"yes, ends "
        "in N days\" when the certification holding today, in the observer's zone, ends within "
        "30 days (a renewal that follows on without a gap counts as one).",
        c->opts->trend_weeks, OBS_DRIFT_FLAG, pg->flm.n);
    return 0;
}

/* The observer's observations in the window and those of them that
 * fulfilled an assignment (the table "observers-assigned"): AGG_OBSERVER
 * and its AGG_OBSERVER_ASG twin, whatever the page's filter. The main
 * loop read the one the filter picks (its o->mine, passed as mine); only
 * the other is read here. */
static int observer_assigned(const struct dash_ctx *c, const struct obs_page *pg, const char *oid,
                             uint64_t mine, struct obs_row *o)
{
    int filtered = c->req != NULL && c->req->assigned_only;
    struct obs_sum s;
    int rc;

    memset(&s, 0, sizeof(s));
    /* Only the observations are shown: no behaviours read. */
    rc = agg_read_head(c->t, filtered ? AGG_OBSERVER : AGG_OBSERVER_ASG, oid, c->rubric_id,
                       pg->from, c->until_monday, obs_sum_cb, &s);
    o->all = filtered ? s.observations : mine;
    o->assigned = filtered ? mine : s.observations;
    return rc;
}

/* The observer's certification, calibration, window and attempts. */
static int observer_read(const struct dash_ctx *c, const struct obs_page *pg, const char *oid,
                         struct obs_row *o)
{
    const struct tz_zone *zone = NULL;
    int64_t from_ms, until_ms;
    int rc;

    memset(o, 0, sizeof(*o));
    /* The page's days are the observer's local days, as the day their
     * calibration passed is (zone.h). */
    rc = zone_of_person(c->t, oid, &zone);
    if (rc != 0) {
        return rc;
    }
    from_ms = tz_day_start(zone, pg->from) * 1000;
    until_ms = tz_day_start(zone, (int64_t)c->until_day + 1) * 1000;
    o->cl.rubric = c->rubric_id;
    o->cl.day = c->until_day;
    o->cal.rubric = c->rubric_id;
    o->cal.until_ms = until_ms;
    rc = certs_list(c->t, oid, cert_cb, &o->cl);
    if (rc == 0) {
        rc = certs_results(c->t, oid, calib_cb, &o->cal);
    }
    if (rc == 0) {
        rc = obs_sum_read(c, AGG_OBSERVER, oid, pg->from, &o->mine);
    }
    if (rc == 0) {
        rc = certs_exam_summary(c->t, oid, from_ms, until_ms, store_txn_policy(c->t), &o->ex);
    }
    return rc;
}

/* One manager of an observer's week list (the observer's share on that
 * manager): added to the window of its manager, when that is a
 * front-line manager anybody observed in the window. */
static int observer_coach_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w,
                             void *arg)
{
    struct obs_page *pg = arg;
    size_t m = flm_next(pg, monday, coach);

    if (m == pg->flm.n || (!pg->lazy && pg->coach[m].observations == 0)) {
        return 0;
    }
    if (!pg->seen[m]) {
        pg->seen[m] = 1;
        pg->touched[pg->ntouched++] = m;
    }
    return obs_sum_cb(monday, w, &pg->pair[m]);
}

/* The window of manager m into pg->coach[m], for the lazy page. */
static int coach_window(const struct dash_ctx *c, struct obs_page *pg, size_t m)
{
    struct dash_obs_window w;
    int rc;

    if (pg->window == NULL) {
        return obs_sum_read(c, AGG_COACH, pg->flm.id[m], pg->from, &pg->coach[m]);
    }
    memset(&w, 0, sizeof(w));
    rc = pg->window(pg->flm.id[m], &w, pg->window_arg);
    memset(&pg->coach[m], 0, sizeof(pg->coach[m]));
    pg->coach[m].observations = w.observations;
    pg->coach[m].n = w.n;
    pg->coach[m].sum = w.sum;
    return rc;
}

/* Drift and coverage: the observer on each manager against that manager's
 * other observers (the coach total minus this observer's part), from one
 * read of the observer's window, summed over its weeks. The managers
 * are taken in the page's order, so that the sums are the same as a read
 * manager by manager. */
static int observer_drift(const struct dash_ctx *c, struct obs_page *pg, const char *oid,
                          struct obs_row *o)
{
    int rc;

    if (o->mine.observations == 0) {
        return 0;
    }
    pg->ntouched = 0;
    pg->at_monday = INT32_MIN;
    pg->at = 0;
    /* The window's figures per manager from two cumulative lists
     * (agg_read_window_of()), however many weeks the window and the
     * store hold. */
    rc = agg_read_window_of(c->t, c->req->assigned_only, oid, c->rubric_id, pg->from,
                            c->until_monday, observer_coach_cb, pg);
    /* In the page's order: the managers seen, by index (a walk of the
     * marks rather than a sort). */
    for (size_t m = 0, k = 0; rc == 0 && m < pg->flm.n && k < pg->ntouched; m++) {
        if (pg->seen[m]) {
            pg->touched[k++] = m;
        }
    }
    for (size_t i = 0; i < pg->ntouched; i++) {
        size_t m = pg->touched[i];
        struct obs_sum *pair = &pg->pair[m];
        double pn;
        double ps;

        /* Read now when observers_open() left it: a manager with no
         * observation in the window counts as the leads' page leaves
         * them out (observer_coach_cb()), not at all. */
        if (rc == 0 && pair->observations != 0 && pg->lazy) {
            rc = coach_window(c, pg, m);
        }
        if (rc == 0 && pair->observations != 0 && pg->coach[m].observations != 0) {
            o->covered++;
            pn = pg->coach[m].n - pair->n;
            ps = pg->coach[m].sum - pair->sum;
            if (pair->n > 0 && pn > 0) {
                o->drift_num += pair->n * (pair->sum / pair->n - ps / pn);
                o->drift_n += pair->n;
                o->peers_n += pn;
            }
        }
        memset(pair, 0, sizeof(*pair));
        pg->seen[m] = 0;
    }
    pg->ntouched = 0;
    return rc;
}

/* The agreement cells of the observer's double-coded pairs. */
static void observer_agreement(struct dash *d, Coachq__V1__TableRow *r, const struct obs_sum *mine)
{
    struct stats_agreement ag;
    double pairs_total = 0;

    for (int k = 0; k < 16; k++) {
        pairs_total += mine->pairs[k];
    }
    if (pairs_total > 0 && stats_agreement_table(mine->pairs, 4, &ag) == 0) {
        unsigned pn = dash_clamp_n(pairs_total);

        dash_cell_num(d, r, ag.exact, pn, 2);
        dash_cell_num(d, r, ag.within_one, pn, 2);
        kappa_cell(d, r, ag.kappa, !ag.kappa_defined, pn);
    } else {
        for (int k = 0; k < 3; k++) {
            dash_cell_num(d, r, NAN, 0, 2);
        }
    }
}

/* The observer's row and their bar of the drift chart. */
static void observer_cells(struct dash *d, const struct dash_ctx *c, const struct obs_page *pg,
                           const char *oid, const struct obs_row *o)
{
    Coachq__V1__TableRow *r = dash_row(d, pg->t);
    const struct obs_sum *mine = &o->mine;
    const char *name = dash_person_name(d, c->t, oid);
    Coachq__V1__Cell *cell;
    char until[16];
    unsigned dn;
    double drift;

    dash_cell_text(d, r, name, oid);
    dash_cell_text(d, r, o->cl.valid ? "yes" : o->cl.have ? "expired" : "never", NULL);
    dash_cell_text(d, r, o->cl.have ? dash_day_text(o->cl.until_day, until, sizeof(until)) : "",
                   NULL);
    if (o->cal.have) {
        dash_cell_num(d, r, o->cal.exact, o->cal.n, 2);
        dash_cell_num(d, r, o->cal.within_one, o->cal.n, 2);
        kappa_cell(d, r, o->cal.kappa, o->cal.kappa_undefined, o->cal.n);
    } else {
        for (int k = 0; k < 3; k++) {
            dash_cell_text(d, r, "none", NULL);
        }
    }
    dash_cell_count(d, r, mine->observations);
    dash_cell_num(d, r,
                  mine->observations > 0 ? (double)mine->double_coded / (double)mine->observations
                                         : NAN,
                  dash_clamp_n((double)mine->observations), 2);
    observer_agreement(d, r, mine);
    /* The drift's n is the observer's ratings compared; it needs as many
     * of the peers' too. */
    dn = dash_clamp_n(o->peers_n < o->drift_n ? o->peers_n : o->drift_n);
    drift = o->drift_n > 0 ? o->drift_num / o->drift_n : NAN;
    cell = dash_cell_num(d, r, drift, dn, 2);
    if (cell != NULL && cell->has_value && fabs(drift) >= OBS_DRIFT_FLAG) {
        cell->text = dash_printf(d, "%+.2f (flagged)", drift);
    }
    dash_cell_num(d, r, pg->flm.n > 0 ? (double)o->covered / (double)pg->flm.n : NAN,
                  dash_clamp_n((double)pg->flm.n), 2);
    dash_cell_count(d, r, o->ex.attempts);
    dash_cell_text(d, r, exam_flag(d, &o->ex), NULL);
    dash_chart_x(d, pg->ch, name);
    dash_series_add(d, pg->s_drift, drift, dn, NAN, NAN);
}

/* The table "observers-assigned": per observer, the observations in the
 * window and the share that fulfilled an assignment (a table of its own:
 * Observer reliability's main table has no room for another column). */
static int observers_assigned_table(struct dash *d, const struct dash_ctx *c,
                                    const struct obs_page *pg, const struct dash_ids *observers,
                                    const uint64_t *mine)
{
    static const char *const cols[] = {"Observer", "Observations", "Assigned", "Share"};
    Coachq__V1__Table *t = dash_table(d, "observers-assigned", "Assigned observations", cols,
                                      sizeof(cols) / sizeof(cols[0]));
    int rc = 0;

    if (t == NULL) {
        return dash_failed(d);
    }
    t->note = dash_printf(d,
                          "Window: the last %u weeks, every observation whatever the filter. "
                          "Assigned: the observer's observations that fulfilled an assignment "
                          "of the observation programme, the unbiased sample; Share: of all "
                          "their observations (n).",
                          c->opts->trend_weeks);
    for (size_t i = 0; i < observers->n && rc == 0; i++) {
        struct obs_row o;
        Coachq__V1__TableRow *r;

        memset(&o, 0, sizeof(o));
        rc = observer_assigned(c, pg, observers->id[i], mine[i], &o);
        if (rc != 0) {
            break;
        }
        r = dash_row(d, t);
        dash_cell_text(d, r, dash_person_name(d, c->t, observers->id[i]), observers->id[i]);
        dash_cell_count(d, r, o.all);
        dash_cell_count(d, r, o.assigned);
        dash_cell_num(d, r, o.all > 0 ? (double)o.assigned / (double)o.all : NAN,
                      dash_clamp_n((double)o.all), 2);
    }
    return rc != 0 ? rc : dash_failed(d);
}

int dash_observers(struct dash *d, const struct dash_ctx *c)
{
    struct dash_ids observers;
    struct obs_page pg;
    uint64_t *mine = NULL; /* each observer's o.mine.observations */
    size_t seen = 0;
    int rc;

    /* About one observer: their calibration history (dash_obs_history.h). */
    if (c->subject != NULL && c->subject[0] != '\0') {
        return dash_obs_history(d, c);
    }
    memset(&observers, 0, sizeof(observers));
    memset(&pg, 0, sizeof(pg));
    pg.from = dash_week(c, c->opts->trend_weeks - 1);
    rc = dash_ids_with_roles(c->t, COACHQ__V1__ROLE__ROLE_OBSERVER, &observers,
                             COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, &pg.flm);
    if (rc == 0) {
        rc = observers_open(d, c, &pg, 0);
    }
    if (rc == 0) {
        mine = calloc(observers.n + 1, sizeof(*mine));
        rc = mine == NULL ? -ENOMEM : 0;
    }
    for (size_t i = 0; i < observers.n && rc == 0; i++) {
        struct obs_row o;

        rc = observer_read(c, &pg, observers.id[i], &o);
        if (rc == 0) {
            mine[i] = o.mine.observations;
            rc = observer_drift(c, &pg, observers.id[i], &o);
        }
        if (rc == 0) {
            observer_cells(d, c, &pg, observers.id[i], &o);
            /* The Certified cell of the row just added. */
            rc = dash_obs_expiry(d, c, observers.id[i],
                                 pg.t != NULL && pg.t->n_rows > 0 ? pg.t->rows[pg.t->n_rows - 1]
                                                                  : NULL);
        }
    }
    if (rc != 0) {
        goto out;
    }
    if (observers.n == 0) {
        dash_note(d, "No observers are recorded.");
    }
    rc = observers_assigned_table(d, c, &pg, &observers, mine);
    if (rc != 0) {
        goto out;
    }
    /* The programme's own coverage: managers anybody observed. */
    for (size_t m = 0; m < pg.flm.n; m++) {
        seen += pg.coach[m].observations > 0;
    }
    dash_note(d,
              "Coverage of the programme: %zu of %zu front-line managers were observed "
              "in the window (%.0f%%).",
              seen, pg.flm.n, pg.flm.n > 0 ? 100.0 * (double)seen / (double)pg.flm.n : 0.0);
    rc = dash_plans(d, c);
    if (rc == 0) {
        rc = dash_failed(d);
    }
out:
    free(mine);
    free(pg.coach);
    free(pg.pair);
    free(pg.seen);
    free(pg.by_id);
    free(pg.touched);
    dash_ids_free(&observers);
    dash_ids_free(&pg.flm);
    return rc;
}

int dash_observers_row_from(struct dash *d, const struct dash_ctx *c, const char *oid,
                            const struct dash_ids *flm, dash_obs_window_fn window, void *arg,
                            Coachq__V1__Table **table)
{
    struct obs_page pg;
    struct obs_row o;
    int rc;

    memset(&pg, 0, sizeof(pg));
    *table = NULL;
    pg.window = window;
    pg.window_arg = arg;
    if (flm != NULL) {
        pg.flm = *flm;
        pg.flm_borrowed = 1;
    }
    pg.from = dash_week(c, c->opts->trend_weeks - 1);
    rc = observers_open(d, c, &pg, 1);
    if (rc == 0) {
        rc = observer_read(c, &pg, oid, &o);
    }
    if (rc == 0) {
        rc = observer_drift(c, &pg, oid, &o);
    }
    if (rc == 0) {
        observer_cells(d, c, &pg, oid, &o);
        rc = dash_obs_expiry(d, c, oid, pg.t != NULL && pg.t->n_rows > 0 ? pg.t->rows[0] : NULL);
    }
    if (rc == 0) {
        rc = dash_failed(d);
    }
    if (rc == 0) {
        *table = pg.t;
    }
    free(pg.coach);
    free(pg.pair);
    free(pg.seen);
    free(pg.by_id);
    free(pg.touched);
    if (!pg.flm_borrowed) {
        dash_ids_free(&pg.flm);
    }
    return rc;
}
