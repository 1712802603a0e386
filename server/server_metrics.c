/*
 * server_metrics: what coachqd's /metrics shows (docs/operations.md,
 * "Metrics", lists every family). The figures are read where they are
 * kept, not copied into a second set: the store's counters and histograms
 * (store_get_stats()), the dashboard port's (http_server_counts(),
 * web_get_stats()) and the protocol port's own, which this file counts.
 *
 * Every label value comes from a fixed table here or in the module that
 * keeps the figure (request kinds, codes, routes, reasons, dashboard
 * kinds), and metrics_labels() refuses anything else, so nothing a peer
 * sends can make a new series. Loop thread, like the rest of the port.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dashfmt.h"
#include "http.h"
#include "metrics.h"
#include "metrics_http.h"
#include "server_int.h"
#include "web.h"

/* Microsecond buckets: the ack spans an fsync, a dashboard a few reads to
 * a second-level manager's whole line. */
static const uint64_t ack_us_bounds[] = {
    250,   500,    1000,   2500,   5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 10000000,
};
static const uint64_t dash_us_bounds[] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 10000000,
};
#define NBOUNDS(a) ((unsigned)(sizeof(a) / sizeof(a[0])))

/* libuv's default and largest thread pool (uv_queue_work()). */
#define UV_POOL_DEFAULT 4
#define UV_POOL_MAX 1024

void server_metrics_init(struct server *s)
{
    s->start_time_ms = server_now_ms();
    metrics_hist_init(&s->ack_us, ack_us_bounds, NBOUNDS(ack_us_bounds));
    for (unsigned i = 0; i < DASH_BUILD_SLOTS; i++) {
        metrics_hist_init(&s->dash_build_us[i], dash_us_bounds, NBOUNDS(dash_us_bounds));
    }
}

void server_metrics_answer(struct conn *c, const Coachq__V1__Frame *f)
{
    int code = 0;

    if (c->cur_kind < 0 || c->cur_kind >= SERVER_REQ_KINDS) {
        return;
    }
    if (f->body_case == COACHQ__V1__FRAME__BODY_ERROR && f->error != NULL) {
        code = (int)f->error->code;
    } else if (f->body_case == COACHQ__V1__FRAME__BODY_SESSIONS_IMPORTED &&
               f->sessions_imported != NULL && f->sessions_imported->errors_total > 0) {
        /* A refused import answers with its errors, not an Error frame:
         * counted as what it is. */
        code = COACHQ__V1__CODE__INVALID_ARGUMENT;
    }
    if (code < 0 || code >= SERVER_CODES) {
        code = COACHQ__V1__CODE__UNKNOWN;
    }
    c->srv->answers[c->cur_kind][code]++;
}

void server_metrics_conn_closed(struct conn *c, enum tls_conn_failure f)
{
    if (c->hs_fail != TLS_CONN_FAIL_NONE) {
        f = c->hs_fail;
    }
    if (f != TLS_CONN_FAIL_NONE && (unsigned)f < TLS_CONN_FAIL_COUNT) {
        c->srv->tls_failures[f]++;
    }
}

/* The size of libuv's thread pool, as libuv reads it at its first job. */
static unsigned pool_threads(void)
{
    const char *v = getenv("UV_THREADPOOL_SIZE");
    char *end = NULL;
    long n;

    if (v == NULL || v[0] == '\0') {
        return UV_POOL_DEFAULT;
    }
    n = strtol(v, &end, 10);
    if (end == v || n <= 0) {
        return 1;
    }
    return n > UV_POOL_MAX ? UV_POOL_MAX : (unsigned)n;
}

/* Resident memory from /proc/self/statm (pages); 0 when unreadable. */
static uint64_t resident_bytes(void)
{
    char line[128];
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, rss = 0;
    char *p, *end;
    long page = sysconf(_SC_PAGESIZE);

    if (f == NULL) {
        return 0;
    }
    p = fgets(line, sizeof(line), f);
    fclose(f);
    if (p == NULL) {
        return 0;
    }
    size = strtoull(line, &end, 10);
    if (end == line) {
        return 0;
    }
    p = end;
    rss = strtoull(p, &end, 10);
    (void)size;
    if (end == p || page <= 0) {
        return 0;
    }
    return (uint64_t)rss * (uint64_t)page;
}

/* A code's label: the coachq.v1.Code name, e.g. "OK". */
static const char *code_label(int code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&coachq__v1__code__descriptor, code);

    return v != NULL ? v->name : "UNKNOWN";
}

/* Each step writes one family; rc carries the first failure through. */
#define TRY(x)                                                                                     \
    do {                                                                                           \
        rc = (x);                                                                                  \
        if (rc < 0) {                                                                              \
            return rc;                                                                             \
        }                                                                                          \
    } while (0)

