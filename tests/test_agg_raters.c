/*
 * test_agg_raters: aggregate format 8's count, in each coach-week value
 * (AGG_COACH_WEEK, agg.h), of the observers with ratings of its coach that
 * week: kept by the writer through amendments and erasure, equal to what a
 * rebuild makes, made from the observer-week lists when a format-7 store is
 * opened, checked by verify and mended by repair, and given to readers as
 * unknown when it is damaged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>
#include <lmdb.h>

#include "agg.h"
#include "agg_int.h"
#include "erase.h"
#include "keys.h"
#include "obs.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

/* Wednesday 2025-03-05 10:00 UTC, in the week of Monday 20150 (2025-W10). */
#define T0 1741168800LL
#define MON0 20150
#define WEEK_S (7 * 86400LL)
#define RUBRIC "coaching-conversation"
/* A coach-week value of version 2: the count's offset and the size. */
#define CW_RATERS_AT 42
#define CW_SIZE 50
#define CW_COUNT_AT 10
#define MAX_CW 64

/* The shipped rubric again, now allowing "n/a" (for submit_na()). */
static int na_rubric_txn(struct store_txn *t, void *arg)
{
    struct keys_buf k;
    int rc;

    (void)arg;
    /* Deleted first: rubrics_put() refuses to change a stored version. */
    keys_buf_reset(&k);
    keys_buf_id(&k, RUBRIC);
    keys_buf_u32(&k, 1);
    rc = k.err != 0 ? -EINVAL : store_txn_del(t, t->s->dbi_rubrics, k.b, k.len);
    return rc != 0 ? rc : testutil_put_rubric(t, "", 1);
}

/* testutil_submit_seeded() with every behaviour not applicable: a session without
 * ratings. */
static void submit_na(struct store *s, const char *observer, struct testutil_obs *t,
                      const char *coach, int64_t started_at, const uint8_t *amends)
{
    testutil_obs_make(t, coach, "rep.ida", started_at);
    for (size_t i = 0; i < sizeof(t->r) / sizeof(t->r[0]); i++) {
        t->r[i].score = 0;
        t->r[i].not_applicable = 1;
    }
    if (amends != NULL) {
        t->o.amends.data = (uint8_t *)amends;
        t->o.amends.len = 16;
    }
    assert_int_equal(testutil_store_submit(s, &t->o, observer, testutil_now_ms()), 0);
}

/* One coach's count in one week, as agg_read_coach_weeks() gives it. */
struct one {
    const char *coach;
    int32_t monday;
    int64_t raters; /* -2: no value */
};

static int one_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w, int64_t raters,
                  void *arg)
{
    struct one *o = arg;

    (void)w;
    assert_int_equal(monday, o->monday);
    assert_string_equal(coach, o->coach);
    o->raters = raters;
    return 0;
}

static int one_txn(struct store_txn *t, void *arg)
{
    struct one *o = arg;

    return agg_read_coach_weeks(t, 0, RUBRIC, &o->coach, 1, o->monday, o->monday, one_cb, o);
}

static int64_t raters_of(struct store *s, const char *coach, int32_t monday)
{
    struct one o = {coach, monday, -2};

    assert_int_equal(store_view(s, one_txn, &o), 0);
    return o.raters;
}

/* Every coach-week value and twin, key and bytes, in key order. */
struct cws {
    size_t n;
    struct keys_buf key[MAX_CW];
    uint8_t val[MAX_CW][CW_SIZE + 8];
    size_t vlen[MAX_CW];
};

static int cws_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct cws *c = arg;

    if (!AGG_KIND_COACHES(key[0])) {
        return 0;
    }
    assert_true(c->n < MAX_CW && vlen <= sizeof(c->val[0]));
    keys_buf_reset(&c->key[c->n]);
    keys_buf_raw(&c->key[c->n], key, klen);
    memcpy(c->val[c->n], val, vlen);
    c->vlen[c->n] = vlen;
    c->n++;
    return 0;
}

static int cws_txn(struct store_txn *t, void *arg)
{
    return store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, cws_cb, arg);
}

