/*
 * test_actions_list: the reads of store/actions.c's actions_list_txn()
 * (what ListActions answers) stay bounded by the page asked for, whatever
 * the history: a coach with more action records than one request may read
 * is answered after ACTIONS_EXAMINE_MAX records, said to be cut, even when
 * the caller keeps none of them (a manager listing another team's rep, an
 * observer listing done actions of others); --overdue reads the coach's
 * open index by due day and never a record due later.
 *
 * With the organisation's rules on (a store of its own): the checks of
 * actions and follow-ups that read records pass a store error on rather
 * than take it for "no record", and a due date is judged against the
 * session's day in the coach's zone, around midnight UTC, with zones far
 * ahead of and far behind UTC.
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
#include <lmdb.h>

#include "actions.h"
#include "obs.h"
#include "error.h"
#include "store.h"
#include "testutil.h"
#include "zone.h"

/* "Today": 2024-06-12 (day 19886). */
#define TODAY 19886
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)
/* Sessions of flm.a with rep.1, each agreeing PER actions, of which DUE
 * are due on the session's day (overdue today), the rest without a due
 * day. */
#define SESSIONS 25
#define PER 50
#define DUE 2

/* One session of coach with coachee on day, agreeing n actions, the first
 * due of them due that day. */
static void observe(struct testutil_store_fx *f, const char *coach, const char *coachee,
                    int32_t day, unsigned n, unsigned due)
{
    struct testutil_obs o;
    Coachq__V1__Action a[PER];
    Coachq__V1__Action *ap[PER];

    testutil_obs_make(&o, coach, coachee, (int64_t)day * 86400 + 9 * 3600);
    for (unsigned i = 0; i < n && i < PER; i++) {
        Coachq__V1__Action init = COACHQ__V1__ACTION__INIT;

        a[i] = init;
        a[i].text = (char *)"practise the discovery questions";
        a[i].owner_id = (char *)coachee;
        a[i].due_day = i < due ? (uint32_t)day : 0;
        ap[i] = &a[i];
    }
    o.o.actions = ap;
    o.o.n_actions = n < PER ? n : PER;
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.1", NOW_S * 1000), 0);
}

