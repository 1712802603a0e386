/*
 * test_actions: agreed actions tracked to done, through a real coachqd
 * (TLS on 127.0.0.1 port 0, LMDB in a temporary directory) and the real
 * client: `coachq submit` agrees actions and follows them up in a later
 * session, `coachq actions` lists them per coach, coachee and line with
 * open and overdue filters, every bad input is refused with its field named
 * and changes nothing, an amendment changes a status with a new version,
 * each role sees only what auth allows, and `coachqd verify` finds the
 * records match the observations (and derives them again after damage).
 */
#include <errno.h>
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

#include "day.h"
#include "store.h"
#include "testutil.h"

#define OUT_LEN TESTUTIL_CLI_OUT_LEN
#define WATCHDOG_SECONDS 300
#define DAY_S 86400

#define U1 "a1a1a1a1-0000-4000-8000-000000000001"
#define U2 "a1a1a1a1-0000-4000-8000-000000000002"
#define OBS1 "0b5e0000-0000-4000-8000-000000000001"
#define OBS2 "0b5e0000-0000-4000-8000-000000000002"
#define OBS2B "0b5e0000-0000-4000-8000-0000000000b2"
#define OBS3 "0b5e0000-0000-4000-8000-000000000003"
#define OBSM "0b5e0000-0000-4000-8000-0000000000c1"
#define OBSM2 "0b5e0000-0000-4000-8000-0000000000c2"
#define UM "a1a1a1a1-0000-4000-8000-0000000000c1"
#define OBSY "0b5e0000-0000-4000-8000-0000000000d1"

static struct testutil_cli f;

/* Runs coachq as user, expecting exit status expect; output in f.out. */
#define CQ(expect, user, ...) TESTUTIL_CQ(&f, (expect), (user), __VA_ARGS__)

/* An ISO time days_ago days before the test's start. */
static void iso(int days_ago, char *out, size_t len)
{
    day_format_time(f.now - (int64_t)days_ago * DAY_S, out, len);
}

/* The UTC day days_ago days before the test's start. */
static void day_str(int days_ago, char *out, size_t len)
{
    day_format((f.now - (int64_t)days_ago * DAY_S) / DAY_S, out, len);
}

/*
 * Writes an observation of coach and coachee by alice days_ago days ago
 * with id, the extra JSON members extra (",\"actions\": [...]" etc.), to
 * f.file.
 */
static void write_obs(const char *id, const char *coach, const char *coachee, int days_ago,
                      const char *extra)
{
    static const char *const b[10] = {
        "collaborative",     "regular-cadence",    "consistent-framework",
        "buyers-view",       "looks-for-evidence", "elicits-critical-thinking",
        "praises-insight",   "objective-curious",  "doesnt-take-over",
        "documents-actions",
    };
    char when[32], ratings[1200];
    size_t n = 0;
    FILE *fp;

    iso(days_ago, when, sizeof(when));
    for (int i = 0; i < 10; i++) {
        n += (size_t)snprintf(ratings + n, sizeof(ratings) - n,
                              "%s{\"behaviour\": \"%s\", \"score\": 3}", i > 0 ? ", " : "", b[i]);
    }
    fp = fopen(f.file, "w");
    assert_non_null(fp);
    fprintf(fp,
            "{\"id\": \"%s\", \"rubric\": \"coaching-conversation\", \"rubric_version\": 1,\n"
            " \"coach\": \"%s\", \"coachee\": \"%s\", \"session_type\": \"deal_review\",\n"
            " \"focus\": \"skill\", \"started_at\": \"%s\", \"duration_min\": 30,\n"
            " \"ratings\": [%s]%s}\n",
            id, coach, coachee, when, ratings, extra);
    fclose(fp);
}

/* The actions lead.gil lists for flm.cara, as JSON text (caller frees). */
static char *cara_actions(void)
{
    CQ(0, "lead.gil", "actions", "--coach", "flm.cara", "--json");
    return strdup(f.out);
}

static json_t *parse_out(void)
{
    json_error_t je;
    json_t *j = json_loads(f.out, 0, &je);

    if (j == NULL) {
        fail_msg("not JSON: %s\n%s", je.text, f.out);
    }
    return j;
}

