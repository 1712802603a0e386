/* Tests of cadence and commitment (issue 14, section 2): `coachqd import
 * sessions` and `coachqd commitment` run as the real binary on a real
 * store, and the cadence tables of "My managers" and "My coaching" built
 * from that store, against figures worked out by hand and, on random
 * data, against numpy. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "client.h"
#include "day.h"
#include "cadence.h"
#include "dash.h"
#include "dashfmt.h"
#include "people.h"
#include "store.h"
#include "testutil.h"

/* "Today": Wednesday 2024-06-12 (day 19886). The 12-week window runs from
 * Monday 2024-03-25 (day 19807) to today: 80 days. */
#define TODAY 19886
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)
#define FROM 19807
#define MONTHS (80.0 / 30.4375)
#define WEEKS (80.0 / 7.0)
#define OUT_MAX 16384

#define K_MY_MANAGERS COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS
#define K_MY_COACHING COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING

struct fx {
    char dir[512];
    char data[600];
    char out[OUT_MAX];
    char err[OUT_MAX];
};

static const char people_csv[] = "id,name,email,role,manager_id,effective_date\n"
                                 "slm,Sam Second,,second_level_manager,,\n"
                                 "slm2,Sue Other,,second_level_manager,,\n"
                                 "fa,Ann Front,,front_line_manager,slm,2024-01-01\n"
                                 "fb,Ben Front,,front_line_manager,slm,2024-01-01\n"
                                 "fc,Cat Front,,front_line_manager,slm,2024-01-01\n"
                                 "fz,Zed Front,,front_line_manager,slm2,2024-01-01\n"
                                 "ra1,Rep A1,,,fa,2024-01-01\n"
                                 "ra2,Rep A2,,,fa,2024-01-01\n"
                                 "ra3,Rep A3,,,fa,2024-01-01\n"
                                 "rb1,Rep B1,,,fb,2024-01-01\n"
                                 "rc1,Rep C1,,,fc,2024-01-01\n"
                                 "rz1,Rep Z1,,,fz,2024-01-01\n"
                                 "obs,Olga Observer,,observer,,\n"
                                 "lead,Lee Lead,,enablement_lead,,\n";

#define expect_exit(f, code, ...)                                                                  \
    do {                                                                                           \
        int got_ = testutil_coachqd_in((f)->dir, (f)->out, sizeof((f)->out), (f)->err,             \
                                       sizeof((f)->err), __VA_ARGS__, (const char *)NULL);         \
        if (got_ != (code)) {                                                                      \
            fail_msg("exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", got_, (code), (f)->out,     \
                     (f)->err);                                                                    \
        }                                                                                          \
    } while (0)

static void contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        fail_msg("expected to find \"%s\" in:\n%s", needle, hay);
    }
}

static void lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle) != NULL) {
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
    }
}

static void write_file(struct fx *f, const char *name, const char *text)
{
    char path[700];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* Submits one observation of coach with coachee starting at at (seconds
 * since the epoch), every behaviour scored v (2 or 3), observed by obs. */
static void observe_at(struct store *s, const char *coach, const char *coachee, int64_t at,
                       uint32_t v)
{
    struct testutil_obs o;

    testutil_obs_make(&o, coach, coachee, at);
    for (size_t i = 0; i < 10; i++) {
        o.r[i].score = v;
    }
    assert_int_equal(testutil_store_submit(s, &o.o, "obs", NOW_S * 1000), 0);
}

/* As observe_at(), at hour o'clock UTC of day. */
static void observe(struct store *s, const char *coach, const char *coachee, int32_t day, int hour,
                    uint32_t v)
{
    observe_at(s, coach, coachee, (int64_t)day * 86400 + hour * 3600, v);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct store *s;

    assert_non_null(f);
    testutil_watchdog(240);
    testutil_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
    expect_exit(f, 0, "init");
    write_file(f, "people.csv", people_csv);
    expect_exit(f, 0, "import", "people", "people.csv");
    expect_exit(f, 0, "cert", "grant", "obs", "coaching-conversation", "--from", "2024-01-01",
                "--days", "3650");
    s = testutil_store_open(f->data, 0);
    /* fa (quality 3): ra1 on 03-28, 04-07 and twice on 06-06 (one
     * coaching day). fb (quality 2): rb1 on 05-17, 05-18, 05-19. fc
     * (quality 3): rc1 three times on 05-27 (one coaching day). */
    observe(s, "fa", "ra1", 19810, 8, 3);
    observe(s, "fa", "ra1", 19820, 9, 3);
    observe(s, "fa", "ra1", 19880, 10, 3);
    observe(s, "fa", "ra1", 19880, 14, 3);
    observe(s, "fb", "rb1", 19860, 9, 2);
    observe(s, "fb", "rb1", 19861, 9, 2);
    observe(s, "fb", "rb1", 19862, 9, 2);
    observe(s, "fc", "rc1", 19870, 8, 3);
    observe(s, "fc", "rc1", 19870, 10, 3);
    observe(s, "fc", "rc1", 19870, 12, 3);
    store_close(s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    testutil_rmrf(f->dir);
    free(f);
    return 0;
}

/* ---- Reading a dashboard ------------------------------------------------ */

static struct dash *build(struct store *s, const char *user, unsigned roles, int kind,
                          const char *subject, int expect_rc)
{
    struct testutil_dash_req q = {user, roles, kind, subject, NULL, 0, NULL, NOW_S};
    struct dash *d = NULL;
    struct validate_error fault;
    int rc = testutil_dash_build(s, &q, &d, &fault);

    if (rc != expect_rc) {
        fail_msg("dashboard: %d, expected %d (%s: %s)", rc, expect_rc, fault.field, fault.message);
    }
    return d;
}

static const Coachq__V1__Table *table(const struct dash *d, const char *id)
{
    const Coachq__V1__Dashboard *m = dash_message(d);

    for (size_t i = 0; i < m->n_tables; i++) {
        if (strcmp(m->tables[i]->id, id) == 0) {
            return m->tables[i];
        }
    }
    fail_msg("no table %s", id);
    return NULL;
}

static const Coachq__V1__Cell *cell(const Coachq__V1__Table *t, const char *first, const char *col)
{
    size_t c = t->n_columns;

    for (size_t i = 0; i < t->n_columns; i++) {
        if (strcmp(t->columns[i], col) == 0) {
            c = i;
        }
    }
    assert_true(c < t->n_columns);
    for (size_t i = 0; i < t->n_rows; i++) {
        if (first == NULL || strcmp(t->rows[i]->cells[0]->text, first) == 0) {
            return t->rows[i]->cells[c];
        }
    }
    fail_msg("no row %s in %s", first != NULL ? first : "(first)", t->id);
    return NULL;
}

static int has_row(const Coachq__V1__Table *t, const char *first)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(t->rows[i]->cells[0]->text, first) == 0) {
            return 1;
        }
    }
    return 0;
}

static void assert_value(const Coachq__V1__Cell *c, double v)
{
    assert_true(c->has_value);
    if (fabs(c->value - v) > 1e-9) {
        fail_msg("cell %s: value %.12g, expected %.12g", c->text, c->value, v);
    }
}

