/*
 * test_dashfmt: a Dashboard as JSON, CSV and a terminal table, from
 * hand-built messages: every value and n survives into JSON, insufficient
 * figures are null, CSV is RFC 4180 with CRLF, n columns and neutralised
 * formula-like labels (while negative figures stay numbers), and terminal
 * tables are aligned and fit the width asked for by splitting or pivoting,
 * never by cutting a name or a figure.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "day.h"
#include "buf.h"
#include "dashfmt.h"
#include "obs_json.h"

#define NROWS 8
#define NCOLS 3

/* A dashboard of one table and one chart, all in static storage. */
struct fixture {
    Coachq__V1__Dashboard d;
    Coachq__V1__Table t;
    Coachq__V1__Table *tp[1];
    char *cols[NCOLS];
    Coachq__V1__TableRow rows[NROWS];
    Coachq__V1__TableRow *rowp[NROWS];
    Coachq__V1__Cell cells[NROWS][NCOLS];
    Coachq__V1__Cell *cellp[NROWS][NCOLS];
    Coachq__V1__Chart chart;
    Coachq__V1__Chart *chartp[1];
    char *x_labels[3];
    Coachq__V1__Series series;
    Coachq__V1__Series *seriesp[1];
    double y[3];
    protobuf_c_boolean present[3];
    uint32_t n[3];
    char *notes[1];
};

static struct fixture fx;

/* The labels of the rows: a manager's name, then text from records that a
 * spreadsheet would run, and one with every character CSV must quote. */
static const char *const labels[NROWS] = {
    "Cara Lind", "=cmd|' /C calc'!A0",
    "+x",        "-x",
    "@x",        "a,b \"q\"\r\nnext",
    "-0.25",     "A name long enough that no narrow terminal can show all of it",
};

static void set_figure(Coachq__V1__Cell *c, const char *text, double v, unsigned n)
{
    c->text = (char *)text;
    c->value = v;
    c->has_value = 1;
    c->n = n;
}

static void set_insufficient(Coachq__V1__Cell *c, unsigned n)
{
    c->text = (char *)"insufficient data";
    c->insufficient = 1;
    c->n = n;
}

