/*
 * demo: a demo organisation seeded through the real code paths (see
 * demo.h).
 *
 * Nothing here writes around the rules: people, lines and enrolments go
 * through people.h inside store_exec(), references through certs.h, and
 * every calibration attempt and observation is packed and queued with
 * store_submit() like a client's submission, so the writer checks it
 * against the organisation as it stood on the session date. A refusal is a
 * bug in this generator, and is reported as one.
 *
 * Determinism: every random choice comes from a splitmix64 stream derived
 * from the seed and from what is being generated (one stream per manager's
 * sessions, one for the people, ...), so changing how one part draws does
 * not shift the others. Records are submitted in the order of their
 * received time, so sequence numbers, the audit log and the certifications
 * come out the same for the same seed and now.
 *
 * This file is the entry: demo_run() checks the store, plans the year in
 * memory, replays it into the store and sums it up. demo_int.h lists the
 * other files and what each plans or writes.
 */
#include "demo.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg.h"
#include "demo_int.h"
#include "error.h"

/* Writes day as YYYY-MM-DD into out (16 bytes). Returns out. */
const char *demo_day_str(int32_t day, char out[16])
{
    time_t t = (time_t)day * DEMO_DAY_S;
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, 16, "%Y-%m-%d", &tm) == 0) {
        snprintf(out, 16, "day %ld", (long)day);
    }
    return out;
}

/* One progress line (the newline is added). */
void demo_say(struct demo *d, const char *fmt, ...)
{
    va_list ap;

    if (d->progress == NULL) {
        return;
    }
    fputs("demo: ", d->progress);
    va_start(ap, fmt);
    vfprintf(d->progress, fmt, ap);
    va_end(ap);
    fputc('\n', d->progress);
    fflush(d->progress);
}

static void demo_fill_summary(const struct demo *d, struct demo_summary *out, unsigned certified)
{
    memset(out, 0, sizeof(*out));
    out->leads = DEMO_LEADS;
    out->observers = certified;
    out->second_level = DEMO_SLMS;
    out->front_line = DEMO_FLMS;
    out->reps = DEMO_REPS;
    out->people = DEMO_PEOPLE;
    out->observations = d->stored;
    out->calibrations = d->calibrations;
    out->cohorts = DEMO_COHORTS;
    out->refused = d->refused;
    out->outcomes = d->outcomes;
    out->held = d->held;
    out->ctc_reviews = d->ctc_reviews;
    out->slm_observed = d->slm_observed;
    out->recordings = d->recordings;
    out->recordings_rep_first = d->recordings_rep_first;
}

/* A new generator for s and o's seed and now (o->now == 0: the clock),
 * or NULL without memory. Free with demo_free(). */
static struct demo *demo_new(struct store *s, const struct demo_opts *o)
{
    struct demo *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        return NULL;
    }
    d->s = s;
    d->progress = o->progress;
    d->seed = o->seed;
    d->now = o->now != 0 ? o->now : (int64_t)time(NULL);
    d->now_ms = d->now * 1000;
    d->now_day = store_day_of(d->now);
    d->start_day = d->now_day - DEMO_WINDOW_DAYS;
    d->org_day = d->start_day - DEMO_ORG_DAYS_BEFORE;
    d->setup_ms =
        ((int64_t)(d->start_day - DEMO_SETUP_DAYS_BEFORE) * DEMO_DAY_S + 9 * DEMO_HOUR_S) * 1000;
    d->policy = *store_get_policy(s);
    return d;
}

static void demo_free(struct demo *d)
{
    if (d == NULL) {
        return;
    }
    for (size_t i = 0; i < d->n_batch; i++) {
        free(d->buf[i]);
    }
    for (int i = 0; i < DEMO_RUBRICS; i++) {
        coachq__v1__rubric__free_unpacked(d->rubric[i], NULL);
    }
    coachq__v1__rubric__free_unpacked(d->ctc_rubric, NULL);
    free(d->ctc);
    free(d->sess);
    free(d->rec);
    free(d);
}

