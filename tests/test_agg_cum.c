/*
 * test_agg_cum: aggregate format 10's cumulative lists (AGG_OBSERVER_CUM,
 * agg.h; store/agg_cum.c): a window read from two of them gives what the
 * window's week lists add up to (a window from the first week with data,
 * one from before any, one after the last); the writer keeps them through
 * back-dated records, amendments and erasure, byte for byte what a rebuild
 * makes; a store of format 8 gets them on open; verify names a damaged or
 * missing one and repair mends it; a reader never takes a damaged one as
 * figures.
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

#include "agg.h"
#include "agg_int.h"
#include "erase.h"
#include "keys.h"
#include "obs.h"
#include "retention.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

/* Wednesday 2025-03-05 10:00 UTC, in the week of Monday 20150 (2025-W10). */
#define T0 1741168800LL
#define MON0 20150
#define WEEK_S (7 * 86400LL)
#define RUBRIC "coaching-conversation"
#define MAX_KEYS 256
#define NCOACH 3

static const char *const coaches[NCOACH] = {"flm.cara", "flm.dan", "mgr.jones"};

/* An observer's window per manager: observations, ratings, sum. */
struct win {
    int64_t obs[NCOACH], n[NCOACH], sum[NCOACH];
    int calls, other;
    int64_t other_obs; /* of managers not in coaches[] (an erased one) */
};

static int win_cb(int32_t monday, const char *coach, const Coachq__V1__AggWeek *w, void *arg)
{
    struct win *x = arg;

    (void)monday;
    x->calls++;
    for (int k = 0; k < NCOACH; k++) {
        if (strcmp(coach, coaches[k]) == 0) {
            x->obs[k] += (int64_t)w->observations;
            for (size_t b = 0; b < w->n_behaviours; b++) {
                x->n[k] += (int64_t)w->behaviours[b]->count;
                x->sum[k] += (int64_t)w->behaviours[b]->sum;
            }
            return 0;
        }
    }
    x->other++;
    x->other_obs += (int64_t)w->observations;
    return 0;
}

struct win_read {
    const char *observer;
    int32_t from, until;
    int cum; /* agg_read_window_of() rather than the week lists */
    struct win w;
};

static int win_txn(struct store_txn *t, void *arg)
{
    struct win_read *r = arg;

    memset(&r->w, 0, sizeof(r->w));
    return r->cum
               ? agg_read_window_of(t, 0, r->observer, RUBRIC, r->from, r->until, win_cb, &r->w)
               : agg_read_coached_of(t, 0, r->observer, RUBRIC, r->from, r->until, win_cb, &r->w);
}

/* The window from..until of observer read both ways is the same, and
 * its observations come to obs; returns the read's code. */
static int window_same(struct store *s, const char *observer, int32_t from, int32_t until,
                       int64_t obs)
{
    struct win_read a = {observer, from, until, 0, {{0}, {0}, {0}, 0, 0, 0}};
    struct win_read b = {observer, from, until, 1, {{0}, {0}, {0}, 0, 0, 0}};
    int64_t total = 0;
    int rc;

    assert_int_equal(store_view(s, win_txn, &a), 0);
    rc = store_view(s, win_txn, &b);
    if (rc != 0) {
        return rc;
    }
    for (int k = 0; k < NCOACH; k++) {
        assert_int_equal(a.w.obs[k], b.w.obs[k]);
        assert_int_equal(a.w.n[k], b.w.n[k]);
        assert_int_equal(a.w.sum[k], b.w.sum[k]);
        total += b.w.obs[k];
    }
    /* A manager outside coaches[] (an erased one's pseudonym) the same. */
    assert_int_equal(a.w.other_obs, b.w.other_obs);
    /* One call per manager, whatever the window's weeks. */
    assert_true(b.w.calls <= NCOACH);
    assert_int_equal(total + b.w.other_obs, obs);
    return 0;
}

