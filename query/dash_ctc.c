/*
 * Coaching the coach on the dashboards; see dash_ctc.h. The figures come
 * from the weekly aggregates (agg.h) of the second-level manager as the
 * coach of coaching-the-coach sessions, of their line (AGG_LINE) and of
 * each front-line manager as their line saw them (AGG_LINE_COACH), so a
 * manager who moved away is counted in a line only for the sessions they
 * had in it. The question "does a well-coached front-line manager coach
 * better later?" pairs each review with the change in the reviewed
 * manager's front-line quality index around it.
 */
#include "dash_ctc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "auth.h"
#include "dash.h"
#include "grow.h"
#include "obs.h"
#include "people.h"
#include "rubrics.h"
#include "stats.h"
#include "store.h"
#include "tz.h"
#include "zone.h"

/* Observations with a quality index: how many, the sum and squares. */
struct ctc_sum {
    double obs;
    double n;
    double sum;
    double sumsq;
};

static int sum_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    struct ctc_sum *s = arg;

    (void)monday;
    s->obs += (double)w->observations;
    s->n += (double)w->index_n;
    s->sum += w->index_sum;
    s->sumsq += w->index_sumsq;
    return 0;
}

/* The weeks [from, until] of (kind, id, rubric) summed into *out. */
static int ctc_read(const struct dash_ctx *c, enum agg_scope kind, const char *id,
                    const char *rubric, int32_t from, int32_t until, struct ctc_sum *out)
{
    memset(out, 0, sizeof(*out));
    if (until < from) {
        return 0;
    }
    return agg_read_head(c->t, kind, id, rubric, from, until, sum_cb, out);
}

static double ctc_mean(const struct ctc_sum *s)
{
    return s->n > 0 ? s->sum / s->n : NAN;
}

/* A quality index cell with its n (observations). */
static void ctc_cell(struct dash *d, Coachq__V1__TableRow *r, const struct ctc_sum *s)
{
    dash_cell_num(d, r, ctc_mean(s), dash_clamp_n(s->n), 2);
}

/* Which rubric scores the second-level managers' coaching, and which the
 * front-line managers' (dash_ctc.h). */
struct ctc_rubrics {
    const char *ctc;
    const char *front;
    const Coachq__V1__Rubric *ctc_rubric; /* NULL when no such rubric is loaded */
    Coachq__V1__Rubric *owned;
};

static int ctc_rubrics_get(const struct dash_ctx *c, struct ctc_rubrics *rs)
{
    int rc;

    memset(rs, 0, sizeof(*rs));
    if (c->rubric->coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER) {
        rs->ctc = c->rubric_id;
        rs->front = DASH_DEFAULT_RUBRIC;
        rs->ctc_rubric = c->rubric;
        return 0;
    }
    rs->ctc = DASH_CTC_RUBRIC;
    rs->front = c->rubric_id;
    rc = rubrics_get(c->t, DASH_CTC_RUBRIC, 0, &rs->owned);
    if (rc == -ENOENT) {
        return 0;
    }
    rs->ctc_rubric = rs->owned;
    return rc;
}

static void ctc_rubrics_free(struct ctc_rubrics *rs)
{
    coachq__v1__rubric__free_unpacked(rs->owned, NULL);
    rs->owned = NULL;
}

/* ---- One second-level manager's sessions --------------------------------- */

/* One counted coaching-the-coach session: whom it coached, its quality
 * index and the Monday of its week. */
struct ctc_session {
    char coachee[65];
    double q;
    int32_t day; /* the session's day, in the coach's zone */
    int32_t monday;
};

struct ctc_sessions {
    const struct dash_ctx *c;
    const char *rubric;
    int64_t from_s;
    struct ctc_session *s;
    size_t n;
    size_t cap;
    size_t seen;   /* records the walk handed over, of any rubric */
    int reached;   /* the walk reached a record older than from_s */
    int truncated; /* the walk stopped at its key cap before from_s */
};

/* The mean of an observation's scores (not-applicable ones left out), or
 * NAN when it has none: the quality index the aggregates sum. */
