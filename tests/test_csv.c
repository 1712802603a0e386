/*
 * Tests of csv, the strict RFC 4180 reader: quoting (commas, doubled
 * quotes, line breaks inside quotes), CRLF and LF, the byte-order mark,
 * blank lines, empty fields, the line and column of every field, every
 * error with its exact position and a message a person can act on, the
 * size caps at and one past their limits, and reading from a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "csv.h"
#include "testutil.h"

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

static struct csv *open_bytes(const char *data, size_t len)
{
    struct csv *c = NULL;

    assert_int_equal(csv_new(data, len, &c), 0);
    assert_non_null(c);
    return c;
}

static struct csv *open_str(const char *s)
{
    return open_bytes(s, strlen(s));
}

/* Reads one record and checks its line, fields and columns. */
static void expect_rec(struct csv *c, size_t line, size_t n, const char *const *fields,
                       const size_t *cols)
{
    struct csv_record rec;
    size_t el = 0;
    size_t ec = 0;
    char err[256] = "";
    size_t i;
    int rc;

    rc = csv_next(c, &rec, &el, &ec, err, sizeof(err));
    if (rc != 1) {
        fail_msg("csv_next = %d, want a record at line %zu (error: %s)", rc, line, err);
    }
    assert_int_equal(rec.line, line);
    assert_int_equal(rec.n, n);
    for (i = 0; i < n; i++) {
        assert_string_equal(rec.field[i], fields[i]);
        if (rec.col[i] != cols[i]) {
            fail_msg("field %zu (\"%s\"): column %zu, want %zu", i, fields[i], rec.col[i], cols[i]);
        }
    }
}

#define EXPECT_REC(c, line, fields, cols)                                                          \
    do {                                                                                           \
        assert_int_equal(NELEM(fields), NELEM(cols));                                              \
        expect_rec((c), (line), NELEM(fields), (fields), (cols));                                  \
    } while (0)

static void expect_end(struct csv *c)
{
    struct csv_record rec;

    assert_int_equal(csv_next(c, &rec, NULL, NULL, NULL, 0), 0);
    /* End of input stays the end. */
    assert_int_equal(csv_next(c, &rec, NULL, NULL, NULL, 0), 0);
}

/*
 * Reads good records from data, then expects -EINVAL at line:col with a
 * message containing needle; and the same error again on the next call.
 */
static void expect_error(const char *data, size_t len, size_t good, size_t line, size_t col,
                         const char *needle)
{
    struct csv *c = open_bytes(data, len);
    struct csv_record rec;
    size_t el = 0;
    size_t ec = 0;
    char err[256] = "";
    char err2[256] = "";
    size_t i;
    int rc;

    for (i = 0; i < good; i++) {
        rc = csv_next(c, &rec, &el, &ec, err, sizeof(err));
        if (rc != 1) {
            fail_msg("record %zu: csv_next = %d before the expected error (%s)", i + 1, rc, err);
        }
    }
    rc = csv_next(c, &rec, &el, &ec, err, sizeof(err));
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(rec.n, 0);
    if (el != line || ec != col) {
        fail_msg("error at line %zu, column %zu, want line %zu, column %zu: %s", el, ec, line, col,
                 err);
    }
    if (strstr(err, needle) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\"", err, needle);
    }

    /* The reader stays failed, with the same report. */
    el = 0;
    ec = 0;
    assert_int_equal(csv_next(c, &rec, &el, &ec, err2, sizeof(err2)), -EINVAL);
    assert_int_equal(el, line);
    assert_int_equal(ec, col);
    assert_string_equal(err2, err);
    csv_free(c);
}

static void expect_error_str(const char *data, size_t good, size_t line, size_t col,
                             const char *needle)
{
    expect_error(data, strlen(data), good, line, col, needle);
}

static void test_simple_lf(void **state)
{
    struct csv *c = open_str("name,score,team\nAnn,3,blue\n");
    const char *f1[] = {"name", "score", "team"};
    const size_t c1[] = {1, 6, 12};
    const char *f2[] = {"Ann", "3", "blue"};
    const size_t c2[] = {1, 5, 7};

    (void)state;
    EXPECT_REC(c, 1, f1, c1);
    EXPECT_REC(c, 2, f2, c2);
    expect_end(c);
    csv_free(c);
}

