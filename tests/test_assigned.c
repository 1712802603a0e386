/*
 * test_assigned: the assigned dimension of the aggregates and the
 * assigned-only filter (store/agg.h, AGG_ASSIGNED; docs/dashboards.md,
 * "Assigned observations only"), over a real coachqd, TLS and LMDB.
 *
 * An observer drawn for flm.cara scores one session of theirs (it fulfils
 * the assignment without naming it) and three more sessions that nobody
 * assigned, with other scores: the assigned twins hold exactly the one
 * assigned record (hand-worked sums), Observer reliability's "Assigned"
 * reads 1 of 4 = 0.25, and with --assigned-only the page's figures are the
 * one record's. An amendment of the assigned observation stays assigned
 * (the plan's "From random assignment" unchanged); a second observer
 * double-codes the session and amends it; `coachqd verify` is clean; a store of aggregate format 3
 * whose records do not say they were assigned is marked from its done assignments and rebuilt to
 * format 4, equal to before. Other dashboards refuse the filter naming get_dashboard.assigned_only,
 * the client with a usage error; an observer is refused the filtered page as the unfiltered one;
 * the filtered figures keep the minimum n on their own n. Anonymisation keeps the record assigned.
 * Observer reliability's coverage and drift under the filter count the observer's assigned sessions
 * only, even of a manager whose assigned session another observer made.
 * On the web: ?assigned=1, its toggle, the JSON link keeping it, and its refusals.
 */
#include <errno.h>
#include <inttypes.h>
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
#include <jansson.h>
#include <lmdb.h>

#include "agg.h"
#include "client.h"
#include "keys.h"
#include "obs.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"
#include "uuid.h"

/* Runs the real client as user against org's server; returns its exit
 * status (expect as testutil_coachq()). */
static int coachq_as(struct testutil_org *org, const char *user, char *out, size_t outlen,
                     int expect, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char server[64], ca[600], cert[600], key[600], rel[128];

    snprintf(server, sizeof(server), "127.0.0.1:%d", org->srv.port);
    testutil_cert_path(ca, sizeof(ca), "ca.crt");
    snprintf(rel, sizeof(rel), "users/%s.crt", user);
    testutil_cert_path(cert, sizeof(cert), rel);
    snprintf(rel, sizeof(rel), "users/%s.key", user);
    testutil_cert_path(key, sizeof(key), rel);
    return testutil_coachq(out, outlen, expect, "--server", server, "--cert", cert, "--key", key,
                           "--ca", ca, a1, a2, a3, a4, NULL);
}

/* The observer `coachqd assignment list` names for manager. */
static void assignee_of(const char *out, const char *manager, char *observer, size_t len)
{
    char needle[100];
    const char *p, *line, *o;
    size_t n = 0;

    snprintf(needle, sizeof(needle), "manager %s ", manager);
    p = strstr(out, needle);
    assert_non_null(p);
    line = p;
    while (line > out && line[-1] != '\n') {
        line--;
    }
    o = strstr(line, "observer ");
    assert_non_null(o);
    o += strlen("observer ");
    while (o[n] != ' ' && o[n] != '\n' && n + 1 < len) {
        observer[n] = o[n];
        n++;
    }
    observer[n] = '\0';
}

/* Submits one observation of coach as observer, every scored rating set
 * to score; amends: the version it amends (NULL: an original). */
static void submit_of(struct testutil_org *org, const char *observer, int slot, const char *coach,
                      const char *coachee, int64_t started_at, uint32_t score,
                      const uint8_t *amends, uint8_t id[16])
{
    struct testutil_obs o;
    struct client_submit_result r;
    Coachq__V1__Observation *one[1];
    struct client *c = testutil_connect(&org->srv, observer, slot);

    testutil_obs_make(&o, coach, coachee, started_at);
    for (size_t i = 0; i < o.o.n_ratings; i++) {
        o.r[i].score = score;
        o.r[i].not_applicable = 0;
    }
    if (amends != NULL) {
        o.o.amends.data = (uint8_t *)amends;
        o.o.amends.len = 16;
    }
    one[0] = &o.o;
    assert_int_equal(client_submit_many(c, one, 1, &r, NULL, NULL), 0);
    if (r.err.code != COACHQ__V1__CODE__OK) {
        fail_msg("submit refused: %s (%s)", r.err.message, r.err.field);
    }
    memcpy(id, o.id, 16);
    client_free(c);
}

