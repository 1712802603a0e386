/*
 * zone: whose time zone decides a date (zone.h).
 */
#include "zone.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agg.h"
#include "cadence.h"
#include "log.h"
#include "people.h"
#include "store_int.h"

static const char ZONE_META_KEY[] = "time_zone";

void zone_txn_forget(struct store_txn *t)
{
    memset(&t->zones, 0, sizeof(t->zones));
}

int zone_org_name(struct store_txn *t, char *name, size_t len)
{
    MDB_val v;
    int rc;

    rc = store_txn_get_raw(t, t->s->dbi_meta, (const uint8_t *)ZONE_META_KEY,
                           sizeof(ZONE_META_KEY) - 1, &v);
    if (rc == -ENOENT || (rc == 0 && (v.mv_size == 0 || v.mv_size > TZ_NAME_MAX))) {
        snprintf(name, len, "UTC");
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    snprintf(name, len, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
    return 0;
}

int zone_load(struct store_txn *t, const char *name, const struct tz_zone **out, char *why,
              size_t whylen)
{
    const struct tz_zone *z = NULL;
    int rc = tz_cache_get(t->s->tz, name, &z, why, whylen);

    if (out != NULL) {
        *out = z;
    }
    return rc;
}

/* The zone named name, or fallback (logged) when it cannot be loaded. */
static const struct tz_zone *zone_or(struct store_txn *t, const char *name, const char *whose,
                                     const struct tz_zone *fallback)
{
    const struct tz_zone *z = NULL;
    char why[TZ_WHY_LEN];

    if (zone_load(t, name, &z, why, sizeof(why)) != 0) {
        log_event(LOG_WARN, "time_zone_unusable", "whose=\"%s\" reason=\"%s\" using=\"%s\"", whose,
                  why, tz_name(fallback));
        return fallback;
    }
    return z;
}

int zone_org(struct store_txn *t, const struct tz_zone **out)
{
    char name[TZ_NAME_MAX + 1];
    int rc;

    if (t->zones.org == NULL) {
        rc = zone_org_name(t, name, sizeof(name));
        if (rc != 0) {
            return rc;
        }
        t->zones.org = zone_or(t, name, "organisation", tz_utc());
    }
    *out = t->zones.org;
    return 0;
}

int zone_org_set(struct store_txn *t, const char *name, char *old, size_t oldlen, char *why,
                 size_t whylen)
{
    int rc;

    if (!t->write) {
        return -EROFS;
    }
    rc = zone_org_name(t, old, oldlen);
    if (rc != 0) {
        return rc;
    }
    rc = zone_load(t, name, NULL, why, whylen);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(old, name) == 0) {
        return 0;
    }
    rc = store_txn_put_raw(t, t->s->dbi_meta, (const uint8_t *)ZONE_META_KEY,
                           sizeof(ZONE_META_KEY) - 1, name, strlen(name), NULL);
    zone_txn_forget(t);
    if (rc == 0) {
        /* Every stored session may now fall on another day. */
        rc = agg_rebuild_txn(t);
    }
    if (rc == 0) {
        rc = cadence_rebuild_txn(t, NULL);
    }
    return rc;
}

int zone_of_person(struct store_txn *t, const char *person, const struct tz_zone **out)
{
    const Coachq__V1__Person *p = NULL;
    Coachq__V1__Person *own = NULL;
    const struct tz_zone *z = NULL;
    size_t n = person != NULL ? strnlen(person, sizeof(t->zones.person)) : 0;
    int rc;

    if (n == 0 || n >= sizeof(t->zones.person)) {
        return zone_org(t, out);
    }
    if (t->zones.person_zone != NULL && strcmp(t->zones.person, person) == 0) {
        *out = t->zones.person_zone;
        return 0;
    }
    /* The person is mostly a record's coach, whom the rules decode next:
     * in the writer's batch both share one decoding (memo.c). */
    rc = store_txn_memo_person(t, person, &p, &own);
    if (rc == 0 || rc == -ENOENT || rc == -EINVAL) {
        const struct tz_zone *org = NULL;

        rc = zone_org(t, &org);
        z = org;
        if (rc == 0 && p != NULL && p->time_zone != NULL && p->time_zone[0] != '\0') {
            z = zone_or(t, p->time_zone, person, org);
        }
    }
    coachq__v1__person__free_unpacked(own, NULL);
    if (rc != 0) {
        return rc;
    }
    memcpy(t->zones.person, person, n + 1);
    t->zones.person_zone = z;
    *out = z;
    return 0;
}

/* A day number as the store keeps it (int32, clamped). */
static int32_t zone_clamp(int64_t d)
{
    if (d > INT32_MAX) {
        return INT32_MAX;
    }
    if (d < INT32_MIN) {
        return INT32_MIN;
    }
    return (int32_t)d;
}

int zone_day_of(struct store_txn *t, const char *person, int64_t seconds, int32_t *day)
{
    const struct tz_zone *z = NULL;
    int rc = zone_of_person(t, person, &z);

    if (rc != 0) {
        return rc;
    }
    *day = zone_clamp(tz_day_of(z, seconds));
    return 0;
}

int zone_session_day(struct store_txn *t, const Coachq__V1__Observation *o, int32_t *day)
{
    return zone_day_of(t, o->coach_id, o->started_at, day);
}
