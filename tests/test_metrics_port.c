/*
 * Tests of coachqd's /metrics against a real server over real TLS with a
 * real LMDB, driven by the real client library and HTTPS browser: each
 * counter moves by exactly what was done (submissions, a dashboard, a
 * failed sign-in, refused handshakes), the exposition passes Prometheus's
 * own `promtool check metrics` with no error or lint warning, crafted paths
 * and frames make no new series, and the metrics port survives garbage,
 * oversized requests, a slowloris and a connection flood while the other
 * ports carry on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "client.h"
#include "testutil.h"

#define WATCHDOG_S 240
/* The metrics port's deadline in this test (--http-timeout), ms. */
#define DEADLINE_MS 1500
/* The metrics port's connection cap (metrics_http.c's default). */
#define METRICS_CONNS 16

struct fx {
    struct testutil_web w; /* dir, data and srv are what this test uses */
    int mport;
    char mport_file[700];
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int tcp_connect(int port)
{
    int fd = testutil_tcp_connect(port, 10);

    assert_true(fd >= 0);
    return fd;
}

/* Reads until the server closes (or limit_ms passes) into a malloc'd,
 * NUL-terminated string (caller frees). *closed_ms gets how long the
 * server took to close, or -1. */
static char *tcp_read_all(int fd, int64_t limit_ms, int64_t *closed_ms)
{
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    int64_t start = mono_ms();

    assert_non_null(out);
    *closed_ms = -1;
    for (;;) {
        int64_t left = limit_ms - (mono_ms() - start);
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t k;

        if (left <= 0) {
            break;
        }
        if (poll(&p, 1, (int)left) <= 0) {
            continue;
        }
        if (len + 4096 + 1 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        k = recv(fd, out + len, 4096, 0);
        if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) {
            *closed_ms = mono_ms() - start;
            break;
        }
        if (k > 0) {
            len += (size_t)k;
        }
    }
    out[len] = '\0';
    return out;
}

/* One raw request to the metrics port; returns the whole answer (caller
 * frees) and its status in *status (0 if none). */
static char *metrics_raw(int port, const char *req, size_t len, int *status)
{
    int fd = tcp_connect(port);
    int64_t closed;
    char *out;

    testutil_tcp_send(fd, req, len);
    out = tcp_read_all(fd, 10000, &closed);
    close(fd);
    *status = 0;
    if (strncmp(out, "HTTP/1.1 ", 9) == 0) {
        *status = (int)strtol(out + 9, NULL, 10);
    }
    return out;
}

/* GET /metrics: the body (caller frees). Fails unless 200 with the
 * exposition format's content type. */
static char *scrape(const struct fx *f)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    int status;
    char *all = metrics_raw(f->mport, req, sizeof(req) - 1, &status);
    char *body, *copy;

    assert_int_equal(status, 200);
    assert_non_null(strstr(all, "Content-Type: text/plain; version=0.0.4"));
    body = strstr(all, "\r\n\r\n");
    assert_non_null(body);
    copy = strdup(body + 4);
    assert_non_null(copy);
    free(all);
    return copy;
}

/* The value of series (name with its labels exactly as written, e.g.
 * coachq_x{a="b"}) in body, or 0 when it is absent (a counter not yet
 * moved is not written). */
static double value(const char *body, const char *series)
{
    size_t n = strlen(series);
    const char *p = body;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == body || p[-1] == '\n') && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
        p += n;
    }
    return 0;
}

static double delta(const char *before, const char *after, const char *series)
{
    return value(after, series) - value(before, series);
}

/* Scrapes until series moved by want from before (the server counts a
 * closed connection a moment after the client sees it), at most 10 s.
 * Returns the last scrape (caller frees). */