/* Every cumulative list, key and bytes, in key order. */
struct cums {
    size_t n;
    struct keys_buf key[MAX_KEYS];
    uint8_t *val[MAX_KEYS];
    size_t vlen[MAX_KEYS];
};

static int cums_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct cums *c = arg;

    if (!AGG_KIND_CUM(key[0])) {
        return 0;
    }
    assert_true(c->n < MAX_KEYS);
    keys_buf_reset(&c->key[c->n]);
    keys_buf_raw(&c->key[c->n], key, klen);
    c->val[c->n] = malloc(vlen);
    assert_non_null(c->val[c->n]);
    memcpy(c->val[c->n], val, vlen);
    c->vlen[c->n] = vlen;
    c->n++;
    return 0;
}

static int cums_txn(struct store_txn *t, void *arg)
{
    return store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, cums_cb, arg);
}

static void cums_free(struct cums *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->val[i]);
    }
    memset(c, 0, sizeof(*c));
}

static void read_cums(struct store *s, struct cums *c)
{
    cums_free(c);
    assert_int_equal(store_view(s, cums_txn, c), 0);
}

static void cums_same(const struct cums *x, const struct cums *y)
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

/* The cumulative lists are byte for byte what a rebuild from the records
 * makes (one per observer and week with a list), and verify passes. */
static void assert_as_rebuilt(struct store *s, size_t lists)
{
    static struct cums kept, rebuilt;
    struct agg_verify_result r;

    read_cums(s, &kept);
    assert_int_equal(kept.n, lists);
    assert_int_equal(agg_verify(s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(store_exec(s, rebuild_txn, NULL), 0);
    read_cums(s, &rebuilt);
    cums_same(&kept, &rebuilt);
    cums_free(&kept);
    cums_free(&rebuilt);
}

static int retention_txn_cb(struct store_txn *t, void *arg)
{
    return retention_txn(t, arg);
}

/* Windows against the data's first week: starting on it (nothing before
 * to take away), before any data, after the last week, and one week
 * inside. */
static void test_window_edges(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a1, a2, a3;

    assert_int_equal(window_same(f->s, "alice", MON0 - 70, MON0 + 70, 0), 0);
    testutil_submit_seeded(f->s, "alice", &a1, "flm.cara", T0, NULL);
    testutil_submit_seeded(f->s, "alice", &a2, "flm.dan", T0 + 2 * WEEK_S, NULL);
    testutil_submit_seeded(f->s, "alice", &a3, "flm.cara", T0 + 4 * WEEK_S, NULL);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0 + 28, 3), 0);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0, 1), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 - 70, MON0 + 3, 1), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 - 70, MON0 - 7, 0), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 21, 1), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 7, 0), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 + 35, MON0 + 70, 0), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 + 14, MON0 + 700, 2), 0);
    assert_int_equal(window_same(f->s, "bob", MON0 - 70, MON0 + 70, 0), 0);
    assert_as_rebuilt(f->s, 3);
}

/* A back-dated record changes every later week's cumulative list. */
static void test_backdated(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a1, a2, a3, old;

    testutil_submit_seeded(f->s, "alice", &a1, "flm.cara", T0 + 2 * WEEK_S, NULL);
    testutil_submit_seeded(f->s, "alice", &a2, "flm.dan", T0 + 3 * WEEK_S, NULL);
    testutil_submit_seeded(f->s, "alice", &a3, "flm.cara", T0 + 5 * WEEK_S, NULL);
    testutil_submit_seeded(f->s, "alice", &old, "flm.dan", T0 + 2 * WEEK_S + 60, NULL);
    testutil_submit_seeded(f->s, "alice", &old, "mgr.jones", T0, NULL);
    assert_int_equal(window_same(f->s, "alice", MON0 + 21, MON0 + 35, 2), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 35, 4), 0);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0 + 35, 5), 0);
    assert_as_rebuilt(f->s, 4);
}

/* An amendment moving a session to another week, one moving it to
 * another manager, and an erasure: the cumulative list of a week left
 * without a list goes, and later weeks' lists lose the entry. */
