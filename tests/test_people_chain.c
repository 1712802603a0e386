/*
 * test_people_chain: people_chain_has_at() (store/people.c), the walk up a
 * management chain that ends at the person asked about, against
 * people_chain_at()'s whole chain.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "people.h"
#include "store.h"
#include "testutil.h"

struct line_arg {
    const char *person;
    const char *manager;
    int32_t day;
};

static int line_put_fn(struct store_txn *t, void *arg)
{
    struct line_arg *a = arg;
    int changed = -1;

    return people_line_put(t, a->person, a->manager, a->day, &changed);
}

static void line_set(struct store *s, const char *person, const char *manager, int32_t day)
{
    struct line_arg a = {person, manager, day};

    assert_int_equal(store_exec(s, line_put_fn, &a), 0);
}

struct has_arg {
    const char *person;
    const char *ancestor;
    int32_t day;
    int yes;
    int rc;
    int whole; /* from people_chain_at(): ancestor among the ids */
};

static int has_fn(struct store_txn *t, void *arg)
{
    struct has_arg *a = arg;
    char ids[PEOPLE_MAX_CHAIN][65];
    size_t n = 0;
    int rc;

    a->yes = -1;
    a->rc = people_chain_has_at(t, a->person, a->day, a->ancestor, &a->yes);
    rc = people_chain_at(t, a->person, a->day, ids, &n);
    a->whole = 0;
    for (size_t i = 0; i < n; i++) {
        a->whole |= strcmp(ids[i], a->ancestor) == 0;
    }
    return rc == -EINVAL ? 0 : rc;
}

/* Fails the test unless ancestor's being in person's chain on day is want,
 * and people_chain_at() says the same. */
static void expect_has(struct store *s, const char *person, int32_t day, const char *ancestor,
                       int want)
{
    struct has_arg a = {person, ancestor, day, -1, -1, -1};

    assert_int_equal(store_view(s, has_fn, &a), 0);
    assert_int_equal(a.rc, 0);
    assert_int_equal(a.yes, want);
    assert_int_equal(a.whole, want);
}

/* A chain a -> b -> c -> d changing on day 20, a cycle, a chain past the
 * cap: the ancestor at every height, above the top, the person itself,
 * before a change, and past PEOPLE_MAX_CHAIN. */
static void test_chain_has(void **state)
{
    char dir[512];
    struct store *s;
    char id[16], up[16];
    struct has_arg bad = {"no such!", "b", 1, -1, -1, -1};

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    s = testutil_store_open(dir, 0);
    line_set(s, "a", "b", 10);
    line_set(s, "b", "c", 10);
    line_set(s, "c", "d", 20);
    line_set(s, "c", "e", 30);
    expect_has(s, "a", 15, "b", 1);
    expect_has(s, "a", 15, "c", 1);
    expect_has(s, "a", 15, "d", 0);
    expect_has(s, "a", 25, "d", 1);
    expect_has(s, "a", 35, "d", 0);
    expect_has(s, "a", 35, "e", 1);
    expect_has(s, "a", 5, "b", 0);
    expect_has(s, "a", 25, "a", 0);
    expect_has(s, "b", 25, "b", 0);
    expect_has(s, "d", 25, "a", 0);
    /* A cycle x -> y -> z -> x: the person is never their own line. */
    line_set(s, "x", "y", 1);
    line_set(s, "y", "z", 1);
    line_set(s, "z", "x", 1);
    expect_has(s, "x", 1, "z", 1);
    expect_has(s, "x", 1, "x", 0);
    expect_has(s, "x", 1, "q", 0);
    /* c00 -> ... -> c20: c16 is the last the chain holds. */
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "c%02d", i);
        snprintf(up, sizeof(up), "c%02d", i + 1);
        line_set(s, id, up, 1);
    }
    expect_has(s, "c00", 1, "c16", 1);
    expect_has(s, "c00", 1, "c17", 0);
    /* An id the store refuses. */
    assert_int_equal(store_view(s, has_fn, &bad), 0);
    assert_int_equal(bad.rc, -EINVAL);
    assert_int_equal(bad.yes, 0);
    store_close(s);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_has),
    };

    testutil_watchdog(60);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
