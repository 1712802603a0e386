/*
 * people_csv: the parse-and-check stage of the people import
 * (people_csv.h).
 */
#include "people_csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "csv.h"
#include "people.h"
#include "table.h"
#include "tz.h"
#include "validate.h"

_Static_assert(PEOPLE_CSV_MAX_ROLES == ADMIN_NROLES, "a row holds every role once");

static const char *const people_cols[PEOPLE_CSV_NCOL] = {
    "id", "name", "email", "role", "manager_id", "effective_date", "time_zone"};

static int people_check_email(struct table_errs *e, const struct table_row *r, size_t k)
{
    const char *s = r->f[k];

    if (s[0] == '\0') {
        return 0;
    }
    if (table_check_text(e, r, k, "email", ADMIN_MAX_EMAIL, 0) < 0) {
        return -EINVAL;
    }
    if (!admin_email_like(s)) {
        table_err(e, r->line, r->col[k], "email '%s' is not an e-mail address", s);
        return -EINVAL;
    }
    return 0;
}

static int cmp_person_row(const void *x, const void *y)
{
    const struct people_csv_row *a = *(struct people_csv_row *const *)x;
    const struct people_csv_row *b = *(struct people_csv_row *const *)y;
    int c = strcmp(a->r->f[PEOPLE_CSV_ID], b->r->f[PEOPLE_CSV_ID]);

    if (c != 0) {
        return c;
    }
    return a->r->line < b->r->line ? -1 : a->r->line > b->r->line;
}

/* The row of id in this file whose line starts last (a person may have a
 * row per reporting line change), or NULL. */
struct people_csv_row *people_csv_find(const struct people_csv *pc, const char *id)
{
    struct people_csv_row *best = NULL;
    size_t lo = 0, hi = pc->tab.n;

    /* The first row of id: by_id is sorted by id, then line. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(pc->by_id[mid]->r->f[PEOPLE_CSV_ID], id) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (; lo < pc->tab.n && strcmp(pc->by_id[lo]->r->f[PEOPLE_CSV_ID], id) == 0; lo++) {
        struct people_csv_row *pr = pc->by_id[lo];

        if (best == NULL || (pr->has_day && (!best->has_day || pr->day >= best->day))) {
            best = pr;
        }
    }
    return best;
}

static void people_check_row(struct table_errs *e, struct people_csv_row *pr)
{
    const struct table_row *r = pr->r;
    char msg[200];

    table_check_id(e, r, PEOPLE_CSV_ID, "id");
    table_check_text(e, r, PEOPLE_CSV_NAME, "name", ADMIN_MAX_NAME, 1);
    people_check_email(e, r, PEOPLE_CSV_EMAIL);
    if (admin_parse_roles(r->f[PEOPLE_CSV_ROLE], pr->roles, &pr->nroles, msg, sizeof(msg)) < 0) {
        table_err(e, r->line, r->col[PEOPLE_CSV_ROLE], "%s", msg);
    }
    if (r->f[PEOPLE_CSV_MANAGER][0] != '\0') {
        if (table_check_id(e, r, PEOPLE_CSV_MANAGER, "manager_id") == 0 &&
            strcmp(r->f[PEOPLE_CSV_MANAGER], r->f[PEOPLE_CSV_ID]) == 0) {
            table_err(e, r->line, r->col[PEOPLE_CSV_MANAGER], "'%s' cannot be their own manager",
                      r->f[PEOPLE_CSV_ID]);
        }
        if (r->f[PEOPLE_CSV_EFFECTIVE][0] == '\0') {
            table_err(e, r->line, r->col[PEOPLE_CSV_EFFECTIVE],
                      "effective_date is empty; a manager_id needs the date from which the "
                      "line holds (YYYY-MM-DD)");
            return;
        }
    }
    table_check_date(e, r, PEOPLE_CSV_EFFECTIVE, "effective_date", 0, &pr->day, &pr->has_day);
    /* Only its shape here: whether the system knows the zone is the store
     * stage's question. */
    if (r->f[PEOPLE_CSV_TZ][0] != '\0' &&
        tz_name_check(r->f[PEOPLE_CSV_TZ], strlen(r->f[PEOPLE_CSV_TZ]), msg, sizeof(msg)) != 0) {
        table_err(e, r->line, r->col[PEOPLE_CSV_TZ], "time_zone: %s", msg);
    }
}

/* Reports a reporting line within the file that leads back to where it
 * started, once per loop (at the loop's smallest id). */