static void read_cws(struct store *s, struct cws *c)
{
    memset(c, 0, sizeof(*c));
    assert_int_equal(store_view(s, cws_txn, c), 0);
}

static void cws_same(const struct cws *x, const struct cws *y)
{
    assert_int_equal(x->n, y->n);
    for (size_t i = 0; i < x->n; i++) {
        assert_int_equal(keys_compare(x->key[i].b, x->key[i].len, y->key[i].b, y->key[i].len), 0);
        assert_int_equal(x->vlen[i], y->vlen[i]);
        assert_memory_equal(x->val[i], y->val[i], x->vlen[i]);
    }
}

static int rebuild_txn(struct store_txn *t, void *arg)
{
    (void)arg;
    return agg_rebuild_txn(t);
}

/* The coach-week values are byte for byte what a rebuild from the records
 * makes, and verify finds no difference. */
static void assert_as_rebuilt(struct store *s)
{
    static struct cws kept, rebuilt;
    struct agg_verify_result r;

    read_cws(s, &kept);
    assert_int_equal(agg_verify(s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(store_exec(s, rebuild_txn, NULL), 0);
    read_cws(s, &rebuilt);
    cws_same(&kept, &rebuilt);
}

/* The writer counts each observer once however many sessions they score,
 * and follows amendments that move a session to another coach or week and
 * an observer's erasure. */
static void test_writer_counts_observers(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a1, a2, a3, a4, b, c, m1, m2, n1, n2;
    struct erase_request er;

    testutil_submit_seeded(f->s, "alice", &a1, "flm.cara", T0, NULL);
    testutil_submit_seeded(f->s, "alice", &a2, "flm.cara", T0 + 3600, NULL);
    testutil_submit_seeded(f->s, "bob", &b, "flm.cara", T0 + 7200, NULL);
    testutil_submit_seeded(f->s, "carol", &c, "flm.cara", T0 + 10800, NULL);
    testutil_submit_seeded(f->s, "alice", &a3, "flm.dan", T0 + 14400, NULL);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), 3);
    assert_int_equal(raters_of(f->s, "flm.dan", MON0), 1);
    assert_int_equal(raters_of(f->s, "mgr.jones", MON0), -2);
    assert_as_rebuilt(f->s);
    /* alice's flm.dan session moved onto flm.cara: alice already counts
     * there, and flm.dan's week is gone. */
    testutil_submit_seeded(f->s, "alice", &m1, "flm.cara", T0 + 14400, a3.id);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), 3);
    assert_int_equal(raters_of(f->s, "flm.dan", MON0), -2);
    /* carol's session moved a week on: one fewer the first week. */
    testutil_submit_seeded(f->s, "carol", &m2, "flm.cara", T0 + WEEK_S, c.id);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), 2);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0 + 7), 1);
    assert_as_rebuilt(f->s);
    /* bob erased: still one observer, under a pseudonym. */
    assert_int_equal(testutil_erase(f->s, "bob", testutil_now_ms(), &er), 0);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), 2);
    assert_as_rebuilt(f->s);
    assert_int_equal(store_exec(f->s, na_rubric_txn, NULL), 0);
    /* dave's session without ratings: listed, but no observer with
     * ratings, so the count stays. */
    submit_na(f->s, "dave", &n1, "flm.cara", T0 + 18000, NULL);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), 2);
    /* alice's only rated session of flm.cara's second week amended to
     * every behaviour not applicable: she no longer counts there. */
    testutil_submit_seeded(f->s, "alice", &a4, "flm.cara", T0 + WEEK_S + 60, NULL);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0 + 7), 2);
    submit_na(f->s, "alice", &n2, "flm.cara", T0 + WEEK_S + 60, a4.id);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0 + 7), 1);
    assert_as_rebuilt(f->s);
}

/* Random sessions and amendments, in the writer's batches one by one: the
 * counts are the distinct observers of each coach and week the test keeps
 * itself, and what a rebuild makes. */