static int write_requests(struct server *s, struct buf *b, const struct http_counts *hc)
{
    char l[160];
    char status[8];
    int rc;

    TRY(metrics_family(b, "coachq_protocol_requests_total", "counter",
                       "Protocol-port requests answered, by request kind and answer code."));
    for (int k = 0; k < SERVER_REQ_KINDS; k++) {
        for (int code = 0; code < SERVER_CODES; code++) {
            if (s->answers[k][code] == 0) {
                continue;
            }
            TRY(metrics_labels(l, sizeof(l), "kind", server_req_kind_name(k), "code",
                               code_label(code), (char *)NULL));
            TRY(metrics_sample_u64(b, "coachq_protocol_requests_total", l, s->answers[k][code]));
        }
    }
    TRY(metrics_family(b, "coachq_http_requests_total", "counter",
                       "Dashboard-port HTTP requests answered, by route and status."));
    for (int r = 0; r < HTTP_ROUTE_COUNT; r++) {
        for (int i = 0; i < HTTP_STATUS_COUNT; i++) {
            if (hc->requests[r][i] == 0) {
                continue;
            }
            snprintf(status, sizeof(status), "%d", HTTP_STATUS_MIN + i);
            TRY(metrics_labels(l, sizeof(l), "route", http_route_name((enum http_route)r), "code",
                               status, (char *)NULL));
            TRY(metrics_sample_u64(b, "coachq_http_requests_total", l, hc->requests[r][i]));
        }
    }
    TRY(metrics_family(b, "coachq_submit_ack_seconds", "histogram",
                       "Time from a submission's arrival to its answer being written, commit "
                       "and fsync included."));
    TRY(metrics_hist_write(b, "coachq_submit_ack_seconds", "", &s->ack_us, 1e6));
    return 0;
}

static int write_store(struct server *s, struct buf *b)
{
    struct store_stats st;
    int rc;

    store_get_stats(s->store, &st);
    TRY(metrics_family(b, "coachq_store_commit_duration_seconds", "histogram",
                       "Time of each write transaction's commit, fsync included."));
    TRY(metrics_hist_write(b, "coachq_store_commit_duration_seconds", "",
                           store_commit_time_hist(s->store), 1e6));
    TRY(metrics_family(b, "coachq_store_commit_records", "histogram",
                       "Records stored by each commit (group commit)."));
    TRY(metrics_hist_write(b, "coachq_store_commit_records", "",
                           store_commit_records_hist(s->store), 1));
    TRY(metrics_scalar_u64(b, "coachq_store_commits_total", "counter",
                           "Write transactions committed.", st.commits));
    TRY(metrics_scalar_u64(b, "coachq_store_records_stored_total", "counter",
                           "Observation records stored (new and amended versions).",
                           st.records_stored));
    TRY(metrics_scalar_u64(b, "coachq_store_duplicates_total", "counter",
                           "Submissions answered as duplicates of a stored record.",
                           st.duplicates));
    TRY(metrics_scalar_u64(b, "coachq_store_map_grows_total", "counter",
                           "Times the LMDB map was grown.", st.map_grows));
    TRY(metrics_scalar(b, "coachq_store_writer_cpu_seconds_total", "counter",
                       "CPU time of the writer thread spent on batches.",
                       (double)st.writer_cpu_us / 1e6));
    TRY(metrics_scalar_u64(b, "coachq_store_writer_queue_depth", "gauge",
                           "Write requests submitted to the writer and not yet completed.",
                           st.queue_depth));
    TRY(metrics_scalar_u64(b, "coachq_store_map_size_bytes", "gauge",
                           "Size of the LMDB map (it grows when full).", st.map_size));
    TRY(metrics_scalar_u64(b, "coachq_store_map_used_bytes", "gauge",
                           "Bytes of the LMDB map in use, up to its last written page.",
                           st.map_used));
    return 0;
}

static int write_connections(struct server *s, struct buf *b, const struct http_counts *hc)
{
    static const char *const ports[] = {"protocol", "dashboard", "metrics"};
    unsigned hs[3] = {0, 0, 0};
    unsigned open[3] = {0, 0, 0};
    char l[160];
    int rc;

    connset_count_states(&s->conns, &hs[0], &open[0]);
    hs[1] = hc->handshaking;
    open[1] = hc->open;
    open[2] = metrics_http_connections(s->metrics);
    TRY(metrics_family(b, "coachq_connections", "gauge",
                       "Open connections by port and state (handshake: TLS not yet done)."));
    for (int p = 0; p < 3; p++) {
        if (p == 1 && s->http == NULL) {
            continue;
        }
        TRY(metrics_labels(l, sizeof(l), "port", ports[p], "state", "handshake", (char *)NULL));
        TRY(metrics_sample_u64(b, "coachq_connections", l, hs[p]));
        TRY(metrics_labels(l, sizeof(l), "port", ports[p], "state", "open", (char *)NULL));
        TRY(metrics_sample_u64(b, "coachq_connections", l, open[p]));
    }
    TRY(metrics_family(b, "coachq_tls_handshake_failures_total", "counter",
                       "TLS connections that did not become a session, by port and reason."));
    for (int p = 0; p < 2; p++) {
        const uint64_t *f = p == 0 ? s->tls_failures : hc->tls_failures;

        if (p == 1 && s->http == NULL) {
            continue;
        }
        for (int i = 1; i < TLS_CONN_FAIL_COUNT; i++) {
            TRY(metrics_labels(l, sizeof(l), "port", ports[p], "reason",
                               tls_conn_failure_name((enum tls_conn_failure)i), (char *)NULL));
            TRY(metrics_sample_u64(b, "coachq_tls_handshake_failures_total", l, f[i]));
        }
    }
    TRY(metrics_scalar_u64(
        b, "coachq_metrics_connections_refused_total", "counter",
        "Metrics-port connections refused because its connection cap was reached.",
        metrics_http_refused(s->metrics)));
    return 0;
}