/* The record with id in a listed array, or NULL. */
static json_t *find(json_t *arr, const char *id)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0) {
            return v;
        }
    }
    return NULL;
}

static const char *status_of(json_t *arr, const char *id)
{
    json_t *r = find(arr, id);

    assert_non_null(r);
    return json_string_value(json_object_get(r, "status"));
}

/* The cells of the row of table id whose first cell reads label, or NULL. */
static json_t *dash_row_of(json_t *dash, const char *id, const char *label)
{
    json_t *t, *row;
    size_t i, k;

    json_array_foreach(json_object_get(dash, "tables"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "id")), id) != 0) {
            continue;
        }
        json_array_foreach(json_object_get(t, "rows"), k, row)
        {
            const char *text = json_string_value(json_object_get(json_array_get(row, 0), "text"));

            if (text != NULL && strcmp(text, label) == 0) {
                return row;
            }
        }
    }
    return NULL;
}

/* The cells of the focus_progress row of focus, or NULL. */
static json_t *focus_row_of(json_t *dash, const char *focus)
{
    json_t *t, *row;
    size_t i, k;

    json_array_foreach(json_object_get(dash, "tables"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "id")), "focus-progress") != 0) {
            continue;
        }
        json_array_foreach(json_object_get(t, "rows"), k, row)
        {
            const char *text = json_string_value(json_object_get(json_array_get(row, 1), "text"));

            if (text != NULL && strcmp(text, focus) == 0) {
                return row;
            }
        }
    }
    return NULL;
}

/* The chart of id in a dashboard, or NULL. */
static json_t *chart_of(json_t *dash, const char *id)
{
    json_t *c;
    size_t i;

    json_array_foreach(json_object_get(dash, "charts"), i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0) {
            return c;
        }
    }
    return NULL;
}

static const char *cell_text(json_t *row, size_t i)
{
    return json_string_value(json_object_get(json_array_get(row, i), "text"));
}

static void contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
    }
}

/* Submits f.file as alice expecting a refusal that names field; the
 * actions of flm.cara stay exactly as before. */
static void refused(const char *field, const char *code)
{
    char *before = cara_actions();
    char *after;

    char *said;

    CQ(1, "alice", "submit", f.file);
    contains(f.out, code);
    contains(f.out, field);
    said = strdup(f.out);
    assert_non_null(said);
    after = cara_actions();
    assert_string_equal(before, after);
    /* The submission's output stays for the caller to check further. */
    snprintf(f.out, OUT_LEN, "%s", said);
    free(said);
    free(before);
    free(after);
}

/*
 * With lost NULL: turns the closed store in dir back into schema 7, which
 * had no action records (the databases deleted, the version set back).
 * Otherwise deletes the action record lost (16 bytes) only.
 */
