/* Tests of store_txn_put_tail() (store_int.h), the put that appends a key
 * sorting after a tree's last key, and of the writer's puts that use it:
 * an observation's id, its version chain, its aggregates' contribution
 * and a new action record. An append must leave a tree's pages full, and
 * must never change what a put means: a key already stored is refused or
 * overwritten exactly as a plain put would, whether it is the tree's last
 * key or not, and the writer still answers a resubmitted id as a
 * duplicate or refuses it.
 *
 * Write callbacks run on the store's writer thread, where a failed cmocka
 * assertion cannot jump back to the test, so they return the number of the
 * first step that went wrong and the test thread asserts it is 0. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actions.h"
#include "agg.h"
#include "error.h"
#include "keys.h"
#include "obs.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

/* Days and times of the sessions: the two-line organisation's lines start
 * on day 19000 and obs.1 is certified from then to day 21000. */
#define TODAY 19886
#define NOW_S ((int64_t)TODAY * 86400 + 12 * 3600)

/* A 16-byte key that sorts by n. */
static void key_of(uint8_t k[16], unsigned n)
{
    memset(k, 0, 16);
    keys_put_be32(k, n);
}

/* The 8-byte value of key n, changed by tag. */
static void val_of(uint8_t v[8], unsigned n, unsigned tag)
{
    keys_put_be32(v, n);
    keys_put_be32(v + 4, tag);
}

/* Puts key n -> value (n, tag) into the id index with flags. Returns the
 * helper's code; *out (may be NULL) gets what *val held after it. */
static int put(struct store_txn *t, unsigned n, unsigned tag, unsigned flags, MDB_val *out)
{
    uint8_t k[16], v[8];
    MDB_val kv, vv;
    int rc;

    key_of(k, n);
    val_of(v, n, tag);
    kv.mv_data = k;
    kv.mv_size = sizeof(k);
    vv.mv_data = v;
    vv.mv_size = sizeof(v);
    rc = store_txn_put_tail(t, t->s->dbi_ids, &kv, &vv, flags);
    if (out != NULL) {
        *out = vv;
    }
    return rc;
}

/* Whether key n is stored with value (n, tag). */
static int holds(struct store_txn *t, unsigned n, unsigned tag)
{
    uint8_t k[16], want[8];
    MDB_val kv, vv;

    key_of(k, n);
    val_of(want, n, tag);
    kv.mv_data = k;
    kv.mv_size = sizeof(k);
    return mdb_get(t->txn, t->s->dbi_ids, &kv, &vv) == 0 && vv.mv_size == sizeof(want) &&
           memcmp(vv.mv_data, want, sizeof(want)) == 0;
}

/* The tree's entries. */
static size_t entries(struct store_txn *t)
{
    MDB_stat st;

    return mdb_stat(t->txn, t->s->dbi_ids, &st) == 0 ? st.ms_entries : (size_t)-1;
}

/* Every case of the helper, in order, on the empty id index of a fresh
 * store (a key is 20, 30, 25 or 40: at the end, in the middle). */
