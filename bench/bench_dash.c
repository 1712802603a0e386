/*
 * bench_dash: how the cost of a dashboard grows with the number of stored
 * observations (issue 4: it must not).
 *
 * Makes a bare store in a temporary directory with an organisation
 * (BENCH_SLMS second-level managers over BENCH_FLMS front-line managers,
 * BENCH_REPS reps each, BENCH_OBSERVERS observers certified for
 * coaching-conversation: the aggregates count only certified observers'
 * records; an enablement lead; a training programme whose BENCH_COHORTS
 * cohorts enrol most front-line managers, with attendance and completion;
 * and business results: sessions held per manager and month, the team's
 * win rate per quarter), loads observations through store_submit() in
 * chunks of BENCH_CHUNK queued at a time, spread over 52 weeks and every
 * manager, and times dash_build() of all five dashboards in read
 * transactions, first at 10,000 observations and then, after loading more
 * into the same store, at a tenth of --max and at --max (default
 * 1,000,000). Each load (to 10,000, then to a tenth of --max, then to
 * --max) arrives the way a real deployment's does, in the order the
 * sessions were held, and spreads its sessions evenly over the same 52
 * weeks, so the first 10,000 cover the same weeks as the million.
 *
 * Beside the dashboards it times three reads on their own (bench_views.c):
 * agg_read() of 20 managers' 12 weeks, cadence's coaching days of their
 * reps, and the action tables' reads (bench_act_txn(): the
 * follow-through counters, the open actions and focus progress), which
 * must stay flat while the action records grow with the observations.
 *
 * Prints mean, p50 and p99 per dashboard and size, the ratios of the
 * largest size to each smaller one, and one "summary:" line per dashboard.
 * Under each dashboard's times, the CPU time of the same builds and what
 * the build at the p99 did (CPU time, page faults, preemptions), which
 * tells work from waiting on a shared machine.
 * With --export it also writes what it loaded as CSV files, for a peer
 * store to load (bench/peers/dash.sh; see "Export" below).
 * Bounded: a fixed number of records and of timed builds (each dashboard
 * stops early after BENCH_MAX_SECONDS).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "auth.h"
#include "cadence.h"
#include "certs.h"
#include "coachq.pb-c.h"
#include "dash.h"
#include "day.h"
#include "error.h"
#include "obs.h"
#include "outcomes.h"
#include "people.h"
#include "rubric_json.h"
#include "rubrics.h"
#include "store.h"
#include "uuid.h"

#include "bench_dash.h"

static const char *const bench_behaviours[] = {
    "collaborative",      "regular-cadence",           "consistent-framework", "buyers-view",
    "looks-for-evidence", "elicits-critical-thinking", "praises-insight",      "objective-curious",
    "doesnt-take-over",   "documents-actions",
};
#define BENCH_NBEH (sizeof(bench_behaviours) / sizeof(bench_behaviours[0]))

/* The dashboards timed, in the order printed. */
static const struct bench_dash {
    Coachq__V1__DashboardKind kind;
    const char *name;
} bench_dashes[] = {
    {COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS, "My managers"},
    {COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER, "Manager detail"},
    {COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING, "My coaching"},
    {COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, "Programme impact"},
    {COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS, "Observer reliability"},
    {COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER, "My reliability"},
};
#define BENCH_NDASH (sizeof(bench_dashes) / sizeof(bench_dashes[0]))

/* Marks of the load's progress kept for its summary: one per chunk up to
 * the largest --max, and one per size. */
#define BENCH_MARKS 512

struct bench {
    char dir[512];
    int keep;
    unsigned runs;
    uint64_t max;
    struct store *s;
    uint32_t rubric_version;
    uint64_t loaded;
    /* The load under way: records [phase_start, phase_start + phase_n). */
    uint64_t phase_start;
    uint64_t phase_n;
    /* One chunk's requests and packed records. */
    struct store_write *w;
    uint8_t *slots;
    char observers[BENCH_OBSERVERS][16];
    /* --export: where the CSV files go (NULL: none); --weeks: the
     * dashboards' trend window (0: their default). */
    const char *export_dir;
    unsigned weeks;
    /* --digest: hash every build's message and print it per dashboard and
     * size, to compare two trees' output on the same data. */
    int digest;
    /* The whole load, for its summary against issue 13's targets: the
     * records loaded and the seconds spent loading (not timing) after each
     * chunk, and wchar when it began. */
    uint64_t mark_n[BENCH_MARKS];
    double mark_s[BENCH_MARKS];
    size_t marks;
    double load_clock;
    uint64_t wchar0;
};

