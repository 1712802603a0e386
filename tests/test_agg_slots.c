/* Tests of agg_read_slots() (store/agg.h): through the store, every week
 * it gives has the figures agg_read_part() gives of the same window (the
 * counters and sums, the coaching mix, each behaviour's figures in stored
 * order), each behaviour comes with the index of its id among the
 * caller's, or -1 when it is not among them, including values of more
 * behaviours than the caller has ids; a callback stops it as it stops
 * agg_read(); a damaged value is refused exactly when agg_read_part()
 * refuses it; and more ids than it takes are refused. */
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
#include "keys.h"
#include "store.h"
#include "store_int.h"
#include "testutil.h"

#define RUBRIC "coaching-conversation"
/* A Monday (2025-03-03). */
#define MON0 20150
#define WEEKS 8
#define MAX_BEH 300

/* The id of behaviour b of a value ("beh-<b>", a few of them long). */
static void beh_id(char *id, size_t len, size_t b)
{
    if (b % 7 == 3) {
        snprintf(id, len, "beh-%zu-%0*d", b, 50, 0); /* 56..60 bytes */
    } else {
        snprintf(id, len, "beh-%zu", b);
    }
}

/* Puts the value of (coach, week w) with nb behaviours, listed from
 * behaviour first on (so that values list them in different orders), and
 * the pair and mix blocks on some weeks. */
static int put_value(struct store_txn *t, const char *coach, int w, size_t nb, size_t first)
{
    struct keys_buf k;
    struct agg_val v;
    char id[VALIDATE_MAX_ID + 1];
    int rc;

    memset(&v, 0, sizeof(v));
    v.observations = 3 + w;
    v.index_n = 2 + w;
    v.index_sum = 5.25 + w;
    v.index_sumsq = 14.0625 + w;
    v.actions = 1;
    if (w % 2 == 0) {
        v.pairs[0] = 1;
    }
    for (int i = 0; w % 3 != 1 && i < AGG_NMIX; i++) {
        v.mix[i] = 1 + (int64_t)(w + i) % 4;
    }
    for (size_t i = 0; i < nb; i++) {
        struct agg_beh *ab;
        size_t b = (first + i) % nb;

        beh_id(id, sizeof(id), b);
        ab = agg_val_beh(&v, id);
        assert_non_null(ab);
        ab->count = 1 + (int64_t)(b + (size_t)w) % 5;
        ab->sum = 2.0 + (double)b;
        ab->sumsq = 4.0 + (double)(b * 3);
        ab->proficient = (int64_t)b % 2;
    }
    assert_int_equal(agg_key(&k, AGG_COACH, coach, RUBRIC, 1, MON0 + 7 * w), 0);
    rc = agg_val_put(t, k.b, k.len, &v);
    agg_val_free(&v);
    return rc;
}

/* What a read gave of each week. */
struct week_seen {
    int32_t monday;
    uint64_t observations, index_n;
    double index_sum, index_sumsq;
    uint64_t mix[AGG_NMIX];
    size_t nb;
    char id[MAX_BEH][VALIDATE_MAX_ID + 1]; /* agg_read_part(): the ids */
    int slot[MAX_BEH];                     /* agg_read_slots(): the slots */
    uint64_t count[MAX_BEH], proficient[MAX_BEH];
    double sum[MAX_BEH], sumsq[MAX_BEH];
};

struct seen {
    int n;
    struct week_seen w[WEEKS];
};

/* The next week of s, with the figures both reads give of it. */
static struct week_seen *seen_week(struct seen *s, int32_t monday, uint64_t observations,
                                   uint64_t index_n, double index_sum, double index_sumsq)
{
    struct week_seen *ws;

    assert_true(s->n < WEEKS);
    ws = &s->w[s->n++];
    ws->monday = monday;
    ws->observations = observations;
    ws->index_n = index_n;
    ws->index_sum = index_sum;
    ws->index_sumsq = index_sumsq;
    return ws;
}

