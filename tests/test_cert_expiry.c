/*
 * test_cert_expiry: the one count of the days before a certification ends
 * (proto/cert_expiry.h, the client's and the dashboards'), at the edges the
 * warnings turn on: 30 and 31 days, 7 and 8, the last day itself, a renewal
 * that follows on, one with a gap, one of another rubric, and none holding
 * today; overlapping renewals in any order; "today" in the observer's own
 * zone; and the session setup's checks judging validity and warning on that
 * same day.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cert_expiry.h"
#include "session.h"
#include "session_checks.h"

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

/* Renewals in any order, overlapping or chained through one another. */
static void test_spans_any_order(void **state)
{
    /* today 100: [90,110] holds; [105,130] overlaps it, [131,140] follows
     * that, [142,150] leaves a gap. Listed backwards. */
    static const struct cert_span back[] = {{142, 150}, {131, 140}, {105, 130}, {90, 110}};
    /* Two holding today: the later end wins, then chains. */
    static const struct cert_span two[] = {{95, 101}, {80, 120}, {121, 125}};
    static const struct cert_span none[] = {{101, 200}, {10, 99}};

    (void)state;
    assert_int_equal(cert_expiry_end(back, 4, 100), 140);
    assert_int_equal(cert_expiry_end(two, 3, 100), 125);
    assert_int_equal(cert_expiry_end(none, 2, 100), -1);
    assert_int_equal(cert_expiry_end(NULL, 0, 100), -1);
    assert_int_equal(cert_expiry_due(130, 100), 30);
    assert_int_equal(cert_expiry_due(131, 100), -1);
    assert_int_equal(cert_expiry_due(100, 100), 0);
    assert_int_equal(cert_expiry_due(99, 100), -1);
}

/* Today in the observer's zone: a day ahead of UTC at Kiritimati (UTC+14)
 * from 10:00 UTC, a day behind at Pago Pago (UTC-11) before 11:00 UTC; an
 * empty or unknown zone counts in UTC and says so. */
static void test_today_in_zone(void **state)
{
    int64_t noon = (int64_t)TODAY * 86400 + 12 * 3600;
    int64_t five = (int64_t)TODAY * 86400 + 5 * 3600;
    int utc = -1;

    (void)state;
    assert_int_equal(cert_expiry_today("Pacific/Kiritimati", NULL, noon, &utc), TODAY + 1);
    assert_int_equal(utc, 0);
    assert_int_equal(cert_expiry_today("Pacific/Kiritimati", NULL, five, &utc), TODAY);
    assert_int_equal(cert_expiry_today("Pacific/Pago_Pago", NULL, five, &utc), TODAY - 1);
    assert_int_equal(cert_expiry_today("Pacific/Pago_Pago", NULL, noon, &utc), TODAY);
    assert_int_equal(cert_expiry_today("UTC", NULL, noon, &utc), TODAY);
    assert_int_equal(utc, 0);
    assert_int_equal(cert_expiry_today("", NULL, five, &utc), TODAY);
    assert_int_equal(utc, 1);
    utc = 0;
    assert_int_equal(cert_expiry_today("Mars/Olympus", NULL, five, &utc), TODAY);
    assert_int_equal(utc, 1);
    utc = 0;
    assert_int_equal(cert_expiry_today("../../etc/passwd", NULL, five, &utc), TODAY);
    assert_int_equal(utc, 1);
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

/* The words of the session setup's checks (client/session_checks.c) for a
 * certification of rubric r held over [from, until], in zone, at now_s. */
static int setup_words(const char *zone, int32_t from, int32_t until, int64_t now_s, char *buf,
                       size_t len)
{
    Coachq__V1__Certification c = COACHQ__V1__CERTIFICATION__INIT;
    Coachq__V1__Certification *cp = &c;
    Coachq__V1__CertStatus cs = COACHQ__V1__CERT_STATUS__INIT;
    Coachq__V1__Observation d = COACHQ__V1__OBSERVATION__INIT;
    struct session ses;

    c.rubric_id = (char *)"r";
    c.valid_from_day = from;
    c.valid_until_day = until;
    cs.certifications = &cp;
    cs.n_certifications = 1;
    cs.time_zone = (char *)zone;
    d.rubric_id = (char *)"r";
    memset(&ses, 0, sizeof(ses));
    ses.d = &d;
    ses.cert = &cs;
    ses.cert_state = 1;
    return session_checks_words(&ses, now_s * 1000, buf, len);
}

/* The session setup judges the certification on the observer's own day,
 * the same day its expiry warning counts from: at 01:00 in Brisbane
 * (UTC+10) on the day after the last day, it has ended (not silence, as
 * when validity was judged on the UTC day and the warning on the local
 * one); at 23:00 in Pago Pago (UTC-11) on the last day, it holds and ends
 * today, though the UTC day is the next one. */
static void test_setup_checks_local_day(void **state)
{
    int64_t brisbane_1am = (int64_t)TODAY * 86400 + 15 * 3600;
    int64_t pago_11pm = (int64_t)(TODAY + 1) * 86400 + 10 * 3600;
    char w[512];

    (void)state;
    assert_int_equal(
        setup_words("Australia/Brisbane", TODAY - 90, TODAY, brisbane_1am, w, sizeof(w)), 1);
    assert_non_null(strstr(w, "ended on 2024-06-12"));
    assert_int_equal(
        setup_words("Australia/Brisbane", TODAY - 90, TODAY + 1, brisbane_1am, w, sizeof(w)), 1);
    assert_non_null(strstr(w, "ends today (2024-06-13)"));
    assert_int_equal(setup_words("Pacific/Pago_Pago", TODAY - 90, TODAY, pago_11pm, w, sizeof(w)),
                     1);
    assert_non_null(strstr(w, "ends today (2024-06-12)"));
    assert_null(strstr(w, "ended on"));
    /* A certification starting tomorrow in Brisbane's day holds there now. */
    assert_int_equal(
        setup_words("Australia/Brisbane", TODAY + 1, TODAY + 200, brisbane_1am, w, sizeof(w)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_spans_any_order),
        cmocka_unit_test(test_today_in_zone),
        cmocka_unit_test(test_setup_checks_local_day),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
