/*
 * testutil_agg: what the suites of store/agg.c share (test_agg.c: the
 * values; test_agg_mix.c: the coaching mix and the observer-coach values;
 * test_agg_upgrade.c: verify, repair and the schema upgrades): an
 * observation with markers and an action, submitting it, reading a scope's
 * weeks back and checking their figures. Test helpers: a failure fails the
 * calling test through cmocka. Every function runs on the test's thread.
 */
#ifndef COACHQ_TESTUTIL_AGG_H
#define COACHQ_TESTUTIL_AGG_H

#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "store.h"
#include "testutil.h"

/* Wednesday 2025-03-05 10:00 UTC: day 20152, in the week of Monday 20150
 * (2025-W10). */
#define T0 1741168800LL
#define MON0 20150
#define WEEK_S (7 * 86400LL)
#define RUBRIC "coaching-conversation"
#define NA_INDEX 3 /* buyers-view may be rated not applicable */

/* Submits o (borrowed) as observer's and waits for its answer in *w (the
 * caller's); fails the test unless the store takes it. */
void submit_wait_one(struct store *s, const char *observer, const Coachq__V1__Observation *o,
                     struct store_write *w);

/* Stores o as observer; returns the request's rc. */
int submit(struct store *s, const char *observer, const Coachq__V1__Observation *o);

/* An observation with markers and an action on top of testutil's: scores
 * 2 (even index) and 3 (odd), buyers-view not applicable. */
struct tobs {
    struct testutil_obs t;
    Coachq__V1__Marker m[3];
    Coachq__V1__Marker *mp[3];
    Coachq__V1__Action a;
    Coachq__V1__Action *ap[1];
};

/* Fills x as coach's observation of coachee at the time at (seconds); the
 * strings are borrowed. */
void tobs_make(struct tobs *x, const char *coach, const char *coachee, int64_t at);

/* ---- Reading aggregates ---------------------------------------------- */

#define MAX_WEEKS 16

struct weeks {
    size_t n;
    int32_t monday[MAX_WEEKS];
    Coachq__V1__AggWeek w[MAX_WEEKS];
};

/* Frees what read_weeks() put in ws. */
void weeks_free(struct weeks *ws);

/* Reads the weeks from..until of (kind, scope) into *out (the caller frees
 * it with weeks_free()); fails the test on an error. */
void read_weeks(struct store *s, enum agg_scope kind, const char *scope, int32_t from,
                int32_t until, struct weeks *out);

/* An observer's AGG_OBSERVER_COACH values, with their coaches. */
struct coached {
    struct weeks ws;
    char coach[MAX_WEEKS][65];
};

/* Reader callback of agg_observer_coach_read(): adds the week to arg, a
 * struct coached. */
int coached_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w, void *arg);

/* Reads observer's AGG_OBSERVER_COACH weeks from..until into *out (the
 * caller frees out->ws with weeks_free()). */
void read_coached(struct store *s, const char *observer, int32_t from, int32_t until,
                  struct coached *out);

/* The one week of (kind, scope) at MON0 + 7 * week; fails unless there is
 * exactly that one in the 8 weeks from MON0. Caller frees ws. */
const Coachq__V1__AggWeek *one_week(struct store *s, enum agg_scope kind, const char *scope,
                                    int week, struct weeks *ws);

/* The behaviour id of w, or NULL when w has none (borrowed from w). */
const Coachq__V1__AggBehaviour *beh(const Coachq__V1__AggWeek *w, const char *id);

/* The count of markers of kind in w. */
uint64_t marker(const Coachq__V1__AggWeek *w, int kind);

/* The count of double-coded pairs in w scoring mine against peer. */
uint64_t pair(const Coachq__V1__AggWeek *w, int mine, int peer);

/* Fails unless a and b are equal to within rounding. */
void assert_near(double a, double b);

/* ---- Counting ---------------------------------------------------------- */

/* Fails unless w holds exactly the figures of one tobs_make() observation. */
void check_first_obs_week(const Coachq__V1__AggWeek *w);

/* ---- Amendments -------------------------------------------------------- */

/* The amended version: another coachee, all 3s, longer, a week later. */
void amended(struct tobs *x, const char *coachee);

struct diffs {
    int n;
    char first[400];
};

/* agg_verify()'s difference callback: counts into arg, a struct diffs, and
 * keeps the first. */
void diff_cb(const char *key, const char *what, void *arg);

/* Stores two observations of the seeded organisation f. */
void seed_two(struct testutil_seeded *f);

#endif