static void test_amend_and_erase(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a1, a2, b1, m1, m2;
    struct erase_request er;

    testutil_submit_seeded(f->s, "alice", &a1, "flm.cara", T0, NULL);
    testutil_submit_seeded(f->s, "alice", &a2, "flm.dan", T0 + 2 * WEEK_S, NULL);
    testutil_submit_seeded(f->s, "bob", &b1, "flm.dan", T0 + WEEK_S, NULL);
    assert_as_rebuilt(f->s, 3);
    /* alice's first session moved three weeks on: her first week has no
     * list and so no cumulative list. */
    testutil_submit_seeded(f->s, "alice", &m1, "flm.cara", T0 + 3 * WEEK_S, a1.id);
    assert_int_equal(window_same(f->s, "alice", MON0 - 7, MON0 + 7, 0), 0);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0 + 21, 2), 0);
    assert_as_rebuilt(f->s, 3);
    /* Her session of week 2 moved onto mgr.jones, in its week. */
    testutil_submit_seeded(f->s, "alice", &m2, "mgr.jones", T0 + 2 * WEEK_S, a2.id);
    assert_int_equal(window_same(f->s, "alice", MON0 + 14, MON0 + 14, 1), 0);
    assert_as_rebuilt(f->s, 3);
    /* bob erased: his list stays under a pseudonym, so one cumulative list
     * still; the sums do not change. */
    assert_int_equal(testutil_erase(f->s, "bob", testutil_now_ms(), &er), 0);
    assert_int_equal(window_same(f->s, "bob", MON0, MON0 + 21, 0), 0);
    assert_as_rebuilt(f->s, 3);
}

/* Random sessions, back-dated and amended, one batch each: windows from
 * the cumulative lists are the week lists' sums, and the lists what a
 * rebuild makes. */
