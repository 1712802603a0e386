/*
 * bench_submit: submission throughput against a running coachqd, to watch
 * group commit work.
 *
 * Runs two phases in one process against the same server: a baseline of
 * one connection with one request in flight (every record waits for its own
 * commit and fsync), then C connections on C threads with W requests in
 * flight each. Prints records per second for both, their ratio, and the
 * server's commit counters for the second phase (records per commit).
 * Figures are ratios within one run: the machines are shared and noisy.
 *
 * The server checks every observation against the organisation's rules, so
 * the records are ones a real observer could submit: every behaviour of
 * coaching-conversation v1 rated with evidence, a coach who is a front-line
 * manager and a coachee who reports to them, a past session. The people
 * they name come from --org-csv, which prints them for `coachqd import
 * people`; the observer (--cert) must be certified for the rubric, and the
 * server's counters need an enablement lead's or administrator's
 * certificate (--stats-cert).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "uuid.h"

/* The organisation the records name: BENCH_COACHES front-line managers
 * with BENCH_REPS reps each, all reporting from BENCH_SINCE on. */
#define BENCH_COACHES 200
#define BENCH_REPS 5
#define BENCH_SINCE "2024-01-01"
/* Sessions start at 2025-01-01T00:00:00Z plus whole hours, at most
 * BENCH_HOURS of them: in the past, after the rubric took effect. */
#define BENCH_T0 1735689600LL
#define BENCH_HOURS 8000u

static const char *const behaviours[] = {
    "collaborative",      "regular-cadence",           "consistent-framework", "buyers-view",
    "looks-for-evidence", "elicits-critical-thinking", "praises-insight",      "objective-curious",
    "doesnt-take-over",   "documents-actions",
};
#define NBEHAVIOURS (sizeof(behaviours) / sizeof(behaviours[0]))

struct bench {
    struct client_opts opts;
    struct client_opts stats_opts;
    unsigned connections;
    unsigned per_conn;
    unsigned window;
    unsigned baseline;
};