/* ---- The import ---------------------------------------------------------- */

static void import_good(struct fx *f)
{
    write_file(f, "held.csv",
               "coach_id,coachee_id,date,minutes\n"
               "fa,ra1,2024-04-07,45\n" /* the day of an observed session: counted once */
               "fa,ra1,2024-05-07,30\n"
               "fa,ra2,2024-03-30,60\n");
    expect_exit(f, 0, "import", "sessions", "held.csv");
    contains(f->out, "sessions: 3 rows; 3 sessions held added");
}

static void test_import_errors(void **state)
{
    struct fx *f = *state;

    /* Every kind of bad row in one file: nothing is imported, every error
     * names FILE:LINE:COL. */
    write_file(f, "bad.csv",
               "coachee_id,coach_id,date,minutes\n"
               "ra1,fa,2024-04-01,30\n"    /* 2: good */
               "ghost,fa,2024-04-01,30\n"  /* 3: unknown coachee */
               "ra1,nobody,2024-04-02,\n"  /* 4: unknown coach */
               "rb1,fa,2024-04-03,30\n"    /* 5: not in fa's line */
               "ra1,fa,2099-01-01,30\n"    /* 6: future */
               "ra1,fa,2024-04-01,20\n"    /* 7: duplicate of line 2 */
               "ra1,fa,2024-04-31,20\n"    /* 8: no such date */
               "ra1,fa,2024-04-09,abc\n"   /* 9: minutes */
               "ra1,ra1,2024-04-10,10\n"); /* 10: oneself */
    expect_exit(f, 1, "import", "sessions", "bad.csv");
    contains(f->err, "bad.csv:3:1: coachee_id 'ghost' is not in the store");
    contains(f->err, "bad.csv:4:5: coach_id 'nobody' is not in the store");
    contains(f->err, "bad.csv:5:1: coachee_id 'rb1' did not report to 'fa' on 2024-04-03");
    contains(f->err, "bad.csv:6:8: date '2099-01-01' is in the future");
    contains(f->err, "bad.csv:7:8: duplicate: 'fa' coaching 'ra1' on 2024-04-01 is already on "
                     "line 2");
    contains(f->err, "bad.csv:8:8: date");
    contains(f->err, "bad.csv:9:19: minutes 'abc'");
    contains(f->err, "bad.csv:10:1: coachee_id 'ra1' is the coach");
    contains(f->err, "nothing imported");
    expect_exit(f, 0, "audit");
    lacks(f->out, "import.sessions");

    /* A dry run writes nothing: the good file then goes in once, and the
     * same rows again are duplicates of what is stored. */
    write_file(f, "held.csv", "coach_id,coachee_id,date\nfa,ra1,2024-04-07\n");
    expect_exit(f, 0, "import", "sessions", "held.csv", "--dry-run");
    contains(f->out, "dry run, nothing written: sessions: 1 rows; 1 sessions held added");
    import_good(f);
    expect_exit(f, 1, "import", "sessions", "held.csv");
    contains(f->err, "held.csv:2:");
    contains(f->err, "is already imported");
    expect_exit(f, 0, "audit");
    contains(f->out, "import.sessions");
    /* Usage and help. */
    expect_exit(f, 2, "import", "sessions");
    expect_exit(f, 0, "import", "sessions", "--help");
    contains(f->out, "coach_id");
    expect_exit(f, 1, "import", "sessions", "missing.csv");
}

/*
 * "In the future" is judged on the coach's local day, as a session's date
 * is: with the organisation's zone far from UTC, the UTC day and the local
 * day differ at the moment the test runs. Ahead of UTC (Kiritimati, +14,
 * chosen from 11:00 UTC on: 01:00 or later there, the next day), the local
 * today is the UTC tomorrow and goes in; behind it (Etc/GMT+12, -12,
 * before 11:00 UTC: 22:59 or earlier there, the day before), the UTC today
 * is tomorrow there and is refused. Each side is an hour or more from the
 * next local midnight.
 */
static void test_import_local_today(void **state)
{
    struct fx *f = *state;
    int64_t now = (int64_t)time(NULL);
    int32_t utc = (int32_t)(now / 86400);
    int ahead = (now % 86400) / 3600 >= 11;
    int32_t local = ahead ? utc + 1 : utc - 1;
    char d_local[16], d_next[16], d_utc[16], csv[256];

    day_format(local, d_local, sizeof(d_local));
    day_format(local + 1, d_next, sizeof(d_next));
    day_format(utc, d_utc, sizeof(d_utc));
    expect_exit(f, 0, "org", "--time-zone", ahead ? "Pacific/Kiritimati" : "Etc/GMT+12");

    /* The local tomorrow is refused, naming its cell. */
    snprintf(csv, sizeof(csv), "coach_id,coachee_id,date\nfa,ra1,%s\n", d_next);
    write_file(f, "next.csv", csv);
    expect_exit(f, 1, "import", "sessions", "next.csv");
    contains(f->err, "next.csv:2:8: date");
    contains(f->err, "is in the future");
    /* The local today goes in. */
    snprintf(csv, sizeof(csv), "coach_id,coachee_id,date\nfa,ra1,%s\n", d_local);
    write_file(f, "today.csv", csv);
    expect_exit(f, 0, "import", "sessions", "today.csv");
    contains(f->out, "1 sessions held added");
    /* The UTC day: tomorrow where the coach is behind UTC (refused), the
     * day before where they are ahead (in). */
    snprintf(csv, sizeof(csv), "coach_id,coachee_id,date\nfa,ra2,%s\n", d_utc);
    write_file(f, "utc.csv", csv);
    expect_exit(f, ahead ? 0 : 1, "import", "sessions", "utc.csv");
    if (!ahead) {
        contains(f->err, "is in the future");
    }
    /* A coach with a zone of their own is judged by it: fb in UTC. */
    expect_exit(f, 0, "user", "zone", "fb", "UTC");
    snprintf(csv, sizeof(csv), "coach_id,coachee_id,date\nfb,rb1,%s\n", ahead ? d_local : d_utc);
    write_file(f, "own.csv", csv);
    expect_exit(f, ahead ? 1 : 0, "import", "sessions", "own.csv");
}

static void test_commitment_verbs(void **state)
{
    struct fx *f = *state;

    expect_exit(f, 0, "commitment", "list");
    contains(f->out, "no commitment is set");
    expect_exit(f, 2, "commitment", "set", "--org");
    expect_exit(f, 2, "commitment", "set", "--minutes-per-week", "30");
    expect_exit(f, 2, "commitment", "set", "--org", "--minutes-per-week", "30", "--every-weeks",
                "1");
    expect_exit(f, 2, "commitment", "set", "--org", "--minutes-per-week", "0");
    expect_exit(f, 2, "commitment", "set", "--org", "--every-weeks", "53");
    expect_exit(f, 1, "commitment", "set", "--programme", "nope", "--every-weeks", "2");
    contains(f->err, "no programme 'nope'");
    expect_exit(f, 1, "commitment", "clear", "--org");
    expect_exit(f, 0, "commitment", "set", "--org", "--every-weeks", "2");
    contains(f->out, "organisation: every rep every 2 weeks");
    expect_exit(f, 0, "commitment", "set", "--org", "--every-weeks", "2");
    contains(f->out, "(unchanged)");
    expect_exit(f, 0, "commitment", "list");
    contains(f->out, "every rep every 2 weeks");
    expect_exit(f, 0, "audit");
    contains(f->out, "commitment.set");
    expect_exit(f, 0, "commitment", "clear", "--org");
    expect_exit(f, 0, "commitment", "list");
    contains(f->out, "no commitment is set");
    expect_exit(f, 0, "audit");
    contains(f->out, "commitment.clear");
}