/* Behaviour i of ws, as both reads give it. */
static void seen_beh(struct week_seen *ws, size_t i, uint64_t count, double sum, double sumsq,
                     uint64_t proficient)
{
    ws->count[i] = count;
    ws->sum[i] = sum;
    ws->sumsq[i] = sumsq;
    ws->proficient[i] = proficient;
}

static int part_cb(int32_t monday, const Coachq__V1__AggWeek *a, void *arg)
{
    struct week_seen *ws =
        seen_week(arg, monday, a->observations, a->index_n, a->index_sum, a->index_sumsq);

    assert_true(a->n_mix == 0 || a->n_mix == AGG_NMIX);
    for (size_t i = 0; i < a->n_mix; i++) {
        ws->mix[i] = a->mix[i];
    }
    assert_true(a->n_behaviours <= MAX_BEH);
    ws->nb = a->n_behaviours;
    for (size_t i = 0; i < a->n_behaviours; i++) {
        const Coachq__V1__AggBehaviour *b = a->behaviours[i];

        snprintf(ws->id[i], sizeof(ws->id[i]), "%s", b->id);
        seen_beh(ws, i, b->count, b->sum, b->sumsq, b->proficient);
    }
    return 0;
}

static int slots_cb(int32_t monday, const struct agg_slots *a, void *arg)
{
    struct week_seen *ws =
        seen_week(arg, monday, a->observations, a->index_n, a->index_sum, a->index_sumsq);

    memcpy(ws->mix, a->mix, sizeof(ws->mix));
    assert_true(a->nb <= MAX_BEH);
    ws->nb = a->nb;
    for (size_t i = 0; i < a->nb; i++) {
        ws->slot[i] = a->b[i].slot;
        seen_beh(ws, i, a->b[i].count, a->b[i].sum, a->b[i].sumsq, a->b[i].proficient);
    }
    return 0;
}

/* Stops the read after two weeks: with 1, or with the code in arg. */
static int stop_cb(int32_t monday, const struct agg_slots *a, void *arg)
{
    int *state = arg; /* [0] weeks seen, [1] what to return at the second */

    (void)monday;
    (void)a;
    return ++state[0] == 2 ? state[1] : 0;
}

static int stop_txn(struct store_txn *t, void *arg)
{
    int *state = arg;
    static const char *const ids[] = {"beh-0"};

    state[2] = agg_read_slots(t, AGG_COACH, "flm.x", RUBRIC, MON0, MON0 + 7 * WEEKS, MON0,
                              MON0 + 7 * WEEKS, ids, 1, stop_cb, state);
    return 0;
}

struct read_arg {
    const char *coach;
    int32_t beh_from, beh_until;
    const char *const *ids;
    size_t nids;
    struct seen part, slots;
    int rc_part, rc_slots;
};

/* Reads the coach's weeks both ways (in t, read or write). */
static void read_both(struct store_txn *t, struct read_arg *ra)
{
    int32_t from = MON0 + 2, until = MON0 + 7 * WEEKS + 3; /* any day of a week */

    memset(&ra->part, 0, sizeof(ra->part));
    memset(&ra->slots, 0, sizeof(ra->slots));
    ra->rc_part = agg_read_part(t, AGG_COACH, ra->coach, RUBRIC, from, until, ra->beh_from,
                                ra->beh_until, part_cb, &ra->part);
    ra->rc_slots = agg_read_slots(t, AGG_COACH, ra->coach, RUBRIC, from, until, ra->beh_from,
                                  ra->beh_until, ra->ids, ra->nids, slots_cb, &ra->slots);
}

static int read_txn(struct store_txn *t, void *arg)
{
    read_both(t, arg);
    return 0;
}

/* The index of id among ids, or -1. */
static int index_of(const char *const *ids, size_t nids, const char *id)
{
    for (size_t j = 0; j < nids; j++) {
        if (strcmp(ids[j], id) == 0) {
            return (int)j;
        }
    }
    return -1;
}