static int setup(void **state)
{
    static const Coachq__V1__Dashboard d0 = COACHQ__V1__DASHBOARD__INIT;
    static const Coachq__V1__Table t0 = COACHQ__V1__TABLE__INIT;
    static const Coachq__V1__TableRow r0 = COACHQ__V1__TABLE_ROW__INIT;
    static const Coachq__V1__Cell c0 = COACHQ__V1__CELL__INIT;
    static const Coachq__V1__Chart ch0 = COACHQ__V1__CHART__INIT;
    static const Coachq__V1__Series s0 = COACHQ__V1__SERIES__INIT;

    (void)state;
    memset(&fx, 0, sizeof(fx));
    fx.d = d0;
    fx.d.kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS;
    fx.d.title = (char *)"My managers";
    fx.d.subject_id = (char *)"slm.eve";
    fx.d.subject_name = (char *)"Eve Stone";
    fx.d.rubric_id = (char *)"coaching-conversation";
    fx.d.from_day = (int32_t)day_from_civil(2026, 7, 20);
    fx.d.until_day = (int32_t)day_from_civil(2026, 10, 11);
    fx.d.min_n = 3;
    fx.d.privacy_min = 5;
    fx.notes[0] = (char *)"Only the first 200 managers are shown.";
    fx.d.notes = fx.notes;
    fx.d.n_notes = 1;

    fx.t = t0;
    fx.t.id = (char *)"managers";
    fx.t.title = (char *)"Front-line managers";
    fx.cols[0] = (char *)"Manager";
    fx.cols[1] = (char *)"Quality index";
    fx.cols[2] = (char *)"Sessions observed";
    fx.t.columns = fx.cols;
    fx.t.n_columns = NCOLS;
    for (size_t i = 0; i < NROWS; i++) {
        fx.rows[i] = r0;
        for (size_t j = 0; j < NCOLS; j++) {
            fx.cells[i][j] = c0;
            fx.cellp[i][j] = &fx.cells[i][j];
        }
        fx.cells[i][0].text = (char *)labels[i];
        fx.rows[i].cells = fx.cellp[i];
        fx.rows[i].n_cells = NCOLS;
        fx.rowp[i] = &fx.rows[i];
        /* A count: its n is the count itself. */
        set_figure(&fx.cells[i][2], "0", 0, 0);
    }
    fx.cells[0][0].link = (char *)"flm.cara";
    set_figure(&fx.cells[0][1], "2.75", 2.75, 12);
    set_figure(&fx.cells[0][2], "12", 12, 12);
    set_insufficient(&fx.cells[1][1], 2);
    set_figure(&fx.cells[2][1], "-0.25", -0.25, 5);
    set_figure(&fx.cells[3][1], "+0.50", 0.5, 4);
    set_figure(&fx.cells[4][1], "62%", 62.0, 8);
    set_insufficient(&fx.cells[5][1], 0);
    /* A figure whose text is not a number is given by its value. */
    set_figure(&fx.cells[6][1], "=2+3", 5, 3);
    set_figure(&fx.cells[7][1], "3.10", 3.1, 40);
    fx.t.rows = fx.rowp;
    fx.t.n_rows = NROWS;
    fx.t.note = (char *)"n: observations in the last 12 weeks.";
    fx.tp[0] = &fx.t;
    fx.d.tables = fx.tp;
    fx.d.n_tables = 1;

    fx.chart = ch0;
    fx.chart.id = (char *)"quality-trend";
    fx.chart.title = (char *)"Quality index by week";
    fx.chart.kind = COACHQ__V1__CHART__KIND__KIND_LINES;
    fx.x_labels[0] = (char *)"2026-W38";
    fx.x_labels[1] = (char *)"2026-W39";
    fx.x_labels[2] = (char *)"2026-W40";
    fx.chart.x_labels = fx.x_labels;
    fx.chart.n_x_labels = 3;
    fx.series = s0;
    fx.series.name = (char *)"Cara Lind";
    fx.y[0] = 2.5;
    fx.y[1] = 0;
    fx.y[2] = 3.25;
    fx.present[0] = 1;
    fx.present[1] = 0;
    fx.present[2] = 1;
    fx.n[0] = 4;
    fx.n[1] = 1;
    fx.n[2] = 6;
    fx.series.y = fx.y;
    fx.series.n_y = 3;
    fx.series.present = fx.present;
    fx.series.n_present = 3;
    fx.series.n = fx.n;
    fx.series.n_n = 3;
    fx.seriesp[0] = &fx.series;
    fx.chart.series = fx.seriesp;
    fx.chart.n_series = 1;
    fx.chart.table_id = (char *)"no-such-table";
    fx.chartp[0] = &fx.chart;
    fx.d.charts = fx.chartp;
    fx.d.n_charts = 1;
    return 0;
}

/* The output as a NUL-terminated string (b's data, grown by one byte). */
static const char *text_of(struct buf *b)
{
    assert_int_equal(buf_append(b, "", 1), 0);
    b->len--;
    return (const char *)b->data;
}

static void test_kind_names(void **state)
{
    static const char *const names[] = {"managers", "manager", "programme", "observers", "me"};

    (void)state;
    for (int k = 1; k <= 5; k++) {
        const char *n = dashfmt_kind_name((Coachq__V1__DashboardKind)k);

        assert_non_null(n);
        assert_string_equal(n, names[k - 1]);
        assert_int_equal(dashfmt_kind_from_name(n), k);
    }
    assert_null(dashfmt_kind_name(COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_UNSPECIFIED));
    assert_null(dashfmt_kind_name((Coachq__V1__DashboardKind)99));
    assert_int_equal(dashfmt_kind_from_name("Managers"), 0);
    assert_int_equal(dashfmt_kind_from_name(""), 0);
    assert_int_equal(dashfmt_kind_from_name(NULL), 0);
}