static void test_no_trailing_newline(void **state)
{
    struct csv *c = open_str("a,b\nc,d");
    const char *f1[] = {"a", "b"};
    const char *f2[] = {"c", "d"};
    const size_t cols[] = {1, 3};

    (void)state;
    EXPECT_REC(c, 1, f1, cols);
    EXPECT_REC(c, 2, f2, cols);
    expect_end(c);
    csv_free(c);
}

/* CRLF ends records and never shows up in a field; CRLF and LF may mix. */
static void test_crlf_and_mixed(void **state)
{
    struct csv *c = open_str("name,score\r\nAnn,3\r\nBo,4\nCy,5\r\n");
    const char *f1[] = {"name", "score"};
    const size_t c1[] = {1, 6};
    const char *f2[] = {"Ann", "3"};
    const size_t c2[] = {1, 5};
    const char *f3[] = {"Bo", "4"};
    const char *f4[] = {"Cy", "5"};
    const size_t c3[] = {1, 4};

    (void)state;
    EXPECT_REC(c, 1, f1, c1);
    EXPECT_REC(c, 2, f2, c2);
    EXPECT_REC(c, 3, f3, c3);
    EXPECT_REC(c, 4, f4, c3);
    expect_end(c);
    csv_free(c);
}

/*
 * Columns: id, = 1..3; "Smith, Jo" = 4..14; comma 15; "say ""hi""" (12
 * bytes) = 16..27; comma 28; x = 29.
 */
static void test_quoted_comma_and_doubled_quotes(void **state)
{
    struct csv *c = open_str("id,\"Smith, Jo\",\"say \"\"hi\"\"\",x\n\"\"\"\",\"a\"\"\"\"b\"\n");
    const char *f1[] = {"id", "Smith, Jo", "say \"hi\"", "x"};
    const size_t c1[] = {1, 4, 16, 29};
    const char *f2[] = {"\"", "a\"\"b"};
    const size_t c2[] = {1, 6};

    (void)state;
    EXPECT_REC(c, 1, f1, c1);
    EXPECT_REC(c, 2, f2, c2);
    expect_end(c);
    csv_free(c);
}

/*
 * Line breaks inside quotes are kept in the value (CRLF as CRLF) and are
 * counted, so the records after them report their true lines:
 *
 *   1  h1,h2
 *   2  1,"two
 *   3  lines"
 *   4  2,"three<CR>
 *   5  line
 *   6  field",z
 *   7  3,end
 */
static void test_newlines_inside_quotes(void **state)
{
    struct csv *c = open_str("h1,h2\n1,\"two\nlines\"\n2,\"three\r\nline\nfield\",z\n3,end\n");
    const char *f1[] = {"h1", "h2"};
    const size_t c1[] = {1, 4};
    const char *f2[] = {"1", "two\nlines"};
    const size_t c2[] = {1, 3};
    /* z is on line 6: field" takes columns 1..6, the comma 7, z 8. */
    const char *f3[] = {"2", "three\r\nline\nfield", "z"};
    const size_t c3[] = {1, 3, 8};
    const char *f4[] = {"3", "end"};
    const size_t c4[] = {1, 3};

    (void)state;
    EXPECT_REC(c, 1, f1, c1);
    EXPECT_REC(c, 2, f2, c2);
    EXPECT_REC(c, 4, f3, c3);
    EXPECT_REC(c, 7, f4, c4);
    expect_end(c);
    csv_free(c);
}

/* The byte-order mark is skipped and does not shift columns. */
static void test_bom(void **state)
{
    struct csv *c = open_str("\xEF\xBB\xBF"
                             "a,b\n");
    const char *f[] = {"a", "b"};
    const size_t cols[] = {1, 3};

    (void)state;
    EXPECT_REC(c, 1, f, cols);
    expect_end(c);
    csv_free(c);

    /* Only a BOM: no records. A BOM and a blank line: the record is on 2. */
    c = open_str("\xEF\xBB\xBF");
    expect_end(c);
    csv_free(c);
    c = open_str("\xEF\xBB\xBF\r\na,b");
    EXPECT_REC(c, 2, f, cols);
    expect_end(c);
    csv_free(c);

    /* An error on line 1 after a BOM is reported in editor columns. */
    expect_error_str("\xEF\xBB\xBF"
                     "ab\"c\n",
                     0, 1, 3, "line 1, column 3");
}