/* Before anything is written: the store holds no people, the built-in
 * rubrics are there (read into d->rubric) and in effect early enough, and
 * the policy's certification period fits a year. Returns 0, -EEXIST,
 * -ENOENT, -EINVAL or a store code, said on d->progress. */
static int demo_preflight(struct demo *d)
{
    struct demo_check chk;
    char ds[16];
    char ds2[16];
    int32_t effective = 0;
    int rc;

    chk.d = d;
    rc = store_view(d->s, demo_check_txn, &chk);
    if (rc != 0) {
        demo_say(d, "reading the store failed: %s", error_strerror(rc));
        return rc;
    }
    if (chk.has_people) {
        demo_say(d, "the store already holds people: the demo seeds a new data directory only");
        return -EEXIST;
    }
    if (chk.missing) {
        demo_say(d, "rubric '%s' is not in the store: run 'coachqd init' first",
                 demo_rubric_ids[chk.missing - 1]);
        return -ENOENT;
    }
    for (int i = 0; i < DEMO_RUBRICS; i++) {
        if (d->rubric[i]->n_behaviours == 0) {
            demo_say(d, "rubric '%s' has no behaviours", d->rubric[i]->id);
            return -EINVAL;
        }
        effective =
            d->rubric[i]->effective_day > effective ? d->rubric[i]->effective_day : effective;
    }
    /* The reference recordings (a few weeks before the year) must be
     * scored against a version in effect. */
    if (d->start_day - DEMO_RECORDED_DAYS_BEFORE - 7 * DEMO_REFS < effective) {
        demo_say(d,
                 "the 12 months before %s start too soon after the rubrics took effect "
                 "(%s): the demo needs a later date",
                 demo_day_str(d->now_day, ds), demo_day_str(effective, ds2));
        return -EINVAL;
    }
    /* Observers recalibrate when a certification runs out within the
     * year. */
    d->rounds = d->policy.cert_days > 0 ? DEMO_WINDOW_DAYS / d->policy.cert_days + 1 : 0;
    if (d->rounds < 1 || d->rounds > DEMO_MAX_ROUNDS) {
        demo_say(d, "certifications that hold %d days would need %d calibration rounds in a year",
                 d->policy.cert_days, d->rounds);
        return -EINVAL;
    }
    return 0;
}

/* The whole year in memory, from the seed: people, managers, references,
 * the organisation's changes and the sessions. */
static int demo_plan(struct demo *d)
{
    int rc;

    demo_plan_people(d);
    demo_plan_managers(d);
    demo_plan_references(d);
    demo_plan_events(d);
    rc = demo_plan_sessions(d);
    if (rc != 0) {
        demo_say(d, "planning the sessions failed: %s", error_strerror(rc));
    }
    return rc;
}

/* Replays the planned year into the store: the organisation (then
 * *people_stored is 1), the references, the timeline of observations and
 * changes, the business results, and the dashboards' aggregates. */