struct timing {
    double mean_ms, p50_ms, p99_ms;
    /* The same builds' CPU time (this process), and what the build at the
     * wall-clock p99 did: its CPU time, page faults and the times it was
     * preempted. Wall time far above CPU time is time spent waiting for a
     * CPU or a page, not work. */
    double cpu_p50_ms, cpu_p99_ms;
    double p99_cpu_ms;
    long p99_faults, p99_preempted;
    double faults_mean;
    unsigned runs;
    size_t tables, cells;
    uint32_t max_n;
    uint64_t digest; /* --digest: every build's packed message, hashed */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- The organisation ---------------------------------------------------- */

static int bench_person(struct store_txn *t, const char *id, Coachq__V1__Role role, int has_role)
{
    Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
    Coachq__V1__Role roles[1];

    roles[0] = role;
    p.id = (char *)id;
    p.name = (char *)id;
    if (has_role) {
        p.roles = roles;
        p.n_roles = 1;
    }
    return people_put(t, &p, NULL);
}

/* How good flm.coach's coaching is, 0.2..0.8: the share of its scores that
 * are 3 rather than 2. Its team's results follow it a little. */
static double bench_skill(unsigned coach)
{
    return 0.2 + 0.6 * (double)(mix(coach) % 1000) / 1000.0;
}

/* The programme: cohort k of BENCH_COHORTS starts 10 weeks after cohort
 * k - 1 (the first 45 weeks before the year's end) and takes in
 * BENCH_COHORT_SIZE front-line managers; 6 weeks after its start, those who
 * attended every module have completed (a cohort whose end is still to
 * come has not). Enrolments go in before any observation: the cohort
 * aggregates are kept as observations are stored. */
static int bench_programme(struct store_txn *t)
{
    static const char *const modules[BENCH_MODULES] = {"foundations", "questioning",
                                                       "deal-coaching", "practice"};
    Coachq__V1__Programme p = COACHQ__V1__PROGRAMME__INIT;
    int32_t today = store_day_of(BENCH_NOW);
    int rc;

    p.id = (char *)BENCH_PROGRAMME;
    p.name = (char *)"Coaching foundations";
    rc = people_programme_put(t, &p, NULL);
    for (unsigned i = 0; i < BENCH_COHORTS * BENCH_COHORT_SIZE && rc == 0; i++) {
        Coachq__V1__Enrolment e = COACHQ__V1__ENROLMENT__INIT;
        Coachq__V1__Attendance a[BENCH_MODULES];
        Coachq__V1__Attendance *ap[BENCH_MODULES];
        unsigned k = i / BENCH_COHORT_SIZE;
        int32_t start = today - 45 * 7 + (int32_t)k * 70;
        /* Four in five attend everything; the others miss one or two. */
        unsigned attended =
            mix(i + 7) % 5 == 0 ? BENCH_MODULES - 1 - (unsigned)(mix(i) % 2) : BENCH_MODULES;
        char cohort[16], person[16];

        snprintf(cohort, sizeof(cohort), "c%u", k + 1);
        snprintf(person, sizeof(person), "flm.%03u", i);
        for (unsigned m = 0; m < BENCH_MODULES; m++) {
            Coachq__V1__Attendance init = COACHQ__V1__ATTENDANCE__INIT;

            a[m] = init;
            a[m].module = (char *)modules[m];
            a[m].day = start + 10 * (int32_t)m;
            ap[m] = &a[m];
        }
        e.programme_id = (char *)BENCH_PROGRAMME;
        e.cohort_id = cohort;
        e.cohort_start_day = start;
        e.person_id = person;
        /* Only the modules already held. */
        for (unsigned m = 0; m < attended && a[m].day <= today; m++) {
            e.n_attended = m + 1;
        }
        e.attended = e.n_attended > 0 ? ap : NULL;
        e.completed_day = attended == BENCH_MODULES && start + 42 <= today ? start + 42 : 0;
        rc = people_enrolment_put(t, &e, NULL);
    }
    return rc;
}

/* Business results: every front-line manager's sessions held per month
 * over the year (2025-05 to 2026-05) and their team's win rate per quarter
 * (2024-Q3 to 2026-Q2, so that quality can be set against results one and
 * two quarters later). */
static int bench_outcomes(struct store_txn *t)
{
    char id[16], period[16];
    int rc = 0;

    for (unsigned i = 0; i < BENCH_FLMS && rc == 0; i++) {
        Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;

        snprintf(id, sizeof(id), "flm.%03u", i);
        o.subject_id = id;
        o.team = 1;
        o.period = period;
        o.metric = (char *)"sessions_held";
        for (unsigned m = 0; m < 13 && rc == 0; m++) {
            unsigned month = 4 + m; /* months since 2025-01, from 0 */

            snprintf(period, sizeof(period), "%u-%02u", 2025 + month / 12, month % 12 + 1);
            o.value = (double)(4 + mix(i * 64 + m) % 9);
            rc = outcomes_put(t, &o, NULL);
        }
        o.metric = (char *)"win_rate";
        for (unsigned q = 0; q < 8 && rc == 0; q++) {
            unsigned quarter = 2 + q; /* quarters since 2024-Q1, from 0 */

            snprintf(period, sizeof(period), "%u-Q%u", 2024 + quarter / 4, quarter % 4 + 1);
            o.value =
                0.1 + 0.3 * bench_skill(i) + 0.1 * (double)(mix(i * 64 + 32 + q) % 1000) / 1000.0;
            rc = outcomes_put(t, &o, NULL);
        }
    }
    return rc;
}

static int bench_org_txn(struct store_txn *t, void *arg)
{
    struct bench *b = arg;
    int32_t since = store_day_of(BENCH_NOW - BENCH_WINDOW_S) - 60;
    char id[32], mgr[32];
    char err[256];
    int rc = 0;

    for (size_t i = 0; i < rubric_json_builtin_count() && rc == 0; i++) {
        const char *text = rubric_json_builtin(i, NULL);
        Coachq__V1__Rubric *r = NULL;

        if (text == NULL) {
            return -ENOENT;
        }
        rc = rubric_json_parse(text, strlen(text), &r, err, sizeof(err));
        if (rc == 0) {
            if (strcmp(r->id, BENCH_RUBRIC) == 0) {
                b->rubric_version = r->version > b->rubric_version ? r->version : b->rubric_version;
            }
            rc = rubrics_put(t, r, NULL);
        }
        coachq__v1__rubric__free_unpacked(r, NULL);
    }
    for (int i = 0; i < BENCH_SLMS && rc == 0; i++) {
        snprintf(id, sizeof(id), "slm.%02d", i);
        rc = bench_person(t, id, COACHQ__V1__ROLE__ROLE_SECOND_LEVEL_MANAGER, 1);
    }
    for (int i = 0; i < BENCH_FLMS && rc == 0; i++) {
        snprintf(id, sizeof(id), "flm.%03d", i);
        snprintf(mgr, sizeof(mgr), "slm.%02d", i % BENCH_SLMS);
        rc = bench_person(t, id, COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, 1);
        if (rc == 0) {
            rc = people_line_put(t, id, mgr, since, NULL);
        }
        for (int k = 0; k < BENCH_REPS && rc == 0; k++) {
            char rep[32];

            snprintf(rep, sizeof(rep), "rep.%03d.%d", i, k);
            rc = bench_person(t, rep, COACHQ__V1__ROLE__ROLE_UNSPECIFIED, 0);
            if (rc == 0) {
                rc = people_line_put(t, rep, id, since, NULL);
            }
        }
    }
    if (rc == 0) {
        rc = bench_person(t, BENCH_LEAD, COACHQ__V1__ROLE__ROLE_ENABLEMENT_LEAD, 1);
    }
    if (rc == 0) {
        rc = bench_programme(t);
    }
    if (rc == 0) {
        rc = bench_outcomes(t);
    }
    for (int i = 0; i < BENCH_OBSERVERS && rc == 0; i++) {
        Coachq__V1__Certification c = COACHQ__V1__CERTIFICATION__INIT;

        rc = bench_person(t, b->observers[i], COACHQ__V1__ROLE__ROLE_OBSERVER, 1);
        c.observer_id = b->observers[i];
        c.rubric_id = (char *)BENCH_RUBRIC;
        c.valid_from_day = since;
        c.valid_until_day = since + 3650;
        c.granted_by = (char *)"bench";
        if (rc == 0) {
            rc = certs_put(t, &c);
        }
    }
    return rc;
}

/* ---- Loading ------------------------------------------------------------- */

/* The load's clock: record i is made i ms after the window's start. The
 * session times are not used, since they start the window again with each
 * part of a load (bench_load()). */
static uint64_t bench_clock_ms(uint64_t i)
{
    return (uint64_t)(BENCH_NOW - BENCH_WINDOW_S) * 1000 + i;
}

/* A version-7 UUID made at ms with the random bits r (a client's ids,
 * proto/uuid.h): the time first, so ids made later sort later. */
static void bench_uuid7(uint64_t ms, uint64_t r, uint8_t id[16])
{
    uint64_t g = mix(r);

    for (int k = 0; k < 6; k++) {
        id[k] = (uint8_t)(ms >> (40 - 8 * k));
    }
    for (int k = 6; k < 16; k++) {
        id[k] = (uint8_t)((k < 8 ? g : r) >> (8 * (k % 8)));
    }
    id[6] = (uint8_t)((id[6] & 0x0f) | 0x70);
    id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

/* Record i's 16-byte id, made as the client makes one (a UUIDv7 at the
 * load's clock), so ids sort in the order records arrive, as a live
 * store's mostly do. */
static void bench_id(uint64_t i, uint8_t id[16])
{
    bench_uuid7(bench_clock_ms(i), mix(i ^ 0x5bd1e995ULL), id);
}

/* The id of the action record i agrees: a UUIDv7 as the client makes one
 * when an action is agreed (client/session_actions.c), at the load's
 * clock like the record's own; the rest follows from i, so the pair's
 * next session can name it in a follow-up. */
static void bench_action_id(uint64_t i, uint8_t id[16])
{
    bench_uuid7(bench_clock_ms(i), mix(i ^ 0x9e3779b97f4a7c15ULL), id);
}

/* Packs record i into slot. Everything about it follows from i: coach and
 * rep (round robin over every manager), observer, a session time spread
 * evenly over the year, scores that differ by manager and drift over the
 * year. */
static size_t bench_pack(const struct bench *b, uint64_t i, uint8_t *slot)
{
    /* Every session agrees one action (with an id, as the client sends
     * it) and follows up the one agreed in the pair's session before, so
     * the action records grow with the observations while the dashboards'
     * action tables must not. */
    Coachq__V1__Action act = COACHQ__V1__ACTION__INIT;
    Coachq__V1__Action *actp = &act;
    Coachq__V1__FollowUp fu = COACHQ__V1__FOLLOW_UP__INIT;
    Coachq__V1__FollowUp *fup = &fu;
    uint8_t action_id[16], prev_action[16];
    Coachq__V1__Observation o = COACHQ__V1__OBSERVATION__INIT;
    Coachq__V1__Rating r[BENCH_NBEH];
    Coachq__V1__Rating *rp[BENCH_NBEH];
    uint64_t h = mix(i ^ 0x5bd1e995ULL);
    unsigned coach = (unsigned)(i % BENCH_FLMS);
    unsigned rep = (unsigned)((i / BENCH_FLMS) % BENCH_REPS);
    /* Its place in the load: sessions in the order they were held, evenly
     * over the window, with the minute varied. */
    uint64_t pos = i - b->phase_start;
    int64_t off = (int64_t)((double)pos / (double)(b->phase_n != 0 ? b->phase_n : 1) *
                            (double)(BENCH_WINDOW_S / 3600)) *
                      3600 +
                  (int64_t)(mix(i) % 60) * 60;
    double p = bench_skill(coach);
    char coach_id[16], rep_id[16];
    uint8_t id[16];
    size_t n;

    snprintf(coach_id, sizeof(coach_id), "flm.%03u", coach);
    snprintf(rep_id, sizeof(rep_id), "rep.%03u.%u", coach, rep);
    bench_id(i, id);
    for (size_t k = 0; k < BENCH_NBEH; k++) {
        Coachq__V1__Rating init = COACHQ__V1__RATING__INIT;

        r[k] = init;
        r[k].behaviour_id = (char *)bench_behaviours[k];
        /* Scores 2 and 3 need no evidence. */
        r[k].score = (double)(mix(h + k) % 1000) / 1000.0 < p ? 3 : 2;
        rp[k] = &r[k];
    }
    o.id.data = id;
    o.id.len = sizeof(id);
    o.rubric_id = (char *)BENCH_RUBRIC;
    o.rubric_version = b->rubric_version;
    o.coach_id = coach_id;
    o.coachee_id = rep_id;
    /* Every session type and focus, so that the coaching mix's tables
     * have every column to fill (issue 14). */
    o.session_type = (Coachq__V1__SessionType)(1 + mix(h + 101) % 6);
    o.focus = (Coachq__V1__CoachingFocus)(1 + mix(h + 103) % 3);
    o.started_at = BENCH_NOW - BENCH_WINDOW_S + off;
    o.duration_s = 1800;
    o.ratings = rp;
    o.n_ratings = BENCH_NBEH;
    bench_action_id(i, action_id);
    act.id.data = action_id;
    act.id.len = sizeof(action_id);
    act.text = (char *)"Practise the discovery opener on two calls";
    o.actions = &actp;
    o.n_actions = 1;
    if (i >= (uint64_t)BENCH_FLMS * BENCH_REPS) {
        bench_action_id(i - (uint64_t)BENCH_FLMS * BENCH_REPS, prev_action);
        fu.action_id.data = prev_action;
        fu.action_id.len = sizeof(prev_action);
        fu.status = h % 3 == 0   ? COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE
                    : h % 3 == 1 ? COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE
                                 : COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE;
        o.follow_ups = &fup;
        o.n_follow_ups = 1;
    }
    n = coachq__v1__observation__get_packed_size(&o);
    if (n > BENCH_SLOT) {
        return 0;
    }
    return coachq__v1__observation__pack(&o, slot);
}

/* Loads records until b->loaded reaches target, BENCH_CHUNK queued at a
 * time, each chunk drained before the next. Prints the load's rate, its
 * CPU time per record and the bytes written per record. */
static int bench_load(struct bench *b, uint64_t target)
{
    double t0 = now_s(), last = t0;
    double cpu0 = bench_cpu_us();
    uint64_t wc0, wb0, wc1, wb1;
    uint64_t start = b->loaded;

    bench_written_bytes(&wc0, &wb0);
    if (start == 0) {
        b->wchar0 = wc0;
        b->marks = 1; /* mark 0: nothing loaded at 0 s */
    }
    b->phase_start = start;
    b->phase_n = target > start ? target - start : 0;

    while (b->loaded < target) {
        size_t n = target - b->loaded > BENCH_CHUNK ? BENCH_CHUNK : (size_t)(target - b->loaded);
        struct store_write *done;
        size_t stored = 0, bad = 0;
        int first_rc = 0;

        for (size_t k = 0; k < n; k++) {
            uint64_t i = b->loaded + k;
            struct store_write *w = &b->w[k];
            uint8_t *slot = b->slots + k * BENCH_SLOT;
            size_t len = bench_pack(b, i, slot);

            if (len == 0) {
                fprintf(stderr, "bench_dash: record %" PRIu64 " does not fit a slot\n", i);
                return -E2BIG;
            }
            memset(w, 0, sizeof(*w));
            w->obs = slot;
            w->obs_len = len;
            w->observer_id = b->observers[(i / 7) % BENCH_OBSERVERS];
            w->origin = "bench_dash";
            w->received_at_ms = (BENCH_NOW - BENCH_WINDOW_S) * 1000 + (int64_t)(i % 1000);
            if (store_submit(b->s, w) != 0) {
                fprintf(stderr, "bench_dash: the store stopped taking writes\n");
                store_drain(b->s);
                while (store_completed_take(b->s) != NULL) {
                }
                return -EIO;
            }
        }
        store_drain(b->s);
        while ((done = store_completed_take(b->s)) != NULL) {
            for (; done != NULL; done = done->next) {
                if (done->rc == 0 && done->result == STORE_STORED) {
                    stored++;
                } else {
                    bad++;
                    if (first_rc == 0) {
                        first_rc = done->rc != 0 ? done->rc : -EEXIST;
                    }
                }
            }
        }
        if (bad > 0) {
            fprintf(stderr, "bench_dash: %zu of %zu records not stored (first: %s)\n", bad, n,
                    error_strerror(first_rc));
            return first_rc;
        }
        b->loaded += stored;
        if (b->marks < BENCH_MARKS) {
            b->mark_n[b->marks] = b->loaded;
            b->mark_s[b->marks++] = b->load_clock + (now_s() - t0);
        }
        if (now_s() - last >= 5.0 || b->loaded == target) {
            double el = now_s() - t0;

            last = now_s();
            fprintf(stderr, "  loaded %" PRIu64 " / %" PRIu64 " (%.0f records/s)\n", b->loaded,
                    target, el > 0 ? (double)(b->loaded - start) / el : 0.0);
        }
    }
    if (b->loaded > start) {
        double n = (double)(b->loaded - start);
        double el = now_s() - t0;

        bench_written_bytes(&wc1, &wb1);
        printf("load %" PRIu64 "..%" PRIu64 ": %.0f records/s, CPU %.1f us/record, "
               "written %.1f KiB/record (write_bytes %.1f, whole folios), RssAnon %ld KiB\n",
               start, b->loaded, el > 0 ? n / el : 0.0, (bench_cpu_us() - cpu0) / n,
               (double)(wc1 - wc0) / 1024.0 / n, (double)(wb1 - wb0) / 1024.0 / n,
               bench_rss_anon_kib());
    }
    b->load_clock += now_s() - t0;
    return 0;
}

/* Records per second between marks i and j of the load. */
static double mark_rate(const struct bench *b, size_t i, size_t j)
{
    double s = b->mark_s[j] - b->mark_s[i];

    return s > 0 ? (double)(b->mark_n[j] - b->mark_n[i]) / s : 0.0;
}

/* After the whole load (0..max): the figures issue 13 sets targets for,
 * each beside its target. The first tenth runs from 0 to the first chunk's
 * end at or past max/10, the last from the last chunk's end at or before
 * 9 * max/10; BENCH_CHUNK sets how close to a tenth these fall, so the
 * ranges are printed. */
static void print_load_summary(const struct bench *b, long long db_bytes)
{
    uint64_t wc, wb;
    size_t first = 0, last = 0;
    double r0, r1;

    /* Only once the whole load is in (never for --reuse, which loads
     * nothing), and only with the store's size to compare. */
    if (b->marks < 3 || b->mark_n[b->marks - 1] != b->max || db_bytes <= 0) {
        return;
    }
    for (size_t i = 0; i < b->marks; i++) {
        if (first == 0 && b->mark_n[i] >= b->max / 10) {
            first = i;
        }
        if (b->mark_n[i] <= b->max - b->max / 10) {
            last = i;
        }
    }
    bench_written_bytes(&wc, &wb);
    r0 = mark_rate(b, 0, first);
    r1 = mark_rate(b, last, b->marks - 1);
    printf("load summary 0..%" PRIu64 ": %.0f records/s (issue 13: >= 50000); first %" PRIu64
           " records %.0f/s, last %" PRIu64 "..%" PRIu64 " %.0f/s, last/first %.2f (>= 0.80); "
           "wchar %.2f GiB, %.1fx the store's %lld MiB (<= 3x); %.0f bytes per observation "
           "(<= 1024)\n",
           b->max, mark_rate(b, 0, b->marks - 1), b->mark_n[first], r0, b->mark_n[last], b->max, r1,
           r0 > 0 ? r1 / r0 : 0.0, (double)(wc - b->wchar0) / (1u << 30),
           db_bytes > 0 ? (double)(wc - b->wchar0) / (double)db_bytes : 0.0,
           db_bytes / (1024 * 1024), (double)db_bytes / (double)b->max);
}

/* ---- Timing -------------------------------------------------------------- */

struct build_arg {
    const struct auth_user *u;
    Coachq__V1__GetDashboard *req;
    struct dash_opts opts;
    struct validate_error fault;
    size_t tables, cells;
    uint32_t max_n;
    int count;  /* count the message's cells (outside the timed part) */
    int digest; /* fold the packed message into h (--digest) */
    uint64_t h;
};

/* Folds the packed message m into *h (FNV-1a). Returns 0 or -ENOMEM. */
static int digest_add(uint64_t *h, const Coachq__V1__Dashboard *m)
{
    size_t n = coachq__v1__dashboard__get_packed_size(m);
    uint8_t *buf = malloc(n + 1);

    if (buf == NULL) {
        return -ENOMEM;
    }
    coachq__v1__dashboard__pack(m, buf);
    for (size_t i = 0; i < n; i++) {
        *h = (*h ^ buf[i]) * 1099511628211ull;
    }
    free(buf);
    return 0;
}

static int build_txn(struct store_txn *t, void *arg)
{
    struct build_arg *a = arg;
    struct dash *d = NULL;
    int rc;

    rc = dash_build(t, a->u, a->req, &a->opts, BENCH_NOW, &d, &a->fault);
    if (rc == 0 && a->digest) {
        rc = digest_add(&a->h, dash_message(d));
    }
    if (rc == 0 && a->count) {
        const Coachq__V1__Dashboard *m = dash_message(d);

        a->tables = m->n_tables;
        a->cells = 0;
        a->max_n = 0;
        for (size_t i = 0; i < m->n_tables; i++) {
            for (size_t r = 0; r < m->tables[i]->n_rows; r++) {
                const Coachq__V1__TableRow *row = m->tables[i]->rows[r];

                a->cells += row->n_cells;
                for (size_t c = 0; c < row->n_cells; c++) {
                    if (row->cells[c]->n > a->max_n) {
                        a->max_n = row->cells[c]->n;
                    }
                }
            }
        }
    }
    dash_free(d);
    return rc;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a < b ? -1 : a > b;
}

static void summarise(double *ms, unsigned n, struct timing *out)
{
    double sum = 0;

    qsort(ms, n, sizeof(*ms), cmp_double);
    for (unsigned i = 0; i < n; i++) {
        sum += ms[i];
    }
    out->runs = n;
    out->mean_ms = n > 0 ? sum / n : 0;
    out->p50_ms = n > 0 ? ms[n / 2] : 0;
    out->p99_ms = n > 0 ? ms[(size_t)((n - 1) * 0.99)] : 0;
}

/* One timed build: wall and CPU time, page faults, preemptions. */
struct build_cost {
    double wall_ms;
    double cpu_ms;
    long faults;
    long preempted;
};

static double cpu_ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int cost_wall_cmp(const void *x, const void *y)
{
    double a = ((const struct build_cost *)x)->wall_ms, b = ((const struct build_cost *)y)->wall_ms;

    return a < b ? -1 : a > b;
}

/* Sets out's CPU figures and what the p99 build did (sorts c by wall time;
 * ms is scratch of n). */
static void summarise_costs(struct build_cost *c, double *ms, unsigned n, struct timing *out)
{
    double faults = 0;

    if (n == 0) {
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        ms[i] = c[i].cpu_ms;
        faults += (double)c[i].faults;
    }
    qsort(ms, n, sizeof(*ms), cmp_double);
    out->cpu_p50_ms = ms[n / 2];
    out->cpu_p99_ms = ms[(size_t)((n - 1) * 0.99)];
    out->faults_mean = faults / n;
    qsort(c, n, sizeof(*c), cost_wall_cmp);
    out->p99_cpu_ms = c[(size_t)((n - 1) * 0.99)].cpu_ms;
    out->p99_faults = c[(size_t)((n - 1) * 0.99)].faults;
    out->p99_preempted = c[(size_t)((n - 1) * 0.99)].preempted;
}

/* Who asks for build i of kind, and about whom: MY_MANAGERS a second-level
 * manager about their own line; MANAGER that manager about one of their
 * front-line managers; MY_COACHING a front-line manager about themselves;
 * PROGRAMME and OBSERVERS the enablement lead (no subject); OBSERVER an
 * observer about themself. The people
 * rotate, so the builds do not all read the same pages. */
static void bench_subject(Coachq__V1__DashboardKind kind, unsigned i, struct auth_user *u,
                          char *subject, size_t len)
{
    unsigned slm = i % BENCH_SLMS;
    /* flm.j reports to slm.(j % BENCH_SLMS). */
    unsigned flm = slm + BENCH_SLMS * ((i / 7) % (BENCH_FLMS / BENCH_SLMS));

    memset(u, 0, sizeof(*u));
    subject[0] = '\0';
    switch (kind) {
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS:
        snprintf(u->id, sizeof(u->id), "slm.%02u", slm);
        u->roles = AUTH_SECOND_LEVEL;
        snprintf(subject, len, "slm.%02u", slm);
        break;
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER:
        snprintf(u->id, sizeof(u->id), "slm.%02u", slm);
        u->roles = AUTH_SECOND_LEVEL;
        snprintf(subject, len, "flm.%03u", flm);
        break;
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING:
        snprintf(u->id, sizeof(u->id), "flm.%03u", flm);
        u->roles = AUTH_FRONT_LINE;
        snprintf(subject, len, "flm.%03u", flm);
        break;
    case COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVER:
        snprintf(u->id, sizeof(u->id), "obs.%02u", i % BENCH_OBSERVERS);
        u->roles = AUTH_OBSERVER;
        snprintf(subject, len, "obs.%02u", i % BENCH_OBSERVERS);
        break;
    default:
        snprintf(u->id, sizeof(u->id), "%s", BENCH_LEAD);
        u->roles = AUTH_LEAD;
        break;
    }
}

/* Times dashboard kind (see bench_subject()) b->runs times after one
 * untimed build. Returns 0, or the dash_build() code of the first
 * failure. */
static int bench_time(struct bench *b, Coachq__V1__DashboardKind kind, struct timing *out)
{
    Coachq__V1__GetDashboard req = COACHQ__V1__GET_DASHBOARD__INIT;
    struct auth_user u;
    struct build_arg a;
    char subject[16];
    double *ms = calloc(b->runs, sizeof(double));
    struct build_cost *cost = calloc(b->runs, sizeof(*cost));
    double t_end;
    unsigned n = 0;
    int rc = 0;

    if (ms == NULL || cost == NULL) {
        free(ms);
        free(cost);
        return -ENOMEM;
    }
    memset(&a, 0, sizeof(a));
    memset(out, 0, sizeof(*out));
    dash_opts_default(&a.opts);
    if (b->weeks > 0) {
        a.opts.trend_weeks = b->weeks;
    }
    a.u = &u;
    a.req = &req;
    a.digest = b->digest;
    a.h = b->digest ? 1469598103934665603ull : 0;
    req.kind = kind;
    req.rubric_id = (char *)BENCH_RUBRIC;
    t_end = now_s() + BENCH_MAX_SECONDS;
    for (unsigned i = 0; i < b->runs + 1 && now_s() < t_end; i++) {
        struct rusage r0, r1;
        double t0, c0;

        bench_subject(kind, i, &u, subject, sizeof(subject));
        req.subject_id = subject;
        a.count = i == 0;
        getrusage(RUSAGE_SELF, &r0);
        c0 = cpu_ms_now();
        t0 = now_s();
        rc = store_view(b->s, build_txn, &a);
        if (rc != 0) {
            break;
        }
        if (i > 0) {
            struct build_cost *bc = &cost[n];

            bc->wall_ms = (now_s() - t0) * 1000.0;
            bc->cpu_ms = cpu_ms_now() - c0;
            getrusage(RUSAGE_SELF, &r1);
            bc->faults = (r1.ru_minflt - r0.ru_minflt) + (r1.ru_majflt - r0.ru_majflt);
            bc->preempted = r1.ru_nivcsw - r0.ru_nivcsw;
        }
        /* The first build warms the cache and counts the cells. */
        if (i == 0) {
            out->tables = a.tables;
            out->cells = a.cells;
            out->max_n = a.max_n;
        } else {
            ms[n] = cost[n].wall_ms;
            n++;
        }
    }
    if (rc != 0) {
        fprintf(stderr, "bench_dash: dash_build (%s for %s): %s%s%s\n", req.subject_id, u.id,
                error_strerror(rc), a.fault.field[0] ? "; " : "", a.fault.message);
    } else {
        summarise(ms, n, out);
        summarise_costs(cost, ms, n, out);
        out->digest = a.h;
    }
    free(ms);
    free(cost);
    return rc;
}

/* Times fn (a read of bench_views.c) in read transactions, as bench_time()
 * does a dashboard. */
static int bench_time_view(struct bench *b, store_txn_cb fn, void *arg, struct timing *out)
{
    double *ms = calloc(b->runs, sizeof(double));
    unsigned n = 0;
    double t_end = now_s() + BENCH_MAX_SECONDS;
    int rc = 0;

    if (ms == NULL) {
        return -ENOMEM;
    }
    for (unsigned i = 0; i < b->runs && now_s() < t_end; i++) {
        double t0 = now_s();

        rc = store_view(b->s, fn, arg);
        if (rc != 0) {
            break;
        }
        ms[n++] = (now_s() - t0) * 1000.0;
    }
    summarise(ms, n, out);
    free(ms);
    return rc;
}

/* ---- Export (--export DIR) ----------------------------------------------- */

/*
 * With --export DIR, bench_dash writes what it loaded as CSV files (each
 * with a header line), so that another store holds the same organisation
 * and observations (bench/peers/dash.sh loads them into PostgreSQL):
 *
 *   people.csv          id,name
 *   roles.csv           person_id,role
 *   lines.csv           person_id,manager_id,valid_from,valid_until (days
 *                       "YYYY-MM-DD"; valid_until is exclusive and empty
 *                       while the line holds)
 *   observations-N.csv  id,seq,coach_id,coachee_id,observer_id,rubric_id,
 *                       rubric_version,started_at,duration_s,line_manager_id
 *                       for the records loaded to reach N observations
 *   scores-N.csv        observation_id,behaviour_id,score (empty when not
 *                       applicable)
 *
 * The records are read back from the store, as stored; line_manager_id is
 * the coach's manager on the session day. Nothing is quoted: the bench's
 * ids and names hold no comma, quote or line break. After timing My managers at each
 * size it also prints a "peer:" line (its timing) and "check:" lines (one
 * manager's figures as the dashboard shows them), for the script to read.
 */

static FILE *bench_export_open(const struct bench *b, const char *name, const char *header)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", b->export_dir, name);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench_dash: cannot write '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    fprintf(f, "%s\n", header);
    return f;
}

/* Closes f (NULL-safe); returns rc, or -EIO when rc is 0 and a write
 * failed. */
static int bench_export_close(FILE *f, int rc)
{
    int bad;

    if (f == NULL) {
        return rc;
    }
    bad = ferror(f);
    if ((fclose(f) != 0 || bad) && rc == 0) {
        rc = -EIO;
    }
    return rc;
}

struct export_org {
    struct store_txn *t;
    FILE *people, *roles, *lines;
    /* The person's line change before the one people_lines() gives now. */
    char manager[VALIDATE_MAX_ID + 1];
    int32_t from;
    int open;
};

static void export_line_end(struct export_org *e, const char *person, int32_t until)
{
    char from[16], to[16];

    if (e->open && e->manager[0] != '\0') {
        day_format(e->from, from, sizeof(from));
        to[0] = '\0';
        if (until >= 0) {
            day_format(until, to, sizeof(to));
        }
        fprintf(e->lines, "%s,%s,%s,%s\n", person, e->manager, from, to);
    }
    e->open = 0;
}

static int export_line_cb(const Coachq__V1__ReportingLine *line, void *arg)
{
    struct export_org *e = arg;

    export_line_end(e, line->person_id, line->effective_day);
    snprintf(e->manager, sizeof(e->manager), "%s",
             line->manager_id != NULL ? line->manager_id : "");
    e->from = line->effective_day;
    e->open = 1;
    return 0;
}

static int export_person_cb(const Coachq__V1__Person *p, void *arg)
{
    struct export_org *e = arg;
    int rc;

    fprintf(e->people, "%s,%s\n", p->id, p->name != NULL ? p->name : "");
    for (size_t i = 0; i < p->n_roles; i++) {
        const ProtobufCEnumValue *v =
            protobuf_c_enum_descriptor_get_value(&coachq__v1__role__descriptor, (int)p->roles[i]);
        const char *name = v != NULL ? v->name : "ROLE_UNKNOWN";
        char lower[64];
        size_t k = 0;

        if (strncmp(name, "ROLE_", 5) == 0) {
            name += 5;
        }
        for (; name[k] != '\0' && k + 1 < sizeof(lower); k++) {
            lower[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] - 'A' + 'a' : name[k]);
        }
        lower[k] = '\0';
        fprintf(e->roles, "%s,%s\n", p->id, lower);
    }
    e->open = 0;
    rc = people_lines(e->t, p->id, export_line_cb, e);
    export_line_end(e, p->id, -1);
    return rc;
}

