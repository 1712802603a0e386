/*
 * test_agg_impact: the impact blocks of aggregate format 6 (AGG_IMPACT,
 * agg.h): agg_read_impact() gives what agg_read_slots() gives of the same
 * AGG_COACH weeks, over any window and across blocks, with counts past
 * 2^16 and sums near 2^32; a manager with thousands of weeks is spread
 * over blocks; the writer keeps the blocks (and the assigned twins')
 * through amendments and erasure, and a batch of several weeks of one
 * block and of the next (verify agrees); verify names a block whose
 * figures differ; a store of format 5 gets its blocks when opened, and
 * without that step verify fails; a damaged block is refused and repaired;
 * a damaged AGG_COACH value stops neither the upgrade nor the writer (its
 * week is left out of the block until --repair), nor does a key too short
 * to name a week stop the upgrade.
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
/* Weeks of the hand-built values: three blocks and parts of two more. */
#define WEEKS 40
#define MANY_WEEKS 2000
#define NBEH 5

/* ---- Reads compared ----------------------------------------------------- */

/* A week's figures as a reader of moments sums them: the week's own, and
 * each of the caller's slots summed (-1's under NIDS). */
#define NIDS 3
struct week_sum {
    int32_t monday;
    uint64_t observations, index_n;
    double index_sum, index_sumsq;
    uint64_t mix[AGG_NMIX];
    uint64_t count[NIDS + 1];
    double sum[NIDS + 1], sumsq[NIDS + 1];
};

struct sums {
    size_t n;
    struct week_sum w[MANY_WEEKS];
};

static int sum_cb(int32_t monday, const struct agg_slots *a, void *arg)
{
    struct sums *s = arg;
    struct week_sum *w;

    assert_true(s->n < MANY_WEEKS);
    w = &s->w[s->n++];
    memset(w, 0, sizeof(*w));
    w->monday = monday;
    w->observations = a->observations;
    w->index_n = a->index_n;
    w->index_sum = a->index_sum;
    w->index_sumsq = a->index_sumsq;
    memcpy(w->mix, a->mix, sizeof(w->mix));
    for (size_t i = 0; i < a->nb; i++) {
        size_t slot = a->b[i].slot < 0 ? NIDS : (size_t)a->b[i].slot;

        assert_true(a->b[i].slot < NIDS);
        w->count[slot] += a->b[i].count;
        w->sum[slot] += a->b[i].sum;
        w->sumsq[slot] += a->b[i].sumsq;
    }
    return 0;
}

static const char *const ids[NIDS] = {"beh-2", "beh-0", "beh-4"};

struct window {
    enum agg_scope kind;
    const char *coach;
    int32_t from, until, beh_from, beh_until;
    struct sums *slots, *impact;
    int rc_slots, rc_impact;
};

static int window_txn(struct store_txn *t, void *arg)
{
    struct window *w = arg;

    w->slots->n = 0;
    w->impact->n = 0;
    w->rc_slots = agg_read_slots(t, w->kind, w->coach, RUBRIC, w->from, w->until, w->beh_from,
                                 w->beh_until, ids, NIDS, sum_cb, w->slots);
    w->rc_impact = agg_read_impact(t, w->kind, w->coach, RUBRIC, w->from, w->until, w->beh_from,
                                   w->beh_until, ids, NIDS, sum_cb, w->impact);
    return 0;
}

/* Both reads of the window give the same weeks with the same figures. */
static size_t assert_window(struct store *s, struct window *w)
{
    assert_int_equal(store_view(s, window_txn, w), 0);
    assert_int_equal(w->rc_slots, 0);
    assert_int_equal(w->rc_impact, 0);
    assert_int_equal(w->slots->n, w->impact->n);
    for (size_t i = 0; i < w->slots->n; i++) {
        const struct week_sum *a = &w->slots->w[i], *b = &w->impact->w[i];

        assert_int_equal(a->monday, b->monday);
        assert_int_equal(a->observations, b->observations);
        assert_int_equal(a->index_n, b->index_n);
        assert_true(a->index_sum == b->index_sum);
        assert_true(a->index_sumsq == b->index_sumsq);
        assert_memory_equal(a->mix, b->mix, sizeof(a->mix));
        for (size_t k = 0; k <= NIDS; k++) {
            assert_int_equal(a->count[k], b->count[k]);
            assert_true(a->sum[k] == b->sum[k]);
            assert_true(a->sumsq[k] == b->sumsq[k]);
        }
    }
    return w->slots->n;
}

/* ---- Hand-built weeks ----------------------------------------------------- */

/* Puts the AGG_COACH value (kind) of coach's week w: behaviours "beh-<b>"
 * of a few, listed in an order that changes from week to week, some
 * missing; a count past 2^16 and a sum near 2^32 on some weeks. */