/* submit_of() for flm.cara. */
static void submit(struct testutil_org *org, const char *observer, int slot, const char *coachee,
                   int64_t started_at, uint32_t score, const uint8_t *amends, uint8_t id[16])
{
    submit_of(org, observer, slot, "flm.cara", coachee, started_at, score, amends, id);
}

/* The cell of column col in the row of table tid whose first cell links to
 * id (borrowed from root). */
static json_t *cell_of(json_t *root, const char *tid, const char *id, const char *col)
{
    json_t *tables = json_object_get(root, "tables");
    size_t i, j;
    json_t *t;

    json_array_foreach(tables, i, t)
    {
        json_t *cols = json_object_get(t, "columns");
        json_t *rows = json_object_get(t, "rows");
        json_t *row, *c;
        size_t ci = SIZE_MAX;

        if (strcmp(json_string_value(json_object_get(t, "id")), tid) != 0) {
            continue;
        }
        json_array_foreach(cols, j, c)
        {
            if (strcmp(json_string_value(c), col) == 0) {
                ci = j;
            }
        }
        assert_true(ci != SIZE_MAX);
        json_array_foreach(rows, j, row)
        {
            const char *link = json_string_value(json_object_get(json_array_get(row, 0), "link"));

            if (link != NULL && strcmp(link, id) == 0) {
                return json_array_get(row, ci);
            }
        }
    }
    fail_msg("no cell %s/%s/%s", tid, id, col);
    return NULL;
}

static json_t *dashboard_json_of(struct testutil_org *org, const char *user, const char *kind,
                                 int filtered)
{
    static char out[1 << 20];
    json_error_t e;
    json_t *root;

    coachq_as(org, user, out, sizeof(out), 0, "dashboard", kind, "--json",
              filtered ? "--assigned-only" : NULL);
    root = json_loads(out, 0, &e);
    if (root == NULL) {
        fail_msg("not JSON: %s", e.text);
    }
    return root;
}

static json_t *dashboard_json(struct testutil_org *org, const char *user, int filtered)
{
    return dashboard_json_of(org, user, "observers", filtered);
}

/* The text of the one plan's "From random assignment" cell in root's
 * coverage-plans table, copied into out. */
static void from_random(json_t *root, char *out, size_t len)
{
    json_t *t;
    size_t i, j;

    json_array_foreach(json_object_get(root, "tables"), i, t)
    {
        json_t *c;
        json_t *row = json_array_get(json_object_get(t, "rows"), 0);

        if (strcmp(json_string_value(json_object_get(t, "id")), "coverage-plans") != 0) {
            continue;
        }
        assert_int_equal(json_array_size(json_object_get(t, "rows")), 1);
        json_array_foreach(json_object_get(t, "columns"), j, c)
        {
            if (strcmp(json_string_value(c), "From random assignment") == 0) {
                const char *text =
                    json_string_value(json_object_get(json_array_get(row, j), "text"));

                assert_non_null(text);
                snprintf(out, len, "%s", text);
                return;
            }
        }
    }
    fail_msg("no coverage-plans table with 'From random assignment'");
}

/* Fails unless every table of a (but the plans' coverage and the assigned
 * shares, which count every observation) is in b with the same cells. */
