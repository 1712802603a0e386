/*
 * Tests of day (calendar arithmetic: days and times to and from ISO 8601).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "day.h"

static void check_day(int64_t y, unsigned m, unsigned d, int64_t days)
{
    int64_t yy;
    unsigned mm;
    unsigned dd;

    assert_int_equal(day_from_civil(y, m, d), days);
    day_to_civil(days, &yy, &mm, &dd);
    assert_int_equal(yy, y);
    assert_int_equal(mm, m);
    assert_int_equal(dd, d);
}

static void test_days(void **state)
{
    char buf[DAY_TIME_LEN];
    uint32_t day;

    (void)state;
    check_day(1970, 1, 1, 0);
    check_day(1969, 12, 31, -1);
    check_day(1970, 3, 1, 59);
    check_day(1900, 1, 1, -25567);
    check_day(1600, 3, 1, -135080);
    check_day(2000, 2, 29, 11016);
    check_day(2000, 3, 1, 11017);
    check_day(2024, 2, 29, 19782);
    check_day(2026, 11, 2, 20759);
    check_day(2100, 3, 1, 47541);
    check_day(0, 1, 1, -719528);
    /* Every day from 1600 to 2400 converts both ways and steps by one. */
    for (int64_t dn = -135140; dn < 157000; dn++) {
        int64_t y;
        unsigned m;
        unsigned d;

        day_to_civil(dn, &y, &m, &d);
        assert_int_equal(day_from_civil(y, m, d), dn);
    }

    assert_int_equal(day_parse("1970-01-02", &day), 0);
    assert_int_equal(day, 1);
    assert_int_equal(day_parse("2024-02-29", &day), 0);
    assert_int_equal(day, 19782);
    assert_int_equal(day_parse("2023-02-29", &day), -EINVAL);
    assert_int_equal(day_parse("1900-02-29", &day), -EINVAL);
    assert_int_equal(day_parse("1969-12-31", &day), -EINVAL);
    assert_int_equal(day_parse("2024-2-29", &day), -EINVAL);
    assert_int_equal(day_parse("2024-02-29x", &day), -EINVAL);
    day_format(19782, buf, sizeof(buf));
    assert_string_equal(buf, "2024-02-29");
    day_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01");
    /* The last day YYYY-MM-DD can write is the last one taken in. */
    assert_int_equal(day_parse("9999-12-31", &day), 0);
    assert_int_equal(day, DAY_MAX);
    day_format(DAY_MAX, buf, sizeof(buf));
    assert_string_equal(buf, "9999-12-31");
    assert_int_equal(day_parse("0000-01-01", &day), -EINVAL);
    assert_int_equal(day_parse("10000-01-01", &day), -EINVAL);
}

static void test_times(void **state)
{
    char buf[DAY_TIME_LEN];
    int64_t t;

    (void)state;
    assert_int_equal(day_parse_time("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(day_parse_time("2026-11-02T14:30:00Z", &t), 0);
    assert_int_equal(t, 1793629800);
    assert_int_equal(day_parse_time("2026-11-02T14:30:00+00:00", &t), 0);
    assert_int_equal(t, 1793629800);
    assert_int_equal(day_parse_time("2026-11-02T15:30:00+01:00", &t), 0);
    assert_int_equal(t, 1793629800);
    assert_int_equal(day_parse_time("2026-11-02T09:00:00-0530", &t), 0);
    assert_int_equal(t, 1793629800);
    assert_int_equal(day_parse_time("2026-11-02T14:30:00.999Z", &t), 0);
    assert_int_equal(t, 1793629800);
    assert_int_equal(day_parse_time("2000-02-29T23:59:59Z", &t), 0);
    assert_int_equal(t, 951868799);
    assert_int_equal(day_parse_time("2038-01-19T03:14:08Z", &t), 0);
    assert_int_equal(t, 2147483648LL);
    assert_int_equal(day_parse_time("1969-12-31T23:59:59Z", &t), 0);
    assert_int_equal(t, -1);
    assert_int_equal(day_parse_time("1900-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, -2208988800LL);

    assert_int_equal(day_parse_time("2026-11-02T14:30:00", &t), -EINVAL);
    assert_int_equal(day_parse_time("2026-11-02T24:00:00Z", &t), -EINVAL);
    assert_int_equal(day_parse_time("2026-11-02T14:60:00Z", &t), -EINVAL);
    assert_int_equal(day_parse_time("2026-11-02T14:30:60Z", &t), -EINVAL);
    assert_int_equal(day_parse_time("2026-11-02T14:30:00+1:00", &t), -EINVAL);
    assert_int_equal(day_parse_time("2026-11-02T14:30:00Zjunk", &t), -EINVAL);
    assert_int_equal(day_parse_time("2026-11-02T14:30:00.Z", &t), -EINVAL);
    assert_int_equal(day_parse_time("", &t), -EINVAL);
    assert_int_equal(day_parse_time(NULL, &t), -EINVAL);

    day_format_time(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    day_format_time(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
    day_format_time(951868799, buf, sizeof(buf));
    assert_string_equal(buf, "2000-02-29T23:59:59Z");
    day_format_time(-2208988800LL, buf, sizeof(buf));
    assert_string_equal(buf, "1900-01-01T00:00:00Z");
    day_format_time_ms(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    day_format_time_ms(1793629800007LL, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-02T14:30:00.007Z");
    /* The minute form of messages: seconds and milliseconds dropped, not
     * rounded; before 1970 the floor, as everywhere. */
    day_format_minute(1793629859999LL, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-02 14:30 UTC");
    day_format_minute(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01 00:00 UTC");
    day_format_minute(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31 23:59 UTC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_times),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
