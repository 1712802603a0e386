/*
 * outcomes_rules: periods, field checks and the key order of business
 * results (outcomes_rules.h).
 */
#include "outcomes_rules.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "day.h"

/* Largest whole number of sessions a manager can have logged in a period. */
#define OUTCOMES_MAX_SESSIONS 100000.0

/* ---- Periods ---------------------------------------------------------- */

/* Days since 1970-01-01 of a date (proleptic Gregorian calendar). */
static int32_t outcomes_days(int y, int m, int d)
{
    return (int32_t)day_from_civil(y, (unsigned)m, (unsigned)d);
}

/* The year and month of a day number. */
static void outcomes_civil(int32_t z, int *y, int *m)
{
    int64_t yy;
    unsigned mm, dd;

    day_to_civil(z, &yy, &mm, &dd);
    *y = (int)yy;
    *m = (int)mm;
}

/* The first day of the month months after (y, m). */
static int32_t outcomes_month_start(int y, int m, int months)
{
    int idx = y * 12 + (m - 1) + months;

    return outcomes_days(idx / 12, idx % 12 + 1, 1);
}

int32_t outcomes_period_last(int32_t first_day, int quarter)
{
    int y, m;

    outcomes_civil(first_day, &y, &m);
    return outcomes_month_start(y, m, quarter ? 3 : 1) - 1;
}

/* Parses a period into its first day, last day and whether it is a
 * quarter. */
int outcomes_period_parts(const char *s, int32_t *first, int32_t *last, int *quarter)
{
    int y = 0, m;

    if (s == NULL || strlen(s) != 7 || s[4] != '-') {
        return -EINVAL;
    }
    for (int i = 0; i < 4; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -EINVAL;
        }
        y = y * 10 + (s[i] - '0');
    }
    if (y < OUTCOMES_MIN_YEAR || y > OUTCOMES_MAX_YEAR) {
        return -EINVAL;
    }
    if (s[5] == 'Q') {
        if (s[6] < '1' || s[6] > '4') {
            return -EINVAL;
        }
        m = (s[6] - '1') * 3 + 1;
        *quarter = 1;
        *first = outcomes_days(y, m, 1);
        *last = outcomes_month_start(y, m, 3) - 1;
        return 0;
    }
    if (s[5] < '0' || s[5] > '1' || s[6] < '0' || s[6] > '9') {
        return -EINVAL;
    }
    m = (s[5] - '0') * 10 + (s[6] - '0');
    if (m < 1 || m > 12) {
        return -EINVAL;
    }
    *quarter = 0;
    *first = outcomes_days(y, m, 1);
    *last = outcomes_month_start(y, m, 1) - 1;
    return 0;
}

int outcomes_period_parse(const char *period, int32_t *first_day, int32_t *last_day)
{
    int32_t first, last;
    int quarter;

    if (outcomes_period_parts(period, &first, &last, &quarter) < 0) {
        return -EINVAL;
    }
    if (first_day != NULL) {
        *first_day = first;
    }
    if (last_day != NULL) {
        *last_day = last;
    }
    return 0;
}

/* ---- Checks ----------------------------------------------------------- */

int outcomes_metric_ok(const char *s)
{
    size_t n;

    if (s == NULL) {
        return 0;
    }
    for (n = 0; s[n] != '\0'; n++) {
        char c = s[n];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return 0;
        }
    }
    return n >= 1 && n <= OUTCOMES_MAX_METRIC;
}

/* Checks value against metric's range. Returns 0, or -EINVAL with what is
 * wrong in msg (len bytes). */
int outcomes_value_ok(const char *metric, double v, char *msg, size_t len)
{
    if (!isfinite(v)) {
        snprintf(msg, len, "must be a finite number");
        return -EINVAL;
    }
    if (strcmp(metric, "win_rate") == 0 || strcmp(metric, "crm_completeness") == 0) {
        if (v < 0 || v > 1) {
            snprintf(msg, len, "%g is outside 0..1: %s is a fraction (write 45%% as 0.45)", v,
                     metric);
            return -EINVAL;
        }
    } else if (strcmp(metric, "quota_attainment") == 0 ||
               strcmp(metric, "pipeline_coverage") == 0) {
        if (v < 0) {
            snprintf(msg, len, "%g is negative; %s is at least 0 (write 110%% as 1.1)", v, metric);
            return -EINVAL;
        }
    } else if (strcmp(metric, "sessions_held") == 0) {
        if (v < 0 || v > OUTCOMES_MAX_SESSIONS || v != (double)(int64_t)v) {
            snprintf(msg, len, "%g is not a whole number of sessions from 0 to %.0f", v,
                     OUTCOMES_MAX_SESSIONS);
            return -EINVAL;
        }
    }
    return 0;
}

