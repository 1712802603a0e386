/*
 * Tests of buf, the byte buffer with a hard cap: appends up to the cap,
 * refusal past it with nothing appended, consuming from the front, growth
 * that never passes max, and reuse after buf_free().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

static void test_append_within_cap(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 100);

    assert_int_equal(buf_append(&b, "hello", 5), 0);
    assert_int_equal(b.len, 5);
    assert_non_null(b.data);
    assert_true(b.cap >= 5 && b.cap <= 100);
    assert_memory_equal(b.data, "hello", 5);

    assert_int_equal(buf_append(&b, " world", 6), 0);
    assert_int_equal(b.len, 11);
    assert_memory_equal(b.data, "hello world", 11);
    buf_free(&b);
}

static void test_append_zero_bytes(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    buf_free(&b);
}

static void test_exact_cap(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "0123456789", 10), 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(b.cap, 10);
    assert_memory_equal(b.data, "0123456789", 10);

    /* Full: one more byte is refused and nothing changes. */
    assert_int_equal(buf_append(&b, "x", 1), -ENOBUFS);
    assert_int_equal(b.len, 10);
    assert_int_equal(b.cap, 10);
    assert_memory_equal(b.data, "0123456789", 10);
    buf_free(&b);
}

static void test_cap_plus_one_in_one_append(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "0123456789A", 11), -ENOBUFS);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
    buf_free(&b);
}

static void test_overflow_after_partial_fill(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "abcdef", 6), 0);
    /* 6 + 5 > 10: refused whole, not truncated to the 4 that would fit. */
    assert_int_equal(buf_append(&b, "VWXYZ", 5), -ENOBUFS);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "abcdef", 6);
    /* Exactly the remaining room still fits. */
    assert_int_equal(buf_append(&b, "WXYZ", 4), 0);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "abcdefWXYZ", 10);
    buf_free(&b);
}

static void test_huge_length_refused(void **state)
{
    struct buf b;
    char one = 'x';

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, &one, 1), 0);
    /* len + n would wrap around, or land one past max; both are refused. */
    assert_int_equal(buf_append(&b, &one, SIZE_MAX), -ENOBUFS);
    assert_int_equal(buf_append(&b, &one, 10), -ENOBUFS);
    assert_int_equal(b.len, 1);
    buf_free(&b);
}

static void test_zero_max(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_append(&b, "x", 1), -ENOBUFS);
    assert_int_equal(b.len, 0);
    assert_null(b.data);
    buf_free(&b);
}

static void test_consume_partial_and_all(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 16);
    assert_int_equal(buf_append(&b, "abcdef", 6), 0);

    buf_consume(&b, 2);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "cdef", 4);

    buf_consume(&b, 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "cdef", 4);

    buf_consume(&b, 4);
    assert_int_equal(b.len, 0);

    /* Consuming from an empty buffer is harmless. */
    buf_consume(&b, 0);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_consume_frees_room(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "0123456789", 10), 0);
    buf_consume(&b, 4);
    assert_int_equal(b.len, 6);
    /* The cap counts held bytes, so consumed room is usable again. */
    assert_int_equal(buf_append(&b, "ABCD", 4), 0);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "456789ABCD", 10);
    assert_int_equal(buf_append(&b, "E", 1), -ENOBUFS);
    assert_int_equal(b.len, 10);
    assert_true(b.cap <= b.max);
    buf_free(&b);
}

static void test_growth_small_max_byte_by_byte(void **state)
{
    struct buf b;
    uint8_t want[10];

    (void)state;
    buf_init(&b, 10);
    for (size_t i = 0; i < 10; i++) {
        uint8_t c = (uint8_t)('a' + i);
        want[i] = c;
        assert_int_equal(buf_append(&b, &c, 1), 0);
        assert_int_equal(b.len, i + 1);
        assert_true(b.cap >= b.len);
        assert_true(b.cap <= 10);
    }
    assert_memory_equal(b.data, want, 10);
    assert_int_equal(buf_append(&b, "z", 1), -ENOBUFS);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, want, 10);
    buf_free(&b);
}

static void test_growth_never_passes_max(void **state)
{
    struct buf b;
    uint8_t chunk[1000];
    size_t total = 0;

    (void)state;
    /* A max that is not a power of two times the first allocation, so the
     * last doubling has to be clamped to max. */
    buf_init(&b, 10001);
    for (;;) {
        size_t n = sizeof(chunk);
        int rc;
        memset(chunk, (int)(total / sizeof(chunk)) & 0xff, sizeof(chunk));
        rc = buf_append(&b, chunk, n);
        if (total + n > 10001) {
            assert_int_equal(rc, -ENOBUFS);
            break;
        }
        assert_int_equal(rc, 0);
        total += n;
        assert_int_equal(b.len, total);
        assert_true(b.cap >= b.len);
        assert_true(b.cap <= b.max);
    }
    assert_int_equal(b.len, 10000);
    assert_int_equal(buf_append(&b, "x", 1), 0);
    assert_int_equal(b.len, 10001);
    assert_int_equal(b.cap, 10001);
    assert_int_equal(buf_append(&b, "x", 1), -ENOBUFS);
    /* Every byte kept its value across the reallocations. */
    for (size_t i = 0; i < 10000; i++) {
        assert_int_equal(b.data[i], (i / sizeof(chunk)) & 0xff);
    }
    assert_int_equal(b.data[10000], 'x');
    buf_free(&b);
}

static void test_free_and_reuse(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "12345678", 8), 0);
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 8);

    /* Reusable with the same max after free. */
    assert_int_equal(buf_append(&b, "abcdefgh", 8), 0);
    assert_memory_equal(b.data, "abcdefgh", 8);
    assert_int_equal(buf_append(&b, "i", 1), -ENOBUFS);
    buf_free(&b);
    buf_free(&b);
    buf_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_within_cap),
        cmocka_unit_test(test_append_zero_bytes),
        cmocka_unit_test(test_exact_cap),
        cmocka_unit_test(test_cap_plus_one_in_one_append),
        cmocka_unit_test(test_overflow_after_partial_fill),
        cmocka_unit_test(test_huge_length_refused),
        cmocka_unit_test(test_zero_max),
        cmocka_unit_test(test_consume_partial_and_all),
        cmocka_unit_test(test_consume_frees_room),
        cmocka_unit_test(test_growth_small_max_byte_by_byte),
        cmocka_unit_test(test_growth_never_passes_max),
        cmocka_unit_test(test_free_and_reuse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
