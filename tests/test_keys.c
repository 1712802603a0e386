/* Tests of store/keys: the byte order of index keys is the scan order. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "keys.h"
#include "testutil.h"

static size_t key_of(uint8_t *out, const char *id, int64_t t, uint8_t uuid_byte)
{
    uint8_t uuid[KEYS_UUID_LEN];
    size_t len = 0;

    memset(uuid, uuid_byte, sizeof(uuid));
    assert_int_equal(keys_index_encode(out, KEYS_INDEX_MAX, id, strlen(id), t, uuid, &len), 0);
    return len;
}

static int cmp_keys(const char *ida, int64_t ta, uint8_t ua, const char *idb, int64_t tb,
                    uint8_t ub)
{
    uint8_t a[KEYS_INDEX_MAX], b[KEYS_INDEX_MAX];
    size_t alen = key_of(a, ida, ta, ua);
    size_t blen = key_of(b, idb, tb, ub);

    return keys_compare(a, alen, b, blen);
}

static void test_time_order(void **state)
{
    /* Sorted signed values must encode to sorted byte strings. */
    static const int64_t ts[] = {INT64_MIN, INT64_MIN + 1, -1000000,      -256,     -1, 0, 1, 255,
                                 256,       1700000000,    INT64_MAX - 1, INT64_MAX};
    size_t n = sizeof(ts) / sizeof(ts[0]);

    (void)state;
    for (size_t i = 0; i + 1 < n; i++) {
        uint8_t a[KEYS_TIME_LEN], b[KEYS_TIME_LEN];

        keys_time_encode(ts[i], a);
        keys_time_encode(ts[i + 1], b);
        assert_true(memcmp(a, b, KEYS_TIME_LEN) < 0);
        assert_true(cmp_keys("coach", ts[i], 0xff, "coach", ts[i + 1], 0x00) < 0);
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t a[KEYS_TIME_LEN];

        keys_time_encode(ts[i], a);
        assert_true(keys_time_decode(a) == ts[i]);
    }
}