static int put_week(struct store_txn *t, unsigned kind, const char *coach, int w)
{
    struct keys_buf k;
    struct agg_val v;
    char id[16];
    int rc;

    memset(&v, 0, sizeof(v));
    v.observations = 1 + w % 9 + (w % 5 == 0 ? 70000 : 0);
    v.index_n = 1 + w % 4;
    v.index_sum = 0.1 * (w + 1);
    v.index_sumsq = 0.37 * (w + 2);
    for (int i = 0; w % 3 != 1 && i < AGG_NMIX; i++) {
        v.mix[i] = 1 + (int64_t)(w + i) % 4;
    }
    for (int i = 0; i < NBEH; i++) {
        int b = (i + w) % NBEH;
        struct agg_beh *ab;

        if ((b + w) % 4 == 3) {
            continue; /* the week rated it not */
        }
        snprintf(id, sizeof(id), "beh-%d", b);
        ab = agg_val_beh(&v, id);
        assert_non_null(ab);
        ab->count = 1 + (b + w) % 3 + (w % 5 == 0 ? 70000 : 0);
        ab->sum = w % 5 == 0 ? 4000000000.0 : 2.0 + b;
        ab->sumsq = 4.0 + 3 * b;
        ab->proficient = b % 2;
    }
    assert_int_equal(agg_key(&k, kind, coach, RUBRIC, 1, MON0 + 7 * w), 0);
    rc = agg_val_put(t, k.b, k.len, &v);
    agg_val_free(&v);
    return rc;
}

struct put {
    int weeks;
    uint64_t blocks;
};

/* Weeks 0..weeks-1 of flm.cara (every third missing), and their
 * assigned twins of the even weeks, then every block. */
static int put_txn(struct store_txn *t, void *arg)
{
    struct put *p = arg;
    int rc = 0;

    for (int w = 0; w < p->weeks && rc == 0; w++) {
        if (w % 3 != 2) {
            rc = put_week(t, AGG_COACH, "flm.cara", w);
        }
        if (rc == 0 && w % 2 == 0) {
            rc = put_week(t, AGG_COACH_ASG, "flm.cara", w);
        }
    }
    return rc != 0 ? rc : agg_impact_build_all(t, AGG_IMPACT_BUILD_ALL, &p->blocks);
}

/* Counts the stored impact blocks of managers (not the line-coach blocks,
 * test_agg_line_impact's) and the largest. */
struct blocks {
    size_t n, largest;
};

static int blocks_cb(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *arg)
{
    struct blocks *b = arg;

    (void)klen;
    (void)val;
    if (AGG_KIND_IMPACT(key[0]) && key[0] != AGG_LINE_IMPACT) {
        b->n++;
        b->largest = vlen > b->largest ? vlen : b->largest;
    }
    return 0;
}

static int blocks_txn(struct store_txn *t, void *arg)
{
    return store_txn_scan(t, t->s->dbi_agg, NULL, 0, 0, blocks_cb, arg);
}

static struct blocks count_blocks(struct store *s)
{
    struct blocks b;

    memset(&b, 0, sizeof(b));
    assert_int_equal(store_view(s, blocks_txn, &b), 0);
    return b;
}

/* agg_read_impact() gives the weeks agg_read_slots() gives, with the same
 * figures per slot, for windows that start and end inside blocks, a
 * behaviours' window inside the read's, none, the assigned twins, and a
 * manager with no weeks; counts past 2^16 and sums near 2^32 come
 * through whole. */