static void test_random_sessions(void **state)
{
    static const char *const observers[] = {"alice", "bob", "carol", "dave"};
    struct testutil_seeded *f = *state;
    static struct testutil_obs obs[90];
    static struct cums kept, rebuilt;
    int who[90], live[90];
    unsigned seed = 31;
    struct agg_verify_result r;

    for (int i = 0; i < 90; i++) {
        int amend = i >= 10 && rand_r(&seed) % 3 == 0;
        int j = amend ? rand_r(&seed) % i : -1;

        if (amend && !live[j]) {
            amend = 0;
        }
        who[i] = amend ? who[j] : rand_r(&seed) % 4;
        live[i] = 1;
        testutil_submit_seeded(f->s, observers[who[i]], &obs[i], coaches[rand_r(&seed) % NCOACH],
                               T0 + (rand_r(&seed) % 8) * WEEK_S + (int64_t)i * 60,
                               amend ? obs[j].id : NULL);
        if (amend) {
            live[j] = 0;
        }
    }
    for (int o = 0; o < 4; o++) {
        for (int from = -1; from < 9; from += 2) {
            struct win_read a = {
                observers[o], MON0 + 7 * from, MON0 + 7 * (from + 3), 0, {{0}, {0}, {0}, 0, 0, 0}};

            assert_int_equal(store_view(f->s, win_txn, &a), 0);
            assert_int_equal(window_same(f->s, observers[o], a.from, a.until,
                                         a.w.obs[0] + a.w.obs[1] + a.w.obs[2]),
                             0);
        }
    }
    read_cums(f->s, &kept);
    assert_true(kept.n > 4);
    assert_int_equal(agg_verify(f->s, 0, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 0);
    assert_int_equal(store_exec(f->s, rebuild_txn, NULL), 0);
    read_cums(f->s, &rebuilt);
    cums_same(&kept, &rebuilt);
    cums_free(&kept);
    cums_free(&rebuilt);
}

/* Deletes every cumulative list (a store of format 8 has none). */
static void drop_cum(MDB_cursor *cur, const MDB_val *k, const MDB_val *v, void *arg)
{
    (void)v;
    (void)arg;
    if (AGG_KIND_CUM(((const uint8_t *)k->mv_data)[0])) {
        assert_int_equal(mdb_cursor_del(cur, 0), 0);
    }
}

/* Truncates alice's cumulative list of the week MON0 + 7 * *arg to one
 * byte less than its header. */
static void cut_cum(MDB_cursor *cur, const MDB_val *k, const MDB_val *v, void *arg)
{
    const int *week = arg;
    const uint8_t *key = k->mv_data;
    uint8_t val[8];
    MDB_val kk = *k, vv;

    if (!AGG_KIND_CUM(key[0]) || key[0] & AGG_ASSIGNED || key[1] != 5 ||
        memcmp(key + 2, "alice", 5) != 0 ||
        keys_day_decode(key + k->mv_size - 4) != MON0 + 7 * *week) {
        return;
    }
    assert_true(v->mv_size > 5);
    memcpy(val, v->mv_data, 5);
    vv.mv_data = val;
    vv.mv_size = 5;
    assert_int_equal(mdb_cursor_put(cur, &kk, &vv, MDB_CURRENT), 0);
}

/* One change to alice's lists of kind (AGG_OBSERVER_CUM or
 * AGG_OBSERVER_WEEK) at the week MON0 + 7 * week, made by hand. */
enum edit_op {
    EDIT_DEL,      /* deleted */
    EDIT_FIGURE,   /* the first manager's figure (0 observations .. 4 proficient) set to value */
    EDIT_COPY_TO,  /* its bytes also stored at the week MON0 + 7 * to */
    EDIT_LONG_KEY, /* its bytes also stored under its key and one byte more */
    EDIT_SHORT_KEY /* its bytes also stored under its key but for the week's last 2 bytes */
};

struct edit {
    unsigned kind;
    int week;
    enum edit_op op;
    int figure, to;
    uint64_t value;
    int done; /* a key stored before the list is visited once more */
};

static void edit_list(MDB_cursor *cur, const MDB_val *k, const MDB_val *v, void *arg)
{
    struct edit *e = arg;
    const uint8_t *key = k->mv_data;
    uint8_t kb[AGG_KEY_MAX + 1], val[512];
    MDB_val kk = *k, vv;

    if (e->done || key[0] != e->kind || key[1] != 5 || memcmp(key + 2, "alice", 5) != 0 ||
        keys_day_decode(key + k->mv_size - 4) != MON0 + 7 * e->week) {
        return;
    }
    if (e->op == EDIT_DEL) {
        assert_int_equal(mdb_cursor_del(cur, 0), 0);
        return;
    }
    assert_true(v->mv_size <= sizeof(val) && k->mv_size <= AGG_KEY_MAX);
    memcpy(val, v->mv_data, v->mv_size);
    memcpy(kb, key, k->mv_size);
    vv.mv_data = val;
    vv.mv_size = v->mv_size;
    kk.mv_data = kb;
    if (e->op == EDIT_FIGURE) {
        /* The header, the first manager's id length and id, the figures. */
        keys_put_le64(val + 6 + 1 + val[6] + 8 * e->figure, e->value);
        assert_int_equal(mdb_cursor_put(cur, &kk, &vv, MDB_CURRENT), 0);
        return;
    }
    if (e->op == EDIT_COPY_TO) {
        keys_day_encode(MON0 + 7 * e->to, kb + k->mv_size - 4);
    } else if (e->op == EDIT_LONG_KEY) {
        kb[kk.mv_size++] = 0;
    } else {
        kk.mv_size -= 2;
    }
    assert_int_equal(mdb_cursor_put(cur, &kk, &vv, 0), 0);
    e->done = 1;
}

struct diffs {
    unsigned n, cum;
    char first[512], last[512];
};

static void diff_cb(const char *key, const char *what, void *arg)
{
    struct diffs *d = arg;

    d->cum += strstr(key, "observer-cum") != NULL;
    if (d->n++ == 0) {
        snprintf(d->first, sizeof(d->first), "%s: %s", key, what);
    }
    snprintf(d->last, sizeof(d->last), "%s: %s", key, what);
}

static void reopen(struct testutil_seeded *f, uint32_t format, testutil_lmdb_visit_fn fn, void *arg)
{
    testutil_store_close_drained(f->s);
    f->s = NULL;
    testutil_lmdb_agg_each(f->dir, format, fn, arg);
    f->s = testutil_store_open_enforced(f->dir);
    assert_non_null(f->s);
}

/* A store of format 8 opened gets every cumulative list (the twin's too)
 * as the writer made them; the same store whose format key claims 10 has
 * verify name each missing one, until repaired. */
static void test_format8_upgrade(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c, d;
    static struct cums before, after;
    struct agg_verify_result r;
    struct diffs df;
    uint32_t format = 0;

    testutil_submit_seeded(f->s, "alice", &a, "flm.cara", T0, NULL);
    testutil_submit_seeded(f->s, "bob", &b, "flm.cara", T0 + 3600, NULL);
    testutil_submit_seeded(f->s, "alice", &c, "flm.dan", T0 + WEEK_S, NULL);
    testutil_submit_seeded(f->s, "alice", &d, "flm.dan", T0 + 3 * WEEK_S, NULL);
    assert_int_equal(store_exec(f->s, testutil_mark_assigned_txn, b.id), 0);
    read_cums(f->s, &before);
    /* alice's 3 weeks, bob's 1 and bob's assigned twin. */
    assert_int_equal(before.n, 3 + 1 + 1);
    reopen(f, 8, drop_cum, NULL);
    read_cums(f->s, &after);
    cums_same(&before, &after);
    assert_int_equal(store_view(f->s, testutil_agg_format_txn, &format), 0);
    assert_int_equal(format, AGG_FORMAT);
    assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 21, 2), 0);
    assert_as_rebuilt(f->s, 5);
    /* The step disabled: verify names each missing list, repair makes it. */
    reopen(f, AGG_FORMAT, drop_cum, NULL);
    memset(&df, 0, sizeof(df));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &df, &r), 0);
    assert_int_equal(r.differences, 5);
    assert_int_equal(df.cum, 5);
    assert_non_null(strstr(df.first, ": missing"));
    read_cums(f->s, &after);
    cums_same(&before, &after);
    cums_free(&before);
    cums_free(&after);
}

