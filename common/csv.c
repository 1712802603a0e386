#include "csv.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CSV_ERRMSG_MAX 384

struct csv {
    const unsigned char *data;
    size_t len;
    size_t pos;           /* next byte to read */
    size_t line;          /* 1-based line of data[pos] */
    size_t line_start;    /* offset of the first byte of that line */
    unsigned char *owned; /* the file's bytes when csv_open_file() read them */

    /* Unescaped field values of the current record, each NUL-terminated.
     * A value is never longer than the input bytes it came from, so
     * min(len, CSV_MAX_FIELDS * CSV_MAX_FIELD) + CSV_MAX_FIELDS bytes hold
     * any record, terminators included. */
    char *buf;
    size_t buf_cap;
    size_t buf_used;

    /* Once a record is malformed the reader stays failed: where the next
     * record starts is unknowable, so guessing would misreport later lines.
     * Every later csv_next() repeats this error. */
    int failed;
    size_t err_line;
    size_t err_col;
    char errmsg[CSV_ERRMSG_MAX];
};

static size_t csv_col(const struct csv *c)
{
    return c->pos - c->line_start + 1;
}

/* Called with pos on a '\n' that has just been consumed. */
static void csv_newline(struct csv *c)
{
    c->line++;
    c->line_start = c->pos;
}

static int csv_fail(struct csv *c, size_t line, size_t col)
{
    c->failed = 1;
    c->err_line = line;
    c->err_col = col;
    return -EINVAL;
}

/*
 * Length of the well-formed UTF-8 sequence at p (avail bytes left), or 0 if
 * it is not one. Follows the table of well-formed byte sequences in the
 * Unicode standard (section 3.9): no overlong forms, no surrogates, nothing
 * above U+10FFFF.
 */
static size_t csv_utf8_len(const unsigned char *p, size_t avail)
{
    unsigned char b0 = p[0];
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    size_t n;
    size_t i;

    if (b0 < 0x80) {
        return 1;
    }
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        if (b0 == 0xE0) {
            lo = 0xA0;
        } else if (b0 == 0xED) {
            hi = 0x9F;
        }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        n = 4;
        if (b0 == 0xF0) {
            lo = 0x90;
        } else if (b0 == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if (avail < n) {
        /* Cut off by the end of the input. */
        return 0;
    }
    if (p[1] < lo || p[1] > hi) {
        return 0;
    }
    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xBF) {
            return 0;
        }
    }
    return n;
}

/* Names byte b for a message: 'x' when printable ASCII, else a word or
 * "byte 0xNN". The result is a literal or buf (at least 16 bytes). */
static const char *csv_byte_name(unsigned char b, char *buf, size_t buflen)
{
    if (b == '\'') {
        return "apostrophe";
    }
    if (b == '\r') {
        return "carriage return without a line feed";
    }
    if (b == ' ') {
        return "space";
    }
    if (b == '\t') {
        return "tab";
    }
    if (b >= 0x21 && b <= 0x7E) {
        snprintf(buf, buflen, "'%c'", (char)b);
    } else {
        snprintf(buf, buflen, "byte 0x%02X", (unsigned)b);
    }
    return buf;
}

/*
 * Checks the byte at pos as field content (not a quote, comma or line end,
 * which the callers have handled) and appends it, with the rest of its UTF-8
 * sequence, to the current field. field_len counts the field's bytes so far.
 */
static int csv_take(struct csv *c, size_t *field_len, size_t field_line, size_t field_col)
{
    const unsigned char *p = c->data + c->pos;
    size_t n;

    if (*p == 0) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "NUL byte at line %zu, column %zu; a CSV file is text and cannot contain NUL "
                 "(is it UTF-16 or a binary file?)",
                 c->line, csv_col(c));
        return csv_fail(c, c->line, csv_col(c));
    }
    n = csv_utf8_len(p, c->len - c->pos);
    if (n == 0) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "invalid UTF-8 (byte 0x%02X) at line %zu, column %zu; save the file as UTF-8",
                 (unsigned)*p, c->line, csv_col(c));
        return csv_fail(c, c->line, csv_col(c));
    }
    /* Control characters other than tab and line ends (C0, DEL, and C1 as
     * U+0080..U+009F) could not come back out of coachq as they went in:
     * terminals act on them, and the protocol refuses them in text. */
    if ((n == 1 && ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') || *p == 0x7f)) ||
        (n == 2 && p[0] == 0xC2 && p[1] <= 0x9F)) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "control character (byte 0x%02X) at line %zu, column %zu; text may hold tabs "
                 "and line breaks but no other control characters",
                 (unsigned)(n == 1 ? p[0] : p[1]), c->line, csv_col(c));
        return csv_fail(c, c->line, csv_col(c));
    }
    if (*field_len + n > CSV_MAX_FIELD) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "field starting at line %zu, column %zu is longer than %d bytes", field_line,
                 field_col, CSV_MAX_FIELD);
        return csv_fail(c, field_line, field_col);
    }
    /* Cannot fail: see the comment on buf in struct csv. */
    assert(c->buf_used + n < c->buf_cap);
    memcpy(c->buf + c->buf_used, p, n);
    c->buf_used += n;
    *field_len += n;
    c->pos += n;
    return 0;
}