static int export_org_txn(struct store_txn *t, void *arg)
{
    struct export_org *e = arg;

    e->t = t;
    return people_list(t, export_person_cb, e);
}

/* Writes people.csv, roles.csv and lines.csv. */
static int bench_export_org(const struct bench *b)
{
    struct export_org e;
    int rc = -EIO;

    memset(&e, 0, sizeof(e));
    e.people = bench_export_open(b, "people.csv", "id,name");
    e.roles = bench_export_open(b, "roles.csv", "person_id,role");
    e.lines = bench_export_open(b, "lines.csv", "person_id,manager_id,valid_from,valid_until");
    if (e.people != NULL && e.roles != NULL && e.lines != NULL) {
        rc = store_view(b->s, export_org_txn, &e);
    }
    rc = bench_export_close(e.people, rc);
    rc = bench_export_close(e.roles, rc);
    return bench_export_close(e.lines, rc);
}

struct export_obs {
    const struct bench *b;
    uint64_t from, to;
    FILE *obs, *scores;
    uint8_t slot[BENCH_SLOT];
};

/* Writes one stored record: record i's id comes from bench_pack(). */
static int export_one(struct store_txn *t, struct export_obs *e, uint64_t i)
{
    Coachq__V1__Observation *packed = NULL;
    Coachq__V1__StoredObservation *rec = NULL;
    const Coachq__V1__Observation *o;
    char chain[PEOPLE_MAX_CHAIN][65];
    char id[UUID_STR_LEN], at[32];
    size_t len = bench_pack(e->b, i, e->slot), nchain = 0;
    int rc = -EIO;

    packed = coachq__v1__observation__unpack(NULL, len, e->slot);
    if (packed == NULL || packed->id.len != UUID_LEN) {
        goto out;
    }
    rc = store_get_txn(t, packed->id.data, &rec);
    if (rc != 0) {
        goto out;
    }
    o = rec->observation;
    rc = people_chain_at(t, o->coach_id, store_day_of(o->started_at), chain, &nchain);
    if (rc != 0) {
        goto out;
    }
    uuid_format(o->id.data, id);
    day_format_time(o->started_at, at, sizeof(at));
    fprintf(e->obs, "%s,%" PRIu64 ",%s,%s,%s,%s,%" PRIu32 ",%s,%" PRIu32 ",%s\n", id, rec->seq,
            o->coach_id, o->coachee_id, rec->observer_id, o->rubric_id, o->rubric_version, at,
            o->duration_s, nchain > 0 ? chain[0] : "");
    for (size_t k = 0; k < o->n_ratings; k++) {
        const Coachq__V1__Rating *r = o->ratings[k];

        if (r->not_applicable) {
            fprintf(e->scores, "%s,%s,\n", id, r->behaviour_id);
        } else {
            fprintf(e->scores, "%s,%s,%" PRIu32 "\n", id, r->behaviour_id, r->score);
        }
    }
out:
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    coachq__v1__observation__free_unpacked(packed, NULL);
    return rc;
}

