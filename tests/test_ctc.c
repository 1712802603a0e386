/*
 * test_ctc: coaching the coaches through a real coachqd over real TLS,
 * with a real LMDB made by the real administration verbs, and the real
 * client (the library and the `coachq` program).
 *
 * The organisation is fixtures/org.csv (testutil_seed_org()), in which
 * slm.eve manages flm.cara and mgr.jones and slm.fay manages flm.dan;
 * then slm.eve and slm.fay are given the observer role as well, slm.eve is
 * certified for coaching-the-coach and coaching-conversation, slm.fay for
 * coaching-conversation only, and obs.ann also for coaching-the-coach.
 *
 * What is checked: a second-level manager coaching one of their own
 * managers is stored and shows on their "Coaching my managers" dashboard,
 * on Programme impact and in `coachq dashboard coaching`; coaching another
 * line's manager, a front-line coach under this rubric, and a second-level
 * coach under a front-line rubric are refused naming the field, and store
 * nothing; a second-level manager who observes scores their own line only,
 * never their own coaching, and needs the certification; the dashboard per
 * role; and that another line's reviews change nothing a second-level
 * manager sees (no figure to subtract).
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
#include <time.h>

#include <cmocka.h>

#include "client.h"
#include "day.h"
#include "error.h"
#include "store.h"
#include "testutil.h"

#define WATCHDOG_SECONDS 240
#define OUT_LEN (1u << 20)
#define CTC "coaching-the-coach"
#define KIND_CM COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_COACHING_MANAGERS

struct fix {
    char dir[512];
    char data[600];
    char server[64];
    char ca[600];
    char cert[600];
    char key[600];
    char *out;
    struct testutil_server srv;
};

static struct fix f;

/* One observation of coaching-the-coach (testutil_obs_make_rubric()),
 * scores of pattern p: 0 all 2, 1 all 3, 2 alternating 2,3,2,... */
static void ctc_make(struct testutil_obs *t, const char *coach, const char *coachee,
                     int64_t started_at, int p)
{
    testutil_obs_make_rubric(t, &testutil_rubric_ctc, coach, coachee, started_at);
    for (size_t i = 0; i < t->o.n_ratings; i++) {
        t->r[i].score = p == 0 ? 2 : p == 1 ? 3 : 2 + (uint32_t)(i % 2);
    }
}

static struct client_submit_result submit(const char *user, Coachq__V1__Observation *o)
{
    struct client *c = testutil_connect(&f.srv, user, 0);
    struct client_submit_result r;
    Coachq__V1__Observation *one[1] = {o};

    memset(&r, 0, sizeof(r));
    assert_int_equal(client_submit_many(c, one, 1, &r, NULL, NULL), 0);
    assert_true(r.done);
    client_free(c);
    return r;
}

static void expect_stored(const char *user, Coachq__V1__Observation *o)
{
    struct client_submit_result r = submit(user, o);

    if (r.err.code != COACHQ__V1__CODE__OK) {
        fail_msg("%s refused: code %d field %s: %s", user, r.err.code, r.err.field, r.err.message);
    }
    assert_int_equal(r.result, COACHQ__V1__ACK__RESULT__RESULT_STORED);
}

static void expect_refused(const char *user, Coachq__V1__Observation *o, Coachq__V1__Code code,
                           const char *field, const char *words)
{
    struct client_submit_result r = submit(user, o);

    if (r.err.code != code || strcmp(r.err.field, field) != 0 ||
        strstr(r.err.message, words) == NULL) {
        fail_msg("%s: want code %d field %s ('%s'); got code %d field '%s': %s", user, code, field,
                 words, r.err.code, r.err.field, r.err.message);
    }
}

static size_t count_by_coach_as(const char *user, const char *coach);

/* The observations listed by coach (as lead.gil, who reads everything). */
static size_t count_by_coach(const char *coach)
{
    return count_by_coach_as("lead.gil", coach);
}

/* The observations of coach that user may list. */
static size_t count_by_coach_as(const char *user, const char *coach)
{
    Coachq__V1__ListObservations q = COACHQ__V1__LIST_OBSERVATIONS__INIT;
    Coachq__V1__ObservationPage *page = NULL;
    struct client *c = testutil_connect(&f.srv, user, 0);
    struct client_error e;
    size_t n;

    q.by = COACHQ__V1__LIST_BY__LIST_BY_COACH;
    q.person_id = (char *)coach;
    q.page_size = 100;
    assert_int_equal(client_list(c, &q, &page, &e), 0);
    n = page->n_observations;
    coachq__v1__observation_page__free_unpacked(page, NULL);
    client_free(c);
    return n;
}

