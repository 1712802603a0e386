/*
 * outcomes_rules: the rules of one business-results figure (store/outcomes.h
 * for what they are), as validate.h is for observations: a period "YYYY-MM"
 * or "YYYY-Qn" and its days, the checks of an outcome's fields with
 * field-naming faults, and the order of an import's rows by key. Used by
 * the store when it writes figures and by the CSV reader (outcomes_csv.h).
 *
 * No state and no allocation; every function is safe from any thread.
 */
#ifndef COACHQ_OUTCOMES_RULES_H
#define COACHQ_OUTCOMES_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "validate.h"

#define OUTCOMES_MAX_ROWS 100000u
#define OUTCOMES_MIN_YEAR 1970
#define OUTCOMES_MAX_YEAR 9999
#define OUTCOMES_MAX_METRIC 40

/* Parses a period. On success returns 0 and sets *first_day / *last_day
 * (days since 1970-01-01, inclusive); -EINVAL otherwise. Either out pointer
 * may be NULL. */
int outcomes_period_parse(const char *period, int32_t *first_day, int32_t *last_day);

/* As outcomes_period_parse(), and *quarter gets 1 for a quarter, 0 for a
 * month (every out pointer required). */
int outcomes_period_parts(const char *s, int32_t *first, int32_t *last, int *quarter);

/* The last day of the month (quarter 0) or quarter (1) that starts on
 * first_day. */
int32_t outcomes_period_last(int32_t first_day, int quarter);

/* Checks one outcome's fields (not whether the subject exists). On a fault
 * returns -EINVAL and fills e with field paths under prefix (e.g.
 * "outcomes[3]"). value must be finite. */
int outcomes_check(const Coachq__V1__Outcome *o, const char *prefix, struct validate_error *e);

/* Whether s is a metric name: [a-z0-9_], 1 to
 * OUTCOMES_MAX_METRIC bytes (1 yes, 0 no). */
int outcomes_metric_ok(const char *s);
/* Checks value against metric's range. Returns 0, or -EINVAL with what is
 * wrong in msg (len bytes). */
int outcomes_value_ok(const char *metric, double v, char *msg, size_t len);

/* Fills e (may be NULL) with INVALID_ARGUMENT, the field "prefix.field"
 * and the formatted message. Returns -EINVAL. */
int outcomes_fail(struct validate_error *e, const char *prefix, const char *field, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

/* One row of an import by its key (subject, team, period, metric), and
 * its index in the import. */
struct outcomes_ref {
    const Coachq__V1__Outcome *o;
    size_t i;
};

/* Sorts n rows into refs (n entries, caller's) by key, and of two equal
 * keys the first given first. */
void outcomes_sort(Coachq__V1__Outcome *const *rows, size_t n, struct outcomes_ref *refs);
/* Whether a and b have the same key: the second would replace the first. */
int outcomes_same_key(const Coachq__V1__Outcome *a, const Coachq__V1__Outcome *b);

#endif