int outcomes_fail(struct validate_error *e, const char *prefix, const char *field, const char *fmt,
                  ...)
{
    va_list ap;

    if (e == NULL) {
        return -EINVAL;
    }
    e->code = COACHQ__V1__CODE__INVALID_ARGUMENT;
    snprintf(e->field, sizeof(e->field), "%s%s%s", prefix, prefix[0] && field[0] ? "." : "", field);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int outcomes_check(const Coachq__V1__Outcome *o, const char *prefix, struct validate_error *e)
{
    char msg[200];

    if (prefix == NULL) {
        prefix = "";
    }
    if (o == NULL) {
        return outcomes_fail(e, prefix, "", "the outcome is missing");
    }
    if (validate_id(o->subject_id) != 0) {
        return outcomes_fail(e, prefix, "subject_id",
                             "'%s' is not a person id: 1 to %d letters, digits, '.', '_', '@' "
                             "or '-'",
                             o->subject_id != NULL ? o->subject_id : "", VALIDATE_MAX_ID);
    }
    if (outcomes_period_parse(o->period, NULL, NULL) < 0) {
        return outcomes_fail(e, prefix, "period",
                             "'%.40s' is not a period: a month YYYY-MM or a quarter YYYY-Qn "
                             "(n 1 to 4), years %d to %d",
                             o->period != NULL ? o->period : "", OUTCOMES_MIN_YEAR,
                             OUTCOMES_MAX_YEAR);
    }
    if (!outcomes_metric_ok(o->metric)) {
        return outcomes_fail(e, prefix, "metric",
                             "'%.60s' is not a metric: win_rate, pipeline_coverage, "
                             "quota_attainment, crm_completeness, sessions_held, or 1 to %d of "
                             "a-z, 0-9 and '_'",
                             o->metric != NULL ? o->metric : "", OUTCOMES_MAX_METRIC);
    }
    if (outcomes_value_ok(o->metric, o->value, msg, sizeof(msg)) < 0) {
        return outcomes_fail(e, prefix, "value", "%s", msg);
    }
    return 0;
}

/* ---- Keys ------------------------------------------------------------ */

/* Orders rows by key, then by their index, so that of two equal keys the
 * first given comes first. Periods are compared as text: a valid period
 * has exactly one spelling. */
static int outcomes_ref_cmp(const void *x, const void *y)
{
    const struct outcomes_ref *a = x;
    const struct outcomes_ref *b = y;
    int c = strcmp(a->o->subject_id, b->o->subject_id);

    if (c == 0) {
        c = (int)(a->o->team != 0) - (int)(b->o->team != 0);
    }
    if (c == 0) {
        c = strcmp(a->o->period, b->o->period);
    }
    if (c == 0) {
        c = strcmp(a->o->metric, b->o->metric);
    }
    if (c == 0) {
        c = a->i < b->i ? -1 : a->i > b->i;
    }
    return c;
}

int outcomes_same_key(const Coachq__V1__Outcome *a, const Coachq__V1__Outcome *b)
{
    return strcmp(a->subject_id, b->subject_id) == 0 && !a->team == !b->team &&
           strcmp(a->period, b->period) == 0 && strcmp(a->metric, b->metric) == 0;
}

void outcomes_sort(Coachq__V1__Outcome *const *rows, size_t n, struct outcomes_ref *refs)
{
    for (size_t i = 0; i < n; i++) {
        refs[i].o = rows[i];
        refs[i].i = i;
    }
    if (n > 1) {
        qsort(refs, n, sizeof(*refs), outcomes_ref_cmp);
    }
}
