/*
 * people_csv: the parse-and-check stage of `coachqd import people`: an HRIS
 * export (columns id,name,email,role,manager_id,effective_date and an
 * optional time_zone, read with
 * the table format of proto/table.h) in, its rows and every problem that
 * needs no store out, as FILE:LINE:COL errors. No store and no files: the
 * caller opens the CSV reader (on a file, or on bytes in memory) and merges
 * the rows with the store afterwards (admin_import.c), so the stage can be
 * run, and fuzzed, alone.
 *
 * A person may have several rows, one per change of their reporting line.
 * The rows' texts are owned by the struct (people_csv_clear()); errors go
 * into the caller's table_errs. No globals: safe from any thread on its own
 * objects.
 */
#ifndef COACHQ_PEOPLE_CSV_H
#define COACHQ_PEOPLE_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "table.h"

struct csv;

/* The columns, in the order rows give them (struct table_row's f[]). */
enum people_csv_col {
    PEOPLE_CSV_ID,
    PEOPLE_CSV_NAME,
    PEOPLE_CSV_EMAIL,
    PEOPLE_CSV_ROLE,
    PEOPLE_CSV_MANAGER,
    PEOPLE_CSV_EFFECTIVE,
    PEOPLE_CSV_TZ, /* optional: the person's own time zone ("" the organisation's) */
    PEOPLE_CSV_NCOL
};

/* The most roles a row can give: each role once. */
#define PEOPLE_CSV_MAX_ROLES 5

/* One row, with what the checks read from it. */
struct people_csv_row {
    const struct table_row *r; /* borrowed from the struct people_csv's table */
    Coachq__V1__Role roles[PEOPLE_CSV_MAX_ROLES];
    size_t nroles;
    int32_t day; /* effective_date, if has_day */
    int has_day;
    int first; /* the first row of its id: the one that puts the person */
};

/* A people file: its rows in file order and by id. */
struct people_csv {
    struct table tab;              /* owned: the fields */
    struct people_csv_row *rows;   /* owned: tab.n of them, in file order */
    struct people_csv_row **by_id; /* owned: the same rows, by id, then line */
};

/*
 * Reads the file from c (borrowed; its next record is the header) into pc
 * (overwritten; free with people_csv_clear() whatever the result) and runs
 * every check that needs no store: ids, names, e-mail addresses, roles,
 * dates, rows of one person that disagree, and reporting lines that loop
 * within the file. Problems go into e (file name and cap are e's). Returns
 * 0 (the rows are read; e->total > 0 if some were refused), -EINVAL (the
 * file cannot be read on: see e) or -ENOMEM.
 */
int people_csv_read(struct people_csv *pc, struct csv *c, struct table_errs *e);

/* Frees what pc holds and leaves it empty. */
void people_csv_clear(struct people_csv *pc);

/* The row of id whose line starts last (a person may have a row per
 * reporting line change), or NULL if id has none. Borrowed from pc. */
struct people_csv_row *people_csv_find(const struct people_csv *pc, const char *id);

#endif