static void test_same_as_slots(void **state)
{
    static struct sums a, b;
    char dir[512];
    struct store *s;
    struct put p = {WEEKS, 0};
    struct window w;
    int32_t first = agg_impact_block_of(MON0);

    (void)state;
    testutil_watchdog(60);
    testutil_tmpdir(dir, sizeof(dir));
    s = testutil_store_open(dir, 0);
    assert_int_equal(store_exec(s, put_txn, &p), 0);
    /* Weeks MON0 .. MON0 + 39 weeks: the blocks they fall in, of each kind. */
    assert_int_equal(p.blocks, 2 * (size_t)((MON0 + 7 * (WEEKS - 1) - first) / 7 / 16 + 1));
    assert_int_equal(count_blocks(s).n, p.blocks);

    memset(&w, 0, sizeof(w));
    w.slots = &a;
    w.impact = &b;
    w.kind = AGG_COACH;
    w.coach = "flm.cara";
    w.from = MON0;
    w.until = MON0 + 7 * (WEEKS - 1);
    w.beh_from = w.from;
    w.beh_until = w.until;
    assert_int_equal(assert_window(s, &w), WEEKS - WEEKS / 3);
    /* The figures past 2^16 and near 2^32 (week 0) are whole. */
    assert_int_equal(a.w[0].observations, 70001);
    assert_int_equal(b.w[1].observations, 2);
    assert_true(b.w[0].sum[1] == 4000000000.0);
    assert_int_equal(b.w[0].count[1], 70001);
    /* Windows inside blocks (any day of a week stands for it), the
     * behaviours for part of them or none. */
    w.from = MON0 + 7 * 5 + 3;
    w.until = MON0 + 7 * 33 + 1;
    w.beh_from = MON0 + 7 * 9;
    w.beh_until = MON0 + 7 * 20;
    assert_true(assert_window(s, &w) > 10);
    w.beh_from = 1;
    w.beh_until = 0;
    assert_true(assert_window(s, &w) > 10);
    /* Before and after every week, and one week. */
    w.from = MON0 - 7 * 40;
    w.until = MON0 - 7;
    assert_int_equal(assert_window(s, &w), 0);
    w.from = MON0 + 7 * 12;
    w.until = w.from;
    w.beh_from = w.from;
    w.beh_until = w.from;
    assert_int_equal(assert_window(s, &w), 1);
    w.kind = AGG_COACH_ASG;
    w.from = MON0;
    w.until = MON0 + 7 * (WEEKS - 1);
    assert_int_equal(assert_window(s, &w), WEEKS / 2);
    w.kind = AGG_COACH;
    w.coach = "flm.dan";
    assert_int_equal(assert_window(s, &w), 0);
    store_close(s);
    testutil_rmrf(dir);
}

/* A manager with 2,000 weeks: 126 blocks of each kind (the weeks start
 * at the 15th of a block), of at most 16 weeks each (no value grows with
 * the weeks), and every week read back. */
static void test_many_weeks(void **state)
{
    static struct sums a, b;
    char dir[512];
    struct store *s;
    struct put p = {MANY_WEEKS, 0};
    struct window w;
    struct blocks bl;
    size_t want = 0;

    (void)state;
    testutil_watchdog(120);
    testutil_tmpdir(dir, sizeof(dir));
    s = testutil_store_open(dir, 0);
    assert_int_equal(store_exec(s, put_txn, &p), 0);
    bl = count_blocks(s);
    assert_int_equal(bl.n, p.blocks);
    assert_int_equal(MON0 - agg_impact_block_of(MON0), 7 * 14);
    assert_int_equal(bl.n, 2 * 126);
    assert_true(bl.largest < 16 * (4 + 4 + 16 + 4 * AGG_NMIX + NBEH * 20) + 64);
    memset(&w, 0, sizeof(w));
    w.slots = &a;
    w.impact = &b;
    w.kind = AGG_COACH;
    w.coach = "flm.cara";
    w.from = MON0;
    w.until = MON0 + 7 * (MANY_WEEKS - 1);
    w.beh_from = w.from;
    w.beh_until = w.until;
    for (int k = 0; k < MANY_WEEKS; k++) {
        want += k % 3 != 2;
    }
    assert_int_equal(assert_window(s, &w), want);
    store_close(s);
    testutil_rmrf(dir);
}

/* ---- Through the writer --------------------------------------------------- */

/* Stores a session of coach at started_at scored by observer. */
static void submit(struct store *s, const char *observer, struct testutil_obs *t, const char *coach,
                   int64_t started_at, const uint8_t *amends)
{
    const char *rep = strcmp(coach, "flm.dan") == 0 ? "rep.jon" : "rep.ida";

    testutil_obs_make(t, coach, rep, started_at);
    if (amends != NULL) {
        t->o.amends.data = (uint8_t *)amends;
        t->o.amends.len = 16;
    }
    assert_int_equal(testutil_store_submit(s, &t->o, observer, testutil_now_ms()), 0);
}

struct diffs {
    int n;
    char first[512];
    char all[2048]; /* every difference, one a line, as long as they fit */
};

static void diff_cb(const char *key, const char *what, void *arg)
{
    struct diffs *d = arg;
    size_t len = strlen(d->all);

    if (d->n++ == 0) {
        snprintf(d->first, sizeof(d->first), "%s: %s", key, what);
    }
    snprintf(d->all + len, sizeof(d->all) - len, "%s: %s\n", key, what);
}

static uint64_t verify(struct store *s, struct diffs *d)
{
    struct agg_verify_result r;

    memset(d, 0, sizeof(*d));
    assert_int_equal(agg_verify(s, 0, diff_cb, d, &r), 0);
    return r.differences;
}

/* Both reads of the weeks of coach's kind (AGG_COACH or twin), compared;
 * their number. */