static void same_tables(json_t *a, json_t *b, const char *what)
{
    json_t *ta, *tb;
    size_t i, j, compared = 0;

    json_array_foreach(json_object_get(a, "tables"), i, ta)
    {
        const char *id = json_string_value(json_object_get(ta, "id"));
        json_t *cols = json_object_get(ta, "columns");
        json_t *ra = json_object_get(ta, "rows");
        json_t *rb = NULL;

        if (strcmp(id, "coverage-plans") == 0 || strcmp(id, "observers-assigned") == 0) {
            continue;
        }
        json_array_foreach(json_object_get(b, "tables"), j, tb)
        {
            if (strcmp(json_string_value(json_object_get(tb, "id")), id) == 0) {
                rb = json_object_get(tb, "rows");
                assert_true(json_equal(cols, json_object_get(tb, "columns")));
            }
        }
        if (rb == NULL) {
            fail_msg("%s: no table %s in the store of assigned records", what, id);
        }
        assert_int_equal(json_array_size(ra), json_array_size(rb));
        for (size_t r = 0; r < json_array_size(ra); r++) {
            for (size_t c = 0; c < json_array_size(cols); c++) {
                json_t *ca = json_array_get(json_array_get(ra, r), c);
                json_t *cb = json_array_get(json_array_get(rb, r), c);

                if (!json_equal(ca, cb)) {
                    char *x = json_dumps(ca, 0), *y = json_dumps(cb, 0);

                    fail_msg("%s: table %s row %zu column %s: %s filtered, %s over the assigned "
                             "records",
                             what, id, r, json_string_value(json_array_get(cols, c)), x, y);
                }
                compared++;
            }
        }
    }
    assert_true(compared > 0);
}

/* The filtered pages of org equal the unfiltered pages of a second store
 * that holds only the assigned record (the same draw, the same session). */
