/*
 * cert_expiry: the warnings before an observer's certification ends, said
 * by `coachq whoami` and at the start of `coachq observe` (observer.md,
 * "Certification expiry"). Days are counted from today's UTC day here.
 */
#ifndef COACHQ_CERT_EXPIRY_H
#define COACHQ_CERT_EXPIRY_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"

/* Warn this many days or fewer before the last day a certification holds. */
#define CERT_EXPIRY_WARN_DAYS 30
/* And more urgently at this many days or fewer. */
#define CERT_EXPIRY_URGENT_DAYS 7

/*
 * The days from today to the last day the observer's certification for
 * rubric holds without a gap (certifications that follow on without a day
 * between count as one), into *end_day; returns them when they are
 * CERT_EXPIRY_WARN_DAYS or fewer, or -1 when no warning is due (none holds
 * today, or it ends later).
 */
int cert_expiry_days(const Coachq__V1__CertStatus *cs, const char *rubric, int64_t today,
                     int64_t *end_day);

/* The warning for rubric ending in days on end_day, into buf (of len). */
void cert_expiry_words(const char *rubric, int days, int64_t end_day, char *buf, size_t len);

#endif