/* ra's two reads gave the same weeks, and the slots name the ids. */
static void assert_same(const struct read_arg *ra)
{
    assert_int_equal(ra->rc_part, 0);
    assert_int_equal(ra->rc_slots, 0);
    assert_int_equal(ra->part.n, ra->slots.n);
    for (int i = 0; i < ra->part.n; i++) {
        const struct week_seen *p = &ra->part.w[i], *s = &ra->slots.w[i];

        assert_int_equal(p->monday, s->monday);
        assert_int_equal(p->observations, s->observations);
        assert_int_equal(p->index_n, s->index_n);
        assert_true(p->index_sum == s->index_sum && p->index_sumsq == s->index_sumsq);
        assert_memory_equal(p->mix, s->mix, sizeof(p->mix));
        assert_int_equal(p->nb, s->nb);
        for (size_t b = 0; b < p->nb; b++) {
            assert_int_equal(s->slot[b], index_of(ra->ids, ra->nids, p->id[b]));
            assert_int_equal(p->count[b], s->count[b]);
            assert_true(p->sum[b] == s->sum[b] && p->sumsq[b] == s->sumsq[b]);
            assert_int_equal(p->proficient[b], s->proficient[b]);
        }
    }
}

static int put_txn(struct store_txn *t, void *arg)
{
    int rc = 0;

    (void)arg;
    for (int w = 0; w < WEEKS && rc == 0; w++) {
        /* flm.x: 10 behaviours, listed from another one every week. */
        rc = put_value(t, "flm.x", w, 10, (size_t)w % 3);
    }
    for (int w = 0; w < 3 && rc == 0; w++) {
        /* flm.many: more behaviours than any caller's ids. */
        rc = put_value(t, "flm.many", w, MAX_BEH, 0);
    }
    return rc;
}

static void test_slots_equal_part(void **state)
{
    /* Some of the stored ids, out of their order, and one never stored. */
    static const char *const ids[] = {"beh-0",  "beh-2", "beh-1", "beh-3-" /* a prefix */,
                                      "beh-10", "beh-4", "beh-5", "beh-6",
                                      "beh-9",  "beh-7"};
    const char *many[AGG_SLOT_IDS_MAX + 1];
    char names[AGG_SLOT_IDS_MAX + 1][VALIDATE_MAX_ID + 1];
    char dir[512];
    struct store *s;
    struct read_arg *ra = calloc(1, sizeof(*ra));
    int with = 0;

    (void)state;
    assert_non_null(ra);
    testutil_watchdog(60);
    testutil_tmpdir(dir, sizeof(dir));
    s = testutil_store_open(dir, 0);
    assert_int_equal(store_exec(s, put_txn, NULL), 0);
    ra->coach = "flm.x";
    ra->ids = ids;
    ra->nids = sizeof(ids) / sizeof(ids[0]);
    /* Behaviours for the weeks of MON0 + 14 to MON0 + 28 only. */
    ra->beh_from = MON0 + 14 + 6;
    ra->beh_until = MON0 + 28 + 1;
    assert_int_equal(store_view(s, read_txn, ra), 0);
    assert_same(ra);
    assert_int_equal(ra->slots.n, WEEKS);
    for (int i = 0; i < WEEKS; i++) {
        int in = i >= 2 && i <= 4;

        assert_int_equal(ra->slots.w[i].nb, in ? 10 : 0);
        with += in;
    }
    assert_int_equal(with, 3);
    /* The stored beh-8 is not among the ids; beh-1, listed third here,
     * is found whatever position the value lists it at. */
    assert_int_equal(ra->slots.w[2].slot[(8 + 10 - 2) % 10], -1);
    assert_int_equal(ra->slots.w[2].slot[(1 + 10 - 2) % 10], 2);
    /* Every week with behaviours, and no ids at all. */
    ra->beh_from = MON0;
    ra->beh_until = MON0 + 7 * WEEKS;
    assert_int_equal(store_view(s, read_txn, ra), 0);
    assert_same(ra);
    ra->nids = 0;
    assert_int_equal(store_view(s, read_txn, ra), 0);
    assert_same(ra);
    assert_int_equal(ra->slots.w[0].nb, 10);
    assert_int_equal(ra->slots.w[0].slot[0], -1);
    /* More stored behaviours than the caller has ids, all of them
     * AGG_SLOT_IDS_MAX ids. */
    for (size_t b = 0; b < AGG_SLOT_IDS_MAX + 1; b++) {
        beh_id(names[b], sizeof(names[b]), AGG_SLOT_IDS_MAX - b);
        many[b] = names[b];
    }
    ra->coach = "flm.many";
    ra->ids = many;
    ra->nids = AGG_SLOT_IDS_MAX;
    assert_int_equal(store_view(s, read_txn, ra), 0);
    assert_same(ra);
    assert_int_equal(ra->slots.n, 3);
    assert_int_equal(ra->slots.w[0].nb, MAX_BEH);
    assert_int_equal(ra->slots.w[0].slot[AGG_SLOT_IDS_MAX], 0);
    assert_int_equal(ra->slots.w[0].slot[AGG_SLOT_IDS_MAX + 1], -1);
    /* A callback that stops the read: 1 ends it with 0, a negative code
     * with that code, after the week that said so. */
    {
        int stop[3] = {0, 1, -1};

        assert_int_equal(store_view(s, stop_txn, stop), 0);
        assert_int_equal(stop[0], 2);
        assert_int_equal(stop[2], 0);
        stop[0] = 0;
        stop[1] = -ENOSPC;
        assert_int_equal(store_view(s, stop_txn, stop), 0);
        assert_int_equal(stop[0], 2);
        assert_int_equal(stop[2], -ENOSPC);
    }
    /* One id too many is refused before anything is read. */
    ra->nids = AGG_SLOT_IDS_MAX + 1;
    assert_int_equal(store_view(s, read_txn, ra), 0);
    assert_int_equal(ra->rc_slots, -EINVAL);
    assert_int_equal(ra->slots.n, 0);
    store_close(s);
    testutil_rmrf(dir);
    free(ra);
}