static char *scrape_until(const struct fx *f, const char *before, const char *series, double want)
{
    int64_t until = mono_ms() + 10000 * (int64_t)testutil_timeout_scale();

    for (;;) {
        char *now = scrape(f);

        if (delta(before, now, series) >= want || mono_ms() > until) {
            return now;
        }
        free(now);
        testutil_sleep_ms(50);
    }
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char out[8192], pw[700], port[32];
    const char *args[16];
    FILE *fp;

    assert_non_null(f);
    testutil_watchdog(WATCHDOG_S);
    testutil_tmpdir(f->w.dir, sizeof(f->w.dir));
    snprintf(f->w.data, sizeof(f->w.data), "%s/data", f->w.dir);
    testutil_seed_org(f->w.data);
    snprintf(pw, sizeof(pw), "%s/password", f->w.dir);
    write_file(pw, TESTUTIL_WEB_PASSWORD "\n");
    testutil_coachqd(out, sizeof(out), 0, "user", "password", "--data", f->w.data,
                     "--password-file", pw, "flm.cara", NULL);
    snprintf(f->mport_file, sizeof(f->mport_file), "%s/metrics.port", f->w.dir);
    args[0] = "--metrics";
    args[1] = "127.0.0.1:0";
    args[2] = "--metrics-port-file";
    args[3] = f->mport_file;
    args[4] = "--http-timeout";
    snprintf(port, sizeof(port), "%d", DEADLINE_MS * (int)testutil_timeout_scale());
    args[5] = port;
    args[6] = "--handshake-timeout";
    args[7] = port;
    args[8] = NULL;
    testutil_server_start(&f->w.srv, f->w.data, args);
    /* The metrics port is bound after the other two, whose files the
     * start waited for. */
    for (int i = 0; i < 500 && (fp = fopen(f->mport_file, "r")) == NULL; i++) {
        testutil_sleep_ms(10);
    }
    if (fp == NULL) {
        /* cmocka runs no teardown after a failed setup: stop it here. */
        testutil_server_abandon(&f->w.srv);
        fail_msg("coachqd wrote no metrics port file %s", f->mport_file);
    }
    assert_non_null(fgets(port, sizeof(port), fp));
    fclose(fp);
    f->mport = (int)strtol(port, NULL, 10);
    assert_true(f->mport > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    if (f == NULL) {
        return 0;
    }
    testutil_stop_clean(&f->w.srv);
    testutil_rmrf(f->w.dir);
    free(f);
    return 0;
}

/* Connects with the certificate of user ("" = none) and expects a refusal. */
static void connect_refused(const struct fx *f, const char *user)
{
    struct client_opts o;
    struct client_error e;
    struct client *c = NULL;

    testutil_client_opts(&o, &f->w.srv, user, 1);
    o.timeout_ms = 5000;
    assert_true(client_connect(&o, &c, &e) < 0);
    assert_null(c);
}

/* Pipes body through `promtool check metrics`: it must exit 0 and print
 * nothing (no error, no lint warning). */
static void promtool_check(const struct fx *f, const char *body)
{
    char in[700], outp[700], cmd[1600];
    char line[512];
    FILE *fp;
    int rc, lines = 0;

    if (system("command -v promtool >/dev/null 2>&1") != 0) {
        fail_msg("promtool is not installed: run ./dev.sh setup (Debian's prometheus package)");
    }
    snprintf(in, sizeof(in), "%s/scrape.txt", f->w.dir);
    snprintf(outp, sizeof(outp), "%s/promtool.out", f->w.dir);
    write_file(in, body);
    snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' > '%s' 2>&1", in, outp);
    rc = system(cmd);
    fp = fopen(outp, "r");
    assert_non_null(fp);
    while (fgets(line, sizeof(line), fp) != NULL) {
        print_message("promtool: %s", line);
        lines++;
    }
    fclose(fp);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 0);
    assert_int_equal(lines, 0);
}

/* ---- Counters move by exactly what was done ------------------------------ */