static int demo_seed(struct demo *d, int *people_stored)
{
    char ds[16];
    int rc;

    rc = store_exec(d->s, demo_setup_txn, d);
    if (rc != 0) {
        demo_say(d, "storing the people failed: %s", error_strerror(rc));
        return rc;
    }
    *people_stored = 1;
    demo_say(d,
             "organisation: %d people (%d enablement lead, %d observers, %d second-level "
             "and %d front-line managers, %d reps), lines from %s",
             DEMO_PEOPLE, DEMO_LEADS, DEMO_OBSERVERS, DEMO_SLMS, DEMO_FLMS, DEMO_REPS,
             demo_day_str(d->org_day, ds));
    rc = demo_ctc_setup(d);
    if (rc != 0) {
        return rc;
    }
    rc = store_exec(d->s, demo_refs_txn, d);
    if (rc != 0) {
        demo_say(d, "storing the calibration references failed: %s", error_strerror(rc));
        return rc;
    }
    rc = demo_timeline(d);
    if (rc != 0) {
        return rc;
    }
    rc = demo_cal_finish(d);
    if (rc != 0) {
        return rc;
    }
    if (d->n_ctc > 0) {
        demo_say(d,
                 "coaching the coaches: %u second-level managers' reviews of their managers, %u "
                 "sessions observed by second-level managers in their own lines",
                 d->ctc_reviews, d->slm_observed);
    }
    if (d->recordings > 0) {
        demo_say(d,
                 "recorded calls: %u call reviews of a recording, the rep commenting first in %u",
                 d->recordings, d->recordings_rep_first);
    }
    if (d->refused > 0) {
        demo_say(d, "%u generated records were refused by the rules: a bug in the demo",
                 d->refused);
        return -EPROTO;
    }

    rc = store_exec(d->s, demo_outcomes_txn, d);
    if (rc != 0) {
        demo_say(d, "storing the business results failed: %s", error_strerror(rc));
        return rc;
    }
    demo_say(d, "business results: %u figures for the 12 months before %s", d->outcomes,
             demo_day_str(d->now_day, ds));
    rc = store_exec(d->s, demo_commitments_txn, d);
    if (rc != 0) {
        demo_say(d, "storing the coaching commitments failed: %s", error_strerror(rc));
        return rc;
    }
    rc = store_exec(d->s, demo_sessions_held_txn, d);
    if (rc != 0) {
        demo_say(d, "storing the sessions held failed: %s", error_strerror(rc));
        return rc;
    }
    demo_say(d, "sessions held: %u, one per manager, rep and day, at each manager's own cadence",
             d->held);
    rc = demo_assignments(d);
    if (rc != 0) {
        return rc;
    }

    /* The year was replayed in time order, so an enrolment came in at its
     * cohort's start, after the sessions before it: like a back-dated
     * import, that changes where those sessions count. */
    {
        struct agg_verify_result vr;

        rc = agg_verify(d->s, 1, NULL, NULL, &vr);
        if (rc != 0) {
            demo_say(d, "bringing the dashboards' aggregates up to date failed: %s",
                     error_strerror(rc));
            return rc;
        }
    }
    return 0;
}

int demo_run(struct store *s, const struct demo_opts *o, struct demo_summary *out)
{
    struct demo *d = NULL;
    struct demo_certs_check cc;
    struct timespec t0, t1;
    char ds[16];
    char ds2[16];
    int people_stored = 0;
    int rc = -EINVAL;

    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (s == NULL || o == NULL) {
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = -ENOMEM;
    d = demo_new(s, o);
    if (d == NULL) {
        goto out;
    }
    rc = demo_preflight(d);
    if (rc != 0) {
        goto out;
    }
    rc = demo_plan(d);
    if (rc != 0) {
        goto out;
    }
    rc = demo_seed(d, &people_stored);
    if (rc != 0) {
        goto out;
    }

    memset(&cc, 0, sizeof(cc));
    cc.d = d;
    cc.day = d->now_day;
    rc = store_view(s, demo_certs_txn, &cc);
    if (rc != 0) {
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    demo_say(d,
             "%d people, %u observers certified, %u observations stored (%u double-coded, "
             "%u calibration attempts) from %s to %s in %.1f s",
             DEMO_PEOPLE, cc.certified, d->stored, d->double_coded, d->calibrations,
             demo_day_str(d->start_day, ds), demo_day_str(d->now_day, ds2),
             (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    if (out != NULL) {
        demo_fill_summary(d, out, cc.certified);
    }
    rc = 0;
out:
    if (rc != 0 && d != NULL && out != NULL) {
        demo_fill_summary(d, out, 0);
        if (!people_stored) {
            out->people = out->leads = out->second_level = out->front_line = out->reps = 0;
            out->cohorts = 0;
        }
    }
    demo_free(d);
    return rc;
}
