/*
 * test_testutil: the tests' own time limits. The watchdog still fails a
 * hung test, and in sanitizer builds (COACHQ_WATCHDOG_SCALE, set by
 * tests/CMakeLists.txt) its limit is stretched so that a slow run that
 * passes is not failed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs a child that sets COACHQ_WATCHDOG_SCALE to scale, arms a watchdog
 * of one second and then sleeps sleep_ms (or forever when negative).
 * Returns its wait status; *elapsed_ms is how long it lived. */
static int child_status(const char *scale, long sleep_ms, int64_t *elapsed_ms)
{
    int64_t t0 = mono_ms();
    int st = 0;
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("COACHQ_WATCHDOG_SCALE", scale, 1);
        testutil_watchdog(1);
        if (sleep_ms < 0) {
            for (;;) {
                pause();
            }
        }
        testutil_sleep_ms(sleep_ms);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    *elapsed_ms = mono_ms() - t0;
    return st;
}

/* The scale the build asked for reaches the tests through ctest. */
static void test_scale_from_the_build(void **state)
{
    const char *want = getenv("COACHQ_TEST_EXPECT_SCALE");

    (void)state;
    assert_non_null(want);
    assert_int_equal(testutil_timeout_scale(), strtoul(want, NULL, 10));
}

/* A hang still fails: exit status 99 once the (scaled) limit passes. */
static void test_hang_still_fails(void **state)
{
    int64_t ms;
    int st = child_status("1", -1, &ms);

    (void)state;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 99);
    assert_true(ms >= 900);
}

/* A run slower than the plain limit but within the scaled one passes. */
static void test_scaled_limit_lets_slow_run_pass(void **state)
{
    int64_t ms;
    int st = child_status("5", 1500, &ms);

    (void)state;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(ms >= 1500);
}

/* A scale that is not a number from 1 to 20 is refused, not read as 0
 * (which would switch the watchdog off). */
static void test_bad_scale_refused(void **state)
{
    static const char *const bad[] = {"0", "21", "abc", "3x", "-1", " "};
    int64_t ms;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int st = child_status(bad[i], 0, &ms);

        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGABRT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_from_the_build),
        cmocka_unit_test(test_hang_still_fails),
        cmocka_unit_test(test_scaled_limit_lets_slow_run_pass),
        cmocka_unit_test(test_bad_scale_refused),
    };

    testutil_watchdog(60);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