static void test_json_carries_every_figure(void **state)
{
    struct buf b;
    json_error_t je;
    json_t *j;
    json_t *rows;
    json_t *series;

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(dashfmt_json(&fx.d, &b), 0);
    j = json_loadb((const char *)b.data, b.len, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "managers");
    assert_string_equal(json_string_value(json_object_get(j, "subject_id")), "slm.eve");
    assert_string_equal(json_string_value(json_object_get(j, "from")), "2026-07-20");
    assert_string_equal(json_string_value(json_object_get(j, "until")), "2026-10-11");
    assert_int_equal(json_integer_value(json_object_get(j, "min_n")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "privacy_min")), 5);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "notes"), 0)),
                        fx.notes[0]);

    rows = json_object_get(json_array_get(json_object_get(j, "tables"), 0), "rows");
    assert_int_equal(json_array_size(rows), NROWS);
    for (size_t i = 0; i < NROWS; i++) {
        for (size_t k = 0; k < NCOLS; k++) {
            const Coachq__V1__Cell *c = &fx.cells[i][k];
            json_t *cell = json_array_get(json_array_get(rows, i), k);
            json_t *v = json_object_get(cell, "value");

            assert_non_null(cell);
            assert_string_equal(json_string_value(json_object_get(cell, "text")), c->text);
            assert_int_equal(json_integer_value(json_object_get(cell, "n")), c->n);
            assert_int_equal(json_is_true(json_object_get(cell, "insufficient")), c->insufficient);
            if (c->has_value) {
                assert_true(json_is_number(v));
                assert_true(json_number_value(v) == c->value);
            } else {
                /* Present and null: never left out, never a number. */
                assert_non_null(v);
                assert_true(json_is_null(v));
            }
            if (c->link != NULL && c->link[0] != '\0') {
                assert_string_equal(json_string_value(json_object_get(cell, "link")), c->link);
            } else {
                assert_null(json_object_get(cell, "link"));
            }
        }
    }
    series = json_array_get(
        json_object_get(json_array_get(json_object_get(j, "charts"), 0), "series"), 0);
    assert_true(json_number_value(json_array_get(json_object_get(series, "y"), 0)) == 2.5);
    assert_true(json_is_null(json_array_get(json_object_get(series, "y"), 1)));
    assert_int_equal(json_integer_value(json_array_get(json_object_get(series, "n"), 1)), 1);
    assert_true(json_number_value(json_array_get(json_object_get(series, "y"), 2)) == 3.25);
    json_decref(j);
    buf_free(&b);
}

static void test_json_odd_input(void **state)
{
    struct buf b;
    json_error_t je;
    json_t *j;
    json_t *cell;

    (void)state;
    /* Bytes that are not UTF-8 become '?', and a figure that claims both a
     * value and too small an n is still null. */
    fx.cells[0][0].text = (char *)"Bad \xff\xfe name";
    fx.cells[1][1].has_value = 1;
    fx.cells[1][1].value = 1.5;
    buf_init(&b, 1u << 20);
    assert_int_equal(dashfmt_json(&fx.d, &b), 0);
    j = json_loadb((const char *)b.data, b.len, 0, &je);
    assert_non_null(j);
    cell = json_array_get(
        json_array_get(json_object_get(json_array_get(json_object_get(j, "tables"), 0), "rows"), 0),
        0);
    assert_string_equal(json_string_value(json_object_get(cell, "text")), "Bad ?? name");
    cell = json_array_get(
        json_array_get(json_object_get(json_array_get(json_object_get(j, "tables"), 0), "rows"), 1),
        1);
    assert_true(json_is_null(json_object_get(cell, "value")));
    json_decref(j);
    buf_free(&b);

    /* A buffer too small: -ENOBUFS and nothing left behind. */
    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, "keep", 4), 0);
    assert_int_equal(dashfmt_json(&fx.d, &b), -ENOBUFS);
    assert_int_equal(b.len, 4);
    buf_free(&b);
}

static void test_csv(void **state)
{
    static const char expected[] =
        "Manager,Quality index,Quality index n,Sessions observed,Sessions observed n\r\n"
        "Cara Lind,2.75,12,12,12\r\n"
        "'=cmd|' /C calc'!A0,insufficient data,2,0,0\r\n"
        "'+x,-0.25,5,0,0\r\n"
        "'-x,0.50,4,0,0\r\n"
        "'@x,62,8,0,0\r\n"
        "\"a,b \"\"q\"\"\r\nnext\",insufficient data,0,0,0\r\n"
        "'-0.25,5,3,0,0\r\n"
        "A name long enough that no narrow terminal can show all of it,3.10,40,0,0\r\n";
    struct buf b;

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(dashfmt_csv(&fx.t, &b), 0);
    assert_string_equal(text_of(&b), expected);
    /* Every line break is CRLF (the one inside the quoted cell included). */
    for (size_t i = 0; i < b.len; i++) {
        if (b.data[i] == '\n') {
            assert_true(i > 0 && b.data[i - 1] == '\r');
        }
    }
    buf_free(&b);
}