static void test_blank_lines(void **state)
{
    struct csv *c = open_str("\n\r\na\n\n\nb\r\n\r\n\n");
    const char *fa[] = {"a"};
    const char *fb[] = {"b"};
    const size_t cols[] = {1};

    (void)state;
    EXPECT_REC(c, 3, fa, cols);
    EXPECT_REC(c, 6, fb, cols);
    expect_end(c);
    csv_free(c);

    /* Nothing but blank lines, and nothing at all. */
    c = open_str("\n\r\n\n");
    expect_end(c);
    csv_free(c);
    c = open_str("");
    expect_end(c);
    csv_free(c);
    c = NULL;
    assert_int_equal(csv_new(NULL, 0, &c), 0);
    expect_end(c);
    csv_free(c);
    csv_free(NULL);
}

/* A line of spaces is not blank: it is a record with one field. */
static void test_whitespace_is_data(void **state)
{
    struct csv *c = open_str(" \n a , b \n");
    const char *f1[] = {" "};
    const size_t c1[] = {1};
    const char *f2[] = {" a ", " b "};
    const size_t c2[] = {1, 5};

    (void)state;
    EXPECT_REC(c, 1, f1, c1);
    EXPECT_REC(c, 2, f2, c2);
    expect_end(c);
    csv_free(c);
}

static void test_empty_fields(void **state)
{
    struct csv *c = open_str("a,,b\n,\n\"\"\n\"\",\"\"\na,\nx,");
    const char *f1[] = {"a", "", "b"};
    const size_t c1[] = {1, 3, 4};
    const char *f2[] = {"", ""};
    const size_t c2[] = {1, 2};
    const char *f3[] = {""};
    const size_t c3[] = {1};
    const size_t c4[] = {1, 4};
    const char *f5[] = {"a", ""};
    const char *f6[] = {"x", ""};
    const size_t c5[] = {1, 3};

    (void)state;
    EXPECT_REC(c, 1, f1, c1);
    EXPECT_REC(c, 2, f2, c2);
    EXPECT_REC(c, 3, f3, c3);
    EXPECT_REC(c, 4, f2, c4);
    EXPECT_REC(c, 5, f5, c5);
    /* A trailing comma at the end of input still makes an empty field. */
    EXPECT_REC(c, 6, f6, c5);
    expect_end(c);
    csv_free(c);
}

/* Multi-byte characters pass through; columns count bytes. */
static void test_utf8_valid(void **state)
{
    struct csv *c = open_str("\xC3\xA9,\xE2\x82\xAC,\xF0\x9F\x98\x80,z\n\"\xE6\x97\xA5\"\n");
    const char *f1[] = {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "z"};
    const size_t c1[] = {1, 4, 8, 13};
    const char *f2[] = {"\xE6\x97\xA5"};
    const size_t c2[] = {1};

    (void)state;
    EXPECT_REC(c, 1, f1, c1);
    EXPECT_REC(c, 2, f2, c2);
    expect_end(c);
    csv_free(c);
}

static void test_error_quote_in_unquoted(void **state)
{
    (void)state;
    /* xy,ab"c: the quote is column 6 of line 2. */
    expect_error_str("a,b\nxy,ab\"c\n", 1, 2, 6,
                     "quote inside an unquoted field at line 2, column 6");
    /* A quote ending an unquoted field is no better. */
    expect_error_str("abc\"\n", 0, 1, 4, "line 1, column 4");
}

static void test_error_text_after_closing_quote(void **state)
{
    (void)state;
    /* "abc"d: d is column 6. */
    expect_error_str("a\n\"abc\"d,e\n", 1, 2, 6,
                     "unexpected 'd' after the closing quote of the field starting at line 2, "
                     "column 1");
    expect_error_str("x,\"abc\" ,y\n", 0, 1, 8, "unexpected space after the closing quote");
    /* After a multi-line quoted field the error is on the later line. */
    expect_error_str("k,\"two\nlines\"!\n", 0, 2, 7,
                     "field starting at line 1, column 3 (at line 2, column 7)");
    expect_error_str("\"abc\"\rx\n", 0, 1, 6, "unexpected carriage return without a line feed");
}

