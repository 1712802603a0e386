/*
 * table: the table format every CSV import shares (people, programmes and
 * outcomes): a CSV text whose first line names the columns, in any order,
 * read into rows of trimmed fields in the import's own column order, with
 * every problem kept as "FILE:LINE:COL: message" ("FILE: message" for the
 * file as a whole) and given back in file order.
 *
 * It lives in proto/ because the client checks an outcomes file before it
 * sends it and must say about a bad cell exactly what coachqd says. The
 * framework reads, maps the header, counts fields, trims blanks and checks
 * the cells every import has (ids, text, dates); what a row means is the
 * caller's, in its row callback.
 *
 * No globals and no threads: each function is safe from any thread on
 * objects no other thread uses. Errors are 0 or a negative errno.
 */
#ifndef COACHQ_TABLE_H
#define COACHQ_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct csv;

/* The most columns a table may have. */
#define TABLE_MAX_COLS 8
/* Bytes of one message, "FILE:LINE:COL: " included (longer ones are cut). */
#define TABLE_MSG_LEN 600

/* ---- Errors ------------------------------------------------------------ */

/* One kept error; line 0 is the file as a whole. */
struct table_err {
    size_t line;
    size_t col;
    char msg[TABLE_MSG_LEN];
};

/*
 * The errors of one import. The first max reported are kept (the rest only
 * counted), so that an import can say "stopped after N errors". Set up with
 * table_errs_init(), release with table_errs_close().
 */
struct table_errs {
    const char *file;       /* borrowed until table_errs_close(): the name in messages */
    struct table_err *kept; /* owned: n of them, in the order reported */
    size_t max;
    size_t n;     /* kept */
    size_t total; /* reported, kept or not */
};

/* Sets e up to keep up to max errors about file (borrowed; it must outlive
 * e). Returns 0 or -ENOMEM. */
int table_errs_init(struct table_errs *e, const char *file, size_t max);
/* Frees what e holds; e may be zeroed or already closed. */
void table_errs_close(struct table_errs *e);

/* Reports an error at line:col (line 0: the file as a whole, col unused). */
void table_err(struct table_errs *e, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* True once max errors are kept. */
int table_errs_full(const struct table_errs *e);
/* Forgets every error reported after the first total (total no more than
 * e->total): an import's store stage, which may run more than once, goes
 * back to the errors its file had. */
void table_errs_truncate(struct table_errs *e, size_t total);
/* Puts the kept errors in file order (by line, then column; errors at one
 * place keep the order they were reported in). Call it after the last
 * table_err(). */
void table_errs_sort(struct table_errs *e);

/* ---- Rows -------------------------------------------------------------- */

/* One data record: fields trimmed of blanks, in the spec's column order;
 * col[k] is where f[k]'s text starts. */
struct table_row {
    size_t line;
    size_t col[TABLE_MAX_COLS];
    char *f[TABLE_MAX_COLS];
    char *text; /* in a struct table: owns every f[k]'s bytes; NULL in a callback's row */
};

/*
 * Called for each record with the right number of fields. row is borrowed
 * for the call. Returns 1 when the row is kept (kept rows count towards
 * max_rows), 0 when it is not, or a negative errno that ends table_read().
 */
typedef int (*table_row_cb)(const struct table_row *row, void *arg);

/* What a table looks like and how its reading ends. */
struct table_spec {
    const char *const *names; /* the column names, in the order rows give them */
    size_t ncol;              /* at most TABLE_MAX_COLS */
    size_t max_rows;          /* kept rows; one more is "more than N rows" */
    const char *too_many;     /* said after "more than N rows" ("" for nothing) */
    int too_many_rc;          /* what table_read() returns then */
    const char *unreadable;   /* a CSV error without a message; NULL: its errno's text */
    int stop_when_full;       /* stop at the first record after e is full */
    /* Columns from this index on may be left out of the header; their
     * cells then read "" at column 0 (col[k] == 0 tells "not in the file"
     * from "empty"). 0: every column is required. */
    size_t nrequired;
};

/*
 * Reads the table from c (borrowed; its next record is the header) and
 * calls row for each data record. Problems go into e. Returns 0 (read to
 * its end; rows may have been refused: see e->total), -EINVAL (it cannot
 * be read on, or e filled up with stop_when_full: see e),
 * spec->too_many_rc (more than max_rows rows), -ENOMEM, or row's error.
 */
int table_read(struct csv *c, const struct table_spec *spec, table_row_cb row, void *arg,
               struct table_errs *e);

/* Rows kept in memory: a table_read() callback that copies every row. */
struct table {
    struct table_row *rows; /* owned, with their fields */
    size_t n;
    size_t cap;
};

/* A table_row_cb that copies row into arg, a struct table (zeroed before
 * the first call). Returns 1 or -ENOMEM. */
int table_keep(const struct table_row *row, void *arg);
/* Frees the rows of t and leaves it empty. */
void table_clear(struct table *t);

/* ---- Cells every import has ---------------------------------------------- */

/* Each reports into e at the cell and returns -EINVAL when row->f[k] is
 * refused, else 0. what names the column in the message. */

/* An id (validate_id()). */
int table_check_id(struct table_errs *e, const struct table_row *r, size_t k, const char *what);
/* Text of at most max bytes without control characters; empty only if
 * not required. */
int table_check_text(struct table_errs *e, const struct table_row *r, size_t k, const char *what,
                     size_t max, int required);
/* A date YYYY-MM-DD from 1970-01-01 into *day (*has 1); an empty cell is
 * refused if required, else *has is 0. */
int table_check_date(struct table_errs *e, const struct table_row *r, size_t k, const char *what,
                     int required, int32_t *day, int *has);

#endif