static int setup(void **state)
{
    struct testutil_store_fx *f;

    testutil_watchdog(300);
    f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    for (int i = 0; i < SESSIONS; i++) {
        observe(f, "flm.a", "rep.1", TODAY - 60 + 2 * i, PER, DUE);
    }
    observe(f, "flm.b", "rep.2", TODAY - 3, 3, 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    testutil_store_fx_free(*state);
    return 0;
}

/* A list and what it saw. keep: what the callback answers (0 hides
 * nothing but keeps nothing either, as for a caller who may see none). */
struct run {
    struct actions_query q;
    struct actions_list_stat st;
    size_t visited;
    size_t late; /* visited records not overdue on q.today */
    int keep;
};

static int count_cb(const Coachq__V1__ActionRecord *r, void *arg)
{
    struct run *x = arg;

    x->visited++;
    if (r->due_day == 0 || (int64_t)r->due_day >= (int64_t)x->q.today) {
        x->late++;
    }
    return x->keep;
}

static int list_txn(struct store_txn *t, void *arg)
{
    struct run *x = arg;

    return actions_list_txn(t, &x->q, count_cb, x, &x->st);
}

static void run_list(struct testutil_store_fx *f, struct run *x)
{
    x->q.today = TODAY;
    assert_int_equal(store_view(f->s, list_txn, x), 0);
}

/* A pair with many records the caller keeps none of is answered after
 * ACTIONS_EXAMINE_MAX records, and says it was cut. */
static void test_hidden_history_is_capped(void **state)
{
    struct testutil_store_fx *f = *state;
    struct run x;

    assert_true(SESSIONS * PER > ACTIONS_EXAMINE_MAX);
    memset(&x, 0, sizeof(x));
    x.q.coach = "flm.a";
    run_list(f, &x);
    assert_int_equal(x.st.examined, ACTIONS_EXAMINE_MAX);
    assert_int_equal(x.visited, ACTIONS_EXAMINE_MAX);
    assert_true(x.st.capped);

    memset(&x, 0, sizeof(x));
    x.q.coachee = "rep.1";
    x.q.open_only = 1;
    run_list(f, &x);
    assert_int_equal(x.st.examined, ACTIONS_EXAMINE_MAX);
    assert_true(x.st.capped);

    /* A smaller cap, as asked. */
    memset(&x, 0, sizeof(x));
    x.q.coach = "flm.a";
    x.q.examine_max = 10;
    run_list(f, &x);
    assert_int_equal(x.st.examined, 10);
    assert_int_equal(x.visited, 10);
    assert_true(x.st.capped);

    /* A line: the cap counts across its coaches, and stops the walk. */
    {
        static const char *const line[2] = {"flm.a", "flm.b"};

        memset(&x, 0, sizeof(x));
        x.q.coaches = line;
        x.q.n_coaches = 2;
        run_list(f, &x);
        assert_int_equal(x.st.examined, ACTIONS_EXAMINE_MAX);
        assert_true(x.st.capped);
    }
}

/* A short history is read to its end and is not said to be cut. */
static void test_short_history_whole(void **state)
{
    struct testutil_store_fx *f = *state;
    struct run x;

    memset(&x, 0, sizeof(x));
    x.q.coachee = "rep.2";
    run_list(f, &x);
    assert_int_equal(x.st.examined, 3);
    assert_int_equal(x.visited, 3);
    assert_false(x.st.capped);
}

/* --overdue reads exactly the overdue records of the coach's open index:
 * none of the 1,200 due later or without a due day. */
static void test_overdue_reads_the_index(void **state)
{
    struct testutil_store_fx *f = *state;
    static const char *const line[2] = {"flm.a", "flm.b"};
    struct run x;

    memset(&x, 0, sizeof(x));
    x.q.coach = "flm.a";
    x.q.overdue_only = 1;
    run_list(f, &x);
    assert_int_equal(x.visited, SESSIONS * DUE);
    assert_int_equal(x.st.examined, SESSIONS * DUE);
    assert_int_equal(x.late, 0);
    assert_false(x.st.capped);

    /* Judged on an earlier day, fewer are overdue, and only they are read:
     * the sessions before day TODAY - 30 (15 of them). */
    memset(&x, 0, sizeof(x));
    x.q.coach = "flm.a";
    x.q.overdue_only = 1;
    x.q.today = TODAY - 30;
    assert_int_equal(store_view(f->s, list_txn, &x), 0);
    assert_int_equal(x.visited, 15 * DUE);
    assert_int_equal(x.st.examined, 15 * DUE);
    assert_int_equal(x.late, 0);

    /* A line: each coach's index in turn (flm.b's one action is due
     * 3 days ago). */
    memset(&x, 0, sizeof(x));
    x.q.coaches = line;
    x.q.n_coaches = 2;
    x.q.overdue_only = 1;
    run_list(f, &x);
    assert_int_equal(x.visited, SESSIONS * DUE + 1);
    assert_int_equal(x.st.examined, SESSIONS * DUE + 1);
    assert_int_equal(x.late, 0);

    /* The callback's 1 stops the walk at once. */
    memset(&x, 0, sizeof(x));
    x.q.coaches = line;
    x.q.n_coaches = 2;
    x.q.overdue_only = 1;
    x.keep = 1;
    run_list(f, &x);
    assert_int_equal(x.visited, 1);
}

/* ---- The rules, on a store that enforces them ------------------------- */

/* A store in its own directory with the organisation's rules on, laid out
 * by testutil_put_two_line_org. */
struct rules_fx {
    char dir[512];
    struct store *s;
};

static void rules_open(struct rules_fx *r)
{
    struct store_policy pol;
    struct store_opts opts;

    store_policy_default(&pol);
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    r->s = NULL;
    assert_int_equal(store_open(r->dir, &opts, &r->s), 0);
}

static void rules_new(struct rules_fx *r)
{
    testutil_tmpdir(r->dir, sizeof(r->dir));
    rules_open(r);
    assert_int_equal(store_exec(r->s, testutil_put_two_line_org, NULL), 0);
}

static void rules_free(struct rules_fx *r)
{
    store_close(r->s);
    testutil_rmrf(r->dir);
}

/* Puts bytes that are no ActionRecord under action id in the closed store
 * in dir: a damaged record, which reads as a store error. */
static void damage_record(const char *dir, const uint8_t id[16])
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi acts;
    MDB_val k, v;
    static const uint8_t junk[3] = {0xff, 0xff, 0xff};

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "actions", 0, &acts), 0);
    k.mv_data = (void *)id;
    k.mv_size = 16;
    v.mv_data = (void *)junk;
    v.mv_size = sizeof(junk);
    assert_int_equal(mdb_put(txn, acts, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* An amendment that leaves out an action later followed up is checked
 * against the action's record; when that record cannot be read, the
 * amendment fails with the store's error instead of passing the check
 * (issue 14's review: check_removed took a store error for "no record"). */
static void test_removed_check_store_error(void **state)
{
    struct rules_fx r;
    struct testutil_obs a, b, am;
    Coachq__V1__Action act = COACHQ__V1__ACTION__INIT;
    Coachq__V1__Action *ap = &act;
    Coachq__V1__FollowUp fu = COACHQ__V1__FOLLOW_UP__INIT;
    Coachq__V1__FollowUp *fp = &fu;
    uint8_t id[16];
    int rc;

    (void)state;
    rules_new(&r);
    testutil_obs_make(&a, "flm.a", "rep.1", (int64_t)(TODAY - 6) * 86400 + 9 * 3600);
    act.text = (char *)"open every call with the agenda";
    act.owner_id = (char *)"rep.1";
    a.o.actions = &ap;
    a.o.n_actions = 1;
    assert_int_equal(testutil_store_submit(r.s, &a.o, "obs.1", NOW_S * 1000), 0);
    actions_id_of(&act, a.id, 0, id);

    testutil_obs_make(&b, "flm.a", "rep.1", (int64_t)(TODAY - 2) * 86400 + 9 * 3600);
    fu.action_id.data = id;
    fu.action_id.len = 16;
    fu.status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE;
    fu.evidence = (char *)"did it on two calls of five";
    b.o.follow_ups = &fp;
    b.o.n_follow_ups = 1;
    assert_int_equal(testutil_store_submit(r.s, &b.o, "obs.1", NOW_S * 1000), 0);

    /* Intact, the amendment that leaves the action out is refused. */
    testutil_obs_make(&am, "flm.a", "rep.1", a.o.started_at);
    am.o.amends.data = a.id;
    am.o.amends.len = 16;
    assert_int_equal(testutil_store_submit(r.s, &am.o, "obs.1", NOW_S * 1000), ERROR_REFUSED);

    /* Damaged, it is not let through either. */
    store_close(r.s);
    damage_record(r.dir, id);
    rules_open(&r);
    testutil_obs_make(&am, "flm.a", "rep.1", a.o.started_at);
    am.o.amends.data = a.id;
    am.o.amends.len = 16;
    rc = testutil_store_submit(r.s, &am.o, "obs.1", NOW_S * 1000);
    assert_true(rc < 0);
    assert_int_not_equal(rc, ERROR_REFUSED);
    rules_free(&r);
}

/* The first record a list of every status visits. */
struct first_run {
    struct actions_query q;
    struct actions_list_stat st;
    uint32_t status;
    size_t visited;
};

static int first_cb(const Coachq__V1__ActionRecord *r, void *arg)
{
    struct first_run *x = arg;

    if (x->visited++ == 0) {
        x->status = (uint32_t)r->status;
    }
    return 0;
}

static int first_txn(struct store_txn *t, void *arg)
{
    struct first_run *x = arg;

    return actions_list_txn(t, &x->q, first_cb, x, &x->st);
}

/* A list of every status reads a person's open records before the closed
 * ones, so that a long closed history cannot push the open actions past
 * the cap (the observer's UI lists every status once a draft has follow-
 * ups). With room for one record, that record is the open one. */
static void test_open_before_closed(void **state)
{
    struct rules_fx r;
    struct testutil_obs a, b;
    Coachq__V1__Action act[2] = {COACHQ__V1__ACTION__INIT, COACHQ__V1__ACTION__INIT};
    Coachq__V1__Action *ap[2] = {&act[0], &act[1]};
    Coachq__V1__FollowUp fu = COACHQ__V1__FOLLOW_UP__INIT;
    Coachq__V1__FollowUp *fp = &fu;
    struct first_run x;
    uint8_t id[16];

    (void)state;
    rules_new(&r);
    testutil_obs_make(&a, "flm.a", "rep.1", (int64_t)(TODAY - 6) * 86400 + 9 * 3600);
    act[0].text = (char *)"open every call with the agenda";
    act[0].owner_id = (char *)"rep.1";
    act[1].text = (char *)"send the summary the same day";
    act[1].owner_id = (char *)"rep.1";
    a.o.actions = ap;
    a.o.n_actions = 2;
    assert_int_equal(testutil_store_submit(r.s, &a.o, "obs.1", NOW_S * 1000), 0);
    actions_id_of(&act[0], a.id, 0, id);

    /* The first is done in a later session; the second stays open. */
    testutil_obs_make(&b, "flm.a", "rep.1", (int64_t)(TODAY - 2) * 86400 + 9 * 3600);
    fu.action_id.data = id;
    fu.action_id.len = 16;
    fu.status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE;
    fu.evidence = (char *)"opened all five calls with it";
    b.o.follow_ups = &fp;
    b.o.n_follow_ups = 1;
    assert_int_equal(testutil_store_submit(r.s, &b.o, "obs.1", NOW_S * 1000), 0);

    for (int by = 0; by < 2; by++) {
        memset(&x, 0, sizeof(x));
        x.q.today = TODAY;
        x.q.examine_max = 1;
        if (by == 0) {
            x.q.coach = "flm.a";
        } else {
            x.q.coachee = "rep.1";
        }
        assert_int_equal(store_view(r.s, first_txn, &x), 0);
        assert_int_equal(x.visited, 1);
        assert_int_equal(x.status, COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN);
        assert_true(x.st.capped);
    }
    rules_free(&r);
}

/* actions_recent_txn()'s answer: the texts visited, in order. */
struct recent_run {
    const char *coach;
    size_t k;
    size_t stop_after; /* the callback answers 1 after this many (0: never) */
    size_t n;
    char text[8][64];
};

static int recent_text_cb(const Coachq__V1__ActionRecord *r, void *arg)
{
    struct recent_run *x = arg;

    if (strcmp(r->coach_id, x->coach) != 0 || x->n == 8) {
        return -EBADMSG;
    }
    snprintf(x->text[x->n], sizeof(x->text[0]), "%s", r->text);
    x->n++;
    return x->stop_after > 0 && x->n >= x->stop_after ? 1 : 0;
}

static int recent_txn(struct store_txn *t, void *arg)
{
    struct recent_run *x = arg;

    return actions_recent_txn(t, x->coach, "rep.1", x->k, recent_text_cb, x);
}

/* One session of coach with rep.1 on day agreeing the actions named
 * (NULL-ended), and following up done on done (may be NULL). Returns the
 * session's observation id in id. */
static void recent_session(struct testutil_store_fx *f, const char *coach, int32_t day,
                           const char *const *texts, const uint8_t *done, uint8_t obs_id[16])
{
    struct testutil_obs o;
    Coachq__V1__Action act[4];
    Coachq__V1__Action *ap[4];
    Coachq__V1__FollowUp fu = COACHQ__V1__FOLLOW_UP__INIT;
    Coachq__V1__FollowUp *fp = &fu;
    size_t n = 0;

    testutil_obs_make(&o, coach, "rep.1", (int64_t)day * 86400 + 9 * 3600);
    for (; texts[n] != NULL && n < 4; n++) {
        Coachq__V1__Action init = COACHQ__V1__ACTION__INIT;

        act[n] = init;
        act[n].text = (char *)texts[n];
        act[n].owner_id = (char *)"rep.1";
        ap[n] = &act[n];
    }
    o.o.actions = ap;
    o.o.n_actions = n;
    if (done != NULL) {
        fu.action_id.data = (uint8_t *)done;
        fu.action_id.len = 16;
        fu.status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE;
        fu.evidence = (char *)"done on every call";
        o.o.follow_ups = &fp;
        o.o.n_follow_ups = 1;
    }
    assert_int_equal(testutil_store_submit(f->s, &o.o, "obs.1", NOW_S * 1000), 0);
    memcpy(obs_id, o.id, 16);
}

/* A coachee's recent actions with one coach: open and closed merged
 * newest first (the open first when one session agreed both), another
 * coach's actions with the coachee passed over in between, at most k, and
 * a callback answering 1 stops the walk. */
static void test_recent_merged(void **state)
{
    static const char *const s1[] = {"a1", "a2", NULL};
    static const char *const s2[] = {"b1", NULL};
    static const char *const s3[] = {"a3", NULL};
    static const char *const s4[] = {"a4", NULL};
    static const char *const s5[] = {"b2", "b3", NULL};
    struct testutil_store_fx *f;
    struct recent_run x;
    uint8_t id1[16], other[16], a1[16];
    Coachq__V1__Action a1_act = COACHQ__V1__ACTION__INIT;

    (void)state;
    f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    recent_session(f, "flm.a", TODAY - 20, s1, NULL, id1);
    a1_act.text = (char *)"a1";
    a1_act.owner_id = (char *)"rep.1";
    actions_id_of(&a1_act, id1, 0, a1);
    recent_session(f, "flm.b", TODAY - 18, s2, NULL, other);
    recent_session(f, "flm.a", TODAY - 16, s3, NULL, other);
    /* a1 is done: closed, and older than the open a3 and a4. */
    recent_session(f, "flm.a", TODAY - 14, s4, a1, other);
    recent_session(f, "flm.b", TODAY - 12, s5, NULL, other);

    memset(&x, 0, sizeof(x));
    x.coach = "flm.a";
    x.k = 6;
    assert_int_equal(store_view(f->s, recent_txn, &x), 0);
    assert_int_equal(x.n, 4);
    assert_string_equal(x.text[0], "a4");
    assert_string_equal(x.text[1], "a3");
    assert_string_equal(x.text[2], "a2");
    assert_string_equal(x.text[3], "a1");

    memset(&x, 0, sizeof(x));
    x.coach = "flm.a";
    x.k = 3;
    assert_int_equal(store_view(f->s, recent_txn, &x), 0);
    assert_int_equal(x.n, 3);
    assert_string_equal(x.text[2], "a2");

    /* flm.b's, with flm.a's newer ones among them. */
    memset(&x, 0, sizeof(x));
    x.coach = "flm.b";
    x.k = 6;
    assert_int_equal(store_view(f->s, recent_txn, &x), 0);
    assert_int_equal(x.n, 3);
    assert_true(strcmp(x.text[0], "b1") != 0 && strcmp(x.text[1], "b1") != 0);
    assert_string_equal(x.text[2], "b1");

    memset(&x, 0, sizeof(x));
    x.coach = "flm.a";
    x.k = 6;
    x.stop_after = 1;
    assert_int_equal(store_view(f->s, recent_txn, &x), 0);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.text[0], "a4");

    x.k = 0;
    assert_int_equal(store_view(f->s, recent_txn, &x), -EINVAL);
    testutil_store_fx_free(f);
}

/* The keys read per part are bounded by ACTIONS_RECENT_KEYS x k, read as
 * the merge takes them: newer actions of another coach use up the
 * allowance before coach's older one is reached, and a larger k reaches
 * it. */
static void test_recent_bounded(void **state)
{
    static const char *const s1[] = {"a1", NULL};
    static const char *const s2[] = {"b1", "b2", "b3", "b4", NULL};
    static const char *const s3[] = {"b5", NULL};
    struct testutil_store_fx *f;
    struct recent_run x;
    uint8_t id[16];

    (void)state;
    _Static_assert(ACTIONS_RECENT_KEYS == 4, "the sessions below assume 4 keys per record");
    f = testutil_store_fx_new(testutil_put_two_line_org, NULL);
    recent_session(f, "flm.a", TODAY - 20, s1, NULL, id);
    recent_session(f, "flm.b", TODAY - 18, s2, NULL, id);
    recent_session(f, "flm.b", TODAY - 16, s3, NULL, id);

    /* The pair's value holds flm.a's newest whatever flm.b's records. */
    memset(&x, 0, sizeof(x));
    x.coach = "flm.a";
    x.k = 1;
    assert_int_equal(store_view(f->s, recent_txn, &x), 0);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.text[0], "a1");

    /* Without it, the index: k = 1 reads 4 keys, all flm.b's (b5 and four
     * of the session of TODAY - 18). */
    assert_int_equal(testutil_actions_values_drop(f->s), 0);
    memset(&x, 0, sizeof(x));
    x.coach = "flm.a";
    x.k = 1;
    assert_int_equal(store_view(f->s, recent_txn, &x), 0);
    assert_int_equal(x.n, 0);

    /* k = 2: 8 keys reach a1, the sixth. */
    memset(&x, 0, sizeof(x));
    x.coach = "flm.a";
    x.k = 2;
    assert_int_equal(store_view(f->s, recent_txn, &x), 0);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.text[0], "a1");
    testutil_store_fx_free(f);
}

