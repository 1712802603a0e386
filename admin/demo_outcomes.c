/*
 * demo_outcomes: the demo's business results (demo_int.h), stored as an
 * outcomes import would store them.
 */
#include "demo_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "outcomes.h"

/* The CRM's figures for the 12 whole months before the month of now:
 * per rep and month win_rate, pipeline_coverage, quota_attainment and
 * crm_completeness; per front-line manager and month sessions_held (the
 * coaching sessions they logged, observed or not); per manager and
 * quarter (whole quarters only) their team's mean win_rate and
 * quota_attainment. A team's results follow its manager's coaching quality
 * one to two quarters later (the mean of the quality 45, 90 and 135 days
 * before the month), plus each rep's own level and monthly noise, so that
 * the results partly follow quality, never fully. */
#define DEMO_OUT_MONTHS 12
#define DEMO_OUT_QUARTERS (DEMO_OUT_MONTHS / 3 + 1)

struct demo_month {
    int y, m;
    int32_t first, last;
};

/* The manager's coaching quality on day: the mean over the
 * coaching-conversation rubric's behaviours. */
static double demo_quality_mean(const struct demo *d, const struct demo_flm *f, int32_t day)
{
    size_t nb = d->rubric[DEMO_RUBRIC_CC]->n_behaviours;
    double sum = 0.0;

    if (nb > DEMO_MAX_BEH) {
        nb = DEMO_MAX_BEH;
    }
    for (size_t b = 0; b < nb; b++) {
        sum += demo_quality(d, f, DEMO_RUBRIC_CC, b, day);
    }
    return nb > 0 ? sum / (double)nb : 0.0;
}

/* How far above an average manager the team's results run in a month:
 * the quality of one to two quarters before, in deviations. */
static double demo_lagged(const struct demo *d, const struct demo_flm *f, int32_t mid)
{
    double q = (demo_quality_mean(d, f, mid - 45) + demo_quality_mean(d, f, mid - 90) +
                demo_quality_mean(d, f, mid - 135)) /
               3.0;

    return (q - 2.45) / 0.5;
}

static double demo_round(double v, double unit)
{
    double x = v / unit;

    /* Half away from zero, without libm. */
    x = x >= 0 ? (double)(int64_t)(x + 0.5) : -(double)(int64_t)(-x + 0.5);
    return x * unit;
}

static void demo_months(const struct demo *d, struct demo_month out[DEMO_OUT_MONTHS])
{
    time_t t = (time_t)d->now_day * DEMO_DAY_S;
    struct tm tm;
    int idx;

    gmtime_r(&t, &tm);
    idx = (tm.tm_year + 1900) * 12 + tm.tm_mon - DEMO_OUT_MONTHS;
    for (int i = 0; i < DEMO_OUT_MONTHS; i++, idx++) {
        char p[32];

        out[i].y = idx / 12;
        out[i].m = idx % 12 + 1;
        snprintf(p, sizeof(p), "%04d-%02d", out[i].y, out[i].m);
        if (outcomes_period_parse(p, &out[i].first, &out[i].last) != 0) {
            /* Before 1970: no such demo (demo_run() needs a later now). */
            out[i].first = out[i].last = 0;
        }
    }
}

static int demo_outcome_put(struct demo *d, struct store_txn *t, const char *subject, int team,
                            const char *period, const char *metric, double value)
{
    Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;
    int rc;

    o.subject_id = (char *)subject;
    o.team = team;
    o.period = (char *)period;
    o.metric = (char *)metric;
    o.value = value;
    o.imported_at_ms = d->now_ms;
    rc = outcomes_put(t, &o, NULL);
    if (rc == 0) {
        d->outcomes++;
    }
    return rc;
}

/* A team's monthly sums, for its quarterly figures. */
struct demo_team_sum {
    double win[DEMO_OUT_QUARTERS], quota[DEMO_OUT_QUARTERS];
    unsigned n[DEMO_OUT_QUARTERS];
};

