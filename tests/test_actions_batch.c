/*
 * test_actions_batch: the actions' counters (store/actions_batch.c) merged
 * over the writer's batch give what records committed one at a time give.
 * Records that agree actions and follow them up in one week of one coach
 * (so that they change the same follow-through and open counters), one of
 * them refused by the rules in the middle, are written once one request
 * per commit and once all in one batch; both stores must hold the same
 * action records, index entries and counters, byte for byte, the counters
 * the values these records give, and nothing of the refused record. The
 * refused record is refused by actions_check(), before anything of it is
 * merged, so that it leaves nothing behind holds by construction: the test
 * shows that a refusal in the middle does not disturb what the batch merged
 * around it, not that a refusal after merging would be undone. The same
 * batch written into a map too small for it (the engine aborts the attempt,
 * grows the map and writes the batch again, discarding what the first
 * attempt merged) must give the same store again. A request that runs its
 * own function in the middle of the batch must see the counters of the
 * records before it (the engine flushes them first). The follow-through
 * read sums at most ACTIONS_FOLLOW_WEEKS weeks, the last ones.
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

#include "actions.h"
#include "actions_int.h"
#include "agg.h"
#include "error.h"
#include "keys.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

/* "Today": 2024-06-12 (day 19886, a Wednesday); its week starts on day
 * 19884. */
#define TODAY 19886
#define MONDAY 19884
#define NOW_MS (((int64_t)TODAY * 86400 + 12 * 3600) * 1000)
#define NREC 6
#define REFUSED 3 /* the record the rules refuse */

/* The id of action k (a version-4 UUID's bytes). */
static void action_id(unsigned k, uint8_t id[16])
{
    memset(id, 0xa0, 16);
    id[6] = 0x40;
    id[8] = 0x80;
    id[15] = (uint8_t)k;
}

/* The records, packed: flm.a with rep.1 agrees actions 1 and 2 (0), then
 * agrees 3 and says 1 is done (1), then says 2 is partly done, 3 dropped
 * and agrees 4, due in ten days (2); record 3 agrees 5 and follows up an
 * action there is not (refused); flm.b with rep.2 agrees 6 (4); flm.a says
 * 4 is not done and agrees 7 (5). */
struct records {
    uint8_t *buf[NREC];
    size_t len[NREC];
};

static void records_make(struct records *r)
{
    static const struct {
        const char *coach, *coachee;
        int32_t day;
        int hour;
        unsigned agree[2];
        unsigned follow;
        Coachq__V1__ActionStatus status;
        int32_t due;
    } spec[NREC] = {
        {"flm.a", "rep.1", MONDAY, 9, {1, 2}, 0, 0, 0},
        {"flm.a",
         "rep.1",
         MONDAY + 1,
         9,
         {3, 0},
         1,
         COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE,
         0},
        {"flm.a",
         "rep.1",
         MONDAY + 1,
         15,
         {4, 0},
         2,
         COACHQ__V1__ACTION_STATUS__ACTION_STATUS_PARTLY_DONE,
         MONDAY + 11},
        {"flm.a",
         "rep.1",
         MONDAY + 2,
         8,
         {5, 0},
         99,
         COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DONE,
         0},
        {"flm.b", "rep.2", MONDAY + 1, 10, {6, 0}, 0, 0, 0},
        {"flm.a",
         "rep.1",
         MONDAY + 2,
         10,
         {7, 0},
         4,
         COACHQ__V1__ACTION_STATUS__ACTION_STATUS_NOT_DONE,
         0},
    };

    for (int i = 0; i < NREC; i++) {
        struct testutil_obs o;
        Coachq__V1__Action a[2], *ap[2];
        Coachq__V1__FollowUp u[2], *up[2];
        uint8_t aid[2][16], fid[2][16];
        size_t na = 0, nu = 0;

        testutil_obs_make(&o, spec[i].coach, spec[i].coachee,
                          (int64_t)spec[i].day * 86400 + spec[i].hour * 3600);
        for (int k = 0; k < 2 && spec[i].agree[k] != 0; k++) {
            Coachq__V1__Action init = COACHQ__V1__ACTION__INIT;

            a[na] = init;
            a[na].text = (char *)"ask two discovery questions";
            action_id(spec[i].agree[k], aid[na]);
            a[na].id.data = aid[na];
            a[na].id.len = 16;
            a[na].due_day = spec[i].agree[k] == 4 ? (uint32_t)spec[i].due : 0;
            ap[na] = &a[na];
            na++;
        }
        if (spec[i].follow != 0) {
            Coachq__V1__FollowUp init = COACHQ__V1__FOLLOW_UP__INIT;

            u[nu] = init;
            action_id(spec[i].follow, fid[nu]);
            u[nu].action_id.data = fid[nu];
            u[nu].action_id.len = 16;
            u[nu].status = spec[i].status;
            up[nu] = &u[nu];
            nu++;
        }
        if (i == 2) {
            /* Record 2 also drops action 3. */
            Coachq__V1__FollowUp init = COACHQ__V1__FOLLOW_UP__INIT;

            u[nu] = init;
            action_id(3, fid[nu]);
            u[nu].action_id.data = fid[nu];
            u[nu].action_id.len = 16;
            u[nu].status = COACHQ__V1__ACTION_STATUS__ACTION_STATUS_DROPPED;
            up[nu] = &u[nu];
            nu++;
        }
        o.o.actions = ap;
        o.o.n_actions = na;
        o.o.follow_ups = up;
        o.o.n_follow_ups = nu;
        r->len[i] = coachq__v1__observation__get_packed_size(&o.o);
        r->buf[i] = malloc(r->len[i]);
        assert_non_null(r->buf[i]);
        coachq__v1__observation__pack(&o.o, r->buf[i]);
    }
}