static double obs_index(const Coachq__V1__Observation *o)
{
    double sum = 0;
    size_t n = 0;

    for (size_t i = 0; i < o->n_ratings; i++) {
        if (!o->ratings[i]->not_applicable && o->ratings[i]->score >= 1) {
            sum += o->ratings[i]->score;
            n++;
        }
    }
    return n > 0 ? sum / (double)n : NAN;
}

/* A store_recent_cb: keeps the counted sessions of the rubric since from_s
 * (newest first, so the first older one ends the walk). */
static int sessions_cb(Coachq__V1__StoredObservation *rec, void *arg)
{
    struct ctc_sessions *ss = arg;
    const Coachq__V1__Observation *o = rec->observation;
    struct ctc_session *e;
    int32_t day;
    double q;
    int yes = 0;
    int rc = 0;

    ss->seen++;
    if (o != NULL && o->started_at < ss->from_s) {
        ss->reached = 1;
        rc = 1;
        goto out;
    }
    if (o == NULL || o->calibration_ref.len != 0 || o->rubric_id == NULL ||
        strcmp(o->rubric_id, ss->rubric) != 0) {
        goto out;
    }
    rc = agg_counts(ss->c->t, rec, &yes);
    if (rc != 0 || !yes) {
        goto out;
    }
    rc = zone_session_day(ss->c->t, o, &day);
    q = obs_index(o);
    if (rc != 0 || !isfinite(q)) {
        goto out;
    }
    rc = GROW_ARRAY(ss->s, ss->cap, ss->n + 1, 16);
    if (rc < 0) {
        goto out;
    }
    e = &ss->s[ss->n++];
    snprintf(e->coachee, sizeof(e->coachee), "%s", o->coachee_id != NULL ? o->coachee_id : "");
    e->q = q;
    e->day = day;
    e->monday = agg_week_of(day);
out:
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return rc;
}

/* The counted sessions of slm under rubric whose week lies in [from_monday,
 * c->until_monday], newest first, into *ss (free ss->s). */
static int ctc_sessions_read(const struct dash_ctx *c, const char *slm, const char *rubric,
                             int32_t from_monday, struct ctc_sessions *ss)
{
    const struct tz_zone *zone = NULL;
    int rc;

    memset(ss, 0, sizeof(*ss));
    ss->c = c;
    ss->rubric = rubric;
    /* The coach's local days, as their sessions' dates are (zone.h). */
    rc = zone_of_person(c->t, slm, &zone);
    if (rc != 0) {
        return rc;
    }
    ss->from_s = tz_day_start(zone, from_monday);
    rc = store_recent_txn(c->t, STORE_BY_COACH, slm, tz_day_start(zone, (int64_t)c->until_day + 1),
                          DASH_CTC_MAX_SESSIONS, sessions_cb, ss);
    /* The cap counts index keys, the sessions of every rubric: a walk that
     * used them all without reaching from_s may have left sessions out. */
    ss->truncated = rc == 0 && !ss->reached && ss->seen >= DASH_CTC_MAX_SESSIONS;
    return rc;
}

/* ---- Does a well-coached front-line manager coach better later? --------- */

/* Weekly sums of one scope, from from_monday on. */
struct week_sums {
    int32_t from;
    size_t n;
    struct ctc_sum *w;
};

static int weeks_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    struct week_sums *ws = arg;
    int32_t i = (monday - ws->from) / 7;

    if (i >= 0 && (size_t)i < ws->n) {
        sum_cb(monday, w, &ws->w[i]);
    }
    return 0;
}

/* One scope's weeks of the question's window, read once however many
 * reviews of its manager there are. */
struct ctc_cached {
    char id[132];
    struct week_sums ws; /* CTC_CACHE_WEEKS weeks from ctc_corr.from */
};

#define CTC_CACHE_WEEKS (DASH_CTC_QUESTION_WEEKS + DASH_CTC_LATER_WEEKS)

/* One review with both spans full: its manager, week, quality and the
 * change around it. */
struct ctc_review {
    char manager[65];
    int32_t monday;
    double q;
    double y;
};

