#include "day.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil / civil_from_days: exact for every
 * proleptic Gregorian date, with floor division for dates before 1970. */
int64_t day_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    int64_t yoe;
    int64_t doy;
    int64_t doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void day_to_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    unsigned mm = (unsigned)(mp < 10 ? mp + 3 : mp - 9);

    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = mm;
    *y = yoe + era * 400 + (mm <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && is_leap(y)) {
        return 29;
    }
    return dim[m - 1];
}

/* Reads exactly n decimal digits. Returns 0 or -EINVAL. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -EINVAL;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD" at s; sets *days. Returns 0 or -EINVAL. */
static int parse_date_part(const char *s, int64_t *days)
{
    int y;
    int m;
    int d;

    if (digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &m) < 0 || s[7] != '-' ||
        digits(s + 8, 2, &d) < 0) {
        return -EINVAL;
    }
    if (m < 1 || m > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)m)) {
        return -EINVAL;
    }
    *days = day_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

int day_parse_time(const char *s, int64_t *out)
{
    int64_t days;
    int hh;
    int mi;
    int ss;
    int64_t t;
    const char *p;

    if (s == NULL || strlen(s) < 20) {
        return -EINVAL;
    }
    if (parse_date_part(s, &days) < 0) {
        return -EINVAL;
    }
    if ((s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &hh) < 0 || s[13] != ':' ||
        digits(s + 14, 2, &mi) < 0 || s[16] != ':' || digits(s + 17, 2, &ss) < 0) {
        return -EINVAL;
    }
    if (hh > 23 || mi > 59 || ss > 59) {
        return -EINVAL;
    }
    t = days * 86400 + hh * 3600 + mi * 60 + ss;
    p = s + 19;
    /* A fraction of a second is accepted and dropped: started_at has whole
     * seconds. */
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') {
            return -EINVAL;
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
        *out = t;
        return 0;
    }
    if (p[0] == '+' || p[0] == '-') {
        int oh;
        int om;
        const char *q = p + 1;
        int64_t off;

        if (digits(q, 2, &oh) < 0) {
            return -EINVAL;
        }
        q += 2;
        if (*q == ':') {
            q++;
        }
        if (digits(q, 2, &om) < 0 || q[2] != '\0' || oh > 23 || om > 59) {
            return -EINVAL;
        }
        off = (int64_t)oh * 3600 + om * 60;
        /* Local time = UTC + offset, so UTC = local - offset. */
        *out = p[0] == '+' ? t - off : t + off;
        return 0;
    }
    return -EINVAL;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

void day_format_time(int64_t t, char *out, size_t outlen)
{
    int64_t days = floor_div(t, 86400);
    int64_t secs = t - days * 86400;
    int64_t y;
    unsigned m;
    unsigned d;

    day_to_civil(days, &y, &m, &d);
    snprintf(out, outlen, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

void day_format_time_ms(int64_t ms, char *out, size_t outlen)
{
    int64_t t = floor_div(ms, 1000);
    int64_t frac = ms - t * 1000;
    char base[DAY_TIME_LEN];
    size_t n;

    day_format_time(t, base, sizeof(base));
    /* Drop the "Z" and put the milliseconds before it. */
    n = strlen(base);
    if (n > 0) {
        base[n - 1] = '\0';
    }
    snprintf(out, outlen, "%s.%03dZ", base, (int)frac);
}

int day_parse(const char *s, uint32_t *out)
{
    int64_t days;

    if (s == NULL || strlen(s) != 10 || parse_date_part(s, &days) < 0) {
        return -EINVAL;
    }
    /* Days before 1970 have no unsigned day number. */
    if (days < 0 || days > DAY_MAX) {
        return -EINVAL;
    }
    *out = (uint32_t)days;
    return 0;
}

void day_format(int64_t day, char *out, size_t outlen)
{
    int64_t y;
    unsigned m;
    unsigned d;

    day_to_civil(day, &y, &m, &d);
    snprintf(out, outlen, "%04lld-%02u-%02u", (long long)y, m, d);
}

void day_format_minute(int64_t ms, char *out, size_t outlen)
{
    char t[DAY_TIME_LEN];
    const char *tpos;

    day_format_time(floor_div(ms, 1000), t, sizeof(t));
    tpos = strchr(t, 'T');
    snprintf(out, outlen, "%.*s %.5s UTC", (int)(tpos - t), t, tpos + 1);
}