static void test_error_unterminated_quote(void **state)
{
    (void)state;
    /* ab,cd,"open: the quote is column 7 of line 3; the error names it
     * although the input ends two lines later. */
    expect_error_str("h\nok\nab,cd,\"open\nmore\nstill open", 2, 3, 7,
                     "unterminated quoted field starting at line 3, column 7");
    /* A lone quote at the very end, and "" followed by an opening quote. */
    expect_error_str("\"", 0, 1, 1, "unterminated quoted field starting at line 1, column 1");
    expect_error_str("a,\"x\"\"", 0, 1, 3,
                     "unterminated quoted field starting at line 1, column 3");
}

static void test_error_invalid_utf8(void **state)
{
    static const char nul_in_field[] = "a,b\0c\n";

    (void)state;
    /* Latin-1 e-acute, the usual way a non-UTF-8 export shows up. */
    expect_error_str("ok\ncaf\xE9,x\n", 1, 2, 4, "invalid UTF-8 (byte 0xE9) at line 2, column 4");
    /* A continuation byte with no lead. */
    expect_error_str("\x80", 0, 1, 1, "invalid UTF-8");
    /* Overlong encoding of '/'. */
    expect_error_str("ab,\xC0\xAF\n", 0, 1, 4, "invalid UTF-8 (byte 0xC0)");
    /* Lead byte followed by ASCII. */
    expect_error_str("ab\xC3(", 0, 1, 3, "invalid UTF-8 (byte 0xC3)");
    /* UTF-16 surrogate encoded as UTF-8. */
    expect_error_str("x,y\n\xED\xA0\x80\n", 1, 2, 1, "invalid UTF-8 (byte 0xED)");
    /* Above U+10FFFF, and a byte that never occurs in UTF-8. */
    expect_error_str("\xF4\x90\x80\x80", 0, 1, 1, "invalid UTF-8 (byte 0xF4)");
    expect_error_str("a,\xF5\x80\x80\x80", 0, 1, 3, "invalid UTF-8 (byte 0xF5)");
    /* A sequence cut off by the end of the input. */
    expect_error_str("ab\xE2\x82", 0, 1, 3, "invalid UTF-8 (byte 0xE2)");
    /* Inside quotes, on a later line of the field. */
    expect_error_str("\"a\nb\xFF\"\n", 0, 2, 2, "invalid UTF-8 (byte 0xFF) at line 2, column 2");
    /* A NUL byte is refused rather than silently cutting the field. */
    expect_error(nul_in_field, sizeof(nul_in_field) - 1, 0, 1, 4, "NUL byte at line 1, column 4");
}

/* Control characters other than tab and line ends are refused with their
 * place, inside quotes too; tab, CRLF and LF inside quotes are text. */
static void test_error_control(void **state)
{
    (void)state;
    expect_error_str("ab\x1b[2J\n", 0, 1, 3, "control character (byte 0x1B) at line 1, column 3");
    expect_error_str("a,\"b\x01\"\n", 0, 1, 5, "control character (byte 0x01)");
    expect_error_str("del\x7f\n", 0, 1, 4, "control character (byte 0x7F)");
    expect_error_str("x\xC2\x9B\n", 0, 1, 2, "control character (byte 0x9B)");
    expect_error_str("ok\nnext\x0c\n", 1, 2, 5, "control character (byte 0x0C)");
}

static void test_error_stray_cr(void **state)
{
    (void)state;
    expect_error_str("a,b\nc\rd\n", 1, 2, 2,
                     "carriage return not followed by a line feed at line 2, column 2");
    expect_error_str("a\r", 0, 1, 2, "carriage return not followed by a line feed");
}

/* Builds into out (size outlen) prefix, then n copies of ch, then suffix. */
static size_t build(char *out, size_t outlen, const char *prefix, char ch, size_t n,
                    const char *suffix)
{
    size_t len = 0;
    size_t plen = strlen(prefix);
    size_t slen = strlen(suffix);

    assert_true(plen + n + slen < outlen);
    memcpy(out, prefix, plen);
    len += plen;
    memset(out + len, ch, n);
    len += n;
    memcpy(out + len, suffix, slen);
    len += slen;
    out[len] = '\0';
    return len;
}