static void records_free(struct records *r)
{
    for (int i = 0; i < NREC; i++) {
        free(r->buf[i]);
    }
}

/* A store with the organisation's rules on, in a directory of its own. */
struct fx {
    char dir[512];
    struct store *s;
};

static void fx_open(struct fx *f, size_t map_size)
{
    struct store_policy pol;
    struct store_opts opts;

    store_policy_default(&pol);
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    opts.map_size = map_size;
    opts.max_batch = 64;
    f->s = NULL;
    assert_int_equal(store_open(f->dir, &opts, &f->s), 0);
}

static void fx_new(struct fx *f)
{
    testutil_tmpdir(f->dir, sizeof(f->dir));
    fx_open(f, 0);
    assert_int_equal(store_exec(f->s, testutil_put_two_line_org, NULL), 0);
}

static void fx_free(struct fx *f)
{
    store_close(f->s);
    testutil_rmrf(f->dir);
}

static void fill_write(struct store_write *w, const struct records *r, int i)
{
    memset(w, 0, sizeof(*w));
    w->obs = r->buf[i];
    w->obs_len = r->len[i];
    w->observer_id = "obs.1";
    w->received_at_ms = NOW_MS;
}

static void expect_result(const struct store_write *w, int i)
{
    if (i == REFUSED) {
        assert_int_equal(w->rc, ERROR_REFUSED);
        assert_int_equal(w->fault.code, COACHQ__V1__CODE__NOT_FOUND);
    } else if (w->rc != 0 || w->result != STORE_STORED) {
        fail_msg("record %d: rc %d (%s)", i, w->rc, w->fault.message);
    }
}

static void fill_cb(void *arg, struct store_write *w, int i)
{
    fill_write(w, arg, i);
}

static void check_cb(void *arg, const struct store_write *w, int i)
{
    (void)arg;
    expect_result(w, i);
}

/* Writes the records one request per commit. */
static void write_one_by_one(struct fx *f, const struct records *r)
{
    testutil_write_each(f->s, NREC, fill_cb, check_cb, (void *)r);
}

/* Writes the records as one batch, with mid (a request with fn set, or
 * NULL) between records mid_at - 1 and mid_at. */
static void write_batch_with(struct fx *f, const struct records *r, struct store_write *mid,
                             int mid_at)
{
    testutil_write_one_batch(f->s, NREC, fill_cb, check_cb, (void *)r, mid, mid_at);
}