static void same_as_assigned_store(struct testutil_org *org, const char *observer, int64_t now)
{
    static char out[65536], err[4096];
    struct testutil_org two;
    char who[65];
    uint8_t id[16];
    const char *kinds[] = {"observers", "programme"};

    memset(&two, 0, sizeof(two));
    testutil_org_make(&two);
    assert_int_equal(testutil_coachqd_in(two.dir, out, sizeof(out), err, sizeof(err), "plan", "set",
                                         "line:slm.eve", "--rubric", "coaching-conversation",
                                         "--per-month", "1", "--data", two.data, NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(two.dir, out, sizeof(out), err, sizeof(err), "assign",
                                         "line:slm.eve", "--seed", "2026", "--data", two.data,
                                         NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(two.dir, out, sizeof(out), err, sizeof(err), "assignment",
                                         "list", "--data", two.data, NULL),
                     0);
    assignee_of(out, "flm.cara", who, sizeof(who));
    assert_string_equal(who, observer);
    testutil_server_start(&two.srv, two.data, NULL);
    submit(&two, observer, 0, "rep.ida", now - 120, 3, NULL, id);
    for (size_t k = 0; k < 2; k++) {
        json_t *a = dashboard_json_of(org, "lead.gil", kinds[k], 1);
        json_t *b = dashboard_json_of(&two, "lead.gil", kinds[k], 0);

        same_tables(a, b, kinds[k]);
        json_decref(a);
        json_decref(b);
    }
    testutil_stop_clean(&two.srv);
    testutil_org_cleanup(&two);
}

/* What the aggregates hold of one (kind, scope) over every week. */
struct sums {
    uint64_t observations;
    uint64_t ratings;
    double sum;
};

static int sums_cb(int32_t monday, const Coachq__V1__AggWeek *w, void *arg)
{
    struct sums *s = arg;

    (void)monday;
    s->observations += w->observations;
    for (size_t i = 0; i < w->n_behaviours; i++) {
        s->ratings += w->behaviours[i]->count;
        s->sum += w->behaviours[i]->sum;
    }
    return 0;
}

struct read_args {
    enum agg_scope kind;
    const char *scope;
    struct sums s;
};

static int read_txn(struct store_txn *t, void *arg)
{
    struct read_args *a = arg;

    memset(&a->s, 0, sizeof(a->s));
    return agg_read(t, a->kind, a->scope, "coaching-conversation", 0, 40000, sums_cb, &a->s);
}

static struct sums sums_of(struct store *s, enum agg_scope kind, const char *scope)
{
    struct read_args a = {kind, scope, {0, 0, 0}};

    assert_int_equal(store_view(s, read_txn, &a), 0);
    return a.s;
}

/* The assigned twins hold the one assigned record, scored score on every
 * behaviour; the plain values hold all four. */
static void check_twins(const char *data, const char *observer, uint32_t score)
{
    struct store *s = testutil_store_open(data, 0);
    struct sums all = sums_of(s, AGG_OBSERVER, observer);
    struct sums mine = sums_of(s, AGG_OBSERVER_ASG, observer);
    struct sums coach = sums_of(s, AGG_COACH_ASG, "flm.cara");
    struct sums org = sums_of(s, AGG_ORG_ASG, AGG_ORG_ALL);

    assert_int_equal(all.observations, 4);
    assert_int_equal(mine.observations, 1);
    assert_true(mine.ratings > 0);
    assert_true(mine.sum == (double)score * (double)mine.ratings);
    assert_int_equal(coach.observations, 1);
    assert_true(coach.sum == mine.sum);
    assert_int_equal(org.observations, 1);
    store_close(s);
}

/* Format 3 as it was: the records do not say they were assigned, and the
 * store's aggregates are of format 3 (they are made again on open); schema
 * not 0: the store says it is of that schema too. Sets *cleared to the
 * records that said it. */
static void make_format3(const char *dir, uint32_t schema, uint64_t *cleared)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, obs;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t fmt[4] = {0, 0, 0, 3};
    int rc;

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 64), 0);
    assert_int_equal(mdb_env_set_mapsize(env, (size_t)1 << 30), 0);
    assert_int_equal(mdb_env_open(env, dir, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_dbi_open(txn, "obs_seq", 0, &obs), 0);
    k.mv_data = (void *)"agg_format";
    k.mv_size = strlen("agg_format");
    v.mv_data = fmt;
    v.mv_size = 4;
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    if (schema != 0) {
        uint8_t sv[4] = {0, 0, 0, (uint8_t)schema};

        k.mv_data = (void *)"schema_version";
        k.mv_size = strlen("schema_version");
        v.mv_data = sv;
        v.mv_size = 4;
        assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_cursor_open(txn, obs, &cur), 0);
    /* k.mv_data points into the LMDB page, which a put of a value of
     * another size rewrites: the put gets a copy of the key. */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Coachq__V1__StoredObservation *r =
            coachq__v1__stored_observation__unpack(NULL, v.mv_size, v.mv_data);
        static uint8_t buf[65536];
        size_t n;

        assert_non_null(r);
        if (r->assigned) {
            uint8_t kc[8];

            r->assigned = 0;
            (*cleared)++;
            n = coachq__v1__stored_observation__get_packed_size(r);
            assert_true(n <= sizeof(buf));
            coachq__v1__stored_observation__pack(r, buf);
            assert_int_equal(k.mv_size, sizeof(kc));
            memcpy(kc, k.mv_data, sizeof(kc));
            k.mv_data = kc;
            v.mv_data = buf;
            v.mv_size = n;
            assert_int_equal(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
        }
        coachq__v1__stored_observation__free_unpacked(r, NULL);
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Makes org's organisation, plans one observation a month of
 * slm.eve's line with at most load_cap open assignments per observer (NULL:
 * no cap), draws the plan (seed 2026) and leaves `assignment list`'s text
 * in out (n bytes). */
static void plan_assign_list(struct testutil_org *org, const char *load_cap, char *out, size_t n)
{
    static char err[4096];

    testutil_org_make(org);
    if (load_cap == NULL) {
        assert_int_equal(testutil_coachqd_in(org->dir, out, n, err, sizeof(err), "plan", "set",
                                             "line:slm.eve", "--rubric", "coaching-conversation",
                                             "--per-month", "1", "--data", org->data, NULL),
                         0);
    } else {
        assert_int_equal(testutil_coachqd_in(org->dir, out, n, err, sizeof(err), "plan", "set",
                                             "line:slm.eve", "--rubric", "coaching-conversation",
                                             "--per-month", "1", "--load-cap", load_cap, "--data",
                                             org->data, NULL),
                         0);
    }
    assert_int_equal(testutil_coachqd_in(org->dir, out, n, err, sizeof(err), "assign",
                                         "line:slm.eve", "--seed", "2026", "--data", org->data,
                                         NULL),
                     0);
    assert_int_equal(testutil_coachqd_in(org->dir, out, n, err, sizeof(err), "assignment", "list",
                                         "--data", org->data, NULL),
                     0);
}

static void test_assigned_over_tls(void **state)
{
    struct testutil_org *org = *state;
    static char out[65536], err[4096];
    char observer[65];
    uint8_t a[16], b[16], am[16];
    int64_t now = (int64_t)time(NULL);
    uint64_t cleared = 0;
    char before[64], after[64];
    json_t *root, *cell;

    plan_assign_list(org, NULL, out, sizeof(out));
    assignee_of(out, "flm.cara", observer, sizeof(observer));
    testutil_server_start(&org->srv, org->data, NULL);

    /* One assigned session (matched without naming the assignment), scored
     * 3 throughout; three self-selected ones scored 2. */
    submit(org, observer, 0, "rep.ida", now - 120, 3, NULL, a);
    submit(org, observer, 1, "rep.ida", now - 3600, 2, NULL, b);
    submit(org, observer, 2, "rep.ida", now - 7200, 2, NULL, b);
    submit(org, observer, 3, "rep.ida", now - 10800, 2, NULL, b);

    /* Observer reliability's assigned shares: 1 of 4 observations = 0.25
     * (n 4). */
    root = dashboard_json(org, "lead.gil", 0);
    assert_false(json_is_true(json_object_get(root, "assigned_only")));
    cell = cell_of(root, "observers", observer, "Observations");
    assert_int_equal((long long)json_number_value(json_object_get(cell, "value")), 4);
    cell = cell_of(root, "observers-assigned", observer, "Share");
    assert_true(json_number_value(json_object_get(cell, "value")) == 0.25);
    assert_int_equal(json_integer_value(json_object_get(cell, "n")), 4);
    cell = cell_of(root, "observers", observer, "Double-coded share");
    assert_false(json_is_true(json_object_get(cell, "insufficient")));
    json_decref(root);

    /* Filtered: the page says so, and counts the assigned one only. */
    root = dashboard_json(org, "lead.gil", 1);
    assert_true(json_is_true(json_object_get(root, "assigned_only")));
    assert_non_null(strstr(json_string_value(json_object_get(root, "title")),
                           "assigned observations only, the unbiased sample"));
    cell = cell_of(root, "observers", observer, "Observations");
    assert_int_equal((long long)json_number_value(json_object_get(cell, "value")), 1);
    cell = cell_of(root, "observers-assigned", observer, "Share");
    assert_true(json_number_value(json_object_get(cell, "value")) == 0.25);
    /* The minimum n holds on the filtered figure's own n (1 < 3). */
    cell = cell_of(root, "observers", observer, "Double-coded share");
    assert_true(json_is_true(json_object_get(cell, "insufficient")));
    assert_true(json_is_null(json_object_get(cell, "value")));
    json_decref(root);

    same_as_assigned_store(org, observer, now);

    /* The text form says so too. */
    coachq_as(org, "lead.gil", out, sizeof(out), 0, "dashboard", "programme", "--assigned-only",
              NULL);
    assert_non_null(strstr(out, "assigned observations only"));

    /* An amendment of the assigned observation, without naming the
     * assignment, stays assigned (now scored 2): the plan's share from
     * random assignment and the observer's assigned share stay 1 of 4. */
    root = dashboard_json(org, "lead.gil", 0);
    from_random(root, before, sizeof(before));
    assert_non_null(strstr(before, "% (1 of "));
    json_decref(root);
    submit(org, observer, 0, "rep.ida", now - 120, 2, a, am);
    root = dashboard_json(org, "lead.gil", 0);
    from_random(root, after, sizeof(after));
    assert_string_equal(after, before);
    cell = cell_of(root, "observers-assigned", observer, "Share");
    assert_true(json_number_value(json_object_get(cell, "value")) == 0.25);
    json_decref(root);

    /* A second observer double-codes the assigned session and amends
     * their record: the assigned observer's twins take the pair and give
     * it back (verify below compares them with a rebuild); the second
     * observer's records are not assigned. */
    {
        const char *other = strcmp(observer, "alice") == 0 ? "bob" : "alice";
        uint8_t dc[16], dc2[16];

        submit(org, other, 0, "rep.ida", now - 120, 3, NULL, dc);
        submit(org, other, 0, "rep.ida", now - 120, 2, dc, dc2);
    }

    /* Other dashboards refuse the filter: the client before asking, the
     * server naming the field. */
    coachq_as(org, "lead.gil", out, sizeof(out), 2, "dashboard", "manager", "flm.cara",
              "--assigned-only");
    /* Nor one observer's calibration history. */
    coachq_as(org, "lead.gil", out, sizeof(out), 2, "dashboard", "observers", observer,
              "--assigned-only");
    {
        struct client *c = testutil_connect(&org->srv, "lead.gil", 0);
        Coachq__V1__GetDashboard q = COACHQ__V1__GET_DASHBOARD__INIT;
        Coachq__V1__Dashboard *d = NULL;
        struct client_error e;

        q.kind = COACHQ__V1__DASHBOARD_KIND__DASHBOARD_KIND_MANAGER;
        q.subject_id = (char *)"flm.cara";
        q.assigned_only = 1;
        assert_true(client_dashboard(c, &q, &d, &e) < 0);
        assert_null(d);
        assert_string_equal(e.field, "get_dashboard.assigned_only");
        client_free(c);
    }
    /* Access unchanged: an observer may not open the page, filtered or not. */
    {
        int plain =
            coachq_as(org, observer, out, sizeof(out), -1, "dashboard", "observers", NULL, NULL);
        int filtered = coachq_as(org, observer, out, sizeof(out), -1, "dashboard", "observers",
                                 "--assigned-only", NULL);

        assert_int_not_equal(plain, 0);
        assert_int_equal(plain, filtered);
    }
    testutil_stop_clean(&org->srv);

    check_twins(org->data, observer, 2);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "verify",
                                         "--data", org->data, NULL),
                     0);

    /* Format 3: records that do not say it, rebuilt on open from the done
     * assignment, to the same values. */
    make_format3(org->data, 0, &cleared);
    assert_int_equal(cleared, 2); /* the original and its amendment */
    check_twins(org->data, observer, 2);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "verify",
                                         "--data", org->data, NULL),
                     0);
    /* The same from schema 6, whose upgrade rebuilds the aggregates before
     * the records are marked: they are rebuilt again with the marks. */
    cleared = 0;
    make_format3(org->data, 6, &cleared);
    assert_int_equal(cleared, 2);
    check_twins(org->data, observer, 2);
    assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "verify",
                                         "--data", org->data, NULL),
                     0);

    /* Anonymised: the coach's ids and the assignment link go, the assigned
     * bit stays, so the observer's and the organisation's twins keep the
     * record (the coach's is now the anonymous id's). */
    {
        char asof[16];
        time_t later = (time_t)now + 3 * 86400;
        struct tm tm;
        struct store *s;
        struct sums mine, org_asg, coach;

        gmtime_r(&later, &tm);
        strftime(asof, sizeof(asof), "%Y-%m-%d", &tm);
        assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err),
                                             "retention", "--older-than", "1d", "--anonymise",
                                             "--as-of", asof, "--data", org->data, NULL),
                         0);
        s = testutil_store_open(org->data, 0);
        mine = sums_of(s, AGG_OBSERVER_ASG, observer);
        org_asg = sums_of(s, AGG_ORG_ASG, AGG_ORG_ALL);
        coach = sums_of(s, AGG_COACH_ASG, "flm.cara");
        assert_int_equal(mine.observations, 1);
        assert_int_equal(org_asg.observations, 1);
        assert_int_equal(coach.observations, 0);
        store_close(s);
        assert_int_equal(testutil_coachqd_in(org->dir, out, sizeof(out), err, sizeof(err), "verify",
                                             "--data", org->data, NULL),
                         0);
    }
}