static void test_counters_and_promtool(void **state)
{
    struct fx *f = *state;
    struct testutil_http_resp r = {0};
    char cookie[256];
    char *s0, *s1, *s2, *s3;

    s0 = scrape(f);

    /* Three observations over the protocol: three submits answered OK,
     * three acks timed, three records committed. */
    testutil_web_submit(&f->w, "flm.cara", "rep.ida", 3, NULL);
    s1 = scrape(f);
    assert_true(delta(s0, s1, "coachq_protocol_requests_total{kind=\"submit\",code=\"OK\"}") == 3);
    assert_true(delta(s0, s1, "coachq_submit_ack_seconds_count") == 3);
    assert_true(delta(s0, s1, "coachq_store_records_stored_total") == 3);
    assert_true(delta(s0, s1, "coachq_store_commit_records_sum") == 3);
    assert_true(delta(s0, s1, "coachq_store_commit_records_count") >= 1);
    assert_true(delta(s0, s1, "coachq_store_commit_duration_seconds_count") ==
                delta(s0, s1, "coachq_store_commits_total"));
    assert_true(value(s1, "coachq_store_map_size_bytes") > 0);
    assert_true(value(s1, "coachq_store_map_used_bytes") > 0);
    assert_true(value(s1, "coachq_store_map_used_bytes") <=
                value(s1, "coachq_store_map_size_bytes"));
    assert_true(value(s1, "coachq_store_writer_queue_depth") == 0);
    assert_true(value(s1, "coachq_threadpool_threads") >= 1);
    assert_true(value(s1, "process_resident_memory_bytes") > 0);
    assert_true(value(s1, "process_start_time_seconds") > 1.6e9);

    /* A failed sign-in, a good one, and one dashboard page. */
    assert_int_equal(
        testutil_web_signin(&f->w, "flm.cara", "wrong-password-1", cookie, sizeof(cookie), NULL),
        401);
    assert_int_equal(
        testutil_web_signin(&f->w, "flm.cara", TESTUTIL_WEB_PASSWORD, cookie, sizeof(cookie), NULL),
        303);
    assert_int_equal(testutil_web_req(&f->w, "GET", "/d/me", cookie, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    s2 = scrape(f);
    assert_true(delta(s1, s2, "coachq_signin_failures_total{reason=\"wrong_credentials\"}") == 1);
    assert_true(delta(s1, s2, "coachq_http_requests_total{route=\"page\",code=\"200\"}") == 1);
    assert_true(delta(s1, s2, "coachq_http_requests_total{route=\"signin\",code=\"303\"}") == 1);
    assert_true(delta(s1, s2, "coachq_dashboard_build_seconds_count{kind=\"me\"}") == 1);
    assert_true(delta(s1, s2, "coachq_dashboard_build_seconds_count{kind=\"manager\"}") == 0);
    assert_true(delta(s1, s2, "coachq_protocol_requests_total{kind=\"submit\",code=\"OK\"}") == 0);
    assert_true(value(s2, "coachq_connections{port=\"metrics\",state=\"open\"}") == 1);

    /* The same dashboard over the protocol port counts in the same
     * histogram, and as a get_dashboard request. */
    {
        struct client *c = testutil_connect(&f->w.srv, "flm.cara", 0);
        Coachq__V1__GetDashboard q = COACHQ__V1__GET_DASHBOARD__INIT;
        Coachq__V1__Dashboard *d = NULL;
        struct client_error e;

        q.kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING;
        assert_int_equal(client_dashboard(c, &q, &d, &e), 0);
        coachq__v1__dashboard__free_unpacked(d, NULL);
        client_free(c);
    }
    s3 = scrape(f);
    assert_true(delta(s2, s3, "coachq_dashboard_build_seconds_count{kind=\"me\"}") == 1);
    assert_true(
        delta(s2, s3, "coachq_protocol_requests_total{kind=\"get_dashboard\",code=\"OK\"}") == 1);
    free(s2);
    s2 = s3;

    /* A sessions-held import the server refuses answers with its errors,
     * not an Error frame: counted as INVALID_ARGUMENT, not OK; a good
     * dry run counts OK. */
    {
        static const char bad[] = "coach_id,coachee_id,date\nnobody,rep.ida,2024-04-02\n";
        static const char good[] = "coach_id,coachee_id,date\nflm.cara,rep.ida,2024-04-02\n";
        struct client *c = testutil_connect(&f->w.srv, "lead.gil", 0);
        Coachq__V1__SessionsImported *res = NULL;
        struct client_error e;

        assert_int_equal(client_import_sessions(c, bad, sizeof(bad) - 1, "bad.csv", 0, &res, &e),
                         0);
        assert_non_null(res);
        assert_true(res->errors_total > 0);
        coachq__v1__sessions_imported__free_unpacked(res, NULL);
        res = NULL;
        assert_int_equal(client_import_sessions(c, good, sizeof(good) - 1, "good.csv", 1, &res, &e),
                         0);
        assert_non_null(res);
        assert_int_equal(res->errors_total, 0);
        coachq__v1__sessions_imported__free_unpacked(res, NULL);
        client_free(c);
    }
    s3 = scrape(f);
    assert_true(delta(s2, s3,
                      "coachq_protocol_requests_total{kind=\"import_sessions\",code=\"INVALID_"
                      "ARGUMENT\"}") == 1);
    assert_true(
        delta(s2, s3, "coachq_protocol_requests_total{kind=\"import_sessions\",code=\"OK\"}") == 1);
    free(s2);
    s2 = s3;

    /* Handshakes that fail: no client certificate, one from another CA. */
    connect_refused(f, "");
    s3 = scrape_until(
        f, s2,
        "coachq_tls_handshake_failures_total{port=\"protocol\",reason=\"no_client_certificate\"}",
        1);
    assert_true(delta(s2, s3,
                      "coachq_tls_handshake_failures_total{port=\"protocol\",reason="
                      "\"no_client_certificate\"}") == 1);
    free(s2);
    s2 = s3;
    connect_refused(f, "../other/users/alice");
    s3 = scrape_until(
        f, s2, "coachq_tls_handshake_failures_total{port=\"protocol\",reason=\"unknown_ca\"}", 1);
    assert_true(delta(s2, s3,
                      "coachq_tls_handshake_failures_total{port=\"protocol\",reason="
                      "\"unknown_ca\"}") == 1);
    assert_true(delta(s2, s3,
                      "coachq_tls_handshake_failures_total{port=\"protocol\",reason="
                      "\"no_client_certificate\"}") == 0);
    free(s2);
    s2 = s3;
    /* A user disabled while the server runs: refused at the next
     * connection, as revoked_or_disabled. */
    {
        char out[4096];

        testutil_coachqd(out, sizeof(out), 0, "user", "disable", "--data", f->w.data, "dave", NULL);
    }
    connect_refused(f, "dave");
    s3 = scrape_until(
        f, s2,
        "coachq_tls_handshake_failures_total{port=\"protocol\",reason=\"revoked_or_disabled\"}", 1);
    assert_true(delta(s2, s3,
                      "coachq_tls_handshake_failures_total{port=\"protocol\",reason="
                      "\"revoked_or_disabled\"}") == 1);
    free(s2);
    s2 = s3;
    /* Plain HTTP sent to the dashboard's TLS port: a protocol error there. */
    {
        int fd = tcp_connect(f->w.srv.dash_port);
        int64_t closed;
        char *rest;

        testutil_tcp_send(fd, "GET / HTTP/1.1\r\n\r\n", 18);
        rest = tcp_read_all(fd, 10000, &closed);
        free(rest);
        close(fd);
    }
    s3 = scrape_until(
        f, s2, "coachq_tls_handshake_failures_total{port=\"dashboard\",reason=\"protocol_error\"}",
        1);
    assert_true(delta(s2, s3,
                      "coachq_tls_handshake_failures_total{port=\"dashboard\",reason="
                      "\"protocol_error\"}") == 1);
    free(s2);
    s2 = s3;
    /* A peer that connects and never starts its handshake: timeout. */
    {
        int fd = tcp_connect(f->w.srv.port);
        int64_t closed;
        char *rest = tcp_read_all(fd, 20000 * (int64_t)testutil_timeout_scale(), &closed);

        free(rest);
        close(fd);
        assert_true(closed >= 0);
    }
    s3 = scrape_until(
        f, s2, "coachq_tls_handshake_failures_total{port=\"protocol\",reason=\"timeout\"}", 1);
    assert_true(
        delta(s2, s3,
              "coachq_tls_handshake_failures_total{port=\"protocol\",reason=\"timeout\"}") == 1);

    promtool_check(f, s3);
    free(s0);
    free(s1);
    free(s2);
    free(s3);
    testutil_assert_alive(&f->w.srv);
}

/* ---- Labels come from fixed sets only ----------------------------------- */

/* Every sample line's label values are plain words, and no line holds
 * what the hostile requests carried. */
static void assert_labels_plain(const char *body)
{
    const char *p = body;

    assert_null(strstr(body, "script"));
    assert_null(strstr(body, "evil"));
    assert_null(strstr(body, "%"));
    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t n = eol != NULL ? (size_t)(eol - p) : strlen(p);
        const char *q = p;

        if (*p != '#') {
            /* Inside quotes only [A-Za-z0-9_.+-]. */
            int inq = 0;

            for (; q < p + n; q++) {
                if (*q == '"') {
                    inq = !inq;
                } else if (inq) {
                    char ch = *q;

                    assert_true((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '+' ||
                                ch == '-');
                }
            }
        }
        p += n;
        if (*p == '\n') {
            p++;
        }
    }
}

static size_t count_lines(const char *body)
{
    size_t n = 0;

    for (const char *p = body; *p != '\0'; p++) {
        n += *p == '\n';
    }
    return n;
}

static void test_crafted_labels(void **state)
{
    struct fx *f = *state;
    static const char *const paths[] = {
        "/d/evil%22%7Dx%7Bkind=%22script",
        "/api/v1/dashboards/evil\"script/tables/x.csv",
        "/evil/%3Cscript%3E",
        "/api/v1/evil",
        "/static/evil.css",
    };
    struct testutil_http_resp r = {0};
    char *s0, *s1;
    int status;
    char *all;

    s0 = scrape(f);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
            int st = testutil_https(f->w.srv.dash_port, "GET", paths[i], NULL, NULL, &r);

            assert_true(st >= 400 || st == -1);
            testutil_http_resp_free(&r);
        }
        /* And the metrics port's own: nothing it is sent becomes a label. */
        all = metrics_raw(f->mport, "GET /metrics%22evil HTTP/1.1\r\n\r\n", 33, &status);
        assert_int_equal(status, 404);
        free(all);
        if (round == 0) {
            free(s0);
            s0 = scrape(f);
        }
    }
    s1 = scrape(f);
    assert_labels_plain(s1);
    /* The second round made no series the first had not made. */
    assert_int_equal(count_lines(s0), count_lines(s1));
    free(s0);
    free(s1);
}

