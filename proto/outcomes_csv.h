/*
 * outcomes_csv: the table format of business results (store/outcomes.h for
 * what they are; outcomes_rules.h for their periods and checks): the reader
 * of an outcomes CSV file with FILE:LINE:COL messages. Shared by the client
 * (`coachq outcomes import` checks a file before sending it) and the server,
 * so both say the same about a bad cell.
 *
 * No state; every function is safe from any thread. Rows a parse returns are
 * the caller's (outcomes_rows_free()).
 */
#ifndef COACHQ_OUTCOMES_CSV_H
#define COACHQ_OUTCOMES_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "coachq.pb-c.h"
#include "outcomes_rules.h"

/*
 * Parses an outcomes CSV (header: subject_id,team,period,metric,value; team
 * is "yes"/"no" or empty) into *rows / *n (caller owns: free with
 * outcomes_rows_free()). Every bad cell is reported as "FILE:LINE:COL:
 * message" through errs (may be NULL; at most max_errs calls, then the
 * count only; msg is borrowed until errs returns). name (the file's name
 * in messages) and text (len bytes, no terminator needed) are borrowed for
 * the call. Returns 0, -EINVAL (bad rows: *n_errs set, nothing kept),
 * -E2BIG (more than OUTCOMES_MAX_ROWS rows) or -ENOMEM.
 */
typedef void (*outcomes_err_cb)(const char *msg, void *arg);
int outcomes_parse_csv(const char *name, const char *text, size_t len, outcomes_err_cb errs,
                       void *arg, size_t max_errs, Coachq__V1__Outcome ***rows, size_t *n,
                       size_t *n_errs);
void outcomes_rows_free(Coachq__V1__Outcome **rows, size_t n);

/* Where a parsed row came from: the line its record starts on and the
 * column of each field, indexed by enum outcomes_col. */
enum outcomes_col {
    OUTCOMES_COL_SUBJECT,
    OUTCOMES_COL_TEAM,
    OUTCOMES_COL_PERIOD,
    OUTCOMES_COL_METRIC,
    OUTCOMES_COL_VALUE,
    OUTCOMES_NCOL
};
struct outcomes_pos {
    size_t line;
    size_t col[OUTCOMES_NCOL];
};

/* As outcomes_parse_csv(), and on success *pos (caller owns, free()) gets
 * one position per row, so that a fault found later in the store
 * ("outcomes[i].<field>") can be shown as FILE:LINE:COL. pos may be NULL. */
int outcomes_parse_csv_pos(const char *name, const char *text, size_t len, outcomes_err_cb errs,
                           void *arg, size_t max_errs, Coachq__V1__Outcome ***rows, size_t *n,
                           size_t *n_errs, struct outcomes_pos **pos);

/* The column a fault's field path ("outcomes[3].value") points at:
 * OUTCOMES_COL_SUBJECT for subject_id, ... ; *row gets 3. Returns the
 * column, or -1 if field is not such a path (the row as a whole: *row is
 * still set when it names one). */
int outcomes_fault_col(const char *field, size_t *row);

#endif