static size_t kind_weeks(struct store *s, enum agg_scope kind, const char *coach)
{
    static struct sums a, b;
    struct window w;

    memset(&w, 0, sizeof(w));
    w.slots = &a;
    w.impact = &b;
    w.kind = kind;
    w.coach = coach;
    w.from = MON0 - 7 * 40;
    w.until = MON0 + 7 * 80;
    w.beh_from = w.from;
    w.beh_until = w.until;
    return assert_window(s, &w);
}

/* The weeks of coach both reads give, compared; their number. */
static size_t coach_weeks(struct store *s, const char *coach)
{
    return kind_weeks(s, AGG_COACH, coach);
}

/* The writer remakes the blocks its batches touch: sessions in two
 * blocks, an amendment that moves one to a third block (the block it
 * leaves is deleted when empty), then the manager erased; verify agrees
 * at every step and the reads agree with agg_read_slots(). */
static void test_writer(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c, d;
    struct erase_request er;
    struct diffs df;

    submit(f->s, "alice", &a, "flm.cara", T0, NULL);
    submit(f->s, "bob", &b, "flm.cara", T0 + 3600, NULL);
    submit(f->s, "alice", &c, "flm.cara", T0 + 20 * WEEK_S, NULL);
    store_drain(f->s);
    assert_int_equal(coach_weeks(f->s, "flm.cara"), 2);
    assert_int_equal(count_blocks(f->s).n, 2);
    assert_int_equal(verify(f->s, &df), 0);
    /* c moves 40 weeks on: its block is left with nothing. */
    submit(f->s, "alice", &d, "flm.cara", T0 + 60 * WEEK_S, c.id);
    store_drain(f->s);
    assert_int_equal(coach_weeks(f->s, "flm.cara"), 2);
    assert_int_equal(count_blocks(f->s).n, 2);
    assert_int_equal(verify(f->s, &df), 0);
    assert_int_equal(testutil_erase(f->s, "flm.cara", testutil_now_ms(), &er), 0);
    assert_int_equal(coach_weeks(f->s, "flm.cara"), 0);
    assert_int_equal(verify(f->s, &df), 0);
}

/* The writer keeps the assigned twins' blocks (AGG_COACH_ASG) as it keeps
 * the others: an assigned record amended into another block leaves its
 * twin block, which is deleted, and makes the other. */
static void test_writer_twins(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c;
    struct diffs df;

    submit(f->s, "alice", &a, "flm.cara", T0, NULL);
    submit(f->s, "bob", &b, "flm.cara", T0 + 3600, NULL);
    assert_int_equal(store_exec(f->s, testutil_mark_assigned_txn, a.id), 0);
    assert_int_equal(kind_weeks(f->s, AGG_COACH_ASG, "flm.cara"), 1);
    assert_int_equal(count_blocks(f->s).n, 2);
    /* a moves 20 weeks on, assigned still. */
    submit(f->s, "alice", &c, "flm.cara", T0 + 20 * WEEK_S, a.id);
    assert_int_equal(kind_weeks(f->s, AGG_COACH_ASG, "flm.cara"), 1);
    assert_int_equal(kind_weeks(f->s, AGG_COACH, "flm.cara"), 2);
    assert_int_equal(count_blocks(f->s).n, 3);
    assert_int_equal(verify(f->s, &df), 0);
}

/* Sessions of one batch: four weeks of flm.cara, two in each of two
 * blocks, and one of flm.dan. */
#define NBATCH 5
struct batch {
    struct testutil_obs o[NBATCH];
    uint8_t *buf[NBATCH];
    size_t len[NBATCH];
};

static void batch_fill(void *arg, struct store_write *w, int i)
{
    struct batch *b = arg;
    const char *coach = i < 4 ? "flm.cara" : "flm.dan";

    testutil_obs_make(&b->o[i], coach, i < 4 ? "rep.ida" : "rep.jon",
                      T0 + (i < 4 ? i : 0) * WEEK_S);
    b->len[i] = coachq__v1__observation__get_packed_size(&b->o[i].o);
    b->buf[i] = malloc(b->len[i]);
    assert_non_null(b->buf[i]);
    coachq__v1__observation__pack(&b->o[i].o, b->buf[i]);
    memset(w, 0, sizeof(*w));
    w->obs = b->buf[i];
    w->obs_len = b->len[i];
    w->observer_id = "alice";
    w->received_at_ms = testutil_now_ms();
}

/* One batch touching several weeks of one block, and weeks of the next
 * block of the same manager: each block is made once from all its weeks,
 * none is passed over. */