/* Damages the one stored value byte by byte and reads after each damage,
 * inside one write transaction. */
struct damage_arg {
    struct read_arg *ra;
    unsigned refused, read;
    /* The hand-built values' codes, per value: agg_read_part()'s and
     * agg_read_slots()'s without the behaviours, then with them. Kept for
     * the test's own thread to check, as the transaction runs on the
     * writer's. */
    int hand[2][4];
};

/* The stored value's layout (agg.h): a header, then per behaviour a u8 id
 * length, the id and four u32 counts. */
#define VALUE_HEADER 88
#define VALUE_BEH 16

/* Stores under kv a version-1 value without pairs or mix with nid
 * behaviours, the i-th's id lens[i] bytes of 'x' (count 1), reads it both
 * ways without and with the behaviours, and puts the four codes in rc. */
static void read_hand_built(struct store_txn *t, struct read_arg *ra, MDB_val *kv,
                            const size_t *lens, size_t nid, int rc[4])
{
    uint8_t val[VALUE_HEADER + 4 * (1 + 255 + VALUE_BEH)];
    size_t n = VALUE_HEADER;
    MDB_val vv;

    assert_true(nid <= 4);
    memset(val, 0, sizeof(val));
    val[0] = 1; /* AGG_VALUE_VERSION */
    val[2] = (uint8_t)nid;
    for (size_t i = 0; i < nid; i++) {
        val[n] = (uint8_t)lens[i];
        memset(val + n + 1, 'x', lens[i]);
        n += 1 + lens[i];
        val[n] = 1; /* count 1, the rest 0 */
        n += VALUE_BEH;
    }
    vv.mv_data = val;
    vv.mv_size = n;
    assert_int_equal(mdb_put(t->txn, t->s->dbi_agg, kv, &vv, 0), 0);
    for (int with = 0; with < 2; with++) {
        ra->beh_from = with ? MON0 : MON0 + 7;
        ra->beh_until = MON0;
        read_both(t, ra);
        rc[2 * with] = ra->rc_part;
        rc[2 * with + 1] = ra->rc_slots;
    }
}