struct ctc_corr {
    struct ctc_review *rv; /* the reviews with both spans full */
    size_t n_rv;
    size_t cap_rv;
    int32_t from; /* the Monday the cached weeks start on */
    struct ctc_cached *cache;
    size_t n_cache;
    size_t cap_cache;
};

static void corr_free(struct ctc_corr *a)
{
    for (size_t i = 0; i < a->n_cache; i++) {
        free(a->cache[i].ws.w);
    }
    free(a->cache);
    free(a->rv);
    memset(a, 0, sizeof(*a));
}

/* The cached weeks of (kind, id) under front, read on first use; NULL
 * with *rc set on failure. */
static const struct ctc_sum *corr_weeks(const struct dash_ctx *c, struct ctc_corr *a,
                                        enum agg_scope kind, const char *id, const char *front,
                                        int *rc)
{
    struct ctc_cached *e;
    struct ctc_sum *w;
    size_t lo = 0, hi = a->n_cache;

    *rc = 0;
    /* a->cache is kept sorted by id: a binary search, and a miss is
     * inserted where the search ended. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int k = strcmp(a->cache[mid].id, id);

        if (k == 0) {
            return a->cache[mid].ws.w;
        }
        if (k < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *rc = GROW_ARRAY(a->cache, a->cap_cache, a->n_cache + 1, 16);
    if (*rc < 0) {
        return NULL;
    }
    w = calloc(CTC_CACHE_WEEKS, sizeof(*w));
    if (w == NULL) {
        *rc = -ENOMEM;
        return NULL;
    }
    memmove(&a->cache[lo + 1], &a->cache[lo], (a->n_cache - lo) * sizeof(*a->cache));
    a->n_cache++;
    e = &a->cache[lo];
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->ws.from = a->from;
    e->ws.n = CTC_CACHE_WEEKS;
    e->ws.w = w;
    *rc = agg_read_head(c->t, kind, id, front, a->from, c->until_monday, weeks_cb, &e->ws);
    return *rc == 0 ? e->ws.w : NULL;
}

/* The sums of the weeks [from, until] of cached weeks w. */
static void corr_span(const struct ctc_corr *a, const struct ctc_sum *w, int32_t from,
                      int32_t until, struct ctc_sum *out)
{
    memset(out, 0, sizeof(*out));
    for (int32_t m = from; m <= until; m += 7) {
        int32_t i = (m - a->from) / 7;

        if (i >= 0 && i < (int32_t)CTC_CACHE_WEEKS) {
            out->n += w[i].n;
            out->sum += w[i].sum;
            out->obs += w[i].obs;
        }
    }
}

/*
 * Adds review s: its quality index, and the change in the coachee's
 * front-line quality index (scope kind, id) over the DASH_CTC_LATER_WEEKS
 * weeks after its week against as many before. Both spans need min_n
 * observations, and the later one must be over (it ends before the
 * unfinished week). Each scope's weeks are read once (a->cache).
 * corr_pairs() makes one pair per manager of the reviews kept.
 */
static int corr_add(const struct dash_ctx *c, struct ctc_corr *a, const struct ctc_session *s,
                    enum agg_scope kind, const char *id, const char *front)
{
    struct ctc_sum before, after;
    const struct ctc_sum *w;
    int32_t span = 7 * (int32_t)DASH_CTC_LATER_WEEKS;
    struct ctc_review *e;
    int rc;

    if (s->monday + span >= c->until_monday || s->monday - span < a->from) {
        return 0;
    }
    w = corr_weeks(c, a, kind, id, front, &rc);
    if (w == NULL) {
        return rc;
    }
    corr_span(a, w, s->monday - span, s->monday - 7, &before);
    corr_span(a, w, s->monday + 7, s->monday + span, &after);
    if (before.n < c->opts->min_n || after.n < c->opts->min_n) {
        return 0;
    }
    if (GROW_ARRAY(a->rv, a->cap_rv, a->n_rv + 1, 16) < 0) {
        return -ENOMEM;
    }
    e = &a->rv[a->n_rv++];
    snprintf(e->manager, sizeof(e->manager), "%s", s->coachee);
    e->monday = s->monday;
    e->q = s->q;
    e->y = ctc_mean(&after) - ctc_mean(&before);
    return 0;
}

/* By manager, then oldest first. */
static int review_cmp(const void *pa, const void *pb)
{
    const struct ctc_review *a = pa, *b = pb;
    int k = strcmp(a->manager, b->manager);

    if (k != 0) {
        return k;
    }
    return a->monday < b->monday ? -1 : a->monday > b->monday;
}

/* The correlation's sums, one pair per manager. */
struct corr_sums {
    double n, sx, sy, sxx, syy, sxy;
};

/*
 * Folds a's reviews into one pair per manager: x the mean quality of the
 * manager's reviews kept, y the change around their first. Successive
 * reviews of one manager share their spans, so counting each review as a
 * pair would count the same change again and narrow the interval.
 */
static void corr_pairs(struct ctc_corr *a, struct corr_sums *out)
{
    memset(out, 0, sizeof(*out));
    if (a->n_rv > 1) {
        qsort(a->rv, a->n_rv, sizeof(*a->rv), review_cmp);
    }
    for (size_t i = 0; i < a->n_rv;) {
        size_t j = i;
        double qs = 0.0, x, y = a->rv[i].y;

        while (j < a->n_rv && strcmp(a->rv[j].manager, a->rv[i].manager) == 0) {
            qs += a->rv[j].q;
            j++;
        }
        x = qs / (double)(j - i);
        out->n += 1;
        out->sx += x;
        out->sy += y;
        out->sxx += x * x;
        out->syy += y * y;
        out->sxy += x * y;
        i = j;
    }
}

/* The table "coaching-later": the question, r with its Fisher-z interval,
 * and the managers it rests on; n is the pairs (managers). Fewer than
 * privacy_min managers is a group too small: r would describe people. */
static void corr_table(struct dash *d, const struct dash_ctx *c, struct ctc_corr *a,
                       const char *scope)
{
    struct corr_sums sm;

    static const char *const cols[] = {"Question", "r", "95% low", "95% high", "Managers"};
    Coachq__V1__Table *t = dash_table(
        d, "coaching-later", "Does a well-coached front-line manager coach better later?", cols, 5);
    Coachq__V1__TableRow *r = dash_row(d, t);
    unsigned n;
    struct stats_corr cr;

    corr_pairs(a, &sm);
    n = dash_clamp_n(sm.n);

    if (t != NULL) {
        t->note = dash_printf(
            d,
            "Pearson's r, one pair per front-line manager reviewed: the mean quality index of "
            "the reviews they received (%s) and the change in their own quality index "
            "(front-line rubric) over the %u weeks after their first review against the %u "
            "weeks before, each span with at least %u observations and the later one over; "
            "reviews of the last %u weeks, %s. n is the managers; the interval is Fisher's z. "
            "A correlation, not a cause.",
            c->rubric->coach_role == COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER ? c->rubric_id
                                                                                 : DASH_CTC_RUBRIC,
            DASH_CTC_LATER_WEEKS, DASH_CTC_LATER_WEEKS, c->opts->min_n, DASH_CTC_QUESTION_WEEKS,
            scope);
    }
    dash_cell_text(d, r, "Review quality vs later change in own coaching quality", NULL);
    if (n == 0 || sm.n < c->opts->privacy_min) {
        for (int k = 0; k < 3; k++) {
            if (n == 0) {
                dash_cell_num(d, r, NAN, 0, 2);
            } else {
                dash_cell_text(d, r, DASH_SMALL_GROUP, NULL);
            }
        }
        dash_cell_count(d, r, (uint64_t)sm.n);
        return;
    }
    if (stats_corr_sums(n, sm.sx, sm.sy, sm.sxx, sm.syy, sm.sxy, &cr) != 0) {
        cr.r = NAN;
        cr.ci_defined = 0;
    }
    dash_cell_num(d, r, cr.r, n, 2);
    dash_cell_num(d, r, cr.ci_defined ? cr.lo : NAN, n, 2);
    dash_cell_num(d, r, cr.ci_defined ? cr.hi : NAN, n, 2);
    dash_cell_count(d, r, (uint64_t)sm.n);
}

/* ---- Coaching my managers ------------------------------------------------ */

/* Behaviour sums of the ctc rubric over the window. */
struct behaviour_sums {
    const Coachq__V1__Rubric *r;
    double count[64];
    double sum[64];
    double proficient[64];
};

static int behaviours_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    struct behaviour_sums *bs = arg;

    (void)monday;
    for (size_t b = 0; b < bs->r->n_behaviours && b < 64; b++) {
        const Coachq__V1__AggBehaviour *ab = dash_agg_behaviour(w, bs->r->behaviours[b]->id);

        if (ab != NULL) {
            bs->count[b] += (double)ab->count;
            bs->sum[b] += ab->sum;
            bs->proficient[b] += (double)ab->proficient;
        }
    }
    return 0;
}