static void test_writer_one_batch(void **state)
{
    struct testutil_seeded *f = *state;
    static struct batch b;
    struct diffs df;

    /* MON0 and MON0 + 7 end a block; MON0 + 14 and + 21 start the next. */
    assert_int_equal(agg_impact_block_of(MON0 + 7), agg_impact_block_of(MON0));
    assert_int_equal(agg_impact_block_of(MON0 + 14), MON0 + 14);
    testutil_write_one_batch(f->s, NBATCH, batch_fill, testutil_check_stored, &b, NULL, 0);
    for (int i = 0; i < NBATCH; i++) {
        free(b.buf[i]);
    }
    assert_int_equal(count_blocks(f->s).n, 3);
    assert_int_equal(kind_weeks(f->s, AGG_COACH, "flm.cara"), 4);
    assert_int_equal(kind_weeks(f->s, AGG_COACH, "flm.dan"), 1);
    assert_int_equal(verify(f->s, &df), 0);
}

/* ---- Format 5 --------------------------------------------------------------- */

/* back_to_format5()'s visit: deletes every block, counting the managers'
 * in *(size_t *)arg. */
static void format5_visit(MDB_cursor *cur, const MDB_val *k, const MDB_val *v, void *arg)
{
    uint8_t kind = ((const uint8_t *)k->mv_data)[0];

    (void)v;
    if (AGG_KIND_IMPACT(kind)) {
        assert_int_equal(mdb_cursor_del(cur, 0), 0);
        *(size_t *)arg += kind != AGG_LINE_IMPACT;
    }
}

/* Turns the closed store in dir back into format 5's layout (no impact
 * block, no line-coach block) with the format key saying format; returns
 * the managers' blocks deleted. */
static size_t back_to_format5(const char *dir, uint32_t format)
{
    size_t n = 0;

    testutil_lmdb_agg_each(dir, format, format5_visit, &n);
    return n;
}

/* A store of format 5 opened gets every block the writer made, and
 * verify passes; the same store whose format key claims 6 (the step does
 * not run) fails verify, a difference per coach week without its block,
 * until repaired. */
static void test_format5_upgrade(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c;
    struct agg_verify_result r;
    struct diffs df;
    uint32_t format = 0;
    size_t n;

    submit(f->s, "alice", &a, "flm.dan", T0, NULL);
    submit(f->s, "alice", &b, "flm.cara", T0 + 3600, NULL);
    submit(f->s, "bob", &c, "flm.cara", T0 + 30 * WEEK_S, NULL);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    n = back_to_format5(f->dir, 5);
    assert_int_equal(n, 3);
    f->s = testutil_store_open_enforced(f->dir);
    assert_int_equal(store_view(f->s, testutil_agg_format_txn, &format), 0);
    assert_int_equal(format, AGG_FORMAT);
    assert_int_equal(count_blocks(f->s).n, 3);
    assert_int_equal(coach_weeks(f->s, "flm.cara"), 2);
    assert_int_equal(coach_weeks(f->s, "flm.dan"), 1);
    assert_int_equal(verify(f->s, &df), 0);
    /* The step disabled. */
    testutil_store_close_drained(f->s);
    f->s = NULL;
    assert_int_equal(back_to_format5(f->dir, AGG_FORMAT), 3);
    f->s = testutil_store_open_enforced(f->dir);
    assert_int_equal(count_blocks(f->s).n, 0);
    memset(&df, 0, sizeof(df));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &df, &r), 0);
    /* Each coach week, and each line's view of it (three line-coach
     * weeks), without its block. */
    assert_int_equal(r.differences, 3 + 3);
    assert_non_null(strstr(df.first, "missing its impact block"));
    assert_int_equal(count_blocks(f->s).n, 3);
    assert_int_equal(verify(f->s, &df), 0);
}

/* ---- Damage ----------------------------------------------------------------- */

struct damage {
    const char *coach;
    size_t cut;      /* bytes cut off the end, or 0 */
    uint8_t version; /* the version byte to store, when cut is 0 */
};

static int damage_txn(struct store_txn *t, void *arg)
{
    struct damage *d = arg;
    struct keys_buf k;
    MDB_val v;
    uint8_t *copy;
    int rc;

    assert_int_equal(agg_key(&k, AGG_IMPACT, d->coach, RUBRIC, 1, agg_impact_block_of(MON0)), 0);
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k.b, k.len, &v), 0);
    copy = malloc(v.mv_size);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    if (d->cut == 0) {
        copy[0] = d->version;
    }
    rc = store_txn_put_raw(t, t->s->dbi_agg, k.b, k.len, copy, v.mv_size - d->cut, NULL);
    free(copy);
    return rc;
}

struct refused {
    int rc;
};

static int refuse_cb(int32_t monday, const struct agg_slots *a, void *arg)
{
    (void)monday;
    (void)a;
    (void)arg;
    return 0;
}

