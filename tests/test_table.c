/*
 * Tests of table, the CSV table format every import shares, and of the
 * people and programme imports' parse-and-check stage that runs on it in
 * memory: header mapping in any order, trimmed fields and their columns,
 * field counts, the row cap, stopping once the errors are full, errors
 * kept in file order with their count, and the common cell checks.
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

#include "csv.h"
#include "people_csv.h"
#include "programme_csv.h"
#include "table.h"

static const char *const cols[3] = {"id", "name", "day"};

static const struct table_spec spec3 = {
    .names = cols,
    .ncol = 3,
    .max_rows = 3,
    .too_many = "; split the file",
    .too_many_rc = -E2BIG,
    .unreadable = NULL,
    .stop_when_full = 0,
};

/* Reads text with spec into t, errors into e (kept: max). */
static int read_text(const char *text, const struct table_spec *spec, size_t max, struct table *t,
                     struct table_errs *e)
{
    struct csv *c = NULL;
    int rc;

    memset(t, 0, sizeof(*t));
    assert_int_equal(table_errs_init(e, "t.csv", max), 0);
    assert_int_equal(csv_new(text, strlen(text), &c), 0);
    rc = table_read(c, spec, table_keep, t, e);
    csv_free(c);
    return rc;
}

static void test_columns_any_order_trimmed(void **state)
{
    struct table t;
    struct table_errs e;

    (void)state;
    assert_int_equal(read_text("day, id ,name\n2024-01-02,  a1 ,Ann\n", &spec3, 5, &t, &e), 0);
    assert_int_equal(e.total, 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.rows[0].f[0], "a1");
    assert_int_equal(t.rows[0].col[0], 14);
    assert_string_equal(t.rows[0].f[1], "Ann");
    assert_string_equal(t.rows[0].f[2], "2024-01-02");
    assert_int_equal(t.rows[0].line, 2);
    table_clear(&t);
    table_errs_close(&e);
}

static void test_empty_and_field_count(void **state)
{
    struct table t;
    struct table_errs e;

    (void)state;
    assert_int_equal(read_text("", &spec3, 5, &t, &e), -EINVAL);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.kept[0].msg,
                        "t.csv: the file is empty; its first line must name the columns: "
                        "id,name,day");
    table_errs_close(&e);
    assert_int_equal(read_text("id,name,day\na,b\na,b,c,d\n", &spec3, 5, &t, &e), 0);
    assert_int_equal(e.n, 2);
    assert_string_equal(e.kept[0].msg, "t.csv:2:1: 2 fields, expected 3 (id,name,day)");
    assert_string_equal(e.kept[1].msg, "t.csv:3:7: 4 fields, expected 3 (id,name,day)");
    assert_int_equal(t.n, 0);
    table_clear(&t);
    table_errs_close(&e);
}

static void test_row_cap(void **state)
{
    struct table t;
    struct table_errs e;

    (void)state;
    assert_int_equal(read_text("id,name,day\na,b,c\na,b,c\na,b,c\n", &spec3, 5, &t, &e), 0);
    assert_int_equal(t.n, 3);
    table_clear(&t);
    table_errs_close(&e);
    assert_int_equal(read_text("id,name,day\na,b,c\na,b,c\na,b,c\na,b,c\n", &spec3, 5, &t, &e),
                     -E2BIG);
    assert_string_equal(e.kept[0].msg, "t.csv:5:1: more than 3 rows; split the file");
    table_clear(&t);
    table_errs_close(&e);
}

static void test_stop_when_full(void **state)
{
    struct table_spec spec = spec3;
    struct table t;
    struct table_errs e;

    (void)state;
    spec.max_rows = 100;
    spec.stop_when_full = 1;
    assert_int_equal(read_text("id,name,day\na\nb\nc\nd\n", &spec, 2, &t, &e), -EINVAL);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.total, 2);
    table_clear(&t);
    table_errs_close(&e);
    spec.stop_when_full = 0;
    assert_int_equal(read_text("id,name,day\na\nb\nc\nd\n", &spec, 2, &t, &e), 0);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.total, 4);
    table_clear(&t);
    table_errs_close(&e);
}

static void test_errors_sorted_and_truncated(void **state)
{
    struct table_errs e;

    (void)state;
    assert_int_equal(table_errs_init(&e, "f", 4), 0);
    table_err(&e, 3, 2, "three");
    table_err(&e, 0, 0, "file");
    table_err(&e, 3, 1, "first at three");
    table_err(&e, 3, 1, "second at three");
    table_err(&e, 1, 1, "not kept");
    assert_int_equal(e.n, 4);
    assert_int_equal(e.total, 5);
    assert_true(table_errs_full(&e));
    table_errs_truncate(&e, 2);
    assert_int_equal(e.n, 2);
    assert_int_equal(e.total, 2);
    table_err(&e, 3, 1, "first at three");
    table_err(&e, 3, 1, "second at three");
    table_errs_sort(&e);
    assert_string_equal(e.kept[0].msg, "f: file");
    assert_string_equal(e.kept[1].msg, "f:3:1: first at three");
    assert_string_equal(e.kept[2].msg, "f:3:1: second at three");
    assert_string_equal(e.kept[3].msg, "f:3:2: three");
    table_errs_close(&e);
}