static void test_field_length_cap(void **state)
{
    char *data = malloc(3 * CSV_MAX_FIELD);
    char *quoted;
    struct csv *c;
    struct csv_record rec;
    size_t len;
    size_t i;

    (void)state;
    assert_non_null(data);

    /* Exactly CSV_MAX_FIELD bytes: accepted. */
    len = build(data, 3 * CSV_MAX_FIELD, "x\nab,", 'a', CSV_MAX_FIELD, "\n");
    c = open_bytes(data, len);
    assert_int_equal(csv_next(c, &rec, NULL, NULL, NULL, 0), 1);
    assert_int_equal(csv_next(c, &rec, NULL, NULL, NULL, 0), 1);
    assert_int_equal(rec.n, 2);
    assert_int_equal(strlen(rec.field[1]), CSV_MAX_FIELD);
    csv_free(c);

    /* One byte more: refused, pointing at where the field starts. */
    len = build(data, 3 * CSV_MAX_FIELD, "x\nab,", 'a', CSV_MAX_FIELD + 1, "\n");
    expect_error(data, len, 1, 2, 4,
                 "field starting at line 2, column 4 is longer than 4096 bytes");

    /* Quoted: the limit is on the value, so CSV_MAX_FIELD doubled quotes
     * (twice as many bytes in the file) are still fine, and one more is
     * not. */
    quoted = malloc(2 * CSV_MAX_FIELD + 16);
    assert_non_null(quoted);
    for (i = 0; i < CSV_MAX_FIELD; i++) {
        quoted[1 + 2 * i] = '"';
        quoted[2 + 2 * i] = '"';
    }
    quoted[0] = '"';
    quoted[1 + 2 * CSV_MAX_FIELD] = '"';
    c = open_bytes(quoted, 2 + 2 * CSV_MAX_FIELD);
    assert_int_equal(csv_next(c, &rec, NULL, NULL, NULL, 0), 1);
    assert_int_equal(rec.n, 1);
    assert_int_equal(strlen(rec.field[0]), CSV_MAX_FIELD);
    assert_int_equal(rec.field[0][0], '"');
    assert_int_equal(rec.field[0][CSV_MAX_FIELD - 1], '"');
    csv_free(c);

    len = build(data, 3 * CSV_MAX_FIELD, "1,2,\"", 'q', CSV_MAX_FIELD + 1, "\"\n");
    expect_error(data, len, 0, 1, 5, "field starting at line 1, column 5 is longer than");

    /* Multi-byte characters count in bytes: 2048 two-byte characters fit,
     * one more does not. */
    len = 0;
    for (i = 0; i < CSV_MAX_FIELD / 2; i++) {
        data[len++] = '\xC3';
        data[len++] = '\xA9';
    }
    c = open_bytes(data, len);
    assert_int_equal(csv_next(c, &rec, NULL, NULL, NULL, 0), 1);
    assert_int_equal(strlen(rec.field[0]), CSV_MAX_FIELD);
    csv_free(c);
    data[len++] = '\xC3';
    data[len++] = '\xA9';
    expect_error(data, len, 0, 1, 1, "is longer than");

    free(quoted);
    free(data);
}

static void test_field_count_cap(void **state)
{
    char data[1024];
    size_t len;
    size_t i;
    struct csv *c;
    struct csv_record rec;

    (void)state;
    /* CSV_MAX_FIELDS one-letter fields: x,x,...,x with field i at column
     * 2i + 1. */
    len = 0;
    for (i = 0; i < CSV_MAX_FIELDS; i++) {
        data[len++] = i == 0 ? 'h' : ',';
        if (i > 0) {
            data[len++] = 'x';
        }
    }
    data[len++] = '\n';
    c = open_bytes(data, len);
    assert_int_equal(csv_next(c, &rec, NULL, NULL, NULL, 0), 1);
    assert_int_equal(rec.n, CSV_MAX_FIELDS);
    assert_int_equal(rec.col[CSV_MAX_FIELDS - 1], 2 * (CSV_MAX_FIELDS - 1) + 1);
    expect_end(c);
    csv_free(c);

    /* One more field on line 2: it starts at column 2 * 64 + 1 = 129. */
    data[len++] = 'x';
    for (i = 1; i < CSV_MAX_FIELDS + 1; i++) {
        data[len++] = ',';
        data[len++] = 'x';
    }
    data[len++] = '\n';
    expect_error(data, len, 1, 2, 2 * CSV_MAX_FIELDS + 1,
                 "record starting at line 2 has more than 64 fields (field 65 starts at line 2, "
                 "column 129)");

    /* A trailing comma after 64 fields is a 65th, empty field. */
    len = 0;
    for (i = 0; i < CSV_MAX_FIELDS; i++) {
        data[len++] = 'y';
        data[len++] = ',';
    }
    expect_error(data, len, 0, 1, 129, "more than 64 fields");
}

