/*
 * day: calendar arithmetic: days since 1970-01-01 and seconds since the epoch to
 * and from their ISO 8601 text, in the proleptic Gregorian calendar, UTC,
 * without timegm(), localtime() or the TZ environment.
 *
 * Days are the product's unit for session dates, due dates and periods (an
 * int64 here; stored as uint32 days since 1970). Parsers return 0 or
 * -EINVAL and touch *out only on success; formatters always NUL-terminate
 * and never fail (DAY_TIME_LEN bytes are always enough). No allocation, no
 * state: every function is safe from any thread.
 */
#ifndef COACHQ_DAY_H
#define COACHQ_DAY_H

#include <stddef.h>
#include <stdint.h>

/* Bytes enough for any string the formatters write. */
#define DAY_TIME_LEN 32

/* The last day a date may name: 9999-12-31, as days since 1970-01-01. */
#define DAY_MAX 2932896

/* Days since 1970-01-01 of a civil date (negative before 1970); m 1..12,
 * d 1..31, not checked. */
int64_t day_from_civil(int64_t y, unsigned m, unsigned d);
/* The civil date of days since 1970-01-01 (any sign). */
void day_to_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* "YYYY-MM-DD" to days since 1970-01-01, 1970-01-01..9999-12-31; dates
 * before 1970 have no day number and are -EINVAL. */
int day_parse(const char *s, uint32_t *out);
/* Days since 1970-01-01 as "YYYY-MM-DD". The day is signed so that a day
 * before 1970 (from elsewhere) prints as the date it is. */
void day_format(int64_t day, char *out, size_t outlen);

/* "YYYY-MM-DDTHH:MM:SS" with an optional fraction (dropped), then "Z" or a
 * numeric offset "+HH:MM" / "-HH:MM" / "+HHMM" (converted to UTC), to
 * seconds since the epoch. */
int day_parse_time(const char *s, int64_t *out);
/* Seconds since the epoch as "YYYY-MM-DDTHH:MM:SSZ". */
void day_format_time(int64_t t, char *out, size_t outlen);
/* Milliseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void day_format_time_ms(int64_t ms, char *out, size_t outlen);
/* Milliseconds since the epoch as "YYYY-MM-DD HH:MM UTC", for messages. */
void day_format_minute(int64_t ms, char *out, size_t outlen);

#endif