/* ---- Figures by hand ------------------------------------------------------ */

static void test_figures(void **state)
{
    struct fx *f = *state;
    struct store *s;
    struct dash *d;
    const Coachq__V1__Table *t;
    struct buf b;

    import_good(f);
    write_file(f, "prog.csv",
               "programme_id,programme_name,cohort_id,cohort_start,person_id,module,"
               "attended_on,completed_on\n"
               "p1,Coaching,c1,2024-01-01,fb,,,\n");
    expect_exit(f, 0, "import", "programme", "prog.csv");
    expect_exit(f, 0, "commitment", "set", "--org", "--every-weeks", "2");
    expect_exit(f, 0, "commitment", "set", "--programme", "p1", "--minutes-per-week", "5");

    s = testutil_store_open(f->data, 0);
    d = build(s, "slm", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "", 0);
    t = table(d, "cadence");
    /* fa: ra1 on 03-28 (observed), 04-07 (observed and held: one day),
     * 05-07 (held 30 min), 06-06 (two observed sessions: one day); ra2 on
     * 03-30 (held 60); ra3 never. 5 days, 3 reps; gaps 10, 30, 30; ra2 and
     * ra3 not in the last 4 weeks. Minutes: four observed sessions of 30
     * (the aggregates' time) and the held-only days' 30 and 60: 210 (the
     * held 45 of 04-07 is a day already observed). */
    assert_value(cell(t, "Ann Front", "Reps"), 3);
    assert_value(cell(t, "Ann Front", "Sessions per rep per month"), 5.0 / 3.0 / MONTHS);
    assert_value(cell(t, "Ann Front", "Median gap (days)"), 30);
    assert_int_equal(cell(t, "Ann Front", "Median gap (days)")->n, 3);
    assert_value(cell(t, "Ann Front", "Longest gap (days)"), 30);
    assert_value(cell(t, "Ann Front", "Reps not coached in 4 weeks"), 2);
    assert_value(cell(t, "Ann Front", "Minutes per week"), llround(210.0 / WEEKS));
    /* The organisation's "every 2 weeks": only ra1 in the last 14 days. */
    contains(cell(t, "Ann Front", "Commitment (input)")->text,
             "every rep every 2 weeks: not met (33% of reps in time)");
    /* fb's programme sets 5 minutes a week: 90 minutes in 80 days. */
    contains(cell(t, "Ben Front", "Commitment (input)")->text,
             "5 minutes a week per manager: met (8)");
    /* fc: three observations on one day are one coaching day. */
    assert_value(cell(t, "Cat Front", "Sessions per rep per month"), 1.0 / MONTHS);
    assert_string_equal(cell(t, "Cat Front", "Longest gap (days)")->text, "no gap");
    /* Quality stays beside cadence, with its n. */
    assert_value(cell(t, "Ann Front", "Quality index"), 3);
    assert_int_equal(cell(t, "Ann Front", "Quality index")->n, 4);
    contains(t->note, "never instead of it");
    assert_false(has_row(t, "Zed Front")); /* slm2's line */

    /* The third dimension: cadence medians 1/MONTHS .. 3/MONTHS: fb (3
     * days, 1 rep) is above the median cadence (fa's 5/3) and below the
     * median quality (3): quantity without quality. */
    t = table(d, "quantity-without-quality");
    assert_string_equal(cell(t, "Ben Front", "Quantity without quality")->text, "yes");
    assert_string_equal(cell(t, "Ann Front", "Quantity without quality")->text, "no");
    assert_string_equal(cell(t, "Cat Front", "Quantity without quality")->text, "no");
    /* The cadence's text is printf's "%.2f" of its value. */
    {
        char want[32];

        snprintf(want, sizeof(want), "%.2f", 3.0 / MONTHS);
        assert_string_equal(cell(t, "Ben Front", "Sessions per rep per month")->text, want);
    }

    /* Every format carries the tables. */
    buf_init(&b, 1u << 22);
    assert_int_equal(dashfmt_json(dash_message(d), &b), 0);
    assert_int_equal(dashfmt_text(dash_message(d), 120, &b), 0);
    assert_int_equal(dashfmt_csv(table(d, "cadence"), &b), 0);
    assert_int_equal(buf_append(&b, "", 1), 0);
    contains((const char *)b.data, "\"quantity-without-quality\"");
    contains((const char *)b.data, "Quantity without quality");
    contains((const char *)b.data, "Reps not coached in 4 weeks");
    buf_free(&b);
    dash_free(d);

    /* My coaching: fa's own figures and per rep. */
    d = build(s, "fa", AUTH_FRONT_LINE, K_MY_COACHING, "", 0);
    t = table(d, "my-cadence");
    assert_value(cell(t, NULL, "Sessions per rep per month"), 5.0 / 3.0 / MONTHS);
    assert_value(cell(t, NULL, "Quality index"), 3);
    t = table(d, "my-cadence-reps");
    assert_int_equal(t->n_rows, 3);
    assert_value(cell(t, "Rep A1", "Coaching days"), 4);
    assert_string_equal(cell(t, "Rep A1", "Last coached")->text, "2024-06-06");
    assert_value(cell(t, "Rep A1", "Median gap (days)"), 30);
    assert_string_equal(cell(t, "Rep A1", "Not coached in 4 weeks")->text, "no");
    assert_value(cell(t, "Rep A2", "Coaching days"), 1);
    assert_string_equal(cell(t, "Rep A2", "Not coached in 4 weeks")->text, "yes");
    assert_string_equal(cell(t, "Rep A3", "Last coached")->text, "not in the window");
    dash_free(d);

    /* Privacy: a rep's cadence reaches nobody outside their line. A peer
     * front-line manager and another line's second-level manager are
     * refused fa's page; slm2's own page has none of slm's reps. */
    assert_null(build(s, "fb", AUTH_FRONT_LINE, K_MY_COACHING, "fa", -ENOENT));
    assert_null(build(s, "slm2", AUTH_SECOND_LEVEL, K_MY_COACHING, "fa", -ENOENT));
    d = build(s, "slm2", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "", 0);
    t = table(d, "cadence");
    assert_false(has_row(t, "Ann Front"));
    assert_true(has_row(t, "Zed Front"));
    dash_free(d);
    store_close(s);
}