static void test_csv_neutralises_labels_only(void **state)
{
    struct buf b;
    const char *s;

    (void)state;
    /* A tab or CR first is neutralised too; a label that looks like a
     * negative number is a label, so it is neutralised; a figure's -0.25
     * is not. */
    fx.cells[3][0].text = (char *)"\tx";
    fx.cells[4][0].text = (char *)"\rx";
    buf_init(&b, 1u << 20);
    assert_int_equal(dashfmt_csv(&fx.t, &b), 0);
    s = text_of(&b);
    assert_non_null(strstr(s, "\r\n'\tx,0.50,4,"));
    assert_non_null(strstr(s, "\r\n\"'\rx\",62,8,"));
    assert_non_null(strstr(s, "\r\n'-0.25,5,3,"));
    assert_non_null(strstr(s, "\r\n'+x,-0.25,5,"));
    assert_null(strstr(s, "'2.75"));
    buf_free(&b);

    /* A table without figures has no n columns. */
    for (size_t i = 0; i < NROWS; i++) {
        fx.cells[i][1] = fx.cells[i][0];
        fx.cells[i][2] = fx.cells[i][0];
    }
    buf_init(&b, 1u << 20);
    assert_int_equal(dashfmt_csv(&fx.t, &b), 0);
    s = text_of(&b);
    assert_true(strncmp(s, "Manager,Quality index,Sessions observed\r\n", 41) == 0);
    buf_free(&b);
}

/* Terminal columns of the line starting at s (code points up to '\n'). */
/* The terminal columns of a line, as a terminal shows it: CJK ideographs,
 * Hangul and kana take two, a combining accent none, the rest one. A
 * reference written apart from dashfmt's own table, for the characters
 * these tests use. */
static size_t line_width(const char *s, const char **next)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;

    while (*p != '\0' && *p != '\n') {
        uint32_t cp = *p;
        size_t k = 1;

        if (*p >= 0xf0) {
            k = 4;
            cp = *p & 0x07;
        } else if (*p >= 0xe0) {
            k = 3;
            cp = *p & 0x0f;
        } else if (*p >= 0xc0) {
            k = 2;
            cp = *p & 0x1f;
        }
        for (size_t i = 1; i < k && p[i] != '\0'; i++) {
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xac00 && cp <= 0xd7a3) ||
            (cp >= 0x3041 && cp <= 0x30ff)) {
            w += 2;
        } else if (!(cp >= 0x0300 && cp <= 0x036f)) {
            w += 1;
        }
        p += k;
    }
    *next = *p == '\n' ? (const char *)p + 1 : (const char *)p;
    return w;
}

/* The table's lines in s: from its header line to the line before the
 * first blank line or note. Writes their widths into w, returns how many. */
static size_t table_lines(const char *s, size_t *w, size_t max, const char **lines)
{
    const char *p = strstr(s, "Manager");
    size_t n = 0;

    assert_non_null(p);
    while (*p != '\0' && *p != '\n' && n < max && strncmp(p, "n: ", 3) != 0) {
        const char *next;

        lines[n] = p;
        w[n++] = line_width(p, &next);
        p = next;
    }
    return n;
}

static void test_text_wide(void **state)
{
    struct buf b;
    const char *s;
    const char *lines[32];
    size_t w[32];
    size_t n;

    (void)state;
    fx.cells[5][0].text = (char *)"Esc \x1b[31mred\x1b[0m name";
    buf_init(&b, 1u << 20);
    assert_int_equal(dashfmt_text(&fx.d, 200, &b), 0);
    s = text_of(&b);
    assert_non_null(strstr(s, "My managers\n"));
    assert_non_null(strstr(s, "Eve Stone (slm.eve)"));
    assert_non_null(strstr(s, "2026-07-20 to 2026-10-11"));
    assert_non_null(strstr(s, fx.notes[0]));
    assert_non_null(strstr(s, "2.75 (n=12)"));
    assert_non_null(strstr(s, "insufficient data (n=2)"));
    assert_non_null(strstr(s, "-0.25 (n=5)"));
    /* A count shows itself, not "12 (n=12)". */
    assert_null(strstr(s, "12 (n=12)"));
    assert_null(strstr(s, "\xe2\x80\xa6"));
    /* Terminal control bytes from records never reach the terminal. */
    assert_null(strchr(s, '\x1b'));
    assert_non_null(strstr(s, "Esc  [31mred [0m name"));
    /* The chart whose table is not in the dashboard is given as a table,
     * its missing week as insufficient. */
    assert_non_null(strstr(s, "Quality index by week"));
    assert_non_null(strstr(s, "2.50 (n=4)"));
    assert_non_null(strstr(s, "3.25 (n=6)"));

    /* The last column holds figures, right-aligned: every line of the
     * table (header, rule, rows) ends at the same column, and the figure
     * column's right edges line up. */
    n = table_lines(s, w, 32, lines);
    assert_int_equal(n, NROWS + 2);
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(w[i], w[0]);
    }
    {
        const char *a = strstr(lines[2], "2.75 (n=12)");
        const char *c = strstr(lines[3], "insufficient data (n=2)");

        assert_non_null(a);
        assert_non_null(c);
        assert_int_equal((a - lines[2]) + strlen("2.75 (n=12)"),
                         (c - lines[3]) + strlen("insufficient data (n=2)"));
    }
    buf_free(&b);
}