static int cases_txn(struct store_txn *t, void *arg)
{
    int *failed = arg;
    uint8_t k[16], v[8];
    MDB_val out, kv;
    MDB_cursor *cur = NULL;
    static const unsigned order[4] = {20, 25, 30, 40};
    static const unsigned tags[4] = {5, 6, 7, 8};
    size_t i = 0;
    int rc;

    *failed = 0;
    /* An empty tree, then a key at its end and one in its middle. */
    if (put(t, 20, 1, MDB_NOOVERWRITE, NULL) != 0 || !holds(t, 20, 1)) {
        return *failed = 1;
    }
    if (put(t, 30, 1, MDB_NOOVERWRITE, NULL) != 0 || !holds(t, 30, 1)) {
        return *failed = 2;
    }
    if (put(t, 25, 1, MDB_NOOVERWRITE, NULL) != 0 || !holds(t, 25, 1) || entries(t) != 3) {
        return *failed = 3;
    }
    /* A key already stored is refused, the last one and one in the middle
     * alike, and *val says what is stored; nothing changes. */
    if (put(t, 30, 2, MDB_NOOVERWRITE, &out) != MDB_KEYEXIST || out.mv_size != 8 ||
        keys_get_be32((const uint8_t *)out.mv_data + 4) != 1 || !holds(t, 30, 1)) {
        return *failed = 4;
    }
    if (put(t, 25, 2, MDB_NOOVERWRITE, &out) != MDB_KEYEXIST || out.mv_size != 8 ||
        keys_get_be32((const uint8_t *)out.mv_data + 4) != 1 || !holds(t, 25, 1)) {
        return *failed = 5;
    }
    /* Without MDB_NOOVERWRITE a stored key is overwritten, the last one
     * (where the append is refused) and one in the middle alike. */
    if (put(t, 30, 7, 0, NULL) != 0 || !holds(t, 30, 7) || entries(t) != 3) {
        return *failed = 6;
    }
    if (put(t, 25, 6, 0, NULL) != 0 || !holds(t, 25, 6) || entries(t) != 3) {
        return *failed = 7;
    }
    /* MDB_RESERVE gives the space to write in: a new last key, then the
     * same key again (overwritten), then a key in the middle. */
    if (put(t, 40, 0, MDB_RESERVE, &out) != 0 || out.mv_size != 8) {
        return *failed = 8;
    }
    val_of(out.mv_data, 40, 9);
    if (!holds(t, 40, 9) || put(t, 40, 0, MDB_RESERVE, &out) != 0 || out.mv_size != 8) {
        return *failed = 9;
    }
    val_of(out.mv_data, 40, 8);
    if (!holds(t, 40, 8) || put(t, 20, 0, MDB_RESERVE | MDB_NOOVERWRITE, &out) != MDB_KEYEXIST ||
        !holds(t, 20, 1) || put(t, 20, 0, MDB_RESERVE, &out) != 0 || out.mv_size != 8) {
        return *failed = 10;
    }
    val_of(out.mv_data, 20, 5);
    /* The tree in key order: every key once, with its last value. */
    rc = mdb_cursor_open(t->txn, t->s->dbi_ids, &cur);
    if (rc == 0) {
        rc = mdb_cursor_get(cur, &kv, &out, MDB_FIRST);
    }
    for (; rc == 0; rc = mdb_cursor_get(cur, &kv, &out, MDB_NEXT), i++) {
        if (i >= 4) {
            break;
        }
        key_of(k, order[i]);
        val_of(v, order[i], tags[i]);
        if (kv.mv_size != 16 || memcmp(kv.mv_data, k, 16) != 0 || out.mv_size != 8 ||
            memcmp(out.mv_data, v, 8) != 0) {
            break;
        }
    }
    if (cur != NULL) {
        mdb_cursor_close(cur);
    }
    if (rc != MDB_NOTFOUND || i != 4) {
        return *failed = 11;
    }
    return 0;
}

static void test_cases(void **state)
{
    char dir[512];
    struct store *s;
    int failed = -1;

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    s = testutil_store_open(dir, 0);
    assert_int_equal(store_exec(s, cases_txn, &failed), 0);
    assert_int_equal(failed, 0);
    store_close(s);
    testutil_rmrf(dir);
}

/* How many keys put in order, and the page fill they must reach. */
#define FILL_KEYS 6000u

struct fill {
    size_t leaves;
    size_t capacity; /* entries a leaf page holds at most */
    int failed;
};

static int fill_txn(struct store_txn *t, void *arg)
{
    struct fill *f = arg;
    MDB_stat st;

    f->failed = 0;
    for (unsigned n = 1; n <= FILL_KEYS; n++) {
        if (put(t, n, 0, MDB_NOOVERWRITE, NULL) != 0) {
            return f->failed = 1;
        }
    }
    if (mdb_stat(t->txn, t->s->dbi_ids, &st) != 0 || st.ms_entries != FILL_KEYS) {
        return f->failed = 2;
    }
    f->leaves = st.ms_leaf_pages;
    /* A leaf node is an 8-byte header, the key and the value, and a
     * 2-byte pointer to it, in a page after its 16-byte header. */
    f->capacity = (st.ms_psize - 16) / (8 + 16 + 8 + 2);
    return 0;
}