/* The observed minutes are read for the window's weeks, from the week of
 * FROM to today's: fb, besides its three sessions of 30 minutes in May, is
 * observed once on FROM (the window's first day), twice on Monday 06-10
 * (today's week) and once on Sunday 03-24 (the day before the window): 90
 * + 30 + 60 = 180 minutes in 80 days, 15.75 a week, shown as 16. A window
 * a week late gives 150 (13), a week early 150 (13), its start a week
 * early 210 (18), its end a week early 120 (11). fb's own My coaching
 * takes them from the weeks it read for its quality, the same weeks. */
static void test_minutes_window_edges(void **state)
{
    struct fx *f = *state;
    struct store *s = testutil_store_open(f->data, 0);
    struct dash *d;
    const Coachq__V1__Table *t;

    observe(s, "fb", "rb1", FROM - 1, 9, 2);
    observe(s, "fb", "rb1", FROM, 9, 2);
    observe(s, "fb", "rb1", TODAY - 2, 9, 2);
    observe(s, "fb", "rb1", TODAY - 2, 10, 2);
    d = build(s, "slm", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "", 0);
    t = table(d, "cadence");
    assert_value(cell(t, "Ben Front", "Minutes per week"), llround(180.0 / WEEKS));
    assert_value(cell(t, "Ben Front", "Minutes per week"), 16);
    dash_free(d);
    d = build(s, "fb", AUTH_FRONT_LINE, K_MY_COACHING, "", 0);
    assert_value(cell(table(d, "my-cadence"), NULL, "Minutes per week"), 16);
    dash_free(d);
    store_close(s);
}

/* Days read for the commitment only, before the 12-week window: with
 * "every rep every W weeks" the days are read from 7 W days back. ra3's
 * only session, ten days before the window, puts ra3 in time for the
 * commitment but is no coaching day of the window, no "last coached" and
 * no gap; fa's days stay ra1's three (the window's own). weeks is "20" or
 * "26"; text is the commitment's cell as the page words it. */
static void days_before_window(struct fx *f, const char *weeks, const char *text)
{
    struct store *s;
    struct dash *d;
    const Coachq__V1__Table *t;

    expect_exit(f, 0, "commitment", "set", "--org", "--every-weeks", weeks);
    s = testutil_store_open(f->data, 0);
    observe(s, "fa", "ra3", FROM - 10, 9, 3);
    d = build(s, "slm", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "", 0);
    t = table(d, "cadence");
    assert_value(cell(t, "Ann Front", "Sessions per rep per month"), 3.0 / 3.0 / MONTHS);
    /* ra1's two gaps (10 and 60 days): too few for a median's value. */
    assert_int_equal(cell(t, "Ann Front", "Median gap (days)")->n, 2);
    assert_value(cell(t, "Ann Front", "Longest gap (days)"), 60);
    assert_value(cell(t, "Ann Front", "Reps not coached in 4 weeks"), 2);
    contains(cell(t, "Ann Front", "Commitment (input)")->text, text);
    dash_free(d);
    d = build(s, "fa", AUTH_FRONT_LINE, K_MY_COACHING, "", 0);
    assert_value(cell(table(d, "my-cadence"), NULL, "Sessions per rep per month"),
                 3.0 / 3.0 / MONTHS);
    t = table(d, "my-cadence-reps");
    assert_value(cell(t, "Rep A3", "Coaching days"), 0);
    assert_string_equal(cell(t, "Rep A3", "Last coached")->text, "not in the window");
    assert_int_equal(cell(t, "Rep A3", "Median gap (days)")->n, 0);
    assert_false(cell(t, "Rep A3", "Median gap (days)")->has_value);
    assert_string_equal(cell(t, "Rep A3", "Longest gap (days)")->text, "no gap");
    assert_string_equal(cell(t, "Rep A3", "Not coached in 4 weeks")->text, "yes");
    assert_value(cell(t, "Rep A1", "Coaching days"), 3);
    assert_string_equal(cell(t, "Rep A1", "Last coached")->text, "2024-06-06");
    dash_free(d);
    store_close(s);
}

/* Every 20 weeks: the days are read from 140 days back, the window's first
 * day in the bitmap's first word. */
static void test_days_before_window(void **state)
{
    days_before_window(*state, "20", "every rep every 20 weeks: not met (67% of reps in time)");
}

/* Every 26 weeks: the days are read from 182 days back (day 19705), so the
 * window's first day is bit 102, in word 1, and ra3's session (bit 92, 89
 * days before today) is in the same word. Counting that word unmasked would
 * give fa four days and ra3 one. */
static void test_days_before_window_past_word0(void **state)
{
    days_before_window(*state, "26", "every rep every 26 weeks: not met (67% of reps in time)");
}

/* A day read for the commitment only, in the bitmap's first word beside
 * the window's first day (every 20 weeks: the window starts at bit 60),
 * is no end of a gap: ra3's sessions ten days before the window and two
 * days into it leave one coaching day in the window and no gap, on My
 * coaching and My managers (where fa's longest gap stays ra1's 60). */
static void test_gap_not_from_before_window(void **state)
{
    struct fx *f = *state;
    struct store *s;
    struct dash *d;
    const Coachq__V1__Table *t;

    expect_exit(f, 0, "commitment", "set", "--org", "--every-weeks", "20");
    s = testutil_store_open(f->data, 0);
    observe(s, "fa", "ra3", FROM - 10, 9, 3);
    observe(s, "fa", "ra3", FROM + 2, 9, 3);
    d = build(s, "fa", AUTH_FRONT_LINE, K_MY_COACHING, "", 0);
    t = table(d, "my-cadence-reps");
    assert_value(cell(t, "Rep A3", "Coaching days"), 1);
    assert_string_equal(cell(t, "Rep A3", "Longest gap (days)")->text, "no gap");
    assert_int_equal(cell(t, "Rep A3", "Median gap (days)")->n, 0);
    dash_free(d);
    d = build(s, "slm", AUTH_SECOND_LEVEL, K_MY_MANAGERS, "", 0);
    t = table(d, "cadence");
    assert_int_equal(cell(t, "Ann Front", "Median gap (days)")->n, 2);
    assert_value(cell(t, "Ann Front", "Longest gap (days)"), 60);
    dash_free(d);
    store_close(s);
}

/* A rep's days read for two coaches. */
struct pair_read {
    const char *coach[2];
    struct cadence_day days[2][64];
    size_t n[2];
};

static int move_ra1_txn(struct store_txn *t, void *arg)
{
    (void)arg;
    /* ra1 moves from fa to fb on 2024-05-01 and back to fa on 2024-06-08. */
    int rc = people_line_put(t, "ra1", "fb", 19844, NULL);

    return rc == 0 ? people_line_put(t, "ra1", "fa", 19882, NULL) : rc;
}

static int pair_read_txn(struct store_txn *t, void *arg)
{
    struct pair_read *pr = arg;
    int rc = 0;

    for (int i = 0; i < 2 && rc == 0; i++) {
        rc = cadence_pair_days(t, pr->coach[i], "ra1", FROM, TODAY, pr->days[i], 64, &pr->n[i],
                               NULL);
        if (rc == 0) {
            /* The bitmap My managers reads: the same days, and the
             * imported minutes of the days with no observed session. */
            testutil_cadence_bits_check(t, pr->coach[i], "ra1", FROM, TODAY);
        }
    }
    return rc;
}

