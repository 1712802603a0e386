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
 *
 * With --phase C,W it runs one phase only, on one thread and one libuv
 * loop whatever C is: C connections with W requests in flight each, for
 * --seconds D or --total N records. It prints a line for people and a
 * "result key=value ..." line for scripts (bench/peers/ingest.sh): records
 * per second, the ack latency percentiles of every request (from the
 * socket write of the request to its answer), the server's commits and
 * writer CPU time over the phase, and the client's own CPU time against
 * wall time, so a run shows whether the client was the bottleneck.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <uv.h>

#include <openssl/rand.h>

#include "client.h"
#include "error.h"
#include "frame.h"
#include "tls_conn.h"
#include "tls_ctx.h"
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

/*
 * Who record i is about and when its session was. Records go round the
 * coaches and, within a coach, round the reps; the hour moves on once every
 * coach has had a record, so each (coach, hour) is one session with one
 * record, as in a programme where an observer scores a session once, until
 * BENCH_COACHES x BENCH_HOURS (1.6 million) records. Consecutive records
 * are about sessions close in time, as live submissions are. (Before, the
 * hour was i % BENCH_HOURS, so the same observer "scored" the same session
 * again every 8,000 records: by 100,000 records each new record's session
 * held a dozen earlier ones, which the writer must read to apply the
 * double-coding rule; docs/operations.md, "Memory", and
 * docs/benchmarks.md, "The writer's cost per record", give figures of
 * both shapes.)
 */
static void bench_session(uint64_t i, unsigned *coach, unsigned *rep, int64_t *started_at)
{
    *coach = (unsigned)(i % BENCH_COACHES);
    *rep = (unsigned)((i / BENCH_COACHES) % BENCH_REPS);
    *started_at = BENCH_T0 + (int64_t)((i / BENCH_COACHES) % BENCH_HOURS) * 3600;
}

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
    unsigned coach, rep;
    int64_t started_at;
    char buf[32];

    if (o == NULL) {
        exit(1);
    }
    bench_session(i, &coach, &rep, &started_at);
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
    o->started_at = started_at;
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

/*
 * Phase mode (--phase C,W): one libuv loop drives C connections with W
 * requests in flight each, so the client costs one thread however many
 * connections it opens, and every answer is timed from the moment its
 * request was handed to the socket. Requests are counted in flight by slot:
 * a request id is (count << 16 | slot), and the slot holds its send time.
 */

/* Latency histogram in microseconds: exact below HIST_SUB, then HIST_SUB
 * buckets per power of two (under 1% error), up to 2^47 us. */
#define HIST_SUB 128u
#define HIST_SHIFT 7u
#define HIST_OCTAVES 40u
#define HIST_LEN (HIST_SUB + HIST_OCTAVES * HIST_SUB)
#define SLOT_BITS 16u
/* Stop building requests while this many bytes wait for one socket. */
#define PHASE_WRITE_HIGH (256u * 1024u)
/* A phase with no answer for this long is abandoned. */
#define PHASE_STALL_NS (30ull * 1000000000ull)
#define PHASE_TICK_MS 50u

struct hist {
    uint64_t n;
    uint64_t max;
    uint64_t b[HIST_LEN];
};

struct lconn;

/* Ids whose random bytes one RAND_bytes() call draws, and the random bytes
 * of one id (a UUIDv7's after its 48-bit time). */
#define PHASE_ID_BATCH 256
#define PHASE_ID_RANDOM (UUID_LEN - 6)

struct lphase {
    uv_loop_t loop;
    uv_timer_t tick;
    SSL_CTX *ctx;
    struct sockaddr_in addr;
    struct lconn *c;
    unsigned conns;
    unsigned window;
    uint64_t total;       /* records to send; 0 = until the deadline */
    uint64_t seconds_ns;  /* phase length when total is 0 */
    uint64_t start_ns;    /* 0 until every connection is ready */
    uint64_t end_ns;      /* the last answer */
    uint64_t progress_ns; /* the last event that moved the phase */
    uint64_t sent;
    uint64_t stored;
    uint64_t refused;
    uint64_t inflight;
    unsigned ready;
    unsigned dead;
    int stopping; /* no more requests are sent */
    int closing;  /* connections are being closed */
    struct rusage ru0, ru1;
    struct hist h;
    char first_error[256];
    /* The record template, changed in place for every request. */
    Coachq__V1__Observation obs;
    Coachq__V1__Rating rating[NBEHAVIOURS];
    Coachq__V1__Rating *rating_p[NBEHAVIOURS];
    uint8_t id[UUID_LEN];
    /* Random bytes for the ids, drawn PHASE_ID_BATCH ids at a time
     * (phase_id()); rnd_used of them are spent. */
    uint8_t rnd[PHASE_ID_BATCH * PHASE_ID_RANDOM];
    size_t rnd_used;
    char coach_ids[BENCH_COACHES][16];
    char rep_ids[BENCH_COACHES * BENCH_REPS][16];
    size_t frame_bytes; /* the last request's frame, length prefix included */
    uint8_t *out;       /* frame buffer for one fill */
    size_t out_cap;
};

