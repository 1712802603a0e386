/*
 * test_outcomes: business results (store/outcomes.c): periods, field
 * checks, the database with its overlap filter, the CSV reader's errors
 * with their lines and columns, imports that are idempotent and all or
 * nothing, and `coachqd import outcomes` run as the real program.
 *
 * Write callbacks run on the store's writer thread, where a failed cmocka
 * assertion cannot jump back to the test, so they only record what they saw
 * and the test thread asserts afterwards.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "outcomes.h"
#include "outcomes_csv.h"
#include "people.h"
#include "store.h"
#include "testutil.h"

#define OUT_MAX (64 * 1024)

struct fixture {
    char dir[512];
    struct store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL) {
        return -1;
    }
    testutil_watchdog(240);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    f->s = testutil_store_open(f->dir, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    store_close(f->s);
    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* The day number of a date, counted day by day from 1970 (a different
 * method from the code under test). */
static int32_t day_of(int y, int m, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int32_t n = 0;

    for (int yy = 1970; yy < y; yy++) {
        n += (yy % 4 == 0 && (yy % 100 != 0 || yy % 400 == 0)) ? 366 : 365;
    }
    for (int mm = 1; mm < m; mm++) {
        n += mdays[mm - 1] + (mm == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
    }
    return n + d - 1;
}

static Coachq__V1__Outcome mk(const char *subject, int team, const char *period, const char *metric,
                              double value)
{
    Coachq__V1__Outcome o = COACHQ__V1__OUTCOME__INIT;

    o.subject_id = (char *)subject;
    o.team = team;
    o.period = (char *)period;
    o.metric = (char *)metric;
    o.value = value;
    return o;
}

/* ---- Writer-thread helpers ---------------------------------------------- */

static int people_fn(struct store_txn *t, void *arg)
{
    const char *const *ids = arg;

    for (size_t i = 0; ids[i] != NULL; i++) {
        Coachq__V1__Person p = COACHQ__V1__PERSON__INIT;
        int rc;

        p.id = (char *)ids[i];
        p.name = (char *)ids[i];
        rc = people_put(t, &p, NULL);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static void add_people(struct store *s)
{
    static const char *const ids[] = {"rep.a", "rep.b", "flm.c", NULL};

    assert_int_equal(store_exec(s, people_fn, (void *)ids), 0);
}

struct put_arg {
    const Coachq__V1__Outcome *o;
    int state;
};

static int put_fn(struct store_txn *t, void *arg)
{
    struct put_arg *p = arg;

    p->state = -1;
    return outcomes_put(t, p->o, &p->state);
}

/* Puts o; returns the result and the state in *state. */
static int put(struct store *s, const Coachq__V1__Outcome *o, int *state)
{
    struct put_arg p = {o, -1};
    int rc = store_exec(s, put_fn, &p);

    *state = p.state;
    return rc;
}

struct import_arg {
    Coachq__V1__Outcome *const *rows;
    size_t n;
    Coachq__V1__ImportResult res;
    struct validate_error fault;
};

static int import_fn(struct store_txn *t, void *arg)
{
    struct import_arg *a = arg;

    memset(&a->fault, 0, sizeof(a->fault));
    return outcomes_import_txn(t, a->rows, a->n, 1700000000000, "local:test", "test_outcomes",
                               &a->res, &a->fault);
}

/* Lists outcomes into a text "subject/team/period/metric=value;..." */
struct list_arg {
    const char *subject;
    int32_t from, until;
    char text[4096];
    size_t n;
    size_t stop_after; /* 0: never */
    int64_t imported_at_ms;
};

static int list_cb(const Coachq__V1__Outcome *o, void *arg)
{
    struct list_arg *l = arg;
    size_t off = strlen(l->text);

    snprintf(l->text + off, sizeof(l->text) - off, "%s/%d/%s/%s=%g;", o->subject_id, o->team,
             o->period, o->metric, o->value);
    l->imported_at_ms = o->imported_at_ms;
    l->n++;
    return l->stop_after > 0 && l->n >= l->stop_after ? 1 : 0;
}

static int list_fn(struct store_txn *t, void *arg)
{
    struct list_arg *l = arg;

    l->text[0] = '\0';
    l->n = 0;
    return outcomes_list(t, l->subject, l->from, l->until, list_cb, l);
}

static void list(struct store *s, struct list_arg *l, const char *subject, int32_t from,
                 int32_t until)
{
    l->subject = subject;
    l->from = from;
    l->until = until;
    assert_int_equal(store_view(s, list_fn, l), 0);
}

static int audit_count_cb(const Coachq__V1__AuditEntry *e, void *arg)
{
    if (strcmp(e->action, "import.outcomes") == 0) {
        (*(int *)arg)++;
    }
    return 0;
}

static int audit_count_fn(struct store_txn *t, void *arg)
{
    *(int *)arg = 0;
    return audit_list(t, 0, audit_count_cb, arg);
}

static int audit_count(struct store *s)
{
    int n = 0;

    assert_int_equal(store_view(s, audit_count_fn, &n), 0);
    return n;
}

/* ---- Periods ----------------------------------------------------------- */

static void expect_period(const char *p, int32_t first, int32_t last)
{
    int32_t a = -1, b = -1;

    if (outcomes_period_parse(p, &a, &b) != 0) {
        fail_msg("period '%s' refused", p);
    }
    assert_int_equal(a, first);
    assert_int_equal(b, last);
}

static void test_period_parse(void **state)
{
    static const char *const bad[] = {
        "",        "2024",     "2024-1",  "2024-13",  "2024-00", "2024-Q0",  "2024-Q5",
        "2024-q1", "24-01-01", "2024/01", "2024-011", "1969-12", "2024-01 ", " 2024-01",
        "2024-Q",  "2O24-01",  "2024-1a", "2024-Q1x", "-024-01", "2024-20",
    };
    int32_t a = 7, b = 9;

    (void)state;
    /* The reference itself: 2026-05-28 is day 1780000000 / 86400. */
    assert_int_equal(day_of(2026, 5, 28), 1780000000 / 86400);
    expect_period("1970-01", 0, 30);
    expect_period("2024-02", day_of(2024, 2, 1), day_of(2024, 2, 29));
    expect_period("2023-02", day_of(2023, 2, 1), day_of(2023, 2, 28));
    expect_period("2000-02", day_of(2000, 2, 1), day_of(2000, 2, 29));
    expect_period("2100-02", day_of(2100, 2, 1), day_of(2100, 2, 28));
    expect_period("2026-12", day_of(2026, 12, 1), day_of(2026, 12, 31));
    expect_period("2024-Q1", day_of(2024, 1, 1), day_of(2024, 3, 31));
    expect_period("2023-Q1", day_of(2023, 1, 1), day_of(2023, 3, 31));
    expect_period("2026-Q2", day_of(2026, 4, 1), day_of(2026, 6, 30));
    expect_period("2026-Q3", day_of(2026, 7, 1), day_of(2026, 9, 30));
    expect_period("2026-Q4", day_of(2026, 10, 1), day_of(2026, 12, 31));
    expect_period("9999-12", day_of(9999, 12, 1), day_of(9999, 12, 31));
    assert_int_equal(outcomes_period_parse("2026-05", NULL, NULL), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (outcomes_period_parse(bad[i], &a, &b) != -EINVAL) {
            fail_msg("period '%s' accepted", bad[i]);
        }
    }
    assert_int_equal(outcomes_period_parse(NULL, NULL, NULL), -EINVAL);
    /* A refused period leaves the outputs alone. */
    assert_int_equal(a, 7);
    assert_int_equal(b, 9);
}

/* ---- Field checks ------------------------------------------------------ */

static void expect_fault(Coachq__V1__Outcome o, const char *field, const char *words)
{
    struct validate_error e;

    memset(&e, 0, sizeof(e));
    assert_int_equal(outcomes_check(&o, "outcomes[3]", &e), -EINVAL);
    assert_string_equal(e.field, field);
    assert_int_equal(e.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    if (strstr(e.message, words) == NULL) {
        fail_msg("message '%s' lacks '%s'", e.message, words);
    }
}

static void test_check(void **state)
{
    char m40[41], m41[42];
    struct validate_error e;
    Coachq__V1__Outcome o;

    (void)state;
    memset(m40, 'm', 40);
    m40[40] = '\0';
    memset(m41, 'm', 41);
    m41[41] = '\0';
    o = mk("rep.a", 0, "2026-01", "win_rate", 0.4);
    assert_int_equal(outcomes_check(&o, "outcomes[3]", &e), 0);
    o = mk("rep.a", 0, "2026-01", m40, -12.5);
    assert_int_equal(outcomes_check(&o, "x", &e), 0);
    o = mk("flm.c", 1, "2026-Q1", "quota_attainment", 1.6);
    assert_int_equal(outcomes_check(&o, "x", &e), 0);
    o = mk("flm.c", 0, "2026-01", "sessions_held", 12);
    assert_int_equal(outcomes_check(&o, "x", &e), 0);

    expect_fault(mk("rep a", 0, "2026-01", "win_rate", 0.4), "outcomes[3].subject_id",
                 "not a person id");
    expect_fault(mk("", 0, "2026-01", "win_rate", 0.4), "outcomes[3].subject_id",
                 "not a person id");
    expect_fault(mk("rep.a", 0, "2026-13", "win_rate", 0.4), "outcomes[3].period", "2026-13");
    expect_fault(mk("rep.a", 0, "2026-01", "Win Rate", 0.4), "outcomes[3].metric", "Win Rate");
    expect_fault(mk("rep.a", 0, "2026-01", "", 0.4), "outcomes[3].metric", "not a metric");
    expect_fault(mk("rep.a", 0, "2026-01", m41, 0.4), "outcomes[3].metric", "not a metric");
    expect_fault(mk("rep.a", 0, "2026-01", "nps", NAN), "outcomes[3].value", "finite");
    expect_fault(mk("rep.a", 0, "2026-01", "nps", INFINITY), "outcomes[3].value", "finite");
    expect_fault(mk("rep.a", 0, "2026-01", "win_rate", 45), "outcomes[3].value", "0.45");
    expect_fault(mk("rep.a", 0, "2026-01", "crm_completeness", -0.1), "outcomes[3].value",
                 "outside 0..1");
    expect_fault(mk("rep.a", 0, "2026-01", "pipeline_coverage", -1), "outcomes[3].value",
                 "negative");
    expect_fault(mk("flm.c", 0, "2026-01", "sessions_held", 2.5), "outcomes[3].value",
                 "whole number");
    /* The first fault is the one named. */
    expect_fault(mk("rep.a", 0, "bad", "Bad", NAN), "outcomes[3].period", "bad");
}

/* ---- The database ------------------------------------------------------ */

static void test_put_list(void **state)
{
    struct fixture *f = *state;
    struct list_arg *l = calloc(1, sizeof(*l));
    Coachq__V1__Outcome o;
    int st;

    assert_non_null(l);
    add_people(f->s);
    o = mk("rep.a", 0, "2026-02", "win_rate", 0.25);
    assert_int_equal(put(f->s, &o, &st), 0);
    assert_int_equal(st, 1);
    /* The same value again (even at another import time) changes nothing. */
    o.imported_at_ms = 99;
    assert_int_equal(put(f->s, &o, &st), 0);
    assert_int_equal(st, 0);
    o.value = 0.5;
    assert_int_equal(put(f->s, &o, &st), 0);
    assert_int_equal(st, 2);
    o = mk("rep.a", 0, "2026-01", "win_rate", 0.2);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("rep.a", 0, "2026-Q1", "win_rate", 0.3);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("rep.a", 0, "2026-Q2", "win_rate", 0.4);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("rep.a", 0, "2026-03", "crm_completeness", 0.9);
    assert_int_equal(put(f->s, &o, &st), 0);
    /* A team figure is a key of its own. */
    o = mk("flm.c", 1, "2026-02", "win_rate", 0.33);
    assert_int_equal(put(f->s, &o, &st), 0);
    assert_int_equal(st, 1);
    o = mk("flm.c", 0, "2026-02", "sessions_held", 7);
    assert_int_equal(put(f->s, &o, &st), 0);
    assert_int_equal(st, 1);
    o = mk("rep.b", 0, "2025-12", "win_rate", 0.1);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("flm.c", 1, "2025-06", "win_rate", 0.2);
    assert_int_equal(put(f->s, &o, &st), 0);

    /* Refusals. */
    o = mk("nobody", 0, "2026-02", "win_rate", 0.1);
    assert_int_equal(put(f->s, &o, &st), -ENOENT);
    o = mk("rep.a", 0, "2026-02", "win_rate", 2);
    assert_int_equal(put(f->s, &o, &st), -EINVAL);

    /* Feb 15..20: the February month and the first quarter, in key order
     * (periods by first day; Q1 starts on Jan 1). */
    list(f->s, l, "rep.a", day_of(2026, 2, 15), day_of(2026, 2, 20));
    assert_string_equal(l->text, "rep.a/0/2026-Q1/win_rate=0.3;rep.a/0/2026-02/win_rate=0.5;");
    /* The edges: Jan 31 is in January and Q1; Apr 1 only in Q2. */
    list(f->s, l, "rep.a", day_of(2026, 1, 31), day_of(2026, 1, 31));
    assert_string_equal(l->text, "rep.a/0/2026-01/win_rate=0.2;rep.a/0/2026-Q1/win_rate=0.3;");
    list(f->s, l, "rep.a", day_of(2026, 4, 1), day_of(2026, 12, 31));
    assert_string_equal(l->text, "rep.a/0/2026-Q2/win_rate=0.4;");
    list(f->s, l, "rep.a", day_of(2025, 1, 1), day_of(2025, 12, 31));
    assert_int_equal(l->n, 0);
    /* Everybody, whole range; an empty range gives nothing. */
    list(f->s, l, NULL, 0, day_of(2030, 1, 1));
    assert_int_equal(l->n, 9);
    list(f->s, l, NULL, day_of(2026, 2, 1), day_of(2026, 1, 1));
    assert_int_equal(l->n, 0);
    list(f->s, l, "flm.c", 0, day_of(2030, 1, 1));
    assert_string_equal(l->text, "flm.c/0/2026-02/sessions_held=7;flm.c/1/2025-06/win_rate=0.2;"
                                 "flm.c/1/2026-02/win_rate=0.33;");
    /* One subject's list starts at the first period that can reach the
     * window: Q1 (from Jan 1) still covers Mar 31, 89 days on, and is read
     * before March; a period starting after the window ends the list. */
    list(f->s, l, "rep.a", day_of(2026, 3, 31), day_of(2026, 3, 31));
    assert_string_equal(l->text,
                        "rep.a/0/2026-Q1/win_rate=0.3;rep.a/0/2026-03/crm_completeness=0.9;");
    list(f->s, l, "rep.a", day_of(2026, 1, 1), day_of(2026, 1, 1));
    assert_string_equal(l->text, "rep.a/0/2026-01/win_rate=0.2;rep.a/0/2026-Q1/win_rate=0.3;");
    list(f->s, l, "flm.c", day_of(2026, 2, 28), day_of(2026, 3, 1));
    assert_string_equal(l->text, "flm.c/0/2026-02/sessions_held=7;flm.c/1/2026-02/win_rate=0.33;");
    list(f->s, l, "flm.c", day_of(2026, 3, 1), day_of(2026, 3, 31));
    assert_int_equal(l->n, 0);
    list(f->s, l, "flm.c", day_of(2025, 6, 30), day_of(2025, 7, 1));
    assert_string_equal(l->text, "flm.c/1/2025-06/win_rate=0.2;");
    /* A callback can stop the walk, also a subject's before its team's
     * figures. */
    l->stop_after = 2;
    list(f->s, l, NULL, 0, day_of(2030, 1, 1));
    assert_int_equal(l->n, 2);
    l->stop_after = 1;
    list(f->s, l, "flm.c", 0, day_of(2030, 1, 1));
    assert_string_equal(l->text, "flm.c/0/2026-02/sessions_held=7;");
    l->stop_after = 0;
    /* The longest periods, the third and fourth quarters, run 92 days:
     * their last day still lists them, so the look-back from a window's
     * first day must reach 91 days back (a look-back of 90 loses Q3 here;
     * store/outcomes.c looks back the full 92, one day more than needed). */
    o = mk("rep.b", 0, "2025-Q3", "win_rate", 0.3);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("rep.b", 0, "2025-Q4", "win_rate", 0.4);
    assert_int_equal(put(f->s, &o, &st), 0);
    list(f->s, l, "rep.b", day_of(2025, 9, 30), day_of(2025, 9, 30));
    assert_string_equal(l->text, "rep.b/0/2025-Q3/win_rate=0.3;");
    list(f->s, l, "rep.b", day_of(2025, 12, 31), day_of(2025, 12, 31));
    assert_string_equal(l->text, "rep.b/0/2025-Q4/win_rate=0.4;rep.b/0/2025-12/win_rate=0.1;");
    /* A malformed subject. */
    l->subject = "no way";
    assert_int_equal(store_view(f->s, list_fn, l), -EINVAL);
    free(l);
}

static int put_readonly_fn(struct store_txn *t, void *arg)
{
    return outcomes_put(t, arg, NULL);
}

/* The subjects outcomes_own_subjects() hands over, joined by ',', and
 * the bound it was given. */
struct own_arg {
    size_t max;
    char ids[256];
    size_t n;
};

static int own_cb(const char *subject, size_t len, void *arg)
{
    struct own_arg *a = arg;

    assert_true(a->n + len + 2 < sizeof(a->ids));
    if (a->n > 0) {
        a->ids[a->n++] = ',';
    }
    memcpy(a->ids + a->n, subject, len);
    a->n += len;
    a->ids[a->n] = '\0';
    return 0;
}

static int own_fn(struct store_txn *t, void *arg)
{
    struct own_arg *a = arg;

    a->n = 0;
    a->ids[0] = '\0';
    return outcomes_own_subjects(t, a->max, own_cb, a);
}

/* Who has figures of their own: four subjects (rep.a and flm.c with
 * figures of their own, flm.c with its team's too; rep.bb with team
 * figures only; rep.ccc with two of its own), in key order (length, then
 * bytes), with keys too short to name a subject and its team flag stored
 * among them. With a bound of exactly four subjects the whole list comes
 * back; with three (the store holds one more) the read stops with 1. */
static void test_own_subjects(void **state)
{
    static const uint8_t empty[] = {0};                            /* no subject */
    static const uint8_t no_flag[] = {5, 'r', 'e', 'p', '.', 'b'}; /* no team flag */
    static const uint8_t cut[] = {9, 'r', 'e', 'p'};               /* shorter than its length */
    static const uint8_t val[] = {0, 0};
    struct fixture *f = *state;
    struct own_arg a;
    static const char *const more[] = {"rep.bb", "rep.ccc", NULL};
    Coachq__V1__Outcome o;
    int st;

    add_people(f->s);
    assert_int_equal(store_exec(f->s, people_fn, (void *)more), 0);
    o = mk("rep.a", 0, "2026-02", "win_rate", 0.25);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("flm.c", 0, "2026-02", "sessions_held", 7);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("flm.c", 1, "2026-Q1", "win_rate", 0.33);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("rep.bb", 1, "2026-01", "win_rate", 0.5);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("rep.bb", 1, "2026-02", "win_rate", 0.6);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("rep.ccc", 0, "2025-12", "win_rate", 0.1);
    assert_int_equal(put(f->s, &o, &st), 0);
    o = mk("rep.ccc", 0, "2026-Q1", "win_rate", 0.2);
    assert_int_equal(put(f->s, &o, &st), 0);

    a.max = 4;
    assert_int_equal(store_view(f->s, own_fn, &a), 0);
    assert_string_equal(a.ids, "flm.c,rep.a,rep.ccc");
    a.max = 3;
    assert_int_equal(store_view(f->s, own_fn, &a), 1);

    /* The short keys are stepped over: not subjects, not counted. */
    assert_int_equal(testutil_outcomes_put_raw(f->s, empty, sizeof(empty), val, sizeof(val)), 0);
    assert_int_equal(testutil_outcomes_put_raw(f->s, no_flag, sizeof(no_flag), val, sizeof(val)),
                     0);
    assert_int_equal(testutil_outcomes_put_raw(f->s, cut, sizeof(cut), val, sizeof(val)), 0);
    a.max = 4;
    assert_int_equal(store_view(f->s, own_fn, &a), 0);
    assert_string_equal(a.ids, "flm.c,rep.a,rep.ccc");
    a.max = 3;
    assert_int_equal(store_view(f->s, own_fn, &a), 1);
    a.max = 0;
    assert_int_equal(store_view(f->s, own_fn, &a), 1);
    assert_string_equal(a.ids, "");
}

static void test_put_readonly(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__Outcome o = mk("rep.a", 0, "2026-02", "win_rate", 0.25);

    add_people(f->s);
    assert_int_equal(store_view(f->s, put_readonly_fn, &o), -EROFS);
}

/* ---- CSV ----------------------------------------------------------------- */

struct errs {
    char text[8192];
    size_t calls;
};

static void err_cb(const char *msg, void *arg)
{
    struct errs *e = arg;
    size_t off = strlen(e->text);

    snprintf(e->text + off, sizeof(e->text) - off, "%s\n", msg);
    e->calls++;
}

static int parse(const char *text, struct errs *e, size_t max, Coachq__V1__Outcome ***rows,
                 size_t *n, size_t *n_errs)
{
    memset(e, 0, sizeof(*e));
    return outcomes_parse_csv("o.csv", text, strlen(text), err_cb, e, max, rows, n, n_errs);
}

static void has(const char *text, const char *want)
{
    if (strstr(text, want) == NULL) {
        fail_msg("'%s' not in:\n%s", want, text);
    }
}

static void test_csv_good(void **state)
{
    Coachq__V1__Outcome **rows = NULL;
    struct outcomes_pos *pos = NULL;
    size_t n = 0, n_errs = 9;
    struct errs e;

    (void)state;
    memset(&e, 0, sizeof(e));
    /* Any column order, blanks around fields, quoting, CRLF, a blank line. */
    static const char text[] = "period, metric,subject_id,value,team\r\n"
                               "2026-01,win_rate,rep.a,0.25,\r\n"
                               "\r\n"
                               "\"2026-Q1\",quota_attainment,  flm.c ,1.05,yes\r\n"
                               "2026-02,nps,rep.b,-3e1,No\r\n";
    assert_int_equal(outcomes_parse_csv_pos("o.csv", text, strlen(text), err_cb, &e, 10, &rows, &n,
                                            &n_errs, &pos),
                     0);
    assert_int_equal(n_errs, 0);
    assert_int_equal(e.calls, 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0]->subject_id, "rep.a");
    assert_false(rows[0]->team);
    assert_string_equal(rows[0]->period, "2026-01");
    assert_string_equal(rows[0]->metric, "win_rate");
    assert_true(rows[0]->value == 0.25);
    assert_string_equal(rows[1]->subject_id, "flm.c");
    assert_true(rows[1]->team);
    assert_string_equal(rows[1]->period, "2026-Q1");
    assert_true(rows[1]->value == 1.05);
    assert_false(rows[2]->team);
    assert_true(rows[2]->value == -30);
    assert_int_equal(pos[0].line, 2);
    assert_int_equal(pos[1].line, 4);
    assert_int_equal(pos[1].col[OUTCOMES_COL_PERIOD], 1);
    assert_int_equal(pos[1].col[OUTCOMES_COL_SUBJECT], 30);
    assert_int_equal(pos[2].col[OUTCOMES_COL_VALUE], 19);
    outcomes_rows_free(rows, n);
    free(pos);
    /* A header alone is an empty import. */
    assert_int_equal(parse("subject_id,team,period,metric,value\n", &e, 10, &rows, &n, &n_errs), 0);
    assert_int_equal(n, 0);
    outcomes_rows_free(rows, n);
}

static void test_csv_errors(void **state)
{
    Coachq__V1__Outcome **rows = NULL;
    size_t n = 5, n_errs = 0;
    struct errs e;

    (void)state;
    /* Line 3: a team that is not yes/no; line 4: a percentage; line 5: a bad
     * period and metric; line 6: too few fields; line 7: not finite; line
     * 8: line 2 again; line 9: a bad subject. */
    static const char text[] = "subject_id,team,period,metric,value\n"
                               "rep.a,,2026-01,win_rate,0.25\n"
                               "rep.a,maybe,2026-01,win_rate,0.25\n"
                               "rep.b,no,2026-01,win_rate,45%\n"
                               "rep.b,no,2026-1,Win,1\n"
                               "rep.b,no,2026-01\n"
                               "rep.b,no,2026-02,nps,inf\n"
                               "rep.a,no,2026-01,win_rate,0.3\n"
                               "rep a,no,2026-01,win_rate,0.3\n"
                               "rep.c,no,2026-01,sessions_held,0x10\n";
    assert_int_equal(parse(text, &e, 20, &rows, &n, &n_errs), -EINVAL);
    assert_null(rows);
    assert_int_equal(n, 0);
    assert_int_equal(n_errs, 9);
    assert_int_equal(e.calls, 9);
    has(e.text, "o.csv:3:7: team 'maybe' is not yes, no or empty");
    has(e.text, "o.csv:4:27: value '45%' is not a number: write percentages as plain numbers");
    has(e.text, "o.csv:5:10: period '2026-1' is not a month YYYY-MM or a quarter YYYY-Qn");
    has(e.text, "o.csv:5:17: metric 'Win' is not");
    has(e.text, "o.csv:6:1: 3 fields, expected 5");
    has(e.text, "o.csv:7:22: value 'inf' is not a number");
    has(e.text, "o.csv:8:1: subject 'rep.a', team no, period 2026-01, metric win_rate is already "
                "on line 2");
    has(e.text, "o.csv:9:1: subject_id 'rep a' is not a valid id");
    has(e.text, "o.csv:10:32: value '0x10' is not a number");
    /* In file order. */
    assert_true(strstr(e.text, "o.csv:3:") < strstr(e.text, "o.csv:4:"));
    assert_true(strstr(e.text, "o.csv:8:") < strstr(e.text, "o.csv:9:"));

    /* At most max_errs reported, all counted. */
    assert_int_equal(parse(text, &e, 2, &rows, &n, &n_errs), -EINVAL);
    assert_int_equal(e.calls, 2);
    assert_int_equal(n_errs, 9);
    /* No callback: counted only. */
    assert_int_equal(
        outcomes_parse_csv("o.csv", text, strlen(text), NULL, NULL, 5, &rows, &n, &n_errs),
        -EINVAL);
    assert_int_equal(n_errs, 9);

    /* Header problems. */
    assert_int_equal(
        parse("subject_id,team,period,metrics,value,value\n", &e, 20, &rows, &n, &n_errs), -EINVAL);
    has(e.text, "o.csv:1:24: unknown column 'metrics'");
    has(e.text, "o.csv:1:38: column 'value' appears twice");
    has(e.text, "o.csv:1:1: missing column 'metric'");
    assert_int_equal(n_errs, 3);
    assert_int_equal(parse("", &e, 20, &rows, &n, &n_errs), -EINVAL);
    has(e.text, "o.csv: the file is empty");
    /* A broken quote stops the reader where it is. */
    assert_int_equal(parse("subject_id,team,period,metric,value\nrep.a,\"no,2026-01,x,1\n", &e, 20,
                           &rows, &n, &n_errs),
                     -EINVAL);
    has(e.text, "o.csv:2:7:");
    /* Range of a known metric. */
    assert_int_equal(parse("subject_id,team,period,metric,value\nrep.a,,2026-01,win_rate,1.5\n", &e,
                           20, &rows, &n, &n_errs),
                     -EINVAL);
    has(e.text, "o.csv:2:25: value 1.5 is outside 0..1");
}

static void test_csv_too_many(void **state)
{
    size_t cap = (size_t)(OUTCOMES_MAX_ROWS + 2) * 40 + 64, o = 0;
    Coachq__V1__Outcome **rows = NULL;
    char *text = malloc(cap);
    size_t n = 0, n_errs = 0;
    struct errs e;

    (void)state;
    assert_non_null(text);
    o += (size_t)snprintf(text, cap, "subject_id,team,period,metric,value\n");
    for (unsigned i = 0; i <= OUTCOMES_MAX_ROWS; i++) {
        o += (size_t)snprintf(text + o, cap - o, "r%u,,2026-01,win_rate,0.5\n", i);
    }
    memset(&e, 0, sizeof(e));
    assert_int_equal(outcomes_parse_csv("o.csv", text, o, err_cb, &e, 5, &rows, &n, &n_errs),
                     -E2BIG);
    assert_null(rows);
    has(e.text, "more than 100000 rows");
    free(text);
}

/* ---- Imports ------------------------------------------------------------- */

static void test_import_idempotent(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__Outcome v[4], *rows[4];
    struct import_arg a;
    struct list_arg *l = calloc(1, sizeof(*l));

    assert_non_null(l);
    add_people(f->s);
    v[0] = mk("rep.a", 0, "2026-01", "win_rate", 0.2);
    v[1] = mk("rep.a", 0, "2026-02", "win_rate", 0.3);
    v[2] = mk("flm.c", 1, "2026-Q1", "quota_attainment", 0.9);
    v[3] = mk("flm.c", 0, "2026-01", "sessions_held", 14);
    for (int i = 0; i < 4; i++) {
        rows[i] = &v[i];
    }
    memset(&a, 0, sizeof(a));
    a.rows = rows;
    a.n = 4;
    assert_int_equal(store_exec(f->s, import_fn, &a), 0);
    assert_int_equal(a.res.added, 4);
    assert_int_equal(a.res.changed, 0);
    assert_int_equal(a.res.unchanged, 0);
    assert_int_equal(audit_count(f->s), 1);
    list(f->s, l, "rep.a", 0, day_of(2030, 1, 1));
    assert_int_equal(l->n, 2);
    assert_true(l->imported_at_ms == 1700000000000);

    /* Again: nothing changes, no audit entry. */
    assert_int_equal(store_exec(f->s, import_fn, &a), 0);
    assert_int_equal(a.res.added, 0);
    assert_int_equal(a.res.changed, 0);
    assert_int_equal(a.res.unchanged, 4);
    assert_int_equal(audit_count(f->s), 1);

    /* One value differs, one row is new. */
    v[1].value = 0.35;
    v[3] = mk("rep.b", 0, "2026-01", "win_rate", 0.1);
    assert_int_equal(store_exec(f->s, import_fn, &a), 0);
    assert_int_equal(a.res.added, 1);
    assert_int_equal(a.res.changed, 1);
    assert_int_equal(a.res.unchanged, 2);
    assert_int_equal(audit_count(f->s), 2);
    list(f->s, l, NULL, 0, day_of(2030, 1, 1));
    assert_int_equal(l->n, 5);
    has(l->text, "rep.a/0/2026-02/win_rate=0.35;");
    free(l);
}

static void test_import_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    Coachq__V1__Outcome v[3], *rows[3];
    struct import_arg a;
    struct list_arg *l = calloc(1, sizeof(*l));

    assert_non_null(l);
    add_people(f->s);
    v[0] = mk("rep.a", 0, "2026-01", "win_rate", 0.2);
    v[1] = mk("rep.b", 0, "2026-01", "win_rate", 0.3);
    v[2] = mk("rep.zz", 0, "2026-01", "win_rate", 0.4);
    for (int i = 0; i < 3; i++) {
        rows[i] = &v[i];
    }
    memset(&a, 0, sizeof(a));
    a.rows = rows;
    a.n = 3;
    assert_int_equal(store_exec(f->s, import_fn, &a), -EINVAL);
    assert_string_equal(a.fault.field, "outcomes[2].subject_id");
    has(a.fault.message, "rep.zz");
    list(f->s, l, NULL, 0, day_of(2030, 1, 1));
    assert_int_equal(l->n, 0);
    assert_int_equal(audit_count(f->s), 0);

    /* A bad field further on also stops it. */
    v[2] = mk("rep.a", 0, "2026-02", "win_rate", 4);
    assert_int_equal(store_exec(f->s, import_fn, &a), -EINVAL);
    assert_string_equal(a.fault.field, "outcomes[2].value");
    /* The same key twice in one request. */
    v[2] = mk("rep.a", 0, "2026-01", "win_rate", 0.9);
    assert_int_equal(store_exec(f->s, import_fn, &a), -EINVAL);
    assert_string_equal(a.fault.field, "outcomes[2]");
    has(a.fault.message, "outcomes[0]");
    list(f->s, l, NULL, 0, day_of(2030, 1, 1));
    assert_int_equal(l->n, 0);
    /* Once fixed, it goes in. */
    v[2] = mk("rep.a", 1, "2026-01", "win_rate", 0.9);
    assert_int_equal(store_exec(f->s, import_fn, &a), 0);
    assert_int_equal(a.res.added, 3);
    free(l);
}

static void test_fault_col(void **state)
{
    size_t row = 0;

    (void)state;
    assert_int_equal(outcomes_fault_col("outcomes[12].value", &row), OUTCOMES_COL_VALUE);
    assert_int_equal(row, 12);
    assert_int_equal(outcomes_fault_col("outcomes[0].subject_id", &row), OUTCOMES_COL_SUBJECT);
    assert_int_equal(row, 0);
    row = 99;
    assert_int_equal(outcomes_fault_col("outcomes[4]", &row), -1);
    assert_int_equal(row, 4);
    assert_int_equal(outcomes_fault_col("outcomes[x].value", &row), -1);
    assert_int_equal(outcomes_fault_col("observation.value", &row), -1);
    assert_int_equal(outcomes_fault_col(NULL, &row), -1);
}

/* ---- coachqd import outcomes -------------------------------------------- */

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

static void test_cli(void **state)
{
    struct fixture *f = *state;
    char data[600], csv[600], people[600], want[800];
    char *out = malloc(OUT_MAX);

    assert_non_null(out);
    snprintf(data, sizeof(data), "%s/data", f->dir);
    snprintf(csv, sizeof(csv), "%s/o.csv", f->dir);
    snprintf(people, sizeof(people), "%s/org.csv", testutil_fixtures());
    testutil_coachqd(out, OUT_MAX, 0, "init", "--data", data, NULL);
    testutil_coachqd(out, OUT_MAX, 0, "import", "people", "--data", data, people, NULL);

    write_text(csv, "subject_id,team,period,metric,value\n"
                    "rep.ida,,2026-01,win_rate,0.31\n"
                    "rep.ida,,2026-01,pipeline_coverage,3.2\n"
                    "flm.cara,yes,2026-Q1,quota_attainment,0.97\n"
                    "flm.cara,no,2026-01,sessions_held,11\n");
    testutil_coachqd(out, OUT_MAX, 0, "import", "outcomes", "--data", data, csv, NULL);
    has(out, "outcomes: 4 rows; 4 added, 0 changed, 0 unchanged");
    /* Idempotent. */
    testutil_coachqd(out, OUT_MAX, 0, "import", "outcomes", "--data", data, csv, NULL);
    has(out, "outcomes: 4 rows; 0 added, 0 changed, 4 unchanged");

    /* A dry run counts a change and writes nothing. */
    write_text(csv, "subject_id,team,period,metric,value\n"
                    "rep.ida,,2026-01,win_rate,0.4\n"
                    "rep.ida,,2026-02,win_rate,0.5\n");
    testutil_coachqd(out, OUT_MAX, 0, "import", "outcomes", "--data", data, csv, "--dry-run", NULL);
    has(out, "dry run, nothing written: outcomes: 2 rows; 1 added, 1 changed, 0 unchanged");
    testutil_coachqd(out, OUT_MAX, 0, "import", "outcomes", "--data", data, csv, NULL);
    has(out, "outcomes: 2 rows; 1 added, 1 changed, 0 unchanged");

    /* A bad row at line 4: nothing goes in. */
    write_text(csv, "subject_id,team,period,metric,value\n"
                    "rep.jon,,2026-01,win_rate,0.2\n"
                    "rep.jon,,2026-02,win_rate,0.2\n"
                    "rep.jon,,2026-03,win_rate,20%\n");
    testutil_coachqd(out, OUT_MAX, 1, "import", "outcomes", "--data", data, csv, NULL);
    snprintf(want, sizeof(want), "%s:4:27: value '20%%' is not a number", csv);
    has(out, want);
    has(out, "nothing imported: 1 error");
    /* An unknown subject at line 3, column 1; every one is reported. */
    write_text(csv, "subject_id,team,period,metric,value\n"
                    "rep.jon,,2026-01,win_rate,0.2\n"
                    "rep.nobody,,2026-01,win_rate,0.2\n"
                    "team,yes,2026-01,win_rate,0.2\n");
    testutil_coachqd(out, OUT_MAX, 1, "import", "outcomes", "--data", data, csv, NULL);
    snprintf(want, sizeof(want), "%s:3:1: subject_id 'rep.nobody' is nobody in the store", csv);
    has(out, want);
    snprintf(want, sizeof(want), "%s:4:1: subject_id 'team'", csv);
    has(out, want);
    has(out, "nothing imported: 2 errors");
    /* rep.jon's first row did not go in: importing the good rows adds it. */
    write_text(csv, "subject_id,team,period,metric,value\n"
                    "rep.jon,,2026-01,win_rate,0.2\n");
    testutil_coachqd(out, OUT_MAX, 0, "import", "outcomes", "--data", data, csv, NULL);
    has(out, "1 added");

    /* A missing file; a usage error. */
    snprintf(want, sizeof(want), "%s/none.csv", f->dir);
    testutil_coachqd(out, OUT_MAX, 1, "import", "outcomes", "--data", data, want, NULL);
    has(out, "cannot read");
    testutil_coachqd(out, OUT_MAX, 2, "import", "outcomes", "--data", data, NULL);

    /* Three imports changed something: three audit entries. */
    testutil_coachqd(out, OUT_MAX, 0, "audit", "--data", data, NULL);
    {
        size_t k = 0;

        for (const char *p = out; (p = strstr(p, "import.outcomes")) != NULL; p++) {
            k++;
        }
        assert_int_equal(k, 3);
    }
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_parse),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_fault_col),
        cmocka_unit_test_setup_teardown(test_put_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_put_readonly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_subjects, setup, teardown),
        cmocka_unit_test(test_csv_good),
        cmocka_unit_test(test_csv_errors),
        cmocka_unit_test(test_csv_too_many),
        cmocka_unit_test_setup_teardown(test_import_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