static int export_obs_txn(struct store_txn *t, void *arg)
{
    struct export_obs *e = arg;
    int rc = 0;

    for (uint64_t i = e->from; i < e->to && rc == 0; i++) {
        rc = export_one(t, e, i);
    }
    return rc;
}

/* Writes observations-TO.csv and scores-TO.csv: records from..to-1. */
static int bench_export_obs(const struct bench *b, uint64_t from, uint64_t to)
{
    struct export_obs *e = calloc(1, sizeof(*e));
    char name[64];
    int rc = -EIO;

    if (e == NULL) {
        return -ENOMEM;
    }
    e->b = b;
    e->from = from;
    e->to = to;
    snprintf(name, sizeof(name), "observations-%" PRIu64 ".csv", to);
    e->obs = bench_export_open(b, name,
                               "id,seq,coach_id,coachee_id,observer_id,rubric_id,rubric_version,"
                               "started_at,duration_s,line_manager_id");
    snprintf(name, sizeof(name), "scores-%" PRIu64 ".csv", to);
    e->scores = bench_export_open(b, name, "observation_id,behaviour_id,score");
    if (e->obs != NULL && e->scores != NULL) {
        rc = store_view(b->s, export_obs_txn, e);
    }
    rc = bench_export_close(e->obs, rc);
    rc = bench_export_close(e->scores, rc);
    free(e);
    return rc;
}