/* The largest record there can be: 64 fields of 4096 bytes. */
static void test_largest_record(void **state)
{
    size_t len = CSV_MAX_FIELDS * (CSV_MAX_FIELD + 1);
    char *data = malloc(len);
    struct csv *c;
    struct csv_record rec;
    size_t i;

    (void)state;
    assert_non_null(data);
    for (i = 0; i < CSV_MAX_FIELDS; i++) {
        memset(data + i * (CSV_MAX_FIELD + 1), 'a' + (int)(i % 26), CSV_MAX_FIELD);
        data[i * (CSV_MAX_FIELD + 1) + CSV_MAX_FIELD] = i + 1 < CSV_MAX_FIELDS ? ',' : '\n';
    }
    c = open_bytes(data, len);
    assert_int_equal(csv_next(c, &rec, NULL, NULL, NULL, 0), 1);
    assert_int_equal(rec.n, CSV_MAX_FIELDS);
    for (i = 0; i < CSV_MAX_FIELDS; i++) {
        assert_int_equal(strlen(rec.field[i]), CSV_MAX_FIELD);
        assert_int_equal(rec.field[i][0], 'a' + (int)(i % 26));
        assert_int_equal(rec.col[i], i * (CSV_MAX_FIELD + 1) + 1);
    }
    expect_end(c);
    csv_free(c);
    free(data);
}

/* The message is cut to fit a small buffer and stays NUL-terminated. */
static void test_small_error_buffer(void **state)
{
    struct csv *c = open_str("a\"b\n");
    struct csv_record rec;
    char err[10];
    size_t el = 0;

    (void)state;
    memset(err, 'Z', sizeof(err));
    assert_int_equal(csv_next(c, &rec, &el, NULL, err, sizeof(err)), -EINVAL);
    assert_int_equal(el, 1);
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_memory_equal(err, "quote ins", 9);
    /* No outputs at all is allowed too. */
    assert_int_equal(csv_next(c, &rec, NULL, NULL, NULL, 0), -EINVAL);
    csv_free(c);
}

/* Records' fields stay valid until the next call; the next record may be
 * shorter or longer without leftovers from the previous one. */
static void test_record_reuse(void **state)
{
    struct csv *c = open_str("long-first-field,second\nx\n");
    const char *f1[] = {"long-first-field", "second"};
    const size_t c1[] = {1, 18};
    const char *f2[] = {"x"};
    const size_t c2[] = {1};

    (void)state;
    EXPECT_REC(c, 1, f1, c1);
    EXPECT_REC(c, 2, f2, c2);
    expect_end(c);
    csv_free(c);
}

static void write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void test_open_file(void **state)
{
    static const char content[] = "\xEF\xBB\xBF"
                                  "name,score\r\n\"Lee, A\",4\r\n\r\nKim,\"5\"";
    char dir[256];
    char path[512];
    struct csv *c = NULL;
    const char *f1[] = {"name", "score"};
    const size_t c1[] = {1, 6};
    const char *f2[] = {"Lee, A", "4"};
    const size_t c2[] = {1, 10};
    const char *f3[] = {"Kim", "5"};
    const size_t c3[] = {1, 5};

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));

    /* Missing file. */
    snprintf(path, sizeof(path), "%s/missing.csv", dir);
    assert_int_equal(csv_open_file(path, &c), -ENOENT);
    assert_null(c);

    /* A directory. */
    assert_int_equal(csv_open_file(dir, &c), -EISDIR);
    assert_null(c);

    /* A real file, read back record by record. */
    snprintf(path, sizeof(path), "%s/people.csv", dir);
    write_file(path, content, sizeof(content) - 1);
    assert_int_equal(csv_open_file(path, &c), 0);
    assert_non_null(c);
    EXPECT_REC(c, 1, f1, c1);
    EXPECT_REC(c, 2, f2, c2);
    EXPECT_REC(c, 4, f3, c3);
    expect_end(c);
    csv_free(c);

    /* An empty file. */
    c = NULL;
    snprintf(path, sizeof(path), "%s/empty.csv", dir);
    write_file(path, "", 0);
    assert_int_equal(csv_open_file(path, &c), 0);
    expect_end(c);
    csv_free(c);

    testutil_rmrf(dir);
}