struct lconn {
    struct lphase *p;
    struct tls_conn *tls;
    struct frame_reader reader;
    int welcomed;
    unsigned window;
    unsigned inflight;
    uint64_t count;
    uint64_t *sent_ns; /* per slot; 0 = free */
    unsigned *free_slots;
    unsigned nfree;
};

static uint64_t hist_index(uint64_t v)
{
    unsigned e;
    uint64_t i;

    if (v < HIST_SUB) {
        return v;
    }
    e = 63u - (unsigned)__builtin_clzll(v);
    i = HIST_SUB + (uint64_t)(e - HIST_SHIFT) * HIST_SUB + ((v >> (e - HIST_SHIFT)) - HIST_SUB);
    return i < HIST_LEN ? i : HIST_LEN - 1;
}

/* The middle of bucket i. */
static uint64_t hist_value(uint64_t i)
{
    uint64_t oct, m, shift;

    if (i < HIST_SUB) {
        return i;
    }
    oct = (i - HIST_SUB) / HIST_SUB;
    m = (i - HIST_SUB) % HIST_SUB + HIST_SUB;
    shift = oct;
    return (m << shift) + ((1ull << shift) >> 1);
}

static void hist_add(struct hist *h, uint64_t us)
{
    h->b[hist_index(us)]++;
    h->n++;
    if (us > h->max) {
        h->max = us;
    }
}