static int refused_txn(struct store_txn *t, void *arg)
{
    struct refused *r = arg;

    r->rc = agg_read_impact(t, AGG_COACH, "flm.cara", RUBRIC, MON0, MON0 + 7 * 30, MON0,
                            MON0 + 7 * 30, ids, NIDS, refuse_cb, NULL);
    return 0;
}

/* A block cut short or of another version is refused by the reader (the
 * page fails, nothing is made up), named by verify and repaired; a kind
 * other than AGG_COACH's is refused. */
static void test_damaged(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a;
    /* Version 1 is format 6's block, without the weeks' seconds. */
    struct damage dm[] = {{"flm.cara", 1, 0}, {"flm.cara", 0, 1}, {"flm.cara", 21, 0}};
    struct agg_verify_result r;
    struct refused rf;
    struct diffs df;

    submit(f->s, "alice", &a, "flm.cara", T0, NULL);
    store_drain(f->s);
    for (size_t i = 0; i < sizeof(dm) / sizeof(dm[0]); i++) {
        assert_int_equal(store_exec(f->s, damage_txn, &dm[i]), 0);
        assert_int_equal(store_view(f->s, refused_txn, &rf), 0);
        assert_int_equal(rf.rc, -EIO);
        memset(&df, 0, sizeof(df));
        assert_int_equal(agg_verify(f->s, 1, diff_cb, &df, &r), 0);
        assert_int_equal(r.differences, 1);
        assert_non_null(strstr(df.first, "impact/flm.cara/"));
        assert_int_equal(store_view(f->s, refused_txn, &rf), 0);
        assert_int_equal(rf.rc, 0);
        assert_int_equal(verify(f->s, &df), 0);
    }
    assert_int_equal(coach_weeks(f->s, "flm.cara"), 1);
    /* The writer never reads a block, it makes it again: a damaged one
     * does not stop the next batch that touches its weeks. */
    assert_int_equal(store_exec(f->s, damage_txn, &dm[1]), 0);
    submit(f->s, "bob", &a, "flm.cara", T0 + 3600, NULL);
    store_drain(f->s);
    assert_int_equal(coach_weeks(f->s, "flm.cara"), 1);
    assert_int_equal(verify(f->s, &df), 0);
}

/* ---- Verify's comparison ------------------------------------------------- */

/* A change to flm.cara's stored block of MON0: with to 0, one is added
 * to the count of behaviour beh of the block's stored week w (the week's
 * observations when beh is -1); with to not 0, the block is stored as it
 * is under the key of the block that starts on to. */
struct tamper {
    uint32_t w;
    int beh;
    int32_t to;
};

static int tamper_txn(struct store_txn *t, void *arg)
{
    struct tamper *tp = arg;
    /* A week's own figures, and a behaviour's (agg.h, "Impact blocks"). */
    const size_t week = 4 + 4 + 8 + 8 + 4 * AGG_NMIX + 8, beh = 20;
    struct keys_buf k;
    MDB_val v;
    uint8_t *copy;
    size_t p = 8, nb;
    int rc;

    assert_int_equal(agg_key(&k, AGG_IMPACT, "flm.cara", RUBRIC, 1, agg_impact_block_of(MON0)), 0);
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k.b, k.len, &v), 0);
    copy = malloc(v.mv_size);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    nb = keys_get_le32(copy + 4);
    for (size_t i = 0; i < nb; i++) {
        p += 1 + copy[p];
    }
    p += tp->w * (week + nb * beh) + (tp->beh < 0 ? 0 : week + (size_t)tp->beh * beh);
    assert_true(p + 4 <= v.mv_size);
    if (tp->to == 0) {
        keys_put_le32(copy + p, keys_get_le32(copy + p) + 1);
    } else {
        assert_int_equal(agg_key(&k, AGG_IMPACT, "flm.cara", RUBRIC, 1, tp->to), 0);
    }
    rc = store_txn_put_raw(t, t->s->dbi_agg, k.b, k.len, copy, v.mv_size, NULL);
    free(copy);
    return rc;
}

/* Blocks still well formed but with other figures are named by verify
 * and repaired: one more observation in the first week; one more rating
 * of the second week's first behaviour; and a block stored for weeks
 * with no session (no rebuilt value: there is nothing it should hold). */