static void test_time_bytes(void **state)
{
    uint8_t a[KEYS_TIME_LEN];
    static const uint8_t zero[KEYS_TIME_LEN] = {0x80, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t minus1[KEYS_TIME_LEN] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

    (void)state;
    keys_time_encode(0, a);
    assert_memory_equal(a, zero, KEYS_TIME_LEN);
    keys_time_encode(-1, a);
    assert_memory_equal(a, minus1, KEYS_TIME_LEN);
}

static void test_uuid_tiebreak(void **state)
{
    (void)state;
    assert_true(cmp_keys("c1", 100, 0x01, "c1", 100, 0x02) < 0);
    assert_true(cmp_keys("c1", 100, 0x02, "c1", 100, 0x01) > 0);
    assert_int_equal(cmp_keys("c1", 100, 0x07, "c1", 100, 0x07), 0);
    /* Time decides before uuid. */
    assert_true(cmp_keys("c1", 99, 0xff, "c1", 100, 0x00) < 0);
}

static void test_ids_do_not_interleave(void **state)
{
    /* Every key of "ab" sorts apart from every key of "abc" and "b": the
     * length byte keeps one person's keys contiguous. */
    static const char *ids[] = {"a", "ab", "abc", "b", "ab\x01"};
    static const int64_t ts[] = {INT64_MIN, -5, 0, 5, INT64_MAX};

    (void)state;
    for (size_t i = 0; i < 5; i++) {
        for (size_t j = 0; j < 5; j++) {
            int sign = 0;

            if (i == j) {
                continue;
            }
            for (size_t ti = 0; ti < 5; ti++) {
                for (size_t tj = 0; tj < 5; tj++) {
                    int c = cmp_keys(ids[i], ts[ti], 0xff, ids[j], ts[tj], 0x00);

                    assert_int_not_equal(c, 0);
                    c = c < 0 ? -1 : 1;
                    if (sign == 0) {
                        sign = c;
                    }
                    /* The order of two ids never depends on the times. */
                    assert_int_equal(c, sign);
                }
            }
        }
    }
}

static void test_round_trip(void **state)
{
    uint8_t key[KEYS_INDEX_MAX];
    uint8_t uuid[KEYS_UUID_LEN];
    const char *id = NULL;
    size_t id_len = 0, len = 0;
    int64_t t = 0;
    const uint8_t *u = NULL;

    (void)state;
    for (int i = 0; i < KEYS_UUID_LEN; i++) {
        uuid[i] = (uint8_t)(i * 17 + 3);
    }
    assert_int_equal(keys_index_encode(key, sizeof(key), "coach-7", 7, -12345, uuid, &len), 0);
    assert_int_equal(len, 1 + 7 + 8 + 16);
    assert_int_equal(key[0], 7);
    assert_int_equal(keys_index_decode(key, len, &id, &id_len, &t, &u), 0);
    assert_int_equal(id_len, 7);
    assert_memory_equal(id, "coach-7", 7);
    assert_true(t == -12345);
    assert_ptr_equal(u, key + 1 + 7 + 8);
    assert_memory_equal(u, uuid, KEYS_UUID_LEN);

    /* Malformed keys. */
    assert_int_equal(keys_index_decode(key, len - 1, NULL, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(keys_index_decode(key, len + 1, NULL, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(keys_index_decode(key, 0, NULL, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(keys_index_decode(NULL, 5, NULL, NULL, NULL, NULL), -EINVAL);
    key[0] = 0;
    assert_int_equal(keys_index_decode(key, len, NULL, NULL, NULL, NULL), -EINVAL);
    key[0] = 8;
    assert_int_equal(keys_index_decode(key, len, NULL, NULL, NULL, NULL), -EINVAL);

    /* Fixed-width integers. */
    keys_put_be32(key, 0x01020304u);
    assert_int_equal(key[0], 1);
    assert_int_equal(key[3], 4);
    assert_int_equal(keys_get_be32(key), 0x01020304u);
    keys_put_be64(key, 0x0102030405060708ull);
    assert_int_equal(key[0], 1);
    assert_int_equal(key[7], 8);
    assert_true(keys_get_be64(key) == 0x0102030405060708ull);
}

static void test_prefix_bounds(void **state)
{
    uint8_t prefix[KEYS_INDEX_MAX], lo[KEYS_BOUND_MAX], hi[KEYS_BOUND_MAX];
    uint8_t key[KEYS_INDEX_MAX];
    size_t plen = 0, lolen = 0, hilen = 0, klen;

    (void)state;
    assert_int_equal(keys_index_prefix(prefix, sizeof(prefix), "ab", 2, &plen), 0);
    assert_int_equal(plen, 3);
    assert_int_equal(keys_index_bound(lo, sizeof(lo), "ab", 2, 100, &lolen), 0);
    assert_int_equal(lolen, 3 + 8);
    assert_int_equal(keys_index_bound(hi, sizeof(hi), "ab", 2, 200, &hilen), 0);

    /* Keys with started_at >= 100 are >= lo, earlier ones below it; every
     * key of "ab" starts with the prefix. */
    klen = key_of(key, "ab", 100, 0x00);
    assert_true(keys_compare(key, klen, lo, lolen) > 0);
    assert_memory_equal(key, prefix, plen);
    klen = key_of(key, "ab", 99, 0xff);
    assert_true(keys_compare(key, klen, lo, lolen) < 0);
    klen = key_of(key, "ab", 199, 0xff);
    assert_true(keys_compare(key, klen, hi, hilen) < 0);
    klen = key_of(key, "ab", 200, 0x00);
    assert_true(keys_compare(key, klen, hi, hilen) > 0);
    /* Another id never carries this prefix. */
    klen = key_of(key, "abc", 100, 0x00);
    assert_true(klen < plen || memcmp(key, prefix, plen) != 0);

    assert_int_equal(keys_index_prefix(prefix, 2, "ab", 2, &plen), -ENOBUFS);
    assert_int_equal(keys_index_bound(lo, 10, "ab", 2, 0, &lolen), -ENOBUFS);
}

static void test_id_limits(void **state)
{
    char id[KEYS_ID_MAX + 2];
    uint8_t key[KEYS_INDEX_MAX + 8];
    uint8_t uuid[KEYS_UUID_LEN] = {0};
    size_t len = 0;

    (void)state;
    memset(id, 'x', sizeof(id));
    assert_int_equal(keys_index_encode(key, sizeof(key), id, KEYS_ID_MAX, 1, uuid, &len), 0);
    assert_int_equal(len, KEYS_INDEX_MAX);
    assert_int_equal(keys_index_decode(key, len, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(keys_index_encode(key, sizeof(key), id, KEYS_ID_MAX + 1, 1, uuid, &len),
                     -EINVAL);
    assert_int_equal(keys_index_encode(key, sizeof(key), id, 0, 1, uuid, &len), -EINVAL);
    assert_int_equal(keys_index_encode(key, sizeof(key), NULL, 3, 1, uuid, &len), -EINVAL);
    assert_int_equal(keys_index_prefix(key, sizeof(key), id, KEYS_ID_MAX + 1, &len), -EINVAL);
    assert_int_equal(keys_index_bound(key, sizeof(key), id, 0, 1, &len), -EINVAL);
    /* A buffer one byte short of the key. */
    assert_int_equal(keys_index_encode(key, 1 + 3 + 8 + 15, id, 3, 1, uuid, &len), -ENOBUFS);
}

static void test_compare(void **state)
{
    static const uint8_t a[] = {1, 2, 3};
    static const uint8_t b[] = {1, 2, 4};

    (void)state;
    assert_true(keys_compare(a, 3, b, 3) < 0);
    assert_true(keys_compare(b, 3, a, 3) > 0);
    assert_true(keys_compare(a, 2, a, 3) < 0);
    assert_true(keys_compare(a, 3, a, 2) > 0);
    assert_int_equal(keys_compare(a, 3, a, 3), 0);
    assert_int_equal(keys_compare(a, 0, b, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_order),    cmocka_unit_test(test_time_bytes),
        cmocka_unit_test(test_uuid_tiebreak), cmocka_unit_test(test_ids_do_not_interleave),
        cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_prefix_bounds),
        cmocka_unit_test(test_id_limits),     cmocka_unit_test(test_compare),
    };

    testutil_watchdog(60);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
