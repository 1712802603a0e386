/*
 * cert_expiry: the one rule of when an observer's certification ends and
 * when to warn of it, shared by the client (`coachq whoami`, the start of
 * `coachq observe`: observer.md, "Certification expiry") and the server's
 * dashboards (Observer reliability and My reliability,
 * query/dash_obs_expiry.c). "Today" is the observer's own day in their
 * zone: the server sends the zone with the certification status
 * (CertStatus.time_zone), and cert_expiry_today() counts in it.
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

/* One certification's days, first and last included. */
struct cert_span {
    int64_t from;
    int64_t until;
};

/*
 * The last day the certifications of one rubric (spans, n of them, in any
 * order) hold without a gap from today: the one holding today carried on by
 * every renewal that starts by the day after it ends. Returns -1 when none
 * holds today.
 */
int64_t cert_expiry_end(const struct cert_span *spans, size_t n, int64_t today);

/* The days from today to end when a warning is due (end - today <=
 * CERT_EXPIRY_WARN_DAYS, end >= today), else -1. */
int cert_expiry_due(int64_t end, int64_t today);

/*
 * The days from today to the last day the observer's certification for
 * rubric holds without a gap (cert_expiry_end()), into *end_day; returns
 * them when they are CERT_EXPIRY_WARN_DAYS or fewer, or -1 when no warning
 * is due (none holds today, or it ends later).
 */
int cert_expiry_days(const Coachq__V1__CertStatus *cs, const char *rubric, int64_t today,
                     int64_t *end_day);

/*
 * Today (days since 1970-01-01) at now_s in the IANA zone named zone, as
 * the server names the observer's (CertStatus.time_zone), read from the
 * TZif files under tz_root (NULL: the system's). An empty or unreadable
 * zone counts in UTC, and *utc (may be NULL) is set then.
 */
int64_t cert_expiry_today(const char *zone, const char *tz_root, int64_t now_s, int *utc);

/* The warning for rubric ending in days on end_day, into buf (of len). */
void cert_expiry_words(const char *rubric, int days, int64_t end_day, char *buf, size_t len);

#endif