static void people_check_loop(struct people_csv *pc, struct table_errs *e,
                              const struct people_csv_row *pr)
{
    const char *start = pr->r->f[PEOPLE_CSV_ID];
    const struct people_csv_row *cur = pr;
    int steps;

    for (steps = 0; steps < 4 * PEOPLE_MAX_CHAIN; steps++) {
        cur = cur->r->f[PEOPLE_CSV_MANAGER][0] ? people_csv_find(pc, cur->r->f[PEOPLE_CSV_MANAGER])
                                               : NULL;
        if (cur == NULL || strcmp(cur->r->f[PEOPLE_CSV_ID], start) < 0) {
            return;
        }
        if (cur == pr) {
            table_err(e, pr->r->line, pr->r->col[PEOPLE_CSV_MANAGER],
                      "manager_id '%s': the reporting line from '%s' leads back to '%s'",
                      pr->r->f[PEOPLE_CSV_MANAGER], start, start);
            return;
        }
    }
}

/*
 * A person may have several rows, one per change of their reporting line
 * (a transfer); each must give the same name, email and roles as their
 * first row.
 */
static void people_check_same_person(struct table_errs *e, const struct people_csv_row *first,
                                     const struct people_csv_row *pr)
{
    static const size_t same[4] = {PEOPLE_CSV_NAME, PEOPLE_CSV_EMAIL, PEOPLE_CSV_ROLE,
                                   PEOPLE_CSV_TZ};
    const struct table_row *f0 = first->r;
    const struct table_row *r = pr->r;
    size_t k;

    for (k = 0; k < 4; k++) {
        size_t c = same[k];
        int differs = c == PEOPLE_CSV_ROLE ? pr->nroles != first->nroles ||
                                                 memcmp(pr->roles, first->roles,
                                                        pr->nroles * sizeof(pr->roles[0])) != 0
                                           : strcmp(f0->f[c], r->f[c]) != 0;

        if (differs) {
            table_err(e, r->line, r->col[c],
                      "%s '%s' differs from line %zu ('%s'); the rows of one person must agree",
                      people_cols[c], r->f[c], f0->line, f0->f[c]);
            return;
        }
    }
}

/* Two rows of one person must not name different managers from one day. */
static void people_check_same_day(struct table_errs *e, const struct people_csv_row *earlier,
                                  const struct people_csv_row *pr)
{
    if (pr->has_day && earlier->has_day && pr->day == earlier->day &&
        strcmp(earlier->r->f[PEOPLE_CSV_MANAGER], pr->r->f[PEOPLE_CSV_MANAGER]) != 0) {
        table_err(e, pr->r->line, pr->r->col[PEOPLE_CSV_EFFECTIVE],
                  "line %zu gives '%s' another manager from the same day", earlier->r->line,
                  pr->r->f[PEOPLE_CSV_ID]);
    }
}

/* Checks everything that needs no store. */
static int people_check(struct people_csv *pc, struct table_errs *e)
{
    size_t i;

    pc->rows = calloc(pc->tab.n + 1, sizeof(*pc->rows));
    pc->by_id = calloc(pc->tab.n + 1, sizeof(*pc->by_id));
    if (pc->rows == NULL || pc->by_id == NULL) {
        return -ENOMEM;
    }
    for (i = 0; i < pc->tab.n; i++) {
        pc->rows[i].r = &pc->tab.rows[i];
        pc->by_id[i] = &pc->rows[i];
        people_check_row(e, &pc->rows[i]);
    }
    qsort(pc->by_id, pc->tab.n, sizeof(*pc->by_id), cmp_person_row);
    for (i = 0; i < pc->tab.n; i++) {
        const char *id = pc->by_id[i]->r->f[PEOPLE_CSV_ID];
        size_t k;

        pc->by_id[i]->first = 1;
        if (validate_id(id) < 0) {
            continue;
        }
        for (k = i; k > 0 && strcmp(pc->by_id[k - 1]->r->f[PEOPLE_CSV_ID], id) == 0; k--) {
            people_check_same_day(e, pc->by_id[k - 1], pc->by_id[i]);
        }
        if (k < i) {
            pc->by_id[i]->first = 0;
            people_check_same_person(e, pc->by_id[k], pc->by_id[i]);
        }
    }
    for (i = 0; i < pc->tab.n; i++) {
        people_check_loop(pc, e, &pc->rows[i]);
    }
    return 0;
}

int people_csv_read(struct people_csv *pc, struct csv *c, struct table_errs *e)
{
    int rc;

    memset(pc, 0, sizeof(*pc));
    rc = admin_table_read(c, people_cols, PEOPLE_CSV_NCOL, PEOPLE_CSV_TZ, &pc->tab, e);
    if (rc == 0) {
        rc = people_check(pc, e);
    }
    return rc;
}

void people_csv_clear(struct people_csv *pc)
{
    table_clear(&pc->tab);
    free(pc->rows);
    free(pc->by_id);
    memset(pc, 0, sizeof(*pc));
}