/* The manager whose figures the check lines give. */
#define BENCH_CHECK_SLM "slm.00"
#define BENCH_CHECK_FLM "flm.000"

struct check_arg {
    struct dash_opts opts;
    struct validate_error fault;
    uint64_t n;
    int32_t first, until; /* Mondays of the window */
};

static const Coachq__V1__Cell *check_cell(const Coachq__V1__Dashboard *m, const char *table,
                                          size_t col)
{
    for (size_t i = 0; i < m->n_tables; i++) {
        const Coachq__V1__Table *t = m->tables[i];

        if (strcmp(t->id, table) != 0) {
            continue;
        }
        for (size_t r = 0; r < t->n_rows; r++) {
            const Coachq__V1__TableRow *row = t->rows[r];

            if (row->n_cells > 0 && row->cells[0]->link != NULL &&
                strcmp(row->cells[0]->link, BENCH_CHECK_FLM) == 0) {
                if (col == SIZE_MAX) {
                    col = row->n_cells - 1;
                }
                return col < row->n_cells ? row->cells[col] : NULL;
            }
        }
    }
    return NULL;
}

static void check_print(const struct check_arg *a, const Coachq__V1__Cell *c, int32_t from,
                        int32_t to, const char *what)
{
    char f[16], t[16];

    day_format(from, f, sizeof(f));
    day_format(to, t, sizeof(t));
    printf("check: size=%" PRIu64 " what=%s slm=%s flm=%s from=%s to=%s", a->n, what,
           BENCH_CHECK_SLM, BENCH_CHECK_FLM, f, t);
    if (c == NULL) {
        printf(" missing\n");
    } else if (c->has_value) {
        printf(" mean=%.17g n=%" PRIu32 "\n", c->value, c->n);
    } else {
        printf(" mean=none n=%" PRIu32 "\n", c->n);
    }
}