/* A cumulative list that does not decode, or a pair of which the earlier
 * holds more than the later: the window read fails (never figures),
 * verify names the list, repair mends it, and the writer does not build
 * on the damaged one. */
static void test_damaged_cum(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a1, a2, a3, a4;
    struct win_read w = {"alice", MON0 + 7, MON0 + 14, 1, {{0}, {0}, {0}, 0, 0, 0}};
    struct agg_verify_result r;
    struct diffs df;
    int week = 0;

    testutil_submit_seeded(f->s, "alice", &a1, "flm.cara", T0, NULL);
    testutil_submit_seeded(f->s, "alice", &a2, "flm.cara", T0 + WEEK_S, NULL);
    testutil_submit_seeded(f->s, "alice", &a3, "flm.cara", T0 + 2 * WEEK_S, NULL);
    reopen(f, 0, cut_cum, &week);
    assert_int_equal(store_view(f->s, win_txn, &w), -EIO);
    assert_int_equal(w.w.calls, 0);
    memset(&df, 0, sizeof(df));
    assert_int_equal(agg_verify(f->s, 0, diff_cb, &df, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_string_equal(df.first, "observer-cum/alice/coaching-conversation/2025-W10: stored "
                                  "cumulative list does not decode");
    /* A later session's batch makes every list again from the first week
     * rather than building on the damaged one. */
    testutil_submit_seeded(f->s, "alice", &a4, "flm.dan", T0 + WEEK_S + 60, NULL);
    assert_as_rebuilt(f->s, 3);
    assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 14, 3), 0);
    /* The last list cut: the window that ends on it fails. */
    week = 2;
    reopen(f, 0, cut_cum, &week);
    w.until = MON0 + 14;
    assert_int_equal(store_view(f->s, win_txn, &w), -EIO);
    assert_int_equal(agg_verify(f->s, 1, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_as_rebuilt(f->s, 3);
    /* The first list holding more than the second, of each figure in
     * turn: the window read checks every one. */
    for (int k = 0; k < 5; k++) {
        struct edit e = {AGG_OBSERVER_CUM, 0, EDIT_FIGURE, k, 0, (uint64_t)1 << 40, 0};

        reopen(f, 0, edit_list, &e);
        assert_int_equal(store_view(f->s, win_txn, &w), -EIO);
        assert_int_equal(w.w.calls, 0);
        memset(&df, 0, sizeof(df));
        assert_int_equal(agg_verify(f->s, 1, diff_cb, &df, &r), 0);
        assert_int_equal(r.differences, 1);
        assert_non_null(strstr(df.first, "observer-cum/alice/coaching-conversation/2025-W10: "
                                         "cumulative list differs"));
        assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 14, 3), 0);
    }
}