/* A rep who changed lines in the window: each observed day counts for the
 * manager the rep reported to on that day, read from the rep's lines
 * (fa's 06-06 sessions fall in fb's span once the move is back-dated), and
 * a span that ends and starts again is read as two. Imported rows stay
 * with the coach they were imported for. */
static void test_pair_days_line_change(void **state)
{
    struct fx *f = *state;
    struct pair_read pr = {{"fa", "fb"}, {{{0}}}, {0, 0}};
    struct store *s = testutil_store_open(f->data, 0);

    observe(s, "fa", "ra1", 19883, 9, 3); /* 06-09: fa's again */
    import_good(f);
    assert_int_equal(store_exec(s, move_ra1_txn, NULL), 0);
    assert_int_equal(store_view(s, pair_read_txn, &pr), 0);
    /* fa: observed 03-28 and 04-07 (also held), held 05-07 (imported for
     * fa), observed 06-09; fb: observed 06-06 (in fb's span). */
    assert_int_equal(pr.n[0], 4);
    assert_int_equal(pr.days[0][0].day, 19810);
    assert_int_equal(pr.days[0][1].day, 19820);
    assert_true(pr.days[0][1].observed && pr.days[0][1].held);
    assert_int_equal(pr.days[0][1].minutes, 45);
    assert_int_equal(pr.days[0][2].day, 19850);
    assert_true(pr.days[0][2].held && !pr.days[0][2].observed);
    assert_int_equal(pr.days[0][3].day, 19883);
    assert_int_equal(pr.n[1], 1);
    assert_int_equal(pr.days[1][0].day, 19880);
    assert_true(pr.days[1][0].observed);
    store_close(s);
}

/* An erased rep's sessions held stay under the pseudonym: the manager's
 * figures are unchanged and the rep's id is in no key. */
static void test_erase(void **state)
{
    struct fx *f = *state;
    struct store *s;
    struct dash *d;
    const Coachq__V1__Table *t;

    import_good(f);
    expect_exit(f, 0, "erase", "ra2");
    s = testutil_store_open(f->data, 0);
    d = build(s, "fa", AUTH_FRONT_LINE, K_MY_COACHING, "", 0);
    t = table(d, "my-cadence");
    assert_value(cell(t, NULL, "Sessions per rep per month"), 5.0 / 3.0 / MONTHS);
    t = table(d, "my-cadence-reps");
    assert_false(has_row(t, "Rep A2"));
    assert_value(cell(t, "Erased person", "Coaching days"), 1);
    dash_free(d);
    store_close(s);
}

/* Days are the coach's local days: in Los Angeles (UTC-7 in April), five
 * sessions on two UTC days fall on four local days, and the scan's jump to
 * the next local midnight skips none of them. */
static void test_zone_days(void **state)
{
    struct fx *f = *state;
    struct store *s;
    struct dash *d;
    const Coachq__V1__Table *t;

    expect_exit(f, 0, "user", "zone", "fa", "America/Los_Angeles");
    s = testutil_store_open(f->data, 0);
    observe(s, "fa", "ra3", 19830, 5, 3);  /* 19829 22:00 local */
    observe(s, "fa", "ra3", 19830, 20, 3); /* 19830 13:00 */
    observe(s, "fa", "ra3", 19832, 6, 3);  /* 19831 23:00 */
    observe(s, "fa", "ra3", 19832, 8, 3);  /* 19832 01:00 */
    observe(s, "fa", "ra3", 19832, 9, 3);  /* 19832 02:00: the same local day */
    d = build(s, "fa", AUTH_FRONT_LINE, K_MY_COACHING, "", 0);
    t = table(d, "my-cadence-reps");
    assert_value(cell(t, "Rep A3", "Coaching days"), 4);
    assert_value(cell(t, "Rep A3", "Median gap (days)"), 1);
    assert_string_equal(cell(t, "Rep A3", "Last coached")->text, "2024-04-19");
    dash_free(d);
    store_close(s);
}

/* A day with more sessions than the scan steps over (32) before it seeks
 * to the next local midnight: 40 sessions of fa with ra3 on 04-19, then
 * one each on 04-20, 04-22 and 04-29. The days after the busy one are
 * still found: four coaching days, gaps 1, 2 and 7. */
static void test_many_sessions_one_day(void **state)
{
    struct fx *f = *state;
    struct store *s = testutil_store_open(f->data, 0);
    struct dash *d;
    const Coachq__V1__Table *t;

    for (int i = 0; i < 40; i++) {
        observe_at(s, "fa", "ra3", (int64_t)19832 * 86400 + 8 * 3600 + i * 300, 3);
    }
    observe(s, "fa", "ra3", 19833, 9, 3);
    observe(s, "fa", "ra3", 19835, 9, 3);
    observe(s, "fa", "ra3", 19842, 9, 3);
    d = build(s, "fa", AUTH_FRONT_LINE, K_MY_COACHING, "", 0);
    t = table(d, "my-cadence-reps");
    assert_value(cell(t, "Rep A3", "Coaching days"), 4);
    assert_value(cell(t, "Rep A3", "Median gap (days)"), 2);
    assert_int_equal(cell(t, "Rep A3", "Median gap (days)")->n, 3);
    assert_value(cell(t, "Rep A3", "Longest gap (days)"), 7);
    assert_string_equal(cell(t, "Rep A3", "Last coached")->text, "2024-04-29");
    dash_free(d);
    store_close(s);
}

/* ---- End to end: a real coachqd over TLS, the client and the JSON API ---- */

static const json_t *json_row(json_t *j, const char *table_id, const char *first)
{
    json_t *tables = json_object_get(j, "tables");

    for (size_t i = 0; i < json_array_size(tables); i++) {
        json_t *t = json_array_get(tables, i);
        json_t *rows;

        if (strcmp(json_string_value(json_object_get(t, "id")), table_id) != 0) {
            continue;
        }
        rows = json_object_get(t, "rows");
        for (size_t k = 0; k < json_array_size(rows); k++) {
            json_t *cells = json_array_get(rows, k);
            json_t *c0 = json_array_get(cells, 0);

            if (strcmp(json_string_value(json_object_get(c0, "text")), first) == 0) {
                return cells;
            }
        }
    }
    fail_msg("no row %s in table %s", first, table_id);
    return NULL;
}