static void test_cell_checks(void **state)
{
    struct table_row r;
    struct table_errs e;
    char id[] = "bad id", text[] = "ok", date[] = "2024-02-30", empty[] = "";
    int32_t day = -1;
    int has = -1;

    (void)state;
    memset(&r, 0, sizeof(r));
    r.line = 7;
    r.col[0] = 1;
    r.col[1] = 5;
    r.col[2] = 9;
    r.f[0] = id;
    r.f[1] = text;
    r.f[2] = date;
    assert_int_equal(table_errs_init(&e, "x.csv", 10), 0);
    assert_int_equal(table_check_id(&e, &r, 0, "id"), -EINVAL);
    assert_int_equal(table_check_text(&e, &r, 1, "name", 1, 1), -EINVAL);
    assert_int_equal(table_check_date(&e, &r, 2, "day", 0, &day, &has), -EINVAL);
    r.f[2] = empty;
    assert_int_equal(table_check_date(&e, &r, 2, "day", 0, &day, &has), 0);
    assert_int_equal(has, 0);
    assert_int_equal(table_check_date(&e, &r, 2, "day", 1, &day, &has), -EINVAL);
    assert_int_equal(e.n, 4);
    assert_string_equal(e.kept[0].msg, "x.csv:7:1: id 'bad id' is not a valid id: 1 to 64 "
                                       "letters, digits, '.', '_', '@' or '-'");
    assert_string_equal(e.kept[1].msg, "x.csv:7:5: name is longer than 1 bytes");
    assert_string_equal(e.kept[2].msg,
                        "x.csv:7:9: day '2024-02-30' is not a valid date (YYYY-MM-DD, from "
                        "1970-01-01)");
    assert_string_equal(e.kept[3].msg, "x.csv:7:9: day is empty; it needs a date (YYYY-MM-DD)");
    table_errs_close(&e);
}

/* The people import's parse-and-check stage runs on bytes in memory. */
static void test_people_in_memory(void **state)
{
    static const char text[] = "id,name,email,role,manager_id,effective_date\n"
                               "boss,Bo,,front_line_manager,,\n"
                               "rep1,Ray,ray@example.com,rep,boss,2024-01-01\n"
                               "rep1,Ray,ray@example.com,rep,boss,2024-03-01\n"
                               "x,X,,rep,x,2024-01-01\n";
    struct people_csv pc;
    struct table_errs e;
    struct csv *c = NULL;
    struct people_csv_row *pr;

    (void)state;
    assert_int_equal(table_errs_init(&e, "p.csv", 20), 0);
    assert_int_equal(csv_new(text, strlen(text), &c), 0);
    assert_int_equal(people_csv_read(&pc, c, &e), 0);
    assert_int_equal(pc.tab.n, 4);
    assert_int_equal(e.n, 2);
    assert_string_equal(e.kept[0].msg, "p.csv:5:10: 'x' cannot be their own manager");
    assert_string_equal(
        e.kept[1].msg, "p.csv:5:10: manager_id 'x': the reporting line from 'x' leads back to 'x'");
    pr = people_csv_find(&pc, "rep1");
    assert_non_null(pr);
    assert_int_equal(pr->r->line, 4);
    assert_null(people_csv_find(&pc, "nobody"));
    people_csv_clear(&pc);
    csv_free(c);
    table_errs_close(&e);
}

/* The programme import's stage finds a person in two cohorts alone. */
static void test_programme_in_memory(void **state)
{
    static const char text[] = "programme_id,programme_name,cohort_id,cohort_start,person_id,"
                               "module,attended_on,completed_on\n"
                               "p1,Prog,c1,2024-01-01,rep1,m1,2024-01-02,\n"
                               "p1,Prog,c2,2024-02-01,rep1,,,\n";
    struct programme_csv pc;
    struct table_errs e;
    struct csv *c = NULL;

    (void)state;
    assert_int_equal(table_errs_init(&e, "g.csv", 20), 0);
    assert_int_equal(csv_new(text, strlen(text), &c), 0);
    assert_int_equal(programme_csv_read(&pc, c, &e), 0);
    assert_int_equal(pc.tab.n, 2);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.kept[0].msg, "g.csv:3:9: 'rep1' is in cohort 'c1' starting 2024-01-01 "
                                       "on line 2; a person is in one cohort per programme");
    programme_csv_clear(&pc);
    csv_free(c);
    table_errs_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_columns_any_order_trimmed),
        cmocka_unit_test(test_empty_and_field_count),
        cmocka_unit_test(test_row_cap),
        cmocka_unit_test(test_stop_when_full),
        cmocka_unit_test(test_errors_sorted_and_truncated),
        cmocka_unit_test(test_cell_checks),
        cmocka_unit_test(test_people_in_memory),
        cmocka_unit_test(test_programme_in_memory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