static void make_schema7(const char *dir, const uint8_t *lost)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, acts, by;
    MDB_val k, v;
    uint8_t ver[4] = {0, 0, 0, 7};

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "actions", 0, &acts), 0);
    if (lost != NULL) {
        k.mv_data = (void *)lost;
        k.mv_size = 16;
        assert_int_equal(mdb_del(txn, acts, &k, NULL), 0);
    } else {
        assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
        assert_int_equal(mdb_dbi_open(txn, "actions_by", 0, &by), 0);
        k.mv_data = (void *)"schema_version";
        k.mv_size = strlen("schema_version");
        assert_int_equal(mdb_get(txn, meta, &k, &v), 0);
        assert_int_equal(v.mv_size, 4);
        assert_int_equal(((const uint8_t *)v.mv_data)[3], STORE_SCHEMA_VERSION);
        v.mv_data = ver;
        v.mv_size = 4;
        assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
        assert_int_equal(mdb_drop(txn, acts, 1), 0);
        assert_int_equal(mdb_drop(txn, by, 1), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Deletes the closed store's actions_by keys that start with one of kinds
 * and, if schema is not 0, sets its schema version: a store of schema 8
 * had no open index ('o', 'n') nor follow-through counters ('w', 'k'). */
static void drop_action_keys(const char *dir, const char *kinds, uint8_t schema)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, by;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t ver[4] = {0, 0, 0, schema};
    int rc, dropped = 0;

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "actions_by", 0, &by), 0);
    assert_int_equal(mdb_cursor_open(txn, by, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size > 0 && strchr(kinds, ((const char *)k.mv_data)[0]) != NULL) {
            assert_int_equal(mdb_cursor_del(cur, 0), 0);
            dropped++;
        }
    }
    mdb_cursor_close(cur);
    assert_true(dropped > 0);
    if (schema != 0) {
        assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
        k.mv_data = (void *)"schema_version";
        k.mv_size = strlen("schema_version");
        v.mv_data = ver;
        v.mv_size = 4;
        assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* Rewrites the closed store's actions_by in the layout of actions format
 * 1: its week counters keyed by scope first ('w', scope, 0, be32 Monday;
 * now 'w', be32 Monday, scope), its contributions by action id alone ('k',
 * id; now 'k', be32 Monday, id) and, for each coach's index entry, one in
 * the index by the day agreed ('a', coach, 0, '-', be64 agreed_at, id),
 * which format 3 drops; and deletes its "actions_format". A store written
 * before these changes. */
static void make_actions_format1(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, by;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t keys[32][200], vals[32][256];
    size_t klen[32], vlen[32];
    size_t n = 0, weeks = 0, contribs = 0;
    int rc;

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "actions_by", 0, &by), 0);
    assert_int_equal(mdb_cursor_open(txn, by, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kb = k.mv_data;

        assert_true(n < 32 && k.mv_size + 1 <= sizeof(keys[0]));
        if (k.mv_size == 21 && kb[0] == 'k') {
            assert_true(v.mv_size <= sizeof(vals[0]));
            keys[n][0] = 'k';
            memcpy(keys[n] + 1, kb + 5, 16);
            klen[n] = 17;
            memcpy(vals[n], v.mv_data, v.mv_size);
            vlen[n++] = v.mv_size;
            contribs++;
            assert_int_equal(mdb_cursor_del(cur, 0), 0);
        } else if (k.mv_size > 6 && kb[0] == 'w') {
            assert_int_equal(v.mv_size, 48);
            keys[n][0] = 'w';
            memcpy(keys[n] + 1, kb + 5, k.mv_size - 5);
            keys[n][k.mv_size - 4] = 0;
            memcpy(keys[n] + k.mv_size - 3, kb + 1, 4);
            klen[n] = k.mv_size + 1;
            memcpy(vals[n], v.mv_data, v.mv_size);
            vlen[n++] = v.mv_size;
            weeks++;
            assert_int_equal(mdb_cursor_del(cur, 0), 0);
        } else if (k.mv_size > 1 && kb[0] == 'c') {
            memcpy(keys[n], kb, k.mv_size);
            keys[n][0] = 'a';
            keys[n][strlen((const char *)kb + 1) + 2] = '-';
            klen[n] = k.mv_size;
            vlen[n++] = 0;
        }
    }
    mdb_cursor_close(cur);
    assert_true(weeks > 0 && contribs > 0 && n > weeks + contribs);
    for (size_t i = 0; i < n; i++) {
        k.mv_data = keys[i];
        k.mv_size = klen[i];
        v.mv_data = vals[i];
        v.mv_size = vlen[i];
        assert_int_equal(mdb_put(txn, by, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    k.mv_data = (void *)"actions_format";
    k.mv_size = strlen("actions_format");
    assert_int_equal(mdb_del(txn, meta, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static int setup(void **state)
{
    (void)state;
    testutil_cli_start(&f, WATCHDOG_SECONDS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testutil_cli_stop(&f);
    return 0;
}

static void test_actions_loop(void **state)
{
    char extra[2048], due[16], past[16];
    json_t *j, *r;
    char out[8192];

    (void)state;
    /* Session 1, 20 days ago: two actions; the first due a week later (so
     * overdue today), the second the manager's, on a rep skill. */
    day_str(13, due, sizeof(due));
    snprintf(extra, sizeof(extra),
             ", \"actions\": [{\"id\": \"" U1 "\", \"text\": \"Ask for the buyer's evidence on "
             "every call\", \"owner\": \"rep.ida\", \"due\": \"%s\", \"focus_behaviours\": "
             "[\"looks-for-evidence\"]},"
             " {\"id\": \"" U2 "\", \"text\": \"Join two discovery calls\", \"owner_kind\": "
             "\"manager\", \"focus_skill\": \"discovery questions\"},"
             " {\"text\": \"Review the plan in the next one-to-one\"}]",
             due);
    write_obs(OBS1, "flm.cara", "rep.ida", 20, extra);
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "STORED");

    CQ(0, "lead.gil", "actions", "--coach", "flm.cara", "--json");
    j = parse_out();
    /* The third action came without an id: the server derived one. */
    assert_int_equal(json_array_size(j), 3);
    assert_string_equal(status_of(j, U1), "open");
    assert_string_equal(status_of(j, U2), "open");
    r = find(j, U1);
    assert_true(json_is_true(json_object_get(r, "overdue")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(r, "focus_behaviours"), 0)),
        "looks-for-evidence");
    assert_string_equal(json_string_value(json_object_get(find(j, U2), "owner_kind")), "manager");
    json_decref(j);
    CQ(0, "lead.gil", "actions", "--coachee", "rep.ida", "--overdue", "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 1);
    assert_non_null(find(j, U1));
    json_decref(j);
    CQ(0, "lead.gil", "actions", "--coach", "flm.cara", "--overdue");
    contains(f.out, "[overdue] Ask for the buyer's evidence");

    /* Every bad input is refused with its field named and changes nothing. */
    write_obs("0b5e0000-0000-4000-8000-00000000ee01", "flm.dan", "rep.jon", 5,
              ", \"follow_ups\": [{\"action\": \"" U1 "\", \"status\": \"done\"}]");
    refused("observation.follow_ups[0].action_id", "INVALID_ARGUMENT");
    contains(f.out, "another coach and coachee");
    write_obs("0b5e0000-0000-4000-8000-00000000ee02", "flm.cara", "rep.ida", 5,
              ", \"follow_ups\": [{\"action\": \"a1a1a1a1-0000-4000-8000-0000000000ff\", "
              "\"status\": \"done\"}]");
    refused("observation.follow_ups[0].action_id", "NOT_FOUND");
    day_str(6, past, sizeof(past));
    snprintf(extra, sizeof(extra),
             ", \"actions\": [{\"text\": \"Too late already\", \"due\": \"%s\"}]", past);
    write_obs("0b5e0000-0000-4000-8000-00000000ee03", "flm.cara", "rep.ida", 5, extra);
    refused("observation.actions[0].due_day", "INVALID_ARGUMENT");
    write_obs("0b5e0000-0000-4000-8000-00000000ee04", "flm.cara", "rep.ida", 5,
              ", \"actions\": [{\"text\": \"x\", \"focus_behaviours\": [\"no-such-behaviour\"]}]");
    refused("observation.actions[0].focus_behaviours[0]", "INVALID_ARGUMENT");
    write_obs("0b5e0000-0000-4000-8000-00000000ee05", "flm.cara", "rep.ida", 5,
              ", \"actions\": [{\"id\": \"" U1 "\", \"text\": \"the same id again\"}]");
    refused("observation.actions[0].id", "ALREADY_EXISTS");
    write_obs("0b5e0000-0000-4000-8000-00000000ee06", "flm.cara", "rep.ida", 25,
              ", \"follow_ups\": [{\"action\": \"" U1 "\", \"status\": \"done\"}]");
    refused("observation.follow_ups[0].action_id", "INVALID_ARGUMENT");
    contains(f.out, "not before this one");
    /* A follow-up's time orders the history: one before the action was
     * agreed, or far in the future, is refused naming it. */
    {
        char at[32], body[512];

        iso(25, at, sizeof(at));
        snprintf(body, sizeof(body),
                 ", \"follow_ups\": [{\"action\": \"" U1 "\", \"status\": \"done\", "
                 "\"at\": \"%s\"}]",
                 at);
        write_obs("0b5e0000-0000-4000-8000-00000000ee07", "flm.cara", "rep.ida", 10, body);
        refused("observation.follow_ups[0].at", "INVALID_ARGUMENT");
        contains(f.out, "before the session's start");
        iso(-3650, at, sizeof(at));
        snprintf(body, sizeof(body),
                 ", \"follow_ups\": [{\"action\": \"" U1 "\", \"status\": \"done\", "
                 "\"at\": \"%s\"}]",
                 at);
        write_obs("0b5e0000-0000-4000-8000-00000000ee08", "flm.cara", "rep.ida", 10, body);
        refused("observation.follow_ups[0].at", "INVALID_ARGUMENT");
        contains(f.out, "after the session's end");
    }

    /* Session 2, 10 days ago, follows both up. */
    write_obs(OBS2, "flm.cara", "rep.ida", 10,
              ", \"follow_ups\": [{\"action\": \"" U1 "\", \"status\": \"done\", \"evidence\": "
              "\"asked on three calls\"}, {\"action\": \"" U2 "\", \"status\": \"partly_done\"}]");
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "STORED");
    CQ(0, "lead.gil", "actions", "--coach", "flm.cara", "--json");
    j = parse_out();
    assert_string_equal(status_of(j, U1), "done");
    assert_string_equal(status_of(j, U2), "partly_done");
    r = json_array_get(json_object_get(find(j, U1), "history"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "evidence")), "asked on three calls");
    json_decref(j);
    CQ(0, "lead.gil", "actions", "--coach", "flm.cara", "--open", "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 2);
    assert_non_null(find(j, U2));
    json_decref(j);
    /* Another observer sees the pair's open actions (they may observe the
     * pair's next session and follow them up), not the done one. */
    CQ(0, "obs.ben", "actions", "--coach", "flm.cara", "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 2);
    assert_non_null(find(j, U2));
    assert_null(find(j, U1));
    json_decref(j);

    /* Going back from done in a new session is refused ... */
    write_obs("0b5e0000-0000-4000-8000-00000000ee07", "flm.cara", "rep.ida", 5,
              ", \"follow_ups\": [{\"action\": \"" U1 "\", \"status\": \"not_done\"}]");
    refused("observation.follow_ups[0].status", "FAILED_PRECONDITION");
    /* ... and allowed by amending the session that said done: a new
     * version, the old event kept in the history. */
    write_obs(OBS2B, "flm.cara", "rep.ida", 10,
              ", \"amends\": \"" OBS2 "\", \"follow_ups\": [{\"action\": \"" U1
              "\", \"status\": \"not_done\"}, {\"action\": \"" U2
              "\", \"status\": \"partly_done\"}]");
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "version=2");
    CQ(0, "lead.gil", "actions", "--coach", "flm.cara", "--json");
    j = parse_out();
    assert_string_equal(status_of(j, U1), "not_done");
    r = json_object_get(find(j, U1), "history");
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "status")), "done");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(r, 1), "version")), 2);
    /* The unchanged follow-up of U2 added no event. */
    assert_int_equal(json_array_size(json_object_get(find(j, U2), "history")), 1);
    json_decref(j);

    /* Who sees what: the observer who scored, the coach, the coach's line
     * and leads; another observer only the open ones (all three are open
     * again: the amendment made U1 not done); not another coach or line. */
    CQ(0, "alice", "actions", "--coach", "flm.cara", "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 3);
    json_decref(j);
    CQ(0, "flm.cara", "actions", "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 3);
    json_decref(j);
    CQ(0, "slm.eve", "actions", "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 3);
    json_decref(j);
    CQ(0, "obs.ben", "actions", "--coach", "flm.cara", "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 3);
    assert_non_null(find(j, U1));
    json_decref(j);
    CQ(0, "flm.dan", "actions", "--coachee", "rep.ida", "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    CQ(0, "slm.fay", "actions", "--line", "slm.eve", "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);

    /* The amendment reads back with its follow-ups, and the first session
     * with its actions' ids, owner kind and focus. */
    CQ(0, "alice", "get", OBS2B, "--json");
    j = parse_out();
    r = json_array_get(json_object_get(j, "follow_ups"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "action")), U1);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "not_done");
    json_decref(j);
    CQ(0, "alice", "get", OBS1, "--json");
    j = parse_out();
    r = json_array_get(json_object_get(j, "actions"), 1);
    assert_string_equal(json_string_value(json_object_get(r, "id")), U2);
    assert_string_equal(json_string_value(json_object_get(r, "owner_kind")), "manager");
    assert_string_equal(json_string_value(json_object_get(r, "focus_skill")),
                        "discovery questions");
    json_decref(j);

    /* The dashboards, worked by hand: flm.cara agreed 3 actions in the
     * window; 2 were followed up (U1 not done, U2 partly done), none is
     * done. All 3 are still open, U1 overdue. */
    CQ(0, "slm.eve", "dashboard", "managers", "--json");
    j = parse_out();
    r = dash_row_of(j, "follow-through", "Cara Lind");
    assert_non_null(r);
    assert_true(json_number_value(json_object_get(json_array_get(r, 1), "value")) == 3.0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 2), "text")), "67%");
    assert_true(json_number_value(json_object_get(json_array_get(r, 2), "n")) == 3.0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 3), "text")), "0%");
    /* By latest status: U2 partly done, U1 not done (the amendment moved
     * it from done, not counted twice), none dropped. */
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 4), "text")), "33%");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 5), "text")), "33%");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 6), "text")), "0%");
    json_decref(j);
    CQ(0, "flm.cara", "dashboard", "me", "--json");
    contains(f.out, "3 open actions agreed in coaching sessions, 1 overdue");
    contains(f.out, "not done, overdue");
    contains(f.out, "Join two discovery calls");
    CQ(0, "slm.eve", "dashboard", "manager", "flm.cara", "--json");
    contains(f.out, "3 open actions agreed in coaching sessions, 1 overdue");

    /* Focus progress, worked by hand. Session 3, 5 days ago, follows both
     * up as done. U1 (Looks for evidence): session 2 said done, its
     * amendment not done (the amendment's word stands: one point), then
     * done. U2 (the skill): partly done, then done. The third action has
     * no focus: no row. */
    write_obs(OBS3, "flm.cara", "rep.ida", 5,
              ", \"follow_ups\": [{\"action\": \"" U1 "\", \"status\": \"done\"}, {\"action\": "
              "\"" U2 "\", \"status\": \"done\"}]");
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "STORED");
    CQ(0, "slm.eve", "dashboard", "manager", "flm.cara", "--json");
    j = parse_out();
    day_str(10, past, sizeof(past));
    day_str(5, due, sizeof(due));
    r = focus_row_of(j, "Looks for evidence");
    assert_non_null(r);
    assert_true(json_number_value(json_object_get(json_array_get(r, 2), "value")) == 2.0);
    snprintf(extra, sizeof(extra), "%s not done \u2192 %s done", past, due);
    assert_string_equal(cell_text(r, 3), extra);
    assert_string_equal(cell_text(r, 4), "done");
    r = focus_row_of(j, "discovery questions");
    assert_non_null(r);
    snprintf(extra, sizeof(extra), "%s partly done \u2192 %s done", past, due);
    assert_string_equal(cell_text(r, 3), extra);
    r = chart_of(j, "focus-progress");
    assert_non_null(r);
    assert_int_equal(json_array_size(json_object_get(r, "x_labels")), 2);
    assert_int_equal(json_array_size(json_object_get(r, "series")), 2);
    {
        json_t *s, *y;
        size_t i;
        double sum = 0;

        /* not done 0 -> done 2; partly done 1 -> done 2. */
        json_array_foreach(json_object_get(r, "series"), i, s)
        {
            y = json_object_get(s, "y");
            assert_int_equal(json_array_size(y), 2);
            assert_true(json_number_value(json_array_get(y, 1)) == 2.0);
            sum += json_number_value(json_array_get(y, 0));
        }
        assert_true(sum == 1.0);
    }
    json_decref(j);
    /* The same in CSV and text. */
    CQ(0, "slm.eve", "dashboard", "manager", "flm.cara", "--csv", "focus-progress");
    contains(f.out, "discovery questions");
    contains(f.out, "partly done \u2192");
    CQ(0, "flm.cara", "dashboard", "manager", "flm.cara");
    contains(f.out, "Focus progress");
    contains(f.out, "Looks for evidence");
    /* Done twice now: follow-through moves, nothing counted twice. */
    CQ(0, "slm.eve", "dashboard", "managers", "--json");
    j = parse_out();
    r = dash_row_of(j, "follow-through", "Cara Lind");
    assert_non_null(r);
    assert_true(json_number_value(json_object_get(json_array_get(r, 1), "value")) == 3.0);
    assert_string_equal(cell_text(r, 2), "67%");
    assert_string_equal(cell_text(r, 3), "67%");
    assert_string_equal(cell_text(r, 4), "0%");
    assert_string_equal(cell_text(r, 5), "0%");
    json_decref(j);
    CQ(0, "flm.cara", "dashboard", "me", "--json");
    contains(f.out, "1 open action agreed in coaching sessions, 0 overdue");
    /* A peer manager and another line's second-level manager see no
     * Manager detail of flm.cara, so no focus progress. */
    CQ(1, "flm.dan", "dashboard", "manager", "flm.cara", "--json");
    assert_null(strstr(f.out, "Looks for evidence"));
    CQ(1, "slm.fay", "dashboard", "manager", "flm.cara", "--json");
    assert_null(strstr(f.out, "Looks for evidence"));

    /* Usage errors. */
    CQ(2, "lead.gil", "actions", "--coach", "flm.cara", "--coachee", "rep.ida");
    CQ(2, "lead.gil", "actions", "--coach", "not an id");
    CQ(2, "lead.gil", "actions", "extra");
    CQ(1, "obs.ben", "actions");
    contains(f.out, "list_actions.coach_id");

    /* An amendment that moves a session to another pair moves the actions
     * it agreed, and none of the old pair's stays behind; unless a later
     * session of the old pair followed one up: then it is refused, naming
     * the field, and nothing changes. */
    write_obs(OBSM, "flm.cara", "rep.ida", 4,
              ", \"actions\": [{\"id\": \"" UM "\", \"text\": \"Share the call plan\"}]");
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "STORED");
    write_obs(OBSM2, "flm.dan", "rep.jon", 4,
              ", \"amends\": \"" OBSM "\", \"actions\": [{\"id\": \"" UM
              "\", \"text\": \"Share the call plan\"}]");
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "version=2");
    CQ(0, "lead.gil", "actions", "--coach", "flm.dan", "--json");
    j = parse_out();
    assert_non_null(find(j, UM));
    assert_string_equal(json_string_value(json_object_get(find(j, UM), "coachee")), "rep.jon");
    json_decref(j);
    CQ(0, "lead.gil", "actions", "--coach", "flm.cara", "--json");
    j = parse_out();
    assert_null(find(j, UM));
    assert_int_equal(json_array_size(j), 3);
    json_decref(j);
    write_obs("0b5e0000-0000-4000-8000-00000000ee0a", "flm.dan", "rep.jon", 20,
              ", \"amends\": \"" OBS1 "\", \"actions\": [{\"id\": \"" U1
              "\", \"text\": \"Ask for the buyer's evidence on every call\"}, {\"id\": \"" U2
              "\", \"text\": \"Join two discovery calls\"}]");
    refused("observation.coach_id", "FAILED_PRECONDITION");
    contains(f.out, "followed it up");

    /* U1 is done: an amendment of a session that never followed it up may
     * not add a word against done (only the session that said something
     * may change it). */
    write_obs(OBSY, "flm.cara", "rep.ida", 3, "");
    CQ(0, "alice", "submit", f.file);
    contains(f.out, "STORED");
    write_obs("0b5e0000-0000-4000-8000-0000000000d2", "flm.cara", "rep.ida", 3,
              ", \"amends\": \"" OBSY "\", \"follow_ups\": [{\"action\": \"" U1
              "\", \"status\": \"not_done\"}]");
    refused("observation.follow_ups[0].status", "FAILED_PRECONDITION");

    /* The records match the observations; damaged, verify finds it and
     * --repair derives them again. */
    assert_int_equal(testutil_server_stop(&f.srv, 15), 0);
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f.data, NULL);
    contains(out, "the action records match the observations");
    contains(out, "action records: 4");

    /* A store from schema 7 had no action records: opening it derives
     * them from the observations, and again gives the same. */
    make_schema7(f.data, NULL);
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f.data, NULL);
    contains(out, "action records: 4");
    contains(out, "the action records match the observations");
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f.data, NULL);
    contains(out, "action differences: 0");

    /* A record lost: verify says so (exit 1) and --repair derives it. */
    make_schema7(
        f.data,
        (const uint8_t *)"\xa1\xa1\xa1\xa1\x00\x00\x40\x00\x80\x00\x00\x00\x00\x00\x00\x01");
    testutil_coachqd(out, sizeof(out), 1, "verify", "--data", f.data, NULL);
    contains(out, "action records: 3");
    contains(out, "the action records differ from the observations");
    testutil_coachqd(out, sizeof(out), 0, "verify", "--repair", "--data", f.data, NULL);
    contains(out, "repaired: every action record was derived again");
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f.data, NULL);
    contains(out, "action records: 4");
    contains(out, "the action records match the observations");

    /* A follow-through counter lost: verify finds it. */
    drop_action_keys(f.data, "w", 0);
    testutil_coachqd(out, sizeof(out), 1, "verify", "--data", f.data, NULL);
    contains(out, "the action records differ from the observations");
    testutil_coachqd(out, sizeof(out), 0, "verify", "--repair", "--data", f.data, NULL);

    /* A store of schema 8 had no open index nor counters: opening it
     * derives them, and the dashboards read the same figures. */
    drop_action_keys(f.data, "wkon", 8);
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f.data, NULL);
    contains(out, "the action records match the observations");
    contains(out, "action differences: 0");

    /* A store of actions format 1 (week counters keyed by scope first, an
     * index by the day agreed): opening it keys the counters by week
     * first and drops that index, and verify finds actions_by as the
     * observations give it. */
    make_actions_format1(f.data);
    testutil_coachqd(out, sizeof(out), 0, "verify", "--data", f.data, NULL);
    contains(out, "the action records match the observations");
    contains(out, "action differences: 0");
}

