/*
 * programme_csv: the parse-and-check stage of the programme import
 * (programme_csv.h).
 */
#include "programme_csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "csv.h"
#include "table.h"

static const char *const programme_cols[PROGRAMME_CSV_NCOL] = {
    "programme_id", "programme_name", "cohort_id",   "cohort_start",
    "person_id",    "module",         "attended_on", "completed_on"};

static int cmp_prog_row(const void *x, const void *y)
{
    const struct programme_csv_row *a = *(struct programme_csv_row *const *)x;
    const struct programme_csv_row *b = *(struct programme_csv_row *const *)y;
    int c = strcmp(a->r->f[PROGRAMME_CSV_PROG], b->r->f[PROGRAMME_CSV_PROG]);

    if (c == 0) {
        c = strcmp(a->r->f[PROGRAMME_CSV_PERSON], b->r->f[PROGRAMME_CSV_PERSON]);
    }
    if (c != 0) {
        return c;
    }
    return a->r->line < b->r->line ? -1 : a->r->line > b->r->line;
}

static void prog_check_row(struct table_errs *e, struct programme_csv_row *g)
{
    const struct table_row *r = g->r;

    table_check_id(e, r, PROGRAMME_CSV_PROG, "programme_id");
    table_check_text(e, r, PROGRAMME_CSV_NAME, "programme_name", ADMIN_MAX_NAME, 1);
    table_check_id(e, r, PROGRAMME_CSV_COHORT, "cohort_id");
    table_check_date(e, r, PROGRAMME_CSV_START, "cohort_start", 1, &g->start, &g->has_start);
    table_check_id(e, r, PROGRAMME_CSV_PERSON, "person_id");
    table_check_text(e, r, PROGRAMME_CSV_MODULE, "module", ADMIN_MAX_MODULE, 0);
    table_check_date(e, r, PROGRAMME_CSV_ATTENDED, "attended_on", 0, &g->attended,
                     &g->has_attended);
    table_check_date(e, r, PROGRAMME_CSV_COMPLETED, "completed_on", 0, &g->completed,
                     &g->has_completed);
    if (r->f[PROGRAMME_CSV_MODULE][0] != '\0' && r->f[PROGRAMME_CSV_ATTENDED][0] == '\0') {
        table_err(e, r->line, r->col[PROGRAMME_CSV_ATTENDED],
                  "attended_on is empty; module '%s' needs the day it was attended",
                  r->f[PROGRAMME_CSV_MODULE]);
    } else if (r->f[PROGRAMME_CSV_MODULE][0] == '\0' && r->f[PROGRAMME_CSV_ATTENDED][0] != '\0') {
        table_err(e, r->line, r->col[PROGRAMME_CSV_MODULE],
                  "module is empty; attended_on needs the module that was attended");
    }
}

/* Rows that must agree: a programme's name, and a person's cohort and
 * completion within one programme (one enrolment per programme and person). */
static void prog_check_groups(struct programme_csv *pc, struct table_errs *e)
{
    const struct programme_csv_row *first_of_prog = NULL, *first_of_enr = NULL;
    size_t i;

    for (i = 0; i < pc->tab.n; i++) {
        const struct programme_csv_row *g = pc->sorted[i];
        const struct table_row *r = g->r;

        if (first_of_prog == NULL ||
            strcmp(first_of_prog->r->f[PROGRAMME_CSV_PROG], r->f[PROGRAMME_CSV_PROG]) != 0) {
            first_of_prog = g;
            first_of_enr = g;
            continue;
        }
        if (strcmp(first_of_prog->r->f[PROGRAMME_CSV_NAME], r->f[PROGRAMME_CSV_NAME]) != 0) {
            table_err(e, r->line, r->col[PROGRAMME_CSV_NAME],
                      "programme '%s' is named '%s' on line %zu", r->f[PROGRAMME_CSV_PROG],
                      first_of_prog->r->f[PROGRAMME_CSV_NAME], first_of_prog->r->line);
        }
        if (strcmp(first_of_enr->r->f[PROGRAMME_CSV_PERSON], r->f[PROGRAMME_CSV_PERSON]) != 0) {
            first_of_enr = g;
            continue;
        }
        if (strcmp(first_of_enr->r->f[PROGRAMME_CSV_COHORT], r->f[PROGRAMME_CSV_COHORT]) != 0 ||
            strcmp(first_of_enr->r->f[PROGRAMME_CSV_START], r->f[PROGRAMME_CSV_START]) != 0) {
            table_err(e, r->line, r->col[PROGRAMME_CSV_COHORT],
                      "'%s' is in cohort '%s' starting %s on line %zu; a person is in one "
                      "cohort per programme",
                      r->f[PROGRAMME_CSV_PERSON], first_of_enr->r->f[PROGRAMME_CSV_COHORT],
                      first_of_enr->r->f[PROGRAMME_CSV_START], first_of_enr->r->line);
        }
    }
    /* Completion dates of one enrolment must agree where given. */
    for (i = 1; i < pc->tab.n; i++) {
        const struct programme_csv_row *g = pc->sorted[i];
        size_t k;

        if (!g->has_completed) {
            continue;
        }
        for (k = i; k > 0; k--) {
            const struct programme_csv_row *p = pc->sorted[k - 1];

            if (strcmp(p->r->f[PROGRAMME_CSV_PROG], g->r->f[PROGRAMME_CSV_PROG]) != 0 ||
                strcmp(p->r->f[PROGRAMME_CSV_PERSON], g->r->f[PROGRAMME_CSV_PERSON]) != 0) {
                break;
            }
            if (p->has_completed) {
                if (p->completed != g->completed) {
                    table_err(e, g->r->line, g->r->col[PROGRAMME_CSV_COMPLETED],
                              "completed_on '%s' differs from '%s' on line %zu",
                              g->r->f[PROGRAMME_CSV_COMPLETED], p->r->f[PROGRAMME_CSV_COMPLETED],
                              p->r->line);
                }
                break;
            }
        }
    }
}

static int prog_check(struct programme_csv *pc, struct table_errs *e)
{
    size_t i;

    pc->rows = calloc(pc->tab.n + 1, sizeof(*pc->rows));
    pc->sorted = calloc(pc->tab.n + 1, sizeof(*pc->sorted));
    if (pc->rows == NULL || pc->sorted == NULL) {
        return -ENOMEM;
    }
    for (i = 0; i < pc->tab.n; i++) {
        pc->rows[i].r = &pc->tab.rows[i];
        pc->sorted[i] = &pc->rows[i];
        prog_check_row(e, &pc->rows[i]);
    }
    qsort(pc->sorted, pc->tab.n, sizeof(*pc->sorted), cmp_prog_row);
    prog_check_groups(pc, e);
    return 0;
}

int programme_csv_read(struct programme_csv *pc, struct csv *c, struct table_errs *e)
{
    int rc;

    memset(pc, 0, sizeof(*pc));
    rc = admin_table_read(c, programme_cols, PROGRAMME_CSV_NCOL, 0, &pc->tab, e);
    if (rc == 0) {
        rc = prog_check(pc, e);
    }
    return rc;
}

void programme_csv_clear(struct programme_csv *pc)
{
    table_clear(&pc->tab);
    free(pc->rows);
    free(pc->sorted);
    memset(pc, 0, sizeof(*pc));
}
