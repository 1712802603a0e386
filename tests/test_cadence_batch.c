/*
 * test_cadence_batch: the coaching days' counts (store/cadence.h, database
 * cadence_days) merged over the writer's batch give what records committed
 * one at a time give. Records that change the same keys (two sessions of
 * one rep on one day, corrections that move a session to another day and
 * to another rep, one of them refused by the rules in the middle) are
 * written once one request per commit and once all in one batch; both
 * stores must hold the same counts, byte for byte, the days these records
 * give, and nothing of the refused record. The refused record is refused
 * before anything of it is merged, so the test shows that a refusal in
 * the middle does not disturb what the batch merged around it. The same
 * batch written into maps too small for it (the engine aborts the attempt,
 * grows the map and writes the batch again, discarding what the first
 * attempt merged) must give the same counts again. A request that runs
 * its own function in the middle of the batch must see the counts of the
 * records before it (the engine flushes them first).
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

#include "cadence.h"
#include "error.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

/* "Today": 2024-06-12 (day 19886, a Wednesday); its week starts on day
 * 19884. */
#define TODAY 19886
#define MONDAY 19884
#define NOW_MS (((int64_t)TODAY * 86400 + 12 * 3600) * 1000)
#define NREC 8
#define REFUSED 3 /* the record the rules refuse */
#define MAXDAYS 32

/* The records, packed: flm.a with rep.1 on MONDAY - 7 at 9:00 (0) and at
 * 15:00 (1), on MONDAY - 6 (2); record 3 names rep.2, who reports to
 * flm.b (refused); flm.b with rep.2 on MONDAY - 5 (4); record 5 corrects
 * record 2 to MONDAY - 4, record 6 corrects record 0 to rep.3 (also
 * flm.a's); flm.a with rep.1 on MONDAY (7). */
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
        int amends; /* the record it corrects, or -1 */
    } spec[NREC] = {
        {"flm.a", "rep.1", MONDAY - 7, 9, -1},  {"flm.a", "rep.1", MONDAY - 7, 15, -1},
        {"flm.a", "rep.1", MONDAY - 6, 9, -1},  {"flm.a", "rep.2", MONDAY - 6, 10, -1},
        {"flm.b", "rep.2", MONDAY - 5, 10, -1}, {"flm.a", "rep.1", MONDAY - 4, 9, 2},
        {"flm.a", "rep.3", MONDAY - 7, 9, 0},   {"flm.a", "rep.1", MONDAY, 11, -1},
    };
    uint8_t ids[NREC][16];

    for (int i = 0; i < NREC; i++) {
        struct testutil_obs o;

        testutil_obs_make(&o, spec[i].coach, spec[i].coachee,
                          (int64_t)spec[i].day * 86400 + spec[i].hour * 3600);
        memcpy(ids[i], o.id, 16);
        if (spec[i].amends >= 0) {
            o.o.amends.data = ids[spec[i].amends];
            o.o.amends.len = 16;
        }
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
    pol.enforce = 1;
    memset(&opts, 0, sizeof(opts));
    opts.policy = &pol;
    opts.map_size = map_size;
    opts.max_batch = 64;
    f->s = NULL;
    assert_int_equal(store_open(f->dir, &opts, &f->s), 0);
}

static int org_txn(struct store_txn *t, void *arg)
{
    int rc = testutil_put_two_line_org(t, arg);

    return rc == 0 ? testutil_put_person(t, "rep.3", NULL, 0, "flm.a") : rc;
}

static void fx_new(struct fx *f)
{
    testutil_tmpdir(f->dir, sizeof(f->dir));
    fx_open(f, 0);
    assert_int_equal(store_exec(f->s, org_txn, NULL), 0);
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

/* Every key and value of cadence_days, end to end. */
struct dump {
    uint8_t b[16384];
    size_t len;
    size_t n;
};

static int dump_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct dump *d = arg;

    if (d->len + 2 + klen + vlen > sizeof(d->b)) {
        return -E2BIG;
    }
    d->b[d->len++] = (uint8_t)klen;
    memcpy(d->b + d->len, key, klen);
    d->len += klen;
    d->b[d->len++] = (uint8_t)vlen;
    memcpy(d->b + d->len, val, vlen);
    d->len += vlen;
    d->n++;
    return 0;
}

static int dump_txn(struct store_txn *t, void *arg)
{
    return store_txn_scan(t, t->s->dbi_cadence, NULL, 0, 0, dump_cb, arg);
}

static struct dump *dump_of(struct fx *f)
{
    struct dump *d = calloc(1, sizeof(*d));

    assert_non_null(d);
    assert_int_equal(store_view(f->s, dump_txn, d), 0);
    return d;
}

static void expect_same(const struct dump *a, const struct dump *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->b, b->b, a->len);
}

/* The coaching days of the three pairs read from the counts. */
struct days {
    struct cadence_day a1[MAXDAYS], a3[MAXDAYS], b2[MAXDAYS], a2[MAXDAYS];
    size_t na1, na3, nb2, na2;
};