/* The number in the cell of column col of observer's row of the
 * observers table (root's); NAN when the cell has none. */
static double observers_value(json_t *root, const char *observer, const char *col)
{
    json_t *v = json_object_get(cell_of(root, "observers", observer, col), "value");

    return json_is_number(v) ? json_number_value(v) : NAN;
}

/*
 * Observer reliability's drift and coverage under the filter read the
 * observer's assigned values. With a load cap of 1, flm.cara and mgr.jones
 * get two observers, x and y. x scores flm.cara (assigned, 3) and mgr.jones
 * (not assigned: y holds it, 2); y scores mgr.jones (assigned, 3). Of the
 * three front-line managers (flm.cara, flm.dan, mgr.jones), x covers two
 * unfiltered (2/3) and one filtered (1/3): x's mgr.jones session is not
 * assigned, though y's is. x's drift unfiltered is mgr.jones's 2 - 3 = -1
 * over 10 ratings (nobody else scored flm.cara); filtered, x has no
 * assigned session of a manager another observer scored: none.
 */
static void test_assigned_drift_coverage(void **state)
{
    struct testutil_org *org = *state;
    static char out[65536];
    char x[65], y[65];
    uint8_t id[16];
    int64_t now = (int64_t)time(NULL);
    json_t *all, *asg;

    plan_assign_list(org, "1", out, sizeof(out));
    assignee_of(out, "flm.cara", x, sizeof(x));
    assignee_of(out, "mgr.jones", y, sizeof(y));
    assert_string_not_equal(x, y);
    testutil_server_start(&org->srv, org->data, NULL);
    submit_of(org, x, 0, "flm.cara", "rep.ida", now - 120, 3, NULL, id);
    submit_of(org, x, 1, "mgr.jones", "rep.kim", now - 3600, 2, NULL, id);
    submit_of(org, y, 0, "mgr.jones", "rep.kim", now - 7200, 3, NULL, id);

    all = dashboard_json(org, "lead.gil", 0);
    asg = dashboard_json(org, "lead.gil", 1);
    /* The filter holds one assigned session of each observer. */
    assert_true(observers_value(all, x, "Observations") == 2);
    assert_true(observers_value(asg, x, "Observations") == 1);
    assert_true(observers_value(asg, y, "Observations") == 1);
    assert_true(fabs(observers_value(all, x, "Coverage") - 2.0 / 3.0) < 1e-12);
    assert_true(fabs(observers_value(asg, x, "Coverage") - 1.0 / 3.0) < 1e-12);
    assert_true(fabs(observers_value(asg, y, "Coverage") - 1.0 / 3.0) < 1e-12);
    assert_true(observers_value(all, x, "Severity drift") == -1);
    assert_int_equal(
        json_integer_value(json_object_get(cell_of(all, "observers", x, "Severity drift"), "n")),
        10);
    assert_true(isnan(observers_value(asg, x, "Severity drift")));
    json_decref(all);
    json_decref(asg);
    testutil_stop_clean(&org->srv);
}