/* Names in scripts a terminal shows two columns wide (Chinese, Korean)
 * or with combining accents: the table's lines still end at one column,
 * so the padding counts columns, not characters. */
static void test_text_columns(void **state)
{
    struct buf b;
    const char *s;
    const char *lines[32];
    size_t w[32];
    size_t n;

    (void)state;
    fx.cells[5][0].text = (char *)"\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e (flm.wang)";
    fx.cells[6][0].text = (char *)"Jose\xcc\x81 \xea\xb9\x80 (flm.jose)";
    buf_init(&b, 1u << 20);
    assert_int_equal(dashfmt_text(&fx.d, 200, &b), 0);
    s = text_of(&b);
    n = table_lines(s, w, 32, lines);
    assert_int_equal(n, NROWS + 2);
    for (size_t i = 1; i < n; i++) {
        assert_int_equal(w[i], w[0]);
    }
    buf_free(&b);
}

/* Too narrow for the name beside a figure (70 columns): the table is
 * pivoted, one block per row, and nothing is cut. */
static void test_text_narrow(void **state)
{
    struct buf b;
    const char *s;

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(dashfmt_text(&fx.d, 70, &b), 0);
    s = text_of(&b);
    for (const char *p = s; *p != '\0';) {
        const char *next;

        assert_true(line_width(p, &next) <= 70);
        p = next;
    }
    /* The long name whole (wrapped at a space), the figures whole. */
    assert_null(strstr(s, "\xe2\x80\xa6"));
    assert_non_null(strstr(s, "A name long enough that no narrow terminal can show all"));
    assert_non_null(strstr(s, "  Quality index: 3.10 (n=40)\n"));
    assert_non_null(strstr(s, ": insufficient data (n=2)\n"));
    buf_free(&b);
}

/* Wider than the name beside one figure, narrower than the table (95
 * columns): split into parts, each repeating the names, nothing cut. */
static void test_text_split(void **state)
{
    struct buf b;
    const char *s, *p1, *p2;
    size_t names = 0;

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(dashfmt_text(&fx.d, 95, &b), 0);
    s = text_of(&b);
    p1 = strstr(s, "(part 1 of 2)\n");
    p2 = strstr(s, "(part 2 of 2)\n");
    assert_non_null(p1);
    assert_non_null(p2);
    assert_true(p1 < p2);
    for (const char *p = s; *p != '\0';) {
        const char *next;

        assert_true(line_width(p, &next) <= 95);
        p = next;
    }
    for (const char *p = s;
         (p = strstr(p, "A name long enough that no narrow terminal can show all of it")) != NULL;
         p++) {
        names++;
    }
    assert_int_equal(names, 2);
    assert_null(strstr(s, "\xe2\x80\xa6"));
    assert_non_null(strstr(s, "3.10 (n=40)"));
    buf_free(&b);
}

/* Too narrow for the table: labels give way, figures never do (a number
 * without its n, or cut short, would mislead); the table is left wider. */
static void test_text_figures_never_cut(void **state)
{
    struct buf b;
    const char *s;
    size_t n;

    (void)state;
    buf_init(&b, 1u << 20);
    assert_int_equal(dashfmt_text(&fx.d, 20, &b), 0);
    s = text_of(&b);
    /* Some line of the table is wider than asked. */
    n = 0;
    for (const char *p = s; *p != '\0';) {
        const char *next;

        n += line_width(p, &next) > 20;
        p = next;
    }
    assert_true(n > 0);
    assert_non_null(strstr(s, "3.10 (n=40)"));
    assert_non_null(strstr(s, "insufficient data (n=2)"));
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_kind_names, setup),
        cmocka_unit_test_setup(test_json_carries_every_figure, setup),
        cmocka_unit_test_setup(test_json_odd_input, setup),
        cmocka_unit_test_setup(test_csv, setup),
        cmocka_unit_test_setup(test_csv_neutralises_labels_only, setup),
        cmocka_unit_test_setup(test_text_wide, setup),
        cmocka_unit_test_setup(test_text_columns, setup),
        cmocka_unit_test_setup(test_text_narrow, setup),
        cmocka_unit_test_setup(test_text_split, setup),
        cmocka_unit_test_setup(test_text_figures_never_cut, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