/* Reads a quoted field; pos is on the opening quote. */
static int csv_quoted(struct csv *c, size_t field_line, size_t field_col)
{
    size_t field_len = 0;
    int rc;

    c->pos++;
    for (;;) {
        unsigned char ch;

        if (c->pos >= c->len) {
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "unterminated quoted field starting at line %zu, column %zu: the file ends "
                     "before its closing quote",
                     field_line, field_col);
            return csv_fail(c, field_line, field_col);
        }
        ch = c->data[c->pos];
        if (ch == '"') {
            if (c->pos + 1 < c->len && c->data[c->pos + 1] == '"') {
                /* A doubled quote is one literal quote: take the second. */
                c->pos++;
                rc = csv_take(c, &field_len, field_line, field_col);
                if (rc < 0) {
                    return rc;
                }
                continue;
            }
            c->pos++;
            return 0;
        }
        if (ch == '\n') {
            rc = csv_take(c, &field_len, field_line, field_col);
            if (rc < 0) {
                return rc;
            }
            csv_newline(c);
            continue;
        }
        rc = csv_take(c, &field_len, field_line, field_col);
        if (rc < 0) {
            return rc;
        }
    }
}

/* Reads an unquoted field up to (not including) a comma, a line end or the
 * end of input. */
static int csv_unquoted(struct csv *c, size_t field_line, size_t field_col)
{
    size_t field_len = 0;
    int rc;

    while (c->pos < c->len) {
        unsigned char ch = c->data[c->pos];

        if (ch == ',' || ch == '\n') {
            return 0;
        }
        if (ch == '\r') {
            if (c->pos + 1 < c->len && c->data[c->pos + 1] == '\n') {
                return 0;
            }
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "carriage return not followed by a line feed at line %zu, column %zu; "
                     "records must end with CRLF or LF",
                     c->line, csv_col(c));
            return csv_fail(c, c->line, csv_col(c));
        }
        if (ch == '"') {
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "quote inside an unquoted field at line %zu, column %zu (the field starts "
                     "at column %zu); put the whole field in quotes and double the quote (\"\")",
                     c->line, csv_col(c), field_col);
            return csv_fail(c, c->line, csv_col(c));
        }
        rc = csv_take(c, &field_len, field_line, field_col);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* Skips blank lines (LF or CRLF with nothing before them). */
static void csv_skip_blank(struct csv *c)
{
    while (c->pos < c->len) {
        if (c->data[c->pos] == '\n') {
            c->pos++;
        } else if (c->data[c->pos] == '\r' && c->pos + 1 < c->len && c->data[c->pos + 1] == '\n') {
            c->pos += 2;
        } else {
            return;
        }
        csv_newline(c);
    }
}

static int csv_record(struct csv *c, struct csv_record *rec)
{
    int rc;

    csv_skip_blank(c);
    if (c->pos >= c->len) {
        return 0;
    }
    rec->line = c->line;
    c->buf_used = 0;
    for (;;) {
        size_t field_line = c->line;
        size_t field_col = csv_col(c);

        if (rec->n == CSV_MAX_FIELDS) {
            snprintf(c->errmsg, sizeof(c->errmsg),
                     "record starting at line %zu has more than %d fields (field %d starts at "
                     "line %zu, column %zu)",
                     rec->line, CSV_MAX_FIELDS, CSV_MAX_FIELDS + 1, field_line, field_col);
            return csv_fail(c, field_line, field_col);
        }
        rec->field[rec->n] = c->buf + c->buf_used;
        rec->col[rec->n] = field_col;
        if (c->pos < c->len && c->data[c->pos] == '"') {
            rc = csv_quoted(c, field_line, field_col);
        } else {
            rc = csv_unquoted(c, field_line, field_col);
        }
        if (rc < 0) {
            return rc;
        }
        assert(c->buf_used < c->buf_cap);
        c->buf[c->buf_used++] = '\0';
        rec->n++;

        if (c->pos >= c->len) {
            return 1;
        }
        if (c->data[c->pos] == ',') {
            c->pos++;
            continue;
        }
        if (c->data[c->pos] == '\n') {
            c->pos++;
            csv_newline(c);
            return 1;
        }
        if (c->data[c->pos] == '\r' && c->pos + 1 < c->len && c->data[c->pos + 1] == '\n') {
            c->pos += 2;
            csv_newline(c);
            return 1;
        }
        /* Only a quoted field can stop anywhere else. */
        {
            char buf[16];
            const char *what = csv_byte_name(c->data[c->pos], buf, sizeof(buf));

            snprintf(c->errmsg, sizeof(c->errmsg),
                     "unexpected %s after the closing quote of the field starting at line %zu, "
                     "column %zu (at line %zu, column %zu); a quoted field must be followed by "
                     "a comma or the end of the line",
                     what, field_line, field_col, c->line, csv_col(c));
        }
        return csv_fail(c, c->line, csv_col(c));
    }
}

