/*
 * sessions_csv: the parse-and-check stage of the sessions-held import
 * (sessions_csv.h).
 */
#include "sessions_csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "cadence.h"
#include "csv.h"
#include "table.h"

static const char *const sessions_cols[SESSIONS_CSV_NCOL] = {"coach_id", "coachee_id", "date",
                                                             "minutes"};

/* Minutes: empty (0), or a whole number 0..CADENCE_MAX_MINUTES. */
static int sessions_minutes(struct table_errs *e, struct sessions_csv_row *g)
{
    const char *s = g->r->f[SESSIONS_CSV_MINUTES];
    char *end = NULL;
    long v;

    g->minutes = 0;
    if (s[0] == '\0') {
        return 0;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno != 0 || end == NULL || *end != '\0' || v < 0 ||
        v > CADENCE_MAX_MINUTES) {
        table_err(e, g->r->line, g->r->col[SESSIONS_CSV_MINUTES],
                  "minutes '%s' is not a whole number of minutes from 0 to %d", s,
                  CADENCE_MAX_MINUTES);
        return -EINVAL;
    }
    g->minutes = (uint32_t)v;
    return 0;
}

static void sessions_check_row(struct table_errs *e, struct sessions_csv_row *g)
{
    const struct table_row *r = g->r;
    int has = 0;
    int bad = 0;

    bad |= table_check_id(e, r, SESSIONS_CSV_COACH, "coach_id") != 0;
    bad |= table_check_id(e, r, SESSIONS_CSV_COACHEE, "coachee_id") != 0;
    bad |= table_check_date(e, r, SESSIONS_CSV_DATE, "date", 1, &g->day, &has) != 0;
    bad |= sessions_minutes(e, g) != 0;
    if (!bad && strcmp(r->f[SESSIONS_CSV_COACH], r->f[SESSIONS_CSV_COACHEE]) == 0) {
        table_err(e, r->line, r->col[SESSIONS_CSV_COACHEE],
                  "coachee_id '%s' is the coach: a session held is a manager coaching a rep",
                  r->f[SESSIONS_CSV_COACHEE]);
        bad = 1;
    }
    g->ok = !bad;
}

static int cmp_row(const void *x, const void *y)
{
    const struct sessions_csv_row *a = *(struct sessions_csv_row *const *)x;
    const struct sessions_csv_row *b = *(struct sessions_csv_row *const *)y;
    int c = strcmp(a->r->f[SESSIONS_CSV_COACHEE], b->r->f[SESSIONS_CSV_COACHEE]);

    if (c == 0) {
        c = strcmp(a->r->f[SESSIONS_CSV_COACH], b->r->f[SESSIONS_CSV_COACH]);
    }
    if (c == 0) {
        c = (a->day > b->day) - (a->day < b->day);
    }
    if (c != 0) {
        return c;
    }
    return a->r->line < b->r->line ? -1 : a->r->line > b->r->line;
}

/* A pair's day given twice: the later line is the error. */
static int sessions_check_dups(struct sessions_csv *sc, struct table_errs *e)
{
    struct sessions_csv_row **sorted = calloc(sc->tab.n + 1, sizeof(*sorted));
    size_t n = 0;

    if (sorted == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < sc->tab.n; i++) {
        if (sc->rows[i].ok) {
            sorted[n++] = &sc->rows[i];
        }
    }
    qsort(sorted, n, sizeof(*sorted), cmp_row);
    for (size_t i = 1; i < n; i++) {
        const struct sessions_csv_row *p = sorted[i - 1], *g = sorted[i];

        if (p->day == g->day &&
            strcmp(p->r->f[SESSIONS_CSV_COACH], g->r->f[SESSIONS_CSV_COACH]) == 0 &&
            strcmp(p->r->f[SESSIONS_CSV_COACHEE], g->r->f[SESSIONS_CSV_COACHEE]) == 0) {
            table_err(e, g->r->line, g->r->col[SESSIONS_CSV_DATE],
                      "duplicate: '%s' coaching '%s' on %s is already on line %zu",
                      g->r->f[SESSIONS_CSV_COACH], g->r->f[SESSIONS_CSV_COACHEE],
                      g->r->f[SESSIONS_CSV_DATE], p->r->line);
        }
    }
    free(sorted);
    return 0;
}

int sessions_csv_read(struct sessions_csv *sc, struct csv *c, struct table_errs *e)
{
    int rc;

    memset(sc, 0, sizeof(*sc));
    rc = admin_table_read(c, sessions_cols, SESSIONS_CSV_NCOL, 3, &sc->tab, e);
    if (rc != 0) {
        return rc;
    }
    sc->rows = calloc(sc->tab.n + 1, sizeof(*sc->rows));
    if (sc->rows == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < sc->tab.n; i++) {
        sc->rows[i].r = &sc->tab.rows[i];
        sessions_check_row(e, &sc->rows[i]);
    }
    return sessions_check_dups(sc, e);
}

void sessions_csv_clear(struct sessions_csv *sc)
{
    table_clear(&sc->tab);
    free(sc->rows);
    memset(sc, 0, sizeof(*sc));
}