static void test_end_to_end(void **state)
{
    struct fx *f = *state;
    struct testutil_server srv;
    struct testutil_obs o[2];
    Coachq__V1__Observation *obs[2];
    struct client_submit_result res[2];
    struct client *c;
    int64_t now = (int64_t)time(NULL);
    char server[64], ca[600], cert[600], key[600], csv[256], d3[16], d20[16];
    char *out = malloc(1u << 20);
    json_t *j;
    json_error_t jerr;
    const json_t *row;

    assert_non_null(out);
    snprintf(f->data, sizeof(f->data), "%s/org", f->dir);
    testutil_seed_org(f->data);
    testutil_server_start(&srv, f->data, NULL);
    snprintf(server, sizeof(server), "127.0.0.1:%d", srv.port);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    testutil_cert_path(cert, sizeof(cert), "users/flm.cara.crt");
    testutil_cert_path(key, sizeof(key), "users/flm.cara.key");

    /* Observed 3 and 10 days ago; held 3 days ago (the same day: once)
     * and 20 days ago: 3 coaching days of rep.ida, the last 3 days ago. */
    c = testutil_connect(&srv, "alice", 0);
    testutil_obs_make(&o[0], "flm.cara", "rep.ida", now - 3 * 86400);
    testutil_obs_make(&o[1], "flm.cara", "rep.ida", now - 10 * 86400);
    obs[0] = &o[0].o;
    obs[1] = &o[1].o;
    memset(res, 0, sizeof(res));
    assert_int_equal(client_submit_many(c, obs, 2, res, NULL, NULL), 0);
    assert_int_equal(res[0].err.code, COACHQ__V1__CODE__OK);
    assert_int_equal(res[1].err.code, COACHQ__V1__CODE__OK);
    client_free(c);
    day_format((now - 3 * 86400) / 86400, d3, sizeof(d3));
    day_format((now - 20 * 86400) / 86400, d20, sizeof(d20));
    snprintf(csv, sizeof(csv),
             "coach_id,coachee_id,date,minutes\nflm.cara,rep.ida,%s,40\nflm.cara,rep.ida,%s,\n", d3,
             d20);
    write_file(f, "held.csv", csv);
    expect_exit(f, 0, "import", "sessions", "held.csv", "--data", f->data);

    testutil_coachq(out, 1u << 20, 2, "--server", server, "--cert", cert, "--key", key, "--ca", ca,
                    "dashboard", "me", "--not-coached-weeks", "0", NULL);
    contains(out, "--not-coached-weeks");
    testutil_coachq(out, 1u << 20, 0, "--server", server, "--cert", cert, "--key", key, "--ca", ca,
                    "dashboard", "me", "--json", "--not-coached-weeks", "1", NULL);
    j = json_loads(out, 0, &jerr);
    if (j == NULL) {
        fail_msg("not JSON (%s): %s", jerr.text, out);
    }
    row = json_row(j, "my-cadence-reps", "Ida Park");
    assert_int_equal(json_number_value(json_object_get(json_array_get(row, 1), "value")), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(row, 2), "text")), d3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(row, 5), "text")), "no");
    contains(out, "Not coached in 1 weeks");
    json_decref(j);
    testutil_coachq(out, 1u << 20, 0, "--server", server, "--cert", cert, "--key", key, "--ca", ca,
                    "dashboard", "me", "--csv", "my-cadence-reps", NULL);
    contains(out, "Ida Park");
    testutil_coachq(out, 1u << 20, 0, "--server", server, "--cert", cert, "--key", key, "--ca", ca,
                    "dashboard", "me", "--width", "160", NULL);
    contains(out, "Your coaching cadence");
    testutil_stop_clean(&srv);
    free(out);
}

/* The cadence days of rep (a row of flm.cara's "my-cadence-reps") on the
 * server, as flm.cara sees them through the real client. */
static int ida_days(const char *server, char *out, size_t outlen)
{
    char ca[600], cert[600], key[600];
    json_error_t jerr;
    const json_t *row;
    json_t *j;
    int n;

    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    testutil_cert_path(cert, sizeof(cert), "users/flm.cara.crt");
    testutil_cert_path(key, sizeof(key), "users/flm.cara.key");
    testutil_coachq(out, outlen, 0, "--server", server, "--cert", cert, "--key", key, "--ca", ca,
                    "dashboard", "me", "--json", NULL);
    j = json_loads(out, 0, &jerr);
    if (j == NULL) {
        fail_msg("not JSON (%s): %s", jerr.text, out);
    }
    row = json_row(j, "my-cadence-reps", "Ida Park");
    n = (int)json_number_value(json_object_get(json_array_get(row, 1), "value"));
    json_decref(j);
    return n;
}

/* `coachq sessions import` as user: the exit status it must end with, its
 * output (stdout and stderr) in out. */
static void sessions_import(const char *server, const char *user, int expect, char *out,
                            size_t outlen, const char *file, int dry_run)
{
    char ca[600], cert[600], key[600], c[80], k[80];

    snprintf(c, sizeof(c), "users/%s.crt", user);
    snprintf(k, sizeof(k), "users/%s.key", user);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    testutil_cert_path(cert, sizeof(cert), c);
    testutil_cert_path(key, sizeof(key), k);
    if (dry_run) {
        testutil_coachq(out, outlen, expect, "--server", server, "--cert", cert, "--key", key,
                        "--ca", ca, "sessions", "import", "--dry-run", file, NULL);
    } else {
        testutil_coachq(out, outlen, expect, "--server", server, "--cert", cert, "--key", key,
                        "--ca", ca, "sessions", "import", file, NULL);
    }
}

/* Sessions held imported through the protocol by the real client, over TLS
 * to a real coachqd: a good file shows on the dashboard; every bad file is
 * refused whole with its cells named as FILE:LINE:COL, and changes
 * nothing; a role that may not import is refused. */