/* Fetches a dashboard as user: returns 0 with *out, or the error code. */
static int dashboard(const char *user, int kind, const char *subject, Coachq__V1__Dashboard **out)
{
    Coachq__V1__GetDashboard q = COACHQ__V1__GET_DASHBOARD__INIT;
    struct client *c = testutil_connect(&f.srv, user, 0);
    struct client_error e;
    int rc;

    q.kind = (Coachq__V1__DashboardKind)kind;
    q.subject_id = (char *)subject;
    *out = NULL;
    memset(&e, 0, sizeof(e));
    rc = client_dashboard(c, &q, out, &e);
    if (rc != 0) {
        fprintf(stderr, "dashboard %d of '%s' as %s: code %d field %s: %s\n", kind, subject, user,
                e.code, e.field, e.message);
    }
    client_free(c);
    return rc == 0 ? 0 : (int)e.code;
}

/* Asks lead.gil for dashboard kind with rubric: must be refused naming
 * the rubric. */
static void expect_rubric_refused(int kind, const char *rubric)
{
    Coachq__V1__GetDashboard q = COACHQ__V1__GET_DASHBOARD__INIT;
    Coachq__V1__Dashboard *d = NULL;
    struct client *c = testutil_connect(&f.srv, "lead.gil", 0);
    struct client_error e;

    q.kind = (Coachq__V1__DashboardKind)kind;
    q.rubric_id = (char *)rubric;
    memset(&e, 0, sizeof(e));
    assert_int_not_equal(client_dashboard(c, &q, &d, &e), 0);
    assert_null(d);
    assert_int_equal(e.code, COACHQ__V1__CODE__INVALID_ARGUMENT);
    assert_string_equal(e.field, "get_dashboard.rubric_id");
    assert_non_null(strstr(e.message, "Coaching my managers"));
    client_free(c);
}

static const Coachq__V1__Table *table(const Coachq__V1__Dashboard *d, const char *id)
{
    for (size_t i = 0; i < d->n_tables; i++) {
        if (strcmp(d->tables[i]->id, id) == 0) {
            return d->tables[i];
        }
    }
    fail_msg("no table %s", id);
    return NULL;
}

/* The row of t whose first cell reads label. */
static const Coachq__V1__TableRow *row(const Coachq__V1__Table *t, const char *label)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(t->rows[i]->cells[0]->text, label) == 0) {
            return t->rows[i];
        }
    }
    fail_msg("table %s has no row %s", t->id, label);
    return NULL;
}

/* Every figure of a dashboard, packed: two pages with the same bytes here
 * show the same figures. */
static size_t figures(const Coachq__V1__Dashboard *d, double *v, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < d->n_tables; i++) {
        for (size_t r = 0; r < d->tables[i]->n_rows; r++) {
            for (size_t k = 0; k < d->tables[i]->rows[r]->n_cells; k++) {
                const Coachq__V1__Cell *c = d->tables[i]->rows[r]->cells[k];

                if (n + 2 <= cap) {
                    v[n++] = c->has_value ? c->value : -1;
                    v[n++] = c->n;
                }
            }
        }
    }
    return n;
}

/* The fixture with coachqd's args and extra people (CSV lines, or NULL). */
static int setup_args(const char *const *args, const char *extra)
{
    char csv[700];
    char out[4096];

    testutil_watchdog(WATCHDOG_SECONDS);
    memset(&f, 0, sizeof(f));
    f.out = malloc(OUT_LEN);
    assert_non_null(f.out);
    testutil_tmpdir(f.dir, sizeof(f.dir));
    snprintf(f.data, sizeof(f.data), "%s/data", f.dir);
    testutil_seed_org(f.data);
    /* Two second-level managers who also observe, and a front-line manager
     * who observes (and is reviewed by Eve). */
    snprintf(csv, sizeof(csv), "%s/slm-observers.csv", f.dir);
    {
        FILE *fp = fopen(csv, "w");

        assert_non_null(fp);
        fputs("id,name,email,role,manager_id,effective_date\n"
              "slm.eve,Eve Stone,eve@example.com,second_level_manager;observer,,\n"
              "slm.fay,Fay Moss,fay@example.com,second_level_manager;observer,,\n"
              "mgr.jones,Jo Jones,jones@example.com,front_line_manager;observer,slm.eve,"
              "2024-01-01\n",
              fp);
        if (extra != NULL) {
            fputs(extra, fp);
        }
        fclose(fp);
    }
    testutil_coachqd(out, sizeof(out), 0, "import", "people", "--data", f.data, csv, NULL);
    testutil_coachqd(out, sizeof(out), 0, "cert", "grant", "--data", f.data, "obs.ann", CTC,
                     "--from", "2024-01-01", "--days", "3650", NULL);
    testutil_coachqd(out, sizeof(out), 0, "cert", "grant", "--data", f.data, "slm.eve", CTC,
                     "--from", "2024-01-01", "--days", "3650", NULL);
    testutil_coachqd(out, sizeof(out), 0, "cert", "grant", "--data", f.data, "mgr.jones", CTC,
                     "--from", "2024-01-01", "--days", "3650", NULL);
    testutil_coachqd(out, sizeof(out), 0, "cert", "grant", "--data", f.data, "slm.eve",
                     "coaching-conversation", "--from", "2024-01-01", "--days", "3650", NULL);
    testutil_coachqd(out, sizeof(out), 0, "cert", "grant", "--data", f.data, "slm.fay",
                     "coaching-conversation", "--from", "2024-01-01", "--days", "3650", NULL);
    testutil_server_start(&f.srv, f.data, args);
    snprintf(f.server, sizeof(f.server), "127.0.0.1:%d", f.srv.port);
    testutil_cert_path(f.ca, sizeof(f.ca), "ca.crt");
    return 0;
}