struct worker {
    struct bench *b;
    unsigned n;
    unsigned window;
    size_t stored;
    int rc;
    char first_error[256]; /* why the first refused record was refused */
    pthread_t th;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints the people the records name, as `coachqd import people` reads
 * them: a second-level manager, the front-line managers and their reps. */
static void print_org(FILE *f)
{
    fprintf(f, "id,name,email,role,manager_id,effective_date\n");
    fprintf(f, "slm.bench,Bench Second,,second_level_manager,,\n");
    for (unsigned c = 0; c < BENCH_COACHES; c++) {
        fprintf(f, "mgr.%03u,Manager %u,,front_line_manager,slm.bench,%s\n", c, c, BENCH_SINCE);
        for (unsigned r = 0; r < BENCH_REPS; r++) {
            fprintf(f, "rep.%03u.%u,Rep %u.%u,,rep,mgr.%03u,%s\n", c, r, c, r, c, BENCH_SINCE);
        }
    }
}

/* One observation per record, fresh id, content that the server's rules
 * accept (see print_org()). Exits on allocation failure. */
static Coachq__V1__Observation *make_obs(unsigned i)
{
    Coachq__V1__Observation *o = calloc(1, sizeof(*o));
    unsigned coach = i % BENCH_COACHES;
    unsigned rep = (i / BENCH_COACHES) % BENCH_REPS;
    char buf[32];

    if (o == NULL) {
        exit(1);
    }
    coachq__v1__observation__init(o);
    o->id.data = malloc(UUID_LEN);
    o->id.len = UUID_LEN;
    if (o->id.data == NULL || uuid_generate(o->id.data) < 0) {
        exit(1);
    }
    o->rubric_id = strdup("coaching-conversation");
    o->rubric_version = 1;
    snprintf(buf, sizeof(buf), "mgr.%03u", coach);
    o->coach_id = strdup(buf);
    snprintf(buf, sizeof(buf), "rep.%03u.%u", coach, rep);
    o->coachee_id = strdup(buf);
    o->session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;
    o->focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    o->started_at = BENCH_T0 + (int64_t)(i % BENCH_HOURS) * 3600;
    o->duration_s = 1800;
    o->n_ratings = NBEHAVIOURS;
    o->ratings = calloc(NBEHAVIOURS, sizeof(*o->ratings));
    if (o->ratings == NULL) {
        exit(1);
    }
    for (size_t k = 0; k < NBEHAVIOURS; k++) {
        Coachq__V1__Rating *r = calloc(1, sizeof(*r));
        if (r == NULL) {
            exit(1);
        }
        coachq__v1__rating__init(r);
        r->behaviour_id = strdup(behaviours[k]);
        r->score = 1 + (uint32_t)((i + k) % 4);
        /* Scores 1 and 4 need evidence; every rating has some. */
        r->evidence = strdup("Asked the rep to name the top three risks before offering any.");
        o->ratings[k] = r;
    }
    return o;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct client_opts opts = w->b->opts;
    struct client_error err;
    struct client *c = NULL;
    Coachq__V1__Observation **obs = calloc(w->n, sizeof(*obs));
    struct client_submit_result *res = calloc(w->n, sizeof(*res));

    opts.window = w->window;
    w->rc = -ENOMEM;
    if (obs == NULL || res == NULL) {
        goto out;
    }
    for (unsigned i = 0; i < w->n; i++) {
        obs[i] = make_obs(i);
    }
    w->rc = client_connect(&opts, &c, &err);
    if (w->rc < 0) {
        fprintf(stderr, "bench: connect: %s\n", err.message);
        goto out;
    }
    w->rc = client_submit_many(c, obs, w->n, res, NULL, NULL);
    for (unsigned i = 0; i < w->n; i++) {
        if (res[i].done && res[i].err.code == COACHQ__V1__CODE__OK) {
            w->stored++;
        } else if (w->first_error[0] == '\0') {
            snprintf(w->first_error, sizeof(w->first_error), "code %d %.95s: %.140s",
                     (int)res[i].err.code, res[i].err.field, res[i].err.message);
        }
    }
out:
    client_free(c);
    for (unsigned i = 0; obs != NULL && i < w->n; i++) {
        coachq__v1__observation__free_unpacked(obs[i], NULL);
    }
    free(obs);
    free(res);
    return NULL;
}

/* Reads the server's counters as the --stats-cert user. */
static int stats(struct bench *b, Coachq__V1__Stats **out)
{
    struct client_error err;
    struct client *c = NULL;
    int rc = client_connect(&b->stats_opts, &c, &err);

    if (rc == 0) {
        rc = client_stats(c, out, &err);
    }
    if (rc < 0) {
        fprintf(stderr, "bench: server counters: %s\n", err.message);
    }
    client_free(c);
    return rc;
}

/* Runs n workers; returns records per second and sets *stored. */
static double phase(struct bench *b, unsigned conns, unsigned per_conn, unsigned window,
                    size_t *stored)
{
    struct worker *w = calloc(conns, sizeof(*w));
    double t0, t1;

    *stored = 0;
    if (w == NULL) {
        return 0;
    }
    t0 = now_s();
    for (unsigned i = 0; i < conns; i++) {
        w[i].b = b;
        w[i].n = per_conn;
        w[i].window = window;
        pthread_create(&w[i].th, NULL, work, &w[i]);
    }
    for (unsigned i = 0; i < conns; i++) {
        pthread_join(w[i].th, NULL);
        *stored += w[i].stored;
        if (w[i].first_error[0] != '\0') {
            fprintf(stderr, "bench: connection %u: not stored: %s\n", i, w[i].first_error);
        }
    }
    t1 = now_s();
    free(w);
    return (double)*stored / (t1 - t0);
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: bench_submit --port PORT --ca FILE --cert FILE --key FILE\n"
               "                    --stats-cert FILE --stats-key FILE\n"
               "                    [--connections 32] [--records 500] [--window 64]\n"
               "                    [--baseline 300]\n"
               "       bench_submit --org-csv\n"
               "Measures submissions per second: a serial baseline (1 connection, 1 in\n"
               "flight) against C pipelined connections, in the same run. --cert is a\n"
               "certified observer's, --stats-cert an enablement lead's or administrator's.\n"
               "--org-csv prints the managers and reps the records name, for\n"
               "'coachqd import people'.\n");
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"port", required_argument, NULL, 'p'},
        {"ca", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'c'},
        {"key", required_argument, NULL, 'k'},
        {"stats-cert", required_argument, NULL, 'C'},
        {"stats-key", required_argument, NULL, 'K'},
        {"org-csv", no_argument, NULL, 'o'},
        {"connections", required_argument, NULL, 'n'},
        {"records", required_argument, NULL, 'r'},
        {"window", required_argument, NULL, 'w'},
        {"baseline", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bench b;
    Coachq__V1__Stats *s0 = NULL, *s1 = NULL;
    size_t base_stored, conc_stored;
    double base_rate, conc_rate;
    int ch;

    memset(&b, 0, sizeof(b));
    b.opts.host = "127.0.0.1";
    b.connections = 32;
    b.per_conn = 500;
    b.window = 64;
    b.baseline = 300;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        unsigned long v = 0;
        char *end = NULL;
        if (ch != 'h' && ch != 'o' && ch != 'p' && ch != 'a' && ch != 'c' && ch != 'k' &&
            ch != 'C' && ch != 'K') {
            if (ch == '?' || optarg == NULL) {
                usage(stderr);
                return 2;
            }
            v = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || v == 0 || v > 100000) {
                fprintf(stderr, "bench_submit: bad number '%s'\n", optarg);
                return 2;
            }
        }
        switch (ch) {
        case 'p':
            b.opts.port = optarg;
            break;
        case 'a':
            b.opts.ca_file = optarg;
            break;
        case 'c':
            b.opts.cert_file = optarg;
            break;
        case 'k':
            b.opts.key_file = optarg;
            break;
        case 'C':
            b.stats_opts.cert_file = optarg;
            break;
        case 'K':
            b.stats_opts.key_file = optarg;
            break;
        case 'o':
            print_org(stdout);
            return fflush(stdout) == 0 ? 0 : 1;
        case 'n':
            b.connections = (unsigned)v;
            break;
        case 'r':
            b.per_conn = (unsigned)v;
            break;
        case 'w':
            b.window = (unsigned)v;
            break;
        case 'b':
            b.baseline = (unsigned)v;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (b.opts.port == NULL || b.opts.ca_file == NULL || b.opts.cert_file == NULL ||
        b.stats_opts.cert_file == NULL) {
        usage(stderr);
        return 2;
    }
    b.stats_opts.host = b.opts.host;
    b.stats_opts.port = b.opts.port;
    b.stats_opts.ca_file = b.opts.ca_file;
    base_rate = phase(&b, 1, b.baseline, 1, &base_stored);
    if (stats(&b, &s0) < 0) {
        return 1;
    }
    conc_rate = phase(&b, b.connections, b.per_conn, b.window, &conc_stored);
    if (stats(&b, &s1) < 0) {
        return 1;
    }
    printf("baseline    1 connection x %u, 1 in flight:   %zu stored, %.0f records/s\n", b.baseline,
           base_stored, base_rate);
    printf("concurrent  %u connections x %u, %u in flight: %zu stored, %.0f records/s\n",
           b.connections, b.per_conn, b.window, conc_stored, conc_rate);
    printf("ratio       concurrent / baseline = %.1fx\n",
           base_rate > 0 ? conc_rate / base_rate : 0);
    printf("commits     %llu for %llu records: %.1f records per commit, largest batch %llu\n",
           (unsigned long long)(s1->commits - s0->commits),
           (unsigned long long)(s1->records_stored - s0->records_stored),
           s1->commits > s0->commits ? (double)(s1->records_stored - s0->records_stored) /
                                           (double)(s1->commits - s0->commits)
                                     : 0.0,
           (unsigned long long)s1->max_batch);
    coachq__v1__stats__free_unpacked(s0, NULL);
    coachq__v1__stats__free_unpacked(s1, NULL);
    return conc_stored == (size_t)b.connections * b.per_conn && base_stored == b.baseline ? 0 : 1;
}
