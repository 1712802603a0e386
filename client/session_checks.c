/*
 * session_checks: what the server would refuse about a session's setup,
 * said at setup rather than after the whole session was scored: an
 * observer not certified for the rubric on the session day, and a coachee
 * outside the coach's line; and, though the server takes the session, a
 * certification that ends within 30 days (cert_expiry.h). The facts come from the server (the
 * observer's own certification status, and the people list, whose
 * managers are today's), or, offline, from the local store's cache, and
 * the words then say "offline, from cache". A live session's day is today
 * in the observer's zone as the server names it (CertStatus.time_zone), the
 * same day for the certification and its expiry warning.
 */
#include "session_checks.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cert_expiry.h"
#include "day.h"
#include "localstore.h"
#include "session.h"

void session_checks_load(struct session *ses)
{
    Coachq__V1__CertStatus *cs = NULL;
    struct client_error e;

    if (ses->cert_state != 0) {
        return;
    }
    ses->cert_state = -1;
    if (session_connect(ses) == 0) {
        memset(&e, 0, sizeof(e));
        if (client_cert_status(ses->c, "", &cs, &e) == 0) {
            (void)localstore_cert_put(ses->ls, cs);
            ses->cert = cs;
            ses->cert_state = 1;
            return;
        }
    }
    if (localstore_cert_get(ses->ls, &cs) == 0) {
        ses->cert = cs;
        ses->cert_state = 2;
    }
}

/* Appends a sentence to buf (at *n of len). */
static void add(char *buf, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (*n >= len) {
        return;
    }
    if (*n > 0) {
        k = snprintf(buf + *n, len - *n, "; ");
        *n += k > 0 ? (size_t)k : 0;
        if (*n >= len) {
            *n = len - 1;
            return;
        }
    }
    va_start(ap, fmt);
    k = vsnprintf(buf + *n, len - *n, fmt, ap);
    va_end(ap);
    *n += k > 0 ? (size_t)k : 0;
    if (*n >= len) {
        *n = len - 1;
    }
}

/* The warning when the certification holding today (the observer's day,
 * check_cert()) ends within 30 days. */
static void warn_expiry(const struct session *ses, int64_t today, char *buf, size_t len, size_t *n)
{
    char w[256];
    int64_t end = 0;
    int days = cert_expiry_days(ses->cert, ses->d->rubric_id, today, &end);

    if (days >= 0) {
        cert_expiry_words(ses->d->rubric_id, days, end, w, sizeof(w));
        add(buf, len, n, "%s", w);
    }
}

/* What the certifications say of rubric at now_s, into buf. The day is
 * the observer's own, in their zone as the server names it (cert_expiry.h),
 * counted once, so that the validity and the expiry warning judge the
 * same day. */
static void check_cert(const struct session *ses, int64_t now_s, char *buf, size_t len, size_t *n)
{
    const Coachq__V1__CertStatus *cs = ses->cert;
    int64_t day = cert_expiry_today(cs->time_zone, NULL, now_s, NULL);
    const Coachq__V1__Certification *last = NULL;
    const char *rubric = ses->d->rubric_id;
    char d0[16];

    for (size_t i = 0; i < cs->n_certifications; i++) {
        const Coachq__V1__Certification *c = cs->certifications[i];

        if (strcmp(c->rubric_id, rubric) != 0) {
            continue;
        }
        if (c->valid_from_day <= day && day <= c->valid_until_day) {
            warn_expiry(ses, day, buf, len, n);
            return;
        }
        if (last == NULL || c->valid_until_day > last->valid_until_day) {
            last = c;
        }
    }
    if (last == NULL) {
        add(buf, len, n,
            "you are not certified for rubric %s: the server will refuse this session "
            "(coachq cert status)",
            rubric);
    } else if (last->valid_from_day > day) {
        day_format(last->valid_from_day, d0, sizeof(d0));
        add(buf, len, n,
            "your certification for rubric %s holds only from %s: the server will refuse this "
            "session",
            rubric, d0);
    } else {
        day_format(last->valid_until_day, d0, sizeof(d0));
        add(buf, len, n,
            "your certification for rubric %s ended on %s: the server will refuse this "
            "session; recalibrate",
            rubric, d0);
    }
}

/* Whether the coachee is in the coach's line in the people list. */
static void check_line(const struct session *ses, char *buf, size_t len, size_t *n)
{
    const Coachq__V1__Observation *d = ses->d;
    const Coachq__V1__PeopleList *pl = ses->people;
    char d0[16];

    for (size_t i = 0; i < pl->n_people; i++) {
        const Coachq__V1__PersonSummary *p = pl->people[i];

        if (strcmp(p->id, d->coachee_id) != 0) {
            continue;
        }
        if (strcmp(p->manager_id, d->coach_id) != 0) {
            day_format(pl->as_of / 86400, d0, sizeof(d0));
            add(buf, len, n, "%s reports to %s, not to the coach %s (on %s)", d->coachee_id,
                p->manager_id[0] != '\0' ? p->manager_id : "nobody", d->coach_id, d0);
        }
        return;
    }
    add(buf, len, n, "%s is not among the people you may observe (not in %s's line)", d->coachee_id,
        d->coach_id);
}

int session_checks_words(const struct session *ses, int64_t now_ms, char *buf, size_t len)
{
    const Coachq__V1__Observation *d = ses->d;
    const char *from = ses->offline ? "offline, from cache: " : "from cache: ";
    size_t n = 0, lead = 0;
    int cached = 0;

    buf[0] = '\0';
    /* A calibration attempt scores a reference session: nobody's line,
     * and no certification needed (it is how one is earned). */
    if (d == NULL || d->amends.len != 0 || d->calibration_ref.len != 0 || len <= strlen(from)) {
        return 0;
    }
    /* The words after room for where they came from, which goes first. */
    lead = strlen(from);
    buf += lead;
    len -= lead;
    buf[0] = '\0';
    if (d->rubric_id[0] != '\0' && ses->cert_state > 0 && ses->cert != NULL) {
        size_t before = n;

        check_cert(ses, now_ms / 1000, buf, len, &n);
        cached |= n != before && ses->cert_state == 2;
    }
    if (d->coach_id[0] != '\0' && d->coachee_id[0] != '\0' && ses->people != NULL) {
        size_t before = n;

        check_line(ses, buf, len, &n);
        cached |= n != before && ses->people_cached;
    }
    buf -= lead;
    if (n == 0) {
        buf[0] = '\0';
        return 0;
    }
    if (cached) {
        memcpy(buf, from, lead);
    } else {
        memmove(buf, buf + lead, n + 1);
    }
    return 1;
}
