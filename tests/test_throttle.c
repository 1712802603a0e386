/* Tests of web/throttle.c: the free budget, backoff doubling to its
 * cap, attempts while blocked not counted, failures forgotten with time,
 * reset, the table's fixed size under a flood of made-up keys (and that a
 * blocked key is not pushed out by keys that failed less recently than
 * it), and address keys (IPv4, IPv4-mapped, IPv6 /64, junk). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "throttle.h"

static const struct throttle_opts opts = {
    .free_failures = 3,
    .base_ms = 1000,
    .max_ms = 60000,
    .forget_ms = 600000,
    .max_entries = 100,
};

static void test_budget_and_backoff(void **state)
{
    struct throttle *t = throttle_new(&opts);
    uint64_t now = 1000000;
    uint64_t want = 1000;

    (void)state;
    assert_non_null(t);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(throttle_wait_ms(t, "u", now), 0);
        assert_int_equal(throttle_fail(t, "u", now), 0);
    }
    /* Beyond the free budget: 1 s, 2 s, 4 s ... up to the cap. */
    for (int i = 0; i < 12; i++) {
        uint64_t w = throttle_fail(t, "u", now);
        assert_int_equal(w, want);
        assert_int_equal(throttle_wait_ms(t, "u", now), want);
        assert_int_equal(throttle_wait_ms(t, "u", now + want - 1), 1);
        now += want;
        assert_int_equal(throttle_wait_ms(t, "u", now), 0);
        want = want * 2 > opts.max_ms ? opts.max_ms : want * 2;
    }
    assert_int_equal(want, opts.max_ms);
    /* Other keys are not touched. */
    assert_int_equal(throttle_wait_ms(t, "v", now), 0);
    /* Reset forgets everything. */
    throttle_fail(t, "u", now);
    assert_true(throttle_wait_ms(t, "u", now) > 0);
    throttle_reset(t, "u");
    assert_int_equal(throttle_wait_ms(t, "u", now), 0);
    assert_int_equal(throttle_fail(t, "u", now), 0);
    throttle_free(t);
}

/* Failures are forgotten one per forget_ms: after a quiet spell the free
 * budget is back. */
static void test_forgetting(void **state)
{
    struct throttle *t = throttle_new(&opts);
    uint64_t now = 5000;

    (void)state;
    for (int i = 0; i < 5; i++) {
        throttle_fail(t, "u", now);
    }
    /* 5 failures: 2 over; forgetting 2 brings it back to 3 (the budget),
     * so the next failure blocks for the base again. */
    now += 2 * opts.forget_ms;
    assert_int_equal(throttle_wait_ms(t, "u", now), 0);
    assert_int_equal(throttle_fail(t, "u", now), opts.base_ms);
    /* Long enough and all is forgotten. */
    now += 10 * opts.forget_ms;
    assert_int_equal(throttle_fail(t, "u", now), 0);
    throttle_free(t);
}

/* A flood of made-up keys never grows the table beyond max_entries. */
static void test_bounded_memory(void **state)
{
    struct throttle *t = throttle_new(&opts);
    char key[64];
    uint64_t now = 1;

    (void)state;
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "made-up-%d", i);
        throttle_fail(t, key, now++);
        assert_true(throttle_count(t) <= opts.max_entries);
    }
    assert_int_equal(throttle_count(t), opts.max_entries);
    /* Spent entries go by themselves: much later, one failure leaves
     * only itself. */
    throttle_fail(t, "late", now + 100 * opts.forget_ms);
    assert_int_equal(throttle_count(t), 1);
    /* A blocked key survives a flood of unblocked made-up keys. */
    now += 200 * opts.forget_ms;
    for (int i = 0; i < 6; i++) {
        throttle_fail(t, "victim", now);
    }
    assert_true(throttle_wait_ms(t, "victim", now) > 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "flood-%d", i);
        throttle_fail(t, key, now);
    }
    assert_true(throttle_wait_ms(t, "victim", now) > 0);
    assert_int_equal(throttle_count(t), opts.max_entries);
    /* Keys longer than the cap are cut, never overflow. */
    {
        char big[300];
        memset(big, 'k', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        for (int i = 0; i < 5; i++) {
            throttle_fail(t, big, now);
        }
        assert_true(throttle_wait_ms(t, big, now) > 0);
    }
    assert_null(throttle_new(&(struct throttle_opts){.base_ms = 1, .forget_ms = 1}));
    throttle_free(t);
    throttle_free(NULL);
}

static void test_addr_key(void **state)
{
    char k[64];

    (void)state;
    assert_int_equal(throttle_addr_key("127.0.0.2:50123", k, sizeof(k)), 0);
    assert_string_equal(k, "127.0.0.2");
    assert_int_equal(throttle_addr_key("[::ffff:192.0.2.7]:443", k, sizeof(k)), 0);
    assert_string_equal(k, "192.0.2.7");
    assert_int_equal(throttle_addr_key("[2001:db8:1:2:3:4:5:6]:443", k, sizeof(k)), 0);
    assert_string_equal(k, "2001:db8:1:2::/64");
    /* Two addresses of one /64 are one key. */
    {
        char k2[64];
        assert_int_equal(throttle_addr_key("[2001:db8:1:2:ffff::1]:1", k2, sizeof(k2)), 0);
        assert_string_equal(k, k2);
    }
    assert_int_equal(throttle_addr_key("[::1]:8443", k, sizeof(k)), 0);
    assert_string_equal(k, "::/64");
    assert_int_equal(throttle_addr_key("?", k, sizeof(k)), -EINVAL);
    assert_string_equal(k, "?");
    assert_int_equal(throttle_addr_key("[junk]:1", k, sizeof(k)), -EINVAL);
    assert_int_equal(throttle_addr_key("300.1.1.1:1", k, sizeof(k)), -EINVAL);
    assert_int_equal(throttle_addr_key(NULL, k, sizeof(k)), -EINVAL);
    assert_int_equal(throttle_addr_key("1.2.3.4:5", k, 10), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget_and_backoff),
        cmocka_unit_test(test_forgetting),
        cmocka_unit_test(test_bounded_memory),
        cmocka_unit_test(test_addr_key),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