int csv_next(struct csv *c, struct csv_record *rec, size_t *err_line, size_t *err_col, char *err,
             size_t errlen)
{
    int rc = -EINVAL;

    rec->n = 0;
    rec->line = 0;
    if (!c->failed) {
        rc = csv_record(c, rec);
        if (rc >= 0) {
            return rc;
        }
    }
    /* A failed record is not handed out half-read. */
    rec->n = 0;
    if (err_line != NULL) {
        *err_line = c->err_line;
    }
    if (err_col != NULL) {
        *err_col = c->err_col;
    }
    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", c->errmsg);
    }
    return rc;
}

static int csv_make(const unsigned char *data, size_t len, unsigned char *owned, struct csv **out)
{
    struct csv *c;
    size_t cap = CSV_MAX_FIELDS * (size_t)CSV_MAX_FIELD;

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return -ENOMEM;
    }
    if (len < cap) {
        cap = len;
    }
    /* Room for every field's terminator, and at least one byte so an
     * empty input still has a buffer. */
    c->buf_cap = cap + CSV_MAX_FIELDS + 1;
    c->buf = malloc(c->buf_cap);
    if (c->buf == NULL) {
        free(c);
        return -ENOMEM;
    }
    c->data = data;
    c->len = len;
    c->line = 1;
    c->owned = owned;
    /* A UTF-8 byte-order mark is not part of the first line: columns count
     * from the byte after it, as an editor would show them. */
    if (len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) {
        c->pos = 3;
        c->line_start = 3;
    }
    *out = c;
    return 0;
}

int csv_new(const char *data, size_t len, struct csv **out)
{
    static const char empty[1] = "";

    if (data == NULL) {
        data = empty;
        len = 0;
    }
    return csv_make((const unsigned char *)data, len, NULL, out);
}

int csv_open_file(const char *path, struct csv **out)
{
    unsigned char *data = NULL;
    size_t len = 0;
    size_t cap;
    struct stat st;
    int fd;
    int rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        goto out;
    }
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > CSV_MAX_FILE) {
        rc = -EFBIG;
        goto out;
    }
    /* The size is only a hint (the file may change, or be a pipe); the
     * read loop enforces the cap on what actually arrives. One spare byte
     * lets a file that grew past the cap be noticed. */
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
    data = malloc(cap);
    if (data == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t got;

        if (len == cap) {
            size_t ncap = cap > CSV_MAX_FILE / 2 ? CSV_MAX_FILE + 1 : cap * 2;
            unsigned char *p;

            if (cap > CSV_MAX_FILE) {
                rc = -EFBIG;
                goto out;
            }
            p = realloc(data, ncap);
            if (p == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            data = p;
            cap = ncap;
        }
        got = read(fd, data + len, cap - len);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            rc = -errno;
            goto out;
        }
        if (got == 0) {
            break;
        }
        len += (size_t)got;
    }
    if (len > CSV_MAX_FILE) {
        rc = -EFBIG;
        goto out;
    }
    rc = csv_make(data, len, data, out);
    if (rc == 0) {
        /* The reader owns the bytes now. */
        data = NULL;
    }
out:
    free(data);
    close(fd);
    return rc;
}

void csv_free(struct csv *c)
{
    if (c == NULL) {
        return;
    }
    free(c->buf);
    free(c->owned);
    free(c);
}

size_t csv_header_map(const struct csv_record *rec, const char *const *names, size_t ncol,
                      size_t *map, csv_header_err_cb err, void *arg)
{
    size_t seen[CSV_MAX_FIELDS] = {0};
    char all[1024];
    char msg[CSV_MAX_FIELD + 1400];
    size_t o = 0, problems = 0;

    all[0] = '\0';
    for (size_t k = 0; k < ncol && o < sizeof(all); k++) {
        int w = snprintf(all + o, sizeof(all) - o, "%s%s", k ? "," : "", names[k]);

        o += w > 0 ? (size_t)w : 0;
    }
    for (size_t i = 0; i < rec->n; i++) {
        const char *f = rec->field[i];
        size_t lead = 0, end = strlen(f), k;

        while (f[lead] == ' ' || f[lead] == '\t') {
            lead++;
        }
        while (end > lead && (f[end - 1] == ' ' || f[end - 1] == '\t')) {
            end--;
        }
        for (k = 0; k < ncol; k++) {
            if (strlen(names[k]) == end - lead && memcmp(names[k], f + lead, end - lead) == 0) {
                break;
            }
        }
        if (k == ncol) {
            snprintf(msg, sizeof(msg),
                     "unknown column '%.100s'; the first line must name exactly these columns, "
                     "in any order: %s",
                     f + lead, all);
        } else if (seen[k] != 0) {
            snprintf(msg, sizeof(msg), "column '%s' appears twice", names[k]);
        } else {
            seen[k] = i + 1;
            map[i] = k;
            continue;
        }
        err(rec->line, rec->col[i] + lead, msg, arg);
        problems++;
    }
    for (size_t k = 0; k < ncol; k++) {
        if (seen[k] == 0) {
            snprintf(msg, sizeof(msg), "missing column '%s'; the columns are: %s", names[k], all);
            err(rec->line, 1, msg, arg);
            problems++;
        }
    }
    return problems;
}