/* store_recent_txn()'s records, counted and checked: each the latest
 * version, not superseded. */
struct recent_obs {
    size_t n;
    uint32_t version;
    int superseded;
    uint8_t id[16];
};

static int recent_obs_cb(Coachq__V1__StoredObservation *rec, void *arg)
{
    struct recent_obs *x = arg;

    x->n++;
    x->version = rec->version;
    x->superseded = rec->superseded;
    if (rec->observation != NULL && rec->observation->id.len == 16) {
        memcpy(x->id, rec->observation->id.data, 16);
    }
    coachq__v1__stored_observation__free_unpacked(rec, NULL);
    return 0;
}

static int recent_obs_txn(struct store_txn *t, void *arg)
{
    return store_recent_txn(t, STORE_BY_COACH, "flm.a", INT64_MAX, 50, recent_obs_cb, arg);
}

/* An amended observation's newest records are its latest version only,
 * not superseded: store_recent_txn() reads no version index, trusting the
 * indexes to name only latest versions, which this checks. */
static void test_recent_observations_latest(void **state)
{
    struct rules_fx r;
    struct testutil_obs orig, v2;
    struct recent_obs x;

    (void)state;
    rules_new(&r);
    testutil_obs_make(&orig, "flm.a", "rep.1", (int64_t)(TODAY - 5) * 86400 + 9 * 3600);
    assert_int_equal(testutil_store_submit(r.s, &orig.o, "obs.1", NOW_S * 1000), 0);
    testutil_obs_make(&v2, "flm.a", "rep.1", (int64_t)(TODAY - 5) * 86400 + 9 * 3600);
    v2.o.amends.data = orig.id;
    v2.o.amends.len = 16;
    assert_int_equal(testutil_store_submit(r.s, &v2.o, "obs.1", NOW_S * 1000), 0);

    memset(&x, 0, sizeof(x));
    assert_int_equal(store_view(r.s, recent_obs_txn, &x), 0);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.version, 2);
    assert_false(x.superseded);
    assert_memory_equal(x.id, v2.id, 16);
    rules_free(&r);
}

