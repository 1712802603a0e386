/*
 * sessions_csv: the parse-and-check stage of `coachqd import sessions`:
 * coaching sessions held, one row per coach, rep and day (columns
 * coach_id,coachee_id,date and optionally minutes, read with the table
 * format of proto/table.h) in, its rows and every problem that needs no
 * store out, as FILE:LINE:COL errors: ids, dates, minutes (a whole number
 * 0..1440; empty or 0: not known) and a pair's day given twice. No store
 * and no files: the caller opens the CSV reader and checks the rows against
 * the store afterwards (admin_import.c: unknown people, a coachee outside
 * the coach's line on that day, a date in the future, a row already
 * imported).
 *
 * The rows' texts are owned by the struct (sessions_csv_clear()); errors
 * go into the caller's table_errs. No globals.
 */
#ifndef COACHQ_SESSIONS_CSV_H
#define COACHQ_SESSIONS_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

struct csv;

/* The columns, in the order rows give them (struct table_row's f[]). */
enum sessions_csv_col {
    SESSIONS_CSV_COACH,
    SESSIONS_CSV_COACHEE,
    SESSIONS_CSV_DATE,
    SESSIONS_CSV_MINUTES,
    SESSIONS_CSV_NCOL
};

/* One row, with its date and minutes read. */
struct sessions_csv_row {
    const struct table_row *r; /* borrowed from the struct sessions_csv's table */
    int32_t day;
    uint32_t minutes;
    int ok; /* no error in the row's own cells */
};

struct sessions_csv {
    struct table tab;              /* owned: the fields */
    struct sessions_csv_row *rows; /* owned: tab.n of them, in file order */
};

/*
 * Reads the file from c (borrowed; its next record is the header) into sc
 * (overwritten; free with sessions_csv_clear() whatever the result) and
 * runs every check that needs no store. Returns 0 (the rows are read;
 * e->total > 0 if some were refused), -EINVAL (the file cannot be read
 * on: see e) or -ENOMEM.
 */
int sessions_csv_read(struct sessions_csv *sc, struct csv *c, struct table_errs *e);

/* Frees what sc holds and leaves it empty. */
void sessions_csv_clear(struct sessions_csv *sc);

#endif