/* Table and chart "coaching-trend": my coaching of my managers beside my
 * line's front-line quality, week by week. */
static int page_trend(struct dash *d, const struct dash_ctx *c, const struct ctc_rubrics *rs)
{
    static const char *const cols[] = {"Week", "My coaching of my managers",
                                       "My line's front-line coaching"};
    size_t nw = c->opts->trend_weeks;
    struct week_sums mine = {dash_week(c, (unsigned)nw - 1), nw, NULL};
    struct week_sums line = {mine.from, nw, NULL};
    struct ctc_sum tm, tl;
    Coachq__V1__Table *t;
    Coachq__V1__Chart *ch;
    Coachq__V1__Series *s_mine, *s_line;
    int rc = -ENOMEM;

    memset(&tm, 0, sizeof(tm));
    memset(&tl, 0, sizeof(tl));
    mine.w = calloc(nw, sizeof(*mine.w));
    line.w = calloc(nw, sizeof(*line.w));
    if (mine.w == NULL || line.w == NULL) {
        goto out;
    }
    rc = agg_read_head(c->t, AGG_COACH, c->subject, rs->ctc, mine.from, c->until_monday, weeks_cb,
                       &mine);
    if (rc == 0) {
        rc = agg_read_head(c->t, AGG_LINE, c->subject, rs->front, line.from, c->until_monday,
                           weeks_cb, &line);
    }
    if (rc != 0) {
        goto out;
    }
    t = dash_table(d, "coaching-trend", "My coaching of my managers, beside my line's", cols, 3);
    if (t != NULL) {
        t->note = dash_printf(d,
                              "Quality index (mean score 1-4) of your sessions coaching your "
                              "front-line managers (rubric %s), and of your line's front-line "
                              "managers coaching their reps (rubric %s, the line on each session "
                              "date). n is the observations.",
                              rs->ctc, rs->front);
    }
    ch = dash_chart(d, "coaching-trend", "Coaching my managers, and my line's coaching",
                    COACHQ__V1__CHART__KIND__KIND_LINES, "coaching-trend");
    s_mine = dash_series(d, ch, "My coaching of my managers", 1);
    s_line = dash_series(d, ch, "My line's front-line coaching", 1);
    for (size_t i = 0; i < nw; i++) {
        Coachq__V1__TableRow *r = dash_row(d, t);
        char day[16];
        double mean, lo, hi;

        dash_day_text(mine.from + 7 * (int32_t)i, day, sizeof(day));
        dash_cell_text(d, r, day, NULL);
        ctc_cell(d, r, &mine.w[i]);
        ctc_cell(d, r, &line.w[i]);
        dash_chart_x(d, ch, day);
        if (dash_page_mean_ci(d, (uint64_t)mine.w[i].n, mine.w[i].sum, mine.w[i].sumsq, &mean, &lo,
                              &hi) < 0) {
            mean = lo = hi = NAN;
        }
        dash_series_add(d, s_mine, mean, dash_clamp_n(mine.w[i].n), lo, hi);
        if (dash_page_mean_ci(d, (uint64_t)line.w[i].n, line.w[i].sum, line.w[i].sumsq, &mean, &lo,
                              &hi) < 0) {
            mean = lo = hi = NAN;
        }
        dash_series_add(d, s_line, mean, dash_clamp_n(line.w[i].n), lo, hi);
        tm.n += mine.w[i].n;
        tm.sum += mine.w[i].sum;
        tm.obs += mine.w[i].obs;
        tl.n += line.w[i].n;
        tl.sum += line.w[i].sum;
        tl.obs += line.w[i].obs;
    }
    {
        Coachq__V1__TableRow *r = dash_row(d, t);

        dash_cell_text(d, r, dash_printf(d, "All %zu weeks", nw), NULL);
        ctc_cell(d, r, &tm);
        ctc_cell(d, r, &tl);
    }
    rc = 0;
out:
    free(mine.w);
    free(line.w);
    return rc;
}