/* ---- The metrics port under attack -------------------------------------- */

static void test_hostile(void **state)
{
    struct fx *f = *state;
    char big[6000];
    int status;
    char *all;
    int64_t closed;
    int fds[METRICS_CONNS + 8];
    char *s0, *s1;

    /* Garbage, a wrong method, another path, an oversized request. */
    all = metrics_raw(f->mport, "\x01\x02garbage\r\n\r\n", 13, &status);
    assert_int_equal(status, 400);
    free(all);
    all = metrics_raw(f->mport, "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 49,
                      &status);
    assert_int_equal(status, 405);
    assert_non_null(strstr(all, "Allow: GET, HEAD"));
    free(all);
    all = metrics_raw(f->mport, "GET /metricsx HTTP/1.1\r\n\r\n", 26, &status);
    assert_int_equal(status, 404);
    free(all);
    all = metrics_raw(f->mport, "GET /metrics HTTP/2.0\r\n\r\n", 25, &status);
    assert_int_equal(status, 400);
    free(all);
    memset(big, 'A', sizeof(big));
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
    all = metrics_raw(f->mport, big, sizeof(big), &status);
    assert_int_equal(status, 431);
    free(all);

    /* A slowloris: half a request line, then silence. The port closes it
     * at its deadline, whatever trickles in. */
    {
        int fd = tcp_connect(f->mport);
        char *rest;

        testutil_tcp_send(fd, "GET /met", 8);
        testutil_sleep_ms(DEADLINE_MS / 3);
        testutil_tcp_send(fd, "r", 1);
        rest = tcp_read_all(fd, 4L * DEADLINE_MS * testutil_timeout_scale(), &closed);
        assert_true(closed >= 0);
        assert_int_equal(strlen(rest), 0);
        free(rest);
        close(fd);
    }

    /* A flood: more connections than the cap, all silent. The extra ones
     * are closed at once; the protocol port and dashboards carry on. */
    s0 = scrape(f);
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        fds[i] = tcp_connect(f->mport);
    }
    testutil_web_submit(&f->w, "flm.cara", "rep.ida", 1, NULL);
    {
        struct testutil_http_resp r = {0};

        assert_int_equal(testutil_https(f->w.srv.dash_port, "GET", "/signin", NULL, NULL, &r), 200);
        testutil_http_resp_free(&r);
    }
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        close(fds[i]);
    }
    /* Once the flood's slots are given back, scrapes work again. */
    {
        int64_t until = mono_ms() + 10000 * (int64_t)testutil_timeout_scale();

        for (;;) {
            int fd = tcp_connect(f->mport);
            char *out;

            testutil_tcp_send(fd, "GET /metrics HTTP/1.1\r\n\r\n", 25);
            out = tcp_read_all(fd, 5000, &closed);
            close(fd);
            if (strncmp(out, "HTTP/1.1 200", 12) == 0) {
                free(out);
                break;
            }
            free(out);
            assert_true(mono_ms() < until);
            testutil_sleep_ms(50);
        }
    }
    s1 = scrape(f);
    assert_true(delta(s0, s1, "coachq_metrics_connections_refused_total") >= 8);
    assert_true(delta(s0, s1, "coachq_protocol_requests_total{kind=\"submit\",code=\"OK\"}") == 1);
    free(s0);
    free(s1);
    testutil_assert_alive(&f->w.srv);
}

