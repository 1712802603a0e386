/* Tests of proto/uuid.c's version-7 ids: the time first, then random bits
 * (the text form and the parser are tested in test_obs_json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "uuid.h"

static int64_t ms_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t ms_of(const uint8_t id[UUID_LEN])
{
    int64_t ms = 0;

    for (int i = 0; i < 6; i++) {
        ms = ms << 8 | id[i];
    }
    return ms;
}

/* RFC 9562's example: 2022-02-22T19:22:22Z is 017f22e2-79b0-7...; the
 * version and variant bits are set, the rest is random. */
static void test_layout(void **state)
{
    uint8_t id[UUID_LEN];
    char text[UUID_STR_LEN];

    (void)state;
    assert_int_equal(uuid_generate_at(0x017F22E279B0LL, id), 0);
    uuid_format(id, text);
    assert_memory_equal(text, "017f22e2-79b0-7", 15);
    assert_int_equal(id[6] >> 4, 7);
    assert_int_equal(id[8] >> 6, 2);
    assert_int_equal(strchr("89ab", text[19]) != NULL, 1);
    /* A time before 1970 is clamped, never wrapped. */
    assert_int_equal(uuid_generate_at(-5, id), 0);
    assert_int_equal(ms_of(id), 0);
}

/* uuid_v7_stamp() keeps every random bit the caller put in bytes 6..15
 * but the version's four and the variant's two, whatever they were. */
static void test_stamp_keeps_random(void **state)
{
    static const uint8_t fill[2] = {0x00, 0xFF};
    uint8_t id[UUID_LEN];

    (void)state;
    for (size_t f = 0; f < 2; f++) {
        memset(id, fill[f], sizeof(id));
        uuid_v7_stamp(0x017F22E279B0LL, id);
        assert_int_equal(ms_of(id), 0x017F22E279B0LL);
        assert_int_equal(id[6], 0x70 | (fill[f] & 0x0f));
        assert_int_equal(id[7], fill[f]);
        assert_int_equal(id[8], 0x80 | (fill[f] & 0x3f));
        for (size_t i = 9; i < UUID_LEN; i++) {
            assert_int_equal(id[i], fill[f]);
        }
    }
    uuid_v7_stamp(-5, id);
    assert_int_equal(ms_of(id), 0);
}

/* Ids made one after another carry the clock and sort by it; two made in
 * the same millisecond still differ (74 random bits). */
static void test_time_ordered(void **state)
{
    uint8_t a[UUID_LEN], b[UUID_LEN];
    int64_t before, after;

    (void)state;
    before = ms_now();
    assert_int_equal(uuid_generate(a), 0);
    after = ms_now();
    assert_true(ms_of(a) >= before && ms_of(a) <= after);
    assert_int_equal(uuid_generate_at(1000, a), 0);
    assert_int_equal(uuid_generate_at(1001, b), 0);
    assert_true(memcmp(a, b, UUID_LEN) < 0);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(uuid_generate_at(1000, a), 0);
        assert_int_equal(uuid_generate_at(1000, b), 0);
        assert_memory_equal(a, b, 6);
        assert_memory_not_equal(a + 6, b + 6, UUID_LEN - 6);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_time_ordered),
        cmocka_unit_test(test_stamp_keeps_random),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
