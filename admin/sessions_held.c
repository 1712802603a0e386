/*
 * sessions_held: the store stage of a sessions-held import
 * (sessions_held.h).
 */
#include "sessions_held.h"

#include <errno.h>
#include <string.h>

#include "cadence.h"
#include "people.h"
#include "store.h"
#include "zone.h"

/* A person named by a cell: 0 when known, 1 (an error at the cell) when
 * not, or a negative code. */
static int held_person(struct store_txn *t, struct table_errs *e, const struct table_row *r,
                       size_t k, const char *what)
{
    Coachq__V1__Person *p = NULL;
    int rc = people_get(t, r->f[k], &p);

    if (rc == -ENOENT) {
        table_err(e, r->line, r->col[k], "%s '%s' is not in the store (import people first)", what,
                  r->f[k]);
        return 1;
    }
    if (rc < 0) {
        return rc;
    }
    coachq__v1__person__free_unpacked(p, NULL);
    return 0;
}

/* The checks that need the store, for one row that passed its own, at
 * instant now_s. */
static int held_check_row(struct store_txn *t, int64_t now_s, struct table_errs *e,
                          const struct sessions_csv_row *g)
{
    const struct table_row *r = g->r;
    char manager[65];
    int32_t today;
    int bad = 0;
    int rc;

    rc = held_person(t, e, r, SESSIONS_CSV_COACH, "coach_id");
    if (rc < 0) {
        return rc;
    }
    bad |= rc;
    rc = held_person(t, e, r, SESSIONS_CSV_COACHEE, "coachee_id");
    if (rc < 0) {
        return rc;
    }
    bad |= rc;
    /* A row's date is a day in the coach's zone, like a session's: so is
     * "today" (zone.h). */
    if (zone_day_of(t, r->f[SESSIONS_CSV_COACH], now_s, &today) != 0) {
        today = store_day_of(now_s);
    }
    if (g->day > today) {
        table_err(e, r->line, r->col[SESSIONS_CSV_DATE],
                  "date '%s' is in the future: import sessions that were held",
                  r->f[SESSIONS_CSV_DATE]);
        bad = 1;
    }
    if (bad) {
        return 0;
    }
    rc = people_manager_at(t, r->f[SESSIONS_CSV_COACHEE], g->day, manager, sizeof(manager));
    if (rc == -ENOENT || (rc == 0 && strcmp(manager, r->f[SESSIONS_CSV_COACH]) != 0)) {
        table_err(e, r->line, r->col[SESSIONS_CSV_COACHEE],
                  "coachee_id '%s' did not report to '%s' on %s: a session held is with a rep "
                  "of the coach's line on that day",
                  r->f[SESSIONS_CSV_COACHEE], r->f[SESSIONS_CSV_COACH], r->f[SESSIONS_CSV_DATE]);
        return 0;
    }
    if (rc < 0) {
        return rc;
    }
    rc = cadence_held_get(t, r->f[SESSIONS_CSV_COACH], r->f[SESSIONS_CSV_COACHEE], g->day, NULL);
    if (rc == 0) {
        table_err(e, r->line, r->col[SESSIONS_CSV_DATE],
                  "duplicate: '%s' coaching '%s' on %s is already imported",
                  r->f[SESSIONS_CSV_COACH], r->f[SESSIONS_CSV_COACHEE], r->f[SESSIONS_CSV_DATE]);
        return 0;
    }
    return rc == -ENOENT ? 0 : rc;
}

int sessions_held_import(struct store_txn *t, const struct sessions_csv *sc, int64_t now_s,
                         int dry_run, struct table_errs *e, size_t *added, size_t *fail_line)
{
    int rc;

    *added = 0;
    *fail_line = 0;
    for (size_t i = 0; i < sc->tab.n && !table_errs_full(e); i++) {
        const struct sessions_csv_row *g = &sc->rows[i];

        if (!g->ok) {
            continue;
        }
        rc = held_check_row(t, now_s, e, g);
        if (rc < 0) {
            *fail_line = g->r->line;
            return rc;
        }
    }
    if (e->total > 0) {
        return -EINVAL;
    }
    for (size_t i = 0; i < sc->tab.n; i++) {
        const struct sessions_csv_row *g = &sc->rows[i];

        if (!dry_run) {
            rc = cadence_held_put(t, g->r->f[SESSIONS_CSV_COACH], g->r->f[SESSIONS_CSV_COACHEE],
                                  g->day, g->minutes);
            if (rc < 0) {
                *fail_line = g->r->line;
                return rc;
            }
        }
        (*added)++;
    }
    return 0;
}