static int org_zone_cb(struct store_txn *t, void *arg)
{
    char old[128], why[200];

    return zone_org_set(t, arg, old, sizeof(old), why, sizeof(why));
}

/* Submits a session of flm.a with rep.1 starting at start_s, agreeing one
 * action due on due; returns the store's answer. */
static int agree_due(struct rules_fx *r, int64_t start_s, int32_t due)
{
    struct testutil_obs o;
    Coachq__V1__Action act = COACHQ__V1__ACTION__INIT;
    Coachq__V1__Action *ap = &act;

    testutil_obs_make(&o, "flm.a", "rep.1", start_s);
    act.text = (char *)"ask for the next step on every call";
    act.owner_id = (char *)"rep.1";
    act.due_day = (uint32_t)due;
    o.o.actions = &ap;
    o.o.n_actions = 1;
    return testutil_store_submit(r->s, &o.o, "obs.1", NOW_S * 1000);
}

/* A due date is judged against the session's day in the coach's zone,
 * around midnight UTC, with the organisation far ahead of UTC and far
 * behind it. */
static void test_due_local_day(void **state)
{
    struct rules_fx r;
    int64_t late = (int64_t)(TODAY - 3) * 86400 + 23 * 3600 + 30 * 60;
    int64_t early = (int64_t)(TODAY - 3) * 86400 + 6 * 3600;

    (void)state;
    rules_new(&r);
    /* Kiritimati (+14): 23:30 UTC is 13:30 the next day there. */
    assert_int_equal(store_exec(r.s, org_zone_cb, (void *)"Pacific/Kiritimati"), 0);
    assert_int_equal(agree_due(&r, late, TODAY - 3), ERROR_REFUSED);
    assert_int_equal(agree_due(&r, late, TODAY - 2), 0);
    /* Etc/GMT+12 (-12): 06:00 UTC is 18:00 the day before there. */
    assert_int_equal(store_exec(r.s, org_zone_cb, (void *)"Etc/GMT+12"), 0);
    assert_int_equal(agree_due(&r, early, TODAY - 5), ERROR_REFUSED);
    assert_int_equal(agree_due(&r, early, TODAY - 4), 0);
    rules_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hidden_history_is_capped),
        cmocka_unit_test(test_open_before_closed),
        cmocka_unit_test(test_recent_merged),
        cmocka_unit_test(test_recent_bounded),
        cmocka_unit_test(test_recent_observations_latest),
        cmocka_unit_test(test_short_history_whole),
        cmocka_unit_test(test_overdue_reads_the_index),
        cmocka_unit_test(test_removed_check_store_error),
        cmocka_unit_test(test_due_local_day),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