static int setup(void **state)
{
    (void)state;
    return setup_args(NULL, NULL);
}

/* The question's figures with small numbers: a minimum n of 1 and groups
 * of 3 managers. */
static int setup_small(void **state)
{
    static const char *const args[] = {"--min-n", "1", "--privacy-min", "3", NULL};

    (void)state;
    /* A fourth front-line manager, in Fay's line, for an interval. */
    return setup_args(args, "flm.gus,Gus Hale,gus@example.com,front_line_manager,slm.fay,"
                            "2024-01-01\n"
                            "rep.max,Max Hale,,rep,flm.gus,2024-01-01\n");
}

static int teardown(void **state)
{
    (void)state;
    testutil_stop_clean(&f.srv);
    testutil_rmrf(f.dir);
    free(f.out);
    return 0;
}

/* Whether id is in the people list. */
static int people_has(const Coachq__V1__PeopleList *pl, const char *id)
{
    for (size_t i = 0; i < pl->n_people; i++) {
        if (strcmp(pl->people[i]->id, id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The people the observer's UI offers (ListPeople): a second-level manager
 * who observes gets their own line, which is what they may score (their
 * front-line managers and their reps, for either rubric), never another
 * line nor themself; a front-line manager who observes everyone but
 * themself; an observer and a lead everyone. */
static void test_people_offered(void **state)
{
    static const char *const users[] = {"slm.eve", "mgr.jones", "obs.ann", "lead.gil"};
    /* Expected per user: flm.cara, flm.dan, mgr.jones, slm.eve, slm.fay, rep.ida. */
    static const int want[4][6] = {
        {1, 0, 1, 0, 0, 1},
        {1, 1, 0, 1, 1, 1},
        {1, 1, 1, 1, 1, 1},
        {1, 1, 1, 1, 1, 1},
    };
    static const char *const ids[6] = {"flm.cara", "flm.dan", "mgr.jones",
                                       "slm.eve",  "slm.fay", "rep.ida"};

    (void)state;
    for (size_t u = 0; u < 4; u++) {
        struct client *c = testutil_connect(&f.srv, users[u], 0);
        Coachq__V1__PeopleList *pl = NULL;
        struct client_error e;

        memset(&e, 0, sizeof(e));
        assert_int_equal(client_people(c, &pl, &e), 0);
        for (size_t i = 0; i < 6; i++) {
            if (people_has(pl, ids[i]) != want[u][i]) {
                fail_msg("%s's people list %s %s", users[u], want[u][i] ? "lacks" : "offers",
                         ids[i]);
            }
        }
        coachq__v1__people_list__free_unpacked(pl, NULL);
        client_free(c);
    }
}

/* The rules of who coaches whom under the rubric, each refusal naming its
 * field and storing nothing. */
static void test_who_coaches_whom(void **state)
{
    int64_t now = (int64_t)time(NULL);
    struct testutil_obs t;
    struct testutil_obs fl;

    (void)state;
    /* Eve coaching her own manager Cara: stored. Eve (its coach) and Cara
     * (its coachee) read it; Fay, another line, does not. */
    ctc_make(&t, "slm.eve", "flm.cara", now - 10 * 86400, 0);
    expect_stored("obs.ann", &t.o);
    assert_int_equal(count_by_coach("slm.eve"), 1);
    assert_int_equal(count_by_coach_as("slm.eve", "slm.eve"), 1);
    assert_int_equal(count_by_coach_as("flm.cara", "slm.eve"), 1);
    assert_int_equal(count_by_coach_as("slm.fay", "slm.eve"), 0);
    /* Eve coaching Dan, Fay's manager: refused on the coachee, nothing stored. */
    ctc_make(&t, "slm.eve", "flm.dan", now - 9 * 86400, 0);
    expect_refused("obs.ann", &t.o, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.coachee_id",
                   "own line");
    assert_int_equal(count_by_coach("slm.eve"), 1);
    /* A front-line coach under this rubric, and a rep as the coachee. */
    ctc_make(&t, "flm.cara", "rep.ida", now - 9 * 86400, 0);
    expect_refused("obs.ann", &t.o, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.coach_id",
                   "not a second-level manager");
    assert_int_equal(count_by_coach("flm.cara"), 0);
    /* The older pages read a front-line rubric: asked for this one, each
     * refuses it naming the field. */
    expect_rubric_refused(COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_MANAGERS, CTC);
    expect_rubric_refused(COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER, CTC);
    expect_rubric_refused(COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MY_COACHING, CTC);
    expect_rubric_refused(COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, CTC);
    expect_rubric_refused(COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_OBSERVERS, CTC);
    /* The front-line rubrics keep their rule: a second-level coach is refused. */
    testutil_obs_make(&fl, "slm.eve", "flm.cara", now - 9 * 86400);
    expect_refused("obs.ann", &fl.o, COACHQ__V1__CODE__INVALID_ARGUMENT, "observation.coach_id",
                   "not a front-line manager");
    assert_int_equal(count_by_coach("slm.eve"), 1);
}

/* Who may score: certified observers; a second-level manager who observes
 * and is certified, their own line only and never their own coaching. */
static void test_who_scores(void **state)
{
    int64_t now = (int64_t)time(NULL);
    struct testutil_obs t;
    struct testutil_obs fl;

    (void)state;
    /* Eve scores Cara coaching a rep: her own line. */
    testutil_obs_make(&fl, "flm.cara", "rep.ida", now - 8 * 86400);
    expect_stored("slm.eve", &fl.o);
    /* Eve scores Dan coaching a rep: another line's manager. */
    testutil_obs_make(&fl, "flm.dan", "rep.jon", now - 8 * 86400);
    expect_refused("slm.eve", &fl.o, COACHQ__V1__CODE__PERMISSION_DENIED, "observation.coach_id",
                   "your own line");
    assert_int_equal(count_by_coach("flm.dan"), 0);
    /* Dan coaching Cara's rep: Eve is refused for the line before anything
     * tells her whom rep.ida reported to. */
    testutil_obs_make(&fl, "flm.dan", "rep.ida", now - 8 * 86400);
    expect_refused("slm.eve", &fl.o, COACHQ__V1__CODE__PERMISSION_DENIED, "observation.coach_id",
                   "your own line");
    testutil_obs_make(&fl, "flm.dan", "rep.jon", now - 8 * 86400);
    /* Fay scores Dan: her line. */
    expect_stored("slm.fay", &fl.o);
    /* Fay, not certified for coaching the coach, scoring Eve's coaching. */
    ctc_make(&t, "slm.eve", "mgr.jones", now - 8 * 86400, 1);
    expect_refused("slm.fay", &t.o, COACHQ__V1__CODE__FAILED_PRECONDITION, "observation.rubric_id",
                   "not certified");
    /* Eve scoring her own coaching: refused, certified or not. */
    expect_refused("slm.eve", &t.o, COACHQ__V1__CODE__PERMISSION_DENIED, "observation.coach_id",
                   "own coaching");
    /* An observer without a certification for the rubric. */
    expect_refused("obs.ben", &t.o, COACHQ__V1__CODE__FAILED_PRECONDITION, "observation.rubric_id",
                   "not certified");
    assert_int_equal(count_by_coach("slm.eve"), 1);
    /* Jones, certified, scoring Eve's review of Jones: the coachee is refused. */
    expect_refused("mgr.jones", &t.o, COACHQ__V1__CODE__PERMISSION_DENIED, "observation.coachee_id",
                   "coachee of this session");
    assert_int_equal(count_by_coach("slm.eve"), 1);
    /* obs.ann, certified, may. */
    expect_stored("obs.ann", &t.o);
    assert_int_equal(count_by_coach("slm.eve"), 2);
}

/* Submits o by observer to the bare store s; returns the writer's rc and
 * fills *fault. */
static int store_submit_fault(struct store *s, const Coachq__V1__Observation *o,
                              const char *observer, struct validate_error *fault)
{
    struct store_write w;
    size_t len = coachq__v1__observation__get_packed_size(o);
    uint8_t *buf = malloc(len > 0 ? len : 1);
    int rc;

    assert_non_null(buf);
    coachq__v1__observation__pack(o, buf);
    memset(&w, 0, sizeof(w));
    w.obs = buf;
    w.obs_len = len;
    w.observer_id = observer;
    w.received_at_ms = (int64_t)time(NULL) * 1000;
    rc = store_submit(s, &w);
    if (rc == 0) {
        store_drain(s);
        rc = store_completed_take(s) == &w ? w.rc : -EIO;
    }
    *fault = w.fault;
    free(buf);
    return rc;
}

/* With the store's default policy (no may_score callback, as in the demo)
 * the store itself refuses the coach and the coachee as observers. */
static void test_store_refuses_participants(void **state)
{
    int64_t now = (int64_t)time(NULL);
    struct store_policy pol;
    struct store_opts opts;
    struct store *s = NULL;
    struct validate_error fault;
    struct testutil_obs t;

    (void)state;
    store_policy_default(&pol);
    assert_null(pol.may_score);
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    testutil_stop_clean(&f.srv);
    assert_int_equal(store_open(f.data, &opts, &s), 0);
    ctc_make(&t, "slm.eve", "mgr.jones", now - 7 * 86400, 0);
    memset(&fault, 0, sizeof(fault));
    assert_int_equal(store_submit_fault(s, &t.o, "mgr.jones", &fault), ERROR_REFUSED);
    assert_string_equal(fault.field, "observation.coachee_id");
    assert_int_equal(fault.code, COACHQ__V1__CODE__PERMISSION_DENIED);
    assert_int_equal(store_submit_fault(s, &t.o, "slm.eve", &fault), ERROR_REFUSED);
    assert_string_equal(fault.field, "observation.coach_id");
    assert_int_equal(fault.code, COACHQ__V1__CODE__PERMISSION_DENIED);
    /* Another certified observer is stored. */
    assert_int_equal(store_submit_fault(s, &t.o, "obs.ann", &fault), 0);
    store_close(s);
}

/* Whether table t has a row whose first cell reads label. */
static int has_row(const Coachq__V1__Table *t, const char *label)
{
    for (size_t i = 0; i < t->n_rows; i++) {
        if (strcmp(t->rows[i]->cells[0]->text, label) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * A manager who left the line: Eve reviewed Jones; since yesterday Eve
 * reports to Fay and Jones to Fay directly. Eve's page keeps Jones's row;
 * Fay, above Eve today but never above Jones while Eve reviewed him, does
 * not see it on Eve's page.
 */
static void test_left_line(void **state)
{
    int64_t now = (int64_t)time(NULL);
    Coachq__V1__Dashboard *d = NULL;
    struct testutil_obs o;
    char csv[700], day[16], out[4096];
    FILE *fp;

    (void)state;
    ctc_make(&o, "slm.eve", "mgr.jones", now - 20 * 86400, 0);
    expect_stored("obs.ann", &o.o);
    testutil_stop_clean(&f.srv);
    day_format((int32_t)((now - 86400) / 86400), day, sizeof(day));
    snprintf(csv, sizeof(csv), "%s/moves.csv", f.dir);
    fp = fopen(csv, "w");
    assert_non_null(fp);
    fprintf(fp,
            "id,name,email,role,manager_id,effective_date\n"
            "slm.eve,Eve Stone,eve@example.com,second_level_manager;observer,slm.fay,%s\n"
            "mgr.jones,Jo Jones,jones@example.com,front_line_manager;observer,slm.fay,%s\n",
            day, day);
    fclose(fp);
    testutil_coachqd(out, sizeof(out), 0, "import", "people", "--data", f.data, csv, NULL);
    testutil_server_start(&f.srv, f.data, NULL);
    snprintf(f.server, sizeof(f.server), "127.0.0.1:%d", f.srv.port);

    assert_int_equal(dashboard("slm.eve", KIND_CM, "", &d), 0);
    assert_true(has_row(table(d, "coaching-managers"), "Jo Jones"));
    coachq__v1__dashboard__free_unpacked(d, NULL);
    assert_int_equal(dashboard("slm.fay", KIND_CM, "slm.eve", &d), 0);
    assert_false(has_row(table(d, "coaching-managers"), "Jo Jones"));
    coachq__v1__dashboard__free_unpacked(d, NULL);
    assert_int_equal(dashboard("lead.gil", KIND_CM, "slm.eve", &d), 0);
    assert_true(has_row(table(d, "coaching-managers"), "Jo Jones"));
    coachq__v1__dashboard__free_unpacked(d, NULL);
}

/* For test_store_refuses_participants, which stops the server itself. */
static int teardown_bare(void **state)
{
    (void)state;
    testutil_rmrf(f.dir);
    free(f.out);
    return 0;
}

/* The dashboard: Eve's reviews of her managers, by role, with the figures
 * worked by hand; on Programme impact; and in `coachq dashboard`. */
static void test_dashboards(void **state)
{
    int64_t now = (int64_t)time(NULL);
    Coachq__V1__Dashboard *d = NULL;
    const Coachq__V1__Table *t;
    const Coachq__V1__TableRow *r;
    struct testutil_obs o;

    (void)state;
    /* A third review of Cara, so her reviews reach the minimum n (3):
     * indexes 2 (test_who_coaches_whom), 17/7 (this one) and 3 (below). */
    ctc_make(&o, "slm.eve", "flm.cara", now - 6 * 86400, 2);
    expect_stored("obs.ann", &o.o);
    ctc_make(&o, "slm.eve", "flm.cara", now - 5 * 86400, 1);
    expect_stored("obs.ann", &o.o);

    assert_int_equal(dashboard("slm.eve", KIND_CM, "", &d), 0);
    assert_string_equal(d->subject_id, "slm.eve");
    t = table(d, "coaching-managers");
    r = row(t, "Cara Lind");
    assert_string_equal(r->cells[1]->text, "3");
    assert_true(r->cells[2]->has_value);
    assert_int_equal(r->cells[2]->n, 3);
    assert_true(fabs(r->cells[2]->value - (2.0 + 17.0 / 7.0 + 3.0) / 3.0) < 1e-9);
    row(t, "Jo Jones"); /* in her line, not reviewed yet */
    /* All her coaching-the-coach sessions: the three of Cara and Jo's. */
    t = table(d, "coaching-trend");
    r = t->rows[t->n_rows - 1];
    assert_int_equal(r->cells[1]->n, 4);
    assert_true(fabs(r->cells[1]->value - (2.0 + 17.0 / 7.0 + 3.0 + 3.0) / 4.0) < 1e-9);
    /* Her line's front-line coaching: the one session of Cara she scored. */
    assert_int_equal(r->cells[2]->n, 1);
    table(d, "coaching-behaviours");
    table(d, "coaching-later");
    coachq__v1__dashboard__free_unpacked(d, NULL);

    /* Who else: the lead (any), not Fay (another line), nor Cara, nor an
     * observer; Fay's own page is hers. */
    assert_int_equal(dashboard("lead.gil", KIND_CM, "slm.eve", &d), 0);
    coachq__v1__dashboard__free_unpacked(d, NULL);
    assert_int_equal(dashboard("admin.hal", KIND_CM, "slm.fay", &d), 0);
    coachq__v1__dashboard__free_unpacked(d, NULL);
    assert_int_equal(dashboard("slm.fay", KIND_CM, "slm.eve", &d), COACHQ__V1__CODE__NOT_FOUND);
    assert_int_equal(dashboard("flm.cara", KIND_CM, "slm.eve", &d),
                     COACHQ__V1__CODE__PERMISSION_DENIED);
    assert_int_equal(dashboard("obs.ann", KIND_CM, "slm.eve", &d),
                     COACHQ__V1__CODE__PERMISSION_DENIED);
    /* A front-line manager is no subject of this page, even for a lead. */
    assert_int_equal(dashboard("lead.gil", KIND_CM, "flm.cara", &d), COACHQ__V1__CODE__NOT_FOUND);

    /* Programme impact: every second-level manager beside their line. */
    assert_int_equal(
        dashboard("lead.gil", COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, "", &d), 0);
    t = table(d, "second-level-coaching");
    r = row(t, "Eve Stone");
    assert_int_equal(r->cells[1]->n, 4);
    r = row(t, "Fay Moss");
    assert_int_equal(r->cells[1]->n, 0);
    assert_int_equal(r->cells[2]->n, 1);
    t = table(d, "coaching-later");
    /* Nobody has twelve weeks before and after a review: no pairs. */
    assert_int_equal(t->rows[0]->cells[1]->n, 0);
    coachq__v1__dashboard__free_unpacked(d, NULL);

    /* The CLI: text and JSON, and the usage error names the kind. */
    testutil_coachq(f.out, OUT_LEN, 0, "--server", f.server, "--cert",
                    testutil_cert_path(f.cert, sizeof(f.cert), "users/slm.eve.crt"), "--key",
                    testutil_cert_path(f.key, sizeof(f.key), "users/slm.eve.key"), "--ca", f.ca,
                    "dashboard", "coaching", NULL);
    assert_non_null(strstr(f.out, "Coaching my managers"));
    assert_non_null(strstr(f.out, "Cara Lind"));
    testutil_coachq(f.out, OUT_LEN, 0, "--server", f.server, "--cert", f.cert, "--key", f.key,
                    "--ca", f.ca, "dashboard", "coaching", "--json", NULL);
    assert_non_null(strstr(f.out, "\"kind\": \"coaching\""));
    testutil_coachq(f.out, OUT_LEN, 0, "--server", f.server, "--cert", f.cert, "--key", f.key,
                    "--ca", f.ca, "dashboard", "coaching", "--csv", "coaching-managers", NULL);
    assert_non_null(strstr(f.out, "Cara Lind,3,"));
    testutil_coachq(f.out, OUT_LEN, 2, "--server", f.server, "--cert", f.cert, "--key", f.key,
                    "--ca", f.ca, "dashboard", "coachingg", NULL);
    assert_non_null(strstr(f.out, "coaching or observer"));
}

/* The attacker: Fay tries to learn about Eve's line from her own page. A
 * review in Eve's line changes no figure Fay can fetch, so no difference
 * of two of her pages tells her anything about it. */
static void test_privacy_other_line(void **state)
{
    int64_t now = (int64_t)time(NULL);
    Coachq__V1__Dashboard *d = NULL;
    double before[4096], after[4096];
    size_t nb, na;
    struct testutil_obs o;

    (void)state;
    assert_int_equal(dashboard("slm.fay", KIND_CM, "", &d), 0);
    nb = figures(d, before, 4096);
    coachq__v1__dashboard__free_unpacked(d, NULL);
    ctc_make(&o, "slm.eve", "mgr.jones", now - 4 * 86400, 0);
    expect_stored("obs.ann", &o.o);
    assert_int_equal(dashboard("slm.fay", KIND_CM, "", &d), 0);
    na = figures(d, after, 4096);
    coachq__v1__dashboard__free_unpacked(d, NULL);
    assert_int_equal(na, nb);
    assert_memory_equal(before, after, nb * sizeof(double));
    /* ... while Eve's own page did change. */
    assert_int_equal(dashboard("slm.eve", KIND_CM, "", &d), 0);
    assert_string_equal(row(table(d, "coaching-managers"), "Jo Jones")->cells[1]->text, "2");
    coachq__v1__dashboard__free_unpacked(d, NULL);
}

/* A front-line observation of coach with k of the ten behaviours scored 3
 * and the rest 2: quality index 2 + k/10. */
static void front_line(const char *coach, const char *coachee, int64_t at, int k)
{
    struct testutil_obs t;

    testutil_obs_make(&t, coach, coachee, at);
    for (int i = 0; i < 10; i++) {
        t.r[i].score = i < k ? 3 : 2;
    }
    expect_stored("alice", &t.o);
}

/*
 * "Does a well-coached front-line manager coach better later?" worked by
 * hand. Reviews 15 weeks ago (and Cara's second a week later); each
 * manager observed 4 weeks before and 4 weeks after:
 *
 *   manager  review index   before   after   y = after - before
 *   Cara     2 (all 2)      2.0      2.5     0.5
 *   Cara     3 (all 3)      2.0      2.5     0.5 (the same spans: not a new pair)
 *   Jo       3              2.2      3.0     0.8
 *   Dan      17/7           2.5      2.6     0.1
 *
 * One pair per manager, x the mean of their reviews, y around the first:
 * Cara (2.5, 0.5), Jo (3, 0.8), Dan (17/7, 0.1). SciPy: r =
 * pearsonr([2.5, 3, 17/7], [0.5, 0.8, 0.1]) = 0.881894701526418; n 3
 * managers, just the privacy minimum of this server (3), and too few for
 * Fisher's z (n - 3 = 0): no interval. Counting Cara's two reviews as two
 * pairs gave n 4 and an interval it did not have. On Eve's own page the
 * question rests on her two managers: a group too small.
 */
static void test_question(void **state)
{
    int64_t now = (int64_t)time(NULL);
    int64_t review = now - 15 * 7 * 86400;
    Coachq__V1__Dashboard *d = NULL;
    const Coachq__V1__TableRow *r;
    struct testutil_obs o;

    (void)state;
    front_line("flm.cara", "rep.ida", review - 28 * 86400, 0);
    front_line("flm.cara", "rep.ida", review + 28 * 86400, 5);
    front_line("mgr.jones", "rep.kim", review - 28 * 86400, 2);
    front_line("mgr.jones", "rep.kim", review + 28 * 86400, 10);
    front_line("flm.dan", "rep.jon", review - 28 * 86400, 5);
    front_line("flm.dan", "rep.jon", review + 28 * 86400, 6);
    ctc_make(&o, "slm.eve", "flm.cara", review, 0);
    expect_stored("obs.ann", &o.o);
    ctc_make(&o, "slm.eve", "flm.cara", review + 7 * 86400, 1);
    expect_stored("obs.ann", &o.o);
    ctc_make(&o, "slm.eve", "mgr.jones", review, 1);
    expect_stored("obs.ann", &o.o);
    ctc_make(&o, "slm.fay", "flm.dan", review, 2);
    expect_stored("obs.ann", &o.o);

    assert_int_equal(
        dashboard("lead.gil", COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, "", &d), 0);
    r = table(d, "coaching-later")->rows[0];
    assert_int_equal(r->cells[1]->n, 3);
    assert_true(r->cells[1]->has_value);
    assert_false(r->cells[2]->has_value || r->cells[3]->has_value);
    assert_true(fabs(r->cells[1]->value - 0.881894701526418) < 1e-9);
    assert_string_equal(r->cells[4]->text, "3");
    coachq__v1__dashboard__free_unpacked(d, NULL);

    /* Eve's page: three reviews of two managers of her line. */
    assert_int_equal(dashboard("slm.eve", KIND_CM, "", &d), 0);
    r = table(d, "coaching-later")->rows[0];
    assert_string_equal(r->cells[1]->text, "group too small");
    assert_false(r->cells[1]->has_value);
    assert_string_equal(r->cells[4]->text, "2");
    coachq__v1__dashboard__free_unpacked(d, NULL);

    /* A review of Dan 12 weeks before this week: its later span ends in the
     * unfinished week, so it is not kept and no figure moves (kept, it
     * would have made Dan's x the mean of 17/7 and 3). */
    ctc_make(&o, "slm.fay", "flm.dan", now - 84 * 86400, 1);
    expect_stored("obs.ann", &o.o);
    assert_int_equal(
        dashboard("lead.gil", COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, "", &d), 0);
    r = table(d, "coaching-later")->rows[0];
    assert_int_equal(r->cells[1]->n, 3);
    assert_true(fabs(r->cells[1]->value - 0.881894701526418) < 1e-9);
    coachq__v1__dashboard__free_unpacked(d, NULL);

    /* Gus, reviewed once (all 2), 2.1 before and 2.3 after: a fourth
     * manager, so Fisher's z gives an interval. SciPy: pearsonr([2.5, 3,
     * 17/7, 2], [0.5, 0.8, 0.1, 0.2]) = 0.8267673819143257, and its
     * confidence_interval(0.95) (Fisher z) = (-0.6539275849860775,
     * 0.9962437291583122). The table says it is a correlation, not a
     * cause. */
    front_line("flm.gus", "rep.max", review - 28 * 86400, 1);
    front_line("flm.gus", "rep.max", review + 28 * 86400, 3);
    ctc_make(&o, "slm.fay", "flm.gus", review, 0);
    expect_stored("obs.ann", &o.o);
    assert_int_equal(
        dashboard("lead.gil", COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, "", &d), 0);
    r = table(d, "coaching-later")->rows[0];
    assert_int_equal(r->cells[1]->n, 4);
    assert_string_equal(r->cells[4]->text, "4");
    assert_true(r->cells[1]->has_value && r->cells[2]->has_value && r->cells[3]->has_value);
    assert_true(fabs(r->cells[1]->value - 0.8267673819143257) < 1e-9);
    assert_true(fabs(r->cells[2]->value - -0.6539275849860775) < 1e-9);
    assert_true(fabs(r->cells[3]->value - 0.9962437291583122) < 1e-9);
    assert_non_null(strstr(table(d, "coaching-later")->note, "A correlation, not a cause."));
    coachq__v1__dashboard__free_unpacked(d, NULL);
}

/* Whether a note of d contains words. */
static int has_note(const Coachq__V1__Dashboard *d, const char *words)
{
    for (size_t i = 0; i < d->n_notes; i++) {
        if (strstr(d->notes[i], words) != NULL) {
            return 1;
        }
    }
    return 0;
}

/* Submits n coaching-the-coach sessions of slm.eve with flm.cara, one an
 * hour back from hours_back hours ago, scored by obs.ann. */
static void submit_ctc_run(size_t n, int64_t hours_back)
{
    struct testutil_obs *t = calloc(n, sizeof(*t));
    Coachq__V1__Observation **obs = calloc(n, sizeof(*obs));
    struct client_submit_result *res = calloc(n, sizeof(*res));
    struct client *c = testutil_connect(&f.srv, "obs.ann", 0);
    int64_t now = (int64_t)time(NULL);

    assert_non_null(t);
    assert_non_null(obs);
    assert_non_null(res);
    for (size_t i = 0; i < n; i++) {
        ctc_make(&t[i], "slm.eve", "flm.cara", now - (hours_back + (int64_t)i) * 3600, 2);
        obs[i] = &t[i].o;
    }
    assert_int_equal(client_submit_many(c, obs, n, res, NULL, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        if (res[i].err.code != COACHQ__V1__CODE__OK) {
            fail_msg("session %zu refused: %s %s", i, res[i].err.field, res[i].err.message);
        }
    }
    client_free(c);
    free(res);
    free(obs);
    free(t);
}

/* Coaching my managers and Programme impact read at most the newest
 * DASH_CTC_MAX_SESSIONS (256) sessions of a second-level manager, and say
 * so once a walk used them all without reaching the start of its window;
 * not before. */
static void test_truncation_note(void **state)
{
    Coachq__V1__Dashboard *d = NULL;

    (void)state;
    submit_ctc_run(200, 2);
    assert_int_equal(dashboard("slm.eve", KIND_CM, "", &d), 0);
    assert_false(has_note(d, "Only the newest 256 sessions"));
    coachq__v1__dashboard__free_unpacked(d, NULL);
    assert_int_equal(
        dashboard("lead.gil", COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, "", &d), 0);
    assert_false(has_note(d, "reads only the newest 256 sessions"));
    coachq__v1__dashboard__free_unpacked(d, NULL);

    submit_ctc_run(57, 202);
    assert_int_equal(dashboard("slm.eve", KIND_CM, "", &d), 0);
    assert_true(has_note(d, "Only the newest 256 sessions of this second-level manager (any "
                            "rubric) are read"));
    coachq__v1__dashboard__free_unpacked(d, NULL);
    assert_int_equal(
        dashboard("lead.gil", COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_PROGRAMME, "", &d), 0);
    assert_true(has_note(d, "coaching-later reads only the newest 256 sessions (any rubric) of "
                            "each second-level manager: 1 of them had more"));
    coachq__v1__dashboard__free_unpacked(d, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_who_coaches_whom),   cmocka_unit_test(test_people_offered),
        cmocka_unit_test(test_who_scores),         cmocka_unit_test(test_dashboards),
        cmocka_unit_test(test_privacy_other_line),
    };

    const struct CMUnitTest small[] = {
        cmocka_unit_test(test_question),
    };
    const struct CMUnitTest moved[] = {
        cmocka_unit_test(test_left_line),
    };
    const struct CMUnitTest many[] = {
        cmocka_unit_test(test_truncation_note),
    };
    const struct CMUnitTest bare[] = {
        cmocka_unit_test(test_store_refuses_participants),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);

    failed += cmocka_run_group_tests(moved, setup, teardown);
    failed += cmocka_run_group_tests(bare, setup, teardown_bare);
    failed += cmocka_run_group_tests(many, setup, teardown);
    return failed + cmocka_run_group_tests(small, setup_small, teardown);
}