/*
 * A pair with more action records than one ListActions reads (store/
 * actions.h, ACTIONS_EXAMINE_MAX: 1,000): mgr.jones agreed 50 actions in
 * each of 21 sessions with rep.kim, 2 of each due on the session's day
 * (42 overdue). A manager of another line, who may see none of them, is
 * answered at once with none and told the list was cut; a lead gets the
 * first 500; --overdue reads the open index and lists exactly the 42.
 */
static void test_actions_bounded(void **state)
{
    enum { SESSIONS = 21, PER = 50 };
    char *extra = malloc(16384);
    char id[40], path[20][760];
    size_t n;
    json_t *j;

    (void)state;
    assert_non_null(extra);
    for (int s = 0; s < SESSIONS; s++) {
        char due[16];

        day_str(40 - s, due, sizeof(due));
        n = (size_t)snprintf(extra, 16384, ", \"actions\": [");
        for (int i = 0; i < PER; i++) {
            n += (size_t)snprintf(extra + n, 16384 - n,
                                  "%s{\"text\": \"action %d of session %d\"%s%s%s}",
                                  i > 0 ? ", " : "", i, s, i < 2 ? ", \"due\": \"" : "",
                                  i < 2 ? due : "", i < 2 ? "\"" : "");
        }
        snprintf(extra + n, 16384 - n, "]");
        snprintf(id, sizeof(id), "0b5e0000-0000-4000-8000-0000000e%04d", s);
        write_obs(id, "mgr.jones", "rep.kim", 40 - s, extra);
        if (s < SESSIONS - 1) {
            snprintf(path[s], sizeof(path[s]), "%s/bulk%02d.json", f.dir, s);
            assert_int_equal(rename(f.file, path[s]), 0);
        }
    }
    CQ(0, "alice", "submit", path[0], path[1], path[2], path[3], path[4], path[5], path[6], path[7],
       path[8], path[9], path[10], path[11], path[12], path[13], path[14], path[15], path[16],
       path[17], path[18], path[19], f.file);

    /* Another line's manager reads none of the 1,050, and the answer comes
     * after the cap, saying so. */
    CQ(0, "flm.dan", "actions", "--coachee", "rep.kim");
    contains(f.out, "0 actions");
    contains(f.out, "cut");
    /* A lead gets the first 500, cut. */
    CQ(0, "lead.gil", "actions", "--coach", "mgr.jones", "--json");
    j = parse_out();
    assert_int_equal(json_array_size(j), 500);
    json_decref(j);
    /* Overdue: exactly the 42, from the index. */
    CQ(0, "lead.gil", "actions", "--coach", "mgr.jones", "--overdue");
    contains(f.out, "42 actions\n");
    CQ(0, "slm.eve", "actions", "--overdue");
    contains(f.out, "42 actions\n");
    free(extra);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_actions_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actions_bounded, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