static void test_random_batches(void **state)
{
    static const char *const observers[] = {"alice", "bob", "carol", "dave"};
    static const char *const coaches[] = {"flm.cara", "flm.dan", "mgr.jones"};
    struct testutil_seeded *f = *state;
    static struct testutil_obs obs[80];
    int who[80], coach[80], wk[80], live[80];
    unsigned seed = 29;

    for (int i = 0; i < 80; i++) {
        int amend = i >= 10 && rand_r(&seed) % 3 == 0;
        int j = amend ? rand_r(&seed) % i : -1;

        if (amend && !live[j]) {
            amend = 0;
        }
        who[i] = amend ? who[j] : rand_r(&seed) % 4;
        coach[i] = rand_r(&seed) % 3;
        wk[i] = rand_r(&seed) % 3;
        live[i] = 1;
        testutil_submit_seeded(f->s, observers[who[i]], &obs[i], coaches[coach[i]],
                               T0 + wk[i] * WEEK_S + (int64_t)i * 60, amend ? obs[j].id : NULL);
        if (amend) {
            live[j] = 0;
        }
    }
    for (int k = 0; k < 3; k++) {
        for (int w = 0; w < 3; w++) {
            int seen[4] = {0, 0, 0, 0};
            int n = 0, any = 0;

            for (int i = 0; i < 80; i++) {
                if (live[i] && coach[i] == k && wk[i] == w) {
                    n += !seen[who[i]];
                    seen[who[i]] = 1;
                    any = 1;
                }
            }
            assert_int_equal(raters_of(f->s, coaches[k], MON0 + 7 * w), any ? n : -2);
        }
    }
    assert_as_rebuilt(f->s);
}

/* Turns the closed store in dir into format 7's layout: every coach-week
 * value (and twin) without its count, version 1, and the format key
 * format. */
static void back_to_format7(const char *dir, uint32_t format)
{
    static uint8_t keys[MAX_CW][256], vals[MAX_CW][CW_RATERS_AT];
    size_t klen[MAX_CW], n = 0;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi agg;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc;

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "agg_week", 0, &agg), 0);
    testutil_lmdb_put_agg_format(txn, format);
    assert_int_equal(mdb_cursor_open(txn, agg, &cur), 0);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (!AGG_KIND_COACHES(((const uint8_t *)k.mv_data)[0])) {
            continue;
        }
        assert_true(n < MAX_CW && k.mv_size <= sizeof(keys[0]));
        assert_int_equal(v.mv_size, CW_SIZE);
        memcpy(keys[n], k.mv_data, k.mv_size);
        klen[n] = k.mv_size;
        memcpy(vals[n], v.mv_data, CW_RATERS_AT);
        vals[n][0] = 1;
        n++;
    }
    assert_int_equal(rc, MDB_NOTFOUND);
    mdb_cursor_close(cur);
    /* Put once the walk is done: a put of another size moves the cursor. */
    for (size_t i = 0; i < n; i++) {
        k.mv_data = keys[i];
        k.mv_size = klen[i];
        v.mv_data = vals[i];
        v.mv_size = CW_RATERS_AT;
        assert_int_equal(mdb_put(txn, agg, &k, &v, 0), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static int unrated_txn(struct store_txn *t, void *arg)
{
    struct agg_seen_ent e;
    struct agg_seen l = {&e, 1, 1};
    struct keys_buf k;

    (void)arg;
    memset(&e, 0, sizeof(e));
    snprintf(e.coach, sizeof(e.coach), "flm.cara");
    e.clen = strlen(e.coach);
    e.observations = 1;
    assert_int_equal(agg_key(&k, AGG_OBSERVER_WEEK, "dave", RUBRIC, 1, MON0), 0);
    return agg_seen_put(t, k.b, k.len, &l);
}

struct diffs {
    unsigned n, raters, undecoded;
    char first[512];
};

static void diff_cb(const char *key, const char *what, void *arg)
{
    struct diffs *d = arg;

    d->raters += strstr(what, "observers with ratings") != NULL;
    d->undecoded += strstr(what, "does not decode") != NULL;
    if (d->n++ == 0) {
        snprintf(d->first, sizeof(d->first), "%s: %s", key, what);
    }
}

/* A format-7 store opened: each coach-week value gets the count the writer
 * keeps (the twin's too), the format is 8 and verify passes. The same
 * store whose format key claims 8 (the step does not run) fails verify on
 * every value, until repaired. */
static void format7_upgrade(void **state, uint32_t from)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c, d;
    static struct cws before, after;
    struct agg_verify_result r;
    struct diffs df;
    uint32_t format = 0;

    testutil_submit_seeded(f->s, "alice", &a, "flm.cara", T0, NULL);
    testutil_submit_seeded(f->s, "bob", &b, "flm.cara", T0 + 3600, NULL);
    testutil_submit_seeded(f->s, "carol", &c, "flm.dan", T0 + WEEK_S, NULL);
    testutil_submit_seeded(f->s, "alice", &d, "flm.dan", T0 + WEEK_S + 60, NULL);
    assert_int_equal(store_exec(f->s, testutil_mark_assigned_txn, b.id), 0);
    read_cws(f->s, &before);
    assert_int_equal(before.n, 2 + 1);
    /* dave's list names flm.cara without ratings (an observation with
     * every behaviour not applicable): listed, so not counted. */
    assert_int_equal(store_exec(f->s, unrated_txn, NULL), 0);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    back_to_format7(f->dir, from);
    f->s = testutil_store_open_enforced(f->dir);
    read_cws(f->s, &after);
    cws_same(&before, &after);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), 2);
    assert_int_equal(raters_of(f->s, "flm.dan", MON0 + 7), 2);
    assert_int_equal(store_view(f->s, testutil_agg_format_txn, &format), 0);
    assert_int_equal(format, AGG_FORMAT);
    /* dave's list has no record behind it: verify names it and the
     * cumulative list the step to 10 made of it, repair drops both. */
    assert_int_equal(agg_verify(f->s, 1, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 2);
    assert_as_rebuilt(f->s);
    /* The step disabled: version-1 values stay, and verify names each. */
    testutil_store_close_drained(f->s);
    f->s = NULL;
    back_to_format7(f->dir, AGG_FORMAT);
    f->s = testutil_store_open_enforced(f->dir);
    memset(&df, 0, sizeof(df));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &df, &r), 0);
    assert_int_equal(df.undecoded, 2 + 1);
    read_cws(f->s, &after);
    cws_same(&before, &after);
}

