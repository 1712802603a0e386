/*
 * cert_expiry: the warnings at 30 and 7 days before an observer's
 * certification ends; see cert_expiry.h.
 */
#include "cert_expiry.h"

#include <stdio.h>
#include <string.h>

#include "day.h"

int cert_expiry_days(const Coachq__V1__CertStatus *cs, const char *rubric, int64_t today,
                     int64_t *end_day)
{
    int64_t end = -1;
    int grew = 1;

    for (size_t i = 0; i < cs->n_certifications; i++) {
        const Coachq__V1__Certification *c = cs->certifications[i];

        if (strcmp(c->rubric_id, rubric) == 0 && c->valid_from_day <= today &&
            today <= c->valid_until_day && c->valid_until_day > end) {
            end = c->valid_until_day;
        }
    }
    if (end < 0) {
        return -1;
    }
    /* A renewal that starts by the day after carries the end on. */
    for (size_t pass = 0; grew && pass < cs->n_certifications; pass++) {
        grew = 0;
        for (size_t i = 0; i < cs->n_certifications; i++) {
            const Coachq__V1__Certification *c = cs->certifications[i];

            if (strcmp(c->rubric_id, rubric) == 0 && c->valid_from_day <= end + 1 &&
                c->valid_until_day > end) {
                end = c->valid_until_day;
                grew = 1;
            }
        }
    }
    *end_day = end;
    if (end - today > CERT_EXPIRY_WARN_DAYS) {
        return -1;
    }
    return (int)(end - today);
}

void cert_expiry_words(const char *rubric, int days, int64_t end_day, char *buf, size_t len)
{
    char d[16];

    day_format(end_day, d, sizeof(d));
    if (days == 0) {
        snprintf(buf, len,
                 "your certification for rubric %s ends today (%s): recalibrate now, the "
                 "server refuses your sessions after today",
                 rubric, d);
    } else if (days <= CERT_EXPIRY_URGENT_DAYS) {
        snprintf(buf, len,
                 "your certification for rubric %s ends in %d day%s on %s: recalibrate now, "
                 "the server refuses your sessions after that day",
                 rubric, days, days == 1 ? "" : "s", d);
    } else {
        snprintf(buf, len,
                 "your certification for rubric %s ends in %d days on %s: recalibrate before then",
                 rubric, days, d);
    }
}