/* Writes the records as one batch. */
static void write_in_one_batch(struct fx *f, const struct records *r)
{
    write_batch_with(f, r, NULL, 0);
}

/* Every key and value of the actions' two databases, end to end. */
struct dump {
    uint8_t b[65536];
    size_t len;
    size_t n;
};

static int dump_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct dump *d = arg;

    if (d->len + 4 + klen + vlen > sizeof(d->b)) {
        return -E2BIG;
    }
    d->b[d->len++] = (uint8_t)klen;
    memcpy(d->b + d->len, key, klen);
    d->len += klen;
    d->b[d->len++] = (uint8_t)(vlen >> 8);
    d->b[d->len++] = (uint8_t)vlen;
    memcpy(d->b + d->len, val, vlen);
    d->len += vlen;
    d->n++;
    return 0;
}

static int dump_txn(struct store_txn *t, void *arg)
{
    struct dump *d = arg;
    int rc = store_txn_scan(t, t->s->dbi_actions, NULL, 0, 0, dump_cb, &d[0]);

    return rc == 0 ? store_txn_scan(t, t->s->dbi_actions_by, NULL, 0, 0, dump_cb, &d[1]) : rc;
}

static struct dump *dump_of(struct fx *f)
{
    struct dump *d = calloc(2, sizeof(*d));

    assert_non_null(d);
    assert_int_equal(store_view(f->s, dump_txn, d), 0);
    return d;
}

static void expect_same(const struct dump *a, const struct dump *b)
{
    for (int i = 0; i < 2; i++) {
        assert_int_equal(a[i].n, b[i].n);
        assert_int_equal(a[i].len, b[i].len);
        assert_memory_equal(a[i].b, b[i].b, a[i].len);
    }
}

struct counts {
    struct actions_follow coach, line, other;
    struct actions_open_counts open;
    int refused_action; /* actions_get_txn()'s answer for action 5 */
};

static int count_txn(struct store_txn *t, void *arg)
{
    struct counts *c = arg;
    Coachq__V1__ActionRecord *r = NULL;
    uint8_t id[16];
    int rc;

    rc = actions_follow_txn(t, "flm.a", MONDAY, MONDAY + 6, &c->coach);
    if (rc == 0) {
        rc = actions_follow_txn(t, "slm.a/flm.a", MONDAY, MONDAY + 6, &c->line);
    }
    if (rc == 0) {
        rc = actions_follow_txn(t, "flm.b", MONDAY, MONDAY + 6, &c->other);
    }
    if (rc == 0) {
        rc = actions_open_txn(t, "flm.a", TODAY, 0, NULL, NULL, &c->open);
    }
    action_id(5, id);
    c->refused_action = actions_get_txn(t, id, &r);
    coachq__v1__action_record__free_unpacked(r, NULL);
    return rc;
}

/* Asserts that both the coach's and the line's sums (c->coach, c->line)
 * hold one week with these counts. */
static void expect_follow(const struct counts *c, unsigned agreed, unsigned followed, unsigned done,
                          unsigned partly, unsigned not_done, unsigned dropped)
{
    for (int k = 0; k < 2; k++) {
        const struct actions_follow *a = k == 0 ? &c->coach : &c->line;

        assert_int_equal(a->weeks, 1);
        assert_int_equal(a->n[ACTIONS_AGREED], agreed);
        assert_int_equal(a->n[ACTIONS_FOLLOWED], followed);
        assert_int_equal(a->n[ACTIONS_DONE], done);
        assert_int_equal(a->n[ACTIONS_PARTLY], partly);
        assert_int_equal(a->n[ACTIONS_NOT_DONE], not_done);
        assert_int_equal(a->n[ACTIONS_DROPPED], dropped);
    }
}

/* The counts the records give: flm.a agreed 1, 2, 3, 4 and 7; 1 is done,
 * 2 partly done, 3 dropped, 4 not done; 2, 4 and 7 are open (4 due on
 * MONDAY + 11, not overdue today). Nothing of record 3 (action 5). */