static void test_protocol_import(void **state)
{
    struct fx *f = *state;
    struct testutil_server srv;
    int64_t now = (int64_t)time(NULL);
    char server[64], path[700], csv[512], d3[16], d8[16], d20[16], d30[16];
    char *out = malloc(1u << 20);
    char *big = malloc(100000);
    size_t len = 0;

    assert_non_null(out);
    assert_non_null(big);
    snprintf(f->data, sizeof(f->data), "%s/org", f->dir);
    testutil_seed_org(f->data);
    testutil_server_start(&srv, f->data, NULL);
    snprintf(server, sizeof(server), "127.0.0.1:%d", srv.port);
    day_format((int32_t)((now - 3 * 86400) / 86400), d3, sizeof(d3));
    day_format((int32_t)((now - 8 * 86400) / 86400), d8, sizeof(d8));
    day_format((int32_t)((now - 20 * 86400) / 86400), d20, sizeof(d20));
    day_format((int32_t)((now - 30 * 86400) / 86400), d30, sizeof(d30));
    assert_int_equal(ida_days(server, out, 1u << 20), 0);

    /* A good file: rep.ida twice with flm.cara, rep.jon with flm.dan. */
    snprintf(csv, sizeof(csv),
             "coach_id,coachee_id,date,minutes\nflm.cara,rep.ida,%s,40\nflm.cara,rep.ida,%s,\n"
             "flm.dan,rep.jon,%s,25\n",
             d3, d20, d8);
    write_file(f, "held.csv", csv);
    snprintf(path, sizeof(path), "%s/held.csv", f->dir);
    sessions_import(server, "lead.gil", 0, out, 1u << 20, path, 0);
    contains(out, "3 rows: 3 sessions held added");
    assert_int_equal(ida_days(server, out, 1u << 20), 2);

    /* A dry run checks and stores nothing. */
    snprintf(csv, sizeof(csv), "coach_id,coachee_id,date\nflm.cara,rep.ida,%s\n", d30);
    write_file(f, "dry.csv", csv);
    snprintf(path, sizeof(path), "%s/dry.csv", f->dir);
    sessions_import(server, "admin.hal", 0, out, 1u << 20, path, 1);
    contains(out, "dry run, nothing imported: 1 row; 1 session held would be added");
    assert_int_equal(ida_days(server, out, 1u << 20), 2);

    /* An unknown person beside a good row: neither is imported. */
    snprintf(csv, sizeof(csv),
             "coach_id,coachee_id,date\nflm.cara,rep.ida,%s\nflm.cara,ghost,%s\n"
             "nobody,rep.ida,%s\n",
             d30, d8, d8);
    write_file(f, "unknown.csv", csv);
    snprintf(path, sizeof(path), "%s/unknown.csv", f->dir);
    sessions_import(server, "lead.gil", 1, out, 1u << 20, path, 0);
    contains(out, "unknown.csv:3:10: coachee_id 'ghost' is not in the store");
    contains(out, "unknown.csv:4:1: coach_id 'nobody' is not in the store");
    contains(out, "nothing imported: 2 errors");
    assert_int_equal(ida_days(server, out, 1u << 20), 2);

    /* A bad date and a rep outside the coach's line. */
    snprintf(csv, sizeof(csv),
             "coach_id,coachee_id,date\nflm.cara,rep.ida,%s\nflm.cara,rep.ida,2024-02-30\n"
             "flm.cara,rep.jon,%s\n",
             d30, d8);
    write_file(f, "date.csv", csv);
    snprintf(path, sizeof(path), "%s/date.csv", f->dir);
    sessions_import(server, "lead.gil", 1, out, 1u << 20, path, 0);
    contains(out, "date.csv:3:18: date");
    contains(out, "date.csv:4:10: coachee_id 'rep.jon' did not report to 'flm.cara'");
    assert_int_equal(ida_days(server, out, 1u << 20), 2);

    /* Duplicates: the same file again, and a pair's day twice in one file. */
    snprintf(path, sizeof(path), "%s/held.csv", f->dir);
    sessions_import(server, "lead.gil", 1, out, 1u << 20, path, 0);
    contains(out, "held.csv:2:18: duplicate: 'flm.cara' coaching 'rep.ida' on");
    contains(out, "is already imported");
    snprintf(csv, sizeof(csv),
             "coach_id,coachee_id,date\nflm.cara,rep.ida,%s\nflm.cara,rep.ida,%s\n", d30, d30);
    write_file(f, "twice.csv", csv);
    snprintf(path, sizeof(path), "%s/twice.csv", f->dir);
    sessions_import(server, "lead.gil", 1, out, 1u << 20, path, 0);
    contains(out, "twice.csv:3:18: duplicate: 'flm.cara' coaching 'rep.ida' on");
    contains(out, "is already on line 2");
    assert_int_equal(ida_days(server, out, 1u << 20), 2);

    /* A file larger than the server's frame limit (64 KiB) is not sent. */
    len = (size_t)snprintf(big, 100000, "coach_id,coachee_id,date\n");
    while (len < 70000) {
        len += (size_t)snprintf(big + len, 100000 - len, "flm.cara,rep.ida,%s\n", d30);
    }
    write_file(f, "big.csv", big);
    snprintf(path, sizeof(path), "%s/big.csv", f->dir);
    sessions_import(server, "lead.gil", 1, out, 1u << 20, path, 0);
    contains(out, "split it into several files");
    contains(out, "nothing was imported");
    assert_int_equal(ida_days(server, out, 1u << 20), 2);

    /* Roles that may not import: a front-line manager, an observer. */
    snprintf(path, sizeof(path), "%s/dry.csv", f->dir);
    sessions_import(server, "flm.cara", 1, out, 1u << 20, path, 0);
    contains(out, "only enablement leads and administrators import sessions held");
    sessions_import(server, "obs.ann", 1, out, 1u << 20, path, 0);
    contains(out, "only enablement leads and administrators import sessions held");
    assert_int_equal(ida_days(server, out, 1u << 20), 2);

    /* Usage. */
    testutil_coachq(out, 1u << 20, 2, "sessions", NULL);
    contains(out, "sessions import");
    testutil_coachq(out, 1u << 20, 0, "sessions", "--help", NULL);
    contains(out, "coach_id,coachee_id,date[,minutes]");

    /* The import is audited under the importer's name. */
    testutil_coachqd(out, 1u << 20, 0, "audit", "--data", f->data, NULL);
    contains(out, "import.sessions");
    contains(out, "lead.gil");
    testutil_stop_clean(&srv);
    free(big);
    free(out);
}

/* ---- Against numpy on random data ------------------------------------------ */

#define REF_REPS 5
#define REF_ROUNDS 12

struct ref_org {
    int32_t days[REF_REPS][40];
    size_t n[REF_REPS];
};

static int ref_org_cb(struct store_txn *t, void *arg)
{
    struct ref_org *ro = arg;
    int rc =
        testutil_put_person(t, "fa", "Ann Front", COACHQ__V1__ROLE__ROLE_FRONT_LINE_MANAGER, NULL);

    if (rc == 0) {
        rc = testutil_put_rubric(t, "", 0);
    }
    for (size_t i = 0; i < REF_REPS && rc == 0; i++) {
        char id[16];

        snprintf(id, sizeof(id), "r%zu", i);
        rc = testutil_put_person(t, id, id, 0, "fa");
        for (size_t j = 0; j < ro->n[i] && rc == 0; j++) {
            rc = cadence_held_put(t, "fa", id, ro->days[i][j], 30);
        }
    }
    return rc;
}

/* The figures ref_numpy() gives: five for the manager, then two per rep. */
#define REF_OUT (5 + 2 * REF_REPS)

/* numpy's figures for ro's days, as "per_rep_month median longest
 * not_coached ngaps", then each rep's "median ngaps" (median nan without
 * gaps). */