/* Table "coaching-behaviours": each behaviour of the coaching-the-coach
 * rubric over the window. */
static int page_behaviours(struct dash *d, const struct dash_ctx *c, const struct ctc_rubrics *rs)
{
    static const char *const cols[] = {"Behaviour", "Mean score", "Proficient (3-4)"};
    struct behaviour_sums *bs;
    Coachq__V1__Table *t;
    int rc;

    if (rs->ctc_rubric == NULL) {
        return 0;
    }
    bs = calloc(1, sizeof(*bs));
    if (bs == NULL) {
        return -ENOMEM;
    }
    bs->r = rs->ctc_rubric;
    rc = agg_read(c->t, AGG_COACH, c->subject, rs->ctc, dash_week(c, c->opts->trend_weeks - 1),
                  c->until_monday, behaviours_cb, bs);
    if (rc != 0) {
        goto out;
    }
    t = dash_table(d, "coaching-behaviours", "My coaching of my managers, behaviour by behaviour",
                   cols, 3);
    if (t != NULL) {
        t->note = dash_printf(d, "The %u weeks of the page; n is the scored ratings.",
                              c->opts->trend_weeks);
    }
    for (size_t b = 0; b < bs->r->n_behaviours && b < 64; b++) {
        Coachq__V1__TableRow *r = dash_row(d, t);
        unsigned n = dash_clamp_n(bs->count[b]);

        dash_cell_text(d, r, bs->r->behaviours[b]->name, NULL);
        dash_cell_num(d, r, n > 0 ? bs->sum[b] / bs->count[b] : NAN, n, 2);
        dash_cell_num(d, r, n > 0 ? bs->proficient[b] / bs->count[b] : NAN, n, 2);
    }
out:
    free(bs);
    return rc;
}