/* A file one byte over the cap is refused from its size, unread (it is
 * sparse, so this costs no disk). */
static void test_open_file_too_big(void **state)
{
    char dir[256];
    char path[512];
    struct csv *c = NULL;
    int fd;

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/huge.csv", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)CSV_MAX_FILE + 1), 0);
    assert_int_equal(close(fd), 0);
    assert_int_equal(csv_open_file(path, &c), -EFBIG);
    assert_null(c);
    testutil_rmrf(dir);
}

/* ---- Header mapping ---------------------------------------------------- */

struct header_errs {
    size_t n;
    size_t line[8], col[8];
    char msg[8][300];
};

static void header_err(size_t line, size_t col, const char *msg, void *arg)
{
    struct header_errs *e = arg;

    if (e->n < 8) {
        e->line[e->n] = line;
        e->col[e->n] = col;
        snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
    }
    e->n++;
}

static void header_of(const char *text, struct csv_record *rec, struct csv **c)
{
    size_t el, ec;
    char err[128];

    assert_int_equal(csv_new(text, strlen(text), c), 0);
    assert_int_equal(csv_next(*c, rec, &el, &ec, err, sizeof(err)), 1);
}

static void test_header_map(void **state)
{
    static const char *const names[] = {"id", "name", "role"};
    struct csv_record rec;
    struct header_errs e;
    size_t map[CSV_MAX_FIELDS];
    struct csv *c = NULL;

    (void)state;
    /* Any order, blanks around names ignored. */
    header_of("role, id ,name\n", &rec, &c);
    memset(&e, 0, sizeof(e));
    assert_int_equal(csv_header_map(&rec, names, 3, map, header_err, &e), 0);
    assert_int_equal(e.n, 0);
    assert_int_equal(map[0], 2);
    assert_int_equal(map[1], 0);
    assert_int_equal(map[2], 1);
    csv_free(c);

    /* Unknown (at its column, past the blank), repeated, and missing. */
    header_of("id,  nmae,id\n", &rec, &c);
    memset(&e, 0, sizeof(e));
    assert_int_equal(csv_header_map(&rec, names, 3, map, header_err, &e), 4);
    assert_int_equal(e.line[0], 1);
    assert_int_equal(e.col[0], 6);
    assert_non_null(strstr(e.msg[0], "unknown column 'nmae'"));
    assert_non_null(strstr(e.msg[0], "id,name,role"));
    assert_int_equal(e.col[1], 11);
    assert_string_equal(e.msg[1], "column 'id' appears twice");
    assert_int_equal(e.col[2], 1);
    assert_non_null(strstr(e.msg[2], "missing column 'name'"));
    assert_non_null(strstr(e.msg[3], "missing column 'role'"));
    csv_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_lf),
        cmocka_unit_test(test_error_control),
        cmocka_unit_test(test_header_map),
        cmocka_unit_test(test_no_trailing_newline),
        cmocka_unit_test(test_crlf_and_mixed),
        cmocka_unit_test(test_quoted_comma_and_doubled_quotes),
        cmocka_unit_test(test_newlines_inside_quotes),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_blank_lines),
        cmocka_unit_test(test_whitespace_is_data),
        cmocka_unit_test(test_empty_fields),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_error_quote_in_unquoted),
        cmocka_unit_test(test_error_text_after_closing_quote),
        cmocka_unit_test(test_error_unterminated_quote),
        cmocka_unit_test(test_error_invalid_utf8),
        cmocka_unit_test(test_error_stray_cr),
        cmocka_unit_test(test_field_length_cap),
        cmocka_unit_test(test_field_count_cap),
        cmocka_unit_test(test_largest_record),
        cmocka_unit_test(test_small_error_buffer),
        cmocka_unit_test(test_record_reuse),
        cmocka_unit_test(test_open_file),
        cmocka_unit_test(test_open_file_too_big),
    };

    testutil_watchdog(60);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