static int damage_txn(struct store_txn *t, void *arg)
{
    static const uint8_t subst[] = {0x00, 0x01, 0x02, 0x0a, 0x40, 0x41, 0x7f, 0x80, 0xff};
    struct damage_arg *da = arg;
    struct keys_buf k;
    MDB_val kv, vv;
    uint8_t buf[4096], bad[4097];
    size_t n;

    assert_int_equal(put_value(t, "flm.d", 0, 3, 1), 0);
    assert_int_equal(agg_key(&k, AGG_COACH, "flm.d", RUBRIC, 1, MON0), 0);
    kv.mv_size = k.len;
    kv.mv_data = k.b;
    assert_int_equal(mdb_get(t->txn, t->s->dbi_agg, &kv, &vv), 0);
    n = vv.mv_size;
    assert_true(n < sizeof(buf));
    memcpy(buf, vv.mv_data, n);
    for (size_t len = 0; len <= n + 1; len++) {
        for (size_t i = 0; i < (len < n ? len : n); i++) {
            for (size_t s = 0; s < sizeof(subst); s++) {
                memcpy(bad, buf, n);
                bad[n] = 0;
                /* Either cut short or one byte changed, not both. */
                if (len == n) {
                    bad[i] = subst[s];
                } else if (i > 0 || s > 0) {
                    continue;
                }
                vv.mv_data = bad;
                vv.mv_size = len;
                assert_int_equal(mdb_put(t->txn, t->s->dbi_agg, &kv, &vv, 0), 0);
                for (int with = 0; with < 2; with++) {
                    da->ra->beh_from = with ? MON0 : MON0 + 7;
                    da->ra->beh_until = MON0;
                    read_both(t, da->ra);
                    assert_int_equal(da->ra->rc_slots, da->ra->rc_part);
                    if (da->ra->rc_part == 0) {
                        assert_same(da->ra);
                        da->read++;
                    } else {
                        assert_int_equal(da->ra->rc_part, -EIO);
                        da->refused++;
                    }
                }
            }
        }
    }
    /* Ids the byte by byte damage never makes: one past VALIDATE_MAX_ID
     * bytes, and an empty one (followed by one long enough that the value
     * could hold two behaviours by its size). */
    {
        static const size_t too_long[] = {VALIDATE_MAX_ID + 1};
        static const size_t empty[] = {0, 4};

        read_hand_built(t, da->ra, &kv, too_long, 1, da->hand[0]);
        read_hand_built(t, da->ra, &kv, empty, 2, da->hand[1]);
    }
    return 0;
}

static void test_slots_refuse_alike(void **state)
{
    static const char *const ids[] = {"beh-0", "beh-1", "beh-2"};
    char dir[512];
    struct store *s;
    struct read_arg *ra = calloc(1, sizeof(*ra));
    struct damage_arg da = {ra, 0, 0, {{0}}};

    (void)state;
    assert_non_null(ra);
    testutil_watchdog(120);
    testutil_tmpdir(dir, sizeof(dir));
    s = testutil_store_open(dir, 0);
    ra->coach = "flm.d";
    ra->ids = ids;
    ra->nids = 3;
    assert_int_equal(store_exec(s, damage_txn, &da), 0);
    /* Both kinds occurred: a NUL in an id, an id length past the value, an
     * unknown flag, a short value are refused; a changed count is read. */
    assert_true(da.refused > 0 && da.read > 0);
    /* A 65-byte id, and an empty one: both reads refuse them, with the
     * behaviours or without. */
    for (int v = 0; v < 2; v++) {
        for (int i = 0; i < 4; i++) {
            assert_int_equal(da.hand[v][i], -EIO);
        }
    }
    store_close(s);
    testutil_rmrf(dir);
    free(ra);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_equal_part),
        cmocka_unit_test(test_slots_refuse_alike),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