static int days_txn(struct store_txn *t, void *arg)
{
    struct days *d = arg;
    int32_t from = MONDAY - 14;
    int rc;

    rc = cadence_pair_days(t, "flm.a", "rep.1", from, TODAY, d->a1, MAXDAYS, &d->na1, NULL);
    if (rc == 0) {
        rc = cadence_pair_days(t, "flm.a", "rep.3", from, TODAY, d->a3, MAXDAYS, &d->na3, NULL);
    }
    if (rc == 0) {
        rc = cadence_pair_days(t, "flm.b", "rep.2", from, TODAY, d->b2, MAXDAYS, &d->nb2, NULL);
    }
    if (rc == 0) {
        rc = cadence_pair_days(t, "flm.a", "rep.2", from, TODAY, d->a2, MAXDAYS, &d->na2, NULL);
    }
    return rc;
}

/* The days the records give: flm.a with rep.1 on MONDAY - 7 (record 1;
 * record 0 moved to rep.3), MONDAY - 4 (record 2 moved there) and MONDAY;
 * flm.a with rep.3 on MONDAY - 7; flm.b with rep.2 on MONDAY - 5; nothing
 * of the refused record 3. */
static void expect_days(struct fx *f)
{
    struct days d;

    memset(&d, 0, sizeof(d));
    assert_int_equal(store_view(f->s, days_txn, &d), 0);
    assert_int_equal(d.na1, 3);
    assert_int_equal(d.a1[0].day, MONDAY - 7);
    assert_int_equal(d.a1[1].day, MONDAY - 4);
    assert_int_equal(d.a1[2].day, MONDAY);
    assert_int_equal(d.na3, 1);
    assert_int_equal(d.a3[0].day, MONDAY - 7);
    assert_int_equal(d.nb2, 1);
    assert_int_equal(d.b2[0].day, MONDAY - 5);
    assert_int_equal(d.na2, 0);
}

static void expect_verified(struct fx *f)
{
    struct cadence_verify_result v;

    assert_int_equal(cadence_verify(f->s, 0, &v), 0);
    assert_int_equal(v.differences, 0);
    /* Five sessions in the rep index: records 0 (as rep.3), 1, 2 (on its
     * new day), 4 and 7; a correction replaces the version it corrects. */
    assert_int_equal(v.sessions, 5);
}

/* One batch of records that change the same keys, one of them refused in
 * the middle, gives what those records committed one by one give. */
static void test_batch_same_as_one_by_one(void **state)
{
    struct records r;
    struct fx one, all;
    struct dump *a, *b;

    (void)state;
    records_make(&r);
    fx_new(&one);
    fx_new(&all);
    write_one_by_one(&one, &r);
    write_batch_with(&all, &r, NULL, 0);
    expect_days(&one);
    expect_days(&all);
    a = dump_of(&one);
    b = dump_of(&all);
    assert_true(a->n >= 4);
    expect_same(a, b);
    expect_verified(&one);
    expect_verified(&all);
    free(a);
    free(b);
    fx_free(&one);
    fx_free(&all);
    records_free(&r);
}

/* A function request in the batch before record 5 reads the counts: it
 * sees what records 0 to 4 merged (the engine flushes the batch's pending
 * counts before it runs): flm.a with rep.1 on MONDAY - 7 and MONDAY - 6. */
static void test_function_sees_batch_so_far(void **state)
{
    struct records r;
    struct fx one, all;
    struct store_write mid;
    struct days seen;
    struct dump *a, *b;

    (void)state;
    records_make(&r);
    fx_new(&one);
    fx_new(&all);
    write_one_by_one(&one, &r);
    memset(&mid, 0, sizeof(mid));
    memset(&seen, 0, sizeof(seen));
    mid.fn = days_txn;
    mid.fn_arg = &seen;
    write_batch_with(&all, &r, &mid, 5);
    assert_int_equal(mid.rc, 0);
    assert_int_equal(seen.na1, 2);
    assert_int_equal(seen.a1[0].day, MONDAY - 7);
    assert_int_equal(seen.a1[1].day, MONDAY - 6);
    assert_int_equal(seen.na3, 0);
    assert_int_equal(seen.nb2, 1);
    expect_days(&all);
    a = dump_of(&one);
    b = dump_of(&all);
    expect_same(a, b);
    free(a);
    free(b);
    fx_free(&one);
    fx_free(&all);
    records_free(&r);
}

/* The batch in maps too small for it, two pages more each time: an
 * attempt ends with the map full wherever its records or the flush are,
 * its merged counts are dropped, the map grows and the batch is written
 * again, and the counts end as the one-by-one store's. */
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
        write_batch_with(&f, &r, NULL, 0);
        store_get_stats(f.s, &ss);
        grows += ss.map_grows;
        expect_days(&f);
        got = dump_of(&f);
        expect_same(want, got);
        free(got);
        /* Its aggregates, cumulative lists, action records and coaching
         * days match its records too (`coachqd verify`). */
        store_close(f.s);
        testutil_verify_clean(f.dir, &v);
        assert_true(v.counted > 0 && v.values > 0 && v.days > 0);
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
        cmocka_unit_test(test_function_sees_batch_so_far),
        cmocka_unit_test(test_batch_retried_after_map_full),
    };

    testutil_watchdog(300);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
