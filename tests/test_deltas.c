/*
 * test_deltas: a write batch's changes merged per key (store/deltas.h):
 * merged sums in order of first change, changes that add up to nothing
 * left out, a full batch written out before it takes more, a key that
 * changes its number of counts refused, and a failed write emptying the
 * batch all the same.
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

#include "deltas.h"

/* What the owner's callback was given, in order. */
struct written {
    char key[64][DELTAS_KEY_MAX + 1];
    int64_t d[64][DELTAS_COUNTS_MAX];
    size_t n[64];
    size_t count;
    int fail; /* the error to return, or 0 */
};

static int record_write(void *arg, const uint8_t *key, size_t klen, const int64_t *d, size_t n)
{
    struct written *w = arg;

    assert_true(w->count < 64);
    memcpy(w->key[w->count], key, klen);
    w->key[w->count][klen] = '\0';
    memcpy(w->d[w->count], d, n * sizeof(*d));
    w->n[w->count] = n;
    w->count++;
    return w->fail;
}

static int add(struct deltas *b, const char *key, int64_t a, int64_t c, struct written *w)
{
    int64_t d[2] = {a, c};

    return deltas_add(b, (const uint8_t *)key, strlen(key), d, 2, record_write, w);
}

/* Changes to one key add up; keys come out in order of their first
 * change; a key whose changes cancel is not written. */
static void test_merge_in_order(void **state)
{
    struct deltas *b = deltas_new(2, 1024);
    struct written *w = calloc(1, sizeof(*w));
    char key[16];

    (void)state;
    assert_non_null(b);
    assert_non_null(w);
    assert_int_equal(add(b, "k2", 1, 0, w), 0);
    assert_int_equal(add(b, "k1", 5, -1, w), 0);
    assert_int_equal(add(b, "gone", 3, 1, w), 0);
    /* More keys than the first capacity, so the table is rebuilt. */
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "m%02d", i);
        assert_int_equal(add(b, key, i, 1, w), 0);
    }
    assert_int_equal(add(b, "k2", 2, 7, w), 0);
    assert_int_equal(add(b, "gone", -3, -1, w), 0);
    assert_int_equal(add(b, "k1", -5, 1, w), 0); /* k1 cancels too */
    assert_int_equal(w->count, 0);               /* nothing written while merging */
    assert_int_equal(deltas_write(b, record_write, w), 0);
    assert_int_equal(w->count, 41);
    assert_string_equal(w->key[0], "k2");
    assert_int_equal(w->d[0][0], 3);
    assert_int_equal(w->d[0][1], 7);
    assert_int_equal(w->n[0], 2);
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof(key), "m%02d", i);
        assert_string_equal(w->key[1 + i], key);
        assert_int_equal(w->d[1 + i][0], i);
    }
    /* The batch is empty afterwards: a second write writes nothing. */
    w->count = 0;
    assert_int_equal(deltas_write(b, record_write, w), 0);
    assert_int_equal(w->count, 0);
    deltas_free(b);
    free(w);
}

/* A full batch writes what it merged before it takes a new key, so that
 * it never holds more than its most entries. */
static void test_full_batch_written_first(void **state)
{
    struct deltas *b = deltas_new(2, 4);
    struct written *w = calloc(1, sizeof(*w));

    (void)state;
    assert_non_null(b);
    assert_non_null(w);
    assert_int_equal(add(b, "a", 1, 0, w), 0);
    assert_int_equal(add(b, "b", 1, 0, w), 0);
    assert_int_equal(add(b, "c", 1, 0, w), 0);
    assert_int_equal(add(b, "d", 1, 0, w), 0);
    assert_int_equal(w->count, 0);
    assert_int_equal(add(b, "a", 1, 0, w), 0); /* full: the four go out first */
    assert_int_equal(w->count, 4);
    assert_true(b->n <= 4);
    assert_int_equal(deltas_write(b, record_write, w), 0);
    assert_int_equal(w->count, 5);
    assert_string_equal(w->key[4], "a");
    assert_int_equal(w->d[4][0], 1);
    deltas_free(b);
    free(w);
}

/* Lengths out of range, and one key merged with two numbers of counts,
 * are refused; a write that fails still empties the batch. */
static void test_refusals(void **state)
{
    struct deltas *b = deltas_new(4, 16);
    struct written *w = calloc(1, sizeof(*w));
    uint8_t big[DELTAS_KEY_MAX + 1];
    int64_t d[DELTAS_COUNTS_MAX + 1] = {1};

    (void)state;
    assert_non_null(b);
    assert_non_null(w);
    memset(big, 'x', sizeof(big));
    assert_int_equal(deltas_add(b, big, sizeof(big), d, 1, record_write, w), -EINVAL);
    assert_int_equal(deltas_add(b, big, 0, d, 1, record_write, w), -EINVAL);
    assert_int_equal(deltas_add(b, big, 4, d, 0, record_write, w), -EINVAL);
    assert_int_equal(deltas_add(b, big, 4, d, DELTAS_COUNTS_MAX + 1, record_write, w), -EINVAL);
    assert_int_equal(deltas_add(b, big, DELTAS_KEY_MAX, d, DELTAS_COUNTS_MAX, record_write, w), 0);
    assert_int_equal(deltas_add(b, big, 4, d, 2, record_write, w), 0);
    assert_int_equal(deltas_add(b, big, 4, d, 3, record_write, w), -EINVAL);
    w->fail = -EIO;
    assert_int_equal(deltas_write(b, record_write, w), -EIO);
    assert_int_equal(w->count, 1); /* it stopped at the first failure */
    w->fail = 0;
    w->count = 0;
    assert_int_equal(deltas_write(b, record_write, w), 0);
    assert_int_equal(w->count, 0);
    assert_null(deltas_new(0, 4));
    assert_null(deltas_new(8, 4));
    assert_null(deltas_new(3, 4));  /* not a power of two */
    assert_null(deltas_new(4, 12)); /* nor this */
    deltas_free(b);
    deltas_free(NULL);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_in_order),
        cmocka_unit_test(test_full_batch_written_first),
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
