/*
 * zone: whose time zone decides a date, and the organisation's zone.
 *
 * The organisation has an IANA time zone (meta "time_zone"; "UTC" when
 * none was ever set, which is how every store before it behaved), and a
 * person may override it (Person.time_zone). Every local date the product
 * derives from an instant goes through this module:
 *
 *   - a session's date (its ISO week, month and quarter follow from it) is
 *     the local date in the coach's zone: the session is the front-line
 *     manager's coaching of one of their reps, in their working day, and a
 *     remote observer elsewhere does not move it; so the aggregates, the
 *     reporting line and the observer's certification on the session date
 *     all use zone_session_day();
 *   - "today" is the local date of the person asking (the viewer of a
 *     dashboard, the observer whose calibration passed), zone_day_of().
 *
 * Changing a zone changes which week a stored session falls in, so the
 * aggregates are rebuilt in the transaction that changes it
 * (zone_org_set(), and the person verbs in admin/).
 *
 * Zones are loaded through the store's struct tz_cache (common/tz.h) and
 * borrowed until store_close(). A zone stored by name that cannot be
 * loaded any more (tzdata removed the name) gives way, with a warning in
 * the log: a person's to the organisation's, the organisation's to UTC. The transaction remembers
 * what it looked up (store_int.h, struct store_txn_zones); whatever writes a zone forgets it.
 * Functions run on the transaction's thread and return 0 or a negative code (STORE_TXN_ABORT()
 * codes to pass on).
 */
#ifndef COACHQ_ZONE_H
#define COACHQ_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "store.h"
#include "tz.h"

/* The organisation's zone name into name (len >= TZ_NAME_MAX + 1): "UTC"
 * when none was set. */
int zone_org_name(struct store_txn *t, char *name, size_t len);

/* The organisation's zone (borrowed until store_close()). */
int zone_org(struct store_txn *t, const struct tz_zone **out);

/*
 * Loads zone name through the store's cache to check it (*out may be
 * NULL). Returns 0, or tz_cache_get()'s codes with why (whylen bytes)
 * naming the zone and what is wrong.
 */
int zone_load(struct store_txn *t, const char *name, const struct tz_zone **out, char *why,
              size_t whylen);

/*
 * Sets the organisation's zone to name (checked with zone_load()) in write
 * transaction t and, if it changed, rebuilds every aggregate and counts the
 * coaching days again (cadence.h) in t. *old
 * (oldlen >= TZ_NAME_MAX + 1) gets the zone before. Returns 0, -EINVAL,
 * -ENOENT, -EBADMSG (why says what), -EROFS or a store code.
 */
int zone_org_set(struct store_txn *t, const char *name, char *old, size_t oldlen, char *why,
                 size_t whylen);

/* The zone of person (their override, else the organisation's; an unknown
 * person has the organisation's). Borrowed until store_close(). */
int zone_of_person(struct store_txn *t, const char *person, const struct tz_zone **out);

/* The local day of instant seconds in person's zone (zone_of_person()). */
int zone_day_of(struct store_txn *t, const char *person, int64_t seconds, int32_t *day);

/* The session date of o: the local day of o->started_at in o's coach's
 * zone. */
int zone_session_day(struct store_txn *t, const Coachq__V1__Observation *o, int32_t *day);

/* Forgets what t looked up (after a zone was written in it). */
void zone_txn_forget(struct store_txn *t);

#endif