static void expect_counts(struct fx *f)
{
    struct counts c;

    memset(&c, 0, sizeof(c));
    assert_int_equal(store_view(f->s, count_txn, &c), 0);
    expect_follow(&c, 5, 4, 1, 1, 1, 1);
    assert_int_equal(c.other.n[ACTIONS_AGREED], 1);
    assert_int_equal(c.other.n[ACTIONS_FOLLOWED], 0);
    assert_int_equal(c.open.open, 3);
    assert_int_equal(c.open.overdue, 0);
    assert_int_equal(c.open.due_days, 2);
    assert_int_equal(c.refused_action, -ENOENT);
}

static void expect_verified(struct fx *f)
{
    struct actions_verify_result v;

    assert_int_equal(actions_verify(f->s, 0, &v), 0);
    assert_int_equal(v.records, 6);
    assert_int_equal(v.differences, 0);
}

/* The store one holds (the records one by one) and the store all holds
 * (the same records in batches) are the same byte for byte, and all's
 * actions verify; then both are closed and removed. */
static void expect_alike_then_free(struct fx *one, struct fx *all)
{
    struct dump *a = dump_of(one);
    struct dump *b = dump_of(all);

    expect_same(a, b);
    expect_verified(all);
    free(a);
    free(b);
    fx_free(one);
    fx_free(all);
}

/* One batch of records that change the same counters, one of them refused
 * in the middle, gives what those records committed one by one give. */
static void test_batch_same_as_one_by_one(void **state)
{
    struct records r;
    struct fx one, all;

    (void)state;
    records_make(&r);
    fx_new(&one);
    fx_new(&all);
    write_one_by_one(&one, &r);
    write_in_one_batch(&all, &r);
    expect_counts(&one);
    expect_counts(&all);
    expect_alike_then_free(&one, &all);
    records_free(&r);
}

/* A function request in the batch between records 2 and 3 reads the
 * counters: it sees what records 0 to 2 merged (the engine flushes the
 * batch's pending counters before it runs), and the batch ends as the
 * one-by-one store. Records 0 to 2: flm.a agreed 1, 2, 3 and 4, followed up
 * 1 (done), 2 (partly done) and 3 (dropped); 2 and 4 are open. */
static void test_function_sees_batch_so_far(void **state)
{
    struct records r;
    struct fx one, all;
    struct store_write mid;
    struct counts seen;

    (void)state;
    records_make(&r);
    fx_new(&one);
    fx_new(&all);
    write_one_by_one(&one, &r);
    memset(&mid, 0, sizeof(mid));
    memset(&seen, 0, sizeof(seen));
    mid.fn = count_txn;
    mid.fn_arg = &seen;
    write_batch_with(&all, &r, &mid, REFUSED);
    assert_int_equal(mid.rc, 0);
    expect_follow(&seen, 4, 3, 1, 1, 0, 1);
    assert_int_equal(seen.other.n[ACTIONS_AGREED], 0);
    assert_int_equal(seen.open.open, 2);
    assert_int_equal(seen.open.overdue, 0);
    assert_int_equal(seen.refused_action, -ENOENT);
    expect_counts(&all);
    expect_alike_then_free(&one, &all);
    records_free(&r);
}

/* Writes, one request per commit, a record of flm.a with rep.1 on day
 * that agrees action k. */
static void write_agreed(struct fx *f, int32_t day, unsigned k)
{
    struct testutil_obs o;
    Coachq__V1__Action a = COACHQ__V1__ACTION__INIT, *ap = &a;
    struct store_write w;
    uint8_t aid[16];
    uint8_t *buf;
    size_t len;

    testutil_obs_make(&o, "flm.a", "rep.1", (int64_t)day * 86400 + 9 * 3600);
    a.text = (char *)"ask two discovery questions";
    action_id(k, aid);
    a.id.data = aid;
    a.id.len = 16;
    o.o.actions = &ap;
    o.o.n_actions = 1;
    len = coachq__v1__observation__get_packed_size(&o.o);
    buf = malloc(len);
    assert_non_null(buf);
    coachq__v1__observation__pack(&o.o, buf);
    memset(&w, 0, sizeof(w));
    w.obs = buf;
    w.obs_len = len;
    w.observer_id = "obs.1";
    /* Received the same day, so that the rules take it as entered on time. */
    w.received_at_ms = ((int64_t)day * 86400 + 12 * 3600) * 1000;
    assert_int_equal(store_submit(f->s, &w), 0);
    store_drain(f->s);
    assert_ptr_equal(store_completed_take(f->s), &w);
    if (w.rc != 0 || w.result != STORE_STORED) {
        fail_msg("day %d: rc %d (%s)", (int)day, w.rc, w.fault.message);
    }
    free(buf);
}