int demo_outcomes_txn(struct store_txn *t, void *arg)
{
    static const char *const metrics[] = {"win_rate", "pipeline_coverage", "quota_attainment",
                                          "crm_completeness"};
    struct demo *d = arg;
    struct demo_month mo[DEMO_OUT_MONTHS];
    struct demo_team_sum *team = NULL;
    char period[32], detail[160];
    int q0, rc = 0;

    d->outcomes = 0;
    demo_months(d, mo);
    /* Quarter slots count from the first month's quarter. */
    q0 = mo[0].y * 4 + (mo[0].m - 1) / 3;
    team = calloc(DEMO_FLMS, sizeof(*team));
    if (team == NULL) {
        return -ENOMEM;
    }
    /* Each team's territory and market, which coaching does not change:
     * results follow quality only in part. */
    double territory[DEMO_FLMS];

    for (int fi = 0; fi < DEMO_FLMS; fi++) {
        struct demo_rng r;

        demo_fork(&r, d->seed, DEMO_S_OUTCOMES, (uint64_t)(DEMO_PEOPLE + DEMO_FLMS + fi));
        territory[fi] = demo_gauss(&r);
    }
    for (int i = DEMO_P_REP; i < DEMO_PEOPLE && rc == 0; i++) {
        struct demo_rng r;
        double level;

        demo_fork(&r, d->seed, DEMO_S_OUTCOMES, (uint64_t)i);
        level = demo_gauss(&r);
        for (int k = 0; k < DEMO_OUT_MONTHS && rc == 0; k++) {
            int32_t mid = mo[k].first + 14;
            int mgr = demo_manager_on(d, i, mid);
            int fi = mgr - DEMO_P_FLM;
            double z, v[4];
            int q;

            if (fi < 0 || fi >= DEMO_FLMS) {
                continue;
            }
            z = demo_lagged(d, &d->flm[fi], mid);
            /* The team's market counts about as much as the coaching. */
            z = 0.7 * z + 0.7 * territory[fi];
            v[0] = demo_clamp(0.24 + 0.05 * z + 0.04 * level + 0.05 * demo_gauss(&r), 0.02, 0.75);
            v[1] = demo_clamp(3.0 + 0.35 * z + 0.3 * level + 0.35 * demo_gauss(&r), 1.2, 5.5);
            v[2] = demo_clamp(0.86 + 0.12 * z + 0.1 * level + 0.15 * demo_gauss(&r), 0.1, 1.6);
            v[3] = demo_clamp(0.78 + 0.05 * z + 0.05 * level + 0.05 * demo_gauss(&r), 0.3, 1.0);
            snprintf(period, sizeof(period), "%04d-%02d", mo[k].y, mo[k].m);
            for (int mi = 0; mi < 4 && rc == 0; mi++) {
                rc = demo_outcome_put(d, t, d->people[i].id, 0, period, metrics[mi],
                                      demo_round(v[mi], mi == 1 ? 0.01 : 0.001));
            }
            q = mo[k].y * 4 + (mo[k].m - 1) / 3 - q0;
            team[fi].win[q] += v[0];
            team[fi].quota[q] += v[2];
            team[fi].n[q]++;
        }
    }
    for (int fi = 0; fi < DEMO_FLMS && rc == 0; fi++) {
        const struct demo_flm *f = &d->flm[fi];
        struct demo_rng r;

        demo_fork(&r, d->seed, DEMO_S_OUTCOMES, (uint64_t)(DEMO_PEOPLE + fi));
        for (int k = 0; k < DEMO_OUT_MONTHS && rc == 0; k++) {
            /* Logged sessions: about three times those observed, five times
             * for the busy managers, who log many. */
            double mean = f->rate * (f->busy ? 5.0 : 3.0);
            double held = demo_round(mean + 0.3 * mean * demo_gauss(&r), 1.0);

            snprintf(period, sizeof(period), "%04d-%02d", mo[k].y, mo[k].m);
            rc = demo_outcome_put(d, t, d->people[f->person].id, 0, period, "sessions_held",
                                  held < 0 ? 0 : held);
        }
        /* Whole quarters only: the first month of the window may be a
         * quarter's second or third. */
        for (int k = 0; k < DEMO_OUT_MONTHS && rc == 0; k++) {
            int q = mo[k].y * 4 + (mo[k].m - 1) / 3 - q0;

            if ((mo[k].m - 1) % 3 != 0 || k + 2 >= DEMO_OUT_MONTHS || team[fi].n[q] == 0) {
                continue;
            }
            snprintf(period, sizeof(period), "%04d-Q%d", mo[k].y, (mo[k].m - 1) / 3 + 1);
            rc = demo_outcome_put(d, t, d->people[f->person].id, 1, period, "win_rate",
                                  demo_round(team[fi].win[q] / team[fi].n[q], 0.001));
            if (rc == 0) {
                rc = demo_outcome_put(d, t, d->people[f->person].id, 1, period, "quota_attainment",
                                      demo_round(team[fi].quota[q] / team[fi].n[q], 0.001));
            }
        }
    }
    free(team);
    if (rc != 0) {
        return rc;
    }
    snprintf(detail, sizeof(detail), "%u outcomes: 12 months of rep results and manager inputs",
             d->outcomes);
    return demo_audit(t, d->now_ms, "import.outcomes", "demo", detail);
}
