/*
 * programme_csv: the parse-and-check stage of `coachqd import programme`: a
 * training programme's cohorts, attendance and completion (columns
 * programme_id,programme_name,cohort_id,cohort_start,person_id,module,
 * attended_on,completed_on, read with the table format of proto/table.h)
 * in, its rows and every problem that needs no store out, as FILE:LINE:COL
 * errors. No store and no files: the caller opens the CSV reader (on a
 * file, or on bytes in memory) and merges the rows with the store
 * afterwards (admin_import.c), so the stage can be run, and fuzzed, alone.
 *
 * The rows' texts are owned by the struct (programme_csv_clear()); errors
 * go into the caller's table_errs. No globals: safe from any thread on its
 * own objects.
 */
#ifndef COACHQ_PROGRAMME_CSV_H
#define COACHQ_PROGRAMME_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

struct csv;

/* The columns, in the order rows give them (struct table_row's f[]). */
enum programme_csv_col {
    PROGRAMME_CSV_PROG,
    PROGRAMME_CSV_NAME,
    PROGRAMME_CSV_COHORT,
    PROGRAMME_CSV_START,
    PROGRAMME_CSV_PERSON,
    PROGRAMME_CSV_MODULE,
    PROGRAMME_CSV_ATTENDED,
    PROGRAMME_CSV_COMPLETED,
    PROGRAMME_CSV_NCOL
};

/* One row, with its dates read. */
struct programme_csv_row {
    const struct table_row *r; /* borrowed from the struct programme_csv's table */
    int32_t start, attended, completed;
    int has_start, has_attended, has_completed;
};

/* A programme file: its rows in file order and sorted. */
struct programme_csv {
    struct table tab;                  /* owned: the fields */
    struct programme_csv_row *rows;    /* owned: tab.n of them, in file order */
    struct programme_csv_row **sorted; /* owned: the same rows, by programme, person, line */
};

/*
 * Reads the file from c (borrowed; its next record is the header) into pc
 * (overwritten; free with programme_csv_clear() whatever the result) and
 * runs every check that needs no store: ids, names, dates, attendance
 * without its module or day, a programme named two ways, a person in two
 * cohorts of one programme, completion dates that disagree. Problems go
 * into e. Returns 0 (the rows are read; e->total > 0 if some were
 * refused), -EINVAL (the file cannot be read on: see e) or -ENOMEM.
 */
int programme_csv_read(struct programme_csv *pc, struct csv *c, struct table_errs *e);

/* Frees what pc holds and leaves it empty. */
void programme_csv_clear(struct programme_csv *pc);

#endif
