/*
 * csv: a strict reader of comma-separated files (RFC 4180) that knows where
 * it is, so that an import can name the line and column of every error.
 *
 * Fields may be quoted ("a, b" and "say ""hi""" work, and a quoted field
 * may span lines); CRLF and LF both end a record; a UTF-8 byte-order mark at
 * the start is skipped. Bytes that are not valid UTF-8, a quote inside an
 * unquoted field, text after a closing quote, an unterminated quote, a field
 * longer than CSV_MAX_FIELD or a record with more than CSV_MAX_FIELDS
 * fields are errors that give line and column. The whole input is in
 * memory (imports are HRIS exports of at most some megabytes; csv_open_file()
 * caps the size).
 *
 * Details a caller may need:
 * - Lines are counted at each LF, including LFs inside quoted fields, so the
 *   records after a multi-line field still report their own lines. Columns
 *   are 1-based byte offsets in the line; on line 1 they count from the byte
 *   after a byte-order mark.
 * - A quoted field's value is the text between its quotes with each doubled
 *   quote made one; CR and LF inside the quotes are kept as they are. The
 *   CSV_MAX_FIELD limit applies to that value.
 * - Also errors: a NUL byte anywhere, a control character other than tab,
 *   CR and LF (C0, DEL, and the C1 controls U+0080..U+009F), and, outside
 *   quotes, a CR that is not part of CRLF.
 * - A blank line is one with no bytes before its LF or CRLF; a line with
 *   only spaces is a record with one field.
 *
 * A reader is used by one thread at a time; readers share nothing, and
 * csv_header_map() has no state, so different readers may run on
 * different threads.
 */
#ifndef COACHQ_CSV_H
#define COACHQ_CSV_H

#include <stddef.h>

#define CSV_MAX_FIELD 4096
#define CSV_MAX_FIELDS 64
#define CSV_MAX_FILE ((size_t)64 << 20)

struct csv;

/* One record: fields are NUL-terminated, borrowed until the next
 * csv_next() or csv_free(). line is the 1-based line the record starts on;
 * col[i] the 1-based column (in bytes) where field i starts, its opening
 * quote if it is quoted. A field that follows a quoted field spanning lines
 * starts on a later line than line; col[i] is then a column on that line. */
struct csv_record {
    size_t n;
    const char *field[CSV_MAX_FIELDS];
    size_t col[CSV_MAX_FIELDS];
    size_t line;
};

/* Reads from data (len bytes, need not be NUL-terminated; borrowed until
 * csv_free(); NULL with len 0 is an empty input). Caller owns the result
 * (csv_free()). Returns 0, -ENOMEM. */
int csv_new(const char *data, size_t len, struct csv **out);

/* Reads a whole file (at most CSV_MAX_FILE bytes, else -EFBIG) into a
 * reader that owns the bytes. path is borrowed for the call. Caller owns
 * the result (csv_free()). Returns 0 or a negative errno from open(2) or
 * read(2) (-ENOENT for a missing file, -EISDIR for a directory). */
int csv_open_file(const char *path, struct csv **out);

/*
 * Reads the next record into rec. Returns 1 (a record), 0 (end of input) or
 * -EINVAL with *err_line / *err_col set and a message in err (errlen bytes)
 * that says what is wrong there. Blank lines are skipped.
 *
 * The message names the line and column itself, so it can be shown as it
 * is; it is truncated to fit and always NUL-terminated. err_line, err_col
 * and err may be NULL. The position is where the problem is, except for an
 * unterminated quote or a too-long field, which point at the start of the
 * field (the opening quote). After an error rec->n is 0, and the reader
 * stays failed: every later call returns the same error.
 */
int csv_next(struct csv *c, struct csv_record *rec, size_t *err_line, size_t *err_col, char *err,
             size_t errlen);

/* Frees the reader and, if it read them from a file, its bytes. NULL is a
 * no-op. */
void csv_free(struct csv *c);

/* One problem csv_header_map() found: at line and col (1-based), msg
 * (borrowed until the callback returns). */
typedef void (*csv_header_err_cb)(size_t line, size_t col, const char *msg, void *arg);

/*
 * Maps a header record's fields to the expected column names (in any
 * order, each exactly once, blanks around a name ignored): map[i] becomes
 * field i's index in names (ncol <= CSV_MAX_FIELDS; map holds rec->n
 * entries). Every unknown, repeated or missing column is reported through
 * err with its position. Returns the number of problems (0: map is
 * complete). rec, names and map are borrowed for the call; arg is passed
 * to err as it is.
 */
size_t csv_header_map(const struct csv_record *rec, const char *const *names, size_t ncol,
                      size_t *map, csv_header_err_cb err, void *arg);

#endif