struct reports {
    struct dash_ids ids;
};

static int reports_cb(const char *id, void *arg)
{
    struct reports *rp = arg;

    return dash_ids_push(&rp->ids, id);
}

/*
 * Whether the viewer may see the row of manager, reviewed in the window
 * (from on) but no longer in the subject's line: the subject sees the
 * managers they reviewed, leads and administrators everyone, and a
 * manager above the subject today only a manager they were above on the
 * date of one of those reviews. Sets *yes; returns 0 or a negative code.
 */
static int left_visible(const struct dash_ctx *c, const struct ctc_sessions *ss,
                        const char *manager, int32_t from, int *yes)
{
    char chain[PEOPLE_MAX_CHAIN][65];

    *yes = (c->user->roles & (AUTH_LEAD | AUTH_ADMIN)) != 0 || strcmp(c->user->id, c->subject) == 0;
    for (size_t i = 0; i < ss->n && !*yes; i++) {
        size_t n = 0;
        int rc;

        if (ss->s[i].monday < from || strcmp(ss->s[i].coachee, manager) != 0) {
            continue;
        }
        rc = people_chain_at(c->t, manager, ss->s[i].day, chain, &n);
        if (rc != 0) {
            return rc;
        }
        for (size_t k = 0; k < n && !*yes; k++) {
            *yes = strcmp(chain[k], c->user->id) == 0;
        }
    }
    return 0;
}

/* Table "coaching-managers": the front-line managers in my line today and
 * those I reviewed in the window (a manager who left the line only for a
 * viewer who may see them: left_visible()): my reviews of them and their
 * own front-line quality as my line saw it. */