struct window {
    int32_t from, until;
    struct actions_follow got;
};

static int window_txn(struct store_txn *t, void *arg)
{
    struct window *w = arg;

    return actions_follow_txn(t, "flm.a", w->from, w->until, &w->got);
}

static void expect_window(struct fx *f, int32_t from, int32_t until, unsigned weeks,
                          uint64_t agreed)
{
    struct window w;

    memset(&w, 0, sizeof(w));
    w.from = from;
    w.until = until;
    assert_int_equal(store_view(f->s, window_txn, &w), 0);
    assert_int_equal(w.got.weeks, weeks);
    assert_int_equal(w.got.n[ACTIONS_AGREED], agreed);
}

/* Actions agreed in the last week (MONDAY), in the first of the last
 * ACTIONS_FOLLOW_WEEKS weeks and in the week before that: a window of
 * ACTIONS_FOLLOW_WEEKS weeks reads all of its weeks, a longer one only its
 * last ACTIONS_FOLLOW_WEEKS. */
static void test_follow_window_capped(void **state)
{
    const int32_t first = MONDAY - 7 * (ACTIONS_FOLLOW_WEEKS - 1);
    struct fx f;

    (void)state;
    fx_new(&f);
    write_agreed(&f, first - 7 + 2, 1);
    write_agreed(&f, first + 3, 2);
    write_agreed(&f, MONDAY + 1, 3);
    /* 104 weeks, from any day of the first one. */
    expect_window(&f, first, MONDAY + 6, 2, 2);
    expect_window(&f, first + 6, MONDAY, 2, 2);
    /* 105 weeks: the first is left out. */
    expect_window(&f, first - 7, MONDAY + 6, 2, 2);
    expect_window(&f, first - 1, MONDAY, 2, 2);
    expect_window(&f, 0, MONDAY + 6, 2, 2);
    /* The cap counts from the window's own last week, not from today: a
     * window of fewer weeks that ends earlier reads its oldest week too. */
    expect_window(&f, first - 7, MONDAY - 1, 2, 2);
    expect_window(&f, first - 7, first + 6, 2, 2);
    /* Days at the end of the range read (no week there) and end. */
    expect_window(&f, INT32_MAX - 20, INT32_MAX, 0, 0);
    fx_free(&f);
}

/* Week counters put by hand, different for each scope and week. */
struct many {
    int32_t from, until;
    int rc;
    struct actions_follow one[5], got[5];
};

static const char *const many_scopes[5] = {"slm.a/flm.b", "flm.a", "flm.none", "slm.a/flm.a",
                                           "flm.a"};

static int many_put_txn(struct store_txn *t, void *arg)
{
    static const char *const put[3] = {"flm.a", "slm.a/flm.a", "slm.a/flm.b"};
    int rc = 0;

    (void)arg;
    for (int w = 0; w < 6 && rc == 0; w++) {
        for (int s = 0; s < 3 && rc == 0; s++) {
            uint8_t key[ACTIONS_KEY_MAX], val[8 * ACTIONS_NCOUNTS];
            size_t klen;

            /* Some weeks of a scope have no counter. */
            if ((w + s) % 4 == 3) {
                continue;
            }
            klen = actions_week_key(key, MONDAY - 7 * w, (const uint8_t *)put[s], strlen(put[s]));
            for (int i = 0; i < ACTIONS_NCOUNTS; i++) {
                keys_put_be64(val + 8 * i, (uint64_t)(1000 * s + 100 * w + i + 1));
            }
            rc = store_txn_put_raw(t, t->s->dbi_actions_by, key, klen, val, sizeof(val), NULL);
        }
    }
    return rc;
}