static int check_txn(struct store_txn *t, void *arg)
{
    struct check_arg *a = arg;
    Coachq__V1__GetDashboard req = COACHQ__V1__GET_DASHBOARD__INIT;
    struct auth_user u;
    struct dash *d = NULL;
    int32_t last_from;
    int rc;

    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "%s", BENCH_CHECK_SLM);
    u.roles = AUTH_SECOND_LEVEL;
    req.kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS;
    req.rubric_id = (char *)BENCH_RUBRIC;
    req.subject_id = (char *)BENCH_CHECK_SLM;
    rc = dash_build(t, &u, &req, &a->opts, BENCH_NOW, &d, &a->fault);
    if (rc == 0) {
        const Coachq__V1__Dashboard *m = dash_message(d);

        /* The window's quality index, and the 4-week rolling figure of its
         * last week (the first weeks of a window roll over fewer). */
        check_print(a, check_cell(m, "managers", 1), a->first, a->until, "window");
        last_from = a->until - 21 > a->first ? a->until - 21 : a->first;
        check_print(a, check_cell(m, "quality-trend", SIZE_MAX), last_from, a->until,
                    "last-4-weeks");
    }
    dash_free(d);
    return rc;
}

/* Prints the "peer:" line of My managers' timing at n observations and
 * the "check:" lines. */