static int page_managers(struct dash *d, const struct dash_ctx *c, const struct ctc_rubrics *rs,
                         const struct ctc_sessions *ss)
{
    static const char *const cols[] = {"Manager", "My reviews", "Quality of my reviews",
                                       "Their front-line coaching"};
    int32_t from = dash_week(c, c->opts->trend_weeks - 1);
    struct reports rp;
    Coachq__V1__Table *t;
    int rc;

    memset(&rp, 0, sizeof(rp));
    rc = people_reports_at(c->t, c->subject, c->today, reports_cb, &rp);
    for (size_t i = 0; i < ss->n && rc == 0; i++) {
        int known = 0;

        if (ss->s[i].monday < from) {
            continue;
        }
        for (size_t k = 0; k < rp.ids.n && !known; k++) {
            known = strcmp(rp.ids.id[k], ss->s[i].coachee) == 0;
        }
        if (!known) {
            int yes = 0;

            rc = left_visible(c, ss, ss->s[i].coachee, from, &yes);
            if (rc == 0 && yes) {
                rc = dash_ids_push(&rp.ids, ss->s[i].coachee);
            }
        }
    }
    if (rc != 0) {
        goto out;
    }
    t = dash_table(d, "coaching-managers", "The managers I coach", cols, 4);
    if (t != NULL) {
        t->note = dash_printf(d,
                              "The %u weeks of the page: your reviews of each manager (rubric %s) "
                              "and the manager's own quality index coaching their reps (rubric "
                              "%s) while in your line.",
                              c->opts->trend_weeks, rs->ctc, rs->front);
    }
    for (size_t k = 0; k < rp.ids.n && rc == 0; k++) {
        Coachq__V1__TableRow *r = dash_row(d, t);
        struct ctc_sum mine, theirs;
        char *scope = dash_printf(d, "%s/%s", c->subject, rp.ids.id[k]);

        memset(&mine, 0, sizeof(mine));
        for (size_t i = 0; i < ss->n; i++) {
            if (ss->s[i].monday >= from && strcmp(ss->s[i].coachee, rp.ids.id[k]) == 0) {
                mine.n += 1;
                mine.sum += ss->s[i].q;
            }
        }
        rc = ctc_read(c, AGG_LINE_COACH, scope != NULL ? scope : "", rs->front, from,
                      c->until_monday, &theirs);
        dash_cell_text(d, r, dash_person_name(d, c->t, rp.ids.id[k]), rp.ids.id[k]);
        dash_cell_count(d, r, (uint64_t)mine.n);
        ctc_cell(d, r, &mine);
        ctc_cell(d, r, &theirs);
    }
out:
    dash_ids_free(&rp.ids);
    return rc;
}

int dash_coaching_managers(struct dash *d, const struct dash_ctx *c)
{
    struct ctc_rubrics rs;
    struct ctc_sessions ss;
    struct ctc_corr a;
    int rc;

    memset(&ss, 0, sizeof(ss));
    memset(&a, 0, sizeof(a));
    a.from = dash_week(c, CTC_CACHE_WEEKS - 1);
    rc = ctc_rubrics_get(c, &rs);
    if (rc == 0) {
        rc = page_trend(d, c, &rs);
    }
    if (rc == 0) {
        rc = page_behaviours(d, c, &rs);
    }
    if (rc == 0) {
        unsigned back = c->opts->trend_weeks > DASH_CTC_QUESTION_WEEKS ? c->opts->trend_weeks
                                                                       : DASH_CTC_QUESTION_WEEKS;

        rc = ctc_sessions_read(c, c->subject, rs.ctc, dash_week(c, back - 1), &ss);
    }
    if (rc == 0) {
        rc = page_managers(d, c, &rs, &ss);
    }
    /* The question over my own line: each manager's front-line quality as
     * my line saw it, so nothing of another line enters a figure. */
    for (size_t i = 0; i < ss.n && rc == 0; i++) {
        char *scope = dash_printf(d, "%s/%s", c->subject, ss.s[i].coachee);

        if (ss.s[i].monday >= dash_week(c, DASH_CTC_QUESTION_WEEKS - 1) && scope != NULL) {
            rc = corr_add(c, &a, &ss.s[i], AGG_LINE_COACH, scope, rs.front);
        }
    }
    if (rc == 0) {
        corr_table(d, c, &a, "your line");
    }
    if (rc == 0 && rs.ctc_rubric == NULL) {
        dash_note(d, "No rubric '%s' is loaded: 'coachqd init' loads the shipped rubrics.",
                  DASH_CTC_RUBRIC);
    }
    if (rc == 0 && ss.truncated) {
        dash_note(d,
                  "Only the newest %u sessions of this second-level manager (any rubric) are "
                  "read: older reviews are left out of these tables.",
                  DASH_CTC_MAX_SESSIONS);
    }
    corr_free(&a);
    free(ss.s);
    ctc_rubrics_free(&rs);
    return rc != 0 ? rc : dash_failed(d);
}