/* The same from formats 5 and 6: each step after the store's format runs,
 * the step to 8 too. */
static void test_format7_upgrade(void **state)
{
    format7_upgrade(state, 7);
}

static void test_format6_upgrade(void **state)
{
    format7_upgrade(state, 6);
}

static void test_format5_upgrade(void **state)
{
    format7_upgrade(state, 5);
}

/* Puts eve's list under a rubric of 150 bytes, naming a manager of 64:
 * a coach-week key for it would pass AGG_KEY_MAX, which only a damaged
 * key can give. */
static int long_key_txn(struct store_txn *t, void *arg)
{
    struct agg_seen_ent e;
    struct agg_seen l = {&e, 1, 1};
    uint8_t key[2 + 3 + 1 + 150 + 4];

    (void)arg;
    memset(&e, 0, sizeof(e));
    memset(e.coach, 'm', VALIDATE_MAX_ID);
    e.clen = VALIDATE_MAX_ID;
    e.observations = 1;
    e.count = 1;
    e.sum = 3;
    e.sumsq = 9;
    key[0] = AGG_OBSERVER_WEEK;
    key[1] = 3;
    memcpy(key + 2, "eve", 3);
    key[5] = 150;
    memset(key + 6, 'r', 150);
    keys_put_be32(key + 156, (uint32_t)MON0);
    return agg_seen_put(t, key, sizeof(key), &l);
}

/* A damaged list key too long to name a coach-week does not stop the step
 * to 8 (nor the store's open): the list counts for nothing, the sound
 * values get their counts, and verify names the list. */
