#include "auth.h"

#include <errno.h>
#include <string.h>

static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

int auth_check(const char *user, enum auth_action action, const Coachq__V1__StoredObservation *rec,
               Coachq__V1__ListBy by, const char *person)
{
    (void)by;
    (void)person;
    if (user == NULL || user[0] == '\0') {
        return -EACCES;
    }
    switch (action) {
    case AUTH_SUBMIT:
    case AUTH_STATS:
        return 0;
    case AUTH_LIST:
        /* Any index may be listed; every record on the page then passes
         * AUTH_READ_RECORD, so a list never shows what a get would not. */
        return 0;
    case AUTH_READ_RECORD:
        if (rec == NULL || rec->observation == NULL) {
            return -EACCES;
        }
        if (same(rec->observer_id, user) || same(rec->observation->coach_id, user) ||
            same(rec->observation->coachee_id, user)) {
            return 0;
        }
        return -EACCES;
    }
    return -EACCES;
}