static int write_web(struct server *s, struct buf *b)
{
    struct web_stats ws;
    char l[160];
    int rc;

    memset(&ws, 0, sizeof(ws));
    if (s->web != NULL) {
        web_get_stats(s->web, &ws);
    }
    {
        const struct {
            const char *reason;
            uint64_t n;
        } fails[] = {
            {"wrong_credentials", ws.signin_failures},
            {"bad_link", ws.link_failures},
            {"throttled", ws.throttled},
            {"busy", ws.busy},
        };

        TRY(metrics_family(b, "coachq_signin_failures_total", "counter",
                           "Dashboard sign-ins refused, by reason."));
        for (size_t i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
            TRY(metrics_labels(l, sizeof(l), "reason", fails[i].reason, (char *)NULL));
            TRY(metrics_sample_u64(b, "coachq_signin_failures_total", l, fails[i].n));
        }
    }
    TRY(metrics_family(b, "coachq_dashboard_build_seconds", "histogram",
                       "Time to build a dashboard (either port), by dashboard kind."));
    for (unsigned k = 1; k < DASH_BUILD_SLOTS; k++) {
        const char *name = dashfmt_kind_name((Coachq__V1__DashboardKind)k);

        if (name == NULL) {
            continue;
        }
        TRY(metrics_labels(l, sizeof(l), "kind", name, (char *)NULL));
        TRY(metrics_hist_write(b, "coachq_dashboard_build_seconds", l, &s->dash_build_us[k], 1e6));
    }
    return 0;
}

static int write_process(struct server *s, struct buf *b)
{
    uint64_t queued = metrics_get(&s->pool_jobs.queued);
    uint64_t started = metrics_get(&s->pool_jobs.started);
    uint64_t finished = metrics_get(&s->pool_jobs.finished);
    int rc;

    /* Read in this order, started never passes queued nor finished
     * started by more than a racing job: clamp the gauges at 0. */
    TRY(metrics_family(b, "coachq_threadpool_jobs", "gauge",
                       "Dashboard, sign-in and read jobs on the thread pool: queued (waiting for "
                       "a thread) and running."));
    TRY(metrics_sample_u64(b, "coachq_threadpool_jobs", "state=\"queued\"",
                           queued > started ? queued - started : 0));
    TRY(metrics_sample_u64(b, "coachq_threadpool_jobs", "state=\"running\"",
                           started > finished ? started - finished : 0));
    TRY(metrics_scalar_u64(b, "coachq_threadpool_jobs_finished_total", "counter",
                           "Dashboard, sign-in and read jobs the thread pool finished.", finished));
    TRY(metrics_scalar_u64(b, "coachq_threadpool_threads", "gauge",
                           "Threads in the pool (UV_THREADPOOL_SIZE).", pool_threads()));
    TRY(metrics_scalar(b, "process_start_time_seconds", "gauge",
                       "Start time of the process since unix epoch in seconds.",
                       (double)(s->start_time_ms / 1000)));
    TRY(metrics_scalar_u64(b, "process_resident_memory_bytes", "gauge",
                           "Resident memory size in bytes.", resident_bytes()));
    return 0;
}

/* The metrics port's render callback: the whole exposition into out. */
static int server_metrics_render(struct buf *out, void *arg)
{
    struct server *s = arg;
    struct http_counts *hc;
    int rc;

    if (s->store == NULL) {
        return -ESHUTDOWN;
    }
    /* The dashboard port's counters are large (routes by statuses): on
     * the heap, not the loop's stack. */
    hc = malloc(sizeof(*hc));
    if (hc == NULL) {
        return -ENOMEM;
    }
    http_server_counts(s->http, hc);
    rc = write_requests(s, out, hc);
    if (rc == 0) {
        rc = write_store(s, out);
    }
    if (rc == 0) {
        rc = write_connections(s, out, hc);
    }
    if (rc == 0) {
        rc = write_web(s, out);
    }
    if (rc == 0) {
        rc = write_process(s, out);
    }
    free(hc);
    return rc;
}

int server_metrics_start(struct server *s, char *err, size_t errlen)
{
    const struct config *cfg = &s->cfg;
    struct metrics_http_opts o;

    if (!cfg->metrics_on) {
        return 0;
    }
    memset(&o, 0, sizeof(o));
    o.host = cfg->metrics_host;
    o.port = cfg->metrics_port;
    o.port_file = cfg->metrics_port_file;
    /* A scrape must arrive and be read within what a dashboard request
     * is given (--http-timeout): a slow peer is cut, however it trickles. */
    o.deadline_ms = cfg->http_request_timeout_ms;
    return metrics_http_new(s->loop, &o, server_metrics_render, s, &s->metrics, err, errlen);
}
