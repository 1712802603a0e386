/*
 * testutil_verify: the check that a store's derived data (aggregates,
 * cumulative lists, action records, assignment indexes, coaching day
 * counts) still matches its records, for the tests of what a crash, a full
 * disk or a full map leave behind, through `coachqd verify`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

/* Returns the number after label at the start of a line of out, failing
 * the test (with the whole output) when no line starts with it. The label
 * must be matched at a line's start: "differences: " ends other labels. */
static uint64_t line_value(const char *out, const char *label)
{
    size_t n = strlen(label);

    for (const char *p = out; p != NULL && *p != '\0';) {
        if (strncmp(p, label, n) == 0) {
            char *end = NULL;
            unsigned long long v = strtoull(p + n, &end, 10);

            if (end == p + n) {
                fail_msg("verify: no number after '%s' in:\n%s", label, out);
            }
            return (uint64_t)v;
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    fail_msg("verify: no line '%s' in:\n%s", label, out);
    return 0;
}

void testutil_verify_clean(const char *data, struct testutil_verified *out)
{
    static const char *const zero[] = {
        "differences: ", "action differences: ", "assignment index differences: ",
        "coaching day differences: "};
    char buf[8192];
    int rc = testutil_coachqd(buf, sizeof(buf), -1, "verify", "--data", data, NULL);

    /* Every comparison must have run and found nothing, whatever the exit
     * status says; the output is shown when one did not. */
    for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        if (line_value(buf, zero[i]) != 0) {
            fail_msg("verify --data %s found differences ('%s'):\n%s", data, zero[i], buf);
        }
    }
    if (rc != 0) {
        fail_msg("verify --data %s exited %d:\n%s", data, rc, buf);
    }
    out->observations = line_value(buf, "observations read: ");
    out->counted = line_value(buf, "counted: ");
    out->values = line_value(buf, "aggregate values: ");
    out->actions = line_value(buf, "action records: ");
    out->days = line_value(buf, "coaching day counts: ");
}

void testutil_verify_counted(const char *data, uint64_t records)
{
    struct testutil_verified v;

    testutil_verify_clean(data, &v);
    assert_int_equal(v.observations, records);
    assert_int_equal(v.counted, records);
    assert_true(v.values > 0);
}