static void test_verify_figures(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b;
    struct agg_verify_result r;
    struct diffs df;
    struct tamper tp[] = {
        {0, -1, 0},
        {1, 0, 0},
        {0, -1, agg_impact_block_of(MON0) + 7 * AGG_IMPACT_WEEKS},
    };

    submit(f->s, "alice", &a, "flm.cara", T0, NULL);
    submit(f->s, "bob", &b, "flm.cara", T0 + WEEK_S, NULL);
    assert_int_equal(count_blocks(f->s).n, 1);
    assert_int_equal(verify(f->s, &df), 0);
    for (size_t i = 0; i < sizeof(tp) / sizeof(tp[0]); i++) {
        assert_int_equal(store_exec(f->s, tamper_txn, &tp[i]), 0);
        assert_int_equal(count_blocks(f->s).n, tp[i].to != 0 ? 2 : 1);
        memset(&df, 0, sizeof(df));
        assert_int_equal(agg_verify(f->s, 1, diff_cb, &df, &r), 0);
        assert_int_equal(r.differences, 1);
        assert_non_null(strstr(df.first, "impact/flm.cara/"));
        assert_non_null(strstr(df.first, "impact block differs"));
        assert_int_equal(verify(f->s, &df), 0);
        assert_int_equal(count_blocks(f->s).n, 1);
        assert_int_equal(coach_weeks(f->s, "flm.cara"), 2);
    }
}

/* ---- A damaged week's value ---------------------------------------------- */

/* Gives coach's AGG_COACH value of the week monday a version no reader
 * takes, so that it does not decode. */
struct week_damage {
    const char *coach;
    int32_t monday;
};

static int damage_week_txn(struct store_txn *t, void *arg)
{
    struct week_damage *d = arg;
    struct keys_buf k;
    MDB_val v;
    uint8_t *copy;
    int rc;

    assert_int_equal(agg_key(&k, AGG_COACH, d->coach, RUBRIC, 1, d->monday), 0);
    assert_int_equal(store_txn_get_raw(t, t->s->dbi_agg, k.b, k.len, &v), 0);
    copy = malloc(v.mv_size);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[0] = 0xee;
    rc = store_txn_put_raw(t, t->s->dbi_agg, k.b, k.len, copy, v.mv_size, NULL);
    free(copy);
    return rc;
}

/* The Mondays agg_read_impact() gives of coach's weeks (at most 8). */
struct mondays {
    const char *coach;
    int rc;
    size_t n;
    int32_t m[8];
};

static int mondays_cb(int32_t monday, const struct agg_slots *a, void *arg)
{
    struct mondays *m = arg;

    (void)a;
    assert_true(m->n < 8);
    m->m[m->n++] = monday;
    return 0;
}

static int mondays_txn(struct store_txn *t, void *arg)
{
    struct mondays *m = arg;

    m->n = 0;
    m->rc = agg_read_impact(t, AGG_COACH, m->coach, RUBRIC, MON0 - 7 * 40, MON0 + 7 * 80,
                            MON0 - 7 * 40, MON0 + 7 * 80, ids, NIDS, mondays_cb, m);
    return 0;
}

static struct mondays impact_mondays(struct store *s, const char *coach)
{
    struct mondays m;

    memset(&m, 0, sizeof(m));
    m.coach = coach;
    assert_int_equal(store_view(s, mondays_txn, &m), 0);
    assert_int_equal(m.rc, 0);
    return m;
}

/* verify names the damaged value of the week MON0 (as a value that does
 * not decode, and as a rebuilt value not stored) and the block made
 * without its week, --repair makes both again from the records, and then
 * every week of coach is read again, nweeks of them. */
static void assert_damage_mended(struct store *s, const char *coach, size_t nweeks)
{
    struct agg_verify_result r;
    struct diffs df;

    memset(&df, 0, sizeof(df));
    assert_int_equal(agg_verify(s, 1, diff_cb, &df, &r), 0);
    assert_int_equal(r.differences, 3);
    assert_non_null(strstr(df.all, "2025-W10: stored value does not decode"));
    assert_non_null(strstr(df.all, "2025-W10: missing (rebuilt 1 observations)"));
    assert_non_null(strstr(df.all, "impact block differs"));
    assert_int_equal(verify(s, &df), 0);
    assert_int_equal(coach_weeks(s, coach), nweeks);
}

/* A store of format 5 with one damaged AGG_COACH value opens: the
 * upgrade makes the value's block without its week (the other weeks and
 * managers as ever), verify names the value, and --repair mends it. */
static void test_damaged_week_upgrade(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c;
    struct week_damage wd = {"flm.cara", MON0};
    struct mondays m;

    /* MON0 and MON0 + 7 are the last two weeks of one block. */
    assert_int_equal(agg_impact_block_of(MON0 + 7), agg_impact_block_of(MON0));
    submit(f->s, "alice", &a, "flm.cara", T0, NULL);
    submit(f->s, "bob", &b, "flm.cara", T0 + WEEK_S, NULL);
    submit(f->s, "alice", &c, "flm.dan", T0, NULL);
    assert_int_equal(store_exec(f->s, damage_week_txn, &wd), 0);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    assert_int_equal(back_to_format5(f->dir, 5), 2);
    f->s = testutil_store_open_enforced(f->dir);
    assert_int_equal(count_blocks(f->s).n, 2);
    m = impact_mondays(f->s, "flm.cara");
    assert_int_equal(m.n, 1);
    assert_int_equal(m.m[0], MON0 + 7);
    assert_int_equal(coach_weeks(f->s, "flm.dan"), 1);
    assert_damage_mended(f->s, "flm.cara", 2);
}