/* ---- Options -------------------------------------------------------------- */

static void test_non_loopback_refused(void **state)
{
    char out[4096];

    (void)state;
    /* Usage errors (exit 2) before anything is opened. */
    testutil_coachqd(out, sizeof(out), 2, "--metrics", "0.0.0.0:0", NULL);
    assert_non_null(strstr(out, "--metrics-any-host"));
    testutil_coachqd(out, sizeof(out), 2, "--metrics", "example.com:9100", NULL);
    testutil_coachqd(out, sizeof(out), 2, "--metrics", "nonsense", NULL);
}

/* The calibration list and history are reads: jobs of the thread pool,
 * not requests of the writer thread (server_cal.c). */
static void test_calibration_reads_on_pool(void **state)
{
    struct fx *f = *state;
    Coachq__V1__CalibrationRequest q = COACHQ__V1__CALIBRATION_REQUEST__INIT;
    Coachq__V1__CalibrationAnswer *ans = NULL;
    struct client_error err;
    struct client *c = testutil_connect(&f->w.srv, "obs.ann", 0);
    char *s0, *s1;

    s0 = scrape(f);
    q.action = COACHQ__V1__CALIBRATION_REQUEST__ACTION__ACTION_REFERENCES;
    memset(&err, 0, sizeof(err));
    assert_int_equal(client_calibration(c, &q, &ans, &err), 0);
    coachq__v1__calibration_answer__free_unpacked(ans, NULL);
    ans = NULL;
    q.action = COACHQ__V1__CALIBRATION_REQUEST__ACTION__ACTION_HISTORY;
    assert_int_equal(client_calibration(c, &q, &ans, &err), 0);
    assert_string_equal(ans->observer_id, "obs.ann");
    coachq__v1__calibration_answer__free_unpacked(ans, NULL);
    s1 = scrape_until(f, s0, "coachq_protocol_requests_total{kind=\"calibration\",code=\"OK\"}", 2);
    assert_true(delta(s0, s1, "coachq_protocol_requests_total{kind=\"calibration\",code=\"OK\"}") ==
                2);
    assert_true(delta(s0, s1, "coachq_threadpool_jobs_finished_total") == 2);
    client_free(c);
    free(s0);
    free(s1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_non_loopback_refused),
        cmocka_unit_test_setup_teardown(test_counters_and_promtool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crafted_labels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calibration_reads_on_pool, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