/* Keys put in order fill their pages: each leaf but the last is full,
 * where splitting in the middle would leave them about half full. */
static void test_fill(void **state)
{
    char dir[512];
    struct store *s;
    struct fill f = {0, 0, -1};

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    s = testutil_store_open(dir, 0);
    assert_int_equal(store_exec(s, fill_txn, &f), 0);
    assert_int_equal(f.failed, 0);
    assert_true(f.capacity > 0);
    assert_int_equal(f.leaves, (FILL_KEYS + f.capacity - 1) / f.capacity);
    store_close(s);
    testutil_rmrf(dir);
}

static int readonly_txn(struct store_txn *t, void *arg)
{
    int *rc = arg;
    uint8_t k[16] = {1}, v[8] = {0};
    MDB_val kv = {sizeof(k), k}, vv = {sizeof(v), v};

    *rc = store_txn_put_tail(t, t->s->dbi_ids, &kv, &vv, 0);
    return 0;
}

/* A read transaction is refused, as mdb_put() refuses it. */
static void test_readonly(void **state)
{
    char dir[512];
    struct store *s;
    int rc = 0;

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    s = testutil_store_open(dir, 0);
    assert_int_equal(store_view(s, readonly_txn, &rc), 0);
    assert_int_equal(rc, EACCES);
    store_close(s);
    testutil_rmrf(dir);
}

/* ---- Through the writer -------------------------------------------------- */

/* Submits o as observer and waits for the answer: w's rc, and its result
 * in *result (may be NULL). */
static int submit(struct store *s, const Coachq__V1__Observation *o, const char *observer,
                  enum store_result *result, struct validate_error *fault)
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
    w.received_at_ms = NOW_S * 1000;
    rc = store_submit(s, &w);
    if (rc == 0) {
        store_drain(s);
        rc = store_completed_take(s) == &w ? w.rc : -EIO;
    }
    if (result != NULL) {
        *result = w.result;
    }
    if (fault != NULL) {
        *fault = w.fault;
    }
    free(buf);
    return rc;
}

/* An observation of flm.a coaching coachee with id n (key_of()), days_ago
 * days before TODAY, agreeing action a (when not 0) and following up
 * action f (when not 0). */
struct sent {
    struct testutil_obs t;
    Coachq__V1__Action act;
    Coachq__V1__Action *actp;
    uint8_t act_id[16];
    Coachq__V1__FollowUp fu;
    Coachq__V1__FollowUp *fup;
    uint8_t fu_id[16];
};

static void make(struct sent *x, unsigned n, const char *coachee, int days_ago, unsigned a,
                 unsigned f)
{
    Coachq__V1__Action act = COACHQ__V1__ACTION__INIT;
    Coachq__V1__FollowUp fu = COACHQ__V1__FOLLOW_UP__INIT;

    testutil_obs_make(&x->t, "flm.a", coachee, (int64_t)(TODAY - days_ago) * 86400 + 9 * 3600);
    key_of(x->t.id, n);
    x->t.id[6] = 0x70;
    x->t.id[8] = 0x80;
    x->act = act;
    x->fu = fu;
    if (a != 0) {
        key_of(x->act_id, a);
        x->act_id[6] = 0x70;
        x->act_id[8] = 0x80;
        x->act.id.data = x->act_id;
        x->act.id.len = 16;
        x->act.text = (char *)"open every call with the agenda";
        x->act.owner_id = (char *)coachee;
        x->actp = &x->act;
        x->t.o.actions = &x->actp;
        x->t.o.n_actions = 1;
    }
    if (f != 0) {
        key_of(x->fu_id, f);
        x->fu_id[6] = 0x70;
        x->fu_id[8] = 0x80;
        x->fu.action_id.data = x->fu_id;
        x->fu.action_id.len = 16;
        x->fu.status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE;
        x->fup = &x->fu;
        x->t.o.follow_ups = &x->fup;
        x->t.o.n_follow_ups = 1;
    }
}