/* Stores a copy of coach's AGG_COACH value of MON0 under a key of that
 * kind too short to name a week, in the closed store in dir. */
static void put_short_key(const char *dir, const char *coach)
{
    static const uint8_t shortkey[] = {AGG_COACH, 'x', 'y'};
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi agg;
    MDB_val k, v;
    struct keys_buf kb;

    testutil_lmdb_begin(dir, 0, &env, &txn);
    assert_int_equal(mdb_dbi_open(txn, "agg_week", 0, &agg), 0);
    assert_int_equal(agg_key(&kb, AGG_COACH, coach, RUBRIC, 1, MON0), 0);
    k.mv_data = kb.b;
    k.mv_size = kb.len;
    assert_int_equal(mdb_get(txn, agg, &k, &v), 0);
    k.mv_data = (void *)shortkey;
    k.mv_size = sizeof(shortkey);
    assert_int_equal(mdb_put(txn, agg, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

/* A store of format 5 with an AGG_COACH key too short to name a week
 * opens, with every other block made; verify names the key and --repair
 * deletes it. */
static void test_short_key_upgrade(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a;
    struct agg_verify_result r;
    struct diffs df;

    submit(f->s, "alice", &a, "flm.cara", T0, NULL);
    testutil_store_close_drained(f->s);
    f->s = NULL;
    assert_int_equal(back_to_format5(f->dir, 5), 1);
    put_short_key(f->dir, "flm.cara");
    f->s = testutil_store_open_enforced(f->dir);
    assert_int_equal(count_blocks(f->s).n, 1);
    assert_int_equal(coach_weeks(f->s, "flm.cara"), 1);
    memset(&df, 0, sizeof(df));
    assert_int_equal(agg_verify(f->s, 1, diff_cb, &df, &r), 0);
    assert_int_equal(r.differences, 1);
    assert_non_null(strstr(df.first, "malformed key, 3 bytes"));
    assert_int_equal(verify(f->s, &df), 0);
}

/* The writer goes on when its batch touches another week of the block of
 * a damaged AGG_COACH value: the block is made without the damaged week,
 * later batches are written, and --repair mends the value. */
static void test_damaged_week_writer(void **state)
{
    struct testutil_seeded *f = *state;
    struct testutil_obs a, b, c;
    struct week_damage wd = {"flm.cara", MON0};
    struct mondays m;

    submit(f->s, "alice", &a, "flm.cara", T0, NULL);
    assert_int_equal(store_exec(f->s, damage_week_txn, &wd), 0);
    submit(f->s, "bob", &b, "flm.cara", T0 + WEEK_S, NULL);
    assert_false(store_failed(f->s));
    m = impact_mondays(f->s, "flm.cara");
    assert_int_equal(m.n, 1);
    assert_int_equal(m.m[0], MON0 + 7);
    /* The store still takes writes, in that block and the next. */
    submit(f->s, "alice", &c, "flm.cara", T0 + 2 * WEEK_S, NULL);
    assert_false(store_failed(f->s));
    assert_int_equal(impact_mondays(f->s, "flm.cara").n, 2);
    assert_damage_mended(f->s, "flm.cara", 3);
}

static int other_kind_txn(struct store_txn *t, void *arg)
{
    int *rc = arg;

    *rc = agg_read_impact(t, AGG_LINE, "slm.eve", RUBRIC, MON0, MON0, MON0, MON0, ids, NIDS,
                          refuse_cb, NULL);
    return 0;
}

static void test_other_kind(void **state)
{
    struct testutil_seeded *f = *state;
    int rc = 0;

    assert_int_equal(store_view(f->s, other_kind_txn, &rc), 0);
    assert_int_equal(rc, -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_slots),
        cmocka_unit_test(test_many_weeks),
        cmocka_unit_test_setup_teardown(test_writer, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_writer_twins, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_writer_one_batch, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_format5_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_damaged, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_verify_figures, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_week_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_week_writer, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_short_key_upgrade, testutil_seeded_setup,
                                        testutil_seeded_teardown),
        cmocka_unit_test_setup_teardown(test_other_kind, testutil_seeded_setup,
                                        testutil_seeded_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
