/*
 * Tests of metrics (lock-free histograms and the Prometheus text format):
 * buckets are cumulative with +Inf equal to the count, units convert,
 * label sets refuse anything but plain words, a full buffer fails instead
 * of growing, and threads observing at once lose nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static const uint64_t bounds[] = {10, 100, 1000};

/* b's bytes as a C string (b is left NUL-terminated, len unchanged). */
static const char *text(struct buf *b)
{
    assert_int_equal(buf_append(b, "", 1), 0);
    b->len--;
    return (const char *)b->data;
}

static void test_histogram(void **state)
{
    struct metrics_hist h;
    struct buf b;

    (void)state;
    metrics_hist_init(&h, bounds, 3);
    metrics_hist_observe(&h, 0);
    metrics_hist_observe(&h, 10); /* on a bound: that bucket (le) */
    metrics_hist_observe(&h, 11);
    metrics_hist_observe(&h, 5000); /* only +Inf */
    assert_int_equal(metrics_hist_count(&h), 4);
    buf_init(&b, 4096);
    assert_int_equal(metrics_family(&b, "x_seconds", "histogram", "A test."), 0);
    assert_int_equal(metrics_hist_write(&b, "x_seconds", "kind=\"a\"", &h, 1000), 0);
    assert_string_equal(text(&b), "# HELP x_seconds A test.\n"
                                  "# TYPE x_seconds histogram\n"
                                  "x_seconds_bucket{kind=\"a\",le=\"0.01\"} 2\n"
                                  "x_seconds_bucket{kind=\"a\",le=\"0.1\"} 3\n"
                                  "x_seconds_bucket{kind=\"a\",le=\"1\"} 3\n"
                                  "x_seconds_bucket{kind=\"a\",le=\"+Inf\"} 4\n"
                                  "x_seconds_sum{kind=\"a\"} 5.021\n"
                                  "x_seconds_count{kind=\"a\"} 4\n");
    buf_free(&b);
    buf_init(&b, 4096);
    assert_int_equal(metrics_hist_write(&b, "y", "", &h, 1), 0);
    assert_non_null(strstr(text(&b), "y_bucket{le=\"+Inf\"} 4\ny_sum 5021\ny_count 4\n"));
    buf_free(&b);
}

static void test_samples(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(metrics_sample_u64(&b, "a_total", "", UINT64_MAX), 0);
    assert_int_equal(metrics_sample(&b, "b", "x=\"1\"", 0.25), 0);
    assert_int_equal(metrics_sample(&b, "c", "", 1.0 / 0.0), 0);
    assert_int_equal(metrics_sample(&b, "d", "", 3), 0);
    assert_string_equal(text(&b), "a_total 18446744073709551615\nb{x=\"1\"} 0.25\nc +Inf\nd 3\n");
    buf_free(&b);
}

static void test_labels(void **state)
{
    char l[64];

    (void)state;
    assert_int_equal(metrics_labels(l, sizeof(l), "a", "x_1", "b", "OK", (char *)NULL), 0);
    assert_string_equal(l, "a=\"x_1\",b=\"OK\"");
    /* What could break out of the quotes or the line is refused. */
    assert_int_equal(metrics_labels(l, sizeof(l), "a", "x\"}", (char *)NULL), -EINVAL);
    assert_string_equal(l, "");
    assert_int_equal(metrics_labels(l, sizeof(l), "a", "x\ny", (char *)NULL), -EINVAL);
    assert_int_equal(metrics_labels(l, sizeof(l), "a", "", (char *)NULL), -EINVAL);
    assert_int_equal(metrics_labels(l, sizeof(l), "a", "x\\", (char *)NULL), -EINVAL);
    assert_int_equal(metrics_labels(l, sizeof(l), "a", "/d/x", (char *)NULL), -EINVAL);
    /* Too long for out: refused, not cut. */
    assert_int_equal(metrics_labels(l, 8, "a", "abcdefgh", (char *)NULL), -EINVAL);
    assert_string_equal(l, "");
    assert_false(
        metrics_label_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_bounded(void **state)
{
    struct buf b;
    int rc = 0;

    (void)state;
    buf_init(&b, 100);
    for (int i = 0; i < 100 && rc == 0; i++) {
        rc = metrics_sample_u64(&b, "a_long_enough_name_total", "", (uint64_t)i);
    }
    assert_int_equal(rc, -ENOBUFS);
    assert_true(b.len <= 100);
    buf_free(&b);
}

#define THREADS 4
#define PER_THREAD 100000

static void *observer(void *arg)
{
    struct metrics_hist *h = arg;

    for (uint64_t i = 0; i < PER_THREAD; i++) {
        metrics_hist_observe(h, i % 2000);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct metrics_hist h;
    struct metrics_pool p = {0};
    pthread_t t[THREADS];

    (void)state;
    metrics_hist_init(&h, bounds, 3);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, observer, &h), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(metrics_hist_count(&h), (uint64_t)THREADS * PER_THREAD);
    /* Each thread: 0..1999 fifty times, sum 1999000 per round. */
    assert_int_equal(metrics_get(&h.sum), (uint64_t)THREADS * 50 * 1999000);
    metrics_pool_queued(&p);
    metrics_pool_started(&p);
    metrics_pool_queued(NULL);
    assert_int_equal(metrics_get(&p.queued), 1);
    assert_int_equal(metrics_get(&p.started), 1);
    assert_int_equal(metrics_get(&p.finished), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram), cmocka_unit_test(test_samples),
        cmocka_unit_test(test_labels),    cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
