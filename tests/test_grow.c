/*
 * Tests of grow, the doubling step of the heap arrays: the first capacity,
 * doubling after it, a need larger than twice the capacity, no change when
 * the room is there, the contents kept across a reallocation, and refusal
 * with the array and its capacity unchanged when the bytes would overflow a
 * size_t or the element size is 0.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "grow.h"

struct pair {
    int a;
    double b;
};

static void test_first_then_double(void **state)
{
    struct pair *v = NULL;
    size_t cap = 0, n;

    (void)state;
    assert_int_equal(GROW_ARRAY(v, cap, 1, 4), 0);
    assert_non_null(v);
    assert_int_equal(cap, 4);
    for (n = 0; n < 4; n++) {
        v[n].a = (int)n;
        v[n].b = (double)n / 2;
    }
    /* Room for 4: asking for 4 again changes nothing. */
    assert_int_equal(GROW_ARRAY(v, cap, 4, 4), 0);
    assert_int_equal(cap, 4);
    assert_int_equal(GROW_ARRAY(v, cap, 5, 4), 0);
    assert_int_equal(cap, 8);
    for (n = 4; n < 8; n++) {
        v[n].a = (int)n;
        v[n].b = (double)n / 2;
    }
    assert_int_equal(GROW_ARRAY(v, cap, 9, 4), 0);
    assert_int_equal(cap, 16);
    for (n = 0; n < 8; n++) {
        assert_int_equal(v[n].a, (int)n);
        assert_true(v[n].b == (double)n / 2);
    }
    free(v);
}

static void test_need_past_double(void **state)
{
    uint64_t *v = NULL;
    size_t cap = 0;

    (void)state;
    /* A first capacity smaller than the need, and a need past twice the
     * capacity, both give exactly the need. */
    assert_int_equal(GROW_ARRAY(v, cap, 100, 16), 0);
    assert_int_equal(cap, 100);
    assert_int_equal(GROW_ARRAY(v, cap, 1000, 16), 0);
    assert_int_equal(cap, 1000);
    v[999] = 7;
    free(v);

    /* A first capacity of 0 means the need itself. */
    v = NULL;
    cap = 0;
    assert_int_equal(GROW_ARRAY(v, cap, 3, 0), 0);
    assert_int_equal(cap, 3);
    free(v);
}

static void test_need_zero(void **state)
{
    char *v = NULL;
    size_t cap = 0;

    (void)state;
    /* The function itself, as GROW_ARRAY() does not call it then. */
    assert_int_equal(grow_array(&v, &cap, 0, sizeof(*v), 8), 0);
    assert_null(v);
    assert_int_equal(cap, 0);
}

static void test_overflow_refused(void **state)
{
    uint64_t *v = NULL;
    size_t cap = 0;

    (void)state;
    assert_int_equal(GROW_ARRAY(v, cap, 2, 2), 0);
    v[0] = 41;
    v[1] = 42;
    /* need * 8 bytes does not fit in a size_t. */
    assert_int_equal(GROW_ARRAY(v, cap, SIZE_MAX / 8 + 1, 2), -EOVERFLOW);
    assert_int_equal(cap, 2);
    assert_non_null(v);
    assert_int_equal(v[1], 42);
    free(v);
}

static void test_zero_elem_refused(void **state)
{
    void *v = NULL;
    size_t cap = 0;

    (void)state;
    assert_int_equal(grow_array(&v, &cap, 1, 0, 4), -EINVAL);
    assert_null(v);
    assert_int_equal(cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_then_double), cmocka_unit_test(test_need_past_double),
        cmocka_unit_test(test_need_zero),         cmocka_unit_test(test_overflow_refused),
        cmocka_unit_test(test_zero_elem_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