static void ref_numpy(struct fx *f, const struct ref_org *ro, double out[REF_OUT])
{
    char json[4096], path[700];
    size_t off = 0;
    const char *argv[] = {
        "/usr/bin/python3", "-c",
        "import json, sys\n"
        "try:\n"
        "    import numpy as np\n"
        "except ImportError:\n"
        "    sys.exit('numpy is missing: ./dev.sh setup installs python3-numpy')\n"
        "d = json.load(open(sys.argv[1]))\n"
        "frm, until, n = d['from'], d['until'], d['weeks']\n"
        "gaps, days, nc, mine = [], 0, 0, []\n"
        "for r in d['reps']:\n"
        "    w = np.array(sorted(x for x in r if frm <= x <= until))\n"
        "    days += len(w)\n"
        "    g = list(np.diff(w))\n"
        "    gaps += g\n"
        "    mine += [repr(float(np.median(g))) if g else 'nan', len(g)]\n"
        "    nc += not any(until - 7 * n + 1 <= x <= until for x in r)\n"
        "months = (until - frm + 1) / 30.4375\n"
        "med = float(np.median(gaps)) if gaps else float('nan')\n"
        "mx = int(np.max(gaps)) if gaps else 0\n"
        "print(repr(days / len(d['reps']) / months), repr(med), mx, nc, "
        "len(gaps), *mine)\n",
        path, NULL};
    char err[512];
    char *end;

    off += (size_t)snprintf(json + off, sizeof(json) - off,
                            "{\"from\": %d, \"until\": %d, \"weeks\": 4, \"reps\": [", FROM, TODAY);
    for (size_t i = 0; i < REF_REPS; i++) {
        off += (size_t)snprintf(json + off, sizeof(json) - off, "%s[", i ? ", " : "");
        for (size_t j = 0; j < ro->n[i]; j++) {
            off += (size_t)snprintf(json + off, sizeof(json) - off, "%s%d", j ? ", " : "",
                                    (int)ro->days[i][j]);
        }
        off += (size_t)snprintf(json + off, sizeof(json) - off, "]");
    }
    snprintf(json + off, sizeof(json) - off, "]}\n");
    assert_true(off < sizeof(json) - 8);
    snprintf(path, sizeof(path), "%s/ref.json", f->dir);
    write_file(f, "ref.json", json);
    if (testutil_run_capture(f->dir, NULL, argv, f->out, sizeof(f->out), err, sizeof(err)) != 0) {
        fail_msg("the numpy reference failed: %s", err);
    }
    end = f->out;
    for (int i = 0; i < REF_OUT; i++) {
        out[i] = strtod(end, &end);
    }
}

static void test_reference(void **state)
{
    struct fx *f = *state;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    int medians = 0, rep_medians = 0, rep_even = 0;

    for (int round = 0; round < REF_ROUNDS; round++) {
        struct ref_org ro;
        struct testutil_store_fx *sf;
        struct dash *d;
        const Coachq__V1__Table *t;
        double want[REF_OUT];

        memset(&ro, 0, sizeof(ro));
        for (size_t i = 0; i < REF_REPS; i++) {
            /* 0..12 distinct days from 40 days before the window to today
             * (days outside the window must not count). */
            size_t want_n = (size_t)((seed >> 33) % 13);

            for (size_t k = 0; k < want_n; k++) {
                int32_t day;
                int dup = 0;

                seed = seed * 6364136223846793005u + 1442695040888963407u;
                day = FROM - 40 + (int32_t)((seed >> 33) % (uint64_t)(TODAY - FROM + 41));
                for (size_t j = 0; j < ro.n[i]; j++) {
                    dup |= ro.days[i][j] == day;
                }
                if (!dup) {
                    ro.days[i][ro.n[i]++] = day;
                }
            }
            seed = seed * 6364136223846793005u + 1442695040888963407u;
        }
        sf = testutil_store_fx_new(ref_org_cb, &ro);
        d = build(sf->s, "fa", AUTH_FRONT_LINE, K_MY_COACHING, "", 0);
        t = table(d, "my-cadence");
        ref_numpy(f, &ro, want);
        assert_value(cell(t, NULL, "Sessions per rep per month"), want[0]);
        if (isnan(want[1])) {
            assert_false(cell(t, NULL, "Median gap (days)")->has_value);
            assert_string_equal(cell(t, NULL, "Longest gap (days)")->text, "no gap");
        } else if (want[4] >= 3) {
            assert_value(cell(t, NULL, "Median gap (days)"), want[1]);
            medians++;
            assert_value(cell(t, NULL, "Longest gap (days)"), want[2]);
        } else {
            /* Below the minimum n the median is withheld. */
            assert_false(cell(t, NULL, "Median gap (days)")->has_value);
            assert_value(cell(t, NULL, "Longest gap (days)"), want[2]);
        }
        assert_value(cell(t, NULL, "Reps not coached in 4 weeks"), want[3]);
        assert_int_equal(cell(t, NULL, "Median gap (days)")->n, (unsigned)want[4]);
        /* Each rep's median from that rep's gaps alone. */
        t = table(d, "my-cadence-reps");
        for (size_t i = 0; i < REF_REPS; i++) {
            const Coachq__V1__Cell *m;
            char id[16];
            double med = want[5 + 2 * i];
            unsigned n = (unsigned)want[6 + 2 * i];

            snprintf(id, sizeof(id), "r%zu", i);
            m = cell(t, id, "Median gap (days)");
            assert_int_equal(m->n, n);
            if (n >= 3) {
                assert_value(m, med);
                rep_medians++;
                rep_even += n % 2 == 0;
            } else {
                assert_false(m->has_value);
            }
        }
        dash_free(d);
        testutil_store_fx_free(sf);
    }
    /* The rounds did compare medians, not only empty windows. */
    assert_true(medians >= REF_ROUNDS / 2);
    /* And the reps' medians, some of them from an even number of gaps
     * (the mean of the middle two). */
    assert_true(rep_medians >= REF_ROUNDS);
    assert_true(rep_even >= 3);
}

/* ---- The dashboard port --------------------------------------------------- */

/* The pages carry the tables in HTML and JSON; ?not_coached_weeks=N is
 * taken, kept on links, and a bad value is a 400 naming the parameter. */
static void test_web(void **state)
{
    const struct testutil_web *w = *state;
    struct testutil_http_resp r;
    json_t *j;

    if (testutil_web_req(w, "GET", "/d/me?not_coached_weeks=2", w->cookie[TESTUTIL_WEB_R_FLM], NULL,
                         NULL, &r) != 200) {
        fail_msg("%d: %s", r.status, r.body);
    }
    contains(r.body, "Your coaching cadence");
    contains(r.body, "Not coached in 2 weeks");
    contains(r.body, "not_coached_weeks=2");
    testutil_http_resp_free(&r);
    assert_int_equal(
        testutil_web_req(w, "GET", "/d/managers", w->cookie[TESTUTIL_WEB_R_SLM], NULL, NULL, &r),
        200);
    contains(r.body, "Quantity without quality");
    contains(r.body, "Reps not coached in 4 weeks");
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET",
                                      "/api/v1/dashboards/managers/slm.eve/tables/cadence.csv",
                                      w->cookie[TESTUTIL_WEB_R_SLM], NULL, NULL, &r),
                     200);
    contains(r.body, "Sessions per rep per month");
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/api/v1/dashboards/me?not_coached_weeks=53",
                                      w->cookie[TESTUTIL_WEB_R_FLM], NULL, NULL, &r),
                     400);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "field")), "not_coached_weeks");
    json_decref(j);
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/d/me?not_coached_weeks=x",
                                      w->cookie[TESTUTIL_WEB_R_FLM], NULL, NULL, &r),
                     400);
    contains(r.body, "1 to 52");
    testutil_http_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_import_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_local_today, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commitment_verbs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_figures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minutes_window_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_days_before_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_not_from_before_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_days_before_window_past_word0, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pair_days_line_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zone_days, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_sessions_one_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reference, setup, teardown),
    };

    const struct CMUnitTest web_tests[] = {
        cmocka_unit_test(test_web),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);

    failed += cmocka_run_group_tests(web_tests, testutil_web_setup, testutil_web_teardown);
    return failed;
}