static int many_txn(struct store_txn *t, void *arg)
{
    struct many *m = arg;
    int rc = 0;

    for (size_t i = 0; i < 5 && rc == 0; i++) {
        rc = actions_follow_txn(t, many_scopes[i], m->from, m->until, &m->one[i]);
    }
    if (rc == 0) {
        m->rc = actions_follow_many_txn(t, many_scopes, 5, m->from, m->until, m->got);
    }
    return rc;
}

static void expect_many(struct fx *f, int32_t from, int32_t until, unsigned weeks1)
{
    struct many m;

    memset(&m, 0, sizeof(m));
    m.from = from;
    m.until = until;
    assert_int_equal(store_view(f->s, many_txn, &m), 0);
    assert_int_equal(m.rc, 0);
    /* flm.a's weeks, so that the window is known to have read some. */
    assert_int_equal(m.one[1].weeks, weeks1);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(m.got[i].weeks, m.one[i].weeks);
        for (int k = 0; k < ACTIONS_NCOUNTS; k++) {
            assert_int_equal(m.got[i].n[k], m.one[i].n[k]);
        }
    }
}

static int many_refused_txn(struct store_txn *t, void *arg)
{
    static const char *const bad[2] = {"flm.a", ""};
    struct actions_follow got[2];

    (void)arg;
    assert_int_equal(actions_follow_many_txn(t, bad, 2, MONDAY, MONDAY + 6, got), -EINVAL);
    return 0;
}

/* actions_follow_many_txn() reading scopes out of key order, one twice,
 * one without counters, gives each what actions_follow_txn() gives it, in
 * its own place, over whole and partial windows; an empty scope is
 * refused. */
static void test_follow_many_same_as_one(void **state)
{
    struct fx f;

    (void)state;
    fx_new(&f);
    assert_int_equal(store_exec(f.s, many_put_txn, NULL), 0);
    expect_many(&f, MONDAY - 35, MONDAY + 6, 5);
    expect_many(&f, MONDAY - 20, MONDAY - 1, 2);
    expect_many(&f, MONDAY, MONDAY, 1);
    expect_many(&f, MONDAY - 7 * ACTIONS_FOLLOW_WEEKS, MONDAY + 6, 5);
    expect_many(&f, MONDAY + 7, MONDAY + 6, 0);
    assert_int_equal(store_view(f.s, many_refused_txn, NULL), 0);
    fx_free(&f);
}

/* The batch in maps too small for it, two pages more each time: an
 * attempt ends with the map full wherever its records or the flush are,
 * its merged counters are dropped, the map grows and the batch is written
 * again, and the store ends as the one-by-one store. */
static void test_batch_retried_after_map_full(void **state)
{
    struct records r;
    struct fx one;
    struct dump *want;
    uint64_t grows = 0;

    (void)state;
    records_make(&r);
    fx_new(&one);
    write_one_by_one(&one, &r);
    want = dump_of(&one);
    for (int run = 0; run < 16; run++) {
        struct fx f;
        struct store_stats ss;
        struct testutil_verified v;
        struct dump *got;

        fx_new(&f);
        store_get_stats(f.s, &ss);
        store_close(f.s);
        fx_open(&f, (size_t)ss.map_used + (size_t)run * 8192);
        write_in_one_batch(&f, &r);
        store_get_stats(f.s, &ss);
        grows += ss.map_grows;
        expect_counts(&f);
        got = dump_of(&f);
        expect_same(want, got);
        free(got);
        /* Its aggregates, cumulative lists, action records and coaching
         * days match its records too (`coachqd verify`). */
        store_close(f.s);
        testutil_verify_clean(f.dir, &v);
        assert_true(v.counted > 0 && v.values > 0);
        assert_int_equal(v.actions, 6);
        testutil_rmrf(f.dir);
    }
    /* The runs must have hit a full map, or they tested nothing. */
    assert_true(grows > 0);
    free(want);
    fx_free(&one);
    records_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_same_as_one_by_one),
        cmocka_unit_test(test_batch_retried_after_map_full),
        cmocka_unit_test(test_function_sees_batch_so_far),
        cmocka_unit_test(test_follow_window_capped),
        cmocka_unit_test(test_follow_many_same_as_one),
    };

    testutil_watchdog(300);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