/* The web: ?assigned=1 on the two pages, their toggle and their JSON link
 * keeping it; a malformed value and the other pages refused. */
static void test_assigned_web(void **state)
{
    const struct testutil_web *w = *state;
    const char *lead = w->cookie[TESTUTIL_WEB_R_LEAD];
    struct testutil_http_resp r;

    assert_int_equal(testutil_web_req(w, "GET", "/d/observers", lead, NULL, NULL, &r), 200);
    assert_true(testutil_web_has(r.body, "href=\"/d/observers?assigned=1\""));
    assert_true(testutil_web_has(r.body, "<th>Assigned</th>") ||
                testutil_web_has(r.body, ">Assigned<"));
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/d/observers?assigned=1", lead, NULL, NULL, &r),
                     200);
    assert_true(testutil_web_has(r.body, "assigned observations only, the unbiased sample"));
    assert_true(testutil_web_has(r.body, "<a href=\"/d/observers\">Show every observation</a>"));
    assert_true(testutil_web_has(r.body, "/api/v1/dashboards/observers?assigned=1"));
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/d/programme?until=2026-01-04&assigned=1", lead,
                                      NULL, NULL, &r),
                     200);
    assert_true(testutil_web_has(r.body, "assigned observations only"));
    assert_true(testutil_web_has(r.body, "href=\"/d/programme?until=2026-01-04\""));
    testutil_http_resp_free(&r);
    assert_int_equal(
        testutil_web_req(w, "GET", "/api/v1/dashboards/observers?assigned=1", lead, NULL, NULL, &r),
        200);
    assert_true(testutil_web_has(r.body, "\"assigned_only\": true"));
    testutil_http_resp_free(&r);
    /* Refused: a value other than 0 or 1, and the pages that do not take it. */
    assert_int_equal(testutil_web_req(w, "GET", "/d/observers?assigned=yes", lead, NULL, NULL, &r),
                     400);
    assert_true(testutil_web_has(r.body, "assigned"));
    testutil_http_resp_free(&r);
    assert_int_equal(testutil_web_req(w, "GET", "/api/v1/dashboards/manager/flm.cara?assigned=1",
                                      lead, NULL, NULL, &r),
                     400);
    assert_true(testutil_web_has(r.body, "assigned_only"));
    testutil_http_resp_free(&r);
    /* One observer's calibration history is not a page of observations. */
    assert_int_equal(testutil_web_req(w, "GET", "/d/observers/obs.ann", lead, NULL, NULL, &r), 200);
    testutil_http_resp_free(&r);
    assert_int_equal(
        testutil_web_req(w, "GET", "/d/observers/obs.ann?assigned=1", lead, NULL, NULL, &r), 400);
    assert_true(testutil_web_has(r.body, "calibration history"));
    testutil_http_resp_free(&r);
    /* Access unchanged: an observer gets what they get without it. */
    {
        int plain = testutil_web_req(w, "GET", "/d/programme", w->cookie[TESTUTIL_WEB_R_OBS], NULL,
                                     NULL, &r);

        testutil_http_resp_free(&r);
        assert_int_equal(testutil_web_req(w, "GET", "/d/programme?assigned=1",
                                          w->cookie[TESTUTIL_WEB_R_OBS], NULL, NULL, &r),
                         plain);
        assert_int_not_equal(plain, 200);
        testutil_http_resp_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_assigned_over_tls, testutil_org_setup,
                                        testutil_org_teardown),
        cmocka_unit_test_setup_teardown(test_assigned_drift_coverage, testutil_org_setup,
                                        testutil_org_teardown),
    };
    const struct CMUnitTest web[] = {
        cmocka_unit_test(test_assigned_web),
    };
    int rc;

    testutil_watchdog(240);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    return rc | cmocka_run_group_tests(web, testutil_web_setup, testutil_web_teardown);
}