/* alice's sessions in weeks 0, 1 and 2, one each, on flm.cara. */
static void three_weeks(struct testutil_seeded *f)
{
    struct testutil_obs a[3];

    for (int i = 0; i < 3; i++) {
        testutil_submit_seeded(f->s, "alice", &a[i], "flm.cara", T0 + i * WEEK_S, NULL);
    }
}

/* Reads alice's window of the weeks from..until (week numbers from MON0)
 * from the cumulative lists; returns the read's code. */
static int window_rc(struct testutil_seeded *f, int from, int until)
{
    struct win_read w = {"alice", MON0 + 7 * from, MON0 + 7 * until, 1, {{0}, {0}, {0}, 0, 0, 0}};
    int rc = store_view(f->s, win_txn, &w);

    /* Figures only on success. */
    assert_true(rc == 0 || w.w.calls == 0);
    return rc;
}

/* A cumulative list missing in the middle (week 1 of 0, 1 and 2): windows
 * that would use the one before it in its place are damage, not the
 * figures of other weeks; verify names it, and a later back-dated batch
 * makes the lists again from the first week rather than building on
 * week 0's. */
static void test_cum_missing(void **state)
{
    struct testutil_seeded *f = *state;
    struct edit e = {AGG_OBSERVER_CUM, 1, EDIT_DEL, 0, 0, 0, 0};
    struct testutil_obs late;
    struct agg_verify_result r;
    struct diffs df;

    three_weeks(f);
    reopen(f, 0, edit_list, &e);
    assert_int_equal(window_rc(f, 2, 2), -EIO);
    assert_int_equal(window_rc(f, 1, 1), -EIO);
    /* Windows that use neither week 1's list nor one in its place. */
    assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 14, 2), 0);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0, 1), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 - 7, MON0 + 3, 1), 0);
    memset(&df, 0, sizeof(df));
    assert_int_equal(agg_verify(f->s, 0, diff_cb, &df, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_string_equal(df.first, "observer-cum/alice/coaching-conversation/2025-W11: missing "
                                  "(its week has a rebuilt share)");
    testutil_submit_seeded(f->s, "alice", &late, "flm.dan", T0 + 2 * WEEK_S + 60, NULL);
    assert_as_rebuilt(f->s, 3);
    assert_int_equal(window_same(f->s, "alice", MON0 + 14, MON0 + 14, 2), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 7, 1), 0);
}

/* A cumulative list left at a week without a week list (week 3, a copy of
 * week 2's) and keys of alice's cumulative prefix that are not a list's:
 * windows that would read them are damage; a later batch drops the stale
 * list. */
