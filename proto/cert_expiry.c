/*
 * cert_expiry: when a certification ends and the warnings before it; see
 * cert_expiry.h.
 */
#include "cert_expiry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "day.h"
#include "tz.h"

int64_t cert_expiry_end(const struct cert_span *spans, size_t n, int64_t today)
{
    int64_t end = -1;
    int grew = 1;

    for (size_t i = 0; i < n; i++) {
        if (spans[i].from <= today && today <= spans[i].until && spans[i].until > end) {
            end = spans[i].until;
        }
    }
    if (end < 0) {
        return -1;
    }
    /* A renewal that starts by the day after carries the end on; each pass
     * that grows it may reach another, so at most n passes. */
    for (size_t pass = 0; grew && pass < n; pass++) {
        grew = 0;
        for (size_t i = 0; i < n; i++) {
            if (spans[i].from <= end + 1 && spans[i].until > end) {
                end = spans[i].until;
                grew = 1;
            }
        }
    }
    return end;
}

int cert_expiry_due(int64_t end, int64_t today)
{
    if (end < today || end - today > CERT_EXPIRY_WARN_DAYS) {
        return -1;
    }
    return (int)(end - today);
}

int cert_expiry_days(const Coachq__V1__CertStatus *cs, const char *rubric, int64_t today,
                     int64_t *end_day)
{
    struct cert_span *spans = calloc(cs->n_certifications + 1, sizeof(*spans));
    size_t n = 0;
    int64_t end;

    if (spans == NULL) {
        return -1;
    }
    for (size_t i = 0; i < cs->n_certifications; i++) {
        const Coachq__V1__Certification *c = cs->certifications[i];

        if (c->rubric_id != NULL && strcmp(c->rubric_id, rubric) == 0) {
            spans[n].from = c->valid_from_day;
            spans[n].until = c->valid_until_day;
            n++;
        }
    }
    end = cert_expiry_end(spans, n, today);
    free(spans);
    if (end < 0) {
        return -1;
    }
    *end_day = end;
    return cert_expiry_due(end, today);
}

int64_t cert_expiry_today(const char *zone, const char *tz_root, int64_t now_s, int *utc)
{
    struct tz_cache *c = NULL;
    const struct tz_zone *z = NULL;
    int64_t day;

    if (utc != NULL) {
        *utc = 0;
    }
    if (zone != NULL && zone[0] != '\0' && strcmp(zone, "UTC") != 0) {
        c = tz_cache_new(tz_root);
        if (c != NULL && tz_cache_get(c, zone, &z, NULL, 0) != 0) {
            z = NULL;
        }
    } else if (zone != NULL && strcmp(zone, "UTC") == 0) {
        z = tz_utc();
    }
    if (z == NULL) {
        if (utc != NULL) {
            *utc = 1;
        }
        z = tz_utc();
    }
    day = tz_day_of(z, now_s);
    tz_cache_free(c);
    return day;
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