static void test_step_skips_long_list_key(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b;
    struct agg_verify_result r;
    uint32_t format = 0;

    testutil_submit_seeded(f->s, "alice", &a, "flm.cara", T0, NULL);
    testutil_submit_seeded(f->s, "bob", &b, "flm.cara", T0 + 3600, NULL);
    assert_int_equal(store_exec(f->s, long_key_txn, NULL), 0);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    back_to_format7(f->dir, 7);
    f->s = testutil_store_open_enforced(f->dir);
    assert_non_null(f->s);
    assert_int_equal(store_view(f->s, testutil_agg_format_txn, &format), 0);
    assert_int_equal(format, AGG_FORMAT);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), 2);
    /* The list, and the cumulative list the step to 10 made of it. */
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 2);
    assert_int_equal(agg_verify(f->s, 1, NULL, NULL, &r), 0);
    assert_as_rebuilt(f->s);
}

/* Sets the stored count of coach's week MON0 to raters (the value's other
 * bytes as they are), or, with raters < 0, its ratings' count plus one. */
struct tamper {
    const char *coach;
    int64_t raters;
};

static int tamper_txn(struct store_txn *t, void *arg)
{
    const struct tamper *tp = arg;
    struct keys_buf k;
    uint8_t buf[CW_SIZE];
    MDB_val v;

    assert_int_equal(agg_key(&k, AGG_COACH_WEEK, AGG_ORG_ALL, RUBRIC, 1, MON0), 0);
    keys_buf_raw(&k, tp->coach, strlen(tp->coach));
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k.b, k.len, &v), 0);
    assert_int_equal(v.mv_size, CW_SIZE);
    memcpy(buf, v.mv_data, CW_SIZE);
    keys_put_le64(buf + CW_RATERS_AT,
                  tp->raters >= 0 ? (uint64_t)tp->raters : keys_get_le64(buf + CW_COUNT_AT) + 1);
    return store_txn_put_raw(t, t->s->dbi_agg, k.b, k.len, buf, CW_SIZE, NULL);
}

/* verify names a count one short and one over (each still a count a
 * reader cannot tell from a sound one), and repair mends both. */
static void test_verify_names_wrong_count(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c;
    struct agg_verify_result r;
    struct diffs df;
    const int64_t wrong[] = {1, 3, 0};

    testutil_submit_seeded(f->s, "alice", &a, "flm.cara", T0, NULL);
    testutil_submit_seeded(f->s, "bob", &b, "flm.cara", T0 + 3600, NULL);
    testutil_submit_seeded(f->s, "carol", &c, "flm.dan", T0 + 7200, NULL);
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        struct tamper tp = {"flm.cara", wrong[i]};

        assert_int_equal(store_exec(f->s, tamper_txn, &tp), 0);
        memset(&df, 0, sizeof(df));
        assert_int_equal(agg_verify(f->s, 1, diff_cb, &df, &r), 0);
        assert_int_equal(r.differences, 1);
        assert_int_equal(df.raters, 1);
        assert_non_null(strstr(df.first, "coaching-conversation/2025-W10/flm.cara"));
        assert_int_equal(raters_of(f->s, "flm.cara", MON0), 2);
        assert_as_rebuilt(f->s);
    }
}

/* A count no sound value holds (above the value's ratings, or none beside
 * ratings) is read as unknown, and the writer, adding to it, neither stops
 * nor stores a figure it would refuse. */
static void test_damaged_count_is_unknown(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c;
    struct tamper over = {"flm.cara", -1};
    struct tamper none = {"flm.cara", 0};
    struct agg_verify_result r;

    testutil_submit_seeded(f->s, "alice", &a, "flm.cara", T0, NULL);
    testutil_submit_seeded(f->s, "bob", &b, "flm.cara", T0 + 3600, NULL);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), 2);
    assert_int_equal(store_exec(f->s, tamper_txn, &over), 0);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), -1);
    assert_int_equal(store_exec(f->s, tamper_txn, &none), 0);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), -1);
    /* carol's first session of flm.cara adds one to the damaged 0. */
    testutil_submit_seeded(f->s, "carol", &c, "flm.cara", T0 + 7200, NULL);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), 1);
    assert_int_equal(agg_verify(f->s, 1, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_int_equal(raters_of(f->s, "flm.cara", MON0), 3);
    assert_as_rebuilt(f->s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_writer_counts_observers, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_random_batches, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_format7_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_format6_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_format5_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_verify_names_wrong_count, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_count_is_unknown, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_step_skips_long_list_key, testutil_seeded_setup,
                                        testutil_seeded_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
