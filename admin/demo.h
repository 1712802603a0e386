/*
 * demo: a realistic demo organisation, deterministic from a seed, seeded
 * through the same store functions as real data (people and lines, the
 * programme, certifications by calibration, observations through the
 * writer and its rules).
 *
 * The organisation: one enablement lead (also the administrator), six
 * observers, four second-level and 24 front-line managers, 150 reps, a few
 * transfers during the year, and a "coaching-skills" programme with three
 * cohorts. Observers certify by scoring calibration reference sessions at
 * the start of the 12 months that end at opts->now (and recalibrate when a
 * certification runs out before then); then a year of observations is
 * submitted in time order through store_submit(), so that every one of them
 * passes the organisation's rules exactly as a client's would.
 */
#ifndef COACHQ_DEMO_H
#define COACHQ_DEMO_H

#include <stdint.h>
#include <stdio.h>

struct store;

struct demo_opts {
    uint64_t seed;  /* same seed, same organisation and observations */
    int64_t now;    /* seconds; the last 12 months end here (0 = time(NULL)) */
    FILE *progress; /* progress lines, or NULL; borrowed for the call */
};

struct demo_summary {
    unsigned people, observers, second_level, front_line, reps, leads;
    unsigned observations, calibrations, cohorts;
    unsigned refused;              /* observations the rules refused: always 0 on success */
    unsigned outcomes;             /* business results (outcomes.h) stored */
    unsigned held;                 /* sessions held (cadence.h) stored */
    unsigned ctc_reviews;          /* second-level managers' reviews of their managers (in
                                      observations) */
    unsigned slm_observed;         /* sessions second-level managers observed in their lines */
    unsigned recordings;           /* call reviews of a recorded call (asynchronous review) */
    unsigned recordings_rep_first; /* of them, the rep commented before the manager */
};

/*
 * Seeds the organisation into s, an open store (borrowed for the call) into
 * which the built-in rubrics were loaded (`coachqd init`). Runs on the
 * calling thread, which must not be the writer's or a server's loop thread
 * (it waits for commits). out (may be NULL) is filled with what was stored,
 * also on failure.
 *
 * Returns 0; -EEXIST when the store already holds people (a demo or a real
 * organisation: nothing is written); -ENOENT when a built-in rubric is
 * missing; -EINVAL when now is too early for a year of sessions under the
 * rubrics' effective dates, or the policy's certification period is too
 * short; -EPROTO when the rules refused a generated observation or an
 * observer failed calibration (a bug in the generator); or a store code.
 * Every failure is explained in a line on opts->progress.
 */
int demo_run(struct store *s, const struct demo_opts *o, struct demo_summary *out);

#endif