static int bench_check(const struct bench *b, uint64_t n, const struct timing *my_managers)
{
    struct check_arg a;

    memset(&a, 0, sizeof(a));
    dash_opts_default(&a.opts);
    if (b->weeks > 0) {
        a.opts.trend_weeks = b->weeks;
    }
    a.n = n;
    a.until = agg_week_of(store_day_of(BENCH_NOW));
    a.first = a.until - 7 * ((int32_t)a.opts.trend_weeks - 1);
    printf("peer: size=%" PRIu64 " dash=my_managers weeks=%u runs=%u mean_ms=%.4f p50_ms=%.4f "
           "p99_ms=%.4f\n",
           n, a.opts.trend_weeks, my_managers->runs, my_managers->mean_ms, my_managers->p50_ms,
           my_managers->p99_ms);
    return store_view(b->s, check_txn, &a);
}

/* ---- Main ------------------------------------------------------------------ */

struct size_result {
    uint64_t n;
    struct timing dash[BENCH_NDASH], agg, cad, act;
    uint64_t agg_seen, cad_days;
    struct act_arg act_seen;
    double load_s;
    long long db_mib;
};

static void bench_rmdir(const char *dir)
{
    char path[600];

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
}

static void print_timing(const char *what, const struct timing *t)
{
    printf("  %-20s mean %8.3f ms  p50 %8.3f ms  p99 %8.3f ms  (%u builds", what, t->mean_ms,
           t->p50_ms, t->p99_ms, t->runs);
    if (t->tables > 0) {
        printf("; %zu tables, %zu cells, largest n %" PRIu32, t->tables, t->cells, t->max_n);
    }
    printf(")\n");
    if (t->tables > 0) {
        printf("  %-20s cpu  p50 %8.3f ms  p99 %8.3f ms; %.1f page faults per build; the p99 "
               "build: cpu %.3f ms, %ld faults, preempted %ld times\n",
               "", t->cpu_p50_ms, t->cpu_p99_ms, t->faults_mean, t->p99_cpu_ms, t->p99_faults,
               t->p99_preempted);
    }
    if (t->digest != 0) {
        printf("  %-20s digest %016" PRIx64 " (every build's message, hashed)\n", "", t->digest);
    }
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--max N] [--runs R] [--max-batch N] [--dir DIR] [--keep] [--weeks W]\n"
            "       [--export DIR] [--digest] [--reuse DIR]\n"
            "  --max N        the larger store: %u (10k only) to %u records [%u]\n"
            "  --runs R       timed builds per dashboard and size, 10..100000 [%u]\n"
            "  --max-batch N  records per write transaction (coachqd --max-batch) [%u]\n"
            "  --dir DIR      where the store goes (must not exist) [a new one under $TMPDIR]\n"
            "  --keep         leave the store behind\n"
            "  --weeks W      the dashboards' trend window in weeks, 1..104 [their default]\n"
            "  --export DIR   write what is loaded there as CSV (DIR must exist), with\n"
            "                 \"peer:\" and \"check:\" lines (bench/peers/dash.sh reads them)\n"
            "  --digest       print a hash of every build's message per dashboard and size\n"
            "                 (compares two trees' dashboards on the same data)\n"
            "  --reuse DIR    time the dashboards of the store an earlier --keep run left in\n"
            "                 DIR (loaded to --max), loading nothing: two builds timed\n"
            "                 alternately on the same data\n",
            prog, BENCH_SMALL, BENCH_LIMIT, BENCH_DEFAULT_MAX, BENCH_DEFAULT_RUNS, STORE_MAX_BATCH);
    return 2;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi) {
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"max", required_argument, NULL, 'm'},
        {"runs", required_argument, NULL, 'r'},
        {"dir", required_argument, NULL, 'd'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {"max-batch", required_argument, NULL, 'b'},
        {"weeks", required_argument, NULL, 'w'},
        {"export", required_argument, NULL, 'e'},
        {"digest", no_argument, NULL, 'g'},
        {"reuse", required_argument, NULL, 'u'},
        {NULL, 0, NULL, 0},
    };
    struct bench *b = calloc(1, sizeof(*b));
    struct size_result res[3];
    struct store_policy pol;
    struct store_opts so;
    uint64_t sizes[3], v;
    size_t nsizes;
    const char *dir = NULL;
    const char *reuse = NULL;
    unsigned max_batch = 0;
    int code = 1, c, rc;

    if (b == NULL) {
        return 1;
    }
    b->max = BENCH_DEFAULT_MAX;
    b->runs = BENCH_DEFAULT_RUNS;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (parse_u64(optarg, BENCH_SMALL, BENCH_LIMIT, &b->max) < 0) {
                fprintf(stderr, "%s: --max: '%s' is not %u..%u\n", argv[0], optarg, BENCH_SMALL,
                        BENCH_LIMIT);
                free(b);
                return 2;
            }
            break;
        case 'r':
            if (parse_u64(optarg, 10, 100000, &v) < 0) {
                fprintf(stderr, "%s: --runs: '%s' is not 10..100000\n", argv[0], optarg);
                free(b);
                return 2;
            }
            b->runs = (unsigned)v;
            break;
        case 'b':
            if (parse_u64(optarg, 1, STORE_MAX_BATCH_LIMIT, &v) < 0) {
                fprintf(stderr, "%s: --max-batch: '%s' is not 1..%u\n", argv[0], optarg,
                        STORE_MAX_BATCH_LIMIT);
                free(b);
                return 2;
            }
            max_batch = (unsigned)v;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'k':
            b->keep = 1;
            break;
        case 'w':
            if (parse_u64(optarg, 1, 104, &v) < 0) {
                fprintf(stderr, "%s: --weeks: '%s' is not 1..104\n", argv[0], optarg);
                free(b);
                return 2;
            }
            b->weeks = (unsigned)v;
            break;
        case 'e':
            b->export_dir = optarg;
            break;
        case 'g':
            b->digest = 1;
            break;
        case 'u':
            reuse = optarg;
            break;
        default:
            free(b);
            return usage(argv[0]);
        }
    }
    if (optind != argc || (reuse != NULL && (dir != NULL || b->export_dir != NULL))) {
        free(b);
        return usage(argv[0]);
    }
    /* 10k, a tenth of the largest when that lies well between, and the
     * largest: the middle step shows whether the cost still grows once
     * every manager-week has an aggregate. */
    nsizes = 0;
    sizes[nsizes++] = BENCH_SMALL;
    if (b->max / 10 >= 5 * (uint64_t)BENCH_SMALL) {
        sizes[nsizes++] = b->max / 10;
    }
    if (b->max > BENCH_SMALL) {
        sizes[nsizes++] = b->max;
    }

    if (reuse != NULL) {
        /* The store holds --max records already: only that size is timed,
         * and the store is left as it was found. */
        snprintf(b->dir, sizeof(b->dir), "%s", reuse);
        b->keep = 1;
        b->loaded = b->max;
        nsizes = 1;
        sizes[0] = b->max;
    } else if (dir != NULL) {
        snprintf(b->dir, sizeof(b->dir), "%s", dir);
        if (mkdir(b->dir, 0700) != 0) {
            fprintf(stderr, "%s: cannot make '%s': %s\n", argv[0], b->dir, strerror(errno));
            free(b);
            return 1;
        }
    } else {
        const char *tmp = getenv("TMPDIR");

        snprintf(b->dir, sizeof(b->dir), "%s/bench_dash.XXXXXX",
                 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
        if (mkdtemp(b->dir) == NULL) {
            fprintf(stderr, "%s: mkdtemp: %s\n", argv[0], strerror(errno));
            free(b);
            return 1;
        }
    }
    for (int i = 0; i < BENCH_OBSERVERS; i++) {
        snprintf(b->observers[i], sizeof(b->observers[i]), "obs.%02d", i);
    }
    b->w = calloc(BENCH_CHUNK, sizeof(*b->w));
    b->slots = malloc((size_t)BENCH_CHUNK * BENCH_SLOT);
    if (b->w == NULL || b->slots == NULL) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        goto out;
    }
    /* The rules are off (a bare store, like the store's own tests), but
     * the aggregates still count only records of observers certified on
     * the session date: the organisation below provides them. */
    store_policy_default(&pol);
    pol.enforce = 0;
    memset(&so, 0, sizeof(so));
    so.policy = &pol;
    so.map_size = (size_t)1 << 30;
    so.max_batch = max_batch;
    rc = store_open(b->dir, &so, &b->s);
    if (rc != 0) {
        fprintf(stderr, "%s: store_open: %s\n", argv[0], error_strerror(rc));
        goto out;
    }
    rc = reuse == NULL ? store_exec(b->s, bench_org_txn, b) : 0;
    if (rc != 0) {
        fprintf(stderr, "%s: the organisation: %s\n", argv[0], error_strerror(rc));
        goto out;
    }
    rc = b->export_dir != NULL ? bench_export_org(b) : 0;
    if (rc != 0) {
        fprintf(stderr, "%s: --export: the organisation: %s\n", argv[0], error_strerror(rc));
        goto out;
    }
    printf(
        "bench_dash: %d second-level managers, %d front-line managers, %d reps, %d certified "
        "observers, an enablement lead; %d cohorts of %d managers in one programme; sessions held "
        "per month and win rate per quarter per manager; sessions over the 52 weeks before "
        "2026-05-28; store in %s\n",
        BENCH_SLMS, BENCH_FLMS, BENCH_FLMS * BENCH_REPS, BENCH_OBSERVERS, BENCH_COHORTS,
        BENCH_COHORT_SIZE, b->dir);
    memset(res, 0, sizeof(res));
    for (size_t k = 0; k < nsizes; k++) {
        struct size_result *r = &res[k];
        struct agg_arg aa = {0};
        struct cadence_arg ca = {0};
        double t0 = now_s();
        long long db_bytes;

        r->n = sizes[k];
        fprintf(stderr, "loading up to %" PRIu64 " observations\n", r->n);
        if (bench_load(b, r->n) != 0) {
            goto out;
        }
        r->load_s = now_s() - t0;
        db_bytes = bench_file_bytes(b->dir);
        print_load_summary(b, db_bytes);
        r->db_mib = db_bytes > 0 ? db_bytes / (1024 * 1024) : db_bytes;
        printf("%" PRIu64 " observations (loaded in %.1f s, data.mdb %lld MiB):\n", r->n, r->load_s,
               r->db_mib);
        for (size_t d = 0; d < BENCH_NDASH; d++) {
            if (bench_time(b, bench_dashes[d].kind, &r->dash[d]) != 0) {
                fprintf(stderr, "%s: %s could not be built\n", argv[0], bench_dashes[d].name);
                goto out;
            }
            print_timing(bench_dashes[d].name, &r->dash[d]);
            fflush(stdout);
        }
        if (bench_time_view(b, bench_agg_txn, &aa, &r->agg) != 0) {
            fprintf(stderr, "%s: agg_read failed\n", argv[0]);
            goto out;
        }
        r->agg_seen = aa.observations;
        print_timing("agg_read 20x12w", &r->agg);
        printf("  (agg_read: %" PRIu64 " observations in the 12 weeks of slm.00's 20 "
               "managers)\n",
               r->agg_seen);
        if (bench_time_view(b, bench_cadence_txn, &ca, &r->cad) != 0) {
            fprintf(stderr, "%s: cadence_pair_days failed\n", argv[0]);
            goto out;
        }
        r->cad_days = ca.days;
        print_timing("cadence 100 reps", &r->cad);
        printf("  (cadence: %" PRIu64 " coaching days of slm.00's 100 reps in the 12 weeks)\n",
               r->cad_days);
        if (bench_time_view(b, bench_act_txn, &r->act_seen, &r->act) != 0) {
            fprintf(stderr, "%s: the action tables' reads failed\n", argv[0]);
            goto out;
        }
        print_timing("action tables", &r->act);
        printf("  (action tables: %" PRIu64 " actions agreed in the 12 weeks of slm.00's 20 "
               "managers; flm.000 has %" PRIu64 " open; %" PRIu64 " records read)\n",
               r->act_seen.agreed, r->act_seen.open, r->act_seen.records);
        /* After the timing, so that writing the files does not disturb it. */
        if (b->export_dir != NULL) {
            /* bench_dashes[0] is My managers. */
            rc = bench_check(b, r->n, &r->dash[0]);
            if (rc == 0) {
                rc = bench_export_obs(b, k > 0 ? res[k - 1].n : 0, r->n);
            }
            if (rc != 0) {
                fprintf(stderr, "%s: --export: %s\n", argv[0], error_strerror(rc));
                goto out;
            }
        }
        fflush(stdout);
    }
    /* Ratios: the largest against every smaller size, in the same run. */
    for (size_t k = 0; k + 1 < nsizes; k++) {
        const struct size_result *a = &res[k], *z = &res[nsizes - 1];

        printf("ratio %" PRIu64 " / %" PRIu64 " observations:\n", z->n, a->n);
        for (size_t d = 0; d < BENCH_NDASH; d++) {
            const struct timing *lo = &a->dash[d], *hi = &z->dash[d];

            printf("  %-20s mean %.2fx  p50 %.2fx  p99 %.2fx\n", bench_dashes[d].name,
                   hi->mean_ms / lo->mean_ms, hi->p50_ms / lo->p50_ms, hi->p99_ms / lo->p99_ms);
        }
        printf("  %-20s mean %.2fx  p50 %.2fx  p99 %.2fx\n", "agg_read 20x12w",
               z->agg.mean_ms / a->agg.mean_ms, z->agg.p50_ms / a->agg.p50_ms,
               z->agg.p99_ms / a->agg.p99_ms);
        printf("  %-20s mean %.2fx  p50 %.2fx  p99 %.2fx\n", "cadence 100 reps",
               z->cad.mean_ms / a->cad.mean_ms, z->cad.p50_ms / a->cad.p50_ms,
               z->cad.p99_ms / a->cad.p99_ms);
        printf("  %-20s mean %.2fx  p50 %.2fx  p99 %.2fx\n", "action tables",
               z->act.mean_ms / a->act.mean_ms, z->act.p50_ms / a->act.p50_ms,
               z->act.p99_ms / a->act.p99_ms);
    }
    /* One line per dashboard to quote: every size's mean and p50. */
    for (size_t d = 0; d < BENCH_NDASH && nsizes > 1; d++) {
        printf("summary: %s:", bench_dashes[d].name);
        for (size_t k = 0; k < nsizes; k++) {
            printf("%s %" PRIu64 " obs mean %.3f ms p50 %.3f ms", k ? ";" : "", res[k].n,
                   res[k].dash[d].mean_ms, res[k].dash[d].p50_ms);
        }
        printf("; largest/smallest mean %.2fx",
               res[nsizes - 1].dash[d].mean_ms / res[0].dash[d].mean_ms);
        if (nsizes == 3) {
            printf(", largest/middle mean %.2fx", res[2].dash[d].mean_ms / res[1].dash[d].mean_ms);
        }
        printf("\n");
    }
    code = 0;
out:
    store_close(b->s);
    if (!b->keep) {
        bench_rmdir(b->dir);
    }
    free(b->w);
    free(b->slots);
    free(b);
    return code;
}