static void test_cum_stale(void **state)
{
    struct testutil_seeded *f = *state;
    struct edit stale = {AGG_OBSERVER_CUM, 2, EDIT_COPY_TO, 0, 3, 0, 0};
    struct edit longer = {AGG_OBSERVER_CUM, 1, EDIT_LONG_KEY, 0, 0, 0, 0};
    struct edit shorter = {AGG_OBSERVER_CUM, 0, EDIT_SHORT_KEY, 0, 0, 0, 0};
    struct testutil_obs live;
    struct agg_verify_result r;
    struct diffs df;

    three_weeks(f);
    reopen(f, 0, edit_list, &stale);
    assert_int_equal(window_rc(f, 3, 3), -EIO);
    assert_int_equal(window_rc(f, 3, 5), -EIO);
    assert_int_equal(window_rc(f, 4, 5), -EIO);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0 + 14, 3), 0);
    memset(&df, 0, sizeof(df));
    assert_int_equal(agg_verify(f->s, 0, diff_cb, &df, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_string_equal(df.first, "observer-cum/alice/coaching-conversation/2025-W13: stored but "
                                  "not rebuilt (no share of its week)");
    /* A live session of week 4: the writer does not build on week 3's. */
    testutil_submit_seeded(f->s, "alice", &live, "flm.dan", T0 + 4 * WEEK_S, NULL);
    assert_as_rebuilt(f->s, 4);
    assert_int_equal(window_same(f->s, "alice", MON0 + 21, MON0 + 28, 1), 0);
    /* A key one byte longer than a list's, after week 1's: a window
     * whose list before its first week, or at its last, it would be
     * sought as is damage. */
    reopen(f, 0, edit_list, &longer);
    assert_int_equal(window_rc(f, 2, 2), -EIO);
    assert_int_equal(window_rc(f, 0, 1), -EIO);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0, 1), 0);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0 + 14, 3), 0);
    assert_int_equal(agg_verify(f->s, 1, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_as_rebuilt(f->s, 4);
    /* A key of the prefix two bytes short, before the first list: the
     * window that starts on the first week is damage too, though nothing
     * of a list is before it. */
    reopen(f, 0, edit_list, &shorter);
    assert_int_equal(window_rc(f, 0, 0), -EIO);
    assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 14, 2), 0);
    assert_int_equal(agg_verify(f->s, 1, NULL, NULL, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_as_rebuilt(f->s, 4);
}

/* An extra cumulative list (a week without a list) and a stale one (week
 * 2's holding week 1's figures): verify names each, repair mends both. */
static void test_verify_extra_stale(void **state)
{
    struct testutil_seeded *f = *state;
    struct edit extra = {AGG_OBSERVER_CUM, 2, EDIT_COPY_TO, 0, 5, 0, 0};
    struct edit stale = {AGG_OBSERVER_CUM, 1, EDIT_COPY_TO, 0, 2, 0, 0};
    struct agg_verify_result r;
    struct diffs df;

    three_weeks(f);
    reopen(f, 0, edit_list, &extra);
    reopen(f, 0, edit_list, &stale);
    memset(&df, 0, sizeof(df));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &df, &r), 0);
    assert_int_equal(r.differences, 2);
    assert_int_equal(df.cum, 2);
    assert_string_equal(df.first, "observer-cum/alice/coaching-conversation/2025-W12: cumulative "
                                  "list differs from what its weeks' shares add up to");
    assert_non_null(strstr(df.last, "2025-W15: stored but not rebuilt (no share of its week)"));
    assert_as_rebuilt(f->s, 3);
}

/* Week lists whose figures would pass an int64_t added up: the writer
 * neither overflows nor stops. A cumulative list near the limit is not
 * built on (the observer's lists are made again from the first week); a
 * week list near it adds nothing, until repaired. */
