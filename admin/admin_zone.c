/*
 * admin_zone: the organisation's time zone and a person's override
 * (`coachqd org`, `coachqd user zone`; store/zone.h says what a zone
 * decides). A change is checked against the system's tzdata, audited with
 * the zone before and after, and rebuilds the dashboards' aggregates in the
 * same write transaction, so that no reader ever sees weeks of two zones
 * and a running server (which reads the zone in every transaction) goes on
 * with the new one from its next transaction.
 */
#include "admin_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agg.h"
#include "audit.h"
#include "error.h"
#include "people.h"
#include "store.h"
#include "tz.h"
#include "zone.h"

/* ---- Shared checks ---------------------------------------------------- */

int admin_zone_arg(const struct admin *a, const char *name)
{
    char why[TZ_WHY_LEN];

    if (tz_name_check(name, strlen(name), why, sizeof(why)) != 0) {
        return admin_usage_error(a, "%s (e.g. Europe/Berlin, America/Los_Angeles, UTC)", why);
    }
    return 0;
}

int admin_zone_person(struct store_txn *t, struct person_change *pc, Coachq__V1__Person *p)
{
    const char *old = p->time_zone != NULL ? p->time_zone : "";
    char why[TZ_WHY_LEN];
    int rc;

    if (pc->time_zone == NULL || strcmp(old, pc->time_zone) == 0) {
        return 0;
    }
    if (pc->time_zone[0] != '\0') {
        rc = zone_load(t, pc->time_zone, NULL, why, sizeof(why));
        if (rc != 0) {
            return admin_txn_fail(pc->a, rc, "%s", why);
        }
    }
    /* user add names the zone in its own detail; this may run more than
     * once, so it writes the whole detail afresh. */
    if (!pc->add) {
        snprintf(pc->detail, sizeof(pc->detail), "time zone %s (was %s)",
                 pc->time_zone[0] != '\0' ? pc->time_zone : "the organisation's",
                 old[0] != '\0' ? old : "the organisation's");
    }
    /* Borrowed from pc until the person is put. */
    p->time_zone = (char *)pc->time_zone;
    pc->changed = 1;
    /* A new person has no sessions yet. */
    pc->zone_changed = !pc->add;
    return 0;
}

/* ---- coachqd org ------------------------------------------------------- */

struct org_zone {
    struct admin *a;
    const char *name;
    char old[TZ_NAME_MAX + 1];
    int changed;
};

/* Sets the zone, rebuilds the aggregates (zone_org_set()) and audits.
 * Writer thread. */
static int org_zone_txn(struct store_txn *t, void *arg)
{
    struct org_zone *oz = arg;
    char why[TZ_WHY_LEN] = "";
    char detail[200];
    int rc;

    oz->changed = 0;
    oz->a->err[0] = '\0';
    rc = zone_org_set(t, oz->name, oz->old, sizeof(oz->old), why, sizeof(why));
    if (rc != 0) {
        return why[0] != '\0' ? admin_txn_fail(oz->a, rc, "%s", why) : rc;
    }
    if (strcmp(oz->old, oz->name) == 0) {
        return 0;
    }
    oz->changed = 1;
    snprintf(detail, sizeof(detail), "time zone %s (was %s); dashboard aggregates rebuilt",
             oz->name, oz->old);
    rc = audit_append(t, oz->a->now_ms, oz->a->actor, "org.time_zone", "organisation", detail,
                      oz->a->origin, NULL);
    if (rc < 0) {
        rc = admin_txn_fail(oz->a, rc, "audit: %s", error_strerror(rc));
    }
    return rc;
}

struct org_show {
    char zone[TZ_NAME_MAX + 1];
    size_t overrides;
};

static int org_override_cb(const Coachq__V1__Person *p, void *arg)
{
    struct org_show *os = arg;

    if (p->time_zone != NULL && p->time_zone[0] != '\0') {
        if (os->overrides == 0) {
            printf("people in another zone:\n");
        }
        printf("  %-24s %s\n", p->id, p->time_zone);
        os->overrides++;
    }
    return 0;
}

static int org_show_txn(struct store_txn *t, void *arg)
{
    struct org_show *os = arg;
    int rc = zone_org_name(t, os->zone, sizeof(os->zone));

    if (rc != 0) {
        return rc;
    }
    printf("time zone: %s\n", os->zone);
    return people_list(t, org_override_cb, os);
}

int admin_run_org(struct admin *a)
{
    const char *zone = admin_opt_value(a, "time-zone");
    struct org_zone oz;
    struct org_show os;
    int rc;

    if (zone != NULL && admin_zone_arg(a, zone) != 0) {
        return 2;
    }
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    if (zone == NULL) {
        memset(&os, 0, sizeof(os));
        rc = store_view(a->store, org_show_txn, &os);
        return rc < 0 ? admin_store_failure(a, rc) : 0;
    }
    memset(&oz, 0, sizeof(oz));
    oz.a = a;
    oz.name = zone;
    rc = store_exec(a->store, org_zone_txn, &oz);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    if (!oz.changed) {
        printf("organisation time zone: %s (unchanged)\n", zone);
        return 0;
    }
    printf("organisation time zone: %s (was %s)\n"
           "dashboard aggregates rebuilt: sessions are dated in the new zone\n",
           zone, oz.old);
    return 0;
}

/* ---- coachqd user zone --------------------------------------------------- */

int admin_run_user_zone(struct admin *a)
{
    const char *zone = a->npos > 1 ? a->pos[1] : NULL;
    int clear = admin_opt_value(a, "clear") != NULL;
    struct person_change pc;
    int rc;

    if ((zone == NULL) == !clear) {
        return admin_usage_error(a, "give either a ZONE or --clear");
    }
    if (admin_arg_id(a, "user", a->pos[0]) < 0) {
        return 2;
    }
    if (zone != NULL && admin_zone_arg(a, zone) != 0) {
        return 2;
    }
    admin_person_change_init(&pc, a, "user.time_zone");
    pc.time_zone = clear ? "" : zone;
    if (admin_open_store(a, 0) < 0) {
        return 1;
    }
    rc = store_exec(a->store, admin_person_change_txn, &pc);
    if (rc < 0) {
        return admin_store_failure(a, rc);
    }
    if (!pc.changed) {
        printf("user %s: unchanged\n", pc.id);
        return 0;
    }
    printf("user %s: %s\ndashboard aggregates rebuilt\n", pc.id, pc.detail);
    return 0;
}