/* ---- Programme impact ---------------------------------------------------- */

int dash_ctc_programme(struct dash *d, const struct dash_ctx *c)
{
    static const char *const cols[] = {"Second-level manager", "Their coaching of their managers",
                                       "Their line's front-line coaching"};
    int32_t from = dash_week(c, c->opts->trend_weeks - 1);
    struct dash_ids slms;
    struct ctc_rubrics rs;
    struct ctc_corr a;
    Coachq__V1__Table *t;
    size_t truncated = 0;
    int rc;

    memset(&slms, 0, sizeof(slms));
    memset(&a, 0, sizeof(a));
    a.from = dash_week(c, CTC_CACHE_WEEKS - 1);
    rc = ctc_rubrics_get(c, &rs);
    if (rc == 0) {
        rc = dash_ids_with_role(c->t, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, &slms);
    }
    if (rc != 0) {
        goto out;
    }
    t = dash_table(d, "second-level-coaching",
                   "Second-level managers' coaching beside their lines' front-line coaching", cols,
                   3);
    if (t != NULL) {
        t->note = dash_printf(
            d,
            "The %u weeks of the page: each second-level manager's sessions coaching their "
            "front-line managers (rubric %s) and their line's front-line managers coaching "
            "reps (rubric %s, the line on each session date). n is the observations.",
            c->opts->trend_weeks, rs.ctc, rs.front);
    }
    for (size_t k = 0; k < slms.n && rc == 0; k++) {
        Coachq__V1__TableRow *r = dash_row(d, t);
        struct ctc_sum mine, line;
        struct ctc_sessions ss;

        rc = ctc_read(c, AGG_COACH, slms.id[k], rs.ctc, from, c->until_monday, &mine);
        if (rc == 0) {
            rc = ctc_read(c, AGG_LINE, slms.id[k], rs.front, from, c->until_monday, &line);
        }
        if (rc != 0) {
            break;
        }
        dash_cell_text(d, r, dash_person_name(d, c->t, slms.id[k]), NULL);
        ctc_cell(d, r, &mine);
        ctc_cell(d, r, &line);
        /* The question over the programme: each reviewed manager's own
         * front-line quality, whatever line they were in. */
        rc = ctc_sessions_read(c, slms.id[k], rs.ctc, dash_week(c, DASH_CTC_QUESTION_WEEKS - 1),
                               &ss);
        for (size_t i = 0; i < ss.n && rc == 0; i++) {
            rc = corr_add(c, &a, &ss.s[i], AGG_COACH, ss.s[i].coachee, rs.front);
        }
        truncated += ss.truncated != 0;
        free(ss.s);
    }
    if (rc == 0) {
        corr_table(d, c, &a, "the whole programme");
    }
    if (rc == 0 && truncated > 0) {
        dash_note(d,
                  "coaching-later reads only the newest %u sessions (any rubric) of each "
                  "second-level manager: %zu of them had more, whose older reviews are left out.",
                  DASH_CTC_MAX_SESSIONS, truncated);
    }
out:
    corr_free(&a);
    dash_ids_free(&slms);
    ctc_rubrics_free(&rs);
    return rc != 0 ? rc : dash_failed(d);
}
