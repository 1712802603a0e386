/*
 * test_cert_expiry: the client's count of the days before a certification
 * ends (client/cert_expiry.h), at the edges the warnings turn on: 30 and 31
 * days, 7 and 8, the last day itself, a renewal that follows on, one with
 * a gap, one of another rubric, and none holding today.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cert_expiry.h"

/* Today: 2024-06-12 (day 19886). */
#define TODAY 19886

static int days_left(const int32_t (*runs)[2], size_t n, const char *const *rubrics, int64_t *end)
{
    Coachq__V1__Certification c[4];
    Coachq__V1__Certification *cp[4];
    Coachq__V1__CertStatus cs = COACHQ__V1__CERT_STATUS__INIT;

    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++) {
        coachq__v1__certification__init(&c[i]);
        c[i].rubric_id = (char *)(rubrics != NULL ? rubrics[i] : "r");
        c[i].valid_from_day = runs[i][0];
        c[i].valid_until_day = runs[i][1];
        cp[i] = &c[i];
    }
    cs.certifications = cp;
    cs.n_certifications = n;
    return cert_expiry_days(&cs, "r", TODAY, end);
}

static void test_edges(void **state)
{
    static const int32_t d30[][2] = {{TODAY - 9, TODAY + 30}};
    static const int32_t d31[][2] = {{TODAY - 9, TODAY + 31}};
    static const int32_t d0[][2] = {{TODAY - 9, TODAY}};
    static const int32_t ended[][2] = {{TODAY - 9, TODAY - 1}};
    static const int32_t later[][2] = {{TODAY + 1, TODAY + 5}};
    /* Renewed from the day after, listed first: one run. */
    static const int32_t renewed[][2] = {{TODAY + 6, TODAY + 300}, {TODAY - 9, TODAY + 5}};
    static const int32_t gap[][2] = {{TODAY - 9, TODAY + 5}, {TODAY + 7, TODAY + 300}};
    static const int32_t other[][2] = {{TODAY - 9, TODAY + 5}, {TODAY + 6, TODAY + 300}};
    static const char *const other_rubrics[] = {"r", "s"};
    int64_t end = 0;

    (void)state;
    assert_int_equal(days_left(d30, 1, NULL, &end), 30);
    assert_int_equal(end, TODAY + 30);
    assert_int_equal(days_left(d31, 1, NULL, &end), -1);
    assert_int_equal(days_left(d0, 1, NULL, &end), 0);
    assert_int_equal(days_left(ended, 1, NULL, &end), -1);
    assert_int_equal(days_left(later, 1, NULL, &end), -1);
    assert_int_equal(days_left(renewed, 2, NULL, &end), -1);
    assert_int_equal(end, TODAY + 300);
    assert_int_equal(days_left(gap, 2, NULL, &end), 5);
    assert_int_equal(end, TODAY + 5);
    assert_int_equal(days_left(other, 2, other_rubrics, &end), 5);
}

static void test_words(void **state)
{
    char w[256];

    (void)state;
    cert_expiry_words("r", 8, TODAY + 8, w, sizeof(w));
    assert_string_equal(w, "your certification for rubric r ends in 8 days on 2024-06-20: "
                           "recalibrate before then");
    cert_expiry_words("r", 7, TODAY + 7, w, sizeof(w));
    assert_string_equal(w, "your certification for rubric r ends in 7 days on 2024-06-19: "
                           "recalibrate now, the server refuses your sessions after that day");
    cert_expiry_words("r", 1, TODAY + 1, w, sizeof(w));
    assert_non_null(strstr(w, "ends in 1 day on 2024-06-13:"));
    /* The last day: today, not "in 0 days". */
    cert_expiry_words("r", 0, TODAY, w, sizeof(w));
    assert_string_equal(w, "your certification for rubric r ends today (2024-06-12): recalibrate "
                           "now, the server refuses your sessions after today");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_words),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