static void test_cum_overflow(void **state)
{
    struct testutil_seeded *f = *state;
    struct edit cum = {AGG_OBSERVER_CUM, 0, EDIT_FIGURE, 0, 0, (uint64_t)INT64_MAX, 0};
    struct edit week = {AGG_OBSERVER_WEEK, 1, EDIT_FIGURE, 2, 0, (uint64_t)INT64_MAX, 0};
    struct testutil_obs a1, a2;
    struct agg_verify_result r;

    three_weeks(f);
    reopen(f, 0, edit_list, &cum);
    testutil_submit_seeded(f->s, "alice", &a1, "flm.dan", T0 + WEEK_S + 60, NULL);
    assert_as_rebuilt(f->s, 3);
    reopen(f, 0, edit_list, &week);
    testutil_submit_seeded(f->s, "alice", &a2, "flm.dan", T0 + 60, NULL);
    /* Week 1's list added nothing: its window is empty, not wrapped. */
    assert_int_equal(window_rc(f, 1, 1), 0);
    assert_int_equal(agg_verify(f->s, 1, NULL, NULL, &r), 0);
    assert_true(r.differences > 0);
    assert_as_rebuilt(f->s, 3);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0 + 14, 5), 0);
}

/* Erasure and retention that take an observer's earliest week away: the
 * lists read right after are the week lists' sums and what a rebuild
 * makes. */
static void test_erase_retain_first_week(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs b1, b2, late;
    struct erase_request er;
    struct retention_request rr;

    three_weeks(f);
    testutil_submit_seeded(f->s, "bob", &b1, "flm.dan", T0, NULL);
    testutil_submit_seeded(f->s, "bob", &b2, "flm.dan", T0 + WEEK_S, NULL);
    assert_as_rebuilt(f->s, 5);
    /* flm.cara, the only manager of alice's first week, erased: every
     * later list of alice's names her pseudonym instead. */
    assert_int_equal(testutil_erase(f->s, "flm.cara", testutil_now_ms(), &er), 0);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0, 1), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 14, 2), 0);
    assert_as_rebuilt(f->s, 5);
    /* bob erased: his lists, his first week's too, are his pseudonym's. */
    assert_int_equal(testutil_erase(f->s, "bob", testutil_now_ms(), &er), 0);
    assert_int_equal(window_same(f->s, "bob", MON0 - 7, MON0 + 14, 0), 0);
    assert_int_equal(window_same(f->s, er.pseudonym, MON0, MON0, 1), 0);
    assert_int_equal(window_same(f->s, er.pseudonym, MON0 + 7, MON0 + 7, 1), 0);
    assert_as_rebuilt(f->s, 5);
    /* Retention deletes the sessions of week 0: each observer's first
     * week's list and cumulative list go, the later lists lose them. */
    memset(&rr, 0, sizeof(rr));
    rr.before_day = MON0 + 7;
    rr.now_ms = testutil_now_ms();
    rr.actor = "test";
    rr.origin = "test";
    rr.policy = "test";
    assert_int_equal(store_exec(f->s, retention_txn_cb, &rr), 0);
    assert_int_equal(rr.observations, 2);
    assert_int_equal(window_same(f->s, "alice", MON0 - 7, MON0 + 14, 2), 0);
    assert_int_equal(window_same(f->s, "alice", MON0 + 7, MON0 + 7, 1), 0);
    assert_int_equal(window_same(f->s, er.pseudonym, MON0, MON0 + 7, 1), 0);
    assert_as_rebuilt(f->s, 3);
    /* A later back-dated session builds on the lists retention left. */
    testutil_submit_seeded(f->s, "alice", &late, "flm.dan", T0 + WEEK_S + 60, NULL);
    assert_int_equal(window_same(f->s, "alice", MON0, MON0 + 14, 3), 0);
    assert_as_rebuilt(f->s, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_window_edges, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_backdated, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_amend_and_erase, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_random_sessions, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_format8_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_cum, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_cum_missing, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_cum_stale, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_verify_extra_stale, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_cum_overflow, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_erase_retain_first_week, testutil_seeded_setup,
                                        testutil_seeded_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