struct counts {
    size_t ids, versions, contrib, actions;
};

static int counts_txn(struct store_txn *t, void *arg)
{
    struct counts *c = arg;
    MDB_dbi dbis[4] = {t->s->dbi_ids, t->s->dbi_versions, t->s->dbi_agg_contrib, t->s->dbi_actions};
    size_t *out[4] = {&c->ids, &c->versions, &c->contrib, &c->actions};
    MDB_stat st;

    for (int i = 0; i < 4; i++) {
        if (mdb_stat(t->txn, dbis[i], &st) != 0) {
            return -EIO;
        }
        *out[i] = st.ms_entries;
    }
    return 0;
}

static void assert_counts(struct store *s, size_t n_obs, size_t n_actions)
{
    struct counts c;

    assert_int_equal(store_view(s, counts_txn, &c), 0);
    assert_int_equal(c.ids, n_obs);
    assert_int_equal(c.versions, n_obs);
    assert_int_equal(c.contrib, n_obs);
    assert_int_equal(c.actions, n_actions);
}

struct coachee_of {
    unsigned n;
    char coachee[65];
    uint64_t seq;
};

static int coachee_txn(struct store_txn *t, void *arg)
{
    struct coachee_of *c = arg;
    Coachq__V1__StoredObservation *r = NULL;
    uint8_t id[16];
    int rc;

    key_of(id, c->n);
    id[6] = 0x70;
    id[8] = 0x80;
    rc = obs_read_txn(t, id, &r);
    if (rc == 0) {
        snprintf(c->coachee, sizeof(c->coachee), "%s", r->observation->coachee_id);
        c->seq = r->seq;
    }
    coachq__v1__stored_observation__free_unpacked(r, NULL);
    return rc;
}

/* The stored observation n was for coachee, under sequence number seq. */
static void assert_stored(struct store *s, unsigned n, const char *coachee, uint64_t seq)
{
    struct coachee_of c = {n, "", 0};

    assert_int_equal(store_view(s, coachee_txn, &c), 0);
    assert_string_equal(c.coachee, coachee);
    assert_int_equal(c.seq, seq);
}

struct action_of {
    unsigned a;
    uint8_t agreed_in[16];
    int status;
};

static int action_txn(struct store_txn *t, void *arg)
{
    struct action_of *x = arg;
    Coachq__V1__ActionRecord *r = NULL;
    uint8_t id[16];
    int rc;

    key_of(id, x->a);
    id[6] = 0x70;
    id[8] = 0x80;
    rc = actions_get_txn(t, id, &r);
    if (rc == 0) {
        memcpy(x->agreed_in, r->agreed_in.data, 16);
        x->status = r->status;
    }
    coachq__v1__action_record__free_unpacked(r, NULL);
    return rc;
}

/* Action a was agreed in observation n and has status. */
static void assert_action(struct store *s, unsigned a, unsigned n, int status)
{
    struct action_of x = {a, {0}, -1};
    uint8_t id[16];

    key_of(id, n);
    id[6] = 0x70;
    id[8] = 0x80;
    assert_int_equal(store_view(s, action_txn, &x), 0);
    assert_memory_equal(x.agreed_in, id, 16);
    assert_int_equal(x.status, status);
}

static void open_enforced(const char *dir, struct store **s)
{
    struct store_policy pol;
    struct store_opts opts;

    store_policy_default(&pol);
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    assert_int_equal(store_open(dir, &opts, s), 0);
}

/* The writer's answers to ids that arrive in order, out of order and
 * again: an observation id and an action id that are the last of their
 * trees, and ones in the middle, resubmitted with the same bytes
 * (duplicates), with other bytes (refused), and reused for a new
 * observation or action (refused); nothing stored changes, and the action
 * records and aggregates still verify. */