/* The q-quantile (0 < q <= 1) in microseconds; 0 for an empty histogram. */
static uint64_t hist_quantile(const struct hist *h, double q)
{
    uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999);
    uint64_t seen = 0;

    if (h->n == 0) {
        return 0;
    }
    if (rank == 0) {
        rank = 1;
    }
    for (uint64_t i = 0; i < HIST_LEN; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = hist_value(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

static double tv_s(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static void phase_note_error(struct lphase *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void phase_note_error(struct lphase *p, const char *fmt, ...)
{
    va_list ap;

    if (p->first_error[0] != '\0') {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(p->first_error, sizeof(p->first_error), fmt, ap);
    va_end(ap);
}

/* Sets up the one record every request reuses (see make_obs()). */
static void phase_template(struct lphase *p)
{
    Coachq__V1__Observation *o = &p->obs;

    for (unsigned c = 0; c < BENCH_COACHES; c++) {
        snprintf(p->coach_ids[c], sizeof(p->coach_ids[c]), "mgr.%03u", c);
        for (unsigned r = 0; r < BENCH_REPS; r++) {
            snprintf(p->rep_ids[c * BENCH_REPS + r], sizeof(p->rep_ids[0]), "rep.%03u.%u", c, r);
        }
    }
    coachq__v1__observation__init(o);
    o->id.data = p->id;
    o->id.len = UUID_LEN;
    o->rubric_id = (char *)"coaching-conversation";
    o->rubric_version = 1;
    o->session_type = COACHQ__V1__SESSION_TYPE__SESSION_TYPE_DEAL_REVIEW;
    o->focus = COACHQ__V1__COACHING_FOCUS__COACHING_FOCUS_SKILL;
    o->duration_s = 1800;
    o->n_ratings = NBEHAVIOURS;
    o->ratings = p->rating_p;
    for (size_t k = 0; k < NBEHAVIOURS; k++) {
        coachq__v1__rating__init(&p->rating[k]);
        p->rating[k].behaviour_id = (char *)behaviours[k];
        p->rating[k].evidence =
            (char *)"Asked the rep to name the top three risks before offering any.";
        p->rating_p[k] = &p->rating[k];
    }
}

/*
 * A fresh id in p->id: a UUIDv7 of the current millisecond as
 * uuid_generate() makes, with its random bytes taken from p->rnd, which
 * one RAND_bytes() call refills every PHASE_ID_BATCH ids: a call per id
 * cost bench_submit 9% of its CPU. Returns 0 or -EIO.
 */
static int phase_id(struct lphase *p)
{
    struct timespec ts;

    if (p->rnd_used == 0 || p->rnd_used >= sizeof(p->rnd)) {
        if (RAND_bytes(p->rnd, (int)sizeof(p->rnd)) != 1) {
            return -EIO;
        }
        p->rnd_used = 0;
    }
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return -EIO;
    }
    memcpy(p->id + 6, p->rnd + p->rnd_used, PHASE_ID_RANDOM);
    p->rnd_used += PHASE_ID_RANDOM;
    uuid_v7_stamp((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, p->id);
    return 0;
}

/* Makes the template record i, with a fresh id. Returns 0 or -EIO. */
static int phase_record(struct lphase *p, uint64_t i)
{
    unsigned coach, rep;

    bench_session(i, &coach, &rep, &p->obs.started_at);
    p->obs.coach_id = p->coach_ids[coach];
    p->obs.coachee_id = p->rep_ids[coach * BENCH_REPS + rep];
    for (size_t k = 0; k < NBEHAVIOURS; k++) {
        p->rating[k].score = 1 + (uint32_t)((i + k) % 4);
    }
    return phase_id(p);
}

/* Appends f, length-prefixed, to p->out at *len. Returns 0 or -ENOMEM. */
static int phase_pack(struct lphase *p, const Coachq__V1__Frame *f, size_t *len)
{
    size_t n = coachq__v1__frame__get_packed_size(f);

    if (*len + FRAME_HEADER_LEN + n > p->out_cap) {
        size_t cap = (*len + FRAME_HEADER_LEN + n) * 2;
        uint8_t *b = realloc(p->out, cap);

        if (b == NULL) {
            return -ENOMEM;
        }
        p->out = b;
        p->out_cap = cap;
    }
    frame_put_header(p->out + *len, (uint32_t)n);
    coachq__v1__frame__pack(f, p->out + *len + FRAME_HEADER_LEN);
    *len += FRAME_HEADER_LEN + n;
    return 0;
}

static void phase_close_all(struct lphase *p)
{
    if (p->closing) {
        return;
    }
    p->closing = 1;
    for (unsigned i = 0; i < p->conns; i++) {
        if (p->c[i].tls != NULL) {
            tls_conn_close(p->c[i].tls, 0);
        }
    }
    uv_timer_stop(&p->tick);
}

/* Ends the phase once nothing more is sent and every answer is in. */
static void phase_check_done(struct lphase *p)
{
    if (p->stopping && p->inflight == 0 && !p->closing) {
        getrusage(RUSAGE_SELF, &p->ru1);
        if (p->end_ns == 0) {
            p->end_ns = uv_hrtime();
        }
        phase_close_all(p);
    }
}

/* Sends requests on c until its window is full, in one socket write. */
static void lconn_fill(struct lconn *c)
{
    struct lphase *p = c->p;
    size_t len = 0;
    unsigned k = 0;
    uint64_t now;
    int rc;

    if (p->start_ns == 0 || c->tls == NULL || !c->welcomed) {
        return;
    }
    if (p->total == 0 && !p->stopping && uv_hrtime() - p->start_ns >= p->seconds_ns) {
        p->stopping = 1;
    }
    while (!p->stopping && c->inflight + k < c->window && c->nfree > k &&
           tls_conn_pending(c->tls) + len < PHASE_WRITE_HIGH) {
        Coachq__V1__SubmitObservation sub = COACHQ__V1__SUBMIT_OBSERVATION__INIT;
        Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
        unsigned slot = c->free_slots[c->nfree - 1 - k];

        if (p->total != 0 && p->sent >= p->total) {
            p->stopping = 1;
            break;
        }
        if (phase_record(p, p->sent) < 0) {
            phase_note_error(p, "no random bytes for a record id");
            p->stopping = 1;
            break;
        }
        sub.observation = &p->obs;
        f.request_id = ((c->count + 1) << SLOT_BITS) | slot;
        f.body_case = COACHQ__V1__FRAME__BODY_SUBMIT;
        f.submit = &sub;
        p->frame_bytes = len;
        if (phase_pack(p, &f, &len) < 0) {
            phase_note_error(p, "out of memory");
            p->stopping = 1;
            break;
        }
        p->frame_bytes = len - p->frame_bytes;
        c->count++;
        p->sent++;
        k++;
    }
    if (k == 0) {
        return;
    }
    now = uv_hrtime();
    for (unsigned j = 0; j < k; j++) {
        c->sent_ns[c->free_slots[--c->nfree]] = now;
    }
    c->inflight += k;
    p->inflight += k;
    rc = tls_conn_write(c->tls, p->out, len);
    if (rc < 0) {
        phase_note_error(p, "write: %s", error_strerror(rc));
        tls_conn_abort(c->tls, rc);
    }
}

/* Every connection is ready (or dead): the clock starts. */
static void phase_start(struct lphase *p)
{
    p->start_ns = uv_hrtime();
    p->progress_ns = p->start_ns;
    getrusage(RUSAGE_SELF, &p->ru0);
    for (unsigned i = 0; i < p->conns; i++) {
        lconn_fill(&p->c[i]);
    }
    phase_check_done(p);
}

static void lconn_answer(struct lconn *c, const Coachq__V1__Frame *f)
{
    struct lphase *p = c->p;
    uint64_t slot = f->request_id & ((1u << SLOT_BITS) - 1);
    uint64_t now = uv_hrtime();

    if (f->request_id >> SLOT_BITS == 0 || slot >= p->window || c->sent_ns[slot] == 0) {
        phase_note_error(p, "an answer to no request in flight (id %llu)",
                         (unsigned long long)f->request_id);
        return;
    }
    hist_add(&p->h, (now - c->sent_ns[slot]) / 1000u);
    c->sent_ns[slot] = 0;
    c->free_slots[c->nfree++] = (unsigned)slot;
    c->inflight--;
    p->inflight--;
    p->end_ns = now;
    p->progress_ns = now;
    if (f->body_case == COACHQ__V1__FRAME__BODY_ACK && f->ack != NULL &&
        f->ack->result == COACHQ__V1__ACK__RESULT__RESULT_STORED) {
        p->stored++;
    } else {
        p->refused++;
        if (f->body_case == COACHQ__V1__FRAME__BODY_ERROR && f->error != NULL) {
            phase_note_error(p, "code %d %.95s: %.140s", (int)f->error->code, f->error->field,
                             f->error->message);
        } else {
            phase_note_error(p, "answer body %d, not a stored Ack", (int)f->body_case);
        }
    }
}

static void lconn_frame(struct lconn *c, const Coachq__V1__Frame *f)
{
    struct lphase *p = c->p;

    if (!c->welcomed) {
        if (f->body_case != COACHQ__V1__FRAME__BODY_WELCOME || f->welcome == NULL) {
            phase_note_error(
                p, "the server did not welcome the session (body %d%s%s)", (int)f->body_case,
                f->body_case == COACHQ__V1__FRAME__BODY_ERROR && f->error ? ": " : "",
                f->body_case == COACHQ__V1__FRAME__BODY_ERROR && f->error ? f->error->message : "");
            tls_conn_abort(c->tls, -EPROTO);
            return;
        }
        c->welcomed = 1;
        if (f->welcome->max_in_flight != 0 && f->welcome->max_in_flight < c->window) {
            c->window = f->welcome->max_in_flight;
        }
        p->ready++;
        if (p->ready + p->dead == p->conns) {
            phase_start(p);
        }
        return;
    }
    if (f->request_id == 0) {
        phase_note_error(
            p, "the server said: %s",
            f->body_case == COACHQ__V1__FRAME__BODY_ERROR && f->error ? f->error->message : "?");
        return;
    }
    lconn_answer(c, f);
    lconn_fill(c);
    phase_check_done(p);
}

static void lconn_on_data(struct tls_conn *tc, const uint8_t *data, size_t len, void *arg)
{
    struct lconn *c = arg;

    while (len > 0 && c->tls != NULL) {
        size_t n = len < FRAME_MAX_CHUNK ? len : FRAME_MAX_CHUNK;
        int rc = frame_reader_feed(&c->reader, data, n);

        data += n;
        len -= n;
        if (rc < 0) {
            tls_conn_abort(tc, -EPROTO);
            return;
        }
        for (;;) {
            const uint8_t *body;
            size_t blen;
            Coachq__V1__Frame *f;

            rc = frame_reader_next(&c->reader, &body, &blen);
            if (rc == 0) {
                break;
            }
            f = rc > 0 ? coachq__v1__frame__unpack(NULL, blen, body) : NULL;
            if (f == NULL) {
                phase_note_error(c->p, "the server sent a bad frame");
                tls_conn_abort(tc, -EPROTO);
                return;
            }
            lconn_frame(c, f);
            coachq__v1__frame__free_unpacked(f, NULL);
            if (c->tls == NULL) {
                return;
            }
        }
    }
}

static int lconn_on_handshake(struct tls_conn *tc, void *arg)
{
    struct lconn *c = arg;
    Coachq__V1__Hello hello = COACHQ__V1__HELLO__INIT;
    Coachq__V1__Frame f = COACHQ__V1__FRAME__INIT;
    size_t len = 0;
    int rc;

    hello.protocol_version = 1;
    hello.client_version = (char *)"coachq-bench_submit/0.1.0";
    f.request_id = 1;
    f.body_case = COACHQ__V1__FRAME__BODY_HELLO;
    f.hello = &hello;
    rc = phase_pack(c->p, &f, &len);
    if (rc == 0) {
        rc = tls_conn_write(tc, c->p->out, len);
    }
    return rc;
}

static void lconn_on_close(struct tls_conn *tc, int err, void *arg)
{
    struct lconn *c = arg;
    struct lphase *p = c->p;
    int was_ready = c->welcomed;

    c->tls = NULL;
    if (!p->closing) {
        const char *why = tls_conn_error(tc);

        phase_note_error(p, "a connection closed: %s%s%s", error_strerror(err),
                         why != NULL && why[0] != '\0' ? "; " : "", why != NULL ? why : "");
        p->inflight -= c->inflight;
        c->inflight = 0;
        p->dead++;
        if (!was_ready) {
            if (p->ready + p->dead == p->conns && p->start_ns == 0) {
                phase_start(p);
            }
        } else if (p->ready > 0) {
            p->ready--;
        }
        if (p->ready == 0) {
            p->stopping = 1;
        }
        phase_check_done(p);
    }
}

static void phase_on_tick(uv_timer_t *t)
{
    struct lphase *p = t->data;
    uint64_t now = uv_hrtime();

    if (p->closing) {
        return;
    }
    if (now - p->progress_ns > PHASE_STALL_NS) {
        phase_note_error(p, "no progress for %llu s; giving up",
                         (unsigned long long)(PHASE_STALL_NS / 1000000000ull));
        p->stopping = 1;
        p->inflight = 0;
        for (unsigned i = 0; i < p->conns; i++) {
            if (p->c[i].tls != NULL) {
                tls_conn_abort(p->c[i].tls, -ETIMEDOUT);
            }
        }
        phase_check_done(p);
        return;
    }
    if (p->start_ns != 0 && p->total == 0 && !p->stopping && now - p->start_ns >= p->seconds_ns) {
        p->stopping = 1;
        phase_check_done(p);
    }
}

/* Runs one phase and prints its result line. Returns 0 when every request
 * sent was stored, 1 otherwise. */
static int phase_run(struct bench *b, unsigned conns, unsigned window, uint64_t total,
                     double seconds)
{
    struct tls_ctx_opts tco = {0};
    struct tls_conn_opts to = {.handshake_timeout_ms = 30000};
    struct tls_conn_callbacks cbs = {
        .on_handshake = lconn_on_handshake,
        .on_data = lconn_on_data,
        .on_close = lconn_on_close,
    };
    Coachq__V1__Stats *s0 = NULL, *s1 = NULL;
    struct lphase *p = calloc(1, sizeof(*p));
    char msg[300];
    double wall, cpu, rps;
    uint64_t commits = 0, recs = 0, wcpu = 0;
    int rc = 1, loop_ready = 0;

    if (p == NULL) {
        goto out;
    }
    p->conns = conns;
    p->window = window;
    p->total = total;
    p->seconds_ns = (uint64_t)(seconds * 1e9);
    phase_template(p);
    if (uv_ip4_addr(b->opts.host, (int)strtol(b->opts.port, NULL, 10), &p->addr) != 0) {
        fprintf(stderr, "bench_submit: bad address %s:%s\n", b->opts.host, b->opts.port);
        goto out;
    }
    tco.cert_file = b->opts.cert_file;
    tco.key_file = b->opts.key_file;
    tco.ca_file = b->opts.ca_file;
    tco.alpn = "coachq/1";
    if (tls_ctx_client_new(&tco, &p->ctx, msg, sizeof(msg)) < 0) {
        fprintf(stderr, "bench_submit: TLS setup failed: %s\n", msg);
        goto out;
    }
    p->c = calloc(conns, sizeof(*p->c));
    if (p->c == NULL || uv_loop_init(&p->loop) != 0) {
        goto out;
    }
    uv_timer_init(&p->loop, &p->tick);
    p->tick.data = p;
    loop_ready = 1;
    if (stats(b, &s0) < 0) {
        goto out;
    }
    p->progress_ns = uv_hrtime();
    uv_timer_start(&p->tick, phase_on_tick, PHASE_TICK_MS, PHASE_TICK_MS);
    for (unsigned i = 0; i < conns; i++) {
        struct lconn *c = &p->c[i];

        c->p = p;
        c->window = window;
        frame_reader_init(&c->reader, CLIENT_MAX_FRAME);
        c->sent_ns = calloc(window, sizeof(*c->sent_ns));
        c->free_slots = calloc(window, sizeof(*c->free_slots));
        if (c->sent_ns == NULL || c->free_slots == NULL) {
            goto out;
        }
        for (unsigned s = 0; s < window; s++) {
            c->free_slots[s] = window - 1 - s;
        }
        c->nfree = window;
        if (tls_conn_connect(&p->loop, (const struct sockaddr *)&p->addr, b->opts.host, p->ctx, &to,
                             &cbs, c, &c->tls) < 0) {
            c->tls = NULL;
            p->dead++;
        }
    }
    if (p->dead == conns) {
        fprintf(stderr, "bench_submit: could not connect\n");
        phase_close_all(p);
    }
    uv_run(&p->loop, UV_RUN_DEFAULT);
    if (p->start_ns == 0 || p->end_ns <= p->start_ns) {
        fprintf(stderr, "bench_submit: the phase did not run: %s\n", p->first_error);
        goto out;
    }
    if (stats(b, &s1) < 0) {
        goto out;
    }
    commits = s1->commits - s0->commits;
    recs = s1->records_stored - s0->records_stored;
    wcpu = s1->writer_cpu_us - s0->writer_cpu_us;
    wall = (double)(p->end_ns - p->start_ns) / 1e9;
    cpu = tv_s(&p->ru1.ru_utime) - tv_s(&p->ru0.ru_utime) + tv_s(&p->ru1.ru_stime) -
          tv_s(&p->ru0.ru_stime);
    rps = (double)p->stored / wall;
    if (p->first_error[0] != '\0') {
        fprintf(stderr, "bench_submit: first problem: %s\n", p->first_error);
    }
    printf("phase %u connections x %u in flight: %llu stored in %.2f s, %.0f records/s, ack "
           "p50 %.2f ms p99 %.2f ms p99.9 %.2f ms max %.2f ms; %.1f records per commit, writer "
           "%.1f us CPU per record; client CPU %.0f%% of one core\n",
           conns, window, (unsigned long long)p->stored, wall, rps,
           (double)hist_quantile(&p->h, 0.50) / 1e3, (double)hist_quantile(&p->h, 0.99) / 1e3,
           (double)hist_quantile(&p->h, 0.999) / 1e3, (double)p->h.max / 1e3,
           commits ? (double)recs / (double)commits : 0.0, recs ? (double)wcpu / (double)recs : 0.0,
           100.0 * cpu / wall);
    printf("result conns=%u window=%u sent=%llu stored=%llu refused=%llu dead=%u wall_s=%.3f "
           "rps=%.1f p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu client_cpu_s=%.3f "
           "client_cpu_share=%.3f commits=%llu server_records=%llu writer_cpu_us=%llu "
           "frame_bytes=%zu\n",
           conns, window, (unsigned long long)p->sent, (unsigned long long)p->stored,
           (unsigned long long)p->refused, p->dead, wall, rps,
           (unsigned long long)hist_quantile(&p->h, 0.50),
           (unsigned long long)hist_quantile(&p->h, 0.99),
           (unsigned long long)hist_quantile(&p->h, 0.999), (unsigned long long)p->h.max, cpu,
           cpu / wall, (unsigned long long)commits, (unsigned long long)recs,
           (unsigned long long)wcpu, p->frame_bytes);
    rc = p->stored == p->sent && p->dead == 0 && p->refused == 0 ? 0 : 1;
out:
    if (p != NULL) {
        if (loop_ready) {
            phase_close_all(p);
            uv_close((uv_handle_t *)&p->tick, NULL);
            uv_run(&p->loop, UV_RUN_DEFAULT);
            uv_loop_close(&p->loop);
        }
        for (unsigned i = 0; p->c != NULL && i < conns; i++) {
            frame_reader_free(&p->c[i].reader);
            free(p->c[i].sent_ns);
            free(p->c[i].free_slots);
        }
        free(p->c);
        free(p->out);
        SSL_CTX_free(p->ctx);
        free(p);
    }
    if (s0 != NULL) {
        coachq__v1__stats__free_unpacked(s0, NULL);
    }
    if (s1 != NULL) {
        coachq__v1__stats__free_unpacked(s1, NULL);
    }
    return rc;
}

/* Parses "C,W" for --phase. Returns 0 or -EINVAL. */
static int parse_phase(const char *arg, unsigned *conns, unsigned *window)
{
    char *end = NULL;
    unsigned long c, w;

    c = strtoul(arg, &end, 10);
    if (end == arg || *end != ',' || c == 0 || c > 10000) {
        return -EINVAL;
    }
    arg = end + 1;
    w = strtoul(arg, &end, 10);
    if (end == arg || *end != '\0' || w == 0 || w > 1024) {
        return -EINVAL;
    }
    *conns = (unsigned)c;
    *window = (unsigned)w;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: bench_submit --port PORT --ca FILE --cert FILE --key FILE\n"
               "                    --stats-cert FILE --stats-key FILE\n"
               "                    [--connections 32] [--records 500] [--window 64]\n"
               "                    [--baseline 300]\n"
               "       bench_submit --port PORT --ca FILE --cert FILE --key FILE\n"
               "                    --stats-cert FILE --stats-key FILE\n"
               "                    --phase C,W (--seconds D | --total N)\n"
               "       bench_submit --org-csv\n"
               "Measures submissions per second: a serial baseline (1 connection, 1 in\n"
               "flight) against C pipelined connections, in the same run. --cert is a\n"
               "certified observer's, --stats-cert an enablement lead's or administrator's.\n"
               "--phase runs one phase on one event loop: C connections with W in flight\n"
               "each, for D seconds (default 10) or N records in all, and prints a\n"
               "'result key=value ...' line (rps, p50_us/p99_us/p999_us ack latency,\n"
               "commits, writer_cpu_us, client_cpu_share) for scripts.\n"
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
        {"phase", required_argument, NULL, 'P'},
        {"seconds", required_argument, NULL, 's'},
        {"total", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct bench b;
    Coachq__V1__Stats *s0 = NULL, *s1 = NULL;
    size_t base_stored, conc_stored;
    double base_rate, conc_rate;
    unsigned phase_conns = 0, phase_window = 0;
    uint64_t phase_total = 0;
    double phase_seconds = 10;
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
            ch != 'C' && ch != 'K' && ch != 'P' && ch != 's' && ch != 't') {
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
        case 'P':
            if (parse_phase(optarg, &phase_conns, &phase_window) < 0) {
                fprintf(stderr, "bench_submit: --phase wants CONNECTIONS,IN_FLIGHT, e.g. 64,16\n");
                return 2;
            }
            break;
        case 's':
            phase_seconds = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(phase_seconds > 0 && phase_seconds <= 3600)) {
                fprintf(stderr, "bench_submit: --seconds wants 0 < D <= 3600\n");
                return 2;
            }
            break;
        case 't':
            errno = 0;
            phase_total = strtoull(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || phase_total == 0 ||
                phase_total > 100000000ull) {
                fprintf(stderr, "bench_submit: --total wants 1..100000000 records\n");
                return 2;
            }
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
    /* Writes to a server that went away must fail, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    if (phase_conns != 0) {
        return phase_run(&b, phase_conns, phase_window, phase_total, phase_seconds);
    }
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