static void test_writer(void **state)
{
    char dir[512];
    struct store *s;
    struct sent a, b, c, x;
    enum store_result res;
    struct validate_error fault;
    struct actions_verify_result av;
    struct agg_verify_result gv;
    int open = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_OPEN;
    int done = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE;

    (void)state;
    testutil_tmpdir(dir, sizeof(dir));
    open_enforced(dir, &s);
    assert_int_equal(store_exec(s, testutil_put_two_line_org, NULL), 0);

    /* Observation 20 agrees action 200; 30 (after it) agrees 300; 25 (in
     * the middle of both trees) agrees 250 and follows 200 up. */
    make(&a, 20, "rep.1", 9, 200, 0);
    assert_int_equal(submit(s, &a.t.o, "obs.1", &res, NULL), 0);
    assert_int_equal(res, STORE_STORED);
    make(&b, 30, "rep.1", 8, 300, 0);
    assert_int_equal(submit(s, &b.t.o, "obs.1", &res, NULL), 0);
    assert_int_equal(res, STORE_STORED);
    make(&c, 25, "rep.1", 7, 250, 200);
    assert_int_equal(submit(s, &c.t.o, "obs.1", &res, NULL), 0);
    assert_int_equal(res, STORE_STORED);
    assert_counts(s, 3, 3);
    assert_action(s, 200, 20, done);
    assert_action(s, 250, 25, open);
    assert_action(s, 300, 30, open);

    /* The last id and one in the middle, sent again: duplicates. */
    assert_int_equal(submit(s, &b.t.o, "obs.1", &res, NULL), 0);
    assert_int_equal(res, STORE_DUPLICATE);
    assert_int_equal(submit(s, &c.t.o, "obs.1", &res, NULL), 0);
    assert_int_equal(res, STORE_DUPLICATE);
    /* The same ids with other content: refused, the records as they were. */
    make(&x, 30, "rep.2", 8, 300, 0);
    assert_int_equal(submit(s, &x.t.o, "obs.1", NULL, NULL), -EEXIST);
    make(&x, 25, "rep.2", 7, 0, 0);
    assert_int_equal(submit(s, &x.t.o, "obs.1", NULL, NULL), -EEXIST);
    assert_stored(s, 30, "rep.1", 2);
    assert_stored(s, 25, "rep.1", 3);
    assert_counts(s, 3, 3);

    /* A new observation that agrees the last action id, or one in the
     * middle, again: refused, the actions still the first sessions'. */
    make(&x, 40, "rep.1", 6, 300, 0);
    assert_int_equal(submit(s, &x.t.o, "obs.1", NULL, &fault), ERROR_REFUSED);
    assert_int_equal(fault.code, COACHQ__V1__CODE__ALREADY_EXISTS);
    assert_string_equal(fault.field, "observation.actions[0].id");
    make(&x, 40, "rep.1", 6, 250, 0);
    assert_int_equal(submit(s, &x.t.o, "obs.1", NULL, &fault), ERROR_REFUSED);
    assert_int_equal(fault.code, COACHQ__V1__CODE__ALREADY_EXISTS);
    assert_counts(s, 3, 3);
    assert_action(s, 250, 25, open);
    assert_action(s, 300, 30, open);

    /* A later one, at the end of every tree, is stored. */
    make(&x, 40, "rep.1", 6, 400, 300);
    assert_int_equal(submit(s, &x.t.o, "obs.1", &res, NULL), 0);
    assert_int_equal(res, STORE_STORED);
    assert_counts(s, 4, 4);
    assert_action(s, 300, 30, done);
    assert_action(s, 400, 40, open);

    memset(&av, 0, sizeof(av));
    assert_int_equal(actions_verify(s, 0, &av), 0);
    assert_int_equal(av.records, 4);
    assert_int_equal(av.differences, 0);
    memset(&gv, 0, sizeof(gv));
    assert_int_equal(agg_verify(s, 0, NULL, NULL, &gv), 0);
    assert_int_equal(gv.observations, 4);
    assert_int_equal(gv.differences, 0);
    store_close(s);
    testutil_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_readonly),
        cmocka_unit_test(test_writer),
    };

    testutil_watchdog(120);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
